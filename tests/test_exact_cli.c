/*
 * test_exact_cli.c: `sluice --exact` is exact for everything it counts
 * (issue 12), checked against the test's own naive reference.
 *
 *   generated_log_exact   a 200,000-line combined log written here, 0.13%
 *                         malformed lines, some valid lines up to 30 KB
 *                         (long URLs), at -m 1M, 4M and 16M and several
 *                         -j: unique IPs and visitors, every top list with
 *                         its counts and tie order, and the lists' totals.
 *                         (It crashed at -m 1M and stopped with "memory
 *                         budget exhausted" at 4M and 16M.)
 *   lines_exact           `--exact -f lines` on 300,000 distinct lines at
 *                         -m 1M: distinct lines and the top lines as
 *                         `sort | uniq -c | sort -k1,1nr -k2` gives them.
 *                         (It used to build sketches and print estimates.)
 *
 * The reference is the model that wrote the log: it knows each line's
 * fields and counts them per pool index; the ranking (count descending,
 * then key bytes ascending) is computed here with qsort. Nothing expected
 * is read from sluice's output.
 */
#include "testutil.h"
#include "json.h"
#include "runutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static const char *sluice_bin;
static uint64_t seed;

static run_result run(const char *args)
{
	return tu_run_sluice(tmpdir, sluice_bin, args);
}

static void run_free(run_result *r)
{
	run_result_free(r);
}

/* ---- the reference ranking ------------------------------------------------ */

typedef struct {
	const char *key;
	size_t len;
	uint64_t count;
} refkey;

