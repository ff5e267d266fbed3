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
 *   mixed_equals_sum_of_runs      -f json A -f combined B -f csv C: one
 *                                 report whose requests, statuses, bytes and
 *                                 top paths are the sums of three separate
 *                                 exact runs, at -j 1 and 2 (B is large
 *                                 enough for byte ranges); the header names
 *                                 the formats; inputs before the first -f
 *                                 take the first one after them; a -f
 *                                 after every input is still today's one
 *                                 format for all
 *   mixed_bad_format_names_input  a --top field one input's format lacks, an
 *                                 undetectable -f auto input and a -f that
 *                                 parses none of its input are refused or
 *                                 flagged naming that input
 *   mixed_states                  a mixed state resumes under the same -f
 *                                 list, refuses another, and does not merge
 *                                 with a single-format state
 *   syslog_around_any_format      -f syslog:json, syslog:ltsv, syslog with
 *                                 --log-format, and plain syslog (classic
 *                                 inside), RFC 3164 and 5424 lines
 *   stateful_on_stdin             CSV on standard input at -j 2 is read by
 *                                 one worker, with the note
 *   by_derived_fields             --by status_class and --by hour over formats
 *                                 read through a parser (CSV, JSON, a mix),
 *                                 which were refused as lacking them
 *   stateful_resume_knows_header  --state over a CSV and a W3C log, resumed
 *                                 after lines were appended: the header of
 *                                 the first run still names the columns
 *   one_log_four_formats          the same 20,000 requests from sluice-gen
 *                                 as combined, JSON lines and CSV, and
 *                                 rewritten here into an nginx log_format
 *                                 of another field order and separators:
 *                                 the four whole JSON reports are equal
 *                                 (-j 1 -m 1M) apart from the format, the
 *                                 inputs, the memory peak, CSV's header
 *                                 line and the tables' capacities (the
 *                                 budget left after the parser's share);
 *                                 the tables are exact; 0 malformed; one changed status in
 *                                 the rewritten log is caught by the
 *                                 comparison
 *   four_formats_default_budget   the same at the default budget, where the
 *                                 report's tables pass 2 MiB and lines go
 *                                 through feed_deep's ring, where a user
 *                                 agent holding \" is decoded into the
 *                                 JSON/CSV parser's scratch buffer, which
 *                                 the next lines overwrote before the ring
 *                                 recorded the line (sqlmap's agent lost 72
 *                                 of 1365 requests to corrupt keys)
 *   decoded_fields_survive_the_ring  the same for decoded fields of up to
 *                                 and past the ring's 512 bytes a line
 *   gen_vhosts_json_csv           sluice-gen --vhosts N as JSON lines and
 *                                 CSV: equal --by vhost reports, N groups,
 *                                 the same group counts and bytes as
 *                                 vcombined --vhosts N
 */
#include "testutil.h"
#include "json.h"
#include "runutil.h"

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

/* sluice with printf-formatted arguments, in this test's directory */
#define run(...) tu_run_sluicef(dir, bin, __VA_ARGS__)

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
	/* resuming: another format string is refused before reading, naming
	 * both; -f auto takes the state's format with its string */
	r = run("-q --log-format %s --state %s/a.st %s", f2, dir, path);
	assert_int_equal(r.status, 2);
	if (!strstr(r.err, "a.st holds a report of") || !strstr(r.err, "bytes_sent'"))
		fail_msg("stderr: %s", r.err);
	run_result_free(&r);
	r = run("-q --json --state %s/a.st %s", dir, path);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(r.json, "requests"), 1);
	run_result_free(&r);
	/* and the format inside syslog messages is part of the format */
	const char *sj = write_input(
		"s.log", "<13>1 2024-05-01T10:00:00Z web1 nginx - - - {\"remote_addr\":\"192.0.2.1\","
			 "\"time_iso8601\":\"2024-05-01T10:00:00+00:00\",\"request\":\"GET /x "
			 "HTTP/1.1\",\"status\":200,\"body_bytes_sent\":12}\n");
	r = run("-q -f syslog:json --save %s/s.st %s", dir, sj);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("-q -f syslog:ltsv --state %s/s.st %s", dir, sj);
	assert_int_equal(r.status, 2);
	if (!strstr(r.err, "syslog:json") || !strstr(r.err, "syslog:ltsv"))
		fail_msg("stderr: %s", r.err);
	run_result_free(&r);
	r = run("-q --json --state %s/s.st %s", dir, sj);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(r.json, "requests"), 1);
	run_result_free(&r);
}


/* ---- several formats in one run ------------------------------------------- */

static const char *const mix_paths[] = {"/", "/a", "/b", "/api/x", "/api/y", "/img/1.png"};
static const unsigned mix_status[] = {200, 200, 200, 301, 404, 500};

/* Writes the three inputs of the mixed runs, from one seeded generator:
 * JSON lines (nginx keys), a combined log of `big` lines, a CSV. The same
 * paths occur in all three. */
