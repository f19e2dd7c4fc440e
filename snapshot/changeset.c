/* changeset: the differences between two stored trees.
 *
 * Both trees are walked in parallel in canonical (bytewise) order; a
 * subtree with the same digest on both sides is skipped without being
 * read, so the cost is proportional to what changed, not to the size of
 * the workspace. Then renames are paired (exact content first, by digest,
 * then git's similarity through libgit2 for what is left), risk bits are
 * set and the list is sorted by path.
 *
 * .gitignore: parsed here (not by libgit2, whose ignore rules need a
 * repository with a work tree on disk). Supported: blank lines and
 * '#' comments, '!' negation, trailing '/' (directories only), a leading
 * or middle '/' anchoring the pattern to the .gitignore's directory, '*',
 * '?', '[...]' (with '!'/'^' negation and ranges), '\' escapes, and '**' as
 * a leading "**" + "/", a trailing "/" + "**" or a middle "/" + "**" + "/". As in git, the
 * deepest .gitignore wins, the last matching line of a file wins, and
 * nothing below an ignored directory can be re-included. Not read:
 * .git/info/exclude, core.excludesFile. Trailing spaces are stripped
 * unless escaped.
 */
#include "snapshot/changeset.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/macros.h"
#include "lib/xalloc.h"
#include "snapshot/patch.h"

#define DIR_OBJECT_MAX (64u << 20)
#define GITIGNORE_MAX (1u << 20)
#define SYMLINK_TARGET_MAX 4095

/* ---- .gitignore rules ---- */

struct ign_rule {
	char *pat;
	bool neg, dir_only, anchored;
};

struct ign_level {
	size_t prefix_len; /* length of the directory's path ("" → 0) */
	struct ign_rule *rules;
	size_t n;
};

static bool class_match(const char **pp, unsigned char c)
{
	const char *p = *pp + 1; /* after '[' */
	bool neg = false, hit = false;
	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	const char *first = p;
	while (*p && (*p != ']' || p == first)) {
		unsigned char lo = (unsigned char)*p, hi;
		if (lo == '\\' && p[1])
			lo = (unsigned char)*++p;
		p++;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			if (*p == '\\' && p[1])
				p++;
			hi = (unsigned char)*p++;
		} else {
			hi = lo;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p != ']')
		return false; /* unterminated: git treats as no match */
	*pp = p + 1;
	return hit != neg;
}

/* wildmatch-like: '*' and '?' never match '/', "**" spans directories. */
static bool glob_match(const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			const char *rest = p + 2;
			if (*rest == '/') {
				rest++;
				/* zero or more directories */
				for (const char *t = s;; t++) {
					if ((t == s || t[-1] == '/') && glob_match(rest, t))
						return true;
					if (!*t)
						return false;
				}
			}
			if (!*rest)
				return true;
			/* "**" elsewhere behaves like "*" that may cross '/' */
			for (const char *t = s;; t++) {
				if (glob_match(rest, t))
					return true;
				if (!*t)
					return false;
			}
		}
		switch (*p) {
		case '*':
			for (const char *t = s;; t++) {
				if (glob_match(p + 1, t))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		case '?':
			if (!*s || *s == '/')
				return false;
			p++;
			s++;
			break;
		case '[':
			if (!*s || *s == '/' || !class_match(&p, (unsigned char)*s))
				return false;
			s++;
			break;
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p != *s)
				return false;
			p++;
			s++;
		}
	}
	return !*s;
}

static void ign_parse(const char *data, size_t len, struct ign_level *lv)
{
	size_t cap = 0;
	const char *end = data + len;
	for (const char *line = data; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - line);
		const char *next = nl ? nl + 1 : end;
		if (n && line[n - 1] == '\r')
			n--;
		while (n && line[n - 1] == ' ' && !(n >= 2 && line[n - 2] == '\\'))
			n--;
		if (!n || line[0] == '#' || memchr(line, '\0', n)) {
			line = next;
			continue;
		}
		struct ign_rule r = {0};
		if (line[0] == '!') {
			r.neg = true;
			line++;
			n--;
		}
		if (n && line[n - 1] == '/') {
			r.dir_only = true;
			n--;
		}
		if (n && line[0] == '/') {
			r.anchored = true;
			line++;
			n--;
		}
		if (memchr(line, '/', n))
			r.anchored = true;
		if (n) {
			r.pat = xstrndup(line, n);
			xgrow(&lv->rules, &cap, lv->n + 1, sizeof *lv->rules);
			lv->rules[lv->n++] = r;
		}
		line = next;
	}
}

