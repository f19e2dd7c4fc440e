/* manifest: image manifests, the documents whose digest names an image.
 *
 * A manifest is canonical JSON (jansson, sorted keys, compact, no trailing
 * newline) of:
 *   {"config":{"Cmd":[..],"Env":["K=V",..],"Labels":{..},"User":"uid:gid",
 *              "WorkingDir":"/.."},
 *    "lock":"sha256:..",    (optional) blob: the recipe's lock file
 *    "recipe":"sha256:..",  (optional) blob: the recipe text
 *    "schema":1,
 *    "tree":"sha256:.."}    the root tree
 * The image digest is the SHA-256 of exactly those bytes. Keys ending in
 * "tree" name tree objects; other digest strings name blobs (the reference
 * rule gc and fsck follow, see maintain.h).
 */
#ifndef AIRLOCK_BUILDER_MANIFEST_H
#define AIRLOCK_BUILDER_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

#define MANIFEST_SCHEMA 1
#define MANIFEST_MAX_BYTES (4u << 20)

struct image_config {
	char **env; /* "K=V", owned; later entries override earlier keys */
	size_t nenv;
	char **cmd; /* owned, may be empty */
	size_t ncmd;
	char **label_keys, **label_values; /* owned, parallel */
	size_t nlabels;
	char *user;    /* "uid:gid", owned; never NULL after manifest_init */
	char *workdir; /* owned; never NULL after manifest_init */
};

struct manifest {
	struct digest tree;
	struct image_config config;
	bool has_recipe, has_lock;
	struct digest recipe, lock;
};

/* Default config: User "1000:1000", WorkingDir "/", no env/cmd/labels. */
void manifest_init(struct manifest *m);
void manifest_release(struct manifest *m);
/* Deep copy of src into dst (dst uninitialised). */
void manifest_copy(struct manifest *dst, const struct manifest *src);

/* Sets K=V in config.env (replacing an earlier K). */
void manifest_setenv(struct manifest *m, const char *key, const char *value);
void manifest_setlabel(struct manifest *m, const char *key, const char *value);
void manifest_setcmd(struct manifest *m, char *const *argv, size_t n);

/* Canonical bytes (malloc'ed, *ret_len set). */
char *manifest_encode(const struct manifest *m, size_t *ret_len);
/* Strict parse of canonical bytes; rejects unknown keys and bad digests. */
int manifest_decode(const void *data, size_t len, struct manifest *ret, struct err *err);

/* Stores the manifest as an object; *ret is the image digest. */
int manifest_put(struct store *s, const struct manifest *m, struct digest *ret, struct err *err);
int manifest_get(struct store *s, const struct digest *d, struct manifest *ret, struct err *err);

/* Resolves an image reference: a name in refs/tags, "sha256:<hex>", or a
 * unique prefix of at least 8 hex digits of a stored image. */
int image_resolve(struct store *s, const char *ref, struct digest *ret, struct err *err);

/* Records an image: refs/images/<hex>, and refs/tags/<name> if name. */
int image_record(struct store *s, const struct digest *image, const char *name, struct err *err);

#endif
