/* airlock unbundle FILE: load a bundle written by `airlock bundle`,
 * verifying every object; prints "run <ID>". */
#include <getopt.h>
#include <stdio.h>

#include "builder/bundle.h"
#include "cli/cli.h"
#include "runner/run.h"

static const char usage[] =
	"usage: airlock unbundle FILE\n\n"
	"Loads a bundle written by `airlock bundle` into this store and prints\n"
	"\"run ID\"; then `airlock show ID`, `diff ID` and `replay ID` work here.\n"
	"The file is untrusted: every object is verified against its digest and\n"
	"every reference checked before the run and its image are recorded. A\n"
	"bundle that fails any check is refused and no run or image appears (the\n"
	"objects it left are removed by `airlock gc`). Loading the same run twice\n"
	"is fine; a different run with the same id is refused.\n";

int cmd_unbundle(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	optind = 0;
	if ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		return cli_usage(usage, c == 'h');
	if (argc - optind != 1)
		return cli_usage(usage, false);
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_FAIL;
	struct err err = {0};
	char id[RUN_ID_MAX];
	if (bundle_read(s, argv[optind], NULL, id, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	printf("run %s\n", id);
	return EXIT_OK;
}
