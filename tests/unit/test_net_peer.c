/*
 * test_net_peer.c - the inter-broker client (net/peer.h) against a tiny in-process test
 * server on the same uv loop (127.0.0.1, port 0): request framing, ordered and pipelined
 * requests, answers out of order, large and split responses, a server that closes, never
 * answers, or sends a bad size or an unknown correlation id, no listener and the reconnect
 * backoff, address changes, forgetting a broker, and stopping with requests pending (also
 * from inside a callback). Every wait is bounded by a guard timer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/buf.h"
#include "net/peer.h"
#include "testutil.h"

#define CLIENT_ID "brook-test"
#define WAIT_MS 5000

/* ---------------- the test server ---------------- */

enum srv_mode {
    SRV_ECHO,    /* answers [corr][request bytes after the correlation id] */
    SRV_SILENT,  /* reads, never answers */
    SRV_CLOSE,   /* closes the connection on the first request */
    SRV_BAD_SIZE, /* answers with size = bad_size */
    SRV_BAD_CORR, /* answers with a correlation id nobody asked for */
    SRV_REVERSE, /* holds reverse_n answers, then sends them last first */
    SRV_BIG,     /* answers BIG_LEN pattern bytes */
    SRV_SPLIT,   /* echoes, one byte per write */
};

#define BIG_LEN (1024 * 1024 + 17)
#define REVERSE_MAX 16

typedef struct tsrv tsrv;
typedef struct tconn {
    uv_tcp_t tcp;
    tsrv *s;
    uint8_t *buf;
    size_t len, cap;
    bool closed;
    struct tconn *next;
} tconn;

struct tsrv {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening;
    int port;
    enum srv_mode mode;
    int32_t bad_size;
    int reverse_n;
    wr held[REVERSE_MAX];
    int nheld;
    tconn *conns;
    int accepted, frames, open;
    int16_t last_key, last_version;
};

typedef struct twrite {
    uv_write_t w;
    uint8_t *p;
} twrite;

static void on_twrite(uv_write_t *w, int status)
{
    (void)status;
    free(((twrite *)w)->p);
    free(w);
}

static void tconn_write(tconn *c, const uint8_t *p, size_t n)
{
    if (c->closed)
        return;
    twrite *w = malloc(sizeof(*w));
    w->p = malloc(n);
    memcpy(w->p, p, n);
    uv_buf_t b = uv_buf_init((char *)w->p, (unsigned)n);
    if (uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_twrite) != 0) {
        free(w->p);
        free(w);
    }
}

static void on_tconn_close(uv_handle_t *h)
{
    tconn *c = h->data;
    tsrv *s = c->s;
    for (tconn **pc = &s->conns; *pc; pc = &(*pc)->next)
        if (*pc == c) {
            *pc = c->next;
            break;
        }
    s->open--;
    free(c->buf);
    free(c);
}

static void tconn_close(tconn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    uv_close((uv_handle_t *)&c->tcp, on_tconn_close);
}

/* Builds [size][corr][payload] into w. */
static void answer_into(wr *w, int32_t corr, const uint8_t *payload, size_t n)
{
    wr_i32(w, (int32_t)(4 + n));
    wr_i32(w, corr);
    wr_raw(w, payload, n);
}

