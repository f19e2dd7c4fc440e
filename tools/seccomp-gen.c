/* seccomp-gen: compiles the sandbox's seccomp profile (runner/
 * sandbox-filter.c) at build time into a C header of two BPF programs
 * (agents and RUN steps) that sandbox-bpf.c embeds.
 *
 * Every run loads its program, and the kernel's price grows with the
 * program: it converts it to eBPF, JITs it, and emulates it for every
 * syscall number of both ABIs to cache the always-allowed ones
 * (seccomp_cache_prepare). libseccomp compiles one comparison per syscall
 * (about 500 instructions). Most of the profile is runs of consecutive
 * syscall numbers with one action, so this compiler writes a balanced tree
 * of comparisons over those runs instead:
 *
 *	ld arch; jeq NATIVE_ARCH, else bad_arch
 *	ld nr; tree over [0, 2^32): each range returns an action or goes to
 *	the block that checks an argument (clone, ioctl, personality)
 *	argument blocks; returns
 *
 * It keeps libseccomp's x32 rule: a number with bit 30 set, except
 * 0xffffffff, is an x32 syscall and gets bad_arch. tests/unit/test-seccomp.c
 * runs this program and libseccomp's on every syscall number and on many
 * arguments and requires the same action from both.
 *
 * The programs are for the architecture this runs on, the one airlock is
 * built for (native builds only). The tree encodes x86_64's ABI quirks;
 * on another architecture this writes libseccomp's program.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "runner/sandbox-filter.h"

/* x32 syscalls are x86_64 numbers with this bit (__X32_SYSCALL_BIT). */
#define X32_BIT UINT32_C(0x40000000)
/* jt and jf are 8 bits. The real programs never jump that far, so the
 * build also compiles this with -DJMP_MAX=8 for test-seccomp-jmp8, which
 * holds the far-jump code (return copies, ja) to libseccomp too. */
#ifndef JMP_MAX
#define JMP_MAX 255
#endif
#define SYSCALLS_MAX 1024
#define RANGES_MAX (2 * SYSCALLS_MAX + 3)

/* Where a jump can land: a return (copies of it may be placed anywhere)
 * or one block of code (a `ja` to it may be placed anywhere). */
struct dest {
	bool is_ret;
	uint32_t act;
	size_t near; /* latest instruction that gets there; SIZE_MAX: none */
};

/* The program is written backwards, last instruction first, so that every
 * jump's targets are placed before it and their distance is known: a
 * target beyond the 255 instructions jt/jf can skip gets a copy of its
 * return, or a `ja` to it, placed right after the jump. An instruction's
 * label is the number of instructions after it. Overflow is sticky and
 * checked at the end. */
struct gen {
	struct sock_filter insn[BPF_MAXINSNS]; /* in reverse */
	size_t n;
	bool overflow;
	struct dest rets[8];
	size_t n_rets;
};

static size_t emit(struct gen *g, uint16_t code, size_t jt, size_t jf, uint32_t k)
{
	if (g->n == ARRAY_SIZE(g->insn) || jt > JMP_MAX || jf > JMP_MAX) {
		g->overflow = true;
		return g->n ? g->n - 1 : 0;
	}
	g->insn[g->n] = (struct sock_filter){code, (uint8_t)jt, (uint8_t)jf, k};
	return g->n++;
}

/* How far the next instruction written must jump to reach label. */
static size_t dist(const struct gen *g, size_t label)
{
	return g->n - label - 1;
}

static struct dest *ret_dest(struct gen *g, uint32_t act)
{
	for (size_t i = 0; i < g->n_rets; i++)
		if (g->rets[i].act == act)
			return &g->rets[i];
	if (g->n_rets == ARRAY_SIZE(g->rets)) {
		g->overflow = true;
		return &g->rets[0];
	}
	g->rets[g->n_rets] = (struct dest){.is_ret = true, .act = act, .near = SIZE_MAX};
	return &g->rets[g->n_rets++];
}

/* Returns a label that gets to d and that the next instruction can jump
 * to. */
static size_t reach(struct gen *g, struct dest *d)
{
	if (d->near != SIZE_MAX && dist(g, d->near) <= JMP_MAX)
		return d->near;
	if (d->is_ret)
		d->near = emit(g, BPF_RET | BPF_K, 0, 0, d->act);
	else
		d->near = emit(g, BPF_JMP | BPF_JA, 0, 0, (uint32_t)dist(g, d->near));
	return d->near;
}

/* Writes "if (A op k) goto t; else goto f". Returns its label. */
static size_t emit_jump(struct gen *g, uint16_t op, uint32_t k, struct dest *t, struct dest *f)
{
	for (;;) {
		size_t lt = reach(g, t), lf = reach(g, f);
		/* Placing f's copy may have pushed t out of reach. */
		if (g->overflow || dist(g, lt) <= JMP_MAX)
			return emit(g, BPF_JMP | op | BPF_K, dist(g, lt), dist(g, lf), k);
	}
}

/* A destination that is the instruction just written. */
static struct dest here(const struct gen *g)
{
	return (struct dest){.near = g->n - 1};
}

