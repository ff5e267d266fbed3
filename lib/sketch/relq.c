/*
 * relq.c: quantiles with a relative error in the value (sl_relq_*).
 *
 * Algorithm: DDSketch, Masson, Rim and Lee, "DDSketch: a fast and fully-
 * mergeable quantile sketch with relative-error guarantees" (VLDB 2019),
 * with a dense, fixed-size bucket store that collapses its LOWEST buckets,
 * preceded by an exact phase that keeps the raw values.
 *
 * Values: v >= 0 (NaN and negative values are not added: sl_relq_add
 * returns false). v == 0 (either sign) counts in the zero bucket and is
 * exact. +inf is kept in the bucket of DBL_MAX (min and max stay exact).
 *
 * Quantile definition (nearest rank, the same in every path and in the
 * tests): quantile(q) is the value of rank r = sl_relq_rank(q, n) in the
 * ascending order of the n values, r = ceil(q n) clamped to [1, n], where
 * q n is first lowered by a relative 1e-12 so that decimal q such as 0.999
 * whose binary product lands a hair above an integer is not pushed one rank
 * up. q <= 0 is rank 1 (the min), q >= 1 rank n (the max).
 *
 * Phase 1, exact: positive values are appended, as their IEEE bit patterns
 * (which order positive doubles as unsigned integers), to a raw array of R
 * cells, R >= B. Quantiles are then exact: the value of rank r is found by
 * a radix select over the bit patterns, most significant byte first: a
 * pass counts, among the cells that share the bytes chosen so far, each
 * value of the next byte in a 256-entry histogram on the stack, and keeps
 * the byte whose cumulative count reaches r (at most 8 passes over the
 * array; once 256 cells or fewer share the prefix, one more pass copies
 * them to the stack, where they are sorted: 3 or 4 passes for most data;
 * no allocation, the sketch unchanged, the same answer whatever the order
 * of the cells).
 *
 * Growth of the raw array ("exact whenever it fits"). The array starts at
 * R = B cells, the store's own. In a pool (sl_relq_set_pool) it grows by
 * half through sl_realloc when a value finds it full (in exact mode as
 * soon as an append fills it), while the budget allows and up to SL_RELQ_MAX_RAW cells (2^22 values, 32 MiB); when the
 * budget refuses, the pool's relieve function is asked for room (it may
 * degrade another table, or this sketch when it holds the most, see
 * lib/report/report.c), and when it has none the array stays full. A
 * sketch outside a pool keeps R = B (the groups' per-group sketches count
 * on sl_relq_bytes(B) each). In exact mode "full" means "could not grow".
 *
 * Phase 2, buckets: when a positive value finds the raw array full (and
 * not in exact mode), or the pool asks (sl_relq_degrade), the cells are
 * converted in place into the bucket store (the first B cells of the same
 * memory): sorted, run-length coded into (key, count) pairs packed into the
 * first cells (each pair uses at least one value, so the writes never pass
 * the reads; at most B pairs, as the keys span < B after the collapse),
 * then spread to their positions key - offset < B from the last to the
 * first (position >= pair index, as keys are distinct and ascending). The
 * array is then shrunk back to B cells, giving the growth back to the
 * budget (a refused shrink keeps the larger block, still counted, and
 * freed whole by sl_relq_free).
 *
 * Bucket mapping: gamma = (1 + a) / (1 - a) for the relative accuracy a.
 * A value v > 0 has key k = ceil(ln v / ln gamma), so that
 * gamma^(k-1) < v <= gamma^k; the bucket answers x(k) = 2 gamma^k /
 * (gamma + 1). Bound: x(k) / v < 2 gamma^k / ((gamma + 1) gamma^(k-1)) =
 * 2 gamma / (gamma + 1) = 1 + a, and x(k) / v >= 2 / (gamma + 1) = 1 - a,
 * so |x(k) - v| <= a v. The quantile of rank r walks the zero bucket and
 * then the buckets in key order to the first whose cumulative count reaches
 * r: the r-th value lies in that bucket, so the answer is within a v of the
 * true r-th value v. Clamping it to [min, max] (exact) only brings it
 * closer; rank 1 and rank n answer the exact min and max. ln() is rounded:
 * a value within a few ulps of a bucket edge may land in the neighbour, so
 * the bound holds as a (1 + 1e-12), which the report rounds to a.
 * (Paper: Section 2, Proposition 3; the choice a = 0.005 gives 1% with a
 * margin of 2.)
 *
 * Bounded store and collapse: B counters cover keys [offset, offset + B).
 * When the keys in use would span B or more, the lowest ones are folded:
 * every count of a key below floor = (highest key) - B + 1 is added to the
 * bucket `floor`, which then answers for them, and later values below floor
 * count there too. Quantiles whose rank falls in the zero bucket or above
 * zero + count(floor) keep the bound; those in the floor bucket lose it
 * (sl_relq_bounded says which). The upper quantiles, which are read first,
 * never lose it. At a = 0.005, B = 4096 covers a ratio max/min of ~5e17.
 *
 * Determinism and merge: nothing is random. A store's content is a function
 * of the multiset of keys added: floor is the highest key ever seen minus
 * B - 1 once the span has reached B (or the larger floor of a merged
 * sketch), and every other count is exact. Merge adds counts key by key
 * (exact when both hold raw values that fit together: the raw arrays are
 * concatenated), so any order of adds and merges gives the same quantiles.
 * The window's placement (offset) depends on the order but no answer does.
 *
 * Exact mode (sl_relq_set_exact, for --exact): the raw array never turns
 * into buckets. When it is full (it could not grow) the caller moves its
 * values elsewhere (the report spills them to an external sort,
 * lib/spill/xsort.c) and calls sl_relq_raw_spilled, which keeps the
 * array's cells; sl_relq_add refuses a positive value while the array is
 * full. Once values have been spilled, quantiles other than the min, the
 * max and the zeros are only those the caller computed from the sorted
 * values and set with sl_relq_set_answers (NaN for any other q). Merging two
 * exact-mode sketches needs their raw values to fit one array (dst's,
 * grown if it can).

 * Converted sketches: state files of versions 1 and 2 hold KLL sketches;
 * sl_relq_add_kll adds a KLL's retained items with their weights and carries
 * its rank error (in ranks, summed over merges) as rank_slack: those
 * quantiles are within the relative bound of a value whose rank is within
 * rank_slack of r.
 *
 * Memory: two blocks from the budget at sl_relq_new: the struct (its
 * address never changes) and the array of R cells of 8 bytes (raw bit
 * patterns, then counts in its first B cells), which moves when it grows.
 * sl_relq_bytes(B) = sizeof(struct) + 8 B, what a sketch outside a pool
 * holds for good. Adds and merges never fail for lack of memory: a refused
 * growth turns the raw values into buckets, which need no memory.
 *
 * Cost: an add in phase 1 is a store and compares (the growth check is the
 * same compare that finds the array full); in phase 2 one log(),
 * a multiply and an increment (a shift of the window is a memmove of at
 * most 8 B bytes, at most a few dozen times over a stream). The last key
 * is cached, so runs of equal values (request times in milliseconds) skip
 * the log().
 *
 * Serialized (state file section, see docs/state-format.md):
 *   f64 a | u32 B | u64 n | u64 zero | f64 min | f64 max | f64 rank_slack
 *   | u8 mode (0 raw, 1 buckets)
 *   mode 0: u32 m, then m x f64 positive values (m = n - zero; m may
 *           exceed B, up to SL_RELQ_MAX_RAW, when the array had grown)
 *   mode 1: u8 collapsed | i64 first key | u32 m | m x u64 counts, keys
 *           first .. first + m - 1 (counts sum to n - zero; when collapsed,
 *           the first key is the floor and its count is not 0)
 * Loading merges into the caller's empty sketch (lib/core/wire.h).
 */
