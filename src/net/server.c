/* server.c - see server.h. */
#include "net/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <uthash.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"

#define READ_CHUNK (64 * 1024)

struct net_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    net_opts o;
    net_conn *conns; /* doubly linked */
    size_t nconns;
    bool stopping;
    uv_timer_t *idle_timer; /* o.idle_ms > 0: the sweep of idle connections (own memory:
                             * its close may come after the server's) */
};

struct net_ip_count {
    char ip[64];
    int64_t n;
    UT_hash_handle hh;
};

/* Output queued behind a file span: pieces in send order. A response with file spans
 * (wr_file_span, sendfile) goes out as its buffer cut at the splices, with the spans between;
 * while one is queued, later responses queue behind it too. */
typedef struct out_piece {
    struct out_piece *next;
    uint8_t *mem;      /* owned bytes, or NULL: */
    size_t len;
    wr_file_span span; /* a file range; span.fd is owned (a dup) */
} out_piece;

/* Bytes sent by sendfile, and times a span waited for a full socket, all servers
 * (metrics). Loop thread only. */
static uint64_t g_sendfile_bytes, g_sendfile_waits;

struct net_conn {
    uv_tcp_t tcp;
    struct net_ip_count *counted; /* its address's entry in srv->o.limits */
    net_server *srv;
    net_conn *prev, *next;
    char peer[64];
    /* framing */
    uint8_t *rbuf; /* READ_CHUNK bytes of not-yet-framed input */
    size_t rlen;
    uint8_t *frame; /* a frame larger than what rbuf held, being filled in place */
    size_t frame_len, frame_got;
    /* requests in arrival order; responses leave from the head */
    net_request *head, *tail;
    size_t inflight;
    size_t out_bytes; /* response bytes handed to uv_write, not yet written */
    out_piece *outq, *outq_tail; /* waiting behind a file span (conn_pump) */
    uint64_t out_queued;         /* bytes in outq */
    bool reading, closed;
    bool closing; /* a close_after response was written: closes once it has left */
    bool quiet_close; /* closing was logged already (a TLS failure or close_notify) */
    tls_conn *tls;    /* NULL: plaintext */
    uint8_t *cbuf;    /* TLS: READ_CHUNK bytes of ciphertext just read */
    void *data;
    void (*data_free)(void *);
    /* muting (net_conn_mute): the timer is initialised on first use and closed with the
     * connection, which stays allocated until the timer's close callback has run */
    uv_timer_t mute_timer;
    bool mute_timer_live, muted;
    uint64_t mute_until_ms; /* uv_now */
    uint64_t active_ms;     /* uv_now of the last bytes read or written (idle sweep) */
    uint64_t serial;        /* net_conn_serial */
};

/* The serial the next accepted connection gets (process-wide; the loop is single-threaded). */
static uint64_t next_serial = 1;

typedef struct write_req {
    uv_write_t w;
    uint8_t *buf; /* freed once written; the bytes written are buf[skip, skip + len) */
    size_t skip, len;
    net_conn *conn;
} write_req;

static void conn_close(net_conn *c, const char *why);
static void conn_resume(net_conn *c);
static bool conn_busy(const net_conn *c);
static void on_listener_close(uv_handle_t *h) { free(h->data); }

const char *net_conn_peer(const net_conn *c) { return c->peer; }
const char *net_conn_tls_principal(const net_conn *c)
{
    return c->tls ? tls_conn_principal(c->tls) : NULL;
}
bool net_conn_is_closed(const net_conn *c) { return c->closed; }
size_t net_server_conn_count(const net_server *s) { return s->nconns; }
int net_conn_listener(const net_conn *c) { return c->srv->o.listener; }
uint64_t net_conn_serial(const net_conn *c) { return c->serial; }
uint64_t net_next_conn_serial(void) { return next_serial; }
void *net_conn_data(const net_conn *c) { return c->data; }

