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
 *   (c) the entries become a binary min-heap (free counters first); (d) each
 *   src key not in dst becomes a candidate floor_dst + count_src, placed in
 *   a free counter or evicting dst's minimum when larger (else dropped); (e)
 *   the order below is rebuilt by heap sort. The minimum only rises in (d),
 *   so a src key whose dst counter was evicted in (d) is dropped again
 *   rather than counted twice. Only dst's fixed arrays are touched: no
 *   allocation; O((m_src + m_dst) log m_dst).
 *
 * Keys
 *   A key is identified by (64-bit hash, length) and its stored bytes: keys
 *   with equal hashes but different bytes (within the stored prefix) get
 *   separate counters. At most SL_TOPK_VALUE_MAX bytes are stored; a longer
 *   key, or one that the key arena cannot hold whole, keeps a prefix (of at
 *   least INLINE = 32 bytes) and is listed with truncated = true, but is
 *   still counted under its full hash and
 *   length. Lengths are kept as 32 bits (saturating). Correctness does not
 *   depend on the hash being sl_hash(key): any hash that is a function
 *   of the key works (the tests feed deliberately colliding ones); only
 *   speed does. A weight of 0 is ignored. A row's max_error is that key's
 *   own error, 0 for a key counted since before the first eviction.
 *   Listing needs no memory: the caller's rows serve as a heap of the best
 *   n so far, then are heap-sorted (O(m log n)).
 *
 * The order (Stream-Summary as a sorted array)
 *   Metwally et al. keep counters in buckets of equal count, linked in
 *   count order, so that an increment by 1 and an eviction are O(1). Here
 *   the same is an array: order[] has one entry {count, slot, group} per
 *   counter, sorted by count ascending once the table is not exact; a run
 *   of equal counts is a "group" and gend[group] is its last position (at
 *   most m groups; free ids are chained through gend). To add w to a
 *   counter: swap its entry with the last of its run, then hop over each
 *   run whose count is below the new count (one swap with that run's last
 *   entry per run), then join the next run if its count equals the new
 *   count, else start a run. For w = 1 no run is hopped, so an add is O(1)
 *   and touches the entry's neighbours, gend and at most one other slot;
 *   a weighted add costs O(1 + runs with counts in (c, c + w)), at most
 *   O(m). The victim of an eviction is the last entry of the run at
 *   position 0 (any minimum will do). While exact the entries are kept in
 *   no order (an add is one increment) and are sorted once, by heap sort, at
 *   the first eviction. After a merge that leaves counters free while not
 *   exact, the free counters are entries of count floor placed at the end of
 *   the minimum run, so an eviction takes them first and they are handed
 *   out with count floor + w and error floor as Space-Saving asks.
 *
 * Lazy hits (Space-Saving)
 *   A hit on a held key adds to the slot's `pending` (up to PENDING_MAX =
 *   255; the add that would pass it moves pending + w into order[] with
 *   bump), so that a hit touches its index line and its slot and nothing
 *   else: order[], gend[] and the slot of a run's last entry are left for
 *   the evictions. order[] then sorts the counters by a lower bound of
 *   their counts (count = order count + pending, see count_of). An
 *   eviction takes the last entry of the run at position 0 as above, but
 *   if its slot has hits pending, they are moved into order[] first (the
 *   entry moves up) and the new last entry of the minimum run is looked
 *   at, until one has none: its order count is then its count, and no
 *   other count is below it (each is at least its order count, which is
 *   at least this one), so the victim is a true minimum, as Space-Saving
 *   asks. Each pending hit is moved once, so the cost is that of the
 *   eager adds, or less (one bump for several hits). Merges and encode
 *   move every pending hit first (settle), so that order[] holds the
 *   counts. At -m 64M on the 1 GiB bench log (six lists of 26,000 to
 *   39,000 counters) a quarter of the hits were on a counter in a run of
 *   equal counts, whose eager add read and wrote the run's last entry and
 *   its slot, two more random lines; see Speed.
 *
 * Growth (memory is a cap, not a reservation)
 *   A table starts with FIRST_KEYS counters and a FIRST_ARENA-byte arena
 *   and, while exact, grows as keys arrive: the counters grow by half (one
 *   sl_realloc of the block; the slots slide to their new place and index
 *   is rebuilt), or by an eighth when the budget refuses a half, so that a
 *   pooled table fills what is left before it degrades; the arena grows by
 *   half when a key does not fit. An exact table above FIRST_KEYS counters
 *   has no order[] or gend[] (see Memory), so a table on its own grows up
 *   to m_exact_max keys, as many as fit the block of m_max Space-Saving
 *   counters (about 1.23 m_max), with the arena up to arena_max, so its
 *   peak never passes max_bytes; it degrades to m_max counters. A pooled
 *   table (sl_topk_set_pool, lib/report/report.c) grows past them while its budget
 *   allows; when the budget refuses, it asks the pool (relieve) to degrade
 *   another table, or degrades itself.
 *   Exact tables store every key whole (up to KEY_MAX = 65535 bytes, so a
 *   SL_FMT_LINES line of exactly SL_LINE_MAX bytes is the one key that
 *   can be cut while exact): a key that does not fit makes the table grow
 *   or degrade, never a cut key.
 *   Degrading (sl_topk_degrade, the first eviction) never fails: a table
 *   at or below m_max becomes Space-Saving in place once its block has
 *   room for order[] and gend[]; a larger one keeps its m_max largest
 *   counts (ties broken by slot, that is by arrival; found by selection,
 *   O(m), not by a sort, on (count, slot) entries written over the index; the
 *   floor is the largest count dropped), slides the kept slots down,
 *   compacts the arena and shrinks both blocks (shrink()). When the
 *   budget refuses the room order[] needs, the table keeps as many
 *   counters as its own block holds with it (at least 3/4 of them, since
 *   it holds more than FIRST_KEYS): fewer than m_max then, with the same
 *   guarantees for that m. Once not exact, long keys are cut to
 *   SL_TOPK_VALUE_MAX and to the arena share long_max (computed from
 *   arena_max and m only), and the table never grows again except its
 *   arena up to arena_max.
 *
 * Memory (adds after the table stopped growing, merges of a table that is
 * not exact and listing never allocate)
 *   struct sl_topk  a block of its own (its address never changes)
 *   block        slots, index, order and gend, 64-byte aligned (64 bytes of
 *                slack); the layout is [slots][index][order][gend]. An
 *                exact table of more than FIRST_KEYS counters has no order
 *                or gend ([slots][index]): it needs neither, and it gets
 *                them when it degrades, so that its keys cost 85 bytes
 *                rather than 105 and a table stays exact longer.
 *   index        C = ceil(m / PER_CHUNK) chunks of one cache line (64-byte
 *                aligned; the block has 64 bytes of slack for that), so
 *                64 / PER_CHUNK = 21.3 bytes per counter: 7 lanes of (tag,
 *                slot), tag = the high 32 bits of the hash | 1 (0 = empty
 *                lane), and `over`, the number of entries that found this
 *                chunk full and went on to a later one. A key's home chunk
 *                is its tag scaled to [0, C) (a multiply and a shift: C
 *                need not be a power of two, so the index grows with m and
 *                not by doubling; and an exact table that grows builds its
 *                new index from the old one's entries, in order:
 *                index_from_old); a lookup compares the 7
 *                tags at once (SSE2), checks each match's slot, and goes on
 *                to the next chunk (out of line: find_far) only while
 *                `over` is not 0, and at most C chunks (every chunk may
 *                have a non-zero `over` at once). Insertion takes the
 *                first free lane from home on (counting itself in `over`
 *                of each full chunk it passes); removal empties the lane
 *                and takes itself out of those counts, so entries never
 *                move and there are no tombstones. Load <= PER_CHUNK / 7
 *                = 3/7, so a lookup reads one chunk nearly always. A
 *                denser index costs time for the chunks past home, which
 *                a Space-Saving table's lookups of absent keys (one per
 *                eviction) must read whenever home's `over` is set: 5/7
 *                saved 3 bytes a counter but took 3.6% more instructions
 *                in the report at -m 1M than 4/7, and 4/7 took 5% more
 *                wall time than 3/7 on the 1 GiB bench log at -m 1M and at
 *                16 MiB (alternating runs). A hit confirms
 *                on the slot's hash and length and on the bytes (compared
 *                inline, 16 at a time).
 *   slots[m]     64 bytes, one cache line (aligned, before the index): hash,
 *                error, len, position of the entry in order[], place of the
 *                index entry (so that an eviction clears it with a store,
 *                without a search that waits for the line), stored length,
 *                held flag, merge mark or (Space-Saving, outside merges)
 *                the hits pending, and 32 bytes holding the key itself
 *                when it has at most INLINE = 32 bytes, else its arena
 *                offset. Client addresses, most paths and "-" then cost no
 *                line beyond the slot's, on a hit or an eviction.
 *   order[m]     16 bytes (Space-Saving, or an exact table of at most
 *                FIRST_KEYS counters): count, slot, group (above). In Space-Saving the
 *                count lives here rather than in the slot so that the
 *                neighbours an add compares with share its cache line.
 *                While exact, order[] (if any) has no order and the count
 *                lives in the slot's `error` (every error is 0 then), so
 *                that a hit touches the index line and the slot only;
 *                to_order moves the counts here when the table stops being
 *                exact (degrade, shrink, merge); count_of / error_of read
 *                either.
 *   gend[m]      4 bytes: last position of each group, or the next free id.
 *   arena        a block of its own, for keys longer than INLINE: records [u32 slot]
 *                [u16 size][size bytes], appended. A record is live when its
 *                slot still points at it; its first `stored` bytes are the
 *                key. An evicted key's record is rewritten in place when the
 *                new key fits (the spare tail is garbage until compaction),
 *                else the new key is appended. When an append does not fit,
 *                the arena is compacted in place by one walk that slides
 *                live keys down. Live bytes (header + stored) are held to
 *                7/8 of the arena (m headers are reserved, the rest,
 *                long_max, is shared by the long keys first come first
 *                served), so a compaction frees at least 1/8 and the copying
 *                is amortized O(1) per stored byte. In Space-Saving a
 *                long key that finds the pool spent keeps its first INLINE
 *                bytes in the slot (listed as truncated); every key thus
 *                keeps at least min(len, 32) bytes. Keys stored whole while
 *                exact may hold more than long_max when the table degrades;
 *                new long keys are then cut to INLINE until evictions free
 *                room.
 *   Cost model: m is the largest count with
 *       sizeof(struct) + 64 + 64 ceil(m / 3) + m (64 + 16 + 4 + 6 + 40)
 *           <= max_bytes:
 *   151 bytes per counter, where 40 bytes is the arena allowance per key
 *   for the long ones and 6 its record header. Every byte left over goes
 *   to the arena (capped at what m keys of SL_TOPK_VALUE_MAX bytes could
 *   use). m < 16 -> sl_topk_new returns NULL. These are m_max and
 *   arena_max: what the table holds once grown; it starts far smaller.
 *   Per counter in use: Space-Saving 105 bytes (slot 64, order 16, gend
 *   4, index 21), exact 85 (slot 64, index 21), plus key bytes past
 *   INLINE and their 6-byte header; growth leaves up to a third of an
 *   exact table's counters unused (a half below GROW_FAST counters). The
 *   slot's 32 key bytes are the key's own for keys of up to 32 bytes
 *   (addresses, most paths), so the overhead beyond a short key is 53
 *   bytes exact (hash 8, count 8, length 4 + 2, place in the index 4,
 *   flags 2, pos 4 (unused while exact), index 21) and 73 in Space-Saving
 *   (+ order 16 and gend 4), plus the slot's bytes the key leaves unused.
 *   Before (power-of-two index at load <= 4/7, order[] also while exact,
 *   doubling): 16..32 bytes of index, 100..116 per exact key plus up to
 *   half of the table unused after a doubling, 130 + 16..32 per counter
 *   in the cost model (7,055 counters in 1 MiB, now 6,927).
 *   Against DataSketches' frequent items (ReversePurgeHashMap: a 64-bit
 *   item and a 64-bit count in parallel arrays at load 3/4, about 21-24
 *   bytes, one global error offset and a purge by the median instead of an
 *   order): a per-key error, a stored 64-bit hash (merges and states of
 *   string keys need it) and a count are 24 bytes before any index, so
 *   this layout's floor is about 40 bytes exact; what stands between that
 *   and 53 is the slot's pos and where (4 + 4, which make an eviction O(1)
 *   with no search) and the index's load, held at 3/7 for speed.
 *
 * Speed (a 2-core VM where wall time is noisy; cachegrind counts are not):
 *   a hit costs a probe of one index line, the slot and the key bytes (an
 *   eager Space-Saving hit, before the lazy hits above, also read one
 *   order line, plus gend and one more slot when its run was longer than
 *   one); an eviction adds the victim's slot, its index line and the arena
 *   tail. Against the binary min-heap this replaced (an eviction sifted
 *   from the root through ~log2 m levels, since the tail keys tie at the
 *   minimum count), Zipf(1.0) over 10^6 URL-like keys into m ~ 1000 went
 *   from 385 to 307 instructions and from 6.2 to 4.6 L1 misses per add
 *   (106 -> 93 ns; Zipf(0.8), more evictions: 148 -> 112 ns). The chunked
 *   index replaced linear probing over 8-byte entries, whose probe loops,
 *   backward-shift deletion and byte loop mispredicted about 2 branches
 *   per add; in the access-log report (six lists, 1 GiB log) that cut the
 *   run by about 7%. Keeping short keys in the slot (rather than all keys
 *   in the arena) took the report's simulated L1 misses from 23.4 to 18.3
 *   per line and its last-level misses from 1.85 to 1.09 (cachegrind, 32 KiB
 *   L1, 512 KiB L2 as last level, 50 MB of the bench log). Two misses are
 *   now overlapped with other work instead of waited for: the victim of the
 *   next eviction is known when an eviction ends, so its slot is prefetched
 *   then (add_new's perf samples halved), and the index entry of an evicted
 *   key is cleared by a store through `where` rather than found by a search
 *   (index_remove's samples fell by 60%). A caller holding several keys can
 *   prefetch their index lines (sl_topk_prefetch), and later, once those
 *   have arrived, the counters they name and their long keys
 *   (sl_topk_prefetch_slot, which returns the counter as a guess, and
 *   sl_topk_prefetch_count_at), then add at the guessed counter
 *   (sl_topk_add_at: the key checked there, else looked up), as the report
 *   does once its tables outgrow the caches (lib/report/report.c,
 *   "Prefetching": at -m 64M on a 200 MB bench log sl_topk_add fell from
 *   36% of the samples to 14%, and the run by about 20%; the guesses, which
 *   spare reading the index line again twice, 4.7% of the instructions). An
 *   eviction of a key of up to INLINE bytes calls no function (the index
 *   and key stores are inline; longer keys call store_long): the report
 *   went from 597 to 582 M instructions on 50 MB of the bench log. What
 *   is left is mostly the index line and the slot of each lookup.
 *   The multiply-shift home and the smaller exact layout (issue 12, item
 *   4; callgrind, sluice -j1 on a 200,000-line sluice-gen log): 566.0 ->
 *   559.5 M instructions at the default budget, 494.6 -> 502.7 M (+1.6%,
 *   the multiply in sl_topk_add and the three prefetch hints) at -m 1M,
 *   and 15.59 -> 15.57 M on 5,000 lines; sl_topk_add itself is unchanged
 *   (56.6 -> 56.5 M) once the chunks past home are out of line. Growing by
 *   half rather than doubling rebuilt the index twice as often, which
 *   cost 5% on the small run: tables double up to GROW_FAST counters.
 *   Lazy hits (issue 12, the -m 64M speed line), with the report's third
 *   prefetch stage kept for long keys only and an eviction prefetching
 *   the next two victims' slots: sluice --json (two workers) on the 1 GiB
 *   bench log, 9 alternating runs in one quiet session, min (median) wall
 *   time, -m 1M 0.73 (0.77) -> 0.72 (0.74) s, -m 64M 1.29 (1.34) -> 1.11
 *   (1.16) s: the ratio 1.77 (1.74) -> 1.54 (1.57); noisier sessions gave
 *   1.92 (1.83) -> 1.62 (1.50).
 *   callgrind, sluice -j1 -m 1M on 100,000 lines of it: 292.4 -> 284.5 M
 *   instructions. Tried without gain there: madvise(MADV_HUGEPAGE) on the
 *   blocks of 2 MiB or more, and MADV_COLLAPSE of a degraded table's
 *   block; a ring of 8 lines with STAGE 2, or STAGE 2 or 4 in 16; a
 *   second prefetch for a distinct set probe that starts at a line's end;
 *   prefetching the counters a merge looks up. What is left at -m 64M is
 *   mostly the waits for the index line and the counter of each list's
 *   cold keys (perf puts them on the prefetch hints, which block).
 */
#include "sluice.h"
#include "core/unaligned.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define HDR 6			/* arena record header: u32 slot, u16 stored */
#define INLINE SL_TOPK_PREFIX_MIN /* keys of up to this many bytes live in the slot */
#define KEY_ALLOWANCE 40	/* arena bytes budgeted per key, for longer keys */
#define MIN_KEYS 16
#define MAX_KEYS ((uint32_t)1 << 30)
#define KEY_MAX UINT16_MAX	/* stored bytes of a key, exact or not */
#define FIRST_KEYS 64		/* capacity of a new table, before it grows */
#define FIRST_ARENA 2048	/* arena bytes of a new table */
#define NONE UINT32_MAX
#define GROW_FAST 4096		/* counters: below, a table doubles; above, grows by half */
#define PER_CHUNK 3		/* counters per index chunk at capacity: load <= 3/7 */
#define AHEAD 8			/* keys ahead whose index line a loop prefetches */
#define PENDING_MAX UINT8_MAX	/* hits a Space-Saving slot holds before order[] */

struct slot {
	uint64_t hash;
	uint64_t error;		/* exact: the count (see count_of) */
	uint32_t len;		/* full key length, saturated at 2^32 - 1 */
	uint32_t pos;		/* its entry in `order` */
	uint32_t where;		/* its index entry: chunk * 8 + lane (held) */
	uint16_t stored;	/* bytes stored: in k.inl if <= INLINE, else at k.off */
	uint8_t held;		/* holds a key (else a free counter) */
	union {
		uint8_t mark;	/* merge and shrink scratch (pending is 0 then) */
		uint8_t pending; /* Space-Saving: hits not yet in order[] */
	};
	union {
		char inl[INLINE];	/* the key, when stored <= INLINE */
		uint32_t off;		/* else its record's bytes in the arena */
	} k;
};
_Static_assert(INLINE <= SL_TOPK_VALUE_MAX, "a slot's key is never truncated");
_Static_assert(sizeof(struct slot) == 64, "a slot is one cache line");

/* One cache line of the index: up to 7 entries (tag, slot). */
#define LANES 7
struct chunk {
	uint32_t tag[LANES];	/* (hash >> 32) | 1; 0: the lane is empty */
	uint32_t over;		/* entries placed past this chunk while full */
	uint32_t slot[LANES];
	uint32_t spare;
};
#define CHUNK_ALIGN 64		/* slack in the block to align the index */
_Static_assert(sizeof(struct chunk) == 64, "a chunk is one cache line");

struct place {
	uint64_t count;		/* the count of counter `slot` */
	uint32_t slot;
	uint32_t group;		/* its run of equal counts (merge: held flag) */
};
_Static_assert(PER_CHUNK * sizeof(struct place) <= sizeof(struct chunk),
	       "an exact table's (count, slot) entries fit its index (shrink)");

#define PER_KEY (sizeof(struct slot) + sizeof(struct place) + \
		 sizeof(uint32_t) + HDR + KEY_ALLOWANCE)

struct sl_topk {
	struct slot *slots;	/* 64-byte aligned, first in `block` */
	struct chunk *index;	/* right after the slots */
	struct place *order;	/* one entry per counter; see below */
	uint32_t *gend;		/* group -> its last position, or next free */
	char *arena;		/* a block of its own */
	uint32_t chunks;	/* index chunks: ceil(m / PER_CHUNK) */
	uint32_t m_exact_max;	/* alone (no pool): the most keys while exact */
	uint32_t m;		/* capacity now */
	uint32_t n;		/* counters holding a key */
	uint32_t free_group;	/* head of the free group list, NONE: empty */
	size_t arena_size;
	size_t arena_used;	/* end of the last record */
	size_t arena_live;	/* bytes of live records */
	size_t long_live;	/* stored bytes of the keys in the arena */
	size_t long_max;	/* the most long_live may reach (Space-Saving) */
	uint64_t total;		/* N */
	uint64_t floor;		/* bound on any key not held */
	bool exact;
	bool where_stale;	/* exact: slots' `where` not kept (index_from_old) */
	sl_budget *budget;
	char *block;		/* slots, index, order, gend (+ CHUNK_ALIGN) */
	size_t block_bytes;
	uint32_t m_max;		/* the Space-Saving capacity max_bytes buys */
	size_t arena_max;	/* the arena max_bytes buys with m_max */
	sl_relieve_fn relieve; /* set: pooled (grows past max_bytes) */
	void *relieve_ud;
};

/* ---- the order: counters by count ascending, in runs (groups) ----
 *
 * order[] holds one entry per counter (free ones too), and slots[s].pos is
 * where s's entry is, always. While exact the entries are in no order; once
 * not exact they are sorted by count ascending, equal counts form a run
 * whose entries share a group id g, and gend[g] is the run's last position.
 * Free group ids are chained through gend from free_group. */

static void free_group(sl_topk *t, uint32_t g)
{
	t->gend[g] = t->free_group;
	t->free_group = g;
}

/* Adds w to counter s's count and moves its entry to its place: first to
 * the end of its run, then past every run whose count is below the new one
 * (one swap per run passed: none when w = 1), then into the run of its new
 * count or a run of its own. The common cases touch only the entries next
 * to s's: a run of one (no swap), and a count + 1 that joins the next run. */
static void bump(sl_topk *t, uint32_t s, uint64_t w)
{
	/* the arrays are disjoint parts of the block: restrict lets the
	 * compiler keep values in registers across the stores */
	struct place *restrict o = t->order;
	struct slot *restrict slots = t->slots;
	uint32_t *restrict gend = t->gend;
	uint32_t m = t->m, i = slots[s].pos, g = o[i].group, e = i;
	uint64_t c = o[i].count, c2 = c + w;
	bool alone;
	if (i + 1 < m && o[i + 1].count == c) {
		e = gend[g];
		uint32_t s2 = o[e].slot;
		o[i].slot = s2;
		slots[s2].pos = i;
		gend[g] = e - 1;
		alone = false;
	} else {
		alone = i == 0 || o[i - 1].count != c;
		if (!alone)
			gend[g] = e - 1;
	}
	while (e + 1 < m && o[e + 1].count < c2) {
		uint32_t h = o[e + 1].group, f = gend[h], s3 = o[f].slot;
		o[e].count = o[e + 1].count;
		o[e].slot = s3;
		o[e].group = h;
		slots[s3].pos = e;
		gend[h] = f - 1;
		e = f;
	}
	o[e].count = c2;
	o[e].slot = s;
	slots[s].pos = e;
	if (e + 1 < m && o[e + 1].count == c2) {
		o[e].group = o[e + 1].group;
		if (alone) {	/* g is free (free_group) */
			gend[g] = t->free_group;
			t->free_group = g;
		}
	} else if (alone) {
		o[e].group = g;
		gend[g] = e;
	} else {
		g = t->free_group;	/* new_group */
		t->free_group = gend[g];
		o[e].group = g;
		gend[g] = e;
	}
}

/* bump(t, order[e].slot, 1) for the entry at e, the last of the run of
 * smallest count (group g, from position 0), as an eviction leaves it:
 * what bump finds out by comparing with its neighbours is known here (the
 * entry stays at e; it is alone in its run iff e == 0). */
static void step_minimum(sl_topk *t, uint32_t e, uint32_t g)
{
	struct place *o = t->order;
	uint64_t c2 = o[e].count + 1;
	o[e].count = c2;
	if (e > 0)
		t->gend[g] = e - 1;
	if (e + 1 < t->m && o[e + 1].count == c2) {
		o[e].group = o[e + 1].group;
		if (e == 0)
			free_group(t, g);
	} else if (e > 0) {
		uint32_t ng = t->free_group;
		t->free_group = t->gend[ng];
		o[e].group = ng;
		t->gend[ng] = e;
	}
}

/* Moves slot s's pending hits into order[] (bump). */
static void settle_slot(sl_topk *t, uint32_t s)
{
	uint8_t p = t->slots[s].pending;
	t->slots[s].pending = 0;
	bump(t, s, p);
}

/* Moves every pending hit into order[], which is then sorted by the true
 * counts (merge and encode need that). Changes no count. */
static void settle(sl_topk *t)
{
	if (t->exact)
		return;
	for (uint32_t s = 0; s < t->m; s++)
		if (t->slots[s].pending)
			settle_slot(t, s);
}

/* Adds every pending hit to its entry's count in place, leaving order[]
 * unsorted: for the merge, which makes order[] a heap and rebuilds it
 * anyway (settle would move each entry through the runs first). */
static void fold_pending(sl_topk *t)
{
	for (uint32_t s = 0; s < t->m; s++) {
		struct slot *sl = &t->slots[s];
		if (sl->pending) {
			t->order[sl->pos].count += sl->pending;
			sl->pending = 0;
		}
	}
}

/* ---- the merge heap: order[] as a binary min-heap by count, a free
 * counter (group 0) before a held one (group 1) of equal count ---- */

static bool below(const struct place *x, const struct place *y)
{
	return x->count < y->count || (x->count == y->count && x->group < y->group);
}

static void heap_set(sl_topk *t, uint32_t i, struct place p)
{
	t->order[i] = p;
	t->slots[p.slot].pos = i;
}

/* Sifts order[i] down the heap order[0..n); every entry moved updates its
 * slot's pos (the merge looks entries up through pos). */
static void sift_down(sl_topk *t, uint32_t i, uint32_t n)
{
	struct place *o = t->order, p = o[i];
	for (;;) {
		uint32_t l = 2 * i + 1;
		if (l >= n)
			break;
		if (l + 1 < n && below(&o[l + 1], &o[l]))
			l++;
		if (!below(&o[l], &p))
			break;
		heap_set(t, i, o[l]);
		i = l;
	}
	heap_set(t, i, p);
}

/* Makes order[] a heap; free counters count `free_count`. */
static void heapify(sl_topk *t, uint64_t free_count)
{
	for (uint32_t i = 0; i < t->m; i++) {
		struct place *p = &t->order[i];
		p->group = t->slots[p->slot].held;
		if (!p->group)
			p->count = free_count;
	}
	for (uint32_t i = t->m / 2; i-- > 0;)
		sift_down(t, i, t->m);
}

/* Is entry a before entry b by (count, group, slot)? In build_order the
 * group is the held flag, so free counters come first among equal counts;
 * the slot makes it a total order (one input, one order). */
static inline bool place_before(const struct place *a, const struct place *b)
{
	if (a->count != b->count)
		return a->count < b->count;
	if (a->group != b->group)
		return a->group < b->group;
	return a->slot < b->slot;
}
/* Sifts o[i] down the max-heap o[0..n) by place_before. */
static void place_sift(struct place *o, uint32_t i, uint32_t n)
{
	struct place x = o[i];
	for (;;) {
		uint32_t l = 2 * i + 1;
		if (l >= n)
			break;
		if (l + 1 < n && place_before(&o[l], &o[l + 1]))
			l++;
		if (!place_before(&x, &o[l]))
			break;
		o[i] = o[l];
		i = l;
	}
	o[i] = x;
}

/* Sorts o[0..n) by place_before: quicksort (median of three, the smaller
 * side first, runs under 16 by insertion), heap sort after `depth` levels
 * (an order that defeats the pivot). In place, no allocation; order[]
 * (16 bytes a counter) is scanned, not jumped through as a heap is: 38,000
 * counters sort in about a third of a heap sort's time. */
static void sort_places(struct place *o, uint32_t n, unsigned depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			for (uint32_t k = n / 2; k-- > 0;)
				place_sift(o, k, n);
			for (uint32_t end = n; end > 1; end--) {
				struct place x = o[0];
				o[0] = o[end - 1];
				o[end - 1] = x;
				place_sift(o, 0, end - 1);
			}
			return;
		}
		struct place *a = &o[0], *b = &o[n / 2], *c = &o[n - 1], pivot;
		if (place_before(b, a)) {
			struct place *x = a;
			a = b;
			b = x;
		}
		pivot = place_before(c, a) ? *a : place_before(c, b) ? *c : *b;
		uint32_t i = 0, j = n - 1;
		for (;;) {	/* Hoare: the keys are distinct */
			while (place_before(&o[i], &pivot))
				i++;
			while (place_before(&pivot, &o[j]))
				j--;
			if (i >= j)
				break;
			struct place x = o[i];
			o[i++] = o[j];
			o[j--] = x;
		}
		/* o[0..j] <= pivot <= o[j+1..n) */
		uint32_t left = j + 1;
		if (left < n - left) {
			sort_places(o, left, depth);
			o += left;
			n -= left;
		} else {
			sort_places(o + left, n - left, depth);
			n = left;
		}
	}
	for (uint32_t i = 1; i < n; i++) {
		struct place x = o[i];
		uint32_t j = i;
		for (; j > 0 && place_before(&x, &o[j - 1]); j--)
			o[j] = o[j - 1];
		o[j] = x;
	}
}

