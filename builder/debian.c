/* debian: lock, fetch and unpack Debian packages (see debian.h).
 *
 * Trust: the lock is the root of trust for a build. apt verifies the
 * Release signatures when it downloads lists, so at lock time the SHA256
 * fields apt-cache prints are as good as the archive keyring; at build
 * time every .deb, cached or fresh, is checked against the lock's digest
 * before a byte of it is unpacked. The lock file itself is parsed as
 * hostile input (it is edited by pull requests): every string that later
 * reaches apt's command line is validated against Debian's syntax, so it
 * can never be taken for an option.
 *
 * apt is asked with Dir::State::status=/dev/null, i.e. "as if nothing
 * were installed", so the closure does not depend on the host.
 */
#include "builder/debian.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/archive-util.h"
#include "builder/proc.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/hash.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

#define NAME_MAX_LEN 128
#define VERSION_MAX_LEN 128
#define ARCH_MAX_LEN 32
#define FILENAME_MAX_LEN 1024
#define DEFAULT_LISTS "/var/lib/apt/lists/"

/* ---- syntax checks ---------------------------------------------------- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* Debian policy 5.6.1: [a-z0-9][a-z0-9+.-]+ */
static bool name_valid_n(const char *s, size_t n)
{
	if (n < 2 || n > NAME_MAX_LEN || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && !strchr("+.-", s[i]))
			return false;
	return true;
}

static bool arch_valid_n(const char *s, size_t n)
{
	if (n < 1 || n > ARCH_MAX_LEN || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* Policy 5.6.12: [epoch:]upstream[-revision] from [A-Za-z0-9.+~:-]. The
 * first character must be alphanumeric (never '-': argv safety). */
static bool version_valid_n(const char *s, size_t n)
{
	if (n < 1 || n > VERSION_MAX_LEN || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !strchr(".+~:-", s[i]))
			return false;
	return true;
}

static bool name_valid(const char *s)
{
	return name_valid_n(s, strlen(s));
}
static bool arch_valid(const char *s)
{
	return arch_valid_n(s, strlen(s));
}
static bool version_valid(const char *s)
{
	return version_valid_n(s, strlen(s));
}

static bool sha256_hex_valid(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == DIGEST_HEX_LEN;
}

/* A relative archive path ("pool/main/...deb"): printable ASCII, no
 * "..", no leading '/'. Informational, but it is shown to people. */
static bool filename_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > FILENAME_MAX_LEN || s[0] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	for (const char *p = s; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (!strncmp(p, "..", 2) && (p[2] == '/' || p[2] == '\0'))
			return false;
	}
	return true;
}

bool deb_request_valid(const char *s)
{
	size_t n = strcspn(s, ":=");
	if (!name_valid_n(s, n))
		return false;
	s += n;
	if (*s == ':') {
		s++;
		n = strcspn(s, "=");
		if (!arch_valid_n(s, n))
			return false;
		s += n;
	}
	if (*s == '=') {
		s++;
		return version_valid(s);
	}
	return *s == '\0';
}

/* ---- lock struct ------------------------------------------------------ */

static void pkg_release(struct deb_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->sha256);
	free(p->filename);
	*p = (struct deb_pkg){0};
}

void deb_lock_free(struct deb_lock *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		pkg_release(&l->pkgs[i]);
	free(l->pkgs);
	for (size_t i = 0; i < l->n_requests; i++)
		free(l->requests[i]);
	free(l->requests);
	*l = (struct deb_lock){0};
}

static int pkg_cmp(const void *a, const void *b)
{
	const struct deb_pkg *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->arch, y->arch);
}

/* Checks one package's fields; returns the name of the bad field or NULL. */
static const char *pkg_invalid_field(const struct deb_pkg *p)
{
	if (!p->name || !name_valid(p->name))
		return "name";
	if (!p->version || !version_valid(p->version))
		return "version";
	if (!p->arch || !arch_valid(p->arch))
		return "arch";
	if (!p->sha256 || !sha256_hex_valid(p->sha256))
		return "sha256";
	if (!p->filename || !filename_valid(p->filename))
		return "filename";
	return NULL;
}

/* ---- apt ------------------------------------------------------------- */

/* The directory apt keeps its lists in (apt-config; default on failure). */
static char *apt_lists_dir(void)
{
	char *argv[] = {(char *)"apt-config", (char *)"shell", (char *)"D",
			(char *)"Dir::State::lists/d", NULL};
	_cleanup_buf_ struct buf out = BUF_INIT;
	struct err e = {0};
	if (proc_run_capture(argv, NULL, &out, &e) != 0 || !out.data)
		return xstrdup(DEFAULT_LISTS);
	/* D='/var/lib/apt/lists/' */
	const char *p = strstr(out.data, "D='");
	if (!p)
		return xstrdup(DEFAULT_LISTS);
	p += 3;
	const char *q = strchr(p, '\'');
	if (!q || q == p)
		return xstrdup(DEFAULT_LISTS);
	return xstrndup(p, (size_t)(q - p));
}

