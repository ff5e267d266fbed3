/*
 * test_exact_corpus.c: small logs are exact at the default settings, at
 * every -j (issue 12, "Exact whenever it fits").
 *
 * Each case writes a small log of a shape real users have, keeping every
 * line's fields as it writes them, and computes the reference figures from
 * those fields with plain arrays (no sluice code): requests, malformed,
 * bytes, status codes, methods, protocols, the unique IPs and visitors,
 * and every top list (url, path, ip, referrer, user_agent, not_found). It
 * then runs the program at the default budget with -j 1, 2 and 3 and checks
 * that every figure is marked exact and equals the reference: every row of
 * every list has the reference count for its key and no error, and the
 * counts listed are the reference's largest, in order.
 *
 * Shapes: scanner traffic (many paths with flat counts of 1 to 8, mostly
 * 404s), lines with extra trailing fields (request time, upstream time, a
 * host), the common format with CRLF line ends and host names for clients,
 * long query strings (URL and path differ), and a 30,000-line log of
 * ordinary diversity. Visitors are client + logged date + user agent over
 * the responses that are not 4xx (GoAccess's default; README "Unique
 * visitors").
 */
#include "testutil.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_KEYS 40000
#define TOP_N 10

/* A naive counter: a flat array of (key, count), searched linearly through
 * a small open-addressing index. Plain and obviously right. */
typedef struct {
	char **key;
	uint64_t *count;
	size_t n;
	size_t *slot; /* index + 1, 0 = empty */
	size_t nslot;
} tally;

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void tally_init(tally *t)
{
	t->nslot = 4 * MAX_KEYS;
	t->key = calloc(MAX_KEYS, sizeof *t->key);
	t->count = calloc(MAX_KEYS, sizeof *t->count);
	t->slot = calloc(t->nslot, sizeof *t->slot);
	t->n = 0;
	assert_true(t->key && t->count && t->slot);
}

static void tally_free(tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->key[i]);
	free(t->key);
	free(t->count);
	free(t->slot);
}

static void tally_add(tally *t, const char *k)
{
	size_t s = fnv(k) % t->nslot;
	while (t->slot[s]) {
		if (strcmp(t->key[t->slot[s] - 1], k) == 0) {
			t->count[t->slot[s] - 1]++;
			return;
		}
		s = (s + 1) % t->nslot;
	}
	assert_true(t->n < MAX_KEYS);
	t->key[t->n] = strdup(k);
	t->count[t->n] = 1;
	t->slot[s] = ++t->n;
}

static uint64_t tally_get(const tally *t, const char *k)
{
	size_t s = fnv(k) % t->nslot;
	while (t->slot[s]) {
		if (strcmp(t->key[t->slot[s] - 1], k) == 0)
			return t->count[t->slot[s] - 1];
		s = (s + 1) % t->nslot;
	}
	return 0;
}

static int desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The k-th largest count (0-based), or 0. */
static uint64_t tally_kth(const tally *t, size_t k)
{
	if (k >= t->n)
		return 0;
	uint64_t *c = malloc(t->n * sizeof *c);
	memcpy(c, t->count, t->n * sizeof *c);
	qsort(c, t->n, sizeof *c, desc);
	uint64_t v = c[k];
	free(c);
	return v;
}

enum { L_URL, L_PATH, L_IP, L_REF, L_UA, L_404, NLISTS };
static const char *const list_name[NLISTS] = {"url",	  "path",	"ip",
					      "referrer", "user_agent", "not_found"};

/* The reference figures of one log. */
typedef struct {
	uint64_t requests, malformed, bytes;
	uint64_t status[600];
	tally lists[NLISTS], methods, protocols, visitors;
	bool has_agents;
} ref;

typedef struct {
	const char *client, *date_time, *method, *url, *protocol, *referrer, *agent, *tail;
	int status;
	uint64_t bytes;
} fields;

/* Writes one line built from f and counts it in the reference. common:
 * no referrer and agent; crlf: end it with \r\n. */