/* Sorts the entries (free counters count floor) by count ascending (ties:
 * free counters, then by slot), then moves the free counters to the end
 * of the run of count floor, so that they are taken before held keys of
 * that count; then runs get group ids 0, 1, ... and the other ids are
 * chained free. */
static void build_order(sl_topk *t)
{
	uint32_t m = t->m, nfree = 0;
	struct place *o = t->order;
	/* the slots in order (a scan), their entries at random in order[],
	 * which is the smaller */
	for (uint32_t s = 0; s < m; s++) {
		struct place *p = &o[t->slots[s].pos];
		p->group = t->slots[s].held;
		if (!p->group)
			p->count = t->floor;
	}
	sort_places(o, m, 2 * (32 - (unsigned)__builtin_clz(m | 1)));
	/* ascending, free counters (group 0) first in the run of count floor:
	 * move the held keys of count floor in front of them */
	while (nfree < m && !o[nfree].group)
		nfree++;
	if (nfree) {
		uint32_t k = nfree;
		while (k < m && o[k].count == t->floor)
			k++;
		memmove(o, o + nfree, (k - nfree) * sizeof *o);
		uint32_t p = k - nfree;
		for (uint32_t s = 0; s < m; s++) {
			if (!t->slots[s].held)
				o[p++] = (struct place){t->floor, s, 0};
		}
	}
	uint32_t g = 0;
	for (uint32_t i = 0; i < m; i++) {
		if (i > 0 && o[i].count != o[i - 1].count)
			g++;
		o[i].group = g;
		t->gend[g] = i;
		t->slots[o[i].slot].pos = i;
	}
	t->free_group = NONE;
	for (uint32_t id = m; id-- > g + 1;)
		free_group(t, id);
}

