/*
 * test_report.c: the report as a whole, through the library API.
 *  - merge: a report of log A merged with one of log B equals, in every
 *    exact figure and in the HLL registers, one report fed A then B;
 *  - a budget that starts refusing after set-up: feeding never fails, exact
 *    counters stay exact, and sketches degrade;
 *  - the minimum budget is enforced with SL_EBUDGET;
 *  - quantiles: request times (lognormal, many 0.000) and sizes (Pareto)
 *    against the sorted values: exact for a small log, within the stated
 *    relative error (0 while the pool holds the raw values) past 4096
 *    values, and the same doubles whether the lines go through one report
 *    or 2 .. 8 merged parts (as -j does) when both kept their raw values or
 *    both turned into buckets;
 *  - exact whenever it fits (issue 12): 30,000 lines from sluice-gen at 1 MiB
 *    and 16 MiB against a naive reference (sort and count), 100,000 distinct
 *    clients exact at 16 MiB, worker reports whose union fits merging to an
 *    exact report, the same merge twice giving identical rows.
 */
#include "report/report.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	assert_memory_equal(sl_report_named(a, "methods")->tally, sl_report_named(b, "methods")->tally, sizeof(sl_tally));
	assert_int_equal(sl_report_named(a, "request_time")->m.n, sl_report_named(b, "request_time")->m.n);
	assert_true(sl_report_named(a, "request_time")->m.min == sl_report_named(b, "request_time")->m.min);
	assert_true(sl_report_named(a, "request_time")->m.max == sl_report_named(b, "request_time")->m.max);
	assert_int_equal(sl_relq_count(sl_report_named(a, "request_time")->q), sl_relq_count(sl_report_named(b, "request_time")->q));
	const sl_distinct *da[2] = {sl_report_named(a, "unique_ips")->distinct, sl_report_named(a, "unique_visitors")->distinct}, *db[2] = {sl_report_named(b, "unique_ips")->distinct, sl_report_named(b, "unique_visitors")->distinct};
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
		assert_int_equal(sl_topk_total(sl_report_named(a, sl_top_name(t))->top), sl_topk_total(sl_report_named(b, sl_top_name(t))->top));
		if (sl_topk_is_exact(sl_report_named(a, sl_top_name(t))->top) && sl_topk_is_exact(sl_report_named(b, sl_top_name(t))->top)) {
			sl_topk_row ra[64], rb[64];
			size_t na = sl_topk_list(sl_report_named(a, sl_top_name(t))->top, ra, 64), nb = sl_topk_list(sl_report_named(b, sl_top_name(t))->top, rb, 64);
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

/* Every row of top list t of a and b: the same keys, counts and errors. */
static void assert_same_top(const sl_topk *a, const sl_topk *b)
{
	assert_int_equal(sl_topk_is_exact(a), sl_topk_is_exact(b));
	assert_int_equal(sl_topk_total(a), sl_topk_total(b));
	size_t cap = sl_topk_capacity(a) + 1;
	sl_topk_row *ra = malloc(cap * sizeof *ra), *rb = malloc(cap * sizeof *rb);
	size_t na = sl_topk_list(a, ra, cap), nb = sl_topk_list(b, rb, cap);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(ra[i].count, rb[i].count);
		assert_int_equal(ra[i].max_error, rb[i].max_error);
		assert_int_equal(ra[i].len, rb[i].len);
		assert_memory_equal(ra[i].value, rb[i].value, ra[i].len);
	}
	free(ra);
	free(rb);
}

/* Once the pool holds more than the caches (2 MiB), sl_report_feed runs the
 * lines through its prefetch pipeline (a ring of lines between parsing and
 * recording). The sketches must see the same adds in the same order as
 * when each line is fed on its own (the ring then holds one line): the
 * same report, exact lists and Space-Saving ones alike, with malformed
 * lines between valid ones and feeds that end inside the ring. */
