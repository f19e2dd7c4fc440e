/* oci-import: an oci-archive or docker-archive read into an airlock image.
 *
 * The archive is hostile. It is read once, front to back, through a read
 * callback that hashes every byte (the archive digest for lock files);
 * each regular file in it is copied to a private temp directory under
 * $STORE/tmp under a numbered name (never its own path: nothing from the
 * archive names a host path) and hashed on the way, within a count and a
 * byte budget. Symlinks and hard links inside the outer tar (legacy
 * `docker save` links duplicate layers) are resolved in that table, never
 * on disk. Only then are index.json / manifest.json read, and every blob
 * used is checked against the digest and size of the descriptor naming it
 * before its bytes are parsed or applied. Layers go through
 * builder/tartree.h (whiteouts, path checks, limits); the tree is written
 * and the image recorded only at the very end, so a failure at any point
 * leaves no ref (objects already written are unreachable; gc drops them).
 */
#include "builder/oci.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/archive-util.h"
#include "builder/tartree.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/tree.h"
#include "lib/xalloc.h"

#define CHUNK (256u << 10)
#define OUTER_MAX_FILES 100000u
#define DEFAULT_MAX_BLOB_BYTES (64ull << 30)
#define JSON_MAX (4u << 20)
#define MAX_LAYERS 256
#define MAX_LINK_HOPS 8
#define INDEX_DEPTH_MAX 4
#define PASSWD_MAX (4u << 20)

#if defined(__x86_64__)
#define OCI_ARCH "amd64"
#elif defined(__aarch64__)
#define OCI_ARCH "arm64"
#else
#define OCI_ARCH ""
#endif

/* One entry of the outer tar. */
struct member {
	char *path;   /* normalised */
	char *link;   /* symlink target (normalised, relative to the root) or NULL */
	bool file;    /* regular file, stored as tmp/<index> */
	struct digest d;
	uint64_t size;
};

struct import {
	struct store *s;
	const struct oci_import_opts *opts;
	int tmp_dfd; /* $STORE/tmp */
	char dirname[32];
	int dfd; /* our temp dir */
	int archive_fd;
	struct hasher *ah; /* archive digest */
	uint64_t blob_bytes, max_blob_bytes;
	struct member *m;
	size_t n, cap;
	char *chunk;
	const char *ref; /* for messages */
};

static void import_release(struct import *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->m[i].path);
		free(im->m[i].link);
	}
	free(im->m);
	if (im->dfd >= 0) {
		close(im->dfd);
		fs_rm_rf_at(im->tmp_dfd, im->dirname, NULL);
	}
	if (im->tmp_dfd >= 0)
		close(im->tmp_dfd);
	if (im->archive_fd >= 0)
		close(im->archive_fd);
	if (im->ah)
		hasher_free(im->ah);
	free(im->chunk);
}

static void import_releasep(struct import *im)
{
	import_release(im);
}

static la_ssize_t read_cb(struct archive *a, void *ud, const void **buf)
{
	struct import *im = ud;
	for (;;) {
		ssize_t n = read(im->archive_fd, im->chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "read: %s", strerror(errno));
			return -1;
		}
		hasher_update(im->ah, im->chunk, (size_t)n);
		*buf = im->chunk;
		return n;
	}
}

static const struct member *member_find(const struct import *im, const char *path)
{
	for (size_t i = 0; i < im->n; i++)
		if (!strcmp(im->m[i].path, path))
			return &im->m[i];
	return NULL;
}

/* Follows symlinks inside the archive's table (never on disk). */
static const struct member *member_resolve(const struct import *im, const char *path,
					   struct err *err)
{
	char cur[TREE_PATH_MAX + 1];
	snprintf(cur, sizeof cur, "%s", path);
	for (int hop = 0; hop <= MAX_LINK_HOPS; hop++) {
		const struct member *m = member_find(im, cur);
		if (!m) {
			err_set(err, -ENOENT, "'%s' is not in the archive", path);
			return NULL;
		}
		if (m->file)
			return m;
		snprintf(cur, sizeof cur, "%s", m->link);
	}
	err_set(err, -ELOOP, "'%s': too many levels of links in the archive", path);
	return NULL;
}

