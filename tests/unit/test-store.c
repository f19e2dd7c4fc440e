/* Unit tests for lib/store: round trips, dedup, corruption detection,
 * refs, and a writer killed mid-write leaving the store consistent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/xalloc.h"

#define FIXTURE_NAME "store"
#include "tests/unit/fixture.h"

static void object_path(struct fixture *f, const struct digest *d, char *out, size_t n)
{
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(d, hex);
	snprintf(out, n, "%s/objects/%.2s/%s", f->store, hex, hex + 2);
}

static void test_put_get_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest d, d2, want;
	_cleanup_buf_ struct buf out = BUF_INIT;
	/* Larger than one zstd block and than one put slice. */
	size_t n = 1000000;
	_cleanup_free_ char *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 % 251);
	assert_int_equal(store_put(f->s, data, n, &d, &err), 0);
	digest_buffer(data, n, &want);
	assert_true(digest_equal(&d, &want));
	assert_true(store_has(f->s, &d));
	assert_int_equal(store_get(f->s, &d, n, &out, &err), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, data, n);
	/* A second put is a no-op that gives the same digest. */
	assert_int_equal(store_put(f->s, data, n, &d2, &err), 0);
	assert_true(digest_equal(&d, &d2));
	/* max is enforced. */
	buf_reset(&out);
	assert_int_equal(store_get(f->s, &d, n - 1, &out, &err), -EFBIG);
	/* Empty object. */
	assert_int_equal(store_put(f->s, "", 0, &d, &err), 0);
	buf_reset(&out);
	assert_int_equal(store_get(f->s, &d, 10, &out, &err), 0);
	assert_int_equal(out.len, 0);
}

static void test_put_fd_streams(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	const char msg[] = "hello from a pipe";
	assert_int_equal(write(fds[1], msg, sizeof msg - 1), (ssize_t)sizeof msg - 1);
	close(fds[1]);
	struct digest d, want;
	uint64_t size = 0;
	assert_int_equal(store_put_fd(f->s, fds[0], &d, &size, &err), 0);
	close(fds[0]);
	digest_buffer(msg, sizeof msg - 1, &want);
	assert_true(digest_equal(&d, &want));
	assert_int_equal(size, sizeof msg - 1);
}

/* A regular file is hashed first; a re-import writes nothing new and
 * reports the same digest and size. */
static void test_put_fd_regular_dedup(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	char path[4096];
	snprintf(path, sizeof path, "%s/input", f->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	char data[300000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i % 13);
	assert_int_equal(write(fd, data, sizeof data), (ssize_t)sizeof data);
	struct digest a, b, want;
	uint64_t sa = 0, sb = 0;
	assert_int_equal(store_put_fd(f->s, fd, &a, &sa, &err), 0);
	assert_int_equal(store_put_fd(f->s, fd, &b, &sb, &err), 0);
	digest_buffer(data, sizeof data, &want);
	assert_true(digest_equal(&a, &want));
	assert_true(digest_equal(&b, &want));
	assert_int_equal(sa, sizeof data);
	assert_int_equal(sb, sizeof data);
	close(fd);
}

/* A temp file is usable and leaves nothing behind in tmp/. */
static void test_tmpfile_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	int fd = store_tmpfile(f->s, &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(pread(fd, (char[4]){0}, 3, 0), 3);
	close(fd);
	_cleanup_free_ char *tmp = xasprintf("%s/tmp", f->store);
	DIR *d = opendir(tmp);
	assert_non_null(d);
	struct dirent *de;
	int entries = 0;
	while ((de = readdir(d)))
		entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	assert_int_equal(entries, 0);
}

static void test_corruption_detected(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest d;
	_cleanup_buf_ struct buf out = BUF_INIT;
	assert_int_equal(store_put(f->s, "precious bytes", 14, &d, &err), 0);
	char path[4096];
	object_path(f, &d, path, sizeof path);
	/* Replace the object with a valid zstd frame of other bytes. */
	struct digest other;
	assert_int_equal(store_put(f->s, "tampered bytes", 14, &other, &err), 0);
	char opath[4096];
	object_path(f, &other, opath, sizeof opath);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(link(opath, path), 0);
	assert_int_equal(store_get(f->s, &d, 100, &out, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "is corrupt"));
	assert_int_equal(out.len, 0);
	assert_int_equal(store_verify(f->s, &d, &err), -EBADMSG);
	/* Truncated object. */
	assert_int_equal(unlink(path), 0);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_verify(f->s, &d, &err), -EBADMSG);
	/* Garbage object. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "garbage!", 8), 8);
	close(fd);
	assert_int_equal(store_verify(f->s, &d, &err), -EBADMSG);
	/* Missing object. */
	unlink(path);
	assert_int_equal(store_verify(f->s, &d, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing"));
}

static void test_refs(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest d, got;
	digest_buffer("x", 1, &d);
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "busybox", &d, &err), 0);
	assert_int_equal(store_ref_get(f->s, STORE_NS_TAGS, "busybox", &got, &err), 0);
	assert_true(digest_equal(&d, &got));
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "alpha", &d, &err), 0);
	assert_int_equal(store_ref_list(f->s, STORE_NS_TAGS, &names, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "alpha");
	store_names_free(names, n);
	assert_int_equal(store_ref_delete(f->s, STORE_NS_TAGS, "alpha", &err), 0);
	assert_int_equal(store_ref_get(f->s, STORE_NS_TAGS, "alpha", &got, &err), -ENOENT);
	/* Hostile names never become paths. */
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "../x", &d, &err), -EINVAL);
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "a/b", &d, &err), -EINVAL);
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, ".hidden", &d, &err), -EINVAL);
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "", &d, &err), -EINVAL);
	assert_int_equal(store_ref_set(f->s, "../../etc", "x", &d, &err), -EINVAL);
}

