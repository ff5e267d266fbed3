/*
 * kll.c: KLL quantile sketch of doubles (sl_kll_*).
 *
 * Algorithm: Karnin, Lang, Liberty, "Optimal quantile approximation in
 * streams" (FOCS 2016), with the lazy compaction schedule of Apache
 * DataSketches' KLL. The sketch is a stack of compactors (levels); an item
 * at level h stands for 2^h input values. With H levels, level h has
 * capacity max(8, ceil(k * (2/3)^(H-1-h))), so the top level holds k items
 * and lower levels geometrically fewer, except level 0, which holds at least
 * k: it then compacts once per k or more values, in one sorted batch whose
 * half cascades up the short levels as linear merges, instead of every 8
 * values (fewer level-0 compactions, each adding 1 to V, only lower V).
 * New values are appended to level 0; every level above it is kept sorted.
 * When the total number of retained items exceeds the sum of the
 * capacities, the lowest level whose size has reached its capacity is
 * compacted: it is sorted (level 0) or already
 * sorted, its smallest item stays behind if its size is odd, and of the
 * remaining sorted pairs either every first or every second item (a fair
 * coin from a per-sketch splitmix64 generator) is merged into the next level
 * with double weight. Compacting the top level first adds a new, empty
 * level.
 *
 * Error bound: a compaction of items of weight w changes the estimated rank
 * of any value by 0 or +-w, with mean 0 given the past. By Azuma-Hoeffding,
 * |estimated rank - true rank| <= sqrt(2 ln(2/0.05) * V) with probability
 * at least 95% for any one query, where V is the sum of w^2 over the
 * compactions done. V is kept as a double; sl_kll_rank_error() reports the
 * bound divided by n. Which levels compact depends only on counts, never on
 * values or coins, so V is not itself random. The sketch is exact (V = 0)
 * until the first compaction.
 *
 * Merge concatenates src's levels onto dst's, level by level, compacting as
 * needed, and adds src's V to dst's: the sum is right when the two
 * sketches' coins are independent, i.e. they share no history (merging a
 * into b and then b back into a would count a's errors twice but add its V
 * once). Merging a sketch into itself is handled: every level moves up one
 * (doubling each weight, no compaction) and V is multiplied by 4, since the
 * two copies' errors are identical. It returns SL_EINVAL, changing nothing,
 * only if n would pass 2^64.
 *
 * Quantiles: sl_kll_quantile(q) returns the smallest retained value x with
 * W(<= x) >= q * n, where W sums the weights of retained items; this is the
 * item reached by sorting (value, weight) pairs and accumulating weight. It
 * is found without scratch memory by a binary search over the 64-bit
 * order-preserving keys of doubles between min and max (at most 64 passes,
 * each a scan of level 0 and a binary search of every sorted level), so
 * queries never allocate and never modify the sketch. q = 0 and q = 1
 * return the exact min and max, kept separately.
 *
 * Memory: one block from the budget, taken at sl_kll_new and never grown:
 *
 *   [struct sl_kll: counters, level offsets, capacities by depth][items ...]
 *
 * items[] has room for 1 + the sum of the capacities at 64 levels, the
 * largest for any H (about 4k + 8 * 64 doubles: 3k for the geometric levels,
 * 8 being the smallest level capacity, and k for level 0; about 10 KiB at
 * k = 200). Two items at level 63 already weigh 2^64, so for any n < 2^64
 * no level above 63 is ever needed and the total never exceeds that sum plus
 * the one value just added. Level h occupies items[levels[h] ..
 * levels[h+1]); levels[H] is the end of the array and the free space is
 * items[0 .. levels[0]), into which level 0 grows downward. A merge inserts src's items in chunks no larger than the
 * free space and compacts after each chunk, so it never needs more room.
 * The free space doubles as the scratch of level 0's radix sort: when
 * sl_kll_add compacts, it holds at least 8 (64 - H) doubles, room for level
 * 0's usual k to 2k items at k = 200 while H <= ~30 (n < ~10^11); when it is
 * too small (deep sketches, merges) the sort is introsort in place.
 *
 * Cost: an add is a store and three compares; a compaction of level 0
 * sorts it (MSD radix on the order-preserving 64-bit keys, see sort_run;
 * introsort when the scratch is short, its short runs by a branch-free
 * insertion sort, for which a -0 added is stored as +0, equal to it in
 * every comparison, so quantiles are unchanged), one of a higher level is
 * a linear merge. With k = 200 a value costs about 105 instructions
 * amortized (callgrind, 2 x 2M request times and byte counts: ~17 the add,
 * ~50 the radix sort, ~30 the rest of the compactions), against ~148 with
 * level 0 at 8 and introsort.
 */