int deb_apt_check(struct err *err)
{
	_cleanup_free_ char *dir = apt_lists_dir();
	DIR *d = opendir(dir);
	if (!d)
		return err_set(err, -ENOENT,
			       "no apt package lists (cannot open %s); run apt-get update", dir);
	bool found = false;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, "_Packages")) {
			found = true;
			break;
		}
	closedir(d);
	if (!found)
		return err_set(err, -ENOENT, "no apt package lists in %s; run apt-get update", dir);
	return 0;
}

/* Appends "; "-separated lines of text starting with prefix (prefix
 * removed) to b. Returns how many. */
static size_t collect_lines(const char *text, const char *prefix, struct buf *b)
{
	size_t count = 0, plen = strlen(prefix);
	for (const char *p = text; p && *p;) {
		const char *nl = strchrnul(p, '\n');
		if ((size_t)(nl - p) >= plen && !strncmp(p, prefix, plen)) {
			if (b->len)
				buf_puts(b, "; ");
			buf_append(b, p + plen, (size_t)(nl - p) - plen);
			count++;
		}
		p = *nl ? nl + 1 : NULL;
	}
	return count;
}

/* "E: Unable to locate package X" for each X: "package 'X' not found". */
static int resolve_error(int status, const char *out, const char *errout, struct err *err)
{
	_cleanup_buf_ struct buf missing = BUF_INIT, e = BUF_INIT, unmet = BUF_INIT;
	size_t n = 0;
	const char *pfx = "E: Unable to locate package ";
	for (const char *p = errout; p && *p;) {
		const char *nl = strchrnul(p, '\n');
		if (!strncmp(p, pfx, strlen(pfx))) {
			const char *name = p + strlen(pfx);
			buf_printf(&missing, "%s'%.*s'", n ? ", " : "", (int)(nl - name), name);
			n++;
		}
		p = *nl ? nl + 1 : NULL;
	}
	if (n)
		return err_set(err, -ENOENT, "%s %s not found in the configured apt sources",
			       n > 1 ? "packages" : "package", missing.data);
	/* E: Version '0.1' for 'libc6' was not found */
	const char *vp = errout ? strstr(errout, "E: Version '") : NULL;
	if (vp) {
		const char *v = vp + strlen("E: Version '");
		const char *ve = strstr(v, "' for '");
		const char *pe = ve ? strstr(ve + 7, "' was not found") : NULL;
		if (ve && pe && !memchr(v, '\n', (size_t)(pe - v)))
			return err_set(err, -ENOENT,
				       "package '%.*s' version '%.*s' not found in the configured "
				       "apt sources",
				       (int)(pe - ve - 7), ve + 7, (int)(ve - v), v);
	}
	collect_lines(errout, "E: ", &e);
	/* The block after "The following packages have unmet dependencies:". */
	const char *block = out ? strstr(out, "unmet dependencies:\n") : NULL;
	if (block)
		collect_lines(block + strlen("unmet dependencies:\n"), " ", &unmet);
	return err_set(err, -EINVAL, "apt-get could not resolve the packages (exit %d): %s%s%s",
		       status, e.len ? e.data : "no message", unmet.len ? "; " : "",
		       unmet.len ? unmet.data : "");
}

/* Parses "Inst NAME (VERSION SUITES [ARCH])..." into p (name, version,
 * arch). Returns 0, or -EINVAL for a line not in that shape. */
static int parse_inst(const char *line, size_t len, struct deb_pkg *p)
{
	_cleanup_free_ char *l = xstrndup(line, len);
	char *s = l + 5; /* after "Inst " */
	char *sp = strchr(s, ' ');
	if (!sp)
		return -EINVAL;
	*sp = '\0';
	char *colon = strchr(s, ':'); /* "libc6:i386" for a foreign arch */
	if (colon)
		*colon = '\0';
	char *rest = sp + 1;
	if (*rest == '[') { /* "[OLDVERSION] " on upgrades; not with status=/dev/null */
		rest = strchr(rest, ']');
		if (!rest || rest[1] != ' ')
			return -EINVAL;
		rest += 2;
	}
	if (*rest != '(')
		return -EINVAL;
	char *ver = rest + 1;
	char *vend = strchr(ver, ' ');
	if (!vend)
		return -EINVAL;
	*vend = '\0';
	char *close = strchr(vend + 1, ')');
	if (!close)
		return -EINVAL;
	*close = '\0';
	char *lb = strrchr(vend + 1, '[');
	char *rb = lb ? strchr(lb, ']') : NULL;
	if (!lb || !rb)
		return -EINVAL;
	*rb = '\0';
	if (!name_valid(s) || !version_valid(ver) || !arch_valid(lb + 1))
		return -EINVAL;
	p->name = xstrdup(s);
	p->version = xstrdup(ver);
	p->arch = xstrdup(lb + 1);
	return 0;
}

