/*
 * cli_io.c: output and environment helpers the subcommands share (cli.h):
 * the buffered line writer, output files (-o, through lib/outfile.c) and
 * the temporary directory's default.
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

void cli_print_samples(const char *prog, const sl_report *rep, const cli_input *inputs)
{
	for (uint32_t i = 0; i < rep->nsamples; i++) {
		const sl_sample *s = &rep->samples[i];
		fprintf(stderr, "%s: %s:%llu: malformed line (%s): ", prog,
			cli_input_name(inputs[s->input].path), (unsigned long long)s->line, s->why);
		size_t used = cli_print_safe(stderr, s->text, s->len, SIZE_MAX);
		fputs(s->truncated || used < s->len ? "...\n" : "\n", stderr);
	}
	if (rep->malformed > rep->nsamples)
		fprintf(stderr, "%s: %llu malformed lines in all (first %u shown)\n", prog,
			(unsigned long long)rep->malformed, rep->nsamples);
}

int cli_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int cli_parse_memory(const char *prog, const char *text, size_t *out)
{
	if (sl_parse_size(text, out) != SL_OK || *out == 0) {
		fprintf(stderr, "%s: invalid memory size '%s' (try 1M, 512K, 2G)\n", prog, text);
		return -1;
	}
	return 0;
}

int cli_parse_separator(const char *prog, const char *text, int *out)
{
	if (strlen(text) != 1) {
		fprintf(stderr, "%s: the separator must be one byte: '%s'\n", prog, text);
		return -1;
	}
	*out = (unsigned char)text[0];
	return 0;
}

int cli_parse_field(const char *text, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(text, &end, 10);
	if (*text < '0' || *text > '9' || *end || errno || n == 0 || n > UINT32_MAX)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* Prints why path cannot be written. */
static void outfile_error(const char *prog, const char *path, sl_status st, int err,
			  const char *why)
{
	if (st == SL_ENOTREG)
		fprintf(stderr, "%s: %s: %s; sluice writes only regular files (refusing to "
			"replace it)\n", prog, path, why ? why : "not a regular file");
	else if (st == SL_EIO)
		fprintf(stderr, "%s: %s: %s%s%s\n", prog, path, why ? why : "", why ? ": " : "",
			strerror(err));
	else
		fprintf(stderr, "%s: %s: %s\n", prog, path, sl_strerror(st));
}

int cli_outfile_check(const char *prog, const char *path, int flags)
{
	int err;
	const char *why;
	sl_status st = sl_outfile_check(path, flags, &err, &why);
	if (st == SL_OK)
		return 0;
	outfile_error(prog, path, st, err, why);
	return -1;
}

int cli_outfile_open(const char *prog, sl_outfile *f, const char *path, int flags)
{
	int err;
	const char *why;
	sl_status st = sl_outfile_open(f, path, 0666, flags, &err, &why);
	if (st == SL_OK)
		return 0;
	outfile_error(prog, path, st, err, why);
	return -1;
}

int cli_outfile_commit(const char *prog, sl_outfile *f, const char *path)
{
	int err;
	const char *why;
	sl_status st = sl_outfile_commit(f, &err, &why);
	if (st == SL_OK)
		return 0;
	outfile_error(prog, path, st, err, why);
	return -1;
}

FILE *cli_outfile_fopen(const char *prog, sl_outfile *f, const char *path, int flags)
{
	if (cli_outfile_open(prog, f, path, flags) < 0)
		return NULL;
	int fd = dup(sl_outfile_fd(f));
	FILE *out = fd < 0 ? NULL : fdopen(fd, "w");
	if (!out) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		sl_outfile_abort(f);
	}
	return out;
}

int cli_outfile_fclose(const char *prog, sl_outfile *f, FILE *out, const char *path, int ok)
{
	int flushed = fflush(out) == 0 && !ferror(out);
	int e = errno;
	if (fclose(out) != 0 && flushed) {
		flushed = 0;
		e = errno;
	}
	if (!ok || !flushed) {
		if (!flushed)
			fprintf(stderr, "%s: %s: write error: %s\n", prog, path, strerror(e));
		sl_outfile_abort(f);
		return -1;
	}
	return cli_outfile_commit(prog, f, path);
}
