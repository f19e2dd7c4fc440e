/* Unit tests for lib/tree: the canonical format (round trip, golden digest,
 * strict decoding), the in-memory tree, host import of odd and hostile
 * directories, shared checkouts (equal to the source, cached, safe under
 * concurrency, refusing corrupt objects) and the depth limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/tree.h"

#define FIXTURE_NAME "tree"
#define FIXTURE_FIELDS char *src; /* dir/src, a host directory to import */
#define FIXTURE_INIT tree_init
#define FIXTURE_FINI tree_fini
#include "tests/unit/fixture.h"

static int tree_init(struct fixture *f)
{
	f->src = xasprintf("%s/src", f->dir);
	return mkdir(f->src, 0755);
}

static void tree_fini(struct fixture *f)
{
	free(f->src);
}

static struct digest blob(struct fixture *f, const char *s)
{
	struct err err = {0};
	struct digest d;
	OK(store_put(f->s, s, strlen(s), &d, &err));
	return d;
}

static struct tree_attr file_attr(struct fixture *f, const char *content, uint32_t perm)
{
	struct tree_attr a = {.type = TREE_FILE, .perm = perm, .size = strlen(content)};
	a.digest = blob(f, content);
	return a;
}

static struct tree_attr link_attr(struct fixture *f, const char *target)
{
	struct tree_attr a = {.type = TREE_SYMLINK, .perm = 0777, .size = strlen(target)};
	a.digest = blob(f, target);
	return a;
}

static void write_host_file(int dfd, const char *name, const char *content, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, content, strlen(content)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* ---- format ---- */

static void test_encode_decode_roundtrip(void **state)
{
	(void)state;
	struct err err = {0};
	struct tree_dirent in[] = {
		{(char *)"a", {TREE_FILE, 0644, 0, 0, 5, {{1}}}},
		{(char *)"b\nc", {TREE_DIR, 0755, 1000, 1000, 0, {{2}}}},
		{(char *)"z\xff\x1b", {TREE_SYMLINK, 0777, 4294967295u, 7, 3, {{3}}}},
	};
	_cleanup_buf_ struct buf b = BUF_INIT;
	OK(tree_encode(in, 3, &b, &err));
	assert_memory_equal(b.data, TREE_MAGIC, strlen(TREE_MAGIC));
	assert_non_null(strstr(b.data, "f 0644 0 0 5 sha256:01000000"));
	struct tree_dirent *out = NULL;
	size_t n = 0;
	OK(tree_decode(b.data, b.len, &out, &n, &err));
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(out[i].name, in[i].name);
		assert_int_equal(out[i].attr.type, in[i].attr.type);
		assert_int_equal(out[i].attr.perm, in[i].attr.perm);
		assert_int_equal(out[i].attr.uid, in[i].attr.uid);
		assert_int_equal(out[i].attr.gid, in[i].attr.gid);
		assert_int_equal(out[i].attr.size, in[i].attr.size);
		assert_true(digest_equal(&out[i].attr.digest, &in[i].attr.digest));
	}
	_cleanup_buf_ struct buf b2 = BUF_INIT;
	OK(tree_encode(out, n, &b2, &err));
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);
	tree_dirents_free(out, n);
	/* Empty directory: the header alone. */
	out = NULL;
	OK(tree_decode(TREE_MAGIC, strlen(TREE_MAGIC), &out, &n, &err));
	assert_int_equal(n, 0);
	tree_dirents_free(out, n);
	/* Unsorted input is refused by the encoder too. */
	struct tree_dirent bad[] = {in[1], in[0]};
	assert_int_equal(tree_encode(bad, 2, &b2, &err), -EINVAL);
}

static void expect_bad(const char *what, const char *data, size_t len)
{
	struct err err = {0};
	struct tree_dirent *e = NULL;
	size_t n = 0;
	int r = tree_decode(data, len, &e, &n, &err);
	if (r != -EBADMSG)
		fail_msg("decode accepted %s (r=%d)", what, r);
	assert_true(strstr(err.msg, "tree object") != NULL);
}

#define H "airlock-tree 1\n"
#define Z63 "000000000000000000000000000000000000000000000000000000000000000"
#define Z64 "0" Z63
#define E(t, perm, uid, gid, size, name) t " " perm " " uid " " gid " " size " sha256:" Z64 " " name
#define BAD(what, lit) expect_bad(what, lit, sizeof lit - 1)

