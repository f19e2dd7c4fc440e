/* patch: rendering a changeset as a git-format patch, --stat, --name-status
 * (text or JSON), for `airlock diff` and for review.
 *
 * The patch written for a machine (a pipe or file, no --safe) is exact:
 * `git apply` on a checkout of the base reproduces the output tree, with
 * the limits git has (noted at the top of the patch as "# airlock: ..."
 * lines, which git apply skips): perms other than 0644/0755, owners, empty
 * directories and directory perms are not expressed; paths under .git/ are
 * never in the patch (git refuses them; `airlock commit` carries them);
 * files over CHANGESET_LARGE get a "Binary files ... differ" header and no
 * content, which `git apply` refuses: `airlock apply` takes them from the
 * store.
 *
 * For human eyes (opts->safe: a tty, --color=always or --safe) no raw
 * control byte but \t and \n reaches the output, in names or contents:
 * they are shown as ^X / \xNN (reverse video with color) and the file's
 * header gets a "# airlock: control characters shown escaped" line. That
 * output is for reading, not for `git apply`.
 */
#ifndef AIRLOCK_SNAPSHOT_PATCH_H
#define AIRLOCK_SNAPSHOT_PATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "lib/store.h"
#include "snapshot/changeset.h"

enum patch_format {
	PATCH_FORMAT_PATCH = 0,       /* git diff */
	PATCH_FORMAT_STAT,            /* git diff --stat, plus risk marks */
	PATCH_FORMAT_NAME_STATUS,     /* git diff --name-status */
	PATCH_FORMAT_NAME_STATUS_JSON /* one JSON document (below) */
};

struct patch_opts {
	enum patch_format format;
	bool color; /* ANSI colors (git's defaults) */
	bool safe;  /* escape control bytes in names and contents (implied by color) */
	unsigned context; /* lines of context; 0 means git's 3 */
	unsigned stat_width; /* --stat total width; 0: 80 */
};

/* Decides patch_opts.color/safe the way `airlock diff` should:
 * color_arg is "auto" (or NULL), "always" or "never"; safe_flag is --safe.
 * auto: color iff out_fd is a tty and TERM is not "dumb". safe iff color or
 * out_fd is a tty or safe_flag. -EINVAL for another color_arg (err set). */
int patch_opts_for_fd(struct patch_opts *opts, const char *color_arg, bool safe_flag, int out_fd,
		      struct err *err);

/* Renders cs to out_fd in opts->format (opts NULL: plain patch). Reads
 * blobs from s (each verified; files over CHANGESET_LARGE are never read);
 * memory stays bounded by the largest changed file under the cap.
 *
 * NAME_STATUS_JSON: {"base":"sha256:…","out":"sha256:…","ignored":N,
 *   "changes":[{"status":"M","path":"…","old_path":"…" (renames),
 *   "similarity":N (renames),"risk":["git","exec","symlink",
 *   "symlink-escape","ci","setid","special","large","binary"],
 *   "ignored":true (with include_ignored), "path_hex":"…" (only when the
 *   path is not valid UTF-8: the exact bytes), "old_path_hex"}]}.
 * Status letters are git's (A M D T R) plus X for a mode-only change.
 *
 * Errors: -errno from write(2) (EPIPE included), store errors naming the
 * path. Partial output may have been written. */
int patch_render(struct store *s, const struct changeset *cs, const struct patch_opts *opts,
		 int out_fd, struct err *err);

/* Same, appending to a buffer. */
int patch_render_buf(struct store *s, const struct changeset *cs, const struct patch_opts *opts,
		     struct buf *out, struct err *err);

/* Short risk tags for a change's risk bits, e.g. "[!git] [!exec]" (no
 * leading space; "" if none), appended to out. */
void patch_risk_tags(struct buf *out, unsigned risk);

/* ---- for changeset.c: libgit2 similarity on store blobs ---- */

/* A candidate for inexact rename detection: a deleted or added file. */
struct patch_rename_cand {
	const char *path;        /* borrowed */
	const struct digest *d;  /* borrowed: content in the store */
	uint64_t size;
};
/* Pairs deleted with added files by git's similarity (libgit2
 * git_diff_find_similar, threshold percent). ret_pair[i] gets the index in
 * added[] paired with deleted[i] or -1, ret_score[i] the similarity. Blobs
 * are loaded into an in-memory object database for the call only. */
int patch_find_renames(struct store *s, const struct patch_rename_cand *deleted, size_t ndel,
		       const struct patch_rename_cand *added, size_t nadd, unsigned threshold,
		       long *ret_pair, unsigned *ret_score, struct err *err);

#endif