void net_conn_set_data(net_conn *c, void *data, void (*free_fn)(void *))
{
    if (c->data && c->data_free)
        c->data_free(c->data);
    c->data = data;
    c->data_free = free_fn;
}

uint64_t net_sendfile_bytes(void) { return g_sendfile_bytes; }
uint64_t net_sendfile_waits(void) { return g_sendfile_waits; }
bool net_conn_plaintext(const net_conn *c) { return c->tls == NULL; }

/* Nothing left to write: neither in libuv's queue nor behind a file span. */
static bool conn_out_empty(const net_conn *c) { return c->out_bytes == 0 && c->outq == NULL; }

static void piece_free(out_piece *p)
{
    if (p->mem)
        free(p->mem);
    else
        close(p->span.fd);
    free(p);
}

static void outq_free(net_conn *c)
{
    while (c->outq) {
        out_piece *p = c->outq;
        c->outq = p->next;
        piece_free(p);
    }
    c->outq_tail = NULL;
    c->out_queued = 0;
}

static void conn_maybe_free(net_conn *c)
{
    if (c->closed && c->head == NULL && c->out_bytes == 0 && c->tcp.data == NULL &&
        !c->mute_timer_live) {
        net_conn_set_data(c, NULL, NULL);
        tls_conn_free(c->tls);
        free(c->cbuf);
        free(c->rbuf);
        free(c->frame);
        free(c);
    }
}

/* Closes the dups of a response's file spans that never went out. */
static void resp_close_spans(wr *w)
{
    for (size_t i = 0; i < w->nsplices; i++)
        close(w->splices[i].span.fd);
    w->nsplices = 0;
}

static void request_free(net_request *r)
{
    if (r->spans_owned)
        resp_close_spans(&r->resp);
    arena_free(&r->arena);
    wr_free(&r->resp);
    free(r->frame);
    free(r);
}

static void conn_pump(net_conn *c);

static void on_write(uv_write_t *w, int status)
{
    write_req *wr_ = (write_req *)w;
    net_conn *c = wr_->conn;
    c->out_bytes -= wr_->len;
    /* the handle's loop, not c->srv's: at shutdown the server may be freed before the
     * connection's cancelled writes come back */
    c->active_ms = uv_now(c->tcp.loop);
    free(wr_->buf);
    free(wr_);
    if (status < 0 && !c->closed)
        conn_close(c, uv_strerror(status));
    else if (c->outq && c->out_bytes == 0 && !c->closed)
        conn_pump(c);
    if (c->closing && conn_out_empty(c) && !c->closed)
        conn_close(c, c->quiet_close ? NULL : "closed after its last answer");
    if (!c->closed && !c->reading && !conn_busy(c))
        conn_resume(c);
    conn_maybe_free(c);
}

/* Hands buf[skip, skip + len) to uv_write (ownership of buf taken: freed once written); a
 * failure closes the connection. */
static void conn_write_from(net_conn *c, uint8_t *buf, size_t skip, size_t len)
{
    BROOK_ASSERT(!c->closed && len > 0 && len <= UINT32_MAX);
    write_req *w = malloc(sizeof(*w));
    if (!w) {
        free(buf);
        conn_close(c, "out of memory");
        return;
    }
    w->conn = c;
    w->buf = buf;
    w->skip = skip;
    w->len = len;
    uv_buf_t b = uv_buf_init((char *)w->buf + skip, (unsigned)w->len);
    c->out_bytes += w->len;
    int rc = uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        c->out_bytes -= w->len;
        free(w->buf);
        free(w);
        conn_close(c, uv_strerror(rc));
    }
}

static void conn_write(net_conn *c, uint8_t *buf, size_t len) { conn_write_from(c, buf, 0, len); }

/* TLS: writes whatever ciphertext the session has queued (records, handshake messages,
 * alerts), keeping the order in which it was produced. */
static void conn_tls_send(net_conn *c)
{
    size_t len;
    uint8_t *b = tls_conn_take_out(c->tls, &len);
    if (b && !c->closed)
        conn_write(c, b, len);
    else if (len > 0 && !c->closed)
        conn_close(c, "out of memory");
    else
        free(b);
}

