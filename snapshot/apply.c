/* apply: accepted changes into the host workspace (contract in apply.h).
 *
 * The changeset is agent output, the workspace belongs to the user, and
 * the user may have edited it during the run. So: plan everything, check
 * the whole plan against the host, journal it, then write. Every host
 * access goes through openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS on
 * the workspace dirfd, for the parent directory, followed by an *at() call
 * on the final name with no following (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW,
 * unlinkat and renameat never follow the last component). That closes the
 * classic apply escapes: a host directory swapped for a symlink to /etc
 * (ELOOP: conflict), an agent symlink "a -> /etc" followed by a write to
 * "a/passwd" (refused in planning), absolute or ".." names (refused).
 *
 * The walk is iterative: one openat2 per operation resolves its parent,
 * creating missing directories walks components with at most two fds
 * open, and a directory removal removes only what the plan lists, one
 * entry at a time, children first. Nothing recurses per directory level.
 *
 * Order: removals children-first (reverse bytewise path order, in which a
 * directory comes after everything below it), then creations and
 * replacements parents-first, then directory permissions children-first
 * (new directories are made 0700 so they can be filled whatever their
 * final mode). Between the conflict check and the write a concurrent
 * writer can still change a file; new paths are placed with
 * RENAME_NOREPLACE so at least nothing that appeared is clobbered.
 */
#include "snapshot/apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

#define JOURNAL_DEFAULT "apply-journal.json"
#define TMP_PREFIX ".airlock-tmp-"

struct op {
	char *path;
	bool has_before, has_after;
	struct tree_attr before, after;
	size_t item; /* index in the report */
	size_t tmpidx; /* temp name ".airlock-tmp-<id>-<tmpidx>", kept in the journal */
	enum { ST_BEFORE, ST_AFTER, ST_OTHER } state;
};

struct plan {
	struct op *ops; /* sorted by path */
	size_t n, cap;
	char id[17];
};

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ops[i].path);
	free(p->ops);
	p->ops = NULL;
	p->n = p->cap = 0;
}

void apply_report_release(struct apply_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->items[i].path);
		free(rep->items[i].detail);
	}
	free(rep->items);
	*rep = (struct apply_report){0};
}

const char *apply_status_name(enum apply_status st)
{
	static const char *const names[] = {
		[APPLY_DONE] = "done",         [APPLY_ALREADY] = "already",
		[APPLY_CONFLICT] = "conflict", [APPLY_REJECTED] = "rejected",
		[APPLY_HELD] = "held",         [APPLY_NEVER] = "never",
		[APPLY_FILTERED] = "filtered", [APPLY_PENDING] = "pending",
		[APPLY_UNKNOWN] = "unknown",
	};
	return (unsigned)st < ARRAY_SIZE(names) ? names[st] : "?";
}

static size_t report_add(struct apply_report *rep, const char *path, enum apply_status st,
			 char *detail)
{
	xgrow(&rep->items, &rep->cap, rep->n + 1, sizeof *rep->items);
	rep->items[rep->n] = (struct apply_item){xstrdup(path), st, detail};
	return rep->n++;
}

static void report_set(struct apply_report *rep, size_t i, enum apply_status st, char *detail)
{
	rep->items[i].status = st;
	free(rep->items[i].detail);
	rep->items[i].detail = detail;
	if (st == APPLY_CONFLICT)
		rep->n_conflicts++;
	else if (st == APPLY_ALREADY)
		rep->n_already++;
	else if (st == APPLY_UNKNOWN)
		rep->n_unknown++;
}

/* ---- paths ---- */

int apply_path_check(const char *path, struct err *err)
{
	size_t len = strlen(path), depth = 0;
	if (len == 0 || len > TREE_PATH_MAX)
		return err_set(err, -EINVAL, "refusing path of %zu bytes", len);
	if (path[0] == '/')
		return err_set(err, -EINVAL, "refusing absolute path '%s'", path);
	for (const char *c = path; *c;) {
		const char *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return err_set(err, -EINVAL, "refusing path '%s': empty, '.' or '..' component",
				       path);
		if (n > TREE_NAME_MAX)
			return err_set(err, -EINVAL, "refusing path '%s': component too long", path);
		if (++depth >= TREE_DEPTH_MAX)
			return err_set(err, -EINVAL, "refusing path '%.64s...': deeper than %d levels",
				       path, TREE_DEPTH_MAX - 1);
		c = *e ? e + 1 : e;
		if (*e && !*c)
			return err_set(err, -EINVAL, "refusing path '%s': trailing '/'", path);
	}
	return 0;
}

