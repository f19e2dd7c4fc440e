/* Unit tests for builder/tartree: tar streams built here with libarchive's
 * writer (and one header by hand) are applied to a tree. Most are hostile:
 * tar slip, hard links to nowhere, devices, setuid, a size bomb, too many
 * entries; plus OCI whiteouts including an opaque directory whose marker
 * comes after this layer's own entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/tartree.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/tree.h"
#include "lib/xalloc.h"

struct fixture {
	char *dir;
	struct store *s;
	struct tree *root;
	struct buf notes; /* "path: what\n" per note */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	const char *base = getenv("AIRLOCK_TEST_TMP") ?: "/tmp";
	f->dir = xasprintf("%s/tartree-XXXXXX", base);
	if (!mkdtemp(f->dir))
		return -1;
	struct err err = {0};
	if (store_open(f->dir, STORE_CREATE, &f->s, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->root = tree_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tree_free(f->root);
	store_free(f->s);
	fs_rm_rf_at(AT_FDCWD, f->dir, NULL);
	free(f->dir);
	buf_release(&f->notes);
	free(f);
	return 0;
}

static void note_cb(const char *path, const char *what, void *userdata)
{
	struct fixture *f = userdata;
	buf_printf(&f->notes, "%s: %s\n", path, what);
}

struct ent {
	const char *path;
	unsigned type; /* AE_IF* */
	unsigned perm;
	const char *data; /* file contents (size bytes) */
	size_t size;
	const char *link; /* symlink target or hard link target */
};

#define TAR_CAP (4u << 20)

/* A pax archive of ents, in memory. */
static char *build_tar(const struct ent *ents, size_t n, size_t *ret_len)
{
	char *out = xmalloc(TAR_CAP);
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, out, TAR_CAP, ret_len), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].path);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		if (ents[i].type == AE_IFLNK && ents[i].link) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, ents[i].link);
		} else if (ents[i].type == 0) { /* hard link */
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, ents[i].link);
		} else {
			archive_entry_set_filetype(e, ents[i].type);
		}
		archive_entry_set_perm(e, ents[i].perm ? ents[i].perm : 0644);
		if (ents[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		archive_entry_set_size(e, (la_int64_t)ents[i].size);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (ents[i].size)
			assert_int_equal(archive_write_data(a, ents[i].data, ents[i].size),
					 (la_ssize_t)ents[i].size);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return out;
}

static int apply_mem(struct fixture *f, const void *data, size_t len,
		     const struct tartree_opts *opts, struct err *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, data, len), ARCHIVE_OK);
	int r = tartree_apply(f->s, a, f->root, opts, err);
	archive_read_free(a);
	return r;
}

static int apply_ents(struct fixture *f, const struct ent *ents, size_t n,
		      const struct tartree_opts *opts, struct err *err)
{
	size_t len = 0;
	_cleanup_free_ char *tar = build_tar(ents, n, &len);
	return apply_mem(f, tar, len, opts, err);
}

static bool exists(struct fixture *f, const char *path, struct tree_attr *ret)
{
	struct tree_attr a;
	struct err err = {0};
	int r = tree_get(f->root, f->s, path, ret ? ret : &a, &err);
	return r == 0;
}

static void test_normalize(void **state)
{
	(void)state;
	char out[TREE_PATH_MAX + 1];
	struct err err = {0};
	assert_int_equal(tartree_normalize_path("./usr/bin/x", out, &err), 0);
	assert_string_equal(out, "usr/bin/x");
	assert_int_equal(tartree_normalize_path("/usr//./lib/", out, &err), 0);
	assert_string_equal(out, "usr/lib");
	assert_int_equal(tartree_normalize_path("./", out, &err), 0);
	assert_string_equal(out, "");
	assert_int_equal(tartree_normalize_path("...", out, &err), 0);
	assert_string_equal(out, "...");
	assert_int_equal(tartree_normalize_path("../etc/passwd", out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ".."));
	assert_int_equal(tartree_normalize_path("a/b/../../../x", out, &err), -EINVAL);
	assert_int_equal(tartree_normalize_path("a/..", out, &err), -EINVAL);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(tartree_normalize_path(longname, out, &err), -EINVAL);
}

