/* quote: showing untrusted names and bytes safely.
 *
 * Every path in a changeset came from the agent (see changeset.h): it may
 * hold newlines, ESC/OSC sequences, invalid UTF-8. These helpers produce
 * the spellings git uses, so a patch header or a --stat line can neither
 * forge another line nor drive the terminal.
 */
#ifndef AIRLOCK_SNAPSHOT_QUOTE_H
#define AIRLOCK_SNAPSHOT_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

enum {
	QUOTE_HIGH = 1 << 0, /* also octal-escape bytes >= 0x80 (git's core.quotePath=true) */
};

/* True if git would quote path: it holds a byte < 0x20, 0x7f, '"' or '\\'
 * (or, with QUOTE_HIGH, a byte >= 0x80). */
bool quote_needed(const char *path, unsigned flags);

/* Appends prefix+path to out, git-style: unchanged when !quote_needed,
 * else inside double quotes with \a \b \t \n \v \f \r \" \\ and \ooo
 * (3 octal digits) for every other byte that needs it. prefix ("a/", "b/"
 * or "") is inside the quotes, as git writes "a/x\ny". Without QUOTE_HIGH,
 * bytes >= 0x80 that are not valid UTF-8 or that encode a C1 control
 * (U+0080..U+009F, e.g. CSI) are still escaped: only printable UTF-8 is
 * left raw. */
void quote_path(struct buf *out, const char *prefix, const char *path, unsigned flags);

/* Appends len bytes of content for a terminal: every C0 control byte but
 * \t and \n, DEL, C1 controls encoded in UTF-8, and bytes that are not
 * valid UTF-8 become visible: ^@..^_ and ^? for C0/DEL, \xNN for the rest,
 * each wrapped in on/off (e.g. reverse video; may be NULL). Returns how
 * many bytes were escaped (0: the output equals the input). */
size_t quote_terminal(struct buf *out, const char *data, size_t len, const char *on,
		      const char *off);

/* Appends s (len bytes) as a JSON string literal, quotes included. Valid
 * UTF-8 passes through (controls as \uXXXX); each invalid byte becomes
 * U+FFFD. Returns false if a byte was replaced (callers add the exact
 * bytes some other way, e.g. hex). */
bool quote_json(struct buf *out, const char *s, size_t len);

#endif
