/*
 * test_sort_cli.c: `sluice sort` against `LC_ALL=C sort`, byte for byte.
 *
 * Seeded random files (lines equal by key, leading blanks, negative and
 * decimal numbers, very long lines, NUL and high bytes, one file without a
 * final newline) are sorted by both programs for a matrix of options, with a
 * budget small enough that sluice spills and merges runs; also several files
 * plus standard input. Then the failure paths: a full temporary directory (a
 * 64 KiB tmpfs; skipped when mount is not permitted) must give exit status 2,
 * a message, and no output file; SIGINT in the middle of a sort must leave
 * the temporary directory empty.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static const char *bin;
static uint64_t seed;

/* Random lines in the shapes GNU sort's options care about. */
static char *gen_lines(tu_rng *r, size_t lines, int final_newline, size_t *n)
{
	size_t cap = lines * 64 + 400000, len = 0; /* grows */
	char *p = malloc(cap);
	assert_non_null(p);
	static const char *words[] = {"a", "b", "A", "ab", "GET", "/x", "-", "10"};
	for (size_t i = 0; i < lines; i++) {
		if (cap - len < 200000) {
			p = realloc(p, cap *= 2);
			assert_non_null(p);
		}
		switch (tu_below(r, 10)) {
		case 0:
			break; /* empty */
		case 1:
		case 2:
		case 3:
			len += (size_t)snprintf(p + len, cap - len, "%.*s%s%llu%s %s",
				(int)tu_below(r, 3), " \t ", tu_below(r, 3) ? "" : "-",
				(unsigned long long)tu_below(r, 1000),
				(const char *[]){"", ".5", ".25", ".250", ".", ""}[tu_below(r, 6)],
				words[tu_below(r, 8)]);
			break;
		case 4:
		case 5:
		case 6:
			for (uint64_t w = 1 + tu_below(r, 4); w > 0; w--) {
				if (tu_below(r, 4) == 0)
					p[len++] = " \t,"[tu_below(r, 3)];
				len += (size_t)snprintf(p + len, cap - len, "%s%c",
					words[tu_below(r, 8)], " ,\t"[tu_below(r, 3)]);
			}
			break;
		case 7:
			if (tu_below(r, 40) == 0) { /* very long */
				size_t m = 20000 + tu_below(r, 40000);
				for (size_t j = 0; j < m; j++)
					p[len++] = (char)('a' + tu_below(r, 2));
				break;
			}
			/* fall through */
		default:
			for (uint64_t j = tu_below(r, 30); j > 0; j--) {
				char c = (char)tu_below(r, 256);
				p[len++] = c == '\n' ? ' ' : c;
			}
			break;
		}
		p[len++] = '\n';
	}
	if (!final_newline && len)
		len--;
	*n = len;
	return p;
}

static void compare(const char *opts, const char *inputs, const char *stdin_file)
{
	char cmd[1024], mine[128], theirs[128];
	snprintf(mine, sizeof mine, "%s/mine", dir);
	snprintf(theirs, sizeof theirs, "%s/theirs", dir);
	snprintf(cmd, sizeof cmd, "%s sort -S 320K -T %s %s %s < %s > %s", bin, dir, opts,
		 inputs, stdin_file, mine);
	assert_int_equal(tu_run(cmd), 0);
	snprintf(cmd, sizeof cmd, "LC_ALL=C sort %s %s < %s > %s", opts, inputs, stdin_file,
		 theirs);
	assert_int_equal(tu_run(cmd), 0);
	if (!tu_same_files(mine, theirs))
		fail_msg("outputs differ: sort %s %s", opts, inputs);
}

static void matrix(void **state)
{
	(void)state;
	tu_rng r = {seed};
	char a[128], b[128], c[128], inputs[512];
	size_t n;
	char *p;
	snprintf(a, sizeof a, "%s/a", dir);
	snprintf(b, sizeof b, "%s/b", dir);
	snprintf(c, sizeof c, "%s/c", dir);
	p = gen_lines(&r, 8000, 1, &n);
	tu_write_file(a, p, n);
	free(p);
	p = gen_lines(&r, 3000, 0, &n); /* no final newline */
	tu_write_file(b, p, n);
	free(p);
	p = gen_lines(&r, 2000, 0, &n);
	tu_write_file(c, p, n);
	free(p);

	/* The checker can fail: different files are told apart. */
	assert_false(tu_same_files(a, b));
	assert_true(tu_same_files(a, a));

	static const char *opts[] = {
		"", "-r", "-u", "-n", "-n -r", "-n -u", "-n -s", "-k 2", "-k2 -s",
		"-k 2 -r", "-k 3 -u", "-k 2 -n", "-k 2 -n -r -s", "-t , -k 2",
		"-t , -k 2 -u -r", "-t ' ' -k 3 -n", "-s -r", "-u -r -k 2",
	};
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
		compare(opts[i], a, "/dev/null");
	snprintf(inputs, sizeof inputs, "%s - %s", b, c);
	compare("", inputs, a);
	compare("-k 2 -n -u", inputs, a);
	compare("-r -s -k 2", b, "/dev/null");
	compare("", "", b); /* standard input alone, no final newline */
	snprintf(inputs, sizeof inputs, "%s %s", c, c);
	compare("-u", inputs, "/dev/null");
}

