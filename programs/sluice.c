/*
 * sluice.c: the sluice command: `sluice [OPTION]... [FILE]...`, and the
 * dispatcher for its subcommands (sort, dedup, merge, report).
 *
 * The run itself is the library's (sl_engine_run, lib/engine/engine.c: the budget
 * plan, the workers, ranges and queues, --state resume and the merge); this
 * file parses the options, builds the engine's options, prints what the
 * engine notes and refuses (each message as the engine words it, after
 * "sluice: "), draws the progress line on a terminal, saves the state
 * files, and renders the report.
 *
 * Inputs and format options are taken in order (getopt's in-order mode):
 * -f and --log-format apply to the inputs after them, and the engine reads
 * a run of several formats into one report (sl_engine_opts.input_formats).
 *
 * Exit status (as grep): 0 when every input was read, 2 when an input could
 * not be opened or read, on a usage error, or when the budget is below the
 * minimum.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BUDGET ((size_t)16 << 20) /* a cap: what a run touches follows its data */
#define EXIT_TROUBLE 2
#define MAX_JOBS SL_ENGINE_MAX_JOBS

static const char *prog = "sluice";

const char *cli_input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [FILE]...\n"
		"  or:  %s sort|dedup|merge|report [OPTION]... (see %s COMMAND --help)\n"
		"Report on web server access logs (nginx/apache) in a fixed memory budget.\n"
		"With no FILE, or when FILE is -, read standard input. Compressed inputs\n"
		"(gzip, zstd) are recognised by their content, whatever their names.\n"
		"\n"
		"  -m, --memory SIZE   memory budget for all state and buffers; K, M, G, T\n"
		"                      suffixes (default 16M, a cap: small logs use little)\n"
		"  -j, --jobs N        worker threads (default: the number of online cores)\n"
		"  -f, --format NAME   auto (default), combined, common, vcombined, vcommon,\n"
		"                      w3c, cloudfront, elb, alb, s3, traefik, ltsv, csv, tsv,\n"
		"                      syslog, syslog:NAME (NAME inside syslog), json, caddy,\n"
		"                      traefik-json (docs/formats.md); or lines: every whole\n"
		"                      line is a key (distinct lines, top lines, line lengths:\n"
		"                      sort | uniq -c | sort -rn in bounded memory).\n"
		"                      Given between inputs, -f applies to the inputs after\n"
		"                      it: -f json app.jsonl -f combined access.log\n"
		"      --log-format S  an nginx log_format string ($remote_addr ...) or an\n"
		"                      Apache/GoAccess one (%%h %%t \"%%r\" %%s %%b ...); as -f\n"
		"                      for the inputs after it; after -f syslog: inside syslog\n"
		"      --field F=PATH  JSON lines: read field F (client, time, status, ...)\n"
		"                      from key PATH (dotted: request.headers.ua); repeatable\n"
		"      --json          print the report as one JSON document\n"
		"  -o, --output FILE   write the report to FILE: JSON if FILE ends in .json,\n"
		"                      text otherwise\n"
		"  -n, --top N         rows in each top list (default 10)\n"
		"\n"
		"What to count (docs/query.md lists every field and operator):\n"
		"      --where EXPR    count only the records where EXPR holds (repeatable: all\n"
		"                      must): FIELD OP VALUE with = != < <= > >= ^= (prefix)\n"
		"                      ~ (PCRE2 pattern) in a,b,c, or not EXPR; e.g.\n"
		"                      'status>=500', 'path^=/api/', 'user_agent~(?i)bot',\n"
		"                      'bytes>1M', 'method in GET,HEAD'\n"
		"      --since T       count records at or after T, and --until T before T:\n"
		"      --until T       ISO 8601, the log's own form, Unix seconds, -30m, -1h,\n"
		"                      -2d, today, yesterday\n"
		"      --top FIELD     add a top list over FIELD (client, path, query, ...)\n"
		"      --distinct F[,F...]  add a distinct count of the fields together\n"
		"      --quantiles FIELD    add quantiles of a numeric field (bytes, ...)\n"
		"      --by FIELD      group the records by FIELD (vhost, status_class, hour,\n"
		"                      client, ...): the largest groups, each with its\n"
		"                      requests, bytes, visitors, request times, top paths\n"
		"      --only          report only the items given by the four above\n"
		"\n"
		"      --series UNIT   time-series rows of the text report: minute, hour or\n"
		"                      day (default: the finest of these with at most 48\n"
		"                      rows; more rows are summed in groups)\n"
		"      --tz OFFSET     show times at OFFSET (+HH:MM, -HHMM or UTC); default:\n"
		"                      the offset the log's earliest line is written in\n"
		"      --4xx-visitors  count lines answered 4xx in the unique visitors\n"
		"                      (left out by default, as GoAccess does)\n"
		"      --exact         exact distinct counts, top lists and quantiles whatever\n"
		"                      the size: keys and values spill to disk in sorted runs\n"
		"      --tmp DIR       where --exact spills (default $TMPDIR, else /tmp)\n"
		"      --save FILE     also write the run's state to FILE (sluice report/merge)\n"
		"      --state FILE    incremental: load FILE if it exists, read only what is\n"
		"                      new in each input (grown, rotated, replaced), save FILE\n"
		"  -q, --quiet         no progress line and no malformed-line samples on stderr\n"
		"                      (the samples come after the report)\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"Figures marked ≈ (text) or \"exact\": false (JSON) are estimates with their\n"
		"bound; all others are exact. Long options are spelled in full.\n"
		"Exit status: 0 if all went well, 2 if an input could not be read, on a\n"
		"usage error, if the budget is below the minimum, or if lines were read but\n"
		"none parsed in the format (the message names the format they look like).\n",
		prog, prog, prog);
}

