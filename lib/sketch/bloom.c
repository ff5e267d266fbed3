/*
 * bloom.c: a Bloom filter that keeps count of its own false-positive risk
 * (sl_bloom_*), for `sluice dedup --approx`.
 *
 * Filter (Bloom, "Space/time trade-offs in hash coding with allowable
 * errors", CACM 1970): m bits, k probes per key. A key is inserted by setting
 * its k bits and reported present when all k are set, so a present key is
 * never missed (no false negatives) and an absent key is wrongly reported
 * present with some probability, the false-positive rate.
 *
 * Probes. One XXH3-128 of the key gives two 64-bit words (a, b). The k
 * probe positions come from them by enhanced double hashing (Kirsch &
 * Mitzenmacher, "Less hashing, same performance", 2006; the cubic
 * correction of Dillinger & Manolios, "Bloom filters in probabilistic
 * verification", 2004): probe i is a, then a += b, b += i. Each 64-bit
 * value is mapped to [0, m) by Lemire's multiply-shift on its top 32 bits,
 * ((x >> 32) * m) >> 32, which is why m is at most 2^32 (512 MiB of bits).
 *
 * Sizing. For a target rate r, k = round(-log2 r): with the best k for a
 * filter whose fill (fraction of bits set) has reached one half, the rate is
 * 2^-k, so the filter is "at capacity" for r when about half full. With n
 * distinct keys the expected fill is 1 - e^{-kn/m}; the rate passes r when
 * the fill passes r^{1/k}, i.e. after n = -(m/k) ln(1 - r^{1/k}) keys
 * (sl_bloom_capacity).
 *
 * Accounting. Every sl_bloom_add is a check followed by an insert. The
 * filter counts its set bits exactly (a bit is counted when it flips), so
 * at each check it knows the fill f = set/m and the probability p = f^k that
 * this check, had its key been absent, would have come back "present".
 * (f^k treats the k positions as independent uniform draws, which double
 * hashing approximates: Kirsch & Mitzenmacher show the rate converges to
 * that of k independent hashes; tests/test_bloom.c measures it.) p is
 * recomputed (k-th power by squaring) only when `set` has changed. Let N be
 * the adds of keys never added before (unknown to the filter) and W the
 * number of them that came back "present" (false positives). The filter
 * keeps three sums:
 *     expected  sum of p over all adds          >= E[W] = sum over N of p
 *     odds      sum of p / (1 - p) over all adds
 *     estimate  sum of p / (1 - p) over the adds that came back "absent"
 * Every "absent" add is in N, and a key of N comes back absent with
 * probability 1 - p, so `estimate` is an unbiased estimate of E[W] (inverse
 * probability weighting), and W - estimate is a martingale whose increments,
 * (X - p) / (1 - p) for X the add's outcome, are at most 1 and whose
 * predictable variance sum_N p / (1 - p) is at most `odds`.
 *
 * Bound (sl_bloom_fp_bound, at level delta), the smaller of two bounds each
 * at delta / 2:
 *  - Chernoff on W with mean at most `expected` (sl_bloom_chernoff_bound):
 *    tight when few adds are repeats, and 0 when the filter is nearly empty;
 *  - Freedman's inequality (martingale Bernstein, 1975) on W - estimate:
 *    W <= estimate + L/3 + sqrt(L^2/9 + 2 L odds), L = ln(2 / delta), which
 *    stays tight when most adds are repeats (their p counts only in the
 *    variance term).
 * Both treat the p of each add as given by the past (the hash modelled as a
 * random function), which is what the tests check empirically.
 *
 * Memory: the struct plus m / 8 bytes, allocated at creation; adds never
 * allocate and never fail.
 */
#include "sluice.h"

#include <math.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

struct sl_bloom {
	sl_budget *b;
	uint64_t *words;	/* m / 64 words */
	uint64_t m;		/* bits, a multiple of 64 */
	uint32_t k;
	uint64_t set;		/* bits set */
	uint64_t adds;
	uint64_t p_set;		/* the `set` that p was computed for */
	double p;		/* (p_set / m)^k */
	double odds;		/* p / (1 - p); INFINITY when p == 1 */
	double expected;	/* sum of p over adds */
	double odds_sum;	/* sum of odds over adds */
	double estimate;	/* sum of odds over adds that returned false */
};

uint32_t sl_bloom_k_for_rate(double rate)
{
	if (!(rate > 0.0 && rate < 1.0))
		return 0;
	double k = floor(-log2(rate) + 0.5);
	if (k < 1)
		k = 1;
	if (k > SL_BLOOM_MAX_K)
		k = SL_BLOOM_MAX_K;
	return (uint32_t)k;
}

size_t sl_bloom_bytes(uint64_t m)
{
	return sizeof(sl_bloom) + (size_t)(m / 8);
}

uint64_t sl_bloom_bits_for_bytes(size_t max_bytes)
{
	if (max_bytes < sizeof(sl_bloom) + 8)
		return 0;
	uint64_t m = (uint64_t)(max_bytes - sizeof(sl_bloom)) / 8 * 64;
	return m > SL_BLOOM_MAX_BITS ? SL_BLOOM_MAX_BITS : m;
}

