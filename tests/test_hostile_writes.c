/*
 * test_hostile_writes.c: issue 11's findings about what sluice writes, one
 * case per item, each from a log made by sluice-gen or bytes written here,
 * through $SLUICE_BIN and $SLUICE_GEN (default ./sluice, ./sluice-gen).
 *
 *  item05: --save at -j 1 with -m 2M, 4M and 8M on a 20,000-line log saves
 *          (the encoder streams through a fixed buffer) and the state
 *          reloads into the same report.
 *  item07: --save, merge -o, dedup -o and sort -o never replace what they
 *          were not asked to write: a symbolic link stays a link and its
 *          target gets the new contents, with the target's mode kept; a
 *          FIFO, a device node (a symlink to one, and as root a node made
 *          here) and a directory are refused with exit 2 and left as they
 *          were (sort -o writes through a FIFO or device, as GNU sort does,
 *          never replacing it); a write that fails half way (RLIMIT_FSIZE)
 *          leaves the old file whole.
 *  item10: a temporary left by a dead writer (".NAME.sluice-tmp.PID.X")
 *          is removed by the next write to NAME, one of a live process is
 *          kept; SIGKILLs during --save leave nothing once the next save
 *          ran, and the state is always the old or the new one; SIGTERM
 *          and SIGINT during dedup -o end the process by that signal (exit
 *          143 / 130 in a shell) with no temporary left and the target as
 *          it was.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static const char *bin, *gen;
static uint64_t seed;
static char log20k[128], log300[128];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return tu_run(cmd);
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Entries of dir whose name contains "tmp" (temporaries of any sluice). */
static int temporaries(const char *d)
{
	DIR *dh = opendir(d);
	assert_non_null(dh);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dh)) != NULL)
		if (strstr(e->d_name, "tmp") || strstr(e->d_name, "dedup-")) {
			print_message("left behind: %s/%s\n", d, e->d_name);
			n++;
		}
	closedir(dh);
	return n;
}

static bool contains(const char *path, const char *text)
{
	char *s = tu_slurp(path, NULL);
	bool yes = s && strstr(s, text);
	free(s);
	return yes;
}

/* A fresh subdirectory of dir for one case. */
static void subdir(char *out, size_t cap, const char *name)
{
	path_of(out, cap, name);
	run("rm -rf %s", out);
	assert_int_equal(mkdir(out, 0755), 0);
}

/* ---- item 5 ----------------------------------------------------------------- */

static void item05_save_small_budget(void **state)
{
	(void)state;
	char d[128];
	subdir(d, sizeof d, "i05");
	static const char *const budgets[] = {"2M", "4M", "8M"};
	for (int i = 0; i < 3; i++) {
		const char *m = budgets[i];
		int rc = run("%s -q -j 1 -m %s --save %s/s.st %s >%s/run.txt 2>%s/err.txt", bin, m,
			     d, log20k, d, d);
		char errp[160];
		snprintf(errp, sizeof errp, "%s/err.txt", d);
		if (rc != 0)
			print_message("-m %s: %s", m, tu_slurp(errp, NULL));
		assert_int_equal(rc, 0);
		assert_false(contains(errp, "cannot save"));
		/* the saved state gives the run's report, figure for figure */
		/* (but the Memory line: the run's peak counts what it did after
		 * saving) */
		assert_int_equal(run("%s report -m 64M %s/s.st | grep -v '^  Memory' >%s/rep.txt", bin,
				     d, d),
				 0);
		assert_int_equal(run("grep -v '^  Memory' %s/run.txt >%s/run2.txt", d, d), 0);
		char a[160], b[160];
		snprintf(a, sizeof a, "%s/run2.txt", d);
		snprintf(b, sizeof b, "%s/rep.txt", d);
		assert_true(tu_same_files(a, b));
		/* and --state saves too, at the same settings (resuming it at
		 * these settings is a matter of loading, not of saving) */
		rc = run("%s -q -j 1 -m %s --state %s/t.st %s >/dev/null 2>%s", bin, m, d, log20k,
			 errp);
		assert_int_equal(rc, 0);
		assert_int_equal(run("%s report -m 64M %s/t.st >/dev/null", bin, d), 0);
		assert_int_equal(temporaries(d), 0);
		run("rm -f %s/t.st", d);
	}
}

