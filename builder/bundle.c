/* bundle: write a run and everything it reaches as one zstd-compressed tar,
 * and read such a file back into another store.
 *
 * Writing is deterministic: entries in a fixed order (magic, record, then
 * objects sorted by hex), owner 0:0, mode 0644, mtime 0, pax-restricted
 * headers, zstd at a fixed level. Objects are streamed from the store
 * through one unlinked temp file (a tar header needs the size first), so
 * memory stays bounded whatever the object size.
 *
 * Reading treats the file as hostile (an attacker's CI artefact): only
 * regular-file entries with exactly the expected names, in the canonical
 * order (which also rules out duplicates), claimed sizes checked against
 * limits before any data is read, every object hashed and compared with
 * its name before it is committed to the store (a lying entry never
 * becomes an object), and no ref until the record, the image manifest and
 * everything they reach have been verified present and well formed
 * (maintain_reachable decodes every tree strictly). Names are never joined
 * into a file-system path: an object's name is parsed into a digest and
 * the store picks the path.
 */
#include "builder/bundle.h"
#include "builder/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/archive-util.h"
#include "builder/maintain.h"
#include "builder/manifest.h"
#include "lib/digestset.h"
#include "lib/fsutil.h"
#include "lib/hash.h"
#include "lib/macros.h"
#include "lib/xalloc.h"
#include "runner/run.h"

#define CHUNK (128u << 10)
#define ENTRY_MAGIC "airlock-bundle"
#define ENTRY_RECORD "record"
#define OBJECTS_PREFIX "objects/"
#define RECORD_ENTRY_MAX 4096u
#define RECORD_DOC_MAX (64u << 20)

#define DEFAULT_MAX_OBJECTS 4000000u
#define DEFAULT_MAX_OBJECT_BYTES (64ull << 30)
#define DEFAULT_MAX_TOTAL_BYTES (256ull << 30)

static void digestset_releasep(struct digestset *set)
{
	digestset_release(set);
}

DEFINE_CLEANUP_FUNC(struct hasher, hasher_free)
DEFINE_CLEANUP_FUNC(struct store_writer, store_writer_free)

static int digest_cmp(const void *a, const void *b)
{
	return memcmp(((const struct digest *)a)->b, ((const struct digest *)b)->b, DIGEST_LEN);
}


/* ---- writing ---- */

struct writer {
	struct tarwrite tw;
	char *chunk;
};

/* Decompresses object d into tmpfd (emptied first), then copies it into
 * the archive as objects/<hex>. */
static int put_object(struct writer *w, struct store *s, int tmpfd, const struct digest *d,
		      struct err *err)
{
	if (ftruncate(tmpfd, 0) < 0 || lseek(tmpfd, 0, SEEK_SET) < 0)
		return err_errno(err, "reset temp file");
	uint64_t size = 0;
	int r = store_get_to_fd(s, d, tmpfd, &size, err);
	if (r < 0)
		return r;
	if (lseek(tmpfd, 0, SEEK_SET) < 0)
		return err_errno(err, "rewind temp file");
	char hex[DIGEST_HEX_LEN + 1], name[sizeof OBJECTS_PREFIX + DIGEST_HEX_LEN];
	digest_to_hex(d, hex);
	snprintf(name, sizeof name, OBJECTS_PREFIX "%s", hex);
	if ((r = tarwrite_entry(&w->tw, name, false, size, err)) < 0)
		return r;
	uint64_t done = 0;
	while (done < size) {
		ssize_t n = read(tmpfd, w->chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(err, "read temp file");
		if (n == 0)
			return err_set(err, -EIO, "temp file of object %s shorter than written", hex);
		if ((uint64_t)n > size - done)
			n = (ssize_t)(size - done);
		if ((r = tarwrite_data(&w->tw, w->chunk, (size_t)n, err)) < 0)
			return r;
		done += (uint64_t)n;
	}
	return 0;
}

/* {"record":"sha256:...","run":"<id>","version":1} and a newline. */
static char *record_entry(const char *id, const struct digest *record)
{
	char str[DIGEST_STR_SIZE];
	digest_to_str(record, str);
	json_t *o = json_pack("{s:i,s:s,s:s}", "version", BUNDLE_VERSION, "run", id, "record", str);
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!text)
		abort(); /* jansson fails here only without memory */
	char *line = xasprintf("%s\n", text);
	free(text);
	return line;
}

