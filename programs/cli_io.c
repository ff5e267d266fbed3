/*
 * cli_io.c: output, option and environment helpers the subcommands share
 * (cli.h): the buffered line writer, output files (-o, through
 * lib/io/outfile.c, checked before any input is read), the temporary
 * directory's default, option values (sizes, --series, --tz), long options
 * spelled in full, the text of an input's read error, and the messages a
 * run prints at its end (malformed-line samples, "no line parsed"), and
 * the C library's allocation policy (cli_malloc_policy).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

/*
 * The budget (lib/core/budget.c) caps the bytes the structures ask for; what the
 * process holds beyond them is the C library's: glibc gives each worker
 * thread an arena of its own, keeps freed heap memory, and raises its mmap
 * threshold each time a large block is freed, so the blocks a growing
 * table frees stay in the heap as holes. Measured at -m 1M -j 2 on a 200 MB
 * log (peak RSS, 8 runs): 4.1-4.5 MB with the defaults, 3.7-4.0 MB with
 * one arena, blocks of 32 KiB and more mapped on their own (a fixed
 * threshold: freed, they go back to the system; grown, they are remapped
 * rather than copied) and no padding at the heap's top. The workers do not
 * allocate per line, so one arena costs no measurable time (-m 1M and
 * -m 64M run as fast). Other C libraries: nothing to set.
 */
void cli_malloc_policy(void)
{
#if defined(__GLIBC__)
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 32 * 1024);
	mallopt(M_TOP_PAD, 0);
#endif
}

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

/* Columns a sample's text takes at most: one terminal line with the
 * "PROG: FILE:LINE: WHY: " before it. */
#define SAMPLE_COLUMNS 60

void cli_print_samples(const char *prog, const sl_report *rep, const cli_input *inputs)
{
	uint32_t nsamples;
	const sl_sample *samples = sl_report_samples(rep, &nsamples);
	sl_report_counts c;
	sl_report_get_counts(rep, &c);
	for (uint32_t i = 0; i < nsamples; i++) {
		const sl_sample *s = &samples[i];
		fprintf(stderr, "%s: %s:%llu: malformed (%s): ", prog,
			cli_input_name(inputs[s->input].path),
			(unsigned long long)s->line, s->why);
		size_t used = cli_print_safe(stderr, s->text, s->len, SAMPLE_COLUMNS);
		fputs(s->truncated || used < s->len ? "...\n" : "\n", stderr);
	}
	if (c.malformed > nsamples)
		fprintf(stderr, "%s: %llu malformed lines in all (first %u shown)\n", prog,
			(unsigned long long)c.malformed, nsamples);
}

int cli_check_parsed(const char *prog, const sl_report *rep, bool detected)
{
	sl_report_counts c;
	sl_report_get_counts(rep, &c);
	sl_format format = sl_report_format(rep);
	uint32_t nsamples;
	const sl_sample *samples = sl_report_samples(rep, &nsamples);
	if (format == SL_FMT_LINES || c.requests + c.filtered > 0 || c.malformed == 0)
		return 0;
	/* What the malformed lines look like: each sample on its own (as the
	 * report saw the whole line, else from its kept text), the most
	 * common answer wins (ties: the first seen). */
	unsigned votes[SL_FMT_COUNT] = {0};
	sl_format looks[SL_SAMPLES_MAX];
	for (uint32_t i = 0; i < nsamples; i++) {
		const sl_sample *s = &samples[i];
		looks[i] = s->looks_like != SL_FMT_AUTO && s->looks_like < SL_FMT_COUNT
				   ? s->looks_like
				   : sl_format_guess(s->text, s->len);
		votes[looks[i]]++;
	}
	int like = SL_FMT_AUTO;
	for (uint32_t i = 0; i < nsamples; i++) {
		sl_format f = looks[i];
		if (f != SL_FMT_AUTO && (like == SL_FMT_AUTO || votes[f] > votes[like]))
			like = f;
	}
	const char *tried = sl_format_name(format);
	fprintf(stderr, "%s: no line parsed as %s%s (%llu malformed)", prog, tried,
		detected ? " (detected from the first lines)" : "",
		(unsigned long long)c.malformed);
	if (like != SL_FMT_AUTO && like != (int)format)
		fprintf(stderr, "; the lines look like %s: try -f %s\n", sl_format_name(like),
			sl_format_name(like));
	else
		fputs("; they look like no format sluice detects: name theirs with -f or "
		      "--log-format (docs/formats.md), or count any lines with -f lines\n", stderr);
	return 2;
}

int cli_parse_top(const char *prog, const char *text, long *out)
{
	char *end;
	long n = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || n < 0 || n > 100000) {
		fprintf(stderr, "%s: invalid --top '%s'\n", prog, text);
		return -1;
	}
	*out = n;
	return 0;
}

int cli_parse_series(const char *prog, const char *text, int *out)
{
	static const char *const names[] = {"auto", "minute", "hour", "day"};
	for (int i = 0; i < 4; i++)
		if (strcmp(text, names[i]) == 0) {
			*out = i;
			return 0;
		}
	fprintf(stderr, "%s: invalid --series '%s' (minute, hour or day)\n", prog, text);
	return -1;
}

int cli_parse_tz(const char *prog, const char *text, int32_t *out)
{
	if (strcmp(text, "UTC") == 0 || strcmp(text, "utc") == 0 || strcmp(text, "Z") == 0) {
		*out = 0;
		return 0;
	}
	const char *p = text;
	int d[4], n = 0;
	if (*p == '+' || *p == '-')
		p++;
	else
		goto bad;
	for (; *p && n < 4; p++) {
		if (*p == ':' && n == 2)
			continue;
		if (*p < '0' || *p > '9')
			goto bad;
		d[n++] = *p - '0';
	}
	if (*p || n != 4 || d[0] * 10 + d[1] > 14 || d[2] * 10 + d[3] > 59)
		goto bad;
	*out = (d[0] * 10 + d[1]) * 3600 + (d[2] * 10 + d[3]) * 60;
	if (text[0] == '-')
		*out = -*out;
	return 0;
bad:
	fprintf(stderr, "%s: invalid --tz '%s' (UTC, or an offset such as +02:00 or -0530)\n",
		prog, text);
	return -1;
}

int cli_long_in_full(const char *prog, char **argv, const struct option *opts, int longindex)
{
	if (longindex < 0 || optind < 1)
		return 0;
	/* the option, or its separate argument just after it */
	const char *arg = argv[optind - 1];
	if (optarg && arg == optarg && optind >= 2)
		arg = argv[optind - 2];
	if (strncmp(arg, "--", 2) != 0)
		return 0;
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const char *full = opts[longindex].name;
	if (strlen(full) == len && strncmp(name, full, len) == 0)
		return 0;
	fprintf(stderr, "%s: option '--%.*s' is not spelled in full (did you mean --%s?)\n", prog,
		(int)len, name, full);
	return -1;
}

void cli_note_terminal_input(const char *prog)
{
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "%s: reading standard input (Ctrl-D to end; --help for usage)\n",
			prog);
}

int cli_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int cli_parse_memory(const char *prog, const char *text, size_t *out)
{
	if (sl_parse_size(text, out) != SL_OK || *out == 0) {
		fprintf(stderr, "%s: invalid memory size '%s' (try 512K, 1M, 2G, 1T)\n", prog, text);
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
