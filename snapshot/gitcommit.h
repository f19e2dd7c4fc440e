/* gitcommit: the accepted changes of a run as a commit on a branch of the
 * workspace's git repository, without touching its work tree, index or
 * HEAD (libgit2).
 *
 * The new commit's parent is the commit checked out when the run started
 * (from the run record) and its tree is that commit's tree plus the
 * accepted changes (same policy as apply: decisions_accepts, partial text
 * files merged). What git cannot hold is left out: directories as such
 * (empty ones, directory perms), owners, perms other than 0644/0755, and
 * every path with a ".git" component (git refuses them in trees). Blobs
 * are written to the repository's object database from the store
 * (verified on read).
 */
#ifndef AIRLOCK_SNAPSHOT_GITCOMMIT_H
#define AIRLOCK_SNAPSHOT_GITCOMMIT_H

#include <stdbool.h>

#include "lib/err.h"
#include "lib/store.h"
#include "snapshot/changeset.h"
#include "snapshot/decisions.h"

#define GITCOMMIT_HEX_SIZE 41

/* Creates the commit and points refs/heads/<branch> at it. repo_path is
 * the workspace (or its .git); base_commit_hex is the full 40-hex commit
 * id recorded at run start; message NULL gives a default. The author and
 * committer come from the repository's config (user.name/user.email),
 * else "airlock <airlock@localhost>". If refs/heads/<branch> exists and
 * !force: -EEXIST ("branch 'x' exists; --force moves it"), nothing
 * changed (the check is the atomic ref creation itself). An invalid branch
 * name is -EINVAL. ret_hex (may be NULL) gets the new commit's id. d may
 * be NULL (defaults). Never touches the index, the work tree or HEAD. */
int gitcommit_create(struct store *s, const struct changeset *cs, const struct decisions *d,
		     const char *repo_path, const char *base_commit_hex, const char *branch,
		     const char *message, bool force, char ret_hex[GITCOMMIT_HEX_SIZE],
		     struct err *err);

#endif
