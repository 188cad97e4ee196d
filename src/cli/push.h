/*
 * push — the publishing subcommands `alert push`, `alert update` and
 * `alert retract`: arguments, the item, the publish call, the outcome.
 *
 * Each takes the subcommand's argv (argv[0] is its name) and returns the
 * process exit status (cli.h).
 */
#ifndef ALERT_PUSH_H
#define ALERT_PUSH_H

int push_cmd_push(int argc, char **argv);
int push_cmd_update(int argc, char **argv);
int push_cmd_retract(int argc, char **argv);

#endif
