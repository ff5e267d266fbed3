/*
 * test_groups.c: sl_groups (lib/sketch/groups.c) against a naive per-group
 * reference.
 *
 * A stream is an array of records {group, bytes, visitor, request time or
 * none, path}, drawn from a seeded generator (uniform or Zipf over group
 * ids). The reference recomputes every figure of a group from the records
 * themselves: its count, its byte sum, its distinct visitors, the sorted
 * request times (nearest-rank quantiles, as lib/sketch/relq.c defines them) and
 * the count of each path. Records "since admission" are not known to the
 * reference, so a partial group is checked against what must hold whatever
 * they were: true count in [count - max_error, count], bytes <= the true sum,
 * the path counts summing to count - max_error, and so on.
 *
 * Seeded (tu_seed prints the seed; SLUICE_SEED replays it).
 */
#include "testutil.h"
#include "core/wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REC 40000
#define MAX_GROUPS 4000
#define VISITORS 64	/* visitor ids: a bit mask per group */
#define PATHS 12

static uint64_t seed;

typedef struct {
	uint32_t group;
	uint32_t visitor;
	uint32_t path;
	uint64_t bytes;
	bool has_rt;
	double rt;
} rec;

static rec recs[MAX_REC];

static size_t key_of(uint32_t id, char *buf, bool long_keys)
{
	int n = snprintf(buf, 64, "vhost-%u.example", id);
	if (!long_keys || id % 3)
		return (size_t)n;
	/* every third key longer than SL_GROUPS_KEY_MAX */
	for (int i = n; i < 300; i++)
		buf[i] = (char)('a' + (id + (uint32_t)i) % 26);
	return 300;
}

static uint64_t vhash(uint32_t v)
{
	tu_rng r = {v * 7919u + 1};
	return tu_next(&r);
}

static size_t path_of(uint32_t p, char *buf)
{
	return (size_t)snprintf(buf, 32, "/api/item/%u", p);
}

/* n records over `groups` groups: uniform when s == 0, else Zipf(s). */
static void make_stream(tu_rng *r, size_t n, uint32_t groups, double s)
{
	static double cdf[MAX_GROUPS];
	assert_true(n <= MAX_REC && groups <= MAX_GROUPS);
	if (s > 0) {
		double sum = 0;
		for (uint32_t i = 0; i < groups; i++)
			cdf[i] = (sum += pow(i + 1.0, -s));
		for (uint32_t i = 0; i < groups; i++)
			cdf[i] /= sum;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t gid;
		if (s > 0) {
			double u = tu_unit(r);
			uint32_t lo = 0, hi = groups - 1;
			while (lo < hi) {
				uint32_t mid = (lo + hi) / 2;
				if (cdf[mid] < u)
					lo = mid + 1;
				else
					hi = mid;
			}
			gid = lo;
		} else {
			gid = (uint32_t)tu_below(r, groups);
		}
		recs[i].group = gid;
		recs[i].visitor = (uint32_t)tu_below(r, VISITORS);
		recs[i].path = (uint32_t)tu_below(r, PATHS);
		recs[i].bytes = tu_below(r, 100000);
		recs[i].has_rt = tu_below(r, 8) != 0;
		recs[i].rt = 0.001 * (double)(1 + tu_below(r, 3000));
	}
}

static void feed(sl_groups *g, size_t from, size_t to, bool long_keys)
{
	char key[512], path[32];
	for (size_t i = from; i < to; i++) {
		const rec *x = &recs[i];
		size_t kl = key_of(x->group, key, long_keys);
		size_t pl = path_of(x->path, path);
		sl_groups_add(g, key, kl, sl_hash(key, kl), x->bytes, vhash(x->visitor), x->has_rt,
			      x->rt, path, pl, sl_hash(path, pl));
	}
}

/* The reference figures of group gid over recs[0 .. n). */
typedef struct {
	uint64_t count, bytes;
	uint64_t visitors;	/* bit mask */
	uint64_t paths[PATHS];
	double *rt;
	size_t nrt;
} ref;

