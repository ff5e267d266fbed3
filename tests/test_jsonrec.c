/*
 * test_jsonrec.c: JSON lines records (lib/format/jsonrec.c).
 *
 *  - the corpus of tricky documents (tests/data/json/corpus.jsonl, written
 *    by make_corpus.py) against Python's json module: reference.py prints,
 *    per document, accept/reject/not-an-object and the decoded values of
 *    four mapped keys, and every one must agree. Without python3 the test
 *    FAILS (scripts/deps.sh installs it). The comparison is shown to catch
 *    a mismatch by feeding it one altered expectation;
 *  - seeded generated nginx JSON lines (escape=json style, numbers as
 *    strings or numbers, the time in three forms, request whole or in
 *    parts), checked field by field against the values generated;
 *  - the caddy and traefik presets on lines shaped like their documented
 *    output, field by field;
 *  - every truncated prefix of valid lines, each placed before a PROT_NONE
 *    page; the mapping API, detection, and out-of-memory paths;
 *  - the scalar fallback (the same source compiled here without SSE2,
 *    under other names) against the library's SSE2 path, on the corpus,
 *    generated lines and their prefixes and mutations.
 */
#include "testutil.h"
#include "guardpage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The scalar build of lib/format/jsonrec.c, as scalar_jsonrec_*(). */
#define sl_jsonrec_new scalar_jsonrec_new
#define sl_jsonrec_free scalar_jsonrec_free
#define sl_jsonrec_map scalar_jsonrec_map
#define sl_jsonrec_parse scalar_jsonrec_parse
#define sl_jsonrec_has_field scalar_jsonrec_has_field
#define sl_jsonrec_looks_like scalar_jsonrec_looks_like
sl_status scalar_jsonrec_new(sl_jsonrec **out, sl_budget *b, const char *preset);
void scalar_jsonrec_free(sl_jsonrec *j);
sl_status scalar_jsonrec_map(sl_jsonrec *j, sl_field f, const char *path);
sl_status scalar_jsonrec_parse(sl_jsonrec *j, const char *line, size_t len, sl_record *rec,
			       sl_time_cache *tc);
bool scalar_jsonrec_has_field(const sl_jsonrec *j, sl_field f);
bool scalar_jsonrec_looks_like(const char *buf, size_t len, const char **preset);
#undef __SSE2__
#include "../lib/format/jsonrec.c"
#undef sl_jsonrec_new
#undef sl_jsonrec_free
#undef sl_jsonrec_map
#undef sl_jsonrec_parse
#undef sl_jsonrec_has_field
#undef sl_jsonrec_looks_like

#define CORPUS "tests/data/json/corpus.jsonl"
#define REFERENCE "tests/data/json/reference.py"

static sl_budget budget;

static sl_jsonrec *new_rec(const char *preset)
{
	sl_jsonrec *j;
	sl_budget_init(&budget, 1 << 20);
	assert_int_equal(sl_jsonrec_new(&j, &budget, preset), SL_OK);
	return j;
}

static bool str_is(sl_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define ASSERT_FIELD(rec, f, want)                                                       \
	do {                                                                             \
		if (!str_is((rec).field[f], want))                                       \
			fail_msg("%s: got '%.*s', want '%s'", sl_field_name(f),          \
				 (int)(rec).field[f].len, (rec).field[f].p, want);       \
	} while (0)

/* ------------------------------------------------------------------------ */
/* The corpus against Python                                                 */
/* ------------------------------------------------------------------------ */

/* Our answer for one document in reference.py's form. */
static void describe(sl_status st, const sl_record *rec, char *out, size_t cap)
{
	if (st != SL_OK) {
		bool json = st == SL_EFORMAT && strncmp(rec->why, "invalid JSON: ", 14) == 0;
		snprintf(out, cap, "%s\t-\t-\t-\t-", json ? "reject" : st == SL_EFORMAT &&
			 strcmp(rec->why, "not a JSON object") == 0 ? "notobj" : "error");
		return;
	}
	size_t n = (size_t)snprintf(out, cap, "ok");
	static const sl_field keys[3] = {SL_F_USER_AGENT, SL_F_REFERRER, SL_F_USER};
	for (int k = 0; k < 3; k++) {
		sl_str s = rec->field[keys[k]];
		if (!s.len) {
			n += (size_t)snprintf(out + n, cap - n, "\t-");
		} else if (s.p > tu_guard_base && s.p < tu_guard_end && s.p[-1] != '"' &&
			   (s.p[0] == '-' || (s.p[0] >= '0' && s.p[0] <= '9'))) {
			n += (size_t)snprintf(out + n, cap - n, "\tN"); /* a number's text */
		} else {
			n += (size_t)snprintf(out + n, cap - n, "\tS");
			for (size_t i = 0; i < s.len && n + 3 < cap; i++)
				n += (size_t)snprintf(out + n, cap - n, "%02x", (unsigned char)s.p[i]);
		}
	}
	if (rec->has_request_time)
		n += (size_t)snprintf(out + n, cap - n, "\tF%.17g", rec->request_time);
	else
		snprintf(out + n, cap - n, "\t-");
}

/* Does got agree with Python's line want? Numbers are compared as values:
 * exactly when Python's repr reads back to the same double, which
 * lib/format/jsonrec.c guarantees on its fast path; within 4 units in the last
 * place otherwise (beyond 19 digits or 10^22). */
static bool agrees(const char *got, const char *want)
{
	const char *gf = strrchr(got, '\t'), *wf = strrchr(want, '\t');
	if ((size_t)(gf - got) != (size_t)(wf - want) || memcmp(got, want, (size_t)(gf - got)) != 0)
		return false;
	if (gf[1] != 'F' || wf[1] != 'F')
		return strcmp(gf, wf) == 0;
	double g = strtod(gf + 2, NULL), w = strtod(wf + 2, NULL);
	return g == w || fabs(g - w) <= 4 * fabs(w) * 2.220446049250313e-16;
}

/* Parses the corpus and compares with the reference's lines; the number
 * of disagreements (each printed). */
static int compare_corpus(sl_jsonrec *j, const char *corpus, size_t n, char **want, int nwant)
{
	int bad = 0, doc = 0;
	const char *p = corpus, *end = corpus + n;
	static char got[1 << 19];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		sl_record rec;
		const char *line = tu_guarded(p, len);
		sl_status st = sl_jsonrec_parse(j, line, len, &rec, NULL);
		describe(st, &rec, got, sizeof got);
		if (doc >= nwant) {
			print_message("document %d: no reference line\n", doc + 1);
			bad++;
		} else if (!agrees(got, want[doc])) {
			print_message("document %d (%.*s): got %.120s, Python %.120s %s\n", doc + 1,
				      (int)(len < 60 ? len : 60), p, got, want[doc],
				      st != SL_OK ? rec.why : "");
			bad++;
		}
		doc++;
		p = nl ? nl + 1 : end;
	}
	return bad + (doc != nwant);
}