static void pipeline_feeds_like_single_lines(void **state)
{
	(void)state;
	tu_rng r = {seed};
	size_t n = 120000, cap = n * 200;
	char *buf = malloc(cap);
	size_t len = gen(buf, cap, &r, n, 200000, 60000, 1700000000);
	sl_budget bud;
	sl_budget_init(&bud, 64 << 20);
	sl_report *whole, *single;
	assert_int_equal(sl_report_new(&whole, &bud, SL_FMT_COMBINED, 6 << 20), SL_OK);
	assert_int_equal(sl_report_new(&single, &bud, SL_FMT_COMBINED, 6 << 20), SL_OK);
	/* the first third grows the tables (fed whole: not yet pipelined) */
	size_t third = len / 3;
	while (buf[third - 1] != '\n')
		third++;
	sl_report_feed(whole, buf, third);
	assert_true(whole->pool.used > (2u << 20)); /* the rest is pipelined */
	/* then pieces of 1 to 40 lines: most end inside the ring */
	for (size_t at = third; at < len;) {
		size_t end = at, lines = 1 + (size_t)tu_below(&r, 40);
		while (end < len && lines)
			lines -= buf[end++] == '\n';
		sl_report_feed(whole, buf + at, end - at);
		at = end;
	}
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) + 1 : len;
		sl_report_feed(single, buf + at, end - at);
		at = end;
	}
	assert_reports_equal(whole, single);
	bool some_degraded = false;
	for (int t = 0; t < SL_TOP_COUNT; t++) {
		assert_same_top(sl_report_named(whole, sl_top_name(t))->top, sl_report_named(single, sl_top_name(t))->top);
		some_degraded |= !sl_topk_is_exact(sl_report_named(whole, sl_top_name(t))->top);
	}
	assert_true(some_degraded); /* Space-Saving's adds were compared too */
	sl_report_free(whole);
	sl_report_free(single);
	free(buf);
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
	assert_false(sl_distinct_is_exact(sl_report_named(rep, "unique_ips")->distinct));
	sl_estimate e = sl_distinct_estimate(sl_report_named(rep, "unique_ips")->distinct);
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
	qsort(vals, n, sizeof *vals, tu_cmp_double);
	double rel = sl_relq_relative_error(q);
	/* past 4096 values, exact while the pool holds them (issue 12) */
	assert_true(n <= 4096 ? rel == 0 : rel == 0 || rel == SL_RELQ_DEFAULT_ALPHA);
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
	static const char *const names[] = {"request_time", "response_bytes"};
	double *vals[] = {times, sizes};
	int compared = 0;
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
		/* raw values kept or not depends on how the pool filled (one
		 * pass, or merges): the same doubles when both are exact or
		 * both in buckets, else each within its own bound */
		for (int k = 0; k < 2; k++) {
			const sl_relq *qa = sl_report_named(all, names[k])->q;
			const sl_relq *qo = sl_report_named(one, names[k])->q;
			if (sl_relq_is_exact(qa) == sl_relq_is_exact(qo)) {
				assert_same_quantiles(qa, qo);
				compared += !sl_relq_is_exact(qa);
			} else {
				check_quantiles(qa, vals[k], n, names[k]);
			}
		}
		sl_report_free(all);
	}
	if (n > 4096 && !compared)
		fail_msg("no merge compared in buckets (seed %llu)", (unsigned long long)seed);
	check_quantiles(sl_report_named(one, "request_time")->q, times, n, "request_time");
	check_quantiles(sl_report_named(one, "response_bytes")->q, sizes, n, "response_bytes");
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
	qsort(times, n, sizeof *times, tu_cmp_double);
	qsort(sizes, n, sizeof *sizes, tu_cmp_double);
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
			/* exact tables move: only the consuming merge takes them */
			assert_int_equal(sl_report_merge(all, part), SL_EINVAL);
			assert_int_equal(sl_report_merge_free(all, part), SL_OK);
			at = end;
		}
		assert_int_equal(sl_report_finish_exact(all), SL_OK);
		assert_true(sl_relq_spilled(sl_report_named(all, "request_time")->q) > 0);
		for (int i = 0; i < 4; i++) {
			double t = times[sl_relq_rank(qs[i], n) - 1], z = sizes[sl_relq_rank(qs[i], n) - 1];
			double gt = sl_relq_quantile(sl_report_named(all, "request_time")->q, qs[i]);
			double gz = sl_relq_quantile(sl_report_named(all, "response_bytes")->q, qs[i]);
			if (gt != t || gz != z)
				fail_msg("%d parts, q=%g: time %.17g (true %.17g), size %.17g (true %.17g)",
					 parts, qs[i], gt, t, gz, z);
		}
		assert_true(sl_relq_quantile(sl_report_named(all, "request_time")->q, 0) == times[0]);
		assert_true(sl_relq_quantile(sl_report_named(all, "request_time")->q, 1) == times[n - 1]);
		sl_report_free(all);
	}
	assert_int_equal(bud.used, 0);
	free(buf);
	free(times);
	free(sizes);
}

