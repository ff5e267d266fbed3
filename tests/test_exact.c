/* test_exact.c: the exact multiset (lib/sketch/exact.c) against a naive reference
 * (every key kept, qsorted, runs counted): distinct count, total and the top
 * list with exact counts and the tie rule, with and without spills, long and
 * empty keys, merges of 2 and 7 instances, the memory bound, temporary files
 * gone after free, a full temporary directory (ENOSPC) and call order. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

static uint64_t seed;

/* ---- the reference: every (key, weight) kept ------------------------------ */

typedef struct {
	char *buf;
	size_t fill, cap;
	size_t *off, *len;
	uint64_t *w;
	size_t n, ncap;
} ref;

typedef struct {
	const char *key;
	size_t len;
	uint64_t count;
} refkey;

static void ref_add(ref *r, const char *k, size_t len, uint64_t w)
{
	if (r->fill + len > r->cap) {
		r->cap = (r->fill + len) * 2 + 1024;
		r->buf = realloc(r->buf, r->cap);
		assert_non_null(r->buf);
	}
	if (r->n == r->ncap) {
		r->ncap = r->ncap * 2 + 1024;
		r->off = realloc(r->off, r->ncap * sizeof *r->off);
		r->len = realloc(r->len, r->ncap * sizeof *r->len);
		r->w = realloc(r->w, r->ncap * sizeof *r->w);
		assert_true(r->off && r->len && r->w);
	}
	memcpy(r->buf + r->fill, k, len);
	r->off[r->n] = r->fill;
	r->len[r->n] = len;
	r->w[r->n++] = w;
	r->fill += len;
}

static void ref_free(ref *r)
{
	free(r->buf);
	free(r->off);
	free(r->len);
	free(r->w);
	memset(r, 0, sizeof *r);
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an < bn ? -1 : an > bn);
}

static int by_key(const void *x, const void *y)
{
	const refkey *a = x, *b = y;
	return bytes_cmp(a->key, a->len, b->key, b->len);
}

static int by_rank(const void *x, const void *y)
{
	const refkey *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return bytes_cmp(a->key, a->len, b->key, b->len);
}

/* The distinct keys with their counts, best first; *total set. */
static refkey *ref_rank(const ref *r, size_t *nd, uint64_t *total)
{
	refkey *k = calloc(r->n + 1, sizeof *k);
	assert_non_null(k);
	*total = 0;
	for (size_t i = 0; i < r->n; i++) {
		k[i].key = r->buf + r->off[i];
		k[i].len = r->len[i];
		k[i].count = r->w[i];
		*total += r->w[i];
	}
	qsort(k, r->n, sizeof *k, by_key);
	size_t d = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (d && by_key(&k[d - 1], &k[i]) == 0)
			k[d - 1].count += k[i].count;
		else
			k[d++] = k[i];
	}
	qsort(k, d, sizeof *k, by_rank);
	*nd = d;
	return k;
}

/* True when row equals the reference key as sl_exact must show it. */
static bool row_ok(const sl_topk_row *row, const refkey *k)
{
	size_t shown = k->len < SL_TOPK_VALUE_MAX ? k->len : SL_TOPK_VALUE_MAX;
	return row->count == k->count && row->max_error == 0 && row->len == shown &&
	       row->truncated == (k->len > SL_TOPK_VALUE_MAX) &&
	       memcmp(row->value, k->key, shown) == 0;
}

/* Finishes e and checks it against the reference. */
static void check(sl_exact *e, const ref *r, size_t top_n)
{
	size_t nd;
	uint64_t total;
	refkey *k = ref_rank(r, &nd, &total);
	assert_int_equal(sl_exact_finish(e, top_n), SL_OK);
	assert_int_equal(sl_exact_distinct(e), nd);
	assert_int_equal(sl_exact_total(e), total);
	sl_topk_row *rows = calloc(top_n + 1, sizeof *rows);
	assert_non_null(rows);
	size_t got = sl_exact_top(e, rows, top_n + 1);
	assert_int_equal(got, top_n < nd ? top_n : nd);
	for (size_t i = 0; i < got; i++) {
		if (!row_ok(&rows[i], &k[i]))
			fail_msg("row %zu: count %llu (want %llu), len %zu (want %zu)", i,
				 (unsigned long long)rows[i].count, (unsigned long long)k[i].count,
				 rows[i].len, k[i].len);
	}
	/* the checker can fail: a wrong count, a swapped pair */
	if (got) {
		sl_topk_row bad = rows[0];
		bad.count++;
		assert_false(row_ok(&bad, &k[0]));
	}
	if (got > 1 && by_key(&k[0], &k[1]) != 0)
		assert_false(row_ok(&rows[1], &k[0]) && row_ok(&rows[0], &k[1]));
	free(rows);
	free(k);
}

