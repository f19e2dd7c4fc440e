/* airlock export IMAGE -o FILE [--format oci|docker] [--compression ...]. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "builder/oci.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: airlock export IMAGE -o FILE [--format oci|docker] [--compression gzip|zstd|none]\n"
	"                      [--name REF]\n\n"
	"Writes IMAGE as an OCI image layout archive (oci-layout, index.json, blobs/;\n"
	"`skopeo inspect oci-archive:FILE`, `podman load -i FILE`). --format docker adds\n"
	"a docker manifest.json (`docker load`). The same image always gives the same\n"
	"bytes (mtimes: SOURCE_DATE_EPOCH or 0). FILE is replaced atomically.\n"
	"  -o, --output FILE      where to write (required)\n"
	"  --format oci|docker    default oci\n"
	"  --compression C        layer compression: gzip (default), zstd, none\n"
	"  --name REF             org.opencontainers.image.ref.name / docker RepoTag;\n"
	"                         default: IMAGE if it is a name, else \"latest\"\n";

int cmd_export(struct cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_COMPRESSION, OPT_NAME };
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"format", required_argument, NULL, OPT_FORMAT},
					     {"compression", required_argument, NULL, OPT_COMPRESSION},
					     {"name", required_argument, NULL, OPT_NAME},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *out = NULL, *name = NULL;
	struct oci_export_opts eo = {OCI_FORMAT_OCI, OCI_COMPRESS_GZIP};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "oci"))
				eo.format = OCI_FORMAT_OCI;
			else if (!strcmp(optarg, "docker"))
				eo.format = OCI_FORMAT_DOCKER;
			else {
				cli_errorf(cli, "unknown format '%s' (oci or docker)", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_COMPRESSION:
			if (!strcmp(optarg, "gzip"))
				eo.compression = OCI_COMPRESS_GZIP;
			else if (!strcmp(optarg, "zstd"))
				eo.compression = OCI_COMPRESS_ZSTD;
			else if (!strcmp(optarg, "none"))
				eo.compression = OCI_COMPRESS_NONE;
			else {
				cli_errorf(cli, "unknown compression '%s' (gzip, zstd or none)", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_NAME:
			name = optarg;
			break;
		default:
			return cli_usage(usage, c == 'h');
		}
	}
	if (optind + 1 != argc || !out)
		return cli_usage(usage, false);
	const char *ref = argv[optind];
	if (!name && !digest_str_valid(ref) && store_ref_name_valid(ref))
		name = ref;
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_FAIL;
	struct err err = {0};
	struct digest image;
	if (image_resolve(s, ref, &image, &err) < 0 ||
	    oci_export(s, &image, name, out, &eo, NULL, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
