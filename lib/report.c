/*
 * report.c: the access-log report (sl_report_*), a set of sketches over the
 * fields the parser yields.
 *
 * Per valid line it updates:
 *   counters     requests, bytes_sent (128 bits: two words with carry, so
 *                that a sum of 64-bit byte fields never wraps), status[code],
 *                first/last time and the earliest line's UTC offset
 *                (log_offset)
 *   tallies      methods, protocols                       (exact)
 *   distinct     ips (client), visitors (client + logged date + user agent,
 *                GoAccess's definition: lines answered 4xx are left out
 *                unless visitors_4xx)                      (exact -> HLL)
 *   top          url, path, ip, referrer, user_agent,
 *                not_found (path of 404s)                 (exact -> Space-Saving)
 *   quantiles    request_time, response_bytes   (relative error, + moments)
 *   series       per hour, and per minute while the span is under 6 hours
 * Every line counts in `lines`; each is exactly one of requests, malformed
 * or oversized, so lines == requests + malformed + oversized.
 *
 * SL_FMT_LINES is the generic line report: each line (without its newline)
 * is one key for distinct_lines, top_lines and line_length; there are no
 * malformed lines, `requests` counts the lines kept and bytes_sent their
 * bytes. Its plan: distinct 25%, top 75% of the sketch bytes.
 *
 * Memory plan (sl_report_new): the report's max_bytes are shared as
 *   fixed     the report struct, its line reader (lib/scan.h, ~7 KiB),
 *             two relative-error quantile sketches (lib/relq.c: 4096
 *             buckets of 0.5%, fewer when the budget is small; the first
 *             4096 values of each are kept raw, so small logs have exact
 *             quantiles), the two series
 *   the rest  the pool of the exact tables (a child budget, `pool`): ips
 *             9%, visitors 9% (each at least four times its HLL, whose
 *             precision the caller may fix so that reports of one run merge
 *             register for register), and the six top lists the remainder,
 *             split url 18 : path 14 : ip 14 : referrer 12 : user_agent 14 :
 *             not_found 10. These shares are what each sketch holds once
 *             degraded; they are not taken up front. Every exact table
 *             starts small and grows as its keys arrive, past its share
 *             while the pool has room; when the pool is full, the table
 *             holding most beyond its share degrades first (pool_relieve).
 * So a small log touches a few hundred KiB whatever max_bytes is, adding
 * never fails, and the peak never exceeds max_bytes.
 *
 * Keys are hashed once (sl_hash) and the hash is shared: the client hash
 * feeds ips, top ip and the visitor key; a path equal to its URL reuses the
 * URL's hash.
 *
 * --exact (sl_report_new_exact) also makes the quantiles exact: see "exact
 * quantiles" below.
 *
 * Merge combines every part with its module's merge; samples keep the first
 * ones by (input, line). Order: new -> (begin_input -> feed*)* -> merge* -> free.
 */
#include "sluice.h"
#include "scan.h"

#include <math.h>
#include <string.h>
/* XXH3-64 inlined, so that each field's call site has its own copy of the
 * length dispatch (its branches then predict well: a field's lengths vary
 * little). key_hash(p, n) == sl_hash(p, n), which the sketches require. */
#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t key_hash(const char *p, size_t n)
{
	return XXH3_64bits(p, n);
}

#define SIX_HOURS (6 * 3600)
#define HOUR_SERIES_BYTES (16 * 1024)  /* 2048 hours (85 days) before coarsening */
#define MINUTE_SERIES_BYTES (3 * 1024) /* 6 hours of minutes fit */
#define MIN_SKETCH_BYTES (64 * 1024)

static const char *const top_names[SL_TOP_COUNT] = {
	"url", "path", "ip", "referrer", "user_agent", "not_found",
};
/* Shares of the sketch bytes, in percent, per top list then ips, visitors. */
static const unsigned top_share[SL_TOP_COUNT] = {18, 14, 14, 12, 14, 10};
#define IPS_SHARE 9
#define VISITORS_SHARE 9

const char *sl_top_name(sl_top_list t)
{
	return (unsigned)t < SL_TOP_COUNT ? top_names[t] : NULL;
}

/* Buckets of each quantile sketch: two of them may take at most 1/8 of the
 * report (no more than the KLLs they replace took), at least 512. The value
 * ratio they cover before the lowest buckets fold: 512 ~160, 1024 ~2.7e4,
 * 2048 ~7e8, 4096 (from 528 KiB of report, the default budget at -j 1)
 * ~5e17. Folded quantiles are reported as unbounded. A floor of 2048 (+24
 * KiB of fixed bytes at the smallest budgets) made the top lists of a
 * default 2-worker --state run degrade and its state outgrow the reload's
 * room (tests/test_incremental): left for the shared memory pool. */
#define QUANT_MIN_BUCKETS 512
static uint32_t quant_buckets_for(size_t max_bytes)
{
	uint32_t n = SL_RELQ_DEFAULT_BUCKETS;
	while (n > QUANT_MIN_BUCKETS && 2 * sl_relq_bytes(n) > max_bytes / 8)
		n /= 2;
	return n;
}

static sl_relq *new_quantiles(sl_budget *b, size_t max_bytes)
{
	return sl_relq_new(b, quant_buckets_for(max_bytes), SL_RELQ_DEFAULT_ALPHA);
}

static size_t fixed_bytes(size_t max_bytes)
{
	return sizeof(sl_report) + sizeof(sl_scan_lines) + 2 * sl_relq_bytes(quant_buckets_for(max_bytes)) +
	       HOUR_SERIES_BYTES + MINUTE_SERIES_BYTES + 1024 /* series headers, slack */;
}

/* ---- exact mode ---------------------------------------------------------
 *
 * Keys are tagged with one byte, the list they belong to: the six top lists
 * (sl_top_list order) and the visitors (client NUL date NUL agent). The
 * exact table is finished once; a callback sees every distinct tagged key
 * with its count and keeps, per list, the distinct count, the total and the
 * best top_n rows (count descending, then key bytes ascending; keys longer
 * than SL_TOPK_VALUE_MAX are kept by their first SL_TOPK_VALUE_MAX bytes).
 * The rows' bytes are reserved at creation.
 * SL_FMT_LINES has one list, the lines: each line is its key as it is (no
 * tag, so a line of SL_LINE_MAX bytes fits SL_EXACT_KEY_MAX), and the
 * tagged-key scratch is not needed.
 */
#define EXACT_LISTS (SL_TOP_COUNT + 1)
#define EXACT_VISITORS SL_TOP_COUNT
#define EXACT_LINES 0
#define EXACT_KEY_BYTES (SL_LINE_MAX + 16)

struct sl_report_exact_list {
	uint64_t distinct, total;
	size_t nrows;
	sl_topk_row *rows;	/* heap while finishing, then best first */
	char *keys;		/* SL_TOPK_VALUE_MAX bytes per row */
};

static size_t exact_nlists(sl_format fmt)
{
	return fmt == SL_FMT_LINES ? 1 : EXACT_LISTS;
}

