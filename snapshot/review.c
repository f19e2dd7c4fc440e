/* review: interactive accept/reject on a terminal (contract in review.h).
 *
 * Diffs come from libgit2 (text_blocks_compute: zero-context hunks of the
 * two blobs loaded from the store); display hunks are runs of blocks at
 * most 2 * context lines apart, as git groups them, and are rendered here
 * from the lines themselves, so every byte shown passes through
 * show_bytes() or review_quote_path(): an agent's file named
 * "\e]0;pwned\a" or a file full of escape sequences cannot drive the
 * terminal or forge a line of the review.
 */
#include "snapshot/review.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

#define CONTEXT 3

/* ---- safe output ---- */

/* Length of a valid UTF-8 sequence at p that is not a C1 control, else 0. */
static size_t utf8_ok(const unsigned char *p, size_t len)
{
	size_t n;
	uint32_t cp;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

/* Content for the terminal: ^X for C0 (not \t), ^? for DEL, \xNN for
 * bytes that are not printable UTF-8. \n is the caller's business. */
static void show_bytes(struct buf *out, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
			buf_putc(out, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(out, "^%c", c == 0x7f ? '?' : c + 64);
			i++;
		} else {
			size_t n = utf8_ok(p + i, len - i);
			if (n) {
				buf_append(out, p + i, n);
				i += n;
			} else {
				buf_printf(out, "\\x%02x", c);
				i++;
			}
		}
	}
}

void review_quote_path(struct buf *out, const char *path)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t len = strlen(path);
	bool need = false;
	for (size_t i = 0; i < len;) {
		size_t n = p[i] >= 0x80 ? utf8_ok(p + i, len - i) : 1;
		if (!n || p[i] < 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\') {
			need = true;
			break;
		}
		i += n;
	}
	if (!need) {
		buf_puts(out, path);
		return;
	}
	buf_putc(out, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		const char *esc = NULL;
		switch (c) {
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\v': esc = "\\v"; break;
		case '\f': esc = "\\f"; break;
		case '\r': esc = "\\r"; break;
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		default: break;
		}
		if (esc) {
			buf_puts(out, esc);
			i++;
			continue;
		}
		size_t n = c >= 0x80 ? utf8_ok(p + i, len - i) : (c >= 0x20 && c != 0x7f);
		if (n) {
			buf_append(out, p + i, n);
			i += n;
		} else {
			buf_printf(out, "\\%03o", c);
			i++;
		}
	}
	buf_putc(out, '"');
}

/* ---- terminal ---- */

static struct termios saved_tio;
static volatile sig_atomic_t raw_fd = -1;
static const int raw_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
static struct sigaction saved_sa[ARRAY_SIZE(raw_signals)];

