/* recipe: parse a recipe into validated, normalised steps (see recipe.h and
 * docs/RECIPES.md).
 *
 * Two passes over memory. The first splits the text into logical lines:
 * physical lines end at '\n' (a '\r' before it is dropped), blank lines and
 * lines whose first non-blank byte is '#' are skipped, and a line whose last
 * non-blank byte is '\' continues on the next non-blank, non-comment line
 * (the '\' and the blanks after it are removed, the next line is appended
 * as it is, as in a Dockerfile). The second parses each logical line into a
 * step and builds its canonical text.
 *
 * A recipe is trusted a little (its author runs the build) but is still
 * input: every limit is checked, nothing is ever asserted, and any byte of
 * it that reaches an error message is escaped, so a recipe cannot write
 * terminal control sequences through `airlock build`. COPY sources are
 * confined to the recipe's directory here, at parse time, so that no later
 * stage can be talked into reading `../../.ssh` or `/etc/shadow`; the
 * builder still opens them beneath a directory fd (RESOLVE_BENEATH),
 * because a symlink inside the recipe's directory can point anywhere.
 */
#include "builder/recipe.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

#define DIRECTIVES "FROM, PACKAGES, COPY, RUN, ENV, WORKDIR, USER, LABEL or CMD"
#define QUOTE_BUF 96
#define ID_MAX 4294967294u /* (uint32_t)-1 means "unchanged" to chown(2) */

static const char *const op_names[] = {
	[RECIPE_FROM] = "FROM", [RECIPE_PACKAGES] = "PACKAGES", [RECIPE_COPY] = "COPY",
	[RECIPE_RUN] = "RUN",   [RECIPE_ENV] = "ENV",           [RECIPE_WORKDIR] = "WORKDIR",
	[RECIPE_USER] = "USER", [RECIPE_LABEL] = "LABEL",       [RECIPE_CMD] = "CMD",
};

const char *recipe_op_name(enum recipe_op op)
{
	if ((size_t)op < ARRAY_SIZE(op_names) && op_names[op])
		return op_names[op];
	return "?";
}

struct parser {
	const char *file;
	struct recipe *r;
	size_t steps_cap;
	struct err *err;
	struct recipe_step *st; /* the step being parsed */
	unsigned cmd_line, user_line;
};

/* Escapes s for an error message: printable ASCII stays, every other byte
 * becomes \xNN, and the result is cut with "..." to fit out. */
static const char *quote_(char *out, size_t outsz, const char *s)
{
	size_t o = 0;
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o + 8 >= outsz) {
			memcpy(out + o, "...", 4);
			return out;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}
#define QUOTE(s) quote_((char[QUOTE_BUF]){0}, QUOTE_BUF, (s))

/* "<file>:<line>: <message>", -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(const struct parser *p, unsigned line,
						      const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(p->err, -EINVAL, "%s:%u: %s", p->file, line, msg);
}

/* "<file>:<line>: <KEYWORD>: <message>" for the step being parsed. */
__attribute__((format(printf, 2, 3))) static int dfail(const struct parser *p, const char *fmt,
						       ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(p->err, -EINVAL, "%s:%u: %s: %s", p->file, p->st->line,
		       recipe_op_name(p->st->op), msg);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A growable vector of owned strings. */
struct words {
	char **v;
	size_t n, cap;
};

static void words_push(struct words *w, char *s)
{
	xgrow(&w->v, &w->cap, w->n + 1, sizeof *w->v);
	w->v[w->n++] = s;
}

static void words_release(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	*w = (struct words){0};
}

/* Splits s at runs of blanks. */
static void words_split(struct words *w, const char *s)
{
	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			return;
		const char *start = s;
		while (*s && !is_blank(*s))
			s++;
		words_push(w, xstrndup(start, (size_t)(s - start)));
	}
}

/* Moves the words into the step's args. */
static void words_to_args(struct words *w, struct recipe_step *st)
{
	st->args = w->v;
	st->nargs = w->n;
	*w = (struct words){0};
}

/* Appends s as a double-quoted string: '"' and '\' are escaped with '\',
 * bytes below 0x20 and 0x7f as \u00XX, every other byte as it is. For
 * valid UTF-8 this is JSON; for any bytes it is injective. */
