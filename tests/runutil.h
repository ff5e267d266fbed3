/*
 * runutil.h: running the sluice program from a test and keeping what it
 * printed (shared by the end-to-end tests).
 */
#ifndef SLUICE_TEST_RUNUTIL_H
#define SLUICE_TEST_RUNUTIL_H

#include "json.h"

#include <stddef.h>

typedef struct {
	int status;	/* exit status, or 128 + the signal that ended it */
	char *out;	/* stdout */
	size_t out_len;
	char *err;	/* stderr */
	jv *json;	/* parsed stdout, when it starts as a JSON object */
} run_result;

/* Runs `bin ARGS` through the shell with stdout and stderr into files in
 * dir (which must exist) and returns what it printed; free with
 * run_result_free. Stdout that starts with '{' but does not parse is
 * reported with print_error and leaves json NULL. */
run_result tu_run_sluice(const char *dir, const char *bin, const char *args);
/* The same with the arguments formatted as printf's (up to 2 KiB). */
run_result tu_run_sluicef(const char *dir, const char *bin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void run_result_free(run_result *r);

#endif