/* ---- item 7 ----------------------------------------------------------------- */

/* Mode bits of path (lstat), or -1. */
static int mode_of(const char *path, bool follow)
{
	struct stat sb;
	if ((follow ? stat(path, &sb) : lstat(path, &sb)) != 0)
		return -1;
	return (int)sb.st_mode;
}

static void item07_save_through_symlink(void **state)
{
	(void)state;
	char d[128], keep[160], link[200], target[200];
	subdir(d, sizeof d, "i07link");
	snprintf(keep, sizeof keep, "%s/keep", d);
	assert_int_equal(mkdir(keep, 0755), 0);
	snprintf(target, sizeof target, "%s/real.st", keep);
	snprintf(link, sizeof link, "%s/link.st", d);
	/* the target holds the state of log b, mode 0640; the link is relative */
	assert_int_equal(run("%s -q --save %s %s >/dev/null", bin, target, log300), 0);
	assert_int_equal(chmod(target, 0640), 0);
	assert_int_equal(symlink("keep/real.st", link), 0);
	assert_int_equal(run("%s -q --save %s %s >%s/want.txt", bin, link, log20k, d), 0);
	assert_true(S_ISLNK(mode_of(link, false)));
	assert_int_equal(mode_of(target, true) & 07777, 0640);
	/* the target is the new state */
	assert_int_equal(run("%s report %s >%s/got.txt", bin, target, d), 0);
	char a[160], b[160];
	snprintf(a, sizeof a, "%s/want.txt", d);
	snprintf(b, sizeof b, "%s/got.txt", d);
	assert_true(tu_same_files(a, b));

	/* a chain of links, one absolute, and --state through it */
	char link2[160];
	snprintf(link2, sizeof link2, "%s/link2.st", d);
	assert_int_equal(symlink(link, link2), 0);
	assert_int_equal(run("%s -q --state %s %s >/dev/null", bin, link2, log300), 0);
	assert_true(S_ISLNK(mode_of(link2, false)));
	assert_true(S_ISLNK(mode_of(link, false)));
	assert_true(S_ISREG(mode_of(target, false)));
	assert_int_equal(mode_of(target, true) & 07777, 0640);

	/* merge -o through the link */
	assert_int_equal(run("%s merge -o %s %s %s 2>/dev/null", bin, link, target, target), 0);
	assert_true(S_ISLNK(mode_of(link, false)));
	assert_int_equal(mode_of(target, true) & 07777, 0640);
	assert_int_equal(run("%s report %s >/dev/null", bin, target), 0);

	/* dedup -o and sort -o through a link keep it and the mode */
	char txt[200], tlink[200];
	snprintf(txt, sizeof txt, "%s/words.txt", keep);
	snprintf(tlink, sizeof tlink, "%s/words.lnk", d);
	tu_write_file(txt, "b\na\nb\n", 6);
	assert_int_equal(chmod(txt, 0604), 0);
	assert_int_equal(symlink("keep/words.txt", tlink), 0);
	assert_int_equal(run("%s dedup -o %s %s", bin, tlink, txt), 0);
	assert_true(S_ISLNK(mode_of(tlink, false)));
	assert_int_equal(mode_of(txt, true) & 07777, 0604);
	char *s = tu_slurp(txt, NULL);
	assert_string_equal(s, "b\na\n");
	free(s);
	assert_int_equal(run("%s sort -o %s %s", bin, tlink, txt), 0);
	assert_true(S_ISLNK(mode_of(tlink, false)));
	assert_int_equal(mode_of(txt, true) & 07777, 0604);
	s = tu_slurp(txt, NULL);
	assert_string_equal(s, "a\nb\n");
	free(s);
	assert_int_equal(temporaries(d), 0);
	assert_int_equal(temporaries(keep), 0);
}

