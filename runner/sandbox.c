/* sandbox: the parent side of a run (see sandbox.h for what a run gets and
 * sandbox-child.c for the inside).
 *
 * Sequence: open the lowers and bind sources as O_PATH fds (host paths are
 * resolved here, with the caller's view), clone into new user, mount, pid,
 * net, ipc and uts namespaces, write the id maps and tell the child to go;
 * while it builds its mounts, make the run's cgroups (and, as root, bring
 * its lo up), then send it the cgroup fds it moves itself in by; receive
 * either its setup error or the upper fds; relay stdio until pid 1 reports
 * that the agent and everything else in the sandbox are dead; hand the
 * uppers to the capture callback. The rest is teardown, left to
 * sandbox_tail_finish so a caller can write its record meanwhile: pid 1
 * (already out of the run's cgroups on v1) exits, its pid namespace dies,
 * the cgroups are removed or pooled, and the scratch tmpfs is freed when
 * its last reference goes. The seccomp program is built into the binary
 * (sandbox-bpf.c). */
#include "runner/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"
#include "runner/sandbox-int.h"

#define CLONE_NS_FLAGS                                                                 \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |    \
	 CLONE_NEWUTS)

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uid_t sandbox_host_uid(uid_t inside)
{
	return geteuid() == 0 ? SANDBOX_HOST_ID_BASE + inside : geteuid();
}

/* Writes the id maps of the child's user namespace. */
static int write_maps(pid_t pid, bool privileged, const struct sandbox_config *cfg,
		      struct err *err)
{
	char path[64], map[128];
	int r;
	if (privileged) {
		/* Root may map a range; the range excludes host uid 0, so no
		 * inside id is host root. setgroups stays "allow" because the
		 * child must drop host root's supplementary groups. */
		snprintf(map, sizeof map, "0 %u %u\n", SANDBOX_HOST_ID_BASE, SANDBOX_HOST_ID_COUNT);
		snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
		if ((r = sbx_write_file(path, map)) < 0)
			return err_code(err, r, "sandbox: write uid_map");
		snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
		if ((r = sbx_write_file(path, map)) < 0)
			return err_code(err, r, "sandbox: write gid_map");
		return 0;
	}
	/* setgroups "deny" before gid_map: the kernel refuses an unprivileged
	 * gid_map otherwise, since dropping a group could grant access a
	 * negative group permission denies (CVE-2014-8989). */
	snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
	if ((r = sbx_write_file(path, "deny")) < 0)
		return err_code(err, r, "sandbox: write setgroups");
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	snprintf(map, sizeof map, "%u %u 1\n", cfg->uid, (unsigned)geteuid());
	if ((r = sbx_write_file(path, map)) < 0)
		return err_code(err, r, "sandbox: write uid_map");
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	snprintf(map, sizeof map, "%u %u 1\n", cfg->gid, (unsigned)getegid());
	if ((r = sbx_write_file(path, map)) < 0)
		return err_code(err, r, "sandbox: write gid_map");
	return 0;
}

/* Everything sandbox_run must undo, on every path. */
struct run_state {
	int root_lower_fd, ws_lower_fd;
	int *src_fds;
	size_t nsrc;
	int sock[2];
	int out[2], errp[2];
	int master;
	int sigfd;
	int uppers[2];
	sigset_t oldmask;
	bool mask_set;
	struct termios saved_tio;
	bool tio_set;
	struct sbx_cgroups cg;
	bool cg_leavable; /* pid 1 got a leave fd for every one of the run's cgroups */
	pid_t pid;
	struct sbx_aside aside;
};

static void closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void sbx_step_back(struct sbx_aside *a)
{
	if (a->saved)
		(void)sched_setaffinity(0, sizeof a->cpus, &a->cpus);
	a->saved = false;
}

