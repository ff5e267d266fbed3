/*
 * test_hll.c: the HyperLogLog registers against naive references.
 *
 *  - registers: every add is checked against a bit-by-bit computation of
 *    index and rank into a plain array of maxima, and the bytes the codec
 *    writes against a naive reading of the layout (base + nibble, or the
 *    exception word of a nibble 15);
 *  - hostile hashes that fill the exception table fold the sketch: its
 *    registers are then those of the lower precision, computed from the
 *    list of hashes, its memory does not move and its estimate states the
 *    lower precision's error;
 *  - accuracy: for several p and cardinalities from 10 to 10^6 the relative
 *    error is within 3 standard errors (3 * 1.04 / sqrt(m)); the 95%
 *    interval covers the truth in >= 85% of 50 independent trials;
 *  - side by side: HIP (never merged) and Ertl (the same registers, merged)
 *    against the exact count over 20 seeded streams at n = 10^3, 10^4,
 *    10^5, 10^6 and p = 12, 14, 15: the error achieved is printed; each
 *    estimate is within 4 stated standard errors, each case's RMS error
 *    within 1.6 and the pooled RMS within 1.2 stated standard errors;
 *  - merge and fold: registers equal those of one HLL built directly from the
 *    union, at the lower precision when precisions differ; a merge switches
 *    to Ertl, a fold keeps HIP;
 *  - state codec: a sketch comes back as it was (registers, HIP figure,
 *    flag); the six-bit packing of version 3 states comes back the same
 *    way; the one-byte form of versions 1 and 2 loads as merged; the
 *    version-2 and version-3 seeds of the fuzz corpus load with their
 *    registers and are written back in the four-bit layout;
 *  - a degraded distinct counter answers with HIP restarted from its exact
 *    count (the same bits for the same stream, exact at the switch), and
 *    with Ertl's estimator once merged, over the registers a whole,
 *    reversed or split stream all give;
 *  - the checkers themselves fail on a deliberately wrong input.
 *
 * Distinct hashes come from tu_next: splitmix64's output is a bijection of
 * its state and the state steps through distinct values, so n draws are n
 * distinct hashes and the true cardinality is known by construction.
 */
#include "report/report.h"
#include "testutil.h"
#include "core/wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t seed;

static double std_error(int p)
{
	return 1.04 / sqrt((double)(1u << p));
}

/* |est - truth| <= k standard errors of the truth. */
static bool within(double est, double truth, int p, double k)
{
	return fabs(est - truth) <= k * std_error(p) * truth;
}

/* The same figures, to the bit (a struct compare would read padding). */
static bool same_estimate(sl_estimate a, sl_estimate b)
{
	return memcmp(&a.estimate, &b.estimate, sizeof(double)) == 0 &&
	       memcmp(&a.low, &b.low, sizeof(double)) == 0 &&
	       memcmp(&a.high, &b.high, sizeof(double)) == 0 && a.exact == b.exact;
}

/* Index and rank of hash at precision p, one bit at a time. */
static void naive_split(uint64_t hash, int p, uint32_t *index, uint8_t *rank)
{
	uint32_t i = 0;
	for (int b = 63; b >= 64 - p; b--)
		i = (i << 1) | (uint32_t)((hash >> b) & 1);
	uint8_t r = 1;
	for (int b = 63 - p; b >= 0 && !((hash >> b) & 1); b--)
		r++;
	*index = i;
	*rank = r;
}

/* The registers at precision p of the n hashes xs, from their definition. */
static void naive_registers(const uint64_t *xs, size_t n, int p, uint8_t *out)
{
	memset(out, 0, (size_t)1 << p);
	for (size_t k = 0; k < n; k++) {
		uint32_t i;
		uint8_t rank;
		naive_split(xs[k], p, &i, &rank);
		if (rank > out[i])
			out[i] = rank;
	}
}

/* Index of the first register where h differs from the naive registers of
 * xs at h's precision, or -1. */
static long naive_difference(const sl_hll *h, const uint64_t *xs, size_t n)
{
	int p = sl_hll_precision(h);
	uint8_t *ref = test_malloc((size_t)1 << p);
	naive_registers(xs, n, p, ref);
	long at = -1;
	for (uint32_t i = 0; i < (1u << p) && at < 0; i++)
		if (sl_hll_register(h, i) != ref[i])
			at = (long)i;
	test_free(ref);
	return at;
}

/* Register i of a six-bit packing, one bit at a time. */
static unsigned naive_unpack(const uint8_t *bytes, uint32_t i)
{
	unsigned v = 0;
	for (int j = 0; j < 6; j++) {
		size_t bit = (size_t)i * 6 + (size_t)j;
		v |= (unsigned)((bytes[bit / 8] >> (bit % 8)) & 1) << j;
	}
	return v;
}

/* Index of the first register where a and b differ, or -1. */
static long first_difference(const sl_hll *a, const sl_hll *b)
{
	if (sl_hll_precision(a) != sl_hll_precision(b))
		return 0;
	uint32_t m = 1u << sl_hll_precision(a);
	for (uint32_t i = 0; i < m; i++)
		if (sl_hll_register(a, i) != sl_hll_register(b, i))
			return (long)i;
	return -1;
}

/* A hash with a random index and `zeros` leading zeros in its rest (all of
 * the rest zero when zeros >= 64 - p): reaches the high ranks. */
static uint64_t skewed_hash(tu_rng *r, int p)
{
	uint64_t h = tu_next(r);
	int zeros = (int)tu_below(r, (uint64_t)(64 - p) + 1);
	uint64_t index = h >> (64 - p) << (64 - p);
	uint64_t rest = h << p >> p;
	if (zeros >= 64 - p)
		return index;
	rest >>= zeros;
	rest |= (uint64_t)1 << (63 - p - zeros);
	return index | rest;
}

