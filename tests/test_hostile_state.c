/*
 * test_hostile_state.c: issue 11's findings about state files, the state
 * commands and the report's integrity, one case per finding, each starting
 * from bytes this test writes (a log, or a state forged through the
 * library's own encoder, which recomputes every checksum).
 *
 *  item02  a `-f lines` state through `sluice report` and `sluice STATE`
 *  item12  bytes_sent past 2^64 stays exact (text, JSON, save/report, merge)
 *  item15  years: 0000 prints with four digits; times whose UTC falls
 *          outside 0000..9999 are malformed lines with a reason
 *  item16  forged states holding impossible figures are refused, each with
 *          a reason naming the broken invariant
 *  item18  the distinct estimates and their bounds never pass the count of
 *          what was added (requests, lines kept)
 *  messages `sluice report -` reads a state from standard input; the
 *          fuzz_state harness (included below) never aborts on a valid
 *          state that fills most of its budget
 *
 * The CLI cases run $SLUICE_BIN (default ./sluice) in a temporary directory.
 */
#include "report/report.h"
#include "testutil.h"
#include "statefile.h"
#include "json.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fuzz harness itself, so that its soundness is tested in every run. */
#include "../fuzz/fuzz_state.c"

static char dir[256];
static const char *bin;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_hostile_state.XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* the commands run in dir: the program by its absolute path */
	static char abs_bin[4096];
	bin = realpath(tu_sluice_bin(), abs_bin) ? abs_bin : tu_sluice_bin();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || e->d_name[1] == '.'))
			continue;
		char path[600];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* Runs a shell command in dir; returns its exit status. */
static int run(const char *fmt, ...)
{
	char cmd[2048], full[2400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
	return tu_run(full);
}

static char *slurp(const char *name, size_t *len)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *p = tu_slurp(path, len);
	assert_non_null(p);
	return p;
}

static void write_text(const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	tu_write_file(path, text, strlen(text));
}

static jv *json_file(const char *name)
{
	size_t len, at;
	char *text = slurp(name, &len);
	jv *v = json_parse(text, len, &at);
	free(text);
	assert_non_null(v);
	return v;
}

static bool file_has(const char *name, const char *needle)
{
	size_t len;
	char *text = slurp(name, &len);
	bool has = strstr(text, needle) != NULL;
	if (!has)
		print_message("%s lacks \"%s\":\n%s\n", name, needle, text);
	free(text);
	return has;
}

/* ---- item 2 ----------------------------------------------------------------- */

