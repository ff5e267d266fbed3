/*
 * status.c: sl_strerror and sl_hash, the two helpers every module shares.
 *
 * sl_hash is XXH3-64 (libxxhash), seed 0: one fast hash for every key, so a
 * key hashed once can feed several sketches (the client IP feeds both the
 * distinct counter and the top list).
 */
#include "sluice.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

const char *sl_strerror(sl_status s)
{
	static const char *const text[] = {
#define SL_STATUS_TEXT(name, t) t,
		SL_STATUS_LIST(SL_STATUS_TEXT)
#undef SL_STATUS_TEXT
	};
	if ((unsigned)s >= SL_STATUS_COUNT)
		return "unknown error";
	return text[s];
}

uint64_t sl_hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}