static void test_basic(void **state)
{
	struct fixture *f = *state;
	size_t big_n = 300000; /* more than one chunk */
	_cleanup_free_ char *big = xmalloc(big_n);
	for (size_t i = 0; i < big_n; i++)
		big[i] = (char)(i * 13 % 251);
	struct ent ents[] = {
		{"./", AE_IFDIR, 0755, NULL, 0, NULL},
		{"./usr/", AE_IFDIR, 0755, NULL, 0, NULL},
		{"./usr/bin/", AE_IFDIR, 0750, NULL, 0, NULL},
		{"./usr/bin/tool", AE_IFREG, 0755, "#!/bin/sh\n", 10, NULL},
		{"./usr/lib/big", AE_IFREG, 0644, big, big_n, NULL},
		{"/etc/abs", AE_IFREG, 0600, "x", 1, NULL},
		{"./usr/bin/link", AE_IFLNK, 0777, NULL, 0, "tool"},
		{"./usr/bin/hard", 0, 0, NULL, 0, "./usr/bin/tool"},
	};
	struct err err = {0};
	assert_int_equal(apply_ents(f, ents, ARRAY_SIZE(ents), NULL, &err), 0);

	struct tree_attr a;
	assert_true(exists(f, "usr/bin", &a));
	assert_int_equal(a.type, TREE_DIR);
	assert_int_equal(a.perm, 0750);
	assert_true(exists(f, "usr/bin/tool", &a));
	assert_int_equal(a.type, TREE_FILE);
	assert_int_equal(a.perm, 0755);
	assert_int_equal(a.size, 10);
	struct digest want;
	digest_buffer("#!/bin/sh\n", 10, &want);
	assert_true(digest_equal(&a.digest, &want));

	struct tree_attr h;
	assert_true(exists(f, "usr/bin/hard", &h));
	assert_int_equal(h.type, TREE_FILE);
	assert_true(digest_equal(&h.digest, &a.digest));
	assert_int_equal(h.perm, a.perm);

	assert_true(exists(f, "usr/lib/big", &a));
	assert_int_equal(a.size, big_n);
	_cleanup_buf_ struct buf got = BUF_INIT;
	assert_int_equal(store_get(f->s, &a.digest, big_n, &got, &err), 0);
	assert_memory_equal(got.data, big, big_n);

	assert_true(exists(f, "etc/abs", &a));
	assert_int_equal(a.perm, 0600);

	assert_true(exists(f, "usr/bin/link", &a));
	assert_int_equal(a.type, TREE_SYMLINK);
	assert_int_equal(a.size, 4);
	buf_reset(&got);
	assert_int_equal(store_get(f->s, &a.digest, 100, &got, &err), 0);
	assert_int_equal(got.len, 4);
	assert_memory_equal(got.data, "tool", 4);
}

static void test_tar_slip(void **state)
{
	struct fixture *f = *state;
	struct ent ents[] = {
		{"./ok", AE_IFREG, 0644, "a", 1, NULL},
		{"../etc/passwd", AE_IFREG, 0644, "root::0:0::/:/bin/sh\n", 21, NULL},
	};
	struct err err = {0};
	assert_int_equal(apply_ents(f, ents, ARRAY_SIZE(ents), NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "../etc/passwd"));
	assert_false(exists(f, "etc/passwd", NULL));

	struct ent ents2[] = {{"usr/../../x", AE_IFREG, 0644, "a", 1, NULL}};
	assert_int_equal(apply_ents(f, ents2, 1, NULL, &err), -EINVAL);
	/* A hard link whose target climbs out is refused too. */
	struct ent ents3[] = {{"y", 0, 0, NULL, 0, "../../etc/shadow"}};
	assert_int_equal(apply_ents(f, ents3, 1, NULL, &err), -EINVAL);
	/* A symlink's target is data, never followed: "../.." is allowed. */
	struct ent ents4[] = {{"up", AE_IFLNK, 0777, NULL, 0, "../../etc/passwd"},
			      {"up/x", AE_IFREG, 0644, "a", 1, NULL}};
	/* ...but a later entry cannot go through it (tree.h: -ENOTDIR). */
	assert_true(apply_ents(f, ents4, 2, NULL, &err) < 0);
	assert_true(exists(f, "up", NULL));
}

static void test_hardlink_unseen(void **state)
{
	struct fixture *f = *state;
	struct ent ents[] = {
		{"a/link", 0, 0, NULL, 0, "a/later"},
		{"a/later", AE_IFREG, 0644, "x", 1, NULL},
	};
	struct err err = {0};
	assert_int_equal(apply_ents(f, ents, ARRAY_SIZE(ents), NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "a/later"));
	assert_non_null(strstr(err.msg, "not earlier"));

	struct ent ents2[] = {{"d", AE_IFDIR, 0755, NULL, 0, NULL}, {"l", 0, 0, NULL, 0, "d"}};
	assert_int_equal(apply_ents(f, ents2, 2, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "directory"));
}

