/*
 * cli_plan.c: the options that shape the report's plan (issue 14's
 * questions and filters): --top FIELD, --distinct F[,F...], --quantiles
 * FIELD, --only, --where EXPR, --since T, --until T. Each becomes an item
 * or a filter of an sl_plan (lib/report/plan.c) that the engine adds to the
 * format's default plan, or that replaces it under --only. Everything is
 * checked here, before any input is read; a field the format lacks is the
 * engine's to refuse, once the format is known.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int unknown_field(const char *prog, const char *opt, const char *name)
{
	fprintf(stderr, "%s: %s: unknown field '%s' (client, time, method, url, path, query, "
		"protocol, status, bytes, referrer, user_agent, request_time, vhost, user, date, "
		"line, length; for --by also status_class, hour)\n", prog, opt, name);
	return -1;
}

/* Adds `it` to the plan, or says why not. */
static int add(const char *prog, const char *opt, sl_plan *p, sl_item *it)
{
	const char *why = NULL;
	if (sl_plan_add(p, it, &why) != SL_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, opt, why ? why : "cannot be added");
		return -1;
	}
	return 0;
}

int cli_plan_item(const char *prog, int kind, const char *arg, sl_plan *p)
{
	sl_item it;
	memset(&it, 0, sizeof it);
	const char *opt = kind == SL_ITEM_TOP	     ? "--top"
			  : kind == SL_ITEM_DISTINCT ? "--distinct"
			  : kind == SL_ITEM_GROUPS   ? "--by"
						     : "--quantiles";
	it.kind = (sl_item_kind)kind;
	char names[256];
	snprintf(names, sizeof names, "%s", arg);
	size_t at = (size_t)snprintf(it.name, sizeof it.name, "%s",
				     kind == SL_ITEM_TOP	? "top"
				     : kind == SL_ITEM_DISTINCT ? "distinct"
				     : kind == SL_ITEM_GROUPS	? "by"
								: "quantiles");
	for (char *save = NULL, *f = strtok_r(names, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		sl_field field = sl_field_from_name(f);
		if (field == SL_F_COUNT)
			return unknown_field(prog, opt, f);
		if (it.nfields == SL_ITEM_FIELDS || (kind != SL_ITEM_DISTINCT && it.nfields == 1)) {
			fprintf(stderr, "%s: %s: too many fields in '%s'\n", prog, opt, arg);
			return -1;
		}
		it.field[it.nfields++] = field;
		at += (size_t)snprintf(it.name + at, at < sizeof it.name ? sizeof it.name - at : 0,
				       "_%s", f);
	}
	if (at >= sizeof it.name) {
		fprintf(stderr, "%s: %s '%s': too long a name\n", prog, opt, arg);
		return -1;
	}
	if (!it.nfields) {
		fprintf(stderr, "%s: %s: a field name is needed\n", prog, opt);
		return -1;
	}
	return add(prog, opt, p, &it);
}

int cli_plan_where(const char *prog, const char *expr, sl_plan *p)
{
	sl_filter f;
	size_t at = 0;
	const char *why = NULL;
	if (sl_filter_parse(expr, &f, &at, &why) != SL_OK) {
		/* the expression with a caret under where it goes wrong */
		fprintf(stderr, "%s: --where: %s\n  %s\n  %*s^\n", prog, why, expr, (int)at, "");
		return -1;
	}
	if (sl_plan_add_filter(p, &f, &why) != SL_OK) {
		fprintf(stderr, "%s: --where '%s': %s\n", prog, expr, why);
		return -1;
	}
	return 0;
}

/* Unix seconds of local midnight `days` days from today. */
static int64_t midnight(time_t now, int days)
{
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += days;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

int cli_parse_when(const char *prog, const char *opt, const char *text, time_t now, int64_t *out)
{
	size_t n = strlen(text);
	if (strcmp(text, "now") == 0) {
		*out = (int64_t)now;
		return 0;
	}
	if (strcmp(text, "today") == 0 || strcmp(text, "yesterday") == 0) {
		*out = midnight(now, text[0] == 't' ? 0 : -1);
		return 0;
	}
	if (text[0] == '-' && n >= 3) { /* -30m, -1h, -2d, -45s, -1w */
		char *end;
		long v = strtol(text + 1, &end, 10);
		static const struct {
			char unit;
			long seconds;
		} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
		for (size_t i = 0; end != text + 1 && end[0] && !end[1] && i < 5; i++)
			if (*end == units[i].unit && v >= 0 && v < 100L * 365 * 86400 / units[i].seconds) {
				*out = (int64_t)now - v * units[i].seconds;
				return 0;
			}
	}
	int64_t t;
	if (sl_time_parse(text, n, &t, NULL)) { /* ISO 8601, the log's own form, Unix seconds */
		*out = t;
		return 0;
	}
	if (n == 10) {
		char day[32];
		snprintf(day, sizeof day, "%sT00:00:00", text); /* a date alone: its UTC midnight */
		if (sl_time_parse(day, strlen(day), &t, NULL)) {
			*out = t;
			return 0;
		}
	}
	fprintf(stderr, "%s: invalid %s '%s' (ISO 8601 such as 2024-05-01T14:00:00+02:00, "
		"10/Oct/2000:13:55:36 -0700, Unix seconds, -30m, -1h, -2d, today, yesterday)\n",
		prog, opt, text);
	return -1;
}

int cli_check_format(const char *prog, sl_format fmt, const char *spec, const char *opt)
{
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_parser *p = NULL;
	size_t at = 0;
	const char *why = NULL;
	sl_status st = sl_parser_new(&p, &b, fmt, spec, &at, &why);
	sl_parser_free(p);
	if (st == SL_OK)
		return 0;
	/* the string with a caret under where it goes wrong */
	fprintf(stderr, "%s: %s: %s\n  ", prog, opt, why ? why : sl_strerror(st));
	cli_print_safe(stderr, spec, strlen(spec), 200);
	fprintf(stderr, "\n  %*s^\n", (int)(at < 200 ? at : 200), "");
	return -1;
}
