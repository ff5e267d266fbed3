/*
 * input.c: byte sources behind one interface (sl_input_*): a file, stdin or
 * any descriptor, read as is or through a gzip or zstd decoder chosen by the
 * data's magic bytes, never by the name.
 *
 * The reader interface. An sl_input stacks two layers of one shape,
 *
 *	typedef struct { read(in, buf, cap, &got, &err); close(in); } layer;
 *
 *   source   where raw bytes come from. Today one kind: a descriptor read
 *	      with read(2) (EINTR retried, never mmap, so pipes, terminals
 *	      and files that grow behave alike; EAGAIN from a non-blocking
 *	      descriptor is an SL_EIO like any other). Later kinds (TCP, UDP, a
 *	      file followed as it grows) are new sources; nothing above
 *	      changes.
 *   decoder  turns the source's bytes into the caller's bytes: plain (a
 *	      pass-through reading straight into the caller's buffer, no
 *	      copy), gzip (zlib inflate) or zstd (ZSTD_DStream).
 *
 * Order of calls: sl_input_open / sl_input_open_fd (sniffs the magic) ->
 * sl_input_read* until *got == 0 -> sl_input_close.
 *
 * Sniffing. Opening reads up to 4 bytes, looping over short reads (a pipe
 * may deliver 1 byte at a time) until it has 4 or the source ends; opening
 * therefore blocks until 4 bytes or end of input arrive. gzip starts with
 * 1f 8b; zstd with a frame (28 b5 2f fd) or a skippable frame (magic
 * 0x184D2A50..0x184D2A5F little-endian: 5? 2a 4d 18, as pzstd writes in
 * front of every frame); anything else is plain, including inputs shorter
 * than the magic. Pipes, FIFOs, /dev/stdin and /dev/fd/N are read like
 * files, from their first byte. The sniffed bytes are not lost: plain
 * delivers them first, a decoder finds them at the front of its input
 * buffer. A read error while sniffing (EISDIR for a directory) fails the
 * open with SL_EIO.
 *
 * gzip: inflate with windowBits 15 + 16 (gzip wrapper only, CRC-32 and
 * length checked). Concatenated members (cat a.gz b.gz) are one stream: at
 * the end of a member, if more input follows, the inflater is reset and the
 * next member must be a gzip member too. A NUL after a member starts zero
 * padding (tapes and block devices leave it; gzip -dc accepts it): only
 * NULs may follow, up to the end, and are skipped. Anything else after a
 * member, including a non-NUL after padding, is SL_ECORRUPT (gzip -dc calls
 * it "trailing garbage ignored").
 *
 * zstd: ZSTD_decompressStream over any number of frames; skippable frames,
 * first or between others, are skipped by libzstd. The frame checksum is
 * verified when the frame carries one. The window log limit is raised to
 * libzstd's maximum so that the budget alone decides: a window that does not
 * fit fails the read with SL_ENOMEM (memory_allocation or
 * frameParameter_windowTooLarge); every other zstd error is SL_ECORRUPT.
 * Note that the zstd tool (1.5) at its default level declares a 2 MiB window
 * for files over 1 MiB and for any pipe: decoding then takes 2,652,288 bytes
 * here (sl_input_need: 64 KiB input buffer, 94 KiB context, 128 KiB block
 * buffer, window + 256 KiB); at -1 the window is 512 KiB and the need
 * 1,079,424 bytes. Both are more than a 1 MiB budget holds; such files need
 * a larger budget.
 *
 * End of input. A stream that ends before its last gzip member or zstd
 * frame is complete is SL_ECORRUPT. A decoder returns what it has rather
 * than block on the source for more, so *got may be short; *got == 0 only
 * at the end; cap == 0 is SL_EINVAL. Bytes decoded before an error are
 * delivered first (the data of a member before trailing garbage, of a
 * frame before a broken one): the read that met the error returns them
 * with SL_OK, the next one the error. Errors are sticky: after one, every
 * read returns it again (with the same errno for SL_EIO).
 *
 * A file that shrinks. A regular file opened whole should give st_size
 * bytes from the offset it was opened at, a range opened with a length its
 * offset + length; end of file before that sets `shrank`
 * (sl_input_shrank): the file was truncated or rewritten while read. Files
 * that hold no blocks (sysfs, procfs: sizes they do not keep) are not
 * judged.
 *
 * Memory, all from the budget: the sl_input itself (about 260 bytes); for a
 * compressed input, a 64 KiB input buffer plus the decoder's memory: about
 * 40 KiB for inflate (32 KiB window + 7 KiB state; about 104 KiB in all),
 * and for zstd its context (about 95 KiB) plus window + block buffer, sized
 * by the frame header (about 160 KiB in all before the first frame). zlib
 * and zstd free blocks without passing their size, so each block they obtain
 * carries a small header (one max_align_t) in front holding the size
 * charged, which is what sl_free is given back; the header is counted in the
 * budget too. Beside the budget, the input counts what it holds, its most,
 * and on a refused allocation what it held plus the refused block: that is
 * sl_input_need, the room it needs to go on (a zstd window beyond libzstd's
 * limit is UINT64_MAX). Plain input allocates nothing but the sl_input.
 * Closing returns every byte, closes the descriptor when owned (stdin never
 * is).
 *
 * Ownership on failure: sl_input_open closes the descriptor it opened;
 * sl_input_open_fd leaves the caller's descriptor open whatever owns_fd says
 * (ownership passes only on success).
 */
