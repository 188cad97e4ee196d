/*
 * fuzz_query — a request's query (query.c) and the client filter it makes
 * (hubfilter.c's parsing): the input, split at '&', is the list of
 * decoded arguments lws hands request.c (any bytes, NUL included).
 *
 * Beyond "no crash, no leak, no UB":
 *   - query_get never writes past its buffer and answers a length that
 *     fits it, QUERY_ABSENT or QUERY_INVALID;
 *   - a filter made follows the rules and reads back from its own text to
 *     the same filter (filter.h), a refused one says why in a reason an
 *     error frame can carry, and leaves nothing allocated;
 *   - since, when an id, formats back to the argument's text;
 *   - limit is in its range, or -1.
 */
#include "filter.h"
#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct query q;
    char err[160], value[16], since_text[ITEM_ID_STRLEN + 8], back[ITEM_ID_STRLEN];
    struct hub_filter *f = NULL;
    struct item_id since;

    query_init(&q);
    for (size_t at = 0; at <= size;) {
        const uint8_t *amp = memchr(data + at, '&', size - at);
        size_t n = amp ? (size_t)(amp - data) - at : size - at;
        query_add(&q, (const char *)data + at, n);
        at += n + 1;
    }

    int n = query_get(&q, "topics", value, sizeof(value));
    FUZZ_CHECK(n == QUERY_ABSENT || n == QUERY_INVALID || (n >= 0 && (size_t)n < sizeof(value)));
    FUZZ_CHECK(n < 0 || strlen(value) == (size_t)n);

    if (query_filter(&q, &f, err, sizeof(err)) == 0) {
        if (f) {
            FUZZ_CHECK(f->ntopics + f->nlangs > 0 && f->grants == 0);
            fuzz_check_filter(f);
        }
    } else {
        FUZZ_CHECK(f == NULL);
        fuzz_check_reason(err);
    }
    free(f);

    int s = query_since(&q, &since);
    FUZZ_CHECK(s >= -1 && s <= 1);
    if (s == 1) {
        FUZZ_CHECK(query_get(&q, "since", since_text, sizeof(since_text)) > 0);
        item_id_format(since, back);
        FUZZ_CHECK(strcmp(back, since_text) == 0);
    }
    long limit = query_number(&q, "limit", 1, 200, 20);
    FUZZ_CHECK(limit == -1 || (limit >= 1 && limit <= 200));
    return 0;
}
