/* decisions: what a reviewer accepted or rejected in one run's changeset.
 *
 * A decision is kept per path (the change's path, the new one for a
 * rename) and, for text files, per change block. A change block is one
 * hunk of a diff with zero lines of context: the finest unit `s` (split)
 * can reach, so every hunk shown with context is a run of whole blocks and
 * deciding it decides its blocks. A block's identity is its index in the
 * file plus a hash of its text, "<index>:<16 hex>", so a decision never
 * applies to different text (a changed file gets fresh, undecided ids).
 *
 * Policy (decisions_accepts): not rejected means accepted, except risky
 * kinds, held back unless accepted explicitly by path: anything under
 * .git/, symlinks pointing outside the workspace, setuid/setgid files,
 * special files. Persisted as canonical JSON (docs/FORMAT.md, "Review
 * decisions and the apply journal"); paths that are not UTF-8 are stored
 * as hex.
 */
#ifndef AIRLOCK_SNAPSHOT_DECISIONS_H
#define AIRLOCK_SNAPSHOT_DECISIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/store.h"
#include "snapshot/changeset.h"

enum decision {
	DECISION_NONE = 0, /* undecided: the default policy applies */
	DECISION_ACCEPT,
	DECISION_REJECT,
};

/* Why decisions_accepts said what it said. */
enum accept_reason {
	ACCEPT_DEFAULT,    /* not rejected, not risky */
	ACCEPT_EXPLICIT,   /* accepted by path */
	ACCEPT_PARTIAL,    /* some blocks of a text file rejected: apply merges */
	REJECT_EXPLICIT,   /* rejected by path, or every block rejected */
	REJECT_HELD,       /* risky kind, not accepted explicitly */
};

/* Risk bits held back unless accepted explicitly by path. */
#define DECISIONS_HELD_RISKS (RISK_GIT_DIR | RISK_SYMLINK_ESCAPE | RISK_SETID | RISK_SPECIAL)

struct decisions;

/* An empty set bound to a changeset's base and out trees (either may be
 * NULL: unbound). Aborts on OOM. */
struct decisions *decisions_new(const struct digest *base, const struct digest *out);
void decisions_free(struct decisions *d); /* NULL is a no-op */
static inline void decisions_freep(struct decisions **d)
{
	if (*d)
		decisions_free(*d);
}

/* True if d was made for this changeset (same base and out), or unbound. */
bool decisions_match(const struct decisions *d, const struct changeset *cs);

/* Sets the decision for a whole path (DECISION_NONE forgets it, hunk
 * decisions included). path is copied. */
void decisions_set(struct decisions *d, const char *path, enum decision v);
enum decision decisions_get(const struct decisions *d, const char *path);

/* Sets/gets the decision for one change block of path (id as made by
 * text_blocks_compute). Copies both strings. */
void decisions_set_block(struct decisions *d, const char *path, const char *block_id,
			 enum decision v);
enum decision decisions_get_block(const struct decisions *d, const char *path,
				  const char *block_id);
/* True if path has at least one block decision. */
bool decisions_has_blocks(const struct decisions *d, const char *path);

/* The policy above for one change of the changeset. d may be NULL (nothing
 * decided). ret_reason may be NULL. ACCEPT_PARTIAL is reported for a MODIFY
 * of a text file (not RISK_BINARY/RISK_LARGE) when path has a block
 * decided DECISION_REJECT: the caller builds the content with
 * decisions_resolve_new (if every block is rejected that is the old
 * content, and apply has nothing to do). decisions_set(path, ...) clears
 * block decisions, so "--accept PATH" means the whole file. */
bool decisions_accepts(const struct decisions *d, const struct change *c,
		       enum accept_reason *ret_reason);

/* Canonical JSON: keys sorted, no whitespace, files sorted by path, blocks
 * by id. Appends to out. */
void decisions_to_json(const struct decisions *d, struct buf *out);
/* Parses what decisions_to_json wrote. -EBADMSG naming the problem. */
int decisions_from_json(const char *data, size_t len, struct decisions **ret, struct err *err);

/* Atomically writes the JSON to dfd/name (temp file, fsync, rename, fsync
 * the directory; name has no '/'). */
int decisions_save_at(const struct decisions *d, int dfd, const char *name, struct err *err);
/* Reads dfd/name (symlinks not followed). -ENOENT (err set) if absent. */
int decisions_load_at(int dfd, const char *name, struct decisions **ret, struct err *err);

/* ---- change blocks of a text file ---- */

struct text_block {
	size_t old_start, old_lines; /* 1-based line numbers as in a hunk header */
	size_t new_start, new_lines;
	char id[32];                 /* "<index>:<16 hex>" */
};

/* The change blocks (zero-context hunks, libgit2's diff) from old to new.
 * *ret is malloc'ed (NULL with *ret_n 0 when equal). Binary input is
 * -EINVAL. */
int text_blocks_compute(const char *old_data, size_t old_len, const char *new_data, size_t new_len,
			struct text_block **ret, size_t *ret_n, struct err *err);

/* Content of path with only the accepted blocks applied to old: appends to
 * out. A block is accepted unless decided DECISION_REJECT. */
int decisions_merge_text(const struct decisions *d, const char *path, const char *old_data,
			 size_t old_len, const char *new_data, size_t new_len, struct buf *out,
			 struct err *err);

/* For apply and commit: the new attributes of an accepted change, with the
 * content merged when the reason is ACCEPT_PARTIAL (the merged blob is put
 * into the store; its digest and size go into *ret). Otherwise *ret is
 * c->new_attr. */
int decisions_resolve_new(struct store *s, const struct decisions *d, const struct change *c,
			  enum accept_reason reason, struct tree_attr *ret, struct err *err);

#endif
