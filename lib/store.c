/* store: content-addressed objects (SHA-256 of the uncompressed bytes,
 * stored as one zstd frame each) and small atomic refs.
 *
 * Durability: an object is written to tmp/, then linked into objects/;
 * "already exists" is success. Objects are not fsynced as they are
 * written; store_ref_set() first makes every object this handle wrote or
 * found since its last ref write durable, then atomically replaces the
 * ref, so no ref can reach an object that is not on disk (ostree's
 * transaction rule). Up to STORE_SYNC_EACH such objects are fsynced one by
 * one (a run: its record, its output, what it changed); more (a build, an
 * import), and the store's file system is synced whole. An object torn by
 * a crash before that is unreachable; fsck finds it and gc drops it.
 *
 * Concurrency: writers hold a shared flock on $STORE/lock, gc an exclusive
 * one, so gc never deletes an object a running writer is about to refer to.
 * Writers never wait for each other.
 */
#include "lib/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

struct store {
	char *path;
	int dfd;      /* O_DIRECTORY of the store root */
	int objects;  /* objects/ */
	int tmp;      /* tmp/ */
	int lock_fd;  /* $STORE/lock, flocked */
	/* One compression and one decompression context, reused: creating a
	 * compression context allocates and clears ~1 MB, more than most objects
	 * cost to compress. A second writer at once gets its own. */
	ZSTD_CCtx *cctx;
	bool cctx_busy;
	ZSTD_DCtx *dctx;
	bool dctx_busy;
	char *dbuf; /* the shared context's input and output buffers, ~256 KiB */
	/* Objects written or found since the last ref write (see the top). */
	char (*touched)[DIGEST_HEX_LEN + 2];
	size_t ntouched;
	bool touched_many, new_subdir;
	struct store_sync_counts counts;
};

static const char *const store_dirs[] = {
	"objects", "tmp", "refs", "refs/" STORE_NS_TAGS, "refs/" STORE_NS_IMAGES,
	"refs/" STORE_NS_CACHE, "refs/" STORE_NS_RUNS, "checkouts", "files",
};

char *store_default_path(const char *explicit_path)
{
	const char *e;
	if (explicit_path && *explicit_path)
		return realpath(explicit_path, NULL) ?: xstrdup(explicit_path);
	if ((e = getenv("AIRLOCK_STORE")) && *e)
		return xstrdup(e);
	if (geteuid() == 0)
		return xstrdup("/var/lib/airlock");
	if ((e = getenv("XDG_DATA_HOME")) && *e == '/')
		return xasprintf("%s/airlock", e);
	if ((e = getenv("HOME")) && *e == '/')
		return xasprintf("%s/.local/share/airlock", e);
	/* /etc/passwd read directly, not through NSS: the run binary is
	 * static, and a static glibc cannot load NSS modules. No home found
	 * (an NSS-only account without HOME): no store, never one in /tmp,
	 * where another user could have made it first. */
	char *path = NULL;
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	while (f && !path && (pw = fgetpwent(f)))
		if (pw->pw_uid == geteuid() && pw->pw_dir[0] == '/')
			path = xasprintf("%s/.local/share/airlock", pw->pw_dir);
	if (f)
		fclose(f);
	return path;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->dfd >= 0)
		close(s->dfd);
	if (s->objects >= 0)
		close(s->objects);
	if (s->tmp >= 0)
		close(s->tmp);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	ZSTD_freeCCtx(s->cctx);
	ZSTD_freeDCtx(s->dctx);
	free(s->dbuf);
	free(s->touched);
	free(s->path);
	free(s);
}

