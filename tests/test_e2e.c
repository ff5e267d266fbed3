/*
 * test_e2e.c: end-to-end tests of the sluice program.
 *
 * Each test writes a log from its own seeded model, keeps the model's own
 * figures (it knows which line holds which client, status, time...), runs
 * `$SLUICE_BIN --json` on the log and compares: every exact figure must be
 * equal; approximate ones must lie within the bounds the report states.
 * Nothing expected here comes from sluice's output or from its parser: dates
 * are written from epoch seconds with gmtime_r, and counts are kept per
 * pool index while the lines are generated.
 */
#include "testutil.h"
#include "json.h"
#include "runutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>

static char tmpdir[256];
static const char *sluice_bin;
static uint64_t seed;

/* ---- running the program ------------------------------------------------ */


/* Runs "sluice ARGS" through the shell; ARGS may hold redirections. */
static run_result run(const char *args)
{
	return tu_run_sluice(tmpdir, sluice_bin, args);
}

static void run_free(run_result *r)
{
	run_result_free(r);
}

/* ---- the log model -------------------------------------------------------- */

#define NIPS 400
#define NURLS 300
#define NREFS 40
#define NUAS 12

typedef struct {
	char ip[NIPS][48];
	char url[NURLS][64];
	int path_of[NURLS];	 /* url index -> index of its path in path[] */
	char path[NURLS][64];
	int npaths;
	char ref[NREFS][64];
	char ua[NUAS][96];
} pools;

static const char *const methods[] = {"GET", "GET", "GET", "POST", "HEAD", "PUT", "DELETE"};
static const char *const protos[] = {"HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/1.0"};
static const int statuses[] = {200, 200, 200, 200, 200, 301, 302, 304, 404, 404, 500, 503};
static const int tzs[] = {0, 120, -420, 330}; /* minutes east of UTC */
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void make_pools(pools *p, tu_rng *rng)
{
	memset(p, 0, sizeof *p);
	for (int i = 0; i < NIPS; i++) {
		if (i % 10 == 3)
			snprintf(p->ip[i], sizeof p->ip[i], "2001:db8:%x::%x", i, (unsigned)tu_below(rng, 65536));
		else
			snprintf(p->ip[i], sizeof p->ip[i], "%u.%u.%u.%u", 10 + i % 200, i / 200,
				 (unsigned)tu_below(rng, 256), (unsigned)(i % 251));
	}
	for (int i = 0; i < NURLS; i++) {
		int base = i % 120; /* several URLs share a path */
		char path[32];
		snprintf(path, sizeof path, "/item/%d", base);
		if (i < 120)
			snprintf(p->url[i], sizeof p->url[i], "%s", path);
		else
			snprintf(p->url[i], sizeof p->url[i], "%s?page=%d", path, i);
		int j;
		for (j = 0; j < p->npaths && strcmp(p->path[j], path) != 0; j++)
			;
		if (j == p->npaths)
			snprintf(p->path[p->npaths++], sizeof p->path[0], "%s", path);
		p->path_of[i] = j;
	}
	snprintf(p->ref[0], sizeof p->ref[0], "-");
	for (int i = 1; i < NREFS; i++)
		snprintf(p->ref[i], sizeof p->ref[i], "https://ref%d.example/page?id=%d", i, i * 7);
	for (int i = 0; i < NUAS; i++)
		snprintf(p->ua[i], sizeof p->ua[i], "Mozilla/5.0 (Test %d; rv:%d) Agent/%d", i, i * 3, i);
	/* escaped quotes inside a quoted field, as nginx and apache write them */
	snprintf(p->ua[5], sizeof p->ua[5], "Bot/1.0 (say \\\"hi\\\"; +http://bot.example)");
}

/* The expected figures, kept while generating. */
typedef struct {
	uint64_t lines, requests, malformed, oversized, bytes_sent;
	int64_t first, last;
	uint64_t status[600];
	uint64_t method[7], proto[4]; /* by pool index; merged by name below */
	uint64_t ip[NIPS], url[NURLS], path[NURLS], ref[NREFS], ua[NUAS], nf[NURLS];
	uint64_t *visitor_keys;
	size_t nvisitors, cap_visitors;
	double *rt;
	size_t nrt;
	uint64_t *bytes;
	size_t nbytes;
	uint64_t malformed_lines[8]; /* line numbers of the first malformed lines */
	int64_t hour_first;
	uint64_t *per_hour;	   /* by hour since hour_first */
	size_t nhours;
} model;

static void fmt_time(char *out, size_t n, int64_t t, int tz)
{
	time_t local = (time_t)(t + tz * 60);
	struct tm tm;
	gmtime_r(&local, &tm);
	int a = tz < 0 ? -tz : tz;
	snprintf(out, n, "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, tz < 0 ? '-' : '+', a / 60,
		 a % 60);
}

static size_t skewed(tu_rng *rng, size_t n)
{
	double u = tu_unit(rng);
	return (size_t)((double)n * u * u * u);
}

typedef enum { LOG_COMBINED, LOG_COMMON, LOG_VCOMBINED } log_kind;

/* Writes one valid line for the model and counts it. */
static void valid_line(FILE *f, model *m, const pools *p, tu_rng *rng, int64_t t, log_kind kind,
		       int with_rt)
{
	size_t ip = skewed(rng, NIPS), url = skewed(rng, NURLS), ref = skewed(rng, NREFS),
	       ua = skewed(rng, NUAS);
	size_t me = tu_below(rng, 7), pr = tu_below(rng, 4);
	int st = statuses[tu_below(rng, sizeof statuses / sizeof *statuses)];
	int tz = tzs[tu_below(rng, 4)];
	uint64_t bytes = st == 304 ? 0 : tu_below(rng, 100000);
	char date[64];
	fmt_time(date, sizeof date, t, tz);
	if (kind == LOG_VCOMBINED)
		fprintf(f, "www%d.example.com:443 ", (int)tu_below(rng, 3));
	fprintf(f, "%s - - [%s] \"%s %s %s\" %d ", p->ip[ip], date, methods[me], p->url[url],
		protos[pr], st);
	if (st == 304)
		fputs("-", f);
	else
		fprintf(f, "%llu", (unsigned long long)bytes);
	if (kind != LOG_COMMON)
		fprintf(f, " \"%s\" \"%s\"", p->ref[ref], p->ua[ua]);
	if (with_rt && kind != LOG_COMMON) {
		char rts[32];
		snprintf(rts, sizeof rts, "%.3f", tu_unit(rng) * tu_unit(rng) * 5);
		fprintf(f, " %s %s", rts, tu_below(rng, 2) ? "0.001" : "-");
		m->rt[m->nrt++] = strtod(rts, NULL);
	}
	fputc('\n', f);

	m->lines++;
	m->requests++;
	m->bytes_sent += bytes;
	if (m->requests == 1 || t < m->first) m->first = t;
	if (m->requests == 1 || t > m->last) m->last = t;
	m->status[st]++;
	m->method[me]++;
	m->proto[pr]++;
	m->ip[ip]++;
	m->url[url]++;
	m->path[p->path_of[url]]++;
	if (kind != LOG_COMMON) {
		m->ref[ref]++;
		m->ua[ua]++;
	}
	if (st == 404)
		m->nf[p->path_of[url]]++;
	m->bytes[m->nbytes++] = bytes;
	/* GoAccess visitor: client + date as logged (local) + user agent,
	 * 4xx responses left out (GoAccess's default) */
	uint64_t day = (uint64_t)((t + tz * 60) / 86400);
	if (st < 400 || st > 499)
		m->visitor_keys[m->nvisitors++] = ((uint64_t)ip << 40) | (day << 8) | (uint64_t)ua;
	int64_t h = t / 3600 - m->hour_first;
	if (h >= 0 && (size_t)h < m->nhours)
		m->per_hour[h]++;
}

static void model_init(model *m, size_t max_lines, int64_t t0, size_t nhours)
{
	memset(m, 0, sizeof *m);
	m->visitor_keys = calloc(max_lines, sizeof *m->visitor_keys);
	m->rt = calloc(max_lines, sizeof *m->rt);
	m->bytes = calloc(max_lines, sizeof *m->bytes);
	m->hour_first = t0 / 3600;
	m->nhours = nhours;
	m->per_hour = calloc(nhours, sizeof *m->per_hour);
}

static void model_free(model *m)
{
	free(m->visitor_keys);
	free(m->rt);
	free(m->bytes);
	free(m->per_hour);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static size_t distinct_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u64);
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i] != v[i - 1]) d++;
	return d;
}

