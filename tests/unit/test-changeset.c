/* Unit tests for snapshot/changeset: kinds, renames, risk bits,
 * .gitignore rules, and that identical subtrees are never read. */
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
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/tree.h"
#include "lib/xalloc.h"
#include "snapshot/changeset.h"

#define FIXTURE_NAME "changeset"
#include "tests/unit/fixture.h"

/* Sets path in t to a file (perm) or, with perm 0, a symlink to content. */
static void set(struct tree *t, struct store *s, const char *path, const char *content,
		uint32_t perm)
{
	struct err err = {0};
	struct tree_attr a = {.type = perm ? TREE_FILE : TREE_SYMLINK, .perm = perm ? perm : 0777,
			      .size = strlen(content)};
	OK(store_put(s, content, strlen(content), &a.digest, &err));
	OK(tree_set(t, s, path, &a, &err));
}

static void set_bin(struct tree *t, struct store *s, const char *path, const char *data,
		    size_t len)
{
	struct err err = {0};
	struct tree_attr a = {.type = TREE_FILE, .perm = 0644, .size = len};
	OK(store_put(s, data, len, &a.digest, &err));
	OK(tree_set(t, s, path, &a, &err));
}

static void write_tree(struct tree *t, struct store *s, struct digest *d)
{
	struct err err = {0};
	OK(tree_write(t, s, d, &err));
}

static const struct change *find(const struct changeset *cs, const char *path)
{
	for (size_t i = 0; i < cs->n; i++)
		if (!strcmp(cs->changes[i].path, path))
			return &cs->changes[i];
	return NULL;
}

static const char long_text[] =
	"line one of a file long enough for similarity\n"
	"line two of a file long enough for similarity\n"
	"line three of a file long enough for similarity\n"
	"line four of a file long enough for similarity\n"
	"line five of a file long enough for similarity\n"
	"line six of a file long enough for similarity\n";

