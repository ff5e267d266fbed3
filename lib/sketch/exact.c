/*
 * exact.c: an exact multiset of byte-string keys in bounded memory
 * (sl_exact_*): distinct count, total weight and the top n keys by count.
 *
 * Contract (see sluice.h): every figure is exact whatever the data size;
 * memory stays within max_bytes, keys of any length up to SL_EXACT_KEY_MAX
 * included; temporary bytes live in one unnamed file.
 *
 * Algorithm: pre-aggregation, then an external sort-merge of aggregated
 * runs (Knuth vol. 3, 5.4; the GROUP BY of database engines):
 *  1. A hash table absorbs repeats. Slots are 8 bytes: (tag << 32) | (off+1),
 *     tag = top 32 bits of sl_hash(key), off = the record's offset in the
 *     arena, 0 = empty; slot index = low 32 bits times cap, shifted (Lemire's
 *     fastrange, so cap need not be a power of two); linear probing, load
 *     at most 1/2. Arena records are `u64 count | u32 len | key`, 4-aligned.
 *  2. When the slots or the arena are full the table is sorted by key bytes
 *     and written as one run; it is then empty. Sorting works in place: the
 *     occupied slots are compacted to u32 offsets, then expanded (backwards)
 *     to 16-byte entries {first 8 key bytes big-endian, off, len}, which fit
 *     in the slot array because load <= 1/2; an introsort (Musser 1997) on
 *     them compares the prefixes as integers and falls back to memcmp. Keys
 *     of one run are distinct.
 *  3. Runs go to the library's spill layer (lib/spill/spill.h, shared with
 *     xsort.c): blocks of at most B bytes of records `LEB128 len | LEB128
 *     count | key`, LZ4 block format or raw; a record longer than B gets a
 *     raw block of its own.
 *  4. Merging: up to F runs are read, each through its own buffer carved
 *     from the slab (which is free since the table was just emptied), and
 *     merged with the spill layer's heap ordered by key. A reader's buffer
 *     is max(B, L + VARMAX) bytes, L the longest key ever added (compressed
 *     blocks pass through the spill's one shared buffer), so a raw block of
 *     one long record is read whole into it. The fan-in of a merge is
 *     min(F, slab / buffer), at least 2 since the slab holds two buffers for
 *     the longest key allowed: a long key streams through the merge like
 *     any other, within max_bytes. When the top rows of the final merge
 *     leave room for one reader only, the runs are merged into one first.
 *     Since keys are distinct within a run, equal keys are all at the heads
 *     of their runs at once: the merge pops every head equal to the
 *     smallest, sums their counts and emits one record, so a merged run
 *     again has distinct keys. Runs carry a level; whenever the last f runs
 *     share one they are merged into a run of the next level, appended to
 *     the file, and their extent is released with fallocate(PUNCH_HOLE)
 *     (the spill layer's policy). The run table thus stays small and each
 *     record is rewritten about log_f(spills) times. At finish the tail
 *     runs are merged until few enough remain, and the final merge feeds
 *     the answers instead of a writer: distinct += 1 and total += count per
 *     key, and the top n in a heap. The stream is in key order, so a later
 *     key with an equal count never displaces an earlier one: the tie rule
 *     (key bytes ascending) holds without keeping whole keys.
 *     The total is also counted while adding and must agree (SL_ECORRUPT).
 *  5. If nothing was ever spilled the answers come straight from the table
 *     (a heap over the compacted offsets, ties by full key bytes).
 *
 * Memory layout (max_bytes): the object, a copy of tmpdir, the spill layer
 * (the LZ4 state, the write block B and one compressed block), the run
 * table ((F - 1) * LEVELS + 1 runs, fewer near the minimum budget), and the
 * slab with all the rest. The slab is the table
 * while adding, readers and heap while merging, plus the top rows (at its
 * end) in the final merge. After each spill the table's split is re-chosen
 * from the mean arena bytes per key seen so far: cap = slab / (8 + mean/2).
 */
