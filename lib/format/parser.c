/*
 * parser.c: one interface over every record format (sl_parser_*): the four
 * classic access-log formats (lib/format/access.c), the compiled format strings
 * and line presets (lib/format/logformat.c) and JSON lines (lib/format/jsonrec.c), and
 * the detection of all of them (sl_format_detect).
 *
 * The report parses the classic formats on its own fast path (the scanner's
 * index shared with the line finder) and every other format through a
 * parser it owns: a parser holds per-stream state (a W3C or CSV header, a
 * scratch buffer for unescaped strings), so each report has its own, reset
 * at each input.
 *
 * A format is its sl_format and, for some, a spec: the format string of
 * SL_FMT_CUSTOM (--log-format), or the field mappings of the JSON formats
 * (--field), "FIELD=PATH" lines separated by '\n'. State files record both,
 * and reports merge only when both are equal.
 *
 * Two formats wrap others:
 *
 *   syslog:INNER   SL_FMT_SYSLOG with the spec "NAME" or "NAME:SPEC": the
 *                  RFC 3164/5424 header is cut (sl_logformat_syslog_message)
 *                  and the message parsed by a parser of the inner format;
 *                  the record's line is the whole line. The inner format
 *                  gives the fields (the syslog header's own time is not
 *                  read). An empty spec keeps logformat.c's syslog: the
 *                  classic formats inside.
 *   a mix          the spec "\x01NAME:SPEC\x01NAME:SPEC...": one parser per
 *                  unit, in that order; sl_parser_select picks the unit of
 *                  the next lines (the engine selects each input's). A
 *                  field is in a mix when every unit has it; a mix is
 *                  stateful when a unit is; a reset resets every unit.
 *                  The byte layout (also what a state file's meta holds):
 *
 *                      0x01 "json" ':' "client=ip\ntime=ts"
 *                      0x01 "combined" ':'
 *                      0x01 "csv" ':'
 *
 *                  A name ends at its first ':' (no format name holds one);
 *                  a unit's spec runs to the next 0x01 or the end, so no
 *                  unit spec may hold 0x01 (sl_format_mix_add refuses it).
 */
#include "sluice.h"
#include "format/scan.h"

#include <string.h>

#define MIX_MARK '\x01'
#define SPEC_MAX 4096	/* a unit's spec, as a state file's meta allows */

struct sl_parser {
	sl_budget *b;
	sl_format fmt;
	sl_logformat *lf;	/* custom and the line presets */
	sl_jsonrec *jr;		/* the JSON formats */
	sl_parser *inner;	/* syslog:INNER: the message's parser */
	sl_parser **unit;	/* a mix: nunits parsers, unit[cur] reads */
	uint32_t nunits, cur;
};

static const char *const preset_names[SL_FMT_COUNT] = {
	[SL_FMT_W3C] = "w3c",	  [SL_FMT_CLOUDFRONT] = "cloudfront", [SL_FMT_ELB] = "elb",
	[SL_FMT_ALB] = "alb",	  [SL_FMT_S3] = "s3",		       [SL_FMT_TRAEFIK] = "traefik",
	[SL_FMT_LTSV] = "ltsv",	  [SL_FMT_CSV] = "csv",	       [SL_FMT_TSV] = "tsv",
	[SL_FMT_SYSLOG] = "syslog",
};

static const char *const json_presets[SL_FMT_COUNT] = {
	[SL_FMT_JSON] = "json", [SL_FMT_CADDY] = "caddy", [SL_FMT_TRAEFIK_JSON] = "traefik",
};

bool sl_format_is_classic(sl_format f)
{
	return f == SL_FMT_COMMON || f == SL_FMT_COMBINED || f == SL_FMT_VCOMBINED ||
	       f == SL_FMT_VCOMMON;
}

bool sl_format_is_json(sl_format f)
{
	return (unsigned)f < SL_FMT_COUNT && json_presets[f] != NULL;
}

void sl_parser_free(sl_parser *p)
{
	if (!p)
		return;
	sl_logformat_free(p->lf);
	sl_jsonrec_free(p->jr);
	sl_parser_free(p->inner);
	for (uint32_t i = 0; p->unit && i < p->nunits; i++)
		sl_parser_free(p->unit[i]);
	if (p->unit)
		sl_free(p->b, p->unit, SL_FORMAT_MIX_MAX * sizeof *p->unit);
	sl_free(p->b, p, sizeof *p);
}

/* ---- mixes ------------------------------------------------------------------ */

