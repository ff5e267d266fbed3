/*
 * test_plan.c: plans (lib/report/plan.c) and reports of any plan, through the
 * public API the way a program would build them.
 *
 * The test writes two combined-format logs (seeded, the seed printed) and
 * keeps, while writing, a naive reference of what a custom plan must find:
 * every user agent of the 5xx answers with its count, every byte count of
 * the POST requests, every (client, user agent) pair and every query
 * string. The custom plan is
 *   ua_5xx         top(user_agent) where status in [500, 600)
 *   post_bytes     quantiles(bytes) where method = "POST"
 *   client_agents  distinct(client, user_agent)
 *   queries        top(query)
 * none of which the default plan computes.
 *
 * Cases:
 *   plan_add_checks_items       refusals, names, descriptions, equality
 *   custom_plan_matches_naive   the custom plan at -j 1 against the reference
 *   three_plans_jobs_and_merge  the default, line and custom plans: identical
 *                               exact figures at -j 1, 2 and 3, and a run over
 *                               both logs equal to the merge of the states
 *                               saved from one log each
 *   plans_do_not_mix            merging states of two plans, resuming a state
 *                               under another plan, and a plan over a field
 *                               the format lacks are refused, saying why
 *   default_paths_agree         the default plan's hand-written path and the
 *                               generic one give byte-identical states, on a
 *                               log small enough for the direct path and one
 *                               large enough for the prefetch pipeline
 */
#include "testutil.h"
#include "reportcmp.h"
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], log_a[128], log_b[128], common_log[128];

#define AGENTS 60
#define CLIENTS 700
#define QUERIES 50
#define MAX_POSTS 4000 /* below the 4096 raw values: quantiles exact */

/* The naive reference of the custom plan, over both logs. */
static struct {
	uint64_t ua_5xx[AGENTS], n5xx;
	double post_bytes[MAX_POSTS];
	size_t nposts;
	bool pair[CLIENTS][AGENTS];
	uint64_t query[QUERIES];
	uint64_t records;
} ref;

static const int codes[] = {200, 200, 200, 200, 304, 404, 500, 502, 503, 301};

/* Writes `lines` combined lines (one in 997 malformed) to path, adding
 * what it writes to the reference. */
