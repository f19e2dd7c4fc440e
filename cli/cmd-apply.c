/* airlock apply [RUN] [--check] [-w DIR] [PATH...] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "runner/land.h"
#include "snapshot/quote.h"

static const char usage[] =
	"usage: airlock apply [RUN] [--check] [-w DIR] [--all] [-- PATH...]\n\n"
	"Writes RUN's (default: last) accepted changes into its workspace. What\n"
	"review did not reject is accepted, except risky changes (under .git/,\n"
	"symlinks leaving the workspace, setuid bits, special files), which need\n"
	"'airlock review --accept PATH'; setuid bits and special files are never\n"
	"applied. If the workspace changed since the run started, nothing is\n"
	"written and the conflicts are listed (exit 1). Each file is replaced\n"
	"atomically; a journal lets a second apply finish an interrupted one.\n\n"
	"  --check      say what would happen, write nothing\n"
	"  -w, --workspace DIR  apply to DIR instead (a copy of the same input)\n"
	"  --all        include files ignored by .gitignore\n"
	"  PATH...      only these paths (and what is below them)\n";

static bool apply_is_run(struct store *s, const char *word)
{
	char id[RUN_ID_MAX];
	struct digest d;
	return !strcmp(word, "last") || run_resolve(s, word, id, &d, NULL) == 0;
}

int cmd_apply(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"check", no_argument, NULL, 'c'},
					     {"workspace", required_argument, NULL, 'w'},
					     {"all", no_argument, NULL, 'a'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool check = false, all = false;
	const char *target = NULL;
	int c;
	_cleanup_(store_freep) struct store *s = NULL;
	const char *ref = "last";
	/* RUN may come before the options ("apply RUN --check -w DIR"): take it
	 * first, or "+" would stop option parsing at it and every option after
	 * it would be taken for a PATH (an apply instead of a --check). */
	if (argc > 1 && argv[1][0] != '-' && !cli_is_help(argv[1])) {
		s = cli_open_store(cli);
		if (!s)
			return EXIT_AIRLOCK;
		if (apply_is_run(s, argv[1])) {
			ref = argv[1];
			argv[1] = argv[0];
			argv++;
			argc--;
		}
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "+w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': check = true; break;
		case 'w': target = optarg; break;
		case 'a': all = true; break;
		default: return cli_usage(usage, c == 'h');
		}
	}
	if (!s)
		s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	/* [RUN] [PATH...]: the first word is the run if it names one. */
	if (!strcmp(ref, "last") && optind < argc && strcmp(argv[optind], "--") &&
	    apply_is_run(s, argv[optind]))
		ref = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	struct err err = {0};
	struct land l;
	if (land_open(s, ref, all, &l, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	struct apply_report rep = {0};
	int r = land_apply(s, &l, target, check, (const char *const *)argv + optind, (size_t)(argc - optind),
			   &rep, &err);
	size_t never = 0;
	for (size_t i = 0; i < rep.n; i++) {
		if (rep.items[i].status == APPLY_NEVER) {
			never++; /* .git/ internals: one line below, not hundreds */
			continue;
		}
		struct buf q = BUF_INIT;
		quote_path(&q, "", rep.items[i].path, 0);
		printf("%-9s %s%s%s\n", apply_status_name(rep.items[i].status), q.data ? q.data : "",
		       rep.items[i].detail ? ": " : "", rep.items[i].detail ? rep.items[i].detail : "");
		buf_release(&q);
	}
	if (never)
		printf("%-9s %zu path%s under .git/ (never written to a work tree; see 'airlock commit')\n",
		       apply_status_name(APPLY_NEVER), never, never == 1 ? "" : "s");
	int status = EXIT_OK;
	if (r == -EEXIST || r == -EUCLEAN) {
		cli_error(cli, &err);
		status = EXIT_FAIL;
	} else if (r < 0) {
		cli_error(cli, &err);
		status = EXIT_AIRLOCK;
	} else {
		printf("%s: %zu written, %zu already there%s\n", check ? "would apply" : "applied",
		       rep.n_done, rep.n_already, rep.resumed ? " (an interrupted apply was completed)" : "");
	}
	apply_report_release(&rep);
	land_release(&l);
	return status;
}