bool sl_format_spec_is_mix(const char *spec)
{
	return spec && spec[0] == MIX_MARK;
}

uint32_t sl_format_mix_count(const char *spec)
{
	if (!sl_format_spec_is_mix(spec))
		return 1;
	uint32_t n = 0;
	for (const char *p = spec; (p = strchr(p, MIX_MARK)); p++)
		n++;
	return n;
}

/* Unit i of a mix: its name [*name, *colon) and spec (*us, *ulen). */
static bool unit_at(const char *mix, uint32_t i, const char **name, const char **colon,
		    const char **us, size_t *ulen)
{
	if (!sl_format_spec_is_mix(mix))
		return false;
	const char *p = mix;
	for (uint32_t k = 0; p; k++) {
		const char *end = strchr(p + 1, MIX_MARK);
		if (!end)
			end = p + strlen(p);
		if (k == i) {
			const char *c = memchr(p + 1, ':', (size_t)(end - p - 1));
			if (!c)
				return false;
			*name = p + 1;
			*colon = c;
			*us = c + 1;
			*ulen = (size_t)(end - c - 1);
			return true;
		}
		p = *end ? end : NULL;
	}
	return false;
}

/* Does the format read a spec (its string, mappings or inner format)? */
static bool has_spec(sl_format f)
{
	return f == SL_FMT_CUSTOM || f == SL_FMT_SYSLOG || sl_format_is_json(f);
}

static bool record_format(sl_format f)
{
	return f > SL_FMT_AUTO && f < SL_FMT_COUNT && f != SL_FMT_LINES;
}

sl_status sl_format_mix_unit(const char *mix, uint32_t i, sl_format *fmt, char *buf, size_t cap)
{
	const char *name, *colon, *us;
	size_t ulen;
	char nm[32];
	if (!unit_at(mix, i, &name, &colon, &us, &ulen) || (size_t)(colon - name) >= sizeof nm)
		return SL_EINVAL;
	memcpy(nm, name, (size_t)(colon - name));
	nm[colon - name] = 0;
	sl_format f = sl_format_from_name(nm);
	if (!record_format(f))
		return SL_EINVAL;
	if (ulen >= cap)
		return SL_ENOMEM;
	memcpy(buf, us, ulen);
	buf[ulen] = 0;
	*fmt = f;
	return SL_OK;
}

sl_status sl_format_mix_add(char *buf, size_t cap, sl_format fmt, const char *spec,
			    uint32_t *unit)
{
	if (!record_format(fmt) || (spec && strchr(spec, MIX_MARK)))
		return SL_EINVAL;
	if (!has_spec(fmt) || !spec)
		spec = "";
	const char *name = sl_format_name(fmt);
	size_t nlen = strlen(name), slen = strlen(spec);
	uint32_t n = buf[0] ? sl_format_mix_count(buf) : 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *nm, *colon, *us;
		size_t ulen;
		if (unit_at(buf, i, &nm, &colon, &us, &ulen) && (size_t)(colon - nm) == nlen &&
		    memcmp(nm, name, nlen) == 0 && ulen == slen && memcmp(us, spec, slen) == 0) {
			*unit = i;
			return SL_OK;
		}
	}
	size_t at = strlen(buf);
	if (n == SL_FORMAT_MIX_MAX || at + 2 + nlen + slen >= cap)
		return SL_ENOMEM;
	buf[at] = MIX_MARK;
	memcpy(buf + at + 1, name, nlen);
	buf[at + 1 + nlen] = ':';
	memcpy(buf + at + 2 + nlen, spec, slen + 1);
	*unit = n;
	return SL_OK;
}

/* Appends text to buf (cap bytes), cut to fit. */
static void append(char *buf, size_t cap, const char *text, size_t n)
{
	size_t at = strlen(buf);
	if (at + 1 >= cap)
		return;
	if (n > cap - at - 1)
		n = cap - at - 1;
	memcpy(buf + at, text, n);
	buf[at + n] = 0;
}

/* "syslog:NAME" for a syslog spec naming its inner format, else the name. */
static void describe_one(sl_format fmt, const char *spec, size_t slen, char *buf, size_t cap)
{
	const char *name = sl_format_name(fmt);
	append(buf, cap, name ? name : "?", name ? strlen(name) : 1);
	if (fmt == SL_FMT_SYSLOG && spec && slen) {
		const char *c = memchr(spec, ':', slen);
		append(buf, cap, ":", 1);
		append(buf, cap, spec, c ? (size_t)(c - spec) : slen);
	}
}

