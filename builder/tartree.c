/* tartree: a tar stream applied to a struct tree (see tartree.h).
 *
 * The archive may come from anyone (a .deb from a mirror, an OCI layer
 * from a registry), so each entry is checked before it changes the tree:
 * the path is normalised and ".." refused (the classic tar slip; tree.h
 * never follows symlinks, so a symlink planted by an earlier entry cannot
 * redirect a later one either), counts and sizes are bounded (a header may
 * claim 8 GiB with no data behind it), and nothing but files, directories
 * and symlinks reaches the tree. Contents are streamed into the store in
 * fixed-size chunks, so memory does not grow with file size.
 */
#include "builder/tartree.h"

#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/macros.h"
#include "lib/xalloc.h"

#define CHUNK (128u << 10)
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."

struct state {
	struct store *s;
	struct tree *root;
	const struct tartree_opts *opts;
	uint64_t max_entries, max_bytes;
	uint64_t entries, bytes;
	char *chunk;
	/* With whiteouts: every path this archive set, in order (for opaque
	 * directories, which hide only what came from lower layers). */
	char **layer;
	size_t n_layer, cap_layer;
};

/* Copies s into out[n] for an error message: control bytes, backslash and
 * DEL become \xNN, so a hostile name cannot forge terminal output. */
static const char *quote(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; *s && o + 5 < n; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (*s && o + 4 <= n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
#define Q(s) quote((s), (char[512]){0}, 512)

int tartree_normalize_path(const char *path, char *out, struct err *err)
{
	size_t o = 0;
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return err_set(err, -EINVAL, "refusing path '%s': it contains '..'", Q(path));
		if (n > TREE_NAME_MAX)
			return err_set(err, -EINVAL,
				       "refusing path '%s': a component is longer than %d bytes",
				       Q(path), TREE_NAME_MAX);
		if (o + (o ? 1 : 0) + n > TREE_PATH_MAX)
			return err_set(err, -EINVAL, "refusing path '%s': longer than %d bytes",
				       Q(path), TREE_PATH_MAX);
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p = end;
	}
	out[o] = '\0';
	return 0;
}

static void note(struct state *st, const char *path, const char *what)
{
	if (st->opts && st->opts->note)
		st->opts->note(path, what, st->opts->userdata);
}

static void layer_add(struct state *st, const char *path)
{
	if (!st->opts || !st->opts->whiteouts)
		return;
	xgrow(&st->layer, &st->cap_layer, st->n_layer + 1, sizeof *st->layer);
	st->layer[st->n_layer++] = xstrdup(path);
}

/* Splits path into its directory (written to dir[TREE_PATH_MAX + 1], ""
 * for the root) and returns the last component (inside path). */
static const char *split(const char *path, char *dir)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		dir[0] = '\0';
		return path;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return slash + 1;
}

/* Makes sure dir exists as a directory (an opaque marker may come before
 * its directory's own entry, or without one). */
static int ensure_dir(struct state *st, const char *dir, struct err *err)
{
	if (!*dir)
		return 0;
	struct tree_attr a;
	struct err e2 = {0};
	int r = tree_get(st->root, st->s, dir, &a, &e2);
	if (r == 0 && a.type == TREE_DIR)
		return 0;
	if (r < 0 && r != -ENOENT) {
		*err = e2;
		return r;
	}
	if (r == 0)
		return err_set(err, -ENOTDIR, "opaque whiteout in '%s', which is not a directory",
			       Q(dir));
	struct tree_attr d = {.type = TREE_DIR, .perm = 0755};
	return tree_set(st->root, st->s, dir, &d, err);
}

/* ".wh..wh..opq" in dir: drop dir's children from lower layers, keep the
 * ones this archive already put there (they are saved, the directory
 * cleared, and they are set again in their original order). */
