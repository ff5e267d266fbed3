/*
 * test_logformat.c: compiled log formats and presets (lib/format/logformat.c).
 *
 *  - equivalence: nginx and Apache (and GoAccess) strings of common,
 *    combined, vcombined and combined + request time, run on seeded random
 *    lines, give exactly the record sl_access_parse gives (every field's
 *    pointer and length, time, status, bytes, request time); every prefix
 *    of some of those lines gets the same verdict from both, each placed
 *    before a PROT_NONE page; the checker itself is shown to catch a
 *    mismatch;
 *  - every preset on hand-written sample lines after each format's
 *    published documentation, every field compared with text written here
 *    and times computed independently (Python's calendar.timegm);
 *  - bad format strings and the position reported;
 *  - detection, and no claim on classic access logs;
 *  - out of memory at compile time and for the CSV scratch.
 * Times in the samples: 2024-03-01T00:00:01Z = 1709251201, and so on,
 * each written next to its use.
 */
#include "testutil.h"
#include "guardpage.h"
#include "format/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Equivalence with sl_access_parse                                          */
/* ------------------------------------------------------------------------ */

typedef struct {
	char buf[2048];
	size_t len;
} line_buf;

static void put(line_buf *g, const char *s)
{
	size_t n = strlen(s);
	assert_true(g->len + n < sizeof g->buf);
	memcpy(g->buf + g->len, s, n);
	g->len += n;
}

static const char *pick(tu_rng *r, const char *const *v, size_t n)
{
	return v[tu_below(r, n)];
}
#define PICK(r, v) pick((r), (v), sizeof(v) / sizeof((v)[0]))

enum shape { S_COMMON, S_COMBINED, S_VCOMBINED, S_COMBINED_RT };

typedef struct {
	bool dash_ident;  /* nginx writes a literal "-" there */
	bool utc;	  /* GoAccess's form ignores the zone */
} gen_opts;

static void gen(tu_rng *r, enum shape shape, gen_opts o, line_buf *g)
{
	static const char *const clients[] = {
		"127.0.0.1", "203.0.113.77", "2001:db8::1", "::1", "crawler.example.net",
		"10.1.2.3",
	};
	static const char *const vhosts[] = {
		"www.example.com", "www.example.com:8080", "::1", "[::1]:443",
		"10.0.0.1:80", "shop", "a:b:c",
	};
	static const char *const users[] = {"-", "frank", "j.doe@example.com"};
	static const char *const requests[] = {
		"GET /index.html HTTP/1.1", "POST /api/v1/items?id=7&x=y HTTP/2.0",
		"-", "GET /", "\\x16\\x03\\x01\\x02", "GET /with space?q=1 HTTP/1.1",
		"PROPFIND /dav/ HTTP/1.0", "GET /a\\\"b HTTP/1.1", "GET /a\\\\ HTTP/1.1",
		"", "GET /very/long/path/that/goes/on/and/on/and/on/beyond/sixty-four/bytes/x.png HTTP/1.1",
		"GET /?only=query HTTP/1.0", "BREW /pot SPROTO/9.9", "GET http://h/ FOO",
		/* protocol words around the longest one looked for */
		"GET /x ABCDEFGHI/1.2.3", "GET /x ABCDEFGHIJ/1.2.3", "GET /x ABCDEFGHIJK/1.2.3",
	};
	static const char *const quoted[] = {
		"-", "", "http://www.example.com/start.html",
		"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/118.0",
		"say \\\"hi\\\" \\\\", "curl/8.1.2", "a \\x22b\\x22",
	};
	static const char *const rts[] = {"0.019", "12", "1.5", "123.456789", "0", "0.000"};
	static const char *const trail[] = {"", "", "", "\r", " ", " \r"};
	char tmp[64];

	g->len = 0;
	if (shape == S_VCOMBINED) {
		put(g, PICK(r, vhosts));
		put(g, " ");
	}
	put(g, PICK(r, clients));
	put(g, o.dash_ident || tu_below(r, 2) ? " - " : " ident ");
	put(g, PICK(r, users));
	char t[27];
	tu_log_time(t, (int64_t)tu_below(r, 4000000000ULL));
	if (!o.utc && tu_below(r, 2))
		snprintf(t + 21, 6, "%c%02d%02d", tu_below(r, 2) ? '+' : '-',
			 (int)tu_below(r, 15), (int)tu_below(r, 60));
	put(g, " [");
	put(g, t);
	put(g, "] \"");
	put(g, PICK(r, requests));
	snprintf(tmp, sizeof tmp, "\" %d ", (int)(100 + tu_below(r, 500)));
	put(g, tmp);
	if (tu_below(r, 5) == 0)
		put(g, "-");
	else {
		snprintf(tmp, sizeof tmp, "%llu",
			 (unsigned long long)(tu_below(r, 2) ? tu_below(r, 100000)
							     : tu_next(r) >> tu_below(r, 64)));
		put(g, tmp);
	}
	if (shape != S_COMMON) {
		put(g, " \"");
		put(g, PICK(r, quoted));
		put(g, "\" \"");
		put(g, PICK(r, quoted));
		put(g, "\"");
	}
	if (shape == S_COMBINED_RT) {
		put(g, " ");
		put(g, PICK(r, rts));
	}
	put(g, PICK(r, trail));
}

/* Fields a string cannot be compared on: bit (1 << sl_field). */
#define SKIP_FIELD(f) (1u << (f))

/* The two parses agree: verdict, and on success every field (pointer and
 * length; the pointer only where the length is not 0) and value, but for
 * the fields in skip. Prints the first difference. */
static bool same_record(sl_status sa, const sl_record *a, sl_status sb,
			const sl_record *b, uint32_t skip)
{
	if ((sa == SL_OK) != (sb == SL_OK)) {
		print_message("verdicts differ: access %d (%s), logformat %d (%s)\n",
			      sa, sa == SL_OK ? "ok" : a->why, sb,
			      sb == SL_OK ? "ok" : b->why);
		return false;
	}
	if (sa != SL_OK)
		return true;
	for (int f = 0; f < SL_F_COUNT; f++) {
		if (skip & SKIP_FIELD(f))
			continue;
		if (a->field[f].len != b->field[f].len ||
		    (a->field[f].len && a->field[f].p != b->field[f].p)) {
			print_message("field %s: access '%.*s', logformat '%.*s'\n",
				      sl_field_name((sl_field)f), (int)a->field[f].len,
				      a->field[f].p, (int)b->field[f].len, b->field[f].p);
			return false;
		}
	}
	if (a->time != b->time || a->status != b->status || a->bytes != b->bytes ||
	    a->has_request_time != b->has_request_time ||
	    memcmp(&a->request_time, &b->request_time, sizeof(double)) != 0) {
		print_message("values differ: time %lld/%lld status %u/%u bytes %llu/%llu"
			      " rt %d %.17g/%d %.17g\n",
			      (long long)a->time, (long long)b->time, a->status, b->status,
			      (unsigned long long)a->bytes, (unsigned long long)b->bytes,
			      a->has_request_time, a->request_time, b->has_request_time,
			      b->request_time);
		return false;
	}
	return true;
}

typedef struct {
	const char *spec;
	sl_format fmt;
	enum shape shape;
	gen_opts opts;
	uint32_t skip;
	bool prefixes; /* every prefix must get the same verdict */
} equiv_case;

#define NGINX_COMMON "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent"
#define NGINX_COMBINED NGINX_COMMON " \"$http_referer\" \"$http_user_agent\""
#define APACHE_COMMON "%h %l %u %t \"%r\" %>s %b"
#define APACHE_COMBINED APACHE_COMMON " \"%{Referer}i\" \"%{User-agent}i\""

static const equiv_case equiv_cases[] = {
	{NGINX_COMMON, SL_FMT_COMMON, S_COMMON, {true, false}, SKIP_FIELD(SL_F_IDENT), true},
	{NGINX_COMBINED, SL_FMT_COMBINED, S_COMBINED, {true, false}, SKIP_FIELD(SL_F_IDENT), true},
	{"$host " NGINX_COMBINED, SL_FMT_VCOMBINED, S_VCOMBINED, {true, false},
	 SKIP_FIELD(SL_F_IDENT), true},
	{NGINX_COMBINED " $request_time", SL_FMT_COMBINED, S_COMBINED_RT, {true, false},
	 SKIP_FIELD(SL_F_IDENT), false},
	{APACHE_COMMON, SL_FMT_COMMON, S_COMMON, {false, false}, 0, true},
	{APACHE_COMBINED, SL_FMT_COMBINED, S_COMBINED, {false, false}, 0, true},
	{"%v:%p " APACHE_COMBINED, SL_FMT_VCOMBINED, S_VCOMBINED, {false, false}, 0, true},
	{"%v " APACHE_COMBINED, SL_FMT_VCOMBINED, S_VCOMBINED, {false, false}, 0, true},
	{APACHE_COMBINED " %T", SL_FMT_COMBINED, S_COMBINED_RT, {false, false}, 0, false},
	/* GoAccess's own form: the zone is skipped (%^), so UTC lines only;
	 * its time field is the date and clock, without the zone */
	{"%h %^[%d:%t %^] \"%r\" %s %b \"%R\" \"%u\"", SL_FMT_COMBINED, S_COMBINED,
	 {false, true},
	 SKIP_FIELD(SL_F_IDENT) | SKIP_FIELD(SL_F_USER) | SKIP_FIELD(SL_F_TIME), true},
};

