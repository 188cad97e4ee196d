/*
 * pushsend — see pushrun.h: the publishing half of a run of `alert push`,
 * `update` and `retract`, once the item is built. An idempotency key made
 * when --key is not given, the signature (--sign-key) within readers'
 * freshness window, the encoding the publish script reads, the publish
 * itself (signed again when another update took the version), the outcome
 * printed, and --durable's wait for the replicas.
 *
 * Apart from push.c (arguments, the item and what an update starts from)
 * because hold.c needs the same steps for an embargoed alert, and neither
 * calls the other for them.
 */
#include "itemsig.h"
#include "publish.h"
#include "pushrun.h"
#include "stats.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSHSEND_SIGN_TRIES 4 /* publishes of a signed update whose version moved meanwhile */

/* Reports an item error the way every subcommand does; CLI_EXIT_USAGE. */
int pushsend_invalid(const struct item_error *e)
{
    if (e->field[0])
        cli_error("invalid item: %s: %s", e->field, e->message);
    else
        cli_error("invalid item: %s", e->message);
    return CLI_EXIT_USAGE;
}

/* The encoding that is published: "version" (which the item has) first,
 * as the script reads it, then the item's members in order. NULL with *err. */
char *pushsend_encode(const json_t *item, size_t *len, struct item_error *err)
{
    json_t *o = json_object();
    char *enc = NULL;

    memset(err, 0, sizeof(*err));
    if (o == NULL || json_object_set(o, "version", json_object_get(item, "version")) != 0 ||
        json_object_update_missing(o, (json_t *)item) != 0 || (enc = item_encode(o, len)) == NULL) {
        snprintf(err->message, sizeof(err->message), "out of memory");
    } else if (*len + PUBLISH_ID_OVERHEAD > ITEM_MAX_BYTES) {
        snprintf(err->message, sizeof(err->message),
                 "%zu bytes encoded; with its id an item must fit in %d bytes", *len,
                 ITEM_MAX_BYTES);
        free(enc);
        enc = NULL;
    }
    json_decref(o);
    return enc;
}

/* Without --key, a fresh random key: every publish is then safe to retry
 * (the script publishes at most once per key within 24 h). */
int pushsend_ensure_key(struct push_run *run)
{
    unsigned char r[16];
    if (run->key)
        return -1;
    if (RAND_bytes(r, sizeof(r)) != 1) {
        cli_error("no random bytes for an idempotency key: give one with --key");
        return CLI_EXIT_FAIL;
    }
    int n = snprintf(run->auto_key, sizeof(run->auto_key), "auto-");
    for (size_t i = 0; i < sizeof(r); i++)
        n += snprintf(run->auto_key + n, sizeof(run->auto_key) - (size_t)n, "%02x", r[i]);
    run->key = run->auto_key;
    return -1;
}

/* With --durable: waits for the replicas. Returns the exit status of a
 * publish that succeeded (the id is printed either way). */
static int pushsend_durable(const struct push_run *run, redisContext *c, const char *where,
                            const struct publish_result *res)
{
    char err[CLI_ERRLEN];
    long long confirmed;

    if (!run->durable)
        return CLI_EXIT_OK;
    if (publish_wait(c, (int)run->replicas, run->durable_timeout, &confirmed, err, sizeof(err)) !=
        0) {
        cli_error("%s: %s published, but its copy on the replicas is not confirmed (%s). "
                  "Retry with --key %s --durable to check again.",
                  where, res->id, err, run->key);
        return CLI_EXIT_NOT_DURABLE;
    }
    if (confirmed < run->replicas) {
        cli_error("%s: %s published, but %lld of the %ld replicas asked for confirmed it "
                  "within %ld ms. Retry with --key %s --durable to check again.",
                  where, res->id, confirmed, run->replicas, run->durable_timeout, run->key);
        return CLI_EXIT_NOT_DURABLE;
    }
    return CLI_EXIT_OK;
}

/* Prints the outcome; returns the exit status. */
static int pushsend_report(const struct push_run *run, redisContext *c, const char *where,
                           const struct publish_result *res)
{
    printf("%s\n", res->id);
    if (res->duplicate)
        cli_error("note: --key %s was already used for %s; nothing new was published", run->key,
                  res->id);
    else if (res->subscribers == 0)
        cli_error("warning: no alertd node is subscribed; the alert is stored and nodes will "
                  "catch up");
    int status = cli_flush_stdout(CLI_EXIT_OK);
    return status == CLI_EXIT_OK ? pushsend_durable(run, c, where, res) : status;
}

