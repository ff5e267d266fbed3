/* test_kll.c: the KLL sketch against exact ranks computed on a sorted copy.
 *
 * - Exact (every quantile equals the sorted-array answer, rank_error 0)
 *   until the first compaction.
 * - For several k, n and distributions, EVERY percentile q = 0.01 .. 0.99:
 *   the true rank interval [#(< x), #(<= x)] / n of the returned x comes
 *   within the sketch's own stated rank_error of q, and sl_kll_rank(v) is
 *   within it of #(<= v) / n (per query; see check_sketch for how the
 *   95%-per-query bound is applied to 149 queries at once).
 * - The stated error is small: it never exceeds a bound derived here from
 *   the algorithm (vbound below), not from the sketch's output.
 * - Merges (two-way, different k, seven-way, self-merge, deep) against the
 *   exact union; min and max exact; memory fixed at creation; NaN ignored;
 *   and the rank checker is shown to reject wrong answers.
 *
 * vbound: V (the sum of w^2 over compactions) is at most
 *     sum over h of floor(n / (2^h m_h)) * 4^h,
 * because every unit of weight is consumed at level h at most once (so the
 * weight consumed there is <= n) and each compaction at level h consumes at
 * least m_h = 2 floor(c_h / 2) items of weight 2^h, c_h being the level's
 * capacity, which is smallest when the number of levels H is largest:
 * c_h >= max(2, floor(k_min (2/3)^(H-1-h))). Only levels below the top
 * compact, and a sketch gets level H only after its top level held k items
 * of weight 2^(H-2), so H <= the least H with k 2^(H-1) > n (or the largest
 * H of any merged part).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t seed;
static double worst_ratio; /* largest observed error / stated error */
static double worst_overall;

/* ---- exact reference ------------------------------------------------------ */