#include "sluice.h"
#include "spill/entrysort.h"
#include "spill/spill.h"
#include "core/unaligned.h"

#include <stdlib.h>
#include <string.h>

#define RECHDR 12		/* arena record: u64 count, u32 len */
#define LEVELS 12		/* run table: (F - 1) runs per level */
#define FAN_MAX 64
#define BLOCK_MIN 2048
#define BLOCK_MAX (16 * 1024)
#define VARMAX SL_SPILL_VARMAX	/* a record's two LEB128 varints */

typedef struct {
	uint64_t count;
	uint64_t seq;		/* arrival order = key order */
	uint32_t len;		/* bytes kept */
	uint32_t truncated;
} toprow;


enum { ST_ADD, ST_DONE };
enum { RES_NONE, RES_TABLE, RES_ROWS };

struct sl_exact {
	sl_budget *b;
	size_t max_bytes;
	int state;
	sl_status err;
	int err_no;
	char *tmpdir;
	size_t tmpdir_len;
	uint64_t total;		/* weight added, everywhere */
	uint64_t distinct;	/* after finish */
	uint32_t maxlen;	/* longest key seen */
	uint64_t keys_seen;	/* table inserts, for the split */
	uint64_t bytes_seen;	/* their arena bytes */

	/* the slab: the table while adding */
	char *slab;
	size_t slab_len;
	uint64_t *slots;
	size_t cap, n, maxload;
	char *arena;
	size_t arena_cap, afill;

	/* the temporary file, its writer and readers (spill.h) */
	sl_spill sp;
	size_t B;

	sl_spill_run *runs;
	size_t nruns, runs_cap;
	uint32_t F;

	/* results */
	int res;
	uint32_t *order;	/* arena offsets or row indices, best first */
	size_t nres;
	toprow *rows;
	char *keys;
	size_t keyslot;

	sl_xsort_stats st;

	/* sl_exact_finish_each: every distinct key goes to each(each_ud, ...) */
	sl_exact_each_fn each;
	void *each_ud;
};

static sl_status fail(sl_exact *e, sl_status s, int err)
{
	if (e->err == SL_OK) {
		e->err = s;
		e->err_no = err;
	}
	return e->err;
}

/* A spill operation's status, made sticky (with errno for SL_EIO). */
static sl_status sfail(sl_exact *e, sl_status s)
{
	return s == SL_OK ? SL_OK : fail(e, s, e->sp.err_no);
}

/* ---- little helpers -------------------------------------------------------- */

/* Lexicographic order of byte strings, a prefix first. */
static inline int keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static inline size_t recsize(size_t len)
{
	return (RECHDR + len + 3) & ~(size_t)3;
}

#define REC(e, off) ((e)->arena + (off))
#define RCOUNT(r) load64(r)
#define RLEN(r) load32((r) + 8)
#define RKEY(r) ((r) + RECHDR)

/* ---- the table ------------------------------------------------------------- */

/* Lays the slab out as a table for keys of `mean` arena bytes; empty. */
static void layout(sl_exact *e, size_t mean)
{
	size_t cap = e->slab_len / (8 + mean / 2);
	size_t min_arena = recsize(SL_EXACT_KEY_MAX);
	if (cap * 8 + min_arena > e->slab_len)
		cap = (e->slab_len - min_arena) / 8;
	if (cap < 64)
		cap = 64;	/* the slab holds min_arena + 64 slots */
	if (cap > 0xffffffffu)
		cap = 0xffffffffu;
	e->cap = cap;
	e->maxload = cap / 2;
	e->slots = (uint64_t *)(void *)e->slab;
	e->arena = e->slab + cap * 8;
	e->arena_cap = e->slab_len - cap * 8;
	if (e->arena_cap > 0xfffffff0u)
		e->arena_cap = 0xfffffff0u;
	memset(e->slots, 0, cap * 8);
	e->n = 0;
	e->afill = 0;
}

