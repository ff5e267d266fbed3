/*
 * sluice.c: the sluice command: `sluice [OPTION]... [FILE]...`, and the
 * dispatcher for its subcommands (sort, dedup, merge, report).
 *
 * Work is shared among -j workers, each with its own sl_report in its own
 * share of the budget; at the end the reports are merged with
 * sl_report_merge, so every exact figure is the same for any -j and the
 * HLL registers too. Two ways to share:
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
 *            budget).
 *   reader   stdin, pipes, compressed and small files: this thread reads and
 *            decompresses, fills a pool buffer, cuts it at its last
 *            newline, counts the lines (for sample line numbers) and hands
 *            block k to worker k % jobs through that worker's queue: where
 *            a block ends and who reads it depend on the bytes only. With
 *            -j 1 there is no queue: blocks are fed directly.
 *
 * The budget (-m) covers everything. The split:
 *
 *     buffers   (jobs + 1) buffers (jobs when every input will be read in
 *               ranges: no queue; 1 with -j 1) of max(2 * SL_LINE_MAX,
 *               budget / 8 / buffers, capped at 1 MiB) bytes
 *     decoders  the reserve: what the hungriest input's decoder takes, found
 *               before planning by opening each named file and reading a
 *               little (probe_inputs; gzip ~105 KiB, zstd ~2.3 MiB at the
 *               zstd tool's default level); a quarter of the budget for
 *               stdin and other streams. Decoders draw on it alone (a child
 *               budget), so they never take the reports' memory; an input
 *               whose decoder does not fit fails with a message asking for
 *               more memory, and the others are still read
 *     reports   the rest, split evenly among the workers
 *
 * If the default job count does not fit, fewer workers are used; a budget
 * too small for even one is refused (exit 2) before any input is read.
 *
 * A buffer holds at least two maximal lines, so a line of up to SL_LINE_MAX
 * bytes is always complete in it; a line that fills a whole buffer without a
 * newline is skipped to its end and counted oversized.
 *
 * Exit status (as grep): 0 when every input was read, 2 when an input could
 * not be opened or read, on a usage error, or when the budget is below the
 * minimum.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BUDGET ((size_t)16 << 20) /* a cap: what a run touches follows its data */
#define STREAM_RESERVE ((size_t)128 << 10) /* decoders of unnamed inputs: gzip fits */
#define MIN_RESERVE ((size_t)4 << 10)	     /* the least decoder reserve */
#define MAX_LINE_BUFFER ((size_t)1 << 20)
#define EXIT_TROUBLE 2

#define MAX_JOBS 256
#define RANGE_MIN ((uint64_t)4 << 20)
#define CHUNK_MIN ((uint64_t)1 << 20)
#define CHUNKS_PER_JOB 32
#define MAX_CHUNKS 1024
_Static_assert(MAX_JOBS <= MAX_CHUNKS, "every worker can have a chunk");
#define CHUNK_ID 0x80000000u	/* sample input ids while reading chunks */
#define REPORT_SLACK (16 * 1024) /* per worker: a range input, a loaded state's inputs */

typedef struct run run_t;

/* A block of complete lines handed to a worker. */
typedef struct {
	char *buf;	     /* a pool buffer, returned when done; NULL = stop */
	size_t off, len;
	uint32_t input;
	uint64_t lines_before; /* lines of this input before the block */
} block_t;

/* What a run knows of one input for state files (--save, --state). */
typedef struct track {
	sl_state_input fp;  /* identity: dev, ino, size, head of the content */
	uint64_t skip;	    /* content bytes already counted by the loaded state */
	uint64_t skip_lines; /* the lines in them (0: unknown, a version-1 state) */
	uint64_t lines;	    /* lines counted in all, skip_lines included */
	uint64_t content;   /* content bytes read this run */
	uint64_t unfed;	    /* of which, an unterminated last line left for later */
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
	cli_input *in;
	uint64_t start, end; /* the lines starting in [start, end) are this chunk's */
	char *buf;
	uint64_t lines;	     /* lines read in the chunk */
} worker_t;

struct run {
	sl_budget budget;
	sl_budget own;	     /* child of budget: what the main thread allocates */
	sl_budget state_mem; /* child of budget: the loaded --state (worker 0's report) */
	size_t held;	     /* bytes that report may hold; 0 without a state */
	sl_budget decoders;  /* child of budget: the inputs' decoders (the reserve) */
	sl_format format;
	int jobs;
	size_t share;	     /* report bytes per worker */
	int exact;	     /* --exact */
	int incremental;     /* --state: leave an unterminated last line for next time */
	struct track *track; /* per input: where to start, what was read */
	sl_state *loaded;    /* --state FILE as it was, its report is worker 0's */
	const char *state_path;
	int format_from_state; /* -f auto, and the format came from the state */
	const char *tmpdir;  /* --tmp, $TMPDIR, /tmp */
	size_t top_n;
	int hll_p;	     /* the same for every worker, whatever -j */
	size_t cap;	     /* bytes per buffer */
	int nbuf;
	char **pool;
	worker_t *workers;
	int quiet;
	/* the reader's queues (one per worker, in the workers) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	block_t *rings;	     /* jobs rings of qcap blocks each */
	size_t qcap;
	uint64_t blocks;     /* blocks handed out: the next goes to blocks % jobs */
	char **free_bufs;
	int nfree;
	/* oversized lines the reader skipped, for worker 0 at the end */
	uint64_t reader_oversized;
	/* progress */
	int show_progress;
	uint64_t total;	     /* bytes of all regular-file inputs, 0 if unknown */
	uint64_t done;	     /* bytes of inputs finished */
	_Atomic uint64_t in_flight; /* bytes of the current input so far */
	int finished;		     /* under mu: range workers done with the input */
	pthread_cond_t finished_cv;  /* signalled as each range worker ends */
	/* the current input's chunks (ranges) */
	uint64_t size;
	uint32_t nchunks;
	_Atomic int failed;	     /* a chunk could not be read: claim no more */
	uint64_t *chunk_lines;	     /* max_chunks line counts (from the budget) */
	uint32_t max_chunks;
	struct timespec start, last_draw;
	int drawn;
};

