/* tree: canonical directory trees in the store (format in docs/FORMAT.md).
 *
 * A tree object lists one directory: a header line "airlock-tree 1\n", then
 * one entry per child, sorted bytewise by name:
 *
 *   <type> SP <perm:4 octal> SP <uid> SP <gid> SP <size> SP sha256:<hex> SP <name> NUL
 *
 * type is 'f' (regular file; digest of its contents), 'l' (symlink; digest
 * of a blob holding the target, size = target length, perm 0777) or 'd'
 * (directory; digest of its tree object, size 0). perm holds only 0777
 * bits: setuid/setgid/sticky are dropped (tree_import_* reports them). uid
 * and gid are decimal. No timestamps: checkouts use a fixed mtime
 * (SOURCE_DATE_EPOCH, else 0). Names are any bytes but NUL and '/', never
 * "." or "..", at most 255 bytes. Nothing else (devices, fifos, sockets,
 * hardlinks as such) can be in a tree. A tree's digest is the digest of the
 * root directory's object.
 *
 * struct tree is an in-memory, mutable directory: the builder, the OCI
 * importer and capture edit one and write it back. Subdirectories loaded
 * from the store are read lazily.
 */
#ifndef AIRLOCK_LIB_TREE_H
#define AIRLOCK_LIB_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

#define TREE_MAGIC "airlock-tree 1\n"
#define TREE_NAME_MAX 255
#define TREE_PATH_MAX 4096
/* Deepest nesting accepted anywhere (import, load, checkout). */
#define TREE_DEPTH_MAX 1024

enum tree_type {
	TREE_FILE = 'f',
	TREE_DIR = 'd',
	TREE_SYMLINK = 'l',
};

/* One entry's attributes as stored (what a caller sets). */
struct tree_attr {
	enum tree_type type;
	uint32_t perm; /* & 0777 */
	uint32_t uid, gid;
	uint64_t size;        /* file: bytes; symlink: target length; dir: 0 */
	struct digest digest; /* file: content; symlink: target blob; dir: tree */
};

struct tree;

/* An empty root directory, perm 0755, owned by 0:0. */
struct tree *tree_new(void);
/* Loads the tree digest d (lazily: subtrees are read on first access). */
int tree_load(struct store *s, const struct digest *d, struct tree **ret, struct err *err);
void tree_free(struct tree *t);
static inline void tree_freep(struct tree **t)
{
	if (*t)
		tree_free(*t);
}

/* Paths below are relative, '/'-separated, without "." / ".." / empty
 * components ("a/b/c"); a leading "/" or "./" is stripped; anything else
 * is -EINVAL with a message naming the path. Lookups never follow symlinks
 * in the tree: a symlink where a directory is needed is -ENOTDIR. */

/* Sets the entry at path. Missing parent directories are created (0755,
 * 0:0). Replacing a directory with a non-directory drops its contents; a
 * directory set over an existing directory keeps the children and only
 * changes its attributes (as tar does). For TREE_DIR, attr->digest and
 * size are ignored. */
int tree_set(struct tree *root, struct store *s, const char *path, const struct tree_attr *attr,
	     struct err *err);
/* Removes path and everything under it; -ENOENT if absent. */
int tree_remove(struct tree *root, struct store *s, const char *path, struct err *err);
/* Removes every child of the directory at path (OCI opaque whiteout). */
int tree_clear_dir(struct tree *root, struct store *s, const char *path, struct err *err);
/* Looks up path; "" is the root. -ENOENT if absent. For a directory,
 * ret->digest is only valid after tree_write. */
int tree_get(struct tree *root, struct store *s, const char *path, struct tree_attr *ret,
	     struct err *err);
/* Sets the root directory's own perm/uid/gid. */
void tree_set_root_attr(struct tree *root, uint32_t perm, uint32_t uid, uint32_t gid);

/* Writes every modified directory object and returns the root's digest. */
int tree_write(struct tree *root, struct store *s, struct digest *ret, struct err *err);

/* Walks a stored tree depth-first in canonical order. fn gets the path
 * relative to the root ("" for the root itself, which comes first) and the
 * entry; a positive return from fn for a directory skips its children, a
 * negative one stops the walk and is returned. */
typedef int (*tree_walk_fn)(const char *path, const struct tree_attr *attr, void *userdata,
			    struct err *err);
int tree_walk(struct store *s, const struct digest *tree, tree_walk_fn fn, void *userdata,
	      struct err *err);

/* Options for importing a host directory. */
struct tree_import_opts {
	bool keep_owner;   /* record st_uid/st_gid; else uid/gid below */
	uint32_t uid, gid; /* used when !keep_owner */
	/* Called for what a tree cannot hold (device, fifo, socket: skipped)
	 * and for dropped setuid/setgid/sticky bits; may be NULL. */
	void (*note)(const char *path, const char *what, void *userdata);
	void *userdata;
};

/* Imports the directory dirfd (recursively, never following symlinks,
 * never crossing into another file system's special files) into the store.
 * Streams file contents: memory is bounded by the tree's shape, not its
 * size. */
int tree_import_dir(struct store *s, int dirfd, const struct tree_import_opts *opts,
		    struct digest *ret, struct err *err);

/* Materialises a tree once per store as a read-only directory shared by
 * all runs: $STORE/checkouts/<hex>. Files are hard links into the
 * uncompressed file cache ($STORE/files/, keyed by content, perm, uid, gid),
 * so checkouts that share content share disk. Safe against concurrent
 * checkouts of the same tree (built in a temp dir, renamed into place);
 * a completed checkout is never modified. File owners are set when running
 * as root, else they belong to the caller. mtime: SOURCE_DATE_EPOCH or 0.
 * *ret_path is malloc'ed. A second checkout of the same tree is a stat. */
int tree_checkout(struct store *s, const struct digest *tree, char **ret_path, struct err *err);

/* Writes a tree into an existing empty directory dirfd (a private copy,
 * not shared). Same attributes as tree_checkout, no hard links. */
int tree_extract(struct store *s, const struct digest *tree, int dirfd, struct err *err);

/* Total bytes of file contents and number of entries (du-like). */
int tree_usage(struct store *s, const struct digest *tree, uint64_t *ret_bytes,
	       uint64_t *ret_entries, struct err *err);

/* Encodes/decodes one directory object (exported for fuzzing and fsck).
 * Decoding rejects anything non-canonical: unsorted or duplicate names,
 * bad fields, bad names; err says what and at which byte. */
struct tree_dirent {
	char *name; /* owned */
	struct tree_attr attr;
};
int tree_decode(const void *data, size_t len, struct tree_dirent **ret_entries, size_t *ret_count,
		struct err *err);
void tree_dirents_free(struct tree_dirent *entries, size_t count);

#endif