/* ---- what the run shows on stderr ---------------------------------------- */

/* The engine's callbacks' state (sl_engine_opts.ud); the engine calls them
 * from the thread that called sl_engine_run. */
typedef struct {
	bool quiet, jobs_given;
	struct timespec start, last_draw; /* the progress line */
	int drawn;
} screen_t;

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
 * second (only on a terminal: the callback is given then). */
static void on_progress(void *ud, uint64_t done, uint64_t total)
{
	screen_t *p = ud;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double elapsed = since(&p->start, &now);
	if (elapsed < 1.0 || (p->drawn && since(&p->last_draw, &now) < 0.2))
		return;
	p->last_draw = now;
	p->drawn = 1;
	double rate = (double)done / elapsed;
	char d[32], t[32], s[32];
	human(d, sizeof d, (double)done);
	human(s, sizeof s, rate);
	if (total && done <= total) {
		human(t, sizeof t, (double)total);
		double eta = rate > 0 ? (double)(total - done) / rate : 0;
		fprintf(stderr, "\r%s: %s of %s (%.0f%%)  %s/s  ETA %d:%02d \033[K", prog, d, t,
			100.0 * (double)done / (double)total, s, (int)eta / 60, (int)eta % 60);
	} else {
		fprintf(stderr, "\r%s: %s  %s/s \033[K", prog, d, s);
	}
}

static void progress_clear(screen_t *p)
{
	if (p->drawn)
		fprintf(stderr, "\r\033[K");
	p->drawn = 0;
}

/* What the engine notes, after "sluice: ": an input's error always, "same
 * file" unless -q, "fewer workers", "one worker" and "read again by one
 * worker" when -j was given and not -q. */
static void on_note(void *ud, sl_engine_note_kind kind, const char *text)
{
	screen_t *p = ud;
	bool about_jobs = kind == SL_ENGINE_NOTE_FEWER_JOBS || kind == SL_ENGINE_NOTE_ONE_WORKER ||
			  kind == SL_ENGINE_NOTE_AGAIN;
	if (kind != SL_ENGINE_NOTE_INPUT_ERROR && (p->quiet || (about_jobs && !p->jobs_given)))
		return;
	progress_clear(p);
	fprintf(stderr, "%s: %s\n", prog, text);
}

