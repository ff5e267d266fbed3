/* cmd_state.c: placeholder until the merge and report commands land. */
#include "cli.h"

int cmd_merge(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "sluice: '%s' is not implemented yet\n", argv[0]);
	return 2;
}

int cmd_report(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "sluice: '%s' is not implemented yet\n", argv[0]);
	return 2;
}
