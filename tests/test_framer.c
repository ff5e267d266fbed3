/*
 * test_framer.c: the line framer (lib/io/framer.c) against a naive splitter.
 *
 * The reference cuts the whole input at every '\n' in one loop and lists
 * events: a line (its bytes, its number, whether it had a '\n') or an
 * oversized line skipped (its number). The framer's frames are turned into
 * the same list (a runs frame cut into lines here, in the test, with a
 * plain loop) and both lists must be equal, with the framer's final
 * position and oversized count. Inputs are generated lines of random
 * lengths around max_line (empty lines, exactly max_line and max_line + 1,
 * '\r', NUL bytes, with or without a last '\n'), pushed in seeded random
 * chunkings (one byte at a time, small, large, all at once), each chunk in
 * its own malloc'd buffer (so ASan sees a read past it) that is scribbled
 * over once its frames are taken (so a frame pointing at stale bytes
 * shows), for both kinds of frame, with headroom or not, with byte-range
 * starts (mid_line) and stops, and a numbering that resumes (lines_before).
 *
 * Also: a runs frame of more than one line lies in the push (zero-copy);
 * with headroom every frame does but a last line without '\n'; SL_ENOMEM
 * consumes nothing and the framer goes on after the budget grows; a file
 * cut into ranges at every offset frames each line exactly once; and the
 * checker itself catches a wrong line, number or count.
 *
 * The seed is printed; SLUICE_SEED=<n> replays a run.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
	const char *p; /* NULL: an oversized line skipped */
	size_t len;
	uint64_t number;
	bool nl;
} event;

typedef struct {
	event *ev;
	size_t n, cap;
	char *bytes; /* copies of the framer's lines (frames do not last) */
	size_t nbytes, bytes_cap;
	uint64_t position, oversized;
	uint64_t next; /* the next line's number, counted here */
} events;

static void ev_add(events *e, const char *p, size_t len, uint64_t number, bool nl)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 256;
		e->ev = realloc(e->ev, e->cap * sizeof *e->ev);
		assert_non_null(e->ev);
	}
	e->ev[e->n++] = (event){p, len, number, nl};
}

static void ev_free(events *e)
{
	free(e->ev);
	free(e->bytes);
	memset(e, 0, sizeof *e);
}

/* The reference: the events of input[0 .. n-1] framed with these options. */
static void naive(const char *in, size_t n, size_t max_line, uint64_t before, bool mid_line,
		  uint64_t stop, events *e)
{
	size_t i = 0;
	if (mid_line) {
		while (i < n && in[i] != '\n')
			i++;
		i = i < n ? i + 1 : n;
	}
	uint64_t number = before;
	while (i < n && i < stop) {
		size_t j = i;
		while (j < n && in[j] != '\n')
			j++;
		number++;
		if (j - i > max_line) {
			ev_add(e, NULL, 0, number, false);
			e->oversized++;
		} else {
			ev_add(e, in + i, j - i, number, j < n);
		}
		i = j + 1;
	}
	e->position = number;
}

/* Index of the first difference of a and b, or -1 when equal. */
static long ev_diff(const events *a, const events *b)
{
	size_t i;
	for (i = 0; i < a->n && i < b->n; i++) {
		const event *x = &a->ev[i], *y = &b->ev[i];
		if (!x->p != !y->p || x->number != y->number || x->len != y->len ||
		    (x->p && x->nl != y->nl) || (x->p && memcmp(x->p, y->p, x->len) != 0))
			return (long)i;
	}
	if (a->n != b->n || a->position != b->position || a->oversized != b->oversized)
		return (long)i;
	return -1;
}

static void ev_show(const char *what, const events *e, long at)
{
	fprintf(stderr, "%s: %zu events, position %llu, oversized %llu\n", what, e->n,
		(unsigned long long)e->position, (unsigned long long)e->oversized);
	if (at >= 0 && (size_t)at < e->n) {
		const event *x = &e->ev[at];
		fprintf(stderr, "  event %ld: %s number %llu len %zu nl %d\n", at,
			x->p ? "line" : "skip", (unsigned long long)x->number, x->len, x->nl);
	}
}

/* ------------------------------------------------------------------------ */
/* The framer's side                                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
	sl_framer_kind kind;
	size_t max_line;
	uint64_t before, stop;
	bool mid_line;
	bool unnumbered;	/* begin with SL_FRAMER_UNNUMBERED */
	size_t headroom;	/* offered with each push */
} opts;

