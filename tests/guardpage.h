/*
 * guardpage.h: a line placed just before a PROT_NONE page, so that a parser
 * reading one byte past it faults (shared by the parser tests).
 */
#ifndef SLUICE_TEST_GUARDPAGE_H
#define SLUICE_TEST_GUARDPAGE_H

#include <stddef.h>

/* The writable body (256 KiB, past SL_LINE_MAX) and its end, the first byte
 * of the guard page; set by tu_guard_setup. */
extern char *tu_guard_base, *tu_guard_end;

/* cmocka group setup and teardown: map and unmap the body and its guard. */
int tu_guard_setup(void **state);
int tu_guard_teardown(void **state);

/* Copies s[0 .. n-1] to end just before the guard page; returns the copy.
 * Fails the test when n is larger than the body. */
const char *tu_guarded(const char *s, size_t n);

#endif
