/*
 * access.c: the zero-copy access-log line parser (sl_access_*, sl_format_*,
 * sl_field_name).
 *
 * Formats (Apache mod_log_config / nginx log_format names):
 *
 *   common     %h %l %u %t "%r" %>s %b
 *   combined   common "%{Referer}i" "%{User-agent}i" [extra ...]
 *   vcombined  %v[:%p] combined
 *   vcommon    %v[:%p] common (Apache's vhost_common)
 *
 * e.g. (common)
 *   127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326
 *
 * The grammar, after trailing spaces and '\r' are cut off the line:
 *
 *   token    = 1*(any byte but ' ')              client, ident, user, vhost
 *   time     = '[' dd '/' Mon '/' yyyy ':' HH ':' MM ':' SS ' ' sign hh mm ']'
 *              (exactly 26 bytes inside the brackets)
 *   quoted   = '"' *(byte but '"' | '\' byte) '"'  request, referrer, agent
 *   status   = 3 digits, 100..599
 *   bytes    = 1*digit (fits uint64) | '-'
 *   extra    = token | quoted, separated by one or more spaces (combined
 *              only); the first extra that reads as a decimal number
 *              1*digit ['.' 1*digit] is the request time in seconds
 *              ($request_time in nginx), the others are ignored.
 *
 * Fields are separated by exactly one space. Common allows nothing after
 * %b, so a combined line never parses as common; vcombined and vcommon
 * have one more token before '[', so a format with the vhost and one
 * without never parse each other's lines. sl_access_detect relies on this.
 *
 * Quoted fields end at the first quote not escaped by a backslash (Apache
 * writes '"' as \" and '\' as \\; nginx writes \x22 and \x5C, which contain
 * no quote and need nothing special). They are returned as they appear in
 * the log, escapes included.
 *
 * The request "%r" is split as METHOD TARGET PROTOCOL when it has that
 * shape: METHOD is an RFC 7230 token followed by one space, PROTOCOL is the
 * last space-separated word when it looks like a version (1*UPPER '/'
 * 1*(digit | '.'), at most 15 bytes) and TARGET (the URL) is what lies in
 * between, spaces and all. "GET /" (HTTP/0.9) gives a method and a URL. Any
 * other request ("-", TLS handshakes logged as \x16\x03...) leaves METHOD and
 * PROTOCOL empty and URL = the whole request. PATH is URL up to its first '?'.
 *
 * Time: converted to Unix seconds by counting days from the civil date
 * (shifting the year to start in March so that the leap day is last, which
 * makes days-before-month a linear formula; the method is the one Howard
 * Hinnant describes in "chrono-Compatible Low-Level Date Algorithms").
 * Dates are validated: month names are case-sensitive English abbreviations,
 * the day must exist in that month (Gregorian leap years), HH < 24, MM < 60,
 * SS <= 60 (a leap second counts as the next minute's :00, as timegm does),
 * and the offset is at most 14:59 either way. The instant in UTC must lie
 * in the years 0000 to 9999 (an offset can push a logged 0000-01-01 or
 * 9999-12-31 out of them); a time outside is malformed ("time outside the
 * years 0000 to 9999 (UTC)"), so every time kept prints as ISO 8601 with a
 * four-digit year.
 *
 * Cost: the caller's sl_time_cache keeps the last bracket text and its time.
 * A byte-identical text (the usual case: many lines per second) costs one
 * 26-byte compare (two 16-byte vector compares, inlined); a text that
 * differs only in HH:MM:SS reuses the cached day count and reads three
 * two-digit numbers; only a new day or offset runs the full conversion.
 * Measured with callgrind on a 50 MB nginx combined log with a request time
 * (224,021 lines of ~223 bytes, AVX2), the report's path costs about 545
 * instructions per line in the parser and 155 in finding and indexing the
 * line (sl_scan_lines, lib/format/scan.c), against 840 and 77 (plus the index
 * inside the 840) before the line reader and the word-at-a-time fields.
 *
 * Delimiters: structural indexing, as simdjson does for JSON: bitmaps of
 * where the spaces and the quotes are. sl_access_parse indexes the line
 * itself (one call of sl_scan_index: AVX2, SSE4.2 or scalar, chosen at run
 * time) over a window of its first SL_SCAN_BITS_BYTES; the report's feed
 * reads its buffer with the line reader, whose one pass indexes these two
 * classes and the newline together, so sl_access_lines_parse finds the
 * line already indexed. Every field end is then the lowest set bit of the
 * 64 bits that start at the field (bits64(): two words joined by one double
 * shift, a ctz and a compare; no byte loop, no branch on the field's
 * length, one step for any field under 64 bytes). A search that leaves an
 * own window re-indexes from where it stands, so any line length works.
 * The '?' of the URL is found by a 16-byte SSE2 compare in the URL alone.
 *
 * Fixed shapes are read as words (SWAR), little-endian only, with the same
 * acceptance as the byte rules: the three tokens before the time are the
 * first three bits of one space word; ` "` is a 2-byte compare; the status
 * "ddd " one 4-byte check (high nibbles, low nibbles + 6, first digit);
 * %b of 1..7 digits and its space one 8-byte load (non-digit bytes by
 * masking, the value by folding digit pairs, quads and octets with three
 * multiplies); a request time of up to 8 bytes that ends the line, the
 * 8 bytes that end it (dot cut out, "d.ddd" without searching for it).
 * Longer or odd numbers take the byte loops. Character classes come from a
 * 256-byte table, and nothing is allocated or copied. No locale-dependent
 * call (strtod, strptime, sscanf) is made.
 *
 * Memory: none; the parser only writes the caller's record and cache (and
 * indexes its own window on the stack).
 * Safety: every read is inside line[0 .. len-1] (a word that ends at a
 * field's end is taken only where the line holds 8 bytes before it); the
 * line reader's index may hold bits past the line, which every search
 * bounds by the line's end. Tests place lines and whole buffers before a
 * PROT_NONE page, feed every truncated prefix, and parse every line both
 * ways (own index and line reader) and compare.
 */
