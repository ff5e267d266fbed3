/*
 * test_csv_jobs.c: CSV and TSV files read by every worker. A CSV/TSV log's
 * header is its first row, once (RFC 4180), so a plain file of at least
 * 4 MiB is cut into byte ranges like any other log, each worker's parser
 * programmed with the header row first (lib/engine/engine.c). These cases
 * run the program ($SLUICE_BIN, $SLUICE_GEN) on inputs they write and hold
 * the report at -j 2 and 3 to the one of -j 1.
 *
 * "The same JSON" (same_report): every member equal, in the same order,
 * except three that legitimately depend on the job count, also for a
 * combined log: the tables' capacities (top_info.*.capacity: a worker's
 * share), the memory peak, and a stddev, which is merged from the workers'
 * moments in floating point (equal to 1e-12 of itself). At a fixed -j two
 * runs print the same bytes.
 *
 * Cases:
 *   csv_same_at_every_job_count   10 MiB of sluice-gen CSV with malformed
 *                                 rows, exact at the default budget: no
 *                                 "one worker" note at -j 2 and 3 (today's
 *                                 code gave it), the header counted once,
 *                                 the same JSON at -j 1, 2, 3, the same
 *                                 bytes twice at -j 2
 *   bom_crlf_quoted_newline       a CSV and a TSV written here: a BOM before
 *                                 the header, CRLF rows, "" escapes and rows
 *                                 whose quoted field holds a newline (two
 *                                 malformed lines each, as -j 1 reads them):
 *                                 the counts this case wrote, at every -j
 *   header_after_junk             an empty line and a broken row before the
 *                                 header (malformed, as at -j 1), at -j 1,
 *                                 2, 3, and at -j 8 where the header lies in
 *                                 the second of eight ranges (the first
 *                                 all junk, read without it); junk of more
 *                                 than 1 MiB before the header: read by one
 *                                 worker, the same figures
 *   header_only_and_empty         a file that is only a header, and an empty
 *                                 file, at -j 1 and 2
 *   save_then_resume              --save at -j 2 of a 5 MiB CSV (read by both
 *                                 workers), rows appended, --state at -j 2:
 *                                 the figures of one -j 1 run of the whole
 *                                 file, the header counted once
 *   resume_after_broken_first_line  a broken line before the header row,
 *                                 --state resumed after rows were appended:
 *                                 the header row is read again, not the
 *                                 broken line, at -j 1 and 2
 *   mix_with_combined             -f csv big.csv -f combined log at -j 1, 2:
 *                                 the same JSON, no "one worker" note
 *   w3c_keeps_one_worker          a 5 MiB W3C log at -j 2 is still read by
 *                                 one worker (its #Fields may change), with
 *                                 the note and the -j 1 figures
 *   syslog_csv_in_order           -f syslog:csv over 5 MiB: every row counted
 *                                 at -j 2 as at -j 1 (before, the ranges
 *                                 after the first had no header)
 */
#include "runutil.h"
#include "testutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[128];
static const char *bin, *gen;
static uint64_t seed;

static int setup(void **state)
{
	(void)state;
	bin = tu_sluice_bin();
	gen = getenv("SLUICE_GEN") && *getenv("SLUICE_GEN") ? getenv("SLUICE_GEN") : "./sluice-gen";
	seed = tu_seed("test_csv_jobs", 20261204);
	snprintf(dir, sizeof dir, "/tmp/sluice-test-csvjobs-XXXXXX");
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
	run_result r = tu_run_sluice(dir, bin, args);
	if (r.status != 0 || !r.json)
		fail_msg("sluice %s: exit %d: %s", args, r.status, r.err ? r.err : "");
	return r;
}

/* ---- comparing reports ------------------------------------------------------ */

/* Are a and b the same report (see the opening comment)? path: where they
 * are, for the message; names the first difference in why. */