static void registers_match_naive(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 1};
	int ps[] = {4, 5, 11, 16, 18};
	for (size_t t = 0; t < sizeof ps / sizeof ps[0]; t++) {
		int p = ps[t];
		uint32_t m = 1u << p;
		sl_budget b;
		sl_budget_init(&b, 1 << 20);
		sl_hll *h = sl_hll_new(&b, p);
		assert_non_null(h);
		assert_int_equal(b.used, sl_hll_bytes(p));
		assert_int_equal(sl_hll_precision(h), p);
		uint8_t *ref = test_calloc(m, 1);
		for (int n = 0; n < 20000; n++) {
			/* a few skewed hashes: high ranks, as many as the
			 * exception table holds (hostile_hashes_fold has more) */
			uint64_t x = (n % 1000 == 999) ? skewed_hash(&r, p) : tu_next(&r);
			if (n == 7)
				x = 0;		/* all-zero hash: index 0, cap */
			if (n == 8)
				x = ~0ULL;	/* last index, rank 1 */
			uint32_t i;
			uint8_t rank;
			naive_split(x, p, &i, &rank);
			assert_true(rank >= 1 && rank <= 65 - p);
			if (rank > ref[i])
				ref[i] = rank;
			sl_hll_add_hash(h, x);
		}
		assert_int_equal(ref[0] >= 65 - p, 1);
		assert_int_equal(sl_hll_precision(h), p);
		for (uint32_t i = 0; i < m; i++) {
			assert_int_equal(sl_hll_register(h, i), ref[i]);
			assert_true(sl_hll_register(h, i) <= 65 - p);
		}
		test_free(ref);
		sl_hll_free(h);
		assert_int_equal(b.used, 0);
	}
}

static void bad_precision_and_budget(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	assert_null(sl_hll_new(&b, SL_HLL_MIN_P - 1));
	assert_null(sl_hll_new(&b, SL_HLL_MAX_P + 1));
	assert_int_equal(b.used, 0);
	sl_budget_init(&b, sl_hll_bytes(12) - 1);
	assert_null(sl_hll_new(&b, 12));
	assert_int_equal(b.used, 0);
	sl_budget_init(&b, sl_hll_bytes(12));
	sl_hll *h = sl_hll_new(&b, 12);
	assert_non_null(h);
	assert_int_equal(b.used, b.limit);
	sl_hll_free(h);
	sl_hll_free(NULL);
	assert_int_equal(b.used, 0);
	/* four bits a register and four bytes an exception word, 2^p / 256 + 16
	 * of them: 17,0xx bytes at p = 15 */
	for (int p = SL_HLL_MIN_P; p < SL_HLL_MAX_P; p++)
		assert_true(sl_hll_bytes(p + 1) - sl_hll_bytes(p) ==
			    (1u << p) / 2 + 4 * ((2u << p) / 256 - (1u << p) / 256));
	assert_true(sl_hll_bytes(15) - sl_hll_bytes(4) == 16384 + 4 * 128 - 8);
	print_message("sl_hll_bytes: p=14 %zu, p=15 %zu, p=16 %zu\n", sl_hll_bytes(14),
		      sl_hll_bytes(15), sl_hll_bytes(16));
}

static void empty_is_zero(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_hll *h = sl_hll_new(&b, 10);
	sl_estimate e = sl_hll_estimate(h);
	assert_true(e.estimate == 0.0 && e.low == 0.0 && e.high == 0.0);
	assert_false(e.exact);
	sl_hll_add_hash(h, 12345);
	e = sl_hll_estimate(h);
	assert_true(fabs(e.estimate - 1.0) < 0.01);
	sl_hll_free(h);
}

static void accuracy(void **state)
{
	(void)state;
	static const struct {
		int p;
		uint32_t n;
	} cases[] = {
		{10, 10}, {10, 100}, {10, 1000}, {10, 10000}, {10, 100000},
		{12, 10}, {12, 100}, {12, 1000}, {12, 10000}, {12, 100000},
		{14, 10}, {14, 100}, {14, 1000}, {14, 10000}, {14, 100000},
		{14, 1000000}, {18, 1000000},
	};
	/* p below ~8 is left out on purpose: with 16 registers the error is
	 * skewed (about +10% bias, a long right tail), so "3 standard errors"
	 * is not a 99.7% statement there. */
	tu_rng r = {seed ^ 2};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		int p = cases[t].p;
		sl_hll *h = sl_hll_new(&b, p);
		assert_non_null(h);
		for (uint32_t i = 0; i < cases[t].n; i++)
			sl_hll_add_hash(h, tu_next(&r));
		sl_estimate e = sl_hll_estimate(h);
		double truth = cases[t].n;
		if (!within(e.estimate, truth, p, 3.0))
			print_message("p=%d n=%u estimate %.1f\n", p, cases[t].n,
				      e.estimate);
		assert_true(within(e.estimate, truth, p, 3.0));
		/* never merged: HIP, whose stated error is 0.8326 / sqrt(m) */
		assert_false(sl_hll_is_merged(h));
		assert_true(fabs(sl_hll_std_error(h) - SL_HLL_HIP_SE / sqrt((double)(1u << p))) < 1e-12);
		double half = 1.96 * sl_hll_std_error(h) * e.estimate;
		assert_true(fabs(e.low - (e.estimate - half)) < 1e-6 * truth);
		assert_true(fabs(e.high - (e.estimate + half)) < 1e-6 * truth);
		assert_true(e.low >= 0.0);
		assert_false(e.exact);
		sl_hll_free(h);
	}
	assert_int_equal(b.used, 0);
}

static void coverage(void **state)
{
	(void)state;
	static const struct {
		int p;
		uint32_t n;
	} cases[] = {{10, 5000}, {12, 3000}, {8, 20000}};
	tu_rng r = {seed ^ 3};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		int covered = 0, trials = 50;
		for (int k = 0; k < trials; k++) {
			sl_hll *h = sl_hll_new(&b, cases[t].p);
			for (uint32_t i = 0; i < cases[t].n; i++)
				sl_hll_add_hash(h, tu_next(&r));
			sl_estimate e = sl_hll_estimate(h);
			if (e.low <= cases[t].n && cases[t].n <= e.high)
				covered++;
			sl_hll_free(h);
		}
		print_message("p=%d n=%u: 95%% interval covered %d/%d\n",
			      cases[t].p, cases[t].n, covered, trials);
		assert_true(covered * 100 >= trials * 85);
	}
}

/* Fills h with n hashes drawn from a generator at state s. */
static void feed(sl_hll *h, uint64_t s, uint32_t n)
{
	tu_rng r = {s};
	for (uint32_t i = 0; i < n; i++)
		sl_hll_add_hash(h, tu_next(&r));
}

