/*
 * test_dedup.c: sl_dedup (lib/spill/dedup.c) against a naive reference: a plain
 * chained hash set of malloc'd key strings that keeps the first line of each
 * key in input order, with its own field splitter.
 *
 * Seeded random inputs with many duplicates: empty lines, blanks, NUL and
 * high bytes, separators, lines longer than the sorter's chunk and longer
 * than the set's whole share. Budgets from large (all in memory) down to
 * SL_DEDUP_MIN_BYTES (the spill path), whole lines and key fields. Checked:
 * the output byte for byte, the stats, the memory peak, that the temporary
 * directory is empty afterwards, the call order, allocation failures at
 * every step (each either succeeds with the right output or fails with
 * SL_ENOMEM and leaks nothing), and the approximate mode (no duplicate is
 * ever passed; the wrongly dropped lines are within the stated bound).
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t seed;
static char tmpdir[64];

typedef struct {
	const char *p;
	size_t n;
} line;

/* ---- the reference ---------------------------------------------------- */

/* Field `field` (1-based) of l: sep < 0 awk's default (blanks: space, tab,
 * newline), else each sep byte separates. Written differently from the
 * library on purpose: collect every field, then pick. */
static line ref_key(line l, uint32_t field, int sep)
{
	if (field == 0)
		return l;
	size_t starts[4096], ends[4096], nf = 0;
	if (sep < 0) {
		int in = 0;
		for (size_t i = 0; i <= l.n && nf < 4096; i++) {
			int blank = i == l.n || l.p[i] == ' ' || l.p[i] == '\t' || l.p[i] == '\n';
			if (!blank && !in) {
				starts[nf] = i;
				in = 1;
			} else if (blank && in) {
				ends[nf++] = i;
				in = 0;
			}
		}
	} else {
		if (l.n > 0) {
			size_t s = 0;
			for (size_t i = 0; i <= l.n && nf < 4096; i++) {
				if (i == l.n || (unsigned char)l.p[i] == sep) {
					starts[nf] = s;
					ends[nf++] = i;
					s = i + 1;
				}
			}
		}
	}
	if (field > nf)
		return (line){"", 0};
	return (line){l.p + starts[field - 1], ends[field - 1] - starts[field - 1]};
}

typedef struct node {
	struct node *next;
	size_t n;
	char k[];
} node;

