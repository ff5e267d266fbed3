/*
 * scan.h: byte searches for the parsers (sl_scan_*), internal to lib/.
 *
 * First / last / count of one byte, first byte of a small set, a bitmap
 * index of up to four bytes over a window of a line, and a line reader
 * that keeps such an index of its buffer for the parser, each in three
 * implementations chosen once at run time: AVX2, SSE4.2, or a scalar one
 * (SWAR words and plain loops) that is correct by itself and is the only
 * one on other machines. See scan.c for the algorithms.
 *
 * Every function reads only [p, end) (the line reader: only its buffer):
 * no load crosses end, so a buffer may end just before an unmapped page.
 * p <= end is required; p == end is an empty range.
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

#include "sluice.h"

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
 * indexing), block by block: bit i % 64 of out[i / 64][k] is set iff
 * p[i] == chars[k], for every i below the window's length
 * min(end - p, SL_SCAN_BITS_BYTES) and every class k < nc. The blocks
 * covering the window get their words k < nc written whole (bits past the
 * window are 0); other words and later blocks are left as they were. A
 * block holds the classes of its 64 bytes side by side, so that a window
 * can be indexed into any run of blocks (the line reader's ring below).
 */
#define SL_SCAN_BITS_BYTES 2048
#define SL_SCAN_BITS_CLASSES 4
typedef uint64_t sl_scan_block[SL_SCAN_BITS_CLASSES];

/* Indexes chars[0 .. nc-1] (1 <= nc <= 4) over the window at p into
 * out[0 .. (window + 63) / 64 - 1]; returns the window's end,
 * p + min(end - p, SL_SCAN_BITS_BYTES). */
const char *sl_scan_index(const char *p, const char *end, const char *chars,
			  int nc, sl_scan_block *out);

/*
 * Lines of a buffer, with the index kept for the parser (sl_scan_lines_*).
 *
 * The buffer is indexed in chunks of SL_SCAN_BITS_BYTES into a ring of
 * SL_SCAN_RING_BLOCKS blocks: byte i of buf is bit i % 64 of
 * ring[(i / 64) % SL_SCAN_RING_BLOCKS], valid for lo <= i < hi. The last
 * class, chars[nc - 1], ends lines (normally '\n'): each chunk's line ends
 * are listed when it is indexed, and a line costs one entry of that list,
 * so finding it costs no search of its own; the other classes are there
 * for whoever parses the line. Each byte is indexed once. The ring holds
 * the last two chunks, so every line of up to SL_SCAN_BITS_BYTES bytes (its
 * end byte not counted) lies inside [lo, hi) when it is returned; a longer
 * one may not (*indexed false).
 *
 * The first half of the ring is copied after the ring (and one spare
 * block, always zero, follows), so the blocks of a returned indexed line
 * are consecutive from ring[(start / 64) % SL_SCAN_RING_BLOCKS], wrap or
 * not, with one block to spare after its last. Blocks past hi hold zeros or
 * bits of older bytes, never bits of bytes below hi: a reader that takes 64
 * bits across a block boundary must only trust positions below hi (a
 * parser bounds every search by its line's end).
 */
#define SL_SCAN_RING_BLOCKS (2 * SL_SCAN_BITS_BYTES / 64)
typedef struct sl_scan_lines {
	const char *buf;	/* the buffer, len bytes */
	size_t len;
	size_t pos;		/* start of the next line */
	size_t chunk;		/* offset of the last chunk indexed */
	size_t lo, hi;		/* the ring holds the bytes [lo, hi) */
	unsigned nends, next;	/* line ends in the chunk; the next one */
	int nc;
	char chars[SL_SCAN_BITS_CLASSES];
	uint16_t ends[SL_SCAN_BITS_BYTES]; /* chunk offsets of its line ends */
	/* the ring, then a copy of its first half and a spare block */
	sl_scan_block ring[SL_SCAN_RING_BLOCKS * 3 / 2 + 1];
} sl_scan_lines;

/* Starts reading the lines of buf[0 .. len-1], indexing chars[0 .. nc-1]
 * (1 <= nc <= 4; chars[nc - 1] ends a line). */
void sl_scan_lines_init(sl_scan_lines *it, const char *buf, size_t len,
			const char *chars, int nc);

/* Indexes the next chunk (from hi) and lists its line ends; false when the
 * buffer is all indexed. For sl_scan_lines_next. */
bool sl_scan_lines_fill(sl_scan_lines *it);

/*
 * The next line: [*line, *line + *len), without its end byte (the last line
 * may lack one; an empty buffer has no line). *indexed says that the line
 * lies in [lo, hi), so that it->ring may be read for its bytes. False when
 * the buffer is done. Inline: a line end is taken from the chunk's list;
 * the chunks are indexed and listed out of line.
 */
static inline bool sl_scan_lines_next(sl_scan_lines *it, const char **line,
				      size_t *len, bool *indexed)
{
	size_t pos = it->pos, e;
	if (pos >= it->len)
		return false;
	while (it->next == it->nends)
		if (!sl_scan_lines_fill(it)) {
			e = it->len;
			goto last;
		}
	e = it->chunk + it->ends[it->next++];
last:
	*line = it->buf + pos;
	*len = e - pos;
	*indexed = pos >= it->lo;
	it->pos = e + 1;
	return true;
}

/*
 * Access-log lines over the line reader's index (lib/format/access.c, for the
 * report's feed): sl_access_lines_init reads buf with the classes that
 * sl_access_parse indexes; sl_access_lines_parse is sl_access_parse (same
 * result, same reads) for a line that sl_scan_lines_next returned with
 * *indexed true, using the ring instead of indexing the line again.
 */
void sl_access_lines_init(sl_scan_lines *it, const char *buf, size_t len);
sl_status sl_access_lines_parse(sl_format fmt, sl_scan_lines *it,
				const char *line, size_t len,
				sl_record *rec, sl_time_cache *tc);

/* The same for the report's default plan, which reads no derived field but
 * the date: only that one is set (not line, query, length, status_class,
 * hour). fmt must be a classic format. */
sl_status sl_access_lines_parse_date(sl_format fmt, sl_scan_lines *it, const char *line,
				     size_t len, sl_record *rec, sl_time_cache *tc);

/*
 * Rows of a CSV or TSV format (lib/format/logformat.c) over the line
 * reader's index, as sl_access_lines_* for the classic formats:
 * sl_logformat_index_chars writes the classes to index (the separator, the
 * quote, '\n') and returns their count, 0 for a format that reads no index;
 * sl_logformat_lines_parse is sl_logformat_parse (same record, same status,
 * same reason) for a line that sl_scan_lines_next returned with *indexed
 * true from a reader started with those classes.
 */
int sl_logformat_index_chars(const sl_logformat *lf, char chars[3]);
sl_status sl_logformat_lines_parse(sl_logformat *lf, const sl_scan_lines *it, const char *line,
				   size_t len, sl_record *rec, sl_time_cache *tc);

/* The same through a parser (lib/format/parser.c): its current unit's
 * classes (0: it reads no index), and its parse of a line so indexed. */
int sl_parser_index_chars(const sl_parser *p, char chars[3]);
sl_status sl_parser_lines_parse(sl_parser *p, const sl_scan_lines *it, const char *line,
				size_t len, sl_record *rec, sl_time_cache *tc);

/*
 * Forces an implementation (SL_SCAN_AUTO to go back to the best one).
 * Returns false, changing nothing, when the CPU lacks it. For tests.
 */
bool sl_scan_force(int level);

/* "avx2", "sse4.2" or "scalar": the implementation in use (resolving it). */
const char *sl_scan_impl_name(void);

#endif