/* Appends frame fr to e; the checks every frame must pass are made here.
 * in_push: the frame lies in the pushed buffer or its headroom. */
static void take(events *e, const opts *o, const sl_frame *fr, bool in_push)
{
	assert_true(fr->data || fr->skipped > 0);
	if (o->unnumbered) {
		assert_int_equal(fr->first, 0);
		assert_int_equal(fr->lines, 0);
	} else {
		/* the framer's numbers must follow on from the last frame's */
		assert_int_equal(fr->first, e->next + fr->skipped);
	}
	for (uint64_t k = 0; k < fr->skipped; k++)
		ev_add(e, NULL, 0, e->next++, false);
	if (!fr->data) {
		assert_int_equal(fr->len, 0);
		return;
	}
	if (!e->bytes || e->nbytes + fr->len > e->bytes_cap) {
		/* keep the old events' pointers valid: offsets, rebased below */
		size_t cap = (e->nbytes + fr->len) * 2 + 64;
		char *nb = malloc(cap);
		assert_non_null(nb);
		if (e->nbytes)
			memcpy(nb, e->bytes, e->nbytes);
		for (size_t i = 0; i < e->n; i++)
			if (e->ev[i].p)
				e->ev[i].p = nb + (e->ev[i].p - e->bytes);
		free(e->bytes);
		e->bytes = nb;
		e->bytes_cap = cap;
	}
	char *copy = e->bytes + e->nbytes;
	memcpy(copy, fr->data, fr->len);
	e->nbytes += fr->len;
	if (o->kind == SL_FRAMER_LINES) {
		if (!o->unnumbered)
			assert_int_equal(fr->lines, 1);
		ev_add(e, copy, fr->len, e->next++, true);
		return;
	}
	/* a runs frame: whole lines, each with its '\n' but maybe the input's last */
	uint64_t lines = 0;
	size_t i = 0;
	while (i < fr->len) {
		size_t j = i;
		while (j < fr->len && copy[j] != '\n')
			j++;
		ev_add(e, copy + i, j - i, e->next++, j < fr->len);
		lines++;
		i = j + 1;
	}
	assert_true(lines > 0);
	if (!o->unnumbered)
		assert_int_equal(lines, fr->lines);
	if (lines > 1) /* zero-copy: more than one line never comes from storage */
		assert_true(in_push);
}

/* Frames input[0 .. n-1] pushed in the chunks cuts[] (ncuts chunk ends,
 * the last being n) into e. */
static void frame_all(const char *in, const size_t *cuts, size_t ncuts, const opts *o,
		      events *e)
{
	sl_budget b;
	sl_budget_init(&b, SIZE_MAX);
	sl_framer f;
	sl_framer_init(&f, &b, o->kind, o->max_line);
	sl_framer_begin(&f, o->unnumbered ? SL_FRAMER_UNNUMBERED : o->before, o->mid_line,
			o->stop);
	e->next = o->before + 1;
	size_t at = 0;
	for (size_t c = 0; c < ncuts; c++) {
		size_t len = cuts[c] - at;
		char *mem = malloc(o->headroom + len + 1);
		assert_non_null(mem);
		char *buf = mem + o->headroom;
		memcpy(buf, in + at, len);
		assert_int_equal(sl_framer_push(&f, buf, len, o->headroom), SL_OK);
		for (;;) {
			sl_frame fr;
			assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
			if (!fr.data && !fr.skipped)
				break;
			bool in_push = fr.data >= mem && fr.data + fr.len <= buf + len;
			if (o->headroom >= o->max_line && o->kind == SL_FRAMER_RUNS && fr.data)
				assert_true(in_push);
			take(e, o, &fr, in_push);
		}
		/* the push is used up: its bytes are the caller's again */
		memset(mem, 'X', o->headroom + len + 1);
		free(mem);
		at = cuts[c];
		if (!sl_framer_done(&f))
			assert_true(sl_framer_pending(&f) <= o->max_line);
	}
	assert_int_equal(sl_framer_end(&f), SL_OK);
	for (;;) {
		sl_frame fr;
		assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
		if (!fr.data && !fr.skipped)
			break;
		take(e, o, &fr, false);
	}
	e->position = sl_framer_position(&f);
	if (o->unnumbered) {
		assert_int_equal(e->position, 0);
		e->position = e->next - 1;
	} else {
		assert_int_equal(e->position, e->next - 1);
	}
	e->oversized = sl_framer_oversized(&f);
	sl_framer_free(&f);
	assert_int_equal(b.used, 0);
}

