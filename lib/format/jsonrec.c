/*
 * jsonrec.c: JSON lines access logs (sl_jsonrec_*): one JSON object per
 * line, turned into the access-log record (sl_record) that the report
 * counts, through a mapping from dotted key paths to the schema's fields.
 *
 * Presets (the key names each product writes):
 *
 *   json     nginx variables as keys (log_format ... escape=json):
 *            remote_addr, remote_user, time_iso8601 | time_local | msec,
 *            request, request_method, request_uri, server_protocol, status,
 *            body_bytes_sent | bytes_sent, http_referer, http_user_agent,
 *            request_time (seconds), host | server_name | http_host
 *   caddy    Caddy v2's access log (logger "http.log.access"): ts (Unix
 *            seconds), request.client_ip | request.remote_ip, request.method,
 *            request.uri, request.proto, request.host,
 *            request.headers.User-Agent.0, request.headers.Referer.0,
 *            user_id, status, size, duration (seconds)
 *   traefik  Traefik's JSON access log: StartUTC | StartLocal | time,
 *            ClientHost, ClientUsername, RequestMethod, RequestPath (with
 *            the query), RequestProtocol, RequestHost, DownstreamStatus,
 *            DownstreamContentSize, Duration (nanoseconds),
 *            request_User-Agent, request_Referer
 *
 * sl_jsonrec_map adds a path for a field, in front of the preset's paths.
 * A path is a dotted list of keys, a decimal segment also naming an array
 * element ("request.headers.User-Agent.0"). A field with several paths
 * takes the first one (in priority order) whose value is present.
 *
 * The scanner: one pass over the line, iterative, with an explicit stack
 * of at most SL_JSONREC_DEPTH containers (a bit per level says object or
 * array), so no input can make it recurse. The grammar is RFC 8259's, as
 * Python's json.loads applies it to the line decoded as strict UTF-8:
 *
 *   - NaN, Infinity and -Infinity are values (Python accepts them);
 *   - whitespace is ' ', '\t', '\n', '\r' only; a UTF-8 byte order mark
 *     is skipped at the start of the line (json.loads does so for bytes);
 *   - strings: no raw byte below 0x20; escapes \" \\ \/ \b \f \n \r \t and
 *     \uXXXX (4 hex digits); raw bytes must be strict UTF-8 (no overlong
 *     forms, no encoded surrogates, nothing above U+10FFFF), checked with
 *     the ranges of RFC 3629's table. A \u escape for a lone surrogate is
 *     valid JSON (Python keeps it); decoded, it becomes U+FFFD;
 *   - numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, any size
 *     (1e400 is valid; Python's 4300-digit limit on integers is a guard of
 *     its int type, not JSON, and is not copied);
 *   - duplicate keys: the last one wins, as in a Python dict. When a key
 *     that leads to a mapped path occurs again, everything recorded below
 *     it from the earlier occurrence is forgotten (each trie node keeps
 *     the mask of the value slots beneath it);
 *   - deliberate difference: nesting deeper than SL_JSONREC_DEPTH
 *     containers is rejected (Python goes on to about 1000).
 *
 * Key matching: the mapped paths form a trie (a node per key segment, at
 * most JSONREC_NODES); the scanner keeps, per level, the node the current
 * key leads to, and finds a key's node in an open-addressing index of
 * (parent node, key) -> node (one hash of the key's first and last 8
 * bytes, its length and the parent; load at most 160/512), so a key
 * costs one probe or two whether or not it is mapped, and keys below an
 * unmapped key are only validated.
 * A key with escapes is decoded (into a small stack buffer) before it is
 * compared. A mapped path that ends on a scalar (string, number, true,
 * false) records the value's span; null, an object or an array leave the
 * field absent.
 *
 * Strings are skipped sixteen bytes at a time with SSE2 (every x86-64:
 * three compares and a movemask find the first quote, backslash, control
 * byte or byte >= 0x80), else eight at a time (SWAR: a word with none of
 * those is plain), with a byte loop for the rest and for UTF-8. The SWAR
 * and byte loops alone are the scalar fallback: on x86-64 they scan what
 * lies in the last 15 bytes of a line (so the tests' short lines and
 * truncated prefixes run them), elsewhere everything.
 *
 * The record: fields point into the line (zero-copy) unless the value
 * holds escapes; those are decoded into the scratch buffer owned by the
 * sl_jsonrec (from its budget, grown to what the line needs: the raw
 * length of each escaped value chosen, once per field that chose it, plus
 * a composed request and a date; valid until the next parse). Numeric
 * fields take a JSON number or a string holding one (nginx's escape=json
 * writes strings). Derived fields follow lib/format/access.c: the request is split into
 * method, URL and protocol (same rules as the access-log parser) where
 * those are not mapped; without a request, one is composed from method,
 * URL and protocol; path and query come from the URL; the date is the
 * first 10 bytes of an ISO 8601 time, the first 11 of a common-log time, or
 * "YYYY-MM-DD" (UTC) of an epoch time.
 *
 * Numbers become doubles without strtod (locale): up to 19 significant
 * digits and a power of ten, correctly rounded on Clinger's fast path
 * (mantissa below 2^53, power at most 22), within a few units in the last
 * place beyond it.
 *
 * Cost: on nginx JSON lines of about 330 bytes (11 keys, all mapped,
 * numbers as strings) the parse alone runs at 0.5 to 1.1 GB/s on one core
 * of the development machine (x86-64, SSE2 path; the range is other jobs'
 * load), about twice the first version (a linear scan of the siblings for
 * each key, an 8-byte string skip) measured under the same load.
 *
 * Memory: the sl_jsonrec itself and its scratch buffer, both from the
 * budget; nothing per record. No locale-dependent call is made.
 */
