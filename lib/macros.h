/* macros: cleanup attributes and ownership hand-off, after systemd/casync.
 * Initialise every _cleanup_ variable at its declaration. */
#ifndef AIRLOCK_LIB_MACROS_H
#define AIRLOCK_LIB_MACROS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Closes *fd if >= 0, preserving errno so error paths can still read it. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Takes ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                 \
	({                                          \
		__typeof__(p) *_pp = &(p);          \
		__typeof__(p) _ptr = *_pp;          \
		*_pp = NULL;                        \
		_ptr;                               \
	})
#define TAKE_FD(fd)                   \
	({                            \
		int *_pfd = &(fd);    \
		int _fd = *_pfd;      \
		*_pfd = -1;           \
		_fd;                  \
	})

/* Defines NAME##p, a cleanup helper calling FREE on a non-NULL pointer. */
#define DEFINE_CLEANUP_FUNC(type, func)             \
	static inline void func##p(type **p)        \
	{                                           \
		if (*p)                             \
			func(*p);                   \
	}

#endif
