/* http.c - see http.h. The parser first, then the connection life cycle:
 *   READING: bytes accumulate (up to head + body caps) and are parsed after every read;
 *   WRITING: the handler has answered (or the parser rejected the request) and the
 *            response is being written; further input is read and dropped;
 *   LINGER:  the response is out and our side is shut down (FIN); input is drained until
 *            the peer closes or BROOK_HTTP_LINGER_MS passes, then the socket is closed.
 * A connection is freed when both its handles (socket, timer) have closed. */
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"

/* ---------------- parser ---------------- */

const char *http_parse_result_name(int rc)
{
    switch (rc) {
    case HTTP_PARSE_OK: return "ok";
    case HTTP_PARSE_AGAIN: return "incomplete";
    case HTTP_PARSE_MALFORMED: return "malformed request";
    case HTTP_PARSE_HEAD_TOO_LARGE: return "request line and headers too large";
    case HTTP_PARSE_BODY_TOO_LARGE: return "request body too large";
    case HTTP_PARSE_UNSUPPORTED: return "Transfer-Encoding is not supported";
    case HTTP_PARSE_BAD_VERSION: return "HTTP version not supported";
    }
    return "?";
}

int http_parse_result_status(int rc)
{
    switch (rc) {
    case HTTP_PARSE_HEAD_TOO_LARGE: return 431;
    case HTTP_PARSE_BODY_TOO_LARGE: return 413;
    case HTTP_PARSE_UNSUPPORTED: return 501;
    case HTTP_PARSE_BAD_VERSION: return 505;
    }
    return 400;
}

const char *http_status_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

/* RFC 9110 token characters. */
static bool is_tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool ieq(const uint8_t *p, size_t n, const char *s)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t a = p[i], b = (uint8_t)s[i];
        if (a >= 'A' && a <= 'Z')
            a = (uint8_t)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* Finds the end of the line starting at pos, looking no further than lim. *eol gets the
 * index of its CR or LF, *next the index after the LF. CRLF and a bare LF end a line; a CR
 * not followed by LF is malformed. */
static int line_end(const uint8_t *b, size_t pos, size_t lim, size_t *eol, size_t *next)
{
    for (size_t i = pos; i < lim; i++) {
        if (b[i] == '\n') {
            *eol = i;
            *next = i + 1;
            return HTTP_PARSE_OK;
        }
        if (b[i] == '\r') {
            if (i + 1 >= lim)
                return HTTP_PARSE_AGAIN;
            if (b[i + 1] != '\n')
                return HTTP_PARSE_MALFORMED;
            *eol = i;
            *next = i + 2;
            return HTTP_PARSE_OK;
        }
    }
    return HTTP_PARSE_AGAIN;
}

