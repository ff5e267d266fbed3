/*
 * test_input.c: byte sources (lib/io/input.c) against the bytes they should
 * deliver. Seeded random data (binary and log-like text) is written to files
 * under a fresh mkdtemp directory, plain or compressed here with zlib's
 * deflate and libzstd, read back through sl_input at several read sizes and
 * compared byte for byte with the original. Also: inputs shorter than the
 * magic, multi-member gzip, multi-frame zstd, every kind truncated and with
 * flipped bits, detection by magic not name, a pipe fed in tiny chunks
 * (short reads during the sniff), stdin, open errors, budget accounting,
 * a zstd window larger than the budget, and failing allocations.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_writeSkippableFrame */
#include <zstd.h>

#define BIG_BUDGET ((size_t)64 << 20)

static char tmpdir[64];
static uint64_t seed;

/* ---- growable byte vector (test side: plain malloc) -------------------- */

typedef struct {
	unsigned char *p;
	size_t n, cap;
} vec;

static void vec_reserve(vec *v, size_t extra)
{
	if (v->n + extra <= v->cap)
		return;
	size_t cap = v->cap ? v->cap : 4096;
	while (cap < v->n + extra)
		cap *= 2;
	v->p = realloc(v->p, cap);
	assert_non_null(v->p);
	v->cap = cap;
}

static void vec_add(vec *v, const void *p, size_t n)
{
	vec_reserve(v, n);
	if (n)
		memcpy(v->p + v->n, p, n);
	v->n += n;
}

static void vec_free(vec *v)
{
	free(v->p);
	memset(v, 0, sizeof *v);
}

/* True when a[0..an) and b[0..bn) are the same bytes. */
static bool same(const unsigned char *a, size_t an, const unsigned char *b,
		 size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* ---- data -------------------------------------------------------------- */

static void random_bytes(tu_rng *r, vec *v, size_t n)
{
	vec_reserve(v, n);
	for (size_t i = 0; i < n; i++)
		v->p[v->n++] = (unsigned char)tu_next(r);
}

/* Access-log-like lines: compressible but not trivially so. */
static void random_text(tu_rng *r, vec *v, size_t n)
{
	static const char *const verbs[] = {"GET", "POST", "HEAD", "PUT"};
	char line[256];
	while (v->n < n) {
		int len = snprintf(line, sizeof line,
			"10.%u.%u.%u - - [10/Oct/2023:13:%02u:%02u +0000] \"%s "
			"/p/%u?q=%llx HTTP/1.1\" %u %u\n",
			(unsigned)tu_below(r, 4), (unsigned)tu_below(r, 256),
			(unsigned)tu_below(r, 256), (unsigned)tu_below(r, 60),
			(unsigned)tu_below(r, 60), verbs[tu_below(r, 4)],
			(unsigned)tu_below(r, 1000),
			(unsigned long long)tu_below(r, 1u << 20),
			200 + 100 * (unsigned)tu_below(r, 4),
			(unsigned)tu_below(r, 100000));
		size_t take = (size_t)len < n - v->n ? (size_t)len : n - v->n;
		vec_add(v, line, take);
	}
}

/* ---- compressors (reference side) -------------------------------------- */

/* Appends one gzip member of p[0..n) to out. */
static void gzip_member(vec *out, const void *p, size_t n, int level)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	size_t bound = deflateBound(&z, (uLong)n) + 64;
	vec_reserve(out, bound);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	z.next_out = out->p + out->n;
	z.avail_out = (uInt)bound;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->n += bound - z.avail_out;
	deflateEnd(&z);
}

/* Appends one zstd frame of p[0..n) with a content checksum. window_log 0
 * keeps the level's default. With unknown_size the frame header carries no
 * content size, so its window descriptor is the full 2^window_log. */
static void zstd_frame(vec *out, const void *p, size_t n, int level,
		       int window_log, bool unknown_size)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	assert_non_null(c);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)));
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
	if (window_log)
		assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog,
								 window_log)));
	size_t bound = ZSTD_compressBound(n) + 64;
	vec_reserve(out, bound);
	ZSTD_outBuffer o = {out->p + out->n, bound, 0};
	ZSTD_inBuffer i = {p, n, 0};
	size_t ret;
	if (unknown_size) {
		while (i.pos < i.size) {
			ret = ZSTD_compressStream2(c, &o, &i, ZSTD_e_continue);
			assert_false(ZSTD_isError(ret));
		}
	}
	do {
		ret = ZSTD_compressStream2(c, &o, &i, ZSTD_e_end);
		assert_false(ZSTD_isError(ret));
	} while (ret != 0);
	out->n += o.pos;
	ZSTD_freeCCtx(c);
}

