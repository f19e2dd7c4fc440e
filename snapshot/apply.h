/* apply: writes the accepted changes of a changeset into the workspace on
 * the host, safely against a hostile changeset and a crash.
 *
 *  - Paths are validated (relative, no "", "." or ".." component, no
 *    component ".git" in any case, at most TREE_PATH_MAX bytes and
 *    TREE_DEPTH_MAX - 1 components): a bad one fails the whole apply
 *    before anything is written (-EINVAL naming it).
 *  - The host is only reached through openat2(RESOLVE_BENEATH |
 *    RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) on the workspace dirfd
 *    and *at() calls on the parent's fd: nothing is written through or
 *    beyond a symlink (cf. git apply, t4122), nor beneath a path the
 *    changeset itself makes a file or symlink.
 *  - Conflict check first: the host's state at every path touched (type,
 *    perm, content digest: the host file is hashed) must equal the base
 *    tree's, or already the new one (then it is skipped); a directory to be
 *    removed must hold nothing that is not removed with it. Any mismatch:
 *    nothing is written, every conflict is in the report, -EEXIST.
 *  - Files and symlinks are made under a temp name in the same directory
 *    (".airlock-tmp-<journal id>-<op>"), fsynced, then renamed into place
 *    (RENAME_NOREPLACE for new paths, RENAME_EXCHANGE to swap a directory
 *    and a non-directory), so a host file is always wholly old or wholly
 *    new. Contents are streamed from the store (verified). setuid/setgid
 *    bits are never set; owners are never changed; hard links in the host
 *    are broken, never written through.
 *  - Journal: before the first write, the plan (every operation with its
 *    before and after states) is written atomically to the journal; it is
 *    deleted after the workspace is syncfs'ed. An apply that finds a
 *    journal resumes it: per operation, host already in the after state:
 *    skipped; still in the before state: done; anything else: it stops,
 *    writes nothing, and reports every path's state (-EUCLEAN).
 *  - .git/ changes and rejected or held-back changes are never applied.
 */
#ifndef AIRLOCK_SNAPSHOT_APPLY_H
#define AIRLOCK_SNAPSHOT_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "lib/store.h"
#include "snapshot/changeset.h"
#include "snapshot/decisions.h"

struct apply_opts {
	bool check_only;          /* --check: report only, write nothing */
	int journal_dfd;          /* directory of the journal (the run's), -1: none */
	const char *journal_name; /* file name in it, no '/'; NULL: "apply-journal.json" */
	const char *const *paths; /* PATH... filter: a path and what is below it */
	size_t npaths;            /* 0: everything */
	/* Called after each operation written (done counts from 1); may be
	 * NULL. Tests use it to kill the process mid-apply. */
	void (*progress)(size_t done, size_t total, void *userdata);
	void *userdata;
};

enum apply_status {
	APPLY_DONE,     /* written (check_only: would be written) */
	APPLY_ALREADY,  /* the host already has the new state */
	APPLY_CONFLICT, /* the host differs from the base: detail says how */
	APPLY_REJECTED, /* rejected in review (or every block rejected) */
	APPLY_HELD,     /* risky kind not accepted explicitly */
	APPLY_NEVER,    /* under .git/: never written to a work tree */
	APPLY_FILTERED, /* not among opts->paths */
	APPLY_PENDING,  /* journal: still in the before state */
	APPLY_UNKNOWN,  /* journal: neither the before nor the after state */
};

struct apply_item {
	char *path;   /* owned */
	enum apply_status status;
	char *detail; /* owned, may be NULL: why (conflicts, unknown states) */
};

struct apply_report {
	struct apply_item *items; /* owned, in changeset order (journal order on resume) */
	size_t n, cap;
	size_t n_done, n_already, n_conflicts, n_unknown;
	bool resumed; /* a journal was found and completed (or reported) */
};

/* Frees the items; the struct can be reused. */
void apply_report_release(struct apply_report *rep);
const char *apply_status_name(enum apply_status st);

/* Applies the changes of cs that d accepts (decisions_accepts; d may be
 * NULL: defaults) to the workspace directory workspace_dfd (any open
 * directory fd, O_PATH is fine). rep (zeroed by the caller, released with
 * apply_report_release) lists what happened to every change. If a journal
 * is found at opts->journal_dfd/journal_name, it is resumed instead (it
 * must be for cs: same base and out, else -EBUSY) and cs/d are not
 * otherwise used.
 *
 * Returns 0 (everything accepted is now in place, or check_only),
 * -EEXIST conflicts (nothing written), -EUCLEAN journal found and the
 * workspace is in a state it cannot resume from (nothing written; the
 * report gives each path's state), -EINVAL a hostile or contradictory
 * changeset (nothing written), or another -errno from a write (the journal
 * is left behind: a second call resumes). err always names the path. */
int apply_changeset(struct store *s, const struct changeset *cs, const struct decisions *d,
		    int workspace_dfd, const struct apply_opts *opts, struct apply_report *rep,
		    struct err *err);

/* Validates one changeset path as above; -EINVAL with err naming it. */
int apply_path_check(const char *path, struct err *err);

#endif