static void merge_same_precision(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	for (int overlap = 0; overlap < 2; overlap++) {
		sl_hll *a = sl_hll_new(&b, 12), *c = sl_hll_new(&b, 12);
		sl_hll *one = sl_hll_new(&b, 12);
		/* overlapping: b's stream begins with all of a's */
		uint64_t sa = seed ^ 4, sb = overlap ? sa : seed ^ 5;
		feed(a, sa, 30000);
		feed(c, sb, 50000);
		feed(one, sa, 30000);
		feed(one, sb, 50000);
		assert_int_equal(sl_hll_merge(a, c), SL_OK);
		assert_int_equal(first_difference(a, one), -1);
		/* the union size is 80000, or 50000 when b's stream covers a's */
		double truth = overlap ? 50000 : 80000;
		assert_true(within(sl_hll_estimate(a).estimate, truth, 12, 3.0));
		assert_int_equal(sl_hll_merge(a, a), SL_OK);
		assert_int_equal(first_difference(a, one), -1);
		sl_hll_free(a);
		sl_hll_free(c);
		sl_hll_free(one);
	}
	assert_int_equal(b.used, 0);
}

static void fold_equals_direct(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	tu_rng r = {seed ^ 6};
	static const int pairs[][2] = {
		{14, 12}, {14, 10}, {12, 11}, {18, 4}, {10, 10}, {16, 9},
	};
	for (size_t t = 0; t < sizeof pairs / sizeof pairs[0]; t++) {
		int hi = pairs[t][0], lo = pairs[t][1];
		for (int round = 0; round < 3; round++) {
			/* few, many and skewed hashes: empty blocks, full
			 * blocks and high ranks all occur */
			uint32_t n = round == 0 ? 50 : 40000;
			sl_hll *h = sl_hll_new(&b, hi), *direct = sl_hll_new(&b, lo);
			for (uint32_t i = 0; i < n; i++) {
				uint64_t x = round == 2 && i % 4000 == 3999 ? skewed_hash(&r, hi)
									    : tu_next(&r);
				sl_hll_add_hash(h, x);
				sl_hll_add_hash(direct, x);
			}
			sl_hll_add_hash(h, 0);
			sl_hll_add_hash(direct, 0);
			sl_hll_fold(h, lo);
			assert_int_equal(sl_hll_precision(h), lo);
			assert_int_equal(first_difference(h, direct), -1);
			for (uint32_t i = 0; i < (1u << lo); i++)
				assert_true(sl_hll_register(h, i) <= 65 - lo);
			/* a folded HLL keeps working at its new precision */
			uint64_t more = tu_next(&r);
			sl_hll_add_hash(h, more);
			sl_hll_add_hash(direct, more);
			assert_int_equal(first_difference(h, direct), -1);
			sl_hll_free(h);
			sl_hll_free(direct);
			assert_int_equal(b.used, 0);
		}
	}
}

static void merge_different_precisions(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	uint64_t sa = seed ^ 7, sb = seed ^ 8;
	for (int dir = 0; dir < 2; dir++) {
		int pa = dir ? 10 : 14, pb = dir ? 14 : 10;
		sl_hll *a = sl_hll_new(&b, pa), *c = sl_hll_new(&b, pb);
		sl_hll *one = sl_hll_new(&b, 10);
		feed(a, sa, 20000);
		feed(c, sb, 3000);
		feed(one, sa, 20000);
		feed(one, sb, 3000);
		size_t used = b.used;
		assert_int_equal(sl_hll_merge(a, c), SL_OK);
		assert_int_equal(b.used, used);	/* no allocation */
		assert_int_equal(sl_hll_precision(a), 10);
		assert_int_equal(first_difference(a, one), -1);
		/* src untouched when it was the higher precision */
		assert_int_equal(sl_hll_precision(c), pb);
		sl_hll_free(a);
		sl_hll_free(c);
		sl_hll_free(one);
		assert_int_equal(b.used, 0);
	}
}

static void checkers_can_fail(void **state)
{
	(void)state;
	assert_true(within(1000.0, 1000.0, 10, 3.0));
	assert_false(within(1200.0, 1000.0, 10, 3.0));	/* 20% > 9.75% */
	assert_false(within(1000.0, 1200.0, 10, 3.0));

	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_hll *a = sl_hll_new(&b, 8), *c = sl_hll_new(&b, 8);
	feed(a, 99, 100);
	feed(c, 99, 100);
	assert_int_equal(first_difference(a, c), -1);
	sl_hll_add_hash(c, 0x0500000000000000ULL); /* index 5, rank 57 */
	assert_int_equal(first_difference(a, c), 5);
	sl_hll_free(a);
	sl_hll_free(c);

	/* the naive splitter against hand-worked values */
	uint32_t i;
	uint8_t rank;
	naive_split(0x0016ULL << 50 | 1ULL << 40, 14, &i, &rank);
	assert_int_equal(i, 22);
	assert_int_equal(rank, 10);
	naive_split(0x0016ULL << 50 | 1ULL << 40, 12, &i, &rank);
	assert_int_equal(i, 5);
	assert_int_equal(rank, 1);
	naive_split(0, 14, &i, &rank);
	assert_int_equal(rank, 51);

	/* the naive unpacker against the hand-packed example, and one bit off */
	const uint8_t packed[3] = {0x40, 0x0b, 0x00};
	assert_int_equal(naive_unpack(packed, 0), 0);
	assert_int_equal(naive_unpack(packed, 1), 45);
	const uint8_t off_by_bit[3] = {0x40, 0x0a, 0x00};
	assert_int_equal(naive_unpack(off_by_bit, 1), 41);

	sl_estimate x = {1000.0, 990.0, 1010.0, false}, y = x;
	assert_true(same_estimate(x, y));
	y.high = nextafter(y.high, 2000.0);
	assert_false(same_estimate(x, y));
}

/* The bytes sl_hll_encode writes for h, in a malloc'd buffer. */
static uint8_t *encode_hll(const sl_hll *h, size_t *len)
{
	static sl_budget wb;
	sl_budget_init(&wb, 1 << 22);
	sl_wire_writer w;
	sl_wire_init(&w, &wb, false);
	sl_hll_encode(h, &w);
	assert_false(w.failed);
	uint8_t *out = test_malloc(w.len);
	memcpy(out, w.buf, w.len);
	*len = w.len;
	sl_wire_release(&w);
	return out;
}

