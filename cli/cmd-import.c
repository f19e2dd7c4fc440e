/* airlock import oci-archive:PATH | docker-archive:PATH [-t NAME]. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "builder/oci.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock import [-t NAME] oci-archive:PATH | docker-archive:PATH\n\n"
	"Imports an OCI image layout archive (`skopeo copy ... oci-archive:F`) or a\n"
	"`docker save` archive as an airlock image. Layers are applied in order with\n"
	"OCI whiteouts; every blob is checked against its digest first. Device nodes\n"
	"are skipped and setuid/setgid bits dropped (reported on stderr). The last\n"
	"line of stdout is the image digest.\n"
	"  -t, --tag NAME   also name the image NAME\n";

struct notes {
	const struct cli *cli;
	size_t n;
};

#define NOTES_SHOWN 20

static void note(const char *path, const char *what, void *ud)
{
	struct notes *nt = ud;
	if (nt->n++ < NOTES_SHOWN)
		cli_warnf(nt->cli, "%s: %s", path, what);
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"tag", required_argument, NULL, 't'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *tag = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "ht:", opts, NULL)) != -1) {
		if (c == 't')
			tag = optarg;
		else
			return cli_usage(usage, c == 'h');
	}
	if (optind + 1 != argc)
		return cli_usage(usage, false);
	const char *ref = argv[optind];
	if (strncmp(ref, "oci-archive:", 12) != 0 && strncmp(ref, "docker-archive:", 15) != 0) {
		cli_errorf(cli, "'%s': expected oci-archive:PATH or docker-archive:PATH", ref);
		return EXIT_USAGE;
	}
	if (tag && !store_ref_name_valid(tag)) {
		cli_errorf(cli, "invalid image name '%s'", tag);
		return EXIT_USAGE;
	}
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_FAIL;
	struct notes nt = {cli, 0};
	struct oci_import_opts io = {.note = note, .userdata = &nt};
	struct err err = {0};
	struct digest image;
	if (oci_import(s, ref, tag, &io, &image, NULL, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	if (nt.n > NOTES_SHOWN)
		cli_warnf(cli, "%zu more entries skipped or changed", nt.n - NOTES_SHOWN);
	char d[DIGEST_STR_SIZE];
	digest_to_str(&image, d);
	puts(d);
	return EXIT_OK;
}