static bool path_matches(const char *path, const struct apply_opts *o)
{
	if (!o->npaths)
		return true;
	for (size_t i = 0; i < o->npaths; i++) {
		const char *f = o->paths[i];
		size_t n = strlen(f);
		while (n > 0 && f[n - 1] == '/')
			n--;
		if (n == 0 || (!strncmp(path, f, n) && (path[n] == 0 || path[n] == '/')))
			return true;
	}
	return false;
}

static long plan_find(const struct plan *p, const char *path, size_t len)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *q = p->ops[mid].path;
		int c = strncmp(q, path, len);
		if (c == 0 && q[len])
			c = 1;
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int op_cmp(const void *a, const void *b)
{
	return strcmp(((const struct op *)a)->path, ((const struct op *)b)->path);
}

static const char *type_name(const struct tree_attr *a, bool has)
{
	if (!has)
		return "absent";
	return a->type == TREE_FILE ? "file" : a->type == TREE_DIR ? "directory" : "symlink";
}

/* ---- host state ---- */

struct host {
	bool present;
	struct tree_attr a;
	char *what; /* malloc'ed: why the state is unusable (special file, ...) */
};

static void host_release(struct host *h)
{
	free(h->what);
	h->what = NULL;
}

static int hash_fd(int fd, struct digest *ret)
{
	struct hasher *h = hasher_new();
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			hasher_free(h);
			return r;
		}
		if (n == 0)
			break;
		hasher_update(h, chunk, (size_t)n);
	}
	hasher_final(h, ret);
	hasher_free(h);
	return 0;
}

/* Splits path into its parent (malloc'ed, "" for the top) and last name. */
static char *split_parent(const char *path, const char **ret_name)
{
	const char *slash = strrchr(path, '/');
	*ret_name = slash ? slash + 1 : path;
	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
}

/* Opens the parent directory of path beneath ws, no symlinks. */
static int open_parent(int ws, const char *path, const char **ret_name, struct err *err)
{
	_cleanup_free_ char *parent = split_parent(path, ret_name);
	if (!*parent)
		return fs_open_beneath(ws, ".", O_PATH | O_DIRECTORY, 0, 1, err);
	return fs_open_beneath(ws, parent, O_PATH | O_DIRECTORY, 0, 1, err);
}

/* Reads the host state at path. A parent that is missing makes the path
 * absent; a parent that is a symlink or not a directory makes it
 * unusable (h->what), except where the plan itself replaces that ancestor
 * by a directory (then the path is absent for now). */
static int host_read(int ws, const struct plan *p, const char *path, struct host *h,
		     struct err *err)
{
	*h = (struct host){0};
	const char *name;
	struct err e2 = {0};
	_cleanup_close_ int pfd = open_parent(ws, path, &name, &e2);
	if (pfd == -ENOENT)
		return 0;
	if (pfd == -ELOOP || pfd == -ENOTDIR || pfd == -EXDEV) {
		for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
			long i = plan_find(p, path, (size_t)(s - path));
			if (i >= 0 && p->ops[i].has_after && p->ops[i].after.type == TREE_DIR &&
			    (!p->ops[i].has_before || p->ops[i].before.type != TREE_DIR))
				return 0;
		}
		h->what = xstrdup(pfd == -ENOTDIR ? "a parent directory is not a directory on the host"
						  : "a parent directory is a symlink on the host");
		return 0;
	}
	if (pfd < 0) {
		*err = e2;
		return pfd;
	}
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(err, "stat '%s'", path);
	}
	h->present = true;
	h->a.perm = st.st_mode & 0777;
	h->a.uid = st.st_uid;
	h->a.gid = st.st_gid;
	if (S_ISREG(st.st_mode)) {
		h->a.type = TREE_FILE;
		h->a.size = (uint64_t)st.st_size;
		_cleanup_close_ int fd =
			fs_open_beneath(pfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0,
					1, err);
		if (fd < 0)
			return err_prefix(err, "hash host file '%s'", path);
		int r = hash_fd(fd, &h->a.digest);
		if (r < 0)
			return err_code(err, r, "read host file '%s'", path);
	} else if (S_ISLNK(st.st_mode)) {
		char target[TREE_PATH_MAX + 1];
		ssize_t n = readlinkat(pfd, name, target, sizeof target);
		if (n < 0)
			return err_errno(err, "readlink '%s'", path);
		h->a.type = TREE_SYMLINK;
		h->a.perm = 0777;
		h->a.size = (uint64_t)n;
		digest_buffer(target, (size_t)n, &h->a.digest);
	} else if (S_ISDIR(st.st_mode)) {
		h->a.type = TREE_DIR;
	} else {
		h->what = xstrdup("a device, fifo or socket on the host");
	}
	return 0;
}

