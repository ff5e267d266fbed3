/*
 * access.c: the zero-copy access-log line parser (sl_access_*, sl_format_*,
 * sl_field_name).
 *
 * Formats (Apache mod_log_config / nginx log_format names):
 *
 *   common     %h %l %u %t "%r" %>s %b
 *   combined   common "%{Referer}i" "%{User-agent}i" [extra ...]
 *   vcombined  %v[:%p] combined
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
 * %b, so a combined line never parses as common; vcombined has one more
 * token before '[', so combined and vcombined never parse each other's
 * lines. sl_access_detect relies on this.
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
 * and the offset is at most 14:59 either way.
 *
 * Cost: the caller's sl_time_cache keeps the last bracket text and its time.
 * A byte-identical text (the usual case: many lines per second) costs one
 * 26-byte compare (two 16-byte vector compares); a text that differs only
 * in HH:MM:SS reuses the cached day count and reads three two-digit numbers;
 * only a new day or offset runs the full conversion.
 *
 * Delimiters: structural indexing, as simdjson does for JSON. One call of
 * sl_scan_index (lib/scan.c: AVX2, SSE4.2 or scalar, chosen at run time)
 * turns the first 512 bytes of the line into three bitmaps: where the
 * spaces, the quotes and the '?' are. Every field end is then the lowest set
 * bit of a shifted 64-bit word (next(): a shift, a ctz and a compare, no
 * byte loop and no per-field branch on the field's length). A search that
 * leaves the window re-indexes 512 bytes from where it stands, so any line
 * length works and each byte is indexed about once. Character classes come
 * from a 256-byte table, and nothing is allocated or copied. No
 * locale-dependent call (strtod, strptime, sscanf) is made.
 *
 * Memory: none; the parser only writes the caller's record and cache.
 * Safety: every read is inside line[0 .. len-1]; tests place lines before a
 * PROT_NONE page and feed every truncated prefix.
 */
#include "sluice.h"
#include "scan.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

static const char *const format_names[SL_FMT_COUNT] = {
	"auto", "common", "combined", "vcombined", "lines",
};

static const char *const field_names[SL_F_COUNT] = {
	"vhost", "client", "ident", "user", "time", "request", "method", "url",
	"path", "protocol", "status", "bytes", "referrer", "user_agent",
	"request_time",
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
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2) + 400;
	int mp = m > 2 ? m - 3 : m + 9;
	int64_t days = yy * 365 + yy / 4 - yy / 100 + yy / 400
		       + (153 * mp + 2) / 5 + (d - 1);
	/* days counts from 0000-03-01 shifted by one cycle; 1970-01-01 is
	 * day 719468 of the unshifted count. */
	return days - 146097 - 719468;
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
	return NULL;
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

