/* build: recipe + lock -> image. See build.h for the caching and
 * reproducibility contract; docs/RECIPES.md for what each step does. */
#include "builder/build.h"

#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/debian.h"
#include "builder/manifest.h"
#include "builder/oci.h"
#include "builder/recipe.h"
#include "builder/steps.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/tree.h"
#include "lib/xalloc.h"

#define LOCK_MAX_BYTES (16u << 20)

char *build_lock_path(const char *recipe_path, const char *name)
{
	_cleanup_free_ char *copy = xstrdup(recipe_path);
	char *dir = dirname(copy);
	_cleanup_free_ char *copy2 = xstrdup(dir);
	_cleanup_free_ char *copy3 = xstrdup(dir);
	const char *base = basename(copy2);
	const char *parent = dirname(copy3);
	if (!strcmp(base, "recipes")) {
		_cleanup_free_ char *images = strcmp(parent, ".") ? xasprintf("%s/images", parent)
								 : xstrdup("images");
		struct stat st;
		if (stat(images, &st) == 0 && S_ISDIR(st.st_mode))
			return xasprintf("%s/%s.lock", images, name);
	}
	return xasprintf("%s/%s.lock", dir, name);
}

static void logf_(const struct build_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct build_opts *o, const char *fmt, ...)
{
	if (!o || !o->log)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	o->log(line, o->userdata);
}

/* ---- the lock file ---- */

/* The lock holds one resolved closure per PACKAGES step, keyed by the
 * step's canonical text: {"steps":[{"lock":{...},"step":"PACKAGES a b"}],
 * "version":1}. */
static int lock_load(const char *path, json_t **ret, struct buf *raw, struct err *err)
{
	int r = fs_read_file_at(AT_FDCWD, path, LOCK_MAX_BYTES, raw, err);
	if (r < 0)
		return r;
	json_error_t jerr;
	json_t *root = json_loadb(raw->data, raw->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, -EBADMSG, "%s:%d: invalid JSON: %s", path, jerr.line, jerr.text);
	json_t *steps = json_object_get(root, "steps");
	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1 ||
	    !json_is_array(steps)) {
		json_decref(root);
		return err_set(err, -EBADMSG, "%s: not an airlock lock file (version 1)", path);
	}
	*ret = root;
	return 0;
}

static json_t *lock_find_step(json_t *lock, const char *canonical)
{
	size_t i;
	json_t *st;
	json_array_foreach(json_object_get(lock, "steps"), i, st) {
		const char *text = json_string_value(json_object_get(st, "step"));
		if (text && !strcmp(text, canonical))
			return json_object_get(st, "lock");
	}
	return NULL;
}

static bool from_archive(const char *ref)
{
	return !strncmp(ref, "oci-archive:", 12) || !strncmp(ref, "docker-archive:", 15);
}

/* "oci-archive:PATH" with PATH made absolute against the recipe's
 * directory (malloc'ed), and the SHA-256 of the archive's bytes. */
static int archive_ref(const char *recipe_path, const char *ref, char **ret_ref, struct digest *ret,
		       struct err *err)
{
	const char *colon = strchr(ref, ':');
	const char *path = colon + 1;
	_cleanup_free_ char *copy = xstrdup(recipe_path);
	_cleanup_free_ char *full =
		path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", dirname(copy), path);
	_cleanup_close_ int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_errno(err, "FROM: open archive '%s'", full);
	struct hasher *h = hasher_new();
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		hasher_update(h, chunk, (size_t)n);
	hasher_final(h, ret);
	hasher_free(h);
	if (n < 0)
		return err_errno(err, "FROM: read archive '%s'", full);
	*ret_ref = xasprintf("%.*s%s", (int)(colon - ref + 1), ref, full);
	return 0;
}

