/*
 * cli.h: what the sluice program's files share (programs/ is the program;
 * it uses libsluice through include/sluice.h only, as any user would).
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <time.h>
#include <string.h>

#include "sluice.h"

/* The version the programs print: the library's. */
#define SLUICE_VERSION sl_version()

/* One input named on the command line: what the engine says of it
 * (path, error, resumed_at, bytes_read; sluice.h). */
typedef sl_engine_input cli_input;

/* Everything a renderer needs besides the report itself. */
typedef struct {
	const sl_report *report;
	const cli_input *inputs;
	size_t ninputs;
	size_t top_n;        /* rows per top list */
	sl_topk_row *rows;   /* room for top_n rows (NULL when top_n is 0) */
	size_t budget;       /* bytes */
	size_t peak;         /* bytes */
	int series;          /* text time series rows: CLI_SERIES_* */
	bool tz_given;       /* --tz: show times at tz_offset, not the log's */
	int32_t tz_offset;   /* seconds east of UTC */
} cli_view;

/* --series: the text report's time-series rows (auto: minutes for a span up
 * to 48 minutes, hours up to 48 hours, else days). */
enum { CLI_SERIES_AUTO, CLI_SERIES_MINUTE, CLI_SERIES_HOUR, CLI_SERIES_DAY };

/* Renderers: write the whole report to out. Return 0, or -1 on an output
 * error (errno set). */
int render_text(FILE *out, const cli_view *v);
int render_json(FILE *out, const cli_view *v);

/*
 * Subcommands: `sluice NAME ARGS...` calls cmd_NAME(argc, argv) with argv[0]
 * = NAME. Each returns the process exit status (0 ok, 1 for "differences"
 * where a command defines it, 2 trouble). One file per command:
 * programs/cmd_<name>.c.
 */
int cmd_sort(int argc, char **argv);   /* programs/cmd_sort.c */
int cmd_dedup(int argc, char **argv);  /* programs/cmd_dedup.c */
int cmd_merge(int argc, char **argv);  /* programs/cmd_state.c */
int cmd_report(int argc, char **argv); /* programs/cmd_state.c */

/* Sets the C library's allocation policy for a run (programs/cli_io.c):
 * one arena for all threads, blocks of 32 KiB and more mapped on their own,
 * no padding at the heap's top; it keeps the peak RSS near the budget.
 * Call it first in main, before any allocation. Does nothing outside
 * glibc. */
void cli_malloc_policy(void);

/* Length of the well-formed UTF-8 sequence at s[0 .. n-1] (RFC 3629), or 0. */
size_t cli_utf8_seq(const unsigned char *s, size_t n);

/* Prints p[0 .. n-1] for a terminal: control bytes and bytes that are not
 * well-formed UTF-8 as \xNN, at most `width` columns (roughly: one per code
 * point, four per escape). Returns the bytes consumed (< n when cut). */
size_t cli_print_safe(FILE *o, const char *p, size_t n, size_t width);

/* Writes the report's malformed-line samples to stderr, after the report:
 * one compact "PROG: FILE:LINE: malformed (WHY): TEXT" each (TEXT through cli_print_safe,
 * cut to one terminal line), then the total when there were more
 * (programs/cli_io.c). */
void cli_print_samples(const char *prog, const sl_report *rep, const cli_input *inputs);

/* Option values shared by the commands. Each stores the value and returns
 * 0, or prints "PROG: invalid ..." to stderr and returns -1.
 *   cli_parse_memory: a size with K/M/G suffixes, above 0 (-m);
 *   cli_parse_separator: exactly one byte (-t). */
int cli_parse_memory(const char *prog, const char *text, size_t *out);
int cli_parse_separator(const char *prog, const char *text, int *out);

/* --top N (0 to 100000 rows): store and return 0, or print "PROG: invalid
 * --top 'N'" and -1. */
int cli_parse_top(const char *prog, const char *text, long *out);

/* --series NAME (minute, hour, day) and --tz (UTC, Z or [+-]HH[:]MM, at
 * most 14:59): store and return 0, or print "PROG: invalid ..." and -1. */
int cli_parse_series(const char *prog, const char *text, int *out);
int cli_parse_tz(const char *prog, const char *text, int32_t *out);

/* The plan options (programs/cli_plan.c). Each prints "PROG: ..." and
 * returns -1 on an error, else adds to p and returns 0:
 *   cli_plan_item   --top FIELD (kind SL_ITEM_TOP), --distinct F[,F...]
 *                   (SL_ITEM_DISTINCT), --quantiles FIELD (SL_ITEM_QUANTILES),
 *                   --by FIELD (SL_ITEM_GROUPS); the item is named top_FIELD,
 *                   distinct_F_G, quantiles_FIELD, by_FIELD
 *   cli_plan_where  --where EXPR (sl_filter_parse; a caret marks the error)
 * cli_parse_when: --since/--until T: ISO 8601 (a date alone: its UTC
 * midnight), the log's own form, Unix seconds, -30m/-1h/-2d/-1w before now,
 * now, today, yesterday (local midnights). */
