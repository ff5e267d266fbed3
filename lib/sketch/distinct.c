/*
 * distinct.c: a distinct counter over 64-bit hashes (sl_distinct_*), exact
 * while it fits, then a HyperLogLog (lib/sketch/hll.c).
 *
 * Two modes, in this order, with one switch:
 *
 *   exact     an open-addressed set of the hashes themselves (linear
 *             probing, 8 bytes a slot, 0 marks an empty slot and a separate
 *             flag records the hash 0). The slot of h is the top bits of
 *             h * 0x9e37..., so structured hashes still spread. Capacity is
 *             a power of two >= 16, kept at load <= 3/4, doubled on demand.
 *   degraded  the HLL (lib/sketch/hll.c), with its 95% interval. When the
 *             counter degrades, its set's hashes are replayed into the
 *             registers (in slot order: the order does not matter to the
 *             registers) and the HLL's HIP estimate restarts from the set's
 *             exact count n0 (sl_hll_restart_hip); the hashes that come
 *             after, in stream order, go on with HIP. So a counter fed by
 *             one stream answers with HIP: exact up to n0, then unbiased
 *             with a relative standard error below 0.833 / sqrt(m). Once
 *             a degraded counter takes part in a merge (an HLL merge, or
 *             an exact set added to a degraded counter, whose order is
 *             the set's slot order and so depends on the hashes) the HLL
 *             is marked merged and answers with Ertl's estimator, 1.04 /
 *             sqrt(m), which depends on the registers alone. Either way the
 *             figure depends only on the input and on how it was split: the
 *             same run at the same -j gives the same bits; -j 1 (one
 *             stream, HIP) and -j 2 (merged, Ertl) may differ within their
 *             intervals. n0 is kept as a hard floor: the counter has seen
 *             at least n0 distinct hashes, so the estimate and both ends of
 *             the interval are raised to n0 when below it.
 *
 * While exact, estimate = low = high = count and exact = true ("exact over
 * 64-bit hashes": distinct keys collide with probability ~ n^2 / 2^65).
 *
 * Memory, all within max_bytes of the caller's budget:
 *   fixed  sizeof(struct sl_distinct) + sl_hll_bytes(p), taken at creation:
 *          the HLL registers are reserved up front (zero, unused while
 *          exact), so degrading never allocates and never fails.
 *   set    16 slots at creation, then doubled. A doubling allocates the new
 *          table before freeing the old one, so it is done only when
 *          fixed + old + new <= max_bytes: the transient peak is inside the
 *          bound too. When that does not hold, or the budget refuses the new
 *          table, the counter degrades (once): every hash in the set is added
 *          to the HLL and the set is freed.
 *   pool   a counter in a pool (sl_distinct_set_pool, lib/report/report.c) is not
 *          held to max_bytes: its set doubles while the budget allows, and
 *          when the budget refuses, the pool is asked to degrade another
 *          table first. The pool may also degrade this counter
 *          (sl_distinct_degrade: replays the set into the reserved HLL and
 *          frees it; no memory needed). A pooled load that degrades is not
 *          an error.
 *
 * Precision rule: p is the largest p <= max_p (max_p clamped to
 * SL_HLL_MAX_P) with sl_hll_bytes(p) <= max_bytes / 4, so at least 3/4 of
 * the bytes stay for the exact set. If even SL_HLL_MIN_P does not meet that
 * but fixed(SL_HLL_MIN_P) fits max_bytes, p = SL_HLL_MIN_P; otherwise (or if
 * max_p < SL_HLL_MIN_P) sl_distinct_new fails. If fixed + the 16-slot set
 * does not fit max_bytes the counter starts degraded (n0 = 0).
 *
 * Merge (dst := dst U src). First, the merged precision is the smaller of
 * the two: dst's HLL is folded to src's precision if src's is lower (a fold
 * needs no memory), so merging is symmetric in precision.
 *   exact + exact  src's hashes are added one by one, in one walk of src,
 *                  the set doubling as it needs; when the two together could
 *                  fill 7/8 of dst, the exact union size u is counted first
 *                  and dst grown to hold it (merge_sets says why). If the
 *                  set cannot grow, u is counted (lookups only), then dst
 *                  degrades and the rest go to the HLL; its registers are
 *                  then those of the union, whose size u is known: HIP
 *                  restarts from n0 = u, still exact.
 *   exact src, degraded dst   src's hashes go to dst's HLL, marked merged;
 *                             n0 = max(n0, |src|).
 *   degraded src, exact dst   dst degrades (n0 = |dst|), then HLL merge;
 *                             n0 = max(n0, src's n0).
 *   degraded + degraded       HLL merge; n0 = max of both.
 * A degraded result's registers equal those of one counter of the same
 * precision fed both streams, because degrading only replays the set.
 */
