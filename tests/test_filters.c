/*
 * test_filters.c: --where, --since and --until, and the plan options (--top
 * FIELD, --distinct, --quantiles, --only), through the program.
 *
 * The test writes a combined log with request times (seeded, the seed
 * printed) and keeps every record's fields; for each filter it counts, the
 * naive way, the records a filter keeps, their bytes, their status codes
 * and the heaviest paths among them, and checks sluice's JSON against that.
 *
 * Cases:
 *   filters_match_naive        one case per operator, negation, a regex with
 *                              (?i), an IN list, a time range whose ends are
 *                              records' own times (half-open), and all at once
 *   plan_options_match_naive   --top path over the 5xx, --only with
 *                              --distinct and --quantiles
 *   groups_match_naive         --by status_class and --by path, with a filter:
 *                              every group's requests, bytes and top path,
 *                              exact, and the same through --save and report
 *   same_answer_any_jobs       a filtered run at -j 1, 2 and 3: the same
 *                              JSON but for memory and list capacities
 *   states_keep_their_filters  a filtered --save merges with its like, and a
 *                              state of another filter neither merges nor
 *                              resumes (exit 2, saying so)
 *   refusals_before_reading    a bad expression (a caret under the fault), an
 *                              unknown field, a field the format lacks, a
 *                              pattern PCRE2 refuses, an empty range: exit 2
 *   describe_parses_back       sl_filter_describe's text (the report's
 *                              "filter") parses back into the same filter,
 *                              also for values the parser would otherwise
 *                              unwrap or trim: one in quotes ('/a' given as
 *                              "'/a'"), one in parentheses after in, one
 *                              with a leading space (fuzz_filter's finding)
 */
#include "testutil.h"
#include "json.h"
#include "runutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char dir[128], log_path[192], common_path[192];
static const char *bin;

#define NREC 6000
#define NPATHS 40

typedef struct {
	int status;
	const char *method;
	unsigned path;
	uint64_t bytes;
	int agent;		/* 0 Mozilla, 1 "Googlebot", 2 "curl", 3 "BOT-X" */
	bool has_rt;
	double rt;
	int64_t time;
} rec;

static rec recs[NREC];
static const char *const agents[] = {"Mozilla/5.0", "Googlebot/2.1", "curl/8.0", "BOT-X/1"};
static const char *const methods[] = {"GET", "GET", "GET", "POST", "HEAD", "PUT"};
static const int codes[] = {200, 200, 200, 301, 404, 404, 500, 503};

static void path_of(unsigned p, char *out, size_t n)
{
	snprintf(out, n, p % 4 == 0 ? "/api/v1/item%u" : "/page%u", p);
}