static void write_log(tu_rng *rng, const char *path, int lines, int64_t t)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 1; i <= lines; i++) {
		if (i % 997 == 0) {
			fprintf(f, "not an access log line %d\n", i);
			continue;
		}
		char when[27];
		unsigned ip = (unsigned)tu_below(rng, CLIENTS), ua = (unsigned)tu_below(rng, AGENTS);
		unsigned q = (unsigned)tu_below(rng, QUERIES);
		int code = codes[tu_below(rng, sizeof codes / sizeof *codes)];
		bool post = tu_below(rng, 20) == 0 && ref.nposts < MAX_POSTS;
		uint64_t bytes = tu_below(rng, 1000) * tu_below(rng, 1000);
		t += (int64_t)tu_below(rng, 3);
		tu_log_time(when, t);
		fprintf(f, "10.1.%u.%u - - [%s] \"%s /p/%u?q=%u HTTP/1.1\" %d %llu \"-\" \"agent/%u\"\n",
			ip / 256, ip % 256, when, post ? "POST" : "GET", (unsigned)tu_below(rng, 300), q,
			code, (unsigned long long)bytes, ua);
		ref.records++;
		if (code >= 500) {
			ref.ua_5xx[ua]++;
			ref.n5xx++;
		}
		if (post)
			ref.post_bytes[ref.nposts++] = (double)bytes;
		ref.pair[ip][ua] = true;
		ref.query[q]++;
	}
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("test_plan", 29)};
	snprintf(dir, sizeof dir, "/tmp/sluice-test-plan-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(log_a, sizeof log_a, "%s/a.log", dir);
	snprintf(log_b, sizeof log_b, "%s/b.log", dir);
	snprintf(common_log, sizeof common_log, "%s/common.log", dir);
	/* a.log over the engine's 4 MiB range threshold: read in ranges */
	write_log(&rng, log_a, 48000, 1700000000);
	write_log(&rng, log_b, 6000, 1700200000);
	struct stat sb;
	assert_int_equal(stat(log_a, &sb), 0);
	assert_true(sb.st_size > (4 << 20));
	FILE *f = fopen(common_log, "w");
	assert_non_null(f);
	fputs("10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326\n", f);
	assert_int_equal(fclose(f), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(dir);
}

static const sl_where all_5xx = {SL_WHERE_IN, SL_F_STATUS, 500, 600, ""};
static const sl_where posts = {SL_WHERE_EQ, SL_F_METHOD, 0, 0, "POST"};

static void custom_plan(sl_plan *p)
{
	const char *why = NULL;
	sl_plan_init(p);
	const sl_field pair[2] = {SL_F_CLIENT, SL_F_USER_AGENT};
	assert_int_equal(sl_plan_add_top(p, "ua_5xx", SL_F_USER_AGENT, &all_5xx, &why), SL_OK);
	assert_int_equal(sl_plan_add_quantiles(p, "post_bytes", SL_F_BYTES, &posts, &why), SL_OK);
	assert_int_equal(sl_plan_add_distinct(p, "client_agents", pair, 2, NULL, &why), SL_OK);
	assert_int_equal(sl_plan_add_top(p, "queries", SL_F_QUERY, NULL, &why), SL_OK);
}

/* ---- plan_add_checks_items --------------------------------------------- */

static void plan_add_checks_items(void **state)
{
	(void)state;
	sl_plan p;
	const char *why;
	custom_plan(&p);
	assert_int_equal(p.nitems, 4);
	sl_item it;
	memset(&it, 0, sizeof it);
	it.kind = SL_ITEM_TOP;
	it.nfields = 1;
	it.field[0] = SL_F_PATH;
	snprintf(it.name, sizeof it.name, "ua_5xx"); /* taken */
	why = NULL;
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_EINVAL);
	assert_non_null(why);
	it.name[0] = 0; /* no name */
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_EINVAL);
	snprintf(it.name, sizeof it.name, "paths");
	it.nfields = 2; /* top takes one field */
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_EINVAL);
	it.nfields = 1;
	it.field[0] = SL_F_COUNT; /* unknown field */
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_EINVAL);
	it.field[0] = SL_F_LENGTH; /* a number only */
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_EINVAL);
	it.field[0] = SL_F_PATH;
	it.where.op = SL_WHERE_IN; /* a range over a string field */
	it.where.field = SL_F_USER_AGENT;
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_EINVAL);
	it.where.field = SL_F_STATUS;
	it.where.lo = NAN;
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_EINVAL);
	it.where.lo = 400;
	it.where.hi = 500;
	assert_int_equal(sl_plan_add(&p, &it, &why), SL_OK);
	assert_int_equal(p.nitems, 5);
	assert_int_equal(sl_plan_find(&p, "paths"), 4);
	assert_int_equal(sl_plan_find(&p, "nothing"), -1);
	assert_int_equal(sl_plan_add_quantiles(&p, "q", SL_F_USER_AGENT, NULL, &why), SL_EINVAL);
	sl_item tally;
	memset(&tally, 0, sizeof tally);
	tally.kind = SL_ITEM_TALLY;
	tally.nfields = 1;
	tally.field[0] = SL_F_BYTES; /* a tally of a number other than status */
	snprintf(tally.name, sizeof tally.name, "t");
	assert_int_equal(sl_plan_add(&p, &tally, &why), SL_EINVAL);
	tally.kind = SL_ITEM_SERIES; /* a series of anything but time */
	assert_int_equal(sl_plan_add(&p, &tally, &why), SL_EINVAL);

	char text[128];
	assert_string_equal(sl_plan_describe(&p, 0, text, sizeof text),
			    "top(user_agent) where status in [500, 600)");
	assert_string_equal(sl_plan_describe(&p, 1, text, sizeof text),
			    "quantiles(bytes) where method = \"POST\"");
	assert_string_equal(sl_plan_describe(&p, 2, text, sizeof text),
			    "distinct(client,user_agent)");

	/* equality: the same items in the same order, and exactness */
	sl_plan a, b;
	custom_plan(&a);
	custom_plan(&b);
	assert_true(sl_plan_equal(&a, &b));
	b.exact = true;
	assert_false(sl_plan_equal(&a, &b));
	sl_plan_default(&a, SL_FMT_COMBINED, false);
	sl_plan_default(&b, SL_FMT_COMBINED, true);
	assert_false(sl_plan_equal(&a, &b)); /* the visitors' rule */
	sl_plan_visitors_4xx(&b, false);
	assert_true(sl_plan_equal(&a, &b));

	/* the schema: the line format has the line and its length only */
	sl_field missing = SL_F_COUNT;
	assert_int_equal(sl_plan_check(&a, SL_FMT_LINES, &missing), SL_EINVAL);
	assert_int_equal(missing, SL_F_CLIENT);
	custom_plan(&a);
	assert_int_equal(sl_plan_check(&a, SL_FMT_COMBINED, &missing), SL_OK);
	assert_int_equal(sl_plan_check(&a, SL_FMT_COMMON, &missing), SL_EINVAL);
	assert_int_equal(missing, SL_F_USER_AGENT);
}