/* The CPU a task last ran on, or was queued on: field 39 of its stat. */
static int task_cpu_of(pid_t pid)
{
	char path[64], b[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
	if (k <= 0)
		return -1;
	b[k] = '\0';
	/* After the name, which may hold anything but ends at the last ')'. */
	char *p = strrchr(b, ')');
	for (int field = 2; p && *p; p++)
		if (*p == ' ' && ++field == 39)
			return atoi(p + 1);
	return -1;
}

void sbx_step_aside(struct sbx_aside *a, pid_t child)
{
	int me = sched_getcpu();
	if (me < 0 || sched_getaffinity(0, sizeof a->cpus, &a->cpus) < 0 ||
	    CPU_COUNT(&a->cpus) < 2 || !CPU_ISSET(me, &a->cpus) || task_cpu_of(child) != me)
		return;
	cpu_set_t others = a->cpus;
	CPU_CLR(me, &others);
	a->saved = sched_setaffinity(0, sizeof others, &others) == 0;
}

static void run_state_release(struct run_state *s)
{
	sbx_step_back(&s->aside);
	if (s->pid > 0) {
		/* Harmless after init's report: it is exiting anyway. */
		kill(s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		s->pid = -1;
	}
	if (s->tio_set)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &s->saved_tio);
	if (s->mask_set)
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	closefd(&s->root_lower_fd);
	closefd(&s->ws_lower_fd);
	for (size_t i = 0; i < s->nsrc; i++)
		closefd(&s->src_fds[i]);
	free(s->src_fds);
	closefd(&s->sock[0]);
	closefd(&s->sock[1]);
	closefd(&s->out[0]);
	closefd(&s->out[1]);
	closefd(&s->errp[0]);
	closefd(&s->errp[1]);
	closefd(&s->master);
	closefd(&s->sigfd);
	closefd(&s->uppers[0]);
	closefd(&s->uppers[1]);
	sbx_cgroups_release(&s->cg);
}

static int open_path(const char *what, const char *path, bool dir, struct err *err)
{
	int fd = open(path, O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	if (fd < 0)
		return err_errno(err, "sandbox: open %s '%s'", what, path);
	return fd;
}

static void copy_out(int from, int to, int capture, bool *open_)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		*open_ = false;
		return;
	}
	(void)fs_write_all(to, buf, (size_t)n);
	if (capture >= 0)
		(void)fs_write_all(capture, buf, (size_t)n);
}

static bool get_winsize(struct winsize *ws)
{
	return ioctl(STDIN_FILENO, TIOCGWINSZ, ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, ws) == 0;
}

static void sync_winsize(int master)
{
	struct winsize ws;
	if (get_winsize(&ws))
		ioctl(master, TIOCSWINSZ, &ws);
}

/* The pty itself is made by the child in the sandbox's devpts (see
 * open_pty in sandbox-child.c) and its master sent back with
 * SBX_MSG_READY; here only the caller's terminal goes raw. */
static void setup_tty(struct run_state *s, const struct sandbox_config *cfg)
{
	if (cfg->interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &s->saved_tio) == 0) {
		struct termios raw = s->saved_tio;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			s->tio_set = true;
	}
}

/* Relays stdio and signals until every stream hit EOF and pid 1 has
 * reported (or is gone); enforces the timeout. Fills *exit_msg when init
 * reported. */
static void relay(struct run_state *s, const struct sandbox_config *cfg, uint64_t timeout_ms,
		  struct sbx_msg *exit_msg, bool *got_exit, bool *timed_out)
{
	bool sock_open = true, out_open = s->out[0] >= 0, err_open = s->errp[0] >= 0;
	bool master_open = s->master >= 0;
	bool in_open = s->master >= 0 && cfg->interactive;
	uint64_t start = now_ms();
	uint64_t deadline = timeout_ms ? start + timeout_ms : UINT64_MAX, kill_at = UINT64_MAX;

