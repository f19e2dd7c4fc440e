/* decisions: per-run review decisions, their policy and their JSON form.
 *
 * The set is a sorted array of files (bsearch by path, bytewise), each with
 * a sorted array of block decisions. Block identities come from libgit2's
 * zero-context diff of the two blobs (text_blocks_compute), and the merge
 * that applies only accepted blocks copies whole lines from the two
 * buffers, so the result is always old lines and new lines, never a
 * re-encoding of diff output.
 */
#include "snapshot/decisions.h"

#include <git2.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

struct block_decision {
	char *id;
	enum decision v;
};

struct file_decision {
	char *path;
	enum decision v;
	struct block_decision *blocks;
	size_t nblocks, capblocks;
};

struct decisions {
	bool bound;
	struct digest base, out;
	struct file_decision *files;
	size_t n, cap;
};

struct decisions *decisions_new(const struct digest *base, const struct digest *out)
{
	struct decisions *d = xcalloc(1, sizeof *d);
	if (base && out) {
		d->bound = true;
		d->base = *base;
		d->out = *out;
	}
	return d;
}

static void file_clear_blocks(struct file_decision *f)
{
	for (size_t i = 0; i < f->nblocks; i++)
		free(f->blocks[i].id);
	free(f->blocks);
	f->blocks = NULL;
	f->nblocks = f->capblocks = 0;
}

void decisions_free(struct decisions *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		file_clear_blocks(&d->files[i]);
		free(d->files[i].path);
	}
	free(d->files);
	free(d);
}

bool decisions_match(const struct decisions *d, const struct changeset *cs)
{
	return !d->bound ||
	       (digest_equal(&d->base, &cs->base) && digest_equal(&d->out, &cs->out));
}

/* Binary search in n records of size bytes, sorted bytewise by the string
 * each holds at offset key_off: the index of key, or -(insertion point) - 1. */
static long sorted_find(const void *recs, size_t n, size_t size, size_t key_off, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = *(char *const *)((const char *)recs + mid * size + key_off);
		int c = strcmp(k, key);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/* Index of path, or -(insertion point) - 1. */
static long find_file(const struct decisions *d, const char *path)
{
	return sorted_find(d->files, d->n, sizeof *d->files, offsetof(struct file_decision, path),
			   path);
}

static struct file_decision *get_file(struct decisions *d, const char *path, bool create)
{
	long i = find_file(d, path);
	if (i >= 0)
		return &d->files[i];
	if (!create)
		return NULL;
	size_t at = (size_t)(-i - 1);
	xgrow(&d->files, &d->cap, d->n + 1, sizeof *d->files);
	memmove(&d->files[at + 1], &d->files[at], (d->n - at) * sizeof *d->files);
	d->files[at] = (struct file_decision){.path = xstrdup(path)};
	d->n++;
	return &d->files[at];
}

static void remove_file(struct decisions *d, const char *path)
{
	long i = find_file(d, path);
	if (i < 0)
		return;
	file_clear_blocks(&d->files[i]);
	free(d->files[i].path);
	memmove(&d->files[i], &d->files[i + 1], (d->n - (size_t)i - 1) * sizeof *d->files);
	d->n--;
}

void decisions_set(struct decisions *d, const char *path, enum decision v)
{
	if (v == DECISION_NONE) {
		remove_file(d, path);
		return;
	}
	struct file_decision *f = get_file(d, path, true);
	file_clear_blocks(f);
	f->v = v;
}

enum decision decisions_get(const struct decisions *d, const char *path)
{
	long i = find_file(d, path);
	return i >= 0 ? d->files[i].v : DECISION_NONE;
}

/* Index of block id, or -(insertion point) - 1. */
static long find_block(const struct file_decision *f, const char *id)
{
	return sorted_find(f->blocks, f->nblocks, sizeof *f->blocks,
			   offsetof(struct block_decision, id), id);
}

void decisions_set_block(struct decisions *d, const char *path, const char *block_id,
			 enum decision v)
{
	struct file_decision *f = get_file(d, path, true);
	long i = find_block(f, block_id);
	if (i >= 0) {
		f->blocks[i].v = v;
		return;
	}
	size_t at = (size_t)(-i - 1);
	xgrow(&f->blocks, &f->capblocks, f->nblocks + 1, sizeof *f->blocks);
	memmove(&f->blocks[at + 1], &f->blocks[at], (f->nblocks - at) * sizeof *f->blocks);
	f->blocks[at] = (struct block_decision){.id = xstrdup(block_id), .v = v};
	f->nblocks++;
}

enum decision decisions_get_block(const struct decisions *d, const char *path,
				  const char *block_id)
{
	long i = find_file(d, path);
	if (i < 0)
		return DECISION_NONE;
	long j = find_block(&d->files[i], block_id);
	return j >= 0 ? d->files[i].blocks[j].v : DECISION_NONE;
}

bool decisions_has_blocks(const struct decisions *d, const char *path)
{
	long i = find_file(d, path);
	return i >= 0 && d->files[i].nblocks > 0;
}

static bool is_text_modify(const struct change *c)
{
	return c->kind == CHANGE_MODIFY && c->has_old && c->has_new &&
	       c->old_attr.type == TREE_FILE && c->new_attr.type == TREE_FILE &&
	       !(c->risk & (RISK_BINARY | RISK_LARGE));
}

bool decisions_accepts(const struct decisions *d, const struct change *c,
		       enum accept_reason *ret_reason)
{
	enum accept_reason dummy = ACCEPT_DEFAULT;
	enum accept_reason *reason = ret_reason ? ret_reason : &dummy;
	long i = d ? find_file(d, c->path) : -1;
	const struct file_decision *f = i >= 0 ? &d->files[i] : NULL;
	enum decision v = f ? f->v : DECISION_NONE;

	if (v == DECISION_REJECT) {
		*reason = REJECT_EXPLICIT;
		return false;
	}
	if (v != DECISION_ACCEPT && (c->risk & DECISIONS_HELD_RISKS)) {
		*reason = REJECT_HELD;
		return false;
	}
	*reason = v == DECISION_ACCEPT ? ACCEPT_EXPLICIT : ACCEPT_DEFAULT;
	if (f && is_text_modify(c))
		for (size_t k = 0; k < f->nblocks; k++)
			if (f->blocks[k].v == DECISION_REJECT) {
				*reason = ACCEPT_PARTIAL;
				break;
			}
	return true;
}

/* ---- JSON ---- */

static bool utf8_valid(const char *s, size_t len)
{
	json_error_t je;
	json_t *j = json_stringn(s, len);
	(void)je;
	if (!j)
		return false;
	json_decref(j);
	return true;
}

/* Sets key (or key_hex when path is not UTF-8) on obj. */
static void json_set_path(json_t *obj, const char *key, const char *path)
{
	size_t len = strlen(path);
	if (utf8_valid(path, len)) {
		json_object_set_new(obj, key, json_stringn(path, len));
		return;
	}
	_cleanup_free_ char *hex = xmalloc(len * 2 + 1);
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)path[i]);
	_cleanup_free_ char *k = xasprintf("%s_hex", key);
	json_object_set_new(obj, k, json_string(hex));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Gets key or key_hex from obj into a malloc'ed string; NULL if absent or
 * malformed (a path can hold no NUL). */
