/*
 * test_state_cli.c: `sluice merge` and `sluice report` end to end, through
 * $SLUICE_BIN (default ./sluice).
 *
 * State files are made with the library from generated logs a and b (one
 * state each, and one of a then b). Then:
 *  - `report --json` of merge(a, b) equals `report --json` of (a then b) in
 *    every exact figure (counts, status codes, methods, exact distinct
 *    counts, exact top lists, the hourly series);
 *  - `report` of two states equals `report` of their merge;
 *  - a damaged state (truncated, a flipped bit, not a state at all) makes
 *    both commands exit with status 2 and name the file and the problem on
 *    stderr, and nothing is written;
 *  - states of different log formats do not merge (status 2, a message).
 */
#include "testutil.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t seed;
static const char *sluice_bin;
static char dir[256];

static size_t gen(char *buf, size_t cap, tu_rng *r, size_t n, unsigned nclients, int64_t t0)
{
	static const int st[] = {200, 200, 404, 301, 500};
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t t = t0 + (int64_t)i * 13;
		char when[27];
		tu_log_time(when, t);
		unsigned c = (unsigned)tu_below(r, nclients), u = (unsigned)tu_below(r, 300);
		if (i % 97 == 5) {
			len += (size_t)snprintf(buf + len, cap - len, "junk line %zu\n", i);
			continue;
		}
		len += (size_t)snprintf(buf + len, cap - len,
			"10.1.%u.%u - - [%s] \"GET /p/%u HTTP/1.1\" %d %u \"-\" \"ua%u\"\n",
			c >> 8, c & 255, when, u, st[u % 5], u * 7, c % 5);
	}
	return len;
}

/* Saves a state of the given logs (format fmt) to dir/name. */
static void save_state(const char *name, sl_format fmt, const char **logs, const size_t *lens,
		       size_t n)
{
	sl_budget b;
	sl_budget_init(&b, 64 << 20);
	sl_report *r;
	assert_int_equal(sl_report_new(&r, &b, fmt, 1 << 20), SL_OK);
	sl_state_input in[4];
	memset(in, 0, sizeof in);
	static const char *const paths[4] = {"a.log", "b.log", "c.log", "d.log"};
	for (size_t i = 0; i < n; i++) {
		sl_report_begin_input(r, (uint32_t)i);
		sl_report_feed(r, logs[i], lens[i]);
		in[i].path = paths[i];
		in[i].size = in[i].consumed = lens[i];
	}
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int err;
	assert_int_equal(sl_state_save(path, &b, r, in, n, 1 << 20, b.peak, &err), SL_OK);
	sl_report_free(r);
}

/* Runs a shell command; returns its exit status. */
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *p = malloc((size_t)n + 1);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

static jv *json_file(const char *name)
{
	size_t len, at;
	char *text = slurp(name, &len);
	jv *v = json_parse(text, len, &at);
	free(text);
	assert_non_null(v);
	return v;
}

static void assert_same_json(const jv *a, const jv *b)
{
	assert_int_equal(a->t, b->t);
	switch (a->t) {
	case J_NULL: break;
	case J_BOOL: assert_int_equal(a->b, b->b); break;
	case J_NUM:
		assert_int_equal(a->is_uint, b->is_uint);
		if (a->is_uint)
			assert_int_equal(a->u, b->u);
		else
			assert_true(a->num == b->num);
		break;
	case J_STR:
		assert_int_equal(a->len, b->len);
		assert_memory_equal(a->str, b->str, a->len);
		break;
	case J_ARR:
	case J_OBJ:
		assert_int_equal(a->n, b->n);
		for (size_t i = 0; i < a->n; i++) {
			if (a->t == J_OBJ)
				assert_string_equal(a->keys[i], b->keys[i]);
			assert_same_json(a->items[i], b->items[i]);
		}
		break;
	}
}

/* The exact figures of two JSON reports agree. */
static void assert_exact_figures_equal(const jv *a, const jv *b)
{
	static const char *const exact[] = {"format", "lines", "requests", "malformed",
					    "oversized", "bytes_sent", "first_time", "last_time",
					    "status", "status_class", "methods", "protocols",
					    "per_hour", "per_minute", "top_info"};
	for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
		const jv *x = json_get(a, exact[i]), *y = json_get(b, exact[i]);
		assert_int_equal(x == NULL, y == NULL);
		if (x)
			assert_same_json(x, y);
	}
	static const char *const est[] = {"unique_ips", "unique_visitors"};
	for (size_t i = 0; i < 2; i++) {
		const jv *x = json_get(a, est[i]), *y = json_get(b, est[i]);
		assert_non_null(x);
		const jv *ex = json_get(x, "exact");
		assert_non_null(ex);
		if (ex->b)
			assert_same_json(x, y);
	}
	/* top lists that are exact on both sides */
	const jv *ta = json_get(a, "top"), *tb = json_get(b, "top");
	const jv *ia = json_get(a, "top_info");
	assert_non_null(ta);
	for (size_t i = 0; i < ta->n; i++) {
		const jv *info = json_get(ia, ta->keys[i]);
		if (info && json_get(info, "exact")->b)
			assert_same_json(ta->items[i], json_get(tb, ta->keys[i]));
	}
}