static const char *prog = "sluice";

/* Report options set by the command line (main's option block). */
static bool opt_visitors_4xx; /* --4xx-visitors */

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
		"  -f, --format NAME   auto (default), combined, common, vcombined, vcommon;\n"
		"                      or lines: every whole line is a key (distinct lines,\n"
		"                      top lines, line lengths: sort | uniq -c | sort -rn in\n"
		"                      bounded memory)\n"
		"      --json          print the report as one JSON document\n"
		"  -o, --output FILE   write the report to FILE: JSON if FILE ends in .json,\n"
		"                      text otherwise\n"
		"  -n, --top N         rows in each top list (default 10)\n"
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

/* ---- progress ------------------------------------------------------------ */

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
 * second, and only on a terminal. Called from the main thread only. */
static void progress(run_t *r)
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
	uint64_t done = r->done + atomic_load(&r->in_flight);
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

/* ---- reports --------------------------------------------------------------- */

/* Creates the workers' reports on the first data: the format is detected
 * from its first complete lines unless forced. */
static int ensure_reports(run_t *r, const char *data, size_t len)
{
	if (r->workers[r->jobs - 1].report)
		return 0;
	sl_format fmt = r->format == SL_FMT_AUTO ? sl_access_detect(data, len) : r->format;
	for (int i = 0; i < r->jobs; i++) {
		worker_t *w = &r->workers[i];
		if (w->report) /* loaded from --state */
			continue;
		sl_status st = r->exact
				       ? sl_report_new_exact(&w->report, &w->budget, fmt, r->share,
							     r->hll_p, r->tmpdir, r->top_n)
				       : sl_report_new_p(&w->report, &w->budget, fmt, r->share, r->hll_p);
		if (st != SL_OK) {
			fprintf(stderr, "%s: cannot set up the report: %s\n", prog, sl_strerror(st));
			return -1;
		}
		sl_report_visitors_4xx(w->report, opt_visitors_4xx);
	}
	return 0;
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
	size_t per = (r->exact ? sl_report_min_bytes_exact(r->top_n) : sl_report_min_bytes_p(r->hll_p)) +
		     REPORT_SLACK;
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
 * to the reports. *reserve: the decoder reserve, the most that opening and
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
static void probe_inputs(sl_budget *b, char **paths, size_t n, size_t limit, bool *ranges,
			 size_t *reserve)
{
	size_t stream = b->limit / 4 > STREAM_RESERVE ? b->limit / 4 : STREAM_RESERVE;
	stream = stream < limit ? stream : limit;
	*ranges = n > 0;
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
static void input_error(const run_t *r, cli_input *in, const sl_input *src, sl_status st,
			int err)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
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
	pthread_mutex_lock(&mu);
	if (!in->error)
		in->error = cli_input_error_text(in->why, sizeof in->why, st, err, need, suggest);
	pthread_mutex_unlock(&mu);
}

/* ---- the reader and its queue -------------------------------------------- */

static char *take_buffer(run_t *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->nfree == 0)
		pthread_cond_wait(&r->cv, &r->mu);
	char *b = r->free_bufs[--r->nfree];
	pthread_mutex_unlock(&r->mu);
	return b;
}