static const char *cached_time(sl_time_cache *tc, const char *t, int64_t *out)
{
	if (tc->len == TIME_LEN) {
		if (same_time_text(tc->text, t)) {
			*out = tc->time;
			return NULL;
		}
		if (same_day_and_offset(tc->text, t)) {
			int32_t now = day_seconds(t + 12);
			if (now < 0)
				return "impossible date";
			*out = tc->time + (now - day_seconds(tc->text + 12));
			goto store;
		}
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

/* ------------------------------------------------------------------------ */
/* Fields                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The line index (see the top comment). Window [lo, hi) of the line
 * [.., end) is indexed in b; bit i of b.w[k][j] stands for lo[64 * j + i].
 */
enum { K_SPACE, K_QUOTE, K_QMARK, K_COUNT };
static const char index_chars[K_COUNT] = {' ', '"', '?'};

typedef struct {
	const char *lo, *hi, *end;
	sl_scan_bits b;
} line_index;

static void reindex(line_index *x, const char *s)
{
	x->lo = s;
	x->hi = sl_scan_index(s, x->end, index_chars, K_COUNT, &x->b);
}

/*
 * The first byte of class k in [s, lim), or lim (lim <= x->end). `whole`
 * (a constant after inlining) says that the window is the whole line, so
 * that the window test and the re-indexing compile away.
 */
#define INLINE static inline __attribute__((always_inline))

INLINE const char *next(line_index *x, int k, const char *s,
			const char *lim, const bool whole)
{
	while (s < lim) {
		if (!whole && (s < x->lo || s >= x->hi))
			reindex(x, s);
		size_t rel = (size_t)(s - x->lo);
		uint64_t m = x->b.w[k][rel >> 6] >> (rel & 63);
		if (m) {
			s += __builtin_ctzll(m);
			return s < lim ? s : lim;
		}
		s += 64 - (rel & 63);
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
	while (q < end && q > p && q[-1] == '\\') {
		const char *b = q - 1;
		while (b > p && b[-1] == '\\')
			b--;
		if (((q - b) & 1) == 0)
			break;
		q = next(x, K_QUOTE, q + 1, end, whole);
	}
	return q < end ? q : NULL;
}

static void set(sl_access_rec *rec, sl_field f, const char *p, const char *e)
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

/* The longest protocol word we look for at the end of a request. */
#define PROTOCOL_MAX 15

/* Splits the request r[0 .. e) into method, URL, path and protocol. */
INLINE void split_request(sl_access_rec *rec, line_index *x, const char *r,
			  const char *e, const bool whole)
{
	const char *p = r, *url = r, *url_end = e;

	rec->field[SL_F_METHOD].len = 0;
	rec->field[SL_F_PROTOCOL].len = 0;
	rec->field[SL_F_METHOD].p = r;
	rec->field[SL_F_PROTOCOL].p = e;
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
	set(rec, SL_F_PATH, url, next(x, K_QMARK, url, url_end, whole));
}

/*
 * Reads a decimal 1*DIGIT ['.' 1*DIGIT] at p; returns the byte after it, or
 * NULL when p does not start one. The value is the correctly rounded double
 * when there are at most 19 digits (mantissa and power of ten are then
 * exact below 2^53, and one IEEE division rounds once).
 */
static inline const char *scan_decimal(const char *p, const char *end, double *out)
{
	static const double pow10[20] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
	};
	const char *s = p, *f = NULL;
	uint64_t mant = 0; /* wraps harmlessly past 19 digits */

	for (unsigned d; s < end && (d = (unsigned)(uint8_t)*s - '0') <= 9; s++)
		mant = mant * 10 + d;
	if (s == p)
		return NULL;
	if (s < end && *s == '.') {
		f = ++s;
		for (unsigned d;
		     s < end && (d = (unsigned)(uint8_t)*s - '0') <= 9; s++)
			mant = mant * 10 + d;
		if (s == f)
			return NULL;
	}
	int frac = f ? (int)(s - f) : 0;
	int ndigits = (int)(s - p) - (f != NULL);
	if (ndigits <= 19 && mant <= (1ULL << 53)) {
		*out = (double)mant / pow10[frac];
	} else {
		/* rare: very long numbers, correct to a few ulps */
		double v = 0;
		for (const char *c = p; c < s; c++)
			if (*c != '.')
				v = v * 10 + (*c - '0');
		for (int i = 0; i < frac; i++)
			v /= 10;
		*out = v;
	}
	return s;
}

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
		const char *e_ = next(&x, K_SPACE, p, end, whole); \
		if (e_ == p || e_ == end) FAIL("wrong shape"); \
		set(rec, (f), p, e_); \
		p = e_ + 1; \
	} while (0)

/* Reads a quoted field into f and leaves p after the closing quote. */
#define QUOTED(f) do { \
		if (p >= end || *p != '"') FAIL("wrong shape"); \
		const char *q_ = closing_quote(&x, p + 1, end, whole); \
		if (!q_) FAIL("unterminated quote"); \
		set(rec, (f), p + 1, q_); \
		p = q_ + 1; \
	} while (0)

/* Scans the extras after the user agent for the request time. p is at the
 * space that follows the agent's quote. */
INLINE void scan_extras(sl_access_rec *rec, line_index *x, const char *p,
			const char *end, const bool whole)
{
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return;
		bool quoted = *p == '"';
		const char *s = p + quoted;
		double v;
		const char *e = scan_decimal(s, end, &v);
		if (e && (quoted ? e < end && *e == '"' : e == end || *e == ' ')) {
			rec->has_request_time = true;
			rec->request_time = v;
			set(rec, SL_F_REQUEST_TIME, s, e);
			return;
		}
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
}

