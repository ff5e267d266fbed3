/*
 * test_scan.c: every sl_scan implementation (scalar, SSE4.2, AVX2: those
 * this CPU has) against naive byte loops.
 *
 *  - random buffers of random lengths 0..300 with random content density
 *    (alphabets of 1..256 letters, so matches range from every byte to
 *    none), placed either to end just before a PROT_NONE page or to start
 *    just after one, at random offsets from the page (so all alignments);
 *  - sl_scan_byte / last / count against loops, sl_scan_any with every set
 *    size 1..16 (duplicates included), sl_scan_index with 1..4 classes,
 *    including that words past the window are left alone;
 *  - long buffers (up to 40000 bytes) so that count folds its byte
 *    counters more than once;
 *  - the line reader (sl_scan_lines) on random buffers of random lines:
 *    the same lines as a loop finds, lines up to SL_SCAN_BITS_BYTES marked
 *    indexed, and the ring's bits right for every byte of an indexed line;
 *  - forcing, names, set validation, and that the checkers catch a wrong
 *    answer.
 */
#include "testutil.h"
#include "format/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Guard pages: [PROT_NONE][body][PROT_NONE]                                 */
/* ------------------------------------------------------------------------ */

#define BODY_MAX (48 * 1024)

static char *map_base, *body, *body_end;
static size_t map_len;

static int setup(void **state)
{
	(void)state;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t blen = (BODY_MAX + page - 1) / page * page;
	map_len = blen + 2 * page;
	map_base = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map_base == MAP_FAILED)
		return -1;
	if (mprotect(map_base, page, PROT_NONE) != 0 ||
	    mprotect(map_base + page + blen, page, PROT_NONE) != 0)
		return -1;
	body = map_base + page;
	body_end = body + blen;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap(map_base, map_len);
	return 0;
}

/* n random bytes from an alphabet of `letters` values, placed against one
 * of the guard pages at a random distance 0..63 from it. */
static char *random_buf(tu_rng *r, size_t n, const uint8_t *alpha,
			size_t letters)
{
	size_t slack = tu_below(r, 4) ? 0 : tu_below(r, 64);
	char *p = tu_below(r, 2) ? body_end - n - slack : body + slack;
	for (size_t i = 0; i < n; i++)
		p[i] = (char)alpha[tu_below(r, letters)];
	return p;
}

/* A random alphabet: `letters` distinct byte values in alpha[]. */
static size_t random_alphabet(tu_rng *r, uint8_t alpha[256])
{
	static const size_t sizes[] = {1, 2, 3, 5, 16, 64, 256};
	size_t letters = sizes[tu_below(r, sizeof sizes / sizeof sizes[0])];
	for (int i = 0; i < 256; i++)
		alpha[i] = (uint8_t)i;
	for (int i = 255; i > 0; i--) {
		int j = (int)tu_below(r, (uint64_t)i + 1);
		uint8_t t = alpha[i];
		alpha[i] = alpha[j];
		alpha[j] = t;
	}
	return letters;
}

/* ------------------------------------------------------------------------ */
/* References and checkers                                                   */
/* ------------------------------------------------------------------------ */

static const char *ref_byte(const char *p, const char *end, char c)
{
	for (; p < end; p++)
		if (*p == c)
			return p;
	return NULL;
}

static const char *ref_last(const char *p, const char *end, char c)
{
	const char *hit = NULL;
	for (; p < end; p++)
		if (*p == c)
			hit = p;
	return hit;
}

static size_t ref_count(const char *p, const char *end, char c)
{
	size_t n = 0;
	for (; p < end; p++)
		n += *p == c;
	return n;
}

static const char *ref_any(const char *p, const char *end, const char *set,
			   size_t n)
{
	for (; p < end; p++)
		for (size_t i = 0; i < n; i++)
			if (*p == set[i])
				return p;
	return NULL;
}

static bool same_ptr(const char *what, const char *got, const char *want,
		     const char *p)
{
	if (got == want)
		return true;
	print_message("%s: got %td, want %td\n", what,
		      got ? got - p : (ptrdiff_t)-1,
		      want ? want - p : (ptrdiff_t)-1);
	return false;
}

#define POISON 0xa5a5a5a5a5a5a5a5ULL

/* The index of chars[0..nc-1] over [p, end) against a loop; blocks past the
 * window, and words of classes >= nc, must still hold POISON. */