static void emit(FILE *out, ref *r, const fields *f, bool common, bool crlf)
{
	if (common)
		fprintf(out, "%s - - [%s] \"%s %s %s\" %d %llu%s", f->client, f->date_time, f->method,
			f->url, f->protocol, f->status, (unsigned long long)f->bytes,
			crlf ? "\r\n" : "\n");
	else
		fprintf(out, "%s - - [%s] \"%s %s %s\" %d %llu \"%s\" \"%s\"%s%s", f->client,
			f->date_time, f->method, f->url, f->protocol, f->status,
			(unsigned long long)f->bytes, f->referrer, f->agent, f->tail ? f->tail : "",
			crlf ? "\r\n" : "\n");
	r->requests++;
	r->bytes += f->bytes;
	r->status[f->status]++;
	tally_add(&r->methods, f->method);
	tally_add(&r->protocols, f->protocol);
	tally_add(&r->lists[L_URL], f->url);
	char path[8192];
	size_t n = strcspn(f->url, "?");
	assert_true(n < sizeof path);
	memcpy(path, f->url, n);
	path[n] = '\0';
	tally_add(&r->lists[L_PATH], path);
	tally_add(&r->lists[L_IP], f->client);
	if (!common) {
		tally_add(&r->lists[L_REF], f->referrer);
		tally_add(&r->lists[L_UA], f->agent);
	}
	if (f->status == 404)
		tally_add(&r->lists[L_404], path);
	if (f->status / 100 != 4) {
		char v[16384];
		char date[12];
		memcpy(date, f->date_time, 11); /* dd/Mon/yyyy as logged */
		date[11] = '\0';
		snprintf(v, sizeof v, "%s|%s|%s", f->client, date, common ? "" : f->agent);
		tally_add(&r->visitors, v);
	}
}

static void ref_init(ref *r)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < NLISTS; i++)
		tally_init(&r->lists[i]);
	tally_init(&r->methods);
	tally_init(&r->protocols);
	tally_init(&r->visitors);
}

static void ref_free(ref *r)
{
	for (int i = 0; i < NLISTS; i++)
		tally_free(&r->lists[i]);
	tally_free(&r->methods);
	tally_free(&r->protocols);
	tally_free(&r->visitors);
}

static void check_estimate(const jv *j, const char *key, uint64_t want)
{
	const jv *e = json_get(j, key);
	assert_non_null(e);
	const jv *ex = json_get(e, "exact");
	if (!ex || !ex->b || json_u64(e, "estimate") != want)
		print_error("%s: estimate %llu (exact: %d), reference %llu\n", key,
			    (unsigned long long)json_u64(e, "estimate"), ex ? ex->b : -1,
			    (unsigned long long)want);
	assert_true(ex && ex->b);
	assert_int_equal(json_u64(e, "estimate"), want);
}

static void check_map(const jv *j, const char *key, const tally *t)
{
	const jv *m = json_get(j, key);
	assert_non_null(m);
	assert_int_equal(m->n, t->n);
	for (size_t i = 0; i < m->n; i++) {
		assert_int_equal(m->items[i]->u, tally_get(t, m->keys[i]));
	}
}

