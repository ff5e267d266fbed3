/*
 * test_hostile_cli.c: the command line as a hostile (or hurried) user meets
 * it: one case per "Messages" finding of issue 11 that concerns options and
 * messages. Each case writes its own few bytes of log (or none) into a
 * fresh directory and runs $SLUICE_BIN through the shell; expected values
 * come from what the test wrote, never from sluice's output.
 *
 *   msg_memory_accepts_T         -m takes T, and --help and the error say so
 *   msg_long_options_in_full     --stat is not --state; no abbreviations, in
 *                                every command
 *   msg_output_checked_first     -o is checked before any input is read,
 *                                and an existing file is not truncated by a
 *                                run that fails
 *   msg_one_worker_singular      "holds 1 worker", not "1 workers"
 *   msg_sort_h                   sluice sort -h prints the help
 *   msg_bare_sluice_on_terminal  stdin a terminal: says what it waits for
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static const char *bin;

typedef struct {
	int status;
	char *out, *err;
} result;

/* Runs "SLUICE ARGS" with stdout and stderr captured; ARGS may hold
 * redirections of stdin. A run that hangs is stopped after 20 s (exit 124). */
static result run(const char *fmt, ...)
{
	char args[2048], cmd[4096], out[128], err[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(out, sizeof out, "%s/stdout", dir);
	snprintf(err, sizeof err, "%s/stderr", dir);
	snprintf(cmd, sizeof cmd, "timeout 20 %s %s >%s 2>%s", bin, args, out, err);
	result r;
	r.status = tu_run(cmd);
	r.out = tu_slurp(out, NULL);
	r.err = tu_slurp(err, NULL);
	assert_non_null(r.out);
	assert_non_null(r.err);
	return r;
}

static void result_free(result *r)
{
	free(r->out);
	free(r->err);
}

#define EXPECT(cond, r)                                                                    \
	do {                                                                               \
		if (!(cond))                                                               \
			fail_msg("%s\nexit %d\nstdout: %.400s\nstderr: %.400s", #cond,     \
				 (r).status, (r).out, (r).err);                            \
	} while (0)

/* A small valid combined log of n lines at path. */
static void small_log(const char *path, int n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fprintf(f, "10.0.0.%d - - [10/Oct/2023:13:55:%02d +0000] \"GET /p%d HTTP/1.1\" 200 %d "
			   "\"-\" \"ua\"\n", i % 7, i % 60, i % 3, 100 + i);
	fclose(f);
}

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static void msg_memory_accepts_T(void **state)
{
	(void)state;
	char log[128];
	snprintf(log, sizeof log, "%s/t.log", dir);
	small_log(log, 20);
	result r = run("--help");
	EXPECT(r.status == 0 && strstr(r.out, "K, M, G, T"), r);
	result_free(&r);
	/* T parses (the later -m wins, so nothing large is planned) */
	r = run("-q -m 1T -m 2M %s", log);
	EXPECT(r.status == 0 && strstr(r.out, "20  (requests 20"), r);
	result_free(&r);
	r = run("-m 1X %s", log);
	EXPECT(r.status == 2 && strstr(r.err, "1T"), r);
	result_free(&r);
	r = run("sort --help");
	EXPECT(r.status == 0 && strstr(r.out, "K/M/G/T"), r);
	result_free(&r);
}

static void msg_long_options_in_full(void **state)
{
	(void)state;
	char log[128], st[128];
	snprintf(log, sizeof log, "%s/l.log", dir);
	snprintf(st, sizeof st, "%s/typo.state", dir);
	small_log(log, 10);
	/* --stat is a typo of --stats (dedup) or --state: never --state */
	result r = run("-q --stat %s %s", st, log);
	EXPECT(r.status == 2 && strstr(r.err, "--stat") && strstr(r.err, "--state"), r);
	EXPECT(!exists(st), r);
	result_free(&r);
	r = run("-q --stat=%s %s", st, log);
	EXPECT(r.status == 2 && !exists(st), r);
	result_free(&r);
	r = run("--js %s", log);
	EXPECT(r.status == 2 && strstr(r.err, "--json") && r.out[0] == '\0', r);
	result_free(&r);
	/* spelled in full, with = or apart, they work */
	r = run("-q --json --memory=2M --top 3 %s", log);
	EXPECT(r.status == 0 && r.out[0] == '{', r);
	result_free(&r);
	/* an option's value may itself look like an abbreviation */
	r = run("-q --output %s/--js.txt %s", dir, log);
	EXPECT(r.status == 0, r);
	result_free(&r);
	/* every command */
	static const char *const cmds[] = {"sort --rev", "dedup --stat", "sort --out=x",
					   "report --js", "merge --out x"};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		r = run("%s %s </dev/null", cmds[i], log);
		EXPECT(r.status == 2 && strstr(r.err, "in full"), r);
		result_free(&r);
	}
	r = run("sort --reverse %s", log);
	EXPECT(r.status == 0, r);
	result_free(&r);
}

