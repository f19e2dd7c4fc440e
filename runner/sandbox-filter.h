/* sandbox-filter: the seccomp profile as libseccomp rules. Only the
 * build-time generator (tools/seccomp-gen.c) and the unit tests use it:
 * runs load the program compiled from it when airlock is built
 * (sandbox-bpf.c), so the run path needs no libseccomp. */
#ifndef AIRLOCK_RUNNER_SANDBOX_FILTER_H
#define AIRLOCK_RUNNER_SANDBOX_FILTER_H

#include <seccomp.h>
#include <stdbool.h>

#include "lib/buf.h"
#include "lib/err.h"

/* Builds the filter (default ENOSYS; dangerous calls EPERM; bad arch
 * EPERM). Returns 0 and *ret_ctx, or -errno. build_mode allows the calls a
 * root RUN step needs (chroot; they act on mapped ids only). */
int sbx_filter_new(bool build_mode, scmp_filter_ctx *ret_ctx, struct err *err);

/* The same filter compiled to BPF (appended to out). */
#define SBX_BPF_MAX (4096 * 8)
int sbx_filter_bpf(bool build_mode, struct buf *out, struct err *err);

#endif