/* "METHOD SP origin-form-target SP HTTP/1.x" in b[0..eol). */
static int parse_request_line(const uint8_t *b, size_t eol, http_request *r)
{
    size_t i = 0;
    while (i < eol && is_tchar(b[i]))
        i++;
    if (i == 0 || i > HTTP_METHOD_MAX || i >= eol || b[i] != ' ')
        return HTTP_PARSE_MALFORMED;
    r->method = (const char *)b;
    r->method_len = i;
    size_t t0 = ++i;
    while (i < eol && b[i] != ' ') {
        if (b[i] <= 0x20 || b[i] >= 0x7f)
            return HTTP_PARSE_MALFORMED;
        i++;
    }
    if (i == t0 || i >= eol || b[t0] != '/')
        return HTTP_PARSE_MALFORMED;
    const uint8_t *q = memchr(b + t0, '?', i - t0);
    r->path = (const char *)b + t0;
    r->path_len = q ? (size_t)(q - (b + t0)) : i - t0;
    r->query = q ? (const char *)q + 1 : NULL;
    r->query_len = q ? (size_t)(b + i - (q + 1)) : 0;
    const uint8_t *v = b + i + 1;
    size_t vn = eol - (i + 1);
    if (vn != 8 || memcmp(v, "HTTP/", 5) != 0)
        return HTTP_PARSE_MALFORMED;
    if (v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
        return HTTP_PARSE_MALFORMED;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return HTTP_PARSE_BAD_VERSION;
    r->version_minor = v[7] - '0';
    return HTTP_PARSE_OK;
}

/* One "name: value" line in b[0..n). Only Content-Length, Transfer-Encoding,
 * If-None-Match and Authorization matter (the last two are kept in r). */
static int parse_header(const uint8_t *b, size_t n, size_t body_max, bool *have_cl,
                        size_t *cl, http_request *r)
{
    size_t i = 0;
    while (i < n && is_tchar(b[i]))
        i++;
    if (i == 0 || i >= n || b[i] != ':')
        return HTTP_PARSE_MALFORMED;
    size_t name_len = i++;
    while (i < n && (b[i] == ' ' || b[i] == '\t'))
        i++;
    size_t end = n;
    while (end > i && (b[end - 1] == ' ' || b[end - 1] == '\t'))
        end--;
    for (size_t k = i; k < end; k++)
        if ((b[k] < 0x20 && b[k] != '\t') || b[k] == 0x7f)
            return HTTP_PARSE_MALFORMED;
    if (ieq(b, name_len, "transfer-encoding"))
        return HTTP_PARSE_UNSUPPORTED;
    if (ieq(b, name_len, "if-none-match")) {
        r->if_none_match = (const char *)b + i;
        r->if_none_match_len = end - i;
        return HTTP_PARSE_OK;
    }
    if (ieq(b, name_len, "authorization")) {
        r->authorization = (const char *)b + i;
        r->authorization_len = end - i;
        return HTTP_PARSE_OK;
    }
    if (!ieq(b, name_len, "content-length"))
        return HTTP_PARSE_OK;
    if (end == i)
        return HTTP_PARSE_MALFORMED;
    size_t v = 0;
    bool too_large = false;
    for (size_t k = i; k < end; k++) {
        if (b[k] < '0' || b[k] > '9')
            return HTTP_PARSE_MALFORMED;
        if (v > body_max)
            too_large = true; /* keep checking that the rest are digits */
        else
            v = v * 10 + (size_t)(b[k] - '0');
    }
    if (too_large || v > body_max)
        return HTTP_PARSE_BODY_TOO_LARGE;
    if (*have_cl && *cl != v)
        return HTTP_PARSE_MALFORMED; /* conflicting lengths: a smuggling attempt */
    *have_cl = true;
    *cl = v;
    return HTTP_PARSE_OK;
}

int http_parse_request(const uint8_t *buf, size_t len, size_t head_max, size_t body_max,
                       http_request *out)
{
    memset(out, 0, sizeof(*out));
    size_t lim = len < head_max ? len : head_max;
    int incomplete = len >= head_max ? HTTP_PARSE_HEAD_TOO_LARGE : HTTP_PARSE_AGAIN;
    size_t eol, next;
    int rc = line_end(buf, 0, lim, &eol, &next);
    if (rc != HTTP_PARSE_OK)
        return rc == HTTP_PARSE_AGAIN ? incomplete : rc;
    if ((rc = parse_request_line(buf, eol, out)) != HTTP_PARSE_OK)
        return rc;
    size_t pos = next, cl = 0;
    bool have_cl = false;
    for (;;) {
        rc = line_end(buf, pos, lim, &eol, &next);
        if (rc != HTTP_PARSE_OK)
            return rc == HTTP_PARSE_AGAIN ? incomplete : rc;
        if (eol == pos) {
            pos = next;
            break;
        }
        rc = parse_header(buf + pos, eol - pos, body_max, &have_cl, &cl, out);
        if (rc != HTTP_PARSE_OK)
            return rc;
        pos = next;
    }
    if (len - pos < cl)
        return HTTP_PARSE_AGAIN;
    out->body = buf + pos;
    out->body_len = cl;
    out->total_len = pos + cl;
    return HTTP_PARSE_OK;
}

bool http_method_is(const http_request *r, const char *m)
{
    size_t n = strlen(m);
    return r->method_len == n && memcmp(r->method, m, n) == 0;
}

bool http_method_is_get(const http_request *r)
{
    return http_method_is(r, "GET") || http_method_is(r, "HEAD");
}

/* If-None-Match is "*" or a comma-separated list of entity tags, each maybe weak (W/). */
bool http_etag_matches(const http_request *r, const char *etag)
{
    const char *p = r->if_none_match;
    size_t n = r->if_none_match_len, el = strlen(etag);
    if (!p || el == 0)
        return false;
    if (n == 1 && p[0] == '*')
        return true;
    size_t i = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        if (n - i >= 2 && p[i] == 'W' && p[i + 1] == '/')
            i += 2;
        size_t j = i;
        while (j < n && p[j] != ',' && p[j] != ' ' && p[j] != '\t')
            j++;
        if (j - i == el && memcmp(p + i, etag, el) == 0)
            return true;
        i = j;
    }
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = hexval(s[i + 1]);
            int lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    if (cap == 0)
        return -1;
    out[o] = '\0';
    return (long)o;
}

/* ---------------- server ---------------- */

