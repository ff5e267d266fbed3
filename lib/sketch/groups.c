/*
 * groups.c: the group-by sketch (sl_groups_*) behind `--by FIELD`: the
 * largest groups of a key, found with Space-Saving, each with small
 * sketches of its own records.
 *
 * Algorithm
 *   Space-Saving (Metwally, Agrawal, El Abbadi, ICDT 2005) over the group
 *   key, with weight 1 per record: m counters; a held group's count grows
 *   by 1; a new group, while a counter is free, takes count floor + 1 and
 *   max_error floor (floor is 0 until the first eviction, so such a group
 *   is exact); when all m are taken it evicts the group of smallest count
 *   c, takes count c + 1 and max_error c, and floor becomes c. Merging
 *   follows Agarwal, Cormode, Huang, Phillips, Wei, Yi, "Mergeable
 *   summaries" (PODS 2012), as lib/sketch/topk.c does: a group one side lacks
 *   counts that side's floor, the m largest are kept, and the new floor is
 *   the larger of floor_a + floor_b and the largest count dropped.
 *
 *   Each group carries, created when its first record needs them:
 *     visitors      sl_distinct of max_bytes 4 * sl_hll_bytes(10) (2,592):
 *                   an exact set of visitor hashes up to 96 of them, then
 *                   an HLL at p = SL_GROUPS_VISITORS_P (HIP, 2.6% standard
 *                   error; Ertl's 3.3% once merged). sl_distinct rather
 *                   than a bare sl_hll because it starts at 856 bytes and is
 *                   exact for the small groups that are most of them.
 *     request_time  sl_relq of SL_GROUPS_RT_BUCKETS = 256 cells at alpha =
 *                   SL_GROUPS_RT_ALPHA = 0.02 (2,336 bytes): exact for up to
 *                   256 values, then within 2% of the value over a span
 *                   max/min of about 28,000 (1 ms .. 28 s); below that span
 *                   the lowest quantiles lose the bound (sl_relq_bounded),
 *                   never the upper ones.
 *     paths         sl_topk of SL_GROUPS_PATHS_BYTES = 3,072 bytes: exact up
 *                   to about 24 paths, then Space-Saving over 19 counters.
 *   and the exact sum of its records' bytes.
 *
 * Guarantees (N records added, m = sl_groups_capacity, for every listed row)
 *   (1) count - max_error <= true count <= count.
 *   (2) a group not listed has true count <= floor (sl_groups_floor), and
 *       floor <= N / m, so every group with true count > N / m is listed
 *       (for merges of tables of equal capacity; a src of smaller capacity
 *       weakens it to N_dst / m_dst + N_src / m_src, as in lib/sketch/topk.c).
 *   (3) records covered: the group's sketches and bytes have seen exactly
 *       count - max_error of its records, those since it was last
 *       (re)admitted; summed over merged parts. max_error 0 means all of
 *       them. `partial` is set when max_error > 0 or when a sketch could not
 *       be created (the budget refused it) or merged; a partial group's
 *       bytes are a lower bound, its visitors the visitors of the covered
 *       records (an estimate of a lower bound), its quantiles those of the
 *       covered records (no bound on the group's own quantiles: they are a
 *       sample, taken late), its top paths' count - max_error lower bounds
 *       of the paths' true counts (their upper bounds hold only for the
 *       covered records).
 *   While no group was evicted or dropped and none is partial
 *   (sl_groups_is_exact), every count and byte sum is exact and every
 *   sketch saw all of its group's records, so is exact while its own exact
 *   phase lasts (sl_distinct_is_exact, sl_relq_is_exact, sl_topk_is_exact).
 *   Answers depend on the input and its order only (one answer per input):
 *   ties for the minimum are broken by the heap below, which is a function
 *   of the sequence of counts, never of addresses or group ids.
 *
 * Structure
 *   grp[]    one struct group per counter (104 bytes): hash, count, error,
 *            bytes, full length, position in the heap, stored key length,
 *            partial flag, the key (inline up to 32 bytes, else a block of
 *            its own of up to SL_GROUPS_KEY_MAX bytes) and the three sketch
 *            pointers. Groups occupy ids 0 .. n-1.
 *   heap[]   a binary min-heap of ids by count: heap[0] is the next victim.
 *            An add raises a count by 1 and sifts it down (a leaf, for the
 *            heavy groups, costs one compare); a tie is never swapped.
 *   idx[]    open addressing with linear probing over ids + 1 (0: empty),
 *            a power of two >= 2 * cap slots, home (hash * golden) >> shift,
 *            backward-shift deletion (no tombstones).
 *   A key is identified by (hash, full length, stored bytes).
 *
 * Memory (memory is a cap, not a reservation)
 *   m is the largest count with sizeof(struct sl_groups) + m * PER_GROUP
 *   <= max_bytes, PER_GROUP = the largest a group's sketches get (2,592 +
 *   2,336 + 3,072) + SL_GROUPS_KEY_MAX + 2 * sizeof(struct group) + 8 (the
 *   heap entry twice) + 24 (index: up to 4 slots of 4 bytes, and the old
 *   index while it grows) + 48 (a merge's scratch per candidate): 8,538
 *   bytes, so 16 MiB holds 1,965 groups and 1 MiB 122. A group in use
 *   holds 104 bytes + its key past 32 bytes + 856 (visitors, up to 2,392
 *   while exact) + 2,336 (request times, if any) + 3,072 (paths): about
 *   6.4 KiB; an empty table 1,952 bytes. The arrays start at
 *   16 groups and double as groups arrive (never past m); sketches are made
 *   by a group's first record that needs them (a log without request times
 *   never makes a relq) and freed when the group is evicted, so a table of
 *   few groups holds little. Adds allocate only to grow the arrays or to
 *   make a group's sketches, and never fail: a refused array growth makes
 *   m the number held (the guarantees hold for that m), a refused sketch
 *   marks the group partial (and is tried again by its next record).
 *   Within max_bytes, in budget bytes, except: a merge with a src of more
 *   groups than dst's capacity takes scratch for the candidates beyond it
 *   (48 bytes each), and a load of a table of another capacity builds it
 *   at its own size before merging it in (as lib/sketch/topk.c does).
 *
 * Speed (one core of a shared 2-core VM, -O2, 3 million records with a
 * request time and a path each, skewed over the groups, max_bytes 4 MiB so
 * m = 491): 50 groups, no eviction, about 200 ns a record, nearly all of it
 * in the three sketches' adds; 10,000 groups, about 2 us a record, because
 * most records then evict a group and each eviction frees the victim's
 * three sketches and makes new ones (perf: memset, free, the top list's
 * index rebuild, malloc). An in-place reset of sl_topk, sl_relq and
 * sl_distinct (not in their modules yet) would let a victim's sketches be
 * reused and take most of that away.
 *
 * Serialized (lib/core/wire.h; docs/state-format.md, "groups")
 *   u8 layout (1) | u32 m | u64 N | u64 floor | u32 n | n groups, in heap
 *   position order:
 *     u64 hash | u32 len | u16 stored | stored key bytes | u64 count
 *     | u64 max_error | u64 bytes | u8 flags (1 partial, 2 visitors,
 *     4 request_time, 8 paths; no other bit) | the sketches flagged, in
 *     that order, each as its module encodes it (sl_distinct_encode,
 *     sl_relq_encode, sl_topk_encode)
 *   Checked: 4 <= m <= 2^24, n <= m and n records' minimum size left; per
 *   group stored = min(len, 256) or, when a long key's block was refused,
 *   32 <= stored < len; 1 <= count, floor <= count, error <= count,
 *   partial when error > 0, error 0 while floor is 0; no key twice;
 *   counts in heap order; a sketch's records within count - max_error
 *   (relq count, topk total, an exact visitor count); the sum of
 *   count - error <= N, and == N when floor is 0. Loading into an empty
 *   table of the same capacity restores it position by position (it then
 *   evicts exactly as the saved one would, and encodes to the same bytes);
 *   otherwise the table is restored at its own capacity and merged in.
 */