#include "sluice.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDStream_advanced, customMem */
#include <zstd.h>
#include <zstd_errors.h>
#include <pthread.h>

#include "core/dynload.h"

/* zlib and zstd are opened with the first input that needs them
 * (lib/core/dynload.c); the calls below go through these tables. */
static struct {
	__typeof__(inflate) *inflate;
	__typeof__(inflateEnd) *inflateEnd;
	__typeof__(inflateInit2_) *inflateInit2_;
	__typeof__(inflateReset) *inflateReset;
} zl;
static struct {
	__typeof__(ZSTD_DCtx_setParameter) *DCtx_setParameter;
	__typeof__(ZSTD_createDStream_advanced) *createDStream_advanced;
	__typeof__(ZSTD_dParam_getBounds) *dParam_getBounds;
	__typeof__(ZSTD_decompressStream) *decompressStream;
	__typeof__(ZSTD_freeDStream) *freeDStream;
	__typeof__(ZSTD_getErrorCode) *getErrorCode;
	__typeof__(ZSTD_isError) *isError;
} zs;
static pthread_once_t zl_once = PTHREAD_ONCE_INIT, zs_once = PTHREAD_ONCE_INIT;
static bool zl_ok, zs_ok;

static void load_zlib(void)
{
	static const char *const names[] = {"inflate", "inflateEnd", "inflateInit2_",
					    "inflateReset"};
	zl_ok = sl_dynload("libz.so.1", names, 4, (void **)&zl);
}

static void load_zstd(void)
{
	static const char *const names[] = {
		"ZSTD_DCtx_setParameter", "ZSTD_createDStream_advanced", "ZSTD_dParam_getBounds",
		"ZSTD_decompressStream",  "ZSTD_freeDStream",		 "ZSTD_getErrorCode",
		"ZSTD_isError",
	};
	zs_ok = sl_dynload("libzstd.so.1", names, 7, (void **)&zs);
}

#define inflate (*zl.inflate)
#define inflateEnd (*zl.inflateEnd)
#define inflateInit2_ (*zl.inflateInit2_)
#define inflateReset (*zl.inflateReset)
#define ZSTD_DCtx_setParameter (*zs.DCtx_setParameter)
#define ZSTD_createDStream_advanced (*zs.createDStream_advanced)
#define ZSTD_dParam_getBounds (*zs.dParam_getBounds)
#define ZSTD_decompressStream (*zs.decompressStream)
#define ZSTD_freeDStream (*zs.freeDStream)
#define ZSTD_getErrorCode (*zs.getErrorCode)
#define ZSTD_isError (*zs.isError)

#define MAGIC_LEN 4
#define ZBUF_SIZE (64 * 1024) /* compressed-input buffer */

typedef struct {
	sl_status (*read)(sl_input *in, void *buf, size_t cap, size_t *got,
			  int *err);
	void (*close)(sl_input *in);
} layer;