static void test_device_fifo_skipped(void **state)
{
	struct fixture *f = *state;
	struct ent ents[] = {
		{"dev/null", AE_IFCHR, 0666, NULL, 0, NULL},
		{"run/fifo", AE_IFIFO, 0644, NULL, 0, NULL},
		{"etc/ok", AE_IFREG, 0644, "ok", 2, NULL},
	};
	struct err err = {0};
	struct tartree_opts o = {.note = note_cb, .userdata = f};
	assert_int_equal(apply_ents(f, ents, ARRAY_SIZE(ents), &o, &err), 0);
	assert_false(exists(f, "dev/null", NULL));
	assert_false(exists(f, "run/fifo", NULL));
	assert_true(exists(f, "etc/ok", NULL));
	assert_non_null(strstr(f->notes.data, "dev/null: device node skipped"));
	assert_non_null(strstr(f->notes.data, "run/fifo: fifo skipped"));
}

static void test_setuid_dropped(void **state)
{
	struct fixture *f = *state;
	struct ent ents[] = {
		{"usr/bin/su", AE_IFREG, 04755, "su", 2, NULL},
		{"usr/bin/wall", AE_IFREG, 02755, "wall", 4, NULL},
		{"tmp", AE_IFDIR, 01777, NULL, 0, NULL},
	};
	struct err err = {0};
	struct tartree_opts o = {.note = note_cb, .userdata = f};
	assert_int_equal(apply_ents(f, ents, ARRAY_SIZE(ents), &o, &err), 0);
	struct tree_attr a;
	assert_true(exists(f, "usr/bin/su", &a));
	assert_int_equal(a.perm, 0755);
	assert_true(exists(f, "usr/bin/wall", &a));
	assert_int_equal(a.perm, 0755);
	assert_true(exists(f, "tmp", &a));
	assert_int_equal(a.perm, 0777);
	assert_non_null(strstr(f->notes.data, "usr/bin/su: setuid bit dropped"));
	assert_non_null(strstr(f->notes.data, "usr/bin/wall: setgid bit dropped"));
	assert_non_null(strstr(f->notes.data, "tmp: sticky bit dropped"));
}

static void set_file(struct fixture *f, const char *path)
{
	struct err err = {0};
	struct tree_attr a = {.type = TREE_FILE, .perm = 0644};
	assert_int_equal(store_put(f->s, path, strlen(path), &a.digest, &err), 0);
	a.size = strlen(path);
	assert_int_equal(tree_set(f->root, f->s, path, &a, &err), 0);
}

static void test_whiteouts(void **state)
{
	struct fixture *f = *state;
	/* The lower layer. */
	set_file(f, "a/lower1");
	set_file(f, "a/sub/lower2");
	set_file(f, "b/x");
	set_file(f, "b/y");
	set_file(f, "c");
	set_file(f, "keep/z");
	struct ent ents[] = {
		{"a/", AE_IFDIR, 0755, NULL, 0, NULL},
		{"a/new", AE_IFREG, 0644, "new", 3, NULL},
		{"a/sub/", AE_IFDIR, 0700, NULL, 0, NULL},
		{"a/sub/new2", AE_IFREG, 0644, "new2", 4, NULL},
		/* After this layer's own entries: they must survive. */
		{"a/.wh..wh..opq", AE_IFREG, 0644, NULL, 0, NULL},
		{".wh.c", AE_IFREG, 0644, NULL, 0, NULL},
		{"b/.wh.x", AE_IFREG, 0644, NULL, 0, NULL},
		{".wh.never-existed", AE_IFREG, 0644, NULL, 0, NULL},
		{"d/.wh..wh..opq", AE_IFREG, 0644, NULL, 0, NULL},
	};
	struct err err = {0};
	struct tartree_opts o = {.whiteouts = true};
	assert_int_equal(apply_ents(f, ents, ARRAY_SIZE(ents), &o, &err), 0);
	struct tree_attr a;
	assert_true(exists(f, "a/new", NULL));
	assert_true(exists(f, "a/sub/new2", NULL));
	assert_true(exists(f, "a/sub", &a));
	assert_int_equal(a.perm, 0700);
	assert_false(exists(f, "a/lower1", NULL));
	assert_false(exists(f, "a/sub/lower2", NULL));
	assert_false(exists(f, "c", NULL));
	assert_false(exists(f, "b/x", NULL));
	assert_true(exists(f, "b/y", NULL));
	assert_true(exists(f, "keep/z", NULL));
	assert_true(exists(f, "d", &a));
	assert_int_equal(a.type, TREE_DIR);
	assert_false(exists(f, ".wh.c", NULL));
	assert_false(exists(f, "a/.wh..wh..opq", NULL));

	/* An opaque marker before the layer's entries, the usual order. */
	set_file(f, "e/old");
	struct ent ents2[] = {
		{"e/.wh..wh..opq", AE_IFREG, 0644, NULL, 0, NULL},
		{"e/fresh", AE_IFREG, 0644, "f", 1, NULL},
	};
	assert_int_equal(apply_ents(f, ents2, ARRAY_SIZE(ents2), &o, &err), 0);
	assert_false(exists(f, "e/old", NULL));
	assert_true(exists(f, "e/fresh", NULL));

	/* Hostile whiteout names. */
	struct ent bad[] = {{"a/.wh...", AE_IFREG, 0644, NULL, 0, NULL}};
	assert_int_equal(apply_ents(f, bad, 1, &o, &err), -EINVAL);
	struct ent bad2[] = {{"a/.wh.", AE_IFREG, 0644, NULL, 0, NULL}};
	assert_int_equal(apply_ents(f, bad2, 1, &o, &err), -EINVAL);
	struct ent bad3[] = {{"../.wh.etc", AE_IFREG, 0644, NULL, 0, NULL}};
	assert_int_equal(apply_ents(f, bad3, 1, &o, &err), -EINVAL);
	assert_true(exists(f, "keep/z", NULL));

	/* Without whiteouts these are plain files. */
	struct ent plain[] = {{".wh.keep", AE_IFREG, 0644, NULL, 0, NULL}};
	assert_int_equal(apply_ents(f, plain, 1, NULL, &err), 0);
	assert_true(exists(f, ".wh.keep", NULL));
	assert_true(exists(f, "keep/z", NULL));
}