static void equivalence(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("logformat equivalence", 0x10f0a7ULL)};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	line_buf *g = malloc(sizeof *g);
	assert_non_null(g);
	for (size_t c = 0; c < sizeof equiv_cases / sizeof equiv_cases[0]; c++) {
		const equiv_case *ec = &equiv_cases[c];
		sl_logformat *lf;
		size_t pos;
		const char *why;
		if (sl_logformat_compile(&lf, &b, ec->spec, &pos, &why) != SL_OK) {
			print_message("'%s' at %zu: %s\n", ec->spec, pos, why);
			fail();
		}
		sl_time_cache tca = {{0}, 0, 0}, tcb = {{0}, 0, 0};
		unsigned ok = 0;
		for (int i = 0; i < 3000; i++) {
			gen(&rng, ec->shape, ec->opts, g);
			const char *line = i % 2 ? tu_guarded(g->buf, g->len) : g->buf;
			sl_record ra, rb;
			sl_status sa = sl_access_parse(ec->fmt, line, g->len, &ra, &tca);
			sl_status sb = sl_logformat_parse(lf, line, g->len, &rb, &tcb);
			if (!same_record(sa, &ra, sb, &rb, ec->skip) || sa != SL_OK) {
				print_message("format '%s', line %d: %.*s\n", ec->spec, i,
					      (int)g->len, g->buf);
				fail();
			}
			ok++;
			if (!ec->prefixes || i % 10)
				continue;
			for (size_t n = 0; n < g->len; n++) {
				const char *pl = tu_guarded(g->buf, n);
				sa = sl_access_parse(ec->fmt, pl, n, &ra, NULL);
				sb = sl_logformat_parse(lf, pl, n, &rb, NULL);
				if (!same_record(sa, &ra, sb, &rb, ec->skip)) {
					print_message("format '%s', prefix %zu of: %.*s\n",
						      ec->spec, n, (int)g->len, g->buf);
					fail();
				}
				assert_true(sb == SL_OK || (sb == SL_EFORMAT && rb.why));
			}
		}
		assert_int_equal(ok, 3000);
		sl_logformat_free(lf);
	}
	free(g);
	assert_int_equal(b.used, 0);
}

/* The checker catches a difference: one pointer moved, one value changed. */
static void checker_can_fail(void **state)
{
	(void)state;
	const char *line = "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "
			   "\"GET /a.gif HTTP/1.0\" 200 2326";
	sl_record a, b;
	assert_int_equal(sl_access_parse(SL_FMT_COMMON, line, strlen(line), &a, NULL), SL_OK);
	b = a;
	assert_true(same_record(SL_OK, &a, SL_OK, &b, 0));
	b.field[SL_F_PATH].p++;
	assert_false(same_record(SL_OK, &a, SL_OK, &b, 0));
	b = a;
	b.bytes++;
	assert_false(same_record(SL_OK, &a, SL_OK, &b, 0));
	assert_false(same_record(SL_OK, &a, SL_EFORMAT, &b, 0));
}

/* ------------------------------------------------------------------------ */
/* Presets on sample lines                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
	sl_field f;
	const char *text;
} want_field;

typedef struct {
	int64_t time;	/* INT64_MIN: not checked (no time) */
	uint32_t status;
	uint64_t bytes;
	double rt;	/* < 0: no request time */
	want_field f[16];
} want;

/* Checks rec against w: listed fields have exactly that text (and point
 * into the line, or into scratch when in_scratch names that field); all
 * fields not listed and not derived are empty. */
static void check(const sl_record *rec, const char *line, size_t n, const want *w,
		  sl_field in_scratch)
{
	bool listed[SL_F_COUNT] = {false};
	for (int i = 0; i < 16 && w->f[i].text; i++) {
		sl_field f = w->f[i].f;
		const char *t = w->f[i].text;
		const sl_str *s = &rec->field[f];
		listed[f] = true;
		if (s->len != strlen(t) || memcmp(s->p, t, s->len) != 0) {
			print_message("field %s: got '%.*s', want '%s'\n", sl_field_name(f),
				      (int)s->len, s->p, t);
			fail();
		}
		if (s->len && f != in_scratch)
			assert_true(s->p >= line && s->p + s->len <= line + n);
	}
	for (int f = 0; f < SL_F_COUNT; f++) {
		if (listed[f] || f == SL_F_LINE || f == SL_F_LENGTH)
			continue;
		if (rec->field[f].len) {
			print_message("field %s: unexpected '%.*s'\n", sl_field_name((sl_field)f),
				      (int)rec->field[f].len, rec->field[f].p);
			fail();
		}
	}
	assert_ptr_equal(rec->field[SL_F_LINE].p, line);
	assert_int_equal(rec->field[SL_F_LINE].len, n);
	if (w->time != INT64_MIN)
		assert_int_equal(rec->time, w->time);
	assert_int_equal(rec->status, w->status);
	assert_int_equal(rec->bytes, w->bytes);
	if (w->rt < 0) {
		assert_false(rec->has_request_time);
	} else {
		assert_true(rec->has_request_time);
		assert_true(rec->request_time == w->rt);
	}
}

static sl_logformat *preset(sl_budget *b, const char *name)
{
	sl_logformat *lf;
	assert_int_equal(sl_logformat_preset(&lf, b, name), SL_OK);
	assert_string_equal(sl_logformat_spec(lf), name);
	return lf;
}

static sl_status parse(sl_logformat *lf, const char *line, sl_record *rec)
{
	sl_time_cache tc = {{0}, 0, 0};
	return sl_logformat_parse(lf, line, strlen(line), rec, &tc);
}

/* A csv preset in b (a 1 MiB budget) that has read the header row. */
static sl_logformat *csv_with_header(sl_budget *b, const char *header)
{
	sl_budget_init(b, 1 << 20);
	sl_logformat *lf = preset(b, "csv");
	sl_record rec;
	assert_int_equal(parse(lf, header, &rec), SL_ESKIP);
	return lf;
}

/* Every prefix of line, at the guard page, parses to some verdict without
 * reading past it (ASan and the guard check the reads). */
static void prefixes_safe(sl_logformat *lf, const char *line)
{
	size_t n = strlen(line);
	for (size_t k = 0; k <= n; k++) {
		sl_record rec;
		sl_status st = sl_logformat_parse(lf, tu_guarded(line, k), k, &rec, NULL);
		assert_true(st == SL_OK || st == SL_ESKIP || (st == SL_EFORMAT && rec.why));
	}
}

#define W3C_HEAD1                                                              \
	"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port "   \
	"cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus "  \
	"sc-win32-status time-taken"
#define W3C_LINE1                                                              \
	"2024-03-01 00:00:01 10.0.0.5 GET /default.htm page=2 80 - 192.0.2.10 " \
	"Mozilla/5.0+(Windows+NT+10.0) https://example.com/ 200 0 0 15"
#define W3C_HEAD2 "#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-bytes time-taken cs-host"
#define W3C_LINE2 "2024-03-01 00:00:02 192.0.2.11 POST /api/login 401 512 250 www.example.com\r"

