/*
 * test_hostile_topk.c: the hostile suite's top-list case (issue 12, item
 * 4, found while making the top list's index denser).
 *
 *  issue12_every_index_chunk_passed   a lookup in the top list's index
 *      goes on to the next chunk while the chunk's `over` count (entries
 *      that found it full and were placed further on) is not 0. Hashes
 *      chosen by the caller (the library takes any hash that is a function
 *      of the key) can leave every chunk with such an entry at once: on a
 *      table of 16 counters (4 chunks of 7 lanes), light keys fill a chunk,
 *      one heavy key passes it, and Space-Saving evicts the light keys but
 *      not the heavy ones, chunk after chunk round the ring. A lookup of
 *      any absent key then went round forever (the old code hangs in the
 *      first add after the setup); it must end after one round, and the
 *      table must go on counting within its guarantees.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* A hash whose home chunk is c both for a power-of-two index of 4 chunks
 * (low bits & 3) and for a multiply-shift over 4 chunks (low 32 bits * 4
 * >> 32), with a distinct tag (high 32 bits) per key. */
static uint64_t homed(unsigned c, unsigned id)
{
	uint32_t low = (uint32_t)c << 30 | c;
	return (uint64_t)(0x9E3779B9u * (id + 1)) << 32 | low;
}

typedef struct {
	char key[16];
	size_t len;
	uint64_t hash, truth;
} item;

static item items[64];
static unsigned nitems;

static void add(sl_topk *t, unsigned chunk, uint64_t w)
{
	item *it = &items[nitems];
	it->len = (size_t)snprintf(it->key, sizeof it->key, "k%u", nitems);
	it->hash = homed(chunk, nitems);
	it->truth = w;
	nitems++;
	sl_topk_add(t, it->key, it->len, it->hash, w);
}

static void issue12_every_index_chunk_passed(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	/* the smallest table: 16 counters */
	sl_topk *t = NULL;
	for (size_t bytes = 1024; !t; bytes += 8)
		t = sl_topk_new(&b, bytes);
	nitems = 0;
	/* exact phase, 16 keys: chunk 0 full of light keys, a heavy one
	 * passes it; chunk 1 full (the heavy one and 6 light), a heavy one
	 * passes it; one key at chunk 2 */
	for (int i = 0; i < 7; i++)
		add(t, 0, 1);
	add(t, 0, 1000);
	for (int i = 0; i < 6; i++)
		add(t, 1, 1);
	add(t, 1, 1000);
	add(t, 2, 100);
	assert_int_equal(sl_topk_capacity(t), 16);
	/* Space-Saving: each new key (weight 100 or more) evicts a light
	 * key; chunk 2 fills, a heavy key passes it; chunk 3 fills, a heavy
	 * key passes it into chunk 0. Then every chunk is passed by a heavy
	 * key that stays. */
	for (int i = 0; i < 5; i++)
		add(t, 2, 100);
	add(t, 2, 1000);
	for (int i = 0; i < 6; i++)
		add(t, 3, 100);
	add(t, 3, 1000);
	assert_false(sl_topk_is_exact(t));
	/* absent keys, at every home: each lookup must end */
	for (unsigned c = 0; c < 4; c++)
		add(t, c, 1);
	sl_topk_row rows[16];
	size_t k = sl_topk_list(t, rows, 16);
	assert_int_equal(k, 16);
	uint64_t n = 0;
	for (unsigned i = 0; i < nitems; i++)
		n += items[i].truth;
	assert_int_equal(sl_topk_total(t), n);
	for (size_t r = 0; r < k; r++) {
		unsigned id = 0;
		assert_int_equal(sscanf(rows[r].value, "k%u", &id), 1);
		assert_true(id < nitems);
		assert_true(rows[r].count >= items[id].truth);
		assert_true(rows[r].count - rows[r].max_error <= items[id].truth);
	}
	/* the four heavy keys (1000 each, more than N / m) are listed first */
	for (size_t r = 0; r < 4; r++)
		assert_true(rows[r].count >= 1000);
	sl_topk_free(t);
	assert_int_equal(b.used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(issue12_every_index_chunk_passed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
