/*
 * framer.c: the line framer (sl_framer_*), the one place where input bytes
 * become lines: the engine's reader and its byte ranges, `sluice sort` and
 * `sluice dedup` all frame through it, and a live socket will too.
 *
 * Push-style, so it works on any chunking: the caller pushes what it read,
 * takes frames until the push is used up, and at the end of the input calls
 * sl_framer_end and takes the last frames (call order in sluice.h). The
 * result depends on the bytes only: a push of one byte at a time gives the
 * same lines, numbers and oversized counts as one push of everything (for a
 * runs framer, the same lines cut into other runs). tests/test_framer.c
 * checks this against a naive splitter on seeded random chunkings.
 *
 * State, between calls: where the next line starts (next_start, an offset
 * from the input's start), whether the framer is inside a line to skip
 * (S_SKIP: an oversized one; S_LEAD: the partial line a byte range starts
 * in), and the tail: the bytes of the unfinished line a push ended in,
 * copied into storage from the caller's budget (grown by doubling, at most
 * max_line + 1 bytes: a tail never holds more than max_line bytes, and a
 * line completed in storage adds its '\n' for a runs frame).
 *
 * One oversize policy, judged here only: a line of more than max_line bytes
 * (its '\n' not counted) is skipped; it is counted (line number and
 * oversized count) as soon as its first max_line + 1 bytes are seen, and the
 * next frame reports it in `skipped` (or a frame of its own with no lines,
 * when the push or the input ends first), so a caller that numbers lines
 * itself adds it before that frame's lines.
 *
 * Runs without copying: a runs frame is the longest stretch of whole lines
 * in the push that holds no oversized line. Proving that every line in it
 * is short does not need every line end: from a line start s, the last
 * '\n' in [s, s + max_line] (memrchr, found a line or so back from the
 * window's end) ends a stretch whose lines are all at most max_line bytes;
 * the next window starts after it. The bytes memrchr passes over hold no
 * '\n', so they lie before the next window's last '\n' and are never
 * searched twice: the check reads about one line per max_line bytes, and
 * the frame's lines are then counted with the SIMD counter
 * (sl_count_lines, about 0.3 instructions a byte, 2.4% of a -j 1 report:
 * an input begun SL_FRAMER_UNNUMBERED skips it, for a consumer that numbers
 * the lines itself as it reads them). A lines frame needs each end anyway
 * (memchr).
 *
 * Headroom: a runs frame must be contiguous for callers that hand it to
 * another thread. A push may say that `headroom` bytes before its buffer
 * are the framer's to write: the tail is then copied there, just before the
 * bytes that finish its line, and the frame starts with it. Otherwise the
 * line a tail began is finished in storage and comes out as a frame of its
 * own.
 *
 * Byte ranges: sl_framer_begin's mid_line drops the bytes before the first
 * '\n' (the line belongs to the range before), and stop ends the framing at
 * the first line that starts at or past it, after finishing the line that
 * crosses it: a file cut at any offsets is framed exactly once, line by
 * line, across its ranges.
 *
 * Memory: only the tail storage, from the budget given at init;
 * sl_framer_reserve takes it up front for callers that must not fail
 * later. A refused growth returns SL_ENOMEM from sl_framer_next with
 * nothing consumed.
 */
#include "sluice.h"

#include <string.h>

enum { S_LINE, S_SKIP, S_LEAD, S_DONE };

void sl_framer_init(sl_framer *f, sl_budget *b, sl_framer_kind kind, size_t max_line)
{
	memset(f, 0, sizeof *f);
	f->budget = b;
	f->kind = kind;
	f->max_line = max_line < 1 ? 1 : max_line > SIZE_MAX / 2 ? SIZE_MAX / 2 : max_line;
	sl_framer_begin(f, 0, false, UINT64_MAX);
}

/* Makes the storage hold at least need bytes (need <= max_line + 1). */
static sl_status grow(sl_framer *f, size_t need)
{
	if (need <= f->tail_cap)
		return SL_OK;
	size_t most = f->max_line + 1;
	size_t cap = f->tail_cap < 64 ? 64 : f->tail_cap;
	while (cap < need)
		cap = cap > most / 2 ? most : cap * 2;
	if (cap > most)
		cap = most;
	char *t = sl_realloc(f->budget, f->tail, f->tail_cap, cap);
	if (!t)
		return SL_ENOMEM;
	f->tail = t;
	f->tail_cap = cap;
	return SL_OK;
}

