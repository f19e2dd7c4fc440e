/* sandbox: run one command in a throwaway sandbox over already-materialised
 * directories. This is airlock's security boundary (DESIGN.md invariant 4).
 *
 * What a run gets:
 *  - new user, mount, pid, net (loopback only), ipc, uts and cgroup
 *    namespaces; the old root is pivoted away and detached;
 *  - "/" an overlay: root_lower read-only, an empty upper; "/workspace" a
 *    second overlay over workspace_lower. Both uppers live on one private
 *    tmpfs of limits.disk_bytes, so a full disk is ENOSPC inside and the host
 *    disk is never written;
 *  - fresh /proc (sensitive files masked or read-only), a minimal /dev
 *    (null zero full random urandom tty, devpts, shm), /tmp on the uppers' tmpfs;
 *  - the command as an unprivileged uid, no capabilities (bounding and
 *    ambient sets too), no_new_privs, a default-deny seccomp allowlist, only
 *    fds 0, 1, 2, the environment exactly as cfg->envp;
 *  - pid 1 is our init: it reaps, forwards signals and reports the status;
 *    if airlock dies (even SIGKILL) the whole sandbox dies.
 *
 * Id mapping (the decision):
 *  - started by root: inside ids 0..65535 map to host SANDBOX_HOST_ID_BASE +
 *    id (default 100000), so inside uid 1000 is host uid 101000; nothing
 *    inside is ever host root. Files in a lower owned by an unmapped host id
 *    (e.g. host root) show as nobody:nogroup (65534) and are readable
 *    through their "other" bits; a caller that wants the agent to own its
 *    workspace files materialises them owned by sandbox_host_uid().
 *  - started by an unprivileged user: the only mapping possible without
 *    newuidmap: the inside uid/gid map to the caller's uid/gid.
 */
#ifndef AIRLOCK_RUNNER_SANDBOX_H
#define AIRLOCK_RUNNER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "lib/err.h"

#define SANDBOX_HOST_ID_BASE 100000u
#define SANDBOX_HOST_ID_COUNT 65536u

/* Defaults when a limit is 0. cpus 0 means "no cpu limit". */
#define SANDBOX_DEFAULT_MEMORY (4ull << 30)
#define SANDBOX_DEFAULT_PIDS 4096u
#define SANDBOX_DEFAULT_DISK (4ull << 30)
#define SANDBOX_KILL_GRACE_MS 2000u

/* Exit codes of the contract (DESIGN.md). */
#define SANDBOX_EXIT_TIMEOUT 124
#define SANDBOX_EXIT_SETUP 125
#define SANDBOX_EXIT_NOEXEC 126
#define SANDBOX_EXIT_NOTFOUND 127

/* A bind mount the user named. src is a host path (followed, it is the
 * user's), dst an absolute path inside, resolved inside the new root (a
 * symlink in the image cannot point it at the host). Read-only unless rw. */
struct sandbox_mount {
	const char *src;
	const char *dst;
	bool rw;
};

/* 0 means the default above. disk_bytes sizes the one tmpfs holding both
 * uppers and /tmp. */
struct sandbox_limits {
	uint64_t timeout_ms, memory_bytes, pids, cpus_milli, disk_bytes;
};

/* Everything borrowed: the strings and arrays need only live until
 * sandbox_run returns. */
struct sandbox_config {
	const char *root_lower;      /* read-only image root dir; required */
	const char *workspace_lower; /* read-only dir for /workspace, or NULL */
	const char *workdir;         /* cwd inside; NULL: "/workspace" or "/" */
	char *const *argv;           /* argv[0] searched in envp's PATH if it has no '/' */
	char *const *envp;           /* complete environment; nothing of ours is added */
	uint32_t uid, gid;           /* inside ids; 0 is refused unless build_mode */
	bool build_mode;             /* image RUN steps: root inside allowed, keeps
				      * Docker's default capability set in the userns */
	const char *hostname;        /* NULL: "airlock" */
	const struct sandbox_mount *mounts;
	size_t nmounts;
	struct sandbox_limits limits;
	bool tty;                    /* pty, raw mode, SIGWINCH forwarded */
	bool interactive;            /* stdin connected; else /dev/null */
	int stdout_capture_fd;       /* -1, or gets a copy of the stream */
	int stderr_capture_fd;
};