static void put_quoted(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\u%04x", c);
		} else {
			buf_putc(b, (char)c);
		}
	}
	buf_putc(b, '"');
}

/* canonical = KEYWORD followed by " arg" for every arg. */
static void canonical_words(struct recipe_step *st)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	buf_puts(&b, recipe_op_name(st->op));
	for (size_t i = 0; i < st->nargs; i++) {
		buf_putc(&b, ' ');
		buf_puts(&b, st->args[i]);
	}
	st->canonical = buf_detach(&b, NULL);
}

/* Parses a decimal id in [0, ID_MAX] from s[0..n). */
static bool parse_id(const char *s, size_t n, uint32_t *ret)
{
	if (n == 0 || n > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > ID_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* "UID[:GID]", GID defaulting to UID. */
static bool parse_ids(const char *s, uint32_t *ret_uid, uint32_t *ret_gid)
{
	const char *colon = strchr(s, ':');
	size_t ulen = colon ? (size_t)(colon - s) : strlen(s);
	if (!parse_id(s, ulen, ret_uid))
		return false;
	if (!colon) {
		*ret_gid = *ret_uid;
		return true;
	}
	return parse_id(colon + 1, strlen(colon + 1), ret_gid);
}

/* Normalises a '/'-separated path: empty and "." components are dropped.
 * Returns NULL if a component is "..". A relative path with no component
 * left becomes ".", an absolute one "/". With keep_dir_slash, a path whose
 * last raw component was empty or "." (it ended in "/" or "/.") keeps one
 * trailing '/', as it names a directory. */
static char *path_normalise(const char *in, bool keep_dir_slash)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	bool abs = in[0] == '/';
	bool dir_slash = false;
	size_t ncomp = 0;
	if (abs)
		buf_putc(&b, '/');
	const char *s = in;
	for (;;) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);
		dir_slash = n == 0 || (n == 1 && s[0] == '.');
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return NULL;
		if (!dir_slash) {
			if (ncomp++ > 0)
				buf_putc(&b, '/');
			buf_append(&b, s, n);
		}
		if (!*e)
			break;
		s = e + 1;
	}
	if (ncomp == 0)
		return xstrdup(abs ? "/" : ".");
	if (keep_dir_slash && dir_slash)
		buf_putc(&b, '/');
	return buf_detach(&b, NULL);
}

static bool hex64_valid(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return i == 64;
}

/* NAME[:TAG]: NAME [a-z0-9][a-z0-9._-]{0,127}, TAG [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
static bool image_name_valid(const char *s)
{
	size_t i = 0;
	if (!is_lower_alnum(s[0]))
		return false;
	for (i = 1; s[i] && s[i] != ':'; i++)
		if (!is_lower_alnum(s[i]) && !strchr("._-", s[i]))
			return false;
	if (i > 128)
		return false;
	if (!s[i])
		return true;
	const char *tag = s + i + 1;
	if (!is_alnum(tag[0]) && tag[0] != '_')
		return false;
	for (i = 1; tag[i]; i++)
		if (!is_alnum(tag[i]) && !strchr("_.-", tag[i]))
			return false;
	return i <= 128;
}

static int parse_from(struct parser *p, const char *rest)
{
	struct recipe_step *st = p->st;
	_cleanup_(words_release) struct words w = {0};
	words_split(&w, rest);
	if (w.n != 1)
		return dfail(p, "expected exactly one image reference (scratch, NAME[:TAG], "
				"sha256:<64 hex>, oci-archive:PATH or docker-archive:PATH)");
	const char *ref = w.v[0];
	if (strncmp(ref, "sha256:", 7) == 0) {
		if (!hex64_valid(ref + 7))
			return dfail(p, "invalid digest '%s' (expected sha256:<64 lowercase hex>)",
				     QUOTE(ref));
	} else if (strncmp(ref, "oci-archive:", 12) == 0 ||
		   strncmp(ref, "docker-archive:", 15) == 0) {
		const char *path = strchr(ref, ':') + 1;
		if (!*path)
			return dfail(p, "expected a path after '%s'", QUOTE(ref));
		if (has_control(path))
			return dfail(p, "archive path '%s' contains a control character",
				     QUOTE(path));
	} else if (strcmp(ref, "scratch") != 0 && !image_name_valid(ref)) {
		return dfail(p, "invalid image reference '%s' (expected scratch, NAME[:TAG], "
				"sha256:<64 hex>, oci-archive:PATH or docker-archive:PATH)",
			     QUOTE(ref));
	}
	words_to_args(&w, st);
	canonical_words(st);
	return 0;
}

/* Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ */
static bool deb_name_valid(const char *s, size_t n)
{
	if (n < 2 || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && !strchr("+.-", s[i]))
			return false;
	return true;
}

