/* airlock lock [--lock FILE] RECIPE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder/build.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock lock [--lock FILE] RECIPE\n\n"
	"Resolves every PACKAGES step of RECIPE (the whole Depends/Pre-Depends\n"
	"closure) to exact versions, architectures and .deb SHA-256 digests with\n"
	"the system's apt, and writes the lock file atomically. 'airlock build'\n"
	"then uses only the lock. Prints the lock file's path.\n\n"
	"  --lock FILE   write FILE (default: images/NAME.lock for shipped\n"
	"                recipes, else NAME.lock beside the recipe)\n";

int cmd_lock(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"lock", required_argument, NULL, 'l'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *lock_path = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'l')
			lock_path = optarg;
		else
			return cli_usage(usage, c == 'h');
	}
	if (optind != argc - 1)
		return cli_usage(usage, false);
	struct err err = {0};
	char *path = NULL;
	if (build_lock(argv[optind], lock_path, &path, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	printf("%s\n", path);
	free(path);
	return EXIT_OK;
}