#include "sluice.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define MAX_LEVELS 64
/* Largest k accepted: keeps every offset within 32 bits. sl_kll_bytes()
 * answers SIZE_MAX (never fits) outside [SL_KLL_MIN_K, MAX_K]. */
#define MAX_K (1u << 29)

struct sl_kll {
	sl_budget *budget;
	size_t bytes;		/* taken from budget, freed at sl_kll_free */
	uint64_t n;		/* values added (NaN excluded) */
	double min, max;	/* exact; +inf and -inf while empty */
	double var;		/* V: sum of w^2 over all compactions */
	uint64_t rng;		/* splitmix64 state for the coins */
	uint32_t k;
	uint32_t nlevels;	/* H >= 1 */
	uint32_t size;		/* length of items[] */
	uint32_t capacity;	/* sum of the H level capacities */
	uint32_t limit;		/* size - capacity: compress when levels[0] < it */
	uint32_t cap0;		/* capacity of level 0: cap[H-1], at least k */
	uint32_t levels[MAX_LEVELS + 1];
	uint32_t cap[MAX_LEVELS]; /* capacity of a level at depth d = H-1-h */
	double items[];
};

/* The smallest level capacity. DataSketches uses 8 too: with 2, the short
 * top levels compact on almost every add deep in a stream (about 0.66
 * compactions per add at n = 10^6), which costs time and adds error. */
#define MIN_LEVEL_CAP 8

/* Capacity of a level at depth d below the top (computed in double). */
static uint32_t depth_cap(uint32_t k, int d)
{
	double c = ceil((double)k * pow(2.0 / 3.0, d));
	return c < MIN_LEVEL_CAP ? MIN_LEVEL_CAP : (uint32_t)c;
}

/* Capacity of level 0 when there are H levels: its depth capacity, but at
 * least k, so that level 0 compacts in batches of k or more. */
static uint32_t level0_cap(uint32_t k, uint32_t H)
{
	uint32_t c = depth_cap(k, (int)H - 1);
	return c < k ? k : c;
}

/* Sum of the capacities of H levels: the depths 0 .. H-2 above level 0. */
static uint64_t total_cap(uint32_t k, uint32_t H)
{
	uint64_t c = level0_cap(k, H);
	for (uint32_t d = 0; d + 1 < H; d++)
		c += depth_cap(k, (int)d);
	return c;
}

/* Length of items[]: the capacity of 64 levels (the largest: total_cap grows
 * with H) plus the value being added. */
static uint64_t items_len(uint32_t k)
{
	return 1 + total_cap(k, MAX_LEVELS);
}

/* Sets the capacities that depend on the number of levels H (as total_cap,
 * from the table). */
static void set_levels(sl_kll *s, uint32_t H)
{
	uint32_t c0 = s->cap[H - 1] < s->k ? s->k : s->cap[H - 1];
	uint32_t sum = c0;
	for (uint32_t d = 0; d + 1 < H; d++)
		sum += s->cap[d];
	s->nlevels = H;
	s->cap0 = c0;
	s->capacity = sum;
	s->limit = s->size - sum;
}

