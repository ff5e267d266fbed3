/* test_moments.c: sl_moments against a naive two-pass computation in
 * double-double: count/min/max exactly, mean/stddev/sum within rounding-error
 * bounds, merges of split streams against the whole, Neumaier cancellation,
 * and the empty and one-value cases.
 *
 * Tolerances, with u = 2^-53 the unit roundoff and M = max |x|:
 *  - sum: Neumaier's bound |err| <= 2u|S| + O(n u^2) sum|x|, taken as
 *    2u|S| + 4 n u^2 sum|x| (a worst-case bound);
 *  - mean: the probabilistic rounding bound (Higham & Mary 2019), errors
 *    growing like sqrt(n): |err| <= 8 u sqrt(n) M;
 *  - stddev: relative error <= 4 u (kappa + sqrt(n)), kappa = sqrt(1 +
 *    mean^2 / var) the condition number of the variance (Chan & Lewis
 *    1979). First-order analysis of Welford's m2 += (x - m_old)(x - m_new):
 *    an error e in the running means (|e| ~ u |mean|) moves m2 by about
 *    e * sum(x - m_old), a walk of size sigma sqrt(n), so relative to
 *    m2 = n sigma^2 the effect is O(u kappa); rounding the n products and
 *    sums adds O(u sqrt(n)). The textbook one-pass formula sum(x^2)/n -
 *    mean^2 has error of order u kappa^2 and must fail this bound on
 *    1e9 + noise, which the test checks (so the checker can fail). */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define U (DBL_EPSILON / 2)

static uint64_t seed;

typedef struct {
	double min, max;
	long double mean, stddev, sum, abs_sum, max_abs;
} reference;

/* Double-double accumulator (Knuth's TwoSum, Dekker's product by fma): about
 * 106 bits, whatever long double is (valgrind computes long double in plain
 * double precision). */
typedef struct {
	double hi, lo;
} dd;

static void dd_add(dd *a, double b)
{
	double s = a->hi + b, bb = s - a->hi;
	double e = (a->hi - (s - bb)) + (b - bb) + a->lo;
	a->hi = s + e;
	a->lo = e - (a->hi - s);
}

static void dd_add_square(dd *a, double x)
{
	double p = x * x;
	dd_add(a, p);
	dd_add(a, fma(x, x, -p));
}

static long double dd_value(dd a)
{
	return (long double)a.hi + a.lo;
}

/* Two passes around x[0] (x - x[0] is exact for nearby doubles, so large
 * offsets cost no precision), accumulated in double-double. */
static reference naive(const double *x, size_t n)
{
	reference r = {x[0], x[0], 0, 0, 0, 0, 0};
	double shift = x[0];
	dd d = {0, 0}, sum = {0, 0}, ss = {0, 0};
	for (size_t i = 0; i < n; i++) {
		if (x[i] < r.min)
			r.min = x[i];
		if (x[i] > r.max)
			r.max = x[i];
		dd_add(&d, x[i] - shift);
		dd_add(&sum, x[i]);
		r.abs_sum += fabs(x[i]);
		if (fabs(x[i]) > r.max_abs)
			r.max_abs = fabs(x[i]);
	}
	/* the mean of the shifted values as a double-double: hi + lo */
	double mhi = d.hi / (double)n;
	double mlo = (double)((dd_value(d) - (long double)mhi * n) / n);
	for (size_t i = 0; i < n; i++) {
		dd e = {x[i] - shift, 0};
		dd_add(&e, -mhi);
		dd_add(&e, -mlo);
		dd_add_square(&ss, e.hi);
	}
	r.mean = (long double)shift + mhi + mlo;
	r.sum = dd_value(sum);
	r.stddev = n < 2 ? 0 : sqrtl(dd_value(ss) / n);
	return r;
}

static double mean_tol(const reference *r, size_t n)
{
	return (double)(8 * U * sqrt((double)n) * r->max_abs);
}

