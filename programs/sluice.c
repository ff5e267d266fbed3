/*
 * sluice.c: the sluice command: `sluice [OPTION]... [FILE]...`.
 *
 * It reads every input through one fixed buffer taken from the memory
 * budget, feeds complete lines to an sl_report, and renders the report as
 * text or JSON. The budget (-m) covers everything: the line buffer, the
 * decompressors and every sketch. The split:
 *
 *     line buffer   max(2 * SL_LINE_MAX, budget / 8, capped at 1 MiB)
 *     decoders      DECODER_RESERVE (gzip needs ~45 KiB plus its input
 *                   buffer; a zstd window larger than what is left fails
 *                   that input with a message asking for more memory)
 *     report        the rest, shared by its sketches
 *
 * The buffer holds at least two maximal lines, so a line of up to
 * SL_LINE_MAX bytes is always complete in it; a line that fills the whole
 * buffer without a newline is skipped up to its end and counted oversized.
 *
 * Exit status (as grep): 0 when every input was read, 2 when an input could
 * not be opened or read, on a usage error, or when the budget is below the
 * minimum (checked before any input is read).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BUDGET ((size_t)1 << 20)
#define DECODER_RESERVE ((size_t)128 << 10)
#define MAX_LINE_BUFFER ((size_t)1 << 20)
#define EXIT_TROUBLE 2

typedef struct {
	sl_budget budget;
	sl_format format;
	size_t report_bytes;
	char *buf;
	size_t cap;
	sl_report *report;
	uint32_t input;		    /* id of the input being read */
	uint64_t pending_oversized; /* seen before the report existed */
	int quiet;
	/* progress */
	int show_progress;
	uint64_t total;	    /* bytes of all regular-file inputs, 0 if unknown */
	uint64_t done;	    /* bytes of inputs finished */
	struct timespec start, last_draw;
	int drawn;
} run_t;

static const char *prog = "sluice";

const char *cli_input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [FILE]...\n"
		"Report on web server access logs (nginx/apache) in a fixed memory budget.\n"
		"With no FILE, or when FILE is -, read standard input. Compressed inputs\n"
		"(gzip, zstd) are recognised by their content, whatever their names.\n"
		"\n"
		"  -m, --memory SIZE   memory budget for all state and buffers; K, M, G\n"
		"                      suffixes (default 1M)\n"
		"  -f, --format NAME   auto (default), combined, common, vcombined\n"
		"      --json          print the report as one JSON document\n"
		"  -o, --output FILE   write the report to FILE: JSON if FILE ends in .json,\n"
		"                      text otherwise\n"
		"  -n, --top N         rows in each top list (default 10)\n"
		"  -q, --quiet         no progress line and no malformed-line samples on stderr\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"Figures marked ~ (text) or \"exact\": false (JSON) are estimates with their\n"
		"bound; all others are exact.\n"
		"Exit status: 0 if all went well, 2 if an input could not be read, on a\n"
		"usage error, or if the budget is below the minimum.\n",
		prog);
}

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void human(char *out, size_t n, double bytes)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

/* Draws the progress line at most five times a second, after the first
 * second, and only on a terminal. */
static void progress(run_t *r, uint64_t in_file)
{
	if (!r->show_progress)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double elapsed = since(&r->start, &now);
	if (elapsed < 1.0 || (r->drawn && since(&r->last_draw, &now) < 0.2))
		return;
	r->last_draw = now;
	r->drawn = 1;
	uint64_t done = r->done + in_file;
	double rate = (double)done / elapsed;
	char d[32], t[32], s[32];
	human(d, sizeof d, (double)done);
	human(s, sizeof s, rate);
	if (r->total && done <= r->total) {
		human(t, sizeof t, (double)r->total);
		double eta = rate > 0 ? (double)(r->total - done) / rate : 0;
		fprintf(stderr, "\r%s: %s of %s (%.0f%%)  %s/s  ETA %d:%02d \033[K", prog, d, t,
			100.0 * (double)done / (double)r->total, s, (int)eta / 60, (int)eta % 60);
	} else {
		fprintf(stderr, "\r%s: %s  %s/s \033[K", prog, d, s);
	}
}

static void progress_clear(run_t *r)
{
	if (r->drawn)
		fprintf(stderr, "\r\033[K");
	r->drawn = 0;
}

/* Creates the report on first data: the format is detected from the first
 * complete lines unless forced. */
static int ensure_report(run_t *r, const char *data, size_t len)
{
	if (r->report)
		return 0;
	sl_format fmt = r->format == SL_FMT_AUTO ? sl_access_detect(data, len) : r->format;
	sl_status st = sl_report_new(&r->report, &r->budget, fmt, r->report_bytes);
	if (st != SL_OK) {
		fprintf(stderr, "%s: cannot set up the report: %s\n", prog, sl_strerror(st));
		return -1;
	}
	sl_report_begin_input(r->report, r->input);
	sl_report_add_oversized(r->report, r->pending_oversized);
	r->pending_oversized = 0;
	return 0;
}

