/* test_spill.c: the spill layer (lib/spill/spill.c) on its own: runs written and
 * read back against the records kept here, a stable k-way merge against a
 * naive merge, records longer than a block (planned buffers, refused
 * buffers, grown buffers), a header altered on disk, the disk accounting
 * across released runs, and the merge policy's bound on the run table. */
#include "testutil.h"
#include "spill/spill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t seed;

typedef struct {
	char key[24];
	size_t len;
	uint32_t run;	/* which run it was written to */
	uint32_t seq;	/* its place in that run */
} rec;

static int by_key(const void *x, const void *y)
{
	const rec *a = x, *b = y;
	int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->run != b->run)	/* the merge's stability: earlier run first */
		return a->run < b->run ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int reader_cmp(void *ctx, const sl_spill_reader *a, const sl_spill_reader *b)
{
	(void)ctx;
	int c = memcmp(a->rec, b->rec, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len < b->len ? -1 : a->len > b->len);
}

/* k runs of sorted random keys (few distinct, so ties across runs), merged
 * by the spill heap; the merge's output equals a stable sort of them all,
 * with each record's count (its run and place) intact. */
static void merge_is_stable(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 1};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_xsort_stats st = {0};
	sl_spill sp;
	assert_int_equal(sl_spill_init(&sp, &b, 256, "/tmp", "test-spill", 1, 0, &st), SL_OK);
	enum { K = 7, PER = 400 };
	rec *all = calloc(K * PER, sizeof *all);
	assert_non_null(all);
	sl_spill_run runs[K];
	for (uint32_t r = 0; r < K; r++) {
		rec *x = all + r * PER;
		for (uint32_t i = 0; i < PER; i++) {
			x[i].len = 1 + tu_below(&rng, 6);
			for (size_t j = 0; j < x[i].len; j++)
				x[i].key[j] = (char)('a' + tu_below(&rng, 3));
			x[i].run = r;
		}
		qsort(x, PER, sizeof *x, by_key);
		runs[r].start = sp.wpos;
		for (uint32_t i = 0; i < PER; i++) {
			x[i].seq = i;
			assert_int_equal(sl_spill_put(&sp, x[i].key, x[i].len,
						      (uint64_t)r << 32 | (i + 1)),
					 SL_OK);
		}
		assert_int_equal(sl_spill_flush(&sp), SL_OK);
		runs[r].end = sp.wpos;
		runs[r].level = 0;
	}
	qsort(all, K * PER, sizeof *all, by_key);
	sl_spill_reader rd[K];
	uint32_t heap[K];
	char bufs[K][256];
	for (uint32_t r = 0; r < K; r++)
		assert_int_equal(sl_spill_reader_open(&sp, &rd[r], &runs[r], bufs[r], 256), SL_OK);
	sl_spill_merge m = {rd, heap, K, 0, reader_cmp, NULL, NULL};
	sl_spill_merge_start(&m);
	size_t n = 0;
	int w;
	while ((w = sl_spill_merge_top(&m)) >= 0) {
		assert_true(n < K * PER);
		const rec *want = &all[n++];
		assert_int_equal(rd[w].len, want->len);
		assert_memory_equal(rd[w].rec, want->key, want->len);
		assert_int_equal(rd[w].count, (uint64_t)want->run << 32 | (want->seq + 1));
		assert_int_equal(sl_spill_merge_advance(&sp, &m), SL_OK);
	}
	assert_int_equal(n, K * PER);
	assert_true(st.temp_read > 0 && st.temp_written > 0);
	for (uint32_t r = 0; r < K; r++)
		sl_spill_reader_close(&sp, &rd[r]);
	sl_spill_free(&sp);
	assert_int_equal(b.used, 0);
	free(all);
}

/* Records longer than a block: read whole into a buffer planned for them;
 * refused (SL_ECORRUPT) into a smaller one; read into a grown block with
 * grow. A header altered on disk is refused too. */