/* Debian policy 5.6.12: [epoch:]upstream[-revision]. epoch is digits;
 * upstream starts with a digit and holds [A-Za-z0-9.+~], plus '-' (only
 * with a revision, which is after the last '-') and ':' (only with an
 * epoch); revision holds [A-Za-z0-9+.~]. */
static bool deb_version_valid(const char *v)
{
	const char *up = v;
	bool epoch = false;
	const char *colon = strchr(v, ':');
	if (colon) {
		if (colon == v)
			return false;
		for (const char *c = v; c < colon; c++)
			if (!is_digit(*c))
				return false;
		up = colon + 1;
		epoch = true;
	}
	const char *hy = strrchr(up, '-');
	const char *up_end = hy ? hy : up + strlen(up);
	if (hy) {
		if (!hy[1])
			return false;
		for (const char *c = hy + 1; *c; c++)
			if (!is_alnum(*c) && !strchr("+.~", *c))
				return false;
	}
	if (up == up_end || !is_digit(*up))
		return false;
	for (const char *c = up; c < up_end; c++)
		if (!is_alnum(*c) && !strchr(".+~-", *c) && !(epoch && *c == ':'))
			return false;
	return true;
}

const char *recipe_package_split(const char *arg, size_t *ret_name_len)
{
	const char *eq = strchr(arg, '=');
	*ret_name_len = eq ? (size_t)(eq - arg) : strlen(arg);
	return eq ? eq + 1 : NULL;
}

static int cmp_pkg_name(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
	int c = memcmp(x, y, nx < ny ? nx : ny);
	if (c)
		return c;
	return nx < ny ? -1 : nx > ny;
}

static int parse_packages(struct parser *p, const char *rest)
{
	struct recipe_step *st = p->st;
	_cleanup_(words_release) struct words w = {0};
	words_split(&w, rest);
	if (w.n == 0)
		return dfail(p, "expected at least one package name[=version]");
	for (size_t i = 0; i < w.n; i++) {
		size_t n;
		const char *ver = recipe_package_split(w.v[i], &n);
		if (!deb_name_valid(w.v[i], n)) {
			_cleanup_free_ char *name = xstrndup(w.v[i], n);
			return dfail(p, "invalid package name '%s' (expected [a-z0-9][a-z0-9+.-]+)",
				     QUOTE(name));
		}
		if (ver && !deb_version_valid(ver)) {
			_cleanup_free_ char *name = xstrndup(w.v[i], n);
			return dfail(p, "invalid version '%s' for package '%s' (expected "
					"[EPOCH:]UPSTREAM[-REVISION], Debian syntax)",
				     QUOTE(ver), QUOTE(name));
		}
	}
	/* A name twice in one step is a mistake (which version wins?). Sort a
	 * copy: n can be in the tens of thousands. */
	_cleanup_free_ char **sorted = xmalloc(w.n * sizeof *sorted);
	memcpy(sorted, w.v, w.n * sizeof *sorted);
	qsort(sorted, w.n, sizeof *sorted, cmp_pkg_name);
	for (size_t i = 1; i < w.n; i++) {
		if (cmp_pkg_name(&sorted[i - 1], &sorted[i]) == 0) {
			size_t n;
			recipe_package_split(sorted[i], &n);
			_cleanup_free_ char *name = xstrndup(sorted[i], n);
			return dfail(p, "package '%s' is listed twice", QUOTE(name));
		}
	}
	words_to_args(&w, st);
	canonical_words(st);
	return 0;
}

/* An octal mode of 1 to 5 digits, at most 07777. */
static bool parse_mode(const char *s, uint32_t *ret)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5)
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		v = v * 8 + (uint32_t)(s[i] - '0');
	}
	if (v > 07777)
		return false;
	*ret = v;
	return true;
}

