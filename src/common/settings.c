/*
 * settings — see settings.h.
 */
#include "settings.h"

#include "version.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SETTINGS_NAME_MAX 64 /* an environment name, a --help flag column */

int settings_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static char **settings_str_at(void *base, const struct settings_row *r)
{
    return (char **)((char *)base + r->offset);
}

static int *settings_int_at(void *base, size_t offset)
{
    return (int *)((char *)base + offset);
}

int settings_set_str(char **slot, const char *value)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

static int settings_parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* HOST:PORT or [IPv6]:PORT. */
static int settings_parse_addr(struct settings_addr *a, const char *flag, const char *s, char *err,
                               size_t errlen)
{
    const char *colon = strrchr(s, ':');
    const char *host = s;
    size_t hlen;
    if (colon == NULL)
        return settings_fail(err, errlen, "--%s: expected HOST:PORT, got \"%s\"", flag, s);
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && colon[-1] == ']') {
        host++;
        hlen -= 2;
    }
    if (settings_parse_int(colon + 1, 1, 65535, &a->port))
        return settings_fail(err, errlen, "--%s: port must be 1-65535, got \"%s\"", flag,
                             colon + 1);
    char *h = strndup(host, hlen);
    if (h == NULL)
        return settings_fail(err, errlen, "out of memory");
    free(a->host);
    a->host = h;
    return 0;
}

static void settings_clear_list(void *base, const struct settings_row *r)
{
    char **values = settings_str_at(base, r);
    int *count = settings_int_at(base, r->list->count_offset);
    for (int i = 0; i < *count; i++) {
        free(values[i]);
        values[i] = NULL;
    }
    *count = 0;
}

/* Adds the comma- or space-separated values of one setting to its list. */
static int settings_add_list(void *base, const struct settings_row *r, const char *value, char *err,
                             size_t errlen)
{
    const struct settings_list *l = r->list;
    char **values = settings_str_at(base, r);
    int *count = settings_int_at(base, l->count_offset);
    char *copy = strdup(value), *save = NULL;
    int rc = 0;
    if (copy == NULL)
        return settings_fail(err, errlen, "out of memory");
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!l->valid(tok)) {
            rc = settings_fail(err, errlen, "--%s: \"%s\" is not %s", r->name, tok, l->rule);
            break;
        }
        if (*count == r->max) {
            rc = settings_fail(err, errlen, "--%s: at most %d %s", r->name, r->max, l->noun);
            break;
        }
        if ((values[*count] = strdup(tok)) == NULL) {
            rc = settings_fail(err, errlen, "out of memory");
            break;
        }
        (*count)++;
    }
    free(copy);
    return rc;
}

static int settings_apply_flag(void *base, const struct settings_row *r, const char *value,
                               char *err, size_t errlen)
{
    if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
        strcmp(value, "yes") == 0 || strcmp(value, "on") == 0)
        *settings_int_at(base, r->offset) = 1;
    else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
             strcmp(value, "off") == 0)
        *settings_int_at(base, r->offset) = 0;
    else
        return settings_fail(err, errlen, "--%s: expected true or false, got \"%s\"", r->name,
                             value);
    return 0;
}

/* Applies one setting. `fresh_list` is set for the first value of a list
 * setting in a layer, so that a higher layer replaces a lower one's list. */
static int settings_apply(void *base, const struct settings_row *r, const char *value,
                          int fresh_list, char *err, size_t errlen)
{
    switch (r->kind) {
    case SETTINGS_FILE:
        return 0;
    case SETTINGS_STR:
        if (*value == '\0')
            return settings_fail(err, errlen, "--%s: must not be empty", r->name);
        if (settings_set_str(settings_str_at(base, r), value))
            return settings_fail(err, errlen, "out of memory");
        return 0;
    case SETTINGS_INT:
        if (settings_parse_int(value, r->min, r->max, settings_int_at(base, r->offset)))
            return settings_fail(err, errlen, "--%s: expected a whole number %d-%d, got \"%s\"",
                                 r->name, r->min, r->max, value);
        return 0;
    case SETTINGS_FLAG:
        return settings_apply_flag(base, r, value, err, errlen);
    case SETTINGS_LIST:
        if (fresh_list)
            settings_clear_list(base, r);
        return settings_add_list(base, r, value, err, errlen);
    case SETTINGS_ADDR:
        return settings_parse_addr((struct settings_addr *)((char *)base + r->offset), r->name,
                                   value, err, errlen);
    }
    return 0;
}

