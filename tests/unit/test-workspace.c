/* Unit tests for snapshot/workspace: same digest as tree_import_dir, the
 * stat cache makes an unchanged snapshot read no file, edits are seen,
 * racy entries are re-hashed, a cache whose root left the store is
 * dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/tree.h"
#include "snapshot/workspace.h"

#define FIXTURE_NAME "workspace"
#define FIXTURE_FIELDS \
	char *ws;      \
	int wfd;
#define FIXTURE_INIT workspace_init
#define FIXTURE_FINI workspace_fini
#include "tests/unit/fixture.h"

/* Lets the coarse clock move past every ctime written so far, so the next
 * snapshot's stamp is newer than all of them (no racy entries). */
static void settle(void)
{
	nanosleep(&(struct timespec){0, 30 * 1000 * 1000}, NULL);
}

static int workspace_init(struct fixture *f)
{
	f->ws = xasprintf("%s/ws", f->dir);
	mkdir(f->ws, 0755);
	f->wfd = open(f->ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int d = f->wfd;
	put(d, "README", "hello\n", 0644);
	put(d, "empty", "", 0644);
	put(d, "run.sh", "#!/bin/sh\n", 0755);
	mkdirat(d, ".git", 0755);
	put(d, ".git/HEAD", "ref: refs/heads/main\n", 0644);
	mkdirat(d, "src", 0755);
	mkdirat(d, "src/deep", 0700);
	put(d, "src/a.c", "int a;\n", 0644);
	put(d, "src/deep/b.c", "int b;\n", 0600);
	if (symlinkat("../README", d, "src/link") < 0)
		return -1;
	mkfifoat(d, "fifo", 0644);
	mkdirat(d, "emptydir", 0755);
	return 0;
}

static void workspace_fini(struct fixture *f)
{
	close(f->wfd);
	free(f->ws);
}

static void expect_import(struct fixture *f, const struct digest *got)
{
	struct err err = {0};
	struct digest want;
	OK(tree_import_dir(f->s, f->wfd, NULL, &want, &err));
	if (!digest_equal(&want, got))
		fail_msg("snapshot differs from tree_import_dir");
}

static void snap(struct fixture *f, struct workspace_stats *st, struct digest *d)
{
	struct err err = {0};
	OK(snapshot_workspace_ex(f->s, f->ws, NULL, st, d, &err));
}

static void test_matches_import_and_cache(void **state)
{
	struct fixture *f = *state;
	struct workspace_stats st;
	struct digest d1, d2;
	settle();
	snap(f, &st, &d1);
	/* The cache names the tree, so its objects were synced before it
	 * was written (store_sync), as for a ref. */
	struct store_sync_counts sc;
	store_get_sync_counts(f->s, &sc);
	assert_true(sc.fsync >= st.files_read);
	expect_import(f, &d1);
	assert_false(st.cache_loaded);
	assert_true(st.cache_written);
	assert_int_equal(st.skipped, 1); /* the fifo */
	assert_int_equal(st.files_read, 7);

	snap(f, &st, &d2);
	assert_true(digest_equal(&d1, &d2));
	assert_true(st.cache_loaded);
	assert_int_equal(st.files_read, 0);
	assert_int_equal(st.bytes_read, 0);
	assert_int_equal(st.racy, 0);
	assert_int_equal(st.dirs_reused, 5); /* root, .git, src, src/deep, emptydir */
	assert_false(st.cache_written);

	/* without the cache everything is read again */
	struct workspace_opts o = {.no_cache = true};
	struct err err = {0};
	OK(snapshot_workspace_ex(f->s, f->ws, &o, &st, &d2, &err));
	assert_true(digest_equal(&d1, &d2));
	assert_int_equal(st.files_read, 7);
}

static void test_edits_seen(void **state)
{
	struct fixture *f = *state;
	struct workspace_stats st;
	struct digest d1, d2, d3;
	settle();
	snap(f, &st, &d1);
	/* same size, right after the snapshot: mtime/ctime differ in ns */
	put(f->wfd, "src/a.c", "int x;\n", 0644);
	snap(f, &st, &d2);
	assert_false(digest_equal(&d1, &d2));
	expect_import(f, &d2);
	assert_int_equal(st.files_read, 1);
	assert_true(st.dirs_reused >= 3); /* .git, src/deep, emptydir untouched */

	/* chmod, add, delete, rename, symlink retarget, dir -> file */
	assert_int_equal(fchmodat(f->wfd, "README", 0600, 0), 0);
	put(f->wfd, "src/new", "new\n", 0644);
	unlinkat(f->wfd, "empty", 0);
	renameat(f->wfd, "run.sh", f->wfd, "run2.sh");
	unlinkat(f->wfd, "src/link", 0);
	assert_int_equal(symlinkat("a.c", f->wfd, "src/link"), 0);
	unlinkat(f->wfd, "emptydir", AT_REMOVEDIR);
	put(f->wfd, "emptydir", "now a file\n", 0644);
	snap(f, &st, &d3);
	expect_import(f, &d3);
	/* README (ctime), run2.sh (ctime), src/new, src/link, emptydir; plus any
	 * entry still racy from the edit just before the previous snapshot */
	assert_true(st.files_read <= 5 + st.racy);
}

/* An entry whose mtime is not older than the cache's stamp is re-hashed
 * even when its stat data matches exactly. */
static void test_racy(void **state)
{
	struct fixture *f = *state;
	struct workspace_stats st;
	struct digest d1, d2;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct timespec t[2] = {{now.tv_sec + 3600, 0}, {now.tv_sec + 3600, 0}};
	assert_int_equal(utimensat(f->wfd, "README", t, AT_SYMLINK_NOFOLLOW), 0);
	settle();
	snap(f, &st, &d1);
	snap(f, &st, &d2);
	assert_true(digest_equal(&d1, &d2));
	assert_int_equal(st.racy, 1);
	assert_int_equal(st.files_read, 1);
	assert_true(st.cache_written);
	expect_import(f, &d2);
}

/* gc may delete the snapshot the cache describes: the cache is dropped. */
static void test_cache_root_gone(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct workspace_stats st;
	struct digest d1, d2;
	settle();
	snap(f, &st, &d1);
	OK(store_delete_object(f->s, &d1, &err));
	snap(f, &st, &d2);
	assert_false(st.cache_loaded);
	assert_int_equal(st.files_read, 7);
	assert_true(digest_equal(&d1, &d2));
	assert_true(store_has(f->s, &d2));
}

/* A corrupt or truncated cache is ignored, never an error. */
static void test_cache_corrupt(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct workspace_stats st;
	struct digest d1, d2;
	settle();
	snap(f, &st, &d1);
	_cleanup_free_ char *root = realpath(f->ws, NULL);
	struct digest h;
	digest_buffer(root, strlen(root), &h);
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&h, hex);
	_cleanup_free_ char *cp = xasprintf("%s/store/statcache/%s", f->dir, hex);
	struct stat cst;
	assert_int_equal(stat(cp, &cst), 0);
	assert_int_equal(truncate(cp, cst.st_size - 5), 0);
	snap(f, &st, &d2);
	assert_false(st.cache_loaded);
	assert_true(digest_equal(&d1, &d2));
	(void)err;
}