#include "sluice.h"
#include "format/timeparse.h"
#include "format/scan.h"
#include "format/decimal.h"
#include "core/unaligned.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

static const char *const format_names[SL_FMT_COUNT] = {
	"auto", "common", "combined", "vcombined", "lines", "vcommon", "w3c", "cloudfront", "elb",
	"alb", "s3", "traefik", "ltsv", "csv", "tsv", "syslog", "json", "caddy", "traefik-json",
	"custom",
};

static const char *const field_names[SL_F_COUNT] = {
	"vhost", "client", "ident", "user", "time", "request", "method", "url",
	"path", "protocol", "status", "bytes", "referrer", "user_agent",
	"request_time", "query", "date", "line", "length", "status_class", "hour",
};

const char *sl_format_name(sl_format f)
{
	return (unsigned)f < SL_FMT_COUNT ? format_names[f] : NULL;
}

sl_format sl_format_from_name(const char *name)
{
	if (!name)
		return SL_FMT_COUNT;
	for (int f = 0; f < SL_FMT_COUNT; f++)
		if (strcmp(name, format_names[f]) == 0)
			return (sl_format)f;
	return SL_FMT_COUNT;
}

const char *sl_field_name(sl_field f)
{
	return (unsigned)f < SL_F_COUNT ? field_names[f] : NULL;
}

sl_field sl_field_from_name(const char *name)
{
	for (int f = 0; name && f < SL_F_COUNT; f++)
		if (strcmp(name, field_names[f]) == 0)
			return (sl_field)f;
	return SL_F_COUNT;
}

sl_field_type sl_field_type_of(sl_field f)
{
	switch (f) {
	case SL_F_CLIENT: return SL_TYPE_IP;
	case SL_F_TIME: return SL_TYPE_TIME;
	case SL_F_STATUS:
	case SL_F_BYTES:
	case SL_F_LENGTH: return SL_TYPE_INT;
	case SL_F_REQUEST_TIME: return SL_TYPE_FLOAT;
	default: return SL_TYPE_STRING;
	}
}

bool sl_field_is_number(sl_field f)
{
	sl_field_type t = sl_field_type_of(f);
	return t == SL_TYPE_INT || t == SL_TYPE_FLOAT || t == SL_TYPE_TIME;
}

/* The schema of each format: the fields its parser yields. */
bool sl_format_has_field(sl_format fmt, sl_field f)
{
	if ((unsigned)f >= SL_F_COUNT || fmt <= SL_FMT_AUTO || fmt >= SL_FMT_COUNT)
		return false;
	if (f == SL_F_LINE || f == SL_F_LENGTH)
		return true;
	if (f == SL_F_STATUS_CLASS || f == SL_F_HOUR) /* derived from status, time */
		return fmt != SL_FMT_LINES;
	if (!sl_format_is_classic(fmt) && fmt != SL_FMT_LINES)
		return true; /* its parser knows (sl_parser_has_field) */
	switch (fmt) {
	case SL_FMT_LINES:
		return false;
	case SL_FMT_COMMON:
		return f != SL_F_VHOST && f != SL_F_REFERRER && f != SL_F_USER_AGENT &&
		       f != SL_F_REQUEST_TIME;
	case SL_FMT_VCOMMON:
		return f != SL_F_REFERRER && f != SL_F_USER_AGENT && f != SL_F_REQUEST_TIME;
	case SL_FMT_COMBINED:
		return f != SL_F_VHOST;
	default:
		return true;
	}
}

bool sl_record_number(const sl_record *rec, sl_field f, double *v)
{
	switch (f) {
	case SL_F_STATUS: *v = rec->status; return true;
	case SL_F_BYTES: *v = (double)rec->bytes; return true;
	case SL_F_TIME: *v = (double)rec->time; return true;
	case SL_F_LENGTH: *v = (double)rec->field[SL_F_LINE].len; return true;
	case SL_F_REQUEST_TIME:
		*v = rec->request_time;
		return rec->has_request_time;
	default: return false;
	}
}

/* ------------------------------------------------------------------------ */
/* Character classes                                                         */
/* ------------------------------------------------------------------------ */

enum {
	C_TCHAR = 1,	/* RFC 7230 tchar: ALPHA DIGIT !#$%&'*+-.^_`|~ */
	C_DIGIT = 2,
	C_UPPER = 4,
	C_SPACE = 8,	/* ' ' only: the field separator */
};

