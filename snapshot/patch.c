/* patch: git-format output of a changeset through libgit2.
 *
 * Each change is rendered on its own: its old and new blobs are loaded
 * from the store into an in-memory object database (mempack), a git tree
 * holding just that path is written for each side, and libgit2 diffs the
 * two (git_diff_tree_to_tree, GIT_DIFF_SHOW_BINARY for git's binary
 * patches, git_diff_find_similar for a rename). The mempack is reset after
 * each change, so memory is bounded by the largest changed file under
 * CHANGESET_LARGE; larger files are never loaded. Rendering per change
 * keeps the changeset's order and its renames exactly.
 *
 * Git trees are written here as raw objects (mode SP name NUL oid, git's
 * order) rather than with git_treebuilder, which refuses names git would
 * refuse on checkout: our names come from the agent and are shown, never
 * checked out, here.
 *
 * Untrusted bytes: libgit2 quotes names in the headers as git does
 * (core.quotePath); our own headers use quote_path. In safe mode every line
 * is passed through quote_terminal before it is written.
 */
#include "snapshot/patch.h"

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"
#include "snapshot/quote.h"

#define SYMLINK_TARGET_MAX 4095
#define FLUSH_AT (64u << 10)

#define C_RESET "\033[m"
#define C_BOLD "\033[1m"
#define C_CYAN "\033[36m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_REV "\033[7m"
#define C_UNREV "\033[27m"

/* ---- libgit2 in memory ---- */

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static void git_init_once(void)
{
	git_libgit2_init();
}

struct gitmem {
	git_repository *repo;
	git_odb *odb;
	git_odb_backend *mp; /* owned by odb once added */
};

static int gitout_error(struct err *err, int code, const char *what)
{
	(void)code;
	const git_error *e = git_error_last();
	return err_set(err, -EIO, "libgit2: %s: %s", what,
		       e && e->message ? e->message : "unknown error");
}

static void gitmem_close(struct gitmem *g)
{
	if (g->repo)
		git_repository_free(g->repo);
	if (g->odb)
		git_odb_free(g->odb);
	*g = (struct gitmem){0};
}

static int gitmem_open(struct gitmem *g, struct err *err)
{
	pthread_once(&git_once, git_init_once);
	*g = (struct gitmem){0};
	int r = git_odb_new(&g->odb);
	if (r >= 0)
		r = git_mempack_new(&g->mp);
	if (r >= 0) {
		r = git_odb_add_backend(g->odb, g->mp, 1);
		if (r < 0)
			g->mp->free(g->mp);
	}
	if (r >= 0)
		r = git_repository_new(&g->repo);
	if (r >= 0)
		r = git_repository_set_odb(g->repo, g->odb);
	if (r < 0) {
		gitout_error(err, r, "in-memory repository");
		gitmem_close(g);
		return -EIO;
	}
	return 0;
}

static int gitmem_put(struct gitmem *g, const void *data, size_t len, git_object_t type,
		      git_oid *ret, struct err *err)
{
	int r = git_odb_write(ret, g->odb, data, len, type);
	return r < 0 ? gitout_error(err, r, "write object") : 0;
}

/* Loads a file or symlink blob from the store into the mempack. */
static int gitmem_blob(struct gitmem *g, struct store *s, const struct tree_attr *a,
		       const char *path, git_oid *ret, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	size_t max = a->type == TREE_SYMLINK ? SYMLINK_TARGET_MAX : CHANGESET_LARGE;
	int r = store_get(s, &a->digest, max, &b, err);
	if (r < 0)
		return err_prefix(err, "'%s'", path);
	return gitmem_put(g, b.data ?: "", b.len, GIT_OBJECT_BLOB, ret, err);
}

static uint32_t git_mode(const struct tree_attr *a)
{
	if (a->type == TREE_SYMLINK)
		return 0120000;
	return (a->perm & 0111) ? 0100755 : 0100644;
}

struct gent {
	const char *path;
	uint32_t mode;
	git_oid oid;
};

struct gkid {
	const char *name;
	size_t len;
	uint32_t mode;
	git_oid oid;
};