static double sum_tol(const reference *r, size_t n)
{
	return (double)(2 * U * fabsl(r->sum) + 4 * (double)n * U * U * r->abs_sum);
}

static double stddev_tol(const reference *r, size_t n)
{
	long double var = r->stddev * r->stddev;
	long double kappa = var > 0 ? sqrtl(1 + r->mean * r->mean / var) : 1;
	return (double)(4 * U * (kappa + sqrt((double)n)));
}

/* Whether stddev s is within the relative bound of the reference. */
static bool stddev_ok(double s, const reference *r, size_t n)
{
	if (r->stddev == 0)
		return s == 0;
	return fabsl(s - r->stddev) / r->stddev <= stddev_tol(r, n);
}

static void check(const sl_moments *m, const double *x, size_t n,
		  const char *what)
{
	reference r = naive(x, n);
	double merr = (double)fabsl(m->mean - r.mean);
	double serr = (double)(fabsl(sl_moments_stddev(m) - r.stddev) /
			       (r.stddev > 0 ? r.stddev : 1));
	double sumerr = (double)fabsl(sl_moments_sum(m) - r.sum);
	printf("  %-22s n=%zu mean err %.3g (tol %.3g) stddev rel err %.3g "
	       "(tol %.3g) sum err %.3g (tol %.3g)\n", what, n, merr,
	       mean_tol(&r, n), serr, stddev_tol(&r, n), sumerr,
	       sum_tol(&r, n));
	assert_int_equal(m->n, n);
	assert_true(m->min == r.min);
	assert_true(m->max == r.max);
	assert_true(merr <= mean_tol(&r, n));
	assert_true(stddev_ok(sl_moments_stddev(m), &r, n));
	assert_true(sumerr <= sum_tol(&r, n));
}

enum { UNIFORM, OFFSET, MIXED, NDATA };

static const char *const data_name[NDATA] = {"uniform [-1e3, 1e3]",
					      "1e9 + noise", "mixed magnitudes"};

static void fill(double *x, size_t n, int kind, tu_rng *r)
{
	for (size_t i = 0; i < n; i++) {
		double u = tu_unit(r);
		switch (kind) {
		case UNIFORM:
			x[i] = 2000 * u - 1000;
			break;
		case OFFSET:
			/* noise: sum of two uniforms on [-1, 1] */
			x[i] = 1e9 + (2 * u - 1) + (2 * tu_unit(r) - 1);
			break;
		default:
			x[i] = (u - 0.5) * pow(10, (double)tu_below(r, 13) - 6);
			break;
		}
	}
}

static void empty_and_single(void **state)
{
	(void)state;
	sl_moments m;
	memset(&m, 0, sizeof m);
	assert_int_equal(m.n, 0);
	assert_true(sl_moments_sum(&m) == 0);
	assert_true(sl_moments_stddev(&m) == 0);

	sl_moments e;
	memset(&e, 0, sizeof e);
	sl_moments_merge(&m, &e); /* empty + empty */
	assert_int_equal(m.n, 0);

	/* one negative value: the zeroed min/max must not leak into it */
	sl_moments_add(&m, -3.5);
	assert_int_equal(m.n, 1);
	assert_true(m.min == -3.5 && m.max == -3.5);
	assert_true(m.mean == -3.5);
	assert_true(sl_moments_sum(&m) == -3.5);
	assert_true(sl_moments_stddev(&m) == 0);

	sl_moments_merge(&m, &e); /* + empty: unchanged */
	assert_int_equal(m.n, 1);
	assert_true(m.min == -3.5 && m.mean == -3.5);

	sl_moments_merge(&e, &m); /* empty + one: a copy */
	assert_int_equal(e.n, 1);
	assert_true(e.min == -3.5 && e.max == -3.5 && e.mean == -3.5);

	/* a positive single value: max must not stay at the zeroed 0 */
	sl_moments p;
	memset(&p, 0, sizeof p);
	sl_moments_add(&p, 7);
	assert_true(p.min == 7 && p.max == 7);

	/* two values: population stddev is half the distance */
	sl_moments_add(&p, 9);
	assert_true(sl_moments_stddev(&p) == 1);
	assert_true(p.mean == 8 && p.min == 7 && p.max == 9);
}

