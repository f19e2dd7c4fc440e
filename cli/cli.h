/* cli: shared plumbing of the command line. Commands parse their options,
 * call one library function and print; nothing else lives here. */
#ifndef AIRLOCK_CLI_CLI_H
#define AIRLOCK_CLI_CLI_H

#include <stdbool.h>

#include "lib/err.h"
#include "lib/macros.h"
#include "lib/store.h"

/* Exit codes shared by all commands (run has its own contract). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* the command ran and the answer is "no" (fsck, conflicts) */
	EXIT_USAGE = 2, /* bad command line */
	EXIT_AIRLOCK = 125,
};

struct cli {
	const char *store_path; /* --store, or NULL for the default */
	const char *cmd;        /* the command's name, for messages */
};

/* Prints "airlock: <cmd>: <msg>" to stderr. */
void cli_error(const struct cli *cli, const struct err *err);
void cli_errorf(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "airlock: <cmd>: warning: ..." to stderr. */
void cli_warnf(const struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the store (creating it); prints the error and returns NULL. */
struct store *cli_open_store(const struct cli *cli);
/* True if argv[i] is -h or --help. */
bool cli_is_help(const char *arg);
/* Prints usage text to stdout (help asked) and returns EXIT_OK, or to
 * stderr (misuse) and returns EXIT_USAGE. */
int cli_usage(const char *text, bool asked);

/* One function per command, in cli/cmd-<name>.c. argv[0] is the command
 * name; options follow. Returns the process exit code. */
#define CLI_COMMANDS(X)                                                                  \
	X(build, "build an image from a recipe")                                         \
	X(lock, "resolve and pin every input of a recipe")                              \
	X(images, "list images")                                                         \
	X(rmi, "remove an image name or image")                                         \
	X(checkout, "materialise an image read-only and print its path")                \
	X(import, "import an OCI or docker archive as an image")                        \
	X(export, "export an image as an OCI archive")                                   \
	X(run, "run a command in a fresh sandbox")                                      \
	X(runs, "list runs")                                                             \
	X(show, "show a run record")                                                     \
	X(diff, "show a run's workspace changes as a git patch")                        \
	X(review, "accept or reject a run's changes")                                   \
	X(apply, "write accepted changes to the workspace")                             \
	X(commit, "commit accepted changes to a git branch")                            \
	X(replay, "run again from a record and compare the output")                     \
	X(rm, "remove a run")                                                            \
	X(gc, "remove what nothing references")                                          \
	X(fsck, "verify every object and reference")                                     \
	X(doctor, "report which protections this machine provides")

#define CLI_DECLARE(name, help) int cmd_##name(struct cli *cli, int argc, char **argv);
CLI_COMMANDS(CLI_DECLARE)
#undef CLI_DECLARE

#endif
