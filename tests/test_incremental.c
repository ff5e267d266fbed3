/*
 * test_incremental.c: `sluice --state FILE` end to end.
 *
 * Each case writes logs with the project's generator ($SLUICE_GEN), runs
 * the incremental command over a sequence of changes to the files (growth,
 * truncation, rotation, rotation into .gz), and compares the final report
 * with one plain run over exactly the lines that were in the logs: every
 * exact figure and the HLL estimates must be equal. A second run over
 * unchanged files must read zero bytes and print the same report. A
 * SIGKILL during the save must leave the previous state loadable.
 */
#include "testutil.h"
#include "json.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static const char *bin, *gen;

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	char full[4400];
	snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
	int st = system(full);
	if (st != 0)
		print_error("command failed (%d): %s\n", st, cmd);
	assert_int_equal(st, 0);
}

/* Runs sluice ARGS in dir with --json and parses stdout. */
static jv *report(int *status, const char *fmt, ...)
{
	char args[2048], cmd[4096], out[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(out, sizeof out, "%s/out.json", dir);
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' -q --json %s > out.json", dir, bin, args);
	int st = system(cmd);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	size_t len;
	char *text = tu_slurp(out, &len);
	jv *j = text ? json_parse(text, len, NULL) : NULL;
	free(text);
	return j;
}

/* Every exact figure and the HLL estimates of two reports. */
static void assert_same(const jv *a, const jv *b)
{
	static const char *const keys[] = {"lines",	 "requests",	 "malformed", "oversized",
					   "bytes_sent", "first_time", "last_time"};
	assert_non_null(a);
	assert_non_null(b);
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const jv *x = json_get(a, keys[i]), *y = json_get(b, keys[i]);
		assert_non_null(x);
		assert_non_null(y);
		if (x->t == J_NUM)
			assert_true(x->u == y->u);
		else
			assert_string_equal(x->str, y->str);
	}
	const char *maps[] = {"status", "methods", "protocols"};
	for (int m = 0; m < 3; m++) {
		const jv *x = json_get(a, maps[m]), *y = json_get(b, maps[m]);
		assert_int_equal(x->n, y->n);
		for (size_t i = 0; i < x->n; i++)
			assert_int_equal(x->items[i]->u, json_u64(y, x->keys[i]));
	}
	/* Distinct counts: equal when exact. An approximate one is Ertl's
	 * estimate of the same HLL registers, raised to the distinct keys the
	 * counter had counted exactly when it switched; that count depends on
	 * when the switch came (one run, or a merge of two exact sets), so the
	 * two may differ: merge_equals_one_run checks both against the truth. */
	const char *est[] = {"unique_ips", "unique_visitors"};
	for (int e = 0; e < 2; e++) {
		const jv *x = json_get(a, est[e]), *y = json_get(b, est[e]);
		if (json_get(x, "exact")->b && json_get(y, "exact")->b)
			assert_true(json_get(x, "estimate")->num == json_get(y, "estimate")->num);
	}
	const jv *ha = json_get(a, "per_hour"), *hb = json_get(b, "per_hour");
	assert_int_equal(ha->n, hb->n);
	for (size_t i = 0; i < ha->n; i++)
		assert_int_equal(json_u64(json_at(ha, i), "requests"),
				 json_u64(json_at(hb, i), "requests"));
}

static uint64_t bytes_read(const jv *j)
{
	const jv *in = json_get(j, "inputs");
	uint64_t n = 0;
	for (size_t i = 0; i < in->n; i++)
		n += json_u64(json_at(in, i), "bytes_read");
	return n;
}

