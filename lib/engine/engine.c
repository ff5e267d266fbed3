/*
 * engine.c: a whole run (sl_engine_*): the budget plan, the probe of the
 * inputs, the reader and its per-worker block queues, byte ranges, the
 * worker threads, --state resume and the final merge. The caller (the
 * sluice command, a server, a test) gives options and paths and gets one
 * report back; nothing here prints.
 *
 * Call order: sl_engine_run (which plans, loads the state, reads and
 * merges) -> read the results (sl_engine_report, _inputs, _facts, _peak)
 * -> sl_engine_free. Inside sl_engine_run:
 *
 *   1. drop_same_files   with state facts wanted, names of one file (same
 *                        device and inode) are read once, with a note
 *   2. plan              the physical-memory check, the HLL precision (from
 *                        the budget alone), probe_inputs (the decoder
 *                        reserve), plan_jobs (workers, buffers, shares);
 *                        refused (SL_EBUDGET) before any input is read
 *   3. resume            the state is loaded into its own child budget, and
 *                        the other workers are planned around what it holds
 *                        (fewer of them if needed); its inputs are matched
 *                        with this run's (match_inputs)
 *   4. read              each input, in ranges or through the reader
 *   5. merge             the workers' reports into worker 0's, in worker
 *                        order, after the read buffers are freed
 *   6. finish            --exact's tables, the per-input results, the state
 *                        facts
 *
 * Work is shared among the workers, each with its own sl_report in its own
 * share of the budget; at the end the reports are merged with
 * sl_report_merge, so every exact figure is the same for any job count and
 * the HLL registers too. Two ways to share:
 *
 *   ranges   a plain regular file of at least RANGE_MIN bytes is cut into
 *            byte ranges (chunks of at least CHUNK_MIN bytes, up to
 *            CHUNKS_PER_JOB per worker, a multiple of the workers), and
 *            worker i reads chunks i, i + jobs, i + 2 jobs, ...: a fixed
 *            assignment, so the output never depends on thread timing. A
 *            line belongs to the chunk holding its first byte: a worker
 *            skips the partial line at a chunk's start and finishes the line
 *            that crosses its end. Each worker reads with pread through its
 *            own buffer. A chunk's samples are taken under a stand-in input
 *            id (CHUNK_ID + chunk) with line numbers relative to the chunk;
 *            once every chunk's line count is known they are shifted and
 *            given the input's id (one line counter per chunk, from the
 *            budget). A CSV or TSV file's header row (find_header: the
 *            first line of the file's first buffer that its parser takes as
 *            a header, as a reading in order would) is read again into the
 *            parser of every chunk that starts after it (header_again, a
 *            pread of that row), counted nowhere: the chunk holding it
 *            counts it once, and the lines before it are malformed there,
 *            as in order.
 *   reader   stdin, pipes, compressed and small files: the calling thread
 *            reads and decompresses, fills a pool buffer whole (so blocks
 *            are cut at the same places however a pipe delivers its bytes)
 *            after the line the last buffer ended in, pushes it into the
 *            framer (lib/io/framer.c), which numbers the lines and gives
 *            runs of whole lines (one per buffer, or more around an
 *            oversized line), and hands run k to worker k % jobs through
 *            that worker's queue: where a block ends and who reads it
 *            depend on the bytes only. With one job there is no queue:
 *            runs are fed directly.
 *
 * Read again by one worker (sl_engine_run, again_alone): workers' tables
 * hold the keys each worker met, so a key met by several is held several
 * times, and a table one worker would have kept exact can degrade in a
 * share. When some distinct, top, group table or quantile sketch ended
 * inexact and the
 * inputs are regular files read whole, of at most SL_ENGINE_AGAIN times
 * the budget, the run is made again with one worker and that one is
 * returned: those inputs get the one-worker answer at every job count,
 * for the price of reading them twice (a few times the budget at most).
 *
 * Determinism: besides the fixed assignments above, the merge happens after
 * every thread has ended, and the peak the report states (run_peak) is the
 * larger of two figures that do not depend on how the threads' allocations
 * interleave: for the threaded part, the sum of every part's own peak (an
 * upper bound), and from the merge on, when one thread allocates, the root
 * budget's own peak.
 *
 * The budget covers everything but the handle. The split:
 *
 *     buffers   (jobs + 1) buffers (jobs when every input will be read in
 *               ranges: no queue; 1 with one job) of max(2 * SL_LINE_MAX,
 *               budget / 8 / buffers, capped at 1 MiB) bytes, the framers
 *               included (see Lines below)
 *     decoders  the reserve: what the hungriest input's decoder takes, found
 *               before planning by opening each named file and reading a
 *               little (probe_inputs; gzip ~105 KiB, zstd ~2.3 MiB at the
 *               zstd tool's default level); a quarter of the budget for
 *               stdin and other streams. Decoders draw on it alone (a child
 *               budget), so they never take the reports' memory; an input
 *               whose decoder does not fit fails with a message asking for
 *               more memory, and the others are still read
 *     reports   the rest, split evenly among the workers; with a state,
 *               worker 0's report is the state's and holds what the state
 *               holds (or a worker's share, if more), the others share the
 *               rest
 *
 * If the wanted job count does not fit, fewer workers are used (with a
 * note); a budget too small for even one is refused before any input is
 * read.
 *
 * Lines: every input is framed by a framer (one per worker; worker 0's
 * also serves the reader) with max_line SL_LINE_MAX: a longer line is
 * skipped and counted oversized there, once, and keeps its number. A
 * framer keeps the line a buffer ends in (up to SL_LINE_MAX bytes) in
 * FRAMER_BYTES of storage; the framers and their storage are carved from
 * the buffers' part of the split above (allocate()), so a buffer reads a
 * little less than planned and the reports' shares are untouched. A buffer
 * still holds more than SL_LINE_MAX bytes besides the line carried into
 * it, so every read makes progress.
 *
 * Threads: the calling thread plans, reads (reader mode) and merges;
 * workers only feed their own report (and, in ranges, read their chunks).
 * The progress and note callbacks are called from the calling thread, which
 * alone reads the caller's cancel flag and turns it into `stop`, an atomic
 * the workers check between reads.
 *
 * Formats: one for the run (opts.format, detected from the first input's
 * head for -f auto), or one per input (opts.input_formats): then, unless
 * they are all one, resolve_formats lists them in a mix (sl_format_mix_add;
 * -f auto inputs detected each from its own head), every worker's report
 * holds one parser per format, and each block, chunk or direct feed
 * selects its input's format first (select_unit): which lines a worker
 * reads and in which format depend on the bytes only, as above. The
 * header-driven formats (w3c, cloudfront, csv, tsv) program their parser
 * with a header line. CSV and TSV have it once, as their first row: a
 * plain file of them read in ranges gives each chunk that row first (see
 * ranges above); other CSV/TSV inputs (streams, compressed, small or
 * resumed files, a header row past the first buffer) are read in order by
 * worker 0 (one_worker), and a run none of whose inputs can be split has
 * one worker. W3C and CloudFront may change their #Fields mid-file: a run
 * of one of them has one worker, and in a mix their inputs go to worker 0.
 * A format found on a stream's first data is read by worker 0 too, and a
 * resumed input's header is read again from its start (resumed_header)
 * before its new lines.
 *
 * Messages: nothing is printed. A refusal is a status and one line of text
 * (fail(): the first one is kept); notes (a name dropped as the same file,
 * fewer workers than asked, an input that failed) go to the note callback
 * as they happen; each input's error stays in its sl_engine_input. The
 * texts are the ones the sluice command prints after "sluice: ", so they
 * name its options (--memory, -f, --4xx-visitors).
 */
#include "sluice.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STREAM_RESERVE ((size_t)128 << 10) /* decoders of unnamed inputs: gzip fits */
#define MIN_RESERVE ((size_t)4 << 10)	     /* the least decoder reserve */
#define MAX_LINE_BUFFER ((size_t)1 << 20)
#define FRAMER_BYTES ((size_t)SL_LINE_MAX + 1) /* a framer's storage */

#define MAX_JOBS SL_ENGINE_MAX_JOBS
#define RANGE_MIN ((uint64_t)4 << 20)
#define CHUNK_MIN ((uint64_t)1 << 20)
#define CHUNKS_PER_JOB 32
#define MAX_CHUNKS 1024
_Static_assert(MAX_JOBS <= MAX_CHUNKS, "every worker can have a chunk");
#define CHUNK_ID 0x80000000u	/* sample input ids while reading chunks */
#define REPORT_SLACK (16 * 1024) /* per worker: a range input, a loaded state's inputs */
#define TEXT_MAX 8448		 /* a message naming up to two paths */
#define SPEC_MAX 4096		 /* a format spec, as a state file's meta holds */

typedef struct sl_engine run_t;
typedef sl_engine_input input_t;

/* A block of complete lines handed to a worker. */
typedef struct {
	char *buf;	     /* a pool buffer, returned when done; NULL = stop */
	size_t off, len;
	uint32_t input;
	uint64_t lines_before; /* lines of this input before the block */
	bool header;	     /* a resumed input's header line, read again */
} block_t;

/* What a run knows of one input for state files (--save, --state). */
typedef struct track {
	sl_state_input fp;  /* identity: dev, ino, size, head of the content */
	uint64_t skip;	    /* content bytes already counted by the loaded state */
	uint64_t skip_lines; /* the lines in them (0: unknown, a version-1 state) */
	uint64_t lines;	    /* lines counted in all, skip_lines included */
	uint64_t content;   /* content bytes read this run */
	uint64_t unfed;	    /* of which, an unterminated last line left for later */
	/* a mix of formats: this run's records of the input that parsed
	 * (requests and filtered) and that did not (malformed) */
	_Atomic uint64_t good, bad;
} track_t;

/* A worker's queue of blocks (the reader hands block k to worker k % jobs,
 * so which lines a worker sees never depends on thread timing). */
typedef struct {
	block_t *ring;
	size_t head, len, cap;
} queue_t;

typedef struct {
	run_t *run;
	int index;	     /* 0 .. jobs - 1 */
	sl_budget budget;
	sl_report *report;
	pthread_t tid;
	queue_t queue;	     /* blocks for this worker (reader mode) */
	/* range job */
	input_t *in;
	uint64_t start, end; /* the lines starting in [start, end) are this chunk's */
	char *buf;
	uint64_t lines;	     /* lines read in the chunk */
} worker_t;

struct sl_engine {
	sl_budget self;	     /* the handle's own root: the handle alone */
	size_t self_bytes;
	sl_engine_opts opts;
	const char **paths;  /* the inputs, after drop_same_files (in the handle) */
	size_t ninputs;
	/* a format per input (opts.input_formats; in the handle, beside paths):
	 * as given, then each input's unit in the mix */
	const char **in_spec;
	sl_format *in_fmt;
	uint32_t *unit;
	bool mixed;	     /* the inputs are read in several formats: spec is a mix */
	const char *spec;    /* the reports' format spec: opts.format_spec, or mix */
	char mix[SPEC_MAX + 1];
	bool unit_stateful[SL_FORMAT_MIX_MAX]; /* the unit's header lines program it */
	bool one_worker;     /* the input being read goes to worker 0 alone */
	/* the CSV/TSV input read in ranges: its header row, given to the
	 * parser of every chunk after it (header_len 0: none) */
	uint64_t header_at;
	size_t header_len;
	sl_status status;
	char error[TEXT_MAX];
	bool sync_init;	     /* mu, cv, finished_cv initialized */

