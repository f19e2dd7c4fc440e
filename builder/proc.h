/* proc: run a helper program (apt-get, apt-cache) and capture its output.
 *
 * No shell is ever involved: argv goes to execve(2) as given, after argv[0]
 * is looked up in $PATH in the parent (the child only calls
 * async-signal-safe functions between fork and exec). The child gets
 * LC_ALL=C (so messages can be parsed), stdin from /dev/null, and its
 * stdout and stderr on pipes read by the parent.
 */
#ifndef AIRLOCK_BUILDER_PROC_H
#define AIRLOCK_BUILDER_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

/* Output beyond this many bytes per stream is an error (-EFBIG). */
#define PROC_OUTPUT_MAX (256u << 20)

struct proc_opts {
	int cwd_dfd; /* directory to run in (fchdir in the child); -1: inherit */
	struct buf *out_err; /* stderr appended here if not NULL, else discarded */
};

/* Runs argv[0] (searched in $PATH unless it contains '/') with argv and
 * appends its stdout to *out (may be NULL: discarded). Returns the exit
 * status (0..255, >= 0) when the program ran and exited, even non-zero;
 * -errno with err filled if it could not be started (-ENOENT: not found),
 * was killed by a signal (-EINTR), or its output was too large. opts may
 * be NULL. Not safe to call after fork in a multithreaded process. */
int proc_run_capture(char *const *argv, const struct proc_opts *opts, struct buf *out,
		     struct err *err);

/* Number of programs proc_run_capture has started in this process (tests
 * use it to prove a cache hit ran nothing). */
uint64_t proc_run_count(void);

#endif
