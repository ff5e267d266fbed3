/*
 * sluice-gen: the project's deterministic synthetic access-log generator.
 *
 * CONTRACT
 *   Same seed + same options => byte-identical output, on any host whose C
 *   doubles are IEEE-754 binary64 evaluated in double precision
 *   (FLT_EVAL_METHOD == 0: x86-64, arm64, ...). To get there the program
 *   uses its own PRNG (splitmix64 seeding xoshiro256**), its own exp/log
 *   (only + - * / and the exact frexp/ldexp; libm's exp/log/pow may differ
 *   by an ulp between C libraries), no rand(), no locale and no time zone:
 *   dates are formatted from epoch seconds by a civil-from-days conversion,
 *   with a fixed offset ("+0000" unless --tz). Wall-clock time never enters
 *   the output; --stream bursty only changes when bytes are written.
 *
 * STREAMS (--stream)
 *   log (default)  access-log lines, --format combined | common | vcombined:
 *       common     %h %l %u %t "%r" %>s %b
 *       combined   common + "%{Referer}i" "%{User-Agent}i"
 *       vcombined  "%v:%p " + combined (Apache vhost_combined)
 *       json       the combined line's fields as one JSON object per line,
 *                  keyed by nginx variable names (docs/formats.md, -f json):
 *                  remote_addr, remote_user, time_local, request, status,
 *                  body_bytes_sent, http_referer, http_user_agent, then
 *                  request_time and upstream_response_time when asked for
 *                  and host with --vhosts. status, bytes and times are bare
 *                  JSON numbers ("-" stays a string); the text fields keep
 *                  the combined line's bytes, JSON-escaped (a user agent's
 *                  \" becomes \\\", which decodes to the same \" that the
 *                  combined parser keeps).
 *       csv        the same fields as RFC 4180 rows after a header line of
 *                  the same names (the csv preset's column names; the vhost
 *                  column is http_host); user, time, request, referrer and
 *                  user agent are quoted with "" for a quote.
 *     json and csv draw exactly what combined draws, so line i of either
 *     holds the request of combined line i of the same seed and options.
 *     --malformed lines are written raw (the broken combined text) in every
 *     format, so they are malformed JSON/CSV as well.
 *     --request-time appends nginx $request_time (" 0.123"), --upstream also
 *     $upstream_response_time (" 0.120", or " -" for static files served
 *     without an upstream).
 *     --vhosts N: the vhost is one of N hosts "vh<rank>.example.com", ranked
 *     by Zipf(--zipf s) (uniform at --zipf 0), and the port 443 (80 one time
 *     in ten); both come from a random stream of their own, so the rest of
 *     each line is the combined line of the same seed. vcombined writes
 *     "host:port " in front, json a "host" key, csv an http_host column.
 *     Without --vhosts, vcombined's host is one of three by URL kind
 *     (unchanged, and the default output is byte-identical to what it was).
 *   random-lines   printable ASCII (0x20..0x7e) lines of exactly --line-len
 *                  bytes including the newline.
 *   low-entropy    16 fixed log lines (made once from the seed) repeated in
 *                  random order: highly compressible, few distinct values.
 *   bursty         the same bytes as the log stream with the same options,
 *                  written in chunks of random size 512 B..16 KiB, grouped in
 *                  bursts of 1..32 chunks with a pause of 0..--pause-ms
 *                  (default 5) between bursts: a pipe reader sees partial
 *                  lines and idle gaps.
 *   Length: --lines N and/or --size BYTES (K/M/G/T suffixes, powers of
 *   1024); generation stops after the line that reaches either limit
 *   (default: 1000 lines).
 *
 * DISTRIBUTIONS (log stream)
 *   clients  --ips N (default 600000, at most 2^24) ranked by Zipf(--zipf s,
 *            default 1.0). Rank -> address is a keyed bijection: the low 24
 *            bits of the IPv4 address are a 24-bit invertible mix of the
 *            rank, the first octet a hash-chosen public-looking octet, so
 *            distinct ranks give distinct addresses and popular clients are
 *            spread over the address space. A hash-chosen --ipv6 fraction
 *            (default 0.05) of the ranks are rendered as IPv6 (the mixed
 *            rank sits in the third and fourth groups, so still distinct).
 *            s = 1.0 keeps most of the population visible in a 1 GB log
 *            (the benchmark wants ~600k distinct clients); 1.1 is a little
 *            more concentrated and also realistic.
 *   URLs     --urls N (default 200000) ranked by the same Zipf exponent;
 *            the rank fixes the whole URL (path and query string), so the
 *            number of distinct URLs is at most N. The first ranks are "/",
 *            "/favicon.ico", ...; the others come from 12 templates
 *            (/products/ID, /products/ID?ref=WORD, /api/v1/users/ID, ...).
 *   Zipf sampling uses Walker/Vose alias tables (8 bytes per item, O(1)
 *   draw, one cache miss); weights (r+1)^-s.
 *   time     starts at --start EPOCH (default 1700000000); the gap between
 *            lines is uniform in [0, 2/rate) seconds, where the rate is
 *            --rate (default 20 lines/s, so 1 GB ~ 4.5M lines spans ~2.6
 *            days) scaled by a fixed 24-hour profile (night 0.4x, afternoon
 *            1.4x, mean 1x).
 *   user agents: 31 fixed strings with Zipf(1.0) weights, mostly tied to the
 *            client (90% of a client's requests use "its" agent); two of
 *            them contain an escaped quote \" and one is "-".
 *   methods  GET ~95% on pages (HEAD, POST, OPTIONS), more POST/PUT/DELETE
 *            on /api URLs. Protocols HTTP/1.1 60%, HTTP/2.0 37%, HTTP/1.0 3%.
 *   statuses 200 ~81%, 304 6%, 404 3%, 302 2.5%, 301 1.5%, 204, 206, 201,
 *            400, 401, 403, 405, 429, 499, 500 0.5%, 502, 503, 504.
 *   bytes    log-normal-ish (Irwin-Hall normal, 4 uniforms) with a median
 *            per URL kind (api 800 B, page 15 KB, script 30 KB, image 60 KB)
 *            and a 0.5% heavy tail (x10..x100); "-" for 304 and most 204,
 *            0 for HEAD, small bodies for redirects and errors.
 *   request time: log-normal-ish seconds with 3 decimals, median 15 ms
 *            (static 2 ms), 1% slow tail; 504 takes ~60 s.
 *   referrer 60% "-", 25% an internal page, 15% an external site.
 *   user     "-" except 0.5% of lines.
 *   --malformed RATE replaces that fraction of lines by one of six kinds
 *   picked uniformly: truncated line, impossible date (31/Feb, 25:61,
 *   ISO form, bad month), bad status (777, abc, 20, 99999), random garbage
 *   bytes (anything but '\n', NUL included), empty line, unterminated
 *   request quote.
 *
 * SPEED
 *   Lines are rendered into a 4 MiB buffer with hand-written integer and
 *   date formatting (the date string is cached per second) and written with
 *   write(2) in 1 MiB+ chunks: several hundred MB/s on one core.
 *
 * Exit status: 0 ok, 1 I/O or memory error, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OBUF_CAP   (4u << 20)
#define OBUF_FLUSH (1u << 20)	/* flush once this much is buffered */
#define MAX_LINE   8192		/* longest line the log stream can render */
_Static_assert(OBUF_CAP - OBUF_FLUSH > MAX_LINE, "room for one more line");
#define MAX_IPS    (1u << 24)
#define MAX_URLS   100000000u
#define NFIXED     16		/* lines of the low-entropy stream */

