/* Unit tests for snapshot/capture against a real overlayfs mount: the same
 * changes are made through the merged directory and in a plain copy of the
 * base; capturing the upper directory must give the digest of importing
 * the plain copy. Needs root (mount); skips otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/tree.h"
#include "lib/xalloc.h"
#include "snapshot/capture.h"

#define FIXTURE_NAME "capture"
#include "tests/unit/fixture.h"

static bool can_mount;

static void make_base(int dfd)
{
	put(dfd, "a", "alpha\n", 0644);
	put(dfd, "b", "bravo\n", 0644);
	put(dfd, "chm", "chmod me\n", 0644);
	put(dfd, "touched", "touch me\n", 0644);
	put(dfd, "file2dir", "will be a directory\n", 0644);
	assert_int_equal(mkdirat(dfd, "d", 0755), 0);
	put(dfd, "d/x", "x-ray\n", 0644);
	put(dfd, "d/y", "yankee\n", 0644);
	assert_int_equal(mkdirat(dfd, "keep", 0755), 0);
	assert_int_equal(mkdirat(dfd, "keep/deep", 0700), 0);
	put(dfd, "keep/deep/file", "deep\n", 0644);
	put(dfd, "keep/other", "other\n", 0644);
	assert_int_equal(mkdirat(dfd, "dir2file", 0755), 0);
	put(dfd, "dir2file/inner", "inner\n", 0644);
	assert_int_equal(mkdirat(dfd, "gone", 0755), 0);
	put(dfd, "gone/c1", "c1\n", 0644);
	assert_int_equal(symlinkat("a", dfd, "link"), 0);
}

/* The changes a run makes; applied through the overlay and to a plain
 * copy alike. */
