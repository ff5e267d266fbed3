/*
 * series.c: requests per time bucket (sl_series_*).
 *
 * A series counts weight per bucket of `width` seconds, buckets aligned to
 * the Unix epoch: bucket b covers [b * width, (b + 1) * width). It keeps one
 * dense array of counts for the buckets base .. base + n - 1, growing at
 * either end, because log lines from several files (or threads) arrive in
 * any order.
 *
 * Memory bound: the array never exceeds max_bytes. When a timestamp would
 * need more buckets than that, the width doubles and adjacent pairs of
 * buckets are summed in place ("coarsening"), as often as needed; per-bucket
 * counts stay exact at the coarser width. The same happens if the budget
 * refuses to grow the array, so adding never fails.
 *
 * Speed: the series remembers the bucket of its last add (start, width,
 * index; 24 bytes); log lines come mostly in time order, so an add usually
 * lands there and costs a subtraction and a compare, no division.
 * Coarsening forgets it.
 *
 * Merge: the finer series is coarsened to the coarser width (widths must be
 * the same base width times powers of two, which holds for series made with
 * the same initial width), then buckets are added.
 */
#include "sluice.h"

#include <string.h>

struct sl_series {
	sl_budget *budget;
	uint32_t width;	 /* seconds per bucket */
	size_t max_bytes;
	int64_t base;	 /* bucket number of counts[0] */
	size_t n;	 /* buckets in use */
	size_t cap;	 /* buckets allocated */
	uint64_t *counts;
	/* the bucket of the last add, counts[hot_i], covers
	 * [hot_start, hot_start + hot_width); hot_width 0: none */
	uint64_t hot_start;	/* modulo 2^64 */
	uint64_t hot_width;
	size_t hot_i;
};

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

sl_series *sl_series_new(sl_budget *b, uint32_t width, size_t max_bytes)
{
	if (width == 0 || max_bytes < 16 * sizeof(uint64_t))
		return NULL;
	sl_series *s = sl_calloc(b, 1, sizeof *s);
	if (!s)
		return NULL;
	s->budget = b;
	s->width = width;
	s->max_bytes = max_bytes;
	s->cap = 16;
	s->counts = sl_calloc(b, s->cap, sizeof *s->counts);
	if (!s->counts) {
		sl_free(b, s, sizeof *s);
		return NULL;
	}
	return s;
}

void sl_series_free(sl_series *s)
{
	if (!s)
		return;
	sl_free(s->budget, s->counts, s->cap * sizeof *s->counts);
	sl_free(s->budget, s, sizeof *s);
}

/* Doubles the width, summing pairs of buckets in place. Each bucket i moves
 * to j = new bucket number - new base <= i, and every slot below i has been
 * handled already, so one ascending pass suffices. */
static void coarsen(sl_series *s)
{
	int64_t nbase = floordiv(s->base, 2);
	size_t j = 0;
	for (size_t i = 0; i < s->n; i++) {
		j = (size_t)(floordiv(s->base + (int64_t)i, 2) - nbase);
		uint64_t v = s->counts[i];
		if (j != i) {
			s->counts[i] = 0;
			s->counts[j] += v;
		}
	}
	s->n = s->n ? j + 1 : 0;
	s->base = nbase;
	s->width *= 2;
	s->hot_width = 0;
}

/* Makes room for `need` buckets: grows the array within max_bytes, else
 * returns 0 (the caller coarsens). */
static int reserve(sl_series *s, size_t need)
{
	if (need <= s->cap)
		return 1;
	size_t max_cap = s->max_bytes / sizeof *s->counts;
	if (need > max_cap)
		return 0;
	size_t cap = s->cap * 2 > need ? s->cap * 2 : need;
	if (cap > max_cap)
		cap = max_cap;
	uint64_t *c = sl_realloc(s->budget, s->counts, s->cap * sizeof *c, cap * sizeof *c);
	if (!c)
		return 0;
	memset(c + s->cap, 0, (cap - s->cap) * sizeof *c);
	s->counts = c;
	s->cap = cap;
	return 1;
}

/* Bucket b (now counts[b - base]) takes the next adds that fall in it. */
static void set_hot(sl_series *s, int64_t b)
{
	s->hot_start = (uint64_t)b * s->width;
	s->hot_width = s->width;
	s->hot_i = (size_t)(b - s->base);
}

/* Consecutive lines mostly fall in the bucket of the previous one: that is
 * checked first, with no division (t - hot_start in unsigned arithmetic is
 * below the width exactly when t lies in the bucket, whatever the signs). */
