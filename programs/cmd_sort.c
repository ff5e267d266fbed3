/*
 * cmd_sort.c: `sluice sort`, an external sort of lines in a fixed memory
 * budget whose output is byte-identical to `LC_ALL=C sort` with the same
 * options (-k N, -t, -n, -r, -u, -s, -o, -S/-m, -T).
 *
 * The program reads each input with read(2) into one buffer, frames it
 * into lines with the library's framer (lib/io/framer.c), hands every line
 * (without its newline) to the library's sorter (lib/spill/xsort.c), and writes
 * the sorted lines through a second buffer, adding the newline a final
 * unterminated line lacked (as GNU sort does). Both buffers come from the
 * same budget as the sorter, and the sorter gets what is left of --memory.
 * A line longer than the input buffer is kept whole in the framer's
 * storage (from the budget, beyond --memory, as GNU sort grows its buffer
 * for long lines), up to the longest record the sorter takes
 * (SL_XSORT_MAX_RECORD); a longer one stops the sort with exit 2.
 *
 * The output file (-o) is checked before any input is read (a directory,
 * a block device or a socket is refused with exit 2) and opened only once
 * every input has been read and the runs merged, so it may be one of the
 * inputs. A regular file (or a symlink's final target) is written through
 * an sl_outfile (lib/io/outfile.c): a temporary beside it, renamed over it at
 * the end with its mode kept, so a failure (a full temporary directory or
 * disk: exit 2) or a SIGINT/SIGTERM leaves the old file whole and no
 * temporary. A FIFO or a character device (-o /dev/stdout, -o /dev/null)
 * is written through in place, as GNU sort does, never replaced. Spill
 * files are unnamed (see lib/spill/xsort.c): nothing is left behind on SIGINT or
 * any other exit.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_TROUBLE 2

static void usage(FILE *f)
{
	fputs("Usage: sluice sort [OPTION]... [FILE]...\n"
	      "Sort lines of the FILEs (standard input for none or '-') in a fixed\n"
	      "memory budget; output is identical to LC_ALL=C sort.\n"
	      "\n"
	      "  -m, --memory SIZE      memory budget (default 1M; K/M/G/T suffixes)\n"
	      "  -S, --buffer-size SIZE the same as --memory\n"
	      "  -k, --key N            sort by field N to the end of the line\n"
	      "  -t, --field-separator C  fields are separated by C, not blanks\n"
	      "  -n, --numeric-sort     compare [-]digits[.digits] numerically\n"
	      "  -r, --reverse          reverse the order\n"
	      "  -u, --unique           keep the first of lines with equal keys\n"
	      "  -s, --stable           no last-resort whole-line comparison\n"
	      "  -o, --output FILE      write to FILE (may be an input)\n"
	      "  -T, --tmp DIR          temporary files in DIR (default $TMPDIR, /tmp)\n"
	      "  -h, --help             show this help\n"
	      "\n"
	      "Exit status: 0 on success, 2 on trouble (bad usage, unreadable input,\n"
	      "full temporary directory).\n",
	      f);
}

static const char *xsort_error(sl_xsort *xs, sl_status s)
{
	int e = sl_xsort_errno(xs);
	return e ? strerror(e) : sl_strerror(s);
}

/* Reads every line of fd into xs through the framer f. Returns 0, or -1
 * with *why set (*lib_error: the sorter failed). */
static int feed(sl_xsort *xs, sl_framer *f, int fd, char *buf, size_t cap, const char **why,
		int *lib_error)
{
	static char too_long[96];
	sl_framer_begin(f, 0, false, UINT64_MAX);
	for (bool more = true; more;) {
		ssize_t r = read(fd, buf, cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*why = strerror(errno);
			return -1;
		}
		more = r > 0;
		if (more)
			sl_framer_push(f, buf, (size_t)r, 0);
		else
			sl_framer_end(f); /* a last line without newline */
		sl_frame fr;
		sl_status s;
		while ((s = sl_framer_next(f, &fr)) == SL_OK && (fr.data || fr.skipped)) {
			if (fr.skipped) {
				snprintf(too_long, sizeof too_long,
					 "line %llu is longer than the %zu bytes a line may have",
					 (unsigned long long)(fr.first - fr.skipped),
					 (size_t)SL_XSORT_MAX_RECORD);
				*why = too_long;
				return -1;
			}
			if ((s = sl_xsort_add(xs, fr.data, fr.len))) {
				*why = xsort_error(xs, s);
				*lib_error = 1;
				return -1;
			}
		}
		if (s) { /* the line being read does not fit in memory */
			*why = sl_strerror(s);
			return -1;
		}
	}
	return 0;
}