static void tsrv_frame(tconn *c, const uint8_t *f, size_t size)
{
    tsrv *s = c->s;
    s->frames++;
    s->last_key = (int16_t)be16_get(f);
    s->last_version = (int16_t)be16_get(f + 2);
    int32_t corr = (int32_t)be32_get(f + 4);
    const uint8_t *rest = f + 8;
    size_t rest_len = size - 8;
    wr w;
    wr_init(&w, 64 + rest_len);
    switch (s->mode) {
    case SRV_ECHO:
        answer_into(&w, corr, rest, rest_len);
        tconn_write(c, w.p, w.len);
        break;
    case SRV_SILENT:
        break;
    case SRV_CLOSE:
        tconn_close(c);
        break;
    case SRV_BAD_SIZE:
        wr_i32(&w, s->bad_size);
        wr_i32(&w, corr);
        wr_raw(&w, "junkjunk", 8);
        tconn_write(c, w.p, w.len);
        break;
    case SRV_BAD_CORR:
        answer_into(&w, corr ^ 0x40000000, rest, rest_len);
        tconn_write(c, w.p, w.len);
        break;
    case SRV_REVERSE:
        if (s->nheld < REVERSE_MAX) {
            wr_init(&s->held[s->nheld], 64 + rest_len);
            answer_into(&s->held[s->nheld], corr, rest, rest_len);
            s->nheld++;
        }
        if (s->nheld == s->reverse_n) {
            for (int i = s->nheld - 1; i >= 0; i--) {
                tconn_write(c, s->held[i].p, s->held[i].len);
                wr_free(&s->held[i]);
            }
            s->nheld = 0;
        }
        break;
    case SRV_BIG: {
        uint8_t *big = malloc(BIG_LEN);
        for (size_t i = 0; i < BIG_LEN; i++)
            big[i] = (uint8_t)(i * 7 % 251);
        answer_into(&w, corr, big, BIG_LEN);
        free(big);
        tconn_write(c, w.p, w.len);
        break;
    }
    case SRV_SPLIT:
        answer_into(&w, corr, rest, rest_len);
        for (size_t i = 0; i < w.len; i++)
            tconn_write(c, w.p + i, 1);
        break;
    }
    wr_free(&w);
}

static void on_talloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    tconn *c = h->data;
    if (c->cap - c->len < suggested) {
        c->cap = c->len + suggested;
        c->buf = realloc(c->buf, c->cap);
    }
    *b = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_tread(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    tconn *c = st->data;
    if (n < 0) {
        tconn_close(c);
        return;
    }
    c->len += (size_t)n;
    size_t off = 0;
    while (!c->closed && c->len - off >= 4) {
        size_t size = be32_get(c->buf + off);
        if (size < 8 || c->len - off - 4 < size)
            break;
        tsrv_frame(c, c->buf + off + 4, size);
        off += 4 + size;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static void on_taccept(uv_stream_t *ls, int status)
{
    tsrv *s = ls->data;
    if (status < 0)
        return;
    tconn *c = calloc(1, sizeof(*c));
    c->s = s;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    c->next = s->conns;
    s->conns = c;
    s->open++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        tconn_close(c);
        return;
    }
    s->accepted++;
    uv_read_start((uv_stream_t *)&c->tcp, on_talloc, on_tread);
}

/* Listens on 127.0.0.1:port (0: any free port). Returns the libuv result. */
static int tsrv_start(tsrv *s, uv_loop_t *loop, int port, enum srv_mode mode)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->mode = mode;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    s->listening = true;
    int rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&a, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 128, on_taccept);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (rc == 0)
        rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    if (rc == 0)
        s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return rc;
}

static void tsrv_stop(tsrv *s)
{
    if (s->listening) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        s->listening = false;
    }
    for (tconn *c = s->conns; c; c = c->next)
        tconn_close(c);
    for (int i = 0; i < s->nheld; i++)
        wr_free(&s->held[i]);
    s->nheld = 0;
}

/* A port with nothing listening (bound once, then closed). */
static int free_port(uv_loop_t *loop)
{
    tsrv s;
    int rc = tsrv_start(&s, loop, 0, SRV_SILENT);
    int port = rc == 0 ? s.port : -1;
    tsrv_stop(&s);
    uv_run(loop, UV_RUN_NOWAIT);
    return port;
}

/* ---------------- the client side ---------------- */

typedef struct rec {
    int calls;
    int status;
    uint8_t *body;
    size_t len;
    int seq;       /* order in which callbacks ran */
    bool reentrant; /* called from inside peer_send / set_address / forget */
    uint64_t at_ms;
    /* optional actions from inside the callback */
    peer_pool *stop_pool;
} rec;

static int g_seq;
static bool g_in_api;
static uv_loop_t *g_loop;

static void on_resp(void *ctx, int status, const uint8_t *body, size_t len)
{
    rec *r = ctx;
    r->calls++;
    r->status = status;
    r->len = len;
    free(r->body);
    r->body = NULL;
    if (len) {
        r->body = malloc(len);
        memcpy(r->body, body, len);
    }
    r->seq = g_seq++;
    r->reentrant = r->reentrant || g_in_api;
    r->at_ms = uv_now(g_loop);
    if (r->stop_pool)
        peer_pool_stop(r->stop_pool);
}

static void rec_free(rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].body);
}

