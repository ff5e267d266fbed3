/*
 * test_state.c: state files (lib/report/state.c) through the public API.
 *  - round trip: encode -> decode gives the same report in every figure, the
 *    same HLL registers, top lists (with errors) and KLL quantiles;
 *  - exactness: merge(state(a), state(b)) equals state(a then b) in every
 *    exact figure and the HLL registers;
 *  - different budgets: HLL folding to the smaller precision (checked
 *    against an HLL fed the parsed client hashes directly), top capacities,
 *    a larger report than recorded;
 *  - every corruption is rejected with a reason: truncation at every byte,
 *    bit flips, wrong magic, unknown version, a length past the end, an
 *    impossible HLL register, KLL levels out of order, counts implying more
 *    memory than the budget (refused before allocating);
 *  - atomic save: a child saving in a loop is killed with SIGKILL at random
 *    moments; the target always holds the old or the new state, whole;
 *  - the fuzz corpora (seeds and kept findings) replay cleanly.
 * The corruption tests parse the container with their own code (from
 * docs/state-format.md) and re-seal checksums, so each forged file reaches
 * the check it aims at; re-sealing an unmodified file must still decode.
 */
#include "report/report.h"
#include "testutil.h"
#include "statefile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t seed;

/* n combined lines into buf (as in test_report.c); returns the length.
 * Clients and URLs are drawn from nclients / nurls values; every 101st line
 * is malformed. */
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
			"10.%u.%u.%u - - [%s] \"GET /u/%u?x=%u HTTP/1.1\" %d %u \"-\" \"ua%u\" 0.%03u\n",
			c >> 16, (c >> 8) & 255, c & 255, when, u % 50, u, st[u % 5], u * 3, c % 7,
			u % 1000);
	}
	return len;
}

typedef struct {
	char *text;
	size_t len;
} logbuf;

static logbuf make_log(uint64_t s, size_t n, unsigned clients, unsigned urls, int64_t t0)
{
	tu_rng r = {s};
	logbuf l;
	size_t cap = n * 200 + 1;
	l.text = malloc(cap);
	assert_non_null(l.text);
	l.len = gen(l.text, cap, &r, n, clients, urls, t0);
	return l;
}

static sl_report *report_fmt(sl_budget *b, sl_format fmt, size_t bytes, const logbuf *logs,
			     size_t nlogs)
{
	sl_report *r;
	assert_int_equal(sl_report_new(&r, b, fmt, bytes), SL_OK);
	for (size_t i = 0; i < nlogs; i++) {
		sl_report_begin_input(r, (uint32_t)i);
		sl_report_feed(r, logs[i].text, logs[i].len);
	}
	return r;
}

static sl_report *report_of(sl_budget *b, size_t bytes, const logbuf *logs, size_t nlogs)
{
	return report_fmt(b, SL_FMT_COMBINED, bytes, logs, nlogs);
}

/* Distinct values in every field; consistent with any report of the tests
 * (the decoder checks that an input's lines and its samples' line numbers
 * fit the bytes it gave). */
static const sl_state_input test_inputs[2] = {
	{.path = "a.log", .dev = 1, .ino = 2, .size = 3000003, .consumed = 4000004, .lines = 13,
	 .head_hash = 5, .head_len = 6},
	{.path = "b.log", .error = "read error: test", .dev = 7, .ino = 8, .size = 9000009,
	 .consumed = 10000010, .lines = 14, .head_hash = 11, .head_len = 12},
};

/* The budget the test states record: every report of the tests fits it (the
 * decoder refuses a report larger than its run's budget). */
#define TEST_BUDGET ((uint64_t)64 << 20)

static void *encode(sl_budget *b, const sl_report *r, size_t *len)
{
	void *buf;
	assert_int_equal(sl_state_encode(b, r, test_inputs, 2, TEST_BUDGET, 12345, &buf, len), SL_OK);
	return buf;
}

static sl_state *decode_ok(sl_budget *b, const void *buf, size_t len, size_t report_bytes)
{
	sl_state *s = NULL;
	const char *why = NULL;
	sl_status st = sl_state_decode(&s, b, buf, len, report_bytes, &why);
	if (st != SL_OK)
		print_message("decode failed: %s: %s\n", sl_strerror(st), why);
	assert_int_equal(st, SL_OK);
	assert_non_null(s);
	return s;
}

/* ---- comparisons ------------------------------------------------------ */

static bool same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static void assert_same_moments(const sl_moments *a, const sl_moments *b, bool bits)
{
	assert_int_equal(a->n, b->n);
	assert_true(same_double(a->min, b->min));
	assert_true(same_double(a->max, b->max));
	if (bits) {
		assert_true(same_double(a->mean, b->mean));
		assert_true(same_double(a->m2, b->m2));
		assert_true(same_double(a->sum, b->sum));
		assert_true(same_double(a->sum_comp, b->sum_comp));
	}
}

static void assert_same_hll(const sl_hll *a, const sl_hll *b)
{
	assert_int_equal(sl_hll_precision(a), sl_hll_precision(b));
	for (uint32_t i = 0; i < (1u << sl_hll_precision(a)); i++)
		assert_int_equal(sl_hll_register(a, i), sl_hll_register(b, i));
}

static void assert_same_distinct(const sl_distinct *a, const sl_distinct *b)
{
	assert_int_equal(a == NULL, b == NULL);
	if (!a)
		return;
	assert_int_equal(sl_distinct_is_exact(a), sl_distinct_is_exact(b));
	sl_estimate ea = sl_distinct_estimate(a), eb = sl_distinct_estimate(b);
	/* a degraded counter fed one stream answers with HIP, a merged one
	 * with Ertl's estimator: the same figures only for the same one */
	if (sl_distinct_is_exact(a) ||
	    sl_hll_is_merged(sl_distinct_hll(a)) == sl_hll_is_merged(sl_distinct_hll(b))) {
		assert_true(same_double(ea.estimate, eb.estimate));
		assert_true(same_double(ea.low, eb.low));
		assert_true(same_double(ea.high, eb.high));
	}
	if (!sl_distinct_is_exact(a))
		assert_same_hll(sl_distinct_hll(a), sl_distinct_hll(b));
}