/* ---- index ---- */

/* Bit i set for each lane i < LANES of c whose tag is `tag` (0: the empty
 * lanes): two SSE2 compares of four tags, else a loop. */
static inline unsigned lanes(const struct chunk *c, uint32_t tag)
{
#if defined(__SSE2__)
	__m128i k = _mm_set1_epi32((int)tag);
	__m128i a = _mm_load_si128((const __m128i *)(const void *)c->tag);
	__m128i b = _mm_load_si128((const __m128i *)(const void *)(c->tag + 4));
	unsigned m = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(a, k))) |
		     (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(b, k))) << 4;
	return m & ((1u << LANES) - 1);	/* lane 7 is `over` */
#else
	unsigned m = 0;
	for (unsigned i = 0; i < LANES; i++)
		m |= (unsigned)(c->tag[i] == tag) << i;
	return m;
#endif
}

static inline uint32_t tag_of(uint64_t hash)
{
	return (uint32_t)(hash >> 32) | 1;
}

/* A key's home chunk: its tag scaled to [0, chunks) (a multiply and a
 * shift, so the chunk count need not be a power of two). From the tag, so
 * that an entry's home follows from the entry alone (index_from_old); the
 * tags in one chunk then share their first log2(chunks) bits, and tell
 * keys apart by the rest: 17 bits at 100,000 counters, a false match in a
 * lane once in 130,000 (it costs the read of a counter). */
