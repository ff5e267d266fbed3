/*
 * logformat.c: log formats compiled from format strings, and the presets
 * for logs that are not the four classic access formats (sl_logformat_*).
 *
 * Format strings. Two syntaxes, told apart by their first variable:
 *
 *   nginx    log_format text: `$name` or `${name}` (name = [A-Za-z0-9_]+),
 *            everything else literal. `$remote_addr - $remote_user
 *            [$time_local] "$request" $status $body_bytes_sent ...`
 *   percent  Apache mod_log_config or GoAccess --log-format: `%` [`<`|`>`]
 *            [digits/`,`/`!` condition] [`{` arg `}`] letter; `%%` is a
 *            '%'; `\"`, `\t`, `\\` escapes as Apache's config writes them.
 *            Apache and GoAccess give some letters different meanings
 *            (%t: Apache's "[CLF time]", GoAccess's "HH:MM:SS"; %u: the
 *            user in Apache, the user agent in GoAccess). The dialect is
 *            GoAccess when the string uses a GoAccess-only specifier (%d %x
 *            %^ %~ %R %e %L %n), else Apache; a string that also uses an
 *            Apache-only one (%>s %<s %l %{..}i) is refused there.
 *
 * A string with both '$' variables and '%' specifiers is nginx (a '%' is a
 * literal there). The mapping of every variable and letter to a field kind
 * is in the tables below and in docs/formats.md; unknown nginx variables are
 * skipped fields, unknown % letters are an error.
 *
 * The program. A string compiles ONCE into a list of steps: literal (its
 * bytes must be at the line's position) or field (a kind and how it ends).
 * A field ends at the first byte of the literal after it, at the end of the
 * line when it is last, or, for a field between two '"' literals, at the
 * first '"' not escaped by a backslash (as lib/format/access.c's quoted fields).
 * Two fields with nothing between them cannot be told apart and are refused
 * at compile time. Per line: trailing spaces and '\r' are cut (as
 * lib/format/access.c does), the steps run left to right with memchr/memcmp (no
 * regex, no backtracking, one pass), and the line must end where the
 * program ends (the AWS presets accept more space-separated fields after
 * theirs: AWS appends fields to these logs over time). Unquoted fields must
 * not be empty (except skipped ones and a query).
 *
 * Field kinds and their values (rec is an sl_record):
 *   time      sl_time_parse (CLF, ISO 8601, epoch); [brackets] stripped;
 *             GoAccess %d and %t (date, clock) are joined and read as UTC
 *             (GoAccess too ignores the zone in that form)
 *   status    exactly three digits, 100..599, else the line is malformed
 *   bytes     digits (fits uint64) or '-' (0)
 *   request   split into method, url, path, protocol exactly as
 *             sl_access_parse splits "%r"
 *   vhost     a ":port" suffix is cut as in sl_access_parse (%v:%p folds
 *             into one such field)
 *   request time  seconds, ms, us or ns by the variable; '-' or a negative
 *             value (ELB's -1) is "no request time"; another non-number
 *             makes the line malformed. Seconds are read exactly as
 *             lib/format/access.c reads them (the same double for the same text).
 * Derived as in lib/format/access.c's derive(): line, length, query (the url after
 * '?', unless the format logs the query itself), date (the time's first 11
 * bytes for a CLF time, its first 10 for an ISO one), path (url up to '?')
 * and url (the path, when only the path is logged).
 *
 * Presets:
 *   traefik, elb, alb, s3   compiled programs (strings in the presets table)
 *   w3c, cloudfront         column lists from the `#Fields:` header (may
 *                           change mid-file; cloudfront starts from the
 *                           documented default list), space or tab
 *                           separated; other '#' lines are SL_ESKIP
 *   ltsv                    tab-separated label:value pairs, by label
 *   csv, tsv                RFC 4180 rows; the first row is the header that
 *                           names the columns (SL_ESKIP); "" inside quotes
 *                           unescaped into lf's scratch buffer
 *   syslog                  RFC 3164 / 5424 prefix cut, then the message is
 *                           parsed by sl_access_parse in the classic format
 *                           it has (the four never parse each other's lines,
 *                           so the order tried changes no answer); another
 *                           format inside (syslog:json, ...) is
 *                           lib/format/parser.c's, through
 *                           sl_logformat_syslog_message
 *
 * Cost (callgrind, 20,000 lines of sluice-gen --request-time): the
 * compiled nginx combined + $request_time string about 1,780 instructions
 * a line, sl_access_parse 750 on the same lines: the generic program
 * (a step loop, memchr per field, byte loops for numbers) is 2.4 times the
 * hand-tuned parser, which keeps the classic formats. The report reads
 * CSV rows through the line reader's index (sl_logformat_lines_parse: the
 * separators and quotes were found with the line ends, so the fields are
 * cut from bit masks); elsewhere, and for rows with "" escapes, they are
 * cut sixteen bytes a step (SSE2 compares inline: plain_end, byte_at), with
 * no libc call per field. A report over 100,000 rows of sluice-gen
 * --format csv costs 3,360 instructions a row, 1.22 times the same requests
 * as a combined log (2,750; callgrind, -j1 -m 1M); the masks take a few
 * more instructions than the byte scans but no load waits on the field
 * before it, and the parse alone (--only --top status) takes 6% less time.
 *
 * Memory: one block from the budget for the compiled format (steps, literal
 * bytes, column list, the spec text); a scratch buffer for unescaped CSV
 * fields, grown to the longest such line and kept. Nothing else; nothing
 * per line. The header-driven presets (w3c, cloudfront, csv, tsv) keep the
 * header in lf: lines of one input must come in order, through one lf
 * (sl_logformat_stateful), and sl_logformat_reset starts a new input.
 */
#include "sluice.h"
#include "format/decimal.h"
#include "format/scan.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Kinds and the program                                                     */
/* ------------------------------------------------------------------------ */

enum kind {
	K_LIT,
	K_SPACES,	/* GoAccess %~: any run of spaces */
	K_SKIP,
	K_CLIENT,
	K_CLIENT_PORT,	/* "addr:port" or "[v6]:port": the port is cut */
	K_IDENT,
	K_USER,
	K_TIME,
	K_DATE,		/* GoAccess %d */
	K_CLOCK,	/* GoAccess %t */
	K_REQUEST,
	K_METHOD,
	K_URL,
	K_PATH,
	K_QUERY,
	K_PROTOCOL,
	K_STATUS,
	K_BYTES,
	K_REFERRER,
	K_UA,
	K_RT_S,
	K_RT_MS,
	K_RT_US,
	K_RT_NS,
	K_VHOST,
	K_COUNT
};

/* The schema field each kind fills (SL_F_COUNT: none). */
static const sl_field kind_field[K_COUNT] = {
	[K_LIT] = SL_F_COUNT, [K_SPACES] = SL_F_COUNT, [K_SKIP] = SL_F_COUNT,
	[K_CLIENT] = SL_F_CLIENT, [K_CLIENT_PORT] = SL_F_CLIENT,
	[K_IDENT] = SL_F_IDENT, [K_USER] = SL_F_USER, [K_TIME] = SL_F_TIME,
	[K_DATE] = SL_F_TIME, [K_CLOCK] = SL_F_TIME, [K_REQUEST] = SL_F_REQUEST,
	[K_METHOD] = SL_F_METHOD, [K_URL] = SL_F_URL, [K_PATH] = SL_F_PATH,
	[K_QUERY] = SL_F_QUERY, [K_PROTOCOL] = SL_F_PROTOCOL,
	[K_STATUS] = SL_F_STATUS, [K_BYTES] = SL_F_BYTES,
	[K_REFERRER] = SL_F_REFERRER, [K_UA] = SL_F_USER_AGENT,
	[K_RT_S] = SL_F_REQUEST_TIME, [K_RT_MS] = SL_F_REQUEST_TIME,
	[K_RT_US] = SL_F_REQUEST_TIME, [K_RT_NS] = SL_F_REQUEST_TIME,
	[K_VHOST] = SL_F_VHOST,
};

#define MAX_STEPS 128
#define MAX_LIT 4096
#define MAX_SPEC 4096
#define MAX_COLS 96

typedef struct {
	uint8_t kind;
	uint8_t quoted;	  /* field between two '"' literals */
	uint8_t delim;	  /* first byte of the next literal (0: line end) */
	uint8_t has_delim;
	uint16_t off, len; /* literal bytes in lits[] */
	uint16_t pos;	  /* offset in the spec, for error messages */
} step;

enum type { T_PROGRAM, T_W3C, T_LTSV, T_CSV, T_SYSLOG };

