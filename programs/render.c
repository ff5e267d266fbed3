/*
 * render.c: the report's two renderings, text (render_text) and JSON
 * (render_json). The JSON schema is documented in docs/json.md.
 *
 * Conventions: exact figures are printed as integers (bytes_sent, a 128-bit
 * sum, as all its decimal digits, in JSON too); an approximate figure
 * is marked (text: "≈" and its interval written as one, "357–394", never
 * with a "±" since the intervals are not symmetric; JSON: "exact": false
 * with "low" and "high", or "max_error", or "rank_error"). JSON times are
 * ISO 8601 UTC. Text is locale-independent (digits grouped with commas by
 * hand).
 *
 * The text report reads at a glance: the summary first; methods and
 * protocols by count; a list the format does not have (referrers and user
 * agents in common logs) says so; the time series last, in at most about
 * 48 rows of minutes, hours or days (--series), at the log's own UTC offset
 * (that of its earliest line) unless --tz gives another. The series are
 * kept in UTC buckets of whole minutes or hours; a row holds the buckets
 * whose start, shifted to the shown offset, falls in it. With an offset of
 * whole hours (or whole minutes for minute rows) that is exact; with one
 * like +05:30, a day row holds the hours starting in that local day (an
 * hour 23:30-00:30 counts in the day it starts), and hour rows are shown
 * starting at :30.
 *
 * Log data can hold any byte. JSON strings are escaped so the document is
 * always valid UTF-8: control characters become \u00XX and bytes that are
 * not part of a well-formed UTF-8 sequence become \u00XX (their Latin-1
 * reading), so nothing is dropped silently.
 */
#include "cli.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define SIX_HOURS (6 * 3600)

/* ---- shared helpers --------------------------------------------------- */

/* Time t as "YYYY-MM-DDTHH:MM:SSZ" (iso: ISO 8601 in UTC) or "YYYY-MM-DD
 * HH:MM:SS" (t already shifted to the offset shown), with a four-digit year
 * (0000 to 9999, what the parser accepts); a year outside those (only an
 * older state can hold one) in the standard's expanded form, signed: -0001,
 * +10000. (strftime's %Y would print year 0 as "0".) */
static void civil_time(char *out, size_t n, int64_t t, bool iso)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, n, "?");
		return;
	}
	long year = (long)tm.tm_year + 1900;
	bool plain = year >= 0 && year <= 9999;
	snprintf(out, n,
		 plain ? "%04ld-%02d-%02d%c%02d:%02d:%02d%s" : "%+05ld-%02d-%02d%c%02d:%02d:%02d%s",
		 year, tm.tm_mon + 1, tm.tm_mday, iso ? 'T' : ' ', tm.tm_hour, tm.tm_min, tm.tm_sec,
		 iso ? "Z" : "");
}

static void iso_time(char *out, size_t n, int64_t t)
{
	civil_time(out, n, t, true);
}

/* The decimal digits of high * 2^64 + low (at most 39) into out[40]: the
 * number as four 32-bit limbs, divided by 10^9 until nothing is left. */