/* Copies the current entry's data to our temp dir as <index>, hashing. */
static int extract_member(struct import *im, struct archive *a, struct archive_entry *e,
			  struct member *m, struct err *err)
{
	uint64_t left = im->max_blob_bytes - im->blob_bytes;
	if (archive_entry_size_is_set(e) && (archive_entry_size(e) < 0 ||
					     (uint64_t)archive_entry_size(e) > left))
		return err_set(err, -EFBIG,
			       "'%s' claims %" PRId64 " bytes, over the limit of %" PRIu64
			       " bytes of blobs per archive",
			       m->path, (int64_t)archive_entry_size(e), im->max_blob_bytes);
	char name[24];
	snprintf(name, sizeof name, "%zu", im->n);
	_cleanup_close_ int fd =
		openat(im->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_errno(err, "create temp file for '%s'", m->path);
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	struct hasher *h = hasher_new();
	int r = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, CHUNK);
		if (n < 0) {
			r = err_set(err, -EBADMSG, "read '%s': %s", m->path,
				    archive_error_string(a) ?: "archive error");
			break;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > im->max_blob_bytes - im->blob_bytes) {
			r = err_set(err, -EFBIG, "'%s': over the limit of %" PRIu64
						 " bytes of blobs per archive",
				    m->path, im->max_blob_bytes);
			break;
		}
		im->blob_bytes += (uint64_t)n;
		m->size += (uint64_t)n;
		hasher_update(h, buf, (size_t)n);
		r = fs_write_all(fd, buf, (size_t)n);
		if (r < 0) {
			r = err_code(err, r, "write temp file for '%s'", m->path);
			break;
		}
	}
	hasher_final(h, &m->d);
	hasher_free(h);
	return r;
}

/* Joins a link target with the directory of path and normalises it. */
static int link_path(const char *path, const char *target, bool relative, char *out,
		     struct err *err)
{
	char joined[2 * TREE_PATH_MAX + 2];
	const char *slash = strrchr(path, '/');
	if (relative && *target != '/' && slash)
		snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - path), path, target);
	else
		snprintf(joined, sizeof joined, "%s", target);
	/* Resolve ".." lexically (inside the table only, it cannot escape:
	 * going above the root is refused). */
	char tmp[sizeof joined];
	size_t o = 0;
	for (const char *p = joined; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (!o)
				return err_set(err, -EINVAL, "link '%s' points outside the archive", path);
			while (o && tmp[o - 1] != '/')
				o--;
			if (o)
				o--;
		} else if (!(n == 1 && p[0] == '.')) {
			if (o)
				tmp[o++] = '/';
			memcpy(tmp + o, p, n);
			o += n;
		}
		p = end;
	}
	tmp[o] = '\0';
	return tartree_normalize_path(tmp, out, err);
}

static int read_outer(struct import *im, struct err *err)
{
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open(a, im, NULL, read_cb, NULL) != ARCHIVE_OK)
		return err_set(err, -EINVAL, "'%s': %s", im->ref,
			       archive_error_string(a) ?: "not a tar archive");
	for (;;) {
		struct archive_entry *e = NULL;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
			return err_set(err, -EBADMSG, "'%s': %s", im->ref,
				       archive_error_string(a) ?: "malformed archive");
		if (im->n >= OUTER_MAX_FILES)
			return err_set(err, -EFBIG, "'%s': more than %u entries", im->ref,
				       OUTER_MAX_FILES);
		char path[TREE_PATH_MAX + 1];
		const char *raw = archive_entry_pathname(e);
		int r = tartree_normalize_path(raw ?: "", path, err);
		if (r < 0)
			return err_prefix(err, "'%s'", im->ref);
		unsigned type = archive_entry_filetype(e);
		const char *hl = archive_entry_hardlink(e);
		if (!hl && type == AE_IFDIR)
			continue;
		if (!*path)
			return err_set(err, -EINVAL, "'%s': entry for the root is not a directory",
				       im->ref);
		if (member_find(im, path))
			return err_set(err, -EINVAL, "'%s': '%s' appears twice", im->ref, path);
		struct member m = {.path = xstrdup(path)};
		char target[TREE_PATH_MAX + 1];
		if (hl || type == AE_IFLNK) {
			r = link_path(path, hl ?: archive_entry_symlink(e) ?: "", !hl, target, err);
			if (r >= 0)
				m.link = xstrdup(target);
		} else if (type == AE_IFREG) {
			m.file = true;
			r = extract_member(im, a, e, &m, err);
		} else {
			r = err_set(err, -EINVAL, "'%s': '%s' is not a file, directory or link",
				    im->ref, path);
		}
		if (r < 0) {
			free(m.path);
			free(m.link);
			return r;
		}
		xgrow(&im->m, &im->cap, im->n + 1, sizeof *im->m);
		im->m[im->n++] = m;
	}
	/* Hash what follows the end-of-archive blocks too: the digest is the
	 * file's. */
	for (;;) {
		const void *buf;
		la_ssize_t n = read_cb(a, im, &buf);
		if (n < 0)
			return err_errno(err, "read '%s'", im->ref);
		if (n == 0)
			return 0;
	}
}

