/*
 * state.c: state files (sl_state_*): a whole report, its inputs and its run's
 * budget as checksummed binary sections, decoded without trusting a byte.
 *
 * Container (docs/state-format.md has every field):
 *
 *     0   8  magic "SLUICEST"
 *     8   4  format version (3 written; 2, whose bytes_sent has no high
 *            word, whose HLLs have one-byte registers and whose quantiles
 *            are KLL sections, and 1, whose inputs also lack `lines`, read)
 *    12   4  S, the number of sections (1 .. 64)
 *    16   8  length of the whole file
 *    24 24S  section table: u32 type | u32 flags (0) | u64 length
 *            | u64 XXH3-64 of the section's bytes
 *  24+24S 8  XXH3-64 of bytes [0, 24 + 24S): the header checksum
 *            then the sections, back to back in table order; the file ends
 *            with the last one.
 *
 * Section types appear in increasing order, each once; per_minute is absent
 * when the report has dropped it. Each section must be consumed exactly.
 *
 *     1 meta      u32 format | u64 budget | u64 peak | u64 report bytes
 *                 | u8 HLL precision the report was made with
 *     2 inputs    u32 n | n x input entry
 *     3 counters  lines, requests, malformed, oversized, bytes_sent (u64),
 *                 bytes_sent_high (u64, v3), first_time, last_time (i64),
 *                 log_offset (i32 as u32, v3), visitors_4xx (u8, v3),
 *                 status codes in use
 *     4 tallies   methods, protocols
 *     5 moments   request_time, response_bytes, line_length
 *     6 samples   malformed-line samples
 *    16,17 (18)   distinct: ips, visitors (lines)     (lib/sketch/distinct.c)
 *    32..37 (38)  top lists in sl_top_list order (lines) (lib/sketch/topk.c)
 *    48,49 (50)   KLL: request_time, response_bytes (line_length) (lib/sketch/kll.c),
 *                 versions 1 and 2 only: converted on loading into the
 *                 relative-error sketches (sl_relq_add_kll), which then
 *                 carry the KLL's rank error
 *    52,53 (54)   relative-error quantiles, version 3: the same three
 *                 (lib/sketch/relq.c)
 *    64,65        series: per_hour, per_minute        (lib/sketch/series.c)
 *
 * A file holds the sections of a report of its format: the access-log
 * sketches, or the line-format ones (in parentheses); the decoder creates
 * the report first (sl_report_new_p with the recorded size and precision)
 * and requires exactly the sections whose sketches it has.
 *
 * Encoding streams: each section goes through a 4 KiB writer buffer on the
 * stack (lib/core/wire.h's streaming writer) to its place after the header,
 * hashed on the way (XXH3 streaming); the header, with the lengths, the
 * checksums and the header checksum, is built in a stack buffer and written
 * last at offset 0. To a file (sl_state_write, sl_state_save) that takes no
 * budget memory; to memory (sl_state_encode) a first pass counts, and the
 * second fills a buffer of exactly that size. Decoding checks the header, the table
 * (every length against the bytes left, every checksum) and only then reads
 * the sections: meta first, whose report size is checked against the budget
 * before the report is created, then each section loaded into the report's
 * own (empty) sketch by its module (lib/core/wire.h), then the cross-checks
 * between figures. Any failure frees everything decoded so far.
 *
 * Saving is atomic, through lib/io/outfile.c: a temporary beside the target
 * (a symlink's final target; anything but a regular file refused), fsync,
 * rename over the target, fsync the directory. Order of calls on a state:
 * decode/load -> merge* -> encode/write/save -> free.
 *
 * Memory: decoding holds the input bytes (the caller's, or the file buffer
 * of sl_state_load) plus the report and the inputs; sl_state_encode holds
 * exactly one buffer of the state's size; writing and saving hold nothing
 * from the budget (about 7 KiB of stack).
 */
#include "report/report.h"
#include "core/wire.h"

/* XXH3 inlined, streaming state on the stack: no libxxhash at run time,
 * whose mapped pages a -m 1M run would carry for three calls */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Unix times of 0000-01-01 and 9999-12-31T23:59:59, with a day of slack
 * for time zones: the range the access-log parser can produce. */
#define TIME_MIN (-62167219200LL - 86400)
#define TIME_MAX (253402300799LL + 86400)

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER 24
#define ENTRY 24
#define MAX_SECTIONS 64
#define NO_ERROR 0xffffffffu
#define WHY_MAX ((size_t)sizeof(((sl_state *)0)->why[0]) - 1)

/* Fuzzing builds (scripts/fuzz.sh) skip the checksum comparisons, so that
 * mutated inputs reach the section decoders: those must stand on their own
 * against any bytes. Never defined in a normal build. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECK_SUMS 0
#else
#define CHECK_SUMS 1
#endif

enum {
	SEC_META = 1,
	SEC_INPUTS = 2,
	SEC_COUNTERS = 3,
	SEC_TALLIES = 4,
	SEC_MOMENTS = 5,
	SEC_SAMPLES = 6,
	SEC_PLAN = 7,		/* version 4 */
	SEC_DISTINCT = 16,	/* + k: the plan's k-th distinct item */
	SEC_TOP = 32,		/* + k: its k-th top item */
	SEC_KLL = 48,		/* + 0 request_time, + 1 response_bytes, + 2 line_length (v1, v2) */
	SEC_QUANT = 52,		/* + k: its k-th quantiles item (v3: as SEC_KLL) */
	SEC_SERIES = 64,	/* + 0 per_hour, + 1 per_minute */
	SEC_GROUPS = 66,	/* + k: the plan's k-th groups item (version 4) */
	SEC_END = 68
};

/* Versions 1 to 3 have fixed plans; their line reports put distinct lines,
 * top lines and line lengths at + 2, + 6 and + 2 of the ranges above. */
static int v3_lines_type(int type)
{
	if (type == SEC_DISTINCT + 2 || type == SEC_QUANT + 2 || type == SEC_KLL + 2)
		return type - 2;
	if (type == SEC_TOP + SL_TOP_COUNT)
		return SEC_TOP;
	return type;
}

/*
 * The sketch a section type holds in r, as a pointer to the report's field
 * (NULL for other types): the k-th distinct, top or quantiles item of the
 * plan, the series. A report holds the sections whose field is not NULL
 * (per_minute goes once dropped).
 */
static sl_distinct **distinct_of(sl_report *r, int type)
{
	uint32_t k = (uint32_t)(type - SEC_DISTINCT);
	return type >= SEC_DISTINCT && k < r->ndistinct && k < 16
		       ? &r->item[r->distincts[k]].distinct
		       : NULL;
}

static sl_topk **topk_of(sl_report *r, int type)
{
	uint32_t k = (uint32_t)(type - SEC_TOP);
	return type >= SEC_TOP && k < r->ntop && k < 16 ? &r->item[r->tops[k]].top : NULL;
}

static sl_relq **quant_of(sl_report *r, int type)
{
	uint32_t k = (uint32_t)(type - SEC_QUANT);
	return type >= SEC_QUANT && k < r->nquant && k < 12 ? &r->item[r->quants[k]].q : NULL;
}

/* The version-3 section a KLL section of versions 1 and 2 stands for, or 0. */
static int kll_alias(int type)
{
	return type >= SEC_KLL && type <= SEC_KLL + 2 ? SEC_QUANT + (type - SEC_KLL) : 0;
}

static sl_groups **groups_of(sl_report *r, int type)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < r->plan.nitems && type >= SEC_GROUPS && type < SEC_END; i++)
		if (r->plan.item[i].kind == SL_ITEM_GROUPS && k++ == (uint32_t)(type - SEC_GROUPS))
			return &r->item[i].groups;
	return NULL;
}

static sl_series **series_of(sl_report *r, int type)
{
	if (r->series_item < 0)
		return NULL;
	switch (type) {
	case SEC_SERIES: return &r->per_hour;
	case SEC_SERIES + 1: return &r->per_minute;
	default: return NULL;
	}
}