static inline uint32_t home_of_tag(const sl_topk *t, uint32_t tag)
{
	return (uint32_t)(((uint64_t)tag * t->chunks) >> 32);
}

static inline uint32_t home(const sl_topk *t, uint64_t hash)
{
	return home_of_tag(t, tag_of(hash));
}

static inline uint32_t next_chunk(const sl_topk *t, uint32_t c)
{
	return c + 1 < t->chunks ? c + 1 : 0;
}

/* Puts slot s (whose key's hash is `hash`) in the first chunk with a free
 * lane from its home on; every full chunk passed counts it in `over`, so
 * that lookups go on past it. The slot remembers where its entry went. */
static inline void index_insert(sl_topk *t, uint32_t s, uint64_t hash)
{
	uint32_t c = home(t, hash);
	for (;;) {
		struct chunk *ch = &t->index[c];
		unsigned free_lanes = lanes(ch, 0);
		if (free_lanes) {
			unsigned l = (unsigned)__builtin_ctz(free_lanes);
			ch->tag[l] = tag_of(hash);
			ch->slot[l] = s;
			t->slots[s].where = c * 8 + l;
			return;
		}
		ch->over++;
		c = next_chunk(t, c);
	}
}

/* Empties slot s's lane, found through `where` with no search (so an
 * eviction's store to it need not wait for the line); the chunks before it
 * on its path, if any, count it no more. Entries never move, so there are
 * no tombstones and no shifting. */
static inline void index_remove(sl_topk *t, uint32_t s)
{
	uint32_t where = t->slots[s].where, at = where / 8;
	t->index[at].tag[where % 8] = 0;
	for (uint32_t c = home(t, t->slots[s].hash); c != at; c = next_chunk(t, c))
		t->index[c].over--;
}

/* Where slot s's stored bytes are. */
static inline const char *key_at(const sl_topk *t, const struct slot *s)
{
	return s->stored <= INLINE ? s->k.inl : t->arena + s->k.off;
}

/* The slot holding (hash, len) whose stored bytes agree with the first
 * nbytes of key on their common length, or NULL. */
static struct slot *find(const sl_topk *t, const char *key, size_t nbytes,
			 uint32_t len, uint64_t hash)
{
	uint32_t c = home(t, hash), tag = tag_of(hash), left = t->chunks;
	for (;;) {
		const struct chunk *ch = &t->index[c];
		for (unsigned m = lanes(ch, tag); m; m &= m - 1) {
			struct slot *s = &t->slots[ch->slot[__builtin_ctz(m)]];
			size_t k = s->stored < nbytes ? s->stored : nbytes;
			if (s->hash == hash && s->len == len &&
			    same_bytes(key_at(t, s), key, k))
				return s;
		}
		if (!ch->over || !--left)	/* every chunk passed: absent */
			return NULL;
		c = next_chunk(t, c);
	}
}

/* find() for a key whose home chunk did not hold it (sl_topk_add). */
static __attribute__((noinline)) struct slot *find_far(const sl_topk *t, const char *key,
						      size_t nbytes, uint32_t len, uint64_t hash)
{
	return find(t, key, nbytes, len, hash);
}

/* ---- key arena ---- */

/* Releases slot s's key bytes from the arena's accounting (a key in the
 * slot has none). The record stays where it is (as garbage) until
 * store_key reuses it or moves on. */
static void drop_key(sl_topk *t, struct slot *s)
{
	if (s->stored <= INLINE)
		return;
	t->arena_live -= HDR + (size_t)s->stored;
	t->long_live -= s->stored;
}

/* Slides live records to the front, in arena order, each cut to its
 * stored bytes. */
static void compact(sl_topk *t)
{
	size_t rd = 0, wr = 0;
	while (rd < t->arena_used) {
		uint32_t id;
		uint16_t len;
		memcpy(&id, t->arena + rd, 4);
		memcpy(&len, t->arena + rd + 4, 2);
		if (id < t->m && t->slots[id].stored > INLINE && t->slots[id].k.off == rd + HDR) {
			struct slot *sl = &t->slots[id];
			if (wr != rd)
				memmove(t->arena + wr, t->arena + rd, HDR + (size_t)sl->stored);
			memcpy(t->arena + wr + 4, &sl->stored, 2);
			sl->k.off = (uint32_t)(wr + HDR);
			wr += HDR + (size_t)sl->stored;
		}
		rd += HDR + (size_t)len;
	}
	t->arena_used = wr;
}

/* memcpy(dst, src, n), inline for the short keys that evictions mostly
 * store (addresses, short paths): a call costs more than the copy. Only
 * bytes inside both ranges are touched. */
static inline void copy_key(char *dst, const char *src, size_t n)
{
	uint64_t x, y;
	if (n > 2 * 16) {
		memcpy(dst, src, n);
	} else if (n > 16) {	/* two 16-byte blocks, the second ending at n */
		char a[16], b[16];
		memcpy(a, src, 16);
		memcpy(b, src + n - 16, 16);
		memcpy(dst, a, 16);
		memcpy(dst + n - 16, b, 16);
	} else if (n >= 8) {
		memcpy(&x, src, 8);
		memcpy(&y, src + n - 8, 8);
		memcpy(dst, &x, 8);
		memcpy(dst + n - 8, &y, 8);
	} else if (n >= 4) {
		uint32_t u, v;
		memcpy(&u, src, 4);
		memcpy(&v, src + n - 4, 4);
		memcpy(dst, &u, 4);
		memcpy(dst + n - 4, &v, 4);
	} else if (n) {
		char a = src[0], b = src[n / 2], c = src[n - 1];
		dst[0] = a;
		dst[n / 2] = b;
		dst[n - 1] = c;
	}
}

static void store_long(sl_topk *t, uint32_t s, const char *key, size_t want);
static bool grow_arena(sl_topk *t, size_t need);

/* Puts want <= INLINE bytes of key in slot sl itself. */
static inline void store_inline(struct slot *sl, const char *key, size_t want)
{
	copy_key(sl->k.inl, key, want);
	sl->stored = (uint16_t)want;	/* an old record is garbage now */
}

/* Stores up to SL_TOPK_VALUE_MAX bytes of key for slot s (whose old bytes,
 * if any, were dropped). Up to INLINE bytes go in the slot. A longer key
 * goes to the arena while long_max allows, else its first INLINE bytes go
 * in the slot. The slot's old record is rewritten in place when the key
 * fits in it (its spare tail is garbage until the next compaction), else
 * the key is appended. */
static inline void store_key(sl_topk *t, uint32_t s, const char *key, size_t want)
{
	if (want <= INLINE)	/* most keys: no call, no arena */
		store_inline(&t->slots[s], key, want);
	else
		store_long(t, s, key, want);
}

/* store_key for a key of more than INLINE bytes. */
static __attribute__((noinline)) void store_long(sl_topk *t, uint32_t s, const char *key,
						 size_t want)
{
	struct slot *sl = &t->slots[s];
	if (want > KEY_MAX)
		want = KEY_MAX;
	if (!t->exact) {	/* exact: make_room made room for the whole key */
		if (want > SL_TOPK_VALUE_MAX)
			want = SL_TOPK_VALUE_MAX;
		size_t room = t->long_max > t->long_live ? t->long_max - t->long_live : 0;
		if (want > room)
			want = room > INLINE ? room : INLINE;
	}
	if (want <= INLINE) {
		store_inline(sl, key, want);
		return;
	}
	t->long_live += want;
	if (sl->stored > INLINE) {	/* the old key's record */
		uint16_t room;
		memcpy(&room, t->arena + sl->k.off - 2, 2);
		if (want <= room) {
			copy_key(t->arena + sl->k.off, key, want);
			sl->stored = (uint16_t)want;
			t->arena_live += HDR + want;
			return;
		}
	}
	sl->stored = 0;	/* its old record, if any, is garbage now */
	/* live <= m HDR + long_max = 7/8 of arena_max, so after a compaction
	 * the record fits an arena of arena_max bytes; a smaller one (a table
	 * that degraded before its arena grew) grows now, or if the budget
	 * refuses, the key keeps its first INLINE bytes */
	if (t->arena_used + HDR + want > t->arena_size) {
		compact(t);
		if (t->arena_used + HDR + want > t->arena_size &&
		    !grow_arena(t, t->arena_used + HDR + want)) {
			t->long_live -= want;
			store_inline(sl, key, INLINE);
			return;
		}
	}
	uint16_t len16 = (uint16_t)want;
	char *p = t->arena + t->arena_used;
	memcpy(p, &s, 4);
	memcpy(p + 4, &len16, 2);
	copy_key(p + HDR, key, want);
	sl->k.off = (uint32_t)(t->arena_used + HDR);
	sl->stored = len16;
	t->arena_used += HDR + want;
	t->arena_live += HDR + want;
}

/* ---- creation, growth and degrading ---- */

/* Index chunks for capacity m: ceil(m / PER_CHUNK), so that at most PER_CHUNK of
 * a chunk's 7 lanes are taken on average. */
static uint32_t chunks_for(uint32_t m)
{
	return (uint32_t)(((size_t)m + PER_CHUNK - 1) / PER_CHUNK);
}

/* Bytes of the block for capacity m, with its alignment slack; `order`:
 * with order[] and gend[] (Space-Saving; an exact table above FIRST_KEYS
 * counters has neither: see Memory). */
static size_t block_size(uint32_t m, bool order)
{
	size_t per = sizeof(struct slot) + (order ? sizeof(struct place) + sizeof(uint32_t) : 0);
	return CHUNK_ALIGN + (size_t)m * per + (size_t)chunks_for(m) * sizeof(struct chunk);
}

/* Does an exact table of capacity m keep order[] and gend[]? Only a small
 * one (a new table, FIRST_KEYS), so that a degrading table always has a
 * block of at least FIRST_KEYS exact counters to turn into Space-Saving. */
static bool exact_order(uint32_t m)
{
	return m <= FIRST_KEYS;
}

/* Points the arrays into t->block for capacity m: the slots at the first
 * 64-byte boundary, then the index (aligned too: 64 m bytes on), then,
 * with `order`, order and gend (else both NULL). Moves nothing. */
static void point(sl_topk *t, uint32_t m, bool order)
{
	uintptr_t at = ((uintptr_t)t->block + CHUNK_ALIGN - 1) & ~(uintptr_t)(CHUNK_ALIGN - 1);
	t->slots = (struct slot *)at;
	t->index = (struct chunk *)(void *)(t->slots + m);
	t->chunks = chunks_for(m);
	t->order = order ? (struct place *)(void *)(t->index + t->chunks) : NULL;
	t->gend = order ? (uint32_t *)(void *)(t->order + m) : NULL;
	t->m = m;
}

/* The arena share long keys may hold once not exact (see Memory): 7/8 of
 * arena_max, less a header per counter. It depends on max_bytes and m
 * only, not on the arena's size now, so a table restored from a state cuts
 * later keys as the saved one would have. */