/* Bits of sandbox_result.protections and sandbox_doctor. */
enum {
	SANDBOX_P_USERNS = 1u << 0,
	SANDBOX_P_MNTNS = 1u << 1,
	SANDBOX_P_PIDNS = 1u << 2,
	SANDBOX_P_NETNS = 1u << 3,
	SANDBOX_P_IPCNS = 1u << 4,
	SANDBOX_P_UTSNS = 1u << 5,
	SANDBOX_P_CGROUPNS = 1u << 6,
	SANDBOX_P_SECCOMP = 1u << 7,
	SANDBOX_P_NONEWPRIVS = 1u << 8,
	SANDBOX_P_CAPS_DROPPED = 1u << 9,
	SANDBOX_P_OVERLAY = 1u << 10,
	SANDBOX_P_MEMORY_CG = 1u << 11, /* memory limit by a cgroup (else rlimit) */
	SANDBOX_P_PIDS_CG = 1u << 12,
	SANDBOX_P_CPU_CG = 1u << 13,
	SANDBOX_P_DISK = 1u << 14,      /* uppers on a sized tmpfs */
	SANDBOX_P_UNPRIV_UID = 1u << 15, /* agent is not host root and not inside root */
};

struct sandbox_result {
	int exit_code;       /* command's status; 124 timeout; 126 not executable;
			      * 127 not found; 128+N killed by signal N */
	int term_signal;     /* N if killed by a signal, else 0 */
	bool timed_out;
	uint64_t duration_ms, max_rss_kb, user_cpu_ms, sys_cpu_ms;
	unsigned protections; /* SANDBOX_P_* actually in force */
	char enforced[512];   /* how each limit was enforced, human text */
	char message[512];    /* "" or why the command did not start (126/127) */
};

/* Runs cfg->argv in a sandbox and waits for it. Returns 0 when the command
 * ran (whatever its status: see ret->exit_code), or -errno when the sandbox
 * could not be set up (the contract's 125; err names the step, e.g.
 * "sandbox: pivot_root: ..."). Fails closed: a protection this machine lacks
 * (user namespaces, overlayfs, seccomp) is an error, never skipped.
 *
 * capture, if not NULL, is called after the command and every process of
 * the sandbox have exited and before the uppers are freed, with read-only
 * directory fds of the root upper and the workspace upper (-1 without a
 * workspace). The fds are borrowed: valid during the call only. The uppers
 * hold what overlayfs wrote: whiteouts are 0:0 character devices, opaque
 * directories carry user.overlay.opaque (the overlays are mounted from a
 * user namespace with "userxattr"). A capture error is returned as is.
 *
 * Blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH while it runs and
 * forwards them to the sandbox; the caller's mask is restored on return.
 * With cfg->tty the terminal on stdin is put in raw mode and restored on
 * every return path. Not thread-safe (uses fork-like clone); call it from a
 * single-threaded process. */
int sandbox_run(const struct sandbox_config *cfg,
		int (*capture)(int upper_root_dfd, int upper_ws_dfd, void *userdata,
			       struct err *err),
		void *userdata, struct sandbox_result *ret, struct err *err);

/* sandbox_run, except that on success the last of the teardown is left
 * to the caller: pid 1, alone in the sandbox and exiting, is waited for
 * and the run's cgroups removed by sandbox_tail_finish(*ret_tail, ...),
 * which must be called (with NULL too). Lets the caller write its record
 * while the kernel tears the namespaces down.
 *
 * With reap false, pid 1 is not waited for if it already left the run's
 * cgroups (cgroup v1): the kernel finishes its exit while the caller goes
 * on, like bubblewrap's monitor, which exits on pid 1's report. Its zombie
 * goes to whoever reaps the caller's children (its parent's init once the
 * caller exits): for a caller about to exit. */
struct sandbox_tail;
int sandbox_run_deferred(const struct sandbox_config *cfg,
			 int (*capture)(int upper_root_dfd, int upper_ws_dfd, void *userdata,
					struct err *err),
			 void *userdata, struct sandbox_result *ret, struct sandbox_tail **ret_tail,
			 struct err *err);
void sandbox_tail_finish(struct sandbox_tail *t, bool reap);

/* The host uid that inside uid `inside` maps to for a run started by this
 * process (see "Id mapping" above). */
uid_t sandbox_host_uid(uid_t inside);

/* Probes what this machine provides (each namespace, overlayfs in a user
 * namespace, seccomp, cgroup controllers) by trying it in a short-lived
 * child, appends one line per item ("ok"/"missing: why") to report, and
 * sets *ret_protections. Returns 0, or -errno if probing itself failed. */
int sandbox_doctor(struct buf *report, unsigned *ret_protections, struct err *err);

#endif
