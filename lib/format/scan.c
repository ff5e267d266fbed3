/*
 * scan.c: byte searches with run-time SIMD dispatch (sl_scan_*).
 *
 * Contract: see scan.h. Every search reads only [p, end).
 *
 * Dispatch. Three tables of functions: AVX2, SSE4.2 and scalar. The first
 * call resolves the table from __builtin_cpu_supports (AVX2 + POPCNT +
 * BMI1, else SSE4.2 + POPCNT, else scalar) and stores it in an atomic
 * pointer; later calls load it (a plain load) and jump through it. Racing
 * first calls store the same pointer. The SIMD functions are compiled with
 * __attribute__((target(...))), so the rest of the build needs no -mavx2,
 * and they exist only on x86-64 GCC/Clang; elsewhere only the scalar table
 * is built.
 *
 * Never reading past end. A vector loop takes whole vectors while they fit;
 * the rest r < W bytes (W = 32 or 16) is then handled by one more load of
 * the W bytes that END at end, which overlaps bytes already looked at:
 *  - first-match searches (byte, any) need nothing more: the overlapped
 *    bytes held no match, so the first match of the last load is right;
 *  - count and index shift the mask right by W - r to drop them;
 *  - last-match (memrchr) runs backwards and its final load is the W bytes
 *    that START at p, masked to the r bytes not yet seen.
 * A range shorter than one vector falls to the 16-byte version, then to the
 * scalar code: no load is ever wider than the range.
 *
 * Scalar code (the fallback and the reference for speed elsewhere): 8 bytes
 * per step as a 64-bit word (SWAR). x = word ^ (c * 0x0101..01) has a zero
 * byte exactly where the word holds c, and
 *     z = ~(((x & 0x7f..7f) + 0x7f..7f) | x | 0x7f..7f)
 * sets the top bit of exactly those bytes (no borrow crosses bytes, unlike
 * the cheaper (x - 0x01..01) & ~x test). Then the lowest set bit gives the
 * first match (little-endian; big-endian machines use byte loops), the
 * highest the last, ((z >> 7) * 0x01..01) >> 56 the count, and
 * ((z >> 7) * 0x0102040810204080) >> 56 packs the eight flags into one
 * byte (bit j = byte j; the partial products land on distinct bits, so no
 * carry disturbs the top byte) for the index.
 * sl_scan_any uses a 256-byte membership table, one byte per step.
 *
 * Sets (sl_scan_any). SSE4.2: pcmpestri "equal any" with the set as the
 * needle, 16 bytes per step. AVX2: up to 4 distinct bytes are compared one
 * by one (vpcmpeqb, OR); larger sets use a nibble lookup (the "shufti" idea
 * from Hyperscan): for byte x = h:l (high, low nibble) keep two 16-entry
 * tables lo_a[l] = {h < 8 : (h<<4|l) in set} and lo_b[l] = {h >= 8 : ...}
 * as bit sets over h, so x is in the set iff
 *     (lo_a[l] & 1 << h) | (lo_b[l] & 1 << (h - 8)) != 0,
 * four vpshufb lookups per 32 bytes, exact for any set.
 *
 * Counting (AVX2/SSE4.2): vpcmpeqb gives -1 per match; 255 steps are summed
 * in byte lanes, then folded into 64-bit lanes with vpsadbw.
 *
 * Index (sl_scan_index): per 32-byte vector one load, one compare and one
 * movemask per indexed byte; two movemasks make a 64-bit word. The words of
 * a 64-byte block are stored side by side (block-major), so a window can be
 * indexed into any run of blocks.
 *
 * Lines (sl_scan_lines): the buffer is indexed in chunks of
 * SL_SCAN_BITS_BYTES into a ring of two chunks; the AVX2 index lists the
 * chunk's line ends (a ctz per end) while the newline word is still in a
 * register, so the line reader costs a load per line and nothing per byte
 * beyond the index. A line read from the ring is parsed from it (lib/
 * access.c), so each byte is compared once for the line end and the
 * parser's classes together; measured on 223-byte log lines (AVX2, 3
 * classes) about 100 instructions per line for the index and 55 for the
 * rest of the reading, against 62 for a memchr-like search per line plus
 * 150 for indexing the line separately. The first half of the ring is
 * copied after its end, so a line that wraps reads as consecutive blocks.
 *
 * Memory: none (sets, indexes and line readers are the caller's).
 */