static void usage_errors(void **state)
{
	(void)state;
	char cmd[512];
	const char *bad[] = {"-k 0", "-k 2,3", "-t ab", "-m 12X", "-S 1K", "--bogus", "-k"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(cmd, sizeof cmd, "%s sort %s < /dev/null > /dev/null 2>&1", bin, bad[i]);
		assert_int_equal(tu_run(cmd), 2);
	}
	snprintf(cmd, sizeof cmd, "%s sort %s/missing-file 2>%s/err >/dev/null", bin, dir, dir);
	assert_int_equal(tu_run(cmd), 2);
	char path[128];
	size_t n;
	snprintf(path, sizeof path, "%s/err", dir);
	char *err = tu_slurp(path, &n);
	assert_non_null(err);
	assert_non_null(memmem(err, n, "missing-file", 12));
	free(err);
	snprintf(cmd, sizeof cmd, "%s sort --help > /dev/null", bin);
	assert_int_equal(tu_run(cmd), 0);
}

/* The temporary directory fills up: exit 2, a message, no output file. */
static void disk_full(void **state)
{
	(void)state;
	char small[128], in[128], out[128], errp[128], cmd[1024];
	snprintf(small, sizeof small, "%s/small", dir);
	assert_int_equal(mkdir(small, 0700), 0);
	if (mount("tmpfs", small, "tmpfs", 0, "size=64k") != 0) {
		rmdir(small);
		skip();
	}
	tu_rng r = {seed + 1};
	size_t n;
	char *p = gen_lines(&r, 8000, 1, &n);
	snprintf(in, sizeof in, "%s/big", dir);
	tu_write_file(in, p, n);
	free(p);
	snprintf(out, sizeof out, "%s/out", dir);
	snprintf(errp, sizeof errp, "%s/err", dir);
	snprintf(cmd, sizeof cmd, "%s sort -S 320K -T %s -o %s %s 2>%s", bin, small, out,
		 in, errp);
	int rc = tu_run(cmd);
	char *err = tu_slurp(errp, &n);
	umount(small);
	rmdir(small);
	assert_int_equal(rc, 2);
	assert_non_null(err);
	assert_non_null(memmem(err, n, "No space left", 13));
	free(err);
	assert_int_equal(access(out, F_OK), -1);
	unlink(in);
}

static size_t count_entries(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Does process pid hold a file in directory d open? */
static int holds_file_in(pid_t pid, const char *d)
{
	char fdpath[64], target[512];
	for (int fd = 3; fd < 64; fd++) {
		snprintf(fdpath, sizeof fdpath, "/proc/%d/fd/%d", (int)pid, fd);
		ssize_t k = readlink(fdpath, target, sizeof target - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (strncmp(target, d, strlen(d)) == 0 && target[strlen(d)] == '/')
			return 1;
	}
	return 0;
}

/* SIGINT while runs are on disk: nothing is left in the directory. */
static void interrupted(void **state)
{
	(void)state;
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[0], 0);
		close(pipefd[0]);
		close(pipefd[1]);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execl(bin, bin, "sort", "-S", "320K", "-T", tmp, (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	tu_rng r = {seed + 2};
	size_t n;
	char *p = gen_lines(&r, 8000, 1, &n);
	assert_int_equal(write(pipefd[1], p, n), (ssize_t)n);
	free(p);
	/* Input is still open, so the sort is waiting midway with runs on
	 * disk: its file is open in tmp yet has no name there. */
	int held = 0;
	for (int i = 0; i < 200 && !held; i++) {
		held = holds_file_in(pid, tmp);
		if (!held)
			usleep(10000);
	}
	assert_true(held);
	assert_int_equal(count_entries(tmp), 0);
	kill(pid, SIGINT);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(pipefd[1]);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
	assert_int_equal(count_entries(tmp), 0);
	rmdir(tmp);
}

static int setup(void **state)
{
	(void)state;
	bin = tu_sluice_bin();
	snprintf(dir, sizeof dir, "/tmp/xsort-cli-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return tu_run(cmd);
}

int main(void)
{
	seed = tu_seed("test_sort_cli", 20240602);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matrix),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(disk_full),
		cmocka_unit_test(interrupted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
