/* sandbox-limits: memory, pids and cpu limits of one run.
 *
 * Preference: the cgroup v2 hierarchy if it has the controllers, else the
 * v1 controllers (hybrid hosts), else rlimits (RLIMIT_AS, RLIMIT_NPROC),
 * which are weaker: RLIMIT_AS is per process and RLIMIT_NPROC counts every
 * process of the host uid. Mount points come from /proc/self/mountinfo and
 * our own cgroup from /proc/self/cgroup, never hard-coded. A run's cgroup is
 * created only beneath our own cgroup, or, for root in the root cgroup of
 * v2, beneath a dedicated "airlock" cgroup (v2 forbids processes in inner
 * nodes, so we cannot enable controllers where we ourselves live).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"
#include "runner/sandbox-int.h"

int sbx_write_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fs_write_all(fd, s, strlen(s));
}

static bool has_token(const char *list, const char *tok, char sep)
{
	size_t n = strlen(tok);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, sep);
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !strncmp(p, tok, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

/* Where this process's cgroups are: the mount points and our own path in
 * the v2 hierarchy and in the v1 hierarchies of the controllers we use,
 * each of /proc/self/mountinfo and /proc/self/cgroup read once. */
enum { CG_V2, CG_MEMORY, CG_PIDS, CG_CPU, CG_N };
static const char *const cg_ctrl[CG_N] = {NULL, "memory", "pids", "cpu"};

struct cg_where {
	char *mnt[CG_N], *own[CG_N];
};

static void cg_where_release(struct cg_where *w)
{
	for (int i = 0; i < CG_N; i++) {
		free(w->mnt[i]);
		free(w->own[i]);
	}
}

/* The usual mount points, checked to be cgroup file systems, save reading
 * /proc/self/mountinfo on every run; anything else is found there. (A v1
 * mount of the wrong controller would fail the limit writes, which are
 * checked, so it can never pass for an enforced limit.) */
static void cg_where_usual(struct cg_where *w)
{
	static const char *const v2[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	struct statfs sf;
	for (size_t i = 0; i < ARRAY_SIZE(v2) && !w->mnt[CG_V2]; i++)
		if (statfs(v2[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			w->mnt[CG_V2] = xstrdup(v2[i]);
	for (int i = CG_MEMORY; i < CG_N; i++) {
		char p[128];
		snprintf(p, sizeof p, "/sys/fs/cgroup/%s/cgroup.procs", cg_ctrl[i]);
		if (statfs(p, &sf) == 0 && sf.f_type == CGROUP_SUPER_MAGIC)
			w->mnt[i] = xasprintf("/sys/fs/cgroup/%s", cg_ctrl[i]);
	}
}

static void cg_where_find(struct cg_where *w)
{
	memset(w, 0, sizeof *w);
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		for (int i = 0; i < CG_N; i++)
			if (!w->own[i] && (i == CG_V2 ? !strcmp(line, "0") && c1[1] == '\0'
						      : has_token(c1 + 1, cg_ctrl[i], ',')))
				w->own[i] = xstrdup(c2 + 1);
	}
	if (f)
		fclose(f);
	cg_where_usual(w);
	bool missing = false;
	for (int i = 0; i < CG_N; i++)
		missing |= w->own[i] && !w->mnt[i];
	f = missing ? fopen("/proc/self/mountinfo", "re") : NULL;
	while (f && fgets(line, sizeof line, f)) {
		char *dash = strstr(line, " - ");
		if (!dash)
			continue;
		char mp[1024], fstype[64], src[512], opts[1024];
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1 ||
		    sscanf(dash + 3, "%63s %511s %1023s", fstype, src, opts) != 3)
			continue;
		for (int i = 0; i < CG_N; i++)
			if (!w->mnt[i] && (i == CG_V2 ? !strcmp(fstype, "cgroup2")
						      : !strcmp(fstype, "cgroup") &&
								has_token(opts, cg_ctrl[i], ',')))
				w->mnt[i] = xstrdup(mp);
	}
	if (f)
		fclose(f);
}

static bool v2_has(const char *dir, const char *ctrl)
{
	_cleanup_free_ char *p = xasprintf("%s/cgroup.controllers", dir);
	struct buf b = BUF_INIT;
	int r = fs_read_file_at(AT_FDCWD, p, 4096, &b, NULL);
	bool ok = r >= 0 && b.data && has_token(strtok(b.data, "\n"), ctrl, ' ');
	buf_release(&b);
	return ok;
}

/* Idle pooled cgroups are CG_IDLE<slot>, slot 0 to SBX_CGROUP_POOL - 1:
 * a release takes a free slot (a cgroup rename never replaces), so the
 * pool stays bounded without listing it. */
#define CG_IDLE "airlock-idle-"
#define CG_POOL_MAX_HELD (1ull << 20)

static void run_name(char out[40])
{
	char hex[17];
	fs_random_hex(hex, 16);
	snprintf(out, 40, "airlock-%s", hex);
}

/* A run cgroup left behind by an airlock that was killed (kill -9 skips
 * the cleanup): only empty ones can go (rmdir refuses the others), and
 * only those older than a minute, so a concurrent run's cgroup between its
 * creation and its child's join is never taken away. */
static void remove_if_stale(int dfd, const char *name, time_t now)
{
	struct stat st;
	if (!strncmp(name, "airlock-", 8) && strncmp(name, CG_IDLE, strlen(CG_IDLE)) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    now - st.st_mtime >= 60)
		unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Done when a v2 run ends, and on v1 in v1_claim, not on the way in. */
static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d)))
		remove_if_stale(dirfd(d), de->d_name, now);
	closedir(d);
}

