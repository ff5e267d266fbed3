/*
 * testutil.h: shared helpers for the cmocka tests.
 *
 * Randomized tests draw from a seeded splitmix64 generator. The seed comes
 * from $SLUICE_SEED when set (to replay a failure), else from a fixed
 * default, and is always printed so a failing run can be reproduced.
 */
#ifndef SLUICE_TESTUTIL_H
#define SLUICE_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sluice.h"

typedef struct {
	uint64_t s;
} tu_rng;

/* The seed for this test program: $SLUICE_SEED or `fallback`; printed. */
uint64_t tu_seed(const char *test_name, uint64_t fallback);

static inline uint64_t tu_next(tu_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t tu_below(tu_rng *r, uint64_t n)
{
	return n ? tu_next(r) % n : 0;
}

/* Uniform in [0, 1). */
static inline double tu_unit(tu_rng *r)
{
	return (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* The whole file at path, NUL-terminated, in a malloc'd buffer (the caller
 * frees it); its length in *len when len is not NULL. NULL if it cannot be
 * opened. */
char *tu_slurp(const char *path, size_t *len);

/* Writes data[0 .. n-1] to path (the test fails if it cannot). */
void tu_write_file(const char *path, const char *data, size_t n);

/* Do files a and b hold the same bytes? (false if either is unreadable) */
bool tu_same_files(const char *a, const char *b);

/* qsort comparator for doubles (ascending), and a malloc'd sorted copy of
 * x[0 .. n-1] (the caller frees it): the naive quantile reference. */
int tu_cmp_double(const void *a, const void *b);
double *tu_sorted_copy(const double *x, size_t n);

/* Removes dir and everything under it (no shell); 0, or -1 if something
 * could not be removed. */
int tu_rmtree(const char *dir);

/* Runs cmd through the shell; its exit status, or -1 if it did not exit. */
int tu_run(const char *cmd);

/* The sluice program under test: $SLUICE_BIN if set and not empty, else
 * ./sluice. */
const char *tu_sluice_bin(void);

/* Unix time t (>= 0) as an access log writes it in UTC, e.g.
 * "10/Oct/2000:13:55:36 +0000" (26 bytes and a NUL into out). The civil
 * date is computed here (Hinnant's days-to-date), independently of the
 * parser's date-to-days. */
void tu_log_time(char out[27], int64_t t);

/* An allocator hook that fails every call after `allow` successful ones
 * (allow < 0: never fails). Install with sl_budget_set_alloc(b, tu_failing_alloc, &state). */
typedef struct {
	long allow;
	long calls;
	long failures;
} tu_fail_state;
void *tu_failing_alloc(void *ud, void *ptr, size_t old_size, size_t new_size);

#endif
