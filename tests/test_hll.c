/*
 * test_hll.c: the HyperLogLog registers against naive references.
 *
 *  - registers: every add is checked against a bit-by-bit computation of
 *    index and rank into a plain array of maxima;
 *  - accuracy: for several p and cardinalities from 10 to 10^6 the relative
 *    error is within 3 standard errors (3 * 1.04 / sqrt(m)); the 95%
 *    interval covers the truth in >= 85% of 50 independent trials;
 *  - merge and fold: registers equal those of one HLL built directly from the
 *    union, at the lower precision when precisions differ;
 *  - the checkers themselves fail on a deliberately wrong input.
 *
 * Distinct hashes come from tu_next: splitmix64's output is a bijection of
 * its state and the state steps through distinct values, so n draws are n
 * distinct hashes and the true cardinality is known by construction.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t seed;

static double std_error(int p)
{
	return 1.04 / sqrt((double)(1u << p));
}

/* |est - truth| <= k standard errors of the truth. */
static bool within(double est, double truth, int p, double k)
{
	return fabs(est - truth) <= k * std_error(p) * truth;
}

/* Index and rank of hash at precision p, one bit at a time. */
static void naive_split(uint64_t hash, int p, uint32_t *index, uint8_t *rank)
{
	uint32_t i = 0;
	for (int b = 63; b >= 64 - p; b--)
		i = (i << 1) | (uint32_t)((hash >> b) & 1);
	uint8_t r = 1;
	for (int b = 63 - p; b >= 0 && !((hash >> b) & 1); b--)
		r++;
	*index = i;
	*rank = r;
}

/* Index of the first register where a and b differ, or -1. */
static long first_difference(const sl_hll *a, const sl_hll *b)
{
	if (sl_hll_precision(a) != sl_hll_precision(b))
		return 0;
	uint32_t m = 1u << sl_hll_precision(a);
	for (uint32_t i = 0; i < m; i++)
		if (sl_hll_register(a, i) != sl_hll_register(b, i))
			return (long)i;
	return -1;
}

/* A hash with a random index and `zeros` leading zeros in its rest (all of
 * the rest zero when zeros >= 64 - p): reaches the high ranks. */
static uint64_t skewed_hash(tu_rng *r, int p)
{
	uint64_t h = tu_next(r);
	int zeros = (int)tu_below(r, (uint64_t)(64 - p) + 1);
	uint64_t index = h >> (64 - p) << (64 - p);
	uint64_t rest = h << p >> p;
	if (zeros >= 64 - p)
		return index;
	rest >>= zeros;
	rest |= (uint64_t)1 << (63 - p - zeros);
	return index | rest;
}

static void registers_match_naive(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 1};
	int ps[] = {4, 5, 11, 16, 18};
	for (size_t t = 0; t < sizeof ps / sizeof ps[0]; t++) {
		int p = ps[t];
		uint32_t m = 1u << p;
		sl_budget b;
		sl_budget_init(&b, 1 << 20);
		sl_hll *h = sl_hll_new(&b, p);
		assert_non_null(h);
		assert_int_equal(b.used, sl_hll_bytes(p));
		assert_int_equal(sl_hll_precision(h), p);
		uint8_t *ref = test_calloc(m, 1);
		for (int n = 0; n < 20000; n++) {
			uint64_t x = (n & 1) ? tu_next(&r) : skewed_hash(&r, p);
			if (n == 7)
				x = 0;		/* all-zero hash: index 0, cap */
			if (n == 8)
				x = ~0ULL;	/* last index, rank 1 */
			uint32_t i;
			uint8_t rank;
			naive_split(x, p, &i, &rank);
			assert_true(rank >= 1 && rank <= 65 - p);
			if (rank > ref[i])
				ref[i] = rank;
			sl_hll_add_hash(h, x);
		}
		assert_int_equal(ref[0] >= 65 - p, 1);
		for (uint32_t i = 0; i < m; i++) {
			assert_int_equal(sl_hll_register(h, i), ref[i]);
			assert_true(sl_hll_register(h, i) <= 65 - p);
		}
		test_free(ref);
		sl_hll_free(h);
		assert_int_equal(b.used, 0);
	}
}

static void bad_precision_and_budget(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	assert_null(sl_hll_new(&b, SL_HLL_MIN_P - 1));
	assert_null(sl_hll_new(&b, SL_HLL_MAX_P + 1));
	assert_int_equal(b.used, 0);
	sl_budget_init(&b, sl_hll_bytes(12) - 1);
	assert_null(sl_hll_new(&b, 12));
	assert_int_equal(b.used, 0);
	sl_budget_init(&b, sl_hll_bytes(12));
	sl_hll *h = sl_hll_new(&b, 12);
	assert_non_null(h);
	assert_int_equal(b.used, b.limit);
	sl_hll_free(h);
	sl_hll_free(NULL);
	assert_int_equal(b.used, 0);
	for (int p = SL_HLL_MIN_P; p < SL_HLL_MAX_P; p++)
		assert_true(sl_hll_bytes(p + 1) - sl_hll_bytes(p) == (1u << p));
}

