/* test_relq.c: the relative-error quantile sketch (lib/sketch/relq.c) against a
 * naive reference: the values sorted, quantile q read at rank
 * sl_relq_rank(q, n) (nearest rank, the definition the sketch states).
 *
 * - Exact while the raw values fit: every answer equals the sorted one.
 * - Past that, on lognormal latencies, Pareto sizes, many zeros, a single
 *   value and a range 1e-6 .. 1e6: every q in 0.01 .. 0.99, 0.995, 0.999
 *   and 0.9999 is within alpha * (true value) of the true value; rank 1 and
 *   rank n are the exact min and max.
 * - Merges of 2 .. 16 parts (some small enough to stay raw) meet the same
 *   bound, and give the very answers of one sketch fed everything, in
 *   either merge order (the store is a function of the multiset of keys).
 * - A store too small for the range folds its lowest buckets: the upper
 *   quantiles keep the bound, sl_relq_bounded says which ones lost it.
 * - A state round trip, corrupt bytes rejected, a KLL converted, NaN and
 *   negative values refused, and the checker shown to catch a wrong value.
 * - Exact whenever it fits (issue 12): in a pool the raw array grows past
 *   B, so 50,000 values are exact (every rank, duplicates included, by the
 *   radix select); when the budget refuses (or the allocator fails) the
 *   sketch turns into buckets within the bound and gives its growth back;
 *   a relieve function may degrade another sketch instead; two raw
 *   sketches merge exact when the union fits and into buckets (the same
 *   answers as one sketch fed everything) when not; a state of m > B raw
 *   values round-trips; the same adds give the same bytes; an exact-mode
 *   sketch in a pool is full only when it cannot grow.
 * Seeded (tu_seed prints the seed; SLUICE_SEED replays it).
 */
#include "testutil.h"
#include "core/wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed;

/* Standard normal by Box-Muller. */
static double normal(tu_rng *r)
{
	double u = tu_unit(r), v = tu_unit(r);
	return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

enum { LOGNORMAL, PARETO, ZEROS, SINGLE, HUGE_RANGE, NDIST };
static const char *const dist_name[NDIST] = {"lognormal", "pareto", "zeros", "single",
					      "huge-range"};

static double draw(tu_rng *r, int dist)
{
	switch (dist) {
	case LOGNORMAL: /* request times: median 50 ms, long tail */
		return exp(log(0.05) + 1.2 * normal(r));
	case PARETO: /* response sizes: alpha 1.2 from 200 bytes, whole bytes */
		return floor(200 / pow(1 - tu_unit(r), 1 / 1.2));
	case ZEROS: /* two thirds 0.000, the rest milliseconds */
		return tu_below(r, 3) ? 0 : (double)(1 + tu_below(r, 5000)) / 1000;
	case SINGLE:
		return 0.25;
	default: /* log-uniform over 1e-6 .. 1e6 */
		return pow(10, -6 + 12 * tu_unit(r));
	}
}

static double *make(tu_rng *r, int dist, size_t n)
{
	double *x = malloc(n * sizeof *x);
	assert_non_null(x);
	for (size_t i = 0; i < n; i++)
		x[i] = draw(r, dist);
	return x;
}

/* The q grid every check covers. */
static size_t grid(double *q)
{
	size_t n = 0;
	for (int i = 1; i <= 99; i++)
		q[n++] = i / 100.0;
	q[n++] = 0.995;
	q[n++] = 0.999;
	q[n++] = 0.9999;
	return n;
}

/* Whether est is within the relative error bound of truth (a tiny slack
 * for the rounding of ln(); see the contract of lib/sketch/relq.c). */
static bool within(double est, double truth, double rel)
{
	return fabs(est - truth) <= rel * fabs(truth) * (1 + 1e-9);
}

/* Checks every grid quantile of s against the sorted reference; returns
 * the number of bounded quantiles outside the bound (0 for a correct
 * sketch), and prints the first few. rel: the bound to check. */
static int count_misses(const sl_relq *s, const double *sorted, size_t n, double rel,
			const char *what)
{
	double q[128];
	size_t nq = grid(q);
	int misses = 0;
	for (size_t i = 0; i < nq; i++) {
		if (!sl_relq_bounded(s, q[i]))
			continue;
		double truth = sorted[sl_relq_rank(q[i], n) - 1];
		double est = sl_relq_quantile(s, q[i]);
		if (!within(est, truth, rel)) {
			if (misses++ < 3)
				printf("  %s: q=%g estimate %.17g truth %.17g (seed %llu)\n", what,
				       q[i], est, truth, (unsigned long long)seed);
		}
	}
	return misses;
}

static void check_sketch(const sl_relq *s, const double *x, size_t n, const char *what)
{
	double *sorted = tu_sorted_copy(x, n);
	assert_int_equal(sl_relq_count(s), n);
	assert_true(sl_relq_quantile(s, 0) == sorted[0]);
	assert_true(sl_relq_quantile(s, 1) == sorted[n - 1]);
	assert_true(sl_relq_min(s) == sorted[0]);
	assert_true(sl_relq_max(s) == sorted[n - 1]);
	double rel = sl_relq_relative_error(s);
	assert_true(rel == 0 || rel == SL_RELQ_DEFAULT_ALPHA || rel == sl_relq_alpha(s));
	assert_int_equal(count_misses(s, sorted, n, rel, what), 0);
	free(sorted);
}

static sl_relq *feed(sl_budget *b, uint32_t buckets, const double *x, size_t n)
{
	sl_relq *s = sl_relq_new(b, buckets, SL_RELQ_DEFAULT_ALPHA);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		assert_true(sl_relq_add(s, x[i]));
	return s;
}

static void exact_while_raw(void **state)
{
	(void)state;
	tu_rng r = {seed};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (int d = 0; d < NDIST; d++) {
		size_t n = 1 + tu_below(&r, 1024);
		double *x = make(&r, d, n);
		sl_relq *s = feed(&b, 1024, x, n);
		assert_true(sl_relq_is_exact(s));
		assert_true(sl_relq_relative_error(s) == 0);
		check_sketch(s, x, n, dist_name[d]); /* rel 0: every answer equal */
		sl_relq_free(s);
		free(x);
	}
	assert_int_equal(b.used, 0);
}

static void relative_bound_every_distribution(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 1};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (int d = 0; d < NDIST; d++) {
		size_t n = 100000 + tu_below(&r, 100000);
		double *x = make(&r, d, n);
		sl_relq *s = feed(&b, SL_RELQ_DEFAULT_BUCKETS, x, n);
		if (d != SINGLE && d != ZEROS)
			assert_false(sl_relq_is_exact(s));
		check_sketch(s, x, n, dist_name[d]);
		/* the wide default store never folds on these ranges */
		for (int i = 0; i < 1000; i++)
			assert_true(sl_relq_bounded(s, i / 1000.0));
		sl_relq_free(s);
		free(x);
	}
}