#include "sluice.h"
#include "core/wire.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_ALPHA 1e-4
#define MAX_ALPHA 0.25
#define RANK_SLACK_REL 1e-12

struct sl_relq {
	sl_budget *budget;
	sl_relieve_fn relieve;	/* in a pool: the raw array may grow */
	void *relieve_ud;
	double alpha;
	double ln_gamma, inv_ln_gamma, rep_shift; /* rep_shift = ln(2/(gamma+1)) */
	uint64_t n;		/* values added (zero included) */
	uint64_t zero;		/* values equal to 0 */
	double min, max;	/* exact; +inf, -inf while empty */
	double rank_slack;	/* rank error inherited from KLLs, in ranks */
	uint32_t cap;		/* B: the bucket store's cells */
	uint32_t acap;		/* R >= B: the array's cells */
	uint32_t nraw;		/* phase 1: raw values held */
	bool bucketed;		/* phase 2 */
	bool collapsed;		/* floor holds folded counts */
	bool exact;		/* never bucketed: the caller spills (exact mode) */
	uint64_t spilled;	/* exact mode: positive values moved out */
	uint32_t nanswers;	/* exact mode: answers set after a spill */
	double answer_q[SL_RELQ_MAX_ANSWERS], answer_v[SL_RELQ_MAX_ANSWERS];
	int32_t offset;		/* key of cell 0 */
	int32_t lo, hi;		/* keys in use (valid when bucket_n > 0) */
	int32_t floor;		/* valid when collapsed */
	uint64_t bucket_n;	/* sum of the counts */
	double last_v;		/* key cache */
	int32_t last_key;
	uint64_t *cell;		/* R cells: raw bit patterns, or B counts */
};