static void reference(uint32_t gid, size_t n, ref *out)
{
	memset(out, 0, sizeof *out);
	out->rt = malloc(sizeof(double) * (n + 1));
	for (size_t i = 0; i < n; i++) {
		if (recs[i].group != gid)
			continue;
		out->count++;
		out->bytes += recs[i].bytes;
		out->visitors |= (uint64_t)1 << recs[i].visitor;
		out->paths[recs[i].path]++;
		if (recs[i].has_rt)
			out->rt[out->nrt++] = recs[i].rt;
	}
	qsort(out->rt, out->nrt, sizeof(double), tu_cmp_double);
}

/* The group id a row's key names (the number after "vhost-"). */
static uint32_t row_id(const sl_group_row *row)
{
	assert_true(row->len > 6 && memcmp(row->key, "vhost-", 6) == 0);
	return (uint32_t)strtoul(row->key + 6, NULL, 10);
}

static uint64_t true_count(uint32_t gid, size_t n)
{
	uint64_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += recs[i].group == gid;
	return c;
}

/* Rows sorted by count descending, then key ascending. */
static void check_order(const sl_group_row *rows, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		const sl_group_row *a = &rows[i - 1], *b = &rows[i];
		if (a->count != b->count) {
			assert_true(a->count > b->count);
			continue;
		}
		size_t m = a->len < b->len ? a->len : b->len;
		int c = memcmp(a->key, b->key, m);
		assert_true(c < 0 || (c == 0 && a->len <= b->len));
	}
}

/* Every figure of an exact row against the reference. */
static void check_exact_row(const sl_group_row *row, size_t n, bool long_keys)
{
	uint32_t gid = row_id(row);
	char key[512];
	size_t kl = key_of(gid, key, long_keys);
	size_t want = kl < SL_GROUPS_KEY_MAX ? kl : SL_GROUPS_KEY_MAX;
	assert_int_equal(row->len, want);
	assert_true(row->truncated == (kl > want));
	assert_memory_equal(row->key, key, want);
	ref r;
	reference(gid, n, &r);
	assert_int_equal(row->count, r.count);
	assert_int_equal(row->max_error, 0);
	assert_false(row->partial);
	assert_int_equal(row->bytes, r.bytes);
	assert_true(row->visitors.exact);
	assert_int_equal((uint64_t)row->visitors.estimate, (uint64_t)__builtin_popcountll(r.visitors));
	if (r.nrt) {
		assert_non_null(row->request_time);
		assert_int_equal(sl_relq_count(row->request_time), r.nrt);
		const double qs[] = {0, 0.25, 0.5, 0.9, 0.99, 1};
		for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
			double got = sl_relq_quantile(row->request_time, qs[i]);
			double exp = r.rt[sl_relq_rank(qs[i], r.nrt) - 1];
			if (sl_relq_is_exact(row->request_time))
				assert_true(got == exp);
			else
				assert_true(fabs(got - exp) <= SL_GROUPS_RT_ALPHA * exp * (1 + 1e-9));
		}
	} else {
		assert_null(row->request_time);
	}
	assert_non_null(row->paths);
	sl_topk_row pr[PATHS + 1];
	size_t np = sl_topk_list(row->paths, pr, PATHS + 1);
	assert_true(sl_topk_is_exact(row->paths));
	size_t held = 0;
	for (uint32_t p = 0; p < PATHS; p++)
		held += r.paths[p] > 0;
	assert_int_equal(np, held);
	for (size_t i = 0; i < np; i++) {
		uint32_t p = (uint32_t)strtoul(pr[i].value + 10, NULL, 10);
		assert_true(p < PATHS);
		assert_int_equal(pr[i].count, r.paths[p]);
	}
	free(r.rt);
}

/* What holds for any row, partial or not. */
static void check_bounded_row(const sl_group_row *row, size_t n)
{
	uint32_t gid = row_id(row);
	ref r;
	reference(gid, n, &r);
	assert_true(row->count >= r.count && row->count - row->max_error <= r.count);
	uint64_t covered = row->count - row->max_error;
	if (!row->partial) {
		assert_int_equal(row->max_error, 0);
		assert_int_equal(row->bytes, r.bytes);
	} else {
		assert_true(row->bytes <= r.bytes);
	}
	if (row->max_error)
		assert_true(row->partial);
	/* every record has a path: the paths have seen exactly the covered
	 * records (none refused in these tests) */
	assert_non_null(row->paths);
	assert_int_equal(sl_topk_total(row->paths), covered);
	if (row->request_time)
		assert_true(sl_relq_count(row->request_time) <= covered &&
			    sl_relq_count(row->request_time) <= r.nrt);
	if (row->visitors.exact)
		assert_true(row->visitors.estimate <= __builtin_popcountll(r.visitors));
	free(r.rt);
}

