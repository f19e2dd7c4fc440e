/* maintain: images, rmi, gc and fsck. Marking follows the reference rule
 * in maintain.h; trees are decoded strictly, so a corrupt tree is a
 * problem, never a reason to drop what it references. */
#include "builder/maintain.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/manifest.h"
#include "lib/digestset.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/tree.h"
#include "lib/xalloc.h"

#define JSON_DOC_MAX (64u << 20)
#define TREE_OBJ_MAX (256u << 20)

struct marker {
	struct store *s;
	struct digestset seen;
	struct digestset trees; /* reachable trees: checkouts to keep */
	struct digestset docs;  /* JSON documents walked */
	struct buf *problems;   /* NULL: stop at the first problem */
	size_t nproblems;
	const char *root; /* "tags/busybox": where a problem was reached from */
	struct err *err;
};

static int problem(struct marker *m, const struct digest *d, const char *what)
{
	char name[DIGEST_STR_SIZE];
	digest_to_str(d, name);
	m->nproblems++;
	if (!m->problems)
		return err_set(m->err, -EBADMSG, "%s %s (reached from %s); run 'airlock fsck'", what,
			       name, m->root);
	buf_printf(m->problems, "%s %s (reached from %s)\n", what, name, m->root);
	return 0;
}

static int mark_blob(struct marker *m, const struct digest *d)
{
	if (!digestset_add(&m->seen, d))
		return 0;
	if (!store_has(m->s, d))
		return problem(m, d, "missing object");
	return 0;
}

static int mark_tree(struct marker *m, const struct digest *d, unsigned depth)
{
	/* Deduplicated per type: an object first reached as a blob must
	 * still decode as a tree when something names it as one. */
	digestset_add(&m->seen, d);
	if (!digestset_add(&m->trees, d))
		return 0;
	if (depth > TREE_DEPTH_MAX)
		return problem(m, d, "tree nested too deep at");
	_cleanup_buf_ struct buf b = BUF_INIT;
	struct err e = {0};
	int r = store_get(m->s, d, TREE_OBJ_MAX, &b, &e);
	if (r < 0)
		return problem(m, d, r == -ENOENT ? "missing tree" : "unreadable or corrupt tree");
	struct tree_dirent *ents = NULL;
	size_t n = 0;
	if (tree_decode(b.data, b.len, &ents, &n, &e) < 0)
		return problem(m, d, "malformed tree");
	r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (ents[i].attr.type == TREE_DIR)
			r = mark_tree(m, &ents[i].attr.digest, depth + 1);
		else
			r = mark_blob(m, &ents[i].attr.digest);
	}
	tree_dirents_free(ents, n);
	return r;
}

static int mark_json(struct marker *m, const struct digest *d);

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static bool is_blob_key(const char *key)
{
	static const char *const blob_keys[] = {"recipe", "lock", "stdout", "stderr"};
	for (size_t i = 0; i < ARRAY_SIZE(blob_keys); i++)
		if (!strcmp(key, blob_keys[i]))
			return true;
	return ends_with(key, "_blob") || ends_with(key, "blobs");
}

static int mark_value(struct marker *m, json_t *v, const char *key)
{
	int r = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *child;
		json_object_foreach(v, k, child) {
			if ((r = mark_value(m, child, k)) < 0)
				return r;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child) {
			if ((r = mark_value(m, child, key)) < 0)
				return r;
		}
	} else if (json_is_string(v) && key && digest_str_valid(json_string_value(v))) {
		struct digest d;
		digest_parse(json_string_value(v), &d);
		if (ends_with(key, "tree"))
			r = mark_tree(m, &d, 0);
		else if (!strcmp(key, "image") || ends_with(key, "manifest") || ends_with(key, "record"))
			r = mark_json(m, &d);
		else if (is_blob_key(key))
			r = mark_blob(m, &d);
		/* Any other digest-looking string is data (an argv word, a
		 * label): not a reference, so it can neither keep nor fail. */
	}
	return r;
}

