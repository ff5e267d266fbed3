/*
 * topk.c: heavy hitters (sl_topk_*): exact counts while the distinct keys
 * fit, then Space-Saving, with mergeable summaries.
 *
 * Algorithm
 *   Space-Saving (Metwally, Agrawal, El Abbadi, "Efficient computation of
 *   frequent and top-k elements in data streams", ICDT 2005), weighted: m
 *   counters; a monitored key's count grows by w; a new key, when all m
 *   counters are taken, evicts the key with the smallest count c and takes
 *   count c + w and error c. Until the first eviction every key seen has its
 *   own counter, the counts are exact and every error is 0 (is_exact).
 *
 *   Merging follows Agarwal, Cormode, Huang, Phillips, Wei, Yi, "Mergeable
 *   summaries" (PODS 2012) in its Space-Saving form: a key's merged count is
 *   its count in each summary, where a key a summary does not hold counts as
 *   that summary's floor (below); then the m largest are kept.
 *
 * The floor
 *   `floor` is an upper bound on the true count of any key the summary does
 *   not hold: 0 while exact, the count of the last evicted key after an
 *   eviction (the evicted key was the minimum, so every key counted so far
 *   outside the table is at most that), and after a merge the larger of
 *   floor_a + floor_b and the largest merged count that was dropped. Every
 *   held count is >= floor. A new key that finds a free counter while the
 *   summary is not exact takes count floor + w and error floor.
 *
 * Guarantees (N = total weight, m = capacity)
 *   (1) every held key: count - error <= true count <= count.
 *   (2) every key not held: true count <= floor.
 *   (3) floor <= N / m, so every key with true count > N / m is held.
 *   (1) and (2) are kept by every step above: a merged count adds upper
 *   bounds (a held count, or the other side's floor) and its error adds the
 *   matching slack, so count - error is a sum of lower bounds. For (3) the
 *   invariant is
 *       I:  sum of held counts + (m - held) * floor <= N
 *   (empty counters count as floor), which implies m * floor <= N because
 *   every held count is >= floor. An increment and a Space-Saving eviction
 *   add w to both sides. A merge: write a held count as floor + g with g >= 0;
 *   by I, sum g_a <= N_a - m_a floor_a. Every merged candidate is floor_a +
 *   floor_b + g_a + g_b, so the m kept sum to at most m (floor_a + floor_b) +
 *   N_a - m_a floor_a + N_b - m_b floor_b, which is <= N_a + N_b when m_a = m
 *   and m_b >= m (or src is exact: floor_b = 0); the new floor, if some
 *   candidate was dropped, is at most the smallest kept count, so I holds.
 *   When src was built with a SMALLER capacity and is not exact, (3) weakens
 *   to floor <= N_dst / m_dst + N_src / m_src (same algebra): merge sketches
 *   of equal budgets to keep the N / m promise.
 *   Merge in place: (a) each src key found in dst adds its count and error
 *   and marks the dst counter; (b) unmarked dst counters add src's floor;
 *   (c) the heap is rebuilt; (d) each src key not in dst becomes a candidate
 *   floor_dst + count_src, placed in a free counter or evicting dst's
 *   minimum when larger (else dropped). The minimum only rises in (d), so a
 *   src key whose dst counter was evicted in (d) is dropped again rather than
 *   counted twice. Only dst's fixed arrays are touched: no allocation.
 *
 * Keys
 *   A key is identified by (64-bit hash, length) and its stored bytes: keys
 *   with equal hashes but different bytes (within the stored prefix) get
 *   separate counters. At most SL_TOPK_VALUE_MAX bytes are stored; a longer
 *   key, or one that the key arena cannot hold whole, keeps a prefix and is
 *   listed with truncated = true, but is still counted under its full hash
 *   and length. Lengths are kept as 32 bits (saturating). Correctness does
 *   not depend on the hash being sl_hash(key): any hash that is a function
 *   of the key works (the tests feed deliberately colliding ones); only
 *   speed does. A weight of 0 is ignored. A row's max_error is that key's
 *   own error, 0 for a key counted since before the first eviction.
 *   Listing needs no memory: the caller's rows serve as a heap of the best
 *   n so far, then are heap-sorted (O(m log n)).
 *
 * Memory (one block from the budget at creation; adds and merges never
 * allocate, so they never fail)
 *   struct sl_topk
 *   slots[m]     40 bytes: hash, count, error, len, arena offset, heap
 *                position, stored length, merge mark
 *   index[P]     P = a power of two >= 2m; 8 bytes per entry: high 32 bits
 *                of the hash | slot + 1 (0 = empty); linear probing from
 *                hash & (P - 1), deletion by backward shift (no tombstones).
 *                A probe usually reads one index line, then confirms on the
 *                slot's hash, length and bytes.
 *   heap[m]      4 bytes: slot numbers, a binary min-heap by count. It is
 *                kept only once the table is not exact (built at the first
 *                eviction), so exact-mode adds touch no heap.
 *   arena        the rest: records [u32 slot][u16 stored][stored bytes],
 *                appended. A record is live when its slot still points at
 *                it. When an append does not fit, the arena is compacted in
 *                place by one walk that slides live records down. Live bytes
 *                are held to 7/8 of the arena, so a compaction frees at least
 *                1/8 and the copying is amortized O(1) per stored byte.
 *                Those 7/8 are split so long keys cannot starve the others:
 *                half is reserved so that every key may store `share` =
 *                (7/8 arena) / 2m - 6 bytes (24 under the cost model below,
 *                more when the budget leaves a larger arena); bytes beyond a
 *                key's share come from the other half, first come first
 *                served, and a key that finds it spent is stored shorter
 *                (listed as truncated).
 *   Cost model: m is the largest count with
 *       sizeof(struct) + 8 P + m (40 + 4 + 6 + 64) <= max_bytes, m <= P / 2
 *   over powers of two P: 114 bytes per key plus 16..32 of index, where 64
 *   bytes is the allowance for an average stored key. Every byte left over
 *   goes to the arena (capped at what m keys of SL_TOPK_VALUE_MAX bytes could
 *   use). m < 16 -> sl_topk_new returns NULL.
 */
