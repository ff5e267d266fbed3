/*
 * xsort.c: external sort of records within a memory budget (sl_xsort_*).
 *
 * Contract (see sluice.h): records are byte strings; the order is that of
 * `LC_ALL=C sort` with -k N / -t / -n / -r / -u / -s, including GNU's
 * last-resort comparison (keys equal and neither -s nor -u: compare whole
 * records bytewise, reversed by -r). Ties left after that (identical records,
 * or equal keys under -s/-u) keep input order, so -u keeps the first record of
 * each group of equal keys, as GNU does.
 *
 * Algorithm (Knuth vol. 3, 5.4: run formation then a k-way merge):
 *  1. Run formation. One slab of memory holds record bytes growing up from
 *     its start and 16-byte entries {key prefix, offset, length} growing down
 *     from its end (GNU sort's layout). The prefix is the first 8 key bytes,
 *     big-endian, so most comparisons are one integer compare; equal prefixes
 *     fall back to the full comparison. When the slab is full the entries are
 *     sorted with an introsort (median-of-3 quicksort, insertion sort below
 *     16, heapsort past 2 log n levels; Musser 1997) whose order is total (ties
 *     broken by offset, i.e. input order) and written as one run.
 *  2. Runs are written to one unnamed temporary file as a sequence of frames:
 *         u32 clen | u32 rlen (bit 31: single-record frame) | LZ4 frame (clen)
 *     (little-endian). A frame's content (rlen bytes) is a list of records
 *     `LEB128 length | bytes`, at most C bytes (the chunk, 16 KiB at 1 MiB);
 *     a record that does not fit a chunk gets a single-record frame holding
 *     just its bytes. LZ4 frames: independent 64 KiB blocks, fast level, no
 *     checksums (the file is ours and unnamed), compressed with LZ4F's
 *     streaming API and autoFlush, so LZ4F keeps no input buffer.
 *  3. Merging. Up to F runs (F = slab / C) are merged with a loser tree
 *     (Knuth 5.4.1, tree of losers): log2 F comparisons per record. Each run
 *     is read through its own C-byte slice of the slab, one pread per frame
 *     (the read also fetches the next frame's header). Runs carry a level;
 *     as soon as the last F runs share a level they are merged into one run
 *     of the next level, appended to the file, and the space they took is
 *     released with fallocate(PUNCH_HOLE) where the file system allows. So
 *     every record is rewritten about log_F(n / slab) times, the run table
 *     stays small, and merged runs stay in input order (stability). At the
 *     end the smallest tail runs are merged until at most F remain, and
 *     sl_xsort_next runs the final merge, giving records straight from the
 *     readers' buffers (no copy). If no run was ever spilled, the slab is
 *     sorted and read back in memory: no disk at all.
 *
 * Memory (max_bytes): the xsort struct, the LZ4 contexts (their memory comes
 * from the budget through LZ4F_create*Context_advanced; the decompression
 * context's two 64 KiB buffers are allocated at creation by decoding a tiny
 * frame, so their size is measured, not guessed: about 150 KiB in all), the
 * chunk, the output buffer, the shared compressed-read buffer, the copy of the
 * last record for unique, the readers and the run table; the rest is the slab.
 * Records longer than C in the merge phase are held whole in a block taken
 * from the budget beyond max_bytes (documented in sluice.h). A record longer
 * than the slab is written as its own run straight from the caller's memory.
 *
 * Temporary files: one per sorter, created on the first spill with
 * open(O_TMPFILE) (no name ever exists), falling back to mkstemp + unlink
 * right after creation. Killing the process at any point leaves nothing
 * behind except in that fallback's window between mkstemp and unlink. A full
 * disk makes the write fail with ENOSPC: SL_EIO, and sl_xsort_errno says so.
 */
#define LZ4F_STATIC_LINKING_ONLY
#include "sluice.h"
#include "entrysort.h"
#include "tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR 8			/* frame header: clen, rlen */
#define SINGLE 0x80000000u	/* rlen flag: the frame is one record */
#define CHUNK_MAX (16 * 1024)
#define CHUNK_MIN 256
#define RUN_CAP_LEVELS 48	/* run table: (F - 1) runs per level */


typedef struct {
	uint64_t start, end;	/* extent in the temporary file */
	uint32_t level;
} run;

typedef struct {
	uint64_t off, end;	/* next frame header .. end of the run */
	uint32_t clen, rlen;	/* header at off, when have_hdr */
	int have_hdr;
	int done;
	char *buf;		/* C bytes in the slab */
	char *big;		/* budget block for a frame longer than C */
	size_t bigcap;
	const unsigned char *p, *lim; /* records left in the current frame */
	const char *rec;	/* current record */
	size_t len;
	uint64_t pfx;
} reader;

enum { ST_ADD, ST_MEM, ST_MERGE, ST_END };

struct sl_xsort {
	sl_budget *b;
	size_t max_bytes;
	sl_xsort_opts o;
	int keyed;		/* key is not the whole record: last resort */
	int use_pfx;		/* prefixes are meaningful (bytewise keys) */
	int state;
	sl_status err;
	int err_no;
	char *tmpdir;
	size_t tmpdir_len;