static void relayout(sl_exact *e)
{
	size_t mean = e->keys_seen ? (size_t)(e->bytes_seen / e->keys_seen) : 48;
	layout(e, mean);
}

static inline size_t slot_of(const sl_exact *e, uint64_t h)
{
	return (size_t)(((h & 0xffffffffu) * (uint64_t)e->cap) >> 32);
}

/* ---- the readers and the merge ----------------------------------------------- */

/* Bytes of one reader's buffer: a block, or the longest record any run of
 * e can hold (a raw block of its own). Compressed blocks are read into the
 * spill's one shared buffer. */
static size_t bufsize_for(const sl_exact *e, size_t maxlen)
{
	size_t rec = maxlen + VARMAX;
	size_t n = e->B > rec ? e->B : rec;
	return (n + 15) & ~(size_t)15;
}

static size_t bufsize(const sl_exact *e)
{
	return bufsize_for(e, e->maxlen);
}

static size_t per_reader(const sl_exact *e)
{
	return sizeof(sl_spill_reader) + sizeof(uint32_t) + bufsize(e) + 16;
}

/* Runs one merge can take in `area` bytes of the slab (at most F). */
static uint32_t fan_in(const sl_exact *e, size_t area)
{
	size_t f = area / per_reader(e);
	return f > e->F ? e->F : (uint32_t)f;
}

static int reader_cmp(void *ctx, const sl_spill_reader *a, const sl_spill_reader *b)
{
	(void)ctx;
	return keycmp(a->rec, a->len, b->rec, b->len);
}

/* ---- the top list ---------------------------------------------------------- */

/* Row i ranks before row j: higher count, then earlier (smaller) key. */
static inline int row_better(const sl_exact *e, uint32_t i, uint32_t j)
{
	const toprow *a = &e->rows[i], *b = &e->rows[j];
	return a->count > b->count || (a->count == b->count && a->seq < b->seq);
}

/* Arena record at offset a ranks before the one at b. */
static inline int rec_better(const sl_exact *e, uint32_t a, uint32_t b)
{
	const char *x = REC(e, a), *y = REC(e, b);
	uint64_t cx = RCOUNT(x), cy = RCOUNT(y);
	if (cx != cy)
		return cx > cy;
	return keycmp(RKEY(x), RLEN(x), RKEY(y), RLEN(y)) < 0;
}

static inline int better(const sl_exact *e, int rows, uint32_t a, uint32_t b)
{
	return rows ? row_better(e, a, b) : rec_better(e, a, b);
}