/* git's order: names compared as if a tree's name ended with '/'. */
static int cmp_gkid(const void *x, const void *y)
{
	const struct gkid *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);
	if (c)
		return c;
	unsigned char ca = a->len > n ? (unsigned char)a->name[n] : (a->mode == 040000 ? '/' : 0);
	unsigned char cb = b->len > n ? (unsigned char)b->name[n] : (b->mode == 040000 ? '/' : 0);
	return (int)ca - (int)cb;
}

/* Writes the tree for e[0..n) (sorted bytewise by path, all below the
 * first off bytes of their paths). */
static int gtree_build(struct gitmem *g, const struct gent *e, size_t n, size_t off,
		       git_oid *ret, struct err *err)
{
	_cleanup_free_ struct gkid *kids = xcalloc(n ? n : 1, sizeof *kids);
	size_t nk = 0;
	for (size_t i = 0; i < n;) {
		const char *name = e[i].path + off;
		const char *slash = strchr(name, '/');
		if (!slash) {
			kids[nk++] = (struct gkid){name, strlen(name), e[i].mode, e[i].oid};
			i++;
			continue;
		}
		size_t len = (size_t)(slash - name), j = i + 1;
		while (j < n && !strncmp(e[j].path + off, name, len + 1))
			j++;
		struct gkid *k = &kids[nk++];
		*k = (struct gkid){name, len, 040000, {{0}}};
		int r = gtree_build(g, e + i, j - i, off + len + 1, &k->oid, err);
		if (r < 0)
			return r;
		i = j;
	}
	qsort(kids, nk, sizeof *kids, cmp_gkid);
	_cleanup_buf_ struct buf b = BUF_INIT;
	for (size_t i = 0; i < nk; i++) {
		buf_printf(&b, "%o ", kids[i].mode);
		buf_append(&b, kids[i].name, kids[i].len);
		buf_putc(&b, '\0');
		buf_append(&b, kids[i].oid.id, GIT_OID_RAWSZ);
	}
	return gitmem_put(g, b.data ?: "", b.len, GIT_OBJECT_TREE, ret, err);
}

static int cmp_gent(const void *x, const void *y)
{
	return strcmp(((const struct gent *)x)->path, ((const struct gent *)y)->path);
}

static int gtree_lookup(struct gitmem *g, struct gent *e, size_t n, git_tree **ret,
			struct err *err)
{
	git_oid oid;
	if (n > 1)
		qsort(e, n, sizeof *e, cmp_gent);
	int r = gtree_build(g, e, n, 0, &oid, err);
	if (r < 0)
		return r;
	r = git_tree_lookup(ret, g->repo, &oid);
	return r < 0 ? gitout_error(err, r, "tree lookup") : 0;
}

static int gdiff(struct gitmem *g, struct gent *old, size_t nold, struct gent *new_, size_t nnew,
		 unsigned context, git_diff **ret, struct err *err)
{
	git_tree *to = NULL, *tn = NULL;
	int r = gtree_lookup(g, old, nold, &to, err);
	if (r >= 0)
		r = gtree_lookup(g, new_, nnew, &tn, err);
	if (r >= 0) {
		git_diff_options o = GIT_DIFF_OPTIONS_INIT;
		o.flags = GIT_DIFF_SHOW_BINARY;
		o.context_lines = context ? context : 3;
		o.id_abbrev = GIT_OID_HEXSZ; /* full index lines: git apply --binary needs them */
		r = git_diff_tree_to_tree(ret, g->repo, to, tn, &o);
		if (r < 0)
			r = gitout_error(err, r, "diff");
	}
	git_tree_free(to);
	git_tree_free(tn);
	return r;
}