/* ---------------------------------------------------------------------- */
/* PRNG: xoshiro256** seeded through splitmix64 (Vigna).                   */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The splitmix64 finalizer alone: a bijective 64-bit mix used as a hash. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform integer in [0, n), n < 2^32 (Lemire's multiply, bias < 2^-32). */
static inline uint32_t below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((next(r) >> 32) * n) >> 32);
}

/* ---------------------------------------------------------------------- */
/* Portable exp/log: plain double arithmetic, identical on every IEEE host. */

static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double LN2 = 0.69314718055994530942;

static double xlog(double x)
{
	int e;
	double m = frexp(x, &e);	/* exact: x = m * 2^e, m in [0.5, 1) */
	if (m < 0.70710678118654752440) {
		m *= 2;
		e--;
	}
	double f = (m - 1) / (m + 1);	/* |f| <= 0.1716 */
	static const double inv_odd[] = {	/* 1/21, 1/19, ..., 1/1 */
		1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11,
		1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0,
	};
	double f2 = f * f, sum = 0;
	for (int k = 0; k < 11; k++)		/* 2 atanh(f) = log(m) */
		sum = sum * f2 + inv_odd[k];
	return e * LN2 + 2 * f * sum;
}

static double xexp(double x)
{
	static const double inv_fact[] = {	/* 1/13!, 1/12!, ..., 1/0! */
		1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
		1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
		1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 1.0 / 2.0, 1.0, 1.0,
	};
	if (x < -745)
		return 0;
	if (x > 709)
		x = 709;
	double k = floor(x / LN2 + 0.5);
	double r = (x - k * LN2_HI) - k * LN2_LO;	/* |r| <= 0.347 */
	double p = 0;			/* Taylor series to r^13 / 13! */
	for (int i = 0; i < 14; i++)
		p = p * r + inv_fact[i];
	return ldexp(p, (int)k);
}

/* ---------------------------------------------------------------------- */
/* Alias tables (Walker 1977, Vose 1991): draw index i with weight w[i].   */

struct alias {
	uint32_t n;
	uint32_t *cut;		/* keep i when the low 32 random bits < cut[i] */
	uint32_t *other;
};

static int alias_build(struct alias *a, const double *w, uint32_t n)
{
	double total = 0, *p = malloc(n * sizeof *p);
	uint32_t *small = malloc(n * sizeof *small);
	uint32_t *large = malloc(n * sizeof *large);
	a->n = n;
	a->cut = malloc(n * sizeof *a->cut);
	a->other = malloc(n * sizeof *a->other);
	if (!p || !small || !large || !a->cut || !a->other) {
		free(p), free(small), free(large);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		total += w[i];
	uint32_t ns = 0, nl = 0;
	for (uint32_t i = 0; i < n; i++) {
		p[i] = w[i] * n / total;
		if (p[i] < 1)
			small[ns++] = i;
		else
			large[nl++] = i;
	}
	while (ns && nl) {
		uint32_t s = small[--ns], l = large[nl - 1];
		a->cut[s] = (uint32_t)(p[s] * 4294967296.0);
		a->other[s] = l;
		p[l] = (p[l] + p[s]) - 1;
		if (p[l] < 1) {
			nl--;
			small[ns++] = l;
		}
	}
	while (nl) {		/* leftovers are 1 up to rounding */
		uint32_t l = large[--nl];
		a->cut[l] = UINT32_MAX, a->other[l] = l;
	}
	while (ns) {
		uint32_t s = small[--ns];
		a->cut[s] = UINT32_MAX, a->other[s] = s;
	}
	free(p), free(small), free(large);
	return 0;
}

static int alias_zipf(struct alias *a, uint32_t n, double s)
{
	double *w = malloc(n * sizeof *w);
	if (!w)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		w[i] = s == 0 ? 1 : xexp(-s * xlog((double)i + 1));
	int rc = alias_build(a, w, n);
	free(w);
	return rc;
}

static inline uint32_t alias_draw(const struct alias *a, uint64_t x)
{
	uint32_t i = (uint32_t)(((x >> 32) * a->n) >> 32);
	return (uint32_t)x < a->cut[i] ? i : a->other[i];
}

/* ---------------------------------------------------------------------- */
/* Output buffer.                                                          */

static char *obuf;
static size_t olen;
static int ofd = 1;
static const char *oname = "stdout";

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(ofd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sluice-gen: write %s: %s\n", oname, strerror(errno));
			exit(1);
		}
		p += w, n -= (size_t)w;
	}
}

static inline char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static inline char *put_u64(char *o, uint64_t v)
{
	char tmp[20], *t = tmp + 20;
	while (v >= 100) {
		t -= 2;
		memcpy(t, digits2 + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, digits2 + 2 * v, 2);
	} else {
		*--t = (char)('0' + v);
	}
	return put(o, t, (size_t)(tmp + 20 - t));
}

static inline char *put_2(char *o, unsigned v)
{
	memcpy(o, digits2 + 2 * v, 2);
	return o + 2;
}

static inline char *put_hex(char *o, uint64_t v, int width)
{
	static const char hx[] = "0123456789abcdef";
	for (int i = width - 1; i >= 0; i--)
		o[i] = hx[v & 15], v >>= 4;
	return o + width;
}

/* Hex without leading zeros (IPv6 groups). */
static inline char *put_hexnz(char *o, unsigned v)
{
	int w = v >= 0x1000 ? 4 : v >= 0x100 ? 3 : v >= 0x10 ? 2 : 1;
	return put_hex(o, v, w);
}

/* Milliseconds as seconds with 3 decimals. */
static inline char *put_ms(char *o, uint64_t ms)
{
	o = put_u64(o, ms / 1000);
	*o++ = '.';
	unsigned f = (unsigned)(ms % 1000);
	*o++ = (char)('0' + f / 100);
	return put_2(o, f % 100);
}

/* ---------------------------------------------------------------------- */
/* Fixed vocabularies.                                                     */

struct str {
	const char *s;
	unsigned n;
};
#define S(lit) { lit, sizeof(lit) - 1 }

