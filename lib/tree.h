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
 * bits: setuid/setgid/sticky are dropped (tree_import_* reports them). uid,
 * gid and size are decimal without leading zeros; perm is exactly 4 octal
 * digits; a symlink's perm is 0777 and its size 1..4095. No timestamps:
 * checkouts use a fixed mtime (SOURCE_DATE_EPOCH, else 0). Names are any
 * bytes but NUL and '/', never "." or "..", at most 255 bytes. Nothing else
 * (devices, fifos, sockets, hardlinks as such) can be in a tree. A tree's
 * digest is the digest of the root directory's object.
 *
 * A directory object holds its children only, never its own attributes, so
 * the root of a tree has none: every checkout's root is 0755 owned by 0:0
 * (tree_set_root_attr is in-memory only, see there). A tree is at most
 * TREE_DEPTH_MAX directories deep, the root counting as one.
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
#include <time.h>

#include "lib/buf.h"
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
 * components ("a/b/c"); leading "/" and "./" and one trailing "/" are
 * stripped; at most TREE_PATH_MAX bytes and TREE_DEPTH_MAX - 1 components;
 * anything else is -EINVAL with a message naming the path. Lookups never follow symlinks
 * in the tree: a symlink where a directory is needed is -ENOTDIR. */

/* Sets the entry at path. Missing parent directories are created (0755,
 * 0:0). Replacing a directory with a non-directory drops its contents; a
 * directory set over an existing directory keeps the children and only
 * changes its attributes (as tar does). For TREE_DIR, attr->digest and
 * size are ignored; perm is masked with 0777; attributes canonical form
 * cannot hold (a symlink whose perm is not 0777 or whose size is not
 * 1..4095) are -EINVAL. */
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
/* Sets the root directory's own perm/uid/gid as tree_get("") reports them.
 * In memory only: the format stores no attributes for the root (above), so
 * tree_write ignores them and tree_load gives 0755 0:0. tree_set("", dir)
 * does the same; it exists so tar importers can pass "./" through. */
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
	/* With keep_owner: host ids are a sandbox's shifted ids; record
	 * st_uid - id_base (ids outside [id_base, id_base + 65536) become
	 * 65534, nobody). 0: record host ids as they are. */
	uint32_t id_base;
	/* Called for what a tree cannot hold (device, fifo, socket: skipped)
	 * and for dropped setuid/setgid/sticky bits; may be NULL. */
	void (*note)(const char *path, const char *what, void *userdata);
	void *userdata;
};

/* st_uid as recorded under id_base (see tree_import_opts). */
static inline uint32_t tree_unshift_id(uint32_t host, uint32_t id_base)
{
	if (!id_base)
		return host;
	return host >= id_base && host - id_base < 65536 ? host - id_base : 65534;
}

struct stat;
/* The owner of an entry imported from st, as opts says (NULL: 0:0). */
void tree_owner_from_stat(const struct tree_import_opts *opts, const struct stat *st,
			  struct tree_attr *a);
/* a->perm from st (0777 bits only); setuid, setgid and sticky bits are
 * dropped and reported to opts->note with path. */
void tree_perm_from_stat(const struct tree_import_opts *opts, const struct stat *st,
			 const char *path, struct tree_attr *a);

/* Imports the directory dirfd (recursively, never following symlinks,
 * never opening special files) into the store and returns the tree digest.
 * Streams file contents: memory is bounded by the tree's shape (the names
 * of one directory per level), not its size. Holds one fd per directory
 * level: nesting near TREE_DEPTH_MAX needs RLIMIT_NOFILE above it (else
 * -EMFILE naming the path); deeper than TREE_DEPTH_MAX is -ELOOP. dirfd's
 * own attributes are not recorded (see the root above). Not safe against
 * concurrent modification of the source: a file changed while read is
 * imported with whatever bytes were read (the digest is of those bytes). */
int tree_import_dir(struct store *s, int dirfd, const struct tree_import_opts *opts,
		    struct digest *ret, struct err *err);

/* Materialises a tree once per store as a read-only directory shared by
 * all runs: $STORE/checkouts/<hex>. Files are hard links into the
 * uncompressed file cache ($STORE/files/, keyed by content, perm, uid, gid),
 * so checkouts that share content share disk. Safe against concurrent
 * checkouts of the same tree (built in a temp dir, renamed into place);
 * a completed checkout is never modified. File owners are set when running
 * as root, else they belong to the caller (an unprivileged store cannot
 * chown; the file cache key still carries the tree's uid/gid). mtime:
 * SOURCE_DATE_EPOCH or 0. Every object read is verified: a corrupt one is
 * -EBADMSG naming it, and no checkout is left behind. The new checkout is
 * syncfs'ed before it is renamed into place. Never follows a symlink.
 * *ret_path is malloc'ed. A second checkout of the same tree is a stat.
 * Cache entries are trusted once linked (fsck re-hashes files/). */
int tree_checkout(struct store *s, const struct digest *tree, char **ret_path, struct err *err);

/* How a checkout's owners relate to the tree's, for lowers of a sandbox
 * whose user namespace maps inside id N to host id shift + N. Applied only
 * when running as root (an unprivileged caller owns every file anyway). */
struct tree_idmap {
	uint32_t shift;    /* host id = tree id + shift */
	bool force;        /* every entry owned by uid:gid (+ shift) instead */
	uint32_t uid, gid;
};

/* tree_checkout with owners mapped; the checkout lives at
 * checkouts/<hex>.s<shift>[.u<uid>.g<gid>] (plain <hex> when map is NULL
 * or the identity). */
int tree_checkout_mapped(struct store *s, const struct digest *tree, const struct tree_idmap *map,
			 char **ret_path, struct err *err);

/* The one mtime airlock gives files it materialises or exports:
 * SOURCE_DATE_EPOCH if it is a non-negative integer, else 0. */
time_t tree_fixed_mtime(void);

/* Writes a tree into an existing empty directory dirfd (a private copy,
 * not shared). Same attributes as tree_checkout, no hard links; dirfd's
 * own attributes are left alone. On failure dirfd holds a partial copy the
 * caller removes. */
int tree_extract(struct store *s, const struct digest *tree, int dirfd, struct err *err);

/* Total bytes of file contents and number of entries below the root
 * (du-like; the root itself is not counted). */
int tree_usage(struct store *s, const struct digest *tree, uint64_t *ret_bytes,
	       uint64_t *ret_entries, struct err *err);

/* Encodes/decodes one directory object (exported for fuzzing and fsck).
 * Decoding rejects anything non-canonical: unsorted or duplicate names,
 * bad fields, bad names; err says what and at which byte. */
struct tree_dirent {
	char *name; /* owned */
	struct tree_attr attr;
};
/* On success *ret_entries (malloc'ed, free with tree_dirents_free) holds
 * *ret_count entries; on failure nothing is allocated and err names the
 * byte offset. -EBADMSG for any malformed input. */
int tree_decode(const void *data, size_t len, struct tree_dirent **ret_entries, size_t *ret_count,
		struct err *err);
void tree_dirents_free(struct tree_dirent *entries, size_t count);
/* Appends the canonical object for entries (sorted, valid) to out;
 * -EINVAL (out unchanged) if they are not canonical. decode then encode
 * gives back the same bytes. */
int tree_encode(const struct tree_dirent *entries, size_t count, struct buf *out,
		struct err *err);

#endif
