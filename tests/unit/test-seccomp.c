/* Unit tests for the seccomp programs built into airlock (sandbox-bpf.c,
 * written by tools/seccomp-gen.c from the profile in sandbox-filter.c).
 *
 * seccomp-gen writes its own program, not libseccomp's, so the test that
 * matters is equivalence: a classic-BPF interpreter (here, independent of
 * both compilers) runs the embedded program and the one libseccomp
 * compiles from the profile now, and they must return the same action for
 * every syscall number up to 1023, a sample of larger ones (x32's, -1),
 * every architecture value that matters, and, for the syscalls whose
 * arguments are checked, arguments at and around every boundary. A stale
 * generated header fails it too. Then the embedded programs are loaded
 * for real in a child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/macros.h"
#include "runner/sandbox-filter.h"
#include "runner/sandbox-int.h"

#define X32_BIT UINT32_C(0x40000000)
#define NS_FLAGS                                                                       \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |    \
	 CLONE_NEWNET | CLONE_NEWCGROUP)

/* ---- a classic BPF interpreter for seccomp programs ---- */

struct prog {
	const struct sock_filter *insns;
	size_t n;
};

/* Runs p on d as the kernel would and returns its action. Knows every
 * instruction seccomp accepts (seccomp_check_filter); anything else, or a
 * program the kernel would refuse on the way (a jump out of it, a load
 * outside seccomp_data, a division by zero), fails the test. */
static uint32_t bpf_run(struct prog p, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	for (size_t pc = 0;;) {
		if (pc >= p.n)
			fail_msg("bpf: ran off the end (pc %zu of %zu)", pc, p.n);
		const struct sock_filter *in = &p.insns[pc++];
		uint32_t k = in->k, src = BPF_SRC(in->code) == BPF_X ? x : k;
		bool cond = false;
		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (k % 4 || k > sizeof *d - 4)
				fail_msg("bpf: load at offset %u (pc %zu)", k, pc - 1);
			memcpy(&a, (const char *)d + k, 4);
			continue;
		case BPF_LD | BPF_W | BPF_LEN:
			a = sizeof *d;
			continue;
		case BPF_LDX | BPF_W | BPF_LEN:
			x = sizeof *d;
			continue;
		case BPF_LD | BPF_IMM:
			a = k;
			continue;
		case BPF_LDX | BPF_IMM:
			x = k;
			continue;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				fail_msg("bpf: scratch word %u (pc %zu)", k, pc - 1);
			if (in->code == (BPF_LD | BPF_MEM))
				a = mem[k];
			else if (in->code == (BPF_LDX | BPF_MEM))
				x = mem[k];
			else
				mem[k] = in->code == BPF_ST ? a : x;
			continue;
		case BPF_MISC | BPF_TAX:
			x = a;
			continue;
		case BPF_MISC | BPF_TXA:
			a = x;
			continue;
		case BPF_RET | BPF_K:
			return k;
		case BPF_RET | BPF_A:
			return a;
		case BPF_JMP | BPF_JA:
			if (k >= p.n - pc)
				fail_msg("bpf: ja beyond the end (pc %zu)", pc - 1);
			pc += k;
			continue;
		case BPF_ALU | BPF_NEG:
			a = -a;
			continue;
		default:
			break;
		}
		if (BPF_CLASS(in->code) == BPF_ALU) {
			switch (in->code & ~BPF_X) {
			case BPF_ALU | BPF_ADD:
				a += src;
				continue;
			case BPF_ALU | BPF_SUB:
				a -= src;
				continue;
			case BPF_ALU | BPF_MUL:
				a *= src;
				continue;
			case BPF_ALU | BPF_DIV:
			case BPF_ALU | BPF_MOD:
				if (src == 0)
					fail_msg("bpf: division by zero (pc %zu)", pc - 1);
				a = BPF_OP(in->code) == BPF_DIV ? a / src : a % src;
				continue;
			case BPF_ALU | BPF_AND:
				a &= src;
				continue;
			case BPF_ALU | BPF_OR:
				a |= src;
				continue;
			case BPF_ALU | BPF_XOR:
				a ^= src;
				continue;
			case BPF_ALU | BPF_LSH:
			case BPF_ALU | BPF_RSH:
				if (src >= 32)
					fail_msg("bpf: shift by %u (pc %zu)", src, pc - 1);
				a = BPF_OP(in->code) == BPF_LSH ? a << src : a >> src;
				continue;
			default:
				break;
			}
		} else if (BPF_CLASS(in->code) == BPF_JMP) {
			switch (in->code & ~BPF_X) {
			case BPF_JMP | BPF_JEQ:
				cond = a == src;
				break;
			case BPF_JMP | BPF_JGT:
				cond = a > src;
				break;
			case BPF_JMP | BPF_JGE:
				cond = a >= src;
				break;
			case BPF_JMP | BPF_JSET:
				cond = (a & src) != 0;
				break;
			default:
				fail_msg("bpf: unknown jump 0x%04x (pc %zu)", in->code, pc - 1);
			}
			size_t off = cond ? in->jt : in->jf;
			if (off >= p.n - pc)
				fail_msg("bpf: jump beyond the end (pc %zu)", pc - 1);
			pc += off;
			continue;
		}
		fail_msg("bpf: unknown opcode 0x%04x (pc %zu)", in->code, pc - 1);
	}
}