/* #(values < x) in sorted[0..n) */
static size_t count_lt(const double *sorted, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* #(values <= x) */
static size_t count_le(const double *sorted, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether x is an acceptable answer for quantile q with rank error eps:
 * its true rank interval [#(< x), #(<= x)] / n must come within eps of q. */
static bool rank_ok(const double *sorted, size_t n, double x, double q,
		    double eps)
{
	double lt = (double)count_lt(sorted, n, x);
	double le = (double)count_le(sorted, n, x);
	double d = (double)n;
	return lt <= (q + eps) * d && le >= (q - eps) * d;
}

/*
 * Checks every percentile and a sample of ranks; returns the stated error.
 *
 * The stated error eps is a 95% bound for any ONE query. Here Q = 149
 * queries are checked per sketch (thousands per run), so "all within eps"
 * would fail now and then by design (about one seed in 40 did). Each query
 * is therefore held to the simultaneous bound for Q queries, the same
 * formula with 0.05 / Q (union bound): eps * sqrt(ln(2Q/0.05) / ln(2/0.05)),
 * about 1.53 eps; and, per query, at most 5% of them may exceed eps itself.
 */
#define QUERIES (99 + 50)

static long beyond_eps, queries_checked;

static double check_sketch(const sl_kll *s, const double *sorted, size_t n,
			   tu_rng *r)
{
	assert_int_equal(sl_kll_count(s), n);
	assert_true(sl_kll_quantile(s, 0) == sorted[0]);
	assert_true(sl_kll_quantile(s, 1) == sorted[n - 1]);
	double eps = sl_kll_rank_error(s);
	assert_true(eps >= 0 && eps < 1);
	double all = eps * sqrt(log(2.0 * QUERIES / 0.05) / log(2 / 0.05));
	int beyond = 0;
	for (int j = 1; j <= 99; j++) {
		double q = j / 100.0;
		double x = sl_kll_quantile(s, q);
		/* an input value, and a good one */
		size_t lt = count_lt(sorted, n, x), le = count_le(sorted, n, x);
		assert_true(le > lt);
		double miss = fmax((double)lt / n - q, q - (double)le / n);
		if (eps > 0 && miss / eps > worst_ratio)
			worst_ratio = miss / eps;
		beyond += !rank_ok(sorted, n, x, q, eps);
		if (!rank_ok(sorted, n, x, q, all)) {
			print_error("q=%.2f x=%.17g lt=%zu le=%zu n=%zu eps=%g\n",
				    q, x, lt, le, n, eps);
			fail();
		}
	}
	for (int j = 0; j < 50; j++) {
		double v = sorted[tu_below(r, n)];
		if (j & 1) /* also between and beyond the values */
			v += (tu_unit(r) - 0.5) * fabs(v) * 1e-3 + (j == 1 ? -1e300 : 0);
		double want = (double)count_le(sorted, n, v) / (double)n;
		double got = sl_kll_rank(s, v);
		if (eps > 0 && fabs(got - want) / eps > worst_ratio)
			worst_ratio = fabs(got - want) / eps;
		beyond += fabs(got - want) > eps;
		assert_true(fabs(got - want) <= all);
	}
	assert_true(beyond <= 0.05 * QUERIES);
	beyond_eps += beyond;
	queries_checked += QUERIES;
	return eps;
}

/* ---- the derived bound on the stated error ---------------------------------- */

typedef struct {
	uint64_t n;
	uint32_t kmin;
	int levels; /* upper bound on H */
} vtrack;

static int max_levels(uint64_t n, uint32_t k)
{
	int h = 1;
	while (h < 64 && (double)k * ldexp(1, h - 1) <= (double)n)
		h++;
	return h;
}

static vtrack track_stream(uint64_t n, uint32_t k)
{
	return (vtrack){n, k, max_levels(n, k)};
}

static vtrack track_merge(vtrack a, vtrack b, uint32_t kdst)
{
	vtrack t = {a.n + b.n, a.kmin < b.kmin ? a.kmin : b.kmin, a.levels};
	if (b.levels > t.levels)
		t.levels = b.levels;
	if (max_levels(t.n, kdst) > t.levels)
		t.levels = max_levels(t.n, kdst);
	return t;
}

static double eps_bound(vtrack t)
{
	double v = 0;
	for (int h = 0; h + 1 < t.levels; h++) {
		double c = floor(t.kmin * pow(2.0 / 3.0, t.levels - 1 - h));
		if (c < 2)
			c = 2;
		double m = 2 * floor(c / 2);
		v += floor((double)t.n / (ldexp(1, h) * m)) * ldexp(1, 2 * h);
	}
	return sqrt(2 * log(2 / 0.05) * v) / (double)t.n;
}

/* ---- data ---------------------------------------------------------------------- */

enum { UNIFORM, ASCENDING, DESCENDING, DUPLICATES, ZIPF, EXPONENTIAL, NDIST };
static const char *const dist_name[NDIST] = {"uniform", "ascending",
	"descending", "10 values", "zipf-like", "exponential"};

static void fill(double *x, size_t n, int dist, tu_rng *r)
{
	for (size_t i = 0; i < n; i++) {
		switch (dist) {
		case UNIFORM:
			x[i] = tu_unit(r) * 1000 - 500;
			break;
		case ASCENDING:
			x[i] = (double)i;
			break;
		case DESCENDING:
			x[i] = (double)(n - i);
			break;
		case DUPLICATES:
			x[i] = (double)tu_below(r, 10);
			break;
		case ZIPF: /* P(x >= m) = 1/m: half the values are 1 */
			x[i] = floor(1 / (1 - tu_unit(r)));
			break;
		default:
			x[i] = -log(1 - tu_unit(r)) * 100;
			break;
		}
	}
}

static sl_kll *feed(sl_budget *b, uint32_t k, uint64_t s, const double *x,
		    size_t n)
{
	sl_kll *sk = sl_kll_new(b, k, s);
	assert_non_null(sk);
	for (size_t i = 0; i < n; i++)
		sl_kll_add(sk, x[i]);
	return sk;
}

/* ---- tests -------------------------------------------------------------------- */

static void exact_until_first_compaction(void **state)
{
	(void)state;
	tu_rng r = {seed};
	static const uint32_t ks[] = {SL_KLL_MIN_K, 50, SL_KLL_DEFAULT_K};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (size_t ki = 0; ki < 3; ki++) {
		uint32_t k = ks[ki];
		double x[SL_KLL_DEFAULT_K + 1];
		sl_kll *s = sl_kll_new(&b, k, seed + k);
		assert_non_null(s);
		for (uint32_t m = 1; m <= k; m++) {
			x[m - 1] = (double)tu_below(&r, k / 2) - (double)k / 4;
			sl_kll_add(s, x[m - 1]);
			if (m % 7 != 0 && m != k)
				continue;
			double *sorted = tu_sorted_copy(x, m);
			assert_true(sl_kll_rank_error(s) == 0);
			for (int j = 0; j <= 100; j++) {
				double q = j / 100.0;
				double t = ceil(q * (double)m);
				size_t i = t < 1 ? 0 : (size_t)t - 1;
				assert_true(sl_kll_quantile(s, q) == sorted[i]);
			}
			for (uint32_t i = 0; i < m; i++) {
				double v = sorted[i];
				assert_true(sl_kll_rank(s, v) ==
					    (double)count_le(sorted, m, v) / m);
				assert_true(sl_kll_rank(s, v - 0.5) ==
					    (double)count_le(sorted, m, v - 0.5) / m);
			}
			free(sorted);
		}
		/* one more value makes the first compaction */
		sl_kll_add(s, 0);
		assert_true(sl_kll_rank_error(s) > 0);
		sl_kll_free(s);
	}
	assert_int_equal(b.used, 0);
}

static void every_rank_within_stated_error(void **state)
{
	(void)state;
	tu_rng r = {seed + 1};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	size_t maxn = 1000000;
	double *x = malloc(maxn * sizeof *x);
	assert_non_null(x);
	static const struct {
		int dist;
		uint32_t k;
		size_t n;
	} big[] = {{UNIFORM, 200, 1000000}, {ZIPF, 200, 1000000},
		   {DESCENDING, 50, 1000000}};
	for (int dist = 0; dist < NDIST; dist++) {
		for (size_t n = 10000; n <= 100000; n *= 10) {
			fill(x, n, dist, &r);
			double *sorted = tu_sorted_copy(x, n);
			for (uint32_t k = 50; k <= 200; k += 150) {
				sl_kll *s = feed(&b, k, tu_next(&r), x, n);
				double eps = check_sketch(s, sorted, n, &r);
				double bound = eps_bound(track_stream(n, k));
				printf("  %-11s k=%-3u n=%-7zu rank error %.5f "
				       "(derived bound %.5f)\n", dist_name[dist],
				       k, n, eps, bound);
				assert_true(eps <= bound);
				sl_kll_free(s);
			}
			free(sorted);
		}
	}
	for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
		size_t n = big[i].n;
		fill(x, n, big[i].dist, &r);
		double *sorted = tu_sorted_copy(x, n);
		clock_t t0 = clock();
		sl_kll *s = feed(&b, big[i].k, tu_next(&r), x, n);
		double ns = (double)(clock() - t0) / CLOCKS_PER_SEC * 1e9 / n;
		double eps = check_sketch(s, sorted, n, &r);
		double bound = eps_bound(track_stream(n, big[i].k));
		printf("  %-11s k=%-3u n=%-7zu rank error %.5f (derived bound "
		       "%.5f), %.1f ns/add\n", dist_name[big[i].dist],
		       big[i].k, n, eps, bound, ns);
		assert_true(eps <= bound);
		/* k = 200 at n = 10^6: within 2.5% */
		if (big[i].k == 200)
			assert_true(eps <= 0.025);
		sl_kll_free(s);
		free(sorted);
	}
	free(x);
	assert_int_equal(b.used, 0);
}

/* Many equal values and signed zeros, with a small k so that
 * level 0 is sorted hundreds of times (by radix on keys, negative values
 * included): ranks stay within the stated error and every answer is
 * one of the values added. -0 and +0 compare equal, so either may answer
 * for the other; min and max stay exact (a stream of -0 has min -0). */
static void signed_zeros_and_ties(void **state)
{
	(void)state;
	tu_rng r = {seed + 7};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	static const double pool[] = {-0.0, 0.0, -1, 1, 2.5, -7, 1e300};
	enum { N = 20000 };
	double *x = malloc(N * sizeof *x);
	assert_non_null(x);
	for (size_t i = 0; i < N; i++)
		x[i] = pool[tu_below(&r, 7)];
	double *sorted = tu_sorted_copy(x, N);
	sl_kll *s = feed(&b, 50, tu_next(&r), x, N);
	double eps = check_sketch(s, sorted, N, &r);
	assert_true(eps <= eps_bound(track_stream(N, 50)));
	for (int p = 0; p <= 100; p++) {
		double v = sl_kll_quantile(s, p / 100.0);
		bool known = false;
		for (size_t j = 0; j < 7; j++)
			known |= v == pool[j];
		assert_true(known);
	}
	assert_true(sl_kll_quantile(s, 0) == -7);
	assert_true(sl_kll_quantile(s, 1) == 1e300);
	sl_kll_free(s);
	s = sl_kll_new(&b, 50, 1);
	for (size_t i = 0; i < 1000; i++)
		sl_kll_add(s, -0.0);
	assert_true(sl_kll_quantile(s, 0.5) == 0);
	assert_true(signbit(sl_kll_quantile(s, 0)));	/* min is exact */
	sl_kll_free(s);
	free(sorted);
	free(x);
	assert_int_equal(b.used, 0);
}

static void merge_matches_one_stream(void **state)
{
	(void)state;
	tu_rng r = {seed + 2};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	size_t n = 200000, cut = n / 3;
	double *x = malloc(n * sizeof *x);
	assert_non_null(x);
	for (int dist = UNIFORM; dist < NDIST; dist += 2) {
		fill(x, n, dist, &r);
		double *sorted = tu_sorted_copy(x, n);
		sl_kll *a = feed(&b, 200, tu_next(&r), x, cut);
		sl_kll *c = feed(&b, 200, tu_next(&r), x + cut, n - cut);
		sl_kll *whole = feed(&b, 200, tu_next(&r), x, n);
		assert_int_equal(sl_kll_merge(a, c), SL_OK);
		assert_int_equal(sl_kll_count(a), n);
		double em = check_sketch(a, sorted, n, &r);
		double ew = check_sketch(whole, sorted, n, &r);
		double bound = eps_bound(track_merge(track_stream(cut, 200),
						     track_stream(n - cut, 200), 200));
		printf("  %-11s merged error %.5f, one stream %.5f, derived "
		       "bound %.5f\n", dist_name[dist], em, ew, bound);
		assert_true(em <= bound);
		assert_true(ew <= eps_bound(track_stream(n, 200)));
		/* merging an empty sketch changes nothing */
		sl_kll *e = sl_kll_new(&b, 100, 1);
		double q50 = sl_kll_quantile(a, 0.5);
		assert_int_equal(sl_kll_merge(a, e), SL_OK);
		assert_true(sl_kll_quantile(a, 0.5) == q50);
		assert_true(sl_kll_rank_error(a) == em);
		/* and merging into an empty one copies it */
		assert_int_equal(sl_kll_merge(e, c), SL_OK);
		assert_int_equal(sl_kll_count(e), n - cut);
		sl_kll_free(e);
		sl_kll_free(a);
		sl_kll_free(c);
		sl_kll_free(whole);
		free(sorted);
	}
	free(x);
	assert_int_equal(b.used, 0);
}

static void merge_different_k(void **state)
{
	(void)state;
	tu_rng r = {seed + 3};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	size_t n = 150000, cut = 100000;
	double *x = malloc(n * sizeof *x);
	assert_non_null(x);
	fill(x, n, EXPONENTIAL, &r);
	double *sorted = tu_sorted_copy(x, n);
	static const uint32_t pairs[][2] = {{50, 400}, {400, 50}, {8, 200},
					    {200, 8}};
	for (int i = 0; i < 4; i++) {
		uint32_t ka = pairs[i][0], kb = pairs[i][1];
		sl_kll *a = feed(&b, ka, tu_next(&r), x, cut);
		sl_kll *c = feed(&b, kb, tu_next(&r), x + cut, n - cut);
		assert_int_equal(sl_kll_merge(a, c), SL_OK);
		assert_int_equal(sl_kll_k(a), ka);
		assert_int_equal(sl_kll_k(c), kb);
		double eps = check_sketch(a, sorted, n, &r);
		double bound = eps_bound(track_merge(track_stream(cut, ka),
						     track_stream(n - cut, kb), ka));
		printf("  k=%u <- k=%u: error %.5f, derived bound %.5f\n", ka,
		       kb, eps, bound);
		assert_true(eps <= bound);
		sl_kll_free(a);
		sl_kll_free(c);
	}
	free(sorted);
	free(x);
	assert_int_equal(b.used, 0);
}

static void seven_way_merge(void **state)
{
	(void)state;
	tu_rng r = {seed + 4};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	static const uint32_t ks[7] = {200, 50, 100, 200, 8, 300, 200};
	size_t n = 300000;
	double *x = malloc(n * sizeof *x);
	assert_non_null(x);
	for (int dist = DUPLICATES; dist <= ZIPF; dist++) {
		fill(x, n, dist, &r);
		double *sorted = tu_sorted_copy(x, n);
		sl_kll *piece[7];
		vtrack track[7];
		size_t at = 0;
		for (int i = 0; i < 7; i++) {
			size_t len = i == 6 ? n - at : 1 + tu_below(&r, n / 7);
			piece[i] = feed(&b, ks[i], tu_next(&r), x + at, len);
			track[i] = track_stream(len, ks[i]);
			at += len;
		}
		/* a tree: (0 <- 1), (2 <- 3), (4 <- 5 <- 6), then all into 0 */
		static const int order[6][2] = {{0, 1}, {2, 3}, {5, 6}, {4, 5},
						{2, 4}, {0, 2}};
		for (int i = 0; i < 6; i++) {
			int d = order[i][0], s = order[i][1];
			assert_int_equal(sl_kll_merge(piece[d], piece[s]), SL_OK);
			track[d] = track_merge(track[d], track[s], ks[d]);
		}
		assert_int_equal(sl_kll_count(piece[0]), n);
		double eps = check_sketch(piece[0], sorted, n, &r);
		printf("  %-11s 7-way merge error %.5f, derived bound %.5f\n",
		       dist_name[dist], eps, eps_bound(track[0]));
		assert_true(eps <= eps_bound(track[0]));
		for (int i = 0; i < 7; i++)
			sl_kll_free(piece[i]);
		free(sorted);
	}
	free(x);
	assert_int_equal(b.used, 0);
}

/*
 * Depth: self-merges double every weight (exactly, the stated error stays
 * the same), so a sketch passes n = 2^63 and ~57 levels quickly. Two such
 * sketches then merge with compactions at high levels, and more values are
 * added at the bottom. Every input is a copy of the multiset {0, .., 999},
 * so the exact rank of x is known: [x, x + 1] / 1000.
 */
static void deep_levels(void **state)
{
	(void)state;
	tu_rng r = {seed + 5};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	enum { M = 1000 };
	double v[M];
	for (int i = 0; i < M; i++)
		v[i] = i;
	sl_kll *s[2];
	for (int j = 0; j < 2; j++) {
		s[j] = sl_kll_new(&b, 200, tu_next(&r));
		assert_non_null(s[j]);
		for (int i = M - 1; i > 0; i--) { /* shuffle */
			int t = (int)tu_below(&r, (uint64_t)i + 1);
			double tmp = v[i];
			v[i] = v[t];
			v[t] = tmp;
		}
		for (int i = 0; i < 3 * M; i++)
			sl_kll_add(s[j], v[i % M]);
	}
	size_t used = b.used;
	for (int d = 0; d < 52; d++) {
		double before = sl_kll_rank_error(s[0]);
		assert_int_equal(sl_kll_merge(s[0], s[0]), SL_OK);
		double after = sl_kll_rank_error(s[0]);
		assert_true(fabs(after - before) <= 1e-12 * before);
		if (d < 50)
			assert_int_equal(sl_kll_merge(s[1], s[1]), SL_OK);
	}
	assert_int_equal(sl_kll_count(s[0]), (uint64_t)3 * M << 52);
	/* a further doubling would pass 2^64: refused, nothing changes */
	assert_int_equal(sl_kll_merge(s[0], s[0]), SL_EINVAL);
	assert_int_equal(sl_kll_count(s[0]), (uint64_t)3 * M << 52);
	assert_int_equal(sl_kll_merge(s[0], s[1]), SL_OK);
	uint64_t n = ((uint64_t)3 * M << 52) + ((uint64_t)3 * M << 50);
	assert_int_equal(sl_kll_count(s[0]), n);
	for (int i = 0; i < 100 * M; i++)
		sl_kll_add(s[0], v[i % M]);
	n += 100 * M;
	assert_int_equal(sl_kll_count(s[0]), n);
	assert_int_equal(b.used, used);
	double eps = sl_kll_rank_error(s[0]);
	printf("  n=%.4g rank error %.5f\n", (double)n, eps);
	assert_true(eps < 0.05);
	/* 99 queries at once: the union bound, as in check_sketch */
	double all = eps * sqrt(log(2.0 * 99 / 0.05) / log(2 / 0.05));
	int beyond = 0;
	for (int j = 1; j <= 99; j++) {
		double q = j / 100.0;
		double x = sl_kll_quantile(s[0], q);
		assert_true(x == floor(x) && x >= 0 && x < M);
		/* true normalized rank interval of x: [x, x + 1] / M */
		double lt = x / M, le = (x + 1) / M;
		if (fmax(lt - q, q - le) / eps > worst_ratio)
			worst_ratio = fmax(lt - q, q - le) / eps;
		beyond += !(lt <= q + eps && le >= q - eps);
		assert_true(lt <= q + all && le >= q - all);
	}
	assert_true(beyond <= 0.05 * 99);
	assert_true(sl_kll_quantile(s[0], 0) == 0);
	assert_true(sl_kll_quantile(s[0], 1) == M - 1);
	sl_kll_free(s[0]);
	sl_kll_free(s[1]);
	assert_int_equal(b.used, 0);
}

static void memory_fixed_at_creation(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	/* the documented bound: about 4k + 8 * 64 items (3k for the levels,
	 * 8: the smallest level capacity, k more for level 0) plus a small
	 * header; level 0 alone holds at least k */
	for (uint32_t k = SL_KLL_MIN_K; k <= 4000; k = k * 3 / 2) {
		size_t bytes = sl_kll_bytes(k);
		assert_true(bytes >= (size_t)k * 5 * sizeof(double) / 2);
		assert_true(bytes <= 1024 + ((size_t)4 * k + 8 * 64 + 1) * sizeof(double));
		assert_true(sl_kll_bytes(k + 1) >= bytes);
	}
	assert_null(sl_kll_new(&b, SL_KLL_MIN_K - 1, 1));
	assert_int_equal(b.used, 0);
	sl_kll_free(NULL);

	size_t bytes = sl_kll_bytes(SL_KLL_DEFAULT_K);
	printf("  sl_kll_bytes(200) = %zu\n", bytes);
	/* a budget one byte short refuses, and is left as it was */
	sl_budget small;
	sl_budget_init(&small, bytes - 1);
	assert_null(sl_kll_new(&small, SL_KLL_DEFAULT_K, 1));
	assert_int_equal(small.used, 0);
	/* a failing allocator too */
	sl_budget f;
	tu_fail_state fs = {.allow = 0};
	sl_budget_init(&f, 1 << 20);
	sl_budget_set_alloc(&f, tu_failing_alloc, &fs);
	assert_null(sl_kll_new(&f, SL_KLL_DEFAULT_K, 1));
	assert_int_equal(f.used, 0);
	assert_int_equal(fs.failures, 1);

	/* exactly bytes, never more, through an adversarial stream (long
	 * sorted runs, then alternating extremes, then one repeated value) */
	sl_budget exact;
	sl_budget_init(&exact, bytes);
	sl_kll *s = sl_kll_new(&exact, SL_KLL_DEFAULT_K, 7);
	assert_non_null(s);
	assert_int_equal(exact.used, bytes);
	uint64_t n = 0;
	for (int round = 0; round < 4; round++) {
		for (uint32_t i = 0; i < 500000; i++, n++) {
			double v = round == 0 ? i : round == 1 ? -(double)i
				 : round == 2 ? ((i & 1) ? 1e300 : -1e300) : 5;
			sl_kll_add(s, v);
		}
		assert_int_equal(exact.used, bytes);
		assert_int_equal(sl_kll_count(s), n);
	}
	assert_int_equal(exact.peak, bytes);
	assert_true(sl_kll_quantile(s, 0) == -1e300);
	assert_true(sl_kll_quantile(s, 1) == 1e300);
	/* weights still add up: rank of the maximum is exactly 1 */
	assert_true(sl_kll_rank(s, 1e300) == 1);
	assert_true(sl_kll_rank(s, -INFINITY) == 0);
	sl_kll_free(s);
	assert_int_equal(exact.used, 0);
}

static void nan_and_empty(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_kll *s = sl_kll_new(&b, 50, 3), *t = sl_kll_new(&b, 50, 3);
	assert_non_null(s);
	assert_non_null(t);
	assert_int_equal(sl_kll_count(s), 0);
	assert_true(isnan(sl_kll_quantile(s, 0.5)));
	assert_true(isnan(sl_kll_quantile(s, 0)));
	assert_true(isnan(sl_kll_rank(s, 1)));
	assert_true(sl_kll_rank_error(s) == 0);
	sl_kll_add(s, NAN);
	assert_int_equal(sl_kll_count(s), 0);
	/* same seed, same values, NaN interleaved: identical answers */
	tu_rng r = {seed + 6};
	for (int i = 0; i < 20000; i++) {
		double v = tu_unit(&r);
		sl_kll_add(s, v);
		sl_kll_add(s, NAN);
		sl_kll_add(t, v);
	}
	assert_int_equal(sl_kll_count(s), 20000);
	assert_true(sl_kll_rank_error(s) == sl_kll_rank_error(t));
	for (int j = 0; j <= 100; j++)
		assert_true(sl_kll_quantile(s, j / 100.0) ==
			    sl_kll_quantile(t, j / 100.0));
	assert_true(isnan(sl_kll_quantile(s, NAN)));
	assert_true(isnan(sl_kll_rank(s, NAN)));
	/* infinities are values */
	sl_kll_add(s, -INFINITY);
	sl_kll_add(s, INFINITY);
	assert_true(sl_kll_quantile(s, 0) == -INFINITY);
	assert_true(sl_kll_quantile(s, 1) == INFINITY);
	assert_true(sl_kll_quantile(s, -3) == -INFINITY);
	assert_true(sl_kll_quantile(s, 7) == INFINITY);
	sl_kll_free(s);
	sl_kll_free(t);
	assert_int_equal(b.used, 0);
}

/* The rank checker rejects wrong answers (so the tests above can fail). */
static void checker_can_fail(void **state)
{
	(void)state;
	tu_rng r = {seed + 7};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	size_t n = 100000;
	double *x = malloc(n * sizeof *x);
	assert_non_null(x);
	fill(x, n, UNIFORM, &r);
	double *sorted = tu_sorted_copy(x, n);
	sl_kll *s = feed(&b, 200, 11, x, n);
	double eps = sl_kll_rank_error(s);
	double good = sl_kll_quantile(s, 0.5);
	assert_true(rank_ok(sorted, n, good, 0.5, eps));
	/* the value at true rank 0.5 + 2 eps, or 0.5 - 2 eps, is refused */
	assert_false(rank_ok(sorted, n, sorted[(size_t)((0.5 + 2 * eps) * n)],
			     0.5, eps));
	assert_false(rank_ok(sorted, n, sorted[(size_t)((0.5 - 2 * eps) * n)],
			     0.5, eps));
	assert_false(rank_ok(sorted, n, sl_kll_quantile(s, 0.9), 0.5, eps));
	/* the exact answer passes with eps 0; its neighbour does not */
	assert_true(rank_ok(sorted, n, sorted[n / 2 - 1], 0.5, 0));
	assert_false(rank_ok(sorted, n, sorted[n / 2 + 1], 0.5, 0));
	/* duplicates: 10 values each 1/10 of the data. 3's interval is
	 * [0.3, 0.4]: fine for q = 0.35, not for q = 0.5 */
	for (size_t i = 0; i < n; i++)
		x[i] = (double)(i % 10);
	free(sorted);
	sorted = tu_sorted_copy(x, n);
	assert_true(rank_ok(sorted, n, 3, 0.35, 0));
	assert_true(rank_ok(sorted, n, 3, 0.4, 0));
	assert_false(rank_ok(sorted, n, 3, 0.5, 0.05));
	assert_true(rank_ok(sorted, n, 3, 0.5, 0.1));
	sl_kll_free(s);
	free(sorted);
	free(x);
	assert_int_equal(b.used, 0);
}

/* Prints and resets the worst ratio each test saw. */
static int ratio_report(void **state)
{
	(void)state;
	if (worst_ratio > 0)
		printf("  worst observed error / stated error: %.3f\n",
		       worst_ratio);
	if (worst_ratio > worst_overall)
		worst_overall = worst_ratio;
	worst_ratio = 0;
	return 0;
}

int main(void)
{
	seed = tu_seed("test_kll", 20240611);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(exact_until_first_compaction, ratio_report),
		cmocka_unit_test_teardown(every_rank_within_stated_error, ratio_report),
		cmocka_unit_test_teardown(signed_zeros_and_ties, ratio_report),
		cmocka_unit_test_teardown(merge_matches_one_stream, ratio_report),
		cmocka_unit_test_teardown(merge_different_k, ratio_report),
		cmocka_unit_test_teardown(seven_way_merge, ratio_report),
		cmocka_unit_test_teardown(deep_levels, ratio_report),
		cmocka_unit_test_teardown(memory_fixed_at_creation, ratio_report),
		cmocka_unit_test_teardown(nan_and_empty, ratio_report),
		cmocka_unit_test_teardown(checker_can_fail, ratio_report),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("worst observed error / stated error: %.3f; queries beyond the "
	       "stated error: %ld of %ld\n", worst_overall, beyond_eps,
	       queries_checked);
	return rc;
}