static size_t exact_lists_bytes(sl_format fmt, size_t top_n)
{
	return exact_nlists(fmt) * (sizeof(struct sl_report_exact_list) +
				    top_n * (sizeof(sl_topk_row) + SL_TOPK_VALUE_MAX));
}

int sl_report_hll_precision(size_t max_bytes)
{
	/* The two distinct counters may take a quarter of the report, each
	 * with room for its HLL four times over (the rest holds exact sets). */
	int p = 14;
	while (p > SL_HLL_MIN_P && 8 * sl_hll_bytes(p) > max_bytes / 4)
		p--;
	return p;
}

size_t sl_report_min_bytes_p(int p)
{
	return fixed_bytes(0) + MIN_SKETCH_BYTES + 8 * sl_hll_bytes(p);
}

size_t sl_report_min_bytes(void)
{
	return sl_report_min_bytes_p(sl_report_hll_precision(sl_report_min_bytes_p(SL_HLL_MIN_P)));
}

void sl_report_free(sl_report *r)
{
	if (!r)
		return;
	sl_distinct_free(r->ips);
	sl_distinct_free(r->visitors);
	for (int i = 0; i < SL_TOP_COUNT; i++)
		sl_topk_free(r->top[i]);
	sl_relq_free(r->request_time_q);
	sl_relq_free(r->response_bytes_q);
	sl_series_free(r->per_hour);
	sl_series_free(r->per_minute);
	sl_distinct_free(r->distinct_lines);
	sl_topk_free(r->top_lines);
	sl_relq_free(r->line_length_q);
	sl_exact_free(r->exact);
	sl_xsort_free(r->quant_sort);
	if (r->quant_tmpdir)
		sl_free(r->budget, r->quant_tmpdir, strlen(r->quant_tmpdir) + 1);
	sl_free(r->budget, r->exact_key, EXACT_KEY_BYTES);
	if (r->exact_lists)
		sl_free(r->budget, r->exact_lists, exact_lists_bytes(r->format, r->exact_top_n));
	sl_free(r->budget, r->scan, sizeof *r->scan);
	sl_free(r->budget, r, sizeof *r);
}

/* ---- the pool ------------------------------------------------------------
 *
 * The report's exact tables (ips, visitors and the six top lists; for
 * SL_FMT_LINES distinct_lines and top_lines) share the report's budget:
 * each may grow past its share while the budget allows. When the budget
 * refuses one, pool_relieve degrades a table that holds more than its own
 * share, which gives the excess back: first the top list holding the most
 * beyond its share (ties: the first in the order above), and only when no
 * top list does, the distinct set over its share with the most keys (ties:
 * the visitors before the IPs). A key costs a top list about
 * a hundred bytes and a distinct set eight, and a degraded top list still
 * ranks its heavy hitters within Space-Saving's bound, while a distinct
 * count is the figure users check first: so the distinct counts stay exact
 * the longest. If the table chosen is the one asking, or none holds more
 * than its share, the one asking degrades itself. A degraded table keeps at
 * most its share, so degrading never needs memory and never fails. The
 * choice depends only on the tables' contents: one input, one answer.
 */
static bool pool_relieve(void *ud, const void *requester)
{
	sl_report *r = ud;
	const void *best = NULL;
	size_t most = 0;
	bool best_topk = false;
	for (int i = 0; i <= SL_TOP_COUNT; i++) {
		sl_topk *t = i < SL_TOP_COUNT ? r->top[i] : r->top_lines;
		size_t x = t ? sl_topk_excess(t) : 0;
		if (x > most) {
			most = x;
			best = t;
			best_topk = true;
		}
	}
	/* among the distinct sets holding more than their share, the one with
	 * the most keys (it will ask again first; ties: the visitors before
	 * the IPs, the cheaper and more read figure) */
	sl_distinct *d[3] = {r->visitors, r->ips, r->distinct_lines};
	double keys = -1;
	for (int i = 0; i < 3 && !best_topk; i++) {
		if (!d[i] || !sl_distinct_excess(d[i]))
			continue;
		double k = sl_distinct_estimate(d[i]).estimate;
		if (k > keys) {
			keys = k;
			best = d[i];
		}
	}
	if (!best || best == requester)
		return false;
	if (best_topk)
		sl_topk_degrade((sl_topk *)(uintptr_t)best);
	else
		sl_distinct_degrade((sl_distinct *)(uintptr_t)best);
	return true;
}

/* Puts the report's exact tables in one pool. */
static void join_pool(sl_report *r)
{
	sl_distinct *d[3] = {r->ips, r->visitors, r->distinct_lines};
	for (int i = 0; i < 3; i++)
		if (d[i])
			sl_distinct_set_pool(d[i], pool_relieve, r);
	for (int i = 0; i <= SL_TOP_COUNT; i++) {
		sl_topk *t = i < SL_TOP_COUNT ? r->top[i] : r->top_lines;
		if (t)
			sl_topk_set_pool(t, pool_relieve, r);
	}
}

static sl_status new_lines_report(sl_report *r, size_t max_bytes, int hll_p)
{
	sl_budget *b = &r->pool;
	size_t sketch = max_bytes - fixed_bytes(max_bytes);
	size_t distinct = sketch / 4;
	if (distinct < 4 * sl_hll_bytes(hll_p))
		distinct = 4 * sl_hll_bytes(hll_p);
	r->distinct_lines = sl_distinct_new(b, distinct, hll_p);
	r->top_lines = sl_topk_new(b, sketch - distinct);
	r->line_length_q = new_quantiles(r->budget, max_bytes);
	if (!r->distinct_lines || !r->top_lines || !r->line_length_q)
		return SL_ENOMEM;
	join_pool(r);
	return SL_OK;
}

sl_status sl_report_new(sl_report **out, sl_budget *b, sl_format fmt, size_t max_bytes)
{
	return sl_report_new_p(out, b, fmt, max_bytes, sl_report_hll_precision(max_bytes));
}

/* A zeroed report of format fmt holding max_bytes of b, or NULL. */
static sl_report *new_report(sl_budget *b, sl_format fmt, size_t max_bytes)
{
	sl_report *r = sl_calloc(b, 1, sizeof *r);
	if (!r)
		return NULL;
	r->budget = b;
	r->format = fmt;
	r->bytes_held = max_bytes;
	size_t fixed = fixed_bytes(max_bytes);
	sl_budget_init_child(&r->pool, b, max_bytes > fixed ? max_bytes - fixed : 0);
	r->scan = sl_malloc(b, sizeof *r->scan);
	if (!r->scan) {
		sl_free(b, r, sizeof *r);
		return NULL;
	}
	return r;
}

/* The parts of fixed_bytes() every access-log report has: the two quantile sketches and
 * the two series. False when one does not fit (sl_report_free cleans up). */
static bool new_fixed_parts(sl_report *r, size_t max_bytes)
{
	r->request_time_q = new_quantiles(r->budget, max_bytes);
	r->response_bytes_q = new_quantiles(r->budget, max_bytes);
	r->per_hour = sl_series_new(r->budget, 3600, HOUR_SERIES_BYTES);
	r->per_minute = sl_series_new(r->budget, 60, MINUTE_SERIES_BYTES);
	return r->request_time_q && r->response_bytes_q && r->per_hour && r->per_minute;
}