/* ---- a format per input ------------------------------------------------------ */

/* A format option (-f NAME, --log-format S, or -f syslog then
 * --log-format S) and the inputs after it, up to the next one. */
typedef struct {
	sl_format fmt;
	const char *inner;	/* -f syslog:NAME: NAME */
	const char *log_format;	/* --log-format S (custom, or inside syslog) */
	size_t inputs;		/* inputs given after it */
	char *spec;		/* the spec the engine gets (malloc'd) */
} fmt_group;

/* -f NAME: the format and, for syslog:NAME, the inner name. 0, or -1 after
 * printing why. */
static int parse_format_name(const char *name, sl_format *fmt, const char **inner)
{
	*inner = NULL;
	if (strncmp(name, "syslog:", 7) == 0) {
		sl_format f = sl_format_from_name(name + 7);
		if (f == SL_FMT_COUNT || f == SL_FMT_AUTO || f == SL_FMT_LINES ||
		    f == SL_FMT_SYSLOG || f == SL_FMT_CUSTOM) {
			fprintf(stderr, "%s: unknown format inside syslog '%s' (syslog:json, "
				"syslog:caddy, syslog:ltsv, syslog:combined, ...; or -f syslog "
				"--log-format STRING)\n", prog, name + 7);
			return -1;
		}
		*fmt = SL_FMT_SYSLOG;
		*inner = name + 7;
		return 0;
	}
	*fmt = sl_format_from_name(name);
	if (*fmt == SL_FMT_COUNT || *fmt == SL_FMT_CUSTOM) {
		fprintf(stderr,
			"%s: unknown format '%s' (auto, combined, common, vcombined, "
			"vcommon, w3c, cloudfront, elb, alb, s3, traefik, ltsv, csv, "
			"tsv, syslog, syslog:NAME, json, caddy, traefik-json, lines; or "
			"--log-format STRING)\n",
			prog, name);
		return -1;
	}
	return 0;
}

/* The spec of group g for the engine: the format string, the --field
 * mappings (fields) for the JSON formats and -f auto, syslog's inner
 * format "NAME[:SPEC]"; malloc'd into g->spec. 0, or -1 (no memory). */
static int group_spec(fmt_group *g, const char *fields)
{
	size_t n = strlen(fields) + (g->log_format ? strlen(g->log_format) : 0) +
		   (g->inner ? strlen(g->inner) : 0) + 16;
	if (!(g->spec = malloc(n)))
		return -1;
	if (g->fmt == SL_FMT_CUSTOM)
		snprintf(g->spec, n, "%s", g->log_format);
	else if (g->fmt == SL_FMT_SYSLOG && g->log_format)
		snprintf(g->spec, n, "custom:%s", g->log_format);
	else if (g->fmt == SL_FMT_SYSLOG && g->inner)
		snprintf(g->spec, n, "%s%s%s", g->inner,
			 fields[0] && sl_format_is_json(sl_format_from_name(g->inner)) ? ":" : "",
			 sl_format_is_json(sl_format_from_name(g->inner)) ? fields : "");
	else if (g->fmt == SL_FMT_SYSLOG)
		g->spec[0] = '\0';
	else
		snprintf(g->spec, n, "%s", fields); /* as one format has always recorded */
	return 0;
}

/* ---- state files ----------------------------------------------------------- */

/* True when path is a regular file starting with the state magic. Nothing
 * else is opened: a pipe or FIFO read here would lose its first bytes to
 * the reader (and a FIFO could block before the run starts). */
static int is_state_file(const char *path)
{
	char head[SL_STATE_MAGIC_LEN];
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t got = fread(head, 1, sizeof head, f);
	fclose(f);
	return sl_state_is_state(head, got);
}