static int write_archive(struct store *s, int fd, const char *path, const char *entry,
			 const struct digest *objs, size_t n, struct err *err)
{
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *chunk = xmalloc(CHUNK);
	_cleanup_close_ int tmpfd = store_tmpfile(s, err);
	if (tmpfd < 0)
		return tmpfd;
	char level[16];
	snprintf(level, sizeof level, "%d", BUNDLE_ZSTD_LEVEL);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "zstd", "compression-level", level) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		return err_set(err, -EIO, "write '%s': %s", path,
			       archive_error_string(a) ?: "cannot set up zstd tar output");
	struct writer w = {.tw = {.a = a, .e = e, .mtime = 0, .path = path}, .chunk = chunk};
	int r = tarwrite_mem(&w.tw, ENTRY_MAGIC, BUNDLE_MAGIC, strlen(BUNDLE_MAGIC), err);
	if (r >= 0)
		r = tarwrite_mem(&w.tw, ENTRY_RECORD, entry, strlen(entry), err);
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = put_object(&w, s, tmpfd, &objs[i], err);
	if (r < 0)
		return r;
	if (archive_write_close(a) != ARCHIVE_OK)
		return err_set(err, -EIO, "write '%s': %s", path,
			       archive_error_string(a) ?: "close failed");
	return 0;
}

struct archive_job {
	struct store *s;
	const char *path, *entry;
	const struct digest *objs;
	size_t n;
};

static int fill_archive(int fd, void *userdata, struct err *err)
{
	struct archive_job *j = userdata;
	return write_archive(j->s, fd, j->path, j->entry, j->objs, j->n, err);
}

int bundle_write(struct store *s, const char *run_ref, const char *path, struct err *err)
{
	char id[RUN_ID_MAX];
	struct digest record;
	int r = run_resolve(s, run_ref, id, &record, err);
	if (r < 0)
		return r;
	_cleanup_(digestset_releasep) struct digestset set = DIGESTSET_INIT;
	if ((r = maintain_reachable(s, &record, &set, err)) < 0)
		return err_prefix(err, "run %s", id);
	_cleanup_free_ struct digest *objs = xcalloc(set.count ? set.count : 1, sizeof *objs);
	size_t n = 0;
	for (size_t i = 0; i < set.cap; i++)
		if (set.used[i])
			objs[n++] = set.slots[i];
	qsort(objs, n, sizeof *objs, digest_cmp);
	_cleanup_free_ char *entry = record_entry(id, &record);

	struct archive_job job = {s, path, entry, objs, n};
	return fs_write_path_atomic(path, fill_archive, &job, err);
}

/* ---- reading ---- */

struct reader {
	struct store *s;
	struct archive *a;
	const char *path;
	struct bundle_limits lim;
	struct hasher *h;
	char *chunk;
	size_t nentries;
	uint64_t nobjects, total;
	struct digest last; /* the previous object: names strictly increase */
	struct digestset objects;
	char run[RUN_ID_MAX];
	struct digest record;
};

/* An entry name fit for a message: control bytes, quotes, backslashes
 * and non-ASCII shown as \xNN; cut with "..." to fit out[size]. */
static void printable(const char *name, char *out, size_t size)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)name;
	for (; *p && o + 8 < size; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\'' || *p == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	if (*p)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o] = '\0';
}

static bool has_dotdot(const char *name)
{
	for (const char *p = name; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += len;
		if (*p == '/')
			p++;
	}
	return false;
}