/* ---- files ------------------------------------------------------------- */

static const char *path_of(const char *name)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return path;
}

static const char *write_file(const char *name, const void *p, size_t n)
{
	const char *path = path_of(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	const unsigned char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
	assert_int_equal(close(fd), 0);
	return path;
}

/*
 * Reads in to the end with reads of at most cap bytes, appending to out.
 * Returns the status that ended it (SL_OK at a clean end). Checks the read
 * contract on the way: got <= cap, got == 0 only at the end, and progress
 * counters that never go backwards.
 */
static sl_status read_all(sl_input *in, size_t cap, vec *out, int *err)
{
	char *buf = malloc(cap);
	assert_non_null(buf);
	uint64_t last = sl_input_consumed(in);
	sl_status s;
	for (;;) {
		size_t got = 12345;
		*err = -1;
		s = sl_input_read(in, buf, cap, &got, err);
		assert_true(sl_input_consumed(in) >= last);
		last = sl_input_consumed(in);
		if (s != SL_OK) {
			assert_int_equal(got, 0);
			if (s != SL_EIO)
				assert_int_equal(*err, 0);
			break;
		}
		assert_int_equal(*err, 0);
		assert_true(got <= cap);
		if (got == 0)
			break;
		vec_add(out, buf, got);
	}
	free(buf);
	return s;
}

/* Opens path, checks the detected kind, reads it all with reads of cap and
 * compares with want. Also checks size/consumed and the budget's return to
 * its baseline on close. */
static void check_file(const char *path, sl_compression kind, size_t cap,
		       const vec *want)
{
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	sl_input *in = NULL;
	int err = -1;
	assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
	assert_int_equal(err, 0);
	assert_non_null(in);
	assert_int_equal(sl_input_compression(in), kind);
	assert_int_equal(sl_input_size(in), (uint64_t)st.st_size);
	assert_true(sl_input_consumed(in) <= (uint64_t)st.st_size);
	vec got = {0};
	assert_int_equal(read_all(in, cap, &got, &err), SL_OK);
	assert_true(same(got.p, got.n, want->p, want->n));
	assert_int_equal(sl_input_consumed(in), (uint64_t)st.st_size);
	/* the end is sticky */
	char c;
	size_t n = 1;
	assert_int_equal(sl_input_read(in, &c, 1, &n, &err), SL_OK);
	assert_int_equal(n, 0);
	assert_true(b.used > 0);
	if (kind != SL_COMP_NONE)
		assert_true(b.peak >= 64 * 1024);
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	vec_free(&got);
}

static const size_t caps[] = {1, 7, 4096, 1 << 20};

/* Checks a file at every cap; the tiny caps only on small inputs so that
 * the test stays fast under valgrind. */
static void check_all_caps(const char *path, sl_compression kind,
			   const vec *want)
{
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		if (caps[i] < 64 && want->n > 80000)
			continue;
		check_file(path, kind, caps[i], want);
	}
}

/* ---- group setup: the temp directory ----------------------------------- */

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-input-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(tmpdir);
}

/* ---- tests ------------------------------------------------------------- */

static void checker_can_fail(void **state)
{
	(void)state;
	unsigned char a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
	assert_true(same(a, 4, a, 4));
	assert_false(same(a, 4, b, 4));
	assert_false(same(a, 3, a, 4));
	assert_true(same(NULL, 0, a, 0));
}

static void plain_round_trip(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 1};
	vec small = {0}, bin = {0}, text = {0};
	random_bytes(&r, &small, 40000);
	random_bytes(&r, &bin, 300000);
	random_text(&r, &text, 250000);
	check_all_caps(write_file("small.bin", small.p, small.n), SL_COMP_NONE, &small);
	check_all_caps(write_file("bin", bin.p, bin.n), SL_COMP_NONE, &bin);
	check_all_caps(write_file("text.log", text.p, text.n), SL_COMP_NONE, &text);
	/* a file whose first byte is gzip's but second is not stays plain */
	small.p[0] = 0x1f;
	small.p[1] = 0x8c;
	check_file(write_file("near.gz", small.p, small.n), SL_COMP_NONE, 4096, &small);
	small.p[0] = 0x28;
	small.p[1] = 0xb5;
	small.p[2] = 0x2f;
	small.p[3] = 0xfe;
	check_file(write_file("near.zst", small.p, small.n), SL_COMP_NONE, 4096, &small);
	vec_free(&small);
	vec_free(&bin);
	vec_free(&text);
}