static void item02_lines_state_report(void **state)
{
	(void)state;
	char text[8000];
	size_t n = 0;
	for (int i = 1; i <= 1000; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%d\n", i);
	write_text("l.txt", text);
	assert_int_equal(run("'%s' -q -f lines --save l.st l.txt >/dev/null", bin), 0);
	assert_int_equal(run("'%s' report l.st >report.txt 2>err.txt", bin), 0);
	assert_true(file_has("report.txt", "format lines"));
	assert_true(file_has("report.txt", "1,000"));
	assert_int_equal(run("'%s' l.st >plain.txt 2>err.txt", bin), 0);
	char a[600], b[600];
	snprintf(a, sizeof a, "%s/report.txt", dir);
	snprintf(b, sizeof b, "%s/plain.txt", dir);
	assert_true(tu_same_files(a, b));
	assert_int_equal(run("'%s' report --json -n 3 l.st >report.json", bin), 0);
	jv *j = json_file("report.json");
	assert_int_equal(json_u64(j, "lines"), 1000);
	const jv *top = json_get(json_get(j, "top"), "line");
	assert_non_null(top);
	assert_int_equal(top->n, 3);
	json_free(j);
}

/* ---- item 12 ---------------------------------------------------------------- */

/* 2^64 - 1 bytes, four times: 4 * (2^64 - 1) = 73786976294838206460. */
#define BIG "18446744073709551615"
#define BIG4 "73786976294838206460"
#define BIG4_GROUPED "73,786,976,294,838,206,460"

static void item12_bytes_sent_exact(void **state)
{
	(void)state;
	char text[4096];
	size_t n = 0;
	for (int i = 0; i < 4; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "10.0.0.%d - - [10/Oct/2000:13:55:3%d +0000] \"GET /x HTTP/1.1\" "
				      "200 " BIG " \"-\" \"ua\"\n",
				      i, i);
	write_text("big.log", text);
	assert_int_equal(run("'%s' -q -j 1 big.log >big.txt", bin), 0);
	assert_true(file_has("big.txt", BIG4_GROUPED));
	assert_int_equal(run("'%s' -q -j 1 --json big.log >big.json", bin), 0);
	assert_true(file_has("big.json", "\"bytes_sent\": " BIG4 ","));
	/* through a state, and a merge of two states (twice the sum) */
	assert_int_equal(run("'%s' -q -j 1 --save big.st big.log >/dev/null", bin), 0);
	assert_int_equal(run("'%s' report big.st >st.txt", bin), 0);
	assert_true(file_has("st.txt", BIG4_GROUPED));
	assert_int_equal(run("'%s' merge big.st big.st -o two.st", bin), 0);
	assert_int_equal(run("'%s' report --json two.st >two.json", bin), 0);
	assert_true(file_has("two.json", "\"bytes_sent\": 147573952589676412920,"));
	/* the lines format's byte count has the same exact sum */
	assert_int_equal(run("'%s' -q -f lines big.log big.log >lines.txt", bin), 0);
	assert_true(file_has("lines.txt", "Bytes"));

	/* the library: the low word wraps, the high word carries */
	sl_budget b;
	sl_budget_init(&b, 8 << 20);
	sl_report *r, *s;
	assert_int_equal(sl_report_new(&r, &b, SL_FMT_COMBINED, 1 << 20), SL_OK);
	assert_int_equal(sl_report_new(&s, &b, SL_FMT_COMBINED, 1 << 20), SL_OK);
	sl_report_feed(r, text, n);
	sl_report_feed(s, text, n);
	assert_int_equal(r->bytes_sent_high, 3);
	assert_int_equal(r->bytes_sent, UINT64_MAX - 3);
	assert_int_equal(sl_report_merge(r, s), SL_OK);
	assert_int_equal(r->bytes_sent_high, 7);
	assert_int_equal(r->bytes_sent, UINT64_MAX - 7);
	sl_report_free(r);
	sl_report_free(s);
}

/* ---- item 15 ---------------------------------------------------------------- */

static void item15_year_range(void **state)
{
	(void)state;
	write_text("y0.log",
		   "1.1.1.1 - - [01/Jan/0000:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"u\"\n"
		   "1.1.1.1 - - [01/Jan/0000:00:30:00 +0100] \"GET / HTTP/1.1\" 200 1 \"-\" \"u\"\n"
		   "1.1.1.1 - - [01/Jan/0000:05:00:00 +0100] \"GET / HTTP/1.1\" 200 1 \"-\" \"u\"\n"
		   "1.1.1.1 - - [01/Jan/0000:00:30:00 +0100] \"GET / HTTP/1.1\" 200 1 \"-\" \"u\"\n"
		   "1.1.1.1 - - [31/Dec/9999:23:59:59 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"u\"\n"
		   "1.1.1.1 - - [31/Dec/9999:23:30:00 -0100] \"GET / HTTP/1.1\" 200 1 \"-\" \"u\"\n");
	assert_int_equal(run("'%s' -q -j 1 --json -f combined y0.log >y0.json", bin), 0);
	jv *j = json_file("y0.json");
	assert_int_equal(json_u64(j, "lines"), 6);
	/* the +0100 ones at 00:30 fall in year -1 (once directly, once through
	 * the parser's time cache), the -0100 one in year 10000 */
	assert_int_equal(json_u64(j, "malformed"), 3);
	assert_string_equal(json_get(j, "first_time")->str, "0000-01-01T00:00:00Z");
	assert_string_equal(json_get(j, "last_time")->str, "9999-12-31T23:59:59Z");
	const jv *samples = json_get(j, "malformed_samples");
	assert_int_equal(samples->n, 3);
	assert_non_null(strstr(json_get(json_at(samples, 0), "reason")->str, "0000"));
	json_free(j);
	assert_int_equal(run("'%s' -q -j 1 -f combined y0.log >y0.txt", bin), 0);
	assert_true(file_has("y0.txt", "0000-01-01 00:00:00 to 9999-12-31 23:59:59"));

	/* the parser alone */
	sl_record rec;
	const char *neg = "1.1.1.1 - - [01/Jan/0000:00:59:59 +0100] \"GET / HTTP/1.1\" 200 1";
	assert_int_equal(sl_access_parse(SL_FMT_COMMON, neg, strlen(neg), &rec, NULL),
			 SL_EFORMAT);
	const char *zero = "1.1.1.1 - - [01/Jan/0000:01:00:00 +0100] \"GET / HTTP/1.1\" 200 1";
	assert_int_equal(sl_access_parse(SL_FMT_COMMON, zero, strlen(zero), &rec, NULL), SL_OK);
	assert_int_equal(rec.time, -62167219200LL);
}

/* ---- item 16 ---------------------------------------------------------------- */

/* A valid access-log report: n lines over 40 clients, 3 of them malformed. */
static sl_report *access_report(sl_budget *b, size_t bytes, size_t n, unsigned urls)
{
	sl_report *r;
	assert_int_equal(sl_report_new(&r, b, SL_FMT_COMBINED, bytes), SL_OK);
	static const int codes[] = {200, 404, 301, 200, 500};
	char line[512], when[27];
	sl_report_begin_input(r, 0);
	for (size_t i = 0; i < n; i++) {
		int len;
		if (i % 50 == 7) {
			len = snprintf(line, sizeof line, "junk %zu\n", i);
		} else {
			tu_log_time(when, 1700000000 + (int64_t)i * 11);
			len = snprintf(line, sizeof line,
				       "10.0.0.%zu - - [%s] \"GET /p/%zu HTTP/1.1\" %d %zu \"-\" "
				       "\"ua%zu\"\n",
				       i % 40, when, i % urls, codes[i % 5], i * 3, i % 7);
		}
		sl_report_feed(r, line, (size_t)len);
	}
	return r;
}

static sl_state_input one_input(uint64_t consumed)
{
	sl_state_input in = {.path = "a.log", .consumed = consumed, .lines = 0};
	return in;
}

/* Encodes r (with its own checksums) and decodes it: the status, and the
 * reason on failure, which must mention `word`. */
static void expect(sl_budget *b, const sl_report *r, const sl_state_input *in, uint64_t budget,
		   uint64_t peak, sl_status want, const char *word)
{
	void *buf;
	size_t len;
	assert_int_equal(sl_state_encode(b, r, in, 1, budget, peak, &buf, &len), SL_OK);
	sl_state *s = NULL;
	const char *why = NULL;
	size_t used = b->used;
	sl_status st = sl_state_decode(&s, b, buf, len, 0, &why);
	print_message("  %-20s -> %s%s%s\n", word ? word : "(valid)", sl_strerror(st),
		      why ? ": " : "", why ? why : "");
	assert_int_equal(st, want);
	if (st == SL_OK) {
		sl_state_free(s);
	} else {
		assert_null(s);
		assert_non_null(why);
		assert_non_null(strstr(why, word));
		assert_int_equal(b->used, used);
	}
	sl_free(b, buf, len);
}

/* The budget, peak and sample invariants. */
static void item16_forged_run_figures(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_report *r = access_report(&b, 1 << 20, 500, 30);
	sl_state_input in = one_input(500 * 90);
	uint64_t mib = 1 << 20;
	expect(&b, r, &in, mib, mib / 2, SL_OK, NULL);
	/* a peak of 1.8e19 bytes against a 1 MiB budget */
	expect(&b, r, &in, mib, 18000000000000000000ULL, SL_ECORRUPT, "peak");
	/* a report larger than the run's budget */
	expect(&b, r, &in, mib / 2, mib / 4, SL_ECORRUPT, "budget");
	/* a sample's line number past what its input holds, or 0 */
	uint64_t line = r->samples[0].line;
	r->samples[0].line = 1ULL << 40;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "sample");
	r->samples[0].line = 0;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "sample");
	r->samples[0].line = line;
	/* fewer samples than the malformed lines give */
	r->nsamples--;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "samples");
	r->nsamples++;
	/* an input holding more lines than bytes */
	in.lines = in.consumed + 1;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "input");
	in.lines = 0;
	expect(&b, r, &in, mib, mib / 2, SL_OK, NULL);
	sl_report_free(r);
	assert_int_equal(b.used, 0);
}