static char *json_get_path(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_string(v)) {
		if (memchr(json_string_value(v), 0, json_string_length(v)))
			return NULL;
		return xstrdup(json_string_value(v));
	}
	_cleanup_free_ char *k = xasprintf("%s_hex", key);
	v = json_object_get(obj, k);
	if (!json_is_string(v))
		return NULL;
	const char *h = json_string_value(v);
	size_t n = strlen(h);
	if (n == 0 || n % 2)
		return NULL;
	char *out = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			free(out);
			return NULL;
		}
		out[i] = (char)(a * 16 + b);
	}
	out[n / 2] = 0;
	return out;
}

static const char *decision_name(enum decision v)
{
	return v == DECISION_ACCEPT ? "accept" : v == DECISION_REJECT ? "reject" : "none";
}

static int decision_parse(const char *s, enum decision *ret)
{
	if (!s)
		return -1;
	if (!strcmp(s, "accept"))
		*ret = DECISION_ACCEPT;
	else if (!strcmp(s, "reject"))
		*ret = DECISION_REJECT;
	else if (!strcmp(s, "none"))
		*ret = DECISION_NONE;
	else
		return -1;
	return 0;
}

void decisions_to_json(const struct decisions *d, struct buf *out)
{
	json_t *root = json_object();
	json_object_set_new(root, "version", json_integer(1));
	if (d->bound) {
		char s[DIGEST_STR_SIZE];
		digest_to_str(&d->base, s);
		json_object_set_new(root, "base", json_string(s));
		digest_to_str(&d->out, s);
		json_object_set_new(root, "out", json_string(s));
	}
	json_t *files = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const struct file_decision *f = &d->files[i];
		json_t *o = json_object();
		json_set_path(o, "path", f->path);
		json_object_set_new(o, "decision", json_string(decision_name(f->v)));
		if (f->nblocks) {
			json_t *bl = json_array();
			for (size_t k = 0; k < f->nblocks; k++) {
				json_t *b = json_object();
				json_object_set_new(b, "id", json_string(f->blocks[k].id));
				json_object_set_new(b, "decision",
						    json_string(decision_name(f->blocks[k].v)));
				json_array_append_new(bl, b);
			}
			json_object_set_new(o, "blocks", bl);
		}
		json_array_append_new(files, o);
	}
	json_object_set_new(root, "files", files);
	char *s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(root);
	buf_puts(out, s);
	buf_putc(out, '\n');
	free(s);
}