static const char *lock_find_archive(json_t *lock, const char *canonical)
{
	size_t i;
	json_t *st;
	json_array_foreach(json_object_get(lock, "steps"), i, st) {
		const char *text = json_string_value(json_object_get(st, "step"));
		if (text && !strcmp(text, canonical))
			return json_string_value(json_object_get(st, "archive"));
	}
	return NULL;
}

int build_lock(const char *recipe_path, const char *lock_path, char **ret_path, struct err *err)
{
	struct recipe *rc = NULL;
	int r = recipe_parse_file(recipe_path, &rc, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = lock_path ? xstrdup(lock_path) : build_lock_path(recipe_path, rc->name);
	json_t *steps = json_array();
	for (size_t i = 0; i < rc->nsteps && r == 0; i++) {
		const struct recipe_step *st = &rc->steps[i];
		if (st->op == RECIPE_FROM && from_archive(st->args[0])) {
			_cleanup_free_ char *ref = NULL;
			struct digest d;
			char ds[DIGEST_STR_SIZE];
			if ((r = archive_ref(recipe_path, st->args[0], &ref, &d, err)) < 0) {
				err_prefix(err, "%s:%u", recipe_path, st->line);
				break;
			}
			digest_to_str(&d, ds);
			json_array_append_new(steps, json_pack("{s:s,s:s}", "step", st->canonical, "archive", ds));
			continue;
		}
		if (st->op != RECIPE_PACKAGES)
			continue;
		struct deb_lock dl = {0};
		r = deb_resolve(st->args, st->nargs, &dl, err);
		if (r < 0) {
			err_prefix(err, "%s:%u", recipe_path, st->line);
			break;
		}
		char *text = deb_lock_to_json(&dl);
		json_t *lj = json_loads(text, 0, NULL);
		free(text);
		deb_lock_free(&dl);
		if (!lj) {
			r = err_set(err, -EIO, "internal: lock JSON does not parse");
			break;
		}
		json_array_append_new(steps, json_pack("{s:s,s:o}", "step", st->canonical, "lock", lj));
	}
	recipe_free(rc);
	if (r < 0) {
		json_decref(steps);
		return r;
	}
	json_t *root = json_pack("{s:o,s:i}", "steps", steps, "version", 1);
	char *text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(root);
	_cleanup_free_ char *withnl = xasprintf("%s\n", text);
	free(text);
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_free_ char *copy2 = xstrdup(path);
	_cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_errno(err, "open directory of '%s'", path);
	r = fs_write_file_atomic(dfd, basename(copy2), withnl, strlen(withnl), 0644, err);
	if (r < 0)
		return r;
	if (ret_path)
		*ret_path = TAKE_PTR(path);
	return 0;
}

/* ---- building ---- */

struct build {
	struct store *s;
	const struct build_opts *o;
	const char *recipe_path;
	struct recipe *rc;
	json_t *lock;          /* NULL when the recipe has no PACKAGES */
	struct buf lock_raw;   /* the lock file's bytes (recorded in the image) */
	struct manifest cur;   /* the image so far */
	struct digest cur_digest;
	bool cur_stored;       /* cur_digest is valid */
	struct step_env env;   /* what step execution needs (steps.h) */
	json_t *record;        /* this build's key record, for --explain */
	json_t *prev_record;   /* the previous build's, if any */
	size_t step_no, nsteps;
};

static void build_release(struct build *b)
{
	recipe_free(b->rc);
	json_decref(b->lock);
	buf_release(&b->lock_raw);
	manifest_release(&b->cur);
	step_env_release(&b->env);
	json_decref(b->record);
	json_decref(b->prev_record);
}

/* The key of a cached step: parent image, canonical step text, inputs. */
static void step_key(const struct build *b, const char *canonical, json_t *inputs,
		     struct digest *ret)
{
	struct hasher *h = hasher_new();
	char parent[DIGEST_STR_SIZE];
	digest_to_str(&b->cur_digest, parent);
	hasher_update(h, "airlock-step 1\n", 15);
	hasher_update(h, parent, strlen(parent));
	hasher_update(h, "\n", 1);
	hasher_update(h, canonical, strlen(canonical) + 1);
	size_t i;
	json_t *in;
	json_array_foreach(inputs, i, in) {
		const char *s = json_string_value(in);
		hasher_update(h, s, strlen(s) + 1);
	}
	hasher_final(h, ret);
	hasher_free(h);
}

/* Why a step missed: compares with the previous build of this recipe. */
static void explain_miss(struct build *b, size_t idx, const char *canonical, json_t *inputs)
{
	json_t *prev = b->prev_record ? json_array_get(json_object_get(b->prev_record, "steps"), idx)
				      : NULL;
	char parent[DIGEST_STR_SIZE];
	digest_to_str(&b->cur_digest, parent);
	const char *why = "no earlier build of this recipe in this store";
	if (prev) {
		const char *pp = json_string_value(json_object_get(prev, "parent"));
		const char *pt = json_string_value(json_object_get(prev, "step"));
		if (pt && strcmp(pt, canonical))
			why = "the step's text changed";
		else if (pp && strcmp(pp, parent + 7))
			why = "an earlier step changed the parent image";
		else if (!json_equal(json_object_get(prev, "inputs"), inputs))
			why = "its inputs changed (package files or COPY sources)";
		else
			why = "the cache entry is gone (gc, --no-cache, or another store)";
	}
	logf_(b->o, "[%zu/%zu] cache miss: %s", b->step_no, b->nsteps, why);
}

static int set_current(struct build *b, struct manifest *m, struct err *err)
{
	struct digest d;
	int r = manifest_put(b->s, m, &d, err);
	if (r < 0) {
		manifest_release(m);
		return r;
	}
	manifest_release(&b->cur);
	b->cur = *m;
	b->cur_digest = d;
	b->cur_stored = true;
	return 0;
}

/* Runs a step that produces a new tree, through the cache. */
static int cached_step(struct build *b, const struct recipe_step *st, struct err *err)
{
	/* Position among the cached steps: how the previous record lines up. */
	size_t idx = json_array_size(json_object_get(b->record, "steps"));
	_cleanup_(json_decrefp) json_t *inputs = json_array();
	struct step_prepared prep = {0};
	int r = step_prepare(&b->env, st, b->lock ? lock_find_step(b->lock, st->canonical) : NULL,
			     inputs, &prep, err);
	if (r < 0)
		return r;
	struct digest key;
	step_key(b, st->canonical, inputs, &key);
	char keyhex[DIGEST_HEX_LEN + 1], parent[DIGEST_STR_SIZE];
	digest_to_hex(&key, keyhex);
	digest_to_str(&b->cur_digest, parent);
	json_array_append_new(json_object_get(b->record, "steps"),
			      json_pack("{s:s,s:s,s:O,s:s}", "step", st->canonical, "parent",
					parent + 7, "inputs", inputs, "key", keyhex));
	struct digest cached;
	struct manifest m;
	if (!b->o->no_cache && store_ref_get(b->s, STORE_NS_CACHE, keyhex, &cached, NULL) == 0 &&
	    manifest_get(b->s, &cached, &m, NULL) == 0) {
		if (store_has(b->s, &m.tree)) {
			step_prepared_release(&prep);
			logf_(b->o, "[%zu/%zu] %s: cached", b->step_no, b->nsteps, st->canonical);
			manifest_release(&b->cur);
			b->cur = m;
			b->cur_digest = cached;
			return 0;
		}
		manifest_release(&m);
	}
	if (b->o->explain)
		explain_miss(b, idx, st->canonical, inputs);
	logf_(b->o, "[%zu/%zu] %s", b->step_no, b->nsteps, st->canonical);
	struct digest tree;
	r = step_execute(&b->env, st, &b->cur, &prep, &tree, err);
	step_prepared_release(&prep);
	if (r < 0)
		return r;
	manifest_copy(&m, &b->cur);
	m.tree = tree;
	if ((r = set_current(b, &m, err)) < 0)
		return r;
	return store_ref_set(b->s, STORE_NS_CACHE, keyhex, &b->cur_digest, err);
}

static int config_step(struct build *b, const struct recipe_step *st, struct err *err)
{
	struct manifest m;
	manifest_copy(&m, &b->cur);
	int r = step_apply_config(st, &m, err);
	if (r < 0) {
		manifest_release(&m);
		return r;
	}
	logf_(b->o, "[%zu/%zu] %s", b->step_no, b->nsteps, st->canonical);
	return set_current(b, &m, err);
}

static int from_step(struct build *b, const struct recipe_step *st, struct err *err)
{
	const char *ref = st->args[0];
	logf_(b->o, "[%zu/%zu] %s", b->step_no, b->nsteps, st->canonical);
	if (!strcmp(ref, "scratch")) {
		struct manifest m;
		manifest_init(&m);
		_cleanup_(tree_freep) struct tree *t = tree_new();
		int r = tree_write(t, b->s, &m.tree, err);
		if (r < 0) {
			manifest_release(&m);
			return r;
		}
		return set_current(b, &m, err);
	}
	struct digest d;
	struct manifest m;
	int r;
	if (from_archive(ref)) {
		/* An archive is pinned by its digest in the lock; an import of
		 * the same bytes is cached under that digest. */
		_cleanup_free_ char *full = NULL;
		struct digest ad, key, cached;
		if ((r = archive_ref(b->recipe_path, ref, &full, &ad, err)) < 0)
			return r;
		const char *pinned = b->lock ? lock_find_archive(b->lock, st->canonical) : NULL;
		char ads[DIGEST_STR_SIZE], keyhex[DIGEST_HEX_LEN + 1];
		digest_to_str(&ad, ads);
		if (!pinned)
			return err_set(err, -ENOENT, "FROM: the archive is not in the lock file; run 'airlock lock'");
		if (strcmp(pinned, ads))
			return err_set(err, -EBADMSG,
				       "FROM: the archive is %s but the lock pins %s; run 'airlock lock' if the change is wanted",
				       ads, pinned);
		_cleanup_free_ char *keytext = xasprintf("airlock-from 1\n%s\n%s", ads, st->canonical);
		digest_buffer(keytext, strlen(keytext), &key);
		digest_to_hex(&key, keyhex);
		if (!b->o->no_cache && store_ref_get(b->s, STORE_NS_CACHE, keyhex, &cached, NULL) == 0 &&
		    manifest_get(b->s, &cached, &m, NULL) == 0) {
			logf_(b->o, "[%zu/%zu] %s: cached", b->step_no, b->nsteps, st->canonical);
			return set_current(b, &m, err);
		}
		if ((r = oci_import_archive(b->s, full, NULL, &m, NULL, err)) < 0)
			return r;
		if ((r = set_current(b, &m, err)) < 0)
			return r;
		return store_ref_set(b->s, STORE_NS_CACHE, keyhex, &b->cur_digest, err);
	}
	if ((r = image_resolve(b->s, ref, &d, err)) < 0)
		return r;
	if ((r = manifest_get(b->s, &d, &m, err)) < 0)
		return r;
	/* The parent's provenance stays with the parent. */
	m.has_recipe = m.has_lock = false;
	return set_current(b, &m, err);
}

/* Keeps the key record of this build for the next --explain. */
static void record_keys(struct build *b)
{
	char *text = json_dumps(b->record, JSON_SORT_KEYS | JSON_COMPACT);
	struct digest d, name;
	digest_buffer(b->rc->name, strlen(b->rc->name), &name);
	char ref[40];
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&name, hex);
	snprintf(ref, sizeof ref, "keys-%.24s", hex);
	if (text && store_put(b->s, text, strlen(text), &d, NULL) == 0)
		store_ref_set(b->s, STORE_NS_CACHE, ref, &d, NULL);
	free(text);
}

