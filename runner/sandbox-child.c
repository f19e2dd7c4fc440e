/* sandbox-child: everything that runs after clone, inside the new
 * namespaces. Three roles in one process tree:
 *
 *  setup  (pid 1, before the agent exists): waits for the parent to write
 *         the id maps, builds the root overlay, /workspace, /proc, /dev,
 *         /tmp and the user's binds, pivots into the new root and hands the
 *         upper-dir fds to the parent;
 *  init   (the same pid 1 afterwards): starts the agent (a vfork-style
 *         clone), reaps every zombie, forwards signals; when the agent is
 *         gone, kills and reaps everything left, leaves the run's cgroups
 *         and reports the agent's wait status and the resources used;
 *  agent  (pid 2): drops every privilege in a fixed order, then execve.
 *
 * Failures before the agent runs are sent to the parent as a struct err
 * over the socketpair (crun style) and the child exits 125. Nothing here
 * prints. Paths inside the new root are resolved with openat2
 * RESOLVE_IN_ROOT and mounted through /proc/self/fd/N, so a symlink planted
 * in the image cannot redirect a mount onto the host (CVE-2019-19921,
 * CVE-2021-30465 class).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/macros.h"
#include "runner/sandbox-int.h"

#define SCRATCH "/tmp"

/* Credentials by raw system call. The child comes from a raw clone(2)
 * of a parent that may have threads (the store's zstd workers), so
 * glibc's thread list here still names the parent's threads, and glibc's
 * setgroups/setresgid/setresuid, which make every thread of a process
 * change ids (POSIX), signal them and wait for their answer: a wait for
 * threads that do not exist in this process, forever when one was being
 * created at clone time (a build hung that way). The kernel calls change
 * the calling thread only, which is the whole child. */
static int raw_setgroups_none(void)
{
	return (int)syscall(SYS_setgroups, 0, NULL);
}

static int raw_setresgid(gid_t g)
{
	return (int)syscall(SYS_setresgid, g, g, g);
}

static int raw_setresuid(uid_t u)
{
	return (int)syscall(SYS_setresuid, u, u, u);
}

__attribute__((noreturn)) static void child_fail(struct sbx_child *c, struct err *err)
{
	struct sbx_msg m = {.type = SBX_MSG_ERR};
	m.err = *err;
	err_prefix(&m.err, "sandbox");
	(void)sbx_send_msg(c->sock, &m, NULL, 0);
	_exit(SANDBOX_EXIT_SETUP);
}

static char *fdpath(char buf[32], int fd)
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

/* Resolves path inside the new root: symlinks are followed as if root were
 * "/", ".." cannot climb out, magic links are refused. */
static int open_in_root(int rootfd, const char *path, int flags, struct err *err)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	if (fd < 0)
		return err_errno(err, "open '/%s' in the new root", path);
	return (int)fd;
}

static int mount_at_fd(const char *src, int tfd, const char *fstype, unsigned long flags,
		       const char *data, const char *what, struct err *err)
{
	char p[32];
	if (mount(src, fdpath(p, tfd), fstype, flags, data) < 0)
		return err_errno(err, "mount %s", what);
	return 0;
}

/* Makes the mount at dst (resolved in root, after mounting) read-only,
 * recursively. mount_setattr keeps the flags the kernel locked for a
 * less privileged mount namespace (nosuid, nodev, noexec). */
static int make_readonly(int rootfd, const char *dst, struct err *err)
{
	_cleanup_close_ int fd = open_in_root(rootfd, dst, O_PATH, err);
	if (fd < 0)
		return fd;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
		return err_errno(err, "make '%s' read-only", dst);
	return 0;
}

/* Creates in the skeleton layer the missing components of an absolute,
 * ".."-free path (dirs; the last one a file when !dir), but only where the
 * image lacks them, so the skeleton never shadows the image's attributes. */
