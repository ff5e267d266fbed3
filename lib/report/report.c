/*
 * report.c: reports (sl_report_*): the counters and the sketches of a plan
 * (lib/report/plan.c) over the records of a stream.
 *
 * Every line counts in `lines`; each is exactly one of requests (a record
 * that parsed and that the plan's filters keep: every line, -f lines),
 * malformed, oversized, filtered (parsed, but left out by the plan's
 * --where filters or time range) or skipped (a header or comment line of
 * formats that have them), so lines == requests + malformed + oversized +
 * filtered + skipped. Per record the counters take requests,
 * the byte sum (128 bits: two words with carry, so that a sum of 64-bit
 * byte fields never wraps; the line lengths for -f lines), the first and
 * last time and the earliest line's UTC offset (log_offset). Then each plan
 * item whose condition the record meets takes its fields:
 *   distinct    exact set -> HLL (lib/sketch/distinct.c), by the fields' hash
 *   top         exact table -> Space-Saving (lib/sketch/topk.c)
 *   quantiles   relative-error sketch (lib/sketch/relq.c) + moments
 *   tally       status[code], or a small string tally (lib/sketch/tally.c)
 *   series      per hour, and per minute while the span is under 6 hours
 *
 * Memory plan (sl_report_new_plan), the one rule for every plan: the
 * report's max_bytes are shared as
 *   fixed     the report struct, its line reader (lib/format/scan.h, ~7 KiB), one
 *             relative-error quantile sketch per quantiles item (4096
 *             buckets of 0.5%, fewer when the budget is small: together at
 *             most 1/8 of the report, counted as at least two; the first
 *             4096 values of each are kept raw, and more while the pool
 *             has room, so small logs have exact quantiles), a tally per
 *             string tally item, the two series
 *   the rest  the pool of the exact tables (a child budget, `pool`). Each
 *             keyed item weighs its share (sl_item.share): a distinct item
 *             holds rest * share / W (W: the sum of the keyed items'
 *             shares), at least four times its HLL (whose precision the
 *             caller may fix so that reports of one run merge register for
 *             register); the top items split what the distinct items leave
 *             by their shares. The default access plan weighs unique_ips 9,
 *             unique_visitors 9, url 18, path 14, ip 14, referrer 12,
 *             user_agent 14 and not_found 10 (of 100); the line plan
 *             distinct_lines 25 and the top lines 75. These shares are what
 *             each sketch holds once degraded; they are not taken up front.
 *             Every exact table starts small and grows as its keys arrive,
 *             past its share while the pool has room; when the pool is
 *             full, a table holding more than its share degrades first
 *             (pool_relieve).
 * So a small log touches a few hundred KiB whatever max_bytes is, adding
 * never fails, and the peak never exceeds max_bytes.
 *
 * Keys are hashed once per record and field (XXH3, = sl_hash), and the
 * hash is shared by every item over that field: the client's feeds
 * unique_ips, top ip and the visitor key; a path equal to its URL reuses
 * the URL's hash. A distinct item over several fields hashes the
 * combination of their hashes (combine()).
 *
 * Exact plans (sl_plan.exact, --exact) count distinct and top items in one
 * exact table and make the quantiles exact: see "exact mode" below.
 *
 * Merge combines every item with its module's merge; samples keep the
 * first ones by (input, line). Reports merge only under one plan.
 * Order: new -> (begin_input -> feed*)* -> [finish_exact] -> merge* -> free.
 */
#include "report/report.h"
#include "report/regex.h"

#include <math.h>
#include <stdio.h>
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

struct sl_report_op;	/* "ops" below */
static void free_regex(sl_report *r);
static sl_status compile_regex(sl_report *r);
static size_t op_bytes(void);
static bool index_ops(sl_report *r);
static void free_ops(sl_report *r);
static void compile_cond(struct sl_report_op *op, const sl_item *it);
static void cache_default(sl_report *r);

#define SIX_HOURS (6 * 3600)
#define HOUR_SERIES_BYTES (16 * 1024)  /* 2048 hours (85 days) before coarsening */
#define MINUTE_SERIES_BYTES (3 * 1024) /* 6 hours of minutes fit */
#define MIN_SKETCH_BYTES (64 * 1024)
#define GROUPS_MIN_BYTES (64 * 1024) /* room for a handful of groups */

static const char *const top_names[SL_TOP_COUNT] = {
	"url", "path", "ip", "referrer", "user_agent", "not_found",
};

const char *sl_top_name(sl_top_list t)
{
	return (unsigned)t < SL_TOP_COUNT ? top_names[t] : NULL;
}

/* Buckets of each quantile sketch: the plan's quantile sketches (at least
 * two counted) may take at most 1/8 of the report, each at least 512. The
 * value ratio they cover before the lowest buckets fold: 512 ~160, 1024
 * ~2.7e4, 2048 ~7e8, 4096 ~5e17. Folded quantiles are reported as
 * unbounded. */
#define QUANT_MIN_BUCKETS 512
static uint32_t quant_buckets_for(size_t max_bytes, uint32_t nquant)
{
	uint32_t n = SL_RELQ_DEFAULT_BUCKETS, k = nquant < 2 ? 2 : nquant;
	while (n > QUANT_MIN_BUCKETS && k * sl_relq_bytes(n) > max_bytes / 8)
		n /= 2;
	return n;
}

static uint32_t count_kind(const sl_plan *p, sl_item_kind kind, bool string_tally)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->nitems; i++)
		if (p->item[i].kind == kind &&
		    (!string_tally || p->item[i].field[0] != SL_F_STATUS))
			n++;
	return n;
}

/* The bytes of the groups items (--by): each takes its share, in percent,
 * of the whole report (the default 40%), before the tables share the
 * rest; at least what SL_GROUPS_MIN groups need. */
static size_t groups_bytes(const sl_plan *p, size_t max_bytes)
{
	size_t n = 0;
	for (uint32_t i = 0; i < p->nitems; i++)
		if (p->item[i].kind == SL_ITEM_GROUPS) {
			size_t b = max_bytes / 100 * p->item[i].share;
			n += b > GROUPS_MIN_BYTES ? b : GROUPS_MIN_BYTES;
		}
	return n;
}

/* What a compiled pattern and its match data may take, about. */
#define REGEX_BYTES (8 * 1024)
static uint32_t count_regex(const sl_plan *p)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->nfilters; i++)
		n += p->filter[i].cmp == SL_CMP_REGEX;
	return n;
}

static size_t fixed_bytes(const sl_plan *p, size_t max_bytes)
{
	uint32_t nq = count_kind(p, SL_ITEM_QUANTILES, false);
	return sizeof(sl_report) + sizeof(sl_scan_lines) +
	       2 * (p->nitems ? p->nitems : 1) * op_bytes() +
	       nq * sl_relq_bytes(quant_buckets_for(max_bytes, nq)) +
	       count_kind(p, SL_ITEM_TALLY, true) * sizeof(sl_tally) +
	       groups_bytes(p, max_bytes) +
	       (count_kind(p, SL_ITEM_SERIES, false) ? HOUR_SERIES_BYTES + MINUTE_SERIES_BYTES : 0) +
	       count_regex(p) * REGEX_BYTES +
	       1024 /* series headers, slack */;
}

/* The bytes of the pool a keyed item holds once degraded, by the one rule
 * above; 0 for other items. */
static size_t item_share(const sl_plan *p, uint32_t i, size_t sketch, int hll_p)
{
	uint32_t w = 0, wtop = 0;
	size_t distinct = 0;
	for (uint32_t k = 0; k < p->nitems; k++) {
		const sl_item *it = &p->item[k];
		if (it->kind == SL_ITEM_DISTINCT || it->kind == SL_ITEM_TOP)
			w += it->share;
		if (it->kind == SL_ITEM_TOP)
			wtop += it->share;
	}
	for (uint32_t k = 0; k < p->nitems; k++) {
		const sl_item *it = &p->item[k];
		if (it->kind != SL_ITEM_DISTINCT)
			continue;
		size_t d = sketch / w * it->share;
		if (d < 4 * sl_hll_bytes(hll_p))
			d = 4 * sl_hll_bytes(hll_p);
		if (k == i)
			return d;
		distinct += d;
	}
	if (p->item[i].kind != SL_ITEM_TOP)
		return 0;
	return (sketch - distinct) / wtop * p->item[i].share;
}

/* The least a plan's report needs: its fixed parts, four HLLs per distinct
 * item, and MIN_SKETCH_BYTES for the top lists. */
static size_t plan_min_bytes(const sl_plan *p, int hll_p)
{
	return fixed_bytes(p, 0) + MIN_SKETCH_BYTES +
	       count_kind(p, SL_ITEM_DISTINCT, false) * 4 * sl_hll_bytes(hll_p);
}

/* ---- exact mode ---------------------------------------------------------
 *
 * Every top item has a list in the exact table, and so has every distinct
 * item, but one over a single field with the same condition as a top item
 * (unique_ips and top ip): it counts that list's distinct keys. Keys are
 * tagged with one byte, their list's number, when the plan has more than
 * one list; a distinct item over several fields keys them joined by NUL
 * bytes (client NUL date NUL agent). The exact table is finished once; a
 * callback sees every distinct tagged key with its count and keeps, per
 * list, the distinct count, the total and, for a top item, the best top_n
 * rows (count descending, then key bytes ascending; keys longer than
 * SL_TOPK_VALUE_MAX are kept by their first SL_TOPK_VALUE_MAX bytes). The
 * rows' bytes are reserved at creation. A lone list (the line plan) has no
 * tag, so a line of SL_LINE_MAX bytes fits SL_EXACT_KEY_MAX.
 */
#define EXACT_KEY_BYTES (SL_LINE_MAX + 16)

struct sl_report_exact_list {
	uint64_t distinct, total;
	size_t nrows;
	size_t cap;		/* rows kept: top_n for a top item, else 0 */
	sl_topk_row *rows;	/* heap while finishing, then best first */
	char *keys;		/* SL_TOPK_VALUE_MAX bytes per row */
};

