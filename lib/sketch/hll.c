/*
 * hll.c: HyperLogLog registers (sl_hll_*), four bits a register over an
 * offset with a small exception table, with the HIP estimator for a single
 * stream and Ertl's estimator after merges.
 *
 * Papers:
 *   P. Flajolet, E. Fusy, O. Gandouet, F. Meunier, "HyperLogLog: the analysis
 *   of a near-optimal cardinality estimation algorithm", AofA 2007.
 *   E. Cohen, "All-distances sketches, revisited: HIP estimators for massive
 *   graphs analysis", PODS 2014, and D. Ting, "Streamed approximate counting
 *   of distinct elements", KDD 2014 (the historic inverse probability, or
 *   martingale, estimator).
 *   O. Ertl, "New cardinality estimation algorithms for HyperLogLog
 *   sketches", arXiv:1702.01284, 2017 (the "improved" estimator, as used by
 *   Redis since 5.0).
 *   The four-bit layout follows the idea of Apache DataSketches' HLL_4 (an
 *   offset, "cur_min", and an exception map for the registers far above
 *   it); the code and the table below are this module's own.
 *
 * Registers
 * ---------
 * m = 2^p registers, p in [SL_HLL_MIN_P, SL_HLL_MAX_P]. A 64-bit hash h is
 * split as
 *
 *     63                 64-p 63-p                               0
 *     +---------------------+----------------------------------+
 *     |   index (p bits)    |        rest (q = 64 - p bits)    |
 *     +---------------------+----------------------------------+
 *
 *     register[index] = max(register[index], rank)
 *     rank            = 1 + (leading zeros of rest, within its q bits)
 *                     = q + 1 = 65 - p when rest is all zero
 *
 * so a register holds 0 (never hit) or 1 .. 65 - p <= 61. The add computes
 * the rank branch-free: shift the rest to the top of a word and OR in a
 * sentinel bit at position p - 1, so that __builtin_clzll never sees zero
 * and stops at q when the rest is all zero.
 *
 * Layout: a base, four-bit nibbles and an exception table
 * --------------------------------------------------------
 * Every register is >= base (the "cur_min" of HLL_4: the smallest register
 * value; 0 while a register is empty). Register i is stored as the nibble
 * n = value - base when that is at most 14; n = 15 marks an exception,
 * whose value is in the exception table. Nibble i is in byte i / 2, the low
 * four bits for even i, the high four for odd i:
 *
 *     byte      0         1         2     ...   2^p / 2 - 1
 *            [r1|r0]   [r3|r2]   [r5|r4]         [r(m-1)|r(m-2)]
 *
 * The exception table holds up to E(p) = 2^p / 256 + 16 four-byte words,
 * index << 8 | value, little-endian, sorted by index, one for each nibble
 * 15 and no other. Example, p = 4, base 3: registers 3, 5, 19 and 3
 * (i = 0..3, the rest 3) give bytes 0x20 0x0f 0x00 ... and one word
 * 0x00000213 (index 2, value 19 = 0x13), bytes 13 02 00 00.
 *
 * base rises when no register is left at it (a count, at_base, is kept):
 * one pass lowers every nibble by the rise and moves the exceptions that
 * now fit back into their nibbles. Sizing: for n random hashes the number
 * of registers at base + 15 or more hovers around m / 1000 (measured for
 * p = 8 .. 16 over 200 m hashes: at most 33 at p = 15, 64 at p = 16),
 * and E(p) is over four times that (144 at p = 15, 272 at p = 16): that
 * count is close to Poisson, so random hashes fill the table with a
 * negligible probability. Crafted hashes can fill it; an exception that
 * does not fit then
 * folds the sketch to p - 1 (see folding below: exact for the lower
 * precision, HIP stays valid, the stated error becomes that of p - 1) and
 * the add is retried, until it fits. At SL_HLL_MIN_P = 4, E = 16 = m, so
 * every register fits: a full table never loses a register and never
 * needs memory.
 *
 * Memory: sl_hll_bytes(p) = sizeof(struct sl_hll) + 2^p / 2 + 4 E(p), all
 * taken by sl_hll_new (p = 14: 8,192 + 320 bytes, 8,568 with the handle;
 * p = 15: 16,384 + 576, 17,016 in all), and adds, merges, folds and estimates
 * never allocate. For comparison: six-bit packing took 12,289 bytes at
 * p = 14 and one byte a register 16,384.
 *
 * Estimators
 * ----------
 * HIP, while the sketch is fed by one stream (never merged). Before each
 * register change the sketch would have changed, for one new distinct hash,
 * with probability P = (sum over registers of 2^-register) / m; the change
 * adds 1 / P to the running estimate. Given the history each new distinct
 * hash adds 1 in expectation and a repeated hash never changes a register,
 * so the estimate is unbiased at every n as long as the order of the hashes
 * does not depend on their values; its relative standard error tends to
 * sqrt(ln 2) / sqrt(m) ~ 0.833 / sqrt(m) from below as n grows (Ting 2014,
 * section 5; Cohen 2014), against 1.04 / sqrt(m) for the estimators that
 * read only the registers. The sum of 2^-register is kept exactly in two
 * integers, kxq_low = sum of 2^(31 - v) over registers v <= 31 and kxq_high
 * = sum of 2^(61 - v) over registers v >= 32 (v <= 61, m <= 2^18: neither
 * overflows), updated on each change, so P is the same on every machine
 * and run. HIP depends on the order the hashes came in: the same stream
 * always gives the same figure, two orders of one set differ within the
 * bound. A caller that knows the exact number n of distinct hashes behind
 * the registers (lib/sketch/distinct.c, when it replays its exact set) restarts
 * HIP from n (sl_hll_restart_hip): the later increments are still 1 in
 * expectation each, so the estimate stays unbiased and its error only
 * comes from the hashes after the restart.
 *
 * Ertl's improved raw estimator once the sketch has been merged (HIP's sum
 * is a property of one stream's history and has no meaning for the union of
 * two), or loaded from a state that was merged or kept no HIP sum. With
 * C[k] the number of registers equal to k (k = 0 .. q + 1):
 *
 *                           alpha_inf * m^2
 *   E = --------------------------------------------------------------
 *       m sigma(C[0]/m) + sum_{k=1..q} C[k] 2^-k + m tau(1 - C[q+1]/m) 2^-q
 *
 *   alpha_inf = 1 / (2 ln 2)
 *   sigma(x)  = x + sum_{k>=1} x^(2^k) 2^(k-1)
 *   tau(x)    = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3
 *
 * sigma corrects for empty registers (it replaces linear counting) and tau
 * for saturated ones, so one formula covers every cardinality with no bias
 * table. Both series are summed until the sum stops changing in double
 * precision. It depends on the registers only, so any split of a stream
 * merged in any order gives the same figure. Relative standard error about
 * 1.04 / sqrt(m) (less for n well below m).
 *
 * Bounds: both report E and the normal 95% interval
 * E * (1 -/+ 1.96 * se), clipped at 0, with se = SL_HLL_HIP_SE / sqrt(m)
 * (HIP) or SL_HLL_ERTL_SE / sqrt(m) (merged); sl_hll_std_error says which.
 * All registers empty gives E = 0 with either.
 *
 * Error per byte: at equal bytes the error scales with se * sqrt(bits a
 * register). HIP on four bits: 0.833 * sqrt(4.14) = 1.69 (the table adds
 * 0.14 bits a register), as HLL_4 with HIP; Ertl 1.04 * sqrt(4.14) = 2.12.
 * The six-bit layout gave 2.04 (HIP) and 2.55 (Ertl), one byte a register
 * 2.94. At p = 15 (17,016 bytes): HIP 0.46%, Ertl 0.57% relative standard
 * error.
 *
 * Folding to a lower precision
 * ----------------------------
 * sl_hll_fold(h, p') with d = p - p' > 0 gives exactly the registers an HLL
 * built at p' from the same hashes would hold. At p' the index is the top p'
 * bits, i.e. old index >> d; the d low bits k of the old index become the
 * top d bits of the new rest:
 *
 *     old:  [ index' (p') | k (d) ][ rest (64 - p)        ]
 *     new:  [ index' (p') ][ k (d) | rest (64 - p)         ]
 *
 *   - if k != 0 the new rank only depends on k: 1 + (leading zeros of k
 *     within d bits) = 1 + d - bitlen(k), for every hash of that old
 *     register, provided the register was hit (value != 0);
 *   - if k == 0 the new rank is d + old rank (and the cap 65 - p becomes
 *     d + 65 - p = 65 - p', as it should).
 *
 * So new[i'] = max over the 2^d old registers i' << d | k of those values.
 * k == 0 (when hit) always wins, since d + rank >= d + 1 > 1 + d - bitlen(k);
 * otherwise the smallest hit k wins. Worked example, p = 14 -> p' = 12,
 * d = 2, new register 5 reads old registers 20, 21, 22, 23 (k = 0..3):
 *
 *     old[20..23] = 0, 0, 7, 3   ->  k = 0 empty; first hit k = 2 = 0b10,
 *                                    bitlen 2, new rank 1 + 2 - 2 = 1
 *     old[20..23] = 0, 4, 9, 0   ->  k = 1 = 0b01: new rank 1 + 2 - 1 = 2
 *     old[20..23] = 3, 4, 9, 0   ->  k = 0 hit: new rank 2 + 3 = 5
 *
 * Check with one hash: p = 14, h = 0x0016 << 50 | 1 << 40, i.e. index
 * 0b00000000010110 = 22 and a rest whose first set bit is its 10th, rank 10.
 * At p' = 12 the index is 22 >> 2 = 5 and the rest begins with k = 0b10, so
 * its rank is 1: the fold above gives 1 + 2 - bitlen(2) = 1.
 *
 * A p' outside [SL_HLL_MIN_P, p] leaves h as it is. A fold keeps the HIP sum
 * valid: from then on the changes of the p' sketch are weighed by the p'
 * probability, and each new distinct hash still adds 1 in expectation; the
 * stated error is that of p' (the larger).
 *
 * Folding runs in two passes, both in place. First each new register
 * i' is computed from the old registers i' << d .. (i' + 1) << d - 1 and
 * written as one byte at byte i' of the nibble area: those old nibbles are
 * in bytes >= i' (equal to i' only for d = 1, whose two nibbles are read
 * before the write), and the exception table is only read. Then the bytes
 * are packed back into nibbles over a new base (byte j gets the nibbles of
 * bytes 2j and 2j + 1, read first) and the exception table is rewritten in
 * index order; if its entries would not fit, the bytes are folded once more
 * (d = 1, in place the same way) first. Bytes past the new nibbles are
 * zeroed. A fold never allocates or frees, so it cannot fail;
 * sl_hll_free returns the bytes of the original precision.
 *
 * Merge is register-wise max and marks dst merged (Ertl from then on), even
 * when src is empty: whether a figure is HIP's or Ertl's then depends only
 * on whether a merge happened, never on how work was split. When src has
 * the lower precision dst is folded first; when dst has the lower precision
 * each of dst's registers is merged with the folded value of src's block
 * computed on the fly, with no copy. A merge first counts the exceptions
 * of the result and, when they would not fit dst's table (crafted hashes
 * only), folds dst until they do (see max_into).
 */
