/* Unit tests for builder/bundle: a run made by hand in one store goes
 * through bundle_write and bundle_read into another; hostile bundles built
 * here with libarchive's writer (or by hand where libarchive would refuse
 * to write the lie) each get a clear error and leave no ref behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "builder/bundle.h"
#include "builder/maintain.h"
#include "builder/manifest.h"
#include "lib/buf.h"
#include "lib/digestset.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/tree.h"
#include "lib/xalloc.h"
#include "runner/run.h"

#define RUN_ID "20250101-000000.000000-abcd"

struct fixture {
	char *dir;
	struct store *a, *b; /* a: where the run is made; b: where it is loaded */
	struct digest record, image;
};

static void put_file(struct fixture *f, struct tree *t, const char *path, const char *data)
{
	struct err err = {0};
	struct tree_attr at = {.type = TREE_FILE, .perm = 0644, .size = strlen(data)};
	assert_int_equal(store_put(f->a, data, strlen(data), &at.digest, &err), 0);
	assert_int_equal(tree_set(t, f->a, path, &at, &err), 0);
}

/* A run record as runner/run.c writes it, minus the fields bundles do not
 * care about; refs/runs/RUN_ID names it. */
static void make_run(struct fixture *f)
{
	struct err err = {0};
	struct digest in, out, so, se;
	_cleanup_(tree_freep) struct tree *t = tree_new();
	put_file(f, t, "bin/tool", "#!/bin/sh\n");
	put_file(f, t, "etc/motd", "hello\n");
	struct digest root;
	assert_int_equal(tree_write(t, f->a, &root, &err), 0);
	struct manifest m;
	manifest_init(&m);
	m.tree = root;
	assert_int_equal(manifest_put(f->a, &m, &f->image, &err), 0);
	manifest_release(&m);
	assert_int_equal(image_record(f->a, &f->image, "tool", &err), 0);

	_cleanup_(tree_freep) struct tree *w = tree_new();
	put_file(f, w, "a.txt", "original\n");
	assert_int_equal(tree_write(w, f->a, &in, &err), 0);
	put_file(f, w, "a.txt", "changed\n");
	put_file(f, w, "sub/new.txt", "new\n");
	assert_int_equal(tree_write(w, f->a, &out, &err), 0);
	assert_int_equal(store_put(f->a, "out\n", 4, &so, &err), 0);
	assert_int_equal(store_put(f->a, "", 0, &se, &err), 0);

	char s_img[DIGEST_STR_SIZE], s_in[DIGEST_STR_SIZE], s_out[DIGEST_STR_SIZE],
		s_so[DIGEST_STR_SIZE], s_se[DIGEST_STR_SIZE];
	digest_to_str(&f->image, s_img);
	digest_to_str(&in, s_in);
	digest_to_str(&out, s_out);
	digest_to_str(&so, s_so);
	digest_to_str(&se, s_se);
	json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:{s:i}}", "id", RUN_ID, "image",
				s_img, "input_tree", s_in, "output_tree", s_out, "stdout", s_so,
				"stderr", s_se, "argv", "true", "exit", "code", 0);
	char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(store_put(f->a, text, strlen(text), &f->record, &err), 0);
	free(text);
	json_decref(rec);
	assert_int_equal(store_ref_set(f->a, STORE_NS_RUNS, RUN_ID, &f->record, &err), 0);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	const char *base = getenv("AIRLOCK_TEST_TMP") ?: "/tmp";
	f->dir = xasprintf("%s/bundle-XXXXXX", base);
	if (!mkdtemp(f->dir))
		return -1;
	_cleanup_free_ char *pa = xasprintf("%s/a", f->dir), *pb = xasprintf("%s/b", f->dir);
	struct err err = {0};
	if (store_open(pa, STORE_CREATE, &f->a, &err) < 0 ||
	    store_open(pb, STORE_CREATE, &f->b, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	make_run(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->a);
	store_free(f->b);
	fs_rm_rf_at(AT_FDCWD, f->dir, NULL);
	free(f->dir);
	free(f);
	return 0;
}

static size_t ref_count(struct store *s, const char *ns)
{
	char **names = NULL;
	size_t n = 0;
	struct err err = {0};
	assert_int_equal(store_ref_list(s, ns, &names, &n, &err), 0);
	store_names_free(names, n);
	return n;
}

static void assert_no_refs(struct store *s)
{
	assert_int_equal(ref_count(s, STORE_NS_RUNS), 0);
	assert_int_equal(ref_count(s, STORE_NS_IMAGES), 0);
	assert_int_equal(ref_count(s, STORE_NS_TAGS), 0);
}

static char *path_in(struct fixture *f, const char *name)
{
	return xasprintf("%s/%s", f->dir, name);
}

static void read_whole(const char *path, struct buf *out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fs_read_fd(fd, 1u << 30, out, NULL), 0);
}

