/*
 * fuzz_spill.c: libFuzzer target for the spill paths (lib/spill/): the
 * external sort (sl_xsort_*), the external dedup (sl_dedup_*) and the spill
 * layer under them (spill.h: run writer, run reader, heap merge), each
 * checked against a naive in-memory reference. A mismatch aborts.
 *
 * Input layout: byte 0 chooses the operation (mod 3: sort, dedup, spill
 * layer), bytes 1 .. 12 are parameters p[0 .. 11] (missing ones are zero),
 * and the rest is the text, split into records at '\n' (or at NUL when
 * p[4] & 0x40, so that records may hold newlines). Each record is its
 * piece of text repeated 1 + p[11] times (long records from a short
 * input), then replicated: copies = 1 + p[3] of each record, times 16 when
 * p[4] & 15 is 15 (rarely, since such inputs are slow), copy j
 * (j >= 1) being the record itself, the record with "#j" appended, with
 * "j " prepended, or with j inserted in its middle ((p[4] >> 4) & 3), up
 * to EXPAND_MAX bytes and RECS_MAX records in all. So a small input can
 * make enough distinct lines to spill a dedup set, and lines longer than a
 * block come from the text.
 *
 *  sort   (op 0) p[0]: key field (& 3), separator ((>> 2) & 3: blanks, ',',
 *         ' ', NUL), numeric, reverse, unique, stable (bits 4 .. 7);
 *         p[1]: run_bytes 1 KiB .. 7 KiB (& 7; 7: derived), fan_in 2 .. 4
 *         ((>> 3) & 3; 0: derived); p[2]: max_bytes above SL_XSORT_MIN_BYTES
 *         in KiB. run_bytes of 1 KiB makes chunks of 256 bytes and slabs of
 *         1 KiB, so a few KB of records make many runs, fan_in 2 makes
 *         merges several levels deep, and records longer than the slab
 *         become runs of their own. The reference is qsort with GNU sort's
 *         rules written here (fields, -n on a canonical form of the number,
 *         the last resort, input order for ties), then -u.
 *  dedup  (op 1) p[0]: key field (& 3), separator ((>> 2) & 3 as above);
 *         p[2]: max_bytes above SL_DEDUP_MIN_BYTES in KiB. The reference
 *         is awk '!seen[key]++': the records sorted by (key, input order),
 *         the first of each key kept, given back in input order; the
 *         library's output is what sl_dedup_add passes followed by what
 *         sl_dedup_next gives.
 *  spill  (op 2) p[0]: counted (bit 0), grow (bit 1), append the text as a
 *         raw run (bit 4), an empty run first (bit 5), the text's wrapping
 *         (bits 6, 7: see below); p[1]: block size 64 .. 512 (& 7); p[2]:
 *         records per run (the chunking); p[5 .. 10]: two corruptions,
 *         each a 16-bit offset into the file and a byte xored there
 *         (none when the byte is 0). The records are cut into runs, each sorted and
 *         written, then merged by the spill heap and compared with a stable
 *         sort of them all (counts included). Then the bytes are damaged on
 *         disk and the runs merged again: every record must come back
 *         intact, or a call must fail (SL_ECORRUPT, or SL_ENOMEM for a
 *         grown block): never a crash nor a wrong record. Last, the raw
 *         text is read as if it were a run: any status, no crash; as it
 *         is (the block checks refuse it), or (p[0] >> 6 = 1, 2) behind a
 *         raw or LZ4 block header whose check holds, so that the record
 *         and LZ4 decoders see the hostile bytes themselves. The spill
 *         layer is internal to lib/ (no public API takes a run file); this
 *         reaches it through lib/spill/spill.h, as tests/test_spill.c does,
 *         and damages the file through the spill's own descriptor.
 *
 * Every budget must come back to zero. Temporary files go to $TMPDIR (or
 * /tmp) and are unnamed, so nothing is left behind.
 *
 * Build and run: scripts/fuzz.sh fuzz_spill (corpus in fuzz/corpus/fuzz_spill).
 * tests/test_spill_corpus.c replays the corpus through this file in every
 * test run, with or without clang.
 */
