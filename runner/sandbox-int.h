/* sandbox-int: what the parent (sandbox.c), the child (sandbox-child.c), the
 * seccomp filter (sandbox-filter.c) and the limits (sandbox-limits.c) share.
 * Not a public interface. */
#ifndef AIRLOCK_RUNNER_SANDBOX_INT_H
#define AIRLOCK_RUNNER_SANDBOX_INT_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
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

#define SBX_MAX_FDS 3

struct sbx_msg {
	int type;
	int status;     /* SBX_MSG_EXIT: wait status of the agent */
	int exec_errno; /* SBX_MSG_EXIT: errno of a failed execve, else 0 */
	int nfds;       /* SBX_MSG_READY: 1 to SBX_MAX_FDS fds attached */
	uint32_t bpf_len; /* SBX_MSG_CGROUPS: bytes of seccomp BPF in the next packet */
	struct winsize winsize; /* SBX_MSG_CGROUPS: the caller's terminal (cfg->tty), or zeros */
	struct err err; /* SBX_MSG_ERR: what failed; SBX_MSG_EXIT: exec message */
};

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
	bool privileged;          /* parent is root: range mapping */
	uint64_t disk_bytes, memory_bytes, pids;
	bool rlimit_memory, rlimit_pids; /* no cgroup: enforce with rlimits */
	/* The seccomp program (BPF), received with SBX_MSG_CGROUPS: the
	 * parent compiles it while the child builds its mounts. Loaded by the
	 * agent just before execve. */
	struct sock_filter *bpf;
	size_t bpf_insns;
	bool build_mode;
	const char *workdir;
	const char *hostname;
};

/* Child entry after clone; never returns. */
__attribute__((noreturn)) void sbx_child_main(struct sbx_child *c);

/* Builds the seccomp filter (default ENOSYS; dangerous calls EPERM; bad
 * arch EPERM). Returns 0 and *ret_ctx, or -errno. build_mode allows the
 * calls a root RUN step needs (chown, setgroups, ...; they act on mapped
 * ids only). */
int sbx_filter_new(bool build_mode, scmp_filter_ctx *ret_ctx, struct err *err);

/* The same filter compiled to a BPF program (appended to out), ready for
 * seccomp(SECCOMP_SET_MODE_FILTER). */
#define SBX_BPF_MAX (4096 * 8)
int sbx_filter_bpf(bool build_mode, struct buf *out, struct err *err);

/* Cgroup limits for one run. */
struct sbx_cgroups {
	int version;       /* 0 none, 1 or 2 */
	char *paths[3];    /* owned: created cgroup dirs (v2 uses [0]) */
	bool memory, pids, cpu;
};

/* Creates the cgroup(s) for a run beneath our own cgroup, sets the limits
 * that the machine allows and records in `enforced` how each limit is (or
 * is not) enforced. Never fails hard: what cannot be done with cgroups is
 * left to rlimits (cg->memory/pids false). */
void sbx_cgroups_setup(struct sbx_cgroups *cg, const struct sandbox_limits *lim,
		       uint64_t memory, uint64_t pids, struct buf *enforced);
/* Moves pid into the run's cgroups. -errno. */
int sbx_cgroups_join(struct sbx_cgroups *cg, pid_t pid, struct err *err);
/* Removes the cgroup dirs (they must be empty) and frees cg. */
void sbx_cgroups_release(struct sbx_cgroups *cg);
/* Appends the cgroup situation of this machine to report (doctor). */
void sbx_cgroups_describe(struct buf *report, unsigned *protections);

/* Writes all of s to path (O_WRONLY|O_CLOEXEC, no O_CREAT). -errno. */
int sbx_write_file(const char *path, const char *s);

#endif
