/* steps: what each recipe step does to an image (build.c drives them and
 * the cache). Internal to builder/. */
#ifndef AIRLOCK_BUILDER_STEPS_H
#define AIRLOCK_BUILDER_STEPS_H

#include <jansson.h>

#include "builder/debian.h"
#include "builder/manifest.h"
#include "builder/recipe.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"

struct step_env {
	struct store *s;       /* borrowed */
	int context_dfd;       /* the recipe's directory: COPY sources live beneath it */
	int deb_cache_dfd;     /* $STORE/downloads: .deb files by SHA-256 */
	void (*log)(const char *line, void *userdata);
	void *log_ud;
};

int step_env_init(struct step_env *env, struct store *s, const char *recipe_path, struct err *err);
void step_env_release(struct step_env *env);

struct copy_source {
	char *name;          /* as written in the recipe */
	bool is_dir;
	struct digest digest; /* tree (dir) or blob (file) */
	uint32_t perm;        /* file: 0644 or 0755 unless --mode */
	uint64_t size;
};

/* What a step needs, gathered before the cache lookup because its
 * digests are part of the key. */
struct step_prepared {
	struct deb_lock debs;          /* PACKAGES */
	struct copy_source *sources;   /* COPY */
	size_t nsources;
};
void step_prepared_release(struct step_prepared *p);

/* Fills prep and appends the step's input digests (strings) to inputs.
 * step_lock is the step's entry in the lock file (PACKAGES only). */
int step_prepare(struct step_env *env, const struct recipe_step *st, json_t *step_lock,
		 json_t *inputs, struct step_prepared *prep, struct err *err);

/* Executes PACKAGES, COPY or RUN on the image cur; *ret_tree is the new
 * root tree. */
int step_execute(struct step_env *env, const struct recipe_step *st, const struct manifest *cur,
		 const struct step_prepared *prep, struct digest *ret_tree, struct err *err);

/* ENV, WORKDIR, USER, LABEL, CMD: changes m's config. */
int step_apply_config(const struct recipe_step *st, struct manifest *m, struct err *err);

#endif