static bool same_where(const sl_where *a, const sl_where *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

/* The lists of plan p: sets each keyed item's exact_list (when items is
 * not NULL) and returns how many lists, and how many of them keep rows. */
static uint32_t exact_layout(const sl_plan *p, struct sl_report_item *items, uint32_t *ntop)
{
	uint32_t n = 0, t = 0;
	int list_of[SL_PLAN_MAX];
	for (uint32_t i = 0; i < p->nitems; i++) {
		list_of[i] = -1;
		if (p->item[i].kind == SL_ITEM_TOP) {
			list_of[i] = (int)n++;
			t++;
		}
	}
	for (uint32_t i = 0; i < p->nitems; i++) {
		const sl_item *it = &p->item[i];
		if (it->kind != SL_ITEM_DISTINCT)
			continue;
		for (uint32_t k = 0; k < p->nitems && it->nfields == 1; k++) {
			const sl_item *o = &p->item[k];
			if (o->kind == SL_ITEM_TOP && o->field[0] == it->field[0] &&
			    same_where(&o->where, &it->where)) {
				list_of[i] = list_of[k];
				if (items)
					items[i].exact_shared = true;
				break;
			}
		}
		if (list_of[i] < 0)
			list_of[i] = (int)n++;
	}
	if (items)
		for (uint32_t i = 0; i < p->nitems; i++)
			items[i].exact_list = list_of[i];
	if (ntop)
		*ntop = t;
	return n;
}

static size_t exact_lists_bytes(const sl_plan *p, size_t top_n)
{
	uint32_t ntop, n = exact_layout(p, NULL, &ntop);
	return n * sizeof(struct sl_report_exact_list) +
	       ntop * top_n * (sizeof(sl_topk_row) + SL_TOPK_VALUE_MAX);
}

int sl_report_hll_precision(size_t max_bytes)
{
	/* The two distinct counters may take a quarter of the report, each
	 * with room for its HLL four times over (the rest holds exact sets):
	 * p = 15 (17 KB of 4-bit registers) from about 545 KB of report. */
	int p = 15;
	while (p > SL_HLL_MIN_P && 8 * sl_hll_bytes(p) > max_bytes / 4)
		p--;
	return p;
}

size_t sl_report_min_bytes_p(int p)
{
	sl_plan plan;
	sl_plan_default(&plan, SL_FMT_COMBINED, false);
	return plan_min_bytes(&plan, p);
}

size_t sl_report_min_bytes(void)
{
	return sl_report_min_bytes_p(sl_report_hll_precision(sl_report_min_bytes_p(SL_HLL_MIN_P)));
}

size_t sl_report_plan_min_bytes(const sl_plan *p, int hll_p, size_t top_n)
{
	if (!p->exact)
		return plan_min_bytes(p, hll_p);
	return fixed_bytes(p, 0) + EXACT_KEY_BYTES + exact_lists_bytes(p, top_n) +
	       SL_EXACT_MIN_BYTES + SL_XSORT_MIN_BYTES;
}

void sl_report_free(sl_report *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->plan.nitems; i++) {
		struct sl_report_item *it = &r->item[i];
		sl_distinct_free(it->distinct);
		sl_topk_free(it->top);
		sl_relq_free(it->q);
		sl_groups_free(it->groups);
		if (it->tally)
			sl_free(r->budget, it->tally, sizeof *it->tally);
	}
	sl_series_free(r->per_hour);
	sl_series_free(r->per_minute);
	sl_exact_free(r->exact);
	sl_xsort_free(r->quant_sort);
	if (r->quant_tmpdir)
		sl_free(r->budget, r->quant_tmpdir, strlen(r->quant_tmpdir) + 1);
	if (r->exact_key)
		sl_free(r->budget, r->exact_key, EXACT_KEY_BYTES);
	if (r->exact_lists)
		sl_free(r->budget, r->exact_lists, exact_lists_bytes(&r->plan, r->exact_top_n));
	free_ops(r);
	free_regex(r);
	sl_parser_free(r->parser);
	if (r->format_spec)
		sl_free(r->budget, r->format_spec, strlen(r->format_spec) + 1);
	sl_free(r->budget, r->scan, sizeof *r->scan);
	sl_free(r->budget, r, sizeof *r);
}

/* ---- the pool ------------------------------------------------------------
 *
 * The report's exact tables (its distinct and top items) and its quantile
 * sketches' raw values share the report's budget: each may grow past its
 * share while the budget allows (a quantile sketch's share is its B cells,
 * its fixed part, added to the pool's limit). When the budget refuses one,
 * pool_relieve gives memory back: the one that needs the most degrades
 * first, that is
 *   1. among the top lists and quantile sketches, the one holding the most
 *      bytes beyond its share (ties: the top list, then the first in the
 *      plan): a top list becomes Space-Saving, a quantile sketch turns its
 *      raw values into buckets (its quantiles go from exact to within 0.5%
 *      of the value);
 *   2. when none holds more than its share, and a top list or distinct set
 *      asks, the distinct set over its share with the most keys (ties: the
 *      later in the plan, so the visitors before the IPs).
 * A key costs a top list about a hundred bytes and a distinct set eight,
 * and a degraded top list still ranks its heavy hitters within
 * Space-Saving's bound, while a distinct count is the figure users check
 * first: so the distinct counts stay exact the longest, and a quantile
 * sketch never takes a distinct set's memory. If the one chosen is the one
 * asking, or none holds more than its share, the one asking degrades
 * itself. A degraded table keeps at most its share, so degrading never
 * needs memory and never fails. The choice depends only on the contents:
 * one input, one answer.
 */
static bool pool_relieve(void *ud, const void *requester)
{
	sl_report *r = ud;
	const void *best = NULL;
	size_t most = 0;
	enum { NONE, TOP, QUANT, DISTINCT } kind = NONE;
	for (uint32_t k = 0; k < r->ntop; k++) {
		sl_topk *t = r->item[r->tops[k]].top;
		size_t x = t ? sl_topk_excess(t) : 0;
		if (x > most) {
			most = x;
			best = t;
			kind = TOP;
		}
	}
	bool quant_asks = false;
	for (uint32_t k = 0; k < r->nquant; k++) {
		sl_relq *q = r->item[r->quants[k]].q;
		size_t x = q ? sl_relq_excess(q) : 0;
		quant_asks |= requester == q;
		if (x > most) {
			most = x;
			best = q;
			kind = QUANT;
		}
	}
	double keys = -1;
	for (uint32_t k = r->ndistinct; k-- > 0 && kind == NONE && !quant_asks;) {
		sl_distinct *d = r->item[r->distincts[k]].distinct;
		if (!d || !sl_distinct_excess(d))
			continue;
		double n = sl_distinct_estimate(d).estimate;
		if (n > keys) {
			keys = n;
			best = d;
		}
	}
	if (!best || best == requester)
		return false;
	if (kind == TOP)
		sl_topk_degrade((sl_topk *)(uintptr_t)best);
	else if (kind == QUANT)
		sl_relq_degrade((sl_relq *)(uintptr_t)best);
	else
		sl_distinct_degrade((sl_distinct *)(uintptr_t)best);
	return true;
}

/* Sorts the plan's items by role and lists the fields to hash. */
static void index_items(sl_report *r)
{
	const sl_plan *p = &r->plan;
	bool hash[SL_F_COUNT] = {false};
	r->status_item = r->series_item = -1;
	for (uint32_t i = 0; i < p->nitems; i++) {
		const sl_item *it = &p->item[i];
		r->item[i].kind = it->kind;
		r->item[i].exact_list = -1;
		r->item[i].quant_tag = -1;
		switch (it->kind) {
		case SL_ITEM_DISTINCT:
			r->distincts[r->ndistinct++] = (uint8_t)i;
			r->keyed[r->nkeyed++] = (uint8_t)i;
			for (uint32_t k = 0; k < it->nfields; k++)
				hash[it->field[k]] = true;
			break;
		case SL_ITEM_TOP:
			r->tops[r->ntop++] = (uint8_t)i;
			r->keyed[r->nkeyed++] = (uint8_t)i;
			hash[it->field[0]] = true;
			break;
		case SL_ITEM_QUANTILES:
			r->item[i].quant_tag = (int)r->nquant;
			r->quants[r->nquant++] = (uint8_t)i;
			r->nfig++;
			break;
		case SL_ITEM_TALLY:
			if (it->field[0] == SL_F_STATUS)
				r->status_item = (int)i;
			r->nfig++;
			break;
		case SL_ITEM_SERIES:
			r->series_item = (int)i;
			r->nfig++;
			break;
		case SL_ITEM_GROUPS:
			r->nfig++;
			break;
		default:
			break;
		}
	}
	for (int f = 0; f < SL_F_COUNT; f++) {
		/* a path after its URL: it may reuse the URL's hash */
		if (f == SL_F_PATH || !hash[f])
			continue;
		r->hashed[r->nhashed++] = (uint8_t)f;
		if (f == SL_F_URL && hash[SL_F_PATH])
			r->hashed[r->nhashed++] = SL_F_PATH;
	}
	if (hash[SL_F_PATH] && !hash[SL_F_URL])
		r->hashed[r->nhashed++] = SL_F_PATH;
}

/* A zeroed report of format fmt and plan p holding max_bytes of b, or NULL. */
static sl_report *new_report(sl_budget *b, sl_format fmt, const sl_plan *p, size_t max_bytes)
{
	sl_report *r = sl_calloc(b, 1, sizeof *r);
	if (!r)
		return NULL;
	r->budget = b;
	r->format = fmt;
	r->plan = *p;
	r->bytes_held = max_bytes;
	size_t fixed = fixed_bytes(p, max_bytes);
	sl_budget_init_child(&r->pool, b, max_bytes > fixed ? max_bytes - fixed : 0);
	r->scan = sl_malloc(b, sizeof *r->scan);
	if (!r->scan) {
		sl_free(b, r, sizeof *r);
		return NULL;
	}
	index_items(r);
	if (fmt != SL_FMT_LINES) {
		sl_plan d;
		sl_plan_default(&d, fmt, false);
		r->fast = sl_plan_equal(p, &d);
		sl_plan_visitors_4xx(&d, true);
		r->fast |= sl_plan_equal(p, &d);
	}
	if (!index_ops(r)) {
		free_ops(r);
		sl_free(b, r->scan, sizeof *r->scan);
		sl_free(b, r, sizeof *r);
		return NULL;
	}
	return r;
}