#include "sluice.h"

#include <math.h>
#include <string.h>

struct sl_hll {
	sl_budget *budget;
	int p;			/* current precision */
	int alloc_p;		/* precision the block was sized for */
	bool merged;		/* a merge happened: Ertl, not HIP */
	unsigned base;		/* every register >= base */
	uint32_t at_base;	/* registers equal to base */
	uint32_t nexc;		/* exception words in use */
	double hip;		/* HIP estimate of this stream */
	uint64_t kxq_low;	/* sum of 2^(31 - v), registers v <= 31 */
	uint64_t kxq_high;	/* sum of 2^(61 - v), registers v >= 32 */
	uint8_t reg[];		/* 2^alloc_p / 2 nibble bytes, then E(alloc_p)
				 * exception words */
};

#define EXC_NIBBLE 15u	/* the nibble of a register in the table */

/* Bytes of 2^p nibbles. */
static size_t nibble_bytes(int p)
{
	return ((size_t)1 << p) / 2;
}

/* E(p): exception words the table holds. */
static uint32_t exc_cap(int p)
{
	return (uint32_t)(((size_t)1 << p) / 256 + 16);
}

static uint8_t *exc_table(const sl_hll *h)
{
	return (uint8_t *)(uintptr_t)h->reg + nibble_bytes(h->alloc_p);
}