/* In Zipf order: the first is the most frequent. */
static const struct str user_agents[] = {
	S("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36"),
	S("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"),
	S("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36"),
	S("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36"),
	S("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
	S("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"),
	S("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"),
	S("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.72"),
	S("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
	S("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"),
	S("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"),
	S("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36"),
	S("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.199 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
	S("curl/8.4.0"),
	S("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/119.0"),
	S("python-requests/2.31.0"),
	S("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"),
	S("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"),
	S("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36 OPR/104.0.0.0"),
	S("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"),
	S("Go-http-client/1.1"),
	S("Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0"),
	S("Wget/1.21.3"),
	S("okhttp/4.12.0"),
	S("Twitterbot/1.0"),
	S("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"),
	S("Apache-HttpClient/4.5.14 (Java/17.0.8)"),
	S("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
	S("Mozilla/5.0 (compatible; \\\"Scanner\\\"; +http://scan.example.net/)"),
	S("-"),
	S("sqlmap/1.7.2#stable (https://sqlmap.org) \\\"x\\\" or 1=1"),
};
#define N_UA (sizeof user_agents / sizeof user_agents[0])

static const struct str ext_referrers[] = {
	S("https://www.google.com/"), S("https://www.bing.com/"),
	S("https://duckduckgo.com/"), S("https://t.co/"),
	S("https://www.facebook.com/"), S("android-app://com.google.android.gm/"),
	S("https://news.ycombinator.com/"), S("https://www.reddit.com/r/programming/"),
	S("https://l.instagram.com/"), S("https://search.yahoo.com/"),
	S("https://www.google.co.uk/"), S("https://yandex.ru/"),
};
#define N_EXTREF (sizeof ext_referrers / sizeof ext_referrers[0])

static const struct str words[] = {
	S("shoes"), S("coffee"), S("garden"), S("laptop"), S("winter"), S("sale"),
	S("blue"), S("chair"), S("travel"), S("camera"), S("books"), S("kids"),
	S("kitchen"), S("audio"), S("phone"), S("outdoor"), S("wool"), S("lamp"),
	S("desk"), S("bike"), S("tea"), S("music"), S("games"), S("sports"),
	S("green"), S("linen"), S("watch"), S("bag"), S("paper"), S("glass"),
	S("summer"), S("home"), S("newsletter"), S("email"), S("banner"), S("affiliate"),
	S("red"), S("small"), S("large"), S("classic"), S("modern"), S("vintage"),
	S("black"), S("white"), S("cotton"), S("steel"), S("wood"), S("stone"),
	S("how"), S("guide"), S("review"), S("best"), S("cheap"), S("new"),
	S("top"), S("free"), S("fast"), S("easy"), S("daily"), S("pro"),
	S("mini"), S("max"), S("plus"), S("lite"),
};
#define N_WORDS (sizeof words / sizeof words[0])	/* 64 */

static const struct str special_urls[] = {
	S("/"), S("/favicon.ico"), S("/robots.txt"), S("/static/css/main.css"),
	S("/static/js/app.js"), S("/index.html"), S("/api/v1/health"), S("/login"),
	S("/sitemap.xml"), S("/apple-touch-icon.png"), S("/cart"), S("/wp-login.php"),
};
#define N_SPECIAL (sizeof special_urls / sizeof special_urls[0])

static const struct str users[] = {
	S("alice"), S("bob"), S("admin"), S("carol"), S("deploy"), S("j.smith"),
};

static const struct str vhosts[] = {
	S("www.example.com"), S("api.example.com"), S("static.example.com"),
};

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Status codes with weights out of 100000. */
static const struct {
	unsigned code, weight;
} statuses[] = {
	{200, 81000}, {304, 6000}, {404, 3000}, {302, 2500}, {301, 1500},
	{204, 1000}, {403, 800}, {206, 500}, {201, 500}, {500, 500},
	{400, 500}, {401, 500}, {499, 400}, {503, 300}, {502, 200},
	{429, 200}, {405, 100}, {504, 100}, {0, 900}	/* 0: fold into 200 */
};
#define N_STATUS (sizeof statuses / sizeof statuses[0])

/* Relative traffic by local hour of day (percent, mean 100). */
static const unsigned hour_profile[24] = {
	55, 45, 40, 38, 40, 50, 65, 80, 95, 105, 115, 120,
	125, 130, 135, 140, 140, 135, 130, 125, 120, 110, 90, 71,
};

/* ---------------------------------------------------------------------- */
/* Generator state and options.                                            */

enum stream { ST_LOG, ST_RANDOM, ST_LOWENT, ST_BURSTY };
enum format { FMT_COMBINED, FMT_COMMON, FMT_VCOMBINED, FMT_JSON, FMT_CSV };
enum url_kind { K_PAGE, K_API, K_SCRIPT, K_IMAGE };

enum malformed {
	MAL_NONE, MAL_TRUNCATED, MAL_DATE, MAL_STATUS, MAL_GARBAGE, MAL_EMPTY,
	MAL_QUOTE, MAL_KINDS
};

struct opts {
	uint64_t lines, size, seed;
	int64_t start;
	enum stream stream;
	enum format format;
	int request_time, upstream;
	uint32_t ips, urls;
	uint32_t vhosts;	/* --vhosts N (0: the three fixed vhosts) */
	double zipf, malformed, rate, ipv6;
	int tz_minutes;		/* offset east of UTC */
	uint32_t line_len;
	unsigned pause_ms;
	const char *out;
};

struct gen {
	struct opts o;
	struct rng r;		/* everything in the output */
	struct rng burst;	/* chunk sizes and pauses of --stream bursty */
	struct rng vh;		/* --vhosts: each line's host and port */
	struct alias ips, urls, ua, hosts;
	uint64_t key_ip, key_ip6, key_url, key_ua;
	uint64_t ipv6_cut;	/* rank is IPv6 when hash < ipv6_cut */
	uint32_t malformed_cut;	/* line is malformed when 32 bits < cut */
	uint64_t t_ns;		/* time since --start */
	uint64_t gap_ns[24];	/* twice the mean gap, per local hour */
	int64_t date_sec;	/* second the cached date is for */
	char date[32];		/* "10/Oct/2023:13:55:36 +0000" */
	unsigned date_len;
	char tz[6];
	uint8_t first_octet[256];
	unsigned n_first_octet;
	size_t chunk;		/* bursty: size of the next write */
	unsigned burst_left;
};

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t now_local(const struct gen *g)
{
	return g->o.start + (int64_t)(g->t_ns / 1000000000u) + g->o.tz_minutes * 60;
}

static void render_date(struct gen *g, int64_t local)
{
	int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	unsigned sod = (unsigned)(local - days * 86400), m, d;
	int64_t y;
	civil(days, &y, &m, &d);
	char *o = g->date;
	o = put_2(o, d);
	*o++ = '/';
	o = put(o, months[m - 1], 3);
	*o++ = '/';
	o = put_u64(o, (uint64_t)y);
	*o++ = ':';
	o = put_2(o, sod / 3600);
	*o++ = ':';
	o = put_2(o, sod / 60 % 60);
	*o++ = ':';
	o = put_2(o, sod % 60);
	*o++ = ' ';
	o = put(o, g->tz, 5);
	g->date_len = (unsigned)(o - g->date);
	g->date_sec = local;
}

static void advance_time(struct gen *g)
{
	unsigned hour = (unsigned)(((now_local(g) % 86400) + 86400) % 86400 / 3600);
	g->t_ns += ((next(&g->r) >> 32) * g->gap_ns[hour]) >> 32;
}

static char *put_client(struct gen *g, char *o, uint32_t rank)
{
	uint64_t h = mix64(rank ^ g->key_ip);
	/* 24-bit bijection of the rank: xor-shifts and odd multipliers. */
	uint32_t x = (rank ^ (uint32_t)g->key_ip6) & 0xFFFFFF;
	x ^= x >> 12;
	x = (x * 0x9E3779B1u) & 0xFFFFFF;
	x ^= x >> 11;
	x = (x * 0x85EBCA6Bu) & 0xFFFFFF;
	x ^= x >> 13;
	if (mix64(rank ^ g->key_ip6) < g->ipv6_cut) {
		static const struct str pfx[] = {
			S("2a01:e0a"), S("2600:1f18"), S("2a02:c7c"), S("2401:4900"),
			S("2001:1c00"), S("2a00:23c8"), S("2806:2f0"), S("2405:201"),
		};
		const struct str *p = &pfx[h & 7];
		o = put(o, p->s, p->n);
		*o++ = ':';
		o = put_hexnz(o, x >> 8);
		*o++ = ':';
		o = put_hexnz(o, ((x & 0xFF) << 8) | ((h >> 3) & 0xFF));
		if ((h >> 11) & 1) {	/* SLAAC-like full interface id */
			for (int i = 0; i < 4; i++) {
				*o++ = ':';
				o = put_hexnz(o, (unsigned)(h >> (16 + 12 * i)) & 0xFFFF);
			}
		} else {		/* short "::n" interface id */
			o = PUTS(o, "::");
			o = put_hexnz(o, (unsigned)(h >> 16) & 0xFFF);
		}
		return o;
	}
	o = put_u64(o, g->first_octet[(h >> 40) % g->n_first_octet]);
	*o++ = '.';
	o = put_u64(o, x >> 16);
	*o++ = '.';
	o = put_u64(o, (x >> 8) & 0xFF);
	*o++ = '.';
	return put_u64(o, x & 0xFF);
}

static inline char *put_word(char *o, uint64_t h)
{
	const struct str *w = &words[h % N_WORDS];
	return put(o, w->s, w->n);
}

/* The URL of a rank; fixed by the rank alone. Returns its kind. */
static char *put_url(const struct gen *g, char *o, uint32_t rank, enum url_kind *kind)
{
	if (rank < N_SPECIAL) {
		static const enum url_kind sk[N_SPECIAL] = {
			K_PAGE, K_IMAGE, K_SCRIPT, K_SCRIPT, K_SCRIPT, K_PAGE,
			K_API, K_PAGE, K_SCRIPT, K_IMAGE, K_PAGE, K_PAGE,
		};
		*kind = sk[rank];
		return put(o, special_urls[rank].s, special_urls[rank].n);
	}
	uint64_t h = mix64(rank ^ g->key_url);
	uint64_t id = (uint64_t)rank * 7 + 1000;	/* injective in rank */
	unsigned year = 2015 + (unsigned)(h >> 20) % 9, mon = 1 + (unsigned)(h >> 24) % 12;
	switch ((h >> 56) % 12) {
	case 0:
		*kind = K_PAGE;
		o = PUTS(o, "/products/");
		return put_u64(o, id);
	case 1:
		*kind = K_PAGE;
		o = PUTS(o, "/products/");
		o = put_u64(o, id);
		o = PUTS(o, "?ref=");
		o = put_word(o, h);
		if ((h >> 8) & 1) {
			o = PUTS(o, "&utm_source=");
			o = put_word(o, h >> 12);
		}
		return o;
	case 2:
		*kind = K_PAGE;
		o = PUTS(o, "/category/");
		o = put_word(o, h);
		*o++ = '/';
		o = put_word(o, h >> 6);
		o = PUTS(o, "?page=");
		return put_u64(o, id);
	case 3:
		*kind = K_PAGE;
		o = PUTS(o, "/blog/");
		o = put_u64(o, year);
		*o++ = '/';
		o = put_2(o, mon);
		*o++ = '/';
		o = put_word(o, h);
		*o++ = '-';
		o = put_word(o, h >> 6);
		*o++ = '-';
		return put_u64(o, id);
	case 4:
		*kind = K_API;
		o = PUTS(o, "/api/v1/users/");
		return put_u64(o, id);
	case 5:
		*kind = K_API;
		o = PUTS(o, "/api/v1/orders?page=");
		o = put_u64(o, 1 + (h & 15));
		o = PUTS(o, "&user=");
		return put_u64(o, id);
	case 6:
		*kind = K_PAGE;
		o = PUTS(o, "/search?q=");
		o = put_word(o, h);
		*o++ = '+';
		o = put_word(o, h >> 6);
		o = PUTS(o, "&p=");
		return put_u64(o, id);
	case 7:
		*kind = K_IMAGE;
		o = PUTS(o, "/images/");
		o = put_hex(o, id, 8);
		return PUTS(o, ".jpg");
	case 8:
		*kind = K_SCRIPT;
		o = PUTS(o, "/static/js/chunk.");
		o = put_hex(o, mix64(id) & 0xFFFFFFFFull, 8);	/* low 32 bits: */
		*o++ = '.';					/* not injective, */
		o = put_u64(o, id);				/* so the id too */
		return PUTS(o, ".js");
	case 9:
		*kind = K_IMAGE;
		o = PUTS(o, "/assets/img/");
		o = put_word(o, h);
		*o++ = '-';
		o = put_u64(o, id);
		return PUTS(o, ".png");
	case 10:
		*kind = K_IMAGE;
		o = PUTS(o, "/wp-content/uploads/");
		o = put_u64(o, year);
		*o++ = '/';
		o = put_2(o, mon);
		*o++ = '/';
		o = put_word(o, h);
		o = put_u64(o, id);
		return PUTS(o, ".jpg");
	default:
		*kind = K_PAGE;
		o = PUTS(o, "/user/");
		o = put_u64(o, id);
		return PUTS(o, "/profile");
	}
}

/* Log-normal-ish: median * e^(sigma z), z ~ Irwin-Hall(4) rescaled. */
static double lognormal(struct rng *r, double median, double sigma)
{
	uint64_t x = next(r);
	double sum = (double)((x & 0xFFFF) + ((x >> 16) & 0xFFFF) +
			      ((x >> 32) & 0xFFFF) + (x >> 48)) * (1.0 / 65536);
	double z = (sum - 2) * 1.7320508075688772;	/* unit variance */
	return median * xexp(sigma * z);
}

static const char *method_for(struct rng *r, enum url_kind k, unsigned *len)
{
	unsigned x = below(r, 1000);
	if (k == K_API) {
		if (x < 700) return *len = 3, "GET";
		if (x < 900) return *len = 4, "POST";
		if (x < 940) return *len = 3, "PUT";
		if (x < 970) return *len = 6, "DELETE";
		return *len = 7, "OPTIONS";
	}
	if (x < 952) return *len = 3, "GET";
	if (x < 977) return *len = 4, "HEAD";
	if (x < 995) return *len = 4, "POST";
	return *len = 7, "OPTIONS";
}

static unsigned status_for(struct rng *r)
{
	unsigned x = below(r, 100000);
	for (unsigned i = 0; i < N_STATUS; i++) {
		if (x < statuses[i].weight)
			return statuses[i].code ? statuses[i].code : 200;
		x -= statuses[i].weight;
	}
	return 200;
}

/* ---------------------------------------------------------------------- */
/* JSON lines and CSV: the combined line's fields, rewritten.               */

/* Where each field of a rendered line lies (offsets from its start). */
enum field {
	F_CLIENT, F_USER, F_TIME, F_REQUEST, F_STATUS, F_BYTES, F_REFERER, F_UA,
	F_RT, F_UPSTREAM, F_N
};
struct span {
	unsigned at, end;	/* end == at: the field is not in this line */
};

/* JSON keys (nginx variable names) and CSV columns, in field order. */
static const struct str field_names[F_N] = {
	S("remote_addr"), S("remote_user"), S("time_local"), S("request"),
	S("status"), S("body_bytes_sent"), S("http_referer"), S("http_user_agent"),
	S("request_time"), S("upstream_response_time"),
};

/* The host of --vhosts rank h: "vh<h>.example.com". */
static char *put_vhost(char *o, uint32_t h)
{
	o = PUTS(o, "vh");
	o = put_u64(o, h);
	return PUTS(o, ".example.com");
}

/* Is the field a number sluice-gen writes bare in JSON (status, bytes and
 * times, unless "-")? */
static int json_number(enum field i, const char *v, unsigned n)
{
	return (i == F_STATUS || i == F_BYTES || i == F_RT || i == F_UPSTREAM) &&
	       !(n == 1 && v[0] == '-');
}

/* Writes the line's fields (line[0 .. n-1], laid out as f says) back over
 * it as one JSON object or CSV row; returns the new end. The bytes of each
 * field are kept as they are (a user agent's \" stays a backslash and a
 * quote, as the combined parser keeps it): JSON escapes " and \ (and
 * control bytes, which the log stream does not write), CSV quotes the text
 * fields and doubles their quotes. */
static char *rewrite_record(const struct gen *g, char *line, size_t n, const struct span *f,
			    uint32_t host)
{
	char copy[MAX_LINE];
	memcpy(copy, line, n);
	char *o = line;
	int json = g->o.format == FMT_JSON;
	if (json)
		*o++ = '{';
	int first = 1;
	for (int i = 0; i < F_N; i++) {
		int present = f[i].end > f[i].at || i == F_USER || i == F_REFERER;
		if (!json && (i == F_RT || i == F_UPSTREAM) && !g->o.request_time)
			continue;
		if (!json && i == F_UPSTREAM && !g->o.upstream)
			continue;
		if (json && !present)
			continue;
		const char *v = copy + f[i].at;
		unsigned vn = f[i].end - f[i].at;
		if (!first)
			*o++ = ',';
		first = 0;
		if (json) {
			*o++ = '"';
			o = put(o, field_names[i].s, field_names[i].n);
			o = PUTS(o, "\":");
			if (json_number((enum field)i, v, vn)) {
				o = put(o, v, vn);
				continue;
			}
			*o++ = '"';
			for (unsigned k = 0; k < vn; k++) {
				unsigned char c = (unsigned char)v[k];
				if (c == '"' || c == '\\') {
					*o++ = '\\';
					*o++ = (char)c;
				} else if (c < 0x20) {
					o = PUTS(o, "\\u00");
					o = put_hex(o, c, 2);
				} else {
					*o++ = (char)c;
				}
			}
			*o++ = '"';
		} else if (i == F_USER || i == F_TIME || i == F_REQUEST || i == F_REFERER ||
			   i == F_UA) {
			*o++ = '"';
			for (unsigned k = 0; k < vn; k++) {
				if (v[k] == '"')
					*o++ = '"';
				*o++ = v[k];
			}
			*o++ = '"';
		} else {
			o = put(o, v, vn);
		}
	}
	if (g->o.vhosts) {
		o = json ? PUTS(o, ",\"host\":\"") : PUTS(o, ",");
		o = put_vhost(o, host);
		if (json)
			*o++ = '"';
	}
	if (json)
		*o++ = '}';
	*o++ = '\n';
	return o;
}

/* The CSV header naming the columns rewrite_record writes. */
static void csv_header(const struct gen *g)
{
	char *o = obuf + olen;
	for (int i = 0; i < F_N; i++) {
		if ((i == F_RT && !g->o.request_time) || (i == F_UPSTREAM && !g->o.upstream))
			continue;
		if (i)
			*o++ = ',';
		o = put(o, field_names[i].s, field_names[i].n);
	}
	if (g->o.vhosts)
		o = PUTS(o, ",http_host");
	*o++ = '\n';
	olen = (size_t)(o - obuf);
}

/* One log line at obuf + olen; mal selects a malformed variant. */
static void log_line(struct gen *g, enum malformed mal)
{
	struct rng *r = &g->r;
	char *start = obuf + olen, *o = start;

	advance_time(g);
	if (mal == MAL_EMPTY) {
		*o++ = '\n';
		olen += 1;
		return;
	}
	if (mal == MAL_GARBAGE) {
		unsigned n = 1 + below(r, 300);
		for (unsigned i = 0; i < n; i++) {
			char c = (char)(next(r) >> 56);
			*o++ = c == '\n' ? '\r' : c;
		}
		*o++ = '\n';
		olen += (size_t)(o - start);
		return;
	}

	uint32_t client = alias_draw(&g->ips, next(r));
	uint32_t url = alias_draw(&g->urls, next(r));
	enum url_kind kind;
	struct span f[F_N] = {{0, 0}};
	uint32_t host = 0;

#define MARK(i, from) (f[i].at = (unsigned)((from) - start), f[i].end = (unsigned)(o - start))
	if (g->o.vhosts) {	/* host and port from their own stream */
		host = alias_draw(&g->hosts, next(&g->vh));
		unsigned port80 = below(&g->vh, 10) == 0;
		if (g->o.format == FMT_VCOMBINED) {
			o = put_vhost(o, host);
			o = port80 ? PUTS(o, ":80 ") : PUTS(o, ":443 ");
		}
	} else if (g->o.format == FMT_VCOMBINED) {
		char tmp[256];
		put_url(g, tmp, url, &kind);
		const struct str *v = &vhosts[kind == K_API ? 1 : kind == K_PAGE ? 0 : 2];
		o = put(o, v->s, v->n);
		o = below(r, 10) ? PUTS(o, ":443 ") : PUTS(o, ":80 ");
	}
	char *from = o;
	o = put_client(g, o, client);
	MARK(F_CLIENT, from);
	o = PUTS(o, " - ");
	from = o;
	if (below(r, 1000) < 5) {
		const struct str *u = &users[below(r, sizeof users / sizeof users[0])];
		o = put(o, u->s, u->n);
	} else {
		*o++ = '-';
	}
	MARK(F_USER, from);
	o = PUTS(o, " [");
	from = o;
	if (mal == MAL_DATE) {
		static const struct str bad[] = {
			S("31/Feb/2023:10:00:00 +0000"), S("10/Oct/2023:25:61:61 +0000"),
			S("2023-10-10T10:00:00Z"), S("10/Foo/2023:10:00:00 +0000"),
			S("00/Jan/2023:00:00:00 +0000"), S(""),
		};
		const struct str *b = &bad[below(r, 6)];
		o = put(o, b->s, b->n);
	} else {
		int64_t now = now_local(g);
		if (now != g->date_sec)
			render_date(g, now);
		o = put(o, g->date, g->date_len);
	}
	MARK(F_TIME, from);
	o = PUTS(o, "] \"");
	from = o;

	unsigned mlen;
	char *url_at;
	const char *method;
	/* The method depends on the kind, known only after the URL is out. */
	url_at = o + 8;		/* room for the longest method and a space */
	char *url_end = put_url(g, url_at, url, &kind);
	method = method_for(r, kind, &mlen);
	o = put(o, method, mlen);
	*o++ = ' ';
	memmove(o, url_at, (size_t)(url_end - url_at));
	o += url_end - url_at;
	unsigned pr = below(r, 100);
	o = pr < 60 ? PUTS(o, " HTTP/1.1") : pr < 97 ? PUTS(o, " HTTP/2.0") : PUTS(o, " HTTP/1.0");
	MARK(F_REQUEST, from);
	if (mal != MAL_QUOTE)
		*o++ = '"';
	*o++ = ' ';

	unsigned status = status_for(r);
	if (status == 201 && mlen == 3 && method[0] == 'G')
		status = 200;
	from = o;
	if (mal == MAL_STATUS) {
		static const struct str bad[] = { S("777"), S("777"), S("abc"), S("20"), S("99999") };
		const struct str *b = &bad[below(r, 5)];
		o = put(o, b->s, b->n);
	} else {
		o = put_u64(o, status);
	}
	MARK(F_STATUS, from);
	*o++ = ' ';
	from = o;

	/* Body bytes. */
	double median = kind == K_API ? 800 : kind == K_PAGE ? 15000 :
			kind == K_SCRIPT ? 30000 : 60000;
	if (status == 304 || (status == 204 && below(r, 4))) {
		*o++ = '-';
	} else if (method[0] == 'H') {
		*o++ = '0';
	} else if (status >= 300 && status != 206) {
		o = put_u64(o, 150 + below(r, 450));
	} else {
		double b = lognormal(r, median, 1.0);
		if (below(r, 1000) < 5)
			b *= 10 + below(r, 91);
		o = put_u64(o, (uint64_t)b + 1);
	}
	MARK(F_BYTES, from);

	if (g->o.format != FMT_COMMON) {
		o = PUTS(o, " \"");
		from = o;
		unsigned ref = below(r, 100);
		if (ref < 60) {
			*o++ = '-';
		} else if (ref < 85) {
			enum url_kind k2;
			o = PUTS(o, "https://www.example.com");
			o = put_url(g, o, alias_draw(&g->urls, next(r)), &k2);
		} else {
			const struct str *e = &ext_referrers[below(r, N_EXTREF)];
			o = put(o, e->s, e->n);
		}
		MARK(F_REFERER, from);
		o = PUTS(o, "\" \"");
		from = o;
		uint64_t ux = below(r, 10) ? mix64(client ^ g->key_ua) : next(r);
		const struct str *ua = &user_agents[alias_draw(&g->ua, ux)];
		o = put(o, ua->s, ua->n);
		MARK(F_UA, from);
		*o++ = '"';
	}

	if (g->o.request_time) {
		double rt = status == 504 ? 60.0 + below(r, 1000) / 1000.0 :
			    lognormal(r, kind == K_SCRIPT || kind == K_IMAGE ? 0.002 : 0.015, 1.3);
		if (below(r, 100) == 0)
			rt *= 10 + below(r, 40);
		uint64_t ms = (uint64_t)(rt * 1000);
		*o++ = ' ';
		from = o;
		o = put_ms(o, ms);
		MARK(F_RT, from);
		if (g->o.upstream) {
			*o++ = ' ';
			from = o;
			if (kind == K_SCRIPT || kind == K_IMAGE) {
				*o++ = '-';
			} else {
				uint64_t d = below(r, 3);
				o = put_ms(o, ms > d ? ms - d : 0);
			}
			MARK(F_UPSTREAM, from);
		}
	}
#undef MARK
	*o++ = '\n';
	if (mal == MAL_NONE && (g->o.format == FMT_JSON || g->o.format == FMT_CSV))
		o = rewrite_record(g, start, (size_t)(o - start), f, host);

	size_t n = (size_t)(o - start);
	if (mal == MAL_TRUNCATED) {	/* cut somewhere before the newline */
		n = 1 + below(r, (uint32_t)(n - 2));
		start[n++] = '\n';
	}
	olen += n;
}

/* ---------------------------------------------------------------------- */
/* Output draining: whole buffer, or bursts of random chunks.              */

static void pause_ms(struct gen *g)
{
	if (!g->o.pause_ms)
		return;
	uint64_t us = ((next(&g->burst) >> 32) * (g->o.pause_ms * 1000ull)) >> 32;
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void drain(struct gen *g, int final)
{
	if (g->o.stream != ST_BURSTY) {
		write_all(obuf, olen);
		olen = 0;
		return;
	}
	size_t off = 0;
	while (olen - off >= g->chunk || (final && off < olen)) {
		size_t n = olen - off < g->chunk ? olen - off : g->chunk;
		write_all(obuf + off, n);
		off += n;
		g->chunk = 512 + below(&g->burst, 16384 - 512 + 1);
		if (--g->burst_left == 0) {
			pause_ms(g);
			g->burst_left = 1 + below(&g->burst, 32);
		}
	}
	memmove(obuf, obuf + off, olen - off);
	olen -= off;
}

/* ---------------------------------------------------------------------- */
/* Streams.                                                                */

static int done(const struct gen *g, uint64_t lines, uint64_t bytes)
{
	return (g->o.lines && lines >= g->o.lines) || (g->o.size && bytes >= g->o.size);
}

static void run_log(struct gen *g)
{
	uint64_t lines = 0, bytes = 0;
	while (!done(g, lines, bytes)) {
		size_t before = olen;
		enum malformed mal = MAL_NONE;
		if (g->malformed_cut && (uint32_t)next(&g->r) < g->malformed_cut)
			mal = (enum malformed)(1 + below(&g->r, MAL_KINDS - 1));
		log_line(g, mal);
		bytes += olen - before;
		lines++;
		if (olen >= OBUF_FLUSH)
			drain(g, 0);
	}
	drain(g, 1);
}

static void run_low_entropy(struct gen *g)
{
	char *fixed[NFIXED];
	size_t flen[NFIXED];
	for (int i = 0; i < NFIXED; i++) {	/* borrow the output buffer */
		log_line(g, MAL_NONE);
		flen[i] = olen;
		fixed[i] = malloc(olen);
		if (!fixed[i]) {
			fprintf(stderr, "sluice-gen: out of memory\n");
			exit(1);
		}
		memcpy(fixed[i], obuf, olen);
		olen = 0;
	}
	uint64_t lines = 0, bytes = 0;
	while (!done(g, lines, bytes)) {
		unsigned i = below(&g->r, NFIXED);
		memcpy(obuf + olen, fixed[i], flen[i]);
		olen += flen[i];
		bytes += flen[i];
		lines++;
		if (olen >= OBUF_FLUSH)
			drain(g, 0);
	}
	drain(g, 1);
	for (int i = 0; i < NFIXED; i++)
		free(fixed[i]);
}

static void run_random_lines(struct gen *g)
{
	uint64_t lines = 0, bytes = 0;
	uint32_t len = g->o.line_len;
	while (!done(g, lines, bytes)) {
		uint32_t left = len - 1;
		while (left) {
			uint64_t x = next(&g->r);
			for (int k = 0; k < 8 && left; k++, left--) {
				obuf[olen++] = (char)(0x20 + (((x & 0xFF) * 95) >> 8));
				x >>= 8;
			}
			if (olen >= OBUF_FLUSH)
				drain(g, 0);
		}
		obuf[olen++] = '\n';
		bytes += len;
		lines++;
		if (olen >= OBUF_FLUSH)
			drain(g, 0);
	}
	drain(g, 1);
}

/* ---------------------------------------------------------------------- */
/* Options.                                                                */

static void usage(FILE *f)
{
	fputs(
"usage: sluice-gen [options]\n"
"Deterministic synthetic access logs: same seed + options => same bytes.\n"
"\n"
"  --lines N            stop after N lines\n"
"  --size BYTES         stop after the line reaching BYTES (K/M/G/T = 1024^k)\n"
"                       (default: 1000 lines; with both, whichever comes first)\n"
"  --seed S             PRNG seed (default 1)\n"
"  --format F           combined (default), common, vcombined, json or csv\n"
"  --vhosts N           N virtual hosts, Zipf ranked (vcombined, json, csv)\n"
"  --request-time       append $request_time (\" 0.123\")\n"
"  --upstream           also append $upstream_response_time\n"
"  --ips N              distinct clients, Zipf ranked (default 600000, max 2^24)\n"
"  --urls N             distinct URLs, Zipf ranked (default 200000)\n"
"  --zipf S             Zipf exponent of clients and URLs (default 1.0)\n"
"  --ipv6 FRACTION      fraction of clients shown as IPv6 (default 0.05)\n"
"  --malformed RATE     fraction of malformed lines (default 0)\n"
"  --start EPOCH        first timestamp, seconds (default 1700000000)\n"
"  --rate R             mean lines per second of log time (default 20)\n"
"  --tz +HHMM           time zone offset shown in dates (default +0000)\n"
"  --stream KIND        log (default), random-lines, low-entropy, bursty\n"
"  --line-len N         random-lines: bytes per line incl. newline (default 100)\n"
"  --pause-ms MS        bursty: longest pause between bursts (default 5)\n"
"  -o, --output FILE    write to FILE instead of stdout\n"
"  -h, --help           this help\n", f);
}

static _Noreturn void bad(const char *opt, const char *arg)
{
	fprintf(stderr, "sluice-gen: bad value for %s: '%s'\n", opt, arg);
	usage(stderr);
	exit(2);
}

static uint64_t parse_u64(const char *opt, const char *s, int suffix)
{
	char *end;
	if (!*s || *s == '-')
		bad(opt, s);
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		bad(opt, s);
	if (suffix && *end) {
		int shift = 0;
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: bad(opt, s);
		}
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (v > (UINT64_MAX >> shift))
			bad(opt, s);
		v <<= shift;
	}
	if (*end)
		bad(opt, s);
	return v;
}

static double parse_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);	/* no setlocale: always the C locale */
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		bad(opt, s);
	return v;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	enum { O_LINES = 256, O_SIZE, O_SEED, O_FORMAT, O_RT, O_UP, O_IPS, O_URLS,
	       O_ZIPF, O_MAL, O_START, O_RATE, O_IPV6, O_TZ, O_STREAM, O_LINELEN,
	       O_PAUSE, O_VHOSTS };
	static const struct option longopts[] = {
		{"lines", required_argument, NULL, O_LINES},
		{"size", required_argument, NULL, O_SIZE},
		{"seed", required_argument, NULL, O_SEED},
		{"format", required_argument, NULL, O_FORMAT},
		{"request-time", no_argument, NULL, O_RT},
		{"upstream", no_argument, NULL, O_UP},
		{"ips", required_argument, NULL, O_IPS},
		{"urls", required_argument, NULL, O_URLS},
		{"vhosts", required_argument, NULL, O_VHOSTS},
		{"zipf", required_argument, NULL, O_ZIPF},
		{"malformed", required_argument, NULL, O_MAL},
		{"start", required_argument, NULL, O_START},
		{"rate", required_argument, NULL, O_RATE},
		{"ipv6", required_argument, NULL, O_IPV6},
		{"tz", required_argument, NULL, O_TZ},
		{"stream", required_argument, NULL, O_STREAM},
		{"line-len", required_argument, NULL, O_LINELEN},
		{"pause-ms", required_argument, NULL, O_PAUSE},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*o = (struct opts){
		.seed = 1, .start = 1700000000, .ips = 600000, .urls = 200000,
		.zipf = 1.0, .rate = 20, .ipv6 = 0.05, .line_len = 100, .pause_ms = 5,
	};
	int c, have_limit = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
		case O_LINES:
			o->lines = parse_u64("--lines", a, 0);
			have_limit = 1;
			break;
		case O_SIZE:
			o->size = parse_u64("--size", a, 1);
			have_limit = 1;
			break;
		case O_SEED: o->seed = parse_u64("--seed", a, 0); break;
		case O_FORMAT:
			if (!strcmp(a, "combined")) o->format = FMT_COMBINED;
			else if (!strcmp(a, "common")) o->format = FMT_COMMON;
			else if (!strcmp(a, "vcombined")) o->format = FMT_VCOMBINED;
			else if (!strcmp(a, "json")) o->format = FMT_JSON;
			else if (!strcmp(a, "csv")) o->format = FMT_CSV;
			else bad("--format", a);
			break;
		case O_RT: o->request_time = 1; break;
		case O_UP: o->request_time = o->upstream = 1; break;
		case O_IPS:
			o->ips = (uint32_t)parse_double("--ips", a, 1, MAX_IPS);
			break;
		case O_URLS:
			o->urls = (uint32_t)parse_double("--urls", a, 1, MAX_URLS);
			break;
		case O_VHOSTS:
			o->vhosts = (uint32_t)parse_double("--vhosts", a, 1, MAX_IPS);
			break;
		case O_ZIPF: o->zipf = parse_double("--zipf", a, 0, 10); break;
		case O_MAL: o->malformed = parse_double("--malformed", a, 0, 1); break;
		case O_START:
			o->start = (int64_t)parse_u64("--start", a, 0);
			if (o->start > 253402300799)	/* 9999-12-31 */
				bad("--start", a);
			break;
		case O_RATE: o->rate = parse_double("--rate", a, 1e-6, 1e9); break;
		case O_IPV6: o->ipv6 = parse_double("--ipv6", a, 0, 1); break;
		case O_TZ: {
			size_t n = strlen(a);
			if (n != 5 || (a[0] != '+' && a[0] != '-') ||
			    strspn(a + 1, "0123456789") != 4)
				bad("--tz", a);
			int hh = (a[1] - '0') * 10 + (a[2] - '0');
			int mm = (a[3] - '0') * 10 + (a[4] - '0');
			if (hh > 14 || mm > 59)
				bad("--tz", a);
			o->tz_minutes = (a[0] == '-' ? -1 : 1) * (hh * 60 + mm);
			break;
		}
		case O_STREAM:
			if (!strcmp(a, "log")) o->stream = ST_LOG;
			else if (!strcmp(a, "random-lines")) o->stream = ST_RANDOM;
			else if (!strcmp(a, "low-entropy")) o->stream = ST_LOWENT;
			else if (!strcmp(a, "bursty")) o->stream = ST_BURSTY;
			else bad("--stream", a);
			break;
		case O_LINELEN:
			o->line_len = (uint32_t)parse_u64("--line-len", a, 1);
			if (o->line_len < 1 || o->line_len > (256u << 20))
				bad("--line-len", a);
			break;
		case O_PAUSE:
			o->pause_ms = (unsigned)parse_u64("--pause-ms", a, 0);
			if (o->pause_ms > 10000)
				bad("--pause-ms", a);
			break;
		case 'o': o->out = a; break;
		case 'h': usage(stdout); exit(0);
		case ':':
			fprintf(stderr, "sluice-gen: option %s needs a value\n", argv[optind - 1]);
			usage(stderr);
			exit(2);
		default:
			fprintf(stderr, "sluice-gen: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluice-gen: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (o->vhosts && o->format == FMT_COMMON) {
		fprintf(stderr, "sluice-gen: --vhosts needs --format vcombined, json or csv\n");
		exit(2);
	}
	if (!have_limit)
		o->lines = 1000;
	else if (!o->lines && !o->size)
		exit(0);	/* --lines 0 or --size 0: nothing to write */
}

static void setup(struct gen *g)
{
	const struct opts *o = &g->o;
	uint64_t k = o->seed ^ 0x5155494345ull;	/* independent key stream */
	rng_seed(&g->r, o->seed);
	rng_seed(&g->burst, o->seed ^ 0xB0B57ull);
	rng_seed(&g->vh, o->seed ^ 0x7605757ull);
	g->key_ip = splitmix64(&k);
	g->key_ip6 = splitmix64(&k);
	g->key_url = splitmix64(&k);
	g->key_ua = splitmix64(&k);
	g->ipv6_cut = o->ipv6 >= 1 ? UINT64_MAX : (uint64_t)(o->ipv6 * 18446744073709551616.0);
	g->malformed_cut = o->malformed >= 1 ? UINT32_MAX :
			   (uint32_t)(o->malformed * 4294967296.0);
	if (o->malformed > 0 && !g->malformed_cut)
		g->malformed_cut = 1;

	unsigned sum = 0;
	for (int h = 0; h < 24; h++)
		sum += hour_profile[h];
	double base = 1e9 / o->rate;	/* mean gap in ns at profile 100% */
	for (int h = 0; h < 24; h++) {
		double gap = 2 * base * sum / (24.0 * hour_profile[h]);
		g->gap_ns[h] = gap > 1e15 ? (uint64_t)1e15 : (uint64_t)gap;
		if (!g->gap_ns[h])
			g->gap_ns[h] = 1;
	}
	int tz = o->tz_minutes < 0 ? -o->tz_minutes : o->tz_minutes;
	g->tz[0] = o->tz_minutes < 0 ? '-' : '+';
	put_2(put_2(g->tz + 1, (unsigned)tz / 60), (unsigned)tz % 60);
	g->date_sec = INT64_MIN;

	for (unsigned v = 1; v < 224; v++)
		if (v != 10 && v != 127 && v != 100 && v != 169 && v != 172 && v != 192)
			g->first_octet[g->n_first_octet++] = (uint8_t)v;

	double uaw[N_UA];
	for (unsigned i = 0; i < N_UA; i++)
		uaw[i] = 1.0 / (i + 1);
	if (alias_zipf(&g->ips, o->ips, o->zipf) ||
	    alias_zipf(&g->urls, o->urls, o->zipf) ||
	    alias_build(&g->ua, uaw, N_UA) ||
	    (o->vhosts && alias_zipf(&g->hosts, o->vhosts, o->zipf))) {
		fprintf(stderr, "sluice-gen: out of memory\n");
		exit(1);
	}
	g->chunk = 512 + below(&g->burst, 16384 - 512 + 1);
	g->burst_left = 1 + below(&g->burst, 32);
}

int main(int argc, char **argv)
{
	static struct gen g;
	parse_args(&g.o, argc, argv);
	if (g.o.out) {
		ofd = open(g.o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (ofd < 0) {
			fprintf(stderr, "sluice-gen: %s: %s\n", g.o.out, strerror(errno));
			return 1;
		}
		oname = g.o.out;
	}
	obuf = malloc(OBUF_CAP);
	if (!obuf) {
		fprintf(stderr, "sluice-gen: out of memory\n");
		return 1;
	}
	setup(&g);
	if (g.o.format == FMT_CSV && g.o.stream != ST_RANDOM)
		csv_header(&g);
	switch (g.o.stream) {
	case ST_RANDOM: run_random_lines(&g); break;
	case ST_LOWENT: run_low_entropy(&g); break;
	case ST_LOG:
	case ST_BURSTY: run_log(&g); break;
	}
	if (g.o.out && close(ofd)) {
		fprintf(stderr, "sluice-gen: close %s: %s\n", g.o.out, strerror(errno));
		return 1;
	}
	free(obuf);
	free(g.ips.cut), free(g.ips.other);
	free(g.urls.cut), free(g.urls.other);
	free(g.ua.cut), free(g.ua.other);
	free(g.hosts.cut), free(g.hosts.other);
	return 0;
}
