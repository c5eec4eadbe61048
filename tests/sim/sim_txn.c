/*
 * sim_txn.c - the deterministic simulator of Brook transactions (ctest label "sim").
 *
 * One run = one seed. Everything random comes from one RNG seeded by it (the fault mix too:
 * each seed picks its own drop/duplicate/delay/crash rates, "swarm" style); time is a
 * simulated millisecond clock; no threads, no I/O. It drives the real state machines,
 * src/txn/coord.c and src/storage/pstate.c, with:
 *   - one coordinator node: a txn_coord, its transaction log (a durable prefix that
 *     advances when a simulated fsync completes) and a driver that executes its actions as
 *     src/txn/service.c does, but over the network: PREPARE/MARKER requests are re-sent
 *     after a timeout until acknowledged; completion records (notify = false) are not
 *     awaited; the driver calls txn_coord_tick() and, now and then, an operator abort;
 *   - P partition nodes: a pstate, a log of data batches and COMMIT/ABORT markers with a
 *     durable prefix, and the aborted ranges pstate_on_marker() reports; produce
 *     acknowledgements, votes and marker acknowledgements wait for durability (as
 *     log.flush.mode=sync); transactional batches are checked with pstate_check() and
 *     txn_verified = txn_coord_verify() (a synchronous call: co-located, as on one node);
 *   - K transactional producer clients (sometimes two live instances share a
 *     transactional id: zombies) running transactions, retrying on timeouts and retriable
 *     errors, re-initializing after fencing, sometimes committing or aborting with produces
 *     still in flight (after which they bump their epoch before the next transaction).
 * Faults: coordinator <-> partition messages are datagrams, dropped, delayed, duplicated
 * and reordered; client <-> broker messages follow TCP (in order per connection, a loss
 * breaks the connection until the client reconnects on a timeout, a closed connection's
 * messages die; duplicates arrive back to back); messages in flight to a node die when it
 * restarts. Nodes crash and restart (a crash keeps the durable prefix and maybe part of
 * the unsynced tail; a coordinator restarts with txn_coord_load() of every record, then
 * txn_coord_recover(); a partition replays its log into a fresh pstate; a client re-inits
 * with its transactional id). Transaction-log appends fail; partitions vote no. A final
 * quiet phase (no losses, no crashes) must let every transaction finish.
 *
 * Invariants, after every event and at the end: check_partition(), check_coord(),
 * txn_closed(), check_final(). A failure prints the seed and the trace and exits non-zero;
 * `sim_txn --seed S --verbose` replays it exactly.
 *
 * Hazards found, kept reproducible by flags (and by ctest tests that expect a violation):
 *  --unfenced-rpcs: a COMMIT/ABORT marker names only (producer id, epoch). A stale copy of
 *    a finished transaction's marker (a duplicate, or an original overtaken by its
 *    retransmission) closes the producer's next transaction on that partition: torn
 *    transactions. pstate's "no-op when nothing is open" is not enough; the partition
 *    side of the inter-broker protocol must drop stale requests: fenced_rpc().
 *  --datagram-clients: likewise a stale EndTxn of transaction N ends transaction N+1 of
 *    the same producer (Kafka's protocol cannot tell them apart; KIP-890 bumps the epoch
 *    per transaction). TCP connections, closed by the client before it retries, avoid it.
 *  --ack-before-fsync (log.flush.mode=interval): a partition crash between a produce's
 *    acknowledgement and the prepare loses the batch; the rebuilt pstate never knew it, the
 *    prepare votes yes, and the transaction commits without an acknowledged batch.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "proto/errors.h"
#include "proto/record.h"
#include "sim_base.h"
#include "sim_txn_model.h"
#include "storage/pstate.h"
#include "txn/coord.h"

#define MAXP 4           /* partitions */
#define MAXK 4           /* clients */
#define TOPIC "t"
#define MAX_EVENTS 400000 /* per run: a bound on the main loop */
#define QUIET_MAX_MS 120000 /* the quiet phase must converge within this */

/* ---------------- configuration of one run (all derived from the seed) ---------------- */

typedef struct knobs {
    int P, K;
    int txns_per_client;
    double p_drop, p_dup, p_long_delay;
    int delay_max_ms;
    double p_crash;          /* per fault tick (every FAULT_TICK_MS) */
    int down_max_ms;
    double p_append_fail;    /* transaction-log appends that fail */
    double p_keep_unsynced;  /* on a crash, part of the unsynced tail survives */
    int fsync_max_ms;
    int fault_ms;            /* length of the fault phase */
    int32_t txn_timeout_ms;
    double p_abort, p_sloppy_abort, p_expected_init;
    int max_batches;         /* per partition per transaction */
    double p_admin_abort;    /* per coordinator tick: an operator aborts a transaction */
    double p_sloppy_commit;  /* commit with produces still in flight */
    double p_empty_part;     /* a partition added to a transaction but never written */
    bool shared_ids;         /* clients 0 and 1 share a transactional id: live zombies */
    double p_vote_no;        /* a prepare finds the partition unable (its log failed) */
    bool tv2;                /* clients end with EndTxn v5 (transactions v2, KIP-890) */
} knobs;

#define FAULT_TICK_MS 40
#define CLIENT_RTO_MS 120
#define COORD_RTO_MS 90
#define COORD_TICK_MS 50

/* ---------------- messages ---------------- */

enum msg_kind {
    M_INIT_PID = 0, M_ADD, M_END, M_COORD_REPLY, /* client <-> coordinator */
    M_PRODUCE, M_PRODUCE_REPLY,                 /* client <-> partition */
    M_PREPARE, M_VOTE, M_MARKER, M_MARKED,      /* coordinator <-> partition */
    M_KIND_COUNT
};
static const char *g_msg_names[M_KIND_COUNT] = {
    "InitPid", "Add", "End", "CoordReply", "Produce", "ProduceReply",
    "Prepare", "Vote", "Marker", "Marked"};

typedef struct msg {
    int kind;
    int src, dst;        /* node ids */
    uint32_t src_inc;    /* the sender's incarnation */
    uint32_t dst_inc;    /* the receiver's incarnation the message is meant for */
    uint32_t conn;       /* client <-> broker: the client's connection id (TCP model) */
    uint64_t id;         /* client request id, or the coordinator's rpc id */
    int64_t pid;
    int16_t epoch;
    int64_t exp_pid;     /* InitPid: expected producer id/epoch, -1/-1 for none */
    int16_t exp_epoch;
    int32_t partition;   /* Produce/Prepare/Marker */
    uint32_t parts_mask; /* Add */
    bool commit;         /* End/Marker */
    bool tv2;            /* End: EndTxn v5 (the coordinator bumps the epoch) */
    int32_t seq, count;  /* Produce */
    uint32_t uid;        /* Produce: the batch's unique id */
    int16_t error;       /* replies */
    int16_t reply_kind;  /* CoordReply: enum txn_reply_kind */
    int64_t offset;      /* ProduceReply */
    int32_t decision;    /* Marker: index of the decision record in the transaction log */
    uint32_t cepoch;     /* Prepare/Marker: the coordinator's epoch (its incarnation) */
} msg;

/* ---------------- nodes ---------------- */

#define NODE_COORD 0
static int node_part(int p) { return 1 + p; }
static int node_client(int k) { return 1 + MAXP + k; }
static bool is_part_node(int n) { return n >= 1 && n < 1 + MAXP; }
static bool is_client_node(int n) { return n >= 1 + MAXP && n < 1 + MAXP + MAXK; }

/* A transaction-log record kept by the simulated coordinator disk. */
typedef struct crec {
    char id[16];
    uint8_t *val;
    size_t len;
    int8_t state;
    int64_t pid;
    int16_t epoch;
    uint32_t parts_mask;
} crec;

typedef struct pending_log {
    int idx; /* record index whose durability is awaited */
    char id[16];
} pending_log;

enum rpc_kind { RPC_PREPARE = 0, RPC_MARKER = 1 };

/* A PREPARE or MARKER request the coordinator driver re-sends until acknowledged. */
typedef struct rpc {
    uint64_t id;
    int kind;
    char txn_id[16];
    int32_t partition;
    int64_t pid;
    int16_t epoch;
    bool commit;
    int32_t decision;
} rpc;

typedef struct req_ctx {
    int client;      /* client index */
    uint32_t inc;    /* its incarnation */
    uint64_t id;     /* the client's request id */
    uint32_t conn;   /* the connection it came on */
} req_ctx;

typedef struct coord_node {
    bool up;
    uint32_t inc;
    txn_coord c;
    crec *log;
    int n, cap, durable_n;
    bool fsyncing;
    pending_log *pend;
    int npend, pend_cap;
    rpc *rpcs;
    int nrpcs, rpcs_cap;
} coord_node;

/* One entry of a partition log: a data batch or a control marker. */
typedef struct pentry {
    bool control;
    bool commit;      /* control */
    int64_t base;
    int32_t count;
    int64_t pid;
    int16_t epoch;
    int32_t seq;      /* data */
    uint32_t uid;     /* data */
    int32_t decision; /* control: the decision record it carries out */
} pentry;

enum wait_kind { W_PRODUCE = 0, W_VOTE, W_MARKED };

/* Per producer id, the newest coordinator request (coordinator epoch, request id) a
 * partition has applied. Requests are numbered in send order and every retransmission
 * gets a fresh number, so an older or equal one is a stale copy still wandering the
 * network: applying it could close the producer's NEXT transaction (see fenced_rpc()). */
typedef struct rpc_fence {
    int64_t pid;
    uint32_t cepoch;
    uint64_t id;
} rpc_fence;

/* A reply a partition sends once its log is durable up to `need` (an offset). */
typedef struct pwait {
    int kind;
    int64_t need;
    msg reply;
} pwait;

typedef struct part_node {
    bool up;
    uint32_t inc;
    pentry *log;
    int n, cap, durable_n;
    bool fsyncing;
    pstate ps;
    aborted_txn *ab;
    int nab, ab_cap;
    pwait *waits;
    int nwaits, waits_cap;
    rpc_fence *fences;
    int nfences, fences_cap;
    bool dirty; /* changed since the last invariant check */
} part_node;

enum cstate { C_DOWN = 0, C_INIT, C_READY, C_TXN, C_ENDING, C_DONE };
static const char *g_cstate_names[] = {"down", "init", "ready", "txn", "ending", "done"};

typedef struct client {
    int idx;
    uint32_t inc;
    int st;
    char txn_id[16];
    bool have_pid;
    int64_t pid;
    int16_t epoch;
    bool init_expected; /* send the current producer id/epoch with the next InitProducerId */
    int32_t seq[MAXP];  /* next sequence per partition at (pid, epoch) */
    /* the coordinator request in flight */
    bool req_active;
    msg req;
    int64_t req_sent;
    int64_t backoff_until;
    /* connections to the coordinator (0) and the partitions (1 + p): TCP model */
    uint32_t conn[1 + MAXP];
    bool conn_broken[1 + MAXP];
    int64_t conn_last[1 + MAXP][2]; /* last delivery time, [0] to the broker, [1] back */
    /* the current transaction */
    int txn;            /* index into the run's transactions, or -1 */
    uint32_t want_mask, added_mask, adding_mask;
    int left[MAXP];
    bool inflight[MAXP];
    msg prod[MAXP];
    int64_t prod_sent[MAXP];
    bool bump_after;    /* re-initialize (bump the epoch) once this transaction ends */
    bool txn_error;     /* an abortable error: the transaction must abort */
    int txns_started;
} client;