	/* run formation */
	char *slab;
	size_t slab_len;	/* bytes */
	size_t fill;		/* record bytes at the start of the slab */
	size_t n;		/* entries at the end of the slab */
	size_t pos;		/* ST_MEM: next entry */

	/* the temporary file and its writer */
	int fd;
	uint64_t wpos;		/* file offset of obuf[0] */
	char *obuf;
	size_t ocap, ofill;
	char *chunk;		/* C bytes of records being gathered */
	size_t C, cfill;
	char *scratch;		/* compressed bytes read back */
	size_t scap;
	LZ4F_cctx *cctx;
	LZ4F_dctx *dctx;
	LZ4F_preferences_t prefs;

	/* runs and the merge */
	run *runs;
	size_t nruns, runs_cap;
	reader *rd;
	uint32_t *tree;		/* loser tree: tree[0] winner, 1..k-1 losers */
	uint32_t F, k;
	size_t rd_cap;		/* readers and tree slots allocated */
	int started;
	char *last;		/* unique: the last record given */
	size_t last_cap, last_len;
	int have_last;

	sl_xsort_stats st;
	uint64_t live;		/* temporary bytes held now */
};

/* ---- LZ4 contexts allocate through the budget -------------------------- */

/* LZ4F's free hook gives no size, so each block carries it in front. */
static void *lz_alloc(void *ud, size_t n)
{
	size_t *p = sl_malloc(ud, n + 16);
	if (!p)
		return NULL;
	p[0] = n + 16;
	return (char *)p + 16;
}

static void lz_free(void *ud, void *q)
{
	if (!q)
		return;
	size_t *p = (size_t *)(void *)((char *)q - 16);
	sl_free(ud, p, p[0]);
}

/* ---- errors ------------------------------------------------------------ */

static sl_status fail(sl_xsort *xs, sl_status s, int e)
{
	if (xs->err == SL_OK) {
		xs->err = s;
		xs->err_no = e;
	}
	return xs->err;
}

/* ---- keys and comparisons ---------------------------------------------- */

static inline int blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Offset of the key in p[0..n): GNU begfield() for -k N with no char. */
static size_t keystart(const sl_xsort *xs, const unsigned char *p, size_t n)
{
	const unsigned char *q = p, *lim = p + n;
	uint32_t f = xs->o.key_field;
	if (f <= 1)
		return 0;
	f--;
	if (xs->o.separator != SL_XSORT_BLANKS) {
		int sep = xs->o.separator;
		while (q < lim && f--) {
			q = memchr(q, sep, (size_t)(lim - q));
			if (!q)
				return n;
			q++;
		}
	} else {
		while (q < lim && f--) {
			while (q < lim && blank(*q))
				q++;
			while (q < lim && !blank(*q))
				q++;
		}
	}
	return (size_t)(q - p);
}

static inline uint64_t prefix(const sl_xsort *xs, const char *rec, size_t len)
{
	if (!xs->use_pfx)
		return 0;
	const unsigned char *p = (const unsigned char *)rec;
	size_t ks = keystart(xs, p, len);
	return load_pfx(p + ks, len - ks);
}

