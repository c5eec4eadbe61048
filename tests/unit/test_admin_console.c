/*
 * test_admin_console.c - the pure parts of the web console's server side: the embedded
 * file lookup (broker/admin_assets.h, over the table cmake/embed_web.cmake generates from
 * web/), If-None-Match parsing and matching (net/http.h), the admin address in a broker
 * registration (cluster/view.h: written, read back, absent in an old one, refused when
 * malformed), and the decoding of a member's ConsumerProtocolAssignment for /v1/groups.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "broker/admin_assets.h"
#include "broker/admin_groups.h"
#include "cluster/view.h"
#include "net/http.h"
#include "testutil.h"

static const admin_asset *find(const char *p) { return admin_asset_find(p, strlen(p)); }

static void test_asset_lookup(void)
{
    const admin_asset *index = find("/");
    if (!CHECK(index != NULL))
        return;
    CHECK_EQ_STR(index->path, "/index.html");
    CHECK(strncmp(index->content_type, "text/html", 9) == 0);
    CHECK(index->len > 100 && memmem(index->data, index->len, "/console/app.js", 15) != NULL);
    CHECK(find("/console") == index);
    CHECK(find("/console/") == index);
    CHECK(find("/console/index.html") == index);
    const admin_asset *js = find("/console/app.js");
    CHECK(js && strncmp(js->content_type, "text/javascript", 15) == 0);
    const admin_asset *css = find("/console/style.css");
    CHECK(css && strncmp(css->content_type, "text/css", 8) == 0);
    /* Quoted strong ETags, distinct per file. */
    CHECK(js && js->etag[0] == '"' && js->etag[strlen(js->etag) - 1] == '"');
    CHECK(js && css && strcmp(js->etag, css->etag) != 0);
    const char *missing[] = {"", "/index.html", "/app.js", "/console/nope.js", "/console/a/app.js",
                             "/console/../index.html", "/console//app.js", "/consoleapp.js",
                             "/console/app.js/", "/console/APP.JS", "/metrics"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        if (!CHECK(find(missing[i]) == NULL))
            fprintf(stderr, "found %s\n", missing[i]);
    CHECK(admin_asset_find(NULL, 0) == NULL);
    /* Not NUL-terminated: only len bytes count. */
    CHECK(admin_asset_find("/console/app.jsXYZ", 15) == js);
    for (size_t i = 0; i < admin_assets_count; i++)
        CHECK(admin_assets[i].path[0] == '/' && admin_assets[i].len > 0);
}

static int parse(const char *s, http_request *r)
{
    return http_parse_request((const uint8_t *)s, strlen(s), BROOK_HTTP_HEAD_MAX,
                              BROOK_HTTP_BODY_MAX, r);
}

static void test_etag(void)
{
    http_request r;
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &r), HTTP_PARSE_OK);
    CHECK(r.if_none_match == NULL);
    CHECK(!http_etag_matches(&r, "\"abc\""));
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nif-none-match:  \"abc\" \r\n\r\n", &r), HTTP_PARSE_OK);
    CHECK(r.if_none_match_len == 5 && memcmp(r.if_none_match, "\"abc\"", 5) == 0);
    CHECK(http_etag_matches(&r, "\"abc\""));
    CHECK(!http_etag_matches(&r, "\"ab\""));
    CHECK(!http_etag_matches(&r, "\"abcd\""));
    CHECK(!http_etag_matches(&r, ""));
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nIf-None-Match: \"x\", W/\"abc\",\"y\"\r\n\r\n", &r),
                 HTTP_PARSE_OK);
    CHECK(http_etag_matches(&r, "\"abc\""));
    CHECK(http_etag_matches(&r, "\"y\""));
    CHECK(!http_etag_matches(&r, "\"z\""));
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nIf-None-Match: *\r\n\r\n", &r), HTTP_PARSE_OK);
    CHECK(http_etag_matches(&r, "\"anything\""));
    CHECK_EQ_INT(parse("HEAD / HTTP/1.1\r\n\r\n", &r), HTTP_PARSE_OK);
    CHECK(http_method_is_get(&r) && !http_method_is(&r, "GET"));
    CHECK_EQ_INT(parse("POST / HTTP/1.1\r\n\r\n", &r), HTTP_PARSE_OK);
    CHECK(!http_method_is_get(&r));
    CHECK_EQ_STR(http_status_reason(304), "Not Modified");
}

