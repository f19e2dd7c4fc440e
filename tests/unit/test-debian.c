/* Unit tests for builder/debian against the real apt and deb.debian.org
 * (no mocks): resolving closures, missing packages, the lock format and
 * its strict parser, fetching with a digest-keyed cache (hit, corruption,
 * mismatch, withdrawn version) and unpacking busybox-static into a tree.
 * Tests that need apt lists skip with the reason when there are none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/debian.h"
#include "builder/proc.h"
#include "lib/tree.h"

#define FIXTURE_NAME "debian"
#define FIXTURE_FIELDS int cache_dfd;
#define FIXTURE_INIT debian_init
#define FIXTURE_FINI debian_fini
#include "tests/unit/fixture.h"

static bool apt_ok;
static char apt_reason[ERR_MSG_MAX];

#define NEED_APT()                                                   \
	do {                                                         \
		if (!apt_ok) {                                       \
			fprintf(stderr, "skip: %s\n", apt_reason);   \
			skip();                                      \
		}                                                    \
	} while (0)

static int debian_init(struct fixture *f)
{
	_cleanup_free_ char *cache = xasprintf("%s/cache", f->dir);
	if (mkdir(cache, 0755) < 0)
		return -1;
	f->cache_dfd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->cache_dfd < 0)
		return -1;
	return 0;
}

static void debian_fini(struct fixture *f)
{
	close(f->cache_dfd);
}

static int group_setup(void **state)
{
	(void)state;
	struct err err = {0};
	apt_ok = deb_apt_check(&err) == 0;
	snprintf(apt_reason, sizeof apt_reason, "%s", err.msg);
	if (getenv("AIRLOCK_TEST_STRICT") && !strcmp(getenv("AIRLOCK_TEST_STRICT"), "1") &&
	    !apt_ok) {
		fprintf(stderr, "AIRLOCK_TEST_STRICT=1 and %s\n", apt_reason);
		return -1;
	}
	return 0;
}

static void assert_pkg_sane(const struct deb_pkg *p)
{
	assert_non_null(p->name);
	assert_non_null(p->version);
	assert_non_null(p->arch);
	assert_non_null(p->sha256);
	assert_int_equal(strlen(p->sha256), 64);
	assert_int_equal(strspn(p->sha256, "0123456789abcdef"), 64);
	assert_true(p->size > 0);
	assert_int_equal(strncmp(p->filename, "pool/", 5), 0);
}

static void test_resolve_busybox(void **state)
{
	(void)state;
	NEED_APT();
	char *req[] = {(char *)"busybox-static"};
	_cleanup_deb_lock_ struct deb_lock l = {0};
	struct err err = {0};
	int r = deb_resolve(req, 1, &l, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.pkgs[0].name, "busybox-static");
	assert_pkg_sane(&l.pkgs[0]);
	assert_int_equal(l.n_requests, 1);
	assert_string_equal(l.requests[0], "busybox-static");

	/* Pinning the version it found resolves to the same lock. */
	_cleanup_free_ char *pinned = xasprintf("busybox-static=%s", l.pkgs[0].version);
	char *req2[] = {pinned};
	_cleanup_deb_lock_ struct deb_lock l2 = {0};
	assert_int_equal(deb_resolve(req2, 1, &l2, &err), 0);
	assert_int_equal(l2.n, 1);
	assert_string_equal(l2.pkgs[0].sha256, l.pkgs[0].sha256);
}