static void write_mixed(uint64_t seed, size_t big)
{
	tu_rng g = {seed};
	char path[256];
	size_t cap = (big + 1000) * 256, n = 0; /* every line is shorter than 256 bytes */
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (size_t i = 0; i < 700; i++)
		n += (size_t)snprintf(buf + n, cap - n,
				      "{\"remote_addr\":\"192.0.2.%u\",\"time_iso8601\":"
				      "\"2024-05-01T11:%02u:%02u+00:00\",\"request\":\"GET %s "
				      "HTTP/1.1\",\"status\":%u,\"body_bytes_sent\":\"%u\","
				      "\"http_user_agent\":\"curl/8\"}\n",
				      (unsigned)tu_below(&g, 50), (unsigned)tu_below(&g, 60),
				      (unsigned)tu_below(&g, 60), mix_paths[tu_below(&g, 6)],
				      mix_status[tu_below(&g, 6)], (unsigned)tu_below(&g, 5000));
	snprintf(path, sizeof path, "%s/mix.jsonl", dir);
	tu_write_file(path, buf, n);
	n = 0;
	for (size_t i = 0; i < big; i++)
		n += (size_t)snprintf(buf + n, cap - n,
				      "198.51.100.%u - - [01/May/2024:10:%02u:%02u +0000] \"GET %s "
				      "HTTP/1.1\" %u %u \"-\" \"Mozilla/5.0 (X11; Linux x86_64) "
				      "Gecko/20100101 Firefox/126.0\"\n",
				      (unsigned)tu_below(&g, 200), (unsigned)tu_below(&g, 60),
				      (unsigned)tu_below(&g, 60), mix_paths[tu_below(&g, 6)],
				      mix_status[tu_below(&g, 6)], (unsigned)tu_below(&g, 90000));
	snprintf(path, sizeof path, "%s/mix.log", dir);
	tu_write_file(path, buf, n);
	n = (size_t)snprintf(buf, cap, "time,client,method,url,status,bytes\n");
	for (size_t i = 0; i < 300; i++)
		n += (size_t)snprintf(buf + n, cap - n, "2024-05-01T12:%02u:%02uZ,203.0.113.%u,GET,%s,%u,%u\n",
				      (unsigned)tu_below(&g, 60), (unsigned)tu_below(&g, 60),
				      (unsigned)tu_below(&g, 30), mix_paths[tu_below(&g, 6)],
				      mix_status[tu_below(&g, 6)], (unsigned)tu_below(&g, 700));
	snprintf(path, sizeof path, "%s/mix.csv", dir);
	tu_write_file(path, buf, n);
	free(buf);
}

/* A counter the report leaves out when it is 0 (skipped, filtered). */
static uint64_t counter(const jv *j, const char *key)
{
	return json_get(j, key) ? json_u64(j, key) : 0;
}

/* The count of `value` in top list `list` of j (0 when absent). */
static uint64_t top_count(const jv *j, const char *list, const char *value)
{
	const jv *l = json_get(json_get(j, "top"), list);
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(json_get(l->items[i], "value")->str, value) == 0)
			return json_u64(l->items[i], "count");
	return 0;
}

