/* test_budget.c: the budgeted allocator against its contract: limits,
 * peaks, parents, failure leaving state unchanged, and size parsing. */
#include "testutil.h"

#include <string.h>

static void limit_and_peak(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1000);
	void *a = sl_malloc(&b, 600);
	assert_non_null(a);
	assert_null(sl_malloc(&b, 401)); /* would exceed */
	assert_int_equal(b.used, 600);
	void *c = sl_malloc(&b, 400);
	assert_non_null(c);
	assert_int_equal(b.used, 1000);
	assert_int_equal(sl_budget_available(&b), 0);
	sl_free(&b, a, 600);
	assert_int_equal(b.used, 400);
	assert_int_equal(b.peak, 1000);
	/* realloc that does not fit leaves the block valid and the count as is */
	memset(c, 7, 400);
	assert_null(sl_realloc(&b, c, 400, 1001));
	assert_int_equal(b.used, 400);
	assert_int_equal(((unsigned char *)c)[399], 7);
	c = sl_realloc(&b, c, 400, 100);
	assert_non_null(c);
	assert_int_equal(b.used, 100);
	sl_free(&b, c, 100);
	assert_int_equal(b.used, 0);
	assert_null(sl_malloc(&b, 0));
	assert_null(sl_calloc(&b, SIZE_MAX / 2, 4)); /* overflow */
}

static void children_share_parent(void **state)
{
	(void)state;
	sl_budget root, a, b;
	sl_budget_init(&root, 1000);
	sl_budget_init_child(&a, &root, 700);
	sl_budget_init_child(&b, &root, 700);
	void *x = sl_malloc(&a, 600);
	assert_non_null(x);
	assert_null(sl_malloc(&b, 500)); /* fits b, not the root */
	assert_int_equal(b.used, 0);
	assert_int_equal(root.used, 600);
	void *y = sl_malloc(&b, 400);
	assert_non_null(y);
	assert_int_equal(root.peak, 1000);
	sl_free(&a, x, 600);
	sl_free(&b, y, 400);
	assert_int_equal(root.used, 0);
	assert_int_equal(a.peak, 600);
}

static void failing_hook_leaves_counts(void **state)
{
	(void)state;
	sl_budget b;
	tu_fail_state fs = {.allow = 1};
	sl_budget_init(&b, 1 << 20);
	sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
	void *a = sl_malloc(&b, 100);
	assert_non_null(a);
	assert_null(sl_malloc(&b, 100));
	assert_int_equal(b.used, 100);
	assert_null(sl_realloc(&b, a, 100, 200));
	assert_int_equal(b.used, 100);
	sl_free(&b, a, 100);
	assert_int_equal(fs.failures, 2);
}

static void parse_sizes(void **state)
{
	(void)state;
	size_t v;
	assert_int_equal(sl_parse_size("1M", &v), SL_OK);
	assert_int_equal(v, 1 << 20);
	assert_int_equal(sl_parse_size("512k", &v), SL_OK);
	assert_int_equal(v, 512 << 10);
	assert_int_equal(sl_parse_size("2GiB", &v), SL_OK);
	assert_int_equal(v, (size_t)2 << 30);
	assert_int_equal(sl_parse_size("65536", &v), SL_OK);
	assert_int_equal(v, 65536);
	assert_int_equal(sl_parse_size("", &v), SL_EINVAL);
	assert_int_equal(sl_parse_size("1X", &v), SL_EINVAL);
	assert_int_equal(sl_parse_size("-1M", &v), SL_EINVAL);
	assert_int_equal(sl_parse_size("99999999999999999999", &v), SL_EINVAL);
	assert_int_equal(sl_parse_size("99999999999T", &v), SL_EINVAL);
}

/* sl_budget_set_limit: raising lets more in, clamped to the parent's
 * limit; lowering below `used` refuses growth and frees nothing. */
static void set_limit(void **state)
{
	(void)state;
	sl_budget root, child;
	sl_budget_init(&root, 10000);
	sl_budget_init_child(&child, &root, 1000);
	void *a = sl_malloc(&child, 900);
	assert_non_null(a);
	assert_null(sl_malloc(&child, 200));
	sl_budget_set_limit(&child, 5000);
	assert_int_equal(child.limit, 5000);
	void *c = sl_malloc(&child, 200);
	assert_non_null(c);
	sl_budget_set_limit(&child, 20000); /* clamped to the parent's */
	assert_int_equal(child.limit, 10000);
	sl_budget_set_limit(&child, 500); /* below used: nothing freed */
	assert_int_equal(child.used, 1100);
	assert_null(sl_malloc(&child, 1));
	sl_free(&child, a, 900);
	sl_free(&child, c, 200);
	assert_int_equal(root.used, 0);
	assert_non_null(a = sl_malloc(&child, 500));
	sl_free(&child, a, 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limit_and_peak),
		cmocka_unit_test(children_share_parent),
		cmocka_unit_test(failing_hook_leaves_counts),
		cmocka_unit_test(parse_sizes),
		cmocka_unit_test(set_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
