/* test_tally.c: sl_tally against a naive list of every key with its exact
 * count: the first SL_TALLY_MAX keys that fit are kept exactly, everything
 * else lands in `other`, totals are always exact, and merges add key by key. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* The naive reference: every distinct key, in order of its first nonzero
 * weight. */
#define NAIVE_MAX 256
typedef struct {
	size_t n;
	char key[NAIVE_MAX][40];
	size_t len[NAIVE_MAX];
	uint64_t count[NAIVE_MAX];
	uint64_t total;
} naive;

static void naive_add(naive *r, const char *key, size_t len, uint64_t w)
{
	r->total += w;
	for (size_t i = 0; i < r->n; i++)
		if (r->len[i] == len && memcmp(r->key[i], key, len) == 0) {
			r->count[i] += w;
			return;
		}
	if (w == 0)
		return;
	assert_true(r->n < NAIVE_MAX && len < 40);
	memcpy(r->key[r->n], key, len);
	r->len[r->n] = len;
	r->count[r->n++] = w;
}

static uint64_t tally_get(const sl_tally *t, const char *key, size_t len, bool *found)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->len[i] == len && memcmp(t->key[i], key, len) == 0) {
			*found = true;
			return t->count[i];
		}
	*found = false;
	return 0;
}

/*
 * Does t equal what a tally must hold after the stream summarized by r:
 * keys = the first SL_TALLY_MAX distinct keys of <= SL_TALLY_KEY_MAX bytes
 * with a nonzero weight, in arrival order, with exact counts; other = the rest.
 * Returns false (no assertion) so that a wrong tally can be shown to fail.
 */
static bool tally_matches(const sl_tally *t, const naive *r)
{
	uint32_t k = 0;
	uint64_t other = 0, sum = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->len[i] <= SL_TALLY_KEY_MAX && k < SL_TALLY_MAX) {
			if (k >= t->n || t->len[k] != r->len[i] ||
			    memcmp(t->key[k], r->key[i], r->len[i]) != 0 ||
			    t->key[k][r->len[i]] != '\0' || t->count[k] != r->count[i])
				return false;
			k++;
		} else {
			other += r->count[i];
		}
	}
	for (uint32_t i = 0; i < t->n; i++)
		sum += t->count[i];
	return k == t->n && t->other == other && sum + t->other == r->total;
}

/* Key j of a pool: lengths 0..34, some longer than SL_TALLY_KEY_MAX. */
static size_t pool_key(unsigned j, char *buf)
{
	size_t len = (j * 7u) % 35u;
	int p = snprintf(buf, 40, "%u/", j);
	for (size_t i = (size_t)p; i < len; i++)
		buf[i] = (char)('a' + (j + i) % 26);
	return len < (size_t)p ? (size_t)p : len;
}

static void feed(sl_tally *t, naive *r, tu_rng *rng, unsigned pool, int items)
{
	char buf[40];
	for (int i = 0; i < items; i++) {
		unsigned j = (unsigned)tu_below(rng, pool);
		size_t len = pool_key(j, buf);
		uint64_t w = tu_below(rng, 4); /* includes 0 */
		sl_tally_add(t, buf, len, w);
		naive_add(r, buf, len, w);
	}
}

static void small_domain_exact(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("tally_small", 11)};
	sl_tally t;
	naive r;
	memset(&t, 0, sizeof t);
	memset(&r, 0, sizeof r);
	const char *methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "", "OPTIONS"};
	for (int i = 0; i < 5000; i++) {
		const char *m = methods[tu_below(&rng, 7)];
		uint64_t w = 1 + tu_below(&rng, 3);
		sl_tally_add(&t, m, strlen(m), w);
		naive_add(&r, m, strlen(m), w);
	}
	assert_true(tally_matches(&t, &r));
	assert_int_equal(t.other, 0);
	assert_int_equal(t.n, 7);
	bool found;
	uint64_t empty = 0;
	for (size_t i = 0; i < r.n; i++)
		if (r.len[i] == 0)
			empty = r.count[i];
	assert_true(empty > 0);
	assert_int_equal(tally_get(&t, "", 0, &found), empty);
	assert_true(found);
}

static void overflow_into_other(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("tally_overflow", 12)};
	for (int round = 0; round < 20; round++) {
		sl_tally t;
		naive r;
		memset(&t, 0, sizeof t);
		memset(&r, 0, sizeof r);
		feed(&t, &r, &rng, 40 + (unsigned)round * 5, 3000);
		assert_true(tally_matches(&t, &r));
		assert_int_equal(t.n, SL_TALLY_MAX);
		assert_true(t.other > 0);
	}
	/* a key of exactly SL_TALLY_KEY_MAX bytes fits, one more does not */
	sl_tally t;
	memset(&t, 0, sizeof t);
	char k[SL_TALLY_KEY_MAX + 1];
	memset(k, 'x', sizeof k);
	sl_tally_add(&t, k, SL_TALLY_KEY_MAX, 2);
	sl_tally_add(&t, k, SL_TALLY_KEY_MAX + 1, 3);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.count[0], 2);
	assert_int_equal(t.other, 3);
	assert_int_equal(strlen(t.key[0]), SL_TALLY_KEY_MAX);
}