const char *sl_format_describe(sl_format fmt, const char *spec, char *buf, size_t cap)
{
	buf[0] = 0;
	if (!sl_format_spec_is_mix(spec)) {
		describe_one(fmt, spec, spec ? strlen(spec) : 0, buf, cap);
		return buf;
	}
	uint32_t n = sl_format_mix_count(spec);
	for (uint32_t i = 0; i < n; i++) {
		const char *nm, *colon, *us;
		size_t ulen;
		char name[32];
		if (!unit_at(spec, i, &nm, &colon, &us, &ulen) ||
		    (size_t)(colon - nm) >= sizeof name)
			continue;
		memcpy(name, nm, (size_t)(colon - nm));
		name[colon - nm] = 0;
		if (i)
			append(buf, cap, ", ", 2);
		describe_one(sl_format_from_name(name), us, ulen, buf, cap);
	}
	return buf;
}

size_t sl_parser_reserve(sl_format fmt, const char *spec)
{
	if (!sl_format_spec_is_mix(spec))
		return sl_format_is_classic(fmt) || fmt == SL_FMT_LINES ? 0 : SL_REPORT_PARSER_BYTES;
	size_t bytes = 0;
	char us[SPEC_MAX + 1];
	for (uint32_t i = 0, n = sl_format_mix_count(spec); i < n; i++) {
		sl_format f = SL_FMT_COMBINED;
		if (sl_format_mix_unit(spec, i, &f, us, sizeof us) != SL_OK)
			f = SL_FMT_CUSTOM;
		bytes += sl_format_is_classic(f) ? 1024 : SL_REPORT_PARSER_BYTES;
	}
	return bytes;
}

void sl_parser_select(sl_parser *p, uint32_t unit)
{
	if (p->nunits)
		p->cur = unit < p->nunits ? unit : 0;
}

/* Applies the mappings "FIELD=PATH\n..." of spec to p's JSON parser. */
static sl_status map_fields(sl_parser *p, const char *spec, size_t *err_pos, const char **why)
{
	for (const char *s = spec; s && *s;) {
		const char *end = strchr(s, '\n'), *eq = strchr(s, '=');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		char field[32], path[256];
		if (!eq || eq > s + n || (size_t)(eq - s) >= sizeof field ||
		    n - (size_t)(eq - s) - 1 >= sizeof path || eq == s || (size_t)(eq - s) + 1 == n) {
			if (err_pos)
				*err_pos = (size_t)(s - spec);
			if (why)
				*why = "a mapping is FIELD=PATH (client=ip, time=ts, ...)";
			return SL_EINVAL;
		}
		memcpy(field, s, (size_t)(eq - s));
		field[eq - s] = 0;
		memcpy(path, eq + 1, n - (size_t)(eq - s) - 1);
		path[n - (size_t)(eq - s) - 1] = 0;
		sl_field f = sl_field_from_name(field);
		sl_status st = f == SL_F_COUNT ? SL_EINVAL : sl_jsonrec_map(p->jr, f, path);
		if (st != SL_OK) {
			if (err_pos)
				*err_pos = (size_t)(s - spec);
			if (why)
				*why = f == SL_F_COUNT ? "unknown field in a mapping"
						       : "a key path is names joined by dots";
			return st;
		}
		s += n + (end != NULL);
	}
	return SL_OK;
}

/* The units of mix spec into p (a parser each); the first must be fmt. */
static sl_status new_mix(sl_parser *p, const char *spec, size_t *err_pos, const char **why)
{
	uint32_t n = sl_format_mix_count(spec);
	char us[SPEC_MAX + 1];
	if (n > SL_FORMAT_MIX_MAX) {
		if (why)
			*why = "too many formats in one run";
		return SL_EINVAL;
	}
	if (!(p->unit = sl_calloc(p->b, SL_FORMAT_MIX_MAX, sizeof *p->unit)))
		return SL_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		sl_format f;
		sl_status st = sl_format_mix_unit(spec, i, &f, us, sizeof us);
		if (st == SL_OK && i == 0 && f != p->fmt)
			st = SL_EINVAL;
		if (st != SL_OK) {
			if (why)
				*why = "a list of formats is \\x01NAME:SPEC... (the first the report's)";
			return SL_EINVAL;
		}
		st = sl_parser_new(&p->unit[i], p->b, f, us, err_pos, why);
		if (st != SL_OK)
			return st;
		p->nunits = i + 1;
	}
	return SL_OK;
}