static void empty_is_zero(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_hll *h = sl_hll_new(&b, 10);
	sl_estimate e = sl_hll_estimate(h);
	assert_true(e.estimate == 0.0 && e.low == 0.0 && e.high == 0.0);
	assert_false(e.exact);
	sl_hll_add_hash(h, 12345);
	e = sl_hll_estimate(h);
	assert_true(fabs(e.estimate - 1.0) < 0.01);
	sl_hll_free(h);
}

static void accuracy(void **state)
{
	(void)state;
	static const struct {
		int p;
		uint32_t n;
	} cases[] = {
		{10, 10}, {10, 100}, {10, 1000}, {10, 10000}, {10, 100000},
		{12, 10}, {12, 100}, {12, 1000}, {12, 10000}, {12, 100000},
		{14, 10}, {14, 100}, {14, 1000}, {14, 10000}, {14, 100000},
		{14, 1000000}, {18, 1000000},
	};
	/* p below ~8 is left out on purpose: with 16 registers the error is
	 * skewed (about +10% bias, a long right tail), so "3 standard errors"
	 * is not a 99.7% statement there. */
	tu_rng r = {seed ^ 2};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		int p = cases[t].p;
		sl_hll *h = sl_hll_new(&b, p);
		assert_non_null(h);
		for (uint32_t i = 0; i < cases[t].n; i++)
			sl_hll_add_hash(h, tu_next(&r));
		sl_estimate e = sl_hll_estimate(h);
		double truth = cases[t].n;
		if (!within(e.estimate, truth, p, 3.0))
			print_message("p=%d n=%u estimate %.1f\n", p, cases[t].n,
				      e.estimate);
		assert_true(within(e.estimate, truth, p, 3.0));
		double half = 1.96 * std_error(p) * e.estimate;
		assert_true(fabs(e.low - (e.estimate - half)) < 1e-6 * truth);
		assert_true(fabs(e.high - (e.estimate + half)) < 1e-6 * truth);
		assert_true(e.low >= 0.0);
		assert_false(e.exact);
		sl_hll_free(h);
	}
	assert_int_equal(b.used, 0);
}

static void coverage(void **state)
{
	(void)state;
	static const struct {
		int p;
		uint32_t n;
	} cases[] = {{10, 5000}, {12, 3000}, {8, 20000}};
	tu_rng r = {seed ^ 3};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		int covered = 0, trials = 50;
		for (int k = 0; k < trials; k++) {
			sl_hll *h = sl_hll_new(&b, cases[t].p);
			for (uint32_t i = 0; i < cases[t].n; i++)
				sl_hll_add_hash(h, tu_next(&r));
			sl_estimate e = sl_hll_estimate(h);
			if (e.low <= cases[t].n && cases[t].n <= e.high)
				covered++;
			sl_hll_free(h);
		}
		print_message("p=%d n=%u: 95%% interval covered %d/%d\n",
			      cases[t].p, cases[t].n, covered, trials);
		assert_true(covered * 100 >= trials * 85);
	}
}

/* Fills h with n hashes drawn from a generator at state s. */
static void feed(sl_hll *h, uint64_t s, uint32_t n)
{
	tu_rng r = {s};
	for (uint32_t i = 0; i < n; i++)
		sl_hll_add_hash(h, tu_next(&r));
}

static void merge_same_precision(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (int overlap = 0; overlap < 2; overlap++) {
		sl_hll *a = sl_hll_new(&b, 12), *c = sl_hll_new(&b, 12);
		sl_hll *one = sl_hll_new(&b, 12);
		/* overlapping: b's stream begins with all of a's */
		uint64_t sa = seed ^ 4, sb = overlap ? sa : seed ^ 5;
		feed(a, sa, 30000);
		feed(c, sb, 50000);
		feed(one, sa, 30000);
		feed(one, sb, 50000);
		assert_int_equal(sl_hll_merge(a, c), SL_OK);
		assert_int_equal(first_difference(a, one), -1);
		/* the union size is 80000, or 50000 when b's stream covers a's */
		double truth = overlap ? 50000 : 80000;
		assert_true(within(sl_hll_estimate(a).estimate, truth, 12, 3.0));
		assert_int_equal(sl_hll_merge(a, a), SL_OK);
		assert_int_equal(first_difference(a, one), -1);
		sl_hll_free(a);
		sl_hll_free(c);
		sl_hll_free(one);
	}
	assert_int_equal(b.used, 0);
}

