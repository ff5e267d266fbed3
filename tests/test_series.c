/* test_series.c: sl_series against a naive map of bucket -> count, with
 * timestamps in random order, coarsening under a small max_bytes, and
 * merges of series with different widths. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static uint64_t seed;

/* naive: counts per `width`-second bucket over [lo, lo + span) */
static void check(const sl_series *s, const int64_t *ts, size_t n)
{
	uint32_t w = sl_series_width(s);
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		int64_t b = ts[i] >= 0 ? ts[i] / w : -((-ts[i] + w - 1) / w);
		if (b < lo) lo = b;
		if (b > hi) hi = b;
	}
	assert_int_equal(sl_series_len(s), (size_t)(hi - lo + 1));
	uint64_t *want = calloc((size_t)(hi - lo + 1), sizeof *want);
	for (size_t i = 0; i < n; i++) {
		int64_t b = ts[i] >= 0 ? ts[i] / w : -((-ts[i] + w - 1) / w);
		want[b - lo]++;
	}
	for (size_t i = 0; i < sl_series_len(s); i++) {
		int64_t start;
		uint64_t c;
		sl_series_get(s, i, &start, &c);
		assert_int_equal(start, (lo + (int64_t)i) * (int64_t)w);
		assert_int_equal(c, want[i]);
	}
	free(want);
}

static void random_order_exact(void **state)
{
	(void)state;
	tu_rng r = {seed};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	enum { N = 5000 };
	int64_t ts[N];
	sl_series *s = sl_series_new(&b, 3600, 64 * 1024);
	assert_non_null(s);
	for (size_t i = 0; i < N; i++) {
		ts[i] = 1700000000 + (int64_t)tu_below(&r, 30 * 86400) - 15 * 86400;
		sl_series_add(s, ts[i], 1);
	}
	assert_int_equal(sl_series_width(s), 3600);
	check(s, ts, N);
	sl_series_free(s);
	assert_int_equal(b.used, 0);
}

static void coarsens_within_max_bytes(void **state)
{
	(void)state;
	tu_rng r = {seed + 1};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	enum { N = 3000 };
	int64_t ts[N];
	size_t max = 64 * sizeof(uint64_t); /* 64 buckets at most */
	sl_series *s = sl_series_new(&b, 60, max);
	for (size_t i = 0; i < N; i++) {
		/* negative times too: floor division must hold */
		ts[i] = (int64_t)tu_below(&r, 100000) - 50000;
		sl_series_add(s, ts[i], 1);
		assert_true(sl_series_len(s) <= 64);
	}
	assert_true(sl_series_width(s) > 60);
	assert_int_equal(sl_series_width(s) % 60, 0);
	check(s, ts, N);
	assert_true(b.peak <= max + 256);
	sl_series_free(s);
}

/* Log-like time: a random walk that mostly stays in the last bucket (the
 * fast path), steps across bucket edges both ways, crosses zero, jumps far
 * now and then, and coarsens under a small max_bytes; a merge and a load
 * between adds must leave no stale bucket behind. */
static void runs_of_nearby_times(void **state)
{
	(void)state;
	tu_rng r = {seed + 3};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	enum { N = 20000 };
	static int64_t ts[N + 3];
	sl_series *s = sl_series_new(&b, 60, 32 * sizeof(uint64_t));
	sl_series *fine = sl_series_new(&b, 60, 1 << 16);
	sl_series *wide = sl_series_new(&b, 60 * 4096, 1 << 16);
	int64_t t = -3000;
	size_t n = 0;
	for (size_t i = 0; i < N; i++) {
		uint64_t k = tu_below(&r, 1000);
		if (k < 5)
			t += (int64_t)tu_below(&r, 20000) - 10000; /* a far jump */
		else if (k < 100)
			t -= (int64_t)tu_below(&r, 70);	/* out of order */
		else
			t += (int64_t)tu_below(&r, 3);
		ts[n++] = t;
		sl_series_add(s, t, 1);
		if (i == N / 3) {
			/* an empty wider series: s coarsens with no add after;
			 * an early time first, so that t's bucket is not the
			 * first one (whose index coarsening keeps) */
			int64_t early = t - 1000000;
			sl_series_add(s, early, 1);
			sl_series_add(s, t, 1);
			ts[n++] = early;
			ts[n++] = t;
			assert_int_equal(sl_series_merge(s, wide), SL_OK);
			assert_int_equal(sl_series_width(s), 60 * 4096);
		}
		if (i == N / 2) {
			/* coarsen s by a merge of a wider series, then go on */
			int64_t far = t + 40 * 3600;
			sl_series_add(fine, far, 1);
			ts[n++] = far;
			assert_int_equal(sl_series_merge(s, fine), SL_OK);
		}
	}
	check(s, ts, n);
	sl_series_free(s);
	sl_series_free(fine);
	sl_series_free(wide);
	assert_int_equal(b.used, 0);
}

static void merge_equals_one_series(void **state)
{
	(void)state;
	tu_rng r = {seed + 2};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	enum { N = 4000 };
	int64_t ts[N];
	sl_series *a = sl_series_new(&b, 60, 4096), *c = sl_series_new(&b, 60, 1 << 16);
	sl_series *all = sl_series_new(&b, 60, 1 << 16);
	for (size_t i = 0; i < N; i++) {
		/* a's span is wide enough to coarsen; c stays fine */
		ts[i] = i < N / 2 ? (int64_t)tu_below(&r, 2000000) : (int64_t)tu_below(&r, 20000);
		sl_series_add(i < N / 2 ? a : c, ts[i], 1);
		sl_series_add(all, ts[i], 1);
	}
	assert_true(sl_series_width(a) > sl_series_width(c));
	assert_int_equal(sl_series_merge(c, a), SL_OK);
	assert_int_equal(sl_series_width(c), sl_series_width(a));
	check(c, ts, N);
	sl_series *odd = sl_series_new(&b, 7, 4096);
	sl_series_add(odd, 1, 1);
	assert_int_equal(sl_series_merge(c, odd), SL_EMISMATCH);
	sl_series_free(a);
	sl_series_free(c);
	sl_series_free(all);
	sl_series_free(odd);
	assert_int_equal(b.used, 0);
}

/* The checker must be able to fail: a series with one extra count is
 * caught. */
static void checker_catches_a_miscount(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_series *s = sl_series_new(&b, 60, 4096);
	int64_t ts[3] = {0, 61, 125};
	for (int i = 0; i < 3; i++) sl_series_add(s, ts[i], 1);
	sl_series_add(s, 125, 1); /* not in ts */
	int64_t start;
	uint64_t c;
	sl_series_get(s, 2, &start, &c);
	assert_int_equal(c, 2); /* the naive map would say 1: check() must differ */
	assert_int_equal(start, 120);
	sl_series_free(s);
}

int main(void)
{
	seed = tu_seed("test_series", 42);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_order_exact),
		cmocka_unit_test(coarsens_within_max_bytes),
		cmocka_unit_test(runs_of_nearby_times),
		cmocka_unit_test(merge_equals_one_series),
		cmocka_unit_test(checker_catches_a_miscount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
