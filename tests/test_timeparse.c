/*
 * test_timeparse.c: sl_time_parse (lib/format/timeparse.c) against timegm(3), the
 * C library's own calendar, on seeded random instants written in each
 * accepted form and zone, and on texts it must refuse.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void random_instants_match_timegm(void **state)
{
	(void)state;
	tu_rng rng = {tu_seed("timeparse", 77)};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	for (int i = 0; i < 20000; i++) {
		/* years 1 .. 9998, so that any zone keeps the instant in range */
		int64_t want = -62135596800LL + (int64_t)tu_below(&rng, 315537811200ULL);
		int off_min = (int)tu_below(&rng, 2 * 14 * 60 + 1) - 14 * 60;
		time_t local = (time_t)(want + off_min * 60);
		struct tm tm;
		assert_non_null(gmtime_r(&local, &tm));
		char sign = off_min < 0 ? '-' : '+';
		int a = off_min < 0 ? -off_min : off_min;
		char text[64];
		int64_t got;
		int32_t off;
		snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03u%c%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (unsigned)tu_below(&rng, 1000), sign, a / 60, a % 60);
		if (!sl_time_parse(text, strlen(text), &got, &off) || got != want ||
		    off != off_min * 60)
			fail_msg("%s: got %lld, want %lld", text, (long long)got, (long long)want);
		snprintf(text, sizeof text, "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", tm.tm_mday,
			 mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
			 a / 60, a % 60);
		if (!sl_time_parse(text, strlen(text), &got, &off) || got != want)
			fail_msg("%s: got %lld, want %lld", text, (long long)got, (long long)want);
		snprintf(text, sizeof text, "%lld", (long long)want);
		if (!sl_time_parse(text, strlen(text), &got, NULL) || got != want)
			fail_msg("%s: got %lld", text, (long long)got);
	}
}

static void forms_and_refusals(void **state)
{
	(void)state;
	int64_t t;
	int32_t off;
	assert_true(sl_time_parse("2000-10-10 20:55:36", 19, &t, &off));
	assert_int_equal(t, 971211336);
	assert_int_equal(off, 0);
	assert_true(sl_time_parse("2000-10-10T13:55:36-0700", 24, &t, &off));
	assert_int_equal(t, 971211336);
	assert_int_equal(off, -7 * 3600);
	assert_true(sl_time_parse("2000-10-10T20:55:36Z", 20, &t, NULL));
	assert_int_equal(t, 971211336);
	assert_true(sl_time_parse("971211336.999", 13, &t, NULL));
	assert_int_equal(t, 971211336);
	assert_true(sl_time_parse("-1.5", 4, &t, NULL));
	assert_int_equal(t, -2); /* floored */
	assert_true(sl_time_parse("2024-02-29T00:00:00Z", 20, &t, NULL));
	static const char *const bad[] = {
		"2023-02-29T00:00:00Z", "2000-13-01T00:00:00Z", "2000-10-10T24:00:00Z",
		"2000-10-10T20:55:36+15:00", "2000-10-10T20:55:36 ", "2000-10-10T20:55:36.",
		"10/Oct/2000:13:55:36 0700", "10/Foo/2000:13:55:36 -0700", "", "12a", "1.",
		"99999999999999", "0000-01-01T00:00:00+01:00",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (sl_time_parse(bad[i], strlen(bad[i]), &t, NULL))
			fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_instants_match_timegm),
		cmocka_unit_test(forms_and_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
