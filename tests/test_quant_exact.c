/*
 * test_quant_exact.c: "exact whenever it fits" for the quantiles (issue 12),
 * through the program.
 *
 * A 20,000-line log from $SLUICE_GEN (with request times) is read by
 * `$SLUICE_BIN --json -m 4M -j J` for J = 1, 2, 3. Its response sizes and
 * request times (160 KiB of raw values each) fit the report's pool many
 * times over, so both must say "exact": true, relative error 0, and every
 * printed quantile must equal the value of rank sl_relq_rank(q, n) of the
 * values this test reads from the log itself (its own parse of the status
 * line's next field and the last field, sorted). Then the seed's 1 MiB on
 * the same log: the peak stays within the budget and the quantiles stay
 * within the relative error they state.
 *
 * Through the library: the pool when it is full. A 2 MiB report whose
 * quantile values (1.9 MB raw), 20,000 clients and 20,000 URLs cannot all
 * stay exact gives up the top lists and the quantiles' raw values, while
 * unique_ips stays exact; the quantiles keep the bound they state, and the
 * peak stays within the budget.
 */
#include "report/report.h"
#include "testutil.h"
#include "json.h"
#include "runutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static const char *sluice_bin;

typedef struct {
	double *sizes, *times;
	size_t nsizes, ntimes;
} ref_values;

/* The response size (the field after the status) and the request time
 * (the last field) of every line of the log (a size "-" is 0). */
static void read_values(const char *text, size_t len, ref_values *v)
{
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	v->sizes = malloc(lines * sizeof *v->sizes);
	v->times = malloc(lines * sizeof *v->times);
	assert_true(v->sizes && v->times);
	v->nsizes = v->ntimes = 0;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		/* the request line ends at `" `, then status and size */
		const char *q = p, *after = NULL;
		while ((q = memchr(q, '"', (size_t)(nl - q))) != NULL) {
			q++;
			if (!after && q + 4 < nl && q[0] == ' ' && q[1] >= '1' && q[1] <= '5' &&
			    q[4] == ' ')
				after = q + 5;
		}
		assert_non_null(after);
		/* "-" is the common log format's 0 bytes */
		v->sizes[v->nsizes++] = *after == '-' ? 0 : strtod(after, NULL);
		const char *last = nl;
		while (last > p && last[-1] != ' ')
			last--;
		v->times[v->ntimes++] = strtod(last, NULL);
		p = nl + 1;
	}
	qsort(v->sizes, v->nsizes, sizeof *v->sizes, tu_cmp_double);
	qsort(v->times, v->ntimes, sizeof *v->times, tu_cmp_double);
}

static const char *const qname[] = {"p50", "p90", "p99", "p999"};
static const double qval[] = {0.5, 0.9, 0.99, 0.999};

/* d's quantiles against the sorted values: equal when exact is required,
 * else within the relative error d states. */
static void check_dist(const jv *d, const double *sorted, size_t n, bool exact, const char *what)
{
	assert_non_null(d);
	assert_int_equal(json_u64(d, "count"), n);
	double rel = json_get(d, "relative_error")->num;
	if (exact) {
		if (!json_get(d, "exact")->b || rel != 0)
			fail_msg("%s: not exact (relative error %g)", what, rel);
	}
	for (int i = 0; i < 4; i++) {
		double truth = sorted[sl_relq_rank(qval[i], n) - 1];
		double got = json_get(d, qname[i])->num;
		if (!(fabs(got - truth) <= rel * truth * (1 + 1e-9)))
			fail_msg("%s %s: %.17g, true %.17g (relative error %g)", what, qname[i],
				 got, truth, rel);
	}
}