static void set_long_max(sl_topk *t)
{
	size_t limit = t->arena_max - t->arena_max / 8, hdrs = (size_t)t->m * HDR;
	t->long_max = limit > hdrs ? limit - hdrs : 0;
}

/* Rebuilds order[] as the identity (counts 0), pos and the index from
 * slots[0..m): slots below n hold keys, their counts in `error` as an
 * exact table keeps them (to_order moves them); the other slots are
 * cleared. */
static void rebuild(sl_topk *t)
{
	memset(t->index, 0, (size_t)t->chunks * sizeof(struct chunk));
	for (uint32_t s = 0; s < t->m; s++) {
		struct slot *sl = &t->slots[s];
		if (s >= t->n)
			memset(sl, 0, sizeof *sl);
		if (t->order)
			t->order[s] = (struct place){0, s, 0};
		sl->pos = s;
		if (s + AHEAD < t->n)	/* a large table's index is out of cache */
			__builtin_prefetch(&t->index[home(t, t->slots[s + AHEAD].hash)], 1);
		if (s < t->n)
			index_insert(t, s, sl->hash);
	}
	t->where_stale = false;
}

/* grow_to's index for an exact table without order[]: built from the old
 * index (old[0 .. old_chunks), in the block above the new slots), each
 * entry placed from its tag, so that lines are read and written in order
 * rather than one at random per key (from the slots, as rebuild does):
 * a table's growths rebuild about three times its final size. The old
 * lines are read from the last; the new index starts above the old one
 * and an entry's new home is at least its old one scaled up, so a write
 * lands above the line being read, and new lines are zeroed as the writes
 * reach them. An entry far past its home, or one that wraps, could land
 * on a line not read yet: then false, the old index spoilt, and the
 * caller rebuilds from the slots. The slots' `where` is not kept (an
 * exact table never removes an entry): where_fix makes it right when the
 * table stops being exact. */
static bool index_from_old(sl_topk *t, const struct chunk *old, uint32_t old_chunks)
{
	uint32_t zero_lo = t->chunks;	/* lines zero_lo.. are zeroed */
	for (uint32_t c = old_chunks; c-- > 0;) {
		struct chunk oc = old[c];	/* the writes may reach old[c] */
		for (unsigned l = 0; l < LANES; l++) {
			if (!oc.tag[l])
				continue;
			uint32_t h = home_of_tag(t, oc.tag[l]);
			for (;;) {
				if (h < zero_lo) {
					if ((uintptr_t)&t->index[h] < (uintptr_t)&old[c])
						return false;
					memset(&t->index[h], 0, (size_t)(zero_lo - h) * sizeof *old);
					zero_lo = h;
				}
				struct chunk *ch = &t->index[h];
				unsigned free_lanes = lanes(ch, 0);
				if (free_lanes) {
					unsigned k = (unsigned)__builtin_ctz(free_lanes);
					ch->tag[k] = oc.tag[l];
					ch->slot[k] = oc.slot[l];
					break;
				}
				ch->over++;
				h = next_chunk(t, h);
			}
		}
	}
	memset(t->index, 0, (size_t)zero_lo * sizeof *old);
	return true;
}

/* Every held slot's `where`, from the index (after index_from_old). */
static void where_fix(sl_topk *t)
{
	for (uint32_t c = 0; c < t->chunks; c++)
		for (unsigned l = 0; l < LANES; l++)
			if (t->index[c].tag[l])
				t->slots[t->index[c].slot[l]].where = c * 8 + l;
	t->where_stale = false;
}

/* An exact table's counts, kept in the slots' `error` (an exact table's
 * errors are all 0), go to their entries in order[], as Space-Saving keeps
 * them; the errors become 0. For a table that stops being exact. */
static void to_order(sl_topk *t)
{
	if (t->where_stale)
		where_fix(t);
	for (uint32_t s = 0; s < t->n; s++) {	/* held: 0..n-1 */
		t->order[t->slots[s].pos].count = t->slots[s].error;
		t->slots[s].error = 0;
	}
}

/* A held slot's count and error, wherever the table keeps them. */
static inline uint64_t count_of(const sl_topk *t, const struct slot *s)
{
	return t->exact ? s->error : t->order[s->pos].count + s->pending;
}

static inline uint64_t error_of(const sl_topk *t, const struct slot *s)
{
	return t->exact ? 0 : s->error;
}

/* Grows the block of an exact table (held slots 0..n-1) to capacity
 * m2 >= m, with order[] and gend[] when `order` (m2 = m: only adds them;
 * m2 < m only for an empty table, which keeps its larger block):
 * one sl_realloc (the budget is charged the difference only), the slots
 * slid to their new place, the rest rebuilt. False (the table unchanged)
 * if the budget refuses. */
static bool grow_to(sl_topk *t, uint32_t m2, bool order)
{
	size_t nb = block_size(m2, order);
	size_t off_s = (size_t)((char *)t->slots - t->block);
	size_t off_i = (size_t)((char *)t->index - t->block);
	uint32_t old_chunks = t->chunks;
	bool from_old = t->exact && !t->order && !order && m2 > t->m;
	char *blk = nb > t->block_bytes ? sl_realloc(t->budget, t->block, t->block_bytes, nb)
					: t->block;
	if (!blk)
		return false;
	struct slot *old = (struct slot *)(void *)(blk + off_s);
	t->block = blk;
	if (nb > t->block_bytes)
		t->block_bytes = nb;
	point(t, m2, order);
	if (from_old && index_from_old(t, (const struct chunk *)(void *)(blk + off_i), old_chunks)) {
		/* the new index lies above every old slot */
		memmove(t->slots, old, (size_t)t->n * sizeof *old);
		for (uint32_t s = t->n; s < m2; s++) {
			memset(&t->slots[s], 0, sizeof *t->slots);
			t->slots[s].pos = s;
		}
		t->where_stale = true;
	} else {
		memmove(t->slots, old, (size_t)t->n * sizeof *old);
		rebuild(t);
	}
	set_long_max(t);
	return true;
}

/* The most the arena may hold: a pooled table is held by the budget only. */
static size_t arena_cap(const sl_topk *t)
{
	return t->relieve ? UINT32_MAX / 2 : t->arena_max;
}

/* Grows the arena to at least need bytes (by half when it can); false
 * (unchanged) past arena_cap or if the budget refuses. */
static bool grow_arena(sl_topk *t, size_t need)
{
	size_t cap = arena_cap(t), a = t->arena_size;
	a += a < GROW_FAST * sizeof(struct slot) ? a : a / 2;
	if (!t->exact)	/* Space-Saving needs arena_max at most */
		cap = t->arena_max > t->arena_size ? t->arena_max : t->arena_size;
	if (need > cap)
		return false;
	if (a < need)
		a = need;
	if (a > cap)
		a = cap;
	char *p = sl_realloc(t->budget, t->arena, t->arena_size, a);
	if (!p && a > need)
		p = sl_realloc(t->budget, t->arena, t->arena_size, a = need);
	if (!p)
		return false;
	t->arena = p;
	t->arena_size = a;
	set_long_max(t);
	return true;
}

/* Room, in an exact table, for one more key of `bytes` stored bytes: a
 * free counter and, for a long key, its record in the arena. */
static bool try_room(sl_topk *t, size_t bytes)
{
	if (t->n == t->m) {
		uint32_t cap = t->relieve ? MAX_KEYS : t->m_exact_max;
		if (t->m >= cap)
			return false;
		/* by half (doubling while small: fewer rebuilds, few
		 * bytes), or else by an eighth (what is left of the pool
		 * before a table must degrade) */
		uint32_t big = t->m + (t->m < GROW_FAST ? t->m : t->m / 2);
		uint32_t small = t->m + t->m / 8;
		big = big < cap ? big : cap;
		small = small < cap ? small : cap;
		if (!grow_to(t, big, exact_order(big)) && !grow_to(t, small, exact_order(small)))
			return false;
	}
	if (bytes > INLINE && t->arena_used + HDR + bytes > t->arena_size) {
		if (t->arena_live < t->arena_used)
			compact(t);
		if (t->arena_used + HDR + bytes > t->arena_size &&
		    !grow_arena(t, t->arena_used + HDR + bytes))
			return false;
	}
	return true;
}

/* try_room, asking the pool (relieve) to free memory while it can. */
static bool make_room(sl_topk *t, size_t bytes)
{
	while (!try_room(t, bytes))
		if (!t->relieve || !t->relieve(t->relieve_ud, t) || !t->exact)
			return false;
	return true;
}

/* Arena bytes that hold k keys' long bytes (key_bytes) whole, also as
 * Space-Saving: then limit = 7/8 arena >= key_bytes + k HDR, so long_max =
 * limit - k HDR holds them. */
static size_t arena_for(uint32_t k, size_t key_bytes)
{
	return (key_bytes + (size_t)k * HDR) / 7 * 8 + 8 * (HDR + 8);
}

/* Once not exact, the arena a table of capacity m holding long_live long
 * bytes has: what max_bytes buys, or more when its keys need it. A
 * function of the contents only, so that a table loaded from a state
 * (sl_topk_load) has the same arena and cuts later keys the same way.
 * Best effort: a refused resize leaves the arena as it is. */
static size_t ss_arena(const sl_topk *t, uint32_t m, size_t long_bytes)
{
	size_t a = arena_for(m, long_bytes);
	if (a < t->arena_max)
		a = t->arena_max;
	return a < arena_cap(t) ? a : arena_cap(t);
}

static void settle_arena(sl_topk *t)
{
	size_t a = ss_arena(t, t->m, t->long_live);
	if (a < t->arena_size) {
		compact(t);
		if (a >= t->arena_used) {
			char *p = sl_realloc(t->budget, t->arena, t->arena_size, a);
			if (p) {
				t->arena = p;
				t->arena_size = a;
			}
		}
	}
	set_long_max(t);
}

/* Cuts the keys of slots 0..keep-1 (a table degrading to capacity mt) as
 * Space-Saving stores them: to SL_TOPK_VALUE_MAX bytes, then, while the
 * long keys pass the share long_max of capacity mt, to INLINE bytes (in
 * slot order, so one input cuts the same keys), so that the degraded
 * table fits what max_bytes buys. The rows of cut keys say truncated. */
static void cut_keys(sl_topk *t, uint32_t keep, uint32_t mt)
{
	size_t limit = t->arena_max - t->arena_max / 8, hdrs = (size_t)mt * HDR;
	size_t long_max = limit > hdrs ? limit - hdrs : 0;
	for (uint32_t s = 0; s < keep; s++) {
		struct slot *sl = &t->slots[s];
		if (sl->stored > SL_TOPK_VALUE_MAX) {
			size_t d = sl->stored - (size_t)SL_TOPK_VALUE_MAX;
			t->long_live -= d;
			t->arena_live -= d;
			sl->stored = SL_TOPK_VALUE_MAX;
		}
	}
	for (uint32_t s = 0; s < keep && t->long_live > long_max; s++) {
		struct slot *sl = &t->slots[s];
		if (sl->stored <= INLINE)
			continue;
		char head[INLINE];
		memcpy(head, t->arena + sl->k.off, INLINE);
		drop_key(t, sl);
		memcpy(sl->k.inl, head, INLINE);
		sl->stored = INLINE;
	}
}