sl_status sl_report_new_p(sl_report **out, sl_budget *b, sl_format fmt, size_t max_bytes,
			  int hll_p)
{
	*out = NULL;
	if (fmt <= SL_FMT_AUTO || fmt >= SL_FMT_COUNT || hll_p < SL_HLL_MIN_P ||
	    hll_p > SL_HLL_MAX_P)
		return SL_EINVAL;
	if (max_bytes < sl_report_min_bytes_p(hll_p))
		return SL_EBUDGET;
	sl_report *r = new_report(b, fmt, max_bytes);
	if (!r)
		return SL_ENOMEM;
	if (fmt == SL_FMT_LINES) {
		sl_status st = new_lines_report(r, max_bytes, hll_p);
		if (st != SL_OK)
			sl_report_free(r);
		else
			*out = r;
		return st;
	}

	size_t sketch = max_bytes - fixed_bytes(max_bytes);
	size_t distinct = sketch / 100 * IPS_SHARE;
	if (distinct < 4 * sl_hll_bytes(hll_p))
		distinct = 4 * sl_hll_bytes(hll_p);
	size_t tops = sketch - 2 * distinct; /* >= MIN_SKETCH_BYTES by the check above */
	unsigned top_total = 0;
	for (int i = 0; i < SL_TOP_COUNT; i++)
		top_total += top_share[i];
	bool ok = new_fixed_parts(r, max_bytes);
	r->ips = sl_distinct_new(&r->pool, distinct, hll_p);
	r->visitors = sl_distinct_new(&r->pool, distinct, hll_p);
	ok = ok && r->ips && r->visitors;
	for (int i = 0; i < SL_TOP_COUNT && ok; i++) {
		r->top[i] = sl_topk_new(&r->pool, tops / top_total * top_share[i]);
		ok = r->top[i] != NULL;
	}
	if (!ok) {
		sl_report_free(r);
		return SL_ENOMEM;
	}
	join_pool(r);
	*out = r;
	return SL_OK;
}

/* ---- exact quantiles (--exact) -------------------------------------------
 *
 * Each quantile sketch keeps its raw values (sl_relq_set_exact); when its
 * array is full they are spilled to one external sort per report (lib/
 * xsort.c, created on the first spill within QUANT_SORT_BYTES, which the
 * exact table's share leaves free) as 9-byte records: the sketch's tag
 * (its index in quant_sketches) then the value's IEEE bits big-endian,
 * whose byte order is the numeric order of positive doubles. Merging moves
 * src's sorted records and raw values into dst's sort. At the finish, the
 * remaining raw values join the sort and one pass over the sorted records
 * selects, per sketch, the values of rank sl_relq_rank(q, n) for the
 * report's quantiles (zeros are counted apart and never spilled).
 */
#define QUANT_SORT_BYTES SL_XSORT_MIN_BYTES
#define QUANT_TAGS 3
static const double report_quantiles[] = {0.5, 0.9, 0.99, 0.999};
#define NREPORT_Q (sizeof report_quantiles / sizeof *report_quantiles)

static sl_relq *quant_sketch(sl_report *r, int tag)
{
	return tag == 0 ? r->request_time_q : tag == 1 ? r->response_bytes_q : r->line_length_q;
}

static bool new_quant_exact(sl_report *r, const char *tmpdir)
{
	size_t n = strlen(tmpdir) + 1;
	if (!(r->quant_tmpdir = sl_malloc(r->budget, n)))
		return false;
	memcpy(r->quant_tmpdir, tmpdir, n);
	for (int t = 0; t < QUANT_TAGS; t++)
		if (quant_sketch(r, t) && sl_relq_set_exact(quant_sketch(r, t)) != SL_OK)
			return false;
	return true;
}

static sl_status quant_put(sl_report *r, int tag, double v)
{
	if (!r->quant_sort) {
		sl_xsort_opts o;
		memset(&o, 0, sizeof o);
		sl_status st = sl_xsort_new(&r->quant_sort, r->budget, QUANT_SORT_BYTES, &o,
					    r->quant_tmpdir);
		if (st != SL_OK)
			return st;
	}
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	char rec[9];
	rec[0] = (char)tag;
	for (int i = 0; i < 8; i++)
		rec[1 + i] = (char)(u >> (56 - 8 * i));
	return sl_xsort_add(r->quant_sort, rec, sizeof rec);
}

/* Moves q's raw values to the sort (on an error they are counted as
 * spilled all the same, and the error stays in exact_status). */
static void quant_spill(sl_report *r, int tag, sl_relq *q)
{
	uint32_t n = sl_relq_raw_count(q);
	for (uint32_t i = 0; i < n && r->exact_status == SL_OK; i++)
		r->exact_status = quant_put(r, tag, sl_relq_raw_value(q, i));
	sl_relq_raw_spilled(q);
}

static void add_quant(sl_report *r, sl_relq *q, double v)
{
	if (r->exact && v > 0 && sl_relq_raw_full(q))
		quant_spill(r, q == r->request_time_q ? 0 : q == r->response_bytes_q ? 1 : 2, q);
	sl_relq_add(q, v);
}

/* dst += src for --exact reports; src's sort and raw values are used up. */
static sl_status merge_quant_exact(sl_report *dst, sl_report *src)
{
	if (src->quant_sort) {
		sl_status st = sl_xsort_finish(src->quant_sort);
		const char *rec;
		size_t len;
		while (st == SL_OK && (st = sl_xsort_next(src->quant_sort, &rec, &len)) == SL_OK &&
		       rec) {
			if (!dst->quant_sort) {
				double v;
				uint64_t u = 0;
				for (int i = 0; i < 8; i++)
					u = u << 8 | (uint8_t)rec[1 + i];
				memcpy(&v, &u, sizeof v);
				st = quant_put(dst, rec[0], v);
			} else {
				st = sl_xsort_add(dst->quant_sort, rec, len);
			}
		}
		sl_xsort_free(src->quant_sort);
		src->quant_sort = NULL;
		if (st != SL_OK)
			return st;
	}
	for (int t = 0; t < QUANT_TAGS; t++) {
		sl_relq *d = quant_sketch(dst, t), *s = quant_sketch(src, t);
		if (!d || !s)
			continue;
		if ((uint64_t)sl_relq_raw_count(d) + sl_relq_raw_count(s) >
		    sl_relq_buckets(d)) {
			quant_spill(dst, t, d);
			quant_spill(dst, t, s); /* into dst's sort */
			if (dst->exact_status != SL_OK)
				return dst->exact_status;
		}
		sl_status st = sl_relq_merge(d, s);
		if (st != SL_OK)
			return st;
	}
	return SL_OK;
}