/* Whether r holds the section `type`; false for unknown types. */
static bool holds(const sl_report *cr, int type)
{
	sl_report *r = (sl_report *)(uintptr_t)cr; /* only read */
	if (type >= SEC_META && type <= SEC_PLAN)
		return true;
	sl_distinct **d = distinct_of(r, type);
	sl_topk **t = topk_of(r, type);
	sl_relq **k = quant_of(r, type);
	sl_series **s = series_of(r, type);
	sl_groups **g = groups_of(r, type);
	return (d && *d) || (t && *t) || (k && *k) || (s && *s) || (g && *g);
}

bool sl_state_is_state(const void *p, size_t n)
{
	return n >= SL_STATE_MAGIC_LEN && memcmp(p, SL_STATE_MAGIC, SL_STATE_MAGIC_LEN) == 0;
}

/* ---- encoding ------------------------------------------------------------ */

static void put_str(sl_wire_writer *w, const char *s)
{
	size_t n = strlen(s);
	sl_wire_u32(w, (uint32_t)n);
	sl_wire_bytes(w, s, n);
}

static void put_tally(sl_wire_writer *w, const sl_tally *t)
{
	sl_wire_u32(w, t->n);
	for (uint32_t i = 0; i < t->n; i++) {
		sl_wire_u8(w, t->len[i]);
		sl_wire_bytes(w, t->key[i], t->len[i]);
		sl_wire_u64(w, t->count[i]);
	}
	sl_wire_u64(w, t->other);
}

static void put_moments(sl_wire_writer *w, const sl_moments *m)
{
	sl_wire_u64(w, m->n);
	sl_wire_f64(w, m->min);
	sl_wire_f64(w, m->max);
	sl_wire_f64(w, m->mean);
	sl_wire_f64(w, m->m2);
	sl_wire_f64(w, m->sum);
	sl_wire_f64(w, m->sum_comp);
}

/* The plan: u32 n, then per item u8 kind | u8 nfields | 3 x u8 field |
 * u8 condition op | u8 its field | f64 lo | f64 hi | u8 length + text |
 * u32 share | u8 length + name. */
static void put_plan(sl_wire_writer *w, const sl_plan *p)
{
	sl_wire_u32(w, p->nitems);
	for (uint32_t i = 0; i < p->nitems; i++) {
		const sl_item *it = &p->item[i];
		sl_wire_u8(w, (uint8_t)it->kind);
		sl_wire_u8(w, (uint8_t)it->nfields);
		for (int k = 0; k < SL_ITEM_FIELDS; k++)
			sl_wire_u8(w, (uint8_t)(k < (int)it->nfields ? it->field[k] : 0));
		sl_wire_u8(w, (uint8_t)it->where.op);
		sl_wire_u8(w, (uint8_t)it->where.field);
		sl_wire_f64(w, it->where.lo);
		sl_wire_f64(w, it->where.hi);
		size_t tl = strnlen(it->where.text, SL_WHERE_TEXT);
		sl_wire_u8(w, (uint8_t)tl);
		sl_wire_bytes(w, it->where.text, tl);
		sl_wire_u32(w, it->share);
		size_t nl = strnlen(it->name, SL_ITEM_NAME);
		sl_wire_u8(w, (uint8_t)nl);
		sl_wire_bytes(w, it->name, nl);
	}
	sl_wire_u32(w, p->nfilters);
	for (uint32_t i = 0; i < p->nfilters; i++) {
		const sl_filter *f = &p->filter[i];
		sl_wire_u8(w, (uint8_t)f->field);
		sl_wire_u8(w, (uint8_t)f->cmp);
		sl_wire_u8(w, f->negate);
		sl_wire_f64(w, f->num);
		size_t tl = strnlen(f->text, SL_FILTER_TEXT);
		sl_wire_u16(w, (uint16_t)tl);
		sl_wire_bytes(w, f->text, tl);
	}
	sl_wire_u8(w, (uint8_t)(p->has_since | p->has_until << 1));
	sl_wire_i64(w, p->has_since ? p->since : 0);
	sl_wire_i64(w, p->has_until ? p->until : 0);
}

typedef struct {
	const sl_report *r;
	const sl_state_input *inputs;
	size_t ninputs;
	uint64_t budget, peak;
} enc_args;

static void put_section(sl_wire_writer *w, const enc_args *a, int type)
{
	const sl_report *r = a->r;
	switch (type) {
	case SEC_META:
		sl_wire_u32(w, (uint32_t)r->format);
		sl_wire_u64(w, a->budget);
		sl_wire_u64(w, a->peak);
		sl_wire_u64(w, r->bytes_held);
		sl_wire_u8(w, (uint8_t)r->hll_p);
		put_str(w, r->format_spec);
		break;
	case SEC_INPUTS:
		sl_wire_u32(w, (uint32_t)a->ninputs);
		for (size_t i = 0; i < a->ninputs; i++) {
			const sl_state_input *in = &a->inputs[i];
			put_str(w, in->path ? in->path : "");
			if (in->error)
				put_str(w, in->error);
			else
				sl_wire_u32(w, NO_ERROR);
			sl_wire_u64(w, in->dev);
			sl_wire_u64(w, in->ino);
			sl_wire_u64(w, in->size);
			sl_wire_u64(w, in->consumed);
			sl_wire_u64(w, in->lines);
			sl_wire_u64(w, in->head_hash);
			sl_wire_u32(w, in->head_len);
		}
		break;
	case SEC_COUNTERS: {
		sl_wire_u64(w, r->lines);
		sl_wire_u64(w, r->requests);
		sl_wire_u64(w, r->malformed);
		sl_wire_u64(w, r->oversized);
		sl_wire_u64(w, r->filtered);
		sl_wire_u64(w, r->skipped);
		sl_wire_u64(w, r->bytes_sent);
		sl_wire_u64(w, r->bytes_sent_high);
		sl_wire_i64(w, r->first_time);
		sl_wire_i64(w, r->last_time);
		sl_wire_u32(w, (uint32_t)r->log_offset);
		sl_wire_u8(w, 0); /* the visitors' rule of versions 1-3: now in the plan */
		uint32_t used = 0;
		for (int c = 100; c < 600; c++)
			used += r->status[c] != 0;
		sl_wire_u32(w, used);
		for (int c = 100; c < 600; c++) {
			if (r->status[c]) {
				sl_wire_u16(w, (uint16_t)c);
				sl_wire_u64(w, r->status[c]);
			}
		}
		break;
	}
	case SEC_TALLIES:
		for (uint32_t i = 0; i < r->plan.nitems; i++)
			if (r->item[i].tally)
				put_tally(w, r->item[i].tally);
		break;
	case SEC_MOMENTS:
		for (uint32_t k = 0; k < r->nquant; k++)
			put_moments(w, &r->item[r->quants[k]].m);
		break;
	case SEC_PLAN:
		put_plan(w, &r->plan);
		break;
	case SEC_SAMPLES:
		sl_wire_u32(w, r->nsamples);
		for (uint32_t i = 0; i < r->nsamples; i++) {
			const sl_sample *s = &r->samples[i];
			const char *why = s->why ? s->why : "malformed";
			size_t wl = strlen(why);
			if (wl > WHY_MAX)
				wl = WHY_MAX;
			sl_wire_u32(w, s->input);
			sl_wire_u64(w, s->line);
			sl_wire_u8(w, (uint8_t)wl);
			sl_wire_bytes(w, why, wl);
			sl_wire_u8(w, s->truncated);
			sl_wire_u32(w, s->len);
			sl_wire_bytes(w, s->text, s->len);
		}
		break;
	default: {
		sl_report *m = (sl_report *)(uintptr_t)r; /* only read */
		if (distinct_of(m, type))
			sl_distinct_encode(*distinct_of(m, type), w);
		else if (topk_of(m, type))
			sl_topk_encode(*topk_of(m, type), w);
		else if (quant_of(m, type))
			sl_relq_encode(*quant_of(m, type), w);
		else if (groups_of(m, type))
			sl_groups_encode(*groups_of(m, type), w);
		else
			sl_series_encode(*series_of(m, type), w);
		break;
	}
	}
}

