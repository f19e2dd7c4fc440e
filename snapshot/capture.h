/* capture: turns an overlayfs upper directory into a tree.
 *
 * After a run, the overlay's upper directory holds exactly what the run
 * changed relative to its lower (a checkout of the base tree). capture
 * applies it onto the base tree and writes the result, reading only the
 * upper directory: the cost is proportional to what changed.
 */
#ifndef AIRLOCK_SNAPSHOT_CAPTURE_H
#define AIRLOCK_SNAPSHOT_CAPTURE_H

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"
#include "lib/tree.h"

/* Applies the upper directory upper_dfd onto the tree base and writes the
 * result; *ret gets its digest. The overlay must be unmounted (or at least
 * quiescent) while this runs.
 *
 *  - a whiteout (character device 0:0, or a 0-byte file with the xattr
 *    trusted.overlay.whiteout / user.overlay.whiteout) deletes the path;
 *  - a directory whose trusted.overlay.opaque / user.overlay.opaque is "y"
 *    replaces the base directory's children with its own;
 *  - a metacopy file (overlay metacopy=on: attributes copied up, data still
 *    in the lower) keeps the base file's content with the upper attributes;
 *  - anything else replaces or creates the path: files are streamed into
 *    the store, so a file copied up without a change (touch, chmod to the
 *    same mode, open for writing) gives the same digest as before.
 *
 * opts as for tree_import_dir (owners, notes for skipped fifos, sockets
 * and devices, and dropped setuid/setgid/sticky bits); a special file
 * still deletes what the base held at its path. The upper root's own
 * attributes are not part of a tree (see lib/tree.h) and are ignored.
 * Never follows a symlink. Renamed directories recorded by redirect_dir
 * (trusted.overlay.redirect) are refused with -EOPNOTSUPP: mount the
 * overlay with redirect_dir=off (the kernel then copies on rename).
 */
int capture_upper(struct store *s, const struct digest *base, int upper_dfd,
		  const struct tree_import_opts *opts, struct digest *ret, struct err *err);

#endif
