/*
 * spill.h: the one spill layer of the library's external algorithms
 * (sl_spill_*), shared by the external sort (xsort.c) and the exact counter
 * (exact.c). Internal to lib/. As SQLite's vdbesort.c has one of each for
 * every sorter, this has one temporary file, one run writer, one run
 * reader, one merge and one policy for when runs merge.
 *
 * Temporary file: one per user, unnamed (tmpfile.h), created on the first
 * write. Bytes are appended at its end; a merged run's extent is given back
 * with fallocate(PUNCH_HOLE) where the file system allows (`live` then
 * drops). The counters temp_written, temp_read and temp_peak of the user's
 * sl_xsort_stats are kept here.
 *
 * Run format: a run is a sequence of blocks, each
 *     u32 clen | u32 rlen | u64 check | payload      (little-endian)
 * A compressed block has clen < 2^31 bytes of LZ4 block format (Collet's
 * LZ4, lib/lz4.h) decoding to rlen <= B bytes; a raw block has clen =
 * RAW (bit 31, no other bit) and rlen bytes stored as they are. check is
 * XXH3-64 of the payload as stored, seeded with clen << 32 | rlen, so that
 * a byte of the block damaged on disk (header or payload) is SL_ECORRUPT
 * when the block is read, not a wrong record (the temporary file is never
 * kept, so this layout has no version of its own). The
 * payload is a list of records
 *     LEB128 len | [LEB128 count] | len bytes
 * where count is present when the spill was set up `counted` (exact.c
 * keeps a key's count there). Records are gathered in a B-byte block and
 * written when the next one does not fit; a record longer than B gets a
 * raw block of its own, written straight from the caller's memory (so a
 * record may be up to 2^32 - 1 - 2 * 10 bytes). Runs start and end on
 * block boundaries.
 *
 * Reader: reads a run block by block into its own buffer (cap >= B bytes,
 * given by the caller), one pread per block (which also fetches the next
 * block's header when it fits); a compressed block is read into the spill's
 * shared compressed buffer (CB = 8 + LZ4_COMPRESSBOUND(B)) and decoded into
 * the reader's buffer, so readers need no compressed buffer of their own. A
 * raw block longer than cap is either refused (SL_ECORRUPT: the caller
 * planned its buffers for the longest record, as exact.c does) or, when the
 * spill was set up with `grow`, read into a block taken from the budget
 * beyond the caller's plan (xsort.c's documented exception, as GNU sort
 * grows its buffer for long lines); it is given back at the next block or
 * at close.
 *
 * Merge: a binary heap of reader indices ordered by the caller's `cmp` on
 * the readers' current records, ties to the lower reader index (runs are
 * in input order, so the merge is stable). The winner is either advanced
 * in place (one sift-down: xsort.c) or popped, and pushed back once moved
 * (exact.c pops every head equal to the smallest key, whose bytes stay
 * valid until their readers move, sums their counts and then advances
 * them). A heap rather than a tree of losers because of that: a popped
 * reader is out of the contest while its record is still read.
 *
 * Policy (push and finish): runs carry a level. After a run is pushed, the
 * last f runs are merged into one of the next level while they share a
 * level, or while the run table is full; so each record is rewritten about
 * log_f(spills) times and the table, (F - 1) * levels + 1 runs, never
 * overflows. Before the final merge the last runs are merged until at most
 * the final fan-in remain.
 *
 * Errors: SL_EIO (errno in sp->err_no; ENOSPC when the disk is full),
 * SL_ECORRUPT (the file read back wrong: short, a block's check or
 * lengths, or its records do not add up), SL_ENOMEM (the budget refused a
 * grown reader block or the tmpfile fallback's path). None is sticky here;
 * the users keep their own sticky error.
 *
 * Order: sl_spill_init -> (sl_spill_put* -> sl_spill_flush)* ->
 * (sl_spill_reader_open -> sl_spill_reader_next* -> sl_spill_reader_close)*
 * -> sl_spill_free; writes and reads may interleave (a merge writes its
 * output while it reads), and a run must be flushed before it is read.
 */
#ifndef SLUICE_SPILL_H
#define SLUICE_SPILL_H

#include "sluice.h"

#define SL_SPILL_HDR 16
#define SL_SPILL_VARMAX 20	/* two LEB128 varints */

typedef struct {
	uint64_t start, end;	/* extent in the temporary file */
	uint32_t level;
} sl_spill_run;

typedef struct {
	sl_budget *b;
	const char *tmpdir;	/* the user's copy */
	const char *prefix;	/* the tmpfile fallback's name */
	int counted;		/* records carry a count */
	int grow;		/* readers may grow beyond their buffer */
	int fd;			/* -1 until the first write */
	int holes;		/* punching holes works */
	int err_no;		/* errno behind the last SL_EIO */
	uint64_t wpos;		/* end of file */
	uint64_t live;		/* temporary bytes held now */
	sl_xsort_stats *st;	/* the user's counters */
	/* the writer */
	void *lz;
	size_t lz_len;
	char *wraw;		/* B bytes being gathered */
	size_t B, wfill;
	char *comp;		/* CB bytes: a compressed block, written or read */
	size_t CB;
} sl_spill;