static int send_(peer_pool *pp, int32_t id, const void *body, size_t len, uint32_t timeout_ms,
                 rec *r)
{
    g_in_api = true;
    int rc = peer_send(pp, id, 22, 3, false, body, len, timeout_ms, on_resp, r);
    g_in_api = false;
    return rc;
}

static bool g_guard_fired;
static void on_guard(uv_timer_t *t)
{
    (void)t;
    g_guard_fired = true;
}

static bool all_called(rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].calls == 0)
            return false;
    return true;
}

typedef bool (*pred_fn)(void *arg);

/* Runs the loop until pred(arg) or timeout_ms passes; returns pred(arg). */
static bool run_until(uv_loop_t *loop, pred_fn pred, void *arg, uint64_t timeout_ms)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    g_guard_fired = false;
    uv_timer_start(&guard, on_guard, timeout_ms, 0);
    while (!pred(arg) && !g_guard_fired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* finishes the guard's close */
    return pred(arg);
}

typedef struct recs {
    rec *r;
    size_t n;
} recs;
static bool recs_done(void *arg)
{
    recs *x = arg;
    return all_called(x->r, x->n);
}
static bool wait_recs(uv_loop_t *loop, rec *r, size_t n)
{
    recs x = {r, n};
    return run_until(loop, recs_done, &x, WAIT_MS);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}
static void sleep_loop(uv_loop_t *loop, uint64_t ms) { run_until(loop, never, NULL, ms); }

typedef struct frames_at_least {
    tsrv *s;
    int n;
} frames_at_least;
static bool frames_reached(void *arg)
{
    frames_at_least *f = arg;
    return f->s->frames >= f->n;
}

/* Stops the pool and server, lets every close finish, and checks the loop is empty. */
static void finish(uv_loop_t *loop, peer_pool *pp, tsrv *s1, tsrv *s2)
{
    if (pp)
        peer_pool_stop(pp);
    if (s1)
        tsrv_stop(s1);
    if (s2)
        tsrv_stop(s2);
    for (int i = 0; i < 2000 && uv_loop_alive(loop); i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (uv_loop_alive(loop))
            uv_sleep(1);
    }
    CHECK(!uv_loop_alive(loop));
    CHECK_EQ_INT(uv_loop_close(loop), 0);
}

static peer_pool *setup(uv_loop_t *loop, tsrv *s, enum srv_mode mode)
{
    uv_loop_init(loop);
    g_loop = loop;
    g_seq = 0;
    if (s && tsrv_start(s, loop, 0, mode) != 0)
        return NULL;
    peer_pool *pp = peer_pool_new(loop, 0, CLIENT_ID);
    if (pp && s)
        peer_pool_set_address(pp, 1, "127.0.0.1", s->port);
    return pp;
}

/* The payload an echo server returns: client_id string, tag byte if flexible, body. */
static size_t expected_echo(uint8_t *out, const char *cid, bool flex, const void *body,
                            size_t len)
{
    size_t n = 0;
    if (cid) {
        be16_put(out, (uint16_t)strlen(cid));
        memcpy(out + 2, cid, strlen(cid));
        n = 2 + strlen(cid);
    } else {
        be16_put(out, 0xffff);
        n = 2;
    }
    if (flex)
        out[n++] = 0;
    memcpy(out + n, body, len);
    return n + len;
}

/* ---------------- scenarios ---------------- */

/* Each request is sent from the previous one's callback; the header is checked byte for
 * byte through the echo. */
typedef struct chain {
    peer_pool *pp;
    rec r[3];
    int next;
} chain;

static void on_chain(void *ctx, int status, const uint8_t *body, size_t len)
{
    chain *ch = ctx;
    on_resp(&ch->r[ch->next], status, body, len);
    ch->next++;
    if (ch->next < 3) {
        char b[16];
        snprintf(b, sizeof(b), "req-%d", ch->next);
        g_in_api = true;
        peer_send(ch->pp, 1, 22, 3, ch->next == 2, (const uint8_t *)b, strlen(b), WAIT_MS,
                  on_chain, ch);
        g_in_api = false;
    }
}