/* ------------------------------------------------------------------------ */
/* Generated inputs                                                          */
/* ------------------------------------------------------------------------ */

/* Random lines around max_line; *n bytes into a malloc'd buffer. */
static char *gen_input(tu_rng *r, size_t max_line, size_t nlines, size_t *n)
{
	size_t cap = nlines * (2 * max_line + 8) + 16, len = 0;
	char *in = malloc(cap);
	assert_non_null(in);
	for (size_t l = 0; l < nlines; l++) {
		size_t k;
		switch (tu_below(r, 8)) {
		case 0: k = 0; break;
		case 1: k = max_line; break;
		case 2: k = max_line + 1; break;
		case 3: k = max_line + 1 + tu_below(r, max_line + 1); break;
		default: k = tu_below(r, max_line + 1); break;
		}
		for (size_t i = 0; i < k; i++) {
			uint64_t x = tu_below(r, 40);
			in[len++] = x == 0 ? '\0' : x == 1 ? '\r' : (char)('a' + x % 26);
		}
		if (l + 1 < nlines || tu_below(r, 2))
			in[len++] = '\n';
	}
	*n = len;
	return in;
}

/* Random chunk ends of input of n bytes; returns how many (the last is n). */
static size_t gen_cuts(tu_rng *r, size_t n, size_t max_line, size_t *cuts)
{
	size_t nc = 0, at = 0;
	int style = (int)tu_below(r, 4);
	if (style == 0) { /* all at once */
		cuts[nc++] = n;
		return nc;
	}
	while (at < n) {
		size_t step = style == 1 ? 1
			    : style == 2 ? 1 + tu_below(r, max_line + 2)
					 : 1 + tu_below(r, 4 * max_line + 8);
		if (nc < n && tu_below(r, 16) == 0)
			step = 0; /* an empty push */
		at = at + step > n ? n : at + step;
		cuts[nc++] = at;
	}
	if (nc == 0)
		cuts[nc++] = n;
	return nc;
}

static void check(const char *in, size_t n, const size_t *cuts, size_t nc, const opts *o,
		  uint64_t seed, int round)
{
	events want = {0}, got = {0};
	naive(in, n, o->max_line, o->before, o->mid_line, o->stop, &want);
	frame_all(in, cuts, nc, o, &got);
	if (o->kind == SL_FRAMER_LINES) /* lines frames drop every '\n': compare lines */
		for (size_t i = 0; i < want.n; i++)
			want.ev[i].nl = true;
	long d = ev_diff(&want, &got);
	if (d >= 0) {
		fprintf(stderr, "framer differs (seed %llu, round %d, %s, max_line %zu, "
			"%zu bytes in %zu pushes, mid_line %d, stop %llu, headroom %zu)\n",
			(unsigned long long)seed, round,
			o->kind == SL_FRAMER_RUNS ? "runs" : "lines", o->max_line, n, nc,
			o->mid_line, (unsigned long long)o->stop, o->headroom);
		ev_show("naive", &want, d);
		ev_show("framer", &got, d);
	}
	assert_true(d < 0);
	ev_free(&want);
	ev_free(&got);
}

static void random_chunkings(void **state)
{
	(void)state;
	uint64_t seed = tu_seed("test_framer", 0x5eedf4a3e5ULL);
	tu_rng r = {seed};
	for (int round = 0; round < 3000; round++) {
		opts o = {0};
		o.kind = tu_below(&r, 2) ? SL_FRAMER_RUNS : SL_FRAMER_LINES;
		o.max_line = 1 + tu_below(&r, 40);
		size_t n;
		char *in = gen_input(&r, o.max_line, tu_below(&r, 30), &n);
		size_t *cuts = malloc((n + 2) * 2 * sizeof *cuts);
		assert_non_null(cuts);
		size_t nc = gen_cuts(&r, n, o.max_line, cuts);
		o.before = tu_below(&r, 3) ? 0 : tu_next(&r) >> 20;
		o.mid_line = tu_below(&r, 4) == 0;
		o.stop = tu_below(&r, 3) == 0 ? tu_below(&r, n + 2) : UINT64_MAX;
		o.headroom = tu_below(&r, 2) ? 0 : tu_below(&r, 2) ? o.max_line : tu_below(&r, 8);
		o.unnumbered = tu_below(&r, 4) == 0;
		check(in, n, cuts, nc, &o, seed, round);
		free(cuts);
		free(in);
	}
}

