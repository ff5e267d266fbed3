/*
 * test_hostile_growth.c: the hostile suite's "growth" cases (issue 11 item 3,
 * and issue 12's cut keys): memory follows the data, not the cap.
 *
 *  item03_memory_follows_data   a tiny log under caps of 1 MiB to 16 GiB:
 *      the bytes the report asks its allocator for (counted by a hook that
 *      refuses any single block over 64 MiB, so the old behaviour, which
 *      took every share up front, fails here instead of touching GBs) stay
 *      at a few hundred KiB whatever the cap.
 *  item03_used_independent_of_cap   the budget's `used` after 100 lines is
 *      the same within a factor of 2 at 1 MiB, 64 MiB and 1 GiB.
 *  issue12_keys_never_cut_while_exact   2,000 user agents of 600 bytes that
 *      differ only in their last bytes: while the list is exact every row
 *      holds its whole key (they used to be cut to 32 bytes, so that
 *      different agents printed the same).
 */
#include "report/report.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the bytes held through the hook and their peak; refuses any one
 * block over `refuse_over` (counted in `refused`). */
typedef struct {
	size_t held, peak, refuse_over;
	unsigned refused;
} counter;

static void *counting_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	counter *c = ud;
	if (new_size == 0) {
		free(ptr);
		c->held -= old_size;
		return NULL;
	}
	if (new_size > c->refuse_over) {
		c->refused++;
		return NULL;
	}
	void *p = realloc(ptr, new_size);
	if (p) {
		c->held = c->held - old_size + new_size;
		if (c->held > c->peak)
			c->peak = c->held;
	}
	return p;
}

/* n combined lines, clients and agents drawn from a few values. */
static size_t small_log(char *buf, size_t cap, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char when[27];
		tu_log_time(when, 1700000000 + (int64_t)i * 30);
		len += (size_t)snprintf(buf + len, cap - len,
					"192.0.2.%zu - - [%s] \"GET /a/%zu HTTP/1.1\" 200 %zu \"-\" "
					"\"agent %zu\"\n",
					i % 37, when, i % 11, 100 + i, i % 5);
	}
	return len;
}

static void item03_memory_follows_data(void **state)
{
	(void)state;
	char buf[100 * 160];
	size_t len = small_log(buf, sizeof buf, 100);
	const size_t caps[] = {(size_t)1 << 20, (size_t)64 << 20, (size_t)1 << 30,
			       (size_t)16 << 30};
	for (int i = 0; i < 4; i++) {
		counter c = {.refuse_over = (size_t)64 << 20};
		sl_budget b;
		sl_budget_init(&b, caps[i]);
		sl_budget_set_alloc(&b, counting_alloc, &c);
		sl_report *r;
		assert_int_equal(sl_report_new(&r, &b, SL_FMT_COMBINED, caps[i]), SL_OK);
		sl_report_feed(r, buf, len);
		assert_int_equal(r->requests, 100);
		assert_true(sl_report_unique_ips(r).exact);
		print_message("cap %zu: %zu bytes asked at the peak, %u refused\n", caps[i], c.peak,
			      c.refused);
		assert_int_equal(c.refused, 0);
		assert_true(c.peak < ((size_t)2 << 20));
		sl_report_free(r);
		assert_int_equal(c.held, 0);
	}
}

static void item03_used_independent_of_cap(void **state)
{
	(void)state;
	char buf[100 * 160];
	size_t len = small_log(buf, sizeof buf, 100);
	const size_t caps[] = {(size_t)1 << 20, (size_t)64 << 20, (size_t)1 << 30};
	size_t used[3];
	for (int i = 0; i < 3; i++) {
		sl_budget b;
		sl_budget_init(&b, caps[i]);
		counter c = {.refuse_over = (size_t)64 << 20};
		sl_budget_set_alloc(&b, counting_alloc, &c);
		sl_report *r;
		assert_int_equal(sl_report_new(&r, &b, SL_FMT_COMBINED, caps[i]), SL_OK);
		sl_report_feed(r, buf, len);
		used[i] = b.used;
		print_message("cap %zu: used %zu\n", caps[i], used[i]);
		sl_report_free(r);
	}
	for (int i = 1; i < 3; i++) {
		assert_true(used[i] <= 2 * used[0]);
		assert_true(used[0] <= 2 * used[i]);
	}
}

static void issue12_keys_never_cut_while_exact(void **state)
{
	(void)state;
	size_t n = 2000, cap = n * 900;
	char *buf = malloc(cap);
	assert_non_null(buf);
	char agent[601];
	memset(agent, 'A', 600);
	agent[600] = '\0';
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char when[27];
		tu_log_time(when, 1700000000 + (int64_t)i);
		snprintf(agent + 590, 11, "%010zu", i); /* differs in the last bytes */
		len += (size_t)snprintf(buf + len, cap - len,
					"198.51.100.%zu - - [%s] \"GET / HTTP/1.1\" 200 1 \"-\" \"%s\"\n",
					i % 200, when, agent);
	}
	sl_budget b;
	sl_budget_init(&b, 16 << 20);
	sl_report *r;
	assert_int_equal(sl_report_new(&r, &b, SL_FMT_COMBINED, 16 << 20), SL_OK);
	sl_report_feed(r, buf, len);
	bool exact;
	size_t capacity;
	uint64_t total;
	sl_report_top_info(r, SL_TOP_USER_AGENT, &exact, &capacity, &total);
	assert_true(exact);
	sl_topk_row *rows = calloc(n, sizeof *rows);
	assert_non_null(rows);
	size_t k = sl_report_top(r, SL_TOP_USER_AGENT, rows, n);
	assert_int_equal(k, n);
	size_t cut = 0;
	for (size_t i = 0; i < k; i++) {
		cut += rows[i].truncated || rows[i].len != 600;
		assert_int_equal(rows[i].count, 1);
	}
	print_message("%zu of %zu agents cut while exact\n", cut, k);
	assert_int_equal(cut, 0);
	free(rows);
	sl_report_free(r);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(item03_memory_follows_data),
		cmocka_unit_test(item03_used_independent_of_cap),
		cmocka_unit_test(issue12_keys_never_cut_while_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