/* Keys of every length that differ in exactly one byte, at every position,
 * are distinct keys (the compare is done with overlapping word loads). The
 * key is placed so that it ends a buffer: no read may pass its end. */
static void every_byte_counts(void **state)
{
	(void)state;
	for (size_t len = 1; len <= SL_TALLY_KEY_MAX; len++) {
		for (size_t pos = 0; pos < len; pos++) {
			sl_tally t;
			naive r;
			memset(&t, 0, sizeof t);
			memset(&r, 0, sizeof r);
			char a[SL_TALLY_KEY_MAX], b[SL_TALLY_KEY_MAX];
			char *ka = a + sizeof a - len, *kb = b + sizeof b - len;
			for (size_t i = 0; i < len; i++)
				ka[i] = kb[i] = (char)('a' + (i * 7 + len) % 26);
			kb[pos] ^= 0x20;
			sl_tally_add(&t, ka, len, 1);
			naive_add(&r, ka, len, 1);
			sl_tally_add(&t, kb, len, 2);
			naive_add(&r, kb, len, 2);
			sl_tally_add(&t, ka, len, 4);
			naive_add(&r, ka, len, 4);
			assert_true(tally_matches(&t, &r));
			assert_int_equal(t.n, 2);
			assert_int_equal(t.count[0], 5);
			assert_int_equal(t.count[1], 2);
		}
	}
}

static void merge_adds_key_by_key(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("tally_merge", 13)};
	for (int round = 0; round < 40; round++) {
		sl_tally a, b, a0;
		naive ra, rb, rab;
		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		memset(&ra, 0, sizeof ra);
		memset(&rb, 0, sizeof rb);
		memset(&rab, 0, sizeof rab);
		/* small pools: the union fits and the merge must be exact */
		unsigned pool = round < 20 ? 20 : 60;
		feed(&a, &ra, &rng, pool, 500);
		feed(&b, &rb, &rng, pool, 500);
		a0 = a;
		sl_tally_merge(&a, &b);
		/* the union, keys in first-nonzero-arrival order */
		for (size_t i = 0; i < ra.n; i++)
			naive_add(&rab, ra.key[i], ra.len[i], ra.count[i]);
		for (size_t i = 0; i < rb.n; i++)
			naive_add(&rab, rb.key[i], rb.len[i], rb.count[i]);
		uint64_t sum = a.other;
		for (uint32_t i = 0; i < a.n; i++)
			sum += a.count[i];
		assert_int_equal(sum, ra.total + rb.total);
		if (round < 20) {
			/* pool 20 has at most 20 keys, <= SL_TALLY_MAX: exact union */
			assert_true(tally_matches(&a, &rab));
		}
		/* key by key: dst's count = its count in a + its count in b */
		for (uint32_t i = 0; i < a.n; i++) {
			bool fa, fb;
			uint64_t ca = tally_get(&a0, a.key[i], a.len[i], &fa);
			uint64_t cb = tally_get(&b, a.key[i], a.len[i], &fb);
			assert_true(fa || fb);
			assert_int_equal(a.count[i], ca + cb);
		}
		/* a's keys keep their places */
		for (uint32_t i = 0; i < a0.n; i++)
			assert_memory_equal(a.key[i], a0.key[i], SL_TALLY_KEY_MAX + 1);
		/* a key of b that found no room went to other */
		uint64_t lost = 0;
		for (uint32_t i = 0; i < b.n; i++) {
			bool f;
			tally_get(&a, b.key[i], b.len[i], &f);
			if (!f)
				lost += b.count[i];
		}
		assert_int_equal(a.other, a0.other + b.other + lost);
	}
	/* merging into itself doubles */
	sl_tally t;
	memset(&t, 0, sizeof t);
	sl_tally_add(&t, "GET", 3, 5);
	sl_tally_add(&t, "0123456789012345678901234", 25, 4);
	sl_tally_merge(&t, &t);
	assert_int_equal(t.count[0], 10);
	assert_int_equal(t.other, 8);
}

static void checker_can_fail(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("tally_checker", 14)};
	sl_tally t;
	naive r;
	memset(&t, 0, sizeof t);
	memset(&r, 0, sizeof r);
	feed(&t, &r, &rng, 60, 2000);
	assert_true(tally_matches(&t, &r));
	sl_tally bad = t;
	bad.count[3]++;
	assert_false(tally_matches(&bad, &r));
	bad = t;
	bad.other--;
	assert_false(tally_matches(&bad, &r));
	bad = t;
	bad.key[5][0] ^= 1;
	assert_false(tally_matches(&bad, &r));
	bad = t;
	bad.n--;
	assert_false(tally_matches(&bad, &r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_domain_exact),
		cmocka_unit_test(overflow_into_other),
		cmocka_unit_test(every_byte_counts),
		cmocka_unit_test(merge_adds_key_by_key),
		cmocka_unit_test(checker_can_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