static const uint8_t cls[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
	8, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* 20  !"#$%&'()*+,-./ */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, /* 30 0-9:;<=>? */
	0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* 40 @A-O */
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 0, 1, 1, /* 50 P-Z[\]^_ */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 `a-o */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, /* 70 p-z{|}~ */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0 */
};

#define IS(c, k) (cls[(uint8_t)(c)] & (k))
#define INLINE static inline __attribute__((always_inline))

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LITTLE 1
#endif

/* ` "` as load16 reads it, "GET " as load32 does (folded to constants) */
#define SP_QUOTE load16(" \"")
#define GET_ load32("GET ")

/* ------------------------------------------------------------------------ */
/* Dates                                                                     */
/* ------------------------------------------------------------------------ */

/* Length of the text inside [...]: "10/Oct/2000:13:55:36 -0700". */
#define TIME_LEN 26

#define M3(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))

/* 1..12 for "Jan".."Dec" (exact case), else 0. */
static int month_of(const char *m)
{
	switch (M3((uint8_t)m[0], (uint8_t)m[1], (uint8_t)m[2])) {
	case M3('J', 'a', 'n'): return 1;
	case M3('F', 'e', 'b'): return 2;
	case M3('M', 'a', 'r'): return 3;
	case M3('A', 'p', 'r'): return 4;
	case M3('M', 'a', 'y'): return 5;
	case M3('J', 'u', 'n'): return 6;
	case M3('J', 'u', 'l'): return 7;
	case M3('A', 'u', 'g'): return 8;
	case M3('S', 'e', 'p'): return 9;
	case M3('O', 'c', 't'): return 10;
	case M3('N', 'o', 'v'): return 11;
	case M3('D', 'e', 'c'): return 12;
	default: return 0;
	}
}

/* Two decimal digits at s, or -1. */
static int two(const char *s)
{
	if (!IS(s[0], C_DIGIT) || !IS(s[1], C_DIGIT))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Days from 1970-01-01 to y-m-d (proleptic Gregorian, y >= 0).
 *
 * Count years from March: a year then ends with February, so the leap day is
 * the last day of its year and the days before month m' (March = 0) follow
 * the 153-days-per-5-months pattern: (153 * m' + 2) / 5. Years are shifted
 * by +400 (one whole 146097-day cycle) so that the March-based year of a
 * January or February in year 0 stays non-negative and plain division floors.
 */
static inline int64_t days_from_civil(int y, int m, int d)
{
	return sl_days_from_civil(y, m, d);
}

/* Seconds in the day of "HH:MM:SS" at s, or -1 when out of range. */
static int32_t day_seconds(const char *s)
{
	int h = two(s), mi = two(s + 3), se = two(s + 6);
	if (h < 0 || mi < 0 || se < 0 || h > 23 || mi > 59 || se > 60 ||
	    s[2] != ':' || s[5] != ':')
		return -1;
	return h * 3600 + mi * 60 + se;
}

/* Unix times of 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z. */
#define YEAR_0_START (-62167219200LL)
#define YEAR_10000_START 253402300800LL

/* A time is kept only when its UTC instant lies in the years 0000 to 9999
 * (the offset can carry a logged year-0 or year-9999 time out of them), so
 * that every time prints as ISO 8601 with a four-digit year. NULL, or the
 * reason. */
static inline const char *in_years(int64_t t)
{
	return t >= YEAR_0_START && t < YEAR_10000_START
		       ? NULL
		       : "time outside the years 0000 to 9999 (UTC)";
}

/* Converts the 26 bytes at t; NULL on success, else the reason. */
static const char *convert_time(const char *t, int64_t *out)
{
	static const uint8_t mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31,
					  30, 31, 30, 31};
	int d = two(t), m = month_of(t + 3);
	int y1 = two(t + 7), y2 = two(t + 9);
	int32_t secs = day_seconds(t + 12);
	int oh = two(t + 22), om = two(t + 24);
	char sign = t[21];

	if (d < 0 || y1 < 0 || y2 < 0 || oh < 0 || om < 0 || t[2] != '/' ||
	    t[6] != '/' || t[11] != ':' || t[20] != ' ' ||
	    (sign != '+' && sign != '-'))
		return "bad time field";
	int y = y1 * 100 + y2;
	if (m == 0 || d < 1 || secs < 0 || oh > 14 || om > 59 ||
	    d > mdays[m] + (m == 2 && leap(y)))
		return "impossible date";
	int32_t off = oh * 3600 + om * 60;
	*out = days_from_civil(y, m, d) * 86400 + secs
	       - (sign == '+' ? off : -off);
	return in_years(*out);
}

/*
 * The time of the 26 bytes at t, through the cache. The cache holds the last
 * text that converted; a text differing only in HH:MM:SS (bytes 12..19)
 * moves the cached time by the difference of the seconds of day.
 */
/* a[0 .. 25] == b[0 .. 25], as two overlapping 16-byte compares (SSE2 is
 * in every x86-64), else four 8-byte loads (libc's memcmp is not inlined
 * and costs a call per line). */
static inline bool same_time_text(const char *a, const char *b)
{
#if defined(__SSE2__)
	__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)a);
	__m128i y0 = _mm_loadu_si128((const __m128i *)(const void *)b);
	__m128i x1 = _mm_loadu_si128(
		(const __m128i *)(const void *)(a + TIME_LEN - 16));
	__m128i y1 = _mm_loadu_si128(
		(const __m128i *)(const void *)(b + TIME_LEN - 16));
	__m128i eq = _mm_and_si128(_mm_cmpeq_epi8(x0, y0),
				   _mm_cmpeq_epi8(x1, y1));
	return _mm_movemask_epi8(eq) == 0xffff;
#else
	uint64_t x[4], y[4];
	memcpy(&x[0], a, 8);
	memcpy(&x[1], a + 8, 8);
	memcpy(&x[2], a + 16, 8);
	memcpy(&x[3], a + TIME_LEN - 8, 8);
	memcpy(&y[0], b, 8);
	memcpy(&y[1], b + 8, 8);
	memcpy(&y[2], b + 16, 8);
	memcpy(&y[3], b + TIME_LEN - 8, 8);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
		(x[3] ^ y[3])) == 0;
#endif
}

/* Bytes 0..11 ("dd/Mon/yyyy:") and 20..25 (" +hhmm") agree. */
static inline bool same_day_and_offset(const char *a, const char *b)
{
	uint64_t x8, y8;
	uint32_t x4, y4, u4, v4;
	uint16_t x2, y2;
	memcpy(&x8, a, 8);
	memcpy(&y8, b, 8);
	memcpy(&x4, a + 8, 4);
	memcpy(&y4, b + 8, 4);
	memcpy(&u4, a + 20, 4);
	memcpy(&v4, b + 20, 4);
	memcpy(&x2, a + 24, 2);
	memcpy(&y2, b + 24, 2);
	return x8 == y8 && x4 == y4 && u4 == v4 && x2 == y2;
}

