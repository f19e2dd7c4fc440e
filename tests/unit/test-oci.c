/* Unit tests for builder/oci: hostile archives built here with libarchive's
 * writer (or by hand where libarchive would refuse to write the lie), each
 * asserting a clear error and that no image ref was left behind; plus
 * whiteouts, config mapping, and export -> import giving the same digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/oci.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/tree.h"
#include "lib/xalloc.h"

#define FIXTURE_NAME "oci"
#include "tests/unit/fixture.h"

/* One layer entry. type: 'f' file, 'd' dir, 'l' symlink, 'h' hardlink,
 * 'c' char device. */
struct ent {
	char type;
	const char *path;
	unsigned mode;
	const char *data; /* file contents, or link target */
};

/* A layer tar (uncompressed, or gzip) in memory. */
static void make_layer(const struct ent *ents, size_t n, bool gzip, struct buf *out)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	size_t cap = 1 << 20, used = 0;
	char *mem = xmalloc(cap);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].path);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		size_t len = 0;
		switch (ents[i].type) {
		case 'f':
			len = strlen(ents[i].data);
			archive_entry_set_mode(e, AE_IFREG | (ents[i].mode ?: 0644));
			archive_entry_set_size(e, (la_int64_t)len);
			break;
		case 'd':
			archive_entry_set_mode(e, AE_IFDIR | (ents[i].mode ?: 0755));
			break;
		case 'l':
			archive_entry_set_mode(e, AE_IFLNK | 0777);
			archive_entry_set_symlink(e, ents[i].data);
			break;
		case 'h':
			archive_entry_set_mode(e, AE_IFREG | 0644);
			archive_entry_set_hardlink(e, ents[i].data);
			break;
		case 'c':
			archive_entry_set_mode(e, AE_IFCHR | 0600);
			archive_entry_set_rdev(e, 0x0101);
			break;
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, ents[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	buf_append(out, mem, used);
	free(mem);
}

/* A named blob of an outer archive. */
struct file {
	char *name;
	struct buf data;
};

struct outer {
	struct file f[16];
	size_t n;
};

static void outer_add(struct outer *o, const char *name, const void *data, size_t len)
{
	o->f[o->n].name = xstrdup(name);
	buf_append(&o->f[o->n].data, data, len);
	o->n++;
}

static void outer_release(struct outer *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->f[i].name);
		buf_release(&o->f[i].data);
	}
}

/* Adds data as blobs/sha256/<its digest> (or the digest given as lie) and
 * returns a descriptor object. */
static json_t *add_blob(struct outer *o, const char *mt, const struct buf *data, const char *lie)
{
	struct digest d;
	digest_buffer(data->data, data->len, &d);
	char ds[DIGEST_STR_SIZE];
	digest_to_str(&d, ds);
	const char *use = lie ?: ds;
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", use + 7);
	outer_add(o, name, data->data, data->len);
	return json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", use, "size",
			 (json_int_t)data->len);
}

static void add_json(struct outer *o, const char *name, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	outer_add(o, name, s, strlen(s));
	free(s);
}

