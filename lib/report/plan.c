/*
 * plan.c: plans (sl_plan_*), the list of sketches a report computes over
 * the named fields of its records.
 *
 * A plan is a plain value of fixed size (no allocation): items in the order
 * they were added, each a kind, one to three fields, a condition and a
 * name. sl_plan_add checks an item once, so the report (lib/report/report.c) and
 * the state decoder (lib/report/state.c) can trust any plan that went through it;
 * the decoder rebuilds a saved plan through sl_plan_add too.
 *
 * The default plans are written here once: the access-log report (the
 * figures, JSON keys and budget shares of the report before plans existed)
 * and the line report of `-f lines`.
 */
#include "sluice.h"
#include "report/regex.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Default weights in the budget (see lib/report/report.c, "Memory plan"). */
#define SHARE_DISTINCT 9
#define SHARE_TOP 12
#define SHARE_GROUPS 40 /* a group holds five small sketches */

void sl_plan_init(sl_plan *p)
{
	memset(p, 0, sizeof *p);
}

static sl_status bad(const char **why, const char *text)
{
	if (why)
		*why = text;
	return SL_EINVAL;
}

static bool valid_field(sl_field f)
{
	return (unsigned)f < SL_F_COUNT;
}

sl_status sl_plan_add(sl_plan *p, const sl_item *it, const char **why)
{
	if (p->nitems >= SL_PLAN_MAX)
		return bad(why, "the plan is full");
	if ((unsigned)it->kind >= SL_ITEM_KINDS)
		return bad(why, "unknown item kind");
	size_t nlen = strnlen(it->name, SL_ITEM_NAME);
	if (nlen == 0 || nlen == SL_ITEM_NAME)
		return bad(why, "an item needs a name shorter than 32 bytes");
	if (sl_plan_find(p, it->name) >= 0)
		return bad(why, "two items with one name");
	uint32_t maxf = it->kind == SL_ITEM_DISTINCT ? SL_ITEM_FIELDS : 1;
	if (it->nfields < 1 || it->nfields > maxf)
		return bad(why, it->kind == SL_ITEM_DISTINCT ? "distinct takes 1 to 3 fields"
							     : "this item takes one field");
	for (uint32_t i = 0; i < it->nfields; i++)
		if (!valid_field(it->field[i]))
			return bad(why, "unknown field");
	sl_field f = it->field[0];
	for (uint32_t i = 0; i < it->nfields; i++) {
		if (it->field[i] == SL_F_LENGTH && it->kind != SL_ITEM_QUANTILES)
			return bad(why, "the length is a number only: quantiles(length)");
		if ((it->field[i] == SL_F_STATUS_CLASS || it->field[i] == SL_F_HOUR) &&
		    it->kind != SL_ITEM_GROUPS)
			return bad(why, "status_class and hour group records: --by only");
	}
	switch (it->kind) {
	case SL_ITEM_QUANTILES:
		if (!sl_field_is_number(f) || f == SL_F_TIME)
			return bad(why, "quantiles need a numeric field");
		break;
	case SL_ITEM_TALLY:
		if (f != SL_F_STATUS && sl_field_type_of(f) != SL_TYPE_STRING)
			return bad(why, "a tally takes status or a string field");
		break;
	case SL_ITEM_GROUPS: {
		uint32_t n = 0;
		for (uint32_t i = 0; i < p->nitems; i++)
			n += p->item[i].kind == SL_ITEM_GROUPS;
		if (n >= 2)
			return bad(why, "at most two --by per report");
		if (it->share > 90)
			return bad(why, "a groups item takes at most 90% of the report");
		break;
	}
	case SL_ITEM_SERIES:
		if (f != SL_F_TIME)
			return bad(why, "a series is over time");
		for (uint32_t i = 0; i < p->nitems; i++)
			if (p->item[i].kind == SL_ITEM_SERIES)
				return bad(why, "one series per plan");
		break;
	default:
		break;
	}
	const sl_where *w = &it->where;
	switch (w->op) {
	case SL_WHERE_ALL:
		break;
	case SL_WHERE_IN:
	case SL_WHERE_NOT_IN:
		if (!valid_field(w->field) || !sl_field_is_number(w->field))
			return bad(why, "a range condition needs a numeric field");
		if (isnan(w->lo) || isnan(w->hi))
			return bad(why, "a range condition needs two numbers");
		break;
	case SL_WHERE_EQ:
	case SL_WHERE_NE:
		if (!valid_field(w->field))
			return bad(why, "unknown field in a condition");
		if (strnlen(w->text, SL_WHERE_TEXT) == SL_WHERE_TEXT)
			return bad(why, "a condition's text is at most 23 bytes");
		break;
	default:
		return bad(why, "unknown condition");
	}
	sl_item *d = &p->item[p->nitems++];
	memset(d, 0, sizeof *d);
	d->kind = it->kind;
	d->nfields = it->nfields;
	memcpy(d->field, it->field, it->nfields * sizeof *it->field);
	d->where.op = w->op;
	if (w->op != SL_WHERE_ALL)
		d->where.field = w->field;
	if (w->op == SL_WHERE_IN || w->op == SL_WHERE_NOT_IN) {
		d->where.lo = w->lo;
		d->where.hi = w->hi;
	}
	if (w->op == SL_WHERE_EQ || w->op == SL_WHERE_NE)
		memcpy(d->where.text, w->text, strnlen(w->text, SL_WHERE_TEXT));
	d->share = it->share ? it->share
			     : it->kind == SL_ITEM_DISTINCT ? SHARE_DISTINCT
			     : it->kind == SL_ITEM_TOP	    ? SHARE_TOP
			     : it->kind == SL_ITEM_GROUPS   ? SHARE_GROUPS
							    : 0;
	memcpy(d->name, it->name, nlen);
	return SL_OK;
}