static void shorter_than_magic(void **state)
{
	(void)state;
	static const unsigned char cases[][3] = {
		{'a', 'b', 'c'}, {0x1f, 0x00, 0x8b}, {0x28, 0xb5, 0x2f},
		{0x1f, 0x1f, 0x1f},
	};
	vec empty = {0};
	check_all_caps(write_file("empty", "", 0), SL_COMP_NONE, &empty);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (size_t n = 1; n <= 3; n++) {
			vec want = {0};
			vec_add(&want, cases[c], n);
			check_all_caps(write_file("tiny", want.p, want.n),
				       SL_COMP_NONE, &want);
			vec_free(&want);
		}
	}
}

static void gzip_round_trip(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 2};
	vec small = {0}, bin = {0}, text = {0}, z = {0};
	random_text(&r, &small, 30000);
	random_bytes(&r, &bin, 200000);
	random_text(&r, &text, 400000);
	gzip_member(&z, small.p, small.n, 6);
	check_all_caps(write_file("small.gz", z.p, z.n), SL_COMP_GZIP, &small);
	z.n = 0;
	gzip_member(&z, bin.p, bin.n, 1); /* incompressible: several refills */
	assert_true(z.n > 3 * 65536);
	check_all_caps(write_file("bin.gz", z.p, z.n), SL_COMP_GZIP, &bin);
	z.n = 0;
	gzip_member(&z, text.p, text.n, 9);
	check_all_caps(write_file("text.gz", z.p, z.n), SL_COMP_GZIP, &text);
	z.n = 0;
	gzip_member(&z, "", 0, 6); /* an empty member is an empty input */
	vec empty = {0};
	check_all_caps(write_file("empty.gz", z.p, z.n), SL_COMP_GZIP, &empty);
	vec_free(&small);
	vec_free(&bin);
	vec_free(&text);
	vec_free(&z);
}

static void gzip_multi_member(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 3};
	vec all = {0}, z = {0};
	/* members of varied sizes, one empty, one binary, as `cat a.gz b.gz` */
	size_t sizes[] = {1000, 0, 70000, 1, 5000, 150000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t start = all.n;
		if (i == 5)
			random_bytes(&r, &all, sizes[i]);
		else
			random_text(&r, &all, all.n + sizes[i]);
		gzip_member(&z, all.p + start, all.n - start, 1 + (int)i);
	}
	check_all_caps(write_file("multi.gz", z.p, z.n), SL_COMP_GZIP, &all);
	/* small members only, so that the tiny caps run too */
	vec all2 = {0}, z2 = {0};
	for (int i = 0; i < 20; i++) {
		size_t start = all2.n;
		random_text(&r, &all2, all2.n + tu_below(&r, 3000));
		gzip_member(&z2, all2.p + start, all2.n - start, 6);
	}
	check_all_caps(write_file("multi2.gz", z2.p, z2.n), SL_COMP_GZIP, &all2);
	vec_free(&all);
	vec_free(&z);
	vec_free(&all2);
	vec_free(&z2);
}

static void zstd_round_trip(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 4};
	vec small = {0}, bin = {0}, text = {0}, z = {0};
	random_text(&r, &small, 30000);
	random_bytes(&r, &bin, 200000);
	random_text(&r, &text, 400000);
	zstd_frame(&z, small.p, small.n, 3, 0, false);
	check_all_caps(write_file("small.zst", z.p, z.n), SL_COMP_ZSTD, &small);
	z.n = 0;
	zstd_frame(&z, bin.p, bin.n, 1, 0, true);
	check_all_caps(write_file("bin.zst", z.p, z.n), SL_COMP_ZSTD, &bin);
	z.n = 0;
	zstd_frame(&z, text.p, text.n, 9, 0, false);
	check_all_caps(write_file("text.zst", z.p, z.n), SL_COMP_ZSTD, &text);
	z.n = 0;
	zstd_frame(&z, "", 0, 3, 0, false);
	vec empty = {0};
	check_all_caps(write_file("empty.zst", z.p, z.n), SL_COMP_ZSTD, &empty);
	vec_free(&small);
	vec_free(&bin);
	vec_free(&text);
	vec_free(&z);
}