static void mixed_equals_sum_of_runs(void **state)
{
	(void)state;
	uint64_t seed = tu_seed("mixed_equals_sum_of_runs", 14);
	write_mixed(seed, 40000); /* about 5 MB: byte ranges at -j 2 */
	run_result part[3];
	part[0] = run("--json -n 100 -j 1 -f json %s/mix.jsonl", dir);
	part[1] = run("--json -n 100 -j 1 -f combined %s/mix.log", dir);
	part[2] = run("--json -n 100 -j 1 -f csv %s/mix.csv", dir);
	for (int k = 0; k < 3; k++)
		if (part[k].status != 0 || !part[k].json)
			fail_msg("seed %llu: part %d: exit %d: %s", (unsigned long long)seed, k,
				 part[k].status, part[k].err);
	for (int j = 1; j <= 2; j++) {
		run_result m = run("--json -n 100 -j %d -f json %s/mix.jsonl -f combined %s/mix.log "
				   "-f csv %s/mix.csv", j, dir, dir, dir);
		if (m.status != 0 || !m.json)
			fail_msg("seed %llu: -j %d: exit %d: %s", (unsigned long long)seed, j, m.status,
				 m.err);
		static const char *const keys[] = {"lines", "requests", "malformed", "skipped",
						   "bytes_sent"};
		for (size_t k = 0; k < 5; k++) {
			uint64_t sum = 0;
			for (int p = 0; p < 3; p++)
				sum += counter(part[p].json, keys[k]);
			if (counter(m.json, keys[k]) != sum)
				fail_msg("seed %llu -j %d: %s %llu, the parts sum to %llu",
					 (unsigned long long)seed, j, keys[k],
					 (unsigned long long)counter(m.json, keys[k]),
					 (unsigned long long)sum);
		}
		assert_int_equal(json_u64(m.json, "malformed"), 0);
		assert_int_equal(counter(m.json, "skipped"), 1); /* the CSV header */
		for (size_t s = 0; s < 6; s++) {
			char code[8];
			snprintf(code, sizeof code, "%u", mix_status[s]);
			uint64_t sum = 0;
			for (int p = 0; p < 3; p++)
				sum += status_of(part[p].json, code);
			assert_int_equal(status_of(m.json, code), sum);
		}
		for (size_t i = 0; i < 6; i++) {
			uint64_t sum = 0;
			for (int p = 0; p < 3; p++)
				sum += top_count(part[p].json, "path", mix_paths[i]);
			assert_true(sum > 0);
			assert_int_equal(top_count(m.json, "path", mix_paths[i]), sum);
		}
		/* one report under the first format's plan, naming all three */
		assert_string_equal(json_get(m.json, "format")->str, "json");
		const jv *fl = json_get(m.json, "formats");
		assert_non_null(fl);
		assert_int_equal(fl->n, 3);
		assert_string_equal(json_at(fl, 0)->str, "json");
		assert_string_equal(json_at(fl, 1)->str, "combined");
		assert_string_equal(json_at(fl, 2)->str, "csv");
		run_result_free(&m);
	}
	/* text header */
	run_result t = run("-q -f json %s/mix.jsonl -f combined %s/mix.log", dir, dir);
	assert_int_equal(t.status, 0);
	assert_non_null(strstr(t.out, "formats json, combined"));
	run_result_free(&t);
	/* a -f after every input is today's one format for all: json on the
	 * combined log counts its lines malformed */
	t = run("--json %s/mix.log -f json", dir);
	assert_int_equal(t.status, 2);
	run_result_free(&t);
	/* inputs before the first -f take the first -f given after them */
	t = run("--json %s/mix.jsonl -f json %s/mix.jsonl -f csv %s/mix.csv", dir, dir, dir);
	assert_int_equal(t.status, 0);
	assert_int_equal(json_u64(t.json, "requests"), 1700);
	assert_int_equal(json_u64(t.json, "malformed"), 0);
	run_result_free(&t);
	t = run("--json %s/mix.jsonl -f json", dir);
	assert_int_equal(t.status, 0);
	assert_null(json_get(t.json, "formats"));
	assert_int_equal(json_u64(t.json, "requests"), 700);
	run_result_free(&t);
	for (int k = 0; k < 3; k++)
		run_result_free(&part[k]);
}

static void mixed_bad_format_names_input(void **state)
{
	(void)state;
	write_mixed(3, 50);
	/* the common format has no user agent */
	const char *common = write_input(
		"c.log", "192.0.2.1 - - [01/May/2024:10:00:00 +0000] \"GET /x HTTP/1.1\" 200 12\n");
	run_result r = run("-f combined %s/mix.log -f common %s --top user_agent", dir, common);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "the field user_agent is not in the common format of"));
	assert_non_null(strstr(r.err, "c.log"));
	run_result_free(&r);
	/* standard input cannot be peeked at before the run */
	r = run("-f json %s/mix.jsonl -f auto - < %s/mix.log", dir, dir);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "(standard input)"));
	run_result_free(&r);
	/* but -f auto on a file in a mix is detected for that file */
	r = run("--json -f json %s/mix.jsonl -f auto %s/mix.log", dir, dir);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 750);
	run_result_free(&r);
	/* a -f that fits none of its input's lines: named, exit 2 */
	r = run("--json -f combined %s/mix.log -f ltsv %s/mix.jsonl", dir, dir);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "mix.jsonl: no line parsed as ltsv"));
	assert_int_equal(json_u64(r.json, "requests"), 50); /* the other input's */
	assert_string_equal(json_get(json_at(json_get(r.json, "inputs"), 1), "error")->str,
			    "no line parsed as ltsv (700 malformed): give its format with -f "
			    "before it");
	run_result_free(&r);
	r = run("--json -f json %s/mix.jsonl -f common %s/mix.csv", dir, dir);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "mix.csv: no line parsed as common"));
	run_result_free(&r);
}

