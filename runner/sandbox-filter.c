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
 *    other table (both compilers check the arch and the x32 bit).
 *
 * The profile is data (name lists and argument rules) with two compilers:
 * libseccomp (sbx_filter_new, here), the reference the unit tests hold
 * the embedded program to, and tools/seccomp-gen.c, which writes that
 * program as a tree over ranges of syscall numbers, a fifth of
 * libseccomp's length, because every run pays the kernel to load it.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
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

/* personality: only the values Docker allows (Linux, PER_LINUX32,
 * UNAME26, query); READ_IMPLIES_EXEC and friends get ENOSYS. */
static const uint64_t personalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

/* clone: allowed without namespace flags; each namespace flag EPERM.
 * (On s390 the flags are the second argument; x86_64/arm64 first.) */
static const uint64_t ns_flags[] = {CLONE_NEWNS,   CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
				    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};

/* ioctl: TIOCSTI pushes input into a terminal, TIOCLINUX can too
 * (CVE-2017-5226, CVE-2023-1523). The kernel reads the command as 32 bits,
 * so only the low half is compared: with a 64-bit comparison, 1<<32 |
 * TIOCSTI passes and still runs TIOCSTI. (libseccomp's SCMP_A1_32 does
 * not help: it only casts the value and compares both halves.) */
static const uint64_t tty_push[] = {TIOCSTI, TIOCLINUX};

static const struct sbx_arg_rule rules[] = {
	{"personality", 0, SBX_CMP_EQ, personalities, ARRAY_SIZE(personalities), SBX_ACT_ALLOW,
	 SBX_ACT_ERRNO(ENOSYS)},
	{"clone", 0, SBX_CMP_ANY_BIT, ns_flags, ARRAY_SIZE(ns_flags), SBX_ACT_ERRNO(EPERM),
	 SBX_ACT_ALLOW},
	{"ioctl", 1, SBX_CMP_EQ32, tty_push, ARRAY_SIZE(tty_push), SBX_ACT_ERRNO(EPERM),
	 SBX_ACT_ALLOW},
};
/* clone3 is deliberately on no list: the default ENOSYS applies. */

#define LIST(act, a) {act, a, ARRAY_SIZE(a)}
static const struct sbx_name_list lists_agent[] = {
	LIST(SBX_ACT_ALLOW, allowed),
	LIST(SBX_ACT_ERRNO(EPERM), denied_eperm),
};
static const struct sbx_name_list lists_build[] = {
	LIST(SBX_ACT_ALLOW, allowed),
	LIST(SBX_ACT_ALLOW, allowed_build),
	LIST(SBX_ACT_ERRNO(EPERM), denied_eperm),
};
#undef LIST

void sbx_profile_get(bool build_mode, struct sbx_profile *ret)
{
	*ret = (struct sbx_profile){
		.def = SBX_ACT_ERRNO(ENOSYS),
		.bad_arch = SBX_ACT_ERRNO(EPERM),
		.lists = build_mode ? lists_build : lists_agent,
		.n_lists = build_mode ? ARRAY_SIZE(lists_build) : ARRAY_SIZE(lists_agent),
		.rules = rules,
		.n_rules = ARRAY_SIZE(rules),
	};
}

_Static_assert(SBX_ACT_ALLOW == SCMP_ACT_ALLOW && SBX_ACT_ERRNO(1) == SCMP_ACT_ERRNO(1),
	       "libseccomp and the kernel encode actions alike");

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int sbx_arg_rule_values(const struct sbx_arg_rule *a, uint32_t def,
			uint64_t ret_values[SBX_VALUES_MAX], struct err *err)
{
	if (a->n == 0 || a->n > SBX_VALUES_MAX || a->arg > 5 || a->match == a->otherwise ||
	    (a->cmp != SBX_CMP_EQ && a->cmp != SBX_CMP_EQ32 && a->cmp != SBX_CMP_ANY_BIT))
		return err_set(err, -EINVAL, "seccomp rule for %s: malformed", a->name);
	if (a->cmp == SBX_CMP_EQ && a->otherwise != def)
		return err_set(err, -EINVAL,
			       "seccomp rule for %s: SBX_CMP_EQ needs otherwise to be the default",
			       a->name);
	uint64_t *v = ret_values;
	memcpy(v, a->values, a->n * sizeof *v);
	qsort(v, a->n, sizeof *v, cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (a->cmp != SBX_CMP_EQ && v[i] >> 32)
			return err_set(err, -EINVAL, "seccomp rule for %s: value above 32 bits",
				       a->name);
		if (n == 0 || v[i] != v[n - 1])
			v[n++] = v[i];
	}
	return (int)n;
}

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

