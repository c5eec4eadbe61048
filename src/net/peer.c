/* peer.c - see peer.h. */
#include "net/peer.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/log.h"
#include "sec/scram.h"
#include "sec/tls.h"

/* Bytes of not-yet-framed input per connection; a larger response gets its own buffer. */
#define READ_CHUNK (64 * 1024)
/* Longest host string kept for a broker (numeric addresses fit, with room for brackets). */
#define HOST_MAX 64

typedef struct peer_conn peer_conn;

/* One request from peer_send until its callback runs. It sits in its connection's queue
 * (in write order) until answered or failed, or in the pool's done list once its failure
 * is decided but its callback has not run yet. */
typedef struct peer_req {
    struct peer_req *next;
    peer_cb cb;
    void *ctx;
    uint8_t *frame; /* owned until handed to uv_write */
    size_t frame_len;
    uint64_t deadline_ms; /* loop time */
    int32_t corr;
    int status; /* on the done list: what the callback gets */
    bool written;
} peer_req;

/* A remote broker: its address, current connection and backoff. */
typedef struct peer_node {
    int32_t id;
    char host[HOST_MAX];
    int port;
    bool has_addr;
    struct sockaddr_storage addr;
    peer_conn *conn;      /* NULL: none open */
    uint32_t backoff_ms;  /* the next failed connect waits this long */
    uint64_t retry_at_ms; /* loop time before which sends fail without a connect */
    UT_hash_handle hh;
} peer_node;

/* A connection: allocated until its uv_close callback, which comes after the callbacks
 * of its connect and write requests (libuv cancels them on close). */
struct peer_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    peer_pool *pp;
    peer_node *node; /* NULL once closed */
    int32_t broker_id;
    peer_req *head, *tail; /* written ones first, in write order */
    uint8_t *rbuf;         /* READ_CHUNK bytes */
    size_t rlen;
    uint8_t *frame; /* a response larger than rbuf, being filled in place */
    size_t frame_len, frame_got;
    bool connected, closed;
    bool ready;    /* connected and logged in: requests may be written */
    int sasl_step; /* the SASL exchange's answer awaited (peer_sasl_step); 0: none */
    int32_t sasl_corr;
    scram_client *scram;
    tls_conn *tls; /* NULL: plaintext */
    uint8_t *cbuf; /* TLS: READ_CHUNK bytes of ciphertext just read */
    bool answered; /* a response came: the other broker accepted this connection (under
                    * TLS 1.3 a refused client certificate shows only after the handshake) */
};

typedef struct peer_write {
    uv_write_t w;
    uint8_t *buf;
    peer_conn *conn;
} peer_write;

struct peer_pool {
    uv_loop_t *loop;
    uv_timer_t tick; /* deadline checks, active while requests are pending */
    uv_idle_t idle;  /* runs the done list for failures decided outside loop callbacks */
    int32_t self_id;
    char *client_id;
    peer_node *nodes; /* uthash by id */
    peer_req *done_head, *done_tail;
    size_t pending; /* requests whose callback has not run */
    int32_t next_corr;
    int open_handles; /* the pool is freed when stopped and this reaches 0 */
    bool stopped;
    tls_ctx *tls; /* client context: every connection speaks TLS; NULL: plaintext */
    int sasl_mech;                    /* scram_mech; 0: no SASL login */
    char *sasl_user, *sasl_password; /* owned; the password cleansed when freed */
};

/* The SASL login of a connection: which answer it awaits. */
enum peer_sasl_step { SASL_NONE = 0, SASL_HANDSHAKE, SASL_FIRST, SASL_FINAL };

/* ---------------- requests and the done list ---------------- */

static void req_free(peer_req *r)
{
    free(r->frame);
    free(r);
}

/* Decides a request's failure; its callback runs when the done list is next drained. */
static void req_fail(peer_pool *pp, peer_req *r, int status)
{
    r->status = status;
    r->next = NULL;
    if (pp->done_tail)
        pp->done_tail->next = r;
    else
        pp->done_head = r;
    pp->done_tail = r;
}

/* Runs the callbacks of the done list, oldest first. Called at the end of every loop
 * callback, from the idle handle and from peer_pool_stop; a callback may add to the list
 * (a failed peer_send) and those run in the same drain. */