/* Loads path into store b; asserts failure with want in the message and
 * that b gained no ref. */
static void expect_refused(struct fixture *f, const char *path, const char *want)
{
	struct err err = {0};
	char id[RUN_ID_MAX] = "";
	int r = bundle_read(f->b, path, NULL, id, &err);
	if (r >= 0 || !strstr(err.msg, want))
		fail_msg("want an error with \"%s\", got %d: %s", want, r, err.msg);
	assert_non_null(strstr(err.msg, "bundle '"));
	if (getenv("TEST_BUNDLE_VERBOSE"))
		fprintf(stderr, "# %s\n", err.msg);
	assert_no_refs(f->b);
}

/* ---- hostile bundles: an entry list written with libarchive ---- */

struct ent {
	char type; /* 'f' file, 'l' symlink, 'h' hard link, 'd' directory */
	char *name;
	char *data; /* file bytes or link target */
	size_t len;
};

struct ents {
	struct ent *v;
	size_t n, cap;
};

static void ents_add(struct ents *e, char type, const char *name, const void *data, size_t len)
{
	xgrow(&e->v, &e->cap, e->n + 1, sizeof *e->v);
	struct ent *x = &e->v[e->n++];
	x->type = type;
	x->name = xstrdup(name);
	x->data = xmalloc(len + 1);
	memcpy(x->data, data, len);
	x->data[len] = '\0';
	x->len = len;
}

static void ents_release(struct ents *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].data);
	}
	free(e->v);
	*e = (struct ents){0};
}

static void add_record(struct ents *e, const char *run, const struct digest *rec)
{
	char s[DIGEST_STR_SIZE];
	digest_to_str(rec, s);
	_cleanup_free_ char *text =
		xasprintf("{\"record\":\"%s\",\"run\":\"%s\",\"version\":1}\n", s, run);
	ents_add(e, 'f', "record", text, strlen(text));
}

static void add_object(struct fixture *f, struct ents *e, const struct digest *d)
{
	struct err err = {0};
	_cleanup_buf_ struct buf b = BUF_INIT;
	assert_int_equal(store_get(f->a, d, 1u << 30, &b, &err), 0);
	char hex[DIGEST_HEX_LEN + 1], name[80];
	digest_to_hex(d, hex);
	snprintf(name, sizeof name, "objects/%s", hex);
	ents_add(e, 'f', name, b.data ?: "", b.len);
}

static int cmp_digest(const void *x, const void *y)
{
	return memcmp(x, y, DIGEST_LEN);
}

/* Everything the run in a reaches, sorted. */
static struct digest *reachable(struct fixture *f, size_t *ret_n)
{
	struct digestset set = DIGESTSET_INIT;
	struct err err = {0};
	assert_int_equal(maintain_reachable(f->a, &f->record, &set, &err), 0);
	struct digest *v = xcalloc(set.count, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < set.cap; i++)
		if (set.used[i])
			v[n++] = set.slots[i];
	digestset_release(&set);
	qsort(v, n, sizeof *v, cmp_digest);
	*ret_n = n;
	return v;
}

/* The canonical entries of the run, as bundle_write would write them. */
static void canonical(struct fixture *f, struct ents *e)
{
	ents_add(e, 'f', "airlock-bundle", BUNDLE_MAGIC, strlen(BUNDLE_MAGIC));
	add_record(e, RUN_ID, &f->record);
	size_t n;
	_cleanup_free_ struct digest *v = reachable(f, &n);
	for (size_t i = 0; i < n; i++)
		add_object(f, e, &v[i]);
}