	while ((sock_open && !*got_exit) || out_open || err_open || master_open) {
		struct pollfd pf[6];
		int n = 0, isock = -1, isig = -1, iout = -1, ierr = -1, imaster = -1, iin = -1;
		if (sock_open && !*got_exit)
			pf[isock = n++] = (struct pollfd){s->sock[0], POLLIN, 0};
		pf[isig = n++] = (struct pollfd){s->sigfd, POLLIN, 0};
		if (out_open)
			pf[iout = n++] = (struct pollfd){s->out[0], POLLIN, 0};
		if (err_open)
			pf[ierr = n++] = (struct pollfd){s->errp[0], POLLIN, 0};
		if (master_open)
			pf[imaster = n++] = (struct pollfd){s->master, POLLIN, 0};
		if (in_open)
			pf[iin = n++] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
		uint64_t t = now_ms(), next = deadline < kill_at ? deadline : kill_at;
		int wait = next == UINT64_MAX ? -1 : next <= t ? 0 : (int)(next - t > 60000 ? 60000 : next - t);
		int r = poll(pf, (nfds_t)n, wait);
		t = now_ms();
		if (t >= deadline) {
			/* Timeout: SIGTERM to the whole sandbox (init signals
			 * every process), SIGKILL to pid 1 after the grace. */
			*timed_out = true;
			kill(s->pid, SIGTERM);
			deadline = UINT64_MAX;
			kill_at = t + SANDBOX_KILL_GRACE_MS;
		}
		if (t >= kill_at) {
			kill(s->pid, SIGKILL);
			kill_at = UINT64_MAX;
		}
		if (r <= 0)
			continue;
		if (isock >= 0 && pf[isock].revents) {
			struct sbx_msg m;
			ssize_t k = sbx_recv_msg(s->sock[0], &m, NULL);
			if (k == (ssize_t)sizeof m &&
			    (m.type == SBX_MSG_EXIT || m.type == SBX_MSG_ERR)) {
				/* ERR here: the agent failed a step before exec. */
				*exit_msg = m;
				*got_exit = true;
			} else if (k <= 0) {
				sock_open = false;
			}
		}
		if (pf[isig].revents) {
			struct signalfd_siginfo si;
			if (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGWINCH && s->master >= 0)
					sync_winsize(s->master);
				else if (si.ssi_signo != SIGCHLD)
					kill(s->pid, (int)si.ssi_signo);
			}
		}
		if (iout >= 0 && pf[iout].revents)
			copy_out(s->out[0], STDOUT_FILENO, cfg->stdout_capture_fd, &out_open);
		if (ierr >= 0 && pf[ierr].revents)
			copy_out(s->errp[0], STDERR_FILENO, cfg->stderr_capture_fd, &err_open);
		if (imaster >= 0 && pf[imaster].revents)
			copy_out(s->master, STDOUT_FILENO, cfg->stdout_capture_fd, &master_open);
		if (iin >= 0 && pf[iin].revents) {
			char buf[4096];
			ssize_t k = read(STDIN_FILENO, buf, sizeof buf);
			if (k > 0)
				(void)fs_write_all(s->master, buf, (size_t)k);
			else if (k == 0 || errno != EINTR)
				in_open = false;
		}
	}
}

/* After a failure of ours once the child runs: if the child failed first
 * (and so, say, its namespaces were gone), its reason is queued on the
 * socket and is the one to report. Returns r or the child's code. */
static int child_reason(struct run_state *s, int r, struct err *err)
{
	struct pollfd pf = {.fd = s->sock[0], .events = POLLIN};
	struct sbx_msg why;
	if (poll(&pf, 1, 0) > 0 && sbx_recv_msg(s->sock[0], &why, NULL) == (ssize_t)sizeof why &&
	    why.type == SBX_MSG_ERR) {
		*err = why.err;
		return why.err.code < 0 ? why.err.code : -EIO;
	}
	return r;
}

static int run_inner(struct run_state *s, const struct sandbox_config *cfg, bool privileged,
		     uint64_t memory, uint64_t pids, uint64_t disk,
		     int (*capture)(int, int, void *, struct err *), void *userdata,
		     struct sandbox_result *ret, struct err *err)
{
	const struct sandbox_limits *lim = &cfg->limits;
	int r;
	_cleanup_buf_ struct buf enforced = BUF_INIT;