size_t sl_relq_bytes(uint32_t buckets)
{
	if (buckets < SL_RELQ_MIN_BUCKETS || buckets > SL_RELQ_MAX_BUCKETS)
		return SIZE_MAX;
	return sizeof(struct sl_relq) + (size_t)buckets * sizeof(uint64_t);
}

sl_relq *sl_relq_new(sl_budget *b, uint32_t buckets, double alpha)
{
	if (!(alpha >= MIN_ALPHA && alpha <= MAX_ALPHA))
		return NULL;
	size_t bytes = sl_relq_bytes(buckets);
	if (bytes == SIZE_MAX)
		return NULL;
	sl_relq *s = sl_malloc(b, sizeof *s);
	if (!s)
		return NULL;
	memset(s, 0, sizeof *s);
	if (!(s->cell = sl_calloc(b, buckets, sizeof *s->cell))) {
		sl_free(b, s, sizeof *s);
		return NULL;
	}
	s->budget = b;
	s->alpha = alpha;
	double gamma = (1 + alpha) / (1 - alpha);
	s->ln_gamma = log(gamma);
	s->inv_ln_gamma = 1 / s->ln_gamma;
	s->rep_shift = log(2 / (gamma + 1));
	s->min = INFINITY;
	s->max = -INFINITY;
	s->cap = s->acap = buckets;
	s->last_v = -1;
	return s;
}

void sl_relq_free(sl_relq *s)
{
	if (!s)
		return;
	sl_free(s->budget, s->cell, (size_t)s->acap * sizeof *s->cell);
	sl_free(s->budget, s, sizeof *s);
}

uint64_t sl_relq_count(const sl_relq *s) { return s->n; }
uint32_t sl_relq_buckets(const sl_relq *s) { return s->cap; }
double sl_relq_alpha(const sl_relq *s) { return s->alpha; }
double sl_relq_min(const sl_relq *s) { return s->n ? s->min : NAN; }
double sl_relq_max(const sl_relq *s) { return s->n ? s->max : NAN; }
bool sl_relq_is_exact(const sl_relq *s) { return !s->bucketed && s->rank_slack == 0; }
double sl_relq_rank_slack(const sl_relq *s) { return s->rank_slack; }

double sl_relq_relative_error(const sl_relq *s)
{
	return s->bucketed ? s->alpha : 0;
}

uint64_t sl_relq_rank(double q, uint64_t n)
{
	if (n == 0)
		return 0;
	if (!(q > 0))
		return 1;
	if (q >= 1)
		return n;
	double x = q * (double)n;
	x -= x * RANK_SLACK_REL;
	double c = ceil(x);
	if (c < 1)
		return 1;
	if (c >= (double)n)
		return n;
	return (uint64_t)c;
}

/* ---- keys and buckets ------------------------------------------------------ */

static int32_t key_of(const sl_relq *s, double v)
{
	if (v > DBL_MAX)
		v = DBL_MAX;
	return (int32_t)ceil(log(v) * s->inv_ln_gamma);
}

/* The value bucket k answers: 2 gamma^k / (gamma + 1), without overflow. */
static double rep_of(const sl_relq *s, int32_t k)
{
	return exp((double)k * s->ln_gamma + s->rep_shift);
}

static double clamp(const sl_relq *s, double v)
{
	return v < s->min ? s->min : v > s->max ? s->max : v;
}

/* Moves the window so that cell 0 holds key `offset` (the keys in use must
 * fit the new window). */
static void rebase(sl_relq *s, int32_t offset)
{
	int64_t d = (int64_t)offset - s->offset;
	uint32_t B = s->cap;
	if (d == 0)
		return;
	if (s->bucket_n == 0 || d >= B || -d >= B) {
		/* nothing in use lies in both windows (see the callers) */
		memset(s->cell, 0, (size_t)B * sizeof *s->cell);
		s->offset = offset;
		return;
	}
	if (d > 0) {
		memmove(s->cell, s->cell + d, (size_t)(B - d) * sizeof *s->cell);
		memset(s->cell + (B - d), 0, (size_t)d * sizeof *s->cell);
	} else {
		memmove(s->cell - d, s->cell, (size_t)(B + d) * sizeof *s->cell);
		memset(s->cell, 0, (size_t)(-d) * sizeof *s->cell);
	}
	s->offset = offset;
}

