/* run: a whole agent run (see run.h) and RUN steps of image builds. The
 * order is fixed by what each step needs: the record names exact digests,
 * so the image and the workspace are pinned (snapshot) before anything
 * runs, and the host workspace is only ever read. */
#include "runner/run.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/tree.h"
#include "lib/xalloc.h"
#include "snapshot/capture.h"
#include "snapshot/workspace.h"

#define NOTES_MAX 1000
#define RUN_ERR_TAIL 2048

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void make_run_id(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char rnd[5];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fs_random_hex(rnd, 4);
	/* Sorts by start time (to the microsecond), so "last" is the newest. */
	snprintf(out, len, "%04d%02d%02d-%02d%02d%02d.%06ld-%s", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, rnd);
}

static void rfc3339_now(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The id shift of this process's sandboxes (root: a private range). */
static uint32_t id_shift(void)
{
	return geteuid() == 0 ? (uint32_t)sandbox_host_uid(0) : 0;
}

static int parse_user(const char *user, uint32_t *uid, uint32_t *gid, struct err *err)
{
	unsigned u, g;
	char tail;
	if (sscanf(user, "%u:%u%c", &u, &g, &tail) != 2)
		return err_set(err, -EINVAL, "image config: User '%s' is not uid:gid", user);
	*uid = u;
	*gid = g;
	return 0;
}

/* The passwd entry of uid in the image, for HOME and USER. */
static void image_passwd(struct store *s, const struct digest *tree, uint32_t uid, char **ret_name,
			 char **ret_home)
{
	*ret_name = *ret_home = NULL;
	_cleanup_(tree_freep) struct tree *t = NULL;
	struct tree_attr a;
	if (tree_load(s, tree, &t, NULL) < 0 || tree_get(t, s, "etc/passwd", &a, NULL) < 0 ||
	    a.type != TREE_FILE)
		return;
	_cleanup_buf_ struct buf b = BUF_INIT;
	if (store_get(s, &a.digest, 1u << 20, &b, NULL) < 0 || !b.data)
		return;
	char *save = NULL;
	for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7] = {0};
		size_t n = 0;
		for (char *p = line; n < 7; n++) {
			f[n] = p;
			char *c = strchr(p, ':');
			if (!c)
				break;
			*c = '\0';
			p = c + 1;
		}
		if (n >= 6 && f[2] && (uint32_t)strtoul(f[2], NULL, 10) == uid) {
			*ret_name = xstrdup(f[0]);
			*ret_home = xstrdup(f[5]);
			return;
		}
	}
}

struct envv {
	char **v;
	size_t n, cap;
};

static void env_set(struct envv *e, const char *key, const char *value)
{
	size_t kl = strlen(key);
	char *entry = xasprintf("%s=%s", key, value);
	for (size_t i = 0; i < e->n; i++) {
		if (!strncmp(e->v[i], key, kl) && e->v[i][kl] == '=') {
			free(e->v[i]);
			e->v[i] = entry;
			return;
		}
	}
	xgrow(&e->v, &e->cap, e->n + 2, sizeof *e->v);
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
}

