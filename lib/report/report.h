/*
 * report.h: the report's insides, shared by the library files that build
 * and read whole reports (lib/report/report.c, lib/report/state.c, lib/engine/engine.c). Programs
 * and library users see sl_report as opaque (include/sluice.h) and read it
 * through the accessors.
 */
#ifndef SLUICE_REPORT_H
#define SLUICE_REPORT_H

#include "sluice.h"
#include "format/scan.h"

/* One plan item's sketches: those of its kind, the others NULL. */
struct sl_report_item {
	sl_item_kind kind;
	sl_distinct *distinct;		/* distinct (not exact) */
	sl_topk *top;			/* top (not exact) */
	sl_relq *q;			/* quantiles */
	sl_moments m;			/* quantiles */
	sl_tally *tally;		/* tally of a string field */
	sl_groups *groups;		/* groups (--by) */
	int exact_list;			/* exact: its list in exact_lists, or -1 */
	bool exact_shared;		/* exact: a distinct item counting a top
					 * item's list (adds no keys) */
	int quant_tag;			/* quantiles: its number among them */
	size_t share;			/* bytes it holds once degraded */
};

struct sl_report {
	sl_format format;
	/* the format's spec (sl_parser_new), "" for none, and the parser of
	 * the formats the fast path does not read (NULL for the classic ones
	 * and -f lines) */
	char *format_spec;
	sl_parser *parser;
	sl_plan plan;
	int hll_p;		/* of the distinct items' HLLs */
	uint64_t lines;		/* every line seen, valid or not */
	uint64_t requests;	/* lines that parsed */
	uint64_t malformed;
	uint64_t oversized;	/* lines over SL_LINE_MAX, skipped */
	uint64_t filtered;	/* records the plan's filters left out */
	uint64_t skipped;	/* header and comment lines */
	uint64_t bytes_sent;	/* exact sum of the bytes field: its low 64 bits */
	uint64_t bytes_sent_high; /* and its high 64 bits (the carries) */
	int64_t first_time, last_time; /* valid when requests > 0 */
	int32_t log_offset;	/* see sl_report_counts */
	int status_item;	/* the tally(status) item, or -1 */
	int series_item;	/* the series item, or -1 */
	uint64_t status[600];	/* by code, 100..599 (tally(status)) */
	sl_series *per_hour;
	sl_series *per_minute;	/* NULL once the span reaches 6 hours */
	struct sl_report_item item[SL_PLAN_MAX];
	/* the items by role, in plan order: keyed (distinct and top), the top
	 * lists, the distinct sets, the quantiles by tag; nfig counts the
	 * others (tallies, quantiles, series) */
	uint32_t nkeyed, ntop, ndistinct, nquant, nfig;
	uint8_t keyed[SL_PLAN_MAX], tops[SL_PLAN_MAX], distincts[SL_PLAN_MAX],
		quants[SL_PLAN_MAX];
	/* the fields the keyed items hash, in hashing order (a path after
	 * its URL, whose hash it reuses when they are equal) */
	uint32_t nhashed;
	uint8_t hashed[SL_F_COUNT];
	/* the plan compiled for the per-record path (lib/report/report.c, "ops"):
	 * the keyed items, then the others, each a dense op */
	struct sl_report_op *keyops, *figops;
	/* the plan's filters with a pattern (~), compiled (lib/report/report.c,
	 * "filters"); NULL entries for the others */
	struct sl_regex *regex[SL_FILTER_MAX];
	bool filtering;		/* the plan has filters or a time range */
	/* the default access-log plan, which has a path of its own (lib/
	 * report.c, "the default plan's path") */
	bool fast;
	struct sl_report_fast {	/* its sketches, cached when fast */
		sl_distinct *ips, *visitors;
		sl_topk *top[SL_TOP_COUNT];
		sl_tally *methods, *protocols;
		struct sl_report_item *request_time, *response_bytes;
		bool visitors_4xx;
	} fx;
	uint32_t nsamples;
	sl_sample samples[SL_SAMPLES_MAX];

	/* exact plans: one exact table (lib/sketch/exact.c) holds the keys of every
	 * distinct and top item, each tagged with its list's number */
	struct sl_exact *exact;
	sl_status exact_status;	/* the exact table's first error, or SL_OK */
	bool exact_done;	/* sl_report_finish_exact succeeded */
	uint32_t exact_nlists;
	char *exact_key;	/* scratch: a tagged key */
	size_t exact_top_n;
	struct sl_report_exact_list *exact_lists;
	struct sl_xsort *quant_sort; /* exact: spilled quantile values */
	char *quant_tmpdir;	/* exact: a copy of tmpdir for quant_sort */

	sl_budget *budget;
	sl_time_cache tc;
	struct sl_scan_lines *scan; /* the line reader of sl_report_feed */
	uint32_t input;
	uint64_t input_line;
	size_t bytes_held;
	/* the pool of the exact tables: a child of `budget` holding
	 * max_bytes less the fixed parts */
	sl_budget pool;
};

/* The state decoder's view of a version 1-3 file's visitors rule, which
 * lies in its counters, after the report was made with the default plan:
 * sets the unique_visitors item's condition. */
void sl_report_set_visitors_4xx(sl_report *r, bool count_4xx);

/* The item named name (white-box tests): it must exist. */
static inline struct sl_report_item *sl_report_named(const sl_report *r, const char *name)
{
	return (struct sl_report_item *)(uintptr_t)&r->item[sl_plan_find(&r->plan, name)];
}

#endif