#include "sluice.h"
#include "format/scan.h"
#include "core/unaligned.h"

#include <stdatomic.h>
#include <string.h>

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define HAVE_X86 1
#include <immintrin.h>
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LITTLE 1
#endif

#define ONES 0x0101010101010101ULL
#define LOW7 0x7f7f7f7f7f7f7f7fULL

/* ------------------------------------------------------------------------ */
/* Sets                                                                      */
/* ------------------------------------------------------------------------ */

bool sl_scan_set_init(sl_scan_set *set, const char *chars, size_t n)
{
	if (n < 1 || n > SL_SCAN_SET_MAX)
		return false;
	size_t distinct = 0;
	memset(set, 0, sizeof *set);
	set->n = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)chars[i];
		set->chars[i] = (char)c;
		if (!set->member[c]) {
			if (distinct < 4)
				set->small[distinct] = (char)c;
			distinct++;
		}
		set->member[c] = 1;
		if (c >> 4 < 8)
			set->lo_a[c & 15] |= (uint8_t)(1u << (c >> 4));
		else
			set->lo_b[c & 15] |= (uint8_t)(1u << ((c >> 4) - 8));
	}
	set->nsmall = distinct <= 4 ? (uint8_t)distinct : 0;
	for (size_t i = distinct; i < 4; i++)
		set->small[i] = set->small[0];
	return true;
}

/* ------------------------------------------------------------------------ */
/* Scalar                                                                    */
/* ------------------------------------------------------------------------ */

/* Top bit set in exactly the bytes of x that are zero. */
static inline uint64_t zero_bytes(uint64_t x)
{
	return ~(((x & LOW7) + LOW7) | x | LOW7);
}

static const char *byte_scalar(const char *p, const char *end, char c)
{
#ifdef LITTLE
	const uint64_t k = ONES * (uint8_t)c;
	for (; end - p >= 8; p += 8) {
		uint64_t z = zero_bytes(load64(p) ^ k);
		if (z)
			return p + (__builtin_ctzll(z) >> 3);
	}
#endif
	for (; p < end; p++)
		if (*p == c)
			return p;
	return NULL;
}

static const char *last_scalar(const char *p, const char *end, char c)
{
#ifdef LITTLE
	const uint64_t k = ONES * (uint8_t)c;
	for (; end - p >= 8; end -= 8) {
		uint64_t z = zero_bytes(load64(end - 8) ^ k);
		if (z)
			return end - 8 + ((63 - __builtin_clzll(z)) >> 3);
	}
#endif
	while (end > p)
		if (*--end == c)
			return end;
	return NULL;
}

static size_t count_scalar(const char *p, const char *end, char c)
{
	size_t n = 0;
#ifdef LITTLE
	const uint64_t k = ONES * (uint8_t)c;
	for (; end - p >= 8; p += 8)
		n += (size_t)(((zero_bytes(load64(p) ^ k) >> 7) * ONES) >> 56);
#endif
	for (; p < end; p++)
		n += *p == c;
	return n;
}

static const char *any_scalar(const char *p, const char *end,
			      const sl_scan_set *set)
{
	for (; p < end; p++)
		if (set->member[(uint8_t)*p])
			return p;
	return NULL;
}

static const char *index_scalar(const char *p, const char *end,
				const char *chars, int nc, sl_scan_block *out)
{
	size_t n = (size_t)(end - p);
	if (n > SL_SCAN_BITS_BYTES)
		n = SL_SCAN_BITS_BYTES;
	for (int k = 0; k < nc; k++) {
		size_t i = 0;
		for (size_t b = 0; b * 64 < n; b++)
			out[b][k] = 0;
#ifdef LITTLE
		const uint64_t kk = ONES * (uint8_t)chars[k];
		for (; n - i >= 8; i += 8) {
			uint64_t z = zero_bytes(load64(p + i) ^ kk) >> 7;
			out[i >> 6][k] |= ((z * 0x0102040810204080ULL) >> 56)
					  << (i & 63);
		}
#endif
		for (; i < n; i++)
			if (p[i] == chars[k])
				out[i >> 6][k] |= 1ULL << (i & 63);
	}
	return p + n;
}