/* Folds every count of a key below f into key f (which must be in use or
 * in the window), and keeps f as the floor. */
static void raise_floor(sl_relq *s, int32_t f)
{
	if (s->collapsed && f <= s->floor)
		return;
	s->collapsed = true;
	s->floor = f;
	if (s->bucket_n == 0 || s->lo >= f)
		return;
	uint64_t sum = 0;
	int32_t top = s->hi < f ? s->hi : f - 1;
	for (int32_t k = s->lo; k <= top; k++) {
		sum += s->cell[k - s->offset];
		s->cell[k - s->offset] = 0;
	}
	/* the window may not hold f: centre it on [f, max(hi, f)] */
	int32_t hi = s->hi > f ? s->hi : f;
	if (f < s->offset || f >= s->offset + (int64_t)s->cap) {
		s->bucket_n -= sum; /* rebase treats an empty store as blank */
		int64_t slack = (int64_t)s->cap - ((int64_t)hi - f + 1);
		rebase(s, (int32_t)(f - slack / 2));
		s->bucket_n += sum;
	}
	s->cell[f - s->offset] += sum;
	s->lo = f;
	s->hi = hi;
}

/* Adds c to key k, moving the window or collapsing as needed. */
static void add_key(sl_relq *s, int32_t k, uint64_t c)
{
	if (s->collapsed && k < s->floor)
		k = s->floor;
	if (s->bucket_n == 0) {
		rebase(s, (int32_t)(k - (int64_t)s->cap / 2));
		s->lo = s->hi = k;
	} else if (k < s->offset || k >= s->offset + (int64_t)s->cap) {
		int32_t lo = k < s->lo ? k : s->lo, hi = k > s->hi ? k : s->hi;
		if ((int64_t)hi - lo >= s->cap) {
			int32_t f = (int32_t)(hi - (int64_t)s->cap + 1);
			raise_floor(s, f);
			if (k < f)
				k = f;
			lo = s->lo < k ? s->lo : k;
		}
		int64_t slack = (int64_t)s->cap - ((int64_t)hi - lo + 1);
		rebase(s, (int32_t)(lo - slack / 2));
	}
	s->cell[k - s->offset] += c;
	s->bucket_n += c;
	if (k < s->lo)
		s->lo = k;
	if (k > s->hi)
		s->hi = k;
}

/* Sorts a[0 .. n) ascending in place by the byte at `shift` and those
 * below it: an American flag sort (McIlroy, Bostic and McIlroy,
 * "Engineering Radix Sort", Computing Systems 1993), most significant byte
 * first, each pass a histogram then cycles of swaps into the buckets; runs
 * under 32 by insertion. No allocation (qsort's merge sort would malloc a
 * copy of the array outside the budget), 4 KiB of stack per byte, at most
 * 8 deep; O(8 n) at worst. */
