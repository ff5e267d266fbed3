/*
 * fuzz_input.c: libFuzzer target for the compressed-input path
 * (lib/io/input.c): magic-byte detection, gzip (zlib) and zstd streaming.
 *
 * The bytes are placed in a memfd (a regular file, as sluice reads logs),
 * opened with sl_input_open_fd and read to the end through a small buffer,
 * within a 4 MiB budget. Any status is acceptable; a read must never report
 * more bytes than asked, sl_input_need must cover what the input took from
 * the budget (it is the only thing in it), and everything must be freed at
 * close.
 *
 * Build and run: scripts/fuzz.sh (corpus in fuzz/corpus/fuzz_input).
 */
#include "sluice.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_input", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0) {
			close(fd);
			return 0;
		}
		done += (size_t)n;
	}
	lseek(fd, 0, SEEK_SET);
	sl_budget b;
	sl_budget_init(&b, 4 << 20);
	sl_input *in = NULL;
	int err = 0;
	if (sl_input_open_fd(&in, &b, fd, true, &err) != SL_OK) {
		close(fd);
		if (b.used != 0)
			abort();
		return 0;
	}
	char buf[4096];
	uint64_t total = 0;
	for (int i = 0; i < 1 << 16; i++) {
		size_t got = 0;
		sl_status st = sl_input_read(in, buf, sizeof buf, &got, &err);
		if (got > sizeof buf)
			abort();
		if (st != SL_OK || got == 0)
			break;
		total += got;
		if (total > (64u << 20))
			break; /* a decompression bomb: enough */
	}
	if (sl_input_need(in) < b.peak)
		abort();
	sl_input_close(in);
	if (b.used != 0)
		abort();
	return 0;
}
