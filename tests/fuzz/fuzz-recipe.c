// fuzz-sources: builder/recipe.c lib/err.c lib/buf.c lib/xalloc.c lib/fsutil.c
// fuzz-pkgs: jansson
/* libFuzzer target for builder/recipe: any bytes must give either a clean
 * error ("<file>:<line>: ..." or the size error) or a recipe whose
 * invariants hold, with no leak, overflow or undefined behaviour. The
 * canonical text must be deterministic: a second parse gives the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/recipe.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(struct recipe *r)
{
	if (r->nsteps == 0 || r->steps[0].op != RECIPE_FROM || !r->name)
		abort();
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct recipe_step *st = &r->steps[i];
		const char *kw = recipe_op_name(st->op);
		if (!st->canonical || strchr(st->canonical, '\n') ||
		    strncmp(st->canonical, kw, strlen(kw)) != 0 || st->line == 0)
			abort();
		if (i > 0 && (st->op == RECIPE_FROM || st->line <= r->steps[i - 1].line))
			abort();
		for (size_t k = 0; k < st->nargs; k++)
			if (!st->args[k])
				abort();
		if ((st->op == RECIPE_ENV || st->op == RECIPE_LABEL) && st->nkvs == 0)
			abort();
		if (st->op == RECIPE_COPY && st->nargs < 2)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err = {0};
	struct recipe *r = NULL, *again = NULL;
	int rc = recipe_parse((const char *)data, size, "f.recipe", &r, &err);
	if (rc < 0) {
		if (r || err.code != rc || (strncmp(err.msg, "f.recipe:", 9) != 0))
			abort();
		return 0;
	}
	check(r);
	if (recipe_parse((const char *)data, size, "f.recipe", &again, &err) != 0 ||
	    again->nsteps != r->nsteps)
		abort();
	for (size_t i = 0; i < r->nsteps; i++)
		if (strcmp(r->steps[i].canonical, again->steps[i].canonical) != 0)
			abort();
	recipe_free(again);
	recipe_free(r);
	return 0;
}
