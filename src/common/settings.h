/*
 * settings — the machinery of a program's settings table, shared by alertd
 * (config.c) and alertd-push (pconf.c): defaults, a config file, environment
 * variables and command-line flags, in rising order of precedence.
 *
 * A program describes every setting once, in a table of rows (name, kind,
 * default text, range, help, offset into its own struct); --help, the
 * environment names (PREFIX + NAME in capitals, '-' as '_'), the config-file
 * keys ("name = value") and the defaults applied all come from that table,
 * so they cannot drift apart. What the settings mean, and any default that
 * depends on the machine, stay with the program.
 *
 * Ownership: the strings stored in the program's struct (SETTINGS_STR, the
 * host of a SETTINGS_ADDR, each value of a SETTINGS_LIST) are malloc'd here
 * and released by settings_free.
 */
#ifndef ALERT_SETTINGS_H
#define ALERT_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

/* SETTINGS_FILE is --config itself, read before every other layer. */
enum settings_kind {
    SETTINGS_STR,  /* char *, never empty */
    SETTINGS_INT,  /* int within min..max */
    SETTINGS_FLAG, /* int 0 or 1: 1/true/yes/on, 0/false/no/off; a flag takes no value */
    SETTINGS_LIST, /* char *[max] then its count (struct settings_list), repeatable */
    SETTINGS_ADDR, /* struct settings_addr: HOST:PORT or [IPv6]:PORT */
    SETTINGS_FILE, /* --config FILE */
};

/* An address to listen on; host first (settings_free frees it). */
struct settings_addr {
    char *host; /* "127.0.0.1", "::", "0.0.0.0"; NULL: not set */
    int port;
};

/* What a SETTINGS_LIST row needs beyond its offset (the array) and max (its
 * length): values come comma- or space-separated, each checked by `valid`. */
struct settings_list {
    size_t count_offset;             /* the int counting the values held */
    int (*valid)(const char *value); /* 1 when one value is acceptable */
    const char *rule;                /* "an origin like ...": what `valid` wants */
    const char *noun;                /* "origins": what max counts */
};

/* After "http://" or "https://", the rest of an origin (host[:port]);
 * NULL when s has neither scheme. */
const char *settings_origin_host(const char *s);
/* An exact browser Origin: scheme://host[:port], nothing after it (no
 * path, query, fragment, space or '*'): what an allowed-origin value is. */
int settings_origin_exact(const char *s);

struct settings_row {
    const char *name; /* flag name; the env name and file key derive from it */
    enum settings_kind kind;
    size_t offset; /* into the program's struct */
    int min, max;  /* SETTINGS_INT bounds; SETTINGS_LIST: max values */
    const char *metavar;
    const char *help;
    /* The default, as a value written in a config file: applied first, and
     * shown by --help. NULL: none, or one the program computes; dflt_doc
     * then says what it is. */
    const char *dflt;
    const char *dflt_doc;
    const struct settings_list *list; /* SETTINGS_LIST only */
};

struct settings_table {
    const char *program;    /* "alertd": --version and messages name it */
    const char *env_prefix; /* "ALERTD_" */
    const char *about;      /* --help: the text between the usage line and the options */
    const char *epilogue;   /* --help: the text after them; NULL: none */
    int column;             /* --help: width of the flag column */
    const struct settings_row *rows;
    size_t nrows;
    size_t size; /* of the program's struct */
};

enum settings_result { SETTINGS_OK, SETTINGS_EXIT_OK, SETTINGS_ERROR };

/* Formats a message into err; returns -1, so that callers may return it. */
int settings_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replaces *slot with a copy of value; -1 when out of memory. */
int settings_set_str(char **slot, const char *value);

/* Zeroes the struct at base, then applies every row's default. */
int settings_defaults(const struct settings_table *t, void *base, char *err, size_t errlen);

/* Applies the layers above the defaults: the file named by --config (or
 * PREFIX CONFIG in the environment), the environment, then argv.
 * SETTINGS_EXIT_OK means --help or --version was printed on stdout;
 * SETTINGS_ERROR means err holds a message naming the setting. */
enum settings_result settings_load(const struct settings_table *t, void *base, int argc,
                                   char **argv, char *err, size_t errlen);

/* --help, generated from the table. */
void settings_usage(const struct settings_table *t, FILE *out);

/* Frees what the table's rows hold in the struct at base, and zeroes it. */
void settings_free(const struct settings_table *t, void *base);

#endif