static void test_decode_rejects(void **state)
{
	(void)state;
	/* Sanity: the good form is accepted. */
	{
		static const char good[] = H E("f", "0644", "0", "0", "1", "a") "\0";
		struct err err = {0};
		struct tree_dirent *e = NULL;
		size_t n = 0;
		OK(tree_decode(good, sizeof good - 1, &e, &n, &err));
		tree_dirents_free(e, n);
	}
	BAD("empty input", "");
	BAD("bad magic", "airlock-tree 2\n");
	BAD("unsorted", H E("f", "0644", "0", "0", "1", "b") "\0" E("f", "0644", "0", "0", "1", "a") "\0");
	BAD("duplicate", H E("f", "0644", "0", "0", "1", "a") "\0" E("d", "0755", "0", "0", "0", "a") "\0");
	BAD("slash in name", H E("f", "0644", "0", "0", "1", "a/b") "\0");
	BAD("dot", H E("d", "0755", "0", "0", "0", ".") "\0");
	BAD("dotdot", H E("d", "0755", "0", "0", "0", "..") "\0");
	BAD("empty name", H E("f", "0644", "0", "0", "1", "") "\0");
	BAD("missing NUL", H E("f", "0644", "0", "0", "1", "a"));
	char longname[600];
	int ln = snprintf(longname, sizeof longname, H E("f", "0644", "0", "0", "1", "%0256d"), 0);
	expect_bad("256-byte name", longname, (size_t)ln + 1);
	BAD("unknown type", H E("c", "0644", "0", "0", "1", "a") "\0");
	BAD("setuid perm", H E("f", "4755", "0", "0", "1", "a") "\0");
	BAD("3-digit perm", H E("f", "644", "0", "0", "1", "a") "\0");
	BAD("non-octal perm", H E("f", "0648", "0", "0", "1", "a") "\0");
	BAD("leading zero uid", H E("f", "0644", "01", "0", "1", "a") "\0");
	BAD("uid overflow", H E("f", "0644", "4294967296", "0", "1", "a") "\0");
	BAD("negative gid", H E("f", "0644", "0", "-1", "1", "a") "\0");
	BAD("empty gid", H E("f", "0644", "0", "", "1", "a") "\0");
	BAD("size overflow", H E("f", "0644", "0", "0", "18446744073709551616", "a") "\0");
	BAD("leading zero size", H E("f", "0644", "0", "0", "01", "a") "\0");
	BAD("dir with size", H E("d", "0755", "0", "0", "1", "a") "\0");
	BAD("symlink perm", H E("l", "0755", "0", "0", "1", "a") "\0");
	BAD("empty symlink", H E("l", "0777", "0", "0", "0", "a") "\0");
	BAD("uppercase digest", H "f 0644 0 0 1 sha256:A" Z63 " a" "\0");
	BAD("short digest", H "f 0644 0 0 1 sha256:00 a" "\0");
	BAD("no sha256 prefix", H "f 0644 0 0 1 sha512:" Z64 " a" "\0");
	BAD("double space", H "f  0644 0 0 1 sha256:" Z64 " a" "\0");
	BAD("trailing junk", H E("f", "0644", "0", "0", "1", "a") "\0" "x");
	BAD("trailing newline", H E("f", "0644", "0", "0", "1", "a") "\0" "\n");
	BAD("truncated entry", H "f 06");
}

/* ---- in-memory tree ---- */

static void build_small(struct fixture *f, struct tree *t, int order)
{
	struct err err = {0};
	struct tree_attr dir = {.type = TREE_DIR, .perm = 0700, .uid = 1000, .gid = 1000};
	struct tree_attr hello = file_attr(f, "hello\n", 0644);
	struct tree_attr run = file_attr(f, "#!/bin/sh\necho hi\n", 0755);
	struct tree_attr lnk = link_attr(f, "../hello");
	if (order == 0) {
		OK(tree_set(t, f->s, "hello", &hello, &err));
		OK(tree_set(t, f->s, "bin/run", &run, &err));
		OK(tree_set(t, f->s, "home/user", &dir, &err));
		OK(tree_set(t, f->s, "home/user/link", &lnk, &err));
		OK(tree_set(t, f->s, "empty", &(struct tree_attr){.type = TREE_DIR, .perm = 0755}, &err));
	} else {
		OK(tree_set(t, f->s, "empty/", &(struct tree_attr){.type = TREE_DIR, .perm = 0755}, &err));
		OK(tree_set(t, f->s, "/home/user/link", &lnk, &err));
		OK(tree_set(t, f->s, "./home/user", &dir, &err));
		OK(tree_set(t, f->s, "bin/run", &run, &err));
		OK(tree_set(t, f->s, "bin/junk", &run, &err));
		OK(tree_remove(t, f->s, "bin/junk", &err));
		OK(tree_set(t, f->s, "hello", &hello, &err));
	}
}

/* The digest of build_small's tree. If this changes, the format changed:
 * every stored tree and image digest changes with it. */
#define GOLDEN "sha256:6d9666a03cafabe6469fc86cf60b0303b009c565c22387feed24946c651db55e"