/* syslog:NAME[:SPEC]: the parser of the format inside the messages. */
static sl_status new_inner(sl_parser *p, const char *spec, size_t *err_pos, const char **why)
{
	const char *c = strchr(spec, ':');
	size_t n = c ? (size_t)(c - spec) : strlen(spec);
	char name[32];
	sl_format f = SL_FMT_COUNT;
	if (n < sizeof name) {
		memcpy(name, spec, n);
		name[n] = 0;
		f = sl_format_from_name(name);
	}
	if (!record_format(f) || f == SL_FMT_SYSLOG) {
		if (err_pos)
			*err_pos = 0;
		if (why)
			*why = "syslog:NAME takes the name of a record format inside (json, "
			       "combined, ltsv, custom:STRING, ...), not auto, lines or syslog";
		return SL_EINVAL;
	}
	size_t at = 0;
	sl_status st = sl_parser_new(&p->inner, p->b, f, c ? c + 1 : "", &at, why);
	if (st != SL_OK && err_pos)
		*err_pos = at + (c ? n + 1 : n);
	return st;
}

sl_status sl_parser_new(sl_parser **out, sl_budget *b, sl_format fmt, const char *spec,
			size_t *err_pos, const char **why)
{
	*out = NULL;
	bool mix = sl_format_spec_is_mix(spec);
	if (fmt <= SL_FMT_AUTO || fmt >= SL_FMT_COUNT || fmt == SL_FMT_LINES ||
	    (fmt == SL_FMT_CUSTOM && !mix && (!spec || !*spec))) {
		if (why)
			*why = fmt == SL_FMT_CUSTOM ? "a custom format needs its format string"
						    : "not a record format";
		return SL_EINVAL;
	}
	sl_parser *p = sl_calloc(b, 1, sizeof *p);
	if (!p)
		return SL_ENOMEM;
	p->b = b;
	p->fmt = fmt;
	sl_status st = SL_OK;
	if (mix)
		st = new_mix(p, spec, err_pos, why);
	else if (fmt == SL_FMT_SYSLOG && spec && *spec)
		st = new_inner(p, spec, err_pos, why);
	else if (fmt == SL_FMT_CUSTOM)
		st = sl_logformat_compile(&p->lf, b, spec, err_pos, why);
	else if (preset_names[fmt])
		st = sl_logformat_preset(&p->lf, b, preset_names[fmt]);
	else if (json_presets[fmt]) {
		st = sl_jsonrec_new(&p->jr, b, json_presets[fmt]);
		if (st == SL_OK)
			st = map_fields(p, spec, err_pos, why);
	}
	if (st != SL_OK) {
		sl_parser_free(p);
		return st;
	}
	*out = p;
	return SL_OK;
}

/* syslog:INNER: the header cut, the message parsed by the inner parser. */
static sl_status parse_syslog(sl_parser *p, const char *line, size_t len, sl_record *rec,
			      sl_time_cache *tc)
{
	size_t n = len;
	while (n && line[n - 1] == '\r')
		n--;
	size_t at = sl_logformat_syslog_message(line, n);
	if (at == SIZE_MAX) {
		for (int f = 0; f < SL_F_COUNT; f++)
			rec->field[f] = (sl_str){line, 0};
		rec->why = "no syslog header";
		return SL_EFORMAT;
	}
	sl_status st = sl_parser_parse(p->inner, line + at, n - at, rec, tc);
	if (st == SL_OK)
		rec->field[SL_F_LINE] = (sl_str){line, len};
	return st;
}

sl_status sl_parser_parse(sl_parser *p, const char *line, size_t len, sl_record *rec,
			  sl_time_cache *tc)
{
	if (p->nunits)
		p = p->unit[p->cur];
	if (p->inner)
		return parse_syslog(p, line, len, rec, tc);
	if (p->lf)
		return sl_logformat_parse(p->lf, line, len, rec, tc);
	if (p->jr)
		return sl_jsonrec_parse(p->jr, line, len, rec, tc);
	return sl_access_parse(p->fmt, line, len, rec, tc);
}

int sl_parser_index_chars(const sl_parser *p, char chars[3])
{
	if (p->nunits)
		p = p->unit[p->cur];
	return !p->inner && p->lf ? sl_logformat_index_chars(p->lf, chars) : 0;
}

sl_status sl_parser_lines_parse(sl_parser *p, const sl_scan_lines *it, const char *line,
				size_t len, sl_record *rec, sl_time_cache *tc)
{
	if (p->nunits)
		p = p->unit[p->cur];
	if (!p->inner && p->lf)
		return sl_logformat_lines_parse(p->lf, it, line, len, rec, tc);
	return sl_parser_parse(p, line, len, rec, tc);
}