/* all = every row: the whole table, errors included. */
static void assert_same_topk(const sl_topk *a, const sl_topk *b, bool all)
{
	assert_int_equal(a == NULL, b == NULL);
	if (!a)
		return;
	assert_int_equal(sl_topk_total(a), sl_topk_total(b));
	if (!all && !(sl_topk_is_exact(a) && sl_topk_is_exact(b)))
		return;
	assert_int_equal(sl_topk_is_exact(a), sl_topk_is_exact(b));
	size_t cap = sl_topk_capacity(a) > sl_topk_capacity(b) ? sl_topk_capacity(a)
							       : sl_topk_capacity(b);
	sl_topk_row *ra = calloc(cap, sizeof *ra), *rb = calloc(cap, sizeof *rb);
	size_t na = sl_topk_list(a, ra, cap), nb = sl_topk_list(b, rb, cap);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(ra[i].count, rb[i].count);
		assert_int_equal(ra[i].max_error, rb[i].max_error);
		assert_int_equal(ra[i].len, rb[i].len);
		assert_int_equal(ra[i].truncated, rb[i].truncated);
		assert_memory_equal(ra[i].value, rb[i].value, ra[i].len);
	}
	free(ra);
	free(rb);
}

/* The relative-error sketches answer alike, merged or not: their store is
 * a function of the values' keys (lib/sketch/relq.c), so no `all` flag. */
static void assert_same_quant(const sl_relq *a, const sl_relq *b)
{
	assert_int_equal(a == NULL, b == NULL);
	if (!a)
		return;
	assert_int_equal(sl_relq_count(a), sl_relq_count(b));
	assert_true(same_double(sl_relq_relative_error(a), sl_relq_relative_error(b)));
	assert_true(same_double(sl_relq_rank_slack(a), sl_relq_rank_slack(b)));
	for (int i = 0; i <= 1000; i++) {
		double q = i / 1000.0;
		double x = sl_relq_quantile(a, q), y = sl_relq_quantile(b, q);
		assert_true(same_double(x, y) || (isnan(x) && isnan(y)));
		assert_int_equal(sl_relq_bounded(a, q), sl_relq_bounded(b, q));
	}
}

static void assert_same_series(const sl_series *a, const sl_series *b)
{
	assert_int_equal(a == NULL, b == NULL);
	if (!a)
		return;
	assert_int_equal(sl_series_width(a), sl_series_width(b));
	assert_int_equal(sl_series_len(a), sl_series_len(b));
	for (size_t i = 0; i < sl_series_len(a); i++) {
		int64_t ta, tb;
		uint64_t ca, cb;
		sl_series_get(a, i, &ta, &ca);
		sl_series_get(b, i, &tb, &cb);
		assert_int_equal(ta, tb);
		assert_int_equal(ca, cb);
	}
}

/*
 * full: every figure, sketches included bit for bit (a round trip);
 * otherwise the exact figures and the HLL registers (a merge).
 */
static void assert_same_report(const sl_report *a, const sl_report *b, bool full)
{
	assert_int_equal(a->format, b->format);
	assert_int_equal(a->lines, b->lines);
	assert_int_equal(a->requests, b->requests);
	assert_int_equal(a->malformed, b->malformed);
	assert_int_equal(a->oversized, b->oversized);
	assert_int_equal(a->bytes_sent, b->bytes_sent);
	assert_int_equal(a->bytes_sent_high, b->bytes_sent_high);
	if (a->requests) {
		assert_int_equal(a->first_time, b->first_time);
		assert_int_equal(a->last_time, b->last_time);
	}
	assert_memory_equal(a->status, b->status, sizeof a->status);
	assert_true(sl_plan_equal(&a->plan, &b->plan));
	for (uint32_t i = 0; i < a->plan.nitems; i++) {
		const struct sl_report_item *x = &a->item[i], *y = &b->item[i];
		if (x->tally)
			assert_memory_equal(x->tally, y->tally, sizeof *x->tally);
		if (x->q) {
			assert_same_moments(&x->m, &y->m, full);
			assert_same_quant(x->q, y->q);
		}
		if (x->distinct)
			assert_same_distinct(x->distinct, y->distinct);
		if (x->top)
			assert_same_topk(x->top, y->top, full);
	}
	if (a->series_item >= 0) {
		assert_same_series(a->per_hour, b->per_hour);
		assert_same_series(a->per_minute, b->per_minute);
	}
	if (full) {
		assert_int_equal(a->nsamples, b->nsamples);
		for (uint32_t i = 0; i < a->nsamples; i++) {
			assert_int_equal(a->samples[i].input, b->samples[i].input);
			assert_int_equal(a->samples[i].line, b->samples[i].line);
			assert_string_equal(a->samples[i].why, b->samples[i].why);
			assert_int_equal(a->samples[i].len, b->samples[i].len);
			assert_int_equal(a->samples[i].truncated, b->samples[i].truncated);
			assert_memory_equal(a->samples[i].text, b->samples[i].text, a->samples[i].len);
		}
	}
}

/* ---- round trip ------------------------------------------------------- */

static void round_trip_at(sl_format fmt, size_t bytes, size_t n, unsigned clients, unsigned urls,
			  bool degraded)
{
	sl_budget b;
	sl_budget_init(&b, 256 << 20);
	logbuf l = make_log(seed, n, clients, urls, 1700000000);
	sl_report *r = report_fmt(&b, fmt, bytes, &l, 1);
	if (degraded && fmt == SL_FMT_LINES) {
		assert_false(sl_distinct_is_exact(sl_report_named(r, "distinct_lines")->distinct));
		assert_false(sl_topk_is_exact(sl_report_named(r, "line")->top));
	} else if (degraded) {
		assert_false(sl_distinct_is_exact(sl_report_named(r, "unique_ips")->distinct));
		assert_false(sl_relq_is_exact(sl_report_named(r, "response_bytes")->q));
		assert_false(sl_topk_is_exact(sl_report_named(r, sl_top_name(SL_TOP_URL))->top));
		assert_false(sl_topk_is_exact(sl_report_named(r, sl_top_name(SL_TOP_IP))->top));
	}
	size_t len;
	void *buf = encode(&b, r, &len);
	assert_true(sl_state_is_state(buf, len));
	sl_state *s = decode_ok(&b, buf, len, 0);
	assert_same_report(r, s->report, true);
	assert_int_equal(s->report->bytes_held, r->bytes_held);
	assert_int_equal(s->budget, TEST_BUDGET);
	assert_int_equal(s->peak, 12345);
	assert_int_equal(s->ninputs, 2);
	for (int i = 0; i < 2; i++) {
		const sl_state_input *x = &s->inputs[i], *y = &test_inputs[i];
		assert_string_equal(x->path, y->path);
		if (y->error)
			assert_string_equal(x->error, y->error);
		else
			assert_null(x->error);
		assert_int_equal(x->dev, y->dev);
		assert_int_equal(x->ino, y->ino);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->consumed, y->consumed);
		assert_int_equal(x->lines, y->lines);
		assert_int_equal(x->head_hash, y->head_hash);
		assert_int_equal(x->head_len, y->head_len);
	}
	/* A second trip gives the same again, and the same length. */
	size_t len2;
	void *buf2 = encode(&b, s->report, &len2);
	assert_int_equal(len2, len);
	sl_state *s2 = decode_ok(&b, buf2, len2, 0);
	assert_same_report(r, s2->report, true);
	/* Feeding the decoded report goes on as the original would. */
	logbuf more = make_log(seed + 99, n / 4, clients, urls, 1700000000 + 86400);
	sl_report_feed(r, more.text, more.len);
	sl_report_feed(s->report, more.text, more.len);
	assert_same_report(r, s->report, true);
	print_message("bytes %zu, lines %zu: state of %zu bytes\n", bytes, n, len);

	sl_state_free(s);
	sl_state_free(s2);
	sl_free(&b, buf, len);
	sl_free(&b, buf2, len2);
	sl_report_free(r);
	assert_int_equal(b.used, 0);
	free(l.text);
	free(more.text);
}