static bool same_value(const jv *a, const jv *b, const char *path, char *why, size_t cap)
{
	if (a->t != b->t) {
		snprintf(why, cap, "%s: types differ", path);
		return false;
	}
	switch (a->t) {
	case J_NULL:
		return true;
	case J_BOOL:
		if (a->b == b->b)
			return true;
		break;
	case J_NUM:
		if (a->is_uint == b->is_uint && (a->is_uint ? a->u == b->u : a->num == b->num))
			return true;
		/* moments merged in another order: floating point, to 1e-12 */
		if (strstr(path, ".stddev") && fabs(a->num - b->num) <= 1e-12 * fabs(a->num))
			return true;
		break;
	case J_STR:
		if (a->len == b->len && memcmp(a->str, b->str, a->len) == 0)
			return true;
		break;
	case J_ARR:
	case J_OBJ:
		if (a->n != b->n) {
			snprintf(why, cap, "%s: %zu members, %zu", path, a->n, b->n);
			return false;
		}
		for (size_t i = 0; i < a->n; i++) {
			char sub[512];
			if (a->t == J_OBJ) {
				if (strcmp(a->keys[i], b->keys[i]) != 0) {
					snprintf(why, cap, "%s: member %s, %s", path, a->keys[i],
						 b->keys[i]);
					return false;
				}
				snprintf(sub, sizeof sub, "%s.%s", path, a->keys[i]);
				/* a worker's share, and the peak: they name the job count */
				if ((strncmp(path, ".top_info.", 10) == 0 &&
				     strcmp(a->keys[i], "capacity") == 0) ||
				    (strcmp(path, ".memory") == 0 && strcmp(a->keys[i], "peak") == 0))
					continue;
			} else {
				snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			}
			if (!same_value(a->items[i], b->items[i], sub, why, cap))
				return false;
		}
		return true;
	}
	snprintf(why, cap, "%s differs", path);
	return false;
}

static void same_report(const run_result *a, const run_result *b, const char *label)
{
	char why[600] = "";
	if (!same_value(a->json, b->json, "", why, sizeof why))
		fail_msg("%s: %s (seed %" PRIu64 ")", label, why, seed);
}

/* Every top list exact. */
static void all_exact(const jv *j)
{
	const jv *info = json_get(j, "top_info");
	assert_non_null(info);
	for (size_t k = 0; k < info->n; k++) {
		const jv *e = json_get(info->items[k], "exact");
		if (!e || e->t != J_BOOL || !e->b)
			fail_msg("top list %s is not exact", info->keys[k]);
	}
}

static void no_one_worker_note(const run_result *r, int jobs)
{
	if (strstr(r->err, "one worker"))
		fail_msg("-j %d: read by one worker: %s", jobs, r->err);
}

/* The counters every run below checks: lines = requests + malformed +
 * skipped (filtered: none). The report leaves out "skipped" when it is 0. */
static void counted(const jv *j, uint64_t requests, uint64_t malformed, uint64_t skipped)
{
	assert_int_equal(json_u64(j, "requests"), requests);
	assert_int_equal(json_u64(j, "malformed"), malformed);
	assert_int_equal(json_get(j, "skipped") ? json_u64(j, "skipped") : 0, skipped);
	assert_int_equal(json_u64(j, "lines"), requests + malformed + skipped);
}

/* -j 1 against -j each of jobs[]: the same report, no note. */
static void same_at(const char *args, const int *jobs, size_t n, bool note_ok)
{
	run_result one = run("--json -j 1 %s", args);
	for (size_t i = 0; i < n; i++) {
		run_result r = run("--json -j %d %s", jobs[i], args);
		char label[64];
		snprintf(label, sizeof label, "-j %d against -j 1", jobs[i]);
		same_report(&one, &r, label);
		if (!note_ok)
			no_one_worker_note(&r, jobs[i]);
		run_result_free(&r);
	}
	run_result_free(&one);
}

/* ---- the cases -------------------------------------------------------------- */

