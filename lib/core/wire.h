/*
 * wire.h: library-internal byte codec for state files (sl_wire_*), and the
 * per-module encoders/loaders that lib/report/state.c strings together. Not part of
 * the public interface (include/sluice.h); only lib/ includes it.
 *
 * Writer: a growable little-endian output buffer whose memory comes from an
 * sl_budget. A writer with `counting` set stores nothing and only sums the
 * bytes it would write, so an encoder can be run once to size the buffer
 * exactly and once to fill it (no doubling, no slack). A failed reservation
 * sets `failed`; later writes are ignored, so encoders need no error checks
 * and the caller tests `failed` once at the end.
 *
 * A streaming writer (sl_wire_init_stream) has no budget: buf is the
 * caller's fixed buffer of cap bytes, and each time it fills, and at
 * sl_wire_flush, its bytes are handed to the caller's flush hook (which
 * may write them to a file and hash them) and the buffer is reused; `len`
 * still counts every byte written, so an encoder may size its sections by
 * differences of len. A hook returning false fails the writer. Patching is
 * not available in a streaming writer (it is a no-op).
 *
 * Reader: a cursor over caller-owned bytes. Every read checks the bytes left;
 * a short read sets the sticky `bad` flag, returns zero and consumes nothing,
 * so decoders may read a fixed record and test `bad` once. sl_wire_need()
 * checks that `count` items of `size` bytes remain (overflow-safe) before a
 * decoder loops or allocates on a count it read: no length is used unchecked.
 *
 * Integers are little-endian on every host; doubles are their IEEE-754 bit
 * patterns as u64.
 */
#ifndef SLUICE_WIRE_H
#define SLUICE_WIRE_H

#include "sluice.h"

typedef struct {
	sl_budget *budget;
	uint8_t *buf;		/* NULL while counting or before the first write */
	size_t len;		/* bytes written (or counted) */
	size_t cap;		/* bytes allocated */
	bool counting;		/* count only, store nothing */
	bool failed;		/* a reservation failed; writes are ignored */
	/* streaming (sl_wire_init_stream): buf[0 .. held) waits for flush */
	bool (*flush)(void *ctx, const uint8_t *p, size_t n);
	void *ctx;
	size_t held;
} sl_wire_writer;

typedef struct {
	const uint8_t *p;
	size_t left;
	bool bad;		/* a read ran past the end */
} sl_wire_reader;

/* Writer. init(counting) -> reserve? -> put* -> take or release. */
void sl_wire_init(sl_wire_writer *w, sl_budget *b, bool counting);
/* Makes room for n more bytes; false (and `failed`) if the budget refuses. */
bool sl_wire_reserve(sl_wire_writer *w, size_t n);
void sl_wire_bytes(sl_wire_writer *w, const void *p, size_t n);
void sl_wire_u8(sl_wire_writer *w, uint8_t v);
void sl_wire_u16(sl_wire_writer *w, uint16_t v);
void sl_wire_u32(sl_wire_writer *w, uint32_t v);
void sl_wire_u64(sl_wire_writer *w, uint64_t v);
void sl_wire_i64(sl_wire_writer *w, int64_t v);
void sl_wire_f64(sl_wire_writer *w, double v);
/* Streaming writer: init_stream(buf, cap >= 1, flush, ctx) -> put* ->
 * flush. sl_wire_flush hands the held bytes to the hook; returns false when
 * the writer has failed (a hook said so). Nothing to release. */
void sl_wire_init_stream(sl_wire_writer *w, uint8_t *buf, size_t cap,
			 bool (*flush)(void *ctx, const uint8_t *p, size_t n), void *ctx);
bool sl_wire_flush(sl_wire_writer *w);
/* Overwrites 4 or 8 bytes at offset at (< len) in place. */
void sl_wire_patch_u64(sl_wire_writer *w, size_t at, uint64_t v);
/* Frees the buffer (sizes known to the writer). */
void sl_wire_release(sl_wire_writer *w);