static void long_records(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 2};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_xsort_stats st = {0};
	size_t lens[] = {0, 1, 300, 5000, 17, 40000, 255, 256, 257};
	size_t nl = sizeof lens / sizeof *lens;
	char *data = malloc(40016);
	assert_non_null(data);
	for (size_t i = 0; i < 40016; i++)
		data[i] = (char)tu_below(&rng, 256);
	for (int grow = 0; grow < 2; grow++) {
		sl_spill sp;
		assert_int_equal(sl_spill_init(&sp, &b, 256, "/tmp", "test-spill", 0, grow, &st),
				 SL_OK);
		sl_spill_run run = {sp.wpos, 0, 0};
		for (size_t i = 0; i < nl; i++)
			assert_int_equal(sl_spill_put(&sp, data + i, lens[i], 0), SL_OK);
		assert_int_equal(sl_spill_flush(&sp), SL_OK);
		run.end = sp.wpos;
		/* a planned buffer: every record comes back */
		char *big = malloc(40000 + SL_SPILL_VARMAX);
		sl_spill_reader r;
		assert_int_equal(sl_spill_reader_open(&sp, &r, &run, big, 40000 + SL_SPILL_VARMAX),
				 SL_OK);
		for (size_t i = 0; i < nl; i++) {
			assert_false(r.done);
			assert_int_equal(r.len, lens[i]);
			assert_memory_equal(r.rec, data + i, lens[i]);
			assert_int_equal(sl_spill_reader_next(&sp, &r), SL_OK);
		}
		assert_true(r.done);
		sl_spill_reader_close(&sp, &r);
		/* a block-sized buffer: refused, or grown beyond the plan */
		char small[256];
		sl_status s = sl_spill_reader_open(&sp, &r, &run, small, sizeof small);
		size_t i = 0;
		while (s == SL_OK && !r.done) {
			assert_int_equal(r.len, lens[i]);
			assert_memory_equal(r.rec, data + i, lens[i]);
			i++;
			s = sl_spill_reader_next(&sp, &r);
		}
		if (grow) {
			assert_int_equal(s, SL_OK);
			assert_int_equal(i, nl);
			assert_true(b.peak > 40000);	/* the grown block */
		} else {
			assert_int_equal(s, SL_ECORRUPT);
			assert_int_equal(i, 2);	/* 300 bytes do not fit 256 */
		}
		sl_spill_reader_close(&sp, &r);
		/* the first block's raw length altered past the run's end */
		char h[SL_SPILL_HDR];
		assert_int_equal(sl_spill_pread(&sp, h, SL_SPILL_HDR, run.start), SL_OK);
		h[6] = h[7] = 0x7f;
		assert_int_equal(pwrite(sp.fd, h, SL_SPILL_HDR, (off_t)run.start), SL_SPILL_HDR);
		assert_int_equal(sl_spill_reader_open(&sp, &r, &run, big, 40000 + SL_SPILL_VARMAX),
				 SL_ECORRUPT);
		free(big);
		sl_spill_free(&sp);
		assert_int_equal(b.used, 0);
	}
	free(data);
}

/* Reads the run back: SL_OK when every record (and count) is as written,
 * -1 when one came back different, else the reader's failing status. */
static int read_back(sl_spill *sp, const sl_spill_run *run, char *buf, size_t cap,
		     const char *data, const size_t *lens, size_t n)
{
	sl_spill_reader r;
	sl_status s = sl_spill_reader_open(sp, &r, run, buf, cap);
	size_t i = 0;
	int ret = 0;
	while (s == SL_OK && !r.done) {
		if (i >= n || r.len != lens[i] || memcmp(r.rec, data + i, r.len) ||
		    (sp->counted && r.count != i + 1)) {
			ret = -1;
			break;
		}
		i++;
		s = sl_spill_reader_next(sp, &r);
	}
	sl_spill_reader_close(sp, &r);
	if (ret == 0 && s == SL_OK && i != n)
		ret = -1;
	return ret ? ret : (int)s;
}

/* A run damaged on disk never reads back as wrong records: every single
 * byte of it flipped in turn (block headers, LEB128 lengths and counts,
 * raw and LZ4 payloads, a raw block of one long record) gives
 * SL_ECORRUPT. (fuzz_spill found payload bytes read back silently.) */