static void zstd_multi_frame(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 5};
	vec all = {0}, z = {0};
	size_t sizes[] = {1000, 0, 70000, 1, 5000, 150000, 30};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t start = all.n;
		if (i == 5)
			random_bytes(&r, &all, sizes[i]);
		else
			random_text(&r, &all, all.n + sizes[i]);
		zstd_frame(&z, all.p + start, all.n - start, 1 + (int)i,
			   0, i % 2 == 1);
		if (i == 2) { /* a skippable frame carries no output */
			unsigned char skip[64];
			memset(skip, 0xab, sizeof skip);
			vec_reserve(&z, 128);
			size_t w = ZSTD_writeSkippableFrame(z.p + z.n, 128,
							    skip, sizeof skip, 3);
			assert_false(ZSTD_isError(w));
			z.n += w;
		}
	}
	check_all_caps(write_file("multi.zst", z.p, z.n), SL_COMP_ZSTD, &all);
	vec all2 = {0}, z2 = {0};
	for (int i = 0; i < 20; i++) {
		size_t start = all2.n;
		random_text(&r, &all2, all2.n + tu_below(&r, 3000));
		zstd_frame(&z2, all2.p + start, all2.n - start, 3, 0, i % 3 == 0);
	}
	check_all_caps(write_file("multi2.zst", z2.p, z2.n), SL_COMP_ZSTD, &all2);
	vec_free(&all);
	vec_free(&z);
	vec_free(&all2);
	vec_free(&z2);
}

/*
 * Opens p[0..n) written to a file, reads it all with cap 4096 and returns
 * the final status; the bytes delivered go to out (may be NULL).
 */
static sl_status decode_bytes(const unsigned char *p, size_t n, vec *out,
			      sl_compression *kind)
{
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	const char *path = write_file("case", p, n);
	sl_input *in = NULL;
	int err;
	assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
	if (kind)
		*kind = sl_input_compression(in);
	vec tmp = {0};
	sl_status s = read_all(in, 4096, out ? out : &tmp, &err);
	if (s != SL_OK) { /* errors are sticky */
		char c;
		size_t got = 1;
		assert_int_equal(sl_input_read(in, &c, 1, &got, &err), s);
		assert_int_equal(got, 0);
	}
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	vec_free(&tmp);
	return s;
}

/* Every proper prefix of a one-member/one-frame file, at least as long as
 * the magic, is cut short: SL_ECORRUPT, and whatever was delivered before
 * the error is a prefix of the original. */
static void truncated_is_corrupt(const vec *z, const vec *orig,
				 sl_compression kind, size_t magic, tu_rng *r)
{
	size_t tried = 0;
	for (size_t len = magic; len < z->n; len++) {
		/* all of the first and last 40 lengths, a sample between */
		if (len >= magic + 40 && len + 40 < z->n && tu_below(r, 40) != 0)
			continue;
		vec out = {0};
		sl_compression k;
		sl_status s = decode_bytes(z->p, len, &out, &k);
		assert_int_equal(k, kind);
		if (s != SL_ECORRUPT)
			fail_msg("prefix of %zu of %zu bytes: status %d", len, z->n, s);
		assert_true(out.n <= orig->n);
		assert_true(same(out.p, out.n, orig->p, out.n));
		vec_free(&out);
		tried++;
	}
	assert_true(tried >= 80);
	/* and the whole file decodes: the failures are the truncation's */
	vec out = {0};
	assert_int_equal(decode_bytes(z->p, z->n, &out, NULL), SL_OK);
	assert_true(same(out.p, out.n, orig->p, orig->n));
	vec_free(&out);
}

static void truncated_gzip(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 6};
	vec orig = {0}, z = {0};
	random_text(&r, &orig, 30000);
	gzip_member(&z, orig.p, orig.n, 6);
	truncated_is_corrupt(&z, &orig, SL_COMP_GZIP, 2, &r);
	/* a second member cut short after a complete first one */
	vec two = {0};
	vec_add(&two, z.p, z.n);
	gzip_member(&two, orig.p, 5000, 6);
	assert_int_equal(decode_bytes(two.p, two.n - 3, NULL, NULL), SL_ECORRUPT);
	assert_int_equal(decode_bytes(two.p, z.n + 1, NULL, NULL), SL_ECORRUPT);
	/* trailing garbage after a complete member is corrupt, zeros then
	 * garbage too; zeros alone are padding (test_hostile_input item 8) */
	vec tail = {0}, out = {0};
	vec_add(&tail, z.p, z.n);
	vec_add(&tail, "\0\0\0\0", 4);
	assert_int_equal(decode_bytes(tail.p, tail.n, &out, NULL), SL_OK);
	assert_true(same(out.p, out.n, orig.p, orig.n));
	vec_add(&tail, "\x1f\x8b", 2);
	assert_int_equal(decode_bytes(tail.p, tail.n, NULL, NULL), SL_ECORRUPT);
	tail.n = z.n;
	vec_add(&tail, "hello\n", 6);
	assert_int_equal(decode_bytes(tail.p, tail.n, NULL, NULL), SL_ECORRUPT);
	vec_free(&out);
	vec_free(&orig);
	vec_free(&z);
	vec_free(&two);
	vec_free(&tail);
}