static void iso(char *out, size_t n, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes the standard test log: valid combined lines with request times,
 * malformed lines of each kind at known places, one oversized line and one
 * valid line just under SL_LINE_MAX. */
static void write_standard_log(const char *path, model *m, pools *p, uint64_t s, size_t n)
{
	tu_rng rng = {s};
	make_pools(p, &rng);
	int64_t t0 = 1700000000;
	model_init(m, n + 16, t0, 24 * 8);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	size_t nmal = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t t = t0 + (int64_t)i * 13;
		if (i % 997 == 500) {
			char date[64];
			fmt_time(date, sizeof date, t, 0);
			switch (nmal % 4) {
			case 0: fprintf(f, "1.2.3.4 - - [%s] \"GET / HTTP/1.1\" 777 12 \"-\" \"x\"\n", date); break;
			case 1: fputs("1.2.3.4 - - [30/Feb/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 12 \"-\" \"x\"\n", f); break;
			case 2: fputs("this is not an access log line\n", f); break;
			case 3: fprintf(f, "1.2.3.4 - - [%s] \"GET / HT\n", date); break;
			}
			m->lines++;
			m->malformed++;
			if (nmal < 8) m->malformed_lines[nmal] = m->lines;
			nmal++;
			continue;
		}
		if (i == 100) { /* oversized: counted, skipped */
			for (int k = 0; k < 70000; k++) fputc('x', f);
			fputc('\n', f);
			m->lines++;
			m->oversized++;
		}
		valid_line(f, m, p, &rng, t, LOG_COMBINED, 1);
	}
	/* A valid line of almost SL_LINE_MAX bytes, parsed whole. */
	char date[64];
	fmt_time(date, sizeof date, t0, 0);
	fprintf(f, "9.9.9.9 - - [%s] \"GET /long", date);
	for (int k = 0; k < 60000; k++) fputc('a', f);
	fprintf(f, " HTTP/1.1\" 200 5 \"-\" \"long\" 0.5\n");
	m->lines++; m->requests++; m->bytes_sent += 5; m->status[200]++; m->method[0]++; m->proto[0]++;
	m->rt[m->nrt++] = 0.5;
	m->bytes[m->nbytes++] = 5;
	m->per_hour[0]++;
	m->visitor_keys[m->nvisitors++] = UINT64_MAX; /* a client not in the pool */
	fclose(f);
}

/* ---- checks ------------------------------------------------------------- */

static void check_map(const jv *obj, const char *const *names, const uint64_t *counts, size_t n)
{
	/* Sum counts by name (pools repeat names to skew the draw). */
	for (size_t i = 0; i < n; i++) {
		uint64_t want = 0;
		int seen_before = 0;
		for (size_t j = 0; j < n; j++)
			if (strcmp(names[j], names[i]) == 0) {
				want += counts[j];
				if (j < i) seen_before = 1;
			}
		if (seen_before) continue;
		uint64_t got = json_u64(obj, names[i]);
		if (want == 0) {
			assert_true(got == UINT64_MAX || got == 0);
			continue;
		}
		if (got != want) print_error("%s: got %llu want %llu\n", names[i], (unsigned long long)got, (unsigned long long)want);
		assert_int_equal(got, want);
	}
}

/* A top list against exact counts: each row exact, rows in order, and no
 * unlisted value beats the last row. */
static void check_top_exact(const jv *list, const char *values, size_t stride,
			    const uint64_t *counts, size_t n, size_t top)
{
	assert_non_null(list);
	size_t nonzero = 0;
	for (size_t i = 0; i < n; i++) nonzero += counts[i] > 0;
	assert_int_equal(list->n, nonzero < top ? nonzero : top);
	uint64_t last = UINT64_MAX;
	int *listed = calloc(n, sizeof *listed);
	for (size_t r = 0; r < list->n; r++) {
		const jv *row = json_at(list, r);
		const jv *val = json_get(row, "value");
		assert_non_null(val);
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(values + i * stride, val->str) == 0) break;
		if (i == n) print_error("unknown value '%s'\n", val->str);
		assert_true(i < n);
		assert_int_equal(json_u64(row, "count"), counts[i]);
		assert_int_equal(json_u64(row, "max_error"), 0);
		assert_true(counts[i] <= last);
		last = counts[i];
		listed[i] = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!listed[i]) assert_true(counts[i] <= last);
	free(listed);
}

/* The value of quantile q (nearest rank, sl_relq_rank) must be within the
 * stated relative error of the true one (exactly it when the error is 0);
 * `unbounded` must be empty for these value ranges. */
static void check_quantile(const double *sorted, size_t n, double x, double q, double rel)
{
	double truth = sorted[sl_relq_rank(q, n) - 1];
	if (!(fabs(x - truth) <= rel * truth * (1 + 1e-9)))
		print_error("quantile %g: value %.17g, true %.17g, relative error %g\n", q, x,
			    truth, rel);
	assert_true(fabs(x - truth) <= rel * truth * (1 + 1e-9));
}

static void check_dist(const jv *d, double *vals, size_t n)
{
	assert_non_null(d);
	qsort(vals, n, sizeof *vals, cmp_dbl);
	assert_int_equal(json_u64(d, "count"), n);
	assert_true(fabs(json_get(d, "min")->num - vals[0]) < 1e-9);
	assert_true(fabs(json_get(d, "max")->num - vals[n - 1]) < 1e-9);
	long double sum = 0;
	for (size_t i = 0; i < n; i++) sum += vals[i];
	double mean = (double)(sum / n);
	assert_true(fabs(json_get(d, "mean")->num - mean) <= 1e-9 * fabs(mean) + 1e-12);
	long double ss = 0;
	for (size_t i = 0; i < n; i++) ss += (vals[i] - mean) * (vals[i] - mean);
	double sd = sqrt((double)(ss / n));
	assert_true(fabs(json_get(d, "stddev")->num - sd) <= 1e-6 * sd + 1e-12);
	assert_true(json_get(d, "rank_error")->num == 0);
	assert_int_equal(json_get(d, "unbounded")->n, 0);
	double err = json_get(d, "relative_error")->num;
	assert_true(err == 0 || err == SL_RELQ_DEFAULT_ALPHA);
	assert_true(json_get(d, "exact")->b == (err == 0));
	static const char *const qn[] = {"p50", "p90", "p99", "p999"};
	static const double qv[] = {0.5, 0.9, 0.99, 0.999};
	for (int i = 0; i < 4; i++)
		check_quantile(vals, n, json_get(d, qn[i])->num, qv[i], err);
}

/* The exact counters and maps of a report of the standard log (x mult),
 * which hold at any budget. */
static void check_counters(const jv *j, const model *m, uint64_t mult)
{
	assert_non_null(j);
	assert_int_equal(json_u64(j, "lines"), m->lines * mult);
	assert_int_equal(json_u64(j, "requests"), m->requests * mult);
	assert_int_equal(json_u64(j, "malformed"), m->malformed * mult);
	assert_int_equal(json_u64(j, "oversized"), m->oversized * mult);
	assert_int_equal(json_u64(j, "bytes_sent"), m->bytes_sent * mult);
	char a[32];
	iso(a, sizeof a, m->first);
	assert_string_equal(json_get(j, "first_time")->str, a);
	iso(a, sizeof a, m->last);
	assert_string_equal(json_get(j, "last_time")->str, a);
	assert_string_equal(json_get(j, "format")->str, "combined");

	const jv *st = json_get(j, "status");
	uint64_t cls[6] = {0};
	for (int s = 100; s < 600; s++) {
		char key[16];
		snprintf(key, sizeof key, "%d", s);
		uint64_t got = json_u64(st, key);
		if (m->status[s]) assert_int_equal(got, m->status[s] * mult);
		else assert_true(got == UINT64_MAX);
		cls[s / 100] += m->status[s] * mult;
	}
	for (int c = 1; c <= 5; c++) {
		char key[16];
		snprintf(key, sizeof key, "%dxx", c);
		uint64_t got = json_u64(json_get(j, "status_class"), key);
		assert_int_equal(cls[c] ? got : 0, cls[c] ? cls[c] : 0);
	}
	uint64_t me[7], pr[4];
	for (int i = 0; i < 7; i++) me[i] = m->method[i] * mult;
	for (int i = 0; i < 4; i++) pr[i] = m->proto[i] * mult;
	check_map(json_get(j, "methods"), methods, me, 7);
	check_map(json_get(j, "protocols"), protos, pr, 4);
}

