/* cmd_dedup.c: placeholder until the command is written. */
#include "cli.h"

int cmd_dedup(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "sluice: '%s' is not implemented yet\n", argv[0]);
	return 2;
}