/* Each writing command against a special file at path: exit 2, a message
 * naming it, and the file still of type `type`. */
static void refused_everywhere(const char *d, const char *path, int type, bool sort_too)
{
	char errp[160], st[160], txt[160];
	snprintf(errp, sizeof errp, "%s/err.txt", d);
	snprintf(st, sizeof st, "%s/ok.st", d);
	snprintf(txt, sizeof txt, "%s/in.txt", d);
	tu_write_file(txt, "x\ny\nx\n", 6);
	if (access(st, F_OK) != 0)
		assert_int_equal(run("%s -q --save %s %s >/dev/null", bin, st, log300), 0);
	/* (not --state: that reads the path first, and a FIFO would block) */
	const char *cmds[4];
	char c[4][1024];
	snprintf(c[0], sizeof c[0], "%s -q --save %s %s >/dev/null", bin, path, log300);
	snprintf(c[1], sizeof c[1], "%s merge -o %s %s %s", bin, path, st, st);
	snprintf(c[2], sizeof c[2], "%s dedup -o %s %s", bin, path, txt);
	snprintf(c[3], sizeof c[3], "%s sort -o %s %s", bin, path, txt);
	for (int i = 0; i < 4; i++)
		cmds[i] = c[i];
	for (int i = 0; i < (sort_too ? 4 : 3); i++) {
		int rc = run("timeout 20 %s 2>%s", cmds[i], errp);
		char *e = tu_slurp(errp, NULL);
		print_message("%s -> %d: %s", cmds[i], rc, e ? e : "");
		assert_int_equal(rc, 2);
		assert_non_null(e);
		assert_non_null(strstr(e, path));
		free(e);
		struct stat sb;
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & S_IFMT, type & S_IFMT);
	}
}

static void item07_refuse_fifo_device_directory(void **state)
{
	(void)state;
	char d[128], fifo[160], link[160], node[160], sub[160];
	subdir(d, sizeof d, "i07special");
	snprintf(fifo, sizeof fifo, "%s/pipe", d);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	refused_everywhere(d, fifo, S_IFIFO, false);
	/* a link to the system's /dev/null: the link stays, /dev/null too */
	snprintf(link, sizeof link, "%s/null.lnk", d);
	assert_int_equal(symlink("/dev/null", link), 0);
	refused_everywhere(d, link, S_IFCHR, false);
	assert_true(S_ISLNK(mode_of(link, false)));
	assert_true(S_ISCHR(mode_of("/dev/null", false)));
	/* as root, a node made here (never a real one: the old code would
	 * replace it) */
	snprintf(node, sizeof node, "%s/full", d);
	if (mknod(node, S_IFCHR | 0666, makedev(1, 7)) == 0)
		refused_everywhere(d, node, S_IFCHR, false);
	else
		print_message("mknod: %s (device node case skipped)\n", strerror(errno));
	snprintf(sub, sizeof sub, "%s/sub", d);
	assert_int_equal(mkdir(sub, 0755), 0);
	refused_everywhere(d, sub, S_IFDIR, true);

	/* sort -o writes through a FIFO and a device, as GNU sort does */
	char txt[160];
	snprintf(txt, sizeof txt, "%s/in.txt", d);
	assert_int_equal(run("%s sort -o %s %s", bin, link, txt), 0);
	assert_true(S_ISLNK(mode_of(link, false)));
	assert_int_equal(run("(cat %s >%s/fifo-out.txt &) ; %s sort -o %s %s; wait", fifo, d, bin,
			     fifo, txt),
			 0);
	assert_true(S_ISFIFO(mode_of(fifo, false)));
	assert_int_equal(temporaries(d), 0);
}