static void msg_output_checked_first(void **state)
{
	(void)state;
	char fifo[128], log[128], out[128];
	snprintf(fifo, sizeof fifo, "%s/never-written", dir);
	snprintf(log, sizeof log, "%s/o.log", dir);
	small_log(log, 5);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* reading the FIFO first would block: nobody writes it; timeout
	 * turns that into exit 124 after 10 s */
	result r;
	char cmd[1024], errp[128];
	snprintf(errp, sizeof errp, "%s/err2", dir);
	snprintf(cmd, sizeof cmd, "timeout 10 %s -q -o %s/no/such/dir/r.txt %s 2>%s", bin, dir,
		 fifo, errp);
	int st = tu_run(cmd);
	char *err = tu_slurp(errp, NULL);
	if (st != 2 || !strstr(err, "no/such/dir/r.txt"))
		fail_msg("exit %d (124: it read the input first)\nstderr: %s", st, err);
	free(err);
	/* a directory */
	snprintf(cmd, sizeof cmd, "timeout 10 %s -q -o %s %s 2>%s", bin, dir, fifo, errp);
	st = tu_run(cmd);
	err = tu_slurp(errp, NULL);
	if (st != 2 || !strstr(err, "directory"))
		fail_msg("exit %d\nstderr: %s", st, err);
	free(err);
	/* an existing report is not truncated when the run fails */
	snprintf(out, sizeof out, "%s/keep.txt", dir);
	tu_write_file(out, "old report\n", 11);
	r = run("-q -o %s %s/missing.log", out, dir);
	EXPECT(r.status == 2, r);
	char *kept = tu_slurp(out, NULL);
	EXPECT(kept && strcmp(kept, "old report\n") == 0, r);
	free(kept);
	result_free(&r);
	/* and a good run writes it */
	r = run("-q -o %s %s", out, log);
	kept = tu_slurp(out, NULL);
	EXPECT(r.status == 0 && kept && strstr(kept, "requests 5"), r);
	free(kept);
	result_free(&r);
	/* sluice report checks its -o before loading the states */
	r = run("report -o %s/no/such/dir/r.txt %s", dir, fifo);
	EXPECT(r.status == 2 && strstr(r.err, "no/such/dir"), r);
	result_free(&r);
	unlink(fifo);
}

static void msg_one_worker_singular(void **state)
{
	(void)state;
	char log[128];
	snprintf(log, sizeof log, "%s/w.log", dir);
	small_log(log, 5);
	/* the smallest budget for one worker: from the refusal of -m 1K */
	result r = run("-j 1 -m 1K %s", log);
	const char *p = strstr(r.err, "minimum of ");
	EXPECT(r.status == 2 && p, r);
	unsigned long long min = strtoull(p + strlen("minimum of "), NULL, 10);
	result_free(&r);
	/* -j 2 at a little more (a second worker needs a whole report more):
	 * one worker, said in the singular */
	r = run("-j 2 -m %llu %s", min + min / 8, log);
	EXPECT(r.status == 0 && strstr(r.err, "holds 1 worker,") && !strstr(r.err, "1 workers"),
	       r);
	result_free(&r);
}

static void msg_sort_h(void **state)
{
	(void)state;
	static const char *const cmds[] = {"sort -h", "sort --help", "dedup -h", "report -h",
					   "merge -h", "-h"};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		result r = run("%s", cmds[i]);
		EXPECT(r.status == 0 && strstr(r.out, "Usage") && r.err[0] == '\0', r);
		result_free(&r);
	}
}

/* Runs a bare `sluice` (and `sluice -`) with a terminal on stdin: a pseudo-
 * terminal whose master sends Ctrl-D (end of input) right away. The line
 * discipline keeps the Ctrl-D until sluice reads, so there is no race. */
static void msg_bare_sluice_on_terminal(void **state)
{
	(void)state;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
		print_message("no pseudo-terminal here: skipped\n");
		skip();
	}
	char errp[128], outp[128];
	snprintf(errp, sizeof errp, "%s/tty-err", dir);
	snprintf(outp, sizeof outp, "%s/tty-out", dir);
	const char *slave = ptsname(master);
	assert_non_null(slave);
	for (int quiet = 0; quiet < 2; quiet++) {
		assert_int_equal(write(master, "\x04", 1), 1);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int in = open(slave, O_RDONLY | O_NOCTTY);
			int out = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			int err = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (in < 0 || out < 0 || err < 0)
				_exit(99);
			dup2(in, 0);
			dup2(out, 1);
			dup2(err, 2);
			alarm(20); /* a hang fails the test, not make test */
			execl(bin, bin, quiet ? "-q" : "-j1", (char *)NULL);
			_exit(98);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		char *err = tu_slurp(errp, NULL);
		assert_non_null(err);
		if (!WIFEXITED(st) || WEXITSTATUS(st) >= 90)
			fail_msg("status %d, stderr: %s", st, err);
		if (quiet ? strstr(err, "standard input") != NULL
			  : strstr(err, "reading standard input (Ctrl-D to end") == NULL)
			fail_msg("quiet %d, stderr: %s", quiet, err);
		free(err);
	}
	close(master);
	/* not a terminal: nothing said */
	result r = run("</dev/null");
	EXPECT(!strstr(r.err, "standard input"), r);
	result_free(&r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sluice-hostile-cli-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	bin = tu_sluice_bin();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(msg_memory_accepts_T),
		cmocka_unit_test(msg_long_options_in_full),
		cmocka_unit_test(msg_output_checked_first),
		cmocka_unit_test(msg_one_worker_singular),
		cmocka_unit_test(msg_sort_h),
		cmocka_unit_test(msg_bare_sluice_on_terminal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
