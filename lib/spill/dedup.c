/*
 * dedup.c: the first line of each key, in input order, in bounded memory
 * (sl_dedup_*): `awk '!seen[$0]++'` (or `!seen[$N]++`) for inputs whose
 * distinct lines do not fit in memory.
 *
 * Exact mode has two phases.
 *
 *  1. In memory. An open-addressed set (linear probing) of the keys seen,
 *     each slot one 64-bit word: the top 32 bits of the key's XXH3-64
 *     (sl_hash) as a tag, and 1 + the offset of the key in an arena where
 *     keys are stored as `u32 length | bytes`, back to back. The home slot is
 *     tag & mask, so the table is rehashed from the tags alone when it
 *     doubles. A tag match is only a candidate: the key bytes are compared
 *     (exact means exact; the hash is never trusted alone). A key not found
 *     is inserted and the caller prints its line at once, so this phase
 *     streams. The table doubles at load 3/4; the arena doubles, up to a
 *     soft limit that leaves room for the table to double, then grows by
 *     eighths (never one key at a time: each growth may copy it all); both
 *     keep within the set's share of max_bytes (see Memory), and a table
 *     that cannot double may fill to 7/8 first.
 *
 *  2. Spill, once the set cannot take a new key. The set stops growing but
 *     stays as a filter: a later line whose key it holds is a duplicate of a
 *     line already printed and is dropped at once. Every other line goes to
 *     the first external sort (sl_xsort, `unique`, custom comparator) as
 *         line | seq (u64, big-endian) | key offset (u32) | key length (u32)
 *     where seq is the line's number in the whole input. The comparator
 *     compares the keys the suffix points at, bytewise; `unique` keeps the
 *     first record (in input order, hence the smallest seq) of each key. At
 *     finish, those survivors, the first occurrences of keys that the set
 *     does not hold, are fed to a second sort as
 *         seq (u64, big-endian) | line
 *     a plain bytewise sort (the 8-byte seq is the sorter's integer prefix)
 *     that gives them back in input order through sl_dedup_next. Every
 *     survivor comes after every line printed in phase 1, so the phase-1
 *     output followed by the survivors is awk's output. The set is freed
 *     before the second sort is created, which takes its share.
 *
 * Approximate mode: a Bloom filter (lib/sketch/bloom.c) of all of max_bytes but the
 * struct, with k = round(-log2 rate). A line is printed when its key
 * checks absent. Never spills; the stats carry the filter's estimate of
 * the wrongly dropped lines and its 95% bound on them (lib/sketch/bloom.c: the
 * smaller of a Chernoff and a Freedman bound), capped by the lines dropped.
 *
 * Memory (exact): max_bytes = overhead + S1 + share, where overhead is this
 * struct, the tmpdir copy and a 4 KiB copy buffer, S1 = max(256 KiB, a
 * quarter of the rest) is the first sorter's max_bytes, and share is the
 * rest: the set (table + arena) keeps within share, counting a table's old
 * and new arrays during a rehash, and the second sorter gets share once the
 * set is gone. So at no time do the structures hold more than max_bytes,
 * except as sl_xsort allows for long records, and the copy buffer, which
 * grows to the longest spilled line + 16. A line's key fits the set only if
 * it fits the share; a longer one simply goes down the spill path, so
 * lines of any length up to SL_DEDUP_MAX_LINE are deduped exactly.
 * Temporary disk: about twice the spilled lines' distinct bytes (LZ4-
 * compressed), in unnamed files removed with their sorters.
 */
#include "sluice.h"

#include <string.h>

#define SCRATCH0 4096
#define TABLE0 1024		/* slots */
#define ARENA0 8192
#define SUFFIX 16		/* seq, key offset, key length */
#define ARENA_MAX ((size_t)UINT32_MAX - 1)

enum { ST_ADD, ST_NEXT, ST_END };

struct sl_dedup {
	sl_budget *b;
	size_t max_bytes;
	sl_dedup_opts o;
	int state;
	sl_status err;
	int err_no;
	char *tmpdir;
	size_t tmpdir_len;

	uint64_t lines, printed, dropped;

	/* approximate */
	sl_bloom *bloom;

	/* exact: the set */
	uint64_t *slots;
	size_t nslots, count;
	char *arena;
	size_t arena_cap, arena_len;
	size_t share;
	bool frozen;

	/* exact: the spill */
	size_t sort1_bytes;
	sl_xsort *first;	/* by key, unique */
	sl_xsort *order;	/* by seq */
	char *scratch;
	size_t scratch_cap;
	uint64_t spilled, deferred;
	sl_xsort_stats st1, st2;
};

