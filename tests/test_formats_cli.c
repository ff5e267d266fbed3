/*
 * test_formats_cli.c: the formats of issue 14 through the program: -f auto
 * on W3C, CSV and JSON lines, --log-format, --field, and their state files.
 * Each case writes its input and checks the JSON report against what it
 * wrote.
 *
 * Cases:
 *   w3c_detected_headers_skipped  a W3C log whose #Fields change mid-file:
 *                                 detected (said on stderr), read by one
 *                                 worker even at -j 2, header lines counted
 *                                 apart, every record's status and path
 *   log_format_equals_combined    nginx's combined string through
 *                                 --log-format gives the figures of -f
 *                                 combined on a generated log, at -j 1 and 2
 *   json_lines_and_field          nginx JSON keys without options, other
 *                                 keys through --field, numbers as strings
 *   csv_header_names_columns      CSV with quoted commas and "" escapes
 *   bad_format_strings            refused before reading, with a caret
 *   states_keep_their_format      a --log-format state merges only with a
 *                                 state of the same string
 */
#include "testutil.h"
#include "json.h"
#include "runutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[128];
static const char *bin;

static int setup(void **state)
{
	(void)state;
	bin = tu_sluice_bin();
	snprintf(dir, sizeof dir, "/tmp/sluice-test-formats-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(dir);
}

static run_result run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static run_result run(const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	return tu_run_sluice(dir, bin, args);
}

static const char *write_input(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	tu_write_file(path, text, strlen(text));
	return path;
}

static uint64_t status_of(const jv *j, const char *code)
{
	const jv *s = json_get(json_get(j, "status"), code);
	return s ? s->u : 0;
}

static void w3c_detected_headers_skipped(void **state)
{
	(void)state;
	const char *path = write_input(
		"iis.log",
		"#Software: Microsoft Internet Information Services 10.0\n"
		"#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-bytes\n"
		"2024-05-01 00:00:01 192.0.2.1 GET /a 200 100\n"
		"2024-05-01 00:00:02 192.0.2.2 GET /b 404 0\n"
		"#Fields: date time cs-method cs-uri-stem c-ip sc-status time-taken\n"
		"2024-05-01 00:00:03 POST /c 192.0.2.3 500 250\n"
		"2024-05-01 00:00:04 GET /a 192.0.2.1 200 15\n");
	run_result r = run("--json -j 2 %s", path);
	if (r.status != 0 || !r.json)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_string_equal(json_get(r.json, "format")->str, "w3c");
	assert_non_null(strstr(r.err, "format w3c (detected)"));
	assert_int_equal(json_u64(r.json, "lines"), 7);
	assert_int_equal(json_u64(r.json, "requests"), 4);
	assert_int_equal(json_u64(r.json, "skipped"), 3);
	assert_int_equal(json_u64(r.json, "malformed"), 0);
	assert_int_equal(status_of(r.json, "200"), 2);
	assert_int_equal(status_of(r.json, "404"), 1);
	assert_int_equal(status_of(r.json, "500"), 1); /* read with the second header */
	const jv *top = json_at(json_get(json_get(r.json, "top"), "path"), 0);
	assert_string_equal(json_get(top, "value")->str, "/a");
	assert_int_equal(json_u64(top, "count"), 2);
	assert_int_equal(json_u64(json_get(r.json, "unique_ips"), "estimate"), 3);
	run_result_free(&r);
}

static void log_format_equals_combined(void **state)
{
	(void)state;
	char path[256], cmd[512];
	snprintf(path, sizeof path, "%s/gen.log", dir);
	const char *gen = getenv("SLUICE_GEN") ? getenv("SLUICE_GEN") : "./sluice-gen";
	snprintf(cmd, sizeof cmd, "%s --lines 20000 --seed 7 > %s", gen, path);
	assert_int_equal(tu_run(cmd), 0);
	static const char *const keys[] = {"requests", "malformed", "bytes_sent"};
	for (int j = 1; j <= 2; j++) {
		run_result a = run("--json -j %d -f combined %s", j, path);
		run_result b = run("--json -j %d --log-format '$remote_addr - $remote_user "
				   "[$time_local] \"$request\" $status $body_bytes_sent "
				   "\"$http_referer\" \"$http_user_agent\"' %s",
				   j, path);
		assert_int_equal(a.status, 0);
		assert_int_equal(b.status, 0);
		for (size_t k = 0; k < 3; k++)
			assert_int_equal(json_u64(a.json, keys[k]), json_u64(b.json, keys[k]));
		assert_true(json_u64(a.json, "requests") > 19000);
		for (int c = 100; c < 600; c++) {
			char code[16];
			snprintf(code, sizeof code, "%d", c);
			assert_int_equal(status_of(a.json, code), status_of(b.json, code));
		}
		static const char *const lists[] = {"url", "ip", "user_agent", "not_found"};
		for (int l = 0; l < 4; l++) {
			const jv *x = json_get(json_get(a.json, "top"), lists[l]);
			const jv *y = json_get(json_get(b.json, "top"), lists[l]);
			assert_int_equal(x->n, y->n);
			for (size_t i = 0; i < x->n; i++) {
				assert_string_equal(json_get(x->items[i], "value")->str,
						    json_get(y->items[i], "value")->str);
				assert_int_equal(json_u64(x->items[i], "count"),
						 json_u64(y->items[i], "count"));
			}
		}
		assert_string_equal(json_get(b.json, "format")->str, "custom");
		run_result_free(&a);
		run_result_free(&b);
	}
}

static void json_lines_and_field(void **state)
{
	(void)state;
	const char *path = write_input(
		"app.jsonl",
		"{\"remote_addr\":\"192.0.2.1\",\"time_iso8601\":\"2024-05-01T10:00:00+02:00\","
		"\"request\":\"GET /a?x=1 HTTP/1.1\",\"status\":200,\"body_bytes_sent\":\"512\","
		"\"http_user_agent\":\"curl/8\",\"request_time\":\"0.010\"}\n"
		"{\"remote_addr\":\"192.0.2.2\",\"time_iso8601\":\"2024-05-01T10:00:05+02:00\","
		"\"request\":\"POST /b HTTP/1.1\",\"status\":\"503\",\"body_bytes_sent\":10}\n"
		"not json at all\n");
	run_result r = run("--json %s", path);
	assert_int_equal(r.status, 0);
	assert_string_equal(json_get(r.json, "format")->str, "json");
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_int_equal(json_u64(r.json, "malformed"), 1);
	assert_int_equal(json_u64(r.json, "bytes_sent"), 522);
	assert_int_equal(status_of(r.json, "503"), 1);
	assert_string_equal(json_get(r.json, "first_time")->str, "2024-05-01T08:00:00Z");
	assert_string_equal(json_get(r.json, "log_offset")->str, "+02:00");
	run_result_free(&r);

	path = write_input("other.jsonl",
			   "{\"ip\":\"192.0.2.3\",\"ts\":1714550410,\"req\":{\"m\":\"GET\",\"u\":\"/c\"},"
			   "\"code\":404}\n"
			   "{\"ip\":\"192.0.2.4\",\"ts\":\"1714550411\",\"req\":{\"m\":\"GET\",\"u\":\"/c\"},"
			   "\"code\":\"200\"}\n");
	r = run("--json -f json --field client=ip --field time=ts --field method=req.m "
		"--field url=req.u --field status=code %s",
		path);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_int_equal(status_of(r.json, "404"), 1);
	const jv *top = json_at(json_get(json_get(r.json, "top"), "url"), 0);
	assert_string_equal(json_get(top, "value")->str, "/c");
	assert_int_equal(json_u64(top, "count"), 2);
	run_result_free(&r);
	r = run("-f json --field clientt=ip %s", path);
	assert_int_equal(r.status, 2);
	run_result_free(&r);
}

static void csv_header_names_columns(void **state)
{
	(void)state;
	const char *path = write_input(
		"log.csv",
		"time,client,method,url,status,bytes,user_agent\n"
		"2024-05-01T00:00:01Z,192.0.2.1,GET,/a,200,10,\"Mozilla/5.0 (X11, Linux)\"\n"
		"2024-05-01T00:00:02Z,192.0.2.2,GET,/b,404,0,\"say \"\"hi\"\"\"\n");
	run_result r = run("--json -f csv %s", path);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_int_equal(json_u64(r.json, "skipped"), 1);
	const jv *agents = json_get(json_get(r.json, "top"), "user_agent");
	assert_int_equal(agents->n, 2);
	bool comma = false, quote = false;
	for (size_t i = 0; i < agents->n; i++) {
		const char *v = json_get(agents->items[i], "value")->str;
		comma |= strcmp(v, "Mozilla/5.0 (X11, Linux)") == 0;
		quote |= strcmp(v, "say \"hi\"") == 0;
	}
	assert_true(comma && quote);
	run_result_free(&r);
}

static void bad_format_strings(void **state)
{
	(void)state;
	const char *path = write_input("one.log", "x\n");
	run_result r = run("--log-format '%%h %%{foo' %s", path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "  %h %{foo\n      ^"));
	run_result_free(&r);
	r = run("--log-format '%%h %%Z' %s", path);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "  %h %Z\n     ^"));
	run_result_free(&r);
	r = run("-f nosuch %s", path);
	assert_int_equal(r.status, 2);
	run_result_free(&r);
}

static void states_keep_their_format(void **state)
{
	(void)state;
	const char *path = write_input(
		"c.log", "192.0.2.1 [01/May/2024:10:00:00 +0000] \"GET /x HTTP/1.1\" 200 12\n");
	const char *f1 = "'$remote_addr [$time_local] \"$request\" $status $body_bytes_sent'";
	const char *f2 = "'$remote_addr [$time_local] \"$request\" $status $bytes_sent'";
	run_result r = run("-q --log-format %s --save %s/a.st %s", f1, dir, path);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("-q --log-format %s --save %s/b.st %s", f1, dir, path);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("-q --log-format %s --save %s/c.st %s", f2, dir, path);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("report --json %s/a.st %s/b.st", dir, dir);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	run_result_free(&r);
	r = run("merge -o %s/ac.st %s/a.st %s/c.st", dir, dir, dir);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "different log formats"));
	run_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(w3c_detected_headers_skipped),
		cmocka_unit_test(log_format_equals_combined),
		cmocka_unit_test(json_lines_and_field),
		cmocka_unit_test(csv_header_names_columns),
		cmocka_unit_test(bad_format_strings),
		cmocka_unit_test(states_keep_their_format),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