static int feed(run_t *r, const char *data, size_t len)
{
	if (ensure_report(r, data, len) < 0)
		return -1;
	sl_report_feed(r->report, data, len);
	return 0;
}

/* Reads one input to its end. Returns 0, or a message for the input's error
 * (already partly reported through the report). -1 = fatal. */
static int read_input(run_t *r, cli_input *in, uint32_t id)
{
	static char msg[256];
	sl_input *src;
	int err = 0;
	sl_status st = sl_input_open(&src, &r->budget, in->path, &err);
	if (st != SL_OK) {
		snprintf(msg, sizeof msg, "%s", st == SL_EIO ? strerror(err) : sl_strerror(st));
		in->error = msg;
		return 0;
	}
	r->input = id;
	if (r->report)
		sl_report_begin_input(r->report, id);
	size_t carried = 0;
	int skipping = 0, rc = 0;
	for (;;) {
		size_t got = 0;
		st = sl_input_read(src, r->buf + carried, r->cap - carried, &got, &err);
		if (st != SL_OK) {
			if (st == SL_EIO)
				snprintf(msg, sizeof msg, "read error: %s", strerror(err));
			else if (st == SL_ENOMEM)
				snprintf(msg, sizeof msg,
					 "the decompressor needs more memory than the budget has "
					 "left; raise --memory");
			else
				snprintf(msg, sizeof msg, "%s", sl_strerror(st));
			in->error = msg;
			break;
		}
		if (got == 0)
			break;
		size_t n = carried + got, start = 0;
		if (skipping) {
			char *nl = memchr(r->buf, '\n', n);
			if (!nl) {
				carried = 0;
				continue;
			}
			skipping = 0;
			start = (size_t)(nl - r->buf) + 1;
		}
		char *last = memrchr(r->buf + start, '\n', n - start);
		if (!last) {
			if (n - start == r->cap) { /* one line fills the buffer */
				if (r->report)
					sl_report_add_oversized(r->report, 1);
				else
					r->pending_oversized++;
				skipping = 1;
				carried = 0;
			} else {
				memmove(r->buf, r->buf + start, n - start);
				carried = n - start;
			}
			continue;
		}
		size_t upto = (size_t)(last - r->buf) + 1;
		if (feed(r, r->buf + start, upto - start) < 0) {
			rc = -1;
			break;
		}
		carried = n - upto;
		memmove(r->buf, r->buf + upto, carried);
		progress(r, sl_input_consumed(src));
	}
	if (rc == 0 && carried && !skipping && !in->error)
		rc = feed(r, r->buf, carried);
	r->done += sl_input_size(src) ? sl_input_size(src) : sl_input_consumed(src);
	sl_input_close(src);
	return rc;
}

