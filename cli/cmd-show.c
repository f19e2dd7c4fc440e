/* airlock show [RUN] [--json]: a run record. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "runner/run.h"

static const char usage[] = "usage: airlock show [RUN] [--json]\n\n"
			    "Shows the record of RUN (default: last, the newest run): image and input\n"
			    "digests, command, limits, protections, exit status, output digests.\n"
			    "  --json   the record as JSON\n";

int cmd_show(struct cli *cli, int argc, char **argv)
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
	char id[RUN_ID_MAX];
	json_t *rec = NULL;
	if (run_record_load(s, ref, id, &rec, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	/* Both forms are JSON: values are quoted, so nothing in a record can
	 * reach the terminal as a control sequence. */
	char *text = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS | (json ? 0 : JSON_ENSURE_ASCII));
	puts(text);
	free(text);
	json_decref(rec);
	return EXIT_OK;
}
