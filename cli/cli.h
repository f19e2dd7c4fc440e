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

/* Parses "[--json] [-h] [ARG]" (at most max_args positionals). Returns -1
 * to go on (*ret_arg is the positional or NULL, *json set), else the exit
 * code to return (help printed, or usage error). */
int cli_json_args(const char *usage, int argc, char **argv, size_t max_args, bool *json,
		  const char **ret_arg);

/* "CMD NAME...": calls fn on each NAME with the store, prints "removed
 * NAME" or the error; exit 1 if any failed. */
int cli_remove_each(struct cli *cli, const char *usage, int argc, char **argv,
		    int (*fn)(struct store *s, const char *name, struct err *err));

/* One function per command, in cli/cmd-<name>.c. argv[0] is the command
 * name; options follow. Returns the process exit code. X(name, help,
 * heavy): a heavy command needs libgit2 or libarchive; the light airlock
 * binary hands it to airlock-full (exec, same argv). */
#define CLI_COMMANDS(X)                                                                  \
	X(build, "build an image from a recipe", 1)                                      \
	X(lock, "resolve and pin every input of a recipe", 1)                           \
	X(images, "list images", 0)                                                      \
	X(rmi, "remove an image name or image", 0)                                      \
	X(checkout, "materialise an image read-only and print its path", 0)             \
	X(import, "import an OCI or docker archive as an image", 1)                     \
	X(export, "export an image as an OCI archive", 1)                                \
	X(run, "run a command in a fresh sandbox", 0)                                   \
	X(runs, "list runs", 0)                                                          \
	X(show, "show a run record", 0)                                                  \
	X(diff, "show a run's workspace changes as a git patch", 1)                     \
	X(review, "accept or reject a run's changes", 1)                                \
	X(apply, "write accepted changes to the workspace", 1)                          \
	X(commit, "commit accepted changes to a git branch", 1)                         \
	X(replay, "run again from a record and compare the output", 1)                  \
	X(bundle, "write a run and all it needs to one file", 1)                        \
	X(unbundle, "load a bundle into this store, verifying it", 1)                   \
	X(rm, "remove a run", 0)                                                         \
	X(gc, "remove what nothing references", 0)                                       \
	X(fsck, "verify every object and reference", 0)                                  \
	X(doctor, "report which protections this machine provides", 0)

#define CLI_DECLARE(name, help, heavy) int cmd_##name(struct cli *cli, int argc, char **argv);
CLI_COMMANDS(CLI_DECLARE)
#undef CLI_DECLARE

#endif