static void truncated_zstd(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 7};
	vec orig = {0}, z = {0};
	random_text(&r, &orig, 30000);
	zstd_frame(&z, orig.p, orig.n, 3, 0, true);
	truncated_is_corrupt(&z, &orig, SL_COMP_ZSTD, 4, &r);
	z.n = 0;
	zstd_frame(&z, orig.p, orig.n, 3, 0, false);
	truncated_is_corrupt(&z, &orig, SL_COMP_ZSTD, 4, &r);
	/* trailing garbage after a complete frame */
	vec_add(&z, "hello\n", 6);
	assert_int_equal(decode_bytes(z.p, z.n, NULL, NULL), SL_ECORRUPT);
	vec_free(&orig);
	vec_free(&z);
}

/*
 * Flips one bit at a time in [from, z->n). The result must never be a
 * silent wrong output: either an error (SL_ECORRUPT; for zstd also
 * SL_ENOMEM when the flip enlarges the window descriptor) or exactly the
 * original bytes (a flip in bits the format ignores, such as the padding
 * after deflate's last block). Flips in the middle half of the compressed
 * body and in the trailing checksum must be detected.
 */
static void flips_detected(const vec *z, const vec *orig, size_t from,
			   bool zstd, tu_rng *r)
{
	vec m = {0};
	vec_add(&m, z->p, z->n);
	size_t detected = 0, trials = 150;
	for (size_t t = 0; t < trials + 32; t++) {
		size_t pos;
		if (t < 32) /* every bit of the last 4 bytes: CRC-32 / checksum */
			pos = z->n - 4 + t / 8;
		else
			pos = from + tu_below(r, z->n - from);
		unsigned bit = t < 32 ? (unsigned)(t % 8) : (unsigned)tu_below(r, 8);
		m.p[pos] ^= (unsigned char)(1u << bit);
		vec out = {0};
		sl_status s = decode_bytes(m.p, m.n, &out, NULL);
		m.p[pos] ^= (unsigned char)(1u << bit);
		bool middle = pos >= z->n / 4 && pos < z->n * 3 / 4;
		if (s == SL_OK) {
			if (!same(out.p, out.n, orig->p, orig->n))
				fail_msg("silent wrong output: bit %u of byte %zu", bit, pos);
			if (middle || t < 32)
				fail_msg("undetected flip: bit %u of byte %zu of %zu",
					 bit, pos, z->n);
		} else {
			assert_true(s == SL_ECORRUPT || (zstd && s == SL_ENOMEM));
			detected++;
		}
		vec_free(&out);
	}
	assert_true(detected >= 32);
	vec_free(&m);
}

static void flipped_gzip(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 8};
	vec orig = {0}, z = {0};
	random_text(&r, &orig, 40000);
	gzip_member(&z, orig.p, orig.n, 6);
	/* bytes 4..9 (mtime, xfl, os) are not covered by any check */
	flips_detected(&z, &orig, 10, false, &r);
	vec_free(&orig);
	vec_free(&z);
}

static void flipped_zstd(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 9};
	vec orig = {0}, z = {0};
	random_text(&r, &orig, 40000);
	zstd_frame(&z, orig.p, orig.n, 3, 0, false);
	/* after the magic (a flipped magic is simply not zstd) */
	flips_detected(&z, &orig, 4, true, &r);
	vec_free(&orig);
	vec_free(&z);
}

static void magic_not_name(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 10};
	vec orig = {0}, z = {0};
	random_text(&r, &orig, 20000);
	gzip_member(&z, orig.p, orig.n, 6);
	check_file(write_file("x.log", z.p, z.n), SL_COMP_GZIP, 4096, &orig);
	z.n = 0;
	zstd_frame(&z, orig.p, orig.n, 3, 0, false);
	check_file(write_file("y.gz", z.p, z.n), SL_COMP_ZSTD, 4096, &orig);
	check_file(write_file("x.gz", orig.p, orig.n), SL_COMP_NONE, 4096, &orig);
	check_file(write_file("x.zst", orig.p, orig.n), SL_COMP_NONE, 4096, &orig);
	vec_free(&orig);
	vec_free(&z);
}

/* A child writes p[0..n) into the pipe: the first 6 bytes one at a time
 * with pauses (so the sniff sees short reads), then chunks of 1..3000 bytes
 * with an occasional pause. */