static char *write_ents(struct fixture *f, const char *file, const struct ents *e, bool zstd)
{
	char *path = path_in(f, file);
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (zstd)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	struct archive_entry *ae = archive_entry_new();
	for (size_t i = 0; i < e->n; i++) {
		const struct ent *x = &e->v[i];
		archive_entry_clear(ae);
		archive_entry_copy_pathname(ae, x->name);
		archive_entry_set_mtime(ae, 0, 0);
		switch (x->type) {
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_copy_symlink(ae, x->data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_copy_hardlink(ae, x->data);
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
			break;
		default:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)x->len);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (x->type == 'f' && x->len)
			assert_int_equal(archive_write_data(a, x->data, x->len), (la_ssize_t)x->len);
	}
	archive_entry_free(ae);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

static void expect_ents_refused(struct fixture *f, struct ents *e, const char *want)
{
	_cleanup_free_ char *p = write_ents(f, "hostile.alb", e, true);
	expect_refused(f, p, want);
	ents_release(e);
}

/* ---- tests ---- */

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_free_ char *p1 = path_in(f, "one.alb"), *p2 = path_in(f, "two.alb");
	assert_int_equal(bundle_write(f->a, "last", p1, &err), 0);
	assert_int_equal(bundle_write(f->a, RUN_ID, p2, &err), 0);
	_cleanup_buf_ struct buf b1 = BUF_INIT;
	_cleanup_buf_ struct buf b2 = BUF_INIT;
	read_whole(p1, &b1);
	read_whole(p2, &b2);
	assert_int_equal(b1.len, b2.len); /* deterministic */
	assert_memory_equal(b1.data, b2.data, b1.len);

	/* What the test builds by hand is what bundle_write writes. */
	struct ents e = {0};
	canonical(f, &e);
	_cleanup_free_ char *p3 = write_ents(f, "hand.alb", &e, true);
	ents_release(&e);

	char id[RUN_ID_MAX];
	assert_int_equal(bundle_read(f->b, p1, NULL, id, &err), 0);
	assert_string_equal(id, RUN_ID);
	struct digest d;
	assert_int_equal(store_ref_get(f->b, STORE_NS_RUNS, RUN_ID, &d, &err), 0);
	assert_true(digest_equal(&d, &f->record));
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&f->image, hex);
	assert_int_equal(store_ref_get(f->b, STORE_NS_IMAGES, hex, &d, &err), 0);
	assert_true(digest_equal(&d, &f->image));
	assert_int_equal(ref_count(f->b, STORE_NS_TAGS), 0); /* never a local name */

	size_t n;
	_cleanup_free_ struct digest *v = reachable(f, &n);
	for (size_t i = 0; i < n; i++)
		assert_true(store_has(f->b, &v[i]));
	struct fsck_report rep = {0};
	assert_int_equal(fsck_run(f->b, &rep, &err), 0);
	assert_int_equal(rep.problems, 0);
	buf_release(&rep.text);

	/* Loading the same run again, or the hand-made copy, changes nothing. */
	assert_int_equal(bundle_read(f->b, p1, NULL, id, &err), 0);
	assert_int_equal(bundle_read(f->b, p3, NULL, id, &err), 0);
	assert_int_equal(ref_count(f->b, STORE_NS_RUNS), 1);
	assert_int_equal(ref_count(f->b, STORE_NS_IMAGES), 1);
}

static void test_write_errors(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_free_ char *p = path_in(f, "x.alb");
	assert_int_equal(bundle_write(f->b, "last", p, &err), -ENOENT); /* no runs */
	assert_int_equal(access(p, F_OK), -1);
	assert_true(bundle_write(f->a, "last", f->dir, &err) < 0);
	/* A missing object in the source store is an error, and FILE is left
	 * as it was. */
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	assert_int_equal(store_delete_object(f->a, &f->image, &err), 0);
	assert_true(bundle_write(f->a, "last", p, &err) < 0);
	assert_non_null(strstr(err.msg, "missing"));
	_cleanup_buf_ struct buf b = BUF_INIT;
	read_whole(p, &b);
	assert_int_equal(b.len, 3);
}