static void test_digest_stable_and_golden(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest d1, d2;
	_cleanup_(tree_freep) struct tree *t1 = tree_new();
	_cleanup_(tree_freep) struct tree *t2 = tree_new();
	build_small(f, t1, 0);
	build_small(f, t2, 1);
	OK(tree_write(t1, f->s, &d1, &err));
	OK(tree_write(t2, f->s, &d2, &err));
	assert_true(digest_equal(&d1, &d2));
	char s[DIGEST_STR_SIZE];
	digest_to_str(&d1, s);
	if (strcmp(s, GOLDEN))
		fail_msg("golden digest changed: got %s", s);
	/* A reload gives the same digest, and so does a no-op write. */
	_cleanup_(tree_freep) struct tree *t3 = NULL;
	OK(tree_load(f->s, &d1, &t3, &err));
	OK(tree_write(t3, f->s, &d2, &err));
	assert_true(digest_equal(&d1, &d2));
	uint64_t bytes = 0, entries = 0;
	OK(tree_usage(f->s, &d1, &bytes, &entries, &err));
	assert_int_equal(bytes, strlen("hello\n") + strlen("#!/bin/sh\necho hi\n"));
	assert_int_equal(entries, 7); /* hello bin bin/run home home/user link empty */
}

static void test_set_remove_semantics(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct tree_attr a, file = file_attr(f, "x", 0644);
	struct tree_attr dir = {.type = TREE_DIR, .perm = 0750, .uid = 5, .gid = 6};
	_cleanup_(tree_freep) struct tree *t = tree_new();

	OK(tree_set(t, f->s, "a/b/c", &file, &err));
	OK(tree_get(t, f->s, "a/b", &a, &err));
	assert_int_equal(a.type, TREE_DIR);
	assert_int_equal(a.perm, 0755);
	OK(tree_get(t, f->s, "a/b/c", &a, &err));
	assert_int_equal(a.type, TREE_FILE);
	assert_true(digest_equal(&a.digest, &file.digest));
	/* perm is masked to 0777. */
	struct tree_attr suid = file;
	suid.perm = 04755;
	OK(tree_set(t, f->s, "a/suid", &suid, &err));
	OK(tree_get(t, f->s, "a/suid", &a, &err));
	assert_int_equal(a.perm, 0755);
	/* A directory set over a directory keeps the children. */
	OK(tree_set(t, f->s, "a/b", &dir, &err));
	OK(tree_get(t, f->s, "a/b", &a, &err));
	assert_int_equal(a.perm, 0750);
	assert_int_equal(a.uid, 5);
	OK(tree_get(t, f->s, "a/b/c", &a, &err));
	/* A file over a directory drops its contents. */
	OK(tree_set(t, f->s, "a/b", &file, &err));
	assert_int_equal(tree_get(t, f->s, "a/b/c", &a, &err), -ENOTDIR);
	/* A directory over a file starts empty. */
	OK(tree_set(t, f->s, "a/b", &dir, &err));
	assert_int_equal(tree_get(t, f->s, "a/b/c", &a, &err), -ENOENT);
	/* A symlink or a file where a directory is needed: ENOTDIR. */
	struct tree_attr lnk = link_attr(f, "/etc");
	OK(tree_set(t, f->s, "l", &lnk, &err));
	assert_int_equal(tree_set(t, f->s, "l/passwd", &file, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "symlink"));
	assert_int_equal(tree_get(t, f->s, "l/passwd", &a, &err), -ENOTDIR);
	assert_int_equal(tree_remove(t, f->s, "l/passwd", &err), -ENOTDIR);
	assert_int_equal(tree_set(t, f->s, "a/suid/x", &file, &err), -ENOTDIR);
	assert_int_equal(tree_clear_dir(t, f->s, "l", &err), -ENOTDIR);
	/* Remove and clear. */
	assert_int_equal(tree_remove(t, f->s, "nope", &err), -ENOENT);
	assert_int_equal(tree_remove(t, f->s, "nope/x", &err), -ENOENT);
	OK(tree_set(t, f->s, "a/b/c", &file, &err));
	OK(tree_clear_dir(t, f->s, "a", &err));
	assert_int_equal(tree_get(t, f->s, "a/b", &a, &err), -ENOENT);
	OK(tree_get(t, f->s, "a", &a, &err));
	OK(tree_remove(t, f->s, "a", &err));
	assert_int_equal(tree_get(t, f->s, "a", &a, &err), -ENOENT);
	/* The root: a directory set is accepted, anything else refused. */
	OK(tree_get(t, f->s, "", &a, &err));
	assert_int_equal(a.type, TREE_DIR);
	assert_int_equal(tree_set(t, f->s, "", &file, &err), -EINVAL);
	assert_int_equal(tree_remove(t, f->s, "", &err), -EINVAL);
	/* Non-canonical attributes are refused. */
	struct tree_attr badlink = lnk;
	badlink.size = 0;
	assert_int_equal(tree_set(t, f->s, "bad", &badlink, &err), -EINVAL);
	OK(tree_clear_dir(t, f->s, "", &err));
	struct digest d, empty;
	OK(tree_write(t, f->s, &d, &err));
	_cleanup_(tree_freep) struct tree *e = tree_new();
	OK(tree_write(e, f->s, &empty, &err));
	assert_true(digest_equal(&d, &empty));
}

