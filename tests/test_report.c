/*
 * test_report.c: the report as a whole, through the library API.
 *  - merge: a report of log A merged with one of log B equals, in every
 *    exact figure and in the HLL registers, one report fed A then B;
 *  - a budget that starts refusing after set-up: feeding never fails, exact
 *    counters stay exact, and sketches degrade;
 *  - the minimum budget is enforced with SL_EBUDGET;
 *  - quantiles: request times (lognormal, many 0.000) and sizes (Pareto)
 *    against the sorted values: exact for a small log, within the stated
 *    relative error past 4096 values, and the same doubles whether the
 *    lines go through one report or 2 .. 8 merged parts (as -j does).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed;

/* n combined lines into buf; returns the length. Clients and URLs are drawn
 * from nclients / nurls values. */
static size_t gen(char *buf, size_t cap, tu_rng *r, size_t n, unsigned nclients, unsigned nurls,
		  int64_t t0)
{
	static const int st[] = {200, 200, 404, 301, 500};
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t t = t0 + (int64_t)i * 7;
		char when[27];
		tu_log_time(when, t);
		unsigned c = (unsigned)tu_below(r, nclients), u = (unsigned)tu_below(r, nurls);
		if (i % 101 == 7) {
			len += (size_t)snprintf(buf + len, cap - len, "garbage %zu\n", i);
			continue;
		}
		len += (size_t)snprintf(buf + len, cap - len,
			"10.0.%u.%u - - [%s] \"GET /u/%u?x=%u HTTP/1.1\" %d %u \"-\" \"ua%u\" 0.%03u\n",
			c >> 8, c & 255, when, u % 50, u, st[u % 5], u * 3, c % 7, u % 1000);
	}
	return len;
}

static void assert_reports_equal(const sl_report *a, const sl_report *b)
{
	assert_int_equal(a->lines, b->lines);
	assert_int_equal(a->requests, b->requests);
	assert_int_equal(a->malformed, b->malformed);
	assert_int_equal(a->bytes_sent, b->bytes_sent);
	assert_int_equal(a->bytes_sent_high, b->bytes_sent_high);
	assert_int_equal(a->first_time, b->first_time);
	assert_int_equal(a->last_time, b->last_time);
	assert_memory_equal(a->status, b->status, sizeof a->status);
	assert_memory_equal(&a->methods, &b->methods, sizeof a->methods);
	assert_int_equal(a->request_time.n, b->request_time.n);
	assert_true(a->request_time.min == b->request_time.min);
	assert_true(a->request_time.max == b->request_time.max);
	assert_int_equal(sl_relq_count(a->request_time_q), sl_relq_count(b->request_time_q));
	const sl_distinct *da[2] = {a->ips, a->visitors}, *db[2] = {b->ips, b->visitors};
	for (int k = 0; k < 2; k++) {
		assert_int_equal(sl_distinct_is_exact(da[k]), sl_distinct_is_exact(db[k]));
		if (sl_distinct_is_exact(da[k])) {
			assert_true(sl_distinct_estimate(da[k]).estimate ==
				    sl_distinct_estimate(db[k]).estimate);
		} else {
			const sl_hll *ha = sl_distinct_hll(da[k]), *hb = sl_distinct_hll(db[k]);
			assert_int_equal(sl_hll_precision(ha), sl_hll_precision(hb));
			for (uint32_t i = 0; i < (1u << sl_hll_precision(ha)); i++)
				assert_int_equal(sl_hll_register(ha, i), sl_hll_register(hb, i));
		}
	}
	for (int t = 0; t < SL_TOP_COUNT; t++) {
		assert_int_equal(sl_topk_total(a->top[t]), sl_topk_total(b->top[t]));
		if (sl_topk_is_exact(a->top[t]) && sl_topk_is_exact(b->top[t])) {
			sl_topk_row ra[64], rb[64];
			size_t na = sl_topk_list(a->top[t], ra, 64), nb = sl_topk_list(b->top[t], rb, 64);
			assert_int_equal(na, nb);
			for (size_t i = 0; i < na; i++) {
				assert_int_equal(ra[i].count, rb[i].count);
				assert_int_equal(ra[i].len, rb[i].len);
				assert_memory_equal(ra[i].value, rb[i].value, ra[i].len);
			}
		}
	}
	assert_int_equal(sl_series_len(a->per_hour), sl_series_len(b->per_hour));
	for (size_t i = 0; i < sl_series_len(a->per_hour); i++) {
		int64_t ta, tb;
		uint64_t ca, cb;
		sl_series_get(a->per_hour, i, &ta, &ca);
		sl_series_get(b->per_hour, i, &tb, &cb);
		assert_int_equal(ta, tb);
		assert_int_equal(ca, cb);
	}
}