/* Reads the current entry's data (at most max bytes, checked against the
 * claimed size first) into out. */
static int read_small(struct reader *rd, const char *what, int64_t size, size_t max,
		      struct buf *out, struct err *err)
{
	if (size < 0 || (uint64_t)size > max)
		return err_set(err, -EFBIG, "'%s' claims %" PRId64 " bytes, over the limit of %zu",
			       what, size, max);
	for (;;) {
		la_ssize_t n = archive_read_data(rd->a, rd->chunk, CHUNK);
		if (n < 0)
			return err_set(err, -EBADMSG, "read '%s': %s", what,
				       archive_error_string(rd->a) ?: "archive error");
		if (n == 0)
			break;
		if (out->len + (size_t)n > max)
			return err_set(err, -EFBIG, "'%s' is over the limit of %zu bytes", what, max);
		buf_append(out, rd->chunk, (size_t)n);
	}
	if (out->len != (size_t)size)
		return err_set(err, -EBADMSG, "'%s' holds %zu bytes, its header says %" PRId64, what,
			       out->len, size);
	return 0;
}

static int read_magic(struct reader *rd, int64_t size, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = read_small(rd, ENTRY_MAGIC, size, 64, &b, err);
	if (r < 0)
		return r;
	if (b.len != strlen(BUNDLE_MAGIC) || memcmp(b.data, BUNDLE_MAGIC, b.len) != 0) {
		if (b.len > strlen(ENTRY_MAGIC) && !memcmp(b.data, ENTRY_MAGIC " ", 15))
			return err_set(err, -EPROTONOSUPPORT,
				       "unsupported bundle version (this airlock reads version %d)",
				       BUNDLE_VERSION);
		return err_set(err, -EBADMSG, "'%s' does not say \"%.*s\"", ENTRY_MAGIC,
			       (int)strlen(BUNDLE_MAGIC) - 1, BUNDLE_MAGIC);
	}
	return 0;
}

/* The record entry: {"version":1,"run":"<id>","record":"sha256:..."},
 * exactly those keys. */
static int read_record_entry(struct reader *rd, int64_t size, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = read_small(rd, ENTRY_RECORD, size, RECORD_ENTRY_MAX, &b, err);
	if (r < 0)
		return r;
	json_error_t jerr;
	_cleanup_(json_decrefp) json_t *o = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return err_set(err, -EBADMSG, "'record' is not valid JSON: %s (line %d)", jerr.text,
			       jerr.line);
	json_t *version = json_object_get(o, "version");
	const char *run = json_string_value(json_object_get(o, "run"));
	const char *rec = json_string_value(json_object_get(o, "record"));
	if (!json_is_object(o) || json_object_size(o) != 3 || !json_is_integer(version) || !run ||
	    !rec)
		return err_set(err, -EBADMSG,
			       "'record' must be {\"version\":1,\"run\":ID,\"record\":DIGEST} and "
			       "nothing else");
	if (json_integer_value(version) != BUNDLE_VERSION)
		return err_set(err, -EPROTONOSUPPORT,
			       "'record': unsupported version %" JSON_INTEGER_FORMAT
			       " (this airlock reads version %d)",
			       json_integer_value(version), BUNDLE_VERSION);
	if (!store_ref_name_valid(run) || strlen(run) >= RUN_ID_MAX) {
		char p[128];
		printable(run, p, sizeof p);
		return err_set(err, -EBADMSG, "'record': invalid run id '%s'", p);
	}
	if (!digest_str_valid(rec))
		return err_set(err, -EBADMSG, "'record': \"record\" is not a sha256:<64 hex> digest");
	snprintf(rd->run, sizeof rd->run, "%s", run);
	digest_parse(rec, &rd->record);
	return 0;
}

/* Streams the current entry into the store as object `name`, hashing on
 * the way; commits only if the bytes have that digest. An object already
 * present is hashed and not rewritten. */
