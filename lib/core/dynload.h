/*
 * dynload.h: libraries loaded when first needed (lib/core/dynload.c).
 */
#ifndef SLUICE_DYNLOAD_H
#define SLUICE_DYNLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* Opens soname (once per process for each soname given: the caller holds
 * the once-flag) and fills fns[i] with names[i]. False, with every fns[i]
 * NULL, when the library or one of the names is missing. */
bool sl_dynload(const char *soname, const char *const *names, size_t n, void **fns);

#endif
