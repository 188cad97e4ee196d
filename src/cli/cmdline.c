/*
 * cmdline — the common options before the command; see cmdline.h.
 */
#include "cmdline.h"

#include <string.h>

/* What a common option is, as far as sorting goes. */
enum cmdline_kind {
    CMDLINE_VALUE,   /* takes a value: NAME VALUE or NAME=VALUE */
    CMDLINE_HELP,    /* --help, -h */
    CMDLINE_VERSION, /* --version */
};

struct cmdline_option {
    const char *name;
    enum cmdline_kind kind;
};

/* The options every command takes (cli.h, CLI_COMMON_LONGOPTS). */
static const struct cmdline_option cmdline_options[] = {
    {"--redis", CMDLINE_VALUE}, {"--prefix", CMDLINE_VALUE},    {"--help", CMDLINE_HELP},
    {"-h", CMDLINE_HELP},       {"--version", CMDLINE_VERSION},
};

/* The common option `arg` is, or NULL; *joined is set for NAME=VALUE. */
static const struct cmdline_option *cmdline_find(const char *arg, int *joined)
{
    for (size_t i = 0; i < sizeof(cmdline_options) / sizeof(cmdline_options[0]); i++) {
        const struct cmdline_option *o = &cmdline_options[i];
        size_t n = strlen(o->name);
        if (strncmp(arg, o->name, n) != 0)
            continue;
        *joined = arg[n] == '=';
        if (arg[n] == '\0' || (*joined && o->kind == CMDLINE_VALUE))
            return o;
    }
    return NULL;
}

/* Takes the option at argv[0] (n arguments remain): returns how many
 * arguments it spans (1 or 2), or an error with cl->bad set. */
static int cmdline_take(struct cmdline *cl, int n, char *const argv[])
{
    int joined;
    const struct cmdline_option *o = cmdline_find(argv[0], &joined);

    cl->bad = argv[0];
    if (o == NULL)
        return CMDLINE_UNKNOWN;
    if (o->kind == CMDLINE_HELP)
        cl->help = 1;
    if (o->kind == CMDLINE_VERSION)
        cl->version = 1;
    if (o->kind != CMDLINE_VALUE || joined)
        return 1;
    if (n < 2)
        return CMDLINE_NEEDS_ARG;
    return 2;
}

int cmdline_sort(int argc, char *const argv[], char *out[], struct cmdline *cl)
{
    int i = 1, moved = 0;

    memset(cl, 0, sizeof(*cl));
    out[0] = NULL;
    /* Until the first argument that is not an option: the command. */
    while (i < argc && argv[i][0] == '-') {
        int span = cmdline_take(cl, argc - i, argv + i);
        if (span < 0)
            return span;
        while (span-- > 0)
            out[1 + moved++] = argv[i++];
    }
    cl->bad = NULL;
    if (i == argc)
        return CMDLINE_OK;
    cl->command = out[0] = argv[i++];
    cl->own = 1 + moved;
    while (i < argc)
        out[1 + moved++] = argv[i++];
    cl->argc = 1 + moved;
    out[cl->argc] = NULL;
    return CMDLINE_OK;
}
