/*
 * moments.c: count, min, max, mean, variance and sum of a stream of doubles
 * (sl_moments_*).
 *
 * Mean and variance use Welford's update (1962): with delta = v - mean,
 * mean += delta / n and m2 += delta * (v - new mean), so m2 is the sum of
 * squared deviations without ever forming sums of squares, which lose every
 * digit once the mean dwarfs the spread (1e9 + noise). Two summaries merge
 * by the pairwise formula of Chan, Golub and LeVeque (1979):
 *     mean = mean_a + delta * n_b / n,
 *     m2   = m2_a + m2_b + delta^2 * n_a * n_b / n,   delta = mean_b - mean_a.
 *
 * The sum is Neumaier's (1974) improvement of Kahan summation: the rounding
 * error of each addition is recovered exactly (from whichever operand is
 * larger in magnitude) and accumulated in sum_comp; the result is
 * sum + sum_comp. Cancellations such as 1e16 + 1 - 1e16 come out exact.
 *
 * The mean reported (sl_moments_mean) is that sum over n, rounded once, not
 * Welford's running mean: for integer values (byte counts) whose sum stays
 * below 2^53 the sum is exact, so the mean is the same however the stream
 * was split among workers and merged. Welford's mean stays in the struct:
 * the variance update needs it.
 *
 * Count, min and max are exact. The struct needs no allocation: all-zero
 * bytes are the empty summary, so min and max are meaningful only when
 * n > 0 (the first value sets both). A NaN value is counted and makes the
 * mean, variance and sum NaN (callers filter NaN if they must); min and max
 * skip it because every comparison with NaN is false.
 */
#include "sluice.h"

#include <math.h>

/* sum += v, with Neumaier's compensation. */
static void add_sum(double *sum, double *comp, double v)
{
	double t = *sum + v;
	if (fabs(*sum) >= fabs(v))
		*comp += (*sum - t) + v;
	else
		*comp += (v - t) + *sum;
	*sum = t;
}

void sl_moments_add(sl_moments *m, double v)
{
	m->n++;
	if (m->n == 1) {
		m->min = m->max = v;
	} else {
		if (v < m->min)
			m->min = v;
		if (v > m->max)
			m->max = v;
	}
	double delta = v - m->mean;
	m->mean += delta / (double)m->n;
	m->m2 += delta * (v - m->mean);
	add_sum(&m->sum, &m->sum_comp, v);
}

void sl_moments_merge(sl_moments *dst, const sl_moments *src)
{
	sl_moments b = *src; /* a copy, so that dst == src works */
	if (b.n == 0)
		return;
	if (dst->n == 0) {
		*dst = b;
		return;
	}
	double na = (double)dst->n, nb = (double)b.n;
	double n = na + nb;
	double delta = b.mean - dst->mean;
	dst->mean += delta * (nb / n);
	dst->m2 += b.m2 + delta * delta * (na * nb / n);
	dst->n += b.n;
	if (b.min < dst->min)
		dst->min = b.min;
	if (b.max > dst->max)
		dst->max = b.max;
	add_sum(&dst->sum, &dst->sum_comp, b.sum);
	dst->sum_comp += b.sum_comp;
}

double sl_moments_sum(const sl_moments *m)
{
	return m->sum + m->sum_comp;
}

/* The compensated sum over n: one rounding past the sum, so the figure does
 * not depend on how the stream was split while the sum is exact (Welford's
 * mean, merged by Chan's formula, does: it rounds at every step). Welford's
 * where the sum overflowed. */
double sl_moments_mean(const sl_moments *m)
{
	if (m->n == 0)
		return 0;
	double s = sl_moments_sum(m);
	return isfinite(s) || isnan(s) ? s / (double)m->n : m->mean;
}

double sl_moments_stddev(const sl_moments *m)
{
	if (m->n < 2)
		return 0;
	if (isnan(m->m2))
		return NAN;
	return m->m2 > 0 ? sqrt(m->m2 / (double)m->n) : 0;
}
