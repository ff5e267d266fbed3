/*
 * test_xsort.c: the external sort against a naive in-memory reference.
 *
 * The reference keeps every record in a plain array and sorts it with qsort
 * using comparisons written here from GNU sort's documented rules (fields,
 * -n through strtod on the numeric prefix, last resort, input order for
 * ties), then applies -u by dropping records whose key equals the previous
 * kept one. Inputs are seeded random mixes of empty, blank-led, numeric,
 * binary and very long records; budgets are cut down with run_bytes and
 * fan_in so that runs are many and merges go several levels deep. After each
 * sort the private temporary directory must be empty.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t seed;
static char tmpdir[64];

typedef struct {
	char *p;
	size_t n;
	size_t idx;	/* input order */
} rec;

/* ---- the reference -------------------------------------------------------- */

static sl_xsort_opts ropts;

static int isblank_ref(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* The key of r: field N to the end, counting fields by hand. */
static void ref_key(const rec *r, const char **k, size_t *kn)
{
	size_t i = 0;
	if (ropts.key_field > 1) {
		for (uint32_t f = 1; f < ropts.key_field && i < r->n; f++) {
			if (ropts.separator == SL_XSORT_BLANKS) {
				while (i < r->n && isblank_ref((unsigned char)r->p[i]))
					i++;
				while (i < r->n && !isblank_ref((unsigned char)r->p[i]))
					i++;
			} else {
				while (i < r->n && r->p[i] != (char)ropts.separator)
					i++;
				if (i < r->n)
					i++;
			}
		}
	}
	*k = r->p + i;
	*kn = r->n - i;
}

/* Numbers in these tests have few significant digits, so a double
 * holds them exactly enough to order them. */
static double ref_num(const char *k, size_t n)
{
	char buf[64];
	size_t i = 0, j = 0;
	while (i < n && isblank_ref((unsigned char)k[i]))
		i++;
	if (i < n && k[i] == '-')
		buf[j++] = k[i++];
	/* GNU sort (C locale) skips byte 0x80 in the integer part: its
	 * "no thousands separator" value is CHAR_MAX + 1. */
	while (i < n && ((k[i] >= '0' && k[i] <= '9') || k[i] == '\x80') && j < 40) {
		if (k[i] != '\x80')
			buf[j++] = k[i];
		i++;
	}
	if (i < n && k[i] == '.') {
		buf[j++] = k[i++];
		while (i < n && k[i] >= '0' && k[i] <= '9' && j < 60)
			buf[j++] = k[i++];
	}
	buf[j] = '\0';
	char *end;
	double v = strtod(buf, &end);
	return end == buf ? 0 : v;
}

static int ref_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	for (size_t i = 0; i < m; i++)
		if (a[i] != b[i])
			return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

static int ref_keycmp(const rec *a, const rec *b)
{
	if (ropts.cmp)
		return ropts.cmp(ropts.cmp_ud, a->p, a->n, b->p, b->n);
	const char *ka, *kb;
	size_t an, bn;
	ref_key(a, &ka, &an);
	ref_key(b, &kb, &bn);
	if (ropts.numeric) {
		double x = ref_num(ka, an), y = ref_num(kb, bn);
		return x < y ? -1 : x > y;
	}
	return ref_bytes(ka, an, kb, bn);
}

static int ref_cmp(const void *pa, const void *pb)
{
	const rec *a = pa, *b = pb;
	int c = ref_keycmp(a, b);
	int keyed = ropts.key_field > 1 || ropts.numeric || ropts.cmp;
	if (c == 0 && keyed && !ropts.stable && !ropts.unique)
		c = ref_bytes(a->p, a->n, b->p, b->n);
	if (ropts.reverse)
		c = -c;
	if (c == 0)
		c = a->idx < b->idx ? -1 : a->idx > b->idx;
	return c;
}

/* Sorts recs (n) as the reference; returns the number kept. */
static size_t ref_sort(rec *recs, size_t n)
{
	qsort(recs, n, sizeof *recs, ref_cmp);
	if (!ropts.unique || n == 0)
		return n;
	size_t m = 1;
	for (size_t i = 1; i < n; i++)
		if (ref_keycmp(&recs[m - 1], &recs[i]) != 0)
			recs[m++] = recs[i];
	return m;
}

/* ---- inputs ---------------------------------------------------------------- */

static char *gen_record(tu_rng *r, size_t *len, size_t longest)
{
	static const char *words[] = {"a", "b", "A", "ab", "aa", "-", "0", "x y"};
	size_t cap = 64 + longest, n = 0;
	char *p = malloc(cap);
	assert_non_null(p);
	switch (tu_below(r, 8)) {
	case 0: /* empty */
		break;
	case 1: /* very long */
		n = longest / 2 + tu_below(r, longest / 2);
		for (size_t i = 0; i < n; i++)
			p[i] = (char)('a' + tu_below(r, 3));
		break;
	case 2:
	case 3: { /* numbers with blanks, signs and decimals, then words */
		n = (size_t)snprintf(p, cap, "%.*s%s%llu%s%s",
				     (int)tu_below(r, 3), "\t  ",
				     tu_below(r, 3) == 0 ? "-" : "",
				     (unsigned long long)tu_below(r, 60),
				     (const char *[]){"", ".5", ".50", ".05", ".",
						      ""}[tu_below(r, 6)],
				     (const char *[]){"", " a", " b 7", ",3"}[tu_below(r, 4)]);
		break;
	}
	case 4:
	case 5: /* words separated by blanks or commas */
		for (uint64_t w = tu_below(r, 5); w > 0; w--) {
			const char *s = words[tu_below(r, 8)];
			size_t sl = strlen(s);
			memcpy(p + n, s, sl);
			n += sl;
			p[n++] = " \t,"[tu_below(r, 3)];
		}
		break;
	default: /* arbitrary bytes, newlines and NULs included */
		n = tu_below(r, 40);
		for (size_t i = 0; i < n; i++)
			p[i] = (char)tu_below(r, 256);
		break;
	}
	*len = n;
	return p;
}

static size_t count_tmp_files(void)
{
	DIR *d = opendir(tmpdir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* True when got[0..gn) equals the reference's records (the checker). */
static int same_output(char **got, size_t *glen, size_t gn, const rec *want, size_t wn)
{
	if (gn != wn)
		return 0;
	for (size_t i = 0; i < gn; i++)
		if (glen[i] != want[i].n || memcmp(got[i], want[i].p, glen[i]))
			return 0;
	return 1;
}

/* Sorts n random records with opts through xsort and the reference. */
static void check_case(tu_rng *r, const sl_xsort_opts *opts, size_t n,
		       size_t max_bytes, size_t longest, int expect_spill)
{
	sl_budget b;
	sl_budget_init(&b, max_bytes + (size_t)16 * longest + (1 << 20));
	rec *recs = calloc(n ? n : 1, sizeof *recs);
	char **got = calloc(n ? n : 1, sizeof *got);
	size_t *glen = calloc(n ? n : 1, sizeof *glen);
	assert_true(recs && got && glen);
	sl_xsort *xs;
	assert_int_equal(sl_xsort_new(&xs, &b, max_bytes, opts, tmpdir), SL_OK);
	assert_true(b.used <= max_bytes);
	for (size_t i = 0; i < n; i++) {
		recs[i].p = gen_record(r, &recs[i].n, longest);
		recs[i].idx = i;
		assert_int_equal(sl_xsort_add(xs, recs[i].p, recs[i].n), SL_OK);
	}
	assert_int_equal(sl_xsort_finish(xs), SL_OK);
	assert_int_equal(count_tmp_files(), 0); /* the run file has no name */
	size_t gn = 0;
	for (;;) {
		const char *p;
		size_t len;
		assert_int_equal(sl_xsort_next(xs, &p, &len), SL_OK);
		if (!p)
			break;
		assert_true(gn < n);
		got[gn] = malloc(len + 1);
		memcpy(got[gn], p, len);
		glen[gn++] = len;
	}
	sl_xsort_stats st;
	sl_xsort_stats_get(xs, &st);
	assert_int_equal(st.records, n);
	if (expect_spill) {
		assert_true(st.runs > (uint64_t)st.fan_in); /* merges were needed */
		assert_true(st.merges > 0);
		assert_true(st.temp_written > 0 && st.temp_peak > 0);
		assert_true(st.temp_peak <= st.temp_written);
	}
	if (!st.runs)
		assert_int_equal(st.temp_written, 0);
	sl_xsort_free(xs);
	assert_int_equal(b.used, 0);
	assert_int_equal(count_tmp_files(), 0);

	char **owned = calloc(n ? n : 1, sizeof *owned);
	assert_non_null(owned);
	for (size_t i = 0; i < n; i++)
		owned[i] = recs[i].p;
	ropts = *opts;
	size_t wn = ref_sort(recs, n);
	if (!same_output(got, glen, gn, recs, wn)) {
		size_t i = 0;
		while (i < gn && i < wn && glen[i] == recs[i].n &&
		       !memcmp(got[i], recs[i].p, glen[i]))
			i++;
		fail_msg("mismatch at record %zu of %zu (want %zu): key_field %u "
			 "sep %d n%d r%d u%d s%d", i, gn, wn, opts->key_field,
			 opts->separator, opts->numeric, opts->reverse, opts->unique,
			 opts->stable);
	}
	/* The checker can fail: a changed byte or a dropped record is seen. */
	if (gn > 1) {
		assert_false(same_output(got, glen, gn - 1, recs, wn));
		size_t i = gn / 2;
		if (glen[i]) {
			got[i][0] ^= 1;
			assert_false(same_output(got, glen, gn, recs, wn));
		}
	}
	for (size_t i = 0; i < gn; i++)
		free(got[i]);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(owned);
	free(recs);
	free(got);
	free(glen);
}

static const sl_xsort_opts matrix[] = {
	{.separator = SL_XSORT_BLANKS},
	{.separator = SL_XSORT_BLANKS, .reverse = true},
	{.separator = SL_XSORT_BLANKS, .unique = true},
	{.separator = SL_XSORT_BLANKS, .unique = true, .reverse = true},
	{.separator = SL_XSORT_BLANKS, .numeric = true},
	{.separator = SL_XSORT_BLANKS, .numeric = true, .reverse = true},
	{.separator = SL_XSORT_BLANKS, .numeric = true, .unique = true},
	{.separator = SL_XSORT_BLANKS, .numeric = true, .stable = true, .reverse = true},
	{.separator = SL_XSORT_BLANKS, .key_field = 2},
	{.separator = SL_XSORT_BLANKS, .key_field = 2, .stable = true},
	{.separator = SL_XSORT_BLANKS, .key_field = 2, .reverse = true, .stable = true},
	{.separator = SL_XSORT_BLANKS, .key_field = 3, .unique = true},
	{.separator = SL_XSORT_BLANKS, .key_field = 2, .numeric = true},
	{.separator = ',', .key_field = 2},
	{.separator = ',', .key_field = 2, .numeric = true, .unique = true, .reverse = true},
	{.separator = ' ', .key_field = 3, .reverse = true},
};

/* Tiny runs and fan-in 2..4: hundreds of runs, merges several levels deep,
 * records longer than both the chunk and the run buffer. */
static void many_runs(void **state)
{
	(void)state;
	tu_rng r = {seed};
	for (size_t i = 0; i < sizeof matrix / sizeof *matrix; i++) {
		sl_xsort_opts o = matrix[i];
		o.run_bytes = 2048 + 1024 * (i % 3);
		o.fan_in = 2 + (uint32_t)(i % 3);
		check_case(&r, &o, 1500, SL_XSORT_MIN_BYTES, 5000, 1);
	}
}

/* Everything fits: sorted in memory, nothing written. */
static void in_memory(void **state)
{
	(void)state;
	tu_rng r = {seed + 1};
	for (size_t i = 0; i < sizeof matrix / sizeof *matrix; i++)
		check_case(&r, &matrix[i], 1000, 1 << 20, 300, 0);
}

/* The automatic sizes at the minimum budget, with records longer than the
 * whole run buffer (written as runs of their own). */
static void auto_sizes(void **state)
{
	(void)state;
	tu_rng r = {seed + 2};
	sl_xsort_opts o = {.separator = SL_XSORT_BLANKS};
	check_case(&r, &o, 300, SL_XSORT_MIN_BYTES, 200000, 0);
	o.unique = true;
	o.key_field = 2;
	check_case(&r, &o, 300, SL_XSORT_MIN_BYTES, 200000, 0);
	check_case(&r, &o, 0, SL_XSORT_MIN_BYTES, 10, 0);
}

static int fold_cmp(void *ud, const char *a, size_t an, const char *b, size_t bn)
{
	(void)ud;
	size_t m = an < bn ? an : bn;
	for (size_t i = 0; i < m; i++) {
		int x = a[i] | 0x20, y = b[i] | 0x20;
		if (x != y)
			return x - y;
	}
	return an < bn ? -1 : an > bn;
}

/* A pluggable comparator (as dedup and distinct counting use it). */
static void custom_comparator(void **state)
{
	(void)state;
	tu_rng r = {seed + 3};
	sl_xsort_opts o = {.separator = SL_XSORT_BLANKS, .cmp = fold_cmp,
			   .run_bytes = 2048, .fan_in = 3};
	check_case(&r, &o, 1500, SL_XSORT_MIN_BYTES, 3000, 1);
	o.unique = true;
	check_case(&r, &o, 1500, SL_XSORT_MIN_BYTES, 3000, 1);
}

static void errors_and_order(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_xsort *xs;
	sl_xsort_opts bad = {.separator = 300};
	assert_int_equal(sl_xsort_new(&xs, &b, SL_XSORT_MIN_BYTES - 1, NULL, tmpdir),
			 SL_EBUDGET);
	assert_null(xs);
	assert_int_equal(sl_xsort_new(&xs, &b, SL_XSORT_MIN_BYTES, &bad, tmpdir),
			 SL_EINVAL);
	assert_int_equal(sl_xsort_new(&xs, &b, 2 << 20, NULL, tmpdir), SL_ENOMEM);
	assert_int_equal(b.used, 0);
	assert_int_equal(sl_xsort_new(&xs, &b, SL_XSORT_MIN_BYTES, NULL, tmpdir), SL_OK);
	const char *p;
	size_t n;
	assert_int_equal(sl_xsort_next(xs, &p, &n), SL_EINVAL);
	assert_int_equal(sl_xsort_add(xs, "b", 1), SL_OK);
	assert_int_equal(sl_xsort_add(xs, "a", 1), SL_OK);
	assert_int_equal(sl_xsort_finish(xs), SL_OK);
	assert_int_equal(sl_xsort_add(xs, "c", 1), SL_EINVAL);
	assert_int_equal(sl_xsort_finish(xs), SL_EINVAL);
	assert_int_equal(sl_xsort_next(xs, &p, &n), SL_OK);
	assert_true(n == 1 && *p == 'a');
	assert_int_equal(sl_xsort_next(xs, &p, &n), SL_OK);
	assert_true(n == 1 && *p == 'b');
	assert_int_equal(sl_xsort_next(xs, &p, &n), SL_OK);
	assert_null(p);
	assert_int_equal(sl_xsort_next(xs, &p, &n), SL_OK);
	assert_null(p);
	sl_xsort_free(xs);
	sl_xsort_free(NULL);
	assert_int_equal(b.used, 0);

	/* A temporary directory that does not exist fails at the first spill
	 * with SL_EIO and the errno, and stays failed. */
	sl_xsort_opts o = {.separator = SL_XSORT_BLANKS, .run_bytes = 1024};
	assert_int_equal(sl_xsort_new(&xs, &b, SL_XSORT_MIN_BYTES, &o,
				      "/nonexistent/xsort"), SL_OK);
	sl_status s = SL_OK;
	for (int i = 0; i < 200 && s == SL_OK; i++)
		s = sl_xsort_add(xs, "0123456789", 10);
	assert_int_equal(s, SL_EIO);
	assert_int_equal(sl_xsort_errno(xs), ENOENT);
	assert_int_equal(sl_xsort_finish(xs), SL_EIO);
	sl_xsort_free(xs);
	assert_int_equal(b.used, 0);
}

/* Every allocation of sl_xsort_new failing in turn: SL_ENOMEM, nothing held. */
static void out_of_memory(void **state)
{
	(void)state;
	for (long allow = 0;; allow++) {
		sl_budget b;
		tu_fail_state fs = {.allow = allow};
		sl_budget_init(&b, 1 << 20);
		sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
		sl_xsort *xs;
		sl_status s = sl_xsort_new(&xs, &b, SL_XSORT_MIN_BYTES, NULL, tmpdir);
		if (s == SL_OK) {
			assert_int_equal(fs.failures, 0);
			sl_xsort_free(xs);
			assert_int_equal(b.used, 0);
			assert_true(allow > 5);
			break;
		}
		assert_int_equal(s, SL_ENOMEM);
		assert_null(xs);
		assert_int_equal(b.used, 0);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/xsort-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	seed = tu_seed("test_xsort", 20240601);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(errors_and_order),
		cmocka_unit_test(out_of_memory),
		cmocka_unit_test(in_memory),
		cmocka_unit_test(many_runs),
		cmocka_unit_test(auto_sizes),
		cmocka_unit_test(custom_comparator),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
