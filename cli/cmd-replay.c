/* airlock replay [RUN] [--json]: run again from the record and compare
 * the output tree digests. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "runner/run.h"
#include "snapshot/replaydiff.h"

static const char usage[] =
	"usage: airlock replay [RUN] [--json]\n\n"
	"Runs RUN (default: last) again from its record: the same image digest,\n"
	"input tree, command, environment, limits and mounts, on this machine.\n"
	"Exit 0 if the workspace output tree has the same digest; otherwise exit 1\n"
	"and list the paths that differ. A value the original run copied from the\n"
	"host (-e NAME) is copied from this host again.\n"
	"  --json   {\"original\",\"replay\",\"expected\",\"got\",\"same\",\"differences\"}\n";

int cmd_replay(struct cli *cli, int argc, char **argv)
{
	bool json = false;
	const char *arg = NULL;
	int done = cli_json_args(usage, argc, argv, 1, &json, &arg);
	if (done >= 0)
		return done;
	const char *ref = arg ? arg : "last";
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct replay_result res;
	if (run_replay(s, ref, &res, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_AIRLOCK;
	}
	fprintf(stderr, "airlock: run %s (replay of %s)\n", res.run.id, res.original);
	char want[DIGEST_STR_SIZE], got[DIGEST_STR_SIZE];
	digest_to_str(&res.expected, want);
	digest_to_str(&res.got, got);
	json_t *diffs = json_array();
	if (!res.same && replaydiff_paths(s, &res.expected, &res.got, diffs, &err) < 0) {
		cli_error(cli, &err);
		json_decref(diffs);
		return EXIT_AIRLOCK;
	}
	if (json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:O,s:{s:i,s:i}}", "original", res.original,
				      "replay", res.run.id, "expected", want, "got", got, "same", res.same,
				      "differences", diffs, "exit", "original", res.original_exit, "replay",
				      res.run.exit_code);
		char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
		json_decref(o);
	} else if (res.same) {
		printf("same output: %s\n", got);
	} else {
		printf("different output: expected %s, got %s\n", want, got);
		size_t i;
		json_t *d;
		json_array_foreach(diffs, i, d) {
			printf("%s\t%s\n", json_string_value(json_object_get(d, "status")),
			       json_string_value(json_object_get(d, "quoted_path")));
		}
	}
	json_decref(diffs);
	return res.same ? EXIT_OK : EXIT_FAIL;
}