static void round_trip_exact(void **state)
{
	(void)state;
	round_trip_at(SL_FMT_COMBINED, 1 << 20, 3000, 300, 400, false);
}

static void round_trip_degraded(void **state)
{
	(void)state;
	round_trip_at(SL_FMT_COMBINED, sl_report_min_bytes(), 30000, 30000, 20000, true);
}

static void round_trip_empty(void **state)
{
	(void)state;
	round_trip_at(SL_FMT_COMBINED, sl_report_min_bytes(), 0, 1, 1, false);
	round_trip_at(SL_FMT_COMMON, sl_report_min_bytes(), 0, 1, 1, false);
}

static void round_trip_lines(void **state)
{
	(void)state;
	round_trip_at(SL_FMT_LINES, 1 << 20, 2000, 50, 50, false);
	round_trip_at(SL_FMT_LINES, sl_report_min_bytes(), 30000, 30000, 20000, true);
}

/* ---- exactness: merge of states = state of both ------------------------- */

static void merge_matches_one_pass(size_t bytes, size_t n, unsigned clients)
{
	sl_budget b;
	sl_budget_init(&b, 256 << 20);
	logbuf l[2] = {make_log(seed + 1, n, clients, 400, 1700000000),
		       make_log(seed + 2, n, clients, 400, 1700000000 + 3 * 86400)};
	sl_report *ra = report_of(&b, bytes, &l[0], 1);
	sl_report *rb = report_of(&b, bytes, &l[1], 1);
	sl_report *rall = report_of(&b, bytes, l, 2);
	size_t la, lb, lall;
	void *sa = encode(&b, ra, &la), *sb = encode(&b, rb, &lb), *sall = encode(&b, rall, &lall);
	sl_state *da = decode_ok(&b, sa, la, 0), *db = decode_ok(&b, sb, lb, 0);
	sl_state *dall = decode_ok(&b, sall, lall, 0);
	const char *why;
	assert_int_equal(sl_state_merge(da, db, &why), SL_OK);
	assert_same_report(da->report, dall->report, false);
	assert_same_report(da->report, rall, false);
	assert_int_equal(da->ninputs, 4);
	assert_string_equal(da->inputs[2].path, "a.log");
	assert_string_equal(da->inputs[3].error, "read error: test");
	/* samples of b now name b's inputs, after a's */
	for (uint32_t i = 0; i < da->report->nsamples; i++)
		assert_true(da->report->samples[i].input < 4);
	/* and the merged state encodes and decodes again */
	size_t lm;
	void *sm;
	assert_int_equal(sl_state_encode(&b, da->report, da->inputs, da->ninputs, da->budget,
					 da->peak, &sm, &lm),
			 SL_OK);
	sl_state *dm = decode_ok(&b, sm, lm, 0);
	assert_same_report(dm->report, da->report, true);
	if (clients > 10000)
		assert_false(sl_distinct_is_exact(sl_report_named(dall->report, "unique_ips")->distinct));

	sl_state_free(dm);
	sl_free(&b, sm, lm);
	sl_state_free(da);
	sl_state_free(db);
	sl_state_free(dall);
	sl_free(&b, sa, la);
	sl_free(&b, sb, lb);
	sl_free(&b, sall, lall);
	sl_report_free(ra);
	sl_report_free(rb);
	sl_report_free(rall);
	assert_int_equal(b.used, 0);
	free(l[0].text);
	free(l[1].text);
}

static void merge_exact(void **state)
{
	(void)state;
	merge_matches_one_pass(1 << 20, 10000, 300);
}

static void merge_degraded(void **state)
{
	(void)state;
	merge_matches_one_pass(sl_report_min_bytes(), 20000, 40000);
}

static void merge_formats_differ(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_report *ra, *rb;
	assert_int_equal(sl_report_new(&ra, &b, SL_FMT_COMBINED, sl_report_min_bytes()), SL_OK);
	assert_int_equal(sl_report_new(&rb, &b, SL_FMT_COMMON, sl_report_min_bytes()), SL_OK);
	size_t la, lb;
	void *sa = encode(&b, ra, &la), *sb = encode(&b, rb, &lb);
	sl_state *da = decode_ok(&b, sa, la, 0), *db = decode_ok(&b, sb, lb, 0);
	const char *why = NULL;
	assert_int_equal(sl_state_merge(da, db, &why), SL_EMISMATCH);
	assert_non_null(why);
	assert_int_equal(da->ninputs, 2);
	sl_state_free(da);
	sl_state_free(db);
	sl_free(&b, sa, la);
	sl_free(&b, sb, lb);
	sl_report_free(ra);
	sl_report_free(rb);
	assert_int_equal(b.used, 0);
}

/* ---- different budgets ------------------------------------------------- */

/* An HLL at precision p fed the client of every valid line in logs. */
static sl_hll *clients_hll(sl_budget *b, int p, const logbuf *logs, size_t nlogs)
{
	sl_hll *h = sl_hll_new(b, p);
	assert_non_null(h);
	for (size_t k = 0; k < nlogs; k++) {
		const char *s = logs[k].text, *end = s + logs[k].len;
		sl_time_cache tc;
		memset(&tc, 0, sizeof tc);
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			sl_record rec;
			if (sl_access_parse(SL_FMT_COMBINED, s, (size_t)(nl - s), &rec, &tc) == SL_OK)
				sl_hll_add_hash(h, sl_hash(rec.field[SL_F_CLIENT].p,
							   rec.field[SL_F_CLIENT].len));
			s = nl + 1;
		}
	}
	return h;
}

