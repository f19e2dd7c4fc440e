/* Unit tests for snapshot/patch with real libgit2 and real git:
 *  - property: random base/out trees (text and binary files, no trailing
 *    newline, empty files, mode changes, symlinks, deletes, dir<->file,
 *    renames, names with spaces, newlines, tabs, UTF-8 and ESC); the patch,
 *    applied by `git apply` to an extract of the base, must give exactly
 *    the out tree's digest. AIRLOCK_TEST_SEED / AIRLOCK_TEST_ITER override.
 *  - hostile: names and contents with ESC/OSC/CSI never reach a terminal
 *    rendering raw; the plain patch keeps them byte-exact.
 *  - stat / name-status / JSON forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/tree.h"
#include "lib/xalloc.h"
#include "snapshot/changeset.h"
#include "snapshot/patch.h"
#include "snapshot/quote.h"

#define FIXTURE_NAME "patch"
#include "tests/unit/fixture.h"

/* ---- a model of a tree: files and symlinks by path (dirs implied) ---- */

struct ent {
	char *path;
	bool link;
	uint32_t perm;
	struct buf data;
};

struct model {
	struct ent *v;
	size_t n;
};

static void model_release(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].path);
		buf_release(&m->v[i].data);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static void model_copy(struct model *dst, const struct model *src)
{
	dst->v = xcalloc(src->n + 1, sizeof *dst->v);
	dst->n = src->n;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].path = xstrdup(src->v[i].path);
		dst->v[i].data = (struct buf)BUF_INIT;
		buf_append(&dst->v[i].data, src->v[i].data.data ?: "", src->v[i].data.len);
	}
}

/* True if path can be added: no entry at path, no entry at one of its
 * parents, no entry below it. */
static bool model_free_at(const struct model *m, const char *path)
{
	size_t pl = strlen(path);
	for (size_t i = 0; i < m->n; i++) {
		const char *q = m->v[i].path;
		size_t ql = strlen(q);
		if (!strcmp(q, path))
			return false;
		if (ql < pl && !strncmp(q, path, ql) && path[ql] == '/')
			return false;
		if (pl < ql && !strncmp(q, path, pl) && q[pl] == '/')
			return false;
	}
	return true;
}

static struct ent *model_add(struct model *m, const char *path)
{
	m->v = xrealloc(m->v, (m->n + 1) * sizeof *m->v);
	struct ent *e = &m->v[m->n++];
	*e = (struct ent){.path = xstrdup(path), .perm = 0644, .data = BUF_INIT};
	return e;
}

static void model_del(struct model *m, size_t i)
{
	free(m->v[i].path);
	buf_release(&m->v[i].data);
	m->v[i] = m->v[--m->n];
}

static const char *const names[] = {
	"a", "b", "c.txt", "sp ace", "new\nline", "tab\there", "utf-\xc3\xa9t\xc3\xa9",
	"esc\033[31mred", "osc\033]52;c;aGk=\a", "q\"uote", "back\\slash", "Makefile", "x.sh",
	"-dash", "dir", "z",
};

static void rand_name(struct buf *b)
{
	buf_puts(b, names[rand() % ARRAY_SIZE(names)]);
	if (rand() % 3 == 0)
		buf_printf(b, "%d", rand() % 10);
}

static void rand_path(char **ret)
{
	struct buf b = BUF_INIT;
	int depth = rand() % 3;
	for (int i = 0; i < depth; i++) {
		rand_name(&b);
		buf_putc(&b, '/');
	}
	rand_name(&b);
	*ret = buf_detach(&b, NULL);
}

static void rand_content(struct buf *b)
{
	buf_reset(b);
	int kind = rand() % 10;
	if (kind == 0)
		return; /* empty */
	if (kind == 1) {
		int n = 1 + rand() % 600;
		for (int i = 0; i < n; i++)
			buf_putc(b, (char)(rand() % 4 ? rand() % 256 : 0));
		return;
	}
	int lines = 1 + rand() % 40;
	for (int i = 0; i < lines; i++) {
		buf_printf(b, "line %d word%d", i, rand() % 5);
		if (rand() % 15 == 0)
			buf_puts(b, " \033[2J\033]0;title\a\r");
		buf_putc(b, '\n');
	}
	if (rand() % 4 == 0 && b->len)
		b->len--; /* no newline at end of file */
}

static void edit_content(struct buf *b)
{
	if (!b->len || rand() % 4 == 0) {
		rand_content(b);
		return;
	}
	/* change a line or append one */
	if (rand() % 2)
		buf_printf(b, "appended %d\n", rand());
	else
		b->data[rand() % b->len] = 'X';
}

