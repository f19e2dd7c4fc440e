/* airlock rm RUN...: remove runs. */

#include "cli/cli.h"
#include "runner/run.h"

static const char usage[] = "usage: airlock rm RUN...\n\n"
			    "Removes the records of the runs (ids, unique prefixes, or 'last').\n"
			    "Their objects are freed by 'airlock gc'.\n";

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	return cli_remove_each(cli, usage, argc, argv, run_remove);
}