static void pool_drain(peer_pool *pp)
{
    while (pp->done_head) {
        peer_req *r = pp->done_head;
        pp->done_head = r->next;
        if (!pp->done_head)
            pp->done_tail = NULL;
        pp->pending--;
        peer_cb cb = r->cb;
        void *ctx = r->ctx;
        int status = r->status;
        req_free(r);
        cb(ctx, status, NULL, 0);
    }
}

static void on_idle(uv_idle_t *h)
{
    peer_pool *pp = h->data;
    uv_idle_stop(h);
    pool_drain(pp);
}

/* Makes sure the done list is drained on the next loop iteration (for failures decided
 * inside API calls, whose callbacks must not run re-entrantly). */
static void pool_kick(peer_pool *pp)
{
    if (pp->done_head && !pp->stopped && !uv_is_active((uv_handle_t *)&pp->idle))
        uv_idle_start(&pp->idle, on_idle);
}

static void pool_maybe_free(peer_pool *pp)
{
    if (pp->stopped && pp->open_handles == 0) {
        BROOK_ASSERT(pp->done_head == NULL && pp->pending == 0);
        free(pp->client_id);
        free(pp->sasl_user);
        if (pp->sasl_password)
            OPENSSL_cleanse(pp->sasl_password, strlen(pp->sasl_password));
        free(pp->sasl_password);
        free(pp);
    }
}

static void on_pool_handle_close(uv_handle_t *h)
{
    peer_pool *pp = h->data;
    pp->open_handles--;
    pool_maybe_free(pp);
}

/* ---------------- connections ---------------- */

static void node_backoff(peer_pool *pp, peer_node *n)
{
    n->retry_at_ms = uv_now(pp->loop) + n->backoff_ms;
    n->backoff_ms = n->backoff_ms * 2 > PEER_BACKOFF_MAX_MS ? PEER_BACKOFF_MAX_MS
                                                            : n->backoff_ms * 2;
}

static void on_conn_close(uv_handle_t *h)
{
    peer_conn *c = h->data;
    peer_pool *pp = c->pp;
    BROOK_ASSERT(c->closed && c->head == NULL);
    tls_conn_free(c->tls);
    free(c->scram);
    free(c->cbuf);
    free(c->rbuf);
    free(c->frame);
    free(c);
    pp->open_handles--;
    pool_maybe_free(pp);
}

/* Closes the connection and decides every request still queued on it with `status`. */
static void conn_close(peer_conn *c, int status, const char *why)
{
    if (c->closed)
        return;
    c->closed = true;
    if (why)
        LOG_INFO("peer", "connection %d -> broker %d closed: %s", c->pp->self_id,
                 c->broker_id, why);
    if (c->node) {
        c->node->conn = NULL;
        c->node = NULL;
    }
    peer_req *r = c->head;
    c->head = c->tail = NULL;
    while (r) {
        peer_req *next = r->next;
        req_fail(c->pp, r, status);
        r = next;
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_close);
}

static void on_write(uv_write_t *w, int status)
{
    peer_write *pw = (peer_write *)w;
    peer_conn *c = pw->conn;
    peer_pool *pp = c->pp;
    free(pw->buf);
    free(pw);
    if (status < 0 && !c->closed) {
        conn_close(c, PEER_ERR_CLOSED, uv_strerror(status));
        pool_drain(pp);
    }
}

/* Hands buf (ownership taken) to libuv; on failure the connection closes. Written at once
 * when libuv's queue is empty (uv_try_write): a frame that fits costs no write request and
 * none of the epoll_ctl libuv makes after each finished uv_write; the rest, or all of it
 * behind queued frames, goes through uv_write. */
static void conn_write_buf(peer_conn *c, uint8_t *buf, size_t len)
{
    size_t skip = 0;
    uv_buf_t now = uv_buf_init((char *)buf, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &now, 1);
    if (n == (int)len) {
        free(buf);
        return;
    }
    if (n > 0) {
        skip = (size_t)n;
    } else if (n != UV_EAGAIN) {
        free(buf);
        conn_close(c, PEER_ERR_CLOSED, uv_strerror(n));
        return;
    }
    peer_write *pw = malloc(sizeof(*pw));
    if (!pw) {
        free(buf);
        conn_close(c, PEER_ERR_CLOSED, "out of memory");
        return;
    }
    pw->conn = c;
    pw->buf = buf;
    uv_buf_t b = uv_buf_init((char *)pw->buf + skip, (unsigned)(len - skip));
    int rc = uv_write(&pw->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        free(pw->buf);
        free(pw);
        conn_close(c, PEER_ERR_CLOSED, uv_strerror(rc));
    }
}

