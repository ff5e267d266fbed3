/*
 * cmd_dedup.c: `sluice dedup`, the first occurrence of each line (or of each
 * key field) in input order, as `awk '!seen[$0]++'` (`!seen[$N]++`) prints
 * it, in a fixed memory budget.
 *
 * The program reads each input through sl_input (so .gz and .zst inputs are
 * decompressed) into one buffer, frames it into lines (lib/io/framer.c), hands
 * every line, without its newline, to the library's dedup (lib/spill/dedup.c)
 * and writes the lines it passes through
 * a second buffer with write(2), adding the newline a final unterminated
 * line lacked (as awk does). Exact mode streams: a first occurrence is
 * written as soon as it is read, until the dedup spills; the lines whose
 * fate the spill deferred come out, still in input order, after the last
 * input is read. --approx uses a Bloom filter instead (memory only) and
 * always ends with a summary on standard error: lines read, printed,
 * dropped, and a 95% bound on the dropped lines that were not duplicates.
 *
 * Memory: both buffers come from the same budget as the dedup and take a
 * sixteenth of --memory each (4 KiB .. 64 KiB); the dedup gets the rest.
 * Lines are framed by the library's framer (lib/io/framer.c): a line longer
 * than the input buffer is kept whole in its storage, and a compressed
 * input's decoder takes its own memory (see lib/io/input.c): both come on top
 * of --memory, as GNU sort grows its buffer for long lines. Exact mode
 * takes lines of up to SL_DEDUP_MAX_LINE bytes; a longer one stops the
 * run with exit 2, as before, without being held whole first.
 *
 * Output: to standard output, or with -o FILE through an sl_outfile
 * (lib/io/outfile.c): a temporary beside FILE (beside a symlink's final
 * target), renamed over it once everything succeeded, with FILE's mode kept
 * (so FILE may be an input, and a failure or a SIGINT/SIGTERM leaves FILE
 * as it was and no temporary). FILE must be a regular file or missing: a
 * directory, device, FIFO or socket is refused before any input is read.
 * Exit status 0, or 2 with a message naming the file or directory on any
 * trouble (bad usage, an unreadable or corrupt input, a full temporary
 * directory, a refused output).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_TROUBLE 2

static const char *prog = "sluice dedup";

static void usage(FILE *f)
{
	fputs("Usage: sluice dedup [OPTION]... [FILE]...\n"
	      "Print the first occurrence of each line of the FILEs (standard input for\n"
	      "none or '-'), in input order, as awk '!seen[$0]++' does, in a fixed memory\n"
	      "budget. Exact by default, spilling to temporary files when needed.\n"
	      "\n"
	      "  -m, --memory SIZE      memory budget (default 1M; K/M/G suffixes)\n"
	      "  -k, --key N            dedup on field N (awk's $N: fields separated by\n"
	      "                         runs of spaces and tabs); the line is printed whole\n"
	      "  -t, --field-separator C  fields are separated by each byte C (awk -F C)\n"
	      "  -a, --approx RATE      approximate: a Bloom filter in memory for a false-\n"
	      "                         positive RATE (0.01 or 1%); states how many lines\n"
	      "                         may have been dropped wrongly\n"
	      "  -T, --tmp DIR          temporary files in DIR (default $TMPDIR, /tmp)\n"
	      "  -s, --stats            summary on standard error (lines, printed, dropped,\n"
	      "                         temporary disk)\n"
	      "  -o, --output FILE      write to FILE, replaced only on success\n"
	      "  -h, --help             show this help\n"
	      "\n"
	      "Exit status: 0 on success, 2 on trouble (bad usage, unreadable input,\n"
	      "full temporary directory).\n",
	      f);
}

typedef struct {
	sl_budget *b;
	sl_dedup *d;
	cli_out out;
	char *in;
	size_t in_cap;
	sl_framer framer;  /* lines of up to max_line bytes, from the budget */
	size_t max_line;   /* the longest line the dedup takes */
	const char *tmpdir;
	const char *output;
} run;

/* Reports a library failure of the dedup; returns EXIT_TROUBLE. */
static int dedup_error(const run *r, sl_status s)
{
	int e = sl_dedup_errno(r->d);
	if (s == SL_EIO || s == SL_ECORRUPT)
		fprintf(stderr, "%s: temporary directory %s: %s\n", prog, r->tmpdir,
			e ? strerror(e) : sl_strerror(s));
	else if (s == SL_EINVAL)
		fprintf(stderr, "%s: a line is longer than the %zu bytes exact mode allows\n",
			prog, (size_t)SL_DEDUP_MAX_LINE);
	else
		fprintf(stderr, "%s: %s\n", prog, sl_strerror(s));
	return EXIT_TROUBLE;
}

static int write_error(const run *r)
{
	fprintf(stderr, "%s: %s: %s\n", prog, r->output ? r->output : "standard output",
		strerror(errno));
	return EXIT_TROUBLE;
}