/* Reads the control file dir/file under dfd into out (NUL-terminated). */
static bool cg_read(int dfd, const char *dir, const char *file, struct buf *out)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	buf_reset(out);
	if (fs_read_file_at(dfd, p, 64 << 10, out, NULL) < 0)
		return false;
	buf_putc(out, '\0');
	return true;
}

/* Whether no task is in the cgroup dir under dfd. */
static bool cg_empty(int dfd, const char *dir)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	return cg_read(dfd, dir, "tasks", &b) && !b.data[0];
}

/* Whether the memory cgroup dir still holds a charge that cannot simply
 * be reclaimed, beyond a little: all it is charged for (kernel memory
 * too: the inodes and dentries of a run's scratch tmpfs) but page cache.
 * A run's scratch tmpfs is freed only once its pid 1 is gone, and a run
 * must not start with another's charge against its limit. */
static bool memcg_busy(int dfd, const char *name)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	unsigned long long usage, cache = 0, v;
	if (!cg_read(dfd, name, "memory.usage_in_bytes", &b) || sscanf(b.data, "%llu", &usage) != 1 ||
	    !cg_read(dfd, name, "memory.stat", &b))
		return true;
	for (char *line = b.data; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char key[32];
		if (sscanf(line, "%31s %llu", key, &v) == 2 &&
		    (!strcmp(key, "active_file") || !strcmp(key, "inactive_file")))
			cache += v;
		line = next;
	}
	return usage > cache && usage - cache > CG_POOL_MAX_HELD;
}

/* A free idle slot name for a cgroup under dfd/parent: renames dir (by
 * name, under dfd) there. False if all slots are taken. */
static bool pool_put(int dfd, const char *name)
{
	unsigned start = (unsigned)time(NULL) ^ (unsigned)getpid();
	for (unsigned k = 0; k < SBX_CGROUP_POOL; k++) {
		char idle[32];
		snprintf(idle, sizeof idle, CG_IDLE "%u", (start + k) % SBX_CGROUP_POOL);
		if (renameat(dfd, name, dfd, idle) == 0)
			return true;
	}
	return false;
}

/* One pass over a v1 parent: removes stale run cgroups, and claims an idle
 * cgroup by renaming it to name (atomic: of two claimers one gets ENOENT).
 * Its mtime is refreshed first, so no concurrent sweep takes the claimed
 * cgroup for a stale one before our child is in it. Checked after the
 * rename, under our name, so it is the cgroup checked that is used: one
 * with a task in it, or (memory) still charged, goes back (or away). */