/* Files and directories vanishing while the snapshot walks (git gc
 * deleting loose objects, an editor's temp files) are not errors: they are
 * just not in that snapshot. A forked child churns the workspace while
 * the parent snapshots it over and over, without the stat cache. */
static void test_entries_vanish_during_walk(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	int churn_dir = openat(f->wfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(churn_dir >= 0);
	mkdirat(f->wfd, "churn", 0755);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int d = openat(churn_dir, "churn", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		for (unsigned i = 0;; i++) {
			char name[32];
			snprintf(name, sizeof name, "f%u", i % 200);
			int fd = openat(d, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0) {
				(void)!write(fd, "x\n", 2);
				close(fd);
			}
			snprintf(name, sizeof name, "f%u", (i + 100) % 200);
			unlinkat(d, name, 0);
			snprintf(name, sizeof name, "d%u", i % 50);
			if (mkdirat(d, name, 0755) < 0)
				unlinkat(d, name, AT_REMOVEDIR);
		}
	}
	struct workspace_opts wo = {.no_cache = true};
	int failures = 0;
	for (int i = 0; i < 200; i++) {
		struct digest d;
		if (snapshot_workspace_ex(f->s, f->ws, &wo, NULL, &d, &err) < 0) {
			failures++;
			print_message("snapshot %d: %s\n", i, err.msg);
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(churn_dir);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_matches_import_and_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edits_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_root_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries_vanish_during_walk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
