/*
 * main — the `alert` command: the subcommand table, `alert --help`,
 * `alert help [COMMAND]`, `alert --version`, and dispatch. The common
 * options may come before the command (cmdline.h puts them after it); each
 * subcommand parses its own options and returns the exit status (cli.h).
 */
#include "cli.h"
#include "cmdline.h"
#include "keygen.h"
#include "push.h"
#include "show.h"
#include "stats.h"
#include "tail.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct main_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
    const char *args;                  /* synopsis after the name */
    const char *what;                  /* one line for `alert --help` */
};

static const struct main_command main_commands[] = {
    {"push", push_cmd_push, "[ITEM OPTIONS] [-f FILE|-]", "publish a new alert; prints its id"},
    {"update", push_cmd_update, "ID [ITEM OPTIONS] [-f FILE|-]", "publish a new version of ID"},
    {"retract", push_cmd_retract, "ID [--reason TEXT]", "withdraw ID"},
    {"list", show_cmd_list, "[--limit N] [--topic T] [--lang L] [--json]", "recent history"},
    {"status", show_cmd_status, "[--json]", "nodes subscribed, stream length, last id"},
    {"stats", stats_cmd, "ID [--json]", "readers reached, acks and latencies of ID"},
    {"tail", tail_cmd, "[--server URL] [--topic T] [--since ID]",
     "follow live as a WebSocket client"},
    {"keygen", keygen_cmd, "FILE", "make a key pair for signing alerts"},
};
#define MAIN_NCOMMANDS (sizeof(main_commands) / sizeof(main_commands[0]))

static void main_help(FILE *out)
{
    fputs("Usage: alert [COMMON OPTIONS] COMMAND [OPTIONS]\n"
          "Publishes breaking-news alerts into Redis for alertd to push to readers.\n\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < MAIN_NCOMMANDS; i++)
        fprintf(out, "  %-8s%-44s %s\n", main_commands[i].name, main_commands[i].args,
                main_commands[i].what);
    fputs("\nCommon options, which may come before or after the command (after it, they\n"
          "win): --redis URL (env ALERT_REDIS_URL; default redis://127.0.0.1:6379),\n"
          "  --prefix P (env ALERT_PREFIX; default alert), -h, --help, --version\n"
          "'alert COMMAND --help' or 'alert help COMMAND' describes a command.\n\n"
          "Exit status: 0 done, 1 local failure (memory, standard output), 2 usage\n"
          "error or invalid item, 3 Redis unreachable or refused (nothing was\n"
          "published), 4 a publish sent but not answered (it may have been published:\n"
          "retry with the --key printed), 6 tail --verify --strict rejected an alert.\n",
          out);
}

static int main_print_help(void)
{
    main_help(stdout);
    return cli_flush_stdout(CLI_EXIT_OK);
}

static int main_print_version(void)
{
    printf("alert %s\n", ALERT_VERSION);
    return cli_flush_stdout(CLI_EXIT_OK);
}

static const struct main_command *main_find(const char *name)
{
    for (size_t i = 0; i < MAIN_NCOMMANDS; i++)
        if (strcmp(main_commands[i].name, name) == 0)
            return &main_commands[i];
    return NULL;
}

/* `alert help [COMMAND]`; argv holds what followed "help". */
static int main_help_command(int argc, char **argv)
{
    if (argc < 1)
        return main_print_help();
    const struct main_command *cmd = main_find(argv[0]);
    if (cmd == NULL)
        return cli_usage(NULL, "unknown command '%s'", argv[0]);
    char *sub[] = {(char *)cmd->name, "--help", NULL};
    return cmd->run(2, sub);
}

/* Runs what the sorted command line (cmdline.h) asks for. */
static int main_dispatch(const struct cmdline *cl, char **argv)
{
    if (cl->command == NULL) {
        if (cl->help)
            return main_print_help();
        if (cl->version)
            return main_print_version();
        return cli_usage(
            NULL, "missing a command (push, update, retract, list, status, stats, tail, keygen)");
    }
    if (strcmp(cl->command, "help") == 0) {
        /* As for every command, --help before it wins over --version. */
        if (cl->version && !cl->help)
            return main_print_version();
        return main_help_command(cl->argc - cl->own, argv + cl->own);
    }
    const struct main_command *cmd = main_find(cl->command);
    if (cmd == NULL)
        return cli_usage(NULL, "unknown command '%s'", cl->command);
    return cmd->run(cl->argc, argv);
}

int main(int argc, char **argv)
{
    struct cmdline cl;
    char **sorted = calloc((size_t)argc + 1, sizeof(*sorted));
    int status;

    if (sorted == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    switch (cmdline_sort(argc, argv, sorted, &cl)) {
    case CMDLINE_UNKNOWN:
        status = cli_usage(NULL,
                           "unknown option '%s' before the command (only --redis, --prefix, "
                           "--help and --version may come first)",
                           cl.bad);
        break;
    case CMDLINE_NEEDS_ARG:
        status = cli_usage(NULL, "option '%s' needs an argument", cl.bad);
        break;
    default:
        status = main_dispatch(&cl, sorted);
    }
    free(sorted);
    return status;
}