enum conn_state { CONN_READING = 0, CONN_WRITING, CONN_LINGER };

typedef struct http_conn http_conn;

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_opts o;
    http_conn *conns; /* doubly linked */
    size_t nconns;
};

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    http_server *srv; /* NULL once closed: the server may be gone */
    http_conn *prev, *next;
    int state;
    bool closed;
    bool peer_eof; /* the peer closed its side: no need to linger */
    int open_handles;
    uint8_t *buf; /* request bytes, grown up to head + body caps */
    size_t len, cap;
    uint8_t *out; /* the response being written */
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    char peer[64];
};

#define CONN_BUF_INITIAL 4096
#define CONN_BUF_MAX (BROOK_HTTP_HEAD_MAX + BROOK_HTTP_BODY_MAX)
/* How much a draining read takes at a time (the buffer is reused). */
#define CONN_DRAIN_CHUNK 4096

static void on_handle_closed(uv_handle_t *h)
{
    http_conn *c = h->data;
    if (--c->open_handles == 0) {
        free(c->buf);
        free(c->out);
        free(c);
    }
}

static void conn_close(http_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    c->srv = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_timer(uv_timer_t *t)
{
    http_conn *c = t->data;
    if (c->state == CONN_READING && c->len > 0)
        LOG_INFO("admin", "closing connection from %s: no complete request within %d ms",
                 c->peer, BROOK_HTTP_REQUEST_TIMEOUT_MS);
    conn_close(c);
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    http_conn *c = r->data;
    if (c->closed)
        return;
    if (status < 0 || c->peer_eof) {
        conn_close(c);
        return;
    }
    /* Our FIN is out; drain the peer's input for a moment so that closing does not turn
     * into a reset that could destroy the response before the peer reads it. */
    c->state = CONN_LINGER;
    uv_timer_start(&c->timer, on_timer, BROOK_HTTP_LINGER_MS, 0);
}

static void on_write(uv_write_t *w, int status)
{
    http_conn *c = w->data;
    free(c->out);
    c->out = NULL;
    if (c->closed)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

/* Sends status + headers + body (the body writer is consumed; not sent for a HEAD or a
 * 304), then shuts down. */
static void conn_respond(http_conn *c, http_response *r, bool head_only)
{
    if (r->body.oom || r->body.len > BROOK_HTTP_RESPONSE_MAX) {
        LOG_ERROR("admin", "response to %s too large or out of memory; sending 500", c->peer);
        wr_free(&r->body);
        wr_init(&r->body, 64);
        wr_raw(&r->body, "{\"error\":\"response too large\"}\n", 31);
        r->status = 500;
        r->content_type = "application/json";
        r->allow = NULL;
        r->etag = NULL;
    }
    bool no_body = head_only || r->status == 304;
    char len_line[48] = "";
    if (r->status != 304)
        snprintf(len_line, sizeof(len_line), "Content-Length: %zu\r\n", r->body.len);
    char head[768];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%sCache-Control: %s\r\n"
                      "X-Content-Type-Options: nosniff\r\nConnection: close\r\n"
                      "%s%s%s%s%s%s%s\r\n",
                      r->status, http_status_reason(r->status),
                      r->content_type ? r->content_type : "application/json", len_line,
                      r->etag ? "no-cache" : "no-store", r->allow ? "Allow: " : "",
                      r->allow ? r->allow : "", r->allow ? "\r\n" : "", r->etag ? "ETag: " : "",
                      r->etag ? r->etag : "", r->etag ? "\r\n" : "",
                      r->cors ? "Access-Control-Allow-Origin: *\r\n" : "");
    BROOK_ASSERT(hn > 0 && (size_t)hn < sizeof(head));
    size_t body_len = no_body ? 0 : r->body.len;
    size_t total = (size_t)hn + body_len;
    c->out = malloc(total);
    if (!c->out) {
        wr_free(&r->body);
        conn_close(c);
        return;
    }
    memcpy(c->out, head, (size_t)hn);
    if (body_len)
        memcpy(c->out + hn, r->body.p, body_len);
    wr_free(&r->body);
    c->state = CONN_WRITING;
    c->write_req.data = c;
    uv_buf_t b = uv_buf_init((char *)c->out, (unsigned)total);
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        free(c->out);
        c->out = NULL;
        conn_close(c);
    }
}

static void respond_error(http_conn *c, int rc)
{
    http_response r = {.status = http_parse_result_status(rc),
                       .content_type = "application/json"};
    wr_init(&r.body, 128);
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "{\"error\":\"%s\"}\n", http_parse_result_name(rc));
    wr_raw(&r.body, msg, (size_t)n);
    LOG_INFO("admin", "%d to %s: %s", r.status, c->peer, http_parse_result_name(rc));
    conn_respond(c, &r, false);
}

