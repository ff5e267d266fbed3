/*
 * cmd_state.c: the state-file subcommands and the helpers the main run uses
 * for --save / --state.
 *
 *   sluice merge [-m SIZE] A.state B.state ... -o ALL.state
 *       decodes each state, merges them in order into the first
 *       (sl_state_merge: the first state's sizes are kept, HLLs fold to the
 *       smaller precision, top lists keep the first's capacity) and saves the
 *       result atomically.
 *   sluice report [--json] [-o FILE] [-n N] [-m SIZE] [-q] STATE...
 *       decodes and merges the states the same way and renders the report
 *       with the renderers of a log run (programs/render.c), which go by
 *       what the report holds (a line-format state has no access-log lists).
 *       The memory line shows the largest budget and the largest peak of the
 *       states (sl_state_merge).
 *
 * A STATE of "-" (once) is read from standard input: all of it, into a
 * buffer from the budget that doubles as it fills, then decoded as a file.
 *
 * Both take their memory from one budget (-m, default 64 MiB): the merged
 * report, one more decoded state and one file buffer at a time. A state file
 * that cannot be decoded is named with the reason and the exit status is 2;
 * nothing is written then.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_BUDGET ((size_t)64 << 20)
#define EXIT_TROUBLE 2

static const char *prog = "sluice";

/* The whole of standard input in a buffer from b (doubling, within what b has
 * left): 0, or -1 with a message. */
