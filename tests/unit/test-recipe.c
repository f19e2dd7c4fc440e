/* Unit tests for builder/recipe: every directive, continuation lines,
 * comments, quoting, canonical text (equal when the meaning is, different
 * when it is not) and malformed input with its exact "file:line:" error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/recipe.h"
#include "lib/err.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

static struct recipe *parse_ok(const char *text)
{
	struct err err = {0};
	struct recipe *r = NULL;
	int rc = recipe_parse(text, strlen(text), "t.recipe", &r, &err);
	if (rc != 0)
		fail_msg("unexpected error %d: %s\n--- input:\n%s", rc, err.msg, text);
	assert_non_null(r);
	return r;
}

/* Parses text and checks the error message starts with want. */
static void parse_err(const char *text, const char *want)
{
	struct err err = {0};
	struct recipe *r = NULL;
	int rc = recipe_parse(text, strlen(text), "t.recipe", &r, &err);
	if (rc == 0) {
		recipe_free(r);
		fail_msg("parsed, expected error '%s'\n--- input:\n%s", want, text);
	}
	assert_null(r);
	assert_int_equal(rc, err.code);
	if (strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("error mismatch\n   got: %s\n  want: %s...\n--- input:\n%s", err.msg, want,
			 text);
}

/* The canonical text of the last step of "FROM scratch\n" + step. */
static char *canon(const char *step)
{
	_cleanup_free_ char *text = xasprintf("FROM scratch\n%s\n", step);
	struct recipe *r = parse_ok(text);
	assert_int_equal(r->nsteps, 2);
	char *c = xstrdup(r->steps[1].canonical);
	recipe_free(r);
	return c;
}

static void assert_canon(const char *step, const char *want)
{
	_cleanup_free_ char *c = canon(step);
	if (strcmp(c, want) != 0)
		fail_msg("canonical of '%s'\n   got: %s\n  want: %s", step, c, want);
}

static void assert_same(const char *a, const char *b)
{
	_cleanup_free_ char *ca = canon(a);
	_cleanup_free_ char *cb = canon(b);
	if (strcmp(ca, cb) != 0)
		fail_msg("expected equal canonical text:\n  %s -> %s\n  %s -> %s", a, ca, b, cb);
}

static void assert_differ(const char *a, const char *b)
{
	_cleanup_free_ char *ca = canon(a);
	_cleanup_free_ char *cb = canon(b);
	if (strcmp(ca, cb) == 0)
		fail_msg("expected different canonical text:\n  %s\n  %s\n  both -> %s", a, b, ca);
}

static void test_every_directive(void **state)
{
	(void)state;
	struct recipe *r = parse_ok("# busybox\n"
				    "\n"
				    "FROM scratch\n"
				    "PACKAGES busybox-static=1:1.36.1-3 ca-certificates\n"
				    "COPY --mode=0755 --owner=0:0 files/init /sbin/init\n"
				    "RUN busybox --install -s /bin\n"
				    "RUN [\"/bin/true\", \"x\"]\n"
				    "ENV PATH=/bin:/sbin LANG=\"C.UTF-8\"\n"
				    "WORKDIR /home/user\n"
				    "USER 1000:100\n"
				    "LABEL org.opencontainers.image.title=busybox\n"
				    "CMD [\"/bin/sh\"]\n");
	assert_int_equal(r->nsteps, 10);
	assert_string_equal(r->name, "t");

	struct recipe_step *s = r->steps;
	assert_int_equal(s[0].op, RECIPE_FROM);
	assert_int_equal(s[0].line, 3);
	assert_int_equal(s[0].nargs, 1);
	assert_string_equal(s[0].args[0], "scratch");
	assert_string_equal(s[0].canonical, "FROM scratch");

	assert_int_equal(s[1].op, RECIPE_PACKAGES);
	assert_int_equal(s[1].nargs, 2);
	assert_string_equal(s[1].args[0], "busybox-static=1:1.36.1-3");
	assert_string_equal(s[1].args[1], "ca-certificates");
	assert_string_equal(s[1].canonical, "PACKAGES busybox-static=1:1.36.1-3 ca-certificates");

	assert_int_equal(s[2].op, RECIPE_COPY);
	assert_true(s[2].has_copy_mode);
	assert_int_equal(s[2].copy_mode, 0755);
	assert_true(s[2].has_copy_owner);
	assert_int_equal(s[2].copy_uid, 0);
	assert_int_equal(s[2].copy_gid, 0);
	assert_int_equal(s[2].nargs, 2);
	assert_string_equal(s[2].args[0], "files/init");
	assert_string_equal(s[2].args[1], "/sbin/init");
	assert_string_equal(s[2].canonical, "COPY --mode=0755 --owner=0:0 files/init /sbin/init");

	assert_int_equal(s[3].op, RECIPE_RUN);
	assert_int_equal(s[3].nargs, 3);
	assert_string_equal(s[3].args[0], "/bin/sh");
	assert_string_equal(s[3].args[1], "-c");
	assert_string_equal(s[3].args[2], "busybox --install -s /bin");
	assert_string_equal(s[3].canonical, "RUN [\"/bin/sh\",\"-c\",\"busybox --install -s /bin\"]");

	assert_int_equal(s[4].nargs, 2);
	assert_string_equal(s[4].args[0], "/bin/true");
	assert_string_equal(s[4].args[1], "x");
	assert_string_equal(s[4].canonical, "RUN [\"/bin/true\",\"x\"]");

	assert_int_equal(s[5].op, RECIPE_ENV);
	assert_int_equal(s[5].nargs, 0);
	assert_int_equal(s[5].nkvs, 2);
	assert_string_equal(s[5].kvs[0].key, "LANG"); /* sorted */
	assert_string_equal(s[5].kvs[0].value, "C.UTF-8");
	assert_string_equal(s[5].kvs[1].key, "PATH");
	assert_string_equal(s[5].kvs[1].value, "/bin:/sbin");
	assert_string_equal(s[5].canonical, "ENV LANG=\"C.UTF-8\" PATH=\"/bin:/sbin\"");

	assert_int_equal(s[6].op, RECIPE_WORKDIR);
	assert_string_equal(s[6].args[0], "/home/user");
	assert_string_equal(s[6].canonical, "WORKDIR /home/user");

	assert_int_equal(s[7].op, RECIPE_USER);
	assert_int_equal(s[7].uid, 1000);
	assert_int_equal(s[7].gid, 100);
	assert_string_equal(s[7].args[0], "1000:100");
	assert_string_equal(s[7].canonical, "USER 1000:100");

	assert_int_equal(s[8].op, RECIPE_LABEL);
	assert_int_equal(s[8].nkvs, 1);
	assert_string_equal(s[8].kvs[0].key, "org.opencontainers.image.title");
	assert_string_equal(s[8].canonical, "LABEL org.opencontainers.image.title=\"busybox\"");

	assert_int_equal(s[9].op, RECIPE_CMD);
	assert_int_equal(s[9].nargs, 1);
	assert_string_equal(s[9].canonical, "CMD [\"/bin/sh\"]");
	assert_int_equal(s[9].line, 12);
	recipe_free(r);
}

static void test_from_forms(void **state)
{
	(void)state;
	static const char *const ok[] = {
		"FROM scratch",
		"FROM busybox",
		"FROM debian-base:bookworm_1.2",
		"FROM sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"FROM oci-archive:images/base.tar",
		"FROM docker-archive:/tmp/x.tar",
		"from scratch",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct recipe *r = parse_ok(ok[i]);
		assert_int_equal(r->nsteps, 1);
		assert_string_equal(r->steps[0].args[0], ok[i] + 5);
		recipe_free(r);
	}
}

static void test_continuation_and_comments(void **state)
{
	(void)state;
	struct recipe *r = parse_ok("FROM scratch\n"
				    "RUN apt-get install \\\n"
				    "# a comment inside is skipped\n"
				    "\n"
				    "  foo \\   \n"
				    "  bar\n"
				    "  # indented comment\n"
				    "PACKAGES a1 \\\r\n"
				    " b2\r\n"
				    "ENV A=1 \\\n"
				    "    B=\"two words\"\n");
	assert_int_equal(r->nsteps, 4);
	assert_int_equal(r->steps[1].line, 2);
	/* The backslash and blanks after it go; the next line is appended as
	 * it is (Dockerfile rules). */
	assert_string_equal(r->steps[1].args[2], "apt-get install   foo   bar");
	assert_int_equal(r->steps[2].line, 8);
	assert_string_equal(r->steps[2].canonical, "PACKAGES a1 b2");
	assert_int_equal(r->steps[3].line, 10);
	assert_string_equal(r->steps[3].canonical, "ENV A=\"1\" B=\"two words\"");
	recipe_free(r);

	/* No trailing newline at the end of the file. */
	r = parse_ok("FROM scratch\nRUN true");
	assert_string_equal(r->steps[1].args[2], "true");
	recipe_free(r);
}

static void test_case_insensitive_keywords(void **state)
{
	(void)state;
	struct recipe *r = parse_ok("From scratch\npackages vim\nRun true\nenv A=b\ncMd [\"x\"]\n");
	assert_int_equal(r->steps[1].op, RECIPE_PACKAGES);
	assert_string_equal(r->steps[1].canonical, "PACKAGES vim");
	assert_string_equal(r->steps[2].canonical, "RUN [\"/bin/sh\",\"-c\",\"true\"]");
	assert_string_equal(r->steps[3].canonical, "ENV A=\"b\"");
	assert_string_equal(r->steps[4].canonical, "CMD [\"x\"]");
	recipe_free(r);
}

static void test_quoting(void **state)
{
	(void)state;
	struct recipe *r = parse_ok("FROM scratch\n"
				    "ENV Q=\"say \\\"hi\\\" \\\\o/\" E= F=\"\" T=\"a\tb\"\n");
	struct recipe_step *s = &r->steps[1];
	assert_int_equal(s->nkvs, 4);
	assert_string_equal(s->kvs[0].key, "E");
	assert_string_equal(s->kvs[0].value, "");
	assert_string_equal(s->kvs[1].key, "F");
	assert_string_equal(s->kvs[1].value, "");
	assert_string_equal(s->kvs[2].key, "Q");
	assert_string_equal(s->kvs[2].value, "say \"hi\" \\o/");
	assert_string_equal(s->kvs[3].value, "a\tb");
	assert_string_equal(s->canonical,
			    "ENV E=\"\" F=\"\" Q=\"say \\\"hi\\\" \\\\o/\" T=\"a\\u0009b\"");
	recipe_free(r);

	/* Exec form strings with escapes and non-ASCII. */
	assert_canon("RUN [\"echo\", \"a\\\"b\", \"\\u00e9\\n\"]",
		     "RUN [\"echo\",\"a\\\"b\",\"\xc3\xa9\\u000a\"]");
	/* Shell text keeps any byte but NUL and newline. */
	assert_canon("RUN printf '\xff\\\\'", "RUN [\"/bin/sh\",\"-c\",\"printf '\xff\\\\\\\\'\"]");
}

static void test_copy(void **state)
{
	(void)state;
	struct recipe *r = parse_ok("FROM scratch\n"
				    "COPY ./a//b/. c/ d /opt/x/./\n"
				    "COPY --owner=7 . /\n"
				    "COPY --owner=7 x /y/.\n");
	struct recipe_step *s = &r->steps[1];
	assert_false(s->has_copy_mode);
	assert_false(s->has_copy_owner);
	assert_int_equal(s->nargs, 4);
	assert_string_equal(s->args[0], "a/b");
	assert_string_equal(s->args[1], "c");
	assert_string_equal(s->args[2], "d");
	assert_string_equal(s->args[3], "/opt/x/");
	assert_string_equal(s->canonical, "COPY a/b c d /opt/x/");
	s = &r->steps[2];
	assert_true(s->has_copy_owner);
	assert_int_equal(s->copy_uid, 7);
	assert_int_equal(s->copy_gid, 7);
	assert_string_equal(s->canonical, "COPY --owner=7:7 . /");
	assert_string_equal(r->steps[3].args[1], "/y/");
	recipe_free(r);

	/* Options in either order give the same canonical text. */
	assert_same("COPY --owner=1:2 --mode=644 a /b", "COPY --mode=0644 --owner=1:2 a /b");
	assert_canon("COPY --mode=4755 a /b", "COPY --mode=4755 a /b");
	assert_canon("COPY --mode=0 a /b", "COPY --mode=0000 a /b");
	/* A name starting with '-' but not "--" is a path. */
	assert_canon("COPY -x /b", "COPY -x /b");
}

static void test_packages(void **state)
{
	(void)state;
	static const char *const ok[] = {
		"PACKAGES libc6=2.36-9+deb12u4",
		"PACKAGES g++ libstdc++6 python3.11",
		"PACKAGES a0=1.0~rc1",
		"PACKAGES x1=1:2:3-4",
		"PACKAGES x1=1.2-3-4",
		"PACKAGES x1=20240101",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		free(canon(ok[i]));

	size_t n;
	assert_null(recipe_package_split("vim", &n));
	assert_int_equal(n, 3);
	const char *v = recipe_package_split("vim=2:9.0-1", &n);
	assert_int_equal(n, 3);
	assert_string_equal(v, "2:9.0-1");

	/* PACKAGES may repeat. */
	struct recipe *r = parse_ok("FROM scratch\nPACKAGES aa\nPACKAGES bb\nPACKAGES aa\n");
	assert_int_equal(r->nsteps, 4);
	recipe_free(r);
}

static void test_canonical_equal(void **state)
{
	(void)state;
	assert_same("PACKAGES  a1\t b2=1.0 ", "packages a1 b2=1.0");
	assert_same("RUN   echo hi   ", "RUN echo hi");
	assert_same("RUN echo hi", "RUN [\"/bin/sh\", \"-c\", \"echo hi\"]");
	assert_same("RUN [ \"a\" ]", "RUN [\"a\"]");
	assert_same("CMD echo hi", "CMD [\"/bin/sh\",\"-c\",\"echo hi\"]");
	assert_same("ENV B=2 A=1", "ENV A=\"1\"   B=2");
	assert_same("LABEL b=2 a=\"1\"", "LABEL a=1 b=2");
	assert_same("USER 7", "USER 007:7");
	assert_same("WORKDIR /a//b/./", "WORKDIR /a/b");
	assert_same("COPY ./x /y", "COPY x /y");
	assert_same("COPY x/ /y", "COPY x /y");
	assert_same("COPY --owner=5 x /y", "COPY --owner=5:5 x /y");
	assert_same("COPY a b /y/", "COPY a b /y//");
	/* The examples of docs/RECIPES.md. */
	assert_same("COPY --owner=5 --mode=644 ./x/ /y", "COPY --mode=0644 --owner=5:5 x /y");
	assert_canon("COPY --owner=5 --mode=644 ./x/ /y", "COPY --mode=0644 --owner=5:5 x /y");
	assert_canon("ENV B=2  A=1", "ENV A=\"1\" B=\"2\"");
	assert_canon("USER 007:7", "USER 7:7");
	assert_canon("RUN echo hi", "RUN [\"/bin/sh\",\"-c\",\"echo hi\"]");
}

static void test_canonical_differs(void **state)
{
	(void)state;
	assert_differ("RUN echo  hi", "RUN echo hi");
	assert_differ("RUN echo hi", "CMD echo hi");
	assert_differ("RUN [\"echo hi\"]", "RUN [\"echo\",\"hi\"]");
	assert_differ("RUN echo hi", "RUN [\"sh\",\"-c\",\"echo hi\"]");
	assert_differ("PACKAGES a1 b1", "PACKAGES b1 a1");
	assert_differ("PACKAGES a1", "PACKAGES a1=1.0");
	assert_differ("COPY x /y", "COPY x /y/");
	assert_differ("COPY x /y", "COPY --mode=0644 x /y");
	assert_differ("COPY x /y", "COPY --owner=0 x /y");
	assert_differ("COPY a b /y/", "COPY b a /y/");
	assert_differ("ENV A=\"x B=y\"", "ENV A=x B=y");
	assert_differ("ENV A=\"\\\"\"", "ENV A=\"\\\\\"");
	assert_differ("ENV A=1", "LABEL A=1");
	assert_differ("ENV A=1", "ENV A=2");
	assert_differ("ENV A=", "ENV A=\" \"");
	assert_differ("USER 1:2", "USER 2:1");
	assert_differ("WORKDIR /a", "WORKDIR /A");
}

struct bad {
	const char *text;
	const char *want;
};

static void test_malformed(void **state)
{
	(void)state;
	static const struct bad bad[] = {
		/* structure */
		{"", "t.recipe:1: expected FROM, found end of file"},
		{"# only a comment\n\n", "t.recipe:2: expected FROM, found end of file"},
		{"FORM scratch\n", "t.recipe:1: unknown directive 'FORM' (expected FROM, PACKAGES, COPY, "
				   "RUN, ENV, WORKDIR, USER, LABEL or CMD)"},
		{"FROM scratch\nADD x /y\n", "t.recipe:2: unknown directive 'ADD' (expected FROM"},
		{"FROM scratch\n\x1b[31m x\n", "t.recipe:2: unknown directive '\\x1b[31m' "},
		{"RUN true\nFROM scratch\n",
		 "t.recipe:1: expected FROM as the first directive, found RUN"},
		{"FROM scratch\nRUN x\nFROM busybox\n",
		 "t.recipe:3: FROM: only one FROM is allowed (the first is at line 1)"},
		{"FROM scratch\nCMD a\n\nCMD b\n",
		 "t.recipe:4: CMD: only one CMD is allowed (the first is at line 2)"},
		{"FROM scratch\nUSER 1\nUSER 2\n",
		 "t.recipe:3: USER: only one USER is allowed (the first is at line 2)"},
		{"FROM scratch\nRUN a \\\n", "t.recipe:2: expected a line after the continuation"},
		{"FROM scratch\nRUN a \\\n# c\n\n", "t.recipe:4: expected a line after the continuation"},
		{"FROM scratch\n\nRUN a\nRUN \\\n b\x00\n", "t.recipe:5: NUL byte in recipe"},
		/* FROM */
		{"FROM\n", "t.recipe:1: FROM: expected exactly one image reference"},
		{"FROM a b\n", "t.recipe:1: FROM: expected exactly one image reference"},
		{"FROM sha256:abc\n", "t.recipe:1: FROM: invalid digest 'sha256:abc' (expected sha256:<64 "
				      "lowercase hex>)"},
		{"FROM sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n",
		 "t.recipe:1: FROM: invalid digest"},
		{"FROM oci-archive:\n", "t.recipe:1: FROM: expected a path after 'oci-archive:'"},
		{"FROM docker://debian\n", "t.recipe:1: FROM: invalid image reference 'docker://debian'"},
		{"FROM Debian\n", "t.recipe:1: FROM: invalid image reference 'Debian'"},
		{"FROM a:\n", "t.recipe:1: FROM: invalid image reference 'a:'"},
		/* PACKAGES */
		{"FROM scratch\nPACKAGES\n",
		 "t.recipe:2: PACKAGES: expected at least one package name[=version]"},
		{"FROM scratch\nPACKAGES Vim\n",
		 "t.recipe:2: PACKAGES: invalid package name 'Vim' (expected [a-z0-9][a-z0-9+.-]+)"},
		{"FROM scratch\nPACKAGES a\n", "t.recipe:2: PACKAGES: invalid package name 'a'"},
		{"FROM scratch\nPACKAGES -ab\n", "t.recipe:2: PACKAGES: invalid package name '-ab'"},
		{"FROM scratch\nPACKAGES =1.0\n", "t.recipe:2: PACKAGES: invalid package name ''"},
		{"FROM scratch\nPACKAGES vim=\n",
		 "t.recipe:2: PACKAGES: invalid version '' for package 'vim'"},
		{"FROM scratch\nPACKAGES vim=abc\n",
		 "t.recipe:2: PACKAGES: invalid version 'abc' for package 'vim'"},
		{"FROM scratch\nPACKAGES vim=1.0-\n", "t.recipe:2: PACKAGES: invalid version '1.0-'"},
		{"FROM scratch\nPACKAGES vim=x:1.0\n", "t.recipe:2: PACKAGES: invalid version 'x:1.0'"},
		{"FROM scratch\nPACKAGES vim=:1.0\n", "t.recipe:2: PACKAGES: invalid version ':1.0'"},
		{"FROM scratch\nPACKAGES vim=1:2.0-a_b\n", "t.recipe:2: PACKAGES: invalid version"},
		{"FROM scratch\nPACKAGES vim=1.0=2\n", "t.recipe:2: PACKAGES: invalid version '1.0=2'"},
		{"FROM scratch\nPACKAGES vim=1.0:2\n", "t.recipe:2: PACKAGES: invalid version '1.0:2'"},
		{"FROM scratch\nPACKAGES vim xx vim=1.0\n",
		 "t.recipe:2: PACKAGES: package 'vim' is listed twice"},
		/* COPY */
		{"FROM scratch\nCOPY\n",
		 "t.recipe:2: COPY: expected at least one source and a destination"},
		{"FROM scratch\nCOPY /dst\n",
		 "t.recipe:2: COPY: expected at least one source and a destination"},
		{"FROM scratch\nCOPY --mode=0644 a\n",
		 "t.recipe:2: COPY: expected at least one source and a destination"},
		{"FROM scratch\nCOPY /etc/passwd /x\n",
		 "t.recipe:2: COPY: source '/etc/passwd' must be relative to the recipe's directory"},
		{"FROM scratch\nCOPY ../secret /x\n",
		 "t.recipe:2: COPY: source '../secret' must not contain a '..' component (sources stay "
		 "inside the recipe's directory)"},
		{"FROM scratch\nCOPY a/../../b /x\n", "t.recipe:2: COPY: source 'a/../../b' must not"},
		{"FROM scratch\nCOPY a/.. /x\n", "t.recipe:2: COPY: source 'a/..' must not"},
		{"FROM scratch\nCOPY a x\n",
		 "t.recipe:2: COPY: destination 'x' must be an absolute path in the image"},
		{"FROM scratch\nCOPY a /x/../y\n",
		 "t.recipe:2: COPY: destination '/x/../y' must not contain a '..' component"},
		{"FROM scratch\nCOPY a b /x\n",
		 "t.recipe:2: COPY: with several sources the destination must end in '/'"},
		{"FROM scratch\nCOPY --chown=0 a /x\n",
		 "t.recipe:2: COPY: unknown option '--chown=0' (expected --mode=OCTAL or "
		 "--owner=UID[:GID])"},
		{"FROM scratch\nCOPY --mode=0888 a /x\n", "t.recipe:2: COPY: invalid --mode '0888'"},
		{"FROM scratch\nCOPY --mode=10000 a /x\n", "t.recipe:2: COPY: invalid --mode '10000'"},
		{"FROM scratch\nCOPY --mode= a /x\n", "t.recipe:2: COPY: invalid --mode ''"},
		{"FROM scratch\nCOPY --mode=1 --mode=2 a /x\n", "t.recipe:2: COPY: --mode given twice"},
		{"FROM scratch\nCOPY --owner=root a /x\n",
		 "t.recipe:2: COPY: invalid --owner 'root' (expected numeric UID[:GID])"},
		{"FROM scratch\nCOPY --owner=1: a /x\n", "t.recipe:2: COPY: invalid --owner '1:'"},
		{"FROM scratch\nCOPY --owner=4294967295 a /x\n",
		 "t.recipe:2: COPY: invalid --owner '4294967295'"},
		{"FROM scratch\nCOPY --owner=1 --owner=1 a /x\n", "t.recipe:2: COPY: --owner given twice"},
		{"FROM scratch\nCOPY a\x01 /x\n",
		 "t.recipe:2: COPY: source 'a\\x01' contains a control character"},
		/* RUN, CMD */
		{"FROM scratch\nRUN\n", "t.recipe:2: RUN: expected a command"},
		{"FROM scratch\nRUN   \t \n", "t.recipe:2: RUN: expected a command"},
		{"FROM scratch\nRUN []\n", "t.recipe:2: RUN: expected a non-empty JSON array of strings"},
		{"FROM scratch\nRUN [\"a\", 1]\n",
		 "t.recipe:2: RUN: element 2 of the JSON array is not a string"},
		{"FROM scratch\nRUN [\"a\", 'b']\n", "t.recipe:2: RUN: invalid JSON array: "},
		{"FROM scratch\nRUN [\"a\"] x\n", "t.recipe:2: RUN: invalid JSON array: "},
		{"FROM scratch\nRUN [\"a\\u0000\"]\n", "t.recipe:2: RUN: invalid JSON array: "},
		{"FROM scratch\nRUN [\"\", \"x\"]\n",
		 "t.recipe:2: RUN: the program name (element 1) is empty"},
		{"FROM scratch\nCMD [\"a\", [\"b\"]]\n",
		 "t.recipe:2: CMD: element 2 of the JSON array is not a string"},
		{"FROM scratch\nCMD\n", "t.recipe:2: CMD: expected a command"},
		/* ENV, LABEL */
		{"FROM scratch\nENV\n", "t.recipe:2: ENV: expected at least one KEY=VALUE"},
		{"FROM scratch\nENV A 1\n", "t.recipe:2: ENV: expected KEY=VALUE, found 'A'"},
		{"FROM scratch\nENV 1A=x\n",
		 "t.recipe:2: ENV: invalid key '1A' (expected [A-Za-z_][A-Za-z0-9_]*)"},
		{"FROM scratch\nENV A-B=x\n", "t.recipe:2: ENV: invalid key 'A-B'"},
		{"FROM scratch\nENV =x\n", "t.recipe:2: ENV: invalid key ''"},
		{"FROM scratch\nENV A=\"x\n", "t.recipe:2: ENV: unterminated quoted value of 'A'"},
		{"FROM scratch\nENV A=\"x\\\"\n", "t.recipe:2: ENV: unterminated quoted value of 'A'"},
		{"FROM scratch\nENV A=\"\\n\"\n",
		 "t.recipe:2: ENV: invalid escape in the value of 'A' (only \\\" and \\\\ are allowed)"},
		{"FROM scratch\nENV A=\"x\"y\n",
		 "t.recipe:2: ENV: expected a blank after the closing quote of 'A'"},
		{"FROM scratch\nENV A=x\"y\"\n",
		 "t.recipe:2: ENV: the value of 'A' must be double-quoted to contain '\"' or '\\'"},
		{"FROM scratch\nENV A=1 B=2 A=3\n", "t.recipe:2: ENV: 'A' is set twice"},
		{"FROM scratch\nLABEL .x=1\n",
		 "t.recipe:2: LABEL: invalid key '.x' (expected [A-Za-z0-9][A-Za-z0-9._/-]*)"},
		{"FROM scratch\nLABEL a=1 a=2\n", "t.recipe:2: LABEL: 'a' is set twice"},
		/* WORKDIR, USER */
		{"FROM scratch\nWORKDIR\n", "t.recipe:2: WORKDIR: expected one absolute path"},
		{"FROM scratch\nWORKDIR rel\n", "t.recipe:2: WORKDIR: expected one absolute path"},
		{"FROM scratch\nWORKDIR /a /b\n", "t.recipe:2: WORKDIR: expected one absolute path"},
		{"FROM scratch\nWORKDIR /a/..\n",
		 "t.recipe:2: WORKDIR: path '/a/..' must not contain a '..' component"},
		{"FROM scratch\nUSER\n", "t.recipe:2: USER: expected one numeric UID[:GID]"},
		{"FROM scratch\nUSER nobody\n",
		 "t.recipe:2: USER: invalid user 'nobody' (expected numeric UID[:GID], at most "
		 "4294967294)"},
		{"FROM scratch\nUSER -1\n", "t.recipe:2: USER: invalid user '-1'"},
		{"FROM scratch\nUSER 1:2:3\n", "t.recipe:2: USER: invalid user '1:2:3'"},
		{"FROM scratch\nUSER 99999999999\n", "t.recipe:2: USER: invalid user '99999999999'"},
		{"FROM scratch\nUSER 1 2\n", "t.recipe:2: USER: expected one numeric UID[:GID]"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		/* A NUL inside the text needs its length: the one case above
		 * ends right after "b\0". */
		if (strstr(bad[i].want, "NUL byte")) {
			struct err err = {0};
			struct recipe *r = NULL;
			const char *t = bad[i].text;
			size_t len = strlen(t) + 2;
			assert_int_equal(recipe_parse(t, len, "t.recipe", &r, &err), -EINVAL);
			assert_string_equal(err.msg, bad[i].want);
			continue;
		}
		parse_err(bad[i].text, bad[i].want);
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct err err = {0};
	struct recipe *r = NULL;

	/* A logical line of exactly 64 KiB is fine, one more byte is not,
	 * also when it is made of continued lines. */
	size_t n = RECIPE_MAX_LINE;
	char *t = xmalloc(2 * n);
	int k = snprintf(t, 64, "FROM scratch\nRUN ");
	memset(t + k, 'x', n - 4);
	strcpy(t + k + n - 4, "\n");
	assert_int_equal(recipe_parse(t, strlen(t), "t.recipe", &r, &err), 0);
	recipe_free(r);
	r = NULL;
	memset(t + k, 'x', n - 3);
	strcpy(t + k + n - 3, "\n");
	assert_int_equal(recipe_parse(t, strlen(t), "t.recipe", &r, &err), -EINVAL);
	assert_string_equal(err.msg, "t.recipe:2: line longer than 64 KiB");
	/* 17 + 40000 + 2 + 30000 bytes: each physical line is short. */
	k = snprintf(t, 64, "FROM scratch\nRUN ");
	memset(t + k, 'x', 40000);
	memcpy(t + k + 40000, "\\\n", 2);
	memset(t + k + 40002, 'y', 30000);
	t[k + 70002] = '\0';
	assert_int_equal(recipe_parse(t, strlen(t), "t.recipe", &r, &err), -EINVAL);
	assert_string_equal(err.msg, "t.recipe:3: line longer than 64 KiB");
	free(t);

	/* The whole recipe: at most 1 MiB. */
	n = RECIPE_MAX_SIZE + 1;
	t = xmalloc(n);
	memset(t, '#', n);
	assert_int_equal(recipe_parse(t, n, "big.recipe", &r, &err), -EFBIG);
	assert_string_equal(err.msg, "big.recipe: recipe larger than 1 MiB (1048577 bytes)");
	free(t);
	assert_null(r);
}

static void test_many_packages(void **state)
{
	(void)state;
	/* Duplicate detection must stay fast on a long line. */
	struct buf_like {
		char *p;
		size_t len;
	} b = {xmalloc(RECIPE_MAX_LINE + 64), 0};
	b.len = (size_t)sprintf(b.p, "FROM scratch\nPACKAGES");
	for (unsigned i = 0; b.len < RECIPE_MAX_LINE - 16; i++)
		b.len += (size_t)sprintf(b.p + b.len, " p%u", i);
	struct recipe *r = parse_ok(b.p);
	assert_true(r->steps[1].nargs > 5000);
	recipe_free(r);
	free(b.p);
}

static void test_parse_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-recipe.XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = xasprintf("%s/busybox.recipe", dir);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs("FROM scratch\nRUN true\n", f);
	fclose(f);

	struct err err = {0};
	struct recipe *r = NULL;
	assert_int_equal(recipe_parse_file(path, &r, &err), 0);
	assert_string_equal(r->name, "busybox");
	assert_int_equal(r->nsteps, 2);
	recipe_free(r);
	r = NULL;

	f = fopen(path, "we");
	fputs("FROM scratch\nRUN\n", f);
	fclose(f);
	assert_int_equal(recipe_parse_file(path, &r, &err), -EINVAL);
	_cleanup_free_ char *want = xasprintf("%s:2: RUN: expected a command", path);
	assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);

	f = fopen(path, "we");
	for (size_t i = 0; i < RECIPE_MAX_SIZE / 8 + 1; i++)
		fputs("#######\n", f);
	fclose(f);
	assert_int_equal(recipe_parse_file(path, &r, &err), -EFBIG);
	_cleanup_free_ char *want_big = xasprintf("%s: recipe larger than 1 MiB", path);
	assert_string_equal(err.msg, want_big);

	assert_int_equal(recipe_parse_file(dir, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	unlink(path);
	assert_int_equal(recipe_parse_file(path, &r, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "No such file"));
	rmdir(dir);
	assert_null(r);

	/* Names: base name without ".recipe". */
	r = NULL;
	assert_int_equal(recipe_parse("FROM scratch", 12, "a/b/dev.tools.recipe", &r, &err), 0);
	assert_string_equal(r->name, "dev.tools");
	recipe_free(r);
	r = NULL;
	assert_int_equal(recipe_parse("FROM scratch", 12, "Recipefile", &r, &err), 0);
	assert_string_equal(r->name, "Recipefile");
	recipe_free(r);
	recipe_free(NULL);
	assert_string_equal(recipe_op_name(RECIPE_WORKDIR), "WORKDIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_directive),
		cmocka_unit_test(test_from_forms),
		cmocka_unit_test(test_continuation_and_comments),
		cmocka_unit_test(test_case_insensitive_keywords),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_packages),
		cmocka_unit_test(test_canonical_equal),
		cmocka_unit_test(test_canonical_differs),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_many_packages),
		cmocka_unit_test(test_parse_file),
	};
	return cmocka_run_group_tests_name("recipe", tests, NULL, NULL);
}