static void csv_same_at_every_job_count(void **state)
{
	(void)state;
	char path[256], cmd[768];
	snprintf(path, sizeof path, "%s/gen.csv", dir);
	snprintf(cmd, sizeof cmd,
		 "%s --format csv --size 10M --ips 2000 --urls 500 --malformed 0.001 "
		 "--seed %" PRIu64 " -o %s",
		 gen, seed % 1000000 + 1, path);
	assert_int_equal(tu_run(cmd), 0);
	run_result r[4];
	for (int j = 1; j <= 3; j++) {
		r[j] = run("--json -j %d -f csv %s", j, path);
		assert_int_equal(json_u64(r[j].json, "skipped"), 1);
		uint64_t lines = json_u64(r[j].json, "lines");
		assert_int_equal(lines, json_u64(r[j].json, "requests") +
						json_u64(r[j].json, "malformed") + 1);
		assert_true(json_u64(r[j].json, "malformed") > 0);
		all_exact(r[j].json);
		if (j > 1) {
			no_one_worker_note(&r[j], j);
			char label[32];
			snprintf(label, sizeof label, "-j %d against -j 1", j);
			same_report(&r[1], &r[j], label);
		}
	}
	/* one answer per input: the same bytes again at -j 2, -f auto too */
	run_result again = run("--json -j 2 %s", path);
	no_one_worker_note(&again, 2);
	if (again.out_len != r[2].out_len || memcmp(again.out, r[2].out, again.out_len) != 0)
		fail_msg("-j 2 printed other bytes on a second run (seed %" PRIu64 ")", seed);
	run_result_free(&again);
	for (int j = 1; j <= 3; j++)
		run_result_free(&r[j]);
}

/* Writes a CSV (sep ',') or TSV (sep '\t') of at least `size` bytes: a BOM,
 * the header, CRLF rows; every 97th row has a quoted field holding a
 * newline (two malformed lines), every 13th a "" escape in the agent.
 * Returns the rows that are records in *requests, the malformed lines in
 * *malformed. */
static void write_bom_crlf(const char *path, char sep, size_t size, uint64_t *requests,
			   uint64_t *malformed)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	tu_rng rng = {seed ^ (uint64_t)sep};
	fprintf(f, "\xef\xbb\xbfremote_addr%ctime_local%crequest%cstatus%cbody_bytes_sent%c"
		   "http_user_agent\r\n", sep, sep, sep, sep, sep);
	*requests = *malformed = 0;
	static const int codes[] = {200, 200, 200, 304, 404, 500};
	for (uint64_t i = 0; (size_t)ftell(f) < size; i++) {
		unsigned ip = (unsigned)tu_below(&rng, 300), path_no = (unsigned)tu_below(&rng, 80);
		int code = codes[tu_below(&rng, 6)];
		fprintf(f, "10.1.%u.%u%c\"14/Nov/2023:%02u:%02u:%02u +0000\"%c", ip / 250, ip % 250,
			sep, (unsigned)(i / 3600 % 24), (unsigned)(i / 60 % 60), (unsigned)(i % 60),
			sep);
		if (i % 97 == 5) {
			/* a quoted newline: "GET /q<LF>x HTTP/1.1" */
			fprintf(f, "\"GET /q\r\nx HTTP/1.1\"%c%d%c%u%cagent\r\n", sep, code, sep,
				(unsigned)i % 5000, sep);
			*malformed += 2;
			continue;
		}
		fprintf(f, "\"GET /p/%u HTTP/1.1\"%c%d%c%u%c", path_no, sep, code, sep,
			(unsigned)i % 5000, sep);
		if (i % 13 == 0)
			fputs("\"agent \"\"quoted\"\" 1.0\"\r\n", f);
		else
			fprintf(f, "agent-%u\r\n", (unsigned)(i % 7));
		(*requests)++;
	}
	fclose(f);
}

static void bom_crlf_quoted_newline(void **state)
{
	(void)state;
	static const char seps[] = {',', '\t'};
	static const int jobs[] = {2, 3};
	for (int s = 0; s < 2; s++) {
		char path[256], args[400];
		uint64_t requests, malformed;
		snprintf(path, sizeof path, "%s/bom.%s", dir, s ? "tsv" : "csv");
		write_bom_crlf(path, seps[s], (size_t)6 << 20, &requests, &malformed);
		snprintf(args, sizeof args, "-f %s %s", s ? "tsv" : "csv", path);
		for (int j = 1; j <= 3; j++) {
			run_result r = run("--json -j %d %s", j, args);
			counted(r.json, requests, malformed, 1);
			all_exact(r.json);
			run_result_free(&r);
		}
		same_at(args, jobs, 2, false);
	}
}