struct stanza {
	const char *package, *version, *arch, *filename, *size, *sha256;
	size_t package_n, version_n, arch_n, filename_n, size_n, sha256_n;
};

static void stanza_field(struct stanza *st, const char *line, size_t len)
{
	static const struct {
		const char *key;
		size_t off, noff;
	} keys[] = {
		{"Package: ", offsetof(struct stanza, package), offsetof(struct stanza, package_n)},
		{"Version: ", offsetof(struct stanza, version), offsetof(struct stanza, version_n)},
		{"Architecture: ", offsetof(struct stanza, arch), offsetof(struct stanza, arch_n)},
		{"Filename: ", offsetof(struct stanza, filename),
		 offsetof(struct stanza, filename_n)},
		{"Size: ", offsetof(struct stanza, size), offsetof(struct stanza, size_n)},
		{"SHA256: ", offsetof(struct stanza, sha256), offsetof(struct stanza, sha256_n)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		size_t kl = strlen(keys[i].key);
		if (len >= kl && !strncmp(line, keys[i].key, kl)) {
			*(const char **)((char *)st + keys[i].off) = line + kl;
			*(size_t *)((char *)st + keys[i].noff) = len - kl;
			return;
		}
	}
}

static bool field_eq(const char *f, size_t n, const char *s)
{
	return f && strlen(s) == n && !memcmp(f, s, n);
}

/* Fills sha256/filename/size of each pkg from apt-cache show output: the
 * first stanza with the same Package, Version and Architecture. */
static int apply_stanza(struct deb_lock *l, const struct stanza *st, struct err *err)
{
	if (!st->package || !st->sha256 || !st->filename || !st->size)
		return 0; /* e.g. a dpkg status record: no download fields */
	for (size_t i = 0; i < l->n; i++) {
		struct deb_pkg *p = &l->pkgs[i];
		if (p->sha256 || !field_eq(st->package, st->package_n, p->name) ||
		    !field_eq(st->version, st->version_n, p->version) ||
		    !field_eq(st->arch, st->arch_n, p->arch))
			continue;
		_cleanup_free_ char *size = xstrndup(st->size, st->size_n);
		char *end = NULL;
		errno = 0;
		unsigned long long v = strtoull(size, &end, 10);
		if (errno || end == size || *end || size[0] == '-')
			return err_set(err, -EINVAL, "apt-cache: bad Size '%s' for %s", size,
				       p->name);
		p->size = v;
		p->sha256 = xstrndup(st->sha256, st->sha256_n);
		p->filename = xstrndup(st->filename, st->filename_n);
		const char *bad = pkg_invalid_field(p);
		if (bad)
			return err_set(err, -EINVAL, "apt-cache: invalid %s for package %s", bad,
				       p->name);
	}
	return 0;
}

static int fill_digests(struct deb_lock *l, struct err *err)
{
	size_t argc = 0;
	_cleanup_free_ char **argv = xcalloc(l->n + 6, sizeof *argv);
	argv[argc++] = (char *)"apt-cache";
	argv[argc++] = (char *)"-o";
	argv[argc++] = (char *)"Dir::State::status=/dev/null";
	argv[argc++] = (char *)"show";
	for (size_t i = 0; i < l->n; i++)
		argv[argc++] = xasprintf("%s:%s=%s", l->pkgs[i].name, l->pkgs[i].arch,
					 l->pkgs[i].version);
	_cleanup_buf_ struct buf out = BUF_INIT, errout = BUF_INIT;
	struct proc_opts po = {.cwd_dfd = -1, .out_err = &errout};
	int r = proc_run_capture(argv, &po, &out, err);
	for (size_t i = 4; i < argc; i++)
		free(argv[i]);
	if (r < 0)
		return r;
	if (r != 0) {
		_cleanup_buf_ struct buf e = BUF_INIT;
		collect_lines(errout.data, "E: ", &e);
		return err_set(err, -EIO, "apt-cache show failed (exit %d): %s", r,
			       e.len ? e.data : "no message");
	}
	struct stanza st = {0};
	for (const char *p = out.data; p && *p;) {
		const char *nl = strchrnul(p, '\n');
		size_t len = (size_t)(nl - p);
		if (len == 0) {
			r = apply_stanza(l, &st, err);
			if (r < 0)
				return r;
			st = (struct stanza){0};
		} else if (p[0] != ' ') {
			stanza_field(&st, p, len);
		}
		p = *nl ? nl + 1 : NULL;
	}
	r = apply_stanza(l, &st, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++)
		if (!l->pkgs[i].sha256)
			return err_set(err, -ENOENT,
				       "apt-cache has no downloadable record for %s:%s=%s",
				       l->pkgs[i].name, l->pkgs[i].arch, l->pkgs[i].version);
	return 0;
}

int deb_resolve(char *const *requests, size_t n, struct deb_lock *ret, struct err *err)
{
	if (n == 0)
		return err_set(err, -EINVAL, "no packages to resolve");
	for (size_t i = 0; i < n; i++)
		if (!deb_request_valid(requests[i]))
			return err_set(err, -EINVAL,
				       "invalid package request '%s' (expected NAME[:ARCH][=VERSION])",
				       requests[i]);
	int r = deb_apt_check(err);
	if (r < 0)
		return r;

	size_t argc = 0;
	_cleanup_free_ char **argv = xcalloc(n + 16, sizeof *argv);
	argv[argc++] = (char *)"apt-get";
	argv[argc++] = (char *)"-s";
	const char *const o[] = {"Dir::State::status=/dev/null", "APT::Install-Recommends=false",
				 "APT::Install-Suggests=false", "Debug::NoLocking=1"};
	for (size_t i = 0; i < ARRAY_SIZE(o); i++) {
		argv[argc++] = (char *)"-o";
		argv[argc++] = (char *)o[i];
	}
	argv[argc++] = (char *)"install";
	argv[argc++] = (char *)"--";
	for (size_t i = 0; i < n; i++)
		argv[argc++] = requests[i];

	_cleanup_buf_ struct buf out = BUF_INIT, errout = BUF_INIT;
	struct proc_opts po = {.cwd_dfd = -1, .out_err = &errout};
	r = proc_run_capture(argv, &po, &out, err);
	if (r < 0)
		return err_prefix(err, "apt-get");
	if (r != 0)
		return resolve_error(r, out.data, errout.data, err);

	_cleanup_deb_lock_ struct deb_lock l = {0};
	size_t cap = 0;
	for (const char *p = out.data; p && *p;) {
		const char *nl = strchrnul(p, '\n');
		if (!strncmp(p, "Inst ", 5)) {
			struct deb_pkg pkg = {0};
			if (parse_inst(p, (size_t)(nl - p), &pkg) < 0) {
				pkg_release(&pkg);
				return err_set(err, -EINVAL, "cannot parse apt-get output: '%.*s'",
					       (int)(nl - p), p);
			}
			xgrow(&l.pkgs, &cap, l.n + 1, sizeof *l.pkgs);
			l.pkgs[l.n++] = pkg;
		}
		p = *nl ? nl + 1 : NULL;
	}
	if (l.n == 0)
		return err_set(err, -EINVAL, "apt-get resolved nothing to install");
	qsort(l.pkgs, l.n, sizeof *l.pkgs, pkg_cmp);
	for (size_t i = 1; i < l.n; i++)
		if (pkg_cmp(&l.pkgs[i - 1], &l.pkgs[i]) == 0)
			return err_set(err, -EINVAL, "apt-get lists %s:%s twice", l.pkgs[i].name,
				       l.pkgs[i].arch);
	r = fill_digests(&l, err);
	if (r < 0)
		return r;
	l.requests = xcalloc(n, sizeof *l.requests);
	for (size_t i = 0; i < n; i++)
		l.requests[i] = xstrdup(requests[i]);
	l.n_requests = n;
	*ret = l;
	l = (struct deb_lock){0};
	return 0;
}

/* ---- lock JSON -------------------------------------------------------- */

char *deb_lock_to_json(const struct deb_lock *l)
{
	_cleanup_(json_decrefp) json_t *root = json_object();
	json_t *pkgs = json_array();
	for (size_t i = 0; i < l->n; i++) {
		const struct deb_pkg *p = &l->pkgs[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "version", json_string(p->version));
		json_object_set_new(o, "arch", json_string(p->arch));
		json_object_set_new(o, "sha256", json_string(p->sha256));
		json_object_set_new(o, "filename", json_string(p->filename));
		json_object_set_new(o, "size", json_integer((json_int_t)p->size));
		json_array_append_new(pkgs, o);
	}
	json_t *reqs = json_array();
	for (size_t i = 0; i < l->n_requests; i++)
		json_array_append_new(reqs, json_string(l->requests[i]));
	json_object_set_new(root, "version", json_integer(DEB_LOCK_VERSION));
	json_object_set_new(root, "packages", pkgs);
	json_object_set_new(root, "requests", reqs);
	_cleanup_free_ char *s = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2));
	if (!s)
		abort(); /* only on out of memory */
	return xasprintf("%s\n", s);
}