static void fold_equals_direct(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	tu_rng r = {seed ^ 6};
	static const int pairs[][2] = {
		{14, 12}, {14, 10}, {12, 11}, {18, 4}, {10, 10}, {16, 9},
	};
	for (size_t t = 0; t < sizeof pairs / sizeof pairs[0]; t++) {
		int hi = pairs[t][0], lo = pairs[t][1];
		for (int round = 0; round < 3; round++) {
			/* few, many and skewed hashes: empty blocks, full
			 * blocks and high ranks all occur */
			uint32_t n = round == 0 ? 50 : 40000;
			sl_hll *h = sl_hll_new(&b, hi), *direct = sl_hll_new(&b, lo);
			for (uint32_t i = 0; i < n; i++) {
				uint64_t x = round == 2 ? skewed_hash(&r, hi) : tu_next(&r);
				sl_hll_add_hash(h, x);
				sl_hll_add_hash(direct, x);
			}
			sl_hll_add_hash(h, 0);
			sl_hll_add_hash(direct, 0);
			sl_hll_fold(h, lo);
			assert_int_equal(sl_hll_precision(h), lo);
			assert_int_equal(first_difference(h, direct), -1);
			for (uint32_t i = 0; i < (1u << lo); i++)
				assert_true(sl_hll_register(h, i) <= 65 - lo);
			/* a folded HLL keeps working at its new precision */
			uint64_t more = tu_next(&r);
			sl_hll_add_hash(h, more);
			sl_hll_add_hash(direct, more);
			assert_int_equal(first_difference(h, direct), -1);
			sl_hll_free(h);
			sl_hll_free(direct);
			assert_int_equal(b.used, 0);
		}
	}
}

static void merge_different_precisions(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	uint64_t sa = seed ^ 7, sb = seed ^ 8;
	for (int dir = 0; dir < 2; dir++) {
		int pa = dir ? 10 : 14, pb = dir ? 14 : 10;
		sl_hll *a = sl_hll_new(&b, pa), *c = sl_hll_new(&b, pb);
		sl_hll *one = sl_hll_new(&b, 10);
		feed(a, sa, 20000);
		feed(c, sb, 3000);
		feed(one, sa, 20000);
		feed(one, sb, 3000);
		size_t used = b.used;
		assert_int_equal(sl_hll_merge(a, c), SL_OK);
		assert_int_equal(b.used, used);	/* no allocation */
		assert_int_equal(sl_hll_precision(a), 10);
		assert_int_equal(first_difference(a, one), -1);
		/* src untouched when it was the higher precision */
		assert_int_equal(sl_hll_precision(c), pb);
		sl_hll_free(a);
		sl_hll_free(c);
		sl_hll_free(one);
		assert_int_equal(b.used, 0);
	}
}

static void checkers_can_fail(void **state)
{
	(void)state;
	assert_true(within(1000.0, 1000.0, 10, 3.0));
	assert_false(within(1200.0, 1000.0, 10, 3.0));	/* 20% > 9.75% */
	assert_false(within(1000.0, 1200.0, 10, 3.0));

	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_hll *a = sl_hll_new(&b, 8), *c = sl_hll_new(&b, 8);
	feed(a, 99, 100);
	feed(c, 99, 100);
	assert_int_equal(first_difference(a, c), -1);
	sl_hll_add_hash(c, 0x0500000000000000ULL); /* index 5, rank 57 */
	assert_int_equal(first_difference(a, c), 5);
	sl_hll_free(a);
	sl_hll_free(c);

	/* the naive splitter against hand-worked values */
	uint32_t i;
	uint8_t rank;
	naive_split(0x0016ULL << 50 | 1ULL << 40, 14, &i, &rank);
	assert_int_equal(i, 22);
	assert_int_equal(rank, 10);
	naive_split(0x0016ULL << 50 | 1ULL << 40, 12, &i, &rank);
	assert_int_equal(i, 5);
	assert_int_equal(rank, 1);
	naive_split(0, 14, &i, &rank);
	assert_int_equal(rank, 51);
}

int main(void)
{
	seed = tu_seed("test_hll", 20240601);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registers_match_naive),
		cmocka_unit_test(bad_precision_and_budget),
		cmocka_unit_test(empty_is_zero),
		cmocka_unit_test(accuracy),
		cmocka_unit_test(coverage),
		cmocka_unit_test(merge_same_precision),
		cmocka_unit_test(fold_equals_direct),
		cmocka_unit_test(merge_different_precisions),
		cmocka_unit_test(checkers_can_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