static bool attr_match(const struct host *h, bool has, const struct tree_attr *a, bool dir_loose)
{
	if (h->what)
		return false;
	if (h->present != has)
		return false;
	if (!has)
		return true;
	if (h->a.type != a->type)
		return false;
	switch (a->type) {
	case TREE_DIR:
		return dir_loose || h->a.perm == (a->perm & 0777);
	case TREE_FILE:
		return h->a.perm == (a->perm & 0777) && digest_equal(&h->a.digest, &a->digest);
	case TREE_SYMLINK:
		return digest_equal(&h->a.digest, &a->digest);
	}
	return false;
}

static char *describe(const struct host *h, const struct op *o)
{
	if (h->what)
		return xstrdup(h->what);
	if (!h->present)
		return xasprintf("expected %s, the host has nothing there",
				 type_name(&o->before, o->has_before));
	if (!o->has_before)
		return xasprintf("the host has a %s where the change adds one",
				 type_name(&h->a, true));
	if (h->a.type != o->before.type)
		return xasprintf("expected %s, the host has a %s", type_name(&o->before, true),
				 type_name(&h->a, true));
	if (o->before.type != TREE_SYMLINK && h->a.perm != (o->before.perm & 0777) &&
	    (o->before.type == TREE_DIR || digest_equal(&h->a.digest, &o->before.digest)))
		return xasprintf("mode changed on the host (%04o, expected %04o)", h->a.perm,
				 o->before.perm & 0777);
	return xstrdup("content changed on the host since the snapshot");
}

/* A directory to remove may hold only entries the plan removes. */
static int check_dir_empties(int ws, const struct plan *p, const struct op *o, char **ret_why,
			     struct err *err)
{
	*ret_why = NULL;
	_cleanup_close_ int fd =
		fs_open_beneath(ws, o->path, O_RDONLY | O_DIRECTORY, 0, 1, err);
	if (fd < 0)
		return err_prefix(err, "list host directory");
	DIR *dir = fdopendir(fd);
	if (!dir)
		return err_errno(err, "list host directory '%s'", o->path);
	fd = -1;
	size_t plen = strlen(o->path);
	struct dirent *de;
	int r = 0;
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *child = xasprintf("%.*s/%s", (int)plen, o->path, de->d_name);
		long i = plan_find(p, child, strlen(child));
		if (i < 0 || p->ops[i].has_after) {
			*ret_why = xasprintf("directory to remove holds '%s', which is not removed",
					     de->d_name);
			break;
		}
	}
	closedir(dir);
	return r;
}

/* ---- journal ---- */

static json_t *attr_json(bool has, const struct tree_attr *a)
{
	if (!has)
		return json_null();
	char d[DIGEST_STR_SIZE];
	digest_to_str(&a->digest, d);
	char t[2] = {(char)a->type, 0};
	return json_pack("{s:s,s:I,s:I,s:s}", "type", t, "perm", (json_int_t)a->perm, "size",
			 (json_int_t)a->size, "digest", d);
}

static int attr_from_json(json_t *j, bool *has, struct tree_attr *a)
{
	*a = (struct tree_attr){0};
	if (json_is_null(j)) {
		*has = false;
		return 0;
	}
	const char *t, *d;
	json_int_t perm, size;
	if (json_unpack(j, "{s:s,s:I,s:I,s:s}", "type", &t, "perm", &perm, "size", &size, "digest",
			&d) < 0)
		return -EBADMSG;
	if (strlen(t) != 1 || !strchr("fdl", t[0]) || perm < 0 || perm > 0777 || size < 0 ||
	    digest_parse(d, &a->digest) < 0)
		return -EBADMSG;
	*has = true;
	a->type = (enum tree_type)t[0];
	a->perm = (uint32_t)perm;
	a->size = (uint64_t)size;
	return 0;
}

static void hex_path(json_t *o, const char *path)
{
	size_t len = strlen(path);
	_cleanup_free_ char *hex = xmalloc(len * 2 + 1);
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)path[i]);
	json_object_set_new(o, "path_hex", json_string(hex));
}