static int parse_copy(struct parser *p, const char *rest)
{
	struct recipe_step *st = p->st;
	_cleanup_(words_release) struct words w = {0};
	_cleanup_(words_release) struct words paths = {0};
	words_split(&w, rest);
	size_t i = 0;
	for (; i < w.n && strncmp(w.v[i], "--", 2) == 0; i++) {
		const char *o = w.v[i];
		if (strncmp(o, "--mode=", 7) == 0) {
			if (st->has_copy_mode)
				return dfail(p, "--mode given twice");
			if (!parse_mode(o + 7, &st->copy_mode))
				return dfail(p, "invalid --mode '%s' (expected an octal mode, at most "
						"07777)",
					     QUOTE(o + 7));
			st->has_copy_mode = true;
		} else if (strncmp(o, "--owner=", 8) == 0) {
			if (st->has_copy_owner)
				return dfail(p, "--owner given twice");
			if (!parse_ids(o + 8, &st->copy_uid, &st->copy_gid))
				return dfail(p, "invalid --owner '%s' (expected numeric UID[:GID])",
					     QUOTE(o + 8));
			st->has_copy_owner = true;
		} else {
			return dfail(p, "unknown option '%s' (expected --mode=OCTAL or "
					"--owner=UID[:GID])",
				     QUOTE(o));
		}
	}
	if (w.n - i < 2)
		return dfail(p, "expected at least one source and a destination");
	for (; i < w.n; i++) {
		const char *a = w.v[i];
		bool dst = i == w.n - 1;
		const char *what = dst ? "destination" : "source";
		if (has_control(a))
			return dfail(p, "%s '%s' contains a control character", what, QUOTE(a));
		if (!dst && a[0] == '/')
			return dfail(p, "source '%s' must be relative to the recipe's directory",
				     QUOTE(a));
		if (dst && a[0] != '/')
			return dfail(p, "destination '%s' must be an absolute path in the image",
				     QUOTE(a));
		char *norm = path_normalise(a, dst);
		if (!norm)
			return dfail(p, "%s '%s' must not contain a '..' component%s", what, QUOTE(a),
				     dst ? "" : " (sources stay inside the recipe's directory)");
		words_push(&paths, norm);
	}
	if (paths.n > 2 && paths.v[paths.n - 1][strlen(paths.v[paths.n - 1]) - 1] != '/')
		return dfail(p, "with several sources the destination must end in '/'");
	words_to_args(&paths, st);

	_cleanup_buf_ struct buf b = BUF_INIT;
	buf_puts(&b, "COPY");
	if (st->has_copy_mode)
		buf_printf(&b, " --mode=%04o", (unsigned)st->copy_mode);
	if (st->has_copy_owner)
		buf_printf(&b, " --owner=%u:%u", (unsigned)st->copy_uid, (unsigned)st->copy_gid);
	for (size_t k = 0; k < st->nargs; k++) {
		buf_putc(&b, ' ');
		buf_puts(&b, st->args[k]);
	}
	st->canonical = buf_detach(&b, NULL);
	return 0;
}

/* The exec form is taken when the text starts with '[' followed (after
 * blanks) by '"' or ']'. Anything else is shell text, so that the common
 * `RUN [ -e /x ] || ...` (test(1)) stays a shell command. */
static bool looks_like_exec_form(const char *s)
{
	if (s[0] != '[')
		return false;
	s++;
	while (is_blank(*s))
		s++;
	return *s == '"' || *s == ']';
}

/* RUN and CMD: exec form or shell form, into argv and the canonical
 * KEYWORD ["argv0","argv1",...]. */