/* ---- custom_plan_matches_naive ----------------------------------------- */

static sl_engine *run(const sl_plan *plan, sl_format fmt, const char *const *paths, size_t n,
		      int jobs, bool facts)
{
	sl_engine *e = NULL;
	sl_engine_opts o = {.budget = 64u << 20, .jobs = jobs, .format = fmt, .top_n = 10,
			    .plan = plan, .want_facts = facts};
	sl_status st = sl_engine_run(&e, &o, paths, n);
	if (st != SL_OK)
		fail_msg("run: %s", sl_engine_error(e));
	assert_non_null(sl_engine_report(e));
	return e;
}

/* The rank the report's quantiles take (sl_relq_rank), in a sorted copy. */
static double ref_quantile(const double *sorted, size_t n, double q)
{
	return sorted[sl_relq_rank(q, n) - 1];
}

/* Checks a top item's rows against counts[0 .. n-1] of keys "PREFIX%u". */
static void check_top(const sl_report *r, int item, const uint64_t *counts, unsigned n,
		      const char *prefix, uint64_t total)
{
	sl_topk_row rows[10];
	bool exact;
	size_t cap;
	uint64_t got_total;
	sl_report_item_top_info(r, (uint32_t)item, &exact, &cap, &got_total);
	assert_true(exact);
	assert_int_equal(got_total, total);
	size_t got = sl_report_item_top(r, (uint32_t)item, rows, 10);
	/* the naive ranking: count descending, then key bytes ascending */
	bool used[AGENTS > QUERIES ? AGENTS : QUERIES] = {false};
	for (size_t k = 0; k < got; k++) {
		int best = -1;
		char bk[32] = "", key[32];
		for (unsigned i = 0; i < n; i++) {
			snprintf(key, sizeof key, "%s%u", prefix, i);
			if (used[i] || !counts[i])
				continue;
			if (best < 0 || counts[i] > counts[best] ||
			    (counts[i] == counts[best] && strcmp(key, bk) < 0)) {
				best = (int)i;
				snprintf(bk, sizeof bk, "%s", key);
			}
		}
		assert_true(best >= 0);
		used[best] = true;
		if (rows[k].len != strlen(bk) || memcmp(rows[k].value, bk, rows[k].len) ||
		    rows[k].count != counts[best] || rows[k].max_error)
			fail_msg("row %zu: got %.*s %llu, want %s %llu", k, (int)rows[k].len,
				 rows[k].value, (unsigned long long)rows[k].count, bk,
				 (unsigned long long)counts[best]);
	}
	unsigned nonzero = 0;
	for (unsigned i = 0; i < n; i++)
		nonzero += counts[i] != 0;
	assert_int_equal(got, nonzero < 10 ? nonzero : 10);
}

static void custom_plan_matches_naive(void **state)
{
	(void)state;
	sl_plan plan;
	custom_plan(&plan);
	const char *paths[] = {log_a, log_b};
	sl_engine *e = run(&plan, SL_FMT_AUTO, paths, 2, 1, false);
	const sl_report *r = sl_engine_report(e);
	assert_true(sl_plan_equal(sl_report_plan(r), &plan));

	check_top(r, sl_plan_find(&plan, "ua_5xx"), ref.ua_5xx, AGENTS, "agent/", ref.n5xx);
	check_top(r, sl_plan_find(&plan, "queries"), ref.query, QUERIES, "q=", ref.records);

	uint64_t pairs = 0;
	for (int c = 0; c < CLIENTS; c++)
		for (int a = 0; a < AGENTS; a++)
			pairs += ref.pair[c][a];
	sl_estimate d = sl_report_item_distinct(r, (uint32_t)sl_plan_find(&plan, "client_agents"));
	assert_true(d.exact);
	assert_int_equal((uint64_t)d.estimate, pairs);

	uint32_t qi = (uint32_t)sl_plan_find(&plan, "post_bytes");
	const sl_moments *m = sl_report_item_moments(r, qi);
	const sl_relq *q = sl_report_item_quantiles(r, qi);
	assert_true(ref.nposts > 100);
	assert_int_equal(m->n, ref.nposts);
	double *sorted = tu_sorted_copy(ref.post_bytes, ref.nposts);
	assert_true(m->min == sorted[0] && m->max == sorted[ref.nposts - 1]);
	static const double qs[] = {0.5, 0.9, 0.99, 0.999};
	for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
		double want = ref_quantile(sorted, ref.nposts, qs[i]);
		double got = sl_relq_quantile(q, qs[i]);
		if (got != want)
			fail_msg("post_bytes p%g: %.17g, want %.17g", qs[i] * 100, got, want);
	}
	free(sorted);
	/* the default plan's items are not there */
	assert_int_equal(sl_plan_find(sl_report_plan(r), "url"), -1);
	sl_estimate none = sl_report_unique_ips(r);
	assert_true(none.exact && none.estimate == 0);
	sl_engine_free(e);
}