static int mark_json(struct marker *m, const struct digest *d)
{
	digestset_add(&m->seen, d);
	if (!digestset_add(&m->docs, d))
		return 0;
	_cleanup_buf_ struct buf b = BUF_INIT;
	struct err e = {0};
	int r = store_get(m->s, d, JSON_DOC_MAX, &b, &e);
	if (r < 0)
		return problem(m, d, r == -ENOENT ? "missing document" : "unreadable or corrupt document");
	json_error_t jerr;
	json_t *root = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return problem(m, d, "malformed JSON document");
	r = mark_value(m, root, NULL);
	json_decref(root);
	return r;
}

static const char *const root_namespaces[] = {STORE_NS_TAGS, STORE_NS_IMAGES, STORE_NS_CACHE,
					      STORE_NS_RUNS};

static int mark_all(struct marker *m)
{
	char rootname[200];
	for (size_t i = 0; i < ARRAY_SIZE(root_namespaces); i++) {
		char **names = NULL;
		size_t n = 0;
		int r = store_ref_list(m->s, root_namespaces[i], &names, &n, m->err);
		if (r < 0)
			return r;
		for (size_t j = 0; j < n && r == 0; j++) {
			struct digest d;
			struct err e = {0};
			snprintf(rootname, sizeof rootname, "%s/%s", root_namespaces[i], names[j]);
			m->root = rootname;
			if (store_ref_get(m->s, root_namespaces[i], names[j], &d, &e) < 0) {
				m->nproblems++;
				if (!m->problems)
					r = err_set(m->err, -EBADMSG, "bad ref %s: %s", rootname, e.msg);
				else
					buf_printf(m->problems, "bad ref %s: %s\n", rootname, e.msg);
				continue;
			}
			r = mark_json(m, &d);
		}
		store_names_free(names, n);
		if (r < 0)
			return r;
	}
	return 0;
}

static void marker_release(struct marker *m)
{
	digestset_release(&m->seen);
	digestset_release(&m->trees);
	digestset_release(&m->docs);
}

int maintain_reachable(struct store *s, const struct digest *doc, struct digestset *set,
		       struct err *err)
{
	char name[DIGEST_STR_SIZE];
	digest_to_str(doc, name);
	struct marker m = {.s = s, .err = err, .root = name};
	int r = mark_json(&m, doc);
	for (size_t i = 0; r == 0 && i < m.seen.cap; i++)
		if (m.seen.used[i])
			digestset_add(set, &m.seen.slots[i]);
	marker_release(&m);
	return r;
}

/* ---- images ---- */

static int cmp_info(const void *a, const void *b)
{
	const struct image_info *x = a, *y = b;
	const char *nx = x->nnames ? x->names[0] : "\xff", *ny = y->nnames ? y->names[0] : "\xff";
	int c = strcmp(nx, ny);
	return c ? c : memcmp(x->digest.b, y->digest.b, DIGEST_LEN);
}

void image_infos_free(struct image_info *infos, size_t count)
{
	for (size_t i = 0; i < count; i++)
		store_names_free(infos[i].names, infos[i].nnames);
	free(infos);
}

int images_list(struct store *s, struct image_info **ret, size_t *ret_count, struct err *err)
{
	char **hexes = NULL, **tags = NULL;
	size_t nhex = 0, ntags = 0;
	int r = store_ref_list(s, STORE_NS_IMAGES, &hexes, &nhex, err);
	if (r < 0)
		return r;
	r = store_ref_list(s, STORE_NS_TAGS, &tags, &ntags, err);
	if (r < 0) {
		store_names_free(hexes, nhex);
		return r;
	}
	struct digest *tag_targets = xcalloc(ntags ? ntags : 1, sizeof *tag_targets);
	for (size_t i = 0; i < ntags; i++)
		store_ref_get(s, STORE_NS_TAGS, tags[i], &tag_targets[i], NULL);
	struct image_info *infos = xcalloc(nhex ? nhex : 1, sizeof *infos);
	size_t n = 0;
	for (size_t i = 0; i < nhex && r == 0; i++) {
		struct image_info *info = &infos[n];
		if (digest_parse(hexes[i], &info->digest) < 0)
			continue;
		n++;
		for (size_t t = 0; t < ntags; t++) {
			if (digest_equal(&tag_targets[t], &info->digest)) {
				info->names = xrealloc(info->names, (info->nnames + 1) * sizeof(char *));
				info->names[info->nnames++] = xstrdup(tags[t]);
			}
		}
		struct manifest mf;
		r = manifest_get(s, &info->digest, &mf, err);
		if (r < 0)
			break;
		r = tree_usage(s, &mf.tree, &info->bytes, &info->entries, err);
		manifest_release(&mf);
	}
	free(tag_targets);
	store_names_free(hexes, nhex);
	store_names_free(tags, ntags);
	if (r < 0) {
		image_infos_free(infos, n);
		return r;
	}
	qsort(infos, n, sizeof *infos, cmp_info);
	*ret = infos;
	*ret_count = n;
	return 0;
}