static void merge_matches_one_pass(size_t max_bytes, unsigned clients, size_t n)
{
	tu_rng r = {seed};
	size_t cap = n * 200;
	char *a = malloc(cap), *b = malloc(cap);
	size_t la = gen(a, cap, &r, n, clients, 400, 1700000000);
	size_t lb = gen(b, cap, &r, n, clients, 400, 1700000000 + 3 * 86400);
	sl_budget bud;
	sl_budget_init(&bud, 64 << 20);
	sl_report *ra, *rb, *rall;
	assert_int_equal(sl_report_new(&ra, &bud, SL_FMT_COMBINED, max_bytes), SL_OK);
	assert_int_equal(sl_report_new(&rb, &bud, SL_FMT_COMBINED, max_bytes), SL_OK);
	assert_int_equal(sl_report_new(&rall, &bud, SL_FMT_COMBINED, max_bytes), SL_OK);
	sl_report_feed(ra, a, la);
	sl_report_feed(rb, b, lb);
	sl_report_feed(rall, a, la);
	sl_report_feed(rall, b, lb);
	assert_int_equal(sl_report_merge(ra, rb), SL_OK);
	assert_reports_equal(ra, rall);
	assert_int_equal(ra->lines, 2 * n);
	sl_report *other;
	assert_int_equal(sl_report_new(&other, &bud, SL_FMT_COMMON, max_bytes), SL_OK);
	assert_int_equal(sl_report_merge(ra, other), SL_EMISMATCH);
	sl_report_free(other);
	sl_report_free(ra);
	sl_report_free(rb);
	sl_report_free(rall);
	assert_int_equal(bud.used, 0);
	free(a);
	free(b);
}

static void merge_exact(void **state)
{
	(void)state;
	merge_matches_one_pass(1 << 20, 300, 20000);
}

static void merge_degraded(void **state)
{
	(void)state;
	/* many clients in the minimum budget: the distinct counters become HLLs */
	merge_matches_one_pass(sl_report_min_bytes(), 60000, 60000);
}

static void refusing_budget_degrades(void **state)
{
	(void)state;
	tu_rng r = {seed + 1};
	size_t n = 50000, cap = n * 200;
	char *a = malloc(cap);
	size_t la = gen(a, cap, &r, n, 60000, 20000, 1600000000);
	sl_budget bud;
	tu_fail_state fs = {.allow = -1};
	sl_budget_init(&bud, 8 << 20);
	sl_budget_set_alloc(&bud, tu_failing_alloc, &fs);
	sl_report *rep;
	assert_int_equal(sl_report_new(&rep, &bud, SL_FMT_COMBINED, 4 << 20), SL_OK);
	fs.allow = fs.calls; /* every allocation from now on fails */
	sl_report_feed(rep, a, la);
	assert_int_equal(rep->lines, n);
	assert_int_equal(rep->malformed, (n + 93) / 101);
	assert_int_equal(rep->requests, n - rep->malformed);
	assert_false(sl_distinct_is_exact(rep->ips));
	sl_estimate e = sl_distinct_estimate(rep->ips);
	assert_true(e.low <= e.estimate && e.estimate <= e.high);
	assert_true(e.estimate > 30000); /* 60000 clients drawn 49500 times: ~34k distinct */
	print_message("allocations refused: %ld\n", fs.failures);
	assert_true(fs.failures > 0);
	sl_report_free(rep);
	assert_int_equal(bud.used, 0);
	free(a);
}

static void budget_minimum(void **state)
{
	(void)state;
	sl_budget bud;
	sl_budget_init(&bud, 64 << 20);
	sl_report *rep = (sl_report *)1;
	assert_int_equal(sl_report_new(&rep, &bud, SL_FMT_COMBINED, sl_report_min_bytes() - 1),
			 SL_EBUDGET);
	assert_null(rep);
	assert_int_equal(sl_report_new(&rep, &bud, SL_FMT_AUTO, 1 << 20), SL_EINVAL);
	assert_int_equal(sl_report_new(&rep, &bud, SL_FMT_COMBINED, sl_report_min_bytes()), SL_OK);
	assert_true(bud.peak <= sl_report_min_bytes());
	sl_report_free(rep);
	/* a parent budget smaller than the report's share: SL_ENOMEM, no leak */
	sl_budget small;
	sl_budget_init(&small, sl_report_min_bytes() / 2);
	assert_int_equal(sl_report_new(&rep, &small, SL_FMT_COMBINED, sl_report_min_bytes()),
			 SL_ENOMEM);
	assert_int_equal(small.used, 0);
}