static void item07_failed_write_keeps_target(void **state)
{
	(void)state;
	char d[128], txt[160], out[160], st[160];
	subdir(d, sizeof d, "i07fsize");
	snprintf(txt, sizeof txt, "%s/in.txt", d);
	/* 200 KiB of distinct lines; the outputs may grow to 16 KiB only */
	size_t n = 0, cap = 300000;
	char *p = malloc(cap);
	for (int i = 0; n < 200000; i++)
		n += (size_t)snprintf(p + n, cap - n, "line %08d\n", (i * 7919) % 100000);
	tu_write_file(txt, p, n);
	free(p);
	snprintf(out, sizeof out, "%s/out.txt", d);
	snprintf(st, sizeof st, "%s/s.st", d);
	static const char *const cmds[] = {"dedup", "sort"};
	for (int i = 0; i < 2; i++) {
		tu_write_file(out, "old contents\n", 13);
		int rc = run("ulimit -f 32; trap '' XFSZ; %s %s -o %s %s 2>/dev/null", bin, cmds[i],
			     out, txt);
		assert_int_equal(rc, 2);
		char *s = tu_slurp(out, NULL);
		assert_string_equal(s, "old contents\n");
		free(s);
	}
	assert_int_equal(run("%s -q --save %s %s >/dev/null", bin, st, log300), 0);
	size_t before_len;
	char *before = tu_slurp(st, &before_len);
	int rc = run("ulimit -f 32; trap '' XFSZ; %s -q --save %s %s >/dev/null 2>/dev/null", bin,
		     st, log20k);
	assert_int_equal(rc, 2);
	size_t after_len;
	char *after = tu_slurp(st, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);
	free(before);
	free(after);
	assert_int_equal(temporaries(d), 0);
}

/* ---- item 10 ---------------------------------------------------------------- */

static void item10_stale_temporaries_removed(void **state)
{
	(void)state;
	char d[128], dead[200], live[200], other[200], st[160];
	subdir(d, sizeof d, "i10stale");
	/* a pid that is surely not running: a child that has been reaped */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	snprintf(dead, sizeof dead, "%s/.s.st.sluice-tmp.%ld.AbC123", d, (long)child);
	snprintf(live, sizeof live, "%s/.s.st.sluice-tmp.%ld.AbC123", d, (long)getpid());
	snprintf(other, sizeof other, "%s/.t.st.sluice-tmp.%ld.AbC123", d, (long)child);
	tu_write_file(dead, "x", 1);
	tu_write_file(live, "x", 1);
	tu_write_file(other, "x", 1);
	snprintf(st, sizeof st, "%s/s.st", d);
	assert_int_equal(run("%s -q --save %s %s >/dev/null", bin, st, log300), 0);
	assert_int_equal(access(dead, F_OK), -1);  /* its writer is gone */
	assert_int_equal(access(live, F_OK), 0);   /* a running process's */
	assert_int_equal(access(other, F_OK), 0);  /* another target's */
	/* dedup -o cleans up after itself the same way */
	char out[160];
	snprintf(out, sizeof out, "%s/o.txt", d);
	snprintf(dead, sizeof dead, "%s/.o.txt.sluice-tmp.%ld.zzzzzz", d, (long)child);
	tu_write_file(dead, "x", 1);
	assert_int_equal(run("printf 'a\\na\\n' | %s dedup -o %s", bin, out), 0);
	assert_int_equal(access(dead, F_OK), -1);
}

static void item10_sigkill_during_save(void **state)
{
	(void)state;
	char d[128], st[160];
	subdir(d, sizeof d, "i10kill");
	snprintf(st, sizeof st, "%s/s.st", d);
	/* two different states: of log b, and of the 20,000-line log */
	/* -j 1: one thread, so the recorded peak and the bytes are the same
	 * in every run */
	assert_int_equal(run("%s -q -j 1 --save %s/a.st %s >/dev/null", bin, d, log300), 0);
	assert_int_equal(run("%s -q -j 1 --save %s/b.st %s >/dev/null", bin, d, log20k), 0);
	size_t la, lb;
	char a[160], b[160];
	snprintf(a, sizeof a, "%s/a.st", d);
	snprintf(b, sizeof b, "%s/b.st", d);
	char *ea = tu_slurp(a, &la), *eb = tu_slurp(b, &lb);
	/* the state path is the same for every save: write to it */
	tu_rng r = {seed + 10};
	int rounds = 12;
	for (int round = 0; round < rounds; round++) {
		const char *log = round % 2 ? log20k : log300;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
			execl(bin, bin, "-q", "-j", "1", "--save", st, log, (char *)NULL);
			_exit(127);
		}
		long ns = (long)tu_below(&r, 60000000) + 1000000;
		struct timespec ts = {0, ns};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		size_t len;
		char *got = tu_slurp(st, &len);
		if (got) /* absent before the first save completes */
			assert_true((len == la && memcmp(got, ea, la) == 0) ||
				    (len == lb && memcmp(got, eb, lb) == 0));
		free(got);
	}
	/* one save that completes leaves no temporary of any earlier one */
	assert_int_equal(run("%s -q -j 1 --save %s %s >/dev/null", bin, st, log300), 0);
	assert_int_equal(temporaries(d), 0);
	free(ea);
	free(eb);
}

