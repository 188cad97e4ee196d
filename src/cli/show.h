/*
 * show — the read-only subcommands `alert list` and `alert status`:
 * arguments, the query, human or --json output on stdout.
 *
 * Each takes the subcommand's argv (argv[0] is its name) and returns the
 * process exit status (cli.h).
 */
#ifndef ALERT_SHOW_H
#define ALERT_SHOW_H

int show_cmd_list(int argc, char **argv);
int show_cmd_status(int argc, char **argv);

#endif