static void mixed_states(void **state)
{
	(void)state;
	write_mixed(5, 100);
	char st[256];
	snprintf(st, sizeof st, "%s/mixed.st", dir);
	run_result r = run("-q --save %s -f json %s/mix.jsonl -f combined %s/mix.log", st, dir, dir);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("-q --save %s/single.st -f json %s/mix.jsonl", dir, dir);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("report --json %s", st);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(r.json, "requests"), 800);
	assert_non_null(json_get(r.json, "formats"));
	run_result_free(&r);
	r = run("merge -o %s/m.st %s %s/single.st", dir, st, dir);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "different log formats"));
	run_result_free(&r);
	/* resume: the same list reads nothing new; another list is refused */
	char resume[256];
	snprintf(resume, sizeof resume, "%s/resume.st", dir);
	r = run("-q --state %s -f json %s/mix.jsonl -f combined %s/mix.log", resume, dir, dir);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	r = run("--json -q --state %s -f json %s/mix.jsonl -f combined %s/mix.log", resume, dir,
		dir);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(r.json, "requests"), 800);
	run_result_free(&r);
	r = run("-q --state %s -f json %s/mix.jsonl", resume, dir);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "resume.st"));
	run_result_free(&r);
	/* at -j 2 the CSV goes to worker 0 alone; resumed, its header is read
	 * again from the part counted before */
	snprintf(resume, sizeof resume, "%s/resume2.st", dir);
	r = run("-q -j 2 --state %s -f json %s/mix.jsonl -f csv %s/mix.csv", resume, dir, dir);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	char csv[256];
	snprintf(csv, sizeof csv, "%s/mix.csv", dir);
	size_t len;
	char *text = tu_slurp(csv, &len);
	const char *more = "2024-05-01T13:00:00Z,203.0.113.99,GET,/late,418,5\n";
	char *grown = malloc(len + strlen(more));
	assert_non_null(grown);
	memcpy(grown, text, len);
	memcpy(grown + len, more, strlen(more));
	tu_write_file(csv, grown, len + strlen(more));
	free(text);
	free(grown);
	r = run("--json -j 2 --state %s -f json %s/mix.jsonl -f csv %s/mix.csv", resume, dir, dir);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 1001);
	assert_int_equal(json_u64(r.json, "malformed"), 0);
	assert_int_equal(status_of(r.json, "418"), 1);
	run_result_free(&r);
}

/* ---- syslog around any format ---------------------------------------------- */

static void syslog_around_any_format(void **state)
{
	(void)state;
	/* classic inside, as before */
	const char *p = write_input(
		"s1.log",
		"Oct 11 22:14:15 web1 nginx: 127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /a "
		"HTTP/1.0\" 200 10 \"-\" \"curl/8.0\"\n"
		"<190>1 2000-10-10T20:55:36Z web1 nginx 1234 - [meta a=\"1\"] 127.0.0.2 - - "
		"[10/Oct/2000:13:55:37 -0700] \"GET /b HTTP/1.0\" 404 20 \"-\" \"curl/8.0\"\n");
	run_result r = run("--json -f syslog %s", p);
	assert_int_equal(r.status, 0);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_string_equal(json_get(r.json, "format")->str, "syslog");
	run_result_free(&r);

	/* JSON inside, with a --field mapping */
	p = write_input(
		"s2.log",
		"May  1 10:00:00 web1 app[12]: {\"remote_addr\":\"192.0.2.1\",\"time_iso8601\":"
		"\"2024-05-01T10:00:00Z\",\"request\":\"GET /j HTTP/1.1\",\"code\":503}\n"
		"<14>1 2024-05-01T10:00:01Z web1 app 12 - - {\"remote_addr\":\"192.0.2.2\","
		"\"time_iso8601\":\"2024-05-01T10:00:01Z\",\"request\":\"GET /j HTTP/1.1\","
		"\"code\":200}\n"
		"May  1 10:00:02 web1 app[12]: not json\n");
	r = run("--json -f syslog:json --field status=code %s", p);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_int_equal(json_u64(r.json, "malformed"), 1);
	assert_int_equal(status_of(r.json, "503"), 1);
	assert_int_equal(top_count(r.json, "path", "/j"), 2);
	assert_string_equal(json_get(r.json, "format")->str, "syslog:json");
	run_result_free(&r);

	/* LTSV inside */
	p = write_input("s3.log",
			"<13>1 2024-05-01T10:00:00Z h app - - - time:2024-05-01T10:00:00Z\thost:"
			"192.0.2.9\treq:GET /l HTTP/1.1\tstatus:301\tsize:7\n");
	r = run("--json -f syslog:ltsv %s", p);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 1);
	assert_int_equal(status_of(r.json, "301"), 1);
	assert_int_equal(json_u64(r.json, "bytes_sent"), 7);
	run_result_free(&r);
	/* -f auto finds the format inside, from a file and from a pipe */
	r = run("--json %s", p);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_string_equal(json_get(r.json, "format")->str, "syslog:ltsv");
	assert_int_equal(json_u64(r.json, "requests"), 1);
	assert_non_null(strstr(r.err, "format syslog:ltsv (detected)"));
	run_result_free(&r);
	r = run("--json - < %s", p);
	assert_int_equal(r.status, 0);
	assert_string_equal(json_get(r.json, "format")->str, "syslog:ltsv");
	assert_int_equal(status_of(r.json, "301"), 1);
	run_result_free(&r);

	/* a format string inside: -f syslog then --log-format */
	p = write_input("s4.log",
			"May  1 10:00:00 web1 nginx: 192.0.2.5 2024-05-01T10:00:00Z GET /f 200 99\n"
			"May  1 10:00:01 web1 nginx: 192.0.2.6 2024-05-01T10:00:01Z GET /f 500 1\n");
	r = run("--json -f syslog --log-format '$remote_addr $time_iso8601 $request_method "
		"$request_uri $status $body_bytes_sent' %s", p);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_int_equal(json_u64(r.json, "bytes_sent"), 100);
	assert_int_equal(status_of(r.json, "500"), 1);
	run_result_free(&r);

	/* an unknown inner format is refused before reading */
	r = run("-f syslog:nosuch %s", p);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "nosuch"));
	run_result_free(&r);
	r = run("-f syslog:syslog %s", p);
	assert_int_equal(r.status, 2);
	run_result_free(&r);
}

