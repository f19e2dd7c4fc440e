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
#include <sys/stat.h>
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

/* Mount point of the cgroup2 fs (ctrl NULL) or of the v1 hierarchy with
 * controller ctrl. Caller frees. */
static char *cgroup_mount(const char *ctrl)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		char *dash = strstr(line, " - ");
		if (!dash)
			continue;
		char mp[1024], fstype[64], src[512], opts[1024];
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1 ||
		    sscanf(dash + 3, "%63s %511s %1023s", fstype, src, opts) != 3)
			continue;
		if (!ctrl && !strcmp(fstype, "cgroup2"))
			return xstrdup(mp);
		if (ctrl && !strcmp(fstype, "cgroup") && has_token(opts, ctrl, ','))
			return xstrdup(mp);
	}
	return NULL;
}

/* Our cgroup path in the v2 hierarchy (ctrl NULL) or the v1 one of ctrl. */
static char *cgroup_own(const char *ctrl)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return NULL;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		if (!ctrl && !strcmp(line, "0") && c1[1] == '\0')
			return xstrdup(c2 + 1);
		if (ctrl && has_token(c1 + 1, ctrl, ','))
			return xstrdup(c2 + 1);
	}
	return NULL;
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

static void run_name(char out[40])
{
	char hex[17];
	fs_random_hex(hex, 16);
	snprintf(out, 40, "airlock-%s", hex);
}

/* Removes run cgroups left behind by an airlock that was killed (kill -9
 * skips the cleanup). Only empty ones go (rmdir refuses the others), and
 * only those older than a minute, so a concurrent run's cgroup between
 * its mkdir and its join is never taken away. */
static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (strncmp(de->d_name, "airlock-", 8) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
		    now - st.st_mtime < 60)
			continue;
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static bool setup_v2(struct sbx_cgroups *cg, uint64_t memory, uint64_t pids, uint64_t cpus_milli,
		     struct buf *why)
{
	_cleanup_free_ char *mnt = cgroup_mount(NULL);
	_cleanup_free_ char *own = cgroup_own(NULL);
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
	sweep_stale(parent);
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

static char *v1_create(const char *ctrl, struct buf *why)
{
	_cleanup_free_ char *mnt = cgroup_mount(ctrl);
	_cleanup_free_ char *own = cgroup_own(ctrl);
	if (!mnt || !own) {
		buf_printf(why, "%s%sno cgroup v1 %s", why->len ? "; " : "", "", ctrl);
		return NULL;
	}
	char name[40];
	run_name(name);
	_cleanup_free_ char *parent = xasprintf("%s%s", mnt, strcmp(own, "/") ? own : "");
	sweep_stale(parent);
	char *dir = xasprintf("%s/%s", parent, name);
	if (mkdir(dir, 0755) < 0) {
		buf_printf(why, "%scannot create %s: %s", why->len ? "; " : "", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static bool v1_set(const char *dir, const char *file, uint64_t v)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
	char s[32];
	snprintf(s, sizeof s, "%llu", (unsigned long long)v);
	return sbx_write_file(p, s) >= 0;
}

void sbx_cgroups_setup(struct sbx_cgroups *cg, const struct sandbox_limits *lim, uint64_t memory,
		       uint64_t pids, struct buf *enforced)
{
	memset(cg, 0, sizeof *cg);
	struct buf why = BUF_INIT;
	if (!setup_v2(cg, memory, pids, lim->cpus_milli, &why)) {
		/* v1: one hierarchy per controller (hybrid hosts). */
		cg->paths[0] = v1_create("memory", &why);
		cg->paths[1] = v1_create("pids", &why);
		if (lim->cpus_milli)
			cg->paths[2] = v1_create("cpu", &why);
		if (cg->paths[0] || cg->paths[1] || cg->paths[2])
			cg->version = 1;
		if (cg->paths[0]) {
			cg->memory = v1_set(cg->paths[0], "memory.limit_in_bytes", memory);
			/* memory+swap equal to memory: no swapping past the limit. */
			v1_set(cg->paths[0], "memory.memsw.limit_in_bytes", memory);
		}
		if (cg->paths[1])
			cg->pids = v1_set(cg->paths[1], "pids.max", pids);
		if (cg->paths[2])
			cg->cpu = v1_set(cg->paths[2], "cpu.cfs_period_us", 100000) &&
				  v1_set(cg->paths[2], "cpu.cfs_quota_us", lim->cpus_milli * 100);
	}
	const char *how = cg->version == 2 ? "cgroup v2" : "cgroup v1";
	buf_printf(enforced, "memory: %s; pids: %s; cpu: %s", cg->memory ? how : "rlimit (RLIMIT_AS)",
		   cg->pids ? how : "rlimit (RLIMIT_NPROC)",
		   !lim->cpus_milli ? "unlimited" : cg->cpu ? how : "NOT ENFORCED");
	if (why.len && (!cg->memory || !cg->pids))
		buf_printf(enforced, " (cgroups: %s)", why.data);
	buf_release(&why);
}

int sbx_cgroups_join(struct sbx_cgroups *cg, pid_t pid, struct err *err)
{
	char s[32];
	snprintf(s, sizeof s, "%d", (int)pid);
	for (int i = 0; i < 3; i++) {
		if (!cg->paths[i])
			continue;
		_cleanup_free_ char *p = xasprintf("%s/cgroup.procs", cg->paths[i]);
		int r = sbx_write_file(p, s);
		if (r < 0)
			return err_code(err, r, "join cgroup '%s'", cg->paths[i]);
	}
	return 0;
}

void sbx_cgroups_release(struct sbx_cgroups *cg)
{
	for (int i = 0; i < 3; i++) {
		if (!cg->paths[i])
			continue;
		/* The last task may take a moment to leave after being reaped. */
		for (int tries = 0; tries < 100 && rmdir(cg->paths[i]) < 0 && errno == EBUSY; tries++)
			nanosleep(&(struct timespec){0, 2000000}, NULL);
		free(cg->paths[i]);
		cg->paths[i] = NULL;
	}
	cg->version = 0;
}

void sbx_cgroups_describe(struct buf *report, unsigned *protections)
{
	struct sbx_cgroups cg;
	struct sandbox_limits lim = {.cpus_milli = 1000};
	struct buf e = BUF_INIT;
	sbx_cgroups_setup(&cg, &lim, SANDBOX_DEFAULT_MEMORY, SANDBOX_DEFAULT_PIDS, &e);
	buf_printf(report, "limits: %s\n", e.data ? e.data : "");
	if (cg.memory)
		*protections |= SANDBOX_P_MEMORY_CG;
	if (cg.pids)
		*protections |= SANDBOX_P_PIDS_CG;
	if (cg.cpu)
		*protections |= SANDBOX_P_CPU_CG;
	sbx_cgroups_release(&cg);
	buf_release(&e);
}
