/* airlock runs [--json]: list runs, oldest first. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "runner/run.h"

static const char usage[] = "usage: airlock runs [--json]\n\n"
			    "Lists runs, oldest first: id, start time, image, exit status, command.\n"
			    "  --json   a JSON array of the run records\n";

/* Prints s with control bytes escaped: argv words may hold anything. */
static void print_safe(const char *s, size_t max)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n < max; p++, n++) {
		if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

int cmd_runs(struct cli *cli, int argc, char **argv)
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
	char **ids = NULL;
	size_t n = 0;
	if (store_ref_list(s, STORE_NS_RUNS, &ids, &n, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_AIRLOCK;
	}
	json_t *all = json_array();
	int status = EXIT_OK;
	if (!json)
		printf("%-23s %-20s %-16s %5s  %s\n", "RUN", "STARTED", "IMAGE", "EXIT", "COMMAND");
	for (size_t i = 0; i < n; i++) {
		char id[RUN_ID_MAX];
		json_t *rec = NULL;
		if (run_record_load(s, ids[i], id, &rec, &err) < 0) {
			cli_error(cli, &err);
			status = EXIT_AIRLOCK;
			continue;
		}
		if (json) {
			json_array_append_new(all, rec);
			continue;
		}
		printf("%-30s %-20s %-16.16s %5lld  ", id,
		       json_string_value(json_object_get(rec, "started")) ?: "",
		       json_string_value(json_object_get(rec, "image_name")) ?: "",
		       (long long)json_integer_value(json_object_get(json_object_get(rec, "exit"), "code")));
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(rec, "argv"), k, w) {
			if (k)
				putchar(' ');
			print_safe(json_string_value(w) ?: "", 60);
		}
		putchar('\n');
		json_decref(rec);
	}
	if (json) {
		char *text = json_dumps(all, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
	}
	json_decref(all);
	store_names_free(ids, n);
	return status;
}
