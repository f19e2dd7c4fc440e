/* capture: applies an overlayfs upper directory onto its base tree.
 *
 * The upper directory was written by an untrusted agent (through the
 * overlay), so it is walked like any hostile directory: dirfd-relative,
 * O_NOFOLLOW everywhere, depth bounded by TREE_DEPTH_MAX, names checked by
 * tree_set. Only the overlay's own markers are interpreted (whiteouts,
 * opaque directories, metacopy); the kernel refuses to let an unprivileged
 * writer set trusted.* xattrs, and a user.overlay.* marker forged by the
 * agent can only delete or hide paths of its own output, which is what the
 * agent could do anyway.
 */
#include "snapshot/capture.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

enum {
	OVL_WHITEOUT = 1 << 0,
	OVL_OPAQUE = 1 << 1,
	OVL_METACOPY = 1 << 2,
	OVL_REDIRECT = 1 << 3,
};

struct capture {
	struct store *s;
	struct tree *t;
	const struct tree_import_opts *opts;
	struct buf path; /* relative path of the current entry */
	struct digest empty;
	bool have_empty;
};

static void note(struct capture *c, const char *what)
{
	if (c->opts && c->opts->note)
		c->opts->note(c->path.data, what, c->opts->userdata);
}

/* Reads the overlay markers of an open file or directory. */
static int ovl_flags(struct capture *c, int fd, int *ret, struct err *err)
{
	char list[4096];
	*ret = 0;
	ssize_t n = flistxattr(fd, list, sizeof list);
	if (n < 0) {
		if (errno == ENOTSUP)
			return 0;
		if (errno != ERANGE)
			return err_errno(err, "list xattrs of '%s'", c->path.data);
		/* Long lists are not written by overlayfs: treat as hostile. */
		return err_set(err, -E2BIG, "'%s': too many extended attributes", c->path.data);
	}
	for (char *p = list; p < list + n; p += strlen(p) + 1) {
		const char *name = p;
		if (!strncmp(name, "trusted.overlay.", 16))
			name += 16;
		else if (!strncmp(name, "user.overlay.", 13))
			name += 13;
		else
			continue;
		if (!strcmp(name, "whiteout"))
			*ret |= OVL_WHITEOUT;
		else if (!strcmp(name, "metacopy"))
			*ret |= OVL_METACOPY;
		else if (!strcmp(name, "redirect"))
			*ret |= OVL_REDIRECT;
		else if (!strcmp(name, "opaque")) {
			/* "y": opaque. "x" (6.7+) only marks a directory holding
			 * xattr whiteouts, and is not opaque. */
			char v[4];
			ssize_t m = fgetxattr(fd, p, v, sizeof v);
			if (m == 1 && v[0] == 'y')
				*ret |= OVL_OPAQUE;
		}
	}
	return 0;
}

static void set_owner(struct capture *c, const struct stat *st, struct tree_attr *a)
{
	tree_owner_from_stat(c->opts, st, a);
}

static void set_perm(struct capture *c, const struct stat *st, struct tree_attr *a)
{
	tree_perm_from_stat(c->opts, st, c->path.data, a);
}

/* Deletes the path from the tree; absent is fine (a whiteout over a path
 * that only a lower layer below the base held). */
static int delete_path(struct capture *c, struct err *err)
{
	struct err e2 = {0};
	int r = tree_remove(c->t, c->s, c->path.data, &e2);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0) {
		*err = e2;
		return r;
	}
	return 0;
}

static int capture_dir(struct capture *c, int dfd, int depth, struct err *err);

static int capture_file(struct capture *c, int fd, const struct stat *st, struct err *err)
{
	int flags;
	int r = ovl_flags(c, fd, &flags, err);
	if (r < 0)
		return r;
	if (flags & OVL_REDIRECT)
		return err_set(err, -EOPNOTSUPP,
			       "'%s': renamed by overlayfs redirect (mount with redirect_dir=off)",
			       c->path.data);
	if ((flags & OVL_WHITEOUT) && st->st_size == 0)
		return delete_path(c, err);
	struct tree_attr a = {.type = TREE_FILE};
	set_perm(c, st, &a);
	set_owner(c, st, &a);
	if (flags & OVL_METACOPY) {
		/* Attributes copied up, data still the lower's (metacopy=on). */
		struct tree_attr base;
		r = tree_get(c->t, c->s, c->path.data, &base, err);
		if (r < 0 || base.type != TREE_FILE)
			return err_set(err, -EBADMSG, "'%s': metacopy file without a base file",
				       c->path.data);
		a.digest = base.digest;
		a.size = base.size;
	} else if (st->st_size == 0) {
		if (!c->have_empty) {
			if ((r = store_put(c->s, "", 0, &c->empty, err)) < 0)
				return r;
			c->have_empty = true;
		}
		a.digest = c->empty;
	} else if ((r = store_put_fd(c->s, fd, &a.digest, &a.size, err)) < 0) {
		return err_prefix(err, "'%s'", c->path.data);
	}
	return tree_set(c->t, c->s, c->path.data, &a, err);
}