static void check_standard(const jv *j, model *m, const pools *p, uint64_t mult)
{
	check_counters(j, m, mult);

	/* distinct counts: small enough to be exact */
	size_t dips = 1; /* 9.9.9.9 */
	for (int i = 0; i < NIPS; i++) dips += m->ip[i] > 0;
	const jv *u = json_get(j, "unique_ips");
	assert_true(json_get(u, "exact")->b);
	assert_int_equal(json_u64(u, "estimate"), dips);
	size_t dvis = distinct_u64(m->visitor_keys, m->nvisitors);
	u = json_get(j, "unique_visitors");
	assert_true(json_get(u, "exact")->b);
	assert_int_equal(json_u64(u, "estimate"), dvis);

	/* top lists (the long line's URL has count `mult`, below every row) */
	const jv *top = json_get(j, "top");
	uint64_t c[NURLS];
	for (int i = 0; i < NIPS; i++) m->ip[i] *= mult;
	check_top_exact(json_get(top, "ip"), (const char *)p->ip, sizeof p->ip[0], m->ip, NIPS, 10);
	for (int i = 0; i < NIPS; i++) m->ip[i] /= mult;
	for (int i = 0; i < NURLS; i++) c[i] = m->url[i] * mult;
	check_top_exact(json_get(top, "url"), (const char *)p->url, sizeof p->url[0], c, NURLS, 10);
	for (int i = 0; i < NURLS; i++) c[i] = m->path[i] * mult;
	check_top_exact(json_get(top, "path"), (const char *)p->path, sizeof p->path[0], c, (size_t)p->npaths, 10);
	for (int i = 0; i < NURLS; i++) c[i] = m->nf[i] * mult;
	check_top_exact(json_get(top, "not_found"), (const char *)p->path, sizeof p->path[0], c, (size_t)p->npaths, 10);
	for (int i = 0; i < NUAS; i++) c[i] = m->ua[i] * mult;
	check_top_exact(json_get(top, "user_agent"), (const char *)p->ua, sizeof p->ua[0], c, NUAS, 10);
	for (int i = 0; i < NREFS; i++) c[i] = m->ref[i] * mult;
	c[0] += mult; /* the long line's "-" referrer */
	check_top_exact(json_get(top, "referrer"), (const char *)p->ref, sizeof p->ref[0], c, NREFS, 10);

	/* per hour, from the first to the last hour */
	char a[32];
	const jv *ph = json_get(j, "per_hour");
	assert_non_null(ph);
	size_t hours = (size_t)(m->last / 3600 - m->first / 3600 + 1);
	assert_int_equal(ph->n, hours);
	for (size_t h = 0; h < hours; h++) {
		const jv *row = json_at(ph, h);
		iso(a, sizeof a, (m->hour_first + (int64_t)h) * 3600);
		assert_string_equal(json_get(row, "time")->str, a);
		assert_int_equal(json_u64(row, "requests"), m->per_hour[h] * mult);
	}
	assert_null(json_get(j, "per_minute")); /* spans days */

	/* distributions */
	size_t n = m->nrt * mult;
	double *v = calloc(n, sizeof *v);
	for (size_t k = 0; k < mult; k++) memcpy(v + k * m->nrt, m->rt, m->nrt * sizeof *v);
	check_dist(json_get(j, "request_time"), v, n);
	free(v);
	n = m->nbytes * mult;
	v = calloc(n, sizeof *v);
	for (size_t i = 0; i < n; i++) v[i] = (double)m->bytes[i % m->nbytes];
	check_dist(json_get(j, "response_bytes"), v, n);
	free(v);

	const jv *mem = json_get(j, "memory");
	assert_true(json_u64(mem, "peak") <= json_u64(mem, "budget"));
	assert_true(json_u64(mem, "peak") > 0);
}

/* ---- tests -------------------------------------------------------------- */

static void standard_log_exact(void **state)
{
	(void)state;
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/access.log", tmpdir);
	model m;
	pools p;
	write_standard_log(path, &m, &p, seed, 20000);
	/* a budget that holds every distinct value: all figures exact */
	snprintf(args, sizeof args, "--json -m 8M %s", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	check_standard(r.json, &m, &p, 1);

	/* the first five malformed lines, with their line numbers */
	const jv *samples = json_get(r.json, "malformed_samples");
	assert_int_equal(samples->n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(json_u64(json_at(samples, i), "line"), m.malformed_lines[i]);
		assert_string_equal(json_get(json_at(samples, i), "input")->str, path);
	}
	/* and on stderr, naming file and line */
	char want[600];
	snprintf(want, sizeof want, "%s:%llu: malformed", path, (unsigned long long)m.malformed_lines[0]);
	assert_non_null(strstr(r.err, want));
	run_free(&r);
	model_free(&m);
}

static void gzip_stdin_and_missing_file(void **state)
{
	(void)state;
	char path[512], gz[512], args[2048];
	snprintf(path, sizeof path, "%s/plain.log", tmpdir);
	snprintf(gz, sizeof gz, "%s/rotated.1", tmpdir); /* no .gz: found by magic */
	model m;
	pools p;
	write_standard_log(path, &m, &p, seed + 1, 5000);
	size_t len;
	char *text = tu_slurp(path, &len);
	gzFile g = gzopen(gz, "wb");
	assert_non_null(g);
	assert_int_equal(gzwrite(g, text, (unsigned)len), (int)len);
	gzclose(g);
	free(text);

	snprintf(args, sizeof args, "--json -m 8M %s - %s/missing.log < %s", gz, tmpdir, path);
	run_result r = run(args);
	assert_int_equal(r.status, 2);
	check_standard(r.json, &m, &p, 2);
	const jv *inputs = json_get(r.json, "inputs");
	assert_int_equal(inputs->n, 3);
	assert_int_equal(json_get(json_at(inputs, 0), "error")->t, J_NULL);
	assert_int_equal(json_get(json_at(inputs, 2), "error")->t, J_STR);
	assert_non_null(strstr(r.err, "missing.log"));
	run_free(&r);
	model_free(&m);
}

/* A zstd file as the zstd tool writes it at its default level: a 2 MiB
 * window, more than the default budget holds. With -m 4M it must be read
 * (the plan reserves its decoder's memory before the reports take theirs);
 * at the default 1M it fails alone, named, and the other input is still
 * reported. */
static void zstd_window_in_the_plan(void **state)
{
	(void)state;
	char path[512], zst[512], args[2048];
	snprintf(path, sizeof path, "%s/window.log", tmpdir);
	snprintf(zst, sizeof zst, "%s/window.log.zst", tmpdir);
	model m;
	pools p;
	write_standard_log(path, &m, &p, seed + 41, 15000);
	size_t len;
	char *text = tu_slurp(path, &len);
	size_t cap = ZSTD_compressBound(len);
	char *z = malloc(cap);
	size_t zlen = ZSTD_compress(z, cap, text, len, 3);
	assert_false(ZSTD_isError(zlen));
	ZSTD_frameHeader fh;
	assert_int_equal(ZSTD_getFrameHeader(&fh, z, zlen), 0);
	assert_true(fh.windowSize >= ((uint64_t)2 << 20)); /* the premise */
	FILE *f = fopen(zst, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(z, 1, zlen, f), zlen);
	fclose(f);
	free(z);
	free(text);

	snprintf(args, sizeof args, "--json -q -m 4M %s", zst);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	check_counters(r.json, &m, 1);
	const jv *mem = json_get(r.json, "memory");
	assert_true(json_u64(mem, "peak") <= json_u64(mem, "budget"));
	run_free(&r);

	snprintf(args, sizeof args, "--json -q -m 1M %s %s", zst, path);
	r = run(args);
	assert_int_equal(r.status, 2);
	check_counters(r.json, &m, 1); /* the plain copy alone */
	const jv *inputs = json_get(r.json, "inputs");
	assert_int_equal(json_get(json_at(inputs, 0), "error")->t, J_STR);
	assert_int_equal(json_get(json_at(inputs, 1), "error")->t, J_NULL);
	assert_non_null(strstr(r.err, "window.log.zst"));
	assert_non_null(strstr(r.err, "--memory"));
	run_free(&r);
	model_free(&m);
}

static void budget_below_minimum(void **state)
{
	(void)state;
	run_result r = run("-m 64K /nonexistent/never-read.log");
	assert_int_equal(r.status, 2);
	assert_int_equal(r.out_len, 0);
	assert_non_null(strstr(r.err, "minimum"));
	assert_null(strstr(r.err, "never-read")); /* refused before any input */
	run_free(&r);
	r = run("-m banana x.log");
	assert_int_equal(r.status, 2);
	run_free(&r);
}

/* Many distinct clients and URLs in 1 MiB: the approximate figures must
 * hold within the bounds they state. */
static void sketches_within_bounds(void **state)
{
	(void)state;
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/big.log", tmpdir);
	tu_rng rng = {seed + 2};
	enum { N = 200000, IPS = 120000, URLS = 30000 };
	uint32_t *ipc = calloc(IPS, sizeof *ipc), *urlc = calloc(URLS, sizeof *urlc);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < N; i++) {
		/* clients: uniform over IPS; URLs: heavy-tailed */
		uint32_t ip = (uint32_t)tu_below(&rng, IPS);
		double u = tu_unit(&rng);
		uint32_t url = (uint32_t)((double)URLS * u * u * u * u);
		ipc[ip]++;
		urlc[url]++;
		char date[64];
		fmt_time(date, sizeof date, 1700000000 + (int64_t)i, 0);
		fprintf(f, "10.%u.%u.%u - - [%s] \"GET /u/%u HTTP/1.1\" 200 1 \"-\" \"ua\"\n",
			ip >> 16, (ip >> 8) & 255, ip & 255, date, url);
	}
	fclose(f);
	snprintf(args, sizeof args, "--json --top 100000 -m 1M %s", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(r.json, "requests"), N);

	size_t dips = 0;
	for (size_t i = 0; i < IPS; i++) dips += ipc[i] > 0;
	const jv *u = json_get(r.json, "unique_ips");
	assert_false(json_get(u, "exact")->b);
	double est = json_get(u, "estimate")->num;
	print_message("unique_ips: true %zu, estimate %.0f [%.0f, %.0f]\n", dips, est,
		      json_get(u, "low")->num, json_get(u, "high")->num);
	assert_true(json_get(u, "low")->num <= (double)dips && (double)dips <= json_get(u, "high")->num);

	/* URL top list: Space-Saving's guarantee for every row, and every URL
	 * above N/m listed */
	const jv *info = json_get(json_get(r.json, "top_info"), "url");
	assert_false(json_get(info, "exact")->b);
	uint64_t cap = json_u64(info, "capacity");
	const jv *rows = json_get(json_get(r.json, "top"), "url");
	char *listed = calloc(URLS, 1);
	for (size_t i = 0; i < rows->n; i++) {
		const jv *row = json_at(rows, i);
		unsigned id;
		assert_int_equal(sscanf(json_get(row, "value")->str, "/u/%u", &id), 1);
		uint64_t cnt = json_u64(row, "count"), err = json_u64(row, "max_error");
		assert_true(urlc[id] <= cnt && cnt - err <= urlc[id]);
		listed[id] = 1;
	}
	for (size_t i = 0; i < URLS; i++)
		if ((uint64_t)urlc[i] * cap > N) assert_true(listed[i]);
	/* same for clients, the uniform (hard) case */
	rows = json_get(json_get(r.json, "top"), "ip");
	for (size_t i = 0; i < rows->n; i++) {
		const jv *row = json_get(json_at(rows, i), "value");
		unsigned a, b, c;
		assert_int_equal(sscanf(row->str, "10.%u.%u.%u", &a, &b, &c), 3);
		uint64_t cnt = json_u64(json_at(rows, i), "count");
		uint64_t err = json_u64(json_at(rows, i), "max_error");
		uint32_t truth = ipc[(a << 16) | (b << 8) | c];
		assert_true(truth <= cnt && cnt - err <= truth);
	}
	const jv *mem = json_get(r.json, "memory");
	assert_true(json_u64(mem, "peak") <= json_u64(mem, "budget"));
	free(listed);
	free(ipc);
	free(urlc);
	run_free(&r);
}