static uint32_t run_one(struct prog p, uint32_t arch, uint32_t nr, const uint64_t args[6])
{
	struct seccomp_data d = {.nr = (int)nr, .arch = arch, .instruction_pointer = 0x401000};
	memcpy(d.args, args, sizeof d.args);
	return bpf_run(p, &d);
}

/* The interpreter itself, on a hand-written program that uses scratch
 * memory, X, ALU and jumps with both K and X. */
static void test_interpreter(void **state)
{
	(void)state;
	static const struct sock_filter insns[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 1 */ BPF_STMT(BPF_ST, 3),
		/* 2 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff),
		/* 3 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 4 */ BPF_STMT(BPF_LD | BPF_MEM, 3),
		/* 5 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 8),
		/* 6 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0), /* (nr >> 8) + (nr & 0xff) */
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 10, 0, 3),
		/* 8 */ BPF_STMT(BPF_LDX | BPF_MEM, 3),
		/* 9 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
		/* 10 */ BPF_STMT(BPF_RET | BPF_A, 0),
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 3, 0),
		/* 12 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 1, 0),
		/* 13 */ BPF_STMT(BPF_RET | BPF_K, 1000),
		/* 14 */ BPF_STMT(BPF_JMP | BPF_JA, 1),
		/* 15 */ BPF_STMT(BPF_RET | BPF_K, 3000),
		/* 16 */ BPF_STMT(BPF_RET | BPF_K, 2000),
	};
	struct prog p = {insns, ARRAY_SIZE(insns)};
	uint64_t args[6] = {0};
	assert_int_equal(run_one(p, 0, 0x0a0a, args), 0x0a0a); /* 20 > 10: nr */
	assert_int_equal(run_one(p, 0, 0x0102, args), 2000);   /* 3, odd */
	assert_int_equal(run_one(p, 0, 0x0202, args), 1000);   /* 4, even */
	assert_int_equal(run_one(p, 0, 0x0007, args), 3000);   /* A == X: 7 == 7 */
}

/* ---- equivalence with libseccomp ---- */

struct progs {
	struct prog embedded, libseccomp;
	struct buf lib; /* owns libseccomp's instructions */
	bool build_mode;
	const char *mode;
};

