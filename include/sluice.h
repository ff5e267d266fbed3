/*
 * sluice.h: the public interface of libsluice, the embeddable core of sluice.
 *
 * libsluice analyses record streams in a fixed memory budget. It is built from
 * small modules, each with one prefix:
 *
 *   sl_budget_*   the budgeted allocator every other module allocates through
 *   sl_hll_*      HyperLogLog registers (Flajolet 2007, Ertl 2017 estimator)
 *   sl_distinct_* a distinct counter: exact hash set, degrading to an HLL
 *   sl_topk_*     heavy hitters: exact counts, degrading to Space-Saving
 *   sl_groups_*   group-by: Space-Saving over a key, small sketches per group
 *   sl_tally_*    a small exact string -> count map (methods, protocols)
 *   sl_kll_*      KLL quantile sketch (Karnin, Lang, Liberty 2016)
 *   sl_relq_*     quantiles with a relative error in the value (DDSketch)
 *   sl_moments_*  count/min/max/stddev (Welford), sum (Neumaier) and mean (sum / n)
 *   sl_series_*   requests per time bucket (hour or minute)
 *   sl_access_*   zero-copy nginx/apache access-log line parser
 *   sl_framer_*   the line framer: bytes pushed in, whole lines out
 *   sl_input_*    byte sources (file, stdin, gzip, zstd) behind one interface
 *   sl_report_*   the access-log report: a set of sketches over parsed fields
 *   sl_engine_*   a whole run: budget plan, reader, workers, resume, merge
 *
 * Conventions, for every function below unless its comment says otherwise:
 *  - The library never prints, never exits and never reads the environment.
 *    Fallible functions return sl_status; sl_strerror() names each value.
 *  - Every byte of state is allocated through an sl_budget. An allocation the
 *    budget refuses makes the call fail with SL_ENOMEM and leaves the object
 *    exactly as it was, or, where documented, makes a structure degrade on
 *    purpose (an exact table becomes a sketch) and the call succeeds.
 *  - Objects are not thread-safe; use one per thread and merge them. Every
 *    sketch has a merge: merge(a, b) answers as one sketch fed a then b would,
 *    exactly for counters and exact tables, and within the stated bound for
 *    sketches.
 *  - *_free(NULL) is a harmless no-op.
 *  - Strings are (pointer, length) pairs and are not NUL-terminated unless
 *    stated. A function never keeps a pointer into caller memory after it
 *    returns unless stated.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

#define SL_STATUS_LIST(X)                                                     \
	X(SL_OK, "success")                                                   \
	X(SL_ENOMEM, "memory budget exhausted")                               \
	X(SL_EBUDGET, "memory budget below the minimum sluice needs")         \
	X(SL_EINVAL, "invalid argument")                                      \
	X(SL_EIO, "input/output error")                                       \
	X(SL_EFORMAT, "malformed record")                                     \
	X(SL_ECORRUPT, "corrupt or truncated compressed data")                \
	X(SL_EMISMATCH, "structures of different kinds or formats")          \
	X(SL_ENOTREG, "not a regular file (a directory, device, pipe or socket is never replaced)") \
	X(SL_ECANCELED, "canceled")                                           \
	X(SL_ESKIP, "not a record (a header or comment line)")

typedef enum {
#define SL_STATUS_ENUM(name, text) name,
	SL_STATUS_LIST(SL_STATUS_ENUM)
#undef SL_STATUS_ENUM
	SL_STATUS_COUNT
} sl_status;

/* A static, human-readable description of s. Never NULL. */
const char *sl_strerror(sl_status s);

/* The library's version (lib/core/version.c): SL_VERSION_STRING, "MAJOR.MINOR.PATCH",
 * as built into the library (the macros are the header's). */
#define SL_VERSION_MAJOR 0
#define SL_VERSION_MINOR 1
#define SL_VERSION_PATCH 0
#define SL_VERSION_STRING "0.1.0"
#define SL_VERSION_NUMBER (SL_VERSION_MAJOR * 10000 + SL_VERSION_MINOR * 100 + SL_VERSION_PATCH)
const char *sl_version(void);
unsigned sl_version_number(void); /* SL_VERSION_NUMBER of the library */

/* ------------------------------------------------------------------------ */
/* Budgeted allocator (lib/core/budget.c)                                         */
/* ------------------------------------------------------------------------ */

/*
 * The one hook through which memory is obtained, in the style of lua_Alloc:
 * with new_size == 0 it frees ptr (old_size bytes) and returns NULL; else it
 * resizes ptr (NULL when new) from old_size to new_size bytes and returns the
 * new block, or NULL on failure leaving ptr untouched. The default calls
 * realloc/free. Tests install one that fails on purpose.
 */
typedef void *(*sl_alloc_fn)(void *ud, void *ptr, size_t old_size,
			     size_t new_size);

/*
 * A budget: a limit in bytes and the bytes in use. A budget may have a parent
 * (one per worker thread, drawing on the run's total): an allocation must fit
 * both the child's limit and the parent's, and is counted in both. Parents
 * are updated atomically, so children may live on different threads; a child
 * itself belongs to one thread at a time.
 *
 * Fields are read-only to users; use the functions below.
 */
typedef struct sl_budget sl_budget;
struct sl_budget {
	size_t limit;	     /* bytes allowed */
	size_t used;	     /* bytes in use now */
	size_t peak;	     /* highest `used` seen */
	sl_budget *parent;   /* NULL for a root */
	sl_alloc_fn alloc;   /* never NULL after init */
	void *alloc_ud;
};

/* Initializes a root budget of `limit` bytes with the default allocator. */
void sl_budget_init(sl_budget *b, size_t limit);

/* Initializes a child of parent with its own limit (<= parent's limit). The
 * child uses the parent's allocator. */
void sl_budget_init_child(sl_budget *b, sl_budget *parent, size_t limit);

/* Replaces the allocator hook (tests use this to fail on purpose). */
void sl_budget_set_alloc(sl_budget *b, sl_alloc_fn fn, void *ud);

/* Bytes still available: the smaller of this budget's and its ancestors'. */
size_t sl_budget_available(const sl_budget *b);

/* Sets b's limit to `limit`, clamped to the parent's limit for a child.
 * A limit below `used` refuses every new allocation until enough is freed;
 * nothing already allocated is touched. Typical use: when a run merges
 * its workers' reports into worker 0's, the engine raises worker 0's
 * child budget by what each freed worker leaves, so that the merged
 * tables may stay exact. Not thread-safe against allocations from b. */
void sl_budget_set_limit(sl_budget *b, size_t limit);

/*
 * The pool of exact tables (lib/sketch/topk.c, lib/sketch/distinct.c, used by
 * lib/report/report.c). Tables that share one budget may join a pool: an exact
 * table then grows past its own max_bytes while the budget allows, and
 * when the budget refuses, it calls the pool's relieve function with
 * itself as `requester`. relieve frees memory by degrading some other
 * pooled table (to its sketch, within that table's own max_bytes) and
 * returns true, or returns false when the requester is the one to
 * degrade. It must degrade a table that was exact (so repeated calls end).
 */
typedef bool (*sl_relieve_fn)(void *ud, const void *requester);

/*
 * sl_malloc: n bytes, or NULL when the budget (or an ancestor's) would be
 * exceeded or the hook fails; the budget is then unchanged. n == 0 -> NULL.
 * sl_calloc: the same, zeroed, with overflow checking of count * size.
 * sl_realloc: resizes p from old_n to new_n; on NULL, p is still valid and
 * unchanged. sl_free: releases p, which must have been obtained with size n
 * from the same budget. Callers remember sizes (as with lua_Alloc).
 */
void *sl_malloc(sl_budget *b, size_t n);
void *sl_calloc(sl_budget *b, size_t count, size_t size);
void *sl_realloc(sl_budget *b, void *p, size_t old_n, size_t new_n);
void sl_free(sl_budget *b, void *p, size_t n);

/* Parses a size such as "1M", "512K", "2G", "65536" (K/M/G/T are powers of
 * 1024; an optional trailing "B" or "iB" is accepted). Returns SL_EINVAL on
 * anything else or on overflow. */
sl_status sl_parse_size(const char *text, size_t *out);

/* ------------------------------------------------------------------------ */
/* Hashing                                                                   */
/* ------------------------------------------------------------------------ */

/* The one hash used for every key: XXH3-64 with seed 0. */
uint64_t sl_hash(const void *p, size_t n);

/* The number of '\n' bytes in p[0 .. n-1], with the SIMD scanner chosen at
 * run time (AVX2, SSE4.2 or scalar; lib/format/scan.c). */
uint64_t sl_count_lines(const char *p, size_t n);

/* ------------------------------------------------------------------------ */
/* HyperLogLog registers (lib/sketch/hll.c)                                         */
/* ------------------------------------------------------------------------ */

/*
 * An estimate with its 95% interval. `exact` means estimate == low == high
 * and the figure is a count, not an estimate.
 */
typedef struct {
	double estimate;
	double low;
	double high;
	bool exact;
} sl_estimate;

#define SL_HLL_MIN_P 4
#define SL_HLL_MAX_P 18
/* Relative standard error times sqrt(2^p) of the two estimators: HIP
 * (sqrt(ln 2), a sketch fed by one stream) and Ertl's (merged sketches). */
#define SL_HLL_HIP_SE 0.8326
#define SL_HLL_ERTL_SE 1.04

typedef struct sl_hll sl_hll;

/* New empty HLL with 2^p registers (four bits each over a base, plus a
 * table for the few far above it; lib/sketch/hll.c), p in [SL_HLL_MIN_P,
 * SL_HLL_MAX_P]. NULL on SL_ENOMEM or a bad p. Owned by the caller. */
sl_hll *sl_hll_new(sl_budget *b, int p);
/* Frees h and returns its bytes to its budget. NULL is a no-op. */
void sl_hll_free(sl_hll *h);
int sl_hll_precision(const sl_hll *h);
/* Bytes an HLL of precision p holds from its budget, all of them from
 * sl_hll_new on (sizeof the handle + 2^p / 2 + 4 * (2^p / 256 + 16): 16,960
 * plus the handle at p = 15); 0 for a p out of range. Nothing after
 * sl_hll_new allocates: an add whose register would not fit the exception
 * table folds the sketch to p - 1 instead (crafted hashes only). */
size_t sl_hll_bytes(int p);

/* Adds a 64-bit hash: register index = the top p bits, value = 1 + the number
 * of leading zeros of the remaining 64 - p bits (at most 65 - p). Never
 * fails; may lower the precision by folding (see sl_hll_bytes). */
void sl_hll_add_hash(sl_hll *h, uint64_t hash);
/* A hint: starts loading the register sl_hll_add_hash(h, hash) will touch.
 * Changes nothing. */
void sl_hll_prefetch(const sl_hll *h, uint64_t hash);

/*
 * dst := union(dst, src), and dst is marked merged (Ertl's estimator from
 * now on, even if src was empty). If src has the lower precision, dst is
 * first folded to src's precision (which needs no new memory: registers
 * shrink in place). src is unchanged. Returns SL_OK; never fails.
 */
sl_status sl_hll_merge(sl_hll *dst, const sl_hll *src);

/* Folds h to precision p <= its own, as if built at p from the same hashes.
 * The HIP estimate stays valid (its error is now that of p). */
void sl_hll_fold(sl_hll *h, int p);

/* The estimate and its 95% interval, estimate times (1 -/+ 1.96 *
 * sl_hll_std_error(h)), low clipped at 0; all 0 for an empty sketch. A
 * never-merged sketch answers with HIP (Cohen 2014, Ting 2014), which
 * depends on the order the hashes came in; a merged one with Ertl's improved
 * estimator (2017), which depends on the registers only. exact is false. */
sl_estimate sl_hll_estimate(const sl_hll *h);
/* The relative standard error the estimate states: SL_HLL_HIP_SE or
 * SL_HLL_ERTL_SE over sqrt(2^p). */
double sl_hll_std_error(const sl_hll *h);
/* Whether h has been merged (or loaded from a version 1 or 2 state). */
bool sl_hll_is_merged(const sl_hll *h);
/* Marks h merged without a merge: for a caller that replays the contents of
 * another sketch into h by sl_hll_add_hash (lib/sketch/distinct.c's merge), where
 * the replay order would otherwise decide the figure. */
void sl_hll_mark_merged(sl_hll *h);
/* For a caller that knows h's registers are those of exactly n distinct
 * hashes (it replayed an exact set into h): the estimate becomes n and HIP
 * goes on from there (h is no longer marked merged). Later adds keep the
 * estimate unbiased, with an error below HIP's stated one. */
void sl_hll_restart_hip(sl_hll *h, double n);

/* Register i (0 <= i < 2^p; 0 otherwise), for tests and serialization. */
uint8_t sl_hll_register(const sl_hll *h, uint32_t i);

/* ------------------------------------------------------------------------ */
/* Distinct counter (lib/sketch/distinct.c)                                         */
/* ------------------------------------------------------------------------ */

/*
 * Counts distinct 64-bit hashes. It keeps an exact open-addressed set of the
 * hashes while the set fits in max_bytes, then degrades, on purpose and once,
 * to an HLL of the highest precision <= max_p that fits. The set's count at
 * that moment is kept as a hard lower bound on the estimate. "Exact" means
 * exact over 64-bit hashes: two distinct keys collide with probability about
 * n^2 / 2^65 (1e-11 at n = 10^4).
 *
 * Memory: the HLL registers are reserved at creation, so the degrade step
 * can never fail; the set grows by doubling within max_bytes (or, in a
 * pool, while the budget allows: sl_distinct_set_pool).
 */
typedef struct sl_distinct sl_distinct;

/* NULL on SL_ENOMEM (max_bytes too small for even an HLL at SL_HLL_MIN_P, or
 * the budget refuses). */
sl_distinct *sl_distinct_new(sl_budget *b, size_t max_bytes, int max_p);
void sl_distinct_free(sl_distinct *d);
void sl_distinct_add_hash(sl_distinct *d, uint64_t hash);
/* A hint: starts loading the line sl_distinct_add_hash(d, hash) reads first.
 * Changes nothing. */
void sl_distinct_prefetch(const sl_distinct *d, uint64_t hash);
/* dst := union(dst, src). Exact + exact stays exact if the union fits
 * dst's max_bytes; otherwise dst degrades. Never fails. */
sl_status sl_distinct_merge(sl_distinct *dst, const sl_distinct *src);
sl_estimate sl_distinct_estimate(const sl_distinct *d);
bool sl_distinct_is_exact(const sl_distinct *d);
/* Joins a pool (see sl_relieve_fn): while exact, the set may grow past
 * max_bytes as long as the budget allows; fn(ud, d) is asked for room when
 * it refuses. fn NULL: leaves the pool. */
void sl_distinct_set_pool(sl_distinct *d, sl_relieve_fn fn, void *ud);
/* Switches to the HLL now (its registers are held from creation, so this
 * needs no memory and never fails) and frees the exact set. No-op when
 * degraded already. */
void sl_distinct_degrade(sl_distinct *d);
/* While exact, the bytes of the exact set beyond max_bytes' share for it
 * (what degrading gives back past max_bytes); 0 when degraded. */
size_t sl_distinct_excess(const sl_distinct *d);
/* Bytes of the exact set now (0 when degraded). */
size_t sl_distinct_set_bytes(const sl_distinct *d);
/* The HLL once degraded, else NULL (read-only). */
const sl_hll *sl_distinct_hll(const sl_distinct *d);

/* ------------------------------------------------------------------------ */
/* Heavy hitters (lib/sketch/topk.c)                                                */
/* ------------------------------------------------------------------------ */

/*
 * Counts keys exactly while the number of distinct keys fits its capacity m
 * (derived from max_bytes), then degrades to Space-Saving (Metwally, Agrawal,
 * El Abbadi 2005): a new key evicts the key with the smallest count c and
 * takes count c + w with error c. Guarantee, for every key listed:
 *     true count in [count - max_error, count]
 * and every key with true count > N / m is listed (N = total weight added).
 * Merge follows Agarwal et al. 2012 ("Mergeable summaries"), keeping both.
 *
 * Memory follows the data: a table starts small and grows (sl_realloc) as
 * keys arrive, up to what max_bytes buys, or further in a pool. An exact
 * key costs less than a Space-Saving counter (about 85 bytes against 105,
 * plus key bytes past 32), so a table alone stays exact up to about 1.23
 * times the Space-Saving capacity m, then keeps its m largest counts.
 *
 * While the table is exact every key is stored whole (up to 65535 bytes)
 * and row.truncated is false. Once it is Space-Saving, stored key bytes are
 * capped at SL_TOPK_VALUE_MAX; a longer key is counted under its full hash
 * and length but shown cut, with row.truncated set. When the sketch's key
 * memory is short, a long key may be stored shorter still, but never
 * shorter than its first SL_TOPK_PREFIX_MIN bytes. row.truncated is about
 * the stored key only: a renderer that cuts a value for display must say
 * so on its own.
 */
#define SL_TOPK_VALUE_MAX 1024
#define SL_TOPK_PREFIX_MIN 32

typedef struct sl_topk sl_topk;

typedef struct {
	const char *value;   /* points into the sketch; valid until next change */
	size_t len;
	uint64_t count;
	uint64_t max_error;  /* 0 while the table is exact */
	bool truncated;      /* value holds only the first len bytes */
} sl_topk_row;

/* NULL on SL_ENOMEM (max_bytes below the minimum of 16 keys). */
sl_topk *sl_topk_new(sl_budget *b, size_t max_bytes);
void sl_topk_free(sl_topk *t);
/* Adds weight w of key (hash must be sl_hash(key, len)). Never fails. */
/* A hint: starts loading the index line sl_topk_add(t, .., hash, ..) reads
 * first, so that a caller with several keys in hand can overlap the misses.
 * Changes nothing. */