/* ---------------- the oracle's view of client transactions and batches ---------------- */


typedef struct ctxn {
    int client;
    uint32_t inc;
    int no;
    int64_t pid;
    int16_t epoch;
    int result;
    bool commit_requested; /* its client sent EndTxn(commit) */
    bool decided;          /* some record of it was closed by a marker */
    bool decided_commit;
    int32_t decision;      /* the decision record index that closed it */
} ctxn;

typedef struct bat {
    int txn;
    int partition;
    int64_t pid;
    int16_t epoch;
    int32_t seq, count;
    bool acked;
    int64_t offset;
    bool was_visible;
    uint64_t seen_gen; /* duplicate detection during a scan */
} bat;

/* ---------------- the run ---------------- */

typedef struct sim {
    uint64_t seed;
    knobs k;
    sim_rng rng;
    sim_queue q;
    sim_trace *trace;
    int64_t now;
    bool quiet;
    bool failed;
    char why[512];
    uint64_t next_id;    /* request and rpc ids */
    int64_t next_pid;    /* the producer-id allocator (durable: survives coordinator crashes) */
    int inflight_msgs;
    coord_node co;
    part_node parts[MAXP];
    client clients[MAXK];
    req_ctx *reqs;
    size_t nreqs, reqs_cap;
    ctxn *txns;
    int ntxns, txns_cap;
    bat *bats;
    uint32_t nbats, bats_cap;
    uint64_t scan_gen;
    /* statistics */
    uint64_t events, msgs_sent, msgs_dropped, msgs_dup, crashes;
    uint64_t commits, aborts, failures, visibility_regressions;
    uint64_t cov[16]; /* coverage counters, see g_cov_names */
} sim;

static sim S;
/* --unfenced-rpcs: partitions apply every PREPARE/MARKER they receive and messages survive
 * a restart of their receiver (shows why the fencing is needed). */
static bool g_unfenced;
/* --datagram-clients: client <-> broker messages are dropped, duplicated and reordered
 * independently, like the coordinator <-> partition ones (instead of the TCP model). */
static bool g_datagram_clients;
/* --tv2-only: every seed runs transactions v2 (KIP-890), not half of them. */
static bool g_tv2_only;
/* --ack-before-fsync: partitions acknowledge a produce once appended, before it is durable
 * (log.flush.mode=interval); an acknowledged batch may then be lost in a crash. */
static bool g_ack_before_fsync;

enum ev_kind {
    EV_MSG = 0, EV_FSYNC_COORD, EV_FSYNC_PART, EV_CLIENT_TICK, EV_COORD_TICK, EV_COORD_RESEND,
    EV_FAULT, EV_RESTART, EV_QUIET
};

#define TRACE(...) sim_trace_add(S.trace, S.now, __VA_ARGS__)

/* Coverage: how often the interesting paths ran (summed over all seeds). */
enum cov {
    COV_RECOVER_INDOUBT = 0, COV_TIMEOUT_ABORT, COV_FENCING_INIT, COV_LOG_FAIL, COV_STALE_RPC,
    COV_DUP_PRODUCE, COV_REJECT, COV_PREPARE_WAIT, COV_NOOP_MARKER, COV_ADMIN_ABORT,
    COV_VOTE_EMPTY, COV_VOTE_NO, COV_TV2_END, COV_TV2_EMPTY_ABORT, COV_COUNT
};
static const char *g_cov_names[COV_COUNT] = {
    "recoveries with in-doubt txns", "timeout aborts", "fencing InitProducerId",
    "failed txn-log appends", "stale PREPARE/MARKER dropped", "duplicate produces",
    "rejected produces", "prepares waiting for fsync", "no-op markers",
    "operator aborts", "prepares with no records", "no votes", "v2 ends (epoch bumped)",
    "v2 aborts with nothing added"};
static uint64_t g_cov_total[COV_COUNT];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    if (S.failed)
        return;
    S.failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(S.why, sizeof(S.why), fmt, ap);
    va_end(ap);
    TRACE("VIOLATION: %s", S.why);
}

static const char *node_name(int n, char *buf, size_t len)
{
    if (n == NODE_COORD)
        snprintf(buf, len, "coord");
    else if (is_part_node(n))
        snprintf(buf, len, "p%d", n - 1);
    else
        snprintf(buf, len, "c%d", n - 1 - MAXP);
    return buf;
}

static void schedule(int64_t at, int kind, void *data, int64_t a, int64_t b, int64_t c)
{
    sim_event e = {.at = at, .kind = kind, .data = data, .a = a, .b = b, .c = c};
    sim_queue_push(&S.q, &e);
}

static int64_t rnd(int64_t lo, int64_t hi) { return sim_rng_range(&S.rng, lo, hi); }
static bool chance(double p) { return sim_rng_chance(&S.rng, p); }

/* ---------------- the network ---------------- */

static int64_t net_delay(void)
{
    int64_t d = rnd(1, S.k.delay_max_ms);
    if (!S.quiet && chance(S.k.p_long_delay))
        d += rnd(S.k.delay_max_ms, 10 * (int64_t)S.k.delay_max_ms + 200);
    return d;
}

static uint32_t node_inc(int n);
static bool node_up(int n);

/* Client <-> broker traffic follows TCP (unless --datagram-clients): per connection,
 * messages arrive in order; a lost message breaks the connection (later ones are lost too)
 * until the client, on a request timeout, reconnects; a message still in flight on a
 * connection the client has closed is never delivered. A duplicate arrives right after
 * its original (a request retried on the same connection). Returns false when the
 * message cannot travel. */
static bool client_conn_check(const msg *m, int *ci_out, int *srv_out, int *dir_out)
{
    bool up = is_client_node(m->src);
    int cn = up ? m->src : m->dst, sn = up ? m->dst : m->src;
    *ci_out = cn - 1 - MAXP;
    *srv_out = sn; /* 0: coordinator, 1 + p: partition p */
    *dir_out = up ? 0 : 1;
    const client *c = &S.clients[*ci_out];
    return m->conn == c->conn[sn] && !c->conn_broken[sn] && c->st != C_DOWN &&
           (up ? m->src_inc : m->dst_inc) == c->inc;
}

/* Sends a message. A message to a node that is down is lost, and so is one still in
 * flight when its receiver restarts (the receiver's incarnation is stamped at send time;
 * replies to clients carry the incarnation that asked). */
static void send_msg(const msg *m0)
{
    char a[16], b[16];
    msg stamped = *m0;
    const msg *m = &stamped;
    S.msgs_sent++;
    if (!is_client_node(m->dst) && !g_unfenced) {
        if (!node_up(m->dst)) {
            S.msgs_dropped++;
            return;
        }
        stamped.dst_inc = node_inc(m->dst);
    }
    bool tcp = !g_datagram_clients && (is_client_node(m->src) || is_client_node(m->dst));
    int ci = 0, srv = 0, dir = 0;
    if (tcp && !client_conn_check(m, &ci, &srv, &dir)) {
        S.msgs_dropped++;
        return;
    }
    if (!S.quiet && chance(S.k.p_drop)) {
        S.msgs_dropped++;
        TRACE("net drop %s %s->%s id=%" PRIu64 "%s", g_msg_names[m->kind],
              node_name(m->src, a, sizeof(a)), node_name(m->dst, b, sizeof(b)), m->id,
              tcp ? " (connection broken)" : "");
        if (tcp)
            S.clients[ci].conn_broken[srv] = true;
        return;
    }
    int copies = !S.quiet && chance(S.k.p_dup) ? 2 : 1;
    if (copies == 2)
        S.msgs_dup++;
    int64_t at = S.now + net_delay();
    for (int i = 0; i < copies; i++) {
        msg *c = malloc(sizeof(*c));
        BROOK_ASSERT(c);
        *c = *m;
        S.inflight_msgs++;
        if (tcp) {
            int64_t *last = &S.clients[ci].conn_last[srv][dir];
            if (at < *last)
                at = *last; /* in order on the connection */
            *last = at;
        } else if (i > 0) {
            at = S.now + net_delay();
        }
        schedule(at, EV_MSG, c, 0, 0, 0);
    }
}

/* ---------------- oracle helpers ---------------- */

static uint32_t new_batch(int txn, int partition, int64_t pid, int16_t epoch, int32_t seq,
                          int32_t count)
{
    if (S.nbats + 1 >= S.bats_cap) {
        uint32_t cap = S.bats_cap ? S.bats_cap * 2 : 256;
        bat *n = realloc(S.bats, cap * sizeof(*n));
        BROOK_ASSERT(n);
        S.bats = n;
        S.bats_cap = cap;
        if (S.nbats == 0)
            S.nbats = 1; /* uid 0 is never used */
    }
    uint32_t uid = S.nbats++;
    S.bats[uid] = (bat){.txn = txn, .partition = partition, .pid = pid, .epoch = epoch,
                        .seq = seq, .count = count, .offset = -1};
    return uid;
}

static int new_txn(int client, uint32_t inc, int no, int64_t pid, int16_t epoch)
{
    if (S.ntxns == S.txns_cap)
        S.txns = sim_grow(S.txns, &S.txns_cap, sizeof(*S.txns));
    S.txns[S.ntxns] = (ctxn){.client = client, .inc = inc, .no = no, .pid = pid,
                             .epoch = epoch, .result = R_OPEN, .decision = -1};
    return S.ntxns++;
}

/* A record of transaction `ti` was closed by the marker of decision `decision`. Every record
 * of a transaction, on every partition, must be closed by the same decision. */
static void txn_closed(int ti, int32_t decision, bool commit, int partition)
{
    ctxn *t = &S.txns[ti];
    if (!t->decided) {
        t->decided = true;
        t->decision = decision;
        t->decided_commit = commit;
        TRACE("oracle: txn c%d#%d decided %s by record %d (at p%d)", t->client, t->no,
              commit ? "COMMIT" : "ABORT", decision, partition);
    } else if (t->decision != decision || t->decided_commit != commit) {
        fail("torn transaction c%d#%d: closed by decision %d (%s) and by %d (%s) at p%d",
             t->client, t->no, t->decision, t->decided_commit ? "commit" : "abort", decision,
             commit ? "commit" : "abort", partition);
        return;
    }
    if (commit && !t->commit_requested)
        fail("txn c%d#%d committed at p%d but its client never asked to commit", t->client,
             t->no, partition);
    if (t->result == R_COMMITTED && !commit)
        fail("txn c%d#%d: client got EndTxn(commit) success but it aborted at p%d", t->client,
             t->no, partition);
    if (t->result == R_ABORTED && commit)
        fail("txn c%d#%d: client got EndTxn(abort) success but it committed at p%d", t->client,
             t->no, partition);
}

