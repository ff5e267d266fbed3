/*
 * fuzz_state.c: libFuzzer target for the state decoder (lib/state.c).
 *
 * Decodes the input as a state file within a 16 MiB budget. A valid state
 * is also re-encoded, decoded again and merged with itself, so the loaders'
 * merge paths and the encoder see whatever the decoder accepts. Every
 * decoded byte must be freed again (the budget returns to zero), and a
 * rejected input must come with a reason.
 *
 * Build and run: scripts/fuzz.sh (corpus in fuzz/corpus/fuzz_state).
 */
#include "sluice.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_budget b;
	sl_budget_init(&b, 16 << 20);
	sl_state *s = NULL;
	const char *why = NULL;
	sl_status st = sl_state_decode(&s, &b, data, size, 0, &why);
	if (st != SL_OK) {
		if (!why || s)
			abort();
		if (b.used != 0)
			abort();
		return 0;
	}
	void *buf;
	size_t len;
	if (sl_state_encode(&b, s->report, s->inputs, s->ninputs, s->budget, s->peak, &buf,
			    &len) == SL_OK) {
		sl_state *t = NULL;
		if (sl_state_decode(&t, &b, buf, len, 0, &why) != SL_OK)
			abort(); /* what we wrote must read back */
		sl_free(&b, buf, len);
		sl_state_merge(s, t, &why);
		sl_state_free(t);
	}
	sl_state_free(s);
	if (b.used != 0)
		abort();
	return 0;
}