#include "sluice.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define JSONREC_NODES 160	/* trie nodes, the root included */
#define JSONREC_SLOTS 64	/* mapped paths (value slots) */
#define JSONREC_NAMES 4096	/* bytes of key names in the trie */
#define JSONREC_CANDS 8		/* paths per field */
#define SEGMENT_MAX 128		/* bytes of one key segment */
#define NONE 0xffff
#define HASH_SLOTS 512		/* child index, load at most 160/512 */

typedef struct {
	uint16_t name;		/* offset in names[] */
	uint16_t name_len;
	uint16_t parent;
	uint16_t child;		/* first child, or NONE */
	uint16_t sibling;	/* next child of the parent, or NONE */
	int16_t slot;		/* value slot of a mapped path, or -1 */
	uint64_t mask;		/* slots at and below this node */
} node;

enum { V_STR, V_ESC, V_NUM, V_LIT }; /* string, string with escapes, ... */
enum { U_SECONDS, U_MILLIS, U_NANOS };

typedef struct {
	const char *p;		/* the value's text (a string's inside) */
	uint32_t len;
	uint8_t kind;
} value;

typedef struct {
	uint8_t slot;
	uint8_t unit;
} cand;

struct sl_jsonrec {
	sl_budget *budget;
	char *scratch;
	size_t scratch_cap;
	uint16_t nodes, names_used;
	uint8_t slots;
	node node[JSONREC_NODES];
	uint16_t hash[HASH_SLOTS];	/* (parent, key) -> node, open addressing */
	char names[JSONREC_NAMES];
	cand cand[SL_F_COUNT][JSONREC_CANDS];
	uint8_t ncand[SL_F_COUNT];
	/* the line being parsed */
	uint64_t have;		/* slots holding a value */
	value val[JSONREC_SLOTS];
};

/* ------------------------------------------------------------------------ */
/* Presets                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
	sl_field field;
	const char *path;
	uint8_t unit;
} preset_map;

/* Each field's paths in priority order (the first present wins). */
static const preset_map nginx_map[] = {
	{SL_F_CLIENT, "remote_addr", 0},
	{SL_F_USER, "remote_user", 0},
	{SL_F_TIME, "time_iso8601", 0},
	{SL_F_TIME, "time_local", 0},
	{SL_F_TIME, "msec", 0},
	{SL_F_REQUEST, "request", 0},
	{SL_F_METHOD, "request_method", 0},
	{SL_F_URL, "request_uri", 0},
	{SL_F_PROTOCOL, "server_protocol", 0},
	{SL_F_STATUS, "status", 0},
	{SL_F_BYTES, "body_bytes_sent", 0},
	{SL_F_BYTES, "bytes_sent", 0},
	{SL_F_REFERRER, "http_referer", 0},
	{SL_F_USER_AGENT, "http_user_agent", 0},
	{SL_F_REQUEST_TIME, "request_time", U_SECONDS},
	{SL_F_VHOST, "host", 0},
	{SL_F_VHOST, "server_name", 0},
	{SL_F_VHOST, "http_host", 0},
	{SL_F_COUNT, NULL, 0},
};

static const preset_map caddy_map[] = {
	{SL_F_CLIENT, "request.client_ip", 0},
	{SL_F_CLIENT, "request.remote_ip", 0},
	{SL_F_USER, "user_id", 0},
	{SL_F_TIME, "ts", 0},
	{SL_F_METHOD, "request.method", 0},
	{SL_F_URL, "request.uri", 0},
	{SL_F_PROTOCOL, "request.proto", 0},
	{SL_F_STATUS, "status", 0},
	{SL_F_BYTES, "size", 0},
	{SL_F_REFERRER, "request.headers.Referer.0", 0},
	{SL_F_USER_AGENT, "request.headers.User-Agent.0", 0},
	{SL_F_REQUEST_TIME, "duration", U_SECONDS},
	{SL_F_VHOST, "request.host", 0},
	{SL_F_COUNT, NULL, 0},
};

static const preset_map traefik_map[] = {
	{SL_F_CLIENT, "ClientHost", 0},
	{SL_F_USER, "ClientUsername", 0},
	{SL_F_TIME, "StartUTC", 0},
	{SL_F_TIME, "StartLocal", 0},
	{SL_F_TIME, "time", 0},
	{SL_F_METHOD, "RequestMethod", 0},
	{SL_F_URL, "RequestPath", 0},
	{SL_F_PROTOCOL, "RequestProtocol", 0},
	{SL_F_STATUS, "DownstreamStatus", 0},
	{SL_F_BYTES, "DownstreamContentSize", 0},
	{SL_F_REFERRER, "request_Referer", 0},
	{SL_F_USER_AGENT, "request_User-Agent", 0},
	{SL_F_REQUEST_TIME, "Duration", U_NANOS},
	{SL_F_VHOST, "RequestHost", 0},
	{SL_F_COUNT, NULL, 0},
};

static const struct {
	const char *name;
	const preset_map *map;
} presets[] = {
	{"json", nginx_map},
	{"caddy", caddy_map},
	{"traefik", traefik_map},
	{"none", NULL},
};
#define PRESETS (sizeof presets / sizeof presets[0])

