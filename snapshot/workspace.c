/* workspace: host directory → tree, with a stat cache (see workspace.h).
 *
 * The walk lists each directory with getdents64 into a large buffer, sorts
 * the names, and fstatat()s each one on the directory fd (no per-file open
 * when the cache hits). Entries are compared with the cache's record for
 * the same directory by a merge over the two sorted name lists. When every
 * child of a directory hits and the count matches, the directory's tree
 * object is the cached one: it is neither encoded nor hashed again.
 *
 * The cache is trusted only as far as the store still holds what it
 * names: its root tree object must exist, else it is dropped. gc is
 * mark-and-sweep from the refs, so a root that survived a (complete) gc
 * still has all its objects.
 *
 * Racy entries (as in git): a file modified within the same timestamp tick
 * as the moment it was hashed keeps its mtime. So the cache records the
 * (coarse) wall-clock time taken before the walk began; on the next run an
 * entry whose mtime or ctime is not older than that stamp is re-hashed.
 */
#include "snapshot/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/tree.h"
#include "lib/xalloc.h"

#define CACHE_DIR "statcache"
#define CACHE_MAGIC "ALSTC\0\0\1"
#define CACHE_ENDIAN 0x01020304u
#define CACHE_MAX (1u << 30)
#define DENTS_BUF (256u << 10)
#define SYMLINK_TARGET_MAX 4095
#define READ_RETRIES 3

/* On-disk records, native endian (checked by CACHE_ENDIAN), read with
 * memcpy (no alignment assumptions). */
struct fhdr {
	char magic[8];
	uint32_t endian;
	uint32_t ndirs;
	int64_t stamp_sec, stamp_nsec;
	uint8_t root[DIGEST_LEN]; /* the tree digest of the root */
	uint64_t pathlen;         /* followed by the workspace realpath */
};

struct drec {
	uint32_t pathlen, nkids; /* followed by path, then nkids crec + name */
	uint8_t digest[DIGEST_LEN];
};

struct crec {
	uint64_t dev, ino, size;
	int64_t msec, mnsec, csec, cnsec;
	uint32_t mode, namelen; /* followed by the name */
	uint8_t digest[DIGEST_LEN];
};

struct cdir {
	const char *path;
	uint32_t pathlen, nkids;
	struct digest digest;
	const char *kids; /* first crec */
};

struct cache {
	struct buf data;
	struct fhdr hdr;
	struct cdir *dirs;
	size_t ndirs;
	size_t *slots; /* hash table of dir index + 1; 0 empty */
	size_t nslots;
};

struct ws {
	struct store *s;
	struct cache *old; /* NULL: none */
	struct buf out;    /* the new cache's dir records */
	uint32_t out_ndirs;
	struct buf path;
	struct timespec stamp;
	struct workspace_stats st;
	char *dents;       /* getdents64 buffer, shared by all levels (used before recursing) */
	bool have_empty;
	struct digest empty;
};

