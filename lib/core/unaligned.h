/*
 * unaligned.h: loads and stores of native-endian integers at any address,
 * and an inline equality test of two short byte strings (same_bytes, for
 * table keys), internal to lib/.
 *
 * Each load and store is a memcpy of a constant size, which compilers turn into one move
 * (no call, no alignment trap, no aliasing trouble). The byte order is the
 * machine's: callers that need a fixed order on disk use lib/core/wire.h, and
 * callers that read bytes as little-endian words test __BYTE_ORDER__.
 */
#ifndef SLUICE_UNALIGNED_H
#define SLUICE_UNALIGNED_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline uint16_t load16(const char *p)
{
	uint16_t x;
	memcpy(&x, p, 2);
	return x;
}

static inline uint32_t load32(const char *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	return x;
}

static inline uint64_t load64(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

static inline void store32(char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void store64(char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

#if defined(__SSE2__)
/* Byte-wise equality of the 16 bytes at a and b, as a vector. */
static inline __m128i key_eq16(const char *a, const char *b)
{
	return _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)a),
			      _mm_loadu_si128((const __m128i *)(const void *)b));
}

/* Are the 64 bytes at a and b equal? */
static inline bool key_same64(const char *a, const char *b)
{
	__m128i e = _mm_and_si128(_mm_and_si128(key_eq16(a, b), key_eq16(a + 16, b + 16)),
				  _mm_and_si128(key_eq16(a + 32, b + 32), key_eq16(a + 48, b + 48)));
	return _mm_movemask_epi8(e) == 0xffff;
}
#endif

/* Are n bytes at a and b equal? Inline: keys are short and almost always
 * equal once hash and length agree. Every load stays inside both ranges:
 * the last block overlaps the one before it. With SSE2 a key of up to 64
 * bytes is compared with no loop (a loop's exit, at a varying length, is a
 * mispredicted branch per call), longer ones 64 bytes a step. */
static inline __attribute__((always_inline)) bool same_bytes(const char *a, const char *b,
							      size_t n)
{
	uint64_t x, y, u, v;
#if defined(__SSE2__)
	if (n >= 16) {
		__m128i e = _mm_and_si128(key_eq16(a, b), key_eq16(a + n - 16, b + n - 16));
		if (n > 32)
			e = _mm_and_si128(e, _mm_and_si128(key_eq16(a + 16, b + 16),
							   key_eq16(a + n - 32, b + n - 32)));
		/* the middle, [32, n - 32), in blocks of 64; the last block
		 * is moved back to end at n */
		for (size_t i = 32; n > 64 && i < n - 32; i += 64) {
			size_t j = i < n - 64 ? i : n - 64;
			if (!key_same64(a + j, b + j))
				return false;
		}
		return _mm_movemask_epi8(e) == 0xffff;
	}
#else
	if (n > 16) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + n - 8, 8);	/* the last 8, overlapping */
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
#endif
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + n - 8, 8);
		memcpy(&v, b + n - 8, 8);
		return x == y && u == v;
	}
	if (n >= 4) {
		uint32_t x4, y4, u4, v4;
		memcpy(&x4, a, 4);
		memcpy(&y4, b, 4);
		memcpy(&u4, a + n - 4, 4);
		memcpy(&v4, b + n - 4, 4);
		return x4 == y4 && u4 == v4;
	}
	/* 1 to 3 bytes: the first, middle and last cover them all */
	return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

#endif