/* The report's quantiles of every sketch that spilled, from the sort. */
static sl_status finish_quant_exact(sl_report *r)
{
	if (!r->quant_sort)
		return SL_OK;
	uint64_t want[QUANT_TAGS][NREPORT_Q] = {{0}}, seen[QUANT_TAGS] = {0};
	double got[QUANT_TAGS][NREPORT_Q] = {{0}};
	for (int t = 0; t < QUANT_TAGS; t++) {
		sl_relq *q = quant_sketch(r, t);
		if (!q || !sl_relq_spilled(q))
			continue;
		quant_spill(r, t, q);
		if (r->exact_status != SL_OK)
			return r->exact_status;
		/* positive rank wanted, or 0 when the sketch answers itself */
		for (size_t i = 0; i < NREPORT_Q; i++) {
			uint64_t n = sl_relq_count(q), rank = sl_relq_rank(report_quantiles[i], n);
			uint64_t z = sl_relq_zero_count(q);
			want[t][i] = rank == 1 || rank == n || rank <= z ? 0 : rank - z;
			got[t][i] = NAN;
		}
	}
	sl_status st = sl_xsort_finish(r->quant_sort);
	const char *rec;
	size_t len;
	while (st == SL_OK && (st = sl_xsort_next(r->quant_sort, &rec, &len)) == SL_OK && rec) {
		int t = (uint8_t)rec[0];
		if (len != 9 || t >= QUANT_TAGS)
			return SL_ECORRUPT;
		seen[t]++;
		for (size_t i = 0; i < NREPORT_Q; i++) {
			if (want[t][i] == seen[t]) {
				uint64_t u = 0;
				for (int k = 0; k < 8; k++)
					u = u << 8 | (uint8_t)rec[1 + k];
				memcpy(&got[t][i], &u, sizeof u);
			}
		}
	}
	sl_xsort_free(r->quant_sort);
	r->quant_sort = NULL;
	if (st != SL_OK)
		return st;
	for (int t = 0; t < QUANT_TAGS; t++) {
		sl_relq *q = quant_sketch(r, t);
		if (!q || !sl_relq_spilled(q))
			continue;
		if (seen[t] != sl_relq_spilled(q))
			return SL_ECORRUPT;
		sl_relq_set_answers(q, report_quantiles, got[t], NREPORT_Q);
	}
	return SL_OK;
}

void sl_report_set_limit(sl_report *r, size_t max_bytes)
{
	size_t held = r->bytes_held, limit = r->pool.limit;
	if (max_bytes >= held)
		limit = limit + (max_bytes - held) < limit ? SIZE_MAX : limit + (max_bytes - held);
	else
		limit = limit > held - max_bytes ? limit - (held - max_bytes) : 0;
	sl_budget_set_limit(&r->pool, limit);
	r->bytes_held = max_bytes;
}

size_t sl_report_min_bytes_exact(size_t top_n)
{
	/* the access-log plan; the lines plan needs less */
	return fixed_bytes(0) + EXACT_KEY_BYTES + exact_lists_bytes(SL_FMT_COMBINED, top_n) +
	       SL_EXACT_MIN_BYTES + QUANT_SORT_BYTES;
}

sl_status sl_report_new_exact(sl_report **out, sl_budget *b, sl_format fmt, size_t max_bytes,
			      int hll_p, const char *tmpdir, size_t top_n)
{
	*out = NULL;
	if (fmt <= SL_FMT_AUTO || fmt >= SL_FMT_COUNT || !tmpdir || hll_p < SL_HLL_MIN_P ||
	    hll_p > SL_HLL_MAX_P || top_n > ((size_t)1 << 20))
		return SL_EINVAL;
	if (max_bytes < sl_report_min_bytes_exact(top_n))
		return SL_EBUDGET;
	sl_report *r = new_report(b, fmt, max_bytes);
	if (!r)
		return SL_ENOMEM;
	r->exact_top_n = top_n;
	bool lines = fmt == SL_FMT_LINES, ok;
	size_t nlists = exact_nlists(fmt), key_bytes = lines ? 0 : EXACT_KEY_BYTES;
	if (lines)
		ok = (r->line_length_q = new_quantiles(b, max_bytes)) != NULL;
	else
		ok = new_fixed_parts(r, max_bytes) &&
		     (r->exact_key = sl_malloc(b, EXACT_KEY_BYTES)) != NULL;
	ok = ok && new_quant_exact(r, tmpdir);
	r->exact_lists = sl_calloc(b, 1, exact_lists_bytes(fmt, top_n));
	sl_status st = SL_ENOMEM;
	if (ok && r->exact_lists) {
		size_t table = max_bytes - fixed_bytes(max_bytes) - key_bytes -
			       exact_lists_bytes(fmt, top_n) - QUANT_SORT_BYTES;
		st = sl_exact_new(&r->exact, b, table, tmpdir);
	}
	if (st != SL_OK) {
		sl_report_free(r);
		return st;
	}
	char *keys = (char *)(r->exact_lists + nlists);
	sl_topk_row *rows = (sl_topk_row *)(void *)(keys + nlists * top_n * SL_TOPK_VALUE_MAX);
	for (size_t i = 0; i < nlists; i++) {
		r->exact_lists[i].keys = keys + (size_t)i * top_n * SL_TOPK_VALUE_MAX;
		r->exact_lists[i].rows = rows + (size_t)i * top_n;
	}
	*out = r;
	return SL_OK;
}

/* Adds key[0 .. len-1] of list `tag`, prefixed by the tag. The first error
 * stops the table (later adds are ignored; finish reports it). */
static void exact_put(sl_report *r, int tag, const char *a, size_t alen, const char *b,
		      size_t blen, const char *c, size_t clen)
{
	if (r->exact_status != SL_OK)
		return;
	char *k = r->exact_key;
	size_t n = 0;
	k[n++] = (char)tag;
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
	if (n > SL_EXACT_KEY_MAX)
		n = SL_EXACT_KEY_MAX; /* cannot happen for lines <= SL_LINE_MAX */
	sl_status st = sl_exact_add(r->exact, k, n);
	if (st != SL_OK)
		r->exact_status = st;
}

/* The offset in seconds east of UTC written in a time field
 * "dd/Mon/yyyy:HH:MM:SS +hhmm" (the parser has checked its shape). */
static int32_t time_offset(sl_str t)
{
	if (t.len < 26)
		return 0;
	const char *o = t.p + 21;
	int32_t s = ((o[1] - '0') * 10 + (o[2] - '0')) * 3600 + ((o[3] - '0') * 10 + (o[4] - '0')) * 60;
	return o[0] == '-' ? -s : s;
}

void sl_report_visitors_4xx(sl_report *r, bool count_4xx)
{
	r->visitors_4xx = count_4xx;
}

/* Does this line count towards the unique visitors? */
static inline bool visitor_line(const sl_report *r, const sl_access_rec *rec)
{
	return r->visitors_4xx || rec->status < 400 || rec->status >= 500;
}