#include "sluice.h"

#include <string.h>

#define MIN_SLOTS 16
#define MIX 0x9e3779b97f4a7c15ULL
#define AHEAD 16	/* slots ahead whose place a walk prefetches */

struct sl_distinct {
	sl_budget *budget;
	size_t max_bytes;
	sl_hll *hll;		/* reserved at creation */
	uint64_t *set;		/* NULL once degraded */
	size_t cap;		/* slots in set, a power of two */
	int shift;		/* 64 - log2(cap) */
	bool has_zero;		/* the hash 0 was seen (exact mode) */
	uint64_t count;		/* distinct hashes in the set, 0 included */
	uint64_t floor;		/* degraded: distinct hashes known seen */
	sl_relieve_fn relieve;	/* set: pooled (the set may pass max_bytes) */
	void *relieve_ud;
};

static size_t fixed_bytes(int p)
{
	return sizeof(struct sl_distinct) + sl_hll_bytes(p);
}

static int pick_precision(size_t max_bytes, int max_p)
{
	if (max_p > SL_HLL_MAX_P)
		max_p = SL_HLL_MAX_P;
	if (max_p < SL_HLL_MIN_P)
		return 0;
	for (int p = max_p; p >= SL_HLL_MIN_P; p--)
		if (sl_hll_bytes(p) <= max_bytes / 4)
			return p;
	return fixed_bytes(SL_HLL_MIN_P) <= max_bytes ? SL_HLL_MIN_P : 0;
}

static inline size_t slot_of(uint64_t hash, int shift)
{
	return (size_t)((hash * MIX) >> shift);
}

static int log2_of(size_t cap)
{
	return 63 - __builtin_clzll((unsigned long long)cap);
}

sl_distinct *sl_distinct_new(sl_budget *b, size_t max_bytes, int max_p)
{
	int p = pick_precision(max_bytes, max_p);
	if (!p)
		return NULL;
	sl_distinct *d = sl_malloc(b, sizeof *d);
	if (!d)
		return NULL;
	memset(d, 0, sizeof *d);
	d->budget = b;
	d->max_bytes = max_bytes;
	d->hll = sl_hll_new(b, p);
	if (!d->hll) {
		sl_free(b, d, sizeof *d);
		return NULL;
	}
	if (fixed_bytes(p) + MIN_SLOTS * sizeof(uint64_t) <= max_bytes) {
		d->set = sl_calloc(b, MIN_SLOTS, sizeof(uint64_t));
		if (!d->set) {
			sl_hll_free(d->hll);
			sl_free(b, d, sizeof *d);
			return NULL;
		}
		d->cap = MIN_SLOTS;
		d->shift = 64 - log2_of(MIN_SLOTS);
	}
	return d;
}

void sl_distinct_free(sl_distinct *d)
{
	if (!d)
		return;
	sl_free(d->budget, d->set, d->cap * sizeof(uint64_t));
	sl_hll_free(d->hll);
	sl_free(d->budget, d, sizeof *d);
}

/* Switches to the HLL: replays the set into it, and *also (a hash known
 * not to be in the set) when not NULL, and frees the set. The HLL's HIP
 * estimate restarts from that exact count, which is also the floor. */