static void test_same_id_other_record(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest other;
	assert_int_equal(store_put(f->b, "{}", 2, &other, &err), 0);
	assert_int_equal(store_ref_set(f->b, STORE_NS_RUNS, RUN_ID, &other, &err), 0);
	_cleanup_free_ char *p = path_in(f, "one.alb");
	assert_int_equal(bundle_write(f->a, "last", p, &err), 0);
	char id[RUN_ID_MAX];
	assert_int_equal(bundle_read(f->b, p, NULL, id, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	struct digest d;
	assert_int_equal(store_ref_get(f->b, STORE_NS_RUNS, RUN_ID, &d, &err), 0);
	assert_true(digest_equal(&d, &other));
	assert_int_equal(ref_count(f->b, STORE_NS_IMAGES), 0);
}

static void test_digest_mismatch(void **state)
{
	struct fixture *f = *state;
	struct ents e = {0};
	canonical(f, &e);
	struct ent *x = &e.v[e.n - 1]; /* same length, one byte changed */
	if (!x->len)
		x = &e.v[e.n - 2];
	x->data[0] ^= 1;
	struct digest lie;
	digest_buffer(x->data, x->len, &lie);
	expect_ents_refused(f, &e, "digest mismatch");
	/* The lying entry never became an object, under either name. */
	assert_false(store_has(f->b, &lie));
}

static void test_dotdot_and_absolute(void **state)
{
	struct fixture *f = *state;
	struct ents e = {0};
	canonical(f, &e);
	ents_add(&e, 'f', "../x", "x", 1);
	expect_ents_refused(f, &e, "contains '..'");
	canonical(f, &e);
	ents_add(&e, 'f', "objects/../../x", "x", 1);
	expect_ents_refused(f, &e, "contains '..'");
	canonical(f, &e);
	ents_add(&e, 'f', "/etc/passwd", "x", 1);
	expect_ents_refused(f, &e, "absolute path");
}

static void test_links_and_dirs(void **state)
{
	struct fixture *f = *state;
	struct ents e = {0};
	canonical(f, &e);
	ents_add(&e, 'l', "objects/ffff", "/etc/passwd", 11);
	expect_ents_refused(f, &e, "symbolic link");
	canonical(f, &e);
	ents_add(&e, 'h', "objects/ffff", "record", 6);
	expect_ents_refused(f, &e, "hard link");
	canonical(f, &e);
	ents_add(&e, 'd', "objects/", "", 0);
	expect_ents_refused(f, &e, "not a regular file");
}

static void test_unknown_and_duplicate(void **state)
{
	struct fixture *f = *state;
	struct ents e = {0};
	canonical(f, &e);
	ents_add(&e, 'f', "extra", "x", 1);
	expect_ents_refused(f, &e, "unknown entry 'extra'");
	canonical(f, &e);
	ents_add(&e, 'f', "objects/ABCD", "x", 1);
	expect_ents_refused(f, &e, "unknown entry");
	canonical(f, &e);
	ents_add(&e, 'f', "record", "{}", 2);
	expect_ents_refused(f, &e, "duplicate entry 'record'");
	canonical(f, &e);
	struct ent last = e.v[e.n - 1];
	ents_add(&e, 'f', last.name, last.data, last.len);
	expect_ents_refused(f, &e, "duplicate entry");
	/* Out of order: swap two objects. */
	canonical(f, &e);
	struct ent t = e.v[2];
	e.v[2] = e.v[3];
	e.v[3] = t;
	expect_ents_refused(f, &e, "out of order");
	/* Magic first, record second. */
	canonical(f, &e);
	t = e.v[0];
	e.v[0] = e.v[1];
	e.v[1] = t;
	expect_ents_refused(f, &e, "not an airlock bundle");
}

static void test_bad_magic(void **state)
{
	struct fixture *f = *state;
	struct ents e = {0};
	canonical(f, &e);
	free(e.v[0].data);
	e.v[0].data = xstrdup("airlock-bundle 2\n");
	expect_ents_refused(f, &e, "unsupported bundle version");
	canonical(f, &e);
	_cleanup_free_ char *p = write_ents(f, "plain.tar", &e, false);
	ents_release(&e);
	expect_refused(f, p, "not zstd-compressed");
	_cleanup_free_ char *empty = path_in(f, "empty");
	int fd = open(empty, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	expect_refused(f, empty, "not a readable zstd-compressed tar");
}

static void test_record_missing_object(void **state)
{
	struct fixture *f = *state;
	struct ents e = {0};
	canonical(f, &e);
	/* Drop the image manifest: the record reaches it, nothing holds it. */
	char hex[DIGEST_HEX_LEN + 1], name[80];
	digest_to_hex(&f->image, hex);
	snprintf(name, sizeof name, "objects/%s", hex);
	for (size_t i = 2; i < e.n; i++) {
		if (!strcmp(e.v[i].name, name)) {
			free(e.v[i].name);
			free(e.v[i].data);
			memmove(&e.v[i], &e.v[i + 1], (e.n - i - 1) * sizeof *e.v);
			e.n--;
			break;
		}
	}
	expect_ents_refused(f, &e, "missing document");
	/* The record names an object that is not there at all. */
	canonical(f, &e);
	struct digest nowhere;
	digest_buffer("nowhere", 7, &nowhere);
	free(e.v[1].name);
	free(e.v[1].data);
	e.n--;
	memmove(&e.v[1], &e.v[2], (e.n - 1) * sizeof *e.v);
	struct ents g = {0};
	ents_add(&g, 'f', e.v[0].name, e.v[0].data, e.v[0].len);
	add_record(&g, RUN_ID, &nowhere);
	for (size_t i = 1; i < e.n; i++)
		ents_add(&g, 'f', e.v[i].name, e.v[i].data, e.v[i].len);
	ents_release(&e);
	expect_ents_refused(f, &g, "is not in the bundle");

	/* What the refused bundles left is garbage: gc takes it all. */
	struct gc_stats st;
	struct err err = {0};
	assert_int_equal(gc_run(f->b, &st, &err), 0);
	assert_true(st.objects_removed > 0);
	assert_int_equal(st.objects_kept, 0);
}

static void test_record_entry_malformed(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"{not json",
		"[]",
		"{\"record\":\"sha256:00\",\"run\":\"x\",\"version\":1}",
		"{\"record\":\"sha256:00\",\"run\":\"x\",\"version\":1,\"more\":1}",
		"{\"run\":\"x\",\"run\":\"y\",\"record\":\"sha256:00\",\"version\":1}",
	};
	static const char *const want[] = {"not valid JSON", "must be", "not a sha256",
					   "must be", "not valid JSON"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ents e = {0};
		canonical(f, &e);
		free(e.v[1].data);
		e.v[1].data = xstrdup(bad[i]);
		e.v[1].len = strlen(bad[i]);
		expect_ents_refused(f, &e, want[i]);
	}
	struct ents e = {0};
	canonical(f, &e);
	free(e.v[1].data);
	e.v[1].data = xasprintf("{\"record\":\"sha256:%064d\",\"run\":\"../../etc\",\"version\":1}", 0);
	e.v[1].len = strlen(e.v[1].data);
	expect_ents_refused(f, &e, "invalid run id");
	canonical(f, &e);
	free(e.v[1].data);
	e.v[1].data = xasprintf("{\"record\":\"sha256:%064d\",\"run\":\"x\",\"version\":2}", 0);
	e.v[1].len = strlen(e.v[1].data);
	expect_ents_refused(f, &e, "unsupported version 2");
	/* The record says it is another run. */
	canonical(f, &e);
	free(e.v[1].name);
	free(e.v[1].data);
	e.n--;
	memmove(&e.v[1], &e.v[2], (e.n - 1) * sizeof *e.v);
	struct ents g = {0};
	ents_add(&g, 'f', e.v[0].name, e.v[0].data, e.v[0].len);
	add_record(&g, "20990101-000000.000000-ffff", &f->record);
	for (size_t i = 1; i < e.n; i++)
		ents_add(&g, 'f', e.v[i].name, e.v[i].data, e.v[i].len);
	ents_release(&e);
	expect_ents_refused(f, &g, "its id differs");
}

/* A bundle of a hand-written record naming image and input_tree (the
 * empty tree when NULL), with every object it needs. */
static void expect_record_refused(struct fixture *f, const struct digest *image,
				  const struct digest *input, const char *want)
{
	struct err err = {0};
	struct digest empty;
	_cleanup_(tree_freep) struct tree *t = tree_new();
	assert_int_equal(tree_write(t, f->a, &empty, &err), 0);
	if (!input)
		input = &empty;
	char s_img[DIGEST_STR_SIZE], s_in[DIGEST_STR_SIZE];
	digest_to_str(image, s_img);
	digest_to_str(input, s_in);
	_cleanup_free_ char *rec = xasprintf(
		"{\"id\":\"%s\",\"image\":\"%s\",\"input_tree\":\"%s\",\"output_tree\":\"%s\"}",
		RUN_ID, s_img, s_in, s_in);
	struct digest rd;
	assert_int_equal(store_put(f->a, rec, strlen(rec), &rd, &err), 0);
	struct digestset set = DIGESTSET_INIT;
	digestset_add(&set, &rd);
	digestset_add(&set, image);
	digestset_add(&set, input);
	/* Everything the real image reaches, if the record names it. */
	if (digest_equal(image, &f->image))
		assert_int_equal(maintain_reachable(f->a, image, &set, &err), 0);
	_cleanup_free_ struct digest *w = xcalloc(set.count, sizeof *w);
	size_t m = 0;
	for (size_t i = 0; i < set.cap; i++)
		if (set.used[i])
			w[m++] = set.slots[i];
	digestset_release(&set);
	qsort(w, m, sizeof *w, cmp_digest);
	struct ents e = {0};
	ents_add(&e, 'f', "airlock-bundle", BUNDLE_MAGIC, strlen(BUNDLE_MAGIC));
	add_record(&e, RUN_ID, &rd);
	for (size_t i = 0; i < m; i++)
		add_object(f, &e, &w[i]);
	expect_ents_refused(f, &e, want);
}

static void test_record_doc_malformed(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	/* A record object that is not JSON, and one whose image is not a
	 * manifest: maintain_reachable and manifest_get catch them. */
	struct digest notjson, img_lie;
	const char *garbage = "{\"id\": ";
	assert_int_equal(store_put(f->a, garbage, strlen(garbage), &notjson, &err), 0);
	struct ents e = {0};
	ents_add(&e, 'f', "airlock-bundle", BUNDLE_MAGIC, strlen(BUNDLE_MAGIC));
	add_record(&e, RUN_ID, &notjson);
	add_object(f, &e, &notjson);
	expect_ents_refused(f, &e, "malformed JSON document");

	/* The image is JSON but not a manifest: refs/images must not get it. */
	const char *fake = "{\"schema\":99}";
	assert_int_equal(store_put(f->a, fake, strlen(fake), &img_lie, &err), 0);
	expect_record_refused(f, &img_lie, NULL, "unsupported schema");
	/* input_tree names a blob: the strict tree decoder refuses it. */
	struct digest notree;
	assert_int_equal(store_put(f->a, "not a tree", 10, &notree, &err), 0);
	expect_record_refused(f, &f->image, &notree, "malformed tree");
}

static void test_unreachable_object(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest extra;
	assert_int_equal(store_put(f->a, "stowaway", 8, &extra, &err), 0);
	struct ents e = {0};
	ents_add(&e, 'f', "airlock-bundle", BUNDLE_MAGIC, strlen(BUNDLE_MAGIC));
	add_record(&e, RUN_ID, &f->record);
	size_t n;
	_cleanup_free_ struct digest *v = reachable(f, &n);
	v = xrealloc(v, (n + 1) * sizeof *v);
	v[n++] = extra;
	qsort(v, n, sizeof *v, cmp_digest);
	for (size_t i = 0; i < n; i++)
		add_object(f, &e, &v[i]);
	expect_ents_refused(f, &e, "not reachable from the record");
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_free_ char *p = path_in(f, "whole.alb");
	assert_int_equal(bundle_write(f->a, "last", p, &err), 0);
	_cleanup_buf_ struct buf b = BUF_INIT;
	read_whole(p, &b);
	size_t cuts[] = {b.len - 1, b.len / 2, 200, 10};
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		_cleanup_free_ char *t = path_in(f, "cut.alb");
		unlink(t);
		int fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(fs_write_all(fd, b.data, cuts[i]), 0);
		close(fd);
		char id[RUN_ID_MAX];
		assert_true(bundle_read(f->b, t, NULL, id, &err) < 0);
		assert_true(strstr(err.msg, "Truncated") || strstr(err.msg, "truncated") ||
			    strstr(err.msg, "not a readable"));
		assert_no_refs(f->b);
	}
}

/* A ustar header for one file that claims size bytes (base-256 when it
 * does not fit in octal). */
static void ustar_header(struct buf *out, const char *name, uint64_t size)
{
	char h[512] = {0};
	snprintf(h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	h[124] = (char)0x80;
	for (int i = 0; i < 8; i++)
		h[135 - i] = (char)(size >> (8 * i));
	memcpy(h + 136, "00000000000", 11);
	h[156] = '0';
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	buf_append(out, h, 512);
}

static void ustar_file(struct buf *out, const char *name, const char *data, size_t len)
{
	ustar_header(out, name, len);
	buf_append(out, data, len);
	char zero[512] = {0};
	if (len % 512)
		buf_append(out, zero, 512 - len % 512);
}

static char *write_zstd(struct fixture *f, const char *file, const struct buf *tar)
{
	size_t cap = ZSTD_compressBound(tar->len);
	_cleanup_free_ char *z = xmalloc(cap);
	size_t n = ZSTD_compress(z, cap, tar->data, tar->len, 3);
	assert_false(ZSTD_isError(n));
	char *p = path_in(f, file);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, z, n), 0);
	close(fd);
	return p;
}