static void progs_init(struct progs *ps, bool build_mode)
{
	struct err err = {0};
	*ps = (struct progs){.lib = BUF_INIT,
			     .build_mode = build_mode,
			     .mode = build_mode ? "build" : "agent"};
	sbx_filter_program(build_mode, &ps->embedded.insns, &ps->embedded.n);
	assert_int_equal(sbx_filter_bpf(build_mode, &ps->lib, &err), 0);
	ps->libseccomp.insns = (const void *)ps->lib.data;
	ps->libseccomp.n = ps->lib.len / sizeof(struct sock_filter);
}

static size_t n_checked;

static void same(const struct progs *ps, uint32_t arch, uint32_t nr, const uint64_t args[6])
{
	uint32_t e = run_one(ps->embedded, arch, nr, args);
	uint32_t l = run_one(ps->libseccomp, arch, nr, args);
	n_checked++;
	if (e != l)
		fail_msg("%s program: arch 0x%08x nr %u (0x%x) args 0x%llx 0x%llx 0x%llx 0x%llx "
			 "0x%llx 0x%llx: embedded returns 0x%08x, libseccomp 0x%08x",
			 ps->mode, arch, nr, nr, (unsigned long long)args[0],
			 (unsigned long long)args[1], (unsigned long long)args[2],
			 (unsigned long long)args[3], (unsigned long long)args[4],
			 (unsigned long long)args[5], e, l);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static const uint32_t arches[] = {
	AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64 ^ 1,
	AUDIT_ARCH_X86_64 & ~__AUDIT_ARCH_64BIT, 0, 0xffffffff, 0x12345678,
};

/* Every syscall number up to 1023, x32's, and samples of the rest, with
 * zero, all-ones and random arguments. */
static void check_numbers(const struct progs *ps)
{
	uint32_t nrs[1024 + 601 + 64 + 512];
	size_t n = 0;
	for (uint32_t i = 0; i < 1024; i++)
		nrs[n++] = i;
	for (uint32_t i = 0; i <= 600; i++)
		nrs[n++] = X32_BIT + i;
	static const uint32_t edges[] = {
		0x3ffffffe, 0x3fffffff, 0x40000000, 0x40000001, 0x7ffffffe, 0x7fffffff,
		0x80000000, 0x80000001, 0xbfffffff, 0xc0000000, 0xfffffffd, 0xfffffffe,
		0xffffffff, 0x0000ffff, 0x00010000, 0x00100000, 0x1fffffff, 0x20000000,
	};
	for (size_t i = 0; i < ARRAY_SIZE(edges); i++)
		nrs[n++] = edges[i];
	for (unsigned b = 10; b < 32; b++)
		nrs[n++] = UINT32_C(1) << b;
	for (size_t i = 0; i < 512; i++)
		nrs[n++] = (uint32_t)rnd();
	assert_true(n <= ARRAY_SIZE(nrs));

	for (size_t a = 0; a < ARRAY_SIZE(arches); a++)
		for (size_t i = 0; i < n; i++) {
			uint64_t zero[6] = {0}, ones[6], r[6];
			memset(ones, 0xff, sizeof ones);
			for (int j = 0; j < 6; j++)
				r[j] = rnd();
			same(ps, arches[a], nrs[i], zero);
			same(ps, arches[a], nrs[i], ones);
			same(ps, arches[a], nrs[i], r);
			/* The x32 bit on an otherwise native number. */
			same(ps, arches[a], nrs[i] | X32_BIT, zero);
		}
}

/* Arguments around v: v, its neighbours, v with each bit flipped, and v
 * with high halves that a 32-bit comparison must ignore and a 64-bit one
 * must not. */
static size_t around(uint64_t v, uint64_t *out)
{
	size_t n = 0;
	static const uint64_t highs[] = {0, UINT64_C(1) << 32, UINT64_C(0xffffffff) << 32,
					 UINT64_C(1) << 63, UINT64_C(0x12345678) << 32};
	for (size_t h = 0; h < ARRAY_SIZE(highs); h++) {
		uint64_t lo = v & 0xffffffff;
		out[n++] = highs[h] | lo;
		out[n++] = highs[h] | ((lo + 1) & 0xffffffff);
		out[n++] = highs[h] | ((lo - 1) & 0xffffffff);
	}
	out[n++] = v;
	out[n++] = v + 1;
	out[n++] = v - 1;
	for (unsigned b = 0; b < 64; b++)
		out[n++] = v ^ (UINT64_C(1) << b);
	return n;
}

/* Argument values of interest to anyone: every single bit, both halves
 * full, the namespace flags alone and together, the TTY ioctls and the
 * personalities, however the profile is written today. */
static size_t interesting(uint64_t *out)
{
	size_t n = 0;
	static const uint64_t fixed[] = {
		0,
		UINT64_MAX,
		0xffffffff,
		UINT64_C(0xffffffff) << 32,
		0x7fffffff,
		0x80000000,
		NS_FLAGS,
		~(uint64_t)NS_FLAGS,
		0xffffffff & ~(uint64_t)NS_FLAGS,
		CLONE_NEWUSER | SIGCHLD,
		CLONE_NEWUSER | CLONE_NEWNS,
		CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC,
		(UINT64_C(1) << 32) | CLONE_NEWUSER,
		(UINT64_C(1) << 32) | SIGCHLD,
		/* glibc's pthread_create and fork */
		CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
			CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
		CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD,
		CLONE_VFORK | CLONE_VM | SIGCHLD,
		TIOCSTI,
		TIOCLINUX,
		(UINT64_C(1) << 32) | TIOCSTI,
		(UINT64_C(1) << 32) | TIOCLINUX,
		(UINT64_C(0xffffffff) << 32) | TIOCSTI,
		TCGETS,
		TIOCGWINSZ,
		FIONREAD,
		FIONBIO,
		PER_LINUX,
		PER_LINUX32,
		UNAME26,
		PER_LINUX32 | UNAME26,
		READ_IMPLIES_EXEC,
		ADDR_NO_RANDOMIZE,
		PER_LINUX | ADDR_NO_RANDOMIZE,
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		n += around(fixed[i], out + n);
	for (uint64_t v = TIOCSTI - 2; v <= TIOCLINUX + 2; v++)
		out[n++] = v;
	return n;
}

static void check_syscall_arguments(const struct progs *ps, const char *name,
				    const uint64_t *vals, size_t n)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr < 0)
		return;
	for (unsigned arg = 0; arg < 6; arg++)
		for (size_t i = 0; i < n; i++) {
			uint64_t zero[6] = {0}, ones[6], r[6];
			memset(ones, 0xff, sizeof ones);
			for (int j = 0; j < 6; j++)
				r[j] = rnd();
			zero[arg] = ones[arg] = r[arg] = vals[i];
			same(ps, AUDIT_ARCH_X86_64, (uint32_t)nr, zero);
			same(ps, AUDIT_ARCH_X86_64, (uint32_t)nr, ones);
			same(ps, AUDIT_ARCH_X86_64, (uint32_t)nr, r);
			same(ps, AUDIT_ARCH_I386, (uint32_t)nr, zero);
		}
}