/* ---------------- the coordinator's transaction log ---------------- */

/* Decodes the fields the oracle needs from a transaction-log record (coord.c's format). */
static int crec_decode(crec *r)
{
    rd d;
    rd_init(&d, r->val, r->len);
    (void)rd_i16(&d);
    r->pid = rd_i64(&d);
    r->epoch = rd_i16(&d);
    (void)rd_i64(&d);
    (void)rd_i16(&d);
    (void)rd_i32(&d);
    r->state = rd_i8(&d);
    (void)rd_i64(&d);
    (void)rd_i64(&d);
    int32_t n = rd_i32(&d);
    r->parts_mask = 0;
    for (int32_t i = 0; i < n && i < 64 && !d.err; i++) {
        (void)rd_i8(&d);
        (void)rd_str(&d);
        int32_t p = rd_i32(&d);
        if (p >= 0 && p < MAXP)
            r->parts_mask |= 1u << p;
    }
    return d.err ? -1 : 0;
}

/* The last durable decision (PrepareCommit/PrepareAbort) record of txn_id, or -1. */
static int last_decision(const char *txn_id)
{
    for (int i = S.co.durable_n - 1; i >= 0; i--) {
        const crec *r = &S.co.log[i];
        if (strcmp(r->id, txn_id) == 0 &&
            (r->state == TXN_PREPARE_COMMIT || r->state == TXN_PREPARE_ABORT))
            return i;
    }
    return -1;
}

static void coord_start_fsync(void)
{
    if (S.co.fsyncing || S.co.n == S.co.durable_n)
        return;
    S.co.fsyncing = true;
    schedule(S.now + rnd(1, S.k.fsync_max_ms), EV_FSYNC_COORD, NULL, S.co.inc, S.co.n, 0);
}

/* ---------------- the coordinator driver (service.c over the simulated network) -------- */

static void coord_send_rpc(rpc *r)
{
    r->id = ++S.next_id; /* every (re)transmission is a new request: see fenced_rpc() */
    msg m = {.cepoch = S.co.inc, .kind = r->kind == RPC_PREPARE ? M_PREPARE : M_MARKER,
             .src = NODE_COORD, .dst = node_part(r->partition), .id = r->id, .pid = r->pid,
             .epoch = r->epoch, .partition = r->partition, .commit = r->commit,
             .decision = r->decision};
    send_msg(&m);
    schedule(S.now + COORD_RTO_MS + rnd(0, 30), EV_COORD_RESEND, NULL, S.co.inc, (int64_t)r->id,
             0);
}

static void coord_add_rpc(int kind, const txn_action *a, int32_t decision)
{
    if (S.co.nrpcs == S.co.rpcs_cap)
        S.co.rpcs = sim_grow(S.co.rpcs, &S.co.rpcs_cap, sizeof(*S.co.rpcs));
    rpc *r = &S.co.rpcs[S.co.nrpcs++];
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    snprintf(r->txn_id, sizeof(r->txn_id), "%s", a->txn_id);
    r->partition = a->part->partition;
    r->pid = a->pid;
    r->epoch = a->epoch;
    r->commit = a->commit;
    r->decision = decision;
    coord_send_rpc(r);
    TRACE("coord %s %s -> p%d pid=%" PRId64 " e=%d rpc=%" PRIu64, a->txn_id,
          kind == RPC_PREPARE ? "PREPARE" : (a->commit ? "COMMIT" : "ABORT"), r->partition,
          r->pid, r->epoch, r->id);
}

static void coord_rpc_remove(int i)
{
    S.co.rpcs[i] = S.co.rpcs[--S.co.nrpcs];
}

typedef struct done_item {
    char id[16];
} done_item;

static void coord_exec_log(const txn_action *a, done_item *fails, int *nfails)
{
    if (!S.quiet && chance(S.k.p_append_fail)) {
        TRACE("coord %s: txn-log append FAILS%s", a->txn_id, a->notify ? "" : " (no notify)");
        S.cov[COV_LOG_FAIL]++;
        if (a->notify) {
            BROOK_ASSERT(*nfails < 64);
            snprintf(fails[*nfails].id, sizeof(fails[0].id), "%s", a->txn_id);
            (*nfails)++;
        }
        return;
    }
    if (S.co.n == S.co.cap)
        S.co.log = sim_grow(S.co.log, &S.co.cap, sizeof(*S.co.log));
    crec *r = &S.co.log[S.co.n];
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", a->txn_id);
    r->val = a->record;
    r->len = a->record_len;
    ((txn_action *)a)->record = NULL; /* the simulated disk takes it */
    if (crec_decode(r) != 0)
        fail("coordinator wrote a transaction-log record that does not decode");
    TRACE("coord log[%d] %s %s pid=%" PRId64 " e=%d parts=%#x%s", S.co.n, r->id,
          txn_state_name(r->state), r->pid, r->epoch, r->parts_mask, a->notify ? "" : " nowait");
    if (a->notify) {
        if (S.co.npend == S.co.pend_cap)
            S.co.pend = sim_grow(S.co.pend, &S.co.pend_cap, sizeof(*S.co.pend));
        pending_log *p = &S.co.pend[S.co.npend++];
        p->idx = S.co.n;
        snprintf(p->id, sizeof(p->id), "%s", a->txn_id);
    }
    S.co.n++;
    coord_start_fsync();
}

static void coord_exec_marker(const txn_action *a)
{
    /* The marker must carry out the last durable decision of this transactional id. */
    int d = last_decision(a->txn_id);
    if (d < 0) {
        fail("coordinator sends a %s marker for %s with no durable decision",
             a->commit ? "COMMIT" : "ABORT", a->txn_id);
        return;
    }
    const crec *r = &S.co.log[d];
    bool commit = r->state == TXN_PREPARE_COMMIT;
    if (commit != a->commit || r->pid != a->pid || r->epoch != a->epoch ||
        !(r->parts_mask & (1u << a->part->partition)))
        fail("coordinator marker %s (%s pid=%" PRId64 " e=%d p%d) disagrees with its durable "
             "decision log[%d] (%s pid=%" PRId64 " e=%d parts=%#x)",
             a->txn_id, a->commit ? "COMMIT" : "ABORT", a->pid, a->epoch, a->part->partition, d,
             txn_state_name(r->state), r->pid, r->epoch, r->parts_mask);
    coord_add_rpc(RPC_MARKER, a, d);
}

static void coord_exec_reply(const txn_action *a)
{
    BROOK_ASSERT(a->req >= 1 && a->req <= S.nreqs);
    const req_ctx *rc = &S.reqs[a->req - 1];
    msg m = {.kind = M_COORD_REPLY, .src = NODE_COORD, .dst = node_client(rc->client),
             .dst_inc = rc->inc, .conn = rc->conn, .id = rc->id, .pid = a->pid, .epoch = a->epoch,
             .error = a->error, .reply_kind = a->reply_kind};
    TRACE("coord reply c%d req=%" PRIu64 " kind=%d err=%d pid=%" PRId64 " e=%d", rc->client,
          rc->id, a->reply_kind, a->error, a->pid, a->epoch);
    send_msg(&m);
}

/* Executes the coordinator's queued actions, then feeds synchronous completions (failed
 * appends) back one at a time (actions borrow from the coordinator until the next call),
 * until it is quiet. Bounded. */
static void coord_run(void)
{
    done_item fails[64];
    int nfails = 0;
    for (int round = 0; round < 10000; round++) {
        for (size_t i = 0; i < S.co.c.nacts; i++) {
            const txn_action *a = &S.co.c.acts[i];
            switch (a->kind) {
            case TXN_ACT_LOG: coord_exec_log(a, fails, &nfails); break;
            case TXN_ACT_PREPARE:
                BROOK_ASSERT(a->part->kind == TXN_PART_PARTITION);
                coord_add_rpc(RPC_PREPARE, a, -1);
                break;
            case TXN_ACT_MARKER: coord_exec_marker(a); break;
            case TXN_ACT_REPLY: coord_exec_reply(a); break;
            default: fail("unknown coordinator action %d", a->kind);
            }
        }
        txn_coord_clear_actions(&S.co.c);
        if (nfails == 0)
            return;
        done_item d = fails[0];
        memmove(fails, fails + 1, sizeof(fails[0]) * (size_t)(nfails - 1));
        nfails--;
        txn_coord_logged(&S.co.c, d.id, false, S.now);
    }
    fail("coordinator driver did not quiesce");
}

static uint64_t coord_req(int client, uint32_t inc, uint64_t id, uint32_t conn)
{
    if (S.nreqs == S.reqs_cap) {
        size_t cap = S.reqs_cap ? S.reqs_cap * 2 : 64;
        req_ctx *n = realloc(S.reqs, cap * sizeof(*n));
        BROOK_ASSERT(n);
        S.reqs = n;
        S.reqs_cap = cap;
    }
    S.reqs[S.nreqs++] = (req_ctx){client, inc, id, conn};
    return S.nreqs;
}

static void make_parts(uint32_t mask, txn_participant *out, int *n)
{
    *n = 0;
    for (int p = 0; p < MAXP; p++)
        if (mask & (1u << p))
            out[(*n)++] = (txn_participant){.kind = TXN_PART_PARTITION, .name = (char *)TOPIC,
                                            .partition = p};
}

static void coord_on_msg(const msg *m)
{
    int ci = m->src - 1 - MAXP;
    uint32_t conn = m->conn;
    switch (m->kind) {
    case M_INIT_PID: {
        const client *c = &S.clients[ci];
        const txn_meta *t = txn_coord_find(&S.co.c, c->txn_id);
        if (t && t->state == TXN_ONGOING && t->phase == TXN_PHASE_IDLE)
            S.cov[COV_FENCING_INIT]++;
        bool used = false;
        txn_coord_init_pid(&S.co.c, coord_req(ci, m->src_inc, m->id, conn), c->txn_id,
                           S.k.txn_timeout_ms, m->exp_pid, m->exp_epoch, S.next_pid, S.now,
                           &used);
        if (used)
            S.next_pid++;
        break;
    }
    case M_ADD: {
        txn_participant parts[MAXP];
        int n;
        make_parts(m->parts_mask, parts, &n);
        txn_coord_add(&S.co.c, coord_req(ci, m->src_inc, m->id, conn), S.clients[ci].txn_id, m->pid,
                      m->epoch, parts, n, S.now);
        break;
    }
    case M_END:
        if (m->tv2) {
            bool need = txn_coord_end_needs_pid(&S.co.c, S.clients[ci].txn_id);
            txn_coord_end_tv2(&S.co.c, coord_req(ci, m->src_inc, m->id, conn),
                              S.clients[ci].txn_id, m->pid, m->epoch, m->commit,
                              need ? S.next_pid++ : -1, S.now);
        } else {
            txn_coord_end(&S.co.c, coord_req(ci, m->src_inc, m->id, conn), S.clients[ci].txn_id,
                          m->pid, m->epoch, m->commit, S.now);
        }
        break;
    case M_VOTE:
    case M_MARKED: {
        /* Only an answer to an outstanding request of this incarnation counts: a stale or
         * duplicated answer is dropped (real RPCs match answers to requests). */
        int i = 0;
        while (i < S.co.nrpcs && S.co.rpcs[i].id != m->id)
            i++;
        if (i == S.co.nrpcs) {
            TRACE("coord ignores stale %s rpc=%" PRIu64, g_msg_names[m->kind], m->id);
            return;
        }
        rpc r = S.co.rpcs[i];
        coord_rpc_remove(i);
        txn_participant part = {.kind = TXN_PART_PARTITION, .name = (char *)TOPIC,
                                .partition = r.partition};
        if (m->kind == M_VOTE)
            txn_coord_voted(&S.co.c, r.txn_id, &part, m->commit, S.now);
        else
            txn_coord_marked(&S.co.c, r.txn_id, &part, S.now);
        break;
    }
    default: fail("coordinator got %s", g_msg_names[m->kind]); return;
    }
    coord_run();
}

