/*
 * fuzz_filter.c: libFuzzer target for filter expressions (--where:
 * sl_filter_parse, sl_filter_describe, sl_plan_add_filter, lib/report/plan.c)
 * and the times --since and --until take (sl_time_parse, which the
 * program's cli_parse_when falls back on; its relative forms, -30m, today,
 * are the program's, not library API).
 *
 * The input is split at its first newline: the first part is the
 * expression, the second (if any) a time. Invariants checked (abort on a
 * breach):
 *   - a refused expression comes with a reason and an error position
 *     within it;
 *   - an accepted one names a known field and operator, its text is
 *     NUL-terminated within SL_FILTER_TEXT, and a numeric comparison has a
 *     finite number;
 *   - describe -> parse again gives an equal filter (field, operator,
 *     negation, number, text), and describe is then a fixed point;
 *   - sl_plan_add_filter takes it;
 *   - applied to a few fixed vcombined records with request times, in
 *     reports of 256 KiB: the records the filter keeps and the ones its
 *     negation keeps are all of them (a record lacking a number meets no
 *     comparison on it, so its negation), and nothing else is counted as
 *     filtered; with the time of the second part as T, --since T and
 *     --until T split the filter's records in two (the range is half-open).
 *     A report may refuse the plan only for a pattern PCRE2 refuses.
 *   Every budget returns to zero.
 *
 * Build and run: scripts/fuzz.sh fuzz_filter (seeds in
 * fuzz/corpus/fuzz_filter: one expression per operator, negations, quoted
 * values, IN lists, patterns, times in each form).
 */
#include "sluice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_BYTES ((size_t)256 << 10)
#define EXPR_MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Twelve records: every status class, a missing size and request time, an
 * IPv6 client, a query string, a user, and times a second apart. */
static const char records[] =
	"www.example.com:443 192.0.2.1 - - [01/May/2024:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\" 0.010\n"
	"www.example.com:443 192.0.2.2 - alice [01/May/2024:10:00:01 +0000] \"POST /api/x?id=1 HTTP/1.1\" 201 20 \"https://ref.example/\" \"curl/8.0\" 0.250\n"
	"api.example.com:80 2001:db8::1 - - [01/May/2024:10:00:02 +0000] \"GET /api/y HTTP/2.0\" 500 0 \"-\" \"Googlebot/2.1\" 1.5\n"
	"api.example.com:80 192.0.2.3 - - [01/May/2024:10:00:03 +0000] \"HEAD / HTTP/1.0\" 304 - \"-\" \"-\"\n"
	"static.example.com:443 192.0.2.4 - - [01/May/2024:10:00:04 +0000] \"GET /img/1.png HTTP/1.1\" 404 153 \"-\" \"BOT-X/1\" 0.001\n"
	"static.example.com:443 192.0.2.1 - - [01/May/2024:10:00:05 +0000] \"GET /img/2.png HTTP/1.1\" 206 1048576 \"-\" \"Mozilla/5.0\" 0.300\n"
	"www.example.com:443 192.0.2.5 - - [01/May/2024:10:00:06 +0000] \"DELETE /api/x HTTP/1.1\" 403 10 \"-\" \"python-requests/2.31\" 0.002\n"
	"www.example.com:443 192.0.2.6 - - [01/May/2024:10:00:07 +0000] \"GET /search?q=a+b HTTP/1.1\" 302 0 \"https://www.example.com/\" \"Mozilla/5.0 (X11)\" 0.020\n"
	"www.example.com:443 192.0.2.7 - - [01/May/2024:10:00:08 +0000] \"OPTIONS * HTTP/1.1\" 204 - \"-\" \"curl/8.0\" 0\n"
	"api.example.com:80 192.0.2.8 - bob [01/May/2024:10:00:09 +0000] \"PUT /api/z HTTP/1.1\" 503 2048 \"-\" \"Go-http-client/1.1\" 60.001\n"
	"api.example.com:80 192.0.2.9 - - [01/May/2024:10:00:10 +0000] \"GET /api/v1/health HTTP/1.1\" 499 0 \"-\" \"kube-probe/1.29\" 0.000\n"
	"www.example.com:443 192.0.2.1 - - [01/May/2024:10:00:11 +0000] \"GET /a?x=%41 HTTP/1.1\" 100 5 \"-\" \"Mozilla/5.0\" 0.5\n";
#define NRECORDS 12