struct sl_logformat {
	sl_budget *b;
	enum type type;
	bool open_end;	  /* more space-separated fields may follow */
	bool stateful;	  /* a header line programs the parser */
	bool have_header;
	bool query_q;	  /* Apache %q: the query is written with its '?' */
	char sep;	  /* column separator (w3c, csv, tsv, ltsv) */
	sl_format inner;  /* syslog: the classic format that parsed last */
	uint32_t fields;  /* schema bits: 1u << sl_field */
	size_t nsteps;
	step steps[MAX_STEPS];
	size_t nlit;
	char lits[MAX_LIT];
	size_t ncols, ncols_default;
	size_t width;	  /* CSV/TSV: the header's columns (past MAX_COLS: skipped) */
	uint8_t cols[MAX_COLS], cols_default[MAX_COLS];
	char *scratch;
	size_t scratch_cap;
	char spec[MAX_SPEC + 1];
};

/* ------------------------------------------------------------------------ */
/* Name tables                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
	const char *name;
	uint8_t kind;
} name_kind;

/* nginx variables (and sluice's own, for the presets). */
static const name_kind nginx_vars[] = {
	{"remote_addr", K_CLIENT}, {"binary_remote_addr", K_SKIP},
	{"realip_remote_addr", K_CLIENT}, {"http_x_forwarded_for", K_SKIP},
	{"remote_user", K_USER}, {"time_local", K_TIME},
	{"time_iso8601", K_TIME}, {"msec", K_TIME}, {"request", K_REQUEST},
	{"request_method", K_METHOD}, {"request_uri", K_URL}, {"uri", K_PATH},
	{"document_uri", K_PATH}, {"args", K_QUERY}, {"query_string", K_QUERY},
	{"server_protocol", K_PROTOCOL}, {"status", K_STATUS},
	{"body_bytes_sent", K_BYTES}, {"bytes_sent", K_BYTES},
	{"http_referer", K_REFERRER}, {"http_user_agent", K_UA},
	{"request_time", K_RT_S}, {"upstream_response_time", K_SKIP},
	{"host", K_VHOST}, {"http_host", K_VHOST}, {"server_name", K_VHOST},
	{"sluice_client_port", K_CLIENT_PORT}, {"sluice_ms", K_RT_MS},
	{"sluice_us", K_RT_US},
};

/* Column names of CSV/TSV headers and LTSV labels: the schema's own names,
 * nginx variable names, LTSV's (ltsv.org) and a few usual aliases. */
static const name_kind column_names[] = {
	{"client", K_CLIENT}, {"ip", K_CLIENT}, {"remote_addr", K_CLIENT},
	{"host", K_CLIENT}, {"client_ip", K_CLIENT}, {"ident", K_IDENT},
	{"user", K_USER}, {"remote_user", K_USER}, {"time", K_TIME},
	{"timestamp", K_TIME}, {"time_local", K_TIME},
	{"time_iso8601", K_TIME}, {"msec", K_TIME}, {"request", K_REQUEST},
	{"req", K_REQUEST}, {"method", K_METHOD}, {"request_method", K_METHOD},
	{"url", K_URL}, {"uri", K_URL}, {"request_uri", K_URL},
	{"path", K_PATH}, {"query", K_QUERY}, {"args", K_QUERY},
	{"protocol", K_PROTOCOL}, {"server_protocol", K_PROTOCOL},
	{"status", K_STATUS}, {"status_code", K_STATUS}, {"bytes", K_BYTES},
	{"size", K_BYTES}, {"body_bytes_sent", K_BYTES},
	{"bytes_sent", K_BYTES}, {"referrer", K_REFERRER},
	{"referer", K_REFERRER}, {"http_referer", K_REFERRER},
	{"user_agent", K_UA}, {"ua", K_UA}, {"http_user_agent", K_UA},
	{"request_time", K_RT_S}, {"reqtime", K_RT_S},
	{"reqtime_microsec", K_RT_US}, {"duration", K_RT_S},
	{"vhost", K_VHOST}, {"server_name", K_VHOST}, {"http_host", K_VHOST},
};

/* W3C extended log field identifiers (IIS, CloudFront). time-taken is in
 * milliseconds for IIS (w3c) and seconds for CloudFront: fixed below. */
static const name_kind w3c_names[] = {
	{"date", K_DATE}, {"time", K_CLOCK}, {"c-ip", K_CLIENT},
	{"cs-username", K_USER}, {"cs-method", K_METHOD},
	{"cs-uri-stem", K_PATH}, {"cs-uri-query", K_QUERY}, {"cs-uri", K_URL},
	{"sc-status", K_STATUS}, {"sc-bytes", K_BYTES},
	{"cs(user-agent)", K_UA}, {"cs(referer)", K_REFERRER},
	{"cs(referrer)", K_REFERRER}, {"time-taken", K_RT_MS},
	{"cs-host", K_VHOST}, {"x-host-header", K_VHOST},
	{"cs-version", K_PROTOCOL}, {"cs-protocol-version", K_PROTOCOL},
};