static void write_outer(const struct outer *o, const char *path)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < o->n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, o->f[i].name);
		archive_entry_set_mode(e, AE_IFREG | 0644);
		archive_entry_set_size(e, (la_int64_t)o->f[i].data.len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (o->f[i].data.len)
			archive_write_data(a, o->f[i].data.data, o->f[i].data.len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

struct spec {
	const struct buf *layers[4];
	size_t nlayers;
	const char *user;       /* config User, NULL for none */
	const char *layer_lie;  /* claimed digest of layer 1 */
	json_int_t size_delta;  /* added to layer 1's descriptor size */
};

/* Writes an oci-archive of the given layers to dir/name; returns path. */
static char *make_oci(struct fixture *f, const char *name, const struct spec *sp)
{
	struct outer o = {0};
	outer_add(&o, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	json_t *layers = json_array(), *diff_ids = json_array();
	for (size_t i = 0; i < sp->nlayers; i++) {
		json_t *d = add_blob(&o, "application/vnd.oci.image.layer.v1.tar", sp->layers[i],
				     i == 0 ? sp->layer_lie : NULL);
		if (i == 0 && sp->size_delta)
			json_object_set_new(d, "size",
					    json_integer(json_integer_value(json_object_get(d, "size")) +
							 sp->size_delta));
		json_array_append(diff_ids, json_object_get(d, "digest"));
		json_array_append_new(layers, d);
	}
	json_t *cfg = json_pack("{s:s,s:s,s:{s:[s],s:[s],s:[s],s:s,s:{s:s}},s:{s:s,s:o}}",
				"architecture", "amd64", "os", "linux", "config", "Env", "PATH=/bin",
				"Entrypoint", "/bin/sh", "Cmd", "-c", "WorkingDir", "/work", "Labels",
				"k", "v", "rootfs", "type", "layers", "diff_ids", diff_ids);
	if (sp->user)
		json_object_set_new(json_object_get(cfg, "config"), "User", json_string(sp->user));
	char *cs = json_dumps(cfg, JSON_COMPACT);
	struct buf cb = BUF_INIT;
	buf_puts(&cb, cs);
	free(cs);
	json_decref(cfg);
	json_t *man = json_pack("{s:i,s:s,s:o,s:o}", "schemaVersion", 2, "mediaType",
				"application/vnd.oci.image.manifest.v1+json", "config",
				add_blob(&o, "application/vnd.oci.image.config.v1+json", &cb, NULL),
				"layers", layers);
	buf_release(&cb);
	char *ms = json_dumps(man, JSON_COMPACT);
	struct buf mb = BUF_INIT;
	buf_puts(&mb, ms);
	free(ms);
	json_decref(man);
	json_t *index = json_pack("{s:i,s:[o]}", "schemaVersion", 2, "manifests",
				  add_blob(&o, "application/vnd.oci.image.manifest.v1+json", &mb, NULL));
	buf_release(&mb);
	add_json(&o, "index.json", index);
	json_decref(index);
	char *path = xasprintf("%s/%s", f->dir, name);
	write_outer(&o, path);
	outer_release(&o);
	return path;
}

/* No ref of any kind may exist after a failed import. */
static void assert_no_refs(struct fixture *f)
{
	char **names = NULL;
	size_t n = 0;
	struct err err = {0};
	assert_int_equal(store_ref_list(f->s, STORE_NS_IMAGES, &names, &n, &err), 0);
	assert_int_equal(n, 0);
	store_names_free(names, n);
	assert_int_equal(store_ref_list(f->s, STORE_NS_TAGS, &names, &n, &err), 0);
	assert_int_equal(n, 0);
	store_names_free(names, n);
	/* and no temp directory left in $STORE/tmp */
	_cleanup_free_ char *tmp = xasprintf("%s/store/tmp", f->dir);
	DIR *d = opendir(tmp);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "oci-", 4) == 0)
			fail_msg("temp dir %s/%s left behind", tmp, de->d_name);
	closedir(d);
}

static void expect_fail(struct fixture *f, const char *ref, const struct oci_import_opts *opts,
			const char *msg_part)
{
	struct err err = {0};
	struct digest img;
	int r = oci_import(f->s, ref, "t", opts, &img, NULL, &err);
	if (r >= 0)
		fail_msg("import of %s succeeded, expected an error mentioning '%s'", ref, msg_part);
	if (!strstr(err.msg, msg_part))
		fail_msg("error '%s' does not mention '%s'", err.msg, msg_part);
	assert_no_refs(f);
}

static void expect_fail_layer(struct fixture *f, const struct ent *ents, size_t n,
			      const struct oci_import_opts *opts, const char *msg_part)
{
	struct buf l = BUF_INIT;
	make_layer(ents, n, false, &l);
	struct spec sp = {.layers = {&l}, .nlayers = 1};
	_cleanup_free_ char *p = make_oci(f, "a.tar", &sp);
	_cleanup_free_ char *ref = xasprintf("oci-archive:%s", p);
	expect_fail(f, ref, opts, msg_part);
	buf_release(&l);
}

static int import_ok(struct fixture *f, const struct spec *sp, const struct oci_import_opts *opts,
		     struct manifest *m)
{
	_cleanup_free_ char *p = make_oci(f, "ok.tar", sp);
	_cleanup_free_ char *ref = xasprintf("oci-archive:%s", p);
	struct err err = {0};
	struct digest img;
	int r = oci_import(f->s, ref, "t", opts, &img, NULL, &err);
	if (r < 0)
		fail_msg("import failed: %s", err.msg);
	assert_int_equal(manifest_get(f->s, &img, m, &err), 0);
	return r;
}

static bool has(struct fixture *f, const struct manifest *m, const char *path,
		struct tree_attr *ret)
{
	_cleanup_(tree_freep) struct tree *t = NULL;
	struct err err = {0};
	assert_int_equal(tree_load(f->s, &m->tree, &t, &err), 0);
	struct tree_attr a;
	bool found = tree_get(t, f->s, path, ret ?: &a, &err) == 0;
	return found;
}

static void test_layers_and_whiteouts(void **state)
{
	struct fixture *f = *state;
	struct ent l1[] = {{'d', "etc", 0, NULL},
			   {'f', "etc/passwd", 0, "root:x:0:0::/:/bin/sh\napp:x:1234:99::/:/bin/sh\n"},
			   {'f', "etc/group", 0, "root:x:0:\nstaff:x:50:\n"},
			   {'d', "old", 0, NULL},
			   {'f', "old/a", 0, "a"},
			   {'f', "old/b", 0, "b"},
			   {'f', "gone", 0, "x"}};
	struct ent l2[] = {{'f', ".wh.gone", 0, ""}, {'f', "old/new", 0, "n"},
			   {'f', "old/.wh..wh..opq", 0, ""}};
	struct buf b1 = BUF_INIT, b2 = BUF_INIT;
	make_layer(l1, ARRAY_SIZE(l1), true, &b1);
	make_layer(l2, ARRAY_SIZE(l2), false, &b2);
	struct spec sp = {.layers = {&b1, &b2}, .nlayers = 2, .user = "app"};
	struct manifest m;
	import_ok(f, &sp, NULL, &m);
	assert_true(has(f, &m, "etc/passwd", NULL));
	assert_false(has(f, &m, "gone", NULL));
	assert_false(has(f, &m, "old/a", NULL));
	assert_false(has(f, &m, "old/b", NULL));
	assert_true(has(f, &m, "old/new", NULL));
	assert_false(has(f, &m, "old/.wh..wh..opq", NULL));
	/* config: Entrypoint + Cmd joined, user name resolved via passwd */
	assert_int_equal(m.config.ncmd, 2);
	assert_string_equal(m.config.cmd[0], "/bin/sh");
	assert_string_equal(m.config.cmd[1], "-c");
	assert_string_equal(m.config.user, "1234:99");
	assert_string_equal(m.config.workdir, "/work");
	assert_string_equal(m.config.env[0], "PATH=/bin");
	manifest_release(&m);
	sp.user = "app:staff";
	import_ok(f, &sp, NULL, &m);
	assert_string_equal(m.config.user, "1234:50");
	manifest_release(&m);
	sp.user = "77";
	import_ok(f, &sp, NULL, &m);
	assert_string_equal(m.config.user, "77:0");
	manifest_release(&m);
	buf_release(&b1);
	buf_release(&b2);
}

static void test_unknown_user(void **state)
{
	struct fixture *f = *state;
	struct ent l1[] = {{'f', "etc/passwd", 0, "root:x:0:0::/:/bin/sh\n"}};
	struct buf b1 = BUF_INIT;
	make_layer(l1, 1, false, &b1);
	struct spec sp = {.layers = {&b1}, .nlayers = 1, .user = "nobody-here"};
	_cleanup_free_ char *p = make_oci(f, "u.tar", &sp);
	_cleanup_free_ char *ref = xasprintf("oci-archive:%s", p);
	expect_fail(f, ref, NULL, "not in the image's /etc/passwd");
	buf_release(&b1);
}

static void test_dotdot(void **state)
{
	struct ent e[] = {{'f', "a/../../etc/x", 0, "x"}};
	expect_fail_layer(*state, e, 1, NULL, "contains '..'");
}

static void test_absolute_is_normalised(void **state)
{
	struct fixture *f = *state;
	struct ent e[] = {{'f', "/etc/abs", 0, "x"}, {'l', "esc", 0, "../../../../etc/shadow"},
			  {'l', "abs", 0, "/etc/shadow"}};
	struct buf b = BUF_INIT;
	make_layer(e, ARRAY_SIZE(e), false, &b);
	struct spec sp = {.layers = {&b}, .nlayers = 1};
	struct manifest m;
	import_ok(f, &sp, NULL, &m);
	struct tree_attr a;
	assert_true(has(f, &m, "etc/abs", &a));
	/* Symlinks are data: stored, never followed. */
	assert_true(has(f, &m, "esc", &a));
	assert_int_equal(a.type, TREE_SYMLINK);
	manifest_release(&m);
	buf_release(&b);
}

static void test_through_symlink(void **state)
{
	/* A file "beyond a symbolic link" must not land outside: tree paths
	 * never follow symlinks, so this is refused. */
	struct ent e[] = {{'l', "etc", 0, "/"}, {'f', "etc/passwd", 0, "x"}};
	expect_fail_layer(*state, e, 2, NULL, "etc");
}

static void test_hardlink_outside(void **state)
{
	struct ent e[] = {{'h', "x", 0, "../../etc/passwd"}};
	expect_fail_layer(*state, e, 1, NULL, "contains '..'");
}

static void test_hardlink_forward(void **state)
{
	struct ent e[] = {{'h', "x", 0, "later"}, {'f', "later", 0, "y"}};
	expect_fail_layer(*state, e, 2, NULL, "not earlier in the archive");
}

static void record_note(const char *path, const char *what, void *ud)
{
	struct buf *b = ud;
	buf_printf(b, "%s: %s\n", path, what);
}

static void test_devices_setuid(void **state)
{
	struct fixture *f = *state;
	struct ent e[] = {{'c', "dev/null", 0, NULL}, {'f', "bin/su", 04755, "su"}};
	struct buf b = BUF_INIT, notes = BUF_INIT;
	make_layer(e, ARRAY_SIZE(e), false, &b);
	struct spec sp = {.layers = {&b}, .nlayers = 1};
	struct oci_import_opts o = {.note = record_note, .userdata = &notes};
	struct manifest m;
	import_ok(f, &sp, &o, &m);
	assert_false(has(f, &m, "dev/null", NULL));
	struct tree_attr a;
	assert_true(has(f, &m, "bin/su", &a));
	assert_int_equal(a.perm, 0755);
	assert_non_null(strstr(notes.data, "layer 1: dev/null: device node skipped"));
	assert_non_null(strstr(notes.data, "layer 1: bin/su: setuid bit dropped"));
	manifest_release(&m);
	buf_release(&b);
	buf_release(&notes);
}

static void test_whiteout_outside(void **state)
{
	struct ent e[] = {{'f', "../.wh.etc", 0, ""}};
	expect_fail_layer(*state, e, 1, NULL, "contains '..'");
}

/* A ustar header for one file that claims size bytes (base-256 when it
 * does not fit in octal) and has no data behind it. */
static void bomb_header(struct buf *out, uint64_t size)
{
	char h[512] = {0};
	strcpy(h, "bomb");
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
	char zero[1024] = {0};
	buf_append(out, zero, sizeof zero);
}

static void test_bomb_size(void **state)
{
	struct fixture *f = *state;
	struct buf b = BUF_INIT;
	bomb_header(&b, 1ull << 40);
	struct spec sp = {.layers = {&b}, .nlayers = 1};
	_cleanup_free_ char *p = make_oci(f, "bomb.tar", &sp);
	_cleanup_free_ char *ref = xasprintf("oci-archive:%s", p);
	expect_fail(f, ref, NULL, "over the limit");
	buf_release(&b);
}

static void test_bomb_entries(void **state)
{
	struct fixture *f = *state;
	enum { N = 300 };
	struct ent *e = xcalloc(N, sizeof *e);
	char **names = xcalloc(N, sizeof *names);
	for (size_t i = 0; i < N; i++) {
		names[i] = xasprintf("d%zu", i);
		e[i] = (struct ent){'d', names[i], 0, NULL};
	}
	struct oci_import_opts o = {.max_entries = 100};
	expect_fail_layer(f, e, N, &o, "more than 100 entries");
	for (size_t i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(e);
}

static void test_wrong_digest(void **state)
{
	struct fixture *f = *state;
	struct ent e[] = {{'f', "x", 0, "x"}};
	struct buf b = BUF_INIT;
	make_layer(e, 1, false, &b);
	struct spec sp = {.layers = {&b},
			  .nlayers = 1,
			  .layer_lie = "sha256:"
				       "0000000000000000000000000000000000000000000000000000000000000001"};
	_cleanup_free_ char *p = make_oci(f, "lie.tar", &sp);
	_cleanup_free_ char *ref = xasprintf("oci-archive:%s", p);
	expect_fail(f, ref, NULL, "digest mismatch");
	sp.layer_lie = NULL;
	sp.size_delta = 5;
	_cleanup_free_ char *p2 = make_oci(f, "size.tar", &sp);
	_cleanup_free_ char *ref2 = xasprintf("oci-archive:%s", p2);
	expect_fail(f, ref2, NULL, "the descriptor says");
	buf_release(&b);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct ent e[] = {{'f', "x", 0, "some contents of a file that matters"}};
	struct buf b = BUF_INIT;
	make_layer(e, 1, true, &b);
	struct spec sp = {.layers = {&b}, .nlayers = 1};
	_cleanup_free_ char *p = make_oci(f, "trunc.tar", &sp);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	for (off_t cut = 700; cut < st.st_size; cut += 1024) {
		assert_int_equal(truncate(p, cut), 0);
		_cleanup_free_ char *ref = xasprintf("oci-archive:%s", p);
		struct err err = {0};
		assert_true(oci_import(f->s, ref, "t", NULL, NULL, NULL, &err) < 0);
		assert_true(err.msg[0] != '\0');
		assert_no_refs(f);
	}
	expect_fail(f, "oci-archive:/nonexistent/x.tar", NULL, "No such file");
	expect_fail(f, "tarball:/x", NULL, "expected oci-archive:PATH");
	buf_release(&b);
}

static void test_docker_archive(void **state)
{
	struct fixture *f = *state;
	struct ent e[] = {{'f', "hello", 0, "hi"}};
	struct buf b = BUF_INIT;
	make_layer(e, 1, false, &b);
	struct digest ld;
	digest_buffer(b.data, b.len, &ld);
	char lds[DIGEST_STR_SIZE], lhex[DIGEST_HEX_LEN + 1];
	digest_to_str(&ld, lds);
	digest_to_hex(&ld, lhex);
	json_t *cfg = json_pack("{s:{s:s},s:{s:s,s:[s]}}", "config", "User", "5:6", "rootfs", "type",
				"layers", "diff_ids", lds);
	char *cs = json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	for (int lie = 0; lie < 2; lie++) {
		struct outer o = {0};
		outer_add(&o, "cfg.json", cs, strlen(cs));
		_cleanup_free_ char *lname = xasprintf("%s/layer.tar", lhex);
		if (lie)
			outer_add(&o, lname, "garbage", 7);
		else
			outer_add(&o, lname, b.data, b.len);
		json_t *man = json_pack("[{s:s,s:[s]}]", "Config", "cfg.json", "Layers", lname);
		add_json(&o, "manifest.json", man);
		json_decref(man);
		_cleanup_free_ char *p = xasprintf("%s/docker%d.tar", f->dir, lie);
		write_outer(&o, p);
		outer_release(&o);
		_cleanup_free_ char *ref = xasprintf("docker-archive:%s", p);
		if (lie) {
			expect_fail(f, ref, NULL, "digest mismatch");
			continue;
		}
		struct err err = {0};
		struct digest img;
		assert_int_equal(oci_import(f->s, ref, NULL, NULL, &img, NULL, &err), 0);
		struct manifest m;
		assert_int_equal(manifest_get(f->s, &img, &m, &err), 0);
		assert_string_equal(m.config.user, "5:6");
		assert_true(has(f, &m, "hello", NULL));
		manifest_release(&m);
		/* clean refs for the next round */
		char hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(&img, hex);
		assert_int_equal(store_ref_delete(f->s, STORE_NS_IMAGES, hex, &err), 0);
	}
	free(cs);
	buf_release(&b);
}

static void test_export_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct ent e[] = {{'d', "bin", 0750, NULL},  {'f', "bin/tool", 0755, "#!/bin/sh\n"},
			  {'l', "bin/sh", 0, "tool"}, {'d', "empty", 0700, NULL},
			  {'f', "etc/passwd", 0, "root:x:0:0::/:/bin/sh\n"}};
	struct buf b = BUF_INIT;
	make_layer(e, ARRAY_SIZE(e), true, &b);
	struct spec sp = {.layers = {&b}, .nlayers = 1, .user = "0:0"};
	_cleanup_free_ char *p = make_oci(f, "src.tar", &sp);
	_cleanup_free_ char *ref = xasprintf("oci-archive:%s", p);
	struct err err = {0};
	struct digest img, img2, man1, man2;
	assert_int_equal(oci_import(f->s, ref, NULL, NULL, &img, NULL, &err), 0);
	static const enum oci_compression comps[] = {OCI_COMPRESS_GZIP, OCI_COMPRESS_ZSTD,
						     OCI_COMPRESS_NONE};
	for (size_t i = 0; i < ARRAY_SIZE(comps); i++) {
		for (int fmt = 0; fmt < 2; fmt++) {
			struct oci_export_opts o = {fmt ? OCI_FORMAT_DOCKER : OCI_FORMAT_OCI, comps[i]};
			_cleanup_free_ char *out = xasprintf("%s/out.tar", f->dir);
			_cleanup_free_ char *out2 = xasprintf("%s/out2.tar", f->dir);
			if (oci_export(f->s, &img, "x", out, &o, &man1, &err) < 0)
				fail_msg("export: %s", err.msg);
			assert_int_equal(oci_export(f->s, &img, "x", out2, &o, &man2, &err), 0);
			assert_true(digest_equal(&man1, &man2));
			struct buf x = BUF_INIT, y = BUF_INIT;
			assert_int_equal(fs_read_file_at(AT_FDCWD, out, 64 << 20, &x, &err), 0);
			assert_int_equal(fs_read_file_at(AT_FDCWD, out2, 64 << 20, &y, &err), 0);
			assert_int_equal(x.len, y.len);
			assert_memory_equal(x.data, y.data, x.len);
			buf_release(&x);
			buf_release(&y);
			_cleanup_free_ char *r2 = xasprintf("%s:%s", fmt ? "docker-archive" : "oci-archive",
							    out);
			if (oci_import(f->s, r2, NULL, NULL, &img2, NULL, &err) < 0)
				fail_msg("re-import: %s", err.msg);
			assert_true(digest_equal(&img, &img2));
		}
	}
	/* A failed export leaves nothing at the destination. */
	_cleanup_free_ char *bad = xasprintf("%s/nodir/out.tar", f->dir);
	assert_true(oci_export(f->s, &img, NULL, bad, NULL, NULL, &err) < 0);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layers_and_whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute_is_normalised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_through_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_setuid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteout_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bomb_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bomb_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker_archive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_roundtrip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
