/*
 * test_net_http.c - the admin listener's HTTP request parser (net/http.h): complete and
 * incomplete requests, every error class and its status, the head and body caps, early
 * rejection of a bad request line, percent-decoding, and a mutation loop that feeds
 * truncated and corrupted requests checking that results stay within the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "net/http.h"
#include "testutil.h"

static int parse(const char *s, http_request *r)
{
    return http_parse_request((const uint8_t *)s, strlen(s), BROOK_HTTP_HEAD_MAX,
                              BROOK_HTTP_BODY_MAX, r);
}

static bool slice_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

static void test_simple_get(void)
{
    http_request r;
    const char *s = "GET /v1/transactions?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    CHECK_EQ_INT(parse(s, &r), HTTP_PARSE_OK);
    CHECK(http_method_is(&r, "GET"));
    CHECK(!http_method_is(&r, "GE"));
    CHECK(slice_is(r.path, r.path_len, "/v1/transactions"));
    CHECK(slice_is(r.query, r.query_len, "x=1"));
    CHECK_EQ_INT(r.version_minor, 1);
    CHECK_EQ_INT(r.body_len, 0);
    CHECK_EQ_INT(r.total_len, strlen(s));
}

static void test_bare_lf_and_body(void)
{
    http_request r;
    const char *s = "POST /a HTTP/1.0\nContent-Length:  5 \n\nhelloEXTRA";
    CHECK_EQ_INT(parse(s, &r), HTTP_PARSE_OK);
    CHECK_EQ_INT(r.version_minor, 0);
    CHECK_EQ_INT(r.body_len, 5);
    CHECK(memcmp(r.body, "hello", 5) == 0);
    CHECK_EQ_INT(r.total_len, strlen(s) - 5);
    CHECK(r.query == NULL);
}

static void test_incomplete(void)
{
    const char *full = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    http_request r;
    for (size_t n = 0; n < strlen(full); n++)
        CHECK_EQ_INT(http_parse_request((const uint8_t *)full, n, 1024, 1024, &r),
                     HTTP_PARSE_AGAIN);
    CHECK_EQ_INT(http_parse_request((const uint8_t *)full, strlen(full), 1024, 1024, &r),
                 HTTP_PARSE_OK);
}

static void test_errors(void)
{
    static const struct {
        const char *req;
        int rc;
        int status;
    } cases[] = {
        {"GARBAGE\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET  /a HTTP/1.1\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET a HTTP/1.1\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1 \r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a\x01 HTTP/1.1\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"G(T /a HTTP/1.1\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"VERYLONGMETHODNAME /a HTTP/1.1\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\rX\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/2.0\r\n\r\n", HTTP_PARSE_BAD_VERSION, 505},
        {"GET /a HTTP/1.2\r\n\r\n", HTTP_PARSE_BAD_VERSION, 505},
        {"GET /a HTTPS/1.1\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\nNoColon\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\nName : v\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\n folded: v\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\nA: b\x01\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\nContent-Length:\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         HTTP_PARSE_MALFORMED, 400},
        {"GET /a HTTP/1.1\r\ncontent-length: 99999999999999999999999999\r\n\r\n",
         HTTP_PARSE_BODY_TOO_LARGE, 413},
        {"GET /a HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", HTTP_PARSE_BODY_TOO_LARGE, 413},
        {"GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_PARSE_UNSUPPORTED, 501},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_request r;
        int rc = parse(cases[i].req, &r);
        if (!CHECK_EQ_INT(rc, cases[i].rc))
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].req);
        CHECK_EQ_INT(http_parse_result_status(rc), cases[i].status);
        CHECK(strcmp(http_parse_result_name(rc), "?") != 0);
    }
    /* Equal duplicate lengths are allowed. */
    http_request r;
    CHECK_EQ_INT(parse("POST /a HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx", &r),
                 HTTP_PARSE_OK);
}

static void test_early_rejection(void)
{
    /* A complete bad request line is rejected without waiting for the headers. */
    http_request r;
    CHECK_EQ_INT(parse("NOT HTTP AT ALL\r\n", &r), HTTP_PARSE_MALFORMED);
    CHECK_EQ_INT(parse("GET /a HTTP/1.1\r\nbad header\r\n", &r), HTTP_PARSE_MALFORMED);
    CHECK_EQ_INT(parse("GET /a HTTP/1.1\r\nHost: x\r\n", &r), HTTP_PARSE_AGAIN);
}