	sl_budget budget;
	sl_budget own;	     /* child of budget: what the calling thread allocates */
	sl_budget state_mem; /* child of budget: the loaded --state (worker 0's report) */
	size_t held;	     /* bytes that report may hold; 0 without a state */
	size_t threads_peak; /* parts_peak() when the threads had ended */
	bool merged;	     /* merge() has begun: the root's peak counts from there */
	sl_budget decoders;  /* child of budget: the inputs' decoders (the reserve) */
	sl_format format;
	int jobs;
	size_t share;	     /* report bytes per worker */
	int exact;
	int incremental;     /* --state: leave an unterminated last line for next time */
	struct track *track; /* per input: where to start, what was read */
	sl_state *loaded;    /* --state FILE as it was, its report is worker 0's */
	const char *state_path;
	int format_from_state; /* format auto, and the format came from the state */
	bool format_peeked;    /* format auto, and found in the first input's head */
	const char *tmpdir;
	size_t top_n;
	int hll_p;	     /* the same for every worker, whatever the job count */
	sl_plan plan;	     /* the caller's plan, if plan_given */
	bool plan_given;
	size_t cap;	     /* bytes per buffer */
	int nbuf;
	char **pool;
	worker_t *workers;
	/* the reader's queues (one per worker, in the workers) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	block_t *rings;	     /* jobs rings of qcap blocks each */
	size_t qcap;
	uint64_t blocks;     /* blocks handed out: the next goes to blocks % jobs */
	char **free_bufs;
	int nfree;
	int users[MAX_JOBS + 1]; /* under mu: per pool buffer, the reader and
				  * the blocks in it (free at 0) */
	sl_framer *framers;  /* one per worker (worker 0's also the reader's),
			      * framers_bytes from own */
	size_t framers_bytes;
	/* oversized lines the reader skipped, for worker 0 at the end */
	uint64_t reader_oversized;
	/* progress */
	uint64_t total;	     /* bytes of all regular-file inputs, 0 if unknown */
	uint64_t done;	     /* bytes of inputs finished */
	_Atomic uint64_t in_flight; /* bytes of the current input so far */
	int finished;		     /* under mu: range workers done with the input */
	pthread_cond_t finished_cv;  /* signalled as each range worker ends */
	pthread_mutex_t error_mu;    /* the first error of an input wins */
	/* the current input's chunks (ranges) */
	uint64_t size;
	uint32_t nchunks;
	_Atomic int failed;	     /* a chunk could not be read: claim no more */
	_Atomic int stop;	     /* canceled: read no more */
	uint64_t *chunk_lines;	     /* max_chunks line counts (from the budget) */
	uint32_t max_chunks;

	/* results */
	input_t *inputs, *all;	     /* all: the inputs the report speaks of */
	size_t nall;		     /* this run's, then the state's unseen */
	sl_state_input *facts;
	uint32_t *map;
	size_t nmap;
	sl_report *rep;
	bool readable;		     /* a report to give */
};

/* The run fails with st and a message (the first one is kept). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static sl_status fail(run_t *r, sl_status st, const char *fmt, ...)
{
	if (r->status == SL_OK) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof r->error, fmt, ap);
		va_end(ap);
		r->status = st;
	}
	return st;
}

static void note(const run_t *r, sl_engine_note_kind kind, const char *text)
{
	if (r->opts.note)
		r->opts.note(r->opts.ud, kind, text);
}

static bool canceled(run_t *r)
{
	if (r->opts.cancel && *r->opts.cancel)
		atomic_store(&r->stop, 1);
	return atomic_load(&r->stop) != 0;
}

static void progress(run_t *r)
{
	if (r->opts.progress)
		r->opts.progress(r->opts.ud, r->done + atomic_load(&r->in_flight), r->total);
}

static uint64_t report_lines(const sl_report *rep)
{
	sl_report_counts c;
	sl_report_get_counts(rep, &c);
	return c.lines;
}

/* The least one worker's report needs under the run's plan: the custom
 * plan's, or the larger of the default ones (the format may be detected
 * later). */
static size_t report_min(const run_t *r)
{
	size_t parser = r->mixed ? sl_parser_reserve(r->format, r->spec)
			: sl_format_is_classic(r->format) || r->format == SL_FMT_LINES ||
					r->format == SL_FMT_AUTO
				? 0
				: SL_REPORT_PARSER_BYTES;
	if (r->plan_given)
		return sl_report_plan_min_bytes(&r->plan, r->hll_p, r->top_n) + parser;
	return parser +
	       (r->exact ? sl_report_min_bytes_exact(r->top_n) : sl_report_min_bytes_p(r->hll_p));
}

/* The plan of a report of format fmt: the caller's, or the format's
 * default with the run's visitors rule and --exact. */
static void run_plan(const run_t *r, sl_format fmt, sl_plan *p)
{
	if (r->plan_given && !r->opts.plan_adds) {
		*p = r->plan;
		return;
	}
	sl_plan_default(p, fmt, r->opts.visitors_4xx);
	p->exact = r->exact;
	if (!r->plan_given)
		return;
	/* the additions (their names were checked against the default's by
	 * check_plan) */
	for (uint32_t i = 0; i < r->plan.nitems; i++)
		sl_plan_add(p, &r->plan.item[i], NULL);
	for (uint32_t i = 0; i < r->plan.nfilters; i++)
		sl_plan_add_filter(p, &r->plan.filter[i], NULL);
	p->has_since = r->plan.has_since;
	p->has_until = r->plan.has_until;
	p->since = r->plan.since;
	p->until = r->plan.until;
}

static bool parser_has(const void *ud, sl_field f)
{
	return sl_parser_has_field(ud, f);
}

static const char *input_name(const char *path);

/* The caller's plan against format fmt with its spec: its fields (the
 * additions' only: the default plan shows absent fields empty), and that
 * the additions fit the default plan; and the format's spec. b: where the
 * check's parser lives for a moment; input: the input read in this format
 * (named in the message), or NULL. 0, or -1 after fail(). */
static int check_plan(run_t *r, sl_budget *b, sl_format fmt, const char *spec, const char *input)
{
	sl_parser *p = NULL;
	char of[TEXT_MAX] = "";
	if (input)
		snprintf(of, sizeof of, " of %s", input_name(input));
	if (!sl_format_is_classic(fmt) && fmt != SL_FMT_LINES) {
		size_t at = 0;
		const char *why = NULL;
		sl_status st = sl_parser_new(&p, b, fmt, spec, &at, &why);
		if (st != SL_OK) {
			fail(r, st, "format %s%s: %s", sl_format_name(fmt), of,
			     why ? why : sl_strerror(st));
			return -1;
		}
	}
	if (!r->plan_given) {
		sl_parser_free(p);
		return 0;
	}
	sl_field missing;
	sl_status cst = p ? sl_plan_check_with(&r->plan, parser_has, p, &missing)
			  : sl_plan_check(&r->plan, fmt, &missing);
	sl_parser_free(p);
	if (cst != SL_OK) {
		fail(r, SL_EINVAL, "the field %s is not in the %s format%s", sl_field_name(missing),
		     sl_format_name(fmt), of);
		return -1;
	}
	if (r->opts.plan_adds) {
		sl_plan d;
		sl_plan_default(&d, fmt, r->opts.visitors_4xx);
		for (uint32_t i = 0; i < r->plan.nitems; i++) {
			const char *why = NULL;
			if (sl_plan_add(&d, &r->plan.item[i], &why) != SL_OK) {
				fail(r, SL_EINVAL, "cannot add %s to the report: %s",
				     r->plan.item[i].name, why);
				return -1;
			}
		}
	}
	return 0;
}

static const char *input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(standard input)" : path;
}

/* ---- reports --------------------------------------------------------------- */

/* A format as a message names it: its name (syslog:NAME), and the string
 * of a log-format or of JSON mappings, quoted, when it has one. */
static const char *format_words(sl_format f, const char *spec, char *buf, size_t cap)
{
	sl_format_describe(f, spec, buf, cap);
	if (f != SL_FMT_SYSLOG && spec && *spec && !sl_format_spec_is_mix(spec)) {
		size_t n = strlen(buf);
		snprintf(buf + n, cap - n, " '%s'", spec);
	}
	return buf;
}

/* Says which format -f auto chose, when it is not one of the classic four
 * (whose name the report's header gives as always). */
static void format_note(run_t *r, sl_format fmt, const char *spec)
{
	if (sl_format_is_classic(fmt))
		return;
	char text[TEXT_MAX], name[SPEC_MAX + 16];
	snprintf(text, sizeof text, "format %s (detected)",
		 sl_format_describe(fmt, spec, name, sizeof name));
	note(r, SL_ENGINE_NOTE_FORMAT, text);
}

/* Creates the workers' reports on the first data: the format is detected
 * from its first complete lines unless forced. in_order: the data is a
 * stream's, read through the reader, whose blocks go to worker 0 alone if
 * the format is header-driven (a file read in ranges decides that itself,
 * in read_input). */
