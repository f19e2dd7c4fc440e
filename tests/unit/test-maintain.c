/* Unit tests for builder/maintain: the reference rule as gc and fsck
 * apply it to hostile documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/maintain.h"
#include "lib/fsutil.h"
#include "lib/macros.h"
#include "lib/xalloc.h"

#define FIXTURE_NAME "maintain"
#include "tests/unit/fixture.h"

static void put_doc(struct fixture *f, const char *ref, const char *json)
{
	struct err err = {0};
	struct digest d;
	assert_int_equal(store_put(f->s, json, strlen(json), &d, &err), 0);
	assert_int_equal(store_ref_set(f->s, STORE_NS_RUNS, ref, &d, &err), 0);
}

/* One garbage object named both as a blob and as a tree: whichever key
 * is walked first, fsck must still decode it as a tree and complain. */
static void test_same_object_as_blob_and_tree(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	struct digest g;
	char gs[DIGEST_STR_SIZE], doc[512];
	assert_int_equal(store_put(f->s, "not a tree", 10, &g, &err), 0);
	digest_to_str(&g, gs);
	snprintf(doc, sizeof doc, "{\"stdout\":\"%s\",\"input_tree\":\"%s\"}", gs, gs);
	put_doc(f, "a", doc);
	snprintf(doc, sizeof doc, "{\"input_tree\":\"%s\",\"stdout\":\"%s\"}", gs, gs);
	put_doc(f, "b", doc);
	struct fsck_report rep;
	assert_int_equal(fsck_run(f->s, &rep, &err), 0);
	assert_true(rep.problems >= 1);
	assert_non_null(strstr(rep.text.data, "malformed tree"));
	buf_release(&rep.text);
	/* gc refuses to delete anything while the store is unsound. */
	struct gc_stats st;
	assert_true(gc_run(f->s, &st, &err) < 0);
	assert_true(store_has(f->s, &g));
}

/* Digest-looking data under keys that are not references (argv words,
 * labels) neither keeps objects alive nor makes fsck fail. */
static void test_data_is_not_a_reference(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	const char *missing = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char doc[512];
	snprintf(doc, sizeof doc, "{\"argv\":[\"echo\",\"%s\"],\"note\":\"%s\"}", missing, missing);
	put_doc(f, "c", doc);
	struct fsck_report rep;
	assert_int_equal(fsck_run(f->s, &rep, &err), 0);
	assert_int_equal(rep.problems, 0);
	buf_release(&rep.text);
	struct gc_stats st;
	assert_int_equal(gc_run(f->s, &st, &err), 0);
}

/* A missing blob named by a reference key is a problem naming it. */
static void test_missing_reference_reported(void **state)
{
	struct fixture *f = *state;
	struct err err = {0};
	put_doc(f, "d", "{\"stderr\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"}");
	struct fsck_report rep;
	assert_int_equal(fsck_run(f->s, &rep, &err), 0);
	assert_int_equal(rep.problems, 1);
	assert_non_null(strstr(rep.text.data, "missing object sha256:1111"));
	assert_non_null(strstr(rep.text.data, "runs/d"));
	buf_release(&rep.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_object_as_blob_and_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_is_not_a_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_reference_reported, setup, teardown),
	};
	return cmocka_run_group_tests_name("maintain", tests, NULL, NULL);
}
