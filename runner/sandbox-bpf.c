/* sandbox-bpf: the seccomp programs compiled from the profile when airlock
 * was built (tools/seccomp-gen.c writes the header). */
#include "lib/macros.h"
#include "runner/sandbox-int.h"
#include "seccomp-bpf.h"

/* The kernel's limit; sock_fprog.len is 16 bits. */
_Static_assert(ARRAY_SIZE(sbx_bpf_agent) <= BPF_MAXINSNS, "seccomp program too long");
_Static_assert(ARRAY_SIZE(sbx_bpf_build) <= BPF_MAXINSNS, "seccomp program too long");

void sbx_filter_program(bool build_mode, const struct sock_filter **ret_insns, size_t *ret_n)
{
	if (build_mode) {
		*ret_insns = sbx_bpf_build;
		*ret_n = ARRAY_SIZE(sbx_bpf_build);
	} else {
		*ret_insns = sbx_bpf_agent;
		*ret_n = ARRAY_SIZE(sbx_bpf_agent);
	}
}
