/* airlock rmi IMAGE...: remove image names or images. */
#include <stdio.h>

#include "builder/maintain.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock rmi IMAGE...\n\n"
	"Removes a name (the image goes too when it was its last name), or an image\n"
	"given by digest or unique digest prefix with all its names. Space is freed\n"
	"by 'airlock gc'.\n";

int cmd_rmi(struct cli *cli, int argc, char **argv)
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
		if (image_remove(s, argv[i], &err) < 0) {
			cli_error(cli, &err);
			status = EXIT_FAIL;
		} else {
			printf("removed %s\n", argv[i]);
		}
	}
	return status;
}
