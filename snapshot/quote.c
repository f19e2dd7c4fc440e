/* quote: git-compatible path quoting and terminal-safe rendering of
 * untrusted bytes (names and contents written by the agent).
 *
 * The threat: a file named "x\n+++ b/evil" forging patch lines, or a name
 * or content holding ESC ] 52 (OSC 52 writes the clipboard), ESC [ ... (CSI
 * moves the cursor and hides text), or U+009B (the 8-bit CSI) reaching the
 * reviewer's terminal and making a change look different from what it is.
 */
#include "snapshot/quote.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. Rejects
 * overlong forms, surrogates and code points past U+10FFFF. *ret_cp gets the
 * code point. */
static size_t utf8_len(const unsigned char *p, size_t n, uint32_t *ret_cp)
{
	uint32_t cp;
	size_t len;
	if (p[0] < 0x80) {
		*ret_cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		len = 2;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		len = 3;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		len = 4;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return len;
}

static bool byte_needs(unsigned char c, unsigned flags)
{
	return c < 0x20 || c == 0x7f || c == '"' || c == '\\' || ((flags & QUOTE_HIGH) && c >= 0x80);
}

/* True if the high bytes at p..p+n hold invalid UTF-8 or a C1 control. */
static bool high_unsafe(const unsigned char *p, size_t n, size_t *ret_len)
{
	uint32_t cp = 0;
	size_t l = utf8_len(p, n, &cp);
	*ret_len = l ? l : 1;
	return l == 0 || (cp >= 0x80 && cp <= 0x9f);
}

bool quote_needed(const char *path, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t n = strlen(path);
	for (size_t i = 0; i < n;) {
		if (byte_needs(p[i], flags))
			return true;
		if (p[i] >= 0x80) {
			size_t l;
			if (high_unsafe(p + i, n - i, &l))
				return true;
			i += l;
		} else {
			i++;
		}
	}
	return false;
}

static void put_escape(struct buf *out, unsigned char c)
{
	static const char map[] = "\aa\bb\tt\nn\vv\ff\rr\"\"\\\\";
	for (size_t k = 0; map[k]; k += 2) {
		if ((unsigned char)map[k] == c) {
			buf_putc(out, '\\');
			buf_putc(out, map[k + 1]);
			return;
		}
	}
	buf_printf(out, "\\%03o", c);
}

void quote_path(struct buf *out, const char *prefix, const char *path, unsigned flags)
{
	if (!quote_needed(path, flags)) {
		buf_puts(out, prefix);
		buf_puts(out, path);
		return;
	}
	const unsigned char *p = (const unsigned char *)path;
	size_t n = strlen(path);
	buf_putc(out, '"');
	buf_puts(out, prefix);
	for (size_t i = 0; i < n;) {
		size_t l = 1;
		if (byte_needs(p[i], flags)) {
			put_escape(out, p[i]);
		} else if (p[i] >= 0x80 && high_unsafe(p + i, n - i, &l)) {
			for (size_t k = 0; k < l; k++)
				put_escape(out, p[i + k]);
		} else {
			buf_append(out, p + i, l);
		}
		i += l;
	}
	buf_putc(out, '"');
}

size_t quote_terminal(struct buf *out, const char *data, size_t len, const char *on,
		      const char *off)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t escaped = 0, i = 0;
	while (i < len) {
		size_t start = i;
		/* Copy the longest run of safe bytes in one go. */
		while (i < len) {
			unsigned char c = p[i];
			if (c >= 0x20 && c < 0x7f) {
				i++;
			} else if (c == '\t' || c == '\n') {
				i++;
			} else if (c >= 0x80) {
				size_t l;
				if (high_unsafe(p + i, len - i, &l))
					break;
				i += l;
			} else {
				break;
			}
		}
		buf_append(out, p + start, i - start);
		if (i >= len)
			break;
		unsigned char c = p[i];
		size_t l = 1;
		if (on)
			buf_puts(out, on);
		if (c < 0x20) {
			buf_putc(out, '^');
			buf_putc(out, (char)(c + '@'));
		} else if (c == 0x7f) {
			buf_puts(out, "^?");
		} else {
			high_unsafe(p + i, len - i, &l);
			for (size_t k = 0; k < l; k++)
				buf_printf(out, "\\x%02x", p[i + k]);
		}
		if (off)
			buf_puts(out, off);
		escaped += l;
		i += l;
	}
	return escaped;
}

bool quote_json(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	bool exact = true;
	buf_putc(out, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			buf_putc(out, '\\');
			buf_putc(out, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(out, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			buf_putc(out, (char)c);
			i++;
		} else {
			uint32_t cp = 0;
			size_t l = utf8_len(p + i, len - i, &cp);
			if (!l) {
				buf_puts(out, "\\ufffd");
				exact = false;
				i++;
			} else if (cp <= 0x9f) {
				buf_printf(out, "\\u%04x", cp);
				i += l;
			} else {
				buf_append(out, p + i, l);
				i += l;
			}
		}
	}
	buf_putc(out, '"');
	return exact;
}