static const char *key_of(const sl_dedup_opts *o, const char *p, size_t n, size_t *klen)
{
	const char *end = p + n;
	uint32_t f = o->key_field;
	if (!f) {
		*klen = n;
		return p;
	}
	if (o->separator == SL_DEDUP_BLANKS) {
		for (;;) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
				p++;
			if (p == end)
				break;
			const char *s = p;
			while (p < end && *p != ' ' && *p != '\t' && *p != '\n')
				p++;
			if (--f == 0) {
				*klen = (size_t)(p - s);
				return s;
			}
		}
		*klen = 0;
		return end;
	}
	char c = (char)o->separator;
	const char *q;
	while (--f) {
		if (!(q = memchr(p, c, (size_t)(end - p)))) {
			*klen = 0;
			return end;
		}
		p = q + 1;
	}
	q = memchr(p, c, (size_t)(end - p));
	*klen = (size_t)((q ? q : end) - p);
	return p;
}

static sl_status fail(sl_dedup *d, sl_status s, const sl_xsort *xs)
{
	d->err = s;
	if (s == SL_EIO && xs)
		d->err_no = sl_xsort_errno(xs);
	return s;
}

sl_status sl_dedup_new(sl_dedup **out, sl_budget *b, size_t max_bytes,
		       const sl_dedup_opts *opts, const char *tmpdir)
{
	sl_dedup_opts def = {0, SL_DEDUP_BLANKS, 0};
	*out = NULL;
	if (!opts)
		opts = &def;
	bool approx = opts->approx_rate != 0;
	if (!b || opts->separator < SL_DEDUP_BLANKS || opts->separator > 255 ||
	    (approx && !(opts->approx_rate > 0 && opts->approx_rate < 1)) ||
	    (!approx && !tmpdir))
		return SL_EINVAL;
	if (max_bytes < (approx ? SL_DEDUP_APPROX_MIN_BYTES : SL_DEDUP_MIN_BYTES))
		return SL_EBUDGET;
	sl_dedup *d = sl_calloc(b, 1, sizeof *d);
	if (!d)
		return SL_ENOMEM;
	d->b = b;
	d->max_bytes = max_bytes;
	d->o = *opts;
	if (approx) {
		uint64_t m = sl_bloom_bits_for_bytes(max_bytes - sizeof *d);
		if (!(d->bloom = sl_bloom_new(b, m, sl_bloom_k_for_rate(opts->approx_rate))))
			goto nomem;
		*out = d;
		return SL_OK;
	}
	d->tmpdir_len = strlen(tmpdir);
	if (!(d->tmpdir = sl_malloc(b, d->tmpdir_len + 1)))
		goto nomem;
	memcpy(d->tmpdir, tmpdir, d->tmpdir_len + 1);
	size_t overhead = sizeof *d + d->tmpdir_len + 1 + SCRATCH0;
	if (max_bytes < overhead + 2 * SL_XSORT_MIN_BYTES) {
		sl_dedup_free(d);
		return SL_EBUDGET;
	}
	size_t rest = max_bytes - overhead;
	d->sort1_bytes = rest / 4 > SL_XSORT_MIN_BYTES ? rest / 4 : SL_XSORT_MIN_BYTES;
	d->share = rest - d->sort1_bytes;
	d->scratch_cap = SCRATCH0;
	d->nslots = TABLE0;
	d->arena_cap = ARENA0;
	if (!(d->scratch = sl_malloc(b, d->scratch_cap)) ||
	    !(d->slots = sl_calloc(b, d->nslots, sizeof *d->slots)) ||
	    !(d->arena = sl_malloc(b, d->arena_cap)))
		goto nomem;
	*out = d;
	return SL_OK;
nomem:
	sl_dedup_free(d);
	return SL_ENOMEM;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const sl_dedup *d, const char *key, size_t klen, uint32_t tag, bool *found)
{
	size_t mask = d->nslots - 1, i = tag & mask;
	for (;; i = (i + 1) & mask) {
		uint64_t s = d->slots[i];
		if (!s)
			break;
		if ((uint32_t)(s >> 32) == tag) {
			const char *k = d->arena + (uint32_t)s - 1;
			uint32_t kl;
			memcpy(&kl, k, 4);
			if (kl == klen && memcmp(k + 4, key, klen) == 0) {
				*found = true;
				return i;
			}
		}
	}
	*found = false;
	return i;
}

static size_t table_bytes(size_t nslots)
{
	return nslots * sizeof(uint64_t);
}

/* Room for one more key of need arena bytes; false when the share is full
 * (or the budget refuses): the set is then unchanged in content. */