/* Checks that o is an object with exactly the given keys. */
static int check_keys(json_t *o, const char *const *keys, size_t n, const char *source,
		      const char *where, struct err *err)
{
	if (!json_is_object(o))
		return err_set(err, -EINVAL, "lock %s: %s: expected an object", source, where);
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		size_t i = 0;
		while (i < n && strcmp(k, keys[i]))
			i++;
		if (i == n)
			return err_set(err, -EINVAL, "lock %s: %s: unknown key '%.64s'", source,
				       where, k);
	}
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(o, keys[i]))
			return err_set(err, -EINVAL, "lock %s: %s: missing key '%s'", source,
				       where, keys[i]);
	return 0;
}

static int get_str(json_t *o, const char *key, bool (*valid)(const char *), char **ret,
		   const char *source, const char *where, struct err *err)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return err_set(err, -EINVAL, "lock %s: %s.%s: expected a string", source, where,
			       key);
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || !valid(s))
		return err_set(err, -EINVAL, "lock %s: %s.%s: invalid value '%.80s'", source,
			       where, key, s);
	*ret = xstrdup(s);
	return 0;
}

int deb_lock_from_json(const char *data, size_t len, const char *source, struct deb_lock *ret,
		       struct err *err)
{
	json_error_t jerr;
	_cleanup_(json_decrefp) json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(err, -EINVAL, "lock %s: line %d: %s", source, jerr.line, jerr.text);
	static const char *const top_keys[] = {"version", "packages", "requests"};
	int r = check_keys(root, top_keys, ARRAY_SIZE(top_keys), source, "top level", err);
	if (r < 0)
		return r;
	json_t *v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != DEB_LOCK_VERSION)
		return err_set(err, -EINVAL, "lock %s: unsupported version (expected %d)", source,
			       DEB_LOCK_VERSION);
	json_t *pkgs = json_object_get(root, "packages");
	json_t *reqs = json_object_get(root, "requests");
	if (!json_is_array(pkgs))
		return err_set(err, -EINVAL, "lock %s: packages: expected an array", source);
	if (!json_is_array(reqs))
		return err_set(err, -EINVAL, "lock %s: requests: expected an array", source);

	_cleanup_deb_lock_ struct deb_lock l = {0};
	l.pkgs = xcalloc(json_array_size(pkgs) + 1, sizeof *l.pkgs);
	static const char *const pkg_keys[] = {"name", "version", "arch",
					       "sha256", "filename", "size"};
	for (size_t i = 0; i < json_array_size(pkgs); i++) {
		json_t *o = json_array_get(pkgs, i);
		char where[48];
		snprintf(where, sizeof where, "packages[%zu]", i);
		r = check_keys(o, pkg_keys, ARRAY_SIZE(pkg_keys), source, where, err);
		if (r < 0)
			return r;
		struct deb_pkg *p = &l.pkgs[l.n++];
		if ((r = get_str(o, "name", name_valid, &p->name, source, where, err)) < 0 ||
		    (r = get_str(o, "version", version_valid, &p->version, source, where, err)) < 0 ||
		    (r = get_str(o, "arch", arch_valid, &p->arch, source, where, err)) < 0 ||
		    (r = get_str(o, "sha256", sha256_hex_valid, &p->sha256, source, where, err)) <
			    0 ||
		    (r = get_str(o, "filename", filename_valid, &p->filename, source, where,
				 err)) < 0)
			return r;
		json_t *size = json_object_get(o, "size");
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return err_set(err, -EINVAL,
				       "lock %s: %s.size: expected a non-negative integer", source,
				       where);
		p->size = (uint64_t)json_integer_value(size);
		if (i > 0 && pkg_cmp(&l.pkgs[i - 1], p) >= 0)
			return err_set(err, -EINVAL,
				       "lock %s: %s: packages must be sorted by name and arch, "
				       "without duplicates ('%s' after '%s')",
				       source, where, p->name, l.pkgs[i - 1].name);
	}
	l.requests = xcalloc(json_array_size(reqs) + 1, sizeof *l.requests);
	for (size_t i = 0; i < json_array_size(reqs); i++) {
		json_t *s = json_array_get(reqs, i);
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s) ||
		    !deb_request_valid(json_string_value(s)))
			return err_set(err, -EINVAL, "lock %s: requests[%zu]: invalid request",
				       source, i);
		l.requests[l.n_requests++] = xstrdup(json_string_value(s));
	}
	if (l.n_requests > 0 && l.n == 0)
		return err_set(err, -EINVAL, "lock %s: requests but no packages", source);
	*ret = l;
	l = (struct deb_lock){0};
	return 0;
}