static int skel_path(int skelfd, int lowerfd, const char *path, bool dir, struct err *err)
{
	char tmp[4096];
	if (path[0] != '/' || strlen(path) >= sizeof tmp)
		return err_set(err, -EINVAL, "mount destination '%s' is not an absolute path", path);
	snprintf(tmp, sizeof tmp, "%s", path + 1);
	char *save = NULL;
	char built[4096] = "";
	for (char *tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "..") || !strcmp(tok, "."))
			return err_set(err, -EINVAL, "mount destination '%s' has '.' or '..'", path);
		bool last = (save == NULL || *save == '\0');
		if (built[0])
			strncat(built, "/", sizeof built - strlen(built) - 1);
		strncat(built, tok, sizeof built - strlen(built) - 1);
		struct err ignore;
		_cleanup_close_ int efd = open_in_root(lowerfd, built, O_PATH, &ignore);
		if (efd >= 0)
			continue;
		if (last && !dir) {
			int fd = openat(skelfd, built, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0 && errno != EEXIST)
				return err_errno(err, "create mount point '%s'", path);
			if (fd >= 0)
				close(fd);
		} else if (mkdirat(skelfd, built, 0755) < 0 && errno != EEXIST) {
			return err_errno(err, "create mount point '%s'", path);
		}
	}
	return 0;
}

static const char *const proc_masked[] = {
	"kcore", "keys", "timer_list", "sched_debug", "latency_stats", "timer_stats",
	"asound", "acpi", "scsi", "kallsyms", "kmsg", "config.gz", "sysrq-trigger",
	"pagetypeinfo", "vmallocinfo", "slabinfo",
};
static const char *const proc_readonly[] = {"sys", "bus", "fs", "irq"};

