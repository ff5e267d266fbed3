/*
 * budget.c: the budgeted allocator, the only place in libsluice that obtains
 * memory (sl_budget_*, sl_malloc, sl_calloc, sl_realloc, sl_free).
 *
 * Every structure allocates through an sl_budget. A request is granted only
 * if it fits the budget and every ancestor's budget; the bytes are then
 * counted in all of them, and each keeps its peak. The caller passes the size
 * of a block back when freeing it (as lua_Alloc does), so no header is stored
 * per block and the counts are exact in requested bytes. The C library's own
 * per-block overhead is not counted; the report's "peak" is the bytes the
 * structures asked for.
 *
 * Out-of-memory policy for the whole library: an allocation may fail, the
 * caller checks, and a failed call leaves its object as it was. Structures
 * that promise never to fail (sketch adds) reserve their memory up front or
 * degrade to a smaller representation instead of growing.
 *
 * Threads: a root budget is shared by worker budgets (children). A child is
 * used by one thread; its updates to the root use C11 atomics, so the root's
 * `used` and `peak` are exact across threads.
 */
#include "sluice.h"

#include <stdatomic.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
#include <sys/mman.h>
#define LARGE_BLOCKS 1
#endif

#ifdef LARGE_BLOCKS
/*
 * Large blocks (Linux). A table of several MiB is written at random all
 * over, so each of its 4 KiB pages faults in turn, and in a VM a fault
 * costs about 2 us: faulting in 16 MiB took 8.5 ms here, against 1.6 ms in
 * 2 MiB pages. At -m 64M the sketches' largest blocks (top lists, distinct
 * sets, raw quantile values) grow to several MiB each, and the report
 * faulted 36,000 times. So a block of HUGE bytes or more is a mapping of
 * its own, placed at a HUGE boundary and advised as transparent huge
 * pages: the kernel backs each HUGE piece lying wholly inside it with one
 * page when it has one free, and the rest with small pages, so no page
 * lies past the requested size (the resident set stays what the budget
 * counts). It is resized by mremap, which grows it in place when the room
 * after it is free, else moves its pages (no copy) where the kernel likes,
 * which may not be a HUGE boundary (the moved pieces then keep small
 * pages); it stays one mapping, so that older kernels, which move one
 * only, can move it. On the 1 GiB bench log at -m 64M the run faulted
 * 23,000 times instead of 36,000 (its wall time is for make bench to
 * show). Where the kernel gives no huge pages (disabled, or none free)
 * these are plain mappings. Under AddressSanitizer blocks stay in
 * the C library's heap, where overruns are caught.
 */
#define HUGE ((size_t)2 << 20)

static size_t pages(size_t n)
{
	return (n + 4095) & ~(size_t)4095;
}

/* A mapping of pages(n) bytes at a HUGE boundary, advised; NULL if none. */
static char *map_large(size_t n)
{
	size_t len = pages(n);
	char *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	char *a = (char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + HUGE > a)
		munmap(a + len, (size_t)(p + HUGE - a));
	madvise(a, len, MADV_HUGEPAGE);
	return a;
}

/* Large blocks: a mapping each; else the heap. Between the two, a copy. */
static void *large_alloc(void *ptr, size_t old_size, size_t new_size)
{
	if (old_size >= HUGE && new_size >= HUGE) {
		if (pages(new_size) == pages(old_size))
			return ptr;
		void *q = mremap(ptr, pages(old_size), pages(new_size),
				 new_size > old_size ? MREMAP_MAYMOVE : 0);
		return q == MAP_FAILED ? NULL : q;
	}
	void *q = new_size >= HUGE ? map_large(new_size) : new_size ? malloc(new_size) : NULL;
	if (new_size && !q)
		return NULL;
	if (ptr && q)
		memcpy(q, ptr, old_size < new_size ? old_size : new_size);
	if (old_size >= HUGE)
		munmap(ptr, pages(old_size));
	else
		free(ptr);
	return q;
}
#endif

static void *default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	(void)ud;
#ifdef LARGE_BLOCKS
	if (old_size >= HUGE || new_size >= HUGE)
		return large_alloc(ptr, old_size, new_size);
#else
	(void)old_size;
#endif
	if (new_size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, new_size);
}

void sl_budget_init(sl_budget *b, size_t limit)
{
	memset(b, 0, sizeof *b);
	b->limit = limit;
	b->alloc = default_alloc;
}

