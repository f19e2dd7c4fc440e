/* manifest: canonical JSON image manifests (see manifest.h) and image
 * references. The encoder is the only place that decides the bytes an
 * image digest covers. */
#include "builder/manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/macros.h"
#include "lib/xalloc.h"

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **strv_copy(char *const *v, size_t n)
{
	char **out = xcalloc(n ? n : 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

void manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof *m);
	m->config.user = xstrdup("1000:1000");
	m->config.workdir = xstrdup("/");
}

void manifest_release(struct manifest *m)
{
	struct image_config *c = &m->config;
	strv_free(c->env, c->nenv);
	strv_free(c->cmd, c->ncmd);
	strv_free(c->label_keys, c->nlabels);
	strv_free(c->label_values, c->nlabels);
	free(c->user);
	free(c->workdir);
	memset(m, 0, sizeof *m);
}

void manifest_copy(struct manifest *dst, const struct manifest *src)
{
	*dst = *src;
	const struct image_config *c = &src->config;
	dst->config.env = strv_copy(c->env, c->nenv);
	dst->config.cmd = strv_copy(c->cmd, c->ncmd);
	dst->config.label_keys = strv_copy(c->label_keys, c->nlabels);
	dst->config.label_values = strv_copy(c->label_values, c->nlabels);
	dst->config.user = xstrdup(c->user);
	dst->config.workdir = xstrdup(c->workdir);
}

void manifest_setenv(struct manifest *m, const char *key, const char *value)
{
	struct image_config *c = &m->config;
	size_t kl = strlen(key);
	char *entry = xasprintf("%s=%s", key, value);
	for (size_t i = 0; i < c->nenv; i++) {
		if (!strncmp(c->env[i], key, kl) && c->env[i][kl] == '=') {
			free(c->env[i]);
			c->env[i] = entry;
			return;
		}
	}
	c->env = xrealloc(c->env, (c->nenv + 1) * sizeof *c->env);
	c->env[c->nenv++] = entry;
}

void manifest_setlabel(struct manifest *m, const char *key, const char *value)
{
	struct image_config *c = &m->config;
	for (size_t i = 0; i < c->nlabels; i++) {
		if (!strcmp(c->label_keys[i], key)) {
			free(c->label_values[i]);
			c->label_values[i] = xstrdup(value);
			return;
		}
	}
	c->label_keys = xrealloc(c->label_keys, (c->nlabels + 1) * sizeof(char *));
	c->label_values = xrealloc(c->label_values, (c->nlabels + 1) * sizeof(char *));
	c->label_keys[c->nlabels] = xstrdup(key);
	c->label_values[c->nlabels++] = xstrdup(value);
}

void manifest_setcmd(struct manifest *m, char *const *argv, size_t n)
{
	strv_free(m->config.cmd, m->config.ncmd);
	m->config.cmd = strv_copy(argv, n);
	m->config.ncmd = n;
}

static json_t *json_digest(const struct digest *d)
{
	char s[DIGEST_STR_SIZE];
	digest_to_str(d, s);
	return json_string(s);
}

static json_t *json_strv(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

char *manifest_encode(const struct manifest *m, size_t *ret_len)
{
	const struct image_config *c = &m->config;
	_cleanup_(json_decrefp) json_t *root = json_object();
	json_t *config = json_object();
	json_t *labels = json_object();
	for (size_t i = 0; i < c->nlabels; i++)
		json_object_set_new(labels, c->label_keys[i], json_string(c->label_values[i]));
	json_object_set_new(config, "Cmd", json_strv(c->cmd, c->ncmd));
	json_object_set_new(config, "Env", json_strv(c->env, c->nenv));
	json_object_set_new(config, "Labels", labels);
	json_object_set_new(config, "User", json_string(c->user));
	json_object_set_new(config, "WorkingDir", json_string(c->workdir));
	json_object_set_new(root, "config", config);
	if (m->has_lock)
		json_object_set_new(root, "lock", json_digest(&m->lock));
	if (m->has_recipe)
		json_object_set_new(root, "recipe", json_digest(&m->recipe));
	json_object_set_new(root, "schema", json_integer(MANIFEST_SCHEMA));
	json_object_set_new(root, "tree", json_digest(&m->tree));
	char *s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	if (!s)
		abort();
	*ret_len = strlen(s);
	return s;
}

static int get_digest(json_t *obj, const char *key, struct digest *ret, bool *present,
		      struct err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (present) {
			*present = false;
			return 0;
		}
		return err_set(err, -EBADMSG, "manifest: missing \"%s\"", key);
	}
	if (!json_is_string(v) || !digest_str_valid(json_string_value(v)))
		return err_set(err, -EBADMSG, "manifest: \"%s\" is not a sha256 digest", key);
	digest_parse(json_string_value(v), ret);
	if (present)
		*present = true;
	return 0;
}

static int get_strv(json_t *obj, const char *key, char ***ret, size_t *ret_n, struct err *err)
{
	json_t *a = json_object_get(obj, key);
	if (!json_is_array(a))
		return err_set(err, -EBADMSG, "manifest: config \"%s\" is not an array", key);
	size_t n = json_array_size(a);
	char **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(a, i);
		if (!json_is_string(s)) {
			strv_free(v, i);
			return err_set(err, -EBADMSG, "manifest: config \"%s\" holds a non-string", key);
		}
		v[i] = xstrdup(json_string_value(s));
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool only_keys(json_t *obj, const char *const *keys, size_t n, const char **bad)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++)
			ok = !strcmp(k, keys[i]);
		if (!ok) {
			*bad = k;
			return false;
		}
	}
	return true;
}