/* Every quantile of a and b is the same double. */
static void assert_same_answers(const sl_relq *a, const sl_relq *b)
{
	assert_int_equal(sl_relq_count(a), sl_relq_count(b));
	for (int i = 0; i <= 10000; i++) {
		double q = i / 10000.0;
		double x = sl_relq_quantile(a, q), y = sl_relq_quantile(b, q);
		if (!(x == y || (isnan(x) && isnan(y))))
			fail_msg("q=%g: %.17g != %.17g (seed %llu)", q, x, y,
				 (unsigned long long)seed);
		assert_true(sl_relq_bounded(a, q) == sl_relq_bounded(b, q));
	}
}

static void merges_of_2_to_16_parts(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 2};
	sl_budget b;
	sl_budget_init(&b, 4 << 20);
	for (int parts = 2; parts <= 16; parts++) {
		int d = parts % NDIST;
		size_t n = 20000 + tu_below(&r, 60000);
		double *x = make(&r, d, n);
		/* cut points: some parts tiny (they stay raw), some large */
		size_t cut[17];
		cut[0] = 0;
		cut[parts] = n;
		for (int p = 1; p < parts; p++) {
			size_t left = n - cut[p - 1];
			size_t len = tu_below(&r, 2) ? tu_below(&r, 300) : tu_below(&r, left / 2 + 1);
			cut[p] = cut[p - 1] + (len < left ? len : left);
		}
		sl_relq *part[16];
		for (int p = 0; p < parts; p++)
			part[p] = feed(&b, SL_RELQ_DEFAULT_BUCKETS, x + cut[p], cut[p + 1] - cut[p]);
		sl_relq *fwd = sl_relq_new(&b, SL_RELQ_DEFAULT_BUCKETS, SL_RELQ_DEFAULT_ALPHA);
		sl_relq *rev = sl_relq_new(&b, SL_RELQ_DEFAULT_BUCKETS, SL_RELQ_DEFAULT_ALPHA);
		assert_non_null(fwd);
		assert_non_null(rev);
		for (int p = 0; p < parts; p++) {
			assert_int_equal(sl_relq_merge(fwd, part[p]), SL_OK);
			assert_int_equal(sl_relq_merge(rev, part[parts - 1 - p]), SL_OK);
		}
		char what[64];
		snprintf(what, sizeof what, "%d-way merge of %s", parts, dist_name[d]);
		check_sketch(fwd, x, n, what);
		sl_relq *one = feed(&b, SL_RELQ_DEFAULT_BUCKETS, x, n);
		assert_same_answers(fwd, one);
		assert_same_answers(rev, one);
		sl_relq_free(one);
		sl_relq_free(fwd);
		sl_relq_free(rev);
		for (int p = 0; p < parts; p++)
			sl_relq_free(part[p]);
		free(x);
	}
	assert_int_equal(b.used, 0);
}