static void different_budgets(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 256 << 20);
	size_t small = sl_report_min_bytes(), big = 4 << 20;
	/* enough clients that the ips' set passes its share at 4 MiB, where
	 * the pool lets an exact table grow */
	logbuf l[2] = {make_log(seed + 3, 150000, 400000, 30000, 1700000000),
		       make_log(seed + 4, 150000, 400000, 30000, 1700000000 + 86400)};
	sl_report *ra = report_of(&b, small, &l[0], 1);
	sl_report *rb = report_of(&b, big, &l[1], 1);
	assert_false(sl_distinct_is_exact(sl_report_named(ra, "unique_ips")->distinct));
	assert_false(sl_distinct_is_exact(sl_report_named(rb, "unique_ips")->distinct));
	int pa = sl_hll_precision(sl_distinct_hll(sl_report_named(ra, "unique_ips")->distinct));
	int pb = sl_hll_precision(sl_distinct_hll(sl_report_named(rb, "unique_ips")->distinct));
	print_message("HLL precisions: small %d, big %d\n", pa, pb);
	assert_true(pa < pb);
	size_t la, lb;
	void *sa = encode(&b, ra, &la), *sb = encode(&b, rb, &lb);

	/* big into small and small into big: the precision is the smaller,
	 * and the registers those of one HLL at that precision fed both. */
	sl_hll *ref = clients_hll(&b, pa, l, 2);
	sl_hll *wrong = clients_hll(&b, pa, l, 1);
	for (int order = 0; order < 2; order++) {
		sl_state *d1 = decode_ok(&b, order ? sb : sa, order ? lb : la, 0);
		sl_state *d2 = decode_ok(&b, order ? sa : sb, order ? la : lb, 0);
		size_t cap_before[SL_TOP_COUNT];
		for (int t = 0; t < SL_TOP_COUNT; t++)
			cap_before[t] = sl_topk_capacity(sl_report_named(d1->report, sl_top_name(t))->top);
		const char *why;
		assert_int_equal(sl_state_merge(d1, d2, &why), SL_OK);
		const sl_hll *h = sl_distinct_hll(sl_report_named(d1->report, "unique_ips")->distinct);
		assert_non_null(h);
		assert_same_hll(h, ref);
		/* the checker can fail: one log's HLL differs */
		bool differs = false;
		for (uint32_t i = 0; i < (1u << pa); i++)
			differs |= sl_hll_register(h, i) != sl_hll_register(wrong, i);
		assert_true(differs);
		for (int t = 0; t < SL_TOP_COUNT; t++) {
			assert_int_equal(sl_topk_capacity(sl_report_named(d1->report, sl_top_name(t))->top), cap_before[t]);
			assert_int_equal(sl_topk_total(sl_report_named(d1->report, sl_top_name(t))->top),
					 sl_topk_total(sl_report_named(ra, sl_top_name(t))->top) + sl_topk_total(sl_report_named(rb, sl_top_name(t))->top));
		}
		assert_int_equal(d1->report->requests, ra->requests + rb->requests);
		sl_state_free(d1);
		sl_state_free(d2);
	}

	/* Decoding into a larger report than recorded: a top list whose
	 * capacity is within the larger one's share is restored as it was
	 * (so that it goes on as it would have), HLLs keep their precision,
	 * the exact figures are unchanged. */
	sl_state *grown = decode_ok(&b, sa, la, big);
	assert_int_equal(grown->report->bytes_held, big);
	for (int t = 0; t < SL_TOP_COUNT; t++) {
		if (!sl_topk_is_exact(sl_report_named(ra, sl_top_name(t))->top))
			assert_int_equal(sl_topk_capacity(sl_report_named(grown->report, sl_top_name(t))->top),
					 sl_topk_capacity(sl_report_named(ra, sl_top_name(t))->top));
		assert_int_equal(sl_topk_total(sl_report_named(grown->report, sl_top_name(t))->top), sl_topk_total(sl_report_named(ra, sl_top_name(t))->top));
	}
	assert_same_hll(sl_distinct_hll(sl_report_named(grown->report, "unique_ips")->distinct), sl_distinct_hll(sl_report_named(ra, "unique_ips")->distinct));
	assert_same_series(grown->report->per_hour, ra->per_hour);
	assert_memory_equal(grown->report->status, ra->status, sizeof ra->status);
	assert_int_equal(sl_relq_count(sl_report_named(grown->report, "response_bytes")->q),
			 sl_relq_count(sl_report_named(ra, "response_bytes")->q));
	sl_state_free(grown);

	sl_hll_free(ref);
	sl_hll_free(wrong);
	sl_free(&b, sa, la);
	sl_free(&b, sb, lb);
	sl_report_free(ra);
	sl_report_free(rb);
	assert_int_equal(b.used, 0);
	free(l[0].text);
	free(l[1].text);
}

/* ---- corruption --------------------------------------------------------- */

/* Decoding must fail with `want` and give a reason; prints it. */
static void expect_reject(sl_budget *b, const uint8_t *buf, size_t len, sl_status want,
			  const char *label)
{
	sl_state *s = (sl_state *)1;
	const char *why = NULL;
	size_t used = b->used;
	sl_status st = sl_state_decode(&s, b, buf, len, 0, &why);
	if (label)
		print_message("%-28s -> %s: %s\n", label, sl_strerror(st), why ? why : "(none)");
	assert_int_equal(st, want);
	assert_null(s);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	assert_int_equal(b->used, used);
}

/* A small state of n lines at the minimum report size. */
static uint8_t *small_state(sl_budget *b, size_t n, unsigned clients, size_t *len)
{
	logbuf l = make_log(seed + 5, n, clients, 3000, 1700000000);
	sl_report *r = report_of(b, sl_report_min_bytes(), &l, 1);
	void *buf = encode(b, r, len);
	uint8_t *copy = malloc(*len);
	memcpy(copy, buf, *len);
	sl_free(b, buf, *len);
	sl_report_free(r);
	free(l.text);
	return copy;
}

static void truncation_everywhere(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	size_t len;
	uint8_t *buf = small_state(&b, 60, 20, &len);
	print_message("small state: %zu bytes\n", len);
	for (size_t cut = 0; cut < len; cut++)
		expect_reject(&b, buf, cut, SL_ECORRUPT, cut == len / 2 ? "cut in half" : NULL);
	expect_reject(&b, buf, 0, SL_ECORRUPT, "empty");
	/* one byte too many */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	expect_reject(&b, longer, len + 1, SL_ECORRUPT, "one byte appended");
	free(longer);
	sl_state *s = decode_ok(&b, buf, len, 0);
	sl_state_free(s);
	free(buf);
	assert_int_equal(b.used, 0);
}

static void bit_flips(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	size_t len;
	uint8_t *buf = small_state(&b, 300, 100, &len);
	tu_rng r = {seed + 6};
	/* every byte once, with a random bit, then random places */
	for (size_t i = 0; i < len + 2000; i++) {
		size_t at = i < len ? i : (size_t)tu_below(&r, len);
		int bit = (int)tu_below(&r, 8);
		buf[at] ^= (uint8_t)(1u << bit);
		expect_reject(&b, buf, len, SL_ECORRUPT, i == 10 ? "bit flip in the header" : NULL);
		buf[at] ^= (uint8_t)(1u << bit);
	}
	sl_state *s = decode_ok(&b, buf, len, 0);
	sl_state_free(s);
	free(buf);
	assert_int_equal(b.used, 0);
}