/* ---- key streams ------------------------------------------------------------ */

/* A URL-like key for id i, 10..~70 bytes. */
static size_t url_key(char *out, uint64_t i)
{
	static const char *const dirs[] = {"/static/js/", "/api/v2/users/", "/img/",
					   "/blog/2024/", "/"};
	return (size_t)sprintf(out, "%s%llu-%llx%s", dirs[i % 5],
			       (unsigned long long)(i * 2654435761u % 100000),
			       (unsigned long long)i, i % 3 ? "?q=1&page=2" : "");
}

typedef struct {
	double *cdf;
	size_t n;
} zipf;

static void zipf_init(zipf *z, size_t n, double s)
{
	z->n = n;
	z->cdf = malloc(n * sizeof *z->cdf);
	assert_non_null(z->cdf);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		z->cdf[i] = sum += 1.0 / pow((double)(i + 1), s);
	for (size_t i = 0; i < n; i++)
		z->cdf[i] /= sum;
}

static size_t zipf_draw(const zipf *z, tu_rng *r)
{
	double u = tu_unit(r);
	size_t lo = 0, hi = z->n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- temporary directories -------------------------------------------------- */

static char *mkdir_tmp(void)
{
	char *d = strdup("/tmp/exact-test-XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int count_fds(void)
{
	return count_entries("/proc/self/fd");
}

/* ---- tests ---------------------------------------------------------------- */

static void small_never_spills(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 1};
	char *dir = mkdir_tmp();
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	int fds = count_fds();
	sl_exact *e;
	assert_int_equal(sl_exact_new(&e, &b, 1 << 20, dir), SL_OK);
	ref r = {0};
	char k[128];
	for (int i = 0; i < 20000; i++) {
		size_t len = url_key(k, tu_below(&rng, 700));
		uint64_t w = 1 + tu_below(&rng, 3);
		assert_int_equal(sl_exact_addw(e, k, len, w), SL_OK);
		ref_add(&r, k, len, w);
		if (i % 5000 == 0)
			assert_int_equal(count_entries(dir), 0);
	}
	/* ties and prefixes: "", "a", "a\0", "ab", all with count 2 */
	const char *tk[] = {"", "a", "a\0", "ab"};
	size_t tl[] = {0, 1, 2, 2};
	for (int rep = 0; rep < 2; rep++)
		for (int i = 0; i < 4; i++) {
			assert_int_equal(sl_exact_add(e, tk[i], tl[i]), SL_OK);
			ref_add(&r, tk[i], tl[i], 1);
		}
	assert_int_equal(count_fds(), fds); /* no temporary file, not even unnamed */
	check(e, &r, 1000);		/* more than distinct: all rows */
	sl_xsort_stats st;
	sl_exact_stats(e, &st);
	assert_int_equal(st.temp_written, 0);
	assert_int_equal(st.runs, 0);
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(count_fds(), fds);
	assert_true(b.peak <= 1 << 20);
	sl_exact_free(e);
	assert_int_equal(b.used, 0);
	ref_free(&r);
	rmdir(dir);
	free(dir);
}

/* Zipf URLs with the smallest budget: many spills and merges. */
static void skewed_spills(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 2};
	char *dir = mkdir_tmp();
	sl_budget b;
	sl_budget_init(&b, SL_EXACT_MIN_BYTES);
	int fds = count_fds();
	sl_exact *e;
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
	zipf z;
	zipf_init(&z, 60000, 1.05);
	ref r = {0};
	char k[128];
	for (int i = 0; i < 300000; i++) {
		size_t len = url_key(k, zipf_draw(&z, &rng));
		assert_int_equal(sl_exact_add(e, k, len), SL_OK);
		ref_add(&r, k, len, 1);
	}
	check(e, &r, 400);	/* the rows leave room for fewer readers */
	sl_xsort_stats st;
	sl_exact_stats(e, &st);
	print_message("spills %llu, merges %llu, fan-in %u, temp written %llu, peak %llu\n",
		      (unsigned long long)st.runs, (unsigned long long)st.merges, st.fan_in,
		      (unsigned long long)st.temp_written, (unsigned long long)st.temp_peak);
	assert_true(st.runs > st.fan_in); /* more runs than one merge takes */
	assert_true(st.merges > 0);
	assert_true(st.temp_peak > 0 && st.temp_peak <= st.temp_written);
	assert_true(b.peak <= SL_EXACT_MIN_BYTES);
	sl_exact_free(e);
	assert_int_equal(b.used, 0);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(count_entries(dir), 0);

	/* more top rows than the slab holds: SL_EBUDGET, sticky, no figure */
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
	for (int i = 0; i < 30000; i++) {
		size_t len = url_key(k, (uint64_t)i);
		assert_int_equal(sl_exact_add(e, k, len), SL_OK);
	}
	assert_int_equal(sl_exact_finish(e, 100000), SL_EBUDGET);
	assert_int_equal(sl_exact_finish(e, 10), SL_EBUDGET);
	assert_int_equal(sl_exact_distinct(e), 0);
	sl_exact_free(e);
	assert_int_equal(b.used, 0);
	free(z.cdf);
	ref_free(&r);
	rmdir(dir);
	free(dir);
}

/* All keys distinct (every count 1: the top list is all ties, so it is the
 * smallest keys), random binary keys including empty and NUL bytes. */
static void all_distinct_ties(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 3};
	char *dir = mkdir_tmp();
	sl_budget b;
	sl_budget_init(&b, SL_EXACT_MIN_BYTES);
	sl_exact *e;
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
	ref r = {0};
	char k[64];
	for (uint64_t i = 0; i < 120000; i++) {
		/* a unique 8-byte id, placed after a random short prefix */
		size_t p = tu_below(&rng, 12);
		for (size_t j = 0; j < p; j++)
			k[j] = (char)tu_below(&rng, 3);
		memcpy(k + p, &i, 8);
		size_t len = p + 8;
		assert_int_equal(sl_exact_add(e, k, len), SL_OK);
		ref_add(&r, k, len, 1);
	}
	assert_int_equal(sl_exact_add(e, "", 0), SL_OK);
	ref_add(&r, "", 0, 1);
	check(e, &r, 40);
	sl_xsort_stats st;
	sl_exact_stats(e, &st);
	assert_true(st.merges > 0);
	assert_true(b.peak <= SL_EXACT_MIN_BYTES);
	sl_exact_free(e);
	assert_int_equal(b.used, 0);
	ref_free(&r);
	rmdir(dir);
	free(dir);
}

