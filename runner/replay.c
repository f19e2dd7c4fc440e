/* replay: runs again from a record, and a run's changeset. Kept apart
 * from run.c because comparing outputs needs the changeset code (and with
 * it libgit2), which plain runs must not load. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/macros.h"
#include "lib/xalloc.h"
#include "runner/run.h"
#include "snapshot/changeset.h"

static int json_u64(json_t *o, const char *k, uint64_t *ret)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EBADMSG;
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int record_digest(json_t *rec, const char *key, struct digest *ret, const char *id,
			 struct err *err)
{
	const char *v = json_string_value(json_object_get(rec, key));
	if (!v || !digest_str_valid(v))
		return err_set(err, -EBADMSG, "run %s: record has no valid \"%s\"", id, key);
	digest_parse(v, ret);
	return 0;
}

static int replay_record(struct store *s, json_t *rec, struct replay_result *ret, struct err *err)
{
	int r;
	struct digest image, input;
	char image_str[DIGEST_STR_SIZE];
	json_t *argv_j = json_object_get(rec, "argv"), *env_j = json_object_get(rec, "env");
	json_t *lim = json_object_get(rec, "limits"), *mounts_j = json_object_get(rec, "mounts");
	if ((r = record_digest(rec, "image", &image, ret->original, err)) < 0 ||
	    (r = record_digest(rec, "input_tree", &input, ret->original, err)) < 0 ||
	    (r = record_digest(rec, "output_tree", &ret->expected, ret->original, err)) < 0)
		return r;
	if (!json_is_array(argv_j) || !json_is_object(env_j) || !json_is_object(lim) ||
	    !json_is_array(mounts_j))
		return err_set(err, -EBADMSG, "run %s: record lacks argv, env, limits or mounts",
			       ret->original);
	ret->original_exit = (int)json_integer_value(json_object_get(json_object_get(rec, "exit"), "code"));
	digest_to_str(&image, image_str);
	size_t n = json_array_size(argv_j), ne = json_object_size(env_j), nm = json_array_size(mounts_j);
	_cleanup_free_ char **argv = xcalloc(n + 1, sizeof *argv);
	_cleanup_free_ char **env = xcalloc(ne + 1, sizeof *env);
	_cleanup_free_ struct sandbox_mount *mounts = xcalloc(nm + 1, sizeof *mounts);
	for (size_t i = 0; i < n; i++)
		argv[i] = (char *)json_string_value(json_array_get(argv_j, i));
	size_t k = 0;
	const char *key;
	json_t *val;
	json_object_foreach(env_j, key, val) {
		/* -e K=V was recorded; -e K was not: take it from this host. */
		env[k++] = json_is_string(val) ? xasprintf("%s=%s", key, json_string_value(val)) : xstrdup(key);
	}
	for (size_t i = 0; i < nm; i++) {
		json_t *m = json_array_get(mounts_j, i);
		mounts[i] = (struct sandbox_mount){json_string_value(json_object_get(m, "source")),
						   json_string_value(json_object_get(m, "target")),
						   json_is_true(json_object_get(m, "rw"))};
	}
	struct run_request req = {
		.image = image_str,
		.workspace = json_string_value(json_object_get(rec, "workspace")),
		.env = env,
		.nenv = k,
		.mounts = mounts,
		.nmounts = nm,
		.argv = argv,
		.input_tree = &input,
		.git_head = json_string_value(json_object_get(rec, "git_head")),
		.replay_of = ret->original,
	};
	json_u64(lim, "timeout_ms", &req.limits.timeout_ms);
	json_u64(lim, "memory_bytes", &req.limits.memory_bytes);
	json_u64(lim, "pids", &req.limits.pids);
	json_u64(lim, "cpus_milli", &req.limits.cpus_milli);
	json_u64(lim, "disk_bytes", &req.limits.disk_bytes);
	for (size_t i = 0; i < n; i++)
		if (!argv[i]) {
			r = err_set(err, -EBADMSG, "run %s: argv holds a non-string", ret->original);
			break;
		}
	if (r == 0)
		r = run_execute(s, &req, &ret->run, err);
	for (size_t i = 0; i < k; i++)
		free(env[i]);
	if (r == 0) {
		ret->got = ret->run.output_tree;
		ret->same = digest_equal(&ret->got, &ret->expected);
	}
	return r;
}

int run_replay(struct store *s, const char *ref, struct replay_result *ret, struct err *err)
{
	memset(ret, 0, sizeof *ret);
	json_t *rec = NULL;
	int r = run_record_load(s, ref, ret->original, &rec, err);
	if (r < 0)
		return r;
	r = replay_record(s, rec, ret, err);
	json_decref(rec);
	return r;
}

int run_record_changeset(struct store *s, json_t *rec, const char *id,
			 const struct changeset_opts *opts, struct changeset **ret_cs, struct err *err)
{
	struct digest in, out;
	int r;
	if ((r = record_digest(rec, "input_tree", &in, id, err)) < 0 ||
	    (r = record_digest(rec, "output_tree", &out, id, err)) < 0)
		return r;
	return changeset_compute(s, &in, &out, opts, ret_cs, err);
}

int run_changeset(struct store *s, const char *ref, const struct changeset_opts *opts,
		  char *ret_id, struct changeset **ret_cs, struct err *err)
{
	json_t *rec = NULL;
	int r = run_record_load(s, ref, ret_id, &rec, err);
	if (r < 0)
		return r;
	r = run_record_changeset(s, rec, ret_id, opts, ret_cs, err);
	json_decref(rec);
	return r;
}
