/* buf: a growable byte buffer (always NUL-terminated for convenience).
 * A zeroed struct buf is an empty buffer; buf_release frees the data. */
#ifndef AIRLOCK_LIB_BUF_H
#define AIRLOCK_LIB_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* owned; NULL or NUL-terminated after len bytes */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);   /* len = 0, keeps memory */
void buf_release(struct buf *b); /* frees memory, back to BUF_INIT */
/* Hands the data to the caller (never NULL) and resets b. */
char *buf_detach(struct buf *b, size_t *ret_len);

static inline void buf_releasep(struct buf *b)
{
	buf_release(b);
}
#define _cleanup_buf_ __attribute__((cleanup(buf_releasep)))

#endif