static bool same_filter(const sl_filter *a, const sl_filter *b)
{
	bool nums = a->num == b->num || (isnan(a->num) && isnan(b->num));
	return a->field == b->field && a->cmp == b->cmp && a->negate == b->negate && nums &&
	       strcmp(a->text, b->text) == 0;
}

/* The counts of a report over the fixed records with plan p; false when the
 * report refuses the plan (allowed for patterns only). */
static bool counts_of(const sl_plan *p, sl_report_counts *c)
{
	sl_budget b;
	sl_budget_init(&b, REPORT_BYTES + ((size_t)64 << 10));
	sl_report *r = NULL;
	sl_status st = sl_report_new_plan(&r, &b, SL_FMT_VCOMBINED, NULL, p, REPORT_BYTES,
					  sl_report_hll_precision(REPORT_BYTES),
					  NULL, 10);
	if (st != SL_OK) {
		bool pattern = false;
		for (uint32_t i = 0; i < p->nfilters; i++)
			pattern |= p->filter[i].cmp == SL_CMP_REGEX;
		if (!pattern || st != SL_EINVAL || r || b.used)
			abort();
		return false;
	}
	sl_report_feed(r, records, sizeof records - 1);
	sl_report_get_counts(r, c);
	sl_report_free(r);
	if (b.used)
		abort();
	if (c->lines != NRECORDS || c->malformed || c->oversized || c->skipped ||
	    c->requests + c->filtered != NRECORDS)
		abort();
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char expr[EXPR_MAX + 1], when[EXPR_MAX + 1];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t elen = nl ? (size_t)(nl - data) : size;
	size_t wlen = nl ? size - elen - 1 : 0;
	if (elen > EXPR_MAX || wlen > EXPR_MAX)
		return 0;
	memcpy(expr, data, elen);
	expr[elen] = 0;
	memcpy(when, nl ? nl + 1 : data, wlen);
	when[wlen] = 0;
	elen = strlen(expr); /* the expression is a C string: up to a NUL */

	/* the time alone */
	int64_t t = 0;
	int32_t offset = 0;
	bool have_time = wlen > 0 && sl_time_parse(when, wlen, &t, &offset);
	if (have_time && (offset < -86400 || offset > 86400))
		abort();

	sl_filter f;
	size_t at = (size_t)-1;
	const char *why = NULL;
	if (sl_filter_parse(expr, &f, &at, &why) != SL_OK) {
		if (!why || at > elen)
			abort();
		return 0;
	}
	if ((unsigned)f.field >= SL_F_COUNT || (unsigned)f.cmp >= SL_CMP_COUNT ||
	    strnlen(f.text, SL_FILTER_TEXT) == SL_FILTER_TEXT)
		abort();
	if (sl_field_is_number(f.field) && f.cmp <= SL_CMP_GE && !isfinite(f.num))
		abort();

	/* describe -> parse gives the same filter, and describe is a fixed point */
	char text[2 * SL_FILTER_TEXT + 64], again[sizeof text];
	sl_filter g;
	sl_filter_describe(&f, text, sizeof text);
	if (sl_filter_parse(text, &g, NULL, NULL) != SL_OK || !same_filter(&f, &g))
		abort();
	sl_filter_describe(&g, again, sizeof again);
	if (strcmp(text, again) != 0)
		abort();

	/* the filter and its negation share the records out */
	sl_plan p, q;
	sl_plan_default(&p, SL_FMT_VCOMBINED, false);
	q = p;
	sl_filter nf = f;
	nf.negate = !f.negate;
	if (sl_plan_add_filter(&p, &f, &why) != SL_OK || sl_plan_add_filter(&q, &nf, &why) != SL_OK)
		abort();
	sl_field missing;
	if (sl_plan_check(&p, SL_FMT_VCOMBINED, &missing) != SL_OK)
		return 0; /* a field vcombined lacks: refused before reading */
	sl_report_counts kept, left;
	bool ok = counts_of(&p, &kept);
	if (ok != counts_of(&q, &left))
		abort();
	if (!ok)
		return 0;
	if (kept.requests + left.requests != NRECORDS)
		abort();
	if (have_time) {
		sl_plan s = p, u = p;
		s.has_since = true;
		s.since = t;
		u.has_until = true;
		u.until = t;
		sl_report_counts cs, cu;
		if (!counts_of(&s, &cs) || !counts_of(&u, &cu))
			abort();
		if (cs.requests + cu.requests != kept.requests)
			abort();
	}
	return 0;
}