static void corpus_agrees_with_python(void **state)
{
	(void)state;
	if (tu_run("command -v python3 >/dev/null 2>&1") != 0)
		fail_msg("python3 is required for the JSON corpus test (scripts/deps.sh installs it)");
	size_t n;
	char *corpus = tu_slurp(CORPUS, &n);
	assert_non_null(corpus);
	FILE *f = popen("python3 " REFERENCE " " CORPUS, "r");
	assert_non_null(f);
	static char buf[1 << 20];
	size_t got = fread(buf, 1, sizeof buf - 1, f);
	assert_int_equal(pclose(f), 0);
	buf[got] = 0;
	char *want[1024];
	int nwant = 0;
	for (char *s = buf, *nl; *s && nwant < 1024; s = nl + 1) {
		nl = strchr(s, '\n');
		assert_non_null(nl);
		*nl = 0;
		want[nwant++] = s;
	}
	assert_true(nwant > 150);
	sl_jsonrec *j = new_rec("none");
	assert_int_equal(sl_jsonrec_map(j, SL_F_USER_AGENT, "s"), SL_OK);
	assert_int_equal(sl_jsonrec_map(j, SL_F_REFERRER, "k.x"), SL_OK);
	assert_int_equal(sl_jsonrec_map(j, SL_F_USER, "a.1"), SL_OK);
	assert_int_equal(sl_jsonrec_map(j, SL_F_REQUEST_TIME, "n"), SL_OK);
	assert_int_equal(compare_corpus(j, corpus, n, want, nwant), 0);

	/* the checker can fail: one verdict and one value altered */
	char *saved = want[0];
	want[0] = "reject\t-\t-\t-\t-";
	assert_int_equal(compare_corpus(j, corpus, n, want, nwant), 1);
	want[0] = "ok\tS616263\t-\t-\tF1.25";
	assert_int_equal(compare_corpus(j, corpus, n, want, nwant), 1);
	want[0] = saved;
	sl_jsonrec_free(j);
	free(corpus);
}

/* ------------------------------------------------------------------------ */
/* Generated nginx JSON lines                                                */
/* ------------------------------------------------------------------------ */

/* Appends s as a JSON string's inside, escaped as nginx's escape=json does
 * ("\"", "\\", control bytes as \u00XX) and sometimes as other writers do
 * (\/, \n, \u escapes of ASCII). */
static size_t put_escaped(char *o, const char *s, tu_rng *r)
{
	size_t n = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			n += (size_t)sprintf(o + n, "\\%c", c);
		else if (c == '\n')
			n += (size_t)sprintf(o + n, "\\n");
		else if (c < 0x20)
			n += (size_t)sprintf(o + n, "\\u%04x", c);
		else if (c == '/' && tu_below(r, 4) == 0)
			n += (size_t)sprintf(o + n, "\\/");
		else if (c < 0x80 && tu_below(r, 40) == 0)
			n += (size_t)sprintf(o + n, "\\u%04X", c);
		else
			o[n++] = (char)c;
	}
	return n;
}

static void random_text(tu_rng *r, char *o, size_t max, bool odd)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/.-_ ;()";
	static const char *const odd_bits[] = {"\"", "\\", "\n", "\t", "\x01", "é", "☃", "😀", "/"};
	size_t n = 1 + tu_below(r, max), k = 0;
	while (k < n) {
		if (odd && tu_below(r, 8) == 0) {
			const char *b = odd_bits[tu_below(r, 9)];
			memcpy(o + k, b, strlen(b));
			k += strlen(b);
		} else {
			o[k++] = plain[tu_below(r, sizeof plain - 1)];
		}
	}
	o[k] = 0;
}

static void iso_from_clf(const char *clf, char *iso)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int mon = (int)((strstr(months, (char[]){clf[3], clf[4], clf[5], 0}) - months) / 3) + 1;
	sprintf(iso, "%.4s-%02d-%.2sT%.8s+00:00", clf + 7, mon, clf, clf + 12);
}

