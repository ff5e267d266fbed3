/*
 * fuzz_framer.c: libFuzzer target for the line framer (lib/io/framer.c).
 *
 * The first four bytes choose the framing: max_line (1 .. 64), the kind
 * (lines or runs), numbered or not, the headroom offered (none, a little,
 * max_line), a stop offset (or none) and the seed of the chunk sizes; the
 * rest is the input. It is pushed in chunks, each copied into its own
 * malloc'd buffer (so ASan sees a read past it), and every frame is checked
 * at once against a naive splitter walking the same input: the same line
 * bytes, numbers (when numbered) and skipped (oversized) lines, in order,
 * and nothing left over at the end. A mismatch aborts.
 *
 * Build and run: scripts/fuzz.sh fuzz_framer (corpus in fuzz/corpus/fuzz_framer).
 */
#include "sluice.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The naive splitter's position in the input. */
typedef struct {
	const char *in;
	size_t n, at;		/* the next line starts at in[at] */
	size_t max_line;
	uint64_t stop, number;
} naive;

/* The next line of the reference: its bytes, or NULL for an oversized one;
 * false when there is none (end of input, or stop). */
static bool next_line(naive *v, const char **p, size_t *len, bool *nl)
{
	if (v->at >= v->n || v->at >= v->stop)
		return false;
	size_t j = v->at;
	while (j < v->n && v->in[j] != '\n')
		j++;
	*len = j - v->at;
	*p = *len > v->max_line ? NULL : v->in + v->at;
	*nl = j < v->n;
	v->at = j + 1;
	v->number++;
	return true;
}

static void check(naive *v, const sl_frame *fr, sl_framer_kind kind, bool numbered)
{
	const char *p;
	size_t len;
	bool nl;
	if (numbered && fr->first != v->number + fr->skipped + 1)
		abort();
	for (uint64_t k = 0; k < fr->skipped; k++)
		if (!next_line(v, &p, &len, &nl) || p)
			abort();
	if (!fr->data)
		return;
	size_t i = 0;
	uint64_t lines = 0;
	do {
		if (!next_line(v, &p, &len, &nl) || !p)
			abort();
		size_t want = len + (kind == SL_FRAMER_RUNS && nl);
		if (i + want > fr->len || memcmp(fr->data + i, p, len) != 0)
			abort();
		if (kind == SL_FRAMER_RUNS && nl && fr->data[i + len] != '\n')
			abort();
		i += want;
		lines++;
	} while (kind == SL_FRAMER_RUNS && i < fr->len);
	if (i != fr->len || (numbered && lines != fr->lines))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	size_t max_line = 1 + data[0] % 64;
	sl_framer_kind kind = data[1] & 1 ? SL_FRAMER_RUNS : SL_FRAMER_LINES;
	bool numbered = !(data[1] & 2);
	size_t headroom = (data[1] >> 2) % 3 == 0 ? 0 : (data[1] >> 2) % 3 == 1 ? 3 : max_line;
	uint32_t seed = data[3] | 1u;
	const char *in = (const char *)data + 4;
	size_t n = size - 4;
	uint64_t stop = data[2] < 128 ? UINT64_MAX : (uint64_t)(data[2] - 128) * n / 127;

	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_framer f;
	sl_framer_init(&f, &b, kind, max_line);
	sl_framer_begin(&f, numbered ? 0 : SL_FRAMER_UNNUMBERED, false, stop);
	naive v = {in, n, 0, max_line, stop, 0};
	size_t at = 0;
	for (bool more = true; more;) {
		sl_frame fr;
		char *mem = NULL;
		if (at < n) {
			seed = seed * 1103515245u + 12345u;
			size_t len = 1 + (seed >> 16) % (2 * max_line + 2);
			if (len > n - at)
				len = n - at;
			mem = malloc(headroom + len);
			if (!mem)
				abort();
			memcpy(mem + headroom, in + at, len);
			if (sl_framer_push(&f, mem + headroom, len, headroom) != SL_OK)
				abort();
			at += len;
		} else {
			if (sl_framer_end(&f) != SL_OK)
				abort();
			more = false;
		}
		while (sl_framer_next(&f, &fr) == SL_OK && (fr.data || fr.skipped))
			check(&v, &fr, kind, numbered);
		free(mem);
	}
	const char *p;
	size_t len;
	bool nl;
	if (next_line(&v, &p, &len, &nl)) /* a line the framer never gave */
		abort();
	if (sl_framer_position(&f) != (numbered ? v.number : 0))
		abort();
	sl_framer_free(&f);
	if (b.used != 0)
		abort();
	return 0;
}