static void env_release(struct envv *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

static bool env_name_valid(const char *k, size_t n)
{
	if (n == 0 || !((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
		      (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

/* airlock's defaults, then the image's ENV (a recipe's explicit choice
 * wins, HOME included): the environment of runs and RUN steps alike. */
static void base_env(struct envv *e, const struct manifest *m, const char *term, const char *home,
		     const char *user)
{
	env_set(e, "PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	env_set(e, "TERM", term);
	env_set(e, "HOME", home);
	env_set(e, "USER", user);
	env_set(e, "LANG", "C.UTF-8");
	env_set(e, "TZ", "UTC");
	for (size_t i = 0; i < m->config.nenv; i++) {
		const char *eq = strchr(m->config.env[i], '=');
		if (!eq)
			continue;
		_cleanup_free_ char *k = xstrndup(m->config.env[i], (size_t)(eq - m->config.env[i]));
		env_set(e, k, eq + 1);
	}
}

/* The clean environment: defaults, image ENV, then -e. Nothing
 * else from the host: an API key must be asked for by name. */
static int build_env(const struct manifest *m, const char *user, const char *home,
		     char *const *req_env, size_t nreq, struct envv *e, json_t *rec_env,
		     struct err *err)
{
	const char *term = getenv("TERM");
	base_env(e, m, term && *term ? term : "dumb", home, user);
	for (size_t i = 0; i < nreq; i++) {
		const char *kv = req_env[i];
		const char *eq = strchr(kv, '=');
		size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
		if (!env_name_valid(kv, kl))
			return err_set(err, -EINVAL, "-e '%s': not a variable name", kv);
		_cleanup_free_ char *k = xstrndup(kv, kl);
		if (eq) {
			env_set(e, k, eq + 1);
			json_object_set_new(rec_env, k, json_string(eq + 1));
		} else {
			const char *v = getenv(k);
			if (!v)
				return err_set(err, -ENOENT, "-e %s: not set in the host environment", k);
			env_set(e, k, v);
			json_object_set_new(rec_env, k, json_null());
		}
	}
	return 0;
}

/* Reads a small file beneath dfd into out (NUL-terminated, newline cut). */
static bool read_small(int dfd, const char *path, char *out, size_t len)
{
	_cleanup_close_ int fd = fs_open_beneath(dfd, path, O_RDONLY, 0, 1, NULL);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, out, len - 1);
	if (n <= 0)
		return false;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return true;
}

static bool is_oid(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* HEAD of the workspace's git repository ("" if it is none), read from
 * .git directly: loose ref, then packed-refs. Runs must not pay for
 * loading libgit2. A .git file (worktree, submodule) is not followed. */
static void workspace_git_head(int ws_fd, char *out, size_t len)
{
	char head[512], ref[512];
	out[0] = '\0';
	if (!read_small(ws_fd, ".git/HEAD", head, sizeof head))
		return;
	if (is_oid(head)) {
		snprintf(out, len, "%s", head);
		return;
	}
	if (strncmp(head, "ref: ", 5) || strstr(head + 5, ".."))
		return;
	char path[600];
	snprintf(path, sizeof path, ".git/%s", head + 5);
	if (read_small(ws_fd, path, ref, sizeof ref) && is_oid(ref)) {
		snprintf(out, len, "%s", ref);
		return;
	}
	_cleanup_close_ int fd = fs_open_beneath(ws_fd, ".git/packed-refs", O_RDONLY, 0, 1, NULL);
	_cleanup_buf_ struct buf b = BUF_INIT;
	if (fd < 0 || fs_read_fd(fd, 64u << 20, &b, NULL) < 0 || !b.data)
		return;
	char *save = NULL;
	for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (sp && sp - line == 40 && !strcmp(sp + 1, head + 5)) {
			*sp = '\0';
			if (is_oid(line))
				snprintf(out, len, "%s", line);
			return;
		}
	}
}

/* ---- capture ---- */

struct capture_ctx {
	struct store *s;
	const struct digest *image_tree, *input_tree;
	struct digest root_out, ws_out;
	bool have_ws;
	json_t *notes;
	uint32_t shift, inside_uid, inside_gid;
	double capture_ms;
};

static void capture_note(const char *path, const char *what, void *ud)
{
	struct capture_ctx *c = ud;
	if (json_array_size(c->notes) < NOTES_MAX)
		json_array_append_new(c->notes, json_pack("{s:s,s:s}", "path", path, "what", what));
}

static int capture_both(int upper_root, int upper_ws, void *ud, struct err *err)
{
	struct capture_ctx *c = ud;
	double t0 = now_ms();
	/* Root: owners matter (a RUN step's layer); map them back to inside
	 * ids. Without root there is one id inside: record it. */
	struct tree_import_opts ro = {
		.keep_owner = c->shift != 0,
		.id_base = c->shift,
		.uid = c->inside_uid,
		.gid = c->inside_gid,
	};
	int r = capture_upper(c->s, c->image_tree, upper_root, &ro, &c->root_out, err);
	if (r < 0)
		return err_prefix(err, "capture of the root");
	if (upper_ws >= 0 && c->input_tree) {
		/* Workspace owners are the host user's, not the agent's: keep
		 * the snapshot's 0:0 so unchanged files keep their digest. */
		struct tree_import_opts wo = {.note = capture_note, .userdata = c};
		r = capture_upper(c->s, c->input_tree, upper_ws, &wo, &c->ws_out, err);
		if (r < 0)
			return err_prefix(err, "capture of the workspace");
		c->have_ws = true;
	}
	c->capture_ms = now_ms() - t0;
	return 0;
}

/* Stores at most RUN_OUTPUT_CAP bytes of fd from offset 0. */
static int put_capped(struct store *s, int fd, struct digest *ret, bool *ret_truncated,
		      struct err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_errno(err, "stat captured output");
	*ret_truncated = (uint64_t)st.st_size > RUN_OUTPUT_CAP;
	if (*ret_truncated && ftruncate(fd, RUN_OUTPUT_CAP) < 0)
		return err_errno(err, "truncate captured output");
	lseek(fd, 0, SEEK_SET);
	return store_put_fd(s, fd, ret, NULL, err);
}


static json_t *jdigest(const struct digest *d)
{
	char s[DIGEST_STR_SIZE];
	digest_to_str(d, s);
	return json_string(s);
}

static json_t *protections_json(unsigned p)
{
	static const char *const names[] = {
		"userns", "mntns", "pidns", "netns", "ipcns", "utsns", "cgroupns", "seccomp",
		"no_new_privs", "caps_dropped", "overlay", "memory_cgroup", "pids_cgroup",
		"cpu_cgroup", "disk_tmpfs", "unprivileged_uid",
	};
	json_t *a = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (p & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* ---- a run ---- */

struct run_state {
	struct manifest m;
	bool have_manifest;
	struct envv env;
	char *ws_path, *image_co, *ws_co, *user, *home;
	char **cmd; /* borrowed strings, owned array: the image's CMD, NULL-terminated */
	int out_fd, err_fd;
	json_t *rec;
	struct sandbox_tail *tail; /* the sandbox's teardown, finished last */
};

static void run_state_release(struct run_state *st)
{
	/* The CLI exits right after a run (see run_execute). */
	sandbox_tail_finish(st->tail, false);
	if (st->have_manifest)
		manifest_release(&st->m);
	env_release(&st->env);
	free(st->cmd);
	free(st->ws_path);
	free(st->image_co);
	free(st->ws_co);
	free(st->user);
	free(st->home);
	if (st->out_fd >= 0)
		close(st->out_fd);
	if (st->err_fd >= 0)
		close(st->err_fd);
	json_decref(st->rec);
}

static int run_all(struct store *s, const struct run_request *req, struct run_state *st,
		   struct run_outcome *ret, struct err *err)
{
	const char *image_ref = req->image ? req->image : RUN_DEFAULT_IMAGE;
	struct digest image;
	int r = image_resolve(s, image_ref, &image, err);
	if (r < 0) {
		if (!req->image)
			err_prefix(err, "build the default image first ('airlock build recipes/default.recipe')");
		return err_prefix(err, "image");
	}
	if ((r = manifest_get(s, &image, &st->m, err)) < 0)
		return r;
	st->have_manifest = true;
	uint32_t uid = 0, gid = 0;
	if ((r = parse_user(st->m.config.user, &uid, &gid, err)) < 0)
		return r;
	if (uid == 0)
		return err_set(err, -EPERM, "image '%s' runs as root (User %s); runs are never root",
			       image_ref, st->m.config.user);

	_cleanup_close_ int ws_fd = -1;
	if (req->input_tree) {
		/* A replay: the input is the recorded tree, the host is not read. */
		st->ws_path = xstrdup(req->workspace ? req->workspace : "");
	} else {
		st->ws_path = realpath(req->workspace ? req->workspace : ".", NULL);
		if (!st->ws_path)
			return err_errno(err, "workspace '%s'", req->workspace ? req->workspace : ".");
		ws_fd = open(st->ws_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ws_fd < 0)
			return err_errno(err, "workspace '%s'", st->ws_path);
	}

	make_run_id(ret->id, sizeof ret->id);
	json_t *rec_env = json_object();
	image_passwd(s, &st->m.tree, uid, &st->user, &st->home);
	if (!st->user)
		st->user = xasprintf("%u", uid);
	if (!st->home)
		st->home = xstrdup("/");
	r = build_env(&st->m, st->user, st->home, req->env, req->nenv, &st->env, rec_env, err);
	if (r < 0) {
		json_decref(rec_env);
		return r;
	}

	/* Pin the input before anything runs: the snapshot is what the agent
	 * sees and what the diff is computed against. */
	struct digest input;
	char git_head[41] = "";
	double t_snap = now_ms();
	if (req->input_tree) {
		input = *req->input_tree;
		if (!store_has(s, &input)) {
			json_decref(rec_env);
			return err_set(err, -ENOENT, "input tree is not in the store");
		}
		snprintf(git_head, sizeof git_head, "%s", req->git_head ? req->git_head : "");
	} else {
		/* The stat cache makes an unchanged workspace one stat walk. */
		if ((r = snapshot_workspace(s, st->ws_path, &input, err)) < 0) {
			json_decref(rec_env);
			return err_prefix(err, "snapshot of '%s'", st->ws_path);
		}
		workspace_git_head(ws_fd, git_head, sizeof git_head);
	}
	t_snap = now_ms() - t_snap;

	uint32_t shift = id_shift();
	struct tree_idmap image_map = {.shift = shift};
	struct tree_idmap ws_map = {.shift = shift, .force = true, .uid = uid, .gid = gid};
	if ((r = tree_checkout_mapped(s, &st->m.tree, &image_map, &st->image_co, err)) < 0 ||
	    (r = tree_checkout_mapped(s, &input, &ws_map, &st->ws_co, err)) < 0) {
		json_decref(rec_env);
		return r;
	}
	if ((st->out_fd = store_tmpfile(s, err)) < 0 || (st->err_fd = store_tmpfile(s, err)) < 0) {
		json_decref(rec_env);
		return -EIO;
	}

	char *const *argv = req->argv;
	if (!argv || !argv[0]) {
		if (!st->m.config.ncmd) {
			json_decref(rec_env);
			return err_set(err, -EINVAL, "no command given and image '%s' has no CMD", image_ref);
		}
		st->cmd = xcalloc(st->m.config.ncmd + 1, sizeof *st->cmd);
		memcpy(st->cmd, st->m.config.cmd, st->m.config.ncmd * sizeof *st->cmd);
		argv = st->cmd;
	}
	char started[32];
	rfc3339_now(started, sizeof started);
	if (req->started)
		req->started(ret->id, req->userdata);

	struct sandbox_config cfg = {
		.root_lower = st->image_co,
		.workspace_lower = st->ws_co,
		.workdir = st->m.config.workdir,
		.argv = argv,
		.envp = st->env.v,
		.uid = uid,
		.gid = gid,
		.mounts = req->mounts,
		.nmounts = req->nmounts,
		.limits = req->limits,
		.tty = req->tty,
		.interactive = req->interactive || req->tty,
		.stdout_capture_fd = st->out_fd,
		.stderr_capture_fd = st->err_fd,
	};
	struct capture_ctx cap = {
		.s = s,
		.image_tree = &st->m.tree,
		.input_tree = &input,
		.notes = json_array(),
		.shift = shift,
		.inside_uid = uid,
		.inside_gid = gid,
	};
	struct sandbox_result res = {0};
	r = sandbox_run_deferred(&cfg, capture_both, &cap, &res, &st->tail, err);
	if (r < 0) {
		json_decref(rec_env);
		json_decref(cap.notes);
		return r;
	}
	ret->exit_code = res.exit_code;
	snprintf(ret->message, sizeof ret->message, "%s", res.message);

	struct digest out_d, err_d;
	bool out_trunc = false, err_trunc = false;
	if ((r = put_capped(s, st->out_fd, &out_d, &out_trunc, err)) < 0 ||
	    (r = put_capped(s, st->err_fd, &err_d, &err_trunc, err)) < 0) {
		json_decref(rec_env);
		json_decref(cap.notes);
		return r;
	}

	json_t *mounts = json_array();
	for (size_t i = 0; i < req->nmounts; i++)
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:b}", "source", req->mounts[i].src,
							 "target", req->mounts[i].dst, "rw",
							 req->mounts[i].rw));
	const struct sandbox_limits *l = &req->limits;
	st->rec = json_pack(
		"{s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I},s:s,s:o,"
		"s:{s:i,s:i,s:b},s:I,s:I,s:I,s:I,s:o,s:o,s:b,s:b,s:o,s:s,s:s,s:s}",
		"id", ret->id, "started", started, "image", jdigest(&image), "image_name", image_ref,
		"workspace", st->ws_path, "input_tree", jdigest(&input), "output_tree",
		cap.have_ws ? jdigest(&cap.ws_out) : jdigest(&input), "root_output_tree",
		jdigest(&cap.root_out), "argv", strv_json(argv), "env", rec_env, "mounts", mounts,
		"limits", "timeout_ms", (json_int_t)l->timeout_ms, "memory_bytes",
		(json_int_t)l->memory_bytes, "pids", (json_int_t)l->pids, "cpus_milli",
		(json_int_t)l->cpus_milli, "disk_bytes", (json_int_t)l->disk_bytes, "enforced",
		res.enforced, "protections", protections_json(res.protections), "exit", "code",
		res.exit_code, "signal", res.term_signal, "timed_out", res.timed_out, "duration_ms",
		(json_int_t)res.duration_ms, "max_rss_kb", (json_int_t)res.max_rss_kb, "user_cpu_ms",
		(json_int_t)res.user_cpu_ms, "sys_cpu_ms", (json_int_t)res.sys_cpu_ms, "stdout",
		jdigest(&out_d), "stderr", jdigest(&err_d), "stdout_truncated", out_trunc,
		"stderr_truncated", err_trunc, "capture_notes", cap.notes, "network", "none", "git_head",
		git_head, "workdir", st->m.config.workdir);
	if (!st->rec)
		return err_set(err, -EIO, "internal: run record does not encode");
	if (req->replay_of)
		json_object_set_new(st->rec, "replay_of", json_string(req->replay_of));
	/* Where airlock's own time went, for users and benchmarks. */
	json_object_set_new(st->rec, "timings_us",
			    json_pack("{s:I,s:I}", "snapshot", (json_int_t)(t_snap * 1000),
				      "capture", (json_int_t)(cap.capture_ms * 1000)));
	ret->output_tree = cap.have_ws ? cap.ws_out : input;
	char *text = json_dumps(st->rec, JSON_SORT_KEYS | JSON_COMPACT);
	r = store_put(s, text, strlen(text), &ret->record, err);
	free(text);
	if (r < 0)
		return r;
	return store_ref_set(s, STORE_NS_RUNS, ret->id, &ret->record, err);
}

int run_execute(struct store *s, const struct run_request *req, struct run_outcome *ret,
		struct err *err)
{
	struct run_state st = {.out_fd = -1, .err_fd = -1};
	memset(ret, 0, sizeof *ret);
	int r = run_all(s, req, &st, ret, err);
	run_state_release(&st);
	return r;
}

/* ---- RUN steps ---- */

int run_build_step(struct store *s, const struct manifest *m, char *const *argv,
		   struct digest *ret_tree, struct err *err)
{
	uint32_t shift = id_shift();
	struct tree_idmap map = {.shift = shift};
	_cleanup_free_ char *co = NULL;
	int r = tree_checkout_mapped(s, &m->tree, &map, &co, err);
	if (r < 0)
		return r;
	struct envv env = {0};
	/* No host TERM: a build must not depend on the terminal it ran in. */
	base_env(&env, m, "dumb", "/root", "root");
	_cleanup_close_ int out_fd = store_tmpfile(s, err);
	if (out_fd < 0) {
		env_release(&env);
		return out_fd;
	}
	struct sandbox_config cfg = {
		.root_lower = co,
		.workdir = m->config.workdir,
		.argv = argv,
		.envp = env.v,
		.uid = 0,
		.gid = 0,
		.build_mode = true,
		.hostname = "airlock-build",
		.stdout_capture_fd = out_fd,
		.stderr_capture_fd = out_fd,
	};
	struct capture_ctx cap = {
		.s = s,
		.image_tree = &m->tree,
		.notes = json_array(),
		.shift = shift,
	};
	struct sandbox_result res = {0};
	r = sandbox_run(&cfg, capture_both, &cap, &res, err);
	env_release(&env);
	json_decref(cap.notes);
	if (r < 0)
		return err_prefix(err, "RUN");
	if (res.exit_code != 0) {
		char tail[RUN_ERR_TAIL + 1];
		off_t end = lseek(out_fd, 0, SEEK_END);
		off_t from = end > RUN_ERR_TAIL ? end - RUN_ERR_TAIL : 0;
		ssize_t n = pread(out_fd, tail, RUN_ERR_TAIL, from);
		tail[n > 0 ? n : 0] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if ((unsigned char)tail[i] < 0x20 && tail[i] != '\n' && tail[i] != '\t')
				tail[i] = '?';
		return err_set(err, -ECHILD, "RUN %s exited with status %d%s%s%s; its output ended with:\n%s",
			       argv[0], res.exit_code, res.message[0] ? " (" : "", res.message,
			       res.message[0] ? ")" : "", tail);
	}
	*ret_tree = cap.root_out;
	return 0;
}

int run_resolve(struct store *s, const char *ref, char *ret_id, struct digest *ret_record,
		struct err *err)
{
	char **names = NULL;
	size_t n = 0;
	int r = store_ref_list(s, STORE_NS_RUNS, &names, &n, err);
	if (r < 0)
		return r;
	const char *found = NULL;
	size_t matches = 0;
	if (!strcmp(ref, "last")) {
		if (n) {
			found = names[n - 1];
			matches = 1;
		}
	} else {
		size_t rl = strlen(ref);
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(names[i], ref)) {
				found = names[i];
				matches = 1;
				break;
			}
			if (rl >= 4 && !strncmp(names[i], ref, rl)) {
				found = names[i];
				matches++;
			}
		}
	}
	if (matches == 1) {
		snprintf(ret_id, RUN_ID_MAX, "%s", found);
		r = store_ref_get(s, STORE_NS_RUNS, found, ret_record, err);
	} else if (matches > 1) {
		r = err_set(err, -EINVAL, "run '%s' is ambiguous", ref);
	} else {
		r = err_set(err, -ENOENT, n ? "no run '%s' (see 'airlock runs')" : "no runs yet", ref);
	}
	store_names_free(names, n);
	return r;
}

int run_record_load(struct store *s, const char *ref, char *ret_id, json_t **ret, struct err *err)
{
	struct digest d;
	int r = run_resolve(s, ref, ret_id, &d, err);
	if (r < 0)
		return r;
	_cleanup_buf_ struct buf b = BUF_INIT;
	if ((r = store_get(s, &d, 64u << 20, &b, err)) < 0)
		return err_prefix(err, "run %s", ret_id);
	json_error_t jerr;
	*ret = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*ret || !json_is_object(*ret))
		return err_set(err, -EBADMSG, "run %s: malformed record: %s", ret_id, jerr.text);
	return 0;
}

int run_remove(struct store *s, const char *ref, struct err *err)
{
	char id[RUN_ID_MAX];
	struct digest d;
	int r = run_resolve(s, ref, id, &d, err);
	if (r < 0)
		return r;
	if ((r = store_ref_delete(s, STORE_NS_RUNS, id, err)) < 0)
		return r;
	/* Its review decisions and apply journal go with it. */
	_cleanup_close_ int parent =
		openat(store_dirfd(s), "runstate", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (parent < 0)
		return errno == ENOENT ? 0 : err_errno(err, "store: open runstate");
	return fs_rm_rf_at(parent, id, err);
}

