/*
 * test_bloom.c: the Bloom filter (lib/sketch/bloom.c) against what can be checked
 * exactly or from first principles:
 *  - no false negatives, ever, and a key added twice checks present;
 *  - the fill (bits set / m) against its expectation 1 - (1 - 1/m)^(kn);
 *  - the observed false-positive rate over a large set of absent keys
 *    within the Chernoff bound of fill^k, and not far below it either;
 *  - the running expected count of wrongly "present" adds against a sum
 *    the test computes itself, and the count observed on distinct keys
 *    within the stated 95% bound (the bound `sluice dedup --approx` prints);
 *  - the sizing math (k for a rate, bits for bytes, capacity) and the bound
 *    function against exact Poisson tails;
 *  - allocation failure and bad arguments.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t seed;

/* A key: 8 salt bytes, 8 counter bytes, then 0..15 filler bytes (so keys
 * have various lengths). Distinct (salt, i) give distinct keys. */
static size_t make_key(char *buf, uint64_t salt, uint64_t i)
{
	memcpy(buf, &salt, 8);
	memcpy(buf + 8, &i, 8);
	size_t extra = (size_t)(i % 16);
	memset(buf + 16, 'x', extra);
	return 16 + extra;
}

/* log P(X > c) for X ~ Poisson(mu), summed exactly in log space. */
static double poisson_log_tail_above(double mu, uint64_t c)
{
	/* P(X > c) = sum_{j > c} e^-mu mu^j / j!; sum enough terms. */
	double lp = -mu + (double)(c + 1) * log(mu) - lgamma((double)c + 2.0);
	double sum = 0, term = 1;
	for (uint64_t j = c + 1; j < c + 100000; j++) {
		sum += term;
		term *= mu / (double)(j + 1);
		if (term < 1e-18 * sum)
			break;
	}
	return lp + log(sum);
}

/* The checker for the bound: is P(Poisson(mu) > c) <= delta? */
static bool tail_ok(double mu, uint64_t c, double delta)
{
	return poisson_log_tail_above(mu, c) <= log(delta) + 1e-12;
}

/* Lower tail: the largest t with P(S <= t) <= alpha for a sum with mean
 * mu, by the Chernoff bound P(S <= t) <= e^-mu (e mu / t)^t (t < mu). Counts
 * below it are near impossible if the model holds. */
static double chernoff_low(double mu, double alpha)
{
	double t = floor(mu);
	while (t > 0 && -mu + t * (1 + log(mu) - log(t)) > log(alpha))
		t -= 1;
	return t;
}

static void no_false_negatives(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	tu_rng r = {seed};
	uint64_t salt = tu_next(&r);
	sl_bloom *f = sl_bloom_new(&b, 4096 * 64, 5);
	assert_non_null(f);
	char key[32];
	for (uint64_t i = 0; i < 20000; i++) {
		size_t n = make_key(key, salt, i);
		sl_bloom_add(f, key, n);
		assert_true(sl_bloom_add(f, key, n)); /* second add: present */
	}
	for (uint64_t i = 0; i < 20000; i++) {
		size_t n = make_key(key, salt, i);
		assert_true(sl_bloom_contains(f, key, n));
	}
	/* The empty key. */
	sl_bloom_add(f, "", 0);
	assert_true(sl_bloom_contains(f, "", 0));
	assert_int_equal(sl_bloom_adds(f), 40001);
	sl_bloom_free(f);
	assert_int_equal(b.used, 0);
}

/* Fill after n distinct keys, and the false-positive rate on absent keys,
 * for several shapes. */