#include "sluice.h"
#include "core/wire.h"

#include <stdlib.h>
#include <string.h>

#define INLINE 32
#define FIRST 16		/* group slots of a new table */
#define MAX_GROUPS ((uint32_t)1 << 24)
#define NONE UINT32_MAX
#define MIX 0x9e3779b97f4a7c15ULL
#define LAYOUT 1

enum { F_PARTIAL = 1, F_VISITORS = 2, F_RT = 4, F_PATHS = 8, F_ALL = 15 };

struct group {
	uint64_t hash;
	uint64_t count;
	uint64_t error;
	uint64_t bytes;
	uint32_t len;		/* full key length, saturated at 2^32 - 1 */
	uint32_t pos;		/* its entry in heap[] */
	uint16_t stored;	/* key bytes kept: in k.inl if <= INLINE */
	uint8_t partial;
	union {
		char inl[INLINE];
		char *ptr;
	} k;
	sl_distinct *visitors;
	sl_relq *rt;
	sl_topk *paths;
};

/* a merge's candidate (scratch) */
struct cand {
	uint64_t count;
	uint64_t hash;
	const char *key;
	uint32_t len;
	uint32_t ref;		/* dst id, or src heap position */
	uint32_t order;		/* place in the candidate sequence */
	uint16_t stored;
	uint8_t from_src;
	uint8_t keep;
};

#define PER_GROUP_FIXED (2 * sizeof(struct group) + 2 * sizeof(uint32_t) + 24 + \
			 sizeof(struct cand) + SL_GROUPS_KEY_MAX)