/* ------------------------------------------------------------------------ */
/* The trie of mapped paths                                                  */
/* ------------------------------------------------------------------------ */

static void init_map(sl_jsonrec *j)
{
	j->nodes = 1;
	j->names_used = 0;
	j->slots = 0;
	j->node[0] = (node){0, 0, NONE, NONE, NONE, -1, 0};
	memset(j->ncand, 0, sizeof j->ncand);
	memset(j->hash, 0xff, sizeof j->hash);
	j->have = 0;
}

/* The hash of key k[0 .. n-1] under node parent: the first and last 8
 * bytes (or the bytes, when fewer), the length and the parent, mixed by
 * two multiplies. */
static inline unsigned key_hash(unsigned parent, const char *k, size_t n)
{
	uint64_t a = 0, b = 0;
	if (n >= 8) {
		memcpy(&a, k, 8);
		memcpy(&b, k + n - 8, 8);
	} else {
		for (size_t i = 0; i < n; i++)
			a = a << 8 | (unsigned char)k[i];
	}
	uint64_t h = (a * 0x9e3779b97f4a7c15ULL) ^ b ^ ((uint64_t)n << 16 | parent);
	h *= 0xff51afd7ed558ccdULL;
	return (unsigned)(h >> 55) & (HASH_SLOTS - 1);
}

static unsigned find_child(const sl_jsonrec *j, unsigned parent, const char *k, size_t n)
{
	for (unsigned h = key_hash(parent, k, n);; h = (h + 1) & (HASH_SLOTS - 1)) {
		unsigned c = j->hash[h];
		if (c == NONE)
			return NONE;
		const node *d = &j->node[c];
		if (d->parent == parent && d->name_len == n && memcmp(j->names + d->name, k, n) == 0)
			return c;
	}
}

/* Recomputes each node's slot mask and the child index. */
static void update_masks(sl_jsonrec *j)
{
	for (unsigned i = 0; i < j->nodes; i++)
		j->node[i].mask = 0;
	for (unsigned i = 0; i < j->nodes; i++)
		if (j->node[i].slot >= 0)
			for (unsigned n = i; n != NONE; n = j->node[n].parent)
				j->node[n].mask |= 1ULL << j->node[i].slot;
	memset(j->hash, 0xff, sizeof j->hash);
	for (unsigned i = 1; i < j->nodes; i++) {
		const node *d = &j->node[i];
		unsigned h = key_hash(d->parent, j->names + d->name, d->name_len);
		while (j->hash[h] != NONE)
			h = (h + 1) & (HASH_SLOTS - 1);
		j->hash[h] = (uint16_t)i;
	}
}

/* The slot of path (creating its nodes), or -1 when it does not fit. The
 * map is unchanged on failure. */
static int path_slot(sl_jsonrec *j, const char *path)
{
	size_t total = strlen(path);
	if (total == 0)
		return -1;
	/* check the segments and count what is new before changing anything */
	unsigned at = 0, new_nodes = 0;
	size_t new_names = 0;
	for (const char *s = path; ; ) {
		const char *dot = memchr(s, '.', total - (size_t)(s - path));
		size_t n = dot ? (size_t)(dot - s) : total - (size_t)(s - path);
		if (n == 0 || n > SEGMENT_MAX)
			return -1;
		unsigned c = at == NONE ? NONE : find_child(j, at, s, n);
		if (c == NONE) {
			new_nodes++;
			new_names += n;
		}
		at = c;
		if (!dot)
			break;
		s = dot + 1;
	}
	if (j->nodes + new_nodes > JSONREC_NODES || j->names_used + new_names > JSONREC_NAMES)
		return -1;
	if (at != NONE && j->node[at].slot >= 0)
		return j->node[at].slot;
	if (j->slots >= JSONREC_SLOTS)
		return -1;
	at = 0;
	for (const char *s = path; ; ) {
		const char *dot = memchr(s, '.', total - (size_t)(s - path));
		size_t n = dot ? (size_t)(dot - s) : total - (size_t)(s - path);
		unsigned c = find_child(j, at, s, n);
		if (c == NONE) {
			c = j->nodes++;
			memcpy(j->names + j->names_used, s, n);
			j->node[c] = (node){j->names_used, (uint16_t)n, (uint16_t)at, NONE,
					    j->node[at].child, -1, 0};
			j->node[at].child = (uint16_t)c;
			j->names_used = (uint16_t)(j->names_used + n);
			update_masks(j); /* index the new node */
		}
		at = c;
		if (!dot)
			break;
		s = dot + 1;
	}
	j->node[at].slot = (int16_t)j->slots++;
	update_masks(j);
	return j->node[at].slot;
}

static sl_status add_map(sl_jsonrec *j, sl_field f, const char *path, uint8_t unit, bool first)
{
	int slot = path_slot(j, path);
	if (slot < 0)
		return SL_EINVAL;
	cand *c = j->cand[f];
	unsigned n = j->ncand[f], at = n;
	for (unsigned i = 0; i < n; i++)
		if (c[i].slot == slot)
			at = i;
	if (at < n) { /* already there: take it out first */
		memmove(c + at, c + at + 1, (n - at - 1) * sizeof *c);
		n--;
	}
	if (first) {
		if (n == JSONREC_CANDS)
			n--; /* the lowest priority goes */
		memmove(c + 1, c, n * sizeof *c);
		c[0] = (cand){(uint8_t)slot, unit};
		n++;
	} else if (n < JSONREC_CANDS) {
		c[n++] = (cand){(uint8_t)slot, unit};
	}
	j->ncand[f] = (uint8_t)n;
	return SL_OK;
}