static void test_huge_claimed_size(void **state)
{
	struct fixture *f = *state;
	char zero[1024] = {0};
	char hex[DIGEST_HEX_LEN + 1], name[80], rec[200];
	digest_to_hex(&f->record, hex);
	snprintf(name, sizeof name, "objects/%s", hex);
	snprintf(rec, sizeof rec, "{\"record\":\"sha256:%s\",\"run\":\"%s\",\"version\":1}", hex,
		 RUN_ID);
	/* An object claiming 1 TiB with nothing behind it: refused from the
	 * header, before a byte is read or written. */
	struct buf t = BUF_INIT;
	ustar_file(&t, "airlock-bundle", BUNDLE_MAGIC, strlen(BUNDLE_MAGIC));
	ustar_file(&t, "record", rec, strlen(rec));
	ustar_header(&t, name, 1ull << 40);
	buf_append(&t, zero, sizeof zero);
	_cleanup_free_ char *p = write_zstd(f, "bomb.alb", &t);
	expect_refused(f, p, "over the limit");
	buf_release(&t);
	/* The same for the small entries. */
	ustar_header(&t, "airlock-bundle", 1ull << 40);
	buf_append(&t, zero, sizeof zero);
	_cleanup_free_ char *p2 = write_zstd(f, "bomb2.alb", &t);
	expect_refused(f, p2, "over the limit");
	buf_release(&t);
	ustar_file(&t, "airlock-bundle", BUNDLE_MAGIC, strlen(BUNDLE_MAGIC));
	ustar_header(&t, "record", 1u << 20);
	buf_append(&t, zero, sizeof zero);
	_cleanup_free_ char *p3 = write_zstd(f, "bomb3.alb", &t);
	expect_refused(f, p3, "over the limit");
	buf_release(&t);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	_cleanup_free_ char *p = path_in(f, "one.alb");
	assert_int_equal(bundle_write(f->a, "last", p, &err), 0);
	char id[RUN_ID_MAX];
	struct bundle_limits lim = {.max_objects = 2};
	assert_int_equal(bundle_read(f->b, p, &lim, id, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "more than 2 objects"));
	lim = (struct bundle_limits){.max_object_bytes = 8};
	assert_int_equal(bundle_read(f->b, p, &lim, id, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "over the limit of 8"));
	lim = (struct bundle_limits){.max_total_bytes = 100};
	assert_int_equal(bundle_read(f->b, p, &lim, id, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "in all"));
	assert_no_refs(f->b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_id_other_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_and_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_and_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_missing_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_entry_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_doc_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_claimed_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
