/* gitcommit: accepted changes as a branch commit (contract in gitcommit.h).
 *
 * Only the object database and one ref are written: blobs with
 * git_blob_create_from_buffer, trees with git_tree_create_updated on the
 * base commit's tree, the commit with git_commit_create and no ref update,
 * then refs/heads/<branch> with git_reference_create (force only with
 * --force). The work tree, index and HEAD are never opened for writing,
 * so a run can be committed while the user keeps editing.
 */
#include "snapshot/gitcommit.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "lib/macros.h"
#include "lib/xalloc.h"

static int git_fail(struct err *err, int code, const char *what)
{
	const git_error *e = git_error_last();
	return err_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

struct updates {
	git_tree_update *u;
	size_t n, cap;
};

static void updates_release(struct updates *u)
{
	for (size_t i = 0; i < u->n; i++)
		free((char *)u->u[i].path);
	free(u->u);
}

static void upd_add(struct updates *u, git_tree_update_t action, const char *path,
		    const git_oid *id, git_filemode_t mode)
{
	xgrow(&u->u, &u->cap, u->n + 1, sizeof *u->u);
	git_tree_update *x = &u->u[u->n++];
	memset(x, 0, sizeof *x);
	x->action = action;
	x->path = xstrdup(path);
	if (id)
		x->id = *id;
	x->filemode = mode;
}

static int blob_from_store(struct store *s, git_repository *repo, const struct digest *d,
			   git_oid *ret, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = store_get(s, d, SIZE_MAX, &b, err);
	if (r < 0)
		return r;
	if (git_blob_create_from_buffer(ret, repo, b.data ? b.data : "", b.len) < 0)
		return git_fail(err, -EIO, "write blob");
	return 0;
}

static int collect(struct store *s, git_repository *repo, const struct changeset *cs,
		   const struct decisions *d, struct updates *u, struct err *err)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		if ((c->risk & RISK_GIT_DIR) || changeset_is_git_change(c))
			continue;
		enum accept_reason why;
		if (!decisions_accepts(d, c, &why))
			continue;
		/* What was there goes first: removing a directory (or a file a
		 * directory replaces) before the upserts below it. */
		if (c->kind == CHANGE_RENAME && c->old_path)
			upd_add(u, GIT_TREE_UPDATE_REMOVE, c->old_path, NULL, 0);
		else if (c->has_old && (!c->has_new || c->new_attr.type != c->old_attr.type))
			upd_add(u, GIT_TREE_UPDATE_REMOVE, c->path, NULL, 0);
		if (!c->has_new || c->new_attr.type == TREE_DIR)
			continue;
		struct tree_attr a;
		int r = decisions_resolve_new(s, d, c, why, &a, err);
		if (r < 0)
			return r;
		git_oid id;
		if ((r = blob_from_store(s, repo, &a.digest, &id, err)) < 0)
			return err_prefix(err, "'%s'", c->path);
		git_filemode_t mode = a.type == TREE_SYMLINK    ? GIT_FILEMODE_LINK
				      : (a.perm & 0100)         ? GIT_FILEMODE_BLOB_EXECUTABLE
								: GIT_FILEMODE_BLOB;
		upd_add(u, GIT_TREE_UPDATE_UPSERT, c->path, &id, mode);
	}
	return 0;
}

DEFINE_CLEANUP_FUNC(git_repository, git_repository_free)
DEFINE_CLEANUP_FUNC(git_commit, git_commit_free)
DEFINE_CLEANUP_FUNC(git_tree, git_tree_free)
DEFINE_CLEANUP_FUNC(git_signature, git_signature_free)
DEFINE_CLEANUP_FUNC(git_reference, git_reference_free)

/* Applies updates one at a time in order, so a removal of "a" can precede
 * an upsert of "a/x" (git_tree_create_updated sorts a batch, and a path
 * cannot be both a blob and a tree in one batch). Removing a path that is
 * already gone (below a removed directory) is skipped. */