/* ---- fetch ------------------------------------------------------------ */

/* Hashes fd from offset 0 to EOF into hex[DIGEST_HEX_LEN + 1]. */
static int hash_fd(int fd, char *hex, uint64_t *ret_size, const char *what, struct err *err)
{
	struct hasher *h = hasher_new();
	_cleanup_free_ char *chunk = xmalloc(1 << 17);
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, chunk, 1 << 17, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = err_errno(err, "read %s", what);
			hasher_free(h);
			return r;
		}
		if (n == 0)
			break;
		hasher_update(h, chunk, (size_t)n);
		off += (uint64_t)n;
	}
	struct digest d;
	hasher_final(h, &d);
	hasher_free(h);
	digest_to_hex(&d, hex);
	*ret_size = off;
	return 0;
}

static bool no_longer_available(const char *errout)
{
	static const char *const pats[] = {
		"was not found",     /* E: Version 'V' for 'N' was not found */
		"Unable to locate package",
		"Can't find a source to download",
		"Not Found", /* 404: withdrawn from the mirror, lists stale */
	};
	for (size_t i = 0; errout && i < ARRAY_SIZE(pats); i++)
		if (strstr(errout, pats[i]))
			return true;
	return false;
}

/* A private temp directory inside the cache, removed by its cleanup. */
struct tmpdir {
	int parent; /* borrowed */
	int dfd;
	char name[32];
};

