/*
 * http.h - a small HTTP/1.1 server on the broker's libuv loop, for the admin listener
 * (broker/admin.h): operators' tools and Prometheus scrapes, not data traffic.
 *
 * Owns: the admin sockets, each connection's request buffer, and the request parser.
 * One request per connection: the response carries "Connection: close", then the server
 * half-closes and drains what the peer still sends (bounded in time) before closing, so a
 * client that sent too much still reads its 4xx instead of a reset.
 * Every length is capped (base/limits.h): request line + headers BROOK_HTTP_HEAD_MAX (else
 * 431), body BROOK_HTTP_BODY_MAX through Content-Length only (else 413; Transfer-Encoding
 * gets 501), BROOK_HTTP_CONN_MAX connections, BROOK_HTTP_REQUEST_TIMEOUT_MS to send a
 * whole request. Bad input is an error response and a close, never an assertion.
 * HEAD is answered as GET without the body (the handler treats it as GET, see
 * http_method_is_get); every response says "X-Content-Type-Options: nosniff".
 * Never: interprets paths or bodies (the handler does) or blocks the loop.
 */
#ifndef BROOK_NET_HTTP_H
#define BROOK_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"

/* ---------------- the parser (no I/O; unit-tested and safe on any bytes) ---------------- */

enum http_parse_result {
    HTTP_PARSE_OK = 0,
    HTTP_PARSE_AGAIN = 1,           /* incomplete so far: read more */
    HTTP_PARSE_MALFORMED = -1,      /* 400 */
    HTTP_PARSE_HEAD_TOO_LARGE = -2, /* 431 */
    HTTP_PARSE_BODY_TOO_LARGE = -3, /* 413 */
    HTTP_PARSE_UNSUPPORTED = -4,    /* 501: Transfer-Encoding (chunked bodies) */
    HTTP_PARSE_BAD_VERSION = -5,    /* 505: not HTTP/1.0 or HTTP/1.1 */
};
const char *http_parse_result_name(int rc);
/* The status code a parse error is answered with (400 for anything unknown). */
int http_parse_result_status(int rc);

/* Longest method token accepted; a longer one is malformed. */
#define HTTP_METHOD_MAX 16

/* One parsed request. Every pointer borrows from the buffer given to http_parse_request
 * and is not NUL-terminated. */
typedef struct http_request {
    const char *method;
    size_t method_len;
    const char *path;  /* the request target up to '?', starts with '/' */
    size_t path_len;
    const char *query; /* after '?', or NULL */
    size_t query_len;
    int version_minor; /* HTTP/1.<minor>, 0 or 1 */
    const uint8_t *body;
    size_t body_len;   /* Content-Length; 0 without one */
    size_t total_len;  /* bytes of head + body */
    const char *if_none_match; /* the If-None-Match value (trimmed), or NULL */
    size_t if_none_match_len;
    const char *authorization; /* the Authorization value (trimmed), or NULL */
    size_t authorization_len;
} http_request;

/* Parses the request at the start of buf[0..len). Returns HTTP_PARSE_OK (*out filled),
 * HTTP_PARSE_AGAIN when more bytes are needed, or a negative http_parse_result. Limits:
 * head_max bytes of request line + headers, body_max bytes of body. A malformed request
 * line is reported as soon as it is complete, without waiting for the rest. */
int http_parse_request(const uint8_t *buf, size_t len, size_t head_max, size_t body_max,
                       http_request *out);
/* Does the request's method equal m (case-sensitive, as HTTP says)? */
bool http_method_is(const http_request *r, const char *m);
/* GET or HEAD: the server answers a HEAD with the GET's head and no body. */
bool http_method_is_get(const http_request *r);
/* Does the request's If-None-Match name etag (a quoted entity tag, or "*")? */
bool http_etag_matches(const http_request *r, const char *etag);
/* Percent-decodes s[0..n) into out (NUL-terminated). Returns the decoded length, or -1 for a
 * bad escape, a decoded NUL, or a result that does not fit in cap - 1 bytes. */
long http_url_decode(const char *s, size_t n, char *out, size_t cap);
/* The reason phrase of a status code ("Not Found"); "Unknown" for others. */
const char *http_status_reason(int status);

/* ---------------- the server ---------------- */

typedef struct http_server http_server;

/* What a handler fills in. status defaults to 200, content_type to application/json.
 * Responses carry "Cache-Control: no-store" unless they have an etag (then "no-cache": the
 * browser revalidates, a 304 answers); a 304's body is never sent. */
typedef struct http_response {
    int status;
    const char *content_type; /* static string */
    const char *allow;        /* static string for a 405's Allow header, or NULL */
    const char *etag;         /* static quoted entity tag, or NULL */
    bool cors;                /* "Access-Control-Allow-Origin: *" (read by any origin) */
    wr body;                  /* owned by the server; the handler appends */
} http_response;

/* Called once per complete request, on the loop thread; answers synchronously. `req`
 * borrows the connection's buffer and is valid only during the call. */
typedef void (*http_handler_fn)(void *ctx, const http_request *req, const char *peer,
                                http_response *resp);

typedef struct http_opts {
    const char *host; /* IPv4 address */
    int port;         /* 0: any free port */
    http_handler_fn handler;
    void *ctx;
} http_opts;

/* Binds and listens. *port_out gets the bound port. Returns 0 or a libuv error (nothing
 * is left open on error). */
int http_server_start(uv_loop_t *loop, const http_opts *o, http_server **out, int *port_out);
/* Stops accepting and closes every connection; the server is freed once its handles are
 * closed (during the loop's next turns). */
void http_server_stop(http_server *s);
/* Connections currently open. */
size_t http_server_conn_count(const http_server *s);

#endif
