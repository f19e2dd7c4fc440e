/* Unit tests for lib/hash and lib/err. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lib/err.h"
#include "lib/hash.h"

static void test_known_digest(void **state)
{
	(void)state;
	struct digest d;
	char hex[DIGEST_HEX_LEN + 1];
	digest_buffer("abc", 3, &d);
	digest_to_hex(&d, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_streaming_equals_oneshot(void **state)
{
	(void)state;
	struct digest a, b;
	struct hasher *h = hasher_new();
	hasher_update(h, "a", 1);
	hasher_update(h, "bc", 2);
	hasher_final(h, &a);
	hasher_free(h);
	digest_buffer("abc", 3, &b);
	assert_true(digest_equal(&a, &b));
}

static void test_parse_rejects_bad(void **state)
{
	(void)state;
	struct digest d;
	char s[DIGEST_STR_SIZE];
	digest_buffer("", 0, &d);
	digest_to_str(&d, s);
	assert_int_equal(digest_parse(s, &d), 0);
	assert_true(digest_str_valid(s));
	assert_int_equal(digest_parse("sha256:abc", &d), -EINVAL);
	s[10] = 'G';
	assert_int_equal(digest_parse(s, &d), -EINVAL);
	assert_false(digest_str_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	assert_int_equal(digest_parse("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", &d), -EINVAL);
}

static void test_err_prefix(void **state)
{
	(void)state;
	struct err err = {0};
	assert_int_equal(err_set(&err, -ENOENT, "open '%s'", "x"), -ENOENT);
	err_prefix(&err, "step %d", 3);
	assert_string_equal(err.msg, "step 3: open 'x'");
	errno = EACCES;
	assert_int_equal(err_errno(&err, "read"), -EACCES);
	assert_string_equal(err.msg, "read: Permission denied");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_digest),
		cmocka_unit_test(test_streaming_equals_oneshot),
		cmocka_unit_test(test_parse_rejects_bad),
		cmocka_unit_test(test_err_prefix),
	};
	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