/* The parser; `whole` when the line fits one index window. */
INLINE sl_status parse(sl_format fmt, const char *line, size_t len,
		       sl_access_rec *rec, sl_time_cache *tc, const bool whole)
{
	const char *p = line, *end = line + len;
	line_index x;

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
	    fmt != SL_FMT_VCOMBINED) {
		rec->why = "unknown format";
		return SL_EINVAL;
	}
	while (end > p && (end[-1] == '\r' || end[-1] == ' '))
		end--;
	if (end == p)
		FAIL("empty line");
	x.lo = x.hi = p;
	x.end = end;
	if (whole)
		reindex(&x, p);

	if (fmt == SL_FMT_VCOMBINED) {
		/* %v or %v:%p; the port is cut off unless the host would be
		 * a bare IPv6 address ("::1"), whose last group it could be */
		const char *tok = next(&x, K_SPACE, p, end, whole), *e = tok, *h = tok;
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
	TOKEN(SL_F_CLIENT);
	TOKEN(SL_F_IDENT);
	TOKEN(SL_F_USER);

	/* [dd/Mon/yyyy:HH:MM:SS +hhmm] */
	if (end - p < TIME_LEN + 2 || p[0] != '[' || p[TIME_LEN + 1] != ']')
		FAIL("bad time field");
	const char *why = tc ? cached_time(tc, p + 1, &rec->time)
			     : convert_time(p + 1, &rec->time);
	if (why)
		FAIL(why);
	set(rec, SL_F_TIME, p + 1, p + 1 + TIME_LEN);
	p += TIME_LEN + 2;
	EXPECT_SPACE();

	QUOTED(SL_F_REQUEST);
	split_request(rec, &x, rec->field[SL_F_REQUEST].p, p - 1, whole);
	EXPECT_SPACE();

	/* %>s: three digits, 100..599 */
	if (end - p < 4 || p[3] != ' ' || !IS(p[0], C_DIGIT) ||
	    !IS(p[1], C_DIGIT) || !IS(p[2], C_DIGIT) || p[0] < '1' ||
	    p[0] > '5')
		FAIL("bad status");
	rec->status = (uint32_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 +
				 (p[2] - '0'));
	set(rec, SL_F_STATUS, p, p + 3);
	p += 4;

	/* %b: digits or '-' */
	{
		const char *e = next(&x, K_SPACE, p, end, whole);
		uint64_t v = 0;
		if (e == p)
			FAIL("bad bytes field");
		if (e - p == 1 && *p == '-') {
			v = 0;
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

	if (fmt == SL_FMT_COMMON) {
		if (p != end)
			FAIL("wrong shape");
		return SL_OK;
	}
	EXPECT_SPACE();
	QUOTED(SL_F_REFERRER);
	EXPECT_SPACE();
	QUOTED(SL_F_USER_AGENT);
	if (p < end) {
		if (*p != ' ')
			FAIL("wrong shape");
		scan_extras(rec, &x, p, end, whole);
	}
	return SL_OK;
}

sl_status sl_access_parse(sl_format fmt, const char *line, size_t len,
			  sl_access_rec *rec, sl_time_cache *tc)
{
	if (len <= SL_SCAN_BITS_BYTES)
		return parse(fmt, line, len, rec, tc, true);
	return parse(fmt, line, len, rec, tc, false);
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

#define DETECT_LINES 32

sl_format sl_access_detect(const char *buf, size_t len)
{
	static const sl_format order[3] = {
		SL_FMT_VCOMBINED, SL_FMT_COMBINED, SL_FMT_COMMON,
	};
	unsigned hits[3] = {0, 0, 0};
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
		for (int i = 0; i < 3; i++) {
			sl_access_rec rec;
			sl_time_cache tc = {{0}, 0, 0};
			if (sl_access_parse(order[i], s, (size_t)(e - s), &rec,
					    &tc) == SL_OK)
				hits[i]++;
		}
	}
	int best = -1;
	for (int i = 0; i < 3; i++)
		if (hits[i] > 0 && (best < 0 || hits[i] > hits[best]))
			best = i;
	return best < 0 ? SL_FMT_COMBINED : order[best];
}
