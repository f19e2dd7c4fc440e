/* archive-util: cleanup helpers for libarchive handles, shared by the
 * builder's tar, ar and OCI code.
 *
 *   _cleanup_(archive_read_freep)  struct archive *      archive_read_free
 *   _cleanup_(archive_write_freep) struct archive *      archive_write_free
 *   _cleanup_(archive_entry_freep) struct archive_entry * archive_entry_free
 *
 * Each is a no-op on NULL; hand ownership on with TAKE_PTR (lib/macros.h).
 * archive_write_free also closes the archive, so a writer whose output must
 * be complete is closed explicitly (and its result checked) before the
 * cleanup runs. */
#ifndef AIRLOCK_BUILDER_ARCHIVE_UTIL_H
#define AIRLOCK_BUILDER_ARCHIVE_UTIL_H

#include <archive.h>
#include <archive_entry.h>

#include "lib/macros.h"

DEFINE_CLEANUP_FUNC(struct archive, archive_read_free)
DEFINE_CLEANUP_FUNC(struct archive, archive_write_free)
DEFINE_CLEANUP_FUNC(struct archive_entry, archive_entry_free)

#endif
