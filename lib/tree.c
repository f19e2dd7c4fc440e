/* tree: canonical directory objects, the mutable in-memory tree, host
 * directory import, and materialisation (shared checkouts, private
 * extracts). Format in lib/tree.h and docs/FORMAT.md.
 *
 * Decoding is strict because tree objects arrive from untrusted places
 * (bundles, OCI layers turned into trees, a store someone else wrote): a
 * decoder that accepted two spellings of one tree would let two digests name
 * the same content, and one that accepted "..", "/" or duplicate names would
 * let a tree escape its checkout or hide an entry behind another.
 *
 * Host walks (import) and materialisation only use *at() calls relative to
 * a directory fd opened with O_NOFOLLOW, so a symlink planted in the source
 * or target is never followed. Depth is bounded by TREE_DEPTH_MAX everywhere
 * so hostile nesting costs an error, not a stack overflow.
 */
#include "lib/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

/* Largest directory object read back (about 500,000 entries): bounds the
 * memory a hostile object can make a reader allocate. */
#define TREE_OBJECT_MAX (64u << 20)
#define SYMLINK_MAX 4095 /* PATH_MAX - 1: what symlinkat(2) accepts */

/* ---- names and attributes ---- */

static bool name_valid(const char *name, size_t len)
{
	if (len == 0 || len > TREE_NAME_MAX)
		return false;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	return true;
}

/* The attributes canonical form allows; what encode and tree_set accept. */
static const char *attr_problem(const struct tree_attr *a)
{
	if (a->perm > 0777)
		return "permission bits beyond 0777";
	switch (a->type) {
	case TREE_FILE:
		return NULL;
	case TREE_DIR:
		return a->size ? "directory with a non-zero size" : NULL;
	case TREE_SYMLINK:
		if (a->perm != 0777)
			return "symlink whose permissions are not 0777";
		if (a->size == 0 || a->size > SYMLINK_MAX)
			return "symlink target length not in 1..4095";
		return NULL;
	}
	return "unknown entry type";
}

/* ---- encoding ---- */

static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

static void encode_entry(struct buf *out, const char *name, size_t name_len,
			 const struct tree_attr *a)
{
	/* type, perm, three numbers, digest: well under 160 bytes */
	char line[160];
	char *p = line;
	*p++ = (char)a->type;
	*p++ = ' ';
	*p++ = (char)('0' + ((a->perm >> 9) & 7));
	*p++ = (char)('0' + ((a->perm >> 6) & 7));
	*p++ = (char)('0' + ((a->perm >> 3) & 7));
	*p++ = (char)('0' + (a->perm & 7));
	*p++ = ' ';
	p = put_u64(p, a->uid);
	*p++ = ' ';
	p = put_u64(p, a->gid);
	*p++ = ' ';
	p = put_u64(p, a->type == TREE_DIR ? 0 : a->size);
	*p++ = ' ';
	digest_to_str(&a->digest, p);
	p += DIGEST_STR_SIZE - 1;
	*p++ = ' ';
	buf_append(out, line, (size_t)(p - line));
	buf_append(out, name, name_len);
	buf_append(out, "", 1);
}

int tree_encode(const struct tree_dirent *entries, size_t count, struct buf *out,
		struct err *err)
{
	size_t start = out->len;
	buf_puts(out, TREE_MAGIC);
	for (size_t i = 0; i < count; i++) {
		const char *name = entries[i].name;
		size_t len = strlen(name);
		const char *why = attr_problem(&entries[i].attr);
		if (!why && !name_valid(name, len))
			why = "invalid name";
		if (!why && i > 0 && strcmp(entries[i - 1].name, name) >= 0)
			why = "names not sorted or duplicated";
		if (why) {
			out->len = start;
			if (out->data)
				out->data[start] = '\0';
			return err_set(err, -EINVAL, "tree entry %zu: %s", i, why);
		}
		encode_entry(out, name, len, &entries[i].attr);
	}
	return 0;
}

/* ---- decoding ---- */

void tree_dirents_free(struct tree_dirent *entries, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
}

struct dec {
	const unsigned char *p;
	size_t len, pos;
};

static int dec_number(struct dec *d, uint64_t max, uint64_t *ret)
{
	size_t start = d->pos;
	uint64_t v = 0;
	while (d->pos < d->len && d->p[d->pos] >= '0' && d->p[d->pos] <= '9') {
		unsigned digit = d->p[d->pos] - '0';
		if (v > (max - digit) / 10)
			return -ERANGE;
		v = v * 10 + digit;
		d->pos++;
	}
	size_t n = d->pos - start;
	if (n == 0 || (n > 1 && d->p[start] == '0'))
		return -EINVAL; /* empty or a leading zero: not canonical */
	*ret = v;
	return 0;
}

