/*
 * hll.c: HyperLogLog registers (sl_hll_*).
 *
 * Papers:
 *   P. Flajolet, E. Fusy, O. Gandouet, F. Meunier, "HyperLogLog: the analysis
 *   of a near-optimal cardinality estimation algorithm", AofA 2007.
 *   O. Ertl, "New cardinality estimation algorithms for HyperLogLog
 *   sketches", arXiv:1702.01284, 2017 (the "improved" estimator, as used by
 *   Redis since 5.0).
 *
 * Layout
 * ------
 * One block from the budget: this struct followed by m = 2^p one-byte
 * registers, p in [SL_HLL_MIN_P, SL_HLL_MAX_P]. sl_hll_bytes(p) is exactly
 * the block's size, so callers can plan. A 64-bit hash h is split as
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
 * so a register holds 0 (never hit) or 1 .. 65 - p, which fits a byte for
 * every allowed p. The add computes the rank branch-free: shift the rest to
 * the top of a word and OR in a sentinel bit at position p - 1, so that
 * __builtin_clzll never sees zero and stops at q when the rest is all zero.
 *
 * Estimator (Ertl 2017, section 4 / algorithm 6)
 * ----------------------------------------------
 * With C[k] the number of registers equal to k (k = 0 .. q + 1):
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
 * precision. All registers empty gives E = 0. The relative standard error is
 * about 1.04 / sqrt(m); the interval reported is the usual normal one,
 * E * (1 -/+ 1.96 * 1.04 / sqrt(m)), clipped at 0.
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
 * A p' outside [SL_HLL_MIN_P, p] leaves h as it is.
 *
 * Folding runs in place in increasing i' order: new[i'] is written after
 * reading old[i' << d ..], and i' <= i' << d, so nothing unread is
 * overwritten. The block keeps its size (a fold never allocates or frees, so
 * it cannot fail); sl_hll_free returns the bytes of the original precision.
 *
 * Merge is register-wise max. When src has the lower precision dst is folded
 * first; when dst has the lower precision each of dst's registers is merged
 * with the folded value of src's block computed on the fly, with no copy.
 *
 * Memory: sl_hll_bytes(p) = sizeof(struct sl_hll) + 2^p, all taken by
 * sl_hll_new; adds, merges, folds and estimates allocate nothing.
 */
#include "sluice.h"

#include <math.h>
#include <string.h>

struct sl_hll {
	sl_budget *budget;
	int p;			/* current precision */
	int alloc_p;		/* precision the block was sized for */
	uint8_t reg[];		/* 2^p registers */
};

size_t sl_hll_bytes(int p)
{
	if (p < SL_HLL_MIN_P || p > SL_HLL_MAX_P)
		return 0;
	return sizeof(struct sl_hll) + ((size_t)1 << p);
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
	return i < (1u << h->p) ? h->reg[i] : 0;
}

void sl_hll_prefetch(const sl_hll *h, uint64_t hash)
{
	__builtin_prefetch(&h->reg[hash >> (64 - h->p)], 1);
}

void sl_hll_add_hash(sl_hll *h, uint64_t hash)
{
	int p = h->p;
	uint32_t i = (uint32_t)(hash >> (64 - p));
	uint64_t rest = (hash << p) | ((uint64_t)1 << (p - 1));
	uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
	if (rank > h->reg[i])
		h->reg[i] = rank;
}

/* The register a block of 2^d registers folds to (see the top comment). */
static uint8_t fold_block(const uint8_t *r, int d)
{
	if (r[0])
		return (uint8_t)(r[0] + d);
	for (uint32_t k = 1; k < (1u << d); k++)
		if (r[k])
			return (uint8_t)(1 + d - (32 - __builtin_clz(k)));
	return 0;
}

