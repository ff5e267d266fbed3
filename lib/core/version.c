/*
 * version.c: the library's version, as it was built (sluice.h: SL_VERSION_*).
 * A program linked against another build of libsluice than the header it was
 * compiled with can compare sl_version_number() with SL_VERSION_NUMBER.
 */
#include "sluice.h"

const char *sl_version(void)
{
	return SL_VERSION_STRING;
}

unsigned sl_version_number(void)
{
	return SL_VERSION_NUMBER;
}
