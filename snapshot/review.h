/* review: the interactive reviewer (`airlock review`), like `git add -p`.
 *
 * A summary of the changeset first, then file by file: text files hunk by
 * hunk (hunks of 3 lines of context, made of the change blocks of
 * decisions.h, so `s` splits a hunk into its blocks), everything else as
 * one prompt. Keys: y accept, n reject, a accept this and the rest of the
 * file, d reject this and the rest of the file, s split, q quit (keeping
 * what was decided), ? help. Decisions go into the caller's struct
 * decisions, which the caller saves (decisions_save_at) after every call,
 * so a review can be resumed: files already decided are skipped unless
 * opts->redo.
 *
 * Names and contents are agent output: nothing from them reaches the
 * terminal as a raw C0 control (but \t and \n), DEL, C1 control or
 * invalid UTF-8 byte. Names are quoted like git (double quotes, octal
 * escapes); contents are shown with ^X / \xNN.
 *
 * On a terminal the input is put in raw mode (termios); it is restored on
 * every return path and by a handler for SIGINT, SIGTERM, SIGHUP, SIGQUIT
 * and SIGTSTP that then re-raises the signal. Not safe after fork in a
 * multithreaded process (signal handlers).
 */
#ifndef AIRLOCK_SNAPSHOT_REVIEW_H
#define AIRLOCK_SNAPSHOT_REVIEW_H

#include <stdbool.h>

#include "lib/err.h"
#include "lib/store.h"
#include "snapshot/changeset.h"
#include "snapshot/decisions.h"

struct review_opts {
	int in_fd, out_fd; /* keys in, display out (usually 0 and 1) */
	bool color;        /* ANSI colors */
	bool redo;         /* revisit files already decided */
};

/* Runs the review. Returns 1 if the user quit early (q, or end of input),
 * 0 when every change was seen, -errno on failure (err set). d is updated
 * in place (must be bound to cs or unbound). */
int review_run(struct store *s, const struct changeset *cs, struct decisions *d,
	       const struct review_opts *opts, struct err *err);

/* Appends path quoted like git's core.quotePath=false output to out
 * (exported for the CLI's listings). */
void review_quote_path(struct buf *out, const char *path);

#endif