/* A CSV whose header comes after `junk` lines: an empty one, then broken
 * rows (an unclosed quote), each malformed as -j 1 reads them; then
 * sluice-gen's rows up to about `size` bytes. The lines before the header
 * in *before. */
static void write_junk_first(const char *path, size_t junk, uint64_t *before, uint64_t *rows)
{
	char tmp[300], cmd[768];
	snprintf(tmp, sizeof tmp, "%s.gen", path);
	snprintf(cmd, sizeof cmd,
		 "%s --format csv --size 5M --ips 1000 --urls 300 --seed %" PRIu64 " -o %s", gen,
		 seed % 1000 + 3, tmp);
	assert_int_equal(tu_run(cmd), 0);
	size_t len;
	char *body = tu_slurp(tmp, &len);
	assert_non_null(body);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs("\n", f);
	*before = 1;
	while ((size_t)ftell(f) < junk) {
		fputs("\"remote_addr,status,time_local,request\n", f);
		(*before)++;
	}
	fwrite(body, 1, len, f);
	fclose(f);
	*rows = 0;
	for (size_t i = 0; i < len; i++)
		*rows += body[i] == '\n';
	(*rows)--; /* the header */
	free(body);
}

static void header_after_junk(void **state)
{
	(void)state;
	char path[256], args[400];
	uint64_t before, rows;
	static const int jobs[] = {2, 3};
	/* a few junk lines: the header in the first range */
	snprintf(path, sizeof path, "%s/junk.csv", dir);
	write_junk_first(path, 3, &before, &rows);
	assert_int_equal(before, 2);
	snprintf(args, sizeof args, "-f csv %s", path);
	for (int j = 1; j <= 3; j++) {
		run_result r = run("--json -j %d %s", j, args);
		counted(r.json, rows, before, 1);
		run_result_free(&r);
	}
	same_at(args, jobs, 2, false);
	/* 850 KiB of junk and eight workers over about 5.8 MiB: eight ranges
	 * of about 750 KiB (fewer than 8 MiB: one a worker), the header in
	 * the second, within the first read buffer (1 MiB, less the framers'
	 * part); the first range holds junk alone */
	snprintf(path, sizeof path, "%s/junk2.csv", dir);
	write_junk_first(path, 850 << 10, &before, &rows);
	static const int eight[] = {8};
	snprintf(args, sizeof args, "-m 64M -f csv %s", path);
	run_result r = run("--json -j 8 %s", args);
	counted(r.json, rows, before, 1);
	if (strstr(r.err, "not 8") || strstr(r.err, "one worker"))
		fail_msg("-j 8: %s", r.err);
	run_result_free(&r);
	same_at(args, eight, 1, false);
	/* more than the first read buffer (1 MiB) of junk: one worker */
	snprintf(path, sizeof path, "%s/junk3.csv", dir);
	write_junk_first(path, (size_t)3 << 19, &before, &rows);
	snprintf(args, sizeof args, "-f csv %s", path);
	for (int j = 1; j <= 3; j++) {
		r = run("--json -j %d %s", j, args);
		counted(r.json, rows, before, 1);
		if (j > 1 && !strstr(r.err, "one worker"))
			fail_msg("-j %d: no one-worker note: %s", j, r.err);
		run_result_free(&r);
	}
	same_at(args, jobs, 2, true);
}

static void header_only_and_empty(void **state)
{
	(void)state;
	char path[256], args[400];
	static const int two[] = {2};
	snprintf(path, sizeof path, "%s/head.csv", dir);
	const char *head = "remote_addr,time_local,request,status\n";
	tu_write_file(path, head, strlen(head));
	snprintf(args, sizeof args, "-f csv %s", path);
	run_result r = run("--json -j 2 %s", args);
	counted(r.json, 0, 0, 1);
	run_result_free(&r);
	same_at(args, two, 1, true);
	snprintf(path, sizeof path, "%s/empty.csv", dir);
	tu_write_file(path, "", 0);
	snprintf(args, sizeof args, "-f csv %s", path);
	r = run("--json -j 2 %s", args);
	counted(r.json, 0, 0, 0);
	run_result_free(&r);
	same_at(args, two, 1, true);
}