static const struct settings_row *settings_find(const struct settings_table *t, const char *name,
                                                size_t len)
{
    for (size_t i = 0; i < t->nrows; i++)
        if (strlen(t->rows[i].name) == len && strncmp(t->rows[i].name, name, len) == 0)
            return &t->rows[i];
    return NULL;
}

static char *settings_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Prefixes err with where it happened: "FILE:LINE: ", "NAME: ". */
static int settings_wrap(char *err, size_t errlen, const char *where, int line)
{
    char inner[256];
    snprintf(inner, sizeof(inner), "%s", err);
    if (line > 0)
        return settings_fail(err, errlen, "%s:%d: %s", where, line, inner);
    return settings_fail(err, errlen, "%s: %s", where, inner);
}

/* A config file: "name = value" lines (the "=" may be a space), # comments. */
static int settings_load_file(const struct settings_table *t, void *base, const char *path,
                              char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0, rc = 0, seen_list = 0;
    if (f == NULL)
        return settings_fail(err, errlen, "--config: cannot open %s: %s", path, strerror(errno));
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = settings_trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        size_t klen = strcspn(s, "= \t");
        char *value = s + klen;
        while (*value == ' ' || *value == '\t' || *value == '=')
            value++;
        const struct settings_row *r = settings_find(t, s, klen);
        if (r == NULL || r->kind == SETTINGS_FILE) {
            rc = settings_fail(err, errlen, "%s:%d: unknown setting \"%.*s\"", path, lineno,
                               (int)klen, s);
            break;
        }
        rc = settings_apply(base, r, r->kind == SETTINGS_FLAG && *value == '\0' ? NULL : value,
                            r->kind == SETTINGS_LIST && !seen_list++, err, errlen);
        if (rc)
            settings_wrap(err, errlen, path, lineno);
    }
    fclose(f);
    return rc;
}