void sl_hll_fold(sl_hll *h, int p)
{
	if (p >= h->p || p < SL_HLL_MIN_P)
		return;
	int d = h->p - p;
	uint32_t m = 1u << p;
	for (uint32_t i = 0; i < m; i++)
		h->reg[i] = fold_block(h->reg + ((size_t)i << d), d);
	memset(h->reg + m, 0, ((size_t)1 << h->p) - m);
	h->p = p;
}

sl_status sl_hll_merge(sl_hll *dst, const sl_hll *src)
{
	if (dst == src)
		return SL_OK;
	if (src->p < dst->p)
		sl_hll_fold(dst, src->p);
	uint32_t m = 1u << dst->p;
	int d = src->p - dst->p;
	if (d == 0) {
		for (uint32_t i = 0; i < m; i++)
			if (src->reg[i] > dst->reg[i])
				dst->reg[i] = src->reg[i];
		return SL_OK;
	}
	for (uint32_t i = 0; i < m; i++) {
		uint8_t v = fold_block(src->reg + ((size_t)i << d), d);
		if (v > dst->reg[i])
			dst->reg[i] = v;
	}
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

sl_estimate sl_hll_estimate(const sl_hll *h)
{
	int q = 64 - h->p;
	uint32_t m = 1u << h->p;
	uint32_t hist[64] = {0};	/* values 0 .. q + 1 <= 61 */
	sl_estimate e = {0.0, 0.0, 0.0, false};

	for (uint32_t i = 0; i < m; i++)
		hist[h->reg[i]]++;
	if (hist[0] == m)
		return e;

	double md = (double)m;
	double z = md * tau(1.0 - (double)hist[q + 1] / md);
	for (int k = q; k >= 1; k--)
		z = (z + hist[k]) * 0.5;
	z += md * sigma((double)hist[0] / md);

	double alpha_inf = 0.5 / log(2.0);
	double rse = 1.96 * 1.04 / sqrt(md);
	e.estimate = alpha_inf * md * md / z;
	e.low = e.estimate * (1.0 - rse);
	if (e.low < 0.0)
		e.low = 0.0;
	e.high = e.estimate * (1.0 + rse);
	return e;
}

/* ---- state codec (lib/wire.h; byte layout in docs/state-format.md) -------
 *
 *   u8 p | 2^p registers, one byte each, register 0 first
 *
 * Loading checks p and every register (<= 65 - p) before touching dst, then
 * merges the registers into dst as sl_hll_merge would (folding on the fly
 * when the encoded precision is the higher one).
 */
#include "wire.h"

void sl_hll_encode(const sl_hll *h, sl_wire_writer *w)
{
	sl_wire_u8(w, (uint8_t)h->p);
	sl_wire_bytes(w, h->reg, (size_t)1 << h->p);
}

sl_status sl_hll_load(sl_hll *dst, sl_wire_reader *r, const char **why)
{
	int p = sl_wire_get_u8(r);
	if (r->bad) {
		*why = "HLL truncated";
		return SL_ECORRUPT;
	}
	if (p < SL_HLL_MIN_P || p > SL_HLL_MAX_P) {
		*why = "HLL precision out of range";
		return SL_ECORRUPT;
	}
	const uint8_t *reg = sl_wire_take(r, (size_t)1 << p);
	if (!reg) {
		*why = "HLL registers truncated";
		return SL_ECORRUPT;
	}
	for (size_t i = 0; i < ((size_t)1 << p); i++) {
		if (reg[i] > 65 - p) {
			*why = "HLL register above 65 - p";
			return SL_ECORRUPT;
		}
	}
	if (p < dst->p)
		sl_hll_fold(dst, p);
	int d = p - dst->p;
	uint32_t m = 1u << dst->p;
	for (uint32_t i = 0; i < m; i++) {
		uint8_t v = d ? fold_block(reg + ((size_t)i << d), d) : reg[i];
		if (v > dst->reg[i])
			dst->reg[i] = v;
	}
	return SL_OK;
}

int sl_hll_created_precision(const sl_hll *h)
{
	return h->alloc_p;
}