/* ---- three_plans_jobs_and_merge ---------------------------------------- */

/* The state of a run, decoded again (the way `sluice merge` gets it). */
static sl_state *state_of(sl_budget *b, sl_engine *e)
{
	size_t nf, len;
	const sl_state_input *facts = sl_engine_facts(e, &nf);
	assert_non_null(facts);
	void *buf;
	assert_int_equal(sl_state_encode(b, sl_engine_report(e), facts, nf, 64u << 20,
					 sl_engine_peak(e), &buf, &len),
			 SL_OK);
	sl_state *s = NULL;
	const char *why = NULL;
	if (sl_state_decode(&s, b, buf, len, 0, &why) != SL_OK)
		fail_msg("decode: %s", why);
	sl_free(b, buf, len);
	return s;
}

static void three_plans_jobs_and_merge(void **state)
{
	(void)state;
	sl_plan custom;
	custom_plan(&custom);
	struct {
		const char *name;
		const sl_plan *plan;
		sl_format fmt;
	} plans[] = {
		{"default", NULL, SL_FMT_AUTO},
		{"lines", NULL, SL_FMT_LINES},
		{"custom", &custom, SL_FMT_AUTO},
	};
	const char *paths[] = {log_a, log_b};
	sl_budget b;
	sl_budget_init(&b, 512u << 20);
	for (size_t k = 0; k < sizeof plans / sizeof *plans; k++) {
		char label[64];
		sl_engine *e1 = run(plans[k].plan, plans[k].fmt, paths, 2, 1, false);
		for (int j = 2; j <= 3; j++) {
			sl_engine *ej = run(plans[k].plan, plans[k].fmt, paths, 2, j, false);
			snprintf(label, sizeof label, "%s plan, -j %d", plans[k].name, j);
			rc_assert_same_figures(sl_engine_report(e1), sl_engine_report(ej), label);
			sl_engine_free(ej);
		}
		/* --save of each log, then merge: the run over both */
		sl_engine *ea = run(plans[k].plan, plans[k].fmt, paths, 1, 2, true);
		sl_engine *eb = run(plans[k].plan, plans[k].fmt, paths + 1, 1, 2, true);
		sl_state *sa = state_of(&b, ea), *sb = state_of(&b, eb);
		sl_engine_free(ea);
		sl_engine_free(eb);
		const char *why = NULL;
		assert_int_equal(sl_state_merge(sa, sb, &why), SL_OK);
		snprintf(label, sizeof label, "%s plan, save and merge", plans[k].name);
		rc_assert_same_figures(sl_engine_report(e1), sa->report, label);
		/* and saved again, the merged state still holds its plan */
		sl_state *again = NULL;
		void *buf;
		size_t len;
		assert_int_equal(sl_state_encode(&b, sa->report, sa->inputs, sa->ninputs, sa->budget,
						 sa->peak, &buf, &len),
				 SL_OK);
		assert_int_equal(sl_state_decode(&again, &b, buf, len, 0, &why), SL_OK);
		assert_true(sl_plan_equal(sl_report_plan(again->report), sl_report_plan(sa->report)));
		rc_assert_same_figures(sa->report, again->report, label);
		sl_free(&b, buf, len);
		sl_state_free(again);
		sl_state_free(sa);
		sl_state_free(sb);
		sl_engine_free(e1);
	}
	assert_int_equal(b.used, 0);
}

/* ---- plans_do_not_mix --------------------------------------------------- */