	if ((r = s->root_lower_fd = open_path("root", cfg->root_lower, true, err)) < 0)
		return r;
	if (cfg->workspace_lower &&
	    (r = s->ws_lower_fd = open_path("workspace", cfg->workspace_lower, true, err)) < 0)
		return r;
	s->src_fds = xcalloc(cfg->nmounts ? cfg->nmounts : 1, sizeof(int));
	for (size_t i = 0; i < cfg->nmounts; i++)
		s->src_fds[i] = -1;
	s->nsrc = cfg->nmounts;
	for (size_t i = 0; i < cfg->nmounts; i++)
		if ((r = s->src_fds[i] = open_path("mount source", cfg->mounts[i].src, false, err)) < 0)
			return r;

	if (cfg->tty) {
		setup_tty(s, cfg);
	} else {
		if (cfg->stdout_capture_fd >= 0 && pipe2(s->out, O_CLOEXEC) < 0) {
			r = err_errno(err, "sandbox: pipe");
			return r;
		}
		if (cfg->stderr_capture_fd >= 0 && pipe2(s->errp, O_CLOEXEC) < 0) {
			r = err_errno(err, "sandbox: pipe");
			return r;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s->sock) < 0) {
		r = err_errno(err, "sandbox: socketpair");
		return r;
	}

