/*
 * cli_io.c: output and environment helpers the subcommands share (cli.h):
 * the buffered line writer, the temporary directory's default and the text
 * of an input's read error.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
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

/* n with a comma every three digits, into out (at least 27 bytes). */
static void grouped(char *out, uint64_t n)
{
	char digits[21];
	int len = snprintf(digits, sizeof digits, "%" PRIu64, n), o = 0;
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

const char *cli_input_error_text(char *buf, size_t cap, sl_status st, int err,
				 uint64_t need, uint64_t suggest)
{
	const char *text;
	if (st == SL_ENOMEM && need == UINT64_MAX) {
		snprintf(buf, cap, "the file's zstd window is larger than the decoder accepts "
				   "(over 2 GiB): no --memory can read it");
	} else if (st == SL_ENOMEM && need > 0) {
		char bytes[32], more[64] = "";
		const uint64_t mib = (uint64_t)1 << 20;
		grouped(bytes, need);
		if (suggest)
			snprintf(more, sizeof more, " to at least %" PRIu64 "M",
				 suggest / mib + (suggest % mib != 0));
		bool small = need < mib;
		snprintf(buf, cap, "the decompressor needs %.1f %s (%s bytes) for this file, "
				   "more than the budget has left; raise --memory%s",
			 (double)need / (small ? 1024.0 : (double)mib), small ? "KiB" : "MiB",
			 bytes, more);
	} else {
		if (st == SL_ENOMEM)
			text = "the decompressor needs more memory than the budget has left; "
			       "raise --memory";
		else if (st != SL_EIO || !(text = strerrordesc_np(err)))
			text = sl_strerror(st);
		snprintf(buf, cap, "%s", text);
	}
	return buf;
}