/* Every list of the report at `json` against the reference. */
static void check_report(const char *json, const ref *r, const char *what)
{
	size_t len;
	char *text = tu_slurp(json, &len);
	assert_non_null(text);
	jv *j = json_parse(text, len, NULL);
	free(text);
	assert_non_null(j);
	assert_int_equal(json_u64(j, "requests"), r->requests);
	assert_int_equal(json_u64(j, "malformed"), r->malformed);
	assert_int_equal(json_u64(j, "bytes_sent"), r->bytes);
	check_estimate(j, "unique_ips", r->lists[L_IP].n);
	check_estimate(j, "unique_visitors", r->visitors.n);
	check_map(j, "methods", &r->methods);
	check_map(j, "protocols", &r->protocols);
	const jv *st = json_get(j, "status");
	assert_non_null(st);
	for (size_t i = 0; i < st->n; i++)
		assert_int_equal(st->items[i]->u, r->status[atoi(st->keys[i])]);
	const jv *top = json_get(j, "top"), *info = json_get(j, "top_info");
	assert_non_null(top);
	assert_non_null(info);
	for (int l = 0; l < NLISTS; l++) {
		const tally *t = &r->lists[l];
		if ((l == L_REF || l == L_UA) && !r->has_agents)
			continue; /* the format has none: nothing to list */
		const jv *rows = json_get(top, list_name[l]);
		const jv *ex = json_get(json_get(info, list_name[l]), "exact");
		assert_non_null(rows);
		if (!ex || !ex->b)
			print_error("%s: top %s is not exact\n", what, list_name[l]);
		assert_true(ex && ex->b);
		size_t want_rows = t->n < TOP_N ? t->n : TOP_N;
		if (rows->n != want_rows)
			print_error("%s: top %s has %zu rows, want %zu\n", what, list_name[l],
				    rows->n, want_rows);
		assert_int_equal(rows->n, want_rows);
		for (size_t i = 0; i < rows->n; i++) {
			const jv *row = rows->items[i];
			const jv *v = json_get(row, "value");
			assert_non_null(v);
			uint64_t c = json_u64(row, "count"), want = tally_get(t, v->str);
			if (c != want || json_u64(row, "max_error") != 0 || c != tally_kth(t, i))
				print_error("%s: top %s row %zu '%.60s': %llu, reference %llu "
					    "(rank %zu of the reference: %llu)\n",
					    what, list_name[l], i, v->str, (unsigned long long)c,
					    (unsigned long long)want, i,
					    (unsigned long long)tally_kth(t, i));
			assert_int_equal(c, want);
			assert_int_equal(json_u64(row, "max_error"), 0);
			assert_int_equal(c, tally_kth(t, i));
		}
	}
	json_free(j);
}

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sluice-exact-corpus-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(dir);
}

/* Runs the program on the log at -j 1, 2, 3 (default budget) and checks
 * each report. */
static void run_all(const char *log, const ref *r, const char *extra)
{
	for (int jobs = 1; jobs <= 3; jobs++) {
		char cmd[2048], json[512], what[64];
		snprintf(json, sizeof json, "%s/out.json", dir);
		snprintf(cmd, sizeof cmd, "'%s' -q -j %d %s --json '%s' > '%s'", tu_sluice_bin(), jobs,
			 extra, log, json);
		int st = system(cmd);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		snprintf(what, sizeof what, "-j %d", jobs);
		check_report(json, r, what);
	}
}

static const char *const methods[] = {"GET", "GET", "GET", "POST", "HEAD", "PUT", "OPTIONS"};
static const char *const protocols[] = {"HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/1.0"};

static void date_of(char out[27], tu_rng *g, int64_t *t)
{
	*t += (int64_t)tu_below(g, 40);
	tu_log_time(out, *t);
}

/* A scanner: a few clients walking a long list of paths, most once or a
 * few times, most 404. */