void sl_topk_prefetch(const sl_topk *t, uint64_t hash);
/* Later hints for the same add, each reading what the one before loaded
 * (call them in this order, some lines apart, so that each load has
 * arrived): sl_topk_prefetch_slot reads the index line, starts loading the
 * counter it names for hash and returns that counter (a guess, or
 * SL_TOPK_NO_GUESS); sl_topk_prefetch_count_at starts loading the key's
 * bytes the guessed counter keeps outside itself, which only a key longer
 * than SL_TOPK_PREFIX_MIN bytes can have (a caller may skip the call for
 * shorter keys: it would read the counter for nothing); sl_topk_add_at is
 * sl_topk_add, which first checks the guessed counter (hash, length,
 * bytes) and when it holds the key counts there without reading the index
 * line again. Any guess is safe: one the table no longer backs (another
 * key took the counter, the table grew or degraded in between) costs a
 * wasted load, and the add looks the key up. The hints change nothing. */
#define SL_TOPK_NO_GUESS UINT32_MAX
uint32_t sl_topk_prefetch_slot(const sl_topk *t, uint64_t hash);
void sl_topk_prefetch_count_at(const sl_topk *t, uint32_t guess);
void sl_topk_add(sl_topk *t, const char *key, size_t len, uint64_t hash,
		 uint64_t w);
void sl_topk_add_at(sl_topk *t, const char *key, size_t len, uint64_t hash, uint64_t w,
		    uint32_t guess);
/* dst := merge(dst, src). Both exact: src's keys are added to dst with
 * their counts, so dst grows as adds do and stays exact when the union
 * fits (else it degrades on the way, keeping the guarantees). Otherwise
 * dst first takes the capacity its max_bytes buys if the budget allows
 * (an exact dst may be smaller), then the Space-Saving merge keeps that
 * capacity. Deterministic: src is walked in slot order, so the same
 * tables give the same result whatever their addresses. Never fails. */
sl_status sl_topk_merge(sl_topk *dst, const sl_topk *src);
/* Writes up to n rows, by count descending, then value ascending; returns
 * how many were written. */
size_t sl_topk_list(const sl_topk *t, sl_topk_row *rows, size_t n);
uint64_t sl_topk_total(const sl_topk *t);     /* N */
/* m: the counters it holds; while exact, the keys it may hold before it
 * degrades (the table grows to them as keys arrive): alone, those that fit
 * the Space-Saving capacity's bytes; pooled, at least that capacity. */
size_t sl_topk_capacity(const sl_topk *t);
bool sl_topk_is_exact(const sl_topk *t);
/* Joins a pool (see sl_relieve_fn): while exact, t may grow past its
 * max_bytes as long as its budget allows; fn(ud, t) is asked for room when
 * the budget refuses. fn NULL: leaves the pool (growth up to max_bytes). */
void sl_topk_set_pool(sl_topk *t, sl_relieve_fn fn, void *ud);
/* Turns an exact table into Space-Saving now, of at most the capacity its
 * max_bytes buys (the largest counts kept, the rest bounded by the floor),
 * giving back any memory beyond max_bytes. Never fails: when the budget
 * refuses the little a small table needs to become Space-Saving, it keeps
 * the counters its own memory holds (at least 3/4 of them). No-op when not
 * exact. */
void sl_topk_degrade(sl_topk *t);
/* Bytes t holds from its budget now. */
size_t sl_topk_bytes(const sl_topk *t);
/* While exact, the bytes t holds beyond its max_bytes (what sl_topk_degrade
 * would give back); 0 when not exact. */
size_t sl_topk_excess(const sl_topk *t);

/* ------------------------------------------------------------------------ */
/* Groups (lib/sketch/groups.c)                                                     */
/* ------------------------------------------------------------------------ */

/*
 * The sketch behind --by FIELD: the largest groups of a key (a vhost, a
 * status class, an hour), found with Space-Saving over the key, each
 * carrying small sketches of its own records: requests (the Space-Saving
 * count and its max_error), bytes (a sum), distinct visitors (lib/sketch/distinct.c:
 * exact set, then an HLL at p = SL_GROUPS_VISITORS_P), request-time
 * quantiles (lib/sketch/relq.c, SL_GROUPS_RT_BUCKETS buckets at relative accuracy
 * SL_GROUPS_RT_ALPHA) and top paths (lib/sketch/topk.c, SL_GROUPS_PATHS_BYTES).
 *
 * While every group seen fits the table (sl_groups_is_exact), every count
 * and byte sum is exact and every sketch has seen all of its group's
 * records (each is then exact while its own exact phase lasts). Once the
 * table is full, a new group evicts the one of smallest count c, takes
 * count c + 1 and max_error c, and starts empty sketches: the row is then
 * `partial`, its bytes a lower bound and its visitors, quantiles and top
 * paths those of the count - max_error records seen since it was (re)
 * admitted. For every listed group: true count in [count - max_error,
 * count]; every group with true count > N / m is listed (N records, m =
 * sl_groups_capacity). Full contract in lib/sketch/groups.c.
 */
#define SL_GROUPS_KEY_MAX 256	  /* stored bytes of a group key (longer: cut) */
#define SL_GROUPS_VISITORS_P 10	  /* HLL precision of a group's visitors */
#define SL_GROUPS_RT_BUCKETS 256  /* relq buckets of a group's request times */
#define SL_GROUPS_RT_ALPHA 0.02	  /* their relative accuracy */
#define SL_GROUPS_PATHS_BYTES 3072 /* max_bytes of a group's top paths */
#define SL_GROUPS_MIN 4		  /* the fewest groups a table holds */

typedef struct sl_groups sl_groups;
typedef struct sl_relq sl_relq;	/* Relative-error quantiles, below */

typedef struct {
	const char *key;	/* points into the sketch; valid until next change */
	size_t len;		/* bytes at key */
	bool truncated;		/* the key was longer than len bytes */
	uint64_t count;		/* requests: true count in [count - max_error, count] */
	uint64_t max_error;	/* 0 while the group has been held since first seen */
	bool partial;		/* bytes, visitors, request_time and paths cover
				 * only part of the group's records (see above) */
	uint64_t bytes;		/* exact unless partial: then a lower bound */
	sl_estimate visitors;	/* distinct visitor hashes */
	const sl_relq *request_time; /* NULL when no record had one */
	const sl_topk *paths;	/* NULL when no record had a path */
} sl_group_row;

/*
 * A table that takes all of its memory from b, within max_bytes, as groups
 * arrive: its capacity m (sl_groups_capacity) is the number of groups whose
 * largest sketches fit max_bytes (about 8.5 KiB a group); a group's
 * sketches are created when its first record needs them. NULL on SL_ENOMEM:
 * max_bytes below SL_GROUPS_MIN groups, or the budget refuses the first few
 * hundred bytes. Owned by the caller (sl_groups_free; NULL is a no-op).
 */
sl_groups *sl_groups_new(sl_budget *b, size_t max_bytes);
void sl_groups_free(sl_groups *g);

/*
 * Adds one record of the group key[0 .. len-1] (hash: sl_hash of the key,
 * or any function of its bytes): bytes is its response size, visitor_hash
 * the hash of its visitor, request_time its time when has_rt, and
 * path[0 .. path_len-1] its path with path_hash (path NULL: none). Never
 * fails: a sketch the budget refuses leaves its group `partial`; a group
 * slot the budget refuses lowers the capacity to the groups held.
 */
void sl_groups_add(sl_groups *g, const char *key, size_t len, uint64_t hash, uint64_t bytes,
		   uint64_t visitor_hash, bool has_rt, double request_time, const char *path,
		   size_t path_len, uint64_t path_hash);

/*
 * dst := merge(dst, src), src unchanged: a group in both adds its counts,
 * errors and sums and merges its sketches; a group one side lacks counts
 * that side's floor (the bound on any group it does not hold) as both count
 * and error, and is partial when that floor is not 0; then the dst
 * capacity's largest groups are kept (count descending, key ascending),
 * as Agarwal et al.'s mergeable Space-Saving. Deterministic: the same
 * tables merged in the same order give the same bytes. SL_ENOMEM (dst
 * unchanged) when the budget refuses the scratch or the room for the
 * merged groups; SL_EINVAL for dst == src.
 */
sl_status sl_groups_merge(sl_groups *dst, const sl_groups *src);

/* Writes the up to n largest groups into rows, count descending, then key
 * bytes ascending (a shorter key first); returns how many. No memory. */
size_t sl_groups_list(const sl_groups *g, sl_group_row *rows, size_t n);
/* Groups held now, the capacity m, records added (N), and the floor: an
 * upper bound on the count of any group not held (0 until an eviction). */
size_t sl_groups_count(const sl_groups *g);
size_t sl_groups_capacity(const sl_groups *g);
uint64_t sl_groups_total(const sl_groups *g);
uint64_t sl_groups_floor(const sl_groups *g);
/* True while no group was ever evicted or dropped and none is partial:
 * every count and byte sum is exact. */
bool sl_groups_is_exact(const sl_groups *g);
/* Bytes g holds from its budget now (<= the max_bytes it was made with,
 * except within a merge or load of a larger table; see lib/sketch/groups.c). */
size_t sl_groups_bytes(const sl_groups *g);
/* State files: sl_groups_encode and sl_groups_load (lib/core/wire.h, library-
 * internal; layout in docs/state-format.md, "groups"). */

/* ------------------------------------------------------------------------ */
/* Small exact tally (lib/sketch/tally.c)                                           */
/* ------------------------------------------------------------------------ */

/*
 * An exact string -> count map for small domains (HTTP methods, protocols).
 * It holds up to SL_TALLY_MAX distinct keys of up to SL_TALLY_KEY_MAX bytes;
 * any other key is counted in `other`, so the total is always exact.
 * Fixed-size, no allocation: embed it and zero it to initialize.
 */
#define SL_TALLY_MAX 32
#define SL_TALLY_KEY_MAX 23

typedef struct {
	uint32_t n;		/* keys in use */
	uint8_t len[SL_TALLY_MAX];
	char key[SL_TALLY_MAX][SL_TALLY_KEY_MAX + 1]; /* NUL-terminated */
	uint64_t count[SL_TALLY_MAX];
	uint64_t other;		/* keys that did not fit */
} sl_tally;

void sl_tally_add(sl_tally *t, const char *key, size_t len, uint64_t w);
void sl_tally_merge(sl_tally *dst, const sl_tally *src);

/* ------------------------------------------------------------------------ */
/* Quantiles (lib/sketch/kll.c)                                                     */
/* ------------------------------------------------------------------------ */

/*
 * KLL sketch of doubles (Karnin, Lang, Liberty, "Optimal quantile
 * approximation in streams", 2016), with compactor capacities k * (2/3)^depth
 * (at least 8; the bottom one at least k) and a fair coin per compaction. Exact (rank_error 0) until the
 * first compaction. The stated rank error is a 95% bound computed from the
 * compactions actually done: each compaction of weight w moves any rank by
 * 0 or +-w with mean 0, so by Hoeffding |error| <= sqrt(2 ln(2/0.05) * sum
 * w^2), divided by n to normalize.
 *
 * Memory: reserved at creation for any n < 2^64, so adds never fail.
 */
#define SL_KLL_DEFAULT_K 200
#define SL_KLL_MIN_K 8

typedef struct sl_kll sl_kll;

/* NULL on SL_ENOMEM or k < SL_KLL_MIN_K. seed fixes the coin flips; the
 * merged rank bound assumes independent coins, so sketches that will be
 * merged need different seeds (the report no longer uses KLL: its
 * quantiles are lib/sketch/relq.c; KLL stays a library sketch and reads the
 * quantile sections of state files of versions 1 and 2). */
sl_kll *sl_kll_new(sl_budget *b, uint32_t k, uint64_t seed);
void sl_kll_free(sl_kll *s);
/* Bytes sl_kll_new(k) takes from its budget. */
size_t sl_kll_bytes(uint32_t k);
/* Adds v. NaN is ignored. */
void sl_kll_add(sl_kll *s, double v);
/* dst := merge(dst, src). Sketches of different k merge into dst's k.
 * Never fails. */
sl_status sl_kll_merge(sl_kll *dst, const sl_kll *src);
uint64_t sl_kll_count(const sl_kll *s);
uint32_t sl_kll_k(const sl_kll *s);
/* The value at normalized rank q in [0, 1]; NaN when empty. */
double sl_kll_quantile(const sl_kll *s, double q);
/* The normalized rank of v: the weight of items <= v over n. */
double sl_kll_rank(const sl_kll *s, double v);
/* 95% bound on |estimated rank - true rank| / n; 0 while exact. */
double sl_kll_rank_error(const sl_kll *s);

/* Visits every retained item with its weight (2^level), level 0 first;
 * the weights sum to sl_kll_count(s). */
void sl_kll_visit(const sl_kll *s, void (*fn)(void *ud, double v, uint64_t w), void *ud);

/* ------------------------------------------------------------------------ */
/* Relative-error quantiles (lib/sketch/relq.c)                                     */
/* ------------------------------------------------------------------------ */

/*
 * Quantiles of values >= 0 whose error is relative to the value: DDSketch
 * (Masson, Rim, Lee, VLDB 2019) with B logarithmic buckets of ratio
 * gamma = (1 + a) / (1 - a), after an exact phase that keeps the raw values
 * (B of them, more in a pool: sl_relq_set_pool). Every quantile is exact
 * while the raw values fit
 * (sl_relq_relative_error() == 0), then within a * (true value). Zero has
 * its own exact bucket; min, max and count are exact. When the keys in use
 * would span more than B buckets the lowest ones are folded together: the
 * quantiles that fall there lose the bound (sl_relq_bounded). Deterministic;
 * merge adds bucket counts, so the answers do not depend on the order of
 * adds and merges.
 *
 * Quantile definition (nearest rank): quantile(q) is the value of rank
 * sl_relq_rank(q, n) in ascending order.
 *
 * Memory: sl_relq_bytes(B) taken at creation (the struct and an array of B
 * cells). Outside a pool that is all it ever holds. In a pool the raw
 * array grows by half while the budget allows (asking the pool's relieve
 * function when it refuses), up to SL_RELQ_MAX_RAW values; when it cannot
 * grow, the values become buckets and the array shrinks back to B cells.
 * Adds and merges never fail for lack of memory.
 */
#define SL_RELQ_DEFAULT_ALPHA 0.005
#define SL_RELQ_DEFAULT_BUCKETS 4096
#define SL_RELQ_MIN_BUCKETS 64
#define SL_RELQ_MAX_BUCKETS (1u << 20)
#define SL_RELQ_MAX_RAW (1u << 22) /* raw values a pooled sketch may hold (32 MiB) */

typedef struct sl_relq sl_relq;

/* A sketch of `buckets` cells (SL_RELQ_MIN_BUCKETS .. SL_RELQ_MAX_BUCKETS)
 * and relative accuracy alpha (1e-4 .. 0.25). NULL when the budget refuses
 * (SL_ENOMEM) or a parameter is out of range. Owned by the caller
 * (sl_relq_free; NULL is a no-op). */
sl_relq *sl_relq_new(sl_budget *b, uint32_t buckets, double alpha);
void sl_relq_free(sl_relq *s);
/* Bytes sl_relq_new(buckets) takes; SIZE_MAX when out of range. */
size_t sl_relq_bytes(uint32_t buckets);
/* Adds v; false (nothing added) for NaN and negative values. +inf is kept
 * in the highest bucket (min and max stay exact). */
bool sl_relq_add(sl_relq *s, double v);
/* dst := dst + src (src unchanged). SL_EINVAL, changing nothing, when the
 * relative accuracies differ, dst == src, or the count would pass 2^64.
 * Sketches of different B merge into dst's B. Two sketches holding raw
 * values stay raw (exact) when they fit dst's array, grown if dst is in a
 * pool and the budget allows; otherwise dst turns into buckets. */
sl_status sl_relq_merge(sl_relq *dst, const sl_relq *src);
/* Adds the items of a KLL sketch with their weights (state files of
 * versions 1 and 2): its quantiles then carry the KLL's rank error too
 * (sl_relq_rank_slack). SL_EINVAL for a KLL holding negative values. */
sl_status sl_relq_add_kll(sl_relq *dst, const sl_kll *k);

uint64_t sl_relq_count(const sl_relq *s);
uint32_t sl_relq_buckets(const sl_relq *s);
double sl_relq_alpha(const sl_relq *s);
double sl_relq_min(const sl_relq *s); /* NaN when empty */
double sl_relq_max(const sl_relq *s); /* NaN when empty */
/* The rank of quantile q among n values: ceil(q n) in [1, n] (q n lowered
 * by a relative 1e-12 first, so that 0.999 * 1000 is rank 999); 0 when
 * n = 0. */
uint64_t sl_relq_rank(double q, uint64_t n);
/* The value of rank sl_relq_rank(q, n); NaN when empty. Never allocates,
 * never changes the sketch. */
double sl_relq_quantile(const sl_relq *s, double q);
/* 0 while the raw values are kept (exact), else alpha: each quantile that
 * sl_relq_bounded is within that fraction of its true value. */
double sl_relq_relative_error(const sl_relq *s);
/* Whether quantile q keeps the relative bound: false only for ranks in the
 * folded lowest bucket (the value range outgrew B buckets). */
bool sl_relq_bounded(const sl_relq *s, double q);
/* True while every quantile is exact (raw values, nothing converted). */
bool sl_relq_is_exact(const sl_relq *s);
/* Joins a pool (see sl_relieve_fn): the raw array may then grow past B
 * cells in s's budget, and fn(ud, s) is asked for room when the budget
 * refuses. fn NULL: leaves the pool (the array keeps its cells and grows
 * no more). */