	/* Signals we forward are taken from a signalfd while we run; the
	 * child inherits the mask and init waits for them with sigwaitinfo. */
	sigset_t fwd;
	sigemptyset(&fwd);
	int fwd_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2, SIGCHLD};
	for (size_t i = 0; i < ARRAY_SIZE(fwd_sigs); i++)
		sigaddset(&fwd, fwd_sigs[i]);
	if (sigprocmask(SIG_BLOCK, &fwd, &s->oldmask) < 0) {
		r = err_errno(err, "sandbox: sigprocmask");
		return r;
	}
	s->mask_set = true;
	s->sigfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sigfd < 0) {
		r = err_errno(err, "sandbox: signalfd");
		return r;
	}

	struct sbx_child c = {
		.cfg = cfg,
		.sock = s->sock[1],
		.root_lower_fd = s->root_lower_fd,
		.ws_lower_fd = s->ws_lower_fd,
		.mount_src_fds = s->src_fds,
		.stdin_fd = cfg->interactive ? STDIN_FILENO : -1,
		.stdout_fd = s->out[1] >= 0 ? s->out[1] : STDOUT_FILENO,
		.stderr_fd = s->errp[1] >= 0 ? s->errp[1] : STDERR_FILENO,
		.tty_slave_fd = -1,
		.privileged = privileged,
		.disk_bytes = disk,
		.memory_bytes = memory,
		.pids = pids,
		.build_mode = cfg->build_mode,
		.workdir = cfg->workdir ? cfg->workdir : cfg->workspace_lower ? "/workspace" : "/",
		.hostname = cfg->hostname ? cfg->hostname : "airlock",
	};
	c.lastcap = sbx_last_cap();

	/* On cgroup v2 the run's cgroup is made now and the child is born in
	 * it; on v1 the cgroups are made while the child builds its mounts
	 * (sbx_cgroups_begin). */
	sbx_cgroups_begin(&s->cg, lim, memory, pids);
	_cleanup_close_ int cg_dir = -1;
	if (s->cg.version == 2)
		cg_dir = open(s->cg.paths[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	uint64_t t0 = now_ms();
	/* Forks like fork(2) (no new stack): the child runs on a copy of
	 * ours. It is pid 1 of the new pid namespace. */
	long pid = sbx_clone(CLONE_NS_FLAGS, cg_dir, &s->cg.born_in);
	if (pid < 0) {
		r = err_code(err, (int)pid, "sandbox: clone new namespaces (user namespaces unavailable?)");
		return r;
	}
	if (pid == 0) {
		if (cg_dir >= 0)
			close(cg_dir);
		close(s->sock[0]);
		sbx_child_main(&c);
	}
	s->pid = (pid_t)pid;
	closefd(&s->sock[1]);
	closefd(&s->out[1]);
	closefd(&s->errp[1]);

	if ((r = write_maps(s->pid, privileged, cfg, err)) < 0)
		return r;
	struct sbx_msg m = {.type = SBX_MSG_GO};
	if (send(s->sock[0], &m, sizeof m, MSG_NOSIGNAL) < 0) {
		r = err_errno(err, "sandbox: start child");
		return r;
	}
	sbx_step_aside(&s->aside, s->pid);
	/* The v1 cgroups are made while the child builds its mounts; the
	 * child moves itself in (see sbx_cgroups_join_fds), as on v2 when it
	 * could not be born in its cgroup. It starts nothing of the agent's,
	 * and enters its cgroup namespace, only after that, so no agent code
	 * ever runs outside the limits. */
	sbx_cgroups_setup(&s->cg, lim, memory, pids, &enforced);
	buf_printf(&enforced, "; disk: tmpfs size=%llu", (unsigned long long)disk);
	snprintf(ret->enforced, sizeof ret->enforced, "%s", enforced.data);
	/* As root we can enter the child's network namespace and bring lo
	 * up while it builds its mounts; if that fails (root without
	 * CAP_SYS_ADMIN), the child does it itself. */
	bool lo_up = false;
	if (privileged) {
		struct err lo_err = {0};
		int lr = sbx_loopback_up(s->pid, &lo_err);
		if (lr == -ENOTRECOVERABLE) {
			*err = lo_err;
			return err_prefix(err, "sandbox");
		}
		lo_up = lr == 0;
	}
	int cg_fds[2 * SBX_CGROUP_MAX], njoin = 0, nleave = 0;
	if ((r = sbx_cgroups_join_fds(&s->cg, cg_fds, &njoin, &nleave, err)) < 0)
		return child_reason(s, err_prefix(err, "sandbox: join cgroup"), err);
	s->cg_leavable = nleave > 0 && nleave == njoin;
	m = (struct sbx_msg){.type = SBX_MSG_CGROUPS,
			     .nfds = njoin + nleave,
			     .njoin = njoin,
			     .lo_up = lo_up,
			     .rlimit_memory = !s->cg.memory,
			     .rlimit_pids = !s->cg.pids};
	if (cfg->tty && !get_winsize(&m.winsize))
		memset(&m.winsize, 0, sizeof m.winsize);
	r = sbx_send_msg(s->sock[0], &m, cg_fds, njoin + nleave);
	for (int i = 0; i < njoin + nleave; i++)
		close(cg_fds[i]);
	if (r < 0)
		return child_reason(s, err_code(err, r, "sandbox: start child"), err);
	sbx_step_back(&s->aside);
	int fds[SBX_MAX_FDS];
	ssize_t k = sbx_recv_msg(s->sock[0], &m, fds);
	int nfds = 1;
	s->uppers[0] = fds[0];
	if (s->ws_lower_fd >= 0)
		s->uppers[1] = fds[nfds++];
	if (cfg->tty)
		s->master = fds[nfds++];
	for (int i = nfds; i < SBX_MAX_FDS; i++)
		closefd(&fds[i]);
	if (k == (ssize_t)sizeof m && m.type == SBX_MSG_READY &&
	    (s->uppers[0] < 0 || (s->ws_lower_fd >= 0 && s->uppers[1] < 0) ||
	     (cfg->tty && s->master < 0)))
		return err_set(err, -EIO, "sandbox: the child sent too few fds");
	if (k != (ssize_t)sizeof m || m.type != SBX_MSG_READY) {
		if (k == (ssize_t)sizeof m && m.type == SBX_MSG_ERR) {
			*err = m.err;
			r = m.err.code < 0 ? m.err.code : -EIO;
		} else {
			r = err_set(err, -EIO, "sandbox: child died during setup");
		}
		return r;
	}
	ret->protections = SANDBOX_P_USERNS | SANDBOX_P_MNTNS | SANDBOX_P_PIDNS |
			   SANDBOX_P_NETNS | SANDBOX_P_IPCNS | SANDBOX_P_UTSNS |
			   SANDBOX_P_CGROUPNS | SANDBOX_P_SECCOMP | SANDBOX_P_NONEWPRIVS |
			   SANDBOX_P_OVERLAY | SANDBOX_P_DISK;
	if (!cfg->build_mode)
		ret->protections |= SANDBOX_P_CAPS_DROPPED | SANDBOX_P_UNPRIV_UID;
	if (s->cg.memory)
		ret->protections |= SANDBOX_P_MEMORY_CG;
	if (s->cg.pids)
		ret->protections |= SANDBOX_P_PIDS_CG;
	if (s->cg.cpu)
		ret->protections |= SANDBOX_P_CPU_CG;

	/* The child set the size it was sent; it may have changed since. */
	if (s->master >= 0)
		sync_winsize(s->master);

	struct sbx_msg ex = {0};
	bool got_exit = false, timed_out = false;
	relay(s, cfg, lim->timeout_ms, &ex, &got_exit, &timed_out);

	/* After its report pid 1 is alone and only exiting: it is waited for
	 * after the capture, which need not wait for that. */
	int st = 0;
	struct rusage ru = {0};
	bool reported = got_exit && ex.type == SBX_MSG_EXIT;
	if (reported) {
		ru = ex.rusage;
		/* Left them all: what sbx_cgroups_release needs to pool them. */
		s->cg.vacated = ex.left_cgroups && s->cg_leavable;
	} else {
		while (wait4(s->pid, &st, 0, &ru) < 0 && errno == EINTR)
			;
		s->pid = -1;
	}
	ret->duration_ms = now_ms() - t0;
	ret->max_rss_kb = (uint64_t)ru.ru_maxrss;
	ret->user_cpu_ms = (uint64_t)ru.ru_utime.tv_sec * 1000 + (uint64_t)ru.ru_utime.tv_usec / 1000;
	ret->sys_cpu_ms = (uint64_t)ru.ru_stime.tv_sec * 1000 + (uint64_t)ru.ru_stime.tv_usec / 1000;

	if (timed_out) {
		ret->timed_out = true;
		ret->exit_code = SANDBOX_EXIT_TIMEOUT;
	} else if (got_exit && ex.type == SBX_MSG_ERR) {
		*err = ex.err;
		return ex.err.code < 0 ? ex.err.code : -EIO;
	} else if (!got_exit) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == SANDBOX_EXIT_SETUP)
			r = err_set(err, -EIO, "sandbox: init failed after setup");
		else
			r = err_set(err, -EIO, "sandbox: init died (status 0x%x)", st);
		return r;
	} else if (ex.exec_errno) {
		int e = ex.exec_errno;
		ret->exit_code = (e == ENOENT || e == ENOTDIR || e == ELOOP) ? SANDBOX_EXIT_NOTFOUND
									   : SANDBOX_EXIT_NOEXEC;
		snprintf(ret->message, sizeof ret->message, "%s", ex.err.msg);
	} else if (WIFEXITED(ex.status)) {
		ret->exit_code = WEXITSTATUS(ex.status);
	} else if (WIFSIGNALED(ex.status)) {
		ret->term_signal = WTERMSIG(ex.status);
		ret->exit_code = 128 + ret->term_signal;
	}

	if (capture)
		return capture(s->uppers[0], s->uppers[1], userdata, err);
	return 0;
}

