/* oci-export: an airlock image as an OCI image layout in a tar file.
 *
 * The layer is produced in one pass over the tree (tree_walk, canonical
 * order, so the tar entries are sorted): a tar writer whose output is
 * hashed (the diff_id) and fed to a second libarchive writer in "raw"
 * format that only compresses; its output is hashed (the blob digest) and
 * written to an unlinked temp file in $STORE/tmp. Then the config and the
 * manifest, which need those digests, are encoded, and the outer tar is
 * written to a temp file beside the destination, fsynced and renamed.
 *
 * Determinism is the point: every tar header is built from scratch with
 * only what the tree holds (path, type, perm, numeric uid/gid, size, link
 * target) plus mtime = SOURCE_DATE_EPOCH or 0; no user/group names, no
 * atime/ctime, so the pax writer emits extended headers only for long
 * names or large numbers, with fixed contents. The gzip header carries no
 * timestamp and no file name; compressor levels are pinned (FORMAT.md).
 * JSON documents are compact with sorted keys.
 */
#include "builder/oci.h"
#include "builder/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/archive-util.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/tree.h"
#include "lib/xalloc.h"

#define CHUNK (256u << 10)
/* Files up to this size are read into memory whole; larger ones go through
 * a temp file so memory stays bounded. */
#define SMALL_FILE_MAX (8u << 20)
/* Pinned (docs/FORMAT.md): gzip level 1 keeps export within umoci's
 * time (its gzip runs in parallel; ours is one stream) for ~10% more
 * bytes than level 3. */
#define GZIP_LEVEL "1"
#define ZSTD_LEVEL "3"

#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"

#if defined(__x86_64__)
#define OCI_ARCH "amd64"
#elif defined(__aarch64__)
#define OCI_ARCH "arm64"
#elif defined(__i386__)
#define OCI_ARCH "386"
#elif defined(__riscv) && __riscv_xlen == 64
#define OCI_ARCH "riscv64"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OCI_ARCH "ppc64le"
#elif defined(__s390x__)
#define OCI_ARCH "s390x"
#elif defined(__arm__)
#define OCI_ARCH "arm"
#else
#error "unknown architecture: add its GOARCH name"
#endif

/* The layer being written: tar bytes -> diff hasher -> compressor ->
 * blob hasher -> fd. */
struct layer {
	struct store *s;
	int fd; /* unlinked temp file in $STORE/tmp */
	struct archive *comp; /* raw-format compressor, NULL when uncompressed */
	struct archive *tar;
	struct archive_entry *entry;
	struct hasher *diff, *blob;
	uint64_t size; /* compressed bytes */
	int werr;      /* -errno of the first failed write to fd */
	time_t mtime;
	struct buf data; /* reused for small files */
	char *chunk;
};

static la_ssize_t out_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct layer *l = ud;
	int r = fs_write_all(l->fd, buf, n);
	if (r < 0) {
		l->werr = r;
		archive_set_error(a, -r, "write layer: %s", strerror(-r));
		return -1;
	}
	hasher_update(l->blob, buf, n);
	l->size += n;
	return (la_ssize_t)n;
}

static la_ssize_t tar_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct layer *l = ud;
	hasher_update(l->diff, buf, n);
	if (!l->comp)
		return out_cb(a, ud, buf, n);
	la_ssize_t w = archive_write_data(l->comp, buf, n);
	if (w < 0 || (size_t)w != n) {
		archive_set_error(a, EIO, "compress layer: %s",
				  archive_error_string(l->comp) ?: "error");
		return -1;
	}
	return w;
}

static int tar_fail(struct layer *l, const char *what, const char *path, struct err *err)
{
	if (l->werr)
		return err_code(err, l->werr, "%s '%s'", what, path);
	return err_set(err, -EIO, "%s '%s': %s", what, path,
		       archive_error_string(l->tar) ?: "archive error");
}