static void settings_env_name(const struct settings_table *t, const char *name, char *out,
                              size_t outlen)
{
    size_t i = 0;
    for (const char *p = t->env_prefix; *p && i + 1 < outlen; p++)
        out[i++] = *p;
    for (const char *p = name; *p && i + 1 < outlen; p++)
        out[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[i] = '\0';
}

static int settings_load_env(const struct settings_table *t, void *base, char *err, size_t errlen)
{
    char name[SETTINGS_NAME_MAX];
    for (size_t i = 0; i < t->nrows; i++) {
        const struct settings_row *r = &t->rows[i];
        settings_env_name(t, r->name, name, sizeof(name));
        const char *v = getenv(name);
        if (v == NULL || r->kind == SETTINGS_FILE)
            continue;
        if (settings_apply(base, r, v, 1, err, errlen))
            return settings_wrap(err, errlen, name, 0);
    }
    return 0;
}

void settings_usage(const struct settings_table *t, FILE *out)
{
    char env[SETTINGS_NAME_MAX], flag[SETTINGS_NAME_MAX];
    int w = t->column;
    fprintf(out, "usage: %s [OPTIONS]\n\n%s", t->program, t->about);
    for (size_t i = 0; i < t->nrows; i++) {
        const struct settings_row *r = &t->rows[i];
        settings_env_name(t, r->name, env, sizeof(env));
        snprintf(flag, sizeof(flag), "--%s%s%s", r->name, r->metavar ? " " : "",
                 r->metavar ? r->metavar : "");
        fprintf(out, "  %-*s %s\n  %-*s default: %s; env %s\n", w, flag, r->help, w, "",
                r->dflt ? r->dflt : r->dflt_doc, env);
    }
    fprintf(out, "  %-*s %s\n  %-*s %s\n", w, "--help", "show this help", w, "--version",
            "print the version");
    if (t->epilogue)
        fputs(t->epilogue, out);
}

int settings_defaults(const struct settings_table *t, void *base, char *err, size_t errlen)
{
    memset(base, 0, t->size);
    for (size_t i = 0; i < t->nrows; i++) {
        const struct settings_row *r = &t->rows[i];
        if (r->dflt && settings_apply(base, r, r->dflt, 1, err, errlen))
            return -1;
    }
    return 0;
}

/* --config FILE may come as a flag or from the environment: find it first. */
static const char *settings_file_arg(const struct settings_table *t, int argc, char **argv)
{
    char name[SETTINGS_NAME_MAX];
    settings_env_name(t, "config", name, sizeof(name));
    const char *path = getenv(name);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

/* getopt_long's table for t: every row, then --help and --version. */
static struct option *settings_longopts(const struct settings_table *t)
{
    struct option *o = calloc(t->nrows + 3, sizeof(*o));
    if (o == NULL)
        return NULL;
    for (size_t i = 0; i < t->nrows; i++)
        o[i] = (struct option){t->rows[i].name,
                               t->rows[i].kind == SETTINGS_FLAG ? no_argument : required_argument,
                               NULL, (int)(i + 256)};
    o[t->nrows] = (struct option){"help", no_argument, NULL, 'h'};
    o[t->nrows + 1] = (struct option){"version", no_argument, NULL, 'V'};
    return o;
}

/* One option of argv: its row applied, or what it asks for (help, version). */
static enum settings_result settings_flag(const struct settings_table *t, void *base, int c,
                                          int *seen_list, char **argv, char *err, size_t errlen)
{
    if (c == 'h') {
        settings_usage(t, stdout);
        return SETTINGS_EXIT_OK;
    }
    if (c == 'V') {
        printf("%s %s\n", t->program, ALERT_VERSION);
        return SETTINGS_EXIT_OK;
    }
    if (c < 256) {
        settings_fail(err, errlen, "unknown or incomplete option \"%s\" (see %s --help)",
                      argv[optind - 1], t->program);
        return SETTINGS_ERROR;
    }
    const struct settings_row *r = &t->rows[c - 256];
    if (settings_apply(base, r, optarg, r->kind == SETTINGS_LIST && !(*seen_list)++, err, errlen))
        return SETTINGS_ERROR;
    return SETTINGS_OK;
}

static enum settings_result settings_load_flags(const struct settings_table *t, void *base,
                                                int argc, char **argv, char *err, size_t errlen)
{
    struct option *longopts = settings_longopts(t);
    enum settings_result rc = SETTINGS_OK;
    int seen_list = 0, c;
    if (longopts == NULL) {
        settings_fail(err, errlen, "out of memory");
        return SETTINGS_ERROR;
    }
    optind = 1;
    opterr = 0;
    while (rc == SETTINGS_OK && (c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1)
        rc = settings_flag(t, base, c, &seen_list, argv, err, errlen);
    free(longopts);
    if (rc == SETTINGS_OK && optind < argc) {
        settings_fail(err, errlen, "unexpected argument \"%s\" (see %s --help)", argv[optind],
                      t->program);
        return SETTINGS_ERROR;
    }
    return rc;
}

enum settings_result settings_load(const struct settings_table *t, void *base, int argc,
                                   char **argv, char *err, size_t errlen)
{
    const char *file = settings_file_arg(t, argc, argv);
    if (file && settings_load_file(t, base, file, err, errlen))
        return SETTINGS_ERROR;
    if (settings_load_env(t, base, err, errlen))
        return SETTINGS_ERROR;
    return settings_load_flags(t, base, argc, argv, err, errlen);
}

void settings_free(const struct settings_table *t, void *base)
{
    for (size_t i = 0; i < t->nrows; i++) {
        const struct settings_row *r = &t->rows[i];
        if (r->kind == SETTINGS_STR || r->kind == SETTINGS_ADDR)
            free(*settings_str_at(base, r));
        else if (r->kind == SETTINGS_LIST)
            settings_clear_list(base, r);
    }
    memset(base, 0, t->size);
}

const char *settings_origin_host(const char *s)
{
    if (strncmp(s, "https://", 8) == 0)
        return s + 8;
    if (strncmp(s, "http://", 7) == 0)
        return s + 7;
    return NULL;
}

int settings_origin_exact(const char *s)
{
    const char *rest = settings_origin_host(s);
    if (rest == NULL || *rest == '\0')
        return 0;
    for (; *rest; rest++)
        if (*rest == '/' || *rest == '?' || *rest == '#' || *rest == '*' ||
            isspace((unsigned char)*rest))
            return 0;
    return 1;
}
