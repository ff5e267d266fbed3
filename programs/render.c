/*
 * render.c: the report's two renderings, text (render_text) and JSON
 * (render_json). The JSON schema is documented in docs/json.md.
 *
 * Conventions: exact figures are printed as integers; an approximate figure
 * is marked (text: "~" and its bound; JSON: "exact": false with "low" and
 * "high", or "max_error", or "rank_error"). Times are ISO 8601 UTC. Text is
 * locale-independent (digits grouped with commas by hand).
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

static void iso_time(char *out, size_t n, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, n, "?");
		return;
	}
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* 1234567 -> "1,234,567" */
static const char *grouped(char *out, size_t n, uint64_t v)
{
	char digits[32];
	int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	return out;
}

static uint64_t class_count(const sl_report *r, int cls)
{
	uint64_t n = 0;
	for (int s = cls * 100; s < cls * 100 + 100; s++)
		n += r->status[s];
	return n;
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
	d.mean = m->mean;
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

/* The generic line report (-f lines). */
static int render_lines_json(FILE *o, const cli_view *v)
{
	const sl_report *r = v->report;
	fprintf(o, "{\n  \"sluice_version\": \"%s\",\n  \"format\": \"lines\",\n", SLUICE_VERSION);
	json_inputs(o, v);
	fprintf(o, "  \"lines\": %llu,\n  \"oversized\": %llu,\n  \"bytes\": %llu,\n",
		(unsigned long long)r->lines, (unsigned long long)r->oversized,
		(unsigned long long)r->bytes_sent);
	json_estimate(o, "distinct_lines", sl_distinct_estimate(r->distinct_lines));
	fputs("  \"top\": {", o);
	json_rows(o, "line", v->rows, v->rows ? sl_topk_list(r->top_lines, v->rows, v->top_n) : 0);
	fputs("\n  },\n  \"top_info\": {", o);
	json_top_info(o, "line", sl_topk_is_exact(r->top_lines), sl_topk_capacity(r->top_lines),
		      sl_topk_total(r->top_lines));
	fputs("\n  },\n", o);
	json_dist(o, "line_length", r->line_length_q, &r->line_length);
	fprintf(o, "  \"memory\": {\"budget\": %zu, \"peak\": %zu}\n}\n", v->budget, v->peak);
	return ferror(o) ? -1 : 0;
}

int render_json(FILE *o, const cli_view *v)
{
	const sl_report *r = v->report;
	char a[32], b[32];
	if (r->format == SL_FMT_LINES)
		return render_lines_json(o, v);
	fprintf(o, "{\n  \"sluice_version\": \"%s\",\n  \"format\": \"%s\",\n", SLUICE_VERSION,
		sl_format_name(r->format));
	json_inputs(o, v);
	fprintf(o,
		"  \"lines\": %llu,\n  \"requests\": %llu,\n  \"malformed\": %llu,\n"
		"  \"oversized\": %llu,\n  \"bytes_sent\": %llu,\n",
		(unsigned long long)r->lines, (unsigned long long)r->requests,
		(unsigned long long)r->malformed, (unsigned long long)r->oversized,
		(unsigned long long)r->bytes_sent);
	if (r->requests) {
		iso_time(a, sizeof a, r->first_time);
		iso_time(b, sizeof b, r->last_time);
		fprintf(o, "  \"first_time\": \"%s\",\n  \"last_time\": \"%s\",\n", a, b);
	} else {
		fputs("  \"first_time\": null,\n  \"last_time\": null,\n", o);
	}
	json_estimate(o, "unique_ips", sl_report_unique_ips(r));
	json_estimate(o, "unique_visitors", sl_report_unique_visitors(r));

	fputs("  \"status\": {", o);
	int first = 1;
	for (int s = 100; s < 600; s++) {
		if (!r->status[s])
			continue;
		fprintf(o, "%s\"%d\": %llu", first ? "" : ", ", s, (unsigned long long)r->status[s]);
		first = 0;
	}
	fputs("},\n  \"status_class\": {", o);
	first = 1;
	for (int c = 1; c <= 5; c++) {
		uint64_t n = class_count(r, c);
		if (!n)
			continue;
		fprintf(o, "%s\"%dxx\": %llu", first ? "" : ", ", c, (unsigned long long)n);
		first = 0;
	}
	fputs("},\n", o);
	json_tally(o, "methods", &r->methods);
	json_tally(o, "protocols", &r->protocols);

	fputs("  \"top\": {", o);
	for (int t = 0; t < SL_TOP_COUNT; t++) {
		fputs(t ? "," : "", o);
		json_rows(o, sl_top_name(t), v->rows,
			  v->rows ? sl_report_top(r, t, v->rows, v->top_n) : 0);
	}
	fputs("\n  },\n  \"top_info\": {", o);
	for (int t = 0; t < SL_TOP_COUNT; t++) {
		bool exact;
		size_t cap;
		uint64_t total;
		sl_report_top_info(r, t, &exact, &cap, &total);
		fputs(t ? "," : "", o);
		json_top_info(o, sl_top_name(t), exact, cap, total);
	}
	fputs("\n  },\n", o);

	fprintf(o, "  \"per_hour_bucket_seconds\": %u,\n", sl_series_width(r->per_hour));
	json_series(o, "per_hour", r->per_hour);
	if (r->per_minute && r->last_time - r->first_time < SIX_HOURS)
		json_series(o, "per_minute", r->per_minute);
	if (r->request_time.n)
		json_dist(o, "request_time", r->request_time_q, &r->request_time);
	else
		fputs("  \"request_time\": null,\n", o);
	json_dist(o, "response_bytes", r->response_bytes_q, &r->response_bytes);

	fputs("  \"malformed_samples\": [", o);
	for (uint32_t i = 0; i < r->nsamples; i++) {
		const sl_sample *s = &r->samples[i];
		fputs(i ? ",\n    {\"input\": " : "\n    {\"input\": ", o);
		json_cstr(o, v->inputs[s->input].path);
		fprintf(o, ", \"line\": %llu, \"reason\": ", (unsigned long long)s->line);
		json_cstr(o, s->why);
		fputs(", \"text\": ", o);
		json_str(o, s->text, s->len);
		fprintf(o, ", \"truncated\": %s}", s->truncated ? "true" : "false");
	}
	fputs(r->nsamples ? "\n  ],\n" : "],\n", o);
	if (r->exact) {
		uint64_t peak, written;
		sl_report_exact_disk(r, &peak, &written);
		fprintf(o, "  \"temp_disk\": {\"peak\": %llu, \"written\": %llu},\n",
			(unsigned long long)peak, (unsigned long long)written);
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
	double half = (e.high - e.low) / 2;
	fprintf(o, "  %-18s ≈%s ±%s  (95%%: %s to %s)\n", label,
		grouped(a, sizeof a, (uint64_t)llround(e.estimate)),
		grouped(b, sizeof b, (uint64_t)llround(half)),
		grouped(c, sizeof c, (uint64_t)floor(e.low)),
		grouped((char[32]){0}, 32, (uint64_t)ceil(e.high)));
}

/* A value for a table cell: cut to width columns; see cli_print_safe. */
static void text_value(FILE *o, const char *p, size_t n, size_t width, int truncated)
{
	if (cli_print_safe(o, p, n, width) < n)
		truncated = 1;
	if (truncated)
		fputs("...", o);
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

static void text_tally(FILE *o, const char *title, const sl_tally *t, uint64_t total)
{
	char a[32];
	fprintf(o, "\n%s\n", title);
	for (uint32_t i = 0; i < t->n; i++)
		fprintf(o, "  %-10s %14s  %5.1f%%\n", t->len[i] ? t->key[i] : "-",
			grouped(a, sizeof a, t->count[i]),
			total ? 100.0 * (double)t->count[i] / (double)total : 0.0);
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

/* At most TEXT_SERIES_ROWS rows: adjacent buckets are summed in groups (the
 * JSON keeps every bucket). */
#define TEXT_SERIES_ROWS 96

static void text_series(FILE *o, const char *title, const sl_series *s)
{
	size_t n = sl_series_len(s);
	size_t group = (n + TEXT_SERIES_ROWS - 1) / TEXT_SERIES_ROWS;
	if (group == 0)
		group = 1;
	uint64_t max = 0;
	for (size_t i = 0; i < n; i += group) {
		uint64_t sum = 0;
		for (size_t j = i; j < i + group && j < n; j++) {
			int64_t t;
			uint64_t c;
			sl_series_get(s, j, &t, &c);
			sum += c;
		}
		if (sum > max)
			max = sum;
	}
	uint64_t width = (uint64_t)sl_series_width(s) * group;
	fprintf(o, "\n%s", title);
	if (width != 60 && width != 3600) {
		if (width % 3600 == 0)
			fprintf(o, " (rows of %llu hours)", (unsigned long long)(width / 3600));
		else
			fprintf(o, " (rows of %llu minutes)", (unsigned long long)(width / 60));
	}
	fputs("\n", o);
	for (size_t i = 0; i < n; i += group) {
		int64_t t0 = 0, t;
		uint64_t c, sum = 0;
		for (size_t j = i; j < i + group && j < n; j++) {
			sl_series_get(s, j, &t, &c);
			if (j == i)
				t0 = t;
			sum += c;
		}
		char iso[32], a[32];
		iso_time(iso, sizeof iso, t0);
		int bar = max ? (int)((40 * sum + max - 1) / max) : 0;
		fprintf(o, "  %s %12s  ", iso, grouped(a, sizeof a, sum));
		for (int k = 0; k < bar; k++)
			fputs("#", o);
		fputs("\n", o);
	}
}

static void text_rows(FILE *o, const char *title, const sl_topk_row *rows, size_t n, bool exact)
{
	char a[32], b[32];
	fprintf(o, "\n%s%s\n", title,
		exact ? "" : "  (≈: count is an upper bound; true count >= count - max_error)");
	if (!n)
		fputs("  (none)\n", o);
	for (size_t i = 0; i < n; i++) {
		const sl_topk_row *row = &rows[i];
		if (row->max_error)
			fprintf(o, "  ≈%13s -%-9s ", grouped(a, sizeof a, row->count),
				grouped(b, sizeof b, row->max_error));
		else
			fprintf(o, "  %14s %-10s ", grouped(a, sizeof a, row->count), "");
		text_value(o, row->value, row->len, 100, row->truncated);
	}
}

static int render_lines_text(FILE *o, const cli_view *v)
{
	const sl_report *r = v->report;
	char a[32], b[32];
	fprintf(o, "sluice %s  format lines  %zu input%s\n", SLUICE_VERSION, v->ninputs,
		v->ninputs == 1 ? "" : "s");
	fprintf(o, "  %-18s %s  (oversized %s)\n", "Lines", grouped(a, sizeof a, r->lines),
		grouped(b, sizeof b, r->oversized));
	fprintf(o, "  %-18s %s\n", "Bytes", grouped(a, sizeof a, r->bytes_sent));
	text_estimate(o, "Distinct lines", sl_distinct_estimate(r->distinct_lines));
	fprintf(o, "  %-18s budget %s bytes, peak %s bytes\n", "Memory",
		grouped(a, sizeof a, v->budget), grouped(b, sizeof b, v->peak));
	text_rows(o, "Top lines", v->rows,
		  v->rows ? sl_topk_list(r->top_lines, v->rows, v->top_n) : 0,
		  sl_topk_is_exact(r->top_lines));
	text_dist(o, "Line length", "bytes", true, r->line_length_q, &r->line_length);
	return ferror(o) ? -1 : 0;
}

int render_text(FILE *o, const cli_view *v)
{
	const sl_report *r = v->report;
	if (r->format == SL_FMT_LINES)
		return render_lines_text(o, v);
	char a[32], b[32], c[32], d[32];
	static const char *const titles[SL_TOP_COUNT] = {
		"Top URLs", "Top paths", "Top client IPs", "Top referrers", "Top user agents",
		"Top 404 paths",
	};

	fprintf(o, "sluice %s  format %s  %zu input%s\n", SLUICE_VERSION, sl_format_name(r->format),
		v->ninputs, v->ninputs == 1 ? "" : "s");
	fprintf(o, "  %-18s %s  (requests %s, malformed %s, oversized %s)\n", "Lines",
		grouped(a, sizeof a, r->lines), grouped(b, sizeof b, r->requests),
		grouped(c, sizeof c, r->malformed), grouped(d, sizeof d, r->oversized));
	if (r->requests) {
		iso_time(a, sizeof a, r->first_time);
		iso_time(b, sizeof b, r->last_time);
		fprintf(o, "  %-18s %s to %s\n", "Time", a, b);
	}
	fprintf(o, "  %-18s %s\n", "Bytes sent", grouped(a, sizeof a, r->bytes_sent));
	text_estimate(o, "Unique IPs", sl_report_unique_ips(r));
	text_estimate(o, "Unique visitors", sl_report_unique_visitors(r));
	fprintf(o, "  %-18s budget %s bytes, peak %s bytes\n", "Memory",
		grouped(a, sizeof a, v->budget), grouped(b, sizeof b, v->peak));
	if (r->exact) {
		uint64_t peak, written;
		sl_report_exact_disk(r, &peak, &written);
		fprintf(o, "  %-18s peak %s bytes, %s written (--exact)\n", "Temporary disk",
			grouped(a, sizeof a, peak), grouped(b, sizeof b, written));
	}

	fputs("\nStatus codes\n", o);
	for (int cls = 1; cls <= 5; cls++) {
		uint64_t n = class_count(r, cls);
		if (!n)
			continue;
		fprintf(o, "  %dxx %16s  %5.1f%%  ", cls, grouped(a, sizeof a, n),
			r->requests ? 100.0 * (double)n / (double)r->requests : 0.0);
		int first = 1;
		for (int s = cls * 100; s < cls * 100 + 100; s++)
			if (r->status[s]) {
				fprintf(o, "%s%d: %s", first ? "" : ", ", s,
					grouped(b, sizeof b, r->status[s]));
				first = 0;
			}
		fputs("\n", o);
	}
	text_tally(o, "Methods", &r->methods, r->requests);
	text_tally(o, "Protocols", &r->protocols, r->requests);

	for (int t = 0; t < SL_TOP_COUNT; t++) {
		bool exact;
		size_t cap;
		uint64_t total;
		sl_report_top_info(r, t, &exact, &cap, &total);
		text_rows(o, titles[t], v->rows, v->rows ? sl_report_top(r, t, v->rows, v->top_n) : 0,
			  exact);
	}

	if (r->request_time.n)
		text_dist(o, "Request time", "seconds", false, r->request_time_q, &r->request_time);
	text_dist(o, "Response size", "bytes", true, r->response_bytes_q, &r->response_bytes);
	if (r->per_minute && r->last_time - r->first_time < SIX_HOURS && r->requests)
		text_series(o, "Requests per minute", r->per_minute);
	else if (r->requests)
		text_series(o, "Requests per hour", r->per_hour);
	return ferror(o) ? -1 : 0;
}