/* Keys up to SL_EXACT_KEY_MAX, many sharing their first 2 KiB (so the top
 * list's order depends on bytes past what it shows), forced to spill, at
 * max_bytes of 256 KiB and at SL_EXACT_MIN_BYTES. The budget is max_bytes:
 * a long record is merged within it (it used to be read back beyond it, and
 * a block that failed to load freed readers that were never set up). */
static void long_keys_at(size_t max_bytes, int n, size_t top_n, uint64_t salt)
{
	tu_rng rng = {seed ^ salt};
	char *dir = mkdir_tmp();
	sl_budget b;
	sl_budget_init(&b, max_bytes);
	sl_exact *e;
	assert_int_equal(sl_exact_new(&e, &b, max_bytes, dir), SL_OK);
	char *k = malloc(SL_EXACT_KEY_MAX);
	assert_non_null(k);
	memset(k, 'x', SL_EXACT_KEY_MAX);
	ref r = {0};
	for (int i = 0; i < n; i++) {
		uint64_t id = tu_below(&rng, 120);
		size_t len;
		switch (id % 4) {
		case 0: len = SL_EXACT_KEY_MAX - (id & 1); break;
		case 1: len = 2048 + id; break;
		case 2: len = SL_TOPK_VALUE_MAX + (id & 1); break;
		default: len = id; break;
		}
		if (len >= 2048 + 8)
			memcpy(k + 2048, &id, 8); /* differs after 2 KiB */
		else if (len >= 8)
			memcpy(k + len - 8, &id, 8);
		uint64_t w = id % 7 == 0 ? 5 : 1; /* ties in counts */
		assert_int_equal(sl_exact_addw(e, k, len, w), SL_OK);
		ref_add(&r, k, len, w);
		memset(k + (len >= 2048 + 8 ? 2048 : len >= 8 ? len - 8 : 0), 'x', 8);
	}
	check(e, &r, top_n);
	sl_xsort_stats st;
	sl_exact_stats(e, &st);
	print_message("max_bytes %zu: spills %llu, merges %llu, peak %zu\n", max_bytes,
		      (unsigned long long)st.runs, (unsigned long long)st.merges, b.peak);
	assert_true(st.runs > 1);
	assert_true(st.merges > 0);
	assert_true(b.peak <= max_bytes);
	sl_exact_free(e);
	assert_int_equal(b.used, 0);
	free(k);
	ref_free(&r);
	rmdir(dir);
	free(dir);
}

