/*
 * bench_raw.c - the raw Produce engine of `brook bench produce`; see bench_raw.h.
 *
 * A request body (Produce v7) is built once per leader:
 *   transactional_id null, acks, timeout, [topic, [partition, record batch v2]]
 * and sent as it is, again and again, behind a fresh header (cli_wire_send). Idempotent
 * runs patch each batch's base sequence and CRC before each send. Every record of a batch
 * has the same value; the broker stores them like any others.
 */
#include "cli/bench_raw.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "cli/hist.h"
#include "cli/sock.h"
#include "cli/wire.h"

#define RAW_API_PRODUCE 0
#define RAW_API_INIT_PID 22
#define RAW_PRODUCE_VERSION 7
#define RAW_INFLIGHT_MAX 64
/* Offsets inside a record batch v2 (from its first byte). */
#define RB_CRC 17
#define RB_ATTRIBUTES 21
#define RB_PRODUCER_ID 43
#define RB_BASE_SEQUENCE 53
#define RB_HEADER 61

struct raw_shared {
    const cli_raw_cfg *cfg;
    struct cli_hist *hist;
    cli_raw_stats *st;
    pthread_mutex_t mu; /* hist and st */
    atomic_uint_fast64_t sent;
    int64_t deadline_us;
    pthread_barrier_t ready; /* every connection made (or failed) before the clock starts */
};