static void generated_nginx_lines(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("jsonrec-nginx", 14)};
	sl_jsonrec *j = new_rec("json");
	sl_time_cache tc = {{0}, 0, 0};
	static const char *const methods[] = {"GET", "POST", "HEAD", "PROPFIND"};
	for (int i = 0; i < 3000; i++) {
		char client[64], ua[256], ref[256], path[128], query[64], host[64], clf[27], iso[40];
		char line[2048];
		snprintf(client, sizeof client, "10.%u.%u.%u", (unsigned)tu_below(&rng, 256),
			 (unsigned)tu_below(&rng, 256), (unsigned)tu_below(&rng, 256));
		random_text(&rng, ua, 60, true);
		random_text(&rng, ref, 40, true);
		random_text(&rng, path, 30, false);
		path[0] = '/';
		for (char *c = path; *c; c++)
			if (*c == ' ' || *c == '?')
				*c = '_';
		random_text(&rng, query, 10, false);
		for (char *c = query; *c; c++)
			if (*c == ' ')
				*c = '&';
		bool has_query = tu_below(&rng, 2);
		random_text(&rng, host, 12, false);
		for (char *c = host; *c; c++)
			if (*c == ' ')
				*c = '.';
		int64_t t = 946684800 + (int64_t)tu_below(&rng, 1000000000);
		tu_log_time(clf, t);
		iso_from_clf(clf, iso);
		unsigned status = 100 + (unsigned)tu_below(&rng, 500);
		uint64_t bytes = tu_below(&rng, 4) ? tu_below(&rng, 1000000) : tu_next(&rng) >> 1;
		unsigned ms = (unsigned)tu_below(&rng, 100000);
		const char *method = methods[tu_below(&rng, 4)];
		char url[256];
		snprintf(url, sizeof url, "%s%s%s", path, has_query ? "?" : "", has_query ? query : "");

		size_t n = 0;
		int form = (int)tu_below(&rng, 3), shape = (int)tu_below(&rng, 2);
		bool as_strings = tu_below(&rng, 2);
		n += (size_t)sprintf(line + n, "{\"remote_addr\":\"%s\",\"remote_user\":\"-\",", client);
		if (form == 0)
			n += (size_t)sprintf(line + n, "\"time_iso8601\":\"%s\",", iso);
		else if (form == 1)
			n += (size_t)sprintf(line + n, "\"time_local\":\"%s\",", clf);
		else
			n += (size_t)sprintf(line + n, "\"msec\":%lld.%03u,", (long long)t,
					     (unsigned)tu_below(&rng, 1000));
		if (shape == 0) {
			n += (size_t)sprintf(line + n, "\"request\":\"%s ", method);
			n += put_escaped(line + n, url, &rng);
			n += (size_t)sprintf(line + n, " HTTP/1.1\",");
		} else {
			n += (size_t)sprintf(line + n, "\"request_method\":\"%s\",\"request_uri\":\"",
					     method);
			n += put_escaped(line + n, url, &rng);
			n += (size_t)sprintf(line + n, "\",\"server_protocol\":\"HTTP/2.0\",");
		}
		const char *qq = as_strings ? "\"" : "";
		n += (size_t)sprintf(line + n, "\"status\":%s%u%s,\"body_bytes_sent\":%s%llu%s,",
				     qq, status, qq, qq, (unsigned long long)bytes, qq);
		n += (size_t)sprintf(line + n, "\"request_time\":%s%u.%03u%s,", qq, ms / 1000,
				     ms % 1000, qq);
		n += (size_t)sprintf(line + n, "\"http_referer\":\"");
		n += put_escaped(line + n, ref, &rng);
		n += (size_t)sprintf(line + n, "\",\"http_user_agent\":\"");
		n += put_escaped(line + n, ua, &rng);
		n += (size_t)sprintf(line + n, "\",\"host\":\"%s\",\"extra\":{\"x\":[1,{\"y\":null}]}}",
				     host);

		sl_record rec;
		const char *g = tu_guarded(line, n);
		sl_status st = sl_jsonrec_parse(j, g, n, &rec, &tc);
		if (st != SL_OK)
			fail_msg("seed line %d: %s (%s): %.*s", i, sl_strerror(st), rec.why, (int)n, line);
		ASSERT_FIELD(rec, SL_F_CLIENT, client);
		ASSERT_FIELD(rec, SL_F_USER, "-");
		ASSERT_FIELD(rec, SL_F_USER_AGENT, ua);
		ASSERT_FIELD(rec, SL_F_REFERRER, ref);
		ASSERT_FIELD(rec, SL_F_VHOST, host);
		ASSERT_FIELD(rec, SL_F_METHOD, method);
		ASSERT_FIELD(rec, SL_F_URL, url);
		ASSERT_FIELD(rec, SL_F_PROTOCOL, shape == 0 ? "HTTP/1.1" : "HTTP/2.0");
		path[strlen(path)] = 0;
		ASSERT_FIELD(rec, SL_F_PATH, path);
		ASSERT_FIELD(rec, SL_F_QUERY, has_query ? query : "");
		char request[512];
		snprintf(request, sizeof request, "%s %s %s", method, url,
			 shape == 0 ? "HTTP/1.1" : "HTTP/2.0");
		ASSERT_FIELD(rec, SL_F_REQUEST, request);
		assert_int_equal(rec.status, status);
		assert_int_equal(rec.bytes, bytes);
		assert_true(rec.has_request_time);
		assert_true(rec.request_time == (double)(ms / 1000) + (double)(ms % 1000) / 1000.0 ||
			    fabs(rec.request_time - ms / 1000.0) < 1e-12);
		assert_int_equal(rec.time, t);
		char date[16];
		if (form == 0)
			snprintf(date, sizeof date, "%.10s", iso);
		else if (form == 1)
			snprintf(date, sizeof date, "%.11s", clf);
		else
			snprintf(date, sizeof date, "%.10s", iso); /* epoch: the UTC date */
		ASSERT_FIELD(rec, SL_F_DATE, date);
		assert_true(rec.field[SL_F_LINE].p == g && rec.field[SL_F_LINE].len == n);
	}
	sl_jsonrec_free(j);
}

/* The same requests as combined lines and as nginx JSON (time_local, the
 * request whole): sl_access_parse and sl_jsonrec_parse must give the same
 * record, field by field, so that the reports over them can agree. */