size_t sl_kll_bytes(uint32_t k)
{
	if (k < SL_KLL_MIN_K || k > MAX_K)
		return SIZE_MAX;
	uint64_t bytes = offsetof(struct sl_kll, items) +
			 items_len(k) * sizeof(double);
	return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

sl_kll *sl_kll_new(sl_budget *b, uint32_t k, uint64_t seed)
{
	size_t bytes = sl_kll_bytes(k);
	if (bytes == SIZE_MAX)
		return NULL;
	sl_kll *s = sl_malloc(b, bytes);
	if (!s)
		return NULL;
	memset(s, 0, offsetof(struct sl_kll, items));
	s->budget = b;
	s->bytes = bytes;
	s->min = INFINITY;
	s->max = -INFINITY;
	s->rng = seed;
	s->k = k;
	s->size = (uint32_t)items_len(k);
	for (int d = 0; d < MAX_LEVELS; d++)
		s->cap[d] = depth_cap(k, d);
	set_levels(s, 1);
	s->levels[0] = s->levels[1] = s->size;
	return s;
}

void sl_kll_free(sl_kll *s)
{
	if (s)
		sl_free(s->budget, s, s->bytes);
}

uint64_t sl_kll_count(const sl_kll *s)
{
	return s->n;
}

uint32_t sl_kll_k(const sl_kll *s)
{
	return s->k;
}

double sl_kll_rank_error(const sl_kll *s)
{
	if (s->n == 0 || s->var == 0)
		return 0;
	return sqrt(2 * log(2 / 0.05) * s->var) / (double)s->n;
}

/* ---- sorting doubles (no NaN ever enters the sketch) -------------------- */

static void swap(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

/*
 * Insertion sort without data-dependent branches: inserting v into the
 * sorted a[0 .. i-1] gives b[j] = min(max(a[j-1], v), a[j]) (with a[-1] =
 * -inf, a[i] = +inf), computed from j = i down so that every a[] read is
 * still the old one. It does i steps for every i instead of stopping at v's
 * place, but a stop at a data-dependent place is a mispredicted branch
 * per item, which costs more for the short runs sorted here (level 0 holds
 * 8 to ~30 values when it compacts). Exact only because equal values are
 * identical: no NaN ever enters the sketch and -0 is stored as +0
 * (sl_kll_add), so min and max never have to choose between two
 * different doubles that compare equal.
 */
static void insertion(double *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double v = a[i], cur = a[i - 1];
		a[i] = cur > v ? cur : v;
		for (size_t j = i - 1; j > 0; j--) {
			double prev = a[j - 1];
			double t = prev > v ? prev : v;
			a[j] = t < cur ? t : cur;
			cur = prev;
		}
		a[0] = v < cur ? v : cur;
	}
}

static void sift(double *a, size_t root, size_t n)
{
	for (;;) {
		size_t c = 2 * root + 1;
		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[root] >= a[c])
			return;
		swap(&a[root], &a[c]);
		root = c;
	}
}

static void heap_sort(double *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (size_t i = n; i-- > 1;) {
		swap(&a[0], &a[i]);
		sift(a, 0, i);
	}
}

/*
 * Introsort: Hoare partition around the median of three, recursing into the
 * smaller side, insertion sort for runs of up to 32, heapsort past the depth
 * limit. p is a value of the array, so both scans stop inside it; on exit
 * a[0 .. j] <= p <= a[j+1 .. n). The left side is never all of a: that
 * would need a[0] and a[n/2] both below their median p.
 */
static void sort(double *a, size_t n, int depth)
{
	while (n > 32) {
		if (depth-- == 0) {
			heap_sort(a, n);
			return;
		}
		double x = a[0], y = a[n / 2], z = a[n - 1];
		double p = x < y ? (y < z ? y : (x < z ? z : x))
				 : (x < z ? x : (y < z ? z : y));
		size_t i = 0, j = n - 1;
		for (;;) {
			while (a[i] < p)
				i++;
			while (a[j] > p)
				j--;
			if (i >= j)
				break;
			swap(&a[i], &a[j]);
			i++;
			j--;
		}
		size_t left = j + 1;
		if (left < n - left) {
			sort(a, left, depth);
			a += left;
			n -= left;
		} else {
			sort(a + left, n - left, depth);
			n = left;
		}
	}
	insertion(a, n);
}

static void sort_items(double *a, size_t n)
{
	int depth = 0;
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	sort(a, n, depth);
}

/* Order-preserving map from non-NaN doubles to unsigned 64-bit keys. */
static uint64_t to_key(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	return (u >> 63) ? ~u : u | (1ULL << 63);
}

static double from_key(uint64_t key)
{
	uint64_t u = (key >> 63) ? key & ~(1ULL << 63) : ~key;
	double v;
	memcpy(&v, &u, sizeof v);
	return v;
}

