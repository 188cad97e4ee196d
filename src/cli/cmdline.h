/*
 * cmdline — `alert [COMMON OPTIONS] COMMAND [ARGUMENTS]`: finds the command
 * and moves the common options given before it (--redis URL, --redis=URL,
 * --prefix P, --prefix=P, --help, -h, --version) to just after its name,
 * ahead of its own arguments. The command's parser (getopt_long) then
 * takes them with the rest, as if they had been written there; an option
 * given after the command comes later and so wins over the same option
 * given before it.
 *
 * Pure: nothing is printed, allocated or kept; the result points into the
 * caller's argv.
 */
#ifndef ALERT_CMDLINE_H
#define ALERT_CMDLINE_H

/* Outcomes of cmdline_sort. */
#define CMDLINE_OK        0
#define CMDLINE_UNKNOWN   -1 /* an option before the command is not a common one */
#define CMDLINE_NEEDS_ARG -2 /* --redis or --prefix before the command lacks its value */

struct cmdline {
    const char *command; /* the command's name, or NULL when none was given */
    int argc;            /* the command's argv is out[0..argc); 0 without a command */
    int own;             /* out[own..argc) are the arguments that followed the command */
    int help;            /* --help or -h came before the command */
    int version;         /* --version came before the command */
    const char *bad;     /* on an error: the argument at fault */
};

/* Sorts argv[0..argc) (argv[0] is the program) into out, which has room for
 * argc pointers: out[0] is the command, then the common options that came
 * before it, then what came after it, then NULL. Without a command, out[0]
 * is NULL. Returns CMDLINE_OK, or an error with cl->bad set. */
int cmdline_sort(int argc, char *const argv[], char *out[], struct cmdline *cl);

#endif