static int build_tree(git_repository *repo, git_tree *base, const struct updates *u, git_oid *ret,
		      struct err *err)
{
	git_oid cur = *git_tree_id(base);
	for (size_t i = 0; i < u->n; i++) {
		_cleanup_(git_tree_freep) git_tree *t = NULL;
		if (git_tree_lookup(&t, repo, &cur) < 0)
			return git_fail(err, -EIO, "look up tree");
		if (u->u[i].action == GIT_TREE_UPDATE_REMOVE) {
			git_tree_entry *e = NULL;
			if (git_tree_entry_bypath(&e, t, u->u[i].path) < 0)
				continue;
			git_tree_entry_free(e);
		}
		git_oid next;
		if (git_tree_create_updated(&next, repo, t, 1, &u->u[i]) < 0)
			return git_fail(err, -EIO, "update tree");
		cur = next;
	}
	*ret = cur;
	return 0;
}

static int do_commit(struct store *s, const struct changeset *cs, const struct decisions *d,
		     const char *repo_path, const char *base_commit_hex, const char *branch,
		     const char *message, bool force, char *ret_hex, struct err *err)
{
	int valid = 0;
	if (git_branch_name_is_valid(&valid, branch) < 0 || !valid)
		return err_set(err, -EINVAL, "invalid branch name '%s'", branch);
	_cleanup_(git_repository_freep) git_repository *repo = NULL;
	if (git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return git_fail(err, -ENOENT, "open repository");
	_cleanup_free_ char *refname = xasprintf("refs/heads/%s", branch);
	_cleanup_(git_reference_freep) git_reference *existing = NULL;
	if (!force && git_reference_lookup(&existing, repo, refname) == 0)
		return err_set(err, -EEXIST, "branch '%s' exists; --force moves it", branch);
	git_oid base_id;
	if (strlen(base_commit_hex) != GIT_OID_HEXSZ || git_oid_fromstr(&base_id, base_commit_hex) < 0)
		return err_set(err, -EINVAL, "bad base commit id '%s'", base_commit_hex);
	_cleanup_(git_commit_freep) git_commit *parent = NULL;
	if (git_commit_lookup(&parent, repo, &base_id) < 0)
		return git_fail(err, -ENOENT, "base commit");
	_cleanup_(git_tree_freep) git_tree *base_tree = NULL;
	if (git_commit_tree(&base_tree, parent) < 0)
		return git_fail(err, -EIO, "base commit tree");

	_cleanup_(updates_release) struct updates u = {0};
	int r = collect(s, repo, cs, d, &u, err);
	if (r < 0)
		return r;
	git_oid tree_id;
	if ((r = build_tree(repo, base_tree, &u, &tree_id, err)) < 0)
		return r;
	_cleanup_(git_tree_freep) git_tree *tree = NULL;
	if (git_tree_lookup(&tree, repo, &tree_id) < 0)
		return git_fail(err, -EIO, "new tree");

	_cleanup_(git_signature_freep) git_signature *sig = NULL;
	if (git_signature_default(&sig, repo) < 0 &&
	    git_signature_now(&sig, "airlock", "airlock@localhost") < 0)
		return git_fail(err, -EIO, "signature");
	const git_commit *parents[] = {parent};
	git_oid commit_id;
	if (git_commit_create(&commit_id, repo, NULL, sig, sig, NULL,
			      message ? message : "airlock: accepted changes\n", tree, 1,
			      parents) < 0)
		return git_fail(err, -EIO, "create commit");
	_cleanup_(git_reference_freep) git_reference *ref = NULL;
	r = git_reference_create(&ref, repo, refname, &commit_id, force ? 1 : 0, "airlock commit");
	if (r == GIT_EEXISTS)
		return err_set(err, -EEXIST, "branch '%s' exists; --force moves it", branch);
	if (r < 0)
		return git_fail(err, -EIO, "create branch");
	if (ret_hex)
		git_oid_tostr(ret_hex, GITCOMMIT_HEX_SIZE, &commit_id);
	return 0;
}

int gitcommit_create(struct store *s, const struct changeset *cs, const struct decisions *d,
		     const char *repo_path, const char *base_commit_hex, const char *branch,
		     const char *message, bool force, char ret_hex[GITCOMMIT_HEX_SIZE],
		     struct err *err)
{
	if (d && !decisions_match(d, cs))
		return err_set(err, -EINVAL, "the review decisions belong to another changeset");
	git_libgit2_init();
	int r = do_commit(s, cs, d, repo_path, base_commit_hex, branch, message, force, ret_hex,
			  err);
	git_libgit2_shutdown();
	if (r < 0)
		return err_prefix(err, "commit to branch '%s'", branch);
	return 0;
}