static bool v1_claim(const char *parent, const char *name, int ctrl)
{
	DIR *d = opendir(parent);
	if (!d)
		return false;
	int dfd = dirfd(d);
	time_t now = time(NULL);
	bool claimed = false;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "airlock-", 8))
			continue;
		if (!strncmp(de->d_name, CG_IDLE, strlen(CG_IDLE))) {
			if (claimed)
				continue;
			(void)utimensat(dfd, de->d_name, NULL, 0);
			if (renameat(dfd, de->d_name, dfd, name) < 0)
				continue;
			if (cg_empty(dfd, name) && (ctrl != CG_MEMORY || !memcg_busy(dfd, name)))
				claimed = true;
			else if (!pool_put(dfd, name))
				unlinkat(dfd, name, AT_REMOVEDIR);
			continue;
		}
		if (strcmp(de->d_name, name))
			remove_if_stale(dfd, de->d_name, now);
	}
	closedir(d);
	return claimed;
}

static bool setup_v2(struct sbx_cgroups *cg, const struct cg_where *w, uint64_t memory,
		     uint64_t pids, uint64_t cpus_milli, struct buf *why)
{
	const char *mnt = w->mnt[CG_V2], *own = w->own[CG_V2];
	if (!mnt || !own) {
		buf_puts(why, "no cgroup v2 mount");
		return false;
	}
	_cleanup_free_ char *base = xasprintf("%s%s", mnt, strcmp(own, "/") ? own : "");
	if (!v2_has(base, "memory") || !v2_has(base, "pids")) {
		buf_printf(why, "cgroup v2 at %s lacks memory/pids", base);
		return false;
	}
	_cleanup_free_ char *parent = NULL;
	if (!strcmp(own, "/")) {
		parent = xasprintf("%s/airlock", mnt);
		if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
			buf_printf(why, "cannot create %s: %s", parent, strerror(errno));
			return false;
		}
		_cleanup_free_ char *sc = xasprintf("%s/cgroup.subtree_control", mnt);
		sbx_write_file(sc, "+memory +pids +cpu");
	} else {
		parent = xstrdup(base);
	}
	_cleanup_free_ char *sc = xasprintf("%s/cgroup.subtree_control", parent);
	int r = sbx_write_file(sc, "+memory +pids");
	if (r < 0) {
		buf_printf(why, "cannot enable controllers in %s: %s", parent, strerror(-r));
		return false;
	}
	bool cpu = sbx_write_file(sc, "+cpu") >= 0;
	char name[40];
	run_name(name);
	char *dir = xasprintf("%s/%s", parent, name);
	if (mkdir(dir, 0755) < 0) {
		buf_printf(why, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return false;
	}
	cg->paths[0] = dir;
	cg->version = 2;
	char v[64];
	_cleanup_free_ char *pm = xasprintf("%s/memory.max", dir);
	_cleanup_free_ char *ps = xasprintf("%s/memory.swap.max", dir);
	_cleanup_free_ char *pp = xasprintf("%s/pids.max", dir);
	_cleanup_free_ char *pc = xasprintf("%s/cpu.max", dir);
	snprintf(v, sizeof v, "%llu", (unsigned long long)memory);
	cg->memory = sbx_write_file(pm, v) >= 0;
	sbx_write_file(ps, "0");
	snprintf(v, sizeof v, "%llu", (unsigned long long)pids);
	cg->pids = sbx_write_file(pp, v) >= 0;
	if (cpus_milli && cpu) {
		snprintf(v, sizeof v, "%llu 100000", (unsigned long long)cpus_milli * 100);
		cg->cpu = sbx_write_file(pc, v) >= 0;
	}
	return true;
}