static void test_resolve_python(void **state)
{
	(void)state;
	NEED_APT();
	char *req[] = {(char *)"python3-minimal"};
	_cleanup_deb_lock_ struct deb_lock l = {0};
	struct err err = {0};
	int r = deb_resolve(req, 1, &l, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(r, 0);
	assert_true(l.n > 5);
	bool libc6 = false, self = false;
	for (size_t i = 0; i < l.n; i++) {
		assert_pkg_sane(&l.pkgs[i]);
		if (i > 0)
			assert_true(strcmp(l.pkgs[i - 1].name, l.pkgs[i].name) < 0);
		libc6 |= !strcmp(l.pkgs[i].name, "libc6");
		self |= !strcmp(l.pkgs[i].name, "python3-minimal");
	}
	assert_true(libc6);
	assert_true(self);
	/* Deterministic: a second resolution gives the same bytes. */
	_cleanup_deb_lock_ struct deb_lock l2 = {0};
	assert_int_equal(deb_resolve(req, 1, &l2, &err), 0);
	_cleanup_free_ char *j1 = deb_lock_to_json(&l);
	_cleanup_free_ char *j2 = deb_lock_to_json(&l2);
	assert_string_equal(j1, j2);
}

static void test_resolve_missing(void **state)
{
	(void)state;
	NEED_APT();
	char *req[] = {(char *)"busybox-static", (char *)"airlock-no-such-package"};
	_cleanup_deb_lock_ struct deb_lock l = {0};
	struct err err = {0};
	assert_int_equal(deb_resolve(req, 2, &l, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "'airlock-no-such-package'"));
	assert_non_null(strstr(err.msg, "not found"));
	assert_null(strstr(err.msg, "'busybox-static'"));
	assert_int_equal(l.n, 0);

	char *req2[] = {(char *)"busybox-static=0.0.airlock.none"};
	assert_true(deb_resolve(req2, 1, &l, &err) < 0);
	assert_non_null(strstr(err.msg, "0.0.airlock.none"));
	assert_non_null(strstr(err.msg, "'busybox-static'"));
}

static void test_resolve_invalid_request(void **state)
{
	(void)state;
	/* Never reaches apt: an option in disguise, shell syntax, junk. */
	const char *bad[] = {"-oDir::Etc=/tmp", "--help", "busybox; rm -rf /", "Busybox",
			     "a", "bash=", "bash=-1", "bash:", "bash:amd64:x", "",
			     "bash=1 2", "pkg/bookworm"};
	uint64_t before = proc_run_count();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *req[] = {(char *)bad[i]};
		_cleanup_deb_lock_ struct deb_lock l = {0};
		struct err err = {0};
		assert_int_equal(deb_resolve(req, 1, &l, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "invalid package request"));
	}
	assert_int_equal(proc_run_count(), before);
	assert_true(deb_request_valid("libstdc++6:amd64=12.2.0-14+deb12u1"));
	assert_true(deb_request_valid("busybox-static=1:1.35.0-4+deb12u1+b1"));
}

/* Without apt lists the message says what to do. APT_CONFIG points apt at
 * an empty lists directory (apt-config is real, nothing is mocked). */
static void test_resolve_no_lists(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *lists = xasprintf("%s/lists", f->dir);
	_cleanup_free_ char *conf = xasprintf("%s/apt.conf", f->dir);
	assert_int_equal(mkdir(lists, 0755), 0);
	FILE *c = fopen(conf, "we");
	assert_non_null(c);
	fprintf(c, "Dir::State::lists \"%s/\";\n", lists);
	fclose(c);
	const char *old = getenv("APT_CONFIG");
	_cleanup_free_ char *saved = old ? xstrdup(old) : NULL;
	setenv("APT_CONFIG", conf, 1);
	char *req[] = {(char *)"busybox-static"};
	_cleanup_deb_lock_ struct deb_lock l = {0};
	struct err err = {0};
	int r = deb_resolve(req, 1, &l, &err);
	if (saved)
		setenv("APT_CONFIG", saved, 1);
	else
		unsetenv("APT_CONFIG");
	if (r != -ENOENT && access("/usr/bin/apt-config", X_OK) != 0)
		skip();
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(err.msg, "run apt-get update"));
	assert_non_null(strstr(err.msg, lists));
}

static void make_lock(struct deb_lock *l)
{
	static const char *const names[] = {"alpha", "beta-1.0", "libc6"};
	l->n = 3;
	l->pkgs = xcalloc(3, sizeof *l->pkgs);
	for (size_t i = 0; i < 3; i++) {
		struct deb_pkg *p = &l->pkgs[i];
		p->name = xstrdup(names[i]);
		p->version = xasprintf("1:%zu.0-1+deb12u%zu", i, i);
		p->arch = xstrdup(i == 1 ? "all" : "amd64");
		p->sha256 = xasprintf("%064zx", i + 0xabc);
		p->filename = xasprintf("pool/main/x/%s_%zu_amd64.deb", names[i], i);
		p->size = 1000 + i;
	}
	l->n_requests = 2;
	l->requests = xcalloc(2, sizeof *l->requests);
	l->requests[0] = xstrdup("libc6");
	l->requests[1] = xstrdup("alpha=1:0.0-1+deb12u0");
}

