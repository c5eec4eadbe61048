/*
 * fuzz_http.c - libFuzzer target for the admin listener's request parser (net/http.h):
 * http_parse_request on arbitrary bytes, then the helpers the admin routes call on what it
 * returns (method tests, If-None-Match, percent-decoding of the path and query). The first
 * input byte picks the head and body limits (small ones reach the 431/413 paths), the rest
 * is the request. Invariants besides memory safety:
 * - a parse that succeeds fits its input: total_len <= size, and every field it returns
 *   (method, path, query, If-None-Match, Authorization, body) lies inside the input, the
 *   path starting with '/', the method at most HTTP_METHOD_MAX bytes, the body at most the
 *   body limit and ending at total_len;
 * - any prefix of a request that parses is AGAIN or an error, never a request of its own
 *   that ends past the prefix;
 * - a successful percent-decode is NUL-terminated, within the buffer, without a NUL inside.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool ok)
{
    if (!ok)
        abort();
}

/* Whether p[0..n) lies inside buf[0..size) (a NULL p with n == 0 does). */
static bool inside(const uint8_t *buf, size_t size, const void *p, size_t n)
{
    if (!p)
        return n == 0;
    const uint8_t *q = p;
    return q >= buf && q <= buf + size && n <= (size_t)(buf + size - q);
}

static void decode_check(const char *s, size_t n)
{
    char out[256];
    long len = http_url_decode(s, n, out, sizeof(out));
    if (len < 0)
        return;
    must((size_t)len < sizeof(out) && out[len] == '\0' && strlen(out) == (size_t)len);
}

static void check_request(const uint8_t *buf, size_t size, size_t body_max,
                          const http_request *r)
{
    must(r->total_len <= size);
    must(r->method_len > 0 && r->method_len <= HTTP_METHOD_MAX);
    must(inside(buf, size, r->method, r->method_len));
    must(r->path_len > 0 && inside(buf, size, r->path, r->path_len) && r->path[0] == '/');
    must(inside(buf, size, r->query, r->query_len));
    must(inside(buf, size, r->if_none_match, r->if_none_match_len));
    must(inside(buf, size, r->authorization, r->authorization_len));
    must(r->body_len <= body_max && inside(buf, size, r->body, r->body_len));
    must(r->body_len == 0 || r->body + r->body_len == buf + r->total_len);
    must(r->version_minor == 0 || r->version_minor == 1);
    (void)http_method_is(r, "POST");
    (void)http_method_is_get(r);
    (void)http_etag_matches(r, "\"0123456789abcdef\"");
    decode_check(r->path, r->path_len);
    if (r->query)
        decode_check(r->query, r->query_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t heads[4] = {BROOK_HTTP_HEAD_MAX, 64, 256, 4096};
    static const size_t bodies[4] = {BROOK_HTTP_BODY_MAX, 0, 16, 1024};
    size_t head_max = heads[data[0] & 3], body_max = bodies[(data[0] >> 2) & 3];
    const uint8_t *buf = data + 1;
    size_t n = size - 1;
    /* A copy of exactly n bytes, so that ASan sees any read past the input. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return 0;
    memcpy(copy, buf, n);
    http_request r;
    memset(&r, 0, sizeof(r));
    int rc = http_parse_request(copy, n, head_max, body_max, &r);
    must(rc == HTTP_PARSE_OK || rc == HTTP_PARSE_AGAIN || (rc < 0 && rc >= HTTP_PARSE_BAD_VERSION));
    (void)http_parse_result_name(rc);
    (void)http_parse_result_status(rc);
    if (rc == HTTP_PARSE_OK) {
        check_request(copy, n, body_max, &r);
        /* Prefixes of it: never a request that ends past the prefix. */
        for (size_t k = 0; k < r.total_len && k < 512; k++) {
            http_request p;
            memset(&p, 0, sizeof(p));
            if (http_parse_request(copy, k, head_max, body_max, &p) == HTTP_PARSE_OK)
                must(p.total_len <= k);
        }
    }
    free(copy);
    return 0;
}
