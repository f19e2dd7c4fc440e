/* sandbox-filter: the agent's seccomp profile, a default-deny allowlist
 * modelled on Docker's default profile.
 *
 *  - A syscall not on the list fails with ENOSYS, never EPERM: libc and
 *    runtimes treat ENOSYS as "kernel too old" and fall back (clone3 ->
 *    clone, statx -> fstatat, fchmodat2 -> fchmodat...).
 *  - clone3 must be ENOSYS: its flags live in memory, where a BPF filter
 *    cannot read them, so it could create namespaces. Forcing the fallback
 *    to clone(2) puts the flags in a register, where they are filtered.
 *  - The dangerous calls (namespaces, mounts, keyrings, bpf, perf, io_uring
 *    which bypasses seccomp for its submitted operations, userfaultfd, kexec,
 *    modules, handles, reboot, swap, clocks, acct, quotas, syslog, ptrace and
 *    cross-process memory) fail with EPERM so tools report "not permitted".
 *  - Every non-native ABI (i386 via int 0x80, x32) fails with EPERM: a
 *    filter written for x86_64 numbers would otherwise be bypassed by the
 *    other table (libseccomp checks the arch and the x32 bit).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <sys/mman.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "runner/sandbox-filter.h"

static const char *const allowed[] = {
	"accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk", "cachestat",
	"capget", "capset", "chdir", "chmod", "chown", "clock_getres", "clock_gettime",
	"clock_nanosleep", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
	"dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait",
	"epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat", "exit",
	"exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr",
	"flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync",
	"ftruncate", "futex", "futex_waitv", "futimesat", "get_mempolicy", "get_robust_list",
	"get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid",
	"getgid", "getgroups", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
	"getppid", "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit", "getrusage",
	"getsid", "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getxattr",
	"inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
	"io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
	"ioprio_get", "ioprio_set", "kill", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "lchown", "lgetxattr", "link", "linkat", "listen", "listxattr",
	"llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise", "map_shadow_stack",
	"mbind", "membarrier", "memfd_create", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
	"mlock", "mlock2", "mlockall", "mmap", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
	"msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at",
	"nanosleep", "newfstatat", "open", "openat", "openat2", "pause", "pidfd_open",
	"pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
	"ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
	"pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
	"readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages",
	"removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
	"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr",
	"sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
	"semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto",
	"set_mempolicy", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid",
	"setfsuid", "setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid",
	"setresgid", "setresuid", "setreuid", "setrlimit", "setsid", "setsockopt", "setuid",
	"setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
	"signalfd4", "socket", "socketpair", "splice", "stat", "statfs", "statx", "symlink",
	"symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
	"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
	"timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate",
	"umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork",
	"vmsplice", "wait4", "waitid", "write", "writev",
};

/* Allowed only in build mode (they act on ids and paths of the user
 * namespace; the agent has no capability that makes them useful). */
static const char *const allowed_build[] = {"chroot"};

static const char *const denied_eperm[] = {
	"mount", "umount", "umount2", "pivot_root", "unshare", "setns", "fsopen", "fsconfig",
	"fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "keyctl", "add_key",
	"request_key", "bpf", "perf_event_open", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "userfaultfd", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "create_module", "open_by_handle_at", "reboot",
	"swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"stime", "acct", "quotactl", "quotactl_fd", "syslog", "ptrace", "process_vm_readv",
	"process_vm_writev", "kcmp", "pidfd_getfd", "lookup_dcookie", "nfsservctl", "vhangup",
	"iopl", "ioperm", "uselib", "ustat", "sysfs", "_sysctl", "fanotify_init", "vm86",
	"vm86old", "modify_ldt", "migrate_pages", "move_pages",
};

#define NS_FLAGS                                                                       \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |    \
	 CLONE_NEWNET | CLONE_NEWCGROUP)

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
	       const struct scmp_arg_cmp *args, struct err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* unknown to this libseccomp/arch: stays ENOSYS */
	int r = seccomp_rule_add_array(ctx, action, nr, n, args);
	if (r < 0 && r != -EEXIST)
		return err_code(err, r, "seccomp rule for %s", name);
	return 0;
}