static void test_path_validation(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct tree_attr file = file_attr(f, "x", 0644), a;
	_cleanup_(tree_freep) struct tree *t = tree_new();
	static const char *const bad[] = {"..", "a/..", "a/../b", "a//b", ".", "a/./b", "../x", "a/b//"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&err);
		if (tree_set(t, f->s, bad[i], &file, &err) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(strstr(err.msg, bad[i]));
	}
	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = '\0';
	assert_int_equal(tree_set(t, f->s, longname, &file, &err), -EINVAL);
	longname[255] = '\0';
	OK(tree_set(t, f->s, longname, &file, &err));
	/* Leading "/" and "./" are stripped. */
	OK(tree_set(t, f->s, "/abs/x", &file, &err));
	OK(tree_get(t, f->s, "abs/x", &a, &err));
	OK(tree_get(t, f->s, "./abs/x", &a, &err));
	/* Odd bytes are fine in names. */
	OK(tree_set(t, f->s, "new\nline/\x1b[31m/\xff\xfe", &file, &err));
	/* Too many components. */
	_cleanup_free_ char *deep = xmalloc(2 * TREE_DEPTH_MAX + 2);
	for (int i = 0; i < TREE_DEPTH_MAX; i++)
		memcpy(deep + 2 * i, "d/", 2);
	deep[2 * TREE_DEPTH_MAX - 1] = '\0';
	assert_int_equal(tree_set(t, f->s, deep, &file, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "deeper"));
}

/* tree_write only encodes modified directories: an unmodified subtree's
 * object is never read again, so deleting it does not break the write. */