static void sort_bits(uint64_t *a, size_t n, int shift)
{
	if (n < 32) {
		for (size_t i = 1; i < n; i++) {
			uint64_t v = a[i];
			size_t j = i;
			for (; j > 0 && a[j - 1] > v; j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
		return;
	}
	size_t end[256] = {0}, next[256];
	for (size_t i = 0; i < n; i++)
		end[a[i] >> shift & 255]++;
	size_t at = 0;
	bool one = false;
	for (unsigned d = 0; d < 256; d++) {
		one |= end[d] == n;
		next[d] = at;
		at += end[d];
		end[d] = at;
	}
	if (!one) {
		for (unsigned d = 0; d < 256; d++) {
			while (next[d] < end[d]) {
				uint64_t v = a[next[d]];
				unsigned e = (unsigned)(v >> shift & 255);
				while (e != d) {
					uint64_t w = a[next[e]];
					a[next[e]++] = v;
					v = w;
					e = (unsigned)(v >> shift & 255);
				}
				a[next[d]++] = v;
			}
		}
	}
	if (shift == 0)
		return;
	for (unsigned d = 0; d < 256; d++) {
		size_t lo = d ? end[d - 1] : 0;
		if (end[d] - lo > 1)
			sort_bits(a + lo, end[d] - lo, shift - 8);
	}
}

static double from_bits(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof v);
	return v;
}

static uint64_t to_bits(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	return u;
}

/* ---- the raw array ------------------------------------------------------------ */

/* Grows the raw array to hold at least `need` cells: by half (or to need,
 * if more), at most SL_RELQ_MAX_RAW, asking the pool's relieve function
 * for room while the budget refuses. False, with the array as it was, when
 * not in a pool, past the cap, or when relieve has nothing to give. */
static bool grow(sl_relq *s, uint64_t need)
{
	if (!s->relieve || need > SL_RELQ_MAX_RAW)
		return false;
	uint64_t want = (uint64_t)s->acap + s->acap / 2;
	if (want < need)
		want = need;
	if (want > SL_RELQ_MAX_RAW)
		want = SL_RELQ_MAX_RAW;
	for (;;) {
		uint64_t *p = sl_realloc(s->budget, s->cell, (size_t)s->acap * sizeof *p,
					 (size_t)want * sizeof *p);
		if (p) {
			s->cell = p;
			s->acap = (uint32_t)want;
			return true;
		}
		if (!s->relieve(s->relieve_ud, s))
			return false;
	}
}

/* Exact mode, after an append, a merge or a load: a full array grows now,
 * so that "full" means "could not grow" (the caller spills on it). Other
 * sketches grow when the next value comes (a growth nobody needs would
 * take memory the pool's other tables may want). */
static void filled(sl_relq *s)
{
	if (s->exact && s->nraw == s->acap)
		grow(s, (uint64_t)s->nraw + 1);
}

/* Phase 2 uses the first B cells: gives the rest back (a refused shrink
 * keeps the larger block, counted as it is). */
static void shrink(sl_relq *s)
{
	if (s->acap == s->cap)
		return;
	uint64_t *p = sl_realloc(s->budget, s->cell, (size_t)s->acap * sizeof *p,
				 (size_t)s->cap * sizeof *p);
	if (p) {
		s->cell = p;
		s->acap = s->cap;
	}
}

/* Phase 1 -> phase 2, in place (see the top comment); then shrinks. */
static void to_buckets(sl_relq *s)
{
	uint32_t m = s->nraw, d = 0;
	s->bucketed = true;
	s->nraw = 0;
	s->bucket_n = 0;
	s->collapsed = false;
	if (m == 0) {
		memset(s->cell, 0, (size_t)s->cap * sizeof *s->cell);
		shrink(s);
		return;
	}
	sort_bits(s->cell, m, 56);
	int32_t kmin = key_of(s, from_bits(s->cell[0]));
	int32_t kmax = key_of(s, from_bits(s->cell[m - 1]));
	int32_t f = kmin;
	if ((int64_t)kmax - kmin >= s->cap) {
		f = (int32_t)(kmax - (int64_t)s->cap + 1);
		s->collapsed = true;
		s->floor = f;
	}
	/* run-length code into (key, count) pairs: key in the high 32 bits
	 * (biased to unsigned), count in the low 32 */
	int32_t prev = 0;
	for (uint32_t i = 0; i < m; i++) {
		int32_t k = key_of(s, from_bits(s->cell[i]));
		if (k < f)
			k = f;
		if (d > 0 && k == prev) {
			s->cell[d - 1]++;
		} else {
			s->cell[d++] = ((uint64_t)((uint32_t)k ^ 0x80000000u) << 32) | 1;
			prev = k;
		}
	}
	int32_t lo = kmin < f ? f : kmin;
	int64_t slack = (int64_t)s->cap - ((int64_t)kmax - lo + 1);
	s->offset = (int32_t)(lo - slack / 2);
	uint64_t next = s->cap;
	for (uint32_t j = d; j-- > 0;) {
		uint64_t pair = s->cell[j];
		int32_t k = (int32_t)((uint32_t)(pair >> 32) ^ 0x80000000u);
		uint64_t c = pair & 0xffffffffu;
		uint64_t p = (uint64_t)((int64_t)k - s->offset);
		for (uint64_t z = p + 1; z < next; z++)
			s->cell[z] = 0;
		s->cell[p] = c;
		next = p;
	}
	for (uint64_t z = 0; z < next; z++)
		s->cell[z] = 0;
	s->lo = lo;
	s->hi = kmax;
	s->bucket_n = m;
	shrink(s);
}

static void add_positive(sl_relq *s, double v, uint64_t c)
{
	if (!s->bucketed) {
		if (c == 1 && (s->nraw < s->acap || grow(s, (uint64_t)s->nraw + 1))) {
			s->cell[s->nraw++] = to_bits(v);
			if (s->nraw == s->acap)
				filled(s);
			return;
		}
		if (s->exact)
			return; /* not reached: callers check raw_full first */
		to_buckets(s);
	}
	int32_t k;
	if (v == s->last_v) {
		k = s->last_key;
	} else {
		k = key_of(s, v);
		s->last_v = v;
		s->last_key = k;
	}
	add_key(s, k, c);
}

static void see(sl_relq *s, double v)
{
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
}

bool sl_relq_add(sl_relq *s, double v)
{
	if (!(v >= 0) || (v != 0 && s->exact && s->nraw == s->acap))
		return false;
	s->n++;
	see(s, v);
	if (v == 0) {
		s->zero++;
		return true;
	}
	add_positive(s, v, 1);
	return true;
}

/* ---- merge ------------------------------------------------------------------ */

/* Adds the positive content of src (raw or buckets) to s. */
static void add_content(sl_relq *s, const sl_relq *src)
{
	if (!src->bucketed) {
		uint64_t need = s->nraw + (uint64_t)src->nraw;
		if (!s->bucketed && (need <= s->acap || grow(s, need))) {
			memcpy(s->cell + s->nraw, src->cell, (size_t)src->nraw * sizeof *s->cell);
			s->nraw += src->nraw;
			filled(s);
			return;
		}
		if (!s->bucketed)
			to_buckets(s);
		for (uint32_t i = 0; i < src->nraw; i++)
			add_key(s, key_of(s, from_bits(src->cell[i])), 1);
		return;
	}
	if (!s->bucketed)
		to_buckets(s);
	if (src->collapsed)
		raise_floor(s, src->floor);
	if (src->bucket_n == 0)
		return;
	/* from the top down, so that the window settles at once */
	for (int32_t k = src->hi; k >= src->lo; k--) {
		uint64_t c = src->cell[k - src->offset];
		if (c)
			add_key(s, k, c);
		if (k == INT32_MIN)
			break;
	}
}

sl_status sl_relq_merge(sl_relq *dst, const sl_relq *src)
{
	if (dst == src || dst->alpha != src->alpha)
		return SL_EINVAL;
	if (src->n == 0)
		return SL_OK;
	if (dst->n > UINT64_MAX - src->n)
		return SL_EINVAL;
	uint64_t need = (uint64_t)dst->nraw + src->nraw;
	if (dst->exact != src->exact || (dst->exact && need > dst->acap && !grow(dst, need)))
		return SL_EINVAL;
	dst->spilled += src->spilled;
	add_content(dst, src);
	dst->n += src->n;
	dst->zero += src->zero;
	see(dst, src->min);
	see(dst, src->max);
	dst->rank_slack += src->rank_slack;
	return SL_OK;
}

/* ---- queries ---------------------------------------------------------------- */

/* Phase 1: the r-th smallest raw cell (1 <= r <= nraw), by a radix select
 * over the bit patterns, most significant byte first (see the top
 * comment); once at most GATHER cells share the prefix, one more pass
 * copies them to the stack and sorts them. */
#define GATHER 256
static double raw_select(const sl_relq *s, uint64_t r)
{
	const uint64_t *cell = s->cell;
	uint32_t n = s->nraw, count[256];
	uint64_t prefix = 0, mask = 0;
	for (int shift = 56; shift >= 0; shift -= 8) {
		memset(count, 0, sizeof count);
		if (mask == 0) {
			for (uint32_t i = 0; i < n; i++)
				count[cell[i] >> shift & 255]++;
		} else {
			for (uint32_t i = 0; i < n; i++)
				count[cell[i] >> shift & 255] += (cell[i] & mask) == prefix;
		}
		unsigned d = 0;
		while (r > count[d])
			r -= count[d++];
		prefix |= (uint64_t)d << shift;
		mask |= (uint64_t)255 << shift;
		if (count[d] <= GATHER && shift > 0) {
			/* few cells left with this prefix: one pass gathers
			 * them, the r-th of them is the answer */
			uint64_t few[GATHER];
			uint32_t k = 0;
			for (uint32_t i = 0; i < n; i++)
				if ((cell[i] & mask) == prefix)
					few[k++] = cell[i];
			sort_bits(few, k, shift - 8);
			return from_bits(few[r - 1]);
		}
	}
	return from_bits(prefix);
}

/* The key of the bucket holding rank r of the positive values (1-based). */
static int32_t bucket_select(const sl_relq *s, uint64_t r)
{
	uint64_t acc = 0;
	for (int32_t k = s->lo; k < s->hi; k++) {
		acc += s->cell[k - s->offset];
		if (acc >= r)
			return k;
	}
	return s->hi;
}

double sl_relq_quantile(const sl_relq *s, double q)
{
	if (s->n == 0 || isnan(q))
		return NAN;
	uint64_t r = sl_relq_rank(q, s->n);
	if (s->spilled && r != 1 && r != s->n && r > s->zero) {
		for (uint32_t i = 0; i < s->nanswers; i++)
			if (s->answer_q[i] == q)
				return s->answer_v[i];
		return NAN;
	}
	if (r == 1)
		return s->min;
	if (r == s->n)
		return s->max;
	if (r <= s->zero)
		return 0;
	r -= s->zero;
	if (!s->bucketed)
		return raw_select(s, r);
	return clamp(s, rep_of(s, bucket_select(s, r)));
}

bool sl_relq_bounded(const sl_relq *s, double q)
{
	if (s->n == 0 || !s->bucketed || !s->collapsed)
		return true;
	uint64_t r = sl_relq_rank(q, s->n);
	if (r == 1 || r == s->n || r <= s->zero)
		return true;
	return r - s->zero > s->cell[s->floor - s->offset];
}

/* ---- exact mode -------------------------------------------------------------- */

sl_status sl_relq_set_exact(sl_relq *s)
{
	if (s->n || s->bucketed)
		return SL_EINVAL;
	s->exact = true;
	return SL_OK;
}

bool sl_relq_raw_full(const sl_relq *s)
{
	return s->exact && s->nraw == s->acap;
}

uint32_t sl_relq_raw_count(const sl_relq *s)
{
	return s->bucketed ? 0 : s->nraw;
}

double sl_relq_raw_value(const sl_relq *s, uint32_t i)
{
	return !s->bucketed && i < s->nraw ? from_bits(s->cell[i]) : NAN;
}

void sl_relq_raw_spilled(sl_relq *s)
{
	if (!s->exact)
		return;
	s->spilled += s->nraw;
	s->nraw = 0;
	s->nanswers = 0;
}

uint64_t sl_relq_spilled(const sl_relq *s)
{
	return s->spilled;
}

uint64_t sl_relq_zero_count(const sl_relq *s)
{
	return s->zero;
}

sl_status sl_relq_set_answers(sl_relq *s, const double *q, const double *v, size_t n)
{
	if (!s->exact || n > SL_RELQ_MAX_ANSWERS)
		return SL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		s->answer_q[i] = q[i];
		s->answer_v[i] = v[i];
	}
	s->nanswers = (uint32_t)n;
	return SL_OK;
}

