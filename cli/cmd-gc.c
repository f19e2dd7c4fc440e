/* airlock gc: remove what no image, run or cache entry references. */
#include <inttypes.h>
#include <stdio.h>

#include "builder/maintain.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock gc\n\n"
	"Removes objects, checkouts and cached files that no image, run or build\n"
	"cache entry references. Waits for running builds and runs to finish.\n"
	"Removes nothing if a referenced object is missing or corrupt.\n";

int cmd_gc(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage(usage, cli_is_help(argv[1]));
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct gc_stats st;
	if (gc_run(s, &st, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	printf("removed %" PRIu64 " objects (%" PRIu64 " bytes), %" PRIu64 " checkouts, %" PRIu64
	       " cached files, %" PRIu64 " temporary files; kept %" PRIu64 " objects\n",
	       st.objects_removed, st.bytes_removed, st.checkouts_removed, st.files_removed,
	       st.temp_removed, st.objects_kept);
	return EXIT_OK;
}
