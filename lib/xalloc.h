/* xalloc: allocation that aborts on out-of-memory (STYLE.md: OOM aborts
 * inside xmalloc and friends; nothing else may abort). */
#ifndef AIRLOCK_LIB_XALLOC_H
#define AIRLOCK_LIB_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows *p (holding *cap elements of size sz) to hold at least need. */
void xgrow(void *pp, size_t *cap, size_t need, size_t sz);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
