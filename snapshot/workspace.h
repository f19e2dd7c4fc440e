/* workspace: the input snapshot of a run, a host directory (the user's
 * repository, .git included) imported as a tree.
 *
 * Fast when little changed: a stat cache like git's index, one per
 * workspace, maps (dev, inode, size, mtime ns, ctime ns, mode) of each file
 * and symlink to its blob digest and each directory to its tree object, so
 * an unchanged workspace costs one getdents64 + fstatat walk and no reads.
 * Format and racy-entry rule: docs/FORMAT.md, "Workspace stat cache".
 *
 * The tree is what tree_import_dir(s, dfd, NULL, ...) gives for the same
 * directory: perm & 0777 (setuid/setgid/sticky dropped), owner 0:0 for
 * everything (runs map the agent's uid; the host's uids are not part of
 * an input), fifos/sockets/devices skipped.
 */
#ifndef AIRLOCK_SNAPSHOT_WORKSPACE_H
#define AIRLOCK_SNAPSHOT_WORKSPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

struct workspace_opts {
	bool no_cache; /* neither read nor write the stat cache */
};

/* What a snapshot did (for tests and benchmarks). */
struct workspace_stats {
	uint64_t entries;      /* files, symlinks and directories seen */
	uint64_t files_read;   /* files and symlinks whose content was read */
	uint64_t bytes_read;
	uint64_t racy;         /* cache entries not trusted: mtime/ctime too recent */
	uint64_t dirs_reused;  /* directory objects taken from the cache as is */
	uint64_t skipped;      /* fifos, sockets, devices */
	bool cache_loaded, cache_written;
};

/* Snapshots the directory path (symlinks in path itself are resolved once,
 * with realpath; nothing below it is followed) into s; *ret_tree gets the
 * tree digest. The stat cache lives at $STORE/statcache/<sha256 hex of the
 * realpath>; a missing, unreadable, foreign-endian or corrupt cache is
 * ignored (and rewritten), never an error.
 *
 * Consistency: each file read is fstat'ed before and after; if its size,
 * mtime or ctime changed while it was being read, it is read again (up to
 * 3 times), then the snapshot fails with -EAGAIN naming the file ("changed
 * while being read"). A file that changes after it was read, or a name
 * added to a directory already listed, is not seen: each file is whole and
 * from one moment, but the tree is not an atomic snapshot of the whole
 * directory (only a file-system snapshot could give that).
 *
 * Errors: -errno naming the path (unreadable file, name over 255 bytes,
 * nesting deeper than TREE_DEPTH_MAX). Not safe after fork. */
int snapshot_workspace(struct store *s, const char *path, struct digest *ret_tree,
		       struct err *err);

/* Same, with options (NULL: defaults) and statistics (may be NULL). */
int snapshot_workspace_ex(struct store *s, const char *path, const struct workspace_opts *opts,
			  struct workspace_stats *ret_stats, struct digest *ret_tree,
			  struct err *err);

#endif