static void on_signal(int sig)
{
	int fd = raw_fd;
	if (fd >= 0)
		tcsetattr(fd, TCSANOW, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void raw_leave(void)
{
	if (raw_fd < 0)
		return;
	tcsetattr(raw_fd, TCSANOW, &saved_tio);
	raw_fd = -1;
	for (size_t i = 0; i < ARRAY_SIZE(raw_signals); i++)
		sigaction(raw_signals[i], &saved_sa[i], NULL);
}

static void raw_enter(int fd)
{
	if (!isatty(fd) || tcgetattr(fd, &saved_tio) < 0)
		return;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(raw_signals); i++)
		sigaction(raw_signals[i], &sa, &saved_sa[i]);
	struct termios t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	t.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	raw_fd = fd;
	tcsetattr(fd, TCSANOW, &t);
}

struct ui {
	const struct review_opts *o;
	struct buf out;
};

static int flush(struct ui *u, struct err *err)
{
	int r = fs_write_all(u->o->out_fd, u->out.data, u->out.len);
	buf_reset(&u->out);
	return r < 0 ? err_code(err, r, "review: write to the terminal") : 0;
}

static const char *col(struct ui *u, const char *c)
{
	return u->o->color ? c : "";
}

/* One key: a byte that is not whitespace; 0 at end of input; Ctrl-C and
 * Ctrl-D (raw mode: no signal) count as q. */
static int read_key(struct ui *u)
{
	for (;;) {
		unsigned char c;
		ssize_t n = read(u->o->in_fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (c == 3 || c == 4)
			return 'q';
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		return c;
	}
}

static const char help_hunk[] =
	"y - accept this hunk\nn - reject this hunk\na - accept this hunk and the rest of the file\n"
	"d - reject this hunk and the rest of the file\ns - split this hunk\n"
	"q - quit; decisions so far are kept\n? - this help\n";

/* ---- rendering ---- */

struct lines {
	size_t *off;
	size_t n;
};

static void lines_split(const struct buf *b, struct lines *l)
{
	size_t cap = 0, start = 0;
	l->off = NULL;
	l->n = 0;
	for (size_t i = 0; i <= b->len; i++) {
		if (i == b->len && start == b->len)
			break;
		if (i == b->len || b->data[i] == '\n') {
			xgrow(&l->off, &cap, l->n + 2, sizeof *l->off);
			l->off[l->n++] = start;
			start = i + 1;
		}
	}
	xgrow(&l->off, &cap, l->n + 1, sizeof *l->off);
	l->off[l->n] = b->len;
}

static void show_line(struct ui *u, char sign, const char *color, const struct buf *b,
		      const struct lines *l, size_t i)
{
	size_t s = l->off[i], e = l->off[i + 1];
	bool nl = e > s && b->data[e - 1] == '\n';
	buf_puts(&u->out, col(u, color));
	buf_putc(&u->out, sign);
	show_bytes(&u->out, b->data + s, e - s - nl);
	buf_puts(&u->out, col(u, "\033[m"));
	buf_putc(&u->out, '\n');
	if (!nl)
		buf_puts(&u->out, "\\ No newline at end of file\n");
}

static size_t first(size_t start, size_t lines)
{
	return lines ? start - 1 : start;
}

/* Shows blocks [bi, bj) as one hunk with context. */
static void show_hunk(struct ui *u, const struct text_block *b, size_t bi, size_t bj,
		      const struct buf *ob, const struct lines *ol, const struct buf *nb,
		      const struct lines *nl)
{
	size_t of0 = first(b[bi].old_start, b[bi].old_lines);
	size_t nf0 = first(b[bi].new_start, b[bi].new_lines);
	const struct text_block *z = &b[bj - 1];
	size_t ofz = first(z->old_start, z->old_lines) + z->old_lines;
	size_t nfz = first(z->new_start, z->new_lines) + z->new_lines;
	size_t so = of0 > CONTEXT ? of0 - CONTEXT : 0, sn = so + nf0 - of0;
	size_t eo = ofz + CONTEXT < ol->n ? ofz + CONTEXT : ol->n, en = eo + nfz - ofz;
	buf_printf(&u->out, "%s@@ -%zu,%zu +%zu,%zu @@%s\n", col(u, "\033[36m"),
		   eo > so ? so + 1 : so, eo - so, en > sn ? sn + 1 : sn, en - sn,
		   col(u, "\033[m"));
	size_t cur = so;
	for (size_t k = bi; k < bj; k++) {
		size_t of = first(b[k].old_start, b[k].old_lines);
		size_t nf = first(b[k].new_start, b[k].new_lines);
		for (; cur < of; cur++)
			show_line(u, ' ', "", ob, ol, cur);
		for (size_t i = 0; i < b[k].old_lines; i++)
			show_line(u, '-', "\033[31m", ob, ol, of + i);
		for (size_t i = 0; i < b[k].new_lines; i++)
			show_line(u, '+', "\033[32m", nb, nl, nf + i);
		cur = of + b[k].old_lines;
	}
	for (; cur < eo; cur++)
		show_line(u, ' ', "", ob, ol, cur);
}

static void risk_tags(struct buf *out, unsigned risk)
{
	static const struct {
		unsigned bit;
		const char *tag;
	} tags[] = {
		{RISK_GIT_DIR, "git"},         {RISK_EXECUTABLE, "exec"},
		{RISK_SYMLINK, "symlink"},     {RISK_SYMLINK_ESCAPE, "symlink-escape"},
		{RISK_CI_CONFIG, "ci"},        {RISK_SETID, "setid"},
		{RISK_SPECIAL, "special"},     {RISK_LARGE, "large"},
		{RISK_BINARY, "binary"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++)
		if (risk & tags[i].bit)
			buf_printf(out, " [!%s]", tags[i].tag);
}

static void show_header(struct ui *u, const struct change *c)
{
	buf_printf(&u->out, "%s", col(u, "\033[1m"));
	buf_puts(&u->out, "diff --airlock ");
	if (c->old_path) {
		review_quote_path(&u->out, c->old_path);
		buf_puts(&u->out, " => ");
	}
	review_quote_path(&u->out, c->path);
	buf_printf(&u->out, " (%c)", (char)c->kind);
	risk_tags(&u->out, c->risk);
	buf_printf(&u->out, "%s\n", col(u, "\033[m"));
	if (c->has_old && c->has_new && c->old_attr.perm != c->new_attr.perm &&
	    c->old_attr.type == c->new_attr.type)
		buf_printf(&u->out, "old mode %04o\nnew mode %04o\n", c->old_attr.perm,
			   c->new_attr.perm);
	if (!c->has_old && c->has_new)
		buf_printf(&u->out, "new %s, mode %04o\n",
			   c->new_attr.type == TREE_DIR ? "directory" :
			   c->new_attr.type == TREE_SYMLINK ? "symlink" : "file", c->new_attr.perm);
	if (c->has_old && !c->has_new)
		buf_puts(&u->out, "deleted\n");
	if (c->risk & DECISIONS_HELD_RISKS)
		buf_puts(&u->out, "(held back unless accepted here)\n");
}

static bool is_text(const struct change *c, bool side_new)
{
	const struct tree_attr *a = side_new ? &c->new_attr : &c->old_attr;
	bool has = side_new ? c->has_new : c->has_old;
	return !has || (a->type == TREE_FILE && !(c->risk & (RISK_BINARY | RISK_LARGE)));
}

/* 0 decided, 1 quit, <0 error. */
static int review_whole(struct ui *u, struct store *s, const struct change *c,
			struct decisions *d, struct err *err)
{
	if (c->has_new && c->new_attr.type == TREE_SYMLINK) {
		_cleanup_buf_ struct buf t = BUF_INIT;
		int r = store_get(s, &c->new_attr.digest, TREE_PATH_MAX, &t, err);
		if (r < 0)
			return r;
		buf_puts(&u->out, "symlink to ");
		show_bytes(&u->out, t.data ? t.data : "", t.len);
		buf_putc(&u->out, '\n');
	} else if (c->has_new && c->new_attr.type == TREE_FILE && !is_text(c, true)) {
		buf_puts(&u->out, "Binary or large file; not shown\n");
	}
	for (;;) {
		buf_puts(&u->out, "Accept this change [y,n,q,?]? ");
		int r = flush(u, err);
		if (r < 0)
			return r;
		int k = read_key(u);
		buf_putc(&u->out, '\n');
		switch (k) {
		case 'y':
		case 'a':
			decisions_set(d, c->path, DECISION_ACCEPT);
			return 0;
		case 'n':
		case 'd':
			decisions_set(d, c->path, DECISION_REJECT);
			return 0;
		case 0:
		case 'q':
			return 1;
		default:
			buf_puts(&u->out, "y - accept\nn - reject\nq - quit\n? - this help\n");
		}
	}
}

struct group {
	size_t bi, bj;
};

static int review_text(struct ui *u, struct store *s, const struct change *c, struct decisions *d,
		       struct err *err)
{
	_cleanup_buf_ struct buf ob = BUF_INIT;
	_cleanup_buf_ struct buf nb = BUF_INIT;
	int r = 0;
	if (c->has_old)
		r = store_get(s, &c->old_attr.digest, CHANGESET_LARGE, &ob, err);
	if (r >= 0 && c->has_new)
		r = store_get(s, &c->new_attr.digest, CHANGESET_LARGE, &nb, err);
	if (r < 0)
		return err_prefix(err, "review '%s'", c->path);
	buf_puts(&ob, "");
	buf_puts(&nb, "");
	_cleanup_free_ struct text_block *b = NULL;
	size_t n = 0;
	if (text_blocks_compute(ob.data, ob.len, nb.data, nb.len, &b, &n, err) < 0 ||
	    n == 0 || c->kind != CHANGE_MODIFY) {
		/* Added, deleted, or no line change (mode only): one prompt. */
		if (n) {
			struct lines ol, nl;
			lines_split(&ob, &ol);
			lines_split(&nb, &nl);
			show_hunk(u, b, 0, n, &ob, &ol, &nb, &nl);
			free(ol.off);
			free(nl.off);
		}
		return review_whole(u, s, c, d, err);
	}
	struct lines ol, nl;
	lines_split(&ob, &ol);
	lines_split(&nb, &nl);
	_cleanup_free_ enum decision *dec = xcalloc(n, sizeof *dec);
	_cleanup_free_ struct group *g = xcalloc(n, sizeof *g);
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		size_t of = first(b[i].old_start, b[i].old_lines);
		if (ng && of - (first(b[i - 1].old_start, b[i - 1].old_lines) + b[i - 1].old_lines) <=
				  2 * CONTEXT)
			g[ng - 1].bj = i + 1;
		else
			g[ng++] = (struct group){i, i + 1};
	}
	int ret = 0;
	for (size_t gi = 0; gi < ng && ret == 0;) {
		show_hunk(u, b, g[gi].bi, g[gi].bj, &ob, &ol, &nb, &nl);
		buf_printf(&u->out, "(%zu/%zu) Accept this hunk [y,n,a,d%s,q,?]? ", gi + 1, ng,
			   g[gi].bj - g[gi].bi > 1 ? ",s" : "");
		if ((r = flush(u, err)) < 0) {
			ret = r;
			break;
		}
		int k = read_key(u);
		buf_putc(&u->out, '\n');
		enum decision v = DECISION_NONE;
		bool rest = false;
		switch (k) {
		case 'y': v = DECISION_ACCEPT; break;
		case 'n': v = DECISION_REJECT; break;
		case 'a': v = DECISION_ACCEPT; rest = true; break;
		case 'd': v = DECISION_REJECT; rest = true; break;
		case 's':
			if (g[gi].bj - g[gi].bi > 1) {
				size_t parts = g[gi].bj - g[gi].bi, bi = g[gi].bi;
				memmove(&g[gi + parts], &g[gi + 1], (ng - gi - 1) * sizeof *g);
				for (size_t p = 0; p < parts; p++)
					g[gi + p] = (struct group){bi + p, bi + p + 1};
				ng += parts - 1;
				buf_printf(&u->out, "Split into %zu hunks.\n", parts);
			} else {
				buf_puts(&u->out, "Sorry, cannot split this hunk\n");
			}
			continue;
		case 0:
		case 'q': ret = 1; continue;
		default: buf_puts(&u->out, help_hunk); continue;
		}
		size_t end = rest ? n : g[gi].bj;
		for (size_t k2 = g[gi].bi; k2 < end; k2++)
			dec[k2] = v;
		gi = rest ? ng : gi + 1;
	}
	free(ol.off);
	free(nl.off);
	if (ret)
		return ret;
	size_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += dec[i] == DECISION_ACCEPT;
	decisions_set(d, c->path, acc ? DECISION_ACCEPT : DECISION_REJECT);
	if (acc && acc < n)
		for (size_t i = 0; i < n; i++)
			decisions_set_block(d, c->path, b[i].id, dec[i]);
	return 0;
}

static int review_loop(struct ui *u, struct store *s, const struct changeset *cs,
		       struct decisions *d, struct err *err)
{
	size_t held = 0, todo = 0;
	for (size_t i = 0; i < cs->n; i++) {
		held += !!(cs->changes[i].risk & DECISIONS_HELD_RISKS);
		todo += u->o->redo || decisions_get(d, cs->changes[i].path) == DECISION_NONE;
	}
	buf_printf(&u->out, "%zu change(s), %zu to review, %zu risky (held back unless accepted)\n",
		   cs->n, todo, held);
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		enum decision v = decisions_get(d, c->path);
		buf_printf(&u->out, " %c %s ", (char)c->kind,
			   v == DECISION_ACCEPT ? "+" : v == DECISION_REJECT ? "-" : " ");
		review_quote_path(&u->out, c->path);
		risk_tags(&u->out, c->risk);
		buf_putc(&u->out, '\n');
	}
	int r = flush(u, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cs->n; i++) {
		const struct change *c = &cs->changes[i];
		if (!u->o->redo && decisions_get(d, c->path) != DECISION_NONE)
			continue;
		buf_putc(&u->out, '\n');
		show_header(u, c);
		if (c->has_new && c->new_attr.type == TREE_FILE && is_text(c, true) &&
		    is_text(c, false) && (!c->has_old || c->old_attr.type == TREE_FILE))
			r = review_text(u, s, c, d, err);
		else
			r = review_whole(u, s, c, d, err);
		if (r != 0) {
			if (r > 0)
				flush(u, NULL);
			return r;
		}
	}
	buf_puts(&u->out, "Review complete.\n");
	return flush(u, err);
}

int review_run(struct store *s, const struct changeset *cs, struct decisions *d,
	       const struct review_opts *opts, struct err *err)
{
	if (!decisions_match(d, cs))
		return err_set(err, -EINVAL, "the review decisions belong to another changeset");
	struct ui u = {.o = opts, .out = BUF_INIT};
	raw_enter(opts->in_fd);
	int r = review_loop(&u, s, cs, d, err);
	raw_leave();
	buf_release(&u.out);
	return r;
}
