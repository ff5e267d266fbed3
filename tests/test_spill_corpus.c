/*
 * test_spill_corpus.c: the fuzz_spill target (fuzz/fuzz_spill.c, included
 * below with its checks) replayed over every seed and regression of
 * fuzz/corpus/fuzz_spill, so that a crash or mismatch found by fuzzing
 * fails `make test`, `make sanitize` and `make valgrind`, with or without
 * clang. Its checks abort on a mismatch; checker_can_fail shows in a child
 * process that they do (a reference with two records swapped, a damaged
 * record read back).
 */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fuzz target itself, with its checks (it aborts on a failed one). */
#include "../fuzz/fuzz_spill.c"

/* Runs fn in a child; true when the child died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the child's abort is expected: keep its message off the log */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		fn();
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/* Three records in one run, compared with a reference whose first two are
 * swapped: the merge's check must abort. */
static void swapped_reference(void)
{
	recset s = {0};
	make_records(&s, "a\nb\nc", 5, '\n', 1, 1, 0);
	ref_set = &s;
	sl_budget b;
	sl_budget_init(&b, BUDGET);
	sl_xsort_stats xst = {0};
	sl_spill sp;
	if (sl_spill_init(&sp, &b, 64, tmp_dir(), "fuzz-spill", 0, 0, &xst) != SL_OK)
		_exit(2);
	sl_spill_run run = {sp.wpos, 0, 0};
	for (size_t i = 0; i < s.n; i++)
		(void)sl_spill_put(&sp, rec_bytes(&s, &s.r[i]), s.r[i].len, 0);
	(void)sl_spill_flush(&sp);
	run.end = sp.wpos;
	frec want[3] = {s.r[1], s.r[0], s.r[2]};
	char *buf = malloc(64);
	char *bufs[1] = {buf};
	(void)merge_all(&sp, &run, 1, bufs, 64, &s, want, 3, 0);
}

/* A plain (not damaged) input through the whole target must not abort. */
static void plain_input(void)
{
	static const uint8_t in[] = "\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
				    "b\na\nc\na";
	LLVMFuzzerTestOneInput(in, sizeof in - 1);
}

static void checker_can_fail(void **state)
{
	(void)state;
	assert_true(aborts(swapped_reference));
	assert_false(aborts(plain_input));
}

/* Every seed and regression of fuzz/corpus/fuzz_spill through the target,
 * each in a buffer of exactly its size. */
static void corpus_replay(void **state)
{
	(void)state;
	DIR *d = opendir("fuzz/corpus/fuzz_spill");
	if (!d)
		fail_msg("no fuzz/corpus/fuzz_spill (run from the top of the tree)");
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[600];
		snprintf(path, sizeof path, "fuzz/corpus/fuzz_spill/%s", e->d_name);
		size_t n;
		char *data = tu_slurp(path, &n);
		assert_non_null(data);
		uint8_t *exact = malloc(n ? n : 1);
		assert_non_null(exact);
		memcpy(exact, data, n);
		print_message("  %s (%zu bytes)\n", e->d_name, n);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
		free(data);
		files++;
	}
	closedir(d);
	print_message("fuzz_spill corpus: %d inputs replayed\n", files);
	assert_true(files >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checker_can_fail),
		cmocka_unit_test(corpus_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
