/*
 * xsort.c: external sort of records within a memory budget (sl_xsort_*).
 *
 * Contract (see sluice.h): records are byte strings; the order is that of
 * `LC_ALL=C sort` with -k N / -t / -n / -r / -u / -s, including GNU's
 * last-resort comparison (keys equal and neither -s nor -u: compare whole
 * records bytewise, reversed by -r). Ties left after that (identical records,
 * or equal keys under -s/-u) keep input order, so -u keeps the first record of
 * each group of equal keys, as GNU does.
 *
 * Algorithm (Knuth vol. 3, 5.4: run formation then a k-way merge):
 *  1. Run formation. One slab of memory holds record bytes growing up from
 *     its start and 16-byte entries {key prefix, offset, length} growing down
 *     from its end (GNU sort's layout). The prefix is the first 8 key bytes,
 *     big-endian, so most comparisons are one integer compare; equal prefixes
 *     fall back to the full comparison. When the slab is full the entries are
 *     sorted with an introsort (median-of-3 quicksort, insertion sort below
 *     16, heapsort past 2 log n levels; Musser 1997) whose order is total (ties
 *     broken by offset, i.e. input order) and written as one run.
 *  2. Runs are written to one unnamed temporary file through the library's
 *     spill layer (lib/spill/spill.h, shared with exact.c): blocks of at most C
 *     bytes of records `LEB128 length | bytes` (the chunk, 16 KiB at 1 MiB),
 *     LZ4 block format or raw when that is no smaller, each with an XXH3
 *     check (a damaged file is SL_ECORRUPT); a record that does not
 *     fit a chunk gets a raw block of its own, written straight from where
 *     it is.
 *  3. Merging. Up to F runs (F = slab / C) are merged with the spill
 *     layer's heap, ties going to the earlier run (stability). Each run is
 *     read through its own C-byte slice of the slab, one pread per block
 *     (which also fetches the next block's header); compressed blocks go
 *     through one shared buffer. Runs carry a level; as soon as the last F
 *     runs share a level they are merged into one run of the next level,
 *     appended to the file, and the space they took is released with
 *     fallocate(PUNCH_HOLE) where the file system allows. So every record
 *     is rewritten about log_F(n / slab) times, the run table stays small,
 *     and merged runs stay in input order (stability). At the end the
 *     smallest tail runs are merged until at most F remain, and
 *     sl_xsort_next runs the final merge, giving records straight from the
 *     readers' buffers (no copy). If no run was ever spilled, the slab is
 *     sorted and read back in memory: no disk at all.
 *
 * Memory (max_bytes): the xsort struct, the spill layer (an LZ4 state of
 * 16 KiB, the chunk and one compressed block), the copy of the last record
 * for unique, the readers and the run table; the rest is the slab.
 * Records longer than C in the merge phase are held whole in a block taken
 * from the budget beyond max_bytes (documented in sluice.h). A record longer
 * than the slab is written as its own run straight from the caller's memory.
 *
 * Temporary files: one per sorter, created on the first spill with
 * open(O_TMPFILE) (no name ever exists), falling back to mkstemp + unlink
 * right after creation. Killing the process at any point leaves nothing
 * behind except in that fallback's window between mkstemp and unlink. A full
 * disk makes the write fail with ENOSPC: SL_EIO, and sl_xsort_errno says so.
 */
#include "sluice.h"
#include "spill/entrysort.h"
#include "spill/spill.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_MAX (16 * 1024)
#define CHUNK_MIN 256
#define RUN_CAP_LEVELS 48	/* run table: (F - 1) runs per level */


enum { ST_ADD, ST_MEM, ST_MERGE, ST_END };

struct sl_xsort {
	sl_budget *b;
	size_t max_bytes;
	sl_xsort_opts o;
	int keyed;		/* key is not the whole record: last resort */
	int use_pfx;		/* prefixes are meaningful (bytewise keys) */
	int state;
	sl_status err;
	int err_no;
	char *tmpdir;
	size_t tmpdir_len;

	/* run formation */
	char *slab;
	size_t slab_len;	/* bytes */
	size_t fill;		/* record bytes at the start of the slab */
	size_t n;		/* entries at the end of the slab */
	size_t pos;		/* ST_MEM: next entry */