static uint64_t hash_path(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static void cache_free(struct cache *c)
{
	if (!c)
		return;
	buf_release(&c->data);
	free(c->dirs);
	free(c->slots);
	free(c);
}

/* Parses a cache file; NULL if it is not one we can trust. */
static struct cache *cache_parse(struct buf *data, const char *root)
{
	struct cache *c = xcalloc(1, sizeof *c);
	c->data = *data;
	*data = (struct buf)BUF_INIT;
	const char *p = c->data.data, *end = p + c->data.len;
	if ((size_t)(end - p) < sizeof c->hdr)
		goto bad;
	memcpy(&c->hdr, p, sizeof c->hdr);
	p += sizeof c->hdr;
	if (memcmp(c->hdr.magic, CACHE_MAGIC, 8) || c->hdr.endian != CACHE_ENDIAN ||
	    c->hdr.pathlen != strlen(root) || (size_t)(end - p) < c->hdr.pathlen ||
	    memcmp(p, root, c->hdr.pathlen))
		goto bad;
	p += c->hdr.pathlen;
	if (c->hdr.ndirs > c->data.len / sizeof(struct drec))
		goto bad;
	c->ndirs = c->hdr.ndirs;
	c->dirs = xcalloc(c->ndirs + 1, sizeof *c->dirs);
	for (size_t i = 0; i < c->ndirs; i++) {
		struct drec d;
		if ((size_t)(end - p) < sizeof d)
			goto bad;
		memcpy(&d, p, sizeof d);
		p += sizeof d;
		if ((size_t)(end - p) < d.pathlen)
			goto bad;
		struct cdir *cd = &c->dirs[i];
		cd->path = p;
		cd->pathlen = d.pathlen;
		cd->nkids = d.nkids;
		memcpy(cd->digest.b, d.digest, DIGEST_LEN);
		p += d.pathlen;
		cd->kids = p;
		for (uint32_t k = 0; k < d.nkids; k++) {
			struct crec r;
			if ((size_t)(end - p) < sizeof r)
				goto bad;
			memcpy(&r, p, sizeof r);
			p += sizeof r;
			if ((size_t)(end - p) < r.namelen || !r.namelen || r.namelen > TREE_NAME_MAX)
				goto bad;
			p += r.namelen;
		}
	}
	if (p != end)
		goto bad;
	c->nslots = 16;
	while (c->nslots < c->ndirs * 2)
		c->nslots *= 2;
	c->slots = xcalloc(c->nslots, sizeof *c->slots);
	for (size_t i = 0; i < c->ndirs; i++) {
		size_t h = hash_path(c->dirs[i].path, c->dirs[i].pathlen) & (c->nslots - 1);
		while (c->slots[h])
			h = (h + 1) & (c->nslots - 1);
		c->slots[h] = i + 1;
	}
	return c;
bad:
	cache_free(c);
	return NULL;
}

static const struct cdir *cache_dir(const struct cache *c, const char *path, size_t len)
{
	if (!c)
		return NULL;
	size_t h = hash_path(path, len) & (c->nslots - 1);
	while (c->slots[h]) {
		const struct cdir *d = &c->dirs[c->slots[h] - 1];
		if (d->pathlen == len && !memcmp(d->path, path, len))
			return d;
		h = (h + 1) & (c->nslots - 1);
	}
	return NULL;
}

/* ---- the walk ---- */

struct name {
	char *name;
	size_t len;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct name *)a)->name, ((const struct name *)b)->name);
}