static void other_formats_detected(void **state)
{
	(void)state;
	static const struct { log_kind kind; const char *name; } k[] = {
		{LOG_COMMON, "common"}, {LOG_VCOMBINED, "vcombined"}};
	for (size_t i = 0; i < 2; i++) {
		char path[512], args[1024];
		snprintf(path, sizeof path, "%s/%s.log", tmpdir, k[i].name);
		tu_rng rng = {seed + 3 + i};
		pools p;
		make_pools(&p, &rng);
		model m;
		model_init(&m, 3000, 1700000000, 4);
		FILE *f = fopen(path, "w");
		for (int n = 0; n < 3000; n++)
			valid_line(f, &m, &p, &rng, 1700000000 + n * 2, k[i].kind, 0);
		fclose(f);
		snprintf(args, sizeof args, "--json %s", path);
		run_result r = run(args);
		assert_int_equal(r.status, 0);
		assert_string_equal(json_get(r.json, "format")->str, k[i].name);
		/* stderr is not a terminal and nothing went wrong: no noise */
		assert_string_equal(r.err, "");
		assert_int_equal(json_u64(r.json, "requests"), m.requests);
		assert_int_equal(json_u64(r.json, "malformed"), 0);
		assert_int_equal(json_u64(r.json, "bytes_sent"), m.bytes_sent);
		/* under two hours: per-minute buckets, exact */
		const jv *pm = json_get(r.json, "per_minute");
		assert_non_null(pm);
		uint64_t sum = 0;
		for (size_t b = 0; b < pm->n; b++) sum += json_u64(json_at(pm, b), "requests");
		assert_int_equal(sum, m.requests);
		assert_int_equal(pm->n, (size_t)(m.last / 60 - m.first / 60 + 1));
		run_free(&r);
		/* forcing the wrong format makes every line malformed: counted,
		 * reported, but no silent success (exit 2), and the message
		 * names the format tried and the one the lines look like */
		snprintf(args, sizeof args, "--json -q -f %s %s", i == 0 ? "combined" : "common", path);
		r = run(args);
		assert_int_equal(r.status, 2);
		assert_int_equal(json_u64(r.json, "malformed"), m.requests);
		char want[128];
		snprintf(want, sizeof want, "no line parsed as %s", i == 0 ? "combined" : "common");
		if (!strstr(r.err, want) || !strstr(r.err, k[i].name))
			fail_msg("stderr: %s", r.err);
		run_free(&r);
		model_free(&m);
	}
}

static void output_file_by_extension(void **state)
{
	(void)state;
	char path[512], args[2048], out[512];
	snprintf(path, sizeof path, "%s/small.log", tmpdir);
	model m;
	pools p;
	write_standard_log(path, &m, &p, seed + 7, 2000);
	snprintf(out, sizeof out, "%s/report.json", tmpdir);
	snprintf(args, sizeof args, "-q -o %s %s", out, path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out_len, 0);
	size_t len;
	char *text = tu_slurp(out, &len);
	jv *j = json_parse(text, len, NULL);
	assert_non_null(j);
	assert_int_equal(json_u64(j, "requests"), m.requests);
	json_free(j);
	free(text);
	run_free(&r);
	snprintf(out, sizeof out, "%s/report.txt", tmpdir);
	snprintf(args, sizeof args, "-q -o %s %s", out, path);
	r = run(args);
	assert_int_equal(r.status, 0);
	text = tu_slurp(out, &len);
	assert_non_null(strstr(text, "Top URLs"));
	assert_true(text[0] != '{');
	free(text);
	run_free(&r);
	model_free(&m);
}

/* The text report writes byte counts as grouped integers ("2,000,000", not
 * "2e+06") and seconds with their decimals. */
static void text_figures_readable(void **state)
{
	(void)state;
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/sizes.log", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	static const unsigned sizes[] = {5, 1234567, 2000000};
	for (int i = 0; i < 3; i++)
		fprintf(f, "10.0.0.%d - - [10/Oct/2023:13:55:3%d +0000] \"GET / HTTP/1.1\" 200 %u "
			   "\"-\" \"t\" 0.25\n", i, i, sizes[i]);
	fclose(f);
	snprintf(args, sizeof args, "-q %s", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	const char *d = strstr(r.out, "Response size (bytes)");
	assert_non_null(d);
	const char *end = strstr(d, "\n\n");
	size_t n = end ? (size_t)(end - d) : strlen(d);
	char sect[512];
	assert_true(n < sizeof sect);
	memcpy(sect, d, n);
	sect[n] = '\0';
	if (!strstr(sect, "min 5 ") || !strstr(sect, "max 2,000,000 ") ||
	    !strstr(sect, "p50 1,234,567 ") || strstr(sect, "e+"))
		fail_msg("response sizes as printed:\n%s", sect);
	assert_non_null(strstr(r.out, "p50 0.25 "));
	run_free(&r);
}

/* Every exact figure, the HLL estimates and the malformed samples must be
 * the same for any -j: byte ranges (a plain file over 4 MiB) and the
 * reader's queue (the same log gzipped). */
static void same_figures_for_any_jobs(void **state)
{
	(void)state;
	char path[512], gz[512], args[1024];
	snprintf(path, sizeof path, "%s/jobs.log", tmpdir);
	snprintf(gz, sizeof gz, "%s/jobs.log.gz", tmpdir);
	model m;
	pools p;
	write_standard_log(path, &m, &p, seed + 11, 30000);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > (4 << 20)); /* large enough to be split */
	size_t len;
	char *text = tu_slurp(path, &len);
	gzFile g = gzopen(gz, "wb1");
	gzwrite(g, text, (unsigned)len);
	gzclose(g);
	free(text);
	static const char *const approximate[] = {"top", "top_info", "memory", "request_time",
						  "response_bytes"};
	const char *files[2] = {path, gz};
	for (int f = 0; f < 2; f++) {
		jv *first = NULL;
		static const int jobs[] = {1, 2, 3, 7};
		for (int j = 0; j < 4; j++) {
			snprintf(args, sizeof args, "--json -q -m 64M -j %d %s", jobs[j], files[f]);
			run_result r = run(args);
			assert_int_equal(r.status, 0);
			check_standard(r.json, &m, &p, 1);
			/* everything but the approximate parts, key by key */
			if (!first) {
				first = r.json;
				r.json = NULL;
			} else {
				for (size_t k = 0; k < first->n; k++) {
					int skip = 0;
					for (size_t a = 0; a < 5; a++)
						skip |= strcmp(first->keys[k], approximate[a]) == 0;
					if (skip)
						continue;
					const jv *x = first->items[k], *y = json_get(r.json, first->keys[k]);
					assert_non_null(y);
					if (x->t == J_NUM)
						assert_true(x->num == y->num);
					else if (x->t == J_OBJ || x->t == J_ARR)
						assert_int_equal(x->n, y->n);
				}
				const char *keys[] = {"unique_ips", "unique_visitors"};
				for (int k = 0; k < 2; k++)
					assert_true(json_get(json_get(first, keys[k]), "estimate")->num ==
						    json_get(json_get(r.json, keys[k]), "estimate")->num);
				const jv *s1 = json_get(first, "malformed_samples");
				const jv *s2 = json_get(r.json, "malformed_samples");
				assert_int_equal(s1->n, s2->n);
				for (size_t i = 0; i < s1->n; i++)
					assert_int_equal(json_u64(json_at(s1, i), "line"),
							 json_u64(json_at(s2, i), "line"));
			}
			run_free(&r);
		}
		json_free(first);
	}
	/* The seed's 1 MiB budget, where the plan gives each worker one buffer
	 * when every input is read in ranges (a plain file) and adds the
	 * reader's spare otherwise (the gzip file): the exact counters, and
	 * the peak within the budget, both ways. */
	for (int f = 0; f < 2; f++) {
		for (int j = 2; j <= 3; j++) {
			snprintf(args, sizeof args, "--json -q -m 1M -j %d %s", j, files[f]);
			run_result r = run(args);
			assert_int_equal(r.status, 0);
			check_counters(r.json, &m, 1);
			const jv *mem = json_get(r.json, "memory");
			assert_int_equal(json_u64(mem, "budget"), 1 << 20);
			assert_true(json_u64(mem, "peak") <= json_u64(mem, "budget"));
			run_free(&r);
		}
	}
	model_free(&m);
}

