/* run: one agent run from start to record: resolve the image, snapshot the
 * workspace, materialise both as read-only lowers, run the command in a
 * sandbox, capture what it changed, and write the run record.
 *
 * Run record (canonical JSON, stored as an object; refs/runs/<id> names
 * it; keys follow the reference rule in builder/maintain.h):
 *   id, started (UTC, RFC 3339), image ("sha256:" manifest), image_name,
 *   workspace (host path), input_tree, output_tree (workspace after the
 *   run), root_output_tree (the image root after the run), git_head (the
 *   workspace's HEAD commit at the start, if it is a git repository), argv,
 *   env ({"NAME": "value"} for values given as -e K=V, {"NAME": null} for
 *   values copied from the host with -e K: never recorded), mounts, limits
 *   (asked), enforced (how), protections (names), exit {code, signal,
 *   timed_out}, duration_ms, max_rss_kb, user_cpu_ms, sys_cpu_ms, stdout,
 *   stderr (blobs, at most RUN_OUTPUT_CAP bytes each; *_truncated says if
 *   the live stream was longer), capture_notes (what the tree format could
 *   not hold: special files, setuid bits), network ("none"), timings_us
 *   {snapshot, capture} (airlock's own time, in microseconds).
 */
#ifndef AIRLOCK_RUNNER_RUN_H
#define AIRLOCK_RUNNER_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/manifest.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"
#include "runner/sandbox.h"

#define RUN_OUTPUT_CAP (16u << 20)
#define RUN_DEFAULT_IMAGE "default"
#define RUN_ID_MAX 64

struct run_request {
	const char *image;     /* name or digest; NULL: RUN_DEFAULT_IMAGE */
	const char *workspace; /* host directory; NULL: the current directory */
	char *const *env;      /* "K=V" (recorded) or "K" (copied from the host, not recorded) */
	size_t nenv;
	const struct sandbox_mount *mounts;
	size_t nmounts;
	struct sandbox_limits limits;
	bool tty, interactive;
	char *const *argv; /* NULL-terminated; empty: the image's CMD */
	/* Replays: the recorded input tree instead of a snapshot of
	 * workspace (which is then only recorded), and the recorded HEAD. */
	const struct digest *input_tree;
	const char *git_head;
	const char *replay_of; /* the original run's id */
	/* Called once the run has an id, before the command starts. */
	void (*started)(const char *run_id, void *userdata);
	void *userdata;
};

struct run_outcome {
	char id[RUN_ID_MAX];
	int exit_code; /* the contract's: command status, 124, 126, 127, 128+N */
	struct digest record;
	struct digest output_tree;
	char message[512]; /* why the command did not start, if it did not */
};

/* Does a whole run. Returns 0 when the command ran (see ret->exit_code;
 * the record is written), negative for an airlock error (exit 125; err
 * says which step). Every process of the sandbox is dead on return, but
 * the sandbox's pid 1 may still be finishing its exit in the kernel and is
 * left unreaped (see sandbox_tail_finish): meant for a process that exits
 * soon after. */
int run_execute(struct store *s, const struct run_request *req, struct run_outcome *ret,
		struct err *err);

/* A RUN step of an image build: cmd runs as root inside a user namespace
 * (never host root), with no network and no workspace, over the image m;
 * what it changes in the root becomes *ret_tree. A non-zero exit is an
 * error carrying the status and the tail of the command's output. */
int run_build_step(struct store *s, const struct manifest *m, char *const *argv,
		   struct digest *ret_tree, struct err *err);

struct replay_result {
	char original[RUN_ID_MAX];
	struct run_outcome run; /* the replay's own run */
	struct digest expected, got; /* output trees */
	bool same;
	int original_exit;
};

/* Runs ref again from its record: same image digest, input tree, argv,
 * environment (a value that was copied from the host, and so not recorded,
 * is copied from this host again; missing is an error), limits and
 * mounts. ret->same says whether the output tree digest matches. */
int run_replay(struct store *s, const char *ref, struct replay_result *ret, struct err *err);

/* Resolves "last", a full id or a unique id prefix to a run id (into
 * ret_id[RUN_ID_MAX]) and its record digest. */
int run_resolve(struct store *s, const char *ref, char *ret_id, struct digest *ret_record,
		struct err *err);

/* Loads the record of run ref ("last", id, prefix): *ret is a new
 * reference (json_decref it); ret_id as for run_resolve. */
struct json_t;
int run_record_load(struct store *s, const char *ref, char *ret_id, struct json_t **ret,
		    struct err *err);

/* The changes run ref made to its workspace (input tree -> output
 * tree); *ret_id gets the run id, *ret_cs is the caller's. */
struct changeset;
struct changeset_opts;
int run_changeset(struct store *s, const char *ref, const struct changeset_opts *opts,
		  char *ret_id, struct changeset **ret_cs, struct err *err);
/* The same from an already loaded record (borrowed). */
int run_record_changeset(struct store *s, struct json_t *rec, const char *id,
			 const struct changeset_opts *opts, struct changeset **ret_cs, struct err *err);

/* Removes run ref's record ref (objects go at the next gc). */
int run_remove(struct store *s, const char *ref, struct err *err);

#endif