int cmd_sort(int argc, char **argv)
{
	enum { OPT_HELP = 256 };
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'},
		{"buffer-size", required_argument, NULL, 'S'},
		{"key", required_argument, NULL, 'k'},
		{"field-separator", required_argument, NULL, 't'},
		{"numeric-sort", no_argument, NULL, 'n'},
		{"reverse", no_argument, NULL, 'r'},
		{"unique", no_argument, NULL, 'u'},
		{"stable", no_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"tmp", required_argument, NULL, 'T'},
		{"temporary-directory", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "sluice sort";
	sl_xsort_opts opts = {.separator = SL_XSORT_BLANKS};
	size_t memory = 1 << 20;
	const char *output = NULL, *tmpdir = NULL;
	int c, li = -1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:S:k:t:nrusso:T:h", longopts, &li)) != -1) {
		if (c != '?' && c != ':' && cli_long_in_full(prog, argv, longopts, li) < 0) {
			usage(stderr);
			return EXIT_TROUBLE;
		}
		li = -1;
		switch (c) {
		case 'm':
		case 'S':
			if (cli_parse_memory(prog, optarg, &memory) < 0)
				return EXIT_TROUBLE;
			break;
		case 'k':
			if (opts.key_field || cli_parse_field(optarg, &opts.key_field) < 0) {
				fprintf(stderr, "%s: invalid key '%s' (one -k N, N >= 1, is "
					"supported)\n", prog, optarg);
				return EXIT_TROUBLE;
			}
			break;
		case 't':
			if (cli_parse_separator(prog, optarg, &opts.separator) < 0)
				return EXIT_TROUBLE;
			break;
		case 'n': opts.numeric = true; break;
		case 'r': opts.reverse = true; break;
		case 'u': opts.unique = true; break;
		case 's': opts.stable = true; break;
		case 'o': output = optarg; break;
		case 'T': tmpdir = optarg; break;
		case 'h':
		case OPT_HELP: usage(stdout); return 0;
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
	cli_signals_install();
	if (output && cli_outfile_check(prog, output, SL_OUTFILE_THROUGH) < 0)
		return EXIT_TROUBLE;

	/* One budget for everything: the input and output buffers take a
	 * sixteenth of --memory each (4 KiB .. 64 KiB), the sorter the rest.
	 * The budget itself is unlimited only so that a line longer than
	 * those buffers can still be held (see above); the sorter keeps to its
	 * share otherwise. */
	size_t io = memory / 16;
	io = io < 4096 ? 4096 : io > 65536 ? 65536 : io;
	if (memory < 2 * io + SL_XSORT_MIN_BYTES) {
		fprintf(stderr, "%s: --memory %zu is below the minimum of %zu bytes\n", prog,
			memory, 2 * io + (size_t)SL_XSORT_MIN_BYTES);
		return EXIT_TROUBLE;
	}
	sl_budget budget;
	sl_budget_init(&budget, SIZE_MAX);
	char *in = sl_malloc(&budget, io);
	sl_framer framer; /* a line longer than `in` is kept whole in its storage */
	sl_framer_init(&framer, &budget, SL_FRAMER_LINES, SL_XSORT_MAX_RECORD);
	cli_out o = {sl_malloc(&budget, io), io, 0, 1};
	sl_xsort *xs = NULL;
	sl_outfile of;
	bool have_out = false;
	int rc = EXIT_TROUBLE;
	if (!in || !o.buf) {
		fprintf(stderr, "%s: %s\n", prog, sl_strerror(SL_ENOMEM));
		goto out;
	}
	sl_status s = sl_xsort_new(&xs, &budget, memory - 2 * io, &opts, tmpdir);
	if (s) {
		fprintf(stderr, "%s: %s\n", prog, sl_strerror(s));
		goto out;
	}

	char *stdin_name = "-";
	char **files = optind < argc ? argv + optind : &stdin_name;
	int nfiles = optind < argc ? argc - optind : 1;
	for (int i = 0; i < nfiles; i++) {
		const char *path = files[i];
		int is_stdin = strcmp(path, "-") == 0;
		int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
			goto out;
		}
		const char *why = NULL;
		int lib_error = 0;
		int r = feed(xs, &framer, fd, in, io, &why, &lib_error);
		if (!is_stdin)
			close(fd);
		if (r) {
			if (lib_error)
				fprintf(stderr, "%s: temporary directory %s: %s\n", prog, tmpdir,
					why);
			else
				fprintf(stderr, "%s: %s: %s\n", prog, cli_input_name(path), why);
			goto out;
		}
	}
	if ((s = sl_xsort_finish(xs))) {
		fprintf(stderr, "%s: temporary directory %s: %s\n", prog, tmpdir,
			xsort_error(xs, s));
		goto out;
	}
	if (output) {
		if (cli_outfile_open(prog, &of, output, SL_OUTFILE_THROUGH) < 0)
			goto out;
		have_out = true;
		o.fd = sl_outfile_fd(&of);
	}
	for (;;) {
		const char *rec;
		size_t len;
		if ((s = sl_xsort_next(xs, &rec, &len))) {
			fprintf(stderr, "%s: temporary directory %s: %s\n", prog, tmpdir,
				xsort_error(xs, s));
			goto out;
		}
		if (!rec)
			break;
		if (cli_out_line(&o, rec, len))
			goto write_error;
	}
	if (cli_out_flush(&o))
		goto write_error;
	o.fd = 1;
	if (output) {
		have_out = false;
		if (cli_outfile_commit(prog, &of, output) < 0)
			goto out;
	}
	rc = 0;
	goto out;
write_error:
	fprintf(stderr, "%s: %s: %s\n", prog, output ? output : "standard output",
		strerror(errno));
out:
	if (have_out)
		sl_outfile_abort(&of);
	sl_xsort_free(xs);
	sl_free(&budget, o.buf, o.cap);
	sl_framer_free(&framer);
	sl_free(&budget, in, io);
	return rc;
}