void sl_relq_set_pool(sl_relq *s, sl_relieve_fn fn, void *ud);
/* While s holds raw values, the bytes of its array beyond its B cells (what
 * sl_relq_degrade gives back); 0 once in buckets, and always 0 in exact
 * mode (which never degrades). */
size_t sl_relq_excess(const sl_relq *s);
/* Turns the raw values into buckets now (the quantiles become within alpha)
 * and shrinks the array back to B cells. Needs no memory and never fails;
 * a no-op in buckets already or in exact mode. */
void sl_relq_degrade(sl_relq *s);
/* Rank error inherited from converted KLL sketches, in ranks (0 normally):
 * a quantile is then within the relative bound of a value whose rank is
 * within this many ranks of the asked one. */
double sl_relq_rank_slack(const sl_relq *s);

/*
 * Exact mode (a report's --exact): the raw values are kept whatever their
 * number, never turned into buckets. sl_relq_set_exact on an empty sketch
 * (SL_EINVAL otherwise). The array is full when it holds as many values as
 * cells and could not grow (outside a pool it never grows). While
 * sl_relq_raw_full, sl_relq_add refuses
 * positive values (returns false, counts nothing): the caller first copies
 * the sl_relq_raw_count values (sl_relq_raw_value, in no order) to its own
 * store and calls sl_relq_raw_spilled, which empties the array and counts
 * them as spilled. After a spill, sl_relq_quantile answers the min, the
 * max, the zeros and the q given to sl_relq_set_answers (at most
 * SL_RELQ_MAX_ANSWERS; values the caller selected from all of them, at rank
 * sl_relq_rank), and NaN for any other q. sl_relq_merge of exact-mode
 * sketches needs the two raw arrays to fit dst's, grown if it can
 * (SL_EINVAL otherwise).
 */
#define SL_RELQ_MAX_ANSWERS 8
sl_status sl_relq_set_exact(sl_relq *s);
bool sl_relq_raw_full(const sl_relq *s);
uint32_t sl_relq_raw_count(const sl_relq *s);
double sl_relq_raw_value(const sl_relq *s, uint32_t i); /* NaN out of range */
void sl_relq_raw_spilled(sl_relq *s);
uint64_t sl_relq_spilled(const sl_relq *s);	/* positive values spilled */
uint64_t sl_relq_zero_count(const sl_relq *s);	/* values equal to 0 */
sl_status sl_relq_set_answers(sl_relq *s, const double *q, const double *v, size_t n);

/* ------------------------------------------------------------------------ */
/* Moments (lib/sketch/moments.c)                                                   */
/* ------------------------------------------------------------------------ */

/* Count, min, max, mean and variance by Welford's update (merged with Chan
 * et al.'s pairwise formula), and a Neumaier-compensated sum. Zero it to
 * initialize. Exact for count/min/max; mean/stddev/sum are accurate to a
 * few ulps of the data's magnitude. */
typedef struct {
	uint64_t n;
	double min, max;
	double mean, m2;      /* Welford: running mean, sum of squared deviations */
	double sum, sum_comp; /* Neumaier: running sum and its compensation */
} sl_moments;

void sl_moments_add(sl_moments *m, double v);
void sl_moments_merge(sl_moments *dst, const sl_moments *src);
double sl_moments_sum(const sl_moments *m);
/* The mean: the compensated sum over n (0 if n = 0), so that it is the same
 * however the stream was split and merged whenever the sum is exact (values
 * that are integers, summing to less than 2^53: byte counts); the Welford
 * mean where the sum overflows. */
double sl_moments_mean(const sl_moments *m);
double sl_moments_stddev(const sl_moments *m); /* population; 0 if n < 2 */

/* ------------------------------------------------------------------------ */
/* Time series (lib/sketch/series.c)                                                */
/* ------------------------------------------------------------------------ */

/*
 * Counts per fixed-width time bucket (width seconds, aligned to the epoch),
 * over a dense range that grows at either end as timestamps arrive in any
 * order. If growing would exceed max_bytes, the bucket width doubles (so the
 * range always fits) and `width` says so; counts stay exact per bucket.
 */
typedef struct sl_series sl_series;

sl_series *sl_series_new(sl_budget *b, uint32_t width, size_t max_bytes);
void sl_series_free(sl_series *s);
void sl_series_add(sl_series *s, int64_t t, uint64_t w);
sl_status sl_series_merge(sl_series *dst, const sl_series *src);
uint32_t sl_series_width(const sl_series *s);
/* Number of buckets from the first to the last non-empty one (0 if none). */
size_t sl_series_len(const sl_series *s);
/* Bucket i: its start time (epoch seconds) and count. */
void sl_series_get(const sl_series *s, size_t i, int64_t *start, uint64_t *count);

/* ------------------------------------------------------------------------ */
/* Access-log parser (lib/format/access.c)                                          */
/* ------------------------------------------------------------------------ */

typedef enum {
	SL_FMT_AUTO = 0,   /* detect from the first lines */
	SL_FMT_COMMON,     /* %h %l %u %t "%r" %>s %b */
	SL_FMT_COMBINED,   /* common "%{Referer}i" "%{User-agent}i" [extras] */
	SL_FMT_VCOMBINED,  /* %v[:%p] then combined */
	SL_FMT_LINES,      /* not an access log: each whole line is the key */
	SL_FMT_VCOMMON,    /* %v[:%p] then common (Apache vhost_common); after
			    * lines so that saved format numbers keep */
	/* read through an sl_parser (lib/format/parser.c): the presets of
	 * lib/format/logformat.c, the JSON ones of lib/format/jsonrec.c, and a format string
	 * (--log-format) */
	SL_FMT_W3C,
	SL_FMT_CLOUDFRONT,
	SL_FMT_ELB,
	SL_FMT_ALB,
	SL_FMT_S3,
	SL_FMT_TRAEFIK,	   /* Traefik's common-log-format lines */
	SL_FMT_LTSV,
	SL_FMT_CSV,
	SL_FMT_TSV,
	SL_FMT_SYSLOG,
	SL_FMT_JSON,	   /* JSON lines with nginx's variable names */
	SL_FMT_CADDY,
	SL_FMT_TRAEFIK_JSON,
	SL_FMT_CUSTOM,	   /* compiled from a format string */
	SL_FMT_COUNT
} sl_format;

/* "auto", "common", "combined", "vcombined", "lines", "vcommon", "w3c",
 * "cloudfront", "elb", "alb", "s3", "traefik", "ltsv", "csv", "tsv",
 * "syslog", "json", "caddy", "traefik-json", "custom"; NULL for an unknown
 * value. */
const char *sl_format_name(sl_format f);
/* SL_FMT_COUNT for an unknown name. */
sl_format sl_format_from_name(const char *name);

/*
 * The schema: the named fields a record has. A format's parser yields a
 * subset of them (sl_format_has_field); each is a (pointer, length) into the
 * line, and the typed ones also carry a parsed value (sl_record_number).
 * Names are what plans, state files and JSON use ("client", "user_agent").
 */
typedef enum {
	SL_F_VHOST,
	SL_F_CLIENT,	  /* %h: IPv4, IPv6 or host name           (ip) */
	SL_F_IDENT,
	SL_F_USER,
	SL_F_TIME,	  /* inside the brackets                 (time) */
	SL_F_REQUEST,	  /* inside the quotes */
	SL_F_METHOD,	  /* parts of the request; see sl_access_parse */
	SL_F_URL,	  /* request target, with query string */
	SL_F_PATH,	  /* URL up to '?' */
	SL_F_PROTOCOL,
	SL_F_STATUS,	  /*                                  (integer) */
	SL_F_BYTES,	  /*                                  (integer) */
	SL_F_REFERRER,
	SL_F_USER_AGENT,
	SL_F_REQUEST_TIME, /* first numeric field after the user agent (float) */
	SL_F_QUERY,	  /* URL after '?', empty if none */
	SL_F_DATE,	  /* the day as logged ("10/Oct/2000"), local time */
	SL_F_LINE,	  /* the whole line, in every format */
	SL_F_LENGTH,	  /* the line's length in bytes           (integer) */
	SL_F_STATUS_CLASS, /* "2xx" .. "5xx", from the status (groups only) */
	SL_F_HOUR,	  /* "2024-05-01T14", the UTC hour (groups only) */
	SL_F_COUNT
} sl_field;

typedef enum {
	SL_TYPE_STRING,
	SL_TYPE_INT,
	SL_TYPE_FLOAT,
	SL_TYPE_TIME,	/* Unix seconds */
	SL_TYPE_IP
} sl_field_type;

/* "client", "url", "user_agent", ...; NULL for an unknown field. */
const char *sl_field_name(sl_field f);
/* SL_F_COUNT for an unknown name. */
sl_field sl_field_from_name(const char *name);
sl_field_type sl_field_type_of(sl_field f);
/* Is f numeric (integer, float or time), so that a quantiles item or a
 * range condition may use it? */
bool sl_field_is_number(sl_field f);
/* Does format fmt (not SL_FMT_AUTO) yield field f? */
bool sl_format_has_field(sl_format fmt, sl_field f);

typedef struct {
	const char *p;
	size_t len;
} sl_str;

/* One parsed record. Fields point into the caller's line (zero-copy); an
 * absent field has len 0. Quoted fields are given without their quotes and
 * with escapes (\" and \x22) left as they are in the log. The typed
 * fields' parsed values: */
typedef struct {
	sl_str field[SL_F_COUNT];
	int64_t time;		/* Unix seconds, UTC */
	uint32_t status;	/* 100..599 */
	uint64_t bytes;		/* '-' -> 0 */
	double request_time;	/* seconds; valid when has_request_time */
	bool has_request_time;
	const char *why;	/* on SL_EFORMAT: static reason, else NULL */
} sl_record;

/* The value of numeric field f of rec into *v: false when f is not numeric
 * or rec lacks it (a line without a request time). */
bool sl_record_number(const sl_record *rec, sl_field f, double *v);

/* Per-stream cache for timestamps: the date is converted once per distinct
 * second string (consecutive lines share it). Zero it to initialize. */
typedef struct {
	char text[32];
	size_t len;
	int64_t time;
} sl_time_cache;

/*
 * Parses one line (without its newline; a trailing '\r' is ignored) in format
 * fmt (common, combined, vcombined or vcommon: SL_EINVAL for another; the
 * others are read through sl_parser). Returns SL_OK and fills *rec, or SL_EFORMAT with
 * rec->why set when the line has the wrong shape, an impossible date or a
 * status outside 100..599. Reads only line[0 .. len-1].
 *
 * A request field that is not "METHOD TARGET PROTOCOL" (for example "-" or
 * binary junk) is still a valid line: METHOD and PROTOCOL are then empty and
 * URL/PATH hold the whole request field.
 */
sl_status sl_access_parse(sl_format fmt, const char *line, size_t len,
			  sl_record *rec, sl_time_cache *tc);

/*
 * Detects the format from the complete lines in buf[0 .. len-1] (at most the
 * first 32 non-empty lines are looked at): the format that parses the most
 * of them, preferring vcombined, then combined, then vcommon, then common
 * on ties. Returns SL_FMT_COMBINED when none parses.
 */
sl_format sl_access_detect(const char *buf, size_t len);

/*
 * The same choice as sl_access_detect, but SL_FMT_AUTO when no line of
 * buf[0 .. len-1] parses in any access-log format: what a program tells a
 * user whose lines did not parse ("they look like common").
 */
sl_format sl_access_guess(const char *buf, size_t len);

/*
 * A time as logs write it (lib/format/timeparse.c): ISO 8601 / RFC 3339 with a
 * 'T' or a space, an optional fraction and zone (none: UTC), the common log
 * format's "10/Oct/2000:13:55:36 -0700", or Unix seconds with an optional
 * fraction. The whole of p[0 .. n-1] must be the time. On success *t is
 * the instant in whole Unix seconds (floored) and *offset (if not NULL)
 * the zone written, in seconds east of UTC; false for anything else, an
 * impossible date, or an instant outside the years 0000 to 9999.
 */
bool sl_time_parse(const char *p, size_t n, int64_t *t, int32_t *offset);

/* Longest line parsed whole; longer lines are counted as oversized. */
#define SL_LINE_MAX (64 * 1024)

/* ------------------------------------------------------------------------ */
/* Log formats (lib/format/logformat.c)                                             */
/* ------------------------------------------------------------------------ */

/*
 * A log format other than the four classic ones: compiled from an nginx
 * log_format string or an Apache/GoAccess %-specifier string, or one of the
 * presets. Every format fills the same sl_record over the schema above, so
 * the same report comes out. docs/formats.md lists every variable,
 * specifier and preset and the field each maps to.
 *
 * Order: sl_logformat_compile or sl_logformat_preset -> sl_logformat_parse*
 * (sl_logformat_reset between inputs) -> sl_logformat_free. One
 * sl_logformat belongs to one thread at a time (it holds a scratch buffer,
 * and the header formats the header last read).
 */
typedef struct sl_logformat sl_logformat;

/*
 * Compiles spec (NUL-terminated, at most 4096 bytes) once into a field
 * extraction program. nginx syntax when spec holds a '$' ($var, ${var};
 * unknown variables are skipped fields), else %-specifiers (Apache's, or
 * GoAccess's when a GoAccess-only one such as %d %^ %x %R appears).
 * Returns SL_OK with *out owned by the caller (memory from b); SL_EINVAL
 * for a bad string, with *err_pos the byte offset in spec of the offending
 * place and *why a static reason (both may be NULL); SL_ENOMEM if b
 * refuses. *out is NULL on error.
 */
sl_status sl_logformat_compile(sl_logformat **out, sl_budget *b,
			       const char *spec, size_t *err_pos,
			       const char **why);

/*
 * A preset by name: "w3c", "cloudfront", "elb", "alb", "s3", "traefik",
 * "ltsv", "csv", "tsv", "syslog". (combined, common, vcombined and vcommon
 * are sl_access_parse's.) SL_OK with *out owned by the caller; SL_EINVAL for
 * an unknown name; SL_ENOMEM.
 */
sl_status sl_logformat_preset(sl_logformat **out, sl_budget *b,
			      const char *name);

/*
 * Parses one line (without its newline) as sl_access_parse does: SL_OK and
 * every field of *rec set (absent ones have len 0; status is 0 when the
 * format has none); SL_EFORMAT with rec->why for a line of the wrong
 * shape, a bad time, a status outside 100..599; SL_ESKIP for a header or
 * comment line that is no record (W3C '#' lines, the CSV/TSV header row),
 * which also (re)programs the header formats; SL_ENOMEM when the scratch
 * for an unescaped CSV field cannot grow. Fields point into line, except
 * CSV/TSV fields that held "" escapes: those point into lf's scratch,
 * valid until the next call with lf. tc may be NULL. Reads only
 * line[0 .. len-1].
 */
sl_status sl_logformat_parse(sl_logformat *lf, const char *line, size_t len,
			     sl_record *rec, sl_time_cache *tc);

/*
 * The preset that the complete lines at the start of buf[0 .. len-1] look
 * like ("w3c", "csv", "syslog", ...), or NULL. Classic combined, common,
 * vcombined and vcommon lines are not claimed (use sl_access_guess).
 * Allocates nothing.
 */
const char *sl_logformat_detect(const char *buf, size_t len);

/* Frees lf and its scratch; NULL is a no-op. */
void sl_logformat_free(sl_logformat *lf);

/* Does lf yield field f? For the header formats before their header (csv,
 * tsv, w3c), every field they can map. For sl_plan_check. */
bool sl_logformat_has_field(const sl_logformat *lf, sl_field f);

/* The spec lf was compiled from, or the preset's name; owned by lf. */
const char *sl_logformat_spec(const sl_logformat *lf);

/* True for the formats a header line programs (w3c, cloudfront, csv, tsv):
 * an input must then be parsed in order through one lf, from its start, not
 * in byte ranges split over threads. */
bool sl_logformat_stateful(const sl_logformat *lf);

/* Forgets the header read (and cloudfront's back to its default columns):
 * call it before the first line of another input. */
void sl_logformat_reset(sl_logformat *lf);
/* Where the message of a syslog line starts: after an RFC 5424 header
 * ("<PRI>1 TS HOST APP PROCID MSGID SD ") or an RFC 3164 one ("[<PRI>]Mmm
 * dd hh:mm:ss HOST TAG: "); SIZE_MAX when line[0 .. len-1] has neither. */
size_t sl_logformat_syslog_message(const char *line, size_t len);

/* ------------------------------------------------------------------------ */
/* Record parsers (lib/format/parser.c)                                             */
/* ------------------------------------------------------------------------ */

/*
 * One interface over every record format: the classic access-log formats
 * (sl_access_parse), the format strings and presets (sl_logformat) and JSON
 * lines (sl_jsonrec). A format is an sl_format and, for two kinds, a spec:
 * the format string of SL_FMT_CUSTOM (--log-format), and for the JSON
 * formats the field mappings (--field), "FIELD=PATH" lines joined by '\n'
 * (may be NULL). A parser holds per-stream state (a W3C or CSV header, a
 * scratch buffer), so it belongs to one thread; reset it at each input.
 */
typedef struct sl_parser sl_parser;

/* SL_EINVAL with *err_pos (a byte of spec) and *why for a bad spec, or a
 * format that is not a record format (auto, lines); SL_ENOMEM. */
sl_status sl_parser_new(sl_parser **out, sl_budget *b, sl_format fmt, const char *spec,
			size_t *err_pos, const char **why);
/* As sl_access_parse; also SL_ESKIP for a header or comment line. */
sl_status sl_parser_parse(sl_parser *p, const char *line, size_t len, sl_record *rec,
			  sl_time_cache *tc);
