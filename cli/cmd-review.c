/* airlock review [RUN]: accept or reject a run's changes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/xalloc.h"
#include "runner/land.h"
#include "snapshot/patch.h"
#include "snapshot/review.h"

static const char usage[] =
	"usage: airlock review [RUN] [--redo] [--all]\n"
	"       airlock review [RUN] --accept-all | --accept PATH... | --reject PATH...\n\n"
	"Decides which of RUN's (default: last) changes 'airlock apply' and 'airlock\n"
	"commit' take. On a terminal: a summary, then file by file and hunk by hunk\n"
	"with keys like 'git add -p' (y n a d s q ?). Decisions are saved with the\n"
	"run; a review can be resumed (--redo revisits decided files).\n"
	"Without a terminal, or for scripts and CI:\n"
	"  --accept-all       accept every change (risky ones too: .git/, escaping\n"
	"                     symlinks, setuid bits are still never applied)\n"
	"  --accept PATH...   accept these paths (needed for held-back risky changes)\n"
	"  --reject PATH...   reject these paths\n"
	"  --all              include files ignored by .gitignore\n";

int cmd_review(struct cli *cli, int argc, char **argv)
{
	enum { O_ACCEPT_ALL = 256, O_ACCEPT, O_REJECT, O_REDO, O_ALL };
	static const struct option opts[] = {
		{"accept-all", no_argument, NULL, O_ACCEPT_ALL}, {"accept", no_argument, NULL, O_ACCEPT},
		{"reject", no_argument, NULL, O_REJECT},         {"redo", no_argument, NULL, O_REDO},
		{"all", no_argument, NULL, O_ALL},               {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int mode = 0;
	bool redo = false, all = false;
	int c;
	/* RUN comes first when given (an id, a prefix or "last"), before the
	 * options, as the usage says: "review RUN --accept PATH..." must not
	 * take RUN for a path, nor stop option parsing at it. */
	const char *ref = "last";
	bool ref_given = false;
	if (argc > 1 && argv[1][0] != '-') {
		ref = argv[1];
		ref_given = true;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_ACCEPT_ALL:
		case O_ACCEPT:
		case O_REJECT:
			if (mode && mode != c) {
				cli_errorf(cli, "--accept-all, --accept and --reject go one at a time");
				return EXIT_USAGE;
			}
			mode = c;
			break;
		case O_REDO: redo = true; break;
		case O_ALL: all = true; break;
		default: return cli_usage(usage, c == 'h');
		}
	}
	/* Without PATHs, RUN may also follow the options (--accept-all RUN). */
	int first_path = optind;
	if (mode != O_ACCEPT && mode != O_REJECT) {
		if (argc - optind > (ref_given ? 0 : 1))
			return cli_usage(usage, false);
		if (optind < argc)
			ref = argv[optind];
	} else if (first_path >= argc) {
		cli_errorf(cli, "--accept/--reject need at least one PATH");
		return EXIT_USAGE;
	}
	_cleanup_(store_freep) struct store *s = cli_open_store(cli);
	if (!s)
		return EXIT_AIRLOCK;
	struct err err = {0};
	struct land l;
	if (land_open(s, ref, all, &l, &err) < 0) {
		cli_error(cli, &err);
		return EXIT_FAIL;
	}
	int status = EXIT_OK;
	if (mode == O_ACCEPT_ALL) {
		for (size_t i = 0; i < l.cs->n; i++)
			decisions_set(l.d, l.cs->changes[i].path, DECISION_ACCEPT);
	} else if (mode) {
		for (int i = first_path; i < argc; i++) {
			bool found = false;
			size_t plen = strlen(argv[i]);
			for (size_t k = 0; k < l.cs->n; k++) {
				const char *p = l.cs->changes[k].path;
				if (!strcmp(p, argv[i]) || (!strncmp(p, argv[i], plen) && p[plen] == '/')) {
					decisions_set(l.d, p, mode == O_ACCEPT ? DECISION_ACCEPT : DECISION_REJECT);
					found = true;
				}
			}
			if (!found) {
				cli_errorf(cli, "'%s' is not among the run's changes", argv[i]);
				status = EXIT_FAIL;
			}
		}
	} else {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			land_release(&l);
			cli_errorf(cli, "interactive review needs a terminal; use --accept-all, --accept or --reject");
			return EXIT_USAGE;
		}
		struct patch_opts po = {0};
		patch_opts_for_fd(&po, "auto", true, STDOUT_FILENO, NULL);
		struct review_opts ro = {.in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .color = po.color, .redo = redo};
		int r = review_run(s, l.cs, l.d, &ro, &err);
		if (r < 0) {
			land_save(&l, NULL);
			land_release(&l);
			cli_error(cli, &err);
			return EXIT_AIRLOCK;
		}
	}
	if (land_save(&l, &err) < 0) {
		cli_error(cli, &err);
		status = EXIT_AIRLOCK;
	} else {
		size_t acc = 0, rej = 0, held = 0;
		for (size_t i = 0; i < l.cs->n; i++) {
			enum accept_reason why;
			if (decisions_accepts(l.d, &l.cs->changes[i], &why))
				acc++;
			else if (decisions_get(l.d, l.cs->changes[i].path) == DECISION_REJECT)
				rej++;
			else
				held++;
		}
		printf("run %s: %zu accepted, %zu rejected, %zu held back (risky: accept by path)\n", l.id,
		       acc, rej, held);
	}
	land_release(&l);
	return status;
}