/* The section types of r, in file order; returns how many. */
static int section_types(const sl_report *r, int *types)
{
	int n = 0;
	for (int t = SEC_META; t < SEC_END; t++)
		if (holds(r, t))
			types[n++] = t;
	return n;
}

/*
 * Where put_state's bytes go, and what they hash to: counted only (mem NULL,
 * fd < 0), copied into mem (of the size a counting pass found), or written
 * to fd at their offsets. Sections pass through a fixed buffer on the stack
 * and are hashed as they go (XXH3 streaming gives the one-shot sl_hash);
 * the header, which holds their lengths and checksums, is built last in a
 * second stack buffer and put at offset 0.
 */
typedef struct {
	int fd;
	uint8_t *mem;
	uint64_t off;		/* where the next byte goes */
	XXH3_state_t hash;	/* of the current section */
	int err;		/* errno of a failed write */
} sink;

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static bool sink_put(sink *k, const uint8_t *p, size_t n)
{
	if (k->mem)
		memcpy(k->mem + k->off, p, n);
	else if (k->fd >= 0 && pwrite_all(k->fd, p, n, k->off) != 0) {
		k->err = errno;
		return false;
	}
	k->off += n;
	return true;
}

static bool sink_section(void *ctx, const uint8_t *p, size_t n)
{
	sink *k = ctx;
	XXH3_64bits_update(&k->hash, p, n);
	return sink_put(k, p, n);
}

#define STREAM_BUFFER 4096
#define HEADER_MAX (HEADER + MAX_SECTIONS * ENTRY + 8)

/*
 * Writes the whole state to k: the sections after room for the header,
 * then the header. Returns SL_OK with *total = the file's length, or SL_EIO
 * (k->err set). Uses no budget memory.
 */
static sl_status put_state(const enc_args *a, sink *k, uint64_t *total)
{
	int types[MAX_SECTIONS];
	int ns = section_types(a->r, types);
	size_t table_end = HEADER + (size_t)ns * ENTRY;
	uint8_t head[HEADER_MAX];
	memset(head, 0, sizeof head);
	memcpy(head, SL_STATE_MAGIC, SL_STATE_MAGIC_LEN);
	sl_wire_put_le32(head + 8, SL_STATE_VERSION);
	sl_wire_put_le32(head + 12, (uint32_t)ns);

	uint8_t chunk[STREAM_BUFFER];
	sl_wire_writer w;
	sl_wire_init_stream(&w, chunk, sizeof chunk, sink_section, k);
	k->off = table_end + 8;
	for (int i = 0; i < ns; i++) {
		XXH3_64bits_reset(&k->hash);
		size_t start = w.len;
		put_section(&w, a, types[i]);
		if (!sl_wire_flush(&w))
			return SL_EIO;
		uint8_t *e = head + HEADER + (size_t)i * ENTRY;
		sl_wire_put_le32(e, (uint32_t)types[i]);
		sl_wire_put_le64(e + 8, w.len - start);
		sl_wire_put_le64(e + 16, XXH3_64bits_digest(&k->hash));
	}
	*total = k->off;
	sl_wire_put_le64(head + 16, k->off);
	sl_wire_put_le64(head + table_end, sl_hash(head, table_end));
	k->off = 0;
	if (!sink_put(k, head, table_end + 8))
		return SL_EIO;
	return SL_OK;
}

static sl_status check_args(const sl_report *r, const sl_state_input *inputs, size_t ninputs)
{
	if (ninputs > UINT32_MAX || (ninputs && !inputs))
		return SL_EINVAL;
	for (uint32_t i = 0; i < r->nsamples; i++)
		if (r->samples[i].input >= ninputs)
			return SL_EINVAL;
	return SL_OK;
}

sl_status sl_state_encode(sl_budget *b, const sl_report *r, const sl_state_input *inputs,
			  size_t ninputs, uint64_t budget, uint64_t peak, void **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	sl_status st = check_args(r, inputs, ninputs);
	if (st != SL_OK)
		return st;
	enc_args a = {r, inputs, ninputs, budget, peak};
	sink k = {.fd = -1};
	uint64_t need, again;
	if (put_state(&a, &k, &need) != SL_OK || need > SIZE_MAX)
		return SL_EINVAL;
	k.mem = sl_malloc(b, (size_t)need);
	if (!k.mem)
		return SL_ENOMEM;
	if (put_state(&a, &k, &again) != SL_OK || again != need) {
		sl_free(b, k.mem, (size_t)need);
		return SL_EINVAL;
	}
	*out = k.mem;
	*len = (size_t)need;
	return SL_OK;
}

sl_status sl_state_write(int fd, const sl_report *r, const sl_state_input *inputs, size_t ninputs,
			 uint64_t budget, uint64_t peak, int *err)
{
	*err = 0;
	sl_status st = check_args(r, inputs, ninputs);
	if (st != SL_OK)
		return st;
	enc_args a = {r, inputs, ninputs, budget, peak};
	sink k = {.fd = fd};
	uint64_t total;
	st = put_state(&a, &k, &total);
	if (st != SL_OK)
		*err = k.err;
	return st;
}

/* ---- decoding ------------------------------------------------------------ */

static sl_status fail(const char **why, const char *text)
{
	*why = text;
	return SL_ECORRUPT;
}

/* A section's reader must end exactly at the section's end. */
static sl_status finish(sl_wire_reader *r, const char **why, const char *what)
{
	if (r->bad)
		return fail(why, what);
	if (r->left)
		return fail(why, "section longer than its contents");
	return SL_OK;
}

#define SPEC_MAX 4096 /* the longest format spec (lib/format/logformat.c's limit) */

typedef struct {
	sl_format format;
	uint64_t budget, peak, report_bytes;
	int hll_p;
	char spec[SPEC_MAX + 1]; /* the format's spec (version 4), "" for none */
} meta;

static sl_status get_meta(sl_wire_reader *r, meta *m, uint32_t version, const char **why)
{
	uint32_t f = sl_wire_get_u32(r);
	m->budget = sl_wire_get_u64(r);
	m->peak = sl_wire_get_u64(r);
	m->report_bytes = sl_wire_get_u64(r);
	m->hll_p = sl_wire_get_u8(r);
	m->spec[0] = 0;
	if (version >= 4) {
		uint32_t n = sl_wire_get_u32(r);
		const uint8_t *p = n <= SPEC_MAX ? sl_wire_take(r, n) : NULL;
		if (r->bad || !p || memchr(p, 0, n))
			return fail(why, "format spec truncated or impossible");
		memcpy(m->spec, p, n);
		m->spec[n] = 0;
	}
	sl_status st = finish(r, why, "meta section truncated");
	if (st != SL_OK)
		return st;
	if (f <= SL_FMT_AUTO || f >= SL_FMT_COUNT)
		return fail(why, "unknown log format");
	if (m->hll_p < SL_HLL_MIN_P || m->hll_p > SL_HLL_MAX_P)
		return fail(why, "HLL precision out of range");
	m->format = (sl_format)f;
	return SL_OK;
}