static void ign_level_release(struct ign_level *lv)
{
	for (size_t i = 0; i < lv->n; i++)
		free(lv->rules[i].pat);
	free(lv->rules);
}

/* ---- the walk ---- */

struct walk {
	struct store *s;
	struct changeset_opts opts;
	struct change *v;
	size_t n, cap;
	struct buf path;
	struct ign_level *lv;
	size_t nlv, caplv;
	size_t n_ignored;
};

/* 1 ignored, 0 not, by the innermost level that has a matching rule. */
static bool is_ignored(struct walk *w, const char *path, bool is_dir)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = w->nlv; i-- > 0;) {
		const struct ign_level *lv = &w->lv[i];
		const char *rel = path + lv->prefix_len + (lv->prefix_len ? 1 : 0);
		for (size_t k = lv->n; k-- > 0;) {
			const struct ign_rule *r = &lv->rules[k];
			if (r->dir_only && !is_dir)
				continue;
			if (glob_match(r->pat, r->anchored ? rel : base))
				return !r->neg;
		}
	}
	return false;
}

bool changeset_is_git_path(const char *path)
{
	for (const char *p = path; p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 4 && !strncasecmp(p, ".git", 4))
			return true;
		p = slash ? slash + 1 : NULL;
	}
	return false;
}

bool changeset_is_git_change(const struct change *c)
{
	return changeset_is_git_path(c->path) || (c->old_path && changeset_is_git_path(c->old_path));
}

static int read_dir(struct store *s, const struct digest *d, const char *path,
		    struct tree_dirent **ret, size_t *ret_n, struct err *err)
{
	*ret = NULL;
	*ret_n = 0;
	if (!d)
		return 0;
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = store_get(s, d, DIR_OBJECT_MAX, &b, err);
	if (r >= 0)
		r = tree_decode(b.data, b.len, ret, ret_n, err);
	if (r < 0)
		return err_prefix(err, "directory '%s'", *path ? path : ".");
	return 0;
}

static void push_change(struct walk *w, enum change_kind kind, const struct tree_attr *a,
			const struct tree_attr *b, bool ignored)
{
	if (ignored && !w->opts.include_ignored) {
		w->n_ignored++;
		return;
	}
	xgrow(&w->v, &w->cap, w->n + 1, sizeof *w->v);
	struct change *c = &w->v[w->n++];
	*c = (struct change){.kind = kind, .path = xstrdup(w->path.data), .ignored = ignored};
	if (a) {
		c->has_old = true;
		c->old_attr = *a;
	}
	if (b) {
		c->has_new = true;
		c->new_attr = *b;
	}
}

static int load_gitignore(struct walk *w, const struct tree_dirent *e, size_t n, bool *pushed,
			  struct err *err)
{
	*pushed = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].name, ".gitignore") || e[i].attr.type != TREE_FILE)
			continue;
		if (e[i].attr.size > GITIGNORE_MAX)
			return 0;
		_cleanup_buf_ struct buf b = BUF_INIT;
		int r = store_get(w->s, &e[i].attr.digest, GITIGNORE_MAX, &b, err);
		if (r < 0)
			return err_prefix(err, "'%s%s.gitignore'", w->path.data,
					  w->path.len ? "/" : "");
		xgrow(&w->lv, &w->caplv, w->nlv + 1, sizeof *w->lv);
		struct ign_level *lv = &w->lv[w->nlv++];
		*lv = (struct ign_level){.prefix_len = w->path.len};
		ign_parse(b.data ?: "", b.len, lv);
		*pushed = true;
		return 0;
	}
	return 0;
}

static bool attr_equal(const struct tree_attr *a, const struct tree_attr *b)
{
	return a->type == b->type && a->perm == b->perm && a->uid == b->uid && a->gid == b->gid &&
	       a->size == b->size && digest_equal(&a->digest, &b->digest);
}

static int diff_dir(struct walk *w, const struct digest *da, const struct digest *db, int depth,
		    bool ign, struct err *err);