static inline int one_line(run *r, const char *p, size_t n)
{
	bool print;
	sl_status s = sl_dedup_add(r->d, p, n, &print);
	if (s)
		return dedup_error(r, s);
	if (print && cli_out_line(&r->out, p, n))
		return write_error(r);
	return 0;
}

/* Dedups every line of path, framed by r->framer. Returns 0 or the exit
 * status. */
static int feed(run *r, const char *path)
{
	sl_input *in;
	int err = 0, rc = 0;
	sl_status s = sl_input_open(&in, r->b, path, &err);
	if (s) {
		fprintf(stderr, "%s: %s: %s\n", prog, cli_input_name(path),
			s == SL_EIO && err ? strerror(err) : sl_strerror(s));
		return EXIT_TROUBLE;
	}
	sl_framer *f = &r->framer;
	sl_framer_begin(f, 0, false, UINT64_MAX);
	for (bool more = true; more && !rc;) {
		size_t got;
		s = sl_input_read(in, r->in, r->in_cap, &got, &err);
		if (s) {
			fprintf(stderr, "%s: %s: %s\n", prog, cli_input_name(path),
				s == SL_EIO && err ? strerror(err) : sl_strerror(s));
			rc = EXIT_TROUBLE;
			break;
		}
		more = got > 0;
		if (more)
			sl_framer_push(f, r->in, got, 0);
		else
			sl_framer_end(f); /* a last line without newline */
		sl_frame fr;
		while (!rc && (s = sl_framer_next(f, &fr)) == SL_OK && (fr.data || fr.skipped)) {
			if (fr.skipped) { /* said as the dedup says it */
				rc = dedup_error(r, SL_EINVAL);
			} else {
				rc = one_line(r, fr.data, fr.len);
			}
		}
		if (!rc && s) { /* the line being read does not fit in memory */
			fprintf(stderr, "%s: %s: %s\n", prog, cli_input_name(path),
				sl_strerror(s));
			rc = EXIT_TROUBLE;
		}
	}
	sl_input_close(in);
	return rc;
}

/* "123K"-style size for a suggestion. */
static void human(char *buf, size_t n, double bytes)
{
	static const char unit[] = "KMGT";
	int u = -1;
	while (bytes >= 1024 && u < 3) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, n, "%.0f", ceil(bytes));
	else
		snprintf(buf, n, "%.0f%c", ceil(bytes), unit[u]);
}

static void summary(const run *r, const sl_dedup_opts *o, size_t memory, size_t io,
		    bool stats)
{
	sl_dedup_stats st;
	sl_dedup_stats_get(r->d, &st);
	if (o->approx_rate == 0) {
		if (!stats)
			return;
		fprintf(stderr, "%s: %llu lines read, %llu printed, %llu duplicates dropped "
			"(exact); %llu lines spilled to disk, temporary disk peak %llu bytes\n",
			prog, (unsigned long long)st.lines, (unsigned long long)st.printed,
			(unsigned long long)st.dropped, (unsigned long long)st.spilled_lines,
			(unsigned long long)st.temp_peak);
		return;
	}
	fprintf(stderr, "%s: %llu lines read, %llu printed, %llu dropped; at most %llu of "
		"the dropped lines may be false positives (95%%; estimated %.1f; Bloom "
		"filter of %llu bits, %u hashes, %.1f%% full)\n", prog,
		(unsigned long long)st.lines, (unsigned long long)st.printed,
		(unsigned long long)st.dropped, (unsigned long long)st.fp_bound,
		st.fp_estimate, (unsigned long long)st.bloom_bits, st.bloom_k,
		st.bloom_bits ? 100.0 * (double)st.bloom_bits_set / (double)st.bloom_bits : 0);
	if (st.over_rate) {
		/* bits for the lines printed to keep the rate: capacity inverted */
		double n = (double)st.printed + st.fp_estimate;
		double bits = -(double)st.bloom_k * n / log1p(-pow(o->approx_rate,
								  1.0 / st.bloom_k));
		double need = bits / 8 + (double)(memory - (size_t)(st.bloom_bits / 8)) +
			      (double)2 * io;
		if (need < (double)memory)
			need = (double)memory;
		char sz[32];
		human(sz, sizeof sz, need * 1.05);
		fprintf(stderr, "%s: warning: the filter is too small for this input at "
			"--approx %g: a new line is now wrongly dropped with probability "
			"%.3g; use --memory %s or more\n", prog, o->approx_rate, st.fp_rate,
			sz);
	}
}

static int parse_rate(const char *text, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || errno)
		return -1;
	if (*end == '%') {
		v /= 100;
		end++;
	}
	if (*end || !(v > 0 && v < 1))
		return -1;
	*out = v;
	return 0;
}