/* Series and times, distinct counts, byte sums. */
static void item16_forged_sketch_figures(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_state_input in = one_input(500 * 90);
	uint64_t mib = 1 << 20;

	/* series summing to more than the requests */
	sl_report *r = access_report(&b, 1 << 20, 500, 30);
	sl_series_add(r->per_hour, r->first_time, 3);
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "series");
	sl_report_free(r);
	r = access_report(&b, 1 << 20, 500, 30);
	sl_series_add(r->per_minute, r->last_time, 1);
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "series");
	sl_report_free(r);
	/* a first time outside the series' first bucket (the sums agree) */
	r = access_report(&b, 1 << 20, 500, 30);
	r->first_time -= 7200;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "series");
	r->first_time += 7200;
	r->last_time += 7200;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "series");
	r->last_time -= 7200;
	expect(&b, r, &in, mib, mib / 2, SL_OK, NULL);

	/* more distinct clients or visitors than requests */
	for (uint64_t h = 1; h <= 1000; h++)
		sl_distinct_add_hash(sl_report_named(r, "unique_ips")->distinct, h * 0x9e3779b97f4a7c15ULL);
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "distinct");
	sl_report_free(r);
	r = access_report(&b, 1 << 20, 500, 30);
	for (uint64_t h = 1; h <= 1000; h++)
		sl_distinct_add_hash(sl_report_named(r, "unique_visitors")->distinct, h * 0x9e3779b97f4a7c15ULL);
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "distinct");
	sl_report_free(r);

	/* a response larger than all bytes sent, or bytes beyond requests x
	 * the largest response */
	r = access_report(&b, 1 << 20, 500, 30);
	uint64_t sent = r->bytes_sent;
	r->bytes_sent = 10;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "bytes");
	r->bytes_sent = sent;
	r->bytes_sent_high = 1;
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "bytes");
	r->bytes_sent_high = 0;
	expect(&b, r, &in, mib, mib / 2, SL_OK, NULL);
	sl_report_free(r);

	/* a line report with more distinct lines than lines */
	assert_int_equal(sl_report_new(&r, &b, SL_FMT_LINES, 1 << 20), SL_OK);
	sl_report_feed(r, "a\nb\nc\n", 6);
	expect(&b, r, &in, mib, mib / 2, SL_OK, NULL);
	sl_distinct_add_hash(sl_report_named(r, "distinct_lines")->distinct, 12345);
	expect(&b, r, &in, mib, mib / 2, SL_ECORRUPT, "distinct");
	sl_report_free(r);
	assert_int_equal(b.used, 0);
}

