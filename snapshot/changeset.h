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
};

struct changeset {
	struct digest base; /* the input snapshot tree */
	struct digest out;  /* the output tree */
	struct change *changes; /* owned, sorted bytewise by path */
	size_t n;
};

void changeset_free(struct changeset *cs);

#endif