static pid_t pipe_writer(int fd, const unsigned char *p, size_t n, uint64_t s)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	tu_rng r = {s};
	struct timespec pause = {0, 2000000};
	size_t off = 0;
	while (off < n) {
		size_t chunk = off < 6 ? 1 : 1 + (size_t)tu_below(&r, 3000);
		if (chunk > n - off)
			chunk = n - off;
		ssize_t w = write(fd, p + off, chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
		if (off < 6 || tu_below(&r, 20) == 0)
			nanosleep(&pause, NULL);
	}
	_exit(0);
}

static void pipe_case(const vec *bytes, const vec *want, sl_compression kind,
		      size_t cap, uint64_t s)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = pipe_writer(fds[1], bytes->p, bytes->n, s);
	close(fds[1]);
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	sl_input *in = NULL;
	int err;
	assert_int_equal(sl_input_open_fd(&in, &b, fds[0], true, &err), SL_OK);
	assert_int_equal(sl_input_compression(in), kind);
	assert_int_equal(sl_input_size(in), 0);
	vec got = {0};
	assert_int_equal(read_all(in, cap, &got, &err), SL_OK);
	assert_true(same(got.p, got.n, want->p, want->n));
	assert_int_equal(sl_input_consumed(in), (uint64_t)bytes->n);
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	/* owned: closed by sl_input_close */
	assert_int_equal(fcntl(fds[0], F_GETFD), -1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	vec_free(&got);
}

static void pipe_short_reads(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 11};
	vec orig = {0}, gz = {0}, zs = {0};
	random_text(&r, &orig, 100000);
	gzip_member(&gz, orig.p, orig.n / 2, 6);
	gzip_member(&gz, orig.p + orig.n / 2, orig.n - orig.n / 2, 6);
	zstd_frame(&zs, orig.p, orig.n / 3, 3, 0, true);
	zstd_frame(&zs, orig.p + orig.n / 3, orig.n - orig.n / 3, 3, 0, false);
	pipe_case(&orig, &orig, SL_COMP_NONE, 4096, seed + 1);
	pipe_case(&gz, &orig, SL_COMP_GZIP, 4096, seed + 2);
	pipe_case(&zs, &orig, SL_COMP_ZSTD, 4096, seed + 3);
	pipe_case(&gz, &orig, SL_COMP_GZIP, 1 << 20, seed + 4);
	pipe_case(&zs, &orig, SL_COMP_ZSTD, 7, seed + 5);
	/* fewer bytes than the magic, through a pipe */
	vec two = {0};
	vec_add(&two, "\x1f", 1);
	pipe_case(&two, &two, SL_COMP_NONE, 1, seed + 6);
	vec_add(&two, "\x8b", 1); /* gzip magic and nothing else: cut short */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], two.p, two.n), 2);
	close(fds[1]);
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	sl_input *in;
	int err;
	assert_int_equal(sl_input_open_fd(&in, &b, fds[0], false, &err), SL_OK);
	assert_int_equal(sl_input_compression(in), SL_COMP_GZIP);
	vec got = {0};
	assert_int_equal(read_all(in, 100, &got, &err), SL_ECORRUPT);
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	/* not owned: still open */
	assert_true(fcntl(fds[0], F_GETFD) != -1);
	close(fds[0]);
	vec_free(&orig);
	vec_free(&gz);
	vec_free(&zs);
	vec_free(&two);
	vec_free(&got);
}

static void stdin_is_not_closed(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 12};
	vec orig = {0}, z = {0};
	random_text(&r, &orig, 50000);
	zstd_frame(&z, orig.p, orig.n, 3, 0, false);
	const char *path = write_file("stdin.zst", z.p, z.n);
	int saved = dup(STDIN_FILENO);
	assert_true(saved >= 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	sl_input *in;
	int err;
	assert_int_equal(sl_input_open(&in, &b, "-", &err), SL_OK);
	assert_int_equal(sl_input_compression(in), SL_COMP_ZSTD);
	assert_int_equal(sl_input_size(in), (uint64_t)z.n);
	vec got = {0};
	assert_int_equal(read_all(in, 4096, &got, &err), SL_OK);
	assert_true(same(got.p, got.n, orig.p, orig.n));
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	assert_true(fcntl(STDIN_FILENO, F_GETFD) != -1);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	vec_free(&orig);
	vec_free(&z);
	vec_free(&got);
}

