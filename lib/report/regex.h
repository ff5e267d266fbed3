/*
 * regex.h: PCRE2 patterns for the --where ~ filters (lib/report/regex.c).
 */
#ifndef SLUICE_REGEX_H
#define SLUICE_REGEX_H

#include "sluice.h"

typedef struct sl_regex sl_regex;

/* Compiles pattern (NUL-terminated), JIT where available, its memory from
 * b. SL_EINVAL with *err_at (the byte PCRE2 names) and *why for a pattern
 * PCRE2 refuses, or when PCRE2 cannot be loaded; SL_ENOMEM. */
sl_status sl_regex_new(sl_regex **out, sl_budget *b, const char *pattern, size_t *err_at,
		       const char **why);
/* Is the pattern found in p[0 .. n-1]? Not thread-safe: one per thread. */
bool sl_regex_match(sl_regex *re, const char *p, size_t n);
void sl_regex_free(sl_regex *re);
/* As sl_regex_new, without keeping anything (and without a budget). */
sl_status sl_regex_check(const char *pattern, size_t *err_at, const char **why);

#endif