/* Stops reading and closes once what is queued has been written (the reason was logged by
 * the caller). */
static void conn_close_soon(net_conn *c)
{
    if (c->closed)
        return;
    c->closing = true;
    c->quiet_close = true;
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    if (conn_out_empty(c))
        conn_close(c, NULL);
}

/* Appends a piece to the connection's queue behind file spans. */
static bool outq_push(net_conn *c, uint8_t *mem, size_t len, const wr_file_span *span)
{
    out_piece *p = calloc(1, sizeof(*p));
    if (!p)
        return false;
    p->mem = mem;
    p->len = mem ? len : span->len;
    if (!mem)
        p->span = *span;
    if (c->outq_tail)
        c->outq_tail->next = p;
    else
        c->outq = p;
    c->outq_tail = p;
    c->out_queued += p->len;
    return true;
}

/* A copy of buffer bytes [from, to) queued as a piece (nothing when empty). */
static bool outq_push_copy(net_conn *c, const uint8_t *b, size_t from, size_t to)
{
    if (from == to)
        return true;
    uint8_t *m = malloc(to - from);
    if (!m)
        return false;
    memcpy(m, b + from, to - from);
    if (outq_push(c, m, to - from, NULL))
        return true;
    free(m);
    return false;
}

/* A plaintext response with file spans: its buffer cut at the splices (copies of the small
 * pieces between them) and the spans, queued in order; the spans' fds pass to the queue. */
static void conn_queue_spliced(net_conn *c, net_request *r)
{
    wr *w = &r->resp;
    size_t at = 0;
    bool ok = true;
    for (size_t i = 0; i < w->nsplices && ok; i++) {
        ok = outq_push_copy(c, w->p, at, w->splices[i].at) &&
             outq_push(c, NULL, 0, &w->splices[i].span);
        if (ok)
            w->splices[i].span.fd = -1; /* the queue owns it now */
        at = w->splices[i].at;
    }
    ok = ok && outq_push_copy(c, w->p, at, w->len);
    for (size_t i = 0; i < w->nsplices; i++)
        if (w->splices[i].span.fd >= 0)
            close(w->splices[i].span.fd);
    w->nsplices = 0;
    if (!ok)
        conn_close(c, "out of memory queueing an answer");
}

/* Writes buf at once when libuv's queue is empty (uv_try_write); whatever does not fit goes
 * through uv_write. Takes buf. Why: a span queued behind it need not wait a loop turn for
 * on_write, and an answer written whole costs no write request, no callback and none of the
 * epoll_ctl that libuv makes after every finished uv_write (it re-arms the descriptor's
 * interest set when it stops waiting for writability). */
static void conn_write_now(net_conn *c, uint8_t *buf, size_t len)
{
    size_t skip = 0;
    if (c->out_bytes == 0) {
        uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n > 0) {
            c->active_ms = uv_now(c->tcp.loop);
            if ((size_t)n == len) {
                free(buf);
                return;
            }
            skip = (size_t)n;
        } else if (n != UV_EAGAIN) {
            free(buf);
            conn_close(c, uv_strerror(n));
            return;
        }
    }
    conn_write_from(c, buf, skip, len - skip);
}

/* Writes the queue behind file spans: memory pieces through uv_write, file spans with
 * sendfile once libuv's queue is empty (bytes must leave in order). When the socket is full
 * one byte of the span goes through uv_write instead, so that libuv's wait for
 * writability calls us back (on_write); the rest follows by sendfile. */
