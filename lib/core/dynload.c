/*
 * dynload.c: the compression libraries (zlib, zstd, lz4) and PCRE2 are
 * opened when a run first needs them (a gzip or zstd input, a spill to
 * disk, a --where pattern), not at start: a run that needs none does not
 * map them, and their pages do not count in its resident memory (the
 * 4 MiB of a -m 1M run). The build still includes their headers for the
 * types; each user keeps its table of functions and its pthread_once.
 */
#include "core/dynload.h"

#include <dlfcn.h>
#include <string.h>

bool sl_dynload(const char *soname, const char *const *names, size_t n, void **fns)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	for (size_t i = 0; i < n; i++)
		fns[i] = h ? dlsym(h, names[i]) : NULL;
	for (size_t i = 0; i < n; i++)
		if (!fns[i]) {
			memset(fns, 0, n * sizeof *fns);
			return false; /* the handle stays open: harmless, once */
		}
	return true;
}
