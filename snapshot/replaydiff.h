/* replaydiff: which workspace paths differ between two output trees (a
 * replay against its original). */
#ifndef AIRLOCK_SNAPSHOT_REPLAYDIFF_H
#define AIRLOCK_SNAPSHOT_REPLAYDIFF_H

#include <jansson.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

/* Appends {"status": "A|M|D|T|X", "path": raw, "quoted_path": git-quoted}
 * to diffs for every path that differs from expected to got, ignored files
 * included, no rename pairing. */
int replaydiff_paths(struct store *s, const struct digest *expected, const struct digest *got,
		     json_t *diffs, struct err *err);

#endif