/* Min-heap by rank: the worst at the root. */
static void top_down(const sl_exact *e, int rows, uint32_t *h, size_t n, size_t i)
{
	uint32_t x = h[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && better(e, rows, h[c], h[c + 1]))
			c++;
		if (!better(e, rows, x, h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

static void top_up(const sl_exact *e, int rows, uint32_t *h, size_t i)
{
	uint32_t x = h[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!better(e, rows, h[p], x))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = x;
}

/* Heapsort of the heap: best first. */
static void top_sort(const sl_exact *e, int rows, uint32_t *h, size_t n)
{
	for (size_t i = n; i-- > 1;) {
		uint32_t t = h[0];
		h[0] = h[i];
		h[i] = t;
		top_down(e, rows, h, i, 0);
	}
}

/* The final merge's sink: one distinct key with its summed count. */
static void take(sl_exact *e, const char *key, size_t len, uint64_t count,
		 size_t top_n, size_t *nh)
{
	uint32_t i;
	e->distinct++;
	if (e->each) {
		e->each(e->each_ud, key, len, count);
		return;
	}
	if (!top_n)
		return;
	if (*nh < top_n) {
		i = (uint32_t)*nh;
	} else {
		i = e->order[0];
		if (count <= e->rows[i].count)
			return;
	}
	toprow *r = &e->rows[i];
	r->count = count;
	r->seq = e->distinct;
	r->len = (uint32_t)(len < e->keyslot ? len : e->keyslot);
	r->truncated = len > SL_TOPK_VALUE_MAX;
	memcpy(e->keys + (size_t)i * e->keyslot, key, r->len);
	if (*nh < top_n) {
		e->order[*nh] = i;
		top_up(e, 1, e->order, (*nh)++);
	} else {
		top_down(e, 1, e->order, *nh, 0);
	}
}

/*
 * Merges runs[first .. first + k) with readers in slab[0 .. area). With
 * final == 0 it writes one run of `level` replacing them; else it feeds
 * take() and checks the total. Since keys are distinct within a run, equal
 * keys are all at the heads of their runs at once: every head equal to the
 * smallest is popped, their counts summed, one record given, and then they
 * all move on.
 */
static sl_status merge(sl_exact *e, size_t first, uint32_t k, size_t area,
		       int final, uint32_t level, size_t top_n)
{
	sl_status s;
	sl_spill_reader *rd = (sl_spill_reader *)(void *)e->slab;
	uint32_t *heap = (uint32_t *)(void *)(rd + k);
	char *buf = (char *)(heap + k);
	buf += (16 - (uintptr_t)buf % 16) % 16;
	size_t rb = bufsize(e);
	if ((size_t)(buf - e->slab) + (size_t)k * rb > area)
		return fail(e, SL_EBUDGET, 0);
	size_t nh = 0;
	uint64_t start = e->sp.wpos, total = 0;
	for (uint32_t i = 0; i < k; i++)
		if ((s = sl_spill_reader_open(&e->sp, &rd[i], &e->runs[first + i],
					      buf + (size_t)i * rb, rb)))
			return sfail(e, s);
	sl_spill_merge m = {rd, heap, k, 0, reader_cmp, NULL, NULL};
	sl_spill_merge_start(&m);
	while (m.n) {
		/* pop every head equal to the smallest key; they stay valid
		 * until their readers move */
		uint32_t g[FAN_MAX];
		size_t ng = 0;
		uint64_t sum = 0;
		do {
			uint32_t w = sl_spill_merge_pop(&m);
			g[ng++] = w;
			sum += rd[w].count;
		} while (m.n && keycmp(rd[m.heap[0]].rec, rd[m.heap[0]].len, rd[g[0]].rec,
				       rd[g[0]].len) == 0);
		const sl_spill_reader *head = &rd[g[0]];
		total += sum;
		if (final)
			take(e, head->rec, head->len, sum, top_n, &nh);
		else if ((s = sl_spill_put(&e->sp, head->rec, head->len, sum)))
			return sfail(e, s);
		for (size_t i = 0; i < ng; i++) {
			if ((s = sl_spill_reader_next(&e->sp, &rd[g[i]])))
				return sfail(e, s);
			sl_spill_merge_push(&m, g[i]);
		}
	}
	if (final) {
		if (total != e->total)
			return fail(e, SL_ECORRUPT, 0);
		e->nres = nh;
		return SL_OK;
	}
	if ((s = sl_spill_flush(&e->sp)))
		return sfail(e, s);
	/* give back the merged runs' disk: one hole over their span */
	sl_spill_release(&e->sp, &e->runs[first], k);
	e->runs[first].start = start;
	e->runs[first].end = e->sp.wpos;
	e->runs[first].level = level;
	e->nruns = first + 1;
	e->st.merges++;
	return SL_OK;
}

/* Appends a run; merges the last f runs while the policy (spill.h) says so,
 * f = the fan-in the longest key allows (F unless keys are long). The slab
 * must be free (the hash table empty). */
static sl_status push_run(sl_exact *e, uint64_t start, uint64_t end, uint32_t level)
{
	sl_status s;
	sl_spill_run *r = &e->runs[e->nruns++];
	r->start = start;
	r->end = end;
	r->level = level;
	e->st.runs++;
	uint32_t f = fan_in(e, e->slab_len);	/* >= 2: see sl_exact_new */
	size_t k;
	while ((k = sl_spill_due(e->runs, e->nruns, e->runs_cap, f, &level)))
		if ((s = merge(e, e->nruns - k, (uint32_t)k, e->slab_len, 0, level, 0)))
			return s;
	return SL_OK;
}

/* ---- spilling the table ----------------------------------------------------- */

static inline int ecmp(const sl_exact *e, const entry *a, const entry *b)
{
	if (a->pfx != b->pfx)
		return a->pfx < b->pfx ? -1 : 1;
	return keycmp(RKEY(REC(e, a->off)), a->len, RKEY(REC(e, b->off)), b->len);
}

/* Keys are distinct, so no two entries compare equal. */
#define ENTRY_CTX const sl_exact *
#define ENTRY_CMP ecmp
#include "spill/entrysort.h"

/* Compacts the occupied slots to u32 arena offsets at the slab's start;
 * returns how many (e->n). */
static uint32_t *compact(sl_exact *e)
{
	uint32_t *o = (uint32_t *)(void *)e->slots;
	size_t j = 0;
	for (size_t i = 0; i < e->cap; i++) {
		uint64_t v = e->slots[i];
		if (v)
			o[j++] = (uint32_t)v - 1;
	}
	return o;
}

/* Writes the table as one run (sorted by key) and empties it. */
static sl_status spill(sl_exact *e)
{
	sl_status s;
	if (!e->n)
		return SL_OK;
	size_t n = e->n;
	uint32_t *o = compact(e);
	entry *a = (entry *)(void *)e->slots;
	for (size_t i = n; i-- > 0;) {	/* 16 * n <= 8 * cap */
		uint32_t off = o[i];
		const char *r = REC(e, off);
		entry t = {load_pfx((const unsigned char *)RKEY(r), RLEN(r)), off, RLEN(r)};
		a[i] = t;
	}
	entry_sort(e, a, n);
	uint64_t start = e->sp.wpos;
	for (size_t i = 0; i < n; i++) {
		const char *r = REC(e, a[i].off);
		if ((s = sl_spill_put(&e->sp, RKEY(r), a[i].len, RCOUNT(r))))
			return sfail(e, s);
	}
	if ((s = sl_spill_flush(&e->sp)))
		return sfail(e, s);
	e->st.records += n;
	e->n = 0;		/* the slab is free for merging now */
	e->afill = 0;
	s = push_run(e, start, e->sp.wpos, 0);
	relayout(e);
	return s;
}

/* ---- the public interface ----------------------------------------------------- */

sl_status sl_exact_new(sl_exact **out, sl_budget *b, size_t max_bytes, const char *tmpdir)
{
	sl_status s = SL_ENOMEM;
	*out = NULL;
	if (!b || !tmpdir)
		return SL_EINVAL;
	if (max_bytes < SL_EXACT_MIN_BYTES)
		return SL_EBUDGET;
	sl_exact *e = sl_calloc(b, 1, sizeof *e);
	if (!e)
		return SL_ENOMEM;
	e->b = b;
	e->max_bytes = max_bytes;
	e->tmpdir_len = strlen(tmpdir);
	size_t B = max_bytes / 64;
	B = B < BLOCK_MIN ? BLOCK_MIN : B > BLOCK_MAX ? BLOCK_MAX : B;
	e->B = B;
	if (!(e->tmpdir = sl_malloc(b, e->tmpdir_len + 1)))
		goto out;
	memcpy(e->tmpdir, tmpdir, e->tmpdir_len + 1);
	/* records longer than B come back whole into a reader's buffer,
	 * which is planned for the longest key: no growing */
	if (sl_spill_init(&e->sp, b, B, e->tmpdir, "sluice-exact", 1, 0, &e->st))
		goto out;

	size_t held = sizeof *e + e->tmpdir_len + 1 + sl_spill_bytes(B);
	size_t rest = max_bytes > held ? max_bytes - held : 0;
	size_t F = rest / (per_reader(e) + LEVELS * sizeof(sl_spill_run));
	if (F > FAN_MAX)
		F = FAN_MAX;
	/* the slab must hold the longest key, and a merge two readers of it:
	 * near the minimum budget the run table gives way */
	size_t need = 2 * (per_reader(e) - bufsize(e) + bufsize_for(e, SL_EXACT_KEY_MAX));
	if (need < recsize(SL_EXACT_KEY_MAX) + 64 * 8)
		need = recsize(SL_EXACT_KEY_MAX) + 64 * 8;
	while (F > 2 && rest < need + 16 + ((F - 1) * LEVELS + 1) * sizeof(sl_spill_run))
		F--;
	s = SL_EBUDGET;
	if (F < 2)
		goto out;
	e->F = (uint32_t)F;
	e->runs_cap = (F - 1) * LEVELS + 1;
	s = SL_ENOMEM;
	if (!(e->runs = sl_malloc(b, e->runs_cap * sizeof(sl_spill_run))))
		goto out;
	held += e->runs_cap * sizeof(sl_spill_run);
	e->slab_len = (max_bytes - held) & ~(size_t)15;
	if (e->slab_len > ((size_t)1 << 32))
		e->slab_len = (size_t)1 << 32;
	s = SL_EBUDGET;
	/* the table holds the longest key, and a merge two readers of it */
	if (e->slab_len < need || e->slab_len < (size_t)F * per_reader(e))
		goto out;
	s = SL_ENOMEM;
	if (!(e->slab = sl_malloc(b, e->slab_len)))
		goto out;
	relayout(e);
	e->st.fan_in = e->F;
	e->st.run_bytes = e->slab_len;
	*out = e;
	return SL_OK;
out:
	sl_exact_free(e);
	return s;
}

sl_status sl_exact_addw(sl_exact *e, const char *key, size_t len, uint64_t w)
{
	sl_status s;
	if (e->err)
		return e->err;
	if (e->state != ST_ADD || len > SL_EXACT_KEY_MAX)
		return SL_EINVAL;
	if (!w)
		return SL_OK;
	uint64_t hash = sl_hash(key, len);
	uint32_t tag = (uint32_t)(hash >> 32);
	size_t i = slot_of(e, hash);
	for (;;) {
		uint64_t v = e->slots[i];
		if (!v)
			break;
		if ((uint32_t)(v >> 32) == tag) {
			char *r = REC(e, (uint32_t)v - 1);
			if (RLEN(r) == len && memcmp(RKEY(r), key, len) == 0) {
				store64(r, RCOUNT(r) + w);
				e->total += w;
				return SL_OK;
			}
		}
		if (++i == e->cap)
			i = 0;
	}
	size_t need = recsize(len);
	if (e->n >= e->maxload || e->afill + need > e->arena_cap) {
		if ((s = spill(e)))
			return s;
		for (i = slot_of(e, hash); e->slots[i];)
			if (++i == e->cap)
				i = 0;
	}
	char *r = e->arena + e->afill;
	store64(r, w);
	store32(r + 8, (uint32_t)len);
	memcpy(r + RECHDR, key, len);
	e->slots[i] = (uint64_t)tag << 32 | (uint64_t)(e->afill + 1);
	e->afill += need;
	e->n++;
	e->total += w;
	e->keys_seen++;
	e->bytes_seen += need;
	if (len > e->maxlen)
		e->maxlen = (uint32_t)len;
	return SL_OK;
}

sl_status sl_exact_add(sl_exact *e, const char *key, size_t len)
{
	return sl_exact_addw(e, key, len, 1);
}

sl_status sl_exact_merge(sl_exact *dst, sl_exact *src)
{
	sl_status s;
	if (dst->err)
		return dst->err;
	if (src->err)
		return src->err;
	if (dst == src || dst->state != ST_ADD || src->state != ST_ADD)
		return SL_EINVAL;
	/* src's table, key by key (dst may spill on the way) */
	uint64_t table_total = 0;
	for (size_t i = 0; i < src->cap; i++) {
		uint64_t v = src->slots[i];
		if (!v)
			continue;
		const char *r = REC(src, (uint32_t)v - 1);
		table_total += RCOUNT(r);
		if ((s = sl_exact_addw(dst, RKEY(r), RLEN(r), RCOUNT(r))))
			return s;
	}
	/* dst's readers must hold src's longest record before its runs come */
	if (src->maxlen > dst->maxlen)
		dst->maxlen = src->maxlen;
	if (src->nruns) {
		/* src's runs, copied block for block through src's slab; dst's
		 * table is spilled first so that its slab is free to merge */
		if ((s = spill(dst)))
			return s;
		for (size_t i = 0; i < src->nruns; i++) {
			uint64_t a = src->runs[i].start, z = src->runs[i].end;
			uint64_t start = dst->sp.wpos;
			while (a < z) {
				size_t take = z - a < src->slab_len ? (size_t)(z - a) : src->slab_len;
				if ((s = sl_spill_pread(&src->sp, src->slab, take, a)))
					return fail(dst, s, src->sp.err_no);
				if ((s = sl_spill_append(&dst->sp, src->slab, take)))
					return sfail(dst, s);
				a += take;
			}
			if ((s = push_run(dst, start, dst->sp.wpos, src->runs[i].level)))
				return s;
		}
		dst->st.records += src->st.records;
		relayout(dst);	/* merges used the slab */
	}
	dst->total += src->total - table_total;
	if (src->keys_seen) {
		dst->keys_seen += src->keys_seen;
		dst->bytes_seen += src->bytes_seen;
	}
	/* src is left empty */
	sl_spill_truncate(&src->sp);
	src->nruns = 0;
	src->total = 0;
	relayout(src);
	return SL_OK;
}

/* No spill: the answers from the table. The compacted offsets take at most
 * half the slots' bytes; the heap of top rows goes right after them. */
static void finish_table(sl_exact *e, size_t top_n)
{
	size_t n = e->n;
	uint32_t *o = compact(e);
	uint32_t *h = o + n;
	size_t m = top_n < n ? top_n : n, nh = 0;
	for (size_t i = 0; i < n && m; i++) {
		if (nh < m) {
			h[nh] = o[i];
			top_up(e, 0, h, nh++);
		} else if (rec_better(e, o[i], h[0])) {
			h[0] = o[i];
			top_down(e, 0, h, nh, 0);
		}
	}
	top_sort(e, 0, h, nh);
	e->distinct = n;
	e->order = h;
	e->nres = nh;
	e->res = RES_TABLE;
}

/* Merges the last runs together until at most F remain, for the final
 * merge. Intermediate merges need no top rows: they use the whole slab. */
static sl_status merge_down_to(sl_exact *e, size_t F)
{
	sl_status s;
	uint32_t f = fan_in(e, e->slab_len), level;
	size_t count;
	while ((count = sl_spill_tail(e->runs, e->nruns, F, f, &level)))
		if ((s = merge(e, e->nruns - count, (uint32_t)count, e->slab_len, 0, level, 0)))
			return s;
	return SL_OK;
}

sl_status sl_exact_finish(sl_exact *e, size_t top_n)
{
	sl_status s;
	if (e->err)
		return e->err;
	if (e->state != ST_ADD)
		return SL_EINVAL;
	if (!e->nruns) {
		finish_table(e, top_n);
		e->state = ST_DONE;
		return SL_OK;
	}
	if ((s = spill(e)))
		return s;
	/* the top rows at the end of the slab, readers before them */
	e->keyslot = e->maxlen < SL_TOPK_VALUE_MAX ? e->maxlen : SL_TOPK_VALUE_MAX;
	size_t row = e->keyslot + sizeof(toprow) + sizeof(uint32_t);
	size_t area = e->slab_len;
	if (top_n) {
		if (top_n > (e->slab_len - per_reader(e) - 16) / row)
			return fail(e, SL_EBUDGET, 0);
		area = (e->slab_len - top_n * row) & ~(size_t)15;
		e->rows = (toprow *)(void *)(e->slab + area);
		e->order = (uint32_t *)(e->rows + top_n);
		e->keys = (char *)(e->order + top_n);
	}
	/* the rows may leave room for one reader only: the runs are then
	 * merged into one first, with the whole slab */
	size_t F = fan_in(e, area);
	if (F < 1)
		return fail(e, SL_EBUDGET, 0);
	if ((s = merge_down_to(e, F)))
		return s;
	e->distinct = 0;
	if ((s = merge(e, 0, (uint32_t)e->nruns, area, 1, 0, top_n)))
		return s;
	top_sort(e, 1, e->order, e->nres);
	e->res = RES_ROWS;
	e->state = ST_DONE;
	return SL_OK;
}

sl_status sl_exact_finish_each(sl_exact *e, sl_exact_each_fn fn, void *ud)
{
	sl_status s;
	if (e->err)
		return e->err;
	if (e->state != ST_ADD || !fn)
		return SL_EINVAL;
	e->each = fn;
	e->each_ud = ud;
	if (!e->nruns) { /* never spilled: straight from the table */
		size_t n = e->n;
		uint32_t *o = compact(e);
		for (size_t i = 0; i < n; i++) {
			const char *r = REC(e, o[i]);
			fn(ud, RKEY(r), RLEN(r), RCOUNT(r));
		}
		e->distinct = n;
		e->nres = 0;
		e->res = RES_TABLE;
		e->state = ST_DONE;
		return SL_OK;
	}
	if ((s = spill(e)))
		return s;
	size_t F = fan_in(e, e->slab_len);
	if (F < 2)
		return fail(e, SL_EBUDGET, 0);
	if ((s = merge_down_to(e, F)))
		return s;
	e->distinct = 0;
	if ((s = merge(e, 0, (uint32_t)e->nruns, e->slab_len, 1, 0, 0)))
		return s;
	e->nres = 0;
	e->res = RES_ROWS;
	e->state = ST_DONE;
	return SL_OK;
}

uint64_t sl_exact_distinct(const sl_exact *e)
{
	return e->err || e->state != ST_DONE ? 0 : e->distinct;
}

uint64_t sl_exact_total(const sl_exact *e)
{
	return e->err || e->state != ST_DONE ? 0 : e->total;
}

size_t sl_exact_top(const sl_exact *e, sl_topk_row *rows, size_t n)
{
	if (e->err || e->state != ST_DONE)
		return 0;
	if (n > e->nres)
		n = e->nres;
	for (size_t i = 0; i < n; i++) {
		sl_topk_row *w = &rows[i];
		w->max_error = 0;
		if (e->res == RES_TABLE) {
			const char *r = REC(e, e->order[i]);
			size_t len = RLEN(r);
			w->value = RKEY(r);
			w->len = len < SL_TOPK_VALUE_MAX ? len : SL_TOPK_VALUE_MAX;
			w->count = RCOUNT(r);
			w->truncated = len > SL_TOPK_VALUE_MAX;
		} else {
			uint32_t j = e->order[i];
			w->value = e->keys + (size_t)j * e->keyslot;
			w->len = e->rows[j].len;
			w->count = e->rows[j].count;
			w->truncated = e->rows[j].truncated != 0;
		}
	}
	return n;
}

int sl_exact_errno(const sl_exact *e)
{
	return e->err == SL_EIO ? e->err_no : 0;
}

void sl_exact_stats(const sl_exact *e, sl_xsort_stats *st)
{
	*st = e->st;
}

void sl_exact_free(sl_exact *e)
{
	if (!e)
		return;
	sl_budget *b = e->b;
	sl_spill_free(&e->sp);
	sl_free(b, e->slab, e->slab_len);
	sl_free(b, e->runs, e->runs_cap * sizeof(sl_spill_run));
	sl_free(b, e->tmpdir, e->tmpdir_len + 1);
	sl_free(b, e, sizeof *e);
}
