/* airlock commit [RUN] --branch NAME [-m MSG] [--force] */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "runner/land.h"

static const char usage[] =
	"usage: airlock commit [RUN] --branch NAME [-m MSG] [--force] [--all]\n\n"
	"Makes a commit on branch NAME of the workspace's git repository: its parent\n"
	"is the commit checked out when RUN (default: last) started, its tree that\n"
	"commit's tree plus the accepted changes. The work tree, index and HEAD are\n"
	"not touched. Refuses if NAME exists, unless --force.\n";

int cmd_commit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"branch", required_argument, NULL, 'b'},
					     {"message", required_argument, NULL, 'm'},
					     {"force", no_argument, NULL, 'f'},
					     {"all", no_argument, NULL, 'a'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *branch = NULL, *msg = NULL;
	bool force = false, all = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "b:m:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'b': branch = optarg; break;
		case 'm': msg = optarg; break;
		case 'f': force = true; break;
		case 'a': all = true; break;
		default: return cli_usage(usage, c == 'h');
		}
	}
	if (!branch || argc - optind > 1)
		return cli_usage(usage, false);
	const char *ref = optind < argc ? argv[optind] : "last";
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct land l;
	if (land_open(s, ref, all, &l, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	char hex[41];
	int r = land_commit(s, &l, branch, msg, force, hex, &err);
	land_release(&l);
	if (r < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	printf("%s %s\n", branch, hex);
	return EXIT_OK;
}
