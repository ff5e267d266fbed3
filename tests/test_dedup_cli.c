/*
 * test_dedup_cli.c: `sluice dedup` against `awk '!seen[$0]++'` (whatever
 * `awk` is: mawk or gawk, run with LC_ALL=C), byte for byte.
 *
 * Seeded random files with many duplicate lines (blank- and comma-separated
 * fields, empty lines, carriage returns, high bytes, lines of 20..60 KiB,
 * files without a final newline) are deduped by both programs: whole lines
 * and key fields (-k N against $N, -t , against -F ,), in memory and with a
 * budget small enough that sluice spills (checked on its --stats line),
 * from several files, standard input, a gzip file, and with -o naming one of
 * the inputs. Then --approx on distinct lines only, where every dropped line
 * is a false positive: the number dropped must be within the bound sluice
 * states. Then the failure paths: bad usage, a missing file, and a full
 * temporary directory (a 64 KiB tmpfs; skipped when mount is not permitted).
 */
#include "testutil.h"

#include <errno.h>
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

/* npool pool lines, then `lines` lines drawn from it (half of the draws from
 * its first tenth): many duplicates. */
static char *gen_lines(tu_rng *r, size_t npool, size_t lines, int final_newline, size_t *n)
{
	static const char *words[] = {"GET", "/index.html", "POST", "200", "404", "-",
				      "10.0.0.1", "Mozilla/5.0"};
	size_t *off = malloc(npool * sizeof *off), *len = malloc(npool * sizeof *len);
	size_t cap = npool * 100 + 200000, used = 0;
	char *pool = malloc(cap);
	for (size_t i = 0; i < npool; i++) {
		if (cap - used < 100000)
			pool = realloc(pool, cap *= 2);
		char *p = pool + used;
		size_t m = 0;
		switch (tu_below(r, 12)) {
		case 0: /* empty or blanks only */
			for (size_t j = tu_below(r, 3); j; j--)
				p[m++] = " \t"[tu_below(r, 2)];
			break;
		case 1: /* high bytes and carriage returns, no NUL */
			for (size_t j = tu_below(r, 20); j; j--) {
				unsigned c = 1 + (unsigned)tu_below(r, 255);
				p[m++] = (char)(c == '\n' ? '\r' : c);
			}
			break;
		case 2:
			if (tu_below(r, 30) == 0) { /* long */
				size_t want = 20000 + tu_below(r, 40000);
				for (; m < want; m++)
					p[m] = (char)('a' + tu_below(r, 3));
				if (tu_below(r, 2))
					p[m++] = ' ', p[m++] = 'z';
				break;
			}
			/* fall through */
		default:
			if (tu_below(r, 4) == 0)
				p[m++] = " \t"[tu_below(r, 2)];
			for (size_t j = 1 + tu_below(r, 6); j; j--) {
				m += (size_t)sprintf(p + m, "%s%u%s", words[tu_below(r, 8)],
						     (unsigned)tu_below(r, 40),
						     (const char *[]){" ", ",", "\t", ", ", "  "}
							     [tu_below(r, 5)]);
			}
			break;
		}
		off[i] = used;
		len[i] = m;
		used += m;
	}
	size_t ocap = lines * 64 + 1024, olen = 0;
	char *out = malloc(ocap);
	for (size_t i = 0; i < lines; i++) {
		size_t j = tu_below(r, 2) ? tu_below(r, npool / 10 + 1) : tu_below(r, npool);
		if (j >= npool)
			j = npool - 1;
		while (ocap - olen < len[j] + 2)
			out = realloc(out, ocap *= 2);
		memcpy(out + olen, pool + off[j], len[j]);
		olen += len[j];
		out[olen++] = '\n';
	}
	if (!final_newline && olen)
		olen--;
	free(pool);
	free(off);
	free(len);
	*n = olen;
	return out;
}

/* Lines spilled, from the --stats line in file path; -1 if absent. */
static long spilled_lines(const char *path)
{
	size_t n;
	char *s = tu_slurp(path, &n);
	long v = -1;
	if (s) {
		char *p = strstr(s, " lines spilled to disk");
		if (p) {
			while (p > s && p[-1] >= '0' && p[-1] <= '9')
				p--;
			v = strtol(p, NULL, 10);
		}
	}
	free(s);
	return v;
}

/* sluice with `opts` vs awk with `awk_args`; spill: 1 must, 0 must not,
 * -1 either. */
static void compare(const char *opts, const char *awk_args, const char *inputs,
		    const char *stdin_file, int spill)
{
	char cmd[2048], mine[128], theirs[128], err[128];
	snprintf(mine, sizeof mine, "%s/mine", dir);
	snprintf(theirs, sizeof theirs, "%s/theirs", dir);
	snprintf(err, sizeof err, "%s/stats", dir);
	snprintf(cmd, sizeof cmd, "%s dedup --stats -T %s %s %s < %s > %s 2> %s", bin, dir,
		 opts, inputs, stdin_file, mine, err);
	assert_int_equal(tu_run(cmd), 0);
	snprintf(cmd, sizeof cmd, "LC_ALL=C awk %s %s < %s > %s", awk_args, inputs,
		 stdin_file, theirs);
	assert_int_equal(tu_run(cmd), 0);
	if (!tu_same_files(mine, theirs))
		fail_msg("outputs differ: dedup %s vs awk %s on %s", opts, awk_args, inputs);
	long sp = spilled_lines(err);
	assert_true(sp >= 0);
	if (spill >= 0 && (sp > 0) != spill)
		fail_msg("dedup %s: %ld lines spilled, expected %s", opts, sp,
			 spill ? "some" : "none");
}

