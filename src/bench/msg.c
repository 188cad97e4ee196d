/*
 * msg — see msg.h.
 */
#include "msg.h"

#include "item.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MSG_SUMMARY_MAX 1000 /* proto/alert.schema.json: summary maxLength */

/* Writes `n` filler characters: news prose rather than a short cycle, so
 * that a compressed message (--deflate) shrinks as a real alert's text
 * would; longer than a summary may be (1000), so it does not repeat within
 * one. Plain ASCII: a character is a byte. */
static void msg_pad(char *p, size_t n)
{
    static const char filler[] =
        "Residents of three coastal towns were told to move to higher ground on Tuesday after "
        "a strong earthquake struck about 80 km offshore at a depth of 10 km, the national "
        "seismology agency said. Waves of up to one metre were possible within the hour. "
        "Ferries stayed in port, schools across the region closed for the day and two "
        "hospitals moved patients from their lower floors as a precaution. There were no "
        "immediate reports of casualties or serious damage, but power was cut to some 12,000 "
        "homes and the main coast road was closed north of the harbour while engineers "
        "inspected a bridge. The regional governor asked people to stay away from beaches and "
        "river mouths until the warning is lifted and to follow instructions from emergency "
        "services. Aftershocks of magnitude 4 and above were felt in the capital, 200 km away, "
        "where office workers briefly left buildings. The agency said it would give an update "
        "at noon local time; the railway operator suspended services on two lines pending "
        "checks of the track. Neighbouring countries said they were monitoring sea levels and "
        "had not issued warnings of their own. Seismologists said the quake was the strongest "
        "in the area since 1998 and that further tremors were likely over the coming days. ";
    for (size_t i = 0; i < n; i++)
        p[i] = filler[i % (sizeof(filler) - 1)];
}

static int msg_build_alertd(char *out, size_t cap, const struct msg_tag *t, size_t size)
{
    char head[128], tail[96];
    int hl = snprintf(head, sizeof(head),
                      "{\"headline\":\"alert-bench %lld\",\"urgency\":\"flash\",\"summary\":\"",
                      (long long)t->seq);
    int tl = snprintf(tail, sizeof(tail), "\",\"ext\":{\"bench_ns\":%lld,\"seq\":%lld,\"run\":%lld",
                      (long long)t->bench_ns, (long long)t->seq, (long long)t->run);
    size_t fixed = (size_t)hl + (size_t)tl + 2 + MSG_ALERTD_OVERHEAD; /* "}}" */
    size_t pad = size > fixed ? size - fixed : 0;
    size_t in_summary = pad < MSG_SUMMARY_MAX ? pad : MSG_SUMMARY_MAX;
    size_t in_ext = pad - in_summary;
    if (in_ext > 0)
        in_ext = in_ext > 9 ? in_ext - 9 : 0; /* ,"pad":"" */
    size_t len = fixed - MSG_ALERTD_OVERHEAD + in_summary + (in_ext ? in_ext + 9 : 0);
    if (len + 1 > cap)
        return -1;
    char *p = out;
    memcpy(p, head, (size_t)hl), p += hl;
    msg_pad(p, in_summary), p += in_summary;
    memcpy(p, tail, (size_t)tl), p += tl;
    if (in_ext) {
        memcpy(p, ",\"pad\":\"", 8), p += 8;
        msg_pad(p, in_ext), p += in_ext;
        *p++ = '"';
    }
    *p++ = '}', *p++ = '}', *p = '\0';
    return (int)(p - out);
}

static int msg_build_publish(char *out, size_t cap, const struct msg_tag *t, size_t size)
{
    char when[ITEM_TIME_STRLEN], head[320], tail[128];
    item_time_format(t->bench_ns / 1000000, when);
    int hl = snprintf(head, sizeof(head),
                      "{\"type\":\"alert\",\"alert\":{\"id\":\"bench-%lld\",\"kind\":\"alert\","
                      "\"version\":1,\"urgency\":\"flash\",\"lang\":\"en\",\"published_at\":\"%s\","
                      "\"headline\":\"alert-bench %lld\",\"summary\":\"",
                      (long long)t->seq, when, (long long)t->seq);
    int tl =
        snprintf(tail, sizeof(tail), "\",\"ext\":{\"bench_ns\":%lld,\"seq\":%lld,\"run\":%lld}}}",
                 (long long)t->bench_ns, (long long)t->seq, (long long)t->run);
    size_t fixed = (size_t)hl + (size_t)tl;
    size_t pad = size > fixed ? size - fixed : 0;
    if (fixed + pad + 1 > cap)
        return -1;
    memcpy(out, head, (size_t)hl);
    msg_pad(out + hl, pad);
    memcpy(out + hl + pad, tail, (size_t)tl + 1);
    return (int)(fixed + pad);
}

int msg_build(char *out, size_t cap, enum msg_mode mode, const struct msg_tag *tag, size_t size)
{
    if (size < MSG_MIN_SIZE || size > (mode == MSG_ALERTD ? MSG_ALERTD_MAX_SIZE : MSG_MAX_SIZE))
        return -1;
    if (mode == MSG_ALERTD)
        return msg_build_alertd(out, cap, tag, size);
    return msg_build_publish(out, cap, tag, size);
}

int64_t msg_run_id(void)
{
    uint64_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (uint64_t)getpid() * 2654435761u ^ (uint64_t)time(NULL);
    return (int64_t)(r & ((1ULL << 53) - 1)) | 1; /* exact in a JSON double, never 0 */
}

/* The non-negative integer right after `key` (which ends with ':'), spaces
 * allowed before it; -1 if absent or not a number. */
static int64_t msg_number_after(const char *p, size_t n, const char *key, size_t keylen)
{
    const char *k = memmem(p, n, key, keylen);
    if (k == NULL)
        return -1;
    const char *q = k + keylen, *end = p + n;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    int64_t v = 0;
    int digits = 0;
    for (; q < end && *q >= '0' && *q <= '9' && digits < 19; q++, digits++)
        v = v * 10 + (*q - '0');
    if (digits == 0 || (q < end && *q >= '0' && *q <= '9'))
        return -1;
    return v;
}

int msg_scan(const char *p, size_t n, struct msg_tag *tag)
{
    static const char kb[] = "\"bench_ns\":", ks[] = "\"seq\":", kr[] = "\"run\":";
    if ((tag->bench_ns = msg_number_after(p, n, kb, sizeof(kb) - 1)) < 0 ||
        (tag->seq = msg_number_after(p, n, ks, sizeof(ks) - 1)) < 0 ||
        (tag->run = msg_number_after(p, n, kr, sizeof(kr) - 1)) < 0)
        return -1;
    return 0;
}