static void preset_w3c(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "w3c");
	sl_record rec;
	assert_true(sl_logformat_stateful(lf));
	/* a record before any #Fields: line */
	assert_int_equal(parse(lf, W3C_LINE1, &rec), SL_EFORMAT);
	assert_non_null(rec.why);
	assert_int_equal(parse(lf, "#Software: Microsoft Internet Information Services 10.0", &rec),
			 SL_ESKIP);
	assert_int_equal(parse(lf, "\xef\xbb\xbf#Version: 1.0", &rec), SL_ESKIP);
	assert_int_equal(parse(lf, W3C_HEAD1, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, W3C_LINE1, &rec), SL_OK);
	/* 2024-03-01T00:00:01Z = 1709251201; IIS time-taken is in ms */
	want w1 = {1709251201, 200, 0, 0.015, {
		{SL_F_TIME, "2024-03-01 00:00:01"}, {SL_F_DATE, "2024-03-01"},
		{SL_F_METHOD, "GET"}, {SL_F_PATH, "/default.htm"},
		{SL_F_URL, "/default.htm"}, {SL_F_QUERY, "page=2"}, {SL_F_USER, "-"},
		{SL_F_CLIENT, "192.0.2.10"}, {SL_F_USER_AGENT, "Mozilla/5.0+(Windows+NT+10.0)"},
		{SL_F_REFERRER, "https://example.com/"}, {SL_F_STATUS, "200"},
		{SL_F_REQUEST_TIME, "15"}, {0, NULL}}};
	check(&rec, W3C_LINE1, strlen(W3C_LINE1), &w1, SL_F_COUNT);
	/* the header changes mid-file */
	assert_int_equal(parse(lf, W3C_HEAD2, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, W3C_LINE2, &rec), SL_OK);
	want w2 = {1709251202, 401, 512, 0.25, {
		{SL_F_TIME, "2024-03-01 00:00:02"}, {SL_F_DATE, "2024-03-01"},
		{SL_F_CLIENT, "192.0.2.11"}, {SL_F_METHOD, "POST"},
		{SL_F_PATH, "/api/login"}, {SL_F_URL, "/api/login"},
		{SL_F_STATUS, "401"}, {SL_F_BYTES, "512"}, {SL_F_REQUEST_TIME, "250"},
		{SL_F_VHOST, "www.example.com"}, {0, NULL}}};
	check(&rec, W3C_LINE2, strlen(W3C_LINE2), &w2, SL_F_COUNT);
	/* the first layout's line no longer fits: fields in the wrong places */
	assert_int_equal(parse(lf, W3C_LINE1, &rec), SL_EFORMAT);
	/* too few fields */
	assert_int_equal(parse(lf, "2024-03-01 00:00:02 192.0.2.11 POST", &rec), SL_EFORMAT);
	assert_true(sl_logformat_has_field(lf, SL_F_VHOST));
	assert_false(sl_logformat_has_field(lf, SL_F_IDENT));
	prefixes_safe(lf, W3C_LINE2);
	/* a date without a time column is read at midnight; a date too long
	 * for the joined text is malformed (the fuzzer found the joined text
	 * written past its stack buffer when the clock was missing) */
	assert_int_equal(parse(lf, "#Fields: date c-ip", &rec), SL_ESKIP);
	assert_int_equal(parse(lf, "2024-03-01 192.0.2.1", &rec), SL_OK);
	assert_int_equal(rec.time, 1709251201 - 1);
	char longdate[128];
	memset(longdate, '1', 56);
	memcpy(longdate + 56, " 192.0.2.1", 11);
	assert_int_equal(parse(lf, longdate, &rec), SL_EFORMAT);
	/* a new input forgets the header */
	sl_logformat_reset(lf);
	assert_int_equal(parse(lf, W3C_LINE2, &rec), SL_EFORMAT);
	sl_logformat_free(lf);
	assert_int_equal(b.used, 0);
}

#define CF_FIELDS                                                              \
	"#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) "  \
	"cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query "       \
	"cs(Cookie) x-edge-result-type x-edge-request-id x-host-header "       \
	"cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol "         \
	"ssl-cipher x-edge-response-result-type cs-protocol-version "          \
	"fle-status fle-encrypted-fields c-port time-to-first-byte "           \
	"x-edge-detailed-result-type sc-content-type sc-content-len "          \
	"sc-range-start sc-range-end"
#define CF_LINE                                                                \
	"2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\t"                   \
	"d111111abcdef8.cloudfront.net\t/index.html\t200\t-\t"                  \
	"Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)\t-\t-\tHit\t"      \
	"SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\t"            \
	"www.example.com\thttps\t23\t0.001\t-\tTLSv1.2\t"                       \
	"ECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\t" \
	"text/html\t78\t-\t-"

static void preset_cloudfront(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "cloudfront");
	sl_record rec;
	/* 2019-12-04T21:02:31Z = 1575493351; CloudFront's time-taken is in
	 * seconds; the vhost is the viewer's Host (x-host-header), not the
	 * distribution's name */
	want w = {1575493351, 200, 392, 0.001, {
		{SL_F_TIME, "2019-12-04\t21:02:31"}, {SL_F_DATE, "2019-12-04"},
		{SL_F_BYTES, "392"}, {SL_F_CLIENT, "192.0.2.100"}, {SL_F_METHOD, "GET"},
		{SL_F_PATH, "/index.html"}, {SL_F_URL, "/index.html"},
		{SL_F_STATUS, "200"}, {SL_F_REFERRER, "-"},
		{SL_F_USER_AGENT, "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)"},
		{SL_F_VHOST, "www.example.com"}, {SL_F_REQUEST_TIME, "0.001"},
		{SL_F_PROTOCOL, "HTTP/2.0"}, {0, NULL}}};
	/* the documented default columns, before any header */
	assert_int_equal(parse(lf, CF_LINE, &rec), SL_OK);
	check(&rec, CF_LINE, strlen(CF_LINE), &w, SL_F_COUNT);
	assert_int_equal(parse(lf, "#Version: 1.0", &rec), SL_ESKIP);
	assert_int_equal(parse(lf, CF_FIELDS, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, CF_LINE, &rec), SL_OK);
	check(&rec, CF_LINE, strlen(CF_LINE), &w, SL_F_COUNT);
	prefixes_safe(lf, CF_LINE);
	sl_logformat_free(lf);
}

#define ELB_LINE                                                               \
	"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 "      \
	"10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "                  \
	"\"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.38.0\" - -"
#define ELB_NO_BACKEND                                                         \
	"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 - "    \
	"-1 -1 -1 504 0 0 0 \"GET http://www.example.com:80/ HTTP/1.1\" "       \
	"\"curl/7.38.0\" - -"

static void preset_elb(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "elb");
	sl_record rec;
	assert_false(sl_logformat_stateful(lf));
	assert_int_equal(parse(lf, ELB_LINE, &rec), SL_OK);
	/* 2015-05-13T23:39:43Z = 1431560383; the backend's time */
	want w = {1431560383, 200, 29, 0.001048, {
		{SL_F_TIME, "2015-05-13T23:39:43.945958Z"}, {SL_F_DATE, "2015-05-13"},
		{SL_F_CLIENT, "192.168.131.39"}, {SL_F_REQUEST_TIME, "0.001048"},
		{SL_F_STATUS, "200"}, {SL_F_BYTES, "29"},
		{SL_F_REQUEST, "GET http://www.example.com:80/ HTTP/1.1"},
		{SL_F_METHOD, "GET"}, {SL_F_URL, "http://www.example.com:80/"},
		{SL_F_PATH, "http://www.example.com:80/"}, {SL_F_PROTOCOL, "HTTP/1.1"},
		{SL_F_USER_AGENT, "curl/7.38.0"}, {0, NULL}}};
	check(&rec, ELB_LINE, strlen(ELB_LINE), &w, SL_F_COUNT);
	/* no backend: times of -1 are no request time */
	assert_int_equal(parse(lf, ELB_NO_BACKEND, &rec), SL_OK);
	assert_false(rec.has_request_time);
	assert_int_equal(rec.status, 504);
	assert_int_equal(parse(lf, "2015-05-13T23:39:43.945958Z my-loadbalancer", &rec),
			 SL_EFORMAT);
	prefixes_safe(lf, ELB_LINE);
	sl_logformat_free(lf);
}

#define ALB_LINE                                                               \
	"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 " \
	"192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "       \
	"\"GET https://www.example.com:443/ HTTP/1.1\" \"curl/7.46.0\" "        \
	"ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "                                  \
	"arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 " \
	"\"Root=1-58337281-1d84f3d73c47ec4e58577259\" \"www.example.com\" "     \
	"\"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012\" " \
	"1 2018-07-02T22:22:48.364000Z \"authenticate,forward\" \"-\" \"-\" "   \
	"\"10.0.0.1:80\" \"200\" \"-\" \"-\" TID_1234abcd5678ef90"

static void preset_alb(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "alb");
	sl_record rec;
	assert_int_equal(parse(lf, ALB_LINE, &rec), SL_OK);
	/* 2018-07-02T22:23:00Z = 1530570180; the target's time */
	want w = {1530570180, 200, 57, 0.048, {
		{SL_F_TIME, "2018-07-02T22:23:00.186641Z"}, {SL_F_DATE, "2018-07-02"},
		{SL_F_CLIENT, "192.168.131.39"}, {SL_F_REQUEST_TIME, "0.048"},
		{SL_F_STATUS, "200"}, {SL_F_BYTES, "57"},
		{SL_F_REQUEST, "GET https://www.example.com:443/ HTTP/1.1"},
		{SL_F_METHOD, "GET"}, {SL_F_URL, "https://www.example.com:443/"},
		{SL_F_PATH, "https://www.example.com:443/"}, {SL_F_PROTOCOL, "HTTP/1.1"},
		{SL_F_USER_AGENT, "curl/7.46.0"}, {SL_F_VHOST, "www.example.com"},
		{0, NULL}}};
	check(&rec, ALB_LINE, strlen(ALB_LINE), &w, SL_F_COUNT);
	prefixes_safe(lf, ALB_LINE);
	sl_logformat_free(lf);
}

#define S3_LINE                                                                \
	"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be "     \
	"awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 "             \
	"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be "     \
	"3E57427F3EXAMPLE REST.GET.VERSIONING - "                               \
	"\"GET /awsexamplebucket1?versioning HTTP/1.1\" 200 - 113 - 7 - \"-\" " \
	"\"S3Console/0.4\" - "                                                  \
	"s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= " \
	"SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader "                         \
	"awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.2 - -"