long sbx_clone(unsigned long flags, int cgroup_fd, bool *ret_into)
{
	*ret_into = false;
	if (cgroup_fd >= 0) {
		struct clone_args a = {
			.flags = flags | CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (uint64_t)cgroup_fd,
		};
		long pid = syscall(SYS_clone3, &a, sizeof a);
		if (pid >= 0) {
			*ret_into = true;
			return pid;
		}
		/* An old kernel, or a seccomp profile that refuses clone3:
		 * the child joins by itself instead. */
	}
	long pid = syscall(SYS_clone, (unsigned long)SIGCHLD | flags, NULL, NULL, NULL, 0L);
	return pid < 0 ? -errno : pid;
}

struct sandbox_tail {
	pid_t pid;
	struct sbx_cgroups cg;
	bool cg_left; /* pid 1 left them (cg.vacated, which their release resets) */
};

int sandbox_run_deferred(const struct sandbox_config *cfg,
			 int (*capture)(int upper_root_dfd, int upper_ws_dfd, void *userdata,
					struct err *err),
			 void *userdata, struct sandbox_result *ret, struct sandbox_tail **ret_tail,
			 struct err *err)
{
	memset(ret, 0, sizeof *ret);
	if (ret_tail)
		*ret_tail = NULL;
	if (!cfg->root_lower || !cfg->argv || !cfg->argv[0] || !cfg->envp)
		return err_set(err, -EINVAL, "sandbox: root, argv and envp are required");
	if ((cfg->uid == 0 || cfg->gid == 0) && !cfg->build_mode)
		return err_set(err, -EPERM, "sandbox: refusing to run the agent as root (uid/gid 0)");
	bool privileged = geteuid() == 0;
	if (privileged && (cfg->uid >= SANDBOX_HOST_ID_COUNT || cfg->gid >= SANDBOX_HOST_ID_COUNT))
		return err_set(err, -EINVAL, "sandbox: uid/gid must be below %u", SANDBOX_HOST_ID_COUNT);
	for (size_t i = 0; i < cfg->nmounts; i++)
		if (!cfg->mounts[i].src || !cfg->mounts[i].dst || cfg->mounts[i].dst[0] != '/')
			return err_set(err, -EINVAL, "sandbox: mount %zu: destination must be absolute", i);

