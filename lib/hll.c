/*
 * hll.c: HyperLogLog registers (sl_hll_*), packed six bits a register, with
 * the HIP estimator for a single stream and Ertl's estimator after merges.
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
 * so a register holds 0 (never hit) or 1 .. 65 - p <= 61: six bits hold every
 * value exactly, for every allowed p. The add computes the rank branch-free:
 * shift the rest to the top of a word and OR in a sentinel bit at position
 * p - 1, so that __builtin_clzll never sees zero and stops at q when the
 * rest is all zero.
 *
 * Packed layout (in memory and in state files): register i occupies bits
 * 6i .. 6i + 5 of the byte string, bits numbered from the least significant
 * bit of byte 0 upwards, i.e. four registers in three bytes:
 *
 *     byte    0                 1                 2
 *     bit     7 6 5 4 3 2 1 0   7 6 5 4 3 2 1 0   7 6 5 4 3 2 1 0
 *             b a a a a a a a   c c c c b b b b   d d d d d d c c
 *                                                 (a = reg 0 ... d = reg 3)
 *
 * A register is read as the little-endian 16-bit window at byte 6i / 8,
 * shifted right by 6i mod 8 (0, 6, 4 or 2) and masked with 63. Example:
 * register 1 = 45 (0b101101) and the others 0 give bytes 0x40 0x0b 0x00:
 * window at byte 0 is 0x0b40, >> 6 = 0x2d = 45. The block holds
 * 3 * 2^p / 4 register bytes plus one pad byte (always zero), so the last
 * register's window never reads outside the block.
 *
 * Estimators
 * ----------
 * HIP, while the sketch is fed by one stream (never merged). Before each
 * register change the sketch would have changed, for one new distinct hash,
 * with probability P = (sum over registers of 2^-register) / m; the change
 * adds 1 / P to the running estimate. Given the history each new distinct
 * hash adds 1 in expectation and a repeated hash never changes a register,
 * so the estimate is unbiased at every n; its relative standard error tends
 * to sqrt(ln 2) / sqrt(m) ~ 0.833 / sqrt(m) from below as n grows (Ting 2014,
 * section 5; Cohen 2014), against 1.04 / sqrt(m) for the estimators that
 * read only the registers. The sum of 2^-register is kept exactly in two
 * integers, kxq_low = sum of 2^(31 - v) over registers v <= 31 and kxq_high
 * = sum of 2^(61 - v) over registers v >= 32 (v <= 61, m <= 2^18: neither
 * overflows), updated on each change, so P is the same on every machine
 * and run. HIP depends on the order the hashes came in: the same stream
 * always gives the same figure, two orders of one set differ within the
 * bound.
 *
 * Ertl's improved raw estimator once the sketch has been merged (HIP's sum
 * is a property of one stream's history and has no meaning for the union of
 * two), or loaded from a version 1 or 2 state (which kept no HIP sum). With
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
 * Folding runs in place in increasing i' order: new[i'] (bits 6i' .. 6i' + 5)
 * is written after reading old[i' << d ..], which start at bit
 * 6 (i' << d) >= 12 i', and every later read starts beyond 6i' + 6; the
 * 16-bit window write puts back the neighbouring bits it read. The block
 * keeps its size (a fold never allocates or frees, so it cannot fail);
 * sl_hll_free returns the bytes of the original precision.
 *
 * Merge is register-wise max and marks dst merged (Ertl from then on), even
 * when src is empty: whether a figure is HIP's or Ertl's then depends only
 * on whether a merge happened, never on how work was split. When src has
 * the lower precision dst is folded first; when dst has the lower precision
 * each of dst's registers is merged with the folded value of src's block
 * computed on the fly, with no copy.
 *
 * Memory: sl_hll_bytes(p) = sizeof(struct sl_hll) + 3 * 2^p / 4 + 1, all
 * taken by sl_hll_new (12,289 register bytes at p = 14, against 16,384 one
 * byte a register); adds, merges, folds and estimates allocate nothing.
 *
 * Error per byte: at equal bytes the error scales with se * sqrt(bits a
 * register): Ertl 1.04 * sqrt(6) = 2.55, HIP 0.833 * sqrt(6) = 2.04, against
 * 1.04 * sqrt(8) = 2.94 for one-byte registers and about 0.833 * sqrt(4) =
 * 1.67 for DataSketches' HLL_4 with HIP (four bits and an exception table).
 * So this layout is about 1.5x (Ertl) or 1.2x (HIP) HLL_4's error at equal
 * bytes, down from 1.8x; equal precision gives HLL_4's error with HIP at
 * 1.5x its bytes.
 */
#include "sluice.h"

#include <math.h>
#include <string.h>