/* ---- the pool ------------------------------------------------------------------ */

void sl_relq_set_pool(sl_relq *s, sl_relieve_fn fn, void *ud)
{
	s->relieve = fn;
	s->relieve_ud = fn ? ud : NULL;
	if (fn && !s->bucketed)
		filled(s);
}

size_t sl_relq_excess(const sl_relq *s)
{
	if (s->bucketed || s->exact)
		return 0;
	return (size_t)(s->acap - s->cap) * sizeof *s->cell;
}

void sl_relq_degrade(sl_relq *s)
{
	if (!s->bucketed && !s->exact)
		to_buckets(s);
}

/* ---- conversion from KLL (state files of versions 1 and 2) ----------------- */

typedef struct {
	sl_relq *s;
	uint64_t added;
} kll_ctx;

static void take_item(void *ud, double v, uint64_t w)
{
	kll_ctx *c = ud;
	if (!(v >= 0))
		return;
	c->added += w;
	if (v == 0)
		c->s->zero += w;
	else
		add_positive(c->s, v, w);
}

sl_status sl_relq_add_kll(sl_relq *dst, const sl_kll *k)
{
	uint64_t n = sl_kll_count(k);
	if (n == 0)
		return SL_OK;
	double min = sl_kll_quantile(k, 0), max = sl_kll_quantile(k, 1);
	if (!(min >= 0) || dst->n > UINT64_MAX - n)
		return SL_EINVAL;
	kll_ctx c = {dst, 0};
	/* weighted items go to the buckets directly */
	if (!dst->bucketed)
		to_buckets(dst);
	sl_kll_visit(k, take_item, &c);
	if (c.added != n)
		return SL_EINVAL;
	dst->n += n;
	see(dst, min);
	see(dst, max);
	dst->rank_slack += sl_kll_rank_error(k) * (double)n;
	return SL_OK;
}