int cmd_dedup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'},
		{"key", required_argument, NULL, 'k'},
		{"field-separator", required_argument, NULL, 't'},
		{"approx", required_argument, NULL, 'a'},
		{"tmp", required_argument, NULL, 'T'},
		{"stats", no_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	sl_dedup_opts opts = {0, SL_DEDUP_BLANKS, 0};
	size_t memory = 1 << 20;
	const char *output = NULL, *tmpdir = NULL;
	bool stats = false;
	int c, li = -1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:k:t:a:T:so:h", longopts, &li)) != -1) {
		if (c != '?' && c != ':' && cli_long_in_full(prog, argv, longopts, li) < 0) {
			usage(stderr);
			return EXIT_TROUBLE;
		}
		li = -1;
		switch (c) {
		case 'm':
			if (cli_parse_memory(prog, optarg, &memory) < 0)
				return EXIT_TROUBLE;
			break;
		case 'k':
			if (cli_parse_field(optarg, &opts.key_field) < 0) {
				fprintf(stderr, "%s: invalid key field '%s' (N >= 1)\n", prog,
					optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 't':
			if (cli_parse_separator(prog, optarg, &opts.separator) < 0)
				return EXIT_TROUBLE;
			break;
		case 'a':
			if (parse_rate(optarg, &opts.approx_rate)) {
				fprintf(stderr, "%s: invalid rate '%s' (a number between 0 and 1, "
					"or a percentage such as 1%%)\n", prog, optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 'T': tmpdir = optarg; break;
		case 's': stats = true; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		case ':':
			fprintf(stderr, "%s: option '%s' needs an argument\n", prog, argv[optind - 1]);
			usage(stderr);
			return EXIT_TROUBLE;
		default:
			fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[optind - 1]);
			usage(stderr);
			return EXIT_TROUBLE;
		}
	}
	tmpdir = cli_tmpdir(tmpdir);

	size_t io = memory / 16;
	io = io < 4096 ? 4096 : io > 65536 ? 65536 : io;
	size_t min = 2 * io + (opts.approx_rate ? SL_DEDUP_APPROX_MIN_BYTES : SL_DEDUP_MIN_BYTES);
	if (memory < min) {
		fprintf(stderr, "%s: --memory %zu is below the minimum of %zu bytes%s\n", prog,
			memory, min, opts.approx_rate ? "" : " for exact mode");
		return EXIT_TROUBLE;
	}

	/* The budget is unlimited only so that a long line or a decoder can
	 * still be held (see the top comment); the rest keeps to --memory. */
	sl_budget budget;
	sl_budget_init(&budget, SIZE_MAX);
	run r = {.b = &budget, .tmpdir = tmpdir, .output = output};
	r.in = sl_malloc(&budget, io);
	r.in_cap = io;
	/* exact mode takes lines of up to SL_DEDUP_MAX_LINE bytes: a longer
	 * one is not held whole only to be refused */
	r.max_line = opts.approx_rate ? SIZE_MAX / 2 : SL_DEDUP_MAX_LINE;
	sl_framer_init(&r.framer, &budget, SL_FRAMER_LINES, r.max_line);
	r.out = (cli_out){sl_malloc(&budget, io), io, 0, 1};
	sl_outfile of;
	bool have_out = false;
	int rc = EXIT_TROUBLE;
	cli_signals_install();
	if (!r.in || !r.out.buf) {
		fprintf(stderr, "%s: %s\n", prog, sl_strerror(SL_ENOMEM));
		goto done;
	}
	sl_status s = sl_dedup_new(&r.d, &budget, memory - 2 * io, &opts, tmpdir);
	if (s) {
		fprintf(stderr, "%s: %s\n", prog, sl_strerror(s));
		goto done;
	}
	if (output) {
		if (cli_outfile_open(prog, &of, output, 0) < 0)
			goto done;
		have_out = true;
		r.out.fd = sl_outfile_fd(&of);
	}

	char *stdin_name = "-";
	char **files = optind < argc ? argv + optind : &stdin_name;
	int nfiles = optind < argc ? argc - optind : 1;
	for (int i = 0; i < nfiles; i++)
		if ((rc = feed(&r, files[i])))
			goto done;
	rc = EXIT_TROUBLE;
	if ((s = sl_dedup_finish(r.d))) {
		dedup_error(&r, s);
		goto done;
	}
	for (;;) {
		const char *line;
		size_t len;
		if ((s = sl_dedup_next(r.d, &line, &len))) {
			dedup_error(&r, s);
			goto done;
		}
		if (!line)
			break;
		if (cli_out_line(&r.out, line, len)) {
			write_error(&r);
			goto done;
		}
	}
	if (cli_out_flush(&r.out)) {
		write_error(&r);
		goto done;
	}
	if (output) {
		have_out = false;
		r.out.fd = 1;
		if (cli_outfile_commit(prog, &of, output) < 0)
			goto done;
	}
	summary(&r, &opts, memory, io, stats);
	rc = 0;
done:
	if (have_out)
		sl_outfile_abort(&of);
	sl_dedup_free(r.d);
	sl_free(&budget, r.out.buf, io);
	sl_framer_free(&r.framer);
	sl_free(&budget, r.in, r.in_cap);
	return rc;
}