/*
 * Level 0 is sorted by an MSD radix sort of 64-bit keys, with the free space
 * below it as scratch: the keys' range [lo, hi] is cut into at most 2^bits
 * buckets of width 2^shift (bucket (key - lo) >> shift; 2^bits is n rounded
 * down to a power of two, between 16 and 256), the keys are counted and
 * copied to the scratch bucket by bucket, each bucket is sorted there (by
 * insertion when short, else by this function again with the run's own
 * space as its scratch) and the whole is copied back. A bucket's range is
 * below 2^shift, so each recursion removes at least 4 bits of range: at
 * most 16 deep, never quadratic, and a bucket of equal keys ends at once.
 * For ~200 request times or byte counts this costs about half the
 * instructions of the introsort below and no mispredicted branches per
 * comparison.
 */
#define SHORT_RUN 16

static void insert_keys(uint64_t *a, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint64_t v = a[i];
		uint32_t j = i;
		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

static void radix(uint64_t *k, uint64_t *t, uint32_t n, uint64_t lo,
		  uint64_t hi)
{
	uint32_t start[257];
	uint64_t span = hi - lo;
	if (span == 0)
		return;
	int len = 64 - __builtin_clzll(span);
	int bits = 31 - __builtin_clz(n);
	bits = bits < 4 ? 4 : bits > 8 ? 8 : bits;
	int shift = len > bits ? len - bits : 0;
	uint32_t nb = (uint32_t)(span >> shift) + 1;
	memset(start, 0, (nb + 1) * sizeof *start);
	for (uint32_t i = 0; i < n; i++)
		start[((k[i] - lo) >> shift) + 1]++;
	for (uint32_t b = 1; b <= nb; b++)
		start[b] += start[b - 1];
	for (uint32_t i = 0; i < n; i++)
		t[start[(k[i] - lo) >> shift]++] = k[i];
	/* start[b] is now the end of bucket b */
	uint32_t from = 0;
	for (uint32_t b = 0; b < nb; b++) {
		uint32_t end = start[b], m = end - from;
		uint64_t *run = t + from;
		if (m > SHORT_RUN) {
			uint64_t rlo = run[0], rhi = run[0];
			for (uint32_t i = 1; i < m; i++) {
				rlo = run[i] < rlo ? run[i] : rlo;
				rhi = run[i] > rhi ? run[i] : rhi;
			}
			radix(run, k + from, m, rlo, rhi);
		} else if (m > 1) {
			insert_keys(run, m);
		}
		from = end;
	}
	memcpy(k, t, (size_t)n * sizeof *k);
}

/* Sorts a[0 .. n); with scratch room for n doubles in t, by radix (its keys
 * written over a and t), else by introsort. A run of non-negative doubles
 * (-0 is stored as +0) needs no conversion: their bits are their keys. */
static void sort_run(double *a, uint32_t n, double *t, uint32_t room)
{
	if (n > room || n <= SHORT_RUN) {
		sort_items(a, n);
		return;
	}
	uint64_t *k = (uint64_t *)(void *)a, *kt = (uint64_t *)(void *)t;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t u;
		memcpy(&u, &a[i], sizeof u);
		k[i] = u;
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
	}
	if (hi >> 63 == 0) {
		radix(k, kt, n, lo, hi);
	} else {
		lo = UINT64_MAX;
		hi = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t key = k[i] >> 63 ? ~k[i] : k[i] | (1ULL << 63);
			k[i] = key;
			lo = key < lo ? key : lo;
			hi = key > hi ? key : hi;
		}
		radix(k, kt, n, lo, hi);
		for (uint32_t i = 0; i < n; i++)
			k[i] = k[i] >> 63 ? k[i] & ~(1ULL << 63) : ~k[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		double v;
		memcpy(&v, &k[i], sizeof v);
		a[i] = v;
	}
}

/* ---- compaction ---------------------------------------------------------- */

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t retained(const sl_kll *s)
{
	return s->size - s->levels[0];
}

/* Adds an empty level on top; the total capacity grows. */
static void add_level(sl_kll *s)
{
	uint32_t h = s->nlevels;
	s->levels[h + 1] = s->levels[h];
	set_levels(s, h + 1);
}

/* The lowest level whose size has reached its capacity. Exists whenever the
 * total exceeds the sum of the capacities. */