static void peak_never_exceeds_share(void **state)
{
	(void)state;
	tu_rng r = {seed + 2};
	size_t n = 40000, cap = n * 200;
	char *a = malloc(cap);
	size_t la = gen(a, cap, &r, n, 100000, 100000, 1500000000);
	size_t share = 300 << 10;
	sl_budget bud;
	sl_budget_init(&bud, 64 << 20);
	sl_report *rep;
	assert_int_equal(sl_report_new(&rep, &bud, SL_FMT_COMBINED, share), SL_OK);
	sl_report_feed(rep, a, la);
	print_message("share %zu, peak %zu\n", share, bud.peak);
	assert_true(bud.peak <= share);
	sl_report_free(rep);
	free(a);
}

/* ---- quantiles ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* n combined lines with lognormal request times (3 decimals: many 0.000)
 * and Pareto sizes; the values go to times[] and sizes[]. */
static size_t gen_timed(char *buf, size_t cap, tu_rng *r, size_t n, double *times,
			double *sizes)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		double u = tu_unit(r), v = tu_unit(r);
		double z = sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
		char t[32];
		snprintf(t, sizeof t, "%.3f", exp(log(0.004) + 2.0 * z));
		times[i] = strtod(t, NULL);
		unsigned long sz = (unsigned long)floor(100 / pow(1 - tu_unit(r), 1 / 1.1));
		if (sz > 4000000000UL)
			sz = 4000000000UL;
		sizes[i] = (double)sz;
		char when[27];
		tu_log_time(when, 1700000000 + (int64_t)i);
		len += (size_t)snprintf(buf + len, cap - len,
			"10.0.0.%zu - - [%s] \"GET /x HTTP/1.1\" 200 %lu \"-\" \"ua\" %s\n",
			i % 200, when, sz, t);
	}
	return len;
}

static void check_quantiles(const sl_relq *q, double *vals, size_t n, const char *what)
{
	qsort(vals, n, sizeof *vals, cmp_double);
	double rel = sl_relq_relative_error(q);
	assert_true(rel == (n <= 4096 ? 0 : SL_RELQ_DEFAULT_ALPHA));
	assert_int_equal(sl_relq_count(q), n);
	for (int i = 0; i <= 1000; i++) {
		double qq = i < 1000 ? i / 1000.0 : 0.9999;
		assert_true(sl_relq_bounded(q, qq));
		double truth = vals[sl_relq_rank(qq, n) - 1], est = sl_relq_quantile(q, qq);
		if (!(fabs(est - truth) <= rel * truth * (1 + 1e-9)))
			fail_msg("%s q=%g: %.17g, true %.17g (seed %llu)", what, qq, est, truth,
				 (unsigned long long)seed);
	}
}

static void assert_same_quantiles(const sl_relq *a, const sl_relq *b)
{
	assert_int_equal(sl_relq_count(a), sl_relq_count(b));
	for (int i = 0; i <= 1000; i++) {
		double x = sl_relq_quantile(a, i / 1000.0), y = sl_relq_quantile(b, i / 1000.0);
		assert_true(x == y);
	}
}

static void quantiles_at(size_t n)
{
	tu_rng r = {seed ^ n};
	size_t cap = n * 160 + 1;
	char *buf = malloc(cap);
	double *times = malloc(n * sizeof *times), *sizes = malloc(n * sizeof *sizes);
	assert_true(buf && times && sizes);
	size_t len = gen_timed(buf, cap, &r, n, times, sizes);
	sl_budget bud;
	sl_budget_init(&bud, 64 << 20);
	sl_report *one;
	assert_int_equal(sl_report_new(&one, &bud, SL_FMT_COMBINED, 1 << 20), SL_OK);
	sl_report_feed(one, buf, len);
	assert_int_equal(one->requests, n);
	for (int parts = 2; parts <= 8; parts += 3) {
		sl_report *all;
		assert_int_equal(sl_report_new(&all, &bud, SL_FMT_COMBINED, 1 << 20), SL_OK);
		size_t at = 0;
		for (int p = 0; p < parts; p++) {
			/* cut at a line end near p/parts of the buffer */
			size_t end = p + 1 == parts ? len : len / (size_t)parts * (size_t)(p + 1);
			while (end < len && buf[end - 1] != '\n')
				end++;
			sl_report *part;
			assert_int_equal(sl_report_new(&part, &bud, SL_FMT_COMBINED, 1 << 20), SL_OK);
			sl_report_feed(part, buf + at, end - at);
			assert_int_equal(sl_report_merge(all, part), SL_OK);
			sl_report_free(part);
			at = end;
		}
		assert_same_quantiles(all->request_time_q, one->request_time_q);
		assert_same_quantiles(all->response_bytes_q, one->response_bytes_q);
		sl_report_free(all);
	}
	check_quantiles(one->request_time_q, times, n, "request_time");
	check_quantiles(one->response_bytes_q, sizes, n, "response_bytes");
	sl_report_free(one);
	assert_int_equal(bud.used, 0);
	free(buf);
	free(times);
	free(sizes);
}