static bool index_ok(const char *p, const char *end, const char *chars,
		     int nc, const sl_scan_block *b, const char *got_end)
{
	size_t n = (size_t)(end - p);
	if (n > SL_SCAN_BITS_BYTES)
		n = SL_SCAN_BITS_BYTES;
	if (got_end != p + n) {
		print_message("index: window end %td, want %zu\n",
			      got_end - p, n);
		return false;
	}
	size_t words = (n + 63) / 64;
	for (int k = 0; k < SL_SCAN_BITS_CLASSES; k++)
		for (size_t w = 0; w < SL_SCAN_BITS_BYTES / 64; w++) {
			uint64_t want = 0;
			if (w >= words || k >= nc) {
				want = POISON;
			} else {
				for (size_t i = 0; i < 64; i++)
					if (w * 64 + i < n &&
					    p[w * 64 + i] == chars[k])
						want |= 1ULL << i;
			}
			if (b[w][k] != want) {
				print_message("index: class %d word %zu: got "
					      "%016llx want %016llx (n %zu)\n",
					      k, w,
					      (unsigned long long)b[w][k],
					      (unsigned long long)want, n);
				return false;
			}
		}
	return true;
}

static void poison(sl_scan_block *b, size_t blocks)
{
	for (size_t w = 0; w < blocks; w++)
		for (int k = 0; k < SL_SCAN_BITS_CLASSES; k++)
			b[w][k] = POISON;
}

/*
 * Reads buf[0 .. n-1] with the line reader and checks it against a loop:
 * the same lines, each marked indexed when it is at most
 * SL_SCAN_BITS_BYTES long, and when indexed, the ring's bits of every
 * class right for each of its bytes. The reader gets chars, the reference
 * want (the same, except when showing that the checker can fail).
 */
