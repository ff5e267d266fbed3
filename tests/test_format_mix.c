/*
 * test_format_mix.c: the wrapped and mixed formats of lib/format/parser.c.
 *
 *  - mix_specs_round_trip: sl_format_mix_add lists each (format, spec)
 *    once, in the order first added, keeps a spec only for the formats
 *    that read one, refuses the 0x01 byte, a 17th format and a full
 *    buffer without changing the list; sl_format_mix_unit reads back what
 *    was added (the byte layout compared with bytes written here);
 *    sl_format_describe names single formats, syslog:NAME and mixes;
 *  - mix_parser_reads_by_unit: a mix parser reads a combined line only as
 *    its combined unit and a JSON line only as its JSON unit, with the
 *    fields each format gives; a field is in the mix when every unit has
 *    it; a CSV unit makes the mix stateful and reset forgets its header;
 *  - syslog_inner_formats: syslog:json (with a mapping), syslog:ltsv and
 *    syslog:custom read the message after an RFC 3164 or 5424 header, the
 *    record's line being the whole line; a line without a header and a
 *    bad inner name or string are refused (the string's error offset
 *    counted in the spec);
 *  - mix_out_of_memory: a parser of a mix in a budget that fails at every
 *    allocation in turn is refused and leaves the budget empty.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* the byte that starts each format of a mix (a macro: "\x01c" would be one hex escape) */
#define M "\x01"

static void mix_specs_round_trip(void **state)
{
	(void)state;
	char mix[256] = "";
	uint32_t u = 99;
	assert_int_equal(sl_format_mix_add(mix, sizeof mix, SL_FMT_JSON, "client=ip", &u), SL_OK);
	assert_int_equal(u, 0);
	assert_int_equal(sl_format_mix_add(mix, sizeof mix, SL_FMT_COMBINED, "client=ip", &u), SL_OK);
	assert_int_equal(u, 1);
	assert_int_equal(sl_format_mix_add(mix, sizeof mix, SL_FMT_JSON, "client=ip", &u), SL_OK);
	assert_int_equal(u, 0); /* the same unit again */
	assert_int_equal(sl_format_mix_add(mix, sizeof mix, SL_FMT_SYSLOG, "json", &u), SL_OK);
	assert_int_equal(u, 2);
	assert_string_equal(mix, M "json:client=ip" M "combined:" M "syslog:json");
	assert_true(sl_format_spec_is_mix(mix));
	assert_false(sl_format_spec_is_mix("client=ip"));
	assert_false(sl_format_spec_is_mix(NULL));
	assert_int_equal(sl_format_mix_count(mix), 3);
	assert_int_equal(sl_format_mix_count("client=ip"), 1);

	char spec[64];
	sl_format f;
	assert_int_equal(sl_format_mix_unit(mix, 0, &f, spec, sizeof spec), SL_OK);
	assert_int_equal(f, SL_FMT_JSON);
	assert_string_equal(spec, "client=ip");
	assert_int_equal(sl_format_mix_unit(mix, 1, &f, spec, sizeof spec), SL_OK);
	assert_int_equal(f, SL_FMT_COMBINED);
	assert_string_equal(spec, "");
	assert_int_equal(sl_format_mix_unit(mix, 2, &f, spec, sizeof spec), SL_OK);
	assert_int_equal(f, SL_FMT_SYSLOG);
	assert_string_equal(spec, "json");
	assert_int_equal(sl_format_mix_unit(mix, 3, &f, spec, sizeof spec), SL_EINVAL);
	assert_int_equal(sl_format_mix_unit(mix, 0, &f, spec, 4), SL_ENOMEM);
	assert_int_equal(sl_format_mix_unit(M "nosuch:", 0, &f, spec, sizeof spec), SL_EINVAL);
	assert_int_equal(sl_format_mix_unit(M "json", 0, &f, spec, sizeof spec), SL_EINVAL);

	/* refusals leave the list as it was */
	char before[256];
	strcpy(before, mix);
	assert_int_equal(sl_format_mix_add(mix, sizeof mix, SL_FMT_CUSTOM, "$a" M "$b", &u),
			 SL_EINVAL);
	assert_int_equal(sl_format_mix_add(mix, sizeof mix, SL_FMT_LINES, NULL, &u), SL_EINVAL);
	assert_int_equal(sl_format_mix_add(mix, sizeof mix, SL_FMT_AUTO, NULL, &u), SL_EINVAL);
	assert_int_equal(sl_format_mix_add(mix, 40, SL_FMT_CSV, NULL, &u), SL_ENOMEM);
	assert_string_equal(mix, before);
	char many[1024] = "";
	for (int k = 0; k < SL_FORMAT_MIX_MAX; k++) {
		char s[32];
		snprintf(s, sizeof s, "$status %d", k);
		assert_int_equal(sl_format_mix_add(many, sizeof many, SL_FMT_CUSTOM, s, &u), SL_OK);
		assert_int_equal(u, (uint32_t)k);
	}
	assert_int_equal(sl_format_mix_add(many, sizeof many, SL_FMT_CSV, NULL, &u), SL_ENOMEM);

	char name[128];
	assert_string_equal(sl_format_describe(SL_FMT_JSON, mix, name, sizeof name),
			    "json, combined, syslog:json");
	assert_string_equal(sl_format_describe(SL_FMT_SYSLOG, "", name, sizeof name), "syslog");
	assert_string_equal(sl_format_describe(SL_FMT_SYSLOG, "custom:$a $b", name, sizeof name),
			    "syslog:custom");
	assert_string_equal(sl_format_describe(SL_FMT_COMBINED, NULL, name, sizeof name),
			    "combined");
	assert_string_equal(sl_format_describe(SL_FMT_JSON, mix, name, 8), "json, c");
	/* what a report sets aside: one parser's room per unit not classic */
	assert_int_equal(sl_parser_reserve(SL_FMT_COMBINED, NULL), 0);
	assert_int_equal(sl_parser_reserve(SL_FMT_JSON, NULL), SL_REPORT_PARSER_BYTES);
	assert_true(sl_parser_reserve(SL_FMT_JSON, mix) >= 2 * SL_REPORT_PARSER_BYTES);
}