/* A ustar header by hand: claims size bytes, then only a few follow. */
static size_t huge_tar(char *out, const char *size_octal11)
{
	memset(out, 0, 2048);
	char *h = out;
	strcpy(h, "bomb");                /* name */
	strcpy(h + 100, "0000644");       /* mode */
	strcpy(h + 108, "0000000");       /* uid */
	strcpy(h + 116, "0000000");       /* gid */
	memcpy(h + 124, size_octal11, 11); /* size */
	strcpy(h + 136, "00000000000");   /* mtime */
	h[156] = '0';                     /* regular file */
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	memcpy(out + 512, "only a few bytes", 16);
	return 1024;
}

static void test_huge_claimed_size(void **state)
{
	struct fixture *f = *state;
	char tar[2048];
	size_t len = huge_tar(tar, "77777777777"); /* 8 GiB - 1 */
	struct err err = {0};
	struct tartree_opts o = {.max_bytes = 1 << 20};
	assert_int_equal(apply_mem(f, tar, len, &o, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "bomb"));
	assert_non_null(strstr(err.msg, "claims"));
	assert_false(exists(f, "bomb", NULL));
	/* Under the default limit the lie is a truncated archive: an error,
	 * never a short file presented as success. */
	err_clear(&err);
	assert_true(apply_mem(f, tar, len, NULL, &err) < 0);
	assert_false(exists(f, "bomb", NULL));
}

static void test_max_limits(void **state)
{
	struct fixture *f = *state;
	struct ent ents[10];
	char names[10][8];
	for (int i = 0; i < 10; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		ents[i] = (struct ent){names[i], AE_IFREG, 0644, "0123456789", 10, NULL};
	}
	struct err err = {0};
	struct tartree_opts o = {.max_entries = 5};
	assert_int_equal(apply_ents(f, ents, 10, &o, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "entries"));
	/* Total bytes: 10 x 10 > 55, though every single file fits. */
	struct tartree_opts o2 = {.max_bytes = 55};
	assert_int_equal(apply_ents(f, ents, 10, &o2, &err), -EFBIG);
	struct tartree_opts o3 = {.max_bytes = 100, .max_entries = 10};
	assert_int_equal(apply_ents(f, ents, 10, &o3, &err), 0);
}

static void test_not_a_tar(void **state)
{
	struct fixture *f = *state;
	char junk[4096];
	memset(junk, 'x', sizeof junk);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct err err = {0};
	int r = -1;
	if (archive_read_open_memory(a, junk, sizeof junk) == ARCHIVE_OK)
		r = tartree_apply(f->s, a, f->root, NULL, &err);
	archive_read_free(a);
	assert_true(r < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tar_slip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_unseen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_fifo_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setuid_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_claimed_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_tar, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
