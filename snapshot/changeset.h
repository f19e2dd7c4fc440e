/* changeset: what a run changed in the workspace, computed from two trees
 * (the input snapshot and the captured output), never from the host.
 *
 * Every path here came from an untrusted agent: it is any byte string but
 * NUL, relative, '/'-separated, without "." or ".." components (the tree
 * format guarantees that). Renderers must quote it (quote.h); writers must
 * only ever reach the host through openat2(RESOLVE_BENEATH|...) on dirfds.
 */
#ifndef AIRLOCK_SNAPSHOT_CHANGESET_H
#define AIRLOCK_SNAPSHOT_CHANGESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"
#include "lib/tree.h"

enum change_kind {
	CHANGE_ADD = 'A',
	CHANGE_MODIFY = 'M',  /* content (and maybe mode) of a file or symlink target */
	CHANGE_DELETE = 'D',
	CHANGE_TYPE = 'T',    /* file <-> symlink <-> directory */
	CHANGE_MODE = 'X',    /* permission bits only (git shows "old mode/new mode") */
	CHANGE_RENAME = 'R',  /* old_path -> path, maybe with edits (similarity) */
};

/* Why a reviewer should look twice (bitmask). */
enum change_risk {
	RISK_GIT_DIR = 1 << 0,      /* under .git/: never applied, only committed */
	RISK_EXECUTABLE = 1 << 1,   /* new executable, or x bit added */
	RISK_SYMLINK = 1 << 2,      /* a symlink is added or changed */
	RISK_SYMLINK_ESCAPE = 1 << 3, /* ... whose target is absolute or leaves the workspace */
	RISK_CI_CONFIG = 1 << 4,    /* .github/workflows/, .gitlab-ci.yml, .envrc, .vscode/, Makefile, package.json, ... */
	RISK_SETID = 1 << 5,        /* the agent set setuid/setgid (dropped; never applied) */
	RISK_SPECIAL = 1 << 6,      /* device, fifo or socket (dropped; never applied) */
	RISK_LARGE = 1 << 7,        /* over CHANGESET_LARGE bytes */
	RISK_BINARY = 1 << 8,       /* not text */
};

#define CHANGESET_LARGE (10u << 20)

struct change {
	enum change_kind kind;
	char *path;     /* owned: the path after the change (the old one for DELETE) */
	char *old_path; /* owned: RENAME only, else NULL */
	bool has_old, has_new;
	struct tree_attr old_attr, new_attr; /* valid per has_old/has_new */
	unsigned risk;  /* enum change_risk bits */
	bool ignored;   /* matched by the workspace's .gitignore files */
	unsigned similarity; /* RENAME: 0..100 (100: same content), else 0 */
};

struct changeset {
	struct digest base; /* the input snapshot tree */
	struct digest out;  /* the output tree */
	struct change *changes; /* owned, sorted bytewise by path */
	size_t n;
	size_t n_ignored; /* ignored changes left out (0 with include_ignored) */
};

/* What is listed (the contract for apply/review):
 *
 *  - every path whose entry differs between the two trees, directories
 *    included: an added directory is an ADD (new_attr.type TREE_DIR)
 *    followed, in path order, by an ADD for everything below it; a deleted
 *    one likewise a DELETE plus a DELETE for everything below it. A file
 *    replaced by a directory (or back) is one TYPE change at that path plus
 *    the ADDs (DELETEs) of what is below. Appliers process ADD/MODIFY/TYPE
 *    parents-first and DELETEs children-first; sorting is bytewise on the
 *    whole path ("a" < "a.c" < "a/b"), so they re-sort as they need.
 *  - a directory whose perm changed is a MODE change (git cannot show it;
 *    patches carry a note). uid/gid changes count as MODE too.
 *  - MODIFY: same type, different content (file digest or symlink target),
 *    maybe a different perm as well. MODE: same type and content.
 *  - RENAME: a deleted file or symlink whose content reappears at an added
 *    path (similarity 100), or, for files, git's similarity detection
 *    (libgit2, threshold opts->rename_threshold); old_attr is the deleted
 *    entry, new_attr the added one. Only files and symlinks are renamed:
 *    a directory rename is DELETEs plus ADDs (plus RENAMEs of its files).
 *  - risk bits are computed from the new side (and old side for DELETE of
 *    CI config).
 */
struct changeset_opts {
	bool include_ignored;      /* keep ignored changes (marked ignored) */
	bool no_renames;           /* no rename detection at all */
	unsigned rename_threshold; /* similarity percent for inexact renames; 0: 50 */
	size_t rename_limit;       /* max adds x deletes pairs for inexact detection; 0: 1000 x 1000 */
};

/* Computes the changes from tree base to tree out. opts may be NULL
 * (defaults: renames on, ignored changes left out). Cost is proportional to
 * what changed: identical subtrees (same digest) are skipped unread. Reads
 * blob contents only for rename similarity and for .gitignore files.
 * .gitignore semantics: the .gitignore files of the *base* tree and of the
 * out tree are both consulted (a path is ignored if the side that has it
 * ignores it); .git/info/exclude and global excludes are not read; files
 * under .git/ are never ignored (they are RISK_GIT_DIR). On success *ret
 * is owned by the caller (changeset_free). */
int changeset_compute(struct store *s, const struct digest *base, const struct digest *out,
		      const struct changeset_opts *opts, struct changeset **ret, struct err *err);

/* Whether path has a component ".git" (compared case-insensitively, as a
 * case-folding filesystem would): such changes are RISK_GIT_DIR. */
bool changeset_is_git_path(const char *path);
/* Whether c's path or, for a rename, its old path is such a path. */
bool changeset_is_git_change(const struct change *c);

/* NULL is a no-op. */
void changeset_free(struct changeset *cs);
static inline void changeset_freep(struct changeset **cs)
{
	if (*cs)
		changeset_free(*cs);
}

#endif