/* Bytes for a table of about `groups` groups. */
static size_t bytes_for(size_t groups)
{
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	size_t lo = 1024, hi = (size_t)1 << 26;
	while (lo < hi) { /* the least max_bytes with capacity >= groups */
		size_t mid = (lo + hi) / 2;
		sl_groups *g = sl_groups_new(&b, mid);
		size_t cap = g ? sl_groups_capacity(g) : 0;
		sl_groups_free(g);
		if (cap >= groups)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static sl_group_row *list_all(const sl_groups *g, size_t *n)
{
	size_t cap = sl_groups_count(g) + 1;
	sl_group_row *rows = calloc(cap, sizeof *rows);
	*n = sl_groups_list(g, rows, cap);
	assert_int_equal(*n, sl_groups_count(g));
	check_order(rows, *n);
	return rows;
}

/* ---- exact while the groups fit ---- */

static void exact_when_groups_fit(void **state)
{
	(void)state;
	for (int long_keys = 0; long_keys < 2; long_keys++) {
		tu_rng r = {seed + (uint64_t)long_keys};
		size_t n = 6000;
		uint32_t groups = 48;
		make_stream(&r, n, groups, long_keys ? 1.0 : 0);
		size_t max = bytes_for(64);
		sl_budget b;
		sl_budget_init(&b, (size_t)1 << 30);
		sl_groups *g = sl_groups_new(&b, max);
		assert_non_null(g);
		assert_int_equal(sl_groups_capacity(g), 64);
		feed(g, 0, n, long_keys);
		assert_true(sl_groups_is_exact(g));
		assert_int_equal(sl_groups_total(g), n);
		assert_int_equal(sl_groups_floor(g), 0);
		size_t nr;
		sl_group_row *rows = list_all(g, &nr);
		size_t seen = 0;
		for (uint32_t i = 0; i < groups; i++)
			seen += true_count(i, n) > 0;
		assert_int_equal(nr, seen);
		for (size_t i = 0; i < nr; i++)
			check_exact_row(&rows[i], n, long_keys);
		/* a shorter list is the head of the full one */
		sl_group_row head[5];
		assert_int_equal(sl_groups_list(g, head, 5), 5);
		for (size_t i = 0; i < 5; i++)
			assert_true(head[i].key == rows[i].key && head[i].count == rows[i].count);
		assert_true(b.peak <= max);
		assert_int_equal(sl_groups_bytes(g), b.used);
		free(rows);
		sl_groups_free(g);
		assert_int_equal(b.used, 0);
	}
}

/* ---- Space-Saving on a Zipf stream larger than the table ---- */

static void zipf_bound_and_partial(void **state)
{
	(void)state;
	const double skew[] = {0.8, 1.1, 1.5};
	size_t whole = 0; /* rows held since first seen: checked too */
	for (size_t t = 0; t < 3; t++) {
		tu_rng r = {seed * 31 + t};
		size_t n = 20000;
		make_stream(&r, n, 3000, skew[t]);
		size_t max = bytes_for(24);
		sl_budget b;
		sl_budget_init(&b, (size_t)1 << 30);
		sl_groups *g = sl_groups_new(&b, max);
		size_t m = sl_groups_capacity(g);
		feed(g, 0, n, t == 1);
		assert_false(sl_groups_is_exact(g));
		assert_int_equal(sl_groups_count(g), m);
		assert_true(sl_groups_floor(g) * m <= n);
		size_t nr, npartial = 0;
		sl_group_row *rows = list_all(g, &nr);
		for (size_t i = 0; i < nr; i++) {
			check_bounded_row(&rows[i], n);
			npartial += rows[i].partial;
		}
		assert_true(npartial > 0);
		whole += nr - npartial;
		/* every group with true count > N / m is listed */
		for (uint32_t gid = 0; gid < 3000; gid++) {
			uint64_t c = true_count(gid, n);
			if (c * m <= n)
				continue;
			bool found = false;
			for (size_t i = 0; i < nr && !found; i++)
				found = row_id(&rows[i]) == gid;
			assert_true(found);
		}
		assert_true(b.peak <= max);
		assert_int_equal(sl_groups_bytes(g), b.used);
		free(rows);
		sl_groups_free(g);
	}
	assert_true(whole > 0);
}

/* ---- merges ---- */

static void rows_equal(const sl_groups *a, const sl_groups *b)
{
	size_t na, nb;
	sl_group_row *ra = list_all(a, &na), *rb = list_all(b, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(ra[i].len, rb[i].len);
		assert_memory_equal(ra[i].key, rb[i].key, ra[i].len);
		assert_int_equal(ra[i].count, rb[i].count);
		assert_int_equal(ra[i].max_error, rb[i].max_error);
		assert_int_equal(ra[i].partial, rb[i].partial);
		assert_int_equal(ra[i].bytes, rb[i].bytes);
		assert_true(ra[i].visitors.estimate == rb[i].visitors.estimate);
		assert_true((ra[i].request_time == NULL) == (rb[i].request_time == NULL));
		if (ra[i].request_time)
			for (double q = 0; q <= 1; q += 0.125)
				assert_true(sl_relq_quantile(ra[i].request_time, q) ==
					    sl_relq_quantile(rb[i].request_time, q));
		sl_topk_row pa[PATHS + 1], pb[PATHS + 1];
		size_t ka = sl_topk_list(ra[i].paths, pa, PATHS + 1);
		size_t kb = sl_topk_list(rb[i].paths, pb, PATHS + 1);
		assert_int_equal(ka, kb);
		for (size_t j = 0; j < ka; j++) {
			assert_int_equal(pa[j].count, pb[j].count);
			assert_int_equal(pa[j].len, pb[j].len);
			assert_memory_equal(pa[j].value, pb[j].value, pa[j].len);
		}
	}
	free(ra);
	free(rb);
}

static void merge_parts_exact(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 0x5151};
	size_t n = 9000;
	make_stream(&r, n, 40, 0.7);
	size_t max = bytes_for(64);
	for (size_t parts = 2; parts <= 3; parts++) {
		sl_budget b;
		sl_budget_init(&b, (size_t)1 << 30);
		sl_groups *whole = sl_groups_new(&b, max), *p[3];
		feed(whole, 0, n, false);
		for (size_t k = 0; k < parts; k++) {
			p[k] = sl_groups_new(&b, max);
			feed(p[k], n * k / parts, n * (k + 1) / parts, false);
		}
		for (size_t k = 1; k < parts; k++)
			assert_int_equal(sl_groups_merge(p[0], p[k]), SL_OK);
		assert_true(sl_groups_is_exact(p[0]));
		rows_equal(whole, p[0]);
		size_t nr;
		sl_group_row *rows = list_all(p[0], &nr);
		for (size_t i = 0; i < nr; i++)
			check_exact_row(&rows[i], n, false);
		free(rows);
		sl_groups_free(whole);
		for (size_t k = 0; k < parts; k++)
			sl_groups_free(p[k]);
	}
}

static uint8_t *encode(const sl_groups *g, size_t *len)
{
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	sl_wire_writer w;
	sl_wire_init(&w, &b, false);
	sl_groups_encode(g, &w);
	assert_false(w.failed);
	uint8_t *out = malloc(w.len + 1);
	memcpy(out, w.buf, w.len);
	*len = w.len;
	sl_wire_release(&w);
	return out;
}

static void merge_parts_degraded(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 0xdead};
	size_t n = 24000;
	uint32_t groups = 2500;
	make_stream(&r, n, groups, 1.1);
	size_t max = bytes_for(20);
	for (size_t parts = 2; parts <= 3; parts++) {
		sl_budget b;
		sl_budget_init(&b, (size_t)1 << 30);
		sl_groups *p[3], *q[3];
		for (size_t k = 0; k < parts; k++) {
			p[k] = sl_groups_new(&b, max);
			q[k] = sl_groups_new(&b, max);
			feed(p[k], n * k / parts, n * (k + 1) / parts, false);
			feed(q[k], n * k / parts, n * (k + 1) / parts, false);
		}
		size_t m = sl_groups_capacity(p[0]);
		for (size_t k = 1; k < parts; k++) {
			assert_int_equal(sl_groups_merge(p[0], p[k]), SL_OK);
			assert_int_equal(sl_groups_merge(q[0], q[k]), SL_OK);
		}
		assert_int_equal(sl_groups_total(p[0]), n);
		assert_true(sl_groups_floor(p[0]) * m <= n);
		size_t nr;
		sl_group_row *rows = list_all(p[0], &nr);
		for (size_t i = 0; i < nr; i++)
			check_bounded_row(&rows[i], n);
		for (uint32_t gid = 0; gid < groups; gid++) {
			uint64_t c = true_count(gid, n);
			if (c * m <= n)
				continue;
			bool found = false;
			for (size_t i = 0; i < nr && !found; i++)
				found = row_id(&rows[i]) == gid;
			assert_true(found);
		}
		free(rows);
		/* deterministic: the same parts in the same order, the same bytes */
		size_t la, lb;
		uint8_t *ea = encode(p[0], &la), *eb = encode(q[0], &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(ea, eb, la);
		free(ea);
		free(eb);
		for (size_t k = 0; k < parts; k++) {
			sl_groups_free(p[k]);
			sl_groups_free(q[k]);
		}
		assert_int_equal(b.used, 0);
	}
}

/* A merge into a smaller table keeps the bounds; one the budget refuses
 * leaves dst as it was; a table does not merge into itself. */
static void merge_capacities_and_refusals(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 0x9999};
	size_t n = 12000;
	make_stream(&r, n, 800, 1.0);
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	sl_groups *small = sl_groups_new(&b, bytes_for(12)), *big = sl_groups_new(&b, bytes_for(60));
	feed(small, 0, n / 2, false);
	feed(big, n / 2, n, false);
	assert_int_equal(sl_groups_merge(small, small), SL_EINVAL);
	size_t la, lb;
	uint8_t *ea = encode(small, &la);
	tu_fail_state fs = {0, 0, 0};
	sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
	assert_int_equal(sl_groups_merge(small, big), SL_ENOMEM);
	sl_budget_set_alloc(&b, NULL, NULL);
	uint8_t *eb = encode(small, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ea, eb, la);
	free(ea);
	free(eb);
	assert_int_equal(sl_groups_merge(small, big), SL_OK);
	assert_int_equal(sl_groups_total(small), n);
	assert_int_equal(sl_groups_count(small), sl_groups_capacity(small));
	size_t nr;
	sl_group_row *rows = list_all(small, &nr);
	for (size_t i = 0; i < nr; i++)
		check_bounded_row(&rows[i], n);
	/* a smaller src weakens the floor to N_dst / m_dst + N_src / m_src */
	assert_true(sl_groups_floor(small) <=
		    (n / 2) / sl_groups_capacity(small) + (n / 2) / sl_groups_capacity(big) + 1);
	free(rows);
	/* into an empty table: the same groups as the source */
	sl_groups *empty = sl_groups_new(&b, bytes_for(60));
	assert_int_equal(sl_groups_merge(empty, big), SL_OK);
	rows_equal(empty, big);
	sl_groups_free(empty);
	sl_groups_free(small);
	sl_groups_free(big);
	assert_int_equal(b.used, 0);
}