static sl_item one(sl_item_kind kind, const char *name, sl_field f, const sl_where *w)
{
	sl_item it;
	memset(&it, 0, sizeof it);
	it.kind = kind;
	it.nfields = 1;
	it.field[0] = f;
	if (w)
		it.where = *w;
	snprintf(it.name, sizeof it.name, "%s", name ? name : "");
	return it;
}

sl_status sl_plan_add_top(sl_plan *p, const char *name, sl_field f, const sl_where *w,
			  const char **why)
{
	sl_item it = one(SL_ITEM_TOP, name, f, w);
	return sl_plan_add(p, &it, why);
}

sl_status sl_plan_add_quantiles(sl_plan *p, const char *name, sl_field f, const sl_where *w,
				const char **why)
{
	sl_item it = one(SL_ITEM_QUANTILES, name, f, w);
	return sl_plan_add(p, &it, why);
}

sl_status sl_plan_add_distinct(sl_plan *p, const char *name, const sl_field *f, uint32_t n,
			       const sl_where *w, const char **why)
{
	if (n < 1 || n > SL_ITEM_FIELDS)
		return bad(why, "distinct takes 1 to 3 fields");
	sl_item it = one(SL_ITEM_DISTINCT, name, f[0], w);
	it.nfields = n;
	memcpy(it.field, f, n * sizeof *f);
	return sl_plan_add(p, &it, why);
}

/* Adds an item of the default plans (never fails: checked by the tests). */
static void add(sl_plan *p, sl_item_kind kind, const char *name, sl_field f, uint32_t share,
		const sl_where *w)
{
	sl_item it = one(kind, name, f, w);
	it.share = share;
	sl_plan_add(p, &it, NULL);
}

