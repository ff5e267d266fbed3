/*
 * timeparse.c: times as logs write them (sl_time_parse), for the formats
 * that do not have the access log's bracketed field: ISO 8601 / RFC 3339
 * (JSON logs, W3C, ALB, Caddy), the common log format's own text, and Unix
 * seconds.
 *
 * Accepted, whole (nothing before or after):
 *   YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|z|+HH:MM|-HH:MM|+HHMM|-HHMM]
 *                       no zone: UTC (W3C and S3 write UTC without one)
 *   DD/Mon/YYYY:HH:MM:SS +HHMM   (the common log format; no brackets)
 *   [-]digits[.digits]  Unix seconds (nginx's $msec, Caddy's ts)
 * The result is whole seconds, floored; a fraction is dropped. Dates are
 * checked (months, days, leap years, 60 as a leap second), offsets up to
 * 14 hours, and the instant must lie in the years 0000 to 9999 UTC, as the
 * access-log parser requires. No allocation, no locale, no libc time calls.
 */
#include "sluice.h"
#include "format/timeparse.h"

#include <string.h>

int64_t sl_days_from_civil(int y, int m, int d)
{
	/* Years counted from March (the leap day last), shifted by one
	 * 400-year cycle so that division floors; see lib/format/access.c. */
	int64_t yy = (int64_t)y - (m <= 2) + 400;
	int mp = m > 2 ? m - 3 : m + 9;
	int64_t days = yy * 365 + yy / 4 - yy / 100 + yy / 400 + (153 * mp + 2) / 5 + (d - 1);
	return days - 146097 - 719468;
}

static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		unsigned c = (unsigned)(p[i] - '0');
		if (c > 9)
			return -1;
		v = v * 10 + (int)c;
	}
	return v;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

#define YEAR_0_START (-62167219200LL)
#define YEAR_10000_START 253402300800LL

/* The instant of a checked civil date and time at UTC offset off. */
static bool instant(int y, int mo, int d, int h, int mi, int s, int32_t off, int64_t *t)
{
	static const int mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo] + (mo == 2 && leap(y)) ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
		return false;
	*t = sl_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	return *t >= YEAR_0_START && *t < YEAR_10000_START;
}

/* "+HH:MM", "+HHMM", "Z" at p[0 .. n-1]: the offset in seconds east. */
static bool zone(const char *p, size_t n, int32_t *off)
{
	if (n == 0) {
		*off = 0;
		return true;
	}
	if (n == 1 && (*p == 'Z' || *p == 'z')) {
		*off = 0;
		return true;
	}
	if ((n != 5 && n != 6) || (*p != '+' && *p != '-'))
		return false;
	int h = digits(p + 1, 2), m = digits(p + (n == 6 ? 4 : 3), 2);
	if (h < 0 || m < 0 || h > 14 || m > 59 || (n == 6 && p[3] != ':'))
		return false;
	*off = (h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
	return true;
}

static bool iso8601(const char *p, size_t n, int64_t *t, int32_t *off)
{
	if (n < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
	    p[13] != ':' || p[16] != ':')
		return false;
	int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
	int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
	size_t i = 19;
	if (i < n && (p[i] == '.' || p[i] == ',')) {
		size_t j = ++i;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == j)
			return false;
	}
	return zone(p + i, n - i, off) && instant(y, mo, d, h, mi, s, *off, t);
}

static bool clf(const char *p, size_t n, int64_t *t, int32_t *off)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (n != 26 || p[2] != '/' || p[6] != '/' || p[11] != ':' || p[14] != ':' ||
	    p[17] != ':' || p[20] != ' ')
		return false;
	int mo = 0;
	for (int k = 0; k < 12; k++)
		if (memcmp(p + 3, months + 3 * k, 3) == 0)
			mo = k + 1;
	int d = digits(p, 2), y = digits(p + 7, 4);
	int h = digits(p + 12, 2), mi = digits(p + 15, 2), s = digits(p + 18, 2);
	return d >= 0 && y >= 0 && zone(p + 21, 5, off) && instant(y, mo, d, h, mi, s, *off, t);
}

static bool epoch(const char *p, size_t n, int64_t *t)
{
	size_t i = 0;
	bool neg = n > 0 && p[0] == '-';
	i += neg;
	int64_t v = 0;
	size_t start = i;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (i - start >= 12) /* past the year 9999 */
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (i == start)
		return false;
	bool frac = false;
	if (i < n && p[i] == '.') {
		size_t j = ++i;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			frac |= p[i++] != '0';
		if (i == j)
			return false;
	}
	if (i != n)
		return false;
	*t = neg ? -v - frac : v; /* floored */
	return *t >= YEAR_0_START && *t < YEAR_10000_START;
}

bool sl_time_parse(const char *p, size_t n, int64_t *t, int32_t *offset)
{
	int32_t off = 0;
	bool ok;
	if (n >= 19 && p[4] == '-')
		ok = iso8601(p, n, t, &off);
	else if (n == 26 && p[2] == '/')
		ok = clf(p, n, t, &off);
	else
		ok = epoch(p, n, t);
	if (ok && offset)
		*offset = off;
	return ok;
}
