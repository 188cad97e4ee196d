/*
 * test_providers — APNs and FCM: device-token registrations, the bodies
 * made once per alert, a device's request, a retraction's messages that
 * show nothing, and what each answer means.
 */
#include "apns.h"
#include "fcm.h"
#include "h2.h"
#include "reg.h"
#include "test.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define NOW 1800000000000LL /* 2027-01-15 */
#define ALL (REG_BIT(REG_WEBPUSH) | REG_BIT(REG_APNS) | REG_BIT(REG_FCM))

static int parse(const char *body, unsigned providers, struct reg *r, struct item_error *err)
{
    static struct reg_hosts hosts = {{"127.0.0.1"}, 1};
    return reg_parse_request(body, strlen(body), &hosts, providers, r, err);
}

static void test_device_token_registrations(void)
{
    struct reg a, b;
    struct item_error err;
    char body[600], hex[65];
    for (int i = 0; i < 64; i++)
        hex[i] = "0123456789ABCDEF"[i % 16];
    hex[64] = '\0';
    snprintf(body, sizeof(body), "{\"provider\":\"apns\",\"token\":\"%s\",\"topics\":[\"world\"]}",
             hex);
    ASSERT_EQ(parse(body, ALL, &a, &err), 0);
    ASSERT_EQ(a.provider, REG_APNS);
    ASSERT_EQ(strncmp(a.endpoint, "0123456789abcdef", 16), 0); /* lower case */
    snprintf(body, sizeof(body), "{\"provider\":\"fcm\",\"token\":\"%s\"}", hex);
    ASSERT_EQ(parse(body, ALL, &b, &err), 0);
    ASSERT_TRUE(strcmp(a.id, b.id) != 0); /* the provider is part of the id */
    ASSERT_EQ(parse(body, REG_BIT(REG_WEBPUSH), &b, &err), -1);
    ASSERT_STR_EQ(err.field, "provider");
    ASSERT_CONTAINS(err.message, "not configured");
    ASSERT_EQ(parse("{\"provider\":\"apns\",\"token\":\"abc\"}", ALL, &b, &err), -1);
    ASSERT_STR_EQ(err.field, "token");
    ASSERT_EQ(parse("{\"provider\":\"fcm\",\"token\":\"a b\"}", ALL, &b, &err), -1);
    ASSERT_STR_EQ(err.field, "token");
    ASSERT_EQ(parse("{\"provider\":\"fcm\",\"subscription\":{},\"token\":\"x\"}", ALL, &b, &err),
              -1);
    ASSERT_STR_EQ(err.field, "subscription");
    ASSERT_EQ(parse("{\"provider\":\"gcm\",\"token\":\"x\"}", ALL, &b, &err), -1);
    ASSERT_STR_EQ(err.field, "provider");
    /* Stored and read back without Web Push keys. */
    a.expires_ms = NOW;
    char *text = reg_encode(&a);
    ASSERT_TRUE(text != NULL && strstr(text, "\"k\"") == NULL);
    ASSERT_EQ(reg_decode(a.id, text, strlen(text), &b), 0);
    ASSERT_EQ(b.provider, REG_APNS);
    ASSERT_STR_EQ(b.endpoint, a.endpoint);
    ASSERT_STR_EQ(b.topics[0], "world");
    free(text);
}

static void make_notif(struct notif *n, const char *urgency, const char *summary)
{
    struct item_error err;
    const char *why;
    char item[3000];
    snprintf(item, sizeof(item),
             "{\"version\":2,\"kind\":\"update\",\"ref\":\"1799999999999-0\",\"urgency\":\"%s\","
             "\"headline\":\"Quake\",\"summary\":\"%s\","
             "\"published_at\":\"2027-01-15T08:00:00.000Z\"}",
             urgency, summary);
    ASSERT_EQ(notif_build(n, "1800000000000-0", item, strlen(item), 0xf, 3600, NOW, &why, &err), 1);
}

static void test_apns_body(void)
{
    struct notif n;
    make_notif(&n, "flash", "Strong.");
    ASSERT_STR_EQ(n.story, "1799999999999-0");
    char *body = apns_prepare(&n);
    json_t *o = json_loads(body, 0, NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(
                      json_object_get(json_object_get(o, "aps"), "alert"), "title")),
                  "Quake");
    ASSERT_STR_EQ(
        json_string_value(json_object_get(json_object_get(o, "aps"), "interruption-level")),
        "time-sensitive");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(o, "alert"), "id")),
                  "1800000000000-0");
    ASSERT_TRUE(json_object_get(json_object_get(o, "alert"), "headline") == NULL);
    json_decref(o);
    free(body);
    notif_free(&n);
    make_notif(&n, "bulletin", "");
    body = apns_prepare(&n);
    ASSERT_CONTAINS(body, "\"interruption-level\":\"active\"");
    free(body);
    notif_free(&n);
}