/* Malformed lines only deep in a file that the workers read as many
 * chunks (more chunks than workers, each claimed as a worker finishes its
 * last): the samples must carry the lines' true numbers for every -j. The
 * numbers are known by construction, not taken from a -j 1 run. */
static void samples_from_late_chunks(void **state)
{
	(void)state;
	enum { N = 40000, BAD = 5 };
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/late.log", tmpdir);
	tu_rng rng = {seed + 31};
	uint64_t bad[BAD];
	for (int i = 0; i < BAD; i++)	/* in the last 40%, ascending */
		bad[i] = N * 6 / 10 + (uint64_t)i * (N / 12) + 1 + tu_below(&rng, N / 20);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (uint64_t line = 1, b = 0; line <= N; line++) {
		if (b < BAD && line == bad[b]) {
			fprintf(f, "not an access log line %llu\n", (unsigned long long)line);
			b++;
			continue;
		}
		fprintf(f, "10.0.%u.%u - - [10/Oct/2023:13:55:36 +0000] \"GET /p/%llu HTTP/1.1\" 200 %u "
			   "\"https://example.com/some/referrer/page\" \"Mozilla/5.0 (X11; Linux "
			   "x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36\"\n",
			(unsigned)(line / 256 % 256), (unsigned)(line % 256),
			(unsigned long long)(line % 5000), (unsigned)(line % 9000));
	}
	fclose(f);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > (6 << 20)); /* six chunks of 1 MiB or more */
	static const int jobs[] = {1, 2, 3, 5};
	for (int j = 0; j < 4; j++) {
		snprintf(args, sizeof args, "--json -q -m 8M -j %d %s", jobs[j], path);
		run_result r = run(args);
		assert_int_equal(r.status, 0);
		assert_int_equal(json_u64(r.json, "lines"), N);
		assert_int_equal(json_u64(r.json, "malformed"), BAD);
		const jv *samples = json_get(r.json, "malformed_samples");
		assert_int_equal(samples->n, BAD);
		for (size_t i = 0; i < BAD; i++)
			assert_int_equal(json_u64(json_at(samples, i), "line"), bad[i]);
		run_free(&r);
	}
}

/* -f lines: sort | uniq -c | sort -rn in bounded memory. Lines drawn from
 * a skewed pool, counted by pool index; then many more distinct lines than
 * the top list holds, where the Space-Saving bounds must hold. */
static void lines_mode(void **state)
{
	(void)state;
	enum { POOL = 3000, N = 60000 };
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/lines.txt", tmpdir);
	tu_rng rng = {seed + 21};
	uint64_t *count = calloc(POOL, sizeof *count);
	FILE *f = fopen(path, "w");
	uint64_t bytes = 0, minlen = UINT64_MAX, maxlen = 0;
	for (size_t i = 0; i < N; i++) {
		size_t k = skewed(&rng, POOL);
		char line[64];
		int len = snprintf(line, sizeof line, "line %zu %s", k, k % 3 ? "x" : "some longer text");
		fprintf(f, "%s\n", line);
		count[k]++;
		bytes += (uint64_t)len;
		if ((uint64_t)len < minlen) minlen = (uint64_t)len;
		if ((uint64_t)len > maxlen) maxlen = (uint64_t)len;
	}
	fclose(f);
	for (int j = 1; j <= 3; j += 2) {
		snprintf(args, sizeof args, "--json -f lines -m 8M -j %d --top 20 %s", j, path);
		run_result r = run(args);
		assert_int_equal(r.status, 0);
		assert_string_equal(json_get(r.json, "format")->str, "lines");
		assert_int_equal(json_u64(r.json, "lines"), N);
		assert_int_equal(json_u64(r.json, "bytes"), bytes);
		size_t distinct = 0;
		for (size_t k = 0; k < POOL; k++) distinct += count[k] > 0;
		const jv *d = json_get(r.json, "distinct_lines");
		assert_true(json_get(d, "exact")->b);
		assert_int_equal(json_u64(d, "estimate"), distinct);
		const jv *rows = json_get(json_get(r.json, "top"), "line");
		assert_int_equal(rows->n, 20);
		uint64_t last = UINT64_MAX;
		for (size_t i = 0; i < rows->n; i++) {
			size_t k;
			assert_int_equal(sscanf(json_get(json_at(rows, i), "value")->str, "line %zu", &k), 1);
			assert_int_equal(json_u64(json_at(rows, i), "count"), count[k]);
			assert_true(count[k] <= last);
			last = count[k];
		}
		for (size_t k = 0; k < POOL; k++) /* nothing unlisted beats the last row */
			if (count[k] > last) {
				int listed = 0;
				for (size_t i = 0; i < rows->n; i++) {
					size_t kk;
					sscanf(json_get(json_at(rows, i), "value")->str, "line %zu", &kk);
					listed |= kk == k;
				}
				assert_true(listed);
			}
		const jv *len = json_get(r.json, "line_length");
		assert_int_equal(json_u64(len, "count"), N);
		assert_true(json_get(len, "min")->num == (double)minlen);
		assert_true(json_get(len, "max")->num == (double)maxlen);
		run_free(&r);
	}
	free(count);

	/* all distinct (a uniform stream): the hard case for Space-Saving */
	f = fopen(path, "w");
	for (size_t i = 0; i < N; i++)
		fprintf(f, "%llu\n", (unsigned long long)(tu_next(&rng) % 20000));
	fclose(f);
	snprintf(args, sizeof args, "--json -f lines -j 1 -m 1M --top 100000 %s", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	const jv *info = json_get(json_get(r.json, "top_info"), "line");
	assert_false(json_get(info, "exact")->b);
	assert_int_equal(json_u64(info, "total"), N);
	/* recount from the file and check each row's interval */
	uint32_t *truth = calloc(20000, sizeof *truth);
	f = fopen(path, "r");
	unsigned long long v;
	while (fscanf(f, "%llu", &v) == 1) truth[v]++;
	fclose(f);
	const jv *rows = json_get(json_get(r.json, "top"), "line");
	assert_int_equal(rows->n, json_u64(info, "capacity"));
	for (size_t i = 0; i < rows->n; i++) {
		const jv *row = json_at(rows, i);
		unsigned long long k = strtoull(json_get(row, "value")->str, NULL, 10);
		uint64_t c = json_u64(row, "count"), e = json_u64(row, "max_error");
		assert_true(truth[k] <= c && c - e <= truth[k]);
	}
	free(truth);
	run_free(&r);
}

/* --exact in the default 1 MiB: many more distinct clients and URLs than
 * fit, so the exact table spills; every figure must equal the truth. */
static void exact_mode_spills_and_is_exact(void **state)
{
	(void)state;
	char path[512], args[2048], tmp[512];
	snprintf(path, sizeof path, "%s/exact.log", tmpdir);
	snprintf(tmp, sizeof tmp, "%s/spill", tmpdir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	tu_rng rng = {seed + 31};
	enum { N = 150000, IPS = 90000, URLS = 40000 };
	uint32_t *ipc = calloc(IPS, sizeof *ipc), *urlc = calloc(URLS, sizeof *urlc);
	uint64_t *visitors = calloc(N, sizeof *visitors);
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < N; i++) {
		uint32_t ip = (uint32_t)tu_below(&rng, IPS);
		double u = tu_unit(&rng);
		uint32_t url = (uint32_t)((double)URLS * u * u * u);
		int64_t t = 1700000000 + (int64_t)i;
		ipc[ip]++;
		urlc[url]++;
		visitors[i] = ((uint64_t)ip << 32) | (uint64_t)(t / 86400);
		char date[64];
		fmt_time(date, sizeof date, t, 0);
		fprintf(f, "10.%u.%u.%u - - [%s] \"GET /u/%u HTTP/1.1\" 200 1 \"-\" \"ua\"\n",
			ip >> 16, (ip >> 8) & 255, ip & 255, date, url);
	}
	fclose(f);
	size_t dvis = distinct_u64(visitors, N);
	free(visitors);
	snprintf(args, sizeof args, "--json --exact --tmp %s -j 1 --top 25 %s", tmp, path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	size_t dips = 0;
	for (size_t i = 0; i < IPS; i++) dips += ipc[i] > 0;
	const jv *u = json_get(r.json, "unique_ips");
	assert_true(json_get(u, "exact")->b);
	assert_int_equal(json_u64(u, "estimate"), dips);
	/* one agent: a visitor is a client on a date */
	assert_int_equal(json_u64(json_get(r.json, "unique_visitors"), "estimate"), dvis);
	const jv *disk = json_get(r.json, "temp_disk");
	assert_non_null(disk);
	assert_true(json_u64(disk, "peak") > 0); /* it did spill */
	const jv *rows = json_get(json_get(r.json, "top"), "url");
	assert_int_equal(rows->n, 25);
	uint64_t last = UINT64_MAX;
	char *listed = calloc(URLS, 1);
	for (size_t i = 0; i < rows->n; i++) {
		unsigned id;
		assert_int_equal(sscanf(json_get(json_at(rows, i), "value")->str, "/u/%u", &id), 1);
		assert_int_equal(json_u64(json_at(rows, i), "count"), urlc[id]);
		assert_int_equal(json_u64(json_at(rows, i), "max_error"), 0);
		assert_true(urlc[id] <= last);
		last = urlc[id];
		listed[id] = 1;
	}
	for (size_t i = 0; i < URLS; i++)
		if (!listed[i]) assert_true(urlc[i] <= last);
	rows = json_get(json_get(r.json, "top"), "ip");
	for (size_t i = 0; i < rows->n; i++) {
		unsigned a, b, c;
		assert_int_equal(sscanf(json_get(json_at(rows, i), "value")->str, "10.%u.%u.%u", &a, &b, &c), 3);
		assert_int_equal(json_u64(json_at(rows, i), "count"), ipc[(a << 16) | (b << 8) | c]);
	}
	const jv *mem = json_get(r.json, "memory");
	assert_true(json_u64(mem, "peak") <= json_u64(mem, "budget"));
	run_free(&r);

	/* interrupted midway: nothing is left in the temporary directory */
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "%s --exact --tmp %s -j 1 %s %s %s %s >/dev/null 2>&1 & pid=$!; "
		 "sleep 0.2; kill -INT $pid; wait $pid; exit 0",
		 sluice_bin, tmp, path, path, path, path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", tmp);
	assert_int_equal(system(cmd), 0);

	/* a full temporary disk: exit status 2, a message, no report */
	char mnt[512];
	snprintf(mnt, sizeof mnt, "%s/small", tmpdir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=64k tmpfs %s 2>/dev/null", mnt);
	if (system(cmd) == 0) {
		snprintf(args, sizeof args, "--json --exact --tmp %s -j 1 %s", mnt, path);
		r = run(args);
		snprintf(cmd, sizeof cmd, "umount %s", mnt);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(r.status, 2);
		assert_int_equal(r.out_len, 0);
		assert_non_null(strstr(r.err, "no space"));
		run_free(&r);
	} else {
		print_message("tmpfs mount not permitted: full-disk case skipped\n");
	}
	free(listed);
	free(ipc);
	free(urlc);
}

/* ---- the text report at a glance (issue 12) ------------------------------ */

/* The lines of the text section titled `title` (from the line after the
 * title to the next blank line), as a malloc'd string; NULL if absent. */
static char *section(const char *text, const char *title)
{
	const char *p = text;
	size_t tl = strlen(title);
	while (p && *p) {
		if (strncmp(p, title, tl) == 0 && (p[tl] == '\n' || p[tl] == ' ')) {
			const char *b = strchr(p, '\n');
			if (!b) return NULL;
			b++;
			const char *e = strstr(b, "\n\n");
			size_t n = e ? (size_t)(e - b) + 1 : strlen(b);
			char *out = malloc(n + 1);
			memcpy(out, b, n);
			out[n] = '\0';
			return out;
		}
		p = strchr(p, '\n');
		if (p) p++;
	}
	return NULL;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++) n += *s == '\n';
	return n;
}

/* "YYYY-MM-DD HH:MM" (or the date alone, day != 0) of t + off seconds. */
static void local_label(char *out, size_t n, int64_t t, int64_t off, int day)
{
	time_t tt = (time_t)(t + off);
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, day ? "%Y-%m-%d" : "%Y-%m-%d %H:%M", &tm);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Writes n combined lines, line i at t0 + i * step, all written at UTC
 * offset `tz` minutes; every line is GET / 200 from 10.0.0.(i % 50). */
static void timed_log(const char *path, int64_t t0, int64_t step, size_t n, int tz)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		char date[64];
		fmt_time(date, sizeof date, t0 + (int64_t)i * step, tz);
		fprintf(f, "10.0.0.%zu - - [%s] \"GET / HTTP/1.1\" 200 10 \"-\" \"t\"\n", i % 50, date);
	}
	fclose(f);
}