/* Rearranges o[0..n) (distinct entries) so that o[k] is the entry of rank
 * k by place_before, those before it of lower rank and those after of
 * higher (Hoare's FIND, as Wirth writes it): O(n) expected, each round a
 * scan of the entries. After a bound on the rounds (an order that defeats
 * the pivot) it sorts instead, which also places rank k at k. */
static void select_place(struct place *o, uint32_t n, uint32_t k)
{
	int64_t lo = 0, hi = (int64_t)n - 1;
	unsigned rounds = 0;
	while (lo < hi) {
		if (++rounds > 128) {
			sort_places(o + lo, (uint32_t)(hi - lo + 1), 0);
			return;
		}
		struct place x = o[k];	/* lo <= k <= hi: the scans stop at it */
		int64_t i = lo, j = hi;
		do {
			while (place_before(&o[i], &x))
				i++;
			while (place_before(&x, &o[j]))
				j--;
			if (i <= j) {
				struct place tmp = o[i];
				o[i++] = o[j];
				o[j--] = tmp;
			}
		} while (i <= j);
		if (j < (int64_t)k)
			lo = i;
		if ((int64_t)k < i)
			hi = j;
	}
}

/* The most counters a Space-Saving block of `bytes` holds (0: fewer than
 * MIN_KEYS). */
static uint32_t ss_fits(size_t bytes)
{
	size_t per = sizeof(struct slot) + sizeof(struct place) + sizeof(uint32_t) +
		     sizeof(struct chunk) / PER_CHUNK;
	size_t m = bytes > CHUNK_ALIGN ? (bytes - CHUNK_ALIGN) / per : 0;
	if (m > MAX_KEYS)
		m = MAX_KEYS;
	while (m >= MIN_KEYS && block_size((uint32_t)m, true) > bytes)
		m--;
	return m >= MIN_KEYS ? (uint32_t)m : 0;
}

/* Turns an exact table of capacity m into Space-Saving of capacity mt <= m
 * (fewer when the budget refuses the larger block Space-Saving's order
 * needs: then as many as the block holds, at least 4/5 m), in its own
 * memory: the mt largest counts are kept (ties broken by slot number:
 * select_place, so one input gives one table), the floor is the largest
 * count dropped, the kept slots slide to 0..mt-1, the arena is compacted,
 * then block and arena shrink (a shrinking sl_realloc that fails leaves the
 * larger block, which still holds the layout). */
static void shrink(sl_topk *t, uint32_t mt)
{
	uint32_t n = t->n;
	uint64_t floor = 0;
	size_t nb = block_size(mt, true);
	if (nb > t->block_bytes) {
		/* the block grows first (its slots move to the new alignment;
		 * the index is scratch from here on) */
		size_t off_s = (size_t)((char *)t->slots - t->block);
		char *blk = sl_realloc(t->budget, t->block, t->block_bytes, nb);
		if (blk) {
			t->block = blk;
			t->block_bytes = nb;
			struct slot *old = (struct slot *)(void *)(blk + off_s);
			point(t, t->m, false);
			memmove(t->slots, old, (size_t)n * sizeof *old);
		} else {
			uint32_t fit = ss_fits(t->block_bytes);
			if (fit < mt)	/* >= 4/5 m >= MIN_KEYS (exact_order) */
				mt = fit;
			nb = block_size(mt, true);
		}
	}
	uint32_t keep = n < mt ? n : mt;
	if (n > mt) {
		/* the mt largest counts, ties broken by slot: a selection,
		 * not a sort, on (count, slot) entries written over the index
		 * (16 bytes a counter, of at least 64 / PER_CHUNK; rebuilt
		 * below), which it scans rather than jump to each slot; then
		 * one scan of the slots marks those from the entry of rank
		 * n - mt on, and finds the largest count dropped */
		struct place *e = (struct place *)(void *)t->index;
		for (uint32_t i = 0; i < n; i++)
			e[i] = (struct place){t->slots[i].error, i, 0};	/* the count */
		select_place(e, n, n - mt);
		struct place cut = e[n - mt];
		for (uint32_t i = 0; i < n; i++) {
			struct place x = {t->slots[i].error, i, 0};
			if (place_before(&x, &cut)) {
				if (x.count > floor)
					floor = x.count;
			} else {
				t->slots[i].mark = 1;
			}
		}
	} else {
		for (uint32_t s = 0; s < n; s++)
			t->slots[s].mark = 1;
	}
	for (uint32_t s = 0; s < n; s++) {
		struct slot *sl = &t->slots[s];
		if (!sl->mark) {
			drop_key(t, sl);
			sl->held = 0;
			sl->stored = 0;
		}
	}
	for (uint32_t i = 0, j = keep; i < keep; i++) {
		if (t->slots[i].mark)
			continue;
		while (!t->slots[j].mark)
			j++;
		struct slot *a = &t->slots[i], *b = &t->slots[j++];
		*a = *b;
		if (a->stored > INLINE)	/* its record names its slot */
			memcpy(t->arena + a->k.off - HDR, &i, 4);
		b->held = 0;
		b->mark = 0;
		b->stored = 0;
	}
	for (uint32_t s = 0; s < keep; s++)
		t->slots[s].mark = 0;
	cut_keys(t, keep, mt);
	compact(t);

	size_t off_s = (size_t)((char *)t->slots - t->block);
	char *blk = nb < t->block_bytes ? sl_realloc(t->budget, t->block, t->block_bytes, nb) : NULL;
	if (blk) {
		t->block = blk;
		t->block_bytes = nb;
	}
	struct slot *old = (struct slot *)(void *)(t->block + off_s);
	t->n = keep;
	point(t, mt, true);
	memmove(t->slots, old, (size_t)keep * sizeof *old);
	rebuild(t);	/* exact still: the counts are in `error` */
	to_order(t);
	t->exact = false;
	t->floor = floor;
	build_order(t);

	settle_arena(t);
}

void sl_topk_degrade(sl_topk *t)
{
	if (!t->exact)
		return;
	/* Space-Saving at the capacity max_bytes buys when the budget still
	 * has it (a table below it takes nobody's share); beyond it, the
	 * excess goes back. A table without order[] (see Memory) gets it
	 * here, or if the budget refuses, keeps the counters its block can
	 * hold with one */
	if (t->m < t->m_max)
		grow_to(t, t->m_max, true);
	if (t->m > t->m_max || t->arena_size > t->arena_max ||
	    (!t->order && !grow_to(t, t->m, true))) {
		shrink(t, t->m < t->m_max ? t->m : t->m_max);
		return;
	}
	to_order(t);
	t->exact = false;
	build_order(t);
	settle_arena(t);
}

/* The most counters an exact table's block of `bytes` holds (see
 * exact_order), at least 1. */
static uint32_t exact_fits(size_t bytes)
{
	size_t per = PER_CHUNK * sizeof(struct slot) + sizeof(struct chunk);	/* a chunk's */
	size_t m = bytes > CHUNK_ALIGN ? (bytes - CHUNK_ALIGN) / per * PER_CHUNK + PER_CHUNK : 1;
	if (m > MAX_KEYS)
		m = MAX_KEYS;
	while (m > 1 && block_size((uint32_t)m, exact_order((uint32_t)m)) > bytes)
		m--;
	return (uint32_t)m;
}

/* A new table: capacity m (with order[] when `order`) and an arena of
 * `arena` bytes now; m_max and arena_max are what max_bytes buys once full
 * (see Memory); alone, it stays exact up to the keys that the block of
 * m_max Space-Saving counters holds. */
static sl_topk *create(sl_budget *b, uint32_t m, bool order, size_t arena, uint32_t m_max,
		       size_t arena_max)
{
	sl_topk *t = sl_calloc(b, 1, sizeof *t);
	if (!t)
		return NULL;
	t->budget = b;
	t->block_bytes = block_size(m, order);
	t->block = sl_malloc(b, t->block_bytes);
	t->arena = arena ? sl_malloc(b, arena) : NULL;
	if (!t->block || (arena && !t->arena)) {
		sl_free(b, t->block, t->block_bytes);
		sl_free(b, t->arena, arena);
		sl_free(b, t, sizeof *t);
		return NULL;
	}
	t->arena_size = arena;
	point(t, m, order);
	rebuild(t);
	t->exact = true;
	t->m_max = m_max;
	t->m_exact_max = exact_fits(block_size(m_max, true));
	if (t->m_exact_max < m_max)
		t->m_exact_max = m_max;
	t->arena_max = arena_max;
	set_long_max(t);
	return t;
}

sl_topk *sl_topk_new(sl_budget *b, size_t max_bytes)
{
	/* the most m with sizeof(struct) + block_size(m, true) + m (HDR +
	 * KEY_ALLOWANCE) <= max_bytes: estimated from above, then stepped
	 * down (a few steps: the estimate's only slack is a chunk's
	 * rounding) */
	size_t head = sizeof(struct sl_topk) + CHUNK_ALIGN;
	size_t per = PER_CHUNK * PER_KEY + sizeof(struct chunk);	/* a chunk's counters */
	size_t m = max_bytes > head ? (max_bytes - head) / per * PER_CHUNK + PER_CHUNK : 0;
	if (m > MAX_KEYS)
		m = MAX_KEYS;
	while (m >= MIN_KEYS && sizeof(struct sl_topk) + block_size((uint32_t)m, true) +
					m * (HDR + KEY_ALLOWANCE) > max_bytes)
		m--;
	if (m < MIN_KEYS)
		return NULL;
	size_t fixed = sizeof(struct sl_topk) + block_size((uint32_t)m, true);
	size_t arena = max_bytes - fixed;
	size_t useful = m * (HDR + SL_TOPK_VALUE_MAX);
	if (arena > useful)
		arena = useful;
	if (arena > UINT32_MAX / 2)
		arena = UINT32_MAX / 2;
	return create(b, m < FIRST_KEYS ? (uint32_t)m : FIRST_KEYS, true,
		      arena < FIRST_ARENA ? arena : FIRST_ARENA, (uint32_t)m, arena);
}

void sl_topk_set_pool(sl_topk *t, sl_relieve_fn fn, void *ud)
{
	t->relieve = fn;
	t->relieve_ud = ud;
}

size_t sl_topk_bytes(const sl_topk *t)
{
	return sizeof *t + t->block_bytes + t->arena_size;
}

size_t sl_topk_excess(const sl_topk *t)
{
	size_t target = sizeof *t + block_size(t->m_max, true) + t->arena_max;
	size_t bytes = sl_topk_bytes(t);
	return t->exact && bytes > target ? bytes - target : 0;
}

void sl_topk_free(sl_topk *t)
{
	if (!t)
		return;
	sl_free(t->budget, t->block, t->block_bytes);
	sl_free(t->budget, t->arena, t->arena_size);
	sl_free(t->budget, t, sizeof *t);
}

/* ---- adds ---- */