/* Does the format yield field f (the schema, for sl_plan_check_with)? */
bool sl_parser_has_field(const sl_parser *p, sl_field f);
/* A header line programs the format (w3c, cloudfront, csv, tsv): an input
 * must be parsed in order, from its start, by one parser. */
bool sl_parser_stateful(const sl_parser *p);
bool sl_format_stateful(sl_format f);
/* Forgets a header read: before the first line of another input. */
void sl_parser_reset(sl_parser *p);
void sl_parser_free(sl_parser *p);

/*
 * Wrapped and mixed formats (lib/format/parser.c).
 *
 * Syslog around another format: SL_FMT_SYSLOG with the spec "NAME" or
 * "NAME:SPEC" (the inner format's name as sl_format_from_name knows it,
 * not auto, lines or syslog, and its own spec: "json:client=ip",
 * "custom:$remote_addr ..."); an empty spec is the classic formats inside.
 *
 * A mix: the spec of a report whose inputs are read in several formats
 * (sluice -f json a.jsonl -f combined b.log). It lists the formats, each
 * as "\x01NAME:SPEC" (SPEC empty for a format that has none), in the order
 * the inputs first use them; the report's sl_format is the first one's.
 * A spec starting with "\x01" is always a mix: no unit spec may hold that
 * byte. sl_parser_new of a mix makes one parser per format and
 * sl_parser_select picks the one the next lines are read with.
 */
#define SL_FORMAT_MIX_MAX 16
/* Does spec (NULL: no) describe a mix? */
bool sl_format_spec_is_mix(const char *spec);
/* The formats a spec reads: a mix's count, else 1. */
uint32_t sl_format_mix_count(const char *spec);
/* Unit i of a mix: its format, and its spec copied into buf (cap bytes,
 * NUL-terminated). SL_EINVAL when there is no such unit or it is malformed,
 * SL_ENOMEM when buf is too small. */
sl_status sl_format_mix_unit(const char *mix, uint32_t i, sl_format *fmt, char *buf, size_t cap);
/* Adds the format (fmt, spec) to the mix in buf (cap bytes; "" starts an
 * empty one) unless an equal unit is there, and sets *unit to its index.
 * The spec is kept only for the formats that read one (custom, syslog,
 * the JSON ones). SL_EINVAL: fmt is not a record format, or spec holds the
 * byte 0x01; SL_ENOMEM: more than SL_FORMAT_MIX_MAX formats, or buf too
 * small. buf is unchanged on an error. */
sl_status sl_format_mix_add(char *buf, size_t cap, sl_format fmt, const char *spec,
			    uint32_t *unit);
/* The name a report gives its formats: "combined", "syslog:json" (the
 * inner name of a syslog spec), "json, combined" for a mix (its units,
 * each named so). Written into buf (cap > 0 bytes, cut to fit); returns
 * buf. */
const char *sl_format_describe(sl_format fmt, const char *spec, char *buf, size_t cap);
/* A mix's parser: read the next lines as unit `unit` (out of range: unit
 * 0). No effect on other parsers. */
void sl_parser_select(sl_parser *p, uint32_t unit);
/* What a report over (fmt, spec) sets aside for its parser(s): 0 for the
 * classic formats and lines, SL_REPORT_PARSER_BYTES for one other format,
 * for a mix that per unit not classic (and a little for each classic
 * one). */
size_t sl_parser_reserve(sl_format fmt, const char *spec);

/* common, combined, vcombined, vcommon: parsed on the report's fast path. */
bool sl_format_is_classic(sl_format f);
bool sl_format_is_json(sl_format f);

/*
 * The format the complete lines at the start of buf[0 .. len-1] look like:
 * JSON lines (and which preset their keys suggest), else the classic
 * access-log format that parses the most of them, else a line preset (w3c,
 * csv, syslog, ...); SL_FMT_COMBINED when none fits (its lines then count
 * as malformed, and the run says what they look like).
 */
sl_format sl_format_detect(const char *buf, size_t len);
/* The same, SL_FMT_AUTO when none fits (what a malformed line looks like). */
sl_format sl_format_guess(const char *buf, size_t len);
/* sl_format_detect, and the spec the format needs: syslog messages that
 * hold another format than the classic ones give SL_FMT_SYSLOG and *spec
 * its name ("json", "ltsv", ...: a static string, as sl_parser_new takes
 * for syslog:NAME); else *spec is NULL. */
sl_format sl_format_detect_spec(const char *buf, size_t len, const char **spec);

/* ------------------------------------------------------------------------ */
/* Line framer (lib/io/framer.c)                                                */
/* ------------------------------------------------------------------------ */

/*
 * The one place where input bytes become lines. Push-style: the caller
 * pushes bytes as they come (a file's buffers, a socket's reads, one byte
 * at a time: any chunking gives the same lines) and takes frames until the
 * push is used up; at the end of the input it says so and takes the last
 * frames. A line ends at '\n'; '\r' and NUL are ordinary bytes (CRLF is the
 * caller's to strip). A line's length is its bytes without the '\n'.
 *
 * Oversize, one policy: a line longer than max_line bytes is skipped and
 * counted (frame.skipped, sl_framer_oversized); it keeps its number, so the
 * lines after it are numbered as if it had been delivered.
 *
 * Two kinds of frame (chosen at init):
 *   lines  one line per frame, without its '\n'
 *   runs   a block of whole lines, each with its '\n' (the last line of the
 *          input may lack it): as many as lie whole in the push, zero-copy
 *
 * Memory: the unfinished line at the end of a push (the tail, at most
 * max_line bytes) is copied into storage from the framer's budget, grown as
 * needed up to max_line + 1 bytes (sl_framer_reserve takes it up front;
 * with a budget of 0 bytes a framer gives the complete lines of a push and
 * then SL_ENOMEM, having kept nothing). A frame's bytes lie in the pushed
 * buffer, or in that storage when the line was begun by an earlier push. A
 * push may offer `headroom`: bytes just before buf that the framer may
 * overwrite; a runs framer then copies the tail there, so the line it began
 * and the whole lines after it come out as one frame.
 *
 * Numbers: a runs frame's lines are counted (sl_count_lines, about 0.3
 * instructions a byte) unless the input was begun SL_FRAMER_UNNUMBERED.
 *
 * Call order: sl_framer_init -> [sl_framer_reserve] -> sl_framer_begin ->
 * (sl_framer_push -> sl_framer_next until it gives no frame)* ->
 * sl_framer_end -> sl_framer_next until it gives no frame -> (begin again
 * for the next input, or) sl_framer_free.
 */
typedef enum { SL_FRAMER_LINES, SL_FRAMER_RUNS } sl_framer_kind;

/* What sl_framer_next gives: a frame has data (lines) or skipped lines, or
 * both; neither (data NULL, skipped 0) means the push is used up. */
typedef struct {
	const char *data;	/* the frame's bytes (see sl_framer_kind): in
				 * the push or its headroom (valid while the
				 * caller keeps those bytes), or in the framer's
				 * storage (valid until the next call on f) */
	size_t len;
	uint64_t first;		/* the number of data's first line (0 when
				 * unnumbered) */
	uint64_t lines;		/* lines in data: 1 for a lines framer, 0 for a
				 * frame that only reports skipped lines (and
				 * for every frame when unnumbered) */
	uint64_t skipped;	/* oversized lines skipped just before data:
				 * numbered first - skipped .. first - 1 */
} sl_frame;

/* A framer. The fields are private: use the functions. It may live on the
 * stack or inside another struct (no allocation until a tail is kept). */
typedef struct {
	sl_budget *budget;
	size_t max_line;
	sl_framer_kind kind;
	char *tail;		/* the unfinished line, tail_len bytes */
	size_t tail_len, tail_cap;
	const char *buf;	/* the current push: buf[pos .. len) unread */
	size_t len, pos, headroom;
	uint64_t base;		/* offset of buf[0] from the input's start */
	uint64_t next_start;	/* offset of the next line's first byte */
	uint64_t stop;		/* lines starting at or after it are not framed */
	uint64_t line;		/* lines framed, skipped ones included */
	uint64_t oversized;	/* lines skipped since begin */
	uint64_t unreported;	/* skipped lines no frame has reported yet */
	int state;
	bool ended;
	bool numbered;
} sl_framer;

/* lines_before for sl_framer_begin: frames are not numbered (first, lines
 * and the position stay 0), which spares a runs framer counting the lines
 * of each run, for a consumer that numbers lines itself. Skipped lines are
 * still reported in order. */
#define SL_FRAMER_UNNUMBERED UINT64_MAX

/* Initializes f to frame lines of at most max_line bytes (1 .. SIZE_MAX / 2)
 * with storage from b (kept by f; b must outlive it). Allocates nothing.
 * Then call sl_framer_begin. */
void sl_framer_init(sl_framer *f, sl_budget *b, sl_framer_kind kind, size_t max_line);

/* Allocates the tail storage up front, `bytes` (at most max_line + 1), so that
 * pushes never allocate for lines that fit. SL_ENOMEM if the budget refuses
 * (f unchanged). */
sl_status sl_framer_reserve(sl_framer *f, size_t bytes);

/*
 * Starts an input (any tail or skip state of the previous one is dropped;
 * the storage is kept). lines_before: the number the first line gets, minus
 * one (a resumed input goes on with its numbering), or SL_FRAMER_UNNUMBERED
 * (see there). mid_line: the input starts inside a line (a byte range of a
 * file): its bytes up to and including the first '\n' are not a line,
 * neither framed nor counted. stop: lines whose first byte lies at or past
 * this offset from the start are not framed (UINT64_MAX: none); the line
 * that crosses it is finished.
 */
void sl_framer_begin(sl_framer *f, uint64_t lines_before, bool mid_line, uint64_t stop);

/*
 * Hands buf[0 .. len-1] to the framer; take its frames with sl_framer_next.
 * buf is read (and headroom bytes before it may be written) until
 * sl_framer_next gives no frame; the caller must not change them before.
 * headroom: bytes before buf the framer may overwrite (0: none).
 * SL_EINVAL (nothing done) if the previous push was not used up or the
 * input was ended.
 */
sl_status sl_framer_push(sl_framer *f, const char *buf, size_t len, size_t headroom);

/*
 * The next frame. SL_OK with out->data or out->skipped set: a frame. SL_OK
 * with neither: the push is used up (push more, or end the input); after
 * sl_framer_end, the input is done. SL_ENOMEM: the tail storage could not
 * grow for a line of up to max_line bytes; nothing was consumed, so a call
 * after memory was freed goes on where this one stopped.
 */
sl_status sl_framer_next(sl_framer *f, sl_frame *out);

/* Ends the input: sl_framer_next then gives the tail as a last line without
 * '\n' (unless it starts past stop) and reports skipped lines not yet
 * reported. SL_EINVAL if the last push was not used up. */
sl_status sl_framer_end(sl_framer *f);

/* The bytes of an unfinished line held (0 while skipping an oversized one):
 * what a push offering at least that much headroom lets a runs framer join
 * to the lines that follow it. */
size_t sl_framer_pending(const sl_framer *f);

/* The number of the last line framed or skipped: lines_before plus the
 * lines given and skipped since begin. */
uint64_t sl_framer_position(const sl_framer *f);

/* Oversized lines skipped since begin (reported in frames or not yet). */
uint64_t sl_framer_oversized(const sl_framer *f);

/* True once a line starting at or past stop was reached: the input's lines
 * are all framed, and more bytes would be ignored. */
bool sl_framer_done(const sl_framer *f);

/* Releases the storage. f may be initialized again. NULL is a no-op. */
void sl_framer_free(sl_framer *f);

/* ------------------------------------------------------------------------ */
/* JSON lines (lib/format/jsonrec.c)                                                */
/* ------------------------------------------------------------------------ */

/*
 * One JSON object per line, read into the same sl_record as an access-log
 * line through a mapping from dotted key paths to fields. An sl_jsonrec
 * holds the mapping and a scratch buffer, so it belongs to one thread at a
 * time (one per stream or worker).
 *
 * Order: sl_jsonrec_new -> sl_jsonrec_map* -> sl_jsonrec_parse* ->
 * sl_jsonrec_free.
 */
typedef struct sl_jsonrec sl_jsonrec;

/* Containers nested deeper than this are rejected (SL_EFORMAT). */
#define SL_JSONREC_DEPTH 64

/*
 * A parser with the keys of a preset: "json" (nginx variable names:
 * remote_addr, time_iso8601 | time_local | msec, request or request_method
 * + request_uri, status, body_bytes_sent | bytes_sent, http_referer,
 * http_user_agent, request_time, host | server_name | http_host, ...),
 * "caddy" (Caddy v2's access log: request.client_ip | request.remote_ip,
 * ts, request.method, request.uri, request.proto, request.host,
 * request.headers.User-Agent.0, status, size, duration in seconds),
 * "traefik" (Traefik's JSON: ClientHost, StartUTC | StartLocal | time,
 * RequestMethod, RequestPath, RequestProtocol, RequestHost,
 * DownstreamStatus, DownstreamContentSize, Duration in nanoseconds,
 * request_User-Agent, request_Referer) or "none" (no key; map every field
 * with sl_jsonrec_map). NULL means "json". The full lists are in
 * lib/format/jsonrec.c and docs/formats.md.
 * Returns SL_OK with *out owned by the caller (sl_jsonrec_free), SL_EINVAL
 * for an unknown preset or a NULL budget, SL_ENOMEM when the budget cannot
 * hold it (about 9 KiB); *out is NULL on error.
 */
sl_status sl_jsonrec_new(sl_jsonrec **out, sl_budget *b, const char *preset);

/*
 * Maps field f to the value at path, a dotted key path
 * ("request.headers.user_agent"; a decimal segment also names an array
 * element, "headers.User-Agent.0"), ahead of every path f had before (the
 * preset's stay as fallbacks; the newest mapping is tried first). A NULL
 * path removes every path of f, so that f is absent. Keys are compared
 * byte for byte with the decoded key (case matters). Returns SL_OK, or
 * SL_EINVAL for SL_F_LINE, SL_F_LENGTH or an unknown field, an empty path
 * or segment, a segment over 128 bytes, or a mapping that does not fit
 * (at most 64 paths, 159 key segments and 4 KiB of key names in all);
 * j is unchanged then.
 */
sl_status sl_jsonrec_map(sl_jsonrec *j, sl_field f, const char *path);

/*
 * Parses one line (without its newline) into *rec. Returns:
 *   SL_OK      every field set; a field whose paths are all absent, null,
 *              an object or an array has len 0. A string without escapes
 *              points into the line; one with escapes is decoded (UTF-8;
 *              a lone surrogate escape becomes U+FFFD) into j's scratch
 *              buffer, valid until the next parse with j. A number or
 *              true/false mapped to a string field is its text as written.
 *              Numeric fields take a JSON number or a string holding one:
 *              status an integer 100..599 (rec->status; 0 when the line
 *              has no status), bytes a non-negative integer or "-" (0),
 *              request_time a finite number >= 0 in seconds (scaled by the
 *              preset's unit; anything else leaves has_request_time
 *              false), time as sl_time_parse reads it (an epoch number in
 *              seconds, ISO 8601 or the common log format; rec->time 0
 *              when the line has no time). Request, method, URL, protocol,
 *              path, query and date are derived as in sl_access_parse where
 *              not mapped; without a request one is composed from "METHOD
 *              URL PROTOCOL"; an epoch time's date is "YYYY-MM-DD" (UTC).
 *   SL_ESKIP   the line is empty or white space (no record).
 *   SL_EFORMAT rec->why set (static): invalid JSON (what Python's json.loads
 *              rejects on the line decoded as strict UTF-8, plus nesting
 *              deeper than SL_JSONREC_DEPTH; these reasons start with
 *              "invalid JSON: "), a value that is not an object ("not a
 *              JSON object"), or a bad status, bytes or time.
 *   SL_ENOMEM  the budget refused the scratch buffer (kept for later lines:
 *              the escaped values' raw length, once per field that uses
 *              one, plus a composed request and a date); rec->why set.
 * Reads only line[0 .. len-1]; tc as for sl_access_parse (may be NULL).
 */
sl_status sl_jsonrec_parse(sl_jsonrec *j, const char *line, size_t len,
			   sl_record *rec, sl_time_cache *tc);

/* Does j yield field f (mapped, or derived from a mapped one)? */
bool sl_jsonrec_has_field(const sl_jsonrec *j, sl_field f);

/* Frees j and its scratch buffer; NULL is a harmless no-op. */
void sl_jsonrec_free(sl_jsonrec *j);

/*
 * For -f auto: do the complete lines in buf[0 .. len-1] (at most the first
 * 32 non-empty ones) look like JSON lines, i.e. are at least half of them
 * valid JSON objects (and at least one)? If so and preset is not NULL,
 * *preset is the preset ("traefik", "caddy" or "json", a static string)
 * whose status and request (or URL) keys occur in the most lines; "json"
 * on ties and when none does.
 */
bool sl_jsonrec_looks_like(const char *buf, size_t len, const char **preset);

/* ------------------------------------------------------------------------ */
/* Input sources (lib/io/input.c)                                               */
/* ------------------------------------------------------------------------ */

/*
 * A byte source read with read(2) into fixed buffers (never mmap). Opening
 * detects compression by magic bytes, not by name: gzip (1f 8b, zlib,
 * concatenated members allowed, zero padding after the last one skipped)
 * and zstd (28 b5 2f fd, or a skippable frame 0x184D2A5?; streaming,
 * multiple frames). The decompressors' own memory comes from the budget; a
 * zstd frame whose window does not fit fails with SL_ENOMEM, and
 * sl_input_need says how much it needs.
 *
 * Order: sl_input_open -> sl_input_read* (until *got == 0) -> sl_input_close.
 */
typedef struct sl_input sl_input;

typedef enum { SL_COMP_NONE, SL_COMP_GZIP, SL_COMP_ZSTD } sl_compression;