/* ---- wire --------------------------------------------------------------------- */

void sl_relq_encode(const sl_relq *s, sl_wire_writer *w)
{
	if (s->spilled) {
		w->failed = true; /* its values are in the caller's sort, not here */
		return;
	}
	sl_wire_f64(w, s->alpha);
	sl_wire_u32(w, s->cap);
	sl_wire_u64(w, s->n);
	sl_wire_u64(w, s->zero);
	sl_wire_f64(w, s->min);
	sl_wire_f64(w, s->max);
	sl_wire_f64(w, s->rank_slack);
	sl_wire_u8(w, s->bucketed);
	if (!s->bucketed) {
		sl_wire_u32(w, s->nraw);
		for (uint32_t i = 0; i < s->nraw; i++)
			sl_wire_u64(w, s->cell[i]);
		return;
	}
	sl_wire_u8(w, s->collapsed);
	uint32_t m = s->bucket_n ? (uint32_t)(s->hi - s->lo + 1) : 0;
	sl_wire_i64(w, s->bucket_n ? s->lo : 0);
	sl_wire_u32(w, m);
	for (uint32_t i = 0; i < m; i++)
		sl_wire_u64(w, s->cell[s->lo - s->offset + (int64_t)i]);
}

static sl_status corrupt(const char **why, const char *text)
{
	*why = text;
	return SL_ECORRUPT;
}