static int parse_argv(struct parser *p, const char *rest)
{
	struct recipe_step *st = p->st;
	_cleanup_(words_release) struct words w = {0};
	if (!*rest)
		return dfail(p, "expected a command (shell text or a JSON array of strings)");
	if (looks_like_exec_form(rest)) {
		json_error_t je;
		json_auto_t *a =
			json_loadb(rest, strlen(rest), JSON_REJECT_DUPLICATES, &je);
		if (!a)
			return dfail(p, "invalid JSON array: %s (at character %d)", QUOTE(je.text),
				     je.position);
		if (!json_is_array(a) || json_array_size(a) == 0)
			return dfail(p, "expected a non-empty JSON array of strings");
		size_t idx;
		json_t *v;
		json_array_foreach(a, idx, v)
		{
			if (!json_is_string(v))
				return dfail(p, "element %zu of the JSON array is not a string",
					     idx + 1);
			words_push(&w, xstrdup(json_string_value(v)));
		}
		if (!w.v[0][0])
			return dfail(p, "the program name (element 1) is empty");
	} else {
		words_push(&w, xstrdup("/bin/sh"));
		words_push(&w, xstrdup("-c"));
		words_push(&w, xstrdup(rest));
	}
	words_to_args(&w, st);

	_cleanup_buf_ struct buf b = BUF_INIT;
	buf_puts(&b, recipe_op_name(st->op));
	buf_puts(&b, " [");
	for (size_t i = 0; i < st->nargs; i++) {
		if (i)
			buf_putc(&b, ',');
		put_quoted(&b, st->args[i]);
	}
	buf_putc(&b, ']');
	st->canonical = buf_detach(&b, NULL);
	return 0;
}

static bool env_key_valid(const char *s, size_t n)
{
	if (n == 0 || is_digit(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_')
			return false;
	return true;
}

static bool label_key_valid(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("._/-", s[i]))
			return false;
	return true;
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct recipe_kv *)a)->key, ((const struct recipe_kv *)b)->key);
}

/* ENV and LABEL: KEY=VALUE ..., VALUE bare (no blank, '"' or '\') or
 * double-quoted with \" and \\ as the only escapes. */
static int parse_kvs(struct parser *p, const char *s)
{
	struct recipe_step *st = p->st;
	bool env = st->op == RECIPE_ENV;
	size_t cap = 0;
	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			break;
		const char *k = s;
		while (*s && *s != '=' && !is_blank(*s))
			s++;
		size_t klen = (size_t)(s - k);
		if (*s != '=') {
			_cleanup_free_ char *tok = xstrndup(k, klen);
			return dfail(p, "expected KEY=VALUE, found '%s'", QUOTE(tok));
		}
		_cleanup_free_ char *key = xstrndup(k, klen);
		if (env ? !env_key_valid(k, klen) : !label_key_valid(k, klen))
			return dfail(p, "invalid key '%s' (expected %s)", QUOTE(key),
				     env ? "[A-Za-z_][A-Za-z0-9_]*" : "[A-Za-z0-9][A-Za-z0-9._/-]*");
		s++; /* '=' */
		_cleanup_buf_ struct buf val = BUF_INIT;
		if (*s == '"') {
			for (s++;; s++) {
				if (!*s)
					return dfail(p, "unterminated quoted value of '%s'",
						     QUOTE(key));
				if (*s == '"')
					break;
				if (*s == '\\') {
					s++;
					if (*s != '"' && *s != '\\')
						return dfail(p, "invalid escape in the value of '%s' "
								"(only \\\" and \\\\ are allowed)",
							     QUOTE(key));
				}
				buf_putc(&val, *s);
			}
			s++;
			if (*s && !is_blank(*s))
				return dfail(p, "expected a blank after the closing quote of '%s'",
					     QUOTE(key));
		} else {
			for (; *s && !is_blank(*s); s++) {
				if (*s == '"' || *s == '\\')
					return dfail(p, "the value of '%s' must be double-quoted to "
							"contain '\"' or '\\'",
						     QUOTE(key));
				buf_putc(&val, *s);
			}
		}
		xgrow(&st->kvs, &cap, st->nkvs + 1, sizeof *st->kvs);
		st->kvs[st->nkvs++] = (struct recipe_kv){TAKE_PTR(key), buf_detach(&val, NULL)};
	}
	if (st->nkvs == 0)
		return dfail(p, "expected at least one KEY=VALUE");
	qsort(st->kvs, st->nkvs, sizeof *st->kvs, cmp_kv);
	for (size_t i = 1; i < st->nkvs; i++)
		if (strcmp(st->kvs[i - 1].key, st->kvs[i].key) == 0)
			return dfail(p, "'%s' is set twice", QUOTE(st->kvs[i].key));

	_cleanup_buf_ struct buf b = BUF_INIT;
	buf_puts(&b, recipe_op_name(st->op));
	for (size_t i = 0; i < st->nkvs; i++) {
		buf_putc(&b, ' ');
		buf_puts(&b, st->kvs[i].key);
		buf_putc(&b, '=');
		put_quoted(&b, st->kvs[i].value);
	}
	st->canonical = buf_detach(&b, NULL);
	return 0;
}

