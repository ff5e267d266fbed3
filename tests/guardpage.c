/*
 * guardpage.c: see guardpage.h.
 */
#include "guardpage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

char *tu_guard_base, *tu_guard_end;
static size_t guard_len;

int tu_guard_setup(void **state)
{
	(void)state;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = ((size_t)1 << 18) / page * page;
	guard_len = body + page;
	tu_guard_base = mmap(NULL, guard_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	if (tu_guard_base == MAP_FAILED || mprotect(tu_guard_base + body, page, PROT_NONE) != 0)
		return -1;
	tu_guard_end = tu_guard_base + body;
	return 0;
}

int tu_guard_teardown(void **state)
{
	(void)state;
	munmap(tu_guard_base, guard_len);
	return 0;
}

const char *tu_guarded(const char *s, size_t n)
{
	assert_true(n <= (size_t)(tu_guard_end - tu_guard_base));
	memmove(tu_guard_end - n, s, n);
	return tu_guard_end - n;
}
