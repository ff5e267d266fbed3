/*
 * test_hostile_exact.c: hostile inputs for `sluice --exact` (issue 11, the
 * "exact" area), one case per finding, each starting from a log this test
 * writes itself.
 *
 *   item01_exact_long_keys  combined lines whose URL (also the referrer)
 *                           and user agent are 8 KiB or 20 KiB long, run
 *                           through --exact on a grid of budgets and jobs.
 *                           The run merge used to free the buffers of
 *                           readers it never set up (SIGSEGV) and to read a
 *                           long record into memory beyond the budget
 *                           ("memory budget exhausted"). Every list must
 *                           be exact.
 *
 * The reference is the test's own model: it knows which key each line
 * holds, counts them, and sorts the keys itself (count descending, then key
 * bytes ascending, the report's tie rule). Nothing expected is read from
 * sluice's output.
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

/* ---- the reference: keys with counts, ranked as the report ranks --------- */

typedef struct {
	char *key;
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

/* Checks the JSON list against keys[0 .. n) (sorted here): the first
 * `top` rows, each with its first SL_TOPK_VALUE_MAX bytes, its exact
 * count and the truncated mark when the key is longer. */
static void check_list(const jv *list, refkey *keys, size_t n, size_t top)
{
	qsort(keys, n, sizeof *keys, rank_cmp);
	size_t want = n < top ? n : top;
	assert_non_null(list);
	assert_int_equal(list->n, want);
	for (size_t i = 0; i < want; i++) {
		const jv *row = json_at(list, i);
		const jv *v = json_get(row, "value");
		size_t shown = keys[i].len < SL_TOPK_VALUE_MAX ? keys[i].len : SL_TOPK_VALUE_MAX;
		assert_int_equal(v->len, shown);
		assert_memory_equal(v->str, keys[i].key, shown);
		assert_int_equal(json_u64(row, "count"), keys[i].count);
		const jv *t = json_get(row, "truncated");
		assert_int_equal(t != NULL && t->b, keys[i].len > SL_TOPK_VALUE_MAX);
	}
}

/* ---- item 1: long keys through --exact ------------------------------------ */

typedef struct {
	size_t lines, nurls;
	refkey *url, *ua;	/* url[i]: distinct URLs; ua[line] */
	size_t *url_of;		/* line -> URL index */
} long_log;

static char *filler(tu_rng *rng, const char *head, size_t len)
{
	char *s = malloc(len + 1);
	assert_non_null(s);
	size_t h = strlen(head);
	memcpy(s, head, h);
	for (size_t i = h; i < len; i++)
		s[i] = (char)('a' + tu_below(rng, 26));
	s[len] = 0;
	return s;
}

/* `lines` combined lines; URLs of klen bytes (about 2/3 as many as lines,
 * so some repeat), each also the line's referrer, and a distinct user agent
 * of klen bytes per line. Client i is 10.0.(i/256).(i%256): all distinct. */
static void write_long_log(const char *path, long_log *m, size_t lines, size_t klen,
			   uint64_t salt)
{
	tu_rng rng = {seed ^ salt};
	m->lines = lines;
	m->nurls = lines * 2 / 3 + 1;
	m->url = calloc(m->nurls, sizeof *m->url);
	m->ua = calloc(lines, sizeof *m->ua);
	m->url_of = calloc(lines, sizeof *m->url_of);
	assert_true(m->url && m->ua && m->url_of);
	char head[32];
	for (size_t u = 0; u < m->nurls; u++) {
		/* the first bytes differ (so the shown prefix tells rows
		 * apart), the length varies a little around klen */
		snprintf(head, sizeof head, "/%05zu/", (size_t)tu_below(&rng, 100000));
		m->url[u].len = klen - tu_below(&rng, 64);
		m->url[u].key = filler(&rng, head, m->url[u].len);
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < lines; i++) {
		size_t u = tu_below(&rng, m->nurls);
		m->url_of[i] = u;
		m->url[u].count++;
		snprintf(head, sizeof head, "agent-%05zu ", i);
		m->ua[i].len = klen;
		m->ua[i].key = filler(&rng, head, klen);
		m->ua[i].count = 1;
		fprintf(f,
			"10.0.%zu.%zu - - [10/Oct/2023:13:%02zu:%02zu +0000] \"GET %s HTTP/1.1\" "
			"200 %zu \"%s\" \"%s\"\n",
			i / 256, i % 256, i / 60 % 60, i % 60, m->url[u].key, i, m->url[u].key,
			m->ua[i].key);
	}
	assert_int_equal(fclose(f), 0);
}

static void free_long_log(long_log *m)
{
	for (size_t u = 0; u < m->nurls; u++)
		free(m->url[u].key);
	for (size_t i = 0; i < m->lines; i++)
		free(m->ua[i].key);
	free(m->url);
	free(m->ua);
	free(m->url_of);
}

/* The URLs that occur, with their counts (a fresh array for check_list). */
static refkey *used_urls(const long_log *m, size_t *n)
{
	refkey *k = calloc(m->nurls, sizeof *k);
	assert_non_null(k);
	*n = 0;
	for (size_t u = 0; u < m->nurls; u++)
		if (m->url[u].count)
			k[(*n)++] = m->url[u];
	return k;
}

static void check_long_run(const long_log *m, const char *path, const char *opts)
{
	char args[1024];
	snprintf(args, sizeof args, "--exact --json -n 7 --tmp %s %s %s", tmpdir, opts, path);
	run_result r = run(args);
	if (r.status != 0 || !r.json)
		print_error("sluice %s: exit %d: %s\n", args, r.status, r.err ? r.err : "");
	assert_int_equal(r.status, 0);
	assert_non_null(r.json);
	const jv *j = r.json;
	assert_int_equal(json_u64(j, "requests"), m->lines);
	assert_int_equal(json_u64(j, "malformed"), 0);
	assert_int_equal(json_u64(j, "oversized"), 0);
	const jv *ips = json_get(j, "unique_ips");
	assert_true(json_get(ips, "exact")->b);
	assert_int_equal(json_u64(ips, "estimate"), m->lines);
	assert_int_equal(json_u64(json_get(j, "unique_visitors"), "estimate"), m->lines);
	const jv *top = json_get(j, "top");
	size_t n;
	refkey *k = used_urls(m, &n);
	check_list(json_get(top, "url"), k, n, 7);
	free(k);
	k = used_urls(m, &n);
	check_list(json_get(top, "referrer"), k, n, 7);
	free(k);
	refkey *ua = calloc(m->lines, sizeof *ua);
	assert_non_null(ua);
	memcpy(ua, m->ua, m->lines * sizeof *ua);
	check_list(json_get(top, "user_agent"), ua, m->lines, 7);
	free(ua);
	const jv *info = json_get(json_get(j, "top_info"), "url");
	assert_true(json_get(info, "exact")->b);
	assert_int_equal(json_u64(info, "total"), m->lines);
	run_free(&r);
}

static void item01_exact_long_keys(void **state)
{
	(void)state;
	char path[512];
	long_log m;

	/* the case: 300 lines of 8 KiB keys at the default settings */
	snprintf(path, sizeof path, "%s/long8k.log", tmpdir);
	write_long_log(path, &m, 300, 8192, 1);
	check_long_run(&m, path, "");
	check_long_run(&m, path, "-m 1M -j 2");
	free_long_log(&m);

	/* 20 KiB keys on a grid of budgets and jobs (1,000 lines at -m 64M
	 * failed in the issue; 100 lines fail the same way at these budgets) */
	snprintf(path, sizeof path, "%s/long20k.log", tmpdir);
	write_long_log(path, &m, 100, 20480, 2);
	static const char *grid[] = {"-m 1M -j 1", "-m 1M -j 2", "-m 4M -j 1",
				     "-m 4M -j 2", "-m 16M -j 2", "-m 16M -j 3"};
	for (size_t i = 0; i < sizeof grid / sizeof *grid; i++)
		check_long_run(&m, path, grid[i]);
	free_long_log(&m);

	/* keys near the longest a line allows: URL, referrer and agent of
	 * 21,000 bytes each make lines just under SL_LINE_MAX */
	snprintf(path, sizeof path, "%s/long21k.log", tmpdir);
	write_long_log(path, &m, 24, 21000, 3);
	check_long_run(&m, path, "-m 1M -j 1");
	check_long_run(&m, path, "-m 4M -j 2");
	free_long_log(&m);
}

int main(void)
{
	seed = tu_seed("test_hostile_exact", 0x1e4ac7);
	sluice_bin = tu_sluice_bin();
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-hostile-exact-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(item01_exact_long_keys),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (tu_rmtree(tmpdir) != 0)
		rc = rc ? rc : 1;
	return rc;
}
