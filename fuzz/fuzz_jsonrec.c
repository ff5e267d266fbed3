/*
 * fuzz_jsonrec.c: libFuzzer target for the JSON lines parser
 * (lib/format/jsonrec.c).
 *
 * The input is copied into an exactly sized heap block, so AddressSanitizer
 * catches a read one byte past the line. Each preset parses it, and a
 * parser mapped to nested paths and array elements ("a.b.0", "k.1.x");
 * every field of an accepted record is read whole (a field that points
 * outside the line or the scratch buffer faults under ASan), a status is 0
 * or 100..599, a rejected line says why, and parsing the same line twice
 * gives the same answer. The detector looks at the input as a buffer of
 * lines.
 *
 * Build and run: scripts/fuzz.sh fuzz_jsonrec (corpus in
 * fuzz/corpus/fuzz_jsonrec).
 */
#include "sluice.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARSERS 4
static sl_jsonrec *parser[PARSERS];
static sl_budget budget;

static void setup(void)
{
	static const char *const presets[PARSERS] = {"json", "caddy", "traefik", "none"};
	sl_budget_init(&budget, 16 << 20);
	for (int i = 0; i < PARSERS; i++)
		if (sl_jsonrec_new(&parser[i], &budget, presets[i]) != SL_OK)
			abort();
	sl_jsonrec *j = parser[PARSERS - 1];
	if (sl_jsonrec_map(j, SL_F_USER_AGENT, "a.b.0") != SL_OK ||
	    sl_jsonrec_map(j, SL_F_REFERRER, "k.1.x") != SL_OK ||
	    sl_jsonrec_map(j, SL_F_STATUS, "s") != SL_OK ||
	    sl_jsonrec_map(j, SL_F_TIME, "t") != SL_OK ||
	    sl_jsonrec_map(j, SL_F_REQUEST_TIME, "n") != SL_OK ||
	    sl_jsonrec_map(j, SL_F_URL, "u") != SL_OK)
		abort();
}

static unsigned touch(const sl_record *rec)
{
	unsigned sum = 0;
	for (int f = 0; f < SL_F_COUNT; f++)
		for (size_t i = 0; i < rec->field[f].len; i++)
			sum += (unsigned char)rec->field[f].p[i];
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!parser[0])
		setup();
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	for (int i = 0; i < PARSERS; i++) {
		sl_record rec, again;
		sl_time_cache tc;
		memset(&tc, 0, sizeof tc);
		sl_status st = sl_jsonrec_parse(parser[i], line, size, &rec, &tc);
		if (st == SL_OK) {
			if (rec.status != 0 && (rec.status < 100 || rec.status > 599))
				abort();
			if (rec.field[SL_F_LINE].p != line || rec.field[SL_F_LINE].len != size)
				abort();
			unsigned sum = touch(&rec);
			if (sl_jsonrec_parse(parser[i], line, size, &again, &tc) != SL_OK ||
			    touch(&again) != sum || again.status != rec.status ||
			    again.bytes != rec.bytes || again.time != rec.time)
				abort();
		} else if (st == SL_EFORMAT || st == SL_ENOMEM) {
			if (!rec.why)
				abort();
			if (sl_jsonrec_parse(parser[i], line, size, &again, &tc) != st ||
			    strcmp(again.why, rec.why) != 0)
				abort();
		} else if (st != SL_ESKIP) {
			abort();
		}
	}
	const char *preset = NULL;
	if (sl_jsonrec_looks_like(line, size, &preset) && !preset)
		abort();
	free(line);
	return 0;
}
