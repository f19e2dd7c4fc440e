/* airlock checkout IMAGE: the shared read-only checkout of an image. */
#include <stdio.h>
#include <stdlib.h>

#include "builder/manifest.h"
#include "cli/cli.h"
#include "lib/tree.h"

static const char usage[] =
	"usage: airlock checkout IMAGE\n\n"
	"Materialises the image's tree once in the store (read-only, shared by all\n"
	"runs, files hard-linked from a cache so images that share content share\n"
	"disk) and prints its path. Do not modify it.\n";

int cmd_checkout(struct cli *cli, int argc, char **argv)
{
	if (argc != 2 || cli_is_help(argv[1]))
		return cli_usage(usage, argc == 2);
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct digest d;
	struct manifest m;
	if (image_resolve(s, argv[1], &d, &err) < 0 || manifest_get(s, &d, &m, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	char *path = NULL;
	int r = tree_checkout(s, &m.tree, &path, &err);
	manifest_release(&m);
	if (r < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	printf("%s\n", path);
	free(path);
	return EXIT_OK;
}