static void small_store_folds_the_lowest(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 3};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	/* 64 buckets of ~1% cover a ratio of ~1.9; 1e-6 .. 1e6 folds most */
	size_t n = 50000;
	double *x = make(&r, HUGE_RANGE, n);
	sl_relq *s = feed(&b, 64, x, n);
	check_sketch(s, x, n, "64 buckets"); /* the bounded ones only */
	assert_false(sl_relq_bounded(s, 0.5));
	assert_true(sl_relq_bounded(s, 0.999));
	assert_true(sl_relq_bounded(s, 0)); /* min and max stay exact */
	/* the same sketch from merged parts, in two orders */
	sl_relq *a = feed(&b, 64, x, n / 3), *c = feed(&b, 64, x + n / 3, n - n / 3);
	sl_relq *m1 = sl_relq_new(&b, 64, SL_RELQ_DEFAULT_ALPHA);
	sl_relq *m2 = sl_relq_new(&b, 64, SL_RELQ_DEFAULT_ALPHA);
	assert_int_equal(sl_relq_merge(m1, a), SL_OK);
	assert_int_equal(sl_relq_merge(m1, c), SL_OK);
	assert_int_equal(sl_relq_merge(m2, c), SL_OK);
	assert_int_equal(sl_relq_merge(m2, a), SL_OK);
	assert_same_answers(m1, s);
	assert_same_answers(m2, s);
	/* a wide sketch merged into a narrow one folds too */
	sl_relq *wide = feed(&b, 4096, x, n);
	sl_relq *narrow = sl_relq_new(&b, 64, SL_RELQ_DEFAULT_ALPHA);
	assert_int_equal(sl_relq_merge(narrow, wide), SL_OK);
	assert_same_answers(narrow, s);
	sl_relq_free(wide);
	sl_relq_free(narrow);
	sl_relq_free(a);
	sl_relq_free(c);
	sl_relq_free(m1);
	sl_relq_free(m2);
	sl_relq_free(s);
	free(x);
}

static sl_relq *round_trip(sl_budget *b, const sl_relq *s, uint32_t buckets)
{
	sl_wire_writer w;
	sl_wire_init(&w, b, false);
	sl_relq_encode(s, &w);
	assert_false(w.failed);
	sl_relq *t = sl_relq_new(b, buckets, SL_RELQ_DEFAULT_ALPHA);
	assert_non_null(t);
	sl_wire_reader r;
	sl_wire_reader_init(&r, w.buf, w.len);
	const char *why = NULL;
	assert_int_equal(sl_relq_load(t, &r, &why), SL_OK);
	assert_int_equal(r.left, 0);
	sl_wire_release(&w);
	return t;
}

static void state_round_trip(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 4};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	size_t sizes[] = {0, 1, 500, 4096, 30000};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		double *x = make(&r, ZEROS, sizes[i] + 1);
		sl_relq *s = feed(&b, 4096, x, sizes[i]);
		sl_relq *t = round_trip(&b, s, 4096);
		assert_same_answers(s, t);
		sl_relq *u = round_trip(&b, s, 1024); /* into another size */
		if (sizes[i] <= 1024)
			assert_same_answers(s, u);
		else
			assert_int_equal(sl_relq_count(u), sizes[i]);
		sl_relq_free(s);
		sl_relq_free(t);
		sl_relq_free(u);
		free(x);
	}
	assert_int_equal(b.used, 0);
}

