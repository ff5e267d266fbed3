/*
 * wire.c: the little-endian byte codec under the state format (sl_wire_*).
 * The contract is in lib/core/wire.h; the format itself in docs/state-format.md.
 *
 * Memory: the writer's first reservation is exact and later ones double the
 * buffer through sl_realloc, so a caller that reserves the size a counting
 * pass found (lib/report/state.c does) gets a buffer of exactly that size. A refused
 * growth leaves the bytes written so far intact and marks the writer failed.
 * A streaming writer allocates nothing: its memory is the caller's buffer.
 * The reader allocates nothing.
 */
#include "core/wire.h"

#include <string.h>

/* ---- raw little-endian access ------------------------------------------ */

uint32_t sl_wire_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint64_t sl_wire_le64(const uint8_t *p)
{
	return (uint64_t)sl_wire_le32(p) | (uint64_t)sl_wire_le32(p + 4) << 32;
}

void sl_wire_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void sl_wire_put_le64(uint8_t *p, uint64_t v)
{
	sl_wire_put_le32(p, (uint32_t)v);
	sl_wire_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- writer ------------------------------------------------------------- */

void sl_wire_init(sl_wire_writer *w, sl_budget *b, bool counting)
{
	memset(w, 0, sizeof *w);
	w->budget = b;
	w->counting = counting;
}

void sl_wire_init_stream(sl_wire_writer *w, uint8_t *buf, size_t cap,
			 bool (*flush)(void *ctx, const uint8_t *p, size_t n), void *ctx)
{
	memset(w, 0, sizeof *w);
	w->buf = buf;
	w->cap = cap;
	w->flush = flush;
	w->ctx = ctx;
}

bool sl_wire_flush(sl_wire_writer *w)
{
	if (w->failed)
		return false;
	if (w->flush && w->held) {
		if (!w->flush(w->ctx, w->buf, w->held))
			w->failed = true;
		w->held = 0;
	}
	return !w->failed;
}

/* Appends to a streaming writer, flushing each time the buffer fills. */
static void stream_bytes(sl_wire_writer *w, const uint8_t *p, size_t n)
{
	while (n && !w->failed) {
		size_t k = w->cap - w->held;
		if (k > n)
			k = n;
		memcpy(w->buf + w->held, p, k);
		w->held += k;
		w->len += k;
		p += k;
		n -= k;
		if (w->held == w->cap)
			sl_wire_flush(w);
	}
}

bool sl_wire_reserve(sl_wire_writer *w, size_t n)
{
	if (w->failed)
		return false;
	if (w->flush)
		return true; /* nothing to reserve: the buffer is reused */
	if (n > SIZE_MAX - w->len) {
		w->failed = true;
		return false;
	}
	if (w->counting || w->len + n <= w->cap)
		return true;
	/* The first reservation is exact (a counting pass sized it); later
	 * growth doubles. */
	size_t cap = w->len + n;
	if (w->buf && w->cap <= SIZE_MAX / 2 && w->cap * 2 > cap)
		cap = w->cap * 2;
	uint8_t *buf = sl_realloc(w->budget, w->buf, w->cap, cap);
	if (!buf) {
		w->failed = true;
		return false;
	}
	w->buf = buf;
	w->cap = cap;
	return true;
}

void sl_wire_bytes(sl_wire_writer *w, const void *p, size_t n)
{
	if (w->flush) {
		stream_bytes(w, p, n);
		return;
	}
	if (!n || !sl_wire_reserve(w, n))
		return;
	if (!w->counting)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void sl_wire_u8(sl_wire_writer *w, uint8_t v)
{
	sl_wire_bytes(w, &v, 1);
}

void sl_wire_u16(sl_wire_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	sl_wire_bytes(w, b, 2);
}

void sl_wire_u32(sl_wire_writer *w, uint32_t v)
{
	uint8_t b[4];
	sl_wire_put_le32(b, v);
	sl_wire_bytes(w, b, 4);
}

void sl_wire_u64(sl_wire_writer *w, uint64_t v)
{
	uint8_t b[8];
	sl_wire_put_le64(b, v);
	sl_wire_bytes(w, b, 8);
}

void sl_wire_i64(sl_wire_writer *w, int64_t v)
{
	sl_wire_u64(w, (uint64_t)v);
}

void sl_wire_f64(sl_wire_writer *w, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	sl_wire_u64(w, u);
}

void sl_wire_patch_u64(sl_wire_writer *w, size_t at, uint64_t v)
{
	if (!w->flush && !w->counting && !w->failed && at <= w->len && w->len - at >= 8)
		sl_wire_put_le64(w->buf + at, v);
}

void sl_wire_release(sl_wire_writer *w)
{
	if (w->flush)
		return; /* the caller's buffer */
	sl_free(w->budget, w->buf, w->cap);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* ---- reader ------------------------------------------------------------- */

void sl_wire_reader_init(sl_wire_reader *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->bad = false;
}

bool sl_wire_need(sl_wire_reader *r, uint64_t count, size_t size)
{
	if (r->bad)
		return false;
	if (size && count > r->left / size) {
		r->bad = true;
		return false;
	}
	return true;
}

const uint8_t *sl_wire_take(sl_wire_reader *r, size_t n)
{
	if (r->bad || n > r->left) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t sl_wire_get_u8(sl_wire_reader *r)
{
	const uint8_t *p = sl_wire_take(r, 1);
	return p ? p[0] : 0;
}

uint16_t sl_wire_get_u16(sl_wire_reader *r)
{
	const uint8_t *p = sl_wire_take(r, 2);
	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t sl_wire_get_u32(sl_wire_reader *r)
{
	const uint8_t *p = sl_wire_take(r, 4);
	return p ? sl_wire_le32(p) : 0;
}

uint64_t sl_wire_get_u64(sl_wire_reader *r)
{
	const uint8_t *p = sl_wire_take(r, 8);
	return p ? sl_wire_le64(p) : 0;
}

int64_t sl_wire_get_i64(sl_wire_reader *r)
{
	return (int64_t)sl_wire_get_u64(r);
}

double sl_wire_get_f64(sl_wire_reader *r)
{
	uint64_t u = sl_wire_get_u64(r);
	double v;
	memcpy(&v, &u, sizeof v);
	return v;
}
