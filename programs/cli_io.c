/*
 * cli_io.c: output and environment helpers the subcommands share (cli.h):
 * the buffered line writer and the temporary directory's default.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

const char *cli_tmpdir(const char *given)
{
	if (given)
		return given;
	const char *env = getenv("TMPDIR");
	return env && *env ? env : "/tmp";
}

int cli_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cli_out_flush(cli_out *o)
{
	if (cli_write_all(o->fd, o->buf, o->len))
		return -1;
	o->len = 0;
	return 0;
}