int pushsend_sign(const struct push_run *run, json_t *item, int64_t public_ms)
{
    char err[CLI_ERRLEN];
    int64_t at;
    if (run->sign_key == NULL)
        return -1;
    /* Readers take a signed alert only within their freshness window of
     * published_at (PROTOCOL.md): one signed outside it would be refused. */
    if (item_time_parse(json_string_value(json_object_get(item, "published_at")), &at) == 0) {
        long long off = (long long)(public_ms - at) / 1000;
        if (off > ITEMSIG_MAX_AGE_SEC || -off > ITEMSIG_MAX_AGE_SEC) {
            cli_error("invalid item: published_at: %lld s %s it is published; readers that verify "
                      "signatures would reject it as stale (more than %d s): leave "
                      "published_at out to sign it as of now",
                      off < 0 ? -off : off, off < 0 ? "after" : "before", ITEMSIG_MAX_AGE_SEC);
            return CLI_EXIT_USAGE;
        }
    }
    if (itemsig_sign(item, run->sign_key, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_FAIL;
    }
    return -1;
}

/* Signs (with --sign-key), encodes and publishes the item once; returns
 * -1 with the outcome of publish_item in *rc, else an exit status. */
static int pushsend_once(struct push_run *run, redisContext *c, json_t *item,
                         struct publish_request *req, struct publish_result *res, int *rc,
                         char *err, size_t errlen)
{
    struct item_error ierr;
    size_t len;
    /* The script reads the version first: a retraction gets 1 before it is signed. */
    if (json_object_get(item, "version") == NULL &&
        json_object_set_new(item, "version", json_integer(1)) != 0) {
        cli_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    int status = pushsend_sign(run, item, item_time_now_ms());
    if (status >= 0)
        return status;
    char *enc = pushsend_encode(item, &len, &ierr);
    if (enc == NULL)
        return pushsend_invalid(&ierr);
    req->item = enc;
    req->item_len = len;
    *rc = publish_item(c, req, res, err, errlen);
    free(enc);
    req->item = NULL;
    return -1;
}

int pushsend_publish(struct push_run *run, redisContext *c, const char *where, json_t *item)
{
    struct publish_result res;
    char err[CLI_ERRLEN];
    int rc = PUBLISH_ERR_INPUT, status;
    struct publish_request req = {
        .prefix = run->common.prefix,
        .kind = json_string_value(json_object_get(item, "kind")),
        .ref = json_string_value(json_object_get(item, "ref")),
        .idem_key = run->key,
        .maxlen = run->maxlen,
        .durable = run->durable,
        .signed_item = run->sign_key != NULL,
    };
    if (req.kind == NULL)
        req.kind = "alert";
    if ((status = pushsend_ensure_key(run)) >= 0)
        return status;
    req.idem_key = run->key;
    /* The script gives an unsigned update the next version of its story;
     * a signed one carries it, so when another update took the version
     * this one was signed with, it is signed again with the one now due. */
    for (int tries = 1;; tries++) {
        status = pushsend_once(run, c, item, &req, &res, &rc, err, sizeof(err));
        if (status >= 0)
            return status;
        if (rc != PUBLISH_ERR_VERSION || tries == PUSHSEND_SIGN_TRIES)
            break;
        if (json_object_set_new(item, "version", json_integer((json_int_t)res.version)) != 0) {
            cli_error("out of memory");
            return CLI_EXIT_FAIL;
        }
    }
    switch (rc) {
    case PUBLISH_OK:
        rc = pushsend_report(run, c, where, &res);
        if (rc == CLI_EXIT_OK && run->wait_ms)
            rc = stats_after_wait(c, run->common.prefix, res.id, run->wait_ms, where);
        return rc;
    case PUBLISH_ERR_REF:
        cli_error("%s: no such alert in history", req.ref ? req.ref : "?");
        return CLI_EXIT_USAGE;
    case PUBLISH_ERR_INPUT:
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    case PUBLISH_ERR_UNKNOWN:
        cli_error("%s: the alert was sent but Redis did not answer (%s): it may have been "
                  "published. Retry with --key %s to publish it at most once.",
                  where, err, req.idem_key);
        return CLI_EXIT_UNKNOWN;
    default:
        cli_error("%s: %s; nothing was published", where, err);
        return CLI_EXIT_REDIS;
    }
}