/* The index of the window at p by `index`, then the positions of class
 * nc - 1 in it listed in ends[]; returns how many. */
static inline size_t lines_generic(const char *(*index)(const char *,
							 const char *,
							 const char *, int,
							 sl_scan_block *),
				   const char *p, const char *end,
				   const char *chars, int nc,
				   sl_scan_block *out, uint16_t *ends)
{
	size_t n = (size_t)(index(p, end, chars, nc, out) - p), m = 0;
	for (size_t j = 0; j * 64 < n; j++)
		for (uint64_t w = out[j][nc - 1]; w; w &= w - 1)
			ends[m++] = (uint16_t)(j * 64 +
					       (size_t)__builtin_ctzll(w));
	return m;
}

static size_t lines_scalar(const char *p, const char *end, const char *chars,
			   int nc, sl_scan_block *out, uint16_t *ends)
{
	return lines_generic(index_scalar, p, end, chars, nc, out, ends);
}

/* ------------------------------------------------------------------------ */
/* SSE4.2 (16 bytes)                                                         */
/* ------------------------------------------------------------------------ */

#ifdef HAVE_X86
#define SSE42 __attribute__((target("sse4.2,popcnt")))
#define AVX2 __attribute__((target("avx2,popcnt,bmi")))

/* 16-byte helpers: also used by the AVX2 code for 16..31-byte ranges. */
static inline SSE42 __m128i vload16(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static inline SSE42 unsigned eq16(const char *p, __m128i k)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(vload16(p), k));
}

static SSE42 const char *byte_sse42(const char *p, const char *end, char c)
{
	if (end - p < 16)
		return byte_scalar(p, end, c);
	const __m128i k = _mm_set1_epi8(c);
	for (; end - p >= 16; p += 16) {
		unsigned m = eq16(p, k);
		if (m)
			return p + __builtin_ctz(m);
	}
	if (p < end) {
		unsigned m = eq16(end - 16, k);
		if (m)
			return end - 16 + __builtin_ctz(m);
	}
	return NULL;
}

static SSE42 const char *last_sse42(const char *p, const char *end, char c)
{
	if (end - p < 16)
		return last_scalar(p, end, c);
	const __m128i k = _mm_set1_epi8(c);
	for (; end - p >= 16; end -= 16) {
		unsigned m = eq16(end - 16, k);
		if (m)
			return end - 16 + (31 - __builtin_clz(m));
	}
	if (end > p) {
		unsigned m = eq16(p, k) & ((1u << (end - p)) - 1);
		if (m)
			return p + (31 - __builtin_clz(m));
	}
	return NULL;
}

static SSE42 size_t count_sse42(const char *p, const char *end, char c)
{
	if (end - p < 16)
		return count_scalar(p, end, c);
	const __m128i k = _mm_set1_epi8(c), zero = _mm_setzero_si128();
	__m128i total = zero;
	while (end - p >= 16) {
		__m128i acc = zero;
		for (int i = 0; i < 255 && end - p >= 16; i++, p += 16)
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(vload16(p), k));
		total = _mm_add_epi64(total, _mm_sad_epu8(acc, zero));
	}
	size_t n = (size_t)_mm_cvtsi128_si64(total) +
		   (size_t)_mm_extract_epi64(total, 1);
	if (p < end)
		n += (size_t)__builtin_popcount(eq16(end - 16, k) >>
						(16 - (end - p)));
	return n;
}

#define ANY_MODE (_SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY | \
		  _SIDD_LEAST_SIGNIFICANT)