static void corrupt_bytes_rejected(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 5};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	double *x = make(&r, LOGNORMAL, 10000);
	sl_relq *s = feed(&b, 4096, x, 10000);
	sl_wire_writer w;
	sl_wire_init(&w, &b, false);
	sl_relq_encode(s, &w);
	/* every truncation, and a bucket count changed */
	for (size_t cut = 0; cut < w.len; cut += 1 + cut / 7) {
		sl_relq *t = sl_relq_new(&b, 4096, SL_RELQ_DEFAULT_ALPHA);
		sl_wire_reader rd;
		sl_wire_reader_init(&rd, w.buf, cut);
		const char *why = NULL;
		sl_status st = sl_relq_load(t, &rd, &why);
		assert_true(st == SL_ECORRUPT || rd.left != 0 || rd.bad);
		sl_relq_free(t);
	}
	w.buf[w.len - 1] ^= 0x40; /* the last count: no longer sums to n */
	sl_relq *t = sl_relq_new(&b, 4096, SL_RELQ_DEFAULT_ALPHA);
	sl_wire_reader rd;
	sl_wire_reader_init(&rd, w.buf, w.len);
	const char *why = NULL;
	assert_int_equal(sl_relq_load(t, &rd, &why), SL_ECORRUPT);
	assert_non_null(why);
	sl_relq_free(t);
	sl_wire_release(&w);
	sl_relq_free(s);
	free(x);
}

static void kll_converted(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 6};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	size_t n = 50000;
	double *x = make(&r, ZEROS, n);
	sl_kll *k = sl_kll_new(&b, 200, 7);
	for (size_t i = 0; i < n; i++)
		sl_kll_add(k, x[i]);
	sl_relq *s = sl_relq_new(&b, 4096, SL_RELQ_DEFAULT_ALPHA);
	assert_int_equal(sl_relq_add_kll(s, k), SL_OK);
	assert_int_equal(sl_relq_count(s), n);
	assert_true(sl_relq_rank_slack(s) > 0);
	assert_false(sl_relq_is_exact(s));
	assert_true(sl_relq_min(s) == sl_kll_quantile(k, 0));
	assert_true(sl_relq_max(s) == sl_kll_quantile(k, 1));
	sl_relq_free(s);
	sl_kll_free(k);
	free(x);
}

static void refuses_nan_and_negative(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_relq *s = sl_relq_new(&b, 128, SL_RELQ_DEFAULT_ALPHA);
	assert_true(isnan(sl_relq_quantile(s, 0.5)));
	assert_false(sl_relq_add(s, NAN));
	assert_false(sl_relq_add(s, -1));
	assert_true(sl_relq_add(s, -0.0));
	assert_true(sl_relq_add(s, INFINITY));
	assert_int_equal(sl_relq_count(s), 2);
	assert_true(sl_relq_quantile(s, 1) == INFINITY);
	assert_null(sl_relq_new(&b, 8, SL_RELQ_DEFAULT_ALPHA));
	assert_null(sl_relq_new(&b, 128, 0.5));
	sl_relq *t = sl_relq_new(&b, 128, 0.01);
	assert_int_equal(sl_relq_merge(s, t), SL_EINVAL); /* other alpha */
	assert_int_equal(sl_relq_merge(s, s), SL_EINVAL);
	/* rank definition: 0.999 of 1000 is rank 999, not 1000 */
	assert_int_equal(sl_relq_rank(0.999, 1000), 999);
	assert_int_equal(sl_relq_rank(0.5, 3), 2);
	assert_int_equal(sl_relq_rank(0.0, 3), 1);
	assert_int_equal(sl_relq_rank(0.001, 3), 1);
	sl_relq_free(t);
	sl_relq_free(s);
	assert_int_equal(b.used, 0);
}

static void checker_can_fail(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 7};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	size_t n = 100000;
	double *x = make(&r, LOGNORMAL, n);
	sl_relq *s = feed(&b, 4096, x, n);
	double *sorted = tu_sorted_copy(x, n);
	assert_int_equal(count_misses(s, sorted, n, sl_relq_relative_error(s), "clean"), 0);
	/* the true p999 set 3 alpha above the estimate: exactly that query
	 * fails */
	size_t at = sl_relq_rank(0.999, n) - 1;
	double keep = sorted[at];
	sorted[at] = sl_relq_quantile(s, 0.999) * (1 + 3 * SL_RELQ_DEFAULT_ALPHA);
	assert_int_equal(count_misses(s, sorted, n, sl_relq_relative_error(s), "injected"), 1);
	sorted[at] = keep;
	/* and a checker with a tighter bound than stated finds misses */
	assert_true(count_misses(s, sorted, n, SL_RELQ_DEFAULT_ALPHA / 20, "tight") > 0);
	free(sorted);
	sl_relq_free(s);
	free(x);
}

/* Exact mode: the raw array never becomes buckets; a full array refuses
 * positive values until the caller spills; after a spill only the answers
 * set (and min, max, zeros) are given. */