static int member_open(const struct import *im, const struct member *m, struct err *err)
{
	char name[24];
	snprintf(name, sizeof name, "%zu", (size_t)(m - im->m));
	int fd = openat(im->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_errno(err, "open temp copy of '%s'", m->path);
	return fd;
}

static int member_json(const struct import *im, const struct member *m, json_t **ret,
		       struct err *err)
{
	if (m->size > JSON_MAX)
		return err_set(err, -EFBIG, "'%s' is larger than %u bytes", m->path, JSON_MAX);
	_cleanup_close_ int fd = member_open(im, m, err);
	if (fd < 0)
		return fd;
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = fs_read_fd(fd, JSON_MAX, &b, err);
	if (r < 0)
		return r;
	json_error_t je;
	json_t *j = json_loadb(b.data ?: "", b.len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return err_set(err, -EINVAL, "'%s': invalid JSON: %s (line %d)", m->path, je.text,
			       je.line);
	*ret = j;
	return 0;
}

/* A descriptor: {"digest": "sha256:...", "size": N, "mediaType": ...}. */
struct desc {
	struct digest d;
	uint64_t size;
	const char *media_type; /* borrowed from the JSON, may be "" */
};

static int parse_desc(json_t *j, const char *what, struct desc *ret, struct err *err)
{
	json_t *d = json_object_get(j, "digest"), *sz = json_object_get(j, "size");
	json_t *mt = json_object_get(j, "mediaType");
	if (!json_is_object(j) || !json_is_string(d) || !json_is_integer(sz) ||
	    json_integer_value(sz) < 0)
		return err_set(err, -EINVAL, "%s: malformed descriptor", what);
	const char *ds = json_string_value(d);
	if (strncmp(ds, "sha256:", 7) != 0)
		return err_set(err, -ENOTSUP, "%s: digest '%.80s': only sha256 is supported", what,
			       ds);
	if (!digest_str_valid(ds) || digest_parse(ds, &ret->d) < 0)
		return err_set(err, -EINVAL, "%s: invalid digest '%.80s'", what, ds);
	ret->size = (uint64_t)json_integer_value(sz);
	ret->media_type = json_is_string(mt) ? json_string_value(mt) : "";
	return 0;
}

/* The blob a descriptor names, verified: digest and size must match. */
static int blob_get(const struct import *im, const struct desc *d, const char *what,
		    const struct member **ret, struct err *err)
{
	char hex[DIGEST_HEX_LEN + 1], path[32 + DIGEST_HEX_LEN];
	digest_to_hex(&d->d, hex);
	snprintf(path, sizeof path, "blobs/sha256/%s", hex);
	struct err e2 = {0};
	const struct member *m = member_resolve(im, path, &e2);
	if (!m)
		return err_set(err, -ENOENT, "%s: blob sha256:%s is not in the archive", what, hex);
	if (!digest_equal(&m->d, &d->d)) {
		char got[DIGEST_STR_SIZE];
		digest_to_str(&m->d, got);
		return err_set(err, -EBADMSG, "%s: blob sha256:%s has digest %s: digest mismatch",
			       what, hex, got);
	}
	if (m->size != d->size)
		return err_set(err, -EBADMSG,
			       "%s: blob sha256:%s has %" PRIu64 " bytes, the descriptor says %" PRIu64,
			       what, hex, m->size, d->size);
	*ret = m;
	return 0;
}

/* What an archive describes, before the layers are applied. */
struct plan {
	json_t *config; /* owned */
	const struct member *layers[MAX_LAYERS];
	size_t nlayers;
	json_t *annotations; /* borrowed from manifest, may be NULL */
	json_t *manifest;    /* owned */
};

static void plan_release(struct plan *p)
{
	json_decref(p->config);
	json_decref(p->manifest);
}

static bool media_is_index(const char *mt)
{
	return !strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json");
}

/* Picks the one manifest of an index: the only entry, or the only one for
 * linux/<this architecture>. */
static int index_pick(json_t *index, const char *what, struct desc *ret, struct err *err)
{
	json_t *ms = json_object_get(index, "manifests");
	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return err_set(err, -EINVAL, "%s: no manifests", what);
	size_t n = json_array_size(ms), pick = n, matches = 0;
	if (n == 1)
		pick = 0;
	else {
		for (size_t i = 0; i < n; i++) {
			json_t *pl = json_object_get(json_array_get(ms, i), "platform");
			const char *os = json_string_value(json_object_get(pl, "os"));
			const char *arch = json_string_value(json_object_get(pl, "architecture"));
			if (os && arch && !strcmp(os, "linux") && !strcmp(arch, OCI_ARCH)) {
				pick = i;
				matches++;
			}
		}
		if (matches != 1)
			return err_set(err, -EINVAL,
				       "%s: %zu images and not exactly one for linux/%s; "
				       "extract the one you want first",
				       what, n, OCI_ARCH);
	}
	return parse_desc(json_array_get(ms, pick), what, ret, err);
}

static int plan_oci(const struct import *im, struct plan *p, struct err *err)
{
	const struct member *layout = member_resolve(im, "oci-layout", err);
	if (!layout)
		return err_set(err, -EINVAL, "'%s' is not an OCI layout: no oci-layout file", im->ref);
	json_t *jl = NULL;
	int r = member_json(im, layout, &jl, err);
	if (r < 0)
		return r;
	const char *v = json_string_value(json_object_get(jl, "imageLayoutVersion"));
	bool ok = v && !strncmp(v, "1.", 2);
	json_decref(jl);
	if (!ok)
		return err_set(err, -ENOTSUP, "oci-layout: unsupported imageLayoutVersion");
	const struct member *mi = member_resolve(im, "index.json", err);
	if (!mi)
		return err_prefix(err, "'%s' is not an OCI layout", im->ref);
	json_t *index = NULL;
	r = member_json(im, mi, &index, err);
	if (r < 0)
		return r;
	struct desc d;
	r = index_pick(index, "index.json", &d, err);
	json_decref(index);
	if (r < 0)
		return r;
	for (int depth = 0;; depth++) {
		if (depth > INDEX_DEPTH_MAX)
			return err_set(err, -ELOOP, "index.json: indexes nested too deep");
		const struct member *mm = NULL;
		r = blob_get(im, &d, "manifest", &mm, err);
		if (r < 0)
			return r;
		json_t *j = NULL;
		r = member_json(im, mm, &j, err);
		if (r < 0)
			return r;
		const char *mt = json_string_value(json_object_get(j, "mediaType")) ?: d.media_type;
		if (media_is_index(mt) || (json_object_get(j, "manifests") && !json_object_get(j, "layers"))) {
			r = index_pick(j, "nested index", &d, err);
			json_decref(j);
			if (r < 0)
				return r;
			continue;
		}
		p->manifest = j;
		break;
	}
	struct desc cd;
	r = parse_desc(json_object_get(p->manifest, "config"), "manifest: config", &cd, err);
	if (r < 0)
		return r;
	const struct member *cm = NULL;
	r = blob_get(im, &cd, "config", &cm, err);
	if (r < 0)
		return r;
	r = member_json(im, cm, &p->config, err);
	if (r < 0)
		return r;
	json_t *layers = json_object_get(p->manifest, "layers");
	if (!json_is_array(layers))
		return err_set(err, -EINVAL, "manifest: no layers array");
	if (json_array_size(layers) > MAX_LAYERS)
		return err_set(err, -EFBIG, "manifest: more than %d layers", MAX_LAYERS);
	for (size_t i = 0; i < json_array_size(layers); i++) {
		char what[48];
		snprintf(what, sizeof what, "layer %zu", i + 1);
		struct desc ld;
		r = parse_desc(json_array_get(layers, i), what, &ld, err);
		if (r < 0)
			return r;
		if (strstr(ld.media_type, "foreign"))
			return err_set(err, -ENOTSUP, "%s: foreign layer (%s) not supported", what,
				       ld.media_type);
		const struct member *lm = NULL;
		r = blob_get(im, &ld, what, &lm, err);
		if (r < 0)
			return r;
		p->layers[p->nlayers++] = lm;
	}
	p->annotations = json_object_get(p->manifest, "annotations");
	return 0;
}

/* The 64 hex digits naming a file ("blobs/sha256/<hex>", "<hex>.json",
 * "<hex>.tar"), if its name is one. */
static bool name_digest(const char *path, struct digest *ret)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char hex[DIGEST_HEX_LEN + 1];
	if (strlen(base) < DIGEST_HEX_LEN)
		return false;
	memcpy(hex, base, DIGEST_HEX_LEN);
	hex[DIGEST_HEX_LEN] = '\0';
	const char *rest = base + DIGEST_HEX_LEN;
	if (*rest && strcmp(rest, ".json") != 0 && strcmp(rest, ".tar") != 0)
		return false;
	return digest_parse(hex, ret) == 0;
}

static int plan_docker(const struct import *im, struct plan *p, struct err *err)
{
	const struct member *mm = member_resolve(im, "manifest.json", err);
	if (!mm)
		return err_set(err, -EINVAL, "'%s' is not a docker archive: no manifest.json",
			       im->ref);
	int r = member_json(im, mm, &p->manifest, err);
	if (r < 0)
		return r;
	json_t *arr = p->manifest;
	if (!json_is_array(arr) || json_array_size(arr) != 1)
		return err_set(err, -EINVAL, "manifest.json: %zu images; exactly one is supported",
			       json_is_array(arr) ? json_array_size(arr) : 0);
	json_t *e = json_array_get(arr, 0);
	const char *cfg_path = json_string_value(json_object_get(e, "Config"));
	json_t *layers = json_object_get(e, "Layers");
	if (!cfg_path || !json_is_array(layers))
		return err_set(err, -EINVAL, "manifest.json: no Config or Layers");
	char norm[TREE_PATH_MAX + 1];
	r = tartree_normalize_path(cfg_path, norm, err);
	if (r < 0)
		return err_prefix(err, "manifest.json: Config");
	const struct member *cm = member_resolve(im, norm, err);
	if (!cm)
		return err_prefix(err, "manifest.json: Config");
	struct digest want;
	if (name_digest(cfg_path, &want) && !digest_equal(&want, &cm->d))
		return err_set(err, -EBADMSG, "config '%s': digest mismatch", cfg_path);
	r = member_json(im, cm, &p->config, err);
	if (r < 0)
		return r;
	json_t *diff_ids = json_object_get(json_object_get(p->config, "rootfs"), "diff_ids");
	size_t n = json_array_size(layers);
	if (n > MAX_LAYERS)
		return err_set(err, -EFBIG, "manifest.json: more than %d layers", MAX_LAYERS);
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != n)
		return err_set(err, -EINVAL, "config: rootfs.diff_ids does not match the %zu layers",
			       n);
	for (size_t i = 0; i < n; i++) {
		const char *lp = json_string_value(json_array_get(layers, i));
		if (!lp)
			return err_set(err, -EINVAL, "manifest.json: layer %zu is not a path", i + 1);
		r = tartree_normalize_path(lp, norm, err);
		if (r < 0)
			return err_prefix(err, "manifest.json: layer %zu", i + 1);
		const struct member *lm = member_resolve(im, norm, err);
		if (!lm)
			return err_prefix(err, "layer %zu", i + 1);
		/* An uncompressed layer's digest is its diff_id; a compressed
		 * one (blobs/sha256/<hex>) must match its name. */
		struct digest diff, named;
		const char *ds = json_string_value(json_array_get(diff_ids, i));
		bool ok = ds && digest_parse(ds, &diff) == 0 && digest_equal(&diff, &lm->d);
		if (!ok && !strncmp(norm, "blobs/sha256/", 13) && name_digest(norm, &named))
			ok = digest_equal(&named, &lm->d);
		if (!ok)
			return err_set(err, -EBADMSG,
				       "layer %zu '%s': digest mismatch (neither its diff_id nor its name)",
				       i + 1, lp);
		p->layers[p->nlayers++] = lm;
	}
	return 0;
}