int sbx_filter_new(bool build_mode, scmp_filter_ctx *ret_ctx, struct err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
	if (!ctx)
		return err_set(err, -ENOMEM, "seccomp_init failed");
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	if (r < 0) {
		err_code(err, r, "seccomp: bad-arch action");
		goto fail;
	}
	/* We set no_new_privs ourselves, visibly, before loading. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree over syscall numbers, not a linear list: the kernel
	 * evaluates the program for every syscall number when it loads it (to
	 * cache the always-allowed ones), and this halves that load time. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0) {
		err_code(err, r, "seccomp: binary tree optimization");
		goto fail;
	}

	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if ((r = add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL, err)) < 0)
			goto fail;
	if (build_mode)
		for (size_t i = 0; i < ARRAY_SIZE(allowed_build); i++)
			if ((r = add(ctx, SCMP_ACT_ALLOW, allowed_build[i], 0, NULL, err)) < 0)
				goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(denied_eperm); i++)
		if ((r = add(ctx, SCMP_ACT_ERRNO(EPERM), denied_eperm[i], 0, NULL, err)) < 0)
			goto fail;

	/* personality: only the values Docker allows (Linux, PER_LINUX32,
	 * UNAME26, query); READ_IMPLIES_EXEC and friends get ENOSYS. */
	static const unsigned long pers[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
	for (size_t i = 0; i < ARRAY_SIZE(pers); i++) {
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_EQ, pers[i]);
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1, &a);
		if (r < 0 && r != -EEXIST) {
			err_code(err, r, "seccomp rule for personality");
			goto fail;
		}
	}

	/* clone: allowed without namespace flags; each namespace flag EPERM.
	 * (On s390 the flags are the second argument; x86_64/arm64 first.) */
	{
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0);
		if ((r = add(ctx, SCMP_ACT_ALLOW, "clone", 1, &a, err)) < 0)
			goto fail;
		static const unsigned long nsf[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC,
						    CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
						    CLONE_NEWCGROUP};
		for (size_t i = 0; i < ARRAY_SIZE(nsf); i++) {
			struct scmp_arg_cmp b = SCMP_A0(SCMP_CMP_MASKED_EQ, nsf[i], nsf[i]);
			if ((r = add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &b, err)) < 0)
				goto fail;
		}
	}
	/* clone3 is deliberately on no list: the default ENOSYS applies
	 * (libseccomp refuses a rule equal to the default action). */

	/* ioctl: TIOCSTI pushes input into a terminal, TIOCLINUX can too
	 * (CVE-2017-5226, CVE-2023-1523). The kernel truncates the command to
	 * 32 bits, so only the low half is compared (a 64-bit compare is
	 * bypassed by setting high bits). libseccomp lets an unconditional
	 * allow swallow conditional denies, so the allow rules are written to
	 * cover everything except the two commands. */
	{
		static const struct scmp_arg_cmp allow_ranges[] = {
			SCMP_A1_32(SCMP_CMP_LT, TIOCSTI),
			SCMP_A1_32(SCMP_CMP_GT, TIOCLINUX),
		};
		for (size_t i = 0; i < ARRAY_SIZE(allow_ranges); i++)
			if ((r = add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &allow_ranges[i], err)) < 0)
				goto fail;
		for (unsigned long v = TIOCSTI + 1; v < TIOCLINUX; v++) {
			struct scmp_arg_cmp a = SCMP_A1_32(SCMP_CMP_EQ, v);
			if ((r = add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &a, err)) < 0)
				goto fail;
		}
		struct scmp_arg_cmp a = SCMP_A1_32(SCMP_CMP_EQ, TIOCSTI);
		struct scmp_arg_cmp b = SCMP_A1_32(SCMP_CMP_EQ, TIOCLINUX);
		if ((r = add(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &a, err)) < 0 ||
		    (r = add(ctx, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &b, err)) < 0)
			goto fail;
	}
	*ret_ctx = ctx;
	return 0;
fail:
	seccomp_release(ctx);
	return r < 0 ? r : -EINVAL;
}

int sbx_filter_bpf(bool build_mode, struct buf *out, struct err *err)
{
	scmp_filter_ctx ctx = NULL;
	int r = sbx_filter_new(build_mode, &ctx, err);
	if (r < 0)
		return r;
	int fd = memfd_create("airlock-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return err_errno(err, "seccomp: memfd");
	}
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (r < 0) {
		close(fd);
		return err_code(err, r, "seccomp: export the filter");
	}
	lseek(fd, 0, SEEK_SET);
	r = fs_read_fd(fd, SBX_BPF_MAX, out, err);
	close(fd);
	if (r < 0)
		return err_prefix(err, "seccomp: read the filter");
	if (out->len == 0 || out->len % sizeof(struct sock_filter))
		return err_set(err, -EIO, "seccomp: exported filter has %zu bytes", out->len);
	return 0;
}
