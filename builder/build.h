/* build: turns a recipe and its lock into an image in the store.
 *
 * Every step that does work (PACKAGES, COPY, RUN) is cached under a key
 * derived from the parent image digest, the step's canonical text and the
 * digests of its inputs (pinned .deb files, COPY sources); config steps
 * (ENV, WORKDIR, USER, LABEL, CMD) are cheap and computed directly. The
 * result is identical whatever the store path, umask, time zone, clock,
 * working directory or user: nothing from the host but recipe text, lock
 * and COPY sources (content and executable bit) reaches the image.
 */
#ifndef AIRLOCK_BUILDER_BUILD_H
#define AIRLOCK_BUILDER_BUILD_H

#include <stdbool.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

struct build_opts {
	const char *tag;       /* name to give the image; NULL: the recipe's name */
	const char *lock_path; /* NULL: build_lock_path() */
	bool no_cache;         /* do every step, ignore (but refresh) the cache */
	bool explain;          /* log why each step hit or missed the cache */
	/* Progress and explanations, one line each, no newline; may be NULL. */
	void (*log)(const char *line, void *userdata);
	void *userdata;
};

/* Builds recipe_path; *ret is the image digest. Leaves no ref behind on
 * failure (objects written so far are garbage for gc). */
int build_recipe(struct store *s, const char *recipe_path, const struct build_opts *opts,
		 struct digest *ret, struct err *err);

/* Resolves every PACKAGES step and writes the lock atomically to
 * lock_path (NULL: build_lock_path()); *ret_path (malloc'ed) names it. */
int build_lock(const char *recipe_path, const char *lock_path, char **ret_path, struct err *err);

/* Where a recipe's lock lives: <dir>/../images/<name>.lock when the recipe
 * sits in a directory named "recipes" that has a sibling "images"
 * (shipped recipes), else <dir>/<name>.lock beside it. Malloc'ed. */
char *build_lock_path(const char *recipe_path, const char *name);

#endif