static void preset_s3(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "s3");
	sl_record rec;
	assert_int_equal(parse(lf, S3_LINE, &rec), SL_OK);
	/* 2019-02-06T00:00:38Z = 1549411238; total_time 7 ms */
	want w = {1549411238, 200, 113, 0.007, {
		{SL_F_VHOST, "awsexamplebucket1"}, {SL_F_TIME, "06/Feb/2019:00:00:38 +0000"},
		{SL_F_DATE, "06/Feb/2019"}, {SL_F_CLIENT, "192.0.2.3"},
		{SL_F_USER, "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
		{SL_F_REQUEST, "GET /awsexamplebucket1?versioning HTTP/1.1"},
		{SL_F_METHOD, "GET"}, {SL_F_URL, "/awsexamplebucket1?versioning"},
		{SL_F_PATH, "/awsexamplebucket1"}, {SL_F_QUERY, "versioning"},
		{SL_F_PROTOCOL, "HTTP/1.1"}, {SL_F_STATUS, "200"}, {SL_F_BYTES, "113"},
		{SL_F_REQUEST_TIME, "7"}, {SL_F_REFERRER, "-"},
		{SL_F_USER_AGENT, "S3Console/0.4"}}};
	check(&rec, S3_LINE, strlen(S3_LINE), &w, SL_F_COUNT);
	prefixes_safe(lf, S3_LINE);
	sl_logformat_free(lf);
}

#define TRAEFIK_LINE                                                           \
	"192.168.1.10 - - [10/Oct/2023:13:55:36 +0000] \"GET /whoami HTTP/1.1\" " \
	"200 412 \"-\" \"curl/8.1.2\" 3 \"whoami@docker\" "                      \
	"\"http://172.18.0.3:80\" 2ms"

static void preset_traefik(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "traefik");
	sl_record rec;
	assert_int_equal(parse(lf, TRAEFIK_LINE, &rec), SL_OK);
	/* 2023-10-10T13:55:36Z = 1696946136; the duration in ms, not the
	 * request count that a combined parse would take for it */
	want w = {1696946136, 200, 412, 0.002, {
		{SL_F_CLIENT, "192.168.1.10"}, {SL_F_USER, "-"},
		{SL_F_TIME, "10/Oct/2023:13:55:36 +0000"}, {SL_F_DATE, "10/Oct/2023"},
		{SL_F_REQUEST, "GET /whoami HTTP/1.1"}, {SL_F_METHOD, "GET"},
		{SL_F_URL, "/whoami"}, {SL_F_PATH, "/whoami"}, {SL_F_PROTOCOL, "HTTP/1.1"},
		{SL_F_STATUS, "200"}, {SL_F_BYTES, "412"}, {SL_F_REFERRER, "-"},
		{SL_F_USER_AGENT, "curl/8.1.2"}, {SL_F_REQUEST_TIME, "2"}, {0, NULL}}};
	check(&rec, TRAEFIK_LINE, strlen(TRAEFIK_LINE), &w, SL_F_COUNT);
	prefixes_safe(lf, TRAEFIK_LINE);
	sl_logformat_free(lf);
}

#define LTSV_LINE                                                              \
	"time:[10/Oct/2000:13:55:36 -0700]\thost:127.0.0.1\tforwardedfor:-\t"   \
	"req:GET /apache_pb.gif?x=1 HTTP/1.0\tstatus:200\tsize:2326\t"          \
	"referer:http://www.example.com/start.html\tua:Mozilla/4.08 [en]\t"     \
	"reqtime:0.005\tvhost:www.example.com"

static void preset_ltsv(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "ltsv");
	sl_record rec;
	assert_int_equal(parse(lf, LTSV_LINE, &rec), SL_OK);
	/* 10/Oct/2000:13:55:36 -0700 = 2000-10-10T20:55:36Z = 971211336 */
	want w = {971211336, 200, 2326, 0.005, {
		{SL_F_TIME, "10/Oct/2000:13:55:36 -0700"}, {SL_F_DATE, "10/Oct/2000"},
		{SL_F_CLIENT, "127.0.0.1"}, {SL_F_REQUEST, "GET /apache_pb.gif?x=1 HTTP/1.0"},
		{SL_F_METHOD, "GET"}, {SL_F_URL, "/apache_pb.gif?x=1"},
		{SL_F_PATH, "/apache_pb.gif"}, {SL_F_QUERY, "x=1"},
		{SL_F_PROTOCOL, "HTTP/1.0"}, {SL_F_STATUS, "200"}, {SL_F_BYTES, "2326"},
		{SL_F_REFERRER, "http://www.example.com/start.html"},
		{SL_F_USER_AGENT, "Mozilla/4.08 [en]"}, {SL_F_REQUEST_TIME, "0.005"},
		{SL_F_VHOST, "www.example.com"}, {0, NULL}}};
	check(&rec, LTSV_LINE, strlen(LTSV_LINE), &w, SL_F_COUNT);
	/* a field without a label, and a combined line */
	assert_int_equal(parse(lf, "status:200\tnolabel", &rec), SL_EFORMAT);
	assert_int_equal(parse(lf, "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1",
			       &rec), SL_EFORMAT);
	assert_int_equal(parse(lf, "status:999", &rec), SL_EFORMAT);
	prefixes_safe(lf, LTSV_LINE);
	sl_logformat_free(lf);
}

#define CSV_HEAD "time,client,method,url,status,bytes,referrer,user_agent,request_time,vhost"
#define CSV_LINE                                                               \
	"2024-03-01T10:00:00Z,203.0.113.7,GET,\"/search?q=a,b\",200,1024,\"-\"," \
	"\"Mozilla/5.0 (X11; Linux) \"\"quoted\"\"\",0.25,shop.example"

static void preset_csv(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "csv");
	sl_record rec;
	const char *line = CSV_LINE;
	size_t n = strlen(line);
	assert_int_equal(parse(lf, CSV_HEAD, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, line, &rec), SL_OK);
	/* 2024-03-01T10:00:00Z = 1709287200; the agent had "" escapes, so
	 * it is unescaped into the scratch; the URL's comma was quoted */
	want w = {1709287200, 200, 1024, 0.25, {
		{SL_F_TIME, "2024-03-01T10:00:00Z"}, {SL_F_DATE, "2024-03-01"},
		{SL_F_CLIENT, "203.0.113.7"}, {SL_F_METHOD, "GET"},
		{SL_F_URL, "/search?q=a,b"}, {SL_F_PATH, "/search"}, {SL_F_QUERY, "q=a,b"},
		{SL_F_STATUS, "200"}, {SL_F_BYTES, "1024"}, {SL_F_REFERRER, "-"},
		{SL_F_USER_AGENT, "Mozilla/5.0 (X11; Linux) \"quoted\""},
		{SL_F_REQUEST_TIME, "0.25"}, {SL_F_VHOST, "shop.example"}, {0, NULL}}};
	check(&rec, line, n, &w, SL_F_USER_AGENT);
	assert_false(rec.field[SL_F_USER_AGENT].p >= line &&
		     rec.field[SL_F_USER_AGENT].p < line + n);
	/* an unterminated quote, a stray quote, another number of fields */
	assert_int_equal(parse(lf, "2024-03-01T10:00:01Z,203.0.113.8,GET,\"/x,200,1,-,-,0,h", &rec),
			 SL_EFORMAT);
	assert_int_equal(parse(lf, "2024-03-01T10:00:01Z,203.0.113.8,GET,/x\"y,200,1,-,-,0,h", &rec),
			 SL_EFORMAT);
	assert_int_equal(parse(lf, "2024-03-01T10:00:01Z,203.0.113.8,GET,/x,200", &rec), SL_EFORMAT);
	assert_int_equal(parse(lf, "2024-03-01T10:00:01Z,203.0.113.8,GET,/x,200,1,-,-,0,h,extra", &rec),
			 SL_EFORMAT);
	prefixes_safe(lf, CSV_LINE);
	sl_logformat_free(lf);

	/* a header wider than the columns kept (96): the columns past them
	 * are skipped, and rows of the header's width still parse */
	lf = preset(&b, "csv");
	char *wide = malloc(4096), *row = malloc(4096);
	assert_non_null(wide);
	assert_non_null(row);
	size_t wl = 0, rl = 0;
	for (int c = 0; c < 120; c++) {
		wl += (size_t)sprintf(wide + wl, c ? ",%s" : "%s",
				      c == 0 ? "client" : c == 5 ? "status" : c == 110 ? "bytes" : "x");
		rl += (size_t)sprintf(row + rl, c ? ",%s" : "%s",
				      c == 0 ? "192.0.2.1" : c == 5 ? "204" : c == 110 ? "77" : "v");
	}
	assert_int_equal(parse(lf, wide, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, row, &rec), SL_OK);
	assert_int_equal(rec.status, 204);
	assert_int_equal(rec.bytes, 0); /* column 110: not kept */
	assert_int_equal(rec.field[SL_F_CLIENT].len, 9);
	free(wide);
	free(row);
	sl_logformat_free(lf);
	assert_int_equal(b.used, 0);
}

#define TSV_HEAD "remote_addr\ttime_local\trequest\tstatus\tbody_bytes_sent\thttp_user_agent"
#define TSV_LINE "198.51.100.4\t10/Oct/2000:13:55:36 -0700\tGET /a.gif HTTP/1.0\t404\t-\tcurl/8.0"