#include "sluice.h"
#include "spill/spill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define EXPAND_MAX ((size_t)1 << 20)	/* bytes of records after copies */
#define RECS_MAX 40000
#define BUDGET ((size_t)64 << 20)	/* long records may go beyond max_bytes */
#define NPARAM 12
#define MAX_RUNS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                   \
	do {                                                                       \
		if (!(c)) {                                                        \
			fprintf(stderr, "fuzz_spill: %s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                     \
			abort();                                                   \
		}                                                                  \
	} while (0)

typedef struct {
	size_t off, len;	/* in the arena */
	size_t idx;		/* input order */
	/* the reference's key: start, and the canonical number */
	size_t ks;
	int sign;
	size_t ioff, il, foff, fl;	/* digits in the number arena */
} frec;

typedef struct {
	char *arena;
	size_t len, cap;
	frec *r;
	size_t n, cap_r;
	size_t longest;
} recset;

/* $FUZZ_SPILL_VERBOSE set: one line per input saying which paths it took
 * (for keeping the corpus honest). */
static bool verbose(void)
{
	const char *v = getenv("FUZZ_SPILL_VERBOSE");
	return v && *v;
}

static const char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

static void arena_put(recset *s, const char *p, size_t n)
{
	if (s->len + n > s->cap || !s->arena) {	/* never NULL: empty records point in */
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		s->arena = realloc(s->arena, cap);
		CHECK(s->arena);
		s->cap = cap;
	}
	if (n)
		memcpy(s->arena + s->len, p, n);
	s->len += n;
}

static bool add_rec(recset *s, const char *a, size_t an, const char *b, size_t bn,
		    const char *c, size_t cn)
{
	if (s->len + an + bn + cn > EXPAND_MAX || s->n >= RECS_MAX)
		return false;
	if (s->n == s->cap_r) {
		s->cap_r = s->cap_r ? 2 * s->cap_r : 256;
		s->r = realloc(s->r, s->cap_r * sizeof *s->r);
		CHECK(s->r);
	}
	frec *r = &s->r[s->n];
	memset(r, 0, sizeof *r);
	r->off = s->len;
	r->len = an + bn + cn;
	r->idx = s->n++;
	arena_put(s, a, an);
	arena_put(s, b, bn);
	arena_put(s, c, cn);
	if (r->len > s->longest)
		s->longest = r->len;
	return true;
}

/* The text split at delim, each record copied as the header says. */
static void make_records(recset *s, const char *text, size_t n, char delim, size_t stretch,
			 size_t copies, int variant)
{
	const char *p0 = text, *end = text + n;
	char *piece = NULL;
	while (p0 < end) {
		const char *q = memchr(p0, delim, (size_t)(end - p0));
		size_t len0 = (size_t)((q ? q : end) - p0), len = len0 * stretch;
		if (len > EXPAND_MAX)
			break;
		piece = realloc(piece, len ? len : 1);
		CHECK(piece);
		for (size_t i = 0; i < stretch; i++)
			memcpy(piece + i * len0, p0, len0);
		const char *p = piece;
		for (size_t j = 0; j < copies; j++) {
			char num[24];
			int nn = snprintf(num, sizeof num, variant == 1 ? "#%zu" : "%zu ", j);
			size_t half = len / 2;
			bool ok;
			if (j == 0 || variant == 0)
				ok = add_rec(s, p, len, "", 0, "", 0);
			else if (variant == 1)
				ok = add_rec(s, p, len, num, (size_t)nn, "", 0);
			else if (variant == 2)
				ok = add_rec(s, num, (size_t)nn, p, len, "", 0);
			else
				ok = add_rec(s, p, half, num, (size_t)nn - 1, p + half, len - half);
			if (!ok)
				goto out;
		}
		if (!q)
			break;
		p0 = q + 1;
	}
out:
	free(piece);
}

static const char *rec_bytes(const recset *s, const frec *r)
{
	return s->arena + r->off;
}

/* Bytewise, a shorter prefix first. memcmp rather than a loop: the
 * references sort tens of thousands of records, and a loop here would be
 * traced compare by compare in fuzzing builds. */
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

/* ------------------------------------------------------------------------ */
/* The sort and its reference                                               */
/* ------------------------------------------------------------------------ */

static const recset *ref_set;
static const char *num_arena;
static sl_xsort_opts ref_o;

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Where field key_field starts: each earlier field is skipped as blanks
 * then non-blanks (GNU's default), or up to and past the separator. */
static size_t ref_keystart(const char *p, size_t n, uint32_t field, int sep)
{
	size_t i = 0;
	for (uint32_t f = 1; f < field; f++) {
		if (sep == SL_XSORT_BLANKS) {
			while (i < n && is_blank(p[i]))
				i++;
			while (i < n && !is_blank(p[i]))
				i++;
		} else {
			while (i < n && (unsigned char)p[i] != (unsigned)sep)
				i++;
			if (i == n)
				return n;
			i++;
		}
	}
	return i;
}

/* The key's number in canonical form, digits copied to the number arena:
 * the integer part without leading zeros (0x80 bytes in it dropped, GNU's
 * C-locale "thousands separator"), the fraction without trailing zeros. */
static void ref_number(frec *r, const char *k, size_t n, recset *digits)
{
	size_t i = 0;
	bool neg = false;
	while (i < n && is_blank(k[i]))
		i++;
	if (i < n && k[i] == '-') {
		neg = true;
		i++;
	}
	r->ioff = digits->len;
	for (; i < n && ((k[i] >= '0' && k[i] <= '9') || k[i] == '\x80'); i++)
		if (k[i] != '\x80' && (k[i] != '0' || digits->len > r->ioff))
			arena_put(digits, &k[i], 1);
	r->il = digits->len - r->ioff;
	r->foff = digits->len;
	if (i < n && k[i] == '.')
		for (i++; i < n && k[i] >= '0' && k[i] <= '9'; i++)
			arena_put(digits, &k[i], 1);
	r->fl = digits->len - r->foff;
	while (r->fl && digits->arena[r->foff + r->fl - 1] == '0')
		r->fl--;
	r->sign = r->il == 0 && r->fl == 0 ? 0 : neg ? -1 : 1;
}

static int ref_keycmp(const frec *a, const frec *b)
{
	if (ref_o.numeric) {
		if (a->sign != b->sign)
			return a->sign < b->sign ? -1 : 1;
		if (a->sign == 0)
			return 0;
		int c;
		if (a->il != b->il)
			c = a->il < b->il ? -1 : 1;
		else if ((c = bytes_cmp(num_arena + a->ioff, a->il, num_arena + b->ioff, b->il)) == 0)
			c = bytes_cmp(num_arena + a->foff, a->fl, num_arena + b->foff, b->fl);
		return a->sign < 0 ? -c : c;
	}
	return bytes_cmp(rec_bytes(ref_set, a) + a->ks, a->len - a->ks,
			 rec_bytes(ref_set, b) + b->ks, b->len - b->ks);
}

static int ref_sort_cmp(const void *x, const void *y)
{
	const frec *a = x, *b = y;
	int c = ref_keycmp(a, b);
	bool keyed = ref_o.key_field > 1 || ref_o.numeric;
	if (c == 0 && keyed && !ref_o.stable && !ref_o.unique)
		c = bytes_cmp(rec_bytes(ref_set, a), a->len, rec_bytes(ref_set, b), b->len);
	if (ref_o.reverse)
		c = -c;
	return c ? c : (a->idx < b->idx ? -1 : 1);
}

static void fuzz_sort(recset *s, const uint8_t *p)
{
	static const int seps[4] = {SL_XSORT_BLANKS, ',', ' ', 0};
	sl_xsort_opts o = {
		.key_field = p[0] & 3,
		.separator = seps[(p[0] >> 2) & 3],
		.numeric = p[0] & 0x10,
		.reverse = p[0] & 0x20,
		.unique = p[0] & 0x40,
		.stable = p[0] & 0x80,
		.run_bytes = (p[1] & 7) == 7 ? 0 : 1024 * (size_t)(1 + (p[1] & 7)),
		.fan_in = (p[1] >> 3) & 3 ? 1 + ((p[1] >> 3) & 3) : 0,
	};
	size_t max_bytes = SL_XSORT_MIN_BYTES + 1024 * (size_t)p[2];

	/* the reference */
	recset digits = {0};
	for (size_t i = 0; i < s->n; i++) {
		frec *r = &s->r[i];
		const char *k = rec_bytes(s, r);
		r->ks = ref_keystart(k, r->len, o.key_field, o.separator);
		if (o.numeric)
			ref_number(r, k + r->ks, r->len - r->ks, &digits);
	}
	frec *want = malloc((s->n ? s->n : 1) * sizeof *want);
	CHECK(want);
	if (s->n)
		memcpy(want, s->r, s->n * sizeof *want);
	ref_set = s;
	num_arena = digits.arena;
	ref_o = o;
	qsort(want, s->n, sizeof *want, ref_sort_cmp);
	size_t nw = s->n;
	if (o.unique && nw) {
		nw = 1;
		for (size_t i = 1; i < s->n; i++)
			if (ref_keycmp(&want[nw - 1], &want[i]) != 0)
				want[nw++] = want[i];
	}

	/* the sorter */
	sl_budget b;
	sl_budget_init(&b, BUDGET);
	sl_xsort *xs;
	CHECK(sl_xsort_new(&xs, &b, max_bytes, &o, tmp_dir()) == SL_OK);
	for (size_t i = 0; i < s->n; i++) {
		/* each record in a buffer of its own size: ASan sees overreads */
		char *copy = malloc(s->r[i].len ? s->r[i].len : 1);
		CHECK(copy);
		memcpy(copy, rec_bytes(s, &s->r[i]), s->r[i].len);
		CHECK(sl_xsort_add(xs, copy, s->r[i].len) == SL_OK);
		free(copy);
	}
	CHECK(sl_xsort_finish(xs) == SL_OK);
	size_t got = 0;
	for (;;) {
		const char *rec;
		size_t len;
		CHECK(sl_xsort_next(xs, &rec, &len) == SL_OK);
		if (!rec)
			break;
		CHECK(got < nw);
		CHECK(len == want[got].len && memcmp(rec, rec_bytes(s, &want[got]), len) == 0);
		got++;
	}
	CHECK(got == nw);
	sl_xsort_stats st;
	sl_xsort_stats_get(xs, &st);
	CHECK(st.records == s->n);
	if (verbose())
		fprintf(stderr, "sort: %zu records (longest %zu), %llu runs, %llu merges, fan-in %u, "
			"run bytes %zu, %llu temp bytes\n", s->n, s->longest,
			(unsigned long long)st.runs, (unsigned long long)st.merges, st.fan_in,
			st.run_bytes, (unsigned long long)st.temp_written);
	sl_xsort_free(xs);
	CHECK(b.used == 0);
	free(want);
	free(digits.arena);
}

/* ------------------------------------------------------------------------ */
/* The dedup and its reference                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
	const char *k;
	size_t kn, idx;
} dkey;

/* Field `field` (1-based; 0 the whole line) as awk splits it: with the
 * default FS, fields are the maximal runs of non-blanks; with -F C, the
 * pieces between C bytes. A missing field is empty. */
static dkey awk_field(const char *p, size_t n, uint32_t field, int sep)
{
	dkey d = {p, n, 0};
	if (field == 0)
		return d;
	uint32_t f = 0;
	size_t i = 0;
	if (sep == SL_DEDUP_BLANKS) {
		while (i < n) {
			while (i < n && is_blank(p[i]))
				i++;
			if (i == n)
				break;
			size_t st = i;
			while (i < n && !is_blank(p[i]))
				i++;
			if (++f == field)
				return (dkey){p + st, i - st, 0};
		}
	} else {
		size_t st = 0;
		for (i = 0; i <= n; i++) {
			if (i == n || (unsigned char)p[i] == (unsigned)sep) {
				if (++f == field)
					return (dkey){p + st, i - st, 0};
				st = i + 1;
			}
		}
	}
	return (dkey){p + n, 0, 0};
}

static int dkey_cmp(const void *x, const void *y)
{
	const dkey *a = x, *b = y;
	int c = bytes_cmp(a->k, a->kn, b->k, b->kn);
	return c ? c : (a->idx < b->idx ? -1 : 1);
}

static int size_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	return a < b ? -1 : a > b;
}

static void fuzz_dedup(recset *s, const uint8_t *p)
{
	static const int seps[4] = {SL_DEDUP_BLANKS, ',', ' ', 0};
	sl_dedup_opts o = {.key_field = p[0] & 3, .separator = seps[(p[0] >> 2) & 3]};
	size_t max_bytes = SL_DEDUP_MIN_BYTES + 1024 * (size_t)p[2];

	/* the reference: the first index of each key, in input order */
	dkey *keys = malloc((s->n ? s->n : 1) * sizeof *keys);
	size_t *want = malloc((s->n ? s->n : 1) * sizeof *want);
	CHECK(keys && want);
	for (size_t i = 0; i < s->n; i++) {
		keys[i] = awk_field(rec_bytes(s, &s->r[i]), s->r[i].len, o.key_field, o.separator);
		keys[i].idx = i;
	}
	qsort(keys, s->n, sizeof *keys, dkey_cmp);
	size_t nw = 0;
	for (size_t i = 0; i < s->n; i++)
		if (i == 0 || bytes_cmp(keys[i - 1].k, keys[i - 1].kn, keys[i].k, keys[i].kn))
			want[nw++] = keys[i].idx;
	qsort(want, nw, sizeof *want, size_cmp);

	sl_budget b;
	sl_budget_init(&b, BUDGET);
	sl_dedup *d;
	CHECK(sl_dedup_new(&d, &b, max_bytes, &o, tmp_dir()) == SL_OK);
	size_t got = 0;
	for (size_t i = 0; i < s->n; i++) {
		const frec *r = &s->r[i];
		char *copy = malloc(r->len ? r->len : 1);
		CHECK(copy);
		memcpy(copy, rec_bytes(s, r), r->len);
		bool print;
		CHECK(sl_dedup_add(d, copy, r->len, &print) == SL_OK);
		free(copy);
		if (print) {
			CHECK(got < nw && want[got] == i);
			got++;
		}
	}
	CHECK(sl_dedup_finish(d) == SL_OK);
	for (;;) {
		const char *line;
		size_t len;
		CHECK(sl_dedup_next(d, &line, &len) == SL_OK);
		if (!line)
			break;
		CHECK(got < nw);
		const frec *r = &s->r[want[got]];
		CHECK(len == r->len && memcmp(line, rec_bytes(s, r), len) == 0);
		got++;
	}
	CHECK(got == nw);
	sl_dedup_stats st;
	sl_dedup_stats_get(d, &st);
	CHECK(st.lines == s->n && st.printed == nw && st.dropped == s->n - nw);
	if (verbose())
		fprintf(stderr, "dedup: %zu lines (longest %zu) -> %zu, %llu spilled, %llu temp bytes\n",
			s->n, s->longest, nw, (unsigned long long)st.spilled_lines,
			(unsigned long long)st.temp_written);
	sl_dedup_free(d);
	CHECK(b.used == 0);
	free(keys);
	free(want);
}

/* ------------------------------------------------------------------------ */
/* The spill layer: runs written, merged, damaged, merged again             */
/* ------------------------------------------------------------------------ */

static int by_bytes_then_idx(const void *x, const void *y)
{
	const frec *a = x, *b = y;
	int c = bytes_cmp(rec_bytes(ref_set, a), a->len, rec_bytes(ref_set, b), b->len);
	return c ? c : (a->idx < b->idx ? -1 : 1);
}

static int reader_cmp(void *ctx, const sl_spill_reader *a, const sl_spill_reader *b)
{
	(void)ctx;
	return bytes_cmp(a->rec, a->len, b->rec, b->len);
}

/* Merges runs[0 .. k) and compares with want[0 .. n): SL_OK when every
 * record came back intact; the failing status otherwise (a wrong record
 * after an SL_OK aborts). */
static sl_status merge_all(sl_spill *sp, const sl_spill_run *runs, size_t k, char **bufs,
			   size_t cap, const recset *s, const frec *want, size_t n, int counted)
{
	sl_spill_reader rd[MAX_RUNS + 1];
	uint32_t heap[MAX_RUNS + 1];
	memset(rd, 0, sizeof rd);
	sl_status st = SL_OK;
	size_t opened = 0;
	for (; opened < k && st == SL_OK; opened++)
		st = sl_spill_reader_open(sp, &rd[opened], &runs[opened], bufs[opened], cap);
	size_t got = 0;
	if (st == SL_OK) {
		sl_spill_merge m = {rd, heap, (uint32_t)k, 0, reader_cmp, NULL, NULL};
		sl_spill_merge_start(&m);
		int w;
		while ((w = sl_spill_merge_top(&m)) >= 0) {
			const sl_spill_reader *r = &rd[w];
			CHECK(got < n);
			const frec *f = &want[got];
			CHECK(r->len == f->len && memcmp(r->rec, rec_bytes(s, f), r->len) == 0);
			CHECK(!counted || r->count == f->idx + 1);
			got++;
			if ((st = sl_spill_merge_advance(sp, &m)))
				break;
		}
		if (st == SL_OK)
			CHECK(got == n);
	}
	for (size_t i = 0; i < opened; i++)
		sl_spill_reader_close(sp, &rd[i]);
	return st;
}

static void fuzz_layer(recset *s, const uint8_t *p, const char *text, size_t tn)
{
	int counted = p[0] & 1, grow = (p[0] >> 1) & 1;
	size_t B = 64 * (size_t)(1 + (p[1] & 7));
	size_t per = 1 + (size_t)p[2];
	if ((s->n + per - 1) / per > MAX_RUNS - 1)
		per = (s->n + MAX_RUNS - 2) / (MAX_RUNS - 1);
	/* a reader's buffer: the block, or the longest record when it may not
	 * grow (as exact.c plans it) */
	size_t cap = B;
	if (!grow && s->longest + SL_SPILL_VARMAX > cap)
		cap = s->longest + SL_SPILL_VARMAX;

	sl_budget b;
	sl_budget_init(&b, BUDGET);
	sl_xsort_stats xst = {0};
	sl_spill sp;
	CHECK(sl_spill_init(&sp, &b, B, tmp_dir(), "fuzz-spill", counted, grow, &xst) == SL_OK);

	/* runs: each a sorted slice of the records */
	ref_set = s;
	sl_spill_run runs[MAX_RUNS + 1];
	size_t k = 0;
	if (p[0] & 0x20)
		runs[k++] = (sl_spill_run){sp.wpos, sp.wpos, 0};
	frec *want = malloc((s->n ? s->n : 1) * sizeof *want);
	CHECK(want);
	if (s->n)
		memcpy(want, s->r, s->n * sizeof *want);
	for (size_t i = 0; i < s->n; i += per) {
		size_t m = s->n - i < per ? s->n - i : per;
		qsort(want + i, m, sizeof *want, by_bytes_then_idx);
		runs[k].start = sp.wpos;
		for (size_t j = i; j < i + m; j++)
			CHECK(sl_spill_put(&sp, rec_bytes(s, &want[j]), want[j].len, want[j].idx + 1) ==
			      SL_OK);
		CHECK(sl_spill_flush(&sp) == SL_OK);
		runs[k].end = sp.wpos;
		runs[k++].level = 0;
	}
	qsort(want, s->n, sizeof *want, by_bytes_then_idx);
	char *bufs[MAX_RUNS + 1];
	for (size_t i = 0; i < k; i++) {
		bufs[i] = malloc(cap);	/* exactly cap: ASan sees overreads */
		CHECK(bufs[i]);
	}

	/* intact: every record, in order */
	CHECK(merge_all(&sp, runs, k, bufs, cap, s, want, s->n, counted) == SL_OK);

	if (verbose())
		fprintf(stderr, "spill: %zu records (longest %zu), %zu runs, block %zu, cap %zu, "
			"%llu bytes\n", s->n, s->longest, k, B, cap, (unsigned long long)sp.wpos);

	/* damaged: intact records or a failure */
	bool damaged = false;
	for (int c = 0; c < 2 && sp.wpos > 0; c++) {
		const uint8_t *q = p + 5 + 3 * c;
		uint64_t off = (q[0] | (uint64_t)q[1] << 8) % sp.wpos;
		char x;
		if (!q[2])
			continue;
		CHECK(sl_spill_pread(&sp, &x, 1, off) == SL_OK);
		x ^= (char)q[2];
		CHECK(pwrite(sp.fd, &x, 1, (off_t)off) == 1);
		damaged = true;
	}
	if (damaged) {
		sl_status st = merge_all(&sp, runs, k, bufs, cap, s, want, s->n, counted);
		CHECK(st == SL_OK || st == SL_ECORRUPT || (grow && st == SL_ENOMEM));
	}

	/* the text as a run: any status, never a crash */
	if ((p[0] & 0x10) && tn) {
		sl_spill_run raw = {sp.wpos, 0, 0};
		int wrap = p[0] >> 6;
		if (wrap == 1 || wrap == 2) {
			/* behind a header whose check holds (spill.h's block
			 * format), so that the record decoder (wrap 1) or the
			 * LZ4 decoder (wrap 2) parses the text itself */
			uint32_t clen = wrap == 1 ? 0x80000000u : (uint32_t)tn;
			uint32_t rlen = wrap == 1 ? (uint32_t)tn : (uint32_t)(1 + p[2] % B);
			char h[SL_SPILL_HDR];
			uint64_t check = XXH3_64bits_withSeed(text, tn, (uint64_t)clen << 32 | rlen);
			for (int i = 0; i < 4; i++) {
				h[i] = (char)(clen >> 8 * i);
				h[4 + i] = (char)(rlen >> 8 * i);
			}
			for (int i = 0; i < 8; i++)
				h[8 + i] = (char)(check >> 8 * i);
			CHECK(sl_spill_append(&sp, h, sizeof h) == SL_OK);
		}
		CHECK(sl_spill_append(&sp, text, tn) == SL_OK);
		raw.end = sp.wpos;
		char *buf = malloc(cap);
		CHECK(buf);
		sl_spill_reader r;
		sl_status st = sl_spill_reader_open(&sp, &r, &raw, buf, cap);
		size_t recs = 0;
		while (st == SL_OK && !r.done) {
			CHECK(r.len <= (r.big ? r.bigcap : cap));
			recs++;
			st = sl_spill_reader_next(&sp, &r);
		}
		if (verbose())
			fprintf(stderr, "spill: the text (%zu bytes, wrapping %d): %zu records, %s\n",
				tn, wrap, recs, sl_strerror(st));
		sl_spill_reader_close(&sp, &r);
		free(buf);
	}

	for (size_t i = 0; i < k; i++)
		free(bufs[i]);
	free(want);
	sl_spill_free(&sp);
	CHECK(b.used == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t p[NPARAM] = {0};
	if (size == 0)
		return 0;
	int op = data[0] % 3;
	size_t hdr = size < 1 + NPARAM ? size : 1 + NPARAM;
	memcpy(p, data + 1, hdr - 1);
	const char *text = (const char *)data + hdr;
	size_t tn = size - hdr;
	size_t copies = (1 + (size_t)p[3]) * ((p[4] & 15) == 15 ? 16 : 1);
	recset s = {0};
	make_records(&s, text, tn, (p[4] & 0x40) ? '\0' : '\n', 1 + (size_t)p[11], copies,
		     (p[4] >> 4) & 3);
	if (op == 0)
		fuzz_sort(&s, p);
	else if (op == 1)
		fuzz_dedup(&s, p);
	else
		fuzz_layer(&s, p, text, tn);
	free(s.arena);
	free(s.r);
	return 0;
}