static void fill_and_absent_rate(void **state)
{
	(void)state;
	static const struct {
		uint64_t m;
		uint32_t k;
		uint64_t n;
	} cfg[] = {
		{1 << 16, 7, 6800},	/* design point for 1% */
		{1 << 16, 3, 4000},
		{1 << 15, 10, 4000},	/* overfull: rate well above 2^-10 */
		{64 * 1000, 1, 30000},	/* m not a power of two */
		{1 << 18, 14, 9000},	/* small rate */
	};
	tu_rng r = {seed + 1};
	for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
		sl_budget b;
		sl_budget_init(&b, 1 << 20);
		uint64_t salt = tu_next(&r), absent_salt = ~salt;
		sl_bloom *f = sl_bloom_new(&b, cfg[c].m, cfg[c].k);
		assert_non_null(f);
		char key[32];
		for (uint64_t i = 0; i < cfg[c].n; i++)
			sl_bloom_add(f, key, make_key(key, salt, i));

		double m = (double)cfg[c].m, kn = (double)cfg[c].k * (double)cfg[c].n;
		double ef = 1 - pow(1 - 1 / m, kn);
		double sd = sqrt(ef * (1 - ef) / m) + 1 / m;
		double fill = (double)sl_bloom_bits_set(f) / m;
		if (fabs(fill - ef) > 8 * sd)
			fail_msg("cfg %zu: fill %.5f, expected %.5f +- %.5f", c, fill, ef, sd);

		/* Absent keys: a Binomial(M, fill^k) count if the probes
		 * behave as independent uniform draws. */
		double p = sl_bloom_fp_rate(f);
		assert_true(fabs(p - pow(fill, cfg[c].k)) < 1e-12);
		uint64_t M = 200000, fp = 0;
		for (uint64_t i = 0; i < M; i++)
			fp += sl_bloom_contains(f, key, make_key(key, absent_salt, i));
		double mu = p * (double)M;
		uint64_t hi95 = sl_bloom_chernoff_bound(mu, 0.05);
		uint64_t hi = sl_bloom_chernoff_bound(mu, 1e-9);
		double lo = chernoff_low(mu, 1e-9);
		printf("cfg %zu: m=%llu k=%u n=%llu fill=%.4f rate=%.5f observed=%.5f "
		       "(bound 95%%: %llu of %llu)\n", c, (unsigned long long)cfg[c].m,
		       cfg[c].k, (unsigned long long)cfg[c].n, fill, p,
		       (double)fp / (double)M, (unsigned long long)hi95,
		       (unsigned long long)M);
		if (fp > hi95 || fp > hi || (double)fp < lo)
			fail_msg("cfg %zu: %llu false positives, expected %.1f, 95%% bound %llu",
				 c, (unsigned long long)fp, mu, (unsigned long long)hi95);
		sl_bloom_free(f);
		assert_int_equal(b.used, 0);
	}
}

/*
 * Keys added once or several times; the test knows which adds are of new
 * keys, so it counts the false positives W itself. The filter's sums must
 * equal the ones the test computes from the fill it reads before each add,
 * and W must be within the stated 95% bound (and not far below the
 * estimate: a near-impossible low count means a broken model).
 */
static void running_expectation(void **state)
{
	(void)state;
	static const struct {
		uint64_t m;
		uint32_t k;
		uint64_t n;
		unsigned repeat_pct;	/* adds that repeat an earlier key */
	} cfg[] = {
		{1 << 17, 7, 12000, 0},	/* below capacity */
		{1 << 16, 7, 20000, 0},	/* well past capacity */
		{1 << 14, 4, 20000, 0},	/* nearly saturated */
		{64 * 333, 2, 5000, 0},
		{1 << 15, 7, 40000, 75},	/* mostly repeats */
		{1 << 14, 3, 60000, 90},
		{1 << 16, 10, 30000, 50},
	};
	tu_rng r = {seed + 2};
	for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
		sl_budget b;
		sl_budget_init(&b, 1 << 20);
		uint64_t salt = tu_next(&r), fresh = 0;
		sl_bloom *f = sl_bloom_new(&b, cfg[c].m, cfg[c].k);
		assert_non_null(f);
		char key[32];
		double sum = 0, odds = 0, est = 0, w_mean = 0;
		uint64_t wrong = 0;
		for (uint64_t i = 0; i < cfg[c].n; i++) {
			double p = pow((double)sl_bloom_bits_set(f) / (double)cfg[c].m, cfg[c].k);
			sum += p;
			odds += p / (1 - p);
			bool repeat = fresh > 0 && tu_below(&r, 100) < cfg[c].repeat_pct;
			uint64_t id = repeat ? tu_below(&r, fresh) : fresh++;
			uint64_t before = sl_bloom_bits_set(f);
			bool pr = sl_bloom_add(f, key, make_key(key, salt, id));
			/* true exactly when no bit flipped */
			assert_true(pr == (sl_bloom_bits_set(f) == before));
			assert_true(sl_bloom_bits_set(f) <= before + cfg[c].k);
			if (repeat) {
				assert_true(pr); /* no false negatives */
			} else {
				wrong += pr;
				w_mean += p;
				if (!pr)
					est += p / (1 - p);
			}
		}
		assert_true(fabs(sl_bloom_fp_expected(f) - sum) <= 1e-9 * (sum + 1));
		assert_true(fabs(sl_bloom_fp_estimate(f) - est) <= 1e-9 * (est + 1));
		assert_true(sl_bloom_fp_expected(f) >= w_mean - 1e-9);
		uint64_t bound = sl_bloom_fp_bound(f, 0.05);
		uint64_t chern = sl_bloom_chernoff_bound(sum, 0.025);
		double L = log(2 / 0.05);
		double freedman = est + L / 3 + sqrt(L * L / 9 + 2 * L * odds);
		assert_true((double)bound <= freedman && bound <= chern);
		assert_true(bound == chern || (double)bound + 1 > freedman);
		printf("cfg %zu: %llu false positives of %llu new keys; E[W] %.1f, estimate "
		       "%.1f, sum over all adds %.1f, bound %llu\n", c,
		       (unsigned long long)wrong, (unsigned long long)fresh, w_mean,
		       sl_bloom_fp_estimate(f), sum, (unsigned long long)bound);
		if (wrong > bound || (double)wrong < chernoff_low(w_mean, 1e-9))
			fail_msg("cfg %zu: %llu false positives, mean %.1f, bound %llu", c,
				 (unsigned long long)wrong, w_mean, (unsigned long long)bound);
		sl_bloom_free(f);
	}
}