static void test_lock_json_roundtrip(void **state)
{
	(void)state;
	_cleanup_deb_lock_ struct deb_lock l = {0};
	make_lock(&l);
	_cleanup_free_ char *j = deb_lock_to_json(&l);
	size_t n = strlen(j);
	assert_true(n > 2 && j[n - 1] == '\n' && j[n - 2] != '\n');
	assert_non_null(strstr(j, "\"version\": 1"));
	_cleanup_deb_lock_ struct deb_lock back = {0};
	struct err err = {0};
	int r = deb_lock_from_json(j, n, "test.lock", &back, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(back.n, 3);
	assert_int_equal(back.n_requests, 2);
	assert_string_equal(back.pkgs[2].name, "libc6");
	assert_string_equal(back.pkgs[1].arch, "all");
	assert_int_equal(back.pkgs[1].size, 1001);
	assert_string_equal(back.requests[1], "alpha=1:0.0-1+deb12u0");
	_cleanup_free_ char *j2 = deb_lock_to_json(&back);
	assert_string_equal(j, j2);
	/* Formatting is free: the same lock compact parses too. */
	const char *compact =
		"{\"version\":1,\"requests\":[],\"packages\":[{\"name\":\"ab\",\"version\":\"1\","
		"\"arch\":\"all\",\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
		"\",\"filename\":\"pool/a.deb\",\"size\":0}]}";
	_cleanup_deb_lock_ struct deb_lock c = {0};
	assert_int_equal(deb_lock_from_json(compact, strlen(compact), "c", &c, &err), 0);
	assert_int_equal(c.n, 1);
}

#define PKG(name, ver, arch, sha, file, size)                                          \
	"{\"name\":" name ",\"version\":" ver ",\"arch\":" arch ",\"sha256\":" sha        \
	",\"filename\":" file ",\"size\":" size "}"
#define H "\"0000000000000000000000000000000000000000000000000000000000000000\""
#define GOOD PKG("\"ab\"", "\"1.0\"", "\"amd64\"", H, "\"pool/a.deb\"", "1")
#define LOCK(pkgs, reqs) "{\"version\":1,\"packages\":[" pkgs "],\"requests\":[" reqs "]}"

static void test_lock_json_strict(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		LOCK(GOOD, "\"ab\"") "x",
		"{\"version\":2,\"packages\":[" GOOD "],\"requests\":[]}",
		"{\"version\":\"1\",\"packages\":[" GOOD "],\"requests\":[]}",
		"{\"version\":1,\"packages\":[" GOOD "]}",
		"{\"version\":1,\"packages\":[" GOOD "],\"requests\":[],\"extra\":0}",
		"{\"version\":1,\"version\":1,\"packages\":[" GOOD "],\"requests\":[]}",
		"{\"version\":1,\"packages\":{},\"requests\":[]}",
		LOCK(GOOD "," GOOD, ""),                                     /* duplicate */
		LOCK(PKG("\"zz\"", "\"1\"", "\"amd64\"", H, "\"p/a.deb\"", "1") "," GOOD, ""),
		LOCK(PKG("\"-oAPT::X=1\"", "\"1\"", "\"amd64\"", H, "\"p\"", "1"), ""),
		LOCK(PKG("\"AB\"", "\"1\"", "\"amd64\"", H, "\"p\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"-1\"", "\"amd64\"", H, "\"p\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"1 2\"", "\"amd64\"", H, "\"p\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"am d64\"", H, "\"p\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", "\"ABCD\"", "\"p\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"",
			 "\"000000000000000000000000000000000000000000000000000000000000000A\"",
			 "\"p\"", "1"),
		     ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", H, "\"../../etc/passwd\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", H, "\"/etc/passwd\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", H, "\"p\\u0000x\"", "1"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", H, "\"p\"", "-1"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", H, "\"p\"", "1.5"), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", H, "\"p\"", "\"1\""), ""),
		LOCK(PKG("\"ab\"", "\"1\"", "\"amd64\"", H, "\"p\"", "99999999999999999999999"), ""),
		"{\"version\":1,\"packages\":[{\"name\":\"ab\"}],\"requests\":[]}",
		LOCK(GOOD, "\"--help\""),
		LOCK(GOOD, "1"),
		LOCK("", "\"ab\""),
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_deb_lock_ struct deb_lock l = {0};
		struct err err = {0};
		int r = deb_lock_from_json(bad[i], strlen(bad[i]), "bad.lock", &l, &err);
		if (r != -EINVAL)
			fprintf(stderr, "case %zu accepted: %s\n", i, bad[i]);
		assert_int_equal(r, -EINVAL);
		assert_non_null(strstr(err.msg, "bad.lock"));
		assert_int_equal(l.n, 0);
	}
	_cleanup_deb_lock_ struct deb_lock ok = {0};
	struct err err = {0};
	const char *good = LOCK(GOOD, "\"ab\"");
	assert_int_equal(deb_lock_from_json(good, strlen(good), "good.lock", &ok, &err), 0);
}