int patch_find_renames(struct store *s, const struct patch_rename_cand *deleted, size_t ndel,
		       const struct patch_rename_cand *added, size_t nadd, unsigned threshold,
		       long *ret_pair, unsigned *ret_score, struct err *err)
{
	struct gitmem g;
	int r = gitmem_open(&g, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct gent *eo = xcalloc(ndel + 1, sizeof *eo);
	_cleanup_free_ struct gent *en = xcalloc(nadd + 1, sizeof *en);
	for (size_t i = 0; i < ndel; i++)
		ret_pair[i] = -1, ret_score[i] = 0;
	for (size_t i = 0; r >= 0 && i < ndel; i++) {
		struct tree_attr a = {.type = TREE_FILE, .size = deleted[i].size, .digest = *deleted[i].d};
		eo[i] = (struct gent){deleted[i].path, 0100644, {{0}}};
		r = gitmem_blob(&g, s, &a, deleted[i].path, &eo[i].oid, err);
	}
	for (size_t i = 0; r >= 0 && i < nadd; i++) {
		struct tree_attr a = {.type = TREE_FILE, .size = added[i].size, .digest = *added[i].d};
		en[i] = (struct gent){added[i].path, 0100644, {{0}}};
		r = gitmem_blob(&g, s, &a, added[i].path, &en[i].oid, err);
	}
	git_diff *diff = NULL;
	if (r >= 0)
		r = gdiff(&g, eo, ndel, en, nadd, 0, &diff, err);
	if (r >= 0) {
		git_diff_find_options fo = GIT_DIFF_FIND_OPTIONS_INIT;
		fo.flags = GIT_DIFF_FIND_RENAMES;
		fo.rename_threshold = (uint16_t)threshold;
		fo.rename_limit = ndel * nadd + 1;
		r = git_diff_find_similar(diff, &fo);
		if (r < 0)
			r = gitout_error(err, r, "rename detection");
	}
	for (size_t i = 0; r >= 0 && i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->status != GIT_DELTA_RENAMED)
			continue;
		long di = -1, ai = -1;
		for (size_t k = 0; k < ndel && di < 0; k++)
			if (!strcmp(deleted[k].path, d->old_file.path))
				di = (long)k;
		for (size_t k = 0; k < nadd && ai < 0; k++)
			if (!strcmp(added[k].path, d->new_file.path))
				ai = (long)k;
		if (di >= 0 && ai >= 0) {
			ret_pair[di] = ai;
			ret_score[di] = d->similarity;
		}
	}
	git_diff_free(diff);
	gitmem_close(&g);
	return r < 0 ? r : 0;
}

/* ---- output ---- */

struct out {
	int fd;           /* -1: everything stays in buf */
	struct buf *buf;  /* final output */
	struct buf file;  /* the current change, before it goes to buf */
	const struct patch_opts *o;
	size_t escaped;   /* bytes escaped in the current change */
};

static int out_flush(struct out *w, bool force, struct err *err)
{
	if (w->fd < 0 || (!force && w->buf->len < FLUSH_AT))
		return 0;
	int r = fs_write_all(w->fd, w->buf->data, w->buf->len);
	if (r < 0)
		return err_code(err, r, "write");
	buf_reset(w->buf);
	return 0;
}

/* Appends one line (or several, for headers) in color; escapes in safe mode. */
static void out_put(struct out *w, const char *color, const char *data, size_t len)
{
	struct buf *b = &w->file;
	if (!w->o->safe) {
		buf_append(b, data, len);
		return;
	}
	/* line by line, so color resets before each newline */
	const char *end = data + len;
	for (const char *p = data; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (color && w->o->color && n)
			buf_puts(b, color);
		w->escaped += quote_terminal(b, p, n, w->o->color ? C_REV : NULL,
					     w->o->color ? C_UNREV : NULL);
		if (color && w->o->color && n)
			buf_puts(b, C_RESET);
		if (nl)
			buf_putc(b, '\n');
		p += n + (nl ? 1 : 0);
	}
}

/* "# airlock: <quoted path>: <rest>" */
static void note_line(struct buf *dst, const char *path, const char *rest)
{
	buf_puts(dst, "# airlock: ");
	quote_path(dst, "", path, QUOTE_HIGH);
	buf_puts(dst, ": ");
	buf_puts(dst, rest);
	buf_putc(dst, '\n');
}

/* Moves the current change's text to the output, with a warning first if
 * anything had to be escaped. */
static void out_end_change(struct out *w)
{
	if (w->escaped) {
		if (w->o->color)
			buf_puts(w->buf, C_YELLOW);
		buf_printf(w->buf, "# airlock: %zu control byte%s below shown escaped (^X, \\xNN)",
			   w->escaped, w->escaped == 1 ? "" : "s");
		if (w->o->color)
			buf_puts(w->buf, C_RESET);
		buf_putc(w->buf, '\n');
	}
	buf_append(w->buf, w->file.data ?: "", w->file.len);
	buf_reset(&w->file);
	w->escaped = 0;
}