static void sizing(void **state)
{
	(void)state;
	/* k = round(-log2 rate), clamped. */
	assert_int_equal(sl_bloom_k_for_rate(0.01), 7);	  /* 6.64 */
	assert_int_equal(sl_bloom_k_for_rate(0.001), 10);  /* 9.97 */
	assert_int_equal(sl_bloom_k_for_rate(0.5), 1);
	assert_int_equal(sl_bloom_k_for_rate(0.9), 1);	  /* 0.15 -> 1 */
	assert_int_equal(sl_bloom_k_for_rate(0.25), 2);
	assert_int_equal(sl_bloom_k_for_rate(0.1), 3);	  /* 3.32 */
	assert_int_equal(sl_bloom_k_for_rate(1e-15), SL_BLOOM_MAX_K);
	assert_int_equal(sl_bloom_k_for_rate(0), 0);
	assert_int_equal(sl_bloom_k_for_rate(1), 0);
	assert_int_equal(sl_bloom_k_for_rate(-0.1), 0);
	assert_int_equal(sl_bloom_k_for_rate(NAN), 0);

	/* bits for bytes: a multiple of 64 that fits, and the next does not. */
	size_t sizes[] = {200, 1000, 4096, 65536 + 7, 1 << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		uint64_t m = sl_bloom_bits_for_bytes(sizes[i]);
		assert_true(m >= 64 && m % 64 == 0);
		assert_true(sl_bloom_bytes(m) <= sizes[i]);
		assert_true(sl_bloom_bytes(m + 64) > sizes[i]);
		sl_budget b;
		sl_budget_init(&b, sizes[i]);
		sl_bloom *f = sl_bloom_new(&b, m, 3);
		assert_non_null(f); /* it really fits the budget */
		assert_int_equal(b.used, sl_bloom_bytes(m));
		sl_bloom_free(f);
	}
	assert_int_equal(sl_bloom_bits_for_bytes(8), 0);
	assert_true(sl_bloom_bits_for_bytes(SIZE_MAX / 2) == SL_BLOOM_MAX_BITS);

	/* Capacity: after that many distinct keys the rate is about `rate`. */
	static const double rates[] = {0.01, 0.05, 0.001};
	tu_rng r = {seed + 3};
	for (size_t i = 0; i < 3; i++) {
		uint64_t m = 1 << 20;
		uint32_t k = sl_bloom_k_for_rate(rates[i]);
		double cap = sl_bloom_capacity(m, k, rates[i]);
		/* independent check of the formula: fill^k = rate at n = cap */
		double fill = 1 - exp(-(double)k * cap / (double)m);
		assert_true(fabs(pow(fill, k) / rates[i] - 1) < 1e-9);
		sl_budget b;
		sl_budget_init(&b, 1 << 20);
		sl_bloom *f = sl_bloom_new(&b, m, k);
		assert_non_null(f);
		uint64_t salt = tu_next(&r);
		char key[32];
		for (uint64_t j = 0; j < (uint64_t)cap; j++)
			sl_bloom_add(f, key, make_key(key, salt, j));
		double rate = sl_bloom_fp_rate(f);
		printf("rate %.3f: k=%u capacity %.0f of %llu bits: rate reached %.5f\n",
		       rates[i], k, cap, (unsigned long long)m, rate);
		assert_true(fabs(rate / rates[i] - 1) < 0.05);
		sl_bloom_free(f);
	}
	assert_true(sl_bloom_capacity(0, 3, 0.01) == 0);
	assert_true(sl_bloom_capacity(1024, 3, 1.5) == 0);
}