static void conn_pump(net_conn *c)
{
    uv_os_fd_t sock;
    while (c->outq && !c->closed) {
        out_piece *p = c->outq;
        if (p->mem) {
            c->outq = p->next;
            c->out_queued -= p->len;
            conn_write_now(c, p->mem, p->len); /* takes the memory */
            free(p);
            continue;
        }
        if (p->len == 0) { /* a span sent whole */
            c->outq = p->next;
            piece_free(p);
            continue;
        }
        if (c->out_bytes > 0)
            return; /* on_write comes back when libuv's queue is empty */
        if (*p->span.guard != p->span.guard_val) {
            conn_close(c, "a log was truncated under a fetch answer waiting to be sent");
            break;
        }
        if (uv_fileno((uv_handle_t *)&c->tcp, &sock) != 0) {
            conn_close(c, "no socket descriptor");
            break;
        }
        off_t off = (off_t)p->span.pos;
        ssize_t n = sendfile(sock, p->span.fd, &off, p->len < (1u << 30) ? p->len : (1u << 30));
        if (n > 0) {
            p->span.pos += (uint64_t)n;
            p->len -= (size_t)n;
            c->out_queued -= (uint64_t)n;
            g_sendfile_bytes += (uint64_t)n;
            c->active_ms = uv_now(c->tcp.loop);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            uint8_t *one = malloc(1);
            if (!one || pread(p->span.fd, one, 1, (off_t)p->span.pos) != 1) {
                free(one);
                conn_close(c, "cannot read a segment file for a fetch answer");
                break;
            }
            p->span.pos++;
            p->len--;
            c->out_queued--;
            g_sendfile_waits++;
            conn_write(c, one, 1);
            return;
        }
        conn_close(c, n == 0 ? "a segment file ended before its fetch answer did"
                             : strerror(errno));
        break;
    }
    if (!c->outq)
        c->outq_tail = NULL; /* conn_close has freed the queue when closed */
    if (!c->closed && !c->reading && !conn_busy(c))
        conn_resume(c); /* nothing may come back through on_write to do it */
}

/* One response frame onto the socket: as it is, or encrypted (r keeps its buffer). */
static void conn_send_response(net_conn *c, net_request *r)
{
    if (!c->tls && (r->resp.nsplices > 0 || c->outq)) {
        if (r->resp.nsplices > 0) {
            conn_queue_spliced(c, r);
        } else {
            size_t len;
            uint8_t *buf = wr_take(&r->resp, &len);
            if (!outq_push(c, buf, len, NULL)) {
                free(buf);
                conn_close(c, "out of memory queueing an answer");
            }
        }
        if (!c->closed)
            conn_pump(c);
        return;
    }
    BROOK_ASSERT(r->resp.nsplices == 0); /* net_request_done read them in */
    if (!c->tls) {
        size_t len;
        uint8_t *buf = wr_take(&r->resp, &len);
        conn_write_now(c, buf, len);
        return;
    }
    int rc = tls_conn_write(c->tls, r->resp.p, r->resp.len);
    if (rc != TLS_OK) {
        LOG_INFO("net", "closing connection from %s: %s", c->peer,
                 *tls_conn_error(c->tls) ? tls_conn_error(c->tls) : tls_result_name(rc));
        conn_close_soon(c);
        return;
    }
    conn_tls_send(c);
}

/* Writes every finished response at the head of the queue, in order. */
static void conn_flush(net_conn *c)
{
    while (c->head && c->head->done) {
        net_request *r = c->head;
        c->head = r->next;
        if (!c->head)
            c->tail = NULL;
        c->inflight--;
        if (!c->closed && !c->closing && !r->no_response && r->resp.len > 0 &&
            !r->resp.oom) {
            conn_send_response(c, r);
        } else if (!c->closed && r->resp.oom) {
            conn_close(c, "out of memory building a response");
        }
        if (r->close_after && !c->closed && !c->closing) {
            c->closing = true;
            if (c->reading)
                uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
            if (conn_out_empty(c))
                conn_close(c, "closed after its last answer");
        }
        request_free(r);
    }
    /* Requests left the queue: reading may go on. On TLS on_write does it (a resume there
     * pumps the session, which may finish requests and flush again). */
    if (!c->tls && !c->closed && !c->closing && !c->reading && !conn_busy(c))
        conn_resume(c);
    conn_maybe_free(c);
}

