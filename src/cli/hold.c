/*
 * hold — the embargo paths of `alert push`, `update` and `retract`; see
 * pushrun.h. An embargoed alert is held outside the stream (pending.h)
 * until a node releases it; its published_at is its release time, so that
 * readers see when it became public and an expiry is measured from then.
 */
#include "pushrun.h"

#include "pending.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hold_parse_time(struct push_run *run, char *err, size_t errlen)
{
    long long secs;
    int64_t now = item_time_now_ms(), at;
    if (options_parse_duration(run->embargo_s, &secs) == 0) {
        at = now + secs * 1000;
    } else if (item_time_parse(run->embargo_s, &at) != 0) {
        snprintf(err, errlen,
                 "--embargo-until wants a duration such as 15m or 2h, or an RFC 3339 time; "
                 "got '%.40s'",
                 run->embargo_s);
        return -1;
    }
    if (at <= now || at > now + EMBARGO_AHEAD_MAX_MS) {
        snprintf(err, errlen,
                 "--embargo-until must be in the future, at most 366 days ahead: "
                 "'%.40s' is not",
                 run->embargo_s);
        return -1;
    }
    run->due_ms = at;
    return 0;
}

/* published_at becomes the release time; an expiry must come after it.
 * Returns -1 to go on, else an exit status. */
static int hold_stamp(json_t *item, int64_t due_ms)
{
    char at[ITEM_TIME_STRLEN];
    const char *exp = json_string_value(json_object_get(item, "expires_at"));
    int64_t exp_ms;
    item_time_format(due_ms, at);
    if (exp && item_time_parse(exp, &exp_ms) == 0 && exp_ms <= due_ms) {
        cli_error("invalid item: expires_at: must be after the release time %s", at);
        return CLI_EXIT_USAGE;
    }
    if (json_object_set_new(item, "published_at", json_string(at)) != 0) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    return -1;
}

/* Exit status for a failed script call. */
static int hold_failed(const struct push_run *run, const char *where, int rc, const char *err)
{
    switch (rc) {
    case PENDING_ERR_HANDLE:
    case PENDING_ERR_INPUT:
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    case PENDING_ERR_UNKNOWN:
        cli_error("%s: the request was sent but Redis did not answer (%s): it may have been "
                  "done. Retry with --key %s to do it at most once.",
                  where, err, run->key);
        return CLI_EXIT_UNKNOWN;
    default:
        cli_error("%s: %s; nothing was changed", where, err);
        return CLI_EXIT_REDIS;
    }
}

/* Prints the handle (or what a known key recorded) and says what it means. */
static int hold_report(const struct push_run *run, const struct pending_result *res, int64_t due_ms)
{
    char at[ITEM_TIME_STRLEN];
    item_time_format(due_ms, at);
    printf("%s\n", res->value);
    if (res->state == PENDING_DUPLICATE)
        cli_error("note: --key %s was already used for %s; nothing new was done", run->key,
                  res->value);
    else if (res->state == PENDING_CANCELLED)
        cli_error("note: embargoed alert %s cancelled; it was never published", res->value);
    else
        cli_error("note: embargoed until %s; the first alertd node running then publishes it "
                  "(alert list --embargoed shows it until then)",
                  at);
    return cli_flush_stdout(CLI_EXIT_OK);
}

/* Stamps, signs (with --sign-key) and encodes the item, then holds it or
 * replaces the pending one. */