static void jdecrefp(json_t **j)
{
	if (*j)
		json_decref(*j);
}

int decisions_from_json(const char *data, size_t len, struct decisions **ret, struct err *err)
{
	json_error_t je;
	_cleanup_(jdecrefp) json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return err_set(err, -EBADMSG, "decisions: bad JSON at line %d: %s", je.line,
			       je.text);
	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1)
		return err_set(err, -EBADMSG, "decisions: not a version 1 decisions document");
	struct digest base, out;
	json_t *jb = json_object_get(root, "base"), *jo = json_object_get(root, "out");
	bool bound = jb || jo;
	if (bound && (!json_is_string(jb) || !json_is_string(jo) ||
		      digest_parse(json_string_value(jb), &base) < 0 ||
		      digest_parse(json_string_value(jo), &out) < 0))
		return err_set(err, -EBADMSG, "decisions: bad \"base\" or \"out\" digest");
	_cleanup_(decisions_freep) struct decisions *d =
		bound ? decisions_new(&base, &out) : decisions_new(NULL, NULL);
	json_t *files = json_object_get(root, "files");
	if (!json_is_array(files))
		return err_set(err, -EBADMSG, "decisions: \"files\" is not an array");
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		_cleanup_free_ char *path = json_is_object(f) ? json_get_path(f, "path") : NULL;
		enum decision v;
		if (!path || !*path)
			return err_set(err, -EBADMSG, "decisions: files[%zu]: bad path", i);
		if (decision_parse(json_string_value(json_object_get(f, "decision")), &v) < 0)
			return err_set(err, -EBADMSG, "decisions: files[%zu]: bad decision", i);
		if (find_file(d, path) >= 0)
			return err_set(err, -EBADMSG, "decisions: files[%zu]: duplicate path", i);
		struct file_decision *fd = get_file(d, path, true);
		fd->v = v;
		json_t *bl = json_object_get(f, "blocks");
		if (!bl)
			continue;
		if (!json_is_array(bl))
			return err_set(err, -EBADMSG, "decisions: files[%zu]: bad blocks", i);
		size_t k;
		json_t *b;
		json_array_foreach(bl, k, b)
		{
			const char *id = json_string_value(json_object_get(b, "id"));
			enum decision bv;
			if (!id || strlen(id) >= sizeof(((struct text_block *)0)->id) ||
			    decision_parse(json_string_value(json_object_get(b, "decision")),
					   &bv) < 0)
				return err_set(err, -EBADMSG,
					       "decisions: files[%zu].blocks[%zu]: bad block", i, k);
			decisions_set_block(d, path, id, bv);
		}
	}
	*ret = TAKE_PTR(d);
	return 0;
}

int decisions_save_at(const struct decisions *d, int dfd, const char *name, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	decisions_to_json(d, &b);
	int r = fs_write_file_atomic(dfd, name, b.data, b.len, 0644, err);
	return r < 0 ? err_prefix(err, "save decisions") : 0;
}

int decisions_load_at(int dfd, const char *name, struct decisions **ret, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = fs_read_file_at(dfd, name, 64u << 20, &b, err);
	if (r < 0)
		return err_prefix(err, "load decisions");
	return decisions_from_json(b.data, b.len, ret, err);
}

/* ---- change blocks ---- */

struct lines {
	size_t *off; /* off[i]: start of line i; off[n]: end of data */
	size_t n;
};

static void lines_split(const char *data, size_t len, struct lines *ret)
{
	size_t cap = 0;
	ret->off = NULL;
	ret->n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len && start == len)
			break;
		if (i == len || data[i] == '\n') {
			xgrow(&ret->off, &cap, ret->n + 2, sizeof *ret->off);
			ret->off[ret->n++] = start;
			start = i + 1;
		}
	}
	xgrow(&ret->off, &cap, ret->n + 1, sizeof *ret->off);
	ret->off[ret->n] = len;
}

/* 0-based first line of a hunk side (git writes start = line before for an
 * empty side). */
static size_t side_first(size_t start, size_t lines)
{
	return lines ? start - 1 : start;
}

static void git_patch_freep(git_patch **p)
{
	if (*p)
		git_patch_free(*p);
}

