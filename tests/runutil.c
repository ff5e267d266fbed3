/* runutil.c: see runutil.h. */
#include "runutil.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

run_result tu_run_sluice(const char *dir, const char *bin, const char *args)
{
	run_result r;
	memset(&r, 0, sizeof r);
	char out[512], err[512], cmd[4096];
	snprintf(out, sizeof out, "%s/stdout", dir);
	snprintf(err, sizeof err, "%s/stderr", dir);
	snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", bin, args, out, err);
	int st = system(cmd);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	r.out = tu_slurp(out, &r.out_len);
	r.err = tu_slurp(err, NULL);
	if (r.out && r.out_len && r.out[0] == '{') {
		size_t at = 0;
		r.json = json_parse(r.out, r.out_len, &at);
		if (!r.json)
			print_error("stdout is not valid JSON (error at byte %zu)\n", at);
	}
	return r;
}

void run_result_free(run_result *r)
{
	free(r->out);
	free(r->err);
	json_free(r->json);
}

run_result tu_run_sluicef(const char *dir, const char *bin, const char *fmt, ...)
{
	char args[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	return tu_run_sluice(dir, bin, args);
}