static int journal_write(const struct plan *p, const struct changeset *cs, int dfd,
			 const char *name, struct err *err)
{
	json_t *ops = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];
		if (o->state != ST_BEFORE)
			continue;
		json_t *j = json_object();
		json_object_set_new(j, "op", json_integer((json_int_t)o->tmpidx));
		hex_path(j, o->path);
		json_object_set_new(j, "before", attr_json(o->has_before, &o->before));
		json_object_set_new(j, "after", attr_json(o->has_after, &o->after));
		json_array_append_new(ops, j);
	}
	char b[DIGEST_STR_SIZE], u[DIGEST_STR_SIZE];
	digest_to_str(&cs->base, b);
	digest_to_str(&cs->out, u);
	json_t *root = json_pack("{s:i,s:s,s:s,s:s,s:o}", "version", 1, "id", p->id, "base", b,
				 "out", u, "ops", ops);
	char *s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(root);
	int r = fs_write_file_atomic(dfd, name, s, strlen(s), 0600, err);
	free(s);
	return r < 0 ? err_prefix(err, "write apply journal") : 0;
}

static int unhex_path(const char *h, char **ret)
{
	size_t n = strlen(h);
	if (n == 0 || n % 2)
		return -EBADMSG;
	char *out = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1 || v == 0) {
			free(out);
			return -EBADMSG;
		}
		out[i] = (char)v;
	}
	out[n / 2] = 0;
	*ret = out;
	return 0;
}

static int journal_read(int dfd, const char *name, const struct changeset *cs, struct plan *p,
			struct err *err)
{
	struct buf b = BUF_INIT;
	int r = fs_read_file_at(dfd, name, 256u << 20, &b, err);
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	json_error_t je;
	json_t *root = json_loadb(b.data, b.len, 0, &je);
	buf_release(&b);
	const char *id, *base, *out;
	json_t *ops;
	struct digest db, dout;
	if (!root || json_unpack(root, "{s:s,s:s,s:s,s:o}", "id", &id, "base", &base, "out", &out,
				 "ops", &ops) < 0 ||
	    strlen(id) != 16 || digest_parse(base, &db) < 0 || digest_parse(out, &dout) < 0 ||
	    !json_is_array(ops)) {
		json_decref(root);
		return err_set(err, -EBADMSG, "apply journal '%s' is malformed", name);
	}
	if (!digest_equal(&db, &cs->base) || !digest_equal(&dout, &cs->out)) {
		json_decref(root);
		return err_set(err, -EBUSY,
				"apply journal '%s' belongs to another changeset; finish or remove it",
				name);
	}
	memcpy(p->id, id, 17);
	size_t i;
	json_t *j;
	r = 0;
	json_array_foreach(ops, i, j)
	{
		struct op o = {0};
		const char *ph = json_string_value(json_object_get(j, "path_hex"));
		json_int_t idx = json_integer_value(json_object_get(j, "op"));
		o.tmpidx = (size_t)idx;
		if (!ph || idx < 0 || unhex_path(ph, &o.path) < 0 ||
		    attr_from_json(json_object_get(j, "before"), &o.has_before, &o.before) < 0 ||
		    attr_from_json(json_object_get(j, "after"), &o.has_after, &o.after) < 0 ||
		    apply_path_check(o.path, NULL) < 0 || changeset_is_git_path(o.path)) {
			free(o.path);
			r = err_set(err, -EBADMSG, "apply journal '%s': bad op %zu", name, i);
			break;
		}
		xgrow(&p->ops, &p->cap, p->n + 1, sizeof *p->ops);
		p->ops[p->n++] = o;
	}
	json_decref(root);
	return r;
}

/* ---- writing ---- */

static void tmp_name(char *out, size_t size, const struct plan *p, size_t i)
{
	snprintf(out, size, TMP_PREFIX "%s-%zu", p->id, p->ops[i].tmpidx);
}

/* Opens (creating missing directories 0755) the parent of path. Walks one
 * component at a time with at most two fds open. */
