/*
 * spill.c: the spill layer (sl_spill_*): temporary file, run writer, run
 * reader, heap merge and merge policy of xsort.c and exact.c. The
 * contract, the run format and the call order are in spill.h.
 */
#include "spill/spill.h"
#include "io/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <pthread.h>

#include "core/dynload.h"

/* XXH3 inlined (as in status.c): the blocks' checks */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* lz4 is opened with the first spill (lib/core/dynload.c). */
static struct {
	__typeof__(LZ4_compress_fast_extState) *compress_fast_extState;
	__typeof__(LZ4_decompress_safe) *decompress_safe;
} lz;
static pthread_once_t lz_once = PTHREAD_ONCE_INIT;
static bool lz_ok;

static void load_lz4(void)
{
	static const char *const names[] = {"LZ4_compress_fast_extState", "LZ4_decompress_safe"};
	lz_ok = sl_dynload("liblz4.so.1", names, 2, (void **)&lz);
}

#define LZ4_compress_fast_extState (*lz.compress_fast_extState)
#define LZ4_decompress_safe (*lz.decompress_safe)
/* the compressor's state, as LZ4_sizeofState() gives it, known at build */
#define LZ4_STATE_BYTES sizeof(LZ4_stream_t)
#include <string.h>
#include <unistd.h>

#define HDR SL_SPILL_HDR
#define RAW 0x80000000u		/* clen of a raw block */

