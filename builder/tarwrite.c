/* tarwrite: deterministic tar entries (see tarwrite.h). */
#include "builder/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>

int tarwrite_entry(struct tarwrite *t, const char *name, bool dir, uint64_t size,
		   struct err *err)
{
	archive_entry_clear(t->e);
	archive_entry_copy_pathname(t->e, name);
	archive_entry_set_mode(t->e, dir ? AE_IFDIR | 0755 : AE_IFREG | 0644);
	archive_entry_set_size(t->e, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(t->e, t->mtime, 0);
	archive_entry_set_uid(t->e, 0);
	archive_entry_set_gid(t->e, 0);
	if (archive_write_header(t->a, t->e) != ARCHIVE_OK)
		return err_set(err, -EIO, "write '%s': %s", t->path,
			       archive_error_string(t->a) ?: "archive error");
	return 0;
}

int tarwrite_data(struct tarwrite *t, const void *p, size_t n, struct err *err)
{
	while (n) {
		la_ssize_t k = archive_write_data(t->a, p, n);
		if (k <= 0)
			return err_set(err, -EIO, "write '%s': %s", t->path,
				       archive_error_string(t->a) ?: "archive error");
		p = (const char *)p + k;
		n -= (size_t)k;
	}
	return 0;
}

int tarwrite_mem(struct tarwrite *t, const char *name, const void *data, size_t len,
		 struct err *err)
{
	int r = tarwrite_entry(t, name, false, len, err);
	return r < 0 ? r : tarwrite_data(t, data, len, err);
}