static const char *u128_digits(char out[40], uint64_t high, uint64_t low)
{
	uint32_t limb[4] = {(uint32_t)(high >> 32), (uint32_t)high, (uint32_t)(low >> 32),
			    (uint32_t)low};
	uint32_t chunk[5]; /* base 10^9, least significant first */
	int nchunks = 0;
	do {
		uint64_t rem = 0;
		for (int i = 0; i < 4; i++) {
			uint64_t cur = rem << 32 | limb[i];
			limb[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		chunk[nchunks++] = (uint32_t)rem;
	} while (limb[0] | limb[1] | limb[2] | limb[3]);
	int o = snprintf(out, 40, "%u", chunk[nchunks - 1]);
	for (int i = nchunks - 2; i >= 0; i--)
		o += snprintf(out + o, (size_t)(40 - o), "%09u", chunk[i]);
	return out;
}

/* "1234567" -> "1,234,567" */
static const char *group_digits(char *out, size_t n, const char *digits)
{
	size_t len = strlen(digits), o = 0;
	for (size_t i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	return out;
}

/* 1234567 -> "1,234,567" */
static const char *grouped(char *out, size_t n, uint64_t v)
{
	char digits[32];
	snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
	return group_digits(out, n, digits);
}

/* The report's exact byte sum (128 bits), grouped: up to 51 characters. */
static const char *grouped_bytes(char *out, size_t n, const sl_report_counts *c)
{
	char digits[40];
	return group_digits(out, n, u128_digits(digits, c->bytes_high, c->bytes));
}

static uint64_t class_count(const sl_report *r, int cls)
{
	uint64_t n = 0;
	for (int s = cls * 100; s < cls * 100 + 100; s++)
		n += sl_report_status(r, (unsigned)s);
	return n;
}

/* ---- plan items ----------------------------------------------------------
 *
 * The report is its plan's items, rendered by kind in plan order: distinct
 * counts, tallies, top lists, the series, quantiles. The default plans'
 * items keep the titles and units the report has always shown; any other
 * item is titled by its description ("top(user_agent) where status in
 * [500, 600)").
 */
typedef struct {
	const char *name, *title, *unit;
	bool whole;	/* a quantity in whole units (bytes), grouped with commas */
} item_look;

static const item_look looks[] = {
	{"url", "Top URLs", NULL, false},
	{"path", "Top paths", NULL, false},
	{"ip", "Top client IPs", NULL, false},
	{"referrer", "Top referrers", NULL, false},
	{"user_agent", "Top user agents", NULL, false},
	{"not_found", "Top 404 paths", NULL, false},
	{"line", "Top lines", NULL, false},
	{"unique_ips", "Unique IPs", NULL, false},
	{"unique_visitors", "Unique visitors", NULL, false},
	{"distinct_lines", "Distinct lines", NULL, false},
	{"methods", "Methods", NULL, false},
	{"protocols", "Protocols", NULL, false},
	{"request_time", "Request time", "seconds", false},
	{"response_bytes", "Response size", "bytes", true},
	{"line_length", "Line length", "bytes", true},
};

/* How item i of r's plan is shown: its title into buf (n bytes) when it has
 * none of its own, and its unit and wholeness for quantiles. */
static item_look look_of(const sl_report *r, uint32_t i, char *buf, size_t n)
{
	const sl_plan *p = sl_report_plan(r);
	const sl_item *it = &p->item[i];
	for (size_t k = 0; k < sizeof looks / sizeof *looks; k++)
		if (strcmp(looks[k].name, it->name) == 0)
			return looks[k];
	item_look l = {it->name, sl_plan_describe(p, i, buf, n), "", false};
	sl_field f = it->field[0];
	if (it->kind == SL_ITEM_QUANTILES) {
		l.unit = f == SL_F_REQUEST_TIME ? "seconds" : f == SL_F_STATUS ? "" : "bytes";
		l.whole = f != SL_F_REQUEST_TIME;
	}
	return l;
}

/* Does the plan leave records out (--where, --since, --until)? */
static bool filtering(const sl_plan *p)
{
	return p->nfilters || p->has_since || p->has_until;
}

static uint32_t nitems(const sl_report *r)
{
	return sl_report_plan(r)->nitems;
}

static sl_item_kind kind_of(const sl_report *r, uint32_t i)
{
	return sl_report_plan(r)->item[i].kind;
}

static const char *name_of(const sl_report *r, uint32_t i)
{
	return sl_report_plan(r)->item[i].name;
}

/* A quantiles item over a field some records lack (the request time), that
 * no record had. */
static bool no_values(const sl_report *r, uint32_t i)
{
	return sl_report_plan(r)->item[i].field[0] == SL_F_REQUEST_TIME &&
	       sl_report_item_moments(r, i)->n == 0;
}

typedef struct {
	uint64_t count;
	double min, max, mean, stddev, sum;
	double q[4]; /* p50 p90 p99 p999 */
	bool bounded[4]; /* false: in the folded lowest buckets, no bound */
	double rel_error;  /* each bounded quantile within this fraction of its value */
	double rank_error; /* rank slack of a converted version-2 state, over n */
} dist_summary;

static const double quantiles[4] = {0.5, 0.9, 0.99, 0.999};
static const char *const quantile_names[4] = {"p50", "p90", "p99", "p999"};

static dist_summary summarize(const sl_relq *q, const sl_moments *m)
{
	dist_summary d;
	memset(&d, 0, sizeof d);
	d.count = m->n;
	if (!m->n)
		return d;
	d.min = m->min;
	d.max = m->max;
	d.mean = sl_moments_mean(m);
	d.stddev = sl_moments_stddev(m);
	d.sum = sl_moments_sum(m);
	for (int i = 0; i < 4; i++) {
		d.q[i] = sl_relq_quantile(q, quantiles[i]);
		d.bounded[i] = sl_relq_bounded(q, quantiles[i]);
	}
	d.rel_error = sl_relq_relative_error(q);
	d.rank_error = sl_relq_rank_slack(q) / (double)sl_relq_count(q);
	return d;
}

/* ---- JSON -------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), or 0. */
size_t cli_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void json_str(FILE *o, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	fputc('"', o);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', o);
			fputc(c, o);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(o, "\\u%04x", c);
			i++;
		} else {
			size_t len = cli_utf8_seq(s + i, n - i);
			if (len == 0) {
				fprintf(o, "\\u%04x", c);
				i++;
			} else {
				fwrite(s + i, 1, len, o);
				i += len;
			}
		}
	}
	fputc('"', o);
}

static void json_cstr(FILE *o, const char *s)
{
	json_str(o, s, strlen(s));
}

static void json_num(FILE *o, double v)
{
	if (isfinite(v))
		fprintf(o, "%.17g", v);
	else
		fputs("null", o);
}

static void json_estimate(FILE *o, const char *key, sl_estimate e)
{
	fprintf(o, "  \"%s\": {\"estimate\": %.0f, \"low\": %.0f, \"high\": %.0f, \"exact\": %s},\n",
		key, e.estimate, floor(e.low), ceil(e.high), e.exact ? "true" : "false");
}

static void json_tally(FILE *o, const char *key, const sl_tally *t)
{
	fprintf(o, "  \"%s\": {", key);
	int first = 1;
	for (uint32_t i = 0; i < t->n; i++) {
		fputs(first ? "" : ", ", o);
		first = 0;
		json_str(o, t->len[i] ? t->key[i] : "-", t->len[i] ? t->len[i] : 1);
		fprintf(o, ": %llu", (unsigned long long)t->count[i]);
	}
	if (t->other)
		fprintf(o, "%s\"(other)\": %llu", first ? "" : ", ", (unsigned long long)t->other);
	fputs("},\n", o);
}

static void json_dist(FILE *o, const char *key, const sl_relq *q, const sl_moments *m)
{
	dist_summary d = summarize(q, m);
	fprintf(o, "  \"%s\": {\"count\": %llu, \"min\": ", key, (unsigned long long)d.count);
	json_num(o, d.min);
	fputs(", \"max\": ", o);
	json_num(o, d.max);
	fputs(", \"mean\": ", o);
	json_num(o, d.mean);
	fputs(", \"stddev\": ", o);
	json_num(o, d.stddev);
	fputs(", \"sum\": ", o);
	json_num(o, d.sum);
	for (int i = 0; i < 4; i++) {
		fprintf(o, ", \"%s\": ", quantile_names[i]);
		json_num(o, d.count ? d.q[i] : 0);
	}
	fprintf(o, ", \"relative_error\": %.15g", d.rel_error); /* 0.005, not 0.0050000000000000001 */
	fputs(", \"rank_error\": ", o);
	json_num(o, d.rank_error);
	fputs(", \"unbounded\": [", o);
	for (int i = 0, first = 1; i < 4; i++) {
		if (d.count && !d.bounded[i]) {
			fprintf(o, "%s\"%s\"", first ? "" : ", ", quantile_names[i]);
			first = 0;
		}
	}
	fprintf(o, "], \"exact\": %s},\n",
		d.rank_error == 0 && d.rel_error == 0 ? "true" : "false");
}

static void json_series(FILE *o, const char *key, const sl_series *s)
{
	fprintf(o, "  \"%s\": [", key);
	size_t n = sl_series_len(s);
	for (size_t i = 0; i < n; i++) {
		int64_t t;
		uint64_t c;
		char iso[32];
		sl_series_get(s, i, &t, &c);
		iso_time(iso, sizeof iso, t);
		fprintf(o, "%s\n    {\"time\": \"%s\", \"requests\": %llu}", i ? "," : "", iso,
			(unsigned long long)c);
	}
	fputs(n ? "\n  ],\n" : "],\n", o);
}

static void json_inputs(FILE *o, const cli_view *v)
{
	fputs("  \"inputs\": [", o);
	for (size_t i = 0; i < v->ninputs; i++) {
		fputs(i ? ", " : "", o);
		fputs("{\"path\": ", o);
		json_cstr(o, v->inputs[i].path);
		fputs(", \"error\": ", o);
		if (v->inputs[i].error)
			json_cstr(o, v->inputs[i].error);
		else
			fputs("null", o);
		fprintf(o, ", \"resumed_at\": %llu, \"bytes_read\": %llu}",
			(unsigned long long)v->inputs[i].resumed_at,
			(unsigned long long)v->inputs[i].bytes_read);
	}
	fputs("],\n", o);
}

static void json_rows(FILE *o, const char *name, const sl_topk_row *rows, size_t n)
{
	fprintf(o, "\n    \"%s\": [", name);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n      {\"value\": " : "\n      {\"value\": ", o);
		json_str(o, rows[i].value, rows[i].len);
		fprintf(o, ", \"count\": %llu, \"max_error\": %llu",
			(unsigned long long)rows[i].count, (unsigned long long)rows[i].max_error);
		if (rows[i].truncated)
			fputs(", \"truncated\": true", o);
		fputs("}", o);
	}
	fputs(n ? "\n    ]" : "]", o);
}