	const struct sandbox_limits *lim = &cfg->limits;
	uint64_t memory = lim->memory_bytes ? lim->memory_bytes : SANDBOX_DEFAULT_MEMORY;
	uint64_t pids = lim->pids ? lim->pids : SANDBOX_DEFAULT_PIDS;
	uint64_t disk = lim->disk_bytes ? lim->disk_bytes : SANDBOX_DEFAULT_DISK;

	struct run_state s = {
		.root_lower_fd = -1, .ws_lower_fd = -1, .sock = {-1, -1}, .out = {-1, -1},
		.errp = {-1, -1}, .master = -1, .sigfd = -1, .uppers = {-1, -1},
		.pid = -1,
	};
	int r = run_inner(&s, cfg, privileged, memory, pids, disk, capture, userdata, ret, err);
	if (r >= 0 && ret_tail) {
		/* Only pid 1, alone and exiting, and the empty cgroups remain. */
		struct sandbox_tail *t = xcalloc(1, sizeof *t);
		t->pid = s.pid;
		t->cg = s.cg;
		t->cg_left = s.cg.vacated;

		/* Already empty: pooled or removed now, a few renames (a thread
		 * to overlap them with the record cost more than they do). */
		if (t->cg_left)
			sbx_cgroups_release(&t->cg);
		s.pid = -1;
		memset(&s.cg, 0, sizeof s.cg);
		*ret_tail = t;
	}
	run_state_release(&s);
	return r < 0 ? r : 0;
}

int sandbox_run(const struct sandbox_config *cfg,
		int (*capture)(int upper_root_dfd, int upper_ws_dfd, void *userdata,
			       struct err *err),
		void *userdata, struct sandbox_result *ret, struct err *err)
{
	struct sandbox_tail *tail = NULL;
	int r = sandbox_run_deferred(cfg, capture, userdata, ret, &tail, err);
	sandbox_tail_finish(tail, true);
	return r;
}

void sandbox_tail_finish(struct sandbox_tail *t, bool reap)
{
	if (!t)
		return;
	/* Released already if pid 1 left them; else once it is gone. */
	if (t->pid > 0)
		while (waitpid(t->pid, NULL, reap || !t->cg_left ? 0 : WNOHANG) < 0 && errno == EINTR)
			;
	sbx_cgroups_release(&t->cg);
	free(t);
}

