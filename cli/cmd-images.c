/* airlock images [--json]: list images. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "builder/maintain.h"
#include "cli/cli.h"

static const char usage[] = "usage: airlock images [--json]\n\n"
			    "Lists the images in the store: names, digest, size of their files.\n"
			    "  --json   one JSON array: [{\"names\":[..],\"digest\":..,\"size\":..,\"entries\":..}]\n";

static void human_size(uint64_t n, char *out, size_t len)
{
	const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int cmd_images(struct cli *cli, int argc, char **argv)
{
	bool json = false;
	const char *arg = NULL; /* none allowed */
	int done = cli_json_args(usage, argc, argv, 0, &json, &arg);
	if (done >= 0)
		return done;
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct image_info *infos = NULL;
	size_t n = 0;
	if (images_list(s, &infos, &n, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_AIRLOCK;
	}
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			char d[DIGEST_STR_SIZE];
			digest_to_str(&infos[i].digest, d);
			json_t *names = json_array();
			for (size_t k = 0; k < infos[i].nnames; k++)
				json_array_append_new(names, json_string(infos[i].names[k]));
			json_array_append_new(arr, json_pack("{s:o,s:s,s:I,s:I}", "names", names, "digest", d,
							     "size", (json_int_t)infos[i].bytes, "entries",
							     (json_int_t)infos[i].entries));
		}
		char *out = json_dumps(arr, JSON_INDENT(2));
		puts(out);
		free(out);
		json_decref(arr);
	} else {
		printf("%-24s %-71s %10s\n", "NAME", "DIGEST", "SIZE");
		for (size_t i = 0; i < n; i++) {
			char d[DIGEST_STR_SIZE], size[32];
			digest_to_str(&infos[i].digest, d);
			human_size(infos[i].bytes, size, sizeof size);
			if (!infos[i].nnames)
				printf("%-24s %-71s %10s\n", "<none>", d, size);
			for (size_t k = 0; k < infos[i].nnames; k++)
				printf("%-24s %-71s %10s\n", infos[i].names[k], d, size);
		}
	}
	image_infos_free(infos, n);
	return EXIT_OK;
}