static int setup(void **state)
{
	(void)state;
	bin = tu_sluice_bin();
	tu_rng rng = {tu_seed("test_filters", 41)};
	snprintf(dir, sizeof dir, "/tmp/sluice-test-filters-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(log_path, sizeof log_path, "%s/access.log", dir);
	snprintf(common_path, sizeof common_path, "%s/common.log", dir);
	FILE *f = fopen(log_path, "w");
	assert_non_null(f);
	int64_t t = 1700000000;
	for (int i = 0; i < NREC; i++) {
		rec *r = &recs[i];
		t += (int64_t)tu_below(&rng, 30);
		r->time = t;
		r->status = codes[tu_below(&rng, sizeof codes / sizeof *codes)];
		r->method = methods[tu_below(&rng, sizeof methods / sizeof *methods)];
		r->path = (unsigned)(tu_below(&rng, NPATHS) * tu_below(&rng, NPATHS) / NPATHS);
		r->bytes = tu_below(&rng, 4) == 0 ? 1024 : tu_below(&rng, 3000);
		r->agent = (int)tu_below(&rng, 4);
		r->has_rt = tu_below(&rng, 5) != 0;
		r->rt = (double)tu_below(&rng, 2000) / 1000.0;
		char when[27], path[64];
		tu_log_time(when, t);
		path_of(r->path, path, sizeof path);
		fprintf(f, "10.0.0.%u - - [%s] \"%s %s HTTP/1.1\" %d %llu \"-\" \"%s\"",
			(unsigned)tu_below(&rng, 200), when, r->method, path, r->status,
			(unsigned long long)r->bytes, agents[r->agent]);
		if (r->has_rt)
			fprintf(f, " %.3f", r->rt);
		fputc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
	f = fopen(common_path, "w");
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

/* ---- the naive side ------------------------------------------------------ */

typedef bool (*pred)(const rec *r);

static bool p_5xx(const rec *r) { return r->status >= 500; }
static bool p_post(const rec *r) { return strcmp(r->method, "POST") == 0; }
static bool p_big(const rec *r) { return r->bytes > 1024; }
static bool p_slow(const rec *r) { return r->has_rt && r->rt > 0.5; }
static bool p_api(const rec *r) { return r->path % 4 == 0; }
static bool p_bot(const rec *r) { return r->agent == 1 || r->agent == 3; }
static bool p_get_head(const rec *r) { return !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"); }
static bool p_not_404(const rec *r) { return r->status != 404; }
static bool p_exact_bytes(const rec *r) { return r->bytes == 1024; }
static bool p_not_slow(const rec *r) { return !p_slow(r); }

/* The times of records 1000 and 4000: a range [since, until) between. */
static bool p_range(const rec *r)
{
	return r->time >= recs[1000].time && r->time < recs[4000].time;
}

static bool p_all_at_once(const rec *r)
{
	return r->status >= 400 && p_api(r) && r->time >= recs[2000].time;
}

typedef struct {
	uint64_t requests, bytes, status[600];
} naive;

static naive count(pred keep)
{
	naive n;
	memset(&n, 0, sizeof n);
	for (int i = 0; i < NREC; i++) {
		if (!keep(&recs[i]))
			continue;
		n.requests++;
		n.bytes += recs[i].bytes;
		n.status[recs[i].status]++;
	}
	return n;
}

/* sluice with printf-formatted arguments, in this test's directory */
#define run(...) tu_run_sluicef(dir, bin, __VA_ARGS__)

static void check_counts(const run_result *r, pred keep, const char *what)
{
	if (r->status != 0 || !r->json)
		fail_msg("%s: exit %d: %s", what, r->status, r->err);
	naive n = count(keep);
	const jv *j = r->json;
	if (json_u64(j, "requests") != n.requests || json_u64(j, "bytes_sent") != n.bytes ||
	    json_u64(j, "filtered") != NREC - n.requests || json_u64(j, "lines") != NREC)
		fail_msg("%s: requests %llu filtered %llu bytes %llu, want %llu %llu %llu", what,
			 (unsigned long long)json_u64(j, "requests"),
			 (unsigned long long)json_u64(j, "filtered"),
			 (unsigned long long)json_u64(j, "bytes_sent"), (unsigned long long)n.requests,
			 (unsigned long long)(NREC - n.requests), (unsigned long long)n.bytes);
	const jv *st = json_get(j, "status");
	for (int c = 100; c < 600; c++) {
		char key[16];
		snprintf(key, sizeof key, "%d", c);
		uint64_t got = json_get(st, key) ? json_u64(st, key) : 0;
		if (got != n.status[c])
			fail_msg("%s: status %d: %llu, want %llu", what, c, (unsigned long long)got,
				 (unsigned long long)n.status[c]);
	}
}

static void filters_match_naive(void **state)
{
	(void)state;
	char since[32], until[32], from[32];
	snprintf(since, sizeof since, "%lld", (long long)recs[1000].time);
	snprintf(until, sizeof until, "%lld", (long long)recs[4000].time);
	snprintf(from, sizeof from, "%lld", (long long)recs[2000].time);
	struct {
		const char *args;
		pred keep;
	} cases[] = {
		{"--where 'status>=500'", p_5xx},
		{"--where 'method=POST'", p_post},
		{"--where 'bytes>1K'", p_big},
		{"--where 'bytes=1024'", p_exact_bytes},
		{"--where 'request_time>0.5'", p_slow},
		{"--where 'not request_time>0.5'", p_not_slow},
		{"--where 'path^=/api/'", p_api},
		{"--where \"user_agent~(?i)bot\"", p_bot},
		{"--where 'method in GET,HEAD'", p_get_head},
		{"--where 'method in (GET,HEAD)'", p_get_head},
		{"--where 'not status=404'", p_not_404},
		{NULL, p_range},
		{NULL, p_all_at_once},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char args[512];
		if (cases[i].keep == p_range)
			snprintf(args, sizeof args, "--since %s --until %s", since, until);
		else if (cases[i].keep == p_all_at_once)
			snprintf(args, sizeof args,
				 "--where 'status>=400' --where 'path^=/api/' --since %s", from);
		else
			snprintf(args, sizeof args, "%s", cases[i].args);
		run_result r = run("--json -j 1 %s %s", args, log_path);
		check_counts(&r, cases[i].keep, args);
		run_result_free(&r);
	}
}

/* ---- plan options ------------------------------------------------------------ */

static void plan_options_match_naive(void **state)
{
	(void)state;
	/* --top path over the 5xx: the naive ranking (count, then path) */
	uint64_t cnt[NPATHS] = {0};
	for (int i = 0; i < NREC; i++)
		if (recs[i].status >= 500)
			cnt[recs[i].path]++;
	run_result r = run("--json -j 1 -n 5 --where 'status>=500' --top path %s", log_path);
	assert_int_equal(r.status, 0);
	const jv *rows = json_get(json_get(r.json, "top"), "top_path");
	assert_non_null(rows);
	bool used[NPATHS] = {false};
	for (size_t k = 0; k < 5; k++) {
		int best = -1;
		char bp[64] = "", p[64];
		for (int i = 0; i < NPATHS; i++) {
			path_of((unsigned)i, p, sizeof p);
			if (used[i] || !cnt[i])
				continue;
			if (best < 0 || cnt[i] > cnt[best] || (cnt[i] == cnt[best] && strcmp(p, bp) < 0)) {
				best = i;
				snprintf(bp, sizeof bp, "%s", p);
			}
		}
		used[best] = true;
		const jv *row = json_at(rows, k);
		assert_non_null(row);
		assert_string_equal(json_get(row, "value")->str, bp);
		assert_int_equal(json_u64(row, "count"), cnt[best]);
	}
	run_result_free(&r);

	/* --only: nothing but the items given */
	r = run("--json -j 1 --only --distinct path,method --quantiles bytes %s", log_path);
	assert_int_equal(r.status, 0);
	assert_null(json_get(r.json, "unique_ips"));
	assert_null(json_get(r.json, "status"));
	bool pair[NPATHS][6] = {{false}};
	uint64_t pairs = 0;
	for (int i = 0; i < NREC; i++) {
		int m = 0;
		while (strcmp(methods[m], recs[i].method))
			m++;
		pairs += !pair[recs[i].path][m];
		pair[recs[i].path][m] = true;
	}
	const jv *d = json_get(r.json, "distinct_path_method");
	assert_non_null(d);
	assert_int_equal(json_u64(d, "estimate"), pairs);
	const jv *q = json_get(r.json, "quantiles_bytes");
	assert_non_null(q);
	assert_int_equal(json_u64(q, "count"), NREC);
	run_result_free(&r);
}

/* ---- groups (--by) -------------------------------------------------------- */

/* The group of a JSON groups item whose value is key. */
static const jv *group_of(const jv *by, const char *key)
{
	const jv *g = json_get(by, "groups");
	for (size_t i = 0; g && i < g->n; i++)
		if (strcmp(json_get(g->items[i], "value")->str, key) == 0)
			return g->items[i];
	return NULL;
}

static void check_groups(const jv *j)
{
	/* status classes of the records with a request time */
	uint64_t cnt[6] = {0}, bytes[6] = {0};
	uint64_t pcnt[NPATHS] = {0}, pbytes[NPATHS] = {0};
	for (int i = 0; i < NREC; i++) {
		if (!recs[i].has_rt)
			continue;
		cnt[recs[i].status / 100]++;
		bytes[recs[i].status / 100] += recs[i].bytes;
		pcnt[recs[i].path]++;
		pbytes[recs[i].path] += recs[i].bytes;
	}
	const jv *by = json_get(j, "by_status_class");
	assert_non_null(by);
	assert_true(json_get(by, "exact")->b);
	for (int c = 1; c <= 5; c++) {
		char key[16];
		snprintf(key, sizeof key, "%dxx", c);
		const jv *g = group_of(by, key);
		if (!cnt[c]) {
			assert_null(g);
			continue;
		}
		assert_non_null(g);
		assert_int_equal(json_u64(g, "count"), cnt[c]);
		assert_int_equal(json_u64(g, "max_error"), 0);
		assert_int_equal(json_u64(g, "bytes"), bytes[c]);
	}
	by = json_get(j, "by_path");
	assert_true(json_get(by, "exact")->b);
	for (int p = 0; p < NPATHS; p++) {
		char path[64];
		path_of((unsigned)p, path, sizeof path);
		const jv *g = group_of(by, path);
		if (!pcnt[p])
			continue;
		assert_non_null(g);
		assert_int_equal(json_u64(g, "count"), pcnt[p]);
		assert_int_equal(json_u64(g, "bytes"), pbytes[p]);
		/* a group's top path is its own path */
		const jv *top = json_at(json_get(g, "paths"), 0);
		assert_string_equal(json_get(top, "value")->str, path);
		assert_int_equal(json_u64(top, "count"), pcnt[p]);
	}
}

static void groups_match_naive(void **state)
{
	(void)state;
	run_result r = run("--json -j 2 -n 50 --where 'request_time>=0' --by status_class "
			   "--by path --save %s/by.state %s",
			   dir, log_path);
	if (r.status != 0 || !r.json)
		fail_msg("exit %d: %s", r.status, r.err);
	check_groups(r.json);
	run_result_free(&r);
	/* the state keeps the groups */
	r = run("report --json -n 50 %s/by.state", dir);
	assert_int_equal(r.status, 0);
	check_groups(r.json);
	run_result_free(&r);
	r = run("--by nosuch %s", log_path);
	assert_int_equal(r.status, 2);
	run_result_free(&r);
}

/* ---- determinism and states ------------------------------------------------- */

/* The JSON without what depends on the job count by design: the memory
 * line (the run's peak), the top lists' capacities (each worker's share of
 * the budget), and the last digits of a mean and a standard deviation
 * (floating-point moments merged in another order: lib/sketch/moments.c). The
 * counts, sums, quantiles and lists must all be the same. */
static char *strip_memory(const char *out)
{
	char *s = strdup(out), *m = strstr(s, "  \"memory\"");
	if (m)
		*m = 0;
	static const char *const keys[] = {"\"capacity\": ", "\"mean\": ", "\"stddev\": "};
	char *d = s; /* rewritten in place: the result is never longer */
	for (const char *c = s; *c;) {
		int k = 0;
		while (k < 3 && strncmp(c, keys[k], strlen(keys[k])) != 0)
			k++;
		if (k == 3) {
			*d++ = *c++;
			continue;
		}
		size_t kl = strlen(keys[k]);
		memmove(d, c, kl);
		d += kl;
		c += kl;
		int digits = 0;
		for (; (*c >= '0' && *c <= '9') || *c == '.' || *c == 'e' || *c == '-'; c++)
			if (!(*c >= '0' && *c <= '9') || ++digits <= (k ? 12 : 0))
				*d++ = *c;
		*d++ = '#';
	}
	*d = 0;
	return s;
}

static void same_answer_any_jobs(void **state)
{
	(void)state;
	char *first = NULL;
	for (int j = 1; j <= 3; j++) {
		run_result r = run("--json -j %d --where 'status>=400' --where 'user_agent~Mozilla' "
				   "--top path --by hour %s",
				   j, log_path);
		assert_int_equal(r.status, 0);
		char *s = strip_memory(r.out);
		if (!first)
			first = s;
		else if (strcmp(first, s) != 0)
			fail_msg("-j %d gives another report than -j 1", j);
		else
			free(s);
		run_result_free(&r);
	}
	free(first);
}

static void states_keep_their_filters(void **state)
{
	(void)state;
	run_result r = run("-q -j 1 --where 'status>=500' --save %s/a.state %s", dir, log_path);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("-q -j 2 --where 'status>=500' --save %s/b.state %s", dir, log_path);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("-q -j 1 --where 'status>=400' --save %s/c.state %s", dir, log_path);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	/* like with like: twice the counts */
	r = run("merge -o %s/ab.state %s/a.state %s/b.state", dir, dir, dir);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("report --json %s/ab.state", dir);
	assert_int_equal(r.status, 0);
	naive n = count(p_5xx);
	assert_int_equal(json_u64(r.json, "requests"), 2 * n.requests);
	assert_int_equal(json_u64(r.json, "filtered"), 2 * (NREC - n.requests));
	assert_string_equal(json_at(json_get(r.json, "filter"), 0)->str, "status >= 500");
	run_result_free(&r);
	/* another filter: refused */
	r = run("merge -o %s/ac.state %s/a.state %s/c.state", dir, dir, dir);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "different plans"));
	run_result_free(&r);
	r = run("-q --where 'status>=400' --state %s/a.state %s", dir, log_path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "another plan"));
	run_result_free(&r);
}

/* ---- refusals ----------------------------------------------------------------- */

static void refusals_before_reading(void **state)
{
	(void)state;
	run_result r = run("--where 'status=>500' %s", log_path);
	assert_int_equal(r.status, 2);
	/* the caret sits under the offending '>' of "status=>500" (offset 7) */
	assert_non_null(strstr(r.err, "  status=>500\n         ^"));
	run_result_free(&r);
	r = run("--where 'statuz>=500' %s", log_path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "unknown field"));
	run_result_free(&r);
	r = run("--where 'user_agent~bot' %s", common_path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "user_agent is not in the common format"));
	run_result_free(&r);
	r = run("--where 'path~(unclosed' %s", log_path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "PCRE2"));
	run_result_free(&r);
	r = run("--since 2024-01-02 --until 2024-01-01 %s", log_path);
	assert_int_equal(r.status, 2);
	run_result_free(&r);
	r = run("--since 'next tuesday' %s", log_path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "invalid --since"));
	run_result_free(&r);
	r = run("--only %s", log_path);
	assert_int_equal(r.status, 2);
	run_result_free(&r);
}