/* The plan section (version 4), each item checked again by sl_plan_add. */
static sl_status get_plan(sl_plan *p, sl_wire_reader *r, const char **why)
{
	sl_plan_init(p);
	uint32_t n = sl_wire_get_u32(r);
	if (r->bad || n > SL_PLAN_MAX)
		return fail(why, "plan size impossible");
	for (uint32_t i = 0; i < n; i++) {
		sl_item it;
		memset(&it, 0, sizeof it);
		it.kind = (sl_item_kind)sl_wire_get_u8(r);
		it.nfields = sl_wire_get_u8(r);
		for (int k = 0; k < SL_ITEM_FIELDS; k++)
			it.field[k] = (sl_field)sl_wire_get_u8(r);
		it.where.op = (sl_where_op)sl_wire_get_u8(r);
		it.where.field = (sl_field)sl_wire_get_u8(r);
		it.where.lo = sl_wire_get_f64(r);
		it.where.hi = sl_wire_get_f64(r);
		uint8_t tl = sl_wire_get_u8(r);
		const uint8_t *t = tl < SL_WHERE_TEXT ? sl_wire_take(r, tl) : NULL;
		it.share = sl_wire_get_u32(r);
		uint8_t nl = sl_wire_get_u8(r);
		const uint8_t *nm = nl < SL_ITEM_NAME ? sl_wire_take(r, nl) : NULL;
		if (r->bad || !t || !nm || memchr(t, 0, tl) || memchr(nm, 0, nl))
			return fail(why, "plan item truncated or impossible");
		memcpy(it.where.text, t, tl);
		memcpy(it.name, nm, nl);
		const char *bad = NULL;
		if (sl_plan_add(p, &it, &bad) != SL_OK || p->item[i].share != it.share)
			return fail(why, "plan item impossible");
	}
	uint32_t nf = sl_wire_get_u32(r);
	if (r->bad || nf > SL_FILTER_MAX)
		return fail(why, "plan filters impossible");
	for (uint32_t i = 0; i < nf; i++) {
		sl_filter f;
		memset(&f, 0, sizeof f);
		f.field = (sl_field)sl_wire_get_u8(r);
		f.cmp = (sl_cmp)sl_wire_get_u8(r);
		uint8_t neg = sl_wire_get_u8(r);
		f.num = sl_wire_get_f64(r);
		uint16_t tl = sl_wire_get_u16(r);
		const uint8_t *t = tl < SL_FILTER_TEXT ? sl_wire_take(r, tl) : NULL;
		if (r->bad || !t || neg > 1 || memchr(t, 0, tl) || isnan(f.num))
			return fail(why, "plan filter truncated or impossible");
		f.negate = neg;
		memcpy(f.text, t, tl);
		const char *bad = NULL;
		if (sl_plan_add_filter(p, &f, &bad) != SL_OK)
			return fail(why, "plan filter impossible");
	}
	uint8_t range = sl_wire_get_u8(r);
	int64_t since = sl_wire_get_i64(r), until = sl_wire_get_i64(r);
	if (r->bad || range > 3 || (!(range & 1) && since) || (!(range & 2) && until))
		return fail(why, "plan time range impossible");
	p->has_since = range & 1;
	p->has_until = range >> 1;
	p->since = since;
	p->until = until;
	return finish(r, why, "plan section truncated");
}

/* Reads a u32-length string; *len = NO_ERROR for "none" when allowed. */
static const uint8_t *get_str(sl_wire_reader *r, uint32_t *len, bool optional)
{
	*len = sl_wire_get_u32(r);
	if (optional && *len == NO_ERROR)
		return NULL;
	const uint8_t *p = sl_wire_take(r, *len);
	if (p && memchr(p, '\0', *len))
		r->bad = true;
	return p;
}

/* Inputs: a first pass validates and sizes, a second fills. Version 1
 * entries have no `lines`. */
static sl_status get_inputs(sl_state *s, sl_wire_reader *sec, uint32_t version,
			    const char **why)
{
	sl_wire_reader r = *sec;
	uint32_t n = sl_wire_get_u32(&r);
	size_t u64s = version == 1 ? 5 : 6;
	/* the smallest entry: two empty strings, the u64s and head_len */
	if (!sl_wire_need(&r, n, 4 + 4 + 8 * u64s + 4))
		return fail(why, "input count past the end of the section");
	size_t strings = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pl, el;
		get_str(&r, &pl, false);
		get_str(&r, &el, true);
		sl_wire_take(&r, 8 * u64s + 4);
		if (r.bad)
			return fail(why, "input entry truncated or holds a NUL byte");
		strings += (size_t)pl + 1 + (el == NO_ERROR ? 0 : (size_t)el + 1);
	}
	sl_status st = finish(&r, why, "inputs section truncated");
	if (st != SL_OK)
		return st;
	if (n && (s->inputs = sl_calloc(s->mem, n, sizeof *s->inputs)) == NULL)
		return SL_ENOMEM;
	s->ninputs = n;
	if (strings && (s->strings = sl_malloc(s->mem, strings)) == NULL)
		return SL_ENOMEM;
	s->strings_len = strings;

	r = *sec;
	sl_wire_get_u32(&r);
	char *o = s->strings;
	for (uint32_t i = 0; i < n; i++) {
		sl_state_input *in = &s->inputs[i];
		uint32_t pl, el;
		const uint8_t *p = get_str(&r, &pl, false);
		if (pl)
			memcpy(o, p, pl);
		o[pl] = '\0';
		in->path = o;
		o += pl + 1;
		p = get_str(&r, &el, true);
		if (el != NO_ERROR) {
			if (el)
				memcpy(o, p, el);
			o[el] = '\0';
			in->error = o;
			o += el + 1;
		}
		in->dev = sl_wire_get_u64(&r);
		in->ino = sl_wire_get_u64(&r);
		in->size = sl_wire_get_u64(&r);
		in->consumed = sl_wire_get_u64(&r);
		in->lines = version == 1 ? 0 : sl_wire_get_u64(&r);
		in->head_hash = sl_wire_get_u64(&r);
		in->head_len = sl_wire_get_u32(&r);
		if (in->head_len > SL_STATE_HEAD_BYTES)
			return fail(why, "input head length above 4 KiB");
	}
	return SL_OK;
}

/* Counters; versions 1 and 2 have no high word of bytes_sent. */
static sl_status get_counters(sl_report *rep, sl_wire_reader *r, uint32_t version,
			      const char **why)
{
	rep->lines = sl_wire_get_u64(r);
	rep->requests = sl_wire_get_u64(r);
	rep->malformed = sl_wire_get_u64(r);
	rep->oversized = sl_wire_get_u64(r);
	if (version >= 4) {
		rep->filtered = sl_wire_get_u64(r);
		rep->skipped = sl_wire_get_u64(r);
	}
	rep->bytes_sent = sl_wire_get_u64(r);
	rep->bytes_sent_high = version >= 3 ? sl_wire_get_u64(r) : 0;
	rep->first_time = sl_wire_get_i64(r);
	rep->last_time = sl_wire_get_i64(r);
	if (version >= 3) { /* the log's own UTC offset, and the visitors' rule */
		rep->log_offset = (int32_t)sl_wire_get_u32(r);
		uint8_t v4 = sl_wire_get_u8(r);
		if (v4 > 1 || (version >= 4 && v4) || rep->log_offset <= -86400 ||
		    rep->log_offset >= 86400)
			return fail(why, "log offset or visitor rule impossible");
		if (version < 4) /* the rule lives in the plan now */
			sl_report_set_visitors_4xx(rep, v4);
	}
	uint32_t used = sl_wire_get_u32(r);
	if (!sl_wire_need(r, used, 10))
		return fail(why, "status codes past the end of the section");
	int prev = 0;
	for (uint32_t i = 0; i < used; i++) {
		int code = sl_wire_get_u16(r);
		uint64_t count = sl_wire_get_u64(r);
		if (code < 100 || code > 599 || code <= prev || count == 0)
			return fail(why, "status code list impossible");
		rep->status[code] = count;
		prev = code;
	}
	return finish(r, why, "counters section truncated");
}

static sl_status get_tally(sl_tally *t, sl_wire_reader *r, const char **why)
{
	uint32_t n = sl_wire_get_u32(r);
	if (r->bad || n > SL_TALLY_MAX)
		return fail(why, "tally size impossible");
	for (uint32_t i = 0; i < n; i++) {
		uint8_t len = sl_wire_get_u8(r);
		if (len > SL_TALLY_KEY_MAX)
			return fail(why, "tally key too long");
		const uint8_t *key = sl_wire_take(r, len);
		uint64_t count = sl_wire_get_u64(r);
		if (r->bad)
			return fail(why, "tally truncated");
		if (count == 0)
			return fail(why, "tally count zero");
		for (uint32_t j = 0; j < i; j++)
			if (t->len[j] == len && memcmp(t->key[j], key, len) == 0)
				return fail(why, "tally lists a key twice");
		memcpy(t->key[i], key, len);
		t->key[i][len] = '\0';
		t->len[i] = len;
		t->count[i] = count;
		t->n = i + 1;
	}
	t->other = sl_wire_get_u64(r);
	return r->bad ? fail(why, "tally truncated") : SL_OK;
}