static uint32_t level_to_compact(const sl_kll *s)
{
	uint32_t top = s->nlevels - 1;
	if (s->levels[1] - s->levels[0] >= s->cap0)
		return 0;
	uint32_t h = 1;
	while (h < top && s->levels[h + 1] - s->levels[h] < s->cap[top - h])
		h++;
	return h;
}

/* 4^h as a double, for 0 <= h < 64. */
static double pow4(uint32_t h)
{
	uint64_t bits = (uint64_t)(1023 + 2 * h) << 52;
	double v;
	memcpy(&v, &bits, sizeof v);
	return v;
}

/*
 * Compacts level h: sorts it if it is level 0 (levels above are kept
 * sorted), leaves its smallest item behind if its size is odd, keeps every
 * other item of the sorted run (first or second of each pair by the coin) in
 * the run's lower half, and merges that half with level h+1 into the space
 * ending where level h+1 ends. The merge runs forward in place: output
 * position i + j (half read up to i, level h+1 up to j) never passes an
 * unread item, because the half's length equals the gap between them. The
 * levels below then shift up over the freed space.
 */
static void compact(sl_kll *s, uint32_t h)
{
	if (h + 1 == s->nlevels && s->nlevels < MAX_LEVELS)
		add_level(s);
	uint32_t a = s->levels[h], b = s->levels[h + 1];
	if (h == 0)
		sort_run(s->items + a, b - a, s->items, a);
	uint32_t odd = (b - a) & 1, pairs = (b - a) >> 1;
	double *run = s->items + a + odd;
	uint32_t gap = pairs;
	if (h + 1 < s->nlevels) {
		uint32_t coin = (uint32_t)(next_random(&s->rng) >> 63);
		for (uint32_t i = 0; i < pairs; i++)
			run[i] = run[2 * i + coin];
		const double *x = run, *xend = run + pairs;
		const double *y = s->items + b, *yend = s->items + s->levels[h + 2];
		double *out = run + pairs;
		while (x < xend && y < yend)
			*out++ = *y < *x ? *y++ : *x++;
		while (x < xend)
			*out++ = *x++;
		/* what remains of level h+1 is already in place */
		s->levels[h + 1] = b - pairs;
	} else {
		/* Level 63 full: only possible once n has reached 2^64, which
		 * is outside the contract. Drop the pairs to stay in bounds. */
		gap = 2 * pairs;
	}
	uint32_t lo = s->levels[0];
	memmove(s->items + lo + gap, s->items + lo,
		(size_t)(a + odd - lo) * sizeof(double));
	for (uint32_t j = 0; j <= h; j++)
		s->levels[j] += gap;
	s->var += pow4(h);
}

static void compress(sl_kll *s)
{
	while (retained(s) > s->capacity)
		compact(s, level_to_compact(s));
}

void sl_kll_add(sl_kll *s, double v)
{
	if (isnan(v))
		return;
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	s->n++;
	uint32_t at = --s->levels[0];
	s->items[at] = v + 0.0; /* -0 -> +0 (see insertion) */
	if (at < s->limit)
		compress(s);
}

/* ---- merge ----------------------------------------------------------------- */

/* Puts m values at the front of level h, moving the levels below down into
 * the free space (m <= levels[0]); levels above 0 are sorted again. */
static void insert(sl_kll *s, uint32_t h, const double *v, uint32_t m)
{
	uint32_t lo = s->levels[0], at = s->levels[h];
	memmove(s->items + lo - m, s->items + lo,
		(size_t)(at - lo) * sizeof(double));
	memcpy(s->items + at - m, v, (size_t)m * sizeof(double));
	for (uint32_t j = 0; j <= h; j++)
		s->levels[j] -= m;
	if (h > 0)
		sort_items(s->items + s->levels[h],
			   s->levels[h + 1] - s->levels[h]);
}

/* Merge of a sketch with itself: every level moves up one. */
static sl_status merge_self(sl_kll *s)
{
	uint32_t h = s->nlevels;
	if (h == MAX_LEVELS || s->n > UINT64_MAX / 2)
		return SL_EINVAL;
	sort_items(s->items + s->levels[0], s->levels[1] - s->levels[0]);
	for (uint32_t j = h + 1; j > 0; j--)
		s->levels[j] = s->levels[j - 1];
	set_levels(s, h + 1);
	s->n *= 2;
	s->var *= 4;
	return SL_OK;
}