static void conn_parse(http_conn *c)
{
    http_request req;
    int rc = http_parse_request(c->buf, c->len, BROOK_HTTP_HEAD_MAX, BROOK_HTTP_BODY_MAX, &req);
    if (rc == HTTP_PARSE_AGAIN) {
        if (c->len < CONN_BUF_MAX)
            return;
        rc = HTTP_PARSE_HEAD_TOO_LARGE; /* cannot happen with consistent caps; be safe */
    }
    if (rc != HTTP_PARSE_OK) {
        respond_error(c, rc);
        return;
    }
    http_response r = {.status = 200, .content_type = "application/json"};
    wr_init(&r.body, 1024);
    c->srv->o.handler(c->srv->o.ctx, &req, c->peer, &r);
    LOG_DEBUG("admin", "%.*s %.*s %d from %s", (int)req.method_len, req.method,
              (int)req.path_len, req.path, r.status, c->peer);
    conn_respond(c, &r, http_method_is(&req, "HEAD"));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    BROOK_UNUSED(suggested);
    http_conn *c = h->data;
    if (c->state != CONN_READING) {
        /* Draining: input is dropped, the buffer is scratch space. */
        *buf = uv_buf_init((char *)c->buf, (unsigned)(c->cap < CONN_DRAIN_CHUNK ? c->cap
                                                                               : CONN_DRAIN_CHUNK));
        return;
    }
    if (c->cap - c->len < CONN_BUF_INITIAL / 2 && c->cap < CONN_BUF_MAX) {
        size_t cap = c->cap * 2 > CONN_BUF_MAX ? CONN_BUF_MAX : c->cap * 2;
        uint8_t *p = realloc(c->buf, cap);
        if (p) {
            c->buf = p;
            c->cap = cap;
        }
    }
    /* A full buffer gives libuv no room; it then reports UV_ENOBUFS and we close. */
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    BROOK_UNUSED(buf);
    http_conn *c = st->data;
    if (c->closed)
        return;
    if (n < 0) {
        if (c->state != CONN_WRITING) {
            conn_close(c); /* EOF or error */
        } else {
            /* The response is still being written; on_write and on_shutdown finish. */
            c->peer_eof = true;
            uv_read_stop(st);
        }
        return;
    }
    if (c->state != CONN_READING || n == 0)
        return;
    c->len += (size_t)n;
    conn_parse(c);
}

static void on_listener_close(uv_handle_t *h) { free(h->data); }

static void on_connection(uv_stream_t *ls, int status)
{
    http_server *s = ls->data;
    if (status < 0) {
        LOG_WARN("admin", "accept failed: %s", uv_strerror(status));
        return;
    }
    http_conn *c = calloc(1, sizeof(*c));
    if (c)
        c->buf = malloc(CONN_BUF_INITIAL);
    if (!c || !c->buf) {
        /* Accept into nothing is impossible with libuv; without memory the pending
         * connection stays queued until memory returns. */
        if (c)
            free(c);
        LOG_WARN("admin", "out of memory accepting a connection");
        return;
    }
    c->cap = CONN_BUF_INITIAL;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    snprintf(c->peer, sizeof(c->peer), "?");
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family == AF_INET) {
        char ip[INET_ADDRSTRLEN];
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        uv_ip4_name(sin, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, ntohs(sin->sin_port));
    }
    if (s->nconns > BROOK_HTTP_CONN_MAX) {
        LOG_WARN("admin", "refusing connection from %s: %d admin connections open", c->peer,
                 BROOK_HTTP_CONN_MAX);
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, on_timer, BROOK_HTTP_REQUEST_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

int http_server_start(uv_loop_t *loop, const http_opts *o, http_server **out, int *port_out)
{
    *out = NULL;
    http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return UV_ENOMEM;
    s->loop = loop;
    s->o = *o;
    struct sockaddr_in addr;
    int rc = uv_ip4_addr(o->host, o->port, &addr);
    if (rc == 0)
        rc = uv_tcp_init(loop, &s->listener);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->listener.data = s;
    if ((rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection)) != 0) {
        uv_close((uv_handle_t *)&s->listener, on_listener_close);
        return rc;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *out = s;
    return 0;
}

void http_server_stop(http_server *s)
{
    while (s->conns)
        conn_close(s->conns);
    uv_close((uv_handle_t *)&s->listener, on_listener_close);
}

size_t http_server_conn_count(const http_server *s) { return s->nconns; }