static void give_buffer(run_t *r, char *b)
{
	pthread_mutex_lock(&r->mu);
	r->free_bufs[r->nfree++] = b;
	pthread_cond_broadcast(&r->cv);
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

static void *queue_worker(void *arg)
{
	worker_t *w = arg;
	for (;;) {
		block_t b = pop_block(w->run, w);
		if (!b.buf)
			return NULL;
		sl_report_set_position(w->report, b.input, b.lines_before);
		sl_report_feed(w->report, b.buf + b.off, b.len);
		give_buffer(w->run, b.buf);
	}
}

/* Hands buf[off, off + len) of input id to the workers: directly with one
 * job, else through the queue (which owns buf until a worker returns it). */
static void dispatch(run_t *r, char *buf, size_t off, size_t len, uint32_t id, uint64_t *lines)
{
	if (r->jobs == 1) {
		sl_report *rep = r->workers[0].report;
		sl_report_feed(rep, buf + off, len);
		*lines = sl_report_position(rep); /* the report numbers the lines */
		return;
	}
	block_t b = {buf, off, len, id, *lines};
	*lines += sl_count_lines(buf + off, len) + (len && buf[off + len - 1] != '\n');
	push_block(r, &r->workers[r->blocks++ % (uint64_t)r->jobs], b);
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

/* Reads one input through the reader. Returns 0, or -1 on a fatal error. */
static int read_sequential(run_t *r, cli_input *in, uint32_t id, sl_input *src, track_t *t,
			   uint64_t discard)
{
	char *cur = r->jobs == 1 ? r->pool[0] : take_buffer(r);
	size_t carried = 0;
	uint64_t lines = t->skip_lines; /* lines of this input handed out so far */
	int skipping = 0, err = 0;
	sl_status pending = SL_OK;
	if (r->workers[0].report)
		sl_report_set_position(r->workers[0].report, id, lines);
	for (;;) {
		size_t got = 0;
		sl_status st = fill(src, cur + carried, r->cap - carried, &got, &err, &pending);
		if (st != SL_OK) {
			input_error(r, in, src, st, err);
			break;
		}
		atomic_store(&r->in_flight, sl_input_consumed(src));
		if (got == 0)
			break;
		if (discard) { /* content the loaded state counted already */
			size_t drop = got < discard ? got : (size_t)discard;
			discard -= drop;
			got -= drop;
			memmove(cur + carried, cur + carried + drop, got);
			if (got == 0)
				continue;
		}
		t->content += got;
		size_t n = carried + got, start = 0;
		if (skipping) {
			char *nl = memchr(cur, '\n', n);
			if (!nl) {
				carried = 0;
				continue;
			}
			skipping = 0;
			start = (size_t)(nl - cur) + 1;
		}
		char *last = n > start ? memrchr(cur + start, '\n', n - start) : NULL;
		if (!last) {
			if (n - start == r->cap) { /* one line fills the buffer */
				/* with workers it is counted in worker 0 at the
				 * end; `lines` keeps the numbering after it */
				if (r->jobs == 1 && r->workers[0].report)
					sl_report_add_oversized(r->workers[0].report, 1);
				else
					r->reader_oversized++;
				lines++;
				skipping = 1;
				carried = 0;
			} else {
				memmove(cur, cur + start, n - start);
				carried = n - start;
			}
			continue;
		}
		size_t upto = (size_t)(last - cur) + 1;
		if (!r->workers[r->jobs - 1].report) {
			if (ensure_reports(r, cur + start, upto - start) < 0)
				return -1;
			sl_report_set_position(r->workers[0].report, id, lines);
		}
		if (r->jobs == 1) {
			dispatch(r, cur, start, upto - start, id, &lines);
			carried = n - upto;
			memmove(cur, cur + upto, carried);
		} else {
			char *next = take_buffer(r);
			carried = n - upto;
			memcpy(next, cur + upto, carried);
			dispatch(r, cur, start, upto - start, id, &lines);
			cur = next;
		}
		progress(r);
	}
	if (!in->error && sl_input_shrank(src))
		in->error = "the file shrank while it was read; the figures cover what it still held";
	if (carried && !skipping && !in->error && r->incremental) {
		t->unfed = carried; /* the writer may not have finished it */
		carried = 0;
	}
	if (carried && !skipping && !in->error) {
		if (!r->workers[r->jobs - 1].report) {
			if (ensure_reports(r, cur, carried) < 0)
				return -1;
			sl_report_set_position(r->workers[0].report, id, lines);
		}
		dispatch(r, cur, 0, carried, id, &lines);
	} else if (r->jobs > 1) {
		give_buffer(r, cur);
	}
	t->lines = lines;
	return 0;
}

/* ---- byte ranges ------------------------------------------------------------ */

/* Reads the lines of chunk `chunk` ([w->start, w->end)); -1 when the input
 * failed (reported). */
static int read_chunk(worker_t *w, uint32_t chunk)
{
	run_t *r = w->run;
	sl_input *src;
	int err = 0, rc = 0;
	uint64_t from = w->start ? w->start - 1 : 0;
	w->lines = 0;
	sl_status st = sl_input_open_range(&src, &w->budget, w->in->path, from, UINT64_MAX, &err);
	if (st != SL_OK) {
		input_error(r, w->in, NULL, st, err);
		return -1;
	}
	uint64_t lines0 = w->report->lines;
	sl_report_begin_input(w->report, CHUNK_ID + chunk);
	uint64_t abs = from;	 /* file offset of buf[0] */
	size_t carried = 0;
	int leading = w->start > 0; /* skip the line begun in the previous range */
	int skipping = 0, done = 0;
	char *buf = w->buf;
	while (!done) {
		size_t got = 0;
		st = sl_input_read(src, buf + carried, r->cap - carried, &got, &err);
		if (st != SL_OK) {
			input_error(r, w->in, src, st, err);
			rc = -1;
			break;
		}
		atomic_fetch_add(&r->in_flight, got);
		size_t n = carried + got, s = 0;
		if (got == 0) { /* end of file: a last line without newline */
			if (carried && !skipping && !leading && abs < w->end)
				sl_report_feed(w->report, buf, carried);
			break;
		}
		if (leading || skipping) {
			char *nl = memchr(buf, '\n', n);
			if (!nl) {
				abs += n;
				carried = 0;
				continue;
			}
			leading = skipping = 0;
			s = (size_t)(nl - buf) + 1;
		}
		if (abs + s >= w->end) /* the next line starts in the next range */
			break;
		/* Does the line crossing our end finish in this buffer? */
		if (w->end - 1 - abs < n) {
			size_t at = (size_t)(w->end - 1 - abs);
			if (at < s)
				at = s;
			char *nl = memchr(buf + at, '\n', n - at);
			if (nl) {
				sl_report_feed(w->report, buf + s, (size_t)(nl - buf) + 1 - s);
				break;
			}
		}
		char *last = memrchr(buf + s, '\n', n - s);
		if (!last) {
			if (n - s == r->cap) {
				sl_report_add_oversized(w->report, 1);
				skipping = 1;
				abs += n;
				carried = 0;
			} else {
				memmove(buf, buf + s, n - s);
				abs += s;
				carried = n - s;
			}
			continue;
		}
		size_t upto = (size_t)(last - buf) + 1;
		sl_report_feed(w->report, buf + s, upto - s);
		carried = n - upto;
		memmove(buf, buf + upto, carried);
		abs += upto;
	}
	w->lines = w->report->lines - lines0;
	sl_input_close(src);
	return rc;
}

/* Reads chunks index, index + jobs, index + 2 jobs, ... of the input: a
 * fixed assignment, so that each worker's report (and the merged result,
 * approximate figures included) is the same on every run. */
static void *range_worker(void *arg)
{
	worker_t *w = arg;
	run_t *r = w->run;
	for (uint32_t j = (uint32_t)w->index; j < r->nchunks && !atomic_load(&r->failed);
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

static int read_ranges(run_t *r, cli_input *in, uint32_t id, uint64_t size)
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
			fprintf(stderr, "%s: cannot start a thread\n", prog);
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
	int n = 0;
	for (int k = 0; k < 32 && len; k++) {
		const char *nl = memchr(head, '\n', len);
		if (!nl)
			break;
		size_t l = (size_t)(nl - head);
		sl_access_rec rec;
		n += sl_access_parse(fmt, head, l && head[l - 1] == '\r' ? l - 1 : l, &rec, &tc) ==
		     SL_OK;
		len -= l + 1;
		head += l + 1;
	}
	return n;
}

/* With -f auto, a state's format is kept for the new lines, unless they are
 * plainly another access-log format: then every new line would count as
 * malformed, so the run is refused instead (as an explicit -f would be). */
static int format_mismatch(const run_t *r, const char *head, size_t len, sl_format *seen)
{
	sl_format f = r->loaded->report->format;
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
static size_t match_inputs(run_t *r, cli_input *inputs, size_t n, uint32_t *map)
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
			fprintf(stderr, "%s: %s holds a %s report, but %s looks %s; give -f %s to "
				"read it as %s anyway, or use another state file\n", prog,
				r->state_path, sl_format_name(st->report->format),
				cli_input_name(inputs[i].path), sl_format_name(seen),
				sl_format_name(st->report->format), sl_format_name(st->report->format));
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
static int drop_same_files(char **paths, int n, int quiet)
{
	int kept = 0;
	for (int i = 0; i < n; i++) {
		struct stat a, b;
		int dup = -1;
		if (strcmp(paths[i], "-") != 0 && stat(paths[i], &a) == 0 && S_ISREG(a.st_mode))
			for (int k = 0; k < kept && dup < 0; k++)
				if (strcmp(paths[k], "-") != 0 && stat(paths[k], &b) == 0 &&
				    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
					dup = k;
		if (dup < 0) {
			paths[kept++] = paths[i];
			continue;
		}
		if (!quiet)
			fprintf(stderr, "%s: %s is the same file as %s: read once\n", prog, paths[i],
				paths[dup]);
	}
	return kept;
}

/* The memory peak the report states: the sum of each part's own peak (the
 * main thread's, the decoders', every worker's). It bounds the true peak
 * from above and, unlike the root budget's peak, which depends on how the
 * threads' allocations interleave, it is the same on every run. */
static size_t run_peak(const run_t *r)
{
	size_t peak = r->own.peak + r->decoders.peak + r->state_mem.peak;
	for (int i = 0; i < r->jobs; i++)
		peak += r->workers[i].budget.peak;
	return peak < r->budget.limit ? peak : r->budget.limit;
}

/* ---- one input ------------------------------------------------------------- */

static int read_input(run_t *r, cli_input *in, uint32_t id)
{
	sl_input *src;
	int err = 0;
	track_t *t = &r->track[id];
	uint64_t discard = t->skip;
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
		input_error(r, in, NULL, st, err);
		return 0;
	}
	uint64_t size = sl_input_size(src);
	int rc;
	if (r->jobs > 1 && !r->incremental && !t->skip &&
	    sl_input_compression(src) == SL_COMP_NONE && size >= RANGE_MIN) {
		/* the reports need the format: detect it from the file's start */
		if (!r->workers[r->jobs - 1].report) {
			size_t got = 0;
			st = sl_input_read(src, r->pool[0], r->cap, &got, &err);
			if (st == SL_OK && ensure_reports(r, r->pool[0], got) < 0) {
				sl_input_close(src);
				return -1;
			}
		}
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
			fprintf(stderr, "%s: cannot start a thread\n", prog);
			sl_input_close(src);
			return -1;
		}
		rc = read_sequential(r, in, id, src, t, discard);
		if (r->jobs > 1)
			stop_queue_workers(r);
		r->done += size && size != UINT64_MAX ? size : sl_input_consumed(src);
		sl_input_close(src);
	}
	atomic_store(&r->in_flight, 0);
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_EXACT, OPT_TMP, OPT_SAVE, OPT_STATE, OPT_SERIES, OPT_TZ,
	       OPT_4XX };
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
		{NULL, 0, NULL, 0},
	};
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"sort", cmd_sort}, {"dedup", cmd_dedup}, {"merge", cmd_merge}, {"report", cmd_report},
	};
	cli_signals_install(); /* a save in progress is abandoned cleanly */
	if (argc > 1)
		for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].fn(argc - 1, argv + 1);

	run_t r;
	memset(&r, 0, sizeof r);
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	pthread_condattr_t monotonic;
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&r.finished_cv, &monotonic);
	pthread_condattr_destroy(&monotonic);
	size_t budget = DEFAULT_BUDGET;
	const char *output = NULL, *save_path = NULL, *state_path = NULL;
	const char *memory_arg = NULL, *top_arg = NULL;
	int json = 0, jobs_given = 0, series = CLI_SERIES_AUTO;
	bool tz_given = false;
	int32_t tz = 0;
	long top_n = 10, jobs = sysconf(_SC_NPROCESSORS_ONLN);
	int c, li = -1;
	argv[0] = (char *)prog; /* getopt's messages name argv[0], as ours name prog */
	while ((c = getopt_long(argc, argv, "m:j:f:o:n:qhV", longopts, &li)) != -1) {
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
		case 'f':
			r.format = sl_format_from_name(optarg);
			if (r.format == SL_FMT_COUNT) {
				fprintf(stderr,
					"%s: unknown format '%s' (auto, combined, common, vcombined, "
					"vcommon, lines)\n",
					prog, optarg);
				return EXIT_TROUBLE;
			}
			break;
		case OPT_JSON: json = 1; break;
		case OPT_EXACT: r.exact = 1; break;
		case OPT_TMP: r.tmpdir = optarg; break;
		case OPT_SAVE: save_path = optarg; break;
		case OPT_STATE: state_path = optarg; break;
		case 'o': output = optarg; break;
		case 'n': {
			char *end;
			top_arg = optarg;
			top_n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || top_n < 0 || top_n > 100000) {
				fprintf(stderr, "%s: invalid --top '%s'\n", prog, optarg);
				return EXIT_TROUBLE;
			}
			break;
		}
		case OPT_SERIES:
			if (cli_parse_series(prog, optarg, &series) < 0)
				return EXIT_TROUBLE;
			break;
		case OPT_TZ:
			if (cli_parse_tz(prog, optarg, &tz) < 0)
				return EXIT_TROUBLE;
			tz_given = true;
			break;
		case OPT_4XX: opt_visitors_4xx = true; break;
		case 'q': r.quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("sluice %s\n", SLUICE_VERSION); return 0;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			return EXIT_TROUBLE;
		}
	}
	/* Every path the run will write is checked before any input is read
	 * (nothing is created or truncated until it is written whole). */
	if (output && cli_outfile_check(prog, output, SL_OUTFILE_THROUGH) < 0)
		return EXIT_TROUBLE;
	if (save_path && cli_outfile_check(prog, save_path, 0) < 0)
		return EXIT_TROUBLE;
	if (state_path && cli_outfile_check(prog, state_path, 0) < 0)
		return EXIT_TROUBLE;
	if (argc == optind && !r.quiet)
		cli_note_terminal_input(prog);
	/* State files given where logs would be: report from them. */
	int nstates = 0;
	for (int i = optind; i < argc; i++)
		nstates += is_state_file(argv[i]);
	if (nstates && nstates == argc - optind) {
		char *av[24 + 1024];
		int ac = 0, nfiles = argc - optind;
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
		if (r.quiet)
			av[ac++] = "-q";
		for (int i = optind; i < argc; i++)
			av[ac++] = argv[i];
		av[ac] = NULL;
		return cmd_report(ac, av);
	}
	if (nstates) {
		fprintf(stderr, "%s: state files and logs given together: use --state FILE for the "
			"state, or '%s merge'\n", prog, prog);
		return EXIT_TROUBLE;
	}
	if (r.exact && (save_path || state_path)) {
		fprintf(stderr, "%s: --exact keeps its tables on disk and cannot be saved; "
			"drop --save/--state or --exact\n", prog);
		return EXIT_TROUBLE;
	}
	r.incremental = state_path != NULL;
	r.state_path = state_path;
	if (save_path || state_path)
		argc = optind + drop_same_files(argv + optind, argc - optind, r.quiet);
	r.tmpdir = cli_tmpdir(r.tmpdir);
	r.top_n = (size_t)top_n;
	if (jobs < 1)
		jobs = 1;
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;

	long requested = jobs;
	/* A cap the machine cannot give is no cap: refuse it before reading. */
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (pages > 0 && page > 0 && budget / (size_t)page > (size_t)pages) {
		unsigned long long mib = (unsigned long long)pages * (unsigned long long)page >> 20;
		fprintf(stderr, "%s: --memory %zu bytes is more than this machine's %llu MiB of "
			"memory; give at most -m %lluM\n", prog, budget, mib, mib);
		return EXIT_TROUBLE;
	}
	/* Plan the budget before touching any input: fewer workers if the
	 * default count does not fit. */
	sl_budget_init(&r.budget, budget);
	size_t ninputs = argc > optind ? (size_t)(argc - optind) : 1;
	/* the inputs' bookkeeping; per_jobs() is added in the plan */
	size_t base = ninputs * (sizeof(cli_input) + sizeof(track_t));
	size_t fixed, need;
	/* The HLL precision one worker would have: every -j uses it. */
	size_t cap1 = budget / 8 < 2 * SL_LINE_MAX ? 2 * SL_LINE_MAX : budget / 8;
	cap1 = cap1 > MAX_LINE_BUFFER ? MAX_LINE_BUFFER : cap1;
	fixed = base + per_jobs(1) + STREAM_RESERVE; /* not the probed reserve: p depends on -m only */
	r.hll_p = sl_report_hll_precision(budget > fixed + cap1 ? budget - fixed - cap1 : 0);
	/* A decoder may have what one worker leaves: an input that needs more
	 * fails when read, asking for more memory, and the others are still
	 * reported. */
	size_t room1 = base + per_jobs(1) + cap1 + sizeof(char *) +
		       (r.exact ? sl_report_min_bytes_exact(r.top_n) : sl_report_min_bytes_p(r.hll_p)) +
		       REPORT_SLACK;
	bool ranges;
	size_t reserve;
	probe_inputs(&r.budget, argv + optind, argc > optind ? ninputs : 0,
		     budget > room1 + MIN_RESERVE ? budget - room1 : MIN_RESERVE, &ranges, &reserve);
	ranges = ranges && jobs > 1 && !r.incremental;
	if ((save_path || state_path) && reserve < STREAM_RESERVE)
		reserve = STREAM_RESERVE; /* a state is decoded and encoded in it */
	fixed = base + reserve;
	need = plan_jobs(&r, budget, jobs, fixed, ranges, 0);
	if (budget < need) {
		fprintf(stderr, "%s: memory budget %zu bytes is below the minimum of %zu bytes (%zu KiB) "
			"for this run", prog, budget, need, (need + 1023) / 1024);
		size_t report = r.exact ? sl_report_min_bytes_exact(r.top_n) : sl_report_min_bytes_p(r.hll_p);
		if (r.exact && report > need / 2)
			fprintf(stderr, ": --exact with --top %zu keeps %zu bytes of rows; lower --top",
				r.top_n, report);
		else if (base > need / 2)
			fprintf(stderr, ": %zu inputs take %zu bytes of bookkeeping; give fewer at once",
				ninputs, base);
		fputc('\n', stderr);
		return EXIT_TROUBLE;
	}

	/* Everything below is freed at done:, whatever the way out. */
	int status = 0;
	cli_input *inputs = NULL, *all = NULL; /* all: the inputs the report speaks of */
	sl_state_input *facts = NULL;	       /* what --save / --state record of them */
	sl_report *rep = NULL;
	sl_topk_row *rows = NULL;
	uint32_t *map = NULL;
	size_t nrows = 0, nall = ninputs, nmap = 0; /* nall: these, then the state's unseen */

	/* --state FILE: what earlier runs counted becomes worker 0's report,
	 * and each input resumes where they stopped. The state is loaded
	 * before the workers' shares are fixed, with the share one worker
	 * would have (or the size it was saved with, if larger), and the other
	 * workers share what it leaves: a state resumes at any -j, with fewer
	 * workers when the budget cannot hold them beside it. */
	if (state_path) {
		int err = 0;
		const char *why = NULL;
		/* Nothing else is allocated yet: the file's bytes, held while
		 * decoding, may borrow the buffers' and decoders' room; the
		 * report's size is checked against the plan below. */
		sl_budget_init_child(&r.state_mem, &r.budget, budget - base - per_jobs(1));
		sl_status st = sl_state_load(&r.loaded, &r.state_mem, state_path, r.share, &err, &why);
		if (st == SL_EIO && err == ENOENT) {
			r.loaded = NULL; /* the first run */
		} else if (st != SL_OK) {
			if (st == SL_EIO)
				fprintf(stderr, "%s: %s: %s\n", prog, state_path, strerror(err));
			else if (st == SL_ENOMEM || st == SL_EBUDGET)
				fprintf(stderr, "%s: %s: the state needs more memory than --memory %zu "
					"leaves beside the buffers (%s); raise --memory\n",
					prog, state_path, budget, why ? why : sl_strerror(st));
			else
				fprintf(stderr, "%s: %s: not a valid state: %s\n", prog, state_path,
					why ? why : sl_strerror(st));
			{ status = EXIT_TROUBLE; goto done; }
		}
		if (r.loaded) {
			/* worker 0's report is the state's: it gets a worker's
			 * share, or what it holds now if that is more (its tables
			 * grow as keys arrive, so what it was saved with is only
			 * the cap it had then) */
			size_t held = r.state_mem.used > r.share ? r.state_mem.used : r.share;
			need = plan_jobs(&r, budget, jobs, fixed, ranges, held);
			if (budget < need) {
				fprintf(stderr, "%s: %s: the state takes %zu bytes; with the buffers "
					"that needs --memory %zu or more\n", prog, state_path, held, need);
				{ status = EXIT_TROUBLE; goto done; }
			}
			sl_report_set_limit(r.loaded->report, held);
		}
	}
	if (jobs_given && r.jobs < requested && !r.quiet)
		fprintf(stderr, "%s: --memory %zu holds %d worker%s%s%s, not %ld\n", prog, budget,
			r.jobs, r.jobs == 1 ? "" : "s", r.loaded ? " beside the state " : "",
			r.loaded ? state_path : "", requested);

	sl_budget_init_child(&r.own, &r.budget, budget);
	inputs = sl_calloc(&r.own, ninputs, sizeof *inputs);
	r.workers = sl_calloc(&r.own, (size_t)r.jobs, sizeof *r.workers);
	r.pool = sl_calloc(&r.own, (size_t)r.nbuf, sizeof *r.pool);
	r.free_bufs = sl_calloc(&r.own, (size_t)r.nbuf, sizeof *r.free_bufs);
	r.qcap = (size_t)r.nbuf + 1; /* every buffer, and the stop block */
	r.rings = sl_calloc(&r.own, (size_t)r.jobs * r.qcap, sizeof *r.rings);
	r.max_chunks = chunks_for(r.jobs);
	r.chunk_lines = sl_calloc(&r.own, r.max_chunks, sizeof *r.chunk_lines);
	int ok = inputs && r.workers && r.pool && r.free_bufs && r.rings && r.chunk_lines;
	for (int i = 0; ok && i < r.nbuf; i++) {
		r.pool[i] = sl_malloc(&r.own, r.cap);
		r.free_bufs[r.nfree++] = r.pool[i];
		ok = r.pool[i] != NULL;
	}
	if (!ok) {
		fprintf(stderr, "%s: cannot allocate the buffers within the budget\n", prog);
		{ status = EXIT_TROUBLE; goto done; }
	}
	for (int i = 0; i < r.jobs; i++) {
		r.workers[i].run = &r;
		r.workers[i].index = i;
		r.workers[i].queue = (queue_t){.ring = r.rings + (size_t)i * r.qcap, .cap = r.qcap};
		sl_budget_init_child(&r.workers[i].budget, &r.budget,
				     (i == 0 && r.held ? 0 : r.share) + REPORT_SLACK);
	}
	sl_budget_init_child(&r.decoders, &r.budget, reserve);

	for (size_t i = 0; i < ninputs; i++) {
		inputs[i].path = argc > optind ? argv[optind + (int)i] : "-";
		struct stat sb;
		if (strcmp(inputs[i].path, "-") != 0 && stat(inputs[i].path, &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			r.total += (uint64_t)sb.st_size;
	}
	r.track = sl_calloc(&r.own, ninputs, sizeof *r.track);
	if (!r.track) {
		fprintf(stderr, "%s: too many inputs for the memory budget\n", prog);
		{ status = EXIT_TROUBLE; goto done; }
	}

	if (state_path) {
		if (r.loaded) {
			sl_format f = r.loaded->report->format;
			if (r.format != SL_FMT_AUTO && r.format != f) {
				fprintf(stderr, "%s: %s holds a %s report, not %s\n", prog, state_path,
					sl_format_name(f), sl_format_name(r.format));
				{ status = EXIT_TROUBLE; goto done; }
			}
			r.format_from_state = r.format == SL_FMT_AUTO;
			r.format = f;
			r.workers[0].report = r.loaded->report;
			if (r.loaded->report->visitors_4xx != opt_visitors_4xx) {
				fprintf(stderr, "%s: %s counted unique visitors %s 4xx responses; "
					"resume it %s --4xx-visitors\n", prog, state_path,
					opt_visitors_4xx ? "without" : "with",
					opt_visitors_4xx ? "without" : "with");
				{ status = EXIT_TROUBLE; goto done; }
			}
			nmap = r.loaded->ninputs + 1;
			map = sl_calloc(&r.own, nmap, sizeof *map);
			if (!map) {
				fprintf(stderr, "%s: %s: too many inputs for the memory budget\n", prog,
					state_path);
				{ status = EXIT_TROUBLE; goto done; }
			}
			nall = match_inputs(&r, inputs, ninputs, map);
			if (nall == SIZE_MAX)
				{ status = EXIT_TROUBLE; goto done; }
			sl_report_remap_inputs(r.workers[0].report, map, (uint32_t)r.loaded->ninputs);
		} else {
			char head[SL_STATE_HEAD_BYTES];
			size_t got;
			int compressed;
			for (size_t i = 0; i < ninputs; i++)
				fingerprint(&r, inputs[i].path, &r.track[i].fp, head, &got, &compressed);
		}
	} else if (save_path) {
		char head[SL_STATE_HEAD_BYTES];
		size_t got;
		int compressed;
		for (size_t i = 0; i < ninputs; i++)
			fingerprint(&r, inputs[i].path, &r.track[i].fp, head, &got, &compressed);
	}
	r.show_progress = !r.quiet && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &r.start);

	for (size_t i = 0; i < ninputs; i++) {
		if (read_input(&r, &inputs[i], (uint32_t)i) < 0) {
			progress_clear(&r);
			{ status = EXIT_TROUBLE; goto done; }
		}
		if (inputs[i].error) {
			progress_clear(&r);
			fprintf(stderr, "%s: %s: %s\n", prog, cli_input_name(inputs[i].path),
				inputs[i].error);
			status = EXIT_TROUBLE;
		}
	}
	progress_clear(&r);
	if (ensure_reports(&r, "", 0) < 0)
		{ status = EXIT_TROUBLE; goto done; }
	/* The workers' reports merge into worker 0's in worker order. The read
	 * buffers are freed first; before each merge worker 0's report may
	 * grow into all the budget no part holds now (less what the rows and
	 * the state facts will take), so worker tables whose union fits stay
	 * exact. Every thread has ended, so what is free is the same on every
	 * run. */
	for (int i = 0; i < r.nbuf; i++) {
		sl_free(&r.own, r.pool[i], r.cap);
		r.pool[i] = NULL;
	}
	rep = r.workers[0].report;
	size_t after = (size_t)top_n * sizeof(sl_topk_row) +
		       (ninputs + (r.loaded ? r.loaded->ninputs : 0)) *
			       (sizeof(cli_input) + sizeof(sl_state_input)) +
		       REPORT_SLACK;
	sl_budget *b0 = r.loaded ? &r.state_mem : &r.workers[0].budget;
	for (int i = 1; i < r.jobs; i++) {
		size_t used = atomic_load((_Atomic size_t *)&r.budget.used);
		size_t room = r.budget.limit > used + after ? r.budget.limit - used - after : 0;
		if (b0->limit < b0->used + room) /* b0->used + room <= the budget */
			sl_budget_set_limit(b0, b0->used + room);
		if (rep->bytes_held < b0->used + room)
			sl_report_set_limit(rep, b0->used + room);
		sl_report_merge(rep, r.workers[i].report);
		sl_report_free(r.workers[i].report);
		r.workers[i].report = NULL;
	}
	sl_report_add_oversized(rep, r.reader_oversized);
	all = inputs;
	int readable = r.loaded != NULL; /* anything to report on? */
	for (size_t i = 0; i < ninputs; i++) /* read whole, or in part */
		readable |= inputs[i].error == NULL || r.track[i].content > 0 || r.track[i].lines > 0;
	if (!readable) /* every input failed, and said so: no empty report */
		goto done;
	if (rep->exact && sl_report_finish_exact(rep) != SL_OK) {
		/* no figure is printed rather than a wrong one */
		if (rep->exact_status == SL_EIO && sl_report_exact_errno(rep) == ENOSPC)
			fprintf(stderr, "%s: %s: no space left for --exact's temporary runs; "
				"free space or choose another --tmp\n", prog, r.tmpdir);
		else if (rep->exact_status == SL_EIO)
			fprintf(stderr, "%s: %s: temporary file: %s\n", prog, r.tmpdir,
				strerror(sl_report_exact_errno(rep)));
		else
			fprintf(stderr, "%s: --exact: %s\n", prog, sl_strerror(rep->exact_status));
		status = EXIT_TROUBLE;
		goto done;
	}

	for (size_t i = 0; i < ninputs; i++) {
		inputs[i].resumed_at = r.track[i].skip;
		inputs[i].bytes_read = r.track[i].content - r.track[i].unfed;
	}

	/* The inputs the report speaks of: this run's, then the loaded
	 * state's that this run did not see. */
	if (save_path || state_path) {
		all = nall > ninputs ? sl_calloc(&r.own, nall, sizeof *all) : inputs;
		facts = sl_calloc(&r.own, nall, sizeof *facts);
		if (!all || !facts) {
			fprintf(stderr, "%s: no memory left in the budget to save the state\n", prog);
			{ status = EXIT_TROUBLE; goto done; }
		}
		for (size_t i = 0; i < ninputs; i++) {
			all[i] = inputs[i];
			facts[i] = r.track[i].fp;
			facts[i].consumed = r.track[i].skip + r.track[i].content - r.track[i].unfed;
			facts[i].lines = r.track[i].lines;
		}
		for (size_t j = 0; r.loaded && j < r.loaded->ninputs; j++)
			if (map[j] >= ninputs) {
				facts[map[j]] = r.loaded->inputs[j];
				all[map[j]].path = r.loaded->inputs[j].path;
				all[map[j]].error = r.loaded->inputs[j].error;
			}
		for (size_t i = 0; i < nall; i++) {
			facts[i].path = all[i].path;
			facts[i].error = all[i].error;
		}
		const char *targets[2] = {save_path, state_path};
		for (int k = 0; k < 2; k++) {
			int err = 0;
			if (!targets[k] || (k == 1 && save_path && !strcmp(save_path, state_path)))
				continue;
			sl_status st = sl_state_save(targets[k], &r.own, rep, facts, nall, budget,
						     run_peak(&r), &err);
			if (st != SL_OK) {
				fprintf(stderr, "%s: %s: cannot save the state: %s\n", prog, targets[k],
					st == SL_EIO ? strerror(err) : sl_strerror(st));
				status = EXIT_TROUBLE;
			}
		}
	}

	/* Rows for the top lists: no list holds more than its capacity. */
	nrows = (size_t)top_n;
	size_t most = 0;
	for (int t = 0; t < SL_TOP_COUNT; t++)
		if (rep->top[t] && sl_topk_capacity(rep->top[t]) > most)
			most = sl_topk_capacity(rep->top[t]);
	if (rep->top_lines)
		most = sl_topk_capacity(rep->top_lines);
	if (rep->exact)
		most = r.top_n;
	if (nrows > most)
		nrows = most;
	rows = nrows ? sl_calloc(&r.own, nrows, sizeof *rows) : NULL;
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
		.peak = run_peak(&r),
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
	if (!r.quiet)
		cli_print_samples(prog, rep, all);
	if (cli_check_parsed(prog, rep, r.format == SL_FMT_AUTO))
		status = EXIT_TROUBLE;
done:
	for (int i = 0; r.pool && i < r.nbuf; i++)
		if (r.pool[i])
			sl_free(&r.own, r.pool[i], r.cap);
	/* workers' reports not merged yet (a way out during the run); worker
	 * 0's is rep, or the loaded state's */
	for (int i = 0; r.workers && i < r.jobs; i++)
		if (r.workers[i].report && r.workers[i].report != rep &&
		    (!r.loaded || r.workers[i].report != r.loaded->report))
			sl_report_free(r.workers[i].report);
	if (r.loaded)
		sl_state_free(r.loaded); /* rep is its report */
	else
		sl_report_free(rep);
	sl_free(&r.own, rows, nrows * sizeof *rows);
	sl_free(&r.own, r.rings, (size_t)r.jobs * r.qcap * sizeof *r.rings);
	sl_free(&r.own, r.chunk_lines, r.max_chunks * sizeof *r.chunk_lines);
	sl_free(&r.own, r.free_bufs, (size_t)r.nbuf * sizeof *r.free_bufs);
	sl_free(&r.own, r.pool, (size_t)r.nbuf * sizeof *r.pool);
	sl_free(&r.own, r.workers, (size_t)r.jobs * sizeof *r.workers);
	if (facts)
		sl_free(&r.own, facts, nall * sizeof *facts);
	if (all && all != inputs)
		sl_free(&r.own, all, nall * sizeof *all);
	if (map)
		sl_free(&r.own, map, nmap * sizeof *map);
	sl_free(&r.own, r.track, ninputs * sizeof *r.track);
	sl_free(&r.own, inputs, ninputs * sizeof *inputs);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
	pthread_cond_destroy(&r.finished_cv);
	return status;
}