static bool load_preset(sl_jsonrec *j, const char *preset)
{
	for (size_t i = 0; i < PRESETS; i++) {
		if (strcmp(preset, presets[i].name) != 0)
			continue;
		init_map(j);
		for (const preset_map *m = presets[i].map; m && m->path; m++)
			if (add_map(j, m->field, m->path, m->unit, false) != SL_OK)
				return false; /* the tables fit; see the tests */
		return true;
	}
	return false;
}

sl_status sl_jsonrec_new(sl_jsonrec **out, sl_budget *b, const char *preset)
{
	*out = NULL;
	if (!preset)
		preset = "json";
	size_t known = 0;
	while (known < PRESETS && strcmp(preset, presets[known].name) != 0)
		known++;
	if (!b || known == PRESETS)
		return SL_EINVAL;
	sl_jsonrec *j = sl_malloc(b, sizeof *j);
	if (!j)
		return SL_ENOMEM;
	memset(j, 0, sizeof *j);
	j->budget = b;
	if (!load_preset(j, preset)) { /* the tables fit: never */
		sl_free(b, j, sizeof *j);
		return SL_EINVAL;
	}
	*out = j;
	return SL_OK;
}

void sl_jsonrec_free(sl_jsonrec *j)
{
	if (!j)
		return;
	if (j->scratch)
		sl_free(j->budget, j->scratch, j->scratch_cap);
	sl_free(j->budget, j, sizeof *j);
}

sl_status sl_jsonrec_map(sl_jsonrec *j, sl_field f, const char *path)
{
	if (!j || (unsigned)f >= SL_F_COUNT || f == SL_F_LINE || f == SL_F_LENGTH)
		return SL_EINVAL;
	if (!path) {
		j->ncand[f] = 0;
		return SL_OK;
	}
	uint8_t unit = U_SECONDS;
	return add_map(j, f, path, unit, true);
}

bool sl_jsonrec_has_field(const sl_jsonrec *j, sl_field f)
{
	if (!j || (unsigned)f >= SL_F_COUNT)
		return false;
	const uint8_t *n = j->ncand;
	switch (f) {
	case SL_F_LINE:
	case SL_F_LENGTH:
		return true;
	case SL_F_METHOD:
	case SL_F_PROTOCOL:
	case SL_F_URL:
		return n[f] || n[SL_F_REQUEST];
	case SL_F_PATH:
	case SL_F_QUERY:
		return n[f] || n[SL_F_URL] || n[SL_F_REQUEST];
	case SL_F_REQUEST:
		return n[f] || n[SL_F_URL] || n[SL_F_METHOD];
	case SL_F_DATE:
		return n[f] || n[SL_F_TIME];
	default:
		return n[f] > 0;
	}
}

/* ------------------------------------------------------------------------ */
/* The scanner                                                               */
/* ------------------------------------------------------------------------ */

#define ONES 0x0101010101010101ULL
#define HIGHS (ONES * 0x80)

/* Does the word hold a byte that is '"', '\\', below 0x20 or from 0x80? */
static inline bool word_special(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), s = w ^ (ONES * '\\');
	uint64_t zq = (q - ONES) & ~q, zs = (s - ONES) & ~s;
	uint64_t lo = (w - ONES * 0x20) & ~w;
	return ((zq | zs | lo) & HIGHS) != 0 || (w & HIGHS) != 0;
}

static inline bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline const char *skip_ws(const char *p, const char *e)
{
	while (p < e && is_ws(*p))
		p++;
	return p;
}

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex4(const char *p, unsigned *v)
{
	unsigned x = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return false;
		x = x << 4 | (unsigned)h;
	}
	*v = x;
	return true;
}

/* One strict UTF-8 sequence at p (p[0] >= 0x80): its length, or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0) {
		n = 2;
	} else if (c < 0xf0) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c < 0xf5) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/*
 * The string whose opening quote is at p[-1]: on success returns the
 * closing quote's address and sets *esc when it holds escapes; NULL with
 * *why on error.
 */
static const char *scan_string(const char *p, const char *e, bool *esc, const char **why)
{
	bool escaped = false;
	for (;;) {
#if defined(__SSE2__)
		/* 16 bytes a step: a quote, a backslash, or a byte below 0x20
		 * or from 0x80 (negative as a signed byte) stops the skip */
		while (e - p >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
							      _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
						 _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
			unsigned bits = (unsigned)_mm_movemask_epi8(m);
			if (bits) {
				p += __builtin_ctz(bits);
				break;
			}
			p += 16;
		}
#endif
		while (e - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if (word_special(w))
				break;
			p += 8;
		}
		if (p >= e) {
			*why = "invalid JSON: unterminated string";
			return NULL;
		}
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*esc = escaped;
			return p;
		}
		if (c == '\\') {
			if (e - p < 2) {
				*why = "invalid JSON: unterminated string";
				return NULL;
			}
			escaped = true;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				p += 2;
				break;
			case 'u': {
				unsigned v;
				if (e - p < 6 || !hex4(p + 2, &v)) {
					*why = "invalid JSON: bad \\u escape";
					return NULL;
				}
				p += 6;
				break;
			}
			default:
				*why = "invalid JSON: bad escape";
				return NULL;
			}
		} else if (c < 0x20) {
			*why = "invalid JSON: control character in a string";
			return NULL;
		} else if (c >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)e);
			if (!n) {
				*why = "invalid JSON: invalid UTF-8";
				return NULL;
			}
			p += n;
		} else {
			p++;
		}
	}
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the inside of a scanned (so well-formed) string p[0 .. n-1] into
 * o, which has room for n bytes (no escape decodes longer than itself:
 * \uXXXX is 6 bytes for at most 3, a pair 12 for 4). Returns the length. A
 * lone surrogate becomes U+FFFD.
 */