static int write_data(struct layer *l, const void *p, size_t n, const char *path, struct err *err)
{
	while (n) {
		la_ssize_t w = archive_write_data(l->tar, p, n);
		if (w <= 0)
			return tar_fail(l, "write", path, err);
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* Streams a file object into the tar entry, verifying its digest (store
 * reads always re-hash) and that it has exactly the size in the header. */
static int write_file(struct layer *l, const char *path, const struct tree_attr *attr,
		      struct err *err)
{
	if (attr->size <= SMALL_FILE_MAX) {
		buf_reset(&l->data);
		int r = store_get(l->s, &attr->digest, SMALL_FILE_MAX, &l->data, err);
		if (r < 0)
			return err_prefix(err, "'%s'", path);
		if (l->data.len != attr->size)
			return err_set(err, -EBADMSG, "'%s': object has %zu bytes, tree says %" PRIu64,
				       path, l->data.len, attr->size);
		return write_data(l, l->data.data, l->data.len, path, err);
	}
	_cleanup_close_ int fd = store_tmpfile(l->s, err);
	if (fd < 0)
		return fd;
	uint64_t got = 0;
	int r = store_get_to_fd(l->s, &attr->digest, fd, &got, err);
	if (r < 0)
		return err_prefix(err, "'%s'", path);
	if (got != attr->size)
		return err_set(err, -EBADMSG, "'%s': object has %" PRIu64 " bytes, tree says %" PRIu64,
			       path, got, attr->size);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_errno(err, "seek temp file");
	for (;;) {
		ssize_t n = read(fd, l->chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(err, "read temp file");
		if (n == 0)
			return 0;
		r = write_data(l, l->chunk, (size_t)n, path, err);
		if (r < 0)
			return r;
	}
}

static int walk_cb(const char *path, const struct tree_attr *attr, void *ud, struct err *err)
{
	struct layer *l = ud;
	if (!*path)
		return 0; /* the root has no attributes of its own */
	struct archive_entry *e = l->entry;
	archive_entry_clear(e);
	archive_entry_set_uid(e, attr->uid);
	archive_entry_set_gid(e, attr->gid);
	archive_entry_set_mtime(e, l->mtime, 0);
	_cleanup_buf_ struct buf target = BUF_INIT;
	switch (attr->type) {
	case TREE_DIR: {
		_cleanup_free_ char *p = xasprintf("%s/", path);
		archive_entry_copy_pathname(e, p);
		archive_entry_set_mode(e, AE_IFDIR | (attr->perm & 0777));
		archive_entry_set_size(e, 0);
		break;
	}
	case TREE_FILE:
		archive_entry_copy_pathname(e, path);
		archive_entry_set_mode(e, AE_IFREG | (attr->perm & 0777));
		archive_entry_set_size(e, (la_int64_t)attr->size);
		break;
	case TREE_SYMLINK: {
		int r = store_get(l->s, &attr->digest, TREE_PATH_MAX, &target, err);
		if (r < 0)
			return err_prefix(err, "symlink '%s'", path);
		archive_entry_copy_pathname(e, path);
		archive_entry_set_mode(e, AE_IFLNK | 0777);
		archive_entry_copy_symlink(e, target.data);
		archive_entry_set_size(e, 0);
		break;
	}
	}
	if (archive_write_header(l->tar, e) != ARCHIVE_OK)
		return tar_fail(l, "write header of", path, err);
	if (attr->type == TREE_FILE)
		return write_file(l, path, attr, err);
	return 0;
}

static void layer_release(struct layer *l)
{
	if (l->tar)
		archive_write_free(l->tar);
	if (l->comp)
		archive_write_free(l->comp);
	if (l->entry)
		archive_entry_free(l->entry);
	if (l->diff)
		hasher_free(l->diff);
	if (l->blob)
		hasher_free(l->blob);
	if (l->fd >= 0)
		close(l->fd);
	buf_release(&l->data);
	free(l->chunk);
}

static int layer_compressor(struct layer *l, enum oci_compression c, struct err *err)
{
	if (c == OCI_COMPRESS_NONE)
		return 0;
	l->comp = archive_write_new();
	archive_write_set_format_raw(l->comp);
	int ar;
	if (c == OCI_COMPRESS_GZIP) {
		ar = archive_write_add_filter_gzip(l->comp);
		/* No mtime, no name in the gzip header: stable bytes. */
		if (ar == ARCHIVE_OK)
			ar = archive_write_set_filter_option(l->comp, "gzip", "timestamp", NULL);
		if (ar == ARCHIVE_OK)
			ar = archive_write_set_filter_option(l->comp, "gzip", "compression-level",
							     GZIP_LEVEL);
	} else {
		ar = archive_write_add_filter_zstd(l->comp);
		if (ar == ARCHIVE_OK)
			ar = archive_write_set_filter_option(l->comp, "zstd", "compression-level",
							     ZSTD_LEVEL);
	}
	if (ar != ARCHIVE_OK)
		return err_set(err, -ENOTSUP, "layer compressor: %s",
			       archive_error_string(l->comp) ?: "not available");
	/* Output in 128 KiB writes (with 0, every small tar write reached
	 * the compressor as its own flushed chunk: slower and larger), and no
	 * padding of the last block: trailing zeros after a gzip member
	 * confuse readers. */
	archive_write_set_bytes_per_block(l->comp, 128 << 10);
	archive_write_set_bytes_in_last_block(l->comp, 1);
	if (archive_write_open2(l->comp, l, NULL, out_cb, NULL, NULL) != ARCHIVE_OK)
		return err_set(err, -EIO, "layer compressor: %s",
			       archive_error_string(l->comp) ?: "open failed");
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "layer.tar");
	archive_entry_set_mode(e, AE_IFREG | 0644);
	if (archive_write_header(l->comp, e) != ARCHIVE_OK)
		return err_set(err, -EIO, "layer compressor: %s",
			       archive_error_string(l->comp) ?: "header failed");
	return 0;
}

/* Writes the layer of tree to an unlinked temp file; l->fd is left at its
 * start. */
static int layer_write(struct store *s, const struct digest *tree, enum oci_compression c,
		       struct layer *l, struct digest *ret_diff, struct digest *ret_blob,
		       struct err *err)
{
	l->s = s;
	l->mtime = tree_fixed_mtime();
	l->fd = store_tmpfile(s, err);
	if (l->fd < 0)
		return l->fd;
	l->diff = hasher_new();
	l->blob = hasher_new();
	l->entry = archive_entry_new();
	l->chunk = xmalloc(CHUNK);
	int r = layer_compressor(l, c, err);
	if (r < 0)
		return r;
	l->tar = archive_write_new();
	/* Names are bytes (an agent's may not be UTF-8): written as they are
	 * (pax hdrcharset=BINARY), never converted through the locale. */
	if (archive_write_set_format_pax_restricted(l->tar) != ARCHIVE_OK ||
	    archive_write_set_format_option(l->tar, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
	    archive_write_open2(l->tar, l, NULL, tar_cb, NULL, NULL) != ARCHIVE_OK)
		return err_set(err, -EIO, "layer: %s", archive_error_string(l->tar) ?: "open failed");
	r = tree_walk(s, tree, walk_cb, l, err);
	if (r < 0)
		return err_prefix(err, "layer");
	if (archive_write_close(l->tar) != ARCHIVE_OK)
		return tar_fail(l, "finish", "layer", err);
	if (l->comp && archive_write_close(l->comp) != ARCHIVE_OK)
		return err_set(err, l->werr ?: -EIO, "finish layer: %s",
			       archive_error_string(l->comp) ?: "error");
	if (l->werr)
		return err_code(err, l->werr, "write layer");
	hasher_final(l->diff, ret_diff);
	hasher_final(l->blob, ret_blob);
	if (lseek(l->fd, 0, SEEK_SET) < 0)
		return err_errno(err, "seek layer");
	return 0;
}

static json_t *jdigest(const struct digest *d)
{
	char s[DIGEST_STR_SIZE];
	digest_to_str(d, s);
	return json_string(s);
}

static json_t *jdescriptor(const char *media_type, const struct digest *d, uint64_t size)
{
	return json_pack("{s:s,s:o,s:I}", "mediaType", media_type, "digest", jdigest(d), "size",
			 (json_int_t)size);
}

static char *jdump(json_t *j, size_t *ret_len)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!s)
		abort(); /* jansson fails only on OOM here */
	*ret_len = strlen(s);
	return s;
}

static json_t *jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The OCI image config for m; everything the manifest's config holds. */
static char *config_encode(const struct manifest *m, const struct digest *diff_id, time_t t,
			   size_t *ret_len)
{
	const struct image_config *c = &m->config;
	char created[64];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *labels = json_object();
	for (size_t i = 0; i < c->nlabels; i++)
		json_object_set_new(labels, c->label_keys[i], json_string(c->label_values[i]));
	json_t *cfg = json_object();
	json_object_set_new(cfg, "Env", jstrv(c->env, c->nenv));
	if (c->ncmd)
		json_object_set_new(cfg, "Cmd", jstrv(c->cmd, c->ncmd));
	json_object_set_new(cfg, "Labels", labels);
	json_object_set_new(cfg, "User", json_string(c->user));
	json_object_set_new(cfg, "WorkingDir", json_string(c->workdir));
	json_t *diff_ids = json_array();
	json_array_append_new(diff_ids, jdigest(diff_id));
	_cleanup_(json_decrefp) json_t *root = json_pack(
		"{s:s,s:s,s:s,s:o,s:{s:s,s:o},s:[{s:s,s:s}]}", "architecture", OCI_ARCH, "os",
		"linux", "created", created, "config", cfg, "rootfs", "type", "layers", "diff_ids",
		diff_ids, "history", "created", created, "created_by", "airlock export");
	return jdump(root, ret_len);
}

/* One blob of the outer archive: bytes in memory or the layer fd. */
struct blob {
	struct digest d;
	char *data; /* owned, or NULL for the layer */
	size_t len;
	uint64_t fd_size;
};

static int blob_cmp(const void *a, const void *b)
{
	return memcmp(((const struct blob *)a)->d.b, ((const struct blob *)b)->d.b, DIGEST_LEN);
}

static int outer_copy_fd(struct tarwrite *o, int fd, uint64_t size, char *chunk, struct err *err)
{
	uint64_t done = 0;
	while (done < size) {
		ssize_t n = read(fd, chunk, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(err, "read layer temp file");
		if (n == 0)
			return err_set(err, -EIO, "layer temp file shorter than written");
		int r = tarwrite_data(o, chunk, (size_t)n, err);
		if (r < 0)
			return r;
		done += (uint64_t)n;
	}
	return 0;
}

static void blobs_free(struct blob *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i].data);
}