static int count_object(const struct digest *d, void *ud)
{
	(void)d;
	(*(int *)ud)++;
	return 0;
}

/* A writer killed mid-object leaves only a temp file: no object appears. */
static void test_kill_mid_write(void **state)
{
	struct fixture *f = *state;
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct err err = {0};
		struct store_writer *w = NULL;
		if (store_writer_new(f->s, &w, &err) < 0)
			_exit(1);
		char chunk[65536];
		memset(chunk, 'k', sizeof chunk);
		for (int i = 0; i < 16; i++)
			store_writer_write(w, chunk, sizeof chunk, &err);
		(void)!write(ready[1], "x", 1);
		for (;;)
			store_writer_write(w, chunk, sizeof chunk, &err);
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	struct err err = {0};
	int count = 0;
	assert_int_equal(store_foreach_object(f->s, count_object, &count, &err), 0);
	assert_int_equal(count, 0);
}

/* What a ref can reach is on disk before the ref: the objects written or
 * found since the last sync are fsynced one by one (each, and its
 * directory) when they are few, the file system synced whole when there
 * are more than STORE_SYNC_EACH; nothing twice. */
static void test_sync_before_ref(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest d;
	struct store_sync_counts c0, c;
	store_get_sync_counts(f->s, &c0);
	char text[64];
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof text, "few %d", i);
		assert_int_equal(store_put(f->s, text, strlen(text), &d, &err), 0);
	}
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "few", &d, &err), 0);
	store_get_sync_counts(f->s, &c);
	assert_int_equal(c.syncfs, c0.syncfs);
	assert_true(c.fsync >= c0.fsync + 3 + 1); /* 3 objects, at least 1 dir */
	assert_true(c.fsync <= c0.fsync + 3 + 3 + 1);

	/* Nothing new: nothing to sync. */
	c0 = c;
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "again", &d, &err), 0);
	store_get_sync_counts(f->s, &c);
	assert_int_equal(c.fsync, c0.fsync);
	assert_int_equal(c.syncfs, c0.syncfs);

	/* An object another handle wrote and may not have synced counts too. */
	struct store *other = NULL;
	assert_int_equal(store_open(store_path(f->s), 0, &other, &err), 0);
	assert_int_equal(store_put(other, "theirs", 6, &d, &err), 0);
	store_free(other);
	assert_int_equal(store_put(f->s, "theirs", 6, &d, &err), 0);
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "theirs", &d, &err), 0);
	store_get_sync_counts(f->s, &c);
	assert_true(c.fsync >= c0.fsync + 2);
	assert_int_equal(c.syncfs, c0.syncfs);

	c0 = c;
	for (int i = 0; i <= STORE_SYNC_EACH; i++) {
		snprintf(text, sizeof text, "many %d", i);
		assert_int_equal(store_put(f->s, text, strlen(text), &d, &err), 0);
	}
	assert_int_equal(store_ref_set(f->s, STORE_NS_TAGS, "many", &d, &err), 0);
	store_get_sync_counts(f->s, &c);
	assert_int_equal(c.syncfs, c0.syncfs + 1);
	assert_int_equal(c.fsync, c0.fsync);
}