static bool dec_space(struct dec *d)
{
	if (d->pos < d->len && d->p[d->pos] == ' ') {
		d->pos++;
		return true;
	}
	return false;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses one entry at d->pos into e; returns NULL or what is wrong. */
static const char *dec_entry(struct dec *d, struct tree_dirent *e, const char *prev)
{
	uint64_t v;
	if (d->pos >= d->len)
		return "truncated entry";
	unsigned char t = d->p[d->pos++];
	if (t != TREE_FILE && t != TREE_DIR && t != TREE_SYMLINK)
		return "unknown entry type";
	e->attr.type = (enum tree_type)t;
	if (!dec_space(d))
		return "expected a space after the type";
	if (d->len - d->pos < 4)
		return "truncated permissions";
	uint32_t perm = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = d->p[d->pos++];
		if (c < '0' || c > '7')
			return "permissions are not 4 octal digits";
		perm = perm << 3 | (uint32_t)(c - '0');
	}
	if (perm > 0777)
		return "permission bits beyond 0777 (setuid, setgid or sticky)";
	e->attr.perm = perm;
	if (!dec_space(d))
		return "expected a space after the permissions";
	if (dec_number(d, UINT32_MAX, &v) < 0)
		return "bad uid";
	e->attr.uid = (uint32_t)v;
	if (!dec_space(d))
		return "expected a space after the uid";
	if (dec_number(d, UINT32_MAX, &v) < 0)
		return "bad gid";
	e->attr.gid = (uint32_t)v;
	if (!dec_space(d))
		return "expected a space after the gid";
	if (dec_number(d, UINT64_MAX, &e->attr.size) < 0)
		return "bad size";
	if (!dec_space(d))
		return "expected a space after the size";
	if (d->len - d->pos < 7 + DIGEST_HEX_LEN || memcmp(d->p + d->pos, "sha256:", 7))
		return "expected sha256:<hex>";
	d->pos += 7;
	for (size_t i = 0; i < DIGEST_LEN; i++) {
		int hi = hexval(d->p[d->pos]), lo = hexval(d->p[d->pos + 1]);
		if (hi < 0 || lo < 0)
			return "digest is not 64 lowercase hex digits";
		e->attr.digest.b[i] = (uint8_t)(hi << 4 | lo);
		d->pos += 2;
	}
	if (!dec_space(d))
		return "expected a space after the digest";
	const unsigned char *name = d->p + d->pos;
	const unsigned char *nul = memchr(name, '\0', d->len - d->pos);
	if (!nul)
		return "name not terminated by NUL";
	size_t nlen = (size_t)(nul - name);
	if (!name_valid((const char *)name, nlen))
		return nlen > TREE_NAME_MAX ? "name longer than 255 bytes"
					    : "invalid name (empty, '.', '..' or containing '/')";
	if (prev && strcmp(prev, (const char *)name) >= 0)
		return "names not in strictly increasing byte order";
	const char *why = attr_problem(&e->attr);
	if (why)
		return why;
	e->name = xstrndup((const char *)name, nlen);
	d->pos += nlen + 1;
	return NULL;
}

int tree_decode(const void *data, size_t len, struct tree_dirent **ret_entries, size_t *ret_count,
		struct err *err)
{
	const size_t mlen = sizeof TREE_MAGIC - 1;
	if (len < mlen || memcmp(data, TREE_MAGIC, mlen))
		return err_set(err, -EBADMSG, "tree object: byte 0: missing header '%s'",
			       "airlock-tree 1");
	struct dec d = {data, len, mlen};
	struct tree_dirent *v = NULL;
	size_t n = 0, cap = 0;
	while (d.pos < d.len) {
		size_t at = d.pos;
		xgrow(&v, &cap, n + 1, sizeof *v);
		memset(&v[n], 0, sizeof v[n]);
		const char *why = dec_entry(&d, &v[n], n ? v[n - 1].name : NULL);
		if (why) {
			tree_dirents_free(v, n);
			return err_set(err, -EBADMSG, "tree object: entry %zu at byte %zu: %s", n, at,
				       why);
		}
		n++;
	}
	*ret_entries = v;
	*ret_count = n;
	return 0;
}

/* ---- the in-memory tree ---- */

/* One node: the root, or an entry of a loaded directory. */
struct tree {
	char *name; /* owned; "" for the root */
	struct tree_attr attr;
	/* Directories: children sorted by name. Valid once loaded; until then
	 * attr.digest names the object to read them from. */
	struct tree **kids;
	size_t nkids, cap;
	bool loaded;
	bool dirty; /* attr.digest is stale; tree_write re-encodes */
};

static struct tree *node_new(const char *name, size_t len, const struct tree_attr *a)
{
	struct tree *t = xcalloc(1, sizeof *t);
	t->name = xstrndup(name, len);
	t->attr = *a;
	if (a->type == TREE_DIR) {
		t->attr.size = 0;
		t->loaded = false;
	}
	return t;
}

static void node_clear_kids(struct tree *t)
{
	for (size_t i = 0; i < t->nkids; i++)
		tree_free(t->kids[i]);
	free(t->kids);
	t->kids = NULL;
	t->nkids = t->cap = 0;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	node_clear_kids(t);
	free(t->name);
	free(t);
}

struct tree *tree_new(void)
{
	struct tree_attr a = {.type = TREE_DIR, .perm = 0755};
	struct tree *t = node_new("", 0, &a);
	t->loaded = true;
	t->dirty = true;
	return t;
}

/* Reads a directory object and decodes it; name is for messages. */
static int read_dir_object(struct store *s, const struct digest *d, const char *name,
			   struct tree_dirent **ret, size_t *ret_n, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = store_get(s, d, TREE_OBJECT_MAX, &b, err);
	if (r >= 0)
		r = tree_decode(b.data ?: "", b.len, ret, ret_n, err);
	if (r < 0) {
		char ds[DIGEST_STR_SIZE];
		digest_to_str(d, ds);
		if (*name)
			err_prefix(err, "directory '%s' (%s)", name, ds);
		else
			err_prefix(err, "tree %s", ds);
	}
	return r;
}

static int node_load(struct tree *t, struct store *s, struct err *err)
{
	if (t->loaded)
		return 0;
	struct tree_dirent *e = NULL;
	size_t n = 0;
	int r = read_dir_object(s, &t->attr.digest, t->name, &e, &n, err);
	if (r < 0)
		return r;
	t->kids = xcalloc(n, sizeof *t->kids);
	t->nkids = t->cap = n;
	for (size_t i = 0; i < n; i++) {
		struct tree *k = xcalloc(1, sizeof *k);
		k->name = TAKE_PTR(e[i].name);
		k->attr = e[i].attr;
		t->kids[i] = k;
	}
	tree_dirents_free(e, n);
	t->loaded = true;
	return 0;
}