/* ---- exact whenever it fits -------------------------------------------- */

/* The naive reference: every (list, key) of the valid lines, sorted, then
 * counted by runs. List numbers: the top lists, then ips, then visitors. */
#define REF_IPS SL_TOP_COUNT
#define REF_VISITORS (SL_TOP_COUNT + 1)
#define REF_LISTS (SL_TOP_COUNT + 2)

typedef struct {
	char *key;	/* list byte, then the key */
	size_t len;
} ref_key;

typedef struct {
	ref_key *k;
	size_t n, cap;
} ref_set;

static void ref_put(ref_set *r, int list, const char *a, size_t alen, const char *b, size_t blen,
		    const char *c, size_t clen)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4096;
		r->k = realloc(r->k, r->cap * sizeof *r->k);
		assert_non_null(r->k);
	}
	char *k = malloc(1 + alen + blen + clen + 2);
	assert_non_null(k);
	size_t n = 0;
	k[n++] = (char)list;
	memcpy(k + n, a, alen);
	n += alen;
	if (b) {
		k[n++] = 0;
		memcpy(k + n, b, blen);
		n += blen;
		k[n++] = 0;
		memcpy(k + n, c, clen);
		n += clen;
	}
	r->k[r->n++] = (ref_key){k, n};
}

static int ref_cmp(const void *x, const void *y)
{
	const ref_key *a = x, *b = y;
	size_t m = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->key, b->key, m);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Feeds every valid line of text to the reference. */
static void ref_build(ref_set *r, const char *text, size_t len)
{
	sl_time_cache tc;
	memset(&tc, 0, sizeof tc);
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		sl_record rec;
		if (sl_access_parse(SL_FMT_COMBINED, p, n, &rec, &tc) == SL_OK) {
			const sl_str *f = rec.field;
			ref_put(r, SL_TOP_URL, f[SL_F_URL].p, f[SL_F_URL].len, NULL, 0, NULL, 0);
			ref_put(r, SL_TOP_PATH, f[SL_F_PATH].p, f[SL_F_PATH].len, NULL, 0, NULL, 0);
			ref_put(r, SL_TOP_IP, f[SL_F_CLIENT].p, f[SL_F_CLIENT].len, NULL, 0, NULL, 0);
			ref_put(r, SL_TOP_REFERRER, f[SL_F_REFERRER].p, f[SL_F_REFERRER].len, NULL, 0,
				NULL, 0);
			ref_put(r, SL_TOP_USER_AGENT, f[SL_F_USER_AGENT].p, f[SL_F_USER_AGENT].len,
				NULL, 0, NULL, 0);
			if (rec.status == 404)
				ref_put(r, SL_TOP_NOT_FOUND, f[SL_F_PATH].p, f[SL_F_PATH].len, NULL, 0,
					NULL, 0);
			ref_put(r, REF_IPS, f[SL_F_CLIENT].p, f[SL_F_CLIENT].len, NULL, 0, NULL, 0);
			if (rec.status / 100 != 4) /* visitors leave 4xx out (GoAccess) */
				ref_put(r, REF_VISITORS, f[SL_F_CLIENT].p, f[SL_F_CLIENT].len,
					f[SL_F_TIME].p, 11, f[SL_F_USER_AGENT].p,
					f[SL_F_USER_AGENT].len);
		}
		p += n + 1;
	}
	qsort(r->k, r->n, sizeof *r->k, ref_cmp);
}

static void ref_free(ref_set *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->k[i].key);
	free(r->k);
}