static sl_status get_moments(sl_moments *m, sl_wire_reader *r, const char **why)
{
	m->n = sl_wire_get_u64(r);
	m->min = sl_wire_get_f64(r);
	m->max = sl_wire_get_f64(r);
	m->mean = sl_wire_get_f64(r);
	m->m2 = sl_wire_get_f64(r);
	m->sum = sl_wire_get_f64(r);
	m->sum_comp = sl_wire_get_f64(r);
	if (r->bad)
		return fail(why, "moments truncated");
	if (m->n == 0) {
		if (m->min != 0 || m->max != 0 || m->mean != 0 || m->m2 != 0 || m->sum != 0 ||
		    m->sum_comp != 0)
			return fail(why, "empty moments hold values");
		return SL_OK;
	}
	if (!(m->min <= m->max) || !(m->m2 >= 0) || isnan(m->mean) || isnan(m->sum) ||
	    isnan(m->sum_comp))
		return fail(why, "moments impossible");
	return SL_OK;
}

static sl_status get_samples(sl_state *s, sl_wire_reader *r, const char **why)
{
	sl_report *rep = s->report;
	uint32_t n = sl_wire_get_u32(r);
	if (r->bad || n > SL_SAMPLES_MAX)
		return fail(why, "sample count impossible");
	for (uint32_t i = 0; i < n; i++) {
		sl_sample *x = &rep->samples[i];
		x->input = sl_wire_get_u32(r);
		x->line = sl_wire_get_u64(r);
		uint8_t wl = sl_wire_get_u8(r);
		const uint8_t *w = sl_wire_take(r, wl);
		uint8_t truncated = sl_wire_get_u8(r);
		uint32_t len = sl_wire_get_u32(r);
		if (r->bad)
			return fail(why, "sample truncated");
		if (x->input >= s->ninputs || wl > WHY_MAX || truncated > 1 ||
		    len > SL_SAMPLE_TEXT || (truncated && len != SL_SAMPLE_TEXT))
			return fail(why, "sample impossible");
		const uint8_t *text = sl_wire_take(r, len);
		if (!text)
			return fail(why, "sample truncated");
		memcpy(s->why[i], w, wl);
		s->why[i][wl] = '\0';
		x->why = s->why[i];
		x->truncated = truncated;
		x->len = len;
		memcpy(x->text, text, len);
		rep->nsamples = i + 1;
	}
	return finish(r, why, "samples section truncated");
}

/* The exact byte sum as a double (for comparisons with the moments). */
static double bytes_of(const sl_report *r)
{
	return (double)r->bytes_sent_high * 18446744073709551616.0 + (double)r->bytes_sent;
}

/* The byte sum against the sizes it adds up (m: one per request, or per
 * line kept): every size is at most the sum, and the sum at most n times
 * the largest, with a relative slack of 1e-9 for the doubles' rounding. */
static bool bytes_agree(const sl_report *r, const sl_moments *m)
{
	double bytes = bytes_of(r);
	if (!r->requests)
		return bytes == 0;
	return m->min >= 0 && m->max <= bytes * (1 + 1e-9) &&
	       bytes <= m->max * (double)r->requests * (1 + 1e-9);
}

/* An exact distinct count is at most the keys added, and 0 only when none
 * were (a degraded one is an estimate, clamped when reported). */
static bool distinct_agrees(const sl_distinct *d, uint64_t added)
{
	if (!sl_distinct_is_exact(d))
		return true;
	double n = sl_distinct_estimate(d).estimate;
	return n <= (double)added && (n >= 1) == (added >= 1);
}

/* No top-list row is counted above its list's total (a Space-Saving
 * count, error included, never exceeds the weight added). */
static bool top_agrees(const sl_topk *t)
{
	sl_topk_row row;
	return sl_topk_list(t, &row, 1) == 0 || row.count <= sl_topk_total(t);
}

/* A series holding every request: its counts sum to requests, and its first
 * and last buckets hold the first and last times. */
static bool series_agrees(const sl_report *r, const sl_series *s)
{
	size_t n = sl_series_len(s);
	uint64_t sum = 0, width = sl_series_width(s);
	for (size_t i = 0; i < n; i++) {
		int64_t start;
		uint64_t c;
		sl_series_get(s, i, &start, &c);
		if (c > UINT64_MAX - sum)
			return false;
		sum += c;
	}
	if (sum != r->requests)
		return false;
	if (!n)
		return true;
	int64_t first, last;
	uint64_t c;
	sl_series_get(s, 0, &first, &c);
	sl_series_get(s, n - 1, &last, &c);
	return first <= r->first_time && (uint64_t)r->first_time - (uint64_t)first < width &&
	       last <= r->last_time && (uint64_t)r->last_time - (uint64_t)last < width;
}

/* The records an item with condition w saw, when the counters know it:
 * every record, or the records of a range of status codes (the 404s).
 * -1 when they do not know it (then at most requests). */
static int64_t known_count(const sl_report *r, const sl_where *w)
{
	if (w->op == SL_WHERE_ALL)
		return (int64_t)r->requests;
	if (w->op != SL_WHERE_IN || w->field != SL_F_STATUS || r->status_item < 0 ||
	    !(w->lo >= 100 && w->hi <= 600 && w->lo < w->hi))
		return -1;
	uint64_t n = 0;
	for (int c = (int)ceil(w->lo); c < w->hi; c++)
		n += r->status[c];
	return (int64_t)n;
}

/* Figures that must agree with each other in any report. */
static sl_status cross_check(const sl_report *r, const char **why)
{
	uint64_t sum = 0;
	for (int c = 100; c < 600; c++)
		sum += r->status[c];
	if (r->requests > r->lines || r->malformed > r->lines || r->filtered > r->lines ||
	    r->skipped > r->lines || r->oversized > r->lines ||
	    r->lines != r->requests + r->malformed + r->oversized + r->filtered + r->skipped)
		return fail(why, "line counts disagree (lines != requests + malformed + oversized + "
				 "filtered + skipped)");
	if (r->filtered && !r->filtering)
		return fail(why, "lines filtered out by a plan without filters");
	/* every malformed line offers a sample; the first ones are kept */
	if (r->nsamples != (r->malformed < SL_SAMPLES_MAX ? r->malformed : SL_SAMPLES_MAX))
		return fail(why, "samples disagree with the malformed lines (not the first 5)");
	if (r->format == SL_FMT_LINES) {
		if (sum || r->malformed || r->first_time || r->last_time)
			return fail(why, "a line report holds access-log figures");
	} else {
		/* the classic formats always have a status; others may not */
		if (r->status_item < 0		  ? sum != 0
		    : sl_format_is_classic(r->format) ? sum != r->requests
						      : sum > r->requests)
			return fail(why, "status codes do not sum to the requests");
		if (r->requests && r->first_time > r->last_time)
			return fail(why, "first time after last time");
		/* The parser's dates lie in years 0..9999; anything else is
		 * forged, and would overflow the time arithmetic of a later
		 * merge. */
		if (r->requests ? r->first_time < TIME_MIN || r->last_time > TIME_MAX
				: r->first_time || r->last_time)
			return fail(why, "times outside the years 0 to 9999, or set without requests");
	}
	for (uint32_t i = 0; i < r->plan.nitems; i++) {
		const sl_item *d = &r->plan.item[i];
		const struct sl_report_item *it = &r->item[i];
		int64_t known = known_count(r, &d->where);
		uint64_t most = known >= 0 ? (uint64_t)known : r->requests;
		if (it->tally) {
			uint64_t n = it->tally->other;
			for (uint32_t k = 0; k < it->tally->n; k++)
				n += it->tally->count[k];
			if (known >= 0 ? n != most : n > most)
				return fail(why, "methods or protocols do not sum to the requests");
		}
		if (it->q) {
			sl_field f = d->field[0];
			bool always = f != SL_F_REQUEST_TIME; /* every record has the others */
			if (sl_relq_count(it->q) != it->m.n ||
			    (always && known >= 0 ? it->m.n != most : it->m.n > most))
				return fail(why, "quantile counts disagree with the requests");
			if (it->m.n && it->m.min < 0)
				return fail(why, "a negative request time or size");
			if (f == SL_F_LENGTH && it->m.n && it->m.max > SL_LINE_MAX)
				return fail(why, "a line kept is longer than the longest line parsed");
			bool sums = d->where.op == SL_WHERE_ALL &&
				    (f == (r->format == SL_FMT_LINES ? SL_F_LENGTH : SL_F_BYTES));
			if (sums && !bytes_agree(r, &it->m))
				return fail(why, "bytes sent disagree with the response sizes");
		}
		if (it->top) {
			if (known >= 0 ? sl_topk_total(it->top) != most : sl_topk_total(it->top) > most)
				return fail(why, "a top list's total disagrees with the requests");
			if (!top_agrees(it->top))
				return fail(why, "a top row counted more often than its list's total");
		}
		if (it->groups && sl_groups_total(it->groups) != r->requests)
			return fail(why, "a groups table's total disagrees with the requests");
		if (it->distinct && !distinct_agrees(it->distinct, most))
			return fail(why, "more distinct clients or visitors than requests (exact "
					 "distinct count)");
	}
	if (r->series_item >= 0) {
		if (!series_agrees(r, r->per_hour) || (r->per_minute && !series_agrees(r, r->per_minute)))
			return fail(why, "a time series disagrees with the requests or their times");
		if (r->per_minute && r->requests && r->last_time - r->first_time >= 6 * 3600)
			return fail(why, "a per-minute series kept over six hours or more");
	}
	return SL_OK;
}