static void rand_add(struct model *m)
{
	for (int tries = 0; tries < 20; tries++) {
		_cleanup_free_ char *p = NULL;
		rand_path(&p);
		if (!model_free_at(m, p))
			continue;
		struct ent *e = model_add(m, p);
		if (rand() % 8 == 0) {
			e->link = true;
			e->perm = 0777;
			buf_puts(&e->data, rand() % 2 ? "a" : "../sp ace");
		} else {
			e->perm = rand() % 4 ? 0644 : 0755;
			rand_content(&e->data);
		}
		return;
	}
}

static void mutate(struct model *m)
{
	int ops = 1 + rand() % 6;
	for (int k = 0; k < ops; k++) {
		int op = rand() % 9;
		if (!m->n || op == 0) {
			rand_add(m);
			continue;
		}
		size_t i = (size_t)rand() % m->n;
		struct ent *e = &m->v[i];
		switch (op) {
		case 1: /* modify */
			if (e->link) {
				buf_reset(&e->data);
				buf_puts(&e->data, "c.txt");
			} else {
				edit_content(&e->data);
			}
			break;
		case 2: /* chmod */
			if (!e->link)
				e->perm = e->perm == 0644 ? 0755 : 0644;
			break;
		case 3: /* delete */
			model_del(m, i);
			break;
		case 4: { /* rename, maybe edited */
			_cleanup_free_ char *p = NULL;
			rand_path(&p);
			char *old = e->path;
			e->path = xstrdup("\x01tmp");
			if (model_free_at(m, p)) {
				free(e->path);
				free(old);
				e->path = TAKE_PTR(p);
				if (!e->link && rand() % 2)
					edit_content(&e->data);
			} else {
				free(e->path);
				e->path = old;
			}
			break;
		}
		case 5: /* file <-> symlink */
			buf_reset(&e->data);
			e->link = !e->link;
			e->perm = e->link ? 0777 : 0644;
			if (e->link)
				buf_puts(&e->data, "b");
			else
				rand_content(&e->data);
			break;
		case 6: { /* file -> dir (not symlink -> dir: git apply refuses to
			   create below a symlink it deletes in the same patch, ELOOP) */
			if (e->link)
				break;
			char *p = xasprintf("%s/inner", e->path);
			char *old = e->path;
			e->path = p;
			free(old);
			e->link = false;
			e->perm = 0644;
			rand_content(&e->data);
			break;
		}
		case 7: { /* dir -> file: replace everything below a parent */
			char *slash = strrchr(e->path, '/');
			if (!slash)
				break;
			_cleanup_free_ char *dir = xstrndup(e->path, (size_t)(slash - e->path));
			size_t dl = strlen(dir);
			for (size_t j = m->n; j-- > 0;)
				if (!strncmp(m->v[j].path, dir, dl) && m->v[j].path[dl] == '/')
					model_del(m, j);
			if (model_free_at(m, dir)) {
				struct ent *n = model_add(m, dir);
				rand_content(&n->data);
			}
			break;
		}
		default:
			rand_add(m);
		}
	}
}