static void plans_do_not_mix(void **state)
{
	(void)state;
	sl_plan custom;
	custom_plan(&custom);
	const char *paths[] = {log_b};
	sl_budget b;
	sl_budget_init(&b, 256u << 20);
	sl_engine *ec = run(&custom, SL_FMT_AUTO, paths, 1, 1, true);
	sl_engine *ed = run(NULL, SL_FMT_AUTO, paths, 1, 1, true);
	sl_state *sc = state_of(&b, ec), *sd = state_of(&b, ed);
	const char *why = NULL;
	assert_int_equal(sl_state_merge(sd, sc, &why), SL_EMISMATCH);
	assert_non_null(why);
	assert_non_null(strstr(why, "plans"));

	/* a state saved under the custom plan, resumed under the default */
	char path[160];
	snprintf(path, sizeof path, "%s/custom.state", dir);
	size_t nf;
	const sl_state_input *facts = sl_engine_facts(ec, &nf);
	int err = 0;
	assert_int_equal(sl_state_save(path, &b, sl_engine_report(ec), facts, nf, 64u << 20,
				       sl_engine_peak(ec), &err),
			 SL_OK);
	sl_engine *e = NULL;
	sl_engine_opts o = {.budget = 64u << 20, .jobs = 1, .top_n = 10, .state_path = path,
			    .want_facts = true};
	assert_int_equal(sl_engine_run(&e, &o, paths, 1), SL_EMISMATCH);
	assert_non_null(strstr(sl_engine_error(e), "another plan"));
	sl_engine_free(e);
	/* under its own plan it resumes: nothing new to read */
	o.plan = &custom;
	assert_int_equal(sl_engine_run(&e, &o, paths, 1), SL_OK);
	sl_report_counts c0, c1;
	sl_report_get_counts(sl_engine_report(e), &c1);
	sl_report_get_counts(sl_engine_report(ec), &c0);
	assert_int_equal(c1.lines, c0.lines);
	sl_engine_free(e);

	/* a plan over a field the format lacks: refused before reading */
	const char *cpaths[] = {common_log};
	o = (sl_engine_opts){.budget = 64u << 20, .jobs = 1, .top_n = 10, .plan = &custom};
	assert_int_equal(sl_engine_run(&e, &o, cpaths, 1), SL_EINVAL);
	assert_non_null(strstr(sl_engine_error(e), "user_agent"));
	sl_engine_free(e);

	sl_state_free(sc);
	sl_state_free(sd);
	sl_engine_free(ec);
	sl_engine_free(ed);
}

/* ---- default_paths_agree ------------------------------------------------ */

/* Feeds buf (len bytes, in pieces of about a MiB cut at line ends) to a
 * report of the default plan, through the hand-written path or not, and
 * returns its encoded state. */
static void *default_state(sl_budget *b, const char *buf, size_t len, size_t bytes, bool fast,
			   bool deep, size_t *out_len)
{
	sl_report *r;
	assert_int_equal(sl_report_new(&r, b, SL_FMT_COMBINED, bytes), SL_OK);
	assert_true(r->fast);
	r->fast = fast;
	sl_report_begin_input(r, 0);
	for (size_t at = 0; at < len;) {
		size_t end = at + (1 << 20) < len ? at + (1 << 20) : len;
		while (end < len && buf[end - 1] != '\n')
			end++;
		sl_report_feed(r, buf + at, end - at);
		at = end;
	}
	/* the prefetch pipeline runs once the tables pass 2 MiB */
	assert_true(deep ? r->pool.used > ((size_t)2 << 20) : r->pool.used < ((size_t)2 << 20));
	void *out;
	sl_state_input in = {.path = "a.log", .consumed = len};
	assert_int_equal(sl_state_encode(b, r, &in, 1, bytes, bytes, &out, out_len), SL_OK);
	sl_report_free(r);
	return out;
}

static void default_paths_agree(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 512u << 20);
	size_t len;
	char *buf = tu_slurp(log_a, &len);
	assert_non_null(buf);
	/* 16 MiB: the 48,000 lines' URLs and queries outgrow 2 MiB; 1 MiB:
	 * they never do, and the lists degrade */
	static const size_t bytes[2] = {16u << 20, 1u << 20};
	for (int k = 0; k < 2; k++) {
		size_t la, lb;
		void *a = default_state(&b, buf, len, bytes[k], true, k == 0, &la);
		void *g = default_state(&b, buf, len, bytes[k], false, k == 0, &lb);
		assert_int_equal(la, lb);
		if (memcmp(a, g, la) != 0)
			fail_msg("the default plan's two paths differ at %zu bytes", bytes[k]);
		sl_free(&b, a, la);
		sl_free(&b, g, lb);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_add_checks_items),
		cmocka_unit_test(custom_plan_matches_naive),
		cmocka_unit_test(three_plans_jobs_and_merge),
		cmocka_unit_test(plans_do_not_mix),
		cmocka_unit_test(default_paths_agree),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