static bool make_room(sl_dedup *d, size_t need)
{
	if (d->arena_cap - d->arena_len < need) {
		size_t tbl = table_bytes(d->nslots);
		size_t room = d->share > tbl ? d->share - tbl : 0; /* arena at most */
		size_t soft = room > 2 * tbl ? room - 2 * tbl : 0; /* leaves a rehash */
		size_t min = d->arena_len + need, want = 2 * d->arena_cap;
		if (need > ARENA_MAX - d->arena_len)
			return false;
		if (want < min)
			want = min;
		if (want > soft) {
			/* up to the soft limit; past it, steps of an eighth
			 * (not one key at a time, which would copy the whole
			 * arena for every new key) up to the room itself */
			want = soft > min ? soft : d->arena_cap + d->arena_cap / 8;
			if (want < min)
				want = min;
			if (want > room && min <= room)
				want = room;
		}
		if (want > room || want > ARENA_MAX)
			return false;
		char *a = sl_realloc(d->b, d->arena, d->arena_cap, want);
		if (!a)
			return false;
		d->arena = a;
		d->arena_cap = want;
	}
	if ((d->count + 1) * 4 > d->nslots * 3) {
		size_t n = 2 * d->nslots, old = table_bytes(d->nslots);
		uint64_t *t = NULL;
		if (d->arena_cap + old + table_bytes(n) <= d->share && n <= ((size_t)1 << 32))
			t = sl_calloc(d->b, n, sizeof *t);
		if (!t)
			return (d->count + 1) * 8 <= d->nslots * 7;
		for (size_t i = 0; i < d->nslots; i++) {
			uint64_t s = d->slots[i];
			if (!s)
				continue;
			size_t j = (uint32_t)(s >> 32) & (n - 1);
			while (t[j])
				j = (j + 1) & (n - 1);
			t[j] = s;
		}
		sl_free(d->b, d->slots, old);
		d->slots = t;
		d->nslots = n;
	}
	return true;
}

static int cmp_keys(void *ud, const char *a, size_t an, const char *b, size_t bn)
{
	uint32_t ao, al, bo, bl;
	(void)ud;
	memcpy(&ao, a + an - 8, 4);
	memcpy(&al, a + an - 4, 4);
	memcpy(&bo, b + bn - 8, 4);
	memcpy(&bl, b + bn - 4, 4);
	int c = memcmp(a + ao, b + bo, al < bl ? al : bl);
	if (c)
		return c;
	return (al > bl) - (al < bl);
}

static void put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

static sl_status grow_scratch(sl_dedup *d, size_t need)
{
	if (need <= d->scratch_cap)
		return SL_OK;
	size_t cap = d->scratch_cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
	char *p = sl_realloc(d->b, d->scratch, d->scratch_cap, cap);
	if (!p)
		return SL_ENOMEM;
	d->scratch = p;
	d->scratch_cap = cap;
	return SL_OK;
}

static sl_status spill(sl_dedup *d, const char *line, size_t len, const char *key,
		       size_t klen, uint64_t seq)
{
	sl_status s;
	if (!d->first) {
		sl_xsort_opts o = {.separator = SL_XSORT_BLANKS, .unique = true,
				   .cmp = cmp_keys};
		if ((s = sl_xsort_new(&d->first, d->b, d->sort1_bytes, &o, d->tmpdir)))
			return fail(d, s, NULL);
	}
	if ((s = grow_scratch(d, len + SUFFIX)))
		return fail(d, s, NULL);
	uint32_t ko = (uint32_t)(key - line), kl = (uint32_t)klen;
	memcpy(d->scratch, line, len);
	put_be64(d->scratch + len, seq);
	memcpy(d->scratch + len + 8, &ko, 4);
	memcpy(d->scratch + len + 12, &kl, 4);
	if ((s = sl_xsort_add(d->first, d->scratch, len + SUFFIX)))
		return fail(d, s, d->first);
	d->spilled++;
	return SL_OK;
}

sl_status sl_dedup_add(sl_dedup *d, const char *line, size_t len, bool *print)
{
	size_t klen;
	*print = false;
	if (d->err)
		return d->err;
	if (d->state != ST_ADD)
		return SL_EINVAL;
	const char *key = key_of(&d->o, line, len, &klen);
	if (d->bloom) {
		d->lines++;
		if (sl_bloom_add(d->bloom, key, klen)) {
			d->dropped++;
		} else {
			d->printed++;
			*print = true;
		}
		return SL_OK;
	}
	if (len > SL_DEDUP_MAX_LINE)
		return SL_EINVAL;
	uint32_t tag = (uint32_t)(sl_hash(key, klen) >> 32);
	bool found;
	size_t i = find(d, key, klen, tag, &found);
	if (found) {
		d->lines++;
		d->dropped++;
		return SL_OK;
	}
	if (!d->frozen) {
		size_t need = 4 + klen, nslots = d->nslots;
		if (klen <= ARENA_MAX - 4 && make_room(d, need)) {
			if (d->nslots != nslots) /* rehashed: a new empty slot */
				i = find(d, key, klen, tag, &found);
			uint32_t kl = (uint32_t)klen;
			memcpy(d->arena + d->arena_len, &kl, 4);
			memcpy(d->arena + d->arena_len + 4, key, klen);
			d->slots[i] = (uint64_t)tag << 32 | (uint64_t)(d->arena_len + 1);
			d->arena_len += need;
			d->count++;
			d->lines++;
			d->printed++;
			*print = true;
			return SL_OK;
		}
		d->frozen = true;
	}
	sl_status s = spill(d, line, len, key, klen, d->lines);
	if (s)
		return s;
	d->lines++;
	return SL_OK;
}