static void quantiles_exact_at_4m_any_jobs(void **state)
{
	(void)state;
	char log[512], cmd[1024];
	snprintf(log, sizeof log, "%s/gen.log", tmpdir);
	const char *gen = getenv("SLUICE_GEN") && *getenv("SLUICE_GEN") ? getenv("SLUICE_GEN")
									 : "./sluice-gen";
	snprintf(cmd, sizeof cmd, "%s --lines 20000 --seed 7 --request-time -o %s", gen, log);
	assert_int_equal(tu_run(cmd), 0);
	size_t len;
	char *text = tu_slurp(log, &len);
	assert_non_null(text);
	ref_values v;
	read_values(text, len, &v);
	assert_int_equal(v.ntimes, 20000);
	assert_int_equal(v.nsizes, 20000);
	for (int j = 1; j <= 3; j++) {
		char args[1024];
		snprintf(args, sizeof args, "--json -q -m 4M -j %d %s", j, log);
		run_result r = tu_run_sluice(tmpdir, sluice_bin, args);
		assert_int_equal(r.status, 0);
		assert_non_null(r.json);
		char what[64];
		snprintf(what, sizeof what, "-j %d response_bytes", j);
		check_dist(json_get(r.json, "response_bytes"), v.sizes, v.nsizes, true, what);
		snprintf(what, sizeof what, "-j %d request_time", j);
		check_dist(json_get(r.json, "request_time"), v.times, v.ntimes, true, what);
		run_result_free(&r);
	}
	/* the seed's 1 MiB: within the budget, within the stated bounds */
	char args[1024];
	snprintf(args, sizeof args, "--json -q -m 1M -j 1 %s", log);
	run_result r = tu_run_sluice(tmpdir, sluice_bin, args);
	assert_int_equal(r.status, 0);
	const jv *mem = json_get(r.json, "memory");
	assert_true(json_u64(mem, "peak") <= json_u64(mem, "budget"));
	check_dist(json_get(r.json, "response_bytes"), v.sizes, v.nsizes, false, "1M sizes");
	check_dist(json_get(r.json, "request_time"), v.times, v.ntimes, false, "1M times");
	run_result_free(&r);
	free(v.sizes);
	free(v.times);
	free(text);
	unlink(log);
}

static void pool_gives_quantiles_before_distinct(void **state)
{
	(void)state;
	tu_rng rng = {20261204};
	size_t n = 120000, cap = n * 160;
	char *text = malloc(cap);
	double *times = malloc(n * sizeof *times), *sizes = malloc(n * sizeof *sizes);
	assert_true(text && times && sizes);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char when[27];
		unsigned c = (unsigned)(i % 20000);
		tu_log_time(when, 1700000000 + (int64_t)(i / 50));
		unsigned long sz = 100 + (unsigned long)tu_below(&rng, 1000000);
		unsigned ms = (unsigned)tu_below(&rng, 100000);
		sizes[i] = (double)sz;
		times[i] = ms / 1000.0;
		len += (size_t)snprintf(text + len, cap - len,
			"10.%u.%u.%u - - [%s] \"GET /p/%u HTTP/1.1\" 200 %lu \"-\" \"ua\" %u.%03u\n",
			c >> 16, (c >> 8) & 255, c & 255, when, c, sz, ms / 1000, ms % 1000);
	}
	assert_true(len < cap);
	sl_budget b;
	sl_budget_init(&b, 2 << 20);
	sl_report *rep;
	assert_int_equal(sl_report_new(&rep, &b, SL_FMT_COMBINED, 2 << 20), SL_OK);
	sl_report_feed(rep, text, len);
	assert_int_equal(rep->requests, n);
	sl_estimate ips = sl_report_unique_ips(rep);
	const sl_relq *qt = sl_report_named(rep, "request_time")->q;
	const sl_relq *qs = sl_report_named(rep, "response_bytes")->q;
	bool url_exact;
	size_t cap_url;
	uint64_t total;
	sl_report_top_info(rep, SL_TOP_URL, &url_exact, &cap_url, &total);
	print_message("ips %.0f (exact %d), url list exact %d, quantiles exact %d %d, peak %zu\n",
		      ips.estimate, ips.exact, url_exact, sl_relq_is_exact(qt),
		      sl_relq_is_exact(qs), b.peak);
	assert_false(url_exact);	/* 20,000 URLs: over its share */
	assert_true(ips.exact);
	assert_true(ips.estimate == 20000.0);
	/* 1.9 MB of raw values do not fit 2 MiB with the rest */
	assert_false(sl_relq_is_exact(qt) && sl_relq_is_exact(qs));
	qsort(times, n, sizeof *times, tu_cmp_double);
	qsort(sizes, n, sizeof *sizes, tu_cmp_double);
	const sl_relq *q[2] = {qt, qs};
	const double *sorted[2] = {times, sizes};
	for (int k = 0; k < 2; k++) {
		double rel = sl_relq_relative_error(q[k]);
		for (int i = 1; i < 1000; i++) {
			double qq = i / 1000.0, truth = sorted[k][sl_relq_rank(qq, n) - 1];
			double est = sl_relq_quantile(q[k], qq);
			if (!(fabs(est - truth) <= rel * truth * (1 + 1e-9)))
				fail_msg("sketch %d q=%g: %.17g, true %.17g", k, qq, est, truth);
		}
	}
	assert_true(b.peak <= (2u << 20));
	sl_report_free(rep);
	assert_int_equal(b.used, 0);
	free(text);
	free(times);
	free(sizes);
}