static int resolve_one(const char *name, struct deb_lock *l)
{
	char *req[] = {(char *)name};
	struct err err = {0};
	int r = deb_resolve(req, 1, l, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	return r;
}

static void assert_fd_digest(int fd, const char *hex)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	_cleanup_free_ char *data = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
	struct digest d;
	char got[DIGEST_HEX_LEN + 1];
	digest_buffer(data, (size_t)st.st_size, &d);
	digest_to_hex(&d, got);
	assert_string_equal(got, hex);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* One apt-get call fetches every missing package; deb_fetch then hits the
 * cache for each. A second prefetch starts nothing. */
static void test_prefetch_batches(void **state)
{
	struct fixture *f = *state;
	NEED_APT();
	_cleanup_deb_lock_ struct deb_lock l = {0};
	struct err err = {0};
	char *req[] = {(char *)"libc6", (char *)"busybox-static"};
	assert_int_equal(deb_resolve(req, 2, &l, &err), 0);
	assert_true(l.n >= 3);
	uint64_t runs = proc_run_count();
	assert_int_equal(deb_prefetch(&l, f->cache_dfd, NULL, NULL, &err), 0);
	assert_int_equal(proc_run_count(), runs + 1);
	for (size_t i = 0; i < l.n; i++) {
		_cleanup_close_ int fd = -1;
		assert_int_equal(deb_fetch(&l.pkgs[i], f->cache_dfd, NULL, NULL, &fd, &err), 0);
		assert_fd_digest(fd, l.pkgs[i].sha256);
	}
	assert_int_equal(proc_run_count(), runs + 1);
	assert_int_equal(deb_prefetch(&l, f->cache_dfd, NULL, NULL, &err), 0);
	assert_int_equal(proc_run_count(), runs + 1);
}

static void test_fetch_cache(void **state)
{
	struct fixture *f = *state;
	NEED_APT();
	_cleanup_deb_lock_ struct deb_lock l = {0};
	assert_int_equal(resolve_one("busybox-static", &l), 0);
	const struct deb_pkg *p = &l.pkgs[0];
	struct err err = {0};

	_cleanup_close_ int fd = -1;
	uint64_t runs = proc_run_count();
	int r = deb_fetch(p, f->cache_dfd, NULL, NULL, &fd, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(proc_run_count(), runs + 1); /* apt-get download */
	assert_fd_digest(fd, p->sha256);
	_cleanup_free_ char *name = xasprintf("%s.deb", p->sha256);
	struct stat st;
	assert_int_equal(fstatat(f->cache_dfd, name, &st, 0), 0);
	assert_int_equal((uint64_t)st.st_size, p->size);

	/* Second fetch: a cache hit, no process started. */
	_cleanup_close_ int fd2 = -1;
	runs = proc_run_count();
	assert_int_equal(deb_fetch(p, f->cache_dfd, NULL, NULL, &fd2, &err), 0);
	assert_int_equal(proc_run_count(), runs);
	assert_fd_digest(fd2, p->sha256);

	/* Corrupt the cached file: detected, dropped and downloaded again. */
	{
		_cleanup_close_ int w = openat(f->cache_dfd, name, O_WRONLY | O_CLOEXEC);
		assert_true(w >= 0);
		assert_int_equal(pwrite(w, "XXXX", 4, 1000), 4);
	}
	_cleanup_close_ int fd3 = -1;
	runs = proc_run_count();
	assert_int_equal(deb_fetch(p, f->cache_dfd, NULL, NULL, &fd3, &err), 0);
	assert_int_equal(proc_run_count(), runs + 1);
	assert_fd_digest(fd3, p->sha256);

	/* No temp dirs left behind. */
	int dup_fd = fcntl(f->cache_dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fdopendir(dup_fd);
	assert_non_null(d);
	rewinddir(d);
	struct dirent *de;
	size_t entries = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			entries++;
			assert_string_equal(de->d_name, name);
		}
	closedir(d);
	assert_int_equal(entries, 1);
}

static void progress_cb(const char *what, uint64_t bytes, void *userdata)
{
	(void)what;
	*(uint64_t *)userdata += bytes;
}

static void test_fetch_mismatch_and_withdrawn(void **state)
{
	struct fixture *f = *state;
	NEED_APT();
	_cleanup_deb_lock_ struct deb_lock l = {0};
	assert_int_equal(resolve_one("busybox-static", &l), 0);
	struct deb_pkg p = l.pkgs[0];
	char *real_sha = p.sha256;
	p.sha256 = (char *)"1111111111111111111111111111111111111111111111111111111111111111";
	struct err err = {0};
	int fd = -1;
	assert_int_equal(deb_fetch(&p, f->cache_dfd, NULL, NULL, &fd, &err), -EBADMSG);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err.msg, p.sha256));
	assert_non_null(strstr(err.msg, real_sha));
	_cleanup_free_ char *bad_name = xasprintf("%s.deb", p.sha256);
	_cleanup_free_ char *good_name = xasprintf("%s.deb", real_sha);
	struct stat st;
	assert_true(fstatat(f->cache_dfd, bad_name, &st, 0) < 0);
	assert_true(fstatat(f->cache_dfd, good_name, &st, 0) < 0);

	p.sha256 = real_sha;
	p.version = (char *)"1:0.0.airlock-withdrawn";
	assert_int_equal(deb_fetch(&p, f->cache_dfd, NULL, NULL, &fd, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "busybox-static version 1:0.0.airlock-withdrawn is no "
					"longer available"));
	assert_non_null(strstr(err.msg, "airlock lock RECIPE"));

	/* A hostile lock entry never reaches apt. */
	p.version = (char *)"-oAPT::Get::Foo=1";
	uint64_t runs = proc_run_count();
	assert_int_equal(deb_fetch(&p, f->cache_dfd, NULL, NULL, &fd, &err), -EINVAL);
	assert_int_equal(proc_run_count(), runs);

	p.version = l.pkgs[0].version;
	uint64_t bytes = 0;
	assert_int_equal(deb_fetch(&p, f->cache_dfd, progress_cb, &bytes, &fd, &err), 0);
	assert_int_equal(bytes, p.size);
	close(fd);
}