static void exact_mode_contract(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_relq *s = sl_relq_new(&b, 64, SL_RELQ_DEFAULT_ALPHA);
	assert_int_equal(sl_relq_set_exact(s), SL_OK);
	for (int i = 1; i <= 64; i++)
		assert_true(sl_relq_add(s, i));
	assert_true(sl_relq_raw_full(s));
	assert_false(sl_relq_add(s, 65)); /* refused, not counted */
	assert_true(sl_relq_add(s, 0));	  /* zeros are counted apart */
	assert_int_equal(sl_relq_count(s), 65);
	assert_true(sl_relq_is_exact(s));
	assert_true(sl_relq_quantile(s, 0.5) == 32); /* rank 33 of 0, 1..64 */
	double sum = 0;
	for (uint32_t i = 0; i < sl_relq_raw_count(s); i++)
		sum += sl_relq_raw_value(s, i);
	assert_true(sum == 64 * 65 / 2);
	sl_relq_raw_spilled(s);
	assert_int_equal(sl_relq_spilled(s), 64);
	assert_int_equal(sl_relq_raw_count(s), 0);
	assert_true(sl_relq_add(s, 65));
	assert_int_equal(sl_relq_count(s), 66);
	assert_true(isnan(sl_relq_quantile(s, 0.5)));
	assert_true(sl_relq_quantile(s, 0) == 0 && sl_relq_quantile(s, 1) == 65);
	double q = 0.5, v = 33;
	assert_int_equal(sl_relq_set_answers(s, &q, &v, 1), SL_OK);
	assert_true(sl_relq_quantile(s, 0.5) == 33);
	assert_true(isnan(sl_relq_quantile(s, 0.9)));
	/* merging needs the raw arrays to fit one */
	sl_relq *t = sl_relq_new(&b, 64, SL_RELQ_DEFAULT_ALPHA);
	assert_int_equal(sl_relq_set_exact(t), SL_OK);
	for (int i = 0; i < 64; i++)
		assert_true(sl_relq_add(t, 1));
	assert_int_equal(sl_relq_merge(s, t), SL_EINVAL);
	sl_relq_raw_spilled(t);
	assert_true(sl_relq_add(t, 2));
	assert_int_equal(sl_relq_merge(s, t), SL_OK);
	assert_int_equal(sl_relq_spilled(s), 128);
	assert_int_equal(sl_relq_count(s), 66 + 65);
	/* a plain sketch does not merge into an exact one */
	sl_relq *u = feed(&b, 64, &q, 1);
	assert_int_equal(sl_relq_merge(s, u), SL_EINVAL);
	assert_int_equal(sl_relq_set_exact(u), SL_EINVAL); /* not empty */
	sl_relq_free(u);
	sl_relq_free(t);
	sl_relq_free(s);
	assert_int_equal(b.used, 0);
}

/* ---- growth in a pool (issue 12) ------------------------------------------ */

/* A pool with nothing else to degrade. */
static bool no_relief(void *ud, const void *requester)
{
	(void)requester;
	(*(int *)ud)++;
	return false;
}

static sl_relq *feed_pooled(sl_budget *b, uint32_t buckets, const double *x, size_t n,
			    int *asked)
{
	sl_relq *s = sl_relq_new(b, buckets, SL_RELQ_DEFAULT_ALPHA);
	assert_non_null(s);
	sl_relq_set_pool(s, no_relief, asked);
	for (size_t i = 0; i < n; i++)
		assert_true(sl_relq_add(s, x[i]));
	return s;
}

/* Every rank 1 .. n of s equals the sorted reference (rank r is asked as
 * q = r / n, which sl_relq_rank maps back to r). */
static void assert_every_rank(const sl_relq *s, const double *x, size_t n, size_t step)
{
	double *sorted = tu_sorted_copy(x, n);
	for (size_t r = 1; r <= n; r += step) {
		double q = (double)r / (double)n, truth = sorted[sl_relq_rank(q, n) - 1];
		double est = sl_relq_quantile(s, q);
		if (est != truth)
			fail_msg("rank %zu of %zu: %.17g, true %.17g (seed %llu)", r, n, est, truth,
				 (unsigned long long)seed);
	}
	free(sorted);
}