static void test_ordered_request_response(void)
{
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_ECHO);
    if (!CHECK(pp != NULL))
        return;
    chain ch = {.pp = pp};
    g_in_api = true;
    CHECK_EQ_INT(peer_send(pp, 1, 22, 3, false, (const uint8_t *)"req-0", 5, WAIT_MS, on_chain,
                           &ch),
                 0);
    g_in_api = false;
    CHECK(wait_recs(&loop, ch.r, 3));
    for (int i = 0; i < 3; i++) {
        char b[16];
        uint8_t want[64];
        snprintf(b, sizeof(b), "req-%d", i);
        size_t n = expected_echo(want, CLIENT_ID, i == 2, b, strlen(b));
        CHECK_EQ_INT(ch.r[i].calls, 1);
        CHECK_EQ_INT(ch.r[i].status, 0);
        CHECK_EQ_INT(ch.r[i].seq, i);
        CHECK(!ch.r[i].reentrant);
        if (CHECK_EQ_INT(ch.r[i].len, n))
            CHECK_EQ_MEM(ch.r[i].body, want, n);
    }
    CHECK_EQ_INT(s.accepted, 1); /* one connection for all three */
    CHECK_EQ_INT(s.last_key, 22);
    CHECK_EQ_INT(s.last_version, 3);
    CHECK(peer_pool_connected(pp, 1));
    CHECK_EQ_INT(peer_pool_pending(pp), 0);
    rec_free(ch.r, 3);
    finish(&loop, pp, &s, NULL);
}

static void test_null_client_id_and_empty_body(void)
{
    uv_loop_t loop;
    tsrv s;
    uv_loop_init(&loop);
    g_loop = &loop;
    if (!CHECK_EQ_INT(tsrv_start(&s, &loop, 0, SRV_ECHO), 0))
        return;
    peer_pool *pp = peer_pool_new(&loop, 0, NULL);
    peer_pool_set_address(pp, 1, "localhost", s.port);
    rec r = {0};
    g_in_api = true;
    CHECK_EQ_INT(peer_send(pp, 1, 1, 0, true, NULL, 0, WAIT_MS, on_resp, &r), 0);
    g_in_api = false;
    CHECK(wait_recs(&loop, &r, 1));
    CHECK_EQ_INT(r.status, 0);
    uint8_t want[4];
    size_t n = expected_echo(want, NULL, true, "", 0);
    if (CHECK_EQ_INT(r.len, n))
        CHECK_EQ_MEM(r.body, want, n);
    rec_free(&r, 1);
    finish(&loop, pp, &s, NULL);
}

static void test_pipelined(void)
{
    enum { N = 1000 };
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_ECHO);
    if (!CHECK(pp != NULL))
        return;
    rec *r = calloc(N, sizeof(*r));
    for (uint32_t i = 0; i < N; i++) {
        uint8_t b[4];
        be32_put(b, i);
        CHECK_EQ_INT(send_(pp, 1, b, 4, WAIT_MS, &r[i]), 0);
    }
    CHECK_EQ_INT(peer_pool_pending(pp), N);
    CHECK(wait_recs(&loop, r, N));
    int bad = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint8_t want[64], b[4];
        be32_put(b, i);
        size_t n = expected_echo(want, CLIENT_ID, false, b, 4);
        if (r[i].calls != 1 || r[i].status != 0 || r[i].seq != (int)i || r[i].len != n ||
            memcmp(r[i].body, want, n) != 0 || r[i].reentrant)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(s.accepted, 1);
    CHECK_EQ_INT(s.frames, N);
    CHECK_EQ_INT(peer_pool_pending(pp), 0);
    rec_free(r, N);
    free(r);
    finish(&loop, pp, &s, NULL);
}

/* The server answers a burst last first: each answer still reaches its own request. */
static void test_out_of_order_answers_match_by_id(void)
{
    enum { N = 8 };
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_REVERSE);
    if (!CHECK(pp != NULL))
        return;
    s.reverse_n = N;
    rec r[N] = {0};
    for (uint32_t i = 0; i < N; i++) {
        uint8_t b[4];
        be32_put(b, i);
        send_(pp, 1, b, 4, WAIT_MS, &r[i]);
    }
    CHECK(wait_recs(&loop, r, N));
    for (uint32_t i = 0; i < N; i++) {
        CHECK_EQ_INT(r[i].status, 0);
        CHECK_EQ_INT(r[i].seq, N - 1 - (int)i);
        if (CHECK(r[i].len >= 4))
            CHECK_EQ_INT(be32_get(r[i].body + r[i].len - 4), i);
    }
    CHECK(peer_pool_connected(pp, 1));
    rec_free(r, N);
    finish(&loop, pp, &s, NULL);
}