/* Checks the series section of `text` against the naive reference: line
 * times t0 + i * step, each counted in the row of its UTC bucket's start
 * (width `bucket` s) shifted by `off` s, rows `unit` s wide. */
static void check_series(const char *text, const char *title, int64_t t0, int64_t step, size_t n,
			 int64_t bucket, int64_t unit, int64_t off)
{
	char *sec = section(text, title);
	if (!sec) fail_msg("no section '%s' in:\n%s", title, text);
	int64_t first = floor_div(floor_div(t0, bucket) * bucket + off, unit);
	int64_t last = floor_div(floor_div(t0 + (int64_t)(n - 1) * step, bucket) * bucket + off, unit);
	size_t rows = (size_t)(last - first + 1);
	uint64_t *want = calloc(rows, sizeof *want);
	for (size_t i = 0; i < n; i++) {
		int64_t t = t0 + (int64_t)i * step;
		want[floor_div(floor_div(t, bucket) * bucket + off, unit) - first]++;
	}
	if (count_lines(sec) != rows) fail_msg("%zu rows wanted:\n%s", rows, sec);
	const char *line = sec;
	for (size_t r = 0; r < rows; r++) {
		char label[32], got_label[32], cnt[32], wantc[32];
		/* the row's label: its first bucket's start, shifted */
		int64_t start = (first + (int64_t)r) * unit - off; /* UTC start of the row */
		int64_t b0 = floor_div(start, bucket) * bucket;
		if (b0 + off < (first + (int64_t)r) * unit) b0 += bucket;
		if (r == 0) b0 = floor_div(t0, bucket) * bucket;
		local_label(label, sizeof label, b0, off, unit == 86400);
		size_t ll = strlen(label);
		memcpy(got_label, line + 2, ll);
		got_label[ll] = '\0';
		if (strcmp(got_label, label) != 0)
			fail_msg("row %zu: label '%s', want '%s'\n%s", r, got_label, label, sec);
		snprintf(wantc, sizeof wantc, "%llu", (unsigned long long)want[r]);
		if (sscanf(line + 2 + ll, "%31s", cnt) != 1) fail_msg("row %zu: %s", r, line);
		char *comma;
		while ((comma = strchr(cnt, ','))) memmove(comma, comma + 1, strlen(comma));
		if (strcmp(cnt, wantc) != 0) fail_msg("row %zu: count %s, want %s\n%s", r, cnt, wantc, sec);
		line = strchr(line, '\n') + 1;
	}
	free(want);
	free(sec);
}

/* Per-minute, per-hour and per-day rows at the log's own offset, --tz and
 * --series; at most 48 rows unless asked. */