/* ---- describe, parse again ---------------------------------------------------- */

static void describe_parses_back(void **state)
{
	(void)state;
	static const char *const exprs[] = {
		"status>=500",		/* plain ones stay as they were */
		"not method in GET,HEAD",
		"path^=/api/",
		"user_agent~(?i)bot",
		"path=\"'/a'\"",	/* the value '/a', quotes and all */
		"path='\"x\"'",		/* the value "x" */
		"method in '(GET,HEAD)'", /* parentheses that are the value */
		"referrer=' -'",	/* a leading space */
		"query=''",		/* empty */
		"path='a'b'",		/* quotes inside */
	};
	for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
		sl_filter f, g;
		char text[600], again[600];
		size_t at = 0;
		const char *why = NULL;
		if (sl_filter_parse(exprs[i], &f, &at, &why) != SL_OK)
			fail_msg("%s: refused at %zu: %s", exprs[i], at, why);
		sl_filter_describe(&f, text, sizeof text);
		if (sl_filter_parse(text, &g, &at, &why) != SL_OK)
			fail_msg("%s: its description '%s' is refused: %s", exprs[i], text, why);
		if (g.field != f.field || g.cmp != f.cmp || g.negate != f.negate ||
		    strcmp(g.text, f.text) != 0)
			fail_msg("%s: value '%s', described as '%s', parses back as '%s'", exprs[i],
				 f.text, text, g.text);
		sl_filter_describe(&g, again, sizeof again);
		assert_string_equal(text, again);
	}
	/* plain values keep their plain description */
	sl_filter f;
	char text[600];
	assert_int_equal(sl_filter_parse("status>=500", &f, NULL, NULL), SL_OK);
	assert_string_equal(sl_filter_describe(&f, text, sizeof text), "status >= 500");
	assert_int_equal(sl_filter_parse("path='/a'", &f, NULL, NULL), SL_OK);
	assert_string_equal(sl_filter_describe(&f, text, sizeof text), "path = /a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(filters_match_naive),
		cmocka_unit_test(plan_options_match_naive),
		cmocka_unit_test(groups_match_naive),
		cmocka_unit_test(same_answer_any_jobs),
		cmocka_unit_test(states_keep_their_filters),
		cmocka_unit_test(refusals_before_reading),
		cmocka_unit_test(describe_parses_back),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