static void test_kinds(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_(tree_freep) struct tree *a = tree_new();
	_cleanup_(tree_freep) struct tree *b = tree_new();
	set(a, f->s, "keep/x", "same\n", 0644);
	set(a, f->s, "mod", "old\n", 0644);
	set(a, f->s, "mode", "m\n", 0644);
	set(a, f->s, "gone", "bye\n", 0644);
	set(a, f->s, "f2d", "file\n", 0644);
	set(a, f->s, "d2f/inner", "in\n", 0644);
	set(a, f->s, "moved", "exactly this content\n", 0644);
	set(a, f->s, "similar", long_text, 0644);
	set(a, f->s, "t", "was a file\n", 0644);

	set(b, f->s, "keep/x", "same\n", 0644);
	set(b, f->s, "mod", "new\n", 0644);
	set(b, f->s, "mode", "m\n", 0755);
	set(b, f->s, "f2d/inner", "other\n", 0644);
	set(b, f->s, "d2f", "now a file\n", 0644);
	set(b, f->s, "there", "exactly this content\n", 0644);
	char edited[sizeof long_text + 16];
	snprintf(edited, sizeof edited, "%sline seven\n", long_text);
	set(b, f->s, "similar2", edited, 0644);
	set(b, f->s, "t", "../../etc/passwd", 0);
	set(b, f->s, "run.sh", "#!/bin/sh\n", 0755);
	set(b, f->s, ".github/workflows/ci.yml", "on: push\n", 0644);
	set(b, f->s, ".git/hooks/pre-commit", "#!/bin/sh\n", 0755);
	set_bin(b, f->s, "bin", "\x7f" "ELF\0\1\2", 7);

	struct digest da, db;
	write_tree(a, f->s, &da);
	write_tree(b, f->s, &db);
	_cleanup_(changeset_freep) struct changeset *cs = NULL;
	OK(changeset_compute(f->s, &da, &db, NULL, &cs, &err));
	for (size_t i = 1; i < cs->n; i++)
		assert_true(strcmp(cs->changes[i - 1].path, cs->changes[i].path) < 0);
	assert_null(find(cs, "keep"));
	assert_null(find(cs, "keep/x"));
	assert_int_equal(find(cs, "mod")->kind, CHANGE_MODIFY);
	assert_int_equal(find(cs, "mode")->kind, CHANGE_MODE);
	assert_true(find(cs, "mode")->risk & RISK_EXECUTABLE);
	assert_int_equal(find(cs, "gone")->kind, CHANGE_DELETE);
	assert_int_equal(find(cs, "f2d")->kind, CHANGE_TYPE);
	assert_int_equal(find(cs, "f2d/inner")->kind, CHANGE_ADD);
	assert_int_equal(find(cs, "d2f")->kind, CHANGE_TYPE);
	assert_int_equal(find(cs, "d2f/inner")->kind, CHANGE_DELETE);
	const struct change *c = find(cs, "there");
	assert_int_equal(c->kind, CHANGE_RENAME);
	assert_string_equal(c->old_path, "moved");
	assert_int_equal(c->similarity, 100);
	assert_null(find(cs, "moved"));
	c = find(cs, "similar2");
	assert_int_equal(c->kind, CHANGE_RENAME);
	assert_string_equal(c->old_path, "similar");
	assert_true(c->similarity >= 50 && c->similarity < 100);
	c = find(cs, "t");
	assert_int_equal(c->kind, CHANGE_TYPE);
	assert_true(c->risk & RISK_SYMLINK);
	assert_true(c->risk & RISK_SYMLINK_ESCAPE);
	assert_true(find(cs, "run.sh")->risk & RISK_EXECUTABLE);
	assert_true(find(cs, ".github/workflows/ci.yml")->risk & RISK_CI_CONFIG);
	assert_true(find(cs, ".git/hooks/pre-commit")->risk & RISK_GIT_DIR);
	assert_true(find(cs, "bin")->risk & RISK_BINARY);
	assert_false(find(cs, "mod")->risk & RISK_BINARY);

	/* no renames when asked */
	_cleanup_(changeset_freep) struct changeset *cs2 = NULL;
	struct changeset_opts o = {.no_renames = true};
	OK(changeset_compute(f->s, &da, &db, &o, &cs2, &err));
	assert_int_equal(find(cs2, "there")->kind, CHANGE_ADD);
	assert_int_equal(find(cs2, "moved")->kind, CHANGE_DELETE);

	/* same tree: nothing */
	_cleanup_(changeset_freep) struct changeset *cs3 = NULL;
	OK(changeset_compute(f->s, &da, &da, NULL, &cs3, &err));
	assert_int_equal(cs3->n, 0);
}

/* A change is a .git change by its path or its old path, in any case, by
 * whole components only. */
static void test_git_change(void **state)
{
	(void)state;
	struct change c = {.path = (char *)"a/.GIT/hooks/x"};
	assert_true(changeset_is_git_change(&c));
	c.path = (char *)"a.git/x.git/.gitignore";
	assert_false(changeset_is_git_change(&c));
	c.old_path = (char *)".Git";
	assert_true(changeset_is_git_change(&c));
	c.old_path = (char *)"x/.git2/y";
	assert_false(changeset_is_git_change(&c));
}