static bool ieq(const char *a, size_t n, const char *z)
{
	size_t i = 0;
	for (; i < n && z[i]; i++) {
		char x = a[i], y = z[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (x != y)
			return false;
	}
	return i == n && !z[i];
}

/* The kind of name[0 .. n-1] in table t (case-insensitive), or K_COUNT. */
static int lookup(const name_kind *t, size_t count, const char *name, size_t n)
{
	for (size_t i = 0; i < count; i++)
		if (ieq(name, n, t[i].name))
			return t[i].kind;
	return K_COUNT;
}

#define LOOKUP(t, s, n) lookup((t), sizeof(t) / sizeof((t)[0]), (s), (n))

/* ------------------------------------------------------------------------ */
/* Compiling                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
	sl_logformat *lf;
	size_t err_pos;
	const char *why;
} compiler;

static bool fail_at(compiler *c, size_t pos, const char *why)
{
	c->err_pos = pos;
	c->why = why;
	return false;
}

static bool add_lit(compiler *c, size_t pos, const char *s, size_t n)
{
	sl_logformat *lf = c->lf;
	if (n == 0)
		return true;
	if (lf->nlit + n > MAX_LIT)
		return fail_at(c, pos, "format string too long");
	step *last = lf->nsteps ? &lf->steps[lf->nsteps - 1] : NULL;
	if (last && last->kind == K_LIT && last->off + last->len == lf->nlit) {
		memcpy(lf->lits + lf->nlit, s, n);
		lf->nlit += n;
		last->len = (uint16_t)(last->len + n);
		return true;
	}
	if (lf->nsteps == MAX_STEPS)
		return fail_at(c, pos, "too many fields");
	memcpy(lf->lits + lf->nlit, s, n);
	lf->steps[lf->nsteps++] = (step){K_LIT, 0, 0, 0, (uint16_t)lf->nlit,
					 (uint16_t)n, (uint16_t)pos};
	lf->nlit += n;
	return true;
}

static bool add_field(compiler *c, size_t pos, int kind)
{
	sl_logformat *lf = c->lf;
	if (lf->nsteps == MAX_STEPS)
		return fail_at(c, pos, "too many fields");
	step *last = lf->nsteps ? &lf->steps[lf->nsteps - 1] : NULL;
	if (last && last->kind != K_LIT && !(kind == K_SPACES) &&
	    last->kind != K_SPACES)
		return fail_at(c, pos, "two fields with nothing between them");
	if (last && kind == K_SPACES && last->kind == K_SPACES)
		return true;
	lf->steps[lf->nsteps++] = (step){(uint8_t)kind, 0, 0, 0, 0, 0,
					 (uint16_t)pos};
	return true;
}

/* Fills in each field's end rule and the schema bits. */
static bool finish(compiler *c)
{
	sl_logformat *lf = c->lf;
	bool any = false;
	for (size_t i = 0; i < lf->nsteps; i++) {
		step *s = &lf->steps[i];
		if (s->kind == K_LIT || s->kind == K_SPACES)
			continue;
		const step *prev = i ? &lf->steps[i - 1] : NULL;
		const step *next = i + 1 < lf->nsteps ? &lf->steps[i + 1] : NULL;
		if (next && next->kind == K_LIT) {
			s->has_delim = 1;
			s->delim = (uint8_t)lf->lits[next->off];
			s->quoted = prev && prev->kind == K_LIT && s->delim == '"' &&
				    lf->lits[prev->off + prev->len - 1] == '"';
		} else if (next) { /* K_SPACES */
			s->has_delim = 1;
			s->delim = ' ';
		}
		/* a GoAccess clock makes a time only with a date */
		if (kind_field[s->kind] != SL_F_COUNT) {
			if (s->kind != K_CLOCK)
				lf->fields |= 1u << kind_field[s->kind];
			any = true;
		}
	}
	if (!any)
		return fail_at(c, 0, "no field in the format");
	return true;
}

static bool compile_nginx(compiler *c, const char *spec, size_t n)
{
	size_t i = 0, lit = 0;
	while (i < n) {
		if (spec[i] != '$') {
			i++;
			continue;
		}
		if (!add_lit(c, lit, spec + lit, i - lit))
			return false;
		size_t at = i++, s, e;
		bool brace = i < n && spec[i] == '{';
		i += brace;
		s = i;
		while (i < n && ((spec[i] >= 'a' && spec[i] <= 'z') ||
				 (spec[i] >= 'A' && spec[i] <= 'Z') ||
				 (spec[i] >= '0' && spec[i] <= '9') || spec[i] == '_'))
			i++;
		e = i;
		if (e == s)
			return fail_at(c, at, "'$' without a variable name");
		if (brace) {
			if (i >= n || spec[i] != '}')
				return fail_at(c, i, "'${' without its '}'");
			i++;
		}
		int k = LOOKUP(nginx_vars, spec + s, e - s);
		if (!add_field(c, at, k == K_COUNT ? K_SKIP : k))
			return false;
		lit = i;
	}
	return add_lit(c, lit, spec + lit, n - lit) && finish(c);
}

/* Letters only GoAccess gives a meaning (Apache has none or another). */
static bool goaccess_only(char l)
{
	return l && strchr("dx^~ReLn", l) != NULL;
}

/* The kind of Apache's %{arg}X or %X. */
static int apache_kind(compiler *c, char l, const char *arg, size_t an,
		       bool after_vhost_colon)
{
	switch (l) {
	case 'h': case 'a': return K_CLIENT;
	case 'l': return K_IDENT;
	case 'u': return K_USER;
	case 't': return K_TIME;
	case 'r': return K_REQUEST;
	case 's': return K_STATUS;
	case 'b': case 'B': case 'O': return K_BYTES;
	case 'D': return K_RT_US;
	case 'T':
		if (arg && ieq(arg, an, "ms"))
			return K_RT_MS;
		if (arg && ieq(arg, an, "us"))
			return K_RT_US;
		return K_RT_S;
	case 'v': case 'V': return K_VHOST;
	case 'p': return after_vhost_colon ? K_LIT : K_SKIP;
	case 'U': return K_PATH;
	case 'q': c->lf->query_q = true; return K_QUERY;
	case 'm': return K_METHOD;
	case 'H': return K_PROTOCOL;
	case 'i':
		if (!arg)
			return K_COUNT;
		if (ieq(arg, an, "referer") || ieq(arg, an, "referrer"))
			return K_REFERRER;
		if (ieq(arg, an, "user-agent"))
			return K_UA;
		if (ieq(arg, an, "host"))
			return K_VHOST;
		return K_SKIP;
	case 'A': case 'C': case 'e': case 'f': case 'I': case 'k':
	case 'L': case 'n': case 'o': case 'P': case 'R': case 'S':
	case 'X': case 'x': case '^':
		return K_SKIP;
	default: return K_COUNT;
	}
}

static int goaccess_kind(char l)
{
	switch (l) {
	case 'h': return K_CLIENT;
	case 'e': return K_USER;
	case 'd': return K_DATE;
	case 't': return K_CLOCK;
	case 'x': return K_TIME;
	case 'r': return K_REQUEST;
	case 'm': return K_METHOD;
	case 'U': return K_URL;
	case 'q': return K_QUERY;
	case 'H': return K_PROTOCOL;
	case 's': return K_STATUS;
	case 'b': return K_BYTES;
	case 'R': return K_REFERRER;
	case 'u': return K_UA;
	case 'v': return K_VHOST;
	case 'T': return K_RT_S;
	case 'D': return K_RT_US;
	case 'L': return K_RT_MS;
	case 'n': return K_RT_NS;
	case '^': case 'K': case 'k': case 'M': return K_SKIP;
	case '~': return K_SPACES;
	default: return K_COUNT;
	}
}

typedef struct {
	size_t at, end;	  /* the specifier is spec[at .. end) */
	char letter;	  /* 0 for "%%" */
	bool angle;	  /* '<' or '>' */
	const char *arg;
	size_t an;
} pct;

/* Reads the specifier at spec[i] == '%'. */
static bool read_pct(compiler *c, const char *spec, size_t n, size_t i, pct *p)
{
	*p = (pct){i, i + 1, 0, false, NULL, 0};
	size_t j = i + 1;
	if (j < n && spec[j] == '%') {
		p->end = j + 1;
		return true;
	}
	while (j < n && (spec[j] == '<' || spec[j] == '>' || spec[j] == '!' ||
			 spec[j] == ',' || (spec[j] >= '0' && spec[j] <= '9'))) {
		p->angle |= spec[j] == '<' || spec[j] == '>';
		j++;
	}
	if (j < n && spec[j] == '{') {
		size_t s = ++j;
		while (j < n && spec[j] != '}')
			j++;
		if (j == n)
			return fail_at(c, s - 1, "'%{' without its '}'");
		p->arg = spec + s;
		p->an = j - s;
		j++;
	}
	if (j >= n)
		return fail_at(c, i, "'%' at the end of the format");
	p->letter = spec[j];
	p->end = j + 1;
	return true;
}

static bool compile_percent(compiler *c, const char *spec, size_t n)
{
	/* the dialect */
	size_t i = 0, goa = SIZE_MAX, apa = SIZE_MAX;
	pct p;
	for (i = 0; i < n; i++) {
		if (spec[i] == '\\') {
			i++;
			continue;
		}
		if (spec[i] != '%')
			continue;
		if (!read_pct(c, spec, n, i, &p))
			return false;
		if (p.letter && goaccess_only(p.letter) && !p.arg && goa == SIZE_MAX)
			goa = i;
		if (p.letter && (p.angle || p.letter == 'l' || (p.arg && p.letter == 'i')) &&
		    apa == SIZE_MAX)
			apa = i;
		i = p.end - 1;
	}
	bool goaccess = goa != SIZE_MAX;
	if (goaccess && apa != SIZE_MAX)
		return fail_at(c, goa > apa ? goa : apa,
			       "mixes Apache and GoAccess specifiers");

	char buf[MAX_SPEC];
	size_t bl = 0, lit_at = 0;
	for (i = 0; i < n;) {
		char ch = spec[i];
		if (ch == '\\' && i + 1 < n) {
			char e = spec[i + 1];
			buf[bl++] = e == 't' ? '\t' : e == 'n' ? '\n' : e;
			i += 2;
			continue;
		}
		if (ch != '%') {
			if (bl == 0)
				lit_at = i;
			buf[bl++] = ch;
			i++;
			continue;
		}
		if (!read_pct(c, spec, n, i, &p))
			return false;
		if (!p.letter) {
			buf[bl++] = '%';
			i = p.end;
			continue;
		}
		/* %v:%p is one vhost field whose port is cut */
		bool vhost_colon = p.letter == 'p' && bl == 1 && buf[0] == ':' &&
				   c->lf->nsteps &&
				   c->lf->steps[c->lf->nsteps - 1].kind == K_VHOST;
		int k = goaccess ? goaccess_kind(p.letter)
				 : apache_kind(c, p.letter, p.arg, p.an, vhost_colon);
		if (k == K_COUNT)
			return fail_at(c, i, "unknown % specifier");
		if (k == K_LIT) { /* the folded port */
			bl = 0;
			i = p.end;
			continue;
		}
		/* %U%q: Apache's way to write the URL, as one field */
		if (k == K_QUERY && bl == 0 && c->lf->nsteps &&
		    c->lf->steps[c->lf->nsteps - 1].kind == K_PATH) {
			c->lf->steps[c->lf->nsteps - 1].kind = K_URL;
			i = p.end;
			continue;
		}
		bool clf_brackets = !goaccess && k == K_TIME && !p.arg;
		if (clf_brackets)
			buf[bl++] = '[';
		if (!add_lit(c, lit_at, buf, bl) || !add_field(c, i, k))
			return false;
		bl = 0;
		if (clf_brackets) {
			buf[bl++] = ']';
			lit_at = i;
		}
		i = p.end;
	}
	return add_lit(c, lit_at, buf, bl) && finish(c);
}

static sl_logformat *new_format(sl_budget *b)
{
	sl_logformat *lf = sl_calloc(b, 1, sizeof *lf);
	if (lf)
		lf->b = b;
	return lf;
}

/* Compiles spec into the zeroed *lf. */
static sl_status compile_into(sl_logformat *lf, const char *spec,
			      size_t *err_pos, const char **why)
{
	if (!spec) {
		*why = "no format string";
		return SL_EINVAL;
	}
	size_t n = strlen(spec);
	if (n == 0 || n > MAX_SPEC) {
		*err_pos = n > MAX_SPEC ? MAX_SPEC : 0;
		*why = n ? "format string too long" : "empty format string";
		return SL_EINVAL;
	}
	memcpy(lf->spec, spec, n + 1);
	compiler c = {lf, 0, NULL};
	bool ok = memchr(spec, '$', n) ? compile_nginx(&c, spec, n)
				       : compile_percent(&c, spec, n);
	if (!ok) {
		*err_pos = c.err_pos;
		*why = c.why;
		return SL_EINVAL;
	}
	lf->type = T_PROGRAM;
	return SL_OK;
}

sl_status sl_logformat_compile(sl_logformat **out, sl_budget *b,
			       const char *spec, size_t *err_pos,
			       const char **why)
{
	size_t pos_ignored;
	const char *why_ignored;
	if (!err_pos)
		err_pos = &pos_ignored;
	if (!why)
		why = &why_ignored;
	*out = NULL;
	*err_pos = 0;
	*why = NULL;
	sl_logformat *lf = new_format(b);
	if (!lf)
		return SL_ENOMEM;
	sl_status st = compile_into(lf, spec, err_pos, why);
	if (st != SL_OK) {
		sl_free(b, lf, sizeof *lf);
		return st;
	}
	*out = lf;
	return SL_OK;
}

/* ------------------------------------------------------------------------ */
/* Presets                                                                   */
/* ------------------------------------------------------------------------ */

static const struct {
	const char *name, *spec;
	bool open_end;
} programs[] = {
	/* Traefik's CLF access log (docs: "Access Logs", CLF format) */
	{"traefik", "$remote_addr - $remote_user [$time_local] \"$request\" "
		    "$status $body_bytes_sent \"$http_referer\" "
		    "\"$http_user_agent\" $x \"$x\" \"$x\" ${sluice_ms}ms", false},
	/* Classic Load Balancer: timestamp elb client:port backend:port
	 * request_processing_time backend_processing_time
	 * response_processing_time elb_status_code backend_status_code
	 * received_bytes sent_bytes "request" "user_agent" ... */
	{"elb", "$time_iso8601 $x $sluice_client_port $x $x $request_time $x "
		"$status $x $x $body_bytes_sent \"$request\" \"$http_user_agent\"",
	 true},
	/* Application Load Balancer: type time elb client:port target:port
	 * request_processing_time target_processing_time
	 * response_processing_time elb_status_code target_status_code
	 * received_bytes sent_bytes "request" "user_agent" ssl_cipher
	 * ssl_protocol target_group_arn "trace_id" "domain_name" ... */
	{"alb", "$x $time_iso8601 $x $sluice_client_port $x $x $request_time $x "
		"$status $x $x $body_bytes_sent \"$request\" \"$http_user_agent\" "
		"$x $x $x \"$x\" \"$host\"", true},
	/* S3 server access log: bucket_owner bucket [time] remote_ip
	 * requester request_id operation key "request_uri" http_status
	 * error_code bytes_sent object_size total_time turn_around_time
	 * "referrer" "user_agent" ... */
	{"s3", "$x $host [$time_local] $remote_addr $remote_user $x $x $x "
	       "\"$request\" $status $x $body_bytes_sent $x $sluice_ms $x "
	       "\"$http_referer\" \"$http_user_agent\"", true},
};

/* CloudFront's documented standard-log fields, the list used until a
 * #Fields: line says otherwise. */
static const char cloudfront_fields[] =
	"date time x-edge-location sc-bytes c-ip cs-method cs(Host) "
	"cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query "
	"cs(Cookie) x-edge-result-type x-edge-request-id x-host-header "
	"cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol "
	"ssl-cipher x-edge-response-result-type cs-protocol-version";

/* Programs lf->cols from a W3C field list (space separated). CloudFront's
 * cs(Host) is the distribution's own name: the vhost only when the
 * viewer's Host (x-host-header) is not logged. */
static void w3c_columns(sl_logformat *lf, const char *p, const char *end)
{
	bool cloudfront = lf->sep == '\t';
	size_t cs_host = MAX_COLS;
	bool xhost = false;
	lf->ncols = 0;
	lf->fields = 0;
	while (p < end && lf->ncols < MAX_COLS) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *s = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (p == s)
			break;
		size_t n = (size_t)(p - s);
		int k = LOOKUP(w3c_names, s, n);
		if (k == K_RT_MS && cloudfront)
			k = K_RT_S;
		xhost |= ieq(s, n, "x-host-header");
		if (ieq(s, n, "cs(host)")) {
			cs_host = lf->ncols;
			k = K_VHOST;
		}
		lf->cols[lf->ncols++] = (uint8_t)(k == K_COUNT ? K_SKIP : k);
	}
	if (xhost && cs_host < MAX_COLS)
		lf->cols[cs_host] = K_SKIP;
	for (size_t i = 0; i < lf->ncols; i++)
		if (kind_field[lf->cols[i]] != SL_F_COUNT)
			lf->fields |= 1u << kind_field[lf->cols[i]];
}