/* ---- state round trip ---- */

static sl_groups *load(sl_budget *b, size_t max, const uint8_t *p, size_t len, sl_status *st,
		       const char **why)
{
	sl_groups *g = sl_groups_new(b, max);
	assert_non_null(g);
	sl_wire_reader r;
	sl_wire_reader_init(&r, p, len);
	*why = NULL;
	*st = sl_groups_load(g, &r, why);
	if (*st == SL_OK)
		assert_int_equal(r.left, 0);
	return g;
}

static void round_trip_byte_identical(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 0xabcd};
	size_t n = 16000;
	make_stream(&r, n, 1500, 1.0);
	const size_t sizes[] = {bytes_for(16), bytes_for(80)};
	for (size_t s = 0; s < 2; s++) {
		for (int long_keys = 0; long_keys < 2; long_keys++) {
			sl_budget b;
			sl_budget_init(&b, (size_t)1 << 30);
			sl_groups *g = sl_groups_new(&b, sizes[s]);
			feed(g, 0, n / 2, long_keys);
			size_t la, lb;
			uint8_t *ea = encode(g, &la);
			sl_status st;
			const char *why;
			sl_groups *h = load(&b, sizes[s], ea, la, &st, &why);
			assert_int_equal(st, SL_OK);
			uint8_t *eb = encode(h, &lb);
			assert_int_equal(la, lb);
			assert_memory_equal(ea, eb, la);
			free(eb);
			/* the loaded table goes on exactly as the saved one */
			feed(g, n / 2, n, long_keys);
			feed(h, n / 2, n, long_keys);
			free(ea);
			ea = encode(g, &la);
			eb = encode(h, &lb);
			assert_int_equal(la, lb);
			assert_memory_equal(ea, eb, la);
			/* into a table of another capacity: merged, bounds hold */
			sl_groups *k = load(&b, sizes[1 - s], ea, la, &st, &why);
			assert_int_equal(st, SL_OK);
			assert_int_equal(sl_groups_total(k), n);
			size_t nr;
			sl_group_row *rows = list_all(k, &nr);
			for (size_t i = 0; i < nr; i++)
				if (!long_keys)
					check_bounded_row(&rows[i], n);
			free(rows);
			free(ea);
			free(eb);
			sl_groups_free(g);
			sl_groups_free(h);
			sl_groups_free(k);
			assert_int_equal(b.used, 0);
		}
	}
}