static SSE42 const char *any_sse42(const char *p, const char *end,
				   const sl_scan_set *set)
{
	if (end - p < 16)
		return any_scalar(p, end, set);
	const __m128i needle = vload16(set->chars);
	const int n = set->n;
	for (; end - p >= 16; p += 16) {
		int i = _mm_cmpestri(needle, n, vload16(p), 16, ANY_MODE);
		if (i < 16)
			return p + i;
	}
	if (p < end) {
		int i = _mm_cmpestri(needle, n, vload16(end - 16), 16, ANY_MODE);
		if (i < 16)
			return end - 16 + i;
	}
	return NULL;
}

/* Bits of chars[k] in the 16 bytes at q. */
#define MASK16(q, k) eq16((q), _mm_set1_epi8(chars[k]))

static SSE42 const char *index_sse42(const char *p, const char *end,
				     const char *chars, int nc,
				     sl_scan_block *out)
{
	size_t n = (size_t)(end - p);
	if (n > SL_SCAN_BITS_BYTES)
		n = SL_SCAN_BITS_BYTES;
	if (n < 16)
		return index_scalar(p, end, chars, nc, out);
	for (int k = 0; k < nc; k++) {
		const __m128i kk = _mm_set1_epi8(chars[k]);
		for (size_t b = 0; b * 64 < n; b++) {
			uint64_t bits = 0;
			for (size_t q = 0; q < 4; q++) {
				size_t off = b * 64 + q * 16;
				uint64_t m;
				if (off + 16 <= n)
					m = eq16(p + off, kk);
				else if (off < n)
					m = eq16(p + n - 16, kk) >>
					    (off + 16 - n);
				else
					m = 0;
				bits |= m << (q * 16);
			}
			out[b][k] = bits;
		}
	}
	return p + n;
}

/* ------------------------------------------------------------------------ */
/* AVX2 (32 bytes)                                                           */
/* ------------------------------------------------------------------------ */

static inline AVX2 __m256i vload32(const char *p)
{
	return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

static inline AVX2 uint32_t eq32(__m256i v, __m256i k)
{
	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, k));
}

static AVX2 const char *byte_avx2(const char *p, const char *end, char c)
{
	if (end - p < 32)
		return byte_sse42(p, end, c);
	const __m256i k = _mm256_set1_epi8(c);
	for (; end - p >= 64; p += 64) {
		__m256i a = _mm256_cmpeq_epi8(vload32(p), k);
		__m256i b = _mm256_cmpeq_epi8(vload32(p + 32), k);
		if (!_mm256_testz_si256(_mm256_or_si256(a, b),
					_mm256_or_si256(a, b))) {
			uint32_t m = (uint32_t)_mm256_movemask_epi8(a);
			if (m)
				return p + __builtin_ctz(m);
			return p + 32 +
			       __builtin_ctz((uint32_t)_mm256_movemask_epi8(b));
		}
	}
	if (end - p >= 32) {
		uint32_t m = eq32(vload32(p), k);
		if (m)
			return p + __builtin_ctz(m);
		p += 32;
	}
	if (p < end) {
		uint32_t m = eq32(vload32(end - 32), k);
		if (m)
			return end - 32 + __builtin_ctz(m);
	}
	return NULL;
}

static AVX2 const char *last_avx2(const char *p, const char *end, char c)
{
	if (end - p < 32)
		return last_sse42(p, end, c);
	const __m256i k = _mm256_set1_epi8(c);
	for (; end - p >= 32; end -= 32) {
		uint32_t m = eq32(vload32(end - 32), k);
		if (m)
			return end - 32 + (31 - __builtin_clz(m));
	}
	if (end > p) {
		uint32_t m = eq32(vload32(p), k) & ((1u << (end - p)) - 1);
		if (m)
			return p + (31 - __builtin_clz(m));
	}
	return NULL;
}

static AVX2 size_t count_avx2(const char *p, const char *end, char c)
{
	if (end - p < 32)
		return count_sse42(p, end, c);
	const __m256i k = _mm256_set1_epi8(c), zero = _mm256_setzero_si256();
	__m256i total = zero;
	while (end - p >= 32) {
		__m256i acc = zero;
		for (int i = 0; i < 255 && end - p >= 32; i++, p += 32)
			acc = _mm256_sub_epi8(acc,
					      _mm256_cmpeq_epi8(vload32(p), k));
		total = _mm256_add_epi64(total, _mm256_sad_epu8(acc, zero));
	}
	__m128i t = _mm_add_epi64(_mm256_castsi256_si128(total),
				  _mm256_extracti128_si256(total, 1));
	size_t n = (size_t)_mm_cvtsi128_si64(t) +
		   (size_t)_mm_extract_epi64(t, 1);
	if (p < end)
		n += (size_t)__builtin_popcount(eq32(vload32(end - 32), k) >>
						(32 - (end - p)));
	return n;
}