static void matrix(void **state)
{
	(void)state;
	tu_rng r = {seed};
	char a[128], b[128], c[128], big[128], inputs[512];
	size_t n;
	char *p;
	snprintf(a, sizeof a, "%s/a", dir);
	snprintf(b, sizeof b, "%s/b", dir);
	snprintf(c, sizeof c, "%s/c", dir);
	snprintf(big, sizeof big, "%s/big", dir);
	p = gen_lines(&r, 2000, 8000, 1, &n);
	tu_write_file(a, p, n);
	free(p);
	p = gen_lines(&r, 800, 3000, 0, &n); /* no final newline */
	tu_write_file(b, p, n);
	free(p);
	p = gen_lines(&r, 500, 2000, 0, &n);
	tu_write_file(c, p, n);
	free(p);
	/* ~16000 distinct lines of ~60 bytes: spills at -m 640K */
	p = gen_lines(&r, 40000, 60000, 1, &n);
	tu_write_file(big, p, n);
	free(p);

	/* The checker can fail: different files are told apart. */
	assert_false(tu_same_files(a, b));
	assert_true(tu_same_files(a, a));

	compare("", "'!seen[$0]++'", a, "/dev/null", 0);
	compare("-k 2", "'!seen[$2]++'", a, "/dev/null", 0);
	compare("--key 1", "'!seen[$1]++'", a, "/dev/null", 0);
	compare("-k 3 -t ,", "-F , '!seen[$3]++'", a, "/dev/null", 0);
	compare("-m 640K", "'!seen[$0]++'", big, "/dev/null", 1);
	compare("-m 640K -k 2", "'!seen[$2]++'", big, "/dev/null", -1);
	compare("-m 640K -k 2 -t ,", "-F , '!seen[$2]++'", big, "/dev/null", -1);
	compare("-m 64M", "'!seen[$0]++'", big, "/dev/null", 0);
	snprintf(inputs, sizeof inputs, "%s - %s", b, c);
	compare("", "'!seen[$0]++'", inputs, a, 0);	/* files and stdin */
	compare("-m 640K", "'!seen[$0]++'", inputs, big, 1);
	compare("", "'!seen[$0]++'", "", b, 0);	/* stdin alone, no final newline */
	snprintf(inputs, sizeof inputs, "%s %s %s", c, c, b);
	compare("-k 2", "'!seen[$2]++'", inputs, "/dev/null", 0);

	/* compressed input */
	char cmd[2048], gz[160];
	snprintf(gz, sizeof gz, "%s.gz", a);
	snprintf(cmd, sizeof cmd, "gzip -c %s > %s", a, gz);
	if (tu_run(cmd) == 0) {
		char mine[160], theirs[160];
		snprintf(mine, sizeof mine, "%s/gz-mine", dir);
		snprintf(theirs, sizeof theirs, "%s/gz-theirs", dir);
		snprintf(cmd, sizeof cmd, "%s dedup %s > %s && LC_ALL=C awk '!seen[$0]++' %s > %s",
			 bin, gz, mine, a, theirs);
		assert_int_equal(tu_run(cmd), 0);
		assert_true(tu_same_files(mine, theirs));
	}

	/* -o naming an input: the input is read whole before it is replaced */
	char copy[160], theirs[160];
	snprintf(copy, sizeof copy, "%s/copy", dir);
	snprintf(theirs, sizeof theirs, "%s/o-theirs", dir);
	snprintf(cmd, sizeof cmd, "cp %s %s && LC_ALL=C awk '!seen[$0]++' %s > %s && "
		 "%s dedup -m 640K -T %s -o %s %s", big, copy, big, theirs, bin, dir, copy, copy);
	assert_int_equal(tu_run(cmd), 0);
	assert_true(tu_same_files(copy, theirs));
}

/* Parses "N dropped; at most X of the dropped" from an --approx summary. */
static int parse_approx(const char *s, unsigned long long *lines,
			unsigned long long *dropped, unsigned long long *bound)
{
	const char *p = strstr(s, "sluice dedup: ");
	if (!p)
		return -1;
	unsigned long long printed;
	if (sscanf(p, "sluice dedup: %llu lines read, %llu printed, %llu dropped; at most "
		   "%llu of the dropped", lines, &printed, dropped, bound) != 4)
		return -1;
	return printed + *dropped == *lines ? 0 : -1;
}

/* The check: every dropped line was a false positive (distinct input), so
 * the count must be within the stated bound. */