static void tmpdir_release(struct tmpdir *t)
{
	if (t->dfd >= 0) {
		close(t->dfd);
		t->dfd = -1;
	}
	if (t->name[0]) {
		fs_rm_rf_at(t->parent, t->name, NULL);
		t->name[0] = '\0';
	}
}

static int tmpdir_make(int parent, struct tmpdir *t, struct err *err)
{
	t->parent = parent;
	for (int tries = 0; tries < 100; tries++) {
		char hex[17];
		fs_random_hex(hex, 16);
		snprintf(t->name, sizeof t->name, "tmp-%s", hex);
		if (mkdirat(parent, t->name, 0700) == 0) {
			t->dfd = openat(parent, t->name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (t->dfd < 0)
				return err_errno(err, "open deb cache temp dir %s", t->name);
			return 0;
		}
		if (errno != EEXIST) {
			t->name[0] = '\0';
			return err_errno(err, "create deb cache temp dir");
		}
	}
	t->name[0] = '\0';
	return err_set(err, -EEXIST, "create deb cache temp dir: too many collisions");
}

/* The one *.deb apt-get download left in dfd, opened read-only. */
static int open_downloaded(int dfd, char *ret_name, size_t name_size, struct err *err)
{
	int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return err_errno(err, "dup");
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return err_errno(err, "read deb cache temp dir");
	}
	size_t found = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 4 && !strcmp(de->d_name + n - 4, ".deb") && found++ == 0)
			snprintf(ret_name, name_size, "%s", de->d_name);
	}
	closedir(d);
	if (found != 1)
		return err_set(err, -EIO, "apt-get download left %zu .deb files, expected 1",
			       found);
	int fd = openat(dfd, ret_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_errno(err, "open downloaded %s", ret_name);
	return fd;
}