/* Register i of the bytes sl_hll_encode wrote (u8 p | u8 merged | f64 hip |
 * u8 base | u32 k | 2^p / 2 nibble bytes | k words), read naively: the
 * nibble plus base, or for a nibble 15 the value of the word whose index is
 * i (a linear search); 255 when a nibble 15 has no word. */
static unsigned naive_unpack4(const uint8_t *enc, uint32_t i)
{
	int p = enc[0];
	unsigned base = enc[10];
	uint32_t k = (uint32_t)enc[11] | (uint32_t)enc[12] << 8 | (uint32_t)enc[13] << 16 |
		     (uint32_t)enc[14] << 24;
	const uint8_t *nibbles = enc + 15, *words = nibbles + ((size_t)1 << p) / 2;
	unsigned n = i % 2 ? nibbles[i / 2] >> 4 : nibbles[i / 2] & 15u;
	if (n != 15)
		return base + n;
	for (uint32_t j = 0; j < k; j++) {
		const uint8_t *w = words + 4 * (size_t)j;
		uint32_t idx = (uint32_t)w[1] | (uint32_t)w[2] << 8 | (uint32_t)w[3] << 16;
		if (idx == i)
			return w[0];
	}
	return 255;
}

/* Random adds against a byte-per-register model: the bytes the codec
 * writes hold the model's registers (the in-memory layout is the same
 * bytes), and the words are sorted. */
static void packing_matches_naive(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 9};
	int ps[] = {4, 7, 12, 15};
	for (size_t t = 0; t < sizeof ps / sizeof ps[0]; t++) {
		int p = ps[t];
		uint32_t m = 1u << p;
		sl_budget b;
		sl_budget_init(&b, 1 << 20);
		sl_hll *h = sl_hll_new(&b, p);
		uint8_t *ref = test_calloc(m, 1);
		for (int round = 0; round < 4; round++) {
			for (int n = 0; n < 3000 << round; n++) {
				uint64_t x = n % 5000 == 4999 ? skewed_hash(&r, p) : tu_next(&r);
				uint32_t i;
				uint8_t rank;
				naive_split(x, p, &i, &rank);
				if (rank > ref[i])
					ref[i] = rank;
				sl_hll_add_hash(h, x);
			}
			assert_int_equal(sl_hll_precision(h), p);
			size_t len;
			uint8_t *enc = encode_hll(h, &len);
			uint32_t k = sl_wire_le32(enc + 11);
			assert_int_equal(len, 15 + (size_t)m / 2 + 4 * (size_t)k);
			assert_int_equal(enc[0], p);
			assert_int_equal(enc[1], 0);
			unsigned lo = 255;
			for (uint32_t i = 0; i < m; i++) {
				if (naive_unpack4(enc, i) != ref[i])
					print_message("p=%d register %u: encoded %u, model %u\n", p,
						      i, naive_unpack4(enc, i), ref[i]);
				assert_int_equal(naive_unpack4(enc, i), ref[i]);
				assert_int_equal(sl_hll_register(h, i), ref[i]);
				if (ref[i] < lo)
					lo = ref[i];
			}
			assert_int_equal(enc[10], lo);	/* the base is the minimum */
			for (uint32_t j = 1; j < k; j++)
				assert_true(sl_wire_le32(enc + 15 + m / 2 + 4 * j) >> 8 >
					    sl_wire_le32(enc + 15 + m / 2 + 4 * (j - 1)) >> 8);
			if (round == 3)
				print_message("p=%d: base %u, %u exception words\n", p, lo, k);
			test_free(enc);
		}
		test_free(ref);
		sl_hll_free(h);
		assert_int_equal(b.used, 0);
	}
	/* the worked example of lib/sketch/hll.c: p = 4, registers 3, 5, 19, 3 and
	 * the rest 3 -> base 3, bytes 20 0f 00 .., one word 13 02 00 00 */
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_hll *h = sl_hll_new(&b, 4);
	for (uint64_t i = 0; i < 16; i++) /* index i, rank 3: two zeros */
		sl_hll_add_hash(h, i << 60 | 1ULL << (59 - 2));
	sl_hll_add_hash(h, 1ULL << 60 | 1ULL << (59 - 4));
	sl_hll_add_hash(h, 2ULL << 60 | 1ULL << (59 - 18));
	assert_int_equal(sl_hll_register(h, 2), 19);
	size_t len;
	uint8_t *enc = encode_hll(h, &len);
	static const uint8_t want[] = {3, 1, 0, 0, 0, 0x20, 0x0f, 0, 0, 0, 0, 0, 0,
				       0x13, 0x02, 0x00, 0x00};
	assert_int_equal(len, 10 + sizeof want);
	assert_memory_equal(enc + 10, want, sizeof want);
	test_free(enc);
	sl_hll_free(h);
}

/* Hashes crafted to fill the exception table (every register far above
 * the others) cannot make the sketch take memory: each add that would not
 * fit folds it one precision down, and then its registers are exactly those
 * of that precision, its memory is what sl_hll_bytes promised, and its
 * stated error is that of the precision it has. */
static void hostile_hashes_fold(void **state)
{
	(void)state;
	enum { N = 6000 };
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	int p = 12;
	sl_hll *h = sl_hll_new(&b, p);
	size_t used = b.used;
	uint64_t *xs = test_malloc(N * sizeof *xs);
	tu_rng r = {seed ^ 17};
	/* register 0 stays at rank 1; every other gets rank 40 */
	xs[0] = 1ULL << (63 - p);
	for (int k = 1; k < N; k++) {
		uint64_t index = 1 + tu_below(&r, (1u << p) - 1);
		xs[k] = index << (64 - p) | 1ULL << (63 - p - 39);
	}
	for (int k = 0; k < N; k++)
		sl_hll_add_hash(h, xs[k]);
	int now = sl_hll_precision(h);
	print_message("hostile: p %d -> %d after %d crafted hashes\n", p, now, N);
	assert_true(now < p);
	assert_int_equal(b.used, used);
	assert_int_equal(naive_difference(h, xs, N), -1);
	assert_true(fabs(sl_hll_std_error(h) - SL_HLL_HIP_SE / sqrt((double)(1u << now))) < 1e-12);
	/* it goes on counting: random hashes after the attack */
	uint64_t *more = test_malloc(2 * N * sizeof *more);
	memcpy(more, xs, N * sizeof *xs);
	for (int k = N; k < 2 * N; k++) {
		more[k] = tu_next(&r);
		sl_hll_add_hash(h, more[k]);
	}
	assert_int_equal(naive_difference(h, more, 2 * N), -1);
	/* a merge into a fresh sketch of the original precision folds it too */
	sl_hll *c = sl_hll_new(&b, p);
	assert_int_equal(sl_hll_merge(c, h), SL_OK);
	assert_int_equal(sl_hll_precision(c), sl_hll_precision(h));
	assert_int_equal(first_difference(c, h), -1);
	sl_hll_free(c);
	sl_hll_free(h);
	test_free(more);
	test_free(xs);
	assert_int_equal(b.used, 0);
}

