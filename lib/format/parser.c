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
 */
#include "sluice.h"

#include <string.h>

struct sl_parser {
	sl_budget *b;
	sl_format fmt;
	sl_logformat *lf;	/* custom and the line presets */
	sl_jsonrec *jr;		/* the JSON formats */
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
	sl_free(p->b, p, sizeof *p);
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

sl_status sl_parser_new(sl_parser **out, sl_budget *b, sl_format fmt, const char *spec,
			size_t *err_pos, const char **why)
{
	*out = NULL;
	if (fmt <= SL_FMT_AUTO || fmt >= SL_FMT_COUNT || fmt == SL_FMT_LINES ||
	    (fmt == SL_FMT_CUSTOM && (!spec || !*spec))) {
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
	if (fmt == SL_FMT_CUSTOM)
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

sl_status sl_parser_parse(sl_parser *p, const char *line, size_t len, sl_record *rec,
			  sl_time_cache *tc)
{
	if (p->lf)
		return sl_logformat_parse(p->lf, line, len, rec, tc);
	if (p->jr)
		return sl_jsonrec_parse(p->jr, line, len, rec, tc);
	return sl_access_parse(p->fmt, line, len, rec, tc);
}

bool sl_parser_has_field(const sl_parser *p, sl_field f)
{
	if (p->lf)
		return sl_logformat_has_field(p->lf, f);
	if (p->jr)
		return sl_jsonrec_has_field(p->jr, f);
	return sl_format_has_field(p->fmt, f);
}

bool sl_parser_stateful(const sl_parser *p)
{
	return p->lf && sl_logformat_stateful(p->lf);
}

void sl_parser_reset(sl_parser *p)
{
	if (p->lf)
		sl_logformat_reset(p->lf);
}

bool sl_format_stateful(sl_format f)
{
	return f == SL_FMT_W3C || f == SL_FMT_CLOUDFRONT || f == SL_FMT_CSV || f == SL_FMT_TSV;
}

sl_format sl_format_detect(const char *buf, size_t len)
{
	const char *name = NULL;
	if (sl_jsonrec_looks_like(buf, len, &name))
		return strcmp(name, "caddy") == 0     ? SL_FMT_CADDY
		       : strcmp(name, "traefik") == 0 ? SL_FMT_TRAEFIK_JSON
						      : SL_FMT_JSON;
	sl_format f = sl_access_guess(buf, len);
	if (f != SL_FMT_AUTO)
		return f;
	if ((name = sl_logformat_detect(buf, len)))
		for (int k = 0; k < SL_FMT_COUNT; k++)
			if (preset_names[k] && strcmp(preset_names[k], name) == 0)
				return (sl_format)k;
	return SL_FMT_COMBINED; /* as sl_access_detect: its lines count as malformed */
}