void sl_series_add(sl_series *s, int64_t t, uint64_t w)
{
	if ((uint64_t)t - s->hot_start < s->hot_width) {
		s->counts[s->hot_i] += w;
		return;
	}
	for (;;) {
		int64_t b = floordiv(t, s->width);
		if (s->n == 0) {
			s->base = b;
			s->n = 1;
			s->counts[0] = w;
			set_hot(s, b);
			return;
		}
		if (b >= s->base && b < s->base + (int64_t)s->n) {
			s->counts[b - s->base] += w;
			set_hot(s, b);
			return;
		}
		if (b >= s->base) {
			size_t need = (size_t)(b - s->base) + 1;
			if (reserve(s, need)) {
				s->n = need;
				s->counts[need - 1] += w;
				set_hot(s, b);
				return;
			}
		} else {
			size_t shift = (size_t)(s->base - b);
			size_t need = s->n + shift;
			if (need >= s->n && reserve(s, need)) {
				memmove(s->counts + shift, s->counts, s->n * sizeof *s->counts);
				memset(s->counts, 0, shift * sizeof *s->counts);
				s->base = b;
				s->n = need;
				s->counts[0] += w;
				set_hot(s, b);
				return;
			}
		}
		coarsen(s);
	}
}

sl_status sl_series_merge(sl_series *dst, const sl_series *src)
{
	uint32_t wd = dst->width, ws = src->width;
	uint32_t hi = wd > ws ? wd : ws, lo = wd > ws ? ws : wd;
	if (hi % lo != 0 || ((hi / lo) & (hi / lo - 1)) != 0)
		return SL_EMISMATCH;
	while (dst->width < src->width)
		coarsen(dst);
	for (size_t i = 0; i < src->n; i++)
		if (src->counts[i])
			sl_series_add(dst, (src->base + (int64_t)i) * (int64_t)src->width,
				      src->counts[i]);
	return SL_OK;
}

uint32_t sl_series_width(const sl_series *s)
{
	return s->width;
}

size_t sl_series_len(const sl_series *s)
{
	return s->n;
}

void sl_series_get(const sl_series *s, size_t i, int64_t *start, uint64_t *count)
{
	*start = (s->base + (int64_t)i) * (int64_t)s->width;
	*count = i < s->n ? s->counts[i] : 0;
}

/* ---- state codec (lib/core/wire.h; byte layout in docs/state-format.md) -------
 *
 *   u32 width | i64 base | u64 n | n x u64 counts, bucket `base` first
 *
 * Checked before dst is touched: width > 0 and a power-of-two multiple or
 * divisor of dst's width (as sl_series_merge requires), n within the
 * section, and every bucket's start time (base + i) * width within int64.
 * An empty dst of the same width with room for n buckets takes the array as
 * it is; otherwise the buckets are merged in as sl_series_merge does.
 */
#include "core/wire.h"

void sl_series_encode(const sl_series *s, sl_wire_writer *w)
{
	sl_wire_u32(w, s->width);
	sl_wire_i64(w, s->base);
	sl_wire_u64(w, s->n);
	for (size_t i = 0; i < s->n; i++)
		sl_wire_u64(w, s->counts[i]);
}

sl_status sl_series_load(sl_series *dst, sl_wire_reader *r, const char **why)
{
	uint32_t width = sl_wire_get_u32(r);
	int64_t base = sl_wire_get_i64(r);
	uint64_t n = sl_wire_get_u64(r);
	if (r->bad) {
		*why = "series truncated";
		return SL_ECORRUPT;
	}
	uint32_t hi = width > dst->width ? width : dst->width;
	uint32_t lo = width > dst->width ? dst->width : width;
	if (width == 0 || hi % lo != 0 || ((hi / lo) & (hi / lo - 1)) != 0) {
		*why = "series bucket width impossible";
		return SL_ECORRUPT;
	}
	if (!sl_wire_need(r, n, sizeof(uint64_t))) {
		*why = "series buckets past the end of the section";
		return SL_ECORRUPT;
	}
	int64_t w = width;
	if (n && (base < INT64_MIN / w || base > INT64_MAX / w ||
		  (uint64_t)(INT64_MAX / w) - (uint64_t)base < n - 1)) {
		*why = "series time range impossible";
		return SL_ECORRUPT;
	}
	const uint8_t *c = sl_wire_take(r, (size_t)n * 8);
	if (n == 0)
		return SL_OK;
	if (dst->n == 0 && dst->width == width && n <= dst->max_bytes / sizeof(uint64_t)) {
		if (!reserve(dst, (size_t)n))
			return SL_ENOMEM;
		for (size_t i = 0; i < n; i++)
			dst->counts[i] = sl_wire_le64(c + 8 * i);
		dst->base = base;
		dst->n = (size_t)n;
		dst->hot_width = 0;
		return SL_OK;
	}
	while (dst->width < width)
		coarsen(dst);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = sl_wire_le64(c + 8 * i);
		if (v)
			sl_series_add(dst, (base + (int64_t)i) * w, v);
	}
	return SL_OK;
}