static void test_big_and_split_responses(void)
{
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_BIG);
    if (!CHECK(pp != NULL))
        return;
    rec r[3] = {0};
    send_(pp, 1, "x", 1, WAIT_MS, &r[0]);
    send_(pp, 1, "y", 1, WAIT_MS, &r[1]);
    CHECK(wait_recs(&loop, r, 2));
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_INT(r[k].status, 0);
        if (!CHECK_EQ_INT(r[k].len, BIG_LEN))
            continue;
        int bad = 0;
        for (size_t i = 0; i < BIG_LEN; i++)
            bad += r[k].body[i] != (uint8_t)(i * 7 % 251);
        CHECK_EQ_INT(bad, 0);
    }
    s.mode = SRV_SPLIT;
    send_(pp, 1, "split", 5, WAIT_MS, &r[2]);
    CHECK(wait_recs(&loop, &r[2], 1));
    uint8_t want[64];
    size_t n = expected_echo(want, CLIENT_ID, false, "split", 5);
    CHECK_EQ_INT(r[2].status, 0);
    if (CHECK_EQ_INT(r[2].len, n))
        CHECK_EQ_MEM(r[2].body, want, n);
    CHECK_EQ_INT(s.accepted, 1);
    rec_free(r, 3);
    finish(&loop, pp, &s, NULL);
}

static void test_server_closes_mid_request(void)
{
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_CLOSE);
    if (!CHECK(pp != NULL))
        return;
    rec r[4] = {0};
    for (int i = 0; i < 3; i++)
        send_(pp, 1, "abc", 3, WAIT_MS, &r[i]);
    CHECK(wait_recs(&loop, r, 3));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(r[i].calls, 1);
        CHECK_EQ_INT(r[i].status, PEER_ERR_CLOSED);
        CHECK(!r[i].reentrant);
    }
    /* A lost connection has no backoff: the next send reconnects at once. */
    s.mode = SRV_ECHO;
    send_(pp, 1, "abc", 3, WAIT_MS, &r[3]);
    CHECK(wait_recs(&loop, &r[3], 1));
    CHECK_EQ_INT(r[3].status, 0);
    CHECK_EQ_INT(s.accepted, 2);
    rec_free(r, 4);
    finish(&loop, pp, &s, NULL);
}

static void test_no_listener_and_backoff(void)
{
    uv_loop_t loop;
    peer_pool *pp = setup(&loop, NULL, SRV_ECHO);
    int port = free_port(&loop);
    if (!CHECK(pp != NULL) || !CHECK(port > 0))
        return;
    peer_pool_set_address(pp, 1, "127.0.0.1", port);
    rec r[6] = {0};
    CHECK_EQ_INT(send_(pp, 1, "a", 1, WAIT_MS, &r[0]), 0);
    CHECK_EQ_INT(r[0].calls, 0);
    CHECK(wait_recs(&loop, &r[0], 1));
    CHECK_EQ_INT(r[0].status, PEER_ERR_UNREACHABLE);
    uint64_t failed_at = uv_now(&loop);

    /* During the backoff (100 ms) a send fails without connecting, even with a listener
     * up by now, and never inside peer_send. */
    tsrv s;
    if (!CHECK_EQ_INT(tsrv_start(&s, &loop, port, SRV_ECHO), 0)) {
        finish(&loop, pp, &s, NULL);
        return;
    }
    CHECK_EQ_INT(send_(pp, 1, "b", 1, WAIT_MS, &r[1]), 0);
    CHECK_EQ_INT(r[1].calls, 0);
    CHECK(wait_recs(&loop, &r[1], 1));
    CHECK_EQ_INT(r[1].status, PEER_ERR_UNREACHABLE);
    CHECK(!r[1].reentrant);
    CHECK(r[1].at_ms - failed_at < 100);
    CHECK_EQ_INT(s.accepted, 0);

    /* After it, the next send connects. */
    sleep_loop(&loop, 150);
    send_(pp, 1, "c", 1, WAIT_MS, &r[2]);
    CHECK(wait_recs(&loop, &r[2], 1));
    CHECK_EQ_INT(r[2].status, 0);
    CHECK_EQ_INT(s.accepted, 1);

    /* The backoff doubles: two failures in a row, then 120 ms later still backing off
     * (200 ms), then through. A success resets it. */
    tsrv_stop(&s);
    peer_pool_forget(pp, 1); /* drops the live connection (and the backoff state) */
    sleep_loop(&loop, 20);
    peer_pool_set_address(pp, 1, "127.0.0.1", port);
    send_(pp, 1, "d", 1, WAIT_MS, &r[3]);
    CHECK(wait_recs(&loop, &r[3], 1));
    CHECK_EQ_INT(r[3].status, PEER_ERR_UNREACHABLE); /* backoff 100 */
    sleep_loop(&loop, 120);
    send_(pp, 1, "e", 1, WAIT_MS, &r[4]);
    CHECK(wait_recs(&loop, &r[4], 1));
    CHECK_EQ_INT(r[4].status, PEER_ERR_UNREACHABLE); /* connect refused again: backoff 200 */
    tsrv s2;
    if (!CHECK_EQ_INT(tsrv_start(&s2, &loop, port, SRV_ECHO), 0)) {
        finish(&loop, pp, &s, &s2);
        return;
    }
    sleep_loop(&loop, 120);
    send_(pp, 1, "f", 1, WAIT_MS, &r[5]);
    CHECK(wait_recs(&loop, &r[5], 1));
    CHECK_EQ_INT(r[5].status, PEER_ERR_UNREACHABLE); /* within the 200 ms */
    CHECK_EQ_INT(s2.accepted, 0);
    sleep_loop(&loop, 120);
    rec ok = {0};
    send_(pp, 1, "g", 1, WAIT_MS, &ok);
    CHECK(wait_recs(&loop, &ok, 1));
    CHECK_EQ_INT(ok.status, 0);
    CHECK_EQ_INT(s2.accepted, 1);
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(r[i].calls, 1);
    rec_free(r, 6);
    rec_free(&ok, 1);
    finish(&loop, pp, &s, &s2);
}