static int print_cb(const git_diff_delta *delta, const git_diff_hunk *hunk,
		    const git_diff_line *line, void *payload)
{
	(void)delta;
	(void)hunk;
	struct out *w = payload;
	const char *color = NULL;
	switch (line->origin) {
	case GIT_DIFF_LINE_CONTEXT:
	case GIT_DIFF_LINE_ADDITION:
	case GIT_DIFF_LINE_DELETION: {
		char o = line->origin;
		color = o == '+' ? C_GREEN : o == '-' ? C_RED : NULL;
		if (color && w->o->color)
			buf_puts(&w->file, color);
		buf_putc(&w->file, o);
		if (color && w->o->color && w->o->safe) {
			/* out_put re-opens the color per line */
			buf_puts(&w->file, C_RESET);
		} else if (color && w->o->color) {
			/* unsafe+color cannot happen: color implies safe */
		}
		break;
	}
	case GIT_DIFF_LINE_FILE_HDR:
		color = C_BOLD;
		break;
	case GIT_DIFF_LINE_HUNK_HDR:
		color = C_CYAN;
		break;
	default:
		break;
	}
	out_put(w, color, line->content, line->content_len);
	return 0;
}

/* ---- per change ---- */

static bool side_is_blob(const struct change *c, bool new_side)
{
	if (new_side)
		return c->has_new && c->new_attr.type != TREE_DIR;
	return c->has_old && c->old_attr.type != TREE_DIR;
}

static bool is_large(const struct change *c)
{
	return (side_is_blob(c, false) && c->old_attr.type == TREE_FILE &&
		c->old_attr.size > CHANGESET_LARGE) ||
	       (side_is_blob(c, true) && c->new_attr.type == TREE_FILE &&
		c->new_attr.size > CHANGESET_LARGE);
}

static const char *old_path(const struct change *c)
{
	return c->old_path ? c->old_path : c->path;
}

/* What git cannot express about c, as note lines at the top (to notes). */
static void change_notes(const struct change *c, struct buf *notes)
{
	if (changeset_is_git_change(c))
		return; /* counted in one line by the caller */
	const struct tree_attr *n = c->has_new ? &c->new_attr : NULL;
	const struct tree_attr *o = c->has_old ? &c->old_attr : NULL;
	if (n && n->type == TREE_DIR) {
		char rest[96];
		if (c->kind == CHANGE_ADD || c->kind == CHANGE_TYPE)
			snprintf(rest, sizeof rest, "directory added, perm %04o", n->perm);
		else if (c->kind == CHANGE_MODE)
			snprintf(rest, sizeof rest, "directory perm %04o -> %04o, owner %u:%u -> %u:%u",
				 o->perm, n->perm, o->uid, o->gid, n->uid, n->gid);
		else
			return;
		note_line(notes, c->path, rest);
		return;
	}
	if (n && n->type == TREE_FILE && n->perm != 0644 && n->perm != 0755 &&
	    (!o || o->perm != n->perm)) {
		char rest[64];
		snprintf(rest, sizeof rest, "perm %04o (git shows %06o)", n->perm, git_mode(n));
		note_line(notes, c->path, rest);
	}
	if (n && o && (n->uid != o->uid || n->gid != o->gid)) {
		char rest[64];
		snprintf(rest, sizeof rest, "owner %u:%u -> %u:%u", o->uid, o->gid, n->uid, n->gid);
		note_line(notes, c->path, rest);
	}
	if (is_large(c)) {
		char rest[128];
		snprintf(rest, sizeof rest,
			 "%" PRIu64 " bytes, over the %u-byte patch limit: content not shown, "
			 "`airlock apply` takes it from the store",
			 n && n->type == TREE_FILE ? n->size : o->size, CHANGESET_LARGE);
		note_line(notes, c->path, rest);
	}
}

/* Our own header for a change over the size cap (git's layout, no index
 * line: git apply refuses it, airlock apply does not need it), and for a
 * mode change or rename without a content change (libgit2 1.5 prints
 * "Binary files ... differ" for a mode-only change of a binary file, which
 * git apply refuses; git itself prints the mode lines alone). */