/* Match mask of the 32 bytes v against a set: compares for up to 4
 * members, else the nibble lookup (see the top comment). */
static inline AVX2 uint32_t any32(__m256i v, int small, const __m256i *k)
{
	if (small) {
		__m256i m = _mm256_or_si256(
			_mm256_or_si256(_mm256_cmpeq_epi8(v, k[0]),
					_mm256_cmpeq_epi8(v, k[1])),
			_mm256_or_si256(_mm256_cmpeq_epi8(v, k[2]),
					_mm256_cmpeq_epi8(v, k[3])));
		return (uint32_t)_mm256_movemask_epi8(m);
	}
	const __m256i nib = _mm256_set1_epi8(15);
	__m256i lo = _mm256_and_si256(v, nib);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
	__m256i a = _mm256_and_si256(_mm256_shuffle_epi8(k[0], lo),
				     _mm256_shuffle_epi8(k[2], hi));
	__m256i b = _mm256_and_si256(_mm256_shuffle_epi8(k[1], lo),
				     _mm256_shuffle_epi8(k[3], hi));
	__m256i none = _mm256_cmpeq_epi8(_mm256_or_si256(a, b),
					 _mm256_setzero_si256());
	return ~(uint32_t)_mm256_movemask_epi8(none);
}

static AVX2 const char *any_avx2(const char *p, const char *end,
				 const sl_scan_set *set)
{
	if (end - p < 32)
		return any_sse42(p, end, set);
	__m256i k[4];
	int small = set->nsmall != 0;
	if (small) {
		for (int i = 0; i < 4; i++)
			k[i] = _mm256_set1_epi8(set->small[i]);
	} else {
		static const uint8_t hi_a[16] = {1, 2, 4, 8, 16, 32, 64, 128};
		static const uint8_t hi_b[16] = {0, 0, 0, 0, 0, 0, 0, 0,
						 1, 2, 4, 8, 16, 32, 64, 128};
		k[0] = _mm256_broadcastsi128_si256(vload16((const char *)set->lo_a));
		k[1] = _mm256_broadcastsi128_si256(vload16((const char *)set->lo_b));
		k[2] = _mm256_broadcastsi128_si256(vload16((const char *)hi_a));
		k[3] = _mm256_broadcastsi128_si256(vload16((const char *)hi_b));
	}
	for (; end - p >= 32; p += 32) {
		uint32_t m = any32(vload32(p), small, k);
		if (m)
			return p + __builtin_ctz(m);
	}
	if (p < end) {
		uint32_t m = any32(vload32(end - 32), small, k);
		if (m)
			return end - 32 + __builtin_ctz(m);
	}
	return NULL;
}

/*
 * The index for nc = NC classes, made a constant by the switch below so
 * that the class loop unrolls. Each 32-byte vector is loaded once. With
 * ENDS, the positions of class NC - 1 are also listed in ends[] while its
 * word is still in a register (the line reader's line ends); returns how
 * many.
 */