static void coord_on_fsync(int64_t target)
{
    S.co.fsyncing = false;
    if (target > S.co.durable_n)
        S.co.durable_n = (int)target;
    /* Feed every awaited record that is now durable, in log order. */
    for (int guard = 0; guard < 100000 && S.co.npend > 0 && S.co.pend[0].idx < S.co.durable_n;
         guard++) {
        pending_log p = S.co.pend[0];
        memmove(S.co.pend, S.co.pend + 1, sizeof(*S.co.pend) * (size_t)(S.co.npend - 1));
        S.co.npend--;
        txn_coord_logged(&S.co.c, p.id, true, S.now);
        coord_run();
    }
    coord_start_fsync();
}

static void coord_on_resend(uint64_t id)
{
    int i = 0;
    while (i < S.co.nrpcs && S.co.rpcs[i].id != id)
        i++;
    if (i == S.co.nrpcs)
        return;
    rpc *r = &S.co.rpcs[i];
    /* Drop requests the coordinator no longer waits for. */
    txn_meta *t = txn_coord_find(&S.co.c, r->txn_id);
    int want = r->kind == RPC_PREPARE ? TXN_PHASE_PREPARING : TXN_PHASE_MARKING;
    bool live = t && t->phase == want && t->pid == r->pid && t->epoch == r->epoch;
    if (live) {
        live = false;
        for (int k = 0; k < t->nparts; k++)
            if (t->parts[k].partition == r->partition && !t->parts[k].done)
                live = true;
    }
    if (!live) {
        coord_rpc_remove(i);
        return;
    }
    coord_send_rpc(r);
    TRACE("coord re-sends %s %s -> p%d as rpc=%" PRIu64, r->txn_id,
          r->kind == RPC_PREPARE ? "PREPARE" : "MARKER", r->partition, r->id);
}

static void coord_crash(void)
{
    coord_node *co = &S.co;
    int keep = co->durable_n;
    if (chance(S.k.p_keep_unsynced))
        keep = (int)rnd(co->durable_n, co->n);
    TRACE("CRASH coord: txn log %d records, %d durable, %d survive", co->n, co->durable_n, keep);
    for (int i = keep; i < co->n; i++)
        free(co->log[i].val);
    co->n = co->durable_n = keep;
    co->up = false;
    co->fsyncing = false;
    co->npend = 0;
    co->nrpcs = 0;
    txn_coord_free(&co->c);
    S.crashes++;
}

static void coord_start(void)
{
    coord_node *co = &S.co;
    co->up = true;
    co->inc++;
    txn_coord_config cfg = {.max_timeout_ms = 900000, .coordinator_epoch = (int32_t)co->inc};
    txn_coord_init(&co->c, &cfg);
    for (int i = 0; i < co->n; i++) {
        const crec *r = &co->log[i];
        if (txn_coord_load(&co->c, (const uint8_t *)r->id, strlen(r->id), r->val, r->len) != 0)
            fail("transaction-log record %d does not load", i);
    }
    TRACE("START coord (incarnation %u): loaded %d records", co->inc, co->n);
    for (txn_meta *t = co->c.by_id; t; t = t->hh.next)
        if (t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT) {
            S.cov[COV_RECOVER_INDOUBT]++;
            break;
        }
    txn_coord_recover(&co->c, S.now);
    coord_run();
    schedule(S.now + COORD_TICK_MS, EV_COORD_TICK, NULL, co->inc, 0, 0);
}

/* ---------------- partitions ---------------- */

static int64_t part_durable_end(const part_node *p)
{
    return p->durable_n == 0 ? 0
                             : p->log[p->durable_n - 1].base + p->log[p->durable_n - 1].count;
}

static void part_start_fsync(int pi)
{
    part_node *p = &S.parts[pi];
    if (p->fsyncing || p->n == p->durable_n)
        return;
    p->fsyncing = true;
    schedule(S.now + rnd(1, S.k.fsync_max_ms), EV_FSYNC_PART, NULL, pi, p->inc, p->n);
}

static pentry *part_append(int pi, const pentry *e)
{
    part_node *p = &S.parts[pi];
    if (p->n == p->cap)
        p->log = sim_grow(p->log, &p->cap, sizeof(*p->log));
    pentry *n = &p->log[p->n++];
    *n = *e;
    n->base = p->n == 1 ? 0 : p->log[p->n - 2].base + p->log[p->n - 2].count;
    p->dirty = true;
    part_start_fsync(pi);
    return n;
}

static void part_wait(int pi, int kind, int64_t need, const msg *reply)
{
    part_node *p = &S.parts[pi];
    if (part_durable_end(p) >= need) {
        send_msg(reply);
        return;
    }
    if (p->nwaits == p->waits_cap)
        p->waits = sim_grow(p->waits, &p->waits_cap, sizeof(*p->waits));
    p->waits[p->nwaits++] = (pwait){kind, need, *reply};
}

static void ab_push(part_node *p, const aborted_txn *a)
{
    if (p->nab == p->ab_cap)
        p->ab = sim_grow(p->ab, &p->ab_cap, sizeof(*p->ab));
    p->ab[p->nab++] = *a;
}

static void apply_marker(int pi, const pentry *e)
{
    part_node *p = &S.parts[pi];
    aborted_txn a;
    if (pstate_on_marker(&p->ps, e->pid, e->epoch, e->commit, e->base, &a))
        ab_push(p, &a);
}

static void part_on_produce(int pi, const msg *m)
{
    part_node *p = &S.parts[pi];
    msg r = {.kind = M_PRODUCE_REPLY, .src = m->dst, .dst = m->src, .dst_inc = m->src_inc,
             .conn = m->conn, .id = m->id, .partition = pi, .uid = m->uid, .offset = -1};
    if (!S.co.up) {
        /* The partition cannot verify the transaction: a retriable error. */
        r.error = KERR_COORDINATOR_NOT_AVAILABLE;
        send_msg(&r);
        return;
    }
    bool verified = txn_coord_verify(&S.co.c, m->pid, m->epoch, TOPIC, pi);
    rb_header h;
    sim_txn_batch_header(&h, m->pid, m->epoch, m->seq, m->count);
    int64_t dup = -1;
    int16_t err = 0;
    int v = pstate_check(&p->ps, &h, verified, &dup, &err);
    if (v == PS_REJECT) {
        TRACE("p%d rejects batch %u pid=%" PRId64 " e=%d seq=%d: error %d (verified=%d)", pi,
              m->uid, m->pid, m->epoch, m->seq, err, verified);
        r.error = err;
        S.cov[COV_REJECT]++;
        send_msg(&r);
        return;
    }
    if (v == PS_DUPLICATE) {
        TRACE("p%d duplicate batch %u (seq=%d) at %" PRId64, pi, m->uid, m->seq, dup);
        S.cov[COV_DUP_PRODUCE]++;
        r.offset = dup;
        part_wait(pi, W_PRODUCE, g_ack_before_fsync ? 0 : dup + m->count, &r);
        return;
    }
    pentry e = {.pid = m->pid, .epoch = m->epoch, .seq = m->seq, .count = m->count,
                .uid = m->uid, .decision = -1};
    pentry *n = part_append(pi, &e);
    if (pstate_on_append(&p->ps, &h, n->base) != 0)
        fail("pstate_on_append failed");
    TRACE("p%d append batch %u pid=%" PRId64 " e=%d seq=%d n=%d at %" PRId64, pi, m->uid,
          m->pid, m->epoch, m->seq, m->count, n->base);
    r.offset = n->base;
    part_wait(pi, W_PRODUCE, g_ack_before_fsync ? 0 : n->base + n->count, &r);
}

/* A coordinator request (PREPARE/MARKER) older than, or the same as, the newest one this
 * partition applied for the producer is a stale copy (a duplicate, or an original
 * overtaken by its retransmission): it is dropped. Without this a COMMIT/ABORT marker of a
 * finished transaction, delayed in the network, closes the producer's next transaction on
 * this partition (same producer id and epoch): a torn transaction. pstate cannot tell the
 * two apart (a marker names only producer id and epoch). The state is in memory: a
 * restart loses it, but also every message in flight to the old incarnation. */
static bool fenced_rpc(int pi, const msg *m)
{
    if (g_unfenced)
        return false;
    part_node *p = &S.parts[pi];
    int i = 0;
    while (i < p->nfences && p->fences[i].pid != m->pid)
        i++;
    if (i == p->nfences) {
        if (p->nfences == p->fences_cap)
            p->fences = sim_grow(p->fences, &p->fences_cap, sizeof(*p->fences));
        p->fences[p->nfences++] = (rpc_fence){m->pid, m->cepoch, m->id};
        return false;
    }
    rpc_fence *f = &p->fences[i];
    if (m->cepoch < f->cepoch || (m->cepoch == f->cepoch && m->id <= f->id)) {
        TRACE("p%d drops stale %s rpc=%" PRIu64 " (newest applied: %u/%" PRIu64 ")", pi,
              g_msg_names[m->kind], m->id, f->cepoch, f->id);
        S.cov[COV_STALE_RPC]++;
        return true;
    }
    f->cepoch = m->cepoch;
    f->id = m->id;
    return false;
}