static void test_fcm_request(void)
{
    struct notif n;
    struct fcm f = {.url = "https://fcm.example/v1/projects/p/messages:send"};
    struct reg r = {.provider = REG_FCM, .endpoint = "tok:APA91b-x_y"};
    struct push_msg m;
    make_notif(&n, "routine", "Strong.");
    char *rest = fcm_prepare(&n);
    ASSERT_TRUE(rest != NULL);
    ASSERT_EQ(fcm_build(&m, &f, &n, rest, &r, "ya29.t", 7, NOW + 1000), 0);
    json_t *o = json_loadb(m.body, m.len, 0, NULL), *msg = json_object_get(o, "message");
    json_t *android = json_object_get(msg, "android");
    ASSERT_TRUE(o != NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(msg, "token")), "tok:APA91b-x_y");
    ASSERT_STR_EQ(json_string_value(json_object_get(android, "ttl")), "3599s");
    ASSERT_STR_EQ(json_string_value(json_object_get(android, "priority")), "NORMAL");
    ASSERT_STR_EQ(json_string_value(json_object_get(android, "collapse_key")), "1799999999999-0");
    ASSERT_EQ(m.gen, 7u);
    json_decref(o);
    push_msg_free(&m);
    strcpy(r.endpoint, "bad\"token");
    ASSERT_EQ(fcm_build(&m, &f, &n, rest, &r, "ya29.t", 7, NOW), -1);
    free(rest);
    notif_free(&n);
}

/* A retraction: APNs background (priority 5, no alert), FCM data only. */
static void test_retraction_messages(void)
{
    static const char item[] = "{\"version\":1,\"kind\":\"retraction\",\"ref\":\"1799999999999-0\","
                               "\"urgency\":\"flash\",\"summary\":\"In error\","
                               "\"published_at\":\"2027-01-15T08:00:00.000Z\"}";
    struct item_error err;
    const char *why;
    struct notif n;
    struct apns a = {.key_id = "ABCDE12345",
                     .team_id = "TEAM123456",
                     .topic = "com.example.news",
                     .base = "https://apns.example/3/device/",
                     .jwt = strdup("j.w.t"),
                     .iat = NOW / 1000};
    struct reg r = {.provider = REG_APNS, .endpoint = "0123abcd"};
    struct push_msg m;
    ASSERT_EQ(notif_build(&n, "1800000000000-0", item, sizeof(item) - 1, NOTIF_FLASH, 3600, NOW,
                          &why, &err),
              1);
    char *body = apns_prepare(&n);
    json_t *o = json_loads(body, 0, NULL), *aps = json_object_get(o, "aps");
    ASSERT_EQ(json_integer_value(json_object_get(aps, "content-available")), 1);
    ASSERT_EQ(json_object_size(aps), 1u); /* no alert, sound or badge */
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(o, "alert"), "kind")),
                  "retraction");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(o, "alert"), "ref")),
                  "1799999999999-0");
    ASSERT_EQ(apns_build(&m, &a, &n, body, &r, NOW / 1000), 0);
    int background = 0, low = 0, collapse = 0;
    for (struct curl_slist *h = m.headers; h; h = h->next) {
        background += strcmp(h->data, "apns-push-type: background") == 0;
        low += strcmp(h->data, "apns-priority: 5") == 0;
        collapse += strcmp(h->data, "apns-collapse-id: 1799999999999-0") == 0;
    }
    ASSERT_EQ(background + low + collapse, 3);
    push_msg_free(&m);
    json_decref(o);
    free(body);
    free(a.jwt);

    char *rest = fcm_prepare(&n);
    struct fcm f = {.url = "https://fcm.example/v1/projects/p/messages:send"};
    struct reg t = {.provider = REG_FCM, .endpoint = "tok:APA91b"};
    ASSERT_EQ(fcm_build(&m, &f, &n, rest, &t, "ya29.t", 1, NOW), 0);
    o = json_loadb(m.body, m.len, 0, NULL);
    json_t *msg = json_object_get(o, "message"), *android = json_object_get(msg, "android");
    ASSERT_TRUE(msg != NULL && json_object_get(msg, "notification") == NULL);
    ASSERT_TRUE(json_object_get(android, "notification") == NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(android, "priority")), "HIGH");
    ASSERT_STR_EQ(json_string_value(json_object_get(android, "collapse_key")), "1799999999999-0");
    ASSERT_CONTAINS(json_string_value(json_object_get(json_object_get(msg, "data"), "alert")),
                    "\"kind\":\"retraction\"");
    json_decref(o);
    push_msg_free(&m);
    free(rest);
    notif_free(&n);
}