static int setup_proc(int rootfd, struct err *err)
{
	_cleanup_close_ int tfd = open_in_root(rootfd, "/proc", O_PATH | O_DIRECTORY, err);
	if (tfd < 0)
		return tfd;
	/* Must happen while the host /proc is still visible: the kernel lets a
	 * user namespace mount proc only if a fully visible one exists
	 * (mount_too_revealing). */
	int r = mount_at_fd("proc", tfd, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "/proc", err);
	if (r < 0)
		return r;
	_cleanup_close_ int pfd = open_in_root(rootfd, "/proc", O_PATH | O_DIRECTORY, err);
	if (pfd < 0)
		return pfd;
	/* How host root shows here: /proc's own owner (unmapped, so the
	 * overflow uid, never 0). */
	struct stat proc_root;
	if (fstat(pfd, &proc_root) < 0)
		return err_errno(err, "stat /proc");
	/* Files leaking host kernel state: /dev/null over files, an empty
	 * read-only tmpfs over directories (Docker's masked paths). */
	for (size_t i = 0; i < ARRAY_SIZE(proc_masked); i++) {
		_cleanup_close_ int fd = openat(pfd, proc_masked[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		if (fstat(fd, &st) < 0)
			return err_errno(err, "stat /proc/%s", proc_masked[i]);
		/* Usable by its owner alone (kmsg, slabinfo, vmallocinfo...):
		 * that is host root, which nothing in a sandbox is, and
		 * capabilities in its user namespace do not reach files of an
		 * owner it does not map. A mount less to make and tear down. */
		if (!(st.st_mode & 0077) && st.st_uid == proc_root.st_uid && proc_root.st_uid != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = mount_at_fd("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
					"size=0,mode=0555", proc_masked[i], err);
		else
			r = mount_at_fd("/dev/null", fd, NULL, MS_BIND, NULL, proc_masked[i], err);
		if (r < 0)
			return err_prefix(err, "mask /proc/%s", proc_masked[i]);
	}
	/* Read-only copies over themselves, made read-only while detached:
	 * three calls each, no path to resolve again after the bind. */
	for (size_t i = 0; i < ARRAY_SIZE(proc_readonly); i++) {
		_cleanup_close_ int fd = open_tree(pfd, proc_readonly[i],
						   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
							   AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return err_errno(err, "bind /proc/%s", proc_readonly[i]);
		}
		struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) < 0)
			return err_errno(err, "make /proc/%s read-only", proc_readonly[i]);
		if (move_mount(fd, "", pfd, proc_readonly[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return err_errno(err, "mount /proc/%s read-only", proc_readonly[i]);
	}
	return 0;
}

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* /dev is a directory of the scratch tmpfs (made in setup_root, with
 * pts/ and shm/ in it): no file system of its own to make and tear down,
 * and /dev/shm counts against --disk like /tmp. */
static int setup_dev(int rootfd, struct err *err)
{
	_cleanup_close_ int tfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, err);
	if (tfd < 0)
		return tfd;
	int r = mount_at_fd(SCRATCH "/dev", tfd, NULL, MS_BIND, NULL, "/dev", err);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY, err);
	if (dfd < 0)
		return dfd;
	/* Nothing runs from /dev or /dev/shm (the node mounts below keep
	 * their own flags). */
	struct mount_attr noexec = {.attr_set = MOUNT_ATTR_NOEXEC};
	if (syscall(SYS_mount_setattr, dfd, "", AT_EMPTY_PATH, &noexec, sizeof noexec) < 0)
		return err_errno(err, "make /dev noexec");
	/* A user namespace cannot mknod; bind the host's nodes (no block
	 * devices, nothing else of the host's /dev). The nodes' mounts keep
	 * the host's flags, so the scratch tmpfs's nodev does not apply. */
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		_cleanup_close_ int fd =
			openat(dfd, dev_nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return err_errno(err, "create /dev/%s", dev_nodes[i]);
		char src[32];
		snprintf(src, sizeof src, "/dev/%s", dev_nodes[i]);
		if ((r = mount_at_fd(src, fd, NULL, MS_BIND, NULL, src, err)) < 0)
			return r;
	}
	_cleanup_close_ int ptsfd = openat(dfd, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ptsfd < 0)
		return err_errno(err, "open /dev/pts");
	if ((r = mount_at_fd("devpts", ptsfd, "devpts", MS_NOSUID | MS_NOEXEC,
			     "newinstance,ptmxmode=0666,mode=0620", "/dev/pts", err)) < 0)
		return r;
	static const char *const links[][2] = {
		{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dfd, links[i][1]) < 0)
			return err_errno(err, "symlink /dev/%s", links[i][1]);
	return 0;
}

/* Builds the new root and pivots into it. Returns the upper fds. */
static int setup_root(struct sbx_child *c, int *ret_root_upper, int *ret_ws_upper, struct err *err)
{
	const struct sandbox_config *cfg = c->cfg;
	char opts[512], p1[32], p2[32];
	int r;

	/* First, before any mount: nothing we mount may propagate back to
	 * the host's mount namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_errno(err, "make / private");

	/* Scratch tmpfs over /tmp of our private copy of the host tree: holds
	 * the uppers, so --disk bounds every byte the agent writes, and dies
	 * with the last reference (the parent's upper fds). The lowers were
	 * opened as fds before, so hiding the host /tmp hides nothing needed. */
	snprintf(opts, sizeof opts, "size=%llu,mode=0755", (unsigned long long)c->disk_bytes);
	if (mount("airlock", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return err_errno(err, "mount scratch tmpfs");
	static const char *const dirs[] = {SCRATCH "/s",   SCRATCH "/ru",     SCRATCH "/rw",
					   SCRATCH "/wu",  SCRATCH "/ww",     SCRATCH "/root",
					   SCRATCH "/t",   SCRATCH "/dev",    SCRATCH "/dev/pts",
					   SCRATCH "/dev/shm"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdir(dirs[i], 0755) < 0)
			return err_errno(err, "mkdir '%s'", dirs[i]);
	if (chmod(SCRATCH "/t", 01777) < 0 || chmod(SCRATCH "/dev/shm", 01777) < 0)
		return err_errno(err, "chmod /tmp, /dev/shm");

	/* The root of an overlay shows its upper's owner and mode: give the
	 * uppers those of their lowers, so /workspace is the agent's if the
	 * workspace is. (An owner not mapped into the namespace cannot be set;
	 * the directory then stays the namespace root's.) */
	{
		struct stat st;
		if (fstat(c->root_lower_fd, &st) == 0) {
			(void)!chown(SCRATCH "/ru", st.st_uid, st.st_gid);
			chmod(SCRATCH "/ru", st.st_mode & 07777);
		}
		if (cfg->workspace_lower && fstat(c->ws_lower_fd, &st) == 0) {
			(void)!chown(SCRATCH "/wu", st.st_uid, st.st_gid);
			chmod(SCRATCH "/wu", st.st_mode & 07777);
		}
	}

	/* Skeleton lower: mount points the image lacks, so they never show
	 * up in the captured root upper. */
	_cleanup_close_ int skelfd = open(SCRATCH "/s", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (skelfd < 0)
		return err_errno(err, "open skeleton");
	static const char *const mps[] = {"/proc", "/dev", "/tmp", "/workspace"};
	for (size_t i = 0; i < ARRAY_SIZE(mps); i++) {
		if (!cfg->workspace_lower && !strcmp(mps[i], "/workspace"))
			continue;
		if ((r = skel_path(skelfd, c->root_lower_fd, mps[i], true, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < cfg->nmounts; i++) {
		struct stat st;
		if (fstat(c->mount_src_fds[i], &st) < 0)
			return err_errno(err, "stat '%s'", cfg->mounts[i].src);
		if ((r = skel_path(skelfd, c->root_lower_fd, cfg->mounts[i].dst, S_ISDIR(st.st_mode),
				   err)) < 0)
			return r;
	}

	/* userxattr: a user namespace may not set trusted.* xattrs; overlayfs
	 * then marks opaque dirs with user.overlay.opaque. */
	snprintf(opts, sizeof opts,
		 "lowerdir=" SCRATCH "/s:%s,upperdir=" SCRATCH "/ru,workdir=" SCRATCH "/rw,userxattr",
		 fdpath(p1, c->root_lower_fd));
	if (mount("overlay", SCRATCH "/root", "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return err_errno(err, "mount root overlay");
	_cleanup_close_ int rootfd = open(SCRATCH "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_errno(err, "open new root");

	if (cfg->workspace_lower) {
		snprintf(opts, sizeof opts,
			 "lowerdir=%s,upperdir=" SCRATCH "/wu,workdir=" SCRATCH "/ww,userxattr",
			 fdpath(p1, c->ws_lower_fd));
		_cleanup_close_ int tfd = open_in_root(rootfd, "/workspace", O_PATH | O_DIRECTORY, err);
		if (tfd < 0)
			return tfd;
		if ((r = mount_at_fd("overlay", tfd, "overlay", MS_NOSUID | MS_NODEV, opts,
				     "workspace overlay", err)) < 0)
			return r;
	}

	for (size_t i = 0; i < cfg->nmounts; i++) {
		const struct sandbox_mount *m = &cfg->mounts[i];
		_cleanup_close_ int tfd = open_in_root(rootfd, m->dst, O_PATH, err);
		if (tfd < 0)
			return tfd;
		if (mount(fdpath(p1, c->mount_src_fds[i]), fdpath(p2, tfd), NULL, MS_BIND | MS_REC,
			  NULL) < 0)
			return err_errno(err, "bind '%s' on '%s'", m->src, m->dst);
		/* Re-resolved after mounting: the old fd still names the
		 * covered directory, not the new mount. */
		if (!m->rw && (r = make_readonly(rootfd, m->dst, err)) < 0)
			return r;
	}

	{
		/* /tmp is a directory of the scratch tmpfs: the same --disk
		 * budget as the uppers, and one file system less to make. */
		_cleanup_close_ int tfd = open_in_root(rootfd, "/tmp", O_PATH | O_DIRECTORY, err);
		if (tfd < 0)
			return tfd;
		if ((r = mount_at_fd(SCRATCH "/t", tfd, NULL, MS_BIND, NULL, "/tmp", err)) < 0)
			return r;
	}
	if ((r = setup_dev(rootfd, err)) < 0)
		return r;
	if ((r = setup_proc(rootfd, err)) < 0)
		return r;

	int ru = open(SCRATCH "/ru", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int wu = cfg->workspace_lower ? open(SCRATCH "/wu", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (ru < 0 || (cfg->workspace_lower && wu < 0))
		return err_errno(err, "open upper dirs");
	*ret_root_upper = ru;
	*ret_ws_upper = wu;

	/* pivot_root(".", ".") stacks the old root under the new one; the
	 * detach that follows is what removes every host path from the
	 * namespace, so it must come right after, before anything runs. */
	if (fchdir(rootfd) < 0)
		return err_errno(err, "chdir new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_errno(err, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return err_errno(err, "detach old root");
	if (chdir("/") < 0)
		return err_errno(err, "chdir /");
	return 0;
}

struct exec_report {
	int kind; /* 1 execve failed (err.code = -errno), 2 setup step failed */
	struct err err;
};

static const unsigned build_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID,
	CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP,
};

int sbx_last_cap(void)
{
	int n = CAP_LAST_CAP;
	char b[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t k = read(fd, b, sizeof b - 1);
		close(fd);
		if (k > 0)
			n = atoi(b);
	}
	return n;
}

static bool cap_kept(const unsigned *keep, size_t nkeep, unsigned cap)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

/* Shrinks the bounding set to keep[]; needs CAP_SETPCAP. */
static int drop_bounding(const unsigned *keep, size_t nkeep, int lastcap, struct err *err)
{
	for (int cap = 0; cap <= lastcap; cap++)
		if (!cap_kept(keep, nkeep, (unsigned)cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return err_errno(err, "drop capability %d from the bounding set", cap);
	return 0;
}

/* Leaves exactly keep[] effective and permitted, none inheritable or
 * ambient. */
static int set_caps(const unsigned *keep, size_t nkeep, struct err *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};
	for (size_t i = 0; i < nkeep; i++) {
		d[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		d[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return err_errno(err, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_errno(err, "clear ambient capabilities");
	return 0;
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* execve with a PATH search in the *sandbox's* environment (execvpe would
 * use ours). Returns the errno that best explains the failure. */
static int exec_search(char *const *argv, char *const *envp)
{
	const char *file = argv[0];
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return errno;
	}
	const char *path = env_get(envp, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int best = ENOENT;
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char full[4096];
		int n = snprintf(full, sizeof full, "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", file);
		if (n > 0 && (size_t)n < sizeof full) {
			execve(full, argv, envp);
			if (errno == EACCES || errno == ENOEXEC || errno == EPERM)
				best = errno;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
				return errno;
		}
		if (!*end)
			break;
		p = end;
	}
	return best;
}

__attribute__((noreturn)) static void agent_fail(int wfd, int kind, struct err *err)
{
	struct exec_report rep = {.kind = kind, .err = *err};
	(void)!write(wfd, &rep, sizeof rep);
	_exit(kind == 1 ? SANDBOX_EXIT_NOTFOUND : SANDBOX_EXIT_SETUP);
}

__attribute__((noreturn)) static void agent_main(struct sbx_child *c, int wfd, int lastcap)
{
	const struct sandbox_config *cfg = c->cfg;
	struct err err = {0};

	/* Ignored signals survive execve (a caller ignoring SIGPIPE would
	 * break `yes | head`); start the command with defaults. */
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Own session: without a controlling terminal, TIOCSTI on an
	 * inherited host tty is refused (CVE-2017-5226); with -t the pty we
	 * made becomes the controlling terminal. */
	if (setsid() < 0) {
		err_errno(&err, "setsid");
		agent_fail(wfd, 2, &err);
	}
	int in = c->stdin_fd, out = c->stdout_fd, er = c->stderr_fd;
	if (c->tty_slave_fd >= 0) {
		if (ioctl(c->tty_slave_fd, TIOCSCTTY, 0) < 0) {
			err_errno(&err, "set controlling tty");
			agent_fail(wfd, 2, &err);
		}
		out = er = c->tty_slave_fd;
		if (cfg->interactive)
			in = c->tty_slave_fd;
	}
	if (in < 0)
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(er, 2) < 0) {
		err_errno(&err, "set up stdio");
		agent_fail(wfd, 2, &err);
	}

	if (c->rlimit_memory) {
		struct rlimit rl = {c->memory_bytes, c->memory_bytes};
		setrlimit(RLIMIT_AS, &rl);
	}
	if (c->rlimit_pids) {
		struct rlimit rl = {c->pids, c->pids};
		setrlimit(RLIMIT_NPROC, &rl);
	}
	struct rlimit core = {0, 0};
	setrlimit(RLIMIT_CORE, &core);

	/* Supplementary groups go first, while CAP_SETGID is still held;
	 * with an unprivileged single mapping setgroups is denied and the
	 * caller's own groups stay (the kernel requires that). */
	if (c->privileged && raw_setgroups_none() < 0) {
		err_errno(&err, "setgroups");
		agent_fail(wfd, 2, &err);
	}
	/* The bounding set can only shrink with CAP_SETPCAP, which the uid
	 * change below takes away: drop it before setresuid. */
	const unsigned *keep = cfg->build_mode ? build_caps : NULL;
	size_t nkeep = cfg->build_mode ? ARRAY_SIZE(build_caps) : 0;
	int r = drop_bounding(keep, nkeep, lastcap, &err);
	if (r < 0)
		agent_fail(wfd, 2, &err);
	if (raw_setresgid(cfg->gid) < 0 || raw_setresuid(cfg->uid) < 0) {
		err_errno(&err, "set uid %u gid %u", cfg->uid, cfg->gid);
		agent_fail(wfd, 2, &err);
	}
	/* A uid change resets the dumpable flag of our memory, which is pid
	 * 1's until the execve (CLONE_VM): make it not dumpable again, or a
	 * host with fs.suid_dumpable=1 would leave pid 1 open to the agent
	 * (see the note before the clone in sbx_child_main). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* setresuid keeps capabilities when the uid did not change (the
	 * unprivileged mapping), so clear them again, explicitly. */
	if ((r = set_caps(keep, nkeep, &err)) < 0)
		agent_fail(wfd, 2, &err);

	if (chdir(c->workdir) < 0) {
		err_errno(&err, "chdir '%s'", c->workdir);
		agent_fail(wfd, 2, &err);
	}
	/* Only 0, 1, 2 survive execve; the report pipe is O_CLOEXEC too. */
	if (syscall(SYS_close_range, 3, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
		err_errno(&err, "close_range");
		agent_fail(wfd, 2, &err);
	}
	/* Last: from here on only the allowlist; execve is on it. */
	if (sbx_filter_load(c->build_mode, &err) < 0)
		agent_fail(wfd, 2, &err);
	int e = exec_search(cfg->argv, cfg->envp);
	err_code(&err, -e, "exec '%s'", cfg->argv[0]);
	agent_fail(wfd, 1, &err);
}

struct agent_args {
	struct sbx_child *c;
	int wfd, rfd, lastcap;
};

static int agent_start(void *arg)
{
	struct agent_args *a = arg;
	close(a->rfd);
	close(a->c->sock);
	/* O_CLOEXEC too; but never in the agent's hands even before exec. */
	for (int i = 0; i < a->c->nleave; i++)
		close(a->c->leave_fds[i]);
	agent_main(a->c, a->wfd, a->lastcap);
}

static int reopen_sources(struct sbx_child *c, struct err *err)
{
	const struct sandbox_config *cfg = c->cfg;
	c->root_lower_fd = open(cfg->root_lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->root_lower_fd < 0)
		return err_errno(err, "open root '%s'", cfg->root_lower);
	if (cfg->workspace_lower) {
		c->ws_lower_fd = open(cfg->workspace_lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->ws_lower_fd < 0)
			return err_errno(err, "open workspace '%s'", cfg->workspace_lower);
	}
	for (size_t i = 0; i < cfg->nmounts; i++) {
		c->mount_src_fds[i] = open(cfg->mounts[i].src, O_PATH | O_CLOEXEC);
		if (c->mount_src_fds[i] < 0)
			return err_errno(err, "open mount source '%s'", cfg->mounts[i].src);
	}
	return 0;
}

static int make_workdir(const char *path, struct err *err)
{
	char buf[4096];
	if (strlen(path) >= sizeof buf || path[0] != '/')
		return err_set(err, -EINVAL, "working directory '%s' is not an absolute path", path);
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return err_errno(err, "create working directory '%s'", buf);
			*p = saved;
			if (!saved)
				return 0;
		}
	}
}

/* The agent's terminal comes from the sandbox's own devpts instance, not
 * the host's: the agent then holds no node of the host's devpts (whose
 * other ptys are the host's sessions), and ttyname() finds its terminal
 * at /dev/pts/N inside (tty, ssh, script need that). TIOCGPTPEER opens the
 * slave of this very master without a path lookup. The slave is the
 * agent's (login does the same), so it can reopen it by name. The window
 * size is set before the agent starts (ws, the caller's). The master
 * goes to the parent, which relays it; *ret_master is ours to close. */
static int open_pty(struct sbx_child *c, const struct winsize *ws, int *ret_master,
		    struct err *err)
{
	_cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return err_errno(err, "open /dev/pts/ptmx");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return err_errno(err, "unlock the pty");
	if (ws->ws_row && ws->ws_col)
		(void)ioctl(master, TIOCSWINSZ, ws);
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return err_errno(err, "open the pty's slave");
	if (fchown(slave, c->cfg->uid, c->cfg->gid) < 0) {
		int r = err_errno(err, "chown the pty's slave");
		close(slave);
		return r;
	}
	c->tty_slave_fd = slave;
	*ret_master = TAKE_FD(master);
	return 0;
}

void sbx_child_main(struct sbx_child *c)
{
	struct err err = {0};
	int r;

	/* If airlock dies, so does pid 1, and with it the pid namespace. The
	 * parent's death before this line shows as EOF on the socket below. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* What ps shows for the sandbox's pid 1. */
	prctl(PR_SET_NAME, "airlock-init", 0, 0, 0);

	/* Init takes signals with sigwaitinfo only; SIGCHLD must not be
	 * ignored (the caller may ignore it) or zombies reap themselves and
	 * the agent's status is lost. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	signal(SIGCHLD, SIG_DFL);

	/* Open the lowers and bind sources by path again, here: overlayfs and
	 * bind mounts accept only mounts of the caller's own mount namespace,
	 * and the parent's fds name the host's. Done before the maps exist,
	 * while our fsuid is still the caller's host uid, so the caller's
	 * access to the paths is what counts (a 0700 store dir of root's stays
	 * traversable); the error is reported once the parent listens. */
	struct err open_err = {0};
	int open_r = reopen_sources(c, &open_err);

	struct sbx_msg m;
	ssize_t n;
	do
		n = recv(c->sock, &m, sizeof m, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof m || m.type != SBX_MSG_GO)
		_exit(SANDBOX_EXIT_SETUP);

	if (open_r < 0)
		child_fail(c, &open_err);

	/* The maps are written now. As root the parent mapped a range that
	 * does not include host uid 0: become inside root (host
	 * SANDBOX_HOST_ID_BASE) and drop host root's supplementary groups
	 * before creating any file. */
	if (c->privileged) {
		if (raw_setgroups_none() < 0 || raw_setresgid(0) < 0 || raw_setresuid(0) < 0) {
			err_errno(&err, "become root of the user namespace");
			child_fail(c, &err);
		}
		/* The uid change cleared the parent-death signal: set it again,
		 * then make sure the parent did not die in between (its end of
		 * the socket would have hung up). */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		struct pollfd pf = {.fd = c->sock, .events = POLLIN};
		if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR)))
			_exit(SANDBOX_EXIT_SETUP);
	}
	if (sethostname(c->hostname, strlen(c->hostname)) < 0) {
		err_errno(&err, "sethostname");
		child_fail(c, &err);
	}
	if (!c->privileged && (r = sbx_loopback_up(0, &err)) < 0)
		child_fail(c, &err);
	int lastcap = c->lastcap;
	int uppers[2] = {-1, -1};
	if ((r = setup_root(c, &uppers[0], &uppers[1], &err)) < 0)
		child_fail(c, &err);
	/* An image's working directory need not exist in its tree (WORKDIR
	 * does not create it): make it, as Docker does, inside the new root
	 * (root of the user namespace, owner 0:0), before the agent's chdir. */
	if ((r = make_workdir(c->workdir, &err)) < 0)
		child_fail(c, &err);

	/* Nothing of the agent's runs before the parent has moved us into
	 * the run's cgroups (it does so while we set up, see sandbox.c). */
	int cg_fds[SBX_MAX_FDS];
	n = sbx_recv_msg(c->sock, &m, cg_fds);
	if (n != (ssize_t)sizeof m || m.type != SBX_MSG_CGROUPS || m.njoin < 0 ||
	    m.njoin > SBX_CGROUP_MAX || m.nfds < m.njoin || m.nfds - m.njoin > SBX_CGROUP_MAX)
		_exit(SANDBOX_EXIT_SETUP);
	/* "0": this task alone (see sbx_cgroups_join_fds). */
	for (int i = 0; i < m.njoin; i++) {
		if (cg_fds[i] < 0) {
			err_set(&err, -EBADF, "the run's cgroup fds did not arrive");
			child_fail(c, &err);
		}
		if (write(cg_fds[i], "0", 1) != 1) {
			err_errno(&err, "move into the run's cgroup");
			child_fail(c, &err);
		}
		close(cg_fds[i]);
	}
	c->nleave = 0;
	for (int i = m.njoin; i < m.nfds; i++)
		if (cg_fds[i] >= 0)
			c->leave_fds[c->nleave++] = cg_fds[i];
	if (c->privileged && !m.lo_up && (r = sbx_loopback_up(0, &err)) < 0)
		child_fail(c, &err);
	c->rlimit_memory = m.rlimit_memory;
	c->rlimit_pids = m.rlimit_pids;
	int master = -1;
	if (c->cfg->tty && (r = open_pty(c, &m.winsize, &master, &err)) < 0)
		child_fail(c, &err);
	/* That cgroup is the root of what the sandbox sees. */
	if (unshare(CLONE_NEWCGROUP) < 0) {
		err_errno(&err, "unshare cgroup namespace");
		child_fail(c, &err);
	}

	/* The root upper, the workspace upper if any, the pty master if any:
	 * the parent knows from its config which are there. */
	int fds[SBX_MAX_FDS] = {uppers[0]};
	struct sbx_msg ready = {.type = SBX_MSG_READY, .nfds = 1};
	if (uppers[1] >= 0)
		fds[ready.nfds++] = uppers[1];
	if (master >= 0)
		fds[ready.nfds++] = master;
	(void)sbx_send_msg(c->sock, &ready, fds, ready.nfds);
	for (int i = 0; i < ready.nfds; i++)
		close(fds[i]);

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		err_errno(&err, "pipe");
		child_fail(c, &err);
	}
	/* Init must not be a way out, from the agent's first instruction on:
	 * not dumpable means the agent cannot ptrace it or open /proc/1/exe,
	 * /proc/1/mem (CVE-2019-5736) or /proc/1/fd (the cgroup leave fds,
	 * which move any task out of the run's cgroups), not even a RUN
	 * step, root in the namespace with capabilities: a non-dumpable
	 * task's mm belongs to the host's user namespace, where it has none. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* The agent shares our memory until its execve, like posix_spawn:
	 * no copy of airlock's address space (twice copied by now) and no
	 * copy-on-write faults on either side. We are suspended meanwhile;
	 * agent_main writes only its own stack (a static one: no unmapping,
	 * which would signal the other CPUs to flush). */
	static char agent_stack[256 << 10] __attribute__((aligned(64)));
	struct agent_args aa = {.c = c, .wfd = pfd[1], .rfd = pfd[0], .lastcap = lastcap};
	pid_t agent = clone(agent_start, agent_stack + sizeof agent_stack,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, &aa);
	if (agent < 0) {
		err_errno(&err, "start the agent");
		child_fail(c, &err);
	}
	close(pfd[1]);

	/* Init keeps nothing of the caller's: stdio to /dev/null, every
	 * other fd but the socket closed. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
	}
	/* Kept: 3 the socket, 4 the exec report, 5... the cgroup leave fds.
	 * Copied above that range first, so no dup3 clobbers one not yet
	 * moved. */
	int keep[2 + SBX_CGROUP_MAX] = {c->sock, pfd[0]};
	int nkeep = 2;
	for (int i = 0; i < c->nleave; i++)
		keep[nkeep++] = c->leave_fds[i];
	for (int i = 0; i < nkeep; i++)
		if ((keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 3 + nkeep)) < 0) {
			kill(agent, SIGKILL);
			_exit(SANDBOX_EXIT_SETUP);
		}
	for (int i = 0; i < nkeep; i++)
		if (dup3(keep[i], 3 + i, O_CLOEXEC) < 0) {
			kill(agent, SIGKILL);
			_exit(SANDBOX_EXIT_SETUP);
		}
	syscall(SYS_close_range, 3 + nkeep, ~0u, 0);
	int sock = 3, rfd = 4;

	/* Init keeps only CAP_KILL, to signal an agent of another uid (it
	 * was made not dumpable before the agent existed, see above). */
	static const unsigned init_caps[] = {CAP_KILL};
	drop_bounding(init_caps, 1, lastcap, &err);
	set_caps(init_caps, 1, &err);

	struct sbx_msg ex = {.type = SBX_MSG_EXIT};
	struct exec_report rep;
	do
		n = read(rfd, &rep, sizeof rep);
	while (n < 0 && errno == EINTR);
	close(rfd);
	if (n == (ssize_t)sizeof rep && rep.kind == 2) {
		kill(agent, SIGKILL);
		c->sock = sock;
		child_fail(c, &rep.err);
	}
	if (n == (ssize_t)sizeof rep && rep.kind == 1) {
		ex.exec_errno = -rep.err.code;
		ex.err = rep.err;
	}

	sigset_t set;
	sigfillset(&set);
	for (;;) {
		siginfo_t si;
		int s = sigwaitinfo(&set, &si);
		if (s < 0)
			continue;
		if (s == SIGCHLD) {
			int st;
			pid_t p;
			bool done = false;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0)
				if (p == agent) {
					ex.status = st;
					done = true;
				}
			if (done)
				break;
		} else if (s == SIGTERM) {
			/* Timeout or airlock terminated: the whole sandbox. */
			kill(-1, SIGTERM);
		} else if (s == SIGINT || s == SIGHUP || s == SIGQUIT || s == SIGWINCH ||
			   s == SIGUSR1 || s == SIGUSR2) {
			kill(agent, s);
		}
	}
	/* Whatever the agent left behind dies now, before the report: once
	 * the parent has it, nothing in the sandbox writes to the uppers, so
	 * the parent captures them while this process and its namespaces are
	 * still being torn down. */
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	getrusage(RUSAGE_CHILDREN, &ex.rusage);
	/* Alone now: leave the run's cgroups, so the parent can remove them
	 * without waiting for this process's exit (v1 only, see
	 * sbx_cgroups_join_fds). */
	ex.left_cgroups = c->nleave > 0;
	for (int i = 0; i < c->nleave; i++)
		if (write(5 + i, "0", 1) != 1)
			ex.left_cgroups = false;
	(void)sbx_send_msg(sock, &ex, NULL, 0);
	_exit(0);
}