/* A top-list row counted above the requests: the last counter of a
 * Space-Saving table (the largest count), its count and error both raised,
 * so that the table's own checks (order, count - error within the total)
 * still pass; patched in the bytes and resealed. */
static void item16_forged_top_row(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_report *r = access_report(&b, sl_report_min_bytes(), 3000, 3000);
	assert_false(sl_topk_is_exact(sl_report_named(r, sl_top_name(SL_TOP_URL))->top));
	sl_state_input in = one_input(3000 * 90);
	void *out;
	size_t len;
	assert_int_equal(sl_state_encode(&b, r, &in, 1, 1 << 20, 1 << 19, &out, &len), SL_OK);
	uint8_t *buf = out;
	/* section 32 (url) */
	uint32_t ns = sf_le32(buf + 12);
	size_t at = 24 + 24 * (size_t)ns + 8, sec = 0;
	for (uint32_t i = 0; i < ns; i++) {
		if (sf_le32(buf + 24 + 24 * (size_t)i) == 32) {
			sec = at;
			break;
		}
		at += (size_t)sf_le64(buf + 24 + 24 * (size_t)i + 8);
	}
	assert_true(sec > 0);
	/* u32 m, u8 exact, u64 total, u64 floor, u32 n, u32 k, entries */
	uint8_t *p = buf + sec;
	assert_int_equal(p[4], 0);
	uint64_t total = sf_le64(p + 5);
	uint32_t k = sf_le32(p + 25);
	p += 29;
	uint8_t *last = NULL;
	for (uint32_t i = 0; i < k; i++) {
		if (*p == 1) { /* held: hash, len, count, error, stored, bytes */
			last = p;
			p += 1 + 8 + 4 + 8 + 8;
			uint32_t stored = (uint32_t)p[0] | (uint32_t)p[1] << 8;
			p += 2 + stored;
		} else {
			p += 1 + 8;
		}
	}
	assert_non_null(last);
	uint64_t count = sf_le64(last + 13), error = sf_le64(last + 21);
	sf_put64(last + 13, count + total);
	sf_put64(last + 21, error + total);
	sf_reseal(buf, len);
	sl_state *s = NULL;
	const char *why = NULL;
	sl_status st = sl_state_decode(&s, &b, buf, len, 0, &why);
	print_message("  top row count %llu of %llu -> %s: %s\n",
		      (unsigned long long)(count + total), (unsigned long long)total,
		      sl_strerror(st), why ? why : "");
	assert_int_equal(st, SL_ECORRUPT);
	assert_non_null(strstr(why, "top"));
	sl_free(&b, out, len);
	sl_report_free(r);
	assert_int_equal(b.used, 0);
}

