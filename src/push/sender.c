/*
 * sender — see sender.h.
 */
#include "sender.h"

#include "apns.h"
#include "fcm.h"
#include "itemtime.h"
#include "log.h"
#include "pmetrics.h"
#include "webpush.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sender_queue {
    struct dsend *head, *tail;
    int flying;
};

struct sender {
    struct gw *gw;
    sender_result_fn result;
    void *user;
    struct sender_queue q[REG_NPROVIDERS];
    struct dsend *waiting;   /* retries, unordered */
    struct dsend *for_token; /* FCM sends waiting for an access token */
    uv_timer_t timer;
    uint64_t rng;
};

static void sender_pump(struct sender *t);

static uint64_t sender_random(struct sender *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

static uint64_t sender_now_ms(void)
{
    return (uint64_t)item_time_now_ms();
}

static void sender_push_back(struct sender_queue *q, struct dsend *s)
{
    s->next = NULL;
    if (q->tail)
        q->tail->next = s;
    else
        q->head = s;
    q->tail = s;
}

static void sender_push_front(struct sender_queue *q, struct dsend *s)
{
    s->next = q->head;
    q->head = s;
    if (q->tail == NULL)
        q->tail = s;
}

void sender_add(struct sender *t, struct dsend *s)
{
    s->attempts = s->reauthed = 0;
    sender_push_back(&t->q[s->reg.provider], s);
    sender_pump(t);
}

static void sender_on_timer(uv_timer_t *timer)
{
    struct sender *t = timer->data;
    uint64_t now = sender_now_ms(), next = 0;
    struct dsend **pp = &t->waiting;
    while (*pp) {
        struct dsend *s = *pp;
        if (s->due_ms <= now) {
            *pp = s->next;
            sender_push_back(&t->q[s->reg.provider], s);
            continue;
        }
        if (next == 0 || s->due_ms < next)
            next = s->due_ms;
        pp = &s->next;
    }
    if (next)
        uv_timer_start(&t->timer, sender_on_timer, next - now, 0);
    sender_pump(t);
}

/* Retry-After: seconds or an HTTP date; 0 when absent or past. */
static uint64_t sender_retry_after(const char *v, uint64_t now)
{
    char *end;
    unsigned long secs;
    time_t at;
    if (v == NULL || *v == '\0')
        return 0;
    secs = strtoul(v, &end, 10);
    if (*end == '\0')
        return (uint64_t)secs * 1000;
    at = curl_getdate(v, NULL);
    return at > 0 && (uint64_t)at * 1000 > now ? (uint64_t)at * 1000 - now : 0;
}

/* Tries again later, or gives up: 1 when scheduled. */
static int sender_retry(struct sender *t, struct dsend *s, const char *retry_after)
{
    uint64_t now = sender_now_ms(), cap, delay, floor_ms = sender_retry_after(retry_after, now);
    cap = (uint64_t)SENDER_BACKOFF_MS << (s->attempts < 16 ? s->attempts : 16);
    if (cap > SENDER_BACKOFF_MAXMS)
        cap = SENDER_BACKOFF_MAXMS;
    delay = sender_random(t) % (cap + 1);
    if (delay < floor_ms)
        delay = floor_ms;
    if (s->attempts >= SENDER_MAX_ATTEMPTS || (int64_t)(now + delay) >= s->pa->n.expires_ms)
        return 0;
    s->due_ms = now + delay;
    s->next = t->waiting;
    t->waiting = s;
    if (!uv_is_active((uv_handle_t *)&t->timer) || uv_timer_get_due_in(&t->timer) > delay)
        uv_timer_start(&t->timer, sender_on_timer, delay, 0);
    return 1;
}

/* Not sent (again): its story was retracted. */
static void sender_cancelled(struct sender *t, struct dsend *s)
{
    pmetrics.by[s->reg.provider].cancelled++;
    t->result(s, SENDER_CANCELLED, t->user);
}

/* A try that got no answer worth keeping: again later, or given up. */
static void sender_again(struct sender *t, struct dsend *s, long status, const char *retry_after,
                         const char *error)
{
    const char *provider = reg_provider_name(s->reg.provider);
    if (*s->cancelled) {
        t->result(s, SENDER_DROPPED, t->user);
        return;
    }
    if (s->pa->retracted) {
        sender_cancelled(t, s);
        return;
    }
    if (sender_retry(t, s, retry_after)) {
        pmetrics.by[s->reg.provider].retried++;
        log_debug("retrying", KV_S("provider", provider), KV_S("registration", s->reg.id),
                  KV_I("status", status), KV_S("error", status ? "" : error));
        return;
    }
    pmetrics.by[s->reg.provider].failed++;
    log_warn("notification given up", KV_S("provider", provider), KV_S("alert", s->pa->n.id),
             KV_S("registration", s->reg.id), KV_I("status", status),
             KV_S("error", status ? "" : error), KV_I("attempts", s->attempts));
    t->result(s, SENDER_FAILED, t->user);
}

/* The credential that signed the request expired: renewed, tried again. */
static void sender_reauth(struct sender *t, struct dsend *s, unsigned gen, long status)
{
    if (*s->cancelled) {
        t->result(s, SENDER_DROPPED, t->user);
        return;
    }
    if (s->pa->retracted) {
        sender_cancelled(t, s);
        return;
    }
    if (s->reauthed) {
        pmetrics.by[s->reg.provider].refused++;
        log_error("the provider refuses the gateway's credentials",
                  KV_S("provider", reg_provider_name(s->reg.provider)), KV_I("status", status));
        t->result(s, SENDER_REFUSED, t->user);
        return;
    }
    s->reauthed = 1;
    pmetrics.by[s->reg.provider].reauths++;
    if (s->reg.provider == REG_APNS)
        apns_expired(&t->gw->apns, gen);
    else
        oauth_expired(&t->gw->fcm.oauth, gen);
    sender_push_front(&t->q[s->reg.provider], s);
}

static enum push_outcome sender_judge(const struct dsend *s, long status, const char *answer,
                                      size_t len)
{
    switch (s->reg.provider) {
    case REG_APNS:
        return apns_outcome(status, answer, len);
    case REG_FCM:
        return fcm_outcome(status, answer, len);
    default:
        return webpush_outcome(status);
    }
}

static void sender_on_answer(struct h2_req *req, long status, const char *retry_after,
                             CURLcode code, const char *error)
{
    struct dsend *s = req->user;
    struct sender *t = s->sender;
    enum push_outcome o = sender_judge(s, status, req->answer, req->answer_len);
    unsigned gen = s->msg.gen;
    (void)code;
    push_msg_free(&s->msg);
    t->q[s->reg.provider].flying--;
    pmetrics.in_flight--;
    if (*s->cancelled && status == 0)
        o = PUSH_RETRY; /* cancelled mid-flight: dropped, not final */
    switch (o) {
    case PUSH_DONE:
        pmetrics.by[s->reg.provider].sent++;
        t->result(s, SENDER_SENT, t->user);
        break;
    case PUSH_GONE:
        pmetrics.by[s->reg.provider].removed++;
        t->result(s, SENDER_GONE, t->user);
        break;
    case PUSH_REFUSED:
        pmetrics.by[s->reg.provider].refused++;
        log_warn("push service refused a notification",
                 KV_S("provider", reg_provider_name(s->reg.provider)), KV_S("alert", s->pa->n.id),
                 KV_S("registration", s->reg.id), KV_I("status", status));
        t->result(s, SENDER_REFUSED, t->user);
        break;
    case PUSH_REAUTH:
        sender_reauth(t, s, gen, status);
        break;
    case PUSH_RETRY:
        sender_again(t, s, status, retry_after, error);
        break;
    }
    sender_pump(t);
}

/* The request of one send, by its provider: 0, 1 when it waits for an
 * access token, or -1. */
static int sender_build(struct sender *t, struct dsend *s, int64_t now)
{
    struct gw *gw = t->gw;
    const char *token;
    unsigned gen;
    switch (s->reg.provider) {
    case REG_APNS:
        return gw->apns.key ? apns_build(&s->msg, &gw->apns, &s->pa->n, s->pa->apns, &s->reg,
                                         (time_t)(now / 1000))
                            : -1;
    case REG_FCM:
        if (gw->fcm.oauth.acct.key == NULL)
            return -1;
        if ((token = oauth_token(&gw->fcm.oauth, now, &gen)) == NULL) {
            if (oauth_fetch(&gw->fcm.oauth, now))
                return -1;
            s->next = t->for_token;
            t->for_token = s;
            return 1;
        }
        return fcm_build(&s->msg, &gw->fcm, &s->pa->n, s->pa->fcm, &s->reg, token, gen, now);
    default:
        return webpush_build(&s->msg, &gw->vapid, gw->ece, &s->pa->n, &s->reg, now);
    }
}

int64_t sender_clock_ms(void)
{
    return (int64_t)(uv_hrtime() / 1000000);
}

static void sender_send(struct sender *t, struct dsend *s)
{
    int64_t now = item_time_now_ms();
    int rc;
    if (s->pa->retracted) {
        sender_cancelled(t, s); /* marked before its story's retraction was seen */
        return;
    }
    if (sender_clock_ms() >= *s->lease) {
        t->result(s, SENDER_HELD, t->user); /* fenced: the job may be another's */
        return;
    }
    rc = sender_build(t, s, now);
    if (rc == 1)
        return;
    s->attempts++;
    if (rc) {
        pmetrics.by[s->reg.provider].failed++;
        log_error("cannot build a request", KV_S("provider", reg_provider_name(s->reg.provider)),
                  KV_S("registration", s->reg.id));
        t->result(s, SENDER_FAILED, t->user);
        return;
    }
    memset(&s->req, 0, sizeof(s->req));
    s->sender = t;
    s->req.url = s->msg.url;
    s->req.headers = s->msg.headers;
    s->req.body = s->msg.body;
    s->req.len = s->msg.len;
    s->req.done = sender_on_answer;
    s->req.user = s;
    t->q[s->reg.provider].flying++;
    pmetrics.in_flight++;
    if (h2_post(t->gw->h2, &s->req)) {
        push_msg_free(&s->msg);
        t->q[s->reg.provider].flying--;
        pmetrics.in_flight--;
        sender_again(t, s, 0, "", "cannot start the request");
        return;
    }
    s->written = 1;
}

static void sender_pump(struct sender *t)
{
    int more = 1;
    while (more) {
        more = 0;
        for (int p = 0; p < REG_NPROVIDERS; p++) {
            struct sender_queue *q = &t->q[p];
            struct dsend *s = q->head;
            if (s == NULL || q->flying >= t->gw->cfg->concurrency)
                continue;
            if ((q->head = s->next) == NULL)
                q->tail = NULL;
            sender_send(t, s);
            more = 1;
        }
    }
}

/* oauth's fetch ended: the sends waiting for it go on, or wait again. */
static void sender_on_token(void *user, int ok, const char *why)
{
    struct sender *t = user;
    struct dsend *s = t->for_token, *next;
    t->for_token = NULL;
    if (!ok)
        log_warn("no FCM access token", KV_S("reason", why));
    for (; s; s = next) {
        next = s->next;
        if (ok) {
            sender_push_front(&t->q[REG_FCM], s);
            continue;
        }
        s->attempts++;
        sender_again(t, s, 0, "", why);
    }
    sender_pump(t);
}

int sender_prepare(const struct gw *gw, struct push_alert *pa)
{
    if (gw->apns.key && (pa->apns = apns_prepare(&pa->n)) == NULL)
        return -1;
    if (gw->fcm.oauth.acct.key && (pa->fcm = fcm_prepare(&pa->n)) == NULL)
        return -1;
    return 0;
}

static int sender_of_owner(const struct dsend *s, const void *owner)
{
    return s->owner == owner;
}

static int sender_of_alert(const struct dsend *s, const void *pa)
{
    return s->pa == pa;
}

/* Moves the sends `match` takes from a list to *out; returns how many. */
static int sender_take(struct dsend **head, struct dsend **tail,
                       int (*match)(const struct dsend *, const void *), const void *key,
                       struct dsend **out)
{
    struct dsend *last = NULL;
    int n = 0;
    for (struct dsend **pp = head; *pp;) {
        struct dsend *s = *pp;
        if (match(s, key)) {
            *pp = s->next;
            s->next = *out;
            *out = s;
            n++;
            continue;
        }
        last = s;
        pp = &s->next;
    }
    if (tail)
        *tail = last;
    return n;
}

/* Every send not in flight that `match` takes, moved to *out. */
static int sender_take_all(struct sender *t, int (*match)(const struct dsend *, const void *),
                           const void *key, struct dsend **out)
{
    int n = sender_take(&t->waiting, NULL, match, key, out) +
            sender_take(&t->for_token, NULL, match, key, out);
    for (int p = 0; p < REG_NPROVIDERS; p++)
        n += sender_take(&t->q[p].head, &t->q[p].tail, match, key, out);
    return n;
}

int sender_drop(struct sender *t, const void *owner, struct dsend **out)
{
    return sender_take_all(t, sender_of_owner, owner, out);
}

int sender_cancel(struct sender *t, const struct push_alert *pa)
{
    struct dsend *taken = NULL, *next;
    int n = sender_take_all(t, sender_of_alert, pa, &taken);
    for (struct dsend *s = taken; s; s = next) {
        next = s->next; /* s may be freed by its result */
        sender_cancelled(t, s);
    }
    return n;
}

struct sender *sender_new(struct gw *gw, sender_result_fn result, void *user)
{
    struct sender *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->gw = gw;
    t->result = result;
    t->user = user;
    t->rng = ((uint64_t)item_time_now_ms() * 2654435761u) ^ ((uint64_t)getpid() << 32) ^ 1;
    if (t->rng == 0)
        t->rng = 1;
    uv_timer_init(gw->loop, &t->timer);
    t->timer.data = t;
    if (gw->fcm.oauth.acct.key)
        oauth_start(&gw->fcm.oauth, gw->h2, sender_on_token, t);
    return t;
}

static void sender_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void sender_free(struct sender *t)
{
    uv_close((uv_handle_t *)&t->timer, sender_timer_closed);
}