/* A copy of h's registers that answers with Ertl's estimator. */
static sl_hll *ertl_copy(sl_budget *b, const sl_hll *h)
{
	sl_hll *c = sl_hll_new(b, sl_hll_precision(h));
	assert_non_null(c);
	assert_int_equal(sl_hll_merge(c, h), SL_OK);
	assert_true(sl_hll_is_merged(c));
	assert_int_equal(first_difference(c, h), -1);
	return c;
}

/* HIP and Ertl side by side against the exact count. z = (estimate - n) /
 * (n * stated standard error): the stated error is honest when z's RMS is
 * about 1 or below (it is below for n well under m, where both estimators
 * beat their asymptotic error). */
static void side_by_side_accuracy(void **state)
{
	(void)state;
	static const int ps[] = {12, 14, 15};
	static const uint32_t ns[] = {1000, 10000, 100000, 1000000};
	enum { TRIALS = 20 };
	tu_rng r = {seed ^ 10};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	double pooled[2] = {0, 0};
	int count = 0;
	for (size_t a = 0; a < sizeof ps / sizeof *ps; a++) {
		for (size_t c = 0; c < sizeof ns / sizeof *ns; c++) {
			int p = ps[a];
			uint32_t n = ns[c];
			double sum_z2[2] = {0, 0}, sum_rel[2] = {0, 0}, max_z[2] = {0, 0};
			for (int t = 0; t < TRIALS; t++) {
				sl_hll *h = sl_hll_new(&b, p);
				for (uint32_t i = 0; i < n; i++)
					sl_hll_add_hash(h, tu_next(&r));
				sl_hll *e = ertl_copy(&b, h);
				const sl_hll *by[2] = {h, e};
				for (int k = 0; k < 2; k++) {
					double est = sl_hll_estimate(by[k]).estimate;
					double rel = (est - n) / n;
					double z = rel / sl_hll_std_error(by[k]);
					if (fabs(z) > 4.0)
						print_message("%s p=%d n=%u trial %d: estimate %.1f, "
							      "z = %.2f (seed %llu)\n",
							      k ? "Ertl" : "HIP", p, n, t, est, z,
							      (unsigned long long)seed);
					assert_true(fabs(z) <= 4.0);
					sum_z2[k] += z * z;
					sum_rel[k] += fabs(rel);
					if (fabs(z) > max_z[k])
						max_z[k] = fabs(z);
				}
				sl_hll_free(h);
				sl_hll_free(e);
			}
			for (int k = 0; k < 2; k++) {
				double rms = sqrt(sum_z2[k] / TRIALS);
				double se = (k ? SL_HLL_ERTL_SE : SL_HLL_HIP_SE) / sqrt((double)(1u << p));
				print_message("%-4s p=%2d n=%7u: mean |error| %.3f%%, RMS %.3f%% "
					      "(stated %.3f%%, RMS/stated %.2f, max %.2f)\n",
					      k ? "Ertl" : "HIP", p, n, 100 * sum_rel[k] / TRIALS,
					      100 * rms * se, 100 * se, rms, max_z[k]);
				assert_true(rms <= 1.6);
				pooled[k] += sum_z2[k];
			}
			count += TRIALS;
		}
	}
	for (int k = 0; k < 2; k++) {
		double rms = sqrt(pooled[k] / count);
		print_message("%s pooled RMS / stated: %.3f over %d trials\n", k ? "Ertl" : "HIP",
			      rms, count);
		assert_true(rms <= 1.2);
	}
	assert_int_equal(b.used, 0);
}

/* HIP is the stream's own figure: the same stream gives the same bits; a
 * merge (even with an empty sketch) switches to Ertl; a fold keeps HIP. */
static void estimator_switches(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 22);
	sl_hll *a = sl_hll_new(&b, 14), *c = sl_hll_new(&b, 14);
	feed(a, seed ^ 11, 200000);
	feed(c, seed ^ 11, 200000);
	sl_estimate ea = sl_hll_estimate(a), ec = sl_hll_estimate(c);
	assert_true(same_estimate(ea, ec));
	assert_false(sl_hll_is_merged(a));

	sl_hll *empty = sl_hll_new(&b, 14);
	assert_int_equal(sl_hll_merge(c, empty), SL_OK);
	assert_true(sl_hll_is_merged(c));
	assert_int_equal(first_difference(a, c), -1);
	sl_estimate em = sl_hll_estimate(c);
	assert_true(em.estimate != ea.estimate); /* Ertl's figure, not HIP's */
	assert_true(fabs(sl_hll_std_error(c) - SL_HLL_ERTL_SE / 128.0) < 1e-12);
	double half = 1.96 * SL_HLL_ERTL_SE / 128.0 * em.estimate;
	assert_true(fabs(em.high - em.estimate - half) < 1e-6 * em.estimate);
	assert_true(within(em.estimate, 200000, 14, 4.0));

	/* fold keeps HIP, and it stays accurate as the stream goes on */
	sl_hll_fold(a, 11);
	assert_false(sl_hll_is_merged(a));
	assert_true(sl_hll_estimate(a).estimate == ea.estimate);
	tu_rng r = {seed ^ 12};
	for (int i = 0; i < 300000; i++)
		sl_hll_add_hash(a, tu_next(&r));
	double est = sl_hll_estimate(a).estimate;
	print_message("HIP across a fold 14 -> 11: %.0f for 500000 (%.3f%%, stated %.3f%%)\n",
		      est, 100 * (est - 500000) / 500000, 100 * sl_hll_std_error(a));
	assert_true(fabs(est - 500000) <= 4 * sl_hll_std_error(a) * 500000);

	sl_hll_mark_merged(empty);
	assert_true(sl_hll_is_merged(empty));
	assert_true(sl_hll_estimate(empty).estimate == 0.0);
	sl_hll_free(a);
	sl_hll_free(c);
	sl_hll_free(empty);
	assert_int_equal(b.used, 0);
}