static void exact_past_b_in_a_pool(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 8};
	sl_budget b;
	sl_budget_init(&b, 4 << 20);
	int asked = 0;
	for (int d = 0; d < NDIST; d++) {
		size_t n = 50000;
		double *x = make(&r, d, n);
		sl_relq *s = feed_pooled(&b, SL_RELQ_DEFAULT_BUCKETS, x, n, &asked);
		assert_true(sl_relq_is_exact(s));
		assert_true(sl_relq_relative_error(s) == 0);
		check_sketch(s, x, n, dist_name[d]); /* rel 0: the grid exactly */
		assert_every_rank(s, x, n, 7);
		/* the growth is the excess the pool may ask back */
		if (d != ZEROS && d != SINGLE)
			assert_true(sl_relq_excess(s) >= (n - SL_RELQ_DEFAULT_BUCKETS) * 8);
		sl_relq_free(s);
		free(x);
	}
	/* few distinct values: the select ends in a run of equal cells */
	double *x = malloc(30000 * sizeof *x);
	assert_non_null(x);
	for (size_t i = 0; i < 30000; i++)
		x[i] = (double)(1 + tu_below(&r, 40)) / 1000;
	sl_relq *s = feed_pooled(&b, 64, x, 30000, &asked);
	assert_true(sl_relq_is_exact(s));
	assert_every_rank(s, x, 30000, 1);
	sl_relq_free(s);
	free(x);
	assert_int_equal(asked, 0); /* 4 MiB: never refused */
	assert_int_equal(b.used, 0);
}

static void converts_when_the_budget_refuses(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 9};
	size_t n = 200000, base = sl_relq_bytes(SL_RELQ_DEFAULT_BUCKETS);
	double *x = make(&r, LOGNORMAL, n);
	/* room for about 30,000 values */
	sl_budget b;
	sl_budget_init(&b, base + 26000 * 8);
	int asked = 0;
	sl_relq *s = feed_pooled(&b, SL_RELQ_DEFAULT_BUCKETS, x, n, &asked);
	assert_true(asked > 0);
	assert_false(sl_relq_is_exact(s));
	assert_int_equal(sl_relq_excess(s), 0);
	assert_int_equal(b.used, base); /* the growth given back */
	assert_true(b.peak <= b.limit);
	check_sketch(s, x, n, "converted in a pool");
	/* the very answers of a sketch that never grew */
	sl_budget b2;
	sl_budget_init(&b2, 1 << 20);
	sl_relq *plain = feed(&b2, SL_RELQ_DEFAULT_BUCKETS, x, n);
	assert_same_answers(s, plain);
	sl_relq_free(plain);
	sl_relq_free(s);
	assert_int_equal(b.used, 0);
	/* an allocator that fails: the same, nothing leaked */
	tu_fail_state fs = {2, 0, 0}; /* the struct and the B cells */
	sl_budget_init(&b, 64 << 20);
	sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
	s = feed_pooled(&b, SL_RELQ_DEFAULT_BUCKETS, x, 10000, &asked);
	assert_true(fs.failures > 0);
	assert_false(sl_relq_is_exact(s));
	check_sketch(s, x, 10000, "failing allocator");
	sl_relq_free(s);
	assert_int_equal(b.used, 0);
	free(x);
}

/* A relieve function in the manner of the report's: degrades the other
 * sketch when it holds more beyond B, else lets the requester degrade. */
typedef struct {
	sl_relq *q[2];
	int degraded;
} two_pool;

static bool degrade_other(void *ud, const void *requester)
{
	two_pool *p = ud;
	sl_relq *best = NULL;
	size_t most = 0;
	for (int k = 0; k < 2; k++)
		if (p->q[k] && sl_relq_excess(p->q[k]) > most) {
			most = sl_relq_excess(p->q[k]);
			best = p->q[k];
		}
	if (!best || best == requester)
		return false;
	sl_relq_degrade(best);
	p->degraded++;
	return true;
}

static void relieve_degrades_the_largest(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 10};
	size_t base = sl_relq_bytes(1024);
	double *x = make(&r, PARETO, 40000);
	sl_budget b;
	sl_budget_init(&b, 2 * base + 30000 * 8);
	two_pool p = {{NULL, NULL}, 0};
	p.q[0] = sl_relq_new(&b, 1024, SL_RELQ_DEFAULT_ALPHA);
	p.q[1] = sl_relq_new(&b, 1024, SL_RELQ_DEFAULT_ALPHA);
	sl_relq_set_pool(p.q[0], degrade_other, &p);
	sl_relq_set_pool(p.q[1], degrade_other, &p);
	/* the first takes most of the pool, then the second asks */
	for (size_t i = 0; i < 25000; i++)
		assert_true(sl_relq_add(p.q[0], x[i]));
	for (size_t i = 25000; i < 40000; i++)
		assert_true(sl_relq_add(p.q[1], x[i]));
	assert_int_equal(p.degraded, 1);
	assert_false(sl_relq_is_exact(p.q[0]));
	assert_true(sl_relq_is_exact(p.q[1]));
	check_sketch(p.q[0], x, 25000, "degraded by the other");
	check_sketch(p.q[1], x + 25000, 15000, "kept exact");
	sl_relq_degrade(p.q[1]);
	assert_false(sl_relq_is_exact(p.q[1]));
	assert_int_equal(b.used, 2 * base);
	sl_relq_free(p.q[0]);
	sl_relq_free(p.q[1]);
	assert_int_equal(b.used, 0);
	free(x);
}