static void open_errors(void **state)
{
	(void)state;
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	sl_input *in = (sl_input *)&b; /* must be overwritten with NULL */
	int err = 0;
	assert_int_equal(sl_input_open(&in, &b, path_of("no-such-file"), &err), SL_EIO);
	assert_int_equal(err, ENOENT);
	assert_null(in);
	assert_int_equal(b.used, 0);

	const char *dir = path_of("a-directory");
	assert_int_equal(mkdir(dir, 0700), 0);
	in = (sl_input *)&b;
	err = 0;
	assert_int_equal(sl_input_open(&in, &b, dir, &err), SL_EIO);
	assert_int_equal(err, EISDIR);
	assert_null(in);
	assert_int_equal(b.used, 0);
	assert_int_equal(rmdir(dir), 0);

	/* a descriptor open for writing only: read(2) says EBADF; the
	 * caller's descriptor stays open on failure */
	int fd = open(write_file("wronly", "abc", 3), O_WRONLY);
	assert_true(fd >= 0);
	err = 0;
	assert_int_equal(sl_input_open_fd(&in, &b, fd, true, &err), SL_EIO);
	assert_int_equal(err, EBADF);
	assert_null(in);
	assert_true(fcntl(fd, F_GETFD) != -1);
	close(fd);
	assert_int_equal(sl_input_open_fd(&in, &b, -1, false, &err), SL_EINVAL);
	assert_int_equal(b.used, 0);

	/* reads with a zero cap are refused, not taken for the end */
	assert_int_equal(sl_input_open(&in, &b, write_file("abc", "abc", 3), &err), SL_OK);
	char c[4];
	size_t got = 9;
	assert_int_equal(sl_input_read(in, c, 0, &got, &err), SL_EINVAL);
	assert_int_equal(got, 0);
	assert_int_equal(sl_input_read(in, c, sizeof c, &got, &err), SL_OK);
	assert_int_equal(got, 3);
	assert_memory_equal(c, "abc", 3);
	sl_input_close(in);
	sl_input_close(NULL);
	assert_int_equal(b.used, 0);
}

/* While open, a compressed input holds its buffer and decoder from the
 * budget; after close the budget is back at its baseline, including inside
 * a parent. */
static void budget_accounting(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 13};
	vec orig = {0}, gz = {0}, zs = {0};
	random_text(&r, &orig, 100000);
	gzip_member(&gz, orig.p, orig.n, 6);
	zstd_frame(&zs, orig.p, orig.n, 3, 0, false);
	const char *names[] = {"acct", "acct.gz", "acct.zst"};
	const vec *data[] = {&orig, &gz, &zs};
	sl_budget root, b;
	sl_budget_init(&root, BIG_BUDGET);
	sl_budget_init_child(&b, &root, BIG_BUDGET / 2);
	void *other = sl_malloc(&b, 1000); /* a baseline that is not zero */
	assert_non_null(other);
	for (int i = 0; i < 3; i++) {
		const char *path = write_file(names[i], data[i]->p, data[i]->n);
		sl_input *in;
		int err;
		assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
		if (i == 0)
			assert_true(b.used > 1000 && b.used < 1000 + 1024);
		else
			assert_true(b.used >= 1000 + 64 * 1024);
		assert_int_equal(root.used, b.used);
		vec got = {0};
		assert_int_equal(read_all(in, 65536, &got, &err), SL_OK);
		assert_true(same(got.p, got.n, orig.p, orig.n));
		sl_input_close(in);
		assert_int_equal(b.used, 1000);
		assert_int_equal(root.used, 1000);
		vec_free(&got);
		/* gzip's whole footprint (buffer, state, window) is small */
		if (i == 1)
			assert_true(b.peak < 1000 + 64 * 1024 + 64 * 1024);
	}
	sl_free(&b, other, 1000);
	assert_int_equal(root.used, 0);
	vec_free(&orig);
	vec_free(&gz);
	vec_free(&zs);
}

/* A zstd frame whose 8 MiB window cannot fit a 1 MiB budget fails with
 * SL_ENOMEM, cleanly; with room for the window the same file decodes. */
static void zstd_window_too_large(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 14};
	vec orig = {0}, z = {0};
	random_text(&r, &orig, 150000);
	zstd_frame(&z, orig.p, orig.n, 3, 23, true);
	ZSTD_frameHeader fh;
	assert_int_equal(ZSTD_getFrameHeader(&fh, z.p, z.n), 0);
	assert_int_equal(fh.windowSize, (unsigned long long)1 << 23);
	const char *path = write_file("wide.zst", z.p, z.n);

	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	sl_input *in;
	int err;
	assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
	vec got = {0};
	assert_int_equal(read_all(in, 4096, &got, &err), SL_ENOMEM);
	assert_int_equal(got.n, 0);
	assert_true(b.peak <= b.limit);
	sl_input_close(in);
	assert_int_equal(b.used, 0);

	sl_budget_init(&b, 12 << 20);
	assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
	assert_int_equal(read_all(in, 4096, &got, &err), SL_OK);
	assert_true(same(got.p, got.n, orig.p, orig.n));
	assert_true(b.peak > (size_t)1 << 23);
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	vec_free(&orig);
	vec_free(&z);
	vec_free(&got);
}

