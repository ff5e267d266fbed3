/*
 * test_engine.c: the engine (lib/engine/engine.c) run in-process, the way a
 * server or a worker would call it.
 *
 * The test writes its own logs (seeded, the seed printed): big.log, over
 * the engine's 4 MiB range threshold, so that with two or more jobs it is
 * read in byte ranges, and small.log, read through the reader's block
 * queues. While writing it counts what a report must find (lines,
 * malformed lines, status codes, bytes, distinct clients), the naive
 * reference the runs are checked against.
 *
 * Cases:
 *   jobs_1_2_3_same_exact_figures   the reference, and identical exact
 *                                   figures, top rows and sample line
 *                                   numbers for one, two and three jobs
 *   five_runs_same_state            five runs at two jobs in a budget where
 *                                   the sketches degrade: byte-identical
 *                                   encoded states (sketches, peak and all)
 *   cancel_stops_with_its_status    a cancel flag set during the run (from
 *                                   the progress callback) or before it
 *   progress_has_the_total          the callback's total is the inputs' size
 *   refusals_and_notes_are_text     a budget below the minimum and two names
 *                                   of one file come back as text
 *   stdin_regular_file_read_whole   standard input redirected from a file
 *                                   over the range threshold, two jobs:
 *                                   "-" cannot be reopened for ranges
 */
#include "testutil.h"
#include "reportcmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char big[128], small[128], alias[128];

/* What the generator wrote. */
static struct {
	uint64_t lines, malformed, bytes;
	uint64_t status[600];
	uint64_t file_bytes;
	int malformed_line; /* small.log: the line number of its malformed line */
} ref;

static const char *const methods[] = {"GET", "GET", "GET", "POST", "HEAD"};
static const int codes[] = {200, 200, 200, 304, 404, 500, 301};

#define CLIENTS 3000

/* Writes `lines` combined-format lines to path, one in every 997 malformed
 * (small.log: exactly one, at line 123). */
static void write_log(tu_rng *rng, const char *path, int lines, bool one_bad)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	int64_t t = 1700000000;
	for (int i = 1; i <= lines; i++) {
		bool bad = one_bad ? i == 123 : i % 997 == 0;
		int n;
		if (bad) {
			n = fprintf(f, "this is not an access log line %d\n", i);
			ref.malformed++;
			if (one_bad)
				ref.malformed_line = i;
		} else {
			char when[27];
			uint32_t ip = (uint32_t)tu_below(rng, CLIENTS);
			int code = codes[tu_below(rng, sizeof codes / sizeof *codes)];
			uint64_t bytes = tu_below(rng, 50000);
			t += (int64_t)tu_below(rng, 3);
			tu_log_time(when, t);
			n = fprintf(f,
				    "10.0.%u.%u - - [%s] \"%s /p/%u?q=%u HTTP/1.1\" %d %llu "
				    "\"-\" \"agent/%u\"\n",
				    ip / 256, ip % 256, when,
				    methods[tu_below(rng, sizeof methods / sizeof *methods)],
				    (unsigned)tu_below(rng, 400), (unsigned)tu_below(rng, 100000), code,
				    (unsigned long long)bytes, (unsigned)tu_below(rng, 40));
			ref.status[code]++;
			ref.bytes += bytes;
		}
		assert_true(n > 0);
		ref.file_bytes += (uint64_t)n;
		ref.lines++;
	}
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("test_engine", 13)};
	snprintf(dir, sizeof dir, "/tmp/sluice-test-engine-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(big, sizeof big, "%s/big.log", dir);
	snprintf(small, sizeof small, "%s/small.log", dir);
	snprintf(alias, sizeof alias, "%s/alias.log", dir);
	write_log(&rng, big, 45000, false);
	write_log(&rng, small, 2000, true);
	assert_int_equal(symlink("small.log", alias), 0);
	struct stat sb;
	assert_int_equal(stat(big, &sb), 0);
	assert_true(sb.st_size > (4 << 20)); /* read in ranges with jobs > 1 */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(dir);
}

static sl_engine_opts options(size_t budget, int jobs)
{
	sl_engine_opts o = {.budget = budget, .jobs = jobs, .format = SL_FMT_AUTO, .top_n = 10};
	return o;
}

/* Compares two reports' exact figures: counters, status codes, distinct
 * counts, every top list's rows, the samples. Both must be exact. */
static sl_report_counts counts(const sl_report *r)
{
	sl_report_counts c;
	sl_report_get_counts(r, &c);
	return c;
}

static void assert_same_figures(const sl_report *a, const sl_report *b, int jobs)
{
	char label[32];
	snprintf(label, sizeof label, "-j %d", jobs);
	rc_assert_same_figures(a, b, label);
}