static void meta_header(struct out *w, const struct change *c)
{
	_cleanup_buf_ struct buf h = BUF_INIT;
	const char *op = old_path(c);
	bool o = side_is_blob(c, false), n = side_is_blob(c, true);
	buf_puts(&h, "diff --git ");
	quote_path(&h, "a/", o ? op : c->path, QUOTE_HIGH);
	buf_putc(&h, ' ');
	quote_path(&h, "b/", c->path, QUOTE_HIGH);
	buf_putc(&h, '\n');
	if (!o)
		buf_printf(&h, "new file mode %06o\n", git_mode(&c->new_attr));
	else if (!n)
		buf_printf(&h, "deleted file mode %06o\n", git_mode(&c->old_attr));
	else if (git_mode(&c->old_attr) != git_mode(&c->new_attr))
		buf_printf(&h, "old mode %06o\nnew mode %06o\n", git_mode(&c->old_attr),
			   git_mode(&c->new_attr));
	if (c->old_path) {
		buf_printf(&h, "similarity index %u%%\nrename from ", c->similarity);
		quote_path(&h, "", c->old_path, QUOTE_HIGH);
		buf_puts(&h, "\nrename to ");
		quote_path(&h, "", c->path, QUOTE_HIGH);
		buf_putc(&h, '\n');
	}
	if (!o || !n || !digest_equal(&c->old_attr.digest, &c->new_attr.digest)) {
		buf_puts(&h, "Binary files ");
		if (o)
			quote_path(&h, "a/", op, QUOTE_HIGH);
		else
			buf_puts(&h, "/dev/null");
		buf_puts(&h, " and ");
		if (n)
			quote_path(&h, "b/", c->path, QUOTE_HIGH);
		else
			buf_puts(&h, "/dev/null");
		buf_puts(&h, " differ\n");
	}
	out_put(w, C_BOLD, h.data, h.len);
}

struct stat_row {
	char *name;  /* display, quoted */
	size_t adds, dels;
	bool binary;
	uint64_t old_size, new_size;
	unsigned risk;
};

/* Builds the git diff of one change; *ret NULL if nothing git can show. */
static int change_diff(struct gitmem *g, struct store *s, const struct change *c,
		       unsigned context, git_diff **ret, struct err *err)
{
	*ret = NULL;
	struct gent eo[1], en[1];
	size_t no = 0, nn = 0;
	int r;
	if (side_is_blob(c, false)) {
		eo[0] = (struct gent){old_path(c), git_mode(&c->old_attr), {{0}}};
		if ((r = gitmem_blob(g, s, &c->old_attr, old_path(c), &eo[0].oid, err)) < 0)
			return r;
		no = 1;
	}
	if (side_is_blob(c, true)) {
		en[0] = (struct gent){c->path, git_mode(&c->new_attr), {{0}}};
		if ((r = gitmem_blob(g, s, &c->new_attr, c->path, &en[0].oid, err)) < 0)
			return r;
		nn = 1;
	}
	if (!no && !nn)
		return 0;
	if (no && nn && eo[0].mode == en[0].mode && git_oid_equal(&eo[0].oid, &en[0].oid) &&
	    !c->old_path)
		return 0; /* a perm change git cannot see (noted) */
	git_diff *diff = NULL;
	r = gdiff(g, eo, no, en, nn, context, &diff, err);
	if (r >= 0 && c->old_path) {
		git_diff_find_options fo = GIT_DIFF_FIND_OPTIONS_INIT;
		fo.flags = GIT_DIFF_FIND_RENAMES;
		fo.rename_threshold = (uint16_t)(c->similarity ? c->similarity : 1);
		if (git_diff_find_similar(diff, &fo) < 0)
			r = gitout_error(err, -EIO, "rename");
	}
	if (r < 0) {
		git_diff_free(diff);
		return r;
	}
	*ret = diff;
	return 0;
}