/* ---- forged and truncated encodings ---- */

typedef struct {
	uint64_t hash, count, error, bytes;
	uint8_t flags;
	const char *key;
} forged_group;

static uint8_t *forge(uint8_t layout, uint32_t m, uint64_t total, uint64_t floor,
		      const forged_group *grp, uint32_t n, size_t *len)
{
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	sl_wire_writer w;
	sl_wire_init(&w, &b, false);
	sl_wire_u8(&w, layout);
	sl_wire_u32(&w, m);
	sl_wire_u64(&w, total);
	sl_wire_u64(&w, floor);
	sl_wire_u32(&w, n);
	for (uint32_t i = 0; i < n && i < 2 && grp[i].key; i++) { /* at most 2 given */
		size_t kl = strlen(grp[i].key);
		sl_wire_u64(&w, grp[i].hash ? grp[i].hash : sl_hash(grp[i].key, kl));
		sl_wire_u32(&w, (uint32_t)kl);
		sl_wire_u16(&w, (uint16_t)kl);
		sl_wire_bytes(&w, grp[i].key, kl);
		sl_wire_u64(&w, grp[i].count);
		sl_wire_u64(&w, grp[i].error);
		sl_wire_u64(&w, grp[i].bytes);
		sl_wire_u8(&w, grp[i].flags);
		if (grp[i].flags & 4) { /* a relq of 3 values */
			sl_relq *q = sl_relq_new(&b, SL_GROUPS_RT_BUCKETS, SL_GROUPS_RT_ALPHA);
			for (int v = 1; v <= 3; v++)
				sl_relq_add(q, v);
			sl_relq_encode(q, &w);
			sl_relq_free(q);
		}
	}
	uint8_t *out = malloc(w.len + 1);
	memcpy(out, w.buf, w.len);
	*len = w.len;
	sl_wire_release(&w);
	return out;
}