static int bytecmp(const unsigned char *a, size_t an, const unsigned char *b,
		   size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* A number as GNU -n reads it: [blanks][-]digits[.digits]; anything else
 * (or nothing) is zero. One quirk is kept for byte-identical output: GNU
 * sort in the C locale has no thousands separator and marks that with
 * CHAR_MAX + 1, which is the byte 0x80, so 0x80 bytes in the integer part
 * are skipped as if they were separators ("1\x80000" is 1000).
 * The integer part is kept as a span (leading zeros and 0x80 dropped) with
 * its digit count; the fraction without trailing zeros. */
#define TSEP 0x80

typedef struct {
	int sign;		/* -1, 0, 1 */
	const unsigned char *ip, *fp;
	size_t il;		/* digits in the integer part */
	size_t fl;		/* bytes (all digits) in the fraction */
} num;

static void parse_num(const unsigned char *p, size_t n, num *v)
{
	const unsigned char *lim = p + n;
	int neg = 0;
	while (p < lim && blank(*p))
		p++;
	if (p < lim && *p == '-') {
		neg = 1;
		p++;
	}
	while (p < lim && (*p == '0' || *p == TSEP))
		p++;
	v->ip = p;
	v->il = 0;
	for (; p < lim && ((*p >= '0' && *p <= '9') || *p == TSEP); p++)
		v->il += *p != TSEP;
	v->fp = p;
	v->fl = 0;
	if (p < lim && *p == '.') {
		v->fp = ++p;
		while (p < lim && *p >= '0' && *p <= '9')
			p++;
		v->fl = (size_t)(p - v->fp);
		while (v->fl && v->fp[v->fl - 1] == '0')
			v->fl--;
	}
	v->sign = (v->il || v->fl) ? (neg ? -1 : 1) : 0;
}

/* Compares integer parts of equal digit counts, skipping separators. */
static int intcmp(const unsigned char *a, const unsigned char *b, size_t digits)
{
	while (digits--) {
		while (*a == TSEP)
			a++;
		while (*b == TSEP)
			b++;
		if (*a != *b)
			return *a < *b ? -1 : 1;
		a++;
		b++;
	}
	return 0;
}

static int numcmp(const unsigned char *a, size_t an, const unsigned char *b,
		  size_t bn)
{
	num x, y;
	parse_num(a, an, &x);
	parse_num(b, bn, &y);
	if (x.sign != y.sign)
		return x.sign < y.sign ? -1 : 1;
	if (x.sign == 0)
		return 0;
	int c;
	if (x.il != y.il)
		c = x.il < y.il ? -1 : 1;
	else if ((c = intcmp(x.ip, y.ip, x.il)) == 0)
		c = bytecmp(x.fp, x.fl, y.fp, y.fl);
	return x.sign < 0 ? -c : c;
}

/* The key comparison alone (unique uses it to find equal keys). */
static int keycmp(const sl_xsort *xs, const char *a, size_t an, const char *b,
		  size_t bn)
{
	if (xs->o.cmp) {
		int c = xs->o.cmp(xs->o.cmp_ud, a, an, b, bn);
		return c < 0 ? -1 : c > 0;
	}
	const unsigned char *pa = (const unsigned char *)a;
	const unsigned char *pb = (const unsigned char *)b;
	size_t ka = keystart(xs, pa, an), kb = keystart(xs, pb, bn);
	if (xs->o.numeric)
		return numcmp(pa + ka, an - ka, pb + kb, bn - kb);
	return bytecmp(pa + ka, an - ka, pb + kb, bn - kb);
}

/* Key, then last resort, both reversed by -r; 0 only for ties that input
 * order settles. */
static int reccmp(const sl_xsort *xs, const char *a, size_t an, const char *b,
		  size_t bn)
{
	int c = keycmp(xs, a, an, b, bn);
	if (c == 0 && xs->keyed && !xs->o.stable && !xs->o.unique)
		c = bytecmp((const unsigned char *)a, an,
			    (const unsigned char *)b, bn);
	return xs->o.reverse ? -c : c;
}

/* ---- the in-memory sort ------------------------------------------------ */

static int slowcmp(const sl_xsort *xs, const entry *a, const entry *b)
{
	int c = reccmp(xs, xs->slab + a->off, a->len, xs->slab + b->off, b->len);
	if (c)
		return c;
	return a->off < b->off ? -1 : a->off > b->off;
}

static inline int ecmp(const sl_xsort *xs, const entry *a, const entry *b)
{
	if (a->pfx != b->pfx) {
		int c = a->pfx < b->pfx ? -1 : 1;
		return xs->o.reverse ? -c : c;
	}
	return slowcmp(xs, a, b);
}

/* Entries are all distinct under ecmp (offsets break ties). */
#define ENTRY_CTX const sl_xsort *
#define ENTRY_CMP ecmp
#include "entrysort.h"

static entry *entries(const sl_xsort *xs)
{
	return (entry *)(void *)(xs->slab + xs->slab_len) - xs->n;
}

static void sort_slab(sl_xsort *xs)
{
	entry_sort(xs, entries(xs), xs->n);
}

/* ---- the temporary file and the writer --------------------------------- */

static sl_status open_tmp(sl_xsort *xs)
{
	int err;
	sl_status s = sl_tmp_open(xs->tmpdir, "sluice-sort", xs->b, &xs->fd, &err);
	return s == SL_OK ? SL_OK : fail(xs, s, err);
}

static sl_status pwrite_all(sl_xsort *xs, const char *p, size_t n, uint64_t off)
{
	int err = 0;
	sl_status s = sl_tmp_pwrite(xs->fd, p, n, off, &err);
	return s == SL_OK ? SL_OK : fail(xs, s, err);
}

static sl_status pread_all(sl_xsort *xs, char *p, size_t n, uint64_t off)
{
	int err = 0;
	xs->st.temp_read += n;
	sl_status s = sl_tmp_pread(xs->fd, p, n, off, &err);
	return s == SL_OK ? SL_OK : fail(xs, s, err);
}

static sl_status flush_out(sl_xsort *xs)
{
	if (!xs->ofill)
		return SL_OK;
	sl_status s = pwrite_all(xs, xs->obuf, xs->ofill, xs->wpos);
	if (s)
		return s;
	xs->wpos += xs->ofill;
	xs->st.temp_written += xs->ofill;
	xs->live += xs->ofill;
	if (xs->live > xs->st.temp_peak)
		xs->st.temp_peak = xs->live;
	xs->ofill = 0;
	return SL_OK;
}

static sl_status room(sl_xsort *xs, size_t need)
{
	return xs->ocap - xs->ofill < need ? flush_out(xs) : SL_OK;
}

static void put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

static uint32_t get32(const char *p)
{
	const unsigned char *q = (const unsigned char *)p;
	return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
	       (uint32_t)q[3] << 24;
}

/* Writes src[0..n) as one frame; single: it is one record's bytes. */
static sl_status write_frame(sl_xsort *xs, const char *src, size_t n, int single)
{
	size_t first = n < xs->C ? n : xs->C, r;
	sl_status s = room(xs, HDR + LZ4F_HEADER_SIZE_MAX +
				   LZ4F_compressBound(first, &xs->prefs));
	if (s)
		return s;
	uint64_t hdr_off = xs->wpos + xs->ofill;
	size_t hdr_at = xs->ofill;
	/* filled in below, or rewritten with pwrite if the buffer is flushed
	 * first: never let uninitialised bytes reach the file */
	memset(xs->obuf + hdr_at, 0, HDR);
	xs->ofill += HDR;
	r = LZ4F_compressBegin(xs->cctx, xs->obuf + xs->ofill,
			       xs->ocap - xs->ofill, &xs->prefs);
	if (LZ4F_isError(r))
		return fail(xs, SL_EIO, EIO);
	xs->ofill += r;
	for (size_t i = 0; i < n; i += first) {
		first = n - i < xs->C ? n - i : xs->C;
		if ((s = room(xs, LZ4F_compressBound(first, &xs->prefs))))
			return s;
		r = LZ4F_compressUpdate(xs->cctx, xs->obuf + xs->ofill,
					xs->ocap - xs->ofill, src + i, first, NULL);
		if (LZ4F_isError(r))
			return fail(xs, SL_EIO, EIO);
		xs->ofill += r;
	}
	if ((s = room(xs, LZ4F_compressBound(0, &xs->prefs))))
		return s;
	r = LZ4F_compressEnd(xs->cctx, xs->obuf + xs->ofill,
			     xs->ocap - xs->ofill, NULL);
	if (LZ4F_isError(r))
		return fail(xs, SL_EIO, EIO);
	xs->ofill += r;
	uint64_t clen = xs->wpos + xs->ofill - hdr_off - HDR;
	if (clen > UINT32_MAX)
		return fail(xs, SL_EINVAL, 0);
	char h[HDR];
	put32(h, (uint32_t)clen);
	put32(h + 4, (uint32_t)n | (single ? SINGLE : 0));
	if (hdr_off >= xs->wpos)
		memcpy(xs->obuf + hdr_at, h, HDR);
	else if ((s = pwrite_all(xs, h, HDR, hdr_off)))
		return s;
	return SL_OK;
}

static sl_status flush_chunk(sl_xsort *xs)
{
	if (!xs->cfill)
		return SL_OK;
	sl_status s = write_frame(xs, xs->chunk, xs->cfill, 0);
	xs->cfill = 0;
	return s;
}

static size_t varint_len(size_t n)
{
	size_t h = 1;
	while (n >= 0x80) {
		n >>= 7;
		h++;
	}
	return h;
}

static sl_status write_rec(sl_xsort *xs, const char *p, size_t n)
{
	size_t h = varint_len(n), v = n;
	sl_status s;
	if (h + n > xs->C - xs->cfill && (s = flush_chunk(xs)))
		return s;
	if (h + n > xs->C)
		return write_frame(xs, p, n, 1);
	unsigned char *q = (unsigned char *)xs->chunk + xs->cfill;
	while (v >= 0x80) {
		*q++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*q++ = (unsigned char)v;
	memcpy(q, p, n);
	xs->cfill += h + n;
	return SL_OK;
}

/* ---- reading runs back --------------------------------------------------- */

static sl_status set_hdr(sl_xsort *xs, reader *r, const char *h)
{
	r->clen = get32(h);
	r->rlen = get32(h + 4);
	r->have_hdr = 1;
	if (r->clen == 0 || r->off + HDR + r->clen > r->end)
		return fail(xs, SL_ECORRUPT, 0);
	return SL_OK;
}

/* Decodes the frame at r->off into the reader's buffer, fetching the next
 * frame's header with the same pread when it fits. */
static sl_status load_frame(sl_xsort *xs, reader *r, int *single)
{
	sl_status s;
	char h[HDR];
	if (!r->have_hdr) {
		if ((s = pread_all(xs, h, HDR, r->off)) || (s = set_hdr(xs, r, h)))
			return s;
	}
	r->have_hdr = 0;
	size_t n = r->rlen & ~SINGLE;
	int one = (r->rlen & SINGLE) != 0;
	char *dst = r->buf;
	if (n > xs->C) {
		if (n > r->bigcap) {
			sl_free(xs->b, r->big, r->bigcap);
			r->bigcap = 0;
			if (!(r->big = sl_malloc(xs->b, n)))
				return fail(xs, SL_ENOMEM, 0);
			r->bigcap = n;
		}
		dst = r->big;
	}
	uint64_t pos = r->off + HDR, next = pos + r->clen;
	size_t left = r->clen, dleft = n, ret = 1;
	char *d = dst;
	while (left) {
		size_t take = left < xs->scap ? left : xs->scap, extra = 0;
		if (take == left && next + HDR <= r->end && take + HDR <= xs->scap)
			extra = HDR;
		if ((s = pread_all(xs, xs->scratch, take + extra, pos)))
			return s;
		size_t sp = 0;
		while (sp < take) {
			size_t ss = take - sp, ds = dleft;
			ret = LZ4F_decompress(xs->dctx, d, &ds, xs->scratch + sp, &ss, NULL);
			if (LZ4F_isError(ret) || (ss == 0 && ds == 0) ||
			    (ret == 0 && sp + ss < take))
				goto corrupt;
			sp += ss;
			d += ds;
			dleft -= ds;
		}
		pos += take;
		left -= take;
		if (extra) {
			r->off = next;
			if ((s = set_hdr(xs, r, xs->scratch + take)))
				return s;
		}
	}
	if (ret != 0 || dleft)
		goto corrupt;
	r->off = next;
	*single = one;
	if (one) {
		r->rec = dst;
		r->len = n;
		r->p = r->lim = NULL;
	} else {
		r->p = (const unsigned char *)dst;
		r->lim = r->p + n;
	}
	return SL_OK;
corrupt:
	LZ4F_resetDecompressionContext(xs->dctx);
	return fail(xs, SL_ECORRUPT, 0);
}

/* Moves r to its next record, or sets r->done. */
static sl_status reader_next(sl_xsort *xs, reader *r)
{
	sl_status s;
	for (;;) {
		if (r->p < r->lim) {
			const unsigned char *p = r->p;
			size_t len = 0;
			for (int sh = 0;; sh += 7) {
				if (p >= r->lim || sh > 28)
					return fail(xs, SL_ECORRUPT, 0);
				unsigned char c = *p++;
				len |= (size_t)(c & 0x7f) << sh;
				if (!(c & 0x80))
					break;
			}
			if (len > (size_t)(r->lim - p))
				return fail(xs, SL_ECORRUPT, 0);
			r->rec = (const char *)p;
			r->len = len;
			r->p = p + len;
			r->pfx = prefix(xs, r->rec, len);
			return SL_OK;
		}
		if (r->off >= r->end) {
			r->done = 1;
			r->rec = NULL;
			return SL_OK;
		}
		int one;
		if ((s = load_frame(xs, r, &one)))
			return s;
		if (one) {
			r->pfx = prefix(xs, r->rec, r->len);
			return SL_OK;
		}
	}
}

/* ---- the loser tree ------------------------------------------------------ */

static int rless(const sl_xsort *xs, uint32_t a, uint32_t b)
{
	const reader *x = &xs->rd[a], *y = &xs->rd[b];
	if (x->done)
		return 0;
	if (y->done)
		return 1;
	if (x->pfx != y->pfx)
		return xs->o.reverse ? x->pfx > y->pfx : x->pfx < y->pfx;
	int c = reccmp(xs, x->rec, x->len, y->rec, y->len);
	if (c)
		return c < 0;
	return a < b;
}

/* Plays the subtree under node (leaves are k..2k-1, player = leaf - k):
 * stores losers, returns the winner. */
static uint32_t build(sl_xsort *xs, uint32_t node)
{
	if (node >= xs->k)
		return node - xs->k;
	uint32_t l = build(xs, 2 * node), r = build(xs, 2 * node + 1);
	if (rless(xs, r, l)) {
		xs->tree[node] = l;
		return r;
	}
	xs->tree[node] = r;
	return l;
}

/* Player w has a new record: replay its path to the root. */
static void replay(sl_xsort *xs, uint32_t w)
{
	uint32_t s = w;
	for (uint32_t t = (w + xs->k) >> 1; t > 0; t >>= 1) {
		if (rless(xs, xs->tree[t], s)) {
			uint32_t u = xs->tree[t];
			xs->tree[t] = s;
			s = u;
		}
	}
	xs->tree[0] = s;
}

static void merge_close(sl_xsort *xs)
{
	for (uint32_t i = 0; i < xs->k; i++) {
		sl_free(xs->b, xs->rd[i].big, xs->rd[i].bigcap);
		xs->rd[i].big = NULL;
		xs->rd[i].bigcap = 0;
	}
	xs->k = 0;
}

/* Opens readers on runs[first .. first + k), k <= F, buffers in the slab. */
static sl_status merge_open(sl_xsort *xs, size_t first, uint32_t k)
{
	sl_status s;
	xs->k = k;
	for (uint32_t i = 0; i < k; i++) {
		reader *r = &xs->rd[i];
		memset(r, 0, sizeof *r);
		r->off = xs->runs[first + i].start;
		r->end = xs->runs[first + i].end;
		r->buf = xs->slab + (size_t)i * xs->C;
	}
	for (uint32_t i = 0; i < k; i++)
		if ((s = reader_next(xs, &xs->rd[i])))
			return s;
	xs->tree[0] = build(xs, 1);
	return SL_OK;
}

/* unique: remembers the record given last (its reader may reuse the bytes). */
static sl_status keep_last(sl_xsort *xs, const char *rec, size_t len)
{
	if (len > xs->last_cap) {
		char *p = sl_malloc(xs->b, len);
		if (!p)
			return fail(xs, SL_ENOMEM, 0);
		sl_free(xs->b, xs->last, xs->last_cap);
		xs->last = p;
		xs->last_cap = len;
	}
	memcpy(xs->last, rec, len);
	xs->last_len = len;
	xs->have_last = 1;
	return SL_OK;
}

static int dup_of_last(const sl_xsort *xs, const char *rec, size_t len)
{
	return xs->o.unique && xs->have_last &&
	       keycmp(xs, xs->last, xs->last_len, rec, len) == 0;
}

/* ---- runs ---------------------------------------------------------------- */

/* Gives back the disk of runs[first..nruns): one hole over their span (the
 * gaps between them are holes already). */
static void release(sl_xsort *xs, size_t first)
{
	uint64_t start = xs->runs[first].start, end = xs->runs[xs->nruns - 1].end;
	if (end > start)
		(void)fallocate(xs->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)start, (off_t)(end - start));
	for (size_t i = first; i < xs->nruns; i++)
		xs->live -= xs->runs[i].end - xs->runs[i].start;
}

/* Merges the last `count` runs (count <= F) into one run of `level`. */
static sl_status merge_tail(sl_xsort *xs, size_t count, uint32_t level)
{
	size_t first = xs->nruns - count;
	uint64_t start = xs->wpos + xs->ofill;
	sl_status s = merge_open(xs, first, (uint32_t)count);
	xs->have_last = 0;
	while (s == SL_OK) {
		uint32_t w = xs->tree[0];
		reader *r = &xs->rd[w];
		if (r->done)
			break;
		if (!dup_of_last(xs, r->rec, r->len)) {
			if ((xs->o.unique && (s = keep_last(xs, r->rec, r->len))) ||
			    (s = write_rec(xs, r->rec, r->len)))
				break;
		}
		if ((s = reader_next(xs, r)))
			break;
		replay(xs, w);
	}
	merge_close(xs);
	if (s || (s = flush_chunk(xs)) || (s = flush_out(xs)))
		return s;
	release(xs, first);
	xs->runs[first].start = start;
	xs->runs[first].end = xs->wpos;
	xs->runs[first].level = level;
	xs->nruns = first + 1;
	xs->st.merges++;
	return SL_OK;
}

/* Appends a run; merges the last F runs while they share a level (or when
 * the table is full). */
static sl_status push_run(sl_xsort *xs, uint64_t start, uint64_t end)
{
	sl_status s;
	run *r = &xs->runs[xs->nruns++];
	r->start = start;
	r->end = end;
	r->level = 0;
	xs->st.runs++;
	while (xs->nruns >= xs->F) {
		uint32_t top = 0;
		int same = 1;
		for (size_t i = xs->nruns - xs->F; i < xs->nruns; i++) {
			if (xs->runs[i].level != xs->runs[xs->nruns - 1].level)
				same = 0;
			if (xs->runs[i].level > top)
				top = xs->runs[i].level;
		}
		if (!same && xs->nruns < xs->runs_cap)
			break;
		if ((s = merge_tail(xs, xs->F, top + 1)))
			return s;
	}
	return SL_OK;
}

/* Sorts the slab and writes it as one run. */
static sl_status spill(sl_xsort *xs)
{
	sl_status s;
	if (!xs->n)
		return SL_OK;
	if (xs->fd < 0 && (s = open_tmp(xs)))
		return s;
	sort_slab(xs);
	const entry *e = entries(xs), *prev = NULL;
	uint64_t start = xs->wpos + xs->ofill;
	for (size_t i = 0; i < xs->n; i++) {
		const char *rec = xs->slab + e[i].off;
		if (xs->o.unique && prev &&
		    keycmp(xs, xs->slab + prev->off, prev->len, rec, e[i].len) == 0)
			continue;
		if ((s = write_rec(xs, rec, e[i].len)))
			return s;
		prev = &e[i];
	}
	if ((s = flush_chunk(xs)) || (s = flush_out(xs)))
		return s;
	xs->n = 0;
	xs->fill = 0;
	return push_run(xs, start, xs->wpos);
}

/* ---- the public interface -------------------------------------------------- */

static void *xalloc(sl_xsort *xs, size_t n, sl_status *s)
{
	void *p = sl_malloc(xs->b, n);
	if (!p)
		*s = SL_ENOMEM;
	return p;
}

static size_t budget_used_by(const sl_budget *b, size_t before)
{
	return b->used > before ? b->used - before : 0;
}

sl_status sl_xsort_new(sl_xsort **out, sl_budget *b, size_t max_bytes,
		       const sl_xsort_opts *opts, const char *tmpdir)
{
	sl_xsort_opts def = {.separator = SL_XSORT_BLANKS};
	sl_status s = SL_OK;
	*out = NULL;
	if (!opts)
		opts = &def;
	if (!b || !tmpdir || opts->separator < SL_XSORT_BLANKS ||
	    opts->separator > 255 || opts->fan_in == 1)
		return SL_EINVAL;
	if (max_bytes < SL_XSORT_MIN_BYTES)
		return SL_EBUDGET;
	/* What this sorter holds is measured on the budget's counter: the
	 * LZ4 contexts allocate on their own. (Callers sharing one budget
	 * between threads should give each sorter a child budget.) */
	size_t before = b->used;
	sl_xsort *xs = sl_calloc(b, 1, sizeof *xs);
	if (!xs)
		return SL_ENOMEM;
	xs->b = b;
	xs->max_bytes = max_bytes;
	xs->o = *opts;
	xs->fd = -1;
	xs->keyed = opts->key_field > 1 || opts->numeric || opts->cmp;
	xs->use_pfx = !opts->numeric && !opts->cmp;
	xs->tmpdir_len = strlen(tmpdir);
	if (!(xs->tmpdir = xalloc(xs, xs->tmpdir_len + 1, &s)))
		goto out;
	memcpy(xs->tmpdir, tmpdir, xs->tmpdir_len + 1);

	LZ4F_CustomMem cm = {lz_alloc, NULL, lz_free, b};
	xs->cctx = LZ4F_createCompressionContext_advanced(cm, LZ4F_VERSION);
	xs->dctx = LZ4F_createDecompressionContext_advanced(cm, LZ4F_VERSION);
	if (!xs->cctx || !xs->dctx) {
		s = SL_ENOMEM;
		goto out;
	}
	xs->prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	xs->prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	xs->prefs.compressionLevel = 0;
	xs->prefs.autoFlush = 1;

	size_t held = budget_used_by(b, before);
	size_t avail = max_bytes > held ? max_bytes - held : 0;
	size_t C = CHUNK_MAX;
	if (avail < 32 * CHUNK_MAX)
		C = (avail / 32) & ~(size_t)63;
	if (opts->run_bytes && C > opts->run_bytes / 4)
		C = opts->run_bytes / 4;
	if (C < CHUNK_MIN)
		C = CHUNK_MIN;
	xs->C = C;
	xs->scap = LZ4F_compressFrameBound(C, &xs->prefs) + HDR;
	xs->ocap = HDR + LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(C, &xs->prefs);
	if (xs->ocap < avail / 16 && avail / 16 < 64 * 1024)
		xs->ocap = avail / 16;
	else if (avail / 16 >= 64 * 1024 && xs->ocap < 64 * 1024)
		xs->ocap = 64 * 1024;
	xs->last_cap = C;
	if (!(xs->chunk = xalloc(xs, C, &s)) || !(xs->obuf = xalloc(xs, xs->ocap, &s)) ||
	    !(xs->scratch = xalloc(xs, xs->scap, &s)) ||
	    !(xs->last = xalloc(xs, xs->last_cap, &s)))
		goto out;

	/* Make the decompression context allocate its buffers now, so that
	 * they are counted before the slab takes the rest. */
	{
		size_t r = LZ4F_compressBegin(xs->cctx, xs->obuf, xs->ocap, &xs->prefs), t;
		t = LZ4F_isError(r) ? r : LZ4F_compressUpdate(xs->cctx, xs->obuf + r,
							       xs->ocap - r, "x", 1, NULL);
		if (!LZ4F_isError(t)) {
			r += t;
			t = LZ4F_compressEnd(xs->cctx, xs->obuf + r, xs->ocap - r, NULL);
		}
		char one[1];
		size_t ds = 1, ss = r + t;
		if (LZ4F_isError(r) || LZ4F_isError(t) ||
		    LZ4F_decompress(xs->dctx, one, &ds, xs->obuf, &ss, NULL) != 0) {
			/* fixed valid input: only an allocation can fail */
			s = SL_ENOMEM;
			LZ4F_resetDecompressionContext(xs->dctx);
			goto out;
		}
	}

	held = budget_used_by(b, before);
	avail = max_bytes > held ? max_bytes - held : 0;
	size_t per = C + sizeof(reader) + sizeof(uint32_t) + RUN_CAP_LEVELS * sizeof(run);
	size_t F = avail / per;
	if (opts->fan_in && F > opts->fan_in)
		F = opts->fan_in;
	if (F > 65536)
		F = 65536;
	if (F < 2) {
		s = SL_EBUDGET;
		goto out;
	}
	xs->runs_cap = (F - 1) * RUN_CAP_LEVELS + 1;
	xs->rd_cap = F;
	if (!(xs->rd = xalloc(xs, F * sizeof(reader), &s)) ||
	    !(xs->tree = xalloc(xs, F * sizeof(uint32_t), &s)) ||
	    !(xs->runs = xalloc(xs, xs->runs_cap * sizeof(run), &s)))
		goto out;
	held = budget_used_by(b, before);
	size_t slab = max_bytes > held ? max_bytes - held : 0;
	if (opts->run_bytes && slab > opts->run_bytes)
		slab = opts->run_bytes;
	if (slab > ((size_t)1 << 31))
		slab = (size_t)1 << 31;
	slab &= ~(size_t)15;
	if (slab / C < F)
		F = slab / C;
	if (F < 2) {
		s = SL_EBUDGET;
		goto out;
	}
	xs->F = (uint32_t)F;
	xs->slab_len = slab;
	if (!(xs->slab = xalloc(xs, slab, &s)))
		goto out;
	xs->st.fan_in = xs->F;
	xs->st.run_bytes = slab;
	*out = xs;
	return SL_OK;
out:
	sl_xsort_free(xs);
	return s;
}

sl_status sl_xsort_add(sl_xsort *xs, const char *rec, size_t len)
{
	sl_status s;
	if (xs->err)
		return xs->err;
	if (xs->state != ST_ADD || len > SL_XSORT_MAX_RECORD)
		return SL_EINVAL;
	/* An empty record still takes one byte, so that offsets (the
	 * tie-break for input order) are distinct. */
	size_t need = len + !len + sizeof(entry);
	if (xs->slab_len - xs->fill - xs->n * sizeof(entry) < need) {
		if ((s = spill(xs)))
			return s;
		if (need > xs->slab_len) {
			/* Longer than the slab: a run of its own, written from
			 * the caller's memory. */
			uint64_t start = xs->wpos + xs->ofill;
			if ((xs->fd < 0 && (s = open_tmp(xs))) ||
			    (s = write_rec(xs, rec, len)) || (s = flush_chunk(xs)) ||
			    (s = flush_out(xs)))
				return s;
			xs->st.records++;
			return push_run(xs, start, xs->wpos);
		}
	}
	memcpy(xs->slab + xs->fill, rec, len);
	entry *e = entries(xs) - 1;
	e->pfx = prefix(xs, rec, len);
	e->off = (uint32_t)xs->fill;
	e->len = (uint32_t)len;
	xs->fill += len + !len;
	xs->n++;
	xs->st.records++;
	return SL_OK;
}

sl_status sl_xsort_finish(sl_xsort *xs)
{
	sl_status s;
	if (xs->err)
		return xs->err;
	if (xs->state != ST_ADD)
		return SL_EINVAL;
	if (xs->fd < 0) {
		sort_slab(xs);
		xs->pos = 0;
		xs->state = ST_MEM;
		return SL_OK;
	}
	if ((s = spill(xs)))
		return s;
	while (xs->nruns > xs->F) {
		size_t count = xs->nruns - xs->F + 1;
		if (count > xs->F)
			count = xs->F;
		uint32_t top = 0;
		for (size_t i = xs->nruns - count; i < xs->nruns; i++)
			if (xs->runs[i].level > top)
				top = xs->runs[i].level;
		if ((s = merge_tail(xs, count, top + 1)))
			return s;
	}
	xs->have_last = 0;
	xs->started = 0;
	xs->state = ST_MERGE;
	return merge_open(xs, 0, (uint32_t)xs->nruns);
}

sl_status sl_xsort_next(sl_xsort *xs, const char **rec, size_t *len)
{
	sl_status s;
	*rec = NULL;
	*len = 0;
	if (xs->err)
		return xs->err;
	if (xs->state == ST_MEM) {
		const entry *e = entries(xs);
		while (xs->pos < xs->n) {
			const entry *c = &e[xs->pos++];
			if (xs->o.unique && xs->pos > 1 &&
			    keycmp(xs, xs->slab + c[-1].off, c[-1].len,
				   xs->slab + c->off, c->len) == 0)
				continue;
			*rec = xs->slab + c->off;
			*len = c->len;
			return SL_OK;
		}
		xs->state = ST_END;
		return SL_OK;
	}
	if (xs->state == ST_END)
		return SL_OK;
	if (xs->state != ST_MERGE)
		return SL_EINVAL;
	for (;;) {
		uint32_t w = xs->tree[0];
		reader *r = &xs->rd[w];
		if (xs->started) {
			if ((s = reader_next(xs, r)))
				return s;
			replay(xs, w);
			w = xs->tree[0];
			r = &xs->rd[w];
		}
		xs->started = 1;
		if (r->done) {
			merge_close(xs);
			xs->state = ST_END;
			return SL_OK;
		}
		if (dup_of_last(xs, r->rec, r->len))
			continue;
		if (xs->o.unique && (s = keep_last(xs, r->rec, r->len)))
			return s;
		*rec = r->rec;
		*len = r->len;
		return SL_OK;
	}
}

int sl_xsort_errno(const sl_xsort *xs)
{
	return xs->err == SL_EIO ? xs->err_no : 0;
}

void sl_xsort_stats_get(const sl_xsort *xs, sl_xsort_stats *st)
{
	*st = xs->st;
}

void sl_xsort_free(sl_xsort *xs)
{
	if (!xs)
		return;
	sl_budget *b = xs->b;
	merge_close(xs);
	if (xs->fd >= 0)
		close(xs->fd);
	if (xs->cctx)
		LZ4F_freeCompressionContext(xs->cctx);
	if (xs->dctx)
		LZ4F_freeDecompressionContext(xs->dctx);
	sl_free(b, xs->slab, xs->slab_len);
	sl_free(b, xs->runs, xs->runs_cap * sizeof(run));
	sl_free(b, xs->tree, xs->rd_cap * sizeof(uint32_t));
	sl_free(b, xs->rd, xs->rd_cap * sizeof(reader));
	sl_free(b, xs->last, xs->last_cap);
	sl_free(b, xs->scratch, xs->scap);
	sl_free(b, xs->obuf, xs->ocap);
	sl_free(b, xs->chunk, xs->C);
	sl_free(b, xs->tmpdir, xs->tmpdir_len + 1);
	sl_free(b, xs, sizeof *xs);
}