int store_open(const char *path, int flags, struct store **ret, struct err *err)
{
	_cleanup_(store_freep) struct store *s = xcalloc(1, sizeof *s);
	s->dfd = s->objects = s->tmp = s->lock_fd = -1;
	s->path = xstrdup(path);
	if (flags & STORE_CREATE) {
		int r = fs_mkdir_p(AT_FDCWD, path, 0755, err);
		if (r < 0)
			return err_prefix(err, "store '%s'", path);
	}
	s->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0)
		return err_errno(err, "store '%s'", path);
	if (flags & STORE_CREATE) {
		for (size_t i = 0; i < ARRAY_SIZE(store_dirs); i++)
			if (mkdirat(s->dfd, store_dirs[i], 0755) < 0 && errno != EEXIST)
				return err_errno(err, "store '%s': mkdir '%s'", path, store_dirs[i]);
	}
	s->objects = openat(s->dfd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	s->tmp = openat(s->dfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (s->objects < 0 || s->tmp < 0)
		return err_errno(err, "store '%s' is not an airlock store (no objects/ or tmp/)", path);
	s->lock_fd = openat(s->dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s->lock_fd < 0)
		s->lock_fd = openat(s->dfd, "lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (s->lock_fd < 0)
		return err_errno(err, "store '%s': open lock", path);
	while (flock(s->lock_fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return err_errno(err, "store '%s': lock", path);
	*ret = TAKE_PTR(s);
	return 0;
}

const char *store_path(const struct store *s)
{
	return s->path;
}

int store_dirfd(const struct store *s)
{
	return s->dfd;
}

int store_lock_exclusive(struct store *s, struct err *err)
{
	/* flock conversion is not atomic anyway; dropping first avoids two
	 * upgraders waiting on each other's shared lock. */
	flock(s->lock_fd, LOCK_UN);
	while (flock(s->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return err_errno(err, "store '%s': exclusive lock", s->path);
	return 0;
}

static void object_relpath(const struct digest *d, char out[DIGEST_HEX_LEN + 2])
{
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(d, hex);
	out[0] = hex[0];
	out[1] = hex[1];
	out[2] = '/';
	memcpy(out + 3, hex + 2, DIGEST_HEX_LEN - 2 + 1);
}

/* ---- writing ---- */

struct store_writer {
	struct store *s;
	int fd;
	char tmpname[40];
	ZSTD_CCtx *cctx;
	bool cctx_shared; /* borrowed from the store */
	struct hasher *h;
	uint64_t size;
	char out[ZSTD_BLOCKSIZE_MAX + 1024];
};

void store_writer_free(struct store_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		close(w->fd);
		if (w->tmpname[0])
			unlinkat(w->s->tmp, w->tmpname, 0);
	}
	if (w->cctx_shared)
		w->s->cctx_busy = false;
	else
		ZSTD_freeCCtx(w->cctx);
	hasher_free(w->h);
	free(w);
}
DEFINE_CLEANUP_FUNC(struct store_writer, store_writer_free)

int store_writer_new(struct store *s, struct store_writer **ret, struct err *err)
{
	_cleanup_(store_writer_freep) struct store_writer *w = xcalloc(1, sizeof *w);
	w->s = s;
	w->fd = -1;
	/* An unnamed temp file needs no unlink when abandoned; fall back to
	 * a named one where the file system lacks O_TMPFILE. */
	w->fd = openat(s->tmp, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, 0444);
	if (w->fd < 0) {
		char rnd[25];
		fs_random_hex(rnd, 24);
		snprintf(w->tmpname, sizeof w->tmpname, "obj-%s", rnd);
		w->fd = openat(s->tmp, w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	}
	if (w->fd < 0)
		return err_errno(err, "store: create temporary object in '%s/tmp'", s->path);
	if (!s->cctx_busy) {
		if (!s->cctx && !(s->cctx = ZSTD_createCCtx()))
			abort();
		ZSTD_CCtx_reset(s->cctx, ZSTD_reset_session_and_parameters);
		w->cctx = s->cctx;
		w->cctx_shared = s->cctx_busy = true;
	} else if (!(w->cctx = ZSTD_createCCtx())) {
		abort();
	}
	/* Fixed parameters: the stored bytes of an object do not depend on
	 * the machine or the zstd defaults. No worker threads: the runner
	 * clones sandboxes with a raw clone(2), which is only safe in a
	 * single-threaded process (a thread holding a libc lock at that
	 * moment would deadlock the child). */
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, STORE_ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, 0);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 0);
	w->h = hasher_new();
	*ret = TAKE_PTR(w);
	return 0;
}

static int writer_pump(struct store_writer *w, const void *data, size_t len, ZSTD_EndDirective mode,
		       struct err *err)
{
	ZSTD_inBuffer in = {data, len, 0};
	for (;;) {
		ZSTD_outBuffer out = {w->out, sizeof w->out, 0};
		size_t rem = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(rem))
			return err_set(err, -EIO, "store: zstd: %s", ZSTD_getErrorName(rem));
		int r = fs_write_all(w->fd, w->out, out.pos);
		if (r < 0)
			return err_code(err, r, "store: write temporary object");
		if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size)
			return 0;
	}
}

int store_writer_write(struct store_writer *w, const void *data, size_t len, struct err *err)
{
	hasher_update(w->h, data, len);
	w->size += len;
	return writer_pump(w, data, len, ZSTD_e_continue, err);
}

/* rel (objects/ relative) may be reached by the next ref written. */
static void touch(struct store *s, const char *rel)
{
	if (s->touched_many)
		return;
	for (size_t i = s->ntouched; i-- > 0;)
		if (!memcmp(s->touched[i], rel, DIGEST_HEX_LEN + 2))
			return;
	if (s->ntouched == STORE_SYNC_EACH) {
		s->touched_many = true;
		return;
	}
	if (!s->touched)
		s->touched = xcalloc(STORE_SYNC_EACH, sizeof *s->touched);
	memcpy(s->touched[s->ntouched++], rel, DIGEST_HEX_LEN + 2);
}

int store_sync(struct store *s, struct err *err)
{
	if (s->touched_many) {
		if (syncfs(s->dfd) < 0)
			return err_errno(err, "store: syncfs");
		s->counts.syncfs++;
	} else {
		/* Each object, then each objects/xx it is in (the name), then
		 * objects/ if an xx is new. A file that is on disk already
		 * costs little to fsync. */
		for (size_t i = 0; i < s->ntouched; i++) {
			_cleanup_close_ int fd =
				openat(s->objects, s->touched[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0 || fsync(fd) < 0)
				return err_errno(err, "store: fsync objects/%s", s->touched[i]);
			s->counts.fsync++;
		}
		for (size_t i = 0; i < s->ntouched; i++) {
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = !memcmp(s->touched[i], s->touched[j], 2);
			if (seen)
				continue;
			char sub[3] = {s->touched[i][0], s->touched[i][1], '\0'};
			_cleanup_close_ int fd =
				openat(s->objects, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0 || fsync(fd) < 0)
				return err_errno(err, "store: fsync objects/%s", sub);
			s->counts.fsync++;
		}
		if (s->new_subdir) {
			if (fsync(s->objects) < 0)
				return err_errno(err, "store: fsync objects");
			s->counts.fsync++;
		}
	}
	s->ntouched = 0;
	s->touched_many = s->new_subdir = false;
	return 0;
}

void store_get_sync_counts(const struct store *s, struct store_sync_counts *ret)
{
	*ret = s->counts;
}

void store_note_sync(struct store *s, unsigned fsyncs, unsigned syncfs)
{
	s->counts.fsync += fsyncs;
	s->counts.syncfs += syncfs;
}

int store_writer_commit(struct store_writer *w, struct digest *ret, uint64_t *ret_size,
			struct err *err)
{
	_cleanup_(store_writer_freep) struct store_writer *own = w;
	int r = writer_pump(w, NULL, 0, ZSTD_e_end, err);
	if (r < 0)
		return r;
	struct digest d;
	hasher_final(w->h, &d);
	char rel[DIGEST_HEX_LEN + 2];
	object_relpath(&d, rel);
	if (ret)
		*ret = d;
	if (ret_size)
		*ret_size = w->size;
	/* Already there (maybe written by another process that has not
	 * synced it yet): the temp file is dropped by the cleanup. */
	if (faccessat(w->s->objects, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		touch(w->s, rel);
		return 0;
	}
	rel[2] = '\0';
	if (mkdirat(w->s->objects, rel, 0755) == 0)
		w->s->new_subdir = true;
	else if (errno != EEXIST)
		return err_errno(err, "store: mkdir objects/%s", rel);
	rel[2] = '/';
	int r2;
	if (w->tmpname[0]) {
		r2 = linkat(w->s->tmp, w->tmpname, w->s->objects, rel, 0);
	} else {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", w->fd);
		r2 = linkat(AT_FDCWD, proc, w->s->objects, rel, AT_SYMLINK_FOLLOW);
	}
	if (r2 < 0 && errno != EEXIST)
		return err_errno(err, "store: link object %s", rel);
	touch(w->s, rel);
	return 0;
}

int store_put(struct store *s, const void *data, size_t len, struct digest *ret, struct err *err)
{
	_cleanup_(store_writer_freep) struct store_writer *w = NULL;
	int r = store_writer_new(s, &w, err);
	if (r < 0)
		return r;
	/* The exact size sizes zstd's tables and window to it: a run record
	 * then needs a few KiB of compressor state, not a MiB to fault in and
	 * unmap, and its readers a window as small. Deterministic: the frame
	 * still depends on the bytes alone. */
	if (len && ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(w->cctx, len)))
		return err_set(err, -EIO, "store: zstd: cannot set the size");
	const char *p = data;
	while (len > 0) {
		size_t n = len < 131072 ? len : 131072;
		if ((r = store_writer_write(w, p, n, err)) < 0)
			return r;
		p += n;
		len -= n;
	}
	return store_writer_commit(TAKE_PTR(w), ret, NULL, err);
}

/* For a regular file, hashes it first: when the object exists already (a
 * re-import), nothing is compressed or written. The second pass hashes
 * again, so a file changing in between still gets its true digest. */
static int put_known_file(struct store *s, int fd, struct digest *ret, uint64_t *ret_size,
			  char *chunk, struct err *err)
{
	struct hasher *h = hasher_new();
	uint64_t total = 0;
	for (;;) {
		ssize_t n = pread(fd, chunk, 131072, (off_t)total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			hasher_free(h);
			return err_errno(err, "store: read input");
		}
		if (n == 0)
			break;
		hasher_update(h, chunk, (size_t)n);
		total += (uint64_t)n;
	}
	hasher_final(h, ret);
	hasher_free(h);
	if (!store_has(s, ret))
		return 0;
	char rel[DIGEST_HEX_LEN + 2];
	object_relpath(ret, rel);
	touch(s, rel);
	if (ret_size)
		*ret_size = total;
	return 1;
}

int store_put_fd(struct store *s, int fd, struct digest *ret, uint64_t *ret_size, struct err *err)
{
	_cleanup_free_ char *chunk = xmalloc(131072);
	struct stat st;
	off_t pos = 0;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (regular) {
		int known = put_known_file(s, fd, ret, ret_size, chunk, err);
		if (known != 0)
			return known < 0 ? known : 0;
	}
	_cleanup_(store_writer_freep) struct store_writer *w = NULL;
	int r = store_writer_new(s, &w, err);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = regular ? pread(fd, chunk, 131072, pos) : read(fd, chunk, 131072);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(err, "store: read input");
		}
		if (n == 0)
			break;
		pos += n;
		if ((r = store_writer_write(w, chunk, (size_t)n, err)) < 0)
			return r;
	}
	return store_writer_commit(TAKE_PTR(w), ret, ret_size, err);
}

int store_tmpfile(struct store *s, struct err *err)
{
	int fd = openat(s->tmp, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd >= 0 ? fd : err_errno(err, "create temp file in '%s/tmp'", s->path);
	char rnd[17], name[32];
	fs_random_hex(rnd, 16);
	snprintf(name, sizeof name, "tmp-%s", rnd);
	fd = openat(s->tmp, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_errno(err, "create '%s/tmp/%s'", s->path, name);
	unlinkat(s->tmp, name, 0);
	return fd;
}

bool store_has(struct store *s, const struct digest *d)
{
	char rel[DIGEST_HEX_LEN + 2];
	object_relpath(d, rel);
	return faccessat(s->objects, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- reading ---- */

/* Decompresses object d, passing its bytes to sink, and checks the digest.
 * sink returns 0 or a negative code (err filled). */
static int object_read(struct store *s, const struct digest *d,
		       int (*sink)(const void *data, size_t len, void *ud, struct err *err), void *ud,
		       uint64_t *ret_size, struct err *err)
{
	char rel[DIGEST_HEX_LEN + 2], name[DIGEST_STR_SIZE];
	object_relpath(d, rel);
	digest_to_str(d, name);
	_cleanup_close_ int fd = openat(s->objects, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(err, -ENOENT, "object %s is missing from the store", name);
		return err_errno(err, "open object %s", name);
	}
	bool shared = !s->dctx_busy;
	if (shared && !s->dctx && !(s->dctx = ZSTD_createDCtx()))
		abort();
	ZSTD_DCtx *dctx = shared ? s->dctx : ZSTD_createDCtx();
	if (!dctx)
		abort();
	if (shared) {
		ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
		s->dctx_busy = true;
	}
	/* Kept with the shared context: a run reads a few small objects, and
	 * fresh buffers of this size are an mmap, page faults and munmap each. */
	size_t in_size = ZSTD_DStreamInSize(), out_size = ZSTD_DStreamOutSize();
	_cleanup_free_ char *own = NULL;
	if (shared && !s->dbuf)
		s->dbuf = xmalloc(in_size + out_size);
	char *inbuf = shared ? s->dbuf : (own = xmalloc(in_size + out_size));
	char *outbuf = inbuf + in_size;
	struct hasher *h = hasher_new();
	uint64_t total = 0;
	size_t last = 1; /* non-zero: frame not finished */
	int r = 0;
	bool eof = false;
	while (!eof && r == 0) {
		ssize_t n = read(fd, inbuf, in_size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = err_errno(err, "read object %s", name);
			break;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		ZSTD_inBuffer in = {inbuf, (size_t)n, 0};
		while (in.pos < in.size && r == 0) {
			ZSTD_outBuffer out = {outbuf, out_size, 0};
			last = ZSTD_decompressStream(dctx, &out, &in);
			if (ZSTD_isError(last)) {
				r = err_set(err, -EBADMSG, "object %s is corrupt (%s)", name,
					    ZSTD_getErrorName(last));
				break;
			}
			hasher_update(h, outbuf, out.pos);
			total += out.pos;
			if (out.pos)
				r = sink(outbuf, out.pos, ud, err);
		}
	}
	/* Drain what the decoder still holds; at EOF the frame must be done. */
	while (r == 0 && last != 0) {
		ZSTD_inBuffer in = {NULL, 0, 0};
		ZSTD_outBuffer out = {outbuf, out_size, 0};
		last = ZSTD_decompressStream(dctx, &out, &in);
		if (ZSTD_isError(last)) {
			r = err_set(err, -EBADMSG, "object %s is corrupt (%s)", name, ZSTD_getErrorName(last));
			break;
		}
		if (out.pos == 0 && last != 0) {
			r = err_set(err, -EBADMSG, "object %s is corrupt (truncated)", name);
			break;
		}
		hasher_update(h, outbuf, out.pos);
		total += out.pos;
		if (out.pos)
			r = sink(outbuf, out.pos, ud, err);
	}
	if (shared)
		s->dctx_busy = false;
	else
		ZSTD_freeDCtx(dctx);
	if (r == 0) {
		struct digest got;
		hasher_final(h, &got);
		if (!digest_equal(&got, d))
			r = err_set(err, -EBADMSG, "object %s is corrupt (content hashes to something else)",
				    name);
	}
	hasher_free(h);
	if (r == 0 && ret_size)
		*ret_size = total;
	return r;
}

struct buf_sink {
	struct buf *out;
	size_t start, max;
	const char *name;
};

static int sink_buf(const void *data, size_t len, void *ud, struct err *err)
{
	struct buf_sink *bs = ud;
	if (bs->out->len - bs->start + len > bs->max)
		return err_set(err, -EFBIG, "object %s is larger than %zu bytes", bs->name, bs->max);
	buf_append(bs->out, data, len);
	return 0;
}

int store_get(struct store *s, const struct digest *d, size_t max, struct buf *out,
	      struct err *err)
{
	char name[DIGEST_STR_SIZE];
	digest_to_str(d, name);
	struct buf_sink bs = {out, out->len, max, name};
	int r = object_read(s, d, sink_buf, &bs, NULL, err);
	if (r < 0) {
		out->len = bs.start;
		if (out->data)
			out->data[out->len] = '\0';
	}
	return r;
}

static int sink_fd(const void *data, size_t len, void *ud, struct err *err)
{
	int r = fs_write_all(*(int *)ud, data, len);
	return r < 0 ? err_code(err, r, "write") : 0;
}

int store_get_to_fd(struct store *s, const struct digest *d, int out_fd, uint64_t *ret_size,
		    struct err *err)
{
	return object_read(s, d, sink_fd, &out_fd, ret_size, err);
}

static int sink_none(const void *data, size_t len, void *ud, struct err *err)
{
	(void)data, (void)len, (void)ud, (void)err;
	return 0;
}

int store_verify(struct store *s, const struct digest *d, struct err *err)
{
	return object_read(s, d, sink_none, NULL, NULL, err);
}

int store_foreach_object(struct store *s, int (*fn)(const struct digest *d, void *userdata),
			 void *userdata, struct err *err)
{
	for (int i = 0; i < 256; i++) {
		char sub[3];
		snprintf(sub, sizeof sub, "%02x", i);
		int fd = openat(s->objects, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return err_errno(err, "store: open objects/%s", sub);
		}
		DIR *dir = fdopendir(fd);
		if (!dir) {
			close(fd);
			return err_errno(err, "store: read objects/%s", sub);
		}
		struct dirent *de;
		int r = 0;
		while ((de = readdir(dir))) {
			char hex[DIGEST_HEX_LEN + 1];
			struct digest d;
			if (strlen(de->d_name) != DIGEST_HEX_LEN - 2)
				continue;
			snprintf(hex, sizeof hex, "%s%s", sub, de->d_name);
			if (digest_parse(hex, &d) < 0)
				continue;
			if ((r = fn(&d, userdata)) < 0)
				break;
		}
		closedir(dir);
		if (r < 0)
			return r;
	}
	return 0;
}

int store_delete_object(struct store *s, const struct digest *d, struct err *err)
{
	char rel[DIGEST_HEX_LEN + 2];
	object_relpath(d, rel);
	if (unlinkat(s->objects, rel, 0) < 0 && errno != ENOENT)
		return err_errno(err, "store: delete objects/%s", rel);
	return 0;
}

/* ---- refs ---- */

bool store_ref_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || !strchr("._:@+-", c)))
			return false;
	}
	return true;
}

static int ref_dir(struct store *s, const char *ns, struct err *err)
{
	if (strcmp(ns, STORE_NS_TAGS) && strcmp(ns, STORE_NS_IMAGES) && strcmp(ns, STORE_NS_CACHE) &&
	    strcmp(ns, STORE_NS_RUNS))
		return err_set(err, -EINVAL, "store: unknown ref namespace '%s'", ns);
	char path[64];
	snprintf(path, sizeof path, "refs/%s", ns);
	int fd = openat(s->dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_errno(err, "store: open %s", path);
	return fd;
}

int store_ref_set(struct store *s, const char *ns, const char *name, const struct digest *value,
		  struct err *err)
{
	if (!store_ref_name_valid(name))
		return err_set(err, -EINVAL, "invalid name '%s' (letters, digits and ._:@+- only)", name);
	_cleanup_close_ int dfd = ref_dir(s, ns, err);
	if (dfd < 0)
		return dfd;
	/* Every object this ref can reach must be on disk before the ref. */
	int r = store_sync(s, err);
	if (r < 0)
		return r;
	char line[DIGEST_STR_SIZE + 1];
	digest_to_str(value, line);
	strcat(line, "\n");
	return fs_write_file_atomic(dfd, name, line, strlen(line), 0644, err);
}

int store_ref_get(struct store *s, const char *ns, const char *name, struct digest *ret,
		  struct err *err)
{
	if (!store_ref_name_valid(name))
		return err_set(err, -EINVAL, "invalid name '%s'", name);
	_cleanup_close_ int dfd = ref_dir(s, ns, err);
	if (dfd < 0)
		return dfd;
	_cleanup_buf_ struct buf b = BUF_INIT;
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(err, -ENOENT, "no %s named '%s'",
				       !strcmp(ns, STORE_NS_RUNS) ? "run" : "image", name);
		return err_errno(err, "store: open refs/%s/%s", ns, name);
	}
	int r = fs_read_fd(fd, 256, &b, err);
	if (r < 0)
		return err_prefix(err, "store: refs/%s/%s", ns, name);
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (!digest_str_valid(b.data ?: "") || digest_parse(b.data, ret) < 0)
		return err_set(err, -EBADMSG, "store: refs/%s/%s does not hold a digest", ns, name);
	return 0;
}

int store_ref_delete(struct store *s, const char *ns, const char *name, struct err *err)
{
	if (!store_ref_name_valid(name))
		return err_set(err, -EINVAL, "invalid name '%s'", name);
	_cleanup_close_ int dfd = ref_dir(s, ns, err);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, name, 0) < 0) {
		if (errno == ENOENT)
			return err_set(err, -ENOENT, "no %s named '%s'",
				       !strcmp(ns, STORE_NS_RUNS) ? "run" : "image", name);
		return err_errno(err, "store: delete refs/%s/%s", ns, name);
	}
	return fs_fsync(dfd) < 0 ? err_errno(err, "store: fsync refs/%s", ns) : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void store_names_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int store_ref_list(struct store *s, const char *ns, char ***ret_names, size_t *ret_count,
		   struct err *err)
{
	int dfd = ref_dir(s, ns, err);
	if (dfd < 0)
		return dfd;
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return err_errno(err, "store: read refs/%s", ns);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!store_ref_name_valid(de->d_name))
			continue; /* ".", "..", and temp files (".tmp-...") */
		xgrow(&names, &cap, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	*ret_names = names;
	*ret_count = n;
	return 0;
}