static bool lines_ok(const char *buf, size_t n, const char *chars,
		     const char *want, int nc)
{
	sl_scan_lines it;
	sl_scan_lines_init(&it, buf, n, chars, nc);
	const char sep = want[nc - 1];
	size_t pos = 0, count = 0;
	const char *line;
	size_t len;
	bool indexed;
	while (sl_scan_lines_next(&it, &line, &len, &indexed)) {
		const char *want_end = ref_byte(buf + pos, buf + n, sep);
		size_t want_len = (size_t)((want_end ? want_end : buf + n) -
					   (buf + pos));
		if (pos >= n || line != buf + pos || len != want_len) {
			print_message("lines: line %zu at %td len %zu, want "
				      "at %zu len %zu\n", count, line - buf,
				      len, pos, want_len);
			return false;
		}
		if (len <= SL_SCAN_BITS_BYTES && !indexed) {
			print_message("lines: line %zu (%zu bytes) not "
				      "indexed\n", count, len);
			return false;
		}
		for (size_t i = pos; indexed && i < pos + len; i++)
			for (int k = 0; k < nc; k++) {
				uint64_t w = it.ring[i / 64 % SL_SCAN_RING_BLOCKS][k];
				bool got = w >> (i % 64) & 1;
				if (got != (buf[i] == want[k])) {
					print_message("lines: byte %zu class "
						      "%d: bit %d\n", i, k, got);
					return false;
				}
			}
		pos += len + 1;
		count++;
	}
	if (pos < n) {
		print_message("lines: stopped at %zu of %zu\n", pos, n);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static const int levels[] = {SL_SCAN_SCALAR, SL_SCAN_SSE42, SL_SCAN_AVX2};
static const char *const level_names[] = {"scalar", "sse4.2", "avx2"};

/* Runs one random case of every function at the current level. */
static bool one_case(tu_rng *r, size_t n)
{
	uint8_t alpha[256];
	size_t letters = random_alphabet(r, alpha);
	const char *p = random_buf(r, n, alpha, letters);
	const char *end = p + n;
	/* mostly letters of the alphabet, sometimes any byte */
	char c = (char)(tu_below(r, 4) ? alpha[tu_below(r, letters)]
				       : tu_below(r, 256));
	bool ok = same_ptr("byte", sl_scan_byte(p, end, c),
			   ref_byte(p, end, c), p) &&
		  same_ptr("last", sl_scan_last(p, end, c),
			   ref_last(p, end, c), p);
	size_t cnt = sl_scan_count(p, end, c), want = ref_count(p, end, c);
	if (cnt != want) {
		print_message("count: got %zu, want %zu\n", cnt, want);
		ok = false;
	}
	for (size_t size = 1; size <= SL_SCAN_SET_MAX && ok; size++) {
		char chars[SL_SCAN_SET_MAX];
		for (size_t i = 0; i < size; i++)
			chars[i] = (char)(tu_below(r, 3) ? alpha[tu_below(r, letters)]
							 : tu_below(r, 256));
		sl_scan_set set;
		assert_true(sl_scan_set_init(&set, chars, size));
		ok = same_ptr("any", sl_scan_any(p, end, &set),
			      ref_any(p, end, chars, size), p);
		if (!ok)
			print_message("set size %zu\n", size);
	}
	for (int nc = 1; nc <= SL_SCAN_BITS_CLASSES && ok; nc++) {
		char chars[SL_SCAN_BITS_CLASSES];
		for (int i = 0; i < nc; i++)
			chars[i] = (char)alpha[tu_below(r, letters)];
		sl_scan_block b[SL_SCAN_BITS_BYTES / 64];
		poison(b, SL_SCAN_BITS_BYTES / 64);
		const char *e = sl_scan_index(p, end, chars, nc, b);
		ok = index_ok(p, end, chars, nc, b, e);
	}
	if (!ok)
		print_message("impl %s, n %zu, alphabet %zu, p %% 64 = %u\n",
			      sl_scan_impl_name(), n, letters,
			      (unsigned)((uintptr_t)p % 64));
	return ok;
}

static void random_vs_reference(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("scan random", 0x5ca9ULL)};
	int tested = 0;
	for (size_t l = 0; l < 3; l++) {
		if (!sl_scan_force(levels[l])) {
			print_message("%s: not on this CPU, skipped\n",
				      level_names[l]);
			continue;
		}
		assert_string_equal(sl_scan_impl_name(), level_names[l]);
		tested++;
		for (int i = 0; i < 6000; i++) {
			size_t n = (size_t)tu_below(&rng, 301);
			if (!one_case(&rng, n))
				fail();
		}
		/* every length 0..300 at least once, both guard pages */
		for (size_t n = 0; n <= 300; n++)
			if (!one_case(&rng, n))
				fail();
	}
	assert_true(tested >= 1);
	sl_scan_force(SL_SCAN_AUTO);
}

static void long_buffers(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("scan long", 0x10a6ULL)};
	for (size_t l = 0; l < 3; l++) {
		if (!sl_scan_force(levels[l]))
			continue;
		for (int i = 0; i < 40; i++) {
			size_t n = 8000 + (size_t)tu_below(&rng, 32000);
			if (!one_case(&rng, n))
				fail();
		}
		/* all matches: the byte counters must fold before 256 */
		size_t n = 40000;
		char *p = body_end - n;
		memset(p, '\n', n);
		assert_int_equal(sl_scan_count(p, p + n, '\n'), n);
		assert_int_equal(sl_scan_count(p + 1, p + n, '\n'), n - 1);
		assert_ptr_equal(sl_scan_last(p, p + n, '\n'), p + n - 1);
		p[n - 1] = 'x';
		assert_int_equal(sl_scan_count(p, p + n, '\n'), n - 1);
		assert_ptr_equal(sl_scan_last(p, p + n, '\n'), p + n - 2);
	}
	sl_scan_force(SL_SCAN_AUTO);
}

static void forcing_and_sets(void **state)
{
	(void)state;
	assert_true(sl_scan_force(SL_SCAN_SCALAR));
	assert_string_equal(sl_scan_impl_name(), "scalar");
	assert_false(sl_scan_force(7));
	assert_false(sl_scan_force(-2));
	assert_string_equal(sl_scan_impl_name(), "scalar");
	assert_true(sl_scan_force(SL_SCAN_AUTO));
	const char *best = sl_scan_impl_name();
	assert_true(strcmp(best, "scalar") == 0 ||
		    strcmp(best, "sse4.2") == 0 || strcmp(best, "avx2") == 0);
	print_message("best implementation here: %s\n", best);

	sl_scan_set set, copy;
	assert_true(sl_scan_set_init(&set, "ab", 2));
	memcpy(&copy, &set, sizeof set);
	assert_false(sl_scan_set_init(&set, "", 0));
	assert_false(sl_scan_set_init(&set, "0123456789abcdefg", 17));
	assert_memory_equal(&set, &copy, sizeof set);
	/* bytes with the top bit set, NUL, and high-nibble groups >= 8 */
	static const char odd[] = "\x00\x80\xff\x7f\x0f\xf0\x8f\x90 \"\\?";
	for (size_t l = 0; l < 3; l++) {
		if (!sl_scan_force(levels[l]))
			continue;
		for (size_t k = 1; k <= sizeof odd - 1; k++) {
			assert_true(sl_scan_set_init(&set, odd, k));
			char buf[300];
			for (size_t i = 0; i < sizeof buf; i++)
				buf[i] = (char)(0x41 + i % 26);
			for (size_t pos = 0; pos < sizeof buf; pos += 37) {
				buf[pos] = odd[k - 1];
				char *p = body_end - sizeof buf;
				memcpy(p, buf, sizeof buf);
				assert_ptr_equal(sl_scan_any(p, p + sizeof buf,
							     &set),
						 ref_any(p, p + sizeof buf,
							 odd, k));
				buf[pos] = 'A';
			}
		}
	}
	sl_scan_force(SL_SCAN_AUTO);
}