static int read_object(struct reader *rd, const struct digest *name, int64_t size,
		       struct err *err)
{
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(name, hex);
	if (size < 0 || (uint64_t)size > rd->lim.max_object_bytes)
		return err_set(err, -EFBIG, "object sha256:%s claims %" PRId64
			       " bytes, over the limit of %" PRIu64, hex, size,
			       rd->lim.max_object_bytes);
	if ((uint64_t)size > rd->lim.max_total_bytes - rd->total)
		return err_set(err, -EFBIG, "objects over the limit of %" PRIu64 " bytes in all",
			       rd->lim.max_total_bytes);
	rd->total += (uint64_t)size;
	_cleanup_(store_writer_freep) struct store_writer *w = NULL;
	int r;
	if (!store_has(rd->s, name) && (r = store_writer_new(rd->s, &w, err)) < 0)
		return r;
	hasher_reset(rd->h);
	uint64_t got = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(rd->a, rd->chunk, CHUNK);
		if (n < 0)
			return err_set(err, -EBADMSG, "read object sha256:%s: %s", hex,
				       archive_error_string(rd->a) ?: "archive error");
		if (n == 0)
			break;
		got += (uint64_t)n;
		if (got > (uint64_t)size)
			return err_set(err, -EBADMSG, "object sha256:%s is longer than its header says", hex);
		hasher_update(rd->h, rd->chunk, (size_t)n);
		if (w && (r = store_writer_write(w, rd->chunk, (size_t)n, err)) < 0)
			return r;
	}
	if (got != (uint64_t)size)
		return err_set(err, -EBADMSG, "object sha256:%s holds %" PRIu64 " bytes, its header says %" PRId64,
			       hex, got, size);
	struct digest actual;
	hasher_final(rd->h, &actual);
	if (!digest_equal(&actual, name)) {
		char real[DIGEST_STR_SIZE];
		digest_to_str(&actual, real);
		return err_set(err, -EBADMSG, "object sha256:%s: digest mismatch (its bytes hash to %s)",
			       hex, real);
	}
	if (w) {
		struct digest stored;
		if ((r = store_writer_commit(TAKE_PTR(w), &stored, NULL, err)) < 0)
			return r;
		if (!digest_equal(&stored, name))
			return err_set(err, -EIO, "object sha256:%s changed while being stored", hex);
	}
	digestset_add(&rd->objects, name);
	return 0;
}

/* Checks the current header and reads its entry. Entry 0 is the magic,
 * entry 1 the record, the rest objects in increasing order. */