static int stat_of(git_diff *diff, struct stat_row *row, struct err *err)
{
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		git_patch *p = NULL;
		int r = git_patch_from_diff(&p, diff, i);
		if (r < 0)
			return gitout_error(err, r, "patch");
		const git_diff_delta *d = git_patch_get_delta(p);
		if (d->flags & GIT_DIFF_FLAG_BINARY) {
			row->binary = true;
		} else {
			size_t ctx, a, dl;
			git_patch_line_stats(&ctx, &a, &dl, p);
			row->adds += a;
			row->dels += dl;
		}
		git_patch_free(p);
	}
	return 0;
}

void patch_risk_tags(struct buf *out, unsigned risk)
{
	static const struct {
		unsigned bit;
		const char *tag;
	} tags[] = {
		{RISK_GIT_DIR, "git"},        {RISK_EXECUTABLE, "exec"}, {RISK_SYMLINK, "symlink"},
		{RISK_SYMLINK_ESCAPE, "symlink-escape"}, {RISK_CI_CONFIG, "ci"},
		{RISK_SETID, "setid"},        {RISK_SPECIAL, "special"}, {RISK_LARGE, "large"},
		{RISK_BINARY, "binary"},
	};
	bool first = true;
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		if (!(risk & tags[i].bit))
			continue;
		/* a symlink escaping says more than "symlink" */
		if (tags[i].bit == RISK_SYMLINK && (risk & RISK_SYMLINK_ESCAPE))
			continue;
		buf_printf(out, "%s[!%s]", first ? "" : " ", tags[i].tag);
		first = false;
	}
}

static void json_risk(struct buf *b, unsigned risk)
{
	static const char *const names[] = {"git", "exec", "symlink", "symlink-escape", "ci",
					    "setid", "special", "large", "binary"};
	buf_putc(b, '[');
	bool first = true;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (risk & (1u << i)) {
			buf_printf(b, "%s\"%s\"", first ? "" : ",", names[i]);
			first = false;
		}
	}
	buf_putc(b, ']');
}

static void json_path(struct buf *b, const char *key, const char *path)
{
	buf_printf(b, ",\"%s\":", key);
	if (!quote_json(b, path, strlen(path))) {
		buf_printf(b, ",\"%s_hex\":\"", key);
		for (const unsigned char *p = (const unsigned char *)path; *p; p++)
			buf_printf(b, "%02x", *p);
		buf_putc(b, '"');
	}
}

static const char *type_name(enum tree_type t)
{
	return t == TREE_DIR ? "dir" : t == TREE_SYMLINK ? "symlink" : "file";
}

static void render_name_status_json(const struct changeset *cs, struct buf *b)
{
	char d1[DIGEST_STR_SIZE], d2[DIGEST_STR_SIZE];
	digest_to_str(&cs->base, d1);
	digest_to_str(&cs->out, d2);
	buf_printf(b, "{\"base\":\"%s\",\"out\":\"%s\",\"ignored\":%zu,\"changes\":[", d1, d2,
		   cs->n_ignored);
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		buf_printf(b, "%s{\"status\":\"%c\"", i ? "," : "", (char)c->kind);
		json_path(b, "path", c->path);
		if (c->old_path) {
			json_path(b, "old_path", c->old_path);
			buf_printf(b, ",\"similarity\":%u", c->similarity);
		}
		buf_printf(b, ",\"type\":\"%s\"",
			   type_name(c->has_new ? c->new_attr.type : c->old_attr.type));
		buf_puts(b, ",\"risk\":");
		json_risk(b, c->risk);
		if (c->ignored)
			buf_puts(b, ",\"ignored\":true");
		buf_putc(b, '}');
	}
	buf_puts(b, "]}\n");
}

static void render_name_status(struct out *w, const struct changeset *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		if (!side_is_blob(c, true) && !side_is_blob(c, false))
			continue; /* directories: see the JSON form */
		_cleanup_buf_ struct buf l = BUF_INIT;
		if (c->kind == CHANGE_RENAME) {
			buf_printf(&l, "R%03u\t", c->similarity);
			quote_path(&l, "", c->old_path, QUOTE_HIGH);
			buf_putc(&l, '\t');
		} else {
			buf_printf(&l, "%c\t", (char)c->kind);
		}
		quote_path(&l, "", c->path, QUOTE_HIGH);
		buf_putc(&l, '\n');
		out_put(w, NULL, l.data, l.len);
		out_end_change(w);
	}
}