/* TLS: writes the ciphertext the session has queued (handshake messages, records). */
static void conn_tls_send(peer_conn *c)
{
    size_t len;
    uint8_t *b = tls_conn_take_out(c->tls, &len);
    if (b && !c->closed)
        conn_write_buf(c, b, len);
    else if (len > 0 && !c->closed)
        conn_close(c, PEER_ERR_CLOSED, "out of memory");
    else
        free(b);
}

/* Hands a request's frame to libuv (through the TLS session, which holds it until its
 * handshake is done); on failure the connection closes. */
static void conn_write_frame(peer_conn *c, uint8_t **frame, size_t len)
{
    if (!c->tls) {
        uint8_t *buf = *frame;
        *frame = NULL;
        conn_write_buf(c, buf, len);
        return;
    }
    int rc = tls_conn_write(c->tls, *frame, len);
    if (rc != TLS_OK) {
        conn_close(c, PEER_ERR_CLOSED, tls_result_name(rc));
        return;
    }
    conn_tls_send(c);
}

static void conn_write(peer_conn *c, peer_req *r)
{
    BROOK_ASSERT(c->ready && !c->closed && !r->written);
    r->written = true;
    conn_write_frame(c, &r->frame, r->frame_len);
}

/* One complete response frame (p = the bytes after the size). Matches the correlation id
 * among the written requests; an unknown id means the stream can no longer be trusted. */
static void conn_sasl_answer(peer_conn *c, const uint8_t *p, size_t size);

static void conn_deliver(peer_conn *c, const uint8_t *p, size_t size)
{
    if (!c->answered && c->tls && !c->pp->sasl_mech) { /* with SASL: once logged in */
        c->node->backoff_ms = PEER_BACKOFF_MIN_MS;
        c->node->retry_at_ms = 0;
    }
    c->answered = true;
    if (c->sasl_step != SASL_NONE) { /* nothing else is written before the login is done */
        conn_sasl_answer(c, p, size);
        return;
    }
    int32_t corr = (int32_t)be32_get(p);
    peer_req *prev = NULL, *r = c->head;
    while (r && r->written && r->corr != corr) {
        prev = r;
        r = r->next;
    }
    if (!r || !r->written) {
        char why[80];
        snprintf(why, sizeof(why), "response with unknown correlation id %d", corr);
        conn_close(c, PEER_ERR_CLOSED, why);
        return;
    }
    if (prev) {
        LOG_DEBUG("peer", "broker %d answered correlation id %d out of order", c->broker_id,
                  corr);
        prev->next = r->next;
    } else {
        c->head = r->next;
    }
    if (c->tail == r)
        c->tail = prev;
    c->pp->pending--;
    peer_cb cb = r->cb;
    void *ctx = r->ctx;
    req_free(r);
    cb(ctx, 0, p + 4, size - 4);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    BROOK_UNUSED(suggested);
    peer_conn *c = h->data;
    if (c->tls)
        *buf = uv_buf_init((char *)c->cbuf, READ_CHUNK);
    else if (c->frame)
        *buf = uv_buf_init((char *)c->frame + c->frame_got,
                           (unsigned)(c->frame_len - c->frame_got));
    else
        *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(READ_CHUNK - c->rlen));
}

/* Cuts complete responses out of rbuf and delivers them in place; a response larger than
 * rbuf moves to its own buffer. Stops as soon as a callback closes the connection. */