static void scanner_traffic_flat_counts(void **state)
{
	(void)state;
	tu_rng g = {tu_seed("test_exact_corpus", 12)};
	ref r;
	ref_init(&r);
	r.has_agents = true;
	char path[512], log[300], when[27], url[600], client[64], agent[128];
	snprintf(log, sizeof log, "%s/scan.log", dir);
	FILE *f = fopen(log, "w");
	assert_non_null(f);
	int64_t t = 1700000000;
	static const char *const probes[] = {"/wp-admin/", "/.env", "/.git/config", "/phpmyadmin/",
					     "/cgi-bin/", "/admin/", "/backup/", "/config/"};
	for (int i = 0; i < 1791; i++) {
		uint64_t k = tu_below(&g, 420);
		snprintf(path, sizeof path, "%s%llu.php", probes[k % 8], (unsigned long long)k);
		snprintf(url, sizeof url, "%s%s", path, k % 5 == 0 ? "?id=1" : "");
		snprintf(client, sizeof client, "45.%d.%d.%d", (int)tu_below(&g, 3), 10 + (int)(k % 7),
			 (int)tu_below(&g, 4));
		snprintf(agent, sizeof agent, "Mozilla/5.0 zgrab/0.%d (scanner %d)",
			 (int)tu_below(&g, 3), (int)tu_below(&g, 40));
		date_of(when, &g, &t);
		fields fl = {client, when, methods[tu_below(&g, 3)], url, protocols[tu_below(&g, 4)],
			     "-", agent, NULL, tu_below(&g, 10) < 8 ? 404 : 200, tu_below(&g, 900)};
		emit(f, &r, &fl, false, false);
	}
	fclose(f);
	run_all(log, &r, "");
	ref_free(&r);
}

/* Combined lines with trailing fields: request time, upstream time, host. */
static void extra_trailing_fields(void **state)
{
	(void)state;
	tu_rng g = {tu_seed("test_exact_corpus", 13)};
	ref r;
	ref_init(&r);
	r.has_agents = true;
	char log[300], when[27], url[300], client[64], agent[128], ref_[128], tail[128];
	snprintf(log, sizeof log, "%s/extra.log", dir);
	FILE *f = fopen(log, "w");
	assert_non_null(f);
	int64_t t = 1700000000;
	for (int i = 0; i < 1000; i++) {
		snprintf(url, sizeof url, "/shop/item/%llu", (unsigned long long)tu_below(&g, 300));
		snprintf(client, sizeof client, "10.1.%d.%d", (int)tu_below(&g, 8),
			 (int)tu_below(&g, 60));
		snprintf(agent, sizeof agent, "Agent/%d.%d", (int)tu_below(&g, 20),
			 (int)tu_below(&g, 3));
		snprintf(ref_, sizeof ref_, "https://shop.example/%d", (int)tu_below(&g, 50));
		snprintf(tail, sizeof tail, " %d.%03d %d.%03d shop.example", (int)tu_below(&g, 2),
			 (int)tu_below(&g, 1000), (int)tu_below(&g, 2), (int)tu_below(&g, 1000));
		date_of(when, &g, &t);
		static const int codes[] = {200, 200, 200, 302, 304, 404, 500};
		fields fl = {client, when, methods[tu_below(&g, 7)], url, protocols[tu_below(&g, 4)],
			     ref_, agent, tail, codes[tu_below(&g, 7)], tu_below(&g, 50000)};
		emit(f, &r, &fl, false, false);
	}
	fclose(f);
	run_all(log, &r, "");
	ref_free(&r);
}

/* The common format, CRLF line ends, host names as clients. */
static void common_crlf_hostnames(void **state)
{
	(void)state;
	tu_rng g = {tu_seed("test_exact_corpus", 14)};
	ref r;
	ref_init(&r);
	r.has_agents = false;
	char log[300], when[27], url[300], client[64];
	snprintf(log, sizeof log, "%s/common.log", dir);
	FILE *f = fopen(log, "w");
	assert_non_null(f);
	int64_t t = 800000000;
	for (int i = 0; i < 10000; i++) {
		snprintf(url, sizeof url, "/~user%d/page%d.html", (int)tu_below(&g, 40),
			 (int)tu_below(&g, 60));
		snprintf(client, sizeof client, "host%d.dialup.example.net", (int)tu_below(&g, 1753));
		date_of(when, &g, &t);
		static const int codes[] = {200, 200, 200, 304, 404, 403};
		fields fl = {client, when, methods[tu_below(&g, 3)], url, protocols[3], NULL, NULL, NULL,
			     codes[tu_below(&g, 6)], tu_below(&g, 20000)};
		emit(f, &r, &fl, true, true);
	}
	fclose(f);
	run_all(log, &r, "");
	ref_free(&r);
}

