/*
 * fuzz_state.c: libFuzzer target for the state decoder (lib/report/state.c).
 *
 * Decodes the input as a state file within a 16 MiB budget. A valid state
 * is also re-encoded, decoded again and merged with itself, so the loaders'
 * merge paths and the encoder see whatever the decoder accepts. Every
 * decoded byte must be freed again (each budget returns to zero), and a
 * rejected input must come with a reason.
 *
 * Each step has its own budget, so that an abort always means a bug: the
 * first state is held while the second is decoded, and a state that fits
 * 16 MiB alone need not fit beside another. The first decode and the second
 * get 16 MiB each (the second decodes the report the first made, at the
 * same size: it must fit where the first did), and the encoded copy lives
 * in a third budget (64 MiB: a limit, not a reservation). The merge of the
 * two draws on the first state's budget and may fail for want of memory;
 * that is allowed, a crash or a leak is not.
 *
 * Build and run: scripts/fuzz.sh (corpus in fuzz/corpus/fuzz_state).
 * tests/test_hostile_state.c includes this file and runs the harness on a
 * state that fills most of the 16 MiB.
 */
#include "sluice.h"

#include <stdlib.h>

#define DECODE_BUDGET ((size_t)16 << 20)
#define ENCODE_BUDGET ((size_t)64 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_budget first, copy, second;
	sl_budget_init(&first, DECODE_BUDGET);
	sl_budget_init(&copy, ENCODE_BUDGET);
	sl_budget_init(&second, DECODE_BUDGET);
	sl_state *s = NULL;
	const char *why = NULL;
	sl_status st = sl_state_decode(&s, &first, data, size, 0, &why);
	if (st != SL_OK) {
		if (!why || s)
			abort();
		if (first.used != 0)
			abort();
		return 0;
	}
	void *buf;
	size_t len;
	if (sl_state_encode(&copy, s->report, s->inputs, s->ninputs, s->budget, s->peak, &buf,
			    &len) != SL_OK)
		abort(); /* a state that decoded must encode in 64 MiB */
	sl_state *t = NULL;
	if (sl_state_decode(&t, &second, buf, len, 0, &why) != SL_OK)
		abort(); /* what we wrote must read back */
	sl_free(&copy, buf, len);
	sl_state_merge(s, t, &why);
	sl_state_free(t);
	sl_state_free(s);
	if (first.used != 0 || copy.used != 0 || second.used != 0)
		abort();
	return 0;
}