static void series_in_the_logs_offset(void **state)
{
	(void)state;
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/tz.log", tmpdir);
	int64_t t0 = 1700000000 + 1234; /* 2023-11-14T22:33:54Z */
	/* 40 minutes at +02:00: minute rows, local times */
	timed_log(path, t0, 20, 120, 120);
	snprintf(args, sizeof args, "-q %s", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	check_series(r.out, "Requests per minute", t0, 20, 120, 60, 60, 7200);
	assert_non_null(strstr(r.out, "times at UTC+02:00, as in the log"));
	run_free(&r);
	snprintf(args, sizeof args, "--json -q %s", path);
	r = run(args);
	assert_string_equal(json_get(r.json, "log_offset")->str, "+02:00");
	run_free(&r);

	/* 30 hours at -07:00: hour rows (30 <= 48) */
	timed_log(path, t0, 600, 180, -420);
	snprintf(args, sizeof args, "-q %s", path);
	r = run(args);
	check_series(r.out, "Requests per hour", t0, 600, 180, 3600, 3600, -25200);
	run_free(&r);

	/* 5 days at +02:00: day rows by local midnight; --tz UTC by UTC's;
	 * --tz +05:30: each hour in the day its start falls in; --series
	 * hour gives every hour, more than 48 rows since it was asked */
	timed_log(path, t0, 420, 1030, 120);
	snprintf(args, sizeof args, "-q %s", path);
	r = run(args);
	check_series(r.out, "Requests per day", t0, 420, 1030, 3600, 86400, 7200);
	run_free(&r);
	snprintf(args, sizeof args, "-q --tz UTC %s", path);
	r = run(args);
	check_series(r.out, "Requests per day", t0, 420, 1030, 3600, 86400, 0);
	assert_non_null(strstr(r.out, "times at UTC (--tz)"));
	run_free(&r);
	snprintf(args, sizeof args, "-q --tz +05:30 %s", path);
	r = run(args);
	check_series(r.out, "Requests per day", t0, 420, 1030, 3600, 86400, 19800);
	run_free(&r);
	snprintf(args, sizeof args, "-q --series hour --tz=-0300 %s", path);
	r = run(args);
	check_series(r.out, "Requests per hour", t0, 420, 1030, 3600, 3600, -10800);
	run_free(&r);
	snprintf(args, sizeof args, "-q --tz +15:00 %s", path);
	r = run(args);
	assert_int_equal(r.status, 2);
	run_free(&r);

	/* 200 days: days summed in groups, at most 48 rows, nothing lost */
	timed_log(path, t0, 86400 / 4, 800, 0);
	snprintf(args, sizeof args, "-q %s", path);
	r = run(args);
	char *sec = section(r.out, "Requests per day");
	assert_non_null(sec);
	assert_true(count_lines(sec) <= 48);
	assert_non_null(strstr(r.out, "Requests per day (rows of 5 days)"));
	uint64_t sum = 0;
	for (const char *l = sec; *l; l = strchr(l, '\n') + 1) {
		char cnt[32], *comma;
		assert_int_equal(sscanf(l, "%*s %31s", cnt), 1);
		while ((comma = strchr(cnt, ','))) memmove(comma, comma + 1, strlen(comma));
		sum += strtoull(cnt, NULL, 10);
	}
	assert_int_equal(sum, 800);
	free(sec);
	run_free(&r);
}

/* Methods and protocols by count (ties by name); a format without
 * referrers says so; samples come after the report, one line each. */
static void report_reads_at_a_glance(void **state)
{
	(void)state;
	char path[512], cmd[2048], out[512];
	snprintf(path, sizeof path, "%s/glance.log", tmpdir);
	snprintf(out, sizeof out, "%s/glance.out", tmpdir);
	static const struct { const char *m, *p; int n; } mix[] = {
		{"POST", "HTTP/1.0", 1}, {"GET", "HTTP/2.0", 3}, {"PUT", "HTTP/1.1", 5},
		{"DELETE", "HTTP/1.0", 3}, {"PATCH", "HTTP/2.0", 2},
	};
	/* methods: PUT 5, DELETE 3, GET 3, PATCH 2, POST 1;
	 * protocols: HTTP/1.1 5, HTTP/2.0 5, HTTP/1.0 4 */
	static const char *const want_m[] = {"PUT", "DELETE", "GET", "PATCH", "POST"};
	static const char *const want_p[] = {"HTTP/1.1", "HTTP/2.0", "HTTP/1.0"};
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	int k = 0;
	for (size_t i = 0; i < sizeof mix / sizeof *mix; i++)
		for (int j = 0; j < mix[i].n; j++, k++) {
			fprintf(f, "10.1.1.%d - - [10/Oct/2023:13:55:%02d +0000] \"%s /x %s\" 200 1\n", k,
				k, mix[i].m, mix[i].p);
			if (k % 4 == 1)
				fprintf(f, "malformed line number %d\n", k);
		}
	fclose(f);
	snprintf(cmd, sizeof cmd, "%s %s >%s 2>&1", sluice_bin, path, out);
	assert_int_equal(tu_run(cmd), 0);
	char *text = tu_slurp(out, NULL);
	assert_non_null(text);
	char *sec = section(text, "Methods");
	assert_non_null(sec);
	const char *l = sec;
	for (size_t i = 0; i < 5; i++, l = strchr(l, '\n') + 1)
		if (strncmp(l + 2, want_m[i], strlen(want_m[i])) != 0 || l[2 + strlen(want_m[i])] != ' ')
			fail_msg("methods row %zu, want %s:\n%s", i, want_m[i], sec);
	free(sec);
	sec = section(text, "Protocols");
	assert_non_null(sec);
	l = sec;
	for (size_t i = 0; i < 3; i++, l = strchr(l, '\n') + 1)
		if (strncmp(l + 2, want_p[i], strlen(want_p[i])) != 0)
			fail_msg("protocols row %zu, want %s:\n%s", i, want_p[i], sec);
	free(sec);
	/* common: no referrers or agents in the format, and it says so */
	sec = section(text, "Top referrers");
	assert_non_null(sec);
	if (!strstr(sec, "(not in the common format)")) fail_msg("referrers:\n%s", sec);
	free(sec);
	sec = section(text, "Top user agents");
	assert_non_null(sec);
	if (!strstr(sec, "(not in the common format)")) fail_msg("user agents:\n%s", sec);
	free(sec);
	/* the samples (4 malformed lines) after the report, one line each */
	const char *series = strstr(text, "Requests per minute");
	const char *sample = strstr(text, "malformed (");
	if (!series || !sample || sample < series) fail_msg("samples before the report:\n%s", text);
	size_t nsamples = 0;
	for (const char *s = series; (s = strstr(s, ": malformed (")); s++) nsamples++;
	assert_int_equal(nsamples, 4);
	assert_null(strstr(text, "±"));
	free(text);
}

/* Approximate figures are written as intervals that hold the truth: the
 * top URLs as low–high, unique IPs as (95%: low–high); never "±". */
static void intervals_as_intervals(void **state)
{
	(void)state;
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/approx.log", tmpdir);
	enum { NU = 50000, NL = 60000 };
	static uint64_t truth[NU];
	memset(truth, 0, sizeof truth);
	tu_rng rng = {seed + 77};
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < NL; i++) {
		size_t u = skewed(&rng, NU);
		truth[u]++;
		fprintf(f, "10.%d.%d.%d - - [10/Oct/2023:13:%02d:00 +0000] \"GET /u%zu HTTP/1.1\" 200 1 "
			   "\"-\" \"t\"\n", i % 200, i / 200 % 250, i % 7, i / 1000, u);
	}
	fclose(f);
	snprintf(args, sizeof args, "-q -j 1 -m 1M -n 20 %s", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	/* no "±" before the distributions (whose rank error is symmetric) */
	const char *dist = strstr(r.out, "\nRequest time");
	if (!dist) dist = strstr(r.out, "\nResponse size");
	assert_non_null(dist);
	const char *pm = strstr(r.out, "±");
	if (pm && pm < dist) fail_msg("± in:\n%s", r.out);
	const char *ips = strstr(r.out, "Unique IPs");
	assert_non_null(ips);
	if (strncmp(strchr(ips, '\n') - 1, ")", 1) != 0 || !strstr(ips, "(95%: ") ||
	    strstr(ips, "–") > strchr(ips, '\n'))
		fail_msg("unique IPs as an interval:\n%s", r.out);
	char *sec = section(r.out, "Top URLs");
	assert_non_null(sec);
	int ranges = 0;
	for (const char *l = sec; *l; l = strchr(l, '\n') + 1) {
		char cell[64], url[64], *comma;
		assert_int_equal(sscanf(l, "%63s %63s", cell, url), 2);
		while ((comma = strchr(cell, ','))) memmove(comma, comma + 1, strlen(comma));
		uint64_t lo, hi;
		char *dash = strstr(cell, "–");
		if (dash) {
			*dash = '\0';
			lo = strtoull(cell, NULL, 10);
			hi = strtoull(dash + strlen("–"), NULL, 10);
			ranges++;
		} else {
			lo = hi = strtoull(cell, NULL, 10);
		}
		uint64_t t = truth[strtoul(url + 2, NULL, 10)];
		if (t < lo || t > hi) fail_msg("%s: true %llu outside %llu–%llu", url,
					       (unsigned long long)t, (unsigned long long)lo,
					       (unsigned long long)hi);
	}
	free(sec);
	/* the list must have been approximate for this to test anything */
	if (!strstr(r.out, "Top URLs  (≈")) fail_msg("not approximate:\n%s", r.out);
	(void)ranges;
	run_free(&r);
}

/* A unique visitor: client, date as logged and user agent, of lines not
 * answered 4xx (GoAccess's default); --4xx-visitors counts those too. The
 * same with --exact. */
static void visitors_leave_out_4xx(void **state)
{
	(void)state;
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/visitors.log", tmpdir);
	static const struct { const char *ip, *day, *ua; int status; } l[] = {
		{"10.0.0.1", "10/Oct/2023", "X", 200}, {"10.0.0.1", "10/Oct/2023", "X", 404},
		{"10.0.0.1", "11/Oct/2023", "X", 404}, {"10.0.0.2", "10/Oct/2023", "X", 403},
		{"10.0.0.3", "10/Oct/2023", "Y", 500}, {"10.0.0.3", "10/Oct/2023", "Z", 302},
		{"10.0.0.4", "10/Oct/2023", "Y", 499}, {"10.0.0.4", "10/Oct/2023", "Y", 400},
	};
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	size_t n = sizeof l / sizeof *l;
	uint64_t without = 0, with = 0;
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s - - [%s:10:00:00 +0000] \"GET / HTTP/1.1\" %d 1 \"-\" \"%s\"\n", l[i].ip,
			l[i].day, l[i].status, l[i].ua);
		/* the naive reference: is (ip, day, ua) new among the counted? */
		bool seen_all = false, seen_ok = false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l[j].ip, l[i].ip) && !strcmp(l[j].day, l[i].day) &&
			    !strcmp(l[j].ua, l[i].ua)) {
				seen_all = true;
				seen_ok |= l[j].status / 100 != 4;
			}
		with += !seen_all;
		without += l[i].status / 100 != 4 && !seen_ok;
	}
	fclose(f);
	static const char *const modes[] = {"", "--exact"};
	for (int m = 0; m < 2; m++) {
		snprintf(args, sizeof args, "--json -q %s %s", modes[m], path);
		run_result r = run(args);
		assert_int_equal(r.status, 0);
		assert_int_equal(json_u64(json_get(r.json, "unique_visitors"), "estimate"), without);
		assert_int_equal(json_u64(json_get(r.json, "unique_ips"), "estimate"), 4);
		run_free(&r);
		snprintf(args, sizeof args, "--json -q --4xx-visitors %s %s", modes[m], path);
		r = run(args);
		assert_int_equal(r.status, 0);
		assert_int_equal(json_u64(json_get(r.json, "unique_visitors"), "estimate"), with);
		run_free(&r);
	}
	assert_true(without < with); /* the log tells the two apart */
}

/* vhost-common is a format of its own; lines of no known format fail the
 * run (exit 2) and the message says so. */
