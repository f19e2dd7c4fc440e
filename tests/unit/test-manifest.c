/* Unit tests for builder/manifest: canonical JSON, strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "builder/manifest.h"
#include "lib/macros.h"

static void make(struct manifest *m)
{
	manifest_init(m);
	digest_buffer("tree", 4, &m->tree);
	manifest_setenv(m, "PATH", "/bin");
	manifest_setenv(m, "A", "x=y");
	manifest_setlabel(m, "z", "last");
	manifest_setlabel(m, "a", "first");
	char a0[] = "/bin/sh", a1[] = "-c", a2[] = "echo \"hi\"";
	char *cmd[] = {a0, a1, a2};
	manifest_setcmd(m, cmd, 3);
}

static void test_canonical_bytes(void **state)
{
	(void)state;
	struct manifest m;
	make(&m);
	size_t len;
	_cleanup_free_ char *s = manifest_encode(&m, &len);
	/* Sorted keys, no whitespace, fixed key set. A change here changes
	 * every image digest: update docs/FORMAT.md and images/ with it. */
	char tree[DIGEST_STR_SIZE], want[1024];
	digest_to_str(&m.tree, tree);
	snprintf(want, sizeof want,
		 "{\"config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo \\\"hi\\\"\"],\"Env\":[\"PATH=/bin\",\"A=x=y\"],"
		 "\"Labels\":{\"a\":\"first\",\"z\":\"last\"},\"User\":\"1000:1000\",\"WorkingDir\":\"/\"},"
		 "\"schema\":1,\"tree\":\"%s\"}",
		 tree);
	assert_string_equal(s, want);
	assert_int_equal(len, strlen(want));
	assert_null(strchr(s, '\n'));
	/* Setting an existing env key replaces it in place. */
	manifest_setenv(&m, "PATH", "/usr/bin");
	assert_int_equal(m.config.nenv, 2);
	assert_string_equal(m.config.env[0], "PATH=/usr/bin");
	manifest_release(&m);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct manifest m, back;
	make(&m);
	m.has_recipe = true;
	digest_buffer("recipe", 6, &m.recipe);
	size_t len;
	_cleanup_free_ char *s = manifest_encode(&m, &len);
	struct err err = {0};
	assert_int_equal(manifest_decode(s, len, &back, &err), 0);
	size_t len2;
	_cleanup_free_ char *s2 = manifest_encode(&back, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(s, s2, len);
	assert_true(back.has_recipe);
	assert_false(back.has_lock);
	manifest_release(&m);
	manifest_release(&back);
}

static void expect_reject(const char *text, const char *msg_part)
{
	struct manifest m;
	struct err err = {0};
	assert_true(manifest_decode(text, strlen(text), &m, &err) < 0);
	if (!strstr(err.msg, msg_part))
		fail_msg("error '%s' does not mention '%s'", err.msg, msg_part);
}

static void test_rejects(void **state)
{
	(void)state;
	const char *tree = "\"tree\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"";
	char buf[1024];
	expect_reject("", "invalid JSON");
	expect_reject("[]", "not an object");
	snprintf(buf, sizeof buf,
		 "{\"config\":{\"Cmd\":[],\"Env\":[],\"Labels\":{},\"User\":\"0:0\",\"WorkingDir\":\"/\"},\"evil\":1,\"schema\":1,%s}",
		 tree);
	expect_reject(buf, "unexpected key \"evil\"");
	snprintf(buf, sizeof buf,
		 "{\"config\":{\"Cmd\":[],\"Env\":[],\"Labels\":{},\"User\":\"0:0\",\"WorkingDir\":\"/\"},\"schema\":2,%s}",
		 tree);
	expect_reject(buf, "schema");
	expect_reject("{\"config\":{\"Cmd\":[],\"Env\":[],\"Labels\":{},\"User\":\"0:0\",\"WorkingDir\":\"/\"},"
		      "\"schema\":1,\"tree\":\"sha256:xyz\"}",
		      "not a sha256 digest");
	snprintf(buf, sizeof buf,
		 "{\"schema\":1,\"config\":{\"Cmd\":[],\"Env\":[],\"Labels\":{},\"User\":\"0:0\",\"WorkingDir\":\"/\"},%s}",
		 tree);
	expect_reject(buf, "canonical");
	snprintf(buf, sizeof buf,
		 "{\"config\":{\"Cmd\":[1],\"Env\":[],\"Labels\":{},\"User\":\"0:0\",\"WorkingDir\":\"/\"},\"schema\":1,%s}",
		 tree);
	expect_reject(buf, "non-string");
	snprintf(buf, sizeof buf,
		 "{\"config\":{\"Cmd\":[],\"Env\":[],\"Labels\":{},\"User\":\"0:0\",\"WorkingDir\":\"/\"},\"schema\":1,%s,%s}",
		 tree, tree);
	expect_reject(buf, "invalid JSON");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_bytes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
