/* airlock bundle [RUN] -o FILE: a run and everything it reaches in one
 * file, for `airlock unbundle` in another store. */
#include <getopt.h>
#include <stdio.h>

#include "builder/bundle.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock bundle [RUN] -o FILE\n\n"
	"Writes RUN (default: last) to FILE: its record and every object needed to\n"
	"review or replay it (image, input and output trees, stdout and stderr), as\n"
	"one zstd-compressed tar. `airlock unbundle FILE` loads it into another\n"
	"store. The same run always gives the same bytes. FILE is replaced\n"
	"atomically; its path is printed.\n"
	"  -o, --output FILE   where to write (required)\n";

int cmd_bundle(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *out = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else
			return cli_usage(usage, c == 'h');
	}
	if (argc - optind > 1 || !out)
		return cli_usage(usage, false);
	const char *ref = optind < argc ? argv[optind] : "last";
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_FAIL;
	struct err err = {0};
	if (bundle_write(s, ref, out, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	puts(out);
	return EXIT_OK;
}