static inline unsigned nib(const uint8_t *reg, uint32_t i)
{
	return (reg[i >> 1] >> ((i & 1) * 4)) & 15u;
}

static inline void set_nib(uint8_t *reg, uint32_t i, unsigned n)
{
	unsigned s = (i & 1) * 4;
	reg[i >> 1] = (uint8_t)((reg[i >> 1] & ~(15u << s)) | n << s);
}

/* Exception word k of a table (little-endian, whatever the host). */
static inline uint32_t word(const uint8_t *t, uint32_t k)
{
	const uint8_t *b = t + 4 * (size_t)k;
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void put_word(uint8_t *t, uint32_t k, uint32_t v)
{
	uint8_t *b = t + 4 * (size_t)k;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

/* Position of index i in the n sorted words of t, or where it would go
 * (*found says which). */
static uint32_t exc_find(const uint8_t *t, uint32_t n, uint32_t i, bool *found)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if ((word(t, mid) >> 8) < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && (word(t, lo) >> 8) == i;
	return lo;
}

/* Registers to read from: this module's layout (in memory or on the wire,
 * the same bytes), the six-bit packing of version 3 states or the one byte
 * a register of versions 1 and 2. */
enum layout { NIBBLES, SIX_BITS, BYTES };

struct view {
	enum layout layout;
	int p;
	unsigned base;		/* NIBBLES */
	const uint8_t *reg;
	const uint8_t *exc;	/* NIBBLES: nexc sorted words */
	uint32_t nexc;
};

/* Register i of a six-bit packing: bits 6i .. 6i + 5, least significant
 * bit of byte 0 first. Reads the second byte only when the register reaches
 * into it, so it never reads past the last register. */
static unsigned six_get(const uint8_t *reg, uint32_t i)
{
	size_t bit = (size_t)i * 6;
	unsigned s = (unsigned)(bit & 7);
	const uint8_t *b = reg + (bit >> 3);
	unsigned w = s > 2 ? (b[0] | (unsigned)b[1] << 8) : b[0];
	return (w >> s) & 63u;
}

static unsigned vget(const struct view *v, uint32_t i)
{
	switch (v->layout) {
	case SIX_BITS:
		return six_get(v->reg, i);
	case BYTES:
		return v->reg[i];
	case NIBBLES:
	default: {
		unsigned n = nib(v->reg, i);
		if (n != EXC_NIBBLE)
			return v->base + n;
		bool found;
		uint32_t k = exc_find(v->exc, v->nexc, i, &found);
		return found ? (word(v->exc, k) & 255u) : 0;
	}
	}
}

static struct view view_of(const sl_hll *h)
{
	struct view v = {NIBBLES, h->p, h->base, h->reg, exc_table(h), h->nexc};
	return v;
}

static inline unsigned get(const sl_hll *h, uint32_t i)
{
	unsigned n = nib(h->reg, i);
	if (n != EXC_NIBBLE)
		return h->base + n;
	bool found;
	uint32_t k = exc_find(exc_table(h), h->nexc, i, &found);
	return word(exc_table(h), k) & 255u;
}

/* Moves one register's term of the kxq sums from value `from` to `to`. */
static inline void kxq_move(sl_hll *h, unsigned from, unsigned to)
{
	if (from <= 31)
		h->kxq_low -= (uint64_t)1 << (31 - from);
	else
		h->kxq_high -= (uint64_t)1 << (61 - from);
	if (to <= 31)
		h->kxq_low += (uint64_t)1 << (31 - to);
	else
		h->kxq_high += (uint64_t)1 << (61 - to);
}

/* sum over registers of 2^-register. */
static inline double kxq(const sl_hll *h)
{
	return (double)h->kxq_low * 0x1p-31 + (double)h->kxq_high * 0x1p-61;
}

/* Recomputes the kxq sums from the registers (after a fold). */
static void recount(sl_hll *h)
{
	uint32_t m = 1u << h->p;
	h->kxq_low = h->kxq_high = 0;
	for (uint32_t i = 0; i < m; i++) {
		unsigned v = get(h, i);
		if (v <= 31)
			h->kxq_low += (uint64_t)1 << (31 - v);
		else
			h->kxq_high += (uint64_t)1 << (61 - v);
	}
}

/* True if every register is zero (kxq = m exactly). */
static bool is_empty(const sl_hll *h)
{
	return h->kxq_high == 0 && h->kxq_low == (uint64_t)1 << (h->p + 31);
}

/* Raises every register below lo to lo and makes lo the base (lo >= base),
 * in one pass: nibbles are rewritten over lo, and the exceptions that now
 * fit go back into their nibbles (the table is compacted in order, so it
 * only shrinks). */
static void floor_at(sl_hll *h, unsigned lo)
{
	uint32_t m = 1u << h->p;
	uint8_t *t = exc_table(h);
	uint32_t kept = 0, k = 0, at = 0;
	for (uint32_t i = 0; i < m; i++) {
		unsigned n = nib(h->reg, i);
		if (n != EXC_NIBBLE) {
			n = h->base + n > lo ? h->base + n - lo : 0;
		} else {
			uint32_t w = word(t, k++);
			unsigned v = w & 255u;
			if (v - lo < EXC_NIBBLE)
				n = v - lo;
			else
				put_word(t, kept++, w);
		}
		set_nib(h->reg, i, n);
		at += n == 0;
	}
	h->nexc = kept;
	h->base = lo;
	h->at_base = at;
	recount(h);
}

/* No register is left at base: raises base to the smallest register. */
static void raise_base(sl_hll *h)
{
	uint32_t m = 1u << h->p;
	uint8_t *t = exc_table(h);
	unsigned lo = 64;
	for (uint32_t i = 0; i < m; i++) {
		unsigned n = nib(h->reg, i);
		if (n != EXC_NIBBLE && h->base + n < lo)
			lo = h->base + n;
	}
	for (uint32_t k = 0; k < h->nexc; k++)
		if ((word(t, k) & 255u) < lo)
			lo = word(t, k) & 255u;
	floor_at(h, lo);
}

/*
 * Register i goes from old to v > old. False, with h unchanged, when v
 * needs a new exception word and the table is full. Keeps kxq, at_base and
 * base up to date.
 */
static bool put(sl_hll *h, uint32_t i, unsigned old, unsigned v)
{
	if (v - h->base >= EXC_NIBBLE) {
		uint8_t *t = exc_table(h);
		bool found;
		uint32_t k = exc_find(t, h->nexc, i, &found);
		if (!found) {
			if (h->nexc == exc_cap(h->alloc_p))
				return false;
			memmove(t + 4 * ((size_t)k + 1), t + 4 * (size_t)k,
				4 * (size_t)(h->nexc - k));
			h->nexc++;
			set_nib(h->reg, i, EXC_NIBBLE);
		}
		put_word(t, k, i << 8 | v);
	} else {
		set_nib(h->reg, i, v - h->base);
	}
	kxq_move(h, old, v);
	if (old == h->base && --h->at_base == 0)
		raise_base(h);
	return true;
}

size_t sl_hll_bytes(int p)
{
	if (p < SL_HLL_MIN_P || p > SL_HLL_MAX_P)
		return 0;
	return sizeof(struct sl_hll) + nibble_bytes(p) + 4 * (size_t)exc_cap(p);
}

sl_hll *sl_hll_new(sl_budget *b, int p)
{
	size_t n = sl_hll_bytes(p);
	if (!n)
		return NULL;
	sl_hll *h = sl_calloc(b, 1, n);
	if (!h)
		return NULL;
	h->budget = b;
	h->p = p;
	h->alloc_p = p;
	h->merged = false;
	h->base = 0;
	h->at_base = 1u << p;
	h->nexc = 0;
	h->hip = 0.0;
	h->kxq_low = (uint64_t)1 << (p + 31);
	h->kxq_high = 0;
	return h;
}

void sl_hll_free(sl_hll *h)
{
	if (h)
		sl_free(h->budget, h, sl_hll_bytes(h->alloc_p));
}

int sl_hll_precision(const sl_hll *h)
{
	return h->p;
}

uint8_t sl_hll_register(const sl_hll *h, uint32_t i)
{
	return i < (1u << h->p) ? (uint8_t)get(h, i) : 0;
}

bool sl_hll_is_merged(const sl_hll *h)
{
	return h->merged;
}

void sl_hll_mark_merged(sl_hll *h)
{
	h->merged = true;
}

void sl_hll_restart_hip(sl_hll *h, double n)
{
	h->merged = false;
	h->hip = n;
}

double sl_hll_std_error(const sl_hll *h)
{
	double c = h->merged ? SL_HLL_ERTL_SE : SL_HLL_HIP_SE;
	return c / sqrt((double)(1u << h->p));
}

void sl_hll_prefetch(const sl_hll *h, uint64_t hash)
{
	__builtin_prefetch(&h->reg[(size_t)(hash >> (64 - h->p)) / 2], 1);
}

/* The rest of an add whose rank is above the register's nibble: reads an
 * exception, changes the register, and folds when the table is full. Kept
 * out of line so that the common add (no change) stays a few instructions
 * with no stack frame. */
static __attribute__((noinline)) void add_slow(sl_hll *h, uint64_t hash)
{
	for (;;) {
		int p = h->p;
		uint32_t i = (uint32_t)(hash >> (64 - p));
		uint64_t rest = (hash << p) | ((uint64_t)1 << (p - 1));
		unsigned rank = (unsigned)__builtin_clzll(rest) + 1;
		unsigned old = get(h, i);
		if (rank <= old)
			return;
		/* HIP: 1 / P(this change), P read before the change. */
		double step = (double)(1u << p) / kxq(h);
		if (put(h, i, old, rank)) {
			h->hip += step;
			return;
		}
		sl_hll_fold(h, p - 1);	/* table full: never at SL_HLL_MIN_P */
	}
}

void sl_hll_add_hash(sl_hll *h, uint64_t hash)
{
	int p = h->p;
	uint32_t i = (uint32_t)(hash >> (64 - p));
	uint64_t rest = (hash << p) | ((uint64_t)1 << (p - 1));
	unsigned rank = (unsigned)__builtin_clzll(rest) + 1;
	/* base + nibble is the register, or for a nibble 15 at most it */
	if (rank > h->base + nib(h->reg, i))
		add_slow(h, hash);
}

/* The register the 2^d registers first .. first + 2^d - 1 of v fold to
 * (see the top comment). */
static unsigned fold_block(const struct view *v, uint32_t first, int d)
{
	unsigned x = vget(v, first);
	if (x)
		return x + (unsigned)d;
	for (uint32_t k = 1; k < (1u << d); k++)
		if (vget(v, first + k))
			return (unsigned)(1 + d - (32 - __builtin_clz(k)));
	return 0;
}

/* The nibble area's first 2^h->p bytes hold one register each: packs them
 * over their smallest value, folding once more (in place, d = 1) while the
 * exceptions would not fit the table. */
static void pack(sl_hll *h)
{
	uint8_t *b = h->reg;
	unsigned lo;
	for (;;) {
		uint32_t m = 1u << h->p;
		lo = 64;
		for (uint32_t i = 0; i < m; i++)
			if (b[i] < lo)
				lo = b[i];
		uint32_t over = 0;
		for (uint32_t i = 0; i < m; i++)
			over += b[i] - lo >= EXC_NIBBLE;
		if (over <= exc_cap(h->alloc_p) || h->p == SL_HLL_MIN_P)
			break;
		for (uint32_t j = 0; j < m / 2; j++) {
			unsigned v0 = b[2 * j], v1 = b[2 * j + 1];
			b[j] = (uint8_t)(v0 ? v0 + 1 : v1 ? 1 : 0);
		}
		h->p--;
	}
	uint32_t m = 1u << h->p, at = 0, k = 0;
	uint8_t *t = exc_table(h);
	for (uint32_t j = 0; j < m / 2; j++) {
		unsigned n[2];
		for (int s = 0; s < 2; s++) {
			uint32_t i = 2 * j + (uint32_t)s;
			unsigned v = b[i];
			if (v - lo >= EXC_NIBBLE) {
				put_word(t, k++, i << 8 | v);
				n[s] = EXC_NIBBLE;
			} else {
				n[s] = v - lo;
			}
			at += v == lo;
		}
		b[j] = (uint8_t)(n[0] | n[1] << 4);
	}
	memset(b + m / 2, 0, nibble_bytes(h->alloc_p) - m / 2);
	h->base = lo;
	h->at_base = at;
	h->nexc = k;
	recount(h);
}

void sl_hll_fold(sl_hll *h, int p)
{
	if (p >= h->p || p < SL_HLL_MIN_P)
		return;
	int d = h->p - p;
	struct view v = view_of(h);
	uint32_t m = 1u << p;
	for (uint32_t i = 0; i < m; i++)
		h->reg[i] = (uint8_t)fold_block(&v, i << d, d);
	h->p = p;
	pack(h);
}

/* Register i of src folded to precision p <= src->p. */
static unsigned src_at(const struct view *src, int p, uint32_t i)
{
	int d = src->p - p;
	return d ? fold_block(src, i << d, d) : vget(src, i);
}

/*
 * dst := register-wise max(dst, src's registers at precision src->p >=
 * dst's precision, folded on the fly). Adding the registers one by one over
 * dst's base could need exception words that a later rise of the base
 * would free again (dst empty, src far above 15), so the merge first finds
 * the result's smallest register lo and its number of exceptions over lo:
 * when they would not fit the table dst is folded by one (and src folded
 * one more on the fly) until they do; then every register of dst below lo
 * is raised to lo (exact: each result register is >= lo), which makes lo
 * the base, and the registers are merged one by one; the table then only
 * grows, to its final size, which fits.
 */
static void max_into(sl_hll *dst, const struct view *src)
{
	unsigned lo;
	for (;;) {
		uint32_t m = 1u << dst->p, over = 0;
		lo = 64;
		for (uint32_t i = 0; i < m; i++) {
			unsigned v = src_at(src, dst->p, i), old = get(dst, i);
			if (old > v)
				v = old;
			if (v < lo)
				lo = v;
		}
		for (uint32_t i = 0; i < m && over <= exc_cap(dst->alloc_p); i++) {
			unsigned v = src_at(src, dst->p, i), old = get(dst, i);
			over += (old > v ? old : v) - lo >= EXC_NIBBLE;
		}
		if (over <= exc_cap(dst->alloc_p) || dst->p == SL_HLL_MIN_P)
			break;
		sl_hll_fold(dst, dst->p - 1);
	}
	if (lo > dst->base)
		floor_at(dst, lo);
	for (uint32_t i = 0; i < (1u << dst->p); i++) {
		unsigned v = src_at(src, dst->p, i), old = get(dst, i);
		if (v > old)
			put(dst, i, old, v);	/* fits: see above */
	}
}

sl_status sl_hll_merge(sl_hll *dst, const sl_hll *src)
{
	if (dst == src)
		return SL_OK;
	if (src->p < dst->p)
		sl_hll_fold(dst, src->p);
	struct view v = view_of(src);
	max_into(dst, &v);
	dst->merged = true;
	return SL_OK;
}

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), for 0 <= x < 1. */
static double sigma(double x)
{
	double z = x, y = 1.0, prev;
	do {
		x *= x;
		prev = z;
		z += x * y;
		y += y;
	} while (z != prev);
	return z;
}

/* tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, 0 <= x <= 1. */
static double tau(double x)
{
	if (x == 0.0 || x == 1.0)
		return 0.0;
	double z = 1.0 - x, y = 1.0, prev;
	do {
		x = sqrt(x);
		prev = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (z != prev);
	return z / 3.0;
}

/* Ertl's improved raw estimate of h's registers (0 when all are empty). */
static double ertl(const sl_hll *h)
{
	int q = 64 - h->p;
	uint32_t m = 1u << h->p;
	uint32_t hist[64] = {0};	/* values 0 .. q + 1 <= 61 */

	for (uint32_t i = 0; i < m; i++)
		hist[get(h, i)]++;
	if (hist[0] == m)
		return 0.0;

	double md = (double)m;
	double z = md * tau(1.0 - (double)hist[q + 1] / md);
	for (int k = q; k >= 1; k--)
		z = (z + hist[k]) * 0.5;
	z += md * sigma((double)hist[0] / md);
	double alpha_inf = 0.5 / log(2.0);
	return alpha_inf * md * md / z;
}

sl_estimate sl_hll_estimate(const sl_hll *h)
{
	sl_estimate e = {0.0, 0.0, 0.0, false};
	e.estimate = h->merged ? ertl(h) : h->hip;
	if (e.estimate == 0.0)
		return e;
	double half = 1.96 * sl_hll_std_error(h);
	e.low = e.estimate * (1.0 - half);
	if (e.low < 0.0)
		e.low = 0.0;
	e.high = e.estimate * (1.0 + half);
	return e;
}

/* ---- state codec (lib/core/wire.h; byte layout in docs/state-format.md) -------
 *
 *   four-bit layout (sl_hll_encode, sl_hll_load; distinct counter mode 3):
 *     u8 p | u8 merged (0 or 1) | f64 HIP estimate (0 when merged) |
 *     u8 base | u32 k (exception words) | 2^p / 2 nibble bytes |
 *     k u32 words index << 8 | value, strictly increasing index
 *     (the bytes of the layout above, table cut to its k words)
 *   six-bit layout (sl_hll_load_packed; mode 2, written by state version 3):
 *     u8 p | u8 merged | f64 HIP estimate | 3 * 2^p / 4 bytes, register i
 *     in bits 6i .. 6i + 5, least significant bit of byte 0 first
 *   one byte a register (sl_hll_load_v2; mode 1, versions 1 and 2):
 *     u8 p | 2^p registers, one byte each, register 0 first
 *
 * Loading checks every field and every register (<= 65 - p) before
 * touching dst. Into an empty, never-merged dst the sketch is restored as
 * it was (registers, folded on the fly when dst's precision is lower; HIP
 * figure; merged flag); otherwise it is merged into dst as sl_hll_merge
 * would. A one-byte sketch has no HIP figure: it always loads as merged.
 * The HIP figure must be finite, 0 with no register set, else at least the
 * number of registers set (every change adds at least 1).
 */
#include "core/wire.h"

void sl_hll_encode(const sl_hll *h, sl_wire_writer *w)
{
	sl_wire_u8(w, (uint8_t)h->p);
	sl_wire_u8(w, h->merged ? 1 : 0);
	sl_wire_f64(w, h->merged ? 0.0 : h->hip);
	sl_wire_u8(w, (uint8_t)h->base);
	sl_wire_u32(w, h->nexc);
	sl_wire_bytes(w, h->reg, nibble_bytes(h->p));
	sl_wire_bytes(w, exc_table(h), 4 * (size_t)h->nexc);
}

static sl_status corrupt(const char **why, const char *text)
{
	*why = text;
	return SL_ECORRUPT;
}

/* Reads and checks u8 p; 0 after setting *why when bad. */
static int get_precision(sl_wire_reader *r, const char **why)
{
	int p = sl_wire_get_u8(r);
	if (r->bad) {
		*why = "HLL truncated";
		return 0;
	}
	if (p < SL_HLL_MIN_P || p > SL_HLL_MAX_P) {
		*why = "HLL precision out of range";
		return 0;
	}
	return p;
}

/* Checks v's registers (<= 65 - p) and the HIP figure, then restores or
 * merges v into dst (see above). */
static sl_status load_view(sl_hll *dst, const struct view *v, bool merged, double hip,
			   const char **why)
{
	uint32_t set_count = 0;
	for (uint32_t i = 0; i < (1u << v->p); i++) {
		unsigned x = vget(v, i);
		if (x > (unsigned)(65 - v->p))
			return corrupt(why, "HLL register above 65 - p");
		set_count += x != 0;
	}
	if (!(hip >= 0.0) || !isfinite(hip) || (merged && hip != 0.0))
		return corrupt(why, "HLL estimate impossible");
	if (!merged && (set_count ? hip < (double)set_count : hip != 0.0))
		return corrupt(why, "HLL estimate disagrees with its registers");

	bool restore = !dst->merged && is_empty(dst);
	if (v->p < dst->p)
		sl_hll_fold(dst, v->p);
	max_into(dst, v);
	if (restore) {
		dst->merged = merged;
		dst->hip = hip;
	} else {
		dst->merged = true;
	}
	return SL_OK;
}

sl_status sl_hll_load(sl_hll *dst, sl_wire_reader *r, const char **why)
{
	int p = get_precision(r, why);
	if (!p)
		return SL_ECORRUPT;
	uint8_t merged = sl_wire_get_u8(r);
	double hip = sl_wire_get_f64(r);
	unsigned base = sl_wire_get_u8(r);
	uint32_t k = sl_wire_get_u32(r);
	if (r->bad)
		return corrupt(why, "HLL truncated");
	if (merged > 1)
		return corrupt(why, "HLL merged flag is neither 0 nor 1");
	if (base > (unsigned)(65 - p))
		return corrupt(why, "HLL base above 65 - p");
	if (k > (1u << p))
		return corrupt(why, "HLL has more exceptions than registers");
	const uint8_t *reg = sl_wire_take(r, nibble_bytes(p));
	const uint8_t *exc = reg ? sl_wire_take(r, 4 * (size_t)k) : NULL;
	if (!exc)
		return corrupt(why, "HLL registers truncated");
	/* the words: increasing index < m, each on a nibble 15, each value
	 * base + 15 or more; and no other nibble 15 */
	uint32_t fifteen = 0;
	for (uint32_t i = 0; i < (1u << p); i++)
		fifteen += nib(reg, i) == EXC_NIBBLE;
	if (fifteen != k)
		return corrupt(why, "HLL exception count disagrees with its registers");
	for (uint32_t j = 0; j < k; j++) {
		uint32_t w = word(exc, j), i = w >> 8;
		if (i >= (1u << p) || (j && i <= word(exc, j - 1) >> 8) ||
		    nib(reg, i) != EXC_NIBBLE || (w & 255u) < base + EXC_NIBBLE)
			return corrupt(why, "HLL exception table impossible");
	}
	struct view v = {NIBBLES, p, base, reg, exc, k};
	return load_view(dst, &v, merged, hip, why);
}

sl_status sl_hll_load_packed(sl_hll *dst, sl_wire_reader *r, const char **why)
{
	int p = get_precision(r, why);
	if (!p)
		return SL_ECORRUPT;
	uint8_t merged = sl_wire_get_u8(r);
	double hip = sl_wire_get_f64(r);
	if (r->bad)
		return corrupt(why, "HLL truncated");
	if (merged > 1)
		return corrupt(why, "HLL merged flag is neither 0 nor 1");
	const uint8_t *reg = sl_wire_take(r, ((size_t)3 << p) / 4);
	if (!reg)
		return corrupt(why, "HLL registers truncated");
	struct view v = {SIX_BITS, p, 0, reg, NULL, 0};
	return load_view(dst, &v, merged, hip, why);
}

sl_status sl_hll_load_v2(sl_hll *dst, sl_wire_reader *r, const char **why)
{
	int p = get_precision(r, why);
	if (!p)
		return SL_ECORRUPT;
	const uint8_t *reg = sl_wire_take(r, (size_t)1 << p);
	if (!reg)
		return corrupt(why, "HLL registers truncated");
	struct view v = {BYTES, p, 0, reg, NULL, 0};
	sl_status st = load_view(dst, &v, true, 0.0, why);
	if (st == SL_OK)
		dst->merged = true;
	return st;
}

int sl_hll_created_precision(const sl_hll *h)
{
	return h->alloc_p;
}