static void test_symlink_escape(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	static const struct {
		const char *path, *target;
		bool escapes;
	} cases[] = {
		{"a", "b", false},          {"a", "/etc", true},     {"a", "..", true},
		{"d/a", "../b", false},     {"d/a", "../../b", true}, {"d/e/a", "./../x/../../y", false},
		{"d/a", "x/../../../y", true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(tree_freep) struct tree *a = tree_new();
		_cleanup_(tree_freep) struct tree *b = tree_new();
		set(a, f->s, "keep", "k\n", 0644);
		set(b, f->s, "keep", "k\n", 0644);
		set(b, f->s, cases[i].path, cases[i].target, 0);
		struct digest da, db;
		write_tree(a, f->s, &da);
		write_tree(b, f->s, &db);
		_cleanup_(changeset_freep) struct changeset *cs = NULL;
		OK(changeset_compute(f->s, &da, &db, NULL, &cs, &err));
		const struct change *c = find(cs, cases[i].path);
		assert_non_null(c);
		if (!!(c->risk & RISK_SYMLINK_ESCAPE) != cases[i].escapes)
			fail_msg("%s -> %s: escape %d", cases[i].path, cases[i].target, cases[i].escapes);
	}
}

static void test_gitignore(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_(tree_freep) struct tree *a = tree_new();
	_cleanup_(tree_freep) struct tree *b = tree_new();
	const char *gi = "# objects\n*.o\n/build/\n!keep.o\nlogs/**/*.log\ndocs/*.tmp\n";
	set(a, f->s, ".gitignore", gi, 0644);
	set(a, f->s, "src/main.c", "int main;\n", 0644);
	set(b, f->s, ".gitignore", gi, 0644);
	set(b, f->s, "src/main.c", "int main;\n", 0644);
	set(b, f->s, "src/main.o", "obj", 0644);   /* ignored: *.o anywhere */
	set(b, f->s, "keep.o", "obj", 0644);       /* re-included */
	set(b, f->s, "build/out", "x", 0644);      /* ignored dir: dir + file */
	set(b, f->s, "src/build/out", "x", 0644);  /* /build/ is anchored: shown */
	set(b, f->s, "logs/a/b/c.log", "l", 0644); /* ignored */
	set(b, f->s, "logs/c.log", "l", 0644);     /* ** matches zero dirs */
	set(b, f->s, "docs/x.tmp", "t", 0644);     /* ignored */
	set(b, f->s, "docs/sub/x.tmp", "t", 0644); /* '*' does not cross '/' */
	set(b, f->s, "sub/.gitignore", "*.c\n", 0644);
	set(b, f->s, "sub/x.c", "c", 0644);        /* ignored by the deeper file */
	set(b, f->s, ".git/x.o", "g", 0644);       /* never ignored under .git */
	struct digest da, db;
	write_tree(a, f->s, &da);
	write_tree(b, f->s, &db);
	_cleanup_(changeset_freep) struct changeset *cs = NULL;
	OK(changeset_compute(f->s, &da, &db, NULL, &cs, &err));
	assert_null(find(cs, "src/main.o"));
	assert_non_null(find(cs, "keep.o"));
	assert_null(find(cs, "build"));
	assert_null(find(cs, "build/out"));
	assert_non_null(find(cs, "src/build/out"));
	assert_null(find(cs, "logs/a/b/c.log"));
	assert_null(find(cs, "logs/c.log"));
	assert_null(find(cs, "docs/x.tmp"));
	assert_non_null(find(cs, "docs/sub/x.tmp"));
	assert_null(find(cs, "sub/x.c"));
	assert_non_null(find(cs, "sub/.gitignore"));
	assert_non_null(find(cs, ".git/x.o"));
	size_t shown = cs->n;

	_cleanup_(changeset_freep) struct changeset *all = NULL;
	struct changeset_opts o = {.include_ignored = true};
	OK(changeset_compute(f->s, &da, &db, &o, &all, &err));
	assert_int_equal(all->n, shown + cs->n_ignored);
	assert_int_equal(all->n_ignored, 0);
	assert_true(find(all, "src/main.o")->ignored);
	assert_true(find(all, "build/out")->ignored);
	assert_false(find(all, "keep.o")->ignored);
}

/* A subtree equal on both sides is never read: delete its object from the
 * store and the changeset still works. */
static void test_skips_identical(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_(tree_freep) struct tree *a = tree_new();
	_cleanup_(tree_freep) struct tree *b = tree_new();
	for (int i = 0; i < 50; i++) {
		char p[64];
		snprintf(p, sizeof p, "big/dir%d/file", i);
		set(a, f->s, p, p, 0644);
		set(b, f->s, p, p, 0644);
	}
	set(a, f->s, "x", "1\n", 0644);
	set(b, f->s, "x", "2\n", 0644);
	struct digest da, db;
	write_tree(a, f->s, &da);
	write_tree(b, f->s, &db);
	struct tree_attr big;
	OK(tree_get(b, f->s, "big", &big, &err));
	OK(store_delete_object(f->s, &big.digest, &err));
	_cleanup_(changeset_freep) struct changeset *cs = NULL;
	OK(changeset_compute(f->s, &da, &db, NULL, &cs, &err));
	assert_int_equal(cs->n, 1);
	assert_string_equal(cs->changes[0].path, "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
		cmocka_unit_test(test_git_change),
		cmocka_unit_test_setup_teardown(test_symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gitignore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skips_identical, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
