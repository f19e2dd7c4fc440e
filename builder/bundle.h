/* bundle: one run record with every object needed to replay or review it,
 * as one file (a zstd-compressed tar), so CI can take a run made elsewhere.
 * Format in docs/FORMAT.md ("Bundles").
 *
 * A bundle read from disk is hostile input: bundle_read accepts only the
 * canonical layout, verifies every object's bytes against its name, checks
 * that the record reaches only objects that are present, and writes refs
 * only after all of that passed. A refused bundle leaves no ref behind;
 * objects it wrote before the failure are unreachable and `gc` removes
 * them.
 */
#ifndef AIRLOCK_BUILDER_BUNDLE_H
#define AIRLOCK_BUILDER_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/store.h"

#define BUNDLE_VERSION 1
/* The whole first entry, "airlock-bundle". */
#define BUNDLE_MAGIC "airlock-bundle 1\n"
/* zstd level of the outer stream; fixed so the same run gives the same
 * bytes with the same libzstd. */
#define BUNDLE_ZSTD_LEVEL 3

/* Limits on what bundle_read accepts; 0 in a field means its default. */
struct bundle_limits {
	uint64_t max_objects;      /* default 4,000,000 objects/ entries */
	uint64_t max_object_bytes; /* default 64 GiB per object */
	uint64_t max_total_bytes;  /* default 256 GiB over all objects */
};

/* Writes run run_ref ("last", an id or a unique id prefix) with every
 * object it reaches (maintain_reachable: the record, the image manifest,
 * its tree and blobs, input and output trees, stdout/stderr) to path.
 * path is replaced atomically (temp file beside it, fsync, rename); on
 * failure it is left as it was. A missing or corrupt object in this
 * store is an error naming it. Follows a symlink at path's directory
 * components, never at path itself (the temp file is renamed over it). */
int bundle_write(struct store *s, const char *run_ref, const char *path, struct err *err);

/* Reads the bundle at path into s: verifies every entry and object (see
 * the top of this file), then sets refs/images/<hex> for the run's image
 * and refs/runs/<id>, and copies the run id into ret_run_id[RUN_ID_MAX]
 * (runner/run.h). A run with the same id and the same record is success
 * (nothing changes); the same id with another record is -EEXIST. limits
 * may be NULL (defaults). Every failure names the bundle and the entry or
 * object; no ref is written unless everything passed. */
int bundle_read(struct store *s, const char *path, const struct bundle_limits *limits,
		char *ret_run_id, struct err *err);

#endif