static int diff_entry(struct walk *w, const struct tree_attr *a, const struct tree_attr *b,
		      int depth, bool ign, struct err *err)
{
	const struct tree_attr *side = b ? b : a;
	bool ignored = ign || (!changeset_is_git_path(w->path.data) &&
			       is_ignored(w, w->path.data, side->type == TREE_DIR));
	const struct digest *sub_a = a && a->type == TREE_DIR ? &a->digest : NULL;
	const struct digest *sub_b = b && b->type == TREE_DIR ? &b->digest : NULL;
	if (!a) {
		push_change(w, CHANGE_ADD, NULL, b, ignored);
	} else if (!b) {
		push_change(w, CHANGE_DELETE, a, NULL, ignored);
	} else if (attr_equal(a, b)) {
		return 0;
	} else if (a->type != b->type) {
		push_change(w, CHANGE_TYPE, a, b, ignored);
	} else if (a->type == TREE_DIR) {
		if (a->perm != b->perm || a->uid != b->uid || a->gid != b->gid)
			push_change(w, CHANGE_MODE, a, b, ignored);
		if (digest_equal(&a->digest, &b->digest))
			return 0;
	} else if (a->size != b->size || !digest_equal(&a->digest, &b->digest)) {
		push_change(w, CHANGE_MODIFY, a, b, ignored);
	} else {
		push_change(w, CHANGE_MODE, a, b, ignored);
	}
	if (sub_a || sub_b) {
		if (depth + 1 > TREE_DEPTH_MAX)
			return err_set(err, -ELOOP, "'%.200s...': nested deeper than %d directories",
				       w->path.data, TREE_DEPTH_MAX);
		return diff_dir(w, sub_a, sub_b, depth + 1, ignored, err);
	}
	return 0;
}

static int diff_dir(struct walk *w, const struct digest *da, const struct digest *db, int depth,
		    bool ign, struct err *err)
{
	struct tree_dirent *ea = NULL, *eb = NULL;
	size_t na = 0, nb = 0;
	bool pushed = false;
	int r = read_dir(w->s, da, w->path.data, &ea, &na, err);
	if (r >= 0)
		r = read_dir(w->s, db, w->path.data, &eb, &nb, err);
	/* Rules come from the out side where the directory still exists. */
	if (r >= 0 && !ign)
		r = db ? load_gitignore(w, eb, nb, &pushed, err) : load_gitignore(w, ea, na, &pushed, err);
	size_t i = 0, k = 0;
	while (r >= 0 && (i < na || k < nb)) {
		int c = i >= na ? 1 : k >= nb ? -1 : strcmp(ea[i].name, eb[k].name);
		const struct tree_attr *a = c <= 0 ? &ea[i].attr : NULL;
		const struct tree_attr *b = c >= 0 ? &eb[k].attr : NULL;
		const char *name = c <= 0 ? ea[i].name : eb[k].name;
		size_t mark = w->path.len;
		if (w->path.len)
			buf_putc(&w->path, '/');
		buf_puts(&w->path, name);
		r = diff_entry(w, a, b, depth, ign, err);
		w->path.len = mark;
		w->path.data[mark] = '\0';
		if (c <= 0)
			i++;
		if (c >= 0)
			k++;
	}
	if (pushed)
		ign_level_release(&w->lv[--w->nlv]);
	tree_dirents_free(ea, na);
	tree_dirents_free(eb, nb);
	return r < 0 ? r : 0;
}

/* ---- renames ---- */

static bool renamable(const struct change *c)
{
	const struct tree_attr *a = c->kind == CHANGE_DELETE ? &c->old_attr : &c->new_attr;
	return (c->kind == CHANGE_DELETE || c->kind == CHANGE_ADD) && a->type != TREE_DIR &&
	       !changeset_is_git_path(c->path);
}

static void make_rename(struct change *del, struct change *add, unsigned score)
{
	add->kind = CHANGE_RENAME;
	add->old_path = del->path;
	add->has_old = true;
	add->old_attr = del->old_attr;
	add->similarity = score;
	add->ignored = add->ignored && del->ignored;
	del->path = NULL; /* marks the delete as consumed */
}