static void render_stat(struct out *w, struct stat_row *rows, size_t n, unsigned width)
{
	size_t namew = 0, maxch = 0, files = 0, adds = 0, dels = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(rows[i].name);
		namew = l > namew ? l : namew;
		size_t ch = rows[i].adds + rows[i].dels;
		maxch = ch > maxch ? ch : maxch;
		adds += rows[i].adds;
		dels += rows[i].dels;
		files++;
	}
	char num[32];
	int numw = snprintf(num, sizeof num, "%zu", maxch);
	if (numw < 3)
		numw = 3;
	size_t total = width ? width : 80;
	if (namew > total / 2)
		namew = total / 2;
	size_t graphw = total > namew + (size_t)numw + 6 ? total - namew - (size_t)numw - 6 : 10;
	for (size_t i = 0; i < n; i++) {
		struct stat_row *r = &rows[i];
		_cleanup_buf_ struct buf l = BUF_INIT;
		size_t len = strlen(r->name);
		buf_putc(&l, ' ');
		if (len > namew) {
			buf_puts(&l, "...");
			buf_puts(&l, r->name + len - (namew > 3 ? namew - 3 : 0));
		} else {
			buf_puts(&l, r->name);
			for (size_t k = len; k < namew; k++)
				buf_putc(&l, ' ');
		}
		buf_puts(&l, " | ");
		if (r->binary) {
			buf_printf(&l, "Bin %" PRIu64 " -> %" PRIu64 " bytes", r->old_size, r->new_size);
		} else {
			size_t ch = r->adds + r->dels, pa = r->adds, pd = r->dels;
			if (maxch > graphw) {
				pa = (r->adds * graphw + maxch - 1) / maxch;
				pd = (r->dels * graphw + maxch - 1) / maxch;
			}
			buf_printf(&l, "%*zu%s", numw, ch, ch ? " " : "");
			if (w->o->color && pa)
				buf_puts(&l, C_GREEN);
			for (size_t k = 0; k < pa; k++)
				buf_putc(&l, '+');
			if (w->o->color && pa)
				buf_puts(&l, C_RESET);
			if (w->o->color && pd)
				buf_puts(&l, C_RED);
			for (size_t k = 0; k < pd; k++)
				buf_putc(&l, '-');
			if (w->o->color && pd)
				buf_puts(&l, C_RESET);
		}
		if (r->risk) {
			buf_putc(&l, ' ');
			if (w->o->color)
				buf_puts(&l, C_YELLOW);
			patch_risk_tags(&l, r->risk);
			if (w->o->color)
				buf_puts(&l, C_RESET);
		}
		buf_putc(&l, '\n');
		/* names are quoted already; contents of l are safe */
		buf_append(&w->file, l.data, l.len);
		out_end_change(w);
	}
	buf_printf(&w->file, " %zu file%s changed", files, files == 1 ? "" : "s");
	if (adds)
		buf_printf(&w->file, ", %zu insertion%s(+)", adds, adds == 1 ? "" : "s");
	if (dels)
		buf_printf(&w->file, ", %zu deletion%s(-)", dels, dels == 1 ? "" : "s");
	buf_putc(&w->file, '\n');
	out_end_change(w);
}