sl_status sl_relq_load(sl_relq *dst, sl_wire_reader *r, const char **why)
{
	double alpha = sl_wire_get_f64(r);
	uint32_t cap = sl_wire_get_u32(r);
	uint64_t n = sl_wire_get_u64(r), zero = sl_wire_get_u64(r);
	double min = sl_wire_get_f64(r), max = sl_wire_get_f64(r);
	double slack = sl_wire_get_f64(r);
	uint8_t mode = sl_wire_get_u8(r);
	if (r->bad)
		return corrupt(why, "quantile sketch truncated");
	if (dst->n != 0)
		return SL_EINVAL;
	if (alpha != dst->alpha)
		return corrupt(why, "quantile sketch of another relative accuracy");
	if (cap < SL_RELQ_MIN_BUCKETS || cap > SL_RELQ_MAX_BUCKETS || mode > 1)
		return corrupt(why, "quantile sketch size or mode impossible");
	if (!(slack >= 0) || isinf(slack) || zero > n)
		return corrupt(why, "quantile sketch counts impossible");
	if (n == 0 ? !(min == INFINITY && max == -INFINITY && slack == 0)
		   : !(min >= 0 && min <= max) || (zero && min != 0) ||
			     (zero == n && max != 0))
		return corrupt(why, "quantile sketch min and max impossible");
	/* a scratch sketch of the encoded size would be the exact image; dst
	 * is filled through the merge paths instead, so a different B works */
	if (mode == 0) {
		uint32_t m = sl_wire_get_u32(r);
		if (r->bad || m != n - zero || m > SL_RELQ_MAX_RAW)
			return corrupt(why, "quantile sketch raw count impossible");
		if (!sl_wire_need(r, m, 8))
			return corrupt(why, "quantile sketch values truncated");
		/* room for them all at once when the pool has it; else the
		 * values past the array turn it into buckets */
		if (!dst->bucketed && m > dst->acap && !grow(dst, m) && dst->exact)
			return SL_EINVAL;
		for (uint32_t i = 0; i < m; i++) {
			double v = from_bits(sl_wire_get_u64(r));
			if (!(v > 0 && v >= min && v <= max))
				return corrupt(why, "quantile sketch value outside (0, max] or NaN");
			if (!dst->bucketed && dst->nraw < dst->acap)
				dst->cell[dst->nraw++] = to_bits(v);
			else
				add_positive(dst, v, 1);
		}
		if (!dst->bucketed)
			filled(dst);
	} else {
		uint8_t collapsed = sl_wire_get_u8(r);
		int64_t first = sl_wire_get_i64(r);
		uint32_t m = sl_wire_get_u32(r);
		if (r->bad || collapsed > 1 || m > cap || (m == 0) != (n == zero) ||
		    (collapsed && m == 0))
			return corrupt(why, "quantile sketch buckets impossible");
		if (first < INT32_MIN || first + (int64_t)m - 1 > INT32_MAX)
			return corrupt(why, "quantile sketch keys out of range");
		if (!sl_wire_need(r, m, 8))
			return corrupt(why, "quantile sketch buckets truncated");
		if (!dst->bucketed)
			to_buckets(dst);
		if (collapsed)
			raise_floor(dst, (int32_t)first);
		uint64_t sum = 0;
		for (uint32_t i = 0; i < m; i++) {
			uint64_t c = sl_wire_get_u64(r);
			if (c > UINT64_MAX - sum || ((i == 0 || i == m - 1) && c == 0))
				return corrupt(why, "quantile sketch bucket counts impossible");
			sum += c;
			if (c)
				add_key(dst, (int32_t)(first + i), c);
		}
		if (sum != n - zero)
			return corrupt(why, "quantile sketch counts do not sum to n");
	}
	dst->n = n;
	dst->zero = zero;
	dst->rank_slack = slack;
	if (n) {
		dst->min = min;
		dst->max = max;
	}
	return SL_OK;
}