static void by_derived_fields(void **state)
{
	(void)state;
	write_mixed(21, 20);
	run_result r = run("--json -f csv %s/mix.csv --by status_class", dir);
	if (r.status != 0 || !r.json)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_non_null(json_get(r.json, "by_status_class"));
	run_result_free(&r);
	r = run("--json -f json %s/mix.jsonl --by hour", dir);
	if (r.status != 0 || !r.json)
		fail_msg("exit %d: %s", r.status, r.err);
	const jv *g = json_get(json_get(r.json, "by_hour"), "groups");
	assert_non_null(g);
	assert_string_equal(json_get(json_at(g, 0), "value")->str, "2024-05-01T11");
	assert_int_equal(json_u64(json_at(g, 0), "count"), 700);
	run_result_free(&r);
	r = run("--json -f json %s/mix.jsonl -f combined %s/mix.log --by status_class", dir, dir);
	if (r.status != 0 || !r.json)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_non_null(json_get(r.json, "by_status_class"));
	run_result_free(&r);
}

/* ---- stateful formats on standard input and across --state ------------------- */

static void stateful_on_stdin(void **state)
{
	(void)state;
	write_mixed(9, 10);
	run_result r = run("--json -j 2 - < %s/mix.csv", dir);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 300);
	assert_int_equal(json_u64(r.json, "skipped"), 1);
	assert_non_null(strstr(r.err, "one worker"));
	run_result_free(&r);
	r = run("--json -j 2 -f csv - < %s/mix.csv", dir);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 300);
	run_result_free(&r);
}

static void stateful_resume_knows_header(void **state)
{
	(void)state;
	char p[256], st[256];
	snprintf(p, sizeof p, "%s/grow.csv", dir);
	snprintf(st, sizeof st, "%s/grow.st", dir);
	/* columns in an order no guess would take */
	const char *head = "status,bytes,url,client,time\n"
			   "200,10,/a,192.0.2.1,2024-05-01T00:00:01Z\n";
	tu_write_file(p, head, strlen(head));
	run_result r = run("-q -f csv --state %s %s", st, p);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	char all[512];
	snprintf(all, sizeof all, "%s404,20,/b,192.0.2.2,2024-05-01T00:00:02Z\n", head);
	tu_write_file(p, all, strlen(all));
	r = run("--json -f csv --state %s %s", st, p);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_int_equal(json_u64(r.json, "malformed"), 0);
	assert_int_equal(status_of(r.json, "404"), 1);
	assert_int_equal(top_count(r.json, "path", "/b"), 1);
	run_result_free(&r);

	snprintf(p, sizeof p, "%s/grow.w3c", dir);
	snprintf(st, sizeof st, "%s/grow-w3c.st", dir);
	head = "#Fields: sc-status c-ip date time cs-uri-stem\n"
	       "200 192.0.2.1 2024-05-01 00:00:01 /a\n";
	tu_write_file(p, head, strlen(head));
	r = run("-q --state %s %s", st, p);
	assert_int_equal(r.status, 0);
	run_result_free(&r);
	snprintf(all, sizeof all, "%s500 192.0.2.2 2024-05-01 00:00:02 /w\n", head);
	tu_write_file(p, all, strlen(all));
	r = run("--json --state %s %s", st, p);
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), 2);
	assert_int_equal(json_u64(r.json, "malformed"), 0);
	assert_int_equal(status_of(r.json, "500"), 1);
	run_result_free(&r);
}

/* ---- one log, four formats -------------------------------------------------- */

/* Top-level members that name how the log was read, not what it holds. */
static bool not_compared(const char *key)
{
	static const char *const skip[] = {"format", "inputs", "memory", "lines", "skipped"};
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
		if (!strcmp(key, skip[i]))
			return true;
	return false;
}

/* Are a and b the same JSON value (members in the same order, numbers
 * equal as doubles and as integers)? On the first difference, its path is
 * written to where. depth 0 is the report object, whose not_compared
 * members are left out. */