/* Loads enc[0 .. len) into dst with the given loader; asserts it is all
 * consumed and returns the status. */
enum { FOUR_BITS, SIX_BITS, ONE_BYTE };

static sl_status load_all(sl_hll *dst, const uint8_t *enc, size_t len, int layout)
{
	sl_wire_reader r;
	sl_wire_reader_init(&r, enc, len);
	const char *why = NULL;
	sl_status st = layout == ONE_BYTE   ? sl_hll_load_v2(dst, &r, &why)
		       : layout == SIX_BITS ? sl_hll_load_packed(dst, &r, &why)
					    : sl_hll_load(dst, &r, &why);
	if (st == SL_OK)
		assert_int_equal(r.left, 0);
	else
		assert_non_null(why);
	return st;
}

static void codec_round_trip(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 22);
	sl_hll *h = sl_hll_new(&b, 12);
	feed(h, seed ^ 13, 50000);
	sl_hll_add_hash(h, 5ULL << 52 | 1ULL << (51 - 44)); /* register 5 = 45 */
	sl_hll_add_hash(h, 9ULL << 52 | 1ULL << (51 - 40)); /* register 9 = 41 */
	size_t len;
	uint8_t *enc = encode_hll(h, &len);
	uint32_t nexc = sl_wire_le32(enc + 11);
	assert_true(nexc >= 2);
	/* the words of registers 5 and 9 */
	size_t w5 = 0, w9 = 0;
	for (uint32_t j = 0; j < nexc; j++) {
		size_t at = 15 + (1u << 12) / 2 + 4 * (size_t)j;
		uint32_t index = sl_wire_le32(enc + at) >> 8;
		if (index == 5)
			w5 = at;
		if (index == 9)
			w9 = at;
	}
	assert_true(w5 && w9);

	/* into an empty sketch: restored, HIP and all, and it goes on alike */
	sl_hll *back = sl_hll_new(&b, 12);
	assert_int_equal(load_all(back, enc, len, FOUR_BITS), SL_OK);
	assert_int_equal(first_difference(back, h), -1);
	assert_false(sl_hll_is_merged(back));
	assert_true(sl_hll_estimate(back).estimate == sl_hll_estimate(h).estimate);
	feed(h, seed ^ 14, 1000);
	feed(back, seed ^ 14, 1000);
	assert_true(sl_hll_estimate(back).estimate == sl_hll_estimate(h).estimate);

	/* into a non-empty one: a merge */
	sl_hll *other = sl_hll_new(&b, 12);
	feed(other, seed ^ 15, 10);
	assert_int_equal(load_all(other, enc, len, FOUR_BITS), SL_OK);
	assert_true(sl_hll_is_merged(other));

	/* impossible bytes */
	uint8_t *bad = test_malloc(len);
	struct {
		size_t at;
		uint8_t v;
	} cuts[] = {
		{0, 3}, {0, 19}, {1, 2},	/* p, merged flag */
		{10, 54},			/* base above 65 - p */
		{11, (uint8_t)(nexc + 1)},	/* words disagree with the nibbles */
		{15 + 2, 0xff},			/* register 5 and 4: nibble 15, no word */
		{w5, 1},			/* an exception below base + 15 */
		{w5, 60},			/* a register above 65 - p */
		{w5 + 1, 6},			/* a word on a nibble that is not 15 */
		{w9 + 1, 5},			/* two words, one index */
	};
	for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
		memcpy(bad, enc, len);
		bad[cuts[k].at] = cuts[k].v;
		sl_hll *d = sl_hll_new(&b, 12);
		assert_int_equal(load_all(d, bad, len, FOUR_BITS), SL_ECORRUPT);
		sl_hll_free(d);
	}
	double neg = -1.0, nan = NAN, tiny = 1.0;
	const double *hips[] = {&neg, &nan, &tiny};
	for (size_t k = 0; k < 3; k++) {
		memcpy(bad, enc, len);
		uint64_t bits;
		memcpy(&bits, hips[k], 8);
		sl_wire_put_le64(bad + 2, bits);
		sl_hll *d = sl_hll_new(&b, 12);
		assert_int_equal(load_all(d, bad, len, FOUR_BITS), SL_ECORRUPT);
		sl_hll_free(d);
	}
	sl_hll *d = sl_hll_new(&b, 12);
	assert_int_equal(load_all(d, enc, len - 1, FOUR_BITS), SL_ECORRUPT);
	sl_hll_free(d);
	test_free(bad);

	/* the six-bit packing of version 3: restored, HIP and all, or merged */
	uint32_t m = 1u << 12;
	size_t plen = 10 + 3 * (size_t)m / 4;
	uint8_t *six = test_calloc(plen, 1);
	memcpy(six, enc, 2);
	double hip_now = sl_hll_estimate(h).estimate;
	uint64_t hip_bits;
	memcpy(&hip_bits, &hip_now, 8);
	sl_wire_put_le64(six + 2, hip_bits);
	for (uint32_t i = 0; i < m; i++)
		for (int j = 0; j < 6; j++)
			if (sl_hll_register(h, i) >> j & 1)
				six[10 + (6 * (size_t)i + (size_t)j) / 8] |=
					(uint8_t)(1u << ((6 * i + (unsigned)j) % 8));
	assert_int_equal(naive_unpack(six + 10, 5), 45);
	sl_hll *from6 = sl_hll_new(&b, 12);
	assert_int_equal(load_all(from6, six, plen, SIX_BITS), SL_OK);
	assert_int_equal(first_difference(from6, h), -1);
	assert_false(sl_hll_is_merged(from6));
	assert_true(sl_hll_estimate(from6).estimate == sl_hll_estimate(h).estimate);
	six[1] = 1;
	sl_wire_put_le64(six + 2, 0);
	sl_hll *from6m = sl_hll_new(&b, 10), *h10m = ertl_copy(&b, h);
	sl_hll_fold(h10m, 10);
	assert_int_equal(load_all(from6m, six, plen, SIX_BITS), SL_OK);
	assert_true(sl_hll_is_merged(from6m));
	assert_int_equal(first_difference(from6m, h10m), -1);
	six[10 + 5] = 0xff; /* registers 6 and 7 = 63 > 53 */
	sl_hll *rej6 = sl_hll_new(&b, 12);
	assert_int_equal(load_all(rej6, six, plen, SIX_BITS), SL_ECORRUPT);
	assert_int_equal(load_all(rej6, six, plen - 1, SIX_BITS), SL_ECORRUPT);
	sl_hll_free(rej6);
	sl_hll_free(from6);
	sl_hll_free(from6m);
	sl_hll_free(h10m);
	test_free(six);

	/* the one-byte form of versions 1 and 2: the same registers, merged */
	uint8_t *old = test_malloc(1 + m);
	old[0] = 12;
	for (uint32_t i = 0; i < m; i++)
		old[1 + i] = sl_hll_register(h, i);
	sl_hll *conv = sl_hll_new(&b, 12);
	assert_int_equal(load_all(conv, old, 1 + m, ONE_BYTE), SL_OK);
	assert_int_equal(first_difference(conv, h), -1);
	assert_true(sl_hll_is_merged(conv));
	/* at a lower precision it folds on the fly */
	sl_hll *conv10 = sl_hll_new(&b, 10), *h10 = ertl_copy(&b, h);
	sl_hll_fold(h10, 10);
	assert_int_equal(load_all(conv10, old, 1 + m, ONE_BYTE), SL_OK);
	assert_int_equal(first_difference(conv10, h10), -1);
	old[5] = 54;
	sl_hll *rej = sl_hll_new(&b, 12);
	assert_int_equal(load_all(rej, old, 1 + m, ONE_BYTE), SL_ECORRUPT);
	test_free(old);

	sl_hll_free(rej);
	sl_hll_free(conv);
	sl_hll_free(conv10);
	sl_hll_free(h10);
	sl_hll_free(other);
	sl_hll_free(back);
	sl_hll_free(h);
	test_free(enc);
	assert_int_equal(b.used, 0);
}