/*
 * Opens path, or stdin for "-". On failure returns SL_EIO with *err set to
 * errno (or SL_ENOMEM) and *out NULL. The sl_input owns the descriptor
 * (except stdin's, which is not closed).
 */
sl_status sl_input_open(sl_input **out, sl_budget *b, const char *path,
			int *err);
/* The same over an open descriptor (not closed by sl_input_close unless
 * owns_fd). */
sl_status sl_input_open_fd(sl_input **out, sl_budget *b, int fd,
			   bool owns_fd, int *err);
/*
 * Opens bytes [offset, offset + length) of the file at path, read as they
 * are (no decompression: callers split only plain files) with pread(2), so
 * several threads may read ranges of one file at once. Reading stops at the
 * end of the range or of the file. sl_input_size() is length. A length other
 * than UINT64_MAX promises the range lies inside the file: if the file ends
 * first, sl_input_shrank() turns true (pass the size the file had when the
 * plan was made, minus offset, to notice a file truncated while read).
 * Errors as sl_input_open.
 */
sl_status sl_input_open_range(sl_input **out, sl_budget *b, const char *path,
			      uint64_t offset, uint64_t length, int *err);
/*
 * Reads up to cap decompressed bytes into buf. *got == 0 means end of input.
 * SL_EIO (errno in *err) on a read error, SL_ECORRUPT on bad compressed data
 * (including a stream cut short and garbage after the last gzip member),
 * SL_ENOMEM if the decompressor needs more than the budget gives (see
 * sl_input_need). Bytes decoded before an error come first, with SL_OK; the
 * next read returns the error, and every read after it (sticky).
 */
sl_status sl_input_read(sl_input *in, char *buf, size_t cap, size_t *got,
			int *err);
sl_compression sl_input_compression(const sl_input *in);
/* Size in bytes of the underlying file when it is a regular file, else 0. */
uint64_t sl_input_size(const sl_input *in);
/* Raw (compressed) bytes consumed so far: the numerator for progress. */
uint64_t sl_input_consumed(const sl_input *in);
/*
 * The bytes of budget this input needs in all (itself, its input buffer and
 * its decoder) to go on decoding, as far as it knows: after sl_input_read
 * failed with SL_ENOMEM, what it held plus the allocation that was refused
 * (for zstd, the window and block buffers the frame's header asks for), so a
 * budget with this much room for the input decodes that frame. Before any
 * failure, the most it has held so far. UINT64_MAX when no budget can do:
 * a zstd frame declaring a window beyond libzstd's limit (2 GiB on 64-bit).
 * A plain input needs only the sl_input itself.
 */
uint64_t sl_input_need(const sl_input *in);
/*
 * True once reading met the end of the file before the size it was opened
 * with: a regular file (sl_input_open, sl_input_open_fd) whose read(2) said
 * end of file before the st_size that fstat(2) gave at open, or a range
 * (sl_input_open_range with length != UINT64_MAX) whose file ended before
 * offset + length. The file shrank (was truncated or rewritten) while it was
 * read: the bytes delivered are what was there, *got == 0 still ends the
 * input, and the caller decides what to say (sluice marks the input
 * incomplete). False before the end is met, and for pipes, terminals and
 * ranges opened with length UINT64_MAX. A file that grows is read on as it
 * grows (sl_input_open) or up to the range's end (sl_input_open_range).
 */
bool sl_input_shrank(const sl_input *in);
void sl_input_close(sl_input *in);

/* ------------------------------------------------------------------------ */
/* Plans (lib/report/plan.c)                                                        */
/* ------------------------------------------------------------------------ */

/*
 * A plan is what a report computes over the records: a list of items, each
 * a sketch over named fields, optionally only for the records that meet a
 * condition. Every report has the counters (lines, records, malformed,
 * oversized, the byte sum, the first and last time); the items add:
 *
 *   distinct(f[,g[,h]])  distinct values of the fields together: exact set,
 *                        then HLL (lib/sketch/distinct.c); exact under plan.exact
 *   top(f)               the heaviest values: exact table, then Space-Saving
 *                        (lib/sketch/topk.c); exact under plan.exact
 *   quantiles(f)         a numeric field's quantiles (lib/sketch/relq.c, relative
 *                        error) and moments; exact under plan.exact
 *   tally(f)             an exact count per value: status codes (f =
 *                        status), or a small string domain (lib/sketch/tally.c)
 *   series(time)         records per hour, and per minute over short spans
 *   groups(f)            --by f: the largest groups of f (lib/sketch/groups.c), each
 *                        with its requests, bytes, visitors, request-time
 *                        quantiles and top paths
 *
 * The plan is a plain value: copy it, compare it (sl_plan_equal), and a
 * state file records it. The default plans (sl_plan_default) give the
 * access-log report and the line report (`-f lines`); any other plan is
 * built with sl_plan_add. The report's budget is shared among the plan's
 * keyed sketches (distinct, top) by one rule, in lib/report/report.c: each item
 * weighs its `share`, a weight (0: the kind's default).
 */
#define SL_PLAN_MAX 24		/* items in one plan */
#define SL_ITEM_FIELDS 3	/* fields of one distinct item */
#define SL_ITEM_NAME 32		/* bytes of an item's name, with its NUL */
#define SL_WHERE_TEXT 24	/* bytes of a condition's text, with its NUL */

typedef enum {
	SL_ITEM_DISTINCT,
	SL_ITEM_TOP,
	SL_ITEM_QUANTILES,
	SL_ITEM_TALLY,
	SL_ITEM_SERIES,
	SL_ITEM_GROUPS,	/* by(f): the largest groups, each with small sketches */
	SL_ITEM_KINDS
} sl_item_kind;

/* An item's condition on one field of the record. */
typedef enum {
	SL_WHERE_ALL,		/* every record */
	SL_WHERE_IN,		/* lo <= number < hi (a numeric field) */
	SL_WHERE_NOT_IN,	/* not (lo <= number < hi); a record that lacks
				 * the number does not meet IN nor NOT_IN */
	SL_WHERE_EQ,		/* the field's bytes equal text */
	SL_WHERE_NE		/* they do not */
} sl_where_op;

typedef struct {
	sl_where_op op;
	sl_field field;
	double lo, hi;
	char text[SL_WHERE_TEXT];
} sl_where;

typedef struct {
	sl_item_kind kind;
	uint32_t nfields;		/* 1, or up to SL_ITEM_FIELDS (distinct) */
	sl_field field[SL_ITEM_FIELDS];
	sl_where where;
	uint32_t share;			/* weight in the budget; 0: the default */
	char name[SL_ITEM_NAME];	/* unique in the plan: the JSON key */
} sl_item;

/*
 * A record filter (--where): FIELD OP VALUE, or its negation. A record is
 * kept when it meets every filter of the plan and lies in its time range;
 * the others count as `filtered`, apart from malformed lines.
 *   = !=        the field's bytes equal the text; for a numeric field, the
 *               number (status=404, request_time=0)
 *   < <= > >=   numbers only (bytes>1M: K, M, G, T are powers of 1024)
 *   ^=          the field's bytes begin with the text
 *   ~           the text is a PCRE2 pattern found in the field (compiled
 *               once per report, JIT where available; (?i) for no case)
 *   in          the field equals one of the comma-separated values
 *               (in GET,HEAD or in (GET,HEAD))
 * A record that lacks a number (no request time) meets no comparison on
 * it, and so meets its negation.
 */
#define SL_FILTER_MAX 8
#define SL_FILTER_TEXT 256

typedef enum {
	SL_CMP_EQ,
	SL_CMP_NE,
	SL_CMP_LT,
	SL_CMP_LE,
	SL_CMP_GT,
	SL_CMP_GE,
	SL_CMP_PREFIX,
	SL_CMP_REGEX,
	SL_CMP_IN,
	SL_CMP_COUNT
} sl_cmp;

typedef struct {
	sl_field field;
	sl_cmp cmp;
	bool negate;
	double num;			/* the value, for a numeric field */
	char text[SL_FILTER_TEXT];	/* the value as given (NUL-terminated) */
} sl_filter;

typedef struct {
	uint32_t nitems;
	sl_item item[SL_PLAN_MAX];
	/* every distinct, top and quantiles item exact whatever the data size
	 * (--exact): the keys spill to disk (lib/sketch/exact.c, lib/spill/xsort.c) */
	bool exact;
	/* the records it counts: every filter met, and the time in [since,
	 * until) when has_since / has_until (Unix seconds) */
	uint32_t nfilters;
	sl_filter filter[SL_FILTER_MAX];
	bool has_since, has_until;
	int64_t since, until;
} sl_plan;

/*
 * The default plan of format fmt: for the access-log formats, today's
 * report (unique_ips = distinct(client), unique_visitors =
 * distinct(client, date, user_agent) where status not in 400..499 (unless
 * visitors_4xx), status, methods, protocols, the top lists url, path, ip,
 * referrer, user_agent and not_found = top(path) where status = 404,
 * request_time and response_bytes quantiles, the series); for SL_FMT_LINES
 * distinct_lines, the top lines and the line_length quantiles. One plan
 * serves every access-log format: a field the format lacks (the user agent
 * in common) is empty in each record, as the report has always shown it.
 * exact is false.
 */
void sl_plan_default(sl_plan *p, sl_format fmt, bool visitors_4xx);

/* An empty plan (only the counters). */
void sl_plan_init(sl_plan *p);

/*
 * Appends item it to p after checking it: a known kind, 1..SL_ITEM_FIELDS
 * known fields (one but for distinct), a numeric field for quantiles and
 * for IN/NOT_IN conditions, status or a string field for a tally, time for
 * a series (one per plan), a non-empty name not used yet. SL_EINVAL with
 * *why set (static text) otherwise, or when the plan is full.
 */
sl_status sl_plan_add(sl_plan *p, const sl_item *it, const char **why);

/* Shorthands of sl_plan_add for one field and an optional condition
 * (NULL: every record). */
sl_status sl_plan_add_top(sl_plan *p, const char *name, sl_field f, const sl_where *w,
			  const char **why);
sl_status sl_plan_add_quantiles(sl_plan *p, const char *name, sl_field f, const sl_where *w,
				const char **why);
sl_status sl_plan_add_distinct(sl_plan *p, const char *name, const sl_field *f, uint32_t n,
			       const sl_where *w, const char **why);

/* Sets the condition of p's unique_visitors item (if any) to count 4xx
 * answers or not: the default plan's visitors rule. */
void sl_plan_visitors_4xx(sl_plan *p, bool count_4xx);

/* Checks that format fmt yields every field p uses: SL_OK, or SL_EINVAL
 * with *missing set to the first field it lacks. sl_plan_check_with asks
 * has(ud, field) instead (a parser's schema: sl_parser_has_field). */
sl_status sl_plan_check(const sl_plan *p, sl_format fmt, sl_field *missing);
sl_status sl_plan_check_with(const sl_plan *p, bool (*has)(const void *ud, sl_field f),
			     const void *ud, sl_field *missing);

/* The index of the item named name, or -1. */
int sl_plan_find(const sl_plan *p, const char *name);

/* Do a and b compute the same thing (items, conditions, names, exact)? */
bool sl_plan_equal(const sl_plan *a, const sl_plan *b);

/*
 * Parses a filter expression ("status>=500", "method in GET,HEAD",
 * "path^=/api/", "user_agent~(?i)bot", "not status=404", "bytes>1M") into
 * *f: the field name, the operator, the value (quotes around it, ' or ",
 * are removed). SL_EINVAL with *err_pos (the byte offset where it goes
 * wrong) and *why: an unknown field or operator, a comparison of a string
 * field with < or >, a number that does not parse, a value too long.
 */
sl_status sl_filter_parse(const char *expr, sl_filter *f, size_t *err_pos, const char **why);
/* Appends filter f (as sl_filter_parse leaves it) to p; SL_EINVAL when p
 * holds SL_FILTER_MAX already. A pattern is checked when a report is made
 * (sl_report_new_plan: SL_EINVAL for one PCRE2 refuses). */
sl_status sl_plan_add_filter(sl_plan *p, const sl_filter *f, const char **why);
/* The filter as text ("status >= 500"), into out (n bytes); returns out.
 * A value sl_filter_parse would read back as another (a leading space, or
 * wrapped in quotes, or in parentheses after in) is written in single
 * quotes, so the text parses back into the same filter. */
const char *sl_filter_describe(const sl_filter *f, char *out, size_t n);

/* Writes a one-line description of item i ("top(path) where status in
 * [404, 405)") into out (at most n bytes with the NUL); returns out. */
const char *sl_plan_describe(const sl_plan *p, uint32_t i, char *out, size_t n);

/* ------------------------------------------------------------------------ */
/* Reports (lib/report/report.c)                                          */
/* ------------------------------------------------------------------------ */

#define SL_SAMPLES_MAX 5
#define SL_SAMPLE_TEXT 200

/* A malformed line kept for the report. */
typedef struct {
	uint32_t input;		 /* caller's input id (sl_report_begin_input) */
	uint64_t line;		 /* 1-based line number in that input */
	const char *why;	 /* static reason */
	uint32_t len;		 /* bytes in text (line truncated to fit) */
	bool truncated;
	/* the format the whole line looks like (sl_format_guess), SL_FMT_AUTO
	 * if none; taken when the sample is kept, before the text is cut (not
	 * saved in state files: SL_FMT_AUTO after loading) */
	sl_format looks_like;
	char text[SL_SAMPLE_TEXT];
} sl_sample;

/* The default access-log plan's top lists (sl_report_top), by name. */
typedef enum {
	SL_TOP_URL,
	SL_TOP_PATH,
	SL_TOP_IP,
	SL_TOP_REFERRER,
	SL_TOP_USER_AGENT,
	SL_TOP_NOT_FOUND, /* paths answered 404 */
	SL_TOP_COUNT
} sl_top_list;

/* "url", "path", "ip", "referrer", "user_agent", "not_found": the names of
 * these items in the default plan. */
const char *sl_top_name(sl_top_list t);

/*
 * A report: the counters and the plan's sketches over the records fed to
 * it. Opaque: read it through the accessors below.
 */
typedef struct sl_report sl_report;

/* The counters every report has: lines == requests + malformed +
 * oversized + filtered + skipped. */
typedef struct {
	uint64_t lines;		/* every line seen, valid or not */
	uint64_t requests;	/* records counted (lines kept, -f lines) */
	uint64_t malformed;
	uint64_t oversized;	/* lines over SL_LINE_MAX, skipped */
	uint64_t filtered;	/* records the plan's filters or range left out */
	uint64_t skipped;	/* header and comment lines (SL_ESKIP) */
	/* the exact sum of the bytes field (line lengths, -f lines), 128
	 * bits: bytes_high * 2^64 + bytes */
	uint64_t bytes, bytes_high;
	int64_t first_time, last_time; /* valid when requests > 0 */
	/* seconds east of UTC written in the earliest line's time (ties: the
	 * smaller offset), valid when requests > 0 */
	int32_t log_offset;
} sl_report_counts;

void sl_report_get_counts(const sl_report *r, sl_report_counts *c);
sl_format sl_report_format(const sl_report *r);
/* The format's spec (a --log-format string, JSON mappings), "" for none. */
const char *sl_report_format_spec(const sl_report *r);
const sl_plan *sl_report_plan(const sl_report *r);
/* The plan is exact (--exact). */
bool sl_report_is_exact(const sl_report *r);
/* Every distinct count, top list, group table and quantile sketch is
 * still exact (always, under an exact plan): none has degraded. */
bool sl_report_all_exact(const sl_report *r);
/* Count of status code `code` (100..599); 0 without a tally(status). */
uint64_t sl_report_status(const sl_report *r, unsigned code);
/* The malformed-line samples kept (the first SL_SAMPLES_MAX by input and
 * line): *n of them. */
const sl_sample *sl_report_samples(const sl_report *r, uint32_t *n);

/*
 * Item i of the plan (0 .. nitems - 1), by kind; asked of an item of
 * another kind they give nothing (0, NULL, an exact 0). Values are valid
 * while r lives and is not fed or merged into.
 *   distinct   sl_report_item_distinct: the estimate, clamped to the keys
 *              added (one per record that met the condition)
 *   top        sl_report_item_top writes up to n rows, best first, and
 *              returns how many; _top_info: exactness, capacity (0:
 *              unbounded) and total weight
 *   quantiles  the sketch and the moments
 *   tally      the string tally (NULL for status: sl_report_status)
 *   series     per hour, and per minute (NULL once the span reached 6 hours)
 * In an exact report the distinct and top figures are there after
 * sl_report_finish_exact.
 */
sl_estimate sl_report_item_distinct(const sl_report *r, uint32_t i);
size_t sl_report_item_top(const sl_report *r, uint32_t i, sl_topk_row *rows, size_t n);
void sl_report_item_top_info(const sl_report *r, uint32_t i, bool *exact, size_t *capacity,
			     uint64_t *total);
const sl_relq *sl_report_item_quantiles(const sl_report *r, uint32_t i);
const sl_moments *sl_report_item_moments(const sl_report *r, uint32_t i);
const sl_tally *sl_report_item_tally(const sl_report *r, uint32_t i);
const sl_groups *sl_report_item_groups(const sl_report *r, uint32_t i);
const sl_series *sl_report_item_series(const sl_report *r, uint32_t i, bool per_minute);

/* The rows a caller needs to ask any top item for up to top_n: no list
 * holds more than its capacity. */
size_t sl_report_max_rows(const sl_report *r, size_t top_n);

/* The report's share of the budget (sl_report_set_limit). */
size_t sl_report_bytes(const sl_report *r);