static bool same_json(const jv *a, const jv *b, int depth, char *where, size_t cap)
{
	if (a->t != b->t || a->n != b->n) {
		snprintf(where, cap, "(type or length)");
		return false;
	}
	switch (a->t) {
	case J_NULL: return true;
	case J_BOOL: return a->b == b->b;
	case J_NUM:
		if (a->is_uint != b->is_uint || (a->is_uint && a->u != b->u) || a->num != b->num) {
			snprintf(where, cap, "(%.17g vs %.17g)", a->num, b->num);
			return false;
		}
		return true;
	case J_STR:
		if (a->len != b->len || memcmp(a->str, b->str, a->len)) {
			snprintf(where, cap, "('%s' vs '%s')", a->str, b->str);
			return false;
		}
		return true;
	case J_ARR:
	case J_OBJ:
		for (size_t i = 0; i < a->n; i++) {
			if (a->t == J_OBJ) {
				if (strcmp(a->keys[i], b->keys[i])) {
					snprintf(where, cap, ".%s/.%s", a->keys[i], b->keys[i]);
					return false;
				}
				if (depth == 0 && not_compared(a->keys[i]))
					continue;
				/* a table's size follows what the budget had
				 * left after the parser took its share */
				if (!strcmp(a->keys[i], "capacity"))
					continue;
			}
			char sub[512];
			if (!same_json(a->items[i], b->items[i], depth + 1, sub, sizeof sub)) {
				if (a->t == J_OBJ)
					snprintf(where, cap, ".%s%s", a->keys[i], sub);
				else
					snprintf(where, cap, "[%zu]%s", i, sub);
				return false;
			}
		}
		return true;
	}
	return false;
}

/* The report object without its not_compared members must match: a report
 * of CSV holds a "skipped" the others lack, so members are matched by name
 * here, then compared in order by same_json on the rest. */
static void assert_same_report(const jv *a, const jv *b, const char *label)
{
	char where[600] = "";
	size_t i = 0, j = 0;
	for (;;) {
		while (i < a->n && not_compared(a->keys[i]))
			i++;
		while (j < b->n && not_compared(b->keys[j]))
			j++;
		if (i == a->n || j == b->n)
			break;
		if (strcmp(a->keys[i], b->keys[j]))
			fail_msg("%s: member .%s against .%s", label, a->keys[i], b->keys[j]);
		if (!same_json(a->items[i], b->items[j], 1, where, sizeof where))
			fail_msg("%s: the reports differ at .%s%s", label, a->keys[i], where);
		i++, j++;
	}
	if (i != a->n || j != b->n)
		fail_msg("%s: one report has more members", label);
}

/* Does the comparison above see a difference? (for the checker's own test) */
static bool reports_differ(const jv *a, const jv *b)
{
	char where[600];
	size_t i = 0, j = 0;
	for (; i < a->n && j < b->n; i++, j++) {
		while (i < a->n && not_compared(a->keys[i]))
			i++;
		while (j < b->n && not_compared(b->keys[j]))
			j++;
		if (i == a->n || j == b->n)
			return i != a->n || j != b->n;
		if (strcmp(a->keys[i], b->keys[j]) ||
		    !same_json(a->items[i], b->items[j], 1, where, sizeof where))
			return true;
	}
	return false;
}

/* Rewrites a combined log with $request_time (sluice-gen's) into the
 * layout `$time_local|$remote_addr|$status|$body_bytes_sent|$request_time|
 * "$request"|"$http_user_agent"|"$http_referer"|$remote_user`, split by
 * hand: the request and referrer hold no quote, the user agent runs to the
 * line's last quote (it may hold \" itself). With change_status, the first
 * line's status becomes 599. */
static void write_nginx_variant(const char *from, const char *to, bool change_status)
{
	size_t len;
	char *in = tu_slurp(from, &len);
	assert_non_null(in);
	FILE *out = fopen(to, "w");
	assert_non_null(out);
	char *line = in;
	for (size_t n = 0; line < in + len; n++) {
		char *eol = memchr(line, '\n', (size_t)(in + len - line));
		assert_non_null(eol);
		*eol = '\0';
		char *client = line, *p = strchr(line, ' ');
		assert_non_null(p);
		*p = '\0';
		assert_true(strncmp(p + 1, "- ", 2) == 0);
		char *user = p + 3;
		p = strchr(user, ' ');
		*p = '\0';
		assert_true(p[1] == '[');
		char *time = p + 2;
		p = strchr(time, ']');
		*p = '\0';
		assert_true(strncmp(p + 1, " \"", 2) == 0);
		char *request = p + 3;
		p = strchr(request, '"');
		*p = '\0';
		char *status = p + 2;
		p = strchr(status, ' ');
		*p = '\0';
		char *bytes = p + 1;
		p = strchr(bytes, ' ');
		*p = '\0';
		assert_true(p[1] == '"');
		char *referrer = p + 2;
		p = strchr(referrer, '"');
		*p = '\0';
		assert_true(strncmp(p + 1, " \"", 2) == 0);
		char *agent = p + 3;
		p = strrchr(agent, '"');
		assert_non_null(p);
		*p = '\0';
		assert_true(p[1] == ' ');
		char *rt = p + 2;
		fprintf(out, "%s|%s|%s|%s|%s|\"%s\"|\"%s\"|\"%s\"|%s\n", time, client,
			change_status && n == 0 ? "599" : status, bytes, rt, request, agent,
			referrer, user);
		line = eol + 1;
	}
	assert_int_equal(fclose(out), 0);
	free(in);
}