/* Reads an optional recipe/lock blob of the image into b. */
static int add_store_blob(struct store *s, const struct digest *d, struct blob *b, struct err *err)
{
	struct buf data = BUF_INIT;
	int r = store_get(s, d, MANIFEST_MAX_BYTES * 4, &data, err);
	if (r < 0) {
		buf_release(&data);
		return r;
	}
	b->d = *d;
	b->len = data.len;
	b->data = buf_detach(&data, NULL);
	return 0;
}

static char *repo_tag(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *colon = strchr(slash ? slash : name, ':');
	return colon ? xstrdup(name) : xasprintf("%s:latest", name);
}

/* What write_outer writes: the blobs (the layer's read from layer_fd),
 * index.json, the Docker manifest.json if any, oci-layout. */
struct outer_job {
	const char *path; /* for messages */
	const struct blob *blobs;
	size_t nblobs;
	int layer_fd;
	const char *index, *docker;
	size_t index_len, docker_len;
};

/* Writes the outer archive for j (a struct outer_job) to fd
 * (fs_write_path_atomic's fill). */
static int write_outer(int fd, void *j_, struct err *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	const struct outer_job *j = j_;
	const char *path = j->path;
	const struct blob *blobs = j->blobs;
	_cleanup_(archive_write_freep) struct archive *a = archive_write_new();
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *chunk = xmalloc(CHUNK);
	struct tarwrite o = {.a = a, .e = e, .mtime = tree_fixed_mtime(), .path = path};
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		return err_set(err, -EIO, "write '%s': %s", path,
			       archive_error_string(a) ?: "open failed");
	int r = tarwrite_entry(&o, "blobs/", true, 0, err);
	if (r >= 0)
		r = tarwrite_entry(&o, "blobs/sha256/", true, 0, err);
	for (size_t i = 0; r >= 0 && i < j->nblobs; i++) {
		char hex[DIGEST_HEX_LEN + 1], name[32 + DIGEST_HEX_LEN];
		digest_to_hex(&blobs[i].d, hex);
		snprintf(name, sizeof name, "blobs/sha256/%s", hex);
		if (blobs[i].data)
			r = tarwrite_mem(&o, name, blobs[i].data, blobs[i].len, err);
		else {
			r = tarwrite_entry(&o, name, false, blobs[i].fd_size, err);
			if (r >= 0)
				r = outer_copy_fd(&o, j->layer_fd, blobs[i].fd_size, chunk, err);
		}
	}
	if (r >= 0)
		r = tarwrite_mem(&o, "index.json", j->index, j->index_len, err);
	if (r >= 0 && j->docker)
		r = tarwrite_mem(&o, "manifest.json", j->docker, j->docker_len, err);
	if (r >= 0)
		r = tarwrite_mem(&o, "oci-layout", layout, strlen(layout), err);
	if (r < 0)
		return r;
	if (archive_write_close(a) != ARCHIVE_OK)
		return err_set(err, -EIO, "write '%s': %s", path,
			       archive_error_string(a) ?: "close failed");
	return 0;
}