static void json_top_info(FILE *o, const char *name, bool exact, size_t capacity, uint64_t total)
{
	fprintf(o, "\n    \"%s\": {\"exact\": %s, \"capacity\": ", name, exact ? "true" : "false");
	if (capacity)
		fprintf(o, "%zu", capacity);
	else
		fputs("null", o);
	fprintf(o, ", \"total\": %llu}", (unsigned long long)total);
}

/* The plan's filters and what they left out, when it has any; the header
 * lines skipped, when there were. */
static void json_filter(FILE *o, const sl_report *r, const sl_report_counts *rc)
{
	const sl_plan *p = sl_report_plan(r);
	if (rc->skipped)
		fprintf(o, "  \"skipped\": %llu,\n", (unsigned long long)rc->skipped);
	if (!filtering(p))
		return;
	fprintf(o, "  \"filtered\": %llu,\n  \"filter\": [", (unsigned long long)rc->filtered);
	for (uint32_t i = 0; i < p->nfilters; i++) {
		char text[SL_FILTER_TEXT + 64];
		fputs(i ? ", " : "", o);
		json_cstr(o, sl_filter_describe(&p->filter[i], text, sizeof text));
	}
	char t[32];
	fputs("],\n  \"since\": ", o);
	if (p->has_since) {
		iso_time(t, sizeof t, p->since);
		fprintf(o, "\"%s\"", t);
	} else {
		fputs("null", o);
	}
	fputs(",\n  \"until\": ", o);
	if (p->has_until) {
		iso_time(t, sizeof t, p->until);
		fprintf(o, "\"%s\"", t);
	} else {
		fputs("null", o);
	}
	fputs(",\n", o);
}

/* A groups item (--by): the largest groups with their small sketches. */
static void json_groups(FILE *o, const sl_report *r, uint32_t i, size_t top_n)
{
	const sl_groups *g = sl_report_item_groups(r, i);
	const sl_item *it = &sl_report_plan(r)->item[i];
	fprintf(o, "  \"%s\": {\"field\": \"%s\", \"exact\": %s, \"capacity\": %zu, "
		"\"total\": %llu, \"groups\": [",
		it->name, sl_field_name(it->field[0]), sl_groups_is_exact(g) ? "true" : "false",
		sl_groups_capacity(g), (unsigned long long)sl_groups_total(g));
	sl_group_row rows[64];
	size_t n = sl_groups_list(g, rows, top_n < 64 ? top_n : 64);
	for (size_t k = 0; k < n; k++) {
		const sl_group_row *row = &rows[k];
		fputs(k ? ",\n    {\"value\": " : "\n    {\"value\": ", o);
		json_str(o, row->key, row->len);
		fprintf(o, ", \"count\": %llu, \"max_error\": %llu, \"partial\": %s, \"bytes\": %llu",
			(unsigned long long)row->count, (unsigned long long)row->max_error,
			row->partial ? "true" : "false", (unsigned long long)row->bytes);
		fprintf(o, ", \"visitors\": {\"estimate\": %.0f, \"exact\": %s}",
			row->visitors.estimate, row->visitors.exact ? "true" : "false");
		fputs(", \"request_time\": ", o);
		if (row->request_time && sl_relq_count(row->request_time)) {
			fputs("{", o);
			for (int q = 0; q < 4; q++) {
				fprintf(o, "%s\"%s\": ", q ? ", " : "", quantile_names[q]);
				json_num(o, sl_relq_quantile(row->request_time, quantiles[q]));
			}
			fputs("}", o);
		} else {
			fputs("null", o);
		}
		fputs(", \"paths\": [", o);
		sl_topk_row paths[3];
		size_t np = row->paths ? sl_topk_list(row->paths, paths, 3) : 0;
		for (size_t p = 0; p < np; p++) {
			fputs(p ? ", {\"value\": " : "{\"value\": ", o);
			json_str(o, paths[p].value, paths[p].len);
			fprintf(o, ", \"count\": %llu, \"max_error\": %llu}",
				(unsigned long long)paths[p].count,
				(unsigned long long)paths[p].max_error);
		}
		fputs("]}", o);
	}
	fputs(n ? "\n  ]},\n" : "]},\n", o);
}