/* Adds a rule giving act to every argument whose low 32 bits are none of
 * v[0..n) (sorted, distinct, below 2^32, n >= 1), all sharing the bits
 * above `bit` with prefix: walking the values' binary trie down from bit
 * 31, each branch no value takes is one class of numbers, one masked
 * comparison. At most 32 rules per value. */
static int add_eq32_complement(scmp_filter_ctx ctx, const struct sbx_arg_rule *a, uint32_t act,
			       const uint64_t *v, size_t n, unsigned bit, uint32_t prefix,
			       struct err *err)
{
	uint32_t b = UINT32_C(1) << bit, mask = UINT32_MAX << bit;
	size_t zeros = 0;
	while (zeros < n && !(v[zeros] & b))
		zeros++;
	for (int side = 0; side <= 1; side++) {
		const uint64_t *sub = side ? v + zeros : v;
		size_t n_sub = side ? n - zeros : zeros;
		uint32_t p = prefix | (side ? b : 0);
		int r = 0;
		if (n_sub == 0) {
			struct scmp_arg_cmp c = SCMP_CMP(a->arg, SCMP_CMP_MASKED_EQ, mask, p);
			r = add(ctx, act, a->name, 1, &c, err);
		} else if (bit > 0) {
			r = add_eq32_complement(ctx, a, act, sub, n_sub, bit - 1, p, err);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* libseccomp lets an unconditional rule swallow conditional rules of
 * another action and compares an argument once per rule, so `otherwise`,
 * unless it is the default, becomes rules that cover exactly the
 * arguments that match no value; then one rule per value (per bit for
 * SBX_CMP_ANY_BIT) gives `match`. */
static int add_arg_rule(scmp_filter_ctx ctx, uint32_t def, const struct sbx_arg_rule *a,
			struct err *err)
{
	uint64_t v[SBX_VALUES_MAX];
	int r = sbx_arg_rule_values(a, def, v, err);
	if (r < 0)
		return r;
	size_t n = (size_t)r;

	if (a->otherwise != def && a->cmp == SBX_CMP_ANY_BIT) {
		uint64_t mask = 0;
		for (size_t i = 0; i < n; i++)
			mask |= v[i];
		struct scmp_arg_cmp c = SCMP_CMP(a->arg, SCMP_CMP_MASKED_EQ, mask, 0);
		if ((r = add(ctx, a->otherwise, a->name, 1, &c, err)) < 0)
			return r;
	} else if (a->otherwise != def && a->cmp == SBX_CMP_EQ32) {
		if ((r = add_eq32_complement(ctx, a, a->otherwise, v, n, 31, 0, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t x = v[i];
		if (a->cmp != SBX_CMP_ANY_BIT) {
			/* A mask of the low half leaves the high half out. */
			struct scmp_arg_cmp c =
				a->cmp == SBX_CMP_EQ ? SCMP_CMP(a->arg, SCMP_CMP_EQ, x)
						     : SCMP_CMP(a->arg, SCMP_CMP_MASKED_EQ, UINT32_MAX, x);
			if ((r = add(ctx, a->match, a->name, 1, &c, err)) < 0)
				return r;
			continue;
		}
		for (unsigned b = 0; b < 32; b++) {
			uint64_t bit = UINT64_C(1) << b;
			struct scmp_arg_cmp c = SCMP_CMP(a->arg, SCMP_CMP_MASKED_EQ, bit, bit);
			if ((x & bit) && (r = add(ctx, a->match, a->name, 1, &c, err)) < 0)
				return r;
		}
	}
	return 0;
}

int sbx_filter_new(bool build_mode, scmp_filter_ctx *ret_ctx, struct err *err)
{
	struct sbx_profile p;
	sbx_profile_get(build_mode, &p);
	scmp_filter_ctx ctx = seccomp_init(p.def);
	if (!ctx)
		return err_set(err, -ENOMEM, "seccomp_init failed");
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, p.bad_arch);
	if (r < 0) {
		err_code(err, r, "seccomp: bad-arch action");
		goto fail;
	}
	/* We set no_new_privs ourselves, visibly, before loading. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree over syscall numbers, not a linear list: the closest
	 * libseccomp comes to the program seccomp-gen writes. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0) {
		err_code(err, r, "seccomp: binary tree optimization");
		goto fail;
	}
	for (size_t l = 0; l < p.n_lists; l++)
		for (size_t i = 0; i < p.lists[l].n; i++)
			if ((r = add(ctx, p.lists[l].action, p.lists[l].names[i], 0, NULL, err)) < 0)
				goto fail;
	for (size_t i = 0; i < p.n_rules; i++)
		if ((r = add_arg_rule(ctx, p.def, &p.rules[i], err)) < 0)
			goto fail;
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