static void against_naive(void **state)
{
	(void)state;
	tu_rng r = {seed};
	static const size_t sizes[] = {2, 3, 100, 10000, 200000};
	size_t maxn = 200000;
	double *x = malloc(maxn * sizeof *x);
	assert_non_null(x);
	for (int kind = 0; kind < NDATA; kind++) {
		for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
			size_t n = sizes[si];
			fill(x, n, kind, &r);
			sl_moments m;
			memset(&m, 0, sizeof m);
			for (size_t i = 0; i < n; i++)
				sl_moments_add(&m, x[i]);
			check(&m, x, n, data_name[kind]);
		}
	}
	free(x);
}

/* The textbook one-pass variance fails the stddev bound on 1e9 + noise,
 * which Welford meets: the checker can fail. */
static void naive_formula_is_caught(void **state)
{
	(void)state;
	tu_rng r = {seed + 1};
	size_t n = 100000;
	double *x = malloc(n * sizeof *x);
	assert_non_null(x);
	fill(x, n, OFFSET, &r);
	double s = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		s += x[i];
		s2 += x[i] * x[i];
	}
	double mean = s / (double)n, var = s2 / (double)n - mean * mean;
	double textbook = var > 0 ? sqrt(var) : 0;
	reference ref = naive(x, n);
	printf("  textbook stddev %.6g vs true %.6Lg\n", textbook, ref.stddev);
	assert_false(stddev_ok(textbook, &ref, n));

	sl_moments m;
	memset(&m, 0, sizeof m);
	for (size_t i = 0; i < n; i++)
		sl_moments_add(&m, x[i]);
	assert_true(stddev_ok(sl_moments_stddev(&m), &ref, n));
	/* a stddev off by one part in 10^6 is caught too */
	assert_false(stddev_ok((double)ref.stddev * (1 + 1e-6), &ref, n));
	free(x);
}

/* Split a stream into random pieces, summarize each, merge: the result
 * meets the same bounds as the whole and agrees with it closely. */
static void merge_split_streams(void **state)
{
	(void)state;
	tu_rng r = {seed + 2};
	size_t n = 100000;
	double *x = malloc(n * sizeof *x);
	assert_non_null(x);
	for (int kind = 0; kind < NDATA; kind++) {
		fill(x, n, kind, &r);
		sl_moments whole, merged;
		memset(&whole, 0, sizeof whole);
		memset(&merged, 0, sizeof merged);
		for (size_t i = 0; i < n; i++)
			sl_moments_add(&whole, x[i]);
		size_t at = 0;
		while (at < n) {
			size_t len = 1 + tu_below(&r, n / 5);
			if (len > n - at)
				len = n - at;
			sl_moments piece;
			memset(&piece, 0, sizeof piece);
			for (size_t i = at; i < at + len; i++)
				sl_moments_add(&piece, x[i]);
			sl_moments_merge(&merged, &piece);
			at += len;
		}
		check(&merged, x, n, data_name[kind]);
		reference ref = naive(x, n);
		assert_int_equal(merged.n, whole.n);
		assert_true(merged.min == whole.min && merged.max == whole.max);
		assert_true(fabs(merged.mean - whole.mean) <= 2 * mean_tol(&ref, n));
		double sw = sl_moments_stddev(&whole), sm = sl_moments_stddev(&merged);
		assert_true(fabs(sw - sm) <= 2 * stddev_tol(&ref, n) * sw);
		assert_true(fabs(sl_moments_sum(&whole) - sl_moments_sum(&merged)) <=
			    2 * sum_tol(&ref, n));
	}

	/* merging a summary into itself is the stream twice */
	sl_moments a, twice;
	memset(&a, 0, sizeof a);
	memset(&twice, 0, sizeof twice);
	for (int i = 1; i <= 10; i++) {
		sl_moments_add(&a, i);
		sl_moments_add(&twice, i);
	}
	for (int i = 1; i <= 10; i++)
		sl_moments_add(&twice, i);
	sl_moments_merge(&a, &a);
	assert_int_equal(a.n, 20);
	assert_true(sl_moments_sum(&a) == 110);
	assert_true(fabs(sl_moments_stddev(&a) - sl_moments_stddev(&twice)) <
		    1e-14);
	free(x);
}

