/* Unit tests for snapshot/gitcommit against a real repository made with
 * the git command: the branch's tree, its parent, and an untouched work
 * tree, index and HEAD. Skips if git is missing. */
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
#include <unistd.h>

#include "snapshot/gitcommit.h"

static struct err err;
static char *repo;       /* the fixture's dir/ws */
static struct store *st; /* the fixture's store */

#define FIXTURE_NAME "gitcommit"
#define FIXTURE_INIT gitcommit_init
#define FIXTURE_FINI gitcommit_fini
#include "tests/unit/fixture.h"

/* Runs git -C repo ARGS..., returns its stdout (malloc'ed) or NULL if it
 * failed. */
static char *git(const char *first, ...)
{
	const char *argv[32] = {"git", "-C", repo, first};
	size_t n = 4;
	va_list ap;
	va_start(ap, first);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		setenv("GIT_AUTHOR_NAME", "t", 1);
		setenv("GIT_AUTHOR_EMAIL", "t@t", 1);
		setenv("GIT_COMMITTER_NAME", "t", 1);
		setenv("GIT_COMMITTER_EMAIL", "t@t", 1);
		execvp("git", (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	struct buf b = BUF_INIT;
	fs_read_fd(p[0], 1 << 20, &b, NULL);
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static int gitcommit_init(struct fixture *f)
{
	st = f->s;
	repo = xasprintf("%s/ws", f->dir);
	mkdir(repo, 0755);
	return 0;
}

static void gitcommit_fini(struct fixture *f)
{
	(void)f;
	free(repo);
}

static struct tree_attr file_attr(const char *content, uint32_t perm)
{
	struct tree_attr a = {.type = TREE_FILE, .perm = perm, .size = strlen(content)};
	OK(store_put(st, content, strlen(content), &a.digest, &err));
	return a;
}

static void test_commit_branch(void **state)
{
	(void)state;
	_cleanup_free_ char *init = git("init", "-q", "-b", "main", NULL);
	if (!init) {
		if (getenv("AIRLOCK_TEST_STRICT"))
			fail_msg("git missing");
		skip();
	}
	int dfd = open(repo, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	put(dfd, "a", "alpha\n", 0644);
	put(dfd, "gone", "bye\n", 0644);
	put(dfd, "tool", "#!/bin/sh\n", 0644);
	mkdirat(dfd, "d", 0755);
	put(dfd, "d/x", "x\n", 0644);
	free(git("add", "-A", NULL));
	free(git("commit", "-q", "-m", "base", NULL));
	_cleanup_free_ char *head = git("rev-parse", "HEAD", NULL);
	assert_non_null(head);
	head[40] = 0;
	put(dfd, "a", "user edit in the work tree\n", 0644);
	close(dfd);

	struct tree_attr oa = file_attr("alpha\n", 0644), na = file_attr("alpha 2\n", 0644);
	struct tree_attr og = file_attr("bye\n", 0644), ot = file_attr("#!/bin/sh\n", 0644);
	struct tree_attr nt = file_attr("#!/bin/sh\n", 0755), hook = file_attr("evil\n", 0755);
	struct tree_attr dd = {.type = TREE_DIR, .perm = 0755}, ox = file_attr("x\n", 0644);
	struct tree_attr dfile = file_attr("d is a file now\n", 0644);
	struct tree_attr nl = {.type = TREE_SYMLINK, .perm = 0777, .size = 1};
	OK(store_put(st, "a", 1, &nl.digest, &err));
	struct changeset cs = {0};
	cs_add(&cs, CHANGE_ADD, ".git/hooks/pre-commit", NULL, &hook, RISK_GIT_DIR);
	cs_add(&cs, CHANGE_MODIFY, "a", &oa, &na, 0);
	cs_add(&cs, CHANGE_TYPE, "d", &dd, &dfile, 0);
	cs_add(&cs, CHANGE_DELETE, "d/x", &ox, NULL, 0);
	cs_add(&cs, CHANGE_DELETE, "gone", &og, NULL, 0);
	cs_add(&cs, CHANGE_ADD, "link", NULL, &nl, RISK_SYMLINK);
	cs_add(&cs, CHANGE_ADD, "new/deep/file", NULL, &na, 0);
	cs_add(&cs, CHANGE_MODE, "tool", &ot, &nt, RISK_EXECUTABLE);

	char hex[GITCOMMIT_HEX_SIZE];
	OK(gitcommit_create(st, &cs, NULL, repo, head, "agent", "agent work\n", false, hex, &err));
	_cleanup_free_ char *tree = git("ls-tree", "-r", "agent", NULL);
	assert_non_null(tree);
	assert_non_null(strstr(tree, "100755 blob"));
	assert_non_null(strstr(tree, "\ttool\n"));
	assert_non_null(strstr(tree, "120000 blob"));
	assert_non_null(strstr(tree, "\tnew/deep/file\n"));
	assert_null(strstr(tree, "gone"));
	assert_null(strstr(tree, "d/x"));
	assert_null(strstr(tree, ".git"));
	_cleanup_free_ char *a = git("show", "agent:a", NULL);
	assert_string_equal(a, "alpha 2\n");
	_cleanup_free_ char *dcontent = git("show", "agent:d", NULL);
	assert_string_equal(dcontent, "d is a file now\n");
	_cleanup_free_ char *parent = git("rev-parse", "agent^", NULL);
	assert_memory_equal(parent, head, 40);
	/* HEAD, index and work tree untouched. */
	_cleanup_free_ char *head2 = git("rev-parse", "HEAD", NULL);
	assert_memory_equal(head2, head, 40);
	_cleanup_free_ char *status = git("status", "--porcelain", NULL);
	assert_string_equal(status, " M a\n");

	/* The branch exists: refused, unless forced. */
	assert_int_equal(gitcommit_create(st, &cs, NULL, repo, head, "agent", NULL, false, NULL,
					  &err),
			 -EEXIST);
	assert_non_null(strstr(err.msg, "--force"));
	OK(gitcommit_create(st, &cs, NULL, repo, head, "agent", "again\n", true, hex, &err));
	_cleanup_free_ char *msg = git("log", "-1", "--format=%s", "agent", NULL);
	assert_string_equal(msg, "again\n");
	assert_int_equal(gitcommit_create(st, &cs, NULL, repo, head, "bad..name", NULL, false,
					  NULL, &err),
			 -EINVAL);
	cs_release(&cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_branch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