#include "sluice.h"

#include <string.h>

#define HDR 6			/* arena record header: u32 slot, u16 stored */
#define KEY_ALLOWANCE 64	/* average stored key bytes budgeted per key */
#define MIN_KEYS 16
#define FP_MASK 0xffffffff00000000ULL
#define MAX_KEYS ((uint32_t)1 << 30)

struct slot {
	uint64_t hash;
	uint64_t count;
	uint64_t error;
	uint32_t len;		/* full key length, saturated at 2^32 - 1 */
	uint32_t off;		/* key bytes in the arena; 0: nothing stored */
	uint32_t pos;		/* position in the heap */
	uint16_t stored;	/* bytes stored at off */
	uint8_t mark;		/* merge scratch */
};

#define PER_KEY (sizeof(struct slot) + sizeof(uint32_t) + HDR + KEY_ALLOWANCE)

struct sl_topk {
	struct slot *slots;
	uint64_t *index;
	uint32_t *heap;
	char *arena;
	uint64_t mask;		/* index entries - 1 */
	uint32_t m;		/* capacity */
	uint32_t n;		/* slots in use */
	size_t arena_size;
	size_t arena_used;	/* end of the last record */
	size_t arena_live;	/* bytes of live records */
	size_t share;		/* key bytes every key may store */
	size_t excess_live;	/* stored bytes beyond `share`, all keys */
	size_t excess_max;	/* the most excess_live may reach */
	uint64_t total;		/* N */
	uint64_t floor;		/* bound on any key not held */
	bool exact;
	sl_budget *budget;
	size_t bytes;		/* the block's size */
};

/* ---- heap: min by count, heap[i] = slot, slots[heap[i]].pos = i ---- */

static void heap_set(sl_topk *t, uint32_t i, uint32_t s)
{
	t->heap[i] = s;
	t->slots[s].pos = i;
}

static void sift_down(sl_topk *t, uint32_t i)
{
	uint32_t n = t->n, s = t->heap[i];
	uint64_t c = t->slots[s].count;
	for (;;) {
		uint32_t l = 2 * i + 1;
		if (l >= n)
			break;
		uint32_t best = l;
		uint64_t bc = t->slots[t->heap[l]].count;
		if (l + 1 < n) {
			uint64_t rc = t->slots[t->heap[l + 1]].count;
			if (rc < bc) {
				best = l + 1;
				bc = rc;
			}
		}
		if (c <= bc)
			break;
		heap_set(t, i, t->heap[best]);
		i = best;
	}
	heap_set(t, i, s);
}

static void sift_up(sl_topk *t, uint32_t i)
{
	uint32_t s = t->heap[i];
	uint64_t c = t->slots[s].count;
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (t->slots[t->heap[p]].count <= c)
			break;
		heap_set(t, i, t->heap[p]);
		i = p;
	}
	heap_set(t, i, s);
}

