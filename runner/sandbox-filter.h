/* sandbox-filter: the seccomp profile, as data, and its rendering as
 * libseccomp rules. The build-time generator (tools/seccomp-gen.c)
 * compiles the same data into the BPF that runs load (sandbox-bpf.c), so
 * the run path needs no libseccomp; the unit tests check that program
 * against what libseccomp compiles from the rules. */
#ifndef AIRLOCK_RUNNER_SANDBOX_FILTER_H
#define AIRLOCK_RUNNER_SANDBOX_FILTER_H

#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

/* Actions are the kernel's seccomp return values (libseccomp's SCMP_ACT_*
 * use the same encoding). */
#define SBX_ACT_ALLOW SECCOMP_RET_ALLOW
#define SBX_ACT_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

/* Syscalls, by name, that get one action whatever their arguments. A name
 * unknown to libseccomp or to this architecture is skipped: it gets the
 * default action. */
struct sbx_name_list {
	uint32_t action;
	const char *const *names;
	size_t n;
};

/* How an sbx_arg_rule compares its argument with its values. */
enum sbx_cmp {
	/* The whole 64-bit argument equals a value. `otherwise` must be the
	 * profile's default action: spelling out every other 64-bit value
	 * for libseccomp takes a rule per gap between the values, and no
	 * rule needs it (personality's `otherwise` is the default). */
	SBX_CMP_EQ,
	/* The argument's low 32 bits equal a value (each below 2^32); the
	 * high half is not looked at. For arguments the kernel reads as 32
	 * bits: a 64-bit comparison would let a caller set high bits the
	 * kernel then drops. */
	SBX_CMP_EQ32,
	/* The argument's low 32 bits have a bit set that a value has (each
	 * value below 2^32; the high half is not looked at). */
	SBX_CMP_ANY_BIT,
};

/* A syscall whose action depends on one argument: `match` if the argument
 * compares true with one of values, `otherwise` if with none. */
struct sbx_arg_rule {
	const char *name;
	unsigned arg; /* 0..5 */
	enum sbx_cmp cmp;
	const uint64_t *values;
	size_t n;
	uint32_t match, otherwise;
};

/* The whole profile. A syscall is named at most once, on one list or in
 * one rule; a syscall named nowhere gets def. Numbers of another ABI
 * (i386 via int 0x80, x32) get bad_arch. */
struct sbx_profile {
	uint32_t def;
	uint32_t bad_arch;
	const struct sbx_name_list *lists;
	size_t n_lists;
	const struct sbx_arg_rule *rules;
	size_t n_rules;
};

/* The most values an argument rule may have. */
#define SBX_VALUES_MAX 64

/* The checks both compilers rely on: rule a has 1..SBX_VALUES_MAX values,
 * arg 0..5, a known comparison, match != otherwise, values below 2^32
 * unless SBX_CMP_EQ, and for SBX_CMP_EQ otherwise == def (the profile's
 * default). Writes its values to ret_values sorted and without repeats
 * and returns how many (>= 1), or -EINVAL naming the syscall. */
int sbx_arg_rule_values(const struct sbx_arg_rule *a, uint32_t def,
			uint64_t ret_values[SBX_VALUES_MAX], struct err *err);

/* The profile of agents (build_mode false) or of RUN steps (build_mode
 * also allows chroot; it acts on mapped ids only). Points to static
 * storage; cannot fail. */
void sbx_profile_get(bool build_mode, struct sbx_profile *ret);

/* Builds the profile as libseccomp rules. Returns 0 and *ret_ctx (the
 * caller releases it with seccomp_release), or -errno. */
int sbx_filter_new(bool build_mode, scmp_filter_ctx *ret_ctx, struct err *err);

/* The same rules compiled to BPF by libseccomp (appended to out). */
#define SBX_BPF_MAX (4096 * 8)
int sbx_filter_bpf(bool build_mode, struct buf *out, struct err *err);

#endif
