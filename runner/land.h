/* land: what becomes of a run's changes: review decisions (kept with the
 * run in $STORE/runstate/<id>/), apply to the workspace, commit to a
 * branch. Ties the run record (runner) to the snapshotter's changeset,
 * decisions, apply and gitcommit. */
#ifndef AIRLOCK_RUNNER_LAND_H
#define AIRLOCK_RUNNER_LAND_H

#include <stdbool.h>

#include "lib/err.h"
#include "lib/store.h"
#include "runner/run.h"
#include "snapshot/apply.h"
#include "snapshot/changeset.h"
#include "snapshot/decisions.h"

struct land {
	char id[RUN_ID_MAX];
	struct changeset *cs;  /* owned */
	struct decisions *d;   /* owned: saved decisions, or new (defaults) */
	int state_dfd;         /* $STORE/runstate/<id>, owned */
	char *workspace;       /* owned: the host workspace of the run */
	char git_head[41];     /* HEAD at the start of the run, or "" */
};

/* Loads run ref's changes (all, ignored files included when all) and its
 * saved decisions. Release with land_release. */
int land_open(struct store *s, const char *ref, bool all, struct land *ret, struct err *err);
void land_release(struct land *l);

/* Saves l->d with the run (atomically). */
int land_save(struct land *l, struct err *err);

/* Applies the accepted changes to target (NULL: the run's workspace),
 * with the run's journal. Returns what apply_changeset returns. */
int land_apply(struct store *s, struct land *l, const char *target, bool check_only,
	       const char *const *paths, size_t npaths, struct apply_report *rep, struct err *err);

/* A commit of the accepted changes on branch of the workspace's
 * repository, parent the HEAD recorded at the start of the run. */
int land_commit(struct store *s, struct land *l, const char *branch, const char *message,
		bool force, char ret_hex[41], struct err *err);

#endif
