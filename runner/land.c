/* land: review decisions, apply and commit for a run (see land.h). The
 * state directory holds only airlock's own files, named by us; the run id
 * is validated as a ref name before it becomes a path component. */
#include "runner/land.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"
#include "snapshot/gitcommit.h"

#define DECISIONS_FILE "decisions.json"

static int state_dir(struct store *s, const char *id, bool create, struct err *err)
{
	if (!store_ref_name_valid(id))
		return err_set(err, -EINVAL, "invalid run id '%s'", id);
	if (create && mkdirat(store_dirfd(s), "runstate", 0700) < 0 && errno != EEXIST)
		return err_errno(err, "store: mkdir runstate");
	_cleanup_close_ int parent =
		openat(store_dirfd(s), "runstate", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (parent < 0)
		return err_errno(err, "store: open runstate");
	if (create && mkdirat(parent, id, 0700) < 0 && errno != EEXIST)
		return err_errno(err, "store: mkdir runstate/%s", id);
	int fd = openat(parent, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_errno(err, "store: open runstate/%s", id);
	return fd;
}

void land_release(struct land *l)
{
	changeset_free(l->cs);
	decisions_free(l->d);
	if (l->state_dfd >= 0)
		close(l->state_dfd);
	free(l->workspace);
	memset(l, 0, sizeof *l);
	l->state_dfd = -1;
}

int land_open(struct store *s, const char *ref, bool all, struct land *ret, struct err *err)
{
	memset(ret, 0, sizeof *ret);
	ret->state_dfd = -1;
	json_t *rec = NULL;
	int r = run_record_load(s, ref, ret->id, &rec, err);
	if (r < 0)
		return r;
	ret->workspace = xstrdup(json_string_value(json_object_get(rec, "workspace")) ?: "");
	snprintf(ret->git_head, sizeof ret->git_head, "%s",
		 json_string_value(json_object_get(rec, "git_head")) ?: "");
	struct changeset_opts co = {.include_ignored = all};
	r = run_record_changeset(s, rec, ret->id, &co, &ret->cs, err);
	json_decref(rec);
	if (r < 0)
		goto fail;
	if ((ret->state_dfd = state_dir(s, ret->id, true, err)) < 0) {
		r = ret->state_dfd;
		goto fail;
	}
	r = decisions_load_at(ret->state_dfd, DECISIONS_FILE, &ret->d, err);
	if (r == -ENOENT) {
		ret->d = decisions_new(&ret->cs->base, &ret->cs->out);
		r = 0;
	} else if (r == 0 && !decisions_match(ret->d, ret->cs)) {
		r = err_set(err, -EBADMSG, "run %s: saved decisions are for other changes", ret->id);
	}
	if (r < 0)
		goto fail;
	return 0;
fail:
	land_release(ret);
	return r;
}

int land_save(struct land *l, struct err *err)
{
	return decisions_save_at(l->d, l->state_dfd, DECISIONS_FILE, err);
}

int land_apply(struct store *s, struct land *l, const char *target, bool check_only,
	       const char *const *paths, size_t npaths, struct apply_report *rep, struct err *err)
{
	const char *dir = target ? target : l->workspace;
	if (!*dir)
		return err_set(err, -ENOENT, "run %s has no workspace to apply to; give one with -w", l->id);
	_cleanup_close_ int ws = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ws < 0)
		return err_errno(err, "workspace '%s'", dir);
	struct apply_opts ao = {
		.check_only = check_only,
		.journal_dfd = l->state_dfd,
		.paths = paths,
		.npaths = npaths,
	};
	return apply_changeset(s, l->cs, l->d, ws, &ao, rep, err);
}

int land_commit(struct store *s, struct land *l, const char *branch, const char *message,
		bool force, char ret_hex[41], struct err *err)
{
	if (!l->git_head[0])
		return err_set(err, -ENOENT,
			       "run %s: the workspace '%s' was not a git repository with a commit when the run started",
			       l->id, l->workspace);
	_cleanup_free_ char *msg = message ? xstrdup(message) : xasprintf("airlock run %s", l->id);
	return gitcommit_create(s, l->cs, l->d, l->workspace, l->git_head, branch, msg, force, ret_hex,
				err);
}