static void conn_parse(peer_conn *c)
{
    size_t off = 0;
    while (!c->closed && c->rlen - off >= 4) {
        int32_t size = (int32_t)be32_get(c->rbuf + off);
        if (size < 4 || size > PEER_RESPONSE_MAX) {
            char why[96];
            snprintf(why, sizeof(why), "response size %d outside [4, %d]", size,
                     PEER_RESPONSE_MAX);
            conn_close(c, PEER_ERR_CLOSED, why);
            return;
        }
        size_t have = c->rlen - off - 4;
        if (have >= (size_t)size) {
            size_t at = off + 4;
            off += 4 + (size_t)size;
            conn_deliver(c, c->rbuf + at, (size_t)size);
            continue;
        }
        if (4 + (size_t)size <= READ_CHUNK)
            break; /* fits in rbuf: wait for the rest */
        uint8_t *frame = malloc((size_t)size);
        if (!frame) {
            conn_close(c, PEER_ERR_CLOSED, "out of memory");
            return;
        }
        memcpy(frame, c->rbuf + off + 4, have);
        c->frame = frame;
        c->frame_len = (size_t)size;
        c->frame_got = have;
        off = c->rlen;
    }
    if (!c->closed && off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
}

/* n response bytes arrived where on_alloc (or the TLS pump) put them. */
static void conn_got(peer_conn *c, size_t n)
{
    if (c->frame) {
        c->frame_got += n;
        if (c->frame_got == c->frame_len) {
            uint8_t *f = c->frame;
            c->frame = NULL;
            conn_deliver(c, f, c->frame_len);
            free(f);
        }
    } else {
        c->rlen += n;
        conn_parse(c);
    }
}

/* A TLS session that failed: before the first answer this counts as a failed connect
 * (backoff, PEER_ERR_UNREACHABLE; a TLS 1.3 server refuses a client certificate only after
 * the client's handshake is done), after it as a lost connection. */
static void conn_tls_fail(peer_conn *c, int rc)
{
    const char *why = *tls_conn_error(c->tls) ? tls_conn_error(c->tls) : tls_result_name(rc);
    if (c->answered) { /* a session that served: closed, not unreachable */
        conn_close(c, PEER_ERR_CLOSED, why);
        return;
    }
    LOG_WARN("peer", "TLS %d -> broker %d (%s:%d) failed: %s; next try in %u ms",
             c->pp->self_id, c->broker_id, c->node->host, c->node->port, why,
             c->node->backoff_ms);
    node_backoff(c->pp, c->node);
    conn_close(c, PEER_ERR_UNREACHABLE, NULL);
}

/* Decrypts what the session holds into rbuf (or the big frame) and delivers the complete
 * responses, until it needs more ciphertext or the connection closes; then sends what the
 * session queued (the rest of the handshake, the requests held until it was done). */
static void conn_tls_pump(peer_conn *c)
{
    bool was_established = tls_conn_established(c->tls);
    while (!c->closed) {
        uint8_t *dst = c->frame ? c->frame + c->frame_got : c->rbuf + c->rlen;
        size_t cap = c->frame ? c->frame_len - c->frame_got : READ_CHUNK - c->rlen;
        size_t got = 0;
        int rc = tls_conn_read(c->tls, dst, cap, &got);
        if (!was_established && tls_conn_established(c->tls)) {
            was_established = true; /* the backoff resets at the first answer */
            char what[96];
            tls_conn_describe(c->tls, what, sizeof(what));
            LOG_DEBUG("peer", "TLS %d -> broker %d: %s", c->pp->self_id, c->broker_id, what);
        }
        if (rc == TLS_AGAIN)
            break;
        if (rc != TLS_OK) {
            conn_tls_fail(c, rc);
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
    peer_conn *c = s->data;
    peer_pool *pp = c->pp;
    if (c->closed)
        return;
    if (n < 0)
        conn_close(c, PEER_ERR_CLOSED, n == UV_EOF ? "closed by the broker"
                                                   : uv_strerror((int)n));
    else if (!c->tls)
        conn_got(c, (size_t)n);
    else if (tls_conn_feed(c->tls, c->cbuf, (size_t)n) != TLS_OK)
        conn_close(c, PEER_ERR_CLOSED, "out of memory");
    else
        conn_tls_pump(c);
    pool_drain(pp);
}

/* Logged in (or no login needed): writes the queued requests, in order. */
static void conn_ready(peer_conn *c)
{
    c->ready = true;
    for (peer_req *r = c->head; r && !c->closed;) {
        peer_req *next = r->next; /* read first: a failed write moves r to the done list */
        conn_write(c, r);
        r = next;
    }
}

/* ---------------- the SASL login (SaslHandshake v1, SaslAuthenticate v1, SCRAM) ----------- */

/* Writes one request of the login (request header v1) and awaits its answer. */
static void conn_sasl_send(peer_conn *c, int16_t api_key, const uint8_t *body, size_t len,
                           bool bytes, int step)
{
    peer_pool *pp = c->pp;
    c->sasl_corr = pp->next_corr;
    pp->next_corr = pp->next_corr == INT32_MAX ? 1 : pp->next_corr + 1;
    c->sasl_step = step;
    wr w;
    wr_init(&w, 64 + len);
    wr_i32(&w, 0);
    wr_i16(&w, api_key);
    wr_i16(&w, 1);
    wr_i32(&w, c->sasl_corr);
    wr_cstr(&w, pp->client_id);
    if (bytes)
        wr_bytes(&w, (kslice){body, (int32_t)len});
    else
        wr_str(&w, (kslice){body, (int32_t)len});
    if (w.oom) {
        wr_free(&w);
        conn_close(c, PEER_ERR_CLOSED, "out of memory");
        return;
    }
    wr_put_i32_at(&w, 0, (int32_t)(w.len - 4));
    size_t flen;
    uint8_t *frame = wr_take(&w, &flen);
    conn_write_frame(c, &frame, flen);
    free(frame);
}

/* A login that failed counts as a failed connect: backoff, PEER_ERR_UNREACHABLE. */
static void conn_sasl_fail(peer_conn *c, const char *why)
{
    LOG_WARN("peer", "SASL login %d -> broker %d (%s:%d) as %s failed: %s; next try in %u ms",
             c->pp->self_id, c->broker_id, c->node->host, c->node->port, c->pp->sasl_user, why,
             c->node->backoff_ms);
    node_backoff(c->pp, c->node);
    conn_close(c, PEER_ERR_UNREACHABLE, NULL);
}

static void conn_sasl_start(peer_conn *c)
{
    peer_pool *pp = c->pp;
    const char *mech = scram_mech_name((scram_mech)pp->sasl_mech);
    BROOK_ASSERT(mech != NULL);
    if (!(c->scram = malloc(sizeof(*c->scram)))) {
        conn_close(c, PEER_ERR_CLOSED, "out of memory");
        return;
    }
    conn_sasl_send(c, 17 /* SaslHandshake */, (const uint8_t *)mech, strlen(mech), false,
                   SASL_HANDSHAKE);
}

/* The next message of the exchange after an accepted step; -1 with why on a refusal. */
static int sasl_next(peer_conn *c, kslice in, char *out, size_t cap, const char **why)
{
    peer_pool *pp = c->pp;
    if (c->sasl_step == SASL_HANDSHAKE) {
        uint8_t raw[18];
        char nonce[32];
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            *why = "no random bytes for the nonce";
            return -1;
        }
        sec_b64_encode(raw, sizeof(raw), nonce, sizeof(nonce));
        int n = scram_client_first(c->scram, (scram_mech)pp->sasl_mech, pp->sasl_user, nonce,
                                   out, cap);
        *why = "the user name cannot be sent";
        return n;
    }
    return scram_client_final(c->scram, pp->sasl_password, in.p, (size_t)in.len, out, cap, why);
}

/* One answer of the login (p: after the size; the correlation id first). */
static void conn_sasl_answer(peer_conn *c, const uint8_t *p, size_t size)
{
    rd r;
    rd_init(&r, p, size);
    int32_t corr = rd_i32(&r);
    int16_t err = rd_i16(&r);
    kslice msg = {0}, in = {0};
    if (c->sasl_step == SASL_HANDSHAKE) {
        rd_skip(&r, rd_remaining(&r)); /* the server's mechanisms */
    } else {
        msg = rd_str(&r);
        in = rd_bytes(&r);
        rd_i64(&r); /* session lifetime: Brook does not re-authenticate */
    }
    if (r.err || corr != c->sasl_corr) {
        conn_close(c, PEER_ERR_CLOSED, "malformed answer during the SASL login");
        return;
    }
    if (err != 0) {
        char why[160];
        snprintf(why, sizeof(why), "error %d%s%.*s", err, msg.len > 0 ? ": " : "",
                 msg.len > 0 ? (int)msg.len : 0, msg.len > 0 ? (const char *)msg.p : "");
        conn_sasl_fail(c, why);
        return;
    }
    if (c->sasl_step == SASL_FINAL) {
        if (!scram_client_verify(c->scram, in.p, in.len > 0 ? (size_t)in.len : 0)) {
            conn_sasl_fail(c, "the broker's SCRAM signature is wrong");
            return;
        }
        c->sasl_step = SASL_NONE;
        c->node->backoff_ms = PEER_BACKOFF_MIN_MS;
        c->node->retry_at_ms = 0;
        LOG_DEBUG("peer", "SASL %d -> broker %d: logged in as %s", c->pp->self_id, c->broker_id,
                  c->pp->sasl_user);
        conn_ready(c);
        return;
    }
    char out[SCRAM_MSG_MAX + 512];
    const char *why = NULL;
    int n = sasl_next(c, in, out, sizeof(out), &why);
    if (n < 0) {
        conn_sasl_fail(c, why);
        return;
    }
    conn_sasl_send(c, 36 /* SaslAuthenticate */, (const uint8_t *)out, (size_t)n, true,
                   c->sasl_step + 1);
}

static void on_connect(uv_connect_t *req, int status)
{
    peer_conn *c = req->handle->data;
    peer_pool *pp = c->pp;
    if (c->closed)
        return; /* cancelled by a close, which already decided the requests */
    if (status < 0) {
        LOG_WARN("peer", "connect %d -> broker %d (%s:%d) failed: %s; next try in %u ms",
                 pp->self_id, c->broker_id, c->node->host, c->node->port,
                 uv_strerror(status), c->node->backoff_ms);
        node_backoff(pp, c->node);
        conn_close(c, PEER_ERR_UNREACHABLE, NULL);
        pool_drain(pp);
        return;
    }
    c->connected = true;
    if (!c->tls && !pp->sasl_mech) { /* with TLS or SASL once the handshake or login is done */
        c->node->backoff_ms = PEER_BACKOFF_MIN_MS;
        c->node->retry_at_ms = 0;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0)
        conn_close(c, PEER_ERR_CLOSED, uv_strerror(rc));
    LOG_DEBUG("peer", "connected %d -> broker %d", pp->self_id, c->broker_id);
    if (c->tls && !c->closed)
        conn_tls_send(c); /* the ClientHello */
    if (!c->closed && pp->sasl_mech)
        conn_sasl_start(c); /* the requests wait for the login */
    else if (!c->closed)
        conn_ready(c);
    pool_drain(pp);
}

/* Opens a connection to n (n->conn set). Returns NULL when it cannot even start, after
 * starting the backoff. */
static peer_conn *conn_open(peer_pool *pp, peer_node *n)
{
    peer_conn *c = calloc(1, sizeof(*c));
    if (!c || !(c->rbuf = malloc(READ_CHUNK)) ||
        (pp->tls && (!(c->cbuf = malloc(READ_CHUNK)) ||
                     !(c->tls = tls_conn_new(pp->tls, n->host)))) ||
        uv_tcp_init(pp->loop, &c->tcp) != 0) {
        if (c) {
            tls_conn_free(c->tls);
            free(c->cbuf);
            free(c->rbuf);
        }
        free(c);
        return NULL;
    }
    pp->open_handles++;
    c->pp = pp;
    c->tcp.data = c;
    c->broker_id = n->id;
    c->node = n;
    n->conn = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&n->addr,
                            on_connect);
    if (rc < 0) {
        LOG_WARN("peer", "connect %d -> broker %d (%s:%d) failed: %s", pp->self_id, n->id,
                 n->host, n->port, uv_strerror(rc));
        node_backoff(pp, n);
        conn_close(c, PEER_ERR_UNREACHABLE, NULL);
        return NULL;
    }
    return c;
}

/* Fails the requests past their deadline; each connection that had one is closed. */
static void on_tick(uv_timer_t *t)
{
    peer_pool *pp = t->data;
    uint64_t now = uv_now(pp->loop);
    peer_node *n, *tmp;
    HASH_ITER(hh, pp->nodes, n, tmp)
    {
        peer_conn *c = n->conn;
        if (!c)
            continue;
        bool expired = false;
        peer_req *prev = NULL, *r = c->head;
        while (r) {
            peer_req *next = r->next;
            if (r->deadline_ms <= now) {
                if (prev)
                    prev->next = next;
                else
                    c->head = next;
                if (c->tail == r)
                    c->tail = prev;
                req_fail(pp, r, PEER_ERR_TIMEOUT);
                expired = true;
            } else {
                prev = r;
            }
            r = next;
        }
        if (!expired)
            continue;
        if (c->connected) {
            conn_close(c, PEER_ERR_CLOSED, "request timed out");
        } else {
            node_backoff(pp, n);
            conn_close(c, PEER_ERR_UNREACHABLE, "connect timed out");
        }
    }
    pool_drain(pp);
    if (!pp->stopped && pp->pending == 0)
        uv_timer_stop(t);
}

/* ---------------- the API ---------------- */

peer_pool *peer_pool_new(uv_loop_t *loop, int32_t self_id, const char *client_id)
{
    if (client_id && strlen(client_id) > INT16_MAX)
        return NULL;
    peer_pool *pp = calloc(1, sizeof(*pp));
    if (!pp)
        return NULL;
    if (client_id && !(pp->client_id = strdup(client_id))) {
        free(pp);
        return NULL;
    }
    pp->loop = loop;
    pp->self_id = self_id;
    pp->next_corr = 1;
    uv_timer_init(loop, &pp->tick);
    uv_idle_init(loop, &pp->idle);
    pp->tick.data = pp;
    pp->idle.data = pp;
    pp->open_handles = 2;
    return pp;
}

/* Numeric IPv4 / IPv6 (optionally in brackets) or "localhost"; no DNS. */
static bool peer_resolve(const char *host, int port, struct sockaddr_storage *ss)
{
    if (!host || port <= 0 || port > 65535)
        return false;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    char tmp[HOST_MAX];
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(tmp)) {
        memcpy(tmp, host + 1, len - 2);
        tmp[len - 2] = '\0';
        host = tmp;
    }
    memset(ss, 0, sizeof(*ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return true;
    memset(ss, 0, sizeof(*ss));
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0;
}

void peer_pool_reset_backoff(peer_pool *pp, int32_t id)
{
    peer_node *n = NULL;
    if (!pp->stopped)
        HASH_FIND(hh, pp->nodes, &id, sizeof(id), n);
    if (!n)
        return;
    n->backoff_ms = PEER_BACKOFF_MIN_MS;
    n->retry_at_ms = 0;
}

void peer_pool_set_address(peer_pool *pp, int32_t id, const char *host, int port)
{
    if (pp->stopped)
        return;
    peer_node *n;
    HASH_FIND(hh, pp->nodes, &id, sizeof(id), n);
    if (n && host && strcmp(n->host, host) == 0 && n->port == port)
        return;
    if (n) {
        if (n->conn)
            conn_close(n->conn, PEER_ERR_CLOSED, "address changed");
    } else {
        n = calloc(1, sizeof(*n));
        if (!n) {
            LOG_ERROR("peer", "out of memory adding broker %d", id);
            return;
        }
        n->id = id;
        HASH_ADD(hh, pp->nodes, id, sizeof(n->id), n);
    }
    snprintf(n->host, sizeof(n->host), "%s", host ? host : "");
    n->port = port;
    n->has_addr = peer_resolve(host, port, &n->addr);
    n->backoff_ms = PEER_BACKOFF_MIN_MS;
    n->retry_at_ms = 0;
    if (!n->has_addr)
        LOG_WARN("peer", "broker %d: \"%s\" port %d is not a numeric address and port; "
                 "unreachable", id, host ? host : "(null)", port);
    pool_kick(pp);
}

void peer_pool_forget(peer_pool *pp, int32_t id)
{
    if (pp->stopped)
        return;
    peer_node *n;
    HASH_FIND(hh, pp->nodes, &id, sizeof(id), n);
    if (!n)
        return;
    if (n->conn)
        conn_close(n->conn, PEER_ERR_CLOSED, "broker left");
    HASH_DEL(pp->nodes, n);
    free(n);
    pool_kick(pp);
}

int peer_send(peer_pool *pp, int32_t broker_id, int16_t api_key, int16_t api_version,
              bool flexible_header, const uint8_t *body, size_t len, uint32_t timeout_ms,
              peer_cb cb, void *ctx)
{
    if (pp->stopped || len > (size_t)INT32_MAX - 64 - (size_t)INT16_MAX)
        return -1;
    peer_req *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    int32_t corr = pp->next_corr;
    pp->next_corr = corr == INT32_MAX ? 1 : corr + 1;
    wr w;
    wr_init(&w, 16 + (pp->client_id ? strlen(pp->client_id) : 0) + len);
    wr_i32(&w, 0); /* the size, patched below */
    wr_i16(&w, api_key);
    wr_i16(&w, api_version);
    wr_i32(&w, corr);
    wr_cstr(&w, pp->client_id); /* a classic string even in header v2 */
    if (flexible_header)
        wr_uvarint(&w, 0); /* no tagged fields */
    wr_raw(&w, body, len);
    if (w.oom) {
        wr_free(&w);
        free(r);
        return -1;
    }
    wr_put_i32_at(&w, 0, (int32_t)(w.len - 4));
    r->frame = wr_take(&w, &r->frame_len);
    r->cb = cb;
    r->ctx = ctx;
    r->corr = corr;
    r->deadline_ms = uv_now(pp->loop) + timeout_ms;
    pp->pending++;
    if (!uv_is_active((uv_handle_t *)&pp->tick))
        uv_timer_start(&pp->tick, on_tick, PEER_TICK_MS, PEER_TICK_MS);

    peer_node *n;
    HASH_FIND(hh, pp->nodes, &broker_id, sizeof(broker_id), n);
    peer_conn *c = n && n->has_addr ? n->conn : NULL;
    if (n && n->has_addr && !c && uv_now(pp->loop) >= n->retry_at_ms)
        c = conn_open(pp, n);
    if (!c) {
        req_fail(pp, r, PEER_ERR_UNREACHABLE); /* no address, backoff, or connect refused */
    } else {
        if (c->tail)
            c->tail->next = r;
        else
            c->head = r;
        c->tail = r;
        if (c->ready)
            conn_write(c, r);
    }
    pool_kick(pp);
    return 0;
}

void peer_pool_stop(peer_pool *pp)
{
    if (pp->stopped)
        return;
    pp->stopped = true;
    peer_node *n, *tmp;
    HASH_ITER(hh, pp->nodes, n, tmp)
    {
        if (n->conn)
            conn_close(n->conn, PEER_ERR_STOPPED, NULL);
        HASH_DEL(pp->nodes, n);
        free(n);
    }
    for (peer_req *r = pp->done_head; r; r = r->next)
        r->status = PEER_ERR_STOPPED;
    uv_timer_stop(&pp->tick);
    uv_idle_stop(&pp->idle);
    uv_close((uv_handle_t *)&pp->tick, on_pool_handle_close);
    uv_close((uv_handle_t *)&pp->idle, on_pool_handle_close);
    pool_drain(pp);
}

size_t peer_pool_pending(const peer_pool *pp) { return pp->pending; }

void peer_pool_set_tls(peer_pool *pp, tls_ctx *tls) { pp->tls = tls; }

int peer_pool_set_sasl(peer_pool *pp, int mech, const char *user, const char *password)
{
    BROOK_ASSERT(scram_key_len((scram_mech)mech) > 0);
    char *u = strdup(user), *pw = strdup(password);
    if (!u || !pw) {
        free(u);
        free(pw);
        return -1;
    }
    free(pp->sasl_user);
    free(pp->sasl_password);
    pp->sasl_user = u;
    pp->sasl_password = pw;
    pp->sasl_mech = mech;
    return 0;
}

bool peer_pool_connected(const peer_pool *pp, int32_t id)
{
    peer_node *n;
    HASH_FIND(hh, pp->nodes, &id, sizeof(id), n);
    return n && n->conn && n->conn->connected;
}

const char *peer_strerror(int status)
{
    switch (status) {
    case 0:
        return "ok";
    case PEER_ERR_UNREACHABLE:
        return "unreachable";
    case PEER_ERR_TIMEOUT:
        return "timed out";
    case PEER_ERR_CLOSED:
        return "connection closed";
    case PEER_ERR_STOPPED:
        return "stopped";
    default:
        return uv_strerror(status);
    }
}