static void apply_changes(int dfd)
{
	put(dfd, "a", "ALPHA changed\n", 0644);
	put(dfd, "new", "new file\n", 0600);
	assert_int_equal(unlinkat(dfd, "b", 0), 0);
	assert_int_equal(fs_rm_rf_at(dfd, "d", NULL), 0);
	assert_int_equal(mkdirat(dfd, "d", 0750), 0);
	put(dfd, "d/z", "zulu\n", 0644);
	assert_int_equal(fchmodat(dfd, "chm", 0600, 0), 0);
	int fd = openat(dfd, "touched", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(utimensat(dfd, "touched", NULL, 0), 0);
	assert_int_equal(unlinkat(dfd, "link", 0), 0);
	assert_int_equal(symlinkat("new", dfd, "link"), 0);
	assert_int_equal(symlinkat("../outside", dfd, "ln2"), 0);
	assert_int_equal(unlinkat(dfd, "file2dir", 0), 0);
	assert_int_equal(mkdirat(dfd, "file2dir", 0755), 0);
	put(dfd, "file2dir/f", "now inside\n", 0644);
	assert_int_equal(fs_rm_rf_at(dfd, "dir2file", NULL), 0);
	put(dfd, "dir2file", "now a file\n", 0644);
	assert_int_equal(fs_rm_rf_at(dfd, "gone", NULL), 0);
	put(dfd, "keep/deep/new2", "merged\n", 0644);
}

/* Changes that copy files up without changing them. */
static void apply_noop(int dfd)
{
	int fd = openat(dfd, "touched", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(utimensat(dfd, "touched", NULL, 0), 0);
	assert_int_equal(fchmodat(dfd, "chm", 0644, 0), 0);
	assert_int_equal(fchownat(dfd, "keep/other", 0, 0, 0), 0);
}

static void import_at(struct fixture *f, const char *path, struct digest *ret)
{
	struct err err = {0};
	struct tree_import_opts opts = {.keep_owner = true};
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	OK(tree_import_dir(f->s, dfd, &opts, ret, &err));
	close(dfd);
}

static void mkdir_in(const char *dir, const char *name, char **ret)
{
	*ret = xasprintf("%s/%s", dir, name);
	if (mkdir(*ret, 0755) < 0)
		fail_msg("mkdir %s: %s", *ret, strerror(errno));
}

/* Builds the base, mounts an overlay over its checkout with mount options
 * extra, applies change through it and in a plain copy, captures, and
 * checks the digests agree. Returns the captured digest in *ret. */
static void scenario(struct fixture *f, const char *extra, void (*change)(int dfd),
		     struct digest *ret_base, struct digest *ret)
{
	struct err err = {0};
	_cleanup_free_ char *base = NULL, *expected = NULL, *tmpfs = NULL;
	mkdir_in(f->dir, "base", &base);
	mkdir_in(f->dir, "expected", &expected);
	mkdir_in(f->dir, "tmpfs", &tmpfs);
	int dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	make_base(dfd);
	close(dfd);
	dfd = open(expected, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	make_base(dfd);
	change(dfd);
	close(dfd);
	struct digest base_d, want, got;
	import_at(f, base, &base_d);
	import_at(f, expected, &want);
	_cleanup_free_ char *lower = NULL;
	OK(tree_checkout(f->s, &base_d, &lower, &err));

	/* Upper and work on a tmpfs, as the runner does. */
	assert_int_equal(mount("tmpfs", tmpfs, "tmpfs", 0, "mode=0755"), 0);
	_cleanup_free_ char *upper = NULL, *work = NULL, *merged = NULL;
	mkdir_in(tmpfs, "upper", &upper);
	mkdir_in(tmpfs, "work", &work);
	mkdir_in(tmpfs, "merged", &merged);
	_cleanup_free_ char *o =
		xasprintf("lowerdir=%s,upperdir=%s,workdir=%s%s%s", lower, upper, work,
			  *extra ? "," : "", extra);
	if (mount("overlay", merged, "overlay", 0, o) < 0)
		fail_msg("mount overlay (%s): %s", o, strerror(errno));
	dfd = open(merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	change(dfd);
	close(dfd);
	assert_int_equal(umount(merged), 0);

	int up = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct tree_import_opts opts = {.keep_owner = true};
	OK(capture_upper(f->s, &base_d, up, &opts, &got, &err));
	close(up);
	assert_int_equal(umount(tmpfs), 0);
	char g[DIGEST_STR_SIZE], w[DIGEST_STR_SIZE];
	digest_to_str(&got, g);
	digest_to_str(&want, w);
	if (strcmp(g, w))
		fail_msg("overlay '%s': captured %s, expected %s", extra, g, w);
	*ret_base = base_d;
	*ret = got;
}

static void need_mount(void)
{
	if (!can_mount) {
		print_message("skipped: needs root to mount tmpfs and overlayfs in a private "
			      "mount namespace\n");
		skip();
	}
}

/* The xattr namespace the test can write on path: "user", or, as root
 * where user xattrs are not supported (tmpfs before Linux 6.6),
 * "trusted"; capture reads overlay markers in both. Else the test is
 * skipped, visibly (AIRLOCK_TEST_STRICT fails it), not passed. */
static const char *xattr_ns(const char *path)
{
	static const char *const ns[] = {"user", "trusted"};
	for (size_t i = 0; i < 2 && (i == 0 || geteuid() == 0); i++) {
		_cleanup_free_ char *probe = xasprintf("%s.airlock-test-probe", ns[i]);
		if (setxattr(path, probe, "", 0, 0) == 0) {
			removexattr(path, probe);
			return ns[i];
		}
	}
	print_message("skipped: cannot set xattrs here (%s)\n", strerror(errno));
	skip();
	return NULL;
}

/* A run that wrote nothing gives the base itself, without loading it;
 * but an empty upper whose root is opaque hides all of the base. */
static void test_capture_unchanged_upper(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_free_ char *base = NULL, *upper = NULL;
	mkdir_in(f->dir, "base", &base);
	mkdir_in(f->dir, "upper", &upper);
	int dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	make_base(dfd);
	close(dfd);
	struct digest base_d, got;
	import_at(f, base, &base_d);
	int up = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(up >= 0);
	struct tree_import_opts opts = {.keep_owner = true};
	OK(capture_upper(f->s, &base_d, up, &opts, &got, &err));
	assert_memory_equal(&got, &base_d, sizeof got);
	_cleanup_free_ char *opaque = xasprintf("%s.overlay.opaque", xattr_ns(upper));
	assert_int_equal(setxattr(upper, opaque, "y", 1, 0), 0);
	OK(capture_upper(f->s, &base_d, up, &opts, &got, &err));
	struct tree *empty = tree_new();
	struct digest empty_d;
	OK(tree_write(empty, f->s, &empty_d, &err));
	tree_free(empty);
	assert_memory_equal(&got, &empty_d, sizeof got);
	close(up);
}

/* The unchanged case does not even load the base (it is the common case,
 * and the base can be a whole image); a hostile upper that cannot be read
 * is an error, never a guess. */
static void test_capture_unchanged_skips_the_base(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_free_ char *upper = NULL;
	mkdir_in(f->dir, "upper", &upper);
	struct digest absent, got;
	memset(&absent, 0x5a, sizeof absent);
	int up = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(up >= 0);
	struct tree_import_opts opts = {.keep_owner = true};
	OK(capture_upper(f->s, &absent, up, &opts, &got, &err));
	assert_memory_equal(&got, &absent, sizeof got);
	/* More extended attribute names than overlayfs ever writes. */
	const char *ns = xattr_ns(upper);
	char name[64];
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "%s.airlock-test-padding-%03d", ns, i);
		if (setxattr(upper, name, "", 0, 0) < 0) {
			/* ext4 holds one block of them */
			print_message("skipped: only %d xattrs fit here (%s)\n", i, strerror(errno));
			skip();
		}
	}
	err = (struct err){0};
	assert_true(capture_upper(f->s, &absent, up, &opts, &got, &err) < 0);
	assert_non_null(strstr(err.msg, "extended attributes"));
	close(up);
}

static void test_capture_changes(void **state)
{
	need_mount();
	struct digest b, d;
	scenario(*state, "", apply_changes, &b, &d);
	assert_false(digest_equal(&b, &d));
}

static void test_capture_metacopy(void **state)
{
	need_mount();
	struct digest b, d;
	scenario(*state, "metacopy=on", apply_changes, &b, &d);
}

static void test_capture_userxattr(void **state)
{
	need_mount();
	struct digest b, d;
	scenario(*state, "userxattr", apply_changes, &b, &d);
}

static void test_capture_noop_copy_up(void **state)
{
	need_mount();
	struct digest b, d;
	scenario(*state, "", apply_noop, &b, &d);
	assert_true(digest_equal(&b, &d));
}

static void test_capture_rejects_redirect(void **state)
{
	need_mount();
	struct fixture *f = *state;
	struct err err = {0};
	struct digest base_d, got;
	_cleanup_free_ char *base = NULL, *upper = NULL;
	mkdir_in(f->dir, "base", &base);
	int dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	make_base(dfd);
	close(dfd);
	import_at(f, base, &base_d);
	/* A hand-made upper with a renamed directory (redirect_dir=on). */
	mkdir_in(f->dir, "upper", &upper);
	_cleanup_free_ char *moved = NULL;
	mkdir_in(upper, "moved", &moved);
	assert_int_equal(setxattr(moved, "trusted.overlay.redirect", "/d", 2, 0), 0);
	int up = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct tree_import_opts opts = {.keep_owner = true};
	assert_int_equal(capture_upper(f->s, &base_d, up, &opts, &got, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "moved"));
	close(up);
}

int main(void)
{
	/* Mounts go into a private namespace so nothing outlives the test. */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		can_mount = true;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capture_unchanged_upper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_unchanged_skips_the_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_metacopy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_userxattr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_noop_copy_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_rejects_redirect, setup, teardown),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