static int cmp_digest_idx(const void *x, const void *y, void *ud)
{
	const struct change *v = ud;
	const struct change *a = &v[*(const size_t *)x], *b = &v[*(const size_t *)y];
	int c = memcmp(&a->old_attr.digest, &b->old_attr.digest, sizeof a->old_attr.digest);
	if (c)
		return c;
	c = (int)a->old_attr.type - (int)b->old_attr.type;
	if (c)
		return c;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static int find_renames(struct walk *w, struct err *err)
{
	_cleanup_free_ size_t *dels = NULL;
	_cleanup_free_ size_t *adds = NULL;
	size_t nd = 0, na = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (!renamable(&w->v[i]))
			continue;
		if (w->v[i].kind == CHANGE_DELETE) {
			dels = xrealloc(dels, (nd + 1) * sizeof *dels);
			dels[nd++] = i;
		} else {
			adds = xrealloc(adds, (na + 1) * sizeof *adds);
			adds[na++] = i;
		}
	}
	if (!nd || !na)
		return 0;
	/* Exact: same content and type. Deletes sorted by digest; each add
	 * takes the first unused delete with its digest (path order). */
	qsort_r(dels, nd, sizeof *dels, cmp_digest_idx, w->v);
	for (size_t k = 0; k < na; k++) {
		struct change *add = &w->v[adds[k]];
		size_t lo = 0, hi = nd;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const struct change *d = &w->v[dels[mid]];
			int c = memcmp(&d->old_attr.digest, &add->new_attr.digest, sizeof d->old_attr.digest);
			if (!c)
				c = (int)d->old_attr.type - (int)add->new_attr.type;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; j < nd; j++) {
			struct change *d = &w->v[dels[j]];
			if (!digest_equal(&d->old_attr.digest, &add->new_attr.digest) ||
			    d->old_attr.type != add->new_attr.type)
				break;
			if (d->path) {
				make_rename(d, add, 100);
				break;
			}
		}
	}
	/* Inexact, through libgit2, for regular files under the size cap. */
	size_t limit = w->opts.rename_limit ? w->opts.rename_limit : 1000;
	_cleanup_free_ struct patch_rename_cand *cd = xcalloc(nd, sizeof *cd);
	_cleanup_free_ struct patch_rename_cand *ca = xcalloc(na, sizeof *ca);
	_cleanup_free_ size_t *cdi = xcalloc(nd, sizeof *cdi);
	_cleanup_free_ size_t *cai = xcalloc(na, sizeof *cai);
	size_t ncd = 0, nca = 0;
	for (size_t j = 0; j < nd; j++) {
		struct change *d = &w->v[dels[j]];
		if (d->path && d->old_attr.type == TREE_FILE && d->old_attr.size &&
		    d->old_attr.size <= CHANGESET_LARGE) {
			cd[ncd] = (struct patch_rename_cand){d->path, &d->old_attr.digest, d->old_attr.size};
			cdi[ncd++] = dels[j];
		}
	}
	for (size_t k = 0; k < na; k++) {
		struct change *a = &w->v[adds[k]];
		if (a->kind == CHANGE_ADD && a->new_attr.type == TREE_FILE && a->new_attr.size &&
		    a->new_attr.size <= CHANGESET_LARGE) {
			ca[nca] = (struct patch_rename_cand){a->path, &a->new_attr.digest, a->new_attr.size};
			cai[nca++] = adds[k];
		}
	}
	if (!ncd || !nca || ncd > limit || nca > limit)
		return 0;
	_cleanup_free_ long *pair = xcalloc(ncd, sizeof *pair);
	_cleanup_free_ unsigned *score = xcalloc(ncd, sizeof *score);
	unsigned thr = w->opts.rename_threshold ? w->opts.rename_threshold : 50;
	int r = patch_find_renames(w->s, cd, ncd, ca, nca, thr, pair, score, err);
	if (r < 0)
		return r;
	for (size_t j = 0; j < ncd; j++) {
		if (pair[j] < 0)
			continue;
		struct change *a = &w->v[cai[pair[j]]];
		struct change *d = &w->v[cdi[j]];
		if (a->kind == CHANGE_ADD && d->path)
			make_rename(d, a, score[j] > 99 ? 99 : score[j]);
	}
	return 0;
}

/* ---- risk ---- */

static bool is_ci_path(const char *path)
{
	static const char *const prefixes[] = {
		".github/", ".gitlab/", ".circleci/", ".buildkite/", ".vscode/", ".idea/",
		".devcontainer/", ".husky/", ".cargo/", ".config/", ".gitea/", ".forgejo/",
	};
	static const char *const names[] = {
		".gitlab-ci.yml", ".travis.yml", "Jenkinsfile", "azure-pipelines.yml",
		".envrc", ".gitattributes", ".gitmodules", ".pre-commit-config.yaml",
		"Makefile", "GNUmakefile", "makefile", "CMakeLists.txt", "meson.build",
		"package.json", ".npmrc", ".yarnrc", ".yarnrc.yml", "setup.py", "setup.cfg",
		"pyproject.toml", "conftest.py", "tox.ini", "noxfile.py", "build.rs", "Cargo.toml",
		"Dockerfile", "docker-compose.yml", "Rakefile", "Gemfile", "build.gradle",
		"pom.xml", ".bashrc", ".profile", ".zshrc", "flake.nix", "shell.nix",
	};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return true;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(base, names[i]))
			return true;
	return false;
}

