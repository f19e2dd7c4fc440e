/* airlock build [-t NAME] [--no-cache] [--explain] [--lock FILE] RECIPE */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "builder/build.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock build [-t NAME] [--no-cache] [--explain] [--lock FILE] RECIPE\n\n"
	"Builds an image from RECIPE using only its lock file (see 'airlock lock').\n"
	"The last line on stdout is the image digest, sha256:<64 hex>.\n\n"
	"  -t, --tag NAME   name the image NAME (default: the recipe's file name)\n"
	"  --no-cache       redo every step\n"
	"  --explain        say why each step hit or missed the build cache\n"
	"  --lock FILE      use FILE as the lock (default: images/NAME.lock for\n"
	"                   shipped recipes, else NAME.lock beside the recipe)\n"
	"Progress goes to stderr when stdout is a terminal.\n";

static void log_line(const char *line, void *ud)
{
	(void)ud;
	fprintf(stderr, "%s\n", line);
}

int cmd_build(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"tag", required_argument, NULL, 't'},  {"no-cache", no_argument, NULL, 'n'},
		{"explain", no_argument, NULL, 'e'},    {"lock", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
	struct build_opts bo = {0};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!store_ref_name_valid(optarg)) {
				cli_errorf(cli, "invalid image name '%s' (letters, digits and ._:@+- only)", optarg);
				return EXIT_USAGE;
			}
			bo.tag = optarg;
			break;
		case 'n':
			bo.no_cache = true;
			break;
		case 'e':
			bo.explain = true;
			break;
		case 'l':
			bo.lock_path = optarg;
			break;
		default:
			return cli_usage(usage, c == 'h');
		}
	}
	if (optind != argc - 1)
		return cli_usage(usage, false);
	if (bo.explain || isatty(STDOUT_FILENO))
		bo.log = log_line;
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct digest d;
	if (build_recipe(s, argv[optind], &bo, &d, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	char str[DIGEST_STR_SIZE];
	digest_to_str(&d, str);
	printf("%s\n", str);
	return EXIT_OK;
}