static void same_records_as_combined(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("jsonrec-combined", 15)};
	sl_jsonrec *j = new_rec("json");
	static const sl_field same[] = {
		SL_F_CLIENT, SL_F_USER, SL_F_TIME, SL_F_REQUEST, SL_F_METHOD, SL_F_URL,
		SL_F_PATH, SL_F_PROTOCOL, SL_F_STATUS, SL_F_BYTES, SL_F_REFERRER,
		SL_F_USER_AGENT, SL_F_QUERY, SL_F_DATE,
	};
	static const char *const requests[] = {
		"GET /a HTTP/1.1", "POST /api/v1/x?y=1&z=2 HTTP/2.0", "GET /", "-",
		"OPTIONS * HTTP/1.1", "GET /with space HTTP/1.0", "BREW /pot HTCPCP/1.0",
	};
	for (int i = 0; i < 2000; i++) {
		char clf[27], ua[128], ref[128], combined[1024], json[1024];
		tu_log_time(clf, (int64_t)tu_below(&rng, 2000000000));
		random_text(&rng, ua, 50, false);
		random_text(&rng, ref, 30, false);
		const char *req = requests[tu_below(&rng, 7)];
		unsigned status = 100 + (unsigned)tu_below(&rng, 500);
		unsigned long long bytes = tu_below(&rng, 100000);
		unsigned ms = (unsigned)tu_below(&rng, 10000);
		int n1 = snprintf(combined, sizeof combined,
				  "10.0.0.%u - u%u [%s] \"%s\" %u %llu \"%s\" \"%s\" %u.%03u", i % 256,
				  i % 7, clf, req, status, bytes, ref, ua, ms / 1000, ms % 1000);
		int n2 = snprintf(json, sizeof json,
				  "{\"remote_addr\":\"10.0.0.%u\",\"remote_user\":\"u%u\","
				  "\"time_local\":\"%s\",\"request\":\"%s\",\"status\":%u,"
				  "\"body_bytes_sent\":%llu,\"http_referer\":\"%s\","
				  "\"http_user_agent\":\"%s\",\"request_time\":%u.%03u}",
				  i % 256, i % 7, clf, req, status, bytes, ref, ua, ms / 1000, ms % 1000);
		sl_record a, b;
		sl_time_cache tc1 = {{0}, 0, 0}, tc2 = {{0}, 0, 0};
		assert_int_equal(sl_access_parse(SL_FMT_COMBINED, combined, (size_t)n1, &a, &tc1),
				 SL_OK);
		assert_int_equal(sl_jsonrec_parse(j, json, (size_t)n2, &b, &tc2), SL_OK);
		for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
			sl_field f = same[k];
			if (a.field[f].len != b.field[f].len ||
			    memcmp(a.field[f].p, b.field[f].p, a.field[f].len) != 0)
				fail_msg("%s: combined '%.*s', JSON '%.*s' in %s", sl_field_name(f),
					 (int)a.field[f].len, a.field[f].p, (int)b.field[f].len,
					 b.field[f].p, json);
		}
		assert_int_equal(a.time, b.time);
		assert_int_equal(a.status, b.status);
		assert_int_equal(a.bytes, b.bytes);
		assert_int_equal(a.has_request_time, b.has_request_time);
		assert_true(a.request_time == b.request_time);
	}
	sl_jsonrec_free(j);
}

/* ------------------------------------------------------------------------ */
/* Caddy and Traefik                                                         */
/* ------------------------------------------------------------------------ */

static void caddy_preset(void **state)
{
	(void)state;
	/* the shape of Caddy v2's "handled request" entry */
	static const char line[] =
		"{\"level\":\"info\",\"ts\":1646861401.5241024,\"logger\":\"http.log.access.log0\","
		"\"msg\":\"handled request\",\"request\":{\"remote_ip\":\"127.0.0.1\","
		"\"remote_port\":\"41342\",\"client_ip\":\"203.0.113.7\",\"proto\":\"HTTP/2.0\","
		"\"method\":\"GET\",\"host\":\"example.com\",\"uri\":\"/search?q=caddy\","
		"\"headers\":{\"User-Agent\":[\"curl/7.82.0\"],\"Accept\":[\"*/*\"],"
		"\"Referer\":[\"https://example.org/\",\"second\"]},"
		"\"tls\":{\"resumed\":false,\"version\":772,\"cipher_suite\":4865,\"proto\":\"h2\","
		"\"server_name\":\"example.com\"}},\"bytes_read\":0,\"user_id\":\"\","
		"\"duration\":0.000929675,\"size\":10900,\"status\":200,"
		"\"resp_headers\":{\"Server\":[\"Caddy\"],\"Content-Type\":[\"text/html; charset=utf-8\"]}}";
	sl_jsonrec *j = new_rec("caddy");
	sl_record rec;
	assert_int_equal(sl_jsonrec_parse(j, line, strlen(line), &rec, NULL), SL_OK);
	ASSERT_FIELD(rec, SL_F_CLIENT, "203.0.113.7");
	ASSERT_FIELD(rec, SL_F_METHOD, "GET");
	ASSERT_FIELD(rec, SL_F_URL, "/search?q=caddy");
	ASSERT_FIELD(rec, SL_F_PATH, "/search");
	ASSERT_FIELD(rec, SL_F_QUERY, "q=caddy");
	ASSERT_FIELD(rec, SL_F_PROTOCOL, "HTTP/2.0");
	ASSERT_FIELD(rec, SL_F_REQUEST, "GET /search?q=caddy HTTP/2.0");
	ASSERT_FIELD(rec, SL_F_VHOST, "example.com");
	ASSERT_FIELD(rec, SL_F_USER_AGENT, "curl/7.82.0");
	ASSERT_FIELD(rec, SL_F_REFERRER, "https://example.org/");
	ASSERT_FIELD(rec, SL_F_USER, "");
	ASSERT_FIELD(rec, SL_F_DATE, "2022-03-09");
	assert_int_equal(rec.status, 200);
	assert_int_equal(rec.bytes, 10900);
	assert_int_equal(rec.time, 1646861401);
	assert_true(rec.has_request_time);
	assert_true(rec.request_time == 0.000929675);

	/* an older Caddy without client_ip: the remote_ip */
	static const char old[] =
		"{\"ts\":1585597114.7687502,\"request\":{\"remote_ip\":\"192.0.2.1\",\"method\":\"POST\","
		"\"uri\":\"/api\",\"proto\":\"HTTP/1.1\",\"host\":\"h\",\"headers\":{}},"
		"\"duration\":1.5,\"size\":0,\"status\":502}";
	assert_int_equal(sl_jsonrec_parse(j, old, strlen(old), &rec, NULL), SL_OK);
	ASSERT_FIELD(rec, SL_F_CLIENT, "192.0.2.1");
	ASSERT_FIELD(rec, SL_F_USER_AGENT, "");
	assert_int_equal(rec.status, 502);
	assert_true(rec.request_time == 1.5);
	sl_jsonrec_free(j);
}

