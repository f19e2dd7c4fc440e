/* fsutil: dirfd-relative file-system helpers. Nothing here follows a
 * symlink unless the name says so; every fd is O_CLOEXEC. */
#ifndef AIRLOCK_LIB_FSUTIL_H
#define AIRLOCK_LIB_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "lib/err.h"

/* openat2(2) with the given RESOLVE_* flags (O_CLOEXEC always added).
 * Returns the fd or -errno; err names path. */
int fs_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve,
	       struct err *err);

/* Opens path beneath dirfd: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, and
 * RESOLVE_NO_SYMLINKS too when no_symlinks. */
int fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode, int no_symlinks,
		    struct err *err);

/* Writes all of data to fd, retrying on EINTR and short writes. -errno. */
int fs_write_all(int fd, const void *data, size_t len);

/* Reads fd to EOF into out (appending); fails with -EFBIG past max bytes. */
int fs_read_fd(int fd, size_t max, struct buf *out, struct err *err);

/* Reads dirfd/name (no symlink following) into out. */
int fs_read_file_at(int dirfd, const char *name, size_t max, struct buf *out, struct err *err);

/* Atomically replaces dirfd/name: temp file in the same directory (O_EXCL),
 * write, fsync, rename, fsync the directory. name has no '/'. */
int fs_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 struct err *err);

/* Replaces the file at path atomically with what fill writes to fd: a temp
 * file beside it (".NAME.tmp-RANDOM", O_EXCL, 0644), fsync, rename, fsync
 * the directory. The temp file is removed on any failure. For files too
 * large to hold in memory (fs_write_file_atomic takes a buffer). */
int fs_write_path_atomic(const char *path, int (*fill)(int fd, void *userdata, struct err *err),
			 void *userdata, struct err *err);

/* A directory entry as fs_read_names lists it. */
struct fs_name {
	char *name;
	unsigned char type; /* d_type */
};

/* Lists the names in dfd (not "." and ".."), sorted bytewise, into *ret
 * (free with fs_names_free). Reads from the start through a dup of dfd,
 * which shares its offset: dfd is left at the end. path names it in
 * messages. -errno. */
int fs_read_names(int dfd, const char *path, struct fs_name **ret, size_t *ret_n, struct err *err);
void fs_names_free(struct fs_name *v, size_t n);

/* Creates every missing component of path beneath dirfd (no symlinks
 * followed). Existing directories are fine. */
int fs_mkdir_p(int dirfd, const char *path, mode_t mode, struct err *err);

/* Removes dirfd/name recursively without following symlinks; ENOENT is
 * success. Makes directories writable as needed (checkouts are 0555). */
int fs_rm_rf_at(int dirfd, const char *name, struct err *err);

/* fsync(dirfd); -errno. */
int fs_fsync(int fd);

/* A random lowercase hex string of n chars (n < 64) into out[n+1]. */
void fs_random_hex(char *out, size_t n);

#endif
