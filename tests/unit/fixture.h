/* fixture: a fresh store in a scratch directory per test, shared by the
 * unit tests that need nothing else. Define FIXTURE_NAME (a word for the
 * scratch directory's name) before including; use setup/teardown as the
 * cmocka fixture. Scratch lives on $AIRLOCK_TEST_TMP (a tmpfs under make
 * check) or /tmp. */
#ifndef AIRLOCK_TESTS_FIXTURE_H
#define AIRLOCK_TESTS_FIXTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/xalloc.h"

#ifndef FIXTURE_NAME
#error "define FIXTURE_NAME before including tests/unit/fixture.h"
#endif

struct fixture {
	char *dir;   /* scratch directory, removed by teardown */
	char *store; /* dir/store */
	struct store *s;
};

/* Fails the test with the expression and err.msg (an err in scope). */
#define OK(expr)                                                          \
	do {                                                              \
		int _r = (expr);                                          \
		if (_r < 0)                                               \
			fail_msg("%s: %d: %s", #expr, _r, err.msg);       \
	} while (0)

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	const char *base = getenv("AIRLOCK_TEST_TMP") ?: "/tmp";
	f->dir = xasprintf("%s/" FIXTURE_NAME "-XXXXXX", base);
	if (!mkdtemp(f->dir))
		return -1;
	f->store = xasprintf("%s/store", f->dir);
	struct err err = {0};
	if (store_open(f->store, STORE_CREATE, &f->s, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->s);
	fs_rm_rf_at(AT_FDCWD, f->dir, NULL);
	free(f->dir);
	free(f->store);
	free(f);
	return 0;
}

#endif