static void degrade(sl_distinct *d, const uint64_t *also)
{
	if (!d->set)
		return;
	for (size_t i = 0; i < d->cap; i++)
		if (d->set[i])
			sl_hll_add_hash(d->hll, d->set[i]);
	if (d->has_zero)
		sl_hll_add_hash(d->hll, 0);
	if (also)
		sl_hll_add_hash(d->hll, *also);
	sl_free(d->budget, d->set, d->cap * sizeof(uint64_t));
	d->set = NULL;
	d->cap = 0;
	d->has_zero = false;
	d->floor = d->count + (also != NULL);
	sl_hll_restart_hip(d->hll, (double)d->floor);
}

/* Grows the set to cap slots (a power of two > d->cap); false (set
 * unchanged) if that would pass max_bytes (unless pooled) or the budget
 * refuses. A pooled set asks the pool for room while it can. */
static bool grow_to(sl_distinct *d, size_t cap)
{
	size_t fixed = fixed_bytes(sl_hll_precision(d->hll));
	size_t old_bytes = d->cap * sizeof(uint64_t);
	if (cap > SIZE_MAX / 16)
		return false;
	if (!d->relieve && (fixed > d->max_bytes ||
			    old_bytes + cap * sizeof(uint64_t) > d->max_bytes - fixed))
		return false;
	uint64_t *set;
	while (!(set = sl_calloc(d->budget, cap, sizeof(uint64_t))))
		if (!d->relieve || !d->relieve(d->relieve_ud, d) || !d->set)
			return false;
	int shift = d->shift;
	for (size_t c = d->cap; c < cap; c *= 2)
		shift--;
	size_t mask = cap - 1;
	for (size_t i = 0; i < d->cap; i++) {
		uint64_t h = d->set[i];
		if (!h)
			continue;
		size_t j = slot_of(h, shift);
		while (set[j])
			j = (j + 1) & mask;
		set[j] = h;
	}
	sl_free(d->budget, d->set, old_bytes);
	d->set = set;
	d->cap = cap;
	d->shift = shift;
	return true;
}

/* Doubles the set (grow_to). */
static bool grow(sl_distinct *d)
{
	return grow_to(d, d->cap * 2);
}

void sl_distinct_set_pool(sl_distinct *d, sl_relieve_fn fn, void *ud)
{
	d->relieve = fn;
	d->relieve_ud = ud;
}

void sl_distinct_degrade(sl_distinct *d)
{
	degrade(d, NULL);
}

size_t sl_distinct_set_bytes(const sl_distinct *d)
{
	return d->set ? d->cap * sizeof(uint64_t) : 0;
}

size_t sl_distinct_excess(const sl_distinct *d)
{
	size_t fixed = fixed_bytes(sl_hll_precision(d->hll));
	size_t share = d->max_bytes > fixed ? d->max_bytes - fixed : 0;
	size_t bytes = sl_distinct_set_bytes(d);
	return bytes > share ? bytes - share : 0;
}

/* True if hash (nonzero) is in the set; else *at is the empty slot for it. */
static inline bool find(const sl_distinct *d, uint64_t hash, size_t *at)
{
	size_t mask = d->cap - 1;
	size_t j = slot_of(hash, d->shift);
	for (;;) {
		uint64_t v = d->set[j];
		if (v == hash)
			return true;
		if (!v) {
			*at = j;
			return false;
		}
		j = (j + 1) & mask;
	}
}

void sl_distinct_prefetch(const sl_distinct *d, uint64_t hash)
{
	if (d->set)
		__builtin_prefetch(&d->set[slot_of(hash, d->shift)], 1);
	else
		sl_hll_prefetch(d->hll, hash);
}