struct blobs {
	struct blob b[5];
	size_t n;
};

static void blobs_releasep(struct blobs *b)
{
	blobs_free(b->b, b->n);
}

static void layer_releasep(struct layer *l)
{
	layer_release(l);
}

static int export_manifest(struct store *s, const struct manifest *m, const char *name,
			   const char *path, const struct oci_export_opts *opts,
			   struct digest *ret_manifest, struct err *err)
{
	_cleanup_(layer_releasep) struct layer l = {.fd = -1};
	struct digest diff_id, layer_digest;
	int r = layer_write(s, &m->tree, opts->compression, &l, &diff_id, &layer_digest, err);
	if (r < 0)
		return r;

	_cleanup_(blobs_releasep) struct blobs blobs = {0};
	size_t cfg_len = 0;
	char *cfg = config_encode(m, &diff_id, tree_fixed_mtime(), &cfg_len);
	struct digest cfg_digest;
	digest_buffer(cfg, cfg_len, &cfg_digest);
	blobs.b[blobs.n++] = (struct blob){.d = cfg_digest, .data = cfg, .len = cfg_len};
	blobs.b[blobs.n++] = (struct blob){.d = layer_digest, .fd_size = l.size};

	const char *layer_mt = opts->compression == OCI_COMPRESS_GZIP   ? MT_LAYER "+gzip"
			       : opts->compression == OCI_COMPRESS_ZSTD ? MT_LAYER "+zstd"
									: MT_LAYER;
	_cleanup_(json_decrefp) json_t *jm =
		json_pack("{s:i,s:s,s:o,s:[o]}", "schemaVersion", 2, "mediaType", MT_MANIFEST, "config",
			  jdescriptor(MT_CONFIG, &cfg_digest, cfg_len), "layers",
			  jdescriptor(layer_mt, &layer_digest, l.size));
	if (m->has_recipe || m->has_lock) {
		json_t *ann = json_object();
		json_object_set_new(jm, "annotations", ann);
		if (m->has_recipe) {
			r = add_store_blob(s, &m->recipe, &blobs.b[blobs.n], err);
			if (r < 0)
				return err_prefix(err, "recipe");
			blobs.n++;
			json_object_set_new(ann, OCI_ANNOTATION_RECIPE, jdigest(&m->recipe));
		}
		if (m->has_lock) {
			r = add_store_blob(s, &m->lock, &blobs.b[blobs.n], err);
			if (r < 0)
				return err_prefix(err, "lock");
			blobs.n++;
			json_object_set_new(ann, OCI_ANNOTATION_LOCK, jdigest(&m->lock));
		}
	}
	size_t man_len = 0;
	char *man = jdump(jm, &man_len);
	struct digest man_digest;
	digest_buffer(man, man_len, &man_digest);
	blobs.b[blobs.n++] = (struct blob){.d = man_digest, .data = man, .len = man_len};

