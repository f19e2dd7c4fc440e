/* airlock fsck: verify every object and reference. */
#include <inttypes.h>
#include <stdio.h>

#include "builder/maintain.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock fsck\n\n"
	"Re-hashes every object and checks that everything the images, runs and\n"
	"build cache reference is present and well formed. Exit 0 if the store is\n"
	"sound, 1 with one line per problem otherwise.\n";

int cmd_fsck(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage(usage, cli_is_help(argv[1]));
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct fsck_report rep;
	int r = fsck_run(s, &rep, &err);
	if (r < 0) {
		buf_release(&rep.text);
		cli_error(cli, &err);
		return EXIT_AIRLOCK;
	}
	if (rep.problems) {
		fputs(rep.text.data ?: "", stdout);
		fprintf(stderr, "airlock: fsck: %zu problem(s) in %" PRIu64 " objects\n", rep.problems,
			rep.objects_checked);
		buf_release(&rep.text);
		return EXIT_FAIL;
	}
	printf("ok: %" PRIu64 " objects verified\n", rep.objects_checked);
	buf_release(&rep.text);
	return EXIT_OK;
}
