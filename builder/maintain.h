/* maintain: listing and removing images, gc and fsck over the store.
 *
 * Reference rule (shared by every JSON document airlock stores: image
 * manifests, run records): a string value "sha256:<hex>" refers to another
 * object when its key says so, and the key gives the object's type: keys
 * ending in "tree" name tree objects (walked recursively); the key "image"
 * and keys ending in "manifest" or "record" name JSON documents (walked by
 * the same rule); the keys "recipe", "lock", "stdout", "stderr" and keys
 * ending in "_blob" or "blobs" name blobs. An array takes its key's type.
 * Any other string is data, whatever it looks like. The roots are every
 * ref in refs/{tags,images,cache,runs}.
 */
#ifndef AIRLOCK_BUILDER_MAINTAIN_H
#define AIRLOCK_BUILDER_MAINTAIN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

struct image_info {
	struct digest digest;
	char **names; /* owned; tags pointing at this image, sorted */
	size_t nnames;
	uint64_t bytes;   /* total size of file contents */
	uint64_t entries; /* files, dirs and symlinks */
};

/* Every image in refs/images, sorted by first name then digest. */
int images_list(struct store *s, struct image_info **ret, size_t *ret_count, struct err *err);
void image_infos_free(struct image_info *infos, size_t count);

/* rmi: a name removes that tag (and the image itself when no other name
 * is left); a digest or unique prefix removes the image and all its
 * names. Objects go at the next gc. */
int image_remove(struct store *s, const char *ref, struct err *err);

struct digestset;
/* Adds to *set the JSON document doc (a run record or an image manifest)
 * and every object reachable from it by the reference rule. Fails, naming
 * it, on the first missing or corrupt object. */
int maintain_reachable(struct store *s, const struct digest *doc, struct digestset *set,
		       struct err *err);

struct gc_stats {
	uint64_t objects_kept, objects_removed, bytes_removed;
	uint64_t checkouts_removed, files_removed, temp_removed;
};

/* Takes the exclusive store lock, marks everything reachable from the
 * refs and deletes the rest (objects, checkouts, file-cache entries no
 * checkout uses, temp files). Refuses to delete anything if a reachable
 * object is missing or corrupt (run fsck). */
int gc_run(struct store *s, struct gc_stats *ret, struct err *err);

struct fsck_report {
	struct buf text; /* one line per problem; caller releases */
	size_t problems;
	uint64_t objects_checked;
};

/* Re-hashes every object and checks that everything reachable from the
 * refs is present and well formed. Returns 0 when it could look (problems
 * are in the report), negative only if the check itself failed. */
int fsck_run(struct store *s, struct fsck_report *ret, struct err *err);

#endif
