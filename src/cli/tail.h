/*
 * tail — `alert tail`: follows an alertd server live as a real WebSocket
 * client (libwebsockets, on its default poll loop) and prints each alert as
 * it arrives.
 *
 * After a drop it reconnects with exponential backoff and full jitter and
 * resumes with `since` = the last id it printed, so that no alert is printed
 * twice and none is lost while it is within the server's history. Close
 * codes 1008 and 4003 end the run (the server refuses this client); 4029
 * backs off longer; everything else is retried until --count, --timeout or
 * Ctrl-C ends the run.
 *
 * Takes the subcommand's argv (argv[0] is its name) and returns the process
 * exit status (cli.h; CLI_EXIT_REFUSED when the server refuses us).
 */
#ifndef ALERT_TAIL_H
#define ALERT_TAIL_H

int tail_cmd(int argc, char **argv);

#endif