/* Raises (or lowers) the bytes report r may hold to max_bytes, e.g. before
 * merging other workers' reports into it once they are freed, so that its
 * exact tables may take what those workers held and the merge stay exact
 * (sl_report_merge keeps dst exact where the union fits). The pool of its
 * exact tables changes by the same amount (clamped to the parent budget's
 * limit); nothing is allocated. Lowering below what is held refuses further
 * growth (tables then degrade) but frees nothing. */
void sl_report_set_limit(sl_report *r, size_t max_bytes);

/* The smallest budget sl_report_new accepts. */
size_t sl_report_min_bytes(void);

/* The HLL precision sl_report_new chooses for max_bytes (at most 14), and
 * the smallest budget a report with precision p needs. */
int sl_report_hll_precision(size_t max_bytes);
size_t sl_report_min_bytes_p(int p);

/*
 * A report for format fmt (not SL_FMT_AUTO) using at most max_bytes of b.
 * SL_FMT_LINES makes the generic line report: line count, distinct lines,
 * top lines and line-length quantiles, every line being a key (sort | uniq
 * -c | sort -rn in bounded memory).
 * The bytes are shared among its sketches; each sketch degrades on its own
 * when its share is full. Returns SL_EBUDGET when max_bytes is below
 * sl_report_min_bytes(), SL_ENOMEM when the budget refuses.
 * *out is owned by the caller (sl_report_free).
 */
sl_status sl_report_new(sl_report **out, sl_budget *b, sl_format fmt,
			size_t max_bytes);
void sl_report_free(sl_report *r);

/* As sl_report_new, with the distinct counters' HLL precision fixed to p.
 * Reports that will be merged (one per worker) should share p, so that the
 * merged registers are the same as one report's: the run picks p once,
 * with sl_report_hll_precision of the whole budget. SL_EBUDGET when
 * max_bytes < sl_report_min_bytes_p(p); SL_EINVAL for p out of range. */
sl_status sl_report_new_p(sl_report **out, sl_budget *b, sl_format fmt,
			  size_t max_bytes, int hll_p);

/*
 * A report whose distinct counts, top lists and quantiles are exact whatever
 * the data size (--exact): their keys go to one exact table (sl_exact) that
 * spills sorted, LZ4-compressed runs to an unnamed temporary file in tmpdir;
 * the quantile sketches keep their raw values and spill them to one
 * external sort (sl_xsort, SL_XSORT_MIN_BYTES of max_bytes kept for it), so
 * after sl_report_finish_exact p50, p90, p99 and p999 (and min, max) are the
 * exact values of rank sl_relq_rank(q, n). The other parts are as in
 * sl_report_new. top_n is the number of rows each list will keep (their
 * bytes are reserved now). For SL_FMT_LINES the one list is the lines (each
 * line its own key), distinct lines are exact, and so are the line lengths'
 * quantiles. Errors as sl_report_new;
 * SL_EBUDGET below sl_report_min_bytes_exact(top_n).
 * After the input: sl_report_finish_exact, then the accessors below.
 * A temporary-file error (a full disk: sl_report_exact_errno() == ENOSPC)
 * stops the exact table; sl_report_exact_status keeps it and finish
 * returns it.
 */
sl_status sl_report_new_exact(sl_report **out, sl_budget *b, sl_format fmt,
			      size_t max_bytes, int hll_p, const char *tmpdir,
			      size_t top_n);
size_t sl_report_min_bytes_exact(size_t top_n);
/* Merges the exact table's runs and computes every list's figures. */
sl_status sl_report_finish_exact(sl_report *r);
/* errno behind an exact_status of SL_EIO (ENOSPC: the disk is full). */
int sl_report_exact_errno(const sl_report *r);
/* Temporary disk: bytes held at peak and written in all (0 if none). */
void sl_report_exact_disk(const sl_report *r, uint64_t *peak, uint64_t *written);

/*
 * The one constructor: a report of plan `plan` over records of format fmt
 * (not SL_FMT_AUTO) with its spec (sl_parser_new; NULL: none: the report's
 * parser for the formats the fast path does not read takes about 32 KiB of
 * its bytes, sl_parser_reserve; a mix of formats, whose first is fmt, reads
 * every line through its parsers), in at most max_bytes of b, its distinct items' HLLs of
 * precision hll_p. An exact plan (plan->exact) spills to tmpdir and keeps
 * top_n rows per top item, as sl_report_new_exact says. SL_EINVAL for a bad
 * argument or a plan over fields the line format lacks (SL_FMT_LINES);
 * SL_EBUDGET below sl_report_plan_min_bytes; SL_ENOMEM.
 * sl_report_new, _new_p and _new_exact make the format's default plan
 * (sl_plan_default, visitors without 4xx).
 */
sl_status sl_report_new_plan(sl_report **out, sl_budget *b, sl_format fmt, const char *format_spec,
			     const sl_plan *plan, size_t max_bytes, int hll_p, const char *tmpdir,
			     size_t top_n);
size_t sl_report_plan_min_bytes(const sl_plan *plan, int hll_p, size_t top_n);
/* What a report of a format read through a parser (not the classic four,
 * not -f lines) needs beyond sl_report_plan_min_bytes. */
#define SL_REPORT_PARSER_BYTES (32 * 1024)
/* The exact table's first error, or SL_OK (SL_OK for a sketch report). */
sl_status sl_report_exact_status(const sl_report *r);

/*
 * The figures of a report, whichever way they were counted (sketches, or
 * exact after sl_report_finish_exact). sl_report_top writes up to n rows of
 * list t (values valid while r lives and is not fed) and returns how many;
 * sl_report_top_info gives the list's exactness, capacity (0: unbounded)
 * and total weight.
 */
sl_estimate sl_report_unique_ips(const sl_report *r);
sl_estimate sl_report_unique_visitors(const sl_report *r);
/* SL_FMT_LINES: the distinct lines. The three distinct figures are clamped
 * (estimate, low and high) to the keys added, known exactly: requests (one
 * client and one visitor per request, one line per line kept). */
sl_estimate sl_report_distinct_lines(const sl_report *r);
size_t sl_report_top(const sl_report *r, sl_top_list t, sl_topk_row *rows, size_t n);
void sl_report_top_info(const sl_report *r, sl_top_list t, bool *exact, size_t *capacity,
			uint64_t *total);
/* The same for the generic line report (SL_FMT_LINES, sketches or exact):
 * distinct lines, the top lines, and their list's exactness, capacity and
 * total. For any other format: an exact 0, no rows, exact with total 0. */
sl_estimate sl_report_distinct_lines(const sl_report *r);
size_t sl_report_top_lines(const sl_report *r, sl_topk_row *rows, size_t n);
void sl_report_top_lines_info(const sl_report *r, bool *exact, size_t *capacity,
			      uint64_t *total);

/* A report over a mix of formats (format_spec a mix, sl_format_spec_is_mix):
 * the lines fed next are read as the mix's unit `unit` (0 at first; out of
 * range: 0). No effect on a report of one format. Call it before
 * sl_report_begin_input / sl_report_set_position of an input. */
void sl_report_select_format(sl_report *r, uint32_t unit);
/* A header line read again (the CSV header, a W3C #Fields line) of an
 * input resumed past it, or read in byte ranges: the report's parser takes
 * it, nothing is counted. Call it after sl_report_set_position of that
 * input. Returns what the parser said of the line: SL_ESKIP when it took it
 * as a header or comment line (a CSV/TSV header row now names the columns),
 * SL_OK or SL_EFORMAT when it would have been a record or a malformed line
 * (the parser is left as that line would leave it), SL_ENOMEM when the
 * parser's scratch could not grow for it; SL_EINVAL, with no
 * effect, for the formats without a parser and a line longer than
 * SL_LINE_MAX. */
sl_status sl_report_read_header(sl_report *r, const char *line, size_t len);
/* Starts a new input: line numbers restart at 1 and samples carry this id. */
void sl_report_begin_input(sl_report *r, uint32_t input_id);

/* Continues input input_id after `lines_before` lines (read elsewhere, for
 * example by another thread): the next line fed is line lines_before + 1. */
void sl_report_set_position(sl_report *r, uint32_t input_id, uint64_t lines_before);

/* The number of the last line fed of the current input (lines_before plus
 * the lines fed since, oversized ones included): where a later run resumes
 * its numbering. */
uint64_t sl_report_position(const sl_report *r);

/* Renames the samples' input ids: a sample of input i becomes one of input
 * map[i] (ids >= n are left alone). For a run that reorders its inputs. */
void sl_report_remap_inputs(sl_report *r, const uint32_t *map, uint32_t n);

/* Adds delta to the line numbers of the samples taken from input input_id:
 * for a worker that read a byte range of an input, once the lines before
 * its range are known. */
void sl_report_renumber(sl_report *r, uint32_t input_id, uint64_t delta);

/* Gives the samples of input `from` the id `to` (with sl_report_renumber, for
 * a worker that read several pieces of one input under stand-in ids, in the
 * input's order). */
void sl_report_rename_input(sl_report *r, uint32_t from, uint32_t to);

/*
 * Feeds complete lines: buf holds zero or more lines, each ending in '\n';
 * only the last may lack it (end of input). Lines over SL_LINE_MAX bytes are
 * counted as oversized and skipped.
 */
void sl_report_feed(sl_report *r, const char *buf, size_t len);

/* Counts n lines the caller skipped as oversized (longer than its buffer). */
void sl_report_add_oversized(sl_report *r, uint64_t n);

/* dst := merge(dst, src). Both must have the same format and plan (else
 * SL_EMISMATCH, nothing changed); src is only read. Exact reports merge
 * only with sl_report_merge_free, which may move src's tables (SL_EINVAL
 * here). Samples keep the first SL_SAMPLES_MAX of both by (input, line):
 * when each side holds its own first samples in line order, these are the
 * first of the union. */
sl_status sl_report_merge(sl_report *dst, const sl_report *src);

/*
 * As sl_report_merge, then frees src; its exact tables are freed as each
 * is merged (the top lists first, then the distinct sets), so that what
 * src held is the budget's again while dst grows: worker reports whose
 * union fits the budget, though not beside both parts, merge exact. src is
 * invalid afterwards on SL_OK; on an error it is as sl_report_merge leaves
 * it (SL_EMISMATCH: untouched) and still the caller's.
 */
sl_status sl_report_merge_free(sl_report *dst, sl_report *src);

/* ------------------------------------------------------------------------ */
/* Output files (lib/io/outfile.c)                                              */
/* ------------------------------------------------------------------------ */

/*
 * Replacing a file without destroying anything else: what every file sluice
 * writes (states, `dedup -o`, `sort -o`) goes through this module.
 *
 * The path is resolved first: a symbolic link is followed (up to 40 hops,
 * relative links from their own directory) to its final target, which is
 * what gets replaced; the link stays a link. The final target must be a
 * regular file or missing (a dangling link then creates its target).
 * Anything else is refused with SL_ENOTREG, before any byte is written:
 * directories, character and block devices, FIFOs and sockets (with
 * SL_OUTFILE_THROUGH, FIFOs and character devices are written through
 * instead: opened as they are, never created, truncated or replaced).
 *
 * The new contents go to a temporary file in the target's directory:
 * unnamed (O_TMPFILE) where the file system allows it, so that a process
 * killed while writing leaves nothing; else, and for the instant between
 * linking and renaming, named ".NAME.sluice-tmp.PID.XXXXXX". Opening an
 * outfile removes such temporaries of the same NAME whose PID is no longer
 * a running process (left by a SIGKILL or a crash). Commit fsyncs the file,
 * gives it the old target's mode (and owner and group where permitted), or
 * new_mode less the umask for a new file, renames it over the target and
 * fsyncs the directory: at any moment the target is the old file or the new
 * one, whole. A hard-linked target is replaced for this name only.
 *
 * Signals: sl_outfile_signal_cleanup() removes the named temporaries of
 * every outfile of this process that is not yet committed; it is
 * async-signal-safe, for a program's SIGINT/SIGTERM handler, which then
 * re-raises the signal. (Up to 16 outfiles at once are covered.)
 *
 * Order: open -> (write | the fd)* -> commit or abort. Exactly one of
 * commit and abort after a successful open; abort is also a harmless no-op
 * after a failed open, a commit, or another abort, so cleanup code may call
 * it unconditionally. Memory: none from a budget; the struct lives where the
 * caller puts it (a few hundred bytes) and the calls use a few KiB of stack.
 */
enum {
	SL_OUTFILE_THROUGH = 1,	/* write FIFOs and character devices in place */
	SL_OUTFILE_NAMED = 2	/* no O_TMPFILE: a named temporary from the start
				 * (what a file system without O_TMPFILE gets;
				 * tests use it to reach that path) */
};

typedef struct {
	/* private */
	int fd;			/* the temporary file (or the target written through) */
	int dirfd;		/* the target's directory */
	int slot;		/* signal-cleanup slot, or -1 */
	int flags;
	bool through;		/* fd is the target itself */
	bool exists;		/* the target exists (a regular file) */
	bool named;		/* tmp names a file in dirfd */
	uint32_t mode, uid, gid; /* the existing target's */
	char name[256];		/* the target's name in dirfd */
	char tmp[256];		/* the temporary's name in dirfd */
} sl_outfile;

/*
 * Resolves path as sl_outfile_open does and checks that it could be
 * written, creating nothing: for a program to refuse a bad output path
 * before it reads any input. Returns SL_OK; SL_ENOTREG when the target is
 * not a regular file (*why says what it is: "is a directory", "is a named
 * pipe (FIFO)", ...); SL_EIO with *err = errno when the path cannot be
 * resolved (ENOENT: a missing directory, ELOOP, ENAMETOOLONG, EACCES).
 * *why is a static string; *err is 0 unless SL_EIO.
 */
sl_status sl_outfile_check(const char *path, int flags, int *err, const char **why);

/*
 * Opens an output for path: resolves it, removes stale temporaries of the
 * same target, and creates the temporary file (mode new_mode, e.g. 0666,
 * less the umask, for a target that does not exist yet). Errors as
 * sl_outfile_check, plus SL_EIO when the temporary cannot be created
 * (EACCES for a read-only directory, ENOSPC, EROFS...). On failure nothing
 * is left open or created and f may be passed to sl_outfile_abort.
 */
sl_status sl_outfile_open(sl_outfile *f, const char *path, uint32_t new_mode, int flags, int *err,
			  const char **why);

/* The descriptor to write the contents to (write(2), or pwrite(2): it is a
 * regular file unless written through). Owned by f. */
int sl_outfile_fd(const sl_outfile *f);

/* Writes all of p[0 .. n-1] at the descriptor's offset, retrying short
 * writes and EINTR. SL_EIO with *err = errno. */
sl_status sl_outfile_write(sl_outfile *f, const void *p, size_t n, int *err);

/*
 * Makes the contents the target's (see the section comment) and closes
 * everything. SL_EIO with *err = errno and *why naming the step ("fsync",
 * "rename", ...) when it fails; the target is then untouched and no
 * temporary remains. f is closed either way.
 */
sl_status sl_outfile_commit(sl_outfile *f, int *err, const char **why);

/* Abandons the new contents: removes the temporary and closes everything;
 * the target is untouched. */
void sl_outfile_abort(sl_outfile *f);

/* Async-signal-safe: unlinks the named temporary of every outfile of this
 * process not yet committed or aborted. For a signal handler only: the
 * outfiles must not be used afterwards. */
void sl_outfile_signal_cleanup(void);

/* ------------------------------------------------------------------------ */
/* State files (lib/report/state.c)                                                 */
/* ------------------------------------------------------------------------ */

/*
 * A state file holds everything a report needs: every counter, table and
 * sketch of an sl_report, its format, the run's memory budget and peak, and
 * one entry per input. It is binary and versioned: a magic string, a format
 * version and a table of checksummed sections (XXH3-64), all integers
 * little-endian. The byte layout is in docs/state-format.md.
 *
 * Decoding trusts nothing: every length is checked against the bytes left
 * and against the budget before anything is allocated, every sketch is
 * validated (HLL registers, KLL level order and weights, top-list counts and
 * sizes, series ranges) and the figures must agree with each other (lines =
 * requests + malformed + oversized, the status codes and the series sum to
 * requests, peak <= budget, no exact distinct count or top row above what
 * was added, ...: docs/state-format.md lists every rule), so that a file
 * forged with valid checksums cannot make a report print the impossible.
 * A rejected file gives SL_ECORRUPT (or SL_ENOMEM / SL_EBUDGET when it
 * needs more memory than the budget allows) and *why, a static string naming
 * the problem. The caller names the file.
 *
 * Sizes: a decoded report is created by sl_report_new_p with the HLL
 * precision the state records and the larger of the report bytes it records
 * and the caller's report_bytes (0: use the recorded size). With the
 * recorded size every sketch comes back exactly as it was saved (a later
 * feed or merge gives what it would have given on the saved report); with a
 * larger one each sketch is merged into the larger empty sketch by its
 * module's merge (top lists take the larger capacity, KLL the new k).
 *
 * Order: (decode | load) -> merge* -> (encode | save) -> free.
 */
#define SL_STATE_MAGIC "SLUICEST"
#define SL_STATE_MAGIC_LEN 8
#define SL_STATE_VERSION 4	/* written (it records its plan); versions 1 (no
				 * input line counts), 2 (64-bit bytes_sent, one-byte
				 * HLL registers, KLL quantiles) and 3 (the fixed
				 * access-log or line plan) are still read */
/* Bytes at the start of each input covered by head_hash. */
#define SL_STATE_HEAD_BYTES 4096

/* One input of the run a state describes. */
typedef struct {
	const char *path;	/* NUL-terminated; never NULL */
	const char *error;	/* NULL, or why it could not be (fully) read */
	uint64_t dev, ino;	/* st_dev and st_ino; 0 when not a file */
	uint64_t size;		/* size when read (0 if unknown) */
	uint64_t consumed;	/* content bytes read from it (decompressed) */
	uint64_t lines;		/* lines in those bytes (0 when read from a version-1
				 * state, which did not record them) */
	uint64_t head_hash;	/* sl_hash of its first head_len bytes */
	uint32_t head_len;	/* min(size, SL_STATE_HEAD_BYTES) */
} sl_state_input;