static void long_keys(void **state)
{
	(void)state;
	long_keys_at(256 * 1024, 1500, 60, 4);
	/* at the minimum the rows leave room for one reader: the runs are
	 * merged into one before the final pass */
	long_keys_at(SL_EXACT_MIN_BYTES, 800, 40, 14);
}

/* Two instances, one holding only short keys and runs, the other long
 * keys, merged both ways: the merged runs' readers must make room for the
 * longest key of either side. */
static void long_keys_merge(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 15};
	char *dir = mkdir_tmp();
	char *k = malloc(SL_EXACT_KEY_MAX);
	assert_non_null(k);
	for (int order = 0; order < 2; order++) {
		sl_budget b;
		sl_budget_init(&b, 2 * SL_EXACT_MIN_BYTES);
		sl_exact *shortk, *longk;
		assert_int_equal(sl_exact_new(&shortk, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
		assert_int_equal(sl_exact_new(&longk, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
		ref r = {0};
		for (int i = 0; i < 60000; i++) {
			size_t len = url_key(k, tu_below(&rng, 30000));
			assert_int_equal(sl_exact_add(shortk, k, len), SL_OK);
			ref_add(&r, k, len, 1);
		}
		for (int i = 0; i < 40; i++) {
			size_t len = SL_EXACT_KEY_MAX - tu_below(&rng, 3);
			memset(k, 'a' + (int)tu_below(&rng, 4), len);
			assert_int_equal(sl_exact_add(longk, k, len), SL_OK);
			ref_add(&r, k, len, 1);
		}
		sl_exact *dst = order ? longk : shortk, *src = order ? shortk : longk;
		assert_int_equal(sl_exact_merge(dst, src), SL_OK);
		check(dst, &r, 10);
		assert_true(b.peak <= 2 * SL_EXACT_MIN_BYTES);
		sl_exact_free(shortk);
		sl_exact_free(longk);
		assert_int_equal(b.used, 0);
		ref_free(&r);
	}
	free(k);
	rmdir(dir);
	free(dir);
}

/* One stream split over k instances (some spill, some not) merged into the
 * first, against the reference and against one instance fed everything. */
static void merge_k(int k, uint64_t salt)
{
	tu_rng rng = {seed ^ salt};
	char *dir = mkdir_tmp();
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	int fds = count_fds();
	sl_exact *part[7], *one;
	for (int i = 0; i < k; i++)
		assert_int_equal(sl_exact_new(&part[i], &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
	assert_int_equal(sl_exact_new(&one, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
	zipf z;
	zipf_init(&z, 30000, 1.1);
	ref r = {0};
	char key[128];
	for (int i = 0; i < 150000; i++) {
		/* instance j gets a share growing with j: the first stays in
		 * memory, the last spills many times */
		uint64_t u = tu_below(&rng, (uint64_t)k * (k + 1) / 2);
		int j = 0;
		while (u >= (uint64_t)j + 1) {
			u -= (uint64_t)j + 1;
			j++;
		}
		size_t len = url_key(key, zipf_draw(&z, &rng));
		uint64_t w = 1 + (i % 11 == 0);
		assert_int_equal(sl_exact_addw(part[j], key, len, w), SL_OK);
		assert_int_equal(sl_exact_addw(one, key, len, w), SL_OK);
		ref_add(&r, key, len, w);
	}
	sl_xsort_stats st0, stk;
	sl_exact_stats(part[0], &st0);
	sl_exact_stats(part[k - 1], &stk);
	assert_true(stk.runs > 0);
	for (int i = 1; i < k; i++) {
		assert_int_equal(sl_exact_merge(part[0], part[i]), SL_OK);
		/* src is left empty and reusable */
		assert_int_equal(sl_exact_finish(part[i], 5), SL_OK);
		assert_int_equal(sl_exact_distinct(part[i]), 0);
		assert_int_equal(sl_exact_total(part[i]), 0);
		sl_exact_free(part[i]);
	}
	check(part[0], &r, 30);
	check(one, &r, 30);
	sl_topk_row a[30], c[30];
	size_t na = sl_exact_top(part[0], a, 30), nc = sl_exact_top(one, c, 30);
	assert_int_equal(na, nc);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].count, c[i].count);
		assert_memory_equal(a[i].value, c[i].value, a[i].len);
	}
	assert_int_equal(sl_exact_distinct(part[0]), sl_exact_distinct(one));
	sl_exact_free(part[0]);
	sl_exact_free(one);
	assert_int_equal(b.used, 0);
	assert_int_equal(count_fds(), fds);
	free(z.cdf);
	ref_free(&r);
	rmdir(dir);
	free(dir);
}

static void merge_two(void **state)
{
	(void)state;
	merge_k(2, 5);
}

static void merge_seven(void **state)
{
	(void)state;
	merge_k(7, 6);
}

/* Merging into an instance that never spilled, from one that did, and into
 * one that did from one that did not. */
static void merge_mixed(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 7};
	char *dir = mkdir_tmp();
	sl_budget b;
	sl_budget_init(&b, 16 << 20);
	for (int order = 0; order < 2; order++) {
		sl_exact *big, *small;
		assert_int_equal(sl_exact_new(&big, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
		assert_int_equal(sl_exact_new(&small, &b, 1 << 20, dir), SL_OK);
		ref r = {0};
		char key[128];
		for (int i = 0; i < 40000; i++) {
			size_t len = url_key(key, tu_below(&rng, 20000));
			assert_int_equal(sl_exact_add(big, key, len), SL_OK);
			ref_add(&r, key, len, 1);
		}
		for (int i = 0; i < 3000; i++) {
			size_t len = url_key(key, tu_below(&rng, 50));
			assert_int_equal(sl_exact_add(small, key, len), SL_OK);
			ref_add(&r, key, len, 1);
		}
		sl_exact *dst = order ? small : big, *src = order ? big : small;
		assert_int_equal(sl_exact_merge(dst, src), SL_OK);
		assert_int_equal(sl_exact_merge(dst, dst), SL_EINVAL);
		check(dst, &r, 20);
		sl_exact_free(big);
		sl_exact_free(small);
		ref_free(&r);
	}
	assert_int_equal(b.used, 0);
	rmdir(dir);
	free(dir);
}

/* A 256 KiB tmpfs fills up: SL_EIO with ENOSPC, sticky, no figure, and
 * free gives the space back. */
static void enospc(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 8};
	char *dir = mkdir_tmp();
	if (mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
		rmdir(dir);
		free(dir);
		skip();
	}
	sl_budget b;
	sl_budget_init(&b, SL_EXACT_MIN_BYTES);
	sl_exact *e;
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES, dir), SL_OK);
	sl_status s = SL_OK;
	char k[64];
	for (uint64_t i = 0; i < 2000000 && s == SL_OK; i++) {
		/* incompressible distinct keys */
		uint64_t x[4] = {tu_next(&rng), tu_next(&rng), tu_next(&rng), i};
		memcpy(k, x, 32);
		s = sl_exact_add(e, k, 32);
	}
	if (s == SL_OK)
		s = sl_exact_finish(e, 10);
	assert_int_equal(s, SL_EIO);
	assert_int_equal(sl_exact_errno(e), ENOSPC);
	assert_int_equal(sl_exact_add(e, "a", 1), SL_EIO);	/* sticky */
	assert_int_equal(sl_exact_finish(e, 10), SL_EIO);
	assert_int_equal(sl_exact_distinct(e), 0);
	assert_int_equal(sl_exact_total(e), 0);
	sl_topk_row row;
	assert_int_equal(sl_exact_top(e, &row, 1), 0);
	struct statvfs sv;
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_true(sv.f_bfree < sv.f_blocks);	/* the file holds the space */
	sl_exact_free(e);
	assert_int_equal(b.used, 0);
	assert_int_equal(statvfs(dir, &sv), 0);
	assert_int_equal(sv.f_bfree, sv.f_blocks);
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(umount(dir), 0);
	rmdir(dir);
	free(dir);
}

static void budget_and_oom(void **state)
{
	(void)state;
	sl_budget b;
	sl_exact *e = (sl_exact *)&b;
	sl_budget_init(&b, 1 << 20);
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES - 1, "/tmp"), SL_EBUDGET);
	assert_null(e);
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES, NULL), SL_EINVAL);
	/* the budget refuses part-way: nothing held */
	sl_budget_init(&b, SL_EXACT_MIN_BYTES / 2);
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES, "/tmp"), SL_ENOMEM);
	assert_int_equal(b.used, 0);
	for (long allow = 0; allow < 6; allow++) {
		tu_fail_state fs = {.allow = allow};
		sl_budget_init(&b, 1 << 20);
		sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
		sl_status s = sl_exact_new(&e, &b, 1 << 20, "/tmp");
		if (s == SL_OK) {
			sl_exact_free(e);
		} else {
			assert_int_equal(s, SL_ENOMEM);
			assert_null(e);
		}
		assert_int_equal(b.used, 0);
	}
	sl_exact_free(NULL);
}