static void forged_headers(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	size_t len;
	uint8_t *orig = small_state(&b, 300, 100, &len);
	uint8_t *buf = malloc(len);

	/* the checker can fail: re-sealing an intact file keeps it valid */
	memcpy(buf, orig, len);
	sf_reseal(buf, len);
	assert_memory_equal(buf, orig, len);
	sl_state_free(decode_ok(&b, buf, len, 0));

	memcpy(buf, orig, len);
	buf[0] = 'X';
	expect_reject(&b, buf, len, SL_ECORRUPT, "wrong magic");
	assert_false(sl_state_is_state(buf, len));
	assert_true(sl_state_is_state(orig, len));

	memcpy(buf, orig, len);
	sf_put32(buf + 8, SL_STATE_VERSION + 1);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "a newer version");

	/* version 1 reads the inputs without `lines`: this file's entries
	 * then leave 8 bytes each over */
	memcpy(buf, orig, len);
	sf_put32(buf + 8, 1);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "version 1 with version-2 inputs");

	memcpy(buf, orig, len);
	sf_put32(buf + 12, 1000);
	expect_reject(&b, buf, len, SL_ECORRUPT, "1000 sections");

	/* a section length past the end of the file */
	memcpy(buf, orig, len);
	sf_put64(buf + 24 + 24 * 2 + 8, (uint64_t)1 << 40);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "section length past the end");
	memcpy(buf, orig, len);
	sf_put64(buf + 24 + 8, UINT64_MAX);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "section length 2^64-1");

	/* unknown section type, and sections out of order */
	memcpy(buf, orig, len);
	sf_put32(buf + 24 + 24 * 3, 99);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "unknown section type");
	memcpy(buf, orig, len);
	{
		uint8_t e[24];
		memcpy(e, buf + 24 + 24 * 3, 24);
		memcpy(buf + 24 + 24 * 3, buf + 24 + 24 * 4, 24);
		memcpy(buf + 24 + 24 * 4, e, 24);
		sf_reseal(buf, len);
		expect_reject(&b, buf, len, SL_ECORRUPT, "sections swapped");
	}

	/* a lying count inside a section: 2^31 inputs */
	size_t off, slen;
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 2, &off, &slen));
	sf_put32(buf + off, 1u << 31);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "2^31 inputs");

	/* line counts that disagree */
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 3, &off, &slen));
	sf_put64(buf + off, sf_le64(buf + off) + 1);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "lines + 1");

	/* an exact distinct counter claiming 2^40 hashes */
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 16, &off, &slen));
	assert_int_equal(buf[off + 1], 0); /* exact */
	sf_put64(buf + off + 3, (uint64_t)1 << 40);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "2^40 distinct hashes");

	free(buf);
	free(orig);
	assert_int_equal(b.used, 0);
}

static void impossible_sketches(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	size_t len, off, slen;
	/* enough clients that ips is an HLL, enough lines that KLL compacts */
	uint8_t *orig = small_state(&b, 20000, 30000, &len);
	uint8_t *buf = malloc(len);

	/* The HLL (lib/sketch/hll.c, mode 3): u8 p @10, u8 merged @11, f64 hip @12,
	 * u8 base @20, u32 k @21, nibbles @25 */
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 16, &off, &slen));
	assert_int_equal(buf[off + 1], 3); /* degraded, four-bit HLL */
	int p = buf[off];
	assert_int_equal(buf[off + 10], p);
	assert_int_equal(buf[off + 11], 0); /* one stream: HIP */
	buf[off + 11] = 1;		    /* merged, HIP 0: Ertl, possible */
	sf_put64(buf + off + 12, 0);
	sf_reseal(buf, len);
	sl_state_free(decode_ok(&b, buf, len, 0));
	memcpy(buf, orig, len);
	buf[off + 20] = (uint8_t)(66 - p); /* every register above 65 - p */
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "HLL base 66 - p");
	memcpy(buf, orig, len);
	sf_put32(buf + off + 21, sf_le32(buf + off + 21) + 1);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "HLL exception count + 1");
	memcpy(buf, orig, len);
	buf[off + 10] = 3;
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "HLL precision 3");
	memcpy(buf, orig, len);
	buf[off + 11] = 2;
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "HLL merged flag 2");
	memcpy(buf, orig, len);
	sf_put64(buf + off + 12, 0); /* HIP with a zero estimate but registers set */
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "HLL HIP estimate 0");
	memcpy(buf, orig, len);
	buf[off + 11] = 1; /* merged, yet a HIP figure */
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "HLL merged with a HIP figure");

	/* relative-error quantiles (section 53, response sizes: past their
	 * raw phase here). Layout: f64 alpha @0, u32 B @8, u64 n @12, u64
	 * zero @20, f64 min @28, f64 max @36, f64 slack @44, u8 mode @52,
	 * u8 collapsed @53, i64 first key @54, u32 m @62, counts @66. */
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 53, &off, &slen));
	assert_int_equal(buf[off + 52], 1); /* buckets */
	uint32_t m = sf_le32(buf + off + 62);
	assert_int_equal(slen, 66 + 8 * (size_t)m);
	sl_state_free(decode_ok(&b, buf, len, 0)); /* unchanged: accepted */
	sf_put64(buf + off + 12, sf_le64(buf + off + 12) + 1);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "quantile n + 1");
	memcpy(buf, orig, len);
	sf_put64(buf + off + 66, 0);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "quantile first bucket empty");
	memcpy(buf, orig, len);
	buf[off + 52] = 2;
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "quantile mode 2");
	memcpy(buf, orig, len);
	sf_put64(buf + off, 0x3f847ae147ae147bULL); /* alpha 0.01 */
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "quantile of another alpha");
	memcpy(buf, orig, len);
	sf_put64(buf + off + 28, sf_le64(buf + off + 36) + 1); /* min above max */
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "quantile min above max");
	memcpy(buf, orig, len);
	sf_put32(buf + off + 62, UINT32_MAX);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "quantile 2^32 buckets");
	memcpy(buf, orig, len);
	sf_put64(buf + off + 44, 0x7ff8000000000001ULL); /* NaN slack */
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "quantile NaN rank slack");
	/* a KLL section in a version-3 file */
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 53, &off, &slen));
	for (uint32_t i = 0; i < sf_le32(buf + 12); i++)
		if (sf_le32(buf + 24 + 24 * (size_t)i) == 52 || sf_le32(buf + 24 + 24 * (size_t)i) == 53)
			sf_put32(buf + 24 + 24 * (size_t)i, sf_le32(buf + 24 + 24 * (size_t)i) - 4);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "KLL section in version 3");

	/* top lists: the url list is Space-Saving here, the user agents exact */
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 32, &off, &slen));
	assert_int_equal(buf[off + 4], 0); /* not exact */
	assert_int_equal(buf[off + 29], 1); /* the first entry holds a key */
	size_t count_at = off + 29 + 1 + 8 + 4;
	sf_put64(buf + count_at, UINT64_MAX);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "top counts out of order");
	memcpy(buf, orig, len);
	sf_put64(buf + count_at + 8, sf_le64(buf + count_at) + 1);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "top error above count");
	memcpy(buf, orig, len);
	buf[off + 4] = 1;
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "top marked exact");
	memcpy(buf, orig, len);
	sf_put32(buf + off, 1u << 31);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "top capacity 2^31");

	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 36, &off, &slen));
	assert_int_equal(buf[off + 4], 1); /* exact: "ua0" .. "ua6" */
	assert_true(sf_le32(buf + off + 21) >= 2);
	size_t e0 = off + 29, e1 = e0 + 34;
	assert_int_equal(sf_le32(buf + e0 + 9), 3);
	assert_int_equal(sf_le32(buf + e1 + 9), 3);
	uint64_t c1 = sf_le64(buf + e1 + 13);
	memcpy(buf + e1, buf + e0, 34);
	sf_put64(buf + e1 + 13, c1); /* the total still adds up */
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "top key twice");
	memcpy(buf, orig, len);
	sf_put64(buf + e1 + 13, c1 + 1);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "exact top count + 1");

	/* series: zero width */
	memcpy(buf, orig, len);
	assert_true(sf_find_section(buf, 64, &off, &slen));
	sf_put32(buf + off, 0);
	sf_reseal(buf, len);
	expect_reject(&b, buf, len, SL_ECORRUPT, "series width 0");

	free(buf);
	free(orig);
	assert_int_equal(b.used, 0);
}