static size_t decode_string(const char *p, size_t n, char *o)
{
	const char *e = p + n;
	char *o0 = o;
	while (p < e) {
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		char c = p[1];
		p += 2;
		switch (c) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			hex4(p, &cp);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && e - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u' && hex4(p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			o += put_utf8(o, cp);
			break;
		}
		default: *o++ = c; break; /* " \ / */
		}
	}
	return (size_t)(o - o0);
}

/* A JSON number at p: the end of it, or NULL. Also NaN-free: the literal
 * forms are handled by the caller. */
static const char *scan_number(const char *p, const char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p >= e)
		return NULL;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	} else {
		return NULL;
	}
	if (p < e && *p == '.') {
		const char *d = ++p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return NULL;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		const char *d = p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return NULL;
	}
	return p;
}

static bool literal(const char *p, const char *e, const char *word, size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, word, n) == 0;
}

/* Sets the slot of node n (if any) to the scalar p[0 .. len-1]. */
static inline void record(sl_jsonrec *j, unsigned n, const char *p, size_t len, int kind)
{
	if (n == NONE || j->node[n].slot < 0)
		return;
	int s = j->node[n].slot;
	j->val[s] = (value){p, (uint32_t)len, (uint8_t)kind};
	j->have |= 1ULL << s;
}

/* The child of node n for key k[0 .. len-1] (raw, escaped when esc), and
 * forgets what an earlier occurrence recorded below it. */
static inline unsigned enter(sl_jsonrec *j, unsigned n, const char *k, size_t len, bool esc)
{
	if (n == NONE || j->node[n].child == NONE)
		return NONE;
	char buf[SEGMENT_MAX];
	if (esc) {
		/* decoded, a key is at most as long as raw; longer than any
		 * segment after decoding means no match */
		if (len > 6 * SEGMENT_MAX)
			return NONE;
		char tmp[6 * SEGMENT_MAX];
		len = decode_string(k, len, tmp);
		if (len > SEGMENT_MAX)
			return NONE;
		memcpy(buf, tmp, len);
		k = buf;
	}
	unsigned c = find_child(j, n, k, len);
	if (c != NONE)
		j->have &= ~j->node[c].mask;
	return c;
}