/* Checks list `list` of rep against the reference: when its sketch says it
 * is exact, every distinct key is listed with its true count; otherwise
 * every listed count bounds the truth. Returns whether the list is exact
 * and right (false when a check fails; prints why). */
static bool check_list(const sl_report *rep, const ref_set *r, int list, bool *exact)
{
	size_t lo = 0;
	while (lo < r->n && r->k[lo].key[0] != (char)list)
		lo++;
	size_t hi = lo, distinct = 0;
	while (hi < r->n && r->k[hi].key[0] == (char)list)
		hi++;
	for (size_t i = lo; i < hi; i++)
		distinct += i == lo || ref_cmp(&r->k[i], &r->k[i - 1]) != 0;
	if (list >= SL_TOP_COUNT) {
		sl_estimate e = list == REF_IPS ? sl_report_unique_ips(rep)
						: sl_report_unique_visitors(rep);
		*exact = e.exact;
		if (e.exact && e.estimate != (double)distinct) {
			print_message("list %d: %.0f distinct, truth %zu\n", list, e.estimate, distinct);
			return false;
		}
		return true;
	}
	bool ex;
	size_t cap;
	uint64_t total;
	sl_report_top_info(rep, (sl_top_list)list, &ex, &cap, &total);
	*exact = ex;
	if (total != hi - lo) {
		print_message("list %d: total %llu, truth %zu\n", list, (unsigned long long)total,
			      hi - lo);
		return false;
	}
	size_t want = distinct ? distinct : 1;
	sl_topk_row *rows = calloc(want, sizeof *rows);
	assert_non_null(rows);
	size_t k = sl_report_top(rep, (sl_top_list)list, rows, want);
	bool ok = true;
	if (ex && k != distinct) {
		print_message("list %d: %zu rows, %zu distinct keys\n", list, k, distinct);
		ok = false;
	}
	for (size_t i = 0; ok && i < k; i++) {
		/* find the row's key in the reference */
		char *q = malloc(rows[i].len + 1);
		assert_non_null(q);
		q[0] = (char)list;
		memcpy(q + 1, rows[i].value, rows[i].len);
		ref_key x = {q, rows[i].len + 1};
		size_t a = lo, b = hi;
		while (a < b) {
			size_t mid = (a + b) / 2;
			if (ref_cmp(&r->k[mid], &x) < 0)
				a = mid + 1;
			else
				b = mid;
		}
		uint64_t truth = 0;
		while (a < hi && ref_cmp(&r->k[a], &x) == 0) {
			truth++;
			a++;
		}
		free(q);
		if (ex && (rows[i].truncated || rows[i].count != truth || rows[i].max_error)) {
			print_message("list %d row %zu: count %llu, truth %llu%s\n", list, i,
				      (unsigned long long)rows[i].count, (unsigned long long)truth,
				      rows[i].truncated ? " (cut while exact)" : "");
			ok = false;
		}
		if (!ex && !rows[i].truncated &&
		    (truth > rows[i].count || rows[i].count - rows[i].max_error > truth)) {
			print_message("list %d row %zu: truth %llu outside its bounds\n", list, i,
				      (unsigned long long)truth);
			ok = false;
		}
	}
	free(rows);
	return ok;
}

/* Runs $SLUICE_GEN with args into a buffer. */
static char *generate(const char *args, size_t *len)
{
	const char *gen = getenv("SLUICE_GEN") ? getenv("SLUICE_GEN") : "./sluice-gen";
	char path[] = "/tmp/test_report_genXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s -o %s", gen, args, path);
	assert_int_equal(tu_run(cmd), 0);
	char *text = tu_slurp(path, len);
	assert_non_null(text);
	unlink(path);
	return text;
}

/* 30,000 lines of sluice-gen's Zipf traffic (default key diversity): at
 * 16 MiB every list and both distinct counts are exact and right; at 1 MiB
 * every list that says it is exact is right and every other row holds its
 * bounds (the lists that fit stay exact: the report says how many). */
