/* sandbox-int: what the parent (sandbox.c), the child (sandbox-child.c), the
 * seccomp filter (sandbox-filter.c) and the limits (sandbox-limits.c) share.
 * Not a public interface. */
#ifndef AIRLOCK_RUNNER_SANDBOX_INT_H
#define AIRLOCK_RUNNER_SANDBOX_INT_H

#include <linux/filter.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "runner/sandbox.h"

/* Messages on the SOCK_SEQPACKET socketpair between parent and child. */
enum sbx_msg_type {
	SBX_MSG_GO = 1,    /* parent -> child: maps written */
	SBX_MSG_CGROUPS,   /* parent -> child: cgroups joined (the agent may start) */
	SBX_MSG_ERR,       /* child -> parent: setup failed; err */
	SBX_MSG_READY,     /* child -> parent: mounts done; SCM_RIGHTS: the root
			    * upper, the workspace upper (if any), the pty
			    * master (if cfg->tty) */
	SBX_MSG_EXIT,      /* child -> parent: agent's wait status, exec errno */
};

/* At most one cgroup per controller we limit (memory, pids, cpu). */
#define SBX_CGROUP_MAX 3
/* Fds on one message: READY up to 3, CGROUPS a join and a leave fd per
 * cgroup. */
#define SBX_MAX_FDS (2 * SBX_CGROUP_MAX)

struct sbx_msg {
	int type;
	int status;     /* SBX_MSG_EXIT: wait status of the agent */
	int exec_errno; /* SBX_MSG_EXIT: errno of a failed execve, else 0 */
	int nfds;       /* fds attached: SBX_MSG_READY 1 to 3; SBX_MSG_CGROUPS
			 * njoin fds to join, then as many to leave by */
	int njoin;      /* SBX_MSG_CGROUPS */
	bool left_cgroups; /* SBX_MSG_EXIT: pid 1 moved itself out of the run's cgroups */
	bool lo_up;     /* SBX_MSG_CGROUPS: the parent brought lo up */
	struct winsize winsize; /* SBX_MSG_CGROUPS: the caller's terminal (cfg->tty), or zeros */
	bool rlimit_memory, rlimit_pids; /* SBX_MSG_CGROUPS: no cgroup for it, use rlimits */
	struct err err; /* SBX_MSG_ERR: what failed; SBX_MSG_EXIT: exec message */
	struct rusage rusage; /* SBX_MSG_EXIT: of everything the sandbox ran */
};

/* Sends m with nfds (0 to SBX_MAX_FDS) fds attached. 0 or -errno. */
int sbx_send_msg(int sock, const struct sbx_msg *m, const int *fds, int nfds);
/* Receives one message; the fds attached go to fds[] (O_CLOEXEC; -1 in
 * the entries beyond those sent; more than SBX_MAX_FDS never arrive, the
 * kernel drops them); with fds NULL they are closed. Returns bytes, 0 on
 * EOF, -errno. */
ssize_t sbx_recv_msg(int sock, struct sbx_msg *m, int fds[SBX_MAX_FDS]);

/* Everything the child needs, prepared by the parent before clone so that
 * the child only makes system calls (and allocates only in the agent). */
struct sbx_child {
	const struct sandbox_config *cfg;
	int sock;                 /* child end of the socketpair */
	int root_lower_fd;        /* O_PATH dirs opened by the parent */
	int ws_lower_fd;          /* or -1 */
	int *mount_src_fds;       /* cfg->nmounts O_PATH fds */
	int stdin_fd, stdout_fd, stderr_fd; /* what becomes 0,1,2 (-1: /dev/null) */
	int tty_slave_fd;         /* -1; with cfg->tty the child opens it in its devpts */
	int leave_fds[SBX_CGROUP_MAX]; /* from SBX_MSG_CGROUPS: pid 1 leaves the run's cgroups by them */
	int nleave;
	bool privileged;          /* parent is root: range mapping */
	uint64_t disk_bytes, memory_bytes, pids;
	bool rlimit_memory, rlimit_pids; /* from SBX_MSG_CGROUPS */
	int lastcap;              /* the highest capability number this kernel has */
	bool build_mode;
	const char *workdir;
	const char *hostname;
};

/* The highest capability number of the running kernel. */
int sbx_last_cap(void);

/* Brings up lo in the network namespace of pid, or in ours if pid is 0
 * (sandbox-net.c). As root the parent does it for the child while the
 * child builds its mounts; an unprivileged parent may not enter the
 * child's namespace (setns wants CAP_SYS_ADMIN in our own user namespace
 * too), so there, or if the parent failed, the child does it.
 * -ENOTRECOVERABLE: the caller is left in pid's namespace. */
int sbx_loopback_up(pid_t pid, struct err *err);

/* Child entry after clone; never returns. */
__attribute__((noreturn)) void sbx_child_main(struct sbx_child *c);