/* Gives key a counter: while exact a fresh one (count w, error 0); else the
 * last of the run of smallest count c (a free counter if the run has one),
 * which takes count c + w and error c. */
static __attribute__((noinline)) void add_new(sl_topk *t, const char *key, size_t len, uint32_t len32,
		    uint64_t hash, uint64_t w)
{
	uint32_t s;
	if (t->exact) {
		size_t bytes = len < KEY_MAX ? len : KEY_MAX;
		if ((t->n == t->m || (bytes > INLINE && t->arena_used + HDR + bytes > t->arena_size)) &&
		    !make_room(t, bytes))
			sl_topk_degrade(t);
	}
	if (t->exact) {
		s = t->n++;
		struct slot *sl = &t->slots[s];
		sl->hash = hash;
		sl->len = len32;
		sl->error = w;	/* the count, while exact */
		sl->held = 1;
		store_key(t, s, key, len);
		index_insert(t, s, hash);
		return;
	}
	uint32_t g = t->order[0].group, e = t->gend[g];
	s = t->order[e].slot;
	/* order[] counts are lower bounds (the hits pending in the slots are
	 * not in them): the candidate is a true minimum once it has none */
	while (t->slots[s].pending) {
		settle_slot(t, s);
		g = t->order[0].group;
		e = t->gend[g];
		s = t->order[e].slot;
	}
	struct slot *sl = &t->slots[s];
	uint64_t base = t->order[e].count;
	if (sl->held) {
		if (base > t->floor)
			t->floor = base;
		index_remove(t, s);
		drop_key(t, sl);
	} else {
		sl->held = 1;
		t->n++;
	}
	sl->hash = hash;
	sl->len = len32;
	sl->error = base;
	store_key(t, s, key, len);
	index_insert(t, s, hash);
	if (w == 1)
		step_minimum(t, e, g);
	else
		bump(t, s, w);
	/* The next eviction's victim is known already: start loading its
	 * slot, which that eviction would otherwise wait for first, and the
	 * one before it, which that eviction reads when the first has hits
	 * pending or which the one after takes. */
	e = t->gend[t->order[0].group];
	__builtin_prefetch(&t->slots[t->order[e].slot]);
	if (e > 0)
		__builtin_prefetch(&t->slots[t->order[e - 1].slot]);
}

void sl_topk_prefetch(const sl_topk *t, uint64_t hash)
{
	__builtin_prefetch(&t->index[home(t, hash)]);
}

/* The counter the first lane of hash's home chunk with hash's tag names,
 * or SL_TOPK_NO_GUESS: a guess (no bytes compared, no chunk past home),
 * which sl_topk_add_at checks before it trusts it. Reads the home chunk;
 * starts loading the counter. */
uint32_t sl_topk_prefetch_slot(const sl_topk *t, uint64_t hash)
{
	const struct chunk *ch = &t->index[home(t, hash)];
	unsigned m = lanes(ch, tag_of(hash));
	if (!m)
		return SL_TOPK_NO_GUESS;
	uint32_t s = ch->slot[__builtin_ctz(m)];
	__builtin_prefetch(&t->slots[s]);
	return s;
}

void sl_topk_prefetch_count_at(const sl_topk *t, uint32_t guess)
{
	if (guess >= t->m)
		return;
	const struct slot *s = &t->slots[guess];
	if (s->stored > INLINE) {	/* both ends: the compare reads both */
		__builtin_prefetch(t->arena + s->k.off);
		__builtin_prefetch(t->arena + s->k.off + s->stored - 1);
	}
}

/* Does slot sl hold the key (hash, full length len32, bytes as stored)? */
static inline bool holds(const sl_topk *t, const struct slot *sl, const char *key, uint32_t len32,
			 uint64_t hash)
{
	return sl->hash == hash && sl->len == len32 && same_bytes(key_at(t, sl), key, sl->stored);
}

/* A hit on held slot sl: weight w more. */
static inline void hit(sl_topk *t, struct slot *sl, uint64_t w)
{
	if (t->exact) {
		sl->error += w;	/* the count */
	} else if (w <= (uint64_t)(PENDING_MAX - sl->pending)) {
		sl->pending += (uint8_t)w;	/* order[] learns it later */
	} else {
		w += sl->pending;
		sl->pending = 0;
		bump(t, (uint32_t)(sl - t->slots), w);
	}
}

void sl_topk_add(sl_topk *t, const char *key, size_t len, uint64_t hash,
		 uint64_t w)
{
	if (w == 0)
		return;
	t->total += w;
	uint32_t len32 = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	const struct chunk *ch = &t->index[home(t, hash)];
	struct slot *sl;
	for (unsigned m = lanes(ch, tag_of(hash)); m; m &= m - 1) {
		sl = &t->slots[ch->slot[__builtin_ctz(m)]];
		if (holds(t, sl, key, len32, hash))
			goto found;
	}
	/* past the home chunk (rarely): out of line, so that the common
	 * path keeps its values in registers */
	if (!ch->over || !(sl = find_far(t, key, len, len32, hash))) {
		add_new(t, key, len, len32, hash, w);
		return;
	}
found:
	hit(t, sl, w);
}

/* The counter a key matches is the one it has: keys are told apart by
 * hash, length and stored bytes, and an add that matches a held counter
 * never makes another (two can match one key only if two keys of one
 * 64-bit hash and length were cut to a common prefix when the table
 * degraded; the lookup then takes the first in the index line, a guess
 * either). So a guess that matches is the key's counter, found without the
 * index line; one that does not (another key took the counter, or the
 * table grew or degraded since) falls back to the lookup. */
void sl_topk_add_at(sl_topk *t, const char *key, size_t len, uint64_t hash, uint64_t w,
		    uint32_t guess)
{
	if (w && guess < t->m) {
		struct slot *sl = &t->slots[guess];
		uint32_t len32 = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		if (sl->held && holds(t, sl, key, len32, hash)) {
			t->total += w;
			hit(t, sl, w);
			return;
		}
	}
	sl_topk_add(t, key, len, hash, w);
}

/* ---- merge ---- */

/* sl_topk_add of a key given by its first nbytes bytes (nbytes <= len32;
 * fewer for a key stored shortened), matched as find() does. */
static void add_key(sl_topk *t, const char *key, size_t nbytes, uint32_t len32, uint64_t hash,
		    uint64_t w)
{
	if (w == 0)
		return;
	t->total += w;
	struct slot *a = find(t, key, nbytes, len32, hash);
	if (!a) {
		add_new(t, key, nbytes, len32, hash, w);
	} else if (t->exact) {
		a->error += w;	/* the count */
	} else {
		bump(t, (uint32_t)(a - t->slots), w);
	}
}