/* The parts of fixed_bytes(): quantile sketches, string tallies, the
 * series. False when one does not fit (sl_report_free cleans up). */
static bool new_fixed_parts(sl_report *r, size_t max_bytes)
{
	uint32_t buckets = quant_buckets_for(max_bytes, r->nquant);
	for (uint32_t i = 0; i < r->plan.nitems; i++) {
		struct sl_report_item *it = &r->item[i];
		const sl_item *d = &r->plan.item[i];
		if (d->kind == SL_ITEM_QUANTILES && r->plan.exact &&
		    !(it->q = sl_relq_new(r->budget, buckets, SL_RELQ_DEFAULT_ALPHA)))
			return false;
		if (d->kind == SL_ITEM_QUANTILES && !r->plan.exact) {
			/* a pooled sketch lives in the pool, which takes its fixed
			 * bytes along, so that its raw values may grow there */
			size_t q = sl_relq_bytes(buckets), lim = r->pool.limit;
			sl_budget_set_limit(&r->pool, lim + q < lim ? SIZE_MAX : lim + q);
			if (!(it->q = sl_relq_new(&r->pool, buckets, SL_RELQ_DEFAULT_ALPHA)))
				return false;
			sl_relq_set_pool(it->q, pool_relieve, r);
		}
		if (d->kind == SL_ITEM_TALLY && d->field[0] != SL_F_STATUS &&
		    !(it->tally = sl_calloc(r->budget, 1, sizeof *it->tally)))
			return false;
		if (d->kind == SL_ITEM_GROUPS) {
			size_t b = max_bytes / 100 * d->share;
			it->share = b > GROUPS_MIN_BYTES ? b : GROUPS_MIN_BYTES;
			if (!(it->groups = sl_groups_new(r->budget, it->share)))
				return false;
		}
	}
	if (r->series_item >= 0) {
		r->per_hour = sl_series_new(r->budget, 3600, HOUR_SERIES_BYTES);
		r->per_minute = sl_series_new(r->budget, 60, MINUTE_SERIES_BYTES);
		if (!r->per_hour || !r->per_minute)
			return false;
	}
	return true;
}

static sl_status new_sketch_report(sl_report *r, size_t max_bytes, int hll_p)
{
	if (!new_fixed_parts(r, max_bytes))
		return SL_ENOMEM;
	size_t sketch = max_bytes - fixed_bytes(&r->plan, max_bytes);
	for (uint32_t k = 0; k < r->nkeyed; k++) {
		uint32_t i = r->keyed[k];
		struct sl_report_item *it = &r->item[i];
		it->share = item_share(&r->plan, i, sketch, hll_p);
		if (it->kind == SL_ITEM_DISTINCT) {
			if (!(it->distinct = sl_distinct_new(&r->pool, it->share, hll_p)))
				return SL_ENOMEM;
			sl_distinct_set_pool(it->distinct, pool_relieve, r);
		} else {
			if (!(it->top = sl_topk_new(&r->pool, it->share)))
				return SL_ENOMEM;
			sl_topk_set_pool(it->top, pool_relieve, r);
		}
	}
	if (r->fast)
		cache_default(r);
	return SL_OK;
}

static sl_status new_exact_report(sl_report *r, size_t max_bytes, const char *tmpdir,
				  size_t top_n);

static bool needs_parser(sl_format fmt, const char *spec)
{
	return (!sl_format_is_classic(fmt) && fmt != SL_FMT_LINES) || sl_format_spec_is_mix(spec);
}

sl_status sl_report_new_plan(sl_report **out, sl_budget *b, sl_format fmt, const char *format_spec,
			     const sl_plan *plan, size_t max_bytes, int hll_p, const char *tmpdir,
			     size_t top_n)
{
	*out = NULL;
	if (fmt <= SL_FMT_AUTO || fmt >= SL_FMT_COUNT || hll_p < SL_HLL_MIN_P ||
	    hll_p > SL_HLL_MAX_P || (plan->exact && (!tmpdir || top_n > ((size_t)1 << 20))))
		return SL_EINVAL;
	/* the line format yields only the line and its length */
	if (fmt == SL_FMT_LINES && sl_plan_check(plan, fmt, NULL) != SL_OK)
		return SL_EINVAL;
	if (fmt == SL_FMT_LINES && sl_format_spec_is_mix(format_spec))
		return SL_EINVAL;
	if (max_bytes < sl_report_plan_min_bytes(plan, hll_p, top_n) +
				sl_parser_reserve(fmt, format_spec))
		return SL_EBUDGET;
	sl_report *r = new_report(b, fmt, plan, max_bytes);
	if (!r)
		return SL_ENOMEM;
	r->hll_p = hll_p;
	const char *spec = format_spec ? format_spec : "";
	size_t sl = strlen(spec) + 1;
	if (!(r->format_spec = sl_malloc(b, sl))) {
		sl_report_free(r);
		return SL_ENOMEM;
	}
	memcpy(r->format_spec, spec, sl);
	if (needs_parser(fmt, spec)) {
		/* its memory is the pool's: the tables share what it leaves (a
		 * mix of formats: one parser per format, sl_report_select_format) */
		sl_status pst = sl_parser_new(&r->parser, &r->pool, fmt, spec, NULL, NULL);
		if (pst != SL_OK) {
			sl_report_free(r);
			return pst;
		}
	}
	r->filtering = plan->nfilters || plan->has_since || plan->has_until;
	sl_status st = compile_regex(r);
	if (st == SL_OK)
		st = plan->exact ? new_exact_report(r, max_bytes, tmpdir, top_n)
				 : new_sketch_report(r, max_bytes, hll_p);
	if (st != SL_OK) {
		sl_report_free(r);
		return st;
	}
	*out = r;
	return SL_OK;
}

sl_status sl_report_new_p(sl_report **out, sl_budget *b, sl_format fmt, size_t max_bytes,
			  int hll_p)
{
	sl_plan plan;
	sl_plan_default(&plan, fmt, false);
	return sl_report_new_plan(out, b, fmt, NULL, &plan, max_bytes, hll_p, NULL, 0);
}

sl_status sl_report_new(sl_report **out, sl_budget *b, sl_format fmt, size_t max_bytes)
{
	return sl_report_new_p(out, b, fmt, max_bytes, sl_report_hll_precision(max_bytes));
}

sl_status sl_report_new_exact(sl_report **out, sl_budget *b, sl_format fmt, size_t max_bytes,
			      int hll_p, const char *tmpdir, size_t top_n)
{
	sl_plan plan;
	sl_plan_default(&plan, fmt, false);
	plan.exact = true;
	return sl_report_new_plan(out, b, fmt, NULL, &plan, max_bytes, hll_p, tmpdir, top_n);
}

size_t sl_report_min_bytes_exact(size_t top_n)
{
	sl_plan plan;
	sl_plan_default(&plan, SL_FMT_COMBINED, false);
	plan.exact = true;
	return sl_report_plan_min_bytes(&plan, SL_HLL_MIN_P, top_n);
}

void sl_report_set_visitors_4xx(sl_report *r, bool count_4xx)
{
	sl_plan_visitors_4xx(&r->plan, count_4xx);
}

/* ---- exact quantiles (--exact) -------------------------------------------
 *
 * Each quantile sketch keeps its raw values (sl_relq_set_exact); when its
 * array is full they are spilled to one external sort per report (lib/
 * xsort.c, created on the first spill within QUANT_SORT_BYTES, which the
 * exact table's share leaves free) as 9-byte records: the sketch's tag
 * (its quantiles item's number among them) then the value's IEEE bits
 * big-endian,
 * whose byte order is the numeric order of positive doubles. Merging moves
 * src's sorted records and raw values into dst's sort. At the finish, the
 * remaining raw values join the sort and one pass over the sorted records
 * selects, per sketch, the values of rank sl_relq_rank(q, n) for the
 * report's quantiles (zeros are counted apart and never spilled).
 */
#define QUANT_SORT_BYTES SL_XSORT_MIN_BYTES
#define QUANT_TAGS SL_PLAN_MAX
static const double report_quantiles[] = {0.5, 0.9, 0.99, 0.999};
#define NREPORT_Q (sizeof report_quantiles / sizeof *report_quantiles)