/* Sets up preset `name` in the zeroed *lf: SL_OK, or SL_EINVAL for an
 * unknown name. */
static sl_status preset_into(sl_logformat *lf, const char *name)
{
	for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
		if (strcmp(name, programs[i].name) != 0)
			continue;
		size_t pos;
		const char *why;
		sl_status st = compile_into(lf, programs[i].spec, &pos, &why);
		lf->open_end = programs[i].open_end;
		strcpy(lf->spec, name);
		return st;
	}
	enum type t;
	char sep = 0;
	if (strcmp(name, "w3c") == 0)
		t = T_W3C, sep = ' ';
	else if (strcmp(name, "cloudfront") == 0)
		t = T_W3C, sep = '\t';
	else if (strcmp(name, "ltsv") == 0)
		t = T_LTSV, sep = '\t';
	else if (strcmp(name, "csv") == 0)
		t = T_CSV, sep = ',';
	else if (strcmp(name, "tsv") == 0)
		t = T_CSV, sep = '\t';
	else if (strcmp(name, "syslog") == 0)
		t = T_SYSLOG;
	else
		return SL_EINVAL;
	lf->type = t;
	lf->sep = sep;
	lf->stateful = t == T_W3C || t == T_CSV;
	strcpy(lf->spec, name);
	if (strcmp(name, "cloudfront") == 0) {
		w3c_columns(lf, cloudfront_fields,
			    cloudfront_fields + sizeof cloudfront_fields - 1);
		memcpy(lf->cols_default, lf->cols, lf->ncols);
		lf->ncols_default = lf->ncols;
	}
	return SL_OK;
}

sl_status sl_logformat_preset(sl_logformat **out, sl_budget *b, const char *name)
{
	*out = NULL;
	if (!name)
		return SL_EINVAL;
	sl_logformat *lf = new_format(b);
	if (!lf)
		return SL_ENOMEM;
	sl_status st = preset_into(lf, name);
	if (st != SL_OK) {
		sl_free(b, lf, sizeof *lf);
		return st;
	}
	*out = lf;
	return SL_OK;
}

void sl_logformat_free(sl_logformat *lf)
{
	if (!lf)
		return;
	if (lf->scratch)
		sl_free(lf->b, lf->scratch, lf->scratch_cap);
	sl_free(lf->b, lf, sizeof *lf);
}

void sl_logformat_reset(sl_logformat *lf)
{
	lf->have_header = false;
	lf->ncols = lf->ncols_default;
	memcpy(lf->cols, lf->cols_default, lf->ncols_default);
	lf->inner = SL_FMT_AUTO;
}

bool sl_logformat_stateful(const sl_logformat *lf)
{
	return lf->stateful;
}

const char *sl_logformat_spec(const sl_logformat *lf)
{
	return lf->spec;
}

bool sl_logformat_has_field(const sl_logformat *lf, sl_field f)
{
	if ((unsigned)f >= SL_F_COUNT)
		return false;
	if (f == SL_F_LINE || f == SL_F_LENGTH)
		return true;
	uint32_t bits;
	switch (lf->type) {
	case T_PROGRAM:
		bits = lf->fields;
		break;
	case T_SYSLOG: /* as combined, or vcombined */
		return true;
	default: {
		/* the header formats: whatever a header may name (stable over
		 * the run, as a plan is checked before any line is read) */
		bits = 0;
		for (int k = K_CLIENT; k < K_COUNT; k++)
			bits |= 1u << kind_field[k];
		if (lf->type == T_W3C)
			bits &= ~(1u << SL_F_IDENT | 1u << SL_F_REQUEST);
	}
	}
	if (bits & (1u << SL_F_REQUEST))
		bits |= 1u << SL_F_METHOD | 1u << SL_F_URL | 1u << SL_F_PROTOCOL;
	if (bits & (1u << SL_F_URL | 1u << SL_F_PATH))
		bits |= 1u << SL_F_URL | 1u << SL_F_PATH | 1u << SL_F_QUERY;
	if (bits & (1u << SL_F_TIME))
		bits |= 1u << SL_F_DATE;
	return bits & (1u << f);
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 7230 tchar: ALPHA DIGIT !#$%&'*+-.^_`|~ (lib/format/access.c's class) */
static const uint8_t tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

static bool is_tchar(char c)
{
	return tchar[(uint8_t)c];
}

static void set(sl_record *rec, sl_field f, const char *p, const char *e)
{
	rec->field[f].p = p;
	rec->field[f].len = (size_t)(e - p);
}

/* 1*UPPER '/' 1*(DIGIT | '.') */
static bool is_protocol(const char *p, const char *e)
{
	const char *s = p;
	while (s < e && *s >= 'A' && *s <= 'Z')
		s++;
	if (s == p || s == e || *s != '/' || ++s == e)
		return false;
	while (s < e && (is_digit(*s) || *s == '.'))
		s++;
	return s == e;
}

/* The first c in [p, end), or NULL: inline and sixteen bytes a step, for
 * fields of a few dozen bytes, where memchr's call and set-up cost more
 * than the scan. The bytes from lo up to p are readable too: a last step
 * of fewer than 16 bytes reads the 16 that end at end when they do. */
static inline const char *byte_at(const char *lo, const char *p, const char *end, char c)
{
#if defined(__SSE2__)
	const __m128i vc = _mm_set1_epi8(c);
	while (end - p >= 32) {	/* two steps, one branch */
		__m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b0, vc)) |
			     (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b1, vc)) << 16;
		if (m)
			return p + __builtin_ctz(m);
		p += 32;
	}
	if (end - p >= 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, vc));
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
	if (p < end && end - lo >= 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(end - 16));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, vc)) >> (16 - (end - p));
		return m ? p + __builtin_ctz(m) : NULL;
	}