sl_status sl_kll_merge(sl_kll *dst, const sl_kll *src)
{
	if (!dst || !src)
		return SL_EINVAL;
	if (src->n == 0)
		return SL_OK;
	if (src == dst)
		return merge_self(dst);
	while (dst->nlevels < src->nlevels)
		add_level(dst);
	for (uint32_t h = 0; h < src->nlevels; h++) {
		const double *v = src->items + src->levels[h];
		uint32_t left = src->levels[h + 1] - src->levels[h];
		while (left > 0) {
			uint32_t m = left < dst->levels[0] ? left : dst->levels[0];
			insert(dst, h, v, m);
			v += m;
			left -= m;
			compress(dst);
		}
	}
	dst->n += src->n;
	dst->var += src->var;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	return SL_OK;
}

/* ---- queries ----------------------------------------------------------------- */

void sl_kll_visit(const sl_kll *s, void (*fn)(void *ud, double v, uint64_t w), void *ud)
{
	for (uint32_t h = 0; h < s->nlevels; h++)
		for (uint32_t i = s->levels[h]; i < s->levels[h + 1]; i++)
			fn(ud, s->items[i], (uint64_t)1 << h);
}

/* W(<= x): the total weight of retained items <= x. Level 0 is scanned;
 * the sorted levels above are searched. */
static uint64_t weight_le(const sl_kll *s, double x)
{
	uint64_t w = 0;
	for (uint32_t i = s->levels[0]; i < s->levels[1]; i++)
		w += s->items[i] <= x;
	for (uint32_t h = 1; h < s->nlevels; h++) {
		uint32_t lo = s->levels[h], hi = s->levels[h + 1];
		uint32_t start = lo;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (s->items[mid] <= x)
				lo = mid + 1;
			else
				hi = mid;
		}
		w += (uint64_t)(lo - start) << h;
	}
	return w;
}

double sl_kll_quantile(const sl_kll *s, double q)
{
	if (s->n == 0 || isnan(q))
		return NAN;
	if (q <= 0)
		return s->min;
	if (q >= 1)
		return s->max;
	double target = q * (double)s->n;
	/* Every key in [key(min), key(max)] is a non-NaN double, and
	 * W(<= max) = n >= target: find the smallest key that reaches it. */
	uint64_t lo = to_key(s->min), hi = to_key(s->max);
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if ((double)weight_le(s, from_key(mid)) >= target)
			hi = mid;
		else
			lo = mid + 1;
	}
	return from_key(hi);
}

double sl_kll_rank(const sl_kll *s, double v)
{
	if (s->n == 0 || isnan(v))
		return NAN;
	return (double)weight_le(s, v) / (double)s->n;
}

/* ---- state codec (lib/core/wire.h; byte layout in docs/state-format.md) -------
 *
 *   u32 k | u64 n | f64 min | f64 max | f64 V | u64 rng | u32 H
 *   | H x u32 level sizes, level 0 first | the items, level 0 first, each
 *   level in its stored order (levels 1.. ascending) as f64
 *
 * Checked before dst is touched: k in [SL_KLL_MIN_K, MAX_K], 1 <= H <= 64,
 * the items fit the capacity of H levels, no NaN, levels above 0 sorted,
 * every item within [min, max], n equal to the sum of size_h * 2^h (a
 * compaction keeps the total weight), an empty sketch exactly empty, and V
 * finite and >= 0. An empty dst of the same k takes the sketch as it is (coin
 * state included); otherwise the items are merged in as sl_kll_merge does,
 * in chunks through a small stack buffer.
 */
#include "core/wire.h"

static sl_status corrupt(const char **why, const char *text)
{
	*why = text;
	return SL_ECORRUPT;
}

void sl_kll_encode(const sl_kll *s, sl_wire_writer *w)
{
	sl_wire_u32(w, s->k);
	sl_wire_u64(w, s->n);
	sl_wire_f64(w, s->min);
	sl_wire_f64(w, s->max);
	sl_wire_f64(w, s->var);
	sl_wire_u64(w, s->rng);
	sl_wire_u32(w, s->nlevels);
	for (uint32_t h = 0; h < s->nlevels; h++)
		sl_wire_u32(w, s->levels[h + 1] - s->levels[h]);
	for (uint32_t i = s->levels[0]; i < s->size; i++)
		sl_wire_f64(w, s->items[i]);
}