/* The name of the report's format ("combined", "syslog:json"); of a mix's
 * first format (its list is apart: format_list). */
static const char *format_label(const sl_report *r, char *buf, size_t cap)
{
	const char *spec = sl_report_format_spec(r);
	sl_format f = sl_report_format(r);
	char unit[4097];
	if (sl_format_spec_is_mix(spec) &&
	    sl_format_mix_unit(spec, 0, &f, unit, sizeof unit) == SL_OK)
		return sl_format_describe(f, unit, buf, cap);
	return sl_format_describe(f, spec, buf, cap);
}

/* "formats": [...] of a report read in several formats (none otherwise). */
static void json_format_list(FILE *o, const sl_report *r)
{
	const char *spec = sl_report_format_spec(r);
	if (!sl_format_spec_is_mix(spec))
		return;
	fputs("  \"formats\": [", o);
	char unit[4097], name[128];
	for (uint32_t i = 0, n = sl_format_mix_count(spec); i < n; i++) {
		sl_format f;
		if (sl_format_mix_unit(spec, i, &f, unit, sizeof unit) == SL_OK)
			fprintf(o, "%s\"%s\"", i ? ", " : "", sl_format_describe(f, unit, name, sizeof name));
	}
	fputs("],\n", o);
}

int render_json(FILE *o, const cli_view *v)
{
	const sl_report *r = v->report;
	sl_report_counts rc;
	sl_report_get_counts(r, &rc);
	sl_format format = sl_report_format(r);
	bool lines = format == SL_FMT_LINES;
	char a[32], b[32], label[128];
	fprintf(o, "{\n  \"sluice_version\": \"%s\",\n  \"format\": \"%s\",\n", SLUICE_VERSION,
		format_label(r, label, sizeof label));
	json_format_list(o, r);
	json_inputs(o, v);
	if (lines) {
		fprintf(o, "  \"lines\": %llu,\n  \"oversized\": %llu,\n  \"bytes\": %s,\n",
			(unsigned long long)rc.lines, (unsigned long long)rc.oversized,
			u128_digits((char[40]){0}, rc.bytes_high, rc.bytes));
		json_filter(o, r, &rc);
	} else {
		fprintf(o,
			"  \"lines\": %llu,\n  \"requests\": %llu,\n  \"malformed\": %llu,\n"
			"  \"oversized\": %llu,\n  \"bytes_sent\": %s,\n",
			(unsigned long long)rc.lines, (unsigned long long)rc.requests,
			(unsigned long long)rc.malformed, (unsigned long long)rc.oversized,
			u128_digits((char[40]){0}, rc.bytes_high, rc.bytes));
		json_filter(o, r, &rc);
		if (rc.requests) {
			iso_time(a, sizeof a, rc.first_time);
			iso_time(b, sizeof b, rc.last_time);
			fprintf(o, "  \"first_time\": \"%s\",\n  \"last_time\": \"%s\",\n", a, b);
			int32_t off = rc.log_offset, mag = off < 0 ? -off : off;
			fprintf(o, "  \"log_offset\": \"%c%02d:%02d\",\n", off < 0 ? '-' : '+',
				mag / 3600, mag / 60 % 60);
		} else {
			fputs("  \"first_time\": null,\n  \"last_time\": null,\n", o);
			fputs("  \"log_offset\": null,\n", o);
		}
	}
	uint32_t n = nitems(r);
	for (uint32_t i = 0; i < n; i++)
		if (kind_of(r, i) == SL_ITEM_DISTINCT)
			json_estimate(o, name_of(r, i), sl_report_item_distinct(r, i));

	for (uint32_t i = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_TALLY)
			continue;
		const sl_tally *t = sl_report_item_tally(r, i);
		if (t) {
			json_tally(o, name_of(r, i), t);
			continue;
		}
		fprintf(o, "  \"%s\": {", name_of(r, i));
		int first = 1;
		for (unsigned s = 100; s < 600; s++) {
			uint64_t k = sl_report_status(r, s);
			if (!k)
				continue;
			fprintf(o, "%s\"%u\": %llu", first ? "" : ", ", s, (unsigned long long)k);
			first = 0;
		}
		fputs("},\n  \"status_class\": {", o);
		first = 1;
		for (int c = 1; c <= 5; c++) {
			uint64_t k = class_count(r, c);
			if (!k)
				continue;
			fprintf(o, "%s\"%dxx\": %llu", first ? "" : ", ", c, (unsigned long long)k);
			first = 0;
		}
		fputs("},\n", o);
	}

	fputs("  \"top\": {", o);
	for (uint32_t i = 0, t = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_TOP)
			continue;
		fputs(t++ ? "," : "", o);
		json_rows(o, name_of(r, i), v->rows,
			  v->rows ? sl_report_item_top(r, i, v->rows, v->top_n) : 0);
	}
	fputs("\n  },\n  \"top_info\": {", o);
	for (uint32_t i = 0, t = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_TOP)
			continue;
		bool exact;
		size_t cap;
		uint64_t total;
		sl_report_item_top_info(r, i, &exact, &cap, &total);
		fputs(t++ ? "," : "", o);
		json_top_info(o, name_of(r, i), exact, cap, total);
	}
	fputs("\n  },\n", o);

	for (uint32_t i = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_SERIES)
			continue;
		const sl_series *h = sl_report_item_series(r, i, false);
		const sl_series *m = sl_report_item_series(r, i, true);
		fprintf(o, "  \"%s_bucket_seconds\": %u,\n", name_of(r, i), sl_series_width(h));
		json_series(o, name_of(r, i), h);
		if (m && rc.last_time - rc.first_time < SIX_HOURS)
			json_series(o, "per_minute", m);
	}
	for (uint32_t i = 0; i < n; i++)
		if (kind_of(r, i) == SL_ITEM_GROUPS)
			json_groups(o, r, i, v->top_n ? v->top_n : 10);
	for (uint32_t i = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_QUANTILES)
			continue;
		if (no_values(r, i))
			fprintf(o, "  \"%s\": null,\n", name_of(r, i));
		else
			json_dist(o, name_of(r, i), sl_report_item_quantiles(r, i),
				  sl_report_item_moments(r, i));
	}

	if (!lines) {
		uint32_t ns;
		const sl_sample *samples = sl_report_samples(r, &ns);
		fputs("  \"malformed_samples\": [", o);
		for (uint32_t i = 0; i < ns; i++) {
			const sl_sample *s = &samples[i];
			fputs(i ? ",\n    {\"input\": " : "\n    {\"input\": ", o);
			json_cstr(o, v->inputs[s->input].path);
			fprintf(o, ", \"line\": %llu, \"reason\": ", (unsigned long long)s->line);
			json_cstr(o, s->why);
			fputs(", \"text\": ", o);
			json_str(o, s->text, s->len);
			fprintf(o, ", \"truncated\": %s}", s->truncated ? "true" : "false");
		}
		fputs(ns ? "\n  ],\n" : "],\n", o);
		if (sl_report_is_exact(r)) {
			uint64_t peak, written;
			sl_report_exact_disk(r, &peak, &written);
			fprintf(o, "  \"temp_disk\": {\"peak\": %llu, \"written\": %llu},\n",
				(unsigned long long)peak, (unsigned long long)written);
		}
	}
	fprintf(o, "  \"memory\": {\"budget\": %zu, \"peak\": %zu}\n}\n", v->budget, v->peak);
	return ferror(o) ? -1 : 0;
}