/* Replaces a response's file spans by their bytes (a TLS connection, or no descriptor to
 * spare). The spans' fds are still the borrowed ones. Returns false on a read or memory
 * failure (the response is then marked oom). */
static bool resp_read_spans(wr *w)
{
    wr flat;
    wr_init(&flat, w->len + (size_t)w->spliced);
    size_t at = 0;
    for (size_t i = 0; i < w->nsplices && !flat.oom; i++) {
        const wr_splice *sp = &w->splices[i];
        wr_raw(&flat, w->p + at, sp->at - at);
        at = sp->at;
        wr_reserve(&flat, sp->span.len);
        size_t got = 0;
        while (!flat.oom && got < sp->span.len) {
            ssize_t n = pread(sp->span.fd, flat.p + flat.len + got, sp->span.len - got,
                              (off_t)(sp->span.pos + got));
            if (n <= 0 && !(n < 0 && errno == EINTR))
                flat.oom = true;
            else if (n > 0)
                got += (size_t)n;
        }
        flat.len += got;
    }
    wr_raw(&flat, w->p + at, w->len - at);
    bool ok = !flat.oom;
    flat.flex = w->flex;
    wr_free(w);
    *w = flat;
    w->oom = !ok;
    return ok;
}

/* The response's file spans are borrowed from the log until now: they become dups the
 * request owns (the log may close or reuse its descriptors before the answer leaves). */
static void resp_own_spans(net_request *r)
{
    wr *w = &r->resp;
    if (w->nsplices == 0)
        return;
    int *dups = r->conn->tls ? NULL : malloc(w->nsplices * sizeof(int));
    size_t i = 0;
    for (; dups && i < w->nsplices; i++)
        if ((dups[i] = fcntl(w->splices[i].span.fd, F_DUPFD_CLOEXEC, 0)) < 0)
            break;
    if (dups && i == w->nsplices) {
        for (i = 0; i < w->nsplices; i++)
            w->splices[i].span.fd = dups[i];
        r->spans_owned = true;
        free(dups);
        return;
    }
    if (!r->conn->tls) /* out of descriptors or memory: send the bytes instead */
        LOG_WARN("net", "cannot dup a segment descriptor (%s): answering %s by copy",
                 dups ? strerror(errno) : "out of memory", r->conn->peer);
    for (size_t k = 0; dups && k < i; k++)
        close(dups[k]);
    free(dups);
    resp_read_spans(w);
}

void net_request_done(net_request *req)
{
    BROOK_ASSERT(!req->done);
    req->done = true;
    resp_own_spans(req);
    conn_flush(req->conn);
}

void net_request_fail(net_request *req, const char *why)
{
    conn_close(req->conn, why);
    req->no_response = true;
    net_request_done(req);
}

static void on_close(uv_handle_t *h)
{
    net_conn *c = h->data;
    h->data = NULL;
    conn_maybe_free(c);
}

/* The cap of an address: its override, else max_per_ip (<= 0: none). */
static int64_t ip_cap(const net_limits *l, const char *ip)
{
    size_t n = strlen(ip);
    for (const char *p = l->overrides; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        if (colon && (size_t)(colon - p) == n && strncmp(p, ip, n) == 0)
            return strtoll(colon + 1, NULL, 10);
        p += len + (p[len] == ',');
    }
    return l->max_per_ip > 0 ? l->max_per_ip : INT64_MAX;
}

bool net_limits_overrides_valid(const char *overrides)
{
    for (const char *p = overrides; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        char *end;
        if (!colon || colon == p || colon + 1 == p + len ||
            strtoll(colon + 1, &end, 10) < 0 || end != p + len)
            return false;
        p += len + (p[len] == ',');
    }
    return true;
}