/* A state written by an older build with degraded distinct counters (the
 * fuzz corpus's seeds): each HLL loads with the file's registers (version
 * 2: one byte each, distinct mode 1; version 3: six-bit packed, mode 2),
 * as merged, and is written back in the four-bit layout (mode 3) with the
 * same registers and the same estimate. */
static void old_state_converts(const char *path, uint32_t version)
{
	size_t len;
	uint8_t *buf = (uint8_t *)tu_slurp(path, &len);
	if (!buf) {
		print_message("no %s (run from the top of the tree)\n", path);
		assert_int_equal(access("fuzz/corpus/fuzz_state", F_OK), -1);
		return;
	}
	assert_int_equal(sl_wire_le32(buf + 8), version);
	uint32_t nsec = sl_wire_le32(buf + 12);
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_state *s = NULL;
	const char *why = NULL;
	assert_int_equal(sl_state_decode(&s, &b, buf, len, 0, &why), SL_OK);
	size_t off = 32 + 24 * (size_t)nsec;
	int checked = 0;
	for (uint32_t k = 0; k < nsec; k++) {
		const uint8_t *e = buf + 24 + 24 * (size_t)k;
		uint32_t type = sl_wire_le32(e);
		size_t slen = (size_t)sl_wire_le64(e + 8);
		if (type == 16 || type == 17) {
			const uint8_t *sec = buf + off;
			const sl_distinct *d = type == 16 ? sl_report_named(s->report, "unique_ips")->distinct
							  : sl_report_named(s->report, "unique_visitors")->distinct;
			if (sec[1] == (version == 2 ? 1 : 2)) { /* degraded */
				int p = sec[10];
				const sl_hll *h = sl_distinct_hll(d);
				assert_non_null(h);
				assert_true(sl_hll_is_merged(h));
				assert_int_equal(sl_hll_precision(h), p);
				for (uint32_t i = 0; i < (1u << p); i++)
					assert_int_equal(sl_hll_register(h, i),
							 version == 2 ? sec[11 + i]
								      : naive_unpack(sec + 20, i));
				checked++;
			}
		}
		off += slen;
	}
	assert_true(checked > 0);

	void *out;
	size_t olen;
	assert_int_equal(sl_state_encode(&b, s->report, s->inputs, s->ninputs, s->budget, s->peak,
					 &out, &olen),
			 SL_OK);
	assert_int_equal(((uint8_t *)out)[8], SL_STATE_VERSION);
	/* written back in the four-bit layout, mode 3 */
	uint32_t onsec = sl_wire_le32((uint8_t *)out + 12);
	size_t ooff = 32 + 24 * (size_t)onsec;
	for (uint32_t k = 0; k < onsec; k++) {
		const uint8_t *e = (uint8_t *)out + 24 + 24 * (size_t)k;
		uint32_t type = sl_wire_le32(e);
		if ((type == 16 || type == 17) && ((uint8_t *)out)[ooff + 1] != 0)
			assert_int_equal(((uint8_t *)out)[ooff + 1], 3);
		ooff += (size_t)sl_wire_le64(e + 8);
	}
	sl_state *again = NULL;
	assert_int_equal(sl_state_decode(&again, &b, out, olen, 0, &why), SL_OK);
	const sl_distinct *pairs[2][2] = {{sl_report_named(s->report, "unique_ips")->distinct, sl_report_named(again->report, "unique_ips")->distinct},
					  {sl_report_named(s->report, "unique_visitors")->distinct, sl_report_named(again->report, "unique_visitors")->distinct}};
	for (int k = 0; k < 2; k++) {
		sl_estimate x = sl_distinct_estimate(pairs[k][0]);
		sl_estimate y = sl_distinct_estimate(pairs[k][1]);
		assert_true(same_estimate(x, y));
		const sl_hll *hx = sl_distinct_hll(pairs[k][0]), *hy = sl_distinct_hll(pairs[k][1]);
		assert_int_equal(hx == NULL, hy == NULL);
		if (hx)
			assert_int_equal(first_difference(hx, hy), -1);
	}
	sl_state_free(again);
	sl_free(&b, out, olen);
	sl_state_free(s);
	free(buf);
	assert_int_equal(b.used, 0);
}