sl_status sl_topk_merge(sl_topk *dst, const sl_topk *src)
{
	if (dst != src && dst->exact && src->exact) {
		/* src's keys added to dst in slot order (held slots are
		 * 0..n-1), each with its count: dst grows while it may, and
		 * if it must degrade, the rest are weighted Space-Saving adds
		 * of exact counts, which keep (1)-(3) */
		for (uint32_t i = 0; i < src->n; i++) {
			const struct slot *b = &src->slots[i];
			if (i + AHEAD < src->n)
				sl_topk_prefetch(dst, src->slots[i + AHEAD].hash);
			add_key(dst, key_at(src, b), b->stored, b->len, b->hash, b->error);
		}
		return SL_OK;
	}
	if (dst == src && dst->exact) {	/* every count doubles */
		for (uint32_t s = 0; s < dst->n; s++)
			dst->slots[s].error *= 2;	/* the count */
		dst->total *= 2;
		return SL_OK;
	}
	if (dst->exact) {
		/* Space-Saving from here on: take the capacity max_bytes buys
		 * first, if the budget allows, rather than stay at the size
		 * the exact keys needed; order[] at least (else degrade, which
		 * makes room for it) */
		if (dst->m < dst->m_max)
			grow_to(dst, dst->m_max, true);
		if (!dst->order && !grow_to(dst, dst->m, true))
			sl_topk_degrade(dst);
		if (dst->arena_size < dst->arena_max)
			grow_arena(dst, dst->arena_max);
	}
	if (!dst->exact)
		fold_pending(dst);	/* every slot's mark is 0 from here on */
	uint64_t floor_a = dst->floor, floor_b = src->floor;
	uint64_t total_b = src->total;
	uint32_t m_a = dst->m, m_b = src->m;
	bool was_exact = dst->exact, exact = dst->exact && src->exact, lost = false;
	uint64_t dropped = 0;
	/* counts where Space-Saving keeps them; stores are Space-Saving's
	 * (cut to fit) */
	if (was_exact)
		to_order(dst);
	dst->exact = false;

	/* (a) keys held by both */
	for (uint32_t i = 0; i < m_b; i++) {
		const struct slot *b = &src->slots[i];
		if (i + AHEAD < m_b)
			sl_topk_prefetch(dst, src->slots[i + AHEAD].hash);
		if (!b->held)
			continue;
		struct slot *a = find(dst, key_at(src, b), b->stored, b->len, b->hash);
		if (a) {
			uint64_t c = count_of(src, b), e = error_of(src, b);
			dst->order[a->pos].count += c;
			a->error += e;
			a->mark = 1;
		}
	}
	/* (b) dst keys src does not hold: src's floor bounds their count there;
	 * free counters count floor_a */
	for (uint32_t i = 0; i < m_a; i++) {
		struct slot *a = &dst->slots[i];
		if (a->held && !a->mark) {
			dst->order[a->pos].count += floor_b;
			a->error += floor_b;
		}
	}
	/* (c) */
	heapify(dst, floor_a);
	/* (d) src keys dst does not hold: dst's floor bounds their count there */
	for (uint32_t i = 0; i < m_b; i++) {
		const struct slot *b = &src->slots[i];
		if (i + AHEAD < m_b)
			sl_topk_prefetch(dst, src->slots[i + AHEAD].hash);
		if (!b->held)
			continue;
		const char *key = key_at(src, b);
		struct slot *a = find(dst, key, b->stored, b->len, b->hash);
		if (a) {
			if (!a->mark) {	/* agrees with a key placed in (d) */
				dst->order[a->pos].count += count_of(src, b);
				a->error += error_of(src, b);
				sift_down(dst, a->pos, m_a);
			}
			continue;
		}
		uint64_t c = floor_a + count_of(src, b), e = floor_a + error_of(src, b);
		uint32_t s = dst->order[0].slot;
		if (!dst->slots[s].held) {
			/* a free counter (the root is one when any is left);
			 * while exact the held ones stay 0..n-1 */
			if (was_exact)
				s = dst->n;
			dst->n++;
		} else {
			uint64_t min = dst->order[0].count;
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
		dst->order[sl->pos].count = c;
		dst->order[sl->pos].group = 1;
		sl->error = e;
		sl->held = 1;
		sl->mark = 0;
		store_key(dst, s, key, b->stored);
		index_insert(dst, s, b->hash);
		sift_down(dst, sl->pos, m_a);
	}
	for (uint32_t i = 0; i < m_a; i++)
		dst->slots[i].mark = 0;
	dst->total += total_b;
	dst->exact = exact && !lost;
	if (!dst->exact) {
		dst->floor = floor_a + floor_b;
		if (dropped > dst->floor)
			dst->floor = dropped;
		build_order(dst);
	} else {	/* the counts back where an exact table keeps them */
		for (uint32_t s = 0; s < dst->n; s++)
			dst->slots[s].error = dst->order[dst->slots[s].pos].count;
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
			.value = key_at(t, s),
			.len = s->stored,
			.count = count_of(t, s),
			.max_error = error_of(t, s),
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
	uint32_t cap = t->relieve ? t->m_max : t->m_exact_max;	/* exact, alone: more */
	return t->exact && t->m < cap ? cap : t->m;
}

bool sl_topk_is_exact(const sl_topk *t)
{
	return t->exact;
}

/* ---- state codec (lib/core/wire.h; byte layout in docs/state-format.md) -------
 *
 *   u32 m (capacity) | u8 exact | u64 total (N) | u64 floor | u32 n (keys
 *   held) | u32 k (entries that follow) | k entries
 *
 *   entry:  u8 held
 *           held: u64 hash | u32 len | u64 count | u64 error | u16 stored
 *                 | stored bytes of the key
 *           free: u64 count
 *
 * An exact table writes its n keys in slot order (k = n, all held). A table
 * that is not exact writes all m counters in the order's position order,
 * free counters included (k = m), so that a restored table has the same
 * counts at the same positions and evicts exactly as the saved one would.
 *
 * Checked before dst is touched: 16 <= m <= 2^30, n <= m, k as above, every
 * key's stored bytes <= min(len, SL_TOPK_VALUE_MAX), count >= error, count
 * >= 1, an exact table with floor 0, errors 0 and counts summing to N; a
 * table that is not exact with counts ascending by position, every held
 * count >= floor and the sum of (count - error) <= N (those are lower bounds
 * on distinct keys' true counts). Repeated keys are caught while loading.
 *
 * An empty dst of the same capacity (or, for an exact table, any empty dst
 * with room for its keys) is filled directly. Otherwise the table is
 * restored into a temporary one of its own capacity, from the same budget,
 * and merged into dst with sl_topk_merge.
 */
#include "core/wire.h"

void sl_topk_encode(const sl_topk *t, sl_wire_writer *w)
{
	/* Space-Saving entries go out in order[], which must hold the true
	 * counts: the pending hits move there first. That changes where
	 * counts are kept, not what the table holds. */
	settle((sl_topk *)(uintptr_t)t);
	uint32_t k = t->exact ? t->n : t->m;
	sl_wire_u32(w, t->m);
	sl_wire_u8(w, t->exact);
	sl_wire_u64(w, t->total);
	sl_wire_u64(w, t->floor);
	sl_wire_u32(w, t->n);
	sl_wire_u32(w, k);
	for (uint32_t i = 0; i < k; i++) {
		/* exact: slot i (held slots are 0..n-1); else position i */
		const struct slot *s = &t->slots[t->exact ? i : t->order[i].slot];
		sl_wire_u8(w, s->held);
		if (!s->held) {
			sl_wire_u64(w, t->order[i].count);
			continue;
		}
		sl_wire_u64(w, s->hash);
		sl_wire_u32(w, s->len);
		sl_wire_u64(w, count_of(t, s));
		sl_wire_u64(w, error_of(t, s));
		sl_wire_u16(w, s->stored);
		sl_wire_bytes(w, key_at(t, s), s->stored);
	}
}

typedef struct {
	uint32_t m, n, k;
	bool exact;
	uint64_t total, floor;
	sl_wire_reader entries;	/* the k entries */
	size_t key_bytes;	/* stored bytes of the keys longer than INLINE */
} table_head;

typedef struct {
	bool held;
	uint64_t hash, count, error;
	uint32_t len;
	uint16_t stored;
	const uint8_t *key;
} table_entry;

static void get_entry(sl_wire_reader *r, table_entry *e)
{
	e->held = sl_wire_get_u8(r) != 0;
	if (!e->held) {
		e->count = sl_wire_get_u64(r);
		return;
	}
	e->hash = sl_wire_get_u64(r);
	e->len = sl_wire_get_u32(r);
	e->count = sl_wire_get_u64(r);
	e->error = sl_wire_get_u64(r);
	e->stored = sl_wire_get_u16(r);
	e->key = sl_wire_take(r, e->stored);
}

static sl_status bad_table(const char **why, const char *text)
{
	*why = text;
	return SL_ECORRUPT;
}

/* Reads and checks the whole table; r ends after it. */
static sl_status check_table(sl_wire_reader *r, table_head *h, const char **why)
{
	h->m = sl_wire_get_u32(r);
	uint8_t exact = sl_wire_get_u8(r);
	h->total = sl_wire_get_u64(r);
	h->floor = sl_wire_get_u64(r);
	h->n = sl_wire_get_u32(r);
	h->k = sl_wire_get_u32(r);
	if (r->bad)
		return bad_table(why, "top list truncated");
	h->exact = exact == 1;
	if (h->m < MIN_KEYS || h->m > MAX_KEYS || exact > 1 || h->n > h->m ||
	    h->k != (h->exact ? h->n : h->m) || (h->exact && h->floor))
		return bad_table(why, "top list header impossible");
	if (!sl_wire_need(r, h->k, 9))
		return bad_table(why, "top list entries past the end of the section");
	h->entries = *r;
	uint64_t held = 0, sum = 0, prev = 0;
	h->key_bytes = 0;
	for (uint32_t i = 0; i < h->k; i++) {
		table_entry e;
		get_entry(r, &e);
		if (r->bad)
			return bad_table(why, "top list entry truncated");
		if (!h->exact && e.count < prev)
			return bad_table(why, "top list counts out of order");
		prev = e.count;
		if (!e.held) {
			if (h->exact)
				return bad_table(why, "top list entry impossible");
			continue;
		}
		held++;
		if (e.stored > e.len || e.count < e.error ||
		    e.count == 0 || (h->exact && e.error) || (!h->exact && e.count < h->floor))
			return bad_table(why, "top list entry impossible");
		uint64_t add = h->exact ? e.count : e.count - e.error;
		if (add > UINT64_MAX - sum)
			return bad_table(why, "top list counts overflow");
		sum += add;
		if (e.stored > INLINE)
			h->key_bytes += e.stored;
	}
	h->entries.left -= r->left;	/* the entries only */
	if (held != h->n)
		return bad_table(why, "top list key count disagrees with its entries");
	if (h->exact ? sum != h->total : sum > h->total)
		return bad_table(why, "top list counts disagree with its total");
	return SL_OK;
}

/* Fills the empty table t (capacity t->m >= h->n, and == h->m unless
 * exact) from checked entries. */
static sl_status fill_table(sl_topk *t, const table_head *h, const char **why)
{
	sl_wire_reader r = h->entries;
	uint32_t held = 0, free_slot = h->n, g = 0;
	for (uint32_t i = 0; i < h->k; i++) {
		table_entry e;
		get_entry(&r, &e);
		uint32_t s = e.held ? held++ : free_slot++;
		uint32_t pos = h->exact ? s : i;
		struct slot *sl = &t->slots[s];
		if (!h->exact) {
			if (i > 0 && e.count != t->order[i - 1].count)
				g++;
			t->order[pos] = (struct place){e.count, s, g};
			t->gend[g] = pos;
		}
		sl->pos = pos;
		if (!e.held)
			continue;
		const char *key = (const char *)e.key;
		if (find(t, key, e.stored, e.len, e.hash))
			return bad_table(why, "top list holds a key twice");
		sl->hash = e.hash;
		sl->len = e.len;
		sl->error = h->exact ? e.count : e.error;	/* exact: the count */
		sl->held = 1;
		store_key(t, s, key, e.stored);
		index_insert(t, s, e.hash);
	}
	t->n = h->n;
	t->total = h->total;
	t->floor = h->floor;
	t->exact = h->exact;
	if (!h->exact) {
		t->free_group = NONE;
		for (uint32_t id = t->m; id-- > g + 1;)
			free_group(t, id);
	}
	return SL_OK;
}

/* A table of capacity m whose arena holds key_bytes of long keys whole. */
static sl_topk *new_table(sl_budget *b, uint32_t m, size_t key_bytes, bool exact)
{
	size_t arena = arena_for(m, key_bytes);
	if (arena > UINT32_MAX / 2)
		return NULL;
	return create(b, m, !exact || exact_order(m), arena, m, arena);
}

/* Grows the empty exact table dst (best effort) to capacity m with an
 * arena for key_bytes (of an exact table: whole keys and no garbage; else
 * as arena_for); whether it then has them. */
static bool fit_empty(sl_topk *dst, uint32_t m, size_t key_bytes, bool exact)
{
	uint32_t cap = dst->relieve ? MAX_KEYS : exact ? dst->m_exact_max : dst->m_max;
	/* Space-Saving: with order[], at capacity m exactly, which may be
	 * below a new table's FIRST_KEYS (dst is empty: nothing to move) */
	if ((m > dst->m || (!exact && (m < dst->m || !dst->order))) && m <= cap)
		grow_to(dst, m, !exact || exact_order(m));
	if (exact) {
		size_t need = key_bytes + (size_t)m * HDR;
		if (need > dst->arena_size)
			grow_arena(dst, need);
		return m <= dst->m && need <= dst->arena_size;
	}
	/* the arena settle_arena gives the saved table, exactly */
	size_t a = ss_arena(dst, m, key_bytes);
	if (a < arena_for(m, key_bytes))
		return false;
	if (a != dst->arena_size) {
		char *p = sl_realloc(dst->budget, dst->arena, dst->arena_size, a);
		if (!p)
			return false;
		dst->arena = p;
		dst->arena_size = a;
	}
	return m <= dst->m && dst->order;
}

sl_status sl_topk_load(sl_topk *dst, sl_wire_reader *r, const char **why)
{
	if (!dst->exact || dst->n || dst->total) {
		*why = "top list to load into is not empty";
		return SL_EINVAL;
	}
	table_head h;
	sl_status st = check_table(r, &h, why);
	if (st != SL_OK)
		return st;
	if (h.exact ? fit_empty(dst, h.n, h.key_bytes, true)
		    : h.m <= dst->m_max && fit_empty(dst, h.m, h.key_bytes, false) &&
			      h.m == dst->m) {
		st = fill_table(dst, &h, why);
		set_long_max(dst);
		return st;
	}
	uint32_t m = h.exact ? (h.n > MIN_KEYS ? h.n : MIN_KEYS) : h.m;
	sl_topk *tmp = new_table(dst->budget, m, h.key_bytes, h.exact);
	if (!tmp) {
		*why = "top list does not fit the memory budget";
		return SL_ENOMEM;
	}
	st = fill_table(tmp, &h, why);
	if (st == SL_OK)
		sl_topk_merge(dst, tmp);
	sl_topk_free(tmp);
	return st;
}