/* A store missing some of its directories (an older airlock's, or a user
 * who removed refs/cache to drop the build cache) gets them back when it
 * is next opened. */
static void test_layout_completed(void **state)
{
	struct fixture *f = *state;
	const char *path = store_path(f->s);
	int dfd = store_dirfd(f->s);
	assert_int_equal(unlinkat(dfd, "files", AT_REMOVEDIR), 0);
	assert_int_equal(unlinkat(dfd, "checkouts", AT_REMOVEDIR), 0);
	assert_int_equal(unlinkat(dfd, "refs/cache", AT_REMOVEDIR), 0);
	struct store *s2 = NULL;
	struct err err = {0};
	assert_int_equal(store_open(path, STORE_CREATE, &s2, &err), 0);
	assert_int_equal(faccessat(dfd, "files", F_OK, 0), 0);
	assert_int_equal(faccessat(dfd, "checkouts", F_OK, 0), 0);
	assert_int_equal(faccessat(dfd, "refs/cache", F_OK, 0), 0);
	store_free(s2);
}

/* Where the store lives when nothing says: AIRLOCK_STORE, root's
 * /var/lib/airlock, XDG_DATA_HOME, HOME, and without HOME the home in
 * /etc/passwd (read directly: the run binary is static, no NSS). */
static void test_default_path(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;
		char *p;
		setenv("AIRLOCK_STORE", "/s", 1);
		bad |= strcmp(p = store_default_path(NULL), "/s") != 0;
		free(p);
		bad |= (strcmp(p = store_default_path("/x/y"), "/x/y") != 0) << 1;
		free(p);
		unsetenv("AIRLOCK_STORE");
		bad |= (strcmp(p = store_default_path(NULL), "/var/lib/airlock") != 0) << 2;
		free(p);
		/* nobody, whose home is what this system's passwd says */
		struct passwd *pw = getpwuid(65534);
		char want[4096];
		snprintf(want, sizeof want, "%s/.local/share/airlock", pw ? pw->pw_dir : "?");
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(100);
		setenv("XDG_DATA_HOME", "/xdg", 1);
		bad |= (strcmp(p = store_default_path(NULL), "/xdg/airlock") != 0) << 3;
		free(p);
		unsetenv("XDG_DATA_HOME");
		setenv("HOME", "/home/h", 1);
		bad |= (strcmp(p = store_default_path(NULL), "/home/h/.local/share/airlock") != 0) << 4;
		free(p);
		unsetenv("HOME");
		bad |= (!(p = store_default_path(NULL)) || strcmp(p, want) != 0) << 5;
		free(p);
		_exit(bad);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A user with no HOME and no entry in /etc/passwd (an LDAP, SSSD or
 * systemd-homed account, which the static binary cannot look up through
 * NSS) gets no store rather than one in /tmp: another local user can
 * create /tmp/.local/share/airlock first, world-writable, and then reads
 * every workspace snapshot and run record, and chooses the images. */
static void test_default_path_no_home(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const uid_t id = 4242421; /* in no passwd file */
		unsetenv("AIRLOCK_STORE");
		unsetenv("XDG_DATA_HOME");
		unsetenv("HOME");
		if (setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0)
			_exit(100);
		char *p = store_default_path(NULL);
		_exit(p == NULL ? 0 : strncmp(p, "/tmp/", 5) == 0 ? 1 : 2);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_fd_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_fd_regular_dedup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmpfile_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corruption_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_mid_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_before_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_completed, setup, teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_default_path_no_home),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