static void call_order(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_exact *e, *f;
	assert_int_equal(sl_exact_new(&e, &b, SL_EXACT_MIN_BYTES, "/tmp"), SL_OK);
	assert_int_equal(sl_exact_new(&f, &b, SL_EXACT_MIN_BYTES, "/tmp"), SL_OK);
	static char big[SL_EXACT_KEY_MAX + 1];
	assert_int_equal(sl_exact_add(e, big, sizeof big), SL_EINVAL); /* not sticky */
	assert_int_equal(sl_exact_add(e, big, SL_EXACT_KEY_MAX), SL_OK);
	assert_int_equal(sl_exact_addw(e, "z", 1, 0), SL_OK);	/* no-op */
	assert_int_equal(sl_exact_distinct(e), 0);	/* before finish */
	assert_int_equal(sl_exact_finish(e, 3), SL_OK);
	assert_int_equal(sl_exact_distinct(e), 1);
	assert_int_equal(sl_exact_total(e), 1);
	sl_topk_row row[3];
	assert_int_equal(sl_exact_top(e, row, 3), 1);
	assert_true(row[0].truncated);
	assert_int_equal(row[0].len, SL_TOPK_VALUE_MAX);
	assert_int_equal(sl_exact_add(e, "a", 1), SL_EINVAL);
	assert_int_equal(sl_exact_finish(e, 3), SL_EINVAL);
	assert_int_equal(sl_exact_merge(f, e), SL_EINVAL);
	assert_int_equal(sl_exact_merge(e, f), SL_EINVAL);
	assert_int_equal(sl_exact_finish(f, 0), SL_OK);	/* empty */
	assert_int_equal(sl_exact_distinct(f), 0);
	assert_int_equal(sl_exact_top(f, row, 3), 0);
	sl_exact_free(e);
	sl_exact_free(f);
	assert_int_equal(b.used, 0);
}

int main(void)
{
	seed = tu_seed("exact", 20240611);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_never_spills),
		cmocka_unit_test(skewed_spills),
		cmocka_unit_test(all_distinct_ties),
		cmocka_unit_test(long_keys),
		cmocka_unit_test(long_keys_merge),
		cmocka_unit_test(merge_two),
		cmocka_unit_test(merge_seven),
		cmocka_unit_test(merge_mixed),
		cmocka_unit_test(enospc),
		cmocka_unit_test(budget_and_oom),
		cmocka_unit_test(call_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