static inline __attribute__((always_inline)) AVX2 size_t
index32(const char *p, size_t n, const char *chars, const int NC,
	sl_scan_block *out, const bool ENDS, uint16_t *ends)
{
	__m256i k[SL_SCAN_BITS_CLASSES];
	uint16_t *e = ends;
#pragma GCC unroll 4
	for (int c = 0; c < NC; c++)
		k[c] = _mm256_set1_epi8(chars[c]);
	size_t whole = n / 64 * 64;
	sl_scan_block *o = out;
	for (const char *q = p; q < p + whole; q += 64, o++) {
		__m256i a = vload32(q), b = vload32(q + 32);
		uint64_t w = 0;
#pragma GCC unroll 4
		for (int c = 0; c < NC; c++) {
			w = (uint64_t)eq32(a, k[c]) |
			    (uint64_t)eq32(b, k[c]) << 32;
			/* keeps the words in general registers: without it
			 * GCC packs the NC words into a vector for one
			 * store, at twice the instructions */
			__asm__("" : "+r"(w));
			(*o)[c] = w;
		}
		if (ENDS)
			for (; w; w &= w - 1)
				*e++ = (uint16_t)(q - p + __builtin_ctzll(w));
	}
	size_t r = n - whole; /* 0..63 bytes left, n >= 32 */
	if (r == 0)
		return (size_t)(e - ends);
	uint64_t m[SL_SCAN_BITS_CLASSES];
	if (r > 32) {
		__m256i a = vload32(p + whole), b = vload32(p + n - 32);
#pragma GCC unroll 4
		for (int c = 0; c < NC; c++)
			m[c] = (uint64_t)eq32(a, k[c]) |
			       (uint64_t)(eq32(b, k[c]) >> (64 - r)) << 32;
	} else {
		__m256i a = vload32(p + n - 32);
#pragma GCC unroll 4
		for (int c = 0; c < NC; c++)
			m[c] = eq32(a, k[c]) >> (32 - r);
	}
#pragma GCC unroll 4
	for (int c = 0; c < NC; c++)
		out[whole / 64][c] = m[c];
	if (ENDS)
		for (uint64_t w = m[NC - 1]; w; w &= w - 1)
			*e++ = (uint16_t)(whole + (size_t)__builtin_ctzll(w));
	return (size_t)(e - ends);
}

static AVX2 const char *index_avx2(const char *p, const char *end,
				   const char *chars, int nc,
				   sl_scan_block *out)
{
	size_t n = (size_t)(end - p);
	if (n > SL_SCAN_BITS_BYTES)
		n = SL_SCAN_BITS_BYTES;
	if (n < 32)
		return index_sse42(p, end, chars, nc, out);
	switch (nc) {
	case 1: index32(p, n, chars, 1, out, false, NULL); break;
	case 2: index32(p, n, chars, 2, out, false, NULL); break;
	case 3: index32(p, n, chars, 3, out, false, NULL); break;
	default: index32(p, n, chars, 4, out, false, NULL); break;
	}
	return p + n;
}

static AVX2 size_t lines_avx2(const char *p, const char *end,
			      const char *chars, int nc, sl_scan_block *out,
			      uint16_t *ends)
{
	size_t n = (size_t)(end - p);
	if (n > SL_SCAN_BITS_BYTES)
		n = SL_SCAN_BITS_BYTES;
	if (n < 32)
		return lines_generic(index_sse42, p, end, chars, nc, out, ends);
	switch (nc) {
	case 1: return index32(p, n, chars, 1, out, true, ends);
	case 2: return index32(p, n, chars, 2, out, true, ends);
	case 3: return index32(p, n, chars, 3, out, true, ends);
	default: return index32(p, n, chars, 4, out, true, ends);
	}
}

static SSE42 size_t lines_sse42(const char *p, const char *end,
				const char *chars, int nc, sl_scan_block *out,
				uint16_t *ends)
{
	return lines_generic(index_sse42, p, end, chars, nc, out, ends);
}
#endif /* HAVE_X86 */

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
	const char *name;
	const char *(*byte)(const char *, const char *, char);
	const char *(*last)(const char *, const char *, char);
	size_t (*count)(const char *, const char *, char);
	const char *(*any)(const char *, const char *, const sl_scan_set *);
	const char *(*index)(const char *, const char *, const char *, int,
			     sl_scan_block *);
	size_t (*lines)(const char *, const char *, const char *, int,
			sl_scan_block *, uint16_t *);
} impl;

static const impl impls[3] = {
	{"scalar", byte_scalar, last_scalar, count_scalar, any_scalar,
	 index_scalar, lines_scalar},
#ifdef HAVE_X86
	{"sse4.2", byte_sse42, last_sse42, count_sse42, any_sse42,
	 index_sse42, lines_sse42},
	{"avx2", byte_avx2, last_avx2, count_avx2, any_avx2, index_avx2,
	 lines_avx2},
#endif
};