static void test_unknown_broker_and_bad_address(void)
{
    uv_loop_t loop;
    peer_pool *pp = setup(&loop, NULL, SRV_ECHO);
    if (!CHECK(pp != NULL))
        return;
    peer_pool_set_address(pp, 2, "not-an-ip", 9092);
    peer_pool_set_address(pp, 3, "127.0.0.1", 0);
    peer_pool_set_address(pp, 4, NULL, 9092);
    rec r[4] = {0};
    send_(pp, 7, "a", 1, WAIT_MS, &r[0]);
    send_(pp, 2, "a", 1, WAIT_MS, &r[1]);
    send_(pp, 3, "a", 1, WAIT_MS, &r[2]);
    send_(pp, 4, "a", 1, WAIT_MS, &r[3]);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(r[i].calls, 0);
    CHECK(wait_recs(&loop, r, 4));
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(r[i].status, PEER_ERR_UNREACHABLE);
        CHECK(!r[i].reentrant);
    }
    CHECK_EQ_STR(peer_strerror(PEER_ERR_UNREACHABLE), "unreachable");
    CHECK_EQ_STR(peer_strerror(0), "ok");
    rec_free(r, 4);
    finish(&loop, pp, NULL, NULL);
}

static void test_timeout(void)
{
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_SILENT);
    if (!CHECK(pp != NULL))
        return;
    rec r[3] = {0};
    uint64_t t0 = uv_now(&loop);
    send_(pp, 1, "a", 1, 100, &r[0]);
    send_(pp, 1, "b", 1, WAIT_MS, &r[1]);
    CHECK(wait_recs(&loop, r, 2));
    CHECK_EQ_INT(r[0].status, PEER_ERR_TIMEOUT);
    CHECK(r[0].at_ms - t0 >= 100);
    CHECK(r[0].at_ms - t0 < 1000);
    /* The connection closes with it: the other request fails too (its answer would
     * have come after the timed-out one's). */
    CHECK_EQ_INT(r[1].status, PEER_ERR_CLOSED);
    CHECK(r[1].at_ms - t0 < 1000);
    CHECK_EQ_INT(s.frames, 2);
    s.mode = SRV_ECHO;
    send_(pp, 1, "c", 1, WAIT_MS, &r[2]);
    CHECK(wait_recs(&loop, &r[2], 1));
    CHECK_EQ_INT(r[2].status, 0);
    CHECK_EQ_INT(s.accepted, 2);
    rec_free(r, 3);
    finish(&loop, pp, &s, NULL);
}