static void test_registration_admin(void)
{
    cv_broker b = {0};
    char *j = cv_broker_json(&(cv_broker){.id = 2, .host = "10.0.0.2", .port = 9092, .incarnation = "inc", .admin = "10.0.0.2:9644"});
    CHECK_EQ_INT(cv_broker_parse(j, strlen(j), &b), 0);
    CHECK(b.admin && strcmp(b.admin, "10.0.0.2:9644") == 0);
    CHECK(!b.shutting_down && b.port == 9092);
    cv_broker_clear(&b);
    CHECK(b.host == NULL && b.admin == NULL);
    free(j);
    /* Shutting down and admin together. */
    j = cv_broker_json(&(cv_broker){.id = 2, .host = "h", .port = 9092, .incarnation = "inc", .shutting_down = true, .admin = "h:1"});
    CHECK_EQ_INT(cv_broker_parse(j, strlen(j), &b), 0);
    CHECK(b.shutting_down && b.admin && strcmp(b.admin, "h:1") == 0);
    cv_broker_clear(&b);
    free(j);
    /* A registration from before admin addresses, and ones without a listener. */
    const char *old = "{\"version\":1,\"id\":3,\"host\":\"h\",\"port\":9092,\"incarnation\":\"x\"}";
    CHECK_EQ_INT(cv_broker_parse(old, strlen(old), &b), 0);
    CHECK(b.admin == NULL && b.id == 3);
    cv_broker_clear(&b);
    j = cv_broker_json(&(cv_broker){.id = 2, .host = "h", .port = 9092, .incarnation = "inc", .admin = ""});
    CHECK(strstr(j, "admin") == NULL);
    free(j);
    j = cv_broker_json(&(cv_broker){.id = 2, .host = "h", .port = 9092, .incarnation = "inc"});
    CHECK(strstr(j, "admin") == NULL);
    free(j);
    /* A malformed value is ignored (the rest of the registration still counts). */
    const char *bad[] = {
        "{\"id\":3,\"host\":\"h\",\"port\":1,\"admin\":7}",
        "{\"id\":3,\"host\":\"h\",\"port\":1,\"admin\":\"\"}",
        "{\"id\":3,\"host\":\"h\",\"port\":1,\"admin\":\"nocolon\"}",
        "{\"id\":3,\"host\":\"h\",\"port\":1,\"admin\":\"h:1/evil\"}",
        "{\"id\":3,\"host\":\"h\",\"port\":1,\"admin\":\"h:1\\\"<script>\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ_INT(cv_broker_parse(bad[i], strlen(bad[i]), &b), 0);
        CHECK(b.admin == NULL);
        cv_broker_clear(&b);
    }
    /* The view keeps it per broker. */
    cluster_view *v = cv_new();
    CHECK_EQ_INT(cv_add_broker(v, 1, "h1", 1, ""), 0);
    CHECK(cv_broker_find(v, 1)->admin == NULL);
    CHECK_EQ_INT(cv_broker_set_admin(v, 1, "h1:2"), 0);
    CHECK_EQ_STR(cv_broker_find(v, 1)->admin, "h1:2");
    CHECK_EQ_INT(cv_broker_set_admin(v, 1, NULL), 0);
    CHECK(cv_broker_find(v, 1)->admin == NULL);
    CHECK_EQ_INT(cv_broker_set_admin(v, 1, "h1:3"), 0);
    cv_unref(v);
}

/* A ConsumerProtocolAssignment v0: topics a (0, 2) and b (1), user data "u". */
static size_t assignment(uint8_t *out, size_t cap)
{
    wr w;
    wr_init(&w, 64);
    wr_i16(&w, 0);
    wr_i32(&w, 2);
    wr_str(&w, kslice_cstr("a"));
    wr_i32(&w, 2);
    wr_i32(&w, 0);
    wr_i32(&w, 2);
    wr_str(&w, kslice_cstr("b"));
    wr_i32(&w, 1);
    wr_i32(&w, 1);
    wr_i32(&w, 1);
    wr_raw(&w, "u", 1);
    size_t n = w.len < cap ? w.len : cap;
    memcpy(out, w.p, n);
    wr_free(&w);
    return n;
}

static void test_assignment(void)
{
    uint8_t buf[128];
    size_t n = assignment(buf, sizeof(buf));
    cJSON *a = admin_assignment_json(buf, (int32_t)n);
    if (!CHECK(a != NULL))
        return;
    char *s = cJSON_PrintUnformatted(a);
    CHECK_EQ_STR(s, "[{\"topic\":\"a\",\"partition\":0},{\"topic\":\"a\",\"partition\":2},"
                    "{\"topic\":\"b\",\"partition\":1}]");
    free(s);
    cJSON_Delete(a);
    /* Without user data (older clients end after the topics): still an assignment. */
    a = admin_assignment_json(buf, (int32_t)n - 5);
    CHECK(a != NULL && cJSON_GetArraySize(a) == 3);
    cJSON_Delete(a);
    /* Every shorter cut inside the topics is refused, never read past. */
    for (size_t cut = 0; cut < n - 5; cut++) {
        a = admin_assignment_json(buf, (int32_t)cut);
        if (!CHECK(a == NULL))
            fprintf(stderr, "cut %zu accepted\n", cut);
        cJSON_Delete(a);
    }
    /* An empty assignment (no topics) is an empty array; a lying count is refused. */
    const uint8_t none[] = {0, 0, 0, 0, 0, 0};
    a = admin_assignment_json(none, sizeof(none));
    CHECK(a != NULL && cJSON_GetArraySize(a) == 0);
    cJSON_Delete(a);
    const uint8_t lie[] = {0, 0, 0x7f, 0, 0, 0, 0, 1, 'a'};
    CHECK(admin_assignment_json(lie, sizeof(lie)) == NULL);
    const uint8_t negver[] = {0xff, 0xff, 0, 0, 0, 0};
    CHECK(admin_assignment_json(negver, sizeof(negver)) == NULL);
    CHECK(admin_assignment_json(NULL, 0) == NULL);
}

TU_MAIN(TU_CASE(test_asset_lookup), TU_CASE(test_etag), TU_CASE(test_registration_admin),
        TU_CASE(test_assignment))