static const char *gen_bin(void)
{
	return getenv("SLUICE_GEN") ? getenv("SLUICE_GEN") : "./sluice-gen";
}

/* The four formats of one generated log (gen: sluice-gen's key options)
 * read at budget ("" for the default). */
static void four_formats(const char *gen, const char *budget)
{
	static const char *const fmts[] = {"combined", "json", "csv"};
	char cmd[1024];
	for (int f = 0; f < 3; f++) {
		snprintf(cmd, sizeof cmd,
			 "%s --lines 20000 --seed 11 %s --request-time --format %s -o %s/four.%s",
			 gen_bin(), gen, fmts[f], dir, fmts[f]);
		assert_int_equal(tu_run(cmd), 0);
	}
	char from[256], variant[256], changed[256];
	snprintf(from, sizeof from, "%s/four.combined", dir);
	snprintf(variant, sizeof variant, "%s/four.nginx", dir);
	snprintf(changed, sizeof changed, "%s/four-changed.nginx", dir);
	write_nginx_variant(from, variant, false);
	write_nginx_variant(from, changed, true);
	static const char *const log_format =
		"--log-format '$time_local|$remote_addr|$status|$body_bytes_sent|$request_time|"
		"\"$request\"|\"$http_user_agent\"|\"$http_referer\"|$remote_user'";

	run_result r[5];
	for (int f = 0; f < 3; f++)
		r[f] = run("--json -j 1 %s -f %s %s/four.%s", budget, fmts[f], dir, fmts[f]);
	r[3] = run("--json -j 1 %s %s %s", budget, log_format, variant);
	r[4] = run("--json -j 1 %s %s %s", budget, log_format, changed);
	static const char *const names[] = {"combined", "json", "csv", "custom", "custom"};
	for (int f = 0; f < 5; f++) {
		if (r[f].status != 0 || !r[f].json)
			fail_msg("run %d (%s): exit %d: %s", f, names[f], r[f].status, r[f].err);
		assert_string_equal(json_get(r[f].json, "format")->str, names[f]);
		assert_int_equal(json_u64(r[f].json, "malformed"), 0);
		assert_int_equal(json_u64(r[f].json, "requests"), 20000);
	}
	assert_int_equal(json_u64(r[0].json, "lines"), 20000);
	assert_int_equal(json_u64(r[1].json, "lines"), 20000);
	assert_int_equal(json_u64(r[2].json, "lines"), 20001); /* the header */
	assert_int_equal(json_u64(r[2].json, "skipped"), 1);
	assert_int_equal(json_u64(r[3].json, "lines"), 20000);
	assert_non_null(json_get(r[0].json, "request_time"));
	assert_int_equal(json_get(r[0].json, "request_time")->t, J_OBJ);
	const jv *info = json_get(r[0].json, "top_info");
	assert_non_null(info);
	for (size_t i = 0; i < info->n; i++)
		assert_true(json_get(info->items[i], "exact")->b);
	assert_same_report(r[0].json, r[1].json, "json lines against combined");
	assert_same_report(r[0].json, r[2].json, "csv against combined");
	assert_same_report(r[0].json, r[3].json, "nginx log_format variant against combined");
	/* the checker sees one changed status among 20,000 lines */
	assert_true(reports_differ(r[0].json, r[4].json));
	assert_int_equal(status_of(r[4].json, "599"), 1);
	for (int f = 0; f < 5; f++)
		run_result_free(&r[f]);
}

static void one_log_four_formats(void **state)
{
	(void)state;
	four_formats("--ips 400 --urls 400", "-m 1M"); /* every table fits */
}

static void four_formats_default_budget(void **state)
{
	(void)state;
	four_formats("", ""); /* the default key ranges: tables above 2 MiB */
}