static void exact_30k_lines(void **state)
{
	(void)state;
	size_t len;
	char *text = generate("--lines 30000 --seed 12", &len);
	ref_set ref = {0};
	ref_build(&ref, text, len);
	const size_t budgets[] = {1 << 20, 16 << 20};
	for (int bi = 0; bi < 2; bi++) {
		sl_budget b;
		sl_budget_init(&b, budgets[bi]);
		sl_report *rep;
		assert_int_equal(sl_report_new(&rep, &b, SL_FMT_COMBINED, budgets[bi]), SL_OK);
		sl_report_feed(rep, text, len);
		int exact = 0;
		for (int list = 0; list < REF_LISTS; list++) {
			bool ex;
			assert_true(check_list(rep, &ref, list, &ex));
			exact += ex;
			if (budgets[bi] == 16 << 20 && !ex)
				print_message("list %d not exact at 16 MiB\n", list);
			if (budgets[bi] == 16 << 20)
				assert_true(ex);
		}
		print_message("%zu bytes: %d of %d lists exact, peak %zu\n", budgets[bi], exact,
			      REF_LISTS, b.peak);
		assert_true(b.peak <= budgets[bi]);
		sl_report_free(rep);
		assert_int_equal(b.used, 0);
	}
	ref_free(&ref);
	free(text);
}

/* 100,000 distinct clients at 16 MiB: the unique count is exact (its set
 * takes the pool the top lists gave back), and the other figures keep
 * their bounds. */
static void exact_100k_ips_at_16m(void **state)
{
	(void)state;
	size_t n = 120000, cap = n * 200;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char when[27];
		unsigned c = (unsigned)(i % 100000);
		tu_log_time(when, 1700000000 + (int64_t)i);
		len += (size_t)snprintf(text + len, cap - len,
			"10.%u.%u.%u - - [%s] \"GET /p/%zu HTTP/1.1\" 200 5 \"-\" \"ua%zu\"\n",
			c >> 16, (c >> 8) & 255, c & 255, when, i % 5000, i % 300);
	}
	sl_budget b;
	sl_budget_init(&b, 16 << 20);
	sl_report *rep;
	assert_int_equal(sl_report_new(&rep, &b, SL_FMT_COMBINED, 16 << 20), SL_OK);
	sl_report_feed(rep, text, len);
	sl_estimate e = sl_report_unique_ips(rep);
	print_message("unique ips %.0f (exact %d), peak %zu\n", e.estimate, e.exact, b.peak);
	assert_true(e.exact);
	assert_true(e.estimate == 100000.0);
	assert_true(b.peak <= 16 << 20);
	sl_report_free(rep);
	free(text);
}

/* sl_report_merge_free gives what sl_report_merge gives and frees src as
 * it goes: at the end only dst is held. */
static void merge_free_equals_merge(void **state)
{
	(void)state;
	size_t n = 20000, cap = n * 200;
	char *a = malloc(cap), *bb = malloc(cap);
	assert_true(a && bb);
	tu_rng r = {seed + 9};
	size_t la = gen(a, cap, &r, n, 3000, 3000, 1700000000);
	size_t lb = gen(bb, cap, &r, n, 3000, 3000, 1700000000 + 3600);
	sl_budget root;
	sl_budget_init(&root, 64 << 20);
	sl_report *x[2], *y[2];
	for (int k = 0; k < 2; k++) {
		assert_int_equal(sl_report_new(&x[k], &root, SL_FMT_COMBINED, 2 << 20), SL_OK);
		assert_int_equal(sl_report_new(&y[k], &root, SL_FMT_COMBINED, 2 << 20), SL_OK);
		sl_report_feed(x[k], a, la);
		sl_report_feed(y[k], bb, lb);
	}
	assert_int_equal(sl_report_merge(x[0], y[0]), SL_OK);
	sl_report_free(y[0]);
	size_t before = root.used;
	assert_int_equal(sl_report_merge_free(x[1], y[1]), SL_OK);
	assert_true(root.used < before); /* y[1] is gone */
	assert_int_equal(x[0]->requests, x[1]->requests);
	for (int e = 0; e < 2; e++) {
		sl_estimate p = e ? sl_report_unique_visitors(x[0]) : sl_report_unique_ips(x[0]);
		sl_estimate q = e ? sl_report_unique_visitors(x[1]) : sl_report_unique_ips(x[1]);
		assert_true(p.estimate == q.estimate && p.exact == q.exact);
	}
	sl_topk_row rows[2][20];
	for (int t = 0; t < SL_TOP_COUNT; t++) {
		size_t n0 = sl_report_top(x[0], (sl_top_list)t, rows[0], 20);
		size_t n1 = sl_report_top(x[1], (sl_top_list)t, rows[1], 20);
		assert_int_equal(n0, n1);
		for (size_t i = 0; i < n0; i++) {
			assert_int_equal(rows[0][i].count, rows[1][i].count);
			assert_int_equal(rows[0][i].len, rows[1][i].len);
			assert_memory_equal(rows[0][i].value, rows[1][i].value, rows[0][i].len);
		}
	}
	sl_report_free(x[0]);
	sl_report_free(x[1]);
	assert_int_equal(root.used, 0);
	free(a);
	free(bb);
}

