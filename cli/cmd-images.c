/* airlock images: not built yet; see the open issues. */
#include "cli/cli.h"

int cmd_images(struct cli *cli, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_errorf(cli, "not implemented yet");
	return EXIT_AIRLOCK;
}
