/* store: the content-addressed object store (layout in docs/FORMAT.md).
 *
 *   $STORE/lock                 flock: shared by writers, exclusive by gc
 *   $STORE/objects/ab/cdef...   one object: a zstd frame of its bytes
 *   $STORE/tmp/                 temp files, same file system as objects/
 *   $STORE/refs/<ns>/<name>     "sha256:<hex>\n", replaced atomically
 *   $STORE/checkouts/<hex>/     materialised trees (see tree.h)
 *   $STORE/files/               uncompressed file cache for checkouts
 *
 * An object's name is the SHA-256 of its uncompressed bytes. It is written
 * to a temp file, fsynced and linked into place; "already exists" is
 * success (as in git and ostree), so concurrent writers never conflict and
 * never need a lock. Every read re-hashes and fails on mismatch: corrupt
 * data is an error naming the object, never returned.
 *
 * Ref namespaces (STORE_NS_*): tags (name -> image manifest), images
 * (manifest hex -> manifest, every image the store holds), cache (step key
 * -> manifest), runs (run id -> run record). The value of every ref is the
 * digest of a JSON document; gc and fsck walk from the refs (see
 * builder/maintain.h for the reference rules).
 */
#ifndef AIRLOCK_LIB_STORE_H
#define AIRLOCK_LIB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/hash.h"

#define STORE_NS_TAGS "tags"
#define STORE_NS_IMAGES "images"
#define STORE_NS_CACHE "cache"
#define STORE_NS_RUNS "runs"

/* zstd settings are fixed so the stored bytes of an object are stable
 * (level, single-threaded, no checksum, no content size). */
#define STORE_ZSTD_LEVEL 1

struct store;

enum {
	STORE_CREATE = 1 << 0, /* create the layout if missing */
};

/* Resolves the store directory: explicit (--store) if not NULL, else
 * $AIRLOCK_STORE, $XDG_DATA_HOME/airlock, ~/.local/share/airlock ($HOME,
 * else the home in /etc/passwd), and /var/lib/airlock for root. Returns a
 * malloc'ed path, or NULL when no home is known (no shared fallback). */
char *store_default_path(const char *explicit_path);

/* Opens (and with STORE_CREATE creates) the store at path. On success
 * *ret is owned by the caller; free with store_free. Takes the shared
 * writer lock (released by store_free). */
int store_open(const char *path, int flags, struct store **ret, struct err *err);
void store_free(struct store *s);
static inline void store_freep(struct store **s)
{
	if (*s)
		store_free(*s);
}

const char *store_path(const struct store *s); /* borrowed */
int store_dirfd(const struct store *s);        /* borrowed, O_PATH|O_DIRECTORY */

/* Upgrades to the exclusive lock (gc); waits for writers to finish. */
int store_lock_exclusive(struct store *s, struct err *err);

/* Puts len bytes as one object; *ret gets its digest. */
int store_put(struct store *s, const void *data, size_t len, struct digest *ret, struct err *err);

/* Streams fd (read to EOF) into one object; *ret_size gets the byte count
 * (may be NULL). Memory stays bounded whatever the size. */
int store_put_fd(struct store *s, int fd, struct digest *ret, uint64_t *ret_size, struct err *err);

/* A streaming writer for objects whose bytes arrive piecewise. */
struct store_writer;
int store_writer_new(struct store *s, struct store_writer **ret, struct err *err);
int store_writer_write(struct store_writer *w, const void *data, size_t len, struct err *err);
/* Finishes, links the object into place and frees w (also on error). */
int store_writer_commit(struct store_writer *w, struct digest *ret, uint64_t *ret_size,
			struct err *err);
/* Abandons an uncommitted writer; NULL is a no-op. */
void store_writer_free(struct store_writer *w);

bool store_has(struct store *s, const struct digest *d);

/* An unlinked read-write temp file in $STORE/tmp (same file system as the
 * objects; O_TMPFILE, or a named file unlinked at once where the file
 * system lacks it). Returns the fd (caller closes) or -errno. */
int store_tmpfile(struct store *s, struct err *err);

/* Reads a whole object into out (appending), verifying its digest; fails
 * with -EFBIG past max bytes and -EBADMSG if corrupt ("object sha256:...
 * is corrupt"), -ENOENT if missing. */
int store_get(struct store *s, const struct digest *d, size_t max, struct buf *out,
	      struct err *err);

/* Streams an object to out_fd, verifying its digest at the end. On
 * -EBADMSG the bytes already written must be discarded by the caller
 * (write to a temp file, rename only on success). */
int store_get_to_fd(struct store *s, const struct digest *d, int out_fd, uint64_t *ret_size,
		    struct err *err);

/* Verifies one object: re-hashes it. 0, -EBADMSG, or -ENOENT. */
int store_verify(struct store *s, const struct digest *d, struct err *err);

/* Calls fn for each object present (order unspecified); stops on a
 * negative return from fn and returns it. */
int store_foreach_object(struct store *s, int (*fn)(const struct digest *d, void *userdata),
			 void *userdata, struct err *err);

/* Deletes one object (gc only: caller holds the exclusive lock). */
int store_delete_object(struct store *s, const struct digest *d, struct err *err);

/* Makes every object this handle wrote, or found already there, since
 * its last sync durable: fsync of each (and of its directory) for up to
 * STORE_SYNC_EACH of them, else syncfs of the store's file system, which on
 * a disk busy with other writes can take hundreds of milliseconds.
 * store_ref_set does it first; so must anything else that persists a
 * reference to objects (the workspace stat cache). 0 or -errno. */
#define STORE_SYNC_EACH 64
int store_sync(struct store *s, struct err *err);
/* How store_sync went so far in this handle: fsync calls, syncfs calls. */
struct store_sync_counts {
	unsigned fsync, syncfs;
};
void store_get_sync_counts(const struct store *s, struct store_sync_counts *ret);
/* Counts syncs made on the store's behalf (a checkout's). */
void store_note_sync(struct store *s, unsigned fsyncs, unsigned syncfs);

/* Refs. ns is one of STORE_NS_*; name matches [A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}
 * (store_ref_name_valid). Values are digests; store_ref_set calls
 * store_sync first. */
bool store_ref_name_valid(const char *name);
int store_ref_set(struct store *s, const char *ns, const char *name, const struct digest *value,
		  struct err *err);
/* -ENOENT (err filled) if absent. */
int store_ref_get(struct store *s, const char *ns, const char *name, struct digest *ret,
		  struct err *err);
int store_ref_delete(struct store *s, const char *ns, const char *name, struct err *err);
/* *ret_names: malloc'ed array of malloc'ed names, sorted bytewise. */
int store_ref_list(struct store *s, const char *ns, char ***ret_names, size_t *ret_count,
		   struct err *err);
void store_names_free(char **names, size_t count);

#endif