/* When the pool is full, the top lists give way before the distinct sets
 * (a key costs a top list ~100 bytes, a distinct set 8), and of the
 * distinct sets the one with more keys gives way first: 45,000 clients,
 * each with its own long URL and two user agents (90,000 visitors), in a
 * 3 MiB report that cannot hold every list exact. The IP count must stay
 * exact (the bench's 1 GiB log lost it at 64M, where the IPs' set gave way
 * while the visitors', larger, stayed exact). */
static void pool_keeps_unique_ips_longest(void **state)
{
	(void)state;
	size_t n = 90000, cap = n * 240;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char when[27];
		unsigned c = (unsigned)(i % 45000);
		tu_log_time(when, 1700000000 + (int64_t)(i % 60));
		len += (size_t)snprintf(text + len, cap - len,
			"10.%u.%u.%u - - [%s] \"GET /a/long/path/for/client/%u/page HTTP/1.1\" 200 5 "
			"\"-\" \"agent-%zu\"\n",
			c >> 16, (c >> 8) & 255, c & 255, when, c, i / 45000);
	}
	sl_budget b;
	sl_budget_init(&b, 3 << 20);
	sl_report *rep;
	assert_int_equal(sl_report_new(&rep, &b, SL_FMT_COMBINED, 3 << 20), SL_OK);
	sl_report_feed(rep, text, len);
	sl_estimate ips = sl_report_unique_ips(rep), vis = sl_report_unique_visitors(rep);
	bool url_exact;
	size_t c1;
	uint64_t t1;
	sl_report_top_info(rep, SL_TOP_URL, &url_exact, &c1, &t1);
	print_message("ips %.0f (exact %d), visitors %.0f (exact %d), url list exact %d\n",
		      ips.estimate, ips.exact, vis.estimate, vis.exact, url_exact);
	assert_false(url_exact && vis.exact); /* the budget is short: something gave way */
	assert_true(ips.exact);
	assert_true(ips.estimate == 45000.0);
	sl_report_free(rep);
	free(text);
}

/* Worker reports merged into worker 0's, whose limit is raised by what the
 * freed workers held (as the engine does): the union fits, so every list
 * stays exact and equals one report fed everything; the same merge twice
 * gives identical rows (nothing depends on addresses: the second run's
 * blocks sit elsewhere). */
