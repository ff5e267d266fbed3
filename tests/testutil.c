/* testutil.c: the tests' shared helpers (testutil.h): seeds, files, the
 * program under test, log times and the failing allocator. */
#include "testutil.h"

#include <ftw.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

uint64_t tu_seed(const char *test_name, uint64_t fallback)
{
	const char *env = getenv("SLUICE_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) : fallback;
	printf("[ seed     ] %s: SLUICE_SEED=%llu\n", test_name, (unsigned long long)seed);
	return seed;
}

void *tu_failing_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	tu_fail_state *st = ud;
	(void)old_size;
	if (new_size == 0) {
		free(ptr);
		return NULL;
	}
	st->calls++;
	if (st->allow >= 0 && st->calls > st->allow) {
		st->failures++;
		return NULL;
	}
	return realloc(ptr, new_size);
}

char *tu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap + 1);
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *more = realloc(buf, (cap *= 2) + 1);
			if (!more)
				free(buf);
			buf = more;
		}
	}
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

void tu_log_time(char out[27], int64_t t)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int64_t days = t / 86400, sod = t % 86400;
	int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
	int y = (int)(yoe + era * 400 + (m <= 2));
	snprintf(out, 27, "%02d/%s/%04d:%02d:%02d:%02d +0000", d, mon[m - 1], y,
		 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}

void tu_write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

bool tu_same_files(const char *a, const char *b)
{
	size_t an, bn;
	char *x = tu_slurp(a, &an), *y = tu_slurp(b, &bn);
	bool same = x && y && an == bn && memcmp(x, y, an) == 0;
	free(x);
	free(y);
	return same;
}

int tu_run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *tu_sluice_bin(void)
{
	const char *bin = getenv("SLUICE_BIN");
	return bin && *bin ? bin : "./sluice";
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

int tu_rmtree(const char *dir)
{
	/* depth first, not following symlinks (a test's links stay links) */
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int tu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double *tu_sorted_copy(const double *x, size_t n)
{
	double *s = malloc(n * sizeof *s);
	assert_non_null(s);
	memcpy(s, x, n * sizeof *s);
	qsort(s, n, sizeof *s, tu_cmp_double);
	return s;
}