static void preset_tsv(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "tsv");
	sl_record rec;
	assert_int_equal(parse(lf, TSV_HEAD, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, TSV_LINE, &rec), SL_OK);
	want w = {971211336, 404, 0, -1, {
		{SL_F_CLIENT, "198.51.100.4"}, {SL_F_TIME, "10/Oct/2000:13:55:36 -0700"},
		{SL_F_DATE, "10/Oct/2000"}, {SL_F_REQUEST, "GET /a.gif HTTP/1.0"},
		{SL_F_METHOD, "GET"}, {SL_F_URL, "/a.gif"}, {SL_F_PATH, "/a.gif"},
		{SL_F_PROTOCOL, "HTTP/1.0"}, {SL_F_STATUS, "404"}, {SL_F_BYTES, "-"},
		{SL_F_USER_AGENT, "curl/8.0"}, {0, NULL}}};
	check(&rec, TSV_LINE, strlen(TSV_LINE), &w, SL_F_COUNT);
	/* a second input: its first line is its header again, here after a
	 * UTF-8 byte order mark, which is not part of the first name */
	sl_logformat_reset(lf);
	assert_int_equal(parse(lf, "\xef\xbb\xbf" TSV_HEAD, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, TSV_LINE, &rec), SL_OK);
	check(&rec, TSV_LINE, strlen(TSV_LINE), &w, SL_F_COUNT);
	sl_logformat_free(lf);
}

#define COMBINED_MSG                                                           \
	"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" " \
	"200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\""

static void preset_syslog(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"Oct 11 22:14:15 web1 nginx: " COMBINED_MSG,
		"<190>Oct  1 22:14:15 web1 nginx[1234]: " COMBINED_MSG,
		"<190>1 2000-10-10T20:55:36Z web1 nginx 1234 - - " COMBINED_MSG,
		"<190>1 2000-10-10T20:55:36.003Z web1.example.com nginx - access "
		"[exampleSDID@32473 iut=\"3\" eventSource=\"x]y\"][b@1 a=\"\\\"\"] " COMBINED_MSG,
	};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf = preset(&b, "syslog");
	size_t mn = strlen(COMBINED_MSG);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		sl_record rec, want_rec;
		const char *line = lines[i];
		size_t n = strlen(line);
		if (parse(lf, line, &rec) != SL_OK) {
			print_message("syslog line %zu: %s\n", i, rec.why);
			fail();
		}
		/* the message is where it was written: the end of the line */
		const char *msg = line + n - mn;
		assert_int_equal(sl_access_parse(SL_FMT_COMBINED, msg, mn, &want_rec, NULL), SL_OK);
		want_rec.field[SL_F_LINE] = (sl_str){line, n};
		assert_true(same_record(SL_OK, &want_rec, SL_OK, &rec, 0));
		assert_int_equal(rec.time, 971211336);
		prefixes_safe(lf, line);
	}
	sl_record rec;
	/* a classic line without a syslog header, and a header around junk */
	assert_int_equal(parse(lf, COMBINED_MSG, &rec), SL_EFORMAT);
	assert_int_equal(parse(lf, "Oct 11 22:14:15 web1 nginx: hello", &rec), SL_EFORMAT);
	sl_logformat_free(lf);
}

/* ------------------------------------------------------------------------ */
/* One request, five ways                                                    */
/* ------------------------------------------------------------------------ */

/* Field f of a and b holds the same text. */
static bool same_text(const sl_record *a, const sl_record *b, sl_field f)
{
	return a->field[f].len == b->field[f].len &&
	       memcmp(a->field[f].p, b->field[f].p, a->field[f].len) == 0;
}

/*
 * The same seeded requests written as vcombined (read by sl_access_parse),
 * an nginx variant with other fields in another order and an ISO time, CSV
 * (the agent holds commas, so it is quoted), TSV and LTSV: every format
 * gives the same client, vhost, method, url, path, query, protocol, status,
 * bytes, referrer, agent, time and request time. (The report built on
 * these records is then the same; the lead's end-to-end test checks that.)
 */
static void same_requests_every_format(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("logformat five ways", 0xf17eULL)};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *nginx, *csv, *tsv, *ltsv;
	size_t pos;
	const char *why;
	assert_int_equal(sl_logformat_compile(&nginx, &b,
		"$host $remote_addr [$time_iso8601] \"$request_method $request_uri "
		"$server_protocol\" $status $body_bytes_sent $request_time "
		"\"$http_referer\" \"$http_user_agent\"", &pos, &why), SL_OK);
	csv = preset(&b, "csv");
	tsv = preset(&b, "tsv");
	ltsv = preset(&b, "ltsv");
	sl_record rec;
	assert_int_equal(parse(csv, "vhost,client,time,method,url,protocol,status,bytes,"
			       "request_time,referrer,user_agent", &rec), SL_ESKIP);
	assert_int_equal(parse(tsv, "user_agent\treferrer\trequest\tstatus\tbytes\t"
			       "time\tclient\trequest_time\tvhost", &rec), SL_ESKIP);
	static const char *const methods[] = {"GET", "POST", "HEAD"};
	static char lines[5][1024];
	for (int i = 0; i < 500; i++) {
		char client[32], vhost[32], url[64], ref[64], ua[96], rt[16], clf[27], iso[32];
		snprintf(client, sizeof client, "10.%d.%d.%d", (int)tu_below(&rng, 256),
			 (int)tu_below(&rng, 256), (int)tu_below(&rng, 256));
		snprintf(vhost, sizeof vhost, "h%d.example", (int)tu_below(&rng, 50));
		const char *m = PICK(&rng, methods);
		if (tu_below(&rng, 2))
			snprintf(url, sizeof url, "/p/%d?x=%d", (int)tu_below(&rng, 1000),
				 (int)tu_below(&rng, 9));
		else
			snprintf(url, sizeof url, "/p/%d", (int)tu_below(&rng, 1000));
		if (tu_below(&rng, 2))
			snprintf(ref, sizeof ref, "http://r.example/%d", (int)tu_below(&rng, 99));
		else
			strcpy(ref, "-");
		snprintf(ua, sizeof ua, "Mozilla/5.0 (X11, Linux; rv:%d) Gecko",
			 (int)tu_below(&rng, 200));
		snprintf(rt, sizeof rt, "%d.%03d", (int)tu_below(&rng, 3), (int)tu_below(&rng, 1000));
		int status = 100 + (int)tu_below(&rng, 500);
		unsigned long long bytes = tu_below(&rng, 1000000);
		int64_t t = (int64_t)tu_below(&rng, 2000000000);
		tu_log_time(clf, t);
		/* the ISO form of the same instant, from the CLF text's parts */
		static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
		int mo = (int)((strstr(mon, (char[4]){clf[3], clf[4], clf[5], 0}) - mon) / 3 + 1);
		snprintf(iso, sizeof iso, "%.4s-%02d-%.2sT%.8sZ", clf + 7, mo, clf, clf + 12);

		snprintf(lines[0], sizeof lines[0],
			 "%s %s - - [%s] \"%s %s HTTP/1.1\" %d %llu \"%s\" \"%s\" %s", vhost,
			 client, clf, m, url, status, bytes, ref, ua, rt);
		snprintf(lines[1], sizeof lines[1],
			 "%s %s [%s] \"%s %s HTTP/1.1\" %d %llu %s \"%s\" \"%s\"", vhost, client,
			 iso, m, url, status, bytes, rt, ref, ua);
		snprintf(lines[2], sizeof lines[2], "%s,%s,%s,%s,%s,HTTP/1.1,%d,%llu,%s,%s,\"%s\"",
			 vhost, client, iso, m, url, status, bytes, rt, ref, ua);
		snprintf(lines[3], sizeof lines[3], "%s\t%s\t%s %s HTTP/1.1\t%d\t%llu\t%s\t%s\t%s\t%s",
			 ua, ref, m, url, status, bytes, clf, client, rt, vhost);
		snprintf(lines[4], sizeof lines[4],
			 "host:%s\tvhost:%s\ttime:[%s]\tmethod:%s\turi:%s\tprotocol:HTTP/1.1\t"
			 "status:%d\tsize:%llu\treferer:%s\tua:%s\treqtime:%s",
			 client, vhost, clf, m, url, status, bytes, ref, ua, rt);
		sl_record r[5];
		assert_int_equal(sl_access_parse(SL_FMT_VCOMBINED, lines[0], strlen(lines[0]), &r[0],
						 NULL), SL_OK);
		sl_logformat *lfs[5] = {NULL, nginx, csv, tsv, ltsv};
		for (int k = 1; k < 5; k++) {
			if (parse(lfs[k], lines[k], &r[k]) != SL_OK) {
				print_message("%s: %s\n", lines[k], r[k].why);
				fail();
			}
			static const sl_field text[] = {
				SL_F_CLIENT, SL_F_VHOST, SL_F_METHOD, SL_F_URL, SL_F_PATH,
				SL_F_QUERY, SL_F_PROTOCOL, SL_F_STATUS, SL_F_REFERRER,
				SL_F_USER_AGENT, SL_F_REQUEST_TIME,
			};
			for (size_t j = 0; j < sizeof text / sizeof text[0]; j++)
				if (!same_text(&r[0], &r[k], text[j])) {
					print_message("format %d, field %s: '%.*s' vs '%.*s'\n", k,
						      sl_field_name(text[j]),
						      (int)r[0].field[text[j]].len, r[0].field[text[j]].p,
						      (int)r[k].field[text[j]].len, r[k].field[text[j]].p);
					fail();
				}
			assert_int_equal(r[k].time, t);
			assert_int_equal(r[k].time, r[0].time);
			assert_int_equal(r[k].status, r[0].status);
			assert_int_equal(r[k].bytes, r[0].bytes);
			assert_true(r[k].has_request_time && r[0].has_request_time);
			assert_true(memcmp(&r[k].request_time, &r[0].request_time, sizeof(double)) == 0);
		}
	}
	sl_logformat_free(nginx);
	sl_logformat_free(csv);
	sl_logformat_free(tsv);
	sl_logformat_free(ltsv);
	assert_int_equal(b.used, 0);
}