static void test_answers(void)
{
    static const char bad[] = "{\"reason\":\"BadDeviceToken\"}";
    static const char topic[] = "{\"reason\":\"BadTopic\"}";
    static const char expired[] = "{\"reason\":\"ExpiredProviderToken\"}";
    static const char invalid[] = "{\"reason\":\"InvalidProviderToken\"}";
    static const char unreg[] = "{\"error\":{\"details\":[{\"errorCode\":\"UNREGISTERED\"}]}}";
    static const char on_token[] = "{\"error\":{\"details\":[{\"errorCode\":\"INVALID_ARGUMENT\"},"
                                   "{\"fieldViolations\":[{\"field\":\"message.token\"}]}]}}";
    static const char on_ttl[] = "{\"error\":{\"details\":[{\"errorCode\":\"INVALID_ARGUMENT\"},"
                                 "{\"fieldViolations\":[{\"field\":\"message.android.ttl\"}]}]}}";
    ASSERT_EQ(apns_outcome(200, NULL, 0), PUSH_DONE);
    ASSERT_EQ(apns_outcome(410, NULL, 0), PUSH_GONE);
    ASSERT_EQ(apns_outcome(400, bad, strlen(bad)), PUSH_GONE);
    ASSERT_EQ(apns_outcome(400, topic, strlen(topic)), PUSH_REFUSED);
    ASSERT_EQ(apns_outcome(403, expired, strlen(expired)), PUSH_REAUTH);
    ASSERT_EQ(apns_outcome(403, invalid, strlen(invalid)), PUSH_REFUSED);
    ASSERT_EQ(apns_outcome(429, NULL, 0), PUSH_RETRY);
    ASSERT_EQ(apns_outcome(503, "not json", 8), PUSH_RETRY);
    ASSERT_EQ(apns_outcome(0, NULL, 0), PUSH_RETRY);
    ASSERT_EQ(fcm_outcome(200, NULL, 0), PUSH_DONE);
    ASSERT_EQ(fcm_outcome(404, NULL, 0), PUSH_GONE);
    ASSERT_EQ(fcm_outcome(400, unreg, strlen(unreg)), PUSH_GONE);
    ASSERT_EQ(fcm_outcome(400, on_token, strlen(on_token)), PUSH_GONE);
    ASSERT_EQ(fcm_outcome(400, on_ttl, strlen(on_ttl)), PUSH_REFUSED);
    ASSERT_EQ(fcm_outcome(401, NULL, 0), PUSH_REAUTH);
    ASSERT_EQ(fcm_outcome(403, NULL, 0), PUSH_REFUSED);
    ASSERT_EQ(fcm_outcome(429, NULL, 0), PUSH_RETRY);
    ASSERT_EQ(fcm_outcome(503, NULL, 0), PUSH_RETRY);
}

/* --concurrency spread over the connections to one host: every request fits,
 * no connection carries more than its share (bench/README.md, "Push"). */
static void test_streams_per_connection(void)
{
    ASSERT_EQ(h2_streams_per_connection(256), 32);
    ASSERT_EQ(h2_streams_per_connection(257), 33);
    ASSERT_EQ(h2_streams_per_connection(1), 1);
    ASSERT_EQ(h2_streams_per_connection(0), 1);
    ASSERT_EQ(h2_streams_per_connection(100000), 12500);
    for (int n = 1; n < 2000; n++)
        ASSERT_TRUE(h2_streams_per_connection(n) * H2_SPREAD >= n &&
                    (h2_streams_per_connection(n) - 1) * H2_SPREAD < n);
}

/* Every request the gateway may have in flight fits on one host's
 * connections, without a connection carrying more than its share: FCM and
 * Web Push at --concurrency 256 both to fcm.googleapis.com (512 and the
 * token fetch) get 17 connections of 32 streams, none queued in libcurl. */
static void test_host_connections(void)
{
    ASSERT_EQ(h2_host_connections(256, 256), 8);
    ASSERT_EQ(h2_host_connections(256, 2 * 256 + 1), 17);
    ASSERT_EQ(h2_host_connections(16, 2 * 16 + 1), 17);
    ASSERT_EQ(h2_host_connections(1, 3), 3);
    ASSERT_EQ(h2_host_connections(1, 0), 1);
    for (int c = 1; c < 300; c++)
        for (int total = c; total <= 3 * c + 1; total++) {
            long conns = h2_host_connections(c, total), per = h2_streams_per_connection(c);
            ASSERT_TRUE(conns * per >= total && (conns - 1) * per < total);
            ASSERT_TRUE(conns <= 3 * H2_SPREAD + 1);
        }
}

TEST_MAIN(TEST_CASE(test_device_token_registrations), TEST_CASE(test_apns_body),
          TEST_CASE(test_fcm_request), TEST_CASE(test_retraction_messages), TEST_CASE(test_answers),
          TEST_CASE(test_streams_per_connection), TEST_CASE(test_host_connections))