static __attribute__((noinline)) const char *
cached_time_slow(sl_time_cache *tc, const char *t, int64_t *out)
{
	if (tc->len == TIME_LEN && same_day_and_offset(tc->text, t)) {
		int32_t now = day_seconds(t + 12);
		if (now < 0)
			return "impossible date";
		*out = tc->time + (now - day_seconds(tc->text + 12));
		const char *why = in_years(*out);
		if (why)
			return why;
		goto store;
	}
	const char *why = convert_time(t, out);
	if (why)
		return why;
store:
	memcpy(tc->text, t, TIME_LEN);
	tc->len = TIME_LEN;
	tc->time = *out;
	return NULL;
}

INLINE const char *
cached_time(sl_time_cache *tc, const char *t, int64_t *out)
{
	if (tc->len == TIME_LEN && same_time_text(tc->text, t)) {
		*out = tc->time;
		return NULL;
	}
	return cached_time_slow(tc, t, out);
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The line index (see the top comment). Bit i of blk[j][k] stands for
 * lo[64 * j + i]. In a window of the parser's own, [lo, hi) is indexed and
 * the block after the window is zero (blk has a spare); in the line
 * reader's ring (sl_access_lines_parse) lo is the start of the line's first
 * block and the whole line is indexed in consecutive blocks.
 */
enum { K_SPACE, K_QUOTE, K_COUNT };
static const char index_chars[K_COUNT + 1] = {' ', '"', '\n'};
#define OWN_BLOCKS (SL_SCAN_BITS_BYTES / 64 + 1)

typedef struct {
	const char *lo, *hi, *end;
	sl_scan_block *blk;
} line_index;

static void reindex(line_index *x, const char *s)
{
	x->lo = s;
	x->hi = sl_scan_index(s, x->end, index_chars, K_COUNT, x->blk);
	size_t spare = (size_t)(x->hi - s + 63) / 64;
	for (int k = 0; k < K_COUNT; k++)
		x->blk[spare][k] = 0;
}

/* The 64 bits of class k for s[0 .. 63]: two words joined by one double
 * shift (shrd). Positions at or past the indexed end read as 0 (own
 * window) or as noise (ring) and must not be trusted. */
INLINE uint64_t bits64(const line_index *x, int k, const char *s)
{
	size_t rel = (size_t)(s - x->lo), j = rel / 64;
	uint64_t a = x->blk[j][k], b = x->blk[j + 1][k];
#ifdef __SIZEOF_INT128__
	return (uint64_t)((((unsigned __int128)b << 64) | a) >> (rel % 64));
#else
	return a >> (rel % 64) | (b << 1) << (63 - rel % 64);
#endif
}

/*
 * The first byte of class k in [s, lim), or lim (lim <= x->end). `whole`
 * (a constant after inlining) says that the index covers the whole line,
 * so that the window test and the re-indexing compile away. Each step looks
 * at the 64 bytes from s, so a field shorter than that takes one step
 * wherever it lies across the index's words.
 */
INLINE const char *next(line_index *x, int k, const char *s,
			const char *lim, const bool whole)
{
	while (s < lim) {
		if (!whole && (s < x->lo || s >= x->hi))
			reindex(x, s);
		uint64_t m = bits64(x, k, s);
		if (m) {
			size_t i = (size_t)__builtin_ctzll(m);
			return i < (size_t)(lim - s) ? s + i : lim;
		}
		/* nothing in the 64 bytes (own window: in the bytes up to
		 * hi, whose later bits are 0) */
		size_t step = 64;
		if (!whole && (size_t)(x->hi - s) < step)
			step = (size_t)(x->hi - s);
		if ((size_t)(lim - s) <= step)
			return lim;
		s += step;
	}
	return lim;
}

/*
 * The closing quote of a quoted field whose content starts at p: the first
 * '"' preceded by an even number of backslashes (counted back to p). NULL
 * if there is none before end. Linear: each backward count stops at the
 * previous quote or at p.
 */
INLINE const char *closing_quote(line_index *x, const char *p,
				 const char *end, const bool whole)
{
	const char *q = next(x, K_QUOTE, p, end, whole);
	/* q[-1] is in the line: p[-1] is the opening quote */
	while (q < end && q[-1] == '\\') {
		const char *b = q - 1;
		while (b > p && b[-1] == '\\')
			b--;
		if (((q - b) & 1) == 0)
			break;
		q = next(x, K_QUOTE, q + 1, end, whole);
	}
	return q < end ? q : NULL;
}

static void set(sl_record *rec, sl_field f, const char *p, const char *e)
{
	rec->field[f].p = p;
	rec->field[f].len = (size_t)(e - p);
}

/* A protocol word: 1*UPPER '/' 1*(DIGIT | '.'). */
static bool is_protocol(const char *p, const char *e)
{
	const char *s = p;
	while (s < e && IS(*s, C_UPPER))
		s++;
	if (s == p || s == e || *s != '/' || ++s == e)
		return false;
	while (s < e && (IS(*s, C_DIGIT) || *s == '.'))
		s++;
	return s == e;
}

/* s[0 .. 7] is "HTTP/" DIGIT "." DIGIT: one masked 8-byte compare for the
 * letters, '/' and '.', and the table for the two digits. */
static inline bool is_http_dd(const char *s)
{
	uint64_t x, k;
	memcpy(&x, s, 8);
	memcpy(&k, "HTTP/0.0", 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t mask = 0x00ff00ffffffffffULL; /* bytes 0-4 and 6 */
	return ((x ^ k) & mask) == 0 && IS(s[5], C_DIGIT) && IS(s[7], C_DIGIT);
#else
	(void)x;
	(void)k;
	return memcmp(s, "HTTP/", 5) == 0 && s[6] == '.' &&
	       IS(s[5], C_DIGIT) && IS(s[7], C_DIGIT);
#endif
}

/*
 * The first '?' in [s, e), or e. [s, e) is in the line after more than 16
 * of its bytes (the request comes after the time), so the 16 bytes that
 * end at e are the line's: with SSE2 (every x86-64) 16 bytes per step and
 * the last 1..16 bytes as those, elsewhere a byte loop. A '?' is wanted
 * only here, so it is not one of the indexed classes.
 */
static inline const char *find_qmark(const char *s, const char *e,
				     const char *line)
{
#if defined(__SSE2__)
	if (e - line >= 16) {
		const __m128i q = _mm_set1_epi8('?');
		for (; e - s > 16; s += 16) {
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
				_mm_loadu_si128((const __m128i *)(const void *)s), q));
			if (m)
				return s + __builtin_ctz(m);
		}
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)(e - 16)), q));
		m >>= 16 - (e - s);
		return m ? s + __builtin_ctz(m) : e;
	}