static void record_exact(sl_report *r, const sl_access_rec *rec)
{
	const sl_str *f = rec->field;
	exact_put(r, SL_TOP_URL, f[SL_F_URL].p, f[SL_F_URL].len, NULL, 0, NULL, 0);
	exact_put(r, SL_TOP_PATH, f[SL_F_PATH].p, f[SL_F_PATH].len, NULL, 0, NULL, 0);
	exact_put(r, SL_TOP_IP, f[SL_F_CLIENT].p, f[SL_F_CLIENT].len, NULL, 0, NULL, 0);
	exact_put(r, SL_TOP_REFERRER, f[SL_F_REFERRER].p, f[SL_F_REFERRER].len, NULL, 0, NULL, 0);
	exact_put(r, SL_TOP_USER_AGENT, f[SL_F_USER_AGENT].p, f[SL_F_USER_AGENT].len, NULL, 0,
		  NULL, 0);
	if (rec->status == 404)
		exact_put(r, SL_TOP_NOT_FOUND, f[SL_F_PATH].p, f[SL_F_PATH].len, NULL, 0, NULL, 0);
	size_t dlen = f[SL_F_TIME].len < 11 ? f[SL_F_TIME].len : 11;
	if (visitor_line(r, rec))
		exact_put(r, EXACT_VISITORS, f[SL_F_CLIENT].p, f[SL_F_CLIENT].len, f[SL_F_TIME].p, dlen,
		  f[SL_F_USER_AGENT].p, f[SL_F_USER_AGENT].len);
}

/* Row a ranks before row b: more count, then smaller key bytes. */
static int row_before(uint64_t ca, const char *ka, size_t la, uint64_t cb, const char *kb,
		      size_t lb)
{
	if (ca != cb)
		return ca > cb;
	size_t m = la < lb ? la : lb;
	int c = memcmp(ka, kb, m);
	return c ? c < 0 : la < lb;
}

/* The heap keeps the worst row at the root. */
static int heap_worse(const sl_topk_row *x, const sl_topk_row *y)
{
	return row_before(y->count, y->value, y->len, x->count, x->value, x->len);
}