static int untag_all(struct store *s, const struct digest *image, struct err *err)
{
	char **tags = NULL;
	size_t n = 0;
	int r = store_ref_list(s, STORE_NS_TAGS, &tags, &n, err);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct digest d;
		if (store_ref_get(s, STORE_NS_TAGS, tags[i], &d, NULL) == 0 && digest_equal(&d, image))
			r = store_ref_delete(s, STORE_NS_TAGS, tags[i], err);
	}
	store_names_free(tags, n);
	return r;
}

static bool has_other_tag(struct store *s, const struct digest *image)
{
	char **tags = NULL;
	size_t n = 0;
	bool found = false;
	if (store_ref_list(s, STORE_NS_TAGS, &tags, &n, NULL) < 0)
		return true;
	for (size_t i = 0; i < n && !found; i++) {
		struct digest d;
		found = store_ref_get(s, STORE_NS_TAGS, tags[i], &d, NULL) == 0 && digest_equal(&d, image);
	}
	store_names_free(tags, n);
	return found;
}

int image_remove(struct store *s, const char *ref, struct err *err)
{
	struct digest d;
	char hex[DIGEST_HEX_LEN + 1];
	int r;
	if (store_ref_name_valid(ref) && store_ref_get(s, STORE_NS_TAGS, ref, &d, NULL) == 0) {
		if ((r = store_ref_delete(s, STORE_NS_TAGS, ref, err)) < 0)
			return r;
		if (has_other_tag(s, &d))
			return 0;
		digest_to_hex(&d, hex);
		r = store_ref_delete(s, STORE_NS_IMAGES, hex, err);
		return r == -ENOENT ? 0 : r;
	}
	if ((r = image_resolve(s, ref, &d, err)) < 0)
		return r;
	if ((r = untag_all(s, &d, err)) < 0)
		return r;
	digest_to_hex(&d, hex);
	r = store_ref_delete(s, STORE_NS_IMAGES, hex, err);
	return r == -ENOENT ? 0 : r;
}

/* ---- gc ---- */

struct sweep {
	struct marker *m;
	struct gc_stats *stats;
	struct err *err;
};