static void heapify(sl_topk *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		heap_set(t, i, i);
	for (uint32_t i = t->n / 2; i-- > 0;)
		sift_down(t, i);
}

/* ---- index ---- */

static void index_insert(sl_topk *t, uint32_t s)
{
	uint64_t h = t->slots[s].hash;
	size_t i = h & t->mask;
	while (t->index[i])
		i = (i + 1) & t->mask;
	t->index[i] = (h & FP_MASK) | ((uint64_t)s + 1);
}

/* Removes slot s's entry and shifts later entries of its run back, so that
 * every entry stays reachable from its home without tombstones. */
static void index_remove(sl_topk *t, uint32_t s)
{
	uint64_t mask = t->mask, want = (t->slots[s].hash & FP_MASK) | ((uint64_t)s + 1);
	size_t i = t->slots[s].hash & mask;
	while (t->index[i] != want)
		i = (i + 1) & mask;
	for (size_t j = i;;) {
		j = (j + 1) & mask;
		uint64_t e = t->index[j];
		if (!e)
			break;
		size_t home = t->slots[(uint32_t)e - 1].hash & mask;
		/* e may fill the hole at i if i lies on its probe path home..j */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->index[i] = e;
			i = j;
		}
	}
	t->index[i] = 0;
}

/* The slot holding (hash, len) whose stored bytes agree with the first
 * nbytes of key on their common length, or NULL. */
static struct slot *find(const sl_topk *t, const char *key, size_t nbytes,
			 uint32_t len, uint64_t hash)
{
	uint64_t fp = hash & FP_MASK;
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		uint64_t e = t->index[i];
		if (!e)
			return NULL;
		if ((e & FP_MASK) != fp)
			continue;
		struct slot *s = &t->slots[(uint32_t)e - 1];
		size_t k = s->stored < nbytes ? s->stored : nbytes;
		if (s->hash == hash && s->len == len &&
		    (k == 0 || memcmp(t->arena + s->off, key, k) == 0))
			return s;
	}
}

/* ---- key arena ---- */

static void drop_key(sl_topk *t, struct slot *s)
{
	if (s->off)
		t->arena_live -= HDR + (size_t)s->stored;
	if (s->stored > t->share)
		t->excess_live -= s->stored - t->share;
	s->off = 0;
	s->stored = 0;
}

/* Slides live records to the front, in arena order. */
static void compact(sl_topk *t)
{
	size_t rd = 0, wr = 0;
	while (rd < t->arena_used) {
		uint32_t id;
		uint16_t len;
		memcpy(&id, t->arena + rd, 4);
		memcpy(&len, t->arena + rd + 4, 2);
		size_t rec = HDR + (size_t)len;
		if (id < t->n && t->slots[id].off == rd + HDR) {
			if (wr != rd)
				memmove(t->arena + wr, t->arena + rd, rec);
			t->slots[id].off = (uint32_t)(wr + HDR);
			wr += rec;
		}
		rd += rec;
	}
	t->arena_used = wr;
}

/* Stores up to SL_TOPK_VALUE_MAX bytes of key for slot s (which holds no
 * record): always up to `share` bytes, more while the excess pool lasts. */
static void store_key(sl_topk *t, uint32_t s, const char *key, size_t want)
{
	struct slot *sl = &t->slots[s];
	if (want > SL_TOPK_VALUE_MAX)
		want = SL_TOPK_VALUE_MAX;
	if (want > t->share) {
		size_t room = t->excess_max - t->excess_live;
		if (want - t->share > room)
			want = t->share + room;
		t->excess_live += want - t->share;
	}
	sl->off = 0;
	sl->stored = 0;
	if (want == 0)
		return;
	/* live <= m (HDR + share) + excess_max = 7/8 of the arena, so after a
	 * compaction the record fits */
	if (t->arena_used + HDR + want > t->arena_size)
		compact(t);
	uint16_t len16 = (uint16_t)want;
	char *p = t->arena + t->arena_used;
	memcpy(p, &s, 4);
	memcpy(p + 4, &len16, 2);
	memcpy(p + HDR, key, want);
	sl->off = (uint32_t)(t->arena_used + HDR);
	sl->stored = len16;
	t->arena_used += HDR + want;
	t->arena_live += HDR + want;
}

/* ---- creation ---- */