/* Long query strings: every URL distinct, paths few. */
static void long_query_strings(void **state)
{
	(void)state;
	tu_rng g = {tu_seed("test_exact_corpus", 15)};
	ref r;
	ref_init(&r);
	r.has_agents = true;
	char log[300], when[27], url[4096], client[64], agent[128];
	snprintf(log, sizeof log, "%s/query.log", dir);
	FILE *f = fopen(log, "w");
	assert_non_null(f);
	int64_t t = 1700000000;
	for (int i = 0; i < 3000; i++) {
		int n = snprintf(url, sizeof url, "/search/%d?q=", (int)tu_below(&g, 12));
		size_t len = 200 + tu_below(&g, 2000);
		while ((size_t)n < len && n < (int)sizeof url - 2)
			url[n++] = "abcdefghijklmnopqrstuvwxyz0123456789&=%"[tu_below(&g, 39)];
		url[n] = '\0';
		if (tu_below(&g, 4) == 0) /* some repeat exactly */
			snprintf(url, sizeof url, "/search/%d?q=popular%d", (int)tu_below(&g, 12),
				 (int)tu_below(&g, 30));
		snprintf(client, sizeof client, "2001:db8::%x", (unsigned)tu_below(&g, 900));
		snprintf(agent, sizeof agent, "curl/8.%d.%d", (int)tu_below(&g, 6),
			 (int)tu_below(&g, 2));
		date_of(when, &g, &t);
		fields fl = {client, when, "GET", url, protocols[tu_below(&g, 4)], "-", agent, NULL,
			     tu_below(&g, 9) ? 200 : 404, tu_below(&g, 9000)};
		emit(f, &r, &fl, false, false);
	}
	fclose(f);
	run_all(log, &r, "");
	ref_free(&r);
}

/* 30,000 lines of ordinary diversity: Zipf-like URLs, clients, agents. */
static void thirty_thousand_lines(void **state)
{
	(void)state;
	tu_rng g = {tu_seed("test_exact_corpus", 16)};
	ref r;
	ref_init(&r);
	r.has_agents = true;
	char log[300], when[27], url[300], client[64], agent[160], ref_[160];
	snprintf(log, sizeof log, "%s/thirty.log", dir);
	FILE *f = fopen(log, "w");
	assert_non_null(f);
	int64_t t = 1700000000;
	for (int i = 0; i < 30000; i++) {
		/* rank ~ 1 / u: heavy head, long tail */
		uint64_t u = (uint64_t)(1.0 / (tu_unit(&g) + 1e-4));
		snprintf(url, sizeof url, "/page/%llu%s", (unsigned long long)(u % 6000),
			 u % 3 ? "" : "?ref=mail");
		snprintf(client, sizeof client, "198.51.%d.%d", (int)((u * 7) % 16),
			 (int)tu_below(&g, 250));
		snprintf(agent, sizeof agent,
			 "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
			 "Chrome/%d.0.%d.0 Safari/537.36",
			 100 + (int)tu_below(&g, 20), (int)tu_below(&g, 40));
		snprintf(ref_, sizeof ref_, "https://www.example.org/%llu",
			 (unsigned long long)(u % 900));
		date_of(when, &g, &t);
		static const int codes[] = {200, 200, 200, 200, 301, 304, 404, 500, 503};
		fields fl = {client, when, methods[tu_below(&g, 7)], url, protocols[tu_below(&g, 4)],
			     ref_, agent, NULL, codes[tu_below(&g, 9)], tu_below(&g, 200000)};
		emit(f, &r, &fl, false, false);
	}
	fclose(f);
	run_all(log, &r, "");
	ref_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scanner_traffic_flat_counts),
		cmocka_unit_test(extra_trailing_fields),
		cmocka_unit_test(common_crlf_hostnames),
		cmocka_unit_test(long_query_strings),
		cmocka_unit_test(thirty_thousand_lines),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