static void traefik_preset(void **state)
{
	(void)state;
	static const char line[] =
		"{\"ClientAddr\":\"198.51.100.4:52314\",\"ClientHost\":\"198.51.100.4\","
		"\"ClientPort\":\"52314\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":3542,"
		"\"DownstreamStatus\":404,\"Duration\":2405127,\"OriginContentSize\":3542,"
		"\"OriginDuration\":2270812,\"OriginStatus\":404,\"Overhead\":134315,"
		"\"RequestAddr\":\"whoami.example.com\",\"RequestContentSize\":0,"
		"\"RequestCount\":17,\"RequestHost\":\"whoami.example.com\","
		"\"RequestMethod\":\"GET\",\"RequestPath\":\"/missing?x=1\",\"RequestPort\":\"-\","
		"\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,"
		"\"RouterName\":\"whoami@docker\",\"ServiceName\":\"whoami@docker\","
		"\"StartLocal\":\"2024-05-06T09:10:11.123456789+02:00\","
		"\"StartUTC\":\"2024-05-06T07:10:11.123456789Z\",\"entryPointName\":\"websecure\","
		"\"level\":\"info\",\"msg\":\"\",\"request_User-Agent\":\"Mozilla/5.0 (X11)\","
		"\"request_Referer\":\"https://example.com/\",\"time\":\"2024-05-06T09:10:11+02:00\"}";
	sl_jsonrec *j = new_rec("traefik");
	sl_record rec;
	assert_int_equal(sl_jsonrec_parse(j, line, strlen(line), &rec, NULL), SL_OK);
	ASSERT_FIELD(rec, SL_F_CLIENT, "198.51.100.4");
	ASSERT_FIELD(rec, SL_F_USER, "-");
	ASSERT_FIELD(rec, SL_F_METHOD, "GET");
	ASSERT_FIELD(rec, SL_F_URL, "/missing?x=1");
	ASSERT_FIELD(rec, SL_F_PATH, "/missing");
	ASSERT_FIELD(rec, SL_F_PROTOCOL, "HTTP/1.1");
	ASSERT_FIELD(rec, SL_F_VHOST, "whoami.example.com");
	ASSERT_FIELD(rec, SL_F_USER_AGENT, "Mozilla/5.0 (X11)");
	ASSERT_FIELD(rec, SL_F_REFERRER, "https://example.com/");
	ASSERT_FIELD(rec, SL_F_TIME, "2024-05-06T07:10:11.123456789Z");
	ASSERT_FIELD(rec, SL_F_DATE, "2024-05-06");
	assert_int_equal(rec.status, 404);
	assert_int_equal(rec.bytes, 3542);
	assert_int_equal(rec.time, 1714979411);
	assert_true(rec.has_request_time);
	assert_true(fabs(rec.request_time - 0.002405127) < 1e-15);
	sl_jsonrec_free(j);
}

/* ------------------------------------------------------------------------ */
/* Records: errors, mapping, prefixes                                        */
/* ------------------------------------------------------------------------ */

static sl_status parse1(sl_jsonrec *j, const char *s, sl_record *rec)
{
	return sl_jsonrec_parse(j, tu_guarded(s, strlen(s)), strlen(s), rec, NULL);
}

static void record_rules(void **state)
{
	(void)state;
	sl_jsonrec *j = new_rec(NULL);
	sl_record rec;
	assert_int_equal(parse1(j, "", &rec), SL_ESKIP);
	assert_int_equal(parse1(j, " \t\r", &rec), SL_ESKIP);
	assert_int_equal(parse1(j, "{\"status\":99}", &rec), SL_EFORMAT);
	assert_string_equal(rec.why, "status outside 100..599");
	assert_int_equal(parse1(j, "{\"status\":600}", &rec), SL_EFORMAT);
	assert_int_equal(parse1(j, "{\"status\":\"2OO\"}", &rec), SL_EFORMAT);
	assert_int_equal(parse1(j, "{\"status\":200.0}", &rec), SL_EFORMAT);
	assert_int_equal(parse1(j, "{\"status\":true}", &rec), SL_EFORMAT);
	assert_int_equal(parse1(j, "{\"status\":\"\"}", &rec), SL_EFORMAT);
	assert_int_equal(parse1(j, "{\"status\":\"200\",\"body_bytes_sent\":-1}", &rec), SL_EFORMAT);
	assert_int_equal(parse1(j, "{\"body_bytes_sent\":18446744073709551616}", &rec), SL_EFORMAT);
	assert_int_equal(parse1(j, "{\"body_bytes_sent\":18446744073709551615}", &rec), SL_OK);
	assert_true(rec.bytes == UINT64_MAX);
	assert_int_equal(parse1(j, "{\"body_bytes_sent\":\"-\"}", &rec), SL_OK);
	assert_int_equal(rec.bytes, 0);
	assert_int_equal(parse1(j, "{\"time_local\":\"31/Feb/2020:00:00:00 +0000\"}", &rec),
			 SL_EFORMAT);
	assert_string_equal(rec.why, "time is not a time");
	/* absent status and time: 0, and the line is still a record */
	assert_int_equal(parse1(j, "{\"remote_addr\":\"::1\"}", &rec), SL_OK);
	assert_int_equal(rec.status, 0);
	assert_int_equal(rec.time, 0);
	assert_int_equal(rec.field[SL_F_TIME].len, 0);
	/* a preferred key wins over a later one, whatever the order */
	assert_int_equal(parse1(j, "{\"bytes_sent\":5,\"body_bytes_sent\":3}", &rec), SL_OK);
	assert_int_equal(rec.bytes, 3);
	assert_int_equal(parse1(j, "{\"body_bytes_sent\":3,\"bytes_sent\":5}", &rec), SL_OK);
	assert_int_equal(rec.bytes, 3);
	/* null falls back to the next key */
	assert_int_equal(parse1(j, "{\"host\":null,\"server_name\":\"s\"}", &rec), SL_OK);
	ASSERT_FIELD(rec, SL_F_VHOST, "s");
	/* request_time "-" (no upstream) is absent, not malformed */
	assert_int_equal(parse1(j, "{\"request_time\":\"-\"}", &rec), SL_OK);
	assert_false(rec.has_request_time);
	/* a request that is not METHOD URL PROTOCOL */
	assert_int_equal(parse1(j, "{\"request\":\"\\u0016\\u0003\\u0001\"}", &rec), SL_OK);
	ASSERT_FIELD(rec, SL_F_METHOD, "");
	ASSERT_FIELD(rec, SL_F_URL, "\x16\x03\x01");
	/* a mapped method wins over the request's */
	assert_int_equal(parse1(j, "{\"request\":\"GET /a HTTP/1.0\",\"request_method\":\"HEAD\"}",
				&rec), SL_OK);
	ASSERT_FIELD(rec, SL_F_METHOD, "HEAD");
	ASSERT_FIELD(rec, SL_F_URL, "/a");
	/* decoded values survive until the next parse; the time cache */
	sl_time_cache tc = {{0}, 0, 0};
	const char *l = "{\"time_iso8601\":\"2020-01-02T03:04:05+01:00\",\"http_user_agent\":\"a\\tb\"}";
	assert_int_equal(sl_jsonrec_parse(j, l, strlen(l), &rec, &tc), SL_OK);
	assert_int_equal(rec.time, 1577930645);
	ASSERT_FIELD(rec, SL_F_USER_AGENT, "a\tb");
	assert_int_equal(sl_jsonrec_parse(j, l, strlen(l), &rec, &tc), SL_OK);
	assert_int_equal(rec.time, 1577930645);
	assert_int_equal(tc.time, 1577930645);
	sl_jsonrec_free(j);
}