	/* the temporary file, its writer and readers (spill.h) */
	sl_spill sp;
	size_t C;		/* the chunk: the spill's block size */

	/* runs and the merge */
	sl_spill_run *runs;
	size_t nruns, runs_cap;
	sl_spill_reader *rd;
	uint32_t *heap;
	sl_spill_merge m;
	uint32_t F, k;
	size_t rd_cap;		/* readers and tree slots allocated */
	int started;
	char *last;		/* unique: the last record given */
	size_t last_cap, last_len;
	int have_last;

	sl_xsort_stats st;
};

/* ---- errors ------------------------------------------------------------ */

static sl_status fail(sl_xsort *xs, sl_status s, int e)
{
	if (xs->err == SL_OK) {
		xs->err = s;
		xs->err_no = e;
	}
	return xs->err;
}

/* A spill operation's status, made sticky (with errno for SL_EIO). */
static sl_status sfail(sl_xsort *xs, sl_status s)
{
	return s == SL_OK ? SL_OK : fail(xs, s, xs->sp.err_no);
}

/* ---- keys and comparisons ---------------------------------------------- */

static inline int blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Offset of the key in p[0..n): GNU begfield() for -k N with no char. */
static size_t keystart(const sl_xsort *xs, const unsigned char *p, size_t n)
{
	const unsigned char *q = p, *lim = p + n;
	uint32_t f = xs->o.key_field;
	if (f <= 1)
		return 0;
	f--;
	if (xs->o.separator != SL_XSORT_BLANKS) {
		int sep = xs->o.separator;
		while (q < lim && f--) {
			q = memchr(q, sep, (size_t)(lim - q));
			if (!q)
				return n;
			q++;
		}
	} else {
		while (q < lim && f--) {
			while (q < lim && blank(*q))
				q++;
			while (q < lim && !blank(*q))
				q++;
		}
	}
	return (size_t)(q - p);
}

static inline uint64_t prefix(const sl_xsort *xs, const char *rec, size_t len)
{
	if (!xs->use_pfx)
		return 0;
	const unsigned char *p = (const unsigned char *)rec;
	size_t ks = keystart(xs, p, len);
	return load_pfx(p + ks, len - ks);
}

