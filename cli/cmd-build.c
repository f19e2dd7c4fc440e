/* airlock build: not built yet; see the open issues. */
#include "cli/cli.h"

int cmd_build(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_errorf(cli, "not implemented yet");
	return EXIT_AIRLOCK;
}