#else
	(void)lo;
#endif
	for (; p < end; p++)
		if (*p == c)
			return p;
	return NULL;
}

/* "%r" split as sl_access_parse splits it (see lib/format/access.c). */
static void split_request(sl_record *rec, const char *r, const char *e)
{
	const char *p = r, *url = r, *url_end = e;
	rec->field[SL_F_METHOD] = (sl_str){r, 0};
	rec->field[SL_F_PROTOCOL] = (sl_str){e, 0};
	while (p < e && is_tchar(*p))
		p++;
	if (p > r && e - p >= 2 && *p == ' ') {
		set(rec, SL_F_METHOD, r, p);
		url = p + 1;
		if (e - url > 9 && e[-9] == ' ' && memcmp(e - 8, "HTTP/", 5) == 0 &&
		    is_digit(e[-3]) && e[-2] == '.' && is_digit(e[-1])) {
			/* " HTTP/d.d", what the loop below finds, found at once */
			set(rec, SL_F_PROTOCOL, e - 8, e);
			url_end = e - 9;
		} else {
			const char *stop = e - url > 16 ? e - 16 : url, *s = e;
			while (s > stop && s[-1] != ' ')
				s--;
			if (s > url + 1 && s[-1] == ' ' && is_protocol(s, e)) {
				set(rec, SL_F_PROTOCOL, s, e);
				url_end = s - 1;
			}
		}
	}
	set(rec, SL_F_URL, url, url_end);
	const char *q = byte_at(r, url, url_end, '?');
	set(rec, SL_F_PATH, url, q ? q : url_end);
}


/* The whole of [p, e) as 1*DIGIT ['.' 1*DIGIT], valued as lib/format/access.c's
 * scan_decimal values it (correctly rounded up to 19 digits). */
static bool decimal(const char *p, const char *e, double *out)
{
	*out = 0;
	return p < e && sl_scan_decimal(p, e, out) == e;
}

static bool parse_bytes(const char *p, const char *e, uint64_t *out)
{
	uint64_t v = 0;
	if (e - p == 1 && *p == '-') {
		*out = 0;
		return true;
	}
	if (p == e)
		return false;
	if (e - p <= 19) {	/* below 10^19 < 2^64: no overflow to check */
		for (; p < e; p++) {
			unsigned d = (unsigned)(*p - '0');
			if (d > 9)
				return false;
			v = v * 10 + d;
		}
		*out = v;
		return true;
	}
	for (; p < e; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (d > 9 || v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* a[0 .. n) == b[0 .. n), n <= 32 (the cache's text): inline, two
 * 16-byte compares from 16 bytes on (a time is 19 to 26 bytes) */
static inline bool same_text(const char *a, const char *b, size_t n)
{
#if defined(__SSE2__)
	if (n >= 16 && n <= 32) {
		__m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)a),
					  _mm_loadu_si128((const __m128i *)(const void *)b));
		__m128i y = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(a + n - 16)),
					  _mm_loadu_si128((const __m128i *)(const void *)(b + n - 16)));
		__m128i z = _mm_or_si128(x, y);
		return _mm_movemask_epi8(_mm_cmpeq_epi8(z, _mm_setzero_si128())) == 0xffff;
	}
#endif
	return memcmp(a, b, n) == 0;
}

/* Unix seconds of the time text [p, p + n) through the cache. */
static bool cached_time(sl_time_cache *tc, const char *p, size_t n, int64_t *t)
{
	if (tc && tc->len == n && same_text(tc->text, p, n)) {
		*t = tc->time;
		return true;
	}
	if (!sl_time_parse(p, n, t, NULL))
		return false;
	if (tc && n <= sizeof tc->text) {
		memcpy(tc->text, p, n);
		tc->len = n;
		tc->time = *t;
	}
	return true;
}

/* What a field run leaves for after the loop. */
typedef struct {
	sl_str date, clock;
	bool has_time, has_query, has_url, has_path;
} pending;

#define FAIL(why_) do { rec->why = (why_); return SL_EFORMAT; } while (0)

/* Stores field [p, e) of kind k into rec. (Inlined into the loops: the
 * call cost a tenth of a line's instructions.) */
static inline __attribute__((always_inline)) sl_status store(sl_logformat *lf, int k, const char *p, const char *e,
		       sl_record *rec, sl_time_cache *tc, pending *pd)
{
	size_t n = (size_t)(e - p);
	double v;
	switch (k) {
	case K_SKIP:
	case K_SPACES:
		return SL_OK;
	case K_CLIENT_PORT: {
		const char *c = e;
		while (c > p && is_digit(c[-1]))
			c--;
		if (c < e && c - 1 > p && c[-1] == ':') {
			e = c - 1;
			if (*p == '[' && e[-1] == ']')
				p++, e--;
		}
		set(rec, SL_F_CLIENT, p, e);
		return SL_OK;
	}
	case K_VHOST: {
		/* as lib/format/access.c: a ":port" is cut unless the host would be
		 * a bare IPv6 address, whose last group it could be */
		const char *h = e, *cut = e;
		while (h > p && is_digit(h[-1]))
			h--;
		if (h < e && h - 1 > p && h[-1] == ':' &&
		    (h[-2] == ']' || !memchr(p, ':', (size_t)(h - 1 - p))))
			cut = h - 1;
		set(rec, SL_F_VHOST, p, cut);
		return SL_OK;
	}
	case K_TIME:
		if (n >= 2 && *p == '[' && e[-1] == ']')
			p++, e--, n -= 2;
		if (!cached_time(tc, p, n, &rec->time))
			FAIL("bad time field");
		set(rec, SL_F_TIME, p, e);
		pd->has_time = true;
		return SL_OK;
	case K_DATE:
		pd->date = (sl_str){p, n};
		return SL_OK;
	case K_CLOCK:
		pd->clock = (sl_str){p, n};
		return SL_OK;
	case K_REQUEST:
		set(rec, SL_F_REQUEST, p, e);
		split_request(rec, p, e);
		pd->has_url = pd->has_path = true;
		return SL_OK;
	case K_URL:
		set(rec, SL_F_URL, p, e);
		pd->has_url = true;
		return SL_OK;
	case K_PATH:
		set(rec, SL_F_PATH, p, e);
		pd->has_path = true;
		return SL_OK;
	case K_QUERY:
		if (lf->query_q && n && *p == '?')
			p++;
		if (n == 1 && *p == '-') /* W3C's empty */
			p = e;
		set(rec, SL_F_QUERY, p, e);
		pd->has_query = true;
		return SL_OK;
	case K_STATUS:
		if (n != 3 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) ||
		    p[0] < '1' || p[0] > '5')
			FAIL("bad status");
		rec->status = (uint32_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
		set(rec, SL_F_STATUS, p, e);
		return SL_OK;
	case K_BYTES:
		if (!parse_bytes(p, e, &rec->bytes))
			FAIL("bad bytes field");
		set(rec, SL_F_BYTES, p, e);
		return SL_OK;
	case K_RT_S:
	case K_RT_MS:
	case K_RT_US:
	case K_RT_NS:
		if (n && *p == '-')
			return SL_OK; /* '-', or ELB's -1: none */
		if (!decimal(p, e, &v))
			FAIL("bad request time");
		rec->request_time = k == K_RT_S ? v : k == K_RT_MS ? v / 1e3 :
				    k == K_RT_US ? v / 1e6 : v / 1e9;
		rec->has_request_time = true;
		set(rec, SL_F_REQUEST_TIME, p, e);
		return SL_OK;
	default:
		set(rec, kind_field[k], p, e);
		return SL_OK;
	}
}

static void clear(sl_record *rec, const char *line)
{
#if defined(__SSE2__) && defined(__x86_64__)
	/* one 16-byte store a field, {line, 0}: a fifth of the loop's cost */
	const __m128i v = _mm_set_epi64x(0, (long long)(uintptr_t)line);
	_Static_assert(sizeof(sl_str) == 16, "sl_str is a pointer and a size");
#pragma GCC unroll 32
	for (int f = 0; f < SL_F_COUNT; f++)
		_mm_storeu_si128((__m128i *)(void *)&rec->field[f], v);
#else
	for (int f = 0; f < SL_F_COUNT; f++)
		rec->field[f] = (sl_str){line, 0};
#endif
	rec->time = 0;
	rec->status = 0;
	rec->bytes = 0;
	rec->request_time = 0;
	rec->has_request_time = false;
	rec->why = NULL;
}

