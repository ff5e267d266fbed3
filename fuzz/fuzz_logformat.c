/*
 * fuzz_logformat.c: libFuzzer target for the log formats (lib/format/logformat.c):
 * the format-string compiler, the compiled programs, the presets (W3C
 * headers, LTSV, CSV/TSV quoting, syslog framing) and the detector.
 *
 * Input: the first byte chooses what the rest is. Below 0x80 with a '\n'
 * in the input: the bytes up to the first '\n' are a format string (NUL
 * cut), the rest are lines parsed with it. Otherwise the first byte picks a
 * preset and the rest are its lines. Every line is copied into an exactly
 * sized heap block, so AddressSanitizer catches a read one byte past it.
 * Checks: a refused string says why at a position inside it; parsed fields
 * lie inside the line (or in the scratch, for CSV fields that held
 * escapes); a status is 100..599 (or 0 when the line had none); a rejected
 * line says why; the detector answers a preset name or NULL; nothing leaks
 * from the budget. CSV and TSV lines are also read as the report reads
 * them, through the line reader's index (sl_logformat_lines_parse), and
 * must give what the byte path gives: status, reason, every field.
 *
 * Build and run: scripts/fuzz.sh fuzz_logformat (corpus in
 * fuzz/corpus/fuzz_logformat).
 */
#include "sluice.h"
#include "format/scan.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const presets[] = {
	"w3c", "cloudfront", "elb", "alb", "s3", "traefik", "ltsv", "csv", "tsv", "syslog",
};

static void parse_lines(sl_logformat *lf, const char *buf, size_t len)
{
	sl_time_cache tc;
	memset(&tc, 0, sizeof tc);
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *line = malloc(n ? n : 1);
		if (!line)
			abort();
		memcpy(line, p, n);
		sl_record rec;
		sl_status st = sl_logformat_parse(lf, line, n, &rec, &tc);
		if (st == SL_OK) {
			for (int i = 0; i < SL_F_COUNT; i++) {
				const sl_str *s = &rec.field[i];
				bool in_line = s->p >= line && s->p + s->len <= line + n;
				/* CSV fields with "" escapes live in the scratch */
				if (s->len && !in_line &&
				    strcmp(sl_logformat_spec(lf), "csv") != 0 &&
				    strcmp(sl_logformat_spec(lf), "tsv") != 0)
					abort();
			}
			if (rec.status != 0 && (rec.status < 100 || rec.status > 599))
				abort();
			if (rec.status == 0 && rec.field[SL_F_STATUS].len)
				abort();
		} else if (st == SL_EFORMAT) {
			if (!rec.why)
				abort();
		} else if (st != SL_ESKIP && st != SL_ENOMEM) {
			abort();
		}
		free(line);
		p = nl ? nl + 1 : end;
	}
}

/* The lines of buf through the line reader's index (lf) and through the
 * byte path on an exactly sized copy (ref): the same verdict, reason and
 * fields (as offsets in the line, or as bytes for unescaped ones). */
static void indexed_lines(sl_logformat *lf, sl_logformat *ref, const char *buf, size_t len)
{
	static sl_scan_lines it;
	char cc[3];
	int nc = sl_logformat_index_chars(lf, cc);
	if (nc == 0)
		abort();
	sl_scan_lines_init(&it, buf, len, cc, nc);
	const char *line;
	size_t n;
	bool indexed;
	while (sl_scan_lines_next(&it, &line, &n, &indexed)) {
		char *copy = malloc(n ? n : 1);
		if (!copy)
			abort();
		memcpy(copy, line, n);
		sl_record ra, rb;
		sl_status sa = indexed ? sl_logformat_lines_parse(lf, &it, line, n, &ra, NULL)
				       : sl_logformat_parse(lf, line, n, &ra, NULL);
		sl_status sb = sl_logformat_parse(ref, copy, n, &rb, NULL);
		if (sa != sb || (sa == SL_EFORMAT && strcmp(ra.why, rb.why) != 0))
			abort();
		for (int i = 0; sa == SL_OK && i < SL_F_COUNT; i++) {
			const sl_str *a = &ra.field[i], *b = &rb.field[i];
			if (a->len != b->len || (a->len && memcmp(a->p, b->p, a->len) != 0))
				abort();
			bool ina = a->p >= line && a->p <= line + n, inb = b->p >= copy && b->p <= copy + n;
			if (a->len && (ina != inb || (ina && a->p - line != b->p - copy)))
				abort();
		}
		if (sa == SL_OK && (ra.time != rb.time || ra.status != rb.status ||
				    ra.bytes != rb.bytes || ra.has_request_time != rb.has_request_time ||
				    memcmp(&ra.request_time, &rb.request_time, sizeof(double)) != 0))
			abort();
		free(copy);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	sl_budget b;
	sl_budget_init(&b, 1 << 20);
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	const char *nl = memchr(text, '\n', len);
	sl_logformat *lf = NULL;
	if (data[0] < 0x80 && nl) {
		size_t sn = (size_t)(nl - text);
		char *spec = malloc(sn + 1);
		if (!spec)
			abort();
		memcpy(spec, text, sn);
		spec[sn] = 0;
		size_t pos = 0;
		const char *why = NULL;
		sl_status st = sl_logformat_compile(&lf, &b, spec, &pos, &why);
		if (st == SL_OK) {
			if (!lf || strcmp(sl_logformat_spec(lf), spec) != 0)
				abort();
			parse_lines(lf, nl + 1, len - sn - 1);
		} else if (st != SL_EINVAL || lf || !why || pos > strlen(spec)) {
			abort();
		}
		free(spec);
	} else {
		const char *name = presets[data[0] % (sizeof presets / sizeof presets[0])];
		if (sl_logformat_preset(&lf, &b, name) != SL_OK)
			abort();
		parse_lines(lf, text, len);
		if (strcmp(name, "csv") == 0 || strcmp(name, "tsv") == 0) {
			sl_logformat *a, *r;
			if (sl_logformat_preset(&a, &b, name) != SL_OK ||
			    sl_logformat_preset(&r, &b, name) != SL_OK)
				abort();
			indexed_lines(a, r, text, len);
			sl_logformat_free(a);
			sl_logformat_free(r);
		}
	}
	sl_logformat_free(lf);
	if (b.used != 0)
		abort();
	const char *d = sl_logformat_detect(text, len);
	if (d) {
		bool known = false;
		for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
			known |= strcmp(d, presets[i]) == 0;
		if (!known)
			abort();
	}
	return 0;
}