#else
	(void)line;
#endif
	while (s < e && *s != '?')
		s++;
	return s;
}

/* The longest protocol word we look for at the end of a request. */
#define PROTOCOL_MAX 15

/* Splits the request r[0 .. e) into method, URL, path and protocol. */
INLINE void split_request(sl_record *rec, const char *line,
			  const char *r, const char *e)
{
	const char *p = r, *url = r, *url_end = e;

	rec->field[SL_F_METHOD].len = 0;
	rec->field[SL_F_PROTOCOL].len = 0;
	rec->field[SL_F_METHOD].p = r;
	rec->field[SL_F_PROTOCOL].p = e;
	if (e - r >= 4 && load32(r) == GET_) /* the usual method */
		p = r + 3;
	else
		while (p < e && IS(*p, C_TCHAR))
			p++;
	if (p > r && e - p >= 2 && *p == ' ') {
		set(rec, SL_F_METHOD, r, p);
		url = p + 1;
		/* the protocol: the last word, if short and version-like;
		 * " HTTP/d.d" is checked first as one 8-byte compare */
		const char *s = e - 8;
		if (e - url >= 10 && s[-1] == ' ' && is_http_dd(s)) {
			set(rec, SL_F_PROTOCOL, s, e);
			url_end = s - 1;
			goto url;
		}
		const char *stop = e - url > PROTOCOL_MAX + 1 ?
					   e - (PROTOCOL_MAX + 1) : url;
		s = e;
		while (s > stop && s[-1] != ' ')
			s--;
		if (s > url + 1 && s[-1] == ' ' && is_protocol(s, e)) {
			set(rec, SL_F_PROTOCOL, s, e);
			url_end = s - 1;
		}
	}
url:
	set(rec, SL_F_URL, url, url_end);
	set(rec, SL_F_PATH, url, find_qmark(url, url_end, line));
}


#ifdef LITTLE
/*
 * Numbers of up to 8 bytes as one 64-bit word (SWAR), little-endian only.
 * The word is the 8 bytes that END at the number's end (the line holds
 * enough bytes before any number we read this way), so the number sits in
 * the top bytes, most significant digit first, and the bytes below it are
 * replaced by '0' (leading zeros change nothing).
 */
#define ONES 0x0101010101010101ULL
#define ASCII0 (ONES * '0')

/* Top bit set in exactly the bytes of x that are zero. */
static inline uint64_t zero_bytes(uint64_t x)
{
	const uint64_t low7 = ONES * 0x7f;
	return ~(((x & low7) + low7) | x | low7);
}

/* Keeps the top n (1..8) bytes of x and fills the rest with '0'. */
static inline uint64_t pad_left(uint64_t x, size_t n)
{
	uint64_t keep = ~0ULL << (8 * (8 - n));
	return (x & keep) | (ASCII0 & ~keep);
}

/*
 * The value of 8 digit values 0..9 in the bytes of d, byte 0 the most
 * significant. It folds neighbours together three times, each step within
 * its lane (10 * 9 + 9 < 2^8, 100 * 99 + 99 < 2^16, 10^4 * 9999 + 9999 <
 * 2^32), so nothing carries between lanes.
 */
INLINE uint64_t fold8(uint64_t d)
{
	d = (d * 10 + (d >> 8)) & 0x00ff00ff00ff00ffULL;
	d = (d * 100 + (d >> 16)) & 0x0000ffff0000ffffULL;
	return (d * 10000 + (d >> 32)) & 0xffffffffULL;
}

/* Top bit set in the bytes of x that are not ASCII digits: after ^ '0' a
 * digit is 0..9, and (low 7 bits) + 0x76 reaches 0x80 from 10 up. */
static inline uint64_t non_digits(uint64_t x)
{
	uint64_t t = x ^ ASCII0;
	return (((t & (ONES * 0x7f)) + ONES * 0x76) | t) & (ONES * 0x80);
}

/* True iff the 8 bytes of x are all digits; then *v is their value, byte 0
 * the most significant. */
INLINE bool digits8(uint64_t x, uint64_t *v)
{
	if (non_digits(x))
		return false;
	*v = fold8(x ^ ASCII0);
	return true;
}