static void setup_states(void)
{
	tu_rng r = {seed};
	size_t cap = 4000 * 200;
	char *a = malloc(cap), *b = malloc(cap), *c = malloc(cap);
	size_t la = gen(a, cap, &r, 4000, 400, 1700000000);
	size_t lb = gen(b, cap, &r, 4000, 400, 1700000000 + 2 * 86400);
	const char *both[2] = {a, b};
	size_t lens[2] = {la, lb};
	save_state("a.state", SL_FMT_COMBINED, both, lens, 1);
	save_state("b.state", SL_FMT_COMBINED, both + 1, lens + 1, 1);
	save_state("ab.state", SL_FMT_COMBINED, both, lens, 2);
	/* the same lines as a common log: a state of another format */
	size_t lc = gen(c, cap, &r, 100, 10, 1700000000);
	const char *cc[1] = {c};
	save_state("c.state", SL_FMT_COMMON, cc, &lc, 1);
	free(a);
	free(b);
	free(c);
}

static void merge_then_report(void **state)
{
	(void)state;
	assert_int_equal(run("%s merge %s/a.state %s/b.state -o %s/m.state", sluice_bin, dir, dir,
			     dir),
			 0);
	assert_int_equal(run("%s report -q --json %s/m.state > %s/m.json", sluice_bin, dir, dir),
			 0);
	assert_int_equal(run("%s report -q -o %s/ab.json %s/ab.state", sluice_bin, dir, dir), 0);
	assert_int_equal(run("%s report -q --json %s/a.state %s/b.state > %s/two.json", sluice_bin,
			     dir, dir, dir),
			 0);
	jv *m = json_file("m.json"), *ab = json_file("ab.json"), *two = json_file("two.json");
	assert_exact_figures_equal(m, ab);
	assert_same_json(m, two); /* merging in the command or in a file: the same */
	assert_int_equal(json_u64(m, "lines"), 8000);
	assert_int_equal(json_get(m, "inputs")->n, 2);
	/* the checker can fail: a's report alone differs */
	assert_int_equal(run("%s report -q --json %s/a.state > %s/a.json", sluice_bin, dir, dir), 0);
	jv *a = json_file("a.json");
	assert_true(json_u64(a, "lines") != json_u64(m, "lines"));
	json_free(a);
	json_free(m);
	json_free(ab);
	json_free(two);
	/* text output works too */
	assert_int_equal(run("%s report -q %s/m.state > %s/m.txt", sluice_bin, dir, dir), 0);
	size_t len;
	char *txt = slurp("m.txt", &len);
	assert_non_null(strstr(txt, "8,000"));
	free(txt);
}

static bool stderr_says(const char *a, const char *b)
{
	size_t len;
	char *e = slurp("err.txt", &len);
	bool ok = strstr(e, a) && strstr(e, b);
	if (!ok)
		print_message("stderr: %s", e);
	free(e);
	return ok;
}

static void damaged_states(void **state)
{
	(void)state;
	size_t len;
	char *good = slurp("a.state", &len);
	char path[512];
	/* truncated */
	snprintf(path, sizeof path, "%s/cut.state", dir);
	FILE *f = fopen(path, "wb");
	fwrite(good, 1, len / 2, f);
	fclose(f);
	/* one flipped bit */
	snprintf(path, sizeof path, "%s/flip.state", dir);
	good[len / 3] ^= 4;
	f = fopen(path, "wb");
	fwrite(good, 1, len, f);
	fclose(f);
	free(good);
	static const char *const bad[] = {"cut.state", "flip.state", "a.json"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(run("%s report %s/%s > /dev/null 2> %s/err.txt", sluice_bin, dir,
				     bad[i], dir),
				 2);
		assert_true(stderr_says(bad[i], "invalid state file"));
		assert_int_equal(run("%s merge %s/a.state %s/%s -o %s/x.state 2> %s/err.txt",
				     sluice_bin, dir, dir, bad[i], dir, dir),
				 2);
		assert_true(stderr_says(bad[i], "invalid state file"));
		snprintf(path, sizeof path, "%s/x.state", dir);
		assert_int_equal(access(path, F_OK), -1);
	}
	assert_int_equal(run("%s report %s/missing.state 2> %s/err.txt", sluice_bin, dir, dir), 2);
	assert_true(stderr_says("missing.state", "No such file"));
	/* formats differ */
	assert_int_equal(run("%s merge %s/a.state %s/c.state -o %s/x.state 2> %s/err.txt",
			     sluice_bin, dir, dir, dir, dir),
			 2);
	assert_true(stderr_says("c.state", "common"));
	/* usage */
	assert_int_equal(run("%s merge %s/a.state 2> /dev/null", sluice_bin, dir), 2);
	assert_int_equal(run("%s report 2> /dev/null", sluice_bin), 2);
	/* getopt's own messages name the command as ours do, not argv[0] */
	static const char *const cmds[][2] = {
		{"", "sluice: "}, {"merge", "sluice merge: "}, {"report", "sluice report: "},
	};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(run("%s %s --bogus 2> %s/err.txt", sluice_bin, cmds[i][0], dir), 2);
		char *e = slurp("err.txt", &len);
		if (strncmp(e, cmds[i][1], strlen(cmds[i][1])) != 0)
			fail_msg("'%s --bogus' said: %s", cmds[i][0], e);
		free(e);
	}
}

int main(void)
{
	seed = tu_seed("test_state_cli", 5);
	sluice_bin = tu_sluice_bin();
	if (access(sluice_bin, X_OK) != 0) {
		printf("test_state_cli: %s not found; build it first\n", sluice_bin);
		return 1;
	}
	snprintf(dir, sizeof dir, "/tmp/test_state_cli.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	setup_states();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_then_report),
		cmocka_unit_test(damaged_states),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