struct sl_input {
	const layer *src;	/* raw bytes */
	const layer *dec;	/* caller's bytes */
	sl_budget *b;
	int fd;
	bool owns_fd;
	bool src_eof;		/* the source said end of input */
	bool member_end;	/* gzip: a member ended; zstd: a frame ended */
	bool padding;		/* gzip: in the zero padding after the last member */
	bool sized;		/* the source should give `expect` bytes */
	bool shrank;		/* it ended before giving them */
	sl_compression comp;
	sl_status failed;	/* sticky error, SL_OK if none */
	int failed_err;
	uint64_t size;
	uint64_t consumed;	/* raw bytes read from the source */
	uint64_t pos, end;	/* range source: next offset, end offset */
	uint64_t expect;	/* bytes the source had at open (when sized) */
	uint64_t held, held_peak; /* budget bytes this input holds, and its most */
	uint64_t refused;	/* held + the allocation refused, 0 if none */
	unsigned char head[MAGIC_LEN]; /* sniffed bytes (plain input) */
	uint8_t head_len, head_pos;
	unsigned char *zbuf;	/* ZBUF_SIZE bytes, compressed input only */
	size_t zpos, zlen;	/* unconsumed input is zbuf[zpos, zlen) */
	z_stream z;
	ZSTD_DStream *zs;
};

/* ---- descriptor source ------------------------------------------------- */

static sl_status fd_read(sl_input *in, void *buf, size_t cap, size_t *got,
			 int *err)
{
	ssize_t n;
	if (cap > SSIZE_MAX)
		cap = SSIZE_MAX;
	do
		n = read(in->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*got = 0;
		*err = errno;
		return SL_EIO;
	}
	*got = (size_t)n;
	in->consumed += (uint64_t)n;
	if (n == 0) {
		in->src_eof = true;
		if (in->sized && in->consumed < in->expect)
			in->shrank = true;
	}
	return SL_OK;
}