/* The run's figures: memory, and the inputs against the samples. A sample's
 * line number is checked against the bytes its input gave (each line takes
 * at least one), not against the input's line count: a state resumed from a
 * version-1 one counts its inputs' lines from the resume point while its
 * samples may be numbered from the start (docs/state-format.md). */
static sl_status check_run(const sl_state *s, uint64_t report_bytes, const char **why)
{
	if (s->peak > s->budget)
		return fail(why, "peak memory above the run's memory budget");
	if (report_bytes > s->budget)
		return fail(why, "a report larger than the run's memory budget");
	for (size_t i = 0; i < s->ninputs; i++)
		if (s->inputs[i].lines > s->inputs[i].consumed)
			return fail(why, "an input holds more lines than bytes");
	const sl_report *r = s->report;
	for (uint32_t i = 0; i < r->nsamples; i++) {
		const sl_sample *x = &r->samples[i];
		if (x->line == 0 || x->line > s->inputs[x->input].consumed)
			return fail(why, "a sample's line number lies outside its input");
	}
	return SL_OK;
}

/* Loads a KLL section (versions 1 and 2) into a KLL of its own k, and adds
 * its items to the report's relative-error sketch. */
static sl_status get_old_kll(sl_budget *mem, sl_relq *dst, sl_wire_reader *r,
			     const char **why)
{
	if (r->left < 4)
		return fail(why, "KLL sketch truncated");
	uint32_t k = sl_wire_le32(r->p);
	if (k < SL_KLL_MIN_K || sl_kll_bytes(k) > sl_budget_available(mem))
		return fail(why, "KLL k out of range");
	sl_kll *tmp = sl_kll_new(mem, k, 0);
	if (!tmp)
		return SL_ENOMEM;
	sl_status st = sl_kll_load(tmp, r, why);
	if (st == SL_OK && sl_relq_add_kll(dst, tmp) != SL_OK)
		st = fail(why, "KLL sketch holds negative values");
	sl_kll_free(tmp);
	return st;
}

/* Reads the section whose bytes are in r into s (report made by meta), of a
 * file of format version `version`. */
static sl_status get_section(sl_state *s, int type, sl_wire_reader *r, uint32_t version,
			     const char **why)
{
	sl_report *rep = s->report;
	sl_status st;
	switch (type) {
	case SEC_INPUTS:
		return get_inputs(s, r, version, why);
	case SEC_COUNTERS:
		return get_counters(rep, r, version, why);
	case SEC_TALLIES:
		st = SL_OK;
		if (version < 4 && rep->format == SL_FMT_LINES) {
			/* methods and protocols, empty in a line report */
			sl_tally none;
			for (int k = 0; k < 2 && st == SL_OK; k++) {
				memset(&none, 0, sizeof none);
				st = get_tally(&none, r, why);
				if (st == SL_OK && (none.n || none.other))
					st = fail(why, "a line report holds access-log figures");
			}
		}
		for (uint32_t i = 0; i < rep->plan.nitems && st == SL_OK; i++)
			if (rep->item[i].tally)
				st = get_tally(rep->item[i].tally, r, why);
		return st != SL_OK ? st : finish(r, why, "tallies section truncated");
	case SEC_MOMENTS:
		st = SL_OK;
		if (version < 4) {
			/* request_time, response_bytes, line_length, whichever
			 * the plan has; the others must be empty */
			sl_moments none[3];
			memset(none, 0, sizeof none);
			sl_moments *m[3] = {&none[0], &none[1], &none[2]};
			bool lines = rep->format == SL_FMT_LINES;
			for (uint32_t k = 0; k < rep->nquant && k < 2; k++)
				m[lines ? 2 : k] = &rep->item[rep->quants[k]].m;
			for (int k = 0; k < 3 && st == SL_OK; k++)
				st = get_moments(m[k], r, why);
			if (st == SL_OK && m[2] == &none[2] && none[2].n)
				st = fail(why, "an access-log report holds line lengths");
			if (st == SL_OK && lines && (none[0].n || none[1].n))
				st = fail(why, "a line report holds access-log figures");
		} else {
			for (uint32_t k = 0; k < rep->nquant && st == SL_OK; k++)
				st = get_moments(&rep->item[rep->quants[k]].m, r, why);
		}
		return st != SL_OK ? st : finish(r, why, "moments section truncated");
	case SEC_SAMPLES:
		return get_samples(s, r, why);
	default:
		if (distinct_of(rep, type))
			st = sl_distinct_load(*distinct_of(rep, type), r, why);
		else if (topk_of(rep, type))
			st = sl_topk_load(*topk_of(rep, type), r, why);
		else if (quant_of(rep, type))
			st = sl_relq_load(*quant_of(rep, type), r, why);
		else if (kll_alias(type))
			st = get_old_kll(s->mem, *quant_of(rep, kll_alias(type)), r, why);
		else if (groups_of(rep, type))
			st = sl_groups_load(*groups_of(rep, type), r, why);
		else
			st = sl_series_load(*series_of(rep, type), r, why);
		break;
	}
	if (st == SL_ENOMEM)
		*why = "a sketch does not fit the memory budget";
	return st != SL_OK ? st : finish(r, why, "section truncated");
}

static bool known_type(int t, uint32_t version)
{
	if (t >= SEC_META && t <= SEC_SAMPLES)
		return true;
	if (t == SEC_PLAN)
		return version >= 4;
	if (kll_alias(t))
		return version < 3;
	if (t >= SEC_QUANT && t < SEC_SERIES)
		return version >= 3 && (version >= 4 || t <= SEC_QUANT + 2);
	if (version < 4 && ((t >= SEC_DISTINCT && t > SEC_DISTINCT + 2 && t < SEC_TOP) ||
			    (t > SEC_TOP + SL_TOP_COUNT && t < SEC_KLL)))
		return false;
	if (t >= SEC_GROUPS && t < SEC_END)
		return version >= 4;
	return (t >= SEC_DISTINCT && t < SEC_KLL) || t == SEC_SERIES || t == SEC_SERIES + 1;
}

/* The type of the i-th section of the table in buf, as this version
 * numbers it (a line report of versions 1 to 3 numbered its own apart). */
static int section_type(const uint8_t *buf, uint32_t i, uint32_t version, sl_format fmt)
{
	int type = (int)sl_wire_le32(buf + HEADER + (size_t)i * ENTRY);
	return version < 4 && fmt == SL_FMT_LINES ? v3_lines_type(type) : type;
}

