/*
 * unaligned.h: loads and stores of native-endian integers at any address,
 * internal to lib/.
 *
 * Each is a memcpy of a constant size, which compilers turn into one move
 * (no call, no alignment trap, no aliasing trouble). The byte order is the
 * machine's: callers that need a fixed order on disk use lib/wire.h, and
 * callers that read bytes as little-endian words test __BYTE_ORDER__.
 */
#ifndef SLUICE_UNALIGNED_H
#define SLUICE_UNALIGNED_H

#include <stdint.h>
#include <string.h>

static inline uint16_t load16(const char *p)
{
	uint16_t x;
	memcpy(&x, p, 2);
	return x;
}

static inline uint32_t load32(const char *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	return x;
}

static inline uint64_t load64(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

static inline void store32(char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void store64(char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

#endif