static void fd_close(sl_input *in)
{
	if (in->owns_fd && in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

static const layer fd_source = {fd_read, fd_close};

/* ---- byte-range source ------------------------------------------------- */

/* pread(2) of [pos, end): several ranges of one file can be read by several
 * threads, each through its own sl_input, without sharing a file offset. */
static sl_status range_read(sl_input *in, void *buf, size_t cap, size_t *got,
			    int *err)
{
	ssize_t n = 0;
	uint64_t left = in->end - in->pos;
	if (cap > left)
		cap = (size_t)left;
	if (cap > SSIZE_MAX)
		cap = SSIZE_MAX;
	if (cap > 0) {
		do
			n = pread(in->fd, buf, cap, (off_t)in->pos);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0) {
		*got = 0;
		*err = errno;
		return SL_EIO;
	}
	*got = (size_t)n;
	in->pos += (uint64_t)n;
	in->consumed += (uint64_t)n;
	if (n == 0) {
		in->src_eof = true;
		if (in->sized && in->pos < in->end)
			in->shrank = true; /* the file ended inside the range */
	}
	return SL_OK;
}

static const layer range_source = {range_read, fd_close};

/* Refills zbuf from the source once; the unconsumed tail is moved to the
 * front first. At end of input zlen is unchanged and src_eof is set. */
static sl_status fill(sl_input *in, int *err)
{
	size_t got;
	if (in->zpos > 0) {
		memmove(in->zbuf, in->zbuf + in->zpos, in->zlen - in->zpos);
		in->zlen -= in->zpos;
		in->zpos = 0;
	}
	if (in->src_eof || in->zlen == ZBUF_SIZE)
		return SL_OK;
	sl_status s = in->src->read(in, in->zbuf + in->zlen,
				    ZBUF_SIZE - in->zlen, &got, err);
	in->zlen += got;
	return s;
}

/* ---- budgeted blocks for zlib and zstd --------------------------------- */

/* The size charged, kept in front of each block (the libraries' free hooks
 * do not pass it back); the union keeps the block malloc-aligned. */
typedef union {
	size_t n;
	max_align_t align;
} block_hdr;

/* What the input holds is counted beside the budget, for sl_input_need. */
static void charge(sl_input *in, size_t n)
{
	in->held += n;
	if (in->held > in->held_peak)
		in->held_peak = in->held;
}

static void *block_alloc(sl_input *in, size_t n)
{
	if (n > SIZE_MAX - sizeof(block_hdr)) {
		in->refused = UINT64_MAX;
		return NULL;
	}
	block_hdr *h = sl_malloc(in->b, sizeof *h + n);
	if (!h) {
		in->refused = in->held + sizeof *h + n;
		return NULL;
	}
	h->n = sizeof *h + n;
	charge(in, h->n);
	return h + 1;
}

static void block_free(sl_input *in, void *p)
{
	if (!p)
		return;
	block_hdr *h = (block_hdr *)p - 1;
	in->held -= h->n;
	sl_free(in->b, h, h->n);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	if (size && items > SIZE_MAX / size) {
		((sl_input *)opaque)->refused = UINT64_MAX;
		return Z_NULL;
	}
	return block_alloc(opaque, (size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
	block_free(opaque, p);
}

static void *zs_alloc(void *opaque, size_t n)
{
	return block_alloc(opaque, n);
}

static void zs_free(void *opaque, void *p)
{
	block_free(opaque, p);
}

/* ---- plain decoder ----------------------------------------------------- */

static sl_status plain_read(sl_input *in, void *buf, size_t cap, size_t *got,
			    int *err)
{
	if (in->head_pos < in->head_len) {
		size_t n = (size_t)(in->head_len - in->head_pos);
		if (n > cap)
			n = cap;
		memcpy(buf, in->head + in->head_pos, n);
		in->head_pos += (uint8_t)n;
		*got = n;
		return SL_OK;
	}
	if (in->src_eof) {
		*got = 0;
		return SL_OK;
	}
	return in->src->read(in, buf, cap, got, err);
}

static void plain_close(sl_input *in)
{
	(void)in;
}

static const layer plain_decoder = {plain_read, plain_close};

/* ---- gzip decoder ------------------------------------------------------ */

static sl_status gzip_read(sl_input *in, void *buf, size_t cap, size_t *got,
			   int *err)
{
	z_stream *z = &in->z;
	uInt room = cap > UINT_MAX ? UINT_MAX : (uInt)cap;
	sl_status s = SL_OK;

	z->next_out = buf;
	z->avail_out = room;
	for (;;) {
		if (in->member_end) {
			if (in->zpos == in->zlen) {
				if (z->avail_out < room || in->src_eof)
					break; /* output ready, or the end */
				if ((s = fill(in, err)) != SL_OK)
					break;
				continue;
			}
			if (in->padding || in->zbuf[in->zpos] == 0) {
				/* zero padding: nothing but NULs to the end */
				in->padding = true;
				while (in->zpos < in->zlen && in->zbuf[in->zpos] == 0)
					in->zpos++;
				if (in->zpos < in->zlen) {
					s = SL_ECORRUPT; /* garbage after the zeros */
					break;
				}
				continue;
			}
			inflateReset(z); /* another member follows */
			in->member_end = false;
		}
		z->next_in = in->zbuf + in->zpos;
		z->avail_in = (uInt)(in->zlen - in->zpos);
		int ret = inflate(z, Z_NO_FLUSH);
		in->zpos = in->zlen - z->avail_in;
		if (ret == Z_STREAM_END)
			in->member_end = true;
		else if (ret == Z_MEM_ERROR)
			s = SL_ENOMEM;
		else if (ret != Z_OK && ret != Z_BUF_ERROR)
			s = SL_ECORRUPT;
		if (s != SL_OK || z->avail_out == 0)
			break;
		if (in->member_end || in->zpos < in->zlen)
			continue;
		/* Input used up with room left: inflate has flushed all it
		 * holds, so it needs more input. */
		if (z->avail_out < room)
			break;
		if (in->src_eof) {
			s = SL_ECORRUPT; /* cut short inside a member */
			break;
		}
		if ((s = fill(in, err)) != SL_OK)
			break;
	}
	*got = room - z->avail_out; /* delivered before any error */
	return s;
}

static void gzip_close(sl_input *in)
{
	inflateEnd(&in->z);
}

static const layer gzip_decoder = {gzip_read, gzip_close};

/* ---- zstd decoder ------------------------------------------------------ */

static sl_status zstd_status(sl_input *in, size_t ret)
{
	switch (ZSTD_getErrorCode(ret)) {
	case ZSTD_error_frameParameter_windowTooLarge:
		in->refused = UINT64_MAX; /* beyond any budget */
		return SL_ENOMEM;
	case ZSTD_error_memory_allocation:
		return SL_ENOMEM;
	default:
		return SL_ECORRUPT;
	}
}

static sl_status zstd_read(sl_input *in, void *buf, size_t cap, size_t *got,
			   int *err)
{
	ZSTD_outBuffer out = {buf, cap, 0};
	sl_status s = SL_OK;

	for (;;) {
		ZSTD_inBuffer zin = {in->zbuf, in->zlen, in->zpos};
		size_t before = zin.pos, ret;
		if (in->member_end && zin.pos == zin.size)
			ret = 0; /* between frames: nothing to decode */
		else
			ret = ZSTD_decompressStream(in->zs, &out, &zin);
		in->zpos = zin.pos;
		if (ZSTD_isError(ret)) {
			s = zstd_status(in, ret);
			break;
		}
		in->member_end = ret == 0;
		if (out.pos == out.size)
			break;
		if (in->zpos < in->zlen) {
			if (in->zpos == before && out.pos == 0) {
				s = SL_ECORRUPT; /* no progress: never expected */
				break;
			}
			continue;
		}
		/* Input used up with room left: everything decodable has
		 * been flushed. */
		if (out.pos > 0)
			break;
		if (in->src_eof) {
			if (!in->member_end)
				s = SL_ECORRUPT; /* cut short inside a frame */
			break;
		}
		if ((s = fill(in, err)) != SL_OK)
			break;
	}
	*got = out.pos; /* delivered before any error */
	return s;
}

static void zstd_close(sl_input *in)
{
	ZSTD_freeDStream(in->zs);
	in->zs = NULL;
}

static const layer zstd_decoder = {zstd_read, zstd_close};

/* ---- opening ----------------------------------------------------------- */

/* Reads up to MAGIC_LEN bytes into in->head, looping over short reads. */
static sl_status sniff(sl_input *in, int *err)
{
	while (in->head_len < MAGIC_LEN && !in->src_eof) {
		size_t got;
		sl_status s = in->src->read(in, in->head + in->head_len,
					    MAGIC_LEN - in->head_len, &got, err);
		if (s != SL_OK)
			return s;
		in->head_len += (uint8_t)got;
	}
	static const unsigned char gz[] = {0x1f, 0x8b};
	static const unsigned char zst[] = {0x28, 0xb5, 0x2f, 0xfd};
	static const unsigned char skip[] = {0x2a, 0x4d, 0x18}; /* 0x184D2A5? */
	if (in->head_len >= sizeof gz && !memcmp(in->head, gz, sizeof gz))
		in->comp = SL_COMP_GZIP;
	else if (in->head_len == MAGIC_LEN &&
		 (!memcmp(in->head, zst, sizeof zst) ||
		  ((in->head[0] & 0xf0) == 0x50 && !memcmp(in->head + 1, skip, sizeof skip))))
		in->comp = SL_COMP_ZSTD;
	else
		in->comp = SL_COMP_NONE;
	return SL_OK;
}

/* Sets up the decoder for in->comp; on failure nothing is left allocated. */
static sl_status start_decoder(sl_input *in, int *err)
{
	if (in->comp != SL_COMP_NONE) {
		bool ok;
		if (in->comp == SL_COMP_GZIP) {
			pthread_once(&zl_once, load_zlib);
			ok = zl_ok;
		} else {
			pthread_once(&zs_once, load_zstd);
			ok = zs_ok;
		}
		if (!ok) { /* "Can not access a needed shared library" */
			*err = ELIBACC;
			return SL_EIO;
		}
	}
	if (in->comp == SL_COMP_NONE) {
		in->dec = &plain_decoder;
		return SL_OK;
	}
	in->zbuf = sl_malloc(in->b, ZBUF_SIZE);
	if (!in->zbuf)
		return SL_ENOMEM;
	charge(in, ZBUF_SIZE);
	memcpy(in->zbuf, in->head, in->head_len);
	in->zlen = in->head_len;
	in->head_pos = in->head_len; /* now in zbuf */
	if (in->comp == SL_COMP_GZIP) {
		in->z.zalloc = z_alloc;
		in->z.zfree = z_free;
		in->z.opaque = in;
		in->z.next_in = in->zbuf;
		in->z.avail_in = 0;
		int ret = inflateInit2(&in->z, 15 + 16);
		if (ret == Z_OK) {
			in->dec = &gzip_decoder;
			return SL_OK;
		}
	} else {
		ZSTD_customMem mem = {zs_alloc, zs_free, in};
		in->zs = ZSTD_createDStream_advanced(mem);
		if (in->zs) {
			ZSTD_bounds wl = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
			if (!ZSTD_isError(wl.error))
				ZSTD_DCtx_setParameter(in->zs, ZSTD_d_windowLogMax,
						       wl.upperBound);
			in->dec = &zstd_decoder;
			return SL_OK;
		}
	}
	sl_free(in->b, in->zbuf, ZBUF_SIZE);
	in->zbuf = NULL;
	in->held -= ZBUF_SIZE;
	return SL_ENOMEM;
}

sl_status sl_input_open_fd(sl_input **out, sl_budget *b, int fd,
			   bool owns_fd, int *err)
{
	struct stat st;
	sl_status s;
	int e = 0;

	if (!out)
		return SL_EINVAL;
	*out = NULL;
	if (err)
		*err = 0;
	if (!b || fd < 0)
		return SL_EINVAL;
	if (fstat(fd, &st) != 0) {
		if (err)
			*err = errno;
		return SL_EIO;
	}
	sl_input *in = sl_calloc(b, 1, sizeof *in);
	if (!in)
		return SL_ENOMEM;
	in->src = &fd_source;
	in->b = b;
	in->fd = fd;
	charge(in, sizeof *in);
	in->size = S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if (in->size && st.st_blocks > 0) {
		/* a real file (sysfs and procfs ones claim a size but hold no
		 * blocks): it should give its size from the current offset */
		off_t at = lseek(fd, 0, SEEK_CUR);
		if (at >= 0 && (uint64_t)at <= in->size) {
			in->expect = in->size - (uint64_t)at;
			in->sized = true;
		}
	}
	if ((s = sniff(in, &e)) != SL_OK || (s = start_decoder(in, &e)) != SL_OK) {
		if (err)
			*err = s == SL_EIO ? e : 0;
		sl_free(b, in, sizeof *in);
		return s;
	}
	in->owns_fd = owns_fd;
	*out = in;
	return SL_OK;
}

sl_status sl_input_open(sl_input **out, sl_budget *b, const char *path,
			int *err)
{
	if (!out)
		return SL_EINVAL;
	*out = NULL;
	if (err)
		*err = 0;
	if (!path || !b)
		return SL_EINVAL;
	if (strcmp(path, "-") == 0)
		return sl_input_open_fd(out, b, STDIN_FILENO, false, err);
	int fd;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		if (err)
			*err = errno;
		return SL_EIO;
	}
	sl_status s = sl_input_open_fd(out, b, fd, true, err);
	if (s != SL_OK)
		close(fd);
	return s;
}

sl_status sl_input_open_range(sl_input **out, sl_budget *b, const char *path,
			      uint64_t offset, uint64_t length, int *err)
{
	struct stat st;
	if (!out)
		return SL_EINVAL;
	*out = NULL;
	if (err)
		*err = 0;
	if (!path || !b)
		return SL_EINVAL;
	int fd;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (err)
			*err = errno;
		if (fd >= 0)
			close(fd);
		return SL_EIO;
	}
	sl_input *in = sl_calloc(b, 1, sizeof *in);
	if (!in) {
		close(fd);
		return SL_ENOMEM;
	}
	in->src = &range_source;
	in->dec = &plain_decoder;
	in->b = b;
	in->fd = fd;
	in->owns_fd = true;
	charge(in, sizeof *in);
	in->comp = SL_COMP_NONE;
	in->size = length;
	in->pos = offset;
	in->end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
	in->sized = length != UINT64_MAX;
	*out = in;
	return SL_OK;
}

/* ---- reading and the rest ---------------------------------------------- */

sl_status sl_input_read(sl_input *in, char *buf, size_t cap, size_t *got,
			int *err)
{
	int e = 0;
	*got = 0;
	if (err)
		*err = 0;
	if (!in || !buf || cap == 0)
		return SL_EINVAL;
	if (in->failed != SL_OK) {
		if (err)
			*err = in->failed_err;
		return in->failed;
	}
	sl_status s = in->dec->read(in, buf, cap, got, &e);
	if (s != SL_OK) {
		in->failed = s;
		in->failed_err = s == SL_EIO ? e : 0;
		if (*got > 0)
			return SL_OK; /* the bytes first, the error next time */
		if (err)
			*err = in->failed_err;
	}
	return s;
}

sl_compression sl_input_compression(const sl_input *in)
{
	return in->comp;
}

uint64_t sl_input_size(const sl_input *in)
{
	return in->size;
}

uint64_t sl_input_consumed(const sl_input *in)
{
	return in->consumed;
}

void sl_input_close(sl_input *in)
{
	if (!in)
		return;
	in->dec->close(in);
	in->src->close(in);
	sl_free(in->b, in->zbuf, ZBUF_SIZE);
	sl_free(in->b, in, sizeof *in);
}

uint64_t sl_input_need(const sl_input *in)
{
	return in->refused > in->held_peak ? in->refused : in->held_peak;
}

bool sl_input_shrank(const sl_input *in)
{
	return in->shrank;
}
