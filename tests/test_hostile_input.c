/*
 * test_hostile_input.c: issue 11's hostile cases for the input layer
 * (lib/io/input.c), one cmocka case per finding, each starting from bytes the
 * test writes itself (compressed here with zlib's deflate and libzstd, or
 * built by hand where the format is simple: a zstd skippable frame).
 *
 *   item04_*   named pipes, /dev/stdin and pipes lose no byte: 1,000 lines
 *              written by a forked child into a pipe or FIFO come back whole
 *              (the CLI's double open is the lead's fix; these pin the
 *              library's side). Every case that could block sets an alarm,
 *              so a hang fails the test instead of stalling make test.
 *   item08_*   a gzip file with trailing zero padding reads as gzip -dc
 *              reads it; real trailing garbage is still SL_ECORRUPT, but only
 *              after every byte of the last member has been delivered.
 *   item11_*   a zstd stream that starts with a skippable frame (as pzstd
 *              writes) is zstd, and skippable frames anywhere are skipped.
 *   item17_*   a file that shrinks while it is read is noticed
 *              (sl_input_shrank), for ranges and whole files.
 *   messages_* after SL_ENOMEM the input says how much budget it needs
 *              (sl_input_need), exactly what an unconstrained run peaks at.
 *
 * The *_cli cases run the program (SLUICE_BIN) on the same bytes, as the
 * issue's reporter did, and read its --json report.
 */
#include "json.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#define BIG_BUDGET ((size_t)64 << 20)
#define HANG_SECONDS 20 /* a case blocked this long fails (SIGALRM) */

static char tmpdir[64];
static uint64_t seed;

/* ---- bytes ------------------------------------------------------------- */

typedef struct {
	unsigned char *p;
	size_t n, cap;
} vec;

static void vec_add(vec *v, const void *p, size_t n)
{
	if (v->n + n > v->cap) {
		size_t cap = v->cap ? v->cap : 4096;
		while (cap < v->n + n)
			cap *= 2;
		v->p = realloc(v->p, cap);
		assert_non_null(v->p);
		v->cap = cap;
	}
	if (n)
		memcpy(v->p + v->n, p, n);
	v->n += n;
}

static void vec_zeros(vec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vec_add(v, "", 1);
}

static void vec_free(vec *v)
{
	free(v->p);
	memset(v, 0, sizeof *v);
}

static bool same(const vec *a, const vec *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/* `count` numbered log-like lines of varied length, seeded. */
static void lines(vec *v, int count, uint64_t s)
{
	tu_rng r = {s};
	char line[256];
	for (int i = 1; i <= count; i++) {
		int len = snprintf(line, sizeof line, "line %d of %d: ", i, count);
		int pad = (int)tu_below(&r, 60);
		for (int k = 0; k < pad; k++)
			line[len++] = (char)('a' + tu_below(&r, 26));
		line[len++] = '\n';
		vec_add(v, line, (size_t)len);
	}
}

/* One gzip member of p[0..n). */
static void gzip_member(vec *out, const void *p, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t bound = deflateBound(&z, (uLong)n) + 64;
	unsigned char *buf = malloc(bound);
	assert_non_null(buf);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	z.next_out = buf;
	z.avail_out = (uInt)bound;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	vec_add(out, buf, bound - z.avail_out);
	deflateEnd(&z);
	free(buf);
}

/* One zstd frame of p[0..n) from the one-shot ZSTD_compress (content size
 * in the header, no checksum). */
static void zstd_frame(vec *out, const void *p, size_t n, int level)
{
	size_t bound = ZSTD_compressBound(n);
	unsigned char *buf = malloc(bound);
	assert_non_null(buf);
	size_t w = ZSTD_compress(buf, bound, p, n, level);
	assert_false(ZSTD_isError(w));
	vec_add(out, buf, w);
	free(buf);
}

/* A zstd frame of p[0..n) streamed with no content size, so that its header
 * declares the full 2^window_log window. */
static void zstd_frame_window(vec *out, const void *p, size_t n, int window_log)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	assert_non_null(c);
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log)));
	size_t bound = ZSTD_compressBound(n) + 64;
	unsigned char *buf = malloc(bound);
	assert_non_null(buf);
	ZSTD_outBuffer o = {buf, bound, 0};
	ZSTD_inBuffer i = {p, n, 0};
	while (i.pos < i.size)
		assert_false(ZSTD_isError(ZSTD_compressStream2(c, &o, &i, ZSTD_e_continue)));
	size_t ret;
	do {
		ret = ZSTD_compressStream2(c, &o, &i, ZSTD_e_end);
		assert_false(ZSTD_isError(ret));
	} while (ret != 0);
	vec_add(out, buf, o.pos);
	free(buf);
	ZSTD_freeCCtx(c);
}