static void test_write_only_modified(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct tree_attr file = file_attr(f, "x", 0644), a;
	struct tree_attr other = file_attr(f, "other", 0644);
	_cleanup_(tree_freep) struct tree *t = tree_new();
	OK(tree_set(t, f->s, "keep/deep/x", &file, &err));
	OK(tree_set(t, f->s, "change/x", &other, &err));
	struct digest d1, d2, keep;
	OK(tree_write(t, f->s, &d1, &err));
	_cleanup_(tree_freep) struct tree *t2 = NULL;
	OK(tree_load(f->s, &d1, &t2, &err));
	OK(tree_get(t2, f->s, "keep/deep", &a, &err)); /* loads keep/ */
	keep = a.digest;
	OK(store_delete_object(f->s, &keep, &err));
	OK(tree_set(t2, f->s, "change/y", &file, &err));
	OK(tree_write(t2, f->s, &d2, &err));
	assert_false(digest_equal(&d1, &d2));
	OK(tree_get(t2, f->s, "keep/deep", &a, &err));
	assert_true(digest_equal(&a.digest, &keep));
	/* A lazily loaded subtree whose object is missing is a clear error. */
	_cleanup_(tree_freep) struct tree *t3 = NULL;
	OK(tree_load(f->s, &d2, &t3, &err));
	assert_int_equal(tree_get(t3, f->s, "keep/deep/x", &a, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing"));
}

/* ---- import and checkout ---- */

struct notes {
	char text[4096];
};

static void collect_note(const char *path, const char *what, void *ud)
{
	struct notes *n = ud;
	size_t len = strlen(n->text);
	snprintf(n->text + len, sizeof n->text - len, "%s: %s\n", path, what);
}

static void make_source(struct fixture *f)
{
	int dfd = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	write_host_file(dfd, "plain", "plain text\n", 0644);
	write_host_file(dfd, "exec", "#!/bin/sh\n", 0755);
	write_host_file(dfd, "empty", "", 0600);
	write_host_file(dfd, "suid", "root me\n", 04755);
	write_host_file(dfd, "new\nline", "nl\n", 0644);
	write_host_file(dfd, "esc\x1b[31m", "esc\n", 0640);
	write_host_file(dfd, "bytes\xff\xfe", "latin\n", 0444);
	assert_int_equal(mkdirat(dfd, "emptydir", 0700), 0);
	assert_int_equal(mkdirat(dfd, "sub", 0755), 0);
	assert_int_equal(mkdirat(dfd, "sub/deeper", 0555), 0);
	int sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	write_host_file(sub, "big", "", 0644);
	int big = openat(sub, "big", O_WRONLY | O_CLOEXEC);
	char chunk[65536];
	for (int i = 0; i < 40; i++) {
		memset(chunk, 'a' + i % 26, sizeof chunk);
		assert_int_equal(fs_write_all(big, chunk, sizeof chunk), 0);
	}
	close(big);
	write_host_file(sub, "same-as-plain", "plain text\n", 0644);
	close(sub);
	assert_int_equal(symlinkat("plain", dfd, "rel-link"), 0);
	assert_int_equal(symlinkat("/etc/passwd", dfd, "abs-link"), 0);
	assert_int_equal(symlinkat("../../outside", dfd, "sub/escape"), 0);
	assert_int_equal(symlinkat("missing", dfd, "dangling"), 0);
	assert_int_equal(mkfifoat(dfd, "fifo", 0644), 0);
	/* Make sub/deeper read-only only after filling it. */
	int deeper = openat(dfd, "sub/deeper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(deeper);
	close(dfd);
}

/* Compares two host directories recursively (names, types, perm bits,
 * owners, contents, link targets), ignoring what a tree cannot hold. */
static void compare_dirs(int a, int b, const char *path, bool check_mtime)
{
	DIR *da = fdopendir(fcntl(a, F_DUPFD_CLOEXEC, 3));
	assert_non_null(da);
	rewinddir(da);
	struct dirent *de;
	size_t na = 0;
	while ((de = readdir(da))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat sa, sb;
		assert_int_equal(fstatat(a, de->d_name, &sa, AT_SYMLINK_NOFOLLOW), 0);
		if (!S_ISREG(sa.st_mode) && !S_ISDIR(sa.st_mode) && !S_ISLNK(sa.st_mode)) {
			if (fstatat(b, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
				fail_msg("special file %s/%s was copied", path, de->d_name);
			continue;
		}
		na++;
		if (fstatat(b, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			fail_msg("%s/%s missing in copy", path, de->d_name);
		assert_int_equal(sa.st_mode & S_IFMT, sb.st_mode & S_IFMT);
		if (!S_ISLNK(sa.st_mode) && (sa.st_mode & 0777) != (sb.st_mode & 07777))
			fail_msg("%s/%s: mode %o vs %o", path, de->d_name, sa.st_mode & 07777,
				 sb.st_mode & 07777);
		assert_int_equal(sa.st_uid, sb.st_uid);
		assert_int_equal(sa.st_gid, sb.st_gid);
		if (check_mtime)
			assert_int_equal(sb.st_mtim.tv_sec, 0);
		if (S_ISLNK(sa.st_mode)) {
			char ta[4096], tb[4096];
			ssize_t la = readlinkat(a, de->d_name, ta, sizeof ta);
			ssize_t lb = readlinkat(b, de->d_name, tb, sizeof tb);
			assert_int_equal(la, lb);
			assert_memory_equal(ta, tb, (size_t)la);
		} else if (S_ISREG(sa.st_mode)) {
			_cleanup_buf_ struct buf ca = BUF_INIT;
			_cleanup_buf_ struct buf cb = BUF_INIT;
			assert_int_equal(fs_read_file_at(a, de->d_name, 1 << 26, &ca, NULL), 0);
			assert_int_equal(fs_read_file_at(b, de->d_name, 1 << 26, &cb, NULL), 0);
			assert_int_equal(ca.len, cb.len);
			if (ca.len)
				assert_memory_equal(ca.data, cb.data, ca.len);
		} else {
			int sa_fd = openat(a, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			int sb_fd = openat(b, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			_cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
			compare_dirs(sa_fd, sb_fd, sub, check_mtime);
			close(sa_fd);
			close(sb_fd);
		}
	}
	closedir(da);
	/* Same number of entries on the other side: nothing extra. */
	DIR *db = fdopendir(fcntl(b, F_DUPFD_CLOEXEC, 3));
	rewinddir(db);
	size_t nb = 0;
	while ((de = readdir(db)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			nb++;
	closedir(db);
	assert_int_equal(na, nb);
}

static void import_src(struct fixture *f, struct notes *notes, struct digest *ret)
{
	struct err err = {0};
	struct tree_import_opts opts = {.keep_owner = true, .note = collect_note, .userdata = notes};
	int dfd = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	OK(tree_import_dir(f->s, dfd, &opts, ret, &err));
	close(dfd);
}

static void test_import(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	make_source(f);
	struct notes notes = {""};
	struct digest d, d2;
	import_src(f, &notes, &d);
	assert_non_null(strstr(notes.text, "fifo: fifo skipped\n"));
	assert_non_null(strstr(notes.text, "suid: setuid bit dropped\n"));
	_cleanup_(tree_freep) struct tree *t = NULL;
	OK(tree_load(f->s, &d, &t, &err));
	struct tree_attr a;
	assert_int_equal(tree_get(t, f->s, "fifo", &a, &err), -ENOENT);
	OK(tree_get(t, f->s, "suid", &a, &err));
	assert_int_equal(a.perm, 0755);
	OK(tree_get(t, f->s, "new\nline", &a, &err));
	OK(tree_get(t, f->s, "esc\x1b[31m", &a, &err));
	assert_int_equal(a.perm, 0640);
	OK(tree_get(t, f->s, "bytes\xff\xfe", &a, &err));
	OK(tree_get(t, f->s, "emptydir", &a, &err));
	assert_int_equal(a.type, TREE_DIR);
	assert_int_equal(a.perm, 0700);
	OK(tree_get(t, f->s, "sub/escape", &a, &err));
	assert_int_equal(a.type, TREE_SYMLINK);
	assert_int_equal(a.size, strlen("../../outside"));
	OK(tree_get(t, f->s, "sub/big", &a, &err));
	assert_int_equal(a.size, 40 * 65536);
	OK(tree_get(t, f->s, "empty", &a, &err));
	assert_int_equal(a.size, 0);
	/* Importing again gives the same digest; owners can be overridden. */
	import_src(f, &notes, &d2);
	assert_true(digest_equal(&d, &d2));
	struct tree_import_opts opts = {.uid = 1000, .gid = 1000};
	int dfd = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	OK(tree_import_dir(f->s, dfd, &opts, &d2, &err));
	close(dfd);
	assert_false(digest_equal(&d, &d2));
	_cleanup_(tree_freep) struct tree *t2 = NULL;
	OK(tree_load(f->s, &d2, &t2, &err));
	OK(tree_get(t2, f->s, "sub/escape", &a, &err));
	assert_int_equal(a.uid, 1000);
}

static void test_checkout_equals_source(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	make_source(f);
	struct notes notes = {""};
	struct digest d;
	import_src(f, &notes, &d);
	unsetenv("SOURCE_DATE_EPOCH");
	_cleanup_free_ char *path = NULL, *path2 = NULL;
	OK(tree_checkout(f->s, &d, &path, &err));
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&d, hex);
	_cleanup_free_ char *want = xasprintf("%s/checkouts/%s", f->store, hex);
	assert_string_equal(path, want);
	int src = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int co = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(src >= 0 && co >= 0);
	/* The setuid bit is dropped in the copy: compare with it cleared. */
	assert_int_equal(fchmodat(src, "suid", 0755, 0), 0);
	compare_dirs(src, co, "", true);
	struct stat st;
	assert_int_equal(fstat(co, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_mtim.tv_sec, 0);
	/* Files are hard links into the file cache. */
	assert_int_equal(fstatat(co, "plain", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(st.st_nlink >= 3); /* cache, plain, sub/same-as-plain */
	/* A second checkout is immediate and names the same directory. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	OK(tree_checkout(f->s, &d, &path2, &err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(path, path2);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (ms > 5.0)
		fail_msg("second checkout took %.2f ms", ms);
	/* tree_extract makes an equal private copy without hard links. */
	_cleanup_free_ char *ex = xasprintf("%s/extract", f->dir);
	assert_int_equal(mkdir(ex, 0755), 0);
	int exfd = open(ex, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	OK(tree_extract(f->s, &d, exfd, &err));
	compare_dirs(src, exfd, "", true);
	assert_int_equal(fstatat(exfd, "plain", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_nlink, 1);
	/* A tree walk sees exactly what the checkout holds. */
	uint64_t bytes, entries;
	OK(tree_usage(f->s, &d, &bytes, &entries, &err));
	assert_int_equal(entries, 16);
	close(exfd);
	close(src);
	close(co);
}

/* A new checkout is on disk before it gets its name: each file and
 * directory fsynced when there are few, one syncfs when there are more
 * than STORE_SYNC_EACH. */
static void checkout_counts(struct fixture *f, const char *name, int nfiles,
			    struct store_sync_counts *ret)
{
	struct err err = {0};
	_cleanup_free_ char *dir = xasprintf("%s/%s", f->src, name);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int i = 0; i < nfiles; i++) {
		_cleanup_free_ char *p = xasprintf("%s/f%d", dir, i);
		_cleanup_free_ char *text = xasprintf("%s %d\n", name, i);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
		close(fd);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	struct digest d;
	struct tree_import_opts opts = {0};
	OK(tree_import_dir(f->s, dfd, &opts, &d, &err));
	close(dfd);
	struct store_sync_counts before;
	store_get_sync_counts(f->s, &before);
	_cleanup_free_ char *path = NULL;
	OK(tree_checkout(f->s, &d, &path, &err));
	store_get_sync_counts(f->s, ret);
	ret->fsync -= before.fsync;
	ret->syncfs -= before.syncfs;
}

static void test_checkout_synced(void **state)
{
	struct fixture *f = *state;
	struct store_sync_counts c;
	checkout_counts(f, "few", 3, &c);
	assert_int_equal(c.syncfs, 0);
	assert_true(c.fsync >= 3 + 1);
	assert_int_equal(c.fsync, 3 + 1); /* the files, the root: nothing else */
	checkout_counts(f, "many", STORE_SYNC_EACH + 10, &c);
	assert_int_equal(c.syncfs, 1);
	/* Known to be many before it starts: no fsync made in vain first. */
	assert_int_equal(c.fsync, 0);
}

/* Checks out a tree of one unreadable file (perm 0, as /etc/shadow in some
 * images), then one more with the same file, which links the file cache
 * entry the first made; unprivileged (as nobody if we are root), in a
 * store of its own. In a child: returns 0 or the failing step, and leaves
 * the freeing to _exit. */
#define STEP(n, expr)                                                            \
	do {                                                                     \
		if ((expr) < 0) {                                                \
			fprintf(stderr, "step %d: %s: %s\n", n, #expr, err.msg); \
			return n;                                                \
		}                                                                \
	} while (0)
static int checkout_unreadable_unprivileged(const char *dir)
{
	struct err err = {0};
	/* In dir first: the scratch directories above may be closed to nobody. */
	STEP(1, chdir(dir));
	if (geteuid() == 0) {
		STEP(1, setgroups(0, NULL));
		STEP(1, setresgid(65534, 65534, 65534));
		STEP(1, setresuid(65534, 65534, 65534));
	}
	struct store *s = NULL;
	STEP(2, store_open("store", STORE_CREATE, &s, &err));
	struct tree *t = tree_new();
	struct tree_attr a = {.type = TREE_FILE, .perm = 0, .size = 7};
	struct digest d;
	char *path = NULL;
	STEP(3, store_put(s, "secret\n", 7, &a.digest, &err));
	STEP(3, tree_set(t, s, "shadow", &a, &err));
	STEP(3, tree_write(t, s, &d, &err));
	STEP(4, tree_checkout(s, &d, &path, &err));
	a.perm = 0644;
	STEP(5, tree_set(t, s, "other", &a, &err));
	STEP(5, tree_write(t, s, &d, &err));
	STEP(6, tree_checkout(s, &d, &path, &err));
	return 0;
}
#undef STEP

static void test_checkout_unreadable_cached(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *dir = xasprintf("%s/nobody", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(dir, 65534, 65534), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(checkout_unreadable_unprivileged(dir));
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_checkout_concurrent(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	make_source(f);
	struct notes notes = {""};
	struct digest d;
	import_src(f, &notes, &d);
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct store *s = NULL;
			char *p = NULL;
			if (store_open(f->store, 0, &s, &err) < 0 || tree_checkout(s, &d, &p, &err) < 0) {
				fprintf(stderr, "child: %s\n", err.msg);
				_exit(1);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* One checkout, nothing left in tmp/. */
	_cleanup_free_ char *co = xasprintf("%s/checkouts", f->store);
	_cleanup_free_ char *tmp = xasprintf("%s/tmp", f->store);
	int n = 0;
	DIR *dir = opendir(co);
	struct dirent *de;
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	assert_int_equal(n, 1);
	dir = opendir(tmp);
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			fail_msg("left behind in tmp/: %s", de->d_name);
	closedir(dir);
	_cleanup_free_ char *path = NULL;
	OK(tree_checkout(f->s, &d, &path, &err));
	int src = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int cfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fchmodat(src, "suid", 0755, 0), 0);
	compare_dirs(src, cfd, "", true);
	close(src);
	close(cfd);
}

static void test_checkout_refuses_corrupt(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	make_source(f);
	struct notes notes = {""};
	struct digest d, other;
	import_src(f, &notes, &d);
	_cleanup_(tree_freep) struct tree *t = NULL;
	OK(tree_load(f->s, &d, &t, &err));
	struct tree_attr a;
	OK(tree_get(t, f->s, "sub/big", &a, &err));
	/* Replace the object with a valid zstd frame of other bytes. */
	OK(store_put(f->s, "tampered", 8, &other, &err));
	char hex[DIGEST_HEX_LEN + 1], ohex[DIGEST_HEX_LEN + 1], dhex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&a.digest, hex);
	digest_to_hex(&other, ohex);
	digest_to_hex(&d, dhex);
	_cleanup_free_ char *victim = xasprintf("%s/objects/%.2s/%s", f->store, hex, hex + 2);
	_cleanup_free_ char *donor = xasprintf("%s/objects/%.2s/%s", f->store, ohex, ohex + 2);
	assert_int_equal(unlink(victim), 0);
	assert_int_equal(link(donor, victim), 0);
	_cleanup_free_ char *path = NULL;
	assert_int_equal(tree_checkout(f->s, &d, &path, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, hex));
	assert_non_null(strstr(err.msg, "sub/big"));
	assert_null(path);
	_cleanup_free_ char *co = xasprintf("%s/checkouts/%s", f->store, dhex);
	struct stat st;
	assert_int_equal(stat(co, &st), -1);
	_cleanup_free_ char *tmp = xasprintf("%s/tmp", f->store);
	DIR *dir = opendir(tmp);
	struct dirent *de;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			fail_msg("left behind in tmp/: %s", de->d_name);
	closedir(dir);
	/* A corrupt directory object is refused too, naming it. */
	OK(tree_get(t, f->s, "sub", &a, &err));
	digest_to_hex(&a.digest, hex);
	_cleanup_free_ char *dvictim = xasprintf("%s/objects/%.2s/%s", f->store, hex, hex + 2);
	assert_int_equal(unlink(dvictim), 0);
	assert_int_equal(link(donor, dvictim), 0);
	assert_int_equal(tree_checkout(f->s, &d, &path, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, hex));
}

static void test_depth_limit(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	/* Each level holds an fd while importing; give room for them. */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 4 * TREE_DEPTH_MAX) {
		rl.rlim_cur = rl.rlim_max < 4 * TREE_DEPTH_MAX ? rl.rlim_max : 4 * TREE_DEPTH_MAX;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int cur = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < TREE_DEPTH_MAX + 5; i++) {
		assert_int_equal(mkdirat(cur, "d", 0755), 0);
		int next = openat(cur, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		close(cur);
		cur = next;
	}
	close(cur);
	int dfd = open(f->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct tree_import_opts opts = {0};
	struct digest d;
	assert_int_equal(tree_import_dir(f->s, dfd, &opts, &d, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "nested deeper than 1024"));
	close(dfd);
	/* Exactly at the limit is fine, and checks out. */
	_cleanup_(tree_freep) struct tree *t = tree_new();
	_cleanup_free_ char *p = xmalloc(2 * TREE_DEPTH_MAX + 2);
	for (int i = 0; i < TREE_DEPTH_MAX - 1; i++)
		memcpy(p + 2 * i, "d/", 2);
	p[2 * (TREE_DEPTH_MAX - 1) - 1] = '\0';
	struct tree_attr dir = {.type = TREE_DIR, .perm = 0755};
	OK(tree_set(t, f->s, p, &dir, &err));
	OK(tree_write(t, f->s, &d, &err));
	_cleanup_free_ char *path = NULL;
	OK(tree_checkout(f->s, &d, &path, &err));
}

/* Checkouts for a sandbox's user namespace: owners shifted (or forced),
 * one checkout per map; an import under id_base shifts them back. */
static void test_checkout_mapped_and_unshift(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	if (geteuid() != 0)
		skip();
	_cleanup_(tree_freep) struct tree *t = tree_new();
	struct tree_attr a = file_attr(f, "owned\n", 0644);
	a.uid = 7;
	a.gid = 8;
	OK(tree_set(t, f->s, "d/file", &a, &err));
	struct digest d;
	OK(tree_write(t, f->s, &d, &err));
	struct tree_idmap shift = {.shift = 100000};
	struct tree_idmap force = {.shift = 100000, .force = true, .uid = 1000, .gid = 1000};
	_cleanup_free_ char *p1 = NULL, *p2 = NULL, *p3 = NULL;
	OK(tree_checkout_mapped(f->s, &d, &shift, &p1, &err));
	OK(tree_checkout_mapped(f->s, &d, &force, &p2, &err));
	OK(tree_checkout(f->s, &d, &p3, &err));
	assert_string_not_equal(p1, p2);
	assert_string_not_equal(p1, p3);
	struct stat st;
	_cleanup_free_ char *f1 = xasprintf("%s/d/file", p1);
	_cleanup_free_ char *f2 = xasprintf("%s/d/file", p2);
	_cleanup_free_ char *f3 = xasprintf("%s/d/file", p3);
	assert_int_equal(stat(f1, &st), 0);
	assert_int_equal(st.st_uid, 100007);
	assert_int_equal(st.st_gid, 100008);
	assert_int_equal(stat(f2, &st), 0);
	assert_int_equal(st.st_uid, 101000);
	assert_int_equal(stat(p2, &st), 0);
	assert_int_equal(st.st_uid, 101000); /* the root too: the agent owns its workspace */
	assert_int_equal(stat(f3, &st), 0);
	assert_int_equal(st.st_uid, 7);
	/* Importing the shifted checkout under id_base gives the tree back. */
	_cleanup_close_ int dfd = open(p1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct tree_import_opts io = {.keep_owner = true, .id_base = 100000};
	struct digest back;
	OK(tree_import_dir(f->s, dfd, &io, &back, &err));
	assert_true(digest_equal(&back, &d));
	assert_int_equal(tree_unshift_id(5, 100000), 65534);
	assert_int_equal(tree_unshift_id(100000 + 65536, 100000), 65534);
	assert_int_equal(tree_unshift_id(5, 0), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode_roundtrip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test_setup_teardown(test_digest_stable_and_golden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_remove_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_only_modified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_equals_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_synced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_unreadable_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_refuses_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_mapped_and_unshift, setup, teardown),
	};
	return cmocka_run_group_tests_name("tree", tests, NULL, NULL);
}