static void load_prev_record(struct build *b)
{
	struct digest d, name;
	digest_buffer(b->rc->name, strlen(b->rc->name), &name);
	char ref[40], hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&name, hex);
	snprintf(ref, sizeof ref, "keys-%.24s", hex);
	_cleanup_buf_ struct buf raw = BUF_INIT;
	if (store_ref_get(b->s, STORE_NS_CACHE, ref, &d, NULL) < 0 ||
	    store_get(b->s, &d, 16u << 20, &raw, NULL) < 0)
		return;
	b->prev_record = json_loadb(raw.data, raw.len, 0, NULL);
}

static int build_all(struct build *b, struct digest *ret, struct err *err)
{
	int r = recipe_parse_file(b->recipe_path, &b->rc, err);
	if (r < 0)
		return r;
	bool need_lock = false;
	for (size_t i = 0; i < b->rc->nsteps; i++)
		need_lock |= b->rc->steps[i].op == RECIPE_PACKAGES ||
			     (b->rc->steps[i].op == RECIPE_FROM && from_archive(b->rc->steps[i].args[0]));
	if (need_lock) {
		_cleanup_free_ char *lp = b->o->lock_path ? xstrdup(b->o->lock_path)
							  : build_lock_path(b->recipe_path, b->rc->name);
		if ((r = lock_load(lp, &b->lock, &b->lock_raw, err)) < 0) {
			if (r == -ENOENT)
				err_set(err, -ENOENT, "%s: no lock file '%s'; run 'airlock lock %s' first",
					b->recipe_path, lp, b->recipe_path);
			return r;
		}
	}
	if ((r = step_env_init(&b->env, b->s, b->recipe_path, err)) < 0)
		return r;
	b->env.log = b->o->log;
	b->env.log_ud = b->o->userdata;
	load_prev_record(b);
	b->nsteps = b->rc->nsteps;
	for (size_t i = 0; i < b->rc->nsteps; i++) {
		const struct recipe_step *st = &b->rc->steps[i];
		b->step_no = i + 1;
		switch (st->op) {
		case RECIPE_FROM:
			r = from_step(b, st, err);
			break;
		case RECIPE_PACKAGES:
		case RECIPE_COPY:
		case RECIPE_RUN:
			r = cached_step(b, st, err);
			break;
		default:
			r = config_step(b, st, err);
			break;
		}
		if (r < 0)
			return err_prefix(err, "%s:%u", b->recipe_path, st->line);
	}
	/* The image records its provenance: recipe text and lock bytes. */
	_cleanup_buf_ struct buf text = BUF_INIT;
	if ((r = fs_read_file_at(AT_FDCWD, b->recipe_path, RECIPE_MAX_SIZE, &text, err)) < 0)
		return r;
	if ((r = store_put(b->s, text.data, text.len, &b->cur.recipe, err)) < 0)
		return r;
	b->cur.has_recipe = true;
	if (b->lock) {
		if ((r = store_put(b->s, b->lock_raw.data, b->lock_raw.len, &b->cur.lock, err)) < 0)
			return r;
		b->cur.has_lock = true;
	}
	if ((r = manifest_put(b->s, &b->cur, ret, err)) < 0)
		return r;
	if ((r = image_record(b->s, ret, b->o->tag ? b->o->tag : b->rc->name, err)) < 0)
		return r;
	record_keys(b);
	return 0;
}

int build_recipe(struct store *s, const char *recipe_path, const struct build_opts *opts,
		 struct digest *ret, struct err *err)
{
	static const struct build_opts defaults = {0};
	struct build b = {.s = s, .o = opts ? opts : &defaults, .recipe_path = recipe_path};
	b.env.context_dfd = b.env.deb_cache_dfd = -1;
	manifest_init(&b.cur);
	b.record = json_pack("{s:[]}", "steps");
	int r = build_all(&b, ret, err);
	build_release(&b);
	return r;
}