static int read_stdin(sl_budget *b, uint8_t **out, size_t *len, size_t *cap)
{
	size_t n = 0, c = 0;
	uint8_t *buf = NULL;
	for (;;) {
		if (n == c) {
			size_t want = c ? 2 * c : 64 * 1024;
			size_t room = sl_budget_available(b) + c;
			if (want > room)
				want = room;
			uint8_t *grown = want > c ? sl_realloc(b, buf, c, want) : NULL;
			if (!grown) {
				sl_free(b, buf, c);
				fprintf(stderr,
					"%s: %s: the state is larger than the memory budget; raise "
					"--memory\n",
					prog, cli_input_name("-"));
				return -1;
			}
			buf = grown;
			c = want;
		}
		ssize_t got = read(STDIN_FILENO, buf + n, c - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			sl_free(b, buf, c);
			fprintf(stderr, "%s: %s: read error: %s\n", prog, cli_input_name("-"),
				strerror(e));
			return -1;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	*out = buf;
	*len = n;
	*cap = c;
	return 0;
}

int state_load(const char *path, sl_budget *b, size_t report_bytes, sl_state **out)
{
	int err = 0;
	const char *why = NULL;
	sl_status st;
	if (strcmp(path, "-") == 0) {
		uint8_t *buf;
		size_t len, cap;
		if (read_stdin(b, &buf, &len, &cap) < 0)
			return EXIT_TROUBLE;
		st = sl_state_decode(out, b, buf, len, report_bytes, &why);
		sl_free(b, buf, cap);
		path = cli_input_name("-");
	} else {
		st = sl_state_load(out, b, path, report_bytes, &err, &why);
	}
	if (st == SL_OK)
		return 0;
	if (st == SL_EIO)
		fprintf(stderr, "%s: %s: %s: %s\n", prog, path, why ? why : "cannot read",
			strerror(err ? err : EIO));
	else if (st == SL_ENOMEM || st == SL_EBUDGET)
		fprintf(stderr, "%s: %s: %s (%s); raise --memory\n", prog, path,
			why ? why : sl_strerror(st), sl_strerror(st));
	else
		fprintf(stderr, "%s: %s: invalid state file: %s\n", prog, path,
			why ? why : sl_strerror(st));
	return EXIT_TROUBLE;
}

/* Loads paths[0 .. n-1] and merges them, in order, into *out. */
static int load_all(char **paths, size_t n, sl_budget *b, sl_state **out)
{
	sl_state *dst;
	*out = NULL;
	size_t stdins = 0;
	for (size_t i = 0; i < n; i++)
		stdins += strcmp(paths[i], "-") == 0;
	if (stdins > 1) {
		fprintf(stderr, "%s: standard input (-) can be read only once\n", prog);
		return EXIT_TROUBLE;
	}
	if (state_load(paths[0], b, 0, &dst) != 0)
		return EXIT_TROUBLE;
	for (size_t i = 1; i < n; i++) {
		sl_state *s;
		if (state_load(paths[i], b, 0, &s) != 0) {
			sl_state_free(dst);
			return EXIT_TROUBLE;
		}
		const char *why = NULL;
		sl_status st = sl_state_merge(dst, s, &why);
		sl_format sf = sl_report_format(s->report), df = sl_report_format(dst->report);
		if (st == SL_EMISMATCH && sf != df) {
			fprintf(stderr,
				"%s: %s: cannot merge a state of %s logs into one of %s logs (%s)\n",
				prog, paths[i], sl_format_name(sf), sl_format_name(df), paths[0]);
		} else if (st == SL_EMISMATCH) {
			fprintf(stderr, "%s: %s: cannot merge into %s: %s\n", prog, paths[i],
				paths[0], why ? why : sl_strerror(st));
		} else if (st != SL_OK) {
			fprintf(stderr, "%s: %s: cannot merge: %s\n", prog, paths[i],
				why ? why : sl_strerror(st));
		}
		sl_state_free(s);
		if (st != SL_OK) {
			sl_state_free(dst);
			return EXIT_TROUBLE;
		}
	}
	*out = dst;
	return 0;
}

int cmd_merge(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t budget = STATE_BUDGET;
	const char *output = NULL;
	int c, li = -1;
	optind = 1;
	argv[0] = (char *)"sluice merge"; /* getopt's messages name argv[0] */
	while ((c = getopt_long(argc, argv, "m:o:h", longopts, &li)) != -1) {
		if (c != '?' && cli_long_in_full("sluice merge", argv, longopts, li) < 0)
			c = '?';
		li = -1;
		switch (c) {
		case 'm':
			if (cli_parse_memory(prog, optarg, &budget) < 0)
				return EXIT_TROUBLE;
			break;
		case 'o': output = optarg; break;
		case 'h':
			printf("Usage: %s merge [-m SIZE] STATE... -o OUT.state\n"
			       "Merge state files (written by --save) into one, in order.\n"
			       "The result keeps the first state's sizes: HyperLogLogs fold to the\n"
			       "smaller precision, top lists keep the first state's capacity.\n"
			       "  -m, --memory SIZE   memory budget (default 64M)\n"
			       "  -o, --output FILE   the merged state (written atomically)\n",
			       prog);
			return 0;
		default:
			fprintf(stderr, "Try '%s merge --help' for more information.\n", prog);
			return EXIT_TROUBLE;
		}
	}
	if (!output || optind >= argc) {
		fprintf(stderr, "%s: merge: need one or more state files and -o OUT.state\n", prog);
		return EXIT_TROUBLE;
	}
	/* a refused output is said before the states are read */
	cli_signals_install();
	if (cli_outfile_check(prog, output, 0) < 0)
		return EXIT_TROUBLE;
	sl_budget b;
	sl_budget_init(&b, budget);
	sl_state *s;
	if (load_all(argv + optind, (size_t)(argc - optind), &b, &s) != 0)
		return EXIT_TROUBLE;
	int err = 0;
	sl_status st = sl_state_save(output, &b, s->report, s->inputs, s->ninputs, s->budget,
				     s->peak, &err);
	sl_state_free(s);
	if (st != SL_OK) {
		fprintf(stderr, "%s: %s: cannot write the merged state: %s\n", prog, output,
			st == SL_EIO ? strerror(err) : sl_strerror(st));
		return EXIT_TROUBLE;
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_SERIES, OPT_TZ };
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'},
		{"json", no_argument, NULL, OPT_JSON},
		{"series", required_argument, NULL, OPT_SERIES},
		{"tz", required_argument, NULL, OPT_TZ},
		{"output", required_argument, NULL, 'o'},
		{"top", required_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t budget = STATE_BUDGET;
	const char *output = NULL;
	int json = 0, quiet = 0, series = CLI_SERIES_AUTO;
	bool tz_given = false;
	int32_t tz = 0;
	long top_n = 10;
	int c, li = -1;
	optind = 1;
	argv[0] = (char *)"sluice report"; /* getopt's messages name argv[0] */
	while ((c = getopt_long(argc, argv, "m:o:n:qh", longopts, &li)) != -1) {
		if (c != '?' && cli_long_in_full("sluice report", argv, longopts, li) < 0)
			c = '?';
		li = -1;
		switch (c) {
		case 'm':
			if (cli_parse_memory(prog, optarg, &budget) < 0)
				return EXIT_TROUBLE;
			break;
		case OPT_JSON: json = 1; break;
		case OPT_SERIES:
			if (cli_parse_series(prog, optarg, &series) < 0)
				return EXIT_TROUBLE;
			break;
		case OPT_TZ:
			if (cli_parse_tz(prog, optarg, &tz) < 0)
				return EXIT_TROUBLE;
			tz_given = true;
			break;
		case 'o': output = optarg; break;
		case 'n':
			if (cli_parse_top(prog, optarg, &top_n) < 0)
				return EXIT_TROUBLE;
			break;
		case 'q': quiet = 1; break;
		case 'h':
			printf("Usage: %s report [OPTION]... STATE...\n"
			       "Print the report of one or more state files (merged in order).\n"
			       "A STATE of - is read from standard input.\n"
			       "  -m, --memory SIZE   memory budget (default 64M)\n"
			       "      --json          print the report as one JSON document\n"
			       "  -o, --output FILE   write the report to FILE: JSON if FILE ends in\n"
			       "                      .json, text otherwise\n"
			       "  -n, --top N         rows in each top list (default 10)\n"
			       "      --series UNIT   time-series rows: minute, hour or day\n"
			       "      --tz OFFSET     show times at OFFSET (+HH:MM or UTC); default:\n"
			       "                      UTC (a state does not record the log's offset)\n"
			       "  -q, --quiet         no malformed-line samples on stderr\n",
			       prog);
			return 0;
		default:
			fprintf(stderr, "Try '%s report --help' for more information.\n", prog);
			return EXIT_TROUBLE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: report: need one or more state files\n", prog);
		return EXIT_TROUBLE;
	}
	if (output && cli_outfile_check(prog, output, SL_OUTFILE_THROUGH) < 0)
		return EXIT_TROUBLE;
	sl_budget b;
	sl_budget_init(&b, budget);
	sl_state *s;
	if (load_all(argv + optind, (size_t)(argc - optind), &b, &s) != 0)
		return EXIT_TROUBLE;

	int status = EXIT_TROUBLE;
	size_t ninputs = s->ninputs;
	cli_input *inputs = ninputs ? sl_calloc(&b, ninputs, sizeof *inputs) : NULL;
	size_t nrows = sl_report_max_rows(s->report, (size_t)top_n);
	sl_topk_row *rows = nrows ? sl_calloc(&b, nrows, sizeof *rows) : NULL;
	FILE *out = stdout;
	if ((ninputs && !inputs) || (nrows && !rows)) {
		fprintf(stderr, "%s: report: no memory left in the budget; raise --memory\n", prog);
		goto done;
	}
	for (size_t i = 0; i < ninputs; i++) {
		inputs[i].path = s->inputs[i].path;
		inputs[i].error = s->inputs[i].error;
	}
	cli_view v = {
		.report = s->report,
		.inputs = inputs,
		.ninputs = ninputs,
		.top_n = nrows,
		.rows = rows,
		.budget = (size_t)s->budget,
		.peak = (size_t)s->peak,
		.series = series,
		.tz_given = tz_given,
		.tz_offset = tz,
	};
	sl_outfile of;
	if (output) { /* written beside, renamed over whole */
		json = cli_ends_with(output, ".json");
		out = cli_outfile_fopen(prog, &of, output, SL_OUTFILE_THROUGH);
		if (!out)
			goto done;
	}
	int rc = json ? render_json(out, &v) : render_text(out, &v);
	if (output) {
		if (cli_outfile_fclose(prog, &of, out, output, rc >= 0) == 0)
			status = 0;
	} else if (rc < 0 || fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "%s: standard output: write error: %s\n", prog, strerror(errno));
	} else {
		status = 0;
	}
	if (!quiet) /* after the report, so that it stays on screen */
		cli_print_samples(prog, s->report, inputs);
	if (cli_check_parsed(prog, s->report, false))
		status = EXIT_TROUBLE;
done:
	sl_free(&b, rows, nrows * sizeof *rows);
	sl_free(&b, inputs, ninputs * sizeof *inputs);
	sl_state_free(s);
	return status;
}