static int ensure_parent(int ws, const char *path, const char **ret_name, struct err *err)
{
	int fd = open_parent(ws, path, ret_name, err);
	if (fd != -ENOENT)
		return fd < 0 ? err_prefix(err, "apply '%s'", path) : fd;
	_cleanup_free_ char *parent = split_parent(path, ret_name);
	_cleanup_close_ int cur = fs_open_beneath(ws, ".", O_PATH | O_DIRECTORY, 0, 1, err);
	if (cur < 0)
		return cur;
	char *save = NULL;
	for (char *c = strtok_r(parent, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
			return err_errno(err, "apply '%s': create parent directory '%s'", path, c);
		int next = fs_open_beneath(cur, c, O_PATH | O_DIRECTORY, 0, 1, err);
		if (next < 0)
			return err_prefix(err, "apply '%s'", path);
		close(cur);
		cur = next;
	}
	return TAKE_FD(cur);
}

static int chmod_nofollow(int pfd, const char *name, mode_t perm, const char *path,
			  struct err *err)
{
	/* fchmodat cannot refuse a symlink on Linux, and O_PATH fds refuse
	 * fchmod: go through /proc/self/fd of an O_PATH|O_NOFOLLOW fd after
	 * checking it is not a symlink. */
	_cleanup_close_ int fd = fs_open_beneath(pfd, name, O_PATH | O_NOFOLLOW, 0, 1, err);
	if (fd < 0)
		return err_prefix(err, "chmod '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_errno(err, "stat '%s'", path);
	if (S_ISLNK(st.st_mode))
		return err_set(err, -ELOOP, "chmod '%s': is a symlink", path);
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if (chmod(proc, perm & 0777) == 0)
		return 0;
	_cleanup_close_ int rfd = fs_open_beneath(pfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0,
						  1, err);
	if (rfd < 0 || fchmod(rfd, perm & 0777) < 0)
		return err_errno(err, "chmod '%s'", path);
	return 0;
}

/* Moves tmp onto name according to what the host has there now. */
static int place(int pfd, const char *tmp, const char *name, const struct op *o, bool tmp_is_dir,
		 struct err *err)
{
	if (!o->has_before) {
		if (renameat2(pfd, tmp, pfd, name, RENAME_NOREPLACE) < 0)
			return err_errno(err, "apply '%s': rename into place", o->path);
		return 0;
	}
	bool before_dir = o->before.type == TREE_DIR;
	if (!before_dir && !tmp_is_dir) {
		if (renameat(pfd, tmp, pfd, name) < 0)
			return err_errno(err, "apply '%s': rename into place", o->path);
		return 0;
	}
	/* A directory and a non-directory cannot replace each other by
	 * rename(2); exchange them atomically, then remove the old one. */
	if (renameat2(pfd, tmp, pfd, name, RENAME_EXCHANGE) < 0)
		return err_errno(err, "apply '%s': exchange", o->path);
	if (unlinkat(pfd, tmp, before_dir ? AT_REMOVEDIR : 0) < 0)
		return err_errno(err, "apply '%s': remove the old %s", o->path,
				 type_name(&o->before, true));
	return 0;
}

static int op_write(struct store *s, int ws, const struct plan *p, size_t i, struct err *err)
{
	const struct op *o = &p->ops[i];
	const char *name;
	if (!o->has_after) {
		_cleanup_close_ int pfd = open_parent(ws, o->path, &name, err);
		if (pfd == -ENOENT)
			return 0;
		if (pfd < 0)
			return err_prefix(err, "remove '%s'", o->path);
		if (unlinkat(pfd, name, o->before.type == TREE_DIR ? AT_REMOVEDIR : 0) < 0 &&
		    errno != ENOENT)
			return err_errno(err, "remove '%s'", o->path);
		return 0;
	}
	_cleanup_close_ int pfd = ensure_parent(ws, o->path, &name, err);
	if (pfd < 0)
		return pfd;
	if (o->has_before && o->before.type == o->after.type &&
	    (o->after.type == TREE_DIR ||
	     (o->after.type == TREE_FILE && digest_equal(&o->before.digest, &o->after.digest)) ||
	     (o->after.type == TREE_SYMLINK && digest_equal(&o->before.digest, &o->after.digest)))) {
		if (o->after.type == TREE_FILE)
			return chmod_nofollow(pfd, name, o->after.perm, o->path, err);
		return 0; /* directories: perms in the last phase */
	}
	char tmp[64];
	tmp_name(tmp, sizeof tmp, p, i);
	unlinkat(pfd, tmp, 0);
	int r;
	switch (o->after.type) {
	case TREE_FILE: {
		_cleanup_close_ int fd = fs_open_beneath(
			pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600, 1, err);
		if (fd < 0)
			return err_prefix(err, "apply '%s'", o->path);
		r = store_get_to_fd(s, &o->after.digest, fd, NULL, err);
		if (r >= 0 && fchmod(fd, o->after.perm & 0777) < 0)
			r = err_errno(err, "chmod");
		if (r >= 0 && fsync(fd) < 0)
			r = err_errno(err, "fsync");
		if (r < 0) {
			unlinkat(pfd, tmp, 0);
			return err_prefix(err, "apply '%s'", o->path);
		}
		break;
	}
	case TREE_SYMLINK: {
		_cleanup_buf_ struct buf t = BUF_INIT;
		r = store_get(s, &o->after.digest, TREE_PATH_MAX, &t, err);
		if (r < 0)
			return err_prefix(err, "apply '%s'", o->path);
		if (t.len == 0 || memchr(t.data, 0, t.len))
			return err_set(err, -EINVAL, "apply '%s': bad symlink target", o->path);
		if (symlinkat(t.data, pfd, tmp) < 0)
			return err_errno(err, "apply '%s': symlink", o->path);
		break;
	}
	case TREE_DIR:
		if (mkdirat(pfd, tmp, 0700) < 0)
			return err_errno(err, "apply '%s': mkdir", o->path);
		break;
	}
	r = place(pfd, tmp, name, o, o->after.type == TREE_DIR, err);
	if (r < 0) {
		unlinkat(pfd, tmp, o->after.type == TREE_DIR ? AT_REMOVEDIR : 0);
		return r;
	}
	return 0;
}

static int dir_perm(int ws, const struct op *o, struct err *err)
{
	const char *name;
	_cleanup_close_ int pfd = open_parent(ws, o->path, &name, err);
	if (pfd < 0)
		return err_prefix(err, "chmod '%s'", o->path);
	return chmod_nofollow(pfd, name, o->after.perm, o->path, err);
}

static void cleanup_tmps(int ws, const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *name;
		struct err e = {0};
		_cleanup_close_ int pfd = open_parent(ws, p->ops[i].path, &name, &e);
		if (pfd < 0)
			continue;
		char tmp[64];
		tmp_name(tmp, sizeof tmp, p, i);
		if (unlinkat(pfd, tmp, 0) < 0 && errno == EISDIR)
			unlinkat(pfd, tmp, AT_REMOVEDIR);
	}
}

/* Writes op k, marks it done in the report and reports progress. */
static int execute_op(struct store *s, int ws, const struct plan *p, size_t k,
		      const struct apply_opts *o, struct apply_report *rep, size_t *done,
		      size_t total, struct err *err)
{
	int r = op_write(s, ws, p, k, err);
	if (r < 0)
		return r;
	report_set(rep, p->ops[k].item, APPLY_DONE, NULL);
	rep->n_done++;
	if (o->progress)
		o->progress(++*done, total, o->userdata);
	return 0;
}

/* Runs every op in state ST_BEFORE, in the safe order. */
static int plan_execute(struct store *s, int ws, const struct plan *p, const struct apply_opts *o,
			struct apply_report *rep, struct err *err)
{
	size_t total = 0, done = 0;
	for (size_t i = 0; i < p->n; i++)
		total += p->ops[i].state == ST_BEFORE;
	for (size_t k = p->n; k-- > 0;) {
		const struct op *op = &p->ops[k];
		if (op->state != ST_BEFORE || op->has_after)
			continue;
		int r = execute_op(s, ws, p, k, o, rep, &done, total, err);
		if (r < 0)
			return r;
	}
	for (size_t k = 0; k < p->n; k++) {
		const struct op *op = &p->ops[k];
		if (op->state != ST_BEFORE || !op->has_after)
			continue;
		int r = execute_op(s, ws, p, k, o, rep, &done, total, err);
		if (r < 0)
			return r;
	}
	for (size_t k = p->n; k-- > 0;) {
		const struct op *op = &p->ops[k];
		if (op->state == ST_OTHER || !op->has_after || op->after.type != TREE_DIR)
			continue;
		int r = dir_perm(ws, op, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int sfd = fs_open_beneath(ws, ".", O_RDONLY | O_DIRECTORY, 0, 1, err);
	if (sfd < 0)
		return err_prefix(err, "sync workspace");
	if (syncfs(sfd) < 0)
		return err_errno(err, "sync workspace");
	return 0;
}

static int journal_remove(const struct apply_opts *o, const char *jname, struct err *err)
{
	if (o->journal_dfd < 0)
		return 0;
	if (unlinkat(o->journal_dfd, jname, 0) < 0 && errno != ENOENT)
		return err_errno(err, "remove apply journal '%s'", jname);
	_cleanup_close_ int fd = openat(o->journal_dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		fsync(fd);
	return 0;
}

static int resume(struct store *s, const struct changeset *cs, int ws, const struct apply_opts *o,
		  const char *jname, struct apply_report *rep, struct err *err)
{
	_cleanup_(plan_release) struct plan p = {0};
	int r = journal_read(o->journal_dfd, jname, cs, &p, err);
	if (r < 0)
		return r;
	rep->resumed = true;
	if (p.n)
		qsort(p.ops, p.n, sizeof *p.ops, op_cmp);
	for (size_t i = 0; i < p.n; i++) {
		struct op *op = &p.ops[i];
		struct host h;
		r = host_read(ws, &p, op->path, &h, err);
		if (r < 0)
			return r;
		op->item = report_add(rep, op->path, APPLY_PENDING, NULL);
		if (attr_match(&h, op->has_after, &op->after, true)) {
			op->state = ST_AFTER;
			report_set(rep, op->item, APPLY_ALREADY, NULL);
		} else if (attr_match(&h, op->has_before, &op->before, false)) {
			op->state = ST_BEFORE;
		} else {
			op->state = ST_OTHER;
			report_set(rep, op->item, APPLY_UNKNOWN,
				   xasprintf("host has %s, neither the old %s nor the new %s",
					     h.what ? h.what : type_name(&h.a, h.present),
					     type_name(&op->before, op->has_before),
					     type_name(&op->after, op->has_after)));
		}
		host_release(&h);
	}
	if (rep->n_unknown) {
		for (size_t i = 0; i < rep->n; i++)
			if (rep->items[i].status == APPLY_UNKNOWN)
				return err_set(err, -EUCLEAN,
					       "interrupted apply cannot be resumed: %zu path(s) in an "
					       "unknown state, first '%s': %s (journal '%s' kept)",
					       rep->n_unknown, rep->items[i].path,
					       rep->items[i].detail, jname);
	}
	if (o->check_only)
		return 0;
	cleanup_tmps(ws, &p);
	r = plan_execute(s, ws, &p, o, rep, err);
	if (r < 0)
		return r;
	return journal_remove(o, jname, err);
}

static int plan_add(struct plan *p, struct apply_report *rep, const char *path, bool has_before,
		    const struct tree_attr *before, bool has_after, const struct tree_attr *after,
		    size_t item)
{
	(void)rep;
	xgrow(&p->ops, &p->cap, p->n + 1, sizeof *p->ops);
	struct op *o = &p->ops[p->n++];
	*o = (struct op){.path = xstrdup(path), .has_before = has_before,
			 .has_after = has_after, .item = item};
	if (has_before)
		o->before = *before;
	if (has_after) {
		o->after = *after;
		o->after.perm &= 0777; /* setuid/setgid/sticky are never applied */
	}
	return 0;
}

int apply_changeset(struct store *s, const struct changeset *cs, const struct decisions *d,
		    int workspace_dfd, const struct apply_opts *opts, struct apply_report *rep,
		    struct err *err)
{
	const struct apply_opts dflt = {.journal_dfd = -1};
	const struct apply_opts *o = opts ? opts : &dflt;
	const char *jname = o->journal_name ? o->journal_name : JOURNAL_DEFAULT;
	int ws = workspace_dfd;
	int r;

	if (d && !decisions_match(d, cs))
		return err_set(err, -EINVAL, "the review decisions belong to another changeset");
	if (o->journal_dfd >= 0) {
		struct stat st;
		if (fstatat(o->journal_dfd, jname, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return resume(s, cs, ws, o, jname, rep, err);
		if (errno != ENOENT)
			return err_errno(err, "apply journal '%s'", jname);
	}

	_cleanup_(plan_release) struct plan p = {0};
	fs_random_hex(p.id, 16);
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		if ((r = apply_path_check(c->path, err)) < 0 ||
		    (c->old_path && (r = apply_path_check(c->old_path, err)) < 0))
			return r;
		if (c->kind == CHANGE_RENAME && !c->old_path)
			return err_set(err, -EINVAL, "rename to '%s' without an old path", c->path);
		if (!path_matches(c->path, o) && !(c->old_path && path_matches(c->old_path, o))) {
			report_add(rep, c->path, APPLY_FILTERED, NULL);
			continue;
		}
		if ((c->risk & RISK_GIT_DIR) || changeset_is_git_change(c)) {
			report_add(rep, c->path, APPLY_NEVER,
				   xstrdup(".git/ is never written to a work tree"));
			continue;
		}
		enum accept_reason why;
		if (!decisions_accepts(d, c, &why)) {
			report_add(rep, c->path, why == REJECT_HELD ? APPLY_HELD : APPLY_REJECTED,
				   why == REJECT_HELD
					   ? xstrdup("risky: accept it explicitly by path")
					   : NULL);
			continue;
		}
		struct tree_attr after;
		if ((r = decisions_resolve_new(s, d, c, why, &after, err)) < 0)
			return r;
		if (c->has_old && c->has_new && why == ACCEPT_PARTIAL &&
		    digest_equal(&after.digest, &c->old_attr.digest) &&
		    after.perm == c->old_attr.perm) {
			report_add(rep, c->path, APPLY_REJECTED, xstrdup("every block rejected"));
			continue;
		}
		size_t item = report_add(rep, c->path, APPLY_DONE, NULL);
		if (c->kind == CHANGE_RENAME) {
			plan_add(&p, rep, c->old_path, true, &c->old_attr, false, NULL, item);
			plan_add(&p, rep, c->path, false, NULL, true, &after, item);
		} else {
			plan_add(&p, rep, c->path, c->has_old, &c->old_attr, c->has_new, &after,
				 item);
		}
	}
	if (p.n)
		qsort(p.ops, p.n, sizeof *p.ops, op_cmp);
	for (size_t i = 0; i < p.n; i++)
		p.ops[i].tmpidx = i;

	/* Structure: one op per path; nothing beneath a path the plan makes a
	 * file or symlink (an agent's "a -> /etc" then "a/passwd"). */
	for (size_t i = 0; i < p.n; i++) {
		const char *path = p.ops[i].path;
		if (i + 1 < p.n && !strcmp(path, p.ops[i + 1].path))
			return err_set(err, -EINVAL, "two changes at '%s'", path);
		for (const char *sl = strchr(path, '/'); sl; sl = strchr(sl + 1, '/')) {
			long a = plan_find(&p, path, (size_t)(sl - path));
			if (a >= 0 && p.ops[i].has_after && p.ops[a].has_after &&
			    p.ops[a].after.type != TREE_DIR)
				return err_set(err, -EINVAL,
					       "refusing '%s': beneath '%s', which the change makes a "
					       "%s",
					       path, p.ops[a].path,
					       type_name(&p.ops[a].after, true));
		}
	}

	/* Conflicts: every op against the host, all reported. */
	for (size_t i = 0; i < p.n; i++) {
		struct op *op = &p.ops[i];
		struct host h;
		if ((r = host_read(ws, &p, op->path, &h, err)) < 0)
			return r;
		char *why = NULL;
		if (attr_match(&h, op->has_before, &op->before, false)) {
			op->state = ST_BEFORE;
			if (op->has_before && op->before.type == TREE_DIR &&
			    (!op->has_after || op->after.type != TREE_DIR)) {
				r = check_dir_empties(ws, &p, op, &why, err);
				if (r < 0) {
					host_release(&h);
					return r;
				}
				if (why)
					op->state = ST_OTHER;
			}
		} else if (attr_match(&h, op->has_after, &op->after, false)) {
			op->state = ST_AFTER;
		} else {
			op->state = ST_OTHER;
			why = describe(&h, op);
		}
		host_release(&h);
		if (op->state == ST_OTHER) {
			if (rep->items[op->item].status == APPLY_CONFLICT) {
				/* second half of a rename: keep the first reason */
				free(why);
				continue;
			}
			char *detail = why;
			if (strcmp(rep->items[op->item].path, op->path)) {
				detail = xasprintf("'%s': %s", op->path, why);
				free(why);
			}
			report_set(rep, op->item, APPLY_CONFLICT, detail);
		}
	}
	/* A rename is done when both halves are. */
	for (size_t i = 0; i < p.n; i++) {
		struct apply_item *it = &rep->items[p.ops[i].item];
		if (it->status == APPLY_DONE && p.ops[i].state == ST_AFTER) {
			bool all = true;
			for (size_t k = 0; k < p.n; k++)
				if (p.ops[k].item == p.ops[i].item && p.ops[k].state != ST_AFTER)
					all = false;
			if (all)
				report_set(rep, p.ops[i].item, APPLY_ALREADY, NULL);
		}
	}
	if (rep->n_conflicts) {
		for (size_t i = 0; i < rep->n; i++)
			if (rep->items[i].status == APPLY_CONFLICT)
				return err_set(err, -EEXIST,
					       "%zu conflict(s) with changes made in the workspace, "
					       "nothing written; first '%s': %s",
					       rep->n_conflicts, rep->items[i].path,
					       rep->items[i].detail);
	}
	if (o->check_only) {
		for (size_t i = 0; i < rep->n; i++)
			rep->n_done += rep->items[i].status == APPLY_DONE;
		return 0;
	}
	bool any = false;
	for (size_t i = 0; i < p.n; i++)
		any |= p.ops[i].state == ST_BEFORE;
	if (!any)
		return 0;
	if (o->journal_dfd >= 0 && (r = journal_write(&p, cs, o->journal_dfd, jname, err)) < 0)
		return r;
	/* Items are reported done as ops finish; reset them to pending. */
	for (size_t i = 0; i < p.n; i++)
		if (p.ops[i].state == ST_BEFORE)
			rep->items[p.ops[i].item].status = APPLY_PENDING;
	r = plan_execute(s, ws, &p, o, rep, err);
	if (r < 0)
		return r;
	return journal_remove(o, jname, err);
}