/* Reader. */
void sl_wire_reader_init(sl_wire_reader *r, const void *p, size_t n);
bool sl_wire_need(sl_wire_reader *r, uint64_t count, size_t size);
/* Points *p at the next n bytes and skips them; NULL and `bad` if short. */
const uint8_t *sl_wire_take(sl_wire_reader *r, size_t n);
uint8_t sl_wire_get_u8(sl_wire_reader *r);
uint16_t sl_wire_get_u16(sl_wire_reader *r);
uint32_t sl_wire_get_u32(sl_wire_reader *r);
uint64_t sl_wire_get_u64(sl_wire_reader *r);
int64_t sl_wire_get_i64(sl_wire_reader *r);
double sl_wire_get_f64(sl_wire_reader *r);

/* Raw little-endian loads and stores (no bounds: callers have checked). */
uint32_t sl_wire_le32(const uint8_t *p);
uint64_t sl_wire_le64(const uint8_t *p);
void sl_wire_put_le32(uint8_t *p, uint32_t v);
void sl_wire_put_le64(uint8_t *p, uint64_t v);

/* ---- per-module codecs (each defined at the end of its module) ---------
 *
 * encode: appends the structure to w; never fails (the writer records a
 * failed reservation).
 *
 * load: reads one encoded structure from r and MERGES it into dst, which
 * the caller created empty: the result is what decoding into a sketch of the
 * encoded parameters and then calling the module's merge would give, and
 * when dst has the encoded parameters it is the encoded sketch itself. The
 * bytes are validated before they are used. Returns SL_OK; SL_ECORRUPT with
 * *why set (a static string) for bytes that are short or describe an
 * impossible sketch; SL_ENOMEM when the sketch does not fit the budget;
 * SL_EINVAL when dst is not empty. On failure dst may be partly loaded: the
 * caller frees it (lib/report/state.c frees the whole report).
 */
/* The precision h, or d's HLL, was created with (folds lower the current
 * one): sl_report_new_p's hll_p for a report's counters. */
int sl_hll_created_precision(const sl_hll *h);
int sl_distinct_created_precision(const sl_distinct *d);

void sl_hll_encode(const sl_hll *h, sl_wire_writer *w);
sl_status sl_hll_load(sl_hll *dst, sl_wire_reader *r, const char **why);
/* The six-bit packed HLL of state version 3 (distinct counter mode 2). */
sl_status sl_hll_load_packed(sl_hll *dst, sl_wire_reader *r, const char **why);
/* The one-byte-a-register HLL of state versions 1 and 2; loads as merged. */
sl_status sl_hll_load_v2(sl_hll *dst, sl_wire_reader *r, const char **why);

void sl_distinct_encode(const sl_distinct *d, sl_wire_writer *w);
sl_status sl_distinct_load(sl_distinct *dst, sl_wire_reader *r, const char **why);

void sl_kll_encode(const sl_kll *s, sl_wire_writer *w);
sl_status sl_kll_load(sl_kll *dst, sl_wire_reader *r, const char **why);

void sl_relq_encode(const sl_relq *s, sl_wire_writer *w);
sl_status sl_relq_load(sl_relq *dst, sl_wire_reader *r, const char **why);

void sl_series_encode(const sl_series *s, sl_wire_writer *w);
sl_status sl_series_load(sl_series *dst, sl_wire_reader *r, const char **why);

/* Moves t's pending Space-Saving hits into its order first (its content
 * does not change, its bookkeeping does): not while another thread reads t. */
void sl_topk_encode(const sl_topk *t, sl_wire_writer *w);
sl_status sl_topk_load(sl_topk *dst, sl_wire_reader *r, const char **why);

void sl_groups_encode(const sl_groups *g, sl_wire_writer *w);
sl_status sl_groups_load(sl_groups *dst, sl_wire_reader *r, const char **why);

#endif