sl_status sl_framer_reserve(sl_framer *f, size_t bytes)
{
	return grow(f, bytes > f->max_line + 1 ? f->max_line + 1 : bytes);
}

void sl_framer_begin(sl_framer *f, uint64_t lines_before, bool mid_line, uint64_t stop)
{
	f->tail_len = 0;
	f->buf = ""; /* never NULL: next() does arithmetic on it */
	f->len = f->pos = f->headroom = 0;
	f->base = f->next_start = 0;
	f->stop = stop;
	f->numbered = lines_before != SL_FRAMER_UNNUMBERED;
	f->line = f->numbered ? lines_before : 0;
	f->oversized = f->unreported = 0;
	f->state = mid_line ? S_LEAD : S_LINE;
	f->ended = false;
}

sl_status sl_framer_push(sl_framer *f, const char *buf, size_t len, size_t headroom)
{
	if (f->pos != f->len || f->ended)
		return SL_EINVAL;
	f->base += f->len;
	f->buf = buf ? buf : "";
	f->len = len;
	f->pos = 0;
	f->headroom = headroom;
	return SL_OK;
}

sl_status sl_framer_end(sl_framer *f)
{
	if (f->pos != f->len)
		return SL_EINVAL;
	f->ended = true;
	return SL_OK;
}

/* Counts one oversized line. */
static void oversize(sl_framer *f)
{
	f->line += f->numbered;
	f->oversized++;
	f->unreported++;
	f->tail_len = 0;
}

/* The next line starts at buf[pos]. */
static void line_starts(sl_framer *f, size_t pos)
{
	f->pos = pos;
	f->next_start = f->base + pos;
}

/* Fills out with lines lines at data (skipped lines before them). */
static void frame(sl_framer *f, sl_frame *out, const char *data, size_t len, uint64_t lines)
{
	out->data = data;
	out->len = len;
	out->skipped = f->unreported;
	f->unreported = 0;
	if (!f->numbered)
		return;
	out->first = f->line + 1;
	out->lines = lines;
	f->line += lines;
}

/* Keeps buf[pos .. len) as the tail (no '\n' in it, at most max_line). */
static sl_status keep_tail(sl_framer *f)
{
	size_t n = f->len - f->pos;
	if (grow(f, f->tail_len + n) != SL_OK)
		return SL_ENOMEM;
	memcpy(f->tail + f->tail_len, f->buf + f->pos, n);
	f->tail_len += n;
	f->pos = f->len;
	return SL_OK;
}

/*
 * A runs frame from s0 (in the push, or in the headroom just before it)
 * up to the last line end that keeps every line short and starts no line
 * past stop; what follows it (a tail, an oversized line) is handled by the
 * next call. Returns true when *out is a frame.
 */
static bool run(sl_framer *f, const char *s0, sl_frame *out)
{
	const char *buf = f->buf, *end = buf + f->len, *lim = end;
	bool finish = false;
	if (f->stop <= f->base + f->len) { /* stop lies in this push, or before it */
		/* s0 starts a line, so it lies before stop: the line that
		 * holds byte stop - 1 is the last one framed */
		const char *from = s0 + (f->stop - 1 - f->next_start);
		const char *nl = memchr(from, '\n', (size_t)(end - from));
		if (nl) { /* ends the line crossing stop, the input's last */
			lim = nl + 1;
			finish = true;
		}
	}
	const char *s = s0;
	size_t win = 0;
	while (s < lim) {
		win = (size_t)(lim - s) > f->max_line + 1 ? f->max_line + 1 : (size_t)(lim - s);
		const char *q = memrchr(s, '\n', win);
		if (!q)
			break;
		s = q + 1;
	}
	if (s > s0) {
		frame(f, out, s0, (size_t)(s - s0),
		      f->numbered ? sl_count_lines(s0, (size_t)(s - s0)) : 0);
		line_starts(f, (size_t)(s - buf));
		if (finish && s == lim)
			f->state = S_DONE;
		return true;
	}
	if (s == lim) { /* nothing left: the push is used up, or stop */
		f->pos = (size_t)(lim - buf);
		if (finish)
			f->state = S_DONE;
	} else if (win == f->max_line + 1) { /* no '\n' in max_line + 1 bytes */
		oversize(f);
		f->state = S_SKIP;
		f->pos = (size_t)(s - buf) + win;
	}
	return false; /* else a tail: the caller keeps it */
}