/* Starts `sluice dedup -o out` reading a FIFO, feeds it part of its input,
 * sends sig, and checks the end. */
static void signal_during_dedup(const char *d, int sig)
{
	char fifo[160], out[160];
	snprintf(fifo, sizeof fifo, "%s/in.fifo", d);
	snprintf(out, sizeof out, "%s/out.txt", d);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	tu_write_file(out, "untouched\n", 10);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "dedup", "-o", out, fifo, (char *)NULL);
		_exit(127);
	}
	int w = open(fifo, O_WRONLY);
	assert_true(w >= 0);
	char line[64];
	for (int i = 0; i < 2000; i++) {
		int n = snprintf(line, sizeof line, "line %d\n", i % 500);
		assert_int_equal(write(w, line, (size_t)n), n);
	}
	/* dedup has read (some of) it and waits for more: its output file
	 * exists now. Signal it with the pipe still open. */
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	assert_int_equal(kill(pid, sig), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(w);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), sig);
	char *s = tu_slurp(out, NULL);
	assert_string_equal(s, "untouched\n");
	free(s);
	unlink(fifo);
	assert_int_equal(temporaries(d), 0);
	/* the shell's view: 128 + the signal (SIGTERM only: a non-interactive
	 * shell starts background jobs with SIGINT ignored, and an ignored
	 * signal stays ignored) */
	if (sig != SIGTERM)
		return;
	int rc = run("sleep 1 | %s dedup -o %s/out.txt & p=$!; sleep 0.2; kill -%d $p; "
		     "wait $p",
		     bin, d, sig);
	assert_int_equal(rc, 128 + sig);
	assert_int_equal(temporaries(d), 0);
}

static void item10_sigterm_sigint_during_dedup(void **state)
{
	(void)state;
	char d[128];
	subdir(d, sizeof d, "i10signal");
	signal_during_dedup(d, SIGTERM);
	signal_during_dedup(d, SIGINT);
}

static int setup(void **state)
{
	(void)state;
	bin = tu_sluice_bin();
	gen = getenv("SLUICE_GEN");
	if (!gen || !*gen)
		gen = "./sluice-gen";
	snprintf(dir, sizeof dir, "/tmp/hostile-writes-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(log20k, sizeof log20k, "%s/l20k.log", dir);
	snprintf(log300, sizeof log300, "%s/b.log", dir);
	assert_int_equal(run("%s --lines 20000 --seed 3 >%s", gen, log20k), 0);
	assert_int_equal(run("%s --lines 300 --seed 4 >%s", gen, log300), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return run("rm -rf %s", dir);
}

int main(void)
{
	seed = tu_seed("test_hostile_writes", 20261204);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(item05_save_small_budget),
		cmocka_unit_test(item07_save_through_symlink),
		cmocka_unit_test(item07_refuse_fifo_device_directory),
		cmocka_unit_test(item07_failed_write_keeps_target),
		cmocka_unit_test(item10_stale_temporaries_removed),
		cmocka_unit_test(item10_sigkill_during_save),
		cmocka_unit_test(item10_sigterm_sigint_during_dedup),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
