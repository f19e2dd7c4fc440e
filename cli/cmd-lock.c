/* airlock lock: not built yet; see the open issues. */
#include "cli/cli.h"

int cmd_lock(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_errorf(cli, "not implemented yet");
	return EXIT_AIRLOCK;
}