void sl_budget_init_child(sl_budget *b, sl_budget *parent, size_t limit)
{
	sl_budget_init(b, limit < parent->limit ? limit : parent->limit);
	b->parent = parent;
	b->alloc = parent->alloc;
	b->alloc_ud = parent->alloc_ud;
}

void sl_budget_set_limit(sl_budget *b, size_t limit)
{
	if (b->parent && limit > b->parent->limit)
		limit = b->parent->limit;
	b->limit = limit;
}

void sl_budget_set_alloc(sl_budget *b, sl_alloc_fn fn, void *ud)
{
	b->alloc = fn ? fn : default_alloc;
	b->alloc_ud = fn ? ud : NULL;
}

/* The budget fields are plain size_t in the public struct; the root may be
 * touched by several threads, so every access to an ancestor goes through
 * these atomic views. */
static size_t load(const size_t *p)
{
	return atomic_load_explicit((_Atomic size_t *)(uintptr_t)p, memory_order_relaxed);
}

size_t sl_budget_available(const sl_budget *b)
{
	size_t avail = SIZE_MAX;
	for (; b; b = b->parent) {
		size_t used = load(&b->used);
		size_t left = used < b->limit ? b->limit - used : 0;
		if (left < avail)
			avail = left;
	}
	return avail;
}

/* Reserves n bytes in b and its ancestors, or reserves nothing and returns
 * false. */
static int charge(sl_budget *b, size_t n)
{
	sl_budget *level;
	for (level = b; level; level = level->parent) {
		_Atomic size_t *used = (_Atomic size_t *)&level->used;
		size_t cur = atomic_load_explicit(used, memory_order_relaxed);
		for (;;) {
			if (cur > level->limit || n > level->limit - cur)
				goto undo;
			if (atomic_compare_exchange_weak_explicit(used, &cur, cur + n,
					memory_order_relaxed, memory_order_relaxed))
				break;
		}
		_Atomic size_t *peak = (_Atomic size_t *)&level->peak;
		size_t p = atomic_load_explicit(peak, memory_order_relaxed);
		while (p < cur + n && !atomic_compare_exchange_weak_explicit(peak, &p,
				cur + n, memory_order_relaxed, memory_order_relaxed))
			;
	}
	return 1;
undo:
	for (sl_budget *u = b; u != level; u = u->parent)
		atomic_fetch_sub_explicit((_Atomic size_t *)&u->used, n, memory_order_relaxed);
	return 0;
}

static void discharge(sl_budget *b, size_t n)
{
	for (; b; b = b->parent)
		atomic_fetch_sub_explicit((_Atomic size_t *)&b->used, n, memory_order_relaxed);
}

void *sl_malloc(sl_budget *b, size_t n)
{
	if (n == 0 || !charge(b, n))
		return NULL;
	void *p = b->alloc(b->alloc_ud, NULL, 0, n);
	if (!p)
		discharge(b, n);
	return p;
}

void *sl_calloc(sl_budget *b, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	void *p = sl_malloc(b, count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void *sl_realloc(sl_budget *b, void *p, size_t old_n, size_t new_n)
{
	if (!p)
		return sl_malloc(b, new_n);
	if (new_n == 0) {
		sl_free(b, p, old_n);
		return NULL;
	}
	if (new_n > old_n && !charge(b, new_n - old_n))
		return NULL;
	void *q = b->alloc(b->alloc_ud, p, old_n, new_n);
	if (!q) {
		if (new_n > old_n)
			discharge(b, new_n - old_n);
		return NULL;
	}
	if (new_n < old_n)
		discharge(b, old_n - new_n);
	return q;
}

void sl_free(sl_budget *b, void *p, size_t n)
{
	if (!p)
		return;
	b->alloc(b->alloc_ud, p, n, 0);
	discharge(b, n);
}

sl_status sl_parse_size(const char *text, size_t *out)
{
	const char *s = text;
	unsigned long long v = 0;
	if (!s || *s < '0' || *s > '9')
		return SL_EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (ULLONG_MAX - (unsigned)(*s - '0')) / 10)
			return SL_EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	int shift = 0;
	switch (*s) {
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	case 't': case 'T': shift = 40; s++; break;
	default: break;
	}
	if (shift && s[0] == 'i' && s[1] == 'B')
		s += 2;
	else if (*s == 'B' || *s == 'b')
		s++;
	if (*s != '\0')
		return SL_EINVAL;
	if (shift && v > (ULLONG_MAX >> shift))
		return SL_EINVAL;
	v <<= shift;
	if (v > SIZE_MAX)
		return SL_EINVAL;
	*out = (size_t)v;
	return SL_OK;
}