/* ---- text -------------------------------------------------------------- */

static void text_estimate(FILE *o, const char *label, sl_estimate e)
{
	char a[32], b[32], c[32];
	if (e.exact) {
		fprintf(o, "  %-18s %s\n", label, grouped(a, sizeof a, (uint64_t)e.estimate));
		return;
	}
	fprintf(o, "  %-18s ≈%s  (95%%: %s–%s)\n", label,
		grouped(a, sizeof a, (uint64_t)llround(e.estimate)),
		grouped(b, sizeof b, (uint64_t)floor(e.low)),
		grouped(c, sizeof c, (uint64_t)ceil(e.high)));
}

/* A value for a table cell: cut to width columns; see cli_print_safe. */
/* A value cut for display ends in "..."; one whose stored key was cut (a
 * Space-Saving table keeps the first bytes of long keys: other values that
 * share them count under it) ends in " [key cut]" as well, so the two are
 * never confused. */
static void text_value(FILE *o, const char *p, size_t n, size_t width, int truncated)
{
	if (cli_print_safe(o, p, n, width) < n || truncated)
		fputs("...", o);
	if (truncated)
		fputs(" [key cut]", o);
	fputc('\n', o);
}

size_t cli_print_safe(FILE *o, const char *p, size_t n, size_t width)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, shown = 0;
	while (i < n && shown < width) {
		size_t len = s[i] < 0x20 || s[i] == 0x7f ? 0 : cli_utf8_seq(s + i, n - i);
		if (len == 0) {
			fprintf(o, "\\x%02x", s[i]);
			i++;
			shown += 4;
		} else {
			fwrite(s + i, 1, len, o);
			i += len;
			shown++;
		}
	}
	return i;
}

/* Tally entry i before j: more count, then the smaller name ("-" for an
 * empty one). */
static bool tally_before(const sl_tally *t, uint32_t i, uint32_t j)
{
	if (t->count[i] != t->count[j])
		return t->count[i] > t->count[j];
	return strcmp(t->len[i] ? t->key[i] : "-", t->len[j] ? t->key[j] : "-") < 0;
}