static void test_stop_with_requests_pending(void)
{
    enum { N = 5 };
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_SILENT);
    if (!CHECK(pp != NULL))
        return;
    rec r[N + 2] = {0};
    for (int i = 0; i < N; i++)
        send_(pp, 1, "a", 1, WAIT_MS, &r[i]);
    frames_at_least f = {&s, N};
    CHECK(run_until(&loop, frames_reached, &f, WAIT_MS));
    send_(pp, 9, "a", 1, WAIT_MS, &r[N]); /* a deferred failure not yet reported */
    CHECK_EQ_INT(peer_pool_pending(pp), N + 1);
    peer_pool_stop(pp);
    for (int i = 0; i <= N; i++) {
        CHECK_EQ_INT(r[i].calls, 1);
        CHECK_EQ_INT(r[i].status, PEER_ERR_STOPPED);
    }
    CHECK_EQ_INT(peer_send(pp, 1, 0, 0, false, NULL, 0, 10, on_resp, &r[N + 1]), -1);
    sleep_loop(&loop, 20);
    CHECK_EQ_INT(r[N + 1].calls, 0);
    rec_free(r, N + 2);
    finish(&loop, NULL, &s, NULL);
}

/* A callback that stops the pool: the other requests get exactly one PEER_ERR_STOPPED each,
 * even when their answers were already read in the same buffer (never delivered after the
 * stop). */
static void test_stop_from_callback(void)
{
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_REVERSE);
    if (!CHECK(pp != NULL))
        return;
    s.reverse_n = 3; /* all three answers arrive together, last first */
    rec r[4] = {0};
    for (int i = 0; i < 3; i++)
        send_(pp, 1, "a", 1, WAIT_MS, &r[i]);
    r[2].stop_pool = pp;
    CHECK(wait_recs(&loop, r, 3));
    CHECK_EQ_INT(r[2].status, 0);
    CHECK_EQ_INT(r[0].status, PEER_ERR_STOPPED);
    CHECK_EQ_INT(r[1].status, PEER_ERR_STOPPED);
    sleep_loop(&loop, 20);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(r[i].calls, 1);
    rec_free(r, 4);
    finish(&loop, NULL, &s, NULL);
}

static void test_malformed_response(void)
{
    static const int32_t sizes[] = {3, 0, -1, INT32_MIN, PEER_RESPONSE_MAX + 1, INT32_MAX};
    enum { NS = sizeof(sizes) / sizeof(sizes[0]) };
    uv_loop_t loop;
    tsrv s;
    peer_pool *pp = setup(&loop, &s, SRV_BAD_SIZE);
    if (!CHECK(pp != NULL))
        return;
    rec r[NS + 3] = {0};
    for (int i = 0; i < NS; i++) {
        s.bad_size = sizes[i];
        send_(pp, 1, "a", 1, WAIT_MS, &r[i]);
        if (!CHECK(wait_recs(&loop, &r[i], 1)))
            break;
        if (!CHECK_EQ_INT(r[i].status, PEER_ERR_CLOSED))
            printf("  (size %d)\n", sizes[i]);
    }
    CHECK_EQ_INT(s.accepted, NS);
    /* An unknown correlation id closes the connection too. */
    s.mode = SRV_BAD_CORR;
    send_(pp, 1, "a", 1, WAIT_MS, &r[NS]);
    send_(pp, 1, "b", 1, WAIT_MS, &r[NS + 1]);
    CHECK(wait_recs(&loop, &r[NS], 2));
    CHECK_EQ_INT(r[NS].status, PEER_ERR_CLOSED);
    CHECK_EQ_INT(r[NS + 1].status, PEER_ERR_CLOSED);
    /* size 4 exactly: a correlation id and nothing else is a valid empty body (the junk
     * after it then reads as a bad size and closes the connection, after the answer). */
    s.mode = SRV_BAD_SIZE;
    s.bad_size = 4;
    send_(pp, 1, "a", 1, WAIT_MS, &r[NS + 2]);
    CHECK(wait_recs(&loop, &r[NS + 2], 1));
    CHECK_EQ_INT(r[NS + 2].status, 0);
    CHECK_EQ_INT(r[NS + 2].len, 0);
    rec_free(r, NS + 3);
    finish(&loop, pp, &s, NULL);
}

