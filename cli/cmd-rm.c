/* airlock rm RUN...: remove runs. */
#include <stdio.h>

#include "cli/cli.h"
#include "runner/run.h"

static const char usage[] = "usage: airlock rm RUN...\n\n"
			    "Removes the records of the runs (ids, unique prefixes, or 'last').\n"
			    "Their objects are freed by 'airlock gc'.\n";

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(usage, false);
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i]))
			return cli_usage(usage, true);
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	int status = EXIT_OK;
	for (int i = 1; i < argc; i++) {
		struct err err = {0};
		if (run_remove(s, argv[i], &err) < 0) {
			cli_error(cli, &err);
			status = EXIT_FAIL;
		} else {
			printf("removed %s\n", argv[i]);
		}
	}
	return status;
}