int text_blocks_compute(const char *old_data, size_t old_len, const char *new_data, size_t new_len,
			struct text_block **ret, size_t *ret_n, struct err *err)
{
	*ret = NULL;
	*ret_n = 0;
	if (memchr(old_data, 0, old_len) || memchr(new_data, 0, new_len))
		return err_set(err, -EINVAL, "binary content has no text blocks");
	git_libgit2_init();
	git_diff_options o = GIT_DIFF_OPTIONS_INIT;
	o.context_lines = 0;
	o.interhunk_lines = 0;
	o.flags = GIT_DIFF_FORCE_TEXT;
	_cleanup_(git_patch_freep) git_patch *p = NULL;
	int r = git_patch_from_buffers(&p, old_data, old_len, NULL, new_data, new_len, NULL, &o);
	if (r < 0) {
		const git_error *ge = git_error_last();
		r = err_set(err, -EIO, "diff: %s", ge ? ge->message : "libgit2 error");
		git_libgit2_shutdown();
		return r;
	}
	struct lines ol, nl;
	lines_split(old_data, old_len, &ol);
	lines_split(new_data, new_len, &nl);
	size_t n = git_patch_num_hunks(p);
	struct text_block *b = n ? xcalloc(n, sizeof *b) : NULL;
	struct hasher *h = hasher_new();
	for (size_t i = 0; i < n; i++) {
		const git_diff_hunk *hk;
		size_t nlines;
		git_patch_get_hunk(&hk, &nlines, p, i);
		b[i].old_start = (size_t)hk->old_start;
		b[i].old_lines = (size_t)hk->old_lines;
		b[i].new_start = (size_t)hk->new_start;
		b[i].new_lines = (size_t)hk->new_lines;
		size_t of = side_first(b[i].old_start, b[i].old_lines);
		size_t nf = side_first(b[i].new_start, b[i].new_lines);
		hasher_reset(h);
		hasher_update(h, old_data + ol.off[of], ol.off[of + b[i].old_lines] - ol.off[of]);
		hasher_update(h, "\0", 1);
		hasher_update(h, new_data + nl.off[nf], nl.off[nf + b[i].new_lines] - nl.off[nf]);
		struct digest dg;
		hasher_final(h, &dg);
		char hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(&dg, hex);
		snprintf(b[i].id, sizeof b[i].id, "%zu:%.16s", i, hex);
	}
	hasher_free(h);
	free(ol.off);
	free(nl.off);
	git_patch_free(TAKE_PTR(p));
	git_libgit2_shutdown();
	*ret = b;
	*ret_n = n;
	return 0;
}

int decisions_merge_text(const struct decisions *d, const char *path, const char *old_data,
			 size_t old_len, const char *new_data, size_t new_len, struct buf *out,
			 struct err *err)
{
	_cleanup_free_ struct text_block *b = NULL;
	size_t n;
	int r = text_blocks_compute(old_data, old_len, new_data, new_len, &b, &n, err);
	if (r < 0)
		return err_prefix(err, "'%s'", path);
	struct lines ol, nl;
	lines_split(old_data, old_len, &ol);
	lines_split(new_data, new_len, &nl);
	size_t cursor = 0;
	for (size_t i = 0; i < n; i++) {
		size_t of = side_first(b[i].old_start, b[i].old_lines);
		size_t nf = side_first(b[i].new_start, b[i].new_lines);
		buf_append(out, old_data + ol.off[cursor], ol.off[of] - ol.off[cursor]);
		if (decisions_get_block(d, path, b[i].id) == DECISION_REJECT)
			buf_append(out, old_data + ol.off[of],
				   ol.off[of + b[i].old_lines] - ol.off[of]);
		else
			buf_append(out, new_data + nl.off[nf],
				   nl.off[nf + b[i].new_lines] - nl.off[nf]);
		cursor = of + b[i].old_lines;
	}
	buf_append(out, old_data + ol.off[cursor], ol.off[ol.n] - ol.off[cursor]);
	free(ol.off);
	free(nl.off);
	return 0;
}

int decisions_resolve_new(struct store *s, const struct decisions *d, const struct change *c,
			  enum accept_reason reason, struct tree_attr *ret, struct err *err)
{
	*ret = c->new_attr;
	if (reason != ACCEPT_PARTIAL)
		return 0;
	_cleanup_buf_ struct buf o = BUF_INIT;
	_cleanup_buf_ struct buf n = BUF_INIT;
	_cleanup_buf_ struct buf m = BUF_INIT;
	int r = store_get(s, &c->old_attr.digest, CHANGESET_LARGE, &o, err);
	if (r >= 0)
		r = store_get(s, &c->new_attr.digest, CHANGESET_LARGE, &n, err);
	if (r >= 0)
		r = decisions_merge_text(d, c->path, o.data ? o.data : "", o.len,
					 n.data ? n.data : "", n.len, &m, err);
	if (r >= 0)
		r = store_put(s, m.data ? m.data : "", m.len, &ret->digest, err);
	if (r < 0)
		return err_prefix(err, "merge accepted blocks of '%s'", c->path);
	ret->size = m.len;
	return 0;
}