/* True if target, as a symlink at path, is absolute or climbs above the
 * root (lexically: the tree has no other symlinks to follow in between
 * that we could trust). */
static bool symlink_escapes(const char *path, const char *target, size_t len)
{
	if (!len || target[0] == '/')
		return true;
	long depth = 0;
	for (const char *p = path; (p = strchr(p, '/')); p++)
		depth++;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && target[j] != '/')
			j++;
		size_t n = j - i;
		if (n == 2 && target[i] == '.' && target[i + 1] == '.') {
			if (--depth < 0)
				return true;
		} else if (n && !(n == 1 && target[i] == '.')) {
			depth++;
		}
		i = j + 1;
	}
	return false;
}

static int set_risk(struct store *s, struct change *c, struct err *err)
{
	const struct tree_attr *n = c->has_new ? &c->new_attr : NULL;
	const struct tree_attr *o = c->has_old ? &c->old_attr : NULL;
	if (changeset_is_git_change(c))
		c->risk |= RISK_GIT_DIR;
	if (is_ci_path(c->path) || (c->old_path && is_ci_path(c->old_path)))
		c->risk |= RISK_CI_CONFIG;
	if (!n)
		return 0;
	if (n->type == TREE_FILE && (n->perm & 0111) &&
	    !(o && o->type == TREE_FILE && (o->perm & 0111)))
		c->risk |= RISK_EXECUTABLE;
	if (n->type == TREE_FILE && n->size > CHANGESET_LARGE)
		c->risk |= RISK_LARGE;
	if (n->type == TREE_SYMLINK) {
		c->risk |= RISK_SYMLINK;
		_cleanup_buf_ struct buf t = BUF_INIT;
		int r = store_get(s, &n->digest, SYMLINK_TARGET_MAX, &t, err);
		if (r < 0)
			return err_prefix(err, "symlink '%s'", c->path);
		if (symlink_escapes(c->path, t.data ?: "", t.len))
			c->risk |= RISK_SYMLINK_ESCAPE;
	}
	if (n->type == TREE_FILE && n->size && n->size <= CHANGESET_LARGE &&
	    (c->kind != CHANGE_MODE)) {
		_cleanup_buf_ struct buf b = BUF_INIT;
		int r = store_get(s, &n->digest, CHANGESET_LARGE, &b, err);
		if (r < 0)
			return err_prefix(err, "'%s'", c->path);
		/* git's rule: a NUL in the first 8000 bytes means binary. */
		if (memchr(b.data, '\0', b.len < 8000 ? b.len : 8000))
			c->risk |= RISK_BINARY;
	}
	return 0;
}

static int cmp_change(const void *x, const void *y)
{
	return strcmp(((const struct change *)x)->path, ((const struct change *)y)->path);
}

void changeset_free(struct changeset *cs)
{
	if (!cs)
		return;
	for (size_t i = 0; i < cs->n; i++) {
		free(cs->changes[i].path);
		free(cs->changes[i].old_path);
	}
	free(cs->changes);
	free(cs);
}

int changeset_compute(struct store *s, const struct digest *base, const struct digest *out,
		      const struct changeset_opts *opts, struct changeset **ret, struct err *err)
{
	struct walk w = {.s = s, .path = BUF_INIT};
	if (opts)
		w.opts = *opts;
	buf_puts(&w.path, "");
	int r = 0;
	if (!digest_equal(base, out))
		r = diff_dir(&w, base, out, 1, false, err);
	if (r >= 0 && !w.opts.no_renames)
		r = find_renames(&w, err);
	/* Drop the deletes consumed by renames. */
	size_t k = 0;
	for (size_t i = 0; i < w.n; i++)
		if (w.v[i].path)
			w.v[k++] = w.v[i];
	w.n = k;
	for (size_t i = 0; r >= 0 && i < w.n; i++)
		r = set_risk(s, &w.v[i], err);
	buf_release(&w.path);
	for (size_t i = 0; i < w.nlv; i++)
		ign_level_release(&w.lv[i]);
	free(w.lv);
	struct changeset *cs = xcalloc(1, sizeof *cs);
	cs->changes = w.v;
	cs->n = w.n;
	if (r < 0) {
		changeset_free(cs);
		return r;
	}
	if (cs->n > 1)
		qsort(cs->changes, cs->n, sizeof *cs->changes, cmp_change);
	cs->base = *base;
	cs->out = *out;
	cs->n_ignored = w.n_ignored;
	*ret = cs;
	return 0;
}