static void put32le(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

static void put64le(char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (char)(v >> (8 * i));
}

static uint64_t get64le(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | u[i];
	return v;
}

/* A block's check: its header's lengths are the seed. */
static uint64_t check_seed(uint32_t clen, uint32_t rlen)
{
	return (uint64_t)clen << 32 | rlen;
}

static uint32_t get32le(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
	       (uint32_t)u[3] << 24;
}

static int getvar(const unsigned char **pp, const unsigned char *lim, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t x = 0;
	for (int sh = 0;; sh += 7) {
		if (p >= lim || sh > 63)
			return -1;
		unsigned char c = *p++;
		x |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			break;
	}
	*pp = p;
	*v = x;
	return 0;
}

/* ---- set-up ------------------------------------------------------------------ */

static size_t comp_bytes(size_t B)
{
	return HDR + (size_t)LZ4_COMPRESSBOUND((int)B);
}

size_t sl_spill_bytes(size_t B)
{
	return LZ4_STATE_BYTES + B + comp_bytes(B);
}

sl_status sl_spill_init(sl_spill *sp, sl_budget *b, size_t B, const char *tmpdir,
			const char *prefix, int counted, int grow, sl_xsort_stats *st)
{
	memset(sp, 0, sizeof *sp);
	sp->b = b;
	sp->tmpdir = tmpdir;
	sp->prefix = prefix;
	sp->counted = counted;
	sp->grow = grow;
	sp->fd = -1;
	sp->st = st;
	sp->B = B;
	sp->CB = comp_bytes(B);
	pthread_once(&lz_once, load_lz4);
	if (!lz_ok) {
		errno = ELIBACC; /* "Can not access a needed shared library" */
		return SL_EIO;
	}
	sp->lz_len = LZ4_STATE_BYTES;
	if (!(sp->lz = sl_malloc(b, sp->lz_len)) || !(sp->wraw = sl_malloc(b, B)) ||
	    !(sp->comp = sl_malloc(b, sp->CB))) {
		sl_spill_free(sp);
		return SL_ENOMEM;
	}
	return SL_OK;
}

void sl_spill_free(sl_spill *sp)
{
	if (!sp->b)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	sl_free(sp->b, sp->comp, sp->CB);
	sl_free(sp->b, sp->wraw, sp->B);
	sl_free(sp->b, sp->lz, sp->lz_len);
	sp->comp = sp->wraw = NULL;
	sp->lz = NULL;
}

/* ---- the file ------------------------------------------------------------------ */

static sl_status open_file(sl_spill *sp)
{
	if (sp->fd >= 0)
		return SL_OK;
	int err = 0;
	sl_status s = sl_tmp_open(sp->tmpdir, sp->prefix, sp->b, &sp->fd, &err);
	if (s != SL_OK) {
		sp->err_no = err;
		return s;
	}
	sp->holes = 1;
	return SL_OK;
}

sl_status sl_spill_append(sl_spill *sp, const char *p, size_t n)
{
	sl_status s;
	int err = 0;
	if ((s = open_file(sp)))
		return s;
	if ((s = sl_tmp_pwrite(sp->fd, p, n, sp->wpos, &err))) {
		sp->err_no = err;
		return s;
	}
	sp->wpos += n;
	sp->live += n;
	sp->st->temp_written += n;
	if (sp->live > sp->st->temp_peak)
		sp->st->temp_peak = sp->live;
	return SL_OK;
}

sl_status sl_spill_pread(sl_spill *sp, char *p, size_t n, uint64_t off)
{
	int err = 0;
	if (sp->fd < 0)
		return SL_ECORRUPT;
	sl_status s = sl_tmp_pread(sp->fd, p, n, off, &err);
	if (s == SL_EIO)
		sp->err_no = err;
	sp->st->temp_read += n;
	return s;
}

void sl_spill_release(sl_spill *sp, const sl_spill_run *runs, size_t n)
{
	uint64_t start = runs[0].start, end = runs[n - 1].end;
	if (!sp->holes || end <= start || sp->fd < 0)
		return;
	/* one hole over their span: the gaps between them are holes already
	 * (runs merged before), so only the runs' own bytes come back */
	if (fallocate(sp->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
		      (off_t)(end - start)) == 0) {
		for (size_t i = 0; i < n; i++)
			sp->live -= runs[i].end - runs[i].start;
	} else {
		sp->holes = 0;
	}
}

void sl_spill_truncate(sl_spill *sp)
{
	if (sp->fd >= 0 && ftruncate(sp->fd, 0) == 0)
		sp->live = 0;
	sp->wpos = 0;
	sp->wfill = 0;
}

/* ---- the writer ------------------------------------------------------------------ */

sl_status sl_spill_flush(sl_spill *sp)
{
	if (!sp->wfill)
		return SL_OK;
	int c = LZ4_compress_fast_extState(sp->lz, sp->wraw, sp->comp + HDR, (int)sp->wfill,
					   (int)(sp->CB - HDR), 1);
	uint32_t clen = (uint32_t)c;
	if (c <= 0 || (size_t)c >= sp->wfill) {
		memcpy(sp->comp + HDR, sp->wraw, sp->wfill);
		clen = RAW;
		c = (int)sp->wfill;
	}
	put32le(sp->comp, clen);
	put32le(sp->comp + 4, (uint32_t)sp->wfill);
	put64le(sp->comp + 8, XXH3_64bits_withSeed(sp->comp + HDR, (size_t)c,
						   check_seed(clen, (uint32_t)sp->wfill)));
	sp->wfill = 0;
	return sl_spill_append(sp, sp->comp, HDR + (size_t)c);
}

sl_status sl_spill_put(sl_spill *sp, const char *rec, size_t len, uint64_t count)
{
	sl_status s;
	char v[HDR + SL_SPILL_VARMAX];
	size_t vn = sl_spill_putvar(v + HDR, len);
	if (sp->counted)
		vn += sl_spill_putvar(v + HDR + vn, count);
	size_t need = vn + len;
	if (sp->wfill + need > sp->B && (s = sl_spill_flush(sp)))
		return s;
	if (need > sp->B) {
		/* a raw block of its own, from the caller's memory */
		if (need > UINT32_MAX)
			return SL_EINVAL;
		XXH3_state_t h;
		/* a state on the stack must be initialized before a seeded
		 * reset, which otherwise may keep a stale secret */
		XXH3_INITSTATE(&h);
		XXH3_64bits_reset_withSeed(&h, check_seed(RAW, (uint32_t)need));
		XXH3_64bits_update(&h, v + HDR, vn);
		XXH3_64bits_update(&h, rec, len);
		put32le(v, RAW);
		put32le(v + 4, (uint32_t)need);
		put64le(v + 8, XXH3_64bits_digest(&h));
		if ((s = sl_spill_append(sp, v, HDR + vn)) || (s = sl_spill_append(sp, rec, len)))
			return s;
		return SL_OK;
	}
	memcpy(sp->wraw + sp->wfill, v + HDR, vn);
	if (len)
		memcpy(sp->wraw + sp->wfill + vn, rec, len);
	sp->wfill += need;
	return SL_OK;
}

/* ---- the reader ------------------------------------------------------------------ */

static void drop_big(sl_spill *sp, sl_spill_reader *r)
{
	sl_free(sp->b, r->big, r->bigcap);
	r->big = NULL;
	r->bigcap = 0;
}

/* Reads n bytes at off into dst, and the next block's header after them
 * when the run has one and dst has room (room >= n). */
static sl_status read_with_hdr(sl_spill *sp, sl_spill_reader *r, char *dst, size_t room,
			       size_t n, uint64_t off)
{
	sl_status s;
	uint64_t next = off + n;
	int more = next + HDR <= r->end && room >= n + HDR;
	if ((s = sl_spill_pread(sp, dst, n + (more ? HDR : 0), off)))
		return s;
	if (more)
		memcpy(r->hdr, dst + n, HDR);
	r->have_hdr = more;
	return SL_OK;
}

/* Loads the block at r->off. */
static sl_status load_block(sl_spill *sp, sl_spill_reader *r)
{
	sl_status s;
	if (r->end - r->off < HDR)
		return SL_ECORRUPT;
	if (!r->have_hdr && (s = sl_spill_pread(sp, r->hdr, HDR, r->off)))
		return s;
	r->have_hdr = 0;
	uint32_t clen = get32le(r->hdr), rlen = get32le(r->hdr + 4);
	uint64_t check = get64le(r->hdr + 8);	/* r->hdr is reused below */
	int raw = clen == RAW;
	uint64_t body = raw ? rlen : clen, left = r->end - r->off - HDR;
	if (rlen == 0 || body > left || (!raw && (clen > sp->CB - HDR || rlen > sp->B)))
		return SL_ECORRUPT;
	uint64_t at = r->off + HDR;
	char *dst = r->buf;
	if (raw) {
		size_t room = r->cap;
		if (rlen > r->cap) {
			if (!sp->grow)
				return SL_ECORRUPT;	/* the caller planned for less */
			if (rlen > r->bigcap) {
				drop_big(sp, r);
				if (!(r->big = sl_malloc(sp->b, rlen)))
					return SL_ENOMEM;
				r->bigcap = rlen;
			}
			dst = r->big;
			room = r->bigcap;
		} else if (r->big) {
			drop_big(sp, r);
		}
		if ((s = read_with_hdr(sp, r, dst, room, rlen, at)))
			return s;
		if (XXH3_64bits_withSeed(dst, rlen, check_seed(clen, rlen)) != check)
			return SL_ECORRUPT;
	} else {
		if (r->big)
			drop_big(sp, r);
		if ((s = read_with_hdr(sp, r, sp->comp, sp->CB, clen, at)))
			return s;
		if (XXH3_64bits_withSeed(sp->comp, clen, check_seed(clen, rlen)) != check)
			return SL_ECORRUPT;
		int d = LZ4_decompress_safe(sp->comp, dst, (int)clen, (int)sp->B);
		if (d < 0 || (uint32_t)d != rlen)
			return SL_ECORRUPT;
	}
	r->off = at + body;
	r->p = (const unsigned char *)dst;
	r->lim = r->p + rlen;
	return SL_OK;
}

sl_status sl_spill_reader_next(sl_spill *sp, sl_spill_reader *r)
{
	sl_status s;
	if (r->p == r->lim) {
		if (r->off >= r->end) {
			r->done = 1;
			r->rec = NULL;
			r->len = 0;
			return SL_OK;
		}
		if ((s = load_block(sp, r)))
			return s;
	}
	uint64_t len, count = 0;
	if (getvar(&r->p, r->lim, &len) || (sp->counted && getvar(&r->p, r->lim, &count)) ||
	    len > (uint64_t)(r->lim - r->p) || (sp->counted && count == 0))
		return SL_ECORRUPT;
	r->rec = (const char *)r->p;
	r->len = (size_t)len;
	r->count = count;
	r->p += len;
	return SL_OK;
}

sl_status sl_spill_reader_open(sl_spill *sp, sl_spill_reader *r, const sl_spill_run *run,
			       char *buf, size_t cap)
{
	memset(r, 0, sizeof *r);
	r->off = run->start;
	r->end = run->end;
	r->buf = buf;
	r->cap = cap;
	return sl_spill_reader_next(sp, r);
}

void sl_spill_reader_close(sl_spill *sp, sl_spill_reader *r)
{
	drop_big(sp, r);
}

/* ---- the merge -------------------------------------------------------------------- */

/* Reader a's record goes before b's: by cmp, ties to the lower index. */
static inline int before(const sl_spill_merge *m, uint32_t a, uint32_t b)
{
	int c = m->cmp(m->ctx, &m->rd[a], &m->rd[b]);
	return c < 0 || (c == 0 && a < b);
}

static void sift_down(sl_spill_merge *m, size_t i)
{
	uint32_t *h = m->heap, x = h[i];
	size_t n = m->n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(m, h[c + 1], h[c]))
			c++;
		if (!before(m, h[c], x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

static void sift_up(sl_spill_merge *m, size_t i)
{
	uint32_t *h = m->heap, x = h[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(m, x, h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = x;
}

void sl_spill_merge_start(sl_spill_merge *m)
{
	m->n = 0;
	for (uint32_t i = 0; i < m->k; i++)
		sl_spill_merge_push(m, i);
}

int sl_spill_merge_top(const sl_spill_merge *m)
{
	return m->n ? (int)m->heap[0] : -1;
}

uint32_t sl_spill_merge_pop(sl_spill_merge *m)
{
	uint32_t w = m->heap[0];
	m->heap[0] = m->heap[--m->n];
	if (m->n)
		sift_down(m, 0);
	return w;
}

void sl_spill_merge_push(sl_spill_merge *m, uint32_t w)
{
	sl_spill_reader *r = &m->rd[w];
	if (r->done)
		return;
	if (m->prep)
		m->prep(m->ctx, r);
	m->heap[m->n] = w;
	sift_up(m, m->n++);
}

sl_status sl_spill_merge_advance(sl_spill *sp, sl_spill_merge *m)
{
	sl_spill_reader *r = &m->rd[m->heap[0]];
	sl_status s = sl_spill_reader_next(sp, r);
	if (s)
		return s;
	if (r->done) {
		(void)sl_spill_merge_pop(m);
	} else {
		if (m->prep)
			m->prep(m->ctx, r);
		sift_down(m, 0);
	}
	return SL_OK;
}

/* ---- the policy --------------------------------------------------------------------- */

size_t sl_spill_due(const sl_spill_run *runs, size_t n, size_t cap, uint32_t f,
		    uint32_t *level)
{
	if (n < f || f < 2)
		return 0;
	uint32_t top = 0;
	int same = 1;
	for (size_t i = n - f; i < n; i++) {
		if (runs[i].level != runs[n - 1].level)
			same = 0;
		if (runs[i].level > top)
			top = runs[i].level;
	}
	if (!same && n < cap)
		return 0;
	*level = top + 1;
	return f;
}

size_t sl_spill_tail(const sl_spill_run *runs, size_t n, size_t keep, uint32_t f,
		     uint32_t *level)
{
	if (n <= keep)
		return 0;
	size_t count = n - keep + 1;
	if (count > f)
		count = f;
	uint32_t top = 0;
	for (size_t i = n - count; i < n; i++)
		if (runs[i].level > top)
			top = runs[i].level;
	*level = top + 1;
	return count;
}