/*
 * The top n (1..8) bytes of x (the word that ends where the number ends) as
 * 1*DIGIT ['.' 1*DIGIT]: true with the digits' value in *mant and the number of
 * fraction digits in *frac, else false. A dot is cut out of the word by
 * moving the bytes before it up by one; the dot of "d.ddd" (nginx's
 * $request_time) is at a known byte, which saves finding it.
 */
INLINE bool decimal8(uint64_t x, size_t n, uint64_t *mant, int *frac)
{
	uint64_t keep = ~0ULL << (8 * (8 - n));
	if (n >= 5 && (uint8_t)(x >> 32) == '.') {
		/* any other dot fails digits8 */
		x = (x & 0xffffff0000000000ULL) | (x & 0xffffffffULL) << 8;
		*frac = 3;
		return digits8((x & keep << 8) | (ASCII0 & ~(keep << 8)), mant);
	}
	uint64_t dots = zero_bytes(x ^ (ONES * '.')) & keep;
	*frac = 0;
	if (dots) {
		unsigned at = (unsigned)__builtin_ctzll(dots) / 8;
		if ((dots & (dots - 1)) || at == 8 - n || at == 7)
			return false; /* two dots, or one first or last */
		uint64_t before = (1ULL << (8 * at)) - 1;
		x = (x & ~before & ~(0xffULL << (8 * at))) | (x & before) << 8;
		keep <<= 8;
		*frac = 7 - (int)at;
	}
	return digits8((x & keep) | (ASCII0 & ~keep), mant);
}
#endif


/* ------------------------------------------------------------------------ */
/* Lines                                                                     */
/* ------------------------------------------------------------------------ */

#define FAIL(why_) do { rec->why = (why_); return SL_EFORMAT; } while (0)

/* Expects one space at *p and steps over it. */
#define EXPECT_SPACE() do { \
		if (p >= end || *p != ' ') FAIL("wrong shape"); \
		p++; \
	} while (0)

/* Reads a token into field f (non-empty, then a space). */
#define TOKEN(f) do { \
		const char *e_ = next(x, K_SPACE, p, end, whole); \
		if (e_ == p || e_ == end) FAIL("wrong shape"); \
		set(rec, (f), p, e_); \
		p = e_ + 1; \
	} while (0)

/* Reads a space and a quoted field into f (one 2-byte compare for ` "`),
 * and leaves p after the closing quote. */
#define SPACE_QUOTED(f) do { \
		if (end - p < 2 || load16(p) != SP_QUOTE) \
			FAIL("wrong shape"); \
		const char *q_ = closing_quote(x, p + 2, end, whole); \
		if (!q_) FAIL("unterminated quote"); \
		set(rec, (f), p + 2, q_); \
		p = q_ + 1; \
	} while (0)

/* Scans the extras after the user agent for the request time. p is at the
 * space that follows the agent's quote. */
INLINE void scan_extras(sl_record *rec, line_index *x, const char *line,
			const char *p, const char *end, const bool whole)
{
	double v;
	const char *s, *e;
#ifdef LITTLE
	uint64_t mant;
	int frac;
	/* the usual case: one short unquoted field ends the line (" 0.019"),
	 * seen in the word that ends the line: no space in its top bytes */
	s = p + 1;
	size_t n = (size_t)(end - s);
	if (n - 1 < 8 && *s != '"' && end - line >= 8) {
		uint64_t w = load64(end - 8);
		if (!(zero_bytes(w ^ ONES * ' ') & ~0ULL << (8 * (8 - n)))) {
			if (!decimal8(w, n, &mant, &frac))
				return; /* the last field, not a number */
			v = (double)mant / sl_pow10[frac];
			e = end;
			goto found;
		}
	}
#else
	(void)line;
#endif
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return;
		bool quoted = *p == '"';
		s = p + quoted;
#ifdef LITTLE
		if (!quoted) {
			/* the field is [s, e): a number if all of it is one */
			e = next(x, K_SPACE, s, end, whole);
			n = (size_t)(e - s);
			if (n <= 8 && e - line >= 8) {
				if (!decimal8(load64(e - 8), n, &mant, &frac)) {
					p = e;
					continue;
				}
				v = (double)mant / sl_pow10[frac];
				goto found;
			}
		}
#endif
		e = sl_scan_decimal(s, end, &v);
		if (e && (quoted ? e < end && *e == '"' : e == end || *e == ' '))
			goto found;
		/* not a number: skip the field */
		if (quoted) {
			e = closing_quote(x, s, end, whole);
			if (!e)
				return;
			p = e + 1;
		} else {
			p = next(x, K_SPACE, s, end, whole);
		}
	}
	return;
found:
	rec->has_request_time = true;
	rec->request_time = v;
	set(rec, SL_F_REQUEST_TIME, s, e);
}

/*
 * The parser. x indexes the line: the whole of it when `whole` (then x is
 * never re-indexed), else a window that moves along.
 */