/* The derived fields, and GoAccess's date and clock joined into a time. */
static sl_status derive(sl_record *rec, const char *line, size_t len,
			sl_time_cache *tc, pending *pd)
{
	sl_str *f = rec->field;
	if (!pd->has_time && pd->date.len) {
		const char *d = pd->date.p, *c = pd->clock.p;
		size_t dn = pd->date.len, cn = pd->clock.len;
		char buf[64];
		size_t bn;
		bool clf = dn == 11 && d[2] == '/';
		/* date, separator, clock (or 00:00:00), CLF's " +0000" */
		if (dn + 1 + (cn ? cn : 8) + 6 > sizeof buf)
			FAIL("bad time field");
		memcpy(buf, d, dn);
		bn = dn;
		buf[bn++] = clf ? ':' : 'T';
		if (cn) {
			memcpy(buf + bn, c, cn);
			bn += cn;
		} else {
			memcpy(buf + bn, "00:00:00", 8);
			bn += 8;
		}
		if (clf) {
			memcpy(buf + bn, " +0000", 6);
			bn += 6;
		}
		if (!cached_time(tc, buf, bn, &rec->time))
			FAIL("bad time field");
		/* the time field: the date through the clock when they are
		 * one stretch of the line, else the date */
		if (cn && c > d + dn && c <= d + dn + 1)
			set(rec, SL_F_TIME, d, c + cn);
		else
			set(rec, SL_F_TIME, d, d + dn);
	}
	if (!pd->has_url && pd->has_path)
		f[SL_F_URL] = f[SL_F_PATH];
	if (pd->has_url && !pd->has_path) {
		const char *q = memchr(f[SL_F_URL].p, '?', f[SL_F_URL].len);
		set(rec, SL_F_PATH, f[SL_F_URL].p, q ? q : f[SL_F_URL].p + f[SL_F_URL].len);
	}
	if (!pd->has_query) {
		size_t q = f[SL_F_PATH].len < f[SL_F_URL].len ? f[SL_F_PATH].len + 1
							       : f[SL_F_URL].len;
		f[SL_F_QUERY] = (sl_str){f[SL_F_URL].p + q, f[SL_F_URL].len - q};
	}
	const sl_str *t = &f[SL_F_TIME];
	size_t dl = t->len >= 11 && t->p[2] == '/' ? 11 :
		    t->len >= 10 && t->p[4] == '-' ? 10 : 0;
	f[SL_F_DATE] = (sl_str){t->p, dl};
	f[SL_F_LINE] = (sl_str){line, len};
	f[SL_F_LENGTH] = (sl_str){line, 0};
	return SL_OK;
}

/* ------------------------------------------------------------------------ */
/* Running a program                                                         */
/* ------------------------------------------------------------------------ */

/* The closing '"' of a quoted field starting at p: the first one preceded
 * by an even number of backslashes; NULL if none before end. */
static const char *closing_quote(const char *p, const char *end)
{
	const char *q = memchr(p, '"', (size_t)(end - p));
	while (q && q > p && q[-1] == '\\') {
		const char *b = q - 1;
		while (b > p && b[-1] == '\\')
			b--;
		if (((q - b) & 1) == 0)
			break;
		q = memchr(q + 1, '"', (size_t)(end - q - 1));
	}
	return q;
}

/* The first c in [p, end), or NULL: most fields are short, so the first
 * 16 bytes are looked at here before memchr is called. */
static inline const char *find(const char *p, const char *end, char c)
{
	const char *stop = end - p > 16 ? p + 16 : end;
	for (; p < stop; p++)
		if (*p == c)
			return p;
	return p < end ? memchr(p, c, (size_t)(end - p)) : NULL;
}

static sl_status run_program(sl_logformat *lf, const char *line, size_t len,
			     sl_record *rec, sl_time_cache *tc)
{
	const char *p = line, *end = line + len;
	pending pd = {{NULL, 0}, {NULL, 0}, false, false, false, false};
	while (end > p && (end[-1] == '\r' || end[-1] == ' '))
		end--;
	if (end == p)
		FAIL("empty line");
	for (size_t i = 0; i < lf->nsteps; i++) {
		const step *s = &lf->steps[i];
		if (s->kind == K_LIT) {
			/* literals are short (" ", "\" \"", " - "): a byte
			 * loop costs less than a call */
			const char *l = lf->lits + s->off;
			if ((size_t)(end - p) < s->len)
				FAIL("wrong shape");
			for (size_t j = 0; j < s->len; j++)
				if (p[j] != l[j])
					FAIL("wrong shape");
			p += s->len;
			continue;
		}
		if (s->kind == K_SPACES) {
			while (p < end && *p == ' ')
				p++;
			continue;
		}
		const char *e;
		if (s->quoted)
			e = closing_quote(p, end);
		else if (s->has_delim)
			e = find(p, end, (char)s->delim);
		else
			e = end;
		if (!e)
			FAIL(s->quoted ? "unterminated quote" : "wrong shape");
		if (e == p && !s->quoted && s->kind != K_SKIP && s->kind != K_QUERY)
			FAIL("empty field");
		sl_status st = store(lf, s->kind, p, e, rec, tc, &pd);
		if (st != SL_OK)
			return st;
		p = e;
	}
	if (p != end && !(lf->open_end && *p == ' '))
		FAIL("wrong shape");
	return derive(rec, line, len, tc, &pd);
}

/* ------------------------------------------------------------------------ */
/* Column formats: W3C, LTSV, CSV/TSV                                        */
/* ------------------------------------------------------------------------ */

static bool has_prefix(const char *p, const char *end, const char *pre)
{
	size_t n = strlen(pre);
	return (size_t)(end - p) >= n && memcmp(p, pre, n) == 0;
}

/* p past a UTF-8 byte order mark, if one starts [p, end) (editors and IIS
 * write one before a header). */
static const char *skip_bom(const char *p, const char *end)
{
	return has_prefix(p, end, "\xef\xbb\xbf") ? p + 3 : p;
}

static sl_status run_w3c(sl_logformat *lf, const char *line, size_t len,
			 sl_record *rec, sl_time_cache *tc)
{
	const char *p = line, *end = line + len;
	pending pd = {{NULL, 0}, {NULL, 0}, false, false, false, false};
	while (end > p && end[-1] == '\r')
		end--;
	p = skip_bom(p, end);
	if (p < end && *p == '#') {
		if (has_prefix(p, end, "#Fields:")) {
			w3c_columns(lf, p + 8, end);
			lf->have_header = true;
		}
		return SL_ESKIP;
	}
	if (end == p)
		FAIL("empty line");
	if (!lf->ncols)
		FAIL("no #Fields: line before the first record");
	size_t col = 0;
	while (col < lf->ncols) {
		const char *e = memchr(p, lf->sep, (size_t)(end - p));
		if (!e)
			e = end;
		sl_status st = store(lf, lf->cols[col], p, e, rec, tc, &pd);
		if (st != SL_OK)
			return st;
		col++;
		if (e == end)
			break;
		p = e + 1;
	}
	if (col < lf->ncols)
		FAIL("fewer fields than the #Fields: line names");
	return derive(rec, line, len, tc, &pd);
}

static sl_status run_ltsv(sl_logformat *lf, const char *line, size_t len,
			  sl_record *rec, sl_time_cache *tc)
{
	const char *p = line, *end = line + len;
	pending pd = {{NULL, 0}, {NULL, 0}, false, false, false, false};
	while (end > p && end[-1] == '\r')
		end--;
	if (end == p)
		FAIL("empty line");
	for (;;) {
		const char *e = memchr(p, '\t', (size_t)(end - p));
		if (!e)
			e = end;
		/* label = 1*[0-9A-Za-z_.-] (ltsv.org) */
		const char *colon = p;
		while (colon < e && (is_digit(*colon) || (*colon >= 'a' && *colon <= 'z') ||
				     (*colon >= 'A' && *colon <= 'Z') || *colon == '_' ||
				     *colon == '.' || *colon == '-'))
			colon++;
		if (colon == p || colon == e || *colon != ':')
			FAIL("an LTSV field without its label");
		int k = LOOKUP(column_names, p, (size_t)(colon - p));
		if (k != K_COUNT) {
			sl_status st = store(lf, k, colon + 1, e, rec, tc, &pd);
			if (st != SL_OK)
				return st;
		}
		if (e == end)
			break;
		p = e + 1;
	}
	return derive(rec, line, len, tc, &pd);
}

/* The end of an unquoted CSV field at p: the first sep or `end`; NULL if a
 * quote comes first. Sixteen bytes a step (SSE2) while as many are left:
 * one pass for both bytes, where two memchr calls each paid their call and
 * set-up on fields of a few bytes. */