/* The mean of integers (byte counts) is the same for every split of the
 * stream and every merge order, and equals the exact sum over n rounded
 * once: the report's mean is then the same at every -j. (Welford's running
 * mean, merged by Chan's formula, moved in its last digits with the split.) */
static void mean_independent_of_splits(void **state)
{
	(void)state;
	tu_rng r = {seed + 4};
	size_t n = 200000;
	uint64_t *x = malloc(n * sizeof *x);
	assert_non_null(x);
	uint64_t exact = 0;
	for (size_t i = 0; i < n; i++) {
		x[i] = tu_below(&r, 4) ? tu_below(&r, 100000) : tu_below(&r, 50000000);
		exact += x[i];
	}
	double want = (double)exact / (double)n;
	for (int parts = 1; parts <= 7; parts++) {
		sl_moments piece[7], all;
		memset(piece, 0, sizeof piece);
		memset(&all, 0, sizeof all);
		for (size_t i = 0; i < n; i++)	/* contiguous ranges, as the workers */
			sl_moments_add(&piece[i * (size_t)parts / n], (double)x[i]);
		for (int k = parts - 1; k >= 0; k--)	/* and merged backwards */
			sl_moments_merge(&all, &piece[k]);
		if (sl_moments_mean(&all) != want)
			fail_msg("seed %llu, %d parts: mean %.17g, exact %.17g",
				 (unsigned long long)seed, parts, sl_moments_mean(&all), want);
	}
	free(x);
}

static void neumaier_cancellation(void **state)
{
	(void)state;
	sl_moments m;
	memset(&m, 0, sizeof m);
	sl_moments_add(&m, 1e16);
	sl_moments_add(&m, 1.0);
	sl_moments_add(&m, -1e16);
	assert_true(sl_moments_sum(&m) == 1.0);
	/* plain summation loses the 1 (so this check can fail) */
	volatile double plain = 1e16;
	plain += 1.0;
	plain += -1e16;
	assert_false(plain == 1.0);

	/* Kahan's variant fails here; Neumaier's does not */
	sl_moments k;
	memset(&k, 0, sizeof k);
	const double v[] = {1.0, 1e100, 1.0, -1e100};
	for (int i = 0; i < 4; i++)
		sl_moments_add(&k, v[i]);
	assert_true(sl_moments_sum(&k) == 2.0);

	/* the compensation survives a merge */
	sl_moments a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	sl_moments_add(&a, 1e16);
	sl_moments_add(&a, 1.0);
	sl_moments_add(&b, 1.0);
	sl_moments_add(&b, -1e16);
	sl_moments_merge(&a, &b);
	assert_true(sl_moments_sum(&a) == 2.0);

	/* many small values next to a large one */
	sl_moments c;
	memset(&c, 0, sizeof c);
	sl_moments_add(&c, 1e16);
	for (int i = 0; i < 1000; i++)
		sl_moments_add(&c, 1.0);
	sl_moments_add(&c, -1e16);
	assert_true(sl_moments_sum(&c) == 1000.0);
}

int main(void)
{
	seed = tu_seed("test_moments", 20240611);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_and_single),
		cmocka_unit_test(against_naive),
		cmocka_unit_test(naive_formula_is_caught),
		cmocka_unit_test(merge_split_streams),
		cmocka_unit_test(neumaier_cancellation),
		cmocka_unit_test(mean_independent_of_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