sl_status sl_kll_load(sl_kll *dst, sl_wire_reader *r, const char **why)
{
	uint32_t k = sl_wire_get_u32(r);
	uint64_t n = sl_wire_get_u64(r);
	double min = sl_wire_get_f64(r), max = sl_wire_get_f64(r);
	double var = sl_wire_get_f64(r);
	uint64_t rng = sl_wire_get_u64(r);
	uint32_t nlevels = sl_wire_get_u32(r);
	if (r->bad)
		return corrupt(why, "KLL sketch truncated");
	if (k < SL_KLL_MIN_K || k > MAX_K)
		return corrupt(why, "KLL k out of range");
	if (nlevels < 1 || nlevels > MAX_LEVELS)
		return corrupt(why, "KLL level count out of range");
	if (!(var >= 0) || isinf(var))
		return corrupt(why, "KLL variance impossible");
	if (!sl_wire_need(r, nlevels, 4))
		return corrupt(why, "KLL levels truncated");
	uint32_t size[MAX_LEVELS];
	uint64_t total = 0, weight = 0;
	for (uint32_t h = 0; h < nlevels; h++) {
		size[h] = sl_wire_get_u32(r);
		total += size[h];
		if (size[h] > (UINT64_MAX - weight) >> h)
			return corrupt(why, "KLL weights overflow");
		weight += (uint64_t)size[h] << h;
	}
	if (total > total_cap(k, nlevels))
		return corrupt(why, "KLL holds more items than its levels can");
	if (weight != n)
		return corrupt(why, "KLL count disagrees with its levels' weights");
	if (!sl_wire_need(r, total, 8))
		return corrupt(why, "KLL items past the end of the section");
	if (n == 0 ? !(min == INFINITY && max == -INFINITY) : !(min <= max))
		return corrupt(why, "KLL min and max impossible");
	const uint8_t *raw = r->p;
	uint64_t at = 0;
	for (uint32_t h = 0; h < nlevels; h++) {
		double prev = -INFINITY;
		for (uint32_t i = 0; i < size[h]; i++, at++) {
			uint64_t u = sl_wire_le64(raw + 8 * at);
			double v;
			memcpy(&v, &u, sizeof v);
			if (!(v >= min && v <= max))
				return corrupt(why, "KLL item NaN or outside [min, max]");
			if (h > 0 && v < prev)
				return corrupt(why, "KLL level out of order");
			prev = v;
		}
	}
	sl_wire_take(r, (size_t)total * 8);
	if (n == 0)
		return SL_OK;

	if (dst->n == 0 && dst->k == k) {
		dst->n = n;
		dst->min = min;
		dst->max = max;
		dst->var = var;
		dst->rng = rng;
		set_levels(dst, nlevels);
		uint32_t end = dst->size;
		dst->levels[nlevels] = end;
		for (uint32_t h = nlevels; h-- > 0;)
			dst->levels[h] = dst->levels[h + 1] - size[h];
		for (uint32_t i = 0; i < total; i++) {
			uint64_t u = sl_wire_le64(raw + 8 * (uint64_t)i);
			memcpy(&dst->items[dst->levels[0] + i], &u, sizeof u);
		}
		return SL_OK;
	}

	if (dst->n > UINT64_MAX - n)
		return SL_EINVAL;
	while (dst->nlevels < nlevels)
		add_level(dst);
	at = 0;
	for (uint32_t h = 0; h < nlevels; h++) {
		uint32_t left = size[h];
		while (left > 0) {
			double chunk[64];
			uint32_t m = left < dst->levels[0] ? left : dst->levels[0];
			if (m > 64)
				m = 64;
			for (uint32_t i = 0; i < m; i++, at++) {
				uint64_t u = sl_wire_le64(raw + 8 * at);
				memcpy(&chunk[i], &u, sizeof u);
			}
			insert(dst, h, chunk, m);
			left -= m;
			compress(dst);
		}
	}
	dst->n += n;
	dst->var += var;
	if (min < dst->min)
		dst->min = min;
	if (max > dst->max)
		dst->max = max;
	return SL_OK;
}