int tree_load(struct store *s, const struct digest *d, struct tree **ret, struct err *err)
{
	_cleanup_(tree_freep) struct tree *t = tree_new();
	t->loaded = false;
	t->dirty = false;
	t->attr.digest = *d;
	int r = node_load(t, s, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(t);
	return 0;
}

void tree_set_root_attr(struct tree *root, uint32_t perm, uint32_t uid, uint32_t gid)
{
	root->attr.perm = perm & 0777;
	root->attr.uid = uid;
	root->attr.gid = gid;
}

/* Binary search; returns true and the index if found, else the insertion
 * index. */
static bool kid_find(const struct tree *t, const char *name, size_t *ret_idx)
{
	size_t lo = 0, hi = t->nkids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->kids[mid]->name, name);
		if (c == 0) {
			*ret_idx = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_idx = lo;
	return false;
}

static void kid_insert(struct tree *t, size_t idx, struct tree *k)
{
	xgrow(&t->kids, &t->cap, t->nkids + 1, sizeof *t->kids);
	memmove(t->kids + idx + 1, t->kids + idx, (t->nkids - idx) * sizeof *t->kids);
	t->kids[idx] = k;
	t->nkids++;
}

/* A validated path: components separated by NULs in buf. */
struct tpath {
	char *buf; /* owned */
	char **comp;
	size_t n;
};

static void tpath_release(struct tpath *p)
{
	free(p->buf);
	free(p->comp);
}

static int tpath_parse(const char *path, struct tpath *ret, struct err *err)
{
	const char *orig = path;
	memset(ret, 0, sizeof *ret);
	if (strlen(path) > TREE_PATH_MAX)
		return err_set(err, -EINVAL, "path '%.64s...' is longer than %d bytes", orig,
			       TREE_PATH_MAX);
	while (*path == '/')
		path++;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	ret->buf = xstrdup(path);
	size_t len = strlen(ret->buf);
	if (len && ret->buf[len - 1] == '/')
		ret->buf[--len] = '\0'; /* "dir/" as tar spells directories */
	if (len == 0)
		return 0;
	size_t cap = 0;
	char *c = ret->buf;
	for (;;) {
		char *slash = strchr(c, '/');
		size_t clen = slash ? (size_t)(slash - c) : strlen(c);
		if (!name_valid(c, clen)) {
			tpath_release(ret);
			memset(ret, 0, sizeof *ret);
			return err_set(err, -EINVAL,
				       "invalid path '%s' (empty, '.' or '..' component, or a component "
				       "longer than %d bytes)",
				       orig, TREE_NAME_MAX);
		}
		if (ret->n + 1 >= TREE_DEPTH_MAX) {
			tpath_release(ret);
			memset(ret, 0, sizeof *ret);
			return err_set(err, -EINVAL, "path '%.64s...' is deeper than %d levels", orig,
				       TREE_DEPTH_MAX);
		}
		xgrow(&ret->comp, &cap, ret->n + 1, sizeof *ret->comp);
		ret->comp[ret->n++] = c;
		if (!slash)
			break;
		*slash = '\0';
		c = slash + 1;
	}
	return 0;
}

/* Descends to the directory holding the last component of p. With create,
 * missing parents are made (0755, 0:0). visited (capacity p->n) receives
 * every directory passed through, root first; *ret_nvisited their count. */
static int descend(struct tree *root, struct store *s, const struct tpath *p, const char *path,
		   bool create, struct tree **visited, size_t *ret_nvisited, struct err *err)
{
	struct tree *cur = root;
	size_t nv = 0;
	for (size_t i = 0; i + 1 < p->n; i++) {
		int r = node_load(cur, s, err);
		if (r < 0)
			return r;
		visited[nv++] = cur;
		size_t idx;
		if (kid_find(cur, p->comp[i], &idx)) {
			struct tree *k = cur->kids[idx];
			if (k->attr.type != TREE_DIR)
				return err_set(err, -ENOTDIR, "'%s': '%s' is a %s, not a directory",
					       path, p->comp[i],
					       k->attr.type == TREE_SYMLINK ? "symlink" : "file");
			cur = k;
			continue;
		}
		if (!create)
			return err_set(err, -ENOENT, "'%s': no directory '%s'", path, p->comp[i]);
		struct tree_attr a = {.type = TREE_DIR, .perm = 0755};
		struct tree *k = node_new(p->comp[i], strlen(p->comp[i]), &a);
		k->loaded = true;
		k->dirty = true;
		kid_insert(cur, idx, k);
		cur = k;
	}
	int r = node_load(cur, s, err);
	if (r < 0)
		return r;
	visited[nv++] = cur;
	*ret_nvisited = nv;
	return 0;
}

static void mark_dirty(struct tree **visited, size_t n)
{
	for (size_t i = 0; i < n; i++)
		visited[i]->dirty = true;
}

int tree_set(struct tree *root, struct store *s, const char *path, const struct tree_attr *attr,
	     struct err *err)
{
	struct tree_attr a = *attr;
	a.perm &= 0777;
	if (a.type == TREE_DIR)
		a.size = 0;
	const char *why = attr_problem(&a);
	if (why)
		return err_set(err, -EINVAL, "'%s': %s", path, why);
	_cleanup_(tpath_release) struct tpath p = {0};
	int r = tpath_parse(path, &p, err);
	if (r < 0)
		return r;
	if (p.n == 0) {
		if (a.type != TREE_DIR)
			return err_set(err, -EINVAL, "'%s': the root can only be a directory", path);
		tree_set_root_attr(root, a.perm, a.uid, a.gid);
		return 0;
	}
	_cleanup_free_ struct tree **visited = xcalloc(p.n, sizeof *visited);
	size_t nv = 0;
	r = descend(root, s, &p, path, true, visited, &nv, err);
	if (r < 0)
		return r;
	struct tree *dir = visited[nv - 1];
	const char *name = p.comp[p.n - 1];
	size_t idx;
	if (kid_find(dir, name, &idx)) {
		struct tree *k = dir->kids[idx];
		if (k->attr.type == TREE_DIR && a.type == TREE_DIR) {
			/* Attributes only: the children stay (as tar does). */
			if (k->attr.perm == a.perm && k->attr.uid == a.uid && k->attr.gid == a.gid)
				return 0;
			k->attr.perm = a.perm;
			k->attr.uid = a.uid;
			k->attr.gid = a.gid;
			mark_dirty(visited, nv);
			return 0;
		}
		node_clear_kids(k);
		k->attr = a;
		k->loaded = a.type == TREE_DIR;
		k->dirty = a.type == TREE_DIR;
	} else {
		struct tree *k = node_new(name, strlen(name), &a);
		k->loaded = a.type == TREE_DIR;
		k->dirty = a.type == TREE_DIR;
		kid_insert(dir, idx, k);
	}
	mark_dirty(visited, nv);
	return 0;
}

int tree_remove(struct tree *root, struct store *s, const char *path, struct err *err)
{
	_cleanup_(tpath_release) struct tpath p = {0};
	int r = tpath_parse(path, &p, err);
	if (r < 0)
		return r;
	if (p.n == 0)
		return err_set(err, -EINVAL, "cannot remove the root (use tree_clear_dir)");
	_cleanup_free_ struct tree **visited = xcalloc(p.n, sizeof *visited);
	size_t nv = 0;
	r = descend(root, s, &p, path, false, visited, &nv, err);
	if (r < 0)
		return r;
	struct tree *dir = visited[nv - 1];
	size_t idx;
	if (!kid_find(dir, p.comp[p.n - 1], &idx))
		return err_set(err, -ENOENT, "'%s' does not exist", path);
	tree_free(dir->kids[idx]);
	memmove(dir->kids + idx, dir->kids + idx + 1, (dir->nkids - idx - 1) * sizeof *dir->kids);
	dir->nkids--;
	mark_dirty(visited, nv);
	return 0;
}

/* Finds the node at path (loading parents); *visited as for descend. */
static int lookup(struct tree *root, struct store *s, const char *path, struct tree ***ret_visited,
		  size_t *ret_nv, struct tree **ret, struct err *err)
{
	_cleanup_(tpath_release) struct tpath p = {0};
	int r = tpath_parse(path, &p, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct tree **visited = xcalloc(p.n + 1, sizeof *visited);
	size_t nv = 0;
	if (p.n == 0) {
		visited[nv++] = root;
		*ret = root;
	} else {
		r = descend(root, s, &p, path, false, visited, &nv, err);
		if (r < 0)
			return r;
		struct tree *dir = visited[nv - 1];
		size_t idx;
		if (!kid_find(dir, p.comp[p.n - 1], &idx))
			return err_set(err, -ENOENT, "'%s' does not exist", path);
		*ret = dir->kids[idx];
		visited[nv++] = *ret;
	}
	if (ret_visited) {
		*ret_visited = TAKE_PTR(visited);
		*ret_nv = nv;
	}
	return 0;
}

int tree_clear_dir(struct tree *root, struct store *s, const char *path, struct err *err)
{
	_cleanup_free_ struct tree **visited = NULL;
	size_t nv = 0;
	struct tree *t;
	int r = lookup(root, s, path, &visited, &nv, &t, err);
	if (r < 0)
		return r;
	if (t->attr.type != TREE_DIR)
		return err_set(err, -ENOTDIR, "'%s' is not a directory", path);
	if (t->loaded && t->nkids == 0)
		return 0;
	node_clear_kids(t);
	t->loaded = true;
	mark_dirty(visited, nv);
	return 0;
}

int tree_get(struct tree *root, struct store *s, const char *path, struct tree_attr *ret,
	     struct err *err)
{
	struct tree *t;
	int r = lookup(root, s, path, NULL, NULL, &t, err);
	if (r < 0)
		return r;
	*ret = t->attr;
	return 0;
}

static int dir_put(struct store *s, const struct buf *b, const char *name, struct digest *ret,
		   struct err *err)
{
	if (b->len > TREE_OBJECT_MAX)
		return err_set(err, -EFBIG, "directory '%s' has too many entries (%zu bytes > %u)",
			       name, b->len, TREE_OBJECT_MAX);
	return store_put(s, b->data, b->len, ret, err);
}

static int node_write(struct tree *t, struct store *s, struct buf *scratch, struct err *err)
{
	if (!t->dirty)
		return 0;
	for (size_t i = 0; i < t->nkids; i++) {
		struct tree *k = t->kids[i];
		if (k->attr.type == TREE_DIR) {
			int r = node_write(k, s, scratch, err);
			if (r < 0)
				return r;
		}
	}
	buf_reset(scratch);
	buf_puts(scratch, TREE_MAGIC);
	for (size_t i = 0; i < t->nkids; i++)
		encode_entry(scratch, t->kids[i]->name, strlen(t->kids[i]->name), &t->kids[i]->attr);
	int r = dir_put(s, scratch, t->name, &t->attr.digest, err);
	if (r < 0)
		return r;
	t->dirty = false;
	return 0;
}

int tree_write(struct tree *root, struct store *s, struct digest *ret, struct err *err)
{
	_cleanup_buf_ struct buf scratch = BUF_INIT;
	int r = node_write(root, s, &scratch, err);
	if (r < 0)
		return r;
	*ret = root->attr.digest;
	return 0;
}

/* ---- walking stored trees ---- */

static void path_push(struct buf *path, const char *name, size_t *ret_mark)
{
	*ret_mark = path->len;
	if (path->len)
		buf_putc(path, '/');
	buf_puts(path, name);
}

static void path_pop(struct buf *path, size_t mark)
{
	path->len = mark;
	if (path->data)
		path->data[mark] = '\0';
}

static int depth_error(struct err *err, const char *path)
{
	return err_set(err, -ELOOP, "'%.200s...': nested deeper than %d directories", path,
		       TREE_DEPTH_MAX);
}

static int walk_dir(struct store *s, const struct digest *d, struct buf *path, int depth,
		    tree_walk_fn fn, void *userdata, struct err *err)
{
	if (depth > TREE_DEPTH_MAX)
		return depth_error(err, path->data);
	struct tree_dirent *e = NULL;
	size_t n = 0;
	int r = read_dir_object(s, d, path->data ?: "", &e, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark;
		path_push(path, e[i].name, &mark);
		r = fn(path->data, &e[i].attr, userdata, err);
		if (r == 0 && e[i].attr.type == TREE_DIR)
			r = walk_dir(s, &e[i].attr.digest, path, depth + 1, fn, userdata, err);
		else if (r > 0)
			r = 0;
		path_pop(path, mark);
	}
	tree_dirents_free(e, n);
	return r < 0 ? r : 0;
}

int tree_walk(struct store *s, const struct digest *tree, tree_walk_fn fn, void *userdata,
	      struct err *err)
{
	struct tree_attr root = {.type = TREE_DIR, .perm = 0755, .digest = *tree};
	int r = fn("", &root, userdata, err);
	if (r != 0)
		return r < 0 ? r : 0;
	_cleanup_buf_ struct buf path = BUF_INIT;
	buf_puts(&path, "");
	return walk_dir(s, tree, &path, 1, fn, userdata, err);
}

struct usage {
	uint64_t bytes, entries;
};

static int usage_fn(const char *path, const struct tree_attr *a, void *ud, struct err *err)
{
	(void)err;
	struct usage *u = ud;
	if (!*path)
		return 0;
	u->entries++;
	if (a->type == TREE_FILE)
		u->bytes += a->size;
	return 0;
}

int tree_usage(struct store *s, const struct digest *tree, uint64_t *ret_bytes,
	       uint64_t *ret_entries, struct err *err)
{
	struct usage u = {0, 0};
	int r = tree_walk(s, tree, usage_fn, &u, err);
	if (r < 0)
		return r;
	if (ret_bytes)
		*ret_bytes = u.bytes;
	if (ret_entries)
		*ret_entries = u.entries;
	return 0;
}

/* ---- import from a host directory ---- */

struct import {
	struct store *s;
	const struct tree_import_opts *opts;
	struct buf path; /* relative path of the current entry, for notes/errors */
	struct digest empty; /* the empty blob, put once */
	bool have_empty;
};

static void note(struct import *im, const char *what)
{
	if (im->opts && im->opts->note)
		im->opts->note(im->path.data ?: "", what, im->opts->userdata);
}

void tree_owner_from_stat(const struct tree_import_opts *opts, const struct stat *st,
			  struct tree_attr *a)
{
	if (opts && opts->keep_owner) {
		a->uid = tree_unshift_id(st->st_uid, opts->id_base);
		a->gid = tree_unshift_id(st->st_gid, opts->id_base);
	} else {
		a->uid = opts ? opts->uid : 0;
		a->gid = opts ? opts->gid : 0;
	}
}

void tree_perm_from_stat(const struct tree_import_opts *opts, const struct stat *st,
			 const char *path, struct tree_attr *a)
{
	static const struct {
		mode_t bit;
		const char *what;
	} dropped[] = {{S_ISUID, "setuid bit dropped"},
		       {S_ISGID, "setgid bit dropped"},
		       {S_ISVTX, "sticky bit dropped"}};
	a->perm = st->st_mode & 0777;
	for (size_t i = 0; i < ARRAY_SIZE(dropped); i++)
		if ((st->st_mode & dropped[i].bit) && opts && opts->note)
			opts->note(path, dropped[i].what, opts->userdata);
}

static void import_owner(struct import *im, const struct stat *st, struct tree_attr *a)
{
	tree_owner_from_stat(im->opts, st, a);
}

static void import_perm(struct import *im, const struct stat *st, struct tree_attr *a)
{
	tree_perm_from_stat(im->opts, st, im->path.data ?: "", a);
}

static int import_dir_fd(struct import *im, int dfd, int depth, struct digest *ret,
			 struct err *err);

/* Imports one entry of dfd. Returns 1 (and leaves *a alone) when it is
 * skipped. */
static int import_entry(struct import *im, int dfd, const struct fs_name *ne, int depth,
			struct tree_attr *a, struct err *err)
{
	const char *path = im->path.data;
	struct stat st;
	_cleanup_close_ int fd = -1;
	int r;
	/* d_type lets regular files and directories skip the fstatat: open
	 * first (never following a symlink, never blocking on a fifo swapped
	 * in since readdir) and fstat the fd. */
	if (ne->type == DT_REG || ne->type == DT_DIR) {
		int fl = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
		if (ne->type == DT_DIR)
			fl |= O_DIRECTORY;
		fd = openat(dfd, ne->name, fl);
		if (fd < 0 && errno != ELOOP && errno != ENOTDIR)
			return err_errno(err, "open '%s'", path);
		if (fd >= 0 && fstat(fd, &st) < 0)
			return err_errno(err, "stat '%s'", path);
	}
	if (fd < 0 && fstatat(dfd, ne->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_errno(err, "stat '%s'", path);

	if (S_ISREG(st.st_mode)) {
		a->type = TREE_FILE;
		import_perm(im, &st, a);
		import_owner(im, &st, a);
		if (st.st_size == 0) {
			if (!im->have_empty) {
				if ((r = store_put(im->s, "", 0, &im->empty, err)) < 0)
					return r;
				im->have_empty = true;
			}
			a->digest = im->empty;
			a->size = 0;
			return 0;
		}
		if (fd < 0) {
			fd = openat(dfd, ne->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
			if (fd < 0)
				return err_errno(err, "open '%s'", path);
			struct stat st2;
			if (fstat(fd, &st2) < 0)
				return err_errno(err, "stat '%s'", path);
			if (!S_ISREG(st2.st_mode))
				return err_set(err, -EAGAIN, "'%s' changed type while being read", path);
		}
		if ((r = store_put_fd(im->s, fd, &a->digest, &a->size, err)) < 0)
			return err_prefix(err, "'%s'", path);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (fd < 0) {
			fd = openat(dfd, ne->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY);
			if (fd < 0)
				return err_errno(err, "open directory '%s'", path);
		}
		if (depth + 1 > TREE_DEPTH_MAX)
			return depth_error(err, path);
		a->type = TREE_DIR;
		import_perm(im, &st, a);
		import_owner(im, &st, a);
		a->size = 0;
		return import_dir_fd(im, fd, depth + 1, &a->digest, err);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[SYMLINK_MAX + 2];
		ssize_t n = readlinkat(dfd, ne->name, target, sizeof target);
		if (n < 0)
			return err_errno(err, "readlink '%s'", path);
		if (n == 0 || n > SYMLINK_MAX)
			return err_set(err, -ENAMETOOLONG, "symlink '%s': target length not in 1..%d",
				       path, SYMLINK_MAX);
		a->type = TREE_SYMLINK;
		a->perm = 0777;
		import_owner(im, &st, a);
		a->size = (uint64_t)n;
		return store_put(im->s, target, (size_t)n, &a->digest, err);
	}
	if (S_ISFIFO(st.st_mode))
		note(im, "fifo skipped");
	else if (S_ISSOCK(st.st_mode))
		note(im, "socket skipped");
	else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		note(im, "device node skipped");
	else
		note(im, "unknown file type skipped");
	return 1;
}

static int import_dir_fd(struct import *im, int dfd, int depth, struct digest *ret,
			 struct err *err)
{
	struct fs_name *names = NULL;
	size_t n = 0;
	int r = fs_read_names(dfd, im->path.data ?: "", &names, &n, err);
	if (r < 0)
		return r;
	_cleanup_buf_ struct buf out = BUF_INIT;
	buf_puts(&out, TREE_MAGIC);
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark, len = strlen(names[i].name);
		path_push(&im->path, names[i].name, &mark);
		if (len > TREE_NAME_MAX) {
			r = err_set(err, -ENAMETOOLONG, "'%s': name longer than %d bytes",
				    im->path.data, TREE_NAME_MAX);
		} else {
			struct tree_attr a = {0};
			r = import_entry(im, dfd, &names[i], depth, &a, err);
			if (r == 0)
				encode_entry(&out, names[i].name, len, &a);
		}
		path_pop(&im->path, mark);
	}
	fs_names_free(names, n);
	if (r < 0)
		return r;
	return dir_put(im->s, &out, im->path.data ?: "", ret, err);
}

int tree_import_dir(struct store *s, int dirfd, const struct tree_import_opts *opts,
		    struct digest *ret, struct err *err)
{
	struct import im = {.s = s, .opts = opts, .path = BUF_INIT};
	buf_puts(&im.path, "");
	int r = import_dir_fd(&im, dirfd, 1, ret, err);
	buf_release(&im.path);
	return r;
}

/* ---- materialising: shared checkouts and private extracts ---- */

struct mat {
	struct store *s;
	bool link;      /* hard-link from the file cache (checkout) */
	bool as_root;   /* can chown */
	struct tree_idmap map;
	int files;      /* $STORE/files (link mode) */
	int tmp;        /* $STORE/tmp */
	/* A new checkout is made durable before it is renamed into place:
	 * with at most STORE_SYNC_EACH entries (counted before it is
	 * written), each file and directory is fsynced as it is finished;
	 * else, or once one cannot be opened, one syncfs at the end (see
	 * store_sync). */
	bool sync_each;
	unsigned nfsync; /* fsync calls made */
	struct timespec times[2];
	struct buf path; /* relative path, for messages */
};

static void mat_release(struct mat *m)
{
	if (m->files >= 0)
		close(m->files);
	if (m->tmp >= 0)
		close(m->tmp);
	buf_release(&m->path);
}

time_t tree_fixed_mtime(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	if (!e || !*e)
		return 0;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(e, &end, 10);
	if (errno || *end || v < 0)
		return 0;
	return (time_t)v;
}

static int mat_init(struct mat *m, struct store *s, bool link, struct err *err)
{
	memset(m, 0, sizeof *m);
	m->s = s;
	m->link = link;
	m->as_root = geteuid() == 0;
	m->files = m->tmp = -1;
	m->path = (struct buf)BUF_INIT;
	buf_puts(&m->path, "");
	time_t t = tree_fixed_mtime();
	m->times[0] = m->times[1] = (struct timespec){.tv_sec = t, .tv_nsec = 0};
	m->tmp = openat(store_dirfd(s), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (m->tmp < 0)
		return err_errno(err, "store '%s': open tmp/", store_path(s));
	if (link) {
		m->files = openat(store_dirfd(s), "files", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (m->files < 0)
			return err_errno(err, "store '%s': open files/", store_path(s));
	}
	return 0;
}

static void mat_owner(const struct mat *m, const struct tree_attr *a, uint32_t *uid, uint32_t *gid)
{
	*uid = (m->map.force ? m->map.uid : a->uid) + m->map.shift;
	*gid = (m->map.force ? m->map.gid : a->gid) + m->map.shift;
}

/* Sets owner (as root only), permissions and the fixed times of the open
 * file or directory fd at m->path; what ("" or "directory ") goes before
 * the path in error messages. */
static int set_attrs(struct mat *m, int fd, const struct tree_attr *a, const char *what,
		     struct err *err)
{
	uint32_t uid, gid;
	mat_owner(m, a, &uid, &gid);
	if (m->as_root && fchown(fd, uid, gid) < 0)
		return err_errno(err, "chown %s'%s'", what, m->path.data);
	if (fchmod(fd, a->perm) < 0)
		return err_errno(err, "chmod %s'%s'", what, m->path.data);
	if (futimens(fd, m->times) < 0)
		return err_errno(err, "set times of %s'%s'", what, m->path.data);
	return 0;
}

/* fsyncs the finished file or directory fd when m syncs each entry. */
static int mat_sync(struct mat *m, int fd, struct err *err)
{
	if (!m->sync_each)
		return 0;
	if (fsync(fd) < 0)
		return err_errno(err, "fsync '%s'", m->path.data);
	m->nfsync++;
	return 0;
}

/* Writes object d's bytes into a new file dfd/name with a's attributes. */
static int write_file(struct mat *m, int dfd, const char *name, const struct tree_attr *a,
		      struct err *err)
{
	_cleanup_close_ int fd =
		openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_errno(err, "create '%s'", m->path.data);
	uint64_t size = 0;
	int r = a->size ? store_get_to_fd(m->s, &a->digest, fd, &size, err) : 0;
	if (r < 0)
		return err_prefix(err, "'%s'", m->path.data);
	if (size != a->size) {
		char ds[DIGEST_STR_SIZE];
		digest_to_str(&a->digest, ds);
		return err_set(err, -EBADMSG, "'%s': object %s holds %" PRIu64 " bytes, tree says %" PRIu64,
			       m->path.data, ds, size, a->size);
	}
	r = set_attrs(m, fd, a, "", err);
	return r < 0 ? r : mat_sync(m, fd, err);
}

/* Links dfd/name to the file cache entry for a, creating the entry first
 * if missing (temp file then link: a cache entry is complete or absent). */
static int link_file(struct mat *m, int dfd, const char *name, const struct tree_attr *a,
		     struct err *err)
{
	char key[DIGEST_HEX_LEN + 48];
	uint32_t uid, gid;
	mat_owner(m, a, &uid, &gid);
	digest_to_hex(&a->digest, key);
	snprintf(key + DIGEST_HEX_LEN, sizeof key - DIGEST_HEX_LEN, "-%04o-%" PRIu32 "-%" PRIu32,
		 a->perm, uid, gid);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (linkat(m->files, key, dfd, name, 0) == 0) {
			/* An entry another process made may not be on disk
			 * yet (a big checkout links its entries in before its
			 * syncfs). */
			if (attempt || !m->sync_each)
				return 0;
			_cleanup_close_ int fd =
				openat(m->files, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			/* Unprivileged, a file of perm 0000 cannot be opened
			 * to be fsynced: sync the rest by the syncfs. */
			if (fd < 0 && errno == EACCES) {
				m->sync_each = false;
				return 0;
			}
			if (fd < 0)
				return err_errno(err, "open files/%s", key);
			return mat_sync(m, fd, err);
		}
		if (errno == EMLINK)
			return write_file(m, dfd, name, a, err); /* a private copy */
		if (errno != ENOENT || attempt)
			return err_errno(err, "link '%s' from files/%s", m->path.data, key);
		char tmpname[48], rnd[25];
		fs_random_hex(rnd, 24);
		snprintf(tmpname, sizeof tmpname, "file-%s", rnd);
		int r = write_file(m, m->tmp, tmpname, a, err);
		if (r >= 0 && linkat(m->tmp, tmpname, m->files, key, 0) < 0 && errno != EEXIST)
			r = err_errno(err, "link files/%s", key);
		unlinkat(m->tmp, tmpname, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int make_symlink(struct mat *m, int dfd, const char *name, const struct tree_attr *a,
			struct err *err)
{
	_cleanup_buf_ struct buf target = BUF_INIT;
	int r = store_get(m->s, &a->digest, SYMLINK_MAX, &target, err);
	if (r < 0)
		return err_prefix(err, "symlink '%s'", m->path.data);
	if (target.len != a->size || target.len == 0 || memchr(target.data, '\0', target.len))
		return err_set(err, -EBADMSG, "symlink '%s': target blob does not match the tree",
			       m->path.data);
	if (symlinkat(target.data, dfd, name) < 0)
		return err_errno(err, "symlink '%s'", m->path.data);
	uint32_t uid, gid;
	mat_owner(m, a, &uid, &gid);
	if (m->as_root && fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err_errno(err, "chown symlink '%s'", m->path.data);
	if (utimensat(dfd, name, m->times, AT_SYMLINK_NOFOLLOW) < 0)
		return err_errno(err, "set times of symlink '%s'", m->path.data);
	return 0;
}

/* Sets a directory's attributes; called after it is filled, so its own
 * permissions never stop the filling and its mtime stays fixed. */
static int finish_dir(struct mat *m, int fd, const struct tree_attr *a, struct err *err)
{
	return set_attrs(m, fd, a, "directory ", err);
}

static int mat_dir(struct mat *m, int dfd, const struct digest *d, int depth, struct err *err)
{
	if (depth > TREE_DEPTH_MAX)
		return depth_error(err, m->path.data);
	struct tree_dirent *e = NULL;
	size_t n = 0;
	int r = read_dir_object(m->s, d, m->path.data, &e, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct tree_attr *a = &e[i].attr;
		size_t mark;
		path_push(&m->path, e[i].name, &mark);
		switch (a->type) {
		case TREE_FILE:
			r = m->link ? link_file(m, dfd, e[i].name, a, err)
				    : write_file(m, dfd, e[i].name, a, err);
			break;
		case TREE_SYMLINK:
			r = make_symlink(m, dfd, e[i].name, a, err);
			break;
		case TREE_DIR: {
			if (mkdirat(dfd, e[i].name, 0700) < 0) {
				r = err_errno(err, "mkdir '%s'", m->path.data);
				break;
			}
			int sub = openat(dfd, e[i].name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (sub < 0) {
				r = err_errno(err, "open directory '%s'", m->path.data);
				break;
			}
			r = mat_dir(m, sub, &a->digest, depth + 1, err);
			if (r >= 0)
				r = finish_dir(m, sub, a, err);
			if (r >= 0)
				r = mat_sync(m, sub, err);
			close(sub);
			break;
		}
		}
		path_pop(&m->path, mark);
	}
	tree_dirents_free(e, n);
	return r;
}

/* tree_walk callback: counts entries down from *(unsigned *)ud and stops
 * the walk (-ERANGE, err untouched) at the first one too many. */
static int count_down(const char *path, const struct tree_attr *a, void *ud, struct err *err)
{
	(void)a;
	(void)err;
	unsigned *left = ud;
	if (!*path)
		return 0; /* the root */
	return (*left)-- ? 0 : -ERANGE;
}

int tree_checkout(struct store *s, const struct digest *tree, char **ret_path, struct err *err)
{
	return tree_checkout_mapped(s, tree, NULL, ret_path, err);
}

int tree_checkout_mapped(struct store *s, const struct digest *tree, const struct tree_idmap *map,
			 char **ret_path, struct err *err)
{
	static const struct tree_idmap identity = {0};
	char hex[DIGEST_HEX_LEN + 64], rel[DIGEST_HEX_LEN + 80];
	/* Unprivileged, owners cannot be set: one checkout serves all maps. */
	if (!map || geteuid() != 0)
		map = &identity;
	digest_to_hex(tree, hex);
	if (map->force)
		snprintf(hex + DIGEST_HEX_LEN, sizeof hex - DIGEST_HEX_LEN, ".s%" PRIu32 ".u%" PRIu32 ".g%" PRIu32,
			 map->shift, map->uid, map->gid);
	else if (map->shift)
		snprintf(hex + DIGEST_HEX_LEN, sizeof hex - DIGEST_HEX_LEN, ".s%" PRIu32, map->shift);
	snprintf(rel, sizeof rel, "checkouts/%s", hex);
	struct stat st;
	/* A completed checkout is only ever renamed into place, so its
	 * presence means it is whole. */
	if (fstatat(store_dirfd(s), rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		*ret_path = xasprintf("%s/%s", store_path(s), rel);
		return 0;
	}
	_cleanup_(mat_release) struct mat m = {.files = -1, .tmp = -1};
	int r = mat_init(&m, s, true, err);
	if (r < 0)
		return r;
	m.map = *map;
	/* Count first, so a big checkout makes no fsync in vain before its
	 * syncfs. The count stops past STORE_SYNC_EACH entries; a tree it
	 * cannot read fails below, with the path, as it is written. */
	unsigned left = STORE_SYNC_EACH;
	struct err ignored = {0};
	m.sync_each = tree_walk(s, tree, count_down, &left, &ignored) == 0;
	_cleanup_close_ int checkouts =
		openat(store_dirfd(s), "checkouts", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (checkouts < 0)
		return err_errno(err, "store '%s': open checkouts/", store_path(s));
	char tmpname[64], rnd[25];
	fs_random_hex(rnd, 24);
	snprintf(tmpname, sizeof tmpname, "checkout-%s", rnd);
	if (mkdirat(m.tmp, tmpname, 0700) < 0)
		return err_errno(err, "store: mkdir tmp/%s", tmpname);
	_cleanup_close_ int dfd =
		openat(m.tmp, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		r = err_errno(err, "store: open tmp/%s", tmpname);
	if (r >= 0)
		r = mat_dir(&m, dfd, tree, 1, err);
	if (r >= 0) {
		struct tree_attr root = {.type = TREE_DIR, .perm = 0755, .uid = map->uid, .gid = map->gid};
		r = finish_dir(&m, dfd, &root, err);
	}
	/* The checkout is trusted as whole once it has its final name, so
	 * its data must be on disk first: the root, which mat_sync did not
	 * fsync, or, for a big one, everything by one syncfs. (Not files/:
	 * the checkout reaches each file by its own link; a name lost there
	 * only costs a later copy.) */
	if (r >= 0) {
		if (m.sync_each ? fsync(dfd) < 0 : syncfs(dfd) < 0)
			r = err_errno(err, "store: sync the checkout");
		else
			store_note_sync(s, m.nfsync + m.sync_each, !m.sync_each);
	}
	if (r >= 0 && renameat2(m.tmp, tmpname, checkouts, hex, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			r = 1; /* another process won the race: same content */
		else
			r = err_errno(err, "store: rename tmp/%s to checkouts/%s", tmpname, hex);
	} else if (r >= 0) {
		r = 0;
	}
	if (r != 0) {
		struct err e2 = {0};
		fs_rm_rf_at(m.tmp, tmpname, &e2);
		if (r < 0) {
			char ds[DIGEST_STR_SIZE];
			digest_to_str(tree, ds);
			return err_prefix(err, "checkout of %s", ds);
		}
	}
	*ret_path = xasprintf("%s/%s", store_path(s), rel);
	return 0;
}

int tree_extract(struct store *s, const struct digest *tree, int dirfd, struct err *err)
{
	_cleanup_(mat_release) struct mat m = {.files = -1, .tmp = -1};
	int r = mat_init(&m, s, false, err);
	if (r < 0)
		return r;
	return mat_dir(&m, dirfd, tree, 1, err);
}
