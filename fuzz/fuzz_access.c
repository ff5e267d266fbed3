/*
 * fuzz_access.c: libFuzzer target for the access-log line parser
 * (lib/format/access.c) and the report that feeds on it (lib/report/report.c).
 *
 * The input is copied into an exactly sized heap block, so AddressSanitizer
 * catches a read one byte past the line. Every format parses it as one line,
 * the detector looks at it as a buffer of lines, and a report is fed the
 * whole input as lines. Parsed fields must lie inside the line; a rejected
 * line must say why.
 *
 * Build and run: scripts/fuzz.sh (corpus in fuzz/corpus/fuzz_access).
 */
#include "sluice.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sl_report *report;
static sl_budget budget;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	for (int f = SL_FMT_COMMON; f < SL_FMT_COUNT; f++) {
		if (!sl_format_is_classic((sl_format)f)) /* not sl_access_parse's */
			continue;
		sl_record rec;
		sl_time_cache tc;
		memset(&tc, 0, sizeof tc);
		sl_status st = sl_access_parse((sl_format)f, line, size, &rec, &tc);
		if (st == SL_OK) {
			for (int i = 0; i < SL_F_COUNT; i++) {
				const sl_str *s = &rec.field[i];
				if (s->len && (s->p < line || s->p + s->len > line + size))
					abort();
			}
			if (rec.status < 100 || rec.status > 599)
				abort();
		} else if (st != SL_EFORMAT || !rec.why) {
			abort();
		}
	}
	sl_format detected = sl_access_detect(line, size);
	if (detected <= SL_FMT_AUTO || detected >= SL_FMT_COUNT)
		abort();
	if (!report) {
		sl_budget_init(&budget, 8 << 20);
		if (sl_report_new(&report, &budget, SL_FMT_COMBINED, 4 << 20) != SL_OK)
			abort();
	}
	sl_report_counts c;
	sl_report_get_counts(report, &c);
	uint64_t lines = c.lines;
	sl_report_feed(report, line, size);
	sl_report_get_counts(report, &c);
	if (c.lines < lines || c.lines != c.requests + c.malformed + c.oversized)
		abort();
	free(line);
	return 0;
}