/* ------------------------------------------------------------------------ */
/* Format strings                                                            */
/* ------------------------------------------------------------------------ */

static void bad_strings(void **state)
{
	(void)state;
	static const struct {
		const char *spec, *at; /* at: the text the position must point at */
	} cases[] = {
		{"$remote_addr $ [$time_local]", "$ ["},
		{"$remote_addr ${status", ""},		/* at the end */
		{"%h %l %u %t \"%r\" %>s %Z", "%Z"},
		{"%h%u %s", "%u"},
		{"$remote_addr$status", "$status"},
		{"%h %^ %>s", "%>s"},			/* GoAccess, then Apache */
		{"%h %>s %^", "%^"},			/* Apache, then GoAccess */
		{"%h %{Referer", "{Referer"},
		{"%h %s %", "%"},
		{"- - [x]", "- - [x]"},			/* no field */
	};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sl_logformat *lf = (sl_logformat *)&b; /* must be reset to NULL */
		size_t pos = 12345;
		const char *why = NULL;
		const char *spec = cases[i].spec;
		size_t want_pos = *cases[i].at ? (size_t)(strstr(spec, cases[i].at) - spec) : strlen(spec);
		if (strcmp(cases[i].at, "%") == 0)
			want_pos = strlen(spec) - 1;
		sl_status st = sl_logformat_compile(&lf, &b, spec, &pos, &why);
		if (st != SL_EINVAL || pos != want_pos || !why || lf) {
			print_message("'%s': status %d, position %zu (want %zu), %s\n", spec, st,
				      pos, want_pos, why ? why : "no reason");
			fail();
		}
	}
	sl_logformat *lf;
	const char *why;
	size_t pos;
	assert_int_equal(sl_logformat_compile(&lf, &b, "", &pos, &why), SL_EINVAL);
	assert_int_equal(sl_logformat_compile(&lf, &b, NULL, NULL, NULL), SL_EINVAL);
	assert_int_equal(sl_logformat_preset(&lf, &b, "nosuch"), SL_EINVAL);
	assert_null(lf);
	assert_int_equal(b.used, 0);
}