void sl_distinct_add_hash(sl_distinct *d, uint64_t hash)
{
	if (!d->set) {
		sl_hll_add_hash(d->hll, hash);
		return;
	}
	if (!hash) {
		if (!d->has_zero) {
			d->has_zero = true;
			d->count++;
		}
		return;
	}
	size_t at;
	if (find(d, hash, &at))
		return;
	/* Slots used after this insert: the set's nonzero hashes + 1. */
	uint64_t used = d->count - d->has_zero + 1;
	if (used * 4 > (uint64_t)d->cap * 3) {
		if (!grow(d)) {
			degrade(d, &hash);
			return;
		}
		find(d, hash, &at);
	}
	d->set[at] = hash;
	d->count++;
}

/* Whether the exact set s holds hash. */
static bool contains(const sl_distinct *s, uint64_t hash)
{
	size_t at;
	if (!hash)
		return s->has_zero;
	return find(s, hash, &at);
}

/* A merge walks src's set in slot order and looks each hash up in dst:
 * start loading the place of the hash AHEAD slots on. Both sets place a
 * hash by the top bits of hash * MIX, so those places rise with the walk
 * and the loads stream rather than jump. */
static inline void ahead(const sl_distinct *dst, const sl_distinct *src, size_t i)
{
	if (i + AHEAD < src->cap && src->set[i + AHEAD])
		sl_distinct_prefetch(dst, src->set[i + AHEAD]);
}

/* The hashes of src's set from slot i on (and src's hash 0) that the exact
 * set dst does not hold. */
static uint64_t count_missing(const sl_distinct *dst, const sl_distinct *src, size_t i)
{
	uint64_t n = src->has_zero && !dst->has_zero;
	for (; i < src->cap; i++) {
		ahead(dst, src, i);
		if (src->set[i] && !contains(dst, src->set[i]))
			n++;
	}
	return n;
}

/* dst, exact, degrades knowing the exact size u of the union of its set
 * and src's: src's hashes go to the HLL from slot i on (and its hash 0),
 * whose registers are then the union's, and HIP restarts from u, which is
 * also the floor. */
static void degrade_to_union(sl_distinct *dst, const sl_distinct *src, size_t i, uint64_t u)
{
	degrade(dst, NULL);
	for (; i < src->cap; i++)
		if (src->set[i])
			sl_hll_add_hash(dst->hll, src->set[i]);
	if (src->has_zero)
		sl_hll_add_hash(dst->hll, 0);
	dst->floor = u;
	sl_hll_restart_hip(dst->hll, (double)u);
}

/* exact src into exact dst. src's hashes are added in its slot order, and
 * each lands at or after its place in dst, which rises with the walk: so
 * the part of dst walked so far holds dst's own hashes and every one of
 * src's that fell there. If those come near to filling it, the run of
 * full slots at the front grows with every add and the adds turn
 * quadratic (a 348,000-hash set at load 2/3 took 440 ms to receive a
 * third of another before its load reached 3/4). So when dst could pass
 * 7/8 of its slots, the union's exact size is counted first (lookups only)
 * and dst grows to hold it at load 3/4 in one step, as the adds would have
 * (and if the budget refuses, dst degrades at once, as the adds would have
 * once they found it full). Otherwise one walk adds, the set doubling if
 * it must; if it cannot, the union's size is counted (the hashes added so
 * far, this one, and those of the rest of src that dst lacks) and dst
 * degrades. */
static void merge_sets(sl_distinct *dst, const sl_distinct *src)
{
	if ((dst->count + src->count) * 8 > (uint64_t)dst->cap * 7) {
		uint64_t u = dst->count + count_missing(dst, src, 0);
		uint64_t nonzero = u - (dst->has_zero || src->has_zero);
		size_t cap = dst->cap;
		while (nonzero * 4 > (uint64_t)cap * 3)
			cap *= 2;
		if (cap > dst->cap && !grow_to(dst, cap)) {
			degrade_to_union(dst, src, 0, u);
			return;
		}
	}
	for (size_t i = 0; i < src->cap; i++) {
		ahead(dst, src, i);
		uint64_t h = src->set[i];
		size_t at;
		if (!h || find(dst, h, &at))
			continue;
		uint64_t used = dst->count - dst->has_zero + 1;
		if (used * 4 > (uint64_t)dst->cap * 3) {
			if (!grow(dst)) {
				uint64_t u = dst->count + 1 + count_missing(dst, src, i + 1);
				dst->set[at] = h;	/* in the set it replays */
				dst->count++;
				degrade_to_union(dst, src, i + 1, u);
				return;
			}
			find(dst, h, &at);
		}
		dst->set[at] = h;
		dst->count++;
	}
	if (src->has_zero)
		sl_distinct_add_hash(dst, 0);
}