static void budget_too_small(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	size_t len, off, slen;
	uint8_t *buf = small_state(&b, 300, 100, &len);

	/* a budget that holds the bytes but not the recorded report */
	sl_budget tiny;
	sl_budget_init(&tiny, sl_report_min_bytes() / 2);
	expect_reject(&tiny, buf, len, SL_ENOMEM, "budget of half the report");
	assert_true(tiny.peak <= sizeof(sl_state));

	/* a forged report size of 2^40 bytes: above the run's recorded budget,
	 * so impossible (a cap above what b has left would only be lowered);
	 * refused before allocating */
	assert_true(sf_find_section(buf, 1, &off, &slen));
	uint64_t saved = sf_le64(buf + off + 20);
	sf_put64(buf + off + 20, (uint64_t)1 << 40);
	sf_reseal(buf, len);
	size_t peak = b.peak;
	expect_reject(&b, buf, len, SL_ECORRUPT, "report of 2^40 bytes");
	assert_true(b.peak <= peak + sizeof(sl_state));
	/* one below this build's minimum (an older build's) is made at the
	 * minimum, with the same figures */
	sf_put64(buf + off + 20, 1000);
	sf_reseal(buf, len);
	sl_state *low = decode_ok(&b, buf, len, 0);
	assert_int_equal(low->report->bytes_held, sl_report_min_bytes_p(buf[off + 28]));
	assert_int_equal(low->report->lines, 300);
	sl_state_free(low);
	sf_put64(buf + off + 20, saved);
	sf_reseal(buf, len);
	sl_state_free(decode_ok(&b, buf, len, 0));
	free(buf);
	assert_int_equal(b.used, 0);
}

/*
 * The fuzz corpora (seeds and regressions: scripts/fuzz.sh says to copy a
 * crashing input into fuzz/corpus/TARGET/) replayed as the fuzz targets do:
 * every state file decodes or is rejected with a reason, every access-log
 * input parses or is rejected with a reason, every compressed input reads
 * to its end or fails cleanly; nothing leaks. The sanitizer and valgrind
 * runs check the bytes touched.
 */
static int replay_dir(const char *target, void (*fn)(const char *path, sl_budget *b))
{
	char dirpath[256];
	snprintf(dirpath, sizeof dirpath, "fuzz/corpus/%s", target);
	DIR *d = opendir(dirpath);
	if (!d)
		return -1;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[600];
		snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
		fn(path, &b);
		assert_int_equal(b.used, 0);
		files++;
	}
	closedir(d);
	return files;
}

static int states_ok;

static void replay_state(const char *path, sl_budget *b)
{
	sl_state *s;
	int err;
	const char *why;
	if (sl_state_load(&s, b, path, 0, &err, &why) == SL_OK) {
		states_ok++;
		sl_state_free(s);
	} else {
		assert_non_null(why);
	}
}

static void replay_access(const char *path, sl_budget *b)
{
	(void)b;
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *line = malloc(1 << 20);
	size_t n = fread(line, 1, 1 << 20, f);
	fclose(f);
	char *exact = malloc(n ? n : 1); /* exactly sized: a read past it is caught */
	memcpy(exact, line, n);
	for (int fmt = SL_FMT_COMMON; fmt <= SL_FMT_VCOMBINED; fmt++) {
		sl_record rec;
		sl_time_cache tc;
		memset(&tc, 0, sizeof tc);
		sl_status st = sl_access_parse((sl_format)fmt, exact, n, &rec, &tc);
		assert_true(st == SL_OK || (st == SL_EFORMAT && rec.why));
	}
	free(exact);
	free(line);
}

static void replay_input(const char *path, sl_budget *b)
{
	sl_input *in;
	int err;
	if (sl_input_open(&in, b, path, &err) != SL_OK)
		return;
	char buf[4096];
	for (;;) {
		size_t got = 0;
		if (sl_input_read(in, buf, sizeof buf, &got, &err) != SL_OK || got == 0)
			break;
		assert_true(got <= sizeof buf);
	}
	sl_input_close(in);
}

static void corpus_files(void **state)
{
	(void)state;
	int ns = replay_dir("fuzz_state", replay_state);
	if (ns < 0) {
		print_message("no corpus directory (run from the top of the tree)\n");
		return;
	}
	int na = replay_dir("fuzz_access", replay_access);
	int ni = replay_dir("fuzz_input", replay_input);
	print_message("corpus: %d state files (%d valid), %d access-log inputs, %d inputs\n", ns,
		      states_ok, na, ni);
	assert_true(states_ok > 0);
}