static int ensure_reports(run_t *r, const char *data, size_t len, bool in_order)
{
	if (r->workers[r->jobs - 1].report)
		return 0;
	sl_format fmt = r->format;
	if (fmt == SL_FMT_AUTO) {
		const char *spec;
		fmt = sl_format_detect_spec(data, len, &spec);
		if (spec)
			r->spec = spec;
		format_note(r, fmt, spec);
	}
	if (in_order && !r->mixed && sl_format_stateful(fmt) && r->jobs > 1 && !r->one_worker) {
		/* found on a stream's first data, after the workers were
		 * planned: its blocks all go to worker 0, in order */
		char text[TEXT_MAX];
		snprintf(text, sizeof text, "%s logs are read by one worker: their header lines set "
			 "the columns of the lines after them", sl_format_name(fmt));
		note(r, SL_ENGINE_NOTE_ONE_WORKER, text);
		r->one_worker = true;
	}
	sl_plan plan;
	/* a mix was checked, format by format, before the run */
	if (!r->mixed && check_plan(r, &r->own, fmt, r->spec, NULL) < 0)
		return -1;
	run_plan(r, fmt, &plan);
	for (int i = 0; i < r->jobs; i++) {
		worker_t *w = &r->workers[i];
		if (w->report) /* loaded from --state */
			continue;
		sl_status st = sl_report_new_plan(&w->report, &w->budget, fmt, r->spec,
						  &plan, r->share, r->hll_p, r->tmpdir, r->top_n);
		if (st != SL_OK) {
			fail(r, st, "cannot set up the report: %s", sl_strerror(st));
			return -1;
		}
	}
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

/*
 * The message for an input whose read failed with st (err: the errno of an
 * SL_EIO), as one line without a newline, into buf (cap > 0); returns buf.
 * For SL_ENOMEM, need is sl_input_need() of the failed input: 0 (unknown)
 * gives the generic text, UINT64_MAX says no budget can decode it, any
 * other value is named ("needs 2.5 MiB (2,652,288 bytes)", KiB below 1 MiB);
 * suggest, when not 0, is a --memory value that would do, printed rounded up
 * to whole MiB.
 */
static const char *input_error_text(char *buf, size_t cap, sl_status st, int err, uint64_t need,
				    uint64_t suggest)
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
		/* at most 1.8e16 KiB, well within cap; the result is looked at
		 * so that the compiler does not guess at a double's width */
		if (snprintf(buf, cap, "the decompressor needs %.1f %s (%s bytes) for this file, "
				       "more than the budget has left; raise --memory%s",
			     (double)need / (small ? 1024.0 : (double)mib), small ? "KiB" : "MiB",
			     bytes, more) < 0)
			buf[0] = '\0';
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

/* How many chunks a file may be cut into with this many workers. */
static uint32_t chunks_for(long jobs)
{
	uint64_t n = (uint64_t)jobs * CHUNKS_PER_JOB;
	return n > MAX_CHUNKS ? MAX_CHUNKS : (uint32_t)n;
}

/* The main thread's bytes that grow with the job count: the workers, the
 * chunks' line counts and the workers' block queues. */
static size_t per_jobs(long jobs)
{
	return (size_t)jobs * sizeof(worker_t) + chunks_for(jobs) * sizeof(uint64_t) +
	       (size_t)jobs * (size_t)(jobs + 2) * sizeof(block_t);
}

/* Plans the workers, their buffers and shares for at most `jobs` workers
 * (fewer when they do not fit) beside `fixed` bytes. held: the bytes worker
 * 0's report may take when it is a loaded state's (0: none): the other
 * workers then share what it leaves, and worker 0 needs no slack (it reads
 * no ranges under --state, and the state's inputs are in the state). Returns the bytes the plan needs; it
 * does not fit when that is above budget (with one worker). */
static size_t plan_jobs(run_t *r, size_t budget, long jobs, size_t fixed, bool ranges,
			size_t held)
{
	size_t per = report_min(r) + REPORT_SLACK;
	size_t need, bufs;
	for (;;) {
		r->jobs = (int)jobs;
		r->nbuf = jobs == 1 || ranges ? (int)jobs : (int)jobs + 1;
		r->cap = budget / 8 / (size_t)r->nbuf;
		if (r->cap < 2 * SL_LINE_MAX)
			r->cap = 2 * SL_LINE_MAX;
		if (r->cap > MAX_LINE_BUFFER)
			r->cap = MAX_LINE_BUFFER;
		bufs = (size_t)r->nbuf * (r->cap + sizeof(char *)) + per_jobs(jobs);
		need = fixed + bufs +
		       (held ? held + (size_t)(jobs - 1) * per : (size_t)jobs * per);
		if (budget >= need || jobs == 1)
			break;
		jobs--;
	}
	if (budget < need)
		return need;
	size_t rest = budget - fixed - bufs;
	if (!held)
		r->share = rest / (size_t)r->jobs - REPORT_SLACK;
	else /* worker 0's share is unused: its report is the state's */
		r->share = r->jobs > 1 ? (rest - held) / (size_t)(r->jobs - 1) - REPORT_SLACK : 0;
	r->held = held;
	return need;
}

/* Looks at the inputs before the budget is planned. *ranges: will every
 * input be read in byte ranges (see read_input)? Then no reader queue is
 * needed and each worker holds one buffer, so the queue's spare buffer goes
 * to the reports. *some: may any input be (a plain regular file of at
 * least RANGE_MIN bytes)? *reserve: the decoder reserve, the most that opening and
 * starting to read one input takes from the budget (a zstd window is sized
 * by its frame header: 2 MiB at the zstd tool's default level), counting
 * only files that need at most `limit` (the room beside one worker): a
 * file that needs more is left out of the plan, and fails alone when read.
 * A named regular file is opened and 4 KiB of it read through a scratch
 * child of b, whose peak is its need (b holds nothing else yet, and is
 * empty again afterwards). Standard input and other streams cannot be read
 * twice: they are given STREAM_RESERVE or a quarter of the budget,
 * whichever is more, but at most `limit`. An input that fails here is left
 * for the real read to report. Only a plan: an input that changes
 * before it is read is still read, through the queue, or fails with the
 * decoder's message if its window has outgrown the reserve. */
static void probe_inputs(sl_budget *b, const char *const *paths, size_t n, size_t limit, bool *ranges,
			 bool *some, size_t *reserve)
{
	size_t stream = b->limit / 4 > STREAM_RESERVE ? b->limit / 4 : STREAM_RESERVE;
	stream = stream < limit ? stream : limit;
	*ranges = n > 0;
	*some = false;
	*reserve = n > 0 ? MIN_RESERVE : stream;
	for (size_t i = 0; i < n; i++) {
		struct stat sb;
		sl_budget scratch;
		sl_input *src;
		int err = 0;
		char head[4096];
		size_t got, need;
		if (strcmp(paths[i], "-") == 0 || stat(paths[i], &sb) != 0 || !S_ISREG(sb.st_mode)) {
			*ranges = false;
			need = stream;
		} else {
			sl_budget_init_child(&scratch, b, b->limit);
			if (sl_input_open(&src, &scratch, paths[i], &err) != SL_OK)
				continue;
			if (sl_input_compression(src) != SL_COMP_NONE ||
			    (uint64_t)sb.st_size < RANGE_MIN)
				*ranges = false;
			else
				*some = true;
			if (sl_input_compression(src) != SL_COMP_NONE)
				(void)sl_input_read(src, head, sizeof head, &got, &err);
			sl_input_close(src);
			need = scratch.peak;
		}
		if (need <= limit && need > *reserve)
			*reserve = need;
	}
}

/* Records why `in` could not be read; the first error wins. Workers reading
 * chunks of one file may fail at the same time, so the store is locked. src:
 * the input that failed, when open (its decoder's need names the memory
 * that would do); r: for the --memory that would hold it. */
static void input_error(run_t *r, input_t *in, const sl_input *src, sl_status st, int err)
{
	uint64_t need = st == SL_ENOMEM && src ? sl_input_need(src) : 0;
	uint64_t suggest = 0;
	struct stat sb;
	if (need && need != UINT64_MAX && need > r->decoders.limit) {
		bool stream = strcmp(in->path, "-") == 0 || stat(in->path, &sb) != 0 ||
			      !S_ISREG(sb.st_mode);
		/* a stream's decoders get a quarter of the budget; a file's
		 * reserve is what its probe asked for, beside the rest */
		suggest = stream ? 4 * need : r->budget.limit + (need - r->decoders.limit);
	}
	pthread_mutex_lock(&r->error_mu);
	if (!in->error)
		in->error = input_error_text(in->why, sizeof in->why, st, err, need, suggest);
	pthread_mutex_unlock(&r->error_mu);
}

/* ---- the reader and its queue -------------------------------------------- */

/* The index of pool buffer b. */
static int slot(const run_t *r, const char *b)
{
	int i = 0;
	while (r->pool[i] != b)
		i++;
	return i;
}

/* A free pool buffer, with one user: the caller. */
static char *take_buffer(run_t *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->nfree == 0)
		pthread_cond_wait(&r->cv, &r->mu);
	char *b = r->free_bufs[--r->nfree];
	r->users[slot(r, b)] = 1;
	pthread_mutex_unlock(&r->mu);
	return b;
}

/* One more user of b: a block in it. */
static void hold_buffer(run_t *r, char *b)
{
	pthread_mutex_lock(&r->mu);
	r->users[slot(r, b)]++;
	pthread_mutex_unlock(&r->mu);
}