/* Strings that compile, with the schema they yield and one line each. */
static void good_strings(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf;
	sl_record rec;
	size_t pos;
	const char *why;

	/* nginx, separate request parts, $msec, unknown variables skipped */
	assert_int_equal(sl_logformat_compile(&lf, &b,
		"$msec $remote_addr \"$request_method $uri $server_protocol\" $args "
		"$status ${bytes_sent}B $upstream_response_time $request_time $my_var",
		&pos, &why), SL_OK);
	assert_false(sl_logformat_has_field(lf, SL_F_REFERRER));
	assert_true(sl_logformat_has_field(lf, SL_F_PATH));
	assert_true(sl_logformat_has_field(lf, SL_F_DATE));
	/* a field holding its separator shifts the fields after it (as in
	 * any delimiter-based reading): nginx's "0.010, 0.020" for two
	 * upstreams gives the request time the second upstream's time */
	const char *l1 = "1700000000.123 198.51.100.2 \"PUT /obj/1 HTTP/1.1\" a=1&b=2 201 "
			 "512B 0.010, 0.020 0.031 anything";
	assert_int_equal(parse(lf, l1, &rec), SL_OK);
	assert_true(rec.request_time == 0.020);
	const char *l2 = "1700000000.123 198.51.100.2 \"PUT /obj/1 HTTP/1.1\" a=1&b=2 201 "
			 "512B 0.010 0.031 anything";
	assert_int_equal(parse(lf, l2, &rec), SL_OK);
	want w = {1700000000, 201, 512, 0.031, {
		{SL_F_TIME, "1700000000.123"}, {SL_F_CLIENT, "198.51.100.2"},
		{SL_F_METHOD, "PUT"}, {SL_F_PATH, "/obj/1"}, {SL_F_URL, "/obj/1"},
		{SL_F_PROTOCOL, "HTTP/1.1"}, {SL_F_QUERY, "a=1&b=2"}, {SL_F_STATUS, "201"},
		{SL_F_BYTES, "512"}, {SL_F_REQUEST_TIME, "0.031"}, {0, NULL}}};
	check(&rec, l2, strlen(l2), &w, SL_F_COUNT);
	/* a bad status and a bad request time */
	assert_int_equal(parse(lf, "1700000000 1.2.3.4 \"GET / HTTP/1.1\" - 600 1B - 0.1 x", &rec),
			 SL_EFORMAT);
	assert_int_equal(parse(lf, "1700000000 1.2.3.4 \"GET / HTTP/1.1\" - 200 1B - 0.1s x", &rec),
			 SL_EFORMAT);
	sl_logformat_free(lf);

	/* Apache: %D microseconds, %q with its '?', %U, %{ms}T, "%%" */
	assert_int_equal(sl_logformat_compile(&lf, &b,
		"%a %V [%{%Y-%m-%dT%H:%M:%S%z}t] %m %U%q %H %>s %O %D %{ms}T 100%%",
		&pos, &why), SL_OK);
	const char *l3 = "192.0.2.9 example.org [2024-03-01T10:00:00+0000] GET /p?k=v HTTP/1.1 "
			 "200 99 1500 2 100%";
	assert_int_equal(parse(lf, l3, &rec), SL_OK);
	/* %{ms}T comes last and wins: 2 ms */
	want w3 = {1709287200, 200, 99, 0.002, {
		{SL_F_CLIENT, "192.0.2.9"}, {SL_F_VHOST, "example.org"},
		{SL_F_TIME, "2024-03-01T10:00:00+0000"}, {SL_F_DATE, "2024-03-01"},
		{SL_F_METHOD, "GET"}, {SL_F_PATH, "/p"}, {SL_F_URL, "/p?k=v"},
		{SL_F_QUERY, "k=v"}, {SL_F_PROTOCOL, "HTTP/1.1"}, {SL_F_STATUS, "200"},
		{SL_F_BYTES, "99"}, {SL_F_REQUEST_TIME, "2"}, {0, NULL}}};
	check(&rec, l3, strlen(l3), &w3, SL_F_COUNT);
	sl_logformat_free(lf);

	/* GoAccess with an ISO date, %~ and %L milliseconds */
	assert_int_equal(sl_logformat_compile(&lf, &b, "%d %t %~%h \"%r\" %s %b %Lms",
					      &pos, &why), SL_OK);
	const char *l4 = "2024-03-01 10:00:00    10.0.0.1 \"GET / HTTP/1.1\" 304 - 12ms";
	assert_int_equal(parse(lf, l4, &rec), SL_OK);
	want w4 = {1709287200, 304, 0, 0.012, {
		{SL_F_TIME, "2024-03-01 10:00:00"}, {SL_F_DATE, "2024-03-01"},
		{SL_F_CLIENT, "10.0.0.1"}, {SL_F_REQUEST, "GET / HTTP/1.1"},
		{SL_F_METHOD, "GET"}, {SL_F_URL, "/"}, {SL_F_PATH, "/"},
		{SL_F_PROTOCOL, "HTTP/1.1"}, {SL_F_STATUS, "304"}, {SL_F_BYTES, "-"},
		{SL_F_REQUEST_TIME, "12"}, {0, NULL}}};
	check(&rec, l4, strlen(l4), &w4, SL_F_COUNT);
	sl_logformat_free(lf);
	/* a clock without a date is no time: the schema says so */
	assert_int_equal(sl_logformat_compile(&lf, &b, "%t %^ %h", &pos, &why), SL_OK);
	assert_false(sl_logformat_has_field(lf, SL_F_TIME));
	assert_false(sl_logformat_has_field(lf, SL_F_DATE));
	assert_true(sl_logformat_has_field(lf, SL_F_CLIENT));
	sl_logformat_free(lf);
	assert_int_equal(b.used, 0);
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

static void detection(void **state)
{
	(void)state;
	static const struct {
		const char *buf, *want;
	} cases[] = {
		{"#Software: Microsoft IIS\n#Version: 1.0\n" W3C_HEAD1 "\n" W3C_LINE1 "\n", "w3c"},
		{"#Version: 1.0\n" CF_FIELDS "\n" CF_LINE "\n", "cloudfront"},
		{CSV_HEAD "\n" CSV_LINE "\n", "csv"},
		{"\xef\xbb\xbf#Version: 1.0\n" W3C_HEAD1 "\n" W3C_LINE1 "\n", "w3c"},
		{"\xef\xbb\xbf" CSV_HEAD "\n" CSV_LINE "\n", "csv"},
		{TSV_HEAD "\n" TSV_LINE "\n", "tsv"},
		{LTSV_LINE "\n" LTSV_LINE "\n", "ltsv"},
		{"Oct 11 22:14:15 web1 nginx: " COMBINED_MSG "\n", "syslog"},
		{ELB_LINE "\n" ELB_NO_BACKEND "\n", "elb"},
		{ALB_LINE "\n", "alb"},
		{S3_LINE "\n", "s3"},
		{TRAEFIK_LINE "\n" TRAEFIK_LINE "\n", "traefik"},
		/* classic logs are not claimed */
		{COMBINED_MSG "\n" COMBINED_MSG " 0.002\n", NULL},
		{"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326\n", NULL},
		{"www.example.com " COMBINED_MSG "\n", NULL},
		{"hello world\nthis is not a log\n", NULL},
		/* an incomplete line is not looked at */
		{ELB_LINE, NULL},
		{"", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = sl_logformat_detect(cases[i].buf, strlen(cases[i].buf));
		if ((got == NULL) != (cases[i].want == NULL) ||
		    (got && strcmp(got, cases[i].want) != 0)) {
			print_message("case %zu: got %s, want %s\n", i, got ? got : "NULL",
				      cases[i].want ? cases[i].want : "NULL");
			fail();
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

static void out_of_memory(void **state)
{
	(void)state;
	sl_budget b;
	sl_logformat *lf;
	size_t pos;
	const char *why;
	/* a budget too small for the compiled format */
	sl_budget_init(&b, 1024);
	assert_int_equal(sl_logformat_compile(&lf, &b, NGINX_COMBINED, &pos, &why), SL_ENOMEM);
	assert_null(lf);
	assert_int_equal(sl_logformat_preset(&lf, &b, "csv"), SL_ENOMEM);
	assert_int_equal(b.used, 0);
	/* the CSV scratch refused: the line fails with SL_ENOMEM, the header
	 * kept, and the next line parses once memory is there */
	tu_fail_state fs = {1, 0, 0};
	sl_budget_init(&b, 1 << 20);
	sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
	assert_int_equal(sl_logformat_preset(&lf, &b, "csv"), SL_OK);
	sl_record rec;
	assert_int_equal(parse(lf, CSV_HEAD, &rec), SL_ENOMEM);
	fs.allow = -1;
	assert_int_equal(parse(lf, CSV_HEAD, &rec), SL_ESKIP);
	assert_int_equal(parse(lf, CSV_LINE, &rec), SL_OK);
	sl_logformat_free(lf);
	assert_int_equal(b.used, 0);
}

/* Hostile inputs: huge strings, huge lines of the bytes each parser looks
 * for; each must end quickly with an answer (the test's run time would
 * show a quadratic scan: a 64 KiB line of quotes and backslashes). */
static void hostile_inputs(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_logformat *lf;
	size_t pos;
	const char *why;
	char *big = malloc(SL_LINE_MAX + 1);
	assert_non_null(big);
	/* a string past 4096 bytes; one of 200 fields */
	memset(big, 'x', 5000);
	big[5000] = 0;
	assert_int_equal(sl_logformat_compile(&lf, &b, big, &pos, &why), SL_EINVAL);
	assert_int_equal(pos, 4096);
	size_t n = 0;
	for (int i = 0; i < 200; i++)
		n += (size_t)sprintf(big + n, "$status ");
	assert_int_equal(sl_logformat_compile(&lf, &b, big, &pos, &why), SL_EINVAL);
	assert_string_equal(why, "too many fields");
	/* 64 KiB of quotes and backslashes through a quoted field, CSV and
	 * LTSV; 64 KiB of tabs as a W3C header */
	static const char *const fill[] = {"\"", "\\\"", ",\"", "\t", ":"};
	static const char *const names[] = {"traefik", "csv", "tsv", "ltsv", "w3c", "syslog"};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		lf = preset(&b, names[k]);
		for (size_t f = 0; f < sizeof fill / sizeof fill[0]; f++) {
			size_t fl = strlen(fill[f]);
			n = 0;
			if (strcmp(names[k], "w3c") == 0) {
				memcpy(big, "#Fields: ", 9);
				n = 9;
			}
			while (n + fl <= SL_LINE_MAX) {
				memcpy(big + n, fill[f], fl);
				n += fl;
			}
			sl_record rec;
			sl_status st = sl_logformat_parse(lf, tu_guarded(big, n), n, &rec, NULL);
			assert_true(st == SL_OK || st == SL_ESKIP || (st == SL_EFORMAT && rec.why));
			st = sl_logformat_parse(lf, tu_guarded(big, n), n, &rec, NULL);
			assert_true(st == SL_OK || st == SL_ESKIP || (st == SL_EFORMAT && rec.why));
		}
		sl_logformat_free(lf);
	}
	free(big);
	assert_int_equal(b.used, 0);
}

/* ------------------------------------------------------------------------ */
/* The fuzz corpus                                                           */
/* ------------------------------------------------------------------------ */

/* The fuzz target itself, with its checks (it aborts on a failed one). */
#include "../fuzz/fuzz_logformat.c"

/* Every seed and regression of fuzz/corpus/fuzz_logformat run through the
 * fuzz target's checks, so that the sanitizer and valgrind runs replay them
 * too (without clang, the fuzz smoke does not run at all). */
static void corpus_replay(void **state)
{
	(void)state;
	DIR *d = opendir("fuzz/corpus/fuzz_logformat");
	if (!d) {
		print_message("no corpus directory (run from the top of the tree)\n");
		return;
	}
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[600];
		snprintf(path, sizeof path, "fuzz/corpus/fuzz_logformat/%s", e->d_name);
		size_t n;
		char *data = tu_slurp(path, &n);
		assert_non_null(data);
		uint8_t *exact = malloc(n ? n : 1); /* exactly sized */
		memcpy(exact, data, n);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
		free(data);
		files++;
	}
	closedir(d);
	assert_true(files >= 13);
}

/* CSV rows of unquoted fields of every length around the 16 bytes the
 * splitter takes a step (lib/format/logformat.c, plain_end), some with a
 * stray quote (the row is malformed), against the fields as written. */
static void csv_unquoted_fields_any_length(void **state)
{
	(void)state;
	sl_budget b;
	sl_logformat *lf = csv_with_header(&b, "client,referrer,user_agent,vhost");
	sl_record rec;
	tu_rng rng = {tu_seed("csv_unquoted_fields_any_length", 16)};
	static const char alphabet[] = "abcxyz0123456789 ./-_;()";
	const sl_field col[4] = {SL_F_CLIENT, SL_F_REFERRER, SL_F_USER_AGENT, SL_F_VHOST};
	for (int row = 0; row < 4000; row++) {
		char line[256], fields[4][48];
		size_t n = 0;
		bool stray = tu_below(&rng, 8) == 0;
		int where = (int)tu_below(&rng, 4);
		for (int c = 0; c < 4; c++) {
			size_t len = (size_t)tu_below(&rng, 41);
			for (size_t i = 0; i < len; i++)
				fields[c][i] = alphabet[tu_below(&rng, sizeof alphabet - 1)];
			if (stray && c == where && len)
				fields[c][tu_below(&rng, len)] = '"';
			fields[c][len] = 0;
			if (len && fields[c][0] == '"')
				fields[c][0] = 'q';	/* a leading quote would open a quoted field */
			n += (size_t)sprintf(line + n, c ? ",%s" : "%s", fields[c]);
		}
		bool has_quote = false;
		for (int c = 0; c < 4; c++)
			has_quote |= strchr(fields[c], '"') != NULL;
		sl_status st = parse(lf, line, &rec);
		if (has_quote) {
			if (st != SL_EFORMAT)
				fail_msg("seed %llu row %d: '%s' parsed", (unsigned long long)rng.s, row, line);
			continue;
		}
		if (st != SL_OK)
			fail_msg("row %d: '%s': %d", row, line, (int)st);
		for (int c = 0; c < 4; c++) {
			const sl_str *f = &rec.field[col[c]];
			if (f->len != strlen(fields[c]) || memcmp(f->p, fields[c], f->len) != 0)
				fail_msg("row %d column %d: '%.*s', written '%s'", row, c, (int)f->len,
					 f->p, fields[c]);
		}
	}
	sl_logformat_free(lf);
}

/* CSV rows of quoted and plain fields of every length around the 16 bytes
 * the splitter takes a step (lib/format/logformat.c, byte_at and plain_end,
 * whose last step reads the 16 bytes that end the field), with "" escapes,
 * separators inside quotes, and some malformed rows (a byte after a closing
 * quote, a quote never closed), each row at the end of a guarded page,
 * against the fields as written. */
static void csv_quoted_fields_any_length(void **state)
{
	(void)state;
	sl_budget b;
	sl_logformat *lf = csv_with_header(&b, "client,referrer,user_agent,vhost");
	sl_record rec;
	tu_rng rng = {tu_seed("csv_quoted_fields_any_length", 16)};
	static const char plain[] = "abcxyz0123456789 ./-_;()";
	static const char quoted[] = "abcxyz0123456789 ./-_;(),\"";
	const sl_field col[4] = {SL_F_CLIENT, SL_F_REFERRER, SL_F_USER_AGENT, SL_F_VHOST};
	for (int row = 0; row < 6000; row++) {
		char line[512], fields[4][48];
		size_t n = 0;
		/* 1: a byte after column where's closing quote; 2: the last
		 * column's quote never closed (each only if that one is quoted) */
		int bad = tu_below(&rng, 8) == 0 ? 1 + (int)tu_below(&rng, 2) : 0;
		int where = bad == 2 ? 3 : (int)tu_below(&rng, 4);
		bool malformed = false;
		for (int c = 0; c < 4; c++) {
			size_t len = (size_t)tu_below(&rng, 41);
			bool q = tu_below(&rng, 2) == 0;
			const char *abc = q ? quoted : plain;
			size_t na = q ? sizeof quoted - 1 : sizeof plain - 1;
			for (size_t i = 0; i < len; i++)
				fields[c][i] = abc[tu_below(&rng, na)];
			fields[c][len] = 0;
			if (c)
				line[n++] = ',';
			if (!q) {
				memcpy(line + n, fields[c], len);
				n += len;
				continue;
			}
			line[n++] = '"';
			for (size_t i = 0; i < len; i++) {
				if (fields[c][i] == '"')
					line[n++] = '"';
				line[n++] = fields[c][i];
			}
			malformed |= bad && c == where;
			if (bad != 2 || c != where)
				line[n++] = '"';
			if (bad == 1 && c == where)
				line[n++] = 'x';
		}
		sl_time_cache tc = {{0}, 0, 0};
		sl_status st = sl_logformat_parse(lf, tu_guarded(line, n), n, &rec, &tc);
		if (malformed) {
			if (st != SL_EFORMAT)
				fail_msg("seed %llu row %d: '%.*s' parsed", (unsigned long long)rng.s, row,
					 (int)n, line);
			continue;
		}
		if (st != SL_OK)
			fail_msg("row %d: '%.*s': %d", row, (int)n, line, (int)st);
		for (int c = 0; c < 4; c++) {
			const sl_str *f = &rec.field[col[c]];
			if (f->len != strlen(fields[c]) || memcmp(f->p, fields[c], f->len) != 0)
				fail_msg("row %d column %d: '%.*s', written '%s'", row, c, (int)f->len,
					 f->p, fields[c]);
		}
	}
	sl_logformat_free(lf);
}

/* One random CSV field into line at *n: plain, quoted (with "" escapes and
 * separators inside), empty, sometimes long (several 64-byte words), and
 * now and then malformed (a byte after the closing quote, a quote in a
 * plain field, a quote never closed). */
static void random_csv_field(tu_rng *rng, char *line, size_t *n)
{
	static const char plain[] = "abcxyz0123456789 ./-_;()";
	static const char quoted[] = "abcxyz0123456789 ./-_;(),\"";
	size_t len = tu_below(rng, 6) == 0 ? 60 + (size_t)tu_below(rng, 250)
					    : (size_t)tu_below(rng, 30);
	unsigned kind = (unsigned)tu_below(rng, 40);
	bool q = kind % 2 == 0;
	if (kind == 1 && len) {	/* a quote inside a plain field */
		for (size_t i = 0; i < len; i++)
			line[(*n)++] = plain[tu_below(rng, sizeof plain - 1)];
		line[*n - 1 - (size_t)tu_below(rng, len)] = '"';
		return;
	}
	if (!q) {
		for (size_t i = 0; i < len; i++)
			line[(*n)++] = plain[tu_below(rng, sizeof plain - 1)];
		return;
	}
	line[(*n)++] = '"';
	for (size_t i = 0; i < len; i++) {
		char c = quoted[tu_below(rng, sizeof quoted - 1)];
		if (c == '"')
			line[(*n)++] = '"';
		line[(*n)++] = c;
	}
	if (kind != 2)	/* 2: never closed */
		line[(*n)++] = '"';
	if (kind == 4)
		line[(*n)++] = 'x';
}

/* CSV rows through the line reader's index (sl_logformat_lines_parse) give
 * what the byte path gives (sl_logformat_parse): verdict, reason, every
 * field and value, on rows that start anywhere in a 64-byte word, span
 * several words, end in CRLF, have too few or too many fields, or are
 * malformed; the buffer ends at a guard page. */
static void csv_indexed_rows_same_as_byte_path(void **state)
{
	(void)state;
	sl_budget b;
	sl_logformat *lf = csv_with_header(&b, "client,referrer,status,user_agent,nope,vhost");
	sl_record ra, rb;
	tu_rng rng = {tu_seed("csv_indexed_rows_same_as_byte_path", 64)};
	size_t cap = 1 << 18, n = 0;	/* the guard page's room */
	char *buf = malloc(cap);
	assert_non_null(buf);
	/* a quoted first field whose closing quote falls on every offset
	 * around the ends of the first two words, then a byte or a separator */
	for (int pad = 0; pad < 140; pad++)
		for (int after = 0; after < 2; after++) {
			buf[n++] = '"';
			memset(buf + n, 'a', (size_t)pad);
			n += (size_t)pad;
			buf[n++] = '"';
			n += (size_t)sprintf(buf + n, "%s,b,200,c,d,e\n", after ? "x" : "");
		}
	while (n < cap - 4096) {
		int fields = 6 + (tu_below(&rng, 10) == 0 ? (int)tu_below(&rng, 5) - 2 : 0);
		for (int c = 0; c < fields; c++) {
			if (c)
				buf[n++] = ',';
			if (c == 2 && tu_below(&rng, 8) != 0)
				n += (size_t)sprintf(buf + n, "%u", 100 + (unsigned)tu_below(&rng, 500));
			else
				random_csv_field(&rng, buf, &n);
		}
		if (tu_below(&rng, 5) == 0)
			buf[n++] = '\r';
		buf[n++] = '\n';
	}
	const char *g = tu_guarded(buf, n);
	sl_scan_lines *it = malloc(sizeof *it);
	assert_non_null(it);
	char cc[3];
	int nc = sl_logformat_index_chars(lf, cc);
	assert_int_equal(nc, 3);
	sl_scan_lines_init(it, g, n, cc, nc);
	const char *line;
	size_t len, rows = 0, indexed_ok = 0;
	bool indexed;
	while (sl_scan_lines_next(it, &line, &len, &indexed)) {
		if (!indexed)
			continue;
		sl_status sa = sl_logformat_lines_parse(lf, it, line, len, &ra, NULL);
		sl_status sb = sl_logformat_parse(lf, line, len, &rb, NULL);
		if (sa != sb || (sa != SL_OK && strcmp(ra.why, rb.why) != 0) ||
		    !same_record(sa, &ra, sb, &rb, 0))
			fail_msg("seed %llu row %zu: '%.*s': indexed %d (%s), bytes %d (%s)",
				 (unsigned long long)rng.s, rows, (int)len, line, (int)sa,
				 sa == SL_OK ? "ok" : ra.why, (int)sb, sb == SL_OK ? "ok" : rb.why);
		rows++;
		indexed_ok += sa == SL_OK;
	}
	/* most rows are indexed and well formed */
	assert_true(rows > 1000);
	assert_true(indexed_ok > rows / 3);
	free(it);
	free(buf);
	sl_logformat_free(lf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checker_can_fail),
		cmocka_unit_test(equivalence),
		cmocka_unit_test(preset_w3c),
		cmocka_unit_test(preset_cloudfront),
		cmocka_unit_test(preset_elb),
		cmocka_unit_test(preset_alb),
		cmocka_unit_test(preset_s3),
		cmocka_unit_test(preset_traefik),
		cmocka_unit_test(preset_ltsv),
		cmocka_unit_test(preset_csv),
		cmocka_unit_test(csv_unquoted_fields_any_length),
		cmocka_unit_test(csv_quoted_fields_any_length),
		cmocka_unit_test(csv_indexed_rows_same_as_byte_path),
		cmocka_unit_test(preset_tsv),
		cmocka_unit_test(preset_syslog),
		cmocka_unit_test(same_requests_every_format),
		cmocka_unit_test(bad_strings),
		cmocka_unit_test(good_strings),
		cmocka_unit_test(detection),
		cmocka_unit_test(out_of_memory),
		cmocka_unit_test(hostile_inputs),
		cmocka_unit_test(corpus_replay),
	};
	return cmocka_run_group_tests(tests, tu_guard_setup, tu_guard_teardown);
}