static void part_on_prepare(int pi, const msg *m)
{
    part_node *p = &S.parts[pi];
    if (fenced_rpc(pi, m))
        return;
    if (!S.quiet && chance(S.k.p_vote_no)) {
        /* As service.c when the partition's log has failed: a "no" without preparing. */
        TRACE("p%d votes NO for pid=%" PRId64 " e=%d rpc=%" PRIu64, pi, m->pid, m->epoch, m->id);
        S.cov[COV_VOTE_NO]++;
        msg r = {.kind = M_VOTE, .src = m->dst, .dst = NODE_COORD, .id = m->id, .partition = pi,
                 .commit = false};
        send_msg(&r);
        return;
    }
    int64_t need = pstate_prepare(&p->ps, m->pid, m->epoch);
    msg r = {.kind = M_VOTE, .src = m->dst, .dst = NODE_COORD, .id = m->id, .partition = pi,
             .commit = true};
    TRACE("p%d prepare pid=%" PRId64 " e=%d rpc=%" PRIu64 ": durable to %" PRId64
          " needed (durable %" PRId64 ")", pi, m->pid, m->epoch, m->id, need,
          part_durable_end(p));
    p->dirty = true;
    if (need < 0)
        S.cov[COV_VOTE_EMPTY]++;
    else if (need > part_durable_end(p))
        S.cov[COV_PREPARE_WAIT]++;
    part_wait(pi, W_VOTE, need < 0 ? 0 : need, &r);
}

static void part_on_marker(int pi, const msg *m)
{
    if (fenced_rpc(pi, m))
        return;
    pentry e = {.control = true, .commit = m->commit, .pid = m->pid, .epoch = m->epoch,
                .count = 1, .decision = m->decision};
    pentry *n = part_append(pi, &e);
    const pstate_entry *pe = pstate_find(&S.parts[pi].ps, m->pid);
    bool open = pe && pe->txn != PS_TXN_NONE;
    TRACE("p%d %s marker pid=%" PRId64 " e=%d decision=%d at %" PRId64 "%s rpc=%" PRIu64, pi,
          m->commit ? "COMMIT" : "ABORT", m->pid, m->epoch, m->decision, n->base,
          open ? "" : " (no open txn)", m->id);
    if (!open)
        S.cov[COV_NOOP_MARKER]++;
    apply_marker(pi, n);
    msg r = {.kind = M_MARKED, .src = m->dst, .dst = NODE_COORD, .id = m->id, .partition = pi};
    part_wait(pi, W_MARKED, n->base + 1, &r);
}

static void part_on_fsync(int pi, int64_t target)
{
    part_node *p = &S.parts[pi];
    p->fsyncing = false;
    if (target > p->durable_n)
        p->durable_n = (int)target;
    p->dirty = true;
    int64_t d = part_durable_end(p);
    int k = 0;
    for (int i = 0; i < p->nwaits; i++) {
        if (p->waits[i].need <= d)
            send_msg(&p->waits[i].reply);
        else
            p->waits[k++] = p->waits[i];
    }
    p->nwaits = k;
    part_start_fsync(pi);
}

static void part_crash(int pi)
{
    part_node *p = &S.parts[pi];
    int keep = p->durable_n;
    if (chance(S.k.p_keep_unsynced))
        keep = (int)rnd(p->durable_n, p->n);
    TRACE("CRASH p%d: log %d entries, %d durable, %d survive", pi, p->n, p->durable_n, keep);
    p->n = p->durable_n = keep;
    p->up = false;
    p->fsyncing = false;
    p->nwaits = 0;
    p->nab = 0;
    p->nfences = 0;
    pstate_free(&p->ps);
    p->dirty = true;
    S.crashes++;
}

/* Restart: rebuild the producer state and the aborted ranges by replaying the log. */
static void part_start(int pi)
{
    part_node *p = &S.parts[pi];
    p->up = true;
    p->inc++;
    pstate_init(&p->ps);
    p->nab = 0;
    for (int i = 0; i < p->n; i++) {
        const pentry *e = &p->log[i];
        if (e->control) {
            apply_marker(pi, e);
        } else {
            rb_header h;
            sim_txn_batch_header(&h, e->pid, e->epoch, e->seq, e->count);
            if (pstate_on_append(&p->ps, &h, e->base) != 0)
                fail("pstate_on_append failed in replay");
        }
    }
    p->durable_n = p->n; /* recovery makes what survived durable */
    p->dirty = true;
    TRACE("START p%d (incarnation %u): replayed %d entries, %zu open txns", pi, p->inc, p->n,
          p->ps.open_txns);
}

static void part_on_msg(int pi, const msg *m)
{
    switch (m->kind) {
    case M_PRODUCE: part_on_produce(pi, m); break;
    case M_PREPARE: part_on_prepare(pi, m); break;
    case M_MARKER: part_on_marker(pi, m); break;
    default: fail("partition got %s", g_msg_names[m->kind]);
    }
}

/* ---------------- clients ---------------- */

static void client_send(client *c, const msg *m)
{
    c->req = *m;
    c->req_active = true;
    c->req_sent = S.now;
    send_msg(m);
}

static msg client_msg(const client *c, int kind, int dst)
{
    msg m = {.kind = kind, .src = node_client(c->idx), .dst = dst, .src_inc = c->inc,
             .conn = c->conn[dst], .id = ++S.next_id, .pid = c->pid, .epoch = c->epoch,
             .exp_pid = -1, .exp_epoch = -1};
    return m;
}

static void client_send_init(client *c)
{
    msg m = client_msg(c, M_INIT_PID, NODE_COORD);
    if (c->have_pid && c->init_expected) {
        m.exp_pid = c->pid;
        m.exp_epoch = c->epoch;
    }
    TRACE("c%d InitPid expected=%" PRId64 "/%d req=%" PRIu64, c->idx, m.exp_pid, m.exp_epoch,
          m.id);
    client_send(c, &m);
}

/* A request timed out: close the connection to that broker and open a new one. */
static void client_reconnect(client *c, int srv)
{
    c->conn[srv]++;
    c->conn_broken[srv] = false;
    c->conn_last[srv][0] = c->conn_last[srv][1] = S.now;
}

static void client_backoff(client *c)
{
    c->backoff_until = S.now + rnd(5, 40);
}

/* Leaves the current transaction with `result`; the in-flight produces are abandoned. */
static void client_finish_txn(client *c, int result)
{
    if (c->txn >= 0) {
        ctxn *t = &S.txns[c->txn];
        if (t->result == R_OPEN)
            t->result = result;
        TRACE("c%d txn #%d ends: %s", c->idx, t->no, g_result_names[t->result]);
        if (result == R_COMMITTED)
            S.commits++;
        else if (result == R_ABORTED)
            S.aborts++;
        else
            S.failures++;
    }
    c->txn = -1;
    for (int p = 0; p < MAXP; p++)
        c->inflight[p] = false;
}

static void client_reinit(client *c, bool expected)
{
    c->st = C_INIT;
    c->init_expected = expected;
    c->req_active = false;
    c->bump_after = false;
    client_backoff(c);
}

static void client_begin_txn(client *c)
{
    uint32_t want = 0;
    int n = (int)rnd(1, S.k.P < 3 ? S.k.P : 3);
    for (int guard = 0; guard < 100 && __builtin_popcount(want) < n; guard++)
        want |= 1u << rnd(0, S.k.P - 1);
    c->want_mask = want;
    c->added_mask = c->adding_mask = 0;
    for (int p = 0; p < MAXP; p++) {
        c->left[p] = (want & (1u << p)) ? (int)rnd(1, S.k.max_batches) : 0;
        if (c->left[p] > 0 && chance(S.k.p_empty_part))
            c->left[p] = 0;
        c->inflight[p] = false;
    }
    c->txn_error = false;
    c->txn = new_txn(c->idx, c->inc, c->txns_started, c->pid, c->epoch);
    c->txns_started++;
    c->st = C_TXN;
    TRACE("c%d begins txn #%d pid=%" PRId64 " e=%d parts=%#x", c->idx, S.txns[c->txn].no,
          c->pid, c->epoch, want);
}

static void client_start_end(client *c, bool commit)
{
    for (int p = 0; p < MAXP; p++)
        if (c->inflight[p]) {
            c->inflight[p] = false;
            /* A late produce must not land in our next transaction. Transactions v2: the
             * end's epoch bump fences it at the partition, no re-initialization needed. */
            if (!S.k.tv2)
                c->bump_after = true;
        }
    c->req_active = false;
    /* Transactions v2 ends even with nothing added (an abort then only bumps the epoch). */
    bool tv2_empty_abort = S.k.tv2 && !commit;
    if (c->added_mask == 0 && c->adding_mask == 0 && !tv2_empty_abort) {
        /* Nothing was ever added: there is nothing to end at the coordinator. */
        TRACE("c%d drops txn #%d (no partition added)", c->idx, S.txns[c->txn].no);
        client_finish_txn(c, R_FAILED);
        if (c->bump_after)
            client_reinit(c, true);
        else
            c->st = C_READY;
        return;
    }
    c->st = C_ENDING;
    msg m = client_msg(c, M_END, NODE_COORD);
    m.commit = commit;
    m.tv2 = S.k.tv2;
    if (tv2_empty_abort && c->added_mask == 0 && c->adding_mask == 0)
        S.cov[COV_TV2_EMPTY_ABORT]++;
    if (commit)
        S.txns[c->txn].commit_requested = true;
    TRACE("c%d EndTxn(%s) txn #%d req=%" PRIu64, c->idx, commit ? "commit" : "abort",
          S.txns[c->txn].no, m.id);
    client_send(c, &m);
}

static void client_send_produce(client *c, int p)
{
    int32_t count = (int32_t)rnd(1, 3);
    msg m = client_msg(c, M_PRODUCE, node_part(p));
    m.partition = p;
    m.seq = c->seq[p];
    m.count = count;
    m.uid = new_batch(c->txn, p, c->pid, c->epoch, m.seq, count);
    c->seq[p] += count;
    c->prod[p] = m;
    c->inflight[p] = true;
    c->prod_sent[p] = S.now;
    TRACE("c%d produce batch %u -> p%d pid=%" PRId64 " e=%d seq=%d n=%d", c->idx, m.uid, p,
          c->pid, c->epoch, m.seq, count);
    send_msg(&m);
}