static void expect_rejected_why(const uint8_t *p, size_t len, sl_status want, const char *text)
{
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	sl_status st;
	const char *why;
	sl_groups *g = load(&b, bytes_for(16), p, len, &st, &why);
	if (getenv("GROUPS_DEBUG"))
		print_message("  -> %s: %s\n", sl_strerror(st), why ? why : "");
	assert_int_equal(st, want);
	if (want != SL_OK)
		assert_non_null(why);
	if (text)
		assert_non_null(strstr(why, text));
	sl_groups_free(g);
	assert_int_equal(b.used, 0);
}

static void expect_rejected(const uint8_t *p, size_t len, sl_status want)
{
	expect_rejected_why(p, len, want, NULL);
}

static void forged_encodings_rejected(void **state)
{
	(void)state;
	size_t len;
	uint8_t *p;
	/* the control: a well-formed forgery loads */
	forged_group ok[2] = {{0, 2, 0, 10, 0, "a"}, {0, 3, 0, 10, 0, "b"}};
	p = forge(1, 16, 5, 0, ok, 2, &len);
	expect_rejected(p, len, SL_OK);
	free(p);

	struct {
		const char *what;	/* the reason it must give */
		uint8_t layout;
		uint32_t m;
		uint64_t total, floor;
		forged_group g[2];
		uint32_t n;
	} bad[] = {
		{"layout unknown", 2, 16, 5, 0, {{0, 2, 0, 0, 0, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"header impossible", 1, 3, 5, 0, {{0, 2, 0, 0, 0, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"header impossible", 1, 4, 5, 0, {{0, 2, 0, 0, 0, "a"}}, 5},
		{"counts impossible", 1, 16, 2, 0, {{0, 0, 0, 0, 0, "a"}, {0, 2, 0, 0, 0, "b"}}, 2},
		{"counts impossible", 1, 16, 5, 1, {{0, 2, 3, 0, 1, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"counts impossible", 1, 16, 5, 1, {{0, 2, 1, 0, 0, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"counts impossible", 1, 16, 5, 0, {{0, 2, 1, 0, 1, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"counts impossible", 1, 16, 9, 3, {{0, 2, 0, 0, 0, "a"}, {0, 5, 0, 0, 0, "b"}}, 2},
		{"key twice", 1, 16, 5, 0, {{0, 2, 0, 0, 0, "a"}, {0, 3, 0, 0, 0, "a"}}, 2},
		{"heap order", 1, 16, 5, 0, {{0, 3, 0, 0, 0, "a"}, {0, 2, 0, 0, 0, "b"}}, 2},
		{"disagree with their total", 1, 16, 4, 0, {{0, 2, 0, 0, 0, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"disagree with their total", 1, 16, 6, 0, {{0, 2, 0, 0, 0, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"flags unknown", 1, 16, 5, 0, {{0, 2, 0, 0, 16, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"request times more than its records", 1, 16, 5, 0, {{0, 2, 0, 0, 4, "a"}, {0, 3, 0, 0, 0, "b"}}, 2},
		{"header impossible", 1, 16, 0, 0, {{0, 2, 0, 0, 0, "a"}}, 1},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p = forge(bad[i].layout, bad[i].m, bad[i].total, bad[i].floor, bad[i].g, bad[i].n, &len);
		expect_rejected_why(p, len, SL_ECORRUPT, bad[i].what);
		free(p);
	}

	/* every prefix of a real encoding (with every sketch) is rejected */
	tu_rng r = {seed ^ 0x77};
	make_stream(&r, 3000, 200, 1.0);
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	sl_groups *g = sl_groups_new(&b, bytes_for(8));
	feed(g, 0, 3000, true);
	p = encode(g, &len);
	sl_groups_free(g);
	for (size_t cut = 0; cut < len; cut += 1 + cut / 64)
		expect_rejected(p, cut, SL_ECORRUPT);
	/* and random byte flips never crash: each load is rejected or, if the
	 * flip hit a figure with no check on it (a byte sum), loads */
	for (int i = 0; i < 300; i++) {
		uint8_t *q = malloc(len);
		memcpy(q, p, len);
		q[tu_below(&r, len)] ^= (uint8_t)(1 + tu_below(&r, 255));
		sl_budget bb;
		sl_budget_init(&bb, (size_t)1 << 30);
		sl_status st;
		const char *why;
		sl_groups *h = load(&bb, bytes_for(8), q, len, &st, &why);
		assert_true(st == SL_OK || st == SL_ECORRUPT);
		sl_groups_free(h);
		assert_int_equal(bb.used, 0);
		free(q);
	}
	free(p);
}

/* ---- memory ---- */

static void memory_within_max_bytes(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 0x1234};
	make_stream(&r, 20000, 3000, 0.9);
	const size_t sizes[] = {bytes_for(4), 64 * 1024, 300 * 1024};
	for (size_t s = 0; s < 3; s++) {
		sl_budget b;
		sl_budget_init(&b, (size_t)1 << 30);
		sl_groups *g = sl_groups_new(&b, sizes[s]);
		assert_non_null(g);
		feed(g, 0, 20000, true);
		assert_true(b.peak <= sizes[s]);
		assert_int_equal(sl_groups_bytes(g), b.used);
		sl_groups_free(g);
	}
	/* below SL_GROUPS_MIN groups: refused */
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	assert_null(sl_groups_new(&b, bytes_for(SL_GROUPS_MIN) - 1));
	assert_int_equal(b.used, 0);
	/* a table that never needs its bytes never takes them */
	sl_groups *g = sl_groups_new(&b, (size_t)16 << 20);
	make_stream(&r, 100, 3, 0);
	feed(g, 0, 100, false);
	assert_true(b.peak < 32 * 1024);
	sl_groups_free(g);
}

/* A budget that refuses: adds never fail, the bounds hold, and what could
 * not be made says partial (or the capacity is lower). */
static void refused_memory_keeps_the_bounds(void **state)
{
	(void)state;
	tu_rng r = {seed ^ 0x4321};
	size_t n = 8000;
	make_stream(&r, n, 400, 1.0);
	for (long allow = 0; allow < 120; allow += 7) {
		sl_budget b;
		sl_budget_init(&b, (size_t)1 << 30);
		sl_groups *g = sl_groups_new(&b, bytes_for(64));
		tu_fail_state fs = {allow, 0, 0};
		sl_budget_set_alloc(&b, tu_failing_alloc, &fs);
		feed(g, 0, n, false);
		assert_int_equal(sl_groups_total(g), n);
		size_t nr;
		sl_group_row *rows = list_all(g, &nr);
		for (size_t i = 0; i < nr; i++) {
			uint32_t gid = row_id(&rows[i]);
			uint64_t c = true_count(gid, n);
			assert_true(rows[i].count >= c && rows[i].count - rows[i].max_error <= c);
			if (!rows[i].partial)
				assert_true(rows[i].paths &&
					    sl_topk_total(rows[i].paths) == rows[i].count);
		}
		assert_true(sl_groups_floor(g) * sl_groups_capacity(g) <= n);
		free(rows);
		sl_budget_set_alloc(&b, NULL, NULL);
		sl_groups_free(g);
		assert_int_equal(b.used, 0);
	}
}

/* The reference can fail: a wrong figure is caught. */
static void checker_can_fail(void **state)
{
	(void)state;
	tu_rng r = {seed};
	make_stream(&r, 500, 10, 0);
	sl_budget b;
	sl_budget_init(&b, (size_t)1 << 30);
	sl_groups *g = sl_groups_new(&b, bytes_for(16));
	feed(g, 0, 500, false);
	/* one extra record of group 3 that the reference does not know */
	char key[64];
	size_t kl = key_of(3, key, false);
	sl_groups_add(g, key, kl, sl_hash(key, kl), 1, 1, false, 0, "/", 1, sl_hash("/", 1));
	size_t nr;
	sl_group_row *rows = list_all(g, &nr);
	size_t mismatches = 0;
	for (size_t i = 0; i < nr; i++)
		mismatches += rows[i].count != true_count(row_id(&rows[i]), 500);
	assert_int_equal(mismatches, 1);
	free(rows);
	sl_groups_free(g);
}

int main(void)
{
	seed = tu_seed("test_groups", 20261204);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_when_groups_fit),
		cmocka_unit_test(zipf_bound_and_partial),
		cmocka_unit_test(merge_parts_exact),
		cmocka_unit_test(merge_parts_degraded),
		cmocka_unit_test(merge_capacities_and_refusals),
		cmocka_unit_test(round_trip_byte_identical),
		cmocka_unit_test(forged_encodings_rejected),
		cmocka_unit_test(memory_within_max_bytes),
		cmocka_unit_test(refused_memory_keeps_the_bounds),
		cmocka_unit_test(checker_can_fail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