static uint32_t arg_lo(unsigned arg)
{
	/* Little-endian: the low half comes first. */
	return (uint32_t)offsetof(struct seccomp_data, args[arg]);
}

/* Writes "ld [off]; jeq lo(v[0]) -> match; ...; jeq lo(v[n-1]) -> match;
 * else otherwise". Returns where it starts. */
static struct dest emit_chain(struct gen *g, uint32_t off, const uint64_t *v, size_t n,
			      struct dest *match, struct dest *otherwise)
{
	struct dest *f = otherwise, next;
	for (size_t i = n; i-- > 0;) {
		emit_jump(g, BPF_JEQ, (uint32_t)v[i], match, f);
		next = here(g);
		f = &next;
	}
	emit(g, BPF_LD | BPF_W | BPF_ABS, 0, 0, off);
	return here(g);
}

/* Writes the block that decides rule a's syscall; on entry A is anything.
 * Returns its label. */
static int emit_arg_rule(struct gen *g, uint32_t def, const struct sbx_arg_rule *a,
			 size_t *ret_label, struct err *err)
{
	uint64_t v[SBX_VALUES_MAX];
	int r = sbx_arg_rule_values(a, def, v, err);
	if (r < 0)
		return r;
	size_t n = (size_t)r;
	struct dest *match = ret_dest(g, a->match), *otherwise = ret_dest(g, a->otherwise);
	if (a->cmp == SBX_CMP_ANY_BIT) {
		uint64_t mask = 0;
		for (size_t i = 0; i < n; i++)
			mask |= v[i];
		emit_jump(g, BPF_JSET, (uint32_t)mask, match, otherwise);
		*ret_label = emit(g, BPF_LD | BPF_W | BPF_ABS, 0, 0, arg_lo(a->arg));
		return 0;
	}
	if (a->cmp == SBX_CMP_EQ32) {
		*ret_label = emit_chain(g, arg_lo(a->arg), v, n, match, otherwise).near;
		return 0;
	}

	/* A 64-bit comparison: values grouped by their high half, "ld hi;
	 * jeq H1 -> group 1; jeq H2 -> group 2; ...; else otherwise", each
	 * group a chain over the low halves of its values. */
	size_t start[SBX_VALUES_MAX + 1], n_groups = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i] >> 32 != v[i - 1] >> 32)
			start[n_groups++] = i;
	start[n_groups] = n;
	struct dest groups[SBX_VALUES_MAX];
	for (size_t i = n_groups; i-- > 0;)
		groups[i] = emit_chain(g, arg_lo(a->arg), v + start[i], start[i + 1] - start[i],
				       match, otherwise);
	struct dest *f = otherwise, next;
	for (size_t i = n_groups; i-- > 0;) {
		emit_jump(g, BPF_JEQ, (uint32_t)(v[start[i]] >> 32), &groups[i], f);
		next = here(g);
		f = &next;
	}
	*ret_label = emit(g, BPF_LD | BPF_W | BPF_ABS, 0, 0, arg_lo(a->arg) + 4);
	return 0;
}

/* Syscall numbers [lo, next range's lo) go to d. */
struct range {
	uint32_t lo;
	struct dest *d;
};

/* Writes the balanced tree that sends A (a syscall number) to the
 * destination of its range among r[0..n), n >= 1. Returns where it
 * starts: node, filled in, or a range's own destination. */
static struct dest *emit_tree(struct gen *g, const struct range *r, size_t n, struct dest *node)
{
	if (n == 1)
		return r[0].d;
	size_t m = n / 2;
	struct dest right_node, left_node;
	struct dest *right = emit_tree(g, r + m, n - m, &right_node);
	struct dest *left = emit_tree(g, r, m, &left_node);
	emit_jump(g, BPF_JGE, r[m].lo, right, left);
	*node = here(g);
	return node;
}

struct nr_dest {
	uint32_t nr;
	const char *name;
	struct dest *d;
};

static int cmp_nr(const void *a, const void *b)
{
	const struct nr_dest *x = a, *y = b;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

/* Sends name's syscall to d. Returns 1, or 0 for a name unknown to
 * libseccomp or not on this arch (it keeps the default), or -errno. */
static int add_nr(struct nr_dest *t, size_t *n, const char *name, struct dest *d, struct err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr < 0)
		return 0;
	if ((uint32_t)nr >= X32_BIT)
		return err_set(err, -ERANGE, "%s: syscall number %d has the x32 bit", name, nr);
	if (*n == SYSCALLS_MAX)
		return err_set(err, -E2BIG, "more than %d syscalls", SYSCALLS_MAX);
	t[(*n)++] = (struct nr_dest){(uint32_t)nr, name, d};
	return 1;
}

static void push_range(struct range *r, size_t *n, uint32_t lo, struct dest *d)
{
	if (*n > 0 && r[*n - 1].d == d)
		return;
	r[(*n)++] = (struct range){lo, d};
}

