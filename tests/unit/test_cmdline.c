/*
 * test_cmdline — `alert [COMMON OPTIONS] COMMAND [ARGUMENTS]` (cmdline.h):
 * the common options before the command move to just after it, in both
 * their forms, so one after the command still wins; anything else before
 * the command is an error naming it.
 */
#include "cli/cmdline.h"
#include "test.h"

#include <string.h>

#define MAXARGS 16

static char *out[MAXARGS];
static struct cmdline cl;

/* Sorts the NULL-terminated argv; returns cmdline_sort's outcome. */
static int sort(char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    for (int i = 0; i < MAXARGS; i++)
        out[i] = "unset";
    return cmdline_sort(argc, argv, out, &cl);
}

/* 1 when out[0..] is exactly the NULL-terminated `want`, NULL included. */
static int out_is(char **want)
{
    int i = 0;
    for (; want[i]; i++)
        if (out[i] == NULL || strcmp(out[i], want[i]) != 0)
            return 0;
    return out[i] == NULL && i == cl.argc;
}

static void test_no_common_options(void)
{
    char *argv[] = {"alert", "push", "--headline", "x", NULL};
    char *want[] = {"push", "--headline", "x", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_OK);
    ASSERT_STR_EQ(cl.command, "push");
    ASSERT_TRUE(cl.command == argv[1]); /* points into argv */
    ASSERT_EQ(cl.argc, 3);
    ASSERT_EQ(cl.own, 1);
    ASSERT_TRUE(out_is(want));
    ASSERT_EQ(cl.help, 0);
    ASSERT_EQ(cl.version, 0);
    ASSERT_TRUE(cl.bad == NULL);
}

static void test_options_before_the_command_move_after_it(void)
{
    char *argv[] = {"alert", "--redis", "redis://a", "--prefix", "p1", "list", "--json", NULL};
    char *want[] = {"list", "--redis", "redis://a", "--prefix", "p1", "--json", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_OK);
    ASSERT_STR_EQ(cl.command, "list");
    ASSERT_TRUE(out_is(want));
    ASSERT_EQ(cl.argc, 6);
    ASSERT_EQ(cl.own, 5); /* --json is the command's own */
    ASSERT_STR_EQ(out[cl.own], "--json");
}

static void test_joined_forms(void)
{
    char *argv[] = {"alert", "--redis=redis://b:6380", "--prefix=x", "status", NULL};
    char *want[] = {"status", "--redis=redis://b:6380", "--prefix=x", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_OK);
    ASSERT_TRUE(out_is(want));
    ASSERT_EQ(cl.own, 3);
    ASSERT_EQ(cl.argc, 3);
    /* A value that looks like an option is still the value. */
    char *argv2[] = {"alert", "--prefix", "--odd", "tail", NULL};
    char *want2[] = {"tail", "--prefix", "--odd", NULL};
    ASSERT_EQ(sort(argv2), CMDLINE_OK);
    ASSERT_TRUE(out_is(want2));
}

static void test_an_option_after_the_command_comes_later_and_wins(void)
{
    char *argv[] = {"alert", "--redis", "redis://before", "push", "--redis", "redis://after", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_OK);
    ASSERT_EQ(cl.argc, 5);
    /* getopt takes the last one given: the one after the command. */
    int before = -1, after = -1;
    for (int i = 1; i < cl.argc; i++) {
        if (strcmp(out[i], "redis://before") == 0)
            before = i;
        if (strcmp(out[i], "redis://after") == 0)
            after = i;
    }
    ASSERT_TRUE(before > 0);
    ASSERT_TRUE(after > before);
    ASSERT_TRUE(cl.own > before);
    ASSERT_TRUE(after >= cl.own);
}

static void test_help_and_version_before_the_command(void)
{
    char *argv[] = {"alert", "-h", "push", NULL};
    char *want[] = {"push", "-h", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_OK);
    ASSERT_EQ(cl.help, 1);
    ASSERT_EQ(cl.version, 0);
    ASSERT_TRUE(out_is(want));
    char *argv2[] = {"alert", "--version", NULL};
    ASSERT_EQ(sort(argv2), CMDLINE_OK);
    ASSERT_EQ(cl.version, 1);
    ASSERT_TRUE(cl.command == NULL);
    ASSERT_EQ(cl.argc, 0);
    ASSERT_TRUE(out[0] == NULL);
    char *argv3[] = {"alert", "--help", NULL};
    ASSERT_EQ(sort(argv3), CMDLINE_OK);
    ASSERT_EQ(cl.help, 1);
    ASSERT_TRUE(cl.command == NULL);
    /* Only before the command: after it, they are the command's. */
    char *argv4[] = {"alert", "push", "--help", NULL};
    ASSERT_EQ(sort(argv4), CMDLINE_OK);
    ASSERT_EQ(cl.help, 0);
}

static void test_nothing_at_all(void)
{
    char *argv[] = {"alert", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_OK);
    ASSERT_TRUE(cl.command == NULL);
    ASSERT_TRUE(out[0] == NULL);
    ASSERT_EQ(cl.argc, 0);
}

static void test_an_unknown_option_before_the_command(void)
{
    char *argv[] = {"alert", "--json", "list", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_UNKNOWN);
    ASSERT_STR_EQ(cl.bad, "--json");
    /* Neither a longer name nor a joined value on a flag is a common option. */
    char *argv2[] = {"alert", "--redisx", "u", "list", NULL};
    ASSERT_EQ(sort(argv2), CMDLINE_UNKNOWN);
    ASSERT_STR_EQ(cl.bad, "--redisx");
    char *argv3[] = {"alert", "--help=yes", "list", NULL};
    ASSERT_EQ(sort(argv3), CMDLINE_UNKNOWN);
    ASSERT_STR_EQ(cl.bad, "--help=yes");
    char *argv4[] = {"alert", "--redis", "u", "-x", "list", NULL};
    ASSERT_EQ(sort(argv4), CMDLINE_UNKNOWN);
    ASSERT_STR_EQ(cl.bad, "-x");
    char *argv5[] = {"alert", "--", "list", NULL};
    ASSERT_EQ(sort(argv5), CMDLINE_UNKNOWN);
    ASSERT_STR_EQ(cl.bad, "--");
}

static void test_a_missing_argument(void)
{
    char *argv[] = {"alert", "--redis", NULL};
    ASSERT_EQ(sort(argv), CMDLINE_NEEDS_ARG);
    ASSERT_STR_EQ(cl.bad, "--redis");
    char *argv2[] = {"alert", "--version", "--prefix", NULL};
    ASSERT_EQ(sort(argv2), CMDLINE_NEEDS_ARG);
    ASSERT_STR_EQ(cl.bad, "--prefix");
    /* An empty joined value is a value. */
    char *argv3[] = {"alert", "--prefix=", "list", NULL};
    ASSERT_EQ(sort(argv3), CMDLINE_OK);
    ASSERT_STR_EQ(cl.command, "list");
}

TEST_MAIN(TEST_CASE(test_no_common_options),
          TEST_CASE(test_options_before_the_command_move_after_it), TEST_CASE(test_joined_forms),
          TEST_CASE(test_an_option_after_the_command_comes_later_and_wins),
          TEST_CASE(test_help_and_version_before_the_command), TEST_CASE(test_nothing_at_all),
          TEST_CASE(test_an_unknown_option_before_the_command), TEST_CASE(test_a_missing_argument))