static void merge_union_stays_exact(void **state)
{
	(void)state;
	size_t n = 12000, cap = n * 200;
	char *a = malloc(cap), *bb = malloc(cap);
	assert_true(a && bb);
	tu_rng r = {seed + 5};
	size_t la = gen(a, cap, &r, n, 9000, 9000, 1700000000);
	size_t lb = gen(bb, cap, &r, n, 9000, 9000, 1700000000 + 86400);
	/* each part fits its share alone (beside the fixed parts: the quantile
	 * sketches take 64 KiB each), their union only the two shares */
	const size_t share = 3 << 20;
	sl_topk_row *rows[2] = {calloc(20000, sizeof(sl_topk_row)), calloc(20000, sizeof(sl_topk_row))};
	size_t nrows[2][SL_TOP_COUNT];
	char *copies[2] = {malloc(64 << 20), malloc(64 << 20)};
	size_t clen[2] = {0, 0};
	for (int run = 0; run < 2; run++) {
		void *shift = run ? malloc(12345) : NULL; /* other addresses */
		sl_budget root;
		sl_budget_init(&root, 64 << 20);
		sl_budget w0, w1;
		sl_budget_init_child(&w0, &root, share);
		sl_budget_init_child(&w1, &root, share);
		sl_report *r0, *r1;
		assert_int_equal(sl_report_new(&r0, &w0, SL_FMT_COMBINED, share), SL_OK);
		assert_int_equal(sl_report_new(&r1, &w1, SL_FMT_COMBINED, share), SL_OK);
		sl_report_feed(r0, a, la);
		sl_report_feed(r1, bb, lb);
		assert_true(w0.peak < share && w1.peak < share); /* no part degraded */
		sl_budget_set_limit(&w0, 2 * share);
		assert_int_equal(w0.limit, 2 * share);
		sl_report_set_limit(r0, 2 * share);
		assert_int_equal(sl_report_merge(r0, r1), SL_OK);
		sl_report_free(r1);

		sl_budget ob;
		sl_budget_init(&ob, 64 << 20);
		sl_report *all;
		assert_int_equal(sl_report_new(&all, &ob, SL_FMT_COMBINED, 2 * share), SL_OK);
		sl_report_feed(all, a, la);
		sl_report_feed(all, bb, lb);
		for (int t = 0; t < SL_TOP_COUNT; t++) {
			bool ex;
			size_t c;
			uint64_t tot;
			sl_report_top_info(r0, (sl_top_list)t, &ex, &c, &tot);
			if (!ex)
				print_error("run %d: top list %d is not exact after the merge\n", run, t);
			assert_true(ex);
			size_t k = sl_report_top(r0, (sl_top_list)t, rows[0], 20000);
			size_t k2 = sl_report_top(all, (sl_top_list)t, rows[1], 20000);
			assert_int_equal(k, k2);
			nrows[run][t] = k;
			for (size_t i = 0; i < k; i++) {
				assert_int_equal(rows[0][i].count, rows[1][i].count);
				assert_int_equal(rows[0][i].len, rows[1][i].len);
				assert_memory_equal(rows[0][i].value, rows[1][i].value, rows[0][i].len);
				assert_false(rows[0][i].truncated);
				/* record the run's rows byte for byte */
				memcpy(copies[run] + clen[run], &rows[0][i].count, 8);
				clen[run] += 8;
				memcpy(copies[run] + clen[run], rows[0][i].value, rows[0][i].len);
				clen[run] += rows[0][i].len;
			}
		}
		assert_true(sl_report_unique_ips(r0).exact);
		assert_true(sl_report_unique_ips(r0).estimate == sl_report_unique_ips(all).estimate);
		assert_true(sl_report_unique_visitors(r0).estimate ==
			    sl_report_unique_visitors(all).estimate);
		sl_report_free(all);
		sl_report_free(r0);
		assert_int_equal(root.used, 0);
		free(shift);
	}
	assert_int_equal(clen[0], clen[1]);
	assert_memory_equal(copies[0], copies[1], clen[0]);
	assert_memory_equal(nrows[0], nrows[1], sizeof nrows[0]);
	free(copies[0]);
	free(copies[1]);
	free(rows[0]);
	free(rows[1]);
	free(a);
	free(bb);
}

int main(void)
{
	seed = tu_seed("test_report", 7);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_exact),
		cmocka_unit_test(pipeline_feeds_like_single_lines),
		cmocka_unit_test(merge_degraded),
		cmocka_unit_test(refusing_budget_degrades),
		cmocka_unit_test(budget_minimum),
		cmocka_unit_test(peak_never_exceeds_share),
		cmocka_unit_test(exact_30k_lines),
		cmocka_unit_test(exact_100k_ips_at_16m),
		cmocka_unit_test(pool_keeps_unique_ips_longest),
		cmocka_unit_test(merge_free_equals_merge),
		cmocka_unit_test(merge_union_stays_exact),
		cmocka_unit_test(quantiles_exact_when_small),
		cmocka_unit_test(quantiles_relative_and_merge_invariant),
		cmocka_unit_test(exact_quantiles_through_the_sort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