static void merge_of_raw_stays_exact_when_it_fits(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 11};
	size_t n = 60000;
	double *x = make(&r, HUGE_RANGE, n);
	int asked = 0;
	sl_budget b;
	sl_budget_init(&b, 8 << 20);
	sl_relq *a = feed_pooled(&b, 4096, x, n / 3, &asked);
	sl_relq *c = feed_pooled(&b, 4096, x + n / 3, n - n / 3, &asked);
	sl_relq *m = sl_relq_new(&b, 4096, SL_RELQ_DEFAULT_ALPHA);
	sl_relq_set_pool(m, no_relief, &asked);
	assert_int_equal(sl_relq_merge(m, a), SL_OK);
	assert_int_equal(sl_relq_merge(m, c), SL_OK);
	assert_true(sl_relq_is_exact(m));
	check_sketch(m, x, n, "merged raw");
	assert_every_rank(m, x, n, 13);
	sl_relq_free(m);
	/* a pool too small for the union: buckets, the answers of one sketch
	 * fed everything without a pool */
	sl_budget small;
	sl_budget_init(&small, sl_relq_bytes(4096) + 20000 * 8);
	m = sl_relq_new(&small, 4096, SL_RELQ_DEFAULT_ALPHA);
	sl_relq_set_pool(m, no_relief, &asked);
	assert_int_equal(sl_relq_merge(m, a), SL_OK);
	assert_true(sl_relq_is_exact(m)); /* 20,000 fit */
	assert_int_equal(sl_relq_merge(m, c), SL_OK);
	assert_false(sl_relq_is_exact(m));
	assert_int_equal(small.used, sl_relq_bytes(4096));
	sl_relq *one = feed(&b, 4096, x, n);
	assert_same_answers(m, one);
	check_sketch(m, x, n, "merged into buckets");
	sl_relq_free(one);
	sl_relq_free(m);
	sl_relq_free(a);
	sl_relq_free(c);
	assert_int_equal(b.used, 0);
	assert_int_equal(small.used, 0);
	free(x);
}

static void encode(const sl_relq *s, sl_budget *b, sl_wire_writer *w)
{
	sl_wire_init(w, b, false);
	sl_relq_encode(s, w);
	assert_false(w->failed);
}

static void state_of_many_raw_values(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 12};
	size_t n = 30000;
	double *x = make(&r, ZEROS, n);
	int asked = 0;
	sl_budget b;
	sl_budget_init(&b, 8 << 20);
	sl_relq *s = feed_pooled(&b, 1024, x, n, &asked);
	assert_true(sl_relq_is_exact(s));
	sl_wire_writer w;
	encode(s, &b, &w);
	/* into a pooled sketch: raw and exact again, the same bytes out */
	sl_relq *t = sl_relq_new(&b, 1024, SL_RELQ_DEFAULT_ALPHA);
	sl_relq_set_pool(t, no_relief, &asked);
	sl_wire_reader rd;
	sl_wire_reader_init(&rd, w.buf, w.len);
	const char *why = NULL;
	assert_int_equal(sl_relq_load(t, &rd, &why), SL_OK);
	assert_int_equal(rd.left, 0);
	assert_true(sl_relq_is_exact(t));
	assert_same_answers(s, t);
	sl_wire_writer w2;
	encode(t, &b, &w2);
	assert_int_equal(w2.len, w.len);
	assert_memory_equal(w2.buf, w.buf, w.len);
	/* into a sketch outside a pool (B cells): buckets, within the bound */
	sl_relq *u = sl_relq_new(&b, 1024, SL_RELQ_DEFAULT_ALPHA);
	sl_wire_reader_init(&rd, w.buf, w.len);
	assert_int_equal(sl_relq_load(u, &rd, &why), SL_OK);
	assert_false(sl_relq_is_exact(u));
	check_sketch(u, x, n, "loaded into B cells");
	/* a raw count past SL_RELQ_MAX_RAW is refused (offset of m: 8 + 4 +
	 * 8 + 8 + 8 + 8 + 8 + 1 = 53) */
	assert_true(w.len > 57);
	uint32_t big = SL_RELQ_MAX_RAW + 1;
	for (int i = 0; i < 4; i++)
		w.buf[53 + i] = (char)(big >> (8 * i));
	sl_relq *v = sl_relq_new(&b, 1024, SL_RELQ_DEFAULT_ALPHA);
	sl_relq_set_pool(v, no_relief, &asked);
	sl_wire_reader_init(&rd, w.buf, w.len);
	assert_int_equal(sl_relq_load(v, &rd, &why), SL_ECORRUPT);
	sl_relq_free(v);
	sl_wire_release(&w);
	sl_wire_release(&w2);
	sl_relq_free(u);
	sl_relq_free(t);
	sl_relq_free(s);
	assert_int_equal(b.used, 0);
	free(x);
}