static void mix_parser_reads_by_unit(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_parser *p = NULL;
	const char *mix = M "json:" M "combined:" M "csv:";
	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_JSON, mix, NULL, NULL), SL_OK);
	const char *comb = "192.0.2.1 - - [01/May/2024:10:00:00 +0000] \"GET /c HTTP/1.1\" 404 7 "
			   "\"-\" \"ua\"";
	const char *json = "{\"remote_addr\":\"192.0.2.2\",\"time_iso8601\":\"2024-05-01T10:00:00Z\","
			   "\"request\":\"GET /j HTTP/1.1\",\"status\":201}";
	sl_record rec;
	sl_time_cache tc;
	memset(&tc, 0, sizeof tc);
	/* unit 0 (json) by default */
	assert_int_equal(sl_parser_parse(p, json, strlen(json), &rec, &tc), SL_OK);
	assert_int_equal(rec.status, 201);
	assert_int_not_equal(sl_parser_parse(p, comb, strlen(comb), &rec, &tc), SL_OK);
	sl_parser_select(p, 1);
	assert_int_equal(sl_parser_parse(p, comb, strlen(comb), &rec, &tc), SL_OK);
	assert_int_equal(rec.status, 404);
	assert_int_equal(rec.field[SL_F_PATH].len, 2);
	assert_memory_equal(rec.field[SL_F_PATH].p, "/c", 2);
	assert_int_not_equal(sl_parser_parse(p, json, strlen(json), &rec, &tc), SL_OK);
	/* a field every unit has, and one the csv header may not name but
	 * combined has: all three have user_agent (csv: by its header) */
	assert_true(sl_parser_has_field(p, SL_F_STATUS));
	assert_true(sl_parser_stateful(p));
	sl_parser_select(p, 2);
	assert_int_equal(sl_parser_parse(p, "status,time", 11, &rec, &tc), SL_ESKIP);
	assert_int_equal(sl_parser_parse(p, "500,2024-05-01T10:00:00Z", 24, &rec, &tc), SL_OK);
	assert_int_equal(rec.status, 500);
	sl_parser_reset(p); /* the header is forgotten: the next row is one */
	assert_int_equal(sl_parser_parse(p, "500,2024-05-01T10:00:00Z", 24, &rec, &tc), SL_ESKIP);
	sl_parser_select(p, 77); /* out of range: unit 0 */
	assert_int_equal(sl_parser_parse(p, json, strlen(json), &rec, &tc), SL_OK);
	sl_parser_free(p);

	/* common lacks the referrer: so does a mix holding it */
	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_COMBINED, M "combined:" M "common:", NULL,
				       NULL),
			 SL_OK);
	assert_false(sl_parser_has_field(p, SL_F_REFERRER));
	assert_true(sl_parser_has_field(p, SL_F_CLIENT));
	assert_false(sl_parser_stateful(p));
	sl_parser_free(p);
	/* the first unit must be the report's format */
	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_COMBINED, M "json:" M "combined:", NULL, NULL),
			 SL_EINVAL);
	assert_int_equal(b.used, 0);
}

