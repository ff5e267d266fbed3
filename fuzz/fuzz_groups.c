/*
 * fuzz_groups.c: libFuzzer target for the group-by sketch's decoder
 * (sl_groups_load, lib/sketch/groups.c).
 *
 * Loads the input into an empty table of 1 MiB (capacity 122) in a 4 MiB
 * budget: a file of another capacity is restored at its own and merged in,
 * so both load paths run. A rejected input must come with a reason and give
 * every byte back. An accepted one is encoded, loaded again into a fresh
 * table (which must accept it whole) and encoded again: the two encodings
 * must be the same bytes (a loaded table of the same capacity is restored
 * as it was saved). Then the two tables are merged (SL_ENOMEM is allowed:
 * the merge holds both), and every budget must return to zero.
 *
 * Build and run: scripts/fuzz.sh fuzz_groups (corpus in
 * fuzz/corpus/fuzz_groups: encodings of exact, degraded and long-key tables).
 */
#include "sluice.h"
#include "core/wire.h"

#include <stdlib.h>
#include <string.h>

#define TABLE ((size_t)1 << 20)
#define BUDGET ((size_t)4 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(const sl_groups *g, sl_budget *b, sl_wire_writer *w)
{
	sl_wire_init(w, b, false);
	sl_groups_encode(g, w);
	if (w->failed || !w->buf)
		abort(); /* a loaded table must encode in 64 MiB */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_budget a, c, d;
	sl_budget_init(&a, BUDGET);
	sl_budget_init(&c, (size_t)64 << 20);
	sl_budget_init(&d, BUDGET);
	sl_groups *g = sl_groups_new(&a, TABLE);
	if (!g)
		abort();
	sl_wire_reader r;
	sl_wire_reader_init(&r, data, size);
	const char *why = NULL;
	if (sl_groups_load(g, &r, &why) != SL_OK) {
		if (!why)
			abort();
		sl_groups_free(g);
		if (a.used)
			abort();
		return 0;
	}
	sl_wire_writer e1, e2;
	encode(g, &c, &e1);
	sl_groups *h = sl_groups_new(&d, TABLE);
	if (!h)
		abort();
	sl_wire_reader_init(&r, e1.buf, e1.len);
	if (sl_groups_load(h, &r, &why) != SL_OK || r.left)
		abort(); /* what we wrote must read back whole */
	encode(h, &c, &e2);
	if (e1.len != e2.len || memcmp(e1.buf, e2.buf, e1.len))
		abort(); /* and encode to the same bytes */
	sl_wire_release(&e1);
	sl_wire_release(&e2);
	sl_status st = sl_groups_merge(g, h);
	if (st != SL_OK && st != SL_ENOMEM)
		abort();
	sl_groups_free(h);
	sl_groups_free(g);
	if (a.used || c.used || d.used)
		abort();
	return 0;
}