static void heap_down(sl_topk_row *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, w = i;
		if (l < n && heap_worse(&h[l], &h[w]))
			w = l;
		if (l + 1 < n && heap_worse(&h[l + 1], &h[w]))
			w = l + 1;
		if (w == i)
			return;
		sl_topk_row t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

static void heap_up(sl_topk_row *h, size_t i)
{
	while (i > 0 && heap_worse(&h[i], &h[(i - 1) / 2])) {
		sl_topk_row t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/* Each distinct tagged key (a line as it is for SL_FMT_LINES) with its count
 * (sl_exact_finish_each). */
static void exact_take(void *ud, const char *key, size_t len, uint64_t count)
{
	sl_report *r = ud;
	struct sl_report_exact_list *l;
	if (r->format == SL_FMT_LINES) {
		l = &r->exact_lists[EXACT_LINES];
	} else {
		if (len == 0 || (unsigned char)key[0] >= EXACT_LISTS)
			return;
		l = &r->exact_lists[(unsigned char)key[0]];
		key++;
		len--;
	}
	l->distinct++;
	l->total += count;
	size_t keep = len < SL_TOPK_VALUE_MAX ? len : SL_TOPK_VALUE_MAX;
	if (r->exact_top_n == 0)
		return;
	sl_topk_row *slot;
	if (l->nrows < r->exact_top_n) {
		slot = &l->rows[l->nrows];
		/* each row owns the key slot it was given first */
		slot->value = l->keys + l->nrows * SL_TOPK_VALUE_MAX;
	} else {
		if (!row_before(count, key, keep, l->rows[0].count, l->rows[0].value, l->rows[0].len))
			return;
		slot = &l->rows[0];
	}
	memcpy((char *)(uintptr_t)slot->value, key, keep);
	slot->len = keep;
	slot->count = count;
	slot->max_error = 0;
	slot->truncated = len > SL_TOPK_VALUE_MAX;
	if (slot == &l->rows[0] && l->nrows == r->exact_top_n)
		heap_down(l->rows, l->nrows, 0);
	else
		heap_up(l->rows, l->nrows++);
}

sl_status sl_report_finish_exact(sl_report *r)
{
	if (!r->exact || r->exact_done)
		return r->exact ? SL_OK : SL_EINVAL;
	if (r->exact_status == SL_OK)
		r->exact_status = finish_quant_exact(r);
	if (r->exact_status != SL_OK)
		return r->exact_status;
	sl_status st = sl_exact_finish_each(r->exact, exact_take, r);
	if (st != SL_OK) {
		r->exact_status = st;
		return st;
	}
	for (size_t i = 0; i < exact_nlists(r->format); i++) { /* heap -> best first */
		struct sl_report_exact_list *l = &r->exact_lists[i];
		for (size_t n = l->nrows; n > 1; n--) {
			sl_topk_row t = l->rows[0];
			l->rows[0] = l->rows[n - 1];
			l->rows[n - 1] = t;
			heap_down(l->rows, n - 1, 0);
		}
	}
	r->exact_done = true;
	return SL_OK;
}

int sl_report_exact_errno(const sl_report *r)
{
	return r->exact ? sl_exact_errno(r->exact) : 0;
}

void sl_report_exact_disk(const sl_report *r, uint64_t *peak, uint64_t *written)
{
	sl_xsort_stats st = {0};
	if (r->exact)
		sl_exact_stats(r->exact, &st);
	*peak = st.temp_peak;
	*written = st.temp_written;
}

static sl_estimate exact_estimate(uint64_t n)
{
	sl_estimate e = {(double)n, (double)n, (double)n, true};
	return e;
}

/* A distinct count never exceeds the number of keys added, which the report
 * knows exactly (one per request, or per line kept): the HLL's estimate and
 * its interval are clamped to it, so that no figure claims more distinct
 * values than values. */
static sl_estimate at_most(sl_estimate e, uint64_t added)
{
	double n = (double)added;
	if (e.estimate > n)
		e.estimate = n;
	if (e.high > n)
		e.high = n;
	if (e.low > n)
		e.low = n;
	return e;
}

sl_estimate sl_report_distinct_lines(const sl_report *r)
{
	if (r->format != SL_FMT_LINES) {
		sl_estimate none = {0, 0, 0, true};
		return none;
	}
	if (r->exact)
		return exact_estimate(r->exact_done ? r->exact_lists[EXACT_LINES].distinct : 0);
	return at_most(sl_distinct_estimate(r->distinct_lines), r->requests);
}

size_t sl_report_top_lines(const sl_report *r, sl_topk_row *rows, size_t n)
{
	if (r->format != SL_FMT_LINES)
		return 0;
	if (!r->exact)
		return sl_topk_list(r->top_lines, rows, n);
	if (!r->exact_done)
		return 0;
	const struct sl_report_exact_list *l = &r->exact_lists[EXACT_LINES];
	if (n > l->nrows)
		n = l->nrows;
	memcpy(rows, l->rows, n * sizeof *rows);
	return n;
}

void sl_report_top_lines_info(const sl_report *r, bool *exact, size_t *capacity,
			      uint64_t *total)
{
	if (r->format != SL_FMT_LINES || r->exact) {
		*exact = true;
		*capacity = 0;
		*total = r->exact && r->exact_done ? r->exact_lists[EXACT_LINES].total : 0;
		return;
	}
	*exact = sl_topk_is_exact(r->top_lines);
	*capacity = sl_topk_capacity(r->top_lines);
	*total = sl_topk_total(r->top_lines);
}

sl_estimate sl_report_unique_ips(const sl_report *r)
{
	if (r->exact)
		return exact_estimate(r->exact_done ? r->exact_lists[SL_TOP_IP].distinct : 0);
	return at_most(sl_distinct_estimate(r->ips), r->requests);
}

sl_estimate sl_report_unique_visitors(const sl_report *r)
{
	if (r->exact)
		return exact_estimate(r->exact_done ? r->exact_lists[EXACT_VISITORS].distinct : 0);
	return at_most(sl_distinct_estimate(r->visitors), r->requests);
}

size_t sl_report_top(const sl_report *r, sl_top_list t, sl_topk_row *rows, size_t n)
{
	if ((unsigned)t >= SL_TOP_COUNT)
		return 0;
	if (!r->exact)
		return sl_topk_list(r->top[t], rows, n);
	if (!r->exact_done)
		return 0;
	const struct sl_report_exact_list *l = &r->exact_lists[t];
	if (n > l->nrows)
		n = l->nrows;
	memcpy(rows, l->rows, n * sizeof *rows);
	return n;
}

void sl_report_top_info(const sl_report *r, sl_top_list t, bool *exact, size_t *capacity,
			uint64_t *total)
{
	if (r->exact) {
		*exact = true;
		*capacity = 0;
		*total = r->exact_done && (unsigned)t < SL_TOP_COUNT ? r->exact_lists[t].total : 0;
		return;
	}
	*exact = sl_topk_is_exact(r->top[t]);
	*capacity = sl_topk_capacity(r->top[t]);
	*total = sl_topk_total(r->top[t]);
}

void sl_report_begin_input(sl_report *r, uint32_t input_id)
{
	sl_report_set_position(r, input_id, 0);
}

void sl_report_set_position(sl_report *r, uint32_t input_id, uint64_t lines_before)
{
	r->input = input_id;
	r->input_line = lines_before;
}

uint64_t sl_report_position(const sl_report *r)
{
	return r->input_line;
}

void sl_report_remap_inputs(sl_report *r, const uint32_t *map, uint32_t n)
{
	for (uint32_t i = 0; i < r->nsamples; i++)
		if (r->samples[i].input < n)
			r->samples[i].input = map[r->samples[i].input];
}

void sl_report_renumber(sl_report *r, uint32_t input_id, uint64_t delta)
{
	for (uint32_t i = 0; i < r->nsamples; i++)
		if (r->samples[i].input == input_id)
			r->samples[i].line += delta;
}

void sl_report_rename_input(sl_report *r, uint32_t from, uint32_t to)
{
	for (uint32_t i = 0; i < r->nsamples; i++)
		if (r->samples[i].input == from)
			r->samples[i].input = to;
}

void sl_report_add_oversized(sl_report *r, uint64_t n)
{
	r->lines += n;
	r->oversized += n;
	r->input_line += n;
}

static void keep_sample(sl_report *r, const char *line, size_t len, const char *why)
{
	if (r->nsamples >= SL_SAMPLES_MAX)
		return;
	sl_sample *s = &r->samples[r->nsamples++];
	s->input = r->input;
	s->line = r->input_line;
	s->why = why;
	s->truncated = len > SL_SAMPLE_TEXT;
	s->len = (uint32_t)(s->truncated ? SL_SAMPLE_TEXT : len);
	memcpy(s->text, line, s->len);
	/* what the line looks like, for a run where no line parses: a few
	 * parses per sample kept, at most SL_SAMPLES_MAX per report */
	s->looks_like = sl_access_guess(line, len);
}

/* Finalizer of MurmurHash3: spreads a combination of hashes over all bits,
 * which the HLL's index (the top bits) needs. */
static uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb93fe53a5ed3ULL;
	h ^= h >> 33;
	return h;
}

/* bytes_sent is a 128-bit sum in two words: the carry goes to the high one. */
static inline void add_bytes(sl_report *r, uint64_t n)
{
	r->bytes_sent += n;
	r->bytes_sent_high += r->bytes_sent < n;
}

static void add_str(sl_topk *t, sl_str s, uint64_t h)
{
	sl_topk_add(t, s.p ? s.p : "", s.len, h, 1);
}

/* The tallies, quantiles, moments and time series of one valid line: all
 * but the keyed sketches. */
static void figures(sl_report *r, const sl_access_rec *rec)
{
	const sl_str *f = rec->field;
	sl_tally_add(&r->methods, f[SL_F_METHOD].p, f[SL_F_METHOD].len, 1);
	sl_tally_add(&r->protocols, f[SL_F_PROTOCOL].p, f[SL_F_PROTOCOL].len, 1);
	if (rec->has_request_time) {
		add_quant(r, r->request_time_q, rec->request_time);
		sl_moments_add(&r->request_time, rec->request_time);
	}
	add_quant(r, r->response_bytes_q, (double)rec->bytes);
	sl_moments_add(&r->response_bytes, (double)rec->bytes);

	sl_series_add(r->per_hour, rec->time, 1);
	if (r->per_minute) {
		if (r->last_time - r->first_time >= SIX_HOURS) {
			sl_series_free(r->per_minute);
			r->per_minute = NULL;
		} else {
			sl_series_add(r->per_minute, rec->time, 1);
		}
	}
}

/* A parsed line and the hashes of its keys, between the prefetch stages
 * and record(). */
struct keyed {
	sl_access_rec rec;
	uint64_t ip, ua, visitor, url, path, ref;
};

/* Hashes the keys of k->rec. The client hash feeds ips, top ip and the
 * visitor key; a path equal to its URL reuses the URL's hash. */
static inline void hash_keys(struct keyed *k)
{
	const sl_str *f = k->rec.field;
	k->ip = key_hash(f[SL_F_CLIENT].p, f[SL_F_CLIENT].len);
	k->ua = key_hash(f[SL_F_USER_AGENT].p, f[SL_F_USER_AGENT].len);
	/* The date as logged ("10/Oct/2000"), so that visitors split at the
	 * server's midnight, as GoAccess counts them. The parser accepts only
	 * dd/Mon/yyyy:HH:MM:SS +zzzz, so the first 11 bytes are the date; a
	 * constant length lets the hash be specialised. */
	uint64_t h_date = key_hash(f[SL_F_TIME].p, 11);
	k->visitor = fmix64(k->ip * 0x9e3779b97f4a7c15ULL ^ h_date * 0xc2b2ae3d27d4eb4fULL ^ k->ua);
	k->url = key_hash(f[SL_F_URL].p, f[SL_F_URL].len);
	k->path = f[SL_F_PATH].len == f[SL_F_URL].len ? k->url
						      : key_hash(f[SL_F_PATH].p, f[SL_F_PATH].len);
	k->ref = key_hash(f[SL_F_REFERRER].p, f[SL_F_REFERRER].len);
}

/* The first line each keyed sketch will read, at a random place. */
static inline void prefetch_index(const sl_report *r, const struct keyed *k)
{
	sl_distinct_prefetch(r->ips, k->ip);
	sl_distinct_prefetch(r->visitors, k->visitor);
	sl_topk_prefetch(r->top[SL_TOP_URL], k->url);
	sl_topk_prefetch(r->top[SL_TOP_PATH], k->path);
	sl_topk_prefetch(r->top[SL_TOP_IP], k->ip);
	sl_topk_prefetch(r->top[SL_TOP_REFERRER], k->ref);
	sl_topk_prefetch(r->top[SL_TOP_USER_AGENT], k->ua);
	if (k->rec.status == 404)
		sl_topk_prefetch(r->top[SL_TOP_NOT_FOUND], k->path);
}

/* The top lists' counters (after prefetch_index) ... */
static void prefetch_slots(const sl_report *r, const struct keyed *k)
{
	sl_topk_prefetch_slot(r->top[SL_TOP_URL], k->url);
	sl_topk_prefetch_slot(r->top[SL_TOP_PATH], k->path);
	sl_topk_prefetch_slot(r->top[SL_TOP_IP], k->ip);
	sl_topk_prefetch_slot(r->top[SL_TOP_REFERRER], k->ref);
	sl_topk_prefetch_slot(r->top[SL_TOP_USER_AGENT], k->ua);
	if (k->rec.status == 404)
		sl_topk_prefetch_slot(r->top[SL_TOP_NOT_FOUND], k->path);
}

/* ... then their counts and long keys (after prefetch_slots). */
static void prefetch_counts(const sl_report *r, const struct keyed *k)
{
	sl_topk_prefetch_count(r->top[SL_TOP_URL], k->url);
	sl_topk_prefetch_count(r->top[SL_TOP_PATH], k->path);
	sl_topk_prefetch_count(r->top[SL_TOP_IP], k->ip);
	sl_topk_prefetch_count(r->top[SL_TOP_REFERRER], k->ref);
	sl_topk_prefetch_count(r->top[SL_TOP_USER_AGENT], k->ua);
	if (k->rec.status == 404)
		sl_topk_prefetch_count(r->top[SL_TOP_NOT_FOUND], k->path);
}

/* The counters of a valid line; then record_exact or the keyed sketches
 * (whose keys k holds hashed, unless r->exact) and figures(). */
static void record(sl_report *r, const struct keyed *k)
{
	const sl_access_rec *rec = &k->rec;
	const sl_str *f = rec->field;
	r->requests++;
	add_bytes(r, rec->bytes);
	if (r->requests == 1 || rec->time <= r->first_time) {
		int32_t off = time_offset(f[SL_F_TIME]);
		if (r->requests == 1 || rec->time < r->first_time || off < r->log_offset)
			r->log_offset = off;
		r->first_time = rec->time;
	}
	if (r->requests == 1 || rec->time > r->last_time)
		r->last_time = rec->time;
	r->status[rec->status]++;
	if (r->exact) {
		record_exact(r, rec);
		figures(r, rec);
		return;
	}
	figures(r, rec);
	sl_distinct_add_hash(r->ips, k->ip);
	if (visitor_line(r, rec))
		sl_distinct_add_hash(r->visitors, k->visitor);
	add_str(r->top[SL_TOP_URL], f[SL_F_URL], k->url);
	add_str(r->top[SL_TOP_PATH], f[SL_F_PATH], k->path);
	add_str(r->top[SL_TOP_IP], f[SL_F_CLIENT], k->ip);
	add_str(r->top[SL_TOP_REFERRER], f[SL_F_REFERRER], k->ref);
	add_str(r->top[SL_TOP_USER_AGENT], f[SL_F_USER_AGENT], k->ua);
	if (rec->status == 404)
		add_str(r->top[SL_TOP_NOT_FOUND], f[SL_F_PATH], k->path);
}

static void record_line(sl_report *r, const char *line, size_t len)
{
	r->requests++;
	add_bytes(r, len);
	add_quant(r, r->line_length_q, (double)len);
	sl_moments_add(&r->line_length, (double)len);
	if (r->exact) {
		/* the line is its own key (len <= SL_LINE_MAX = SL_EXACT_KEY_MAX);
		 * the first error stops the table, finish reports it */
		if (r->exact_status == SL_OK)
			r->exact_status = sl_exact_add(r->exact, line, len);
		return;
	}
	uint64_t h = sl_hash(line, len);
	sl_distinct_add_hash(r->distinct_lines, h);
	sl_topk_add(r->top_lines, len ? line : "", len, h, 1);
}

/* Counts one line and parses it into *rec: true if it is a valid access
 * line (record() it), false if it was counted as oversized or malformed.
 * it: the feed's line reader when the line lies in its index, else NULL. */
static bool parse_line(sl_report *r, const char *line, size_t len, sl_scan_lines *it,
		       sl_access_rec *rec)
{
	sl_status st;
	r->lines++;
	r->input_line++;
	if (len > SL_LINE_MAX) {
		r->oversized++;
		return false;
	}
	if (it)
		st = sl_access_lines_parse(r->format, it, line, len, rec, &r->tc);
	else
		st = sl_access_parse(r->format, line, len, rec, &r->tc);
	if (st != SL_OK) {
		r->malformed++;
		keep_sample(r, line, len, rec->why ? rec->why : "malformed");
		return false;
	}
	return true;
}

static void line_of_lines(sl_report *r, const char *line, size_t len)
{
	r->lines++;
	r->input_line++;
	if (len > SL_LINE_MAX)
		r->oversized++;
	else
		record_line(r, line, len);
}

/*
 * Lines come from the line reader (lib/scan.h), which indexes the buffer
 * once for both the line ends and the parser's delimiters; the generic
 * line format needs only the line ends.
 *
 * Prefetching. Each keyed sketch reads a line of memory at a random place
 * per key, and a top list reads three in a chain: its index line, the
 * counter that line names, then the count and (long keys) the key bytes.
 * While the report's tables fit the caches (at most DEEP_FROM bytes in the
 * pool: always at the seed's 1 MiB) a line is recorded as soon as it is
 * parsed, after one prefetch of the first lines, which its figures() hide.
 * Once they are larger, every miss would be waited for in turn, so lines
 * go through a pipeline of RING slots: line j's index lines are prefetched
 * when it is parsed, its counters STAGE lines later, their counts and keys
 * STAGE lines after that, and it is recorded STAGE lines after that, each
 * load having had a few lines' work to arrive. The sketches see the same
 * adds in the same order either way: only the hints move, so the report
 * is the same (tests/test_report checks both paths against each other).
 */
#define RING 16
#define STAGE 3
#define DEEP_FROM ((size_t)2 << 20)
_Static_assert(3 * STAGE < RING, "the pipeline fits the ring");

static void feed_deep(sl_report *r, sl_scan_lines *it)
{
	struct keyed ring[RING];
	uint64_t j = 0;	/* lines parsed and hashed */
	const char *line;
	size_t n;
	bool indexed;
	for (;;) {
		bool more = sl_scan_lines_next(it, &line, &n, &indexed);
		if (more) {
			struct keyed *k = &ring[j % RING];
			if (!parse_line(r, line, n, indexed ? it : NULL, &k->rec))
				continue;
			hash_keys(k);
			prefetch_index(r, k);
		}
		if (!more) {	/* the lines still held, in order */
			for (uint64_t i = j > 3 * STAGE ? j - 3 * STAGE : 0; i < j; i++)
				record(r, &ring[i % RING]);
			return;
		}
		if (j >= STAGE)
			prefetch_slots(r, &ring[(j - STAGE) % RING]);
		if (j >= 2 * STAGE)
			prefetch_counts(r, &ring[(j - 2 * STAGE) % RING]);
		if (j >= 3 * STAGE)
			record(r, &ring[(j - 3 * STAGE) % RING]);
		j++;
	}
}

void sl_report_feed(sl_report *r, const char *buf, size_t len)
{
	sl_scan_lines *it = r->scan;
	const char *line;
	size_t n;
	bool indexed;
	if (r->format == SL_FMT_LINES) {
		sl_scan_lines_init(it, buf, len, "\n", 1);
		while (sl_scan_lines_next(it, &line, &n, &indexed))
			line_of_lines(r, line, n);
		return;
	}
	sl_access_lines_init(it, buf, len);
	if (!r->exact && r->pool.used > DEEP_FROM) {
		feed_deep(r, it);
		return;
	}
	struct keyed k;
	while (sl_scan_lines_next(it, &line, &n, &indexed)) {
		if (!parse_line(r, line, n, indexed ? it : NULL, &k.rec))
			continue;
		if (!r->exact) {
			hash_keys(&k);
			prefetch_index(r, &k);
		}
		record(r, &k);
	}
}

static int sample_before(const sl_sample *a, const sl_sample *b)
{
	return a->input != b->input ? a->input < b->input : a->line < b->line;
}

/* dst keeps the first SL_SAMPLES_MAX samples of both, by (input, line).
 * Each side holds its own first ones, so these are the first of the union
 * whichever way the lines were shared out. */
static void keep_first_samples(sl_report *dst, const sl_report *src)
{
	sl_sample all[2 * SL_SAMPLES_MAX];
	uint32_t n = 0, i = 0, j = 0;
	while (n < SL_SAMPLES_MAX && (i < dst->nsamples || j < src->nsamples)) {
		if (j >= src->nsamples ||
		    (i < dst->nsamples && !sample_before(&src->samples[j], &dst->samples[i])))
			all[n++] = dst->samples[i++];
		else
			all[n++] = src->samples[j++];
	}
	memcpy(dst->samples, all, n * sizeof *all);
	dst->nsamples = n;
}

/* dst += src. consume: src is the caller's to give up: each of its exact
 * tables is freed as soon as it is merged, top lists first, so the memory it
 * held is the budget's again when the distinct sets, whose union may need a
 * larger table, are merged. */
static sl_status merge(sl_report *dst, sl_report *src, bool consume);

sl_status sl_report_merge(sl_report *dst, const sl_report *src)
{
	return merge(dst, (sl_report *)(uintptr_t)src, false);
}

sl_status sl_report_merge_free(sl_report *dst, sl_report *src)
{
	sl_status st = merge(dst, src, true);
	if (st == SL_OK)
		sl_report_free(src);
	return st;
}

static sl_status merge(sl_report *dst, sl_report *src, bool consume)
{
	if (dst->format != src->format || !dst->exact != !src->exact ||
	    dst->visitors_4xx != src->visitors_4xx)
		return SL_EMISMATCH;
	if (src->requests) {
		if (!dst->requests || src->first_time < dst->first_time ||
		    (src->first_time == dst->first_time && src->log_offset < dst->log_offset))
			dst->log_offset = src->log_offset;
		if (!dst->requests || src->first_time < dst->first_time)
			dst->first_time = src->first_time;
		if (!dst->requests || src->last_time > dst->last_time)
			dst->last_time = src->last_time;
	}
	dst->lines += src->lines;
	dst->requests += src->requests;
	dst->malformed += src->malformed;
	dst->oversized += src->oversized;
	add_bytes(dst, src->bytes_sent);
	dst->bytes_sent_high += src->bytes_sent_high;
	keep_first_samples(dst, src);
	if (dst->exact && src->exact) {
		/* src's table moves into dst's (src is left empty) */
		if (dst->exact_status == SL_OK)
			dst->exact_status = src->exact_status;
		if (dst->exact_status == SL_OK)
			dst->exact_status = sl_exact_merge(dst->exact, src->exact);
	}
	if (dst->format == SL_FMT_LINES) {
		if (!dst->exact) {
			sl_topk_merge(dst->top_lines, src->top_lines);
			if (consume) {
				sl_topk_free(src->top_lines);
				src->top_lines = NULL;
			}
			sl_distinct_merge(dst->distinct_lines, src->distinct_lines);
			sl_relq_merge(dst->line_length_q, src->line_length_q);
		} else if (dst->exact_status == SL_OK) {
			/* src's spilled and raw values move into dst's sort */
			dst->exact_status = merge_quant_exact(dst, (sl_report *)(uintptr_t)src);
		}
		sl_moments_merge(&dst->line_length, &src->line_length);
		return SL_OK;
	}
	for (int i = 0; i < 600; i++)
		dst->status[i] += src->status[i];
	sl_tally_merge(&dst->methods, &src->methods);
	sl_tally_merge(&dst->protocols, &src->protocols);
	if (!dst->exact) {
		for (int i = 0; i < SL_TOP_COUNT; i++) {
			sl_topk_merge(dst->top[i], src->top[i]);
			if (consume) {
				sl_topk_free(src->top[i]);
				src->top[i] = NULL;
			}
		}
		sl_distinct_merge(dst->ips, src->ips);
		if (consume) {
			sl_distinct_free(src->ips);
			src->ips = NULL;
		}
		sl_distinct_merge(dst->visitors, src->visitors);
	}
	if (!dst->exact) {
		sl_relq_merge(dst->request_time_q, src->request_time_q);
		sl_relq_merge(dst->response_bytes_q, src->response_bytes_q);
	} else if (dst->exact_status == SL_OK) {
		/* src's spilled and raw values move into dst's sort */
		dst->exact_status = merge_quant_exact(dst, (sl_report *)(uintptr_t)src);
	}
	sl_moments_merge(&dst->request_time, &src->request_time);
	sl_moments_merge(&dst->response_bytes, &src->response_bytes);
	sl_series_merge(dst->per_hour, src->per_hour);
	if (dst->per_minute && (!src->per_minute ||
				(dst->requests && dst->last_time - dst->first_time >= SIX_HOURS))) {
		sl_series_free(dst->per_minute);
		dst->per_minute = NULL;
	}
	if (dst->per_minute)
		sl_series_merge(dst->per_minute, src->per_minute);
	return SL_OK;
}