/* Where decode reads the file's bytes: a buffer holding all of them, or a
 * descriptor read a part at a time (sl_state_load), so that loading holds
 * at most the largest section beside the report instead of the whole file.
 * get() returns len bytes at off, valid until the next call; NULL when
 * they cannot be had (*why says why: a short read is a file that changed,
 * a refused buffer is memory). */
typedef struct {
	const uint8_t *buf;	/* the whole file, or NULL: read from fd */
	int fd;
	sl_budget *b;		/* the scratch buffer's budget */
	uint8_t *scratch;
	size_t cap;
	sl_status st;		/* why get() failed */
	int err;
} source;

static const uint8_t *get(source *in, uint64_t off, size_t len, const char **why)
{
	if (in->buf)
		return in->buf + off;
	if (len > in->cap) {
		uint8_t *p = sl_realloc(in->b, in->scratch, in->cap, len);
		if (!p) {
			in->st = SL_ENOMEM;
			*why = "no memory for a section of the file";
			return NULL;
		}
		in->scratch = p;
		in->cap = len;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(in->fd, in->scratch + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			in->st = n < 0 ? SL_EIO : SL_ECORRUPT;
			in->err = n < 0 ? errno : 0;
			*why = n < 0 ? "read error" : "file truncated while it was read";
			return NULL;
		}
		got += (size_t)n;
	}
	return in->scratch;
}

static sl_status decode(sl_state *s, source *in, size_t len, size_t want_bytes,
			const char **why)
{
	if (len < HEADER + 8) {
		const uint8_t *head = len >= SL_STATE_MAGIC_LEN ? get(in, 0, len, why) : NULL;
		if (len >= SL_STATE_MAGIC_LEN && !head)
			return in->st;
		return fail(why, head && sl_state_is_state(head, len)
					 ? "truncated header"
					 : "not a sluice state file (wrong magic)");
	}
	const uint8_t *buf = get(in, 0, HEADER, why);
	if (!buf)
		return in->st;
	if (!sl_state_is_state(buf, len))
		return fail(why, "not a sluice state file (wrong magic)");
	uint32_t version = sl_wire_le32(buf + 8);
	if (version < 1 || version > SL_STATE_VERSION)
		return fail(why, "unsupported state format version");
	uint32_t ns = sl_wire_le32(buf + 12);
	uint64_t file_len = sl_wire_le64(buf + 16);
	if (ns < 1 || ns > MAX_SECTIONS)
		return fail(why, "section count out of range");
	size_t table_end = HEADER + (size_t)ns * ENTRY;
	if (len < table_end + 8)
		return fail(why, "truncated section table");
	/* the header and table, kept aside: get() reuses its buffer */
	uint8_t table[HEADER + MAX_SECTIONS * ENTRY + 8];
	if (!(buf = get(in, 0, table_end + 8, why)))
		return in->st;
	memcpy(table, buf, table_end + 8);
	buf = table;
	if (sl_hash(buf, table_end) != sl_wire_le64(buf + table_end) && CHECK_SUMS)
		return fail(why, "header checksum mismatch");
	if (file_len != len)
		return fail(why, file_len > len ? "file truncated (shorter than its recorded length)"
						 : "file longer than its recorded length");

	/* The table: lengths within the file, checksums, types in order. */
	size_t off = table_end + 8;
	int prev = 0;
	bool seen[SEC_END] = {false};
	for (uint32_t i = 0; i < ns; i++) {
		const uint8_t *e = buf + HEADER + (size_t)i * ENTRY;
		uint32_t type = sl_wire_le32(e), flags = sl_wire_le32(e + 4);
		uint64_t slen = sl_wire_le64(e + 8);
		if (slen > len - off)
			return fail(why, "section length past the end of the file");
		if (!known_type((int)type, version) || flags != 0)
			return fail(why, "unknown section type");
		if ((int)type <= prev)
			return fail(why, "sections out of order or repeated");
		const uint8_t *sec = get(in, off, (size_t)slen, why);
		if (!sec)
			return in->st;
		if (sl_hash(sec, (size_t)slen) != sl_wire_le64(e + 16) && CHECK_SUMS)
			return fail(why, "section checksum mismatch");
		seen[kll_alias((int)type) ? kll_alias((int)type) : (int)type] = true;
		prev = (int)type;
		off += (size_t)slen;
	}
	if (off != len)
		return fail(why, "bytes after the last section");
	if (!seen[SEC_META])
		return fail(why, "a required section is missing");

	/* Meta first (types are in order, so it is the first section): the
	 * report's size, checked before anything is made. */
	off = table_end + 8;
	sl_wire_reader r;
	meta m;
	const uint8_t *sec = get(in, off, (size_t)sl_wire_le64(buf + HEADER + 8), why);
	if (!sec)
		return in->st;
	sl_wire_reader_init(&r, sec, (size_t)sl_wire_le64(buf + HEADER + 8));
	sl_status st = get_meta(&r, &m, version, why);
	if (st != SL_OK)
		return st;
	uint64_t recorded_bytes = m.report_bytes;
	if (m.peak > m.budget || m.report_bytes > m.budget) /* before allocating anything */
		return fail(why, m.peak > m.budget ? "peak memory above the run's memory budget"
						   : "a report larger than the run's memory budget");
	/* A report smaller than this build's minimum (one written by a build
	 * with smaller structures) is made at the minimum: its sketches then
	 * merge into the larger ones. */
	/* The plan next (version 4; before: the format's default plan, whose
	 * visitors' rule the counters give), wherever its section lies. */
	sl_plan plan;
	sl_plan_default(&plan, m.format, false);
	if (seen[SEC_PLAN]) {
		size_t poff = table_end + 8;
		for (uint32_t i = 0; i < ns; i++) {
			const uint8_t *e = buf + HEADER + (size_t)i * ENTRY;
			size_t slen = (size_t)sl_wire_le64(e + 8);
			if (sl_wire_le32(e) == SEC_PLAN) {
				if (!(sec = get(in, poff, slen, why)))
					return in->st;
				sl_wire_reader_init(&r, sec, slen);
				if ((st = get_plan(&plan, &r, why)) != SL_OK)
					return st;
				break;
			}
			poff += slen;
		}
	} else if (version >= 4) {
		return fail(why, "a required section is missing");
	}
	size_t least = sl_report_plan_min_bytes(&plan, m.hll_p, 0) +
		       sl_parser_reserve(m.format, m.spec);
	if (m.report_bytes < least)
		m.report_bytes = least;
	if (m.report_bytes < want_bytes)
		m.report_bytes = want_bytes;
	/* The recorded size is a cap, not what the report holds (its tables
	 * grow as keys arrive): a cap above what b has left is lowered to it,
	 * and the contents fail to load only if they do not fit. */
	if (m.report_bytes > sl_budget_available(s->mem))
		m.report_bytes = sl_budget_available(s->mem);
	if (m.report_bytes < least) {
		*why = "the state's report needs more memory than the budget has";
		return SL_ENOMEM;
	}
	s->budget = m.budget;
	s->peak = m.peak;
	st = sl_report_new_plan(&s->report, s->mem, m.format, m.spec, &plan,
				(size_t)m.report_bytes, m.hll_p, NULL, 0);
	if (st != SL_OK) {
		*why = st == SL_EINVAL ? "the plan cannot be made (a field its log format lacks, or a pattern PCRE2 refuses)"
				       : "cannot create the report within the budget";
		return st;
	}
	/* Versions 1 to 3 number a line report's sections apart. */
	memset(seen, 0, sizeof seen);
	for (uint32_t i = 0; i < ns; i++) {
		int type = section_type(buf, i, version, m.format);
		seen[kll_alias(type) ? kll_alias(type) : type] = true;
	}
	/* The sections must be exactly those of a report of this plan
	 * (per_minute may be gone). */
	for (int t = SEC_META; t < SEC_END; t++) {
		if (t == SEC_PLAN && version < 4)
			continue;
		if (seen[t] && !holds(s->report, t))
			return fail(why, "a section does not belong to this log format");
		if (!seen[t] && holds(s->report, t) && t != SEC_SERIES + 1)
			return fail(why, "a required section is missing");
	}

	for (uint32_t i = 0; i < ns; i++) {
		const uint8_t *e = buf + HEADER + (size_t)i * ENTRY;
		int type = section_type(buf, i, version, m.format);
		size_t slen = (size_t)sl_wire_le64(e + 8);
		size_t at = off;
		off += slen;
		if (type == SEC_META || type == SEC_PLAN)
			continue;
		if (!(sec = get(in, at, slen, why)))
			return in->st;
		sl_wire_reader_init(&r, sec, slen);
		st = get_section(s, type, &r, version, why);
		if (st != SL_OK)
			return st;
	}
	if (!seen[SEC_SERIES + 1] && s->report->per_minute) {
		sl_series_free(s->report->per_minute);
		s->report->per_minute = NULL;
	}
	st = cross_check(s->report, why);
	return st != SL_OK ? st : check_run(s, recorded_bytes, why);
}