int cli_plan_item(const char *prog, int kind, const char *arg, sl_plan *p);
int cli_plan_where(const char *prog, const char *expr, sl_plan *p);
int cli_parse_when(const char *prog, const char *opt, const char *text, time_t now, int64_t *out);
/* --log-format STRING or --field mappings: 0 if a parser of fmt takes spec,
 * else prints why (with a caret under the place, as opt) and returns -1. */
int cli_check_format(const char *prog, sl_format fmt, const char *spec, const char *opt);

/* getopt_long takes any unambiguous prefix of a long option ("--stat" for
 * "--state"): a typo then silently means another option. Call this right
 * after a getopt_long call that set longindex (>= 0; set it to -1 before
 * each call): it finds the argument getopt_long just took (through optind
 * and optarg) and returns 0 when it spells opts[longindex].name in full,
 * else prints "PROG: option '--stat' is not spelled in full (did you mean
 * --state?)" and returns -1. */
int cli_long_in_full(const char *prog, char **argv, const struct option *opts, int longindex);

/* When standard input is a terminal and is the only input, says on stderr
 * what the program waits for (a bare "sluice" otherwise looks hung). */
void cli_note_terminal_input(const char *prog);

/* Exit-status check of a run (programs/sluice.c, cmd_state.c): when an
 * access-log report parsed no line at all but saw malformed ones, says on
 * stderr which format was tried and which one the lines look like (from
 * the malformed samples) and returns 2; else returns 0. */
int cli_check_parsed(const char *prog, const sl_report *rep, bool detected);

/* A field number N >= 1 (-k N), digits only: 0, or -1 (nothing printed). */
int cli_parse_field(const char *text, uint32_t *out);

/* Does s end with suffix? */
int cli_ends_with(const char *s, const char *suffix);

/* The directory for temporary files: given if not NULL, else $TMPDIR if set
 * and not empty, else /tmp (programs/cli_io.c). */
const char *cli_tmpdir(const char *given);

/* A buffered writer of lines to a descriptor (programs/cli_io.c). The
 * caller owns buf. Functions return 0, or -1 with errno set. */
typedef struct {
	char *buf;
	size_t cap, len;
	int fd;
} cli_out;

int cli_write_all(int fd, const char *p, size_t n);
int cli_out_flush(cli_out *o);

/* Writes p[0 .. n-1] and a newline; a line longer than the buffer is
 * written through (its newline stays buffered). */
static inline int cli_out_line(cli_out *o, const char *p, size_t n)
{
	if (n + 1 > o->cap - o->len) {
		if (cli_out_flush(o))
			return -1;
		if (n + 1 > o->cap) {
			if (cli_write_all(o->fd, p, n))
				return -1;
			o->buf[o->len++] = '\n';
			return 0;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->buf[o->len + n] = '\n';
	o->len += n + 1;
	return 0;
}

/*
 * Signals (programs/cli_signals.c): SIGHUP, SIGINT and SIGTERM, unless
 * ignored at startup, remove the temporaries of the files being written
 * (sl_outfile_signal_cleanup) and end the process by the same signal, so a
 * shell reports 130 or 143 as for coreutils. Call once, early; calling again
 * is harmless.
 */
void cli_signals_install(void);

/*
 * Output files for -o (programs/cli_io.c): opens an sl_outfile for path
 * (new files mode 0666 less the umask; flags as sl_outfile_open) and
 * returns 0, or prints "PROG: PATH: WHY" and returns -1. cli_outfile_check
 * only checks (before any input is read); cli_outfile_commit commits and
 * prints on failure.
 */
int cli_outfile_check(const char *prog, const char *path, int flags);
int cli_outfile_open(const char *prog, sl_outfile *f, const char *path, int flags);
int cli_outfile_commit(const char *prog, sl_outfile *f, const char *path);

/*
 * The same for a renderer writing to a FILE: cli_outfile_fopen opens f as
 * cli_outfile_open does and returns a stdio stream on (a duplicate of) its
 * descriptor, or NULL after printing why. cli_outfile_fclose closes the
 * stream and, when ok (the rendering succeeded) and the stream flushed,
 * commits f; else abandons it, leaving path as it was. Returns 0, or -1
 * after printing "PROG: PATH: write error: ..." or the commit's error.
 */
FILE *cli_outfile_fopen(const char *prog, sl_outfile *f, const char *path, int flags);
int cli_outfile_fclose(const char *prog, sl_outfile *f, FILE *out, const char *path, int ok);

/* "(standard input)" for "-", else the path. */
const char *cli_input_name(const char *path);

/*
 * State files (programs/cmd_state.c), for `sluice merge` and `sluice report`.
 * Prints its own message naming the file and returns 0, or 2 (the exit
 * status) on failure.
 *
 * state_load: decodes the state at path ("-": all of standard input, read
 * into a buffer from b) into *out (sl_state_free), with a report of at least
 * report_bytes (0: the recorded size).
 */
int state_load(const char *path, sl_budget *b, size_t report_bytes, sl_state **out);

#endif