/* A budget too small for the compressed-input buffer refuses the open; a
 * plain input needs only its small struct. */
static void tiny_budget(void **state)
{
	(void)state;
	vec orig = {0}, z = {0};
	tu_rng r = {seed ^ 15};
	random_text(&r, &orig, 5000);
	gzip_member(&z, orig.p, orig.n, 6);
	sl_budget b;
	sl_budget_init(&b, 4096);
	sl_input *in = (sl_input *)&b;
	int err = -1;
	assert_int_equal(sl_input_open(&in, &b, write_file("t.gz", z.p, z.n), &err),
			 SL_ENOMEM);
	assert_int_equal(err, 0);
	assert_null(in);
	assert_int_equal(b.used, 0);
	assert_int_equal(sl_input_open(&in, &b, write_file("t", orig.p, orig.n), &err),
			 SL_OK);
	vec got = {0};
	assert_int_equal(read_all(in, 1000, &got, &err), SL_OK);
	assert_true(same(got.p, got.n, orig.p, orig.n));
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	vec_free(&orig);
	vec_free(&z);
	vec_free(&got);
}

/*
 * With an allocator that fails after `allow` successes, for allow = 0, 1,
 * ...: open either fails with SL_ENOMEM leaving nothing allocated, or
 * succeeds, and then the read either fails with SL_ENOMEM (the decoder's
 * lazy allocations) or delivers exactly the original. Close always returns
 * the budget to zero; ASan and valgrind see no leak. Stops once a run needs
 * no failure.
 */
static void failing_alloc(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 16};
	vec orig = {0}, gz = {0}, zs = {0};
	random_text(&r, &orig, 30000);
	gzip_member(&gz, orig.p, orig.n, 6);
	zstd_frame(&zs, orig.p, orig.n, 3, 0, false);
	const char *names[] = {"f", "f.gz", "f.zst"};
	const vec *data[] = {&orig, &gz, &zs};
	for (int i = 0; i < 3; i++) {
		const char *path = write_file(names[i], data[i]->p, data[i]->n);
		bool clean = false;
		int open_failures = 0;
		for (long allow = 0; !clean && allow < 100; allow++) {
			tu_fail_state fs = {.allow = allow};
			sl_budget b;
			sl_budget_init(&b, BIG_BUDGET);
			sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
			sl_input *in = (sl_input *)&b;
			int err = -1;
			sl_status s = sl_input_open(&in, &b, path, &err);
			if (s != SL_OK) {
				assert_int_equal(s, SL_ENOMEM);
				assert_int_equal(err, 0);
				assert_null(in);
				assert_int_equal(b.used, 0);
				open_failures++;
				continue;
			}
			vec got = {0};
			s = read_all(in, 4096, &got, &err);
			if (s == SL_OK) {
				assert_true(same(got.p, got.n, orig.p, orig.n));
				clean = fs.failures == 0;
			} else {
				assert_int_equal(s, SL_ENOMEM);
				assert_true(fs.failures > 0);
			}
			sl_input_close(in);
			assert_int_equal(b.used, 0);
			vec_free(&got);
		}
		assert_true(clean);
		assert_true(open_failures >= 1);
	}
	vec_free(&orig);
	vec_free(&gz);
	vec_free(&zs);
}

int main(void)
{
	seed = tu_seed("input", 0x1a2b3c4d5e6fULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checker_can_fail),
		cmocka_unit_test(plain_round_trip),
		cmocka_unit_test(shorter_than_magic),
		cmocka_unit_test(gzip_round_trip),
		cmocka_unit_test(gzip_multi_member),
		cmocka_unit_test(zstd_round_trip),
		cmocka_unit_test(zstd_multi_frame),
		cmocka_unit_test(truncated_gzip),
		cmocka_unit_test(truncated_zstd),
		cmocka_unit_test(flipped_gzip),
		cmocka_unit_test(flipped_zstd),
		cmocka_unit_test(magic_not_name),
		cmocka_unit_test(pipe_short_reads),
		cmocka_unit_test(stdin_is_not_closed),
		cmocka_unit_test(open_errors),
		cmocka_unit_test(budget_accounting),
		cmocka_unit_test(zstd_window_too_large),
		cmocka_unit_test(tiny_budget),
		cmocka_unit_test(failing_alloc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