/* The syscalls with argument rules, and a few others whose arguments
 * must not matter: each argument in turn takes the values of interest
 * and those around each of the rules' values, the others being zero,
 * all-ones or random. */
static void check_arguments(const struct progs *ps)
{
	static uint64_t vals[8192];
	size_t n = interesting(vals);
	struct sbx_profile p;
	sbx_profile_get(ps->build_mode, &p);
	for (size_t i = 0; i < p.n_rules; i++)
		for (size_t j = 0; j < p.rules[i].n; j++) {
			assert_true(n + 512 < ARRAY_SIZE(vals));
			n += around(p.rules[i].values[j], vals + n);
		}
	for (size_t i = 0; i < 256; i++)
		vals[n++] = rnd();

	for (size_t i = 0; i < p.n_rules; i++)
		check_syscall_arguments(ps, p.rules[i].name, vals, n);
	/* clone, ioctl and personality again, should the profile drop them. */
	static const char *const others[] = {"clone", "ioctl", "personality", "clone3",
					     "unshare", "socket", "prctl", "chroot"};
	for (size_t i = 0; i < ARRAY_SIZE(others); i++)
		check_syscall_arguments(ps, others[i], vals, n);
}

static void test_embedded_equals_libseccomp(void **state)
{
	(void)state;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
		print_message("skipped: the sample is written for x86_64\n");
		skip();
	}
	for (int build = 0; build <= 1; build++) {
		struct progs ps;
		progs_init(&ps, build);
		n_checked = 0;
		check_numbers(&ps);
		check_arguments(&ps);
		print_message("%s program: %zu instructions (libseccomp's: %zu), %zu cases agree\n",
			      ps.mode, ps.embedded.n, ps.libseccomp.n, n_checked);
		buf_release(&ps.lib);
	}
}