void sl_plan_default(sl_plan *p, sl_format fmt, bool visitors_4xx)
{
	sl_plan_init(p);
	if (fmt == SL_FMT_LINES) {
		add(p, SL_ITEM_DISTINCT, "distinct_lines", SL_F_LINE, 25, NULL);
		add(p, SL_ITEM_TOP, "line", SL_F_LINE, 75, NULL);
		add(p, SL_ITEM_QUANTILES, "line_length", SL_F_LENGTH, 0, NULL);
		return;
	}
	/* GoAccess leaves the 4xx answers out of its visitors */
	const sl_where not_4xx = {SL_WHERE_NOT_IN, SL_F_STATUS, 400, 500, ""};
	const sl_where is_404 = {SL_WHERE_IN, SL_F_STATUS, 404, 405, ""};
	add(p, SL_ITEM_DISTINCT, "unique_ips", SL_F_CLIENT, 9, NULL);
	sl_item v = one(SL_ITEM_DISTINCT, "unique_visitors", SL_F_CLIENT,
			visitors_4xx ? NULL : &not_4xx);
	v.nfields = 3;
	v.field[1] = SL_F_DATE;
	v.field[2] = SL_F_USER_AGENT;
	v.share = 9;
	sl_plan_add(p, &v, NULL);
	add(p, SL_ITEM_TALLY, "status", SL_F_STATUS, 0, NULL);
	add(p, SL_ITEM_TALLY, "methods", SL_F_METHOD, 0, NULL);
	add(p, SL_ITEM_TALLY, "protocols", SL_F_PROTOCOL, 0, NULL);
	add(p, SL_ITEM_TOP, "url", SL_F_URL, 18, NULL);
	add(p, SL_ITEM_TOP, "path", SL_F_PATH, 14, NULL);
	add(p, SL_ITEM_TOP, "ip", SL_F_CLIENT, 14, NULL);
	add(p, SL_ITEM_TOP, "referrer", SL_F_REFERRER, 12, NULL);
	add(p, SL_ITEM_TOP, "user_agent", SL_F_USER_AGENT, 14, NULL);
	add(p, SL_ITEM_TOP, "not_found", SL_F_PATH, 10, &is_404);
	add(p, SL_ITEM_SERIES, "per_hour", SL_F_TIME, 0, NULL);
	add(p, SL_ITEM_QUANTILES, "request_time", SL_F_REQUEST_TIME, 0, NULL);
	add(p, SL_ITEM_QUANTILES, "response_bytes", SL_F_BYTES, 0, NULL);
}

static bool format_has(const void *ud, sl_field f)
{
	return sl_format_has_field(*(const sl_format *)ud, f);
}

sl_status sl_plan_check(const sl_plan *p, sl_format fmt, sl_field *missing)
{
	return sl_plan_check_with(p, format_has, &fmt, missing);
}

sl_status sl_plan_check_with(const sl_plan *p, bool (*has)(const void *ud, sl_field f),
			     const void *ud, sl_field *missing)
{
	for (uint32_t i = 0; i < p->nfilters; i++) {
		if (!has(ud, p->filter[i].field)) {
			if (missing)
				*missing = p->filter[i].field;
			return SL_EINVAL;
		}
	}
	if ((p->has_since || p->has_until) && !has(ud, SL_F_TIME)) {
		if (missing)
			*missing = SL_F_TIME;
		return SL_EINVAL;
	}
	for (uint32_t i = 0; i < p->nitems; i++) {
		const sl_item *it = &p->item[i];
		for (uint32_t k = 0; k <= it->nfields; k++) {
			sl_field f = k < it->nfields ? it->field[k] : it->where.field;
			if (k == it->nfields && it->where.op == SL_WHERE_ALL)
				break;
			if (!has(ud, f)) {
				if (missing)
					*missing = f;
				return SL_EINVAL;
			}
		}
	}
	return SL_OK;
}

int sl_plan_find(const sl_plan *p, const char *name)
{
	for (uint32_t i = 0; i < p->nitems; i++)
		if (strncmp(p->item[i].name, name, SL_ITEM_NAME) == 0)
			return (int)i;
	return -1;
}

/* Items are stored normalized by sl_plan_add (unused bytes zero), so equal
 * items are equal bytes. */
bool sl_plan_equal(const sl_plan *a, const sl_plan *b)
{
	if (a->nitems != b->nitems || a->exact != b->exact || a->nfilters != b->nfilters ||
	    a->has_since != b->has_since || a->has_until != b->has_until ||
	    (a->has_since && a->since != b->since) || (a->has_until && a->until != b->until))
		return false;
	return memcmp(a->item, b->item, a->nitems * sizeof *a->item) == 0 &&
	       memcmp(a->filter, b->filter, a->nfilters * sizeof *a->filter) == 0;
}

/* ---- filters ---------------------------------------------------------- */

