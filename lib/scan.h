/*
 * scan.h: byte searches for the parsers (sl_scan_*), internal to lib/.
 *
 * First / last / count of one byte, first byte of a small set, and a bitmap
 * index of up to four bytes over a window of a line, each in three
 * implementations chosen once at run time: AVX2, SSE4.2, or a scalar one
 * (SWAR words and plain loops) that is correct by itself and is the only
 * one on other machines. See scan.c for the algorithms.
 *
 * Every function reads only [p, end): no load crosses end, so a buffer may
 * end just before an unmapped page. p <= end is required; p == end is an
 * empty range.
 *
 * Thread safety: the implementation is resolved on first use; two threads
 * resolving at once both pick the same one (harmless). sl_scan_force is for
 * tests and benchmarks and must not race with searches in other threads.
 */
#ifndef SLUICE_SCAN_H
#define SLUICE_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Implementation levels, for sl_scan_force. */
enum {
	SL_SCAN_AUTO = -1,	/* the best this CPU supports */
	SL_SCAN_SCALAR = 0,
	SL_SCAN_SSE42 = 1,
	SL_SCAN_AVX2 = 2,
};

/* A set of 1..16 bytes for sl_scan_any, built once by sl_scan_set_init. */
#define SL_SCAN_SET_MAX 16
typedef struct {
	uint8_t n;				/* members in chars[] */
	uint8_t nsmall;				/* distinct members if <= 4, else 0 */
	char small[4];				/* AVX2: them, padded with small[0] */
	char chars[SL_SCAN_SET_MAX];		/* SSE4.2 needle (pcmpestri) */
	uint8_t lo_a[16], lo_b[16];		/* AVX2 nibble tables */
	uint8_t member[256];			/* scalar: 1 for members */
} sl_scan_set;

/*
 * Builds set from chars[0 .. n-1] (duplicates allowed). Returns false, and
 * leaves set unchanged, unless 1 <= n <= SL_SCAN_SET_MAX.
 */
bool sl_scan_set_init(sl_scan_set *set, const char *chars, size_t n);

/* The first c in [p, end), or NULL (memchr). */
const char *sl_scan_byte(const char *p, const char *end, char c);

/* The last c in [p, end), or NULL (memrchr). */
const char *sl_scan_last(const char *p, const char *end, char c);

/* How many bytes of [p, end) equal c. */
size_t sl_scan_count(const char *p, const char *end, char c);

/* The first byte of [p, end) that is in set, or NULL. */
const char *sl_scan_any(const char *p, const char *end, const sl_scan_set *set);

/*
 * A bitmap index of a window of a line (simdjson-style structural
 * indexing): bit i % 64 of w[k][i / 64] is set iff p[i] == chars[k], for
 * every i below the window's length min(end - p, SL_SCAN_BITS_BYTES). Words
 * covering the window are written whole (bits past the window are 0); later
 * words are left as they were.
 */
#define SL_SCAN_BITS_BYTES 512
#define SL_SCAN_BITS_CLASSES 4
typedef struct {
	uint64_t w[SL_SCAN_BITS_CLASSES][SL_SCAN_BITS_BYTES / 64];
} sl_scan_bits;

/* Indexes chars[0 .. nc-1] (1 <= nc <= 4) over the window at p; returns the
 * window's end, p + min(end - p, SL_SCAN_BITS_BYTES). */
const char *sl_scan_index(const char *p, const char *end, const char *chars,
			  int nc, sl_scan_bits *out);

/*
 * Forces an implementation (SL_SCAN_AUTO to go back to the best one).
 * Returns false, changing nothing, when the CPU lacks it. For tests.
 */
bool sl_scan_force(int level);

/* "avx2", "sse4.2" or "scalar": the implementation in use (resolving it). */
const char *sl_scan_impl_name(void);

#endif