static void print_samples(const sl_report *rep, const cli_input *inputs)
{
	for (uint32_t i = 0; i < rep->nsamples; i++) {
		const sl_sample *s = &rep->samples[i];
		fprintf(stderr, "%s: %s:%llu: malformed line (%s): ", prog,
			cli_input_name(inputs[s->input].path), (unsigned long long)s->line, s->why);
		for (uint32_t j = 0; j < s->len; j++) {
			unsigned char c = (unsigned char)s->text[j];
			if (c < 0x20 || c == 0x7f)
				fprintf(stderr, "\\x%02x", c);
			else
				fputc(c, stderr);
		}
		fputs(s->truncated ? "...\n" : "\n", stderr);
	}
	if (rep->malformed > rep->nsamples)
		fprintf(stderr, "%s: %llu malformed lines in all (first %u shown)\n", prog,
			(unsigned long long)rep->malformed, rep->nsamples);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'}, {"format", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, OPT_JSON},	  {"output", required_argument, NULL, 'o'},
		{"top", required_argument, NULL, 'n'},	  {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},	  {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	run_t r;
	memset(&r, 0, sizeof r);
	size_t budget = DEFAULT_BUDGET;
	const char *output = NULL;
	int json = 0;
	long top_n = 10;
	int c;
	while ((c = getopt_long(argc, argv, "m:f:o:n:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (sl_parse_size(optarg, &budget) != SL_OK || budget == 0) {
				fprintf(stderr, "%s: invalid memory size '%s' (try 1M, 512K, 2G)\n", prog,
					optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 'f':
			r.format = sl_format_from_name(optarg);
			if (r.format == SL_FMT_COUNT) {
				fprintf(stderr,
					"%s: unknown format '%s' (auto, combined, common, vcombined)\n",
					prog, optarg);
				return EXIT_TROUBLE;
			}
			break;
		case OPT_JSON: json = 1; break;
		case 'o': output = optarg; break;
		case 'n': {
			char *end;
			top_n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || top_n < 0 || top_n > 100000) {
				fprintf(stderr, "%s: invalid --top '%s'\n", prog, optarg);
				return EXIT_TROUBLE;
			}
			break;
		}
		case 'q': r.quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("sluice %s\n", SLUICE_VERSION); return 0;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_TROUBLE;
		}
	}

	/* Plan the budget before touching any input. */
	sl_budget_init(&r.budget, budget);
	r.cap = budget / 8;
	if (r.cap < 2 * SL_LINE_MAX)
		r.cap = 2 * SL_LINE_MAX;
	if (r.cap > MAX_LINE_BUFFER)
		r.cap = MAX_LINE_BUFFER;
	size_t need = r.cap + DECODER_RESERVE + sl_report_min_bytes();
	if (budget < need) {
		fprintf(stderr, "%s: memory budget %zu bytes is below the minimum of %zu bytes (%zu KiB)\n",
			prog, budget, need, (need + 1023) / 1024);
		return EXIT_TROUBLE;
	}
	r.report_bytes = budget - r.cap - DECODER_RESERVE;
	r.buf = sl_malloc(&r.budget, r.cap);
	if (!r.buf) {
		fprintf(stderr, "%s: cannot allocate the line buffer\n", prog);
		return EXIT_TROUBLE;
	}

	/* The input list comes out of the decoder reserve: every byte is in
	 * the budget. */
	size_t ninputs = argc > optind ? (size_t)(argc - optind) : 1;
	cli_input *inputs = sl_calloc(&r.budget, ninputs, sizeof *inputs);
	if (!inputs) {
		fprintf(stderr, "%s: too many inputs for the memory budget\n", prog);
		return EXIT_TROUBLE;
	}
	for (size_t i = 0; i < ninputs; i++) {
		inputs[i].path = argc > optind ? argv[optind + (int)i] : "-";
		struct stat sb;
		if (strcmp(inputs[i].path, "-") != 0 && stat(inputs[i].path, &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			r.total += (uint64_t)sb.st_size;
	}
	r.show_progress = !r.quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &r.start);

	int status = 0;
	for (size_t i = 0; i < ninputs; i++) {
		if (read_input(&r, &inputs[i], (uint32_t)i) < 0) {
			progress_clear(&r);
			return EXIT_TROUBLE;
		}
		if (inputs[i].error) {
			progress_clear(&r);
			fprintf(stderr, "%s: %s: %s\n", prog, cli_input_name(inputs[i].path),
				inputs[i].error);
			status = EXIT_TROUBLE;
		}
	}
	progress_clear(&r);
	if (ensure_report(&r, "", 0) < 0)
		return EXIT_TROUBLE;
	if (!r.quiet)
		print_samples(r.report, inputs);

	/* Rows for the top lists: no list holds more than its capacity, and
	 * the line buffer's bytes are free again. */
	sl_free(&r.budget, r.buf, r.cap);
	size_t nrows = (size_t)top_n;
	size_t most = 0;
	for (int t = 0; t < SL_TOP_COUNT; t++)
		if (sl_topk_capacity(r.report->top[t]) > most)
			most = sl_topk_capacity(r.report->top[t]);
	if (nrows > most)
		nrows = most;
	sl_topk_row *rows = nrows ? sl_calloc(&r.budget, nrows, sizeof *rows) : NULL;
	if (nrows && !rows) {
		fprintf(stderr, "%s: no memory left in the budget for %zu rows\n", prog, nrows);
		return EXIT_TROUBLE;
	}

	cli_view v = {
		.report = r.report,
		.inputs = inputs,
		.ninputs = ninputs,
		.top_n = nrows,
		.rows = rows,
		.budget = budget,
		.peak = r.budget.peak,
	};
	FILE *out = stdout;
	if (output) {
		json = ends_with(output, ".json");
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "%s: %s: %s\n", prog, output, strerror(errno));
			return EXIT_TROUBLE;
		}
	}
	int rc = json ? render_json(out, &v) : render_text(out, &v);
	if (rc < 0 || fflush(out) != 0 || ferror(out) || (output && fclose(out) != 0)) {
		fprintf(stderr, "%s: %s: write error: %s\n", prog, output ? output : "standard output",
			strerror(errno));
		status = EXIT_TROUBLE;
	}
	sl_report_free(r.report);
	sl_free(&r.budget, rows, nrows * sizeof *rows);
	sl_free(&r.budget, inputs, ninputs * sizeof *inputs);
	return status;
}