/* The checkers reject wrong answers. */
static void checkers_fail(void **state)
{
	(void)state;
	char *p = body_end - 100;
	memset(p, 'a', 100);
	p[70] = ' ';
	assert_true(same_ptr("t", sl_scan_byte(p, p + 100, ' '), p + 70, p));
	assert_false(same_ptr("t", p + 69, p + 70, p));
	assert_false(same_ptr("t", NULL, p + 70, p));
	sl_scan_block b[SL_SCAN_BITS_BYTES / 64];
	poison(b, SL_SCAN_BITS_BYTES / 64);
	const char *e = sl_scan_index(p, p + 100, " ", 1, b);
	assert_true(index_ok(p, p + 100, " ", 1, b, e));
	b[1][0] ^= 1ULL << 7; /* byte 71 */
	assert_false(index_ok(p, p + 100, " ", 1, b, e));
	b[1][0] ^= 1ULL << 7;
	b[2][0] = 0; /* past the window: must be untouched */
	assert_false(index_ok(p, p + 100, " ", 1, b, e));
	b[2][0] = POISON;
	b[0][1] = 0; /* a class not asked for: must be untouched */
	assert_false(index_ok(p, p + 100, " ", 1, b, e));
	b[0][1] = POISON;
	assert_false(index_ok(p, p + 100, " ", 1, b, e - 1));

	/* the line checker: a buffer of lines, then a wrong separator */
	memset(p, 'a', 100);
	p[10] = p[30] = p[99] = '\n';
	p[50] = 'b';
	assert_true(lines_ok(p, 100, "b\n", "b\n", 2));
	assert_false(lines_ok(p, 100, "b\n", "b ", 2));  /* other lines */
	assert_false(lines_ok(p, 100, "b\n", "a\n", 2)); /* other bits */
}

/*
 * The line reader against a loop: random buffers up to 6000 bytes (many
 * ring chunks) against a guard page, lines of random length (short ones,
 * and some over the ring's guarantee), with and without a last separator.
 */
static void lines_vs_reference(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("scan lines", 0x11e5ULL)};
	int tested = 0;
	for (size_t l = 0; l < 3; l++) {
		if (!sl_scan_force(levels[l]))
			continue;
		tested++;
		for (int i = 0; i < 400; i++) {
			uint8_t alpha[256];
			size_t letters = random_alphabet(&rng, alpha);
			size_t n = (size_t)tu_below(&rng, 6001);
			char *p = random_buf(&rng, n, alpha, letters);
			/* line ends every ~mean bytes, unless the alphabet
			 * already holds the separator often */
			static const size_t means[] = {2, 40, 200, 500, 700, 3000};
			size_t mean = means[tu_below(&rng, 6)];
			char sep = tu_below(&rng, 4) ? '\n' : (char)alpha[0];
			for (size_t j = 0; j < n; j++)
				if (tu_below(&rng, mean) == 0)
					p[j] = sep;
			if (n && tu_below(&rng, 2))
				p[n - 1] = sep;
			int nc = 1 + (int)tu_below(&rng, SL_SCAN_BITS_CLASSES);
			char chars[SL_SCAN_BITS_CLASSES];
			for (int k = 0; k < nc - 1; k++)
				chars[k] = (char)alpha[tu_below(&rng, letters)];
			chars[nc - 1] = sep;
			if (!lines_ok(p, n, chars, chars, nc)) {
				print_message("impl %s, n %zu, mean %zu\n",
					      sl_scan_impl_name(), n, mean);
				fail();
			}
		}
	}
	assert_true(tested >= 1);
	sl_scan_force(SL_SCAN_AUTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checkers_fail),
		cmocka_unit_test(forcing_and_sets),
		cmocka_unit_test(random_vs_reference),
		cmocka_unit_test(long_buffers),
		cmocka_unit_test(lines_vs_reference),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