static int render(struct store *s, const struct changeset *cs, const struct patch_opts *o,
		  struct out *w, struct err *err)
{
	if (o->format == PATCH_FORMAT_NAME_STATUS_JSON) {
		render_name_status_json(cs, w->buf);
		return out_flush(w, true, err);
	}
	if (o->format == PATCH_FORMAT_NAME_STATUS) {
		render_name_status(w, cs);
		return out_flush(w, true, err);
	}
	struct gitmem g;
	int r = gitmem_open(&g, err);
	if (r < 0)
		return r;
	bool stat = o->format == PATCH_FORMAT_STAT;
	_cleanup_buf_ struct buf notes = BUF_INIT;
	if (!stat) {
		size_t ngit = 0;
		for (size_t i = 0; i < cs->n; i++) {
			const struct change *c = &cs->changes[i];
			ngit += changeset_is_git_change(c);
			change_notes(c, &notes);
		}
		if (ngit)
			buf_printf(&notes,
				   "# airlock: %zu change%s under .git/ not in this patch (see 'airlock diff --name-status'; 'airlock commit' carries commits)\n",
				   ngit, ngit == 1 ? "" : "s");
		if (cs->n_ignored)
			buf_printf(&notes, "# airlock: %zu change%s ignored by .gitignore not shown\n",
				   cs->n_ignored, cs->n_ignored == 1 ? "" : "s");
		out_put(w, C_YELLOW, notes.data ?: "", notes.len);
		out_end_change(w);
	}
	struct stat_row *rows = NULL;
	size_t nrows = 0;
	for (size_t i = 0; r >= 0 && i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		if (changeset_is_git_change(c))
			continue;
		if (!side_is_blob(c, false) && !side_is_blob(c, true))
			continue;
		git_diff *diff = NULL;
		struct stat_row row = {.risk = c->risk};
		row.old_size = side_is_blob(c, false) ? c->old_attr.size : 0;
		row.new_size = side_is_blob(c, true) ? c->new_attr.size : 0;
		bool same = side_is_blob(c, false) && side_is_blob(c, true) &&
			    c->old_attr.type == c->new_attr.type &&
			    digest_equal(&c->old_attr.digest, &c->new_attr.digest);
		if (is_large(c) || same) {
			row.binary = !same;
			if (!stat && (!same || c->old_path ||
				      git_mode(&c->old_attr) != git_mode(&c->new_attr)))
				meta_header(w, c);
		} else {
			r = change_diff(&g, s, c, o->context, &diff, err);
			if (r >= 0 && diff && stat)
				r = stat_of(diff, &row, err);
			else if (r >= 0 && diff)
				r = git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, print_cb, w) < 0
					    ? gitout_error(err, -EIO, "print")
					    : 0;
			git_diff_free(diff);
			git_mempack_reset(g.mp);
		}
		if (r >= 0 && stat) {
			_cleanup_buf_ struct buf name = BUF_INIT;
			if (c->old_path) {
				quote_path(&name, "", c->old_path, 0);
				buf_puts(&name, " => ");
			}
			quote_path(&name, "", c->path, 0);
			row.name = buf_detach(&name, NULL);
			rows = xrealloc(rows, (nrows + 1) * sizeof *rows);
			rows[nrows++] = row;
		}
		out_end_change(w);
		if (r >= 0)
			r = out_flush(w, false, err);
	}
	if (r >= 0 && stat)
		render_stat(w, rows, nrows, o->stat_width);
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].name);
	free(rows);
	gitmem_close(&g);
	if (r >= 0)
		r = out_flush(w, true, err);
	return r;
}

int patch_render_buf(struct store *s, const struct changeset *cs, const struct patch_opts *opts,
		     struct buf *out, struct err *err)
{
	struct patch_opts o = opts ? *opts : (struct patch_opts){0};
	if (o.color)
		o.safe = true;
	struct out w = {.fd = -1, .buf = out, .file = BUF_INIT, .o = &o};
	int r = render(s, cs, &o, &w, err);
	buf_release(&w.file);
	return r;
}

int patch_render(struct store *s, const struct changeset *cs, const struct patch_opts *opts,
		 int out_fd, struct err *err)
{
	struct patch_opts o = opts ? *opts : (struct patch_opts){0};
	if (o.color)
		o.safe = true;
	_cleanup_buf_ struct buf b = BUF_INIT;
	struct out w = {.fd = out_fd, .buf = &b, .file = BUF_INIT, .o = &o};
	int r = render(s, cs, &o, &w, err);
	buf_release(&w.file);
	return r;
}

int patch_opts_for_fd(struct patch_opts *opts, const char *color_arg, bool safe_flag, int out_fd,
		      struct err *err)
{
	bool tty = isatty(out_fd) == 1;
	if (!color_arg || !strcmp(color_arg, "auto")) {
		const char *term = getenv("TERM");
		opts->color = tty && term && strcmp(term, "dumb");
	} else if (!strcmp(color_arg, "always")) {
		opts->color = true;
	} else if (!strcmp(color_arg, "never")) {
		opts->color = false;
	} else {
		return err_set(err, -EINVAL, "--color: '%.64s': expected auto, always or never",
			       color_arg);
	}
	opts->safe = opts->color || tty || safe_flag;
	return 0;
}