struct sl_hll {
	sl_budget *budget;
	int p;			/* current precision */
	int alloc_p;		/* precision the block was sized for */
	bool merged;		/* a merge happened: Ertl, not HIP */
	double hip;		/* HIP estimate of this stream */
	uint64_t kxq_low;	/* sum of 2^(31 - v), registers v <= 31 */
	uint64_t kxq_high;	/* sum of 2^(61 - v), registers v >= 32 */
	uint8_t reg[];		/* 3 * 2^p / 4 packed bytes + 1 pad byte */
};

/* Bytes of 2^p six-bit registers (p >= 2: a whole number). */
static size_t packed_bytes(int p)
{
	return ((size_t)3 << p) / 4;
}

/* Register i of a packed string. Reads the second byte only when the
 * register reaches into it (shift 4 or 6), so it never reads past the
 * last register: this is safe on the wire bytes, which have no pad. */
static inline unsigned get(const uint8_t *reg, uint32_t i)
{
	size_t bit = (size_t)i * 6;
	unsigned s = (unsigned)(bit & 7);
	const uint8_t *b = reg + (bit >> 3);
	unsigned w = s > 2 ? (b[0] | (unsigned)b[1] << 8) : b[0];
	return (w >> s) & 63u;
}

static inline void set(uint8_t *reg, uint32_t i, unsigned v)
{
	size_t bit = (size_t)i * 6;
	unsigned s = (unsigned)(bit & 7);
	uint8_t *b = reg + (bit >> 3);
	unsigned w = b[0] | (unsigned)b[1] << 8;
	w = (w & ~(63u << s)) | v << s;
	b[0] = (uint8_t)w;
	b[1] = (uint8_t)(w >> 8);
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

/* Recomputes the kxq sums from the registers (after a fold, merge, load). */
static void recount(sl_hll *h)
{
	uint32_t m = 1u << h->p;
	h->kxq_low = h->kxq_high = 0;
	for (uint32_t i = 0; i < m; i++) {
		unsigned v = get(h->reg, i);
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

size_t sl_hll_bytes(int p)
{
	if (p < SL_HLL_MIN_P || p > SL_HLL_MAX_P)
		return 0;
	return sizeof(struct sl_hll) + packed_bytes(p) + 1;
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
	return i < (1u << h->p) ? (uint8_t)get(h->reg, i) : 0;
}

bool sl_hll_is_merged(const sl_hll *h)
{
	return h->merged;
}

void sl_hll_mark_merged(sl_hll *h)
{
	h->merged = true;
}

double sl_hll_std_error(const sl_hll *h)
{
	double c = h->merged ? SL_HLL_ERTL_SE : SL_HLL_HIP_SE;
	return c / sqrt((double)(1u << h->p));
}

void sl_hll_prefetch(const sl_hll *h, uint64_t hash)
{
	__builtin_prefetch(&h->reg[(size_t)(hash >> (64 - h->p)) * 6 / 8], 1);
}

void sl_hll_add_hash(sl_hll *h, uint64_t hash)
{
	int p = h->p;
	uint32_t i = (uint32_t)(hash >> (64 - p));
	uint64_t rest = (hash << p) | ((uint64_t)1 << (p - 1));
	unsigned rank = (unsigned)__builtin_clzll(rest) + 1;
	size_t bit = (size_t)i * 6;
	unsigned s = (unsigned)(bit & 7);
	uint8_t *b = h->reg + (bit >> 3);
	unsigned w = b[0] | (unsigned)b[1] << 8;
	unsigned old = (w >> s) & 63u;
	if (rank <= old)
		return;
	/* HIP: 1 / P(this change), P read before the change. */
	h->hip += (double)(1u << p) / kxq(h);
	kxq_move(h, old, rank);
	w = (w & ~(63u << s)) | rank << s;
	b[0] = (uint8_t)w;
	b[1] = (uint8_t)(w >> 8);
}

/* The register the 2^d registers base .. base + 2^d - 1 of reg fold to (see
 * the top comment). */
static unsigned fold_block(const uint8_t *reg, uint32_t base, int d)
{
	unsigned v = get(reg, base);
	if (v)
		return v + (unsigned)d;
	for (uint32_t k = 1; k < (1u << d); k++)
		if (get(reg, base + k))
			return (unsigned)(1 + d - (32 - __builtin_clz(k)));
	return 0;
}

void sl_hll_fold(sl_hll *h, int p)
{
	if (p >= h->p || p < SL_HLL_MIN_P)
		return;
	int d = h->p - p;
	uint32_t m = 1u << p;
	for (uint32_t i = 0; i < m; i++)
		set(h->reg, i, fold_block(h->reg, i << d, d));
	memset(h->reg + packed_bytes(p), 0, packed_bytes(h->p) - packed_bytes(p));
	h->p = p;
	recount(h);
}

/* dst := register-wise max(dst, src's registers at precision p_src >= dst's
 * precision, folded on the fly). */
static void max_into(sl_hll *dst, const uint8_t *src, int p_src)
{
	uint32_t m = 1u << dst->p;
	int d = p_src - dst->p;
	for (uint32_t i = 0; i < m; i++) {
		unsigned v = d ? fold_block(src, i << d, d) : get(src, i);
		if (v > get(dst->reg, i))
			set(dst->reg, i, v);
	}
	recount(dst);
}

sl_status sl_hll_merge(sl_hll *dst, const sl_hll *src)
{
	if (dst == src)
		return SL_OK;
	if (src->p < dst->p)
		sl_hll_fold(dst, src->p);
	max_into(dst, src->reg, src->p);
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
		hist[get(h->reg, i)]++;
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

/* ---- state codec (lib/wire.h; byte layout in docs/state-format.md) -------
 *
 *   version 3 (sl_hll_encode, sl_hll_load):
 *     u8 p | u8 merged (0 or 1) | f64 HIP estimate (0 when merged) |
 *     3 * 2^p / 4 bytes of packed registers (the layout above; the pad byte
 *     is not written)
 *   versions 1 and 2 (sl_hll_load_v2):
 *     u8 p | 2^p registers, one byte each, register 0 first
 *
 * Loading checks p, the flag, the HIP figure (finite; 0 with no register
 * set, else at least the number of registers set, since every change adds
 * at least 1) and every register (<= 65 - p) before touching dst. Into an
 * empty, never-merged dst the sketch is restored as it was (registers,
 * folded on the fly when dst's precision is lower; HIP figure; merged flag);
 * otherwise it is merged into dst as sl_hll_merge would. A version 1 or 2
 * sketch has no HIP figure: it always loads as merged (Ertl).
 */
#include "wire.h"

void sl_hll_encode(const sl_hll *h, sl_wire_writer *w)
{
	sl_wire_u8(w, (uint8_t)h->p);
	sl_wire_u8(w, h->merged ? 1 : 0);
	sl_wire_f64(w, h->merged ? 0.0 : h->hip);
	sl_wire_bytes(w, h->reg, packed_bytes(h->p));
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

sl_status sl_hll_load(sl_hll *dst, sl_wire_reader *r, const char **why)
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
	const uint8_t *reg = sl_wire_take(r, packed_bytes(p));
	if (!reg)
		return corrupt(why, "HLL registers truncated");
	uint32_t set_count = 0;
	for (uint32_t i = 0; i < (1u << p); i++) {
		unsigned v = get(reg, i);
		if (v > (unsigned)(65 - p))
			return corrupt(why, "HLL register above 65 - p");
		set_count += v != 0;
	}
	if (!(hip >= 0.0) || !isfinite(hip) || (merged && hip != 0.0))
		return corrupt(why, "HLL estimate impossible");
	if (!merged && (set_count ? hip < (double)set_count : hip != 0.0))
		return corrupt(why, "HLL estimate disagrees with its registers");

	bool restore = !dst->merged && is_empty(dst);
	if (p < dst->p)
		sl_hll_fold(dst, p);
	max_into(dst, reg, p);
	if (restore) {
		dst->merged = merged;
		dst->hip = hip;
	} else {
		dst->merged = true;
	}
	return SL_OK;
}

sl_status sl_hll_load_v2(sl_hll *dst, sl_wire_reader *r, const char **why)
{
	int p = get_precision(r, why);
	if (!p)
		return SL_ECORRUPT;
	const uint8_t *reg = sl_wire_take(r, (size_t)1 << p);
	if (!reg)
		return corrupt(why, "HLL registers truncated");
	for (size_t i = 0; i < ((size_t)1 << p); i++)
		if (reg[i] > 65 - p)
			return corrupt(why, "HLL register above 65 - p");
	if (p < dst->p)
		sl_hll_fold(dst, p);
	int d = p - dst->p;
	uint32_t m = 1u << dst->p;
	for (uint32_t i = 0; i < m; i++) {
		unsigned v = reg[(size_t)i << d];
		if (d && !v) {
			for (uint32_t k = 1; k < (1u << d); k++)
				if (reg[((size_t)i << d) + k]) {
					v = (unsigned)(1 + d - (32 - __builtin_clz(k)));
					break;
				}
		} else if (d) {
			v += (unsigned)d;
		}
		if (v > get(dst->reg, i))
			set(dst->reg, i, v);
	}
	recount(dst);
	dst->merged = true;
	return SL_OK;
}

int sl_hll_created_precision(const sl_hll *h)
{
	return h->alloc_p;
}
