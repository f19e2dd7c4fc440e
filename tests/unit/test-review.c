/* Unit tests for snapshot/review on a real pty (forkpty): keys written to
 * the master, the screen read back; hostile names and contents must not
 * reach the terminal raw; termios restored on return and on a signal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "snapshot/review.h"

static struct err err;
static char *dir;        /* the fixture's scratch dir */
static struct store *st; /* the fixture's store */
static struct changeset cs;
static struct buf screen;

#define FIXTURE_NAME "review"
#define FIXTURE_INIT review_init
#define FIXTURE_FINI review_fini
#include "tests/unit/fixture.h"

#define EVIL_NAME "\033]0;pwned\007evil\nname"

static struct tree_attr blob(const char *content, enum tree_type t, uint32_t perm)
{
	struct tree_attr a = {.type = t, .perm = perm, .size = strlen(content)};
	OK(store_put(st, content, strlen(content), &a.digest, &err));
	return a;
}

/* Once for the group: the changeset every test reviews. */
static int review_init(struct fixture *f)
{
	dir = f->dir;
	st = f->s;
	/* Sorted bytewise: the ESC name first. */
	struct tree_attr evil = blob("hello \033[31mred\033[m \033]52;c;Zm9v\007\n", TREE_FILE, 0644);
	cs_add(&cs, CHANGE_ADD, EVIL_NAME, NULL, &evil, 0);
	const char *old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
	const char *new_ = "1\nTWO\n3\n4\n5\nSIX\n7\n8\n9\n10\n";
	struct tree_attr o = blob(old, TREE_FILE, 0644), n = blob(new_, TREE_FILE, 0644);
	cs_add(&cs, CHANGE_MODIFY, "t", &o, &n, 0);
	struct tree_attr l = blob("/etc", TREE_SYMLINK, 0777);
	cs_add(&cs, CHANGE_ADD, "z", NULL, &l, RISK_SYMLINK | RISK_SYMLINK_ESCAPE);
	return 0;
}

static void review_fini(struct fixture *f)
{
	(void)f;
	cs_release(&cs);
	buf_release(&screen);
}

/* Reads the master until want appears (or 5 s pass). */
static void expect(int master, const char *want)
{
	for (int waited = 0; waited < 5000;) {
		if (screen.data && strstr(screen.data, want))
			return;
		struct pollfd p = {.fd = master, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0) {
			waited += 100;
			continue;
		}
		char b[4096];
		ssize_t n = read(master, b, sizeof b);
		if (n <= 0)
			break;
		buf_append(&screen, b, (size_t)n);
	}
	fail_msg("timed out waiting for '%s'; screen:\n%s", want, screen.data ? screen.data : "");
}

static void key(int master, const char *k)
{
	assert_int_equal(write(master, k, strlen(k)), (ssize_t)strlen(k));
}

static pid_t spawn(int *master)
{
	pid_t pid = forkpty(master, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		struct termios before, after;
		tcgetattr(0, &before);
		_cleanup_(decisions_freep) struct decisions *d = decisions_new(&cs.base, &cs.out);
		struct review_opts o = {.in_fd = 0, .out_fd = 1};
		int r = review_run(st, &cs, d, &o, &err);
		tcgetattr(0, &after);
		if (r < 0)
			_exit(2);
		if (before.c_lflag != after.c_lflag)
			_exit(3);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (decisions_save_at(d, dfd, "decisions.json", &err) < 0)
			_exit(4);
		_exit(r == 1 ? 1 : 0);
	}
	return pid;
}

static void test_review_session(void **state)
{
	(void)state;
	buf_reset(&screen);
	int master;
	pid_t pid = spawn(&master);
	expect(master, "Accept this change");
	key(master, "y");
	expect(master, "(1/1) Accept this hunk [y,n,a,d,s,q,?]");
	key(master, "s");
	expect(master, "(1/2) Accept this hunk");
	key(master, "y");
	expect(master, "(2/2) Accept this hunk");
	key(master, "?");
	expect(master, "split this hunk");
	key(master, "n");
	expect(master, "symlink to /etc");
	key(master, "n");
	expect(master, "Review complete.");
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* drain the rest */
	char b[4096];
	ssize_t n;
	while ((n = read(master, b, sizeof b)) > 0)
		buf_append(&screen, b, (size_t)n);
	close(master);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* No raw ESC or BEL from agent data (no color asked for). */
	assert_null(memchr(screen.data, '\033', screen.len));
	assert_null(memchr(screen.data, '\007', screen.len));
	assert_non_null(strstr(screen.data, "\"\\033]0;pwned\\aevil\\nname\""));
	assert_non_null(strstr(screen.data, "hello ^[[31mred"));
	assert_non_null(strstr(screen.data, "-2"));
	assert_non_null(strstr(screen.data, "+TWO"));

	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(decisions_freep) struct decisions *d = NULL;
	OK(decisions_load_at(dfd, "decisions.json", &d, &err));
	close(dfd);
	assert_int_equal(decisions_get(d, EVIL_NAME), DECISION_ACCEPT);
	assert_int_equal(decisions_get(d, "t"), DECISION_ACCEPT);
	assert_true(decisions_has_blocks(d, "t"));
	assert_int_equal(decisions_get(d, "z"), DECISION_REJECT);
	enum accept_reason why;
	assert_true(decisions_accepts(d, &cs.changes[1], &why));
	assert_int_equal(why, ACCEPT_PARTIAL);
	struct tree_attr merged;
	OK(decisions_resolve_new(st, d, &cs.changes[1], why, &merged, &err));
	struct buf m = BUF_INIT;
	OK(store_get(st, &merged.digest, 1 << 20, &m, &err));
	assert_string_equal(m.data, "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n");
	buf_release(&m);
}

static void test_signal_restores_terminal(void **state)
{
	(void)state;
	buf_reset(&screen);
	int master;
	pid_t pid = spawn(&master);
	expect(master, "Accept this change");
	struct termios t;
	assert_int_equal(tcgetattr(master, &t), 0);
	assert_false(t.c_lflag & ICANON); /* raw while reviewing */
	kill(pid, SIGTERM);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(tcgetattr(master, &t), 0);
	assert_true(t.c_lflag & ICANON);
	assert_true(t.c_lflag & ECHO);
	close(master);
}

static void test_quit_keeps_decisions(void **state)
{
	(void)state;
	buf_reset(&screen);
	int master;
	pid_t pid = spawn(&master);
	expect(master, "Accept this change");
	key(master, "n");
	expect(master, "Accept this hunk");
	key(master, "q");
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(master);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(decisions_freep) struct decisions *d = NULL;
	OK(decisions_load_at(dfd, "decisions.json", &d, &err));
	close(dfd);
	assert_int_equal(decisions_get(d, EVIL_NAME), DECISION_REJECT);
	assert_int_equal(decisions_get(d, "t"), DECISION_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_review_session),
		cmocka_unit_test(test_signal_restores_terminal),
		cmocka_unit_test(test_quit_keeps_decisions),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