sl_status sl_distinct_merge(sl_distinct *dst, const sl_distinct *src)
{
	if (dst == src)
		return SL_OK;
	if (sl_hll_precision(src->hll) < sl_hll_precision(dst->hll))
		sl_hll_fold(dst->hll, sl_hll_precision(src->hll));

	if (src->set && dst->set) {
		merge_sets(dst, src);
		return SL_OK;
	}
	if (src->set) {	/* into the HLL: the order is src's slot order */
		for (size_t i = 0; i < src->cap; i++)
			if (src->set[i])
				sl_hll_add_hash(dst->hll, src->set[i]);
		if (src->has_zero)
			sl_hll_add_hash(dst->hll, 0);
		if (dst->floor < src->count)
			dst->floor = src->count;
		sl_hll_mark_merged(dst->hll);
		return SL_OK;
	}

	degrade(dst, NULL);
	sl_hll_merge(dst->hll, src->hll);
	if (dst->floor < src->floor)
		dst->floor = src->floor;
	return SL_OK;
}

sl_estimate sl_distinct_estimate(const sl_distinct *d)
{
	sl_estimate e;
	if (d->set) {
		e.estimate = e.low = e.high = (double)d->count;
		e.exact = true;
		return e;
	}
	e = sl_hll_estimate(d->hll);
	double n0 = (double)d->floor;
	if (e.estimate < n0)
		e.estimate = n0;
	if (e.low < n0)
		e.low = n0;
	if (e.high < e.estimate)
		e.high = e.estimate;
	return e;
}

bool sl_distinct_is_exact(const sl_distinct *d)
{
	return d->set != NULL;
}

const sl_hll *sl_distinct_hll(const sl_distinct *d)
{
	return d->set ? NULL : d->hll;
}

/* ---- state codec (lib/core/wire.h; byte layout in docs/state-format.md) -------
 *
 *   u8 p          the HLL's current precision (a merge may have folded it
 *                 even while the counter is exact)
 *   u8 mode       0 exact, 3 degraded (2 and 1: degraded, as state
 *                 version 3 and versions 1, 2 wrote them; read only)
 *   exact:    u8 has_zero | u64 count | (count - has_zero) nonzero u64
 *             hashes, in slot order
 *   mode 3:   u64 floor | the HLL (lib/sketch/hll.c sl_hll_encode: u8 p, u8 merged,
 *             f64 HIP estimate, u8 base, u32 k, 2^p / 2 nibble bytes, k
 *             exception words)
 *   mode 2:   u64 floor | the HLL (lib/sketch/hll.c sl_hll_load_packed: u8 p,
 *             u8 merged, f64 HIP estimate, 3 * 2^p / 4 packed register bytes)
 *   mode 1:   u64 floor | the HLL (lib/sketch/hll.c sl_hll_load_v2: u8 p, 2^p
 *             one-byte registers)
 *
 * Loading merges into an empty dst as sl_distinct_merge would. When dst has
 * room for the whole set (its max_bytes) it stays exact and must end with
 * exactly `count` hashes (else the list held duplicates). If the budget
 * refuses the set dst would otherwise hold, the load fails with SL_ENOMEM
 * rather than silently degrading.
 */
#include "core/wire.h"