void sl_state_free(sl_state *s)
{
	if (!s)
		return;
	sl_report_free(s->report);
	sl_free(s->mem, s->inputs, s->ninputs * sizeof *s->inputs);
	sl_free(s->mem, s->strings, s->strings_len);
	sl_free(s->mem, s, sizeof *s);
}

/* A new state decoded from in (len bytes), as sl_state_decode. */
static sl_status decode_new(sl_state **out, sl_budget *b, source *in, size_t len,
			    size_t report_bytes, const char **why)
{
	*out = NULL;
	*why = NULL;
	sl_state *s = sl_calloc(b, 1, sizeof *s);
	if (!s) {
		*why = "no memory for the state";
		return SL_ENOMEM;
	}
	s->mem = b;
	sl_status st = decode(s, in, len, report_bytes, why);
	if (st != SL_OK) {
		if (!*why)
			*why = sl_strerror(st);
		sl_state_free(s);
		return st;
	}
	*out = s;
	return SL_OK;
}

sl_status sl_state_decode(sl_state **out, sl_budget *b, const void *buf, size_t len,
			  size_t report_bytes, const char **why)
{
	source in = {.buf = buf};
	return decode_new(out, b, &in, len, report_bytes, why);
}

/* ---- files ----------------------------------------------------------------- */

sl_status sl_state_load(sl_state **out, sl_budget *b, const char *path, size_t report_bytes,
			int *err, const char **why)
{
	*out = NULL;
	*err = 0;
	*why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		*why = "cannot open";
		return SL_EIO;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		*err = errno;
		close(fd);
		*why = "cannot stat";
		return SL_EIO;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		*err = EINVAL;
		*why = "not a regular file";
		return SL_EIO;
	}
	uint64_t size = (uint64_t)sb.st_size;
	if (size == 0) {
		close(fd);
		*why = "empty file (not a sluice state file)";
		return SL_ECORRUPT;
	}
	if (size > SIZE_MAX) {
		close(fd);
		*why = "the file is larger than this machine can address";
		return SL_ENOMEM;
	}
	/* read a section at a time: the scratch buffer holds the largest one */
	source in = {.fd = fd, .b = b};
	sl_status st = decode_new(out, b, &in, (size_t)size, report_bytes, why);
	if (st == SL_EIO)
		*err = in.err;
	sl_free(b, in.scratch, in.cap);
	close(fd);
	return st;
}

sl_status sl_state_save(const char *path, sl_budget *b, const sl_report *r,
			const sl_state_input *inputs, size_t ninputs, uint64_t budget,
			uint64_t peak, int *err)
{
	(void)b; /* the state streams through the stack: no budget memory */
	*err = 0;
	sl_status st = check_args(r, inputs, ninputs);
	if (st != SL_OK)
		return st;
	sl_outfile f;
	const char *why;
	/* 0600 for a new file: a state holds paths and malformed lines */
	st = sl_outfile_open(&f, path, 0600, 0, err, &why);
	if (st != SL_OK)
		return st;
	st = sl_state_write(sl_outfile_fd(&f), r, inputs, ninputs, budget, peak, err);
	if (st != SL_OK) {
		sl_outfile_abort(&f);
		return st;
	}
	return sl_outfile_commit(&f, err, &why);
}

/* ---- merge ------------------------------------------------------------------ */

sl_status sl_state_merge(sl_state *dst, const sl_state *src, const char **why)
{
	*why = NULL;
	if (dst->report->format != src->report->format ||
	    strcmp(dst->report->format_spec, src->report->format_spec) != 0) {
		*why = "states of different log formats cannot be merged";
		return SL_EMISMATCH;
	}
	if (!sl_plan_equal(&dst->report->plan, &src->report->plan)) {
		sl_plan other = src->report->plan;
		int v = sl_plan_find(&other, "unique_visitors");
		sl_plan_visitors_4xx(&other, v >= 0 && other.item[v].where.op != SL_WHERE_ALL);
		*why = sl_plan_equal(&dst->report->plan, &other)
			       ? "one state counts 4xx responses among unique visitors, the other "
				 "does not"
			       : "the states were made with different plans (their report items "
				 "differ)";
		return SL_EMISMATCH;
	}
	size_t n = dst->ninputs + src->ninputs;
	size_t slen = dst->strings_len + src->strings_len;
	if (n > UINT32_MAX) {
		*why = "too many inputs";
		return SL_EINVAL;
	}
	sl_state_input *inputs = n ? sl_calloc(dst->mem, n, sizeof *inputs) : NULL;
	char *strings = slen ? sl_malloc(dst->mem, slen) : NULL;
	if ((n && !inputs) || (slen && !strings)) {
		sl_free(dst->mem, inputs, n * sizeof *inputs);
		sl_free(dst->mem, strings, slen);
		*why = "no memory for the inputs";
		return SL_ENOMEM;
	}
	/* Copy both input lists and their strings, re-pointed. */
	char *o = strings;
	for (size_t i = 0; i < n; i++) {
		const sl_state_input *in = i < dst->ninputs ? &dst->inputs[i]
							   : &src->inputs[i - dst->ninputs];
		inputs[i] = *in;
		size_t pl = strlen(in->path) + 1;
		memcpy(o, in->path, pl);
		inputs[i].path = o;
		o += pl;
		if (in->error) {
			size_t el = strlen(in->error) + 1;
			memcpy(o, in->error, el);
			inputs[i].error = o;
			o += el;
		}
	}

	/* src's samples name inputs after dst's. */
	sl_report shifted = *src->report;
	for (uint32_t i = 0; i < shifted.nsamples; i++)
		shifted.samples[i].input += (uint32_t)dst->ninputs;
	sl_status st = sl_report_merge(dst->report, &shifted);
	if (st != SL_OK) {
		sl_free(dst->mem, inputs, n * sizeof *inputs);
		sl_free(dst->mem, strings, slen);
		*why = "the reports cannot be merged";
		return st;
	}
	/* The samples' reasons now point into either state: copy them home. */
	char reasons[SL_SAMPLES_MAX][sizeof dst->why[0]];
	sl_report *rep = dst->report;
	for (uint32_t i = 0; i < rep->nsamples; i++) {
		const char *w = rep->samples[i].why ? rep->samples[i].why : "malformed";
		size_t wl = strlen(w);
		if (wl > WHY_MAX)
			wl = WHY_MAX;
		memcpy(reasons[i], w, wl);
		reasons[i][wl] = '\0';
	}
	for (uint32_t i = 0; i < rep->nsamples; i++) {
		memcpy(dst->why[i], reasons[i], sizeof reasons[i]);
		rep->samples[i].why = dst->why[i];
	}

	sl_free(dst->mem, dst->inputs, dst->ninputs * sizeof *dst->inputs);
	sl_free(dst->mem, dst->strings, dst->strings_len);
	dst->inputs = inputs;
	dst->ninputs = n;
	dst->strings = strings;
	dst->strings_len = slen;
	/* the largest budget and the largest peak, so that the peak stays
	 * within the budget (each run's does) */
	if (src->budget > dst->budget)
		dst->budget = src->budget;
	if (src->peak > dst->peak)
		dst->peak = src->peak;
	return SL_OK;
}
