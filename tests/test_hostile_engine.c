/*
 * test_hostile_engine.c: issue 11's findings against the run itself (the
 * reader, the ranges, the workers, --state), end to end through the
 * program, plus issue 12's "one answer per input".
 *
 * Each case writes its input (with $SLUICE_GEN or by hand) into a fresh
 * directory, runs $SLUICE_BIN and checks what a user would check: the line
 * count against the lines written, the exit status, the bytes of the JSON.
 */
#include "testutil.h"
#include "json.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static const char *bin, *gen;

/* Runs a shell command in dir; returns its exit status (128 + signal). */
static int shf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int shf(const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Runs a command that must succeed. */
static void sh(const char *cmd)
{
	int st = shf("%s", cmd);
	if (st != 0)
		print_error("command failed (%d): %s\n", st, cmd);
	assert_int_equal(st, 0);
}

static jv *load_json(const char *name)
{
	char path[512];
	size_t len;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	char *text = tu_slurp(path, &len);
	jv *j = text ? json_parse(text, len, NULL) : NULL;
	free(text);
	if (!j)
		print_error("%s is not a JSON document\n", name);
	assert_non_null(j);
	return j;
}

static uint64_t num(const jv *j, const char *key)
{
	const jv *x = json_get(j, key);
	assert_non_null(x);
	return x->u;
}

static bool same(const char *a, const char *b)
{
	char pa[512], pb[512];
	snprintf(pa, sizeof pa, "%s/%s", dir, a);
	snprintf(pb, sizeof pb, "%s/%s", dir, b);
	return tu_same_files(pa, pb);
}

static int setup(void **state)
{
	(void)state;
	bin = tu_sluice_bin();
	gen = getenv("SLUICE_GEN");
	if (!gen || !*gen)
		gen = "./sluice-gen";
	char cwd[200];
	assert_non_null(getcwd(cwd, sizeof cwd));
	if (bin[0] != '/') { /* the commands run in dir */
		static char abs_bin[512], abs_gen[512];
		snprintf(abs_bin, sizeof abs_bin, "%s/%s", cwd, bin);
		bin = abs_bin;
		if (gen[0] != '/') {
			snprintf(abs_gen, sizeof abs_gen, "%s/%s", cwd, gen);
			gen = abs_gen;
		}
	} else if (gen[0] != '/') {
		static char abs_gen[512];
		snprintf(abs_gen, sizeof abs_gen, "%s/%s", cwd, gen);
		gen = abs_gen;
	}
	snprintf(dir, sizeof dir, "/tmp/sluice-hostile-engine-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(dir);
}

/* Issue 12, "one answer per input": five runs at -j 2 and at -j 3, over a
 * file read in ranges and over a pipe, on an input large enough that the
 * top lists and distinct counts are approximate at -m 1M: the JSON is the
 * same bytes every time, memory peak included. */
static void one_answer_per_input(void **state)
{
	(void)state;
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s' --lines 60000 --seed 11 --request-time > big.log", gen);
	sh(cmd);
	assert_int_equal(shf("'%s' -q -j 2 -m 1M --json big.log > approx.json", bin), 0);
	jv *j = load_json("approx.json");
	const jv *ips = json_get(json_get(j, "unique_ips"), "exact");
	assert_non_null(ips);
	assert_false(ips->b); /* the input is big enough to be approximate */
	json_free(j);
	/* The stated peak is a measure, not the cap: at 16M the parts' peaks
	 * summed past the budget once worker 0 grew during the merge, and the
	 * figure was clamped to exactly the budget. */
	assert_int_equal(shf("'%s' -q -j 2 -m 16M --json big.log > m16.json", bin), 0);
	j = load_json("m16.json");
	const jv *mem = json_get(j, "memory");
	assert_true(json_u64(mem, "peak") > 0 && json_u64(mem, "peak") < json_u64(mem, "budget"));
	json_free(j);
	for (int jobs = 2; jobs <= 3; jobs++)
		for (int pipe = 0; pipe < 2; pipe++) {
			for (int k = 0; k < 5; k++) {
				int st = pipe ? shf("cat big.log | '%s' -q -j %d --json > run%d.json",
						    bin, jobs, k)
					      : shf("'%s' -q -j %d --json big.log > run%d.json", bin,
						    jobs, k);
				assert_int_equal(st, 0);
			}
			for (int k = 1; k < 5; k++) {
				char a[32];
				snprintf(a, sizeof a, "run%d.json", k);
				if (!same("run0.json", a))
					print_error("-j %d %s: run %d differs from run 0\n", jobs,
						    pipe ? "pipe" : "file", k);
				assert_true(same("run0.json", a));
			}
		}
}

/* Writes `lines` generated lines to `name` and returns how many there are. */
static uint64_t gen_log(const char *name, int lines, int seed)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s' --lines %d --seed %d > %s", gen, lines, seed, name);
	sh(cmd);
	return (uint64_t)lines;
}

/* Item 4: a path that is not a regular file is opened once; its first
 * bytes are not lost to the check for a state file. /dev/stdin, a process
 * substitution and a FIFO all count every line, with --save too. */
static void item04_named_pipes_keep_their_first_bytes(void **state)
{
	(void)state;
	uint64_t n = gen_log("p.log", 1000, 4);
	assert_int_equal(shf("cat p.log | '%s' -q --json /dev/stdin > a.json", bin), 0);
	jv *j = load_json("a.json");
	assert_int_equal(num(j, "lines"), n);
	assert_int_equal(num(j, "malformed"), 0);
	json_free(j);
	assert_int_equal(shf("bash -c \"'%s' -q --json --save s.st <(cat p.log)\" > b.json", bin),
			 0);
	j = load_json("b.json");
	assert_int_equal(num(j, "lines"), n);
	assert_int_equal(num(j, "malformed"), 0);
	json_free(j);
	assert_int_equal(shf("rm -f f.fifo && mkfifo f.fifo && (cat p.log > f.fifo &) && "
			     "timeout 20 '%s' -q --json f.fifo > c.json",
			     bin),
			 0);
	j = load_json("c.json");
	assert_int_equal(num(j, "lines"), n);
	assert_int_equal(num(j, "malformed"), 0);
	json_free(j);
}

/* Item 9: one input that fails mid-file still gives the report of what
 * was read, marked incomplete, with exit status 2. */
static void item09_one_truncated_input_still_reports(void **state)
{
	(void)state;
	gen_log("t.log", 100000, 9);
	sh("gzip -c t.log | head -c 600000 > t.gz");
	int st = shf("'%s' -q --json t.gz > t.json", bin);
	assert_int_equal(st, 2);
	jv *j = load_json("t.json");
	uint64_t lines = num(j, "lines");
	assert_true(lines > 1000 && lines < 100000);
	const jv *in = json_get(j, "inputs");
	assert_non_null(in);
	assert_int_equal(in->n, 1);
	const jv *err = json_get(json_at(in, 0), "error");
	assert_non_null(err);
	assert_int_equal(err->t, J_STR); /* marked incomplete */
	json_free(j);
	st = shf("'%s' -q t.gz > t.txt", bin);
	assert_int_equal(st, 2);
	assert_int_equal(shf("grep -q '^  Incomplete  *t.gz: ' t.txt"), 0);
}

/* Item 6: a state resumes at any -j. Saved at -j 1, resumed at -j 2 and
 * -j 3; saved at -j 2, resumed at -j 4 (at the default budget, where a
 * -j 1 state fills one worker's whole share): every run succeeds and counts
 * every line once. */
static void item06_state_resumes_at_any_jobs(void **state)
{
	(void)state;
	static const int saved[] = {1, 1, 2}, resumed[] = {2, 3, 4};
	for (int k = 0; k < 3; k++) {
		char cmd[1024];
		snprintf(cmd, sizeof cmd, "rm -f j.st && '%s' --lines 20000 --seed 3 > j.log", gen);
		sh(cmd);
		assert_int_equal(shf("'%s' -q -j %d --state j.st j.log > /dev/null", bin, saved[k]), 0);
		snprintf(cmd, sizeof cmd, "'%s' --lines 1000 --seed 4 --start 1800000000 >> j.log", gen);
		sh(cmd);
		int st = shf("'%s' -q -j %d --state j.st --json j.log > j.json", bin, resumed[k]);
		if (st != 0)
			print_error("saved at -j %d, resumed at -j %d: exit %d\n", saved[k], resumed[k],
				    st);
		assert_int_equal(st, 0);
		jv *j = load_json("j.json");
		assert_int_equal(num(j, "lines"), 21000);
		assert_int_equal(num(j, "requests"), 21000);
		json_free(j);
	}
}

/* Item 13: under --state, inputs that are one file (a symlink, the same
 * name twice) are read once, with a note. */
static void item13_one_file_given_twice_is_read_once(void **state)
{
	(void)state;
	uint64_t n = gen_log("once.log", 500, 13);
	sh("rm -f once.st && ln -sf once.log link.log");
	assert_int_equal(shf("'%s' --json --state once.st once.log link.log once.log > o.json "
			     "2> o.err", bin), 0);
	jv *j = load_json("o.json");
	assert_int_equal(num(j, "lines"), n);
	json_free(j);
	assert_int_equal(shf("grep -q 'link.log is the same file as once.log: read once' o.err"), 0);
	/* and the next run reads nothing new, once */
	assert_int_equal(shf("'%s' -q --json --state once.st link.log once.log > o.json", bin), 0);
	j = load_json("o.json");
	assert_int_equal(num(j, "lines"), n);
	json_free(j);
}

/* Item 14: a state of one access-log format, resumed with the default
 * -f auto on lines of another, is refused (exit 2) as an explicit -f is,
 * rather than counting every new line as malformed with exit 0. */
static void item14_state_format_is_checked_under_auto(void **state)
{
	(void)state;
	gen_log("comb.log", 200, 14);
	sh("rm -f c.st && awk '{print $1,$2,$3,$4,$5,$6,$7,$8,$9,$10}' comb.log > com.log");
	assert_int_equal(shf("'%s' -q -f common --state c.st com.log > /dev/null", bin), 0);
	assert_int_equal(shf("'%s' -q --state c.st comb.log > /dev/null 2> c.err", bin), 2);
	assert_int_equal(shf("grep -q 'holds a common report, but comb.log looks combined' c.err"),
			 0);
	/* the same format still resumes under auto */
	assert_int_equal(shf("'%s' -q --state c.st com.log > /dev/null", bin), 0);
}

/* Item 3 (its last part): a budget larger than the machine has is refused
 * before any input is read, with a message that says so. */
static void item03_budget_beyond_the_machine_is_refused(void **state)
{
	(void)state;
	gen_log("m.log", 10, 3);
	assert_int_equal(shf("'%s' -m 1000000G m.log > m.out 2> m.err", bin), 2);
	assert_int_equal(shf("grep -q \"more than this machine's\" m.err"), 0);
	assert_int_equal(shf("test ! -s m.out"), 0);
}

/* Messages: "memory budget exhausted" or a bare minimum stood for several
 * causes; each refusal now names its cause and what would work. */
static void messages_name_the_cause_of_a_refusal(void **state)
{
	(void)state;
	gen_log("c.log", 10, 5);
	assert_int_equal(shf("'%s' -m 1M --exact -n 100000 c.log > /dev/null 2> c.err", bin), 2);
	assert_int_equal(shf("grep -q -- '--exact with --top 100000 keeps .* lower --top' c.err"), 0);
	assert_int_equal(shf("'%s' -m 1M $(for i in $(seq 1 20000); do echo c.log; done) "
			     "> /dev/null 2> c.err", bin), 2);
	assert_int_equal(shf("grep -q '20000 inputs take .* give fewer at once' c.err"), 0);
}

/* Messages: the decompressor says how much memory the file needs, and the
 * --memory it names is enough, for a file and for a stream. */
static void messages_decoder_names_what_would_do(void **state)
{
	(void)state;
	gen_log("z.log", 60000, 21);
	sh("zstd -q -f z.log -o z.zst");
	assert_int_equal(shf("'%s' -q -m 1M z.zst > /dev/null 2> z.err", bin), 2);
	assert_int_equal(shf("grep -q 'the decompressor needs 2.5 MiB' z.err"), 0);
	assert_int_equal(shf("m=$(grep -o 'at least [0-9]*M' z.err | grep -o '[0-9]*M') && "
			     "'%s' -q -m $m z.zst > /dev/null", bin), 0);
	assert_int_equal(shf("cat z.zst | '%s' -q -m 1M > /dev/null 2> z.err", bin), 2);
	assert_int_equal(shf("m=$(grep -o 'at least [0-9]*M' z.err | grep -o '[0-9]*M') && "
			     "cat z.zst | '%s' -q -m $m > /dev/null", bin), 0);
}

/* A state keeps the log's own offset and its visitor rule: a report from it
 * shows the log's times as the plain run does, and resuming or merging with
 * the other rule for 4xx visitors is refused rather than mixed. */
static void state_keeps_offset_and_visitor_rule(void **state)
{
	(void)state;
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s' --lines 300 --seed 8 --tz +0530 > tz.log", gen);
	sh(cmd);
	sh("rm -f tz.st tz4.st");
	assert_int_equal(shf("'%s' -q tz.log > plain.txt", bin), 0);
	assert_int_equal(shf("'%s' -q --save tz.st tz.log > /dev/null", bin), 0);
	assert_int_equal(shf("'%s' report tz.st > st.txt", bin), 0);
	assert_int_equal(shf("grep '^  Time' plain.txt > a && grep '^  Time' st.txt > b && "
			     "grep -q '+05:30' a && cmp -s a b"), 0);
	assert_int_equal(shf("'%s' -q --4xx-visitors --state tz.st tz.log > /dev/null 2> v.err",
			     bin), 2);
	assert_int_equal(shf("grep -q 'counted unique visitors without 4xx' v.err"), 0);
	assert_int_equal(shf("'%s' -q --4xx-visitors --save tz4.st tz.log > /dev/null", bin), 0);
	assert_int_equal(shf("'%s' merge tz.st tz4.st -o m.st 2> m.err", bin), 2);
	assert_int_equal(shf("grep -q '4xx responses among unique visitors' m.err"), 0);
}

/* Issue 12: a key is never shortened while its list is exact, and when a
 * sketch does cut one, the text says so apart from a display cut: 4,000
 * distinct 3 KB user agents at -m 1M degrade the list (keys cut, marked
 * "[key cut]"), at 64M it stays exact (long values end in "..." only). */
static void keys_cut_are_marked_apart_from_display_cuts(void **state)
{
	(void)state;
	sh("awk 'BEGIN { for (i = 0; i < 4000; i++) { a = sprintf(\"agent-%05d-\", i % 2000); "
	   "while (length(a) < 3000) a = a \"z\"; printf \"10.0.0.1 - - "
	   "[14/Nov/2023:22:13:20 +0000] \\\"GET / HTTP/1.1\\\" 200 1 \\\"-\\\" "
	   "\\\"%s\\\"\\n\", a } }' > ua.log");
	assert_int_equal(shf("'%s' -q -j 1 -m 1M ua.log > small.txt", bin), 0);
	assert_int_equal(shf("grep -A3 '^Top user agents' small.txt | grep -q ' \\[key cut\\]$'"),
			 0);
	assert_int_equal(shf("'%s' -q -j 1 -m 64M ua.log > big.txt", bin), 0);
	assert_int_equal(shf("grep -A3 '^Top user agents' big.txt | grep -q '\\.\\.\\.$'"), 0);
	assert_int_equal(shf("grep -q 'key cut' big.txt"), 1);
}

/* Item 5, its second half: a state saved at -j 1 -m 2M..8M from a
 * 20,000-line log is resumed at the same settings (the state is read a
 * section at a time, so loading it does not hold the whole file beside the
 * report), and every line is counted once. */
static void item05_state_resumes_at_small_budgets(void **state)
{
	(void)state;
	static const char *const budgets[] = {"2M", "4M", "8M"};
	for (int k = 0; k < 3; k++) {
		char cmd[1024];
		snprintf(cmd, sizeof cmd, "rm -f s5.st && '%s' --lines 20000 --seed 3 > s5.log", gen);
		sh(cmd);
		assert_int_equal(shf("'%s' -q -j 1 -m %s --state s5.st s5.log > /dev/null", bin,
				     budgets[k]),
				 0);
		snprintf(cmd, sizeof cmd, "'%s' --lines 500 --seed 9 --start 1800000000 >> s5.log",
			 gen);
		sh(cmd);
		int st = shf("'%s' -q -j 1 -m %s --state s5.st --json s5.log > s5.json", bin,
			     budgets[k]);
		if (st != 0)
			print_error("-m %s: the resume exited %d\n", budgets[k], st);
		assert_int_equal(st, 0);
		jv *j = load_json("s5.json");
		assert_int_equal(num(j, "lines"), 20500);
		json_free(j);
	}
}

int main(void)
{
	tu_seed("test_hostile_engine", 0); /* no randomness; printed for the record */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_answer_per_input),
		cmocka_unit_test(item03_budget_beyond_the_machine_is_refused),
		cmocka_unit_test(item04_named_pipes_keep_their_first_bytes),
		cmocka_unit_test(item05_state_resumes_at_small_budgets),
		cmocka_unit_test(item06_state_resumes_at_any_jobs),
		cmocka_unit_test(item09_one_truncated_input_still_reports),
		cmocka_unit_test(item13_one_file_given_twice_is_read_once),
		cmocka_unit_test(item14_state_format_is_checked_under_auto),
		cmocka_unit_test(messages_name_the_cause_of_a_refusal),
		cmocka_unit_test(messages_decoder_names_what_would_do),
		cmocka_unit_test(state_keeps_offset_and_visitor_rule),
		cmocka_unit_test(keys_cut_are_marked_apart_from_display_cuts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