/* The reason seccomp-gen exists: a program much shorter than
 * libseccomp's (which would pass the equivalence test too). */
static void test_embedded_is_short(void **state)
{
	(void)state;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64)
		skip();
	for (int build = 0; build <= 1; build++) {
		struct progs ps;
		progs_init(&ps, build);
		assert_true(ps.embedded.n * 3 <= ps.libseccomp.n);
		buf_release(&ps.lib);
	}
}

/* What the profile decides, independently of how either compiler
 * writes it: a bug shared by both would pass the equivalence test. */
static void test_profile_decisions(void **state)
{
	(void)state;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64)
		skip();
	const uint32_t allow = SECCOMP_RET_ALLOW, eperm = SECCOMP_RET_ERRNO | EPERM,
		       enosys = SECCOMP_RET_ERRNO | ENOSYS;
	for (int build = 0; build <= 1; build++) {
		struct prog p;
		sbx_filter_program(build, &p.insns, &p.n);
		const uint32_t x86 = AUDIT_ARCH_X86_64;
		uint64_t a[6] = {0};
#define EXPECT(want, arch, nr, a0, a1)                                                      \
	do {                                                                                \
		a[0] = (a0);                                                                \
		a[1] = (a1);                                                                \
		uint32_t got_ = run_one(p, arch, nr, a);                                    \
		if (got_ != (want))                                                         \
			fail_msg("%s: %s(0x%llx, 0x%llx) on 0x%x: 0x%x, want 0x%x",         \
				 build ? "build" : "agent", #nr, (unsigned long long)a[0],  \
				 (unsigned long long)a[1], arch, got_, want);               \
	} while (0)
		EXPECT(allow, x86, SYS_getpid, 0, 0);
		EXPECT(allow, x86, SYS_read, 0, 0);
		EXPECT(allow, x86, SYS_execve, 0, 0);
		EXPECT(enosys, x86, SYS_clone3, 0, 0);
		EXPECT(eperm, x86, SYS_unshare, CLONE_NEWUSER, 0);
		EXPECT(eperm, x86, SYS_mount, 0, 0);
		EXPECT(eperm, x86, SYS_bpf, 0, 0);
		EXPECT(eperm, x86, SYS_io_uring_setup, 0, 0);
		EXPECT(eperm, x86, SYS_ptrace, 0, 0);
		EXPECT(allow, x86, SYS_clone, SIGCHLD, 0);
		EXPECT(allow, x86, SYS_clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, 0);
		static const uint64_t ns[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,
					      CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
					      CLONE_NEWCGROUP};
		for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
			EXPECT(eperm, x86, SYS_clone, ns[i] | SIGCHLD, 0);
			EXPECT(eperm, x86, SYS_clone, ns[i] | (UINT64_C(1) << 40), 0);
		}
		EXPECT(eperm, x86, SYS_ioctl, 0, TIOCSTI);
		EXPECT(eperm, x86, SYS_ioctl, 0, TIOCLINUX);
		EXPECT(allow, x86, SYS_ioctl, 0, TCGETS);
		EXPECT(allow, x86, SYS_ioctl, 0, TIOCGWINSZ);
		EXPECT(allow, x86, SYS_ioctl, 0, TIOCSTI - 1);
		EXPECT(allow, x86, SYS_ioctl, 0, TIOCLINUX + 1);
		/* The kernel reads the command as 32 bits. */
		EXPECT(eperm, x86, SYS_ioctl, 0, (UINT64_C(1) << 32) | TIOCSTI);
		EXPECT(eperm, x86, SYS_ioctl, 0, (UINT64_C(0xffffffff) << 32) | TIOCLINUX);
		EXPECT(allow, x86, SYS_ioctl, 0, (UINT64_C(0xffffffff) << 32) | TCGETS);
		EXPECT(allow, x86, SYS_personality, 0xffffffff, 0);
		EXPECT(allow, x86, SYS_personality, PER_LINUX32, 0);
		EXPECT(enosys, x86, SYS_personality, READ_IMPLIES_EXEC, 0);
		EXPECT(enosys, x86, SYS_personality, (UINT64_C(1) << 32) | PER_LINUX, 0);
		EXPECT(build ? allow : enosys, x86, SYS_chroot, 0, 0);
		/* Other ABIs: i386 (int 0x80) and x32; -1 is no syscall. */
		EXPECT(eperm, AUDIT_ARCH_I386, 20 /* i386 getpid */, 0, 0);
		EXPECT(eperm, AUDIT_ARCH_I386, SYS_getpid, 0, 0);
		EXPECT(eperm, x86, X32_BIT | SYS_getpid, 0, 0);
		EXPECT(eperm, x86, X32_BIT | 512, 0, 0);
		EXPECT(eperm, x86, 0xfffffffe, 0, 0);
		EXPECT(enosys, x86, 0xffffffff, 0, 0);
		EXPECT(enosys, x86, 1023, 0, 0);