static void jobs_1_2_3_same_exact_figures(void **state)
{
	(void)state;
	const char *paths[] = {big, small};
	sl_engine *e[3];
	for (int j = 1; j <= 3; j++) {
		sl_engine_opts o = options(64u << 20, j);
		assert_int_equal(sl_engine_run(&e[j - 1], &o, paths, 2), SL_OK);
		assert_int_equal(sl_engine_jobs(e[j - 1]), j);
		assert_non_null(sl_engine_report(e[j - 1]));
	}
	/* the naive reference */
	const sl_report *r = sl_engine_report(e[0]);
	sl_report_counts c = counts(r);
	assert_int_equal(c.lines, ref.lines);
	assert_int_equal(c.malformed, ref.malformed);
	assert_int_equal(c.requests, ref.lines - ref.malformed);
	assert_int_equal(c.bytes, ref.bytes);
	assert_int_equal(c.bytes_high, 0);
	for (unsigned s = 100; s < 600; s++)
		assert_int_equal(sl_report_status(r, s), ref.status[s]);
	sl_estimate ips = sl_report_unique_ips(r);
	assert_true(ips.exact);
	assert_true(ips.estimate <= CLIENTS && ips.estimate > CLIENTS * 0.9);
	/* the first malformed lines, numbered in their input across ranges */
	uint32_t ns;
	const sl_sample *sm = sl_report_samples(r, &ns);
	assert_int_equal(ns, SL_SAMPLES_MAX);
	for (uint32_t i = 0; i < ns; i++) {
		assert_int_equal(sm[i].input, 0);
		assert_int_equal(sm[i].line, 997 * (i + 1));
	}
	size_t n, mine;
	const sl_engine_input *in = sl_engine_inputs(e[0], &n, &mine);
	assert_int_equal(n, 2);
	assert_int_equal(mine, 2);
	assert_null(in[0].error);
	assert_null(in[1].error);
	assert_int_equal(in[0].bytes_read + in[1].bytes_read, ref.file_bytes);
	for (int j = 2; j <= 3; j++)
		assert_same_figures(r, sl_engine_report(e[j - 1]), j);
	for (int j = 0; j < 3; j++)
		sl_engine_free(e[j]);
	/* small.log alone, through the reader's queues: its malformed line */
	for (int j = 1; j <= 3; j++) {
		sl_engine_opts o = options(16u << 20, j);
		assert_int_equal(sl_engine_run(&e[0], &o, paths + 1, 1), SL_OK);
		r = sl_engine_report(e[0]);
		sm = sl_report_samples(r, &ns);
		assert_int_equal(ns, 1);
		assert_int_equal(sm[0].input, 0);
		assert_int_equal(sm[0].line, (uint64_t)ref.malformed_line);
		sl_engine_free(e[0]);
	}
}

static void five_runs_same_state(void **state)
{
	(void)state;
	const char *paths[] = {big, small};
	sl_budget enc;
	sl_budget_init(&enc, 256u << 20);
	void *first = NULL;
	size_t first_len = 0;
	for (int k = 0; k < 5; k++) {
		sl_engine *e;
		sl_engine_opts o = options(1u << 20, 2);
		o.want_facts = true;
		assert_int_equal(sl_engine_run(&e, &o, paths, 2), SL_OK);
		const sl_report *r = sl_engine_report(e);
		assert_non_null(r);
		bool exact;
		size_t cap;
		uint64_t total;
		sl_report_top_info(r, SL_TOP_URL, &exact, &cap, &total);
		assert_false(exact); /* the sketches' merge is what this checks */
		size_t nfacts;
		const sl_state_input *facts = sl_engine_facts(e, &nfacts);
		assert_non_null(facts);
		assert_int_equal(nfacts, 2);
		void *buf;
		size_t len;
		assert_int_equal(sl_state_encode(&enc, r, facts, nfacts, o.budget, sl_engine_peak(e),
						 &buf, &len),
				 SL_OK);
		if (k == 0) {
			first = buf;
			first_len = len;
		} else {
			assert_int_equal(len, first_len);
			if (memcmp(buf, first, len) != 0)
				fail_msg("run %d encodes another state than run 1", k + 1);
			sl_free(&enc, buf, len);
		}
		sl_engine_free(e);
	}
	sl_free(&enc, first, first_len);
	assert_int_equal(enc.used, 0);
}

typedef struct {
	int calls;
	uint64_t done, total;
	uint64_t last_done;
	bool backwards;
	volatile sig_atomic_t *cancel; /* set on the first call, when not NULL */
} watch;

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
	watch *w = ud;
	if (w->calls && done < w->last_done)
		w->backwards = true;
	w->calls++;
	w->last_done = done;
	w->done = done;
	w->total = total;
	if (w->cancel)
		*w->cancel = 1;
}

static void cancel_stops_with_its_status(void **state)
{
	(void)state;
	const char *paths[] = {big, small};
	for (int j = 1; j <= 2; j++) {
		volatile sig_atomic_t flag = 0;
		watch w = {.cancel = &flag};
		sl_engine *e;
		sl_engine_opts o = options(16u << 20, j);
		o.progress = on_progress;
		o.ud = &w;
		o.cancel = &flag;
		assert_int_equal(sl_engine_run(&e, &o, paths, 2), SL_ECANCELED);
		assert_int_equal(w.calls, 1); /* nothing read after the cancel */
		if (j == 1) /* a block at a time: stopped after the first */
			assert_true(w.done < w.total);
		assert_null(sl_engine_report(e));
		assert_string_equal(sl_engine_error(e), "canceled");
		sl_engine_free(e);
	}
	/* set before the run: nothing is read */
	volatile sig_atomic_t flag = 1;
	watch w = {0};
	sl_engine *e;
	sl_engine_opts o = options(16u << 20, 2);
	o.progress = on_progress;
	o.ud = &w;
	o.cancel = &flag;
	assert_int_equal(sl_engine_run(&e, &o, paths, 2), SL_ECANCELED);
	assert_int_equal(w.calls, 0);
	assert_null(sl_engine_report(e));
	sl_engine_free(e);
}