int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_EXACT, OPT_TMP, OPT_SAVE, OPT_STATE, OPT_SERIES, OPT_TZ,
	       OPT_4XX, OPT_WHERE, OPT_SINCE, OPT_UNTIL, OPT_DISTINCT, OPT_QUANTILES, OPT_ONLY,
	       OPT_LOG_FORMAT, OPT_FIELD, OPT_BY };
	static const struct option longopts[] = {
		{"memory", required_argument, NULL, 'm'}, {"format", required_argument, NULL, 'f'},
		{"jobs", required_argument, NULL, 'j'},
		{"exact", no_argument, NULL, OPT_EXACT}, {"tmp", required_argument, NULL, OPT_TMP},
		{"save", required_argument, NULL, OPT_SAVE}, {"state", required_argument, NULL, OPT_STATE},
		{"json", no_argument, NULL, OPT_JSON},	  {"output", required_argument, NULL, 'o'},
		{"top", required_argument, NULL, 'n'},	  {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},	  {"version", no_argument, NULL, 'V'},
		{"series", required_argument, NULL, OPT_SERIES},
		{"tz", required_argument, NULL, OPT_TZ},
		{"4xx-visitors", no_argument, NULL, OPT_4XX},
		{"where", required_argument, NULL, OPT_WHERE},
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"distinct", required_argument, NULL, OPT_DISTINCT},
		{"quantiles", required_argument, NULL, OPT_QUANTILES},
		{"only", no_argument, NULL, OPT_ONLY},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"field", required_argument, NULL, OPT_FIELD},
		{"by", required_argument, NULL, OPT_BY},
		{NULL, 0, NULL, 0},
	};
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"sort", cmd_sort}, {"dedup", cmd_dedup}, {"merge", cmd_merge}, {"report", cmd_report},
	};
	cli_malloc_policy();   /* before any allocation: freed memory goes back */
	cli_signals_install(); /* a save in progress is abandoned cleanly */
	if (argc > 1)
		for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].fn(argc - 1, argv + 1);

	sl_engine_opts eo = {.format = SL_FMT_AUTO};
	bool quiet = false;
	size_t budget = DEFAULT_BUDGET;
	const char *output = NULL, *save_path = NULL, *state_path = NULL;
	const char *memory_arg = NULL, *top_arg = NULL;
	int json = 0, jobs_given = 0, series = CLI_SERIES_AUTO;
	bool tz_given = false;
	int32_t tz = 0;
	long top_n = 10, jobs = sysconf(_SC_NPROCESSORS_ONLN);
	sl_plan plan; /* what --top FIELD, --where, ... add (or, with --only, all of it) */
	sl_plan_init(&plan);
	bool plan_given = false, only = false;
	time_t now = time(NULL);
	char spec[4096 + 1] = ""; /* the --field mappings */
	size_t nfields = 0;
	/* the inputs in order, each with the format option before it (-1:
	 * none), and the format options */
	/* (static: held to the end of the process, as the engine keeps the
	 * pointers) */
	static const char **inputs;
	static int *in_group;
	static fmt_group *groups;
	inputs = calloc((size_t)argc + 1, sizeof *inputs);
	in_group = calloc((size_t)argc + 1, sizeof *in_group);
	groups = calloc((size_t)argc + 1, sizeof *groups);
	size_t ninputs = 0, ngroups = 0;
	if (!inputs || !in_group || !groups) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_TROUBLE;
	}
	int c, li = -1;
	argv[0] = (char *)prog; /* getopt's messages name argv[0], as ours name prog */
	/* "-": inputs come in order (as 1), so that a -f applies to those after it */
	while ((c = getopt_long(argc, argv, "-m:j:f:o:n:qhV", longopts, &li)) != -1) {
		if (c != '?' && cli_long_in_full(prog, argv, longopts, li) < 0) {
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_TROUBLE;
		}
		li = -1;
		switch (c) {
		case 'm':
			memory_arg = optarg;
			if (cli_parse_memory(prog, optarg, &budget) < 0)
				return EXIT_TROUBLE;
			break;
		case 'j': {
			char *end;
			jobs = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || jobs < 1 || jobs > MAX_JOBS) {
				fprintf(stderr, "%s: invalid --jobs '%s' (1 to %d)\n", prog, optarg,
					MAX_JOBS);
				return EXIT_TROUBLE;
			}
			jobs_given = 1;
			break;
		}
		case 1: /* an input, in the format given last */
			in_group[ninputs] = (int)ngroups - 1;
			inputs[ninputs++] = optarg;
			if (ngroups)
				groups[ngroups - 1].inputs++;
			break;
		case 'f': {
			fmt_group g = {0};
			if (parse_format_name(optarg, &g.fmt, &g.inner) < 0)
				return EXIT_TROUBLE;
			groups[ngroups++] = g;
			break;
		}
		case OPT_LOG_FORMAT: {
			if (strlen(optarg) > 4096) {
				fprintf(stderr, "%s: --log-format: at most 4096 bytes\n", prog);
				return EXIT_TROUBLE;
			}
			fmt_group *last = ngroups ? &groups[ngroups - 1] : NULL;
			if (last && last->fmt == SL_FMT_SYSLOG && !last->inner && !last->log_format &&
			    !last->inputs) { /* -f syslog --log-format S: S inside syslog */
				last->log_format = optarg;
				break;
			}
			groups[ngroups++] = (fmt_group){.fmt = SL_FMT_CUSTOM, .log_format = optarg};
			break;
		}
		case OPT_FIELD: {
			size_t at = strlen(spec);
			if (at + strlen(optarg) + 2 > sizeof spec || !strchr(optarg, '=')) {
				fprintf(stderr, "%s: --field '%s': FIELD=KEY.PATH for JSON lines "
					"(client=ip, time=ts, ...)\n", prog, optarg);
				return EXIT_TROUBLE;
			}
			snprintf(spec + at, sizeof spec - at, "%s%s", at ? "\n" : "", optarg);
			nfields++;
			break;
		}
		case OPT_JSON: json = 1; break;
		case OPT_EXACT: eo.exact = true; break;
		case OPT_TMP: eo.tmpdir = optarg; break;
		case OPT_SAVE: save_path = optarg; break;
		case OPT_STATE: state_path = optarg; break;
		case 'o': output = optarg; break;
		case 'n':
			/* --top N rows, or --top FIELD: a top list over FIELD */
			if (optarg[0] >= 'a' && optarg[0] <= 'z') {
				if (cli_plan_item(prog, SL_ITEM_TOP, optarg, &plan) < 0)
					return EXIT_TROUBLE;
				plan_given = true;
				break;
			}
			top_arg = optarg;
			if (cli_parse_top(prog, optarg, &top_n) < 0)
				return EXIT_TROUBLE;
			break;
		case OPT_DISTINCT:
		case OPT_QUANTILES:
		case OPT_BY:
			if (cli_plan_item(prog,
					  c == OPT_DISTINCT ? SL_ITEM_DISTINCT
					  : c == OPT_BY	    ? SL_ITEM_GROUPS
							    : SL_ITEM_QUANTILES,
					  optarg, &plan) < 0)
				return EXIT_TROUBLE;
			plan_given = true;
			break;
		case OPT_WHERE:
			if (cli_plan_where(prog, optarg, &plan) < 0)
				return EXIT_TROUBLE;
			plan_given = true;
			break;
		case OPT_SINCE:
		case OPT_UNTIL: {
			int64_t t;
			if (cli_parse_when(prog, c == OPT_SINCE ? "--since" : "--until", optarg, now,
					   &t) < 0)
				return EXIT_TROUBLE;
			if (c == OPT_SINCE) {
				plan.has_since = true;
				plan.since = t;
			} else {
				plan.has_until = true;
				plan.until = t;
			}
			plan_given = true;
			break;
		}
		case OPT_ONLY: only = true; break;
		case OPT_SERIES:
			if (cli_parse_series(prog, optarg, &series) < 0)
				return EXIT_TROUBLE;
			break;
		case OPT_TZ:
			if (cli_parse_tz(prog, optarg, &tz) < 0)
				return EXIT_TROUBLE;
			tz_given = true;
			break;
		case OPT_4XX: eo.visitors_4xx = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("sluice %s\n", SLUICE_VERSION); return 0;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_TROUBLE;
		}
	}
	for (; optind < argc; optind++) { /* after "--" */
		in_group[ninputs] = (int)ngroups - 1;
		inputs[ninputs++] = argv[optind];
		if (ngroups)
			groups[ngroups - 1].inputs++;
	}
	/* Inputs before any format option take the first one given after
	 * them; when none is followed by an input, the last one is every
	 * input's (as -f always meant). */
	int first_used = -1;
	for (size_t g = 0; g < ngroups && first_used < 0; g++)
		if (groups[g].inputs)
			first_used = (int)g;
	for (size_t i = 0; i < ninputs; i++)
		if (in_group[i] < 0 || first_used < 0)
			in_group[i] = first_used >= 0 ? first_used : (int)ngroups - 1;
	if (!ninputs && ngroups) /* standard input, in the last format */
		in_group[0] = (int)ngroups - 1;
	if (nfields && ngroups == 1 && groups[0].fmt == SL_FMT_CUSTOM) {
		fprintf(stderr, "%s: --field maps JSON keys, not a format string\n", prog);
		return EXIT_TROUBLE;
	}
	/* each format's string or mappings, checked before any input */
	size_t used = 0;
	for (size_t g = 0; g < ngroups; g++) {
		fmt_group *G = &groups[g];
		if (group_spec(G, spec) < 0) {
			fprintf(stderr, "%s: out of memory\n", prog);
			return EXIT_TROUBLE;
		}
		bool reads = G->inputs || (int)g == in_group[0];
		used += reads;
		if (!reads)
			continue;
		if (G->log_format &&
		    cli_check_format(prog, SL_FMT_CUSTOM, G->log_format, "--log-format") < 0)
			return EXIT_TROUBLE;
		if (!G->log_format && spec[0] &&
		    (G->fmt == SL_FMT_AUTO || sl_format_is_json(G->fmt) ||
		     (G->inner && sl_format_is_json(sl_format_from_name(G->inner)))) &&
		    cli_check_format(prog, SL_FMT_JSON, spec, "--field") < 0)
			return EXIT_TROUBLE;
	}
	if (nfields && !ngroups && cli_check_format(prog, SL_FMT_JSON, spec, "--field") < 0)
		return EXIT_TROUBLE;
	if (ngroups) { /* one format, or the first one's */
		fmt_group *G = &groups[in_group[0]];
		eo.format = G->fmt;
		eo.format_spec = G->spec[0] ? G->spec : NULL;
	} else if (spec[0]) {
		eo.format_spec = spec;
	}
	if (only && !plan.nitems) {
		fprintf(stderr, "%s: --only reports only the items given: add --top FIELD, "
			"--distinct FIELD or --quantiles FIELD\n", prog);
		return EXIT_TROUBLE;
	}
	if (plan.has_since && plan.has_until && plan.since >= plan.until) {
		fprintf(stderr, "%s: --since is not before --until: no record could be counted\n",
			prog);
		return EXIT_TROUBLE;
	}
	if (plan_given || only) {
		plan.exact = eo.exact;
		eo.plan = &plan;
		eo.plan_adds = !only;
	}
	/* Every path the run will write is checked before any input is read
	 * (nothing is created or truncated until it is written whole). */
	if (output && cli_outfile_check(prog, output, SL_OUTFILE_THROUGH) < 0)
		return EXIT_TROUBLE;
	if (save_path && cli_outfile_check(prog, save_path, 0) < 0)
		return EXIT_TROUBLE;
	if (state_path && cli_outfile_check(prog, state_path, 0) < 0)
		return EXIT_TROUBLE;
	if (!ninputs && !quiet)
		cli_note_terminal_input(prog);
	/* State files given where logs would be: report from them. */
	int nstates = 0;
	for (size_t i = 0; i < ninputs; i++)
		nstates += is_state_file(inputs[i]);
	if (nstates && nstates == (int)ninputs) {
		char *av[24 + 1024];
		int ac = 0, nfiles = (int)ninputs;
		if (nfiles > 1024) {
			fprintf(stderr, "%s: too many state files; use '%s merge'\n", prog, prog);
			return EXIT_TROUBLE;
		}
		av[ac++] = "report";
		if (json)
			av[ac++] = "--json";
		if (output) {
			av[ac++] = "-o";
			av[ac++] = (char *)(uintptr_t)output;
		}
		if (top_arg) {
			av[ac++] = "-n";
			av[ac++] = (char *)(uintptr_t)top_arg;
		}
		if (memory_arg) {
			av[ac++] = "-m";
			av[ac++] = (char *)(uintptr_t)memory_arg;
		}
		char tz_arg[16];
		if (tz_given) {
			snprintf(tz_arg, sizeof tz_arg, "%c%02d:%02d", tz < 0 ? '-' : '+',
				 abs(tz) / 3600, abs(tz) / 60 % 60);
			av[ac++] = "--tz";
			av[ac++] = tz_arg;
		}
		static const char *const series_names[] = {"auto", "minute", "hour", "day"};
		if (series != CLI_SERIES_AUTO) {
			av[ac++] = "--series";
			av[ac++] = (char *)(uintptr_t)series_names[series];
		}
		if (quiet)
			av[ac++] = "-q";
		for (size_t i = 0; i < ninputs; i++)
			av[ac++] = (char *)(uintptr_t)inputs[i];
		av[ac] = NULL;
		/* getopt forgets the in-order mode of the loop above: glibc takes
		 * the mode of the first call after optind = 0, and the command
		 * then only sets optind = 1 */
		char *none[] = {(char *)prog, NULL};
		optind = 0;
		(void)getopt(1, none, "");
		return cmd_report(ac, av);
	}
	if (nstates) {
		fprintf(stderr, "%s: state files and logs given together: use --state FILE for the "
			"state, or '%s merge'\n", prog, prog);
		return EXIT_TROUBLE;
	}

	/* The run: the engine plans, reads and merges; it prints nothing, so
	 * its notes, each input's trouble and its refusals are printed here,
	 * in the order the run met them. */
	screen_t screen = {.quiet = quiet, .jobs_given = jobs_given};
	eo.budget = budget;
	eo.jobs = (int)jobs;
	eo.tmpdir = cli_tmpdir(eo.tmpdir);
	eo.top_n = (size_t)top_n;
	eo.state_path = state_path;
	eo.want_facts = save_path || state_path;
	eo.note = on_note;
	eo.ud = &screen;
	if (!quiet && isatty(STDERR_FILENO))
		eo.progress = on_progress;
	clock_gettime(CLOCK_MONOTONIC, &screen.start);
	sl_engine *e = NULL;
	/* a format per input: the engine reads them into one report (it
	 * copies the formats and keeps the spec pointers) */
	sl_format *in_fmts = used > 1 ? calloc(ninputs, sizeof *in_fmts) : NULL;
	const char **in_specs = used > 1 ? calloc(ninputs, sizeof *in_specs) : NULL;
	if (used > 1 && (!in_fmts || !in_specs)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		free(in_fmts);
		free(in_specs);
		return EXIT_TROUBLE;
	}
	for (size_t i = 0; in_fmts && i < ninputs; i++) {
		in_fmts[i] = groups[in_group[i]].fmt;
		in_specs[i] = groups[in_group[i]].spec;
	}
	eo.input_formats = in_fmts;
	eo.input_specs = in_specs;
	sl_status st = sl_engine_run(&e, &eo, inputs, ninputs);
	free(in_fmts);
	free(in_specs);
	progress_clear(&screen);
	if (!e) {
		fprintf(stderr, "%s: %s\n", prog, sl_strerror(st));
		return EXIT_TROUBLE;
	}

	/* an input that failed was named as it ended (on_note) */
	int status = 0;
	size_t nall, nread;
	const cli_input *all = sl_engine_inputs(e, &nall, &nread);
	for (size_t i = 0; i < nread; i++)
		if (all[i].error)
			status = EXIT_TROUBLE;
	sl_report *rep = sl_engine_report(e);
	if (st != SL_OK)
		fprintf(stderr, "%s: %s\n", prog, sl_engine_error(e));
	if (st != SL_OK || !rep) { /* refused, or every input failed and said so */
		sl_engine_free(e);
		return EXIT_TROUBLE;
	}

	sl_budget *mem = sl_engine_budget(e);
	sl_topk_row *rows = NULL;
	size_t nrows = 0;
	if (save_path || state_path) {
		size_t nfacts;
		const sl_state_input *facts = sl_engine_facts(e, &nfacts);
		const char *targets[2] = {save_path, state_path};
		for (int k = 0; k < 2; k++) {
			int err = 0;
			if (!targets[k] || (k == 1 && save_path && !strcmp(save_path, state_path)))
				continue;
			st = sl_state_save(targets[k], mem, rep, facts, nfacts, budget,
					   sl_engine_peak(e), &err);
			if (st != SL_OK) {
				fprintf(stderr, "%s: %s: cannot save the state: %s\n", prog, targets[k],
					st == SL_EIO ? strerror(err) : sl_strerror(st));
				status = EXIT_TROUBLE;
			}
		}
	}

	/* Rows for the top lists: no list holds more than its capacity. */
	nrows = sl_report_max_rows(rep, (size_t)top_n);
	rows = nrows ? sl_calloc(mem, nrows, sizeof *rows) : NULL;
	if (nrows && !rows) {
		fprintf(stderr, "%s: no memory left in the budget for %zu rows\n", prog, nrows);
		{ status = EXIT_TROUBLE; goto done; }
	}

	cli_view v = {
		.report = rep,
		.inputs = all,
		.ninputs = nall,
		.top_n = nrows,
		.rows = rows,
		.budget = budget,
		.peak = sl_engine_peak(e),
		.series = series,
		.tz_given = tz_given,
		.tz_offset = tz,
	};
	FILE *out = stdout;
	sl_outfile of;
	if (output) { /* written beside, renamed over whole: never half a report */
		json = cli_ends_with(output, ".json");
		out = cli_outfile_fopen(prog, &of, output, SL_OUTFILE_THROUGH);
		if (!out) {
			status = EXIT_TROUBLE;
			goto done;
		}
	}
	int rc = json ? render_json(out, &v) : render_text(out, &v);
	if (output) {
		if (cli_outfile_fclose(prog, &of, out, output, rc >= 0) < 0)
			status = EXIT_TROUBLE;
	} else if (rc < 0 || fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "%s: standard output: write error: %s\n", prog, strerror(errno));
		status = EXIT_TROUBLE;
	}
	/* after the report, so that it stays on screen */
	if (!quiet)
		cli_print_samples(prog, rep, all);
	if (cli_check_parsed(prog, rep, sl_engine_format(e) == SL_FMT_AUTO))
		status = EXIT_TROUBLE;
done:
	sl_free(mem, rows, nrows * sizeof *rows);
	sl_engine_free(e);
	return status;
}
