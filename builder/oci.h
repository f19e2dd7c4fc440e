/* oci: OCI image-spec 1.1 archives in and out (docs/FORMAT.md, "OCI").
 *
 * Export writes one image as an OCI image layout in a tar file
 * ("oci-archive", what `skopeo inspect oci-archive:FILE` and `podman load`
 * read), optionally with a docker `manifest.json` beside it
 * ("docker-archive", for `docker load`). The output is a pure function of
 * the image, the name, the format, the compression and SOURCE_DATE_EPOCH:
 * sorted tar entries, numeric owners from the tree, fixed mtimes, fixed
 * compressor settings; the same image always gives the same bytes and the
 * same OCI manifest digest.
 *
 * Import reads an "oci-archive:PATH" or "docker-archive:PATH" (hostile
 * input): every blob is hashed and compared with the digest that names it
 * before it is used, layers are applied in order with OCI whiteouts by
 * builder/tartree.h (paths normalised, ".." refused, links never followed,
 * devices skipped, setuid dropped, sizes and counts bounded), and only
 * when all of it verified is the image recorded. A failed import leaves no
 * ref behind (objects it wrote are unreachable; gc drops them).
 *
 * Export then import of the same image gives back the same image digest:
 * the OCI config carries the whole airlock config, and the recipe and lock
 * blobs travel as extra blobs named by manifest annotations.
 */
#ifndef AIRLOCK_BUILDER_OCI_H
#define AIRLOCK_BUILDER_OCI_H

#include <stdint.h>

#include "builder/manifest.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

enum oci_format {
	OCI_FORMAT_OCI,    /* OCI layout: oci-layout, index.json, blobs/ */
	OCI_FORMAT_DOCKER, /* the same plus a docker manifest.json */
};

enum oci_compression {
	OCI_COMPRESS_GZIP, /* default: every OCI/docker tool reads it */
	OCI_COMPRESS_ZSTD,
	OCI_COMPRESS_NONE,
};

/* Annotation keys on the OCI manifest naming the airlock recipe and lock
 * blobs of an exported image (both also stored under blobs/sha256/). */
#define OCI_ANNOTATION_RECIPE "dev.airlock.recipe"
#define OCI_ANNOTATION_LOCK "dev.airlock.lock"
#define OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

struct oci_export_opts {
	enum oci_format format;
	enum oci_compression compression;
};

/* Exports image (an image manifest digest in s) to path, atomically: a
 * temp file beside path (O_EXCL), fsync, rename over path, fsync the
 * directory; on failure path is untouched and the temp file removed.
 * name is the org.opencontainers.image.ref.name annotation (and, for
 * docker, the RepoTag, ":latest" added when it has no tag); NULL or ""
 * means "latest". opts may be NULL (OCI format, gzip). The layer is built
 * in $STORE/tmp first (unlinked temp file), so memory stays bounded; file
 * contents are verified against their digests as they are read (a corrupt
 * object is -EBADMSG naming it). ret_manifest (may be NULL) gets the
 * digest of the OCI manifest. Safe to call concurrently. */
int oci_export(struct store *s, const struct digest *image, const char *name, const char *path,
	       const struct oci_export_opts *opts, struct digest *ret_manifest, struct err *err);

/* Limits and reporting for import. Zero limits mean the defaults. */
struct oci_import_opts {
	uint64_t max_entries;  /* tar entries over all layers (default 1,000,000) */
	uint64_t max_bytes;    /* file-content bytes over all layers (default 32 GiB) */
	uint64_t max_blob_bytes; /* bytes of the archive's blobs together (default 64 GiB) */
	/* Called for what a tree cannot hold or drops (device node skipped,
	 * setuid bit dropped, ...); path is "layer N: <path>". May be NULL. */
	void (*note)(const char *path, const char *what, void *userdata);
	void *userdata;
};

/* Reads the archive named by transport_ref ("oci-archive:PATH" or
 * "docker-archive:PATH") into the store and fills *ret_manifest (caller
 * releases it with manifest_release) with the image it describes: tree
 * from the layers, config from the OCI config (see docs/FORMAT.md for the
 * mapping; a User given by name is resolved through the image's
 * /etc/passwd and /etc/group, -EINVAL if it is not there). Records no ref
 * and does not store the manifest: this is what `FROM oci-archive:PATH`
 * in a recipe calls. ret_archive (may be NULL) gets the SHA-256 of the
 * archive file's bytes, for the lock. opts may be NULL. Temporary files go
 * to $STORE/tmp and are removed before return. Errors: -EINVAL bad
 * reference or malformed archive, -EBADMSG a digest mismatch or corrupt
 * layer, -EFBIG a limit exceeded, -ENOENT a missing file or blob; err
 * names the blob or entry. */
int oci_import_archive(struct store *s, const char *transport_ref,
		       const struct oci_import_opts *opts, struct manifest *ret_manifest,
		       struct digest *ret_archive, struct err *err);

/* oci_import_archive, then manifest_put and image_record (refs/images and,
 * if tag is not NULL, refs/tags/<tag>): `airlock import`. The ref is
 * written only after everything verified. ret_image and ret_archive may be
 * NULL. */
int oci_import(struct store *s, const char *transport_ref, const char *tag,
	       const struct oci_import_opts *opts, struct digest *ret_image,
	       struct digest *ret_archive, struct err *err);

#endif