/* ---- files ---------------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_state.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || e->d_name[1] == '.'))
			continue;
		char path[600];
		snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	*len = (size_t)sb.st_size;
	uint8_t *p = malloc(*len + 1);
	size_t got = 0;
	while (got < *len) {
		ssize_t n = read(fd, p + got, *len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fd);
	return p;
}

/* States written before the inputs recorded their line counts (format
 * version 1, the corpus's seeds made by that build) still decode, with
 * every input's `lines` 0, and are written back as the current version. */
static void reads_version_1(void **state)
{
	(void)state;
	static const char *const names[] = {"common", "degraded", "empty", "lines",
					    "old-build-common"};
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	int seen = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char path[256];
		snprintf(path, sizeof path, "fuzz/corpus/fuzz_state/%s.state", names[i]);
		if (access(path, R_OK) != 0)
			continue;
		size_t len;
		uint8_t *buf = read_whole(path, &len);
		assert_true(len >= 12);
		assert_int_equal(buf[8] | buf[9] << 8 | buf[10] << 16 | (uint32_t)buf[11] << 24, 1);
		sl_state *s = decode_ok(&b, buf, len, 0);
		assert_true(s->ninputs > 0);
		for (size_t j = 0; j < s->ninputs; j++)
			assert_int_equal(s->inputs[j].lines, 0);
		void *out;
		size_t olen;
		assert_int_equal(sl_state_encode(&b, s->report, s->inputs, s->ninputs, s->budget,
						 s->peak, &out, &olen),
				 SL_OK);
		assert_int_equal(((uint8_t *)out)[8], SL_STATE_VERSION);
		sl_state *again = decode_ok(&b, out, olen, 0);
		assert_int_equal(again->ninputs, s->ninputs);
		for (size_t j = 0; j < s->ninputs; j++) {
			assert_string_equal(again->inputs[j].path, s->inputs[j].path);
			assert_int_equal(again->inputs[j].consumed, s->inputs[j].consumed);
		}
		sl_state_free(again);
		sl_free(&b, out, olen);
		sl_state_free(s);
		free(buf);
		seen++;
	}
	if (access("fuzz/corpus/fuzz_state", F_OK) != 0)
		print_message("no corpus directory (run from the top of the tree)\n");
	else
		assert_true(seen > 0); /* the seeds are there: they must have been read */
	assert_int_equal(b.used, 0);
}

/* States of version 2 (the v2-* seeds) decode with bytes_sent_high 0, and
 * their KLL quantile sections (48..50) load into the relative-error
 * sketches, which carry the KLL's rank error (nonzero for the degraded seed)
 * and the exact count, min and max; written back as version 3 they come back
 * with the same answers. */
static void reads_version_2(void **state)
{
	(void)state;
	static const char *const names[] = {"v2-common", "v2-degraded", "v2-empty", "v2-lines"};
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	int seen = 0, slack = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char path[256];
		snprintf(path, sizeof path, "fuzz/corpus/fuzz_state/%s.state", names[i]);
		if (access(path, R_OK) != 0)
			continue;
		size_t len;
		uint8_t *buf = read_whole(path, &len);
		assert_true(len >= 12);
		assert_int_equal(sf_le32(buf + 8), 2);
		sl_state *s = decode_ok(&b, buf, len, 0);
		assert_int_equal(s->report->bytes_sent_high, 0);
		const sl_report *r = s->report;
		const sl_relq *q = r->format == SL_FMT_LINES ? sl_report_named(r, "line_length")->q : sl_report_named(r, "response_bytes")->q;
		const sl_moments *mo = r->format == SL_FMT_LINES ? &sl_report_named(r, "line_length")->m : &sl_report_named(r, "response_bytes")->m;
		assert_int_equal(sl_relq_count(q), mo->n);
		if (mo->n) {
			assert_true(sl_relq_min(q) == mo->min);
			assert_true(sl_relq_max(q) == mo->max);
		}
		slack += sl_relq_rank_slack(q) > 0;
		void *out;
		size_t olen;
		assert_int_equal(sl_state_encode(&b, s->report, s->inputs, s->ninputs, s->budget,
						 s->peak, &out, &olen),
				 SL_OK);
		assert_int_equal(sf_le32((const uint8_t *)out + 8), SL_STATE_VERSION);
		sl_state *again = decode_ok(&b, out, olen, 0);
		assert_same_report(s->report, again->report, true);
		sl_state_free(again);
		sl_free(&b, out, olen);
		sl_state_free(s);
		free(buf);
		seen++;
	}
	if (access("fuzz/corpus/fuzz_state", F_OK) == 0) {
		assert_int_equal(seen, 4);
		assert_true(slack > 0); /* the degraded seed's KLL had compacted */
	}
	assert_int_equal(b.used, 0);
}

static void save_and_load(void **state)
{
	(void)state;
	make_tmpdir();
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	logbuf l = make_log(seed + 7, 2000, 200, 300, 1700000000);
	sl_report *r = report_of(&b, 1 << 20, &l, 1);
	char path[300];
	snprintf(path, sizeof path, "%s/x.state", tmpdir);
	int err;
	assert_int_equal(sl_state_save(path, &b, r, test_inputs, 2, TEST_BUDGET, 7, &err), SL_OK);
	sl_state *s;
	const char *why;
	assert_int_equal(sl_state_load(&s, &b, path, 0, &err, &why), SL_OK);
	assert_same_report(r, s->report, true);
	sl_state_free(s);

	/* a budget that cannot hold the report is refused, having held no more
	 * than the header, the meta section and the state struct: the file is
	 * read a section at a time, never whole */
	sl_budget tiny;
	sl_budget_init(&tiny, 4096);
	assert_int_equal(sl_state_load(&s, &tiny, path, 0, &err, &why), SL_ENOMEM);
	assert_true(tiny.peak <= 4096);
	assert_int_equal(tiny.used, 0);
	print_message("tiny budget: %s (peak %zu)\n", why, tiny.peak);
	/* and one that holds the report but not the whole file beside it
	 * loads: the budget the report was made with, less most of the file */
	struct stat fst;
	assert_int_equal(stat(path, &fst), 0);
	sl_budget snug;
	sl_budget_init(&snug, b.peak); /* b held the report and more */
	assert_int_equal(sl_state_load(&s, &snug, path, 0, &err, &why), SL_OK);
	print_message("file %lld bytes, loaded with a peak of %zu beside a report of %zu\n",
		      (long long)fst.st_size, snug.peak, snug.used);
	assert_true(snug.peak - snug.used < (size_t)fst.st_size); /* never the whole file */
	sl_state_free(s);

	snprintf(path, sizeof path, "%s/missing.state", tmpdir);
	assert_int_equal(sl_state_load(&s, &b, path, 0, &err, &why), SL_EIO);
	assert_int_equal(err, ENOENT);
	assert_int_equal(sl_state_load(&s, &b, tmpdir, 0, &err, &why), SL_EIO);
	snprintf(path, sizeof path, "%s/empty.state", tmpdir);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	assert_int_equal(sl_state_load(&s, &b, path, 0, &err, &why), SL_ECORRUPT);
	/* saving into a missing directory fails cleanly */
	snprintf(path, sizeof path, "%s/no/such/dir.state", tmpdir);
	assert_int_equal(sl_state_save(path, &b, r, test_inputs, 2, 1, 1, &err), SL_EIO);
	sl_report_free(r);
	assert_int_equal(b.used, 0);
	free(l.text);
	remove_tmpdir();
}