static int apply_opaque(struct state *st, const char *dir, struct err *err)
{
	int r = ensure_dir(st, dir, err);
	if (r < 0)
		return r;
	size_t dlen = strlen(dir);
	struct keep {
		const char *path;
		struct tree_attr attr;
	};
	_cleanup_free_ struct keep *keep = NULL;
	size_t n_keep = 0, cap_keep = 0;
	for (size_t i = 0; i < st->n_layer; i++) {
		const char *p = st->layer[i];
		if (dlen && (strncmp(p, dir, dlen) != 0 || p[dlen] != '/'))
			continue;
		if (!*p)
			continue;
		struct tree_attr a;
		struct err e2 = {0};
		r = tree_get(st->root, st->s, p, &a, &e2);
		if (r == -ENOENT || r == -ENOTDIR)
			continue; /* whited out or replaced since */
		if (r < 0) {
			*err = e2;
			return r;
		}
		xgrow(&keep, &cap_keep, n_keep + 1, sizeof *keep);
		keep[n_keep++] = (struct keep){p, a};
	}
	r = tree_clear_dir(st->root, st->s, dir, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_keep; i++) {
		r = tree_set(st->root, st->s, keep[i].path, &keep[i].attr, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Returns 1 if the entry was a whiteout marker (handled), 0 if not. */
static int apply_whiteout(struct state *st, const char *path, struct err *err)
{
	char dir[TREE_PATH_MAX + 1];
	const char *base = split(path, dir);
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0)
		return 0;
	if (!strcmp(base, WH_OPAQUE)) {
		int r = apply_opaque(st, dir, err);
		return r < 0 ? r : 1;
	}
	if (!strncmp(base, WH_META, strlen(WH_META))) {
		/* aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): no meaning in
		 * an OCI layer. */
		note(st, path, "aufs metadata entry skipped");
		return 1;
	}
	const char *name = base + strlen(WH_PREFIX);
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return err_set(err, -EINVAL, "invalid whiteout '%s'", Q(path));
	char target[TREE_PATH_MAX + 1];
	if (*dir)
		snprintf(target, sizeof target, "%s/%s", dir, name);
	else
		snprintf(target, sizeof target, "%s", name);
	struct err e2 = {0};
	int r = tree_remove(st->root, st->s, target, &e2);
	if (r == -ENOENT || r == -ENOTDIR)
		return 1; /* nothing to hide: fine */
	if (r < 0) {
		*err = e2;
		return r;
	}
	return 1;
}

static int apply_file(struct state *st, struct archive *a, struct archive_entry *e,
		      const char *path, struct tree_attr *attr, struct err *err)
{
	uint64_t left = st->max_bytes - st->bytes;
	if (archive_entry_size_is_set(e)) {
		int64_t claimed = archive_entry_size(e);
		if (claimed < 0)
			return err_set(err, -EINVAL, "entry '%s' has a negative size", Q(path));
		if ((uint64_t)claimed > left)
			return err_set(err, -EFBIG,
				       "entry '%s' claims %" PRId64 " bytes, over the limit of %" PRIu64
				       " bytes of file contents per archive",
				       Q(path), claimed, st->max_bytes);
	}
	struct store_writer *w = NULL;
	int r = store_writer_new(st->s, &w, err);
	if (r < 0)
		return r;
	for (;;) {
		la_ssize_t n = archive_read_data(a, st->chunk, CHUNK);
		if (n < 0) {
			store_writer_free(w);
			return err_set(err, -EIO, "read '%s': %s", Q(path),
				       archive_error_string(a) ?: "archive error");
		}
		if (n == 0)
			break;
		if ((uint64_t)n > st->max_bytes - st->bytes) {
			store_writer_free(w);
			return err_set(err, -EFBIG,
				       "entry '%s': over the limit of %" PRIu64
				       " bytes of file contents per archive",
				       Q(path), st->max_bytes);
		}
		st->bytes += (uint64_t)n;
		r = store_writer_write(w, st->chunk, (size_t)n, err);
		if (r < 0) {
			store_writer_free(w);
			return r;
		}
	}
	return store_writer_commit(w, &attr->digest, &attr->size, err);
}

static int apply_hardlink(struct state *st, const char *path, const char *link,
			  struct err *err)
{
	char target[TREE_PATH_MAX + 1];
	int r = tartree_normalize_path(link, target, err);
	if (r < 0)
		return err_prefix(err, "hard link '%s'", Q(path));
	struct tree_attr a;
	struct err e2 = {0};
	r = tree_get(st->root, st->s, target, &a, &e2);
	if (r == -ENOENT || r == -ENOTDIR)
		return err_set(err, -EINVAL,
			       "hard link '%s' points to '%s', which is not earlier in the archive",
			       Q(path), Q(target));
	if (r < 0) {
		*err = e2;
		return r;
	}
	if (a.type == TREE_DIR || !*target)
		return err_set(err, -EINVAL, "hard link '%s' points to directory '%s'", Q(path),
			       Q(target));
	return tree_set(st->root, st->s, path, &a, err);
}

static int apply_entry(struct state *st, struct archive *a, struct archive_entry *e,
		       struct err *err)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		return err_set(err, -EINVAL, "entry %" PRIu64 " has no path", st->entries);
	char path[TREE_PATH_MAX + 1];
	int r = tartree_normalize_path(raw, path, err);
	if (r < 0)
		return r;

	if (st->opts && st->opts->whiteouts && *path) {
		r = apply_whiteout(st, path, err);
		if (r != 0)
			return r < 0 ? r : 0;
	}

	int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	if (uid < 0 || uid > (int64_t)UINT32_MAX - 1 || gid < 0 || gid > (int64_t)UINT32_MAX - 1)
		return err_set(err, -EINVAL, "entry '%s' has an invalid uid/gid", Q(path));
	mode_t mode = archive_entry_mode(e);
	struct tree_attr attr = {.perm = mode & 0777, .uid = (uint32_t)uid, .gid = (uint32_t)gid};

	const char *link = archive_entry_hardlink(e);
	if (link) {
		if (!*path)
			return err_set(err, -EINVAL, "hard link entry for the root directory");
		r = apply_hardlink(st, path, link, err);
		if (r < 0)
			return r;
		layer_add(st, path);
		return 0;
	}

	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		attr.type = TREE_DIR;
		break;
	case AE_IFREG:
		attr.type = TREE_FILE;
		break;
	case AE_IFLNK:
		attr.type = TREE_SYMLINK;
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		note(st, path, "device node skipped");
		return 0;
	case AE_IFIFO:
		note(st, path, "fifo skipped");
		return 0;
	case AE_IFSOCK:
		note(st, path, "socket skipped");
		return 0;
	default:
		return err_set(err, -EINVAL, "entry '%s' has an unknown file type 0%o", Q(path),
			       (unsigned)archive_entry_filetype(e));
	}
	if (!*path && attr.type != TREE_DIR)
		return err_set(err, -EINVAL, "entry '%s' for the root is not a directory", Q(raw));

	if (attr.type != TREE_SYMLINK && (mode & 07000)) {
		if (mode & S_ISUID)
			note(st, path, "setuid bit dropped");
		if (mode & S_ISGID)
			note(st, path, "setgid bit dropped");
		if (mode & S_ISVTX)
			note(st, path, "sticky bit dropped");
	}

	switch (attr.type) {
	case TREE_DIR:
		if (!*path) {
			tree_set_root_attr(st->root, attr.perm, attr.uid, attr.gid);
			return 0;
		}
		break;
	case TREE_FILE:
		r = apply_file(st, a, e, path, &attr, err);
		if (r < 0)
			return r;
		break;
	case TREE_SYMLINK: {
		const char *target = archive_entry_symlink(e);
		if (!target || !*target)
			return err_set(err, -EINVAL, "symlink '%s' has an empty target", Q(path));
		size_t n = strlen(target);
		if (n > TREE_PATH_MAX)
			return err_set(err, -EINVAL, "symlink '%s': target longer than %d bytes",
				       Q(path), TREE_PATH_MAX);
		r = store_put(st->s, target, n, &attr.digest, err);
		if (r < 0)
			return r;
		attr.size = n;
		attr.perm = 0777;
		break;
	}
	}
	r = tree_set(st->root, st->s, path, &attr, err);
	if (r < 0)
		return r;
	layer_add(st, path);
	return 0;
}

int tartree_apply(struct store *s, struct archive *a, struct tree *root,
		  const struct tartree_opts *opts, struct err *err)
{
	struct state st = {
		.s = s,
		.root = root,
		.opts = opts,
		.max_entries = opts && opts->max_entries ? opts->max_entries
							 : TARTREE_DEFAULT_MAX_ENTRIES,
		.max_bytes = opts && opts->max_bytes ? opts->max_bytes : TARTREE_DEFAULT_MAX_BYTES,
		.chunk = xmalloc(CHUNK),
	};
	int r = 0;
	for (;;) {
		struct archive_entry *e = NULL;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = err_set(err, -EIO, "read archive: %s",
				    archive_error_string(a) ?: "unknown error");
			break;
		}
		if (++st.entries > st.max_entries) {
			r = err_set(err, -EFBIG, "archive has more than %" PRIu64 " entries",
				    st.max_entries);
			break;
		}
		r = apply_entry(&st, a, e, err);
		if (r < 0)
			break;
	}
	for (size_t i = 0; i < st.n_layer; i++)
		free(st.layer[i]);
	free(st.layer);
	free(st.chunk);
	return r;
}