static void test_head_cap(void)
{
    static uint8_t buf[BROOK_HTTP_HEAD_MAX * 2];
    const char *line = "GET /a HTTP/1.1\r\nX: ";
    size_t n = strlen(line);
    memcpy(buf, line, n);
    memset(buf + n, 'a', sizeof(buf) - n);
    http_request r;
    CHECK_EQ_INT(http_parse_request(buf, BROOK_HTTP_HEAD_MAX - 1, BROOK_HTTP_HEAD_MAX,
                                    BROOK_HTTP_BODY_MAX, &r),
                 HTTP_PARSE_AGAIN);
    CHECK_EQ_INT(http_parse_request(buf, BROOK_HTTP_HEAD_MAX, BROOK_HTTP_HEAD_MAX,
                                    BROOK_HTTP_BODY_MAX, &r),
                 HTTP_PARSE_HEAD_TOO_LARGE);
    CHECK_EQ_INT(http_parse_request(buf, sizeof(buf), BROOK_HTTP_HEAD_MAX, BROOK_HTTP_BODY_MAX,
                                    &r),
                 HTTP_PARSE_HEAD_TOO_LARGE);
    /* A head that ends exactly at the cap is fine. */
    size_t fill = BROOK_HTTP_HEAD_MAX - n - 4;
    memset(buf + n, 'b', fill);
    memcpy(buf + n + fill, "\r\n\r\n", 4);
    CHECK_EQ_INT(http_parse_request(buf, BROOK_HTTP_HEAD_MAX, BROOK_HTTP_HEAD_MAX,
                                    BROOK_HTTP_BODY_MAX, &r),
                 HTTP_PARSE_OK);
    CHECK_EQ_INT(r.total_len, BROOK_HTTP_HEAD_MAX);
}

static void test_url_decode(void)
{
    char out[32];
    CHECK_EQ_INT(http_url_decode("a%20b%2Fc", 9, out, sizeof(out)), 5);
    CHECK_EQ_STR(out, "a b/c");
    CHECK_EQ_INT(http_url_decode("plain", 5, out, sizeof(out)), 5);
    CHECK_EQ_STR(out, "plain");
    CHECK_EQ_INT(http_url_decode("%zz", 3, out, sizeof(out)), -1);
    CHECK_EQ_INT(http_url_decode("%2", 2, out, sizeof(out)), -1);
    CHECK_EQ_INT(http_url_decode("ab%", 3, out, sizeof(out)), -1);
    CHECK_EQ_INT(http_url_decode("a%00", 4, out, sizeof(out)), -1);
    CHECK_EQ_INT(http_url_decode("abcd", 4, out, 4), -1); /* no room for the NUL */
    CHECK_EQ_INT(http_url_decode("abc", 3, out, 4), 3);
    CHECK_EQ_INT(http_url_decode("", 0, out, 1), 0);
    CHECK_EQ_INT(http_url_decode("", 0, out, 0), -1);
}

static void test_status_reasons(void)
{
    CHECK_EQ_STR(http_status_reason(404), "Not Found");
    CHECK_EQ_STR(http_status_reason(431), "Request Header Fields Too Large");
    CHECK_EQ_STR(http_status_reason(299), "Unknown");
}

/* Truncations and random byte flips of valid requests: the parser returns one of its
 * results, and on OK every slice lies inside the input. Run under ASan in CI. */
static void test_mutations(void)
{
    static const char *seeds[] = {
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n",
        "POST /v1/transactions/a%20b/abort HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
        "GET /v1/transactions?q HTTP/1.0\nX: y\n\n",
    };
    uint8_t buf[256];
    for (int iter = 0; iter < 200000; iter++) {
        const char *seed = seeds[tu_rand() % 3];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int flips = (int)(tu_rand() % 4);
        for (int f = 0; f < flips; f++)
            buf[tu_rand() % n] = (uint8_t)tu_rand();
        size_t len = tu_rand() % 4 == 0 ? tu_rand() % (n + 1) : n;
        size_t head_max = tu_rand() % 2 ? 64 : BROOK_HTTP_HEAD_MAX;
        http_request r;
        int rc = http_parse_request(buf, len, head_max, 16, &r);
        if (!CHECK(rc >= HTTP_PARSE_BAD_VERSION && rc <= HTTP_PARSE_AGAIN))
            return;
        if (rc != HTTP_PARSE_OK)
            continue;
        const char *b = (const char *)buf;
        CHECK(r.total_len <= len);
        CHECK(r.method == b && r.method_len > 0 && r.method_len <= HTTP_METHOD_MAX);
        CHECK(r.path > b && r.path + r.path_len <= b + len && r.path[0] == '/');
        CHECK(!r.query || (r.query > b && r.query + r.query_len <= b + len));
        CHECK(r.body_len <= 16 && (const char *)r.body + r.body_len <= b + len);
    }
}

TU_MAIN(TU_CASE(test_simple_get), TU_CASE(test_bare_lf_and_body), TU_CASE(test_incomplete),
        TU_CASE(test_errors), TU_CASE(test_early_rejection), TU_CASE(test_head_cap),
        TU_CASE(test_url_decode), TU_CASE(test_status_reasons), TU_CASE(test_mutations))