static unsigned enter_index(sl_jsonrec *j, unsigned n, uint32_t i)
{
	if (n == NONE || j->node[n].child == NONE)
		return NONE;
	char buf[12], *o = buf + sizeof buf;
	do {
		*--o = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	return enter(j, n, o, (size_t)(buf + sizeof buf - o), false);
}

/*
 * Scans the line: on success returns NULL and sets *object (the top value
 * is an object), with j->have and j->val[] filled from the mapped paths;
 * on invalid JSON returns the reason.
 */
static const char *scan(sl_jsonrec *j, const char *p, const char *e, bool *object)
{
	uint64_t is_array = 0;		/* bit d: level d is an array */
	uint16_t level_node[SL_JSONREC_DEPTH];
	uint32_t index[SL_JSONREC_DEPTH];
	int depth = 0;
	unsigned cur = 0;		/* the node the next value is at */
	const char *why = NULL;

	j->have = 0;
	if (e - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	p = skip_ws(p, e);
	*object = p < e && *p == '{';

value:
	if (p >= e)
		return "invalid JSON: value expected";
	switch (*p) {
	case '{':
	case '[':
		if (depth == SL_JSONREC_DEPTH)
			return "invalid JSON: nested deeper than 64";
		level_node[depth] = (uint16_t)cur;
		index[depth] = 0;
		if (*p == '[')
			is_array |= 1ULL << depth;
		else
			is_array &= ~(1ULL << depth);
		depth++;
		p = skip_ws(p + 1, e);
		if (p < e && *p == (is_array >> (depth - 1) & 1 ? ']' : '}')) {
			p++;
			depth--;
			goto after;
		}
		if (is_array >> (depth - 1) & 1) {
			cur = enter_index(j, cur, 0);
			goto value;
		}
		goto key;
	case '"': {
		bool esc;
		const char *q = scan_string(p + 1, e, &esc, &why);
		if (!q)
			return why;
		record(j, cur, p + 1, (size_t)(q - p - 1), esc ? V_ESC : V_STR);
		p = q + 1;
		goto after;
	}
	case 't':
		if (!literal(p, e, "true", 4))
			return "invalid JSON: bad literal";
		record(j, cur, p, 4, V_LIT);
		p += 4;
		goto after;
	case 'f':
		if (!literal(p, e, "false", 5))
			return "invalid JSON: bad literal";
		record(j, cur, p, 5, V_LIT);
		p += 5;
		goto after;
	case 'n':
		if (!literal(p, e, "null", 4))
			return "invalid JSON: bad literal";
		p += 4;
		goto after;
	case 'N':
		if (!literal(p, e, "NaN", 3))
			return "invalid JSON: bad literal";
		record(j, cur, p, 3, V_NUM);
		p += 3;
		goto after;
	case 'I':
		if (!literal(p, e, "Infinity", 8))
			return "invalid JSON: bad literal";
		record(j, cur, p, 8, V_NUM);
		p += 8;
		goto after;
	default: {
		const char *q;
		if (*p == '-' && literal(p, e, "-Infinity", 9))
			q = p + 9;
		else if (!(q = scan_number(p, e)))
			return "invalid JSON: bad number or unexpected character";
		record(j, cur, p, (size_t)(q - p), V_NUM);
		p = q;
		goto after;
	}
	}

key:
	if (p >= e || *p != '"')
		return "invalid JSON: key expected";
	{
		bool esc;
		const char *q = scan_string(p + 1, e, &esc, &why);
		if (!q)
			return why;
		cur = enter(j, level_node[depth - 1], p + 1, (size_t)(q - p - 1), esc);
		p = skip_ws(q + 1, e);
		if (p >= e || *p != ':')
			return "invalid JSON: ':' expected";
		p = skip_ws(p + 1, e);
		goto value;
	}

after:
	p = skip_ws(p, e);
	if (depth == 0) {
		if (p != e)
			return "invalid JSON: extra data after the value";
		return NULL;
	}
	if (p >= e)
		return "invalid JSON: unterminated object or array";
	if (is_array >> (depth - 1) & 1) {
		if (*p == ',') {
			p = skip_ws(p + 1, e);
			cur = enter_index(j, level_node[depth - 1], ++index[depth - 1]);
			goto value;
		}
		if (*p == ']') {
			p++;
			depth--;
			goto after;
		}
		return "invalid JSON: ',' or ']' expected";
	}
	if (*p == ',') {
		p = skip_ws(p + 1, e);
		goto key;
	}
	if (*p == '}') {
		p++;
		depth--;
		goto after;
	}
	return "invalid JSON: ',' or '}' expected";
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

static const double pow10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * The JSON number p[0 .. n-1] (the whole text) as a double: false if it is
 * not one. At most 19 significant digits are kept; with a mantissa below
 * 2^53 and a power of ten up to 22 the result is correctly rounded
 * (Clinger's fast path), otherwise within a few units in the last place.
 */
static bool number_value(const char *p, size_t n, double *v)
{
	const char *e = p + n;
	if (scan_number(p, e) != e)
		return false;
	bool neg = *p == '-';
	p += neg;
	uint64_t m = 0;
	int digits = 0, exp10 = 0;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		if (digits < 19) {
			m = m * 10 + (uint64_t)(*p - '0');
			digits += m != 0;
		} else {
			exp10++;
		}
	}
	if (p < e && *p == '.')
		for (p++; p < e && *p >= '0' && *p <= '9'; p++)
			if (digits < 19) {
				m = m * 10 + (uint64_t)(*p - '0');
				digits += m != 0;
				exp10--;
			}
	if (p < e) { /* exponent */
		p++;
		bool eneg = *p == '-';
		p += *p == '-' || *p == '+';
		int x = 0;
		for (; p < e; p++)
			if (x < 100000)
				x = x * 10 + (*p - '0');
		exp10 += eneg ? -x : x;
	}
	double d = (double)m;
	if (m == 0) {
		d = 0;
	} else if (m < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
		d = exp10 < 0 ? d / pow10[-exp10] : d * pow10[exp10];
	} else if (exp10 > 330) {
		d = HUGE_VAL;
	} else if (exp10 < -360) {
		d = 0;
	} else {
		while (exp10 > 22) {
			d *= 1e22;
			exp10 -= 22;
		}
		while (exp10 < -22) {
			d /= 1e22;
			exp10 += 22;
		}
		d = exp10 < 0 ? d / pow10[-exp10] : d * pow10[exp10];
	}
	*v = neg ? -d : d;
	return true;
}

/* A non-negative integer of digits only: false if not, or on overflow. */
static bool integer_value(const char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(p[i] - '0');
		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* The scratch buffer with room for n bytes (its contents kept). */
static bool reserve(sl_jsonrec *j, size_t n)
{
	if (n <= j->scratch_cap)
		return true;
	size_t cap = j->scratch_cap ? j->scratch_cap : 256;
	while (cap < n)
		cap *= 2;
	char *s = sl_realloc(j->budget, j->scratch, j->scratch_cap, cap);
	if (!s)
		return false;
	j->scratch = s;
	j->scratch_cap = cap;
	return true;
}

/* ------------------------------------------------------------------------ */
/* The record                                                                */
/* ------------------------------------------------------------------------ */

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_protocol(const char *p, const char *e)
{
	const char *s = p;
	while (s < e && *s >= 'A' && *s <= 'Z')
		s++;
	if (s == p || s == e || *s != '/' || ++s == e)
		return false;
	while (s < e && ((*s >= '0' && *s <= '9') || *s == '.'))
		s++;
	return s == e;
}

#define PROTOCOL_MAX 15

/* Splits the request r as lib/format/access.c does: "METHOD TARGET [PROTOCOL]"
 * with a token method and a version-like protocol, else URL = all of it.
 * Fields already set (mapped and present) are kept. */
static void split_request(sl_record *rec, sl_str r)
{
	const char *p = r.p, *e = r.p + r.len, *url = r.p, *url_end = e;
	sl_str method = {r.p, 0}, protocol = {e, 0};
	while (p < e && is_tchar((unsigned char)*p))
		p++;
	if (p > r.p && e - p >= 2 && *p == ' ') {
		method = (sl_str){r.p, (size_t)(p - r.p)};
		url = p + 1;
		const char *stop = e - url > PROTOCOL_MAX + 1 ? e - (PROTOCOL_MAX + 1) : url;
		const char *s = e;
		while (s > stop && s[-1] != ' ')
			s--;
		if (s > url + 1 && s[-1] == ' ' && is_protocol(s, e)) {
			protocol = (sl_str){s, (size_t)(e - s)};
			url_end = s - 1;
		}
	}
	if (!rec->field[SL_F_METHOD].len)
		rec->field[SL_F_METHOD] = method;
	if (!rec->field[SL_F_PROTOCOL].len)
		rec->field[SL_F_PROTOCOL] = protocol;
	if (!rec->field[SL_F_URL].len)
		rec->field[SL_F_URL] = (sl_str){url, (size_t)(url_end - url)};
}

/* "YYYY-MM-DD" of Unix time t (UTC) into o (10 bytes), from the days
 * count by Hinnant's civil_from_days. */
static void utc_date(int64_t t, char *o)
{
	int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	o[0] = (char)('0' + y / 1000 % 10);
	o[1] = (char)('0' + y / 100 % 10);
	o[2] = (char)('0' + y / 10 % 10);
	o[3] = (char)('0' + y % 10);
	o[4] = '-';
	o[5] = (char)('0' + m / 10);
	o[6] = (char)('0' + m % 10);
	o[7] = '-';
	o[8] = (char)('0' + d / 10);
	o[9] = (char)('0' + d % 10);
}

static sl_status malformed(sl_record *rec, const char *why)
{
	rec->why = why;
	return SL_EFORMAT;
}

static bool time_of(const sl_str *s, sl_time_cache *tc, int64_t *t)
{
	if (tc && s->len == tc->len && s->len <= sizeof tc->text &&
	    memcmp(s->p, tc->text, s->len) == 0) {
		*t = tc->time;
		return true;
	}
	if (!sl_time_parse(s->p, s->len, t, NULL))
		return false;
	if (tc && s->len <= sizeof tc->text) {
		memcpy(tc->text, s->p, s->len);
		tc->len = s->len;
		tc->time = *t;
	}
	return true;
}

sl_status sl_jsonrec_parse(sl_jsonrec *j, const char *line, size_t len, sl_record *rec,
			   sl_time_cache *tc)
{
	const char *e = line + len;
	for (int f = 0; f < SL_F_COUNT; f++)
		rec->field[f] = (sl_str){line, 0};
	rec->time = 0;
	rec->status = 0;
	rec->bytes = 0;
	rec->request_time = 0;
	rec->has_request_time = false;
	rec->why = NULL;

	if (len > UINT32_MAX) /* spans are 32-bit; SL_LINE_MAX is far below */
		return malformed(rec, "line longer than 4 GiB");
	const char *b = line;
	if (e - b >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0)
		b += 3;
	if (skip_ws(b, e) == e)
		return SL_ESKIP;
	bool object;
	const char *why = scan(j, line, e, &object);
	if (why)
		return malformed(rec, why);
	if (!object)
		return malformed(rec, "not a JSON object");

	/* the chosen value of each field, and the scratch bytes they need:
	 * each field decodes its own copy (several fields may share a key),
	 * a composed request at most its parts and two spaces, a date 10 */
	int chosen[SL_F_COUNT];
	uint8_t kind[SL_F_COUNT] = {0}, unit[SL_F_COUNT] = {0};
	size_t need = 0;
	for (int f = 0; f < SL_F_COUNT; f++) {
		chosen[f] = -1;
		for (unsigned i = 0; i < j->ncand[f] && chosen[f] < 0; i++) {
			cand c = j->cand[f][i];
			if (j->have >> c.slot & 1) {
				chosen[f] = c.slot;
				kind[f] = j->val[c.slot].kind;
				unit[f] = c.unit;
				need += kind[f] == V_ESC ? j->val[c.slot].len : 0;
			}
		}
	}
	if (chosen[SL_F_METHOD] >= 0 || chosen[SL_F_URL] >= 0) { /* (a request may be "") */
		need += 2;
		for (int f = SL_F_METHOD; f <= SL_F_PROTOCOL; f++)
			need += chosen[f] >= 0 ? j->val[chosen[f]].len : 0;
	}
	if (chosen[SL_F_TIME] >= 0)
		need += 10;
	if (need && !reserve(j, need)) {
		rec->why = "no memory for the JSON scratch buffer";
		return SL_ENOMEM;
	}
	size_t used = 0;
	for (int f = 0; f < SL_F_COUNT; f++) {
		if (chosen[f] < 0)
			continue;
		const value *v = &j->val[chosen[f]];
		if (v->kind == V_ESC) {
			size_t n = decode_string(v->p, v->len, j->scratch + used);
			rec->field[f] = (sl_str){j->scratch + used, n};
			used += n;
		} else {
			rec->field[f] = (sl_str){v->p, v->len};
		}
	}
	sl_str *fl = rec->field;

	/* the numbers */
	bool has_status = false;
	for (unsigned i = 0; i < j->ncand[SL_F_STATUS]; i++)
		has_status |= j->have >> j->cand[SL_F_STATUS][i].slot & 1;
	if (has_status) {
		uint64_t s;
		if (kind[SL_F_STATUS] == V_LIT || !integer_value(fl[SL_F_STATUS].p, fl[SL_F_STATUS].len, &s))
			return malformed(rec, "status is not an integer");
		if (s < 100 || s > 599)
			return malformed(rec, "status outside 100..599");
		rec->status = (uint32_t)s;
	}
	if (fl[SL_F_BYTES].len) {
		const sl_str *s = &fl[SL_F_BYTES];
		if (!(s->len == 1 && s->p[0] == '-') &&
		    (kind[SL_F_BYTES] == V_LIT || !integer_value(s->p, s->len, &rec->bytes)))
			return malformed(rec, "bytes is not a non-negative integer");
	}
	if (fl[SL_F_REQUEST_TIME].len && kind[SL_F_REQUEST_TIME] != V_LIT) {
		double d;
		const sl_str *s = &fl[SL_F_REQUEST_TIME];
		if (number_value(s->p, s->len, &d)) {
			if (unit[SL_F_REQUEST_TIME] == U_NANOS)
				d /= 1e9;
			else if (unit[SL_F_REQUEST_TIME] == U_MILLIS)
				d /= 1e3;
			if (isfinite(d) && d >= 0) {
				rec->request_time = d + 0.0; /* -0 -> 0 */
				rec->has_request_time = true;
			}
		}
	}
	if (fl[SL_F_TIME].len) {
		if (kind[SL_F_TIME] == V_LIT || !time_of(&fl[SL_F_TIME], tc, &rec->time))
			return malformed(rec, "time is not a time");
	}

	/* derived fields */
	if (fl[SL_F_REQUEST].len) {
		if (!fl[SL_F_METHOD].len || !fl[SL_F_URL].len || !fl[SL_F_PROTOCOL].len)
			split_request(rec, fl[SL_F_REQUEST]);
	} else if (fl[SL_F_URL].len || fl[SL_F_METHOD].len) {
		char *o = j->scratch + used, *o0 = o;
		const sl_field parts[3] = {SL_F_METHOD, SL_F_URL, SL_F_PROTOCOL};
		for (int i = 0; i < 3; i++) {
			const sl_str *s = &fl[parts[i]];
			if (!s->len)
				continue;
			if (o > o0)
				*o++ = ' ';
			memcpy(o, s->p, s->len);
			o += s->len;
		}
		fl[SL_F_REQUEST] = (sl_str){o0, (size_t)(o - o0)};
		used += (size_t)(o - o0);
	}
	const sl_str url = fl[SL_F_URL];
	const char *q = url.len ? memchr(url.p, '?', url.len) : NULL;
	if (!fl[SL_F_PATH].len)
		fl[SL_F_PATH] = (sl_str){url.p, q ? (size_t)(q - url.p) : url.len};
	if (!fl[SL_F_QUERY].len && q)
		fl[SL_F_QUERY] = (sl_str){q + 1, (size_t)(url.p + url.len - q - 1)};
	if (!fl[SL_F_DATE].len && fl[SL_F_TIME].len) {
		const sl_str *t = &fl[SL_F_TIME];
		if (t->len >= 19 && t->p[4] == '-') {
			fl[SL_F_DATE] = (sl_str){t->p, 10};
		} else if (t->len == 26 && t->p[2] == '/') {
			fl[SL_F_DATE] = (sl_str){t->p, 11};
		} else {
			utc_date(rec->time, j->scratch + used);
			fl[SL_F_DATE] = (sl_str){j->scratch + used, 10};
			used += 10;
		}
	}
	fl[SL_F_LINE] = (sl_str){line, len};
	fl[SL_F_LENGTH] = (sl_str){line, 0};
	return SL_OK;
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

#define DETECT_LINES 32

bool sl_jsonrec_looks_like(const char *buf, size_t len, const char **preset)
{
	/* one scanner at a time, on the stack (no budget: scanning alone
	 * allocates nothing) */
	static const char *const order[3] = {"traefik", "caddy", "json"};
	sl_jsonrec j;
	unsigned hits[3] = {0}, objects = 0, seen = 0;
	for (int i = 0; i < 3; i++) {
		memset(&j, 0, sizeof j);
		load_preset(&j, order[i]);
		const char *p = buf, *end = buf + len;
		seen = 0;
		while (p < end && seen < DETECT_LINES) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *s = p, *e = nl ? nl : end;
			p = nl ? nl + 1 : end;
			if (!nl && seen > 0)
				break; /* a last, partial line */
			if (skip_ws(s, e) == e)
				continue;
			seen++;
			bool object;
			if (scan(&j, s, e, &object) || !object)
				continue;
			objects += i == 0;
			/* the preset's status and request or URL keys present */
			bool status = false, request = false;
			for (unsigned c = 0; c < j.ncand[SL_F_STATUS]; c++)
				status |= j.have >> j.cand[SL_F_STATUS][c].slot & 1;
			for (int f = SL_F_REQUEST; f <= SL_F_URL; f++)
				for (unsigned c = 0; c < j.ncand[f]; c++)
					request |= j.have >> j.cand[f][c].slot & 1;
			hits[i] += status && request;
		}
	}
	if (objects == 0 || 2 * objects < seen)
		return false;
	int best = 2; /* plain JSON lines: the nginx names, or --field */
	for (int i = 2; i >= 0; i--)
		if (hits[i] > hits[best])
			best = i;
	if (preset)
		*preset = order[best];
	return true;
}