static void mapping(void **state)
{
	(void)state;
	sl_jsonrec *j = new_rec("json");
	sl_record rec;
	assert_true(sl_jsonrec_has_field(j, SL_F_CLIENT));
	assert_true(sl_jsonrec_has_field(j, SL_F_PATH));
	assert_true(sl_jsonrec_has_field(j, SL_F_DATE));
	assert_false(sl_jsonrec_has_field(j, SL_F_IDENT));
	assert_int_equal(sl_jsonrec_map(j, SL_F_CLIENT, "ip"), SL_OK);
	assert_int_equal(sl_jsonrec_map(j, SL_F_IDENT, "who.name.0"), SL_OK);
	assert_true(sl_jsonrec_has_field(j, SL_F_IDENT));
	assert_int_equal(parse1(j, "{\"remote_addr\":\"1.1.1.1\",\"ip\":\"2.2.2.2\","
				   "\"who\":{\"name\":[\"n0\",\"n1\"]}}", &rec), SL_OK);
	ASSERT_FIELD(rec, SL_F_CLIENT, "2.2.2.2");
	ASSERT_FIELD(rec, SL_F_IDENT, "n0");
	/* the preset's key stays a fallback */
	assert_int_equal(parse1(j, "{\"remote_addr\":\"1.1.1.1\"}", &rec), SL_OK);
	ASSERT_FIELD(rec, SL_F_CLIENT, "1.1.1.1");
	/* NULL removes a field */
	assert_int_equal(sl_jsonrec_map(j, SL_F_CLIENT, NULL), SL_OK);
	assert_false(sl_jsonrec_has_field(j, SL_F_CLIENT));
	assert_int_equal(parse1(j, "{\"remote_addr\":\"1.1.1.1\"}", &rec), SL_OK);
	ASSERT_FIELD(rec, SL_F_CLIENT, "");
	/* refusals leave the map as it was */
	assert_int_equal(sl_jsonrec_map(j, SL_F_LINE, "x"), SL_EINVAL);
	assert_int_equal(sl_jsonrec_map(j, SL_F_COUNT, "x"), SL_EINVAL);
	assert_int_equal(sl_jsonrec_map(j, SL_F_USER, ""), SL_EINVAL);
	assert_int_equal(sl_jsonrec_map(j, SL_F_USER, "a..b"), SL_EINVAL);
	assert_int_equal(sl_jsonrec_map(j, SL_F_USER, "a."), SL_EINVAL);
	char longseg[200];
	memset(longseg, 'k', sizeof longseg - 1);
	longseg[sizeof longseg - 1] = 0;
	assert_int_equal(sl_jsonrec_map(j, SL_F_USER, longseg), SL_EINVAL);
	int ok = 0;
	for (int i = 0; i < 200; i++) {
		char p[32];
		snprintf(p, sizeof p, "many%d", i);
		ok += sl_jsonrec_map(j, SL_F_USER, p) == SL_OK;
	}
	assert_int_equal(ok, 64 - 20); /* 64 paths: the preset's 18, ip, who.name.0 */
	assert_int_equal(parse1(j, "{\"remote_user\":\"u\",\"who\":{\"name\":[\"n\"]}}", &rec), SL_OK);
	ASSERT_FIELD(rec, SL_F_IDENT, "n");
	sl_jsonrec_free(j);
	assert_int_equal(budget.used, 0);
	assert_int_equal(sl_jsonrec_new(&j, &budget, "apache"), SL_EINVAL);
	assert_null(j);
	sl_jsonrec_free(NULL);
}

/* Fields sharing one escaped key each get their decoded copy: the scratch
 * buffer must hold them all (it once assumed twice the line was enough). */
