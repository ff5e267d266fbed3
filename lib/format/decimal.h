/*
 * decimal.h: the decimal numbers of log fields (request times, sizes), one
 * scanner for the parsers of lib/format/ (inline: it sits in their hot
 * loops).
 */
#ifndef SLUICE_DECIMAL_H
#define SLUICE_DECIMAL_H

#include <stdint.h>

static const double sl_pow10[20] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
};

/*
 * Reads a decimal 1*DIGIT ['.' 1*DIGIT] at p; returns the byte after it, or
 * NULL when p does not start one. The value is the correctly rounded double
 * when there are at most 19 digits (mantissa and power of ten are then
 * exact below 2^53, and one IEEE division rounds once).
 */
static inline const char *sl_scan_decimal(const char *p, const char *end, double *out)
{
	const char *s = p, *f = NULL;
	uint64_t mant = 0; /* wraps harmlessly past 19 digits */

	for (unsigned d; s < end && (d = (unsigned)(uint8_t)*s - '0') <= 9; s++)
		mant = mant * 10 + d;
	if (s == p)
		return NULL;
	if (s < end && *s == '.') {
		f = ++s;
		for (unsigned d;
		     s < end && (d = (unsigned)(uint8_t)*s - '0') <= 9; s++)
			mant = mant * 10 + d;
		if (s == f)
			return NULL;
	}
	int frac = f ? (int)(s - f) : 0;
	int ndigits = (int)(s - p) - (f != NULL);
	if (ndigits <= 19 && mant <= (1ULL << 53)) {
		*out = (double)mant / sl_pow10[frac];
	} else {
		/* rare: very long numbers, correct to a few ulps */
		double v = 0;
		for (const char *c = p; c < s; c++)
			if (*c != '.')
				v = v * 10 + (*c - '0');
		for (int i = 0; i < frac; i++)
			v /= 10;
		*out = v;
	}
	return s;
}

#endif