/* Saving takes no budget memory: a budget with nothing left, and one whose
 * allocator fails every call, still save, and the file holds exactly what
 * sl_state_encode gives (streamed through a buffer it crosses many times).
 * Then sl_state_write to a descriptor, and a write error. */
static void save_needs_no_budget(void **state)
{
	(void)state;
	make_tmpdir();
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	logbuf l = make_log(seed + 11, 3000, 500, 400, 1700000000);
	sl_report *r = report_of(&b, 1 << 20, &l, 1);
	size_t want_len;
	uint8_t *want = encode(&b, r, &want_len);
	assert_true(want_len > 8 * 4096);
	char path[300];
	snprintf(path, sizeof path, "%s/x.state", tmpdir);
	int err;
	sl_budget none;
	sl_budget_init(&none, 1);
	assert_int_equal(sl_state_save(path, &none, r, test_inputs, 2, TEST_BUDGET, 12345, &err), SL_OK);
	assert_int_equal(none.peak, 0);
	size_t len;
	uint8_t *got = read_whole(path, &len);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
	sl_budget failing;
	tu_fail_state fs = {.allow = 0};
	sl_budget_init(&failing, 64 << 20);
	sl_budget_set_alloc(&failing, tu_failing_alloc, &fs);
	assert_int_equal(sl_state_save(path, &failing, r, test_inputs, 2, TEST_BUDGET, 12345, &err),
			 SL_OK);
	assert_int_equal(fs.calls, 0);
	got = read_whole(path, &len);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);

	/* sl_state_write: the same bytes to a descriptor */
	snprintf(path, sizeof path, "%s/y.state", tmpdir);
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(sl_state_write(fd, r, test_inputs, 2, TEST_BUDGET, 12345, &err), SL_OK);
	close(fd);
	got = read_whole(path, &len);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
	/* a descriptor that cannot be written: SL_EIO and its errno */
	fd = open(path, O_RDONLY);
	assert_int_equal(sl_state_write(fd, r, test_inputs, 2, TEST_BUDGET, 12345, &err), SL_EIO);
	assert_int_equal(err, EBADF);
	close(fd);
	/* a sample naming an input that is not there */
	assert_int_equal(sl_state_save(path, &none, r, test_inputs, 0, 1, 1, &err),
			 r->nsamples ? SL_EINVAL : SL_OK);

	sl_free(&b, want, want_len);
	sl_report_free(r);
	assert_int_equal(b.used, 0);
	free(l.text);
	remove_tmpdir();
}

static void kill_during_save(void **state)
{
	(void)state;
	make_tmpdir();
	sl_budget b;
	sl_budget_init(&b, 256 << 20);
	/* two large, different states */
	logbuf la = make_log(seed + 8, 30000, 20000, 30000, 1700000000);
	logbuf lb = make_log(seed + 9, 30000, 20000, 30000, 1700500000);
	sl_report *ra = report_of(&b, 4 << 20, &la, 1), *rb = report_of(&b, 4 << 20, &lb, 1);
	size_t lena, lenb;
	void *ea = encode(&b, ra, &lena), *eb = encode(&b, rb, &lenb);
	print_message("states of %zu and %zu bytes\n", lena, lenb);
	char path[300];
	snprintf(path, sizeof path, "%s/target.state", tmpdir);
	int err;
	assert_int_equal(sl_state_save(path, &b, ra, test_inputs, 2, TEST_BUDGET, 12345, &err), SL_OK);

	/* kill within about three saves' time, so that every phase is hit */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sl_state_save(path, &b, rb, test_inputs, 2, TEST_BUDGET, 12345, &err), SL_OK);
	assert_int_equal(sl_state_save(path, &b, ra, test_inputs, 2, TEST_BUDGET, 12345, &err), SL_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long save_ns = ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec)) / 2;
	print_message("one save takes %.2f ms\n", save_ns / 1e6);
	tu_rng r = {seed + 10};
	int rounds = 16, saw_a = 0, saw_b = 0;
	for (int round = 0; round < rounds; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0;; i++) {
				const sl_report *x = (i + round) % 2 ? rb : ra;
				if (sl_state_save(path, &b, x, test_inputs, 2, TEST_BUDGET, 12345,
						  &err) != SL_OK)
					_exit(3);
			}
		}
		long ns = (long)tu_below(&r, (uint64_t)(3 * save_ns)) + 100000;
		struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		size_t len;
		uint8_t *got = read_whole(path, &len);
		bool is_a = len == lena && memcmp(got, ea, len) == 0;
		bool is_b = len == lenb && memcmp(got, eb, len) == 0;
		assert_true(is_a || is_b);
		saw_a += is_a;
		saw_b += is_b;
		sl_state *s = decode_ok(&b, got, len, 0);
		sl_state_free(s);
		free(got);
	}
	print_message("after %d kills: old/new state a %d times, b %d times\n", rounds, saw_a,
		      saw_b);
	sl_free(&b, ea, lena);
	sl_free(&b, eb, lenb);
	sl_report_free(ra);
	sl_report_free(rb);
	assert_int_equal(b.used, 0);
	free(la.text);
	free(lb.text);
	remove_tmpdir();
}

int main(void)
{
	seed = tu_seed("test_state", 11);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_exact),
		cmocka_unit_test(round_trip_degraded),
		cmocka_unit_test(round_trip_empty),
		cmocka_unit_test(round_trip_lines),
		cmocka_unit_test(merge_exact),
		cmocka_unit_test(merge_degraded),
		cmocka_unit_test(merge_formats_differ),
		cmocka_unit_test(different_budgets),
		cmocka_unit_test(truncation_everywhere),
		cmocka_unit_test(bit_flips),
		cmocka_unit_test(forged_headers),
		cmocka_unit_test(impossible_sketches),
		cmocka_unit_test(budget_too_small),
		cmocka_unit_test(corpus_files),
		cmocka_unit_test(reads_version_1),
		cmocka_unit_test(reads_version_2),
		cmocka_unit_test(save_and_load),
		cmocka_unit_test(save_needs_no_budget),
		cmocka_unit_test(kill_during_save),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
