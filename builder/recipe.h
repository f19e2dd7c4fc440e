/* recipe: the parser for airlock recipes (recipes/NAME.recipe), a small
 * line-based, Dockerfile-like format; docs/RECIPES.md is the reference.
 *
 * The parser only checks syntax and the rules that need no file system:
 * it never opens a COPY source or an archive, never resolves a package.
 * What it hands the builder is a list of validated, normalised steps, each
 * with a canonical text that is the step's part of the build cache key.
 *
 * Everything here is pure computation on memory (recipe_parse_file aside)
 * and safe to call after fork only in the sense that it allocates: do not
 * call it between fork and exec of a multithreaded process.
 */
#ifndef AIRLOCK_BUILDER_RECIPE_H
#define AIRLOCK_BUILDER_RECIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Limits, enforced with a "file:line:" error (-EINVAL), the whole-file
 * one with -EFBIG. A logical line is the text after joining continuation
 * lines. */
#define RECIPE_MAX_SIZE (1024 * 1024)
#define RECIPE_MAX_LINE (64 * 1024)

enum recipe_op {
	RECIPE_FROM,
	RECIPE_PACKAGES,
	RECIPE_COPY,
	RECIPE_RUN,
	RECIPE_ENV,
	RECIPE_WORKDIR,
	RECIPE_USER,
	RECIPE_LABEL,
	RECIPE_CMD,
};

/* One ENV variable or LABEL. Both strings owned by the step. */
struct recipe_kv {
	char *key;
	char *value; /* may be empty, never NULL */
};

/* One directive. Every pointer is owned by the recipe and freed by
 * recipe_free; consumers borrow them for the recipe's lifetime.
 *
 * args by op (all strings NUL-terminated, none empty):
 *   FROM      1: "scratch", "NAME[:TAG]", "sha256:<64 hex>",
 *                "oci-archive:PATH" or "docker-archive:PATH" (PATH as
 *                written; a relative PATH is relative to the recipe's
 *                directory)
 *   PACKAGES  >= 1: "name" or "name=version" (see recipe_package_split),
 *                in the order written, no name twice in one step
 *   COPY      >= 2: sources (normalised, relative to the recipe's
 *                directory, no ".." component), then the destination
 *                (normalised absolute path; ends in '/' if it did, always
 *                when there are several sources)
 *   RUN, CMD  >= 1: the argv; the shell form TEXT is already
 *                {"/bin/sh", "-c", TEXT}
 *   WORKDIR   1: normalised absolute path
 *   USER      1: "UID:GID" in decimal (GID defaults to UID); also in
 *                uid/gid below
 *   ENV,LABEL 0: see kvs
 */
struct recipe_step {
	enum recipe_op op;
	unsigned line; /* 1-based physical line where the step starts */
	char **args;
	size_t nargs;
	/* ENV, LABEL: pairs sorted by key (byte order), keys unique in the
	 * step. NULL/0 for the other ops. */
	struct recipe_kv *kvs;
	size_t nkvs;
	/* COPY --mode=OCTAL (<= 07777) and --owner=UID[:GID] (GID defaults
	 * to UID). Without the option the has_ flag is false and the value 0;
	 * the builder picks the default. */
	uint32_t copy_mode;
	bool has_copy_mode;
	uint32_t copy_uid, copy_gid;
	bool has_copy_owner;
	/* USER: the numeric ids (0 for the other ops). */
	uint32_t uid, gid;
	/* The canonical text (docs/RECIPES.md, "Canonical text"): equal for
	 * steps with equal meaning, different whenever the meaning differs.
	 * One line, no trailing newline; may hold any byte but NUL and '\n'. */
	char *canonical;
};

struct recipe {
	struct recipe_step *steps; /* steps[0] is the only FROM */
	size_t nsteps;
	/* The recipe's name: the base name of the file name passed to the
	 * parser, without a ".recipe" suffix ("busybox" for
	 * "recipes/busybox.recipe"). Not validated as an image name. */
	char *name;
};

/* Parses len bytes of text (not necessarily NUL-terminated; a NUL byte is
 * an error). filename is used only in messages and for the recipe's name.
 *
 * On success returns 0 and sets *ret to a new recipe owned by the caller
 * (free with recipe_free). On failure returns -EINVAL (syntax) or -EFBIG
 * (len > RECIPE_MAX_SIZE), leaves *ret untouched and fills err with
 * "<filename>:<line>: <what was expected>". Allocation failure aborts. */
int recipe_parse(const char *text, size_t len, const char *filename, struct recipe **ret,
		 struct err *err);

/* Reads path (opened O_RDONLY|O_CLOEXEC|O_NOCTTY; symlinks followed, it is
 * the user's own file; must be a regular file of at most RECIPE_MAX_SIZE
 * bytes) and parses it with path as the file name in messages. Returns
 * what recipe_parse returns, or -errno from open/read with err naming
 * path. */
int recipe_parse_file(const char *path, struct recipe **ret, struct err *err);

/* Frees r and everything it owns. NULL is a no-op. */
void recipe_free(struct recipe *r);

static inline void recipe_freep(struct recipe **r)
{
	recipe_free(*r);
}
#define _cleanup_recipe_ __attribute__((cleanup(recipe_freep)))

/* Splits a PACKAGES argument "name[=version]" without allocating: sets
 * *ret_name_len to the length of the name and returns a pointer to the
 * version inside arg, or NULL when there is none. arg is borrowed; the
 * result points into it. */
const char *recipe_package_split(const char *arg, size_t *ret_name_len);

/* The upper-case keyword of op ("FROM", ...), a static string. */
const char *recipe_op_name(enum recipe_op op);

#endif