static void syslog_inner_formats(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_parser *p = NULL;
	sl_record rec;
	sl_time_cache tc;
	memset(&tc, 0, sizeof tc);

	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_SYSLOG, "json:status=code", NULL, NULL), SL_OK);
	const char *l1 = "May  1 10:00:00 web1 app[12]: {\"remote_addr\":\"192.0.2.1\","
			 "\"time_iso8601\":\"2024-05-01T10:00:00Z\",\"code\":503}";
	assert_int_equal(sl_parser_parse(p, l1, strlen(l1), &rec, &tc), SL_OK);
	assert_int_equal(rec.status, 503);
	assert_ptr_equal(rec.field[SL_F_LINE].p, l1);
	assert_int_equal(rec.field[SL_F_LINE].len, strlen(l1));
	assert_int_equal(rec.field[SL_F_CLIENT].len, 9);
	assert_memory_equal(rec.field[SL_F_CLIENT].p, "192.0.2.1", 9);
	const char *bare = "{\"remote_addr\":\"192.0.2.1\",\"code\":200}";
	assert_int_equal(sl_parser_parse(p, bare, strlen(bare), &rec, &tc), SL_EFORMAT);
	assert_string_equal(rec.why, "no syslog header");
	assert_true(sl_parser_has_field(p, SL_F_CLIENT));
	sl_parser_free(p);

	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_SYSLOG, "ltsv", NULL, NULL), SL_OK);
	const char *l2 = "<13>1 2024-05-01T10:00:00Z h app - - [x a=\"]\"] time:2024-05-01T10:00:00Z\t"
			 "host:192.0.2.9\treq:GET /l HTTP/1.1\tstatus:301\tsize:7\r";
	assert_int_equal(sl_parser_parse(p, l2, strlen(l2), &rec, &tc), SL_OK);
	assert_int_equal(rec.status, 301);
	assert_int_equal(rec.bytes, 7);
	sl_parser_free(p);

	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_SYSLOG, "custom:$remote_addr $status", NULL,
				       NULL),
			 SL_OK);
	const char *l3 = "Oct 11 22:14:15 web1 nginx: 192.0.2.5 418";
	assert_int_equal(sl_parser_parse(p, l3, strlen(l3), &rec, &tc), SL_OK);
	assert_int_equal(rec.status, 418);
	assert_false(sl_parser_has_field(p, SL_F_REFERRER));
	sl_parser_free(p);

	size_t at = 0;
	const char *why = NULL;
	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_SYSLOG, "nosuch", &at, &why), SL_EINVAL);
	assert_non_null(why);
	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_SYSLOG, "syslog", &at, &why), SL_EINVAL);
	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_SYSLOG, "lines", &at, &why), SL_EINVAL);
	/* "custom:" is 7 bytes; the '$' without a name is at 3 in the string */
	assert_int_equal(sl_parser_new(&p, &b, SL_FMT_SYSLOG, "custom:%h $ x", &at, &why),
			 SL_EINVAL);
	assert_int_equal(at, 7 + 3);
	assert_int_equal(b.used, 0);
}

static void mix_out_of_memory(void **state)
{
	(void)state;
	const char *mix = M "json:" M "combined:" M "syslog:custom:$remote_addr $status" M "csv:";
	size_t fine = 0;
	for (size_t limit = 0; limit < (1u << 20); limit += 512) {
		sl_budget b;
		sl_budget_init(&b, limit);
		sl_parser *p = NULL;
		sl_status st = sl_parser_new(&p, &b, SL_FMT_JSON, mix, NULL, NULL);
		if (st == SL_OK) {
			fine = limit;
			sl_parser_free(p);
			assert_int_equal(b.used, 0);
			break;
		}
		assert_int_equal(st, SL_ENOMEM);
		assert_null(p);
		assert_int_equal(b.used, 0);
	}
	assert_true(fine > 0);
	assert_true(fine <= sl_parser_reserve(SL_FMT_JSON, mix));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mix_specs_round_trip),
		cmocka_unit_test(mix_parser_reads_by_unit),
		cmocka_unit_test(syslog_inner_formats),
		cmocka_unit_test(mix_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