void sl_distinct_encode(const sl_distinct *d, sl_wire_writer *w)
{
	sl_wire_u8(w, (uint8_t)sl_hll_precision(d->hll));
	sl_wire_u8(w, d->set ? 0 : 3);
	if (!d->set) {
		sl_wire_u64(w, d->floor);
		sl_hll_encode(d->hll, w);
		return;
	}
	sl_wire_u8(w, d->has_zero);
	sl_wire_u64(w, d->count);
	for (size_t i = 0; i < d->cap; i++)
		if (d->set[i])
			sl_wire_u64(w, d->set[i]);
}

static sl_status bad(const char **why, const char *text)
{
	*why = text;
	return SL_ECORRUPT;
}

sl_status sl_distinct_load(sl_distinct *dst, sl_wire_reader *r, const char **why)
{
	if (!dst->set || dst->count) {
		*why = "distinct counter to load into is not empty";
		return SL_EINVAL;
	}
	int p = sl_wire_get_u8(r);
	uint8_t mode = sl_wire_get_u8(r);
	if (r->bad)
		return bad(why, "distinct counter truncated");
	if (p < SL_HLL_MIN_P || p > SL_HLL_MAX_P)
		return bad(why, "distinct counter precision out of range");
	if (mode > 3)
		return bad(why, "distinct counter mode unknown");
	if (mode != 0) {
		uint64_t floor = sl_wire_get_u64(r);
		if (r->bad)
			return bad(why, "distinct counter truncated");
		if (r->left < 1 || r->p[0] != p)
			return bad(why, "distinct counter precision disagrees with its HLL");
		if (p < sl_hll_precision(dst->hll))
			sl_hll_fold(dst->hll, p);
		degrade(dst, NULL);
		sl_status st = mode == 3   ? sl_hll_load(dst->hll, r, why)
			       : mode == 2 ? sl_hll_load_packed(dst->hll, r, why)
					   : sl_hll_load_v2(dst->hll, r, why);
		if (st != SL_OK)
			return st;
		if (dst->floor < floor)
			dst->floor = floor;
		return SL_OK;
	}

	uint8_t has_zero = sl_wire_get_u8(r);
	uint64_t count = sl_wire_get_u64(r);
	if (r->bad)
		return bad(why, "distinct counter truncated");
	if (has_zero > 1 || count < has_zero)
		return bad(why, "distinct counter header impossible");
	uint64_t nonzero = count - has_zero;
	if (!sl_wire_need(r, nonzero, sizeof(uint64_t)))
		return bad(why, "distinct counter hashes past the end of the section");
	const uint8_t *h = r->p;
	for (uint64_t i = 0; i < nonzero; i++)
		if (!sl_wire_le64(h + 8 * i))
			return bad(why, "distinct counter holds the hash 0 in its list");
	sl_wire_take(r, (size_t)nonzero * 8);

	if (p < sl_hll_precision(dst->hll))
		sl_hll_fold(dst->hll, p);
	/* The set dst would need: 16 slots doubled while load > 3/4. */
	uint64_t cap = MIN_SLOTS;
	while (nonzero * 4 > cap * 3 && cap < ((uint64_t)1 << 60))
		cap *= 2;
	size_t fixed = fixed_bytes(sl_hll_precision(dst->hll));
	bool fits = !dst->relieve && fixed <= dst->max_bytes && cap <= (dst->max_bytes - fixed) / 8 / 3 * 2;
	for (uint64_t i = 0; i < nonzero; i++)
		sl_distinct_add_hash(dst, sl_wire_le64(h + 8 * i));
	if (has_zero)
		sl_distinct_add_hash(dst, 0);
	if (dst->set) {
		if (dst->count != count)
			return bad(why, "distinct counter lists a hash twice");
		return SL_OK;
	}
	if (fits)
		return SL_ENOMEM; /* the budget, not max_bytes, refused the set */
	/* dst was empty: its registers are those of the `count` listed hashes */
	dst->floor = count;
	sl_hll_restart_hip(dst->hll, (double)count);
	return SL_OK;
}

int sl_distinct_created_precision(const sl_distinct *d)
{
	return sl_hll_created_precision(d->hll);
}