static int capture_entry(struct capture *c, int dfd, const char *name, int depth, struct err *err)
{
	struct stat st;
	int r;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_errno(err, "stat '%s'", c->path.data);
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd =
			openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return err_errno(err, "open '%s'", c->path.data);
		struct stat st2;
		if (fstat(fd, &st2) < 0)
			return err_errno(err, "stat '%s'", c->path.data);
		if (!S_ISREG(st2.st_mode) || st2.st_ino != st.st_ino)
			return err_set(err, -EAGAIN, "'%s' changed while being captured", c->path.data);
		return capture_file(c, fd, &st2, err);
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth + 1 > TREE_DEPTH_MAX)
			return err_set(err, -ELOOP, "'%.200s': nested deeper than %d directories",
				       c->path.data, TREE_DEPTH_MAX);
		_cleanup_close_ int fd =
			openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY);
		if (fd < 0)
			return err_errno(err, "open directory '%s'", c->path.data);
		int flags;
		if ((r = ovl_flags(c, fd, &flags, err)) < 0)
			return r;
		if (flags & OVL_REDIRECT)
			return err_set(err, -EOPNOTSUPP,
				       "'%s': directory renamed by overlayfs redirect (mount with "
				       "redirect_dir=off)",
				       c->path.data);
		struct tree_attr a = {.type = TREE_DIR};
		set_perm(c, &st, &a);
		set_owner(c, &st, &a);
		/* Over a base directory this keeps the children (a merged
		 * directory); over anything else it starts empty. */
		if ((r = tree_set(c->t, c->s, c->path.data, &a, err)) < 0)
			return r;
		if ((flags & OVL_OPAQUE) && (r = tree_clear_dir(c->t, c->s, c->path.data, err)) < 0)
			return r;
		return capture_dir(c, fd, depth + 1, err);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[4097];
		ssize_t n = readlinkat(dfd, name, target, sizeof target);
		if (n < 0)
			return err_errno(err, "readlink '%s'", c->path.data);
		if (n == 0 || n > 4095)
			return err_set(err, -ENAMETOOLONG, "symlink '%s': target length not in 1..4095",
				       c->path.data);
		struct tree_attr a = {.type = TREE_SYMLINK, .perm = 0777, .size = (uint64_t)n};
		set_owner(c, &st, &a);
		if ((r = store_put(c->s, target, (size_t)n, &a.digest, err)) < 0)
			return r;
		return tree_set(c->t, c->s, c->path.data, &a, err);
	}
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
		return delete_path(c, err); /* the classic whiteout */
	/* A special file the tree cannot hold still hides the base's entry. */
	if (S_ISFIFO(st.st_mode))
		note(c, "fifo skipped");
	else if (S_ISSOCK(st.st_mode))
		note(c, "socket skipped");
	else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		note(c, "device node skipped");
	else
		note(c, "unknown file type skipped");
	return delete_path(c, err);
}

static int capture_dir(struct capture *c, int dfd, int depth, struct err *err)
{
	/* Names first, then entries: the walk holds one DIR per level only
	 * while listing it. */
	struct fs_name *names = NULL;
	size_t n = 0;
	int r = fs_read_names(dfd, c->path.data, &names, &n, err);
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t mark = c->path.len;
		if (c->path.len)
			buf_putc(&c->path, '/');
		buf_puts(&c->path, names[i].name);
		r = capture_entry(c, dfd, names[i].name, depth, err);
		c->path.len = mark;
		c->path.data[mark] = '\0';
	}
	fs_names_free(names, n);
	return r;
}

/* Whether the directory dfd has no entries. */
static int dir_empty(int dfd, bool *ret, struct err *err)
{
	_cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(err, "open the upper dir");
	char buf[1024];
	ssize_t n;
	*ret = false;
	while ((n = getdents64(fd, buf, sizeof buf)) > 0)
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *de = (const void *)(buf + off);
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				return 0;
			off += de->d_reclen;
		}
	if (n < 0)
		return err_errno(err, "read the upper dir");
	*ret = true;
	return 0;
}

int capture_upper(struct store *s, const struct digest *base, int upper_dfd,
		  const struct tree_import_opts *opts, struct digest *ret, struct err *err)
{
	struct capture c = {.s = s, .opts = opts, .path = BUF_INIT};
	buf_puts(&c.path, "");
	_cleanup_(tree_freep) struct tree *t = NULL;
	int flags = 0;
	bool empty = false;
	int r = ovl_flags(&c, upper_dfd, &flags, err);
	/* The common case of a run that wrote nothing there (no entries, not
	 * opaque): the base, as is, without loading it. */
	if (r >= 0 && !(flags & OVL_OPAQUE))
		r = dir_empty(upper_dfd, &empty, err);
	if (r >= 0 && empty) {
		buf_release(&c.path);
		*ret = *base;
		return 0;
	}
	if (r >= 0 && (r = tree_load(s, base, &t, err)) < 0) {
		buf_release(&c.path);
		return err_prefix(err, "capture: base");
	}
	c.t = t;
	if (r >= 0 && (flags & OVL_OPAQUE))
		r = tree_clear_dir(t, s, "", err);
	if (r >= 0)
		r = capture_dir(&c, upper_dfd, 1, err);
	buf_release(&c.path);
	if (r < 0)
		return err_prefix(err, "capture");
	return tree_write(t, s, ret, err);
}