static int bytecmp(const unsigned char *a, size_t an, const unsigned char *b,
		   size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* A number as GNU -n reads it: [blanks][-]digits[.digits]; anything else
 * (or nothing) is zero. One quirk is kept for byte-identical output: GNU
 * sort in the C locale has no thousands separator and marks that with
 * CHAR_MAX + 1, which is the byte 0x80, so 0x80 bytes in the integer part
 * are skipped as if they were separators ("1\x80000" is 1000).
 * The integer part is kept as a span (leading zeros and 0x80 dropped) with
 * its digit count; the fraction without trailing zeros. */
#define TSEP 0x80

typedef struct {
	int sign;		/* -1, 0, 1 */
	const unsigned char *ip, *fp;
	size_t il;		/* digits in the integer part */
	size_t fl;		/* bytes (all digits) in the fraction */
} num;

static void parse_num(const unsigned char *p, size_t n, num *v)
{
	const unsigned char *lim = p + n;
	int neg = 0;
	while (p < lim && blank(*p))
		p++;
	if (p < lim && *p == '-') {
		neg = 1;
		p++;
	}
	while (p < lim && (*p == '0' || *p == TSEP))
		p++;
	v->ip = p;
	v->il = 0;
	for (; p < lim && ((*p >= '0' && *p <= '9') || *p == TSEP); p++)
		v->il += *p != TSEP;
	v->fp = p;
	v->fl = 0;
	if (p < lim && *p == '.') {
		v->fp = ++p;
		while (p < lim && *p >= '0' && *p <= '9')
			p++;
		v->fl = (size_t)(p - v->fp);
		while (v->fl && v->fp[v->fl - 1] == '0')
			v->fl--;
	}
	v->sign = (v->il || v->fl) ? (neg ? -1 : 1) : 0;
}

/* Compares integer parts of equal digit counts, skipping separators. */
static int intcmp(const unsigned char *a, const unsigned char *b, size_t digits)
{
	while (digits--) {
		while (*a == TSEP)
			a++;
		while (*b == TSEP)
			b++;
		if (*a != *b)
			return *a < *b ? -1 : 1;
		a++;
		b++;
	}
	return 0;
}

static int numcmp(const unsigned char *a, size_t an, const unsigned char *b,
		  size_t bn)
{
	num x, y;
	parse_num(a, an, &x);
	parse_num(b, bn, &y);
	if (x.sign != y.sign)
		return x.sign < y.sign ? -1 : 1;
	if (x.sign == 0)
		return 0;
	int c;
	if (x.il != y.il)
		c = x.il < y.il ? -1 : 1;
	else if ((c = intcmp(x.ip, y.ip, x.il)) == 0)
		c = bytecmp(x.fp, x.fl, y.fp, y.fl);
	return x.sign < 0 ? -c : c;
}

/* The key comparison alone (unique uses it to find equal keys). */
static int keycmp(const sl_xsort *xs, const char *a, size_t an, const char *b,
		  size_t bn)
{
	if (xs->o.cmp) {
		int c = xs->o.cmp(xs->o.cmp_ud, a, an, b, bn);
		return c < 0 ? -1 : c > 0;
	}
	const unsigned char *pa = (const unsigned char *)a;
	const unsigned char *pb = (const unsigned char *)b;
	size_t ka = keystart(xs, pa, an), kb = keystart(xs, pb, bn);
	if (xs->o.numeric)
		return numcmp(pa + ka, an - ka, pb + kb, bn - kb);
	return bytecmp(pa + ka, an - ka, pb + kb, bn - kb);
}

/* Key, then last resort, both reversed by -r; 0 only for ties that input
 * order settles. */
static int reccmp(const sl_xsort *xs, const char *a, size_t an, const char *b,
		  size_t bn)
{
	int c = keycmp(xs, a, an, b, bn);
	if (c == 0 && xs->keyed && !xs->o.stable && !xs->o.unique)
		c = bytecmp((const unsigned char *)a, an,
			    (const unsigned char *)b, bn);
	return xs->o.reverse ? -c : c;
}

/* ---- the in-memory sort ------------------------------------------------ */

static int slowcmp(const sl_xsort *xs, const entry *a, const entry *b)
{
	int c = reccmp(xs, xs->slab + a->off, a->len, xs->slab + b->off, b->len);
	if (c)
		return c;
	return a->off < b->off ? -1 : a->off > b->off;
}

static inline int ecmp(const sl_xsort *xs, const entry *a, const entry *b)
{
	if (a->pfx != b->pfx) {
		int c = a->pfx < b->pfx ? -1 : 1;
		return xs->o.reverse ? -c : c;
	}
	return slowcmp(xs, a, b);
}

/* Entries are all distinct under ecmp (offsets break ties). */
#define ENTRY_CTX const sl_xsort *
#define ENTRY_CMP ecmp
#include "spill/entrysort.h"

static entry *entries(const sl_xsort *xs)
{
	return (entry *)(void *)(xs->slab + xs->slab_len) - xs->n;
}

static void sort_slab(sl_xsort *xs)
{
	entry_sort(xs, entries(xs), xs->n);
}

/* ---- the merge ----------------------------------------------------------- */

static int reader_cmp(void *ctx, const sl_spill_reader *x, const sl_spill_reader *y)
{
	const sl_xsort *xs = ctx;
	if (x->pfx != y->pfx) {
		int c = x->pfx < y->pfx ? -1 : 1;
		return xs->o.reverse ? -c : c;
	}
	return reccmp(xs, x->rec, x->len, y->rec, y->len);
}

static void reader_prep(void *ctx, sl_spill_reader *r)
{
	r->pfx = prefix(ctx, r->rec, r->len);
}

static void merge_close(sl_xsort *xs)
{
	for (uint32_t i = 0; i < xs->k; i++)
		sl_spill_reader_close(&xs->sp, &xs->rd[i]);
	xs->k = 0;
}

/* Opens readers on runs[first .. first + k), k <= F, buffers in the slab. */
static sl_status merge_open(sl_xsort *xs, size_t first, uint32_t k)
{
	sl_status s;
	for (uint32_t i = 0; i < k; i++) {
		xs->k = i + 1;
		if ((s = sl_spill_reader_open(&xs->sp, &xs->rd[i], &xs->runs[first + i],
					      xs->slab + (size_t)i * xs->C, xs->C)))
			return sfail(xs, s);
	}
	sl_spill_merge m = {xs->rd, xs->heap, k, 0, reader_cmp, reader_prep, xs};
	xs->m = m;
	sl_spill_merge_start(&xs->m);
	return SL_OK;
}

/* unique: remembers the record given last (its reader may reuse the bytes). */
static sl_status keep_last(sl_xsort *xs, const char *rec, size_t len)
{
	if (len > xs->last_cap) {
		char *p = sl_malloc(xs->b, len);
		if (!p)
			return fail(xs, SL_ENOMEM, 0);
		sl_free(xs->b, xs->last, xs->last_cap);
		xs->last = p;
		xs->last_cap = len;
	}
	memcpy(xs->last, rec, len);
	xs->last_len = len;
	xs->have_last = 1;
	return SL_OK;
}

static int dup_of_last(const sl_xsort *xs, const char *rec, size_t len)
{
	return xs->o.unique && xs->have_last &&
	       keycmp(xs, xs->last, xs->last_len, rec, len) == 0;
}

/* ---- runs ---------------------------------------------------------------- */

/* Merges the last `count` runs (count <= F) into one run of `level`. */
static sl_status merge_tail(sl_xsort *xs, size_t count, uint32_t level)
{
	size_t first = xs->nruns - count;
	uint64_t start = xs->sp.wpos;
	sl_status s = merge_open(xs, first, (uint32_t)count);
	xs->have_last = 0;
	int w;
	while (s == SL_OK && (w = sl_spill_merge_top(&xs->m)) >= 0) {
		const sl_spill_reader *r = &xs->rd[w];
		if (!dup_of_last(xs, r->rec, r->len)) {
			if (xs->o.unique && (s = keep_last(xs, r->rec, r->len)))
				break;
			if ((s = sl_spill_put(&xs->sp, r->rec, r->len, 0)))
				break;
		}
		s = sl_spill_merge_advance(&xs->sp, &xs->m);
	}
	merge_close(xs);
	if (s || (s = sl_spill_flush(&xs->sp)))
		return sfail(xs, s);
	sl_spill_release(&xs->sp, &xs->runs[first], count);
	xs->runs[first].start = start;
	xs->runs[first].end = xs->sp.wpos;
	xs->runs[first].level = level;
	xs->nruns = first + 1;
	xs->st.merges++;
	return SL_OK;
}

/* Appends a run; merges the last F runs while the policy (spill.h) says so. */
static sl_status push_run(sl_xsort *xs, uint64_t start, uint64_t end)
{
	sl_status s;
	sl_spill_run *r = &xs->runs[xs->nruns++];
	r->start = start;
	r->end = end;
	r->level = 0;
	xs->st.runs++;
	size_t k;
	uint32_t level;
	while ((k = sl_spill_due(xs->runs, xs->nruns, xs->runs_cap, xs->F, &level)))
		if ((s = merge_tail(xs, k, level)))
			return s;
	return SL_OK;
}

/* Sorts the slab and writes it as one run. */
static sl_status spill(sl_xsort *xs)
{
	sl_status s;
	if (!xs->n)
		return SL_OK;
	sort_slab(xs);
	const entry *e = entries(xs), *prev = NULL;
	uint64_t start = xs->sp.wpos;
	for (size_t i = 0; i < xs->n; i++) {
		const char *rec = xs->slab + e[i].off;
		if (xs->o.unique && prev &&
		    keycmp(xs, xs->slab + prev->off, prev->len, rec, e[i].len) == 0)
			continue;
		if ((s = sl_spill_put(&xs->sp, rec, e[i].len, 0)))
			return sfail(xs, s);
		prev = &e[i];
	}
	if ((s = sl_spill_flush(&xs->sp)))
		return sfail(xs, s);
	xs->n = 0;
	xs->fill = 0;
	return push_run(xs, start, xs->sp.wpos);
}

/* ---- the public interface -------------------------------------------------- */

static void *xalloc(sl_xsort *xs, size_t n, sl_status *s)
{
	void *p = sl_malloc(xs->b, n);
	if (!p)
		*s = SL_ENOMEM;
	return p;
}

static size_t budget_used_by(const sl_budget *b, size_t before)
{
	return b->used > before ? b->used - before : 0;
}

sl_status sl_xsort_new(sl_xsort **out, sl_budget *b, size_t max_bytes,
		       const sl_xsort_opts *opts, const char *tmpdir)
{
	sl_xsort_opts def = {.separator = SL_XSORT_BLANKS};
	sl_status s = SL_OK;
	*out = NULL;
	if (!opts)
		opts = &def;
	if (!b || !tmpdir || opts->separator < SL_XSORT_BLANKS ||
	    opts->separator > 255 || opts->fan_in == 1)
		return SL_EINVAL;
	if (max_bytes < SL_XSORT_MIN_BYTES)
		return SL_EBUDGET;
	/* What this sorter holds is measured on the budget's counter.
	 * (Callers sharing one budget between threads should give each
	 * sorter a child budget.) */
	size_t before = b->used;
	sl_xsort *xs = sl_calloc(b, 1, sizeof *xs);
	if (!xs)
		return SL_ENOMEM;
	xs->b = b;
	xs->max_bytes = max_bytes;
	xs->o = *opts;
	xs->keyed = opts->key_field > 1 || opts->numeric || opts->cmp;
	xs->use_pfx = !opts->numeric && !opts->cmp;
	xs->tmpdir_len = strlen(tmpdir);
	if (!(xs->tmpdir = xalloc(xs, xs->tmpdir_len + 1, &s)))
		goto out;
	memcpy(xs->tmpdir, tmpdir, xs->tmpdir_len + 1);

	size_t held = budget_used_by(b, before);
	size_t avail = max_bytes > held ? max_bytes - held : 0;
	size_t C = CHUNK_MAX;
	if (avail < 32 * CHUNK_MAX)
		C = (avail / 32) & ~(size_t)63;
	if (opts->run_bytes && C > opts->run_bytes / 4)
		C = opts->run_bytes / 4;
	if (C < CHUNK_MIN)
		C = CHUNK_MIN;
	xs->C = C;
	xs->last_cap = C;
	/* a record longer than C is read back whole beyond the plan (grow) */
	if ((s = sl_spill_init(&xs->sp, b, C, xs->tmpdir, "sluice-sort", 0, 1, &xs->st)) ||
	    !(xs->last = xalloc(xs, xs->last_cap, &s)))
		goto out;

	held = budget_used_by(b, before);
	avail = max_bytes > held ? max_bytes - held : 0;
	size_t per = C + sizeof(sl_spill_reader) + sizeof(uint32_t) +
		     RUN_CAP_LEVELS * sizeof(sl_spill_run);
	size_t F = avail / per;
	if (opts->fan_in && F > opts->fan_in)
		F = opts->fan_in;
	if (F > 65536)
		F = 65536;
	if (F < 2) {
		s = SL_EBUDGET;
		goto out;
	}
	xs->runs_cap = (F - 1) * RUN_CAP_LEVELS + 1;
	xs->rd_cap = F;
	if (!(xs->rd = xalloc(xs, F * sizeof(sl_spill_reader), &s)) ||
	    !(xs->heap = xalloc(xs, F * sizeof(uint32_t), &s)) ||
	    !(xs->runs = xalloc(xs, xs->runs_cap * sizeof(sl_spill_run), &s)))
		goto out;
	held = budget_used_by(b, before);
	size_t slab = max_bytes > held ? max_bytes - held : 0;
	if (opts->run_bytes && slab > opts->run_bytes)
		slab = opts->run_bytes;
	if (slab > ((size_t)1 << 31))
		slab = (size_t)1 << 31;
	slab &= ~(size_t)15;
	if (slab / C < F)
		F = slab / C;
	if (F < 2) {
		s = SL_EBUDGET;
		goto out;
	}
	xs->F = (uint32_t)F;
	xs->slab_len = slab;
	if (!(xs->slab = xalloc(xs, slab, &s)))
		goto out;
	xs->st.fan_in = xs->F;
	xs->st.run_bytes = slab;
	*out = xs;
	return SL_OK;
out:
	sl_xsort_free(xs);
	return s;
}

sl_status sl_xsort_add(sl_xsort *xs, const char *rec, size_t len)
{
	sl_status s;
	if (xs->err)
		return xs->err;
	if (xs->state != ST_ADD || len > SL_XSORT_MAX_RECORD)
		return SL_EINVAL;
	/* An empty record still takes one byte, so that offsets (the
	 * tie-break for input order) are distinct. */
	size_t need = len + !len + sizeof(entry);
	if (xs->slab_len - xs->fill - xs->n * sizeof(entry) < need) {
		if ((s = spill(xs)))
			return s;
		if (need > xs->slab_len) {
			/* Longer than the slab: a run of its own, written from
			 * the caller's memory. */
			uint64_t start = xs->sp.wpos;
			if ((s = sl_spill_put(&xs->sp, rec, len, 0)) || (s = sl_spill_flush(&xs->sp)))
				return sfail(xs, s);
			xs->st.records++;
			return push_run(xs, start, xs->sp.wpos);
		}
	}
	memcpy(xs->slab + xs->fill, rec, len);
	entry *e = entries(xs) - 1;
	e->pfx = prefix(xs, rec, len);
	e->off = (uint32_t)xs->fill;
	e->len = (uint32_t)len;
	xs->fill += len + !len;
	xs->n++;
	xs->st.records++;
	return SL_OK;
}

sl_status sl_xsort_finish(sl_xsort *xs)
{
	sl_status s;
	if (xs->err)
		return xs->err;
	if (xs->state != ST_ADD)
		return SL_EINVAL;
	if (!xs->nruns) {	/* never spilled */
		sort_slab(xs);
		xs->pos = 0;
		xs->state = ST_MEM;
		return SL_OK;
	}
	if ((s = spill(xs)))
		return s;
	size_t count;
	uint32_t level;
	while ((count = sl_spill_tail(xs->runs, xs->nruns, xs->F, xs->F, &level)))
		if ((s = merge_tail(xs, count, level)))
			return s;
	xs->have_last = 0;
	xs->started = 0;
	xs->state = ST_MERGE;
	return merge_open(xs, 0, (uint32_t)xs->nruns);
}

sl_status sl_xsort_next(sl_xsort *xs, const char **rec, size_t *len)
{
	sl_status s;
	*rec = NULL;
	*len = 0;
	if (xs->err)
		return xs->err;
	if (xs->state == ST_MEM) {
		const entry *e = entries(xs);
		while (xs->pos < xs->n) {
			const entry *c = &e[xs->pos++];
			if (xs->o.unique && xs->pos > 1 &&
			    keycmp(xs, xs->slab + c[-1].off, c[-1].len,
				   xs->slab + c->off, c->len) == 0)
				continue;
			*rec = xs->slab + c->off;
			*len = c->len;
			return SL_OK;
		}
		xs->state = ST_END;
		return SL_OK;
	}
	if (xs->state == ST_END)
		return SL_OK;
	if (xs->state != ST_MERGE)
		return SL_EINVAL;
	for (;;) {
		if (xs->started && (s = sl_spill_merge_advance(&xs->sp, &xs->m)))
			return sfail(xs, s);
		xs->started = 1;
		int w = sl_spill_merge_top(&xs->m);
		if (w < 0) {
			merge_close(xs);
			xs->state = ST_END;
			return SL_OK;
		}
		const sl_spill_reader *r = &xs->rd[w];
		if (dup_of_last(xs, r->rec, r->len))
			continue;
		if (xs->o.unique && (s = keep_last(xs, r->rec, r->len)))
			return s;
		*rec = r->rec;
		*len = r->len;
		return SL_OK;
	}
}

int sl_xsort_errno(const sl_xsort *xs)
{
	return xs->err == SL_EIO ? xs->err_no : 0;
}

void sl_xsort_stats_get(const sl_xsort *xs, sl_xsort_stats *st)
{
	*st = xs->st;
}

void sl_xsort_free(sl_xsort *xs)
{
	if (!xs)
		return;
	sl_budget *b = xs->b;
	merge_close(xs);
	sl_spill_free(&xs->sp);
	sl_free(b, xs->slab, xs->slab_len);
	sl_free(b, xs->runs, xs->runs_cap * sizeof(sl_spill_run));
	sl_free(b, xs->heap, xs->rd_cap * sizeof(uint32_t));
	sl_free(b, xs->rd, xs->rd_cap * sizeof(sl_spill_reader));
	sl_free(b, xs->last, xs->last_cap);
	sl_free(b, xs->tmpdir, xs->tmpdir_len + 1);
	sl_free(b, xs, sizeof *xs);
}