/* Indexes of the lines awk '!seen[key]++' prints. */
static size_t *reference(const line *in, size_t n, uint32_t field, int sep, size_t *nout)
{
	size_t nb = 1 << 16;
	node **tab = calloc(nb, sizeof *tab);
	size_t *out = malloc((n + 1) * sizeof *out), k = 0;
	assert_non_null(tab);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		line key = ref_key(in[i], field, sep);
		uint64_t h = 1469598103934665603ULL; /* FNV-1a */
		for (size_t j = 0; j < key.n; j++)
			h = (h ^ (unsigned char)key.p[j]) * 1099511628211ULL;
		node **slot = &tab[h % nb], *e;
		for (e = *slot; e; e = e->next)
			if (e->n == key.n && memcmp(e->k, key.p, key.n) == 0)
				break;
		if (e)
			continue;
		e = malloc(sizeof *e + key.n + 1);
		assert_non_null(e);
		e->n = key.n;
		memcpy(e->k, key.p, key.n);
		e->next = *slot;
		*slot = e;
		out[k++] = i;
	}
	for (size_t i = 0; i < nb; i++)
		for (node *e = tab[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(tab);
	*nout = k;
	return out;
}

/* ---- inputs --------------------------------------------------------- */

typedef struct {
	char *buf;
	line *lines;
	size_t n;
	line *pool;
	size_t npool;
} input;

/* npool distinct-ish lines (duplicates in the pool are fine), then n lines
 * drawn from it with a skew, so most lines repeat. long_every: one pool line
 * in long_every is 5..40 KiB (0: none); huge: one line of huge bytes. */
static input make_input(tu_rng *r, size_t npool, size_t n, size_t long_every, size_t huge)
{
	input in = {0};
	size_t cap = npool * 80 + huge + 64, len = 0;
	if (long_every)
		cap += npool / long_every * 41000 + 41000;
	in.buf = malloc(cap);
	in.pool = malloc(npool * sizeof *in.pool);
	in.lines = malloc(n * sizeof *in.lines);
	assert_non_null(in.buf);
	static const char *words[] = {"GET", "/a", "/b?x=1", "200", "404", "-", "x", "é"};
	for (size_t i = 0; i < npool; i++) {
		char *p = in.buf + len;
		size_t m = 0;
		if (huge && i == npool / 2) {
			for (; m < huge; m++)
				p[m] = (char)('a' + tu_below(r, 3));
		} else if (long_every && tu_below(r, long_every) == 0) {
			size_t want = 5000 + tu_below(r, 35000);
			for (; m < want; m++)
				p[m] = (char)('a' + tu_below(r, 2));
		} else {
			switch (tu_below(r, 8)) {
			case 0: /* empty, or only blanks */
				for (size_t j = tu_below(r, 3); j; j--)
					p[m++] = " \t"[tu_below(r, 2)];
				break;
			case 1: /* raw bytes, NUL and high bytes included */
				for (size_t j = tu_below(r, 24); j; j--) {
					char c = (char)tu_below(r, 256);
					p[m++] = c == '\n' ? 'n' : c;
				}
				break;
			default: /* fields: words, blanks, commas */
				for (size_t j = 1 + tu_below(r, 5); j; j--) {
					if (tu_below(r, 3) == 0)
						p[m++] = " \t,"[tu_below(r, 3)];
					const char *w = words[tu_below(r, 8)];
					memcpy(p + m, w, strlen(w));
					m += strlen(w);
					m += (size_t)sprintf(p + m, "%u", (unsigned)tu_below(r, 50));
					p[m++] = " ,\t,"[tu_below(r, 4)];
				}
				break;
			}
		}
		in.pool[i] = (line){p, m};
		len += m;
	}
	in.npool = npool;
	for (size_t i = 0; i < n; i++) {
		/* skewed: half the draws from the first tenth of the pool */
		size_t j = tu_below(r, 2) ? tu_below(r, npool / 10 + 1) : tu_below(r, npool);
		in.lines[i] = in.pool[j < npool ? j : npool - 1];
	}
	in.n = n;
	return in;
}

static void free_input(input *in)
{
	free(in->buf);
	free(in->pool);
	free(in->lines);
}

static size_t dir_entries(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* ---- running the library ---------------------------------------------- */

typedef struct {
	line *out;	/* points into the input, or copies (deferred lines) */
	size_t *idx;	/* input index of out[i]; SIZE_MAX when deferred */
	char **copies;
	size_t n, ncopies;
	sl_dedup_stats st;
} result;

static void free_result(result *res)
{
	for (size_t i = 0; i < res->ncopies; i++)
		free(res->copies[i]);
	free(res->copies);
	free(res->out);
	free(res->idx);
}

/* Runs the dedup; returns the status of the first failing call. */
static sl_status run_dedup(sl_budget *b, size_t max_bytes, const sl_dedup_opts *o,
			   const input *in, result *res)
{
	memset(res, 0, sizeof *res);
	res->out = malloc((in->n + 1) * sizeof *res->out);
	res->copies = malloc((in->n + 1) * sizeof *res->copies);
	res->idx = malloc((in->n + 1) * sizeof *res->idx);
	sl_dedup *d;
	sl_status s = sl_dedup_new(&d, b, max_bytes, o, tmpdir);
	if (s) {
		assert_null(d);
		return s;
	}
	for (size_t i = 0; i < in->n; i++) {
		bool print;
		if ((s = sl_dedup_add(d, in->lines[i].p, in->lines[i].n, &print)))
			goto out;
		if (print) {
			res->idx[res->n] = i;
			res->out[res->n++] = in->lines[i];
		}
	}
	if ((s = sl_dedup_finish(d)))
		goto out;
	for (;;) {
		const char *p;
		size_t n;
		if ((s = sl_dedup_next(d, &p, &n)))
			goto out;
		if (!p)
			break;
		char *c = malloc(n + 1);
		memcpy(c, p, n);
		res->copies[res->ncopies++] = c;
		res->idx[res->n] = SIZE_MAX;
		res->out[res->n++] = (line){c, n};
	}
	/* after the end, the end again */
	const char *p;
	size_t n;
	assert_int_equal(sl_dedup_next(d, &p, &n), SL_OK);
	assert_null(p);
out:
	sl_dedup_stats_get(d, &res->st);
	sl_dedup_free(d);
	return s;
}

/* True when res holds exactly the reference lines (the checker). */
static bool same_output(const result *res, const input *in, const size_t *ref, size_t nref)
{
	if (res->n != nref)
		return false;
	for (size_t i = 0; i < nref; i++) {
		line a = res->out[i], e = in->lines[ref[i]];
		if (a.n != e.n || memcmp(a.p, e.p, a.n))
			return false;
	}
	return true;
}

static void check(const input *in, size_t max_bytes, uint32_t field, int sep,
		  int expect_spill, bool check_peak)
{
	size_t nref;
	size_t *ref = reference(in->lines, in->n, field, sep, &nref);
	sl_budget b;
	sl_budget_init(&b, SIZE_MAX);
	sl_dedup_opts o = {field, sep, 0};
	result res;
	assert_int_equal(run_dedup(&b, max_bytes, &o, in, &res), SL_OK);
	if (!same_output(&res, in, ref, nref))
		fail_msg("output differs (max_bytes %zu, field %u, sep %d): %zu lines, "
			 "expected %zu", max_bytes, field, sep, res.n, nref);
	assert_int_equal(res.st.lines, in->n);
	assert_int_equal(res.st.printed, nref);
	assert_int_equal(res.st.dropped, in->n - nref);
	if (expect_spill >= 0)
		assert_int_equal(res.st.spilled, expect_spill);
	if (res.st.spilled)
		assert_true(res.st.temp_written > 0 || res.st.spilled_lines < 5000);
	else
		assert_int_equal(res.st.temp_written, 0);
	if (check_peak && b.peak > max_bytes)
		fail_msg("peak %zu over max_bytes %zu", b.peak, max_bytes);
	assert_int_equal(b.used, 0);
	assert_int_equal(dir_entries(tmpdir), 0);
	printf("  max_bytes %zu field %u sep %d: %zu lines -> %zu, spilled %d (%llu lines, "
	       "%llu temp bytes), peak %zu\n", max_bytes, field, sep, in->n, nref,
	       (int)res.st.spilled, (unsigned long long)res.st.spilled_lines,
	       (unsigned long long)res.st.temp_written, b.peak);
	free_result(&res);
	free(ref);
}

/* ---- tests ------------------------------------------------------------ */

/* The checker can fail: a wrong output is told apart. */
static void checker_fails(void **state)
{
	(void)state;
	tu_rng r = {seed};
	input in = make_input(&r, 50, 400, 0, 0);
	size_t nref;
	size_t *ref = reference(in.lines, in.n, 0, -1, &nref);
	result res = {0};
	res.out = malloc((in.n + 1) * sizeof *res.out);
	for (size_t i = 0; i < nref; i++)
		res.out[res.n++] = in.lines[ref[i]];
	assert_true(same_output(&res, &in, ref, nref));
	line t = res.out[0];
	res.out[0] = res.out[1];
	res.out[1] = t; /* order matters */
	assert_false(same_output(&res, &in, ref, nref));
	res.n--;
	assert_false(same_output(&res, &in, ref, nref));
	free(res.out);
	free(ref);
	/* the reference keeps first occurrences only */
	line l[] = {{"a b", 3}, {"c b", 3}, {"a b", 3}, {" a", 2}};
	ref = reference(l, 4, 0, -1, &nref);
	assert_int_equal(nref, 3);
	free(ref);
	ref = reference(l, 4, 2, -1, &nref); /* key "b", "b", "b", "" */
	assert_int_equal(nref, 2);
	assert_int_equal(ref[1], 3);
	free(ref);
	free_input(&in);
}

static void in_memory(void **state)
{
	(void)state;
	tu_rng r = {seed + 1};
	input in = make_input(&r, 3000, 15000, 0, 0);
	check(&in, 8 << 20, 0, -1, 0, true);
	check(&in, 8 << 20, 2, -1, 0, true);
	check(&in, 8 << 20, 1, ',', 0, true);
	check(&in, 8 << 20, 3, '\t', 0, true);
	free_input(&in);
}

static void spill(void **state)
{
	(void)state;
	tu_rng r = {seed + 2};
	/* ~14000 distinct lines of ~40 bytes: about 560 KiB of keys, twice
	 * the set's share at the minimum budget. */
	input in = make_input(&r, 14000, 35000, 0, 0);
	check(&in, SL_DEDUP_MIN_BYTES, 0, -1, 1, true);
	check(&in, SL_DEDUP_MIN_BYTES + 100000, 0, -1, -1, true);
	check(&in, SL_DEDUP_MIN_BYTES, 2, -1, -1, true);
	check(&in, SL_DEDUP_MIN_BYTES, 1, ',', -1, true);
	check(&in, 64 << 20, 0, -1, 0, true);
	free_input(&in);
}

static void long_lines(void **state)
{
	(void)state;
	tu_rng r = {seed + 3};
	/* Lines of 5..40 KiB (over the first sorter's chunk) and one line
	 * longer than the set's whole share. */
	input in = make_input(&r, 1500, 6000, 40, 400000);
	check(&in, SL_DEDUP_MIN_BYTES, 0, -1, 1, false);
	check(&in, SL_DEDUP_MIN_BYTES, 2, ',', -1, false);
	check(&in, 32 << 20, 0, -1, 0, false);
	free_input(&in);
}

static void edge_inputs(void **state)
{
	(void)state;
	/* no lines at all */
	input in = {0};
	in.lines = malloc(sizeof *in.lines);
	check(&in, SL_DEDUP_MIN_BYTES, 0, -1, 0, true);
	free(in.lines);
	/* only empty lines, then keys beyond the last field */
	line l[] = {{"", 0}, {"", 0}, {"a", 1}, {"", 0}, {"a  b", 4}, {"a\tc", 3}};
	in.lines = l;
	in.n = 6;
	check(&in, SL_DEDUP_MIN_BYTES, 0, -1, 0, true);
	check(&in, SL_DEDUP_MIN_BYTES, 2, -1, 0, true);
	check(&in, SL_DEDUP_MIN_BYTES, 3, -1, 0, true);
	check(&in, SL_DEDUP_MIN_BYTES, 2, 'a', 0, true);
	check(&in, SL_DEDUP_MIN_BYTES, 1, 0, 0, true);
}

static void call_order_and_args(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, SIZE_MAX);
	sl_dedup *d;
	sl_dedup_opts bad_sep = {1, 256, 0}, bad_rate = {0, -1, 1.5}, neg = {0, -1, -0.1};
	assert_int_equal(sl_dedup_new(&d, &b, 1 << 20, &bad_sep, tmpdir), SL_EINVAL);
	assert_int_equal(sl_dedup_new(&d, &b, 1 << 20, &bad_rate, tmpdir), SL_EINVAL);
	assert_int_equal(sl_dedup_new(&d, &b, 1 << 20, &neg, tmpdir), SL_EINVAL);
	assert_int_equal(sl_dedup_new(&d, &b, 1 << 20, NULL, NULL), SL_EINVAL);
	assert_int_equal(sl_dedup_new(&d, &b, SL_DEDUP_MIN_BYTES - 1, NULL, tmpdir),
			 SL_EBUDGET);
	sl_dedup_opts ap = {0, -1, 0.01};
	assert_int_equal(sl_dedup_new(&d, &b, SL_DEDUP_APPROX_MIN_BYTES - 1, &ap, NULL),
			 SL_EBUDGET);
	assert_null(d);
	assert_int_equal(b.used, 0);

	assert_int_equal(sl_dedup_new(&d, &b, 1 << 20, NULL, tmpdir), SL_OK);
	const char *p;
	size_t n;
	bool print;
	assert_int_equal(sl_dedup_next(d, &p, &n), SL_EINVAL);
	assert_int_equal(sl_dedup_add(d, "x", 1, &print), SL_OK);
	assert_true(print);
	assert_int_equal(sl_dedup_add(d, "x", 1, &print), SL_OK);
	assert_false(print);
	assert_int_equal(sl_dedup_finish(d), SL_OK);
	assert_int_equal(sl_dedup_finish(d), SL_EINVAL);
	assert_int_equal(sl_dedup_add(d, "y", 1, &print), SL_EINVAL);
	assert_int_equal(sl_dedup_next(d, &p, &n), SL_OK);
	assert_null(p);
	assert_int_equal(sl_dedup_errno(d), 0);
	sl_dedup_free(d);
	sl_dedup_free(NULL);
	assert_int_equal(b.used, 0);

	/* approximate mode needs no directory */
	assert_int_equal(sl_dedup_new(&d, &b, 4096, &ap, NULL), SL_OK);
	assert_int_equal(sl_dedup_add(d, "x", 1, &print), SL_OK);
	assert_true(print);
	assert_int_equal(sl_dedup_add(d, "x", 1, &print), SL_OK);
	assert_false(print); /* never a false negative */
	assert_int_equal(sl_dedup_finish(d), SL_OK);
	assert_int_equal(sl_dedup_next(d, &p, &n), SL_OK);
	assert_null(p);
	sl_dedup_free(d);
	assert_int_equal(b.used, 0);
}

/* An allocator that refuses exactly one call, the n-th (from 1). */
typedef struct {
	long n, calls;
} once_state;

static void *fail_once(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	once_state *st = ud;
	(void)old_size;
	if (new_size == 0) {
		free(ptr);
		return NULL;
	}
	if (++st->calls == st->n)
		return NULL;
	return realloc(ptr, new_size);
}

/* Allocations fail, from every point on or at one point only: the run
 * either succeeds with the right output (a refused set growth only makes it
 * spill earlier) or fails with SL_ENOMEM, and nothing leaks either way. */
static void allocation_failures(void **state)
{
	(void)state;
	tu_rng r = {seed + 4};
	input in = make_input(&r, 600, 3000, 0, 0);
	size_t nref;
	size_t *ref = reference(in.lines, in.n, 0, -1, &nref);
	int ok = 0, failed = 0, spilled = 0;
	for (long n = 0; n < 60; n++) {
		for (int mode = 0; mode < 2; mode++) {
			sl_budget b;
			sl_budget_init(&b, SIZE_MAX);
			tu_fail_state fs = {n, 0, 0};
			once_state os = {n + 1, 0};
			if (mode == 0)
				sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
			else
				sl_budget_set_alloc(&b, fail_once, &os);
			result res;
			sl_status s = run_dedup(&b, SL_DEDUP_MIN_BYTES, NULL, &in, &res);
			if (s == SL_OK) {
				if (!same_output(&res, &in, ref, nref))
					fail_msg("n %ld mode %d: wrong output after a refused "
						 "allocation", n, mode);
				ok++;
				spilled += res.st.spilled;
			} else {
				assert_int_equal(s, SL_ENOMEM);
				failed++;
			}
			assert_int_equal(b.used, 0);
			free_result(&res);
		}
	}
	printf("  %d runs failed with SL_ENOMEM, %d succeeded (%d of them spilled)\n",
	       failed, ok, spilled);
	assert_true(failed > 0 && ok > 0 && spilled > 0);
	assert_int_equal(dir_entries(tmpdir), 0);
	free(ref);
	free_input(&in);
}

/* Counts the calls that grow a block in place or by moving it. */
static void *count_grows(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	if (new_size == 0) {
		free(ptr);
		return NULL;
	}
	if (ptr && new_size > old_size)
		++*(long *)ud;
	return realloc(ptr, new_size);
}

/* The set's arena grows by steps in proportion to its size up to the share,
 * not one key at a time once past its soft limit (fuzz_spill found each
 * new key then reallocated, and so copied, the whole arena: quadratic). */
static void set_growth_is_geometric(void **state)
{
	(void)state;
	long grows = 0;
	sl_budget b;
	sl_budget_init(&b, SIZE_MAX);
	sl_budget_set_alloc(&b, count_grows, &grows);
	sl_dedup *d;
	assert_int_equal(sl_dedup_new(&d, &b, SL_DEDUP_MIN_BYTES, NULL, tmpdir), SL_OK);
	char text[32];
	for (int i = 0; i < 40000; i++) {
		int n = snprintf(text, sizeof text, "key-%d", i);
		bool print;
		assert_int_equal(sl_dedup_add(d, text, (size_t)n, &print), SL_OK);
	}
	sl_dedup_stats st;
	sl_dedup_stats_get(d, &st);
	assert_true(st.spilled);	/* the set reached its share */
	print_message("  %llu keys held, %ld growths\n", (unsigned long long)st.held_keys, grows);
	assert_true(grows <= 64);
	sl_dedup_free(d);
	assert_int_equal(b.used, 0);
}

/* Approximate mode: duplicates are always dropped, printed lines are first
 * occurrences in order, and the wrongly dropped ones are within the bound. */
static void approximate(void **state)
{
	(void)state;
	tu_rng r = {seed + 5};
	input in = make_input(&r, 8000, 24000, 0, 0);
	static const struct {
		size_t bytes;
		double rate;
	} cfg[] = {{64 << 10, 0.01}, {6 << 10, 0.01}, {3 << 10, 0.2}, {1 << 20, 0.001}};
	for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
		for (uint32_t field = 0; field < 3; field += 2) {
			size_t nref;
			size_t *ref = reference(in.lines, in.n, field, -1, &nref);
			sl_budget b;
			sl_budget_init(&b, SIZE_MAX);
			sl_dedup_opts o = {field, -1, cfg[c].rate};
			result res;
			assert_int_equal(run_dedup(&b, cfg[c].bytes, &o, &in, &res), SL_OK);
			assert_true(b.peak <= cfg[c].bytes);
			/* printed lines: a subsequence of the reference's
			 * (input indexes), so never a duplicate */
			size_t j = 0;
			for (size_t i = 0; i < res.n; i++) {
				while (j < nref && ref[j] != res.idx[i])
					j++;
				if (j == nref)
					fail_msg("printed a line that is not a first occurrence");
				j++;
			}
			uint64_t wrong = nref - res.n;
			printf("  %zu bytes, rate %g, field %u: %zu printed of %zu; "
			       "wrongly dropped %llu, estimated %.1f, bound %llu%s\n",
			       cfg[c].bytes, cfg[c].rate, field, res.n, nref,
			       (unsigned long long)wrong, res.st.fp_estimate,
			       (unsigned long long)res.st.fp_bound,
			       res.st.over_rate ? " (over rate)" : "");
			assert_int_equal(res.st.printed, res.n);
			assert_int_equal(res.st.dropped, in.n - res.n);
			assert_true(res.st.fp_bound <= res.st.dropped);
			if (wrong > res.st.fp_bound)
				fail_msg("%llu wrongly dropped, over the stated bound %llu",
					 (unsigned long long)wrong,
					 (unsigned long long)res.st.fp_bound);
			/* the over-rate flag against the rate computed here */
			double rate = pow((double)res.st.bloom_bits_set /
					  (double)res.st.bloom_bits, res.st.bloom_k);
			assert_int_equal(res.st.over_rate, rate > cfg[c].rate);
			free_result(&res);
			free(ref);
		}
	}
	free_input(&in);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/dedup-test-XXXXXX");
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
	seed = tu_seed("test_dedup", 20240612);
	if (getenv("DEDUP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("DEDUP_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checker_fails),
		cmocka_unit_test(in_memory),
		cmocka_unit_test(spill),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(edge_inputs),
		cmocka_unit_test(call_order_and_args),
		cmocka_unit_test(allocation_failures),
		cmocka_unit_test(set_growth_is_geometric),
		cmocka_unit_test(approximate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
