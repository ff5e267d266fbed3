/*
 * regex.c: PCRE2 patterns (the --where ~ filters), with PCRE2 loaded only
 * when a pattern is used.
 *
 * A run without a pattern never maps the library: dlopen("libpcre2-8.so.0")
 * happens on the first sl_regex_new or sl_regex_check (once per process,
 * pthread_once), so the pages of a library most runs do not need are not
 * in their resident memory (the 4 MiB of a -m 1M run). The header gives the
 * types; the ten functions used are looked up by name.
 *
 * Memory: compiled code and match data come from the caller's budget
 * through a PCRE2 general context whose allocator prefixes each block with
 * its size (sl_free needs it). A check compiles into a bump arena on the
 * stack and keeps nothing. The JIT's executable memory is PCRE2's own,
 * outside the budget (a few KiB per pattern).
 */
#include "report/regex.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static struct {
	pcre2_general_context *(*gc_create)(void *(*)(size_t, void *), void (*)(void *, void *),
					    void *);
	void (*gc_free)(pcre2_general_context *);
	pcre2_compile_context *(*cc_create)(pcre2_general_context *);
	void (*cc_free)(pcre2_compile_context *);
	pcre2_code *(*compile)(PCRE2_SPTR, PCRE2_SIZE, uint32_t, int *, PCRE2_SIZE *,
			       pcre2_compile_context *);
	void (*code_free)(pcre2_code *);
	int (*jit_compile)(pcre2_code *, uint32_t);
	pcre2_match_data *(*md_create)(const pcre2_code *, pcre2_general_context *);
	void (*md_free)(pcre2_match_data *);
	int (*match)(const pcre2_code *, PCRE2_SPTR, PCRE2_SIZE, PCRE2_SIZE, uint32_t,
		     pcre2_match_data *, pcre2_match_context *);
	bool ok;
} pc;

static pthread_once_t once = PTHREAD_ONCE_INIT;

#define LOOK(field, name)                                          \
	do {                                                       \
		void *f_ = dlsym(h, name);                         \
		if (!f_)                                           \
			return;                                    \
		memcpy(&pc.field, &f_, sizeof f_);                 \
	} while (0)

static void load(void)
{
	void *h = dlopen("libpcre2-8.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	LOOK(gc_create, "pcre2_general_context_create_8");
	LOOK(gc_free, "pcre2_general_context_free_8");
	LOOK(cc_create, "pcre2_compile_context_create_8");
	LOOK(cc_free, "pcre2_compile_context_free_8");
	LOOK(compile, "pcre2_compile_8");
	LOOK(code_free, "pcre2_code_free_8");
	LOOK(jit_compile, "pcre2_jit_compile_8");
	LOOK(md_create, "pcre2_match_data_create_from_pattern_8");
	LOOK(md_free, "pcre2_match_data_free_8");
	LOOK(match, "pcre2_match_8");
	pc.ok = true;
}

static bool loaded(const char **why)
{
	pthread_once(&once, load);
	if (!pc.ok && why)
		*why = "patterns need PCRE2 (libpcre2-8.so.0), which could not be loaded";
	return pc.ok;
}

struct sl_regex {
	sl_budget *b;
	pcre2_general_context *gc;
	pcre2_code *code;
	pcre2_match_data *md;
};

static void *budget_alloc(size_t n, void *ud)
{
	size_t *p = sl_malloc(ud, n + 2 * sizeof(size_t));
	if (!p)
		return NULL;
	p[0] = n + 2 * sizeof(size_t);
	return p + 2;
}

static void budget_free(void *q, void *ud)
{
	if (q) {
		size_t *p = (size_t *)q - 2;
		sl_free(ud, p, p[0]);
	}
}

/* Compiles pattern in general context gc. */
static pcre2_code *compile(pcre2_general_context *gc, const char *pattern, size_t *err_at,
			   const char **why, sl_status *st)
{
	pcre2_compile_context *cc = pc.cc_create(gc);
	*st = SL_ENOMEM;
	if (!cc)
		return NULL;
	int err;
	PCRE2_SIZE at = 0;
	pcre2_code *code = pc.compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &err, &at, cc);
	pc.cc_free(cc);
	if (code)
		return code;
	if (err_at)
		*err_at = at;
	if (err == PCRE2_ERROR_NOMEMORY || err == PCRE2_ERROR_HEAP_FAILED) {
		if (why)
			*why = "pattern too complex for the memory budget";
		return NULL;
	}
	*st = SL_EINVAL;
	if (why)
		*why = "not a valid PCRE2 pattern";
	return NULL;
}

void sl_regex_free(sl_regex *re)
{
	if (!re)
		return;
	if (re->md)
		pc.md_free(re->md);
	if (re->code)
		pc.code_free(re->code);
	if (re->gc)
		pc.gc_free(re->gc);
	sl_free(re->b, re, sizeof *re);
}

sl_status sl_regex_new(sl_regex **out, sl_budget *b, const char *pattern, size_t *err_at,
		       const char **why)
{
	*out = NULL;
	if (!loaded(why))
		return SL_EINVAL;
	sl_regex *re = sl_calloc(b, 1, sizeof *re);
	if (!re)
		return SL_ENOMEM;
	re->b = b;
	sl_status st = SL_ENOMEM;
	re->gc = pc.gc_create(budget_alloc, budget_free, b);
	if (re->gc && (re->code = compile(re->gc, pattern, err_at, why, &st))) {
		pc.jit_compile(re->code, PCRE2_JIT_COMPLETE); /* where available */
		re->md = pc.md_create(re->code, re->gc);
		st = re->md ? SL_OK : SL_ENOMEM;
	}
	if (st != SL_OK) {
		sl_regex_free(re);
		return st;
	}
	*out = re;
	return SL_OK;
}

bool sl_regex_match(sl_regex *re, const char *p, size_t n)
{
	return pc.match(re->code, (PCRE2_SPTR)(p ? p : ""), n, 0, 0, re->md, NULL) >= 0;
}

/* A bump allocator over a stack buffer, for a check that keeps nothing. */
typedef struct {
	unsigned char *buf;
	size_t cap, used;
} arena;

static void *arena_alloc(size_t n, void *ud)
{
	arena *a = ud;
	n = (n + 15) & ~(size_t)15;
	if (n > a->cap - a->used)
		return NULL;
	void *p = a->buf + a->used;
	a->used += n;
	return p;
}

static void arena_free(void *p, void *ud)
{
	(void)p;
	(void)ud;
}

sl_status sl_regex_check(const char *pattern, size_t *err_at, const char **why)
{
	if (err_at)
		*err_at = 0;
	if (!loaded(why))
		return SL_EINVAL;
	_Alignas(16) unsigned char buf[32 * 1024];
	arena a = {buf, sizeof buf, 0};
	pcre2_general_context *gc = pc.gc_create(arena_alloc, arena_free, &a);
	if (!gc)
		return SL_ENOMEM;
	sl_status st;
	return compile(gc, pattern, err_at, why, &st) ? SL_OK : st;
}
