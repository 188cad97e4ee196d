/*
 * log — structured, levelled logging to stderr, shared by both programs.
 *
 * Every line is one event: a message and typed key=value fields, written
 * either as logfmt (default) or as one JSON object. A line is formatted into
 * a local buffer and written with a single write(2), so lines from several
 * worker processes sharing stderr do not interleave.
 *
 *     log_info("listening on https://127.0.0.1:8443", KV_S("addr", addr), KV_I("port", port));
 *
 * Callers pass at least one field. Strings are copied while formatting: the
 * caller keeps ownership of everything it passes.
 */
#ifndef ALERT_LOG_H
#define ALERT_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_LOGFMT, LOG_JSON };

struct log_kv {
    const char *key;
    const char *str; /* string value (NULL prints as ""), unless is_num */
    long long num;
    int is_num;
};

#define KV_S(k, v) ((struct log_kv){(k), (v), 0, 0})
#define KV_I(k, v) ((struct log_kv){(k), NULL, (long long)(v), 1})

/* Sets the threshold and output format; the defaults are info and logfmt. */
void log_setup(enum log_level level, enum log_format format);
/* Parses "debug|info|warn|error" / "logfmt|json"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);
int log_enabled(enum log_level level);
/* Tags every later line with proc=<name> (e.g. "worker-1"); NULL removes it. */
void log_set_proc(const char *name);

void log_emit(enum log_level level, const char *msg, const struct log_kv *kv, size_t n);

#define LOG_KVS_(level, msg, ...)                                                                  \
    log_emit((level), (msg), (const struct log_kv[]){__VA_ARGS__},                                 \
             sizeof((const struct log_kv[]){__VA_ARGS__}) / sizeof(struct log_kv))
#define log_debug(msg, ...) LOG_KVS_(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)  LOG_KVS_(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  LOG_KVS_(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) LOG_KVS_(LOG_ERROR, msg, __VA_ARGS__)

#endif