static void bound_function(void **state)
{
	(void)state;
	/* The checker can fail: c = mu is not a 95% bound for mu = 10, and
	 * c = 0 is not one for mu = 1. */
	assert_false(tail_ok(10, 10, 0.05));
	assert_false(tail_ok(1, 0, 0.05));
	assert_true(tail_ok(10, 30, 0.05));

	static const double mus[] = {1e-6, 0.01, 0.02, 0.1, 0.5, 1, 2.5, 3, 10, 37.5,
				     100, 1000, 12345.6, 1e6};
	for (size_t i = 0; i < sizeof mus / sizeof *mus; i++) {
		double mu = mus[i];
		uint64_t c = sl_bloom_chernoff_bound(mu, 0.05);
		if (!tail_ok(mu, c, 0.05))
			fail_msg("mu %g: bound %llu has tail above 5%%", mu,
				 (unsigned long long)c);
		/* Not absurdly loose: Chernoff is within a few standard
		 * deviations of the exact quantile. */
		double loose = mu + 2 * sqrt(2 * mu * log(20)) + 2 * log(20);
		if ((double)c > loose)
			fail_msg("mu %g: bound %llu above %g", mu, (unsigned long long)c, loose);
		/* And monotone in mu and delta. */
		assert_true(sl_bloom_chernoff_bound(mu * 1.5, 0.05) >= c);
		assert_true(sl_bloom_chernoff_bound(mu, 0.001) >= c);
	}
	assert_int_equal(sl_bloom_chernoff_bound(0, 0.05), 0);
	assert_int_equal(sl_bloom_chernoff_bound(0.01, 0.05), 0); /* e*mu*e^-mu < 5% */
	assert_int_equal(sl_bloom_chernoff_bound(1, 0.05), 4);    /* e^-1 (e/5)^5 < 5% <= e^-1 (e/4)^4 */
	assert_true(sl_bloom_chernoff_bound(1, 0) == UINT64_MAX);
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_bloom *f = sl_bloom_new(&b, 1024, 3);
	assert_int_equal(sl_bloom_fp_bound(f, 0.05), 0); /* empty: nothing yet */
	assert_true(sl_bloom_fp_bound(f, 1.5) == UINT64_MAX);
	sl_bloom_free(f);
}

static void errors(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	assert_null(sl_bloom_new(&b, 0, 3));
	assert_null(sl_bloom_new(&b, 100, 3));	/* not a multiple of 64 */
	assert_null(sl_bloom_new(&b, 64, 0));
	assert_null(sl_bloom_new(&b, 64, SL_BLOOM_MAX_K + 1));
	assert_null(sl_bloom_new(&b, SL_BLOOM_MAX_BITS + 64, 3));
	assert_null(sl_bloom_new(&b, (uint64_t)8 << 20 << 3, 3)); /* over budget */
	assert_int_equal(b.used, 0);
	for (long allow = 0; allow < 2; allow++) {
		tu_fail_state fs = {allow, 0, 0};
		sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
		assert_null(sl_bloom_new(&b, 1024, 3));
		assert_int_equal(b.used, 0);
	}
	sl_budget_set_alloc(&b, NULL, NULL);
	sl_bloom_free(NULL);
}

int main(void)
{
	seed = tu_seed("test_bloom", 20240611);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_false_negatives),
		cmocka_unit_test(fill_and_absent_rate),
		cmocka_unit_test(running_expectation),
		cmocka_unit_test(sizing),
		cmocka_unit_test(bound_function),
		cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
