/*
 * reportcmp.h: comparing two reports figure by figure, for the tests that
 * run one input several ways (jobs, save and merge, paths) and require one
 * answer.
 */
#ifndef SLUICE_TESTS_REPORTCMP_H
#define SLUICE_TESTS_REPORTCMP_H

#include "sluice.h"

/* Fails the test (naming `label` and the item) unless a and b have the
 * same plan and the same counters, status codes, samples and, item by
 * item, distinct counts (both exact), top rows (the first 10, both exact),
 * tallies and quantile moments. */
void rc_assert_same_figures(const sl_report *a, const sl_report *b, const char *label);

#endif