/* Counts c against the caps, or refuses it (false: over a cap; logged). */
static bool limits_admit(net_limits *l, net_conn *c, const char *ip)
{
    if (!l)
        return true;
    struct net_ip_count *e = NULL;
    HASH_FIND_STR(l->by_ip, ip, e);
    const char *why = l->max_total > 0 && l->total >= l->max_total ? "max.connections"
                      : (e ? e->n : 0) >= ip_cap(l, ip)             ? "max.connections.per.ip"
                                                                    : NULL;
    if (!why && !e && (e = calloc(1, sizeof(*e))) != NULL) {
        snprintf(e->ip, sizeof(e->ip), "%s", ip);
        HASH_ADD_STR(l->by_ip, ip, e);
    }
    if (why || !e) {
        l->refused++;
        LOG_WARN("net", "refusing a connection from %s: %s reached (%lld open)", c->peer,
                 why ? why : "out of memory", (long long)l->total);
        return false;
    }
    e->n++;
    l->total++;
    c->counted = e;
    return true;
}

static void limits_release(net_limits *l, net_conn *c)
{
    struct net_ip_count *e = c->counted;
    if (!l || !e)
        return;
    c->counted = NULL;
    l->total--;
    if (--e->n == 0) {
        HASH_DEL(l->by_ip, e);
        free(e);
    }
}

static void on_mute_timer_close(uv_handle_t *h)
{
    net_conn *c = h->data;
    c->mute_timer_live = false;
    conn_maybe_free(c);
}

