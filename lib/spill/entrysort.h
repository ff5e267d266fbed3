/*
 * entrysort.h: the in-memory sort of the external sorts (lib/sketch/exact.c,
 * lib/spill/xsort.c), internal to lib/, as a template.
 *
 * An entry is 16 bytes: the first 8 key bytes as a big-endian number (so
 * that most comparisons are one integer compare) and the record's offset
 * and length. Before including this file, define
 *   ENTRY_CTX            the comparator's context type, and
 *   ENTRY_CMP(ctx, a, b) <0, 0, >0 for entries a, b (const entry *),
 *                        a strict total order on the entries sorted
 *                        (no two compare equal: a tie-break included);
 * and include this file again: entry_sort(ctx, a, n) then sorts a[0 .. n-1]
 * ascending (a first include, before the comparator exists, gives only the
 * entry type and load_pfx). It is introsort:
 * a Hoare partition around a median of three, the smaller side recursed
 * (depth O(log n)), heap sort past 2 log2 n levels (O(n log n) worst case),
 * insertion sort below 17 entries. The comparator is expanded in place, so
 * the hottest loop of each sort keeps its own inlined compare rather than a
 * call through a pointer. The functions are defined once per file.
 */
#ifndef SLUICE_ENTRYSORT_H
#define SLUICE_ENTRYSORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
	uint64_t pfx;		/* first 8 key bytes, big-endian, zero-padded */
	uint32_t off;		/* the record */
	uint32_t len;
} entry;

/* The first 8 bytes of k[0 .. n-1] as a big-endian number, zero-padded. */
static inline uint64_t load_pfx(const unsigned char *k, size_t n)
{
	uint64_t v = 0;
	if (n >= 8) {
		memcpy(&v, k, 8);
		return __builtin_bswap64(v);
	}
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < n ? k[i] : 0);
	return v;
}

#endif

#if defined(ENTRY_CMP) && !defined(SLUICE_ENTRYSORT_FUNCS)
#define SLUICE_ENTRYSORT_FUNCS

static void entry_sift(ENTRY_CTX ctx, entry *a, size_t i, size_t n)
{
	entry t = a[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ENTRY_CMP(ctx, &a[c], &a[c + 1]) < 0)
			c++;
		if (ENTRY_CMP(ctx, &t, &a[c]) >= 0)
			break;
		a[i] = a[c];
		i = c;
	}
	a[i] = t;
}

static void entry_introsort(ENTRY_CTX ctx, entry *a, size_t n, int depth)
{
	while (n > 16) {
		if (depth-- == 0) {	/* heap sort */
			for (size_t i = n / 2; i-- > 0;)
				entry_sift(ctx, a, i, n);
			for (size_t i = n; i-- > 1;) {
				entry t = a[0];
				a[0] = a[i];
				a[i] = t;
				entry_sift(ctx, a, 0, i);
			}
			return;
		}
		entry *x = &a[0], *y = &a[n / 2], *z = &a[n - 1], *m;
		if (ENTRY_CMP(ctx, x, y) < 0)
			m = ENTRY_CMP(ctx, y, z) < 0 ? y : (ENTRY_CMP(ctx, x, z) < 0 ? z : x);
		else
			m = ENTRY_CMP(ctx, x, z) < 0 ? x : (ENTRY_CMP(ctx, y, z) < 0 ? z : y);
		entry p = *m;
		size_t i = 0, j = n - 1;
		for (;;) {
			while (ENTRY_CMP(ctx, &a[i], &p) < 0)
				i++;
			while (ENTRY_CMP(ctx, &p, &a[j]) < 0)
				j--;
			if (i >= j)
				break;
			entry t = a[i];
			a[i] = a[j];
			a[j] = t;
			i++;
			j--;
		}
		/* [0, j] <= p <= [j + 1, n), both sides non-empty */
		size_t left = j + 1;
		if (left < n - left) {
			entry_introsort(ctx, a, left, depth);
			a += left;
			n -= left;
		} else {
			entry_introsort(ctx, a + left, n - left, depth);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++) {
		entry t = a[i];
		size_t j = i;
		while (j > 0 && ENTRY_CMP(ctx, &t, &a[j - 1]) < 0) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = t;
	}
}

static void entry_sort(ENTRY_CTX ctx, entry *a, size_t n)
{
	int depth = 0;
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	entry_introsort(ctx, a, n, depth);
}

#endif
