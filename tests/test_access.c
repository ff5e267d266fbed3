/*
 * test_access.c: the access-log parser against its contract.
 *
 *  - hand-checked lines of every format, every field compared with text and
 *    values derived by hand from the literal line (times checked with
 *    `date -u -d`), and each field checked to point into the line;
 *  - every truncated prefix of every such line, each placed so that its last
 *    byte is the last byte before a PROT_NONE page;
 *  - malformed lines (each must give SL_EFORMAT and a reason);
 *  - a 64 KiB line;
 *  - the time conversion and its cache against timegm() on random dates,
 *    and date validity against timegm()'s normalisation;
 *  - random lines built from random field values, parsed and compared with
 *    the generator's own values (not with the parser's output);
 *  - the report's path: every parse above is repeated through the line
 *    reader's index (sl_access_lines_parse) and must give the same record;
 *    random buffers of generated, long, junk and empty lines at the guard
 *    page, read and parsed as the feed does;
 *  - %b and the extras as short random tokens against a naive grammar, so
 *    the word-at-a-time readers meet every length and misplaced dot;
 *  - format detection.
 */
#include "testutil.h"
#include "guardpage.h"
#include "format/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Both parsing paths                                                        */
/* ------------------------------------------------------------------------ */

/* The two parses of one line agree: status and reason, and on success every
 * field and value. Prints the first difference. */
static bool same_parse(sl_status sa, const sl_record *a, sl_status sb,
		       const sl_record *b)
{
	if (sa != sb || a->why != b->why) {
		print_message("paths: status %d/%d, why %s/%s\n", sa, sb,
			      a->why ? a->why : "-", b->why ? b->why : "-");
		return false;
	}
	if (sa != SL_OK)
		return true;
	for (int f = 0; f < SL_F_COUNT; f++)
		if (a->field[f].len != b->field[f].len ||
		    (a->field[f].len && a->field[f].p != b->field[f].p)) {
			print_message("paths: field %s differs\n",
				      sl_field_name((sl_field)f));
			return false;
		}
	if (a->time != b->time || a->status != b->status ||
	    a->bytes != b->bytes || a->has_request_time != b->has_request_time ||
	    memcmp(&a->request_time, &b->request_time, sizeof(double)) != 0) {
		print_message("paths: values differ\n");
		return false;
	}
	return true;
}

static unsigned ring_parses; /* lines parse_both took through the ring */

/*
 * sl_access_parse, and the feed's path for the same line: the line read by
 * the line reader from a buffer of just that line and parsed on its index
 * (sl_access_lines_parse), with a copy of the cache. Fails the test unless
 * both give the same record and leave the same cache. A line holding a
 * '\n', or too long for the reader's index, has only the first path.
 */
static sl_status parse_both(sl_format fmt, const char *line, size_t len,
			    sl_record *rec, sl_time_cache *tc)
{
	sl_time_cache tc2;
	if (tc)
		tc2 = *tc;
	sl_status st = sl_access_parse(fmt, line, len, rec, tc);
	if (memchr(line, '\n', len))
		return st;
	sl_scan_lines it;
	const char *l;
	size_t n;
	bool indexed;
	sl_access_lines_init(&it, line, len);
	if (!sl_scan_lines_next(&it, &l, &n, &indexed)) {
		assert_int_equal(len, 0);
		return st;
	}
	assert_ptr_equal(l, line);
	assert_int_equal(n, len);
	assert_true(indexed || len > SL_SCAN_BITS_BYTES);
	if (!indexed)
		return st;
	sl_record rec2;
	sl_status st2 = sl_access_lines_parse(fmt, &it, l, n, &rec2,
					      tc ? &tc2 : NULL);
	if (!same_parse(st, rec, st2, &rec2) ||
	    (tc && (tc->len != tc2.len || tc->time != tc2.time ||
		    memcmp(tc->text, tc2.text, tc->len) != 0))) {
		print_message("line: %.*s\n", (int)len, line);
		fail();
	}
	ring_parses++;
	return st;
}

/* ------------------------------------------------------------------------ */
/* Expected records                                                          */
/* ------------------------------------------------------------------------ */

/*
 * A hand-checked line: line = head tail. Every prefix shorter than head is
 * invalid; every prefix at least as long as head is valid (tail is what may
 * be cut: digits of %b, extras, '\r').
 */
typedef struct {
	sl_format fmt;
	const char *head, *tail;
	const char *f[SL_F_COUNT]; /* expected text; NULL means empty */
	int64_t time;
	uint32_t status;
	uint64_t bytes;
	bool has_rt;
	double rt;
} sample;

/* True when rec holds exactly what s expects, every non-empty field
 * pointing inside line[0 .. n-1]. Prints the first differences. */
static bool rec_matches(const sl_record *r, const char *line, size_t n,
			const sample *s)
{
	bool ok = true;
	/* the derived fields: the line, the query after the URL's '?', the
	 * logged date (the time's first 11 bytes) */
	const sl_str *fl = r->field;
	const char *url = s->f[SL_F_URL] ? s->f[SL_F_URL] : "";
	const char *q = strchr(url, '?');
	const char *qwant = q ? q + 1 : "";
	size_t tl = s->f[SL_F_TIME] ? strlen(s->f[SL_F_TIME]) : 0;
	if (fl[SL_F_LINE].p != line || fl[SL_F_LINE].len != n || fl[SL_F_LENGTH].len != 0 ||
	    fl[SL_F_QUERY].len != strlen(qwant) || memcmp(fl[SL_F_QUERY].p, qwant, strlen(qwant)) ||
	    fl[SL_F_DATE].len != (tl < 11 ? tl : 11) ||
	    (tl && memcmp(fl[SL_F_DATE].p, s->f[SL_F_TIME], fl[SL_F_DATE].len))) {
		print_message("derived fields (line, query, date) wrong\n");
		ok = false;
	}
	for (int f = 0; f < SL_F_QUERY; f++) {
		const char *want = s->f[f] ? s->f[f] : "";
		size_t wn = strlen(want);
		const sl_str *got = &r->field[f];
		if (got->len != wn || (wn && memcmp(got->p, want, wn) != 0)) {
			print_message("field %s: got '%.*s', want '%s'\n",
				      sl_field_name((sl_field)f),
				      (int)(got->len > 200 ? 200 : got->len),
				      got->len ? got->p : "", want);
			ok = false;
		} else if (wn && (got->p < line || got->p + wn > line + n)) {
			print_message("field %s does not point into the line\n",
				      sl_field_name((sl_field)f));
			ok = false;
		}
	}
	if (r->time != s->time) {
		print_message("time: got %lld, want %lld\n",
			      (long long)r->time, (long long)s->time);
		ok = false;
	}
	if (r->status != s->status || r->bytes != s->bytes) {
		print_message("status/bytes: got %u/%llu, want %u/%llu\n",
			      r->status, (unsigned long long)r->bytes, s->status,
			      (unsigned long long)s->bytes);
		ok = false;
	}
	if (r->has_request_time != s->has_rt ||
	    (s->has_rt && r->request_time != s->rt)) {
		print_message("request time: got %d %.17g, want %d %.17g\n",
			      r->has_request_time, r->request_time, s->has_rt,
			      s->rt);
		ok = false;
	}
	if (r->why) {
		print_message("why set on success: %s\n", r->why);
		ok = false;
	}
	return ok;
}

#define T_OCT "10/Oct/2000:13:55:36 -0700"
#define APACHE_REQ "GET /apache_pb.gif HTTP/1.0"
#define APACHE_PREFIX "127.0.0.1 - frank [" T_OCT "] \"" APACHE_REQ "\" 200 "
#define APACHE_FIELDS                                                      \
	[SL_F_CLIENT] = "127.0.0.1", [SL_F_IDENT] = "-",                   \
	[SL_F_USER] = "frank", [SL_F_TIME] = T_OCT,                        \
	[SL_F_REQUEST] = APACHE_REQ, [SL_F_METHOD] = "GET",                \
	[SL_F_URL] = "/apache_pb.gif", [SL_F_PATH] = "/apache_pb.gif",     \
	[SL_F_PROTOCOL] = "HTTP/1.0", [SL_F_STATUS] = "200"
#define MOZ "Mozilla/4.08 [en] (Win98; I ;Nav)"
#define CURL "curl/8.0"