static int hold_store(struct push_run *run, redisContext *c, const char *where, json_t *item,
                      int replace, struct pending_result *res)
{
    struct item_error ierr;
    char err[CLI_ERRLEN], handle[EMBARGO_HANDLE_STRLEN];
    size_t len;
    int status;
    if ((status = hold_stamp(item, run->due_ms)) >= 0 || (status = pushsend_ensure_key(run)) >= 0 ||
        (status = pushsend_sign(run, item, run->due_ms)) >= 0)
        return status;
    char *enc = pushsend_encode(item, &len, &ierr);
    if (enc == NULL)
        return pushsend_invalid(&ierr);
    if (!replace && pending_new_handle(handle) != 0) {
        free(enc);
        cli_error("no random bytes for an embargo handle");
        return CLI_EXIT_FAIL;
    }
    struct pending_request req = {
        .prefix = run->common.prefix,
        .handle = replace ? run->ref : handle,
        .due_ms = run->due_ms,
        .item = enc,
        .item_len = len,
        .maxlen = run->maxlen,
        .idem_key = run->key,
    };
    int rc = replace ? pending_change(c, &req, res, err, sizeof(err))
                     : pending_hold(c, &req, res, err, sizeof(err));
    free(enc);
    return rc == PENDING_OK ? -1 : hold_failed(run, where, rc, err);
}

int hold_push(struct push_run *run, redisContext *c, const char *where, json_t *item)
{
    struct pending_result res;
    int status = hold_store(run, c, where, item, 0, &res);
    return status >= 0 ? status : hold_report(run, &res, run->due_ms);
}

/* The pending alert was released as `id`: the caller goes on with it. */
static int hold_released(struct push_run *run, const char *id)
{
    if (run->embargo_s) {
        cli_error("%s was released as %s already: it cannot be embargoed again", run->ref, id);
        return CLI_EXIT_USAGE;
    }
    cli_error("note: %s was released as %s; %s that", run->ref, id,
              strcmp(run->kind, "update") == 0 ? "updating" : "retracting");
    snprintf(run->root, sizeof(run->root), "%s", id);
    run->ref = run->root;
    return -1;
}

static int hold_cancel(struct push_run *run, redisContext *c, const char *where)
{
    struct pending_result res;
    char err[CLI_ERRLEN];
    int status = pushsend_ensure_key(run);
    if (status >= 0)
        return status;
    struct pending_request req = {
        .prefix = run->common.prefix, .handle = run->ref, .cancel = 1, .idem_key = run->key};
    int rc = pending_change(c, &req, &res, err, sizeof(err));
    if (rc != PENDING_OK)
        return hold_failed(run, where, rc, err);
    if (res.state == PENDING_RELEASED)
        return hold_released(run, res.value);
    return hold_report(run, &res, 0);
}

/* A replacement starts from the pending alert, as an update starts from
 * the alert it revises; it stays version 1 of a new alert. */
static int hold_replace(struct push_run *run, redisContext *c, const char *where)
{
    struct pending_result res;
    struct item_error ierr;
    enum pending_state state;
    json_t *base = NULL, *item = NULL;
    char err[CLI_ERRLEN], released[ITEM_ID_STRLEN];
    int64_t due = 0;
    int rc = pending_fetch(c, run->common.prefix, run->ref, &state, &base, &due, released, err,
                           sizeof(err));
    if (rc != PENDING_OK)
        return hold_failed(run, where, rc, err);
    if (state == PENDING_RELEASED)
        return hold_released(run, released);
    if (run->due_ms == 0)
        run->due_ms = due;
    json_object_del(base, "published_at");
    const char *text = run->text_len >= 0 ? run->text : NULL;
    item =
        options_build(&run->opts, base, text, text ? (size_t)run->text_len : 0, NULL, NULL, &ierr);
    json_decref(base);
    if (item == NULL)
        return pushsend_invalid(&ierr);
    int status = hold_store(run, c, where, item, 1, &res);
    json_decref(item);
    if (status >= 0)
        return status;
    if (res.state == PENDING_RELEASED) /* released since it was read */
        return hold_released(run, res.value);
    return hold_report(run, &res, run->due_ms);
}

int hold_change(struct push_run *run, redisContext *c, const char *where)
{
    return strcmp(run->kind, "retraction") == 0 ? hold_cancel(run, c, where)
                                                : hold_replace(run, c, where);
}