static void client_step(client *c)
{
    if (c->st == C_DOWN || c->st == C_DONE)
        return;
    if (c->req_active && S.now - c->req_sent >= CLIENT_RTO_MS) {
        client_reconnect(c, NODE_COORD);
        c->req.conn = c->conn[NODE_COORD];
        TRACE("c%d re-sends %s req=%" PRIu64, c->idx, g_msg_names[c->req.kind], c->req.id);
        c->req_sent = S.now;
        send_msg(&c->req);
    }
    if (c->st == C_INIT) {
        if (!c->req_active && S.now >= c->backoff_until)
            client_send_init(c);
        return;
    }
    if (c->st == C_READY) {
        if (S.quiet || c->txns_started >= S.k.txns_per_client) {
            c->st = C_DONE;
            TRACE("c%d done", c->idx);
            return;
        }
        client_begin_txn(c);
    }
    if (c->st == C_ENDING) {
        if (!c->req_active && S.now >= c->backoff_until) {
            msg m = c->req; /* the same EndTxn again */
            m.conn = c->conn[NODE_COORD];
            client_send(c, &m);
        }
        return;
    }
    BROOK_ASSERT(c->st == C_TXN);
    bool any_inflight = false;
    for (int p = 0; p < S.k.P; p++)
        if (c->inflight[p]) {
            any_inflight = true;
            if (S.now - c->prod_sent[p] >= CLIENT_RTO_MS) {
                client_reconnect(c, node_part(p));
                c->prod[p].conn = c->conn[node_part(p)];
                TRACE("c%d re-sends batch %u -> p%d", c->idx, c->prod[p].uid, p);
                c->prod_sent[p] = S.now;
                send_msg(&c->prod[p]);
            }
        }
    if (c->txn_error) {
        client_start_end(c, false);
        return;
    }
    if (any_inflight && !S.quiet && chance(S.k.p_sloppy_abort)) {
        TRACE("c%d aborts with produces in flight", c->idx);
        client_start_end(c, false);
        return;
    }
    uint32_t missing = c->want_mask & ~c->added_mask;
    if (missing && !c->req_active && S.now >= c->backoff_until) {
        /* Add all missing partitions, or just one (clients add lazily, per partition). */
        uint32_t add = missing;
        if (chance(0.5)) {
            int p = __builtin_ctz(missing);
            add = 1u << p;
        }
        msg m = client_msg(c, M_ADD, NODE_COORD);
        m.parts_mask = add;
        c->adding_mask = add;
        TRACE("c%d AddPartitions %#x req=%" PRIu64, c->idx, add, m.id);
        client_send(c, &m);
    }
    bool work_left = missing != 0; /* batches not yet sent (left counts unacknowledged) */
    for (int p = 0; p < S.k.P; p++) {
        if ((c->added_mask & (1u << p)) && c->left[p] > 0 && !c->inflight[p])
            client_send_produce(c, p);
        if (c->left[p] > (c->inflight[p] ? 1 : 0))
            work_left = true;
    }
    for (int p = 0; p < S.k.P; p++)
        any_inflight |= c->inflight[p];
    if (!work_left && !c->req_active) {
        if (!any_inflight)
            client_start_end(c, !chance(S.k.p_abort));
        else if (!S.quiet && chance(S.k.p_sloppy_commit)) {
            TRACE("c%d commits with produces in flight", c->idx);
            client_start_end(c, true);
        }
    }
}

static bool retriable(int16_t e)
{
    return e == KERR_CONCURRENT_TRANSACTIONS || e == KERR_COORDINATOR_NOT_AVAILABLE ||
           e == KERR_COORDINATOR_LOAD_IN_PROGRESS || e == KERR_NOT_COORDINATOR;
}

static void client_on_coord_reply(client *c, const msg *m)
{
    if (!c->req_active || m->id != c->req.id)
        return; /* an answer to an older request */
    c->req_active = false;
    int kind = c->req.kind;
    TRACE("c%d got %s reply err=%d pid=%" PRId64 " e=%d", c->idx, g_msg_names[kind], m->error,
          m->pid, m->epoch);
    if (retriable(m->error)) {
        if (kind == M_ADD)
            c->adding_mask = 0;
        client_backoff(c);
        return;
    }
    switch (kind) {
    case M_INIT_PID:
        if (m->error == KERR_NONE) {
            c->have_pid = true;
            c->pid = m->pid;
            c->epoch = m->epoch;
            memset(c->seq, 0, sizeof(c->seq));
            c->init_expected = false;
            c->st = C_READY;
        } else if (m->error == KERR_PRODUCER_FENCED) {
            c->init_expected = false; /* another instance took over: start afresh */
            client_backoff(c);
        } else {
            fail("c%d: unexpected InitProducerId error %d", c->idx, m->error);
        }
        break;
    case M_ADD:
        if (m->error == KERR_NONE) {
            c->added_mask |= c->adding_mask;
            c->adding_mask = 0;
        } else if (m->error == KERR_PRODUCER_FENCED ||
                   m->error == KERR_INVALID_PRODUCER_ID_MAPPING ||
                   m->error == KERR_INVALID_PRODUCER_EPOCH ||
                   m->error == KERR_INVALID_TXN_STATE) {
            client_finish_txn(c, R_FAILED);
            client_reinit(c, false);
        } else {
            fail("c%d: unexpected AddPartitionsToTxn error %d", c->idx, m->error);
        }
        break;
    case M_END: {
        bool commit = c->req.commit;
        if (m->error == KERR_NONE) {
            ctxn *t = &S.txns[c->txn];
            if (t->decided && t->decided_commit != commit)
                fail("txn c%d#%d: EndTxn(%s) succeeded but its records were %s", c->idx,
                     t->no, commit ? "commit" : "abort",
                     t->decided_commit ? "committed" : "aborted");
            TRACE("c%d txn #%d %s", c->idx, t->no, commit ? "COMMITTED" : "ABORTED");
            client_finish_txn(c, commit ? R_COMMITTED : R_ABORTED);
            if (c->req.tv2) {
                /* The end bumped the epoch (maybe to a new producer id): go on with it. */
                if (m->pid < 0 || (m->pid == c->pid && m->epoch <= c->epoch))
                    fail("c%d: EndTxn v5 answered pid %" PRId64 " epoch %d after %" PRId64
                         "/%d: no bump", c->idx, m->pid, m->epoch, c->pid, c->epoch);
                c->pid = m->pid;
                c->epoch = m->epoch;
                memset(c->seq, 0, sizeof(c->seq));
                S.cov[COV_TV2_END]++;
            }
            if (c->bump_after)
                client_reinit(c, true);
            else
                c->st = C_READY;
        } else if (m->error == KERR_PRODUCER_FENCED ||
                   m->error == KERR_INVALID_PRODUCER_ID_MAPPING ||
                   m->error == KERR_INVALID_PRODUCER_EPOCH ||
                   m->error == KERR_INVALID_TXN_STATE || m->error == KERR_KAFKA_STORAGE_ERROR) {
            client_finish_txn(c, R_FAILED);
            client_reinit(c, m->error != KERR_PRODUCER_FENCED && chance(S.k.p_expected_init));
        } else {
            fail("c%d: unexpected EndTxn error %d", c->idx, m->error);
        }
        break;
    }
    default: fail("c%d: reply to %s", c->idx, g_msg_names[kind]);
    }
}

static void client_on_produce_reply(client *c, const msg *m)
{
    int p = m->partition;
    if (c->st != C_TXN || !c->inflight[p] || c->prod[p].id != m->id)
        return;
    TRACE("c%d produce reply batch %u p%d err=%d offset=%" PRId64, c->idx, m->uid, p, m->error,
          m->offset);
    if (m->error == KERR_NONE) {
        bat *b = &S.bats[m->uid];
        b->acked = true;
        b->offset = m->offset;
        c->inflight[p] = false;
        c->left[p]--;
        return;
    }
    if (retriable(m->error)) {
        c->prod_sent[p] = S.now - CLIENT_RTO_MS + rnd(5, 30); /* re-send soon */
        return;
    }
    if (m->error == KERR_INVALID_TXN_STATE || m->error == KERR_INVALID_PRODUCER_EPOCH ||
        m->error == KERR_OUT_OF_ORDER_SEQUENCE_NUMBER || m->error == KERR_PRODUCER_FENCED) {
        c->inflight[p] = false;
        c->txn_error = true;
        c->bump_after = true;
        return;
    }
    fail("c%d: unexpected produce error %d", c->idx, m->error);
}

static void client_on_msg(int ci, const msg *m)
{
    client *c = &S.clients[ci];
    if (c->st == C_DOWN || m->dst_inc != c->inc)
        return; /* the connection that asked is gone */
    if (m->kind == M_COORD_REPLY)
        client_on_coord_reply(c, m);
    else if (m->kind == M_PRODUCE_REPLY)
        client_on_produce_reply(c, m);
    else
        fail("client got %s", g_msg_names[m->kind]);
    client_step(c);
}

static void client_crash(int ci)
{
    client *c = &S.clients[ci];
    TRACE("CRASH c%d (state %s)", ci, g_cstate_names[c->st]);
    client_finish_txn(c, R_ABANDONED);
    c->st = C_DOWN;
    c->req_active = false;
    S.crashes++;
}

static void client_start(int ci)
{
    client *c = &S.clients[ci];
    c->inc++;
    for (int s2 = 0; s2 < 1 + MAXP; s2++)
        client_reconnect(c, s2);
    c->have_pid = false;
    c->pid = -1;
    c->epoch = -1;
    c->bump_after = false;
    c->txn = -1;
    client_reinit(c, false);
    c->backoff_until = S.now;
    TRACE("START c%d (incarnation %u)", ci, c->inc);
    schedule(S.now + rnd(1, 20), EV_CLIENT_TICK, NULL, ci, c->inc, 0);
}

/* ---------------- invariants ---------------- */

static bool in_aborted(const part_node *p, int64_t pid, int64_t off)
{
    for (int i = 0; i < p->nab; i++)
        if (p->ab[i].pid == pid && p->ab[i].first_offset <= off && off <= p->ab[i].last_offset)
            return true;
    return false;
}

/* Checks one partition (when up):
 *  (1) a read_committed reader (the durable prefix below the last stable offset, skipping
 *      the aborted ranges pstate reported) sees only records closed by a COMMIT marker;
 *      a committed record below the LSO is not hidden by an aborted range;
 *  (2) every record of a client transaction is closed by the same decision, on every
 *      partition, and that agrees with what the client was told (txn_closed());
 *  (3) no batch appears twice, and each is where and what its client sent;
 *  no acknowledged batch is lost; pstate's first unstable offset equals the log's. */
