/* Unit tests for snapshot/decisions: policy, canonical JSON round trip
 * (non-UTF-8 paths as hex), block identities and merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/decisions.h"

static struct err err;

#define FIXTURE_NAME "decisions"
#include "tests/unit/fixture.h"

static void test_policy(void **state)
{
	(void)state;
	_cleanup_(decisions_freep) struct decisions *d = decisions_new(NULL, NULL);
	struct change plain = {.kind = CHANGE_MODIFY, .path = (char *)"a"};
	struct change git = {.kind = CHANGE_ADD, .path = (char *)".git/hooks/pre-commit",
			     .risk = RISK_GIT_DIR};
	struct change esc = {.kind = CHANGE_ADD, .path = (char *)"l",
			     .risk = RISK_SYMLINK | RISK_SYMLINK_ESCAPE};
	struct change setid = {.kind = CHANGE_ADD, .path = (char *)"s", .risk = RISK_SETID};
	struct change special = {.kind = CHANGE_DELETE, .path = (char *)"p", .risk = RISK_SPECIAL};
	struct change exec = {.kind = CHANGE_ADD, .path = (char *)"x", .risk = RISK_EXECUTABLE};
	enum accept_reason why;
	assert_true(decisions_accepts(NULL, &plain, &why));
	assert_int_equal(why, ACCEPT_DEFAULT);
	assert_true(decisions_accepts(d, &exec, &why));
	assert_false(decisions_accepts(d, &git, &why));
	assert_int_equal(why, REJECT_HELD);
	assert_false(decisions_accepts(d, &esc, NULL));
	assert_false(decisions_accepts(d, &setid, NULL));
	assert_false(decisions_accepts(d, &special, NULL));
	decisions_set(d, "l", DECISION_ACCEPT);
	assert_true(decisions_accepts(d, &esc, &why));
	assert_int_equal(why, ACCEPT_EXPLICIT);
	decisions_set(d, "a", DECISION_REJECT);
	assert_false(decisions_accepts(d, &plain, &why));
	assert_int_equal(why, REJECT_EXPLICIT);
	decisions_set(d, "a", DECISION_NONE);
	assert_true(decisions_accepts(d, &plain, NULL));
}

static void test_json_roundtrip(void **state)
{
	(void)state;
	struct digest b, o;
	digest_buffer("b", 1, &b);
	digest_buffer("o", 1, &o);
	_cleanup_(decisions_freep) struct decisions *d = decisions_new(&b, &o);
	decisions_set(d, "z", DECISION_REJECT);
	decisions_set(d, "bad\xff\x01name", DECISION_ACCEPT);
	decisions_set(d, "a", DECISION_ACCEPT);
	decisions_set_block(d, "a", "1:00000000000000ff", DECISION_REJECT);
	decisions_set_block(d, "a", "0:1111111111111111", DECISION_ACCEPT);
	struct buf j1 = BUF_INIT, j2 = BUF_INIT;
	decisions_to_json(d, &j1);
	assert_non_null(strstr(j1.data, "\"path_hex\":\"626164ff016e616d65\""));
	assert_true(strstr(j1.data, "\"a\"") < strstr(j1.data, "\"z\""));
	_cleanup_(decisions_freep) struct decisions *e = NULL;
	OK(decisions_from_json(j1.data, j1.len, &e, &err));
	decisions_to_json(e, &j2);
	assert_string_equal(j1.data, j2.data);
	assert_int_equal(decisions_get(e, "bad\xff\x01name"), DECISION_ACCEPT);
	assert_int_equal(decisions_get_block(e, "a", "1:00000000000000ff"), DECISION_REJECT);
	struct changeset cs = {.base = b, .out = o};
	assert_true(decisions_match(e, &cs));
	cs.out = b;
	assert_false(decisions_match(e, &cs));
	buf_release(&j1);
	buf_release(&j2);

	const char *bad[] = {"{", "[]", "{\"version\":2,\"files\":[]}",
			     "{\"version\":1,\"files\":[{\"path\":\"\",\"decision\":\"accept\"}]}",
			     "{\"version\":1,\"files\":[{\"path_hex\":\"6100\",\"decision\":\"accept\"}]}",
			     "{\"version\":1,\"files\":[{\"path\":\"a\",\"decision\":\"maybe\"}]}",
			     "{\"version\":1,\"files\":[{\"path\":\"a\",\"decision\":\"accept\"},"
			     "{\"path\":\"a\",\"decision\":\"reject\"}]}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct decisions *x = NULL;
		assert_int_equal(decisions_from_json(bad[i], strlen(bad[i]), &x, &err), -EBADMSG);
		assert_null(x);
	}
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_(decisions_freep) struct decisions *d = decisions_new(NULL, NULL);
	decisions_set(d, "x", DECISION_ACCEPT);
	OK(decisions_save_at(d, dfd, "decisions.json", &err));
	_cleanup_(decisions_freep) struct decisions *e = NULL;
	OK(decisions_load_at(dfd, "decisions.json", &e, &err));
	assert_int_equal(decisions_get(e, "x"), DECISION_ACCEPT);
	struct decisions *none = NULL;
	assert_int_equal(decisions_load_at(dfd, "missing.json", &none, &err), -ENOENT);
	close(dfd);
}

static void merge(struct decisions *d, const char *old, const char *new_, bool reject_all,
		  const char *want)
{
	struct text_block *b = NULL;
	size_t n = 0;
	OK(text_blocks_compute(old, strlen(old), new_, strlen(new_), &b, &n, &err));
	for (size_t i = 0; i < n; i++)
		decisions_set_block(d, "f", b[i].id, reject_all ? DECISION_REJECT : DECISION_ACCEPT);
	free(b);
	struct buf out = BUF_INIT;
	OK(decisions_merge_text(d, "f", old, strlen(old), new_, strlen(new_), &out, &err));
	buf_puts(&out, "");
	assert_string_equal(out.data, want);
	buf_release(&out);
	decisions_set(d, "f", DECISION_NONE);
}

static void test_blocks_and_merge(void **state)
{
	(void)state;
	_cleanup_(decisions_freep) struct decisions *d = decisions_new(NULL, NULL);
	const char *cases[][2] = {
		{"a\nb\nc\n", "a\nB\nc\nd\n"},
		{"", "new\nfile"},
		{"no newline", "no newline\n"},
		{"x\ny\n", ""},
		{"1\n2\n3\n", "0\n1\n2\n3\n"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		merge(d, cases[i][0], cases[i][1], false, cases[i][1]);
		merge(d, cases[i][0], cases[i][1], true, cases[i][0]);
	}
	/* Ids are stable and name the text. */
	struct text_block *b1 = NULL, *b2 = NULL;
	size_t n1, n2;
	OK(text_blocks_compute("a\nb\n", 4, "a\nc\n", 4, &b1, &n1, &err));
	OK(text_blocks_compute("a\nb\n", 4, "a\nc\n", 4, &b2, &n2, &err));
	assert_int_equal(n1, 1);
	assert_string_equal(b1[0].id, b2[0].id);
	free(b2);
	OK(text_blocks_compute("a\nb\n", 4, "a\nd\n", 4, &b2, &n2, &err));
	assert_string_not_equal(b1[0].id, b2[0].id);
	free(b1);
	free(b2);
	assert_int_equal(text_blocks_compute("a\0b", 3, "a", 1, &b1, &n1, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test(test_blocks_and_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