typedef struct {
	uint64_t off, end;	/* next block header .. end of the run */
	char *buf;		/* cap bytes: the current block */
	size_t cap;
	char *big;		/* grown block (grow only), bigcap bytes */
	size_t bigcap;
	char hdr[SL_SPILL_HDR];	/* the next block's header, when have_hdr */
	int have_hdr;
	int done;		/* no record left */
	const unsigned char *p, *lim; /* records left in the block */
	const char *rec;	/* the current record (valid until next) */
	size_t len;
	uint64_t count;		/* its count (counted spills) */
	uint64_t pfx;		/* the caller's, e.g. a key prefix */
} sl_spill_reader;

/* The order of two readers' current records: <0, 0, >0 as memcmp. */
typedef int (*sl_spill_cmp_fn)(void *ctx, const sl_spill_reader *a, const sl_spill_reader *b);
/* Called after each record a reader moves to (not at its end). */
typedef void (*sl_spill_prep_fn)(void *ctx, sl_spill_reader *r);

typedef struct {
	sl_spill_reader *rd;	/* k readers, opened */
	uint32_t *heap;		/* k slots */
	uint32_t k, n;		/* readers; in the heap */
	sl_spill_cmp_fn cmp;
	sl_spill_prep_fn prep;	/* may be NULL */
	void *ctx;
} sl_spill_merge;

/* Bytes sl_spill_init takes from the budget for block size B. */
size_t sl_spill_bytes(size_t B);

/* Sets sp up with blocks of B bytes (>= 64); tmpdir and prefix must
 * outlive sp; st receives the disk counters. SL_ENOMEM: nothing held. */
sl_status sl_spill_init(sl_spill *sp, sl_budget *b, size_t B, const char *tmpdir,
			const char *prefix, int counted, int grow, sl_xsort_stats *st);
/* Closes the file and gives back the memory; a zeroed sp is fine. */
void sl_spill_free(sl_spill *sp);

/* Appends one record (count ignored unless counted). */
sl_status sl_spill_put(sl_spill *sp, const char *rec, size_t len, uint64_t count);
/* Writes the gathered block: the file's end (sp->wpos) is then a run
 * boundary. */
sl_status sl_spill_flush(sl_spill *sp);
/* Raw bytes: appended at the end / read at off (whole runs copied from one
 * spill to another by exact.c's merge). */
sl_status sl_spill_append(sl_spill *sp, const char *p, size_t n);
sl_status sl_spill_pread(sl_spill *sp, char *p, size_t n, uint64_t off);
/* Gives back the disk of runs[0 .. n) (n >= 1, in file order, just
 * merged), where the file system can punch holes. */
void sl_spill_release(sl_spill *sp, const sl_spill_run *runs, size_t n);
/* Drops every byte of the file (its runs are no longer needed). */
void sl_spill_truncate(sl_spill *sp);

/* Opens r on run [start, end) with buffer buf[0 .. cap), cap >= B, and
 * moves it to its first record (r->done for an empty run). */
sl_status sl_spill_reader_open(sl_spill *sp, sl_spill_reader *r, const sl_spill_run *run,
			       char *buf, size_t cap);
/* Moves r to its next record, or sets r->done (r->rec = NULL). */
sl_status sl_spill_reader_next(sl_spill *sp, sl_spill_reader *r);
/* Gives back a grown block; r may be reopened. */
void sl_spill_reader_close(sl_spill *sp, sl_spill_reader *r);

/* Puts every reader of m->rd[0 .. m->k) that is not done in the heap. */
void sl_spill_merge_start(sl_spill_merge *m);
/* The first reader's index, or -1 when every reader is done or popped. */
int sl_spill_merge_top(const sl_spill_merge *m);
/* Takes the first reader out (m->n > 0); its record stays readable until
 * it moves. Returns its index. */
uint32_t sl_spill_merge_pop(sl_spill_merge *m);
/* Puts reader w (popped, then moved with sl_spill_reader_next) back, unless
 * it is done. */
void sl_spill_merge_push(sl_spill_merge *m, uint32_t w);
/* Moves the first reader to its next record and restores the order. */
sl_status sl_spill_merge_advance(sl_spill *sp, sl_spill_merge *m);

/* The policy. After runs[0 .. n) with a run just pushed: how many of the
 * last runs to merge now into one of *level (0: none), f the fan-in,
 * cap the table's size. */
size_t sl_spill_due(const sl_spill_run *runs, size_t n, size_t cap, uint32_t f,
		    uint32_t *level);
/* Before a final merge of at most keep runs: how many of the last runs to
 * merge now (0: none), f the fan-in of an intermediate merge (>= 2). */
size_t sl_spill_tail(const sl_spill_run *runs, size_t n, size_t keep, uint32_t f,
		     uint32_t *level);

/* LEB128 helpers, shared. */
static inline size_t sl_spill_putvar(char *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (char)v;
	return n;
}

static inline size_t sl_spill_varlen(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

#endif