/* A merged state keeps a budget its peak fits: the merge of a small run's
 * state and a large run's decodes again. */
static void item16_merge_keeps_peak_within_budget(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_report *r = access_report(&b, 1 << 20, 200, 30);
	sl_state_input in = one_input(200 * 90);
	void *x, *y;
	size_t xl, yl;
	assert_int_equal(sl_state_encode(&b, r, &in, 1, 1 << 20, 1 << 20, &x, &xl), SL_OK);
	assert_int_equal(sl_state_encode(&b, r, &in, 1, 64 << 20, 40 << 20, &y, &yl), SL_OK);
	sl_state *s, *t;
	const char *why;
	assert_int_equal(sl_state_decode(&s, &b, x, xl, 0, &why), SL_OK);
	assert_int_equal(sl_state_decode(&t, &b, y, yl, 0, &why), SL_OK);
	assert_int_equal(sl_state_merge(s, t, &why), SL_OK);
	assert_true(s->peak <= s->budget);
	void *z;
	size_t zl;
	assert_int_equal(sl_state_encode(&b, s->report, s->inputs, s->ninputs, s->budget, s->peak,
					 &z, &zl),
			 SL_OK);
	sl_state *u;
	assert_int_equal(sl_state_decode(&u, &b, z, zl, 0, &why), SL_OK);
	sl_state_free(u);
	sl_free(&b, z, zl);
	sl_state_free(s);
	sl_state_free(t);
	sl_free(&b, x, xl);
	sl_free(&b, y, yl);
	sl_report_free(r);
	assert_int_equal(b.used, 0);
}

/* ---- item 18 ---------------------------------------------------------------- */

