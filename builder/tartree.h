/* tartree: apply a tar stream to an in-memory tree (lib/tree.h).
 *
 * Used for the data.tar of Debian packages (builder/debian.h) and for OCI
 * layers (whiteouts = true). The archive is hostile input: paths are
 * normalised and checked, nothing is ever written to the host file system
 * (entries only become tree entries and store objects), and the number of
 * entries and of content bytes is bounded against archive bombs.
 *
 * What happens to each entry type:
 *   regular file  contents streamed into the store (bounded memory)
 *   directory     tree_set (an existing directory keeps its children)
 *   symlink       target stored as a blob; never followed
 *   hard link     copies the attributes and digest of the target, which
 *                 must already be in the tree as a file or symlink (earlier
 *                 in this archive, or a lower layer); else -EINVAL
 *   char/block device, fifo, socket
 *                 skipped, opts->note called ("device node skipped", ...)
 * setuid/setgid/sticky bits are dropped (a tree holds only 0777) and noted.
 * uid/gid are the numeric ones from the header (names are ignored).
 * mtimes, xattrs and ACLs are not recorded (see lib/tree.h).
 *
 * Paths: a leading "/" or "./" and empty or "." components are removed
 * ("./usr//bin/./x" -> "usr/bin/x"; "./" is the root directory, whose
 * perm/uid/gid it sets). A ".." component anywhere is refused with -EINVAL
 * naming the entry, as is a component longer than TREE_NAME_MAX or a path
 * longer than TREE_PATH_MAX. Hard link targets get the same treatment.
 *
 * OCI whiteouts (opts->whiteouts): "DIR/.wh.NAME" removes DIR/NAME (absent
 * is fine); "DIR/.wh..wh..opq" removes every child of DIR that did not come
 * from this archive (entries of this archive under DIR survive whatever the
 * order of the tar entries, as the OCI image spec requires). The marker
 * entries themselves are not added. Without whiteouts such names are
 * ordinary files.
 */
#ifndef AIRLOCK_BUILDER_TARTREE_H
#define AIRLOCK_BUILDER_TARTREE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/store.h"
#include "lib/tree.h"

struct archive;

#define TARTREE_DEFAULT_MAX_ENTRIES 1000000u
#define TARTREE_DEFAULT_MAX_BYTES (32ull << 30) /* 32 GiB of file contents */

struct tartree_opts {
	/* Limits over the whole archive; 0 means the default above. An entry
	 * whose header claims more bytes than are left is refused before any
	 * of its data is read. */
	uint64_t max_entries;
	uint64_t max_bytes;
	bool whiteouts; /* OCI layer semantics, see above */
	/* Called for what is skipped or changed (path is normalised, what is
	 * a short phrase such as "setuid bit dropped"); may be NULL. */
	void (*note)(const char *path, const char *what, void *userdata);
	void *userdata;
};

/* Reads every remaining entry of the opened libarchive reader a and
 * applies it to root, writing file contents and symlink targets to s.
 * opts may be NULL (defaults, no whiteouts, no notes). Does not close or
 * free a. On error root may hold part of the archive: callers discard it
 * (tree_free) rather than write it. err names the entry. */
int tartree_apply(struct store *s, struct archive *a, struct tree *root,
		  const struct tartree_opts *opts, struct err *err);

/* Normalises a tar path as described above into out[TREE_PATH_MAX + 1]
 * ("" for the root). -EINVAL (err names the path) if refused. Exported for
 * tests and fuzzing. */
int tartree_normalize_path(const char *path, char *out, struct err *err);

#endif