static void progress_has_the_total(void **state)
{
	(void)state;
	const char *paths[] = {big, small};
	for (int j = 1; j <= 2; j++) {
		watch w = {0};
		sl_engine *e;
		sl_engine_opts o = options(16u << 20, j);
		o.progress = on_progress;
		o.ud = &w;
		assert_int_equal(sl_engine_run(&e, &o, paths, 2), SL_OK);
		assert_true(w.calls > 0);
		assert_int_equal(w.total, ref.file_bytes);
		assert_true(w.done <= w.total);
		assert_false(w.backwards);
		sl_engine_free(e);
	}
}

typedef struct {
	int n;
	sl_engine_note_kind kind;
	char text[512];
} notes;

static void on_note(void *ud, sl_engine_note_kind kind, const char *text)
{
	notes *n = ud;
	n->n++;
	n->kind = kind;
	snprintf(n->text, sizeof n->text, "%s", text);
}

static void refusals_and_notes_are_text(void **state)
{
	(void)state;
	const char *paths[] = {small, alias};
	sl_engine *e;
	sl_engine_opts o = options(20u << 10, 1);
	assert_int_equal(sl_engine_run(&e, &o, paths, 2), SL_EBUDGET);
	assert_non_null(e);
	const char *why = sl_engine_error(e);
	assert_true(strncmp(why, "memory budget 20480 bytes is below the minimum of ", 50) == 0);
	assert_null(strchr(why, '\n'));
	assert_null(sl_engine_report(e));
	sl_engine_free(e);

	notes n = {0};
	o = options(16u << 20, 1);
	o.want_facts = true;
	o.note = on_note;
	o.ud = &n;
	assert_int_equal(sl_engine_run(&e, &o, paths, 2), SL_OK);
	assert_int_equal(n.n, 1);
	assert_int_equal(n.kind, SL_ENGINE_NOTE_SAME_FILE);
	char want[300];
	snprintf(want, sizeof want, "%s is the same file as %s: read once", alias, small);
	assert_string_equal(n.text, want);
	size_t count;
	const sl_engine_input *in = sl_engine_inputs(e, &count, NULL);
	assert_int_equal(count, 1);
	assert_string_equal(in[0].path, small);
	sl_engine_free(e);

	/* an input that cannot be read is named as soon as it is done */
	char missing[128];
	snprintf(missing, sizeof missing, "%s/missing.log", dir);
	const char *two[] = {missing, small};
	memset(&n, 0, sizeof n);
	assert_int_equal(sl_engine_run(&e, &o, two, 2), SL_OK);
	assert_int_equal(n.n, 1);
	assert_int_equal(n.kind, SL_ENGINE_NOTE_INPUT_ERROR);
	snprintf(want, sizeof want, "%s: No such file or directory", missing);
	assert_string_equal(n.text, want);
	in = sl_engine_inputs(e, &count, NULL);
	assert_int_equal(count, 2);
	assert_string_equal(in[0].error, "No such file or directory");
	assert_null(in[1].error);
	assert_non_null(sl_engine_report(e));
	sl_engine_free(e);
}

static void stdin_regular_file_read_whole(void **state)
{
	(void)state;
	int saved = dup(STDIN_FILENO), fd = open(big, O_RDONLY);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	sl_engine *e;
	sl_engine_opts o = options(16u << 20, 2);
	sl_status st = sl_engine_run(&e, &o, NULL, 0);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	assert_int_equal(st, SL_OK);
	size_t n;
	const sl_engine_input *in = sl_engine_inputs(e, &n, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(in[0].path, "-");
	if (in[0].error)
		fail_msg("standard input: %s", in[0].error);
	const sl_report *r = sl_engine_report(e);
	assert_non_null(r);
	assert_int_equal(counts(r).lines, 45000);
	assert_int_equal(counts(r).malformed, 45000 / 997);
	sl_engine_free(e);
}

static void version_is_the_header_s(void **state)
{
	(void)state;
	assert_string_equal(sl_version(), SL_VERSION_STRING);
	assert_int_equal(sl_version_number(), SL_VERSION_NUMBER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jobs_1_2_3_same_exact_figures),
		cmocka_unit_test(five_runs_same_state),
		cmocka_unit_test(cancel_stops_with_its_status),
		cmocka_unit_test(progress_has_the_total),
		cmocka_unit_test(refusals_and_notes_are_text),
		cmocka_unit_test(stdin_regular_file_read_whole),
		cmocka_unit_test(version_is_the_header_s),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