double sl_bloom_capacity(uint64_t m, uint32_t k, double rate)
{
	if (!m || !k || !(rate > 0.0 && rate < 1.0))
		return 0;
	return -((double)m / k) * log1p(-pow(rate, 1.0 / k));
}

sl_bloom *sl_bloom_new(sl_budget *b, uint64_t m, uint32_t k)
{
	if (!b || m < 64 || m % 64 || m > SL_BLOOM_MAX_BITS || k < 1 || k > SL_BLOOM_MAX_K)
		return NULL;
	sl_bloom *f = sl_calloc(b, 1, sizeof *f);
	if (!f)
		return NULL;
	if (!(f->words = sl_calloc(b, (size_t)(m / 64), sizeof(uint64_t)))) {
		sl_free(b, f, sizeof *f);
		return NULL;
	}
	f->b = b;
	f->m = m;
	f->k = k;
	return f;
}

void sl_bloom_free(sl_bloom *f)
{
	if (!f)
		return;
	sl_free(f->b, f->words, (size_t)(f->m / 64) * sizeof(uint64_t));
	sl_free(f->b, f, sizeof *f);
}

static inline uint64_t reduce(uint64_t x, uint64_t m)
{
	return ((x >> 32) * m) >> 32;
}

bool sl_bloom_add(sl_bloom *f, const void *key, size_t len)
{
	if (f->set != f->p_set) {
		/* fill^k by squaring */
		double x = (double)f->set / (double)f->m, p = 1.0;
		for (uint32_t e = f->k; e; e >>= 1, x *= x)
			if (e & 1)
				p *= x;
		f->p = p;
		f->odds = p < 1 ? p / (1 - p) : INFINITY;
		f->p_set = f->set;
	}
	f->expected += f->p;
	f->odds_sum += f->odds;
	f->adds++;

	XXH128_hash_t h = XXH3_128bits(key, len);
	uint64_t a = h.low64, d = h.high64, fresh = 0;
	for (uint32_t i = 0; i < f->k; i++) {
		uint64_t pos = reduce(a, f->m);
		uint64_t *w = &f->words[pos >> 6], bit = (uint64_t)1 << (pos & 63);
		if (!(*w & bit)) {
			*w |= bit;
			fresh++;
		}
		a += d;
		d += i;
	}
	f->set += fresh;
	if (fresh)
		f->estimate += f->odds;
	return fresh == 0;
}

bool sl_bloom_contains(const sl_bloom *f, const void *key, size_t len)
{
	XXH128_hash_t h = XXH3_128bits(key, len);
	uint64_t a = h.low64, d = h.high64;
	for (uint32_t i = 0; i < f->k; i++) {
		uint64_t pos = reduce(a, f->m);
		if (!(f->words[pos >> 6] & ((uint64_t)1 << (pos & 63))))
			return false;
		a += d;
		d += i;
	}
	return true;
}

uint64_t sl_bloom_bits(const sl_bloom *f)
{
	return f->m;
}

uint32_t sl_bloom_k(const sl_bloom *f)
{
	return f->k;
}

uint64_t sl_bloom_bits_set(const sl_bloom *f)
{
	return f->set;
}

uint64_t sl_bloom_adds(const sl_bloom *f)
{
	return f->adds;
}

double sl_bloom_fp_rate(const sl_bloom *f)
{
	return pow((double)f->set / (double)f->m, f->k);
}

double sl_bloom_fp_expected(const sl_bloom *f)
{
	return f->expected;
}

/* log of the Chernoff tail bound on P(S >= t), t > mu > 0. */
static double log_tail(double mu, double t)
{
	return -mu + t * (1.0 + log(mu) - log(t));
}

double sl_bloom_fp_estimate(const sl_bloom *f)
{
	return f->estimate;
}

uint64_t sl_bloom_chernoff_bound(double mu, double delta)
{
	if (!(mu > 0.0))
		return 0;
	if (!(delta > 0.0 && delta < 1.0) || mu > 1e15)
		return UINT64_MAX;
	double ld = log(delta);
	/* t = c + 1 runs over integers > mu; the bound decreases in t. */
	uint64_t lo = (uint64_t)floor(mu) + 1, hi = lo;
	while (log_tail(mu, (double)hi) > ld)
		hi = lo + 2 * (hi - lo) + 1;
	while (lo < hi) { /* smallest t with bound <= delta, in [lo, hi] */
		uint64_t mid = lo + (hi - lo) / 2;
		if (log_tail(mu, (double)mid) > ld)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

uint64_t sl_bloom_fp_bound(const sl_bloom *f, double delta)
{
	if (!(delta > 0.0 && delta < 1.0))
		return UINT64_MAX;
	uint64_t c = sl_bloom_chernoff_bound(f->expected, delta / 2);
	double L = log(2 / delta);
	double t = f->estimate + L / 3 + sqrt(L * L / 9 + 2 * L * f->odds_sum);
	if (t < (double)c)
		c = (uint64_t)floor(t);
	return c;
}