static int read_entry(struct reader *rd, struct archive_entry *e, struct err *err)
{
	size_t idx = rd->nentries++;
	const char *name = archive_entry_pathname(e);
	if (!name || !*name)
		return err_set(err, -EBADMSG, "entry %zu has no name", idx + 1);
	char p[128];
	printable(name, p, sizeof p);
	if (name[0] == '/')
		return err_set(err, -EBADMSG, "entry '%s': absolute path", p);
	if (has_dotdot(name))
		return err_set(err, -EBADMSG, "entry '%s': path contains '..'", p);
	if (archive_entry_hardlink(e))
		return err_set(err, -EBADMSG, "entry '%s' is a hard link", p);
	if (archive_entry_symlink(e) || archive_entry_filetype(e) == AE_IFLNK)
		return err_set(err, -EBADMSG, "entry '%s' is a symbolic link", p);
	if (archive_entry_filetype(e) != AE_IFREG)
		return err_set(err, -EBADMSG, "entry '%s' is not a regular file (type 0%o)", p,
			       (unsigned)archive_entry_filetype(e));
	if (archive_entry_sparse_count(e) > 0)
		return err_set(err, -EBADMSG, "entry '%s' is a sparse file", p);
	if (!archive_entry_size_is_set(e))
		return err_set(err, -EBADMSG, "entry '%s' has no size", p);
	int64_t size = archive_entry_size(e);

	if (idx == 0) {
		if (strcmp(name, ENTRY_MAGIC) != 0)
			return err_set(err, -EBADMSG,
				       "not an airlock bundle: the first entry is '%s', not '%s'", p,
				       ENTRY_MAGIC);
		return read_magic(rd, size, err);
	}
	if (idx == 1) {
		if (strcmp(name, ENTRY_RECORD) != 0)
			return err_set(err, -EBADMSG, "the second entry is '%s', not '%s'", p,
				       ENTRY_RECORD);
		return read_record_entry(rd, size, err);
	}
	if (!strcmp(name, ENTRY_MAGIC) || !strcmp(name, ENTRY_RECORD))
		return err_set(err, -EBADMSG, "duplicate entry '%s'", p);
	struct digest d;
	if (strncmp(name, OBJECTS_PREFIX, strlen(OBJECTS_PREFIX)) != 0 ||
	    strlen(name + strlen(OBJECTS_PREFIX)) != DIGEST_HEX_LEN ||
	    digest_parse(name + strlen(OBJECTS_PREFIX), &d) < 0)
		return err_set(err, -EBADMSG, "unknown entry '%s'", p);
	if (rd->nobjects > 0) {
		int c = digest_cmp(&d, &rd->last);
		if (c == 0)
			return err_set(err, -EBADMSG, "duplicate entry '%s'", p);
		if (c < 0)
			return err_set(err, -EBADMSG, "entry '%s' is out of order", p);
	}
	if (rd->nobjects >= rd->lim.max_objects)
		return err_set(err, -EFBIG, "more than %" PRIu64 " objects", rd->lim.max_objects);
	rd->nobjects++;
	rd->last = d;
	return read_object(rd, &d, size, err);
}

static int read_archive(struct reader *rd, int fd, struct err *err)
{
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_zstd(a);
	rd->a = a;
	if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
		return err_set(err, -EBADMSG, "not a readable zstd-compressed tar: %s",
			       archive_error_string(a) ?: "unreadable");
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && rd->nentries == 0)
			return err_set(err, -EBADMSG, "not a readable zstd-compressed tar: %s",
				       archive_error_string(a) ?: "archive error");
		if (ar != ARCHIVE_OK)
			return err_set(err, -EBADMSG, "truncated or corrupt after entry %zu: %s",
				       rd->nentries, archive_error_string(a) ?: "archive error");
		if (rd->nentries == 0 && archive_filter_code(a, 0) != ARCHIVE_FILTER_ZSTD)
			return err_set(err, -EBADMSG, "not zstd-compressed");
		int r = read_entry(rd, e, err);
		if (r < 0)
			return r;
	}
	if (rd->nentries < 2)
		return err_set(err, -EBADMSG, "not an airlock bundle: %s",
			       rd->nentries ? "no 'record' entry" : "empty archive");
	rd->a = NULL;
	return 0;
}

/* After the archive passed: the record, its image and everything they
 * reach must be present and well formed, and the bundle must hold nothing
 * else. Then the refs. */
