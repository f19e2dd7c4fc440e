/* fsutil: dirfd-relative file-system helpers used by the store, the
 * snapshotter and apply. Paths that may come from an agent only ever reach
 * the kernel through openat2 with RESOLVE_BENEATH. */
#include "lib/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/macros.h"
#include "lib/xalloc.h"

int fs_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve,
	       struct err *err)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = resolve,
	};
	long fd;
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return err_errno(err, "open '%s'", path);
	return (int)fd;
}

int fs_open_beneath(int dirfd, const char *path, int flags, mode_t mode, int no_symlinks,
		    struct err *err)
{
	uint64_t resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	if (no_symlinks)
		resolve |= RESOLVE_NO_SYMLINKS;
	return fs_openat2(dirfd, path, flags, mode, resolve, err);
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_read_fd(int fd, size_t max, struct buf *out, struct err *err)
{
	size_t start = out->len;
	for (;;) {
		char chunk[65536];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_errno(err, "read");
		}
		if (n == 0)
			return 0;
		if (out->len - start + (size_t)n > max)
			return err_set(err, -EFBIG, "file larger than %zu bytes", max);
		buf_append(out, chunk, (size_t)n);
	}
}

int fs_read_file_at(int dirfd, const char *name, size_t max, struct buf *out, struct err *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return err_errno(err, "open '%s'", name);
	int r = fs_read_fd(fd, max, out, err);
	if (r < 0)
		return err_prefix(err, "'%s'", name);
	return 0;
}

void fs_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	if (n > 63)
		n = 63;
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		/* getrandom on a booted kernel does not fail for 32 bytes; fall
		 * back to a pid/time mix only to stay total. */
		for (size_t i = 0; i < sizeof raw; i++)
			raw[i] = (unsigned char)(getpid() * 31 + (int)i * 7 + rand());
	}
	for (size_t i = 0; i < n; i++)
		out[i] = hex[(raw[i / 2] >> ((i & 1) * 4)) & 15];
	out[n] = '\0';
}

int fs_fsync(int fd)
{
	return fsync(fd) < 0 ? -errno : 0;
}

int fs_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 struct err *err)
{
	char tmp[96];
	char rnd[17];
	fs_random_hex(rnd, 16);
	snprintf(tmp, sizeof tmp, ".tmp-%s", rnd);
	_cleanup_close_ int fd =
		openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return err_errno(err, "create temporary file for '%s'", name);
	int r = fs_write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0)
		r = fs_fsync(fd);
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return err_code(err, r, "write '%s'", name);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = err_errno(err, "rename into '%s'", name);
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if ((r = fs_fsync(dirfd)) < 0)
		return err_code(err, r, "fsync directory of '%s'", name);
	return 0;
}

int fs_write_path_atomic(const char *path, int (*fill)(int fd, void *userdata, struct err *err),
			 void *userdata, struct err *err)
{
	_cleanup_free_ char *d1 = xstrdup(path), *d2 = xstrdup(path);
	const char *dir = dirname(d1), *base = basename(d2);
	if (!*base || !strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, ".."))
		return err_set(err, -EINVAL, "'%s' is not a file name", path);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_errno(err, "open directory '%s'", dir);
	char rnd[17];
	fs_random_hex(rnd, 16);
	_cleanup_free_ char *tmp = xasprintf(".%s.tmp-%s", base, rnd);
	_cleanup_close_ int fd =
		openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_errno(err, "create '%s/%s'", dir, tmp);
	int r = fill(fd, userdata, err);
	if (r >= 0 && fsync(fd) < 0)
		r = err_errno(err, "fsync '%s'", path);
	if (r >= 0) {
		if (renameat(dfd, tmp, dfd, base) < 0)
			r = err_errno(err, "rename to '%s'", path);
		else if (fs_fsync(dfd) < 0)
			r = err_errno(err, "fsync the directory of '%s'", path);
		else
			return 0;
	}
	unlinkat(dfd, tmp, 0);
	return r;
}

static int cmp_fs_name(const void *a, const void *b)
{
	return strcmp(((const struct fs_name *)a)->name, ((const struct fs_name *)b)->name);
}

void fs_names_free(struct fs_name *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int fs_read_names(int dfd, const char *path, struct fs_name **ret, size_t *ret_n, struct err *err)
{
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return err_errno(err, "'%s': dup", path);
	DIR *dir = fdopendir(dup);
	if (!dir) {
		close(dup);
		return err_errno(err, "'%s': opendir", path);
	}
	/* The dup shares the caller's file offset: start from the top. */
	rewinddir(dir);
	struct fs_name *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dir))) {
		const char *nm = de->d_name;
		if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
			continue;
		xgrow(&v, &cap, n + 1, sizeof *v);
		v[n].name = xstrdup(nm);
		v[n].type = de->d_type;
		n++;
	}
	int r = errno ? err_errno(err, "'%s': readdir", path) : 0;
	closedir(dir);
	if (r < 0) {
		fs_names_free(v, n);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_fs_name);
	*ret = v;
	*ret_n = n;
	return 0;
}

int fs_mkdir_p(int dirfd, const char *path, mode_t mode, struct err *err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_close_ int cur = -1;
	if (path[0] == '/')
		cur = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (dirfd == AT_FDCWD)
		cur = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else
		cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return err_errno(err, "mkdir '%s': open start directory", path);
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, ".."))
			return err_set(err, -EINVAL, "mkdir '%s': '..' not allowed", path);
		if (mkdirat(cur, c, mode) < 0 && errno != EEXIST)
			return err_errno(err, "mkdir '%s'", path);
		int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return err_errno(err, "open directory '%s' (component '%s')", path, c);
		close(cur);
		cur = next;
	}
	return 0;
}

static int rm_rf_children(int dfd, struct err *err)
{
	int dup = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return err_errno(err, "dup");
	DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return err_errno(err, "opendir");
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = fs_rm_rf_at(dfd, de->d_name, err);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int fs_rm_rf_at(int dirfd, const char *name, struct err *err)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return err_errno(err, "remove '%s'", name);
	_cleanup_close_ int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(err, "open '%s'", name);
	}
	/* Checkouts are read-only; make the directory writable to empty it. */
	fchmod(dfd, 0700);
	int r = rm_rf_children(dfd, err);
	if (r < 0)
		return err_prefix(err, "'%s'", name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return err_errno(err, "rmdir '%s'", name);
	return 0;
}