INLINE sl_status parse(sl_format fmt, const char *line, size_t len,
		       sl_record *rec, sl_time_cache *tc, line_index *x,
		       const bool whole)
{
	const char *p = line, *end = line + len;

	rec->why = NULL;
	rec->has_request_time = false;
	rec->request_time = 0;
	rec->field[SL_F_VHOST].len = 0;
	rec->field[SL_F_REFERRER].len = 0;
	rec->field[SL_F_USER_AGENT].len = 0;
	rec->field[SL_F_REQUEST_TIME].len = 0;
	rec->field[SL_F_VHOST].p = line;
	rec->field[SL_F_REFERRER].p = line;
	rec->field[SL_F_USER_AGENT].p = line;
	rec->field[SL_F_REQUEST_TIME].p = line;

	if (fmt != SL_FMT_COMMON && fmt != SL_FMT_COMBINED &&
	    fmt != SL_FMT_VCOMBINED && fmt != SL_FMT_VCOMMON) {
		rec->why = "unknown format";
		return SL_EINVAL;
	}
	while (end > p && (end[-1] == '\r' || end[-1] == ' '))
		end--;
	if (end == p)
		FAIL("empty line");
	x->end = end;

	if (fmt == SL_FMT_VCOMBINED || fmt == SL_FMT_VCOMMON) {
		/* %v or %v:%p; the port is cut off unless the host would be
		 * a bare IPv6 address ("::1"), whose last group it could be */
		const char *tok = next(x, K_SPACE, p, end, whole), *e = tok, *h = tok;
		if (tok == p)
			FAIL("wrong shape");
		while (h > p && IS(h[-1], C_DIGIT))
			h--;
		if (h < tok && h - 1 > p && h[-1] == ':' &&
		    (h[-2] == ']' || !sl_scan_byte(p, h - 1, ':')))
			e = h - 1;
		set(rec, SL_F_VHOST, p, e);
		p = tok;
		EXPECT_SPACE();
	}
	if (whole) {
		/* the usual case: the three tokens end at the first three
		 * spaces of the 64 bytes from p, none empty, all in the line */
		uint64_t m0 = bits64(x, K_SPACE, p), m1 = m0 & (m0 - 1),
			 m2 = m1 & (m1 - 1);
		if (m2) {
			size_t a = (size_t)__builtin_ctzll(m0),
			       b = (size_t)__builtin_ctzll(m1),
			       c = (size_t)__builtin_ctzll(m2);
			if (a > 0 && b > a + 1 && c > b + 1 &&
			    c < (size_t)(end - p)) {
				set(rec, SL_F_CLIENT, p, p + a);
				set(rec, SL_F_IDENT, p + a + 1, p + b);
				set(rec, SL_F_USER, p + b + 1, p + c);
				p += c + 1;
				goto time;
			}
		}
	}
	TOKEN(SL_F_CLIENT);
	TOKEN(SL_F_IDENT);
	TOKEN(SL_F_USER);

time:
	/* [dd/Mon/yyyy:HH:MM:SS +hhmm] */
	if (end - p < TIME_LEN + 2 || p[0] != '[' || p[TIME_LEN + 1] != ']')
		FAIL("bad time field");
	const char *why = tc ? cached_time(tc, p + 1, &rec->time)
			     : convert_time(p + 1, &rec->time);
	if (why)
		FAIL(why);
	set(rec, SL_F_TIME, p + 1, p + 1 + TIME_LEN);
	p += TIME_LEN + 2;

	SPACE_QUOTED(SL_F_REQUEST);
	split_request(rec, line, rec->field[SL_F_REQUEST].p, p - 1);
	EXPECT_SPACE();

	/* %>s: three digits, 100..599, then a space */
	if (end - p < 4)
		FAIL("bad status");
#ifdef LITTLE
	{
		/* one word: high nibbles 3 3 3 and ' ' whole, low nibbles
		 * of the digits <= 9 (+6 does not carry), first one 1..5 */
		uint32_t w = load32(p);
		if ((w & 0xfff0f0f0u) != 0x20303030u ||
		    ((w + 0x060606u) & 0xf0f0f0u) != 0x303030u ||
		    (w & 0xff) - '1' > 4)
			FAIL("bad status");
	}
#else
	if (p[3] != ' ' || !IS(p[0], C_DIGIT) || !IS(p[1], C_DIGIT) ||
	    !IS(p[2], C_DIGIT) || p[0] < '1' || p[0] > '5')
		FAIL("bad status");
#endif
	rec->status = (uint32_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 +
				 (p[2] - '0'));
	set(rec, SL_F_STATUS, p, p + 3);
	p += 4;

	/* %b: digits or '-' */
#ifdef LITTLE
	if (end - p >= 8) {
		/* the usual case: 1..7 digits and a space in the word at p */
		uint64_t w = load64(p), nd = non_digits(w);
		unsigned n = nd ? (unsigned)__builtin_ctzll(nd) / 8 : 8;
		if (n - 1 < 7 && p[n] == ' ') {
			rec->bytes = fold8((w ^ ASCII0) << (8 * (8 - n)));
			set(rec, SL_F_BYTES, p, p + n);
			p += n;
			goto after_bytes;
		}
	}
#endif
	{
		const char *e = next(x, K_SPACE, p, end, whole);
		uint64_t v = 0;
		if (e == p)
			FAIL("bad bytes field");
		if (e - p == 1 && *p == '-') {
			v = 0;
#ifdef LITTLE
		} else if (e - p <= 8) {
			/* e - 8 is inside the line: p is past the time */
			if (!digits8(pad_left(load64(e - 8), (size_t)(e - p)), &v))
				FAIL("bad bytes field");
#endif
		} else if (e - p <= 19) {
			/* below 10^19: no overflow possible */
			for (const char *s = p; s < e; s++) {
				unsigned d = (unsigned)(*s - '0');
				if (d > 9)
					FAIL("bad bytes field");
				v = v * 10 + d;
			}
		} else {
			for (const char *s = p; s < e; s++) {
				unsigned d = (unsigned)(*s - '0');
				if (d > 9 || v > UINT64_MAX / 10 ||
				    (v == UINT64_MAX / 10 &&
				     d > UINT64_MAX % 10))
					FAIL("bad bytes field");
				v = v * 10 + d;
			}
		}
		rec->bytes = v;
		set(rec, SL_F_BYTES, p, e);
		p = e;
	}
#ifdef LITTLE
after_bytes:
#endif

	if (fmt == SL_FMT_COMMON || fmt == SL_FMT_VCOMMON) {
		if (p != end)
			FAIL("wrong shape");
		return SL_OK;
	}
	SPACE_QUOTED(SL_F_REFERRER);
	SPACE_QUOTED(SL_F_USER_AGENT);
	if (p < end) {
		if (*p != ' ')
			FAIL("wrong shape");
		scan_extras(rec, x, line, p, end, whole);
	}
	return SL_OK;
}

