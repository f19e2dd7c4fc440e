/* err: the error a fallible function hands back to its caller.
 *
 * Every fallible function returns int (>= 0 success, -errno failure) and
 * takes `struct err *err` last. The function that sees the failure fills
 * err once, naming the path, object or recipe line; callers add context on
 * the way up with err_prefix(). The struct is caller-owned, fixed size and
 * holds no pointers, so it is safe to fill in a forked child and write down
 * a pipe. Only cli/ prints it.
 */
#ifndef AIRLOCK_LIB_ERR_H
#define AIRLOCK_LIB_ERR_H

#include <errno.h>

#define ERR_MSG_MAX 2048

struct err {
	int code;              /* negative errno-style code, 0 if unset */
	char msg[ERR_MSG_MAX]; /* human-readable, no trailing newline */
};

/* Sets err (if not NULL) to code and the formatted message. Returns code,
 * which must be negative, so callers can write `return err_set(...)`. */
int err_set(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err_set with code -errno, and appends ": strerror(errno)". */
int err_errno(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Same as err_errno but with an explicit negative code. */
int err_code(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message. Returns err->code. */
int err_prefix(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct err *err);

#endif