sl_status sl_framer_next(sl_framer *f, sl_frame *out)
{
	memset(out, 0, sizeof *out);
	for (;;) {
		const char *p = f->buf + f->pos, *end = f->buf + f->len;
		if (f->state == S_DONE) {
			f->pos = f->len;
			f->tail_len = 0;
			break;
		}
		if (f->state == S_SKIP || f->state == S_LEAD) {
			const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
			if (!nl) {
				f->pos = f->len;
				break;
			}
			line_starts(f, (size_t)(nl + 1 - f->buf));
			f->state = S_LINE;
			continue;
		}
		if (f->next_start >= f->stop) {
			f->state = S_DONE;
			continue;
		}
		if (p == end) {
			if (f->ended && f->tail_len) { /* the last line, no '\n' */
				frame(f, out, f->tail, f->tail_len, 1);
				f->tail_len = 0;
				return SL_OK;
			}
			break;
		}
		if (f->tail_len) { /* finish the line an earlier push began */
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t add = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (f->tail_len + add > f->max_line) {
				oversize(f);
				if (nl) {
					line_starts(f, (size_t)(nl + 1 - f->buf));
				} else {
					f->state = S_SKIP;
					f->pos = f->len;
				}
				continue;
			}
			if (!nl) {
				if (keep_tail(f) != SL_OK)
					return SL_ENOMEM;
				continue;
			}
			if (f->kind == SL_FRAMER_RUNS && f->pos == 0 && f->headroom >= f->tail_len) {
				char *at = (char *)(uintptr_t)f->buf - f->tail_len;
				memcpy(at, f->tail, f->tail_len);
				f->tail_len = 0;
				if (run(f, at, out))
					return SL_OK;
				continue;
			}
			size_t with_nl = f->kind == SL_FRAMER_RUNS;
			if (grow(f, f->tail_len + add + with_nl) != SL_OK)
				return SL_ENOMEM;
			memcpy(f->tail + f->tail_len, p, add + with_nl);
			frame(f, out, f->tail, f->tail_len + add + with_nl, 1);
			f->tail_len = 0;
			line_starts(f, (size_t)(nl + 1 - f->buf));
			return SL_OK;
		}
		if (f->kind == SL_FRAMER_RUNS) {
			if (run(f, p, out))
				return SL_OK;
			if (f->pos == (size_t)(p - f->buf) && f->state == S_LINE) {
				/* neither a line nor an oversized one: a tail */
				if (keep_tail(f) != SL_OK)
					return SL_ENOMEM;
			}
			continue;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			if ((size_t)(end - p) > f->max_line) {
				oversize(f);
				f->state = S_SKIP;
				f->pos = f->len;
			} else if (keep_tail(f) != SL_OK) {
				return SL_ENOMEM;
			}
			continue;
		}
		if ((size_t)(nl - p) > f->max_line) {
			oversize(f);
			line_starts(f, (size_t)(nl + 1 - f->buf));
			continue;
		}
		frame(f, out, p, (size_t)(nl - p), 1);
		line_starts(f, (size_t)(nl + 1 - f->buf));
		return SL_OK;
	}
	if (f->unreported) /* skipped lines with no line after them yet */
		frame(f, out, NULL, 0, 0);
	return SL_OK;
}

size_t sl_framer_pending(const sl_framer *f)
{
	return f->state == S_LINE ? f->tail_len : 0;
}

uint64_t sl_framer_position(const sl_framer *f)
{
	return f->line;
}

uint64_t sl_framer_oversized(const sl_framer *f)
{
	return f->oversized;
}

bool sl_framer_done(const sl_framer *f)
{
	return f->state == S_DONE;
}

void sl_framer_free(sl_framer *f)
{
	if (!f || !f->tail)
		return;
	sl_free(f->budget, f->tail, f->tail_cap);
	f->tail = NULL;
	f->tail_cap = f->tail_len = 0;
}