static int decode_config(json_t *cfg, json_t *user, json_t *wd, json_t *labels, struct manifest *m,
			 struct err *err)
{
	struct image_config *c = &m->config;
	int r;
	c->user = xstrdup(json_string_value(user));
	c->workdir = xstrdup(json_string_value(wd));
	if ((r = get_strv(cfg, "Env", &c->env, &c->nenv, err)) < 0)
		return r;
	if ((r = get_strv(cfg, "Cmd", &c->cmd, &c->ncmd, err)) < 0)
		return r;
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v) {
		if (!json_is_string(v))
			return err_set(err, -EBADMSG, "manifest: label \"%s\" is not a string", k);
		manifest_setlabel(m, k, json_string_value(v));
	}
	return 0;
}

int manifest_decode(const void *data, size_t len, struct manifest *ret, struct err *err)
{
	static const char *const top_keys[] = {"config", "lock", "recipe", "schema", "tree"};
	static const char *const cfg_keys[] = {"Cmd", "Env", "Labels", "User", "WorkingDir"};
	json_error_t jerr;
	_cleanup_(json_decrefp) json_t *root =
		json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, -EBADMSG, "manifest: invalid JSON at byte %d: %s", jerr.position,
			       jerr.text);
	const char *bad = NULL;
	if (!json_is_object(root) || !only_keys(root, top_keys, ARRAY_SIZE(top_keys), &bad))
		return err_set(err, -EBADMSG, "manifest: unexpected key \"%s\"", bad ?: "(not an object)");
	json_t *schema = json_object_get(root, "schema");
	if (!json_is_integer(schema) || json_integer_value(schema) != MANIFEST_SCHEMA)
		return err_set(err, -EBADMSG, "manifest: unsupported schema (want %d)", MANIFEST_SCHEMA);
	struct manifest m;
	memset(&m, 0, sizeof m);
	int r;
	if ((r = get_digest(root, "tree", &m.tree, NULL, err)) < 0 ||
	    (r = get_digest(root, "recipe", &m.recipe, &m.has_recipe, err)) < 0 ||
	    (r = get_digest(root, "lock", &m.lock, &m.has_lock, err)) < 0)
		return r;
	json_t *cfg = json_object_get(root, "config");
	if (!json_is_object(cfg) || !only_keys(cfg, cfg_keys, ARRAY_SIZE(cfg_keys), &bad))
		return err_set(err, -EBADMSG, "manifest: config: unexpected key \"%s\"",
			       bad ?: "(not an object)");
	json_t *user = json_object_get(cfg, "User"), *wd = json_object_get(cfg, "WorkingDir");
	json_t *labels = json_object_get(cfg, "Labels");
	if (!json_is_string(user) || !json_is_string(wd) || !json_is_object(labels))
		return err_set(err, -EBADMSG, "manifest: config: User, WorkingDir or Labels malformed");
	r = decode_config(cfg, user, wd, labels, &m, err);
	if (r == 0) {
		/* Canonical means canonical: re-encoding must give the same bytes,
		 * so one image has exactly one digest. */
		size_t elen;
		_cleanup_free_ char *again = manifest_encode(&m, &elen);
		if (elen != len || memcmp(again, data, len))
			r = err_set(err, -EBADMSG, "manifest: not in canonical form");
	}
	if (r < 0) {
		manifest_release(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int manifest_put(struct store *s, const struct manifest *m, struct digest *ret, struct err *err)
{
	size_t len;
	_cleanup_free_ char *bytes = manifest_encode(m, &len);
	return store_put(s, bytes, len, ret, err);
}

int manifest_get(struct store *s, const struct digest *d, struct manifest *ret, struct err *err)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = store_get(s, d, MANIFEST_MAX_BYTES, &b, err);
	if (r < 0)
		return r;
	r = manifest_decode(b.data, b.len, ret, err);
	if (r < 0) {
		char name[DIGEST_STR_SIZE];
		digest_to_str(d, name);
		return err_prefix(err, "image %s", name);
	}
	return 0;
}

int image_resolve(struct store *s, const char *ref, struct digest *ret, struct err *err)
{
	if (!strncmp(ref, "sha256:", 7) && strlen(ref) == 7 + DIGEST_HEX_LEN) {
		if (digest_parse(ref, ret) < 0)
			return err_set(err, -EINVAL, "invalid image digest '%s'", ref);
		if (!store_has(s, ret))
			return err_set(err, -ENOENT, "no image %s in the store", ref);
		return 0;
	}
	if (store_ref_name_valid(ref)) {
		int r = store_ref_get(s, STORE_NS_TAGS, ref, ret, NULL);
		if (r == 0)
			return 0;
	}
	const char *hex = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
	size_t hl = strlen(hex);
	bool is_hex = hl >= 8 && hl <= DIGEST_HEX_LEN && strspn(hex, "0123456789abcdef") == hl;
	if (is_hex) {
		char **names = NULL;
		size_t n = 0, found = 0;
		int r = store_ref_list(s, STORE_NS_IMAGES, &names, &n, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			if (!strncmp(names[i], hex, hl)) {
				found++;
				digest_parse(names[i], ret);
			}
		}
		store_names_free(names, n);
		if (found == 1)
			return 0;
		if (found > 1)
			return err_set(err, -EINVAL, "image prefix '%s' is ambiguous", ref);
	}
	return err_set(err, -ENOENT, "no image named '%s' (see 'airlock images')", ref);
}

int image_record(struct store *s, const struct digest *image, const char *name, struct err *err)
{
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(image, hex);
	int r = store_ref_set(s, STORE_NS_IMAGES, hex, image, err);
	if (r < 0)
		return r;
	if (name)
		return store_ref_set(s, STORE_NS_TAGS, name, image, err);
	return 0;
}