#undef EXPECT
	}
}

/* ---- the rule checks both compilers share ---- */

/* Each malformed rule is refused (a compiler that trusted it would write
 * a program that compares the wrong thing), and values come back sorted
 * without repeats. */
static void test_rule_checks(void **state)
{
	(void)state;
	static const uint64_t one[] = {TIOCSTI}, high[] = {(UINT64_C(1) << 32) | TIOCSTI},
			      messy[] = {5, 1, 5, 3, 1, 3}, many[SBX_VALUES_MAX + 1] = {0};
	const uint32_t def = SBX_ACT_ERRNO(ENOSYS), eperm = SBX_ACT_ERRNO(EPERM),
		       allow = SBX_ACT_ALLOW;
	static const struct {
		const char *why;
		struct sbx_arg_rule rule;
		int want;
	} cases[] = {
		{"well formed", {"ioctl", 1, SBX_CMP_EQ32, one, 1, eperm, allow}, 1},
		{"no values", {"ioctl", 1, SBX_CMP_EQ32, one, 0, eperm, allow}, -EINVAL},
		{"too many values", {"ioctl", 1, SBX_CMP_EQ32, many, ARRAY_SIZE(many), eperm, allow},
		 -EINVAL},
		{"argument 6", {"ioctl", 6, SBX_CMP_EQ32, one, 1, eperm, allow}, -EINVAL},
		{"match == otherwise", {"ioctl", 1, SBX_CMP_EQ32, one, 1, eperm, eperm}, -EINVAL},
		{"unknown comparison", {"ioctl", 1, (enum sbx_cmp)7, one, 1, eperm, allow}, -EINVAL},
		{"EQ32 above 32 bits", {"ioctl", 1, SBX_CMP_EQ32, high, 1, eperm, allow}, -EINVAL},
		{"ANY_BIT above 32 bits", {"clone", 0, SBX_CMP_ANY_BIT, high, 1, eperm, allow},
		 -EINVAL},
		{"EQ above 32 bits", {"personality", 0, SBX_CMP_EQ, high, 1, allow, def}, 1},
		{"EQ, otherwise not the default",
		 {"personality", 0, SBX_CMP_EQ, one, 1, allow, eperm},
		 -EINVAL},
	};
	uint64_t v[SBX_VALUES_MAX];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct err err = {0};
		int r = sbx_arg_rule_values(&cases[i].rule, def, v, &err);
		if (r != cases[i].want)
			fail_msg("%s: %d, want %d (%s)", cases[i].why, r, cases[i].want, err.msg);
	}
	struct err err = {0};
	const struct sbx_arg_rule r = {"ioctl", 1, SBX_CMP_EQ32, messy, ARRAY_SIZE(messy), eperm,
				       allow};
	assert_int_equal(sbx_arg_rule_values(&r, def, v, &err), 3);
	assert_true(v[0] == 1 && v[1] == 3 && v[2] == 5);

	/* The profile's own rules pass. */
	for (int build = 0; build <= 1; build++) {
		struct sbx_profile p;
		sbx_profile_get(build, &p);
		for (size_t i = 0; i < p.n_rules; i++)
			assert_true(sbx_arg_rule_values(&p.rules[i], p.def, v, &err) >= 1);
	}
}