/* A skippable frame built by hand: magic 0x184D2A50 + variant (0..15),
 * little-endian, then the content's length (4 bytes, little-endian), then
 * the content (RFC 8878, 3.1.2). */
static void skippable_frame(vec *out, unsigned variant, const void *p, uint32_t n)
{
	uint32_t magic = 0x184D2A50u + variant;
	unsigned char h[8];
	for (int i = 0; i < 4; i++) {
		h[i] = (unsigned char)(magic >> (8 * i));
		h[4 + i] = (unsigned char)(n >> (8 * i));
	}
	vec_add(out, h, sizeof h);
	vec_add(out, p, n);
}

/* ---- files and reading ------------------------------------------------- */

static const char *path_of(const char *name)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return path;
}

static const char *write_file(const char *name, const vec *v)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(v->p, 1, v->n, f), v->n);
	assert_int_equal(fclose(f), 0);
	return path;
}

/*
 * Reads in to the end with reads of at most cap bytes, appending to out;
 * returns the status that ended it (SL_OK at a clean end). An error is
 * sticky: one more read returns it again.
 */
static sl_status read_all(sl_input *in, size_t cap, vec *out)
{
	char *buf = malloc(cap);
	assert_non_null(buf);
	sl_status s;
	int err;
	for (;;) {
		size_t got = 12345;
		s = sl_input_read(in, buf, cap, &got, &err);
		if (s != SL_OK) {
			assert_int_equal(got, 0);
			size_t again = 1;
			assert_int_equal(sl_input_read(in, buf, cap, &again, &err), s);
			assert_int_equal(again, 0);
			break;
		}
		assert_true(got <= cap);
		if (got == 0)
			break;
		vec_add(out, buf, got);
	}
	free(buf);
	return s;
}

/* Decodes a file written from `bytes` at read size cap; the status, the
 * detected kind in *kind (may be NULL), the bytes delivered in out. The
 * budget is back to zero after close. */
static sl_status decode(const vec *bytes, size_t cap, vec *out, sl_compression *kind)
{
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	sl_input *in = NULL;
	int err;
	assert_int_equal(sl_input_open(&in, &b, write_file("case", bytes), &err), SL_OK);
	if (kind)
		*kind = sl_input_compression(in);
	sl_status s = read_all(in, cap, out);
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	return s;
}

static const size_t caps[] = {1, 100, 4096, 1 << 20};
#define NCAPS (sizeof caps / sizeof caps[0])

/* bytes decode to want with status `status` at every read size, and the
 * detected kind is `kind`. Every byte of want is delivered before an error. */
static void expect(const vec *bytes, sl_compression kind, const vec *want, sl_status status)
{
	for (size_t i = 0; i < NCAPS; i++) {
		vec got = {0};
		sl_compression k;
		sl_status s = decode(bytes, caps[i], &got, &k);
		if (s != status || k != kind || !same(&got, want))
			fail_msg("cap %zu: status %d (want %d), kind %d (want %d), "
				 "%zu bytes delivered (want %zu)",
				 caps[i], s, status, k, kind, got.n, want->n);
		vec_free(&got);
	}
}

/* ---- pipes and FIFOs --------------------------------------------------- */

/* A forked child that opens path for writing (fd < 0) or uses fd, writes
 * v in chunks of 1..999 bytes and exits 0. */