struct note_ctx {
	const struct oci_import_opts *opts;
	size_t layer;
};

static void layer_note(const char *path, const char *what, void *ud)
{
	struct note_ctx *nc = ud;
	char p[TREE_PATH_MAX + 32];
	snprintf(p, sizeof p, "layer %zu: %s", nc->layer, path);
	nc->opts->note(p, what, nc->opts->userdata);
}

static int apply_layer(struct import *im, const struct member *lm, size_t idx, struct tree *root,
		       struct err *err)
{
	_cleanup_close_ int fd = member_open(im, lm, err);
	if (fd < 0)
		return fd;
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_fd(a, fd, CHUNK) != ARCHIVE_OK)
		return err_set(err, -EBADMSG, "layer %zu: %s", idx,
			       archive_error_string(a) ?: "not a tar archive");
	struct note_ctx nc = {im->opts, idx};
	struct tartree_opts to = {
		.max_entries = im->opts->max_entries,
		.max_bytes = im->opts->max_bytes,
		.whiteouts = true,
		.note = im->opts->note ? layer_note : NULL,
		.userdata = &nc,
	};
	int r = tartree_apply(im->s, a, root, &to, err);
	if (r < 0)
		return err_prefix(err, "layer %zu", idx);
	return 0;
}

/* Reads a small file of the image tree (etc/passwd); -ENOENT if absent. */
static int tree_read(struct store *s, struct tree *root, const char *path, struct buf *out,
		     struct err *err)
{
	struct tree_attr a;
	struct err e2 = {0};
	int r = tree_get(root, s, path, &a, &e2);
	if (r < 0 || a.type != TREE_FILE)
		return -ENOENT;
	return store_get(s, &a.digest, PASSWD_MAX, out, err);
}

