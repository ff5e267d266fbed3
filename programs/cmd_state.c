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
 *       with the renderers of a log run (programs/render.c). The memory line
 *       shows the budget and peak recorded by the run that wrote the first
 *       state (the largest peak of all).
 *
 * Both take their memory from one budget (-m, default 64 MiB): the merged
 * report, one more decoded state and one file buffer at a time. A state file
 * that cannot be decoded is named with the reason and the exit status is 2;
 * nothing is written then.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_BUDGET ((size_t)64 << 20)
#define EXIT_TROUBLE 2

static const char *prog = "sluice";

int state_fingerprint(const char *path, sl_state_input *out)
{
	out->dev = out->ino = out->size = out->head_hash = 0;
	out->head_len = 0;
	if (strcmp(path, "-") == 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	out->dev = (uint64_t)sb.st_dev;
	out->ino = (uint64_t)sb.st_ino;
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return 0;
	}
	out->size = (uint64_t)sb.st_size;
	char head[SL_STATE_HEAD_BYTES];
	size_t got = 0;
	while (got < sizeof head) {
		ssize_t n = read(fd, head + got, sizeof head - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	out->head_len = (uint32_t)got;
	out->head_hash = sl_hash(head, got);
	return 0;
}

int state_save_report(const char *path, sl_budget *b, const sl_report *r,
		      const cli_input *inputs, const sl_state_input *facts, size_t n,
		      size_t budget, size_t peak)
{
	sl_state_input *in = n ? sl_calloc(b, n, sizeof *in) : NULL;
	if (n && !in) {
		fprintf(stderr, "%s: %s: no memory left in the budget to save the state\n", prog,
			path);
		return EXIT_TROUBLE;
	}
	for (size_t i = 0; i < n; i++) {
		if (facts)
			in[i] = facts[i];
		else
			state_fingerprint(inputs[i].path, &in[i]);
		in[i].path = inputs[i].path;
		in[i].error = inputs[i].error;
	}
	int err = 0;
	sl_status st = sl_state_save(path, b, r, in, n, budget, peak, &err);
	sl_free(b, in, n * sizeof *in);
	if (st == SL_OK)
		return 0;
	if (st == SL_EIO)
		fprintf(stderr, "%s: %s: cannot save the state: %s\n", prog, path, strerror(err));
	else if (st == SL_ENOMEM)
		fprintf(stderr,
			"%s: %s: cannot save the state: the encoded state does not fit the memory "
			"budget; raise --memory\n",
			prog, path);
	else
		fprintf(stderr, "%s: %s: cannot save the state: %s\n", prog, path, sl_strerror(st));
	return EXIT_TROUBLE;
}

int state_load(const char *path, sl_budget *b, size_t report_bytes, sl_state **out)
{
	int err = 0;
	const char *why = NULL;
	sl_status st = sl_state_load(out, b, path, report_bytes, &err, &why);
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
		if (st == SL_EMISMATCH) {
			fprintf(stderr,
				"%s: %s: cannot merge a state of %s logs into one of %s logs (%s)\n",
				prog, paths[i], sl_format_name(s->report->format),
				sl_format_name(dst->report->format), paths[0]);
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
	int c;
	optind = 1;
	argv[0] = (char *)"sluice merge"; /* getopt's messages name argv[0] */
	while ((c = getopt_long(argc, argv, "m:o:h", longopts, NULL)) != -1) {
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
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'},
		{"json", no_argument, NULL, OPT_JSON},
		{"output", required_argument, NULL, 'o'},
		{"top", required_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t budget = STATE_BUDGET;
	const char *output = NULL;
	int json = 0, quiet = 0;
	long top_n = 10;
	int c;
	optind = 1;
	argv[0] = (char *)"sluice report"; /* getopt's messages name argv[0] */
	while ((c = getopt_long(argc, argv, "m:o:n:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (cli_parse_memory(prog, optarg, &budget) < 0)
				return EXIT_TROUBLE;
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
		case 'q': quiet = 1; break;
		case 'h':
			printf("Usage: %s report [OPTION]... STATE...\n"
			       "Print the report of one or more state files (merged in order).\n"
			       "  -m, --memory SIZE   memory budget (default 64M)\n"
			       "      --json          print the report as one JSON document\n"
			       "  -o, --output FILE   write the report to FILE: JSON if FILE ends in\n"
			       "                      .json, text otherwise\n"
			       "  -n, --top N         rows in each top list (default 10)\n"
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
	sl_budget b;
	sl_budget_init(&b, budget);
	sl_state *s;
	if (load_all(argv + optind, (size_t)(argc - optind), &b, &s) != 0)
		return EXIT_TROUBLE;

	int status = EXIT_TROUBLE;
	size_t ninputs = s->ninputs;
	cli_input *inputs = ninputs ? sl_calloc(&b, ninputs, sizeof *inputs) : NULL;
	size_t nrows = (size_t)top_n, most = 0;
	for (int t = 0; t < SL_TOP_COUNT; t++)
		if (sl_topk_capacity(s->report->top[t]) > most)
			most = sl_topk_capacity(s->report->top[t]);
	if (nrows > most)
		nrows = most;
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
	if (!quiet)
		cli_print_samples(prog, s->report, inputs);
	cli_view v = {
		.report = s->report,
		.inputs = inputs,
		.ninputs = ninputs,
		.top_n = nrows,
		.rows = rows,
		.budget = (size_t)s->budget,
		.peak = (size_t)s->peak,
	};
	if (output) {
		json = cli_ends_with(output, ".json");
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "%s: %s: %s\n", prog, output, strerror(errno));
			goto done;
		}
	}
	int rc = json ? render_json(out, &v) : render_text(out, &v);
	if (rc < 0 || fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "%s: %s: write error: %s\n", prog, output ? output : "standard output",
			strerror(errno));
	} else {
		status = 0;
	}
	if (output && fclose(out) != 0 && status == 0) {
		fprintf(stderr, "%s: %s: write error: %s\n", prog, output, strerror(errno));
		status = EXIT_TROUBLE;
	}
done:
	sl_free(&b, rows, nrows * sizeof *rows);
	sl_free(&b, inputs, ninputs * sizeof *inputs);
	sl_state_free(s);
	return status;
}