bool sl_parser_has_field(const sl_parser *p, sl_field f)
{
	/* derived for --by from the status and the time, as for the classic
	 * formats (sl_format_has_field) */
	if (f == SL_F_STATUS_CLASS)
		f = SL_F_STATUS;
	else if (f == SL_F_HOUR)
		f = SL_F_TIME;
	for (uint32_t i = 0; i < p->nunits; i++)
		if (!sl_parser_has_field(p->unit[i], f))
			return false;
	if (p->nunits)
		return true;
	if (p->inner)
		return sl_parser_has_field(p->inner, f);
	if (p->lf)
		return sl_logformat_has_field(p->lf, f);
	if (p->jr)
		return sl_jsonrec_has_field(p->jr, f);
	return sl_format_has_field(p->fmt, f);
}

bool sl_parser_stateful(const sl_parser *p)
{
	for (uint32_t i = 0; i < p->nunits; i++)
		if (sl_parser_stateful(p->unit[i]))
			return true;
	if (p->inner)
		return sl_parser_stateful(p->inner);
	return p->lf && sl_logformat_stateful(p->lf);
}

void sl_parser_reset(sl_parser *p)
{
	for (uint32_t i = 0; i < p->nunits; i++)
		sl_parser_reset(p->unit[i]);
	if (p->inner)
		sl_parser_reset(p->inner);
	if (p->lf)
		sl_logformat_reset(p->lf);
}

bool sl_format_stateful(sl_format f)
{
	return f == SL_FMT_W3C || f == SL_FMT_CLOUDFRONT || f == SL_FMT_CSV || f == SL_FMT_TSV;
}

sl_format sl_format_guess(const char *buf, size_t len)
{
	const char *name = NULL;
	if (sl_jsonrec_looks_like(buf, len, &name))
		return strcmp(name, "caddy") == 0     ? SL_FMT_CADDY
		       : strcmp(name, "traefik") == 0 ? SL_FMT_TRAEFIK_JSON
						      : SL_FMT_JSON;
	sl_format f = sl_access_guess(buf, len);
	if (f != SL_FMT_AUTO)
		return f;
	/* the line presets are told by complete lines: a buffer of one line
	 * without its newline (a malformed line's sample) gets one, on its
	 * first bytes, which are what tells them */
	char one[1024];
	if (!memchr(buf, '\n', len)) {
		size_t n = len < sizeof one - 1 ? len : sizeof one - 1;
		memcpy(one, buf, n);
		one[n] = '\n';
		buf = one;
		len = n + 1;
	}
	if ((name = sl_logformat_detect(buf, len)))
		for (int k = 0; k < SL_FMT_COUNT; k++)
			if (preset_names[k] && strcmp(preset_names[k], name) == 0)
				return (sl_format)k;
	return SL_FMT_AUTO;
}

/* The format inside syslog messages: the first complete lines with a
 * syslog header, their headers cut, guessed as lines of their own; the
 * name of a format syslog:NAME takes (not the classic ones, which plain
 * syslog reads, nor one whose header lines program it), else NULL. */
static const char *syslog_inner(const char *buf, size_t len)
{
	char msgs[4096];
	size_t n = 0;
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		size_t l = (size_t)(nl - p), at;
		while (l && p[l - 1] == '\r')
			l--;
		if (l && (at = sl_logformat_syslog_message(p, l)) != SIZE_MAX) {
			if (n + (l - at) + 1 > sizeof msgs)
				break;
			memcpy(msgs + n, p + at, l - at);
			n += l - at;
			msgs[n++] = '\n';
		}
		p = nl + 1;
	}
	sl_format f = n ? sl_format_guess(msgs, n) : SL_FMT_AUTO;
	if (f == SL_FMT_AUTO || f == SL_FMT_SYSLOG || f == SL_FMT_LINES || sl_format_is_classic(f) ||
	    sl_format_stateful(f))
		return NULL;
	return sl_format_name(f);
}

sl_format sl_format_detect_spec(const char *buf, size_t len, const char **spec)
{
	*spec = NULL;
	sl_format f = sl_format_guess(buf, len);
	if (f == SL_FMT_AUTO && (*spec = syslog_inner(buf, len)))
		return SL_FMT_SYSLOG;
	return f != SL_FMT_AUTO ? f : SL_FMT_COMBINED; /* its lines count as malformed */
}

sl_format sl_format_detect(const char *buf, size_t len)
{
	const char *spec;
	return sl_format_detect_spec(buf, len, &spec);
}