struct sl_groups {
	sl_budget *budget;
	struct group *grp;
	uint32_t *heap;
	uint32_t *idx;
	uint32_t m;		/* capacity */
	uint32_t n;		/* groups held: ids 0 .. n-1 */
	uint32_t cap;		/* slots of grp[] and heap[]: the smaller */
	uint32_t grp_cap, heap_cap;
	uint32_t idx_cap;	/* a power of two */
	int shift;		/* 64 - log2(idx_cap) */
	uint64_t total;		/* N */
	uint64_t floor;
	size_t visitors_max;
	size_t visitors_fixed;	/* bytes of an sl_distinct besides its set */
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static size_t per_group(void)
{
	return PER_GROUP_FIXED + 4 * sl_hll_bytes(SL_GROUPS_VISITORS_P) +
	       sl_relq_bytes(SL_GROUPS_RT_BUCKETS) + SL_GROUPS_PATHS_BYTES;
}

static const char *key_of(const struct group *x)
{
	return x->stored <= INLINE ? x->k.inl : x->k.ptr;
}

/* ---- index ---- */

static inline uint32_t home(const sl_groups *g, uint64_t hash)
{
	return (uint32_t)((hash * MIX) >> g->shift);
}

/* Is x the key with this hash and full length whose first `avail` bytes
 * are at key? (Compared on the bytes both have.) */
static bool same(const struct group *x, const char *key, size_t avail, uint32_t len32,
		 uint64_t hash)
{
	size_t n = x->stored < avail ? x->stored : avail;
	return x->hash == hash && x->len == len32 && (n == 0 || memcmp(key_of(x), key, n) == 0);
}

static uint32_t find(const sl_groups *g, const char *key, size_t avail, uint32_t len32,
		     uint64_t hash)
{
	uint32_t mask = g->idx_cap - 1;
	for (uint32_t i = home(g, hash);; i = (i + 1) & mask) {
		uint32_t e = g->idx[i];
		if (!e)
			return NONE;
		if (same(&g->grp[e - 1], key, avail, len32, hash))
			return e - 1;
	}
}

static void index_insert(sl_groups *g, uint32_t id)
{
	uint32_t mask = g->idx_cap - 1, i = home(g, g->grp[id].hash);
	while (g->idx[i])
		i = (i + 1) & mask;
	g->idx[i] = id + 1;
}

static void index_remove(sl_groups *g, uint32_t id)
{
	uint32_t mask = g->idx_cap - 1, i = home(g, g->grp[id].hash);
	while (g->idx[i] != id + 1)
		i = (i + 1) & mask;
	g->idx[i] = 0;
	for (uint32_t j = (i + 1) & mask; g->idx[j]; j = (j + 1) & mask) {
		uint32_t k = home(g, g->grp[g->idx[j] - 1].hash);
		/* move j into the hole at i unless its home lies in (i, j] */
		bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
		if (!stays) {
			g->idx[i] = g->idx[j];
			g->idx[j] = 0;
			i = j;
		}
	}
}

static void index_rebuild(sl_groups *g)
{
	memset(g->idx, 0, (size_t)g->idx_cap * sizeof *g->idx);
	for (uint32_t id = 0; id < g->n; id++)
		index_insert(g, id);
}

/* Room for `want` groups (<= m): grp[], heap[] and an index of >= 2 * want
 * slots. False when the budget refuses (what grew stays grown; no content
 * changes). */
static bool reserve(sl_groups *g, uint32_t want)
{
	if (want <= g->cap)
		return true;
	if (want > g->m)
		return false;
	uint32_t cap = g->cap;
	while (cap < want)
		cap = cap > g->m / 2 ? g->m : cap * 2;
	uint32_t ic = g->idx_cap;
	while (ic < 2 * (uint64_t)cap)
		ic *= 2;
	if (ic != g->idx_cap) {
		uint32_t *idx = sl_calloc(g->budget, ic, sizeof *idx);
		if (!idx)
			return false;
		sl_free(g->budget, g->idx, (size_t)g->idx_cap * sizeof *g->idx);
		g->idx = idx;
		g->idx_cap = ic;
		g->shift = 64 - __builtin_ctz(ic);
		index_rebuild(g);
	}
	if (g->grp_cap < cap) {
		struct group *grp = sl_realloc(g->budget, g->grp, (size_t)g->grp_cap * sizeof *grp,
					       (size_t)cap * sizeof *grp);
		if (!grp)
			return false;
		g->grp = grp;
		g->grp_cap = cap;
	}
	if (g->heap_cap < cap) {
		uint32_t *heap = sl_realloc(g->budget, g->heap, (size_t)g->heap_cap * sizeof *heap,
					    (size_t)cap * sizeof *heap);
		if (!heap)
			return false;
		g->heap = heap;
		g->heap_cap = cap;
	}
	g->cap = cap;
	return true;
}

/* ---- heap ---- */

static inline void heap_put(sl_groups *g, uint32_t pos, uint32_t id)
{
	g->heap[pos] = id;
	g->grp[id].pos = pos;
}

static void sift_down(sl_groups *g, uint32_t pos)
{
	uint32_t id = g->heap[pos];
	uint64_t c = g->grp[id].count;
	for (;;) {
		uint32_t l = 2 * pos + 1;
		if (l >= g->n)
			break;
		uint32_t best = l;
		if (l + 1 < g->n && g->grp[g->heap[l + 1]].count < g->grp[g->heap[l]].count)
			best = l + 1;
		if (g->grp[g->heap[best]].count >= c)
			break;
		heap_put(g, pos, g->heap[best]);
		pos = best;
	}
	heap_put(g, pos, id);
}

static void sift_up(sl_groups *g, uint32_t pos)
{
	uint32_t id = g->heap[pos];
	uint64_t c = g->grp[id].count;
	while (pos > 0) {
		uint32_t up = (pos - 1) / 2;
		if (g->grp[g->heap[up]].count <= c)
			break;
		heap_put(g, pos, g->heap[up]);
		pos = up;
	}
	heap_put(g, pos, id);
}

/* ---- a group's key and sketches ---- */

static void release(sl_groups *g, struct group *x)
{
	sl_distinct_free(x->visitors);
	sl_relq_free(x->rt);
	sl_topk_free(x->paths);
	if (x->stored > INLINE)
		sl_free(g->budget, x->k.ptr, x->stored);
	x->visitors = NULL;
	x->rt = NULL;
	x->paths = NULL;
	x->stored = 0;
}

/* Sets an empty (released) group's key: stored whole up to
 * SL_GROUPS_KEY_MAX bytes, or its first INLINE when the budget refuses a
 * block for a longer one. */
static void set_key(sl_groups *g, struct group *x, const char *key, size_t len, uint32_t len32,
		    uint64_t hash, size_t stored)
{
	if (stored > SL_GROUPS_KEY_MAX)
		stored = SL_GROUPS_KEY_MAX;
	if (stored > len)
		stored = len;
	x->hash = hash;
	x->len = len32;
	if (stored > INLINE) {
		char *p = sl_malloc(g->budget, stored);
		if (p) {
			memcpy(p, key, stored);
			x->k.ptr = p;
			x->stored = (uint16_t)stored;
			return;
		}
		stored = INLINE;
	}
	if (stored)
		memcpy(x->k.inl, key, stored);
	x->stored = (uint16_t)stored;
}

static sl_distinct *new_visitors(sl_groups *g)
{
	return sl_distinct_new(g->budget, g->visitors_max, SL_GROUPS_VISITORS_P);
}

static sl_relq *new_rt(sl_groups *g)
{
	return sl_relq_new(g->budget, SL_GROUPS_RT_BUCKETS, SL_GROUPS_RT_ALPHA);
}

static sl_topk *new_paths(sl_groups *g)
{
	return sl_topk_new(g->budget, SL_GROUPS_PATHS_BYTES);
}

static void feed(sl_groups *g, struct group *x, uint64_t bytes, uint64_t visitor_hash,
		 bool has_rt, double rt, const char *path, size_t path_len, uint64_t path_hash)
{
	x->bytes = sat_add(x->bytes, bytes);
	if (!x->visitors && !(x->visitors = new_visitors(g)))
		x->partial = 1;
	else
		sl_distinct_add_hash(x->visitors, visitor_hash);
	if (has_rt) {
		if (!x->rt && !(x->rt = new_rt(g)))
			x->partial = 1;
		else
			sl_relq_add(x->rt, rt);
	}
	if (path) {
		if (!x->paths && !(x->paths = new_paths(g)))
			x->partial = 1;
		else
			sl_topk_add(x->paths, path, path_len, path_hash, 1);
	}
}

/* ---- lifetime ---- */

static sl_groups *create(sl_budget *b, uint32_t m)
{
	sl_groups *g = sl_calloc(b, 1, sizeof *g);
	if (!g)
		return NULL;
	g->budget = b;
	g->m = m;
	g->visitors_max = 4 * sl_hll_bytes(SL_GROUPS_VISITORS_P);
	uint32_t cap = m < FIRST ? m : FIRST, ic = 4;
	while (ic < 2 * cap)
		ic *= 2;
	g->grp = sl_calloc(b, cap, sizeof *g->grp);
	g->heap = sl_calloc(b, cap, sizeof *g->heap);
	g->idx = sl_calloc(b, ic, sizeof *g->idx);
	g->cap = g->grp_cap = g->heap_cap = cap;
	g->idx_cap = ic;
	g->shift = 64 - __builtin_ctz(ic);
	/* what an sl_distinct holds besides its set, for sl_groups_bytes */
	size_t before = b->used;
	sl_distinct *d = new_visitors(g);
	if (d) {
		g->visitors_fixed = b->used - before - sl_distinct_set_bytes(d);
		sl_distinct_free(d);
	}
	if (!g->grp || !g->heap || !g->idx || !d) {
		sl_groups_free(g);
		return NULL;
	}
	return g;
}

sl_groups *sl_groups_new(sl_budget *b, size_t max_bytes)
{
	size_t head = sizeof(struct sl_groups);
	size_t m = max_bytes > head ? (max_bytes - head) / per_group() : 0;
	if (m < SL_GROUPS_MIN)
		return NULL;
	if (m > MAX_GROUPS)
		m = MAX_GROUPS;
	return create(b, (uint32_t)m);
}

void sl_groups_free(sl_groups *g)
{
	if (!g)
		return;
	sl_budget *b = g->budget;
	if (g->grp)
		for (uint32_t id = 0; id < g->n; id++)
			release(g, &g->grp[id]);
	sl_free(b, g->grp, (size_t)g->grp_cap * sizeof *g->grp);
	sl_free(b, g->heap, (size_t)g->heap_cap * sizeof *g->heap);
	sl_free(b, g->idx, (size_t)g->idx_cap * sizeof *g->idx);
	sl_free(b, g, sizeof *g);
}

/* ---- adds ---- */

void sl_groups_add(sl_groups *g, const char *key, size_t len, uint64_t hash, uint64_t bytes,
		   uint64_t visitor_hash, bool has_rt, double request_time, const char *path,
		   size_t path_len, uint64_t path_hash)
{
	uint32_t len32 = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	g->total = sat_add(g->total, 1);
	uint32_t id = find(g, key, len, len32, hash);
	if (id != NONE) {
		struct group *x = &g->grp[id];
		x->count = sat_add(x->count, 1);
		sift_down(g, x->pos);
		feed(g, x, bytes, visitor_hash, has_rt, request_time, path, path_len, path_hash);
		return;
	}
	if (g->n < g->m && !reserve(g, g->n + 1))
		g->m = g->n;	/* the budget refused: this many counters */
	struct group *x;
	if (g->n < g->m) {
		id = g->n++;
		x = &g->grp[id];
		memset(x, 0, sizeof *x);
		x->count = sat_add(g->floor, 1);
		x->error = g->floor;
		x->partial = g->floor > 0;
		set_key(g, x, key, len, len32, hash, len);
		heap_put(g, id, id);
		sift_up(g, id);
	} else {
		id = g->heap[0];
		x = &g->grp[id];
		index_remove(g, id);
		release(g, x);
		g->floor = x->count;
		x->error = x->count;
		x->count = sat_add(x->count, 1);
		x->bytes = 0;
		x->partial = 1;
		set_key(g, x, key, len, len32, hash, len);
		sift_down(g, 0);
	}
	index_insert(g, id);
	feed(g, x, bytes, visitor_hash, has_rt, request_time, path, path_len, path_hash);
}

/* ---- merge ---- */

/* Does candidate a come before b: count descending, then key bytes
 * ascending (a shorter prefix first), then hash, then sequence. */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	size_t n = a->stored < b->stored ? a->stored : b->stored;
	int c = memcmp(a->key, b->key, n);
	if (c)
		return c;
	if (a->stored != b->stored)
		return a->stored < b->stored ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int order_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Merges src group s's sketches and sums into dst group x. */
static void absorb(sl_groups *g, struct group *x, const struct group *s)
{
	x->bytes = sat_add(x->bytes, s->bytes);
	x->partial |= s->partial;
	if (s->visitors) {
		if (!x->visitors && !(x->visitors = new_visitors(g)))
			x->partial = 1;
		else
			sl_distinct_merge(x->visitors, s->visitors);
	}
	if (s->rt) {
		if (!x->rt && !(x->rt = new_rt(g)))
			x->partial = 1;
		else if (sl_relq_merge(x->rt, s->rt) != SL_OK)
			x->partial = 1;
	}
	if (s->paths) {
		if (!x->paths && !(x->paths = new_paths(g)))
			x->partial = 1;
		else
			sl_topk_merge(x->paths, s->paths);
	}
}

sl_status sl_groups_merge(sl_groups *dst, const sl_groups *src)
{
	if (dst == src)
		return SL_EINVAL;
	if (src->n == 0 && src->total == 0)
		return SL_OK;
	sl_budget *b = dst->budget;
	size_t ns = src->n, nd = dst->n;
	/* match[0 .. ns): src position -> dst id; dmatch[0 .. nd): dst id ->
	 * src position; holes[0 .. nd): dst ids dropped */
	size_t words = ns + 2 * nd + 1, cands = ns + nd + 1;
	uint32_t *match = sl_malloc(b, words * sizeof *match);
	struct cand *cand = sl_malloc(b, cands * sizeof *cand);
	if (!match || !cand) {
		sl_free(b, match, words * sizeof *match);
		sl_free(b, cand, cands * sizeof *cand);
		return SL_ENOMEM;
	}
	uint32_t *dmatch = match + ns, *holes = match + ns + nd;
	for (size_t i = 0; i < nd; i++)
		dmatch[i] = NONE;
	for (uint32_t p = 0; p < ns; p++) {
		const struct group *s = &src->grp[src->heap[p]];
		match[p] = find(dst, key_of(s), s->stored, s->len, s->hash);
		if (match[p] != NONE)
			dmatch[match[p]] = p;
	}
	/* the candidates: dst's groups in heap order, then src's unmatched
	 * ones in src's heap order */
	uint32_t k = 0;
	for (uint32_t p = 0; p < nd; p++) {
		uint32_t id = dst->heap[p];
		const struct group *x = &dst->grp[id];
		uint64_t add = dmatch[id] != NONE ? src->grp[src->heap[dmatch[id]]].count : src->floor;
		cand[k] = (struct cand){sat_add(x->count, add), x->hash, key_of(x), x->len, id, k,
					x->stored, 0, 1};
		k++;
	}
	for (uint32_t p = 0; p < ns; p++) {
		if (match[p] != NONE)
			continue;
		const struct group *s = &src->grp[src->heap[p]];
		cand[k] = (struct cand){sat_add(dst->floor, s->count), s->hash, key_of(s), s->len, p, k,
					s->stored, 1, 1};
		k++;
	}
	uint64_t floor = sat_add(dst->floor, src->floor);
	uint32_t keep = k;
	if (k > dst->m) {
		qsort(cand, k, sizeof *cand, cand_cmp);
		keep = dst->m;
		for (uint32_t i = keep; i < k; i++)
			cand[i].keep = 0;
		if (cand[keep].count > floor)
			floor = cand[keep].count;
		qsort(cand, k, sizeof *cand, order_cmp);
	}
	if (!reserve(dst, keep > dst->n ? keep : dst->n)) {
		sl_free(b, match, words * sizeof *match);
		sl_free(b, cand, cands * sizeof *cand);
		return SL_ENOMEM;
	}

	/* dst's groups: the dropped ones leave holes, the kept ones absorb
	 * src's group or src's floor */
	uint32_t nholes = 0;
	for (uint32_t i = 0; i < k && !cand[i].from_src; i++) {
		struct cand *c = &cand[i];
		struct group *x = &dst->grp[c->ref];
		if (!c->keep) {
			release(dst, x);
			holes[nholes++] = c->ref;
			continue;
		}
		uint32_t sp = dmatch[c->ref];
		x->count = c->count;
		if (sp != NONE) {
			const struct group *s = &src->grp[src->heap[sp]];
			x->error = sat_add(x->error, s->error);
			absorb(dst, x, s);
		} else {
			x->error = sat_add(x->error, src->floor);
			if (src->floor)
				x->partial = 1;
		}
	}
	/* src's new groups take the holes first, then ids past n */
	uint32_t next = dst->n, hi = 0;
	for (uint32_t i = 0; i < k; i++) {
		struct cand *c = &cand[i];
		if (!c->from_src) {
			c->ref = c->keep ? c->ref : NONE;
			continue;
		}
		if (!c->keep) {
			c->ref = NONE;
			continue;
		}
		const struct group *s = &src->grp[src->heap[c->ref]];
		uint32_t id = hi < nholes ? holes[hi++] : next++;
		struct group *x = &dst->grp[id];
		memset(x, 0, sizeof *x);
		set_key(dst, x, key_of(s), s->stored, s->len, s->hash, s->stored);
		x->count = c->count;
		x->error = sat_add(dst->floor, s->error);
		x->partial = dst->floor > 0;
		absorb(dst, x, s);
		c->ref = id;
	}
	/* holes left below keep are filled by moving the groups above it */
	uint32_t mover = 0;
	for (; hi < nholes; hi++) {
		if (holes[hi] >= keep)
			continue;
		while (cand[mover].ref == NONE || cand[mover].ref < keep)
			mover++;
		dst->grp[holes[hi]] = dst->grp[cand[mover].ref];
		cand[mover].ref = holes[hi];
	}
	/* the heap: the kept candidates in sequence order, then heapified */
	dst->n = keep;
	uint32_t pos = 0;
	for (uint32_t i = 0; i < k; i++)
		if (cand[i].ref != NONE)
			heap_put(dst, pos++, cand[i].ref);
	for (uint32_t i = keep / 2; i-- > 0;)
		sift_down(dst, i);
	index_rebuild(dst);
	dst->total = sat_add(dst->total, src->total);
	dst->floor = floor;
	sl_free(b, match, words * sizeof *match);
	sl_free(b, cand, cands * sizeof *cand);
	return SL_OK;
}

/* ---- listing and figures ---- */

/* Does group a come before group b in a list: count descending, then key
 * bytes ascending (a shorter prefix first), then length, then hash. */
static bool before(const struct group *a, const struct group *b)
{
	if (a->count != b->count)
		return a->count > b->count;
	size_t n = a->stored < b->stored ? a->stored : b->stored;
	int c = memcmp(key_of(a), key_of(b), n);
	if (c)
		return c < 0;
	if (a->stored != b->stored)
		return a->stored < b->stored;
	if (a->len != b->len)
		return a->len < b->len;
	return a->hash < b->hash;
}

/* rows[] as a heap of ids (in the rows' count field, before they are
 * filled) whose root is the last in list order. */
static void top_sift(const sl_groups *g, uint32_t *ids, size_t n, size_t i)
{
	uint32_t id = ids[i];
	for (;;) {
		size_t l = 2 * i + 1, w = l;
		if (l >= n)
			break;
		if (l + 1 < n && before(&g->grp[ids[l]], &g->grp[ids[l + 1]]))
			w = l + 1;
		if (!before(&g->grp[id], &g->grp[ids[w]]))
			break;
		ids[i] = ids[w];
		i = w;
	}
	ids[i] = id;
}

static void fill_row(const sl_groups *g, const struct group *x, sl_group_row *r)
{
	r->key = key_of(x);
	r->len = x->stored;
	r->truncated = x->stored < x->len;
	r->count = x->count;
	r->max_error = x->error;
	r->partial = x->partial;
	r->bytes = x->bytes;
	if (x->visitors)
		r->visitors = sl_distinct_estimate(x->visitors);
	else
		r->visitors = (sl_estimate){0, 0, 0, !x->partial};
	r->request_time = x->rt;
	r->paths = x->paths;
	(void)g;
}

size_t sl_groups_list(const sl_groups *g, sl_group_row *rows, size_t n)
{
	if (n > g->n)
		n = g->n;
	if (n == 0)
		return 0;
	/* the ids of the best n so far, in the rows' own memory */
	_Static_assert(sizeof(sl_group_row) >= sizeof(uint32_t), "ids fit the rows");
	uint32_t *ids = (uint32_t *)(void *)rows;
	size_t k = 0;
	for (uint32_t id = 0; id < g->n; id++) {
		if (k < n) {
			ids[k] = id;
			/* sift up: the root is the last in list order */
			for (size_t i = k++; i > 0;) {
				size_t up = (i - 1) / 2;
				if (!before(&g->grp[ids[up]], &g->grp[ids[i]]))
					break;
				uint32_t t = ids[up];
				ids[up] = ids[i];
				ids[i] = t;
				i = up;
			}
		} else if (before(&g->grp[id], &g->grp[ids[0]])) {
			ids[0] = id;
			top_sift(g, ids, k, 0);
		}
	}
	/* heap sort: the root goes to the end */
	for (size_t e = k; e-- > 1;) {
		uint32_t t = ids[0];
		ids[0] = ids[e];
		ids[e] = t;
		top_sift(g, ids, e, 0);
	}
	/* ids[0 .. n) in list order. Row i covers the bytes of ids[j] for j
	 * from i * sizeof row / 4 on, all >= i: written back to front, each
	 * row overwrites only ids already read. */
	for (size_t i = n; i-- > 0;) {
		uint32_t id = ids[i];
		fill_row(g, &g->grp[id], &rows[i]);
	}
	return n;
}

size_t sl_groups_count(const sl_groups *g)
{
	return g->n;
}

size_t sl_groups_capacity(const sl_groups *g)
{
	return g->m;
}

uint64_t sl_groups_total(const sl_groups *g)
{
	return g->total;
}

uint64_t sl_groups_floor(const sl_groups *g)
{
	return g->floor;
}

bool sl_groups_is_exact(const sl_groups *g)
{
	if (g->floor)
		return false;
	for (uint32_t id = 0; id < g->n; id++)
		if (g->grp[id].partial)
			return false;
	return true;
}

size_t sl_groups_bytes(const sl_groups *g)
{
	size_t bytes = sizeof *g + (size_t)g->grp_cap * sizeof *g->grp +
		       (size_t)g->heap_cap * sizeof *g->heap + (size_t)g->idx_cap * sizeof *g->idx;
	for (uint32_t id = 0; id < g->n; id++) {
		const struct group *x = &g->grp[id];
		if (x->stored > INLINE)
			bytes += x->stored;
		if (x->visitors)
			bytes += g->visitors_fixed + sl_distinct_set_bytes(x->visitors);
		if (x->rt)
			bytes += sl_relq_bytes(SL_GROUPS_RT_BUCKETS);
		if (x->paths)
			bytes += sl_topk_bytes(x->paths);
	}
	return bytes;
}

/* ---- state codec (layout in the opening comment) ---- */

static bool refuse(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return false;
}

static int hash_cmp(const void *a, const void *b)
{
	uint64_t x = sl_wire_le64(a), y = sl_wire_le64(b);
	return x < y ? -1 : x > y;
}

/* sl_distinct_encode, with an exact set's hashes in ascending order rather
 * than in slot order (which depends on how the set grew): the same set
 * then gives the same bytes, and a loaded table encodes as the saved one.
 * The layout is sl_distinct's own (u8 p, u8 mode 0, u8 has_zero, u64
 * count, the hashes); its loader takes them in any order. Needs no budget:
 * a group's set holds at most 96 hashes, sorted in a stack buffer; a larger
 * one (never, at these sizes) is written as it is. */
static void encode_visitors(const sl_distinct *d, sl_wire_writer *w)
{
	enum { HEAD = 1 + 1 + 1 + 8 };
	uint8_t buf[HEAD + 8 * 128 + 1];
	sl_wire_writer tmp;
	sl_wire_init_stream(&tmp, buf, sizeof buf, refuse, NULL);
	if (sl_distinct_is_exact(d)) {
		sl_distinct_encode(d, &tmp);
		if (!tmp.failed && tmp.held == tmp.len && tmp.len >= HEAD && buf[1] == 0 &&
		    (tmp.len - HEAD) % 8 == 0) {
			qsort(buf + HEAD, (tmp.len - HEAD) / 8, 8, hash_cmp);
			sl_wire_bytes(w, buf, tmp.len);
			return;
		}
	}
	sl_distinct_encode(d, w);
}

void sl_groups_encode(const sl_groups *g, sl_wire_writer *w)
{
	sl_wire_u8(w, LAYOUT);
	sl_wire_u32(w, g->m);
	sl_wire_u64(w, g->total);
	sl_wire_u64(w, g->floor);
	sl_wire_u32(w, g->n);
	for (uint32_t p = 0; p < g->n; p++) {
		const struct group *x = &g->grp[g->heap[p]];
		sl_wire_u64(w, x->hash);
		sl_wire_u32(w, x->len);
		sl_wire_u16(w, x->stored);
		sl_wire_bytes(w, key_of(x), x->stored);
		sl_wire_u64(w, x->count);
		sl_wire_u64(w, x->error);
		sl_wire_u64(w, x->bytes);
		sl_wire_u8(w, (uint8_t)((x->partial ? F_PARTIAL : 0) | (x->visitors ? F_VISITORS : 0) |
					(x->rt ? F_RT : 0) | (x->paths ? F_PATHS : 0)));
		if (x->visitors)
			encode_visitors(x->visitors, w);
		if (x->rt)
			sl_relq_encode(x->rt, w);
		if (x->paths)
			sl_topk_encode(x->paths, w);
	}
}

/* the fewest bytes a group takes: hash, len, stored, count, error, bytes,
 * flags */
#define MIN_RECORD (8 + 4 + 2 + 8 + 8 + 8 + 1)

static sl_status corrupt(const char **why, const char *text)
{
	*why = text;
	return SL_ECORRUPT;
}

/* Reads group p of a table into t (capacity m, groups 0 .. p-1 loaded at
 * ids = positions 0 .. p-1). */
static sl_status load_group(sl_groups *t, uint32_t p, sl_wire_reader *r, const char **why)
{
	uint64_t hash = sl_wire_get_u64(r);
	uint32_t len = sl_wire_get_u32(r);
	uint16_t stored = sl_wire_get_u16(r);
	const uint8_t *key = sl_wire_take(r, stored);
	uint64_t count = sl_wire_get_u64(r);
	uint64_t error = sl_wire_get_u64(r);
	uint64_t bytes = sl_wire_get_u64(r);
	uint8_t flags = sl_wire_get_u8(r);
	if (r->bad)
		return corrupt(why, "groups truncated");
	uint32_t whole = len < SL_GROUPS_KEY_MAX ? len : SL_GROUPS_KEY_MAX;
	if (stored != whole && !(stored == INLINE && len > INLINE))
		return corrupt(why, "group key length impossible");
	if (flags & ~F_ALL)
		return corrupt(why, "group flags unknown");
	bool partial = flags & F_PARTIAL;
	if (count == 0 || error > count || count < t->floor || (error && !partial) ||
	    (t->floor == 0 && error))
		return corrupt(why, "group counts impossible");
	if (p > 0 && count < t->grp[t->heap[(p - 1) / 2]].count)
		return corrupt(why, "group counts out of heap order");
	if (find(t, (const char *)key, stored, len, hash) != NONE)
		return corrupt(why, "groups hold a key twice");
	if (!reserve(t, p + 1)) {
		*why = "groups do not fit the memory budget";
		return SL_ENOMEM;
	}
	struct group *x = &t->grp[p];
	memset(x, 0, sizeof *x);
	set_key(t, x, (const char *)key, stored, len, hash, stored);
	x->count = count;
	x->error = error;
	x->bytes = bytes;
	x->partial = partial;
	t->n = p + 1;
	heap_put(t, p, p);
	index_insert(t, p);
	uint64_t covered = count - error;
	sl_status st = SL_OK;
	if (flags & F_VISITORS) {
		if (!(x->visitors = new_visitors(t)))
			goto nomem;
		if ((st = sl_distinct_load(x->visitors, r, why)) != SL_OK)
			return st;
		sl_estimate e = sl_distinct_estimate(x->visitors);
		if (e.exact && e.estimate > (double)covered)
			return corrupt(why, "group visitors more than its records");
	}
	if (flags & F_RT) {
		if (!(x->rt = new_rt(t)))
			goto nomem;
		if ((st = sl_relq_load(x->rt, r, why)) != SL_OK)
			return st == SL_EINVAL ? corrupt(why, "group request times impossible") : st;
		if (sl_relq_count(x->rt) > covered)
			return corrupt(why, "group request times more than its records");
	}
	if (flags & F_PATHS) {
		if (!(x->paths = new_paths(t)))
			goto nomem;
		if ((st = sl_topk_load(x->paths, r, why)) != SL_OK)
			return st;
		if (sl_topk_total(x->paths) > covered)
			return corrupt(why, "group paths more than its records");
	}
	return SL_OK;
nomem:
	*why = "groups do not fit the memory budget";
	return SL_ENOMEM;
}

sl_status sl_groups_load(sl_groups *dst, sl_wire_reader *r, const char **why)
{
	if (dst->n || dst->total) {
		*why = "groups to load into are not empty";
		return SL_EINVAL;
	}
	uint8_t layout = sl_wire_get_u8(r);
	uint32_t m = sl_wire_get_u32(r);
	uint64_t total = sl_wire_get_u64(r);
	uint64_t floor = sl_wire_get_u64(r);
	uint32_t n = sl_wire_get_u32(r);
	if (r->bad)
		return corrupt(why, "groups truncated");
	if (layout != LAYOUT)
		return corrupt(why, "groups layout unknown");
	if (m < SL_GROUPS_MIN || m > MAX_GROUPS || n > m || (n == 0) != (total == 0) ||
	    (n == 0 && floor))
		return corrupt(why, "groups header impossible");
	if (!sl_wire_need(r, n, MIN_RECORD))
		return corrupt(why, "groups past the end of the section");
	sl_groups *t = dst;
	if (m != dst->m && !(t = create(dst->budget, m))) {
		*why = "groups do not fit the memory budget";
		return SL_ENOMEM;
	}
	t->floor = floor;
	t->total = total;
	sl_status st = SL_OK;
	uint64_t sum = 0;
	for (uint32_t p = 0; p < n && st == SL_OK; p++) {
		st = load_group(t, p, r, why);
		if (st == SL_OK) {
			const struct group *x = &t->grp[p];
			sum = sat_add(sum, x->count - x->error);
		}
	}
	if (st == SL_OK && (floor ? sum > total : sum != total))
		st = corrupt(why, "group counts disagree with their total");
	if (t != dst) {
		if (st == SL_OK)
			st = sl_groups_merge(dst, t);
		if (st == SL_ENOMEM)
			*why = "groups do not fit the memory budget";
		sl_groups_free(t);
	}
	return st;
}