static _Atomic(const impl *) current;

static bool supported(int level)
{
	if (level == SL_SCAN_SCALAR)
		return true;
#ifdef HAVE_X86
	__builtin_cpu_init();
	if (level == SL_SCAN_SSE42)
		return __builtin_cpu_supports("sse4.2") &&
		       __builtin_cpu_supports("popcnt");
	if (level == SL_SCAN_AVX2)
		return __builtin_cpu_supports("avx2") &&
		       __builtin_cpu_supports("popcnt") &&
		       __builtin_cpu_supports("bmi");
#endif
	return false;
}

static const impl *resolve(void)
{
	int level = SL_SCAN_AVX2;
	while (!supported(level))
		level--;
	const impl *i = &impls[level];
	atomic_store_explicit(&current, i, memory_order_relaxed);
	return i;
}

static inline const impl *get(void)
{
	const impl *i = atomic_load_explicit(&current, memory_order_relaxed);
	return i ? i : resolve();
}

bool sl_scan_force(int level)
{
	if (level == SL_SCAN_AUTO) {
		resolve();
		return true;
	}
	if (level < SL_SCAN_SCALAR || level > SL_SCAN_AVX2 ||
	    !supported(level))
		return false;
	atomic_store_explicit(&current, &impls[level], memory_order_relaxed);
	return true;
}

const char *sl_scan_impl_name(void)
{
	return get()->name;
}

const char *sl_scan_byte(const char *p, const char *end, char c)
{
	return get()->byte(p, end, c);
}

const char *sl_scan_last(const char *p, const char *end, char c)
{
	return get()->last(p, end, c);
}

size_t sl_scan_count(const char *p, const char *end, char c)
{
	return get()->count(p, end, c);
}

const char *sl_scan_any(const char *p, const char *end, const sl_scan_set *set)
{
	return get()->any(p, end, set);
}

const char *sl_scan_index(const char *p, const char *end, const char *chars,
			  int nc, sl_scan_block *out)
{
	return get()->index(p, end, chars, nc, out);
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */
/* ------------------------------------------------------------------------ */

void sl_scan_lines_init(sl_scan_lines *it, const char *buf, size_t len,
			const char *chars, int nc)
{
	it->buf = buf;
	it->len = len;
	it->pos = it->chunk = it->lo = it->hi = 0;
	it->nends = it->next = 0;
	it->nc = nc;
	memcpy(it->chars, chars, (size_t)nc);
	/* blocks past hi are read (and their bits discarded) by parsers
	 * that take 64 bits across a block boundary: no garbage in them */
	memset(it->ring, 0, sizeof it->ring);
}

bool sl_scan_lines_fill(sl_scan_lines *it)
{
	/* hi is a multiple of a chunk until the end, so the chunk fills one
	 * half of the ring and the other half keeps the one before; the
	 * first half is also copied past the second, so that a line that
	 * wraps around the ring still reads as consecutive blocks */
	size_t c = it->hi;
	if (c >= it->len)
		return false;
	size_t slot = c / 64 % SL_SCAN_RING_BLOCKS;
	size_t n = c + SL_SCAN_BITS_BYTES <= it->len ? SL_SCAN_BITS_BYTES
						       : it->len - c;
	it->nends = (unsigned)get()->lines(it->buf + c, it->buf + c + n,
					   it->chars, it->nc, &it->ring[slot],
					   it->ends);
	if (slot == 0)
		memcpy(&it->ring[SL_SCAN_RING_BLOCKS], &it->ring[0],
		       (n + 63) / 64 * sizeof it->ring[0]);
	it->next = 0;
	it->chunk = c;
	it->hi = c + n;
	it->lo = c >= SL_SCAN_BITS_BYTES ? c - SL_SCAN_BITS_BYTES : 0;
	return true;
}

uint64_t sl_count_lines(const char *p, size_t n)
{
	return n ? (uint64_t)sl_scan_count(p, p + n, '\n') : 0;
}
