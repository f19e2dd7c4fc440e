/* digestset: a set of digests (open addressing), for gc marking and
 * de-duplicating work over a tree. */
#ifndef AIRLOCK_LIB_DIGESTSET_H
#define AIRLOCK_LIB_DIGESTSET_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/hash.h"

struct digestset {
	struct digest *slots; /* owned */
	bool *used;           /* owned */
	size_t cap, count;
};

#define DIGESTSET_INIT {NULL, NULL, 0, 0}

/* Adds d; returns true if it was not in the set yet. */
bool digestset_add(struct digestset *set, const struct digest *d);
bool digestset_has(const struct digestset *set, const struct digest *d);
void digestset_release(struct digestset *set);

#endif