static void item18_distinct_clamped(void **state)
{
	(void)state;
	/* 20,000 distinct lines: past the exact set at 512 KiB, where the raw
	 * HLL's upper bound lies above 20,000 */
	assert_int_equal(run("seq 20000 >seq.txt && '%s' -q -j 1 -m 512K -f lines --json seq.txt "
			     ">seq.json",
			     bin),
			 0);
	jv *j = json_file("seq.json");
	const jv *d = json_get(j, "distinct_lines");
	assert_non_null(d);
	assert_false(json_get(d, "exact")->b);
	print_message("  distinct_lines %g [%g, %g] of 20000\n", json_get(d, "estimate")->num,
		      json_get(d, "low")->num, json_get(d, "high")->num);
	assert_true(json_get(d, "high")->num <= 20000);
	assert_true(json_get(d, "estimate")->num <= 20000);
	assert_true(json_get(d, "low")->num <= 20000);
	json_free(j);

	/* unique IPs and visitors: every request from its own client */
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_report *r;
	assert_int_equal(sl_report_new(&r, &b, SL_FMT_COMBINED, sl_report_min_bytes()), SL_OK);
	char line[256], when[27];
	tu_log_time(when, 1700000000);
	for (uint32_t i = 0; i < 20000; i++) {
		int len = snprintf(line, sizeof line,
				   "10.%u.%u.%u - - [%s] \"GET / HTTP/1.1\" 200 1 \"-\" \"u\"\n",
				   i >> 16, (i >> 8) & 255, i & 255, when);
		sl_report_feed(r, line, (size_t)len);
	}
	sl_estimate ips = sl_report_unique_ips(r), vis = sl_report_unique_visitors(r);
	assert_false(ips.exact);
	print_message("  unique ips %g [%g, %g], visitors %g [%g, %g] of 20000\n", ips.estimate,
		      ips.low, ips.high, vis.estimate, vis.low, vis.high);
	assert_true(ips.estimate <= 20000 && ips.high <= 20000 && ips.low <= ips.estimate);
	assert_true(vis.estimate <= 20000 && vis.high <= 20000 && vis.low <= vis.estimate);
	/* the raw sketch does overshoot here: the clamp is what holds it */
	assert_true(sl_distinct_estimate(sl_report_named(r, "unique_ips")->distinct).high > 20000);
	sl_report_free(r);
}

/* ---- messages --------------------------------------------------------------- */

static void messages_report_from_stdin(void **state)
{
	(void)state;
	write_text("s.txt", "x\ny\nx\n");
	assert_int_equal(run("'%s' -q -f lines --save s.st s.txt >/dev/null", bin), 0);
	assert_int_equal(run("'%s' report s.st >want.txt", bin), 0);
	assert_int_equal(run("'%s' report - <s.st >got.txt", bin), 0);
	char a[600], c[600];
	snprintf(a, sizeof a, "%s/want.txt", dir);
	snprintf(c, sizeof c, "%s/got.txt", dir);
	assert_true(tu_same_files(a, c));
	assert_int_equal(run("cat s.st | '%s' report --json - >got.json", bin), 0);
	jv *j = json_file("got.json");
	assert_int_equal(json_u64(j, "lines"), 3);
	json_free(j);
	/* garbage on stdin is named as such */
	assert_int_equal(run("echo nonsense | '%s' report - 2>err.txt", bin), 2);
	assert_true(file_has("err.txt", "standard input"));
	/* and stdin at most once */
	assert_int_equal(run("'%s' report - - <s.st 2>err2.txt", bin), 2);
}

/* The harness decodes, re-encodes and decodes again: a valid state whose
 * report takes over half of the harness's budget must still pass. */
static void messages_fuzz_state_harness(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_report *r = access_report(&b, 9 << 20, 300, 30);
	sl_state_input in = one_input(300 * 90);
	void *buf;
	size_t len;
	assert_int_equal(sl_state_encode(&b, r, &in, 1, 9 << 20, 9 << 20, &buf, &len), SL_OK);
	assert_int_equal(LLVMFuzzerTestOneInput(buf, len), 0);
	sl_free(&b, buf, len);
	sl_report_free(r);
	/* and a few junk inputs */
	static const uint8_t junk[] = "SLUICEST\x03\0\0\0";
	assert_int_equal(LLVMFuzzerTestOneInput(junk, sizeof junk - 1), 0);
	assert_int_equal(LLVMFuzzerTestOneInput(junk, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(item02_lines_state_report),
		cmocka_unit_test(item12_bytes_sent_exact),
		cmocka_unit_test(item15_year_range),
		cmocka_unit_test(item16_forged_run_figures),
		cmocka_unit_test(item16_forged_sketch_figures),
		cmocka_unit_test(item16_forged_top_row),
		cmocka_unit_test(item16_merge_keeps_peak_within_budget),
		cmocka_unit_test(item18_distinct_clamped),
		cmocka_unit_test(messages_report_from_stdin),
		cmocka_unit_test(messages_fuzz_state_harness),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