	json_t *desc = jdescriptor(MT_MANIFEST, &man_digest, man_len);
	json_object_set_new(desc, "annotations", json_pack("{s:s}", OCI_ANNOTATION_REF_NAME, name));
	_cleanup_(json_decrefp) json_t *ji = json_pack("{s:i,s:s,s:[o]}", "schemaVersion", 2,
						       "mediaType", MT_INDEX, "manifests", desc);
	size_t index_len = 0;
	_cleanup_free_ char *index = jdump(ji, &index_len);
	_cleanup_free_ char *docker = NULL;
	size_t docker_len = 0;
	if (opts->format == OCI_FORMAT_DOCKER) {
		char ch[DIGEST_HEX_LEN + 1], lh[DIGEST_HEX_LEN + 1];
		digest_to_hex(&cfg_digest, ch);
		digest_to_hex(&layer_digest, lh);
		_cleanup_free_ char *cp = xasprintf("blobs/sha256/%s", ch);
		_cleanup_free_ char *lp = xasprintf("blobs/sha256/%s", lh);
		_cleanup_free_ char *tag = repo_tag(name);
		_cleanup_(json_decrefp) json_t *jd = json_pack(
			"[{s:s,s:[s],s:[s]}]", "Config", cp, "RepoTags", tag, "Layers", lp);
		docker = jdump(jd, &docker_len);
	}
	/* Distinct contents have distinct digests; the recipe could equal the
	 * lock only by accident, and then one copy is enough. */
	qsort(blobs.b, blobs.n, sizeof *blobs.b, blob_cmp);
	for (size_t i = 1; i < blobs.n; i++) {
		if (!blob_cmp(&blobs.b[i - 1], &blobs.b[i])) {
			free(blobs.b[i].data);
			memmove(&blobs.b[i], &blobs.b[i + 1], (blobs.n - i - 1) * sizeof *blobs.b);
			blobs.n--;
			i--;
		}
	}
	/* A temp file beside path, renamed into place; removed on failure. */
	struct outer_job job = {path, blobs.b, blobs.n, l.fd, index, docker, index_len, docker_len};
	r = fs_write_path_atomic(path, write_outer, &job, err);
	if (r < 0)
		return r;
	if (ret_manifest)
		*ret_manifest = man_digest;
	return 0;
}

int oci_export(struct store *s, const struct digest *image, const char *name, const char *path,
	       const struct oci_export_opts *opts, struct digest *ret_manifest, struct err *err)
{
	static const struct oci_export_opts defaults = {OCI_FORMAT_OCI, OCI_COMPRESS_GZIP};
	if (!opts)
		opts = &defaults;
	if (!name || !*name)
		name = "latest";
	struct manifest m;
	int r = manifest_get(s, image, &m, err);
	if (r < 0)
		return r;
	r = export_manifest(s, &m, name, path, opts, ret_manifest, err);
	manifest_release(&m);
	return r;
}