/* A decoded state. Fields are read-only to users. */
typedef struct sl_state sl_state;
struct sl_state {
	sl_report *report;	/* owned by the state */
	uint64_t budget;	/* memory budget of the run that wrote it */
	uint64_t peak;		/* its peak use */
	size_t ninputs;
	sl_state_input *inputs; /* owned, strings included */

	/* private */
	sl_budget *mem;
	char *strings;		/* paths and errors of inputs[] */
	size_t strings_len;
	char why[SL_SAMPLES_MAX][96]; /* the samples' reasons */
};

/* True when p[0 .. n-1] starts with the state magic (n >= 8). */
bool sl_state_is_state(const void *p, size_t n);

/*
 * Encodes report r, the inputs, the run's budget and peak into a new buffer
 * from b: *out (owned by the caller; free with sl_free(b, *out, *len)).
 * The buffer is sized exactly by a first counting pass, so it takes no more
 * than the state's length. SL_ENOMEM if b refuses it; SL_EINVAL if a
 * sample's input id is not below ninputs.
 */
sl_status sl_state_encode(sl_budget *b, const sl_report *r, const sl_state_input *inputs,
			  size_t ninputs, uint64_t budget, uint64_t peak, void **out,
			  size_t *len);

/*
 * Decodes the state in buf[0 .. len-1] into a new *out (owned by the caller:
 * sl_state_free), all of its memory from b. report_bytes: see the section
 * comment. On failure *out is NULL, nothing stays allocated and *why names
 * the problem: SL_ECORRUPT for bytes that are not a valid state (wrong magic,
 * unknown version, truncation, checksum mismatch, impossible values),
 * SL_ENOMEM when it needs more than b has left. A recorded report size
 * below this build's minimum (a state from a build with smaller structures)
 * is raised to the minimum. buf is not kept.
 */
sl_status sl_state_decode(sl_state **out, sl_budget *b, const void *buf, size_t len,
			  size_t report_bytes, const char **why);

/*
 * Reads the file at path and decodes it as sl_state_decode does, a section
 * at a time (pread into one buffer from b, as large as the largest section,
 * freed before returning), so that loading holds the report and one section,
 * not the whole file. SL_EIO with *err = errno when the file cannot be read;
 * SL_ECORRUPT when it shrinks while it is read.
 */
sl_status sl_state_load(sl_state **out, sl_budget *b, const char *path, size_t report_bytes,
			int *err, const char **why);

/*
 * Writes the state of r (as sl_state_encode would encode it, byte for byte)
 * to fd, which must be a regular file open for writing: the sections at
 * their offsets, then the header at offset 0 (pwrite; the file offset is
 * not used). The encoder streams through a 4 KiB buffer on the stack and
 * hashes as it goes: no budget memory at all, so a run can always save what
 * it holds. SL_EIO with *err = errno; SL_EINVAL as sl_state_encode.
 */
sl_status sl_state_write(int fd, const sl_report *r, const sl_state_input *inputs, size_t ninputs,
			 uint64_t budget, uint64_t peak, int *err);

/*
 * Writes the state to path through an sl_outfile (see "Output files"): a
 * symbolic link is followed to its target, anything but a regular file or
 * a missing path is refused (SL_ENOTREG), an existing file keeps its mode,
 * a new one is made mode 0600 (less the umask). The bytes go to a
 * temporary beside the target (unnamed where possible), are fsynced and
 * renamed over it, and the directory is fsynced: a crash or a kill at any
 * moment leaves the old file or the new one, whole, and a temporary left by
 * a killed writer is removed by the next save to the same path. b is not
 * used (kept for compatibility): saving takes no budget memory.
 * SL_EIO with *err = errno; SL_EINVAL as sl_state_encode.
 */
sl_status sl_state_save(const char *path, sl_budget *b, const sl_report *r,
			const sl_state_input *inputs, size_t ninputs, uint64_t budget,
			uint64_t peak, int *err);

/*
 * dst := merge(dst, src): the reports merge by sl_report_merge (so dst keeps
 * its sizes: HLLs fold to the smaller precision, top lists keep dst's
 * capacity, KLLs dst's k), src's inputs are appended to dst's (sample input
 * ids follow), dst takes the larger budget and the larger peak (the peak
 * then stays within the budget, which decoding requires).
 * SL_EMISMATCH (*why set) when the formats differ, SL_ENOMEM when the
 * inputs do not fit b; dst is then unchanged.
 */
sl_status sl_state_merge(sl_state *dst, const sl_state *src, const char **why);

void sl_state_free(sl_state *s);

/* ------------------------------------------------------------------------ */
/* Engine: a whole run (lib/engine/engine.c)                                        */
/* ------------------------------------------------------------------------ */

/*
 * One call reads a set of inputs into one report, in a memory budget, with
 * worker threads; lib/engine/engine.c's opening comment gives the budget split, the
 * two ways work is shared and why the result never depends on thread
 * timing. The engine prints nothing: refusals come back as a status and a
 * message (sl_engine_error), notes through a callback, and each input's
 * trouble in its sl_engine_input.
 *
 * Order: sl_engine_run -> (sl_engine_report, _inputs, _facts, _peak, ...)*
 *        -> sl_engine_free. The results live until sl_engine_free.
 */

/* The most worker threads a run takes (jobs above it are lowered to it). */
#define SL_ENGINE_MAX_JOBS 256
/* Inputs of at most this many times the budget are read again by one
 * worker when the workers' tables did not stay exact (sl_engine_run). */
#define SL_ENGINE_AGAIN 4

/* What a note says (see sl_engine_opts.note). */
typedef enum {
	SL_ENGINE_NOTE_SAME_FILE,   /* "A is the same file as B: read once" */
	SL_ENGINE_NOTE_FEWER_JOBS,  /* "--memory N holds K workers, not J" */
	SL_ENGINE_NOTE_INPUT_ERROR, /* "NAME: why", as soon as an input that
				     * failed (in whole or in part) is done;
				     * NAME is "(standard input)" for "-" */
	SL_ENGINE_NOTE_FORMAT,	    /* "format w3c (detected)": -f auto chose a
				     * format other than the classic four */
	SL_ENGINE_NOTE_ONE_WORKER,  /* "w3c logs are read by one worker: ..." */
	SL_ENGINE_NOTE_AGAIN,	    /* "... read again by one worker": see
				     * sl_engine_run */
} sl_engine_note_kind;

typedef struct {
	size_t budget;		/* bytes for everything the run holds (-m) */
	int jobs;		/* workers wanted, clamped to 1 .. SL_ENGINE_MAX_JOBS;
				 * fewer when the budget does not hold them */
	sl_format format;	/* SL_FMT_AUTO: detected from the first lines */
	const char *format_spec; /* the format's spec (sl_parser_new): the
				  * --log-format string, JSON mappings; NULL */
	/* A format per input (NULL: every input is read as format and
	 * format_spec say): npaths formats, and input_specs NULL (each
	 * input's spec is format_spec) or npaths specs (each may be NULL).
	 * When every input has one format and spec, the run is of that
	 * format. Else the inputs are read into one report through a mix
	 * (sl_format_mix_add): its plan is the first input's format's
	 * default, or the caller's plan checked against every format
	 * (SL_EINVAL naming an input); an SL_FMT_AUTO input is detected from
	 * its own head (a stream cannot be: SL_EINVAL), SL_FMT_LINES cannot
	 * be mixed (SL_EINVAL); a header-driven input is read by worker 0
	 * alone, but for a CSV/TSV file read in byte ranges (each range
	 * given its header row); an input of which no line parsed but some
	 * were malformed gets an error naming its format. The formats are copied; the spec
	 * strings, like the paths, must outlive the run's handle. */
	const sl_format *input_formats;
	const char *const *input_specs;
	/* what to compute: NULL for the format's default plan, with exact
	 * and visitors_4xx below; else this plan (copied), whose own exact
	 * flag counts, and whose fields the format must have (SL_EINVAL) */
	const sl_plan *plan;
	/* plan holds what to add to the format's default plan (the CLI's
	 * --top, --distinct, --quantiles, --where, --since, --until): its
	 * items are appended, its filters and range taken, and its fields
	 * checked against the format; exact and visitors_4xx still count */
	bool plan_adds;
	bool exact;		/* exact distinct counts and top lists (spills) */
	const char *tmpdir;	/* where exact tables spill (NULL: /tmp) */
	size_t top_n;		/* rows per top list the caller will ask for */
	bool visitors_4xx;	/* count 4xx responses in the unique visitors */
	const char *state_path; /* NULL, or resume from this state file (a
				 * missing file is a first run): read only what
				 * is new in each input; the caller saves it */
	bool want_facts;	/* build the state facts (--save or --state) */
	/* Optional, called from the calling thread only. progress: bytes of
	 * content read so far and the size of all regular-file inputs (0 if
	 * unknown), now and then while reading. note: one line of text
	 * without a newline; the text is valid during the call only. */
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void (*note)(void *ud, sl_engine_note_kind kind, const char *text);
	void *ud;
	/* Optional: when *cancel becomes non-zero (a signal handler may set
	 * it) reading stops at the next block and the run ends with
	 * SL_ECANCELED, freeing what it held. Only the calling thread reads
	 * it; after it is seen, progress is not called again. */
	const volatile sig_atomic_t *cancel;
} sl_engine_opts;

/* What a run says of one input. */
typedef struct {
	const char *path;    /* as given; "-" is standard input */
	const char *error;   /* NULL, or why it could not be (fully) read */
	uint64_t resumed_at; /* state_path: content bytes an earlier run counted */
	uint64_t bytes_read; /* content bytes read by this run */
	char why[160];	     /* room for an error with numbers in it */
} sl_engine_input;

typedef struct sl_engine sl_engine;

/*
 * Runs the whole job: plans the budget, loads the state, reads paths[0 ..
 * npaths - 1] ("-" is standard input; npaths == 0 reads standard input)
 * and merges the workers' reports into one. With want_facts, two names
 * of one file (same device and inode) are read once, with a note.
 * *out is set whatever the status (NULL only when the handle itself could
 * not be allocated: SL_ENOMEM); free it with sl_engine_free. The path
 * strings must outlive *out (the pointers are copied, the strings are not).
 * The handle and its copy of the path pointers are the only memory outside
 * opts->budget.
 * Exact at every job count: workers hold their own tables, so keys seen by
 * several of them are held several times, and a table that one worker
 * would have kept exact may degrade in a share. When that happened (some
 * distinct count, top list, group table or quantile sketch is not exact)
 * on inputs that can be read again (regular files, no state_path, nothing
 * failed) whose content is at most SL_ENGINE_AGAIN times the budget, the
 * run is made again by one worker, after a note (SL_ENGINE_NOTE_AGAIN; the
 * second pass notes nothing else), and that is the run returned. The
 * decision depends on the input and options only: below that size every
 * -j gives the one-worker answer.
 * Returns:
 *   SL_OK        a report, or none when every input failed: see
 *                sl_engine_report; inputs that failed say why in .error
 *   SL_EBUDGET   the budget cannot hold the run (more than the machine's
 *                memory, below the minimum, a state too large for it)
 *   SL_EINVAL    options that do not go together (exact with state files)
 *   SL_EMISMATCH the state holds another format or visitors rule, or the
 *                inputs look like another format than the state's
 *   SL_ECORRUPT  the state file is not a valid state
 *   SL_EIO       the state file or a temporary file could not be used
 *   SL_ENOMEM    the budget ran out for the run's own bookkeeping
 *   SL_ECANCELED *opts->cancel was set
 * sl_engine_error gives the message for any status but SL_OK.
 */
sl_status sl_engine_run(sl_engine **out, const sl_engine_opts *opts, const char *const *paths,
			size_t npaths);

/* The message of a failed run, one line without a newline ("" after SL_OK);
 * owned by e. */
const char *sl_engine_error(const sl_engine *e);

/* The merged report (owned by e), or NULL when the run failed or no input
 * could be read at all. */
sl_report *sl_engine_report(const sl_engine *e);

/* The inputs the report speaks of, owned by e: this run's (after names of a
 * file already given were dropped), then a loaded state's inputs that this
 * run did not see. Sample input ids index this array. */
const sl_engine_input *sl_engine_inputs(const sl_engine *e, size_t *n, size_t *this_run);

/* With want_facts: what a state file records of the same inputs (identity,
 * content consumed, lines), for sl_state_save; NULL otherwise. Owned by e. */
const sl_state_input *sl_engine_facts(const sl_engine *e, size_t *n);

/* The workers the run used. */
int sl_engine_jobs(const sl_engine *e);

/* The format the run was told or found in the state; SL_FMT_AUTO when it
 * was detected from the data. */
sl_format sl_engine_format(const sl_engine *e);

/* The run's budget, for what the caller allocates to render the report
 * (rows of top lists): the run left room for top_n rows. */
sl_budget *sl_engine_budget(sl_engine *e);

/* The memory peak the report states: the sum of every part's own peak (the
 * engine's, the decoders', the state's, each worker's, and what the caller
 * took from sl_engine_budget so far), at most the budget. Unlike a single
 * budget's peak it does not depend on how threads interleave. */
size_t sl_engine_peak(const sl_engine *e);

/* Frees everything the run holds, the report included. NULL is a no-op. */
void sl_engine_free(sl_engine *e);

/* ------------------------------------------------------------------------ */
/* External sort (lib/spill/xsort.c)                                               */
/* ------------------------------------------------------------------------ */

/*
 * Sorts records (arbitrary byte strings; lines are passed without their
 * newline) of any total size within max_bytes of memory, spilling sorted runs
 * to one temporary file (LZ4 blocks, through lib/spill/spill.h) and merging them
 * with a binary heap.
 * The order is that of `LC_ALL=C sort` given the same options (see
 * sl_xsort_opts), including its last-resort whole-record comparison.
 *
 * Call order (as SQLite's vdbesort: Init -> Write* -> Rewind -> Next ->
 * Close):
 *     sl_xsort_new -> sl_xsort_add* -> sl_xsort_finish -> sl_xsort_next*
 *     -> sl_xsort_free
 * Any other order returns SL_EINVAL. sl_xsort_free may be called at any
 * point, and removes every temporary byte (the file is unnamed: opened with
 * O_TMPFILE, or with mkstemp and unlinked at once where O_TMPFILE is not
 * supported, so nothing is left behind even if the process is killed).
 *
 * Errors are sticky: after a call fails, every later call except
 * sl_xsort_free returns the same status.
 *   SL_EBUDGET  max_bytes < SL_XSORT_MIN_BYTES (from sl_xsort_new)
 *   SL_ENOMEM   the budget refused memory
 *   SL_EINVAL   bad options, wrong call order, or a record longer than
 *               SL_XSORT_MAX_RECORD
 *   SL_EIO      a temporary-file operation failed; sl_xsort_errno() gives
 *               errno (ENOSPC when the temporary directory is full)
 *   SL_ECORRUPT a temporary file read back wrong (truncated or altered)
 *
 * Memory: everything is allocated from the budget, and within max_bytes,
 * except for records longer than the merge chunk (16 KiB at 1 MiB): such a
 * record is held whole while it is merged (and copied once more with
 * `unique`), and those bytes are taken from the budget beyond max_bytes, as
 * GNU sort grows its buffer for long lines.
 */
#define SL_XSORT_MIN_BYTES (256 * 1024)
#define SL_XSORT_MAX_RECORD ((size_t)0x7fffffff)
#define SL_XSORT_BLANKS (-1)	/* sl_xsort_opts.separator: GNU blank fields */

typedef struct sl_xsort sl_xsort;

/* A custom key comparison: <0, 0, >0 like memcmp. It replaces the field /
 * numeric key comparison; reverse, unique, stable and the last resort still
 * apply on top of it. Must be a total preorder and must not keep a or b. */
typedef int (*sl_xsort_cmp_fn)(void *ud, const char *a, size_t alen,
			       const char *b, size_t blen);

/* Options; zero them for a plain bytewise sort of whole records. */
typedef struct {
	/* Key, as GNU `sort -k N` (no end field): from the start of field N
	 * (1-based) to the end of the record; 0 = the whole record. Fields
	 * are separated by `separator`, or with SL_XSORT_BLANKS by the empty
	 * string between a non-blank and a blank (blanks: space, tab,
	 * newline), leading blanks belonging to the field. Set separator to
	 * SL_XSORT_BLANKS explicitly: 0 means the NUL byte. */
	uint32_t key_field;
	int separator;
	bool numeric;	/* -n: [blanks][-]digits[.digits], else 0 */
	bool reverse;	/* -r: reverses keys and the last resort */
	bool unique;	/* -u: keep the first (input order) of equal keys */
	bool stable;	/* -s: equal keys keep input order; no last resort */
	sl_xsort_cmp_fn cmp;	/* optional; see above */
	void *cmp_ud;
	/* Tuning and tests; 0 = derived from max_bytes. run_bytes caps the
	 * in-memory run buffer, fan_in (>= 2) the number of runs merged at
	 * once. */
	size_t run_bytes;
	uint32_t fan_in;
} sl_xsort_opts;

/* Temporary-disk accounting, for reports. */
typedef struct {
	uint64_t records;	/* added */
	uint64_t runs;		/* runs written, by run formation */
	uint64_t merges;	/* intermediate merges (not the final one) */
	uint64_t temp_written;	/* bytes written to the temporary file */
	uint64_t temp_read;	/* bytes read back */
	uint64_t temp_peak;	/* most temporary bytes held at once */
	uint32_t fan_in;	/* runs merged at once */
	size_t run_bytes;	/* in-memory run buffer */
} sl_xsort_stats;