static void version_2_state_converts(void **state)
{
	(void)state;
	old_state_converts("fuzz/corpus/fuzz_state/v2-degraded.state", 2);
}

static void version_3_state_converts(void **state)
{
	(void)state;
	old_state_converts("fuzz/corpus/fuzz_state/v3-degraded.state", 3);
}

/* A degraded distinct counter answers with HIP restarted from its exact
 * count: exact at the switch, the same bits for the same stream, and within
 * its stated error. The registers are the same however the stream was
 * ordered or split; once split and merged it answers with Ertl's estimator,
 * which reads the registers only, so every split and merge order gives the
 * same bits. */
static void distinct_estimators(void **state)
{
	(void)state;
	enum { N = 60000 };
	sl_budget b;
	sl_budget_init(&b, 1 << 24);
	enum { POOL = 40000 };
	uint64_t *pool = test_malloc(POOL * sizeof *pool);
	uint64_t *hashes = test_malloc(N * sizeof *hashes);
	tu_rng r = {seed ^ 16};
	for (int i = 0; i < POOL; i++)
		pool[i] = i ? tu_next(&r) : 0;
	uint64_t *index_of = test_malloc(N * sizeof *index_of);
	for (int i = 0; i < N; i++) { /* repeats, and the hash 0 */
		index_of[i] = tu_below(&r, POOL);
		hashes[i] = pool[index_of[i]];
	}
	size_t share = 64 << 10;
	sl_distinct *whole = sl_distinct_new(&b, share, 14);
	sl_distinct *again = sl_distinct_new(&b, share, 14);
	sl_distinct *reversed = sl_distinct_new(&b, share, 14);
	sl_distinct *parts[3], *parts2[3];
	for (int k = 0; k < 3; k++) {
		parts[k] = sl_distinct_new(&b, share, 14);
		parts2[k] = sl_distinct_new(&b, share, 14);
	}
	/* the distinct hashes seen so far, to know the truth at the switch */
	uint8_t *seen = test_calloc(POOL, 1);
	uint64_t truth = 0;
	bool checked_switch = false;
	for (int i = 0; i < N; i++) {
		truth += !seen[index_of[i]];
		seen[index_of[i]] = 1;
		bool exact = sl_distinct_is_exact(whole);
		sl_distinct_add_hash(whole, hashes[i]);
		if (exact && !sl_distinct_is_exact(whole)) {
			/* right at the switch: exact, as HIP restarted there */
			sl_estimate e = sl_distinct_estimate(whole);
			print_message("switch at %llu distinct: estimate %.1f\n",
				      (unsigned long long)truth, e.estimate);
			assert_true(e.estimate == (double)truth);
			assert_false(sl_hll_is_merged(sl_distinct_hll(whole)));
			checked_switch = true;
		}
		sl_distinct_add_hash(again, hashes[i]);
		sl_distinct_add_hash(reversed, hashes[N - 1 - i]);
		sl_distinct_add_hash(parts[i % 3], hashes[i]);
		sl_distinct_add_hash(parts2[i % 3], hashes[i]);
	}
	assert_true(checked_switch);
	for (int k = 1; k < 3; k++)
		assert_int_equal(sl_distinct_merge(parts[0], parts[k]), SL_OK);
	for (int k = 1; k >= 0; k--) /* another merge order */
		assert_int_equal(sl_distinct_merge(parts2[2], parts2[k]), SL_OK);
	assert_false(sl_distinct_is_exact(whole));
	sl_estimate a = sl_distinct_estimate(whole), c = sl_distinct_estimate(reversed),
		    d = sl_distinct_estimate(parts[0]), d2 = sl_distinct_estimate(parts2[2]);
	print_message("distinct %llu: whole %.1f, reversed %.1f (HIP); three parts %.1f "
		      "(Ertl)\n", (unsigned long long)truth, a.estimate, c.estimate, d.estimate);
	assert_true(same_estimate(a, sl_distinct_estimate(again)));
	assert_false(sl_hll_is_merged(sl_distinct_hll(whole)));
	assert_false(sl_hll_is_merged(sl_distinct_hll(reversed)));
	assert_true(sl_hll_is_merged(sl_distinct_hll(parts[0])));
	assert_true(same_estimate(d, d2));
	assert_int_equal(first_difference(sl_distinct_hll(whole), sl_distinct_hll(reversed)), -1);
	assert_int_equal(first_difference(sl_distinct_hll(whole), sl_distinct_hll(parts[0])), -1);
	const sl_estimate *all[] = {&a, &c, &d};
	for (int k = 0; k < 3; k++) {
		assert_true(fabs(all[k]->estimate - (double)truth) <=
			    4 * SL_HLL_ERTL_SE / 128.0 * (double)truth);
	}
	sl_distinct_free(whole);
	sl_distinct_free(again);
	sl_distinct_free(reversed);
	for (int k = 0; k < 3; k++) {
		sl_distinct_free(parts[k]);
		sl_distinct_free(parts2[k]);
	}
	test_free(index_of);
	test_free(seen);
	test_free(hashes);
	test_free(pool);
	assert_int_equal(b.used, 0);
}

int main(void)
{
	seed = tu_seed("test_hll", 20240601);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registers_match_naive),
		cmocka_unit_test(bad_precision_and_budget),
		cmocka_unit_test(empty_is_zero),
		cmocka_unit_test(accuracy),
		cmocka_unit_test(coverage),
		cmocka_unit_test(merge_same_precision),
		cmocka_unit_test(fold_equals_direct),
		cmocka_unit_test(merge_different_precisions),
		cmocka_unit_test(checkers_can_fail),
		cmocka_unit_test(packing_matches_naive),
		cmocka_unit_test(hostile_hashes_fold),
		cmocka_unit_test(side_by_side_accuracy),
		cmocka_unit_test(estimator_switches),
		cmocka_unit_test(codec_round_trip),
		cmocka_unit_test(version_2_state_converts),
		cmocka_unit_test(version_3_state_converts),
		cmocka_unit_test(distinct_estimators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
