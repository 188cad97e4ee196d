/*
 * main — the `alert` command: the subcommand table, `alert --help`,
 * `alert help [COMMAND]`, `alert --version`, and dispatch. Each subcommand
 * parses its own options and returns the exit status (cli.h).
 */
#include "cli.h"
#include "push.h"
#include "show.h"
#include "tail.h"
#include "version.h"

#include <stdio.h>
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
    {"tail", tail_cmd, "[--server URL] [--topic T] [--since ID]",
     "follow live as a WebSocket client"},
};
#define MAIN_NCOMMANDS (sizeof(main_commands) / sizeof(main_commands[0]))

static void main_help(FILE *out)
{
    fputs("Usage: alert COMMAND [OPTIONS]\n"
          "Publishes breaking-news alerts into Redis for alertd to push to readers.\n\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < MAIN_NCOMMANDS; i++)
        fprintf(out, "  %-8s%-44s %s\n", main_commands[i].name, main_commands[i].args,
                main_commands[i].what);
    fputs("\nCommon options: --redis URL (env ALERT_REDIS_URL; default redis://127.0.0.1:6379),\n"
          "  --prefix P (env ALERT_PREFIX; default alert), --help, --version\n"
          "'alert COMMAND --help' or 'alert help COMMAND' describes a command.\n\n"
          "Exit status: 0 done, 2 usage error or invalid item, 3 Redis unreachable or\n"
          "refused (nothing was published).\n",
          out);
}

static const struct main_command *main_find(const char *name)
{
    for (size_t i = 0; i < MAIN_NCOMMANDS; i++)
        if (strcmp(main_commands[i].name, name) == 0)
            return &main_commands[i];
    return NULL;
}

/* `alert help [COMMAND]`. */
static int main_help_command(int argc, char **argv)
{
    if (argc < 3) {
        main_help(stdout);
        return cli_flush_stdout(CLI_EXIT_OK);
    }
    const struct main_command *cmd = main_find(argv[2]);
    if (cmd == NULL)
        return cli_usage(NULL, "unknown command '%s'", argv[2]);
    char *sub[] = {(char *)cmd->name, "--help", NULL};
    return cmd->run(2, sub);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(NULL, "missing a command (push, update, retract, list, status, tail)");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        main_help(stdout);
        return cli_flush_stdout(CLI_EXIT_OK);
    }
    if (strcmp(name, "--version") == 0) {
        printf("alert %s\n", ALERT_VERSION);
        return cli_flush_stdout(CLI_EXIT_OK);
    }
    if (strcmp(name, "help") == 0)
        return main_help_command(argc, argv);
    const struct main_command *cmd = main_find(name);
    if (cmd == NULL)
        return name[0] == '-' ? cli_usage(NULL, "unknown option '%s' (a command comes first)", name)
                              : cli_usage(NULL, "unknown command '%s'", name);
    return cmd->run(argc - 1, argv + 1);
}