static int finish(struct reader *rd, struct err *err)
{
	char rec[DIGEST_STR_SIZE];
	digest_to_str(&rd->record, rec);
	if (!store_has(rd->s, &rd->record))
		return err_set(err, -EBADMSG, "the record %s is not in the bundle", rec);
	_cleanup_(digestset_releasep) struct digestset reach = DIGESTSET_INIT;
	int r = maintain_reachable(rd->s, &rd->record, &reach, err);
	if (r < 0) {
		/* maintain's hint to run fsck is about a store; here the bundle
		 * is what is wrong. */
		static const char hint[] = "; run 'airlock fsck'";
		size_t len = strlen(err->msg);
		if (len >= strlen(hint) && !strcmp(err->msg + len - strlen(hint), hint))
			err->msg[len - strlen(hint)] = '\0';
		return err_prefix(err, "record %s", rec);
	}
	for (size_t i = 0; i < rd->objects.cap; i++) {
		if (rd->objects.used[i] && !digestset_has(&reach, &rd->objects.slots[i])) {
			char o[DIGEST_STR_SIZE];
			digest_to_str(&rd->objects.slots[i], o);
			return err_set(err, -EBADMSG, "object %s is not reachable from the record", o);
		}
	}
	_cleanup_buf_ struct buf b = BUF_INIT;
	if ((r = store_get(rd->s, &rd->record, RECORD_DOC_MAX, &b, err)) < 0)
		return err_prefix(err, "record");
	json_error_t jerr;
	_cleanup_(json_decrefp) json_t *doc = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc))
		return err_set(err, -EBADMSG, "record %s is not a JSON object", rec);
	const char *id = json_string_value(json_object_get(doc, "id"));
	if (!id || strcmp(id, rd->run) != 0)
		return err_set(err, -EBADMSG, "record %s is not the record of run %s (its id differs)",
			       rec, rd->run);
	static const char *const keys[] = {"image", "input_tree", "output_tree"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = json_string_value(json_object_get(doc, keys[i]));
		if (!v || !digest_str_valid(v))
			return err_set(err, -EBADMSG, "record %s has no valid \"%s\"", rec, keys[i]);
	}
	struct digest image;
	digest_parse(json_string_value(json_object_get(doc, "image")), &image);
	/* refs/images is read by `airlock images`: only a manifest that
	 * decodes strictly may go there. */
	struct manifest m;
	if ((r = manifest_get(rd->s, &image, &m, err)) < 0)
		return err_prefix(err, "record %s: image", rec);
	manifest_release(&m);

	struct digest old;
	struct err e = {0};
	r = store_ref_get(rd->s, STORE_NS_RUNS, rd->run, &old, &e);
	if (r == 0 && !digest_equal(&old, &rd->record))
		return err_set(err, -EEXIST,
			       "run %s already exists in this store with another record (see 'airlock "
			       "show %s'); remove it with 'airlock rm %s' to load the bundle",
			       rd->run, rd->run, rd->run);
	if (r < 0 && r != -ENOENT) {
		*err = e;
		return r;
	}
	bool exists = r == 0;
	/* The image ref first: alone it is harmless (a whole image), while a
	 * run ref without it would leave `airlock images` blind to it. */
	if ((r = image_record(rd->s, &image, NULL, err)) < 0)
		return r;
	if (!exists && (r = store_ref_set(rd->s, STORE_NS_RUNS, rd->run, &rd->record, err)) < 0)
		return r;
	return 0;
}

int bundle_read(struct store *s, const char *path, const struct bundle_limits *limits,
		char *ret_run_id, struct err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_errno(err, "open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_errno(err, "stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return err_set(err, -EISDIR, "'%s' is a directory", path);
	_cleanup_(hasher_freep) struct hasher *h = hasher_new();
	_cleanup_free_ char *chunk = xmalloc(CHUNK);
	struct reader rd = {.s = s, .path = path, .h = h, .chunk = chunk};
	if (limits)
		rd.lim = *limits;
	if (!rd.lim.max_objects)
		rd.lim.max_objects = DEFAULT_MAX_OBJECTS;
	if (!rd.lim.max_object_bytes)
		rd.lim.max_object_bytes = DEFAULT_MAX_OBJECT_BYTES;
	if (!rd.lim.max_total_bytes)
		rd.lim.max_total_bytes = DEFAULT_MAX_TOTAL_BYTES;
	int r = read_archive(&rd, fd, err);
	if (r >= 0)
		r = finish(&rd, err);
	digestset_release(&rd.objects);
	if (r < 0)
		return err_prefix(err, "bundle '%s'", path);
	snprintf(ret_run_id, RUN_ID_MAX, "%s", rd.run);
	return 0;
}