static pid_t writer(const char *path, int fd, const vec *v, uint64_t s)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	alarm(HANG_SECONDS);
	if (fd < 0 && (fd = open(path, O_WRONLY)) < 0)
		_exit(3);
	tu_rng r = {s};
	size_t off = 0;
	while (off < v->n) {
		size_t chunk = 1 + (size_t)tu_below(&r, 999);
		if (chunk > v->n - off)
			chunk = v->n - off;
		ssize_t w = write(fd, v->p + off, chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	_exit(close(fd) == 0 ? 0 : 2);
}

static void reap(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Opens path (sl_input_open) or fd (sl_input_open_fd, not owned) and checks
 * that it reads back exactly want, of kind `kind`, at read size cap. */
static void read_back(const char *path, int fd, const vec *want, sl_compression kind,
		      size_t cap)
{
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	sl_input *in = NULL;
	int err = -1;
	if (path)
		assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
	else
		assert_int_equal(sl_input_open_fd(&in, &b, fd, false, &err), SL_OK);
	assert_int_equal(sl_input_compression(in), kind);
	assert_int_equal(sl_input_size(in), 0); /* not a regular file */
	vec got = {0};
	assert_int_equal(read_all(in, cap, &got), SL_OK);
	if (!same(&got, want))
		fail_msg("%s: %zu bytes read back, %zu written", path ? path : "fd", got.n,
			 want->n);
	assert_false(sl_input_shrank(in));
	sl_input_close(in);
	assert_int_equal(b.used, 0);
	vec_free(&got);
}

/* Runs `sluice -f lines --json path`; its exit status, and the report's
 * line count in *nlines (UINT64_MAX without a report). */
static int cli_lines(const char *path, uint64_t *nlines)
{
	char out[128], cmd[512];
	snprintf(out, sizeof out, "%s/report.json", tmpdir);
	snprintf(cmd, sizeof cmd, "'%s' -f lines --json '%s' > '%s' 2>/dev/null", tu_sluice_bin(),
		 path, out);
	int rc = tu_run(cmd);
	size_t len;
	char *text = tu_slurp(out, &len);
	assert_non_null(text);
	size_t at;
	jv *j = json_parse(text, len, &at);
	*nlines = j ? json_u64(j, "lines") : UINT64_MAX;
	json_free(j);
	free(text);
	return rc;
}

/* ---- group setup ------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sluice-hostile-input-XXXXXX");
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

/* ---- item 4: pipes, FIFOs and /dev/stdin lose no byte ------------------ */

/* 1,000 lines through a pipe, read with sl_input_open_fd; plain and gzip. */
static void item04_pipe_reads_every_byte(void **state)
{
	(void)state;
	alarm(HANG_SECONDS);
	vec text = {0}, gz = {0};
	lines(&text, 1000, seed ^ 41);
	assert_true(text.n > 4 * 4096); /* more than the lost 4 KiB */
	gzip_member(&gz, text.p, text.n);
	const vec *sent[] = {&text, &gz};
	sl_compression kinds[] = {SL_COMP_NONE, SL_COMP_GZIP};
	for (int i = 0; i < 2; i++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = writer(NULL, fds[1], sent[i], seed + (uint64_t)i);
		close(fds[1]);
		read_back(NULL, fds[0], &text, kinds[i], 4096);
		close(fds[0]);
		reap(pid);
	}
	alarm(0);
	vec_free(&text);
	vec_free(&gz);
}

/* 1,000 lines through a named pipe opened by path; the writer opens its end
 * in a child (opening a FIFO blocks until both ends are open). */
static void item04_fifo_reads_every_byte(void **state)
{
	(void)state;
	alarm(HANG_SECONDS);
	vec text = {0}, zs = {0};
	lines(&text, 1000, seed ^ 42);
	zstd_frame(&zs, text.p, text.n, 3);
	const char *fifo = path_of("fifo");
	char path[128];
	snprintf(path, sizeof path, "%s", fifo);
	assert_int_equal(mkfifo(path, 0600), 0);
	const vec *sent[] = {&text, &zs};
	sl_compression kinds[] = {SL_COMP_NONE, SL_COMP_ZSTD};
	size_t read_caps[] = {1000, 65536};
	for (int i = 0; i < 2; i++) {
		pid_t pid = writer(path, -1, sent[i], seed + 10 + (uint64_t)i);
		read_back(path, -1, &text, kinds[i], read_caps[i]);
		reap(pid);
	}
	assert_int_equal(unlink(path), 0);
	alarm(0);
	vec_free(&text);
	vec_free(&zs);
}

/* A pipe on standard input, opened by the paths a shell hands over:
 * /dev/stdin, "-", and /dev/fd/N as `<(zcat x.gz)` gives. */
static void item04_dev_stdin_reads_every_byte(void **state)
{
	(void)state;
	alarm(HANG_SECONDS);
	vec text = {0};
	lines(&text, 1000, seed ^ 43);
	const char *paths[] = {"/dev/stdin", "-", "/dev/fd/0"};
	if (fcntl(STDIN_FILENO, F_GETFD) == -1) /* run with stdin closed */
		assert_int_equal(open("/dev/null", O_RDONLY), STDIN_FILENO);
	int saved = dup(STDIN_FILENO);
	assert_true(saved >= 0);
	for (int i = 0; i < 3; i++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = writer(NULL, fds[1], &text, seed + 20 + (uint64_t)i);
		close(fds[1]);
		assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
		close(fds[0]);
		read_back(paths[i], -1, &text, SL_COMP_NONE, 4096);
		reap(pid);
	}
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	alarm(0);
	vec_free(&text);
}

/* ---- item 8: gzip zero padding ----------------------------------------- */

/* NULs after the last member, as a tape or block device leaves them, are
 * padding: gzip -dc accepts them, and so do we, whatever their length
 * (across the 64 KiB input buffer too) and after any number of members. */
static void item08_gzip_zero_padding(void **state)
{
	(void)state;
	vec text = {0}, gz = {0};
	lines(&text, 1000, seed ^ 81);
	gzip_member(&gz, text.p, text.n / 3);
	gzip_member(&gz, text.p + text.n / 3, text.n - text.n / 3);
	size_t pads[] = {1, 7, 512 - gz.n % 512, 10240 - gz.n % 10240, 200000};
	for (size_t i = 0; i < sizeof pads / sizeof pads[0]; i++) {
		vec padded = {0};
		vec_add(&padded, gz.p, gz.n);
		vec_zeros(&padded, pads[i]);
		expect(&padded, SL_COMP_GZIP, &text, SL_OK);
		vec_free(&padded);
	}
	vec_free(&text);
	vec_free(&gz);
}

/* Real garbage after the last member is still an error, but only after the
 * whole of the last member's data: nothing verified is dropped. Zeros
 * followed by anything else, or by another member, are garbage too (gzip
 * -dc also stops there). */
static void item08_gzip_garbage_keeps_last_member(void **state)
{
	(void)state;
	vec text = {0}, gz = {0};
	lines(&text, 1000, seed ^ 82);
	gzip_member(&gz, text.p, text.n);
	vec second = {0};
	gzip_member(&second, "x\n", 2);
	struct {
		size_t zeros;
		const vec *tail;
		const char *text;
	} cases[] = {
		{0, NULL, "garbage\n"}, {0, NULL, "\x01"},  {3, NULL, "\x01"},
		{100000, NULL, "x"},	{5, &second, NULL}, {0, NULL, "\x1f\x8b"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		vec bad = {0};
		vec_add(&bad, gz.p, gz.n);
		vec_zeros(&bad, cases[i].zeros);
		if (cases[i].tail)
			vec_add(&bad, cases[i].tail->p, cases[i].tail->n);
		else
			vec_add(&bad, cases[i].text, strlen(cases[i].text));
		expect(&bad, SL_COMP_GZIP, &text, SL_ECORRUPT);
		vec_free(&bad);
	}
	vec_free(&text);
	vec_free(&gz);
	vec_free(&second);
}

/* The program counts all 1,000 lines of a padded .gz and exits 0. */
static void item08_cli_gzip_zero_padding(void **state)
{
	(void)state;
	vec text = {0}, gz = {0};
	lines(&text, 1000, seed ^ 84);
	gzip_member(&gz, text.p, text.n);
	vec_zeros(&gz, 10240 - gz.n % 10240);
	uint64_t n;
	assert_int_equal(cli_lines(write_file("padded.gz", &gz), &n), 0);
	assert_int_equal(n, 1000);
	vec_free(&text);
	vec_free(&gz);
}

/* The same promise for zstd: a frame's data comes before the error that
 * follows it. */
static void item08_zstd_garbage_keeps_last_frame(void **state)
{
	(void)state;
	vec text = {0}, zs = {0};
	lines(&text, 1000, seed ^ 83);
	zstd_frame(&zs, text.p, text.n, 3);
	vec_add(&zs, "garbage\n", 8);
	expect(&zs, SL_COMP_ZSTD, &text, SL_ECORRUPT);
	vec_free(&text);
	vec_free(&zs);
}

/* ---- item 11: zstd skippable frames ------------------------------------ */

/* A stream that starts with a skippable frame is zstd, for each of the 16
 * magics; skippable frames between frames and at the end are skipped. The
 * pzstd layout: each frame preceded by a 4-byte skippable frame holding the
 * frame's compressed size. */
static void item11_zstd_skippable_first(void **state)
{
	(void)state;
	vec text = {0};
	lines(&text, 1000, seed ^ 111);
	size_t half = text.n / 2;
	for (unsigned variant = 0; variant < 16; variant++) {
		vec a = {0}, b = {0}, z = {0};
		zstd_frame(&a, text.p, half, 3);
		zstd_frame(&b, text.p + half, text.n - half, 1 + (int)variant);
		uint32_t size_a = (uint32_t)a.n, size_b = (uint32_t)b.n;
		unsigned char le[4];
		for (int k = 0; k < 4; k++)
			le[k] = (unsigned char)(size_a >> (8 * k));
		skippable_frame(&z, variant, le, 4); /* pzstd's header */
		vec_add(&z, a.p, a.n);
		for (int k = 0; k < 4; k++)
			le[k] = (unsigned char)(size_b >> (8 * k));
		skippable_frame(&z, 15 - variant, le, 4);
		vec_add(&z, b.p, b.n);
		skippable_frame(&z, variant, "trailer", 7);
		expect(&z, SL_COMP_ZSTD, &text, SL_OK);
		vec_free(&a);
		vec_free(&b);
		vec_free(&z);
	}
	/* a skippable frame with no content, a long one, and one alone */
	vec z = {0}, empty = {0}, big = {0};
	skippable_frame(&z, 0, "", 0);
	vec_zeros(&big, 100000);
	skippable_frame(&z, 7, big.p, (uint32_t)big.n);
	zstd_frame(&z, text.p, text.n, 3);
	expect(&z, SL_COMP_ZSTD, &text, SL_OK);
	z.n = 0;
	skippable_frame(&z, 1, "abc", 3);
	expect(&z, SL_COMP_ZSTD, &empty, SL_OK);
	/* cut short inside the skippable frame: corrupt, as any frame */
	z.n -= 1;
	expect(&z, SL_COMP_ZSTD, &empty, SL_ECORRUPT);
	/* not a skippable magic (0x184D2A60): plain text */
	vec plain = {0};
	vec_add(&plain, "\x60\x2a\x4d\x18 hello\n", 10);
	expect(&plain, SL_COMP_NONE, &plain, SL_OK);
	vec_free(&text);
	vec_free(&z);
	vec_free(&big);
	vec_free(&plain);
}

/* The same stream through a pipe whose writer sends a few bytes at a time:
 * the sniff sees the skippable magic over short reads. */
static void item11_zstd_skippable_through_pipe(void **state)
{
	(void)state;
	alarm(HANG_SECONDS);
	vec text = {0}, z = {0};
	lines(&text, 1000, seed ^ 112);
	skippable_frame(&z, 0, "\x01\x02\x03\x04", 4);
	zstd_frame(&z, text.p, text.n, 3);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = writer(NULL, fds[1], &z, seed + 30);
	close(fds[1]);
	read_back(NULL, fds[0], &text, SL_COMP_ZSTD, 4096);
	close(fds[0]);
	reap(pid);
	alarm(0);
	vec_free(&text);
	vec_free(&z);
}

/* The program counts the 1,000 lines of a pzstd-style file, not 2,413
 * "malformed" ones of binary read as text. */
static void item11_cli_pzstd_lines(void **state)
{
	(void)state;
	vec text = {0}, frame = {0}, z = {0};
	lines(&text, 1000, seed ^ 113);
	zstd_frame(&frame, text.p, text.n, 3);
	unsigned char le[4];
	for (int k = 0; k < 4; k++)
		le[k] = (unsigned char)(frame.n >> (8 * k));
	skippable_frame(&z, 0, le, 4);
	vec_add(&z, frame.p, frame.n);
	uint64_t n;
	assert_int_equal(cli_lines(write_file("lines.zst", &z), &n), 0);
	assert_int_equal(n, 1000);
	vec_free(&text);
	vec_free(&frame);
	vec_free(&z);
}

/* ---- item 17: a file that shrinks while it is read --------------------- */

/* A range expected inside the file meets the end early once the file is
 * truncated: sl_input_shrank says so. Not before the end, not for a range
 * open to the end (UINT64_MAX), not when the file is whole. */
static void item17_range_of_shrunk_file(void **state)
{
	(void)state;
	vec text = {0};
	lines(&text, 1000, seed ^ 171);
	const char *p = write_file("shrink", &text);
	char path[128];
	snprintf(path, sizeof path, "%s", p);
	uint64_t size = text.n, from = 1000;
	sl_budget b;
	sl_budget_init(&b, BIG_BUDGET);
	int err;

	/* whole: reads to offset + length, not shrunk */
	sl_input *in;
	assert_int_equal(sl_input_open_range(&in, &b, path, from, size - from, &err), SL_OK);
	vec got = {0};
	assert_int_equal(read_all(in, 4096, &got), SL_OK);
	assert_int_equal(got.n, size - from);
	assert_false(sl_input_shrank(in));
	sl_input_close(in);

	/* truncated after open, half-way: the range ends early and says so */
	sl_input *ranges[3];
	assert_int_equal(sl_input_open_range(&ranges[0], &b, path, from, size - from, &err),
			 SL_OK);
	assert_int_equal(sl_input_open_range(&ranges[1], &b, path, size - 10, 10, &err), SL_OK);
	assert_int_equal(sl_input_open_range(&ranges[2], &b, path, from, UINT64_MAX, &err),
			 SL_OK);
	assert_int_equal(truncate(path, (off_t)(size / 2)), 0);
	for (int i = 0; i < 3; i++) {
		got.n = 0;
		assert_false(sl_input_shrank(ranges[i]));
		assert_int_equal(read_all(ranges[i], 4096, &got), SL_OK);
		assert_int_equal(got.n, i == 1 ? 0 : size / 2 - from);
		assert_int_equal(sl_input_shrank(ranges[i]), i < 2);
		sl_input_close(ranges[i]);
	}
	assert_int_equal(b.used, 0);
	vec_free(&got);
	vec_free(&text);
}

/* A whole regular file truncated while open ends before its size at open;
 * gzip too (the decoder then says the stream was cut short). */
static void item17_file_shrunk_while_read(void **state)
{
	(void)state;
	vec text = {0}, gz = {0};
	lines(&text, 1000, seed ^ 172);
	gzip_member(&gz, text.p, text.n);
	const vec *data[] = {&text, &gz};
	sl_status want[] = {SL_OK, SL_ECORRUPT};
	for (int i = 0; i < 2; i++) {
		char path[128];
		snprintf(path, sizeof path, "%s", write_file("shrink2", data[i]));
		sl_budget b;
		sl_budget_init(&b, BIG_BUDGET);
		sl_input *in;
		int err;
		assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
		assert_int_equal(sl_input_size(in), data[i]->n);
		assert_int_equal(truncate(path, (off_t)(data[i]->n / 2)), 0);
		vec got = {0};
		assert_int_equal(read_all(in, 4096, &got), want[i]);
		assert_true(sl_input_shrank(in));
		sl_input_close(in);
		/* and a file left alone is not shrunk */
		tu_write_file(path, (const char *)data[i]->p, data[i]->n);
		assert_int_equal(sl_input_open(&in, &b, path, &err), SL_OK);
		got.n = 0;
		assert_int_equal(read_all(in, 4096, &got), SL_OK);
		assert_true(same(&got, &text));
		assert_false(sl_input_shrank(in));
		sl_input_close(in);
		assert_int_equal(b.used, 0);
		vec_free(&got);
	}
	vec_free(&text);
	vec_free(&gz);
}

/* ---- Messages: how much memory the decompressor needs ------------------ */

/* Decodes bytes with a budget of `limit`; returns the status and the
 * input's need, and the budget's peak in *peak. */
static sl_status decode_within(const vec *bytes, size_t limit, uint64_t *need, size_t *peak)
{
	sl_budget b;
	sl_budget_init(&b, limit);
	sl_input *in;
	int err;
	assert_int_equal(sl_input_open(&in, &b, write_file("need", bytes), &err), SL_OK);
	vec got = {0};
	sl_status s = read_all(in, 65536, &got);
	*need = sl_input_need(in);
	sl_input_close(in);
	*peak = b.peak;
	assert_int_equal(b.used, 0);
	vec_free(&got);
	return s;
}

/*
 * For a zstd frame with an 8 MiB window, a zstd frame as the zstd tool
 * writes at its default level (2 MiB window) and a gzip member: decoded
 * with room to spare, the run peaks at P and sl_input_need says P. With a
 * budget of P - 1 the read fails with SL_ENOMEM and sl_input_need still says
 * P; with exactly P it decodes.
 */
static void messages_decoder_need(void **state)
{
	(void)state;
	vec text = {0}, wide = {0}, dflt = {0}, gz = {0};
	lines(&text, 3000, seed ^ 200);
	zstd_frame_window(&wide, text.p, text.n, 23);
	zstd_frame_window(&dflt, text.p, text.n, 21);
	gzip_member(&gz, text.p, text.n);
	const vec *files[] = {&wide, &dflt, &gz};
	for (int i = 0; i < 3; i++) {
		uint64_t need;
		size_t peak, peak2;
		assert_int_equal(decode_within(files[i], BIG_BUDGET, &need, &peak), SL_OK);
		assert_int_equal(need, peak);
		if (i < 2)
			assert_true(peak > ((size_t)1 << (i == 0 ? 23 : 21)));
		uint64_t need2;
		assert_int_equal(decode_within(files[i], peak - 1, &need2, &peak2), SL_ENOMEM);
		assert_int_equal(need2, peak);
		assert_int_equal(decode_within(files[i], peak, &need2, &peak2), SL_OK);
		assert_int_equal(peak2, peak);
	}
	vec_free(&text);
	vec_free(&wide);
	vec_free(&dflt);
	vec_free(&gz);
}

int main(void)
{
	seed = tu_seed("hostile_input", 0x11a2b3c4ULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(item04_pipe_reads_every_byte),
		cmocka_unit_test(item04_fifo_reads_every_byte),
		cmocka_unit_test(item04_dev_stdin_reads_every_byte),
		cmocka_unit_test(item08_gzip_zero_padding),
		cmocka_unit_test(item08_gzip_garbage_keeps_last_member),
		cmocka_unit_test(item08_cli_gzip_zero_padding),
		cmocka_unit_test(item08_zstd_garbage_keeps_last_frame),
		cmocka_unit_test(item11_zstd_skippable_first),
		cmocka_unit_test(item11_zstd_skippable_through_pipe),
		cmocka_unit_test(item11_cli_pzstd_lines),
		cmocka_unit_test(item17_range_of_shrunk_file),
		cmocka_unit_test(item17_file_shrunk_while_read),
		cmocka_unit_test(messages_decoder_need),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