static int rank_cmp(const void *x, const void *y)
{
	const refkey *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* Checks a JSON top list against keys[0 .. n) (with zero counts dropped,
 * ranked here): the first `top` rows, each with its first
 * SL_TOPK_VALUE_MAX bytes, its count and the truncated mark. Returns the
 * number of keys that occur (the list's distinct count). */
static size_t check_list(const char *name, const jv *list, refkey *keys, size_t n, size_t top)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		if (keys[i].count)
			keys[d++] = keys[i];
	qsort(keys, d, sizeof *keys, rank_cmp);
	size_t want = d < top ? d : top;
	assert_non_null(list);
	if (list->n != want)
		fail_msg("%s: %zu rows, want %zu", name, list->n, want);
	for (size_t i = 0; i < want; i++) {
		const jv *row = json_at(list, i);
		const jv *v = json_get(row, "value");
		size_t shown = keys[i].len < SL_TOPK_VALUE_MAX ? keys[i].len : SL_TOPK_VALUE_MAX;
		if (v->len != shown || memcmp(v->str, keys[i].key, shown) != 0 ||
		    json_u64(row, "count") != keys[i].count)
			fail_msg("%s row %zu: count %llu (want %llu), value %.40s (want %.40s)",
				 name, i, (unsigned long long)json_u64(row, "count"),
				 (unsigned long long)keys[i].count, v->str, keys[i].key);
		const jv *t = json_get(row, "truncated");
		assert_int_equal(t != NULL && t->b, keys[i].len > SL_TOPK_VALUE_MAX);
	}
	return d;
}

/* ---- the generated combined log ------------------------------------------- */

#define NIPS 40000
#define NURLS 30000	/* url u: "/p/<u/2>", odd u with "?v=<u>" */
#define NLONG 60	/* long url l: "/long/<l>?" + filler, 1,000 .. 29,000 B */
#define NREFS 2001	/* ref 0 is "-" */
#define NUAS 300
#define LINES 200000

typedef struct {
	char **ip, **url, **path, **ref, **ua;	/* path: NURLS/2 + NLONG */
	uint64_t *c_ip, *c_url, *c_path, *c_ref, *c_ua, *c_nf;
	unsigned char *visit;	/* (ip, ua) seen: one date in the log */
	uint64_t requests, malformed, visitors;
} model;

static char *str(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

static char **pool(size_t n)
{
	char **p = calloc(n, sizeof *p);
	assert_non_null(p);
	return p;
}

static uint64_t *counts(size_t n)
{
	uint64_t *p = calloc(n, sizeof *p);
	assert_non_null(p);
	return p;
}

/* Skewed index in [0, n): a few keys hold many lines, most have few. */
static size_t skewed(tu_rng *r, size_t n)
{
	double u = tu_unit(r);
	return (size_t)(u * u * u * (double)n);
}

static void build_model(model *m, tu_rng *rng)
{
	char b[64];
	m->ip = pool(NIPS);
	for (size_t i = 0; i < NIPS; i++) {
		snprintf(b, sizeof b, "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
		m->ip[i] = str(b);
	}
	m->url = pool(NURLS + NLONG);
	m->path = pool(NURLS / 2 + NLONG);
	for (size_t u = 0; u < NURLS; u++) {
		if (u % 2)
			snprintf(b, sizeof b, "/p/%zu?v=%zu", u / 2, u);
		else
			snprintf(b, sizeof b, "/p/%zu", u / 2);
		m->url[u] = str(b);
	}
	for (size_t u = 0; u < NURLS / 2; u++) {
		snprintf(b, sizeof b, "/p/%zu", u);
		m->path[u] = str(b);
	}
	for (size_t l = 0; l < NLONG; l++) {
		size_t len = 1000 + tu_below(rng, 28001);
		char *s = malloc(len + 1);
		assert_non_null(s);
		int h = snprintf(s, len + 1, "/long/%zu?", l);
		for (size_t i = (size_t)h; i < len; i++)
			s[i] = (char)('a' + tu_below(rng, 26));
		s[len] = 0;
		m->url[NURLS + l] = s;
		s[h - 1] = 0;
		m->path[NURLS / 2 + l] = str(s);
		s[h - 1] = '?';
	}
	m->ref = pool(NREFS);
	m->ref[0] = str("-");
	for (size_t i = 1; i < NREFS; i++) {
		snprintf(b, sizeof b, "https://site%zu.example/from/%zu", i % 97, i);
		m->ref[i] = str(b);
	}
	m->ua = pool(NUAS);
	for (size_t i = 0; i < NUAS; i++) {
		snprintf(b, sizeof b, "Mozilla/5.0 (agent %zu; rv:%zu) Gecko", i, i * 7 % 101);
		m->ua[i] = str(b);
	}
	m->c_ip = counts(NIPS);
	m->c_url = counts(NURLS + NLONG);
	m->c_path = counts(NURLS / 2 + NLONG);
	m->c_ref = counts(NREFS);
	m->c_ua = counts(NUAS);
	m->c_nf = counts(NURLS / 2 + NLONG);
	m->visit = calloc((size_t)NIPS * NUAS, 1);
	assert_non_null(m->visit);
}

static void free_model(model *m)
{
	for (size_t i = 0; i < NIPS; i++)
		free(m->ip[i]);
	for (size_t i = 0; i < NURLS + NLONG; i++)
		free(m->url[i]);
	for (size_t i = 0; i < NURLS / 2 + NLONG; i++)
		free(m->path[i]);
	for (size_t i = 0; i < NREFS; i++)
		free(m->ref[i]);
	for (size_t i = 0; i < NUAS; i++)
		free(m->ua[i]);
	free(m->ip);
	free(m->url);
	free(m->path);
	free(m->ref);
	free(m->ua);
	free(m->c_ip);
	free(m->c_url);
	free(m->c_path);
	free(m->c_ref);
	free(m->c_ua);
	free(m->c_nf);
	free(m->visit);
}

static void write_log(const char *path, model *m, tu_rng *rng)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < LINES; i++) {
		unsigned hh = (unsigned)(i * 24 / LINES), mm = (unsigned)(i % 60);
		if (tu_below(rng, 10000) < 13) {	/* 0.13% malformed */
			m->malformed++;
			switch (tu_below(rng, 3)) {
			case 0: fputs("\n", f); break;
			case 1:
				fprintf(f, "10.9.9.9 - - [10/Oct/2023:%02u:%02u:00 +0000] \"GET / "
					"HTTP/1.1\" 777 10 \"-\" \"x\"\n", hh, mm);
				break;
			default: fputs("garbage line without any fields at all\n", f); break;
			}
			continue;
		}
		size_t ip = skewed(rng, NIPS), ua = skewed(rng, NUAS), ref = skewed(rng, NREFS);
		size_t u = tu_below(rng, 1000) < 3 ? NURLS + tu_below(rng, NLONG) : skewed(rng, NURLS);
		size_t p = u < NURLS ? u / 2 : NURLS / 2 + (u - NURLS);
		unsigned status = tu_below(rng, 100) < 3 ? 404 : 200;
		fprintf(f, "%s - - [10/Oct/2023:%02u:%02u:%02u +0000] \"GET %s HTTP/1.1\" %u %zu "
			"\"%s\" \"%s\"\n",
			m->ip[ip], hh, mm, (unsigned)(i % 59), m->url[u], status, i % 5000,
			m->ref[ref], m->ua[ua]);
		m->requests++;
		m->c_ip[ip]++;
		m->c_url[u]++;
		m->c_path[p]++;
		m->c_ref[ref]++;
		m->c_ua[ua]++;
		if (status == 404)
			m->c_nf[p]++;
		if (status / 100 != 4) { /* visitors leave 4xx out (GoAccess's default) */
			unsigned char *v = &m->visit[ip * NUAS + ua];
			m->visitors += !*v;
			*v = 1;
		}
	}
	assert_int_equal(fclose(f), 0);
}

static refkey *keys_of(char **s, const uint64_t *c, size_t n)
{
	refkey *k = calloc(n, sizeof *k);
	assert_non_null(k);
	for (size_t i = 0; i < n; i++) {
		k[i].key = s[i];
		k[i].len = strlen(s[i]);
		k[i].count = c[i];
	}
	return k;
}

static void check_top(const jv *j, const char *name, char **s, const uint64_t *c, size_t n,
		      uint64_t total, uint64_t *distinct)
{
	refkey *k = keys_of(s, c, n);
	size_t d = check_list(name, json_get(json_get(j, "top"), name), k, n, 15);
	free(k);
	const jv *info = json_get(json_get(j, "top_info"), name);
	assert_true(json_get(info, "exact")->b);
	assert_int_equal(json_u64(info, "total"), total);
	if (distinct)
		*distinct = d;
}

static void generated_log_exact(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 12};
	model m;
	memset(&m, 0, sizeof m);
	build_model(&m, &rng);
	char path[512];
	snprintf(path, sizeof path, "%s/issue12.log", tmpdir);
	write_log(path, &m, &rng);
	uint64_t nf_total = 0;
	for (size_t i = 0; i < NURLS / 2 + NLONG; i++)
		nf_total += m.c_nf[i];
	static const char *opts[] = {"-m 1M -j 1", "-m 1M -j 2", "-m 4M -j 1", "-m 4M -j 2",
				     "-m 16M -j 3"};
	for (size_t o = 0; o < sizeof opts / sizeof *opts; o++) {
		char args[1024];
		snprintf(args, sizeof args, "--exact --json -n 15 --tmp %s %s %s", tmpdir, opts[o],
			 path);
		run_result r = run(args);
		assert_int_equal(r.status, 0);
		assert_non_null(r.json);
		const jv *j = r.json;
		assert_int_equal(json_u64(j, "lines"), LINES);
		assert_int_equal(json_u64(j, "requests"), m.requests);
		assert_int_equal(json_u64(j, "malformed"), m.malformed);
		uint64_t d_ip;
		check_top(j, "ip", m.ip, m.c_ip, NIPS, m.requests, &d_ip);
		const jv *u = json_get(j, "unique_ips");
		assert_true(json_get(u, "exact")->b);
		assert_int_equal(json_u64(u, "estimate"), d_ip);
		u = json_get(j, "unique_visitors");
		assert_true(json_get(u, "exact")->b);
		assert_int_equal(json_u64(u, "estimate"), m.visitors);
		check_top(j, "url", m.url, m.c_url, NURLS + NLONG, m.requests, NULL);
		check_top(j, "path", m.path, m.c_path, NURLS / 2 + NLONG, m.requests, NULL);
		check_top(j, "referrer", m.ref, m.c_ref, NREFS, m.requests, NULL);
		check_top(j, "user_agent", m.ua, m.c_ua, NUAS, m.requests, NULL);
		check_top(j, "not_found", m.path, m.c_nf, NURLS / 2 + NLONG, nf_total, NULL);
		if (o == 0) {
			/* the budget is small enough that the table spilled */
			assert_true(json_u64(json_get(j, "temp_disk"), "written") > 0);
		}
		run_free(&r);
	}
	free_model(&m);
}