static void test_address_change_and_forget(void)
{
    uv_loop_t loop;
    tsrv s1, s2;
    peer_pool *pp = setup(&loop, &s1, SRV_SILENT);
    if (!CHECK(pp != NULL) || !CHECK_EQ_INT(tsrv_start(&s2, &loop, 0, SRV_ECHO), 0))
        return;
    rec r[5] = {0};
    send_(pp, 1, "a", 1, WAIT_MS, &r[0]);
    frames_at_least f = {&s1, 1};
    CHECK(run_until(&loop, frames_reached, &f, WAIT_MS));
    peer_pool_set_address(pp, 1, "127.0.0.1", s1.port); /* unchanged: nothing happens */
    sleep_loop(&loop, 20);
    CHECK_EQ_INT(r[0].calls, 0);
    g_in_api = true;
    peer_pool_set_address(pp, 1, "127.0.0.1", s2.port);
    g_in_api = false;
    CHECK_EQ_INT(r[0].calls, 0);
    CHECK(wait_recs(&loop, &r[0], 1));
    CHECK_EQ_INT(r[0].status, PEER_ERR_CLOSED);
    CHECK(!r[0].reentrant);
    send_(pp, 1, "b", 1, WAIT_MS, &r[1]);
    CHECK(wait_recs(&loop, &r[1], 1));
    CHECK_EQ_INT(r[1].status, 0);
    CHECK_EQ_INT(s2.accepted, 1);

    /* Forget: pending requests fail with CLOSED, later sends with UNREACHABLE. */
    s2.mode = SRV_SILENT;
    send_(pp, 1, "c", 1, WAIT_MS, &r[2]);
    frames_at_least f2 = {&s2, 2};
    CHECK(run_until(&loop, frames_reached, &f2, WAIT_MS));
    g_in_api = true;
    peer_pool_forget(pp, 1);
    g_in_api = false;
    CHECK_EQ_INT(r[2].calls, 0);
    send_(pp, 1, "d", 1, WAIT_MS, &r[3]);
    CHECK(wait_recs(&loop, &r[2], 2));
    CHECK_EQ_INT(r[2].status, PEER_ERR_CLOSED);
    CHECK_EQ_INT(r[3].status, PEER_ERR_UNREACHABLE);
    CHECK(!r[2].reentrant && !r[3].reentrant);
    CHECK(!peer_pool_connected(pp, 1));
    peer_pool_forget(pp, 1); /* unknown id: no-op */
    rec_free(r, 5);
    finish(&loop, pp, &s1, &s2);
}

/* Two brokers at once: each gets its own connection and its own answers. */
static void test_two_brokers(void)
{
    uv_loop_t loop;
    tsrv s1, s2;
    peer_pool *pp = setup(&loop, &s1, SRV_ECHO);
    if (!CHECK(pp != NULL) || !CHECK_EQ_INT(tsrv_start(&s2, &loop, 0, SRV_SILENT), 0))
        return;
    peer_pool_set_address(pp, 2, "127.0.0.1", s2.port);
    rec r[2] = {0};
    send_(pp, 2, "slow", 4, 150, &r[1]);
    send_(pp, 1, "fast", 4, WAIT_MS, &r[0]);
    CHECK(wait_recs(&loop, r, 2));
    CHECK_EQ_INT(r[0].status, 0);
    CHECK_EQ_INT(r[1].status, PEER_ERR_TIMEOUT);
    CHECK(r[0].seq < r[1].seq);
    CHECK(peer_pool_connected(pp, 1));
    CHECK(!peer_pool_connected(pp, 2));
    rec_free(r, 2);
    finish(&loop, pp, &s1, &s2);
}

TU_MAIN(TU_CASE(test_ordered_request_response), TU_CASE(test_null_client_id_and_empty_body),
        TU_CASE(test_pipelined), TU_CASE(test_out_of_order_answers_match_by_id),
        TU_CASE(test_big_and_split_responses), TU_CASE(test_server_closes_mid_request),
        TU_CASE(test_no_listener_and_backoff), TU_CASE(test_unknown_broker_and_bad_address),
        TU_CASE(test_timeout), TU_CASE(test_stop_with_requests_pending),
        TU_CASE(test_stop_from_callback), TU_CASE(test_malformed_response),
        TU_CASE(test_address_change_and_forget), TU_CASE(test_two_brokers))