static int download(const struct deb_pkg *p, int cache_dfd, const char *final_name,
		    deb_progress_fn progress, void *userdata, int *ret_fd, struct err *err)
{
	_cleanup_(tmpdir_release) struct tmpdir t = {.parent = cache_dfd, .dfd = -1};
	int r = tmpdir_make(cache_dfd, &t, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *spec = xasprintf("%s:%s=%s", p->name, p->arch, p->version);
	char *argv[12];
	size_t argc = 0;
	argv[argc++] = (char *)"apt-get";
	argv[argc++] = (char *)"-q";
	/* As root apt drops to _apt for downloads and warns that _apt cannot
	 * write our private 0700 directory; the download is verified against
	 * the lock's digest anyway, so stay root. */
	if (geteuid() == 0) {
		argv[argc++] = (char *)"-o";
		argv[argc++] = (char *)"APT::Sandbox::User=root";
	}
	argv[argc++] = (char *)"download";
	argv[argc++] = (char *)"--";
	argv[argc++] = spec;
	argv[argc] = NULL;

	_cleanup_buf_ struct buf errout = BUF_INIT;
	struct proc_opts po = {.cwd_dfd = t.dfd, .out_err = &errout};
	r = proc_run_capture(argv, &po, NULL, err);
	if (r < 0)
		return err_prefix(err, "apt-get download %s", spec);
	if (r != 0) {
		if (no_longer_available(errout.data))
			return err_set(err, -ENOENT,
				       "package %s version %s is no longer available from the "
				       "configured apt sources; run 'airlock lock RECIPE' to relock",
				       p->name, p->version);
		_cleanup_buf_ struct buf e = BUF_INIT;
		collect_lines(errout.data, "E: ", &e);
		return err_set(err, -EIO, "apt-get download %s failed (exit %d): %s", spec, r,
			       e.len ? e.data : "no message");
	}
	char name[512];
	_cleanup_close_ int fd = open_downloaded(t.dfd, name, sizeof name, err);
	if (fd < 0)
		return fd;
	char hex[DIGEST_HEX_LEN + 1];
	uint64_t size = 0;
	r = hash_fd(fd, hex, &size, name, err);
	if (r < 0)
		return r;
	if (strcmp(hex, p->sha256) != 0)
		return err_set(err, -EBADMSG,
			       "package %s version %s: downloaded .deb has sha256 %s, the lock "
			       "expects %s",
			       p->name, p->version, hex, p->sha256);
	if (size != p->size)
		return err_set(err, -EBADMSG,
			       "package %s version %s: downloaded .deb has %" PRIu64
			       " bytes, the lock expects %" PRIu64,
			       p->name, p->version, size, p->size);
	if (fsync(fd) < 0)
		return err_errno(err, "fsync %s", name);
	if (renameat2(t.dfd, name, cache_dfd, final_name, RENAME_NOREPLACE) < 0 &&
	    errno != EEXIST)
		return err_errno(err, "rename %s into the deb cache", name);
	/* EEXIST: a concurrent fetch of the same digest won; ours is just as
	 * good (verified above) and the temp dir goes away with it. */
	r = fs_fsync(cache_dfd);
	if (r < 0)
		return err_code(err, r, "fsync deb cache");
	if (progress)
		progress(p->name, size, userdata);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int deb_fetch(const struct deb_pkg *p, int cache_dfd, deb_progress_fn progress,
	      void *userdata, int *ret_fd, struct err *err)
{
	const char *bad = pkg_invalid_field(p);
	if (bad)
		return err_set(err, -EINVAL, "fetch %s: invalid %s", p->name ? p->name : "package",
			       bad);
	char final_name[DIGEST_HEX_LEN + 5];
	snprintf(final_name, sizeof final_name, "%s.deb", p->sha256);

	_cleanup_close_ int fd = openat(cache_dfd, final_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		char hex[DIGEST_HEX_LEN + 1];
		uint64_t size = 0;
		int r = hash_fd(fd, hex, &size, final_name, err);
		if (r < 0)
			return r;
		if (!strcmp(hex, p->sha256) && size == p->size) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
		/* A cached file that no longer matches its name (bit rot, a
		 * torn copy): drop it and download again. */
		if (unlinkat(cache_dfd, final_name, 0) < 0 && errno != ENOENT)
			return err_errno(err, "remove corrupt cache file %s", final_name);
	} else if (errno != ENOENT) {
		return err_errno(err, "open cached %s", final_name);
	}
	return download(p, cache_dfd, final_name, progress, userdata, ret_fd, err);
}

/* Moves every .deb in t whose digest one of l's missing packages wants
 * into the cache under its digest; anything else is left to be removed
 * with t. */
static void adopt_downloads(const struct deb_lock *l, struct tmpdir *t, int cache_dfd,
			    deb_progress_fn progress, void *userdata)
{
	int dup_fd = fcntl(t->dfd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return;
	DIR *d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= 4 || strcmp(de->d_name + n - 4, ".deb"))
			continue;
		_cleanup_close_ int fd = openat(t->dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char hex[DIGEST_HEX_LEN + 1];
		uint64_t size = 0;
		if (fd < 0 || hash_fd(fd, hex, &size, de->d_name, NULL) < 0)
			continue;
		for (size_t i = 0; i < l->n; i++) {
			if (strcmp(l->pkgs[i].sha256, hex) || l->pkgs[i].size != size)
				continue;
			char final_name[DIGEST_HEX_LEN + 5];
			snprintf(final_name, sizeof final_name, "%s.deb", hex);
			if (fsync(fd) == 0 &&
			    renameat2(t->dfd, de->d_name, cache_dfd, final_name, RENAME_NOREPLACE) == 0 &&
			    progress)
				progress(l->pkgs[i].name, size, userdata);
			break;
		}
	}
	closedir(d);
	fs_fsync(cache_dfd);
}

int deb_prefetch(const struct deb_lock *l, int cache_dfd, deb_progress_fn progress,
		 void *userdata, struct err *err)
{
	char **specs = xcalloc(l->n + 8, sizeof *specs);
	size_t argc = 0, missing = 0;
	specs[argc++] = xstrdup("apt-get");
	specs[argc++] = xstrdup("-q");
	if (geteuid() == 0) {
		specs[argc++] = xstrdup("-o");
		specs[argc++] = xstrdup("APT::Sandbox::User=root");
	}
	specs[argc++] = xstrdup("download");
	specs[argc++] = xstrdup("--");
	for (size_t i = 0; i < l->n; i++) {
		const struct deb_pkg *p = &l->pkgs[i];
		char final_name[DIGEST_HEX_LEN + 5];
		if (pkg_invalid_field(p))
			continue; /* deb_fetch reports it */
		snprintf(final_name, sizeof final_name, "%s.deb", p->sha256);
		if (faccessat(cache_dfd, final_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		specs[argc++] = xasprintf("%s:%s=%s", p->name, p->arch, p->version);
		missing++;
	}
	int r = 0;
	if (missing > 1) {
		_cleanup_(tmpdir_release) struct tmpdir t = {.parent = cache_dfd, .dfd = -1};
		r = tmpdir_make(cache_dfd, &t, err);
		if (r == 0) {
			_cleanup_buf_ struct buf errout = BUF_INIT;
			struct proc_opts po = {.cwd_dfd = t.dfd, .out_err = &errout};
			/* Whatever fails here is fetched (and reported) one by
			 * one by deb_fetch; this only saves apt-get round trips. */
			proc_run_capture(specs, &po, NULL, NULL);
			adopt_downloads(l, &t, cache_dfd, progress, userdata);
		}
	}
	for (size_t i = 0; i < argc; i++)
		free(specs[i]);
	free(specs);
	return r;
}

/* ---- unpack ----------------------------------------------------------- */

struct member_reader {
	struct archive *outer;
	char buf[1 << 16];
};

/* Feeds the inner (tar) reader from the current member of the outer (ar)
 * reader, so data.tar is never written anywhere or held whole. */
static la_ssize_t member_read(struct archive *inner, void *userdata, const void **ret_buf)
{
	struct member_reader *m = userdata;
	la_ssize_t n = archive_read_data(m->outer, m->buf, sizeof m->buf);
	if (n < 0) {
		archive_set_error(inner, EIO, "%s",
				  archive_error_string(m->outer) ?: "read error in .deb");
		return -1;
	}
	*ret_buf = m->buf;
	return n;
}

static int unpack_data(struct store *s, struct archive *outer, const char *member,
		       struct tree *root, const struct tartree_opts *opts, struct err *err)
{
	_cleanup_free_ struct member_reader *m = xmalloc(sizeof *m);
	m->outer = outer;
	_cleanup_(archive_read_freep) struct archive *inner = archive_read_new();
	if (!inner)
		abort();
	archive_read_support_filter_all(inner);
	archive_read_support_format_tar(inner);
	if (archive_read_open(inner, m, NULL, member_read, NULL) != ARCHIVE_OK)
		return err_set(err, -EINVAL, "%s: %s", member,
			       archive_error_string(inner) ?: "cannot open");
	int r = tartree_apply(s, inner, root, opts, err);
	if (r < 0)
		return err_prefix(err, "%s", member);
	return 0;
}

int deb_unpack(struct store *s, int deb_fd, struct tree *root, const struct tartree_opts *opts,
	       struct err *err)
{
	if (lseek(deb_fd, 0, SEEK_SET) < 0)
		return err_errno(err, "seek .deb");
	_cleanup_(archive_read_freep) struct archive *a = archive_read_new();
	if (!a)
		abort();
	archive_read_support_format_ar(a);
	if (archive_read_open_fd(a, deb_fd, 1 << 16) != ARCHIVE_OK)
		return err_set(err, -EINVAL, "not a .deb: %s",
			       archive_error_string(a) ?: "cannot open");
	bool first = true, have_data = false;
	for (;;) {
		struct archive_entry *e = NULL;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
			return err_set(err, -EINVAL, "not a valid .deb: %s",
				       archive_error_string(a) ?: "bad ar archive");
		const char *name = archive_entry_pathname(e);
		if (!name)
			return err_set(err, -EINVAL, "not a valid .deb: member without a name");
		if (first) {
			char ver[8] = {0};
			la_ssize_t n = strcmp(name, "debian-binary") == 0
					       ? archive_read_data(a, ver, sizeof ver - 1)
					       : -1;
			if (n != 4 || memcmp(ver, "2.0\n", 4) != 0)
				return err_set(err, -EINVAL,
					       "not a .deb in format 2.0 (first member must be "
					       "debian-binary holding \"2.0\")");
			first = false;
			continue;
		}
		if (!strncmp(name, "data.tar", 8)) {
			static const char *const ok[] = {"data.tar", "data.tar.gz", "data.tar.xz",
							 "data.tar.zst"};
			size_t i = 0;
			while (i < ARRAY_SIZE(ok) && strcmp(name, ok[i]))
				i++;
			if (i == ARRAY_SIZE(ok))
				return err_set(err, -EINVAL, ".deb member '%.64s' not supported",
					       name);
			if (have_data)
				return err_set(err, -EINVAL, ".deb has two data.tar members");
			have_data = true;
			int r = unpack_data(s, a, name, root, opts, err);
			if (r < 0)
				return r;
		}
		/* control.tar.* (maintainer scripts are never run) and "_*"
		 * members are ignored. */
	}
	if (!have_data)
		return err_set(err, -EINVAL, ".deb has no data.tar member");
	return 0;
}