static void free_set(sl_dedup *d)
{
	sl_free(d->b, d->slots, table_bytes(d->nslots));
	sl_free(d->b, d->arena, d->arena_cap);
	d->slots = NULL;
	d->arena = NULL;
	d->nslots = d->arena_cap = d->arena_len = 0;
}

sl_status sl_dedup_finish(sl_dedup *d)
{
	sl_status s;
	if (d->err)
		return d->err;
	if (d->state != ST_ADD)
		return SL_EINVAL;
	if (!d->first) {
		d->state = ST_END;
		return SL_OK;
	}
	if ((s = sl_xsort_finish(d->first)))
		return fail(d, s, d->first);
	free_set(d);
	if ((s = sl_xsort_new(&d->order, d->b, d->share, NULL, d->tmpdir)))
		return fail(d, s, NULL);
	for (;;) {
		const char *rec;
		size_t len;
		if ((s = sl_xsort_next(d->first, &rec, &len)))
			return fail(d, s, d->first);
		if (!rec)
			break;
		size_t n = len - SUFFIX;
		if ((s = grow_scratch(d, n + 8)))
			return fail(d, s, NULL);
		memcpy(d->scratch, rec + n, 8);
		memcpy(d->scratch + 8, rec, n);
		if ((s = sl_xsort_add(d->order, d->scratch, n + 8)))
			return fail(d, s, d->order);
		d->deferred++;
	}
	sl_xsort_stats_get(d->first, &d->st1);
	sl_xsort_free(d->first);
	d->first = NULL;
	d->dropped += d->spilled - d->deferred;
	if ((s = sl_xsort_finish(d->order)))
		return fail(d, s, d->order);
	d->state = ST_NEXT;
	return SL_OK;
}

sl_status sl_dedup_next(sl_dedup *d, const char **line, size_t *len)
{
	*line = NULL;
	*len = 0;
	if (d->err)
		return d->err;
	if (d->state == ST_END)
		return SL_OK;
	if (d->state != ST_NEXT)
		return SL_EINVAL;
	const char *rec;
	size_t n;
	sl_status s = sl_xsort_next(d->order, &rec, &n);
	if (s)
		return fail(d, s, d->order);
	if (!rec) {
		sl_xsort_stats_get(d->order, &d->st2);
		sl_xsort_free(d->order);
		d->order = NULL;
		d->state = ST_END;
		return SL_OK;
	}
	d->printed++;
	*line = rec + 8;
	*len = n - 8;
	return SL_OK;
}

int sl_dedup_errno(const sl_dedup *d)
{
	return d->err == SL_EIO ? d->err_no : 0;
}

void sl_dedup_stats_get(const sl_dedup *d, sl_dedup_stats *st)
{
	memset(st, 0, sizeof *st);
	st->lines = d->lines;
	st->printed = d->printed;
	st->dropped = d->dropped;
	if (d->bloom) {
		st->bloom_bits = sl_bloom_bits(d->bloom);
		st->bloom_k = sl_bloom_k(d->bloom);
		st->bloom_bits_set = sl_bloom_bits_set(d->bloom);
		st->fp_rate = sl_bloom_fp_rate(d->bloom);
		st->fp_estimate = sl_bloom_fp_estimate(d->bloom);
		st->fp_bound = sl_bloom_fp_bound(d->bloom, 0.05);
		if (st->fp_bound > d->dropped)
			st->fp_bound = d->dropped;
		st->over_rate = st->fp_rate > d->o.approx_rate;
		return;
	}
	sl_xsort_stats a = d->st1, b = d->st2;
	if (d->first)
		sl_xsort_stats_get(d->first, &a);
	if (d->order)
		sl_xsort_stats_get(d->order, &b);
	st->held_keys = d->count;
	st->spilled = d->spilled > 0;
	st->spilled_lines = d->spilled;
	st->temp_written = a.temp_written + b.temp_written;
	st->temp_peak = a.temp_peak + b.temp_peak;
}

void sl_dedup_free(sl_dedup *d)
{
	if (!d)
		return;
	sl_bloom_free(d->bloom);
	sl_xsort_free(d->first);
	sl_xsort_free(d->order);
	free_set(d);
	sl_free(d->b, d->scratch, d->scratch_cap);
	sl_free(d->b, d->tmpdir, d->tmpdir_len + 1);
	sl_free(d->b, d, sizeof *d);
}