static void model_write(const struct model *m, int dfd)
{
	struct err err = {0};
	for (size_t i = 0; i < m->n; i++) {
		const struct ent *e = &m->v[i];
		const char *slash = strrchr(e->path, '/');
		if (slash) {
			_cleanup_free_ char *dir = xstrndup(e->path, (size_t)(slash - e->path));
			OK(fs_mkdir_p(dfd, dir, 0755, &err));
		}
		if (e->link) {
			if (symlinkat(e->data.data, dfd, e->path) < 0)
				fail_msg("symlink %s: %m", e->path);
			continue;
		}
		int fd = openat(dfd, e->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			fail_msg("create %s: %m", e->path);
		assert_int_equal(fs_write_all(fd, e->data.data ?: "", e->data.len), 0);
		fchmod(fd, e->perm);
		close(fd);
	}
}

static void model_import(struct fixture *f, const struct model *m, const char *name,
			 struct digest *ret)
{
	struct err err = {0};
	_cleanup_free_ char *p = xasprintf("%s/%s", f->dir, name);
	fs_rm_rf_at(AT_FDCWD, p, NULL);
	assert_int_equal(mkdir(p, 0755), 0);
	_cleanup_close_ int dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	model_write(m, dfd);
	OK(tree_import_dir(f->s, dfd, NULL, ret, &err));
}

/* Runs `git apply patch` in dir (outside any repository); returns the exit
 * status, git's stderr left in f->dir/git.err. */
static int git_apply(struct fixture *f, const char *dir, const char *patch)
{
	_cleanup_free_ char *errp = xasprintf("%s/git.err", f->dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		dup2(e, 2);
		if (chdir(dir) < 0)
			_exit(126);
		setenv("GIT_CEILING_DIRECTORIES", f->dir, 1);
		const char *argv[] = {"git", "apply", "--whitespace=nowarn", patch, NULL};
		execvp("git", (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, data, len), 0);
	close(fd);
}

static void check_roundtrip(struct fixture *f, const struct digest *da, const struct digest *db,
			    unsigned seed)
{
	struct err err = {0};
	_cleanup_(changeset_freep) struct changeset *cs = NULL;
	OK(changeset_compute(f->s, da, db, NULL, &cs, &err));
	_cleanup_buf_ struct buf patch = BUF_INIT;
	OK(patch_render_buf(f->s, cs, NULL, &patch, &err));
	_cleanup_free_ char *pp = xasprintf("%s/p.patch", f->dir);
	write_file(pp, patch.data ?: "", patch.len);
	_cleanup_free_ char *ap = xasprintf("%s/apply", f->dir);
	fs_rm_rf_at(AT_FDCWD, ap, NULL);
	assert_int_equal(mkdir(ap, 0755), 0);
	_cleanup_close_ int dfd = open(ap, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	OK(tree_extract(f->s, da, dfd, &err));
	/* extracts are read-only like checkouts: make them writable for git */
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[] = {"chmod", "-R", "u+w", ap, NULL};
		execvp("chmod", (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	if (patch.len) {
		int r = git_apply(f, ap, pp);
		if (r != 0) {
			_cleanup_buf_ struct buf e = BUF_INIT;
			_cleanup_free_ char *ep = xasprintf("%s/git.err", f->dir);
			fs_read_file_at(AT_FDCWD, ep, 4096, &e, &err);
			fprintf(stderr, "%.*s", (int)patch.len, patch.data);
			fail_msg("seed %u: git apply failed (%d): %s", seed, r, e.data ?: "");
		}
	}
	struct digest got;
	OK(tree_import_dir(f->s, dfd, NULL, &got, &err));
	if (!digest_equal(&got, db)) {
		char a[DIGEST_STR_SIZE], b[DIGEST_STR_SIZE];
		digest_to_str(&got, a);
		digest_to_str(db, b);
		fail_msg("seed %u: applied tree %s, want %s (patch %s)", seed, a, b, pp);
	}
}

static void test_property_git_apply(void **state)
{
	struct fixture *f = *state;
	const char *s = getenv("AIRLOCK_TEST_SEED");
	const char *it = getenv("AIRLOCK_TEST_ITER");
	unsigned seed0 = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
	int iters = it ? atoi(it) : 150;
	print_message("property seed %u, %d iterations\n", seed0, iters);
	for (int i = 0; i < iters; i++) {
		unsigned seed = seed0 + (unsigned)i;
		srand(seed);
		struct model base = {0}, out = {0};
		int n = rand() % 12;
		for (int k = 0; k < n; k++)
			rand_add(&base);
		model_copy(&out, &base);
		mutate(&out);
		struct digest da, db;
		model_import(f, &base, "base", &da);
		model_import(f, &out, "out", &db);
		check_roundtrip(f, &da, &db, seed);
		model_release(&base);
		model_release(&out);
	}
}

/* ---- hostile names and contents ---- */

static void put_blob(struct fixture *f, struct tree *t, const char *path, const void *data,
		     size_t len, uint32_t perm)
{
	struct err err = {0};
	struct tree_attr a = {.type = TREE_FILE, .perm = perm, .size = len};
	OK(store_put(f->s, data, len, &a.digest, &err));
	OK(tree_set(t, f->s, path, &a, &err));
}

/* No C0 byte but \t and \n; with color, only SGR sequences we emit. */
static void assert_terminal_safe(const struct buf *b, bool color)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (c == '\033' && color) {
			size_t j = i + 1;
			if (j < b->len && b->data[j] == '[') {
				j++;
				while (j < b->len && ((b->data[j] >= '0' && b->data[j] <= '9') || b->data[j] == ';'))
					j++;
				if (j < b->len && b->data[j] == 'm') {
					i = j;
					continue;
				}
			}
			fail_msg("raw ESC not an SGR at %zu: %.40s", i, b->data + i);
		}
		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
			fail_msg("raw control byte 0x%02x at offset %zu", c, i);
		if (c == 0xc2 && i + 1 < b->len && (unsigned char)b->data[i + 1] >= 0x80 &&
		    (unsigned char)b->data[i + 1] <= 0x9f)
			fail_msg("raw C1 control at offset %zu", i);
	}
}

static void test_hostile(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_(tree_freep) struct tree *a = tree_new();
	_cleanup_(tree_freep) struct tree *b = tree_new();
	static const char evil[] = "ok line\n\033]52;c;ZXZpbA==\a\033[2J\033[1A\rhidden\x7f \xc2\x9b" "31m\n";
	put_blob(f, a, "plain", "x\n", 2, 0644);
	put_blob(f, b, "plain", evil, sizeof evil - 1, 0644);
	put_blob(f, b, "name\n+++ b/forged", "1\n", 2, 0644);
	put_blob(f, b, "esc\033[31mred\033]8;;http:x\a", "2\n", 2, 0644);
	put_blob(f, b, "c1\xc2\x9b" "2J", "3\n", 2, 0644);
	put_blob(f, b, "bad\xff" "utf8", "4\n", 2, 0644);
	struct digest da, db;
	OK(tree_write(a, f->s, &da, &err));
	OK(tree_write(b, f->s, &db, &err));
	_cleanup_(changeset_freep) struct changeset *cs = NULL;
	OK(changeset_compute(f->s, &da, &db, NULL, &cs, &err));

	static const enum patch_format fmts[] = {PATCH_FORMAT_PATCH, PATCH_FORMAT_STAT,
						 PATCH_FORMAT_NAME_STATUS,
						 PATCH_FORMAT_NAME_STATUS_JSON};
	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		for (int color = 0; color < 2; color++) {
			struct patch_opts o = {.format = fmts[i], .safe = true, .color = color};
			_cleanup_buf_ struct buf out = BUF_INIT;
			OK(patch_render_buf(f->s, cs, &o, &out, &err));
			assert_terminal_safe(&out, color);
			if (fmts[i] == PATCH_FORMAT_PATCH)
				assert_non_null(strstr(out.data, "shown escaped"));
		}
	}
	/* the plain patch is byte-exact, and git reproduces the tree */
	_cleanup_buf_ struct buf plain = BUF_INIT;
	OK(patch_render_buf(f->s, cs, NULL, &plain, &err));
	assert_non_null(memmem(plain.data, plain.len, "\033]52;c;ZXZpbA==\a", 16));
	assert_null(strstr(plain.data, "\n+++ b/forged"));
	check_roundtrip(f, &da, &db, 0);
}

static void test_forms(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_(tree_freep) struct tree *a = tree_new();
	_cleanup_(tree_freep) struct tree *b = tree_new();
	put_blob(f, a, "src/a.c", "int a;\n", 7, 0644);
	put_blob(f, a, "old", "moved content\n", 14, 0644);
	put_blob(f, b, "src/a.c", "int a;\nint b;\n", 14, 0644);
	put_blob(f, b, "new", "moved content\n", 14, 0644);
	put_blob(f, b, "run.sh", "#!/bin/sh\n", 10, 0755);
	put_blob(f, b, ".github/workflows/x.yml", "on: push\n", 9, 0644);
	put_blob(f, b, "bin\xff", "\0\1\2", 3, 0600);
	struct digest da, db;
	OK(tree_write(a, f->s, &da, &err));
	OK(tree_write(b, f->s, &db, &err));
	_cleanup_(changeset_freep) struct changeset *cs = NULL;
	OK(changeset_compute(f->s, &da, &db, NULL, &cs, &err));

	_cleanup_buf_ struct buf st = BUF_INIT;
	struct patch_opts o = {.format = PATCH_FORMAT_STAT};
	OK(patch_render_buf(f->s, cs, &o, &st, &err));
	assert_non_null(strstr(st.data, " src/a.c "));
	assert_non_null(strstr(st.data, "old => new"));
	assert_non_null(strstr(st.data, "[!exec]"));
	assert_non_null(strstr(st.data, "[!ci]"));
	assert_non_null(strstr(st.data, "Bin 0 -> 3 bytes"));
	assert_non_null(strstr(st.data, "5 files changed, 3 insertions(+)"));

	_cleanup_buf_ struct buf ns = BUF_INIT;
	o.format = PATCH_FORMAT_NAME_STATUS;
	OK(patch_render_buf(f->s, cs, &o, &ns, &err));
	assert_non_null(strstr(ns.data, "R100\told\tnew\n"));
	assert_non_null(strstr(ns.data, "M\tsrc/a.c\n"));
	assert_non_null(strstr(ns.data, "A\t\"bin\\377\"\n"));

	_cleanup_buf_ struct buf js = BUF_INIT;
	o.format = PATCH_FORMAT_NAME_STATUS_JSON;
	OK(patch_render_buf(f->s, cs, &o, &js, &err));
	assert_non_null(strstr(js.data, "\"status\":\"R\",\"path\":\"new\",\"old_path\":\"old\",\"similarity\":100"));
	assert_non_null(strstr(js.data, "\"path_hex\":\"62696eff\""));
	assert_non_null(strstr(js.data, "\"risk\":[\"exec\"]"));

	/* perm 0600 is noted */
	_cleanup_buf_ struct buf p = BUF_INIT;
	OK(patch_render_buf(f->s, cs, NULL, &p, &err));
	assert_non_null(strstr(p.data, "# airlock: \"bin\\377\": perm 0600"));
	assert_non_null(strstr(p.data, "GIT binary patch"));
}

/* A file over CHANGESET_LARGE is never loaded: header and note only. */
static void test_large(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_(tree_freep) struct tree *a = tree_new();
	_cleanup_(tree_freep) struct tree *b = tree_new();
	put_blob(f, a, "k", "k\n", 2, 0644);
	put_blob(f, b, "k", "k\n", 2, 0644);
	/* not even in the store: rendering must not need it */
	struct tree_attr big = {.type = TREE_FILE, .perm = 0644, .size = 1ull << 30};
	memset(big.digest.b, 0xab, sizeof big.digest.b);
	OK(tree_set(b, f->s, "sparse.img", &big, &err));
	struct digest da, db;
	OK(tree_write(a, f->s, &da, &err));
	OK(tree_write(b, f->s, &db, &err));
	_cleanup_(changeset_freep) struct changeset *cs = NULL;
	OK(changeset_compute(f->s, &da, &db, NULL, &cs, &err));
	assert_int_equal(cs->n, 1);
	assert_true(cs->changes[0].risk & RISK_LARGE);
	_cleanup_buf_ struct buf p = BUF_INIT;
	OK(patch_render_buf(f->s, cs, NULL, &p, &err));
	assert_non_null(strstr(p.data, "Binary files /dev/null and b/sparse.img differ\n"));
	assert_non_null(strstr(p.data, "1073741824 bytes, over the"));
	_cleanup_buf_ struct buf st = BUF_INIT;
	struct patch_opts o = {.format = PATCH_FORMAT_STAT};
	OK(patch_render_buf(f->s, cs, &o, &st, &err));
	assert_non_null(strstr(st.data, "Bin 0 -> 1073741824 bytes [!large]"));
}

static void test_quote(void **state)
{
	(void)state;
	struct {
		const char *in, *high, *low;
	} cases[] = {
		{"plain", "plain", "plain"},
		{"sp ace", "sp ace", "sp ace"},
		{"a\nb", "\"a/a\\nb\"", "\"a/a\\nb\""},
		{"e\033[1m", "\"a/e\\033[1m\"", "\"a/e\\033[1m\""},
		{"\xc3\xa9", "\"a/\\303\\251\"", "\xc3\xa9"},
		{"c1\xc2\x9b", "\"a/c1\\302\\233\"", "\"a/c1\\302\\233\""},
		{"q\"\\", "\"a/q\\\"\\\\\"", "\"a/q\\\"\\\\\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_buf_ struct buf h = BUF_INIT;
		_cleanup_buf_ struct buf l = BUF_INIT;
		quote_path(&h, "a/", cases[i].in, QUOTE_HIGH);
		quote_path(&l, "a/", cases[i].in, 0);
		const char *wl = cases[i].low;
		_cleanup_free_ char *wl2 = wl[0] == '"' ? xstrdup(wl) : xasprintf("a/%s", wl);
		_cleanup_free_ char *wh2 = cases[i].high[0] == '"' ? xstrdup(cases[i].high)
								   : xasprintf("a/%s", cases[i].high);
		assert_string_equal(h.data, wh2);
		assert_string_equal(l.data, wl2);
	}
}

int main(void)
{
	/* Files the tests write get the modes they ask for. */
	umask(022);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test_setup_teardown(test_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_property_git_apply, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