/* ---- the embedded programs, loaded for real ---- */

static void *thread_main(void *arg)
{
	return arg;
}

/* In a child with the program loaded: returns 0, or the number of the
 * first check that failed. */
static int loaded_checks(bool build_mode)
{
	char c = 'x';
	struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	int n = 0;
#define CHECK(cond)                   \
	do {                          \
		n++;                  \
		if (!(cond))          \
			return n;     \
	} while (0)
#define FAILS_WITH(call, e) CHECK((call) == -1 && errno == (e))
	CHECK(syscall(SYS_getpid) == getpid() && getpid() > 0);
	FAILS_WITH(unshare(CLONE_NEWUSER), EPERM);
	FAILS_WITH(unshare(CLONE_NEWNS), EPERM);
	FAILS_WITH(syscall(SYS_clone3, &ca, sizeof ca), ENOSYS);
	FAILS_WITH(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM);
	/* The filter answers before the kernel looks at the fd. */
	FAILS_WITH(ioctl(-1, TIOCSTI, &c), EPERM);
	FAILS_WITH(ioctl(-1, TIOCLINUX, &c), EPERM);
	FAILS_WITH(syscall(SYS_ioctl, -1, (UINT64_C(1) << 32) | TIOCSTI, &c), EPERM);
	FAILS_WITH(ioctl(-1, TCGETS, &c), EBADF);
	FAILS_WITH(syscall(X32_BIT | SYS_getpid), EPERM);
	CHECK(personality(0xffffffff) >= 0);
	FAILS_WITH(syscall(SYS_personality, READ_IMPLIES_EXEC), ENOSYS);
	FAILS_WITH(chroot("/nonexistent/airlock"), build_mode ? ENOENT : ENOSYS);
	/* fork (clone) works; so does a thread: glibc tries clone3 first
	 * and falls back to clone on ENOSYS. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int st;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
	pthread_t t;
	void *ret = NULL;
	CHECK(pthread_create(&t, NULL, thread_main, &c) == 0 && pthread_join(t, &ret) == 0 &&
	      ret == &c);
#undef FAILS_WITH
#undef CHECK
	return 0;
}

/* A call the interpreter says the program refuses, and the errno it
 * says the kernel will return. */
struct probe {
	uint32_t nr;
	uint64_t args[6];
	int err;
};

static size_t add_probe(struct prog p, struct probe *out, size_t n, uint32_t nr,
			const uint64_t args[6])
{
	uint32_t act = run_one(p, AUDIT_ARCH_X86_64, nr, args);
	if ((act & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ERRNO)
		return n;
	out[n] = (struct probe){.nr = nr, .err = (int)(act & SECCOMP_RET_DATA)};
	memcpy(out[n].args, args, sizeof out[n].args);
	return n + 1;
}

/* Refused calls to make for real, to hold the interpreter to the kernel:
 * every number up to 1023 and x32's with zero arguments, and clone, ioctl
 * and personality with arguments around their boundaries. If the kernel
 * disagreed and ran one, it would be harmless: ioctl gets fd -1 and clone
 * no flag that shares memory with the caller. */
/* The kernel runs these without asking seccomp (since 6.11 and 6.16), and
 * they kill a caller that is not a uprobe trampoline with SIGILL. */
#define X86_64_URETPROBE 335
#define X86_64_UPROBE 336

static size_t deny_probes(struct prog p, struct probe *out, size_t max)
{
	static uint64_t vals[4096];
	size_t n = 0, n_vals = interesting(vals);
	const uint64_t zero[6] = {0};
	for (uint32_t nr = 0; nr < 1024; nr++)
		if (nr != X86_64_URETPROBE && nr != X86_64_UPROBE)
			n = add_probe(p, out, n, nr, zero);
	for (uint32_t nr = X32_BIT; nr <= X32_BIT + 600; nr++)
		n = add_probe(p, out, n, nr, zero);
	n = add_probe(p, out, n, UINT32_MAX, zero);
	for (size_t i = 0; i < n_vals; i++) {
		/* Room for this value's three probes: none dropped unseen. */
		assert_true(n + 3 <= max);
		uint64_t ioc[6] = {(uint64_t)-1, vals[i]}, pers[6] = {vals[i]};
		n = add_probe(p, out, n, SYS_ioctl, ioc);
		n = add_probe(p, out, n, SYS_personality, pers);
		uint64_t cl[6] = {(vals[i] & NS_FLAGS) | SIGCHLD};
		n = add_probe(p, out, n, SYS_clone, cl);
	}
	assert_true(n < max);
	return n;
}

static void test_embedded_program_loads(void **state)
{
	(void)state;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64)
		skip();
	static struct probe probes[16384];
	for (int build = 0; build <= 1; build++) {
		struct prog p;
		sbx_filter_program(build, &p.insns, &p.n);
		size_t n_probes = deny_probes(p, probes, ARRAY_SIZE(probes));
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct err err = {0};
			if (sbx_filter_load(build, &err) < 0)
				_exit(101);
			for (size_t i = 0; i < n_probes; i++) {
				const struct probe *q = &probes[i];
				errno = 0;
				long r = syscall(q->nr, q->args[0], q->args[1], q->args[2],
						 q->args[3], q->args[4], q->args[5]);
				if (r == 0 && q->nr == SYS_clone)
					_exit(0); /* a child the filter let through */
				if (r != -1 || errno != q->err) {
					fprintf(stderr, "syscall %u (0x%llx, 0x%llx): %ld, errno %d; "
						"the interpreter said errno %d\n", q->nr,
						(unsigned long long)q->args[0],
						(unsigned long long)q->args[1], r, errno, q->err);
					_exit(102);
				}
			}
			_exit(loaded_checks(build));
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("%s program: child %s %d (100: prctl, 101: seccomp, 102: a probe, "
				 "else the number of the failed check in loaded_checks)",
				 build ? "build" : "agent", WIFEXITED(st) ? "exited" : "killed by",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		print_message("%s program: loaded; the kernel refused %zu calls as predicted\n",
			      build ? "build" : "agent", n_probes);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interpreter),
		cmocka_unit_test(test_embedded_equals_libseccomp),
		cmocka_unit_test(test_embedded_is_short),
		cmocka_unit_test(test_profile_decisions),
		cmocka_unit_test(test_rule_checks),
		cmocka_unit_test(test_embedded_program_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