static void shared_escaped_key(void **state)
{
	(void)state;
	sl_jsonrec *j = new_rec("none");
	static const sl_field fields[] = {SL_F_USER, SL_F_IDENT, SL_F_VHOST, SL_F_REFERRER,
					  SL_F_USER_AGENT, SL_F_CLIENT, SL_F_URL};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		assert_int_equal(sl_jsonrec_map(j, fields[i], "s"), SL_OK);
	char line[4096], want[1024];
	size_t n = (size_t)sprintf(line, "{\"s\":\"");
	for (int i = 0; i < 500; i++) {
		n += (size_t)sprintf(line + n, "\\\"");
		want[i] = '"';
	}
	want[500] = 0;
	n += (size_t)sprintf(line + n, "\"}");
	sl_record rec;
	assert_int_equal(sl_jsonrec_parse(j, tu_guarded(line, n), n, &rec, NULL), SL_OK);
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		ASSERT_FIELD(rec, fields[i], want);
	ASSERT_FIELD(rec, SL_F_REQUEST, want);
	sl_jsonrec_free(j);
}

/* A line far past SL_LINE_MAX (the reader counts those as oversized, but
 * the parser must not care): a plain value is zero-copy, an escaped one
 * that the budget cannot decode is SL_ENOMEM, never a crash. */
static void huge_line(void **state)
{
	(void)state;
	size_t big = 8 << 20;
	char *line = malloc(big + 64);
	assert_non_null(line);
	size_t n = (size_t)sprintf(line, "{\"status\":200,\"http_user_agent\":\"");
	memset(line + n, 'a', big);
	n += big;
	n += (size_t)sprintf(line + n, "\"}");
	sl_jsonrec *j = new_rec("json"); /* a 1 MiB budget */
	sl_record rec;
	assert_int_equal(sl_jsonrec_parse(j, line, n, &rec, NULL), SL_OK);
	assert_int_equal(rec.field[SL_F_USER_AGENT].len, big);
	line[n - 5] = '\\'; /* an escaped backslash near the end */
	line[n - 4] = '\\';
	assert_int_equal(sl_jsonrec_parse(j, line, n, &rec, NULL), SL_ENOMEM);
	assert_non_null(rec.why);
	assert_true(budget.used <= budget.limit);
	sl_jsonrec_free(j);
	free(line);
}

static void truncated_prefixes(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"{\"remote_addr\":\"1.2.3.4\",\"time_local\":\"10/Oct/2000:13:55:36 -0700\","
		"\"request\":\"GET /a?b=\\u00e9 HTTP/1.1\",\"status\":\"200\",\"body_bytes_sent\":12,"
		"\"request_time\":0.5e1,\"x\":[true,false,null,-1.5E-3,{\"y\":\"\\ud83d\\ude00\"}]}",
		"{\"ts\":1.5,\"request\":{\"method\":\"GET\",\"headers\":{\"User-Agent\":[\"é\"]}},"
		"\"status\":200}",
	};
	static const char *const preset_names[] = {"json", "caddy"};
	for (int k = 0; k < 2; k++) {
		sl_jsonrec *j = new_rec(preset_names[k]);
		size_t n = strlen(lines[k]);
		sl_record rec;
		assert_int_equal(sl_jsonrec_parse(j, tu_guarded(lines[k], n), n, &rec, NULL), SL_OK);
		for (size_t i = 0; i < n; i++) {
			sl_status st = sl_jsonrec_parse(j, tu_guarded(lines[k], i), i, &rec, NULL);
			if (st != (i == 0 ? SL_ESKIP : SL_EFORMAT))
				fail_msg("prefix %zu of line %d: %s", i, k, sl_strerror(st));
		}
		sl_jsonrec_free(j);
	}
}

static void detection(void **state)
{
	(void)state;
	const char *preset = NULL;
	const char *nginx = "{\"remote_addr\":\"1.2.3.4\",\"request\":\"GET / HTTP/1.1\",\"status\":200}\n"
			    "{\"remote_addr\":\"1.2.3.5\",\"request\":\"GET / HTTP/1.1\",\"status\":404}\n";
	assert_true(sl_jsonrec_looks_like(nginx, strlen(nginx), &preset));
	assert_string_equal(preset, "json");
	const char *caddy = "{\"ts\":1.5,\"request\":{\"uri\":\"/\",\"method\":\"GET\"},\"status\":200}\n";
	assert_true(sl_jsonrec_looks_like(caddy, strlen(caddy), &preset));
	assert_string_equal(preset, "caddy");
	const char *traefik = "{\"RequestPath\":\"/\",\"DownstreamStatus\":200}\n";
	assert_true(sl_jsonrec_looks_like(traefik, strlen(traefik), &preset));
	assert_string_equal(preset, "traefik");
	const char *app = "{\"level\":\"info\",\"msg\":\"started\"}\n\n{\"level\":\"warn\"}\n";
	assert_true(sl_jsonrec_looks_like(app, strlen(app), &preset));
	assert_string_equal(preset, "json");
	const char *combined = "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2 \"-\" \"x\"\n";
	assert_false(sl_jsonrec_looks_like(combined, strlen(combined), &preset));
	assert_false(sl_jsonrec_looks_like("", 0, &preset));
	const char *mostly_bad = "{\"a\":1}\n{bad\n[1]\n";
	assert_false(sl_jsonrec_looks_like(mostly_bad, strlen(mostly_bad), NULL));
}

