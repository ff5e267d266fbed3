/*
 * reportcmp.c: see reportcmp.h.
 */
#include "reportcmp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static sl_report_counts counts(const sl_report *r)
{
	sl_report_counts c;
	sl_report_get_counts(r, &c);
	return c;
}

void rc_assert_same_figures(const sl_report *a, const sl_report *b, const char *label)
{
	sl_report_counts ca = counts(a), cb = counts(b);
	assert_int_equal(ca.lines, cb.lines);
	assert_int_equal(ca.requests, cb.requests);
	assert_int_equal(ca.malformed, cb.malformed);
	assert_int_equal(ca.oversized, cb.oversized);
	assert_int_equal(ca.bytes, cb.bytes);
	assert_int_equal(ca.first_time, cb.first_time);
	assert_int_equal(ca.last_time, cb.last_time);
	for (unsigned s = 100; s < 600; s++)
		assert_int_equal(sl_report_status(a, s), sl_report_status(b, s));
	const sl_plan *p = sl_report_plan(a);
	assert_true(sl_plan_equal(p, sl_report_plan(b)));
	for (uint32_t i = 0; i < p->nitems; i++) {
		const char *name = p->item[i].name;
		switch (p->item[i].kind) {
		case SL_ITEM_DISTINCT: {
			sl_estimate ea = sl_report_item_distinct(a, i), eb = sl_report_item_distinct(b, i);
			if (!ea.exact || !eb.exact || ea.estimate != eb.estimate)
				fail_msg("%s: %s differs or is not exact", label, name);
			break;
		}
		case SL_ITEM_TOP: {
			sl_topk_row ra[10], rb[10];
			bool xa, xb;
			size_t pa, pb;
			uint64_t ta, tb;
			sl_report_item_top_info(a, i, &xa, &pa, &ta);
			sl_report_item_top_info(b, i, &xb, &pb, &tb);
			assert_true(xa && xb);
			assert_int_equal(ta, tb);
			size_t na = sl_report_item_top(a, i, ra, 10);
			size_t nb = sl_report_item_top(b, i, rb, 10);
			assert_int_equal(na, nb);
			for (size_t k = 0; k < na; k++)
				if (ra[k].len != rb[k].len || memcmp(ra[k].value, rb[k].value, ra[k].len) ||
				    ra[k].count != rb[k].count)
					fail_msg("%s: list %s row %zu differs", label, name, k);
			break;
		}
		case SL_ITEM_QUANTILES: {
			const sl_moments *ma = sl_report_item_moments(a, i),
					 *mb = sl_report_item_moments(b, i);
			if (ma->n != mb->n || ma->min != mb->min || ma->max != mb->max)
				fail_msg("%s: %s differs", label, name);
			break;
		}
		case SL_ITEM_TALLY: {
			const sl_tally *x = sl_report_item_tally(a, i), *y = sl_report_item_tally(b, i);
			if (x && (x->n != y->n || x->other != y->other))
				fail_msg("%s: %s differs", label, name);
			for (uint32_t k = 0; x && k < x->n; k++) {
				uint32_t m = 0;
				while (m < y->n && strcmp(x->key[k], y->key[m]))
					m++;
				if (m == y->n || x->count[k] != y->count[m])
					fail_msg("%s: %s differs at %s", label, name, x->key[k]);
			}
			break;
		}
		default:
			break;
		}
	}
	uint32_t na, nb;
	const sl_sample *sa = sl_report_samples(a, &na), *sb = sl_report_samples(b, &nb);
	assert_int_equal(na, nb);
	for (uint32_t i = 0; i < na; i++) {
		assert_int_equal(sa[i].input, sb[i].input);
		assert_int_equal(sa[i].line, sb[i].line);
		assert_int_equal(sa[i].len, sb[i].len);
		assert_memory_equal(sa[i].text, sb[i].text, sa[i].len);
	}
}