static int parse_workdir(struct parser *p, const char *rest)
{
	struct recipe_step *st = p->st;
	_cleanup_(words_release) struct words w = {0};
	words_split(&w, rest);
	if (w.n != 1 || w.v[0][0] != '/')
		return dfail(p, "expected one absolute path");
	if (has_control(w.v[0]))
		return dfail(p, "path '%s' contains a control character", QUOTE(w.v[0]));
	char *norm = path_normalise(w.v[0], false);
	if (!norm)
		return dfail(p, "path '%s' must not contain a '..' component", QUOTE(w.v[0]));
	free(w.v[0]);
	w.v[0] = norm;
	words_to_args(&w, st);
	canonical_words(st);
	return 0;
}

static int parse_user(struct parser *p, const char *rest)
{
	struct recipe_step *st = p->st;
	_cleanup_(words_release) struct words w = {0};
	words_split(&w, rest);
	if (w.n != 1)
		return dfail(p, "expected one numeric UID[:GID]");
	if (!parse_ids(w.v[0], &st->uid, &st->gid))
		return dfail(p, "invalid user '%s' (expected numeric UID[:GID], at most %u)",
			     QUOTE(w.v[0]), ID_MAX);
	st->args = xmalloc(sizeof *st->args);
	st->args[0] = xasprintf("%u:%u", (unsigned)st->uid, (unsigned)st->gid);
	st->nargs = 1;
	canonical_words(st);
	return 0;
}

/* Parses one logical line (NUL-terminated, no '\n') that starts at line. */
static int parse_logical(struct parser *p, char *s, unsigned line)
{
	struct recipe *r = p->r;
	while (is_blank(*s))
		s++;
	char *kw = s;
	while (*s && !is_blank(*s))
		s++;
	size_t kwlen = (size_t)(s - kw);
	while (is_blank(*s))
		s++;
	char *rest = s;
	char *end = rest + strlen(rest);
	while (end > rest && is_blank(end[-1]))
		*--end = '\0';

	size_t op = 0;
	for (; op < ARRAY_SIZE(op_names); op++)
		if (strlen(op_names[op]) == kwlen && strncasecmp(op_names[op], kw, kwlen) == 0)
			break;
	if (op == ARRAY_SIZE(op_names)) {
		_cleanup_free_ char *k = xstrndup(kw, kwlen);
		return fail(p, line, "unknown directive '%s' (expected " DIRECTIVES ")", QUOTE(k));
	}
	if (r->nsteps == 0 && op != RECIPE_FROM)
		return fail(p, line, "expected FROM as the first directive, found %s",
			    op_names[op]);
	if (r->nsteps > 0 && op == RECIPE_FROM)
		return fail(p, line, "FROM: only one FROM is allowed (the first is at line %u)",
			    r->steps[0].line);
	if (op == RECIPE_CMD && p->cmd_line)
		return fail(p, line, "CMD: only one CMD is allowed (the first is at line %u)",
			    p->cmd_line);
	if (op == RECIPE_USER && p->user_line)
		return fail(p, line, "USER: only one USER is allowed (the first is at line %u)",
			    p->user_line);

	/* Append first so that recipe_free cleans up a half-parsed step. */
	xgrow(&r->steps, &p->steps_cap, r->nsteps + 1, sizeof *r->steps);
	p->st = &r->steps[r->nsteps++];
	*p->st = (struct recipe_step){.op = (enum recipe_op)op, .line = line};

	switch ((enum recipe_op)op) {
	case RECIPE_FROM:
		return parse_from(p, rest);
	case RECIPE_PACKAGES:
		return parse_packages(p, rest);
	case RECIPE_COPY:
		return parse_copy(p, rest);
	case RECIPE_RUN:
		return parse_argv(p, rest);
	case RECIPE_CMD:
		p->cmd_line = line;
		return parse_argv(p, rest);
	case RECIPE_ENV:
	case RECIPE_LABEL:
		return parse_kvs(p, rest);
	case RECIPE_WORKDIR:
		return parse_workdir(p, rest);
	case RECIPE_USER:
		p->user_line = line;
		return parse_user(p, rest);
	}
	return fail(p, line, "internal error: unhandled directive");
}

