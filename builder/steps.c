/* steps: PACKAGES (unpack pinned .deb files), COPY (files from the recipe's
 * directory, never from outside it), RUN (a sandboxed run whose captured
 * upper dir becomes the new tree) and the config directives. */
#include "builder/steps.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/tartree.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/tree.h"
#include "lib/xalloc.h"
#include "runner/run.h"
#include "snapshot/workspace.h"

int step_env_init(struct step_env *env, struct store *s, const char *recipe_path, struct err *err)
{
	memset(env, 0, sizeof *env);
	env->s = s;
	env->context_dfd = env->deb_cache_dfd = -1;
	_cleanup_free_ char *copy = xstrdup(recipe_path);
	const char *dir = dirname(copy);
	env->context_dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (env->context_dfd < 0)
		return err_errno(err, "open recipe directory '%s'", dir);
	if (mkdirat(store_dirfd(s), "downloads", 0755) < 0 && errno != EEXIST)
		return err_errno(err, "store: mkdir downloads");
	env->deb_cache_dfd = openat(store_dirfd(s), "downloads", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (env->deb_cache_dfd < 0)
		return err_errno(err, "store: open downloads");
	return 0;
}

void step_env_release(struct step_env *env)
{
	if (env->context_dfd >= 0)
		close(env->context_dfd);
	if (env->deb_cache_dfd >= 0)
		close(env->deb_cache_dfd);
	env->context_dfd = env->deb_cache_dfd = -1;
}

void step_prepared_release(struct step_prepared *p)
{
	deb_lock_free(&p->debs);
	for (size_t i = 0; i < p->nsources; i++)
		free(p->sources[i].name);
	free(p->sources);
	memset(p, 0, sizeof *p);
}

/* ---- COPY ---- */

static uint32_t normal_perm(mode_t mode)
{
	/* Like git: only the executable bit survives, so umask and checkout
	 * modes on the build machine do not change the image. */
	return (mode & 0111) ? 0755 : 0644;
}

static int prepare_copy(struct step_env *env, const struct recipe_step *st, json_t *inputs,
			struct step_prepared *prep, struct err *err)
{
	size_t nsrc = st->nargs - 1;
	prep->sources = xcalloc(nsrc, sizeof *prep->sources);
	for (size_t i = 0; i < nsrc; i++) {
		struct copy_source *cs = &prep->sources[prep->nsources++];
		cs->name = xstrdup(st->args[i]);
		/* RESOLVE_BENEATH: neither "..", an absolute path nor a symlink
		 * can take a source outside the recipe's directory. */
		_cleanup_close_ int fd = fs_open_beneath(env->context_dfd, cs->name, O_RDONLY | O_NOCTTY, 0, 0, err);
		if (fd < 0)
			return err_prefix(err, "COPY: source outside the recipe's directory or missing");
		struct stat stbuf;
		if (fstat(fd, &stbuf) < 0)
			return err_errno(err, "COPY: stat '%s'", cs->name);
		int r;
		if (S_ISDIR(stbuf.st_mode)) {
			/* Through the workspace stat cache (keyed by the real path
			 * of what openat2 resolved beneath the context): a rebuild
			 * with unchanged sources is a stat walk, not a re-hash. */
			char proc[64];
			snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
			cs->is_dir = true;
			cs->perm = 0755;
			r = snapshot_workspace(env->s, proc, &cs->digest, err);
		} else if (S_ISREG(stbuf.st_mode)) {
			cs->perm = st->has_copy_mode ? (st->copy_mode & 0777) : normal_perm(stbuf.st_mode);
			r = store_put_fd(env->s, fd, &cs->digest, &cs->size, err);
		} else {
			r = err_set(err, -EINVAL, "COPY: '%s' is not a regular file or directory", cs->name);
		}
		if (r < 0)
			return err_prefix(err, "COPY '%s'", cs->name);
		char d[DIGEST_STR_SIZE];
		digest_to_str(&cs->digest, d);
		json_array_append_new(inputs, json_sprintf("%s %s %o", cs->is_dir ? "dir" : "file", d, cs->perm));
	}
	return 0;
}

struct graft {
	struct tree *root;
	struct store *s;
	const char *dst;
	const struct recipe_step *st;
};

static int graft_entry(const char *path, const struct tree_attr *attr, void *ud, struct err *err)
{
	struct graft *g = ud;
	struct tree_attr a = *attr;
	a.uid = g->st->has_copy_owner ? g->st->copy_uid : 0;
	a.gid = g->st->has_copy_owner ? g->st->copy_gid : 0;
	if (a.type == TREE_DIR)
		a.perm = 0755;
	else if (a.type == TREE_FILE)
		a.perm = g->st->has_copy_mode ? (g->st->copy_mode & 0777) : normal_perm(a.perm);
	_cleanup_free_ char *full = *path ? xasprintf("%s/%s", g->dst, path) : xstrdup(g->dst);
	if (!*full)
		return a.type == TREE_DIR ? 0 : err_set(err, -EINVAL, "COPY: cannot replace the root");
	return tree_set(g->root, g->s, full, &a, err);
}

static int execute_copy(struct step_env *env, const struct recipe_step *st, struct tree *root,
			const struct step_prepared *prep, struct err *err)
{
	const char *dst = st->args[st->nargs - 1];
	size_t dl = strlen(dst);
	bool into_dir = prep->nsources > 1 || (dl && dst[dl - 1] == '/');
	while (*dst == '/')
		dst++;
	_cleanup_free_ char *dstdir = xstrdup(dst);
	for (size_t n = strlen(dstdir); n && dstdir[n - 1] == '/'; n--)
		dstdir[n - 1] = '\0';
	for (size_t i = 0; i < prep->nsources; i++) {
		const struct copy_source *cs = &prep->sources[i];
		int r;
		if (cs->is_dir) {
			/* A directory's contents go into DST, as in Dockerfiles. */
			struct graft g = {root, env->s, dstdir, st};
			r = tree_walk(env->s, &cs->digest, graft_entry, &g, err);
		} else {
			_cleanup_free_ char *copy = xstrdup(cs->name);
			_cleanup_free_ char *target =
				into_dir ? xasprintf("%s%s%s", dstdir, *dstdir ? "/" : "", basename(copy))
					 : xstrdup(dstdir);
			struct tree_attr a = {
				.type = TREE_FILE,
				.perm = cs->perm,
				.uid = st->has_copy_owner ? st->copy_uid : 0,
				.gid = st->has_copy_owner ? st->copy_gid : 0,
				.size = cs->size,
				.digest = cs->digest,
			};
			r = *target ? tree_set(root, env->s, target, &a, err)
				    : err_set(err, -EINVAL, "COPY: destination is the root; end it with '/'");
		}
		if (r < 0)
			return err_prefix(err, "COPY '%s'", cs->name);
	}
	return 0;
}

/* ---- PACKAGES ---- */

static int prepare_packages(const struct recipe_step *st, json_t *step_lock, json_t *inputs,
			    struct step_prepared *prep, struct err *err)
{
	if (!step_lock)
		return err_set(err, -ENOENT,
			       "'%s' is not in the lock file (the recipe changed since it was locked); run 'airlock lock'",
			       st->canonical);
	char *text = json_dumps(step_lock, JSON_SORT_KEYS | JSON_COMPACT);
	int r = text ? deb_lock_from_json(text, strlen(text), "lock file", &prep->debs, err)
		     : err_set(err, -EBADMSG, "lock file: malformed entry for '%s'", st->canonical);
	free(text);
	if (r < 0)
		return r;
	for (size_t i = 0; i < prep->debs.n; i++)
		json_array_append_new(inputs, json_sprintf("deb %s %s %s sha256:%s", prep->debs.pkgs[i].name,
							   prep->debs.pkgs[i].version, prep->debs.pkgs[i].arch,
							   prep->debs.pkgs[i].sha256));
	return 0;
}

static void note_ignore(const char *path, const char *what, void *ud)
{
	(void)path, (void)what, (void)ud;
}

static void fetch_progress(const char *what, uint64_t bytes, void *ud)
{
	struct step_env *env = ud;
	if (!env->log)
		return;
	char line[512];
	snprintf(line, sizeof line, "  fetched %s (%.1f MB)", what, (double)bytes / 1e6);
	env->log(line, env->log_ud);
}

static int execute_packages(struct step_env *env, struct tree *root, const struct step_prepared *prep,
			    struct err *err)
{
	struct tartree_opts to = {.note = note_ignore};
	int pr = deb_prefetch(&prep->debs, env->deb_cache_dfd, fetch_progress, env, err);
	if (pr < 0)
		return pr;
	for (size_t i = 0; i < prep->debs.n; i++) {
		const struct deb_pkg *p = &prep->debs.pkgs[i];
		_cleanup_close_ int fd = -1;
		int r = deb_fetch(p, env->deb_cache_dfd, fetch_progress, env, &fd, err);
		if (r < 0)
			return r;
		if ((r = deb_unpack(env->s, fd, root, &to, err)) < 0)
			return err_prefix(err, "unpack %s_%s_%s", p->name, p->version, p->arch);
	}
	return 0;
}

/* ---- dispatch ---- */

int step_prepare(struct step_env *env, const struct recipe_step *st, json_t *step_lock,
		 json_t *inputs, struct step_prepared *prep, struct err *err)
{
	switch (st->op) {
	case RECIPE_PACKAGES:
		return prepare_packages(st, step_lock, inputs, prep, err);
	case RECIPE_COPY:
		return prepare_copy(env, st, inputs, prep, err);
	default:
		return 0;
	}
}

int step_execute(struct step_env *env, const struct recipe_step *st, const struct manifest *cur,
		 const struct step_prepared *prep, struct digest *ret_tree, struct err *err)
{
	if (st->op == RECIPE_RUN) {
		_cleanup_free_ char **argv = xcalloc(st->nargs + 1, sizeof *argv);
		memcpy(argv, st->args, st->nargs * sizeof *argv);
		return run_build_step(env->s, cur, argv, ret_tree, err);
	}
	_cleanup_(tree_freep) struct tree *root = NULL;
	int r = tree_load(env->s, &cur->tree, &root, err);
	if (r < 0)
		return r;
	switch (st->op) {
	case RECIPE_PACKAGES:
		r = execute_packages(env, root, prep, err);
		break;
	case RECIPE_COPY:
		r = execute_copy(env, st, root, prep, err);
		break;
	default:
		r = err_set(err, -EINVAL, "internal: step '%s' has no tree effect", st->canonical);
	}
	if (r < 0)
		return r;
	return tree_write(root, env->s, ret_tree, err);
}

static int parse_id(const char *s, uint32_t *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || (*end && *end != ':') || v > 0xfffffffeUL)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int step_apply_config(const struct recipe_step *st, struct manifest *m, struct err *err)
{
	switch (st->op) {
	case RECIPE_ENV:
		for (size_t i = 0; i < st->nkvs; i++)
			manifest_setenv(m, st->kvs[i].key, st->kvs[i].value);
		return 0;
	case RECIPE_LABEL:
		for (size_t i = 0; i < st->nkvs; i++)
			manifest_setlabel(m, st->kvs[i].key, st->kvs[i].value);
		return 0;
	case RECIPE_WORKDIR:
		free(m->config.workdir);
		m->config.workdir = xstrdup(st->args[0]);
		return 0;
	case RECIPE_USER: {
		uint32_t uid, gid;
		const char *colon = strchr(st->args[0], ':');
		if (parse_id(st->args[0], &uid) < 0 || (colon && parse_id(colon + 1, &gid) < 0))
			return err_set(err, -EINVAL, "USER: expected uid[:gid], got '%s'", st->args[0]);
		if (!colon)
			gid = uid;
		free(m->config.user);
		m->config.user = xasprintf("%u:%u", uid, gid);
		return 0;
	}
	case RECIPE_CMD:
		manifest_setcmd(m, st->args, st->nargs);
		return 0;
	default:
		return err_set(err, -EINVAL, "internal: '%s' is not a config step", st->canonical);
	}
}