static const char *const cmp_names[SL_CMP_COUNT] = {
	"=", "!=", "<", "<=", ">", ">=", "^=", "~", "in",
};

/* A number with an optional K, M, G or T (powers of 1024), whole. */
static bool parse_number(const char *s, double *v)
{
	char *end;
	if (!*s)
		return false;
	double x = strtod(s, &end);
	if (end == s || isnan(x) || isinf(x))
		return false;
	static const char units[] = "KMGT";
	const char *u = *end ? strchr(units, *end) : NULL;
	if (u && *u) {
		for (const char *k = units; k <= u; k++)
			x *= 1024;
		end++;
	}
	*v = x;
	return *end == 0;
}

sl_status sl_filter_parse(const char *expr, sl_filter *f, size_t *err_pos, const char **why)
{
	memset(f, 0, sizeof *f);
	const char *p = expr;
	size_t pos = 0;
#define FAIL(at, text)                         \
	do {                                   \
		if (err_pos)                   \
			*err_pos = (size_t)(at); \
		if (why)                       \
			*why = (text);         \
		return SL_EINVAL;              \
	} while (0)
	while (*p == ' ')
		p++;
	if (strncmp(p, "not ", 4) == 0) {
		f->negate = true;
		p += 4;
		while (*p == ' ')
			p++;
	}
	const char *name = p;
	while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	char field[32];
	size_t nl = (size_t)(p - name);
	if (nl == 0 || nl >= sizeof field)
		FAIL(name - expr, "a field name first (status, path, user_agent, ...)");
	memcpy(field, name, nl);
	field[nl] = 0;
	f->field = sl_field_from_name(field);
	if (f->field == SL_F_COUNT || f->field == SL_F_STATUS_CLASS || f->field == SL_F_HOUR)
		FAIL(name - expr, f->field == SL_F_COUNT ? "unknown field"
							 : "status_class and hour are for --by; "
							   "filter on status and time");
	while (*p == ' ')
		p++;
	pos = (size_t)(p - expr);
	int cmp = -1;
	size_t oplen = 0;
	for (int c = 0; c < SL_CMP_COUNT; c++) {
		size_t n = strlen(cmp_names[c]);
		if (strncmp(p, cmp_names[c], n) == 0 && n > oplen &&
		    (c != SL_CMP_IN || p[n] == ' ')) {
			cmp = c;
			oplen = n;
		}
	}
	if (cmp < 0)
		FAIL(pos, "an operator: = != < <= > >= ^= ~ in");
	f->cmp = (sl_cmp)cmp;
	p += oplen;
	while (*p == ' ')
		p++;
	pos = (size_t)(p - expr);
	size_t vl = strlen(p);
	if (vl >= 2 && (((p[0] == '\'' || p[0] == '"') && p[vl - 1] == p[0]) ||
			(f->cmp == SL_CMP_IN && p[0] == '(' && p[vl - 1] == ')'))) {
		p++;
		vl -= 2;
	}
	if (vl >= SL_FILTER_TEXT)
		FAIL(pos, "a value of at most 255 bytes");
	memcpy(f->text, p, vl);
	f->text[vl] = 0;
	bool number = sl_field_is_number(f->field);
	bool ordered = f->cmp >= SL_CMP_LT && f->cmp <= SL_CMP_GE;
	if (ordered && !number)
		FAIL(pos - oplen, "< <= > >= compare numbers: status, bytes, request_time, length");
	if (number && (ordered || f->cmp <= SL_CMP_NE)) {
		bool ok;
		if (f->field == SL_F_TIME) {
			int64_t t = 0;
			ok = sl_time_parse(f->text, vl, &t, NULL);
			f->num = (double)t;
		} else {
			ok = parse_number(f->text, &f->num);
		}
		if (!ok)
			FAIL(pos, f->field == SL_F_TIME ? "a time (ISO 8601 or Unix seconds)"
						       : "a number (K, M, G, T allowed)");
	}
	if (f->cmp == SL_CMP_IN && vl == 0)
		FAIL(pos, "a list of values: in GET,HEAD");
	if (f->cmp == SL_CMP_REGEX) {
		size_t at = 0;
		const char *err = NULL;
		if (sl_regex_check(f->text, &at, &err) != SL_OK)
			FAIL(pos + at, err ? err : "pattern refused");
	}
#undef FAIL
	return SL_OK;
}