sl_topk *sl_topk_new(sl_budget *b, size_t max_bytes)
{
	size_t head = sizeof(struct sl_topk);
	size_t best_m = 0, best_p = 0;
	for (size_t p = 2 * MIN_KEYS; p <= ((size_t)MAX_KEYS << 1); p *= 2) {
		if (max_bytes <= head || (max_bytes - head) / 8 <= p)
			break;
		size_t m = (max_bytes - head - 8 * p) / PER_KEY;
		if (m > p / 2)
			m = p / 2;
		if (m > best_m) {
			best_m = m;
			best_p = p;
		}
	}
	if (best_m < MIN_KEYS)
		return NULL;
	size_t fixed = head + best_m * sizeof(struct slot) + 8 * best_p +
		       best_m * sizeof(uint32_t);
	size_t arena = max_bytes - fixed;
	size_t useful = best_m * (HDR + SL_TOPK_VALUE_MAX);
	if (arena > useful)
		arena = useful;
	if (arena > UINT32_MAX / 2)
		arena = UINT32_MAX / 2;
	char *block = sl_malloc(b, fixed + arena);
	if (!block)
		return NULL;
	sl_topk *t = (sl_topk *)(void *)block;
	memset(t, 0, sizeof *t);
	t->slots = (struct slot *)(void *)(block + head);
	t->index = (uint64_t *)(void *)(block + head + best_m * sizeof(struct slot));
	t->heap = (uint32_t *)(void *)(t->index + best_p);
	t->arena = (char *)(t->heap + best_m);
	memset(t->index, 0, 8 * best_p);
	t->mask = best_p - 1;
	t->m = (uint32_t)best_m;
	t->arena_size = arena;
	size_t limit = arena - arena / 8;
	t->share = limit / (2 * best_m) > HDR ? limit / (2 * best_m) - HDR : 0;
	if (t->share > SL_TOPK_VALUE_MAX)
		t->share = SL_TOPK_VALUE_MAX;
	t->excess_max = limit - best_m * (HDR + t->share);
	t->exact = true;
	t->budget = b;
	t->bytes = fixed + arena;
	return t;
}

void sl_topk_free(sl_topk *t)
{
	if (t)
		sl_free(t->budget, t, t->bytes);
}

/* ---- adds ---- */

/* Gives key a counter: a free one (count floor + w), or the minimum's. */
static void add_new(sl_topk *t, const char *key, size_t len, uint32_t len32,
		    uint64_t hash, uint64_t w)
{
	uint32_t s;
	uint64_t base;
	bool evicted = false;
	if (t->n < t->m) {
		s = t->n++;
		base = t->floor;
		t->slots[s].off = 0;
		t->slots[s].stored = 0;
		t->slots[s].mark = 0;
	} else {
		if (t->exact) {
			t->exact = false;
			heapify(t);
		}
		s = t->heap[0];
		base = t->slots[s].count;
		if (base > t->floor)
			t->floor = base;
		index_remove(t, s);
		drop_key(t, &t->slots[s]);
		evicted = true;
	}
	struct slot *sl = &t->slots[s];
	sl->hash = hash;
	sl->len = len32;
	sl->count = base + w;
	sl->error = base;
	store_key(t, s, key, len);
	index_insert(t, s);
	if (evicted) {
		sift_down(t, 0);
	} else {
		heap_set(t, s, s);
		if (!t->exact)
			sift_up(t, s);
	}
}

void sl_topk_add(sl_topk *t, const char *key, size_t len, uint64_t hash,
		 uint64_t w)
{
	if (w == 0)
		return;
	t->total += w;
	uint32_t len32 = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	uint64_t fp = hash & FP_MASK;
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		uint64_t e = t->index[i];
		if (!e)
			break;
		if ((e & FP_MASK) != fp)
			continue;
		struct slot *s = &t->slots[(uint32_t)e - 1];
		if (s->hash == hash && s->len == len32 &&
		    (s->stored == 0 || memcmp(t->arena + s->off, key, s->stored) == 0)) {
			s->count += w;
			if (!t->exact)
				sift_down(t, s->pos);
			return;
		}
	}
	add_new(t, key, len, len32, hash, w);
}

/* ---- merge ---- */

