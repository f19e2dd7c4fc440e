/* fs_write_path_atomic: the file beside which a temp file is written and
 * renamed in; a failure leaves the old file and no temp file behind.
 * fs_read_names: a sorted listing, from the start whatever the offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURE_NAME "fsutil"
#include "tests/unit/fixture.h"

static int fill_text(int fd, void *ud, struct err *err)
{
	(void)err;
	return fs_write_all(fd, ud, strlen(ud));
}

static int fill_fails(int fd, void *ud, struct err *err)
{
	(void)ud;
	if (fs_write_all(fd, "partial", 7) < 0)
		return -EIO;
	return err_set(err, -ENOSPC, "disk full (made up)");
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void test_write_path_atomic(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	char first[] = "first\n", second[] = "second\n", x[] = "x";
	_cleanup_free_ char *dir = xasprintf("%s/out", f->dir);
	_cleanup_free_ char *path = xasprintf("%s/file", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	OK(fs_write_path_atomic(path, fill_text, first, &err));
	OK(fs_write_path_atomic(path, fill_text, second, &err));
	struct buf b = BUF_INIT;
	OK(fs_read_file_at(AT_FDCWD, path, 100, &b, &err));
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "second\n", 7);
	buf_release(&b);
	assert_int_equal(entries(dir), 1);

	/* A failing writer: the old file stays, the error is the writer's,
	 * and no temp file is left. */
	err = (struct err){0};
	assert_int_equal(fs_write_path_atomic(path, fill_fails, NULL, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "disk full"));
	OK(fs_read_file_at(AT_FDCWD, path, 100, &b, &err));
	assert_memory_equal(b.data, "second\n", 7);
	buf_release(&b);
	assert_int_equal(entries(dir), 1);

	/* Not a file name, and a directory that is not there. */
	_cleanup_free_ char *dot = xasprintf("%s/.", dir);
	assert_int_equal(fs_write_path_atomic(dot, fill_text, x, &err), -EINVAL);
	assert_int_equal(fs_write_path_atomic("/", fill_text, x, &err), -EINVAL);
	_cleanup_free_ char *nodir = xasprintf("%s/missing/file", f->dir);
	assert_int_equal(fs_write_path_atomic(nodir, fill_text, x, &err), -ENOENT);
	assert_int_equal(entries(dir), 1);
}

static void test_read_names(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_free_ char *dir = xasprintf("%s/names", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	put(dfd, "b", "", 0644);
	put(dfd, "a.c", "", 0644);
	put(dfd, "\xff", "", 0644);
	assert_int_equal(mkdirat(dfd, "a", 0755), 0);
	/* Twice on one fd: the first listing left the shared offset at the
	 * end, and the second must start over. */
	for (int pass = 0; pass < 2; pass++) {
		struct fs_name *v = NULL;
		size_t n = 0;
		OK(fs_read_names(dfd, "names", &v, &n, &err));
		assert_int_equal(n, 4);
		assert_string_equal(v[0].name, "a");
		assert_true(v[0].type == DT_DIR || v[0].type == DT_UNKNOWN);
		assert_string_equal(v[1].name, "a.c");
		assert_string_equal(v[2].name, "b");
		assert_string_equal(v[3].name, "\xff");
		assert_true(v[3].type == DT_REG || v[3].type == DT_UNKNOWN);
		fs_names_free(v, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_path_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