static void gen_vhosts_json_csv(void **state)
{
	(void)state;
	static const char *const fmts[] = {"vcombined", "json", "csv"};
	char cmd[1024];
	run_result r[3];
	for (int f = 0; f < 3; f++) {
		snprintf(cmd, sizeof cmd,
			 "%s --lines 5000 --seed 4 --vhosts 40 --zipf 0.5 --request-time --format %s "
			 "-o %s/vh.%s",
			 gen_bin(), fmts[f], dir, fmts[f]);
		assert_int_equal(tu_run(cmd), 0);
		r[f] = run("--json -j 1 -f %s --by vhost %s/vh.%s", fmts[f], dir, fmts[f]);
		if (r[f].status != 0 || !r[f].json)
			fail_msg("%s: exit %d: %s", fmts[f], r[f].status, r[f].err);
		assert_int_equal(json_u64(r[f].json, "malformed"), 0);
		assert_int_equal(json_u64(r[f].json, "requests"), 5000);
	}
	assert_same_report(r[1].json, r[2].json, "csv --vhosts against json --vhosts");
	const jv *by = json_get(r[1].json, "by_vhost");
	assert_non_null(by);
	assert_true(json_get(by, "exact")->b);
	const jv *groups = json_get(by, "groups");
	const jv *vgroups = json_get(json_get(r[0].json, "by_vhost"), "groups");
	/* 5000 draws over 40 hosts at Zipf 0.5: the rarest has weight
	 * 40^-0.5 / sum(k^-0.5) ~ 1.4%, about 70 lines, so all 40 appear
	 * (or the group table lists at most its default rows: then every
	 * listed one is a vh<N> host) */
	assert_true(groups->n > 0);
	assert_int_equal(groups->n, vgroups->n);
	uint64_t total = 0;
	for (size_t i = 0; i < groups->n; i++) {
		const jv *g = json_at(groups, i), *v = json_at(vgroups, i);
		const char *host = json_get(g, "value")->str;
		assert_true(strncmp(host, "vh", 2) == 0);
		assert_non_null(strstr(host, ".example.com"));
		assert_string_equal(host, json_get(v, "value")->str);
		assert_int_equal(json_u64(g, "count"), json_u64(v, "count"));
		assert_int_equal(json_u64(g, "bytes"), json_u64(v, "bytes"));
		total += json_u64(g, "count");
	}
	if (groups->n == 40)
		assert_int_equal(total, 5000);
	for (int f = 0; f < 3; f++)
		run_result_free(&r[f]);
}

/* Fields a parser decodes into its scratch (JSON strings with escapes)
 * stay whole while lines wait in the report's prefetch ring (tables past
 * 2 MiB): short ones are copied into the ring, longer ones (past its 512
 * bytes) make the ring drain first. The user agents' counts are the
 * generator's. (They were overwritten by the next lines' parses.) */
static void decoded_fields_survive_the_ring(void **state)
{
	(void)state;
	enum { LINES = 60000 };
	char longua[700];
	for (size_t i = 0; i + 1 < sizeof longua; i += 2)
		longua[i] = 'L', longua[i + 1] = i % 64 ? 'x' : '"';
	longua[sizeof longua - 1] = 0;
	char path[256];
	snprintf(path, sizeof path, "%s/esc.jsonl", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	uint64_t want[3] = {0, 0, 0};
	tu_rng g = {tu_seed("decoded_fields_survive_the_ring", 9)};
	for (int i = 0; i < LINES; i++) {
		int u = (int)tu_below(&g, 3);
		want[u]++;
		fprintf(f, "{\"remote_addr\":\"10.%d.%d.%d\",\"time_iso8601\":\"2024-05-01T10:%02d:%02dZ\","
			   "\"request\":\"GET /u/%d HTTP/1.1\",\"status\":200,\"body_bytes_sent\":1,"
			   "\"http_user_agent\":\"",
			i % 200, i / 200 % 250, i % 7, i / 60 % 60, i % 60, i / 2);
		if (u == 0)
			fputs("Short \\\"quoted\\\" agent", f);
		else if (u == 1)
			for (const char *c = longua; *c; c++)
				fputs(*c == '"' ? "\\\"" : (char[2]){*c, 0}, f);
		else
			fputs("Plain/1.0", f);
		fputs("\"}\n", f);
	}
	fclose(f);
	run_result r = run("--json -j 1 -n 5 -f json %s", path);
	if (r.status != 0 || !r.json)
		fail_msg("exit %d: %s", r.status, r.err);
	assert_int_equal(json_u64(r.json, "requests"), LINES);
	const jv *l = json_get(json_get(r.json, "top"), "user_agent");
	assert_non_null(l);
	uint64_t got[3] = {0, 0, 0};
	for (size_t i = 0; i < l->n; i++) {
		const char *v = json_get(l->items[i], "value")->str;
		int u = strcmp(v, "Short \"quoted\" agent") == 0 ? 0
			: v[0] == 'L'			       ? 1
			: strcmp(v, "Plain/1.0") == 0	       ? 2
							       : -1;
		if (u < 0)
			fail_msg("a user agent no line had: '%.60s'", v);
		got[u] = json_u64(l->items[i], "count");
	}
	for (int u = 0; u < 3; u++)
		if (got[u] != want[u])
			fail_msg("agent %d: %llu, written %llu", u, (unsigned long long)got[u],
				 (unsigned long long)want[u]);
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
		cmocka_unit_test(mixed_equals_sum_of_runs),
		cmocka_unit_test(mixed_bad_format_names_input),
		cmocka_unit_test(mixed_states),
		cmocka_unit_test(syslog_around_any_format),
		cmocka_unit_test(stateful_on_stdin),
		cmocka_unit_test(by_derived_fields),
		cmocka_unit_test(stateful_resume_knows_header),
		cmocka_unit_test(one_log_four_formats),
		cmocka_unit_test(four_formats_default_budget),
		cmocka_unit_test(decoded_fields_survive_the_ring),
		cmocka_unit_test(gen_vhosts_json_csv),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