sl_status sl_topk_merge(sl_topk *dst, const sl_topk *src)
{
	uint64_t floor_a = dst->floor, floor_b = src->floor;
	uint64_t total_b = src->total;
	uint32_t n_a = dst->n, n_b = src->n;
	bool exact = dst->exact && src->exact, lost = false;
	uint64_t dropped = 0;

	/* (a) keys held by both */
	for (uint32_t i = 0; i < n_b; i++) {
		const struct slot *b = &src->slots[i];
		struct slot *a = find(dst, src->arena + b->off, b->stored, b->len, b->hash);
		if (a) {
			a->count += b->count;
			a->error += b->error;
			a->mark = 1;
		}
	}
	/* (b) dst keys src does not hold: src's floor bounds their count there */
	for (uint32_t i = 0; i < n_a; i++) {
		struct slot *a = &dst->slots[i];
		if (!a->mark) {
			a->count += floor_b;
			a->error += floor_b;
		}
	}
	/* (c) */
	heapify(dst);
	/* (d) src keys dst does not hold: dst's floor bounds their count there */
	for (uint32_t i = 0; i < n_b; i++) {
		const struct slot *b = &src->slots[i];
		const char *key = src->arena + b->off;
		struct slot *a = find(dst, key, b->stored, b->len, b->hash);
		if (a) {
			if (!a->mark) {	/* agrees with a key placed in (d) */
				a->count += b->count;
				a->error += b->error;
				sift_down(dst, a->pos);
			}
			continue;
		}
		uint64_t c = floor_a + b->count, e = floor_a + b->error;
		uint32_t s;
		bool fresh = dst->n < dst->m;
		if (fresh) {
			s = dst->n++;
			dst->slots[s].off = 0;
		} else {
			s = dst->heap[0];
			uint64_t min = dst->slots[s].count;
			lost = true;
			if (c <= min) {
				if (c > dropped)
					dropped = c;
				continue;
			}
			if (min > dropped)
				dropped = min;
			index_remove(dst, s);
			drop_key(dst, &dst->slots[s]);
		}
		struct slot *sl = &dst->slots[s];
		sl->hash = b->hash;
		sl->len = b->len;
		sl->count = c;
		sl->error = e;
		sl->mark = 0;
		store_key(dst, s, key, b->stored);
		index_insert(dst, s);
		if (fresh) {
			heap_set(dst, s, s);
			sift_up(dst, s);
		} else {
			sift_down(dst, 0);
		}
	}
	for (uint32_t i = 0; i < dst->n; i++)
		dst->slots[i].mark = 0;
	dst->total += total_b;
	dst->exact = exact && !lost;
	if (!dst->exact) {
		dst->floor = floor_a + floor_b;
		if (dropped > dst->floor)
			dst->floor = dropped;
	}
	return SL_OK;
}

/* ---- listing ---- */

/* Does row a come after row b: count descending, then bytes ascending,
 * then the shorter first? */
static bool after(const sl_topk_row *a, const sl_topk_row *b)
{
	if (a->count != b->count)
		return a->count < b->count;
	size_t k = a->len < b->len ? a->len : b->len;
	int c = k ? memcmp(a->value, b->value, k) : 0;
	if (c)
		return c > 0;
	return a->len > b->len;
}

/* rows[0..n) as a heap with the row that comes last at the root. */
static void rows_sift(sl_topk_row *rows, size_t n, size_t i)
{
	sl_topk_row r = rows[i];
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= n)
			break;
		if (l + 1 < n && after(&rows[l + 1], &rows[l]))
			l++;
		if (!after(&rows[l], &r))
			break;
		rows[i] = rows[l];
		i = l;
	}
	rows[i] = r;
}

/* Keeps the best n rows in the caller's array, used as a heap whose root is
 * the worst kept row, then heap-sorts them: no memory besides `rows`. */
size_t sl_topk_list(const sl_topk *t, sl_topk_row *rows, size_t n)
{
	size_t k = 0;
	if (!rows || n == 0)
		return 0;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct slot *s = &t->slots[i];
		sl_topk_row r = {
			.value = t->arena + s->off,
			.len = s->stored,
			.count = s->count,
			.max_error = s->error,
			.truncated = s->stored < s->len,
		};
		if (k < n) {
			size_t j = k++;
			while (j > 0 && after(&r, &rows[(j - 1) / 2])) {
				rows[j] = rows[(j - 1) / 2];
				j = (j - 1) / 2;
			}
			rows[j] = r;
		} else if (after(&rows[0], &r)) {
			rows[0] = r;
			rows_sift(rows, k, 0);
		}
	}
	for (size_t end = k; end > 1; end--) {
		sl_topk_row r = rows[0];
		rows[0] = rows[end - 1];
		rows[end - 1] = r;
		rows_sift(rows, end - 1, 0);
	}
	return k;
}

uint64_t sl_topk_total(const sl_topk *t)
{
	return t->total;
}

size_t sl_topk_capacity(const sl_topk *t)
{
	return t->m;
}

bool sl_topk_is_exact(const sl_topk *t)
{
	return t->exact;
}