static void growth_rotation_gzip_truncation(void **state)
{
	(void)state;
	int st;
	jv *a, *b;
	sh("rm -f s.st a.log* seen.log && '%s' --lines 30000 --seed 1 > a.log", gen);
	a = report(&st, "--state s.st a.log");
	assert_int_equal(st, 0);
	json_free(a);

	/* unchanged: nothing read, the same report */
	a = report(&st, "--state s.st a.log");
	assert_int_equal(st, 0);
	assert_int_equal(bytes_read(a), 0);
	b = report(&st, "-j 1 a.log");
	assert_same(a, b);
	json_free(a);
	json_free(b);

	/* growth */
	sh("'%s' --lines 5000 --seed 2 --start 1700600000 >> a.log", gen);
	a = report(&st, "--state s.st a.log");
	assert_int_equal(st, 0);
	assert_int_equal(json_u64(json_at(json_get(a, "inputs"), 0), "resumed_at") > 0, 1);
	b = report(&st, "-j 1 a.log");
	assert_same(a, b);
	json_free(a);
	json_free(b);

	/* rotation: a.log -> a.log.1 (same inode), a new a.log */
	sh("'%s' --lines 700 --seed 3 --start 1700650000 >> a.log && mv a.log a.log.1 && "
	   "'%s' --lines 8000 --seed 4 --start 1700700000 > a.log && cat a.log.1 a.log > seen.log",
	   gen, gen);
	a = report(&st, "--state s.st a.log a.log.1");
	assert_int_equal(st, 0);
	b = report(&st, "-j 1 seen.log");
	assert_same(a, b);
	json_free(a);
	json_free(b);

	/* rotation into .gz under another name: recognised by its content */
	sh("gzip -c a.log.1 > a.log.2.gz && rm a.log.1");
	a = report(&st, "--state s.st a.log a.log.2.gz");
	assert_int_equal(st, 0);
	assert_int_equal(bytes_read(a), 0);
	b = report(&st, "-j 1 seen.log");
	assert_same(a, b);
	json_free(a);
	json_free(b);

	/* truncation: a.log rewritten shorter is read again from its start */
	sh("'%s' --lines 300 --seed 5 --start 1700800000 > a.log && "
	   "cat a.log >> seen.log", gen);
	a = report(&st, "--state s.st a.log a.log.2.gz");
	assert_int_equal(st, 0);
	b = report(&st, "-j 1 seen.log");
	assert_same(a, b);
	json_free(a);
	json_free(b);
}

/* The malformed-line samples of the report, as "input:line:text" lines. */
static void samples_text(const jv *j, char *out, size_t cap)
{
	const jv *ss = json_get(j, "malformed_samples");
	assert_non_null(ss);
	size_t at = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ss->n; i++) {
		const jv *x = json_at(ss, i);
		int n = snprintf(out + at, cap - at, "%s:%llu:%s\n", json_get(x, "input")->str,
				 (unsigned long long)json_u64(x, "line"), json_get(x, "text")->str);
		assert_true(n > 0 && (size_t)n < cap - at);
		at += (size_t)n;
	}
}

/* A resumed run numbers its lines from the file's start, as a plain run
 * does: with one job and with the queue's workers, across a partial last
 * line left for later, and in a file rotated into .gz. */
static void samples_keep_their_line_numbers(void **state)
{
	(void)state;
	int st;
	char inc[2048], one[2048];
	/* bad lines at 301, 402, then (a partial line, completed later) 453 */
	sh("rm -f t.st b.log* && '%s' --lines 300 --seed 6 > b.log && echo 'bad one' >> b.log", gen);
	/* saved with two jobs: each job's share then holds the state */
	jv *a = report(&st, "-j 2 --state t.st b.log");
	assert_int_equal(st, 0);
	json_free(a);
	sh("'%s' --lines 100 --seed 7 --start 1700100000 >> b.log && echo 'bad two' >> b.log && "
	   "'%s' --lines 50 --seed 8 --start 1700200000 >> b.log && printf 'bad' >> b.log", gen,
	   gen);
	a = report(&st, "-j 2 --state t.st b.log");
	assert_int_equal(st, 0);
	json_free(a);
	sh("echo ' three' >> b.log && '%s' --lines 20 --seed 9 --start 1700300000 >> b.log", gen);
	const char *jobs[] = {"-j 1", "-j 2"};
	for (int k = 0; k < 2; k++) {
		/* the same state, resumed once with each job count */
		sh("cp t.st t%d.st", k);
		a = report(&st, "%s --state t%d.st b.log", jobs[k], k);
		assert_int_equal(st, 0);
		samples_text(a, inc, sizeof inc);
		json_free(a);
		a = report(&st, "%s b.log", jobs[k]);
		samples_text(a, one, sizeof one);
		json_free(a);
		assert_string_equal(inc, one);
		assert_string_equal(inc, "b.log:301:bad one\nb.log:402:bad two\n"
					 "b.log:453:bad three\n");
	}
	/* rotated into .gz (read past by decompressing), and a new b.log */
	sh("gzip -c b.log > b.log.1.gz && rm b.log && '%s' --lines 5 --seed 10 > b.log && "
	   "echo 'bad four' >> b.log", gen);
	a = report(&st, "-j 1 --state t0.st b.log.1.gz b.log");
	assert_int_equal(st, 0);
	samples_text(a, inc, sizeof inc);
	json_free(a);
	a = report(&st, "-j 1 b.log.1.gz b.log");
	samples_text(a, one, sizeof one);
	json_free(a);
	assert_string_equal(inc, one);
	assert_non_null(strstr(inc, "b.log:6:bad four\n"));
}