static int list_dir(struct ws *w, int dfd, struct name **ret, size_t *ret_n, struct err *err)
{
	struct name *v = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		ssize_t got = getdents64(dfd, w->dents, DENTS_BUF);
		if (got < 0) {
			for (size_t i = 0; i < n; i++)
				free(v[i].name);
			free(v);
			return err_errno(err, "'%s': getdents64", w->path.len ? w->path.data : ".");
		}
		if (got == 0)
			break;
		for (ssize_t off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(w->dents + off);
			off += de->d_reclen;
			const char *nm = de->d_name;
			if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
				continue;
			xgrow(&v, &cap, n + 1, sizeof *v);
			v[n].len = strlen(nm);
			v[n].name = xstrndup(nm, v[n].len);
			n++;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_name);
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool racy(const struct ws *w, const struct cache *c, const struct stat *st)
{
	(void)w;
	const struct timespec *s = &(struct timespec){c->hdr.stamp_sec, c->hdr.stamp_nsec};
	if (st->st_mtim.tv_sec > s->tv_sec ||
	    (st->st_mtim.tv_sec == s->tv_sec && st->st_mtim.tv_nsec >= s->tv_nsec))
		return true;
	if (st->st_ctim.tv_sec > s->tv_sec ||
	    (st->st_ctim.tv_sec == s->tv_sec && st->st_ctim.tv_nsec >= s->tv_nsec))
		return true;
	return false;
}

static bool stat_match(const struct crec *r, const struct stat *st)
{
	return r->mode == st->st_mode && r->dev == st->st_dev && r->ino == st->st_ino &&
	       r->size == (uint64_t)st->st_size && r->msec == st->st_mtim.tv_sec &&
	       r->mnsec == st->st_mtim.tv_nsec && r->csec == st->st_ctim.tv_sec &&
	       r->cnsec == st->st_ctim.tv_nsec;
}

static bool same_version(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Reads a regular file into the store; *st is updated to the stat of the
 * version read. */
static int read_file(struct ws *w, int dfd, const char *name, struct stat *st,
		     struct digest *ret, struct err *err)
{
	const char *path = w->path.data;
	for (int attempt = 0; attempt < READ_RETRIES; attempt++) {
		_cleanup_close_ int fd =
			openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return err_errno(err, "open '%s'", path);
		struct stat before, after;
		if (fstat(fd, &before) < 0)
			return err_errno(err, "stat '%s'", path);
		if (!S_ISREG(before.st_mode))
			return err_set(err, -EAGAIN, "'%s' changed type while being read", path);
		uint64_t size = 0;
		int r;
		if (before.st_size == 0) {
			if (!w->have_empty) {
				if ((r = store_put(w->s, "", 0, &w->empty, err)) < 0)
					return r;
				w->have_empty = true;
			}
			*ret = w->empty;
		} else if ((r = store_put_fd(w->s, fd, ret, &size, err)) < 0) {
			return err_prefix(err, "'%s'", path);
		}
		if (fstat(fd, &after) < 0)
			return err_errno(err, "stat '%s'", path);
		w->st.files_read++;
		w->st.bytes_read += size;
		if (same_version(&before, &after) && size == (uint64_t)after.st_size) {
			*st = after;
			return 0;
		}
	}
	return err_set(err, -EAGAIN, "'%s' changed while being read (%d attempts)", path,
		       READ_RETRIES);
}

static int ws_dir(struct ws *w, int dfd, int depth, struct digest *ret, bool *ret_hit,
		  struct err *err);

static void put_crec(struct buf *b, const struct stat *st, const char *name, size_t len,
		     const struct digest *d)
{
	struct crec r = {
		.dev = st->st_dev, .ino = st->st_ino, .size = (uint64_t)st->st_size,
		.msec = st->st_mtim.tv_sec, .mnsec = st->st_mtim.tv_nsec,
		.csec = st->st_ctim.tv_sec, .cnsec = st->st_ctim.tv_nsec,
		.mode = st->st_mode, .namelen = (uint32_t)len,
	};
	memcpy(r.digest, d->b, DIGEST_LEN);
	buf_append(b, &r, sizeof r);
	buf_append(b, name, len);
}

static int ws_dir(struct ws *w, int dfd, int depth, struct digest *ret, bool *ret_hit,
		  struct err *err)
{
	const struct cdir *cd = cache_dir(w->old, w->path.data ?: "", w->path.len);
	struct name *names = NULL;
	size_t n = 0;
	int r = list_dir(w, dfd, &names, &n, err);
	if (r < 0)
		return r;
	struct tree_dirent *ents = xcalloc(n + 1, sizeof *ents);
	size_t ne = 0;
	_cleanup_buf_ struct buf recs = BUF_INIT;
	bool all_hit = cd != NULL;
	const char *kp = cd ? cd->kids : NULL;
	uint32_t ki = 0;
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *name = names[i].name;
		size_t len = names[i].len, mark = w->path.len;
		if (w->path.len)
			buf_putc(&w->path, '/');
		buf_append(&w->path, name, len);
		/* advance the cached cursor to this name */
		struct crec cr;
		bool have_cr = false;
		while (cd && ki < cd->nkids) {
			memcpy(&cr, kp, sizeof cr);
			const char *cn = kp + sizeof cr;
			size_t m = cr.namelen < len ? cr.namelen : len;
			int c = memcmp(cn, name, m);
			if (!c)
				c = cr.namelen < len ? -1 : cr.namelen > len ? 1 : 0;
			if (c > 0)
				break;
			kp += sizeof cr + cr.namelen;
			ki++;
			if (c == 0) {
				have_cr = true;
				break;
			}
			all_hit = false; /* a cached name is gone */
		}
		struct stat st;
		struct tree_attr a = {.uid = 0, .gid = 0};
		bool hit = false, skip = false;
		if (len > TREE_NAME_MAX) {
			r = err_set(err, -ENAMETOOLONG, "'%s': name longer than %d bytes", w->path.data,
				    TREE_NAME_MAX);
		} else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			/* Gone since readdir (git gc, an editor's temp file): it is
			 * simply not in this snapshot. */
			if (errno == ENOENT)
				skip = true;
			else
				r = err_errno(err, "stat '%s'", w->path.data);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			w->st.entries++;
			bool r_racy = have_cr && stat_match(&cr, &st) && racy(w, w->old, &st);
			if (have_cr && stat_match(&cr, &st) && !r_racy) {
				memcpy(a.digest.b, cr.digest, DIGEST_LEN);
				hit = true;
			} else if (r_racy) {
				w->st.racy++;
			}
			if (S_ISREG(st.st_mode)) {
				a.type = TREE_FILE;
				if (!hit) {
					r = read_file(w, dfd, name, &st, &a.digest, err);
					if (r == -ENOENT) {
						skip = true; /* deleted before we opened it */
						r = 0;
					}
				}
				a.size = (uint64_t)st.st_size;
				a.perm = st.st_mode & 0777;
			} else {
				a.type = TREE_SYMLINK;
				a.perm = 0777;
				a.size = (uint64_t)st.st_size;
				if (!hit) {
					char target[SYMLINK_TARGET_MAX + 2];
					ssize_t tl = readlinkat(dfd, name, target, sizeof target);
					if (tl < 0 && errno == ENOENT)
						skip = true;
					else if (tl < 0)
						r = err_errno(err, "readlink '%s'", w->path.data);
					else if (tl == 0 || tl > SYMLINK_TARGET_MAX)
						r = err_set(err, -ENAMETOOLONG,
							    "symlink '%s': target length not in 1..%d",
							    w->path.data, SYMLINK_TARGET_MAX);
					else
						r = store_put(w->s, target, (size_t)tl, &a.digest, err);
					a.size = tl > 0 ? (uint64_t)tl : 0;
					w->st.files_read++;
				}
			}
		} else if (S_ISDIR(st.st_mode)) {
			w->st.entries++;
			_cleanup_close_ int sub =
				openat(dfd, name, O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW);
			bool sub_hit = false;
			if (sub < 0 && errno == ENOENT)
				skip = true;
			else if (sub < 0)
				r = err_errno(err, "open directory '%s'", w->path.data);
			else if (depth + 1 > TREE_DEPTH_MAX)
				r = err_set(err, -ELOOP, "'%.200s...': nested deeper than %d directories",
					    w->path.data, TREE_DEPTH_MAX);
			else if (!skip) {
				r = ws_dir(w, sub, depth + 1, &a.digest, &sub_hit, err);
				if (r == -ENOENT) {
					skip = true; /* removed while we read it */
					r = 0;
				}
			}
			a.type = TREE_DIR;
			a.perm = st.st_mode & 0777;
			hit = sub_hit && have_cr && cr.mode == st.st_mode &&
			      !memcmp(cr.digest, a.digest.b, DIGEST_LEN);
		} else {
			w->st.skipped++;
			skip = true;
		}
		if (r >= 0 && !skip) {
			if (!hit)
				all_hit = false;
			ents[ne].name = names[i].name;
			names[i].name = NULL;
			ents[ne].attr = a;
			ne++;
			put_crec(&recs, &st, name, len, &a.digest);
		}
		w->path.len = mark;
		w->path.data[mark] = '\0';
	}
	if (cd && ki < cd->nkids)
		all_hit = false;
	for (size_t i = 0; i < n; i++)
		free(names[i].name);
	free(names);
	if (r >= 0) {
		if (all_hit && cd->nkids == ne) {
			*ret = cd->digest;
			w->st.dirs_reused++;
		} else {
			_cleanup_buf_ struct buf obj = BUF_INIT;
			r = tree_encode(ents, ne, &obj, err);
			if (r >= 0)
				r = store_put(w->s, obj.data, obj.len, ret, err);
			if (r < 0)
				err_prefix(err, "directory '%s'", w->path.len ? w->path.data : ".");
			all_hit = false;
		}
	}
	tree_dirents_free(ents, ne);
	if (r < 0)
		return r;
	struct drec d = {.pathlen = (uint32_t)w->path.len, .nkids = (uint32_t)ne};
	memcpy(d.digest, ret->b, DIGEST_LEN);
	buf_append(&w->out, &d, sizeof d);
	buf_append(&w->out, w->path.data, w->path.len);
	buf_append(&w->out, recs.data ?: "", recs.len);
	w->out_ndirs++;
	*ret_hit = all_hit;
	return 0;
}