/* common, combined, vcombined, vcommon (sl_format_is_classic, inline: it
 * guards every line) */
static inline bool classic(sl_format f)
{
	return (f >= SL_FMT_COMMON && f <= SL_FMT_VCOMBINED) || f == SL_FMT_VCOMMON;
}

/* The fields derived from the parsed ones: the whole line, the query
 * string (the URL after its '?') and the date as logged (the time field's
 * first 11 bytes, "10/Oct/2000": the parser has checked its shape). */
static inline sl_status derive(sl_status st, sl_record *rec, const char *line, size_t len)
{
	if (st != SL_OK)
		return st;
	const sl_str *f = rec->field;
	rec->field[SL_F_LINE] = (sl_str){line, len};
	rec->field[SL_F_LENGTH] = (sl_str){line, 0}; /* a number without text */
	rec->field[SL_F_STATUS_CLASS] = (sl_str){line, 0}; /* the report derives these */
	rec->field[SL_F_HOUR] = (sl_str){line, 0};
	size_t q = f[SL_F_PATH].len < f[SL_F_URL].len ? f[SL_F_PATH].len + 1 : f[SL_F_URL].len;
	rec->field[SL_F_QUERY] = (sl_str){f[SL_F_URL].p + q, f[SL_F_URL].len - q};
	rec->field[SL_F_DATE] = (sl_str){f[SL_F_TIME].p, f[SL_F_TIME].len < 11 ? f[SL_F_TIME].len : 11};
	return SL_OK;
}

sl_status sl_access_parse(sl_format fmt, const char *line, size_t len,
			  sl_record *rec, sl_time_cache *tc)
{
	if (!classic(fmt)) { /* the others are sl_parser's */
		rec->why = "not an access-log format";
		return SL_EINVAL;
	}
	sl_scan_block own[OWN_BLOCKS];
	line_index x = {line, line, line + len, own};
	if (len <= SL_SCAN_BITS_BYTES) {
		reindex(&x, line);
		return derive(parse(fmt, line, len, rec, tc, &x, true), rec, line, len);
	}
	return derive(parse(fmt, line, len, rec, tc, &x, false), rec, line, len);
}

void sl_access_lines_init(sl_scan_lines *it, const char *buf, size_t len)
{
	sl_scan_lines_init(it, buf, len, index_chars, K_COUNT + 1);
}

sl_status sl_access_lines_parse(sl_format fmt, sl_scan_lines *it,
				const char *line, size_t len,
				sl_record *rec, sl_time_cache *tc)
{
	if (!classic(fmt)) {
		rec->why = "not an access-log format";
		return SL_EINVAL;
	}
	size_t pos = (size_t)(line - it->buf);
	line_index x = {line - pos % 64, it->buf + it->hi, line + len,
			&it->ring[pos / 64 % SL_SCAN_RING_BLOCKS]};
	return derive(parse(fmt, line, len, rec, tc, &x, true), rec, line, len);
}

sl_status sl_access_lines_parse_date(sl_format fmt, sl_scan_lines *it, const char *line,
				     size_t len, sl_record *rec, sl_time_cache *tc)
{
	size_t pos = (size_t)(line - it->buf);
	line_index x = {line - pos % 64, it->buf + it->hi, line + len,
			&it->ring[pos / 64 % SL_SCAN_RING_BLOCKS]};
	sl_status st = parse(fmt, line, len, rec, tc, &x, true);
	if (st == SL_OK) /* the parser has checked the time's shape */
		rec->field[SL_F_DATE] = (sl_str){rec->field[SL_F_TIME].p, 11};
	return st;
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

#define DETECT_LINES 32
#define DETECT_FORMATS 4

/* The format that parses the most of the first DETECT_LINES non-empty
 * lines (ties: the earlier in order[]), or SL_FMT_AUTO when none parses. */
static sl_format best_format(const char *buf, size_t len)
{
	static const sl_format order[DETECT_FORMATS] = {
		SL_FMT_VCOMBINED, SL_FMT_COMBINED, SL_FMT_VCOMMON, SL_FMT_COMMON,
	};
	unsigned hits[DETECT_FORMATS] = {0};
	const char *p = buf, *end = buf + len;
	int seen = 0;

	while (p < end && seen < DETECT_LINES) {
		const char *nl = sl_scan_byte(p, end, '\n');
		const char *s = p, *e = nl ? nl : end, *b = s;
		p = nl ? nl + 1 : end;
		while (b < e && (*b == ' ' || *b == '\r'))
			b++;
		if (b == e)
			continue; /* blank */
		seen++;
		for (int i = 0; i < DETECT_FORMATS; i++) {
			sl_record rec;
			sl_time_cache tc = {{0}, 0, 0};
			if (sl_access_parse(order[i], s, (size_t)(e - s), &rec,
					    &tc) == SL_OK)
				hits[i]++;
		}
	}
	int best = -1;
	for (int i = 0; i < DETECT_FORMATS; i++)
		if (hits[i] > 0 && (best < 0 || hits[i] > hits[best]))
			best = i;
	return best < 0 ? SL_FMT_AUTO : order[best];
}

sl_format sl_access_detect(const char *buf, size_t len)
{
	sl_format f = best_format(buf, len);
	return f == SL_FMT_AUTO ? SL_FMT_COMBINED : f;
}

sl_format sl_access_guess(const char *buf, size_t len)
{
	return best_format(buf, len);
}
