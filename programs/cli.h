/*
 * cli.h: what the sluice program's files share (programs/ is the program;
 * it uses libsluice through include/sluice.h only, as any user would).
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdio.h>
#include <string.h>

#include "sluice.h"

#define SLUICE_VERSION "0.1.0"

/* One input named on the command line. */
typedef struct {
	const char *path;   /* as given; "-" is standard input */
	const char *error;  /* NULL, or why it could not be (fully) read */
	uint64_t resumed_at; /* --state: content bytes an earlier run counted */
	uint64_t bytes_read; /* content bytes read by this run */
} cli_input;

/* Everything a renderer needs besides the report itself. */
typedef struct {
	const sl_report *report;
	const cli_input *inputs;
	size_t ninputs;
	size_t top_n;        /* rows per top list */
	sl_topk_row *rows;   /* room for top_n rows (NULL when top_n is 0) */
	size_t budget;       /* bytes */
	size_t peak;         /* bytes */
} cli_view;

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

/* Length of the well-formed UTF-8 sequence at s[0 .. n-1] (RFC 3629), or 0. */
size_t cli_utf8_seq(const unsigned char *s, size_t n);

/* Prints p[0 .. n-1] for a terminal: control bytes and bytes that are not
 * well-formed UTF-8 as \xNN, at most `width` columns (roughly: one per code
 * point, four per escape). Returns the bytes consumed (< n when cut). */
size_t cli_print_safe(FILE *o, const char *p, size_t n, size_t width);

/* Writes the report's malformed-line samples to stderr, one "PROG: FILE:LINE:
 * malformed line (WHY): TEXT" each (TEXT through cli_print_safe), then the
 * total when there were more (programs/cli_io.c). */
void cli_print_samples(const char *prog, const sl_report *rep, const cli_input *inputs);

/* Option values shared by the commands. Each stores the value and returns
 * 0, or prints "PROG: invalid ..." to stderr and returns -1.
 *   cli_parse_memory: a size with K/M/G suffixes, above 0 (-m);
 *   cli_parse_separator: exactly one byte (-t). */
int cli_parse_memory(const char *prog, const char *text, size_t *out);
int cli_parse_separator(const char *prog, const char *text, int *out);

/* A field number N >= 1 (-k N), digits only: 0, or -1 (nothing printed). */
int cli_parse_field(const char *text, uint32_t *out);

/*
 * The message for an input whose read failed with st (err: the errno of an
 * SL_EIO), as one line without a newline, into buf (cap > 0); returns buf.
 * For SL_ENOMEM, need is sl_input_need() of the failed input: 0 (unknown)
 * gives the old generic text, UINT64_MAX says no budget can decode it, any
 * other value is named ("needs 2.5 MiB (2,652,288 bytes)", KiB below 1 MiB);
 * suggest, when not 0, is a --memory value that would do, printed rounded up
 * to whole MiB (programs/cli_io.c).
 */
const char *cli_input_error_text(char *buf, size_t cap, sl_status st, int err,
				 uint64_t need, uint64_t suggest);

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

/* "(standard input)" for "-", else the path. */
const char *cli_input_name(const char *path);

/*
 * State files (programs/cmd_state.c), for the main run's --save / --state.
 * Each prints its own message naming the file and returns 0, or 2 (the exit
 * status) on failure.
 *
 * state_fingerprint: fills dev, ino, size, head_hash and head_len of *out
 * for the file at path ("-": all zero); leaves path, error and consumed.
 * Returns 0, or -1 with errno set (prints nothing).
 * state_save_report: saves r and the inputs to path atomically (temp file,
 * fsync, rename). facts[i] (may be NULL: then each input is fingerprinted
 * now and consumed is 0) gives the per-input figures; path and error come
 * from inputs[i]. budget and peak are the run's. Memory from b: the encoded
 * state plus n entries.
 * state_load: decodes the state at path into *out (sl_state_free), with a
 * report of at least report_bytes (0: the recorded size).
 */
int state_fingerprint(const char *path, sl_state_input *out);
int state_save_report(const char *path, sl_budget *b, const sl_report *r,
		      const cli_input *inputs, const sl_state_input *facts, size_t n,
		      size_t budget, size_t peak);
int state_load(const char *path, sl_budget *b, size_t report_bytes, sl_state **out);

#endif