static void check_partition(int pi)
{
    part_node *p = &S.parts[pi];
    p->dirty = false;
    if (!p->up || S.failed)
        return;
    static int *closer;
    static int closer_cap;
    if (p->n > closer_cap) {
        int cap = p->n * 2;
        int *n = realloc(closer, (size_t)cap * sizeof(*n));
        BROOK_ASSERT(n);
        closer = n;
        closer_cap = cap;
    }
    /* The marker that closes each data batch: the next marker of its producer id. Also the
     * first offset of each producer's still-open records (after its last marker). */
    enum { MAXPIDS = 64 };
    int64_t pids[MAXPIDS];
    int next_marker[MAXPIDS];
    int64_t open_first[MAXPIDS];
    int npids = 0;
    for (int i = p->n - 1; i >= 0; i--) {
        const pentry *e = &p->log[i];
        int k = 0;
        while (k < npids && pids[k] != e->pid)
            k++;
        if (k == npids) {
            BROOK_ASSERT(npids < MAXPIDS);
            pids[npids] = e->pid;
            next_marker[npids] = -1;
            open_first[npids] = INT64_MAX;
            npids++;
        }
        if (e->control) {
            next_marker[k] = i;
        } else {
            closer[i] = next_marker[k];
            if (next_marker[k] < 0)
                open_first[k] = e->base;
        }
    }
    int64_t want_fu = INT64_MAX;
    for (int k = 0; k < npids; k++)
        if (open_first[k] < want_fu)
            want_fu = open_first[k];
    int64_t fu = pstate_first_unstable_offset(&p->ps);
    if (fu != want_fu) {
        fail("p%d: pstate first unstable offset %" PRId64 " but the log's is %" PRId64, pi, fu,
             want_fu);
        return;
    }
    int64_t durable = part_durable_end(p);
    int64_t lso = fu < durable ? fu : durable;
    S.scan_gen++;
    for (int i = 0; i < p->n && !S.failed; i++) {
        const pentry *e = &p->log[i];
        if (e->control)
            continue;
        if (e->uid == 0 || e->uid >= S.nbats) {
            fail("p%d: batch with unknown id %u", pi, e->uid);
            return;
        }
        bat *b = &S.bats[e->uid];
        if (b->seen_gen == S.scan_gen) {
            fail("p%d: batch %u appears twice in the log", pi, e->uid);
            return;
        }
        b->seen_gen = S.scan_gen;
        if (b->partition != pi || b->pid != e->pid || b->epoch != e->epoch || b->seq != e->seq ||
            b->count != e->count) {
            fail("p%d: batch %u is not what its client sent", pi, e->uid);
            return;
        }
        if (b->acked && b->offset != e->base && !g_ack_before_fsync) {
            fail("p%d: batch %u acknowledged at %" PRId64 " but stored at %" PRId64, pi, e->uid,
                 b->offset, e->base);
            return;
        }
        int ci = closer[i];
        if (ci >= 0) {
            int32_t d = p->log[ci].decision;
            int want = p->log[ci].commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT;
            if (d < 0 || d >= S.co.durable_n || S.co.log[d].state != want ||
                S.co.log[d].pid != e->pid) {
                fail("p%d: marker at %" PRId64 " carries out no durable matching decision", pi,
                     p->log[ci].base);
                return;
            }
            txn_closed(b->txn, d, p->log[ci].commit, pi);
        }
        bool visible = e->base + e->count <= lso && !in_aborted(p, e->pid, e->base);
        if (visible) {
            if (ci < 0)
                fail("p%d: read_committed sees batch %u (offset %" PRId64 ") of an undecided "
                     "transaction (LSO %" PRId64 ")", pi, e->uid, e->base, lso);
            else if (!p->log[ci].commit)
                fail("p%d: read_committed sees batch %u (offset %" PRId64 ") of an aborted "
                     "transaction", pi, e->uid, e->base);
            b->was_visible = true;
        } else if (ci >= 0 && p->log[ci].commit && e->base + e->count <= lso) {
            fail("p%d: committed batch %u (offset %" PRId64 ") is hidden by an aborted range", pi,
                 e->uid, e->base);
        } else if (b->was_visible) {
            /* Visible once, not now: its marker was not yet durable and a crash took it; the
             * decision is durable, so the marker comes again (counted, not a violation). */
            S.visibility_regressions++;
            b->was_visible = false;
            TRACE("note: p%d batch %u no longer visible (marker lost in a crash)", pi, e->uid);
        }
    }
    for (uint32_t u = 1; u < S.nbats && !S.failed && !g_ack_before_fsync; u++)
        if (S.bats[u].acked && S.bats[u].partition == pi && S.bats[u].seen_gen != S.scan_gen)
            fail("p%d: acknowledged batch %u (offset %" PRId64 ") is lost", pi, u,
                 S.bats[u].offset);
}

/* The coordinator acts only on durable state: each transactional id's state, producer id,
 * epoch and participants in memory are those of its last durable transaction-log record
 * (so an acknowledged AddPartitionsToTxn is never forgotten by a crash), except that a
 * completion (CompleteCommit/Abort) is not awaited: then that record is the matching
 * decision. */
static void check_coord(void)
{
    if (!S.co.up || S.failed)
        return;
    for (const txn_meta *t = S.co.c.by_id; t; t = t->hh.next) {
        int last = -1;
        for (int i = S.co.durable_n - 1; i >= 0 && last < 0; i--)
            if (strcmp(S.co.log[i].id, t->id) == 0)
                last = i;
        if (last < 0) {
            if (t->pid >= 0)
                fail("coordinator: %s has producer id %" PRId64 " but no durable record", t->id,
                     t->pid);
            continue;
        }
        const crec *r = &S.co.log[last];
        uint32_t mask = 0;
        for (int k = 0; k < t->nparts; k++)
            mask |= 1u << t->parts[k].partition;
        bool complete = t->state == TXN_COMPLETE_COMMIT || t->state == TXN_COMPLETE_ABORT;
        bool ok = r->pid == t->pid && r->epoch == t->epoch;
        if (complete)
            ok = ok && (r->state == t->state ||
                        r->state == (t->state == TXN_COMPLETE_COMMIT ? TXN_PREPARE_COMMIT
                                                                     : TXN_PREPARE_ABORT));
        else
            ok = ok && r->state == t->state && r->parts_mask == mask;
        if (!ok)
            fail("coordinator: %s is %s pid=%" PRId64 " e=%d parts=%#x in memory but its last "
                 "durable record log[%d] is %s pid=%" PRId64 " e=%d parts=%#x", t->id,
                 txn_state_name(t->state), t->pid, t->epoch, mask, last,
                 txn_state_name(r->state), r->pid, r->epoch, r->parts_mask);
    }
}

static bool coord_quiescent(bool report)
{
    if (!S.co.up)
        return false;
    for (txn_meta *t = S.co.c.by_id; t; t = t->hh.next) {
        bool done = t->phase == TXN_PHASE_IDLE &&
                    (t->state == TXN_EMPTY || t->state == TXN_COMPLETE_COMMIT ||
                     t->state == TXN_COMPLETE_ABORT);
        if (!done) {
            if (report)
                fail("(4) coordinator: %s is %s, phase %d, after the quiet phase", t->id,
                     txn_state_name(t->state), t->phase);
            return false;
        }
    }
    return true;
}

static bool converged(void)
{
    if (!S.quiet || S.inflight_msgs > 0 || !coord_quiescent(false))
        return false;
    for (int i = 0; i < S.k.K; i++)
        if (S.clients[i].st != C_DONE)
            return false;
    for (int i = 0; i < S.k.P; i++)
        if (!S.parts[i].up || S.parts[i].ps.open_txns > 0 || S.parts[i].nwaits > 0)
            return false;
    return true;
}

/* (4): after the quiet phase every transaction is complete everywhere, and every EndTxn a
 * client got success for is committed (every acknowledged batch of it readable). */
static void check_final(void)
{
    for (int i = 0; i < S.k.P && !S.failed; i++) {
        check_partition(i);
        if (S.parts[i].ps.open_txns > 0)
            fail("(4) p%d: %zu open transactions after the quiet phase", i,
                 S.parts[i].ps.open_txns);
    }
    if (S.failed)
        return;
    coord_quiescent(true);
    for (int i = 0; i < S.k.K && !S.failed; i++)
        if (S.clients[i].st != C_DONE)
            fail("(4) c%d is still %s after the quiet phase", i,
                 g_cstate_names[S.clients[i].st]);
    for (uint32_t u = 1; u < S.nbats && !S.failed; u++) {
        const bat *b = &S.bats[u];
        const ctxn *t = &S.txns[b->txn];
        if (t->result == R_COMMITTED && b->acked && !b->was_visible)
            fail("(4) txn c%d#%d committed but its batch %u at p%d is not readable", t->client,
                 t->no, u, b->partition);
        if (t->result == R_ABORTED && b->was_visible)
            fail("(4) txn c%d#%d aborted but its batch %u at p%d is readable", t->client, t->no,
                 u, b->partition);
    }
}

/* ---------------- the run ---------------- */

static void pick_knobs(knobs *k, uint64_t seed)
{
    sim_rng r;
    sim_rng_seed(&r, seed ^ 0x5eedull);
    static const double drops[] = {0, 0.02, 0.1, 0.25};
    static const double dups[] = {0, 0.05, 0.2};
    static const double longs[] = {0, 0.02, 0.1};
    static const int delays[] = {2, 10, 40};
    static const double crashes[] = {0, 0.02, 0.06};
    static const int downs[] = {50, 300};
    static const double appfails[] = {0, 0.02, 0.1};
    static const double keeps[] = {0, 0.5};
    static const int fsyncs[] = {1, 5, 20, 60};
    static const int32_t timeouts[] = {250, 800, 5000};
#define PICK(arr) (arr)[sim_rng_range(&r, 0, (int64_t)BROOK_ARRAY_LEN(arr) - 1)]
    k->P = (int)sim_rng_range(&r, 1, MAXP);
    k->K = (int)sim_rng_range(&r, 1, MAXK);
    k->txns_per_client = (int)sim_rng_range(&r, 2, 10);
    k->p_drop = PICK(drops);
    k->p_dup = PICK(dups);
    k->p_long_delay = PICK(longs);
    k->delay_max_ms = PICK(delays);
    k->p_crash = PICK(crashes);
    k->down_max_ms = PICK(downs);
    k->p_append_fail = PICK(appfails);
    k->p_keep_unsynced = PICK(keeps);
    k->fsync_max_ms = PICK(fsyncs);
    k->fault_ms = (int)sim_rng_range(&r, 300, 4000);
    k->txn_timeout_ms = PICK(timeouts);
    k->p_abort = 0.25;
    k->p_sloppy_abort = sim_rng_chance(&r, 0.5) ? 0.01 : 0;
    k->p_expected_init = 0.5;
    k->max_batches = (int)sim_rng_range(&r, 1, 3);
    k->p_admin_abort = sim_rng_chance(&r, 0.3) ? 0.05 : 0;
    k->p_sloppy_commit = sim_rng_chance(&r, 0.5) ? 0.3 : 0;
    k->p_empty_part = sim_rng_chance(&r, 0.5) ? 0.2 : 0;
    k->shared_ids = k->K >= 2 && sim_rng_chance(&r, 0.3);
    k->p_vote_no = sim_rng_chance(&r, 0.2) ? 0.1 : 0;
    if (sim_rng_chance(&r, 0.15)) {
        /* A harsh profile: frequent crashes, lossy and slow network. */
        k->p_crash = 0.2;
        k->down_max_ms = 100;
        k->p_drop = 0.15;
        k->p_long_delay = 0.1;
        k->p_keep_unsynced = 0.5;
    }
    /* Drawn last, so the other knobs of a seed are those it had before this one existed. */
    k->tv2 = sim_rng_chance(&r, 0.5) || g_tv2_only;
#undef PICK
}

static void node_crash(int node)
{
    if (node == NODE_COORD) {
        if (S.co.up)
            coord_crash();
        else
            return;
    } else if (is_part_node(node)) {
        if (S.parts[node - 1].up)
            part_crash(node - 1);
        else
            return;
    } else {
        int ci = node - 1 - MAXP;
        if (S.clients[ci].st == C_DOWN || S.clients[ci].st == C_DONE)
            return;
        client_crash(ci);
    }
    schedule(S.now + rnd(5, S.k.down_max_ms), EV_RESTART, NULL, node, 0, 0);
}

static void node_restart(int node)
{
    if (node == NODE_COORD)
        coord_start();
    else if (is_part_node(node))
        part_start(node - 1);
    else
        client_start(node - 1 - MAXP);
}