static inline const char *plain_end(const char *lo, const char *p, const char *end, char sep)
{
#if defined(__SSE2__)
	const __m128i vs = _mm_set1_epi8(sep), vq = _mm_set1_epi8('"');
	while (end - p >= 16) {
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned ms = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, vs));
		unsigned mq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, vq));
		if (ms | mq) {
			unsigned at = (unsigned)__builtin_ctz(ms | mq);
			return ms >> at & 1 ? p + at : NULL;
		}
		p += 16;
	}
	if (p < end && end - lo >= 16) {	/* the 16 bytes ending at end */
		unsigned sh = (unsigned)(16 - (end - p));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(end - 16));
		unsigned ms = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, vs)) >> sh;
		unsigned mq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b, vq)) >> sh;
		if (!(ms | mq))
			return end;
		unsigned at = (unsigned)__builtin_ctz(ms | mq);
		return ms >> at & 1 ? p + at : NULL;
	}
#else
	(void)lo;
#endif
	for (; p < end; p++) {
		if (*p == sep)
			return p;
		if (*p == '"')
			return NULL;
	}
	return end;
}

/*
 * The next CSV field at *pp (RFC 4180): unquoted up to the separator, or
 * quoted with "" for a quote, copied without its escapes into the scratch
 * at *sp. *pp is left at the separator or the end. NULL: malformed.
 */
static inline __attribute__((always_inline)) bool
csv_field(const char *lo, const char **pp, const char *end, char sep, char **sp, const char **fp,
	  const char **fe)
{
	const char *p = *pp;
	if (p < end && *p == '"') {
		const char *s = ++p;
		char *out = *sp, *o = out;
		bool copied = false;
		for (;;) {
			const char *q = byte_at(lo, p, end, '"');
			if (!q)
				return false;
			if (q + 1 < end && q[1] == '"') {
				/* an escaped quote: from here on, copy */
				if (!copied) {
					memcpy(o, s, (size_t)(q + 1 - s));
					o += q + 1 - s;
					copied = true;
				} else {
					memcpy(o, p, (size_t)(q + 1 - p));
					o += q + 1 - p;
				}
				p = q + 2;
				continue;
			}
			if (copied) {
				memcpy(o, p, (size_t)(q - p));
				o += q - p;
				*fp = out;
				*fe = o;
				*sp = o;
			} else {
				*fp = s;
				*fe = q;
			}
			p = q + 1;
			if (p < end && *p != sep)
				return false;
			*pp = p;
			return true;
		}
	}
	const char *e = plain_end(lo, p, end, sep);
	if (!e)
		return false; /* a quote inside an unquoted field */
	*fp = p;
	*fe = e;
	*pp = e;
	return true;
}

static sl_status run_csv(sl_logformat *lf, const char *line, size_t len,
			 sl_record *rec, sl_time_cache *tc)
{
	const char *p = line, *end = line + len;
	pending pd = {{NULL, 0}, {NULL, 0}, false, false, false, false};
	while (end > p && end[-1] == '\r')
		end--;
	if (end == p)
		FAIL("empty line");
	if (lf->scratch_cap < len) {
		size_t cap = len < 256 ? 256 : len;
		char *s = lf->scratch ? sl_realloc(lf->b, lf->scratch, lf->scratch_cap, cap)
				      : sl_malloc(lf->b, cap);
		if (!s)
			return SL_ENOMEM;
		lf->scratch = s;
		lf->scratch_cap = cap;
	}
	char *sp = lf->scratch;
	if (!lf->have_header) {
		p = skip_bom(p, end);
		lf->ncols = 0;
		lf->width = 0;
		lf->fields = 0;
		for (;;) {
			const char *fp, *fe;
			if (!csv_field(line, &p, end, lf->sep, &sp, &fp, &fe))
				FAIL("malformed header line");
			int k = LOOKUP(column_names, fp, (size_t)(fe - fp));
			k = k == K_COUNT ? K_SKIP : k;
			if (lf->ncols < MAX_COLS)
				lf->cols[lf->ncols++] = (uint8_t)k;
			if (kind_field[k] != SL_F_COUNT && lf->width < MAX_COLS)
				lf->fields |= 1u << kind_field[k];
			lf->width++;
			if (p == end)
				break;
			p++;
		}
		lf->have_header = true;
		return SL_ESKIP;
	}
	size_t col = 0;
	for (;;) {
		const char *fp, *fe;
		if (!csv_field(line, &p, end, lf->sep, &sp, &fp, &fe))
			FAIL("malformed CSV field");
		if (col < lf->ncols) {
			sl_status st = store(lf, lf->cols[col], fp, fe, rec, tc, &pd);
			if (st != SL_OK)
				return st;
		}
		col++;
		if (p == end)
			break;
		p++;
	}
	if (col != lf->width)
		FAIL("a row with another number of fields than the header");
	return derive(rec, line, len, tc, &pd);
}

/*
 * CSV rows over the line reader's index (lib/format/scan.h): the reader
 * has already set a bit for every separator and quote of the buffer
 * (classes 0 and 1 of sl_logformat_index_chars), 64 bytes a word, as it
 * looked for the line ends. A row is cut from those words without reading
 * its bytes again: the bytes inside quotes are the prefix XOR of the quote
 * bits, carried from word to word, and the field ends are the separators
 * outside quotes. Quotes alternate opening (inside bit set) and closing
 * (clear); the row is taken here only when every opening quote is a
 * field's first byte and every closing quote its last one, and no quote is
 * open at the end: then each field holds no quote or exactly those two,
 * and csv_field would cut the same fields. Anything else ("" escapes, a
 * stray or unclosed quote), a header still to read, or a row of more than
 * MAX_COLS fields goes to sl_logformat_parse, which gives the same record
 * and the same errors; nothing is stored before that is known.
 */

/* Bit i of the result: the XOR of bits 0..i of x. */
static inline uint64_t prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

int sl_logformat_index_chars(const sl_logformat *lf, char chars[3])
{
	if (lf->type != T_CSV)
		return 0;
	chars[0] = lf->sep;
	chars[1] = '"';
	chars[2] = '\n';
	return 3;
}

sl_status sl_logformat_lines_parse(sl_logformat *lf, const sl_scan_lines *it, const char *line,
				   size_t len, sl_record *rec, sl_time_cache *tc)
{
	const char *end = line + len;
	while (end > line && end[-1] == '\r')
		end--;
	size_t n = (size_t)(end - line);
	if (lf->type != T_CSV || !lf->have_header || n == 0 || it->nc != 3 ||
	    it->chars[0] != lf->sep || it->chars[1] != '"')
		return sl_logformat_parse(lf, line, len, rec, tc);
	size_t pos = (size_t)(line - it->buf);
	const sl_scan_block *blk = &it->ring[pos / 64 % SL_SCAN_RING_BLOCKS];
	unsigned sh = (unsigned)(pos % 64);
	uint16_t at[MAX_COLS + 65];	/* the field ends, line offsets, then n */
	size_t nf = 0;		/* separators outside quotes */
	uint64_t inside = 0;	/* all ones: a quote is open where the word starts */
	uint64_t at_start = 1;	/* bit 0: the word's first byte starts a field */
	uint64_t closed = 0;	/* bit 0: the last word closed a quote on bit 63 */
	for (size_t base = 0, i = 0; base < n; base += 64, i++) {
		/* bytes [base, base + 64) of the line: two blocks' words when
		 * the line does not start a block (the ring keeps a spare block
		 * after a line's last) */
		uint64_t ms = blk[i][0] >> sh, mq = blk[i][1] >> sh, last = (uint64_t)1 << 63;
		if (sh) {
			ms |= blk[i + 1][0] << (64 - sh);
			mq |= blk[i + 1][1] << (64 - sh);
		}
		size_t r = n - base;
		if (r <= 64) {	/* the row's last word: no bit past its end */
			last = (uint64_t)1 << (r - 1);
			ms &= last | (last - 1);
			mq &= last | (last - 1);
		}
		uint64_t in = prefix_xor(mq) ^ inside;
		uint64_t ends = ms & ~in;
		uint64_t starts = ends << 1 | at_start;
		/* a closing quote is a field's last byte: a separator outside
		 * quotes follows, or the row ends; on bit 63, the next word's
		 * bit 0 must be such a separator (closed) */
		uint64_t before = ends >> 1 | last;
		if ((mq & in & ~starts) | (mq & ~in & ~before) | (closed & ~ends))
			return sl_logformat_parse(lf, line, len, rec, tc);
		inside = (uint64_t)((int64_t)in >> 63);
		at_start = ends >> 63;
		closed = (mq & ~in) >> 63;
		for (; ends; ends &= ends - 1)
			at[nf++] = (uint16_t)(base + (size_t)__builtin_ctzll(ends));
		if (nf > MAX_COLS)
			return sl_logformat_parse(lf, line, len, rec, tc);
	}
	if (inside)
		return sl_logformat_parse(lf, line, len, rec, tc);
	at[nf] = (uint16_t)n;
	/* the fields, in order, as run_csv stores them */
	pending pd = {{NULL, 0}, {NULL, 0}, false, false, false, false};
	clear(rec, line);
	size_t use = nf + 1 < lf->ncols ? nf + 1 : lf->ncols, s = 0;
	for (size_t col = 0; col < use; col++) {
		const char *fp = line + s, *fe = line + at[col];
		if (fe > fp && *fp == '"')
			fp++, fe--;
		sl_status st = store(lf, lf->cols[col], fp, fe, rec, tc, &pd);
		if (st != SL_OK)
			return st;
		s = at[col] + 1;
	}
	if (nf + 1 != lf->width)
		FAIL("a row with another number of fields than the header");
	return derive(rec, line, len, tc, &pd);
}

