/*
 * tally.c: a small exact string -> count map (sl_tally_*), for domains of a
 * handful of values such as HTTP methods and protocols.
 *
 * Layout: the fixed sl_tally struct of sluice.h (about 1.1 KiB), embedded by
 * its user and zeroed to initialize; it never allocates and never fails.
 * Up to SL_TALLY_MAX distinct keys of at most SL_TALLY_KEY_MAX bytes are
 * kept in arrival order, NUL-terminated; lookup is a linear scan comparing
 * lengths first, then the bytes inline (same_bytes, lib/core/unaligned.h), which
 * for a few keys beats hashing. Any other key (too long, or arriving when
 * the table is full) is added to `other`, so sum(count) + other is always
 * exactly the total weight.
 *
 * A weight of 0 changes nothing (it does not take a key's place).
 * Merge adds src's keys one by one into dst as if they were added there, and
 * src's `other` to dst's: dst's totals stay exact, and a key of src that
 * finds no room in dst is counted in dst's `other`.
 */
#include "sluice.h"
#include "core/unaligned.h"

#include <string.h>

void sl_tally_add(sl_tally *t, const char *key, size_t len, uint64_t w)
{
	if (w == 0)
		return;
	if (len <= SL_TALLY_KEY_MAX) {
		for (uint32_t i = 0; i < t->n; i++) {
			if (t->len[i] == len && same_bytes(t->key[i], key, len)) {
				t->count[i] += w;
				return;
			}
		}
		if (t->n < SL_TALLY_MAX) {
			uint32_t i = t->n++;
			if (len)
				memcpy(t->key[i], key, len);
			t->key[i][len] = '\0';
			t->len[i] = (uint8_t)len;
			t->count[i] = w;
			return;
		}
	}
	t->other += w;
}

void sl_tally_merge(sl_tally *dst, const sl_tally *src)
{
	if (dst == src) {
		for (uint32_t i = 0; i < dst->n; i++)
			dst->count[i] *= 2;
		dst->other *= 2;
		return;
	}
	for (uint32_t i = 0; i < src->n; i++)
		sl_tally_add(dst, src->key[i], src->len[i], src->count[i]);
	dst->other += src->other;
}