/* Lines of exactly max_line and max_line + 1 bytes, one cut at every offset. */
static void limits_at_every_cut(void **state)
{
	(void)state;
	static const char in[] = "abcd\nabcde\n\n\r\r\r\r\nab\0d\nxyzwv";
	size_t n = sizeof in - 1;
	for (int kind = 0; kind < 2; kind++)
		for (size_t cut = 0; cut <= n; cut++) {
			size_t cuts[2] = {cut, n};
			opts o = {.kind = kind ? SL_FRAMER_RUNS : SL_FRAMER_LINES, .max_line = 4,
				  .stop = UINT64_MAX, .headroom = cut % 2 ? 4 : 0};
			check(in, n, cuts, 2, &o, 0, (int)cut);
		}
	/* and the counts themselves, not only agreement with the reference */
	events e = {0};
	size_t all[1] = {n};
	opts o = {.kind = SL_FRAMER_LINES, .max_line = 4, .stop = UINT64_MAX};
	frame_all(in, all, 1, &o, &e);
	/* abcd | abcde (skipped) | "" | \r\r\r\r | ab\0d | xyzwv (skipped, no '\n') */
	assert_int_equal(e.position, 6);
	assert_int_equal(e.oversized, 2);
	assert_int_equal(e.n, 6);
	assert_null(e.ev[1].p);
	assert_int_equal(e.ev[4].len, 4);
	assert_memory_equal(e.ev[4].p, "ab\0d", 4);
	ev_free(&e);
}

/* A file cut into ranges at any offset: every line is framed once, by the
 * range holding its first byte, numbered from its range's start. */
static void ranges_frame_each_line_once(void **state)
{
	(void)state;
	uint64_t seed = tu_seed("test_framer", 0x5eedf4a3e5ULL);
	tu_rng r = {seed ^ 0x1234};
	for (int round = 0; round < 300; round++) {
		size_t max_line = 1 + tu_below(&r, 12), n;
		char *in = gen_input(&r, max_line, 1 + tu_below(&r, 20), &n);
		size_t a = tu_below(&r, n + 1), c = tu_below(&r, n + 1);
		size_t cut[4] = {0, a < c ? a : c, a < c ? c : a, n};
		events whole = {0}, parts = {0};
		naive(in, n, max_line, 0, false, UINT64_MAX, &whole);
		for (int k = 0; k < 3; k++) {
			uint64_t start = cut[k], end = cut[k + 1];
			uint64_t from = start ? start - 1 : 0;
			opts o = {.kind = (round & 1) ? SL_FRAMER_RUNS : SL_FRAMER_LINES,
				  .max_line = max_line, .mid_line = start > 0,
				  .stop = end - from, .before = parts.position};
			size_t cuts[1] = {n - from};
			events e = {0};
			frame_all(in + from, cuts, 1, &o, &e);
			for (size_t i = 0; i < e.n; i++) {
				const event *x = &e.ev[i];
				if (x->p) {
					/* rebase into parts' own copy */
					size_t off = parts.nbytes;
					parts.bytes = realloc(parts.bytes, off + x->len + 1);
					memcpy(parts.bytes + off, x->p, x->len);
					parts.nbytes += x->len;
					ev_add(&parts, (const char *)(uintptr_t)(off + 1), x->len,
					       x->number, x->nl);
				} else {
					ev_add(&parts, NULL, 0, x->number, false);
				}
			}
			parts.position = e.position;
			parts.oversized += e.oversized;
			ev_free(&e);
		}
		for (size_t i = 0; i < parts.n; i++) /* offsets + 1 to pointers */
			if (parts.ev[i].p)
				parts.ev[i].p = parts.bytes + ((uintptr_t)parts.ev[i].p - 1);
		if (!(round & 1)) /* lines frames carry no '\n' marks */
			for (size_t i = 0; i < whole.n; i++)
				whole.ev[i].nl = true;
		long d = ev_diff(&whole, &parts);
		if (d >= 0) {
			fprintf(stderr, "ranges differ (seed %llu, round %d, cuts %zu %zu)\n",
				(unsigned long long)seed, round, cut[1], cut[2]);
			ev_show("whole", &whole, d);
			ev_show("ranges", &parts, d);
		}
		assert_true(d < 0);
		ev_free(&whole);
		ev_free(&parts);
		free(in);
	}
}

