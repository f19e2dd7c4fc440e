/* airlock rmi IMAGE...: remove image names or images. */

#include "builder/maintain.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock rmi IMAGE...\n\n"
	"Removes a name (the image goes too when it was its last name), or an image\n"
	"given by digest or unique digest prefix with all its names. Space is freed\n"
	"by 'airlock gc'.\n";

int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	return cli_remove_each(cli, usage, argc, argv, image_remove);
}
