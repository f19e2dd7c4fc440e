/* digestset: open-addressing hash set keyed by the digest's own bytes
 * (already uniformly distributed, so no further hashing). */
#include "lib/digestset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

static size_t slot_of(const struct digest *d, size_t cap)
{
	uint64_t h;
	memcpy(&h, d->b, sizeof h);
	return (size_t)(h & (cap - 1));
}

static void rehash(struct digestset *set, size_t ncap)
{
	struct digest *old = set->slots;
	bool *oldu = set->used;
	size_t ocap = set->cap;
	set->slots = xcalloc(ncap, sizeof *set->slots);
	set->used = xcalloc(ncap, sizeof *set->used);
	set->cap = ncap;
	set->count = 0;
	for (size_t i = 0; i < ocap; i++)
		if (oldu[i])
			digestset_add(set, &old[i]);
	free(old);
	free(oldu);
}

bool digestset_add(struct digestset *set, const struct digest *d)
{
	if ((set->count + 1) * 4 >= set->cap * 3)
		rehash(set, set->cap ? set->cap * 2 : 1024);
	for (size_t i = slot_of(d, set->cap);; i = (i + 1) & (set->cap - 1)) {
		if (!set->used[i]) {
			set->used[i] = true;
			set->slots[i] = *d;
			set->count++;
			return true;
		}
		if (digest_equal(&set->slots[i], d))
			return false;
	}
}

bool digestset_has(const struct digestset *set, const struct digest *d)
{
	if (!set->cap)
		return false;
	for (size_t i = slot_of(d, set->cap); set->used[i]; i = (i + 1) & (set->cap - 1))
		if (digest_equal(&set->slots[i], d))
			return true;
	return false;
}

void digestset_release(struct digestset *set)
{
	free(set->slots);
	free(set->used);
	memset(set, 0, sizeof *set);
}