static void damaged_runs_refused(void **state)
{
	(void)state;
	tu_rng rng = {seed ^ 4};
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_xsort_stats st = {0};
	char data[700];
	for (int kind = 0; kind < 3; kind++) {
		/* 0: incompressible (raw blocks), 1: repetitive (LZ4 blocks),
		 * 2: one record longer than the block among short ones */
		for (size_t i = 0; i < sizeof data; i++)
			data[i] = kind == 1 ? (char)('a' + i % 3) : (char)tu_below(&rng, 256);
		size_t lens[] = {0, 5, 17, 3, 40, kind == 2 ? 600 : 30, 9};
		size_t n = sizeof lens / sizeof *lens;
		for (int counted = 0; counted < 2; counted++) {
			sl_spill sp;
			assert_int_equal(sl_spill_init(&sp, &b, 64, "/tmp", "test-spill", counted, 1, &st),
					 SL_OK);
			sl_spill_run run = {sp.wpos, 0, 0};
			for (size_t i = 0; i < n; i++)
				assert_int_equal(sl_spill_put(&sp, data + i, lens[i], i + 1), SL_OK);
			assert_int_equal(sl_spill_flush(&sp), SL_OK);
			run.end = sp.wpos;
			char buf[64];
			assert_int_equal(read_back(&sp, &run, buf, sizeof buf, data, lens, n), SL_OK);
			size_t silent = 0;
			for (uint64_t off = run.start; off < run.end; off++) {
				char c, x;
				assert_int_equal(sl_spill_pread(&sp, &c, 1, off), SL_OK);
				x = (char)(c ^ (1 << (off % 8)));
				assert_int_equal(pwrite(sp.fd, &x, 1, (off_t)off), 1);
				int got = read_back(&sp, &run, buf, sizeof buf, data, lens, n);
				if (got != SL_ECORRUPT) {
					print_message("kind %d counted %d: byte %llu flipped: %d\n", kind,
						      counted, (unsigned long long)(off - run.start), got);
					silent++;
				}
				assert_int_equal(pwrite(sp.fd, &c, 1, (off_t)off), 1);
			}
			assert_int_equal(silent, 0);
			assert_int_equal(read_back(&sp, &run, buf, sizeof buf, data, lens, n), SL_OK);
			sl_spill_free(&sp);
			assert_int_equal(b.used, 0);
		}
	}
}

/* Live bytes after releasing merged runs with gaps between them: the peak
 * never exceeds what was written, and nothing underflows. */
static void release_accounting(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_xsort_stats st = {0};
	sl_spill sp;
	assert_int_equal(sl_spill_init(&sp, &b, 512, "/tmp", "test-spill", 0, 0, &st), SL_OK);
	sl_spill_run runs[6];
	char x[100];
	memset(x, 'x', sizeof x);
	for (int r = 0; r < 6; r++) {
		runs[r].start = sp.wpos;
		for (int i = 0; i < 10 + r; i++)
			assert_int_equal(sl_spill_put(&sp, x, sizeof x - (size_t)r, 0), SL_OK);
		assert_int_equal(sl_spill_flush(&sp), SL_OK);
		runs[r].end = sp.wpos;
	}
	uint64_t written = st.temp_written;
	assert_int_equal(sp.live, written);
	/* runs 1 and 3 released alone, then 0..5 as one merge: the gaps are
	 * holes already and must not be counted twice */
	sl_spill_release(&sp, &runs[1], 1);
	sl_spill_release(&sp, &runs[3], 1);
	sl_spill_run rest[4] = {runs[0], runs[2], runs[4], runs[5]};
	sl_spill_release(&sp, rest, 4);
	if (sp.holes)
		assert_int_equal(sp.live, 0);
	else
		assert_int_equal(sp.live, written);
	assert_true(st.temp_peak <= st.temp_written);
	sl_spill_free(&sp);
}

/* The policy: pushing runs one by one and merging what it says keeps the
 * table within its cap, and the tail leaves at most `keep` runs. */
static void policy_bounds(void **state)
{
	(void)state;
	for (uint32_t f = 2; f <= 9; f++) {
		size_t levels = 4, cap = (f - 1) * levels + 1, n = 0, merges = 0;
		sl_spill_run runs[64];
		for (int i = 0; i < 5000; i++) {
			runs[n].start = runs[n].end = 0;
			runs[n].level = 0;
			n++;
			size_t k;
			uint32_t level;
			while ((k = sl_spill_due(runs, n, cap, f, &level))) {
				assert_true(k == f && k <= n);
				n -= k - 1;
				runs[n - 1].level = level;
				merges++;
			}
			assert_true(n <= cap);
		}
		assert_true(merges > 0);
		size_t k;
		uint32_t level;
		while ((k = sl_spill_tail(runs, n, 3, f, &level))) {
			assert_true(k >= 2 && k <= f);
			n -= k - 1;
			runs[n - 1].level = level;
		}
		assert_true(n <= 3);
	}
}

int main(void)
{
	seed = tu_seed("test_spill", 0x5b111);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_is_stable),
		cmocka_unit_test(long_records),
		cmocka_unit_test(damaged_runs_refused),
		cmocka_unit_test(release_accounting),
		cmocka_unit_test(policy_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