static void vcommon_and_no_silent_success(void **state)
{
	(void)state;
	char path[512], args[1024];
	snprintf(path, sizeof path, "%s/vcommon.log", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 40; i++)
		fprintf(f, "www%d.example.org:443 10.0.0.%d - - [10/Oct/2023:13:55:%02d +0100] "
			   "\"GET /v HTTP/1.1\" 200 %d\n", i % 3, i, i, i);
	fclose(f);
	snprintf(args, sizeof args, "--json %s", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	assert_string_equal(json_get(r.json, "format")->str, "vcommon");
	assert_int_equal(json_u64(r.json, "requests"), 40);
	assert_int_equal(json_u64(r.json, "bytes_sent"), 40 * 39 / 2);
	run_free(&r);
	/* forced common: every line malformed, exit 2, and what they are */
	snprintf(args, sizeof args, "-q -f common %s", path);
	r = run(args);
	assert_int_equal(r.status, 2);
	if (!strstr(r.err, "no line parsed as common") || !strstr(r.err, "look like vcommon"))
		fail_msg("stderr: %s", r.err);
	run_free(&r);
	/* combined lines longer than a sample's kept text (200 bytes) are
	 * still recognised: the guess is made on the whole line */
	snprintf(path, sizeof path, "%s/long-ua.log", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 20; i++) {
		fprintf(f, "10.0.0.%d - - [10/Oct/2023:13:55:%02d +0000] \"GET /%d HTTP/1.1\" 200 5 "
			   "\"-\" \"", i, i, i);
		for (int k = 0; k < 300; k++) fputc('a' + k % 26, f);
		fputs("\"\n", f);
	}
	fclose(f);
	snprintf(args, sizeof args, "-q -f common %s", path);
	r = run(args);
	assert_int_equal(r.status, 2);
	if (!strstr(r.err, "look like combined")) fail_msg("stderr: %s", r.err);
	run_free(&r);
	/* lines of the other formats sluice reads (JSON, a line preset) are
	 * named too, not only the classic ones */
	snprintf(path, sizeof path, "%s/app.jsonl", tmpdir);
	const char *js = "{\"remote_addr\":\"10.0.0.1\",\"time_iso8601\":\"2023-10-10T13:55:36+00:00\","
			 "\"request\":\"GET / HTTP/1.1\",\"status\":200,\"body_bytes_sent\":5}\n";
	tu_write_file(path, js, strlen(js));
	snprintf(args, sizeof args, "-q -f combined %s", path);
	r = run(args);
	assert_int_equal(r.status, 2);
	if (!strstr(r.err, "look like json: try -f json")) fail_msg("stderr: %s", r.err);
	run_free(&r);
	snprintf(path, sizeof path, "%s/app.ltsv", tmpdir);
	const char *lt = "host:10.0.0.1\ttime:[10/Oct/2023:13:55:36 +0000]\treq:GET / HTTP/1.1\t"
			 "status:200\tsize:5\n";
	tu_write_file(path, lt, strlen(lt));
	snprintf(args, sizeof args, "-q -f common %s", path);
	r = run(args);
	assert_int_equal(r.status, 2);
	if (!strstr(r.err, "look like ltsv: try -f ltsv")) fail_msg("stderr: %s", r.err);
	run_free(&r);
	/* not an access log at all */
	snprintf(path, sizeof path, "%s/notes.txt", tmpdir);
	tu_write_file(path, "one\ntwo\nthree\n", 14);
	snprintf(args, sizeof args, "-q %s", path);
	r = run(args);
	assert_int_equal(r.status, 2);
	if (!strstr(r.err, "detected") || !strstr(r.err, "-f lines")) fail_msg("stderr: %s", r.err);
	run_free(&r);
	snprintf(args, sizeof args, "-q -f lines %s", path);
	r = run(args);
	assert_int_equal(r.status, 0);
	run_free(&r);
	/* an empty input is no failure: nothing was malformed */
	snprintf(args, sizeof args, "-q </dev/null");
	r = run(args);
	assert_int_equal(r.status, 0);
	run_free(&r);
}

/* Exact at every -j, also where the workers' shares are too small for what
 * each of them sees: 6,000 lines over 4,000 long URLs and 1,750 clients fit
 * one worker's tables at -m 2M, but two or three workers each meet most of
 * the URLs, and their shares degrade. Such a run (its input a few times
 * the budget at most) is read again by one worker: the JSON is the same at
 * -j 1, 2 and 3, every list exact, and -j 2 says why it took longer. */
static void exact_at_every_job_count(void **state)
{
	(void)state;
	char path[300], args[400];
	snprintf(path, sizeof path, "%s/many-urls.log", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	tu_rng rng = {seed ^ 0x6a0b};
	for (int i = 0; i < 6000; i++)
		fprintf(f, "10.%d.%d.%d - - [10/Oct/2023:13:%02d:%02d +0000] \"GET "
			   "/catalogue/item/%06u/detail?ref=%d HTTP/1.1\" 200 %u \"-\" \"agent-%d\"\n",
			i % 7, i * 13 % 250, i * 31 % 250, i / 60 % 60, i % 60,
			(unsigned)tu_below(&rng, 4000), i % 5, (unsigned)tu_below(&rng, 99999), i % 9);
	fclose(f);
	char *first = NULL;
	for (int j = 1; j <= 3; j++) {
		snprintf(args, sizeof args, "-q --json -j %d -m 2M %s", j, path);
		run_result r = run(args);
		assert_int_equal(r.status, 0);
		assert_non_null(r.json);
		const jv *info = json_get(r.json, "top_info");
		assert_non_null(info);
		for (size_t k = 0; k < info->n; k++) {
			const jv *e = json_get(info->items[k], "exact");
			if (!e || e->t != J_BOOL || !e->b)
				fail_msg("-j %d: top list %s is not exact", j, info->keys[k]);
		}
		if (!first)
			first = strdup(r.out);
		else if (strcmp(first, r.out) != 0)
			fail_msg("-j %d prints other JSON than -j 1", j);
		run_free(&r);
	}
	free(first);
	snprintf(args, sizeof args, "-j 2 -m 2M %s >/dev/null", path);
	run_result r = run(args);
	assert_int_equal(r.status, 0);
	if (!strstr(r.err, "again with one worker"))
		fail_msg("stderr: %s", r.err);
	run_free(&r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "%s/sluice-e2e-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) return -1;
	sluice_bin = tu_sluice_bin();
	return access(sluice_bin, X_OK);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd);
}

/* zlib, zstd, lz4 and PCRE2 are opened when first needed (lib/core/
 * dynload.c): a plain run maps none of them (its resident memory is the
 * product's claim), and each works once needed. The dynamic loader names
 * every library it maps under LD_DEBUG=files. */
static void libraries_loaded_when_needed(void **state)
{
	(void)state;
	char path[300], args[1024];
	snprintf(path, sizeof path, "%s/plain.log", tmpdir);
	const char *line = "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.0\" 200 2326\n";
	tu_write_file(path, line, strlen(line));
	snprintf(args, sizeof args, "-q --json %s", path);
	setenv("LD_DEBUG", "files", 1);
	run_result r = run(args);
	unsetenv("LD_DEBUG");
	assert_int_equal(r.status, 0);
	static const char *const libs[] = {"libz.so", "libzstd.so", "liblz4.so", "libpcre2"};
	for (int i = 0; i < 4; i++)
		if (strstr(r.err, libs[i]))
			fail_msg("a plain run mapped %s", libs[i]);
	assert_int_equal(json_u64(r.json, "requests"), 1);
	run_result_free(&r);
	/* each, once needed: a gzip input, a pattern, a spill (sort) */
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "gzip -c %.300s > %.300s.gz", path, path);
	assert_int_equal(tu_run(cmd), 0);
	snprintf(args, sizeof args, "-q --json --where 'path~^/a$' %s.gz", path);
	setenv("LD_DEBUG", "files", 1);
	r = run(args);
	unsetenv("LD_DEBUG");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "libz.so"));
	assert_non_null(strstr(r.err, "libpcre2"));
	assert_int_equal(json_u64(r.json, "requests"), 1);
	run_result_free(&r);
	snprintf(args, sizeof args, "sort %s", path);
	setenv("LD_DEBUG", "files", 1);
	r = run(args);
	unsetenv("LD_DEBUG");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "liblz4.so"));
	assert_string_equal(r.out, line);
	run_result_free(&r);
}

int main(void)
{
	seed = tu_seed("test_e2e", 20261123);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(standard_log_exact),
		cmocka_unit_test(libraries_loaded_when_needed),
		cmocka_unit_test(gzip_stdin_and_missing_file),
		cmocka_unit_test(budget_below_minimum),
		cmocka_unit_test(zstd_window_in_the_plan),
		cmocka_unit_test(sketches_within_bounds),
		cmocka_unit_test(other_formats_detected),
		cmocka_unit_test(output_file_by_extension),
		cmocka_unit_test(text_figures_readable),
		cmocka_unit_test(same_figures_for_any_jobs),
		cmocka_unit_test(samples_from_late_chunks),
		cmocka_unit_test(lines_mode),
		cmocka_unit_test(exact_mode_spills_and_is_exact),
		cmocka_unit_test(series_in_the_logs_offset),
		cmocka_unit_test(report_reads_at_a_glance),
		cmocka_unit_test(intervals_as_intervals),
		cmocka_unit_test(visitors_leave_out_4xx),
		cmocka_unit_test(vcommon_and_no_silent_success),
		cmocka_unit_test(exact_at_every_job_count),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