/* merge(state(a), state(b)) reports what state(a then b) reports. */
static void merge_equals_one_run(void **state)
{
	(void)state;
	int st;
	sh("rm -f x.st y.st xy.st all.st && '%s' --lines 20000 --seed 7 > x.log && "
	   "'%s' --lines 15000 --seed 8 --start 1700300000 > y.log && cat x.log y.log > xy.log",
	   gen, gen);
	jv *a = report(&st, "-j 1 --save x.st x.log");
	assert_int_equal(st, 0);
	json_free(a);
	a = report(&st, "-j 1 --save y.st y.log");
	json_free(a);
	sh("'%s' merge x.st y.st -o all.st", bin);
	a = report(&st, "all.st"); /* a state where a log would be */
	assert_int_equal(st, 0);
	jv *b = report(&st, "-j 1 xy.log");
	assert_same(a, b);
	/* the distinct counts, exact or not, hold the true ones (awk's) */
	sh("awk '{print $1}' xy.log | sort -u | wc -l > ips.txt && "
	   "awk '{split($0, q, \"\\\"\"); split($4, d, \":\"); if ($9 !~ /^4/) "
	   "print $1, substr(d[1], 2), q[6]}' xy.log | sort -u | wc -l > visitors.txt");
	const char *est[] = {"unique_ips", "unique_visitors"}, *truth[] = {"ips.txt", "visitors.txt"};
	for (int e = 0; e < 2; e++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, truth[e]);
		char *t = tu_slurp(path, NULL);
		assert_non_null(t);
		double n = strtod(t, NULL);
		free(t);
		const jv *x = json_get(a, est[e]), *y = json_get(b, est[e]);
		if (!(json_get(x, "low")->num <= n && n <= json_get(x, "high")->num &&
		      json_get(y, "low")->num <= n && n <= json_get(y, "high")->num))
			print_error("%s: true %.0f, merged [%.0f, %.0f], one run [%.0f, %.0f]\n",
				    est[e], n, json_get(x, "low")->num, json_get(x, "high")->num,
				    json_get(y, "low")->num, json_get(y, "high")->num);
		assert_true(json_get(x, "low")->num <= n && n <= json_get(x, "high")->num);
		assert_true(json_get(y, "low")->num <= n && n <= json_get(y, "high")->num);
	}
	json_free(a);
	json_free(b);
}

/* SIGKILL while saving: the state file is the old one or the new one,
 * never a broken one. */
static void kill_during_save_keeps_old_state(void **state)
{
	(void)state;
	int st;
	sh("rm -f k.st && '%s' --lines 200000 --seed 9 > k.log", gen);
	jv *a = report(&st, "--save k.st --state k.st k.log");
	json_free(a);
	/* kill moments spread over the whole run, the save at its end */
	for (int round = 0; round < 8; round++) {
		char cmd[2048];
		snprintf(cmd, sizeof cmd,
			 "cd '%s' && ('%s' -q -j 1 --state k.st k.log k.log > /dev/null & p=$!; "
			 "sleep 0.%02d; kill -9 $p; wait $p) 2>/dev/null; true",
			 dir, bin, 5 + round * 9);
		assert_int_equal(system(cmd), 0);
		a = report(&st, "k.st");
		assert_int_equal(st, 0); /* still a valid state */
		assert_non_null(a);
		json_free(a);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/sluice-inc-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	bin = tu_sluice_bin();
	gen = getenv("SLUICE_GEN") ? getenv("SLUICE_GEN") : "./sluice-gen";
	static char abin[1024], agen[1024];
	if (!realpath(bin, abin) || !realpath(gen, agen))
		return -1;
	bin = abin;
	gen = agen;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(growth_rotation_gzip_truncation),
		cmocka_unit_test(samples_keep_their_line_numbers),
		cmocka_unit_test(merge_equals_one_run),
		cmocka_unit_test(kill_during_save_keeps_old_state),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