static const sample samples[] = {
	/* Apache's own examples */
	{SL_FMT_COMMON, APACHE_PREFIX "2", "326",
	 {APACHE_FIELDS, [SL_F_BYTES] = "2326"}, 971211336, 200, 2326, false, 0},
	{SL_FMT_COMMON, APACHE_PREFIX "2", "326\r",
	 {APACHE_FIELDS, [SL_F_BYTES] = "2326"}, 971211336, 200, 2326, false, 0},
	{SL_FMT_COMMON, APACHE_PREFIX "2", "326  \r",
	 {APACHE_FIELDS, [SL_F_BYTES] = "2326"}, 971211336, 200, 2326, false, 0},
	{SL_FMT_COMMON, APACHE_PREFIX "-", "",
	 {APACHE_FIELDS, [SL_F_BYTES] = "-"}, 971211336, 200, 0, false, 0},
	{SL_FMT_COMBINED,
	 APACHE_PREFIX "2326 \"http://www.example.com/start.html\" \"" MOZ "\"",
	 "",
	 {APACHE_FIELDS, [SL_F_BYTES] = "2326",
	  [SL_F_REFERRER] = "http://www.example.com/start.html",
	  [SL_F_USER_AGENT] = MOZ},
	 971211336, 200, 2326, false, 0},
	/* IPv6 clients, '-' bytes, query strings */
	{SL_FMT_COMBINED,
	 "2001:db8::1 - - [01/Jan/2024:00:00:00 +0000] \"POST "
	 "/api/v1/items?id=7&x=y HTTP/1.1\" 201 - \"-\" \"" CURL "\"",
	 "\r",
	 {[SL_F_CLIENT] = "2001:db8::1", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "01/Jan/2024:00:00:00 +0000",
	  [SL_F_REQUEST] = "POST /api/v1/items?id=7&x=y HTTP/1.1",
	  [SL_F_METHOD] = "POST", [SL_F_URL] = "/api/v1/items?id=7&x=y",
	  [SL_F_PATH] = "/api/v1/items", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "201", [SL_F_BYTES] = "-", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = CURL},
	 1704067200, 201, 0, false, 0},
	{SL_FMT_COMMON,
	 "::ffff:1.2.3.4 ident bob [29/Feb/2024:23:59:60 +0100] \"HEAD "
	 "/?a HTTP/2.0\" 599 1",
	 "8446744073709551615",
	 {[SL_F_CLIENT] = "::ffff:1.2.3.4", [SL_F_IDENT] = "ident",
	  [SL_F_USER] = "bob", [SL_F_TIME] = "29/Feb/2024:23:59:60 +0100",
	  [SL_F_REQUEST] = "HEAD /?a HTTP/2.0", [SL_F_METHOD] = "HEAD",
	  [SL_F_URL] = "/?a", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/2.0",
	  [SL_F_STATUS] = "599", [SL_F_BYTES] = "18446744073709551615"},
	 1709247600, 599, UINT64_MAX, false, 0},
	{SL_FMT_COMMON,
	 "host.example.org - - [15/Jun/2023:08:30:00 +0530] \"M-SEARCH * "
	 "HTTP/1.1\" 100 0",
	 "",
	 {[SL_F_CLIENT] = "host.example.org", [SL_F_IDENT] = "-",
	  [SL_F_USER] = "-", [SL_F_TIME] = "15/Jun/2023:08:30:00 +0530",
	  [SL_F_REQUEST] = "M-SEARCH * HTTP/1.1", [SL_F_METHOD] = "M-SEARCH",
	  [SL_F_URL] = "*", [SL_F_PATH] = "*", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "100", [SL_F_BYTES] = "0"},
	 1686798000, 100, 0, false, 0},
	/* escaped quotes and backslashes (Apache), \x22 (nginx) */
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"GET /q?s=\\\"x\\\" HTTP/1.1\" 404 5 "
	 "\"http://a/\\\"b\\\"\" \"UA \\\"quoted\\\" \\\\\"",
	 "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_REQUEST] = "GET /q?s=\\\"x\\\" HTTP/1.1",
	  [SL_F_METHOD] = "GET", [SL_F_URL] = "/q?s=\\\"x\\\"", [SL_F_PATH] = "/q",
	  [SL_F_PROTOCOL] = "HTTP/1.1", [SL_F_STATUS] = "404",
	  [SL_F_BYTES] = "5", [SL_F_REFERRER] = "http://a/\\\"b\\\"",
	  [SL_F_USER_AGENT] = "UA \\\"quoted\\\" \\\\"},
	 971211336, 404, 5, false, 0},
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"GET /a\\x22b HTTP/1.1\" 200 7 "
	 "\"\\x22\" \"x\\x22y\"",
	 "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_REQUEST] = "GET /a\\x22b HTTP/1.1",
	  [SL_F_METHOD] = "GET", [SL_F_URL] = "/a\\x22b", [SL_F_PATH] = "/a\\x22b",
	  [SL_F_PROTOCOL] = "HTTP/1.1", [SL_F_STATUS] = "200",
	  [SL_F_BYTES] = "7", [SL_F_REFERRER] = "\\x22",
	  [SL_F_USER_AGENT] = "x\\x22y"},
	 971211336, 200, 7, false, 0},
	/* requests that are not METHOD TARGET PROTOCOL */
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"-\" 400 0 \"-\" \"-\"", "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_REQUEST] = "-", [SL_F_URL] = "-",
	  [SL_F_PATH] = "-", [SL_F_STATUS] = "400", [SL_F_BYTES] = "0",
	  [SL_F_REFERRER] = "-", [SL_F_USER_AGENT] = "-"},
	 971211336, 400, 0, false, 0},
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"\\x16\\x03\\x01\\x00\\xA5 \\x01?x\" 400 "
	 "166 \"-\" \"-\"", "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_REQUEST] = "\\x16\\x03\\x01\\x00\\xA5 \\x01?x",
	  [SL_F_URL] = "\\x16\\x03\\x01\\x00\\xA5 \\x01?x",
	  [SL_F_PATH] = "\\x16\\x03\\x01\\x00\\xA5 \\x01",
	  [SL_F_STATUS] = "400", [SL_F_BYTES] = "166", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = "-"},
	 971211336, 400, 166, false, 0},
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"GET /\" 200 1 \"\" \"\"", "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_REQUEST] = "GET /", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_STATUS] = "200",
	  [SL_F_BYTES] = "1"},
	 971211336, 200, 1, false, 0},
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"\" 408 0 \"-\" \"-\"", "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_STATUS] = "408", [SL_F_BYTES] = "0",
	  [SL_F_REFERRER] = "-", [SL_F_USER_AGENT] = "-"},
	 971211336, 408, 0, false, 0},
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"GET / HTTP/1.x\" 200 1 \"-\" \"-\"", "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_REQUEST] = "GET / HTTP/1.x",
	  [SL_F_METHOD] = "GET", [SL_F_URL] = "/ HTTP/1.x",
	  [SL_F_PATH] = "/ HTTP/1.x", [SL_F_STATUS] = "200",
	  [SL_F_BYTES] = "1", [SL_F_REFERRER] = "-", [SL_F_USER_AGENT] = "-"},
	 971211336, 200, 1, false, 0},
	{SL_FMT_COMBINED,
	 "1.2.3.4 - - [" T_OCT "] \"GET /a b?c d HTTP/2\" 200 1 \"-\" \"-\"",
	 "",
	 {[SL_F_CLIENT] = "1.2.3.4", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = T_OCT, [SL_F_REQUEST] = "GET /a b?c d HTTP/2",
	  [SL_F_METHOD] = "GET", [SL_F_URL] = "/a b?c d", [SL_F_PATH] = "/a b",
	  [SL_F_PROTOCOL] = "HTTP/2", [SL_F_STATUS] = "200",
	  [SL_F_BYTES] = "1", [SL_F_REFERRER] = "-", [SL_F_USER_AGENT] = "-"},
	 971211336, 200, 1, false, 0},
	/* combined with extras: nginx $request_time [$upstream_response_time] */
	{SL_FMT_COMBINED,
	 "10.0.0.2 - - [01/Jan/2024:00:00:00 +1400] \"GET / HTTP/1.1\" 200 "
	 "612 \"-\" \"" CURL "\"",
	 " 0.123",
	 {[SL_F_CLIENT] = "10.0.0.2", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "01/Jan/2024:00:00:00 +1400",
	  [SL_F_REQUEST] = "GET / HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "200", [SL_F_BYTES] = "612", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = CURL, [SL_F_REQUEST_TIME] = "0.123"},
	 1704016800, 200, 612, true, 0.123},
	{SL_FMT_COMBINED,
	 "10.0.0.2 - - [28/Feb/2100:12:00:00 +0000] \"GET / HTTP/1.1\" 200 "
	 "612 \"-\" \"" CURL "\"",
	 " 0.005 0.004",
	 {[SL_F_CLIENT] = "10.0.0.2", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "28/Feb/2100:12:00:00 +0000",
	  [SL_F_REQUEST] = "GET / HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "200", [SL_F_BYTES] = "612", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = CURL, [SL_F_REQUEST_TIME] = "0.005"},
	 4107499200, 200, 612, true, 0.005},
	{SL_FMT_COMBINED,
	 "10.0.0.2 - - [28/Feb/1900:23:00:00 -0100] \"GET / HTTP/1.1\" 200 "
	 "612 \"-\" \"" CURL "\"",
	 " \"-\" x=1 \"12\" 3.5\r",
	 {[SL_F_CLIENT] = "10.0.0.2", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "28/Feb/1900:23:00:00 -0100",
	  [SL_F_REQUEST] = "GET / HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "200", [SL_F_BYTES] = "612", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = CURL, [SL_F_REQUEST_TIME] = "12"},
	 -2203891200, 200, 612, true, 12.0},
	{SL_FMT_COMBINED,
	 "10.0.0.2 - - [29/Feb/2024:12:00:00 +0000] \"GET / HTTP/1.1\" 200 "
	 "612 \"-\" \"" CURL "\"",
	 " - \"a b\" 1.",
	 {[SL_F_CLIENT] = "10.0.0.2", [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "29/Feb/2024:12:00:00 +0000",
	  [SL_F_REQUEST] = "GET / HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "200", [SL_F_BYTES] = "612", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = CURL},
	 1709208000, 200, 612, false, 0},
	/* vcombined, with and without a port */
	{SL_FMT_VCOMBINED,
	 "www.example.com:443 10.0.0.1 - - [04/Jul/2012:08:15:00 -1200] \"GET "
	 "/ HTTP/2.0\" 304 0 \"-\" \"Mozilla/5.0\"",
	 " 1.5",
	 {[SL_F_VHOST] = "www.example.com", [SL_F_CLIENT] = "10.0.0.1",
	  [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "04/Jul/2012:08:15:00 -1200",
	  [SL_F_REQUEST] = "GET / HTTP/2.0", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/2.0",
	  [SL_F_STATUS] = "304", [SL_F_BYTES] = "0", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = "Mozilla/5.0", [SL_F_REQUEST_TIME] = "1.5"},
	 1341432900, 304, 0, true, 1.5},
	{SL_FMT_VCOMBINED,
	 "example.org ::1 - - [01/Mar/2000:00:00:00 +0000] \"GET / HTTP/1.1\" "
	 "200 9 \"-\" \"-\"",
	 "",
	 {[SL_F_VHOST] = "example.org", [SL_F_CLIENT] = "::1",
	  [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "01/Mar/2000:00:00:00 +0000",
	  [SL_F_REQUEST] = "GET / HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "200", [SL_F_BYTES] = "9", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = "-"},
	 951868800, 200, 9, false, 0},
	{SL_FMT_VCOMBINED,
	 "[2001:db8::5]:8443 10.0.0.1 - - [31/Dec/9999:23:59:59 +0000] \"GET "
	 "/ HTTP/1.1\" 200 9 \"-\" \"-\"",
	 "",
	 {[SL_F_VHOST] = "[2001:db8::5]", [SL_F_CLIENT] = "10.0.0.1",
	  [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "31/Dec/9999:23:59:59 +0000",
	  [SL_F_REQUEST] = "GET / HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "200", [SL_F_BYTES] = "9", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = "-"},
	 253402300799, 200, 9, false, 0},
	{SL_FMT_VCOMBINED,
	 "::1 10.0.0.1 - - [01/Jan/0000:00:00:00 +0000] \"GET / HTTP/1.1\" "
	 "200 9 \"-\" \"-\"",
	 "",
	 {[SL_F_VHOST] = "::1", [SL_F_CLIENT] = "10.0.0.1",
	  [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "01/Jan/0000:00:00:00 +0000",
	  [SL_F_REQUEST] = "GET / HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/", [SL_F_PATH] = "/", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "200", [SL_F_BYTES] = "9", [SL_F_REFERRER] = "-",
	  [SL_F_USER_AGENT] = "-"},
	 -62167219200, 200, 9, false, 0},
	/* vcommon (Apache's vhost_common: %v:%p then common) */
	{SL_FMT_VCOMMON, "www.example.com:80 " APACHE_PREFIX "2", "326",
	 {APACHE_FIELDS, [SL_F_VHOST] = "www.example.com",
	  [SL_F_BYTES] = "2326"}, 971211336, 200, 2326, false, 0},
	{SL_FMT_VCOMMON,
	 "example.org 10.0.0.9 - - [01/Mar/2000:00:00:00 +0000] \"GET /x "
	 "HTTP/1.1\" 404 -", "\r",
	 {[SL_F_VHOST] = "example.org", [SL_F_CLIENT] = "10.0.0.9",
	  [SL_F_IDENT] = "-", [SL_F_USER] = "-",
	  [SL_F_TIME] = "01/Mar/2000:00:00:00 +0000",
	  [SL_F_REQUEST] = "GET /x HTTP/1.1", [SL_F_METHOD] = "GET",
	  [SL_F_URL] = "/x", [SL_F_PATH] = "/x", [SL_F_PROTOCOL] = "HTTP/1.1",
	  [SL_F_STATUS] = "404", [SL_F_BYTES] = "-"},
	 951868800, 404, 0, false, 0},
};

#define NSAMPLES (sizeof samples / sizeof samples[0])

static size_t sample_line(const sample *s, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s%s", s->head, s->tail);
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* The checker itself can fail: a wrong expectation is caught. */
static void checker_catches_mismatch(void **state)
{
	(void)state;
	char line[1024];
	const sample *s = &samples[4];
	size_t n = sample_line(s, line, sizeof line);
	sl_record rec;
	sl_time_cache tc = {{0}, 0, 0};
	assert_int_equal(parse_both(s->fmt, line, n, &rec, &tc), SL_OK);
	assert_true(rec_matches(&rec, line, n, s));
	sample wrong = *s;
	wrong.f[SL_F_PATH] = "/apache_pb.gi";
	assert_false(rec_matches(&rec, line, n, &wrong));
	wrong = *s;
	wrong.time++;
	assert_false(rec_matches(&rec, line, n, &wrong));
	wrong = *s;
	wrong.has_rt = true;
	assert_false(rec_matches(&rec, line, n, &wrong));
	/* a field equal in text but outside the line is not zero-copy */
	sl_record moved = rec;
	moved.field[SL_F_USER].p = "frank";
	assert_false(rec_matches(&moved, line, n, s));
	/* the two-path comparison catches a moved field or a value */
	assert_true(same_parse(SL_OK, &rec, SL_OK, &rec));
	assert_false(same_parse(SL_OK, &rec, SL_OK, &moved));
	moved = rec;
	moved.bytes++;
	assert_false(same_parse(SL_OK, &rec, SL_OK, &moved));
	assert_false(same_parse(SL_OK, &rec, SL_EFORMAT, &rec));
	/* and parse_both took the ring's path */
	assert_true(ring_parses > 0);
}

static void known_lines(void **state)
{
	(void)state;
	char line[1024];
	for (size_t i = 0; i < NSAMPLES; i++) {
		const sample *s = &samples[i];
		size_t n = sample_line(s, line, sizeof line);
		sl_record rec;
		sl_time_cache tc = {{0}, 0, 0};
		sl_status st = parse_both(s->fmt, line, n, &rec, &tc);
		if (st != SL_OK)
			print_message("sample %zu: %s: %s\n", i, line, rec.why);
		assert_int_equal(st, SL_OK);
		assert_true(rec_matches(&rec, line, n, s));
		/* again with the cache warm, and without a cache */
		assert_int_equal(parse_both(s->fmt, line, n, &rec, &tc),
				 SL_OK);
		assert_true(rec_matches(&rec, line, n, s));
		assert_int_equal(parse_both(s->fmt, line, n, &rec, NULL),
				 SL_OK);
		assert_true(rec_matches(&rec, line, n, s));
	}
}

/* Every prefix of every sample, at the guard page. */
static void prefixes_at_guard_page(void **state)
{
	(void)state;
	char line[1024];
	for (size_t i = 0; i < NSAMPLES; i++) {
		const sample *s = &samples[i];
		size_t n = sample_line(s, line, sizeof line);
		size_t valid_from = strlen(s->head);
		sl_record full, rec;
		sl_time_cache tc = {{0}, 0, 0};
		assert_int_equal(parse_both(s->fmt, tu_guarded(line, n), n,
						 &full, &tc), SL_OK);
		assert_true(rec_matches(&full, tu_guard_end - n, n, s));
		for (size_t k = 0; k < n; k++) {
			const char *g = tu_guarded(line, k);
			sl_status st = parse_both(s->fmt, g, k, &rec, &tc);
			if (k < valid_from) {
				if (st != SL_EFORMAT)
					print_message("sample %zu prefix %zu "
						      "accepted\n", i, k);
				assert_int_equal(st, SL_EFORMAT);
				assert_non_null(rec.why);
				continue;
			}
			assert_int_equal(st, SL_OK);
			assert_null(rec.why);
			assert_int_equal(rec.time, s->time);
			assert_int_equal(rec.status, s->status);
			assert_int_equal(rec.field[SL_F_CLIENT].len,
					 strlen(s->f[SL_F_CLIENT]));
			assert_ptr_equal(rec.field[SL_F_CLIENT].p,
					 g + (full.field[SL_F_CLIENT].p -
					      (tu_guard_end - n)));
			/* a cut %b reads as the digits that are left */
			if ((s->fmt == SL_FMT_COMMON || s->fmt == SL_FMT_VCOMMON) &&
			    s->bytes) {
				char digits[32];
				size_t bl = rec.field[SL_F_BYTES].len;
				assert_true(bl < sizeof digits);
				memcpy(digits, rec.field[SL_F_BYTES].p, bl);
				digits[bl] = 0;
				uint64_t v = strtoull(digits, NULL, 10);
				assert_int_equal(rec.bytes, v);
				assert_true(bl <= k - valid_from + 1);
			}
		}
		/* a combined line is never common, and vice versa; a format
		 * with the vhost and one without never parse each other's
		 * lines */
		static const sl_format all[] = {SL_FMT_COMMON, SL_FMT_COMBINED,
						SL_FMT_VCOMBINED, SL_FMT_VCOMMON};
		for (size_t fi = 0; fi < 4; fi++) {
			int f = (int)all[fi];
			sl_status st = parse_both((sl_format)f,
						       tu_guarded(line, n), n,
						       &rec, &tc);
			assert_int_equal(st, f == (int)s->fmt ? SL_OK
							      : SL_EFORMAT);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Malformed lines                                                           */
/* ------------------------------------------------------------------------ */

typedef struct {
	sl_format fmt;
	const char *line;
	const char *why; /* expected reason, or NULL for "any" */
} bad_line;

#define L_PRE "1.2.3.4 - - ["
#define L_REQ "] \"GET / HTTP/1.1\" 200 10"
#define L_COMB L_REQ " \"-\" \"ua\""

static const bad_line bad_lines[] = {
	{SL_FMT_COMMON, "", "empty line"},
	{SL_FMT_COMMON, "\r", "empty line"},
	{SL_FMT_COMBINED, "   \r", "empty line"},
	{SL_FMT_COMBINED, "hello world", NULL},
	{SL_FMT_COMBINED, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", NULL},
	{SL_FMT_COMMON, L_PRE "10/oct/2000:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/Foo/2000:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/OCT/2000:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "30/Feb/2024:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "29/Feb/2023:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "29/Feb/1900:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "31/Apr/2024:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "00/Jan/2024:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "32/Jan/2024:13:55:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:24:00:00 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:13:60:36 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:13:55:61 -0700" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:13:55:36 +1500" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:13:55:36 +0060" L_REQ,
	 "impossible date"},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:13:55:36 00700" L_REQ, NULL},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:13:55:3x -0700" L_REQ, NULL},
	{SL_FMT_COMMON, L_PRE "1/Oct/2000:13:55:36 -0700" L_REQ, NULL},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000 13:55:36 -0700" L_REQ, NULL},
	{SL_FMT_COMMON, L_PRE "10/Oct/2000:13:55:36.123 -0700" L_REQ, NULL},
	{SL_FMT_COMMON, "1.2.3.4 - - 10/Oct/2000:13:55:36 -0700 \"GET / "
			"HTTP/1.1\" 200 10", NULL},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 99 10", "bad status"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 099 10", "bad status"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 600 10", "bad status"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" abc 10", "bad status"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 2000 10", "bad status"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" -1 10", "bad status"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 200", NULL},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 200 12a",
	 "bad bytes field"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 200 --",
	 "bad bytes field"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 200 "
			"18446744073709551616", "bad bytes field"},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\" 200 "
			"99999999999999999999", "bad bytes field"},
	{SL_FMT_COMMON, L_PRE T_OCT "] GET / HTTP/1.1 200 10", NULL},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1 200 10", NULL},
	{SL_FMT_COMMON, L_PRE T_OCT "] \"GET / HTTP/1.1\\\" 200 10", NULL},
	{SL_FMT_COMMON, L_PRE T_OCT "]  \"GET / HTTP/1.1\" 200 10", NULL},
	{SL_FMT_COMMON, "1.2.3.4  - - [" T_OCT L_REQ, NULL},
	{SL_FMT_COMMON, L_PRE T_OCT L_COMB, NULL},
	{SL_FMT_COMMON, L_PRE T_OCT L_REQ " x", NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_REQ, NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_REQ " \"-\"", NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_REQ " \"-\" \"ua", NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_REQ " \"- \"ua\"", NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_REQ " - \"ua\"", NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_REQ " \"-\" ua", NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_COMB "x", NULL},
	{SL_FMT_COMBINED, L_PRE T_OCT L_COMB "\"0.1\"", NULL},
	{SL_FMT_COMBINED, "vhost " L_PRE T_OCT L_COMB, NULL},
	{SL_FMT_VCOMBINED, L_PRE T_OCT L_COMB, NULL},
	{SL_FMT_VCOMBINED, "vhost:80 " L_PRE T_OCT L_REQ, NULL},
	{SL_FMT_VCOMBINED, " " L_PRE T_OCT L_COMB, NULL},
};

static void malformed_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
		const bad_line *b = &bad_lines[i];
		size_t n = strlen(b->line);
		sl_record rec;
		sl_time_cache tc = {{0}, 0, 0};
		sl_status st = parse_both(b->fmt, tu_guarded(b->line, n), n,
					       &rec, &tc);
		if (st != SL_EFORMAT || (b->why && (!rec.why ||
						    strcmp(rec.why, b->why))))
			print_message("bad %zu: %s -> %s\n", i, b->line,
				      st == SL_OK ? "OK" : rec.why);
		assert_int_equal(st, SL_EFORMAT);
		assert_non_null(rec.why);
		if (b->why)
			assert_string_equal(rec.why, b->why);
		/* a failed date must not enter the cache */
		if (b->why && strcmp(b->why, "impossible date") == 0)
			assert_int_equal(tc.len, 0);
	}
	/* the valid neighbours of some of those */
	static const char *good[] = {
		L_PRE "29/Feb/2024:13:55:36 -0700" L_REQ,
		L_PRE "29/Feb/2000:13:55:36 -0700" L_REQ,
		L_PRE "31/Dec/2024:23:59:60 -1459" L_REQ,
		L_PRE "10/Oct/2000:13:55:36 +1459" L_REQ,
		L_PRE T_OCT "] \"GET / HTTP/1.1\" 200 18446744073709551615",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		sl_record rec;
		sl_time_cache tc = {{0}, 0, 0};
		assert_int_equal(parse_both(SL_FMT_COMMON, good[i],
						 strlen(good[i]), &rec, &tc),
				 SL_OK);
	}
	/* SL_FMT_AUTO, LINES and unknown values are not formats to parse with */
	sl_record rec;
	const char *l = L_PRE T_OCT L_REQ;
	assert_int_equal(parse_both(SL_FMT_AUTO, l, strlen(l), &rec, NULL),
			 SL_EINVAL);
	assert_int_equal(parse_both(SL_FMT_COUNT, l, strlen(l), &rec,
					 NULL), SL_EINVAL);
	/* "lines" is a report mode, not an access-log format */
	assert_int_equal(parse_both(SL_FMT_LINES, l, strlen(l), &rec,
					 NULL), SL_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* A line of SL_LINE_MAX bytes                                               */
/* ------------------------------------------------------------------------ */

static void longest_line(void **state)
{
	(void)state;
	static const char head[] = "10.1.1.1 - - [" T_OCT "] \"GET /";
	static const char tail[] = " HTTP/1.1\" 200 3 \"-\" \"" CURL "\"";
	size_t n = SL_LINE_MAX, hl = strlen(head), tl = strlen(tail);
	size_t url_len = n - hl - tl + 1; /* with its leading '/' */
	char *line = malloc(n);
	assert_non_null(line);
	memcpy(line, head, hl);
	for (size_t i = hl; i < n - tl; i++)
		line[i] = (char)('a' + i % 26);
	line[hl + 1000] = '?'; /* path = "/" + 1000 letters */
	memcpy(line + n - tl, tail, tl);

	sl_record rec;
	sl_time_cache tc = {{0}, 0, 0};
	const char *g = tu_guarded(line, n);
	assert_int_equal(parse_both(SL_FMT_COMBINED, g, n, &rec, &tc),
			 SL_OK);
	assert_int_equal(rec.field[SL_F_URL].len, url_len);
	assert_ptr_equal(rec.field[SL_F_URL].p, g + hl - 1);
	assert_int_equal(rec.field[SL_F_PATH].len, 1001);
	assert_int_equal(rec.field[SL_F_REQUEST].len, 4 + url_len + 9);
	assert_int_equal(rec.field[SL_F_METHOD].len, 3);
	assert_int_equal(rec.field[SL_F_PROTOCOL].len, 8);
	assert_int_equal(rec.field[SL_F_USER_AGENT].len, strlen(CURL));
	assert_int_equal(rec.bytes, 3);
	/* the same line cut anywhere in the URL is malformed */
	for (size_t k = hl; k < n; k += 4099)
		assert_int_equal(parse_both(SL_FMT_COMBINED,
						 tu_guarded(line, k), k, &rec,
						 &tc), SL_EFORMAT);
	free(line);
}

/* ------------------------------------------------------------------------ */
/* Lines longer than one index window (512 bytes)                            */
/* ------------------------------------------------------------------------ */

/* n random units into buf: letters, spaces, '?', '\"' and '\\' pairs. */
static size_t rand_units(tu_rng *r, char *buf, size_t n)
{
	static const char plain[] = "abcXYZ019 /?-=";
	size_t len = 0;
	while (len < n) {
		uint64_t u = tu_below(r, 10);
		if (u == 0 && n - len >= 2) {
			buf[len++] = '\\';
			buf[len++] = tu_below(r, 2) ? '"' : '\\';
		} else {
			buf[len++] = plain[tu_below(r, sizeof plain - 1)];
		}
	}
	return len;
}

/* Long URL, referrer and agent, so that fields and escapes cross 64-byte
 * words and the 512-byte window; every field checked against the text it
 * was built from. */
static void window_crossing(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("access windows", 0x51d0ULL)};
	static char line[8192], url[2048], ref[2048], ua[SL_SCAN_BITS_BYTES + 128];
	for (int i = 0; i < 3000; i++) {
		size_t nu = 1 + rand_units(&rng, url + 1, tu_below(&rng, 900));
		size_t nr = rand_units(&rng, ref, tu_below(&rng, 900));
		size_t na = rand_units(&rng, ua, tu_below(&rng, 900));
		url[0] = '/';
		int n = snprintf(line, sizeof line,
				 "1.2.3.4 - - [" T_OCT "] \"GET %.*s HTTP/1.1\" "
				 "200 7 \"%.*s\" \"%.*s\" 0.5",
				 (int)nu, url, (int)nr, ref, (int)na, ua);
		assert_true(n > 0 && (size_t)n < sizeof line);
		const char *g = i % 2 ? tu_guarded(line, (size_t)n) : line;
		sl_record rec;
		sl_time_cache tc = {{0}, 0, 0};
		if (parse_both(SL_FMT_COMBINED, g, (size_t)n, &rec, &tc) !=
		    SL_OK) {
			print_message("%s: %.*s\n", rec.why, n, line);
			fail();
		}
		const char *q = memchr(url, '?', nu);
		size_t np = q ? (size_t)(q - url) : nu;
		const sl_str *f = rec.field;
		assert_ptr_equal(f[SL_F_URL].p, g + strlen("1.2.3.4 - - [" T_OCT "] \"GET "));
		assert_int_equal(f[SL_F_URL].len, nu);
		assert_memory_equal(f[SL_F_URL].p, url, nu);
		assert_int_equal(f[SL_F_PATH].len, np);
		assert_int_equal(f[SL_F_REFERRER].len, nr);
		assert_memory_equal(f[SL_F_REFERRER].p, ref, nr);
		assert_int_equal(f[SL_F_USER_AGENT].len, na);
		assert_memory_equal(f[SL_F_USER_AGENT].p, ua, na);
		assert_ptr_equal(f[SL_F_USER_AGENT].p + na + 2,
				 f[SL_F_REQUEST_TIME].p);
		assert_true(rec.has_request_time && rec.request_time == 0.5);
		assert_int_equal(rec.bytes, 7);
		assert_int_equal(rec.time, 971211336);
	}
	/* every length across the window edge (and the line reader's), the
	 * closing quote last */
	for (size_t na = SL_SCAN_BITS_BYTES - 200; na < SL_SCAN_BITS_BYTES + 100;
	     na++) {
		memset(ua, 'u', na);
		int n = snprintf(line, sizeof line,
				 "1.2.3.4 - - [" T_OCT "] \"GET / HTTP/1.1\" "
				 "200 7 \"-\" \"%.*s\"", (int)na, ua);
		const char *g = tu_guarded(line, (size_t)n);
		sl_record rec;
		assert_int_equal(parse_both(SL_FMT_COMBINED, g, (size_t)n,
						 &rec, NULL), SL_OK);
		assert_int_equal(rec.field[SL_F_USER_AGENT].len, na);
		assert_ptr_equal(rec.field[SL_F_USER_AGENT].p + na, g + n - 1);
		/* without its closing quote it is unterminated */
		assert_int_equal(parse_both(SL_FMT_COMBINED,
						 tu_guarded(line, (size_t)n - 1),
						 (size_t)n - 1, &rec, NULL),
				 SL_EFORMAT);
	}
}

/* ------------------------------------------------------------------------ */
/* Times                                                                     */
/* ------------------------------------------------------------------------ */

static const char *const mon_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* A common line with the given bracket text (26 bytes). */
static size_t time_line(char *buf, size_t cap, const char *t)
{
	int n = snprintf(buf, cap, "1.2.3.4 - - [%s] \"GET / HTTP/1.1\" 200 1",
			 t);
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static bool time_of(const char *t, sl_time_cache *tc, int64_t *out)
{
	char line[128];
	size_t n = time_line(line, sizeof line, t);
	sl_record rec;
	if (parse_both(SL_FMT_COMMON, line, n, &rec, tc) != SL_OK)
		return false;
	*out = rec.time;
	return true;
}

/* The naive reference: timegm() of the civil fields minus the offset. */
static int64_t reference_time(int y, int m, int d, int hh, int mi, int ss,
			      int off_sec)
{
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss;
	return (int64_t)timegm(&tm) - off_sec;
}

static void format_time(char *t, int y, int m, int d, int hh, int mi, int ss,
			int off_sec)
{
	int a = off_sec < 0 ? -off_sec : off_sec;
	int n = snprintf(t, 64, "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", d,
			 mon_names[m - 1], y, hh, mi, ss,
			 off_sec < 0 ? '-' : '+', a / 3600, a / 60 % 60);
	assert_int_equal(n, 26);
}

static void time_cache(void **state)
{
	(void)state;
	sl_time_cache tc = {{0}, 0, 0};
	int64_t t;
	assert_true(time_of(T_OCT, &tc, &t));
	assert_int_equal(t, 971211336);
	assert_int_equal(tc.len, 26);
	assert_memory_equal(tc.text, T_OCT, 26);
	/* byte-identical text is answered from the cache: poison it */
	tc.time = 42;
	assert_true(time_of(T_OCT, &tc, &t));
	assert_int_equal(t, 42);
	/* a different text is converted (and replaces the cache) */
	assert_true(time_of("10/Oct/2000:13:55:37 -0700", &tc, &t));
	assert_int_equal(t, 43); /* same day: moved from the cached time */
	tc.time = 971211336 + 1;
	assert_true(time_of("11/Oct/2000:13:55:36 -0700", &tc, &t));
	assert_int_equal(t, 971211336 + 86400);
	assert_memory_equal(tc.text, "11/Oct/2000:13:55:36 -0700", 26);
	assert_true(time_of("11/Oct/2000:13:55:36 -0600", &tc, &t));
	assert_int_equal(t, 971211336 + 86400 - 3600);
	/* an impossible time on the cached day is refused, cache kept */
	assert_false(time_of("11/Oct/2000:24:55:36 -0600", &tc, &t));
	assert_memory_equal(tc.text, "11/Oct/2000:13:55:36 -0600", 26);
	assert_false(time_of("11/Oct/2000:13:55:36 -0690", &tc, &t));
	assert_true(time_of("11/Oct/2000:13:55:36 -0600", &tc, &t));
	assert_int_equal(t, 971211336 + 86400 - 3600);

	/* hand-checked values (date -u -d) */
	static const struct {
		const char *text;
		int64_t t;
	} known[] = {
		{"01/Jan/1970:00:00:00 +0000", 0},
		{"31/Dec/1969:23:59:59 +0000", -1},
		{"01/Jan/1970:00:00:00 +0100", -3600},
		{"01/Jan/2024:00:00:00 +1400", 1704016800},
		{"29/Feb/2024:23:59:60 +0100", 1709247600},
		{"01/Mar/2000:00:00:00 +0000", 951868800},
		{"28/Feb/1900:23:00:00 -0100", -2203891200},
		{"31/Dec/9999:23:59:59 +0000", 253402300799},
		{"01/Jan/0000:00:00:00 +0000", -62167219200},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		sl_time_cache fresh = {{0}, 0, 0};
		assert_true(time_of(known[i].text, &fresh, &t));
		assert_int_equal(t, known[i].t);
		assert_true(time_of(known[i].text, &tc, &t));
		assert_int_equal(t, known[i].t);
	}
}

/* Random valid dates against timegm, through one cache as a log would
 * go: runs of lines on one day and offset with the time of day moving. */
static void time_random_vs_timegm(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("access time", 0x5eedULL)};
	sl_time_cache tc = {{0}, 0, 0};
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	long checked = 0;
	for (int run = 0; run < 3000; run++) {
		int y = 1 + (int)tu_below(&rng, 9999);
		if (run % 3 == 0)
			y = 1900 + (int)tu_below(&rng, 300);
		int m = 1 + (int)tu_below(&rng, 12);
		bool lp = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		int d = 1 + (int)tu_below(&rng, (uint64_t)(mdays[m - 1] +
							   (m == 2 && lp)));
		int off = ((int)tu_below(&rng, 15) * 3600 +
			   (int)tu_below(&rng, 60) * 60) *
			  (tu_below(&rng, 2) ? 1 : -1);
		int steps = 1 + (int)tu_below(&rng, 20);
		for (int s = 0; s < steps; s++) {
			int hh = (int)tu_below(&rng, 24);
			int mi = (int)tu_below(&rng, 60);
			int ss = (int)tu_below(&rng, 61);
			char text[64];
			int64_t got;
			format_time(text, y, m, d, hh, mi, ss, off);
			assert_true(time_of(text, &tc, &got));
			int64_t want = reference_time(y, m, d, hh, mi, ss, off);
			if (got != want)
				print_message("%s: got %lld want %lld\n", text,
					      (long long)got, (long long)want);
			assert_int_equal(got, want);
			checked++;
		}
	}
	assert_true(checked > 3000);
}

/* Day validity against timegm's normalisation: a day that does not exist
 * in its month is moved by timegm into the next month. */
static void date_validity_vs_timegm(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("access dates", 0xda7eULL)};
	sl_time_cache tc = {{0}, 0, 0};
	int valid = 0, invalid = 0;
	for (int i = 0; i < 20000; i++) {
		int y = 1 + (int)tu_below(&rng, 9999);
		int m = 1 + (int)tu_below(&rng, 12);
		int d = 1 + (int)tu_below(&rng, 31);
		if (i % 2)
			d = 28 + (int)tu_below(&rng, 4);
		struct tm tm = {0};
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		tm.tm_hour = 12;
		timegm(&tm);
		bool exists = tm.tm_mday == d && tm.tm_mon == m - 1;
		char text[64];
		int64_t got;
		format_time(text, y, m, d, 12, 0, 0, 0);
		bool ok = time_of(text, &tc, &got);
		if (ok != exists)
			print_message("%s: parser %d, timegm %d\n", text, ok,
				      exists);
		assert_int_equal(ok, exists);
		ok ? valid++ : invalid++;
	}
	assert_true(valid > 1000 && invalid > 1000);
}

/* ------------------------------------------------------------------------ */
/* Random lines built from known field values                               */
/* ------------------------------------------------------------------------ */

typedef struct {
	char buf[2048];
	size_t len;
	size_t off[SL_F_COUNT], flen[SL_F_COUNT];
	sl_format fmt;
	int64_t time;
	uint32_t status;
	uint64_t bytes;
	bool has_rt;
	double rt;
} gen_line;

static void put(gen_line *g, const char *s, size_t n)
{
	assert_true(g->len + n < sizeof g->buf);
	memcpy(g->buf + g->len, s, n);
	g->len += n;
}

static void puts_(gen_line *g, const char *s)
{
	put(g, s, strlen(s));
}

static void begin(gen_line *g, sl_field f)
{
	g->off[f] = g->len;
}

static void end(gen_line *g, sl_field f)
{
	g->flen[f] = g->len - g->off[f];
}

static void rand_chars(tu_rng *r, gen_line *g, const char *set, size_t lo,
		       size_t hi)
{
	size_t n = lo + tu_below(r, hi - lo + 1), k = strlen(set);
	for (size_t i = 0; i < n; i++)
		put(g, &set[tu_below(r, k)], 1);
}

static const char ALNUM[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char URLCH[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	"/._~%-=&+:;,!$'()*@";
static const char TEXTCH[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	" /._~%-=&+:;,!$'()*@[]{}<>#?|^`";
static const char HEX[] = "0123456789abcdef";

/* Quoted-field content: text with escape units \" \\ \x22 mixed in. */
static void rand_quoted(tu_rng *r, gen_line *g, size_t max_units)
{
	size_t n = tu_below(r, max_units + 1);
	for (size_t i = 0; i < n; i++) {
		switch (tu_below(r, 24)) {
		case 0: puts_(g, "\\\""); break;
		case 1: puts_(g, "\\\\"); break;
		case 2: puts_(g, "\\x22"); break;
		default: rand_chars(r, g, TEXTCH, 1, 6); break;
		}
	}
}

static void rand_host(tu_rng *r, gen_line *g)
{
	rand_chars(r, g, "abcdefghijklmnopqrstuvwxyz", 1, 10);
	for (int i = (int)tu_below(r, 3); i > 0; i--) {
		puts_(g, ".");
		rand_chars(r, g, "abcdefghijklmnopqrstuvwxyz0123456789-", 1,
			   10);
	}
}

static void rand_client(tu_rng *r, gen_line *g)
{
	char tmp[64];
	switch (tu_below(r, 4)) {
	case 0:
	case 1:
		snprintf(tmp, sizeof tmp, "%u.%u.%u.%u",
			 (unsigned)tu_below(r, 256), (unsigned)tu_below(r, 256),
			 (unsigned)tu_below(r, 256), (unsigned)tu_below(r, 256));
		puts_(g, tmp);
		break;
	case 2: {
		int groups = 1 + (int)tu_below(r, 7);
		if (tu_below(r, 2))
			puts_(g, "::");
		for (int i = 0; i < groups; i++) {
			if (i)
				puts_(g, i == 1 && tu_below(r, 3) == 0 ? "::"
								       : ":");
			rand_chars(r, g, HEX, 1, 4);
		}
		break;
	}
	default:
		rand_host(r, g);
		break;
	}
}

static void rand_time(tu_rng *r, gen_line *g)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	int y = 1970 + (int)tu_below(r, 130), m = 1 + (int)tu_below(r, 12);
	bool lp = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	int d = 1 + (int)tu_below(r, (uint64_t)(mdays[m - 1] + (m == 2 && lp)));
	int hh = (int)tu_below(r, 24), mi = (int)tu_below(r, 60);
	int ss = (int)tu_below(r, 60);
	int off = ((int)tu_below(r, 15) * 3600 + (int)tu_below(r, 60) * 60) *
		  (tu_below(r, 2) ? 1 : -1);
	char text[64];
	format_time(text, y, m, d, hh, mi, ss, off);
	g->time = reference_time(y, m, d, hh, mi, ss, off);
	puts_(g, "[");
	begin(g, SL_F_TIME);
	puts_(g, text);
	end(g, SL_F_TIME);
	puts_(g, "]");
}

static void rand_url(tu_rng *r, gen_line *g, bool spaces)
{
	begin(g, SL_F_URL);
	begin(g, SL_F_PATH);
	puts_(g, "/");
	rand_chars(r, g, URLCH, 0, 30);
	if (spaces && tu_below(r, 2)) {
		puts_(g, " ");
		rand_chars(r, g, URLCH, 1, 5);
	}
	if (tu_below(r, 8) == 0)
		puts_(g, "\\\""); /* an escaped quote in the path */
	if (tu_below(r, 8) == 0)
		puts_(g, "\\x22");
	end(g, SL_F_PATH);
	if (tu_below(r, 3) == 0) {
		puts_(g, "?");
		rand_chars(r, g, URLCH, 0, 30);
		if (spaces && tu_below(r, 2)) {
			puts_(g, " ");
			rand_chars(r, g, URLCH, 1, 5);
		}
		if (tu_below(r, 6) == 0)
			puts_(g, "\\\"?\\\\");
	}
	end(g, SL_F_URL);
}

static void rand_request(tu_rng *r, gen_line *g)
{
	static const char *methods[] = {"GET", "POST", "HEAD", "PUT",
					"DELETE", "OPTIONS", "PATCH",
					"PROPFIND", "M-SEARCH", "get"};
	static const char *protocols[] = {"HTTP/1.0", "HTTP/1.1", "HTTP/2.0",
					  "HTTP/2", "HTTP/3", "RTSP/1.0"};
	puts_(g, "\"");
	begin(g, SL_F_REQUEST);
	uint64_t kind = tu_below(r, 20);
	if (kind < 14) {
		/* METHOD TARGET PROTOCOL, the target sometimes with spaces */
		begin(g, SL_F_METHOD);
		if (tu_below(r, 10) == 0)
			rand_chars(r, g, "ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'*+-.^_`|~",
				   1, 12);
		else
			puts_(g, methods[tu_below(r, 10)]);
		end(g, SL_F_METHOD);
		puts_(g, " ");
		rand_url(r, g, kind >= 12);
		puts_(g, " ");
		begin(g, SL_F_PROTOCOL);
		puts_(g, protocols[tu_below(r, 6)]);
		end(g, SL_F_PROTOCOL);
	} else if (kind < 16) {
		/* METHOD TARGET (HTTP/0.9) */
		begin(g, SL_F_METHOD);
		puts_(g, methods[tu_below(r, 10)]);
		end(g, SL_F_METHOD);
		puts_(g, " ");
		rand_url(r, g, false);
	} else {
		/* not a request: "-", nothing, or escaped binary */
		begin(g, SL_F_URL);
		begin(g, SL_F_PATH);
		if (kind == 16)
			puts_(g, "-");
		else if (kind == 17)
			for (int i = (int)tu_below(r, 12); i > 0; i--) {
				char tmp[8];
				snprintf(tmp, sizeof tmp, "\\x%02X",
					 (unsigned)tu_below(r, 256));
				puts_(g, tmp);
			}
		else if (kind == 18)
			puts_(g, "\\\" junk");
		end(g, SL_F_PATH);
		end(g, SL_F_URL);
	}
	end(g, SL_F_REQUEST);
	puts_(g, "\"");
}

static void rand_extras(tu_rng *r, gen_line *g)
{
	int n = (int)tu_below(r, 4);
	for (int i = 0; i < n; i++) {
		char tmp[64];
		puts_(g, tu_below(r, 5) == 0 ? "  " : " ");
		uint64_t kind = tu_below(r, 6);
		bool quoted = tu_below(r, 3) == 0;
		if (kind < 3) {
			if (kind == 0)
				snprintf(tmp, sizeof tmp, "%u",
					 (unsigned)tu_below(r, 100));
			else
				snprintf(tmp, sizeof tmp, "%u.%0*u",
					 (unsigned)tu_below(r, 100),
					 (int)kind * 3,
					 (unsigned)tu_below(r, kind == 1 ? 1000
									 : 1000000));
			if (quoted)
				puts_(g, "\"");
			if (!g->has_rt) {
				g->has_rt = true;
				g->rt = strtod(tmp, NULL);
				begin(g, SL_F_REQUEST_TIME);
				puts_(g, tmp);
				end(g, SL_F_REQUEST_TIME);
			} else {
				puts_(g, tmp);
			}
			if (quoted)
				puts_(g, "\"");
		} else if (kind == 3) {
			puts_(g, quoted ? "\"-\"" : "-");
		} else if (kind == 4) {
			puts_(g, "\"q"); /* never a number */
			rand_quoted(r, g, 4);
			puts_(g, "\"");
		} else {
			rand_chars(r, g, ALNUM, 1, 6);
			puts_(g, tu_below(r, 2) ? "=1" : ".");
		}
	}
}

static void gen(tu_rng *r, gen_line *g)
{
	char tmp[64];
	memset(g, 0, sizeof *g);
	g->fmt = (sl_format)(SL_FMT_COMMON + (int)tu_below(r, 3));
	if (g->fmt == SL_FMT_VCOMBINED) {
		begin(g, SL_F_VHOST);
		if (tu_below(r, 5) == 0) {
			puts_(g, "[2001:db8::");
			rand_chars(r, g, HEX, 1, 4);
			puts_(g, "]");
		} else {
			rand_host(r, g);
		}
		end(g, SL_F_VHOST);
		if (tu_below(r, 2)) {
			snprintf(tmp, sizeof tmp, ":%u",
				 (unsigned)tu_below(r, 65536));
			puts_(g, tmp);
		}
		puts_(g, " ");
	}
	begin(g, SL_F_CLIENT);
	rand_client(r, g);
	end(g, SL_F_CLIENT);
	puts_(g, " ");
	begin(g, SL_F_IDENT);
	if (tu_below(r, 4))
		puts_(g, "-");
	else
		rand_chars(r, g, ALNUM, 1, 8);
	end(g, SL_F_IDENT);
	puts_(g, " ");
	begin(g, SL_F_USER);
	if (tu_below(r, 2))
		puts_(g, "-");
	else
		rand_chars(r, g, "abcdefghijklmnopqrstuvwxyz0123456789._@-",
			   1, 12);
	end(g, SL_F_USER);
	puts_(g, " ");
	rand_time(r, g);
	puts_(g, " ");
	rand_request(r, g);
	g->status = 100 + (uint32_t)tu_below(r, 500);
	snprintf(tmp, sizeof tmp, " %u ", g->status);
	puts_(g, tmp);
	g->off[SL_F_STATUS] = g->len - 4;
	g->flen[SL_F_STATUS] = 3;
	begin(g, SL_F_BYTES);
	switch (tu_below(r, 5)) {
	case 0: puts_(g, "-"); g->bytes = 0; break;
	case 1: g->bytes = tu_next(r); break;
	case 2: g->bytes = UINT64_MAX - tu_below(r, 2); break;
	default: g->bytes = tu_below(r, 100000); break;
	}
	if (g->buf[g->len - 1] != '-') {
		snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)g->bytes);
		puts_(g, tmp);
	}
	end(g, SL_F_BYTES);
	if (g->fmt != SL_FMT_COMMON) {
		puts_(g, " \"");
		begin(g, SL_F_REFERRER);
		if (tu_below(r, 3) == 0)
			puts_(g, "-");
		else
			rand_quoted(r, g, 10);
		end(g, SL_F_REFERRER);
		puts_(g, "\" \"");
		begin(g, SL_F_USER_AGENT);
		rand_quoted(r, g, 30);
		end(g, SL_F_USER_AGENT);
		puts_(g, "\"");
		rand_extras(r, g);
	}
	static const char *trail[] = {"", "", "", "\r", " ", " \r"};
	puts_(g, trail[tu_below(r, 6)]);
}

/* True when rec holds what the generator put in g->buf (at line). */
static bool gen_matches(const sl_record *rec, const char *line,
			const gen_line *g)
{
	bool ok = true;
	for (int f = 0; f < SL_F_QUERY; f++) {
		size_t want = g->flen[f];
		if (rec->field[f].len != want ||
		    (want && rec->field[f].p != line + g->off[f])) {
			print_message("field %s: got '%.*s', want '%.*s'\n",
				      sl_field_name((sl_field)f),
				      (int)rec->field[f].len,
				      rec->field[f].len ? rec->field[f].p : "",
				      (int)want, g->buf + g->off[f]);
			ok = false;
		}
	}
	if (rec->time != g->time || rec->status != g->status ||
	    rec->bytes != g->bytes || rec->has_request_time != g->has_rt ||
	    (g->has_rt && rec->request_time != g->rt)) {
		print_message("values differ\n");
		ok = false;
	}
	return ok;
}

static void random_round_trip(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("access round trip", 0xacce55ULL)};
	sl_time_cache tc = {{0}, 0, 0};
	gen_line *g = malloc(sizeof *g);
	assert_non_null(g);
	int counts[SL_FMT_COUNT] = {0}, with_rt = 0;
	for (int i = 0; i < 20000; i++) {
		gen(&rng, g);
		sl_record rec;
		const char *line = i % 4 ? tu_guarded(g->buf, g->len) : g->buf;
		sl_status st = parse_both(g->fmt, line, g->len, &rec, &tc);
		if (st != SL_OK || !gen_matches(&rec, line, g)) {
			print_message("line %d (%s): %.*s\n -> %s\n", i,
				      sl_format_name(g->fmt), (int)g->len,
				      g->buf, rec.why ? rec.why : "ok");
			fail();
		}
		counts[g->fmt]++;
		with_rt += g->has_rt;
		/* the other formats refuse it */
		for (int f = SL_FMT_COMMON; f <= SL_FMT_VCOMBINED; f++)
			if (f != (int)g->fmt)
				assert_int_equal(parse_both((sl_format)f,
								 line, g->len,
								 &rec, &tc),
						 SL_EFORMAT);
	}
	/* the checker fails on a wrong expectation */
	gen(&rng, g);
	sl_record rec;
	assert_int_equal(parse_both(g->fmt, g->buf, g->len, &rec, &tc),
			 SL_OK);
	assert_true(gen_matches(&rec, g->buf, g));
	g->off[SL_F_CLIENT]++;
	assert_false(gen_matches(&rec, g->buf, g));
	g->off[SL_F_CLIENT]--;
	g->bytes ^= 1;
	assert_false(gen_matches(&rec, g->buf, g));
	free(g);
	assert_true(counts[SL_FMT_COMMON] > 1000 &&
		    counts[SL_FMT_COMBINED] > 1000 &&
		    counts[SL_FMT_VCOMBINED] > 1000 && with_rt > 1000);
}

/* ------------------------------------------------------------------------ */
/* Buffers of lines, as the report's feed reads them                         */
/* ------------------------------------------------------------------------ */

/* Appends a long combined line (over the line reader's index when n is
 * large): a URL of nu bytes and a user agent of na bytes. */
static size_t long_line(char *buf, size_t cap, size_t nu, size_t na)
{
	int n = snprintf(buf, cap, "1.2.3.4 - - [" T_OCT "] \"GET /%0*d "
			 "HTTP/1.1\" 200 7 \"-\" \"%0*d\" 0.5", (int)nu, 0,
			 (int)na, 0);
	assert_true(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/*
 * Random buffers of lines ending at the guard page, read with the line
 * reader and parsed as the report does (on the reader's index when the
 * line is indexed, else by sl_access_parse): generated lines must give the
 * generator's values, and every line (generated, long, junk, empty) in
 * every format the same record as sl_access_parse of the line alone. The
 * buffers are long enough for several chunks, so lines cross chunks and
 * the ring's wrap.
 */
static void lines_round_trip(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("access lines", 0x11e5aULL)};
	enum { MAXL = 300, CAP = 60 * 1024 };
	gen_line *g = malloc(MAXL * sizeof *g);
	char *buf = malloc(CAP);
	size_t *start = malloc(MAXL * sizeof *start);
	size_t *len = malloc(MAXL * sizeof *len);
	int *kind = malloc(MAXL * sizeof *kind);
	assert_true(g && buf && start && len && kind);
	unsigned indexed_lines = 0, other_lines = 0;
	for (int round = 0; round < 60; round++) {
		size_t n = 0, total = 0;
		while (n < MAXL) {
			size_t room = CAP - total;
			int k = (int)tu_below(&rng, 20);
			start[n] = total;
			if (k < 15) { /* generated */
				gen(&rng, &g[n]);
				if (g[n].len + 1 > room)
					break;
				memcpy(buf + total, g[n].buf, g[n].len);
				len[n] = g[n].len;
			} else if (k < 17) { /* long, maybe past the index */
				size_t nu = tu_below(&rng, 2500);
				size_t na = tu_below(&rng, 2500);
				if (nu + na + 200 > room)
					break;
				len[n] = long_line(buf + total, room, nu, na);
			} else if (k < 19) { /* junk */
				static const char junk[] = " \"\\-.09a[]:/\r?";
				len[n] = tu_below(&rng, 400);
				if (len[n] + 1 > room)
					break;
				for (size_t i = 0; i < len[n]; i++)
					buf[total + i] = junk[tu_below(
						&rng, sizeof junk - 1)];
			} else { /* empty */
				len[n] = 0;
			}
			kind[n] = k;
			total += len[n];
			buf[total++] = '\n';
			n++;
		}
		bool cut = tu_below(&rng, 2);
		if (cut)
			total--; /* the last line without its newline */
		const char *b = tu_guarded(buf, total);
		sl_scan_lines it;
		sl_time_cache tc1 = {{0}, 0, 0}, tc2 = {{0}, 0, 0};
		const char *line;
		size_t ll;
		bool indexed;
		size_t i = 0;
		sl_access_lines_init(&it, b, total);
		while (sl_scan_lines_next(&it, &line, &ll, &indexed)) {
			assert_true(i < n);
			assert_ptr_equal(line, b + start[i]);
			assert_int_equal(ll, len[i]);
			if (ll <= SL_SCAN_BITS_BYTES)
				assert_true(indexed);
			indexed_lines += indexed;
			other_lines += !indexed;
			for (int f = SL_FMT_COMMON; f <= SL_FMT_VCOMBINED; f++) {
				sl_record r1, r2;
				sl_status s1 = indexed
					? sl_access_lines_parse((sl_format)f, &it,
								line, ll, &r1, &tc1)
					: sl_access_parse((sl_format)f, line, ll,
							  &r1, &tc1);
				sl_status s2 = sl_access_parse((sl_format)f, line,
							       ll, &r2, &tc2);
				if (!same_parse(s1, &r1, s2, &r2)) {
					print_message("round %d line %zu: %.*s\n",
						      round, i, (int)ll, line);
					fail();
				}
				if (kind[i] < 15 && f == (int)g[i].fmt &&
				    (s1 != SL_OK || !gen_matches(&r1, line, &g[i]))) {
					print_message("round %d line %zu: %.*s\n",
						      round, i, (int)ll, line);
					fail();
				}
				if (kind[i] >= 15 && kind[i] < 17 &&
				    f == SL_FMT_COMBINED)
					assert_int_equal(s1, SL_OK);
			}
			i++;
		}
		/* an empty last line without its newline is no line */
		assert_int_equal(i, n - (cut && len[n - 1] == 0));
	}
	assert_true(indexed_lines > 1000 && other_lines > 10);
	free(g);
	free(buf);
	free(start);
	free(len);
	free(kind);
}

/* 1*DIGIT ['.' 1*DIGIT], the naive way. */
static bool ref_decimal(const char *s, size_t n)
{
	size_t i = 0, d1 = 0, d2 = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, d1++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, d2++;
		if (!d2)
			return false;
	}
	return d1 && i == n;
}

/*
 * %b and the extras as short random tokens (digits, dots, '-', a letter;
 * bare or quoted), against the grammar done the naive way: %b is '-' or
 * digits, the request time the first extra that is a decimal, its value
 * strtod's (correctly rounded, as the parser's is for so few digits). Both
 * paths (parse_both), so the word-at-a-time readers meet every length and
 * every misplaced dot.
 */
static void numbers_vs_reference(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("access numbers", 0x3b17ULL)};
	static const char alpha[] = "0123456789012345678901234567..-a";
	char tok[3][16], line[512];
	size_t tl[3];
	assert_false(ref_decimal("1.", 2) || ref_decimal(".5", 2) ||
		     ref_decimal("1.2.3", 5) || ref_decimal("", 0));
	assert_true(ref_decimal("0.019", 5) && ref_decimal("7", 1));
	for (int i = 0; i < 40000; i++) {
		for (int t = 0; t < 3; t++) {
			tl[t] = 1 + tu_below(&rng, 11);
			for (size_t j = 0; j < tl[t]; j++)
				tok[t][j] = alpha[tu_below(&rng, sizeof alpha - 1)];
		}
		int nex = (int)tu_below(&rng, 3);
		bool q[2] = {tu_below(&rng, 4) == 0, tu_below(&rng, 4) == 0};
		bool common = tu_below(&rng, 4) == 0;
		int n = snprintf(line, sizeof line, L_PRE T_OCT "] \"GET / "
				 "HTTP/1.1\" 200 %.*s", (int)tl[0], tok[0]);
		if (!common) {
			n += snprintf(line + n, sizeof line - (size_t)n,
				      " \"-\" \"ua\"");
			for (int e = 0; e < nex; e++)
				n += snprintf(line + n, sizeof line - (size_t)n,
					      q[e] ? " \"%.*s\"" : " %.*s",
					      (int)tl[1 + e], tok[1 + e]);
		}
		/* the reference */
		bool ok = (tl[0] == 1 && tok[0][0] == '-') ||
			  (tl[0] <= 19 && ref_decimal(tok[0], tl[0]) &&
			   !memchr(tok[0], '.', tl[0]));
		char num[16];
		memcpy(num, tok[0], tl[0]);
		num[tl[0]] = 0;
		uint64_t bytes = num[0] == '-' ? 0 : strtoull(num, NULL, 10);
		int rt = -1;
		for (int e = 0; !common && e < nex && rt < 0; e++)
			if (ref_decimal(tok[1 + e], tl[1 + e]))
				rt = e;
		sl_record rec;
		const char *g = tu_guarded(line, (size_t)n);
		sl_status st = parse_both(common ? SL_FMT_COMMON : SL_FMT_COMBINED,
					  g, (size_t)n, &rec, NULL);
		if (st != (ok ? SL_OK : SL_EFORMAT)) {
			print_message("%s: %.*s\n", rec.why ? rec.why : "ok", n, line);
			fail();
		}
		if (!ok)
			continue;
		assert_int_equal(rec.bytes, bytes);
		assert_int_equal(rec.has_request_time, rt >= 0);
		if (rt >= 0) {
			memcpy(num, tok[1 + rt], tl[1 + rt]);
			num[tl[1 + rt]] = 0;
			assert_true(rec.request_time == strtod(num, NULL));
			assert_int_equal(rec.field[SL_F_REQUEST_TIME].len, tl[1 + rt]);
			assert_memory_equal(rec.field[SL_F_REQUEST_TIME].p, num,
					    tl[1 + rt]);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

#define D_COMMON L_PRE T_OCT L_REQ
#define D_COMBINED L_PRE T_OCT L_COMB
#define D_VCOMBINED "example.com:80 " L_PRE T_OCT L_COMB
#define D_VCOMMON "example.com:80 " L_PRE T_OCT L_REQ

/* buf := the given lines, each repeated, joined by sep. */
static size_t build(char *buf, size_t cap, const char *sep,
		    const char *const *lines, const int *reps, int n)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < reps[i]; k++) {
			int w = snprintf(buf + len, cap - len, "%s%s",
					 lines[i], sep);
			assert_true(w > 0 && (size_t)w < cap - len);
			len += (size_t)w;
		}
	return len;
}

static sl_format detect_of(const char *const *lines, const int *reps, int n,
			   const char *sep)
{
	static char buf[64 * 1024];
	size_t len = build(buf, sizeof buf, sep, lines, reps, n);
	return sl_access_detect(buf, len);
}

static void detect(void **state)
{
	(void)state;
	const char *one[1];
	int r10[1] = {10};
	one[0] = D_COMMON;
	assert_int_equal(detect_of(one, r10, 1, "\n"), SL_FMT_COMMON);
	assert_int_equal(detect_of(one, r10, 1, "\r\n"), SL_FMT_COMMON);
	one[0] = D_COMBINED;
	assert_int_equal(detect_of(one, r10, 1, "\n"), SL_FMT_COMBINED);
	one[0] = D_COMBINED " 0.003 0.002";
	assert_int_equal(detect_of(one, r10, 1, "\n"), SL_FMT_COMBINED);
	one[0] = D_VCOMBINED;
	assert_int_equal(detect_of(one, r10, 1, "\n"), SL_FMT_VCOMBINED);
	assert_int_equal(detect_of(one, r10, 1, "\r\n"), SL_FMT_VCOMBINED);
	/* every hand-checked sample detects as its own format */
	for (size_t i = 0; i < NSAMPLES; i++) {
		char line[1024];
		sample_line(&samples[i], line, sizeof line);
		one[0] = line;
		int r3[1] = {3};
		assert_int_equal(detect_of(one, r3, 1, "\n"), samples[i].fmt);
	}

	/* mixtures: the majority wins; ties prefer vcombined > combined >
	 * common */
	const char *mix[4] = {D_COMMON, D_COMBINED, D_VCOMBINED, "garbage"};
	int a[4] = {3, 5, 0, 2};
	assert_int_equal(detect_of(mix, a, 4, "\n"), SL_FMT_COMBINED);
	int b[4] = {6, 2, 1, 9};
	assert_int_equal(detect_of(mix, b, 4, "\n"), SL_FMT_COMMON);
	int c[4] = {2, 2, 0, 1};
	assert_int_equal(detect_of(mix, c, 4, "\n"), SL_FMT_COMBINED);
	int d[4] = {3, 2, 3, 1};
	assert_int_equal(detect_of(mix, d, 4, "\n"), SL_FMT_VCOMBINED);
	int e[4] = {3, 0, 3, 0};
	assert_int_equal(detect_of(mix, e, 4, "\n"), SL_FMT_VCOMBINED);
	int f[4] = {3, 0, 2, 0};
	assert_int_equal(detect_of(mix, f, 4, "\n"), SL_FMT_COMMON);
	/* only the first 32 non-empty lines count; blank ones are skipped */
	const char *late[4] = {"", D_COMMON, "\r", D_COMBINED};
	int g[4] = {5, 32, 5, 100};
	assert_int_equal(detect_of(late, g, 4, "\n"), SL_FMT_COMMON);
	int h[4] = {40, 16, 40, 17};
	assert_int_equal(detect_of(late, h, 4, "\n"), SL_FMT_COMBINED);
	/* 16 + 16 is a tie (combined); a 33rd line would make it common */
	const char *late2[4] = {"", D_COMBINED, "\r", D_COMMON};
	int h2[4] = {40, 16, 40, 17};
	assert_int_equal(detect_of(late2, h2, 4, "\n"), SL_FMT_COMBINED);
	int h3[4] = {40, 15, 40, 17};
	assert_int_equal(detect_of(late2, h3, 4, "\n"), SL_FMT_COMMON);

	/* nothing parses: combined */
	const char *junk[2] = {"garbage line", "\x16\x03\x01\x00"};
	int j[2] = {5, 5};
	assert_int_equal(detect_of(junk, j, 2, "\n"), SL_FMT_COMBINED);
	assert_int_equal(sl_access_detect("", 0), SL_FMT_COMBINED);
	assert_int_equal(sl_access_detect("\n\n\r\n", 4), SL_FMT_COMBINED);
	/* an unterminated final line counts */
	assert_int_equal(sl_access_detect(D_COMMON, strlen(D_COMMON)),
			 SL_FMT_COMMON);
	const char *g2 = tu_guarded(D_VCOMBINED, strlen(D_VCOMBINED));
	assert_int_equal(sl_access_detect(g2, strlen(D_VCOMBINED)),
			 SL_FMT_VCOMBINED);

	/* vhost-common (Apache's vhost_common) is its own format, not
	 * combined with "bad time field" */
	one[0] = D_VCOMMON;
	assert_int_equal(detect_of(one, r10, 1, "\n"), SL_FMT_VCOMMON);
	assert_int_equal(detect_of(one, r10, 1, "\r\n"), SL_FMT_VCOMMON);
	const char *vmix[2] = {D_VCOMMON, D_COMMON};
	int v1[2] = {3, 3};
	assert_int_equal(detect_of(vmix, v1, 2, "\n"), SL_FMT_VCOMMON);
	int v2[2] = {2, 3};
	assert_int_equal(detect_of(vmix, v2, 2, "\n"), SL_FMT_COMMON);

	/* sl_access_guess: the same choice, but "none" when nothing parses */
	assert_int_equal(sl_access_guess(D_COMMON, strlen(D_COMMON)),
			 SL_FMT_COMMON);
	assert_int_equal(sl_access_guess(D_VCOMMON, strlen(D_VCOMMON)),
			 SL_FMT_VCOMMON);
	assert_int_equal(sl_access_guess("garbage line\n", 13), SL_FMT_AUTO);
	assert_int_equal(sl_access_guess("", 0), SL_FMT_AUTO);
	/* a cut line at the end does not outvote complete ones */
	static const char cut[] = D_COMMON "\n" D_COMMON "\n" D_COMBINED "\n"
		D_COMBINED "\n" D_COMBINED "\n" L_PRE T_OCT L_REQ " \"-\" \"u";
	assert_int_equal(sl_access_detect(cut, strlen(cut)), SL_FMT_COMBINED);
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

static void names(void **state)
{
	(void)state;
	static const char *fmts[] = {"auto", "common", "combined", "vcombined", "lines", "vcommon",
				     "w3c", "cloudfront", "elb", "alb", "s3", "traefik", "ltsv",
				     "csv", "tsv", "syslog", "json", "caddy", "traefik-json",
				     "custom"};
	assert_int_equal(sizeof fmts / sizeof fmts[0], SL_FMT_COUNT);
	for (int f = 0; f < SL_FMT_COUNT; f++) {
		assert_string_equal(sl_format_name((sl_format)f), fmts[f]);
		assert_int_equal(sl_format_from_name(fmts[f]), f);
	}
	assert_null(sl_format_name(SL_FMT_COUNT));
	assert_null(sl_format_name((sl_format)-1));
	assert_int_equal(sl_format_from_name("Combined"), SL_FMT_COUNT);
	assert_int_equal(sl_format_from_name(""), SL_FMT_COUNT);
	assert_int_equal(sl_format_from_name(NULL), SL_FMT_COUNT);

	static const char *fields[] = {
		"vhost", "client", "ident", "user", "time", "request",
		"method", "url", "path", "protocol", "status", "bytes",
		"referrer", "user_agent", "request_time", "query", "date", "line", "length",
		"status_class", "hour",
	};
	assert_int_equal(sizeof fields / sizeof fields[0], SL_F_COUNT);
	for (int f = 0; f < SL_F_COUNT; f++)
		assert_int_equal(sl_field_from_name(fields[f]), f);
	assert_int_equal(sl_field_from_name("User_agent"), SL_F_COUNT);
	for (int f = 0; f < SL_F_COUNT; f++)
		assert_string_equal(sl_field_name((sl_field)f), fields[f]);
	assert_null(sl_field_name(SL_F_COUNT));
	assert_null(sl_field_name((sl_field)-1));
}

static int run_suite(const char *name, bool first);

/* The whole suite runs once per scan implementation this CPU has (the
 * parser finds its delimiters through lib/format/scan.c). */
int main(void)
{
	static const int levels[] = {SL_SCAN_SCALAR, SL_SCAN_SSE42,
				     SL_SCAN_AVX2};
	int failed = 0, runs = 0;
	for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
		if (!sl_scan_force(levels[l]))
			continue;
		char name[64];
		snprintf(name, sizeof name, "access (scan: %s)",
			 sl_scan_impl_name());
		failed += run_suite(name, runs == 0);
		runs++;
	}
	sl_scan_force(SL_SCAN_AUTO);
	return runs ? failed : 1;
}

static int run_suite(const char *name, bool first)
{
	/* the date code does not search: its tests run once */
	const struct CMUnitTest once[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(time_cache),
		cmocka_unit_test(time_random_vs_timegm),
		cmocka_unit_test(date_validity_vs_timegm),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checker_catches_mismatch),
		cmocka_unit_test(known_lines),
		cmocka_unit_test(prefixes_at_guard_page),
		cmocka_unit_test(malformed_lines),
		cmocka_unit_test(longest_line),
		cmocka_unit_test(window_crossing),
		cmocka_unit_test(random_round_trip),
		cmocka_unit_test(lines_round_trip),
		cmocka_unit_test(numbers_vs_reference),
		cmocka_unit_test(detect),
	};
	int failed = 0;
	if (first)
		failed += _cmocka_run_group_tests("access: names and dates", once,
						  sizeof once / sizeof once[0],
						  tu_guard_setup, tu_guard_teardown);
	return failed + _cmocka_run_group_tests(name, tests,
						sizeof tests / sizeof tests[0],
						tu_guard_setup, tu_guard_teardown);
}