static void save_then_resume(void **state)
{
	(void)state;
	char whole[256], part[256], st[256], cmd[1024];
	snprintf(whole, sizeof whole, "%s/whole.csv", dir);
	snprintf(part, sizeof part, "%s/grow.csv", dir);
	snprintf(st, sizeof st, "%s/grow.state", dir);
	snprintf(cmd, sizeof cmd,
		 "%s --format csv --size 6M --ips 1500 --urls 400 --malformed 0.001 "
		 "--seed %" PRIu64 " -o %s",
		 gen, seed % 1000 + 11, whole);
	assert_int_equal(tu_run(cmd), 0);
	size_t len;
	char *body = tu_slurp(whole, &len);
	assert_non_null(body);
	/* the first 5 MiB up to a line's end, then the rest appended */
	size_t cut = (size_t)5 << 20;
	while (body[cut - 1] != '\n')
		cut++;
	tu_write_file(part, body, cut);
	run_result r = run("--json -j 2 -f csv --save %s %s", st, part);
	no_one_worker_note(&r, 2);
	assert_int_equal(json_u64(r.json, "skipped"), 1);
	run_result_free(&r);
	FILE *f = fopen(part, "ab");
	assert_non_null(f);
	assert_int_equal(fwrite(body + cut, 1, len - cut, f), len - cut);
	fclose(f);
	free(body);
	r = run("--json -j 2 -f csv --state %s %s", st, part);
	run_result one = run("--json -j 1 -f csv %s", whole);
	static const char *const keys[] = {"lines", "requests", "malformed", "skipped",
					   "bytes_sent", "unique_ips"};
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
		if (json_u64(r.json, keys[k]) != json_u64(one.json, keys[k]))
			fail_msg("%s: %" PRIu64 " resumed, %" PRIu64 " in one run", keys[k],
				 json_u64(r.json, keys[k]), json_u64(one.json, keys[k]));
	char why[600] = "";
	if (!same_value(json_get(one.json, "status"), json_get(r.json, "status"), ".status", why,
			sizeof why) ||
	    !same_value(json_get(one.json, "top"), json_get(r.json, "top"), ".top", why,
			sizeof why))
		fail_msg("resumed: %s", why);
	assert_int_equal(json_u64(r.json, "skipped"), 1);
	run_result_free(&r);
	run_result_free(&one);
}

/* A CSV whose first line is broken (malformed, as -j 1 reads it) before
 * its header row, resumed with --state after rows were appended: the
 * resumed run reads the header row again, not the broken line, so the new
 * rows are records. Before, the first non-empty line was taken for the
 * header: the first new row became the header and the next malformed. */
static void resume_after_broken_first_line(void **state)
{
	(void)state;
	char path[256], st[256];
	snprintf(path, sizeof path, "%s/broken.csv", dir);
	snprintf(st, sizeof st, "%s/broken.state", dir);
	const char *first = "\"broken\nremote_addr,time_local,request,status\n"
			    "192.0.2.1,\"14/Nov/2023:22:13:20 +0000\",\"GET / HTTP/1.1\",200\n";
	const char *more = "192.0.2.2,\"14/Nov/2023:22:13:21 +0000\",\"GET /b HTTP/1.1\",404\n"
			   "192.0.2.3,\"14/Nov/2023:22:13:22 +0000\",\"GET /c HTTP/1.1\",200\n";
	tu_write_file(path, first, strlen(first));
	for (int j = 1; j <= 2; j++) {
		unlink(st);
		tu_write_file(path, first, strlen(first));
		run_result r = run("--json -j %d -f csv --state %s %s", j, st, path);
		counted(r.json, 1, 1, 1);
		run_result_free(&r);
		FILE *f = fopen(path, "ab");
		assert_non_null(f);
		fputs(more, f);
		fclose(f);
		r = run("--json -j %d -f csv --state %s %s", j, st, path);
		counted(r.json, 3, 1, 1);
		assert_int_equal(json_u64(json_get(r.json, "status"), "404"), 1);
		run_result_free(&r);
	}
}