static sl_relq *quant_sketch(sl_report *r, int tag)
{
	return (uint32_t)tag < r->nquant ? r->item[r->quants[tag]].q : NULL;
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

static void add_quant(sl_report *r, int tag, sl_relq *q, double v)
{
	if (r->exact && v > 0 && sl_relq_raw_full(q))
		quant_spill(r, tag, q);
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


size_t sl_report_max_rows(const sl_report *r, size_t top_n)
{
	if (r->exact)
		return top_n;
	size_t most = 0;
	for (uint32_t k = 0; k < r->ntop; k++) {
		size_t c = sl_topk_capacity(r->item[r->tops[k]].top);
		if (c > most)
			most = c;
	}
	return top_n < most ? top_n : most;
}

size_t sl_report_bytes(const sl_report *r)
{
	return r->bytes_held;
}

static sl_status new_exact_report(sl_report *r, size_t max_bytes, const char *tmpdir,
				  size_t top_n)
{
	sl_budget *b = r->budget;
	r->exact_top_n = top_n;
	uint32_t ntop;
	r->exact_nlists = exact_layout(&r->plan, r->item, &ntop);
	bool ok = new_fixed_parts(r, max_bytes) && new_quant_exact(r, tmpdir);
	size_t key_bytes = r->exact_nlists > 1 ? EXACT_KEY_BYTES : 0;
	if (ok && key_bytes)
		ok = (r->exact_key = sl_malloc(b, EXACT_KEY_BYTES)) != NULL;
	size_t lists = exact_lists_bytes(&r->plan, top_n);
	if (ok)
		ok = (r->exact_lists = sl_calloc(b, 1, lists)) != NULL;
	if (!ok)
		return SL_ENOMEM;
	size_t table = max_bytes - fixed_bytes(&r->plan, max_bytes) - key_bytes - lists -
		       QUANT_SORT_BYTES;
	sl_status st = sl_exact_new(&r->exact, b, table, tmpdir);
	if (st != SL_OK)
		return st;
	uint32_t n = r->exact_nlists;
	char *keys = (char *)(r->exact_lists + n);
	sl_topk_row *rows = (sl_topk_row *)(void *)(keys + ntop * top_n * SL_TOPK_VALUE_MAX);
	for (uint32_t k = 0; k < r->ntop; k++) {
		struct sl_report_exact_list *l = &r->exact_lists[r->item[r->tops[k]].exact_list];
		l->cap = top_n;
		l->keys = keys + (size_t)k * top_n * SL_TOPK_VALUE_MAX;
		l->rows = rows + (size_t)k * top_n;
	}
	return SL_OK;
}

/* ---- ops ------------------------------------------------------------------
 *
 * The per-record path does not walk the plan: at creation the plan is
 * compiled into two dense arrays of ops (index_ops), the keyed items
 * (distinct, top) and the others (tallies, quantiles, series), each op
 * holding what its item needs per record: the sketch, the fields, and its
 * condition reduced to a code. The conditions the default plans use, a
 * range of status codes, are tested inline on the parsed status; any other
 * goes through meets(). So the default access plan costs a few
 * instructions per item over code written for it by hand.
 */
enum { COND_NONE, COND_STATUS_IN, COND_STATUS_OUT, COND_OTHER };
enum { OP_TOP, OP_DISTINCT, OP_STATUS, OP_TALLY, OP_QUANT, OP_SERIES, OP_GROUPS };

struct sl_report_op {
	uint8_t kind, item, cond, nf;
	uint8_t f[SL_ITEM_FIELDS];
	uint16_t lo, hi;	/* COND_STATUS_*: codes lo .. hi - 1 */
	const sl_where *where;	/* COND_OTHER */
};

/* The hashes of one record's fields, and of each keyed op's key with
 * whether the record meets its condition (bit j of on), between the
 * prefetch stages and record(). */
struct keyed {
	sl_record rec;
	uint64_t on;
	uint64_t fh[SL_F_COUNT];
	uint64_t key[SL_PLAN_MAX];
	bool guessed;		     /* guess[] filled (prefetch_slots) */
	uint32_t guess[SL_PLAN_MAX]; /* a top item's counter for its key (sluice.h) */
};
_Static_assert(SL_PLAN_MAX <= 64, "a keyed record's bit mask holds every op");

/* Does rec meet condition w? */
static bool meets(const sl_where *w, const sl_record *rec)
{
	if (w->op == SL_WHERE_ALL)
		return true;
	if (w->op == SL_WHERE_EQ || w->op == SL_WHERE_NE) {
		const sl_str *s = &rec->field[w->field];
		size_t n = strlen(w->text);
		bool eq = s->len == n && memcmp(s->p, w->text, n) == 0;
		return eq == (w->op == SL_WHERE_EQ);
	}
	double v;
	if (!sl_record_number(rec, w->field, &v))
		return false;
	return (v >= w->lo && v < w->hi) == (w->op == SL_WHERE_IN);
}

static inline bool op_meets(const struct sl_report_op *op, const sl_record *rec)
{
	switch (op->cond) {
	case COND_NONE: return true;
	case COND_STATUS_IN: return rec->status - op->lo < (unsigned)(op->hi - op->lo);
	case COND_STATUS_OUT: return rec->status - op->lo >= (unsigned)(op->hi - op->lo);
	default: return meets(op->where, rec);
	}
}

/* The condition of item `it` as an op's code. */
static void compile_cond(struct sl_report_op *op, const sl_item *it)
{
	const sl_where *w = &it->where;
	op->where = w;
	op->cond = COND_OTHER;
	if (w->op == SL_WHERE_ALL) {
		op->cond = COND_NONE;
	} else if ((w->op == SL_WHERE_IN || w->op == SL_WHERE_NOT_IN) && w->field == SL_F_STATUS &&
		   w->lo >= 0 && w->hi <= 1000 && w->lo < w->hi && w->lo == (int)w->lo &&
		   w->hi == (int)w->hi) {
		/* a status (an integer) in [lo, hi) */
		op->cond = w->op == SL_WHERE_IN ? COND_STATUS_IN : COND_STATUS_OUT;
		op->lo = (uint16_t)w->lo;
		op->hi = (uint16_t)w->hi;
	}
}

static size_t op_bytes(void)
{
	return sizeof(struct sl_report_op);
}

/* Compiles the plan into the ops (from the report's own memory). */
static bool index_ops(sl_report *r)
{
	uint32_t n = r->plan.nitems;
	r->keyops = sl_calloc(r->budget, n ? n : 1, sizeof *r->keyops);
	r->figops = sl_calloc(r->budget, n ? n : 1, sizeof *r->figops);
	if (!r->keyops || !r->figops)
		return false;
	uint32_t nk = 0, nf = 0;
	for (uint32_t i = 0; i < n; i++) {
		const sl_item *it = &r->plan.item[i];
		bool keyed = it->kind == SL_ITEM_DISTINCT || it->kind == SL_ITEM_TOP;
		struct sl_report_op *op = keyed ? &r->keyops[nk++] : &r->figops[nf++];
		op->item = (uint8_t)i;
		op->nf = (uint8_t)it->nfields;
		for (uint32_t k = 0; k < it->nfields; k++)
			op->f[k] = (uint8_t)it->field[k];
		compile_cond(op, it);
		switch (it->kind) {
		case SL_ITEM_DISTINCT: op->kind = OP_DISTINCT; break;
		case SL_ITEM_TOP: op->kind = OP_TOP; break;
		case SL_ITEM_TALLY: op->kind = it->field[0] == SL_F_STATUS ? OP_STATUS : OP_TALLY; break;
		case SL_ITEM_QUANTILES: op->kind = OP_QUANT; break;
		case SL_ITEM_GROUPS: op->kind = OP_GROUPS; break;
		default: op->kind = OP_SERIES; break;
		}
	}
	return true;
}

static void free_ops(sl_report *r)
{
	uint32_t n = r->plan.nitems ? r->plan.nitems : 1;
	if (r->keyops)
		sl_free(r->budget, r->keyops, n * sizeof *r->keyops);
	if (r->figops)
		sl_free(r->budget, r->figops, n * sizeof *r->figops);
}

/* The value of numeric field f of rec (sl_record_number, inline). */
static inline bool number(const sl_record *rec, unsigned f, double *v)
{
	switch (f) {
	case SL_F_BYTES: *v = (double)rec->bytes; return true;
	case SL_F_REQUEST_TIME: *v = rec->request_time; return rec->has_request_time;
	case SL_F_LENGTH: *v = (double)rec->field[SL_F_LINE].len; return true;
	default: return sl_record_number(rec, (sl_field)f, v);
	}
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

/* The key of an op over several fields: their hashes combined (for the
 * visitors, client, date and agent: the combination state files of
 * earlier versions hold). */
static inline uint64_t combine(const uint64_t *fh, const struct sl_report_op *op)
{
	if (op->nf == 1)
		return fh[op->f[0]];
	uint64_t h = fh[op->f[0]] * 0x9e3779b97f4a7c15ULL ^ fh[op->f[1]] * 0xc2b2ae3d27d4eb4fULL;
	if (op->nf == 3)
		h ^= fh[op->f[2]];
	return fmix64(h);
}

/* Hashes the fields the keyed ops use, once each, then each op's key, its
 * condition, and the first line its sketch will read (a prefetch). */
static inline void hash_keys(const sl_report *r, struct keyed *k)
{
	const sl_str *f = k->rec.field;
	for (uint32_t j = 0; j < r->nhashed; j++) {
		unsigned x = r->hashed[j];
		if (x == SL_F_PATH && f[SL_F_PATH].len == f[SL_F_URL].len && j > 0 &&
		    r->hashed[j - 1] == SL_F_URL)
			k->fh[x] = k->fh[SL_F_URL];
		else if (x == SL_F_DATE && f[x].len == 11)
			k->fh[x] = key_hash(f[x].p, 11); /* a constant length: specialised */
		else
			k->fh[x] = key_hash(f[x].p, f[x].len);
	}
	uint64_t on = 0;
	for (uint32_t j = 0; j < r->nkeyed; j++) {
		const struct sl_report_op *op = &r->keyops[j];
		if (!op_meets(op, &k->rec))
			continue;
		on |= (uint64_t)1 << j;
		uint64_t h = k->key[j] = combine(k->fh, op);
		const struct sl_report_item *it = &r->item[op->item];
		if (op->kind == OP_TOP)
			sl_topk_prefetch(it->top, h);
		else
			sl_distinct_prefetch(it->distinct, h);
	}
	k->on = on;
}

/* The top lists' counters (after hash_keys) ... */
static void prefetch_slots(const sl_report *r, struct keyed *k)
{
	for (uint32_t j = 0; j < r->nkeyed; j++)
		if ((k->on >> j & 1) && r->keyops[j].kind == OP_TOP)
			k->guess[j] = sl_topk_prefetch_slot(r->item[r->keyops[j].item].top,
							    k->key[j]);
	k->guessed = true;
}

/* Is s a key whose bytes a top list keeps outside its counter? Shorter
 * ones live in the counter (sluice.h), which prefetch_slots loaded. */
static inline bool long_key(sl_str s)
{
	return s.len > SL_TOPK_PREFIX_MIN;
}

/* ... then their long keys (after prefetch_slots). */
static void prefetch_counts(const sl_report *r, const struct keyed *k)
{
	for (uint32_t j = 0; j < r->nkeyed; j++)
		if ((k->on >> j & 1) && r->keyops[j].kind == OP_TOP &&
		    long_key(k->rec.field[r->keyops[j].f[0]]))
			sl_topk_prefetch_count_at(r->item[r->keyops[j].item].top, k->guess[j]);
}

/* Adds the key of keyed item i to the exact table, prefixed by its list's
 * tag when there are several lists. The first error stops the table (later
 * adds are ignored; finish reports it). */
static void exact_put(sl_report *r, uint32_t i, const sl_record *rec)
{
	if (r->exact_status != SL_OK)
		return;
	const sl_item *it = &r->plan.item[i];
	const struct sl_report_item *ri = &r->item[i];
	if (ri->exact_shared)	/* counted in a top item's list */
		return;
	sl_status st;
	if (!r->exact_key) {	/* a lone list: the field is the key */
		const sl_str *s = &rec->field[it->field[0]];
		st = sl_exact_add(r->exact, s->len ? s->p : "", s->len);
	} else {
		char *k = r->exact_key;
		size_t n = 0;
		k[n++] = (char)ri->exact_list;
		for (uint32_t j = 0; j < it->nfields; j++) {
			const sl_str *s = &rec->field[it->field[j]];
			if (j)
				k[n++] = 0;
			size_t m = s->len < EXACT_KEY_BYTES - n ? s->len : EXACT_KEY_BYTES - n;
			memcpy(k + n, s->p, m);
			n += m;
		}
		if (n > SL_EXACT_KEY_MAX)
			n = SL_EXACT_KEY_MAX; /* only a key past a whole line's length */
		st = sl_exact_add(r->exact, k, n);
	}
	if (st != SL_OK)
		r->exact_status = st;
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


/* Each distinct tagged key (untagged for a lone list) with its count
 * (sl_exact_finish_each). */
static void exact_take(void *ud, const char *key, size_t len, uint64_t count)
{
	sl_report *r = ud;
	struct sl_report_exact_list *l;
	if (!r->exact_key) {
		l = &r->exact_lists[0];
	} else {
		if (len == 0 || (unsigned char)key[0] >= r->exact_nlists)
			return;
		l = &r->exact_lists[(unsigned char)key[0]];
		key++;
		len--;
	}
	l->distinct++;
	l->total += count;
	size_t keep = len < SL_TOPK_VALUE_MAX ? len : SL_TOPK_VALUE_MAX;
	if (l->cap == 0)
		return;
	sl_topk_row *slot;
	if (l->nrows < l->cap) {
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
	if (slot == &l->rows[0] && l->nrows == l->cap)
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
	for (uint32_t i = 0; i < r->exact_nlists; i++) { /* heap -> best first */
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

sl_status sl_report_exact_status(const sl_report *r)
{
	return r->exact_status;
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
 * knows exactly for an item without a condition (one per record): the
 * HLL's estimate and its interval are clamped to it, so that no figure
 * claims more distinct values than values. */
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

static const struct sl_report_item *item_of(const sl_report *r, uint32_t i, sl_item_kind kind)
{
	return i < r->plan.nitems && r->plan.item[i].kind == kind ? &r->item[i] : NULL;
}

sl_estimate sl_report_item_distinct(const sl_report *r, uint32_t i)
{
	const struct sl_report_item *it = item_of(r, i, SL_ITEM_DISTINCT);
	if (!it)
		return exact_estimate(0);
	if (r->exact)
		return exact_estimate(r->exact_done ? r->exact_lists[it->exact_list].distinct : 0);
	return at_most(sl_distinct_estimate(it->distinct), r->requests);
}

size_t sl_report_item_top(const sl_report *r, uint32_t i, sl_topk_row *rows, size_t n)
{
	const struct sl_report_item *it = item_of(r, i, SL_ITEM_TOP);
	if (!it)
		return 0;
	if (!r->exact)
		return sl_topk_list(it->top, rows, n);
	if (!r->exact_done)
		return 0;
	const struct sl_report_exact_list *l = &r->exact_lists[it->exact_list];
	if (n > l->nrows)
		n = l->nrows;
	memcpy(rows, l->rows, n * sizeof *rows);
	return n;
}

void sl_report_item_top_info(const sl_report *r, uint32_t i, bool *exact, size_t *capacity,
			     uint64_t *total)
{
	const struct sl_report_item *it = item_of(r, i, SL_ITEM_TOP);
	if (!it || r->exact) {
		*exact = true;
		*capacity = 0;
		*total = it && r->exact_done ? r->exact_lists[it->exact_list].total : 0;
		return;
	}
	*exact = sl_topk_is_exact(it->top);
	*capacity = sl_topk_capacity(it->top);
	*total = sl_topk_total(it->top);
}

const sl_relq *sl_report_item_quantiles(const sl_report *r, uint32_t i)
{
	const struct sl_report_item *it = item_of(r, i, SL_ITEM_QUANTILES);
	return it ? it->q : NULL;
}

const sl_moments *sl_report_item_moments(const sl_report *r, uint32_t i)
{
	const struct sl_report_item *it = item_of(r, i, SL_ITEM_QUANTILES);
	return it ? &it->m : NULL;
}

const sl_groups *sl_report_item_groups(const sl_report *r, uint32_t i)
{
	const struct sl_report_item *it = item_of(r, i, SL_ITEM_GROUPS);
	return it ? it->groups : NULL;
}

const sl_tally *sl_report_item_tally(const sl_report *r, uint32_t i)
{
	const struct sl_report_item *it = item_of(r, i, SL_ITEM_TALLY);
	return it ? it->tally : NULL;
}

const sl_series *sl_report_item_series(const sl_report *r, uint32_t i, bool per_minute)
{
	if (!item_of(r, i, SL_ITEM_SERIES))
		return NULL;
	return per_minute ? r->per_minute : r->per_hour;
}

void sl_report_get_counts(const sl_report *r, sl_report_counts *c)
{
	c->lines = r->lines;
	c->requests = r->requests;
	c->malformed = r->malformed;
	c->oversized = r->oversized;
	c->filtered = r->filtered;
	c->skipped = r->skipped;
	c->bytes = r->bytes_sent;
	c->bytes_high = r->bytes_sent_high;
	c->first_time = r->first_time;
	c->last_time = r->last_time;
	c->log_offset = r->log_offset;
}

sl_format sl_report_format(const sl_report *r)
{
	return r->format;
}

const char *sl_report_format_spec(const sl_report *r)
{
	return r->format_spec;
}

const sl_plan *sl_report_plan(const sl_report *r)
{
	return &r->plan;
}

bool sl_report_is_exact(const sl_report *r)
{
	return r->exact != NULL;
}

bool sl_report_all_exact(const sl_report *r)
{
	if (r->exact)
		return true;
	for (uint32_t i = 0; i < r->plan.nitems; i++) {
		const struct sl_report_item *it = &r->item[i];
		if ((it->distinct && !sl_distinct_is_exact(it->distinct)) ||
		    (it->top && !sl_topk_is_exact(it->top)) ||
		    (it->groups && !sl_groups_is_exact(it->groups)) ||
		    (it->q && !sl_relq_is_exact(it->q)))
			return false;
	}
	return true;
}

uint64_t sl_report_status(const sl_report *r, unsigned code)
{
	return r->status_item >= 0 && code < 600 ? r->status[code] : 0;
}

const sl_sample *sl_report_samples(const sl_report *r, uint32_t *n)
{
	*n = r->nsamples;
	return r->samples;
}

/* The default plans' items by their names. */
static uint32_t named(const sl_report *r, const char *name)
{
	int i = sl_plan_find(&r->plan, name);
	return i < 0 ? SL_PLAN_MAX : (uint32_t)i;
}

sl_estimate sl_report_unique_ips(const sl_report *r)
{
	return sl_report_item_distinct(r, named(r, "unique_ips"));
}

sl_estimate sl_report_unique_visitors(const sl_report *r)
{
	return sl_report_item_distinct(r, named(r, "unique_visitors"));
}

sl_estimate sl_report_distinct_lines(const sl_report *r)
{
	return sl_report_item_distinct(r, named(r, "distinct_lines"));
}

size_t sl_report_top(const sl_report *r, sl_top_list t, sl_topk_row *rows, size_t n)
{
	const char *name = sl_top_name(t);
	return name ? sl_report_item_top(r, named(r, name), rows, n) : 0;
}

void sl_report_top_info(const sl_report *r, sl_top_list t, bool *exact, size_t *capacity,
			uint64_t *total)
{
	const char *name = sl_top_name(t);
	sl_report_item_top_info(r, name ? named(r, name) : SL_PLAN_MAX, exact, capacity, total);
}

size_t sl_report_top_lines(const sl_report *r, sl_topk_row *rows, size_t n)
{
	return sl_report_item_top(r, named(r, "line"), rows, n);
}

void sl_report_top_lines_info(const sl_report *r, bool *exact, size_t *capacity,
			      uint64_t *total)
{
	sl_report_item_top_info(r, named(r, "line"), exact, capacity, total);
}

sl_status sl_report_read_header(sl_report *r, const char *line, size_t len)
{
	sl_record rec;
	if (!r->parser || len > SL_LINE_MAX)
		return SL_EINVAL;
	return sl_parser_parse(r->parser, line, len, &rec, &r->tc);
}

void sl_report_select_format(sl_report *r, uint32_t unit)
{
	if (r->parser)
		sl_parser_select(r->parser, unit);
}

void sl_report_begin_input(sl_report *r, uint32_t input_id)
{
	sl_report_set_position(r, input_id, 0);
}

void sl_report_set_position(sl_report *r, uint32_t input_id, uint64_t lines_before)
{
	/* another input (or its start): its header lines are to be read */
	if (r->parser && (input_id != r->input || lines_before == 0))
		sl_parser_reset(r->parser);
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
	s->looks_like = sl_format_guess(line, len);
}

/* bytes_sent is a 128-bit sum in two words: the carry goes to the high one. */
static inline void add_bytes(sl_report *r, uint64_t n)
{
	r->bytes_sent += n;
	r->bytes_sent_high += r->bytes_sent < n;
}

/* The offset in seconds east of UTC written in a time field
 * "dd/Mon/yyyy:HH:MM:SS +hhmm" (the parser has checked its shape). */
static int32_t time_offset(sl_str t)
{
	if (t.len != 26 || t.p[2] != '/') { /* another format's time: ISO 8601, epoch */
		int64_t tt;
		int32_t off = 0;
		return sl_time_parse(t.p, t.len, &tt, &off) ? off : 0;
	}
	const char *o = t.p + 21;
	int32_t s = ((o[1] - '0') * 10 + (o[2] - '0')) * 3600 + ((o[3] - '0') * 10 + (o[4] - '0')) * 60;
	return o[0] == '-' ? -s : s;
}


/* ---- the default plan's path -------------------------------------------
 *
 * The default access-log plan is what nearly every run computes, so its
 * per-record work is written out by hand: the same hashes, conditions and
 * adds as the ops above, in the same order, without their loops and
 * dispatch (about a fifth of the per-line instructions). Its items sit at
 * fixed places of sl_plan_default: keyed ops 0 unique_ips, 1
 * unique_visitors (condition: its op's), 2..7 url, path, ip, referrer,
 * user_agent, not_found (status 404); figure ops 0 status, 1 methods, 2
 * protocols, 3 per_hour, 4 request_time, 5 response_bytes.
 * tests/test_report.c feeds the same logs through both paths and requires
 * byte-identical state files.
 */
enum { K_IPS, K_VISITORS, K_URL, K_PATH, K_IP, K_REF, K_UA, K_404 };

/* A record at time t in the series: per hour, and per minute until the
 * span reaches six hours (the minutes are then dropped). */
static inline void add_series(sl_report *r, int64_t t)
{
	sl_series_add(r->per_hour, t, 1);
	if (r->per_minute) {
		if (r->last_time - r->first_time >= SIX_HOURS) {
			sl_series_free(r->per_minute);
			r->per_minute = NULL;
		} else {
			sl_series_add(r->per_minute, t, 1);
		}
	}
}

/* Caches the default plan's sketches (after they are made). */
static void cache_default(sl_report *r)
{
	struct sl_report_fast *x = &r->fx;
	x->ips = r->item[sl_plan_find(&r->plan, "unique_ips")].distinct;
	x->visitors = r->item[sl_plan_find(&r->plan, "unique_visitors")].distinct;
	for (int t = 0; t < SL_TOP_COUNT; t++)
		x->top[t] = r->item[sl_plan_find(&r->plan, sl_top_name((sl_top_list)t))].top;
	x->methods = r->item[sl_plan_find(&r->plan, "methods")].tally;
	x->protocols = r->item[sl_plan_find(&r->plan, "protocols")].tally;
	x->request_time = &r->item[sl_plan_find(&r->plan, "request_time")];
	x->response_bytes = &r->item[sl_plan_find(&r->plan, "response_bytes")];
	x->visitors_4xx =
		r->plan.item[sl_plan_find(&r->plan, "unique_visitors")].where.op == SL_WHERE_ALL;
}

static inline void hash_keys_default(const sl_report *r, struct keyed *k)
{
	const struct sl_report_fast *x = &r->fx;
	const sl_str *f = k->rec.field;
	uint64_t ip = key_hash(f[SL_F_CLIENT].p, f[SL_F_CLIENT].len);
	uint64_t ua = key_hash(f[SL_F_USER_AGENT].p, f[SL_F_USER_AGENT].len);
	/* the date as logged: the parser accepts only dd/Mon/yyyy:..., so 11
	 * bytes, a constant length the hash is specialised for */
	uint64_t date = f[SL_F_DATE].len == 11 ? key_hash(f[SL_F_DATE].p, 11)
					       : key_hash(f[SL_F_DATE].p, f[SL_F_DATE].len);
	uint64_t url = key_hash(f[SL_F_URL].p, f[SL_F_URL].len);
	uint64_t path = f[SL_F_PATH].len == f[SL_F_URL].len ? url
							   : key_hash(f[SL_F_PATH].p, f[SL_F_PATH].len);
	uint64_t ref = key_hash(f[SL_F_REFERRER].p, f[SL_F_REFERRER].len);
	uint32_t st = k->rec.status;
	k->key[K_IPS] = ip;
	k->key[K_VISITORS] = fmix64(ip * 0x9e3779b97f4a7c15ULL ^ date * 0xc2b2ae3d27d4eb4fULL ^ ua);
	k->key[K_URL] = url;
	k->key[K_PATH] = path;
	k->key[K_REF] = ref;
	k->key[K_UA] = ua;
	k->on = (x->visitors_4xx || st < 400 || st >= 500) | (uint64_t)(st == 404) << 1;
	sl_distinct_prefetch(x->ips, ip);
	sl_distinct_prefetch(x->visitors, k->key[K_VISITORS]);
	sl_topk_prefetch(x->top[SL_TOP_URL], url);
	sl_topk_prefetch(x->top[SL_TOP_PATH], path);
	sl_topk_prefetch(x->top[SL_TOP_IP], ip);
	sl_topk_prefetch(x->top[SL_TOP_REFERRER], ref);
	sl_topk_prefetch(x->top[SL_TOP_USER_AGENT], ua);
	if (st == 404)
		sl_topk_prefetch(x->top[SL_TOP_NOT_FOUND], path);
}

/* The keys of the six lists, in sl_top_list order. */
static inline uint64_t top_key(const struct keyed *k, int t)
{
	static const uint8_t key[SL_TOP_COUNT] = {K_URL, K_PATH, K_IPS, K_REF, K_UA, K_PATH};
	return k->key[key[t]];
}

static void prefetch_slots_default(const sl_report *r, struct keyed *k)
{
	for (int t = 0; t < SL_TOP_NOT_FOUND; t++)
		k->guess[t] = sl_topk_prefetch_slot(r->fx.top[t], top_key(k, t));
	if (k->on & 2)
		k->guess[SL_TOP_NOT_FOUND] =
			sl_topk_prefetch_slot(r->fx.top[SL_TOP_NOT_FOUND], k->key[K_PATH]);
	k->guessed = true;
}

static void prefetch_counts_default(const sl_report *r, const struct keyed *k)
{
	static const uint8_t field[SL_TOP_COUNT] = {SL_F_URL,	   SL_F_PATH,	    SL_F_CLIENT,
						    SL_F_REFERRER, SL_F_USER_AGENT, SL_F_PATH};
	for (int t = 0; t < SL_TOP_NOT_FOUND; t++)
		if (long_key(k->rec.field[field[t]]))
			sl_topk_prefetch_count_at(r->fx.top[t], k->guess[t]);
	if ((k->on & 2) && long_key(k->rec.field[SL_F_PATH]))
		sl_topk_prefetch_count_at(r->fx.top[SL_TOP_NOT_FOUND], k->guess[SL_TOP_NOT_FOUND]);
}

/* List t's add of s (hash h): at the counter guess[g] when the line went
 * through the pipeline (feed_deep fills guess), else by lookup. */
static inline void add_str(sl_topk *t, sl_str s, uint64_t h, const uint32_t *guess, int g)
{
	if (guess)
		sl_topk_add_at(t, s.p ? s.p : "", s.len, h, 1, guess[g]);
	else
		sl_topk_add(t, s.p ? s.p : "", s.len, h, 1);
}

/* record() of the default plan; guess: k->guess, or NULL when not filled
 * (inlined twice, so that the path without guesses has no test per add). */
static inline __attribute__((always_inline)) void record_default(sl_report *r, const struct keyed *k,
								   const uint32_t *guess)
{
	const struct sl_report_fast *x = &r->fx;
	const sl_record *rec = &k->rec;
	const sl_str *f = rec->field;
	r->status[rec->status]++;
	sl_tally_add(x->methods, f[SL_F_METHOD].p, f[SL_F_METHOD].len, 1);
	sl_tally_add(x->protocols, f[SL_F_PROTOCOL].p, f[SL_F_PROTOCOL].len, 1);
	if (rec->has_request_time) {
		struct sl_report_item *q = x->request_time;
		add_quant(r, q->quant_tag, q->q, rec->request_time);
		sl_moments_add(&q->m, rec->request_time);
	}
	struct sl_report_item *q = x->response_bytes;
	add_quant(r, q->quant_tag, q->q, (double)rec->bytes);
	sl_moments_add(&q->m, (double)rec->bytes);
	add_series(r, rec->time);
	sl_distinct_add_hash(x->ips, k->key[K_IPS]);
	if (k->on & 1)
		sl_distinct_add_hash(x->visitors, k->key[K_VISITORS]);
	add_str(x->top[SL_TOP_URL], f[SL_F_URL], k->key[K_URL], guess, SL_TOP_URL);
	add_str(x->top[SL_TOP_PATH], f[SL_F_PATH], k->key[K_PATH], guess, SL_TOP_PATH);
	add_str(x->top[SL_TOP_IP], f[SL_F_CLIENT], k->key[K_IPS], guess, SL_TOP_IP);
	add_str(x->top[SL_TOP_REFERRER], f[SL_F_REFERRER], k->key[K_REF], guess, SL_TOP_REFERRER);
	add_str(x->top[SL_TOP_USER_AGENT], f[SL_F_USER_AGENT], k->key[K_UA], guess,
		SL_TOP_USER_AGENT);
	if (k->on & 2)
		add_str(x->top[SL_TOP_NOT_FOUND], f[SL_F_PATH], k->key[K_PATH], guess,
			SL_TOP_NOT_FOUND);
}

/* The text of the derived group keys: the status class ("5xx") and the UTC
 * hour ("2024-05-01T14"), into buf. */
static sl_str derived_key(unsigned f, const sl_record *rec, char *buf, size_t n)
{
	int k;
	if (f == SL_F_STATUS_CLASS) {
		k = rec->status >= 100 && rec->status < 600 ? snprintf(buf, n, "%uxx", rec->status / 100)
							     : snprintf(buf, n, "-");
	} else {
		int64_t days = rec->time >= 0 ? rec->time / 86400 : -((-rec->time + 86399) / 86400);
		int64_t secs = rec->time - days * 86400;
		/* civil from days (the inverse of sl_days_from_civil) */
		int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
		int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
		int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
		int64_t y = yoe + era * 400 + (m <= 2);
		k = snprintf(buf, n, "%04lld-%02d-%02dT%02d", (long long)y, m, d, (int)(secs / 3600));
	}
	return (sl_str){buf, k > 0 && (size_t)k < n ? (size_t)k : 0};
}

/* A record into a groups item over field f: its key, bytes, visitor (the
 * client, date and agent, hashed as the unique visitors are), request time
 * and path. */
static void add_group(sl_report *r, sl_groups *g, unsigned f, const sl_record *rec)
{
	char buf[32];
	sl_str key = f == SL_F_STATUS_CLASS || f == SL_F_HOUR ? derived_key(f, rec, buf, sizeof buf)
							      : rec->field[f];
	if (r->format == SL_FMT_LINES) {
		sl_groups_add(g, key.p, key.len, key_hash(key.p, key.len), key.len, 0, false, 0, NULL,
			      0, 0);
		return;
	}
	const sl_str *fl = rec->field;
	uint64_t ip = key_hash(fl[SL_F_CLIENT].p, fl[SL_F_CLIENT].len);
	uint64_t date = key_hash(fl[SL_F_DATE].p, fl[SL_F_DATE].len);
	uint64_t ua = key_hash(fl[SL_F_USER_AGENT].p, fl[SL_F_USER_AGENT].len);
	uint64_t visitor = fmix64(ip * 0x9e3779b97f4a7c15ULL ^ date * 0xc2b2ae3d27d4eb4fULL ^ ua);
	const sl_str *path = &fl[SL_F_PATH];
	sl_groups_add(g, key.p ? key.p : "", key.len, key_hash(key.p, key.len), rec->bytes, visitor,
		      rec->has_request_time, rec->request_time, path->p ? path->p : "", path->len,
		      key_hash(path->p, path->len));
}

/* The items without keys: tallies, quantiles with their moments, series. */
static void figures(sl_report *r, const sl_record *rec)
{
	for (uint32_t j = 0; j < r->nfig; j++) {
		const struct sl_report_op *op = &r->figops[j];
		if (!op_meets(op, rec))
			continue;
		struct sl_report_item *it = &r->item[op->item];
		double v;
		switch (op->kind) {
		case OP_STATUS:
			r->status[rec->status < 600 ? rec->status : 0]++;
			break;
		case OP_TALLY:
			sl_tally_add(it->tally, rec->field[op->f[0]].p, rec->field[op->f[0]].len, 1);
			break;
		case OP_QUANT:
			if (!number(rec, op->f[0], &v))
				break;
			add_quant(r, it->quant_tag, it->q, v);
			sl_moments_add(&it->m, v);
			break;
		case OP_GROUPS:
			add_group(r, it->groups, op->f[0], rec);
			break;
		default: /* OP_SERIES */
			add_series(r, rec->time);
			break;
		}
	}
}

/* The counters of a valid record; then the keyed items (whose keys k holds
 * hashed, unless r->exact) and figures(). */
static void record(sl_report *r, const struct keyed *k)
{
	const sl_record *rec = &k->rec;
	r->requests++;
	if (r->format == SL_FMT_LINES) {
		add_bytes(r, rec->field[SL_F_LINE].len);
	} else {
		add_bytes(r, rec->bytes);
		if (r->requests == 1 || rec->time <= r->first_time) {
			int32_t off = time_offset(rec->field[SL_F_TIME]);
			if (r->requests == 1 || rec->time < r->first_time || off < r->log_offset)
				r->log_offset = off;
			r->first_time = rec->time;
		}
		if (r->requests == 1 || rec->time > r->last_time)
			r->last_time = rec->time;
	}
	if (r->exact) {
		for (uint32_t j = 0; j < r->nkeyed; j++)
			if (op_meets(&r->keyops[j], rec))
				exact_put(r, r->keyops[j].item, rec);
		figures(r, rec);
		return;
	}
	if (r->fast) {
		if (k->guessed)
			record_default(r, k, k->guess);
		else
			record_default(r, k, NULL);
		return;
	}
	figures(r, rec);
	const uint32_t *guess = k->guessed ? k->guess : NULL;
	for (uint32_t j = 0; j < r->nkeyed; j++) {
		if (!(k->on >> j & 1))
			continue;
		const struct sl_report_op *op = &r->keyops[j];
		struct sl_report_item *it = &r->item[op->item];
		if (op->kind == OP_TOP) {
			add_str(it->top, rec->field[op->f[0]], k->key[j], guess, (int)j);
		} else {
			sl_distinct_add_hash(it->distinct, k->key[j]);
		}
	}
}

/* ---- filters ---------------------------------------------------------------
 *
 * The plan's filters (--where) and time range decide which parsed records
 * the report counts; the others count as `filtered`. A pattern (~) is
 * compiled once per report (lib/report/regex.c: PCRE2, JIT where available,
 * through the report's budget).
 */
static void free_regex(sl_report *r)
{
	for (int i = 0; i < SL_FILTER_MAX; i++) {
		sl_regex_free(r->regex[i]);
		r->regex[i] = NULL;
	}
}

/* Compiles the plan's patterns: SL_EINVAL for one PCRE2 refuses. */
static sl_status compile_regex(sl_report *r)
{
	for (uint32_t i = 0; i < r->plan.nfilters; i++) {
		const sl_filter *f = &r->plan.filter[i];
		if (f->cmp != SL_CMP_REGEX)
			continue;
		sl_status st = sl_regex_new(&r->regex[i], r->budget, f->text, NULL, NULL);
		if (st != SL_OK)
			return st;
	}
	return SL_OK;
}

static bool same_text(const sl_str *s, const char *t, size_t n)
{
	return s->len == n && (n == 0 || memcmp(s->p, t, n) == 0);
}

/* Does rec meet filter i (before its negation)? */
static bool filter_meets(const sl_report *r, uint32_t i, const sl_record *rec)
{
	const sl_filter *f = &r->plan.filter[i];
	const sl_str *s = &rec->field[f->field];
	double v;
	switch (f->cmp) {
	case SL_CMP_EQ:
	case SL_CMP_NE:
		if (sl_field_is_number(f->field)) {
			if (!sl_record_number(rec, f->field, &v))
				return false;
			return (v == f->num) == (f->cmp == SL_CMP_EQ);
		}
		return same_text(s, f->text, strlen(f->text)) == (f->cmp == SL_CMP_EQ);
	case SL_CMP_LT:
	case SL_CMP_LE:
	case SL_CMP_GT:
	case SL_CMP_GE:
		if (!sl_record_number(rec, f->field, &v))
			return false;
		return f->cmp == SL_CMP_LT ? v < f->num
		       : f->cmp == SL_CMP_LE ? v <= f->num
		       : f->cmp == SL_CMP_GT ? v > f->num
					     : v >= f->num;
	case SL_CMP_PREFIX: {
		size_t n = strlen(f->text);
		return s->len >= n && memcmp(s->p, f->text, n) == 0;
	}
	case SL_CMP_REGEX:
		return sl_regex_match(r->regex[i], s->p, s->len);
	default: { /* SL_CMP_IN: one of the comma-separated values */
		const char *t = f->text;
		for (;;) {
			const char *c = strchr(t, ',');
			size_t n = c ? (size_t)(c - t) : strlen(t);
			if (same_text(s, t, n))
				return true;
			if (!c)
				return false;
			t = c + 1;
		}
	}
	}
}

/* Does the plan count record rec (its time range and every filter)? */
static bool kept(const sl_report *r, const sl_record *rec)
{
	const sl_plan *p = &r->plan;
	if ((p->has_since && rec->time < p->since) || (p->has_until && rec->time >= p->until))
		return false;
	for (uint32_t i = 0; i < p->nfilters; i++)
		if (filter_meets(r, i, rec) == p->filter[i].negate)
			return false;
	return true;
}

/* Counts one line and parses it into *rec: true if it is a valid record
 * (record() it), false if it was counted as oversized or malformed.
 * it: the feed's line reader when the line lies in its index, else NULL. */
static inline bool parse_line(sl_report *r, const char *line, size_t len, sl_scan_lines *it,
			      sl_record *rec)
{
	sl_status st;
	r->lines++;
	r->input_line++;
	if (len > SL_LINE_MAX) {
		r->oversized++;
		return false;
	}
	if (r->format == SL_FMT_LINES) {
		rec->field[SL_F_LINE].p = line;
		rec->field[SL_F_LINE].len = len;
		st = SL_OK;
	} else if (r->parser) {
		st = it ? sl_parser_lines_parse(r->parser, it, line, len, rec, &r->tc)
			: sl_parser_parse(r->parser, line, len, rec, &r->tc);
		if (st == SL_OK && rec->field[SL_F_TIME].len == 0) {
			/* the report is over time: a record without one is not
			 * counted (as a classic line without its date) */
			st = SL_EFORMAT;
			rec->why = "no time field";
		}
	} else if (it) {
		st = r->fast ? sl_access_lines_parse_date(r->format, it, line, len, rec, &r->tc)
			     : sl_access_lines_parse(r->format, it, line, len, rec, &r->tc);
	} else {
		st = sl_access_parse(r->format, line, len, rec, &r->tc);
	}
	if (st == SL_ESKIP) {
		r->skipped++;
		return false;
	}
	if (st != SL_OK) {
		r->malformed++;
		keep_sample(r, line, len, rec->why ? rec->why : "malformed");
		return false;
	}
	if (r->filtering && !kept(r, rec)) {
		r->filtered++;
		return false;
	}
	return true;
}

/*
 * Lines come from the line reader (lib/format/scan.h), which indexes the buffer
 * once for both the line ends and the parser's delimiters; the line format
 * needs only the line ends.
 *
 * Prefetching. Each keyed sketch reads a line of memory at a random place
 * per key, and a top list reads up to three in a chain: its index line,
 * the counter that line names, then (keys longer than SL_TOPK_PREFIX_MIN
 * bytes) the key bytes; a Space-Saving hit touches nothing else (lazy
 * hits, lib/sketch/topk.c). For a short key the third stage is skipped:
 * it would only load the counter again, and a load that waits for a miss
 * (a TLB miss blocks even a prefetch) holds the line's other work up.
 * While the report's tables fit the caches (at most DEEP_FROM bytes in the
 * pool: always at the seed's 1 MiB) a line is recorded as soon as it is
 * parsed, after one prefetch of the first lines, which its figures() hide.
 * Once they are larger, every miss would be waited for in turn, so lines
 * go through a pipeline of RING slots: line j's index lines are prefetched
 * when it is parsed, its counters STAGE lines later, their long keys
 * STAGE lines after that, and it is recorded STAGE lines after that, each
 * load having had a few lines' work to arrive. The counter each index line
 * names is kept with the line (keyed.guess), so that the later stages and
 * the add go straight to it: sl_topk_add_at checks that it holds the key
 * and else looks the key up (guesses go stale as the lines between add
 * and evict). Reading each index line once rather than three times took
 * 4.7% of the instructions of a -j1 -m 32M report of 200 MB of the bench
 * log. The sketches see the same adds in the same order either way: only
 * the hints move, so the report is the same (tests/test_report checks both
 * paths against each other).
 * A record's fields point into the buffer fed, except those a parser of
 * the other formats decoded into its scratch (a JSON string with escapes,
 * a quoted CSV field), which the next line's parse overwrites: those are
 * copied into the record's ring slot (PIN bytes); a record whose decoded
 * fields do not fit there is recorded at once, after the lines before it
 * (pin(), drain), so the order never changes.
 */
#define RING 16
#define STAGE 3
#define PIN 512
#define DEEP_FROM ((size_t)2 << 20)
_Static_assert(3 * STAGE < RING, "the pipeline fits the ring");

struct slot_line {
	struct keyed k;
	char pin[PIN];
};

/* Is the field f (not empty) outside buf[0 .. len)? */
static inline bool outside(sl_str f, const char *buf, size_t len)
{
	uintptr_t p = (uintptr_t)f.p, b = (uintptr_t)buf;
	return p < b || p - b > len || f.len > len - (p - b);
}

/* Copies the fields of s->k.rec that lie outside buf[0 .. len) into s->pin
 * and points them there; false (nothing moved) if they do not fit. */
static bool pin(struct slot_line *s, const char *buf, size_t len)
{
	sl_str *f = s->k.rec.field;
	size_t need = 0;
	for (int i = 0; i < SL_F_COUNT; i++)
		if (f[i].len && outside(f[i], buf, len))
			need += f[i].len;
	if (need > PIN)
		return false;
	char *at = s->pin;
	for (int i = 0; i < SL_F_COUNT; i++)
		if (f[i].len && outside(f[i], buf, len)) {
			memcpy(at, f[i].p, f[i].len);
			f[i].p = at;
			at += f[i].len;
		}
	return true;
}

static void feed_deep(sl_report *r, sl_scan_lines *it, const char *buf, size_t len)
{
	struct slot_line ring[RING];
	uint64_t j = 0;	/* lines parsed and hashed since the ring was empty */
	const char *line;
	size_t n;
	bool indexed;
	for (;;) {
		bool more = sl_scan_lines_next(it, &line, &n, &indexed);
		if (more) {
			struct keyed *k = &ring[j % RING].k;
			if (!parse_line(r, line, n, indexed ? it : NULL, &k->rec))
				continue;
			if (r->fast)
				hash_keys_default(r, k);
			else
				hash_keys(r, k);
			k->guessed = false;	/* until prefetch_slots */
			if (r->parser && !pin(&ring[j % RING], buf, len)) {
				/* drain: the lines held, in order, then this one */
				for (uint64_t i = j > 3 * STAGE ? j - 3 * STAGE : 0; i < j; i++)
					record(r, &ring[i % RING].k);
				record(r, k);
				j = 0;
				continue;
			}
		}
		if (!more) {	/* the lines still held, in order */
			for (uint64_t i = j > 3 * STAGE ? j - 3 * STAGE : 0; i < j; i++)
				record(r, &ring[i % RING].k);
			return;
		}
		if (j >= STAGE) {
			if (r->fast)
				prefetch_slots_default(r, &ring[(j - STAGE) % RING].k);
			else
				prefetch_slots(r, &ring[(j - STAGE) % RING].k);
		}
		if (j >= 2 * STAGE) {
			if (r->fast)
				prefetch_counts_default(r, &ring[(j - 2 * STAGE) % RING].k);
			else
				prefetch_counts(r, &ring[(j - 2 * STAGE) % RING].k);
		}
		if (j >= 3 * STAGE)
			record(r, &ring[(j - 3 * STAGE) % RING].k);
		j++;
	}
}

void sl_report_feed(sl_report *r, const char *buf, size_t len)
{
	sl_scan_lines *it = r->scan;
	const char *line;
	size_t n;
	bool indexed;
	char cc[3];
	int nc;
	if (r->format == SL_FMT_LINES)
		sl_scan_lines_init(it, buf, len, "\n", 1);
	else if (r->parser && (nc = sl_parser_index_chars(r->parser, cc)) > 0)
		sl_scan_lines_init(it, buf, len, cc, nc);	/* CSV: its separator and quote */
	else
		sl_access_lines_init(it, buf, len);
	if (!r->exact && r->pool.used > DEEP_FROM) {
		feed_deep(r, it, buf, len);
		return;
	}
	struct keyed k;
	k.guessed = false;	/* no pipeline here: lookups */
	while (sl_scan_lines_next(it, &line, &n, &indexed)) {
		if (!parse_line(r, line, n, indexed ? it : NULL, &k.rec))
			continue;
		if (!r->exact) {
			if (r->fast)
				hash_keys_default(r, &k);
			else
				hash_keys(r, &k);
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
	/* an exact report's tables and sorts can only move */
	if (dst->exact || src->exact)
		return dst->format != src->format || !sl_plan_equal(&dst->plan, &src->plan) ||
				       strcmp(dst->format_spec, src->format_spec) != 0
			       ? SL_EMISMATCH
			       : SL_EINVAL;
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
	if (dst->format != src->format || !sl_plan_equal(&dst->plan, &src->plan) ||
	    strcmp(dst->format_spec, src->format_spec) != 0)
		return SL_EMISMATCH;
	/* the groups first: the one merge that may be refused (the budget),
	 * before anything of dst has changed */
	for (uint32_t i = 0; i < dst->plan.nitems; i++) {
		struct sl_report_item *d = &dst->item[i], *s = &src->item[i];
		if (!d->groups)
			continue;
		sl_status gst = sl_groups_merge(d->groups, s->groups);
		if (gst != SL_OK)
			return gst;
		if (consume) {
			sl_groups_free(s->groups);
			s->groups = NULL;
		}
	}
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
	dst->filtered += src->filtered;
	dst->skipped += src->skipped;
	add_bytes(dst, src->bytes_sent);
	dst->bytes_sent_high += src->bytes_sent_high;
	keep_first_samples(dst, src);
	if (dst->exact) {
		/* src's table moves into dst's (consume only) */
		if (dst->exact_status == SL_OK)
			dst->exact_status = src->exact_status;
		if (dst->exact_status == SL_OK)
			dst->exact_status = sl_exact_merge(dst->exact, src->exact);
		/* src's spilled and raw values move into dst's sort */
		if (dst->exact_status == SL_OK)
			dst->exact_status = merge_quant_exact(dst, src);
	} else {
		for (uint32_t k = 0; k < dst->ntop; k++) {
			struct sl_report_item *d = &dst->item[dst->tops[k]], *s = &src->item[src->tops[k]];
			sl_topk_merge(d->top, s->top);
			if (consume) {
				sl_topk_free(s->top);
				s->top = NULL;
			}
		}
		for (uint32_t k = 0; k < dst->ndistinct; k++) {
			struct sl_report_item *d = &dst->item[dst->distincts[k]],
					      *s = &src->item[src->distincts[k]];
			sl_distinct_merge(d->distinct, s->distinct);
			if (consume) {
				sl_distinct_free(s->distinct);
				s->distinct = NULL;
			}
		}
		for (uint32_t k = 0; k < dst->nquant; k++)
			sl_relq_merge(dst->item[dst->quants[k]].q, src->item[src->quants[k]].q);
	}
	for (uint32_t i = 0; i < dst->plan.nitems; i++) {
		struct sl_report_item *d = &dst->item[i], *s = &src->item[i];
		if (d->kind == SL_ITEM_QUANTILES)
			sl_moments_merge(&d->m, &s->m);
		if (d->tally)
			sl_tally_merge(d->tally, s->tally);
	}
	if (dst->status_item >= 0)
		for (int i = 0; i < 600; i++)
			dst->status[i] += src->status[i];
	if (dst->series_item >= 0) {
		sl_series_merge(dst->per_hour, src->per_hour);
		if (dst->per_minute &&
		    (!src->per_minute ||
		     (dst->requests && dst->last_time - dst->first_time >= SIX_HOURS))) {
			sl_series_free(dst->per_minute);
			dst->per_minute = NULL;
		}
		if (dst->per_minute)
			sl_series_merge(dst->per_minute, src->per_minute);
	}
	return SL_OK;
}