static char *v1_create(const struct cg_where *w, int ctrl, struct buf *why)
{
	const char *mnt = w->mnt[ctrl], *own = w->own[ctrl];
	if (!mnt || !own) {
		buf_printf(why, "%sno cgroup v1 %s", why->len ? "; " : "", cg_ctrl[ctrl]);
		return NULL;
	}
	char name[40];
	run_name(name);
	_cleanup_free_ char *parent = xasprintf("%s%s", mnt, strcmp(own, "/") ? own : "");
	char *dir = xasprintf("%s/%s", parent, name);
	if (!v1_claim(parent, name, ctrl) && mkdir(dir, 0755) < 0) {
		buf_printf(why, "%scannot create %s: %s", why->len ? "; " : "", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

/* 0 or -errno (-ENOENT: no such control file here). */
static int v1_write(const char *dir, const char *file, const char *v)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	return sbx_write_file(p, v);
}

static bool v1_set(const char *dir, const char *file, uint64_t v)
{
	char s[32];
	snprintf(s, sizeof s, "%llu", (unsigned long long)v);
	return v1_write(dir, file, s) >= 0;
}

/* Sets the limit of controller ctrl in dir (for cpu: period a, quota b).
 * A reused cgroup that refuses it (a memory limit below what the cgroup is
 * still charged for, say) is swapped for a new one, which starts from the
 * defaults: a failure never leaves a previous run's limit in force. */
static bool v1_limits(const char *dir, int ctrl, uint64_t a, uint64_t b)
{
	for (int attempt = 0;; attempt++) {
		bool ok;
		if (ctrl == CG_MEMORY) {
			/* memory+swap may not be below memory: lift it first (a
			 * reused cgroup has the last run's), then set both equal,
			 * so nothing swaps past the limit; no such file means no
			 * swap accounting, hence nothing to set. */
			char v[32];
			snprintf(v, sizeof v, "%llu", (unsigned long long)a);
			int sw = v1_write(dir, "memory.memsw.limit_in_bytes", "-1");
			ok = v1_write(dir, "memory.limit_in_bytes", v) == 0;
			if (ok && sw != -ENOENT)
				ok = v1_write(dir, "memory.memsw.limit_in_bytes", v) == 0;
			/* A reused cgroup's peak is the last run's. */
			(void)v1_write(dir, "memory.max_usage_in_bytes", "0");
		} else if (ctrl == CG_PIDS) {
			ok = v1_set(dir, "pids.max", a);
		} else {
			ok = v1_set(dir, "cpu.cfs_period_us", a) && v1_set(dir, "cpu.cfs_quota_us", b);
		}
		if (ok || attempt > 0 || rmdir(dir) < 0 || mkdir(dir, 0755) < 0)
			return ok;
	}
}

/* The cgroup of controller ctrl, paths[i], with its limit set; or none
 * (paths[i] NULL, the reason in why): a cgroup whose limit is not ours
 * must not hold the run, a reused one least of all. */
static bool v1_limit_or_drop(char **path, int ctrl, uint64_t a, uint64_t b, struct buf *why)
{
	if (!*path)
		return false;
	if (v1_limits(*path, ctrl, a, b))
		return true;
	buf_printf(why, "%scannot set the %s limit in %s", why->len ? "; " : "", cg_ctrl[ctrl],
		   *path);
	(void)rmdir(*path);
	free(*path);
	*path = NULL;
	return false;
}

void sbx_cgroups_begin(struct sbx_cgroups *cg, const struct sandbox_limits *lim, uint64_t memory,
		       uint64_t pids)
{
	memset(cg, 0, sizeof *cg);
	struct cg_where *w = xcalloc(1, sizeof *w);
	cg_where_find(w);
	cg->where = w;
	setup_v2(cg, w, memory, pids, lim->cpus_milli, &cg->why);
}

void sbx_cgroups_setup(struct sbx_cgroups *cg, const struct sandbox_limits *lim, uint64_t memory,
		       uint64_t pids, struct buf *enforced)
{
	struct cg_where *w = cg->where;
	struct buf *why = &cg->why;
	if (cg->version != 2 && w) {
		/* v1: one hierarchy per controller (hybrid hosts). */
		cg->paths[0] = v1_create(w, CG_MEMORY, why);
		cg->paths[1] = v1_create(w, CG_PIDS, why);
		if (lim->cpus_milli)
			cg->paths[2] = v1_create(w, CG_CPU, why);
		if (cg->paths[0] || cg->paths[1] || cg->paths[2])
			cg->version = 1;
		cg->memory = v1_limit_or_drop(&cg->paths[0], CG_MEMORY, memory, 0, why);
		cg->pids = v1_limit_or_drop(&cg->paths[1], CG_PIDS, pids, 0, why);
		cg->cpu = v1_limit_or_drop(&cg->paths[2], CG_CPU, 100000, lim->cpus_milli * 100, why);
		if (!cg->paths[0] && !cg->paths[1] && !cg->paths[2])
			cg->version = 0;
	}
	const char *how = cg->version == 2 ? "cgroup v2" : "cgroup v1";
	buf_printf(enforced, "memory: %s; pids: %s; cpu: %s", cg->memory ? how : "rlimit (RLIMIT_AS)",
		   cg->pids ? how : "rlimit (RLIMIT_NPROC)",
		   !lim->cpus_milli ? "unlimited" : cg->cpu ? how : "NOT ENFORCED");
	if (why->len && (!cg->memory || !cg->pids || (lim->cpus_milli && !cg->cpu)))
		buf_printf(enforced, " (cgroups: %s)", why->data);
	buf_release(why);
	if (w) {
		cg_where_release(w);
		free(w);
		cg->where = NULL;
	}
}

int sbx_cgroups_join_fds(const struct sbx_cgroups *cg, int fds[2 * SBX_CGROUP_MAX], int *ret_njoin,
			 int *ret_nleave, struct err *err)
{
	int join[SBX_CGROUP_MAX], leave[SBX_CGROUP_MAX];
	int nj = 0, nl = 0, r = 0;
	for (int i = 0; i < SBX_CGROUP_MAX && r == 0 && !cg->born_in; i++) {
		if (!cg->paths[i])
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", cg->paths[i],
						   cg->version == 1 ? "tasks" : "cgroup.procs");
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			r = err_errno(err, "open '%s'", p);
			break;
		}
		join[nj++] = fd;
		const char *slash = strrchr(cg->paths[i], '/');
		if (cg->version != 1 || !slash)
			continue;
		_cleanup_free_ char *up =
			xasprintf("%.*s/tasks", (int)(slash - cg->paths[i]), cg->paths[i]);
		/* Optional: without it the parent waits for pid 1's exit. */
		if ((fd = open(up, O_WRONLY | O_CLOEXEC)) >= 0)
			leave[nl++] = fd;
	}
	if (r < 0) {
		while (nj > 0)
			close(join[--nj]);
		while (nl > 0)
			close(leave[--nl]);
		return r;
	}
	memcpy(fds, join, sizeof(int) * (size_t)nj);
	memcpy(fds + nj, leave, sizeof(int) * (size_t)nl);
	*ret_njoin = nj;
	*ret_nleave = nl;
	return 0;
}