static void mix_with_combined(void **state)
{
	(void)state;
	char csv[256], log[256], cmd[768], args[600];
	snprintf(csv, sizeof csv, "%s/mix.csv", dir);
	snprintf(log, sizeof log, "%s/mix.log", dir);
	snprintf(cmd, sizeof cmd,
		 "%s --format csv --size 6M --ips 1000 --urls 300 --seed %" PRIu64 " -o %s && "
		 "%s --lines 3000 --ips 500 --urls 100 --seed %" PRIu64 " -o %s",
		 gen, seed % 1000 + 5, csv, gen, seed % 1000 + 6, log);
	assert_int_equal(tu_run(cmd), 0);
	static const int two[] = {2};
	snprintf(args, sizeof args, "-f csv %s -f combined %s", csv, log);
	same_at(args, two, 1, false);
	run_result r = run("--json -j 2 %s", args);
	assert_int_equal(json_u64(r.json, "skipped"), 1);
	all_exact(r.json);
	run_result_free(&r);
}

static void w3c_keeps_one_worker(void **state)
{
	(void)state;
	char path[256], args[400];
	snprintf(path, sizeof path, "%s/big.w3c", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs("#Version: 1.0\n#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-bytes\n",
	      f);
	for (unsigned i = 0; ftell(f) < (long)(5 << 20); i++)
		fprintf(f, "2024-05-01 %02u:%02u:%02u 10.0.%u.%u GET /w/%u %d %u\n", i / 3600 % 24,
			i / 60 % 60, i % 60, i % 7, i % 200, i % 90, i % 11 ? 200 : 404, i % 3000);
	fclose(f);
	snprintf(args, sizeof args, "-f w3c %s", path);
	run_result r = run("--json -j 2 %s", args);
	if (!strstr(r.err, "one worker"))
		fail_msg("-j 2 w3c: no one-worker note: %s", r.err);
	assert_int_equal(json_u64(r.json, "skipped"), 2);
	run_result_free(&r);
	static const int two[] = {2};
	same_at(args, two, 1, true);
}

/* syslog:csv (CSV rows as syslog messages, the first one the header) is
 * read in order by one worker: before, a 5 MiB file at -j 2 was cut into
 * byte ranges with no header for the chunks after the first (a quarter of
 * the rows counted). */
static void syslog_csv_in_order(void **state)
{
	(void)state;
	char path[256], args[400];
	snprintf(path, sizeof path, "%s/sys.log", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs("<13>Nov 14 22:13:20 host app: remote_addr,time_local,request,status\n", f);
	uint64_t rows = 0;
	for (unsigned i = 0; ftell(f) < (long)(5 << 20); i++, rows++)
		fprintf(f, "<13>Nov 14 22:13:20 host app: 10.0.%u.%u,\"14/Nov/2023:22:%02u:%02u "
			   "+0000\",\"GET /p/%u HTTP/1.1\",%d\n",
			i % 7, i % 200, i / 60 % 60, i % 60, i % 50, i % 3 ? 200 : 404);
	fclose(f);
	snprintf(args, sizeof args, "-f syslog:csv %s", path);
	for (int j = 1; j <= 2; j++) {
		run_result r = run("--json -j %d %s", j, args);
		counted(r.json, rows, 0, 1);
		run_result_free(&r);
	}
	static const int two[] = {2};
	same_at(args, two, 1, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csv_same_at_every_job_count),
		cmocka_unit_test(bom_crlf_quoted_newline),
		cmocka_unit_test(header_after_junk),
		cmocka_unit_test(header_only_and_empty),
		cmocka_unit_test(save_then_resume),
		cmocka_unit_test(resume_after_broken_first_line),
		cmocka_unit_test(mix_with_combined),
		cmocka_unit_test(w3c_keeps_one_worker),
		cmocka_unit_test(syslog_csv_in_order),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