static void cache_name(const char *root, char *out)
{
	struct digest d;
	digest_buffer(root, strlen(root), &d);
	digest_to_hex(&d, out);
}

static struct cache *cache_load(struct store *s, const char *root, const char *name)
{
	_cleanup_close_ int dfd =
		openat(store_dirfd(s), CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return NULL;
	_cleanup_buf_ struct buf b = BUF_INIT;
	if (fs_read_file_at(dfd, name, CACHE_MAX, &b, NULL) < 0)
		return NULL;
	struct cache *c = cache_parse(&b, root);
	if (!c)
		return NULL;
	/* gc may have deleted the last snapshot: then nothing here is known
	 * to be in the store. */
	struct digest root_d;
	memcpy(root_d.b, c->hdr.root, DIGEST_LEN);
	if (!store_has(s, &root_d)) {
		cache_free(c);
		return NULL;
	}
	return c;
}

static int cache_save(struct ws *w, const char *root, const char *name, const struct digest *d,
		      struct err *err)
{
	if (mkdirat(store_dirfd(w->s), CACHE_DIR, 0700) < 0 && errno != EEXIST)
		return err_errno(err, "mkdir '%s/%s'", store_path(w->s), CACHE_DIR);
	_cleanup_close_ int dfd =
		openat(store_dirfd(w->s), CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return err_errno(err, "open '%s/%s'", store_path(w->s), CACHE_DIR);
	struct fhdr h = {.endian = CACHE_ENDIAN, .ndirs = w->out_ndirs,
			 .stamp_sec = w->stamp.tv_sec, .stamp_nsec = w->stamp.tv_nsec,
			 .pathlen = strlen(root)};
	memcpy(h.magic, CACHE_MAGIC, 8);
	memcpy(h.root, d->b, DIGEST_LEN);
	_cleanup_buf_ struct buf b = BUF_INIT;
	buf_append(&b, &h, sizeof h);
	buf_puts(&b, root);
	buf_append(&b, w->out.data ?: "", w->out.len);
	/* The cache names the tree: its objects go to disk first, as for a
	 * ref (a later run trusts the cache and records the tree). */
	int r = store_sync(w->s, err);
	if (r < 0)
		return r;
	return fs_write_file_atomic(dfd, name, b.data, b.len, 0600, err);
}

int snapshot_workspace_ex(struct store *s, const char *path, const struct workspace_opts *opts,
			  struct workspace_stats *ret_stats, struct digest *ret_tree,
			  struct err *err)
{
	bool use_cache = !(opts && opts->no_cache);
	_cleanup_free_ char *root = realpath(path, NULL);
	if (!root)
		return err_errno(err, "workspace '%s'", path);
	_cleanup_close_ int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_errno(err, "open workspace '%s'", root);
	char name[DIGEST_HEX_LEN + 1];
	cache_name(root, name);
	struct ws w = {.s = s, .out = BUF_INIT, .path = BUF_INIT};
	/* The stamp is taken before anything is read: an edit after it gets an
	 * mtime >= stamp (the kernel stamps files from the coarse clock). */
	clock_gettime(CLOCK_REALTIME_COARSE, &w.stamp);
	if (use_cache)
		w.old = cache_load(s, root, name);
	w.st.cache_loaded = w.old != NULL;
	w.dents = xmalloc(DENTS_BUF);
	buf_puts(&w.path, "");
	bool hit = false;
	int r = ws_dir(&w, dfd, 1, ret_tree, &hit, err);
	if (r >= 0 && use_cache && (!hit || w.st.racy)) {
		/* A failed cache write costs speed, not correctness. */
		struct err ignored = {0};
		w.st.cache_written = cache_save(&w, root, name, ret_tree, &ignored) >= 0;
	}
	if (ret_stats)
		*ret_stats = w.st;
	cache_free(w.old);
	free(w.dents);
	buf_release(&w.out);
	buf_release(&w.path);
	if (r < 0)
		return err_prefix(err, "snapshot '%s'", root);
	return 0;
}

int snapshot_workspace(struct store *s, const char *path, struct digest *ret_tree,
		       struct err *err)
{
	return snapshot_workspace_ex(s, path, NULL, NULL, ret_tree, err);
}