/* The one that needs the most gives way: 100,000 lines over 2,000 URLs and
 * clients fit every table of a 2 MiB report exactly, but not beside 1.6 MB
 * of raw values, which hold far more beyond their share than any table;
 * the tables stay exact and the quantiles turn into buckets (within 0.5%).
 * (The pool first degraded any top list over its share before a quantile
 * sketch, whichever needed more.) */
#define URLS 4000
static void pool_degrades_the_largest_excess(void **state)
{
	(void)state;
	tu_rng rng = {20261205};
	size_t n = 100000, cap = n * 160;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char when[27];
		unsigned c = (unsigned)tu_below(&rng, 2000), u = (unsigned)tu_below(&rng, URLS);
		tu_log_time(when, 1700000000 + (int64_t)(i / 50));
		unsigned long sz = 100 + (unsigned long)tu_below(&rng, 1000000);
		unsigned ms = (unsigned)tu_below(&rng, 100000);
		len += (size_t)snprintf(text + len, cap - len,
			"10.0.%u.%u - - [%s] \"GET /catalogue/p/%u HTTP/1.1\" 200 %lu \"-\" \"ua\" "
			"%u.%03u\n", c >> 8, c & 255, when, u, sz, ms / 1000, ms % 1000);
	}
	assert_true(len < cap);
	sl_budget b;
	sl_budget_init(&b, 2 << 20);
	sl_report *rep;
	assert_int_equal(sl_report_new(&rep, &b, SL_FMT_COMBINED, 2 << 20), SL_OK);
	sl_report_feed(rep, text, len);
	assert_int_equal(rep->requests, n);
	for (int t = 0; t < SL_TOP_COUNT; t++) {
		bool exact;
		size_t capacity;
		uint64_t total;
		sl_report_top_info(rep, (sl_top_list)t, &exact, &capacity, &total);
		if (!exact)
			fail_msg("top list %d degraded to make room for quantiles", t);
	}
	assert_true(sl_report_unique_ips(rep).exact);
	const sl_relq *qt = sl_report_named(rep, "request_time")->q;
	const sl_relq *qs = sl_report_named(rep, "response_bytes")->q;
	assert_false(sl_relq_is_exact(qt) && sl_relq_is_exact(qs));
	assert_false(sl_report_all_exact(rep));
	assert_true(b.peak <= (2u << 20));
	sl_report_free(rep);
	assert_int_equal(b.used, 0);
	free(text);
}

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_quant_exact_XXXXXX", base);
	if (!mkdtemp(tmpdir))
		return -1;
	sluice_bin = tu_sluice_bin();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantiles_exact_at_4m_any_jobs),
		cmocka_unit_test(pool_gives_quantiles_before_distinct),
		cmocka_unit_test(pool_degrades_the_largest_excess),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