static bool parse_id(const char *s, size_t n, uint32_t *ret)
{
	if (!n || n > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* Looks up name (or, if by_id, the numeric id) in a passwd/group file;
 * returns the line's third field and, for passwd, the fourth. */
static bool db_lookup(const struct buf *db, const char *key, bool by_id, uint32_t *ret_id,
		      uint32_t *ret_gid)
{
	const char *p = db->data, *end = db->data + db->len;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ?: end;
		const char *f[4] = {p};
		size_t nf = 1;
		for (const char *q = p; q < le && nf < 4; q++)
			if (*q == ':')
				f[nf++] = q + 1;
		if (nf == 4) {
			const char *f4 = memchr(f[3], ':', (size_t)(le - f[3]));
			size_t l0 = (size_t)(f[1] - 1 - f[0]), l2 = (size_t)(f[3] - 1 - f[2]);
			size_t l3 = (size_t)((f4 ?: le) - f[3]);
			uint32_t id, gid = 0;
			if (parse_id(f[2], l2, &id)) {
				bool hit = by_id ? (parse_id(key, strlen(key), &gid) && gid == id)
						 : (strlen(key) == l0 && !memcmp(key, f[0], l0));
				if (hit) {
					*ret_id = id;
					if (ret_gid && !parse_id(f[3], l3, ret_gid))
						*ret_gid = 0;
					return true;
				}
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* OCI "user", "uid", "user:group", "uid:gid" -> "uid:gid" (docs/FORMAT.md). */
static int resolve_user(struct store *s, struct tree *root, const char *user, char **ret,
			struct err *err)
{
	if (!*user) {
		*ret = xstrdup("0:0");
		return 0;
	}
	const char *colon = strchr(user, ':');
	size_t ul = colon ? (size_t)(colon - user) : strlen(user);
	_cleanup_free_ char *uname = xstrndup(user, ul);
	uint32_t uid = 0, gid = 0;
	bool have_gid = false;
	_cleanup_buf_ struct buf passwd = BUF_INIT, group = BUF_INIT;
	int r = tree_read(s, root, "etc/passwd", &passwd, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (!parse_id(uname, ul, &uid)) {
		if (!db_lookup(&passwd, uname, false, &uid, &gid))
			return err_set(err, -EINVAL,
				       "config: User '%s' is not in the image's /etc/passwd; "
				       "use a numeric uid:gid",
				       user);
		have_gid = true;
	} else if (!colon) {
		uint32_t id;
		have_gid = db_lookup(&passwd, uname, true, &id, &gid);
	}
	if (colon) {
		const char *g = colon + 1;
		if (!parse_id(g, strlen(g), &gid)) {
			r = tree_read(s, root, "etc/group", &group, err);
			if (r < 0 && r != -ENOENT)
				return r;
			if (!db_lookup(&group, g, false, &gid, NULL))
				return err_set(err, -EINVAL,
					       "config: group '%s' is not in the image's /etc/group",
					       g);
		}
		have_gid = true;
	}
	if (!have_gid)
		gid = 0; /* as docker: a uid not in /etc/passwd gets group 0 */
	*ret = xasprintf("%" PRIu32 ":%" PRIu32, uid, gid);
	return 0;
}

static int strv_json(json_t *j, const char *what, char ***v, size_t *n, struct err *err)
{
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_array(j))
		return err_set(err, -EINVAL, "config: %s is not an array", what);
	for (size_t i = 0; i < json_array_size(j); i++) {
		const char *s = json_string_value(json_array_get(j, i));
		if (!s)
			return err_set(err, -EINVAL, "config: %s has a non-string element", what);
		*v = xrealloc(*v, (*n + 1) * sizeof **v);
		(*v)[(*n)++] = xstrdup(s);
	}
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Fills m->config from the OCI config (tree already set). */
static int config_apply(struct store *s, struct tree *root, json_t *config, struct manifest *m,
			struct err *err)
{
	if (!json_is_object(config))
		return err_set(err, -EINVAL, "config is not a JSON object");
	json_t *c = json_object_get(config, "config");
	if (c && !json_is_null(c) && !json_is_object(c))
		return err_set(err, -EINVAL, "config: \"config\" is not an object");
	json_t *env = json_object_get(c, "Env");
	if (env && !json_is_null(env)) {
		if (!json_is_array(env))
			return err_set(err, -EINVAL, "config: Env is not an array");
		for (size_t i = 0; i < json_array_size(env); i++) {
			const char *kv = json_string_value(json_array_get(env, i));
			const char *eq = kv ? strchr(kv, '=') : NULL;
			if (!eq || eq == kv)
				return err_set(err, -EINVAL, "config: Env entry %zu is not KEY=VALUE",
					       i);
			_cleanup_free_ char *k = xstrndup(kv, (size_t)(eq - kv));
			manifest_setenv(m, k, eq + 1);
		}
	}
	char **argv = NULL;
	size_t argc = 0;
	int r = strv_json(json_object_get(c, "Entrypoint"), "Entrypoint", &argv, &argc, err);
	if (r >= 0)
		r = strv_json(json_object_get(c, "Cmd"), "Cmd", &argv, &argc, err);
	if (r >= 0)
		manifest_setcmd(m, argv, argc);
	strv_free(argv, argc);
	if (r < 0)
		return r;
	json_t *labels = json_object_get(c, "Labels");
	if (labels && !json_is_null(labels)) {
		if (!json_is_object(labels))
			return err_set(err, -EINVAL, "config: Labels is not an object");
		const char *k;
		json_t *v;
		json_object_foreach(labels, k, v) {
			if (!json_is_string(v))
				return err_set(err, -EINVAL, "config: label '%s' is not a string", k);
			manifest_setlabel(m, k, json_string_value(v));
		}
	}
	json_t *wd = json_object_get(c, "WorkingDir");
	if (wd && !json_is_null(wd) && !json_is_string(wd))
		return err_set(err, -EINVAL, "config: WorkingDir is not a string");
	const char *w = json_string_value(wd);
	free(m->config.workdir);
	m->config.workdir = !w || !*w ? xstrdup("/") : *w == '/' ? xstrdup(w) : xasprintf("/%s", w);
	json_t *user = json_object_get(c, "User");
	if (user && !json_is_null(user) && !json_is_string(user))
		return err_set(err, -EINVAL, "config: User is not a string");
	char *u = NULL;
	r = resolve_user(s, root, json_string_value(user) ?: "", &u, err);
	if (r < 0)
		return r;
	free(m->config.user);
	m->config.user = u;
	return 0;
}

/* Recipe and lock blobs of an airlock export (annotations): stored when
 * the archive carries them, verified like every blob. */
static int extra_blob(struct import *im, json_t *ann, const char *key, bool *has,
		      struct digest *d, struct err *err)
{
	const char *v = json_string_value(json_object_get(ann, key));
	struct digest want;
	if (!v || digest_parse(v, &want) < 0 || !digest_str_valid(v))
		return 0;
	char hex[DIGEST_HEX_LEN + 1], path[32 + DIGEST_HEX_LEN];
	digest_to_hex(&want, hex);
	snprintf(path, sizeof path, "blobs/sha256/%s", hex);
	const struct member *m = member_find(im, path);
	if (!m || !m->file)
		return 0; /* dropped by a copy: the image is fine without it */
	if (!digest_equal(&m->d, &want))
		return err_set(err, -EBADMSG, "annotation %s: blob %s: digest mismatch", key, v);
	if (m->size > MANIFEST_MAX_BYTES * 4)
		return err_set(err, -EFBIG, "annotation %s: blob too large", key);
	_cleanup_close_ int fd = member_open(im, m, err);
	if (fd < 0)
		return fd;
	struct digest got;
	int r = store_put_fd(im->s, fd, &got, NULL, err);
	if (r < 0)
		return r;
	if (!digest_equal(&got, &want))
		return err_set(err, -EBADMSG, "annotation %s: blob changed while read", key);
	*has = true;
	*d = want;
	return 0;
}

static int parse_ref(const char *ref, bool *ret_docker, const char **ret_path, struct err *err)
{
	if (!strncmp(ref, "oci-archive:", 12)) {
		*ret_docker = false;
		*ret_path = ref + 12;
	} else if (!strncmp(ref, "docker-archive:", 15)) {
		*ret_docker = true;
		*ret_path = ref + 15;
	} else
		return err_set(err, -EINVAL,
			       "'%s': expected oci-archive:PATH or docker-archive:PATH", ref);
	if (!**ret_path)
		return err_set(err, -EINVAL, "'%s': no path", ref);
	return 0;
}

static int import_run(struct import *im, bool docker, const char *path,
		      struct manifest *ret_manifest, struct digest *ret_archive, struct err *err)
{
	im->archive_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (im->archive_fd < 0)
		return err_errno(err, "open '%s'", path);
	struct stat st;
	if (fstat(im->archive_fd, &st) < 0)
		return err_errno(err, "stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return err_set(err, -EISDIR, "'%s' is a directory; give an archive file", path);
	im->tmp_dfd = openat(store_dirfd(im->s), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (im->tmp_dfd < 0)
		return err_errno(err, "open '%s/tmp'", store_path(im->s));
	char rnd[17];
	fs_random_hex(rnd, 16);
	snprintf(im->dirname, sizeof im->dirname, "oci-%s", rnd);
	if (mkdirat(im->tmp_dfd, im->dirname, 0700) < 0)
		return err_errno(err, "create '%s/tmp/%s'", store_path(im->s), im->dirname);
	im->dfd = openat(im->tmp_dfd, im->dirname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (im->dfd < 0)
		return err_errno(err, "open '%s/tmp/%s'", store_path(im->s), im->dirname);
	im->ah = hasher_new();
	im->chunk = xmalloc(CHUNK);
	int r = read_outer(im, err);
	if (r < 0)
		return r;
	struct digest archive_digest;
	hasher_final(im->ah, &archive_digest);

	struct plan p = {0};
	r = docker ? plan_docker(im, &p, err) : plan_oci(im, &p, err);
	if (r < 0) {
		plan_release(&p);
		return r;
	}
	_cleanup_(tree_freep) struct tree *root = tree_new();
	for (size_t i = 0; r >= 0 && i < p.nlayers; i++)
		r = apply_layer(im, p.layers[i], i + 1, root, err);
	struct manifest m;
	manifest_init(&m);
	if (r >= 0)
		r = tree_write(root, im->s, &m.tree, err);
	if (r >= 0)
		r = config_apply(im->s, root, p.config, &m, err);
	if (r >= 0 && p.annotations) {
		r = extra_blob(im, p.annotations, OCI_ANNOTATION_RECIPE, &m.has_recipe, &m.recipe,
			       err);
		if (r >= 0)
			r = extra_blob(im, p.annotations, OCI_ANNOTATION_LOCK, &m.has_lock, &m.lock,
				       err);
	}
	plan_release(&p);
	if (r < 0) {
		manifest_release(&m);
		return r;
	}
	*ret_manifest = m;
	if (ret_archive)
		*ret_archive = archive_digest;
	return 0;
}

int oci_import_archive(struct store *s, const char *transport_ref,
		       const struct oci_import_opts *opts, struct manifest *ret_manifest,
		       struct digest *ret_archive, struct err *err)
{
	static const struct oci_import_opts defaults = {0};
	bool docker = false;
	const char *path = NULL;
	int r = parse_ref(transport_ref, &docker, &path, err);
	if (r < 0)
		return r;
	_cleanup_(import_releasep) struct import im = {
		.s = s,
		.opts = opts ? opts : &defaults,
		.tmp_dfd = -1,
		.dfd = -1,
		.archive_fd = -1,
		.ref = path,
	};
	im.max_blob_bytes = im.opts->max_blob_bytes ?: DEFAULT_MAX_BLOB_BYTES;
	r = import_run(&im, docker, path, ret_manifest, ret_archive, err);
	if (r < 0)
		return err_prefix(err, "%s", transport_ref);
	return 0;
}

int oci_import(struct store *s, const char *transport_ref, const char *tag,
	       const struct oci_import_opts *opts, struct digest *ret_image,
	       struct digest *ret_archive, struct err *err)
{
	if (tag && !store_ref_name_valid(tag))
		return err_set(err, -EINVAL, "invalid image name '%s'", tag);
	struct manifest m;
	int r = oci_import_archive(s, transport_ref, opts, &m, ret_archive, err);
	if (r < 0)
		return r;
	struct digest image;
	r = manifest_put(s, &m, &image, err);
	manifest_release(&m);
	if (r < 0)
		return r;
	r = image_record(s, &image, tag, err);
	if (r < 0)
		return r;
	if (ret_image)
		*ret_image = image;
	return 0;
}