void sbx_cgroups_release(struct sbx_cgroups *cg)
{
	for (int i = 0; i < SBX_CGROUP_MAX; i++) {
		if (!cg->paths[i])
			continue;
		char *slash = strrchr(cg->paths[i], '/');
		bool pooled = false;
		if (cg->version == 1 && cg->vacated && slash && slash != cg->paths[i]) {
			/* Pid 1 said it left; the kernel has the last word. */
			*slash = '\0';
			_cleanup_close_ int dfd =
				open(cg->paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			*slash = '/';
			if (dfd >= 0 && cg_empty(dfd, slash + 1))
				pooled = pool_put(dfd, slash + 1);
		}
		/* The last task may take a moment to leave after being reaped. */
		for (int tries = 0; !pooled && tries < 100 && rmdir(cg->paths[i]) < 0 && errno == EBUSY;
		     tries++)
			nanosleep(&(struct timespec){0, 2000000}, NULL);
		if (cg->version == 2 && slash && slash != cg->paths[i]) {
			*slash = '\0';
			sweep_stale(cg->paths[i]);
		}
		free(cg->paths[i]);
		cg->paths[i] = NULL;
	}
	cg->version = 0;
	cg->vacated = false;
	cg->born_in = false;
	buf_release(&cg->why);
	if (cg->where) {
		cg_where_release(cg->where);
		free(cg->where);
		cg->where = NULL;
	}
}

void sbx_cgroups_describe(struct buf *report, unsigned *protections)
{
	struct sbx_cgroups cg;
	struct sandbox_limits lim = {.cpus_milli = 1000};
	struct buf e = BUF_INIT;
	sbx_cgroups_begin(&cg, &lim, SANDBOX_DEFAULT_MEMORY, SANDBOX_DEFAULT_PIDS);
	sbx_cgroups_setup(&cg, &lim, SANDBOX_DEFAULT_MEMORY, SANDBOX_DEFAULT_PIDS, &e);
	buf_printf(report, "limits: %s\n", e.data ? e.data : "");
	if (cg.memory)
		*protections |= SANDBOX_P_MEMORY_CG;
	if (cg.pids)
		*protections |= SANDBOX_P_PIDS_CG;
	if (cg.cpu)
		*protections |= SANDBOX_P_CPU_CG;
	/* No task ever entered them: back to the pool, if they came from it. */
	cg.vacated = true;
	sbx_cgroups_release(&cg);
	buf_release(&e);
}