sl_status sl_plan_add_filter(sl_plan *p, const sl_filter *f, const char **why)
{
	if (p->nfilters >= SL_FILTER_MAX)
		return bad(why, "at most 8 filters");
	if ((unsigned)f->field >= SL_F_COUNT || (unsigned)f->cmp >= SL_CMP_COUNT ||
	    strnlen(f->text, SL_FILTER_TEXT) == SL_FILTER_TEXT)
		return bad(why, "impossible filter");
	sl_filter *d = &p->filter[p->nfilters++];
	memset(d, 0, sizeof *d);
	d->field = f->field;
	d->cmp = f->cmp;
	d->negate = f->negate;
	d->num = f->num;
	memcpy(d->text, f->text, strlen(f->text));
	return SL_OK;
}

/* Would sl_filter_parse read text back as something else (spaces before
 * it skipped, one pair of quotes around it, or of parentheses after in,
 * taken off)? Then the description puts it in quotes: the parser takes off
 * that one outer pair only, whatever is inside. */
static bool needs_quotes(const sl_filter *f)
{
	const char *t = f->text;
	size_t n = strnlen(t, SL_FILTER_TEXT);
	if (n == 0)
		return false;
	if (t[0] == ' ')
		return true;
	return n >= 2 && (((t[0] == '\'' || t[0] == '"') && t[n - 1] == t[0]) ||
			  (f->cmp == SL_CMP_IN && t[0] == '(' && t[n - 1] == ')'));
}

const char *sl_filter_describe(const sl_filter *f, char *out, size_t n)
{
	const char *q = needs_quotes(f) ? "'" : "";
	snprintf(out, n, "%s%s %s %s%.*s%s", f->negate ? "not " : "", sl_field_name(f->field),
		 (unsigned)f->cmp < SL_CMP_COUNT ? cmp_names[f->cmp] : "?", q,
		 (int)strnlen(f->text, SL_FILTER_TEXT), f->text, q);
	return out;
}

static const char *const kind_names[SL_ITEM_KINDS] = {
	"distinct", "top", "quantiles", "tally", "series", "by",
};

const char *sl_plan_describe(const sl_plan *p, uint32_t i, char *out, size_t n)
{
	if (n == 0)
		return out;
	out[0] = 0;
	if (i >= p->nitems)
		return out;
	const sl_item *it = &p->item[i];
	size_t at = 0;
#define PUT(...)                                                                 \
	do {                                                                     \
		int k_ = snprintf(out + at, n - at, __VA_ARGS__);                 \
		at = k_ < 0 ? at : at + (size_t)k_ >= n ? n - 1 : at + (size_t)k_; \
	} while (0)
	PUT("%s(", kind_names[it->kind]);
	for (uint32_t k = 0; k < it->nfields; k++)
		PUT("%s%s", k ? "," : "", sl_field_name(it->field[k]));
	PUT(")");
	const sl_where *w = &it->where;
	const char *wf = w->op != SL_WHERE_ALL ? sl_field_name(w->field) : "";
	switch (w->op) {
	case SL_WHERE_IN: PUT(" where %s in [%g, %g)", wf, w->lo, w->hi); break;
	case SL_WHERE_NOT_IN: PUT(" where %s not in [%g, %g)", wf, w->lo, w->hi); break;
	case SL_WHERE_EQ: PUT(" where %s = \"%s\"", wf, w->text); break;
	case SL_WHERE_NE: PUT(" where %s != \"%s\"", wf, w->text); break;
	default: break;
	}
#undef PUT
	return out;
}

void sl_plan_visitors_4xx(sl_plan *p, bool count_4xx)
{
	int i = sl_plan_find(p, "unique_visitors");
	if (i < 0)
		return;
	sl_where *w = &p->item[i].where;
	memset(w, 0, sizeof *w);
	if (!count_4xx) {
		w->op = SL_WHERE_NOT_IN;
		w->field = SL_F_STATUS;
		w->lo = 400;
		w->hi = 500;
	}
}