static uint32_t node_inc(int n)
{
    if (n == NODE_COORD)
        return S.co.inc;
    if (is_part_node(n))
        return S.parts[n - 1].inc;
    return S.clients[n - 1 - MAXP].inc;
}

static bool node_up(int n)
{
    if (n == NODE_COORD)
        return S.co.up;
    if (is_part_node(n))
        return S.parts[n - 1].up;
    return S.clients[n - 1 - MAXP].st != C_DOWN;
}

static void deliver(msg *m)
{
    char a[16], b[16];
    S.inflight_msgs--;
    if (!is_client_node(m->dst) && !g_unfenced && m->dst_inc != node_inc(m->dst))
        return; /* its connection died with the receiver's previous incarnation */
    int ci, srv, dir;
    if (!g_datagram_clients && (is_client_node(m->src) || is_client_node(m->dst)) &&
        !client_conn_check(m, &ci, &srv, &dir))
        return; /* the client closed that connection */
    if (m->dst == NODE_COORD) {
        if (!S.co.up)
            return;
        TRACE("deliver %s %s->coord id=%" PRIu64, g_msg_names[m->kind],
              node_name(m->src, a, sizeof(a)), m->id);
        coord_on_msg(m);
    } else if (is_part_node(m->dst)) {
        if (!S.parts[m->dst - 1].up)
            return;
        TRACE("deliver %s %s->%s id=%" PRIu64, g_msg_names[m->kind],
              node_name(m->src, a, sizeof(a)), node_name(m->dst, b, sizeof(b)), m->id);
        part_on_msg(m->dst - 1, m);
    } else if (is_client_node(m->dst)) {
        client_on_msg(m->dst - 1 - MAXP, m);
    }
}

static void dispatch(const sim_event *e)
{
    switch (e->kind) {
    case EV_MSG:
        deliver(e->data);
        free(e->data);
        break;
    case EV_FSYNC_COORD:
        if (S.co.up && e->a == S.co.inc)
            coord_on_fsync(e->b);
        break;
    case EV_FSYNC_PART:
        if (S.parts[e->a].up && e->b == S.parts[e->a].inc)
            part_on_fsync((int)e->a, e->c);
        break;
    case EV_CLIENT_TICK: {
        client *c = &S.clients[e->a];
        if (e->b != c->inc || c->st == C_DOWN)
            break;
        client_step(c);
        if (c->st != C_DONE)
            schedule(S.now + rnd(5, 25), EV_CLIENT_TICK, NULL, e->a, e->b, 0);
        break;
    }
    case EV_COORD_TICK:
        if (S.co.up && e->a == S.co.inc) {
            size_t before = S.co.c.nacts;
            txn_coord_tick(&S.co.c, S.now);
            if (S.co.c.nacts > before)
                S.cov[COV_TIMEOUT_ABORT]++;
            coord_run();
            if (!S.quiet && chance(S.k.p_admin_abort)) {
                const char *id = S.clients[rnd(0, S.k.K - 1)].txn_id;
                int16_t err = txn_coord_admin_abort(&S.co.c, id, S.now);
                TRACE("operator aborts %s: error %d", id, err);
                if (err == KERR_NONE)
                    S.cov[COV_ADMIN_ABORT]++;
                coord_run();
            }
            schedule(S.now + COORD_TICK_MS, EV_COORD_TICK, NULL, e->a, 0, 0);
        }
        break;
    case EV_COORD_RESEND:
        if (S.co.up && e->a == S.co.inc)
            coord_on_resend((uint64_t)e->b);
        break;
    case EV_FAULT:
        if (S.quiet)
            break;
        if (chance(S.k.p_crash)) {
            int n = (int)rnd(0, S.k.P + S.k.K); /* 0: coordinator */
            node_crash(n == 0 ? NODE_COORD
                              : n <= S.k.P ? node_part(n - 1) : node_client(n - 1 - S.k.P));
        }
        schedule(S.now + FAULT_TICK_MS, EV_FAULT, NULL, 0, 0, 0);
        break;
    case EV_RESTART: node_restart((int)e->a); break;
    case EV_QUIET:
        S.quiet = true;
        TRACE("QUIET phase: no more drops, duplicates, crashes or failed appends");
        break;
    default: fail("unknown event %d", e->kind);
    }
}

static void run_free(void)
{
    sim_event e;
    while (sim_queue_pop(&S.q, &e))
        if (e.kind == EV_MSG)
            free(e.data);
    sim_queue_free(&S.q);
    if (S.co.up)
        txn_coord_free(&S.co.c);
    for (int i = 0; i < S.co.n; i++)
        free(S.co.log[i].val);
    free(S.co.log);
    free(S.co.pend);
    free(S.co.rpcs);
    for (int i = 0; i < MAXP; i++) {
        part_node *p = &S.parts[i];
        if (p->up)
            pstate_free(&p->ps);
        free(p->log);
        free(p->ab);
        free(p->waits);
        free(p->fences);
    }
    free(S.reqs);
    free(S.txns);
    free(S.bats);
}

static void print_knobs(void)
{
    const knobs *k = &S.k;
    printf("seed %" PRIu64 ": P=%d K=%d txns/client=%d drop=%.2f dup=%.2f long=%.2f delay<=%d "
           "crash=%.2f down<=%d appendfail=%.2f keep_unsynced=%.1f fsync<=%d faults=%dms "
           "timeout=%d sloppy=%.2f/%.2f batches<=%d empty=%.1f admin=%.2f shared_ids=%d tv2=%d\n",
           S.seed, k->P, k->K, k->txns_per_client, k->p_drop, k->p_dup, k->p_long_delay,
           k->delay_max_ms, k->p_crash, k->down_max_ms, k->p_append_fail, k->p_keep_unsynced,
           k->fsync_max_ms, k->fault_ms, k->txn_timeout_ms, k->p_sloppy_abort, k->p_sloppy_commit,
           k->max_batches, k->p_empty_part, k->p_admin_abort, k->shared_ids, k->tv2);
}

static sim_trace g_trace;
static uint64_t g_totals[8];

/* Runs one seed; returns true when every invariant held. */
static bool run_seed(uint64_t seed, bool verbose, bool report)
{
    memset(&S, 0, sizeof(S));
    S.seed = seed;
    S.trace = &g_trace;
    sim_trace_reset(&g_trace, verbose);
    pick_knobs(&S.k, seed);
    sim_rng_seed(&S.rng, seed);
    sim_queue_init(&S.q);
    S.next_pid = 1000;
    if (verbose)
        print_knobs();
    coord_start();
    for (int i = 0; i < S.k.P; i++)
        part_start(i);
    for (int i = 0; i < S.k.K; i++) {
        S.clients[i].idx = i;
        snprintf(S.clients[i].txn_id, sizeof(S.clients[i].txn_id), "txn-%d",
                 S.k.shared_ids && i == 1 ? 0 : i);
        client_start(i);
    }
    schedule(FAULT_TICK_MS, EV_FAULT, NULL, 0, 0, 0);
    schedule(S.k.fault_ms, EV_QUIET, NULL, 0, 0, 0);
    bool done = false;
    sim_event e;
    for (uint64_t n = 0; n < MAX_EVENTS && !S.failed && sim_queue_pop(&S.q, &e); n++) {
        BROOK_ASSERT(e.at >= S.now);
        S.now = e.at;
        S.events++;
        dispatch(&e);
        for (int i = 0; i < S.k.P && !S.failed; i++)
            if (S.parts[i].dirty)
                check_partition(i);
        check_coord();
        if (!S.failed && converged()) {
            done = true;
            break;
        }
        if (S.now > S.k.fault_ms + QUIET_MAX_MS) {
            fail("(4) no convergence %d ms into the quiet phase", QUIET_MAX_MS);
            break;
        }
    }
    if (!S.failed && !done)
        fail("(4) the run did not converge within %d events", MAX_EVENTS);
    if (!S.failed)
        check_final();
    bool ok = !S.failed;
    if (!ok && report) {
        printf("FAIL seed=%" PRIu64 ": %s\n", seed, S.why);
        if (!verbose) {
            print_knobs();
            sim_trace_dump(&g_trace, 120);
        }
        printf("replay: sim_txn --seed %" PRIu64 " --verbose\n", seed);
    }
    if (verbose || (!ok && report))
        printf("seed %" PRIu64 ": %s at %" PRId64 " ms, %" PRIu64 " events, %" PRIu64
               " messages (%" PRIu64 " dropped, %" PRIu64 " duplicated), %" PRIu64
               " crashes; txns %" PRIu64 " committed, %" PRIu64 " aborted, %" PRIu64
               " failed; %" PRIu64 " visibility regressions\n",
               seed, ok ? "ok" : "FAILED", S.now, S.events, S.msgs_sent, S.msgs_dropped,
               S.msgs_dup, S.crashes, S.commits, S.aborts, S.failures,
               S.visibility_regressions);
    for (int i = 0; i < COV_COUNT; i++)
        g_cov_total[i] += S.cov[i];
    g_totals[0] += S.events;
    g_totals[1] += S.msgs_sent;
    g_totals[2] += S.crashes;
    g_totals[3] += S.commits;
    g_totals[4] += S.aborts;
    g_totals[5] += S.failures;
    g_totals[6] += S.visibility_regressions;
    g_totals[7] += (uint64_t)S.now;
    run_free();
    return ok;
}

static void print_totals(void)
{
    printf("totals: %" PRIu64 " simulated s, %" PRIu64 " events, %" PRIu64 " messages, %" PRIu64
           " crashes; txns %" PRIu64 " committed, %" PRIu64 " aborted, %" PRIu64
           " failed/abandoned; %" PRIu64 " visibility regressions\ncoverage:", g_totals[7] / 1000,
           g_totals[0], g_totals[1], g_totals[2], g_totals[3], g_totals[4], g_totals[5],
           g_totals[6]);
    for (int i = 0; i < COV_COUNT; i++)
        printf(" %s %" PRIu64 "%s", g_cov_names[i], g_cov_total[i], i + 1 < COV_COUNT ? ";" : "\n");
}

int main(int argc, char **argv)
{
    const sim_flag flags[] = {
        {"--unfenced-rpcs", &g_unfenced, "partitions apply stale PREPARE/MARKER copies"},
        {"--datagram-clients", &g_datagram_clients,
         "client messages are datagrams, not TCP streams"},
        {"--ack-before-fsync", &g_ack_before_fsync,
         "produces are acknowledged before they are durable"},
        {"--tv2-only", &g_tv2_only, "every client ends with EndTxn v5 (transactions v2)"},
    };
    sim_opts o;
    int rc = sim_opts_parse(&o, argc, argv, "sim_txn", flags, sizeof(flags) / sizeof(flags[0]));
    if (rc != 0)
        return rc;
    sim_report_aborts(&g_trace, 120, print_knobs);
    return sim_run_seeds(&o, "sim_txn", run_seed, print_totals);
}