static bool blank_or_comment(const char *l, size_t n)
{
	size_t i = 0;
	while (i < n && is_blank(l[i]))
		i++;
	return i == n || l[i] == '#';
}

static char *name_from_filename(const char *filename)
{
	const char *base = strrchr(filename, '/');
	base = base ? base + 1 : filename;
	size_t n = strlen(base);
	if (n > 7 && strcmp(base + n - 7, ".recipe") == 0)
		n -= 7;
	return xstrndup(base, n);
}

int recipe_parse(const char *text, size_t len, const char *filename, struct recipe **ret,
		 struct err *err)
{
	if (!filename)
		filename = "<recipe>";
	if (!text)
		text = "", len = 0;
	if (len > RECIPE_MAX_SIZE)
		return err_set(err, -EFBIG, "%s: recipe larger than 1 MiB (%zu bytes)", filename,
			       len);
	struct recipe *r = xcalloc(1, sizeof *r);
	_cleanup_(recipe_freep) struct recipe *owned = r;
	struct parser p = {.file = filename, .r = r, .err = err};

	const char *nul = memchr(text, '\0', len);
	if (nul) {
		unsigned line = 1;
		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		return fail(&p, line, "NUL byte in recipe");
	}

	_cleanup_buf_ struct buf logical = BUF_INIT;
	unsigned lineno = 0, start = 0;
	bool cont = false;
	size_t pos = 0;
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		pos += n + (nl ? 1 : 0);
		lineno++;
		if (n > 0 && l[n - 1] == '\r')
			n--;
		/* Blank and comment lines are skipped, also inside a continued
		 * line, as in a Dockerfile. */
		if (blank_or_comment(l, n))
			continue;
		if (!cont) {
			start = lineno;
			buf_reset(&logical);
		}
		size_t m = n;
		while (m > 0 && is_blank(l[m - 1]))
			m--;
		cont = m > 0 && l[m - 1] == '\\';
		m = cont ? m - 1 : n;
		if (logical.len + m > RECIPE_MAX_LINE)
			return fail(&p, lineno, "line longer than 64 KiB");
		buf_append(&logical, l, m);
		if (!cont) {
			int rc = parse_logical(&p, logical.data, start);
			if (rc < 0)
				return rc;
		}
	}
	if (cont)
		return fail(&p, lineno, "expected a line after the continuation '\\', found end of file");
	if (r->nsteps == 0)
		return fail(&p, lineno ? lineno : 1, "expected FROM, found end of file");

	r->name = name_from_filename(filename);
	*ret = TAKE_PTR(owned);
	return 0;
}

int recipe_parse_file(const char *path, struct recipe **ret, struct err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_errno(err, "open '%s'", path);
	struct stat stbuf;
	if (fstat(fd, &stbuf) < 0)
		return err_errno(err, "stat '%s'", path);
	if (!S_ISREG(stbuf.st_mode))
		return err_set(err, -EINVAL, "'%s' is not a regular file", path);
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = fs_read_fd(fd, RECIPE_MAX_SIZE, &b, err);
	if (r == -EFBIG)
		return err_set(err, -EFBIG, "%s: recipe larger than 1 MiB", path);
	if (r < 0)
		return err_prefix(err, "'%s'", path);
	return recipe_parse(b.data ? b.data : "", b.len, path, ret, err);
}

static void step_release(struct recipe_step *st)
{
	for (size_t i = 0; i < st->nargs; i++)
		free(st->args[i]);
	free(st->args);
	for (size_t i = 0; i < st->nkvs; i++) {
		free(st->kvs[i].key);
		free(st->kvs[i].value);
	}
	free(st->kvs);
	free(st->canonical);
}

void recipe_free(struct recipe *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsteps; i++)
		step_release(&r->steps[i]);
	free(r->steps);
	free(r->name);
	free(r);
}