/* Compiles the profile for x86_64 into out (appended). */
static int compile(bool build_mode, struct buf *out, struct err *err)
{
	static struct gen g;
	static struct nr_dest nrs[SYSCALLS_MAX];
	static struct range ranges[RANGES_MAX];
	struct sbx_profile p;
	size_t n_nrs = 0, n_ranges = 0;
	int r;

	memset(&g, 0, sizeof g);
	sbx_profile_get(build_mode, &p);
	struct dest *def = ret_dest(&g, p.def), *bad_arch = ret_dest(&g, p.bad_arch);
	/* The program must end with a return. */
	reach(&g, def);

	struct dest blocks[16] = {0};
	if (p.n_rules > ARRAY_SIZE(blocks))
		return err_set(err, -E2BIG, "more than %zu argument rules", ARRAY_SIZE(blocks));
	for (size_t i = 0; i < p.n_rules; i++) {
		/* No block for a syscall this arch lacks. */
		r = add_nr(nrs, &n_nrs, p.rules[i].name, &blocks[i], err);
		if (r > 0)
			r = emit_arg_rule(&g, p.def, &p.rules[i], &blocks[i].near, err);
		if (r < 0)
			return r;
	}
	for (size_t l = 0; l < p.n_lists; l++)
		for (size_t i = 0; i < p.lists[l].n; i++) {
			struct dest *d = ret_dest(&g, p.lists[l].action);
			if ((r = add_nr(nrs, &n_nrs, p.lists[l].names[i], d, err)) < 0)
				return r;
		}
	qsort(nrs, n_nrs, sizeof *nrs, cmp_nr);

	uint32_t next = 0;
	for (size_t i = 0; i < n_nrs; i++) {
		if (i > 0 && nrs[i].nr == nrs[i - 1].nr)
			return err_set(err, -EINVAL, "%s and %s are both syscall %u: name it once",
				       nrs[i - 1].name, nrs[i].name, nrs[i].nr);
		if (nrs[i].nr > next)
			push_range(ranges, &n_ranges, next, def);
		push_range(ranges, &n_ranges, nrs[i].nr, nrs[i].d);
		next = nrs[i].nr + 1;
	}
	if (next < X32_BIT)
		push_range(ranges, &n_ranges, next, def);
	push_range(ranges, &n_ranges, X32_BIT, bad_arch);
	/* -1 is no syscall, not an x32 one: libseccomp lets it through to the
	 * syscall table, where it matches nothing. */
	push_range(ranges, &n_ranges, UINT32_MAX, def);

	struct dest root_node;
	struct dest *root = emit_tree(&g, ranges, n_ranges, &root_node);
	/* The tree's first instruction must follow "ld nr". */
	if (root->is_ret)
		emit(&g, BPF_RET | BPF_K, 0, 0, root->act);
	else if (root->near != g.n - 1)
		emit(&g, BPF_JMP | BPF_JA, 0, 0, (uint32_t)dist(&g, root->near));
	emit(&g, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
	struct dest load_nr = here(&g);
	emit_jump(&g, BPF_JEQ, AUDIT_ARCH_X86_64, &load_nr, bad_arch);
	emit(&g, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	if (g.overflow)
		return err_set(err, -E2BIG, "seccomp program longer than %d instructions",
			       BPF_MAXINSNS);
	for (size_t i = g.n; i-- > 0;)
		buf_append(out, &g.insn[i], sizeof g.insn[i]);
	return 0;
}

/* Appends the program of agents or of RUN steps, as a C array, to h. */
static int write_prog(struct buf *h, const char *name, bool build_mode, struct err *err)
{
	_cleanup_buf_ struct buf bpf = BUF_INIT;
	int r = seccomp_arch_native() == SCMP_ARCH_X86_64 ? compile(build_mode, &bpf, err)
							   : sbx_filter_bpf(build_mode, &bpf, err);
	if (r < 0)
		return r;
	const struct sock_filter *in = (const void *)bpf.data;
	size_t n = bpf.len / sizeof *in;
	buf_printf(h, "static const struct sock_filter %s[%zu] = {\n", name, n);
	for (size_t i = 0; i < n; i++)
		buf_printf(h, "\t{0x%04x, %u, %u, 0x%08x},\n", in[i].code, in[i].jt, in[i].jf,
			   in[i].k);
	buf_puts(h, "};\n");
	return 0;
}

static int write_buf(int fd, void *userdata, struct err *err)
{
	const struct buf *h = userdata;
	int r = fs_write_all(fd, h->data, h->len);
	return r < 0 ? err_code(err, r, "write the header") : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seccomp-gen OUT.h\n");
		return 2;
	}
	struct err err = {0};
	_cleanup_buf_ struct buf h = BUF_INIT;
	buf_puts(&h, "/* Generated by tools/seccomp-gen from runner/sandbox-filter.c. */\n");
	int r = write_prog(&h, "sbx_bpf_agent", false, &err);
	if (r >= 0)
		r = write_prog(&h, "sbx_bpf_build", true, &err);
	/* Whole or not at all: make must not take a half-written header
	 * for an up-to-date one. */
	if (r >= 0)
		r = fs_write_path_atomic(argv[1], write_buf, &h, &err);
	if (r < 0) {
		fprintf(stderr, "seccomp-gen: %s\n", err.msg);
		return 1;
	}
	return 0;
}