static void out_of_memory(void **state)
{
	(void)state;
	tu_fail_state fs = {0, 0, 0};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
	sl_jsonrec *j = (sl_jsonrec *)&b; /* must be reset to NULL */
	assert_int_equal(sl_jsonrec_new(&j, &b, "json"), SL_ENOMEM);
	assert_null(j);
	assert_int_equal(b.used, 0);
	fs.allow = 1; /* the object, not its scratch buffer */
	fs.calls = 0;
	assert_int_equal(sl_jsonrec_new(&j, &b, "json"), SL_OK);
	sl_record rec;
	const char *plain = "{\"http_user_agent\":\"plain\",\"status\":200}";
	assert_int_equal(sl_jsonrec_parse(j, plain, strlen(plain), &rec, NULL), SL_OK);
	const char *esc = "{\"http_user_agent\":\"a\\\"b\",\"status\":200}";
	assert_int_equal(sl_jsonrec_parse(j, esc, strlen(esc), &rec, NULL), SL_ENOMEM);
	assert_non_null(rec.why);
	fs.allow = -1;
	assert_int_equal(sl_jsonrec_parse(j, esc, strlen(esc), &rec, NULL), SL_OK);
	ASSERT_FIELD(rec, SL_F_USER_AGENT, "a\"b");
	sl_jsonrec_free(j);
	assert_int_equal(b.used, 0);
	/* an unknown preset is SL_EINVAL before any allocation */
	fs.allow = 0;
	fs.calls = 0;
	assert_int_equal(sl_jsonrec_new(&j, &b, "apache"), SL_EINVAL);
	assert_int_equal(fs.calls, 0);
	/* a budget too small for the object */
	sl_budget small;
	sl_budget_init(&small, 1024);
	assert_int_equal(sl_jsonrec_new(&j, &small, "json"), SL_ENOMEM);
}

/* Both builds give the same answer on line[0 .. n-1]: the status, the
 * reason, every field's bytes and the numbers. */
static void same_both_ways(sl_jsonrec *fast, sl_jsonrec *slow, const char *line, size_t n)
{
	sl_record a, b;
	const char *g = tu_guarded(line, n);
	sl_status sa = sl_jsonrec_parse(fast, g, n, &a, NULL);
	sl_status sb = scalar_jsonrec_parse(slow, g, n, &b, NULL);
	if (sa != sb)
		fail_msg("SSE2 %s, scalar %s: %.*s", sl_strerror(sa), sl_strerror(sb),
			 (int)(n < 200 ? n : 200), line);
	if (sa != SL_OK) {
		if (sa != SL_ESKIP && strcmp(a.why, b.why) != 0)
			fail_msg("SSE2 '%s', scalar '%s'", a.why, b.why);
		return;
	}
	for (int f = 0; f < SL_F_COUNT; f++)
		if (a.field[f].len != b.field[f].len ||
		    memcmp(a.field[f].p, b.field[f].p, a.field[f].len) != 0)
			fail_msg("%s differs: %.*s", sl_field_name((sl_field)f),
				 (int)(n < 200 ? n : 200), line);
	assert_true(a.status == b.status && a.bytes == b.bytes && a.time == b.time &&
		    a.has_request_time == b.has_request_time &&
		    (a.request_time == b.request_time ||
		     (isnan(a.request_time) && isnan(b.request_time))));
}

static void scalar_matches_sse2(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("jsonrec-scalar", 16)};
	sl_jsonrec *fast = new_rec("none"), *slow;
	assert_int_equal(scalar_jsonrec_new(&slow, &budget, "none"), SL_OK);
	static const char *const paths[] = {"s", "k.x", "a.1", "n"};
	static const sl_field fields[] = {SL_F_USER_AGENT, SL_F_REFERRER, SL_F_USER,
					  SL_F_REQUEST_TIME};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(sl_jsonrec_map(fast, fields[i], paths[i]), SL_OK);
		assert_int_equal(scalar_jsonrec_map(slow, fields[i], paths[i]), SL_OK);
	}
	size_t len;
	char *corpus = tu_slurp(CORPUS, &len);
	assert_non_null(corpus);
	int lines = 0;
	for (char *p = corpus, *end = corpus + len; p < end; lines++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		same_both_ways(fast, slow, p, n);
		/* strings at every distance from the end of the line, and
		 * one byte changed at random */
		if (n < 400) {
			for (size_t k = 0; k < n; k++)
				same_both_ways(fast, slow, p, k);
			char m[400];
			memcpy(m, p, n);
			for (int r = 0; r < 20 && n; r++) {
				size_t at = tu_below(&rng, n);
				char was = m[at];
				static const char bytes[] = "\"\\{}[],:0-eE.nu\x01\x80\xc3\xed\xf0 ";
				m[at] = bytes[tu_below(&rng, sizeof bytes - 1)];
				same_both_ways(fast, slow, m, n);
				m[at] = was;
			}
		}
		p = nl ? nl + 1 : end;
	}
	assert_true(lines > 150);
	free(corpus);
	sl_jsonrec_free(fast);
	scalar_jsonrec_free(slow);
	/* the presets, on the nginx, caddy and traefik lines of the tests */
	const char *preset_names[] = {"json", "caddy", "traefik"};
	for (int i = 0; i < 3; i++) {
		fast = new_rec(preset_names[i]);
		assert_int_equal(scalar_jsonrec_new(&slow, &budget, preset_names[i]), SL_OK);
		const char *l = "{\"remote_addr\":\"1.2.3.4\",\"request\":\"GET /\\u00e9?x HTTP/1.1\","
				"\"status\":\"200\",\"ts\":1.5,\"request\":{\"uri\":\"/a\\\"b\","
				"\"method\":\"GET\"},\"RequestPath\":\"/p\",\"DownstreamStatus\":404,"
				"\"Duration\":1000,\"http_user_agent\":\"\xc3\xa9\xf0\x9f\x98\x80 long "
				"enough to cross sixteen bytes\"}";
		size_t n = strlen(l);
		for (size_t k = 0; k <= n; k++)
			same_both_ways(fast, slow, l, k);
		sl_jsonrec_free(fast);
		scalar_jsonrec_free(slow);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_agrees_with_python),
		cmocka_unit_test(generated_nginx_lines),
		cmocka_unit_test(same_records_as_combined),
		cmocka_unit_test(caddy_preset),
		cmocka_unit_test(traefik_preset),
		cmocka_unit_test(record_rules),
		cmocka_unit_test(mapping),
		cmocka_unit_test(shared_escaped_key),
		cmocka_unit_test(huge_line),
		cmocka_unit_test(truncated_prefixes),
		cmocka_unit_test(scalar_matches_sse2),
		cmocka_unit_test(detection),
		cmocka_unit_test(out_of_memory),
	};
	return cmocka_run_group_tests(tests, tu_guard_setup, tu_guard_teardown);
}