struct raw_conn {
    struct raw_shared *sh;
    struct raw_fetch_shared *fsh; /* consume runs */
    char addr[300];
    int32_t *parts;  /* owned by the plan's entry (copies borrow it) */
    int nparts;
    int64_t pid;     /* its producer's id and epoch (-1: not idempotent) */
    int16_t epoch;
    pthread_t thread;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One record batch v2 of n records of value `value` (size bytes), appended to w. */
static void put_batch(wr *w, int64_t n, const uint8_t *value, int64_t size, int64_t pid,
                      int16_t epoch, int64_t ts_ms, bool transactional)
{
    size_t start = w->len;
    wr_i64(w, 0);  /* base offset: the broker assigns it */
    wr_i32(w, 0);  /* batch length, patched below */
    wr_i32(w, -1); /* partition leader epoch */
    wr_i8(w, 2);   /* magic */
    wr_u32(w, 0);  /* CRC, patched below */
    wr_i16(w, transactional ? 0x10 : 0); /* attributes: no compression */
    wr_i32(w, (int32_t)(n - 1));
    wr_i64(w, ts_ms);
    wr_i64(w, ts_ms);
    wr_i64(w, pid);
    wr_i16(w, epoch);
    wr_i32(w, pid >= 0 ? 0 : -1); /* base sequence, patched per send when idempotent */
    wr_i32(w, (int32_t)n);
    for (int64_t i = 0; i < n; i++) {
        wr body;
        wr_init(&body, 16 + (size_t)size);
        wr_i8(&body, 0);      /* attributes */
        wr_varlong(&body, 0); /* timestamp delta */
        wr_varint(&body, (int32_t)i);
        wr_varint(&body, -1); /* no key */
        wr_varint(&body, (int32_t)size);
        wr_raw(&body, value, (size_t)size);
        wr_varint(&body, 0); /* no headers */
        wr_varint(w, (int32_t)body.len);
        wr_raw(w, body.p, body.len);
        w->oom |= body.oom;
        wr_free(&body);
    }
    if (w->oom)
        return;
    wr_put_i32_at(w, start + 8, (int32_t)(w->len - start - 12));
    uint32_t crc = crc32c(0, w->p + start + RB_ATTRIBUTES, w->len - start - RB_ATTRIBUTES);
    be32_put(w->p + start + RB_CRC, crc);
}

/* The Produce v7 body for c's partitions; batch_at[i] gets where partition i's batch starts. */
static int build_body(const struct raw_conn *c, wr *w, size_t *batch_at, const char *tid)
{
    const cli_raw_cfg *cfg = c->sh->cfg;
    uint8_t *value = malloc((size_t)cfg->size);
    if (!value)
        return -1;
    for (int64_t i = 0; i < cfg->size; i++)
        value[i] = (uint8_t)('a' + (i * 7) % 26); /* printable, not all one byte */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t ts_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    wr_init(w, (size_t)(c->nparts * cfg->batch_records * (cfg->size + 16) + 256));
    wr_cstr(w, tid); /* transactional id (NULL: none) */
    wr_i16(w, cfg->acks);
    wr_i32(w, (int32_t)cfg->timeout_ms);
    wr_i32(w, 1);
    wr_cstr(w, cfg->topic);
    wr_i32(w, c->nparts);
    for (int i = 0; i < c->nparts; i++) {
        wr_i32(w, c->parts[i]);
        size_t len_at = w->len;
        wr_i32(w, 0); /* records: bytes, length patched below */
        batch_at[i] = w->len;
        put_batch(w, cfg->batch_records, value, cfg->size, c->pid, c->epoch, ts_ms, tid != NULL);
        wr_put_i32_at(w, len_at, (int32_t)(w->len - batch_at[i]));
    }
    free(value);
    return w->oom ? -1 : 0;
}

/* Next sequences into the batches (idempotent runs): base sequence and CRC per batch. */
static void patch_sequences(wr *w, const size_t *batch_at, int n, int32_t *seq, int64_t per)
{
    for (int i = 0; i < n; i++) {
        uint8_t *b = w->p + batch_at[i];
        be32_put(b + RB_BASE_SEQUENCE, (uint32_t)seq[i]);
        int32_t len = (int32_t)be32_get(b + 8);
        be32_put(b + RB_CRC, crc32c(0, b + RB_ATTRIBUTES, (size_t)len + 12 - RB_ATTRIBUTES));
        seq[i] = (int32_t)(((int64_t)seq[i] + per) & 0x7fffffff);
    }
}

/* The Produce v7 answer: *ok and *bad partitions; the first error code in *err. */
static int parse_answer(const uint8_t *p, size_t n, int *ok, int *bad, int16_t *err)
{
    rd r;
    rd_init(&r, p, n);
    int32_t topics = rd_array(&r, 6);
    for (int32_t t = 0; t < topics && !r.err; t++) {
        rd_str(&r);
        int32_t parts = rd_array(&r, 30);
        for (int32_t i = 0; i < parts && !r.err; i++) {
            rd_i32(&r);
            int16_t code = rd_i16(&r);
            rd_i64(&r);
            rd_i64(&r);
            rd_i64(&r);
            if (code != 0 && *err == 0)
                *err = code;
            *(code == 0 ? ok : bad) += 1;
        }
    }
    rd_i32(&r); /* throttle time */
    return r.err ? -1 : 0;
}

/* Whether this connection may send another request now (the run's time and count). */
/* Takes the next request's records from the run's budget; *due_us gets when it is due
 * (at once without --rate: 0). False when the run is over. */
/* Sleeps until the monotonic time t (microseconds). */
static void sleep_until(int64_t t)
{
    int64_t now = mono_us();
    if (t <= now)
        return;
    struct timespec ts = {.tv_sec = (t - now) / 1000000, .tv_nsec = (t - now) % 1000000 * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static bool may_send(struct raw_shared *sh, int64_t records, int64_t *due_us)
{
    const cli_raw_cfg *cfg = sh->cfg;
    if ((cfg->stop && *cfg->stop) || mono_us() >= sh->deadline_us)
        return false;
    uint64_t before = atomic_fetch_add(&sh->sent, (uint_fast64_t)records);
    *due_us = cfg->rate > 0 ? sh->st->start_us + (int64_t)((double)before * 1e6 / (double)cfg->rate)
                            : 0;
    return before < cfg->count;
}

static void conn_failed(struct raw_shared *sh, const char *why)
{
    pthread_mutex_lock(&sh->mu);
    if (!sh->st->why[0])
        snprintf(sh->st->why, sizeof(sh->st->why), "%s", why);
    pthread_mutex_unlock(&sh->mu);
}

/* One leader: its connection, its pipeline, until the run ends and every answer is in. */
static void *conn_main(void *arg)
{
    struct raw_conn *c = arg;
    struct raw_shared *sh = c->sh;
    const cli_raw_cfg *cfg = sh->cfg;
    int64_t per = cfg->batch_records * c->nparts;
    char err[300];
    wr body = {0};
    size_t *batch_at = calloc((size_t)c->nparts, sizeof(*batch_at));
    int32_t *seq = calloc((size_t)c->nparts, sizeof(*seq));
    cli_wire w = {.fd = -1};
    bool up = false;
    if (!batch_at || !seq || build_body(c, &body, batch_at, NULL) != 0)
        conn_failed(sh, "out of memory building the request");
    else if (cli_wire_connect(&w, c->addr, cfg->timeout_ms, err, sizeof(err)) != 0)
        conn_failed(sh, err);
    else
        up = true;
    /* The run's clock starts once every connection is made (TLS and SASL included): the
     * last one to arrive starts it, and everyone waits for that. */
    if (pthread_barrier_wait(&sh->ready) == PTHREAD_BARRIER_SERIAL_THREAD) {
        sh->st->start_us = sh->st->last_us = mono_us();
        sh->deadline_us = cfg->seconds > 0 ? sh->st->start_us + cfg->seconds * 1000000
                                            : INT64_MAX;
    }
    pthread_barrier_wait(&sh->ready);
    if (!up)
        goto out;
    struct {
        int32_t corr;
        int64_t sent_us;
    } ring[RAW_INFLIGHT_MAX];
    int head = 0, inflight = 0;
    bool sending = true, broken = false, have_next = false;
    int64_t next_due = 0; /* the reserved request's due time (have_next) */
    while (!broken && (inflight > 0 || sending || have_next)) {
        while ((sending || have_next) && inflight < cfg->inflight) {
            if (inflight > 0 && cli_wire_reauth_due(&w))
                break; /* drain, then cli_wire_send logs in again (KIP-368) */
            if (!have_next && !(sending = have_next = may_send(sh, per, &next_due)))
                break;
            int64_t now = mono_us();
            if (next_due > now) { /* --rate: not yet; an answer may come first */
                if (inflight > 0)
                    break;
                sleep_until(next_due);
            }
            if (cfg->idempotent)
                patch_sequences(&body, batch_at, c->nparts, seq, cfg->batch_records);
            int slot = (head + inflight) % RAW_INFLIGHT_MAX;
            ring[slot].sent_us = next_due > 0 ? next_due : mono_us();
            have_next = false;
            if (cli_wire_send(&w, RAW_API_PRODUCE, RAW_PRODUCE_VERSION, false, body.p, body.len,
                              &ring[slot].corr, err, sizeof(err)) != 0) {
                conn_failed(sh, err);
                broken = true;
                break;
            }
            inflight++;
        }
        if (broken || inflight == 0)
            break;
        /* Paced, with a request waiting for its time: take an answer only if one comes
         * before then. */
        if (have_next && inflight < cfg->inflight) {
            int64_t wait = next_due - mono_us();
            if (wait > 0 && !cli_wire_readable(&w, (int)((wait + 999) / 1000)))
                continue;
        }
        uint8_t *resp = NULL;
        size_t n = 0;
        if (cli_wire_recv(&w, ring[head].corr, false, &resp, &n, err, sizeof(err)) != 0) {
            conn_failed(sh, err);
            break;
        }
        int64_t now = mono_us();
        int ok = 0, bad = 0;
        int16_t code = 0;
        int prc = parse_answer(resp, n, &ok, &bad, &code);
        free(resp);
        pthread_mutex_lock(&sh->mu);
        cli_hist_record(sh->hist, (uint64_t)(now - ring[head].sent_us));
        sh->st->delivered += (uint64_t)(ok * cfg->batch_records);
        sh->st->failed += (uint64_t)((prc ? c->nparts : bad) * cfg->batch_records);
        if (code && !sh->st->first_err)
            sh->st->first_err = code;
        if (now > sh->st->last_us)
            sh->st->last_us = now;
        pthread_mutex_unlock(&sh->mu);
        head = (head + 1) % RAW_INFLIGHT_MAX;
        inflight--;
        if (prc != 0) {
            conn_failed(sh, "a leader sent a malformed Produce answer");
            break;
        }
        if (bad && cfg->idempotent)
            sending = false; /* the sequences after a failed batch would be out of order */
    }
    if (inflight > 0) { /* the connection broke: what was in flight is not known delivered */
        pthread_mutex_lock(&sh->mu);
        sh->st->failed += (uint64_t)(inflight * per);
        pthread_mutex_unlock(&sh->mu);
    }
out:
    cli_wire_close(&w);
    wr_free(&body);
    free(batch_at);
    free(seq);
    return NULL;
}

/* InitProducerId v1 (no transactional id) at addr: the run's producer id and epoch. */
static int init_pid(const char *addr, int64_t timeout_ms, int64_t *pid, int16_t *epoch)
{
    char err[300];
    wr b;
    wr_init(&b, 16);
    wr_i16(&b, -1);     /* transactional id: null */
    wr_i32(&b, 60000);  /* transaction timeout (unused without one) */
    uint8_t *resp = NULL;
    rd r;
    if (cli_wire_request(addr, timeout_ms, RAW_API_INIT_PID, 1, false, &b, &resp, &r, err,
                         sizeof(err)) != 0) {
        fprintf(stderr, "brook bench: InitProducerId at %s: %s\n", addr, err);
        return -1;
    }
    rd_i32(&r);
    int16_t code = rd_i16(&r);
    *pid = rd_i64(&r);
    *epoch = rd_i16(&r);
    int bad = r.err || code != 0;
    free(resp);
    if (bad)
        fprintf(stderr, "brook bench: InitProducerId at %s: error %d\n", addr, code);
    return bad ? -1 : 0;
}

/* The topic's leaders from rk's metadata into conns (one per leader, partitions grouped).
 * Returns the number of connections, or -1 after printing. */
static int plan(rd_kafka_t *rk, const char *topic, int64_t timeout_ms, struct raw_conn **out,
                int *nparts)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rkt ? rd_kafka_metadata(rk, 0, rkt, &md, (int)timeout_ms)
                                : rd_kafka_last_error();
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        fprintf(stderr, "brook bench: metadata of %s: %s\n", topic,
                rd_kafka_err2str(e ? e : md->topic_cnt == 1 ? md->topics[0].err
                                                              : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    const struct rd_kafka_metadata_topic *t = &md->topics[0];
    struct raw_conn *conns = calloc((size_t)md->broker_cnt, sizeof(*conns));
    int n = 0, rc = 0;
    for (int b = 0; conns && b < md->broker_cnt && rc == 0; b++) {
        struct raw_conn *c = &conns[n];
        c->parts = calloc((size_t)t->partition_cnt, sizeof(int32_t));
        rc = c->parts ? 0 : -1;
        for (int i = 0; c->parts && i < t->partition_cnt; i++)
            if (t->partitions[i].leader == md->brokers[b].id)
                c->parts[c->nparts++] = t->partitions[i].id;
        snprintf(c->addr, sizeof(c->addr), "%s:%d", md->brokers[b].host, md->brokers[b].port);
        if (c->nparts > 0)
            n++;
        else
            free(c->parts);
    }
    int led = 0;
    for (int i = 0; i < n; i++)
        led += conns[i].nparts;
    *nparts = t->partition_cnt;
    if (!conns || rc != 0 || led != t->partition_cnt) {
        fprintf(stderr, "brook bench: %s: %s\n", topic,
                !conns || rc ? "out of memory" : "a partition has no leader now");
        for (int i = 0; conns && i < n; i++)
            free(conns[i].parts);
        free(conns);
        n = -1;
    }
    rd_kafka_metadata_destroy(md);
    *out = n > 0 ? conns : NULL;
    return n;
}

static int run_txn(struct raw_shared *sh, struct raw_conn *conns, int n);

int cli_bench_raw_produce(rd_kafka_t *rk, const cli_raw_cfg *cfg, struct cli_hist *hist,
                          cli_raw_stats *st)
{
    if (cfg->batch_records * (cfg->size + 32) + 128 > (int64_t)(CLI_WIRE_FRAME_MAX / 2)) {
        fprintf(stderr, "brook bench: a batch of %" PRId64 " records of %" PRId64 " bytes is "
                "too large; lower --batch-records\n", cfg->batch_records, cfg->size);
        return -1;
    }
    struct raw_conn *conns = NULL;
    memset(st, 0, sizeof(*st));
    int n = plan(rk, cfg->topic, cfg->timeout_ms, &conns, &st->partitions);
    if (n <= 0)
        return -1;
    st->leaders = n;
    struct raw_shared sh = {.cfg = cfg, .hist = hist, .st = st};
    pthread_mutex_init(&sh.mu, NULL);
    atomic_init(&sh.sent, 0);
    if (cfg->transactional)
        return run_txn(&sh, conns, n);
    /* Each producer: its own id (when idempotent) and its own connection to every leader. */
    int64_t np = cfg->producers > 0 ? cfg->producers : 1, total = np * n;
    struct raw_conn *all = calloc((size_t)total, sizeof(*all));
    int rc = all ? 0 : -1;
    for (int64_t k = 0; rc == 0 && k < np; k++) {
        int64_t pid = -1;
        int16_t epoch = -1;
        if (cfg->idempotent)
            rc = init_pid(conns[0].addr, cfg->timeout_ms, &pid, &epoch);
        for (int i = 0; rc == 0 && i < n; i++) {
            all[k * n + i] = conns[i];
            all[k * n + i].sh = &sh;
            all[k * n + i].pid = pid;
            all[k * n + i].epoch = epoch;
        }
    }
    if (!all)
        fprintf(stderr, "brook bench: out of memory\n");
    if (rc == 0)
        pthread_barrier_init(&sh.ready, NULL, (unsigned)total);
    for (int64_t i = 0; rc == 0 && i < total; i++)
        if (pthread_create(&all[i].thread, NULL, conn_main, &all[i]) != 0) {
            /* the others wait at the barrier for this one: nothing to do but leave */
            fprintf(stderr, "brook bench: cannot start a thread\n");
            exit(1);
        }
    for (int64_t i = 0; rc == 0 && i < total; i++)
        pthread_join(all[i].thread, NULL);
    free(all);
    for (int i = 0; i < n; i++)
        free(conns[i].parts);
    free(conns);
    if (rc == 0)
        pthread_barrier_destroy(&sh.ready);
    pthread_mutex_destroy(&sh.mu);
    if (rc == 0 && st->why[0]) { /* a connection failed: the run does not count */
        fprintf(stderr, "brook bench: %s\n", st->why);
        rc = -1;
    }
    return rc;
}

/* ---- transactional: producers as state machines on a few polling threads ---- */

#define RAW_API_FIND_COORD 10
#define RAW_API_ADD_PARTS 24
#define RAW_API_END_TXN 26
#define RAW_RETRY_MAX 200 /* answers to wait out (CONCURRENT_TRANSACTIONS, loading): ~1 s */

/* A coordinator request whose answer's error code sits after a throttle time; retried
 * (5 ms apart) while it says CONCURRENT_TRANSACTIONS (51), COORDINATOR_LOAD_IN_PROGRESS
 * (14) or COORDINATOR_NOT_AVAILABLE (15). Returns the last code, or -1 on a broken
 * connection (err). resp (malloc'd, caller frees) keeps the last answer. */
static int coord_call(cli_wire *w, int16_t api, int16_t ver, wr *body, uint8_t **resp,
                      size_t *n, char *err, size_t errlen)
{
    int code = -1;
    for (int attempt = 0; attempt < RAW_RETRY_MAX; attempt++) {
        free(*resp);
        *resp = NULL;
        if (cli_wire_call(w, api, ver, false, body->p, body->len, resp, n, err, errlen) != 0)
            return -1;
        code = *n >= 6 ? (int16_t)((*resp)[4] << 8 | (*resp)[5]) : -1;
        if (code != 51 && code != 14 && code != 15)
            break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    return code;
}

/* FindCoordinator v1 (transactional id) at addr -> "host:port" of its coordinator. */
static int find_txn_coordinator(const char *addr, const char *tid, int64_t timeout_ms,
                                char *out, size_t cap, char *err, size_t errlen)
{
    cli_wire w = {.fd = -1};
    uint8_t *resp = NULL;
    size_t n = 0;
    wr b;
    wr_init(&b, 64);
    wr_cstr(&b, tid);
    wr_i8(&b, 1);
    int rc = -1;
    if (cli_wire_connect(&w, addr, timeout_ms, err, errlen) == 0 &&
        coord_call(&w, RAW_API_FIND_COORD, 1, &b, &resp, &n, err, errlen) == 0) {
        rd r;
        rd_init(&r, resp, n);
        rd_i32(&r);
        rd_i16(&r);
        rd_str(&r); /* message */
        rd_i32(&r); /* node */
        kslice host = rd_str(&r);
        int32_t port = rd_i32(&r);
        if (!r.err && host.len > 0) {
            snprintf(out, cap, "%.*s:%d", (int)host.len, (const char *)host.p, (int)port);
            rc = 0;
        } else {
            snprintf(err, errlen, "a malformed FindCoordinator answer");
        }
    } else if (!err[0]) {
        snprintf(err, errlen, "FindCoordinator for %s failed", tid);
    }
    free(resp);
    wr_free(&b);
    cli_wire_close(&w);
    return rc;
}

#define RAW_TXN_THREADS 2 /* threads polling the producers: more would only add wakeups */

enum { TXS_IDLE, TXS_ADD, TXS_PRODUCE, TXS_END, TXS_DONE };

/* One transactional producer: its connections, and where its current transaction stands.
 * Every connection has at most one request in flight. */
struct raw_txn {
    struct raw_shared *sh;
    const struct raw_conn *leaders; /* the plan: one entry per leader */
    int nleaders;
    int index; /* which producer */
    char tid[96];
    cli_wire co;         /* to its coordinator */
    struct raw_conn *lc; /* per leader: the plan's entry with this producer's id */
    cli_wire *lw;
    wr *bodies;
    size_t **at;
    int32_t **seq;
    int32_t co_corr;
    int32_t *corr;  /* per leader: the Produce in flight */
    bool *pending;  /* per leader: its answer is still due */
    int step;       /* TXS_* */
    int waiting;    /* Produce answers still due in this round */
    int64_t round;  /* Produce round of this transaction */
    int retries;    /* coordinator answers waited out in this step */
    int64_t due_us; /* a coordinator request to send again then (0: none) */
    int64_t t0;
    uint64_t ok, bad;
    int16_t first;
    int64_t per_txn; /* records per transaction */
};

/* Connects producer t to its coordinator (InitProducerId v1 with its transactional id)
 * and to every leader, and builds its Produce bodies. Returns 0, or -1 with why in err. */
static int txn_setup(struct raw_txn *t, char *err, size_t errlen)
{
    const cli_raw_cfg *cfg = t->sh->cfg;
    int nl = t->nleaders;
    char coord[300];
    snprintf(t->tid, sizeof(t->tid), "brook-bench-raw-%d-%d", (int)getpid(), t->index);
    t->co.fd = -1;
    t->lc = calloc((size_t)nl, sizeof(*t->lc));
    t->lw = calloc((size_t)nl, sizeof(*t->lw));
    t->bodies = calloc((size_t)nl, sizeof(*t->bodies));
    t->at = calloc((size_t)nl, sizeof(*t->at));
    t->seq = calloc((size_t)nl, sizeof(*t->seq));
    t->corr = calloc((size_t)nl, sizeof(*t->corr));
    t->pending = calloc((size_t)nl, sizeof(*t->pending));
    if (!t->lc || !t->lw || !t->bodies || !t->at || !t->seq || !t->corr || !t->pending) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int l = 0; l < nl; l++)
        t->lw[l].fd = -1;
    if (find_txn_coordinator(t->leaders[0].addr, t->tid, cfg->timeout_ms, coord, sizeof(coord),
                             err, errlen) != 0 ||
        cli_wire_connect(&t->co, coord, cfg->timeout_ms, err, errlen) != 0)
        return -1;
    wr b;
    wr_init(&b, 64);
    wr_cstr(&b, t->tid);
    wr_i32(&b, 60000);
    uint8_t *resp = NULL;
    size_t n = 0;
    int code = coord_call(&t->co, RAW_API_INIT_PID, 1, &b, &resp, &n, err, errlen);
    int64_t pid = code == 0 && n >= 16 ? (int64_t)be64_get(resp + 6) : -1;
    int16_t epoch = code == 0 && n >= 16 ? (int16_t)(resp[14] << 8 | resp[15]) : -1;
    free(resp);
    wr_free(&b);
    if (pid < 0) {
        if (code >= 0)
            snprintf(err, errlen, "InitProducerId for %s: error %d", t->tid, code);
        return -1;
    }
    t->per_txn = 0;
    for (int l = 0; l < nl; l++) {
        t->lc[l] = t->leaders[l];
        t->lc[l].sh = t->sh;
        t->lc[l].pid = pid;
        t->lc[l].epoch = epoch;
        t->at[l] = calloc((size_t)t->lc[l].nparts, sizeof(size_t));
        t->seq[l] = calloc((size_t)t->lc[l].nparts, sizeof(int32_t));
        if (!t->at[l] || !t->seq[l] || build_body(&t->lc[l], &t->bodies[l], t->at[l], t->tid)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (cli_wire_connect(&t->lw[l], t->lc[l].addr, cfg->timeout_ms, err, errlen) != 0)
            return -1;
        t->per_txn += cfg->batch_records * t->lc[l].nparts * cfg->txn_requests;
    }
    return 0;
}

static void txn_free(struct raw_txn *t)
{
    cli_wire_close(&t->co);
    for (int l = 0; l < t->nleaders; l++) {
        if (t->lw)
            cli_wire_close(&t->lw[l]);
        if (t->bodies)
            wr_free(&t->bodies[l]);
        if (t->at)
            free(t->at[l]);
        if (t->seq)
            free(t->seq[l]);
    }
    free(t->lc);
    free(t->lw);
    free(t->bodies);
    free(t->at);
    free(t->seq);
    free(t->corr);
    free(t->pending);
}

/* Sends t's AddPartitionsToTxn v1 (every partition of the topic) or EndTxn v1 (commit). */
static int txn_send_coord(struct raw_txn *t, char *err, size_t errlen)
{
    bool end = t->step == TXS_END;
    wr b;
    wr_init(&b, 128);
    wr_cstr(&b, t->tid);
    wr_i64(&b, t->lc[0].pid);
    wr_i16(&b, t->lc[0].epoch);
    if (end) {
        wr_i8(&b, 1); /* commit */
    } else {
        wr_i32(&b, 1);
        wr_cstr(&b, t->sh->cfg->topic);
        int total = 0;
        for (int l = 0; l < t->nleaders; l++)
            total += t->lc[l].nparts;
        wr_i32(&b, total);
        for (int l = 0; l < t->nleaders; l++)
            for (int i = 0; i < t->lc[l].nparts; i++)
                wr_i32(&b, t->lc[l].parts[i]);
    }
    t->due_us = 0;
    int rc = cli_wire_send(&t->co, end ? RAW_API_END_TXN : RAW_API_ADD_PARTS, 1, false, b.p,
                           b.len, &t->co_corr, err, errlen);
    wr_free(&b);
    return rc;
}

/* The Kafka code of a coordinator answer: the top-level one, then (AddPartitionsToTxn)
 * the first partition's that is not NONE; -1 when malformed. */
static int coord_answer_code(const uint8_t *resp, size_t n, bool add)
{
    rd r;
    rd_init(&r, resp, n);
    rd_i32(&r); /* throttle time */
    if (!add) {
        int16_t code = rd_i16(&r);
        return r.err ? -1 : code;
    }
    int code = 0;
    int32_t topics = rd_array(&r, 6);
    for (int32_t k = 0; k < topics && !r.err && code == 0; k++) {
        rd_str(&r);
        int32_t parts = rd_array(&r, 6);
        for (int32_t i = 0; i < parts && !r.err && code == 0; i++) {
            rd_i32(&r);
            code = rd_i16(&r);
        }
    }
    return r.err ? -1 : code;
}

/* One Produce of transactional batches to every leader of t. */
static int txn_send_produce(struct raw_txn *t, char *err, size_t errlen)
{
    const cli_raw_cfg *cfg = t->sh->cfg;
    t->step = TXS_PRODUCE;
    t->waiting = t->nleaders;
    for (int l = 0; l < t->nleaders; l++) {
        patch_sequences(&t->bodies[l], t->at[l], t->lc[l].nparts, t->seq[l],
                        cfg->batch_records);
        t->pending[l] = true;
        if (cli_wire_send(&t->lw[l], RAW_API_PRODUCE, RAW_PRODUCE_VERSION, false,
                          t->bodies[l].p, t->bodies[l].len, &t->corr[l], err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Ends t's transaction with code (0: committed) and counts it; a failed one ends t's run
 * (a negative code: its connection broke, err says why). */
static void txn_end(struct raw_txn *t, int code, const char *err)
{
    struct raw_shared *sh = t->sh;
    int64_t now = mono_us();
    pthread_mutex_lock(&sh->mu);
    if (code == 0) {
        cli_hist_record(sh->hist, (uint64_t)(now - t->t0));
        sh->st->delivered += t->ok;
        sh->st->commits++;
        sh->st->last_us = now;
    } else {
        sh->st->failed += (uint64_t)t->per_txn;
        if (code > 0 && !sh->st->first_err)
            sh->st->first_err = (int16_t)code;
    }
    pthread_mutex_unlock(&sh->mu);
    t->step = code == 0 ? TXS_IDLE : TXS_DONE;
    if (code < 0)
        conn_failed(sh, err && err[0] ? err : "a malformed answer");
}

/* Starts t's next transaction if the run goes on: AddPartitionsToTxn first. */
static void txn_begin(struct raw_txn *t, char *err, size_t errlen)
{
    int64_t due; /* no --rate with transactions: always 0 */
    if (!may_send(t->sh, t->per_txn, &due)) {
        t->step = TXS_DONE;
        return;
    }
    t->t0 = mono_us();
    t->ok = t->bad = 0;
    t->first = 0;
    t->round = 0;
    t->retries = 0;
    t->step = TXS_ADD;
    if (txn_send_coord(t, err, errlen) != 0)
        txn_end(t, -1, err);
}

/* The coordinator answered t (AddPartitionsToTxn or EndTxn). */
static void txn_coord_answered(struct raw_txn *t, char *err, size_t errlen)
{
    uint8_t *resp = NULL;
    size_t n = 0;
    int code = cli_wire_recv(&t->co, t->co_corr, false, &resp, &n, err, errlen) != 0
                   ? -1
                   : coord_answer_code(resp, n, t->step == TXS_ADD);
    free(resp);
    if ((code == 51 || code == 14 || code == 15) && ++t->retries < RAW_RETRY_MAX) {
        t->due_us = mono_us() + 5000; /* sent again then (CONCURRENT_TRANSACTIONS, loading) */
        return;
    }
    if (code != 0) {
        txn_end(t, code, err);
        return;
    }
    if (t->step == TXS_END) {
        txn_end(t, 0, NULL);
        return;
    }
    t->retries = 0;
    if (txn_send_produce(t, err, errlen) != 0)
        txn_end(t, -1, err);
}

/* Leader l answered t's Produce. */
static void txn_produce_answered(struct raw_txn *t, int l, char *err, size_t errlen)
{
    const cli_raw_cfg *cfg = t->sh->cfg;
    uint8_t *resp = NULL;
    size_t n = 0;
    int pok = 0, pbad = 0;
    int rc = cli_wire_recv(&t->lw[l], t->corr[l], false, &resp, &n, err, errlen) != 0 ||
             parse_answer(resp, n, &pok, &pbad, &t->first) != 0;
    free(resp);
    t->pending[l] = false;
    t->ok += (uint64_t)(pok * cfg->batch_records);
    t->bad += (uint64_t)(pbad * cfg->batch_records);
    if (rc) {
        txn_end(t, -1, err);
        return;
    }
    if (--t->waiting > 0)
        return;
    if (t->bad) {
        txn_end(t, t->first ? t->first : -1, err);
        return;
    }
    int bad = ++t->round < cfg->txn_requests ? txn_send_produce(t, err, errlen)
                                             : (t->step = TXS_END, txn_send_coord(t, err, errlen));
    if (bad)
        txn_end(t, -1, err);
}

/* A polling thread's producers, and its epoll set of their connections (an event's data
 * says which producer and which connection: see watch_tag). */
struct raw_txn_worker {
    struct raw_shared *sh;
    struct raw_txn *ps;
    int n;
    int epfd;
    pthread_t thread;
};

/* The epoll data of producer i's connection `which` (-1 the coordinator, else a leader). */
static uint64_t watch_tag(int i, int which) { return (uint64_t)i << 32 | (uint32_t)(which + 1); }

/* Adds every connection of the worker's producers to its epoll set, for good: each has at
 * most one request in flight, so one readable is one answer (epoll, not poll: a poll of
 * every connection on each wake-up was a fifth of this client's CPU with 64 producers). */
static int watch_all(struct raw_txn_worker *wk)
{
    for (int i = 0; i < wk->n; i++) {
        struct raw_txn *t = &wk->ps[i];
        for (int which = -1; which < t->nleaders; which++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = watch_tag(i, which)};
            int fd = which < 0 ? t->co.fd : t->lw[which].fd;
            if (epoll_ctl(wk->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
                return -1;
        }
    }
    return 0;
}

/* Whether t waits for an answer on connection `which`. */
static bool txn_waits_on(const struct raw_txn *t, int which)
{
    if (which < 0)
        return (t->step == TXS_ADD || t->step == TXS_END) && t->due_us == 0;
    return t->step == TXS_PRODUCE && t->pending[which];
}

/* Starts idle producers and re-sends due requests. Returns how many producers are still
 * running; *waiting gets how many wait for an answer, *wait_ms how long to wait. */
static int txn_prepare_wait(struct raw_txn_worker *wk, int *waiting, int *wait_ms, char *err,
                            size_t errlen)
{
    int live = 0;
    int64_t now = mono_us(), wait_us = 100000;
    *waiting = 0;
    for (int i = 0; i < wk->n; i++) {
        struct raw_txn *t = &wk->ps[i];
        if (t->step == TXS_IDLE)
            txn_begin(t, err, errlen);
        if (t->step != TXS_DONE && t->due_us > 0 && now >= t->due_us &&
            txn_send_coord(t, err, errlen) != 0)
            txn_end(t, -1, err);
        if (t->step == TXS_DONE)
            continue;
        live++;
        if (t->due_us > 0)
            wait_us = t->due_us - now < wait_us ? t->due_us - now : wait_us;
        else
            (*waiting)++;
    }
    *wait_ms = (int)((wait_us + 999) / 1000);
    return live;
}

/* One event: the answer t waits for on `which`; anything else (the broker closed a
 * connection t is not using) ends t's run and leaves the set, so it cannot spin. */
static void txn_ready(struct raw_txn_worker *wk, struct raw_txn *t, int which, char *err,
                      size_t errlen)
{
    if (!txn_waits_on(t, which)) {
        int fd = which < 0 ? t->co.fd : t->lw[which].fd;
        (void)epoll_ctl(wk->epfd, EPOLL_CTL_DEL, fd, NULL);
        if (t->step != TXS_DONE)
            txn_end(t, -1, "a connection had data or closed with no request on it");
        return;
    }
    if (which < 0)
        txn_coord_answered(t, err, errlen);
    else
        txn_produce_answered(t, which, err, errlen);
}

/* One polling thread: sets up its producers, waits for all threads, then runs their
 * transactions until the run ends. A request left unanswered for the timeout fails the
 * run. */
static void *txn_worker(void *arg)
{
    struct raw_txn_worker *wk = arg;
    struct raw_shared *sh = wk->sh;
    const cli_raw_cfg *cfg = sh->cfg;
    char err[300] = "";
    bool up = true;
    for (int i = 0; i < wk->n && up; i++)
        up = txn_setup(&wk->ps[i], err, sizeof(err)) == 0;
    if (!up)
        conn_failed(sh, err[0] ? err : "cannot set up a transactional producer");
    if (up && (wk->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        conn_failed(sh, "epoll_create1 failed");
        up = false;
    }
    if (up && watch_all(wk) != 0) {
        conn_failed(sh, "epoll_ctl failed");
        up = false;
    }
    if (pthread_barrier_wait(&sh->ready) == PTHREAD_BARRIER_SERIAL_THREAD) {
        sh->st->start_us = sh->st->last_us = mono_us();
        sh->deadline_us = cfg->seconds > 0 ? sh->st->start_us + cfg->seconds * 1000000
                                            : INT64_MAX;
    }
    pthread_barrier_wait(&sh->ready);
    int64_t last_answer = mono_us();
    struct epoll_event evs[64];
    while (up) {
        int waiting, wait_ms;
        if (txn_prepare_wait(wk, &waiting, &wait_ms, err, sizeof(err)) == 0)
            break;
        int rc = epoll_wait(wk->epfd, evs, 64, wait_ms);
        if (rc < 0 && errno != EINTR) {
            conn_failed(sh, "epoll_wait failed");
            break;
        }
        int64_t now = mono_us();
        if (rc <= 0 && waiting > 0 && now - last_answer > cfg->timeout_ms * 1000) {
            conn_failed(sh, "no answer within the timeout");
            break;
        }
        for (int k = 0; k < rc; k++) {
            int i = (int)(evs[k].data.u64 >> 32);
            int which = (int)(uint32_t)evs[k].data.u64 - 1;
            BROOK_ASSERT(i >= 0 && i < wk->n);
            last_answer = now;
            txn_ready(wk, &wk->ps[i], which, err, sizeof(err));
        }
    }
    if (wk->epfd >= 0)
        close(wk->epfd);
    for (int i = 0; i < wk->n; i++)
        txn_free(&wk->ps[i]);
    return NULL;
}

/* The transactional run: the producers split over RAW_TXN_THREADS polling threads, every
 * producer with its own connections to its coordinator and every leader (conns, the plan,
 * freed here). */
static int run_txn(struct raw_shared *sh, struct raw_conn *conns, int n)
{
    const cli_raw_cfg *cfg = sh->cfg;
    int np = cfg->producers > 0 ? (int)cfg->producers : 1;
    int nw = np < RAW_TXN_THREADS ? np : RAW_TXN_THREADS;
    struct raw_txn *ts = calloc((size_t)np, sizeof(*ts));
    struct raw_txn_worker *ws = calloc((size_t)nw, sizeof(*ws));
    int rc = ts && ws ? 0 : -1;
    for (int k = 0; rc == 0 && k < np; k++)
        ts[k] = (struct raw_txn){.sh = sh, .leaders = conns, .nleaders = n, .index = k,
                                 .co = {.fd = -1}};
    for (int w = 0, from = 0; rc == 0 && w < nw; w++) {
        int count = np / nw + (w < np % nw);
        ws[w] = (struct raw_txn_worker){.sh = sh, .ps = ts + from, .n = count, .epfd = -1};
        from += count;
    }
    if (rc == 0) {
        pthread_barrier_init(&sh->ready, NULL, (unsigned)nw);
        for (int w = 0; w < nw; w++)
            if (pthread_create(&ws[w].thread, NULL, txn_worker, &ws[w]) != 0) {
                fprintf(stderr, "brook bench: cannot start a thread\n");
                exit(1);
            }
        for (int w = 0; w < nw; w++)
            pthread_join(ws[w].thread, NULL);
        pthread_barrier_destroy(&sh->ready);
    } else {
        fprintf(stderr, "brook bench: out of memory\n");
    }
    free(ws);
    free(ts);
    for (int i = 0; i < n; i++)
        free(conns[i].parts);
    free(conns);
    pthread_mutex_destroy(&sh->mu);
    if (rc == 0 && sh->st->why[0]) {
        fprintf(stderr, "brook bench: %s\n", sh->st->why);
        rc = -1;
    }
    return rc;
}

/* ---- consume: Fetch v11 from every leader until the end, --count or the time ---- */

#define RAW_API_FETCH 1
#define RAW_FETCH_VERSION 11
/* librdkafka's defaults (fetch.max.bytes, max.partition.fetch.bytes), for comparable runs */
#define RAW_FETCH_MAX_BYTES (50 * 1024 * 1024)
#define RAW_FETCH_PART_MAX_BYTES (1024 * 1024)

struct raw_fetch_shared {
    const cli_raw_consume_cfg *cfg;
    cli_raw_consume_stats *st;
    pthread_mutex_t mu; /* st */
    atomic_uint_fast64_t msgs;
    int64_t deadline_us;
};

/* The records of one partition's answer: counts records and their key+value bytes, and
 * moves *next past the last whole batch. Control batches move *next but count nothing. */
static int count_records(const uint8_t *p, size_t n, int64_t *next, uint64_t *msgs,
                         uint64_t *bytes)
{
    while (n >= RB_HEADER) {
        int64_t base = (int64_t)be64_get(p);
        uint32_t blen = be32_get(p + 8);
        if (blen < RB_HEADER - 12 || (size_t)blen + 12 > n)
            break; /* a batch cut at the answer's size limit: fetched again next time */
        int16_t attr = (int16_t)((p[RB_ATTRIBUTES] << 8) | p[RB_ATTRIBUTES + 1]);
        int32_t last_delta = (int32_t)be32_get(p + 23);
        int32_t count = (int32_t)be32_get(p + 57);
        if (!(attr & 0x20)) { /* not a control batch */
            *msgs += count > 0 ? (uint64_t)count : 0;
            if (attr & 7) { /* compressed: the batch's bytes stand for its records' */
                *bytes += blen;
            } else {
                rd r;
                rd_init(&r, p + RB_HEADER, (size_t)blen + 12 - RB_HEADER);
                for (int32_t i = 0; i < count && !r.err; i++) {
                    int32_t len = rd_varint(&r);
                    size_t end = r.off + (size_t)(len > 0 ? len : 0);
                    rd_i8(&r);
                    rd_varlong(&r);
                    rd_varint(&r);
                    int32_t klen = rd_varint(&r);
                    rd_skip(&r, klen > 0 ? (size_t)klen : 0);
                    int32_t vlen = rd_varint(&r);
                    *bytes += (uint64_t)(klen > 0 ? klen : 0) + (uint64_t)(vlen > 0 ? vlen : 0);
                    if (!r.err && end <= r.len)
                        r.off = end;
                }
                if (r.err)
                    return -1;
            }
        }
        *next = base + last_delta + 1;
        p += (size_t)blen + 12;
        n -= (size_t)blen + 12;
    }
    return 0;
}

/* The Fetch v11 body for c's partitions at offsets off[]. */
static void fetch_body(wr *w, const char *topic, const struct raw_conn *c, const int64_t *off)
{
    wr_init(w, 64 + (size_t)c->nparts * 28);
    wr_i32(w, -1);  /* replica id: a consumer */
    wr_i32(w, 500); /* max wait */
    wr_i32(w, 1);   /* min bytes */
    wr_i32(w, RAW_FETCH_MAX_BYTES);
    wr_i8(w, 0);    /* read_uncommitted */
    wr_i32(w, 0);   /* no fetch session */
    wr_i32(w, -1);
    wr_i32(w, 1);
    wr_cstr(w, topic);
    wr_i32(w, c->nparts);
    for (int i = 0; i < c->nparts; i++) {
        wr_i32(w, c->parts[i]);
        wr_i32(w, -1); /* current leader epoch: unknown */
        wr_i64(w, off[i]);
        wr_i64(w, -1); /* log start offset (followers only) */
        wr_i32(w, RAW_FETCH_PART_MAX_BYTES);
    }
    wr_i32(w, 0);   /* no forgotten topics */
    wr_cstr(w, ""); /* rack */
}

/* One Fetch v11 answer: records counted, offsets moved, each partition's high watermark
 * into hw[] (the first answer fixes where "the end" is). */
static int fetch_answer(const uint8_t *p, size_t n, const struct raw_conn *c, int64_t *off,
                        int64_t *hw, bool first, uint64_t *msgs, uint64_t *bytes, int16_t *err)
{
    rd r;
    rd_init(&r, p, n);
    rd_i32(&r); /* throttle */
    *err = rd_i16(&r);
    rd_i32(&r); /* session id */
    int32_t topics = rd_array(&r, 6);
    for (int32_t t = 0; t < topics && !r.err; t++) {
        rd_str(&r);
        int32_t parts = rd_array(&r, 46);
        for (int32_t k = 0; k < parts && !r.err; k++) {
            int32_t idx = rd_i32(&r);
            int16_t code = rd_i16(&r);
            int64_t high = rd_i64(&r);
            rd_i64(&r); /* last stable offset */
            rd_i64(&r); /* log start offset */
            int32_t aborted = rd_array(&r, 16);
            rd_skip(&r, aborted > 0 ? (size_t)aborted * 16 : 0);
            rd_i32(&r); /* preferred read replica */
            kslice recs = rd_bytes(&r);
            int i = 0;
            while (i < c->nparts && c->parts[i] != idx)
                i++;
            if (r.err || i == c->nparts)
                return -1;
            if (code) {
                *err = *err ? *err : code;
                continue;
            }
            if (first)
                hw[i] = high;
            if (recs.len > 0 &&
                count_records(recs.p, (size_t)recs.len, &off[i], msgs, bytes) != 0)
                return -1;
        }
    }
    return r.err ? -1 : 0;
}

static void *fetch_main(void *arg)
{
    struct raw_conn *c = arg;
    struct raw_fetch_shared *sh = c->fsh;
    const cli_raw_consume_cfg *cfg = sh->cfg;
    char err[300];
    int64_t *off = calloc((size_t)c->nparts, sizeof(*off));
    int64_t *hw = calloc((size_t)c->nparts, sizeof(*hw));
    cli_wire w = {.fd = -1};
    if (!off || !hw || cli_wire_connect(&w, c->addr, cfg->timeout_ms, err, sizeof(err)) != 0) {
        pthread_mutex_lock(&sh->mu);
        if (!sh->st->why[0])
            snprintf(sh->st->why, sizeof(sh->st->why), "%s", off && hw ? err : "out of memory");
        pthread_mutex_unlock(&sh->mu);
        goto out;
    }
    for (bool first = true;; first = false) {
        bool done = true;
        for (int i = 0; i < c->nparts && !first; i++)
            done = done && off[i] >= hw[i];
        int64_t now = mono_us();
        bool timed_out = now >= sh->deadline_us;
        if ((!first && done) || timed_out || (cfg->stop && *cfg->stop) ||
            atomic_load(&sh->msgs) >= cfg->count) {
            if (timed_out) {
                pthread_mutex_lock(&sh->mu);
                sh->st->timed_out = true;
                pthread_mutex_unlock(&sh->mu);
            }
            break;
        }
        if (first) {
            pthread_mutex_lock(&sh->mu);
            if (!sh->st->first_us || now < sh->st->first_us)
                sh->st->first_us = now; /* the first request: throughput is timed from here */
            pthread_mutex_unlock(&sh->mu);
        }
        wr body;
        fetch_body(&body, cfg->topic, c, off);
        uint8_t *resp = NULL;
        size_t n = 0;
        int rc = body.oom ? -1
                          : cli_wire_call(&w, RAW_API_FETCH, RAW_FETCH_VERSION, false, body.p,
                                          body.len, &resp, &n, err, sizeof(err));
        wr_free(&body);
        uint64_t msgs = 0, bytes = 0;
        int16_t code = 0;
        if (rc == 0 && fetch_answer(resp, n, c, off, hw, first, &msgs, &bytes, &code) != 0) {
            snprintf(err, sizeof(err), "a malformed Fetch answer");
            rc = -1;
        }
        free(resp);
        now = mono_us();
        pthread_mutex_lock(&sh->mu);
        if (rc != 0 && !sh->st->why[0])
            snprintf(sh->st->why, sizeof(sh->st->why), "%s", err);
        sh->st->errors += code != 0;
        if (msgs > 0) {
            sh->st->last_us = now;
            sh->st->msgs += msgs;
            sh->st->bytes += bytes;
        }
        pthread_mutex_unlock(&sh->mu);
        atomic_fetch_add(&sh->msgs, msgs);
        if (rc != 0 || code != 0)
            break;
    }
out:
    cli_wire_close(&w);
    free(off);
    free(hw);
    return NULL;
}

int cli_bench_raw_consume(rd_kafka_t *rk, const cli_raw_consume_cfg *cfg,
                          cli_raw_consume_stats *st)
{
    struct raw_conn *conns = NULL;
    memset(st, 0, sizeof(*st));
    int n = plan(rk, cfg->topic, cfg->timeout_ms, &conns, &st->partitions);
    if (n <= 0)
        return -1;
    struct raw_fetch_shared sh = {.cfg = cfg, .st = st};
    pthread_mutex_init(&sh.mu, NULL);
    atomic_init(&sh.msgs, 0);
    st->start_us = mono_us();
    sh.deadline_us = st->start_us + (cfg->seconds > 0 ? cfg->seconds : 60) * 1000000;
    int started = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        conns[i].fsh = &sh;
        if (pthread_create(&conns[i].thread, NULL, fetch_main, &conns[i]) != 0) {
            fprintf(stderr, "brook bench: cannot start a thread\n");
            rc = -1;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(conns[i].thread, NULL);
    for (int i = 0; i < n; i++)
        free(conns[i].parts);
    free(conns);
    pthread_mutex_destroy(&sh.mu);
    if (st->why[0]) { /* a connection failed: the run does not count */
        fprintf(stderr, "brook bench: %s\n", st->why);
        rc = -1;
    }
    return rc;
}