static void same_adds_same_bytes(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 13};
	size_t n = 40000;
	double *x = make(&r, LOGNORMAL, n);
	int asked = 0;
	/* roomy (raw past B) and tight (converted): each twice */
	size_t limits[] = {8 << 20, sl_relq_bytes(4096) + 10000 * 8};
	for (int k = 0; k < 2; k++) {
		sl_budget b1, b2;
		sl_budget_init(&b1, limits[k]);
		sl_budget_init(&b2, limits[k]);
		sl_relq *s1 = feed_pooled(&b1, 4096, x, n, &asked);
		sl_relq *s2 = feed_pooled(&b2, 4096, x, n, &asked);
		assert_true(sl_relq_is_exact(s1) == (k == 0));
		sl_budget wb;
		sl_budget_init(&wb, 8 << 20);
		sl_wire_writer w1, w2;
		encode(s1, &wb, &w1);
		encode(s2, &wb, &w2);
		assert_int_equal(w1.len, w2.len);
		assert_memory_equal(w1.buf, w2.buf, w1.len);
		sl_wire_release(&w1);
		sl_wire_release(&w2);
		sl_relq_free(s1);
		sl_relq_free(s2);
	}
	free(x);
}

/* Exact mode in a pool: the array grows; full only when it cannot. */
static void exact_mode_grows_in_a_pool(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, sl_relq_bytes(64) + 200 * 8);
	int asked = 0;
	sl_relq *s = sl_relq_new(&b, 64, SL_RELQ_DEFAULT_ALPHA);
	assert_int_equal(sl_relq_set_exact(s), SL_OK);
	sl_relq_set_pool(s, no_relief, &asked);
	int i = 0;
	while (!sl_relq_raw_full(s))
		assert_true(sl_relq_add(s, ++i));
	assert_true(i > 64 && i <= 264); /* grown past B, within the budget */
	assert_int_equal(asked, 1);
	assert_false(sl_relq_add(s, 1000));
	assert_int_equal(sl_relq_excess(s), 0); /* exact mode never degrades */
	sl_relq_degrade(s);
	assert_true(sl_relq_is_exact(s));
	assert_true(sl_relq_quantile(s, 0.5) == (double)sl_relq_rank(0.5, (uint64_t)i));
	sl_relq_raw_spilled(s);
	assert_int_equal(sl_relq_spilled(s), i);
	assert_true(sl_relq_add(s, 1000));
	sl_relq_free(s);
	assert_int_equal(b.used, 0);
}

int main(void)
{
	seed = tu_seed("test_relq", 20261204);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_while_raw),
		cmocka_unit_test(relative_bound_every_distribution),
		cmocka_unit_test(merges_of_2_to_16_parts),
		cmocka_unit_test(small_store_folds_the_lowest),
		cmocka_unit_test(state_round_trip),
		cmocka_unit_test(corrupt_bytes_rejected),
		cmocka_unit_test(kll_converted),
		cmocka_unit_test(refuses_nan_and_negative),
		cmocka_unit_test(checker_can_fail),
		cmocka_unit_test(exact_mode_contract),
		cmocka_unit_test(exact_past_b_in_a_pool),
		cmocka_unit_test(converts_when_the_budget_refuses),
		cmocka_unit_test(relieve_degrades_the_largest),
		cmocka_unit_test(merge_of_raw_stays_exact_when_it_fits),
		cmocka_unit_test(state_of_many_raw_values),
		cmocka_unit_test(same_adds_same_bytes),
		cmocka_unit_test(exact_mode_grows_in_a_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
