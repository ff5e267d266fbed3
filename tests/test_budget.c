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

/* Writes a pattern of the offset at every STRIDE-th byte of p[from .. to),
 * counted from p: a stride prime to the page size reaches every offset in
 * a page. */
#define STRIDE 4093
static void fill(unsigned char *p, size_t from, size_t to)
{
	for (size_t i = (from + STRIDE - 1) / STRIDE * STRIDE; i < to; i += STRIDE)
		p[i] = (unsigned char)(i * 131 >> 7);
}

static void same(const unsigned char *p, size_t to)
{
	for (size_t i = 0; i < to; i += STRIDE)
		assert_int_equal(p[i], (unsigned char)(i * 131 >> 7));
}

/* Blocks of 2 MiB and more are mappings of their own on Linux (budget.c):
 * every resize keeps the bytes, whichever side of 2 MiB it starts and ends
 * on, and zeroed blocks are zero. */
static void large_blocks_keep_their_bytes(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, (size_t)64 << 20);
	size_t sizes[] = {(size_t)3 << 20, (size_t)7 << 20, ((size_t)7 << 20) + 1,
			  ((size_t)5 << 19) + 77, (size_t)1 << 20, (size_t)2 << 20,
			  (size_t)9 << 20, 4096, ((size_t)2 << 20) - 1, (size_t)6 << 20};
	size_t n = sizes[0];
	unsigned char *p = sl_malloc(&b, n);
	assert_non_null(p);
	fill(p, 0, n);
	for (size_t k = 1; k < sizeof sizes / sizeof *sizes; k++) {
		size_t m = sizes[k];
		p = sl_realloc(&b, p, n, m);
		assert_non_null(p);
		same(p, m < n ? m : n);
		if (m > n)
			fill(p, n, m);
		n = m;
		assert_int_equal(b.used, n);
	}
	sl_free(&b, p, n);
	unsigned char *z = sl_calloc(&b, 3, (size_t)1 << 20);
	assert_non_null(z);
	for (size_t i = 0; i < ((size_t)3 << 20); i += 4096)
		assert_int_equal(z[i], 0);
	sl_free(&b, z, (size_t)3 << 20);
	assert_int_equal(b.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limit_and_peak),
		cmocka_unit_test(children_share_parent),
		cmocka_unit_test(failing_hook_leaves_counts),
		cmocka_unit_test(parse_sizes),
		cmocka_unit_test(set_limit),
		cmocka_unit_test(large_blocks_keep_their_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
