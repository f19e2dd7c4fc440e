/* err: formatting of the caller-owned error struct (see err.h). Async-signal
 * unsafe only through vsnprintf; nothing here allocates. */
#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err_vformat(struct err *err, int code, int with_errno, const char *fmt, va_list ap)
{
	err->code = code;
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(-code));
}

int err_set(struct err *err, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EINVAL;
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err_vformat(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int err_errno(struct err *err, const char *fmt, ...)
{
	int code = errno > 0 ? -errno : -EIO;
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err_vformat(err, code, 1, fmt, ap);
	va_end(ap);
	return code;
}

int err_code(struct err *err, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EIO;
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err_vformat(err, code, 1, fmt, ap);
	va_end(ap);
	return code;
}

int err_prefix(struct err *err, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	char ctx[ERR_MSG_MAX];
	char old[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	snprintf(err->msg, sizeof err->msg, "%s: %s", ctx, old);
	return err->code;
}

void err_clear(struct err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