static void text_tally(FILE *o, const char *title, const sl_tally *t, uint64_t total)
{
	char a[32];
	uint32_t order[SL_TALLY_MAX];
	uint32_t n = t->n < SL_TALLY_MAX ? t->n : SL_TALLY_MAX;
	for (uint32_t i = 0; i < n; i++) { /* insertion sort: at most 32 */
		uint32_t k = i;
		for (; k > 0 && tally_before(t, i, order[k - 1]); k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	fprintf(o, "\n%s\n", title);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = order[k];
		fprintf(o, "  %-10s %14s  %5.1f%%\n", t->len[i] ? t->key[i] : "-",
			grouped(a, sizeof a, t->count[i]),
			total ? 100.0 * (double)t->count[i] / (double)total : 0.0);
	}
	if (t->other)
		fprintf(o, "  %-10s %14s\n", "(other)", grouped(a, sizeof a, t->other));
}

/* A figure of a distribution: in whole units grouped with commas (byte
 * counts: "1,138,760", not "1.13876e+06"; a mean is rounded), else six
 * significant digits. */
static const char *dist_value(char *out, size_t n, double v, bool whole)
{
	if (whole && v >= 0 && v < 1e18)
		return grouped(out, n, (uint64_t)(v + 0.5));
	snprintf(out, n, "%.6g", v);
	return out;
}

static void text_dist(FILE *o, const char *title, const char *unit, bool whole,
		      const sl_relq *q, const sl_moments *m)
{
	dist_summary d = summarize(q, m);
	char a[32], v[8][48];
	fprintf(o, "\n%s (%s)  n=%s", title, unit, grouped(a, sizeof a, d.count));
	if (d.count && d.rel_error > 0)
		fprintf(o, ", quantiles within ±%.2g%% of the value", 100 * d.rel_error);
	if (d.count && d.rank_error > 0)
		fprintf(o, " and ±%.2f%% of rank (95%%, from a version-2 state)",
			100 * d.rank_error);
	for (int i = 0, first = 1; d.count && i < 4; i++) {
		if (!d.bounded[i]) {
			fprintf(o, "%s%s", first ? "; no bound for " : ", ", quantile_names[i]);
			first = 0;
		}
	}
	fputs("\n", o);
	if (!d.count)
		return;
	const double x[8] = {d.min, d.q[0], d.q[1], d.q[2], d.q[3], d.max, d.mean, d.stddev};
	for (int i = 0; i < 8; i++)
		dist_value(v[i], sizeof v[i], x[i], whole);
	/* each approximate quantile to 4 digits, with its bound in the value's
	 * unit to 2 (whole numbers stay whole) */
	for (int i = 0; i < 4 && d.rel_error > 0; i++) {
		double qv = d.q[i], err = d.rel_error * qv;
		if (!d.bounded[i] || qv == 0 || !isfinite(qv))
			continue;
		char e[32];
		if (whole) {
			if (err < 0.5)
				continue; /* shown exactly */
			dist_value(e, sizeof e, err, true);
		} else {
			snprintf(v[i + 1], sizeof v[i + 1], "%.4g", qv);
			int dec = 1 - (int)floor(log10(err));
			snprintf(e, sizeof e, "%.*f", dec < 0 ? 0 : dec > 20 ? 20 : dec, err);
		}
		size_t at = strlen(v[i + 1]);
		snprintf(v[i + 1] + at, sizeof v[i + 1] - at, " ±%s", e);
	}
	fprintf(o, "  min %-12s p50 %-12s p90 %-12s p99 %-12s\n", v[0], v[1], v[2], v[3]);
	fprintf(o, "  p999 %-11s max %-12s mean %-11s stddev %s\n", v[4], v[5], v[6], v[7]);
}

/* The time series: rows of minutes, hours or days (see the top comment).
 * Rows are built from the buckets in order; a row is a run of buckets with
 * the same key floor((start + offset) / unit), keys grouped by `group`. */
#define TEXT_SERIES_ROWS 48

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

typedef struct {
	const sl_series *s;
	size_t n, i;	   /* buckets, next bucket */
	int64_t unit;	   /* row unit in seconds (a multiple of the bucket width) */
	int64_t group;	   /* units per row */
	int64_t off;	   /* shown offset, seconds east of UTC */
	int64_t first_key; /* key of bucket 0 */
} series_rows;

/* The next row: its first bucket's local start and its count; false at the
 * end. */
static bool next_row(series_rows *it, int64_t *start, uint64_t *sum)
{
	if (it->i >= it->n)
		return false;
	int64_t row = -1;
	*sum = 0;
	for (; it->i < it->n; it->i++) {
		int64_t t;
		uint64_t c;
		sl_series_get(it->s, it->i, &t, &c);
		int64_t r = (floor_div(t + it->off, it->unit) - it->first_key) / it->group;
		if (row >= 0 && r != row)
			break;
		if (row < 0) {
			row = r;
			*start = t + it->off;
		}
		*sum += c;
	}
	return true;
}

static void offset_text(char *out, size_t n, int32_t off)
{
	int32_t a = off < 0 ? -off : off;
	if (off == 0)
		snprintf(out, n, "UTC");
	else
		snprintf(out, n, "UTC%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* "2023-10-10 13:55:36" of the shifted time t (seconds). */
static void local_time(char *out, size_t n, int64_t t)
{
	civil_time(out, n, t, false);
}

static void text_series(FILE *o, const cli_view *v, uint32_t item)
{
	const sl_report *r = v->report;
	static const char *const units[] = {"", "minute", "hour", "day"};
	int mode = v->series;
	sl_report_counts rc;
	sl_report_get_counts(r, &rc);
	const sl_series *per_minute = sl_report_item_series(r, item, true);
	const sl_series *per_hour = sl_report_item_series(r, item, false);
	int64_t span = rc.last_time - rc.first_time;
	if (mode == CLI_SERIES_AUTO)
		mode = per_minute && span < TEXT_SERIES_ROWS * 60	? CLI_SERIES_MINUTE
		       : span < (int64_t)TEXT_SERIES_ROWS * 3600 ? CLI_SERIES_HOUR
								   : CLI_SERIES_DAY;
	bool no_minutes = mode == CLI_SERIES_MINUTE && !per_minute;
	if (no_minutes)
		mode = CLI_SERIES_HOUR;
	const sl_series *s = mode == CLI_SERIES_MINUTE ? per_minute : per_hour;
	int64_t w = sl_series_width(s);
	int64_t unit = mode == CLI_SERIES_MINUTE ? 60 : mode == CLI_SERIES_HOUR ? 3600 : 86400;
	if (unit < w || unit % w != 0)
		unit = w; /* buckets coarser than the unit (a long span) */
	series_rows it = {s, sl_series_len(s), 0, unit, 1,
			  v->tz_given ? v->tz_offset : rc.log_offset, 0};
	if (!it.n)
		return;
	int64_t t0, t1;
	uint64_t c;
	sl_series_get(s, 0, &t0, &c);
	sl_series_get(s, it.n - 1, &t1, &c);
	it.first_key = floor_div(t0 + it.off, unit);
	int64_t keys = floor_div(t1 + it.off, unit) - it.first_key + 1;
	if (v->series == CLI_SERIES_AUTO && keys > TEXT_SERIES_ROWS)
		it.group = (keys + TEXT_SERIES_ROWS - 1) / TEXT_SERIES_ROWS;

	uint64_t max = 0, sum;
	int64_t start;
	while (next_row(&it, &start, &sum))
		if (sum > max)
			max = sum;
	it.i = 0;

	char tz[32];
	offset_text(tz, sizeof tz, (int32_t)it.off);
	int64_t row = unit * it.group;
	fprintf(o, "\nRequests per %s", units[mode]);
	if (row != (mode == CLI_SERIES_MINUTE ? 60 : mode == CLI_SERIES_HOUR ? 3600 : 86400)) {
		if (row % 86400 == 0)
			fprintf(o, " (rows of %lld days)", (long long)(row / 86400));
		else if (row % 3600 == 0)
			fprintf(o, " (rows of %lld hours)", (long long)(row / 3600));
		else
			fprintf(o, " (rows of %lld minutes)", (long long)(row / 60));
	}
	fprintf(o, "  times at %s%s%s\n", tz,
		v->tz_given ? " (--tz)" : it.off ? ", as in the log" : "",
		no_minutes ? "; minutes are kept for spans under 6 hours" : "");
	while (next_row(&it, &start, &sum)) {
		char when[32], a[32];
		local_time(when, sizeof when, start);
		/* "YYYY-MM-DD HH:MM" (no seconds), or the date alone for days */
		size_t len = strlen(when);
		if (len >= 16) {
			when[len - 3] = '\0';
			if (mode == CLI_SERIES_DAY && unit % 86400 == 0)
				memset(when + len - 9, ' ', 6);
		}
		int bar = max ? (int)((40 * sum + max - 1) / max) : 0;
		fprintf(o, "  %s %12s  ", when, grouped(a, sizeof a, sum));
		for (int k = 0; k < bar; k++)
			fputc('#', o);
		fputc('\n', o);
	}
}

#define COUNT_COLUMNS 14 /* at least, as the status and tally counts */

/* A row's count as text: exact, or its interval "low–high" (the dash is 3
 * bytes and one column); returns the columns. */
static int row_count(char *cell, size_t n, const sl_topk_row *row)
{
	char a[32], b[32];
	if (!row->max_error) {
		snprintf(cell, n, "%s", grouped(a, sizeof a, row->count));
		return (int)strlen(cell);
	}
	uint64_t low = row->count > row->max_error ? row->count - row->max_error : 0;
	grouped(a, sizeof a, low);
	grouped(b, sizeof b, row->count);
	snprintf(cell, n, "%s–%s", a, b);
	return (int)(strlen(a) + 1 + strlen(b));
}

static void text_rows(FILE *o, const char *title, const sl_topk_row *rows, size_t n, bool exact)
{
	char cell[80];
	fprintf(o, "\n%s%s\n", title,
		exact ? "" : "  (≈: where a count is a range low–high, the true count is in it)");
	if (!n)
		fputs("  (none)\n", o);
	int width = COUNT_COLUMNS;
	for (size_t i = 0; i < n; i++) {
		int cols = row_count(cell, sizeof cell, &rows[i]);
		width = cols > width ? cols : width;
	}
	for (size_t i = 0; i < n; i++) {
		int cols = row_count(cell, sizeof cell, &rows[i]);
		fprintf(o, "  %*s%s  ", width - cols, "", cell);
		text_value(o, rows[i].value, rows[i].len, 100, rows[i].truncated);
	}
}

/* One line per input that could not be read to its end: the figures above
 * and below cover only what was read of it. */
static void text_incomplete(FILE *o, const cli_view *v)
{
	for (size_t i = 0; i < v->ninputs; i++)
		if (v->inputs[i].error) {
			fprintf(o, "  %-18s ", "Incomplete");
			cli_print_safe(o, v->inputs[i].path, strlen(v->inputs[i].path), 200);
			fprintf(o, ": %s (counted up to there)\n", v->inputs[i].error);
		}
}

/* A groups item (--by) as a table: one row per group, largest first. */
static void text_groups(FILE *o, const sl_report *r, uint32_t i, size_t top_n)
{
	const sl_groups *g = sl_report_item_groups(r, i);
	const sl_item *it = &sl_report_plan(r)->item[i];
	bool exact = sl_groups_is_exact(g);
	fprintf(o, "\nBy %s%s\n", sl_field_name(it->field[0]),
		exact ? ""
		      : "  (≈: a range low–high holds the true count; * marks a group whose other "
			"figures saw only part of it)");
	fprintf(o, "  %14s %15s %9s %9s %9s  %s\n", "requests", "bytes", "visitors", "rt p50",
		"rt p99", "value, top paths");
	sl_group_row rows[64];
	size_t n = sl_groups_list(g, rows, top_n < 64 ? top_n : 64);
	if (!n)
		fputs("  (none)\n", o);
	for (size_t k = 0; k < n; k++) {
		const sl_group_row *row = &rows[k];
		char cell[80], b[32], vis[32], p50[32] = "-", p99[32] = "-";
		sl_topk_row as_row = {.count = row->count, .max_error = row->max_error};
		row_count(cell, sizeof cell, &as_row);
		grouped(b, sizeof b, row->bytes);
		grouped(vis, sizeof vis, (uint64_t)(row->visitors.estimate + 0.5));
		if (row->request_time && sl_relq_count(row->request_time)) {
			snprintf(p50, sizeof p50, "%.3g", sl_relq_quantile(row->request_time, 0.5));
			snprintf(p99, sizeof p99, "%.3g", sl_relq_quantile(row->request_time, 0.99));
		}
		fprintf(o, "  %14s %15s %9s%s %9s %9s  ", cell, b, vis,
			row->visitors.exact ? "" : "≈", p50, p99);
		if (row->partial)
			fputs("*", o);
		cli_print_safe(o, row->key, row->len, 60);
		sl_topk_row paths[3];
		size_t np = row->paths ? sl_topk_list(row->paths, paths, 3) : 0;
		for (size_t p = 0; p < np; p++) {
			fputs(p ? ", " : "   ", o);
			cli_print_safe(o, paths[p].value, paths[p].len, 40);
			fprintf(o, " (%llu)", (unsigned long long)paths[p].count);
		}
		fputs("\n", o);
	}
}

int render_text(FILE *o, const cli_view *v)
{
	const sl_report *r = v->report;
	sl_report_counts rc;
	sl_report_get_counts(r, &rc);
	sl_format format = sl_report_format(r);
	bool lines = format == SL_FMT_LINES;
	char a[32], b[32], c[32], d[32], title[160], label[512];
	bool mix = sl_format_spec_is_mix(sl_report_format_spec(r));
	fprintf(o, "sluice %s  format%s %s  %zu input%s\n", SLUICE_VERSION, mix ? "s" : "",
		mix ? sl_format_describe(format, sl_report_format_spec(r), label, sizeof label)
		    : format_label(r, label, sizeof label),
		v->ninputs, v->ninputs == 1 ? "" : "s");
	const sl_plan *plan = sl_report_plan(r);
	char more[96] = "";
	if (filtering(plan))
		snprintf(more, sizeof more, ", filtered out %s", grouped(a, sizeof a, rc.filtered));
	if (rc.skipped)
		snprintf(more + strlen(more), sizeof more - strlen(more), ", header lines %s",
			 grouped(a, sizeof a, rc.skipped));
	if (lines)
		fprintf(o, "  %-18s %s  (oversized %s%s)\n", "Lines", grouped(a, sizeof a, rc.lines),
			grouped(b, sizeof b, rc.oversized), more);
	else
		fprintf(o, "  %-18s %s  (requests %s, malformed %s, oversized %s%s)\n", "Lines",
			grouped(a, sizeof a, rc.lines), grouped(b, sizeof b, rc.requests),
			grouped(c, sizeof c, rc.malformed), grouped(d, sizeof d, rc.oversized), more);
	for (uint32_t i = 0; i < plan->nfilters; i++) {
		char text[SL_FILTER_TEXT + 64];
		fprintf(o, "  %-18s ", i ? "" : "Filter");
		const char *f = sl_filter_describe(&plan->filter[i], text, sizeof text);
		cli_print_safe(o, f, strlen(f), 200);
		fputs("\n", o);
	}
	if (plan->has_since || plan->has_until) {
		int32_t off = v->tz_given ? v->tz_offset : rc.log_offset;
		offset_text(c, sizeof c, off);
		if (plan->has_since)
			local_time(a, sizeof a, plan->since + off);
		if (plan->has_until)
			local_time(b, sizeof b, plan->until + off);
		fprintf(o, "  %-18s %s to %s %s (the end excluded)\n", "Time range",
			plan->has_since ? a : "the start", plan->has_until ? b : "the end", c);
	}
	text_incomplete(o, v);
	if (!lines && rc.requests) {
		int32_t off = v->tz_given ? v->tz_offset : rc.log_offset;
		offset_text(c, sizeof c, off);
		local_time(a, sizeof a, rc.first_time + off);
		local_time(b, sizeof b, rc.last_time + off);
		fprintf(o, "  %-18s %s to %s %s\n", "Time", a, b, c);
	}
	fprintf(o, "  %-18s %s\n", lines ? "Bytes" : "Bytes sent",
		grouped_bytes((char[64]){0}, 64, &rc));
	uint32_t n = nitems(r);
	for (uint32_t i = 0; i < n; i++)
		if (kind_of(r, i) == SL_ITEM_DISTINCT)
			text_estimate(o, look_of(r, i, title, sizeof title).title,
				      sl_report_item_distinct(r, i));
	fprintf(o, "  %-18s budget %s bytes, peak %s bytes\n", "Memory",
		grouped(a, sizeof a, v->budget), grouped(b, sizeof b, v->peak));
	if (!lines && sl_report_is_exact(r)) {
		uint64_t peak, written;
		sl_report_exact_disk(r, &peak, &written);
		fprintf(o, "  %-18s peak %s bytes, %s written (--exact)\n", "Temporary disk",
			grouped(a, sizeof a, peak), grouped(b, sizeof b, written));
	}

	for (uint32_t i = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_TALLY)
			continue;
		const sl_tally *t = sl_report_item_tally(r, i);
		if (t) {
			text_tally(o, look_of(r, i, title, sizeof title).title, t, rc.requests);
			continue;
		}
		fputs("\nStatus codes\n", o);
		for (int cls = 1; cls <= 5; cls++) {
			uint64_t k = class_count(r, cls);
			if (!k)
				continue;
			fprintf(o, "  %dxx %16s  %5.1f%%  ", cls, grouped(a, sizeof a, k),
				rc.requests ? 100.0 * (double)k / (double)rc.requests : 0.0);
			int first = 1;
			for (int s = cls * 100; s < cls * 100 + 100; s++)
				if (sl_report_status(r, (unsigned)s)) {
					fprintf(o, "%s%d: %s", first ? "" : ", ", s,
						grouped(b, sizeof b, sl_report_status(r, (unsigned)s)));
					first = 0;
				}
			fputs("\n", o);
		}
	}

	for (uint32_t i = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_TOP)
			continue;
		bool exact;
		size_t cap;
		uint64_t total;
		sl_report_item_top_info(r, i, &exact, &cap, &total);
		const char *t = look_of(r, i, title, sizeof title).title;
		sl_field f = sl_report_plan(r)->item[i].field[0];
		if (!sl_format_has_field(format, f)) {
			fprintf(o, "\n%s\n  (not in the %s format)\n", t, sl_format_name(format));
			continue;
		}
		text_rows(o, t, v->rows, v->rows ? sl_report_item_top(r, i, v->rows, v->top_n) : 0,
			  exact);
	}

	for (uint32_t i = 0; i < n; i++)
		if (kind_of(r, i) == SL_ITEM_GROUPS)
			text_groups(o, r, i, v->top_n ? v->top_n : 10);
	for (uint32_t i = 0; i < n; i++) {
		if (kind_of(r, i) != SL_ITEM_QUANTILES || no_values(r, i))
			continue;
		item_look l = look_of(r, i, title, sizeof title);
		text_dist(o, l.title, l.unit, l.whole, sl_report_item_quantiles(r, i),
			  sl_report_item_moments(r, i));
	}
	for (uint32_t i = 0; i < n && rc.requests; i++)
		if (kind_of(r, i) == SL_ITEM_SERIES)
			text_series(o, v, i);
	return ferror(o) ? -1 : 0;
}