/* ---- -f lines ------------------------------------------------------------- */

#define DISTINCT_LINES 300000

static void lines_exact(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 13};
	/* line k (k < DISTINCT_LINES) is "k<hex of a scrambled k>"; every one
	 * occurs once, and 60,000 more draws repeat skewed ones; line 7 is
	 * empty and line 11 is 60,000 bytes long */
	size_t extra = 60000, n = DISTINCT_LINES + extra;
	uint32_t *seq = malloc(n * sizeof *seq);
	uint64_t *c = calloc(DISTINCT_LINES, sizeof *c);
	char **s = calloc(DISTINCT_LINES, sizeof *s);
	assert_true(seq && c && s);
	for (size_t k = 0; k < DISTINCT_LINES; k++) {
		char b[32];
		snprintf(b, sizeof b, "k%llx", (unsigned long long)(k * 2654435761u % 1000003));
		s[k] = str(b);
		seq[k] = (uint32_t)k;
	}
	free(s[7]);
	s[7] = str("");
	free(s[11]);
	s[11] = malloc(60001);
	assert_non_null(s[11]);
	memset(s[11], 'L', 60000);
	s[11][60000] = 0;
	for (size_t i = DISTINCT_LINES; i < n; i++)
		seq[i] = (uint32_t)skewed(&rng, 2000);
	for (size_t i = n - 1; i > 0; i--) {	/* Fisher-Yates */
		size_t j = tu_below(&rng, i + 1);
		uint32_t t = seq[i];
		seq[i] = seq[j];
		seq[j] = t;
	}
	char path[512];
	snprintf(path, sizeof path, "%s/lines.txt", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	uint64_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n", s[seq[i]]);
		c[seq[i]]++;
		bytes += strlen(s[seq[i]]);
	}
	assert_int_equal(fclose(f), 0);
	static const char *opts[] = {"-m 1M -j 1", "-m 4M -j 2"};
	for (size_t o = 0; o < sizeof opts / sizeof *opts; o++) {
		char args[1024];
		snprintf(args, sizeof args, "--exact -f lines --json -n 12 --tmp %s %s %s", tmpdir,
			 opts[o], path);
		run_result r = run(args);
		assert_int_equal(r.status, 0);
		assert_non_null(r.json);
		const jv *j = r.json;
		assert_int_equal(json_u64(j, "lines"), n);
		assert_int_equal(json_u64(j, "bytes"), bytes);
		const jv *d = json_get(j, "distinct_lines");
		assert_true(json_get(d, "exact")->b);
		assert_int_equal(json_u64(d, "estimate"), DISTINCT_LINES);
		refkey *k = keys_of(s, c, DISTINCT_LINES);
		check_list("line", json_get(json_get(j, "top"), "line"), k, DISTINCT_LINES, 12);
		free(k);
		const jv *info = json_get(json_get(j, "top_info"), "line");
		assert_true(json_get(info, "exact")->b);
		assert_int_equal(json_u64(info, "total"), n);
		run_free(&r);
	}
	for (size_t k = 0; k < DISTINCT_LINES; k++)
		free(s[k]);
	free(s);
	free(c);
	free(seq);
}

int main(void)
{
	seed = tu_seed("test_exact_cli", 0xe4ac7);
	sluice_bin = tu_sluice_bin();
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-exact-cli-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generated_log_exact),
		cmocka_unit_test(lines_exact),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (tu_rmtree(tmpdir) != 0)
		rc = rc ? rc : 1;
	return rc;
}