/* ------------------------------------------------------------------------ */
/* Syslog                                                                    */
/* ------------------------------------------------------------------------ */

/* Steps over one space-free token and the space after it. */
static const char *token_sp(const char *p, const char *end)
{
	const char *s = memchr(p, ' ', (size_t)(end - p));
	return s && s > p ? s + 1 : NULL;
}

/* The message of a syslog line: after an RFC 5424 header ("<PRI>1 TS HOST
 * APP PROCID MSGID SD ") or an RFC 3164 one ("[<PRI>]Mmm dd hh:mm:ss HOST
 * TAG: "). NULL when the line has neither. */
static const char *syslog_message(const char *p, const char *end)
{
	if (p < end && *p == '<') {
		const char *s = p + 1;
		while (s < end && is_digit(*s) && s - p <= 3)
			s++;
		if (s == p + 1 || s >= end || *s != '>')
			return NULL;
		p = s + 1;
		if (end - p >= 2 && is_digit(p[0]) && p[1] == ' ') {
			/* RFC 5424 */
			p += 2;
			for (int i = 0; i < 5 && p; i++)
				p = token_sp(p, end);
			if (!p || p >= end)
				return NULL;
			if (*p == '-') {
				p++;
			} else if (*p == '[') {
				/* structured data: elements up to the last ']'
				 * before a space; quotes may hold ']' escaped */
				while (p < end && *p == '[') {
					bool in_q = false;
					for (p++; p < end; p++) {
						if (*p == '\\' && p + 1 < end)
							p++;
						else if (*p == '"')
							in_q = !in_q;
						else if (*p == ']' && !in_q)
							break;
					}
					if (p == end)
						return NULL;
					p++;
				}
			} else {
				return NULL;
			}
			if (p < end && *p == ' ')
				p++;
			if (end - p >= 3 && (uint8_t)p[0] == 0xef &&
			    (uint8_t)p[1] == 0xbb && (uint8_t)p[2] == 0xbf)
				p += 3; /* BOM */
			return p;
		}
	}
	/* RFC 3164: "Mmm dd hh:mm:ss " (day space-padded) */
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (end - p < 16)
		return NULL;
	bool month = false;
	for (int k = 0; k < 12; k++)
		month |= memcmp(p, months + 3 * k, 3) == 0;
	if (!month || p[3] != ' ' || (p[4] != ' ' && !is_digit(p[4])) ||
	    !is_digit(p[5]) || p[6] != ' ' || p[9] != ':' || p[12] != ':' ||
	    p[15] != ' ')
		return NULL;
	p += 16;
	p = token_sp(p, end); /* host */
	if (!p)
		return NULL;
	/* the tag: "name[pid]: " or "name: " */
	const char *c = p;
	while (c < end && *c != ' ' && *c != ':')
		c++;
	if (end - c < 2 || c[0] != ':' || c[1] != ' ' || c == p)
		return NULL;
	return c + 2;
}

size_t sl_logformat_syslog_message(const char *line, size_t len)
{
	const char *m = syslog_message(line, line + len);
	return m ? (size_t)(m - line) : SIZE_MAX;
}

static sl_status run_syslog(sl_logformat *lf, const char *line, size_t len,
			    sl_record *rec, sl_time_cache *tc)
{
	const char *end = line + len;
	while (end > line && end[-1] == '\r')
		end--;
	const char *m = syslog_message(line, end);
	if (!m)
		FAIL("no syslog header");
	static const sl_format order[4] = {SL_FMT_VCOMBINED, SL_FMT_COMBINED,
					   SL_FMT_VCOMMON, SL_FMT_COMMON};
	sl_status st = SL_EFORMAT;
	const char *why = "wrong shape";
	if (lf->inner != SL_FMT_AUTO)
		st = sl_access_parse(lf->inner, m, (size_t)(end - m), rec, tc);
	for (int i = 0; i < 4 && st != SL_OK; i++) {
		if (order[i] == lf->inner)
			continue;
		st = sl_access_parse(order[i], m, (size_t)(end - m), rec, tc);
		if (st == SL_OK)
			lf->inner = order[i];
		else if (i == 1)
			why = rec->why; /* combined's reason is the one to tell */
	}
	if (st != SL_OK) {
		rec->why = why;
		return SL_EFORMAT;
	}
	rec->field[SL_F_LINE] = (sl_str){line, len};
	return SL_OK;
}

sl_status sl_logformat_parse(sl_logformat *lf, const char *line, size_t len,
			     sl_record *rec, sl_time_cache *tc)
{
	clear(rec, line);
	switch (lf->type) {
	case T_PROGRAM: return run_program(lf, line, len, rec, tc);
	case T_W3C: return run_w3c(lf, line, len, rec, tc);
	case T_LTSV: return run_ltsv(lf, line, len, rec, tc);
	case T_CSV: return run_csv(lf, line, len, rec, tc);
	case T_SYSLOG: return run_syslog(lf, line, len, rec, tc);
	}
	rec->why = "unknown format";
	return SL_EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

#define DETECT_LINES 32

/* The presets tried on lines, in the order that wins ties. */
static const char *const detect_order[] = {
	"syslog", "traefik", "alb", "elb", "s3", "ltsv",
};

const char *sl_logformat_detect(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	/* the first complete non-empty line decides the header formats */
	const char *first = NULL, *first_end = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		const char *e = nl;
		while (e > p && e[-1] == '\r')
			e--;
		if (e > p) {
			first = p;
			first_end = e;
			break;
		}
		p = nl + 1;
	}
	if (!first)
		return NULL;
	first = skip_bom(first, first_end);
	if (has_prefix(first, first_end, "#Version:") ||
	    has_prefix(first, first_end, "#Software:") ||
	    has_prefix(first, first_end, "#Fields:") ||
	    has_prefix(first, first_end, "#Date:")) {
		/* CloudFront writes "#Version: 1.0" then tab-free #Fields
		 * naming x-edge-location; its records are tab separated */
		const char *tab = memchr(first, '\t', (size_t)(end - first));
		const char *xe = memmem(first, (size_t)(end - first), "x-edge-", 7);
		return tab || xe ? "cloudfront" : "w3c";
	}
	/* a CSV/TSV header: at least two columns, two of them known names,
	 * one of them the status, time, request, url or path */
	for (int t = 0; t < 2; t++) {
		char sep = t ? '\t' : ',';
		size_t cols = 0, known = 0, key = 0;
		const char *s = first;
		bool ok = true;
		for (;;) {
			const char *e = memchr(s, sep, (size_t)(first_end - s));
			if (!e)
				e = first_end;
			const char *a = s, *b = e;
			if (b - a >= 2 && *a == '"' && b[-1] == '"')
				a++, b--;
			if (memchr(a, ':', (size_t)(b - a)))
				ok = false; /* LTSV, or a time: not a name */
			int k = LOOKUP(column_names, a, (size_t)(b - a));
			cols++;
			if (k != K_COUNT) {
				known++;
				key += k == K_STATUS || k == K_TIME || k == K_REQUEST ||
				       k == K_URL || k == K_PATH;
			}
			if (e == first_end)
				break;
			s = e + 1;
		}
		if (ok && cols >= 2 && known >= 2 && key >= 1)
			return t ? "tsv" : "csv";
	}
	/* the rest: the preset that parses the most of the first lines,
	 * at least half of them (each tried in a format on the stack: these
	 * presets allocate nothing) */
	enum { N = sizeof detect_order / sizeof detect_order[0] };
	unsigned hits[N] = {0}, seen = 0;
	static const sl_logformat zero;
	sl_logformat lf;
	for (size_t i = 0; i < N; i++) {
		lf = zero;
		if (preset_into(&lf, detect_order[i]) != SL_OK)
			continue;
		seen = 0;
		for (p = first; p < end && seen < DETECT_LINES;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				break; /* complete lines only */
			const char *s = p, *e = nl;
			p = nl + 1;
			while (e > s && e[-1] == '\r')
				e--;
			if (e == s)
				continue;
			seen++;
			sl_record rec;
			hits[i] += sl_logformat_parse(&lf, s, (size_t)(e - s), &rec, NULL) == SL_OK;
		}
	}
	int best = -1;
	for (size_t i = 0; i < N; i++)
		if (hits[i] && hits[i] * 2 >= seen && (best < 0 || hits[i] > hits[best]))
			best = (int)i;
	return best < 0 ? NULL : detect_order[best];
}