/* One user less; b is free again when it had the last. */
static void give_buffer(run_t *r, char *b)
{
	pthread_mutex_lock(&r->mu);
	if (--r->users[slot(r, b)] == 0) {
		r->free_bufs[r->nfree++] = b;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

static void push_block(run_t *r, worker_t *w, block_t b)
{
	queue_t *q = &w->queue;
	pthread_mutex_lock(&r->mu);
	while (q->len == q->cap)
		pthread_cond_wait(&r->cv, &r->mu);
	q->ring[(q->head + q->len++) % q->cap] = b;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static block_t pop_block(run_t *r, worker_t *w)
{
	queue_t *q = &w->queue;
	pthread_mutex_lock(&r->mu);
	while (q->len == 0)
		pthread_cond_wait(&r->cv, &r->mu);
	block_t b = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return b;
}

/* Before an input's lines go to rep: a mix reads them in the input's format. */
static void select_unit(const run_t *r, sl_report *rep, uint32_t id)
{
	if (r->mixed)
		sl_report_select_format(rep, r->unit[id]);
}

/* Feeds rep (set at input id) and, in a mix, counts the records of the
 * input that parsed and that did not (tallied for the check after it). */
static void feed(run_t *r, sl_report *rep, uint32_t id, const char *data, size_t len)
{
	if (!r->mixed) {
		sl_report_feed(rep, data, len);
		return;
	}
	sl_report_counts a, b;
	sl_report_get_counts(rep, &a);
	sl_report_feed(rep, data, len);
	sl_report_get_counts(rep, &b);
	atomic_fetch_add(&r->track[id].good, b.requests + b.filtered - a.requests - a.filtered);
	atomic_fetch_add(&r->track[id].bad, b.malformed - a.malformed);
}

static void *queue_worker(void *arg)
{
	worker_t *w = arg;
	for (;;) {
		block_t b = pop_block(w->run, w);
		if (!b.buf)
			return NULL;
		select_unit(w->run, w->report, b.input);
		sl_report_set_position(w->report, b.input, b.lines_before);
		if (b.header)
			sl_report_read_header(w->report, b.buf + b.off, b.len);
		else
			feed(w->run, w->report, b.input, b.buf + b.off, b.len);
		give_buffer(w->run, b.buf);
	}
}

/* Reads into buf[0 .. cap - 1] until it is full or the input ends, so that
 * blocks are cut at the same places however a pipe delivers its bytes (and
 * each worker gets the same lines on every run). An error after some bytes
 * is kept in *pending and returned by the next call. */
static sl_status fill(sl_input *src, char *buf, size_t cap, size_t *got, int *err,
		      sl_status *pending)
{
	*got = 0;
	if (*pending != SL_OK)
		return *pending;
	while (*got < cap) {
		size_t n = 0;
		sl_status st = sl_input_read(src, buf + *got, cap - *got, &n, err);
		if (st != SL_OK) {
			if (*got == 0)
				return st;
			*pending = st;
			break;
		}
		if (n == 0)
			break;
		*got += n;
	}
	return SL_OK;
}

/*
 * Hands the frames the framer has (of the current push, or of the input's
 * end) to the workers. cur: the pool buffer pushed (NULL at the end), end:
 * the end of the bytes pushed; *lines: the lines of this input handed out
 * so far. With one job the framer does not number (SL_FRAMER_UNNUMBERED,
 * no count of each run): frames are fed directly and skipped lines counted
 * in place, in order, so the report numbers the lines. With workers, frame
 * k goes to worker k % jobs through its queue, numbered by the framer, as a
 * block of cur (one more user of it), or of a buffer of its own when it
 * lies in the framer's storage (an input's last line without '\n');
 * skipped lines are counted in worker 0 at the end. Returns 0, or -1 on a
 * fatal error.
 */
static int hand_out(run_t *r, sl_framer *f, uint32_t id, char *cur, const char *end,
		    uint64_t *lines)
{
	sl_report *rep0 = r->workers[0].report;
	for (;;) {
		sl_frame fr;
		sl_status st = sl_framer_next(f, &fr);
		if (st != SL_OK) { /* cannot happen: the storage is all reserved */
			fail(r, st, "cannot keep a line: %s", sl_strerror(st));
			return -1;
		}
		if (!fr.data && !fr.skipped)
			return 0;
		if (fr.skipped) {
			if (r->jobs == 1 && rep0)
				sl_report_add_oversized(rep0, fr.skipped);
			else
				r->reader_oversized += fr.skipped;
			*lines += fr.skipped;
		}
		if (!fr.data)
			continue;
		bool in_cur = cur && fr.data >= cur && fr.data < end;
		if (!r->workers[r->jobs - 1].report) {
			/* the format is detected from the first whole lines */
			if (ensure_reports(r, fr.data, in_cur ? (size_t)(end - fr.data) : fr.len,
					   true) < 0)
				return -1;
			rep0 = r->workers[0].report;
			if (r->jobs == 1) {
				select_unit(r, rep0, id);
				sl_report_set_position(rep0, id, *lines);
			}
		}
		if (r->jobs == 1) {
			feed(r, rep0, id, fr.data, fr.len);
			*lines = sl_report_position(rep0);
			continue;
		}
		char *buf = cur;
		if (in_cur) {
			hold_buffer(r, cur);
		} else {
			buf = take_buffer(r);
			memcpy(buf, fr.data, fr.len);
		}
		block_t b = {buf, in_cur ? (size_t)(fr.data - cur) : 0, fr.len, id, fr.first - 1, false};
		/* a header-driven input's blocks all go to worker 0, in order */
		push_block(r, &r->workers[r->one_worker ? 0 : r->blocks++ % (uint64_t)r->jobs], b);
		*lines = fr.first - 1 + fr.lines;
	}
}

/* Is (fmt, spec) read in order by one parser (a header programs it)? */
static bool unit_stateful(const run_t *r, sl_format fmt, const char *spec)
{
	if (sl_format_stateful(fmt))
		return true;
	if (fmt != SL_FMT_SYSLOG || !spec || !*spec)
		return false;
	sl_budget scratch; /* syslog:csv, say: ask its parser */
	sl_budget_init(&scratch, r->opts.budget);
	sl_parser *p = NULL;
	bool st = sl_parser_new(&p, &scratch, fmt, spec, NULL, NULL) == SL_OK &&
		  sl_parser_stateful(p);
	sl_parser_free(p);
	return st;
}

/* Is a header-driven format's header its first row, once (RFC 4180: CSV,
 * TSV)? Such an input may be read in byte ranges, every chunk's parser
 * given the header row first (find_header, read_chunk); W3C and CloudFront
 * may change their #Fields mid-file, and are read in order. */
static bool header_once(sl_format f)
{
	return f == SL_FMT_CSV || f == SL_FMT_TSV;
}

/*
 * Where a CSV/TSV input read in ranges has its header row: the first line
 * of buf[0 .. len - 1], the input's first bytes, that its parser takes as
 * a header, as reading the input in order would (the empty or broken lines
 * before it are malformed there too; a line over SL_LINE_MAX is skipped
 * there, unparsed). Tried on worker 0's parser, which is reset again after
 * (each chunk starts from a reset parser). Sets r->header_at and
 * r->header_len; false when no complete line in buf is a header (the input
 * is then read in order, by worker 0).
 */
static bool find_header(run_t *r, uint32_t id, const char *buf, size_t len)
{
	sl_report *rep = r->workers[0].report;
	size_t at = 0;
	const char *nl;
	bool found = false;
	select_unit(r, rep, id);
	sl_report_set_position(rep, id, 0);
	while (!found && (nl = memchr(buf + at, '\n', len - at))) {
		size_t n = (size_t)(nl - (buf + at));
		if (n <= SL_LINE_MAX && sl_report_read_header(rep, buf + at, n) == SL_ESKIP) {
			r->header_at = at;
			r->header_len = n;
			found = true;
		}
		at += n + 1;
	}
	sl_report_set_position(rep, id, 0);
	return found;
}

/*
 * The header a resumed header-driven input (id) had before `upto` (the
 * content a loaded state counted): its first line that the parser takes as
 * a header (CSV, TSV: as a reading in order did; the empty or broken lines
 * before it were malformed), tried on worker 0's parser, which is reset
 * again after; or its last "#Fields:" line (W3C, CloudFront: one may come
 * mid-file, so the counted part is read again, but not parsed). Found in
 * buf[0 .. cap - 1], which holds the line kept (up to SL_LINE_MAX bytes)
 * and reads after it; a line longer than what is left to read it in is
 * passed over. Returns the line's length at buf (0: none, or the input
 * could not be read: reading it will say why).
 */
static size_t resumed_header(run_t *r, uint32_t id, const char *path, uint64_t upto, bool w3c,
			     char *buf, size_t cap)
{
	sl_report *rep = r->workers[0].report;
	if (!w3c) {
		select_unit(r, rep, id);
		sl_report_set_position(rep, id, 0);
	}
	sl_input *src;
	int err = 0;
	size_t keep = 0, room = SL_LINE_MAX + 1;
	if (cap <= room || sl_input_open(&src, &r->decoders, path, &err) != SL_OK)
		return 0;
	char *work = buf + room;
	size_t wcap = cap - room, have = 0;
	uint64_t pos = 0; /* content offset of work[0] */
	bool found = false, passing = false;
	while (!(found && !w3c) && pos + have < upto) {
		size_t got = 0, want = wcap - have;
		if (want > upto - pos - have)
			want = (size_t)(upto - pos - have);
		if (sl_input_read(src, work + have, want, &got, &err) != SL_OK || got == 0)
			break;
		have += got;
		size_t start = 0;
		const char *nl;
		while (!(found && !w3c) && (nl = memchr(work + start, '\n', have - start))) {
			const char *line = work + start;
			size_t n = (size_t)(nl - line), whole = n; /* oversized: as framed */
			start += n + 1;
			while (n && line[n - 1] == '\r')
				n--;
			const char *t = line;
			if (n >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0)
				t += 3; /* a byte order mark */
			bool take = !passing && n && whole <= SL_LINE_MAX &&
				    (w3c ? (size_t)(line + n - t) >= 8 && memcmp(t, "#Fields:", 8) == 0
					 : sl_report_read_header(rep, line, n) == SL_ESKIP);
			passing = false;
			if (take) {
				memcpy(buf, line, n);
				keep = n;
				found = true;
			}
		}
		if (start == 0 && have == wcap) { /* a line longer than the room */
			passing = true;
			start = have;
		}
		memmove(work, work + start, have - start);
		pos += start;
		have -= start;
	}
	sl_input_close(src);
	if (!w3c)
		sl_report_set_position(rep, id, 0);
	return keep;
}

/* The format input id is read in: its own in a mix, else the run's (with
 * -f auto, once found: worker 0's report's); SL_FMT_AUTO before that. */
static sl_format input_format(const run_t *r, uint32_t id)
{
	if (r->mixed)
		return r->in_fmt[id];
	if (r->format != SL_FMT_AUTO || !r->workers || !r->workers[0].report)
		return r->format;
	return sl_report_format(r->workers[0].report);
}

/* Is input id read through a parser a header programs (w3c, csv, ...)? */
static bool input_stateful(const run_t *r, uint32_t id)
{
	if (r->mixed)
		return r->unit_stateful[r->unit[id]];
	return unit_stateful(r, input_format(r, id),
			     r->loaded ? sl_report_format_spec(r->loaded->report) : r->spec);
}

/*
 * Reads one input through the reader and its framer (worker 0's). With
 * workers, each pool buffer is filled whole after room for the line the
 * last one ended in (the framer's pending bytes, which it copies into that
 * headroom), so a buffer's frame is one block of whole lines, cut at the
 * same places however a pipe delivers its bytes. Returns 0, or -1 on a
 * fatal error.
 */
static int read_sequential(run_t *r, input_t *in, uint32_t id, sl_input *src, track_t *t,
			   uint64_t discard)
{
	sl_framer *f = &r->framers[0];
	bool queue = r->jobs > 1;
	int err = 0;
	sl_status pending = SL_OK;
	uint64_t lines = t->skip_lines; /* lines of this input handed out so far */
	sl_framer_begin(f, queue ? t->skip_lines : SL_FRAMER_UNNUMBERED, false, UINT64_MAX);
	if (!queue && r->workers[0].report) {
		select_unit(r, r->workers[0].report, id);
		sl_report_set_position(r->workers[0].report, id, lines);
	}

	for (;;) {
		if (canceled(r))
			break;
		char *cur = queue ? take_buffer(r) : r->pool[0];
		size_t head = queue ? sl_framer_pending(f) : 0, got = 0;
		sl_status st = fill(src, cur + head, r->cap - head, &got, &err, &pending);
		if (st != SL_OK || got == 0) {
			if (queue)
				give_buffer(r, cur);
			if (st != SL_OK)
				input_error(r, in, src, st, err);
			break;
		}
		atomic_store(&r->in_flight, sl_input_consumed(src));
		size_t drop = 0;
		if (discard) { /* content the loaded state counted already */
			drop = got < discard ? got : (size_t)discard;
			discard -= drop;
		}
		t->content += got - drop;
		int rc = 0;
		if (got > drop) {
			sl_framer_push(f, cur + head + drop, got - drop, queue ? head + drop : 0);
			rc = hand_out(r, f, id, cur, cur + head + got, &lines);
		}
		if (queue)
			give_buffer(r, cur);
		if (rc < 0)
			return -1;
		progress(r);
	}
	if (!in->error && sl_input_shrank(src))
		in->error = "the file shrank while it was read; the figures cover what it still held";
	if (atomic_load(&r->stop))
		return 0;
	if (!in->error && r->incremental) {
		t->unfed = sl_framer_pending(f); /* the writer may not have finished it */
	} else if (!in->error) {
		sl_framer_end(f); /* a last line without '\n' */
		if (hand_out(r, f, id, NULL, NULL, &lines) < 0)
			return -1;
	}
	t->lines = lines;
	return 0;
}

/* ---- byte ranges ------------------------------------------------------------ */

/* Counts the bytes of the chunk read so far (up to file offset pos) in the
 * progress: a worker reads past its chunk's end to finish a line, and a byte
 * read by two workers is counted once, so the sum stays within the file. */
static void credit(run_t *r, const worker_t *w, uint64_t pos, uint64_t *credited)
{
	uint64_t upto = pos < w->end ? pos : w->end;
	uint64_t c = upto > w->start ? upto - w->start : 0;
	if (c > *credited) {
		atomic_fetch_add(&r->in_flight, c - *credited);
		*credited = c;
	}
}

/* A chunk after a CSV/TSV input's header row: the row is read again (in
 * the worker's buffer, before the chunk's bytes) into the chunk's parser,
 * counted nowhere, so its rows have their columns as in a reading in
 * order. 0, or -1 when the input failed (reported). */
static int header_again(worker_t *w)
{
	run_t *r = w->run;
	sl_input *src;
	int err = 0;
	size_t have = 0, got = 1;
	sl_status st = sl_input_open_range(&src, &w->budget, w->in->path, r->header_at,
					   r->header_len, &err);
	while (st == SL_OK && got && have < r->header_len) {
		st = sl_input_read(src, w->buf + have, r->header_len - have, &got, &err);
		have += got;
	}
	if (st != SL_OK) {
		input_error(r, w->in, NULL, st, err);
		if (src)
			sl_input_close(src);
		return -1;
	}
	sl_input_close(src);
	sl_report_read_header(w->report, w->buf, have);
	return 0;
}

/* Reads the lines of chunk `chunk` ([w->start, w->end)) through the
 * worker's framer: from the byte before the start (the line that byte ends
 * or lies in is the previous chunk's), up to the line crossing the end.
 * -1 when the input failed (reported). */
static int read_chunk(worker_t *w, uint32_t chunk)
{
	run_t *r = w->run;
	sl_input *src;
	int err = 0, rc = 0;
	uint64_t from = w->start ? w->start - 1 : 0;
	w->lines = 0;
	uint64_t lines0 = report_lines(w->report);
	uint32_t id = (uint32_t)(w->in - r->inputs);
	select_unit(r, w->report, id);
	sl_report_begin_input(w->report, CHUNK_ID + chunk);
	/* past a CSV/TSV header row (before the chunk's input is opened: one
	 * input at a time in the worker's budget) */
	if (r->header_len && w->start > r->header_at && header_again(w) < 0)
		return -1;
	sl_status st = sl_input_open_range(&src, &w->budget, w->in->path, from, UINT64_MAX, &err);
	if (st != SL_OK) {
		input_error(r, w->in, NULL, st, err);
		return -1;
	}
	sl_framer *f = &r->framers[w->index];
	/* the report numbers the chunk's lines: the framer need not */
	sl_framer_begin(f, SL_FRAMER_UNNUMBERED, w->start > 0, w->end - from);
	uint64_t pos = from, credited = 0; /* read up to; bytes of the chunk counted */
	bool more = true;
	while (more && !sl_framer_done(f) && !atomic_load(&r->stop)) {
		size_t got = 0;
		st = sl_input_read(src, w->buf, r->cap, &got, &err);
		if (st != SL_OK) {
			input_error(r, w->in, src, st, err);
			rc = -1;
			break;
		}
		pos += got;
		credit(r, w, pos, &credited);
		if (got)
			sl_framer_push(f, w->buf, got, 0);
		else
			sl_framer_end(f); /* a last line without newline */
		more = got > 0;
		sl_frame fr;
		while ((st = sl_framer_next(f, &fr)) == SL_OK && (fr.data || fr.skipped)) {
			sl_report_add_oversized(w->report, fr.skipped);
			if (fr.data)
				feed(r, w->report, id, fr.data, fr.len);
		}
		if (st != SL_OK) { /* cannot happen: the storage is all reserved */
			input_error(r, w->in, src, st, 0);
			rc = -1;
			break;
		}
	}
	w->lines = report_lines(w->report) - lines0;
	sl_input_close(src);
	if (rc == 0)
		credit(r, w, w->end, &credited);
	return rc;
}

/* Reads chunks index, index + jobs, index + 2 jobs, ... of the input: a
 * fixed assignment, so that each worker's report (and the merged result,
 * approximate figures included) is the same on every run. */
static void *range_worker(void *arg)
{
	worker_t *w = arg;
	run_t *r = w->run;
	for (uint32_t j = (uint32_t)w->index;
	     j < r->nchunks && !atomic_load(&r->failed) && !atomic_load(&r->stop);
	     j += (uint32_t)r->jobs) {
		uint64_t step = r->size / r->nchunks;
		w->start = step * j;
		w->end = j == r->nchunks - 1 ? r->size : step * (j + 1);
		if (read_chunk(w, j) < 0)
			atomic_store(&r->failed, 1);
		r->chunk_lines[j] = w->lines;
	}
	pthread_mutex_lock(&r->mu);
	r->finished++;
	pthread_cond_signal(&r->finished_cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static int read_ranges(run_t *r, input_t *in, uint32_t id, uint64_t size)
{
	uint64_t n = size / CHUNK_MIN;
	if (n > r->max_chunks)
		n = r->max_chunks;
	if (n < (uint64_t)r->jobs)
		n = (uint64_t)r->jobs;
	n -= n % (uint64_t)r->jobs; /* as many chunks for every worker */
	r->size = size;
	r->nchunks = (uint32_t)n;
	memset(r->chunk_lines, 0, n * sizeof *r->chunk_lines); /* chunks never read: 0 */
	atomic_store(&r->failed, 0);
	for (int i = 0; i < r->jobs; i++) {
		worker_t *w = &r->workers[i];
		w->in = in;
		w->buf = r->pool[i];
		w->lines = 0;
		if (pthread_create(&w->tid, NULL, range_worker, w) != 0) {
			/* the workers started already end at their first chunk */
			atomic_store(&r->stop, 1);
			for (int k = 0; k < i; k++)
				pthread_join(r->workers[k].tid, NULL);
			r->finished = 0;
			fail(r, SL_ENOMEM, "cannot start a thread");
			return -1;
		}
	}
	/* Woken as each worker ends, and every 50 ms to draw the progress
	 * line (a plain sleep here once added up to 50 ms to every input). */
	pthread_mutex_lock(&r->mu);
	while (r->finished < r->jobs) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 50 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&r->finished_cv, &r->mu, &until);
		pthread_mutex_unlock(&r->mu);
		if (!canceled(r)) /* else the workers see r->stop */
			progress(r);
		pthread_mutex_lock(&r->mu);
	}
	r->finished = 0;
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < r->jobs; i++)
		pthread_join(r->workers[i].tid, NULL);
	/* Samples: each chunk's counted from its own start, under its own id. */
	uint64_t before = 0;
	for (uint32_t j = 0; j < r->nchunks; j++) {
		for (int i = 0; i < r->jobs; i++) {
			sl_report_renumber(r->workers[i].report, CHUNK_ID + j, before);
			sl_report_rename_input(r->workers[i].report, CHUNK_ID + j, id);
		}
		before += r->chunk_lines[j];
	}
	r->track[id].lines = before;
	return 0;
}

static int start_queue_workers(run_t *r)
{
	for (int i = 0; i < r->jobs; i++)
		if (pthread_create(&r->workers[i].tid, NULL, queue_worker, &r->workers[i]) != 0)
			return -1;
	return 0;
}

static void stop_queue_workers(run_t *r)
{
	for (int i = 0; i < r->jobs; i++)
		push_block(r, &r->workers[i], (block_t){0});
	for (int i = 0; i < r->jobs; i++)
		pthread_join(r->workers[i].tid, NULL);
}

/* ---- state files ----------------------------------------------------------- */

/*
 * The identity of an input for incremental runs: device, inode and size of
 * the file, and the hash of the first SL_STATE_HEAD_BYTES bytes of its
 * content (decompressed), so that a log rotated into .gz is recognised by
 * what it holds. head[] receives those bytes. Returns 0, or -1 when the
 * input cannot be opened (reading it will say why).
 */
static int fingerprint(run_t *r, const char *path, sl_state_input *fp, char *head,
		       size_t *got, int *compressed)
{
	memset(fp, 0, sizeof *fp);
	*got = 0;
	*compressed = 0;
	if (strcmp(path, "-") == 0)
		return 0;
	struct stat sb;
	if (stat(path, &sb) != 0)
		return -1;
	if (!S_ISREG(sb.st_mode))
		return 0; /* a pipe, FIFO or device: read once, by the reader */
	fp->dev = (uint64_t)sb.st_dev;
	fp->ino = (uint64_t)sb.st_ino;
	fp->size = (uint64_t)sb.st_size;
	sl_input *src;
	int err;
	if (sl_input_open(&src, &r->decoders, path, &err) != SL_OK)
		return -1;
	*compressed = sl_input_compression(src) != SL_COMP_NONE;
	while (*got < SL_STATE_HEAD_BYTES) {
		size_t n = 0;
		if (sl_input_read(src, head + *got, SL_STATE_HEAD_BYTES - *got, &n, &err) != SL_OK ||
		    n == 0)
			break;
		*got += n;
	}
	sl_input_close(src);
	fp->head_len = (uint32_t)*got;
	fp->head_hash = sl_hash(head, *got);
	return 0;
}

/* How many of the first 32 complete lines of head[0 .. len-1] parse as fmt. */
static int parsed_lines(sl_format fmt, const char *head, size_t len)
{
	sl_time_cache tc;
	memset(&tc, 0, sizeof tc);
	/* a framer without storage (a budget of 0 bytes) gives the complete
	 * lines and stops at the unfinished one (SL_ENOMEM) */
	sl_budget none;
	sl_budget_init(&none, 0);
	sl_framer f;
	sl_framer_init(&f, &none, SL_FRAMER_LINES, SL_LINE_MAX);
	sl_framer_push(&f, head, len, 0);
	sl_frame fr;
	int n = 0;
	for (int k = 0; k < 32 && sl_framer_next(&f, &fr) == SL_OK && fr.data; k++) {
		size_t l = fr.len;
		sl_record rec;
		n += sl_access_parse(fmt, fr.data, l && fr.data[l - 1] == '\r' ? l - 1 : l, &rec,
				     &tc) == SL_OK;
	}
	return n;
}

/* With -f auto, a state's format is kept for the new lines, unless they are
 * plainly another access-log format: then every new line would count as
 * malformed, so the run is refused instead (as an explicit -f would be). */
static int format_mismatch(const run_t *r, const char *head, size_t len, sl_format *seen)
{
	sl_format f = sl_report_format(r->loaded->report);
	if (!r->format_from_state || f == SL_FMT_LINES || len == 0)
		return 0;
	*seen = sl_access_detect(head, len);
	return *seen != f && parsed_lines(*seen, head, len) > parsed_lines(f, head, len);
}

/*
 * Matches this run's inputs with the loaded state's: by device and inode
 * first (a file that grew, or was renamed by rotation), else by the hash of
 * the content's head (a rotated file compressed into a new one). A match
 * whose head still hashes the same resumes at the state's consumed bytes,
 * unless a plain file is now shorter (truncated: read again). Old entries
 * that match nothing are kept, after this run's, so the next state still
 * knows them; map[] gives every old entry its new index.
 */
static size_t match_inputs(run_t *r, input_t *inputs, size_t n, uint32_t *map)
{
	const sl_state *st = r->loaded;
	char head[SL_STATE_HEAD_BYTES];
	char *used = st->ninputs ? sl_calloc(&r->own, st->ninputs, 1) : NULL;
	for (size_t i = 0; i < n; i++) {
		track_t *t = &r->track[i];
		size_t got;
		int compressed;
		if (fingerprint(r, inputs[i].path, &t->fp, head, &got, &compressed) < 0 || !used ||
		    !t->fp.ino)
			continue;
		sl_format seen;
		if (format_mismatch(r, head, got, &seen)) {
			fail(r, SL_EMISMATCH, "%s holds a %s report, but %s looks %s; give -f %s to "
			     "read it as %s anyway, or use another state file",
			     r->state_path, sl_format_name(sl_report_format(st->report)),
			     input_name(inputs[i].path), sl_format_name(seen),
			     sl_format_name(sl_report_format(st->report)),
			     sl_format_name(sl_report_format(st->report)));
			sl_free(&r->own, used, st->ninputs);
			return SIZE_MAX;
		}
		size_t best = SIZE_MAX;
		int same_head = 0;
		for (size_t j = 0; j < st->ninputs; j++) {
			const sl_state_input *o = &st->inputs[j];
			if (used[j])
				continue;
			int head_ok = o->head_len > 0 && o->head_len <= got &&
				      sl_hash(head, o->head_len) == o->head_hash;
			if (o->ino && o->dev == t->fp.dev && o->ino == t->fp.ino) {
				best = j;
				same_head = head_ok;
				break;
			}
			if (head_ok && best == SIZE_MAX) {
				best = j;
				same_head = 1;
			}
		}
		if (best == SIZE_MAX)
			continue;
		const sl_state_input *o = &st->inputs[best];
		used[best] = 1;
		map[best] = (uint32_t)i;
		if (same_head && (compressed || t->fp.size >= o->consumed)) {
			t->skip = o->consumed;
			t->skip_lines = o->lines;
		}
	}
	size_t total = n;
	for (size_t j = 0; j < st->ninputs; j++)
		if (!used || !used[j])
			map[j] = (uint32_t)total++;
	if (used)
		sl_free(&r->own, used, st->ninputs);
	return total;
}

/* For a state, inputs that are one file (the same device and inode: an
 * overlapping glob, a symlink, a hard link) are read once: the later names
 * are dropped, with a note. Returns the count left in paths[]. */
static size_t drop_same_files(const run_t *r, const char **paths, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat a, b;
		size_t dup = SIZE_MAX;
		if (strcmp(paths[i], "-") != 0 && stat(paths[i], &a) == 0 && S_ISREG(a.st_mode))
			for (size_t k = 0; k < kept && dup == SIZE_MAX; k++)
				if (strcmp(paths[k], "-") != 0 && stat(paths[k], &b) == 0 &&
				    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
					dup = k;
		if (dup == SIZE_MAX) {
			if (r->in_fmt) { /* a format per input moves with it */
				r->in_fmt[kept] = r->in_fmt[i];
				r->in_spec[kept] = r->in_spec[i];
			}
			paths[kept++] = paths[i];
			continue;
		}
		char text[TEXT_MAX];
		snprintf(text, sizeof text, "%s is the same file as %s: read once", paths[i],
			 paths[dup]);
		note(r, SL_ENGINE_NOTE_SAME_FILE, text);
	}
	return kept;
}

/* The memory peak the report states: the sum of each part's own peak (the
 * main thread's, the decoders', every worker's). It bounds the true peak
 * from above and, unlike the root budget's peak, which depends on how the
 * threads' allocations interleave, it is the same on every run. */
static size_t parts_peak(const run_t *r)
{
	size_t peak = r->own.peak + r->decoders.peak + r->state_mem.peak;
	for (int i = 0; i < r->jobs; i++)
		peak += r->workers[i].budget.peak;
	return peak < r->budget.limit ? peak : r->budget.limit;
}

/* While the threads run, the sum of the parts' peaks (an upper bound, the
 * same every run); from the merge on, one thread allocates, so the root's
 * own peak since then is exact and deterministic: the larger of the two. */
static size_t run_peak(const run_t *r)
{
	if (!r->merged)
		return parts_peak(r);
	return r->threads_peak > r->budget.peak ? r->threads_peak : r->budget.peak;
}

/* ---- one input ------------------------------------------------------------- */

static int read_input(run_t *r, input_t *in, uint32_t id)
{
	sl_input *src;
	int err = 0;
	track_t *t = &r->track[id];
	uint64_t discard = t->skip;
	/* Resumed past its header, a header-driven input's parser reads the
	 * header again first, in worker 0 (which reads the rest of it: with
	 * one job, or as one_worker; never in ranges, which a resumed input
	 * is not read in). Found before the input is opened: a compressed
	 * one's decoder is then not needed twice at once. */
	char *header = NULL;
	size_t header_len = 0;
	if (t->skip && r->workers[0].report && input_stateful(r, id)) {
		sl_format hf = r->mixed ? r->in_fmt[id] : r->format;
		header = r->jobs > 1 ? take_buffer(r) : r->pool[0];
		header_len = resumed_header(r, id, in->path, t->skip,
					    hf == SL_FMT_W3C || hf == SL_FMT_CLOUDFRONT, header, r->cap);
		if (r->jobs == 1 && header_len) {
			select_unit(r, r->workers[0].report, id);
			sl_report_set_position(r->workers[0].report, id, t->skip_lines);
			sl_report_read_header(r->workers[0].report, header, header_len);
		}
		if (r->jobs > 1 && !header_len) {
			give_buffer(r, header);
			header = NULL;
		}
	}
	sl_status st = sl_input_open(&src, &r->decoders, in->path, &err);
	atomic_store(&r->in_flight, 0);
	if (st == SL_OK && t->skip && sl_input_compression(src) == SL_COMP_NONE &&
	    sl_input_size(src)) {
		/* a plain file read before: start where the state stopped */
		sl_input_close(src);
		st = sl_input_open_range(&src, &r->decoders, in->path, t->skip, UINT64_MAX, &err);
		discard = 0;
	}
	if (st != SL_OK) {
		if (r->jobs > 1 && header)
			give_buffer(r, header);
		input_error(r, in, NULL, st, err);
		return 0;
	}
	uint64_t size = sl_input_size(src);
	int rc;
	/* Ranges reopen the file by its name: standard input cannot be, even
	 * when it is a regular file (it is then read through the queue). */
	bool ranged = r->jobs > 1 && !r->incremental && !t->skip && strcmp(in->path, "-") != 0 &&
		      sl_input_compression(src) == SL_COMP_NONE && size >= RANGE_MIN;
	/* A header-driven input is read in order by worker 0 (one_worker),
	 * the others by every worker; a CSV or TSV file read in ranges gives
	 * each chunk after its header row that row first. In one format that
	 * is not CSV or TSV, jobs is 1 for them, or the format is found on a
	 * stream's first data (ensure_reports). */
	bool stateful = input_stateful(r, id);
	r->header_len = 0;
	if (ranged) {
		/* the reports need the format, a CSV/TSV its header row: both
		 * from the file's first bytes */
		size_t got = 0;
		sl_status pending = SL_OK;
		if (!r->workers[r->jobs - 1].report || stateful) {
			st = fill(src, r->pool[0], r->cap, &got, &err, &pending);
			if (st == SL_OK && ensure_reports(r, r->pool[0], got, false) < 0) {
				sl_input_close(src);
				return -1;
			}
			stateful = input_stateful(r, id); /* -f auto: known now */
		}
		if (stateful && !(header_once(input_format(r, id)) && st == SL_OK &&
				  find_header(r, id, r->pool[0], got)))
			ranged = false;
		if (!ranged) { /* read in order, from the start */
			sl_input_close(src);
			st = sl_input_open(&src, &r->decoders, in->path, &err);
			if (st != SL_OK) {
				input_error(r, in, NULL, st, err);
				return 0;
			}
		}
	}
	r->one_worker = r->jobs > 1 && stateful && !ranged;
	if (r->one_worker) {
		char text[TEXT_MAX];
		sl_format f = input_format(r, id);
		if (header_once(f))
			snprintf(text, sizeof text, "%s: %s logs are read by one worker unless they are "
				 "plain files of 4 MiB or more with their header row near the start (and "
				 "not under --state): the header row sets the columns of the rows after "
				 "it", input_name(in->path), sl_format_name(f));
		else
			snprintf(text, sizeof text, "%s: %s logs are read by one worker: their header "
				 "lines set the columns of the lines after them", input_name(in->path),
				 sl_format_name(f));
		note(r, SL_ENGINE_NOTE_ONE_WORKER, text);
	}
	if (ranged) {
		sl_input_close(src);
		rc = read_ranges(r, in, id, size);
		rc = rc < 0 ? -1 : 0;
		t->content = size;
		r->done += size;
		/* Ranges past a new, shorter end read nothing: say so rather
		 * than report the old size as read. */
		struct stat sb;
		if (stat(in->path, &sb) == 0 && (uint64_t)sb.st_size < size) {
			t->content = (uint64_t)sb.st_size;
			in->error = "the file shrank while it was read; the figures cover what it "
				    "still held";
		}
	} else {
		/* the queue's workers run while this input is read; the stop
		 * blocks queue up behind the data, so joining drains it */
		if (r->jobs > 1 && start_queue_workers(r) < 0) {
			fail(r, SL_ENOMEM, "cannot start a thread");
			sl_input_close(src);
			return -1;
		}
		if (r->jobs > 1 && header) /* before the input's first block */
			push_block(r, &r->workers[0],
				   (block_t){header, 0, header_len, id, t->skip_lines, true});
		rc = read_sequential(r, in, id, src, t, discard);
		if (r->jobs > 1)
			stop_queue_workers(r);
		r->done += size && size != UINT64_MAX ? size : sl_input_consumed(src);
		sl_input_close(src);
	}
	atomic_store(&r->in_flight, 0);
	return rc;
}

/* ---- the run ------------------------------------------------------------- */

/* Step 2: the plan, before any input is read (see the opening comment).
 * Sets *base (the inputs' bookkeeping), *reserve (the decoders' reserve),
 * *ranges (every input read in byte ranges) and *some (some input may be).
 * Returns 0, or -1 (failed). */
static int plan(run_t *r, size_t given, long jobs, size_t *base, size_t *reserve, bool *ranges,
		bool *some)
{
	size_t budget = r->opts.budget, ninputs = r->ninputs;
	/* A cap the machine cannot give is no cap: refuse it before reading. */
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (pages > 0 && page > 0 && budget / (size_t)page > (size_t)pages) {
		unsigned long long mib = (unsigned long long)pages * (unsigned long long)page >> 20;
		fail(r, SL_EBUDGET, "--memory %zu bytes is more than this machine's %llu MiB of "
		     "memory; give at most -m %lluM", budget, mib, mib);
		return -1;
	}
	/* Plan the budget before touching any input: fewer workers if the
	 * wanted count does not fit. */
	sl_budget_init(&r->budget, budget);
	/* the inputs' bookkeeping; per_jobs() is added in the plan */
	*base = ninputs * (sizeof(input_t) + sizeof(track_t));
	size_t fixed, need;
	/* The HLL precision one worker would have: every job count uses it. */
	size_t cap1 = budget / 8 < 2 * SL_LINE_MAX ? 2 * SL_LINE_MAX : budget / 8;
	cap1 = cap1 > MAX_LINE_BUFFER ? MAX_LINE_BUFFER : cap1;
	fixed = *base + per_jobs(1) + STREAM_RESERVE; /* not the probed reserve: p depends on -m only */
	r->hll_p = sl_report_hll_precision(budget > fixed + cap1 ? budget - fixed - cap1 : 0);
	/* A decoder may have what one worker leaves: an input that needs more
	 * fails when read, asking for more memory, and the others are still
	 * reported. */
	size_t room1 = *base + per_jobs(1) + cap1 + sizeof(char *) + report_min(r) + REPORT_SLACK;
	probe_inputs(&r->budget, r->paths, given,
		     budget > room1 + MIN_RESERVE ? budget - room1 : MIN_RESERVE, ranges, some,
		     reserve);
	*ranges = *ranges && jobs > 1 && !r->incremental;
	*some = *some && jobs > 1 && !r->incremental;
	if (r->opts.want_facts && *reserve < STREAM_RESERVE)
		*reserve = STREAM_RESERVE; /* a state is decoded and encoded in it */
	fixed = *base + *reserve;
	need = plan_jobs(r, budget, jobs, fixed, *ranges, 0);
	if (budget < need) {
		char more[160] = "";
		size_t report = report_min(r);
		if (r->exact && report > need / 2)
			snprintf(more, sizeof more,
				 ": --exact with --top %zu keeps %zu bytes of rows; lower --top",
				 r->top_n, report);
		else if (*base > need / 2)
			snprintf(more, sizeof more,
				 ": %zu inputs take %zu bytes of bookkeeping; give fewer at once",
				 ninputs, *base);
		fail(r, SL_EBUDGET, "memory budget %zu bytes is below the minimum of %zu bytes "
		     "(%zu KiB) for this run%s", budget, need, (need + 1023) / 1024, more);
		return -1;
	}
	return 0;
}

/*
 * Step 3: --state FILE: what earlier runs counted becomes worker 0's
 * report, and each input resumes where they stopped. The state is loaded
 * before the workers' shares are fixed, with the share one worker would
 * have (or the size it was saved with, if larger), and the other workers
 * share what it leaves: a state resumes at any job count, with fewer
 * workers when the budget cannot hold them beside it. Returns 0 or -1.
 */
static int load_state(run_t *r, long jobs, size_t base, size_t fixed, bool ranges)
{
	size_t budget = r->opts.budget;
	int err = 0;
	const char *why = NULL;
	/* Nothing else is allocated yet: the file's bytes, held while
	 * decoding, may borrow the buffers' and decoders' room; the
	 * report's size is checked against the plan below. */
	sl_budget_init_child(&r->state_mem, &r->budget, budget - base - per_jobs(1));
	sl_status st = sl_state_load(&r->loaded, &r->state_mem, r->state_path, r->share, &err, &why);
	if (st == SL_EIO && err == ENOENT) {
		r->loaded = NULL; /* the first run */
		return 0;
	}
	if (st != SL_OK) {
		if (st == SL_EIO)
			fail(r, SL_EIO, "%s: %s", r->state_path, strerror(err));
		else if (st == SL_ENOMEM || st == SL_EBUDGET)
			fail(r, SL_EBUDGET, "%s: the state needs more memory than --memory %zu "
			     "leaves beside the buffers (%s); raise --memory",
			     r->state_path, budget, why ? why : sl_strerror(st));
		else
			fail(r, SL_ECORRUPT, "%s: not a valid state: %s", r->state_path,
			     why ? why : sl_strerror(st));
		return -1;
	}
	/* worker 0's report is the state's: it gets a worker's share, or what
	 * it holds now if that is more (its tables grow as keys arrive, so
	 * what it was saved with is only the cap it had then) */
	size_t held = r->state_mem.used > r->share ? r->state_mem.used : r->share;
	size_t need = plan_jobs(r, budget, jobs, fixed, ranges, held);
	if (budget < need) {
		fail(r, SL_EBUDGET, "%s: the state takes %zu bytes; with the buffers that needs "
		     "--memory %zu or more", r->state_path, held, need);
		return -1;
	}
	sl_report_set_limit(r->loaded->report, held);
	return 0;
}

/* The workers, the buffers, the queues and the inputs, from the plan.
 * Returns 0 or -1. */
static int allocate(run_t *r, size_t reserve)
{
	size_t budget = r->opts.budget, ninputs = r->ninputs;
	sl_budget_init_child(&r->own, &r->budget, budget);
	r->inputs = sl_calloc(&r->own, ninputs, sizeof *r->inputs);
	r->workers = sl_calloc(&r->own, (size_t)r->jobs, sizeof *r->workers);
	r->pool = sl_calloc(&r->own, (size_t)r->nbuf, sizeof *r->pool);
	r->free_bufs = sl_calloc(&r->own, (size_t)r->nbuf, sizeof *r->free_bufs);
	r->qcap = (size_t)r->nbuf + 1; /* every buffer, and the stop block */
	r->rings = sl_calloc(&r->own, (size_t)r->jobs * r->qcap, sizeof *r->rings);
	r->max_chunks = chunks_for(r->jobs);
	r->chunk_lines = sl_calloc(&r->own, r->max_chunks, sizeof *r->chunk_lines);
	int ok = r->inputs && r->workers && r->pool && r->free_bufs && r->rings && r->chunk_lines;
	/* Each worker's framer (worker 0's is also the reader's) keeps the
	 * line a buffer ends in, up to SL_LINE_MAX bytes. The framers and
	 * their storage are taken from the buffers' part of the plan (each
	 * buffer gives as much, the framers' array takes the rounding), so
	 * the reports' shares and the run's peak stay as planned. A buffer
	 * keeps more than SL_LINE_MAX bytes (see read_sequential). */
	size_t framing = (size_t)r->jobs * (FRAMER_BYTES + sizeof(sl_framer));
	size_t carve = (framing + (size_t)r->nbuf - 1) / (size_t)r->nbuf;
	r->cap -= carve;
	r->framers_bytes = carve * (size_t)r->nbuf - (size_t)r->jobs * FRAMER_BYTES;
	r->framers = ok ? sl_calloc(&r->own, 1, r->framers_bytes) : NULL;
	ok = ok && r->framers;
	for (int i = 0; ok && i < r->jobs; i++) {
		sl_framer_init(&r->framers[i], &r->own, SL_FRAMER_RUNS, SL_LINE_MAX);
		ok = sl_framer_reserve(&r->framers[i], FRAMER_BYTES) == SL_OK;
	}
	for (int i = 0; ok && i < r->nbuf; i++) {
		r->pool[i] = sl_malloc(&r->own, r->cap);
		r->free_bufs[r->nfree++] = r->pool[i];
		ok = r->pool[i] != NULL;
	}
	if (!ok) {
		fail(r, SL_ENOMEM, "cannot allocate the buffers within the budget");
		return -1;
	}
	for (int i = 0; i < r->jobs; i++) {
		r->workers[i].run = r;
		r->workers[i].index = i;
		r->workers[i].queue = (queue_t){.ring = r->rings + (size_t)i * r->qcap, .cap = r->qcap};
		sl_budget_init_child(&r->workers[i].budget, &r->budget,
				     (i == 0 && r->held ? 0 : r->share) + REPORT_SLACK);
	}
	sl_budget_init_child(&r->decoders, &r->budget, reserve);

	for (size_t i = 0; i < ninputs; i++) {
		r->inputs[i].path = r->paths[i];
		struct stat sb;
		if (strcmp(r->inputs[i].path, "-") != 0 && stat(r->inputs[i].path, &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			r->total += (uint64_t)sb.st_size;
	}
	r->track = sl_calloc(&r->own, ninputs, sizeof *r->track);
	if (!r->track) {
		fail(r, SL_ENOMEM, "too many inputs for the memory budget");
		return -1;
	}
	return 0;
}

/* The loaded state's report becomes worker 0's, its inputs are matched
 * with this run's; without a state, the inputs' identities are taken for
 * the state facts. Returns 0 or -1. */
static int resume(run_t *r)
{
	char head[SL_STATE_HEAD_BYTES];
	size_t got;
	int compressed;
	if (!r->loaded) {
		if (r->opts.want_facts)
			for (size_t i = 0; i < r->ninputs; i++)
				fingerprint(r, r->inputs[i].path, &r->track[i].fp, head, &got,
					    &compressed);
		return 0;
	}
	sl_format f = sl_report_format(r->loaded->report);
	const char *had = sl_report_format_spec(r->loaded->report);
	if ((r->mixed || sl_format_spec_is_mix(had)) &&
	    (!r->mixed || f != r->format || strcmp(had, r->spec) != 0)) {
		/* a mix resumes only as the same mix: each format's lines are
		 * where that format put them */
		char a[512], b[512];
		fail(r, SL_EMISMATCH, "%s holds a report of %s logs, and this run reads %s: give "
		     "the same -f before the same inputs, or use another state file", r->state_path,
		     sl_format_describe(f, had, a, sizeof a),
		     r->format == SL_FMT_AUTO ? "-f auto"
					      : sl_format_describe(r->format, r->spec, b, sizeof b));
		return -1;
	}
	/* one format: the same one, with the same string (a log-format, the
	 * format inside syslog messages, JSON mappings), else it is found
	 * here and not when the reports fail to merge after the reading */
	if (r->format != SL_FMT_AUTO && !r->mixed &&
	    (r->format != f || strcmp(r->spec ? r->spec : "", had) != 0)) {
		char a[2 * SPEC_MAX], b[2 * SPEC_MAX];
		fail(r, SL_EMISMATCH, "%s holds a report of %s logs, not %s: give the state's "
		     "format, or use another state file", r->state_path,
		     format_words(f, had, a, sizeof a), format_words(r->format, r->spec, b, sizeof b));
		return -1;
	}
	r->format_from_state = r->format == SL_FMT_AUTO;
	if (r->format_from_state)
		r->spec = had;	/* the loaded report's, alive as long as the run */
	r->format = f;
	r->workers[0].report = r->loaded->report;
	sl_plan want, other;
	run_plan(r, f, &want);
	const sl_plan *have = sl_report_plan(r->loaded->report);
	if (!sl_plan_equal(have, &want)) {
		bool v4xx = r->opts.visitors_4xx;
		run_plan(r, f, &other);
		sl_plan_visitors_4xx(&other, !v4xx);
		if ((!r->plan_given || r->opts.plan_adds) && sl_plan_equal(have, &other))
			fail(r, SL_EMISMATCH, "%s counted unique visitors %s 4xx responses; resume "
			     "it %s --4xx-visitors", r->state_path, v4xx ? "without" : "with",
			     v4xx ? "without" : "with");
		else
			fail(r, SL_EMISMATCH, "%s holds a report of another plan (its items differ "
			     "from this run's); resume it with the same report options, or use "
			     "another state file", r->state_path);
		return -1;
	}
	r->nmap = r->loaded->ninputs + 1;
	r->map = sl_calloc(&r->own, r->nmap, sizeof *r->map);
	if (!r->map) {
		fail(r, SL_ENOMEM, "%s: too many inputs for the memory budget", r->state_path);
		return -1;
	}
	r->nall = match_inputs(r, r->inputs, r->ninputs, r->map);
	if (r->nall == SIZE_MAX)
		return -1;
	sl_report_remap_inputs(r->workers[0].report, r->map, (uint32_t)r->loaded->ninputs);
	return 0;
}

/* Frees the framers with the read buffers they were carved from. */
static void free_framers(run_t *r)
{
	for (int i = 0; r->framers && i < r->jobs; i++)
		sl_framer_free(&r->framers[i]);
	if (r->framers)
		sl_free(&r->own, r->framers, r->framers_bytes);
	r->framers = NULL;
}

/* Step 5: the workers' reports merge into worker 0's in worker order. The
 * read buffers are freed first; worker 0's report may then grow into all
 * the budget no part holds (less what the rows and the state facts will
 * take), and each worker's tables are freed as they are merged, so worker
 * tables whose union fits stay exact. Every thread has ended, so what is
 * free is the same on every run. */
static void merge(run_t *r)
{
	r->threads_peak = parts_peak(r);
	r->budget.peak = r->budget.used; /* the root's peak from here on */
	r->merged = true;
	for (int i = 0; i < r->nbuf; i++) {
		sl_free(&r->own, r->pool[i], r->cap);
		r->pool[i] = NULL;
	}
	free_framers(r);
	sl_report *rep = r->workers[0].report;
	size_t after = r->top_n * sizeof(sl_topk_row) +
		       (r->ninputs + (r->loaded ? r->loaded->ninputs : 0)) *
			       (sizeof(input_t) + sizeof(sl_state_input)) +
		       REPORT_SLACK;
	/* What the rows and the facts will need is set aside first; worker 0's
	 * report may then take whatever the root budget has free, which grows
	 * as each merged part of each worker is freed (sl_report_merge_free) */
	void *aside = sl_malloc(&r->own, after);
	sl_budget *b0 = r->loaded ? &r->state_mem : &r->workers[0].budget;
	if (r->jobs > 1) {
		sl_budget_set_limit(b0, r->budget.limit);
		if (sl_report_bytes(rep) < r->budget.limit)
			sl_report_set_limit(rep, r->budget.limit);
	}
	for (int i = 1; i < r->jobs; i++) {
		sl_status mst = sl_report_merge_free(rep, r->workers[i].report);
		if (mst != SL_OK) {
			/* the groups of --by may not fit the budget twice: say so
			 * rather than report without a worker's lines */
			fail(r, mst, "cannot merge the workers' reports: %s; raise --memory or "
			     "give fewer --by", sl_strerror(mst));
			sl_report_free(r->workers[i].report);
		}
		r->workers[i].report = NULL;
	}
	sl_free(&r->own, aside, after);
	sl_report_add_oversized(rep, r->reader_oversized);
	r->rep = rep;
}

/* Step 6: --exact's tables, the per-input results and the state facts.
 * Returns 0 or -1. */
static int finish(run_t *r)
{
	sl_report *rep = r->rep;
	r->readable = r->loaded != NULL; /* anything to report on? */
	for (size_t i = 0; i < r->ninputs; i++) /* read whole, or in part */
		r->readable |= r->inputs[i].error == NULL || r->track[i].content > 0 ||
			       r->track[i].lines > 0;
	if (!r->readable) /* every input failed, and said so: no empty report */
		return 0;
	if (sl_report_is_exact(rep) && sl_report_finish_exact(rep) != SL_OK) {
		/* no figure is given rather than a wrong one */
		sl_status es = sl_report_exact_status(rep);
		if (es == SL_EIO && sl_report_exact_errno(rep) == ENOSPC)
			fail(r, SL_EIO, "%s: no space left for --exact's temporary runs; free space "
			     "or choose another --tmp", r->tmpdir);
		else if (es == SL_EIO)
			fail(r, SL_EIO, "%s: temporary file: %s", r->tmpdir,
			     strerror(sl_report_exact_errno(rep)));
		else
			fail(r, es, "--exact: %s", sl_strerror(es));
		return -1;
	}
	for (size_t i = 0; i < r->ninputs; i++) {
		r->inputs[i].resumed_at = r->track[i].skip;
		r->inputs[i].bytes_read = r->track[i].content - r->track[i].unfed;
	}
	if (!r->opts.want_facts)
		return 0;
	/* The inputs the report speaks of: this run's, then the loaded
	 * state's that this run did not see. */
	size_t nall = r->nall, ninputs = r->ninputs;
	input_t *all = nall > ninputs ? sl_calloc(&r->own, nall, sizeof *all) : r->inputs;
	r->all = all;
	r->facts = sl_calloc(&r->own, nall, sizeof *r->facts);
	if (!all || !r->facts) {
		fail(r, SL_ENOMEM, "no memory left in the budget to save the state");
		return -1;
	}
	for (size_t i = 0; i < ninputs; i++) {
		all[i] = r->inputs[i];
		r->facts[i] = r->track[i].fp;
		r->facts[i].consumed = r->track[i].skip + r->track[i].content - r->track[i].unfed;
		r->facts[i].lines = r->track[i].lines;
	}
	for (size_t j = 0; r->loaded && j < r->loaded->ninputs; j++)
		if (r->map[j] >= ninputs) {
			r->facts[r->map[j]] = r->loaded->inputs[j];
			all[r->map[j]].path = r->loaded->inputs[j].path;
			all[r->map[j]].error = r->loaded->inputs[j].error;
		}
	for (size_t i = 0; i < nall; i++) {
		r->facts[i].path = all[i].path;
		r->facts[i].error = all[i].error;
	}
	return 0;
}

/* The format of the head of input `path`, when it is a regular file (a
 * pipe cannot be read twice); SL_FMT_AUTO when it cannot be read (the
 * reader then detects on its first data, and says why it cannot read). */
static sl_format peek_format(run_t *r, const char *path, const char **spec)
{
	*spec = NULL;
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return SL_FMT_AUTO;
	enum { HEAD = 64 * 1024 };
	/* before the run's budget is planned: a budget of its own, of the
	 * run's size, emptied before the plan takes anything */
	sl_budget scratch;
	sl_budget_init(&scratch, r->opts.budget);
	sl_input *src;
	int err = 0;
	char *buf = sl_malloc(&scratch, HEAD);
	sl_format f = SL_FMT_AUTO;
	if (buf && sl_input_open(&src, &scratch, path, &err) == SL_OK) {
		size_t len = 0, got = 1;
		while (len < HEAD && got &&
		       sl_input_read(src, buf + len, HEAD - len, &got, &err) == SL_OK)
			len += got;
		sl_input_close(src);
		if (len)
			f = sl_format_detect_spec(buf, len, spec);
	}
	sl_free(&scratch, buf, HEAD);
	return f;
}

/*
 * A format per input (opts.input_formats): when every input has the same
 * format and spec, the run is of that one format, as if opts.format had
 * said it. Else a mix: each -f auto input is detected from its head (a
 * stream cannot be: refused), the formats are listed in r->mix in the
 * order the inputs first use them (sl_format_mix_add: the first is the
 * report's format and plan), each input gets its unit, and the caller's
 * plan is checked against each format, naming an input read in it.
 * Returns 0, or -1 after fail().
 */
static int resolve_formats(run_t *r)
{
	r->spec = r->opts.format_spec;
	if (!r->in_fmt)
		return 0;
	bool same = true;
	for (size_t i = 1; i < r->ninputs && same; i++) {
		const char *a = r->in_spec[0] ? r->in_spec[0] : "", *b = r->in_spec[i] ? r->in_spec[i] : "";
		same = r->in_fmt[i] == r->in_fmt[0] && strcmp(a, b) == 0;
	}
	if (same) { /* one format: as opts.format and opts.format_spec */
		r->format = r->in_fmt[0];
		r->spec = r->in_spec[0];
		r->in_fmt = NULL;
		return 0;
	}
	r->mix[0] = '\0';
	for (size_t i = 0; i < r->ninputs; i++) {
		sl_format f = r->in_fmt[i];
		const char *name = input_name(r->paths[i]);
		if (f == SL_FMT_AUTO) {
			struct stat sb;
			const char *spec;
			f = peek_format(r, r->paths[i], &spec);
			if (spec)
				r->in_spec[i] = spec;
			if (f == SL_FMT_AUTO && (strcmp(r->paths[i], "-") == 0 ||
						 (stat(r->paths[i], &sb) == 0 && !S_ISREG(sb.st_mode)))) {
				fail(r, SL_EINVAL, "%s: -f auto cannot tell its format before the run "
				     "in a run of several formats (a stream is read once): give -f NAME "
				     "before it", name);
				return -1;
			}
			if (f == SL_FMT_AUTO)
				f = SL_FMT_COMBINED; /* unreadable: reading it will say why */
			else if (!sl_format_is_classic(f)) {
				char text[TEXT_MAX];
				char fname[SPEC_MAX + 16];
				snprintf(text, sizeof text, "%s: format %s (detected)", name,
					 sl_format_describe(f, r->in_spec[i], fname, sizeof fname));
				note(r, SL_ENGINE_NOTE_FORMAT, text);
			}
			r->in_fmt[i] = f;
		}
		if (f == SL_FMT_LINES) {
			fail(r, SL_EINVAL, "%s: -f lines counts whole lines; it cannot be read in one "
			     "report with record formats", name);
			return -1;
		}
		sl_status st = sl_format_mix_add(r->mix, sizeof r->mix, f, r->in_spec[i], &r->unit[i]);
		if (st != SL_OK) {
			fail(r, SL_EINVAL, "%s: %s", name,
			     st == SL_ENOMEM ? "too many formats in one run (at most 16, their "
					       "strings 4 KiB in all)"
					     : "a format's string may not hold the byte 0x01");
			return -1;
		}
	}
	uint32_t n = sl_format_mix_count(r->mix);
	sl_format first = SL_FMT_AUTO;
	char us[SPEC_MAX + 1];
	sl_budget scratch;
	sl_budget_init(&scratch, r->opts.budget);
	for (uint32_t k = 0; k < n; k++) {
		sl_format f;
		if (sl_format_mix_unit(r->mix, k, &f, us, sizeof us) != SL_OK) {
			fail(r, SL_EINVAL, "cannot list the formats");
			return -1;
		}
		if (k == 0)
			first = f;
		size_t i = 0;
		while (r->unit[i] != k)
			i++;
		if (check_plan(r, &scratch, f, us, r->paths[i]) < 0)
			return -1;
		r->unit_stateful[k] = unit_stateful(r, f, us);
	}
	r->format = first;
	if (n == 1) { /* -f auto found the other inputs' format */
		sl_format_mix_unit(r->mix, 0, &first, us, sizeof us);
		memmove(r->mix, us, strlen(us) + 1);
		r->spec = r->mix;
		r->in_fmt = NULL;
		return 0;
	}
	r->mixed = true;
	r->spec = r->mix;
	return 0;
}

/* After input i: in a mix, a format that parsed none of the input's lines
 * (and failed on some) was the wrong one; the input says so. */
static void check_parsed(run_t *r, size_t i)
{
	input_t *in = &r->inputs[i];
	if (!r->mixed || in->error || atomic_load(&r->track[i].good) ||
	    !atomic_load(&r->track[i].bad))
		return;
	snprintf(in->why, sizeof in->why, "no line parsed as %s (%" PRIu64 " malformed): give "
		 "its format with -f before it", sl_format_name(r->in_fmt[i]),
		 atomic_load(&r->track[i].bad));
	in->error = in->why;
}

static void run(run_t *r, size_t given)
{
	const sl_engine_opts *o = &r->opts;
	if (r->exact && o->want_facts) {
		fail(r, SL_EINVAL, "--exact keeps its tables on disk and cannot be saved; drop "
		     "--save/--state or --exact");
		return;
	}
	if (o->want_facts) {
		given = drop_same_files(r, r->paths, given);
		r->ninputs = given ? given : 1;
	}
	long jobs = o->jobs < 1 ? 1 : o->jobs > MAX_JOBS ? MAX_JOBS : o->jobs, requested = jobs;
	if (resolve_formats(r) < 0)
		return;
	/* -f auto on files: the format now, for the formats a header line
	 * programs, which one worker must read in order */
	if (r->format == SL_FMT_AUTO && !r->state_path) {
		const char *spec;
		sl_format f = peek_format(r, r->paths[0], &spec);
		if (f != SL_FMT_AUTO) {
			r->format = f;
			if (spec)
				r->spec = spec;
			r->format_peeked = true;
			format_note(r, f, spec);
		}
	}
	if (!r->mixed && sl_format_stateful(r->format) && !header_once(r->format) && jobs > 1) {
		char text[TEXT_MAX];
		snprintf(text, sizeof text, "%s logs are read by one worker: their header lines set "
			 "the columns of the lines after them", sl_format_name(r->format));
		note(r, SL_ENGINE_NOTE_ONE_WORKER, text);
		jobs = requested = 1;
	}
	size_t base, reserve;
	bool ranges, some;
	if (plan(r, given, jobs, &base, &reserve, &ranges, &some) < 0)
		return;
	if (!r->mixed && header_once(r->format) && r->jobs > 1 && !some) {
		/* a CSV or TSV log none of whose inputs is read in ranges: one
		 * worker, with the whole budget */
		char text[TEXT_MAX];
		snprintf(text, sizeof text, "%s logs are read by one worker unless they are plain "
			 "files of 4 MiB or more (and not under --state): their header row sets the "
			 "columns of the rows after it", sl_format_name(r->format));
		note(r, SL_ENGINE_NOTE_ONE_WORKER, text);
		jobs = requested = 1;
		if (plan(r, given, jobs, &base, &reserve, &ranges, &some) < 0)
			return;
	}
	if (r->state_path && load_state(r, jobs, base, base + reserve, ranges) < 0)
		return;
	if (r->jobs < requested) {
		char text[TEXT_MAX];
		snprintf(text, sizeof text, "--memory %zu holds %d worker%s%s%s, not %ld", o->budget,
			 r->jobs, r->jobs == 1 ? "" : "s", r->loaded ? " beside the state " : "",
			 r->loaded ? r->state_path : "", requested);
		note(r, SL_ENGINE_NOTE_FEWER_JOBS, text);
	}
	r->nall = r->ninputs;
	if (allocate(r, reserve) < 0 || resume(r) < 0)
		return;
	for (size_t i = 0; i < r->ninputs; i++) {
		const input_t *in = &r->inputs[i];
		if (canceled(r) || read_input(r, &r->inputs[i], (uint32_t)i) < 0 ||
		    atomic_load(&r->stop))
			break;
		check_parsed(r, i);
		if (in->error) {
			char text[TEXT_MAX];
			snprintf(text, sizeof text, "%s: %s", input_name(in->path), in->error);
			note(r, SL_ENGINE_NOTE_INPUT_ERROR, text);
		}
	}
	if (r->status == SL_OK && atomic_load(&r->stop)) {
		fail(r, SL_ECANCELED, "canceled");
		return;
	}
	if (r->status != SL_OK || ensure_reports(r, "", 0, false) < 0)
		return;
	merge(r);
	finish(r);
}

static sl_status run_once(sl_engine **out, const sl_engine_opts *opts, const char *const *paths,
			  size_t npaths)
{
	sl_budget self;
	sl_budget_init(&self, SIZE_MAX);
	size_t n = npaths ? npaths : 1;
	bool per_input = opts->input_formats != NULL && npaths > 0;
	size_t bytes = sizeof(run_t) + n * sizeof(char *) +
		       (per_input ? n * (sizeof(char *) + sizeof(sl_format) + sizeof(uint32_t)) : 0);
	run_t *r = sl_calloc(&self, 1, bytes);
	*out = r;
	if (!r)
		return SL_ENOMEM;
	r->self = self;
	r->self_bytes = bytes;
	r->opts = *opts;
	r->paths = (const char **)(void *)(r + 1);
	for (size_t i = 0; i < npaths; i++)
		r->paths[i] = paths[i];
	if (!npaths)
		r->paths[0] = "-";
	if (per_input) { /* beside the paths: specs, formats, units */
		r->in_spec = r->paths + n;
		r->in_fmt = (sl_format *)(void *)(r->in_spec + n);
		r->unit = (uint32_t *)(void *)(r->in_fmt + n);
		for (size_t i = 0; i < n; i++) {
			r->in_fmt[i] = opts->input_formats[i];
			r->in_spec[i] = opts->input_specs ? opts->input_specs[i] : opts->format_spec;
		}
	}
	r->ninputs = npaths ? npaths : 1;
	r->format = opts->format;
	r->plan_given = opts->plan != NULL;
	if (opts->plan)
		r->plan = *opts->plan;
	r->exact = opts->plan ? opts->plan->exact : opts->exact;
	r->tmpdir = opts->tmpdir ? opts->tmpdir : "/tmp";
	r->top_n = opts->top_n;
	r->incremental = opts->state_path != NULL;
	r->state_path = opts->state_path;
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->error_mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	pthread_condattr_t monotonic;
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&r->finished_cv, &monotonic);
	pthread_condattr_destroy(&monotonic);
	run(r, npaths);
	return r->status;
}

/* Should the run r be made again by one worker (see sl_engine_run)? Its
 * workers' tables lost exactness, and its inputs are regular files that
 * were read whole, of at most SL_ENGINE_AGAIN times the budget in all. */
static bool again_alone(const run_t *r)
{
	const sl_report *rep = sl_engine_report(r);
	if (r->status != SL_OK || r->jobs < 2 || !rep || r->state_path ||
	    sl_report_all_exact(rep))
		return false;
	uint64_t bytes = 0;
	for (size_t i = 0; i < r->ninputs; i++) {
		const input_t *in = &r->inputs[i];
		struct stat st;
		if (in->error || strcmp(in->path, "-") == 0 || stat(in->path, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			return false;
		bytes += in->bytes_read;
	}
	return bytes / SL_ENGINE_AGAIN <= r->opts.budget;
}

sl_status sl_engine_run(sl_engine **out, const sl_engine_opts *opts, const char *const *paths,
			size_t npaths)
{
	sl_status st = run_once(out, opts, paths, npaths);
	sl_engine *r = *out;
	if (!r || !again_alone(r))
		return st;
	char text[TEXT_MAX];
	snprintf(text, sizeof text, "%d workers could not keep every table exact in their shares "
		 "of --memory %zu; reading the input%s again with one worker",
		 r->jobs, opts->budget, r->ninputs == 1 ? "" : "s");
	note(r, SL_ENGINE_NOTE_AGAIN, text);
	sl_engine_opts one = *opts;
	one.jobs = 1;
	one.note = NULL;
	sl_engine_free(r);
	return run_once(out, &one, paths, npaths);
}

const char *sl_engine_error(const sl_engine *e)
{
	return e->error;
}

sl_report *sl_engine_report(const sl_engine *e)
{
	return e->status == SL_OK && e->readable ? e->rep : NULL;
}

const sl_engine_input *sl_engine_inputs(const sl_engine *e, size_t *n, size_t *this_run)
{
	size_t mine = e->inputs ? e->ninputs : 0;
	if (this_run)
		*this_run = mine;
	if (e->all) {
		*n = e->nall;
		return e->all;
	}
	*n = mine;
	return e->inputs;
}

const sl_state_input *sl_engine_facts(const sl_engine *e, size_t *n)
{
	*n = e->facts ? e->nall : 0;
	return e->facts;
}

int sl_engine_jobs(const sl_engine *e)
{
	return e->jobs;
}

sl_format sl_engine_format(const sl_engine *e)
{
	return e->format_peeked ? SL_FMT_AUTO : e->format;
}

sl_budget *sl_engine_budget(sl_engine *e)
{
	return &e->own;
}

size_t sl_engine_peak(const sl_engine *e)
{
	return run_peak(e);
}

void sl_engine_free(sl_engine *e)
{
	if (!e)
		return;
	run_t *r = e;
	for (int i = 0; r->pool && i < r->nbuf; i++)
		if (r->pool[i])
			sl_free(&r->own, r->pool[i], r->cap);
	free_framers(r);
	/* workers' reports not merged (a way out during the run); worker 0's
	 * is rep, or the loaded state's */
	sl_report *rep = r->rep ? r->rep : r->workers ? r->workers[0].report : NULL;
	for (int i = 0; r->workers && i < r->jobs; i++)
		if (r->workers[i].report && r->workers[i].report != rep &&
		    (!r->loaded || r->workers[i].report != r->loaded->report))
			sl_report_free(r->workers[i].report);
	if (r->loaded)
		sl_state_free(r->loaded); /* rep is its report */
	else
		sl_report_free(rep);
	sl_free(&r->own, r->rings, (size_t)r->jobs * r->qcap * sizeof *r->rings);
	sl_free(&r->own, r->chunk_lines, r->max_chunks * sizeof *r->chunk_lines);
	sl_free(&r->own, r->free_bufs, (size_t)r->nbuf * sizeof *r->free_bufs);
	sl_free(&r->own, r->pool, (size_t)r->nbuf * sizeof *r->pool);
	sl_free(&r->own, r->workers, (size_t)r->jobs * sizeof *r->workers);
	if (r->facts)
		sl_free(&r->own, r->facts, r->nall * sizeof *r->facts);
	if (r->all && r->all != r->inputs)
		sl_free(&r->own, r->all, r->nall * sizeof *r->all);
	if (r->map)
		sl_free(&r->own, r->map, r->nmap * sizeof *r->map);
	sl_free(&r->own, r->track, r->ninputs * sizeof *r->track);
	sl_free(&r->own, r->inputs, r->ninputs * sizeof *r->inputs);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->error_mu);
	pthread_cond_destroy(&r->cv);
	pthread_cond_destroy(&r->finished_cv);
	sl_budget self = r->self;
	sl_free(&self, r, r->self_bytes);
}