static bool within_bound(unsigned long long dropped, unsigned long long bound)
{
	return dropped <= bound;
}

static void approx_bound(void **state)
{
	(void)state;
	unsigned long long lines, dropped, bound;
	/* the checker can fail */
	assert_int_equal(parse_approx("sluice dedup: 10 lines read, 6 printed, 4 dropped; "
				      "at most 3 of the dropped lines", &lines, &dropped,
				      &bound), 0);
	assert_false(within_bound(dropped, bound));
	assert_int_equal(parse_approx("garbage", &lines, &dropped, &bound), -1);

	/* Distinct lines: a counter and a seeded salt. */
	tu_rng r = {seed + 1};
	char path[128], errp[128], outp[128], cmd[512];
	snprintf(path, sizeof path, "%s/distinct", dir);
	snprintf(errp, sizeof errp, "%s/approx-err", dir);
	snprintf(outp, sizeof outp, "%s/approx-out", dir);
	size_t N = 100000, cap = N * 40, len = 0;
	char *p = malloc(cap);
	uint64_t salt = tu_next(&r);
	for (size_t i = 0; i < N; i++)
		len += (size_t)snprintf(p + len, cap - len, "%016llx line %zu\n",
					(unsigned long long)salt, i);
	tu_write_file(path, p, len);
	free(p);

	static const char *cfgs[] = {
		"-a 0.01 -m 1M",	/* roomy: few or no false positives */
		"-a 0.01 -m 128K",	/* about at capacity */
		"-a 1% -m 64K",		/* overfull: many */
		"-a 0.2 -m 40K",
	};
	int warned = 0;
	for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
		snprintf(cmd, sizeof cmd, "%s dedup %s %s > %s 2> %s", bin, cfgs[i], path, outp,
			 errp);
		assert_int_equal(tu_run(cmd), 0);
		size_t n;
		char *err = tu_slurp(errp, &n);
		assert_non_null(err);
		assert_int_equal(parse_approx(err, &lines, &dropped, &bound), 0);
		printf("  %s: %llu distinct lines, %llu dropped, stated bound %llu\n", cfgs[i],
		       lines, dropped, bound);
		assert_int_equal(lines, N);
		if (!within_bound(dropped, bound))
			fail_msg("%s: %llu lines dropped, over the stated bound %llu", cfgs[i],
				 dropped, bound);
		warned += strstr(err, "too small") != NULL;
		free(err);
		/* the printed lines are the input minus the dropped ones */
		char *out = tu_slurp(outp, &n);
		size_t nl = 0;
		for (size_t j = 0; j < n; j++)
			nl += out[j] == '\n';
		assert_int_equal(nl + dropped, N);
		free(out);
	}
	assert_true(warned >= 1); /* the overfull filter says so */
}

static void usage_errors(void **state)
{
	(void)state;
	char cmd[512];
	const char *bad[] = {"-k 0", "-k x", "-t ab", "-m 12X", "-m 100K", "--bogus", "-k",
			     "-a 0", "-a 1.5", "-a 100%", "-a x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(cmd, sizeof cmd, "%s dedup %s < /dev/null > /dev/null 2>&1", bin, bad[i]);
		if (tu_run(cmd) != 2)
			fail_msg("dedup %s: exit status not 2", bad[i]);
	}
	snprintf(cmd, sizeof cmd, "%s dedup %s/missing-file 2>%s/err >/dev/null", bin, dir, dir);
	assert_int_equal(tu_run(cmd), 2);
	char path[128];
	size_t n;
	snprintf(path, sizeof path, "%s/err", dir);
	char *err = tu_slurp(path, &n);
	assert_non_null(err);
	assert_non_null(strstr(err, "missing-file"));
	free(err);
	snprintf(cmd, sizeof cmd, "%s dedup --help > /dev/null", bin);
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
	tu_rng r = {seed + 2};
	size_t n;
	char *p = gen_lines(&r, 40000, 60000, 1, &n);
	snprintf(in, sizeof in, "%s/full-in", dir);
	tu_write_file(in, p, n);
	free(p);
	snprintf(out, sizeof out, "%s/full-out", dir);
	snprintf(errp, sizeof errp, "%s/err", dir);
	snprintf(cmd, sizeof cmd, "%s dedup -m 640K -T %s -o %s %s 2>%s", bin, small, out,
		 in, errp);
	int rc = tu_run(cmd);
	char *err = tu_slurp(errp, &n);
	umount(small);
	rmdir(small);
	assert_int_equal(rc, 2);
	assert_non_null(err);
	assert_non_null(strstr(err, "No space left"));
	assert_non_null(strstr(err, small));
	free(err);
	assert_int_equal(access(out, F_OK), -1);
}

static int setup(void **state)
{
	(void)state;
	bin = tu_sluice_bin();
	snprintf(dir, sizeof dir, "/tmp/dedup-cli-XXXXXX");
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
	seed = tu_seed("test_dedup_cli", 20240613);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matrix),
		cmocka_unit_test(approx_bound),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(disk_full),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