/* The seccomp program for agents (build_mode false) or RUN steps, as
 * BPF ready for seccomp(SECCOMP_SET_MODE_FILTER). tools/seccomp-gen.c
 * compiles the profile (sandbox-filter.c) when airlock is built, not per
 * run: that took ~1.5 ms of every run, and keeps libseccomp out of the
 * light binary. */
void sbx_filter_program(bool build_mode, const struct sock_filter **ret_insns, size_t *ret_n);
/* Sets no_new_privs and loads that program into the calling thread; from
 * here on only the allowlist. 0 or -errno, err naming the step. */
int sbx_filter_load(bool build_mode, struct err *err);

/* Cgroup limits for one run. */
struct sbx_cgroups {
	int version;       /* 0 none, 1 or 2 */
	char *paths[SBX_CGROUP_MAX]; /* owned: the run's cgroup dirs (v2 uses [0]) */
	bool memory, pids, cpu;
	bool vacated;      /* set by the caller: no task is left in them */
	bool born_in;      /* v2: the child was cloned into paths[0] */
	struct buf why;    /* between the two setup steps: why not cgroups */
	void *where;       /* between the two setup steps: the hierarchies */
};

/* The run's cgroups, in two steps. sbx_cgroups_begin, before the clone,
 * finds the hierarchies and, where cgroup v2 has the controllers, makes the
 * run's cgroup and sets its limits, so the child can be cloned into it
 * (clone3 CLONE_INTO_CGROUP: a move into a cgroup takes the kernel's
 * global threadgroup lock, whose first taker waits an RCU grace period,
 * ~7 ms on v2 here). sbx_cgroups_setup, after the clone and while the
 * child builds its mounts, does the v1 hierarchies if v2 could not, and
 * records in `enforced` how each limit is (or is not) enforced. Neither
 * fails hard: what cannot be done with cgroups is left to rlimits
 * (cg->memory/pids false). */
void sbx_cgroups_begin(struct sbx_cgroups *cg, const struct sandbox_limits *lim,
		       uint64_t memory, uint64_t pids);
void sbx_cgroups_setup(struct sbx_cgroups *cg, const struct sandbox_limits *lim,
		       uint64_t memory, uint64_t pids, struct buf *enforced);
/* The namespaces' clone (fork-like: no new stack), into cgroup_fd (a v2
 * cgroup directory) if it is not -1 and the kernel can; *ret_into says
 * whether it did. Returns the pid, 0 in the child, or -errno. */
long sbx_clone(unsigned long flags, int cgroup_fd, bool *ret_into);
/* Opens, for the child to write "0" to, the file of each of the run's
 * cgroups that moves the writer in: "tasks" on v1, "cgroup.procs" on v2
 * (the first *ret_njoin of fds[]). Opened here so the permission is the
 * parent's (the opener's credentials count, not the writer's). On v1 a
 * task moving itself alone skips the kernel's global threadgroup lock,
 * whose first taker waits a whole RCU grace period (~13 ms here); moving
 * it by pid from the parent always took that lock. v2 forbids moving a
 * lone thread across domains, so there the write takes the lock.
 * On v1 also the "tasks" files of the parents (the *ret_nleave after them): pid
 * 1 moves itself back out once the agent and all it started are dead, so
 * the run's cgroups can go without waiting for pid 1's exit. v2 forbids
 * processes in a parent with controllers, so there are none on v2. -errno. */
int sbx_cgroups_join_fds(const struct sbx_cgroups *cg, int fds[2 * SBX_CGROUP_MAX], int *ret_njoin,
			 int *ret_nleave, struct err *err);
/* Removes the cgroup dirs (they must be empty) and frees cg. On v1, if
 * cg->vacated, they go back to a small pool of idle cgroups instead
 * ("airlock-idle-N", N below SBX_CGROUP_POOL, per hierarchy), which a later
 * run claims by an atomic rename once nothing unreclaimable is charged to
 * it any more: making and removing a memory cgroup, and the kernel's work
 * to retire it, cost more than the rest of the cgroup handling together.
 * v2 cannot rename cgroups, so there they go. */
#define SBX_CGROUP_POOL 8
void sbx_cgroups_release(struct sbx_cgroups *cg);
/* Appends the cgroup situation of this machine to report (doctor). */
void sbx_cgroups_describe(struct buf *report, unsigned *protections);

/* The child is the critical path from its clone to the agent's start,
 * and the parent has work to do meanwhile (cgroups, lo). When the kernel
 * queued the new child on the parent's CPU, it would wait for all of
 * that: in about half the runs here, ~0.3 ms. sbx_step_aside then moves
 * the caller to its other allowed CPUs (a->saved), and sbx_step_back, due
 * before it waits for the child, restores its mask. */
struct sbx_aside {
	cpu_set_t cpus;
	bool saved;
};
void sbx_step_aside(struct sbx_aside *a, pid_t child);
void sbx_step_back(struct sbx_aside *a);

/* Writes all of s to path (O_WRONLY|O_CLOEXEC, no O_CREAT). -errno. */
int sbx_write_file(const char *path, const char *s);

#endif
