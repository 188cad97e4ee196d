/*
 * log — see log.h. Formatting is hand-rolled rather than through jansson so
 * that logging never allocates and works before anything else is set up.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static enum log_level log_threshold = LOG_INFO;
static enum log_format log_fmt = LOG_LOGFMT;
static char log_proc[32];

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format format)
{
    log_threshold = level;
    log_fmt = format;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_JSON;
    else
        return -1;
    return 0;
}

int log_enabled(enum log_level level)
{
    return level >= log_threshold;
}

void log_set_proc(const char *name)
{
    snprintf(log_proc, sizeof(log_proc), "%s", name ? name : "");
}

/* A bounded line builder: what does not fit is cut, the line still ends. */
struct log_buf {
    char *p;
    size_t len, cap;
};

static void log_put(struct log_buf *b, const char *s, size_t n)
{
    if (n > b->cap - b->len)
        n = b->cap - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void log_puts(struct log_buf *b, const char *s)
{
    log_put(b, s, strlen(s));
}

static int log_needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
            return 1;
    }
    return 0;
}

/* Writes s quoted, with JSON escapes (which logfmt readers accept too). */
static void log_put_quoted(struct log_buf *b, const char *s)
{
    log_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            log_put(b, esc, 2);
        } else if (c == '\n') {
            log_put(b, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            log_put(b, esc, 6);
        } else {
            log_put(b, (const char *)&c, 1);
        }
    }
    log_put(b, "\"", 1);
}

static void log_put_field(struct log_buf *b, const struct log_kv *kv, int first)
{
    char num[32];
    if (log_fmt == LOG_JSON) {
        log_puts(b, first ? "" : ",");
        log_put_quoted(b, kv->key);
        log_puts(b, ":");
    } else {
        log_puts(b, first ? "" : " ");
        log_puts(b, kv->key);
        log_puts(b, "=");
    }
    const char *str = kv->str ? kv->str : "";
    if (kv->is_num) {
        snprintf(num, sizeof(num), "%lld", kv->num);
        log_puts(b, num);
    } else if (log_fmt == LOG_JSON || log_needs_quotes(str)) {
        log_put_quoted(b, str);
    } else {
        log_puts(b, str);
    }
}

void log_emit(enum log_level level, const char *msg, const struct log_kv *kv, size_t n)
{
    char line[LOG_LINE_MAX];
    /* Two bytes stay in reserve for the closing brace and the newline. */
    struct log_buf b = {line, 0, sizeof(line) - 2};
    char ts[40];
    struct timeval tv;
    struct tm tm;

    if (!log_enabled(level))
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof(ts) - tl, ".%03ldZ", (long)(tv.tv_usec / 1000));

    if (log_fmt == LOG_JSON)
        log_puts(&b, "{");
    log_put_field(&b, &KV_S("ts", ts), 1);
    log_put_field(&b, &KV_S("level", log_level_names[level]), 0);
    if (log_proc[0])
        log_put_field(&b, &KV_S("proc", log_proc), 0);
    log_put_field(&b, &KV_S("msg", msg), 0);
    for (size_t i = 0; i < n; i++)
        log_put_field(&b, &kv[i], 0);
    b.cap += 2;
    if (log_fmt == LOG_JSON)
        log_puts(&b, "}");
    log_puts(&b, "\n");
    ssize_t w = write(STDERR_FILENO, line, b.len);
    (void)w;
}