/* SL_ENOMEM consumes nothing: with the budget raised, the framer goes on
 * and the result is the reference's. */
static void enomem_consumes_nothing(void **state)
{
	(void)state;
	static const char part1[] = "first\nsecond-long-line-begun-", part2[] = "here\nthird\n";
	for (int kind = 0; kind < 2; kind++) {
		sl_budget b;
		sl_budget_init(&b, 0); /* nothing: the tail cannot be kept */
		sl_framer f;
		sl_framer_init(&f, &b, kind ? SL_FRAMER_RUNS : SL_FRAMER_LINES, 100);
		sl_framer_begin(&f, 0, false, UINT64_MAX);
		sl_frame fr;
		assert_int_equal(sl_framer_push(&f, part1, sizeof part1 - 1, 0), SL_OK);
		assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
		assert_int_equal(fr.lines, 1);
		assert_int_equal(fr.first, 1);
		assert_int_equal(sl_framer_next(&f, &fr), SL_ENOMEM);
		assert_int_equal(sl_framer_next(&f, &fr), SL_ENOMEM);
		assert_int_equal(sl_framer_push(&f, part2, sizeof part2 - 1, 0), SL_EINVAL);
		sl_budget_set_limit(&b, 1 << 20);
		assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
		assert_true(!fr.data && !fr.skipped);
		assert_int_equal(sl_framer_push(&f, part2, sizeof part2 - 1, 0), SL_OK);
		assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
		assert_int_equal(fr.first, 2);
		const char *want = "second-long-line-begun-here";
		assert_int_equal(fr.len, strlen(want) + (size_t)kind);
		assert_memory_equal(fr.data, want, strlen(want));
		sl_framer_free(&f);
		assert_int_equal(b.used, 0);
	}
}

/* An input ended before any push (an empty file) has no frames; found by
 * fuzz_framer: next() did arithmetic on the NULL push (UBSan). Also a
 * push of no bytes with a NULL buffer. */
static void end_without_push(void **state)
{
	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		sl_budget b;
		sl_budget_init(&b, 1 << 20);
		sl_framer f;
		sl_framer_init(&f, &b, kind ? SL_FRAMER_RUNS : SL_FRAMER_LINES, 8);
		sl_framer_begin(&f, 5, false, UINT64_MAX);
		sl_frame fr;
		assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
		assert_true(!fr.data && !fr.skipped);
		assert_int_equal(sl_framer_push(&f, NULL, 0, 0), SL_OK);
		assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
		assert_true(!fr.data && !fr.skipped);
		assert_int_equal(sl_framer_end(&f), SL_OK);
		assert_int_equal(sl_framer_next(&f, &fr), SL_OK);
		assert_true(!fr.data && !fr.skipped);
		assert_int_equal(sl_framer_position(&f), 5);
		sl_framer_free(&f);
	}
}

/* The checker can fail: a wrong line, number, skip or count is caught. */
static void checker_catches_mistakes(void **state)
{
	(void)state;
	static const char in[] = "one\ntwo\nthree-is-long\nfour";
	size_t n = sizeof in - 1;
	for (int wrong = 0; wrong < 5; wrong++) {
		events want = {0}, got = {0};
		naive(in, n, 8, 0, false, UINT64_MAX, &want);
		size_t cuts[1] = {n};
		opts o = {.kind = SL_FRAMER_RUNS, .max_line = 8, .stop = UINT64_MAX};
		frame_all(in, cuts, 1, &o, &got);
		assert_true(ev_diff(&want, &got) < 0);
		switch (wrong) {
		case 0: got.ev[1].len--; break;		/* a line cut short */
		case 1: got.ev[3].number++; break;	/* a wrong number */
		case 2: got.ev[2].p = got.ev[0].p; break; /* a skip delivered */
		case 3: got.oversized = 0; break;	/* a count */
		case 4: got.ev[3].nl = true; break;	/* a '\n' invented */
		}
		assert_true(ev_diff(&want, &got) >= 0);
		ev_free(&want);
		ev_free(&got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_chunkings),
		cmocka_unit_test(limits_at_every_cut),
		cmocka_unit_test(ranges_frame_each_line_once),
		cmocka_unit_test(enomem_consumes_nothing),
		cmocka_unit_test(end_without_push),
		cmocka_unit_test(checker_catches_mistakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