/* ---- doctor ---- */

struct probe {
	unsigned prot;
	char text[3072];
};

static void probe_line(struct probe *p, unsigned bit, const char *what, int ok, int e)
{
	size_t n = strlen(p->text);
	if (ok) {
		p->prot |= bit;
		snprintf(p->text + n, sizeof p->text - n, "%s: ok\n", what);
	} else {
		snprintf(p->text + n, sizeof p->text - n, "%s: missing: %s\n", what, strerror(e));
	}
}

/* Runs in a forked child: tries each namespace and an overlay mount in a
 * user namespace of its own. */
__attribute__((noreturn)) static void probe_child(int wfd)
{
	struct probe p = {0};
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int ok = unshare(CLONE_NEWUSER) == 0;
	probe_line(&p, SANDBOX_P_USERNS, "user namespace", ok, errno);
	if (ok) {
		char map[64];
		sbx_write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
		sbx_write_file("/proc/self/uid_map", map);
		snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
		sbx_write_file("/proc/self/gid_map", map);
		static const struct {
			int flag;
			unsigned bit;
			const char *name;
		} ns[] = {
			{CLONE_NEWNS, SANDBOX_P_MNTNS, "mount namespace"},
			{CLONE_NEWPID, SANDBOX_P_PIDNS, "pid namespace"},
			{CLONE_NEWNET, SANDBOX_P_NETNS, "network namespace"},
			{CLONE_NEWIPC, SANDBOX_P_IPCNS, "ipc namespace"},
			{CLONE_NEWUTS, SANDBOX_P_UTSNS, "uts namespace"},
			{CLONE_NEWCGROUP, SANDBOX_P_CGROUPNS, "cgroup namespace"},
		};
		for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
			int r = unshare(ns[i].flag);
			probe_line(&p, ns[i].bit, ns[i].name, r == 0, errno);
		}
		int r = -1;
		if ((p.prot & SANDBOX_P_MNTNS) && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("airlock", "/tmp", "tmpfs", 0, "size=1m") == 0 && mkdir("/tmp/l", 0755) == 0 &&
		    mkdir("/tmp/u", 0755) == 0 && mkdir("/tmp/w", 0755) == 0 && mkdir("/tmp/m", 0755) == 0)
			r = mount("overlay", "/tmp/m", "overlay", 0,
				  "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w,userxattr");
		probe_line(&p, SANDBOX_P_OVERLAY | SANDBOX_P_DISK, "overlayfs in a user namespace", r == 0,
			   errno);
	}
	/* The real program, loaded for real: this probe exits right after. */
	struct err e = {0};
	int lr = sbx_filter_load(false, &e);
	probe_line(&p, SANDBOX_P_SECCOMP | SANDBOX_P_NONEWPRIVS | SANDBOX_P_CAPS_DROPPED,
		   "seccomp filter", lr == 0, -lr);
	(void)!write(wfd, &p, sizeof p);
	_exit(0);
}

int sandbox_doctor(struct buf *report, unsigned *ret_protections, struct err *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_errno(err, "doctor: pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_errno(err, "doctor: fork");
	}
	if (pid == 0) {
		close(pfd[0]);
		probe_child(pfd[1]);
	}
	close(pfd[1]);
	struct probe p = {0};
	ssize_t n;
	do
		n = read(pfd[0], &p, sizeof p);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof p)
		return err_set(err, -EIO, "doctor: probe died");
	buf_puts(report, p.text);
	if (!(p.prot & SANDBOX_P_USERNS) || !(p.prot & SANDBOX_P_OVERLAY) ||
	    !(p.prot & SANDBOX_P_SECCOMP))
		buf_puts(report, "sandbox: UNAVAILABLE (runs will fail closed)\n");
	p.prot |= SANDBOX_P_UNPRIV_UID;
	sbx_cgroups_describe(report, &p.prot);
	*ret_protections = p.prot;
	return 0;
}
