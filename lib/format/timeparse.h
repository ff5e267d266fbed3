/*
 * timeparse.h: calendar arithmetic shared by the parsers (lib/format/access.c,
 * lib/format/timeparse.c).
 */
#ifndef SLUICE_TIMEPARSE_H
#define SLUICE_TIMEPARSE_H

#include <stdint.h>

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (y >= 0). */
int64_t sl_days_from_civil(int y, int m, int d);

#endif