static void quantiles_exact_when_small(void **state)
{
	(void)state;
	quantiles_at(3000);
}

static void quantiles_relative_and_merge_invariant(void **state)
{
	(void)state;
	quantiles_at(60000);
}

/* --exact: quantiles exact past the raw arrays, through the external sort,
 * whole or merged from parts (each part's sort and raw values move into the
 * merged report's). */
static void exact_quantiles_through_the_sort(void **state)
{
	(void)state;
	size_t n = 30000;
	tu_rng r = {seed ^ 99};
	size_t cap = n * 160 + 1;
	char *buf = malloc(cap);
	double *times = malloc(n * sizeof *times), *sizes = malloc(n * sizeof *sizes);
	assert_true(buf && times && sizes);
	size_t len = gen_timed(buf, cap, &r, n, times, sizes);
	qsort(times, n, sizeof *times, cmp_double);
	qsort(sizes, n, sizeof *sizes, cmp_double);
	sl_budget bud;
	sl_budget_init(&bud, 256 << 20);
	size_t max = sl_report_min_bytes_exact(10) + (1 << 20);
	int p = sl_report_hll_precision(max);
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	static const double qs[] = {0.5, 0.9, 0.99, 0.999};
	for (int parts = 1; parts <= 3; parts++) {
		sl_report *all;
		assert_int_equal(sl_report_new_exact(&all, &bud, SL_FMT_COMBINED, max, p, tmp, 10),
				 SL_OK);
		size_t at = 0;
		for (int k = 0; k < parts; k++) {
			size_t end = k + 1 == parts ? len : len / (size_t)parts * (size_t)(k + 1);
			while (end < len && buf[end - 1] != '\n')
				end++;
			if (parts == 1) {
				sl_report_feed(all, buf, len);
				break;
			}
			sl_report *part;
			assert_int_equal(sl_report_new_exact(&part, &bud, SL_FMT_COMBINED, max, p,
							     tmp, 10),
					 SL_OK);
			sl_report_feed(part, buf + at, end - at);
			assert_int_equal(sl_report_merge(all, part), SL_OK);
			sl_report_free(part);
			at = end;
		}
		assert_int_equal(sl_report_finish_exact(all), SL_OK);
		assert_true(sl_relq_spilled(all->request_time_q) > 0);
		for (int i = 0; i < 4; i++) {
			double t = times[sl_relq_rank(qs[i], n) - 1], z = sizes[sl_relq_rank(qs[i], n) - 1];
			double gt = sl_relq_quantile(all->request_time_q, qs[i]);
			double gz = sl_relq_quantile(all->response_bytes_q, qs[i]);
			if (gt != t || gz != z)
				fail_msg("%d parts, q=%g: time %.17g (true %.17g), size %.17g (true %.17g)",
					 parts, qs[i], gt, t, gz, z);
		}
		assert_true(sl_relq_quantile(all->request_time_q, 0) == times[0]);
		assert_true(sl_relq_quantile(all->request_time_q, 1) == times[n - 1]);
		sl_report_free(all);
	}
	assert_int_equal(bud.used, 0);
	free(buf);
	free(times);
	free(sizes);
}

int main(void)
{
	seed = tu_seed("test_report", 7);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_exact),
		cmocka_unit_test(merge_degraded),
		cmocka_unit_test(refusing_budget_degrades),
		cmocka_unit_test(budget_minimum),
		cmocka_unit_test(peak_never_exceeds_share),
		cmocka_unit_test(quantiles_exact_when_small),
		cmocka_unit_test(quantiles_relative_and_merge_invariant),
		cmocka_unit_test(exact_quantiles_through_the_sort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