static void test_unpack_busybox(void **state)
{
	struct fixture *f = *state;
	NEED_APT();
	_cleanup_deb_lock_ struct deb_lock l = {0};
	assert_int_equal(resolve_one("busybox-static", &l), 0);
	struct err err = {0};
	_cleanup_close_ int fd = -1;
	assert_int_equal(deb_fetch(&l.pkgs[0], f->cache_dfd, NULL, NULL, &fd, &err), 0);
	_cleanup_(tree_freep) struct tree *root = tree_new();
	int r = deb_unpack(f->s, fd, root, NULL, &err);
	if (r < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_int_equal(r, 0);
	struct tree_attr a;
	assert_int_equal(tree_get(root, f->s, "bin/busybox", &a, &err), 0);
	assert_int_equal(a.type, TREE_FILE);
	assert_int_equal(a.perm, 0755);
	assert_int_equal(a.uid, 0);
	assert_int_equal(a.gid, 0);
	assert_true(a.size > 1000000);
	_cleanup_buf_ struct buf head = BUF_INIT;
	assert_int_equal(store_get(f->s, &a.digest, a.size, &head, &err), 0);
	assert_memory_equal(head.data, "\x7f" "ELF", 4);
	/* Maintainer scripts are not unpacked. */
	assert_int_equal(tree_get(root, f->s, "postinst", &a, &err), -ENOENT);
	assert_int_equal(tree_get(root, f->s, "DEBIAN", &a, &err), -ENOENT);

	/* Same .deb, same tree digest (reproducible). */
	struct digest d1, d2;
	assert_int_equal(tree_write(root, f->s, &d1, &err), 0);
	_cleanup_(tree_freep) struct tree *root2 = tree_new();
	assert_int_equal(deb_unpack(f->s, fd, root2, NULL, &err), 0);
	assert_int_equal(tree_write(root2, f->s, &d2, &err), 0);
	assert_true(digest_equal(&d1, &d2));
}

static void test_unpack_not_a_deb(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *data;
		size_t len;
	} bad[] = {
		{"hello world, not an ar archive\n", 31},
		/* An ar archive whose first member is not debian-binary 2.0. */
		{"!<arch>\ndebian-binary   0           0     0     100644  4         `\n3.0\n",
		 8 + 60 + 4},
		/* debian-binary fine, no data.tar. */
		{"!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n",
		 8 + 60 + 4},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *path = xasprintf("%s/bad%zu.deb", f->dir, i);
		_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(fs_write_all(fd, bad[i].data, bad[i].len), 0);
		_cleanup_(tree_freep) struct tree *root = tree_new();
		struct err err = {0};
		assert_int_equal(deb_unpack(f->s, fd, root, NULL, &err), -EINVAL);
		assert_true(err.msg[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_invalid_request),
		cmocka_unit_test(test_lock_json_roundtrip),
		cmocka_unit_test(test_lock_json_strict),
		cmocka_unit_test(test_resolve_busybox),
		cmocka_unit_test(test_resolve_python),
		cmocka_unit_test(test_resolve_missing),
		cmocka_unit_test_setup_teardown(test_resolve_no_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefetch_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_mismatch_and_withdrawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpack_busybox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpack_not_a_deb, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
