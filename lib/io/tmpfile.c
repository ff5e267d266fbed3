/*
 * tmpfile.c: unnamed temporary files for spilling (sl_tmp_*); the contract
 * is in tmpfile.h.
 */
#include "io/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sl_status sl_tmp_open(const char *dir, const char *prefix, sl_budget *b, int *fd, int *err)
{
	*err = 0;
	int f = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (f < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		size_t n = strlen(dir) + strlen(prefix) + sizeof "/-XXXXXX";
		char *path = sl_malloc(b, n);
		if (!path)
			return SL_ENOMEM;
		snprintf(path, n, "%s/%s-XXXXXX", dir, prefix);
		f = mkostemp(path, O_CLOEXEC);
		if (f >= 0)
			unlink(path);
		sl_free(b, path, n);
	}
	if (f < 0) {
		*err = errno;
		return SL_EIO;
	}
	*fd = f;
	return SL_OK;
}

sl_status sl_tmp_pwrite(int fd, const void *buf, size_t n, uint64_t off, int *err)
{
	const char *p = buf;
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w < 0 ? errno : ENOSPC;
			return SL_EIO;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return SL_OK;
}

sl_status sl_tmp_pread(int fd, void *buf, size_t n, uint64_t off, int *err)
{
	char *p = buf;
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			return SL_EIO;
		}
		if (r == 0)
			return SL_ECORRUPT;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return SL_OK;
}