/*
 * A sorter using at most max_bytes of b (see Memory above), writing its
 * temporary file in tmpdir (not NULL; the library reads no environment).
 * opts is copied; NULL means all zero except separator = SL_XSORT_BLANKS.
 * Nothing is created on disk until a run must be spilled.
 * On success *out is owned by the caller (sl_xsort_free); on failure *out is
 * NULL and nothing is held.
 */
sl_status sl_xsort_new(sl_xsort **out, sl_budget *b, size_t max_bytes,
		       const sl_xsort_opts *opts, const char *tmpdir);

/* Adds a record (copied; rec may be reused after the call). May write a run
 * to disk (SL_EIO / SL_ENOMEM). len <= SL_XSORT_MAX_RECORD. */
sl_status sl_xsort_add(sl_xsort *xs, const char *rec, size_t len);

/* Ends input: sorts what is in memory, or spills it and merges runs until
 * at most fan_in remain for the final merge done by sl_xsort_next. */
sl_status sl_xsort_finish(sl_xsort *xs);

/*
 * The next record in order: SL_OK with *rec and *len set, or SL_OK with
 * *rec == NULL and *len == 0 at the end. *rec points into the sorter and is
 * valid until the next call to sl_xsort_next or sl_xsort_free.
 */
sl_status sl_xsort_next(sl_xsort *xs, const char **rec, size_t *len);

/* errno of the failed temporary-file operation behind SL_EIO, else 0. */
int sl_xsort_errno(const sl_xsort *xs);
void sl_xsort_stats_get(const sl_xsort *xs, sl_xsort_stats *st);
/* Frees everything; the temporary file goes with its descriptor. */
void sl_xsort_free(sl_xsort *xs);

/* ------------------------------------------------------------------------ */
/* Dedup (lib/spill/dedup.c, lib/sketch/bloom.c)                                          */
/* ------------------------------------------------------------------------ */

/*
 * Bloom filter (Bloom 1970) of m bits and k probes per key, the probes drawn
 * from one XXH3-128 of the key by enhanced double hashing (Kirsch &
 * Mitzenmacher 2006). Never a false negative. Every add is also a check, and
 * the filter sums, over its adds, the probability that the check would have
 * been a false positive had the key been absent: (bits_set / m)^k at that
 * moment, with bits_set counted exactly as bits flip.
 *
 * Memory: sl_bloom_bytes(m), allocated at creation; adds never fail.
 */
#define SL_BLOOM_MAX_BITS ((uint64_t)1 << 32)
#define SL_BLOOM_MAX_K 32

typedef struct sl_bloom sl_bloom;

/* round(-log2(rate)) clamped to [1, SL_BLOOM_MAX_K]: the best k for a
 * filter at its design fill of one half, where the rate is 2^-k. 0 when rate
 * is not in (0, 1). */
uint32_t sl_bloom_k_for_rate(double rate);
/* The most bits a filter can have within max_bytes (its struct included): a
 * multiple of 64, at most SL_BLOOM_MAX_BITS; 0 if max_bytes is too small. */
uint64_t sl_bloom_bits_for_bytes(size_t max_bytes);
/* Bytes sl_bloom_new(b, m, k) takes from its budget. */
size_t sl_bloom_bytes(uint64_t m);
/* Distinct keys a filter of m bits and k probes takes before its expected
 * per-check rate passes rate: n = -(m / k) ln(1 - rate^(1/k)). */
double sl_bloom_capacity(uint64_t m, uint32_t k, double rate);

/* An empty filter; m a multiple of 64 in [64, SL_BLOOM_MAX_BITS], k in
 * [1, SL_BLOOM_MAX_K]. NULL on bad arguments or SL_ENOMEM. Owned by the
 * caller. */
sl_bloom *sl_bloom_new(sl_budget *b, uint64_t m, uint32_t k);
void sl_bloom_free(sl_bloom *f);
/* Checks then inserts key: true when all k bits were already set (the key
 * may have been added before), false when it certainly was not. Adds this
 * check's false-positive probability to sl_bloom_fp_expected. */
bool sl_bloom_add(sl_bloom *f, const void *key, size_t len);
/* Checks without inserting or counting. */
bool sl_bloom_contains(const sl_bloom *f, const void *key, size_t len);
uint64_t sl_bloom_bits(const sl_bloom *f);	/* m */
uint32_t sl_bloom_k(const sl_bloom *f);
uint64_t sl_bloom_bits_set(const sl_bloom *f);
uint64_t sl_bloom_adds(const sl_bloom *f);
/* (bits_set / m)^k now: the chance that an absent key checks present. */
double sl_bloom_fp_rate(const sl_bloom *f);
/* Of the adds of keys never added before, some wrongly returned true (false
 * positives); call their number W. With p the rate at each add:
 * sl_bloom_fp_expected is the sum of p over all adds, an upper bound on
 * E[W]; sl_bloom_fp_estimate is the sum of p / (1 - p) over the adds that
 * returned false, an unbiased estimate of E[W] that stays close when most
 * adds are repeats. */
double sl_bloom_fp_expected(const sl_bloom *f);
double sl_bloom_fp_estimate(const sl_bloom *f);
/* A bound c with P(W > c) <= delta: the smaller of a Chernoff bound on
 * fp_expected and a Freedman (martingale Bernstein) bound on fp_estimate,
 * each at delta / 2 (the formulas are in lib/sketch/bloom.c). UINT64_MAX for delta
 * outside (0, 1). */
uint64_t sl_bloom_fp_bound(const sl_bloom *f, double delta);
/*
 * The smallest c such that a sum S of independent Bernoulli trials whose
 * total mean is at most mu has P(S > c) <= delta, by the Chernoff bound
 * P(S >= t) <= e^-mu (e mu / t)^t (t > mu). 0 for mu <= 0; UINT64_MAX for
 * delta outside (0, 1).
 */
uint64_t sl_bloom_chernoff_bound(double mu, double delta);

/*
 * Dedup: passes the first line of each key, in input order, as
 * `awk '!seen[$0]++'` does (or `!seen[$N]++` with a key field), in at most
 * max_bytes of memory.
 *
 * Exact mode (approx_rate 0): the keys seen are kept in an in-memory set
 * and each first occurrence is passed at once. When the set would outgrow
 * its share of max_bytes it stops growing and the dedup spills: every later
 * line whose key is not in the set goes to an external sort (sl_xsort,
 * temporary files in tmpdir), which keeps the first line of each key; the
 * survivors are then sorted back into input order and given by
 * sl_dedup_next after sl_dedup_finish. So the lines passed by sl_dedup_add
 * followed by those from sl_dedup_next are exactly awk's output, in order.
 *
 * Approximate mode (approx_rate in (0, 1)): a Bloom filter filling max_bytes,
 * k = sl_bloom_k_for_rate(approx_rate); memory only, nothing deferred. A
 * new key is wrongly dropped with probability (fill)^k at that moment; the
 * stats give an estimate of the number of wrongly dropped lines and a 95%
 * bound (sl_bloom_fp_estimate, sl_bloom_fp_bound).
 *
 * Call order: sl_dedup_new -> sl_dedup_add* -> sl_dedup_finish ->
 * sl_dedup_next* (until *line == NULL) -> sl_dedup_free. Any other order is
 * SL_EINVAL. Errors are sticky, as with sl_xsort:
 *   SL_EBUDGET  max_bytes below SL_DEDUP_MIN_BYTES (exact) or
 *               SL_DEDUP_APPROX_MIN_BYTES (approximate)
 *   SL_ENOMEM   the budget refused memory
 *   SL_EINVAL   bad options, wrong call order, tmpdir NULL in exact mode,
 *               or a line longer than SL_DEDUP_MAX_LINE in exact mode
 *   SL_EIO      a temporary-file operation failed: sl_dedup_errno() gives
 *               errno (ENOSPC when the temporary directory is full)
 *   SL_ECORRUPT a temporary file read back wrong
 *
 * Memory: within max_bytes, except that a spilled line longer than the
 * sorter's merge chunk is held whole, beyond max_bytes (see sl_xsort), and a
 * copy buffer grows to the longest spilled line.
 */
#define SL_DEDUP_BLANKS (-1)	/* sl_dedup_opts.separator: awk's default */
#define SL_DEDUP_MIN_BYTES (2 * SL_XSORT_MIN_BYTES + 32 * 1024)
#define SL_DEDUP_APPROX_MIN_BYTES 1024
#define SL_DEDUP_MAX_LINE (SL_XSORT_MAX_RECORD - 16)

typedef struct sl_dedup sl_dedup;

typedef struct {
	/* 0: the key is the whole line. N >= 1: field N, fields being
	 * separated as awk's default FS does (runs of spaces and tabs,
	 * leading and trailing ones ignored) when separator is
	 * SL_DEDUP_BLANKS, else by each occurrence of the byte separator
	 * (awk -F C). A line with fewer than N fields has the empty key. */
	uint32_t key_field;
	int separator;
	double approx_rate;	/* 0: exact; in (0, 1): Bloom filter */
} sl_dedup_opts;

typedef struct {
	uint64_t lines;		/* added */
	uint64_t printed;	/* passed so far (by add and next) */
	uint64_t dropped;	/* lines - printed once next has ended */
	/* exact mode */
	uint64_t held_keys;	/* keys in the in-memory set */
	bool spilled;
	uint64_t spilled_lines;	/* lines given to the external sort */
	uint64_t temp_written;	/* temporary bytes written */
	uint64_t temp_peak;	/* at most this many held at once */
	/* approximate mode */
	uint64_t bloom_bits;
	uint32_t bloom_k;
	uint64_t bloom_bits_set;
	double fp_rate;		/* per-check rate now, (fill)^k */
	double fp_estimate;	/* estimated expected wrongly dropped lines */
	uint64_t fp_bound;	/* at most this many, with 95% (<= dropped) */
	bool over_rate;		/* fp_rate > approx_rate: filter too small */
} sl_dedup_stats;

/* A dedup using at most max_bytes of b (see Memory above), temporary files
 * in tmpdir (exact mode; may be NULL in approximate mode; copied). opts NULL
 * means exact, whole lines. On success *out is owned by the caller
 * (sl_dedup_free); on failure *out is NULL and nothing is held. */
sl_status sl_dedup_new(sl_dedup **out, sl_budget *b, size_t max_bytes,
		       const sl_dedup_opts *opts, const char *tmpdir);

/* Adds one line (without its newline). *print is set true when the caller
 * should output the line now (its key is new), false when it is a duplicate
 * or, after a spill, deferred to sl_dedup_next. */
sl_status sl_dedup_add(sl_dedup *d, const char *line, size_t len, bool *print);

/* Ends input; after a spill this runs both external sorts. */
sl_status sl_dedup_finish(sl_dedup *d);

/* The next deferred line, in input order: SL_OK with *line and *len, or
 * SL_OK with *line == NULL at the end. *line is valid until the next call. */
sl_status sl_dedup_next(sl_dedup *d, const char **line, size_t *len);

/* errno behind SL_EIO, else 0. */
int sl_dedup_errno(const sl_dedup *d);
void sl_dedup_stats_get(const sl_dedup *d, sl_dedup_stats *st);
/* Frees everything, temporary files included. */
void sl_dedup_free(sl_dedup *d);

/* ------------------------------------------------------------------------ */
/* Exact key counts (lib/sketch/exact.c)                                            */
/* ------------------------------------------------------------------------ */

/*
 * An exact multiset of byte-string keys (key -> total weight) of any size in
 * max_bytes of memory: distinct count, total and the top n keys by count,
 * all exact. Repeats are absorbed by an in-memory hash table; when it is
 * full it is written, sorted by key and LZ4-compressed, as a run of
 * (key, count) records to one unnamed temporary file in tmpdir, and the
 * runs are merged (k-way, summing equal keys) as they accumulate and at the
 * end. An instance that never fills its table never touches the disk.
 *
 * Call order:
 *     sl_exact_new -> (sl_exact_add | sl_exact_addw | sl_exact_merge)*
 *     -> sl_exact_finish -> (sl_exact_distinct | _total | _top)*
 *     -> sl_exact_free
 * Any other order returns SL_EINVAL. sl_exact_free may be called at any
 * point and removes every temporary byte (the file has no name: O_TMPFILE,
 * or mkstemp + unlink at once where O_TMPFILE is unsupported, so nothing is
 * left behind even after SIGKILL).
 *
 * Errors are sticky: after a call fails with SL_EIO, SL_ENOMEM, SL_EBUDGET
 * or SL_ECORRUPT, every later call except sl_exact_free returns the same
 * status and no figure is given (the accessors return 0).
 *   SL_EBUDGET  max_bytes < SL_EXACT_MIN_BYTES (new), or finish cannot fit
 *               top_n rows plus one merge reader in max_bytes
 *   SL_ENOMEM   the budget refused memory
 *   SL_EINVAL   wrong call order, NULL tmpdir, a key over SL_EXACT_KEY_MAX
 *               (these leave the object unchanged and are not sticky)
 *   SL_EIO      a temporary-file operation failed; sl_exact_errno() gives
 *               errno (ENOSPC when the temporary directory is full)
 *   SL_ECORRUPT the temporary file read back wrong
 *
 * Memory: everything is taken at creation, within max_bytes: the object,
 * the LZ4 state (16 KiB), one write block and its compressed copy (B and
 * LZ4_COMPRESSBOUND(B), B = max_bytes / 64 clamped to [2 KiB, 16 KiB]), the
 * run table, and the rest as one slab. While adding, the slab is the hash
 * table (slots of 8 bytes at load <= 1/2, and an arena of keys); its split
 * is re-chosen after each spill from the mean key size seen. While merging
 * (the table is then empty) the slab holds the readers, each with a buffer
 * of max(one block and its compressed copy, the longest key added + 20):
 * long keys lower the fan-in of a merge, never the bound. At finish it also
 * holds the top_n rows (each min(SL_TOPK_VALUE_MAX, longest key) bytes +
 * 28). SL_EXACT_MIN_BYTES leaves room for a merge of two runs of keys of
 * SL_EXACT_KEY_MAX bytes.
 */
#define SL_EXACT_MIN_BYTES (160 * 1024)
#define SL_EXACT_KEY_MAX (64 * 1024)

typedef struct sl_exact sl_exact;

/* A new empty multiset using at most max_bytes of b, spilling to tmpdir
 * (copied; not NULL: the library reads no environment). On success *out is
 * owned by the caller (sl_exact_free); on failure *out is NULL and nothing
 * is held. Nothing is created on disk until the table first fills. */
sl_status sl_exact_new(sl_exact **out, sl_budget *b, size_t max_bytes,
		       const char *tmpdir);

/* Adds weight w (0: nothing happens) to key[0 .. len-1], len <=
 * SL_EXACT_KEY_MAX; the key is copied. May spill a run to disk (SL_EIO).
 * sl_exact_add adds weight 1. */
sl_status sl_exact_addw(sl_exact *e, const char *key, size_t len, uint64_t w);
sl_status sl_exact_add(sl_exact *e, const char *key, size_t len);

/* dst := dst + src (both before finish, different objects). src's table is
 * added to dst's, and src's runs are copied into dst's temporary file, so
 * dst's finish counts everything. On success src is left empty (as new,
 * its temporary bytes released) and may be reused or freed. On failure the
 * error is sticky in dst (and in src when src failed). */
sl_status sl_exact_merge(sl_exact *dst, sl_exact *src);

/*
 * Ends input and computes, exactly: the number of distinct keys, the total
 * weight and the top_n keys by count (count descending, ties by key bytes
 * ascending, a shorter key first when one is a prefix of the other).
 * Spilled runs are merged here, SL_EIO / SL_ECORRUPT / SL_EBUDGET as above.
 */
sl_status sl_exact_finish(sl_exact *e, size_t top_n);

/*
 * Instead of sl_exact_finish: ends input and calls fn once for every
 * distinct key with its total count, in key order when the table spilled
 * (in table order otherwise); key is valid during the call only. For
 * callers that split keys into groups (a report tags each list's keys with
 * one byte) and keep their own per-group figures. Afterwards
 * sl_exact_distinct and _total answer; _top lists nothing. Errors as
 * sl_exact_finish; fn is not called after an error.
 */
typedef void (*sl_exact_each_fn)(void *ud, const char *key, size_t len, uint64_t count);
sl_status sl_exact_finish_each(sl_exact *e, sl_exact_each_fn fn, void *ud);

/* After a successful finish; 0 otherwise. */
uint64_t sl_exact_distinct(const sl_exact *e);
uint64_t sl_exact_total(const sl_exact *e);

/* Writes up to n rows of the top list (in order, max_error 0; a key longer
 * than SL_TOPK_VALUE_MAX is shown by its first SL_TOPK_VALUE_MAX bytes with
 * truncated set, but counted and ordered by all its bytes) and returns how
 * many. row.value points into e, valid until sl_exact_free. 0 before a
 * successful finish. */
size_t sl_exact_top(const sl_exact *e, sl_topk_row *rows, size_t n);

/* errno of the failed temporary-file operation behind SL_EIO, else 0. */
int sl_exact_errno(const sl_exact *e);

/* Temporary-disk accounting (as for sl_xsort): records = (key, count)
 * records written by spills, runs = runs spilled or imported by merge,
 * merges = intermediate merges, temp_peak = most bytes held on disk at
 * once, fan_in = readers per merge, run_bytes = the slab. */
void sl_exact_stats(const sl_exact *e, sl_xsort_stats *st);

/* Frees everything; the temporary file goes with its descriptor. */
void sl_exact_free(sl_exact *e);

#ifdef __cplusplus
}
#endif
#endif /* SLUICE_H */