static void conn_close(net_conn *c, const char *why)
{
    if (c->closed)
        return;
    c->closed = true;
    outq_free(c);
    if (c->mute_timer_live)
        uv_close((uv_handle_t *)&c->mute_timer, on_mute_timer_close);
    if (why)
        LOG_INFO("net", "closing connection from %s: %s", c->peer, why);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->srv->nconns--;
    limits_release(c->srv->o.limits, c);
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

/* Queues one complete frame (ownership of `frame` passes to the request). */
static void conn_dispatch(net_conn *c, uint8_t *frame, size_t len)
{
    if (c->closing) { /* nothing after a closing answer is served */
        free(frame);
        return;
    }
    net_request *r = calloc(1, sizeof(*r));
    if (!r) {
        free(frame);
        conn_close(c, "out of memory");
        return;
    }
    r->conn = c;
    r->frame = frame;
    r->len = len;
    arena_init(&r->arena);
    wr_init(&r->resp, 256);
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->inflight++;
    c->srv->o.dispatch(c->srv->o.ctx, r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    BROOK_UNUSED(suggested);
    net_conn *c = h->data;
    if (c->tls) /* ciphertext first: it is decrypted into the buffers below */
        *buf = uv_buf_init((char *)c->cbuf, READ_CHUNK);
    else if (c->frame) /* read straight into the big frame */
        *buf = uv_buf_init((char *)c->frame + c->frame_got,
                           (unsigned)(c->frame_len - c->frame_got));
    else
        *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(READ_CHUNK - c->rlen));
}

/* Cuts complete frames out of rbuf; a frame larger than rbuf gets its own buffer. */
static void conn_parse(net_conn *c)
{
    size_t off = 0;
    while (!c->closed && c->rlen - off >= 4) {
        int32_t size = (int32_t)be32_get(c->rbuf + off);
        if (size < 8 || size > c->srv->o.max_frame_bytes) {
            char why[96];
            snprintf(why, sizeof(why), "frame size %d outside [8, %d] (socket.request.max.bytes)",
                     size, c->srv->o.max_frame_bytes);
            conn_close(c, why);
            return;
        }
        size_t have = c->rlen - off - 4;
        uint8_t *frame = malloc((size_t)size);
        if (!frame) {
            conn_close(c, "out of memory");
            return;
        }
        if (have >= (size_t)size) {
            memcpy(frame, c->rbuf + off + 4, (size_t)size);
            off += 4 + (size_t)size;
            conn_dispatch(c, frame, (size_t)size);
            continue;
        }
        memcpy(frame, c->rbuf + off + 4, have);
        c->frame = frame;
        c->frame_len = (size_t)size;
        c->frame_got = have;
        off = c->rlen;
        break;
    }
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

static bool conn_busy(const net_conn *c)
{
    return c->muted || c->inflight >= BROOK_CONN_INFLIGHT_MAX ||
           c->out_bytes + c->out_queued >= BROOK_CONN_OUTBUF_MAX;
}

static void conn_pause_if_busy(net_conn *c)
{
    if (c->reading && conn_busy(c)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* n plaintext bytes arrived where on_alloc (or the TLS pump) put them: frames them. */
static void conn_got(net_conn *c, size_t n)
{
    if (c->frame) {
        c->frame_got += (size_t)n;
        if (c->frame_got == c->frame_len) {
            uint8_t *f = c->frame;
            c->frame = NULL;
            conn_dispatch(c, f, c->frame_len);
        }
    } else {
        c->rlen += n;
        conn_parse(c);
    }
}

/* A TLS session that ended: logs why once (a failed handshake, garbage, close_notify)
 * and closes after sending the alert or the answering close_notify. */
static void conn_tls_end(net_conn *c, int rc)
{
    if (rc == TLS_EOF) {
        LOG_DEBUG("net", "connection from %s: close_notify", c->peer);
        tls_conn_close_notify(c->tls);
    } else {
        LOG_INFO("net", "closing connection from %s: %s", c->peer,
                 *tls_conn_error(c->tls) ? tls_conn_error(c->tls) : tls_result_name(rc));
    }
    conn_tls_send(c);
    conn_close_soon(c);
}

/* Decrypts what the session holds into the framing buffers, dispatching complete frames,
 * until it needs more ciphertext, the connection is busy (backpressure: resumed by
 * conn_resume) or it closes; then sends what the session queued (handshake messages,
 * session tickets). */
static void conn_tls_pump(net_conn *c)
{
    bool was_established = tls_conn_established(c->tls);
    while (!c->closed && !c->closing && !conn_busy(c)) {
        uint8_t *dst = c->frame ? c->frame + c->frame_got : c->rbuf + c->rlen;
        size_t cap = c->frame ? c->frame_len - c->frame_got : READ_CHUNK - c->rlen;
        size_t got = 0;
        int rc = tls_conn_read(c->tls, dst, cap, &got);
        if (!was_established && tls_conn_established(c->tls)) {
            was_established = true;
            char what[96];
            tls_conn_describe(c->tls, what, sizeof(what));
            const char *who = tls_conn_principal(c->tls);
            LOG_DEBUG("net", "TLS from %s: %s, %s", c->peer, what, who ? who : "no certificate");
        }
        if (rc == TLS_AGAIN)
            break;
        if (rc != TLS_OK) {
            conn_tls_end(c, rc);
            return;
        }
        conn_got(c, got);
    }
    if (!c->closed)
        conn_tls_send(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    BROOK_UNUSED(buf);
    net_conn *c = s->data;
    if (n < 0) {
        conn_close(c, n == UV_EOF ? NULL : uv_strerror((int)n));
        return;
    }
    c->active_ms = uv_now(c->tcp.loop);
    if (c->tls) {
        if (tls_conn_feed(c->tls, c->cbuf, (size_t)n) != TLS_OK)
            conn_close(c, "out of memory");
        else
            conn_tls_pump(c);
    } else {
        conn_got(c, (size_t)n);
    }
    if (!c->closed)
        conn_pause_if_busy(c);
}

/* Starts (or restarts, after backpressure) reading from the socket. */
static void conn_resume(net_conn *c)
{
    if (c->closed || c->reading || c->muted)
        return;
    if (c->tls) { /* the session may hold records read before the pause */
        conn_tls_pump(c);
        if (c->closed || c->closing || conn_busy(c))
            return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

static void on_unmute(uv_timer_t *t)
{
    net_conn *c = t->data;
    c->muted = false;
    if (!c->closed && !c->closing && !conn_busy(c))
        conn_resume(c);
}

void net_conn_mute(net_conn *c, uint32_t ms)
{
    if (c->closed || ms == 0)
        return;
    uv_loop_t *loop = c->srv->loop;
    uint64_t until = uv_now(loop) + ms;
    if (c->muted && until <= c->mute_until_ms)
        return;
    if (!c->mute_timer_live) {
        uv_timer_init(loop, &c->mute_timer);
        c->mute_timer.data = c;
        c->mute_timer_live = true;
    }
    c->muted = true;
    c->mute_until_ms = until;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    uv_timer_start(&c->mute_timer, on_unmute, ms, 0);
}

bool net_conn_muted(const net_conn *c) { return c->muted; }

static void on_connection(uv_stream_t *ls, int status)
{
    net_server *srv = ls->data;
    if (status < 0) {
        LOG_WARN("net", "accept failed: %s", uv_strerror(status));
        return;
    }
    net_conn *c = calloc(1, sizeof(*c));
    if (!c || !(c->rbuf = malloc(READ_CHUNK))) {
        free(c);
        LOG_WARN("net", "out of memory accepting a connection");
        return;
    }
    c->srv = srv;
    c->serial = next_serial++;
    if (srv->o.tls && (!(c->cbuf = malloc(READ_CHUNK)) || !(c->tls = tls_conn_new(srv->o.tls,
                                                                                    NULL)))) {
        free(c->cbuf);
        free(c->rbuf);
        free(c);
        LOG_WARN("net", "out of memory accepting a TLS connection");
        return;
    }
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        c->closed = true;
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    snprintf(c->peer, sizeof(c->peer), "?");
    char ip[INET_ADDRSTRLEN] = "?";
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        uv_ip4_name(sin, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, ntohs(sin->sin_port));
    }
    if (!limits_admit(srv->o.limits, c, ip)) {
        c->closed = true; /* never linked nor counted: freed by on_close */
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    LOG_DEBUG("net", "connection from %s", c->peer);
    c->active_ms = uv_now(srv->loop);
    conn_resume(c);
}

/* connections.max.idle.ms: closes the connections that have nothing in flight (no request
 * pending, no answer being written) and have read and written nothing for idle_ms. A TLS
 * or SASL handshake that never comes is idleness too. */
static void on_idle_sweep(uv_timer_t *t)
{
    net_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    for (net_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->closing && c->head == NULL && conn_out_empty(c) &&
            now - c->active_ms >= (uint64_t)s->o.idle_ms)
            conn_close(c, "idle for connections.max.idle.ms");
    }
}

static void on_idle_timer_close(uv_handle_t *h) { free(h); }

/* The sweep runs a tenth of the idle time apart (0.1 s to 10 s), so a connection goes at
 * most 10% after its time. */
static int idle_sweep_start(net_server *s)
{
    if (s->o.idle_ms <= 0)
        return 0;
    if (!(s->idle_timer = malloc(sizeof(*s->idle_timer))))
        return UV_ENOMEM;
    uv_timer_init(s->loop, s->idle_timer);
    s->idle_timer->data = s;
    int64_t every = s->o.idle_ms / 10;
    every = every < 100 ? 100 : every > 10000 ? 10000 : every;
    return uv_timer_start(s->idle_timer, on_idle_sweep, (uint64_t)every, (uint64_t)every);
}

int net_server_start(uv_loop_t *loop, const net_opts *o, net_server **out, int *port_out)
{
    net_server *s = calloc(1, sizeof(*s));
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
        (rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection)) != 0) {
        uv_close((uv_handle_t *)&s->listener, on_listener_close);
        *out = NULL;
        return rc;
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *out = s;
    return idle_sweep_start(s);
}

void net_server_stop(net_server *s)
{
    while (s->conns)
        conn_close(s->conns, NULL);
    if (s->idle_timer)
        uv_close((uv_handle_t *)s->idle_timer, on_idle_timer_close);
    uv_close((uv_handle_t *)&s->listener, on_listener_close);
}
