/*
 * cli_signals.c: what SIGHUP, SIGINT and SIGTERM do to a sluice command
 * (cli.h): a command killed while it writes a file leaves the file as it
 * was and no temporary beside it, and ends as coreutils do, by the signal
 * itself, so a shell reports 128 + N (130 for SIGINT, 143 for SIGTERM).
 *
 * The handler calls sl_outfile_signal_cleanup (async-signal-safe: it
 * unlinks the named temporary of each output not yet committed; unnamed
 * O_TMPFILE ones go with the process), then re-raises the signal with its
 * default action (SA_RESETHAND): the signal is blocked while the handler
 * runs, so it is delivered as the handler returns. Whatever the moment,
 * the target is the old file or the new one, whole: a handler that runs
 * before the rename abandons the new contents; one that runs after finds
 * the temporary's name gone. A signal ignored when the program started
 * (nohup, a shell's background job) stays ignored.
 */
#include "cli.h"

#include <signal.h>

static void on_signal(int sig)
{
	sl_outfile_signal_cleanup();
	raise(sig); /* SA_RESETHAND restored the default; delivered on return */
}

void cli_signals_install(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGTERM};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction old, sa;
		if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND;
		sigaction(sigs[i], &sa, NULL);
	}
}
