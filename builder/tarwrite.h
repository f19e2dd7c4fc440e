/* tarwrite: entries of deterministic tar archives written through
 * libarchive (owner 0:0, one fixed mtime, 0644 files and 0755 dirs), for
 * OCI export and run bundles. */
#ifndef AIRLOCK_BUILDER_TARWRITE_H
#define AIRLOCK_BUILDER_TARWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"

struct archive;
struct archive_entry;

/* Everything borrowed from the caller, who opens and closes a. */
struct tarwrite {
	struct archive *a;
	struct archive_entry *e; /* scratch entry, reused */
	time_t mtime;
	const char *path; /* the archive's name, for messages */
};

/* A header for a file of size bytes (then tarwrite_data) or a directory. */
int tarwrite_entry(struct tarwrite *t, const char *name, bool dir, uint64_t size,
		   struct err *err);
/* Writes all of p (after a file's header). */
int tarwrite_data(struct tarwrite *t, const void *p, size_t n, struct err *err);
/* A whole file from memory. */
int tarwrite_mem(struct tarwrite *t, const char *name, const void *data, size_t len,
		 struct err *err);

#endif
