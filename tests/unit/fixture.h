/* fixture: a fresh store in a scratch directory per test, shared by the
 * unit tests. Define FIXTURE_NAME (a word for the scratch directory's
 * name) before including; use setup/teardown as the cmocka fixture.
 * Scratch lives on $AIRLOCK_TEST_TMP (a tmpfs under make check) or /tmp.
 *
 * A test that needs more can also define, before including:
 *   FIXTURE_FIELDS  extra members of struct fixture;
 *   FIXTURE_INIT    the name of its `static int NAME(struct fixture *f)`,
 *                   run by setup once the store is open (< 0 fails it);
 *   FIXTURE_FINI    the name of its `static void NAME(struct fixture *f)`,
 *                   run by teardown before the store and scratch go.
 * It also gets put() (write a file) and cs_add()/cs_release() (build a
 * changeset by hand). */
#ifndef AIRLOCK_TESTS_FIXTURE_H
#define AIRLOCK_TESTS_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/store.h"
#include "lib/xalloc.h"
#include "snapshot/changeset.h"

#ifndef FIXTURE_NAME
#error "define FIXTURE_NAME before including tests/unit/fixture.h"
#endif

struct fixture {
	char *dir;   /* scratch directory, removed by teardown */
	char *store; /* dir/store */
	struct store *s;
#ifdef FIXTURE_FIELDS
	FIXTURE_FIELDS
#endif
};

#ifdef FIXTURE_INIT
static int FIXTURE_INIT(struct fixture *f);
#endif
#ifdef FIXTURE_FINI
static void FIXTURE_FINI(struct fixture *f);
#endif

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
	struct err e = {0};
	if (store_open(f->store, STORE_CREATE, &f->s, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
#ifdef FIXTURE_INIT
	if (FIXTURE_INIT(f) < 0)
		return -1;
#endif
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
#ifdef FIXTURE_FINI
	FIXTURE_FINI(f);
#endif
	store_free(f->s);
	fs_rm_rf_at(AT_FDCWD, f->dir, NULL);
	free(f->dir);
	free(f->store);
	free(f);
	return 0;
}

/* Writes name (under dfd, not through a symlink) with content and mode. */
_unused_ static void put(int dfd, const char *name, const char *content, mode_t mode)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		fail_msg("create '%s': %s", name, strerror(errno));
	assert_int_equal(fs_write_all(fd, content, strlen(content)), 0);
	fchmod(fd, mode);
	close(fd);
}

/* Appends a change to a changeset built by hand; cs_release frees it. */
_unused_ static void cs_add(struct changeset *set, enum change_kind kind, const char *path,
			    const struct tree_attr *old, const struct tree_attr *new_,
			    unsigned risk)
{
	set->changes = xrealloc(set->changes, (set->n + 1) * sizeof *set->changes);
	struct change *c = &set->changes[set->n++];
	*c = (struct change){.kind = kind, .path = xstrdup(path), .risk = risk};
	if (old) {
		c->has_old = true;
		c->old_attr = *old;
	}
	if (new_) {
		c->has_new = true;
		c->new_attr = *new_;
	}
}

_unused_ static void cs_release(struct changeset *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->changes[i].path);
		free(set->changes[i].old_path);
	}
	free(set->changes);
	*set = (struct changeset){0};
}

#endif
