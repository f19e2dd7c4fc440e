/* sandbox-bpf: the seccomp programs compiled from the profile when airlock
 * was built (tools/seccomp-gen.c writes the header). */
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int sbx_filter_load(bool build_mode, struct err *err)
{
	/* no_new_privs first: it lets an unprivileged task load a filter and
	 * guarantees no setuid/file-cap exec can shed it. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno(err, "no_new_privs");
	const struct sock_filter *insns;
	size_t n;
	sbx_filter_program(build_mode, &insns, &n);
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)insns};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_errno(err, "load seccomp filter");
	return 0;
}