static int sweep_object(const struct digest *d, void *ud)
{
	struct sweep *sw = ud;
	if (digestset_has(&sw->m->seen, d)) {
		sw->stats->objects_kept++;
		return 0;
	}
	char hex[DIGEST_HEX_LEN + 1];
	struct stat st;
	digest_to_hex(d, hex);
	char rel[DIGEST_HEX_LEN + 12];
	snprintf(rel, sizeof rel, "objects/%.2s/%s", hex, hex + 2);
	if (fstatat(store_dirfd(sw->m->s), rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		sw->stats->bytes_removed += (uint64_t)st.st_size;
	sw->stats->objects_removed++;
	return store_delete_object(sw->m->s, d, sw->err);
}

/* Calls fn(dfd, name) for each entry of the store subdirectory sub. */
static int foreach_entry(struct store *s, const char *sub,
			 int (*fn)(int dfd, const char *name, void *ud), void *ud, struct err *err)
{
	int dfd = openat(store_dirfd(s), sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return errno == ENOENT ? 0 : err_errno(err, "gc: open %s", sub);
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return err_errno(err, "gc: read %s", sub);
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = fn(dirfd(dir), de->d_name, ud);
	closedir(dir);
	return r;
}

static int sweep_checkout(int dfd, const char *name, void *ud)
{
	struct sweep *sw = ud;
	/* "<hex>" or "<hex>.s<shift>[.u<uid>.g<gid>]" (tree_checkout_mapped) */
	struct digest d;
	char hex[DIGEST_HEX_LEN + 1];
	snprintf(hex, sizeof hex, "%s", name);
	bool well_formed = strlen(name) == DIGEST_HEX_LEN || name[DIGEST_HEX_LEN] == '.';
	if (well_formed && digest_parse(hex, &d) == 0 && digestset_has(&sw->m->trees, &d))
		return 0;
	sw->stats->checkouts_removed++;
	return fs_rm_rf_at(dfd, name, sw->err);
}

static int sweep_file(int dfd, const char *name, void *ud)
{
	struct sweep *sw = ud;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_nlink > 1)
		return 0;
	sw->stats->files_removed++;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return err_errno(sw->err, "gc: remove files/%s", name);
	return 0;
}

static int sweep_runstate(int dfd, const char *name, void *ud)
{
	struct sweep *sw = ud;
	struct digest d;
	if (store_ref_name_valid(name) && store_ref_get(sw->m->s, STORE_NS_RUNS, name, &d, NULL) == 0)
		return 0;
	return fs_rm_rf_at(dfd, name, sw->err);
}

static int sweep_temp(int dfd, const char *name, void *ud)
{
	struct sweep *sw = ud;
	sw->stats->temp_removed++;
	return fs_rm_rf_at(dfd, name, sw->err);
}

int gc_run(struct store *s, struct gc_stats *ret, struct err *err)
{
	memset(ret, 0, sizeof *ret);
	int r = store_lock_exclusive(s, err);
	if (r < 0)
		return r;
	struct marker m = {.s = s, .err = err};
	r = mark_all(&m);
	if (r < 0) {
		marker_release(&m);
		return err_prefix(err, "nothing removed");
	}
	struct sweep sw = {&m, ret, err};
	/* Writers hold the shared lock for their whole life, so with the
	 * exclusive lock held every temp file is garbage. */
	r = foreach_entry(s, "tmp", sweep_temp, &sw, err);
	/* Stat caches name objects without being roots; an old one could name
	 * what this gc deletes. They are only a speed-up: drop them. */
	if (r == 0)
		r = fs_rm_rf_at(store_dirfd(s), "statcache", err);
	if (r == 0)
		r = foreach_entry(s, "runstate", sweep_runstate, &sw, err);
	if (r == 0)
		r = store_foreach_object(s, sweep_object, &sw, err);
	if (r == 0)
		r = foreach_entry(s, "checkouts", sweep_checkout, &sw, err);
	if (r == 0)
		r = foreach_entry(s, "files", sweep_file, &sw, err);
	marker_release(&m);
	if (r == 0 && syncfs(store_dirfd(s)) < 0)
		r = err_errno(err, "gc: syncfs");
	return r;
}

/* ---- fsck ---- */

struct verify {
	struct store *s;
	struct fsck_report *rep;
};

static int verify_object(const struct digest *d, void *ud)
{
	struct verify *v = ud;
	struct err e = {0};
	v->rep->objects_checked++;
	if (store_verify(v->s, d, &e) < 0) {
		v->rep->problems++;
		buf_printf(&v->rep->text, "%s\n", e.msg);
	}
	return 0;
}

int fsck_run(struct store *s, struct fsck_report *ret, struct err *err)
{
	memset(ret, 0, sizeof *ret);
	struct verify v = {s, ret};
	int r = store_foreach_object(s, verify_object, &v, err);
	if (r < 0)
		return r;
	struct marker m = {.s = s, .problems = &ret->text, .err = err};
	r = mark_all(&m);
	ret->problems += m.nproblems;
	marker_release(&m);
	return r;
}
