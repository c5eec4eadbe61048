/*
 * sim_repl_txn.c - the deterministic simulator of transactions over replicated partitions
 * (ctest label "sim"; tests/sim/README.md).
 *
 * Three simulated nodes hold one transaction-state partition (T) and 1..3 data partitions,
 * every one replicated on all three (RF 3, min.insync.replicas 2). Per replica it drives the
 * real replication state machine (src/repl/repl.c), the real leader epoch history
 * (src/storage/epochs.c) and, on data partitions, the real producer state
 * (src/storage/pstate.c); on the node that leads T it runs the real transaction coordinator
 * (src/txn/coord.c). The broker glue that connects them (src/broker/replica.c,
 * src/txn/service.c, src/broker/cluster.c, h_inter.c, h_produce.c) does I/O and cannot run
 * here: this file models it, function by function, as that code reads (each model says which
 * function it stands for). Where the simulator found that code unsafe, the default model
 * has a fix instead and a "gap" switch models the code as it is (list below, README.md).
 * What it models:
 *   - replication as sim_repl.c does it (followers fetch from their fsynced end with their
 *     last epoch; divergence and truncation by repl_truncation_offset; ISR changes are
 *     version-checked ZooKeeper writes; a ZooKeeper-like controller elects with repl_elect
 *     when a leader is seen dead (fast for a dead process, after the session timeout for a
 *     silent one), drops dead followers from the ISR, bumps the epoch of a leader that
 *     restarted, and moves leadership back to the preferred replica once it is in the ISR
 *     (src/cluster/zk.c's reconcile_partition), one partition's znode at a time; a node
 *     reads every partition's state at once (a view) and leads only an epoch newer than
 *     its log's; local appends are stamped with the log's leader epoch, the last one this
 *     process led);
 *   - the coordinator (service.c): it loads T when its node leads T (replaying its replica
 *     of T) and finishes every PrepareCommit/PrepareAbort; it forgets everything when it
 *     stops leading T; its transaction-log records count as written only once T's high
 *     watermark passes them (WAIT_LOG); it appends only to a T replica it leads; prepares
 *     and markers for a partition led elsewhere are RPCs retried with backoff until
 *     answered, stamped with its coordinator epoch (cluster.c's remote ops), the others
 *     local (exec_prepare/exec_marker);
 *   - participants (h_inter.c): a prepare fences the producer (pstate_prepare) and is
 *     answered once the partition's high watermark passes its records; a marker from an
 *     older coordinator epoch than the newest marker of the producer in the log is refused
 *     (TRANSACTION_COORDINATOR_FENCED, after which that coordinator stops acting), one whose
 *     transaction sequence was applied is dropped (pstate_marker_is_stale), others are
 *     appended and answered once the high watermark passes them; every STATUS_MS a leader
 *     asks the coordinator about the transactions open on it (BrookTxnStatus,
 *     cluster_txn_outcome) and writes the marker the answer implies;
 *   - produces (h_produce.c): acks=all, refused without the ISR at min.insync; a
 *     transactional batch that starts a transaction on a partition is verified with the
 *     coordinator (AddPartitionsToTxn v5 VerifyOnly when it is another node); answered once the high
 *     watermark passes it; failed (NOT_LEADER_OR_FOLLOWER) when leadership moves;
 *   - K transactional clients: InitProducerId, AddPartitions, produce, EndTxn; retries on
 *     retriable errors and timeouts; an abortable error aborts; a commit waits for every
 *     produce's answer, an abort sometimes does not (then the client bumps its epoch
 *     before the next transaction).
 * Faults: nodes crash (a crash keeps the fsynced prefix of every log and maybe part of the
 * unsynced tail) and restart, pause (SIGSTOP) for short or long (past the ZooKeeper
 * session) times; client and inter-broker messages follow TCP (in order per connection; a
 * loss breaks the connection until its requester reconnects on a timeout; a retry on a new
 * connection can overtake the old one; an inter-broker request still in flight on a
 * closed connection is processed, its answer is lost; a client's is not delivered, as in
 * sim_txn, whose --datagram-clients shows why); replica fetches are datagrams (dropped,
 * duplicated, reordered); every message is delayed; messages to a node die when it
 * restarts. A quiet phase (no faults, everything up) must then let everything finish.
 *
 * Invariants, after every event (and at the end):
 *   1. replicas agree on every offset below their high watermarks (the committed log is
 *      write-once: check_replicas);
 *   2. no acknowledged record is lost: an acks=all produce answered at offset o stays at o
 *      in the committed log;
 *   3. in each epoch of a partition at most one node advances a leader's high watermark;
 *   4. over the committed logs (oracle_*): no batch is stored twice; every marker that
 *      closes a client transaction's records closes them all the same way, on every
 *      partition (none partially committed); a transaction commits only if its client
 *      asked and never against what EndTxn told it (an EndTxn(commit) that succeeded
 *      leaves no acknowledged batch of it aborted); a coordinator's marker carries out a
 *      decision (PrepareCommit/PrepareAbort) that is in the committed transaction log
 *      (checked again at the end), and no transaction has two different decisions;
 *   5. read_committed (check_readers, every READER_MS): what a consumer of each partition's
 *      leader reads (below min(HW, last stable offset), skipping aborted ranges) is only
 *      records whose transaction ends committed, never an aborted or undecided one;
 *   6. after the quiet phase: every replica has caught up with its leader, T's leader has
 *      loaded the coordinator and every transaction in it is complete, no transaction is
 *      open on any partition, every client is done, every acknowledged batch of a
 *      transaction whose EndTxn(commit) succeeded is readable, none of an aborted one is.
 *
 * Hazard switches turn one protection the code has off:
 *   --unclean-election (any live replica is elected), --log-ack-at-append (transaction-log
 *   records count as written once appended on T's leader), --no-coordinator-epochs,
 *   --no-marker-seq (no stale-marker check).
 * Gap switches model the code as it is where the default model has a fix (the README
 * explains each; --code-gaps turns them all on): --local-unled, --load-uncommitted,
 * --stale-marker-ack-now, --no-verify-guard, --stale-hides-cepoch, --unload-keeps-work,
 * --waits-outlive-leadership, --marker-seq-in-memory, --lead-before-bump.
 * Each has a ctest that expects a violation (tests/sim/CMakeLists.txt), except
 * --stale-hides-cepoch, which no seed of the final model shows (README.md).
 * `sim_repl_txn --seed S --verbose` replays one seed and prints every event.
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
#include "repl/repl.h"
#include "sim_base.h"
#include "sim_txn_model.h"
#include "storage/epochs.h"
#include "storage/pstate.h"
#include "txn/coord.h"

#define NN 3              /* nodes 1..NN */
#define MAXDP 3           /* data partitions */
#define NPART (1 + MAXDP) /* partition 0 is T, the transaction-state partition */
#define TP 0
#define MAXK 3            /* clients, each with its own transactional id */
#define NEP (1 + NN + MAXK) /* endpoints: 1..NN nodes, NN+1.. clients */
#define NCH (3 + NPART)     /* channels: fetch, inter-broker, client->coordinator, produce+p */
#define CH_FETCH 0
#define CH_INTER 1
#define CH_COORD 2
#define CH_PRODUCE 3
#define MIN_ISR 2
#define LAG_MAX_MS 400
#define DETECT_MS 150       /* a dead process is seen this fast (its connections close) */
#define SESSION_MS 1500     /* a silent one only after its ZooKeeper session expired */
#define TICK_MS 50
#define FETCH_RTO_MS 300
#define CLIENT_RTO_MS 300
#define OP_RTO_MS 300       /* a coordinator RPC without an answer is retried */
#define OP_BACKOFF_MIN_MS 20
#define OP_BACKOFF_MAX_MS 400
#define STATUS_MS 400       /* transaction.participant.check.interval.ms */
#define READER_MS 20
#define QUIET_MAX_MS 30000
#define MAX_EVENTS 2000000
#define MAXSEQ 1024         /* transactions per transactional id */
#define TOPIC "t"

static bool g_unclean, g_log_ack_at_append, g_no_cepochs, g_no_marker_seq;
/* --local-unled: the coordinator acts on a participant locally (prepare, marker appended
 * to its replica) whenever its view names its node the leader, even before that replica
 * took the epoch (as cluster.c's remote_hook decides today); see the README. */
static bool g_local_unled;
/* --load-uncommitted: a new leader of T loads the coordinator at once from its whole log,
 * records above T's high watermark included, and acts on them (as service.c's load does
 * today); see the README. Otherwise it loads once T's high watermark has reached the start
 * of its epoch, i.e. once everything in its log when it took over is committed. */
static bool g_load_uncommitted;
/* --stale-marker-ack-now: a participant answers a marker it drops as stale (its sequence
 * was applied already) at once, as h_inter.c does today, instead of once its high
 * watermark has passed everything it holds (the first copy may not be committed yet). */
static bool g_stale_ack_now;
/* --no-verify-guard: a produce the coordinator verified is appended even if a marker of
 * its producer was written on the partition while the answer was on its way (h_produce.c
 * today); otherwise such a verification is void (Kafka's VerificationGuard, KIP-890). */
static bool g_no_verify_guard;
/* --stale-hides-cepoch: a marker whose transaction sequence was applied already is dropped
 * even when it comes from a newer coordinator epoch than the partition's log records (as
 * h_inter.c does today, coordinator epochs and all): the log then never
 * learns the newer epoch, and a replaced coordinator's copy is not fenced. Otherwise such
 * a marker is appended (a no-op for the producer state that records the epoch). */
static bool g_stale_hides_cepoch;
/* --unload-keeps-work: when a node stops leading T, its coordinator's waits (WAIT_LOG,
 * local prepares and markers) and its RPCs to participants stay, as service.c's unload and
 * cluster.c's remote ops do today: RPCs are re-sent (stamped with whatever coordinator
 * epoch the node has by then) and completions feed whatever the node loads later.
 * Otherwise they are dropped with the coordinator (a new load re-drives what it finds). */
static bool g_unload_keeps_work;
/* --waits-outlive-leadership: what waits for a partition's high watermark on a leader (a
 * marker's or a prepare's answer, the coordinator's local marker or prepare) completes
 * whenever this node's high watermark reaches the offset, also after it lost leadership,
 * truncated its log and refilled it from the new leader (service.c's collect and h_inter.c's
 * wait_met today; only produces fail, in produce_fail_partition). Otherwise they fail with
 * leadership too: an RPC is answered NOT_LEADER_OR_FOLLOWER, a local marker or prepare is
 * re-driven as an RPC to the new leader. */
static bool g_waits_outlive;
/* --marker-seq-in-memory: a partition remembers the transaction sequence of the markers it
 * applied only in its leader's memory (pstate_marker_applied in h_inter.c, before the
 * sequence went into the control record), which a
 * truncation's replay, a restart or a leadership change forgets; a stale copy of a
 * marker then closes the producer's next transaction. Otherwise the sequence is in the
 * marker record and every replica's producer state has it (as the coordinator epoch). */
static bool g_seq_in_memory;
/* --code-gaps: every switch above that describes what the broker code does today (all but
 * --unclean-election, --log-ack-at-append, --no-coordinator-epochs and --no-marker-seq):
 * the model of the broker code as it is (at 026e69f). */
static bool g_code_gaps;
/* --lead-before-bump: a restarted node named leader in an epoch its recovered log shows no
 * batch of (all of them were unsynced and lost) leads that epoch again until the
 * controller bumps it, as replica.c's take_leadership does today (it checks only the
 * epochs in its log, not the registration the partition state records for its leader).
 * Otherwise it waits for an epoch elected under its new registration. */
static bool g_lead_before_bump;

/* ---------------- logs ---------------- */

enum ekind { E_DATA = 1, E_MARKER, E_TXNREC };

typedef struct ent {
    uint32_t eid;    /* unique per append by a leader: what replicas compare */
    int32_t epoch;   /* leader epoch of the append */
    int8_t kind;
    bool commit;     /* marker */
    int16_t pepoch;  /* producer epoch */
    int32_t seq;     /* data: first sequence (each batch holds one record) */
    int32_t cepoch;  /* marker: coordinator epoch, -1 none */
    int64_t pid;
    uint32_t uid;    /* data: the oracle's batch; txnrec: the record's index */
    int64_t txn_seq; /* marker: the decision it carries out (oracle): txn id k, sequence */
    int8_t k;        /* marker: the transactional id's client index, -1 unknown */
} ent;

/* A transaction-log record (immutable once written; entries refer to it by index). */
typedef struct trec {
    char id[16];
    uint8_t *val;
    size_t len;
    int8_t state;
    int64_t pid;
    int16_t epoch;
    int64_t txn_seq;
} trec;

enum wait_kind { W_PRODUCE = 0, W_INTER, W_LOG, W_LPREP, W_LMARK };

/* Something that waits for a partition's high watermark on this node (produce answers,
 * h_inter's answers, service.c's WAIT_LOG/WAIT_PREPARE/WAIT_MARKER). */
typedef struct hwait {
    int kind, part;
    int64_t need;
    struct msg *reply; /* W_PRODUCE, W_INTER */
    char txn_id[16];   /* W_LOG, W_LPREP, W_LMARK */
    int64_t pid, txn_seq; /* W_LPREP, W_LMARK: the action, to re-drive it elsewhere */
    int16_t epoch;
    bool commit;
} hwait;

typedef struct replica {
    ent *log;
    int64_t cap, leo, durable;
    uint32_t trunc_gen;
    bool fsync_running;
    epoch_history eh;
    repl_part rp;
    bool leading;        /* partition.repl_leading: took the epoch the view names */
    int32_t log_epoch;   /* plog.leader_epoch: what a local append is stamped with (the last
                          * epoch this process led, 0 before it led one) */
    int32_t start_epoch; /* the newest epoch in the log when the process started */
    bool needs_bump;     /* restarted as recorded leader: waits for a newer epoch */
    int32_t crash_epoch;
    int32_t known_version;
    pstate ps;           /* data partitions: rebuilt from the log on truncation and restart */
    int64_t cep_pid[16]; /* the newest coordinator epoch of each producer's markers here */
    int32_t cep_val[16];
    int ncep;
    bool fetching;
    uint64_t fetch_req;
    int64_t fetch_sent;
    struct msg *parked[NN + 1]; /* leader: a follower's fetch with nothing to send yet */
    int64_t parked_at[NN + 1];
    int64_t checked;     /* the checker compared offsets below this with the committed log */
} replica;

enum rop_kind { RPC_PREPARE = 0, RPC_MARKER = 1 };

/* cluster.c's remote_op: a coordinator RPC to a participant led elsewhere. */
typedef struct rop {
    int kind;
    char txn_id[16];
    int part;
    int64_t pid;
    int16_t epoch;
    int64_t txn_seq;
    bool commit;
    int attempts;
    int64_t due;
    bool in_flight, cancelled;
    uint64_t req;
    int64_t sent_at;
    int32_t sent_cepoch;
    int target;
} rop;

/* A produce waiting for the coordinator's verification (AddPartitionsToTxn v5). */
typedef struct pverify {
    uint64_t vid;
    int64_t sent_at;
    int target;
    int64_t from; /* the partition's log end when the question was sent */
    struct msg *produce;
} pverify;

/* A BrookTxnStatus question in flight. */
typedef struct pstatus {
    uint64_t sid;
    int64_t sent_at;
    int target;
    int part;
    int64_t pid;
    int16_t epoch;
    int64_t first_offset;
} pstatus;

typedef struct zpart {
    int32_t leader, epoch, version;
    repl_set isr, elr;
    int64_t frozen_hw; /* repl.h: -1 none */
    bool bump;
} zpart;

typedef struct node {
    int32_t id;
    bool up;
    uint32_t inc;
    int64_t paused_until, paused_since, down_since;
    replica r[NPART];
    zpart view[NPART];       /* the partition states as it last read them */
    /* the coordinator (service.c) */
    bool loaded;
    txn_coord c;
    int32_t cepoch, fenced_epoch;
    int64_t pid_counter;     /* the producer id allocator: durable */
    hwait *waits;
    int nwaits, waits_cap;
    rop *ops;
    int nops, ops_cap;
    pverify *pv;
    int npv, pv_cap;
    pstatus *pst;
    int npst, pst_cap;
    int64_t last_status;
} node;

/* ---------------- messages ---------------- */

enum mkind {
    M_FETCH = 0, M_FETCH_RESP, M_PROPOSE, M_PROPOSE_DONE,
    M_INIT, M_ADD, M_END, M_CREPLY,
    M_PRODUCE, M_PRODUCE_REPLY,
    M_VERIFY, M_VERIFY_REPLY,
    M_PREPARE, M_MARKER, M_OP_REPLY,
    M_STATUS, M_STATUS_REPLY,
    M_COUNT
};
static const char *g_mnames[M_COUNT] = {
    "Fetch", "FetchResp", "Propose", "ProposeDone", "InitPid", "Add", "End", "CoordReply",
    "Produce", "ProduceReply", "Verify", "VerifyReply", "Prepare", "Marker", "OpReply",
    "Status", "StatusReply"};

static bool is_reply(int k)
{
    return k == M_FETCH_RESP || k == M_PROPOSE_DONE || k == M_CREPLY || k == M_PRODUCE_REPLY ||
           k == M_VERIFY_REPLY || k == M_OP_REPLY || k == M_STATUS_REPLY;
}

enum { OUT_ONGOING = 0, OUT_COMMIT, OUT_ABORT, OUT_UNKNOWN };

typedef struct msg {
    int kind, src, dst, chan;
    uint32_t gen;     /* the requester's connection generation */
    uint32_t dst_inc; /* the receiver's incarnation at send time */
    uint64_t id;      /* request id; an answer carries its request's */
    int part;
    int64_t pid;
    int16_t epoch;
    int32_t seq;
    uint32_t uid;
    bool commit;
    int64_t txn_seq;
    int32_t cepoch;
    int16_t err;
    int64_t offset;
    uint32_t mask;
    int64_t exp_pid;
    int16_t exp_epoch;
    int reply_kind, outcome;
    int64_t first_offset;
    int16_t marker_epoch;
    int8_t k;
    /* fetch */
    int32_t lepoch, last_epoch, div_epoch;
    int64_t fetch_offset, hw, div_end;
    int fkind; /* answer: 0 records, 1 diverging, 2 error */
    int n;
    ent ents[8];
    /* ZooKeeper */
    repl_set isr;
    int64_t frozen_hw; /* a proposal's */
    int32_t version;
    bool committed;
} msg;

typedef struct conn {
    uint32_t gen;
    bool broken;
    int64_t last_at[2]; /* requests, answers: in order per connection */
} conn;

/* ---------------- clients and the oracle ---------------- */

enum cstate { C_DOWN = 0, C_INIT, C_READY, C_TXN, C_ENDING, C_DONE };
static const char *g_cstate_names[] = {"down", "init", "ready", "txn", "ending", "done"};

typedef struct client {
    int k, ep;
    uint32_t inc;
    int st;
    char txn_id[16];
    bool have_pid, init_expected;
    int64_t pid;
    int16_t epoch;
    int32_t seq[NPART];
    bool req_active;
    msg req;
    int req_node;
    int64_t req_sent, backoff_until;
    int txn;
    uint32_t want, added, adding;
    int left[NPART];
    bool inflight[NPART];
    msg prod[NPART];
    int prod_node[NPART];
    int64_t prod_sent[NPART];
    bool bump_after, txn_error;
    int txns_started;
} client;


typedef struct ctxn {
    int client, no;
    int64_t pid;
    int16_t epoch;
    int result;
    bool commit_requested;
    int outcome; /* 0 undecided, 1 commit, 2 abort: how its records were closed */
} ctxn;

typedef struct bat {
    int txn, part;
    int64_t pid;
    bool acked;
    int64_t ack_off;
    uint32_t ack_eid;
    bool in_log;   /* in the committed log */
    int closed;    /* 0 open, 1 commit, 2 abort (committed log) */
    bool was_visible;
} bat;

typedef struct open_rec {
    uint32_t uid;
    int64_t pid;
} open_rec;

typedef struct pending_marker {
    int k;
    int64_t txn_seq;
    bool commit;
    int part;
    int64_t off;
} pending_marker;

typedef struct knobs {
    int P, K, txns_per_client, max_batches;
    double p_drop, p_fetch_drop, p_fetch_dup, p_long_delay;
    int delay_max, long_max;
    double p_crash, p_pause, p_long_pause;
    int fsync_max, fault_ms, down_max;
    int32_t txn_timeout_ms;
    double p_abort, p_sloppy_abort;
} knobs;

enum ev_kind {
    EV_MSG = 1, EV_FSYNC, EV_NODE_TICK, EV_CONTROLLER, EV_NOTIFY, EV_CRASH, EV_RESTART,
    EV_PAUSE, EV_CLIENT_TICK, EV_QUIET, EV_READER
};

typedef struct req_ctx {
    int k;
    uint32_t inc, gen;
    uint64_t id;
    int node;
} req_ctx;

typedef struct world {
    uint64_t seed;
    knobs k;
    sim_rng rng;
    sim_queue q;
    sim_trace *tr;
    int64_t now;
    bool quiet, failed;
    char why[512];
    node n[NN];
    zpart zk[NPART];
    repl_set replicas[NPART];
    conn conns[NEP + 1][NEP + 1][NCH];
    client cl[MAXK];
    uint64_t next_id;
    uint32_t next_eid;
    trec *recs;
    int nrecs, recs_cap;
    req_ctx *reqs;
    int nreqs, reqs_cap;
    /* the oracle */
    ctxn *txns;
    int ntxns, txns_cap;
    bat *bats;
    uint32_t nbats, bats_cap;
    ent *cm[NPART];         /* the committed log of each partition */
    int64_t cmn[NPART], cm_cap[NPART];
    int32_t *hw_owner[NPART];
    int hw_owner_cap[NPART];
    open_rec *open[NPART];
    int nopen[NPART], open_cap[NPART];
    int8_t dec[MAXK][MAXSEQ]; /* committed decisions: 1 commit, 2 abort */
    pending_marker *pm;
    int npm, pm_cap;
    uint32_t *unverified;     /* acknowledged batches not yet seen in the committed log */
    int nunverified, unverified_cap;
    /* statistics */
    uint64_t events, crashes, pauses, elections, truncations, loads, indoubt, fenced,
        stale_markers, status_markers, commits, aborts, acked, visible_regressions, tail_cuts;
} world;

static world S;

#define TRACE(...) sim_trace_add(S.tr, S.now, __VA_ARGS__)

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

static int64_t rnd(int64_t lo, int64_t hi) { return sim_rng_range(&S.rng, lo, hi); }
static bool chance(double p) { return sim_rng_chance(&S.rng, p); }

static void schedule(int64_t at, int kind, void *data, int64_t a, int64_t b, int64_t c)
{
    sim_event e = {.at = at, .kind = kind, .data = data, .a = a, .b = b, .c = c};
    sim_queue_push(&S.q, &e);
}

static node *node_of(int id) { return id >= 1 && id <= NN ? &S.n[id - 1] : NULL; }
static bool ep_is_client(int ep) { return ep > NN && ep <= NN + MAXK; }
static client *client_of_ep(int ep) { return &S.cl[ep - NN - 1]; }
static int client_ep(int k) { return NN + 1 + k; }

static int txn_k(const char *txn_id) { return txn_id[4] - '0'; } /* "txn-K" */

/* ---------------- the network ---------------- */

static int64_t net_delay(void)
{
    int64_t d = rnd(1, S.k.delay_max);
    if (!S.quiet && chance(S.k.p_long_delay))
        d += rnd(S.k.delay_max, S.k.long_max);
    return S.quiet ? rnd(1, 5) : d;
}

static uint32_t ep_inc(int ep)
{
    return ep_is_client(ep) ? client_of_ep(ep)->inc : node_of(ep)->inc;
}

static bool ep_up(int ep)
{
    return ep_is_client(ep) ? client_of_ep(ep)->st != C_DOWN : node_of(ep)->up;
}

static conn *conn_of(int requester, int responder, int chan)
{
    return &S.conns[requester][responder][chan];
}

static void reconnect(int requester, int responder, int chan)
{
    conn *c = conn_of(requester, responder, chan);
    c->gen++;
    c->broken = false;
    c->last_at[0] = c->last_at[1] = S.now;
}

/* Sends a copy of *m0 (see the header for the model). Requests take their connection's
 * current generation; answers carry their request's. */
static void send_msg(const msg *m0)
{
    if (m0->dst != 0 && !ep_up(m0->dst))
        return;
    msg *m = malloc(sizeof(*m));
    BROOK_ASSERT(m);
    *m = *m0;
    m->dst_inc = m->dst ? ep_inc(m->dst) : 0;
    int copies = 1;
    int64_t at = S.now + net_delay();
    if (m->kind == M_PROPOSE || m->kind == M_PROPOSE_DONE) {
        /* the ZooKeeper session: reliable */
    } else if (m->chan == CH_FETCH) {
        if (!S.quiet && chance(S.k.p_fetch_drop))
            copies = 0;
        else if (!S.quiet && chance(S.k.p_fetch_dup))
            copies = 2;
    } else {
        bool ans = is_reply(m->kind);
        int requester = ans ? m->dst : m->src, responder = ans ? m->src : m->dst;
        conn *c = conn_of(requester, responder, m->chan);
        if (!ans)
            m->gen = c->gen;
        bool current = m->gen == c->gen;
        if (current && c->broken)
            copies = 0;
        else if (!S.quiet && chance(S.k.p_drop)) {
            if (current)
                c->broken = true;
            copies = 0;
            TRACE("net: %s %d->%d lost (connection broken)", g_mnames[m->kind], m->src,
                  m->dst);
        } else if (current) {
            if (at < c->last_at[ans])
                at = c->last_at[ans];
            c->last_at[ans] = at;
        }
    }
    if (copies == 0) {
        free(m);
        return;
    }
    schedule(at, EV_MSG, m, 0, 0, 0);
    if (copies == 2) {
        msg *d = malloc(sizeof(*d));
        BROOK_ASSERT(d);
        *d = *m;
        schedule(S.now + net_delay(), EV_MSG, d, 0, 0, 0);
    }
}

/* ---------------- the checker: committed logs and the transaction oracle ---------------- */

static void pending_marker_add(int k, int64_t seq, bool commit, int part, int64_t off)
{
    if (S.npm == S.pm_cap)
        S.pm = sim_grow(S.pm, &S.pm_cap, sizeof(*S.pm));
    S.pm[S.npm++] = (pending_marker){k, seq, commit, part, off};
}

static void check_marker_decision(int k, int64_t seq, bool commit, int part, int64_t off)
{
    if (k < 0 || seq <= 0 || seq >= MAXSEQ)
        return;
    int d = S.dec[k][seq];
    if (d == 0)
        pending_marker_add(k, seq, commit, part, off);
    else if ((d == 1) != commit)
        fail("p%d@%" PRId64 ": %s marker of txn-%d #%" PRId64 " but its committed decision is "
             "%s", part, off, commit ? "COMMIT" : "ABORT", k, seq,
             d == 1 ? "PrepareCommit" : "PrepareAbort");
}

static void close_batch(bat *b, uint32_t uid, const ent *m, int part, int64_t off)
{
    ctxn *t = &S.txns[b->txn];
    b->closed = m->commit ? 1 : 2;
    int o = m->commit ? 1 : 2;
    if (t->outcome == 0)
        t->outcome = o;
    else if (t->outcome != o)
        fail("torn transaction c%d#%d: batch %u closed by %s at p%d@%" PRId64
             " but others were %s", t->client, t->no, uid, m->commit ? "COMMIT" : "ABORT", part,
             off, t->outcome == 1 ? "committed" : "aborted");
    if (m->commit && !t->commit_requested)
        fail("c%d#%d committed at p%d@%" PRId64 " but its client never asked to commit",
             t->client, t->no, part, off);
    if (t->result == R_COMMITTED && !m->commit && b->acked)
        fail("c%d#%d: EndTxn(commit) succeeded but batch %u is aborted at p%d@%" PRId64,
             t->client, t->no, uid, part, off);
    if (t->result == R_ABORTED && m->commit)
        fail("c%d#%d: EndTxn(abort) succeeded but batch %u is committed at p%d@%" PRId64,
             t->client, t->no, uid, part, off);
}

/* A new entry of partition p's committed log, in offset order. */
static void oracle_committed(int p, int64_t off, const ent *e)
{
    if (e->kind == E_DATA) {
        if (e->uid == 0 || e->uid >= S.nbats) {
            fail("p%d@%" PRId64 ": batch with unknown id %u", p, off, e->uid);
            return;
        }
        bat *b = &S.bats[e->uid];
        if (b->in_log)
            fail("p%d@%" PRId64 ": batch %u is in the committed log twice", p, off, e->uid);
        b->in_log = true;
        if (S.nopen[p] == S.open_cap[p])
            S.open[p] = sim_grow(S.open[p], &S.open_cap[p], sizeof(open_rec));
        S.open[p][S.nopen[p]++] = (open_rec){e->uid, e->pid};
    } else if (e->kind == E_MARKER) {
        int kk = 0;
        for (int i = 0; i < S.nopen[p]; i++) {
            open_rec r = S.open[p][i];
            if (r.pid == e->pid)
                close_batch(&S.bats[r.uid], r.uid, e, p, off);
            else
                S.open[p][kk++] = r;
        }
        S.nopen[p] = kk;
        check_marker_decision(e->k, e->txn_seq, e->commit, p, off);
    } else if (e->kind == E_TXNREC) {
        const trec *r = &S.recs[e->uid];
        if (r->state != TXN_PREPARE_COMMIT && r->state != TXN_PREPARE_ABORT)
            return;
        int k = txn_k(r->id);
        if (r->txn_seq <= 0 || r->txn_seq >= MAXSEQ)
            return;
        int d = r->state == TXN_PREPARE_COMMIT ? 1 : 2;
        if (S.dec[k][r->txn_seq] && S.dec[k][r->txn_seq] != d)
            fail("txn-%d #%" PRId64 " has two committed decisions", k, r->txn_seq);
        S.dec[k][r->txn_seq] = (int8_t)d;
        int kk = 0;
        for (int i = 0; i < S.npm; i++) {
            pending_marker pm = S.pm[i];
            if (pm.k == k && pm.txn_seq == r->txn_seq)
                check_marker_decision(pm.k, pm.txn_seq, pm.commit, pm.part, pm.off);
            else
                S.pm[kk++] = pm;
        }
        S.npm = kk;
    }
}

static void owner_check(int p, int32_t epoch, int32_t id)
{
    if (epoch < 0)
        return;
    if (epoch >= S.hw_owner_cap[p]) {
        int cap = S.hw_owner_cap[p];
        while (cap <= epoch)
            cap = cap ? cap * 2 : 64;
        S.hw_owner[p] = realloc(S.hw_owner[p], (size_t)cap * sizeof(int32_t));
        BROOK_ASSERT(S.hw_owner[p]);
        memset(S.hw_owner[p] + S.hw_owner_cap[p], 0,
               (size_t)(cap - S.hw_owner_cap[p]) * sizeof(int32_t));
        S.hw_owner_cap[p] = cap;
    }
    if (S.hw_owner[p][epoch] == 0)
        S.hw_owner[p][epoch] = id;
    else if (S.hw_owner[p][epoch] != id)
        fail("p%d epoch %d: nodes %d and %d both advanced the high watermark", p, epoch,
             S.hw_owner[p][epoch], id);
}

/* Invariants 1 and 2: every replica's prefix below its high watermark is the committed log. */
static void check_replicas(void)
{
    for (int i = 0; i < NN && !S.failed; i++) {
        node *x = &S.n[i];
        if (!x->up)
            continue;
        for (int p = 0; p < 1 + S.k.P && !S.failed; p++) {
            replica *r = &x->r[p];
            if (r->rp.hw > r->leo) {
                fail("node %d p%d: HW %" PRId64 " past its log end %" PRId64, x->id, p, r->rp.hw,
                     r->leo);
                return;
            }
            for (int64_t o = r->checked; o < r->rp.hw && !S.failed; o++) {
                if (o < S.cmn[p]) {
                    if (S.cm[p][o].eid != r->log[o].eid)
                        fail("p%d@%" PRId64 ": node %d has entry %u below its HW %" PRId64
                             " but the committed entry there is %u", p, o, x->id,
                             r->log[o].eid, r->rp.hw, S.cm[p][o].eid);
                    continue;
                }
                if (S.cmn[p] == S.cm_cap[p]) {
                    S.cm_cap[p] = S.cm_cap[p] ? 2 * S.cm_cap[p] : 256;
                    S.cm[p] = realloc(S.cm[p], (size_t)S.cm_cap[p] * sizeof(ent));
                    BROOK_ASSERT(S.cm[p]);
                }
                S.cm[p][S.cmn[p]++] = r->log[o];
                oracle_committed(p, o, &r->log[o]);
            }
            if (r->rp.hw > r->checked)
                r->checked = r->rp.hw;
        }
    }
    int k = 0;
    for (int i = 0; i < S.nunverified && !S.failed; i++) {
        uint32_t u = S.unverified[i];
        const bat *b = &S.bats[u];
        if (b->ack_off >= S.cmn[b->part])
            S.unverified[k++] = u;
        else if (S.cm[b->part][b->ack_off].eid != b->ack_eid)
            fail("acknowledged batch %u at p%d@%" PRId64 " is not in the committed log there", u,
                 b->part, b->ack_off);
    }
    S.nunverified = k;
}

/* ---------------- logs on a node ---------------- */

static int32_t cep_get(const replica *r, int64_t pid)
{
    for (int i = 0; i < r->ncep; i++)
        if (r->cep_pid[i] == pid)
            return r->cep_val[i];
    return -1;
}

static void cep_note(replica *r, int64_t pid, int32_t ce)
{
    for (int i = 0; i < r->ncep; i++)
        if (r->cep_pid[i] == pid) {
            if (ce > r->cep_val[i])
                r->cep_val[i] = ce;
            return;
        }
    if (r->ncep < 16) {
        r->cep_pid[r->ncep] = pid;
        r->cep_val[r->ncep++] = ce;
    }
}

/* What the log does with a batch it appends, copies or replays: producer state. */
static void ps_apply(replica *r, const ent *e, int64_t off)
{
    if (e->kind == E_DATA) {
        rb_header h;
        sim_txn_batch_header(&h, e->pid, e->pepoch, e->seq, 1);
        if (pstate_on_append(&r->ps, &h, off) != 0)
            fail("pstate_on_append failed");
    } else if (e->kind == E_MARKER) {
        aborted_txn a;
        (void)pstate_on_marker(&r->ps, e->pid, e->pepoch, e->commit, off, &a);
        cep_note(r, e->pid, e->cepoch);
        if (!g_seq_in_memory && e->txn_seq > 0 &&
            pstate_marker_applied(&r->ps, e->pid, e->pepoch, e->txn_seq) != 0)
            fail("pstate_marker_applied failed");
    }
}

static void ps_rebuild(replica *r)
{
    pstate_free(&r->ps);
    pstate_init(&r->ps);
    r->ncep = 0;
    for (int64_t o = 0; o < r->leo; o++)
        ps_apply(r, &r->log[o], o);
}

static void start_fsync(node *x, int p)
{
    replica *r = &x->r[p];
    if (r->fsync_running || r->durable >= r->leo)
        return;
    r->fsync_running = true;
    schedule(S.now + rnd(1, S.k.fsync_max), EV_FSYNC, NULL, x->id,
             (int64_t)p << 40 | r->leo, (int64_t)((uint64_t)x->inc << 32 | r->trunc_gen));
}

static void fetch_wake(node *l, int p, bool all);

static int64_t local_append(node *x, int p, const ent *e)
{
    replica *r = &x->r[p];
    if (r->leo == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->log = realloc(r->log, (size_t)r->cap * sizeof(ent));
        BROOK_ASSERT(r->log);
    }
    int64_t off = r->leo;
    r->log[off] = *e;
    eh_assign(&r->eh, e->epoch, off);
    r->leo++;
    ps_apply(r, e, off);
    start_fsync(x, p);
    if (r->rp.role == REPL_LEADER)
        fetch_wake(x, p, true);
    return off;
}

static void truncate_log(node *x, int p, int64_t off)
{
    replica *r = &x->r[p];
    if (off >= r->leo)
        return;
    TRACE("node %d p%d truncates %" PRId64 " -> %" PRId64, x->id, p, r->leo, off);
    S.truncations++;
    r->leo = off;
    if (r->durable > off)
        r->durable = off;
    eh_truncate(&r->eh, off);
    r->trunc_gen++;
    if (r->checked > off)
        r->checked = off;
    ps_rebuild(r); /* "Truncation replays the partition's producer state" */
}

/* ---------------- waits on high watermarks ---------------- */

static void wait_add(node *x, int kind, int part, int64_t need, const msg *reply,
                     const char *txn_id)
{
    if (x->nwaits == x->waits_cap)
        x->waits = sim_grow(x->waits, &x->waits_cap, sizeof(*x->waits));
    hwait *w = &x->waits[x->nwaits++];
    memset(w, 0, sizeof(*w));
    w->kind = kind;
    w->part = part;
    w->need = need;
    if (reply) {
        w->reply = malloc(sizeof(msg));
        BROOK_ASSERT(w->reply);
        *w->reply = *reply;
    }
    if (txn_id)
        snprintf(w->txn_id, sizeof(w->txn_id), "%s", txn_id);
}

static void waits_clear(node *x)
{
    for (int i = 0; i < x->nwaits; i++)
        free(x->waits[i].reply);
    x->nwaits = 0;
}

/* produce_fail_partition: produces waiting on a partition this node no longer leads. */
static void fail_produces(node *x, int p)
{
    int k = 0;
    for (int i = 0; i < x->nwaits; i++) {
        hwait *w = &x->waits[i];
        if (w->kind == W_PRODUCE && w->part == p) {
            w->reply->err = KERR_NOT_LEADER_OR_FOLLOWER;
            w->reply->offset = -1;
            send_msg(w->reply);
            free(w->reply);
        } else {
            x->waits[k++] = *w;
        }
    }
    x->nwaits = k;
}

static void coord_run(node *x);
static void coord_done(node *x, int kind, const char *txn_id, int part, bool ok);
static void op_send(node *x, struct rop *op);
static struct rop *op_new(node *x);

/* This node stops leading partition p (replica.c's follow): produces waiting on it fail;
 * so do the other waits on its high watermark (unless --waits-outlive-leadership). */
static void leadership_lost(node *x, int p)
{
    fail_produces(x, p);
    if (g_waits_outlive)
        return;
    int k = 0;
    hwait redo[64];
    int nredo = 0;
    for (int i = 0; i < x->nwaits; i++) {
        hwait *w = &x->waits[i];
        if (w->part != p || w->kind == W_LOG) {
            x->waits[k++] = *w;
            continue;
        }
        if (w->kind == W_INTER) {
            w->reply->err = KERR_NOT_LEADER_OR_FOLLOWER;
            send_msg(w->reply);
        } else if (nredo < 64) {
            redo[nredo++] = *w;
        }
        free(w->reply);
    }
    x->nwaits = k;
    for (int i = 0; i < nredo && x->loaded; i++) {
        rop *op = op_new(x);
        op->kind = redo[i].kind == W_LPREP ? RPC_PREPARE : RPC_MARKER;
        snprintf(op->txn_id, sizeof(op->txn_id), "%s", redo[i].txn_id);
        op->part = p;
        op->pid = redo[i].pid;
        op->epoch = redo[i].epoch;
        op->txn_seq = redo[i].txn_seq;
        op->commit = redo[i].commit;
        TRACE("node %d: its local %s of %s at p%d goes to the new leader", x->id,
              op->kind == RPC_PREPARE ? "prepare" : "marker", op->txn_id, p);
        op_send(x, op);
    }
}

static void ack_produce(node *x, msg *reply)
{
    bat *b = &S.bats[reply->uid];
    if (reply->err == KERR_NONE && !b->acked) {
        replica *r = &x->r[reply->part];
        b->acked = true;
        b->ack_off = reply->offset;
        b->ack_eid = reply->offset < r->leo ? r->log[reply->offset].eid : 0;
        S.acked++;
        if (S.nunverified == S.unverified_cap)
            S.unverified = sim_grow(S.unverified, &S.unverified_cap, sizeof(uint32_t));
        S.unverified[S.nunverified++] = reply->uid;
    }
    send_msg(reply);
}

/* Everything waiting on a high watermark this node's replicas have reached (the broker's
 * progress: produce answers, inter_on_progress, txn_service_progress). */
static void node_progress(node *x)
{
    for (int guard = 0; guard < 1000; guard++) {
        int i = 0;
        while (i < x->nwaits && x->r[x->waits[i].part].rp.hw < x->waits[i].need)
            i++;
        if (i == x->nwaits)
            return;
        hwait w = x->waits[i];
        memmove(&x->waits[i], &x->waits[i + 1], sizeof(hwait) * (size_t)(x->nwaits - i - 1));
        x->nwaits--;
        switch (w.kind) {
        case W_PRODUCE: ack_produce(x, w.reply); break;
        case W_INTER: send_msg(w.reply); break;
        case W_LOG: coord_done(x, W_LOG, w.txn_id, TP, true); break;
        case W_LPREP: coord_done(x, W_LPREP, w.txn_id, w.part, true); break;
        case W_LMARK: coord_done(x, W_LMARK, w.txn_id, w.part, true); break;
        }
        free(w.reply);
    }
}

/* ---------------- replication: leaders ---------------- */

static void after(node *x, int p, repl_out out)
{
    replica *r = &x->r[p];
    if (out.hw_changed && r->rp.role == REPL_LEADER) {
        owner_check(p, r->rp.epoch, x->id);
        fetch_wake(x, p, true);
    }
    if (out.propose) {
        msg m = {.kind = M_PROPOSE, .src = x->id, .dst = 0, .part = p, .isr = r->rp.proposed,
                 .frozen_hw = r->rp.proposed_frozen_hw, .version = r->rp.state_version,
                 .lepoch = r->rp.epoch};
        TRACE("node %d p%d proposes an ISR of %d (version %d)", x->id, p, m.isr.n, m.version);
        send_msg(&m);
    }
}

static void progress(node *x, int p)
{
    replica *r = &x->r[p];
    after(x, p, repl_local_progress(&r->rp, r->leo, r->durable, S.now));
}

/* ---------------- replication: followers ---------------- */

static void maybe_fetch(node *x, int p)
{
    replica *r = &x->r[p];
    if (r->rp.role != REPL_FOLLOWER || r->rp.leader < 0)
        return;
    if (r->fetching && S.now - r->fetch_sent < FETCH_RTO_MS)
        return;
    if (r->durable < r->leo)
        return; /* report only what is fsynced */
    msg m = {.kind = M_FETCH, .src = x->id, .dst = r->rp.leader, .chan = CH_FETCH,
             .part = p, .lepoch = r->rp.epoch, .fetch_offset = r->leo,
             .last_epoch = r->leo > 0 ? r->log[r->leo - 1].epoch : -1, .id = ++S.next_id};
    r->fetching = true;
    r->fetch_req = m.id;
    r->fetch_sent = S.now;
    send_msg(&m);
}

/* Fetch's long poll (FETCH_MAX_WAIT_MS): a caught-up follower's fetch is answered when the
 * leader appends, when its high watermark moves, or after a while; with an error once it
 * no longer leads. all: every parked fetch, else only the expired ones. */
static void fetch_answer(node *l, int p, msg *a)
{
    replica *r = &l->r[p];
    if (r->rp.role != REPL_LEADER || r->rp.epoch != a->lepoch) {
        a->fkind = 2;
        a->err = KERR_NOT_LEADER_OR_FOLLOWER;
    } else {
        for (int64_t o = a->fetch_offset; o < r->leo && a->n < 8; o++)
            a->ents[a->n++] = r->log[o];
        a->hw = r->rp.hw;
    }
    send_msg(a);
}

static void fetch_wake(node *l, int p, bool all)
{
    replica *r = &l->r[p];
    for (int i = 0; i <= NN; i++) {
        msg *a = r->parked[i];
        if (!a || (!all && S.now - r->parked_at[i] < 100 && r->rp.role == REPL_LEADER))
            continue;
        r->parked[i] = NULL;
        fetch_answer(l, p, a);
        free(a);
    }
}

static void on_fetch(node *l, const msg *m)
{
    int p = m->part;
    replica *r = &l->r[p];
    msg a = {.kind = M_FETCH_RESP, .src = l->id, .dst = m->src, .chan = CH_FETCH, .part = p,
             .id = m->id, .lepoch = m->lepoch, .fetch_offset = m->fetch_offset, .fkind = 2};
    if (r->rp.role == REPL_LEADER && m->last_epoch >= 0 && m->lepoch == r->rp.epoch) {
        int32_t e;
        int64_t end;
        eh_end_offset(&r->eh, m->last_epoch, r->leo, &e, &end);
        if (e != m->last_epoch || end < m->fetch_offset) {
            a.fkind = 1;
            a.div_epoch = e;
            a.div_end = end;
            send_msg(&a);
            return;
        }
    }
    progress(l, p); /* replica_leader_fetch: the log end first */
    repl_out out;
    a.err = repl_follower_fetch(&r->rp, m->src, m->lepoch, m->fetch_offset, S.now, &out);
    if (a.err != KERR_NONE) {
        send_msg(&a);
        return;
    }
    a.fkind = 0;
    after(l, p, out);
    if (m->fetch_offset < r->leo || out.hw_changed) {
        fetch_answer(l, p, &a);
        return;
    }
    free(r->parked[m->src]); /* a newer fetch replaces it */
    r->parked[m->src] = malloc(sizeof(msg));
    BROOK_ASSERT(r->parked[m->src]);
    *r->parked[m->src] = a;
    r->parked_at[m->src] = S.now;
}

static void on_fetch_resp(node *x, const msg *m)
{
    int p = m->part;
    replica *r = &x->r[p];
    bool current = m->id == r->fetch_req && r->fetching;
    if (current)
        r->fetching = false;
    /* Only the answer to the fetch in flight counts (the real follower matches answers to
     * its requests): a duplicated or late divergence answer could cut a committed record. */
    if (!current || r->rp.role != REPL_FOLLOWER || m->src != r->rp.leader ||
        m->lepoch != r->rp.epoch)
        return;
    if (m->fkind == 1 && m->fetch_offset == r->leo) {
        int32_t le;
        int64_t lend;
        eh_end_offset(&r->eh, m->div_epoch, r->leo, &le, &lend);
        TRACE("node %d p%d: leader %d says its log diverges at epoch %d end %" PRId64
              " (here: epoch %d ends at %" PRId64 ", log %" PRId64 ", HW %" PRId64 ")", x->id, p,
              m->src, m->div_epoch, m->div_end, le, lend, r->leo, r->rp.hw);
        truncate_log(x, p, repl_truncation_offset(m->div_epoch, m->div_end, le, lend, r->leo,
                                                  r->rp.hw));
        progress(x, p);
        maybe_fetch(x, p);
        return;
    }
    if (m->fkind == 2 || m->fetch_offset != r->leo)
        return;
    for (int i = 0; i < m->n; i++)
        local_append(x, p, &m->ents[i]);
    repl_follower_hw(&r->rp, m->hw);
    progress(x, p);
    maybe_fetch(x, p);
}

/* ---------------- the coordinator (service.c, cluster.c's coordinator side) ---------------- */

static uint64_t req_token(int k, uint32_t inc, uint32_t gen, uint64_t id, int nd)
{
    if (S.nreqs == S.reqs_cap)
        S.reqs = sim_grow(S.reqs, &S.reqs_cap, sizeof(*S.reqs));
    S.reqs[S.nreqs++] = (req_ctx){k, inc, gen, id, nd};
    return (uint64_t)S.nreqs;
}

static void coord_reply(node *x, txn_req req, int kind, int16_t err, int64_t pid, int16_t epoch)
{
    BROOK_ASSERT(req >= 1 && req <= (uint64_t)S.nreqs);
    const req_ctx *rc = &S.reqs[req - 1];
    msg m = {.kind = M_CREPLY, .src = x->id, .dst = client_ep(rc->k), .chan = CH_COORD,
             .gen = rc->gen, .id = rc->id, .pid = pid, .epoch = epoch, .err = err,
             .reply_kind = kind};
    TRACE("node %d coordinator answers c%d req %" PRIu64 ": kind %d error %d pid %" PRId64
          " epoch %d", x->id, rc->k, rc->id, kind, err, pid, epoch);
    send_msg(&m);
}

static bool leads(const node *x, int p)
{
    return x->view[p].leader == x->id && x->r[p].leading;
}

/* The done queue of service.c's run(): completions fed back after the actions ran. */
typedef struct done_item {
    int kind, part;
    char txn_id[16];
    bool ok;
} done_item;
static done_item g_done[256];
static int g_ndone;
static int g_depth;

static void done_push(int kind, const char *txn_id, int part, bool ok)
{
    BROOK_ASSERT(g_ndone < 256);
    done_item *d = &g_done[g_ndone++];
    d->kind = kind;
    d->part = part;
    d->ok = ok;
    snprintf(d->txn_id, sizeof(d->txn_id), "%s", txn_id);
}

static void op_send(node *x, rop *op);

/* cluster.c's remote_hook: a participant this node does not lead (by its view) gets an RPC;
 * false: the participant is local. */
static bool remote_hook(node *x, int kind, const txn_action *a)
{
    int p = a->part->partition + 1;
    if (x->view[p].leader == x->id && (g_local_unled || x->r[p].leading))
        return false;
    rop *op = op_new(x);
    op->kind = kind;
    snprintf(op->txn_id, sizeof(op->txn_id), "%s", a->txn_id);
    op->part = p;
    op->pid = a->pid;
    op->epoch = a->epoch;
    op->txn_seq = a->txn_seq;
    op->commit = a->commit;
    op_send(x, op);
    return true;
}

static void fence_note(node *x, int32_t ce);

static rop *op_new(node *x)
{
    if (x->nops == x->ops_cap)
        x->ops = sim_grow(x->ops, &x->ops_cap, sizeof(*x->ops));
    rop *op = &x->ops[x->nops++];
    memset(op, 0, sizeof(*op));
    return op;
}

static void exec_log(node *x, const txn_action *a)
{
    replica *r = &x->r[TP];
    if (!r->leading) {
        TRACE("node %d: not appending %s's record to T: not its leader", x->id, a->txn_id);
        if (a->notify)
            done_push(W_LOG, a->txn_id, TP, false);
        return;
    }
    if (S.nrecs == S.recs_cap)
        S.recs = sim_grow(S.recs, &S.recs_cap, sizeof(*S.recs));
    trec *t = &S.recs[S.nrecs];
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", a->txn_id);
    t->val = a->record;
    t->len = a->record_len;
    ((txn_action *)a)->record = NULL; /* the simulated log keeps it */
    rd d;
    rd_init(&d, t->val, t->len);
    (void)rd_i16(&d);
    t->pid = rd_i64(&d);
    t->epoch = rd_i16(&d);
    (void)rd_i64(&d);
    (void)rd_i16(&d);
    (void)rd_i32(&d);
    t->state = rd_i8(&d);
    (void)rd_i64(&d);
    (void)rd_i64(&d);
    int32_t n = rd_i32(&d);
    for (int32_t i = 0; i < n && !d.err; i++) {
        (void)rd_i8(&d);
        (void)rd_str(&d);
        (void)rd_i32(&d);
    }
    t->txn_seq = rd_i64(&d);
    if (d.err)
        fail("a transaction-log record does not decode");
    ent e = {.eid = ++S.next_eid, .epoch = r->log_epoch, .kind = E_TXNREC, .uid = (uint32_t)S.nrecs,
             .k = -1};
    S.nrecs++;
    int64_t off = local_append(x, TP, &e);
    TRACE("node %d coordinator logs T@%" PRId64 ": %s %s pid %" PRId64 " epoch %d seq %" PRId64
          "%s", x->id, off, t->id, txn_state_name(t->state), t->pid, t->epoch, t->txn_seq,
          a->notify ? "" : " (not awaited)");
    progress(x, TP);
    if (a->notify) {
        if (g_log_ack_at_append)
            done_push(W_LOG, a->txn_id, TP, true);
        else
            wait_add(x, W_LOG, TP, off + 1, NULL, a->txn_id);
    }
}

static void exec_prepare(node *x, const txn_action *a)
{
    if (remote_hook(x, RPC_PREPARE, a))
        return;
    int p = a->part->partition + 1;
    replica *r = &x->r[p];
    if (!g_no_cepochs && a->pid >= 0 && x->cepoch < cep_get(r, a->pid)) {
        fence_note(x, x->cepoch);
        return;
    }
    int64_t need = pstate_prepare(&r->ps, a->pid, a->epoch);
    TRACE("node %d prepares %s locally at p%d: need %" PRId64 " (HW %" PRId64 ")", x->id,
          a->txn_id, p, need, r->rp.hw);
    if (need < 0 || r->rp.hw >= need)
        done_push(W_LPREP, a->txn_id, p, true);
    else
    {
        wait_add(x, W_LPREP, p, need, NULL, a->txn_id);
        hwait *w = &x->waits[x->nwaits - 1];
        w->pid = a->pid;
        w->epoch = a->epoch;
        w->txn_seq = a->txn_seq;
    }
}

static void exec_marker(node *x, const txn_action *a)
{
    if (remote_hook(x, RPC_MARKER, a))
        return;
    int p = a->part->partition + 1;
    replica *r = &x->r[p];
    int32_t ce = g_no_cepochs ? 0 : x->cepoch;
    if (!g_no_cepochs && ce < cep_get(r, a->pid)) {
        fence_note(x, ce); /* log_append_marker: LOG_ERR_FENCED */
        return;
    }
    ent e = {.eid = ++S.next_eid, .epoch = r->log_epoch, .kind = E_MARKER, .commit = a->commit,
             .pepoch = a->epoch, .cepoch = ce, .pid = a->pid, .txn_seq = a->txn_seq,
             .k = (int8_t)txn_k(a->txn_id)};
    int64_t off = local_append(x, p, &e);
    TRACE("node %d writes %s marker of %s (seq %" PRId64 ") locally at p%d@%" PRId64 "%s",
          x->id, a->commit ? "COMMIT" : "ABORT", a->txn_id, a->txn_seq, p, off,
          r->leading ? "" : " (a replica it does not lead)");
    progress(x, p);
    wait_add(x, W_LMARK, p, off + 1, NULL, a->txn_id);
    hwait *w = &x->waits[x->nwaits - 1];
    w->pid = a->pid;
    w->epoch = a->epoch;
    w->txn_seq = a->txn_seq;
    w->commit = a->commit;
}

/* service.c's run(): executes the coordinator's actions, then feeds completions back. */
static void coord_run(node *x)
{
    if (g_depth > 0)
        return;
    g_depth++;
    for (int round = 0; round < 100000; round++) {
        if (x->loaded) {
            for (size_t i = 0; i < x->c.nacts; i++) {
                const txn_action *a = &x->c.acts[i];
                switch (a->kind) {
                case TXN_ACT_LOG: exec_log(x, a); break;
                case TXN_ACT_PREPARE: exec_prepare(x, a); break;
                case TXN_ACT_MARKER: exec_marker(x, a); break;
                case TXN_ACT_REPLY:
                    coord_reply(x, a->req, a->reply_kind, a->error, a->pid, a->epoch);
                    break;
                }
            }
            txn_coord_clear_actions(&x->c);
        }
        if (g_ndone == 0)
            break;
        done_item d = g_done[0];
        memmove(g_done, g_done + 1, sizeof(done_item) * (size_t)(g_ndone - 1));
        g_ndone--;
        if (!x->loaded)
            continue;
        txn_participant part = {.kind = TXN_PART_PARTITION, .name = (char *)TOPIC,
                                .partition = d.part - 1};
        if (d.kind == W_LOG)
            txn_coord_logged(&x->c, d.txn_id, d.ok, S.now);
        else if (d.kind == W_LPREP)
            txn_coord_voted(&x->c, d.txn_id, &part, d.ok, S.now);
        else
            txn_coord_marked(&x->c, d.txn_id, &part, S.now);
    }
    g_depth--;
}

static void coord_done(node *x, int kind, const char *txn_id, int part, bool ok)
{
    done_push(kind, txn_id, part, ok);
    coord_run(x);
}

/* txn_service_set_led(T, true): load T from this replica (to its log end) and finish every
 * in-doubt transaction; already loaded: a newer epoch only raises the coordinator epoch. */
static void coord_load(node *x)
{
    int32_t epoch = x->r[TP].rp.epoch;
    if (x->loaded) {
        if (epoch > x->cepoch) {
            TRACE("node %d coordinator epoch %d -> %d", x->id, x->cepoch, epoch);
            x->cepoch = epoch;
        }
        return;
    }
    if (!g_no_cepochs && epoch <= x->fenced_epoch)
        return;
    if (!g_load_uncommitted && x->r[TP].rp.hw < x->r[TP].rp.epoch_start)
        return; /* coord_maybe_load, once it is */
    txn_coord_config cfg = {.max_timeout_ms = 900000, .coordinator_epoch = epoch};
    txn_coord_init(&x->c, &cfg);
    x->loaded = true;
    x->cepoch = epoch;
    replica *r = &x->r[TP];
    int n = 0;
    for (int64_t o = 0; o < r->leo; o++) {
        if (r->log[o].kind != E_TXNREC)
            continue;
        const trec *t = &S.recs[r->log[o].uid];
        if (txn_coord_load(&x->c, (const uint8_t *)t->id, strlen(t->id), t->val, t->len) != 0)
            fail("transaction-log record T@%" PRId64 " does not load", o);
        n++;
    }
    int indoubt = 0;
    for (txn_meta *t = x->c.by_id; t; t = t->hh.next)
        indoubt += t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT;
    S.loads++;
    S.indoubt += (uint64_t)indoubt;
    TRACE("node %d loads the coordinator (epoch %d): %d records to T@%" PRId64 " (HW %" PRId64
          "), %d in doubt", x->id, epoch, n, r->leo, r->rp.hw, indoubt);
    for (txn_meta *t = x->c.by_id; t; t = t->hh.next)
        txn_coord_recover_id(&x->c, t->id, S.now);
    coord_run(x);
}

/* txn_service_set_led(T, false) and unload(): parked requests get NOT_COORDINATOR, every
 * transactional id is forgotten. Waits and RPCs in flight stay (their completions find
 * nothing, or whatever is loaded by then). */
static void coord_unload(node *x)
{
    if (!x->loaded)
        return;
    for (txn_meta *t = x->c.by_id; t; t = t->hh.next)
        if (t->reply) {
            txn_req req = t->reply;
            t->reply = 0;
            coord_reply(x, req, t->reply_kind, KERR_NOT_COORDINATOR, -1, -1);
        }
    txn_coord_free(&x->c);
    x->loaded = false;
    TRACE("node %d unloads the coordinator", x->id);
    if (!g_unload_keeps_work) {
        int k = 0;
        for (int i = 0; i < x->nwaits; i++) {
            hwait *w = &x->waits[i];
            if (w->kind == W_LOG || w->kind == W_LPREP || w->kind == W_LMARK)
                free(w->reply);
            else
                x->waits[k++] = *w;
        }
        x->nwaits = k;
        x->nops = 0; /* answers to them find nothing */
    }
}

/* A participant refused coordinator epoch ce (service.c's fence_note/fences_apply and
 * cluster.c's op_fenced): this node stops acting for T until it leads it in a newer epoch;
 * its RPCs are dropped. */
static void fence_note(node *x, int32_t ce)
{
    S.fenced++;
    if (ce > x->fenced_epoch)
        x->fenced_epoch = ce;
    if (!x->loaded || x->cepoch > x->fenced_epoch)
        return;
    TRACE("node %d: coordinator epoch %d is fenced by a participant", x->id, ce);
    if (g_depth > 0) {
        /* unloaded once the current run is over (fences_apply) */
        return;
    }
    coord_unload(x);
}

/* A load put off until T's high watermark reached the start of this node's epoch. */
static void coord_maybe_load(node *x)
{
    if (!x->loaded && leads(x, TP) && x->r[TP].rp.role == REPL_LEADER && g_depth == 0)
        coord_load(x);
}

static void fences_apply(node *x)
{
    if (!g_no_cepochs && x->loaded && x->cepoch <= x->fenced_epoch && g_depth == 0)
        coord_unload(x);
}

static void op_retry_later(node *x, rop *op)
{
    int64_t d = OP_BACKOFF_MIN_MS << (op->attempts < 5 ? op->attempts : 5);
    op->attempts++;
    op->in_flight = false;
    op->due = S.now + (d > OP_BACKOFF_MAX_MS ? OP_BACKOFF_MAX_MS : d);
    (void)x;
}

static void op_send(node *x, rop *op)
{
    int target = x->view[op->part].leader;
    if (target < 0) {
        op_retry_later(x, op);
        return;
    }
    op->sent_cepoch = g_no_cepochs ? 0 : x->cepoch;
    op->req = ++S.next_id;
    op->in_flight = true;
    op->sent_at = S.now;
    op->target = target;
    msg m = {.kind = op->kind == RPC_PREPARE ? M_PREPARE : M_MARKER, .src = x->id, .dst = target,
             .chan = CH_INTER, .id = op->req, .part = op->part, .pid = op->pid,
             .epoch = op->epoch, .commit = op->commit, .txn_seq = op->txn_seq,
             .cepoch = op->sent_cepoch, .k = (int8_t)txn_k(op->txn_id)};
    TRACE("node %d sends %s %s of %s (seq %" PRId64 ", cepoch %d) to node %d for p%d", x->id,
          op->kind == RPC_PREPARE ? "PREPARE" : "MARKER",
          op->kind == RPC_PREPARE ? "" : op->commit ? "COMMIT" : "ABORT", op->txn_id,
          op->txn_seq, op->sent_cepoch, target, op->part);
    send_msg(&m);
}

static bool op_retriable(int16_t e)
{
    return e == KERR_NOT_LEADER_OR_FOLLOWER || e == KERR_LEADER_NOT_AVAILABLE ||
           e == KERR_UNKNOWN_TOPIC_OR_PARTITION || e == KERR_REQUEST_TIMED_OUT ||
           e == KERR_COORDINATOR_NOT_AVAILABLE || e == KERR_NOT_COORDINATOR;
}

static void op_remove(node *x, int i)
{
    memmove(&x->ops[i], &x->ops[i + 1], sizeof(rop) * (size_t)(x->nops - i - 1));
    x->nops--;
}

/* cluster.c's op_answered. */
static void on_op_reply(node *x, const msg *m)
{
    int i = 0;
    while (i < x->nops && !(x->ops[i].in_flight && x->ops[i].req == m->id))
        i++;
    if (i == x->nops)
        return;
    rop *op = &x->ops[i];
    if (op->cancelled) {
        op_remove(x, i);
        return;
    }
    if (m->err == KERR_TRANSACTION_COORDINATOR_FENCED) {
        TRACE("node %d: %s of %s at p%d refused: coordinator epoch %d fenced", x->id,
              op->kind == RPC_PREPARE ? "prepare" : "marker", op->txn_id, op->part,
              op->sent_cepoch);
        /* txn_service_fenced: sent before this node took T in a newer epoch: re-send */
        if (op->sent_cepoch < x->cepoch) {
            op_retry_later(x, op);
            return;
        }
        S.fenced++;
        if (op->sent_cepoch > x->fenced_epoch)
            x->fenced_epoch = op->sent_cepoch;
        if (x->loaded && x->cepoch <= x->fenced_epoch)
            coord_unload(x);
        /* op_fenced: every RPC of T's ids goes (there is one T partition) */
        int k = 0;
        for (int j = 0; j < x->nops; j++)
            if (j != i && x->ops[j].in_flight) {
                x->ops[j].cancelled = true;
                x->ops[k++] = x->ops[j];
            }
        x->nops = k;
        return;
    }
    if (op_retriable(m->err)) {
        op_retry_later(x, op);
        return;
    }
    rop done = *op;
    op_remove(x, i);
    bool ok = done.kind == RPC_MARKER || m->err == KERR_NONE;
    coord_done(x, done.kind == RPC_PREPARE ? W_LPREP : W_LMARK, done.txn_id, done.part, ok);
}

/* Timer: due RPCs are (re)sent; an RPC without an answer for OP_RTO_MS times out. */
static void ops_kick(node *x)
{
    for (int i = 0; i < x->nops; i++) {
        rop *op = &x->ops[i];
        if (op->in_flight && S.now - op->sent_at >= OP_RTO_MS) {
            if (op->cancelled) {
                op_remove(x, i--);
                continue;
            }
            reconnect(x->id, op->target, CH_INTER);
            op_retry_later(x, op);
        }
        if (!op->in_flight && op->due <= S.now)
            op_send(x, op);
    }
}

/* ---------------- participants (h_inter.c) ---------------- */

static int16_t led_error(const node *x, int p)
{
    if (x->view[p].leader < 0)
        return KERR_LEADER_NOT_AVAILABLE;
    return leads(x, p) ? KERR_NONE : KERR_NOT_LEADER_OR_FOLLOWER;
}

static void on_prepare(node *x, const msg *m)
{
    int p = m->part;
    replica *r = &x->r[p];
    msg a = {.kind = M_OP_REPLY, .src = x->id, .dst = m->src, .chan = CH_INTER, .gen = m->gen,
             .id = m->id, .part = p};
    a.err = led_error(x, p);
    if (a.err == KERR_NONE && !g_no_cepochs && m->cepoch < cep_get(r, m->pid))
        a.err = KERR_TRANSACTION_COORDINATOR_FENCED;
    if (a.err != KERR_NONE) {
        send_msg(&a);
        return;
    }
    int64_t need = pstate_prepare(&r->ps, m->pid, m->epoch);
    TRACE("node %d p%d prepare pid %" PRId64 " epoch %d: need %" PRId64 " (HW %" PRId64 ")",
          x->id, p, m->pid, m->epoch, need, r->rp.hw);
    if (need >= 0 && r->rp.hw < need)
        wait_add(x, W_INTER, p, need, &a, NULL);
    else
        send_msg(&a);
}

static void on_marker(node *x, const msg *m)
{
    int p = m->part;
    replica *r = &x->r[p];
    msg a = {.kind = M_OP_REPLY, .src = x->id, .dst = m->src, .chan = CH_INTER, .gen = m->gen,
             .id = m->id, .part = p};
    a.err = led_error(x, p);
    if (a.err == KERR_NONE && !g_no_cepochs && m->cepoch < cep_get(r, m->pid)) {
        TRACE("node %d p%d refuses a marker of pid %" PRId64 ": coordinator epoch %d < %d",
              x->id, p, m->pid, m->cepoch, cep_get(r, m->pid));
        a.err = KERR_TRANSACTION_COORDINATOR_FENCED;
    }
    if (a.err != KERR_NONE) {
        send_msg(&a);
        return;
    }
    bool newer = !g_no_cepochs && !g_stale_hides_cepoch && m->cepoch > cep_get(r, m->pid);
    if (!g_no_marker_seq && !newer && pstate_marker_is_stale(&r->ps, m->pid, m->txn_seq)) {
        TRACE("node %d p%d drops a stale %s marker of pid %" PRId64 " (seq %" PRId64 ")", x->id,
              p, m->commit ? "COMMIT" : "ABORT", m->pid, m->txn_seq);
        S.stale_markers++;
        if (g_stale_ack_now || r->rp.hw >= r->leo)
            send_msg(&a);
        else
            wait_add(x, W_INTER, p, r->leo, &a, NULL);
        return;
    }
    ent e = {.eid = ++S.next_eid, .epoch = r->log_epoch, .kind = E_MARKER, .commit = m->commit,
             .pepoch = m->epoch, .cepoch = m->cepoch, .pid = m->pid, .txn_seq = m->txn_seq,
             .k = m->k};
    int64_t off = local_append(x, p, &e);
    if (m->txn_seq > 0 && pstate_marker_applied(&r->ps, m->pid, m->epoch, m->txn_seq) != 0)
        fail("pstate_marker_applied failed");
    TRACE("node %d p%d appends %s marker of pid %" PRId64 " epoch %d (seq %" PRId64
          ", cepoch %d) at %" PRId64, x->id, p, m->commit ? "COMMIT" : "ABORT", m->pid, m->epoch,
          m->txn_seq, m->cepoch, off);
    progress(x, p);
    wait_add(x, W_INTER, p, off + 1, &a, NULL);
}

/* check_in_doubt: ask the coordinator about every transaction open on a partition led here. */
static void status_check(node *x)
{
    int c = x->view[TP].leader;
    if (c < 0)
        return;
    for (int p = 1; p <= S.k.P; p++) {
        if (x->view[p].leader != x->id || !x->r[p].ps.open_txns)
            continue;
        for (pstate_entry *e = x->r[p].ps.by_pid; e; e = e->hh.next) {
            if (e->txn == PS_TXN_NONE)
                continue;
            if (x->npst == x->pst_cap)
                x->pst = sim_grow(x->pst, &x->pst_cap, sizeof(*x->pst));
            pstatus *s = &x->pst[x->npst++];
            *s = (pstatus){++S.next_id, S.now, c, p, e->pid, e->epoch, e->txn_first_offset};
            msg m = {.kind = M_STATUS, .src = x->id, .dst = c, .chan = CH_INTER, .id = s->sid,
                     .part = p, .pid = e->pid, .epoch = e->epoch};
            send_msg(&m);
        }
    }
}

/* Questions without an answer (the peer's timeout): forgotten; the connection is closed. */
static void status_timeouts(node *x)
{
    int k = 0;
    for (int i = 0; i < x->npst; i++)
        if (S.now - x->pst[i].sent_at >= OP_RTO_MS)
            reconnect(x->id, x->pst[i].target, CH_INTER);
        else
            x->pst[k++] = x->pst[i];
    x->npst = k;
}

/* cluster_txn_outcome */
static void on_status(node *x, const msg *m)
{
    msg a = {.kind = M_STATUS_REPLY, .src = x->id, .dst = m->src, .chan = CH_INTER,
             .gen = m->gen, .id = m->id, .outcome = OUT_ONGOING, .marker_epoch = m->epoch,
             .k = -1};
    if (x->view[TP].leader != x->id || !x->r[TP].leading || !x->loaded) {
        a.err = KERR_NOT_COORDINATOR;
        send_msg(&a);
        return;
    }
    txn_meta *t = txn_coord_find_pid(&x->c, m->pid);
    if (!t || t->pid != m->pid) {
        a.outcome = OUT_UNKNOWN;
    } else {
        a.marker_epoch = t->epoch > m->epoch ? t->epoch : m->epoch;
        if (t->epoch < m->epoch || (t->epoch == m->epoch && t->state == TXN_ONGOING))
            a.outcome = OUT_ONGOING;
        else if (t->epoch == m->epoch && t->state == TXN_PREPARE_COMMIT) {
            a.outcome = OUT_COMMIT;
            a.k = (int8_t)txn_k(t->id); /* for the oracle: the decision it carries out */
            a.txn_seq = t->txn_seq;
        } else
            a.outcome = OUT_ABORT;
    }
    send_msg(&a);
}

/* status_answered */
static void on_status_reply(node *x, const msg *m)
{
    int i = 0;
    while (i < x->npst && x->pst[i].sid != m->id)
        i++;
    if (i == x->npst)
        return;
    pstatus so = x->pst[i];
    memmove(&x->pst[i], &x->pst[i + 1], sizeof(pstatus) * (size_t)(x->npst - i - 1));
    x->npst--;
    if (m->err != KERR_NONE || m->outcome == OUT_ONGOING)
        return;
    replica *r = &x->r[so.part];
    pstate_entry *e = pstate_find(&r->ps, so.pid);
    bool commit = m->outcome == OUT_COMMIT;
    int16_t epoch = m->marker_epoch >= so.epoch ? m->marker_epoch : so.epoch;
    int32_t ce = cep_get(r, so.pid);
    /* Only the transaction asked about, on a partition still led here. */
    if (!e || e->txn == PS_TXN_NONE || e->epoch != so.epoch ||
        e->txn_first_offset != so.first_offset || led_error(x, so.part) != KERR_NONE)
        return;
    ent me = {.eid = ++S.next_eid, .epoch = r->log_epoch, .kind = E_MARKER, .commit = commit,
              .pepoch = epoch, .cepoch = ce > 0 ? ce : 0, .pid = so.pid,
              .txn_seq = commit ? m->txn_seq : 0, .k = commit ? m->k : -1};
    int64_t off = local_append(x, so.part, &me);
    S.status_markers++;
    TRACE("node %d p%d resolves pid %" PRId64 " epoch %d by its coordinator: %s at %" PRId64,
          x->id, so.part, so.pid, so.epoch, commit ? "COMMIT" : "ABORT", off);
    progress(x, so.part);
}

/* ---------------- produces (h_produce.c) ---------------- */

static bool needs_verify(const replica *r, int64_t pid, int16_t epoch)
{
    const pstate_entry *e = pstate_find(&r->ps, pid);
    return !e || e->epoch != epoch || e->txn != PS_TXN_ONGOING;
}

static void produce_reply(node *x, const msg *m, int16_t err, int64_t offset)
{
    msg a = {.kind = M_PRODUCE_REPLY, .src = x->id, .dst = m->src, .chan = m->chan,
             .gen = m->gen, .id = m->id, .part = m->part, .uid = m->uid, .err = err,
             .offset = offset};
    send_msg(&a);
}

static int16_t produce_check(const node *x, int p)
{
    int16_t err = led_error(x, p);
    if (err == KERR_NONE && !repl_accepts_acks_all(&x->r[p].rp))
        err = KERR_NOT_ENOUGH_REPLICAS;
    return err;
}

/* Was a marker of pid appended to r at or after offset `from`? (A log cut below `from`
 * meanwhile counts as yes: the guard cannot tell.) */
static bool marker_since(const replica *r, int64_t pid, int64_t from)
{
    if (from > r->leo)
        return true;
    for (int64_t o = from; o < r->leo; o++)
        if (r->log[o].kind == E_MARKER && r->log[o].pid == pid)
            return true;
    return false;
}

static void produce_append(node *x, const msg *m, bool confirmed)
{
    int p = m->part;
    replica *r = &x->r[p];
    int16_t err = produce_check(x, p);
    if (err != KERR_NONE) {
        produce_reply(x, m, err, -1);
        return;
    }
    bool remote = x->view[TP].leader != x->id;
    bool verified = confirmed || (remote ? !needs_verify(r, m->pid, m->epoch)
                                         : x->loaded && txn_coord_verify(&x->c, m->pid, m->epoch,
                                                                         TOPIC, p - 1));
    rb_header h;
    sim_txn_batch_header(&h, m->pid, m->epoch, m->seq, 1);
    int64_t dup = -1;
    int v = pstate_check(&r->ps, &h, verified, &dup, &err);
    if (v == PS_REJECT) {
        TRACE("node %d p%d rejects batch %u: error %d (verified %d)", x->id, p, m->uid, err,
              verified);
        produce_reply(x, m, err, -1);
        return;
    }
    msg a = {.kind = M_PRODUCE_REPLY, .src = x->id, .dst = m->src, .chan = m->chan, .gen = m->gen,
             .id = m->id, .part = p, .uid = m->uid};
    if (v == PS_DUPLICATE) {
        TRACE("node %d p%d: batch %u is a duplicate of offset %" PRId64, x->id, p, m->uid, dup);
        a.offset = dup;
        a.uid = r->log[dup].uid; /* the original's */
        if (a.uid != m->uid)
            fail("p%d: duplicate detection matched batch %u to batch %u", p, m->uid, a.uid);
        wait_add(x, W_PRODUCE, p, dup + 1, &a, NULL);
        return;
    }
    ent e = {.eid = ++S.next_eid, .epoch = r->log_epoch, .kind = E_DATA, .pepoch = m->epoch,
             .seq = m->seq, .cepoch = -1, .pid = m->pid, .uid = m->uid, .k = -1};
    int64_t off = local_append(x, p, &e);
    TRACE("node %d p%d appends batch %u pid %" PRId64 " epoch %d seq %d at %" PRId64, x->id, p,
          m->uid, m->pid, m->epoch, m->seq, off);
    progress(x, p);
    a.offset = off;
    wait_add(x, W_PRODUCE, p, off + 1, &a, NULL);
}

static void on_produce(node *x, const msg *m)
{
    int p = m->part;
    int16_t err = produce_check(x, p);
    if (err != KERR_NONE) {
        produce_reply(x, m, err, -1);
        return;
    }
    int c = x->view[TP].leader;
    if (c != x->id && needs_verify(&x->r[p], m->pid, m->epoch)) {
        if (c < 0) {
            produce_reply(x, m, KERR_REQUEST_TIMED_OUT, -1);
            return;
        }
        if (x->npv == x->pv_cap)
            x->pv = sim_grow(x->pv, &x->pv_cap, sizeof(*x->pv));
        pverify *v = &x->pv[x->npv++];
        v->vid = ++S.next_id;
        v->sent_at = S.now;
        v->target = c;
        v->from = x->r[p].leo;
        v->produce = malloc(sizeof(msg));
        BROOK_ASSERT(v->produce);
        *v->produce = *m;
        msg q = {.kind = M_VERIFY, .src = x->id, .dst = c, .chan = CH_INTER, .id = v->vid,
                 .part = p, .pid = m->pid, .epoch = m->epoch};
        send_msg(&q);
        return;
    }
    produce_append(x, m, false);
}

/* cluster_txn_verify_local */
static void on_verify(node *x, const msg *m)
{
    msg a = {.kind = M_VERIFY_REPLY, .src = x->id, .dst = m->src, .chan = CH_INTER,
             .gen = m->gen, .id = m->id};
    if (x->view[TP].leader != x->id) {
        a.err = KERR_NOT_COORDINATOR;
    } else {
        const txn_meta *t = x->loaded ? txn_coord_find_pid(&x->c, m->pid) : NULL;
        if (t && (t->pid != m->pid || t->epoch > m->epoch))
            a.err = KERR_INVALID_PRODUCER_EPOCH;
        else
            a.err = x->loaded && txn_coord_verify(&x->c, m->pid, m->epoch, TOPIC, m->part - 1)
                        ? KERR_NONE
                        : KERR_INVALID_TXN_STATE;
    }
    send_msg(&a);
}

/* verify_answered */
static void on_verify_reply(node *x, const msg *m)
{
    int i = 0;
    while (i < x->npv && x->pv[i].vid != m->id)
        i++;
    if (i == x->npv)
        return;
    msg *pm = x->pv[i].produce;
    int64_t from = x->pv[i].from;
    memmove(&x->pv[i], &x->pv[i + 1], sizeof(pverify) * (size_t)(x->npv - i - 1));
    x->npv--;
    int16_t err = m->err;
    if (err == KERR_NOT_COORDINATOR || err == KERR_COORDINATOR_NOT_AVAILABLE)
        err = KERR_REQUEST_TIMED_OUT;
    if (err == KERR_NONE && !g_no_verify_guard && marker_since(&x->r[pm->part], pm->pid, from)) {
        TRACE("node %d p%d: verification of batch %u is void (a marker of its producer came "
              "first)", x->id, pm->part, pm->uid);
        err = KERR_INVALID_TXN_STATE;
    }
    if (err != KERR_NONE)
        produce_reply(x, pm, err, -1);
    else
        produce_append(x, pm, true);
    free(pm);
}

static void verify_timeouts(node *x)
{
    int k = 0;
    for (int i = 0; i < x->npv; i++) {
        if (S.now - x->pv[i].sent_at >= OP_RTO_MS) {
            reconnect(x->id, x->pv[i].target, CH_INTER);
            produce_reply(x, x->pv[i].produce, KERR_REQUEST_TIMED_OUT, -1);
            free(x->pv[i].produce);
        } else {
            x->pv[k++] = x->pv[i];
        }
    }
    x->npv = k;
}

/* ---------------- coordinator requests from clients ---------------- */

static void on_coord_request(node *x, const msg *m)
{
    client *c = client_of_ep(m->src);
    int16_t err = KERR_NONE;
    if (x->view[TP].leader != x->id)
        err = KERR_NOT_COORDINATOR;
    else if (!x->r[TP].leading || !x->loaded)
        err = KERR_COORDINATOR_LOAD_IN_PROGRESS;
    if (err != KERR_NONE) {
        msg a = {.kind = M_CREPLY, .src = x->id, .dst = m->src, .chan = CH_COORD, .gen = m->gen,
                 .id = m->id, .err = err, .pid = -1, .epoch = -1};
        send_msg(&a);
        return;
    }
    uint64_t tok = req_token(c->k, c->inc, m->gen, m->id, x->id);
    switch (m->kind) {
    case M_INIT: {
        bool used = false;
        int64_t fresh = (int64_t)x->id * 1000000 + x->pid_counter + 1;
        txn_coord_init_pid(&x->c, tok, c->txn_id, S.k.txn_timeout_ms, m->exp_pid, m->exp_epoch,
                           fresh, S.now, &used);
        x->pid_counter++; /* an unused id is skipped, as service.c does */
        break;
    }
    case M_ADD: {
        txn_participant parts[MAXDP];
        int n = 0;
        for (int p = 1; p <= S.k.P; p++)
            if (m->mask & (1u << p))
                parts[n++] = (txn_participant){.kind = TXN_PART_PARTITION, .name = (char *)TOPIC,
                                               .partition = p - 1};
        txn_coord_add(&x->c, tok, c->txn_id, m->pid, m->epoch, parts, n, S.now);
        break;
    }
    case M_END:
        txn_coord_end(&x->c, tok, c->txn_id, m->pid, m->epoch, m->commit, S.now);
        break;
    }
    coord_run(x);
}

/* ---------------- ZooKeeper and the controller ---------------- */

static void notify_all(void)
{
    for (int i = 0; i < NN; i++)
        schedule(S.now + rnd(1, S.quiet ? 5 : 40), EV_NOTIFY, NULL, S.n[i].id, 0, 0);
}

/* proposed: the frozen high watermark a leader's proposal records (-1: the controller). */
static void zk_write(int p, int32_t leader, int32_t epoch, const repl_set *isr,
                     const repl_set *elr, int64_t proposed)
{
    zpart *z = &S.zk[p];
    z->frozen_hw = repl_frozen_hw_after(z->isr.n, isr->n, MIN_ISR, z->frozen_hw, proposed);
    z->leader = leader;
    z->epoch = epoch;
    z->isr = *isr;
    z->elr = *elr;
    z->version++;
    TRACE("zk p%d: leader %d epoch %d isr %d elr %d version %d", p, leader, epoch, isr->n,
          elr->n, z->version);
    notify_all();
}

static void coord_follow(node *x, bool led);

/* replica_on_view for partition p of the view just read: take leadership, follow, or keep
 * waiting. */
static void apply_state(node *x, int p)
{
    zpart *z = &x->view[p];
    replica *r = &x->r[p];
    if (r->known_version == z->version && r->rp.epoch == z->epoch)
        return;
    r->known_version = z->version;
    if (r->needs_bump && z->epoch > r->crash_epoch)
        r->needs_bump = false;
    if (z->leader == x->id) {
        if (r->rp.role == REPL_LEADER && r->rp.epoch == z->epoch) {
            after(x, p, repl_state_update(&r->rp, &z->isr, z->version, z->frozen_hw, S.now));
            if (p == TP)
                coord_follow(x, true);
            return;
        }
        if (z->epoch <= r->start_epoch || r->needs_bump) {
            TRACE("node %d p%d: named leader in epoch %d, which its log may have led before a "
                  "restart: waits for a new epoch", x->id, p, z->epoch);
            r->leading = false;
            if (p == TP)
                coord_follow(x, false);
            return;
        }
        int64_t cut = repl_leader_cut(&z->isr, MIN_ISR, z->frozen_hw, r->leo);
        if (cut >= 0) { /* replica.c cut_unacknowledged_tail */
            TRACE("node %d p%d: elected below min.insync, cuts its tail to %" PRId64, x->id, p,
                  cut);
            S.tail_cuts++;
            if (r->rp.role == REPL_LEADER || r->leading) {
                r->leading = false;
                leadership_lost(x, p);
                if (p == TP)
                    coord_follow(x, false);
            }
            truncate_log(x, p, cut);
            if (r->rp.hw > cut)
                r->rp.hw = cut;
        }
        r->log_epoch = z->epoch; /* log_set_leader_epoch */
        eh_assign(&r->eh, z->epoch, r->leo);
        TRACE("node %d leads p%d in epoch %d at %" PRId64 " (HW %" PRId64 ")", x->id, p, z->epoch,
              r->leo, r->rp.hw);
        repl_out out = repl_become_leader(&r->rp, z->epoch, &S.replicas[p], &z->isr, z->version,
                                          z->frozen_hw, r->leo, r->durable, r->rp.hw, S.now);
        r->leading = true;
        after(x, p, out);
        if (p == TP)
            coord_follow(x, true);
        return;
    }
    if (p == TP)
        coord_follow(x, false);
    if (r->rp.role == REPL_FOLLOWER && r->rp.leader == z->leader && r->rp.epoch == z->epoch) {
        r->rp.isr = z->isr;
        return;
    }
    if (r->rp.role == REPL_LEADER || r->leading) {
        TRACE("node %d p%d: no longer leader (leader %d, epoch %d)", x->id, p, z->leader,
              z->epoch);
        r->leading = false;
        leadership_lost(x, p);
    }
    repl_become_follower(&r->rp, z->leader == x->id ? -1 : z->leader, z->epoch, &S.replicas[p],
                         &z->isr, z->version);
    r->fetching = false;
    maybe_fetch(x, p);
}

/* A ZooKeeper watch fired: the node reads every partition's state (one view, as
 * cluster_view), then applies it partition by partition. */
static void read_view(node *x)
{
    for (int p = 0; p < 1 + S.k.P; p++)
        x->view[p] = S.zk[p];
    for (int p = 0; p < 1 + S.k.P; p++)
        apply_state(x, p);
}

static void coord_follow(node *x, bool led)
{
    if (led)
        coord_load(x);
    else
        coord_unload(x);
}

static bool is_dead(const node *x)
{
    if (!x->up)
        return S.now - x->down_since >= DETECT_MS;
    return x->paused_until > S.now && S.now - x->paused_since >= SESSION_MS;
}

/* One round of the controller: at most one partition's state is written (znodes are
 * written one at a time, so a node may read a view where some partitions changed and
 * others not yet). Returns true when it wrote one (the next round comes soon). */
static bool controller(void)
{
    repl_set live = {0};
    for (int i = 0; i < NN; i++)
        if (!is_dead(&S.n[i]))
            repl_set_add(&live, S.n[i].id);
    int np = 1 + S.k.P, first = (int)rnd(0, np - 1);
    for (int i = 0; i < np; i++) {
        int p = (first + i) % np;
        zpart *z = &S.zk[p];
        bool leader_gone = z->leader < 0 || !repl_set_has(&live, z->leader);
        int32_t pref = S.replicas[p].id[0];
        if (!leader_gone && !z->bump && z->leader != pref && repl_set_has(&live, pref) &&
            repl_set_has(&z->isr, pref)) {
            /* auto.leader.rebalance.enable: back to the preferred replica once in sync */
            S.elections++;
            zk_write(p, pref, z->epoch + 1, &z->isr, &z->elr, -1);
            return true;
        }
        if (!leader_gone && !z->bump) {
            /* dead followers leave the ISR at once */
            repl_set isr = {0}, elr = z->elr;
            for (int i = 0; i < z->isr.n; i++)
                if (repl_set_has(&live, z->isr.id[i]))
                    repl_set_add(&isr, z->isr.id[i]);
            if (isr.n == z->isr.n)
                continue;
            if (isr.n < MIN_ISR)
                for (int i = 0; i < z->isr.n; i++)
                    if (!repl_set_has(&isr, z->isr.id[i]))
                        repl_set_add(&elr, z->isr.id[i]);
            if (isr.n >= MIN_ISR)
                elr.n = 0;
            zk_write(p, z->leader, z->epoch, &isr, &elr, -1);
            return true;
        }
        repl_election e;
        if (g_unclean) {
            e = (repl_election){.leader = -1};
            for (int i = 0; i < NN && e.leader < 0; i++) {
                int32_t id = S.replicas[p].id[(i + (int)rnd(0, NN - 1)) % NN];
                if (repl_set_has(&live, id))
                    e.leader = id;
            }
            if (e.leader >= 0)
                repl_set_add(&e.isr, e.leader);
        } else {
            e = repl_elect(&S.replicas[p], &z->isr, &z->elr, &live, MIN_ISR);
        }
        if (e.leader < 0 && z->leader < 0)
            continue;
        z->bump = false;
        S.elections++;
        zk_write(p, e.leader, z->epoch + 1, &e.isr, &e.elr, -1);
        return true;
    }
    return false;
}

static void on_propose(const msg *m)
{
    zpart *z = &S.zk[m->part];
    msg a = *m;
    a.kind = M_PROPOSE_DONE;
    a.src = 0;
    a.dst = m->src;
    a.committed = m->version == z->version && z->leader == m->src && z->epoch == m->lepoch;
    if (a.committed) {
        repl_set elr = m->isr.n >= MIN_ISR ? (repl_set){0} : z->elr;
        zk_write(m->part, z->leader, z->epoch, &m->isr, &elr, m->frozen_hw);
        a.version = z->version;
    }
    send_msg(&a);
}

/* ---------------- crashes, restarts, pauses ---------------- */

static void node_crash(node *x)
{
    if (!x->up)
        return;
    S.crashes++;
    x->up = false;
    x->down_since = S.now;
    x->inc++;
    for (int p = 0; p < 1 + S.k.P; p++) {
        replica *r = &x->r[p];
        int64_t keep = r->durable + rnd(0, r->leo - r->durable);
        TRACE("node %d crashes: p%d log %" PRId64 ", fsynced %" PRId64 ", %" PRId64 " survive",
              x->id, p, r->leo, r->durable, keep);
        r->crash_epoch = r->rp.epoch > S.zk[p].epoch ? r->rp.epoch : S.zk[p].epoch;
        r->leo = r->durable = keep;
        if (r->checked > keep)
            r->checked = keep;
        r->fsync_running = false;
        eh_free(&r->eh);
        for (int64_t o = 0; o < r->leo; o++)
            eh_assign(&r->eh, r->log[o].epoch, o);
        ps_rebuild(r);
        repl_init(&r->rp, x->id, MIN_ISR, LAG_MAX_MS);
        r->leading = false;
        r->log_epoch = 0;
        r->known_version = -1;
        r->fetching = false;
        for (int i = 0; i <= NN; i++) {
            free(r->parked[i]);
            r->parked[i] = NULL;
        }
    }
    if (x->loaded)
        txn_coord_free(&x->c);
    x->loaded = false;
    x->cepoch = 0;
    x->fenced_epoch = -1;
    waits_clear(x);
    x->nops = 0;
    for (int i = 0; i < x->npv; i++)
        free(x->pv[i].produce);
    x->npv = 0;
    x->npst = 0;
    schedule(S.now + rnd(20, S.k.down_max), EV_RESTART, NULL, x->id, 0, 0);
}

static void node_restart(node *x)
{
    x->up = true;
    x->paused_until = 0;
    for (int ep = 1; ep <= NEP - 1; ep++)
        for (int ch = 0; ch < NCH; ch++)
            reconnect(x->id, ep, ch);
    TRACE("node %d restarts", x->id);
    for (int p = 0; p < 1 + S.k.P; p++) {
        replica *r = &x->r[p];
        r->start_epoch = eh_latest(&r->eh);
        r->checked = 0; /* its high watermark starts at 0 */
        if (S.zk[p].leader == x->id) {
            r->needs_bump = !g_lead_before_bump; /* registered anew: the controller bumps it */
            S.zk[p].bump = true;
        }
    }
    read_view(x);
}

/* ---------------- clients ---------------- */

static void client_send(client *c, msg *m, int nd)
{
    m->src = c->ep;
    m->dst = nd;
    send_msg(m);
}

static int coordinator_node(void) { return S.zk[TP].leader; }

static void client_coord_send(client *c)
{
    int nd = coordinator_node();
    c->req_sent = S.now;
    c->req_active = true;
    c->req_node = nd;
    if (nd < 0)
        return; /* no coordinator: times out and tries again */
    c->req.chan = CH_COORD;
    c->req.id = ++S.next_id;
    client_send(c, &c->req, nd);
}

static void client_new_req(client *c, int kind)
{
    memset(&c->req, 0, sizeof(c->req));
    c->req.kind = kind;
    c->req.pid = c->pid;
    c->req.epoch = c->epoch;
    c->req.exp_pid = -1;
    c->req.exp_epoch = -1;
}

static void client_backoff(client *c) { c->backoff_until = S.now + rnd(5, 40); }

static void client_finish_txn(client *c, int result)
{
    if (c->txn >= 0) {
        ctxn *t = &S.txns[c->txn];
        if (t->result == R_OPEN)
            t->result = result;
        TRACE("c%d txn #%d ends: %s", c->k, t->no, g_result_names[t->result]);
        if (result == R_COMMITTED)
            S.commits++;
        else if (result == R_ABORTED)
            S.aborts++;
        if (result == R_ABORTED && t->outcome == 1)
            fail("c%d#%d: EndTxn(abort) succeeded but its records are committed", c->k, t->no);
        if (result == R_COMMITTED && t->outcome == 2)
            fail("c%d#%d: EndTxn(commit) succeeded but its records are aborted", c->k, t->no);
    }
    c->txn = -1;
    for (int p = 0; p < NPART; p++)
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
    int n = (int)rnd(1, S.k.P);
    for (int guard = 0; guard < 100 && __builtin_popcount(want) < n; guard++)
        want |= 1u << rnd(1, S.k.P);
    c->want = want;
    c->added = c->adding = 0;
    for (int p = 0; p < NPART; p++) {
        c->left[p] = (want & (1u << p)) ? (int)rnd(1, S.k.max_batches) : 0;
        c->inflight[p] = false;
    }
    c->txn_error = false;
    if (S.ntxns == S.txns_cap)
        S.txns = sim_grow(S.txns, &S.txns_cap, sizeof(*S.txns));
    S.txns[S.ntxns] = (ctxn){.client = c->k, .no = c->txns_started, .pid = c->pid,
                             .epoch = c->epoch, .result = R_OPEN};
    c->txn = S.ntxns++;
    c->txns_started++;
    c->st = C_TXN;
    TRACE("c%d begins txn #%d pid %" PRId64 " epoch %d partitions %#x", c->k,
          S.txns[c->txn].no, c->pid, c->epoch, want);
}

static void client_start_end(client *c, bool commit)
{
    for (int p = 0; p < NPART; p++)
        if (c->inflight[p]) {
            c->inflight[p] = false;
            c->bump_after = true; /* a late produce must not land in the next transaction */
        }
    if (c->added == 0 && c->adding == 0) {
        TRACE("c%d drops txn #%d (nothing added)", c->k, S.txns[c->txn].no);
        client_finish_txn(c, R_FAILED);
        if (c->bump_after)
            client_reinit(c, true);
        else
            c->st = C_READY;
        return;
    }
    c->st = C_ENDING;
    client_new_req(c, M_END);
    c->req.commit = commit;
    if (commit)
        S.txns[c->txn].commit_requested = true;
    TRACE("c%d EndTxn(%s) txn #%d", c->k, commit ? "commit" : "abort", S.txns[c->txn].no);
    client_coord_send(c);
}

static void client_send_produce(client *c, int p)
{
    if (S.nbats + 1 >= S.bats_cap) {
        uint32_t cap = S.bats_cap ? S.bats_cap * 2 : 256;
        S.bats = realloc(S.bats, cap * sizeof(bat));
        BROOK_ASSERT(S.bats);
        S.bats_cap = cap;
        if (S.nbats == 0)
            S.nbats = 1; /* uid 0 is never used */
    }
    uint32_t uid = S.nbats++;
    S.bats[uid] = (bat){.txn = c->txn, .part = p, .pid = c->pid, .ack_off = -1};
    msg *m = &c->prod[p];
    memset(m, 0, sizeof(*m));
    m->kind = M_PRODUCE;
    m->chan = CH_PRODUCE + p;
    m->part = p;
    m->pid = c->pid;
    m->epoch = c->epoch;
    m->seq = c->seq[p]++;
    m->uid = uid;
    c->inflight[p] = true;
    c->prod_sent[p] = S.now;
    m->id = ++S.next_id;
    c->prod_node[p] = S.zk[p].leader;
    TRACE("c%d produces batch %u -> p%d (node %d) seq %d", c->k, uid, p, c->prod_node[p], m->seq);
    if (c->prod_node[p] > 0)
        client_send(c, m, c->prod_node[p]);
}

static void client_step(client *c)
{
    if (c->st == C_DOWN || c->st == C_DONE)
        return;
    if (c->req_active && S.now - c->req_sent >= CLIENT_RTO_MS) {
        if (c->req_node > 0)
            reconnect(c->ep, c->req_node, CH_COORD);
        TRACE("c%d re-sends %s", c->k, g_mnames[c->req.kind]);
        client_coord_send(c);
    }
    if (c->st == C_INIT) {
        if (!c->req_active && S.now >= c->backoff_until) {
            client_new_req(c, M_INIT);
            if (c->have_pid && c->init_expected) {
                c->req.exp_pid = c->pid;
                c->req.exp_epoch = c->epoch;
            }
            client_coord_send(c);
        }
        return;
    }
    if (c->st == C_READY) {
        if (S.quiet || c->txns_started >= S.k.txns_per_client) {
            c->st = C_DONE;
            TRACE("c%d done", c->k);
            return;
        }
        client_begin_txn(c);
    }
    if (c->st == C_ENDING) {
        if (!c->req_active && S.now >= c->backoff_until)
            client_coord_send(c); /* the same EndTxn again */
        return;
    }
    bool any_inflight = false;
    for (int p = 1; p <= S.k.P; p++)
        if (c->inflight[p]) {
            any_inflight = true;
            if (S.now - c->prod_sent[p] >= CLIENT_RTO_MS) {
                if (c->prod_node[p] > 0)
                    reconnect(c->ep, c->prod_node[p], CH_PRODUCE + p);
                c->prod_node[p] = S.zk[p].leader;
                c->prod_sent[p] = S.now;
                c->prod[p].id = ++S.next_id;
                TRACE("c%d re-sends batch %u -> p%d (node %d)", c->k, c->prod[p].uid, p,
                      c->prod_node[p]);
                if (c->prod_node[p] > 0)
                    client_send(c, &c->prod[p], c->prod_node[p]);
            }
        }
    if (c->txn_error) {
        client_start_end(c, false);
        return;
    }
    if (any_inflight && !S.quiet && chance(S.k.p_sloppy_abort)) {
        TRACE("c%d aborts with produces in flight", c->k);
        client_start_end(c, false);
        return;
    }
    uint32_t missing = c->want & ~c->added;
    if (missing && !c->req_active && S.now >= c->backoff_until) {
        uint32_t add = missing;
        if (chance(0.5))
            add = 1u << __builtin_ctz(missing);
        client_new_req(c, M_ADD);
        c->req.mask = add;
        c->adding = add;
        TRACE("c%d AddPartitions %#x", c->k, add);
        client_coord_send(c);
    }
    bool work_left = missing != 0;
    for (int p = 1; p <= S.k.P; p++) {
        if ((c->added & (1u << p)) && c->left[p] > 0 && !c->inflight[p])
            client_send_produce(c, p);
        if (c->left[p] > (c->inflight[p] ? 1 : 0))
            work_left = true;
        any_inflight |= c->inflight[p];
    }
    if (!work_left && !c->req_active) {
        if (!any_inflight) /* a client commits only once every produce is answered */
            client_start_end(c, !chance(S.k.p_abort));
    }
}

static bool retriable(int16_t e)
{
    return e == KERR_CONCURRENT_TRANSACTIONS || e == KERR_COORDINATOR_NOT_AVAILABLE ||
           e == KERR_COORDINATOR_LOAD_IN_PROGRESS || e == KERR_NOT_COORDINATOR ||
           e == KERR_NOT_LEADER_OR_FOLLOWER || e == KERR_NOT_ENOUGH_REPLICAS ||
           e == KERR_REQUEST_TIMED_OUT || e == KERR_LEADER_NOT_AVAILABLE;
}

static bool abortable(int16_t e)
{
    return e == KERR_PRODUCER_FENCED || e == KERR_INVALID_PRODUCER_ID_MAPPING ||
           e == KERR_INVALID_PRODUCER_EPOCH || e == KERR_INVALID_TXN_STATE ||
           e == KERR_OUT_OF_ORDER_SEQUENCE_NUMBER || e == KERR_KAFKA_STORAGE_ERROR;
}

static void client_on_coord_reply(client *c, const msg *m)
{
    if (!c->req_active || m->id != c->req.id)
        return;
    c->req_active = false;
    int kind = c->req.kind;
    TRACE("c%d: %s answered error %d pid %" PRId64 " epoch %d", c->k, g_mnames[kind], m->err,
          m->pid, m->epoch);
    if (retriable(m->err)) {
        if (kind == M_ADD)
            c->adding = 0;
        client_backoff(c);
        return;
    }
    switch (kind) {
    case M_INIT:
        if (m->err == KERR_NONE) {
            c->have_pid = true;
            c->pid = m->pid;
            c->epoch = m->epoch;
            memset(c->seq, 0, sizeof(c->seq));
            c->init_expected = false;
            c->st = C_READY;
        } else if (m->err == KERR_PRODUCER_FENCED) {
            c->init_expected = false;
            client_backoff(c);
        } else {
            fail("c%d: unexpected InitProducerId error %d", c->k, m->err);
        }
        break;
    case M_ADD:
        if (m->err == KERR_NONE) {
            c->added |= c->adding;
            c->adding = 0;
        } else if (abortable(m->err)) {
            client_finish_txn(c, R_FAILED);
            client_reinit(c, false);
        } else {
            fail("c%d: unexpected AddPartitionsToTxn error %d", c->k, m->err);
        }
        break;
    case M_END:
        if (m->err == KERR_NONE) {
            bool commit = c->req.commit;
            TRACE("c%d txn #%d %s", c->k, S.txns[c->txn].no, commit ? "COMMITTED" : "ABORTED");
            client_finish_txn(c, commit ? R_COMMITTED : R_ABORTED);
            if (c->bump_after)
                client_reinit(c, true);
            else
                c->st = C_READY;
        } else if (abortable(m->err)) {
            client_finish_txn(c, R_FAILED);
            client_reinit(c, m->err != KERR_PRODUCER_FENCED && chance(0.5));
        } else {
            fail("c%d: unexpected EndTxn error %d", c->k, m->err);
        }
        break;
    }
}

static void client_on_produce_reply(client *c, const msg *m)
{
    int p = m->part;
    if (c->st != C_TXN || !c->inflight[p] || c->prod[p].id != m->id)
        return;
    TRACE("c%d: batch %u at p%d answered error %d offset %" PRId64, c->k, m->uid, p, m->err,
          m->offset);
    if (m->err == KERR_NONE) {
        c->inflight[p] = false;
        c->left[p]--;
        return;
    }
    if (retriable(m->err)) {
        c->prod_sent[p] = S.now - CLIENT_RTO_MS + rnd(5, 30); /* re-send soon */
        return;
    }
    if (abortable(m->err)) {
        c->inflight[p] = false;
        c->txn_error = true;
        c->bump_after = true;
        return;
    }
    fail("c%d: unexpected produce error %d", c->k, m->err);
}

static void client_start(client *c)
{
    c->inc++;
    c->have_pid = false;
    c->pid = -1;
    c->epoch = -1;
    c->txn = -1;
    client_reinit(c, false);
    c->backoff_until = S.now;
    schedule(S.now + rnd(1, 20), EV_CLIENT_TICK, NULL, c->k, c->inc, 0);
}

/* ---------------- the read_committed readers ---------------- */

/* What a read_committed consumer fetching from each partition's leader (per ZooKeeper)
 * sees: batches below min(HW, first unstable offset) outside the aborted ranges, i.e.
 * closed by a COMMIT marker in the leader's log. Each must belong to a transaction that
 * ends committed (checked now against what is known, and at the end). */
static void check_readers(void)
{
    for (int p = 1; p <= S.k.P && !S.failed; p++) {
        node *l = node_of(S.zk[p].leader);
        if (!l || !l->up || !leads(l, p))
            continue;
        replica *r = &l->r[p];
        int64_t fu = pstate_first_unstable_offset(&r->ps);
        int64_t lso = fu < r->rp.hw ? fu : r->rp.hw;
        /* closing marker of each batch below the LSO: scan backwards */
        int64_t pids[16];
        int close[16];
        int np = 0;
        for (int64_t o = r->leo - 1; o >= 0; o--) {
            const ent *e = &r->log[o];
            if (e->kind != E_DATA && e->kind != E_MARKER)
                continue;
            int i = 0;
            while (i < np && pids[i] != e->pid)
                i++;
            if (i == np) {
                if (np == 16)
                    continue;
                pids[np] = e->pid;
                close[np++] = 0;
            }
            if (e->kind == E_MARKER) {
                close[i] = e->commit ? 1 : 2;
                continue;
            }
            if (o >= lso || close[i] != 1)
                continue;
            bat *b = &S.bats[e->uid];
            if (!b->was_visible) {
                b->was_visible = true;
                const ctxn *t = &S.txns[b->txn];
                if (t->result == R_ABORTED || t->outcome == 2)
                    fail("read_committed at node %d sees batch %u (p%d@%" PRId64 ") of c%d#%d, "
                         "which is aborted", l->id, e->uid, p, o, t->client, t->no);
                if (!t->commit_requested)
                    fail("read_committed at node %d sees batch %u (p%d@%" PRId64 ") of c%d#%d, "
                         "whose client never asked to commit", l->id, e->uid, p, o, t->client,
                         t->no);
            }
        }
    }
}

/* ---------------- the run ---------------- */

static void pick_knobs(knobs *k, uint64_t seed)
{
    sim_rng r;
    sim_rng_seed(&r, seed ^ 0x7e91ull);
    static const double drops[] = {0, 0.01, 0.05};
    static const double fdrops[] = {0, 0.05, 0.2};
    static const double fdups[] = {0, 0.05};
    static const double longs[] = {0, 0.02, 0.1};
    static const int delays[] = {2, 10, 30};
    static const double crashes[] = {0, 0.01, 0.03};
    static const double pauses[] = {0, 0.01, 0.02};
    static const int fsyncs[] = {1, 5, 20};
    static const int32_t timeouts[] = {800, 2000, 6000};
    static const int downs[] = {100, 600};
#define PICK(arr) (arr)[sim_rng_range(&r, 0, (int64_t)BROOK_ARRAY_LEN(arr) - 1)]
    k->P = (int)sim_rng_range(&r, 1, MAXDP);
    k->K = (int)sim_rng_range(&r, 1, MAXK);
    k->txns_per_client = (int)sim_rng_range(&r, 2, 8);
    k->max_batches = (int)sim_rng_range(&r, 1, 3);
    k->p_drop = PICK(drops);
    k->p_fetch_drop = PICK(fdrops);
    k->p_fetch_dup = PICK(fdups);
    k->p_long_delay = PICK(longs);
    k->delay_max = PICK(delays);
    k->p_crash = PICK(crashes);
    k->p_pause = PICK(pauses);
    k->fsync_max = PICK(fsyncs);
    k->fault_ms = (int)sim_rng_range(&r, 1500, 6000);
    k->down_max = PICK(downs);
    k->txn_timeout_ms = PICK(timeouts);
    k->p_abort = 0.25;
    k->p_sloppy_abort = sim_rng_chance(&r, 0.3) ? 0.01 : 0;
    k->long_max = 10 * k->delay_max + 100;
    k->p_long_pause = 0.3;
    if (sim_rng_chance(&r, 0.15)) { /* harsh: frequent crashes and pauses, lossy network */
        k->p_crash = 0.06;
        k->p_pause = 0.03;
        k->p_drop = 0.05;
        k->p_long_delay = 0.1;
    }
    if (sim_rng_chance(&r, 0.1)) { /* laggy: requests overtaken by their retries */
        k->p_long_delay = 0.15;
        k->long_max = 1500;
    }
    if (sim_rng_chance(&r, 0.1)) { /* zombies: nodes silent past their session */
        k->p_pause = 0.03;
        k->p_long_pause = 0.7;
    }
#undef PICK
}

static void print_knobs(void)
{
    const knobs *k = &S.k;
    printf("seed %" PRIu64 ": P=%d K=%d txns/client=%d batches<=%d drop=%.2f fetch drop=%.2f "
           "dup=%.2f delay<=%d long=%.2f<=%d crash=%.2f pause=%.2f (long %.1f) fsync<=%d "
           "faults=%dms down<=%d txn timeout=%d sloppy abort=%.2f\n",
           S.seed, k->P, k->K, k->txns_per_client, k->max_batches, k->p_drop, k->p_fetch_drop,
           k->p_fetch_dup, k->delay_max, k->p_long_delay, k->long_max, k->p_crash, k->p_pause,
           k->p_long_pause, k->fsync_max, k->fault_ms, k->down_max, k->txn_timeout_ms,
           k->p_sloppy_abort);
}

static bool deferred(node *x, const sim_event *e)
{
    if (x->paused_until <= S.now)
        return false;
    sim_event d = *e;
    d.at = x->paused_until;
    sim_queue_push(&S.q, &d);
    return true;
}

static void deliver(node *x, msg *m)
{
    switch (m->kind) {
    case M_FETCH: on_fetch(x, m); break;
    case M_FETCH_RESP: on_fetch_resp(x, m); break;
    case M_PROPOSE_DONE: {
        replica *r = &x->r[m->part];
        if (r->rp.epoch == m->lepoch)
            after(x, m->part, repl_proposal_done(&r->rp, m->committed, m->version, S.now));
        break;
    }
    case M_INIT:
    case M_ADD:
    case M_END: on_coord_request(x, m); break;
    case M_PRODUCE: on_produce(x, m); break;
    case M_VERIFY: on_verify(x, m); break;
    case M_VERIFY_REPLY: on_verify_reply(x, m); break;
    case M_PREPARE: on_prepare(x, m); break;
    case M_MARKER: on_marker(x, m); break;
    case M_OP_REPLY: on_op_reply(x, m); break;
    case M_STATUS: on_status(x, m); break;
    case M_STATUS_REPLY: on_status_reply(x, m); break;
    default: fail("node %d got %s", x->id, g_mnames[m->kind]);
    }
}

static void on_msg(msg *m)
{
    if (m->kind == M_PROPOSE) {
        on_propose(m);
        return;
    }
    bool ans = is_reply(m->kind);
    if (ep_is_client(m->dst)) {
        client *c = client_of_ep(m->dst);
        if (c->st == C_DOWN || c->inc != m->dst_inc ||
            conn_of(m->dst, m->src, m->chan)->gen != m->gen)
            return;
        if (m->kind == M_CREPLY)
            client_on_coord_reply(c, m);
        else if (m->kind == M_PRODUCE_REPLY)
            client_on_produce_reply(c, m);
        client_step(c);
        return;
    }
    node *x = node_of(m->dst);
    if (!x->up || x->inc != m->dst_inc)
        return;
    if (ep_is_client(m->src) && conn_of(m->src, m->dst, m->chan)->gen != m->gen)
        return; /* a client's request on a connection it has closed (sim_txn's TCP model:
                 * processed, a stale EndTxn could end the next transaction) */
    if (ans && m->chan != CH_FETCH && m->kind != M_PROPOSE_DONE &&
        conn_of(m->dst, m->src, m->chan)->gen != m->gen)
        return; /* its requester closed that connection */
    TRACE("node %d <- %s from %d", x->id, g_mnames[m->kind], m->src);
    deliver(x, m);
}

static void node_tick(node *x)
{
    for (int p = 0; p < 1 + S.k.P; p++) {
        replica *r = &x->r[p];
        if (r->rp.role == REPL_LEADER)
            after(x, p, repl_tick(&r->rp, S.now));
        fetch_wake(x, p, false);
        maybe_fetch(x, p);
    }
    if (x->loaded) {
        txn_coord_tick(&x->c, S.now);
        coord_run(x);
    }
    ops_kick(x);
    verify_timeouts(x);
    status_timeouts(x);
    if (S.now - x->last_status >= STATUS_MS) {
        x->last_status = S.now;
        status_check(x);
    }
}

static void dispatch(const sim_event *e)
{
    node *x = NULL;
    if (e->kind == EV_MSG) {
        msg *m = e->data;
        if (m->dst >= 1 && m->dst <= NN)
            x = node_of(m->dst);
    } else if (e->kind == EV_FSYNC || e->kind == EV_NODE_TICK || e->kind == EV_NOTIFY) {
        x = node_of((int)e->a);
    }
    if (x && x->up && deferred(x, e))
        return;
    switch (e->kind) {
    case EV_MSG:
        on_msg(e->data);
        free(e->data);
        break;
    case EV_FSYNC: {
        int p = (int)(e->b >> 40);
        int64_t upto = e->b & ((1ll << 40) - 1);
        replica *r = &x->r[p];
        if (!x->up || (uint32_t)((uint64_t)e->c >> 32) != x->inc)
            break;
        r->fsync_running = false;
        if ((uint32_t)e->c == r->trunc_gen && upto > r->durable)
            r->durable = upto <= r->leo ? upto : r->leo;
        progress(x, p);
        start_fsync(x, p);
        maybe_fetch(x, p);
        break;
    }
    case EV_NODE_TICK:
        if (x->up)
            node_tick(x);
        schedule(S.now + TICK_MS, EV_NODE_TICK, NULL, e->a, 0, 0);
        break;
    case EV_NOTIFY:
        if (x->up)
            read_view(x);
        break;
    case EV_CONTROLLER:
        schedule(S.now + (controller() ? rnd(1, 15) : 50), EV_CONTROLLER, NULL, 0, 0, 0);
        break;
    case EV_CRASH:
        if (!S.quiet)
            node_crash(node_of((int)e->a));
        break;
    case EV_RESTART:
        if (!node_of((int)e->a)->up)
            node_restart(node_of((int)e->a));
        break;
    case EV_PAUSE: {
        node *y = node_of((int)e->a);
        if (S.quiet || !y->up || y->paused_until > S.now)
            break;
        y->paused_until = S.now + e->b;
        y->paused_since = S.now;
        S.pauses++;
        TRACE("node %d paused for %" PRId64 " ms", y->id, e->b);
        break;
    }
    case EV_CLIENT_TICK: {
        client *c = &S.cl[e->a];
        if ((uint32_t)e->b != c->inc || c->st == C_DOWN)
            break;
        client_step(c);
        if (c->st != C_DONE)
            schedule(S.now + rnd(5, 25), EV_CLIENT_TICK, NULL, e->a, e->b, 0);
        break;
    }
    case EV_QUIET:
        S.quiet = true;
        TRACE("quiet phase: no more faults; every node up and running");
        for (int i = 0; i < NN; i++) {
            S.n[i].paused_until = 0;
            if (!S.n[i].up)
                node_restart(&S.n[i]);
        }
        break;
    case EV_READER:
        check_readers();
        schedule(S.now + READER_MS, EV_READER, NULL, 0, 0, 0);
        break;
    }
    if (x && x->up && x->paused_until <= S.now) {
        node_progress(x);
        fences_apply(x);
        coord_maybe_load(x);
    }
}

static bool converged(bool report)
{
    const char *why = NULL;
    char buf[160];
    node *tl = node_of(S.zk[TP].leader);
    for (int i = 0; i < S.k.K && !why; i++)
        if (S.cl[i].st != C_DONE) {
            snprintf(buf, sizeof(buf), "client c%d is still %s", i, g_cstate_names[S.cl[i].st]);
            why = buf;
        }
    if (!why && (!tl || !tl->up || !leads(tl, TP) || !tl->loaded))
        why = "T's leader has not loaded the coordinator";
    for (txn_meta *t = why ? NULL : tl->c.by_id; t && !why; t = t->hh.next)
        if (t->phase != TXN_PHASE_IDLE ||
            (t->state != TXN_EMPTY && t->state != TXN_COMPLETE_COMMIT &&
             t->state != TXN_COMPLETE_ABORT)) {
            snprintf(buf, sizeof(buf), "coordinator: %s is %s (phase %d)", t->id,
                     txn_state_name(t->state), t->phase);
            why = buf;
        }
    for (int p = 0; p < 1 + S.k.P && !why; p++) {
        node *l = node_of(S.zk[p].leader);
        if (!l || !l->up || !leads(l, p)) {
            snprintf(buf, sizeof(buf), "p%d has no leader", p);
            why = buf;
            break;
        }
        if (p != TP && l->r[p].ps.open_txns > 0) {
            snprintf(buf, sizeof(buf), "p%d: %zu transactions open at leader %d", p,
                     l->r[p].ps.open_txns, l->id);
            why = buf;
        }
        for (int i = 0; i < NN && !why; i++)
            if (S.n[i].r[p].leo != l->r[p].leo || S.n[i].r[p].rp.hw != l->r[p].leo) {
                snprintf(buf, sizeof(buf), "p%d: node %d (log %" PRId64 ", HW %" PRId64
                         ") not caught up with leader %d (log %" PRId64 ")", p, S.n[i].id,
                         S.n[i].r[p].leo, S.n[i].r[p].rp.hw, l->id, l->r[p].leo);
                why = buf;
            }
    }
    if (why && report)
        fail("after the quiet phase: %s", why);
    return !why;
}

static void check_final(void)
{
    check_replicas();
    for (int p = 0; p < 1 + S.k.P && !S.failed; p++)
        for (int i = 0; i < NN; i++)
            if (S.n[i].r[p].leo < S.cmn[p])
                fail("p%d: node %d's log ends at %" PRId64 ", before the committed log's end %"
                     PRId64, p, S.n[i].id, S.n[i].r[p].leo, S.cmn[p]);
    if (!S.failed && S.nunverified > 0)
        fail("acknowledged batch %u is not in the committed log", S.unverified[0]);
    for (int p = 1; p <= S.k.P && !S.failed; p++)
        if (S.nopen[p] > 0)
            fail("p%d: %d committed batches never closed by a marker", p, S.nopen[p]);
    for (int i = 0; i < S.npm && !S.failed; i++)
        fail("p%d@%" PRId64 ": %s marker of txn-%d #%" PRId64 " carries out no committed "
             "decision", S.pm[i].part, S.pm[i].off, S.pm[i].commit ? "COMMIT" : "ABORT",
             S.pm[i].k, S.pm[i].txn_seq);
    check_readers();
    for (uint32_t u = 1; u < S.nbats && !S.failed; u++) {
        const bat *b = &S.bats[u];
        const ctxn *t = &S.txns[b->txn];
        if (b->was_visible && b->closed != 1)
            fail("batch %u of c%d#%d was readable (read_committed) but ends %s", u, t->client,
                 t->no, b->closed == 2 ? "aborted" : "open");
        if (t->result == R_COMMITTED && b->acked && b->closed != 1)
            fail("c%d#%d committed but its acknowledged batch %u at p%d is not", t->client,
                 t->no, u, b->part);
        if (t->result == R_ABORTED && b->closed == 1)
            fail("c%d#%d aborted but its batch %u at p%d is committed", t->client, t->no, u,
                 b->part);
    }
}

static void run_free(void)
{
    sim_event e;
    while (sim_queue_pop(&S.q, &e))
        if (e.kind == EV_MSG)
            free(e.data);
    sim_queue_free(&S.q);
    for (int i = 0; i < NN; i++) {
        node *x = &S.n[i];
        for (int p = 0; p < NPART; p++) {
            free(x->r[p].log);
            for (int i = 0; i <= NN; i++)
                free(x->r[p].parked[i]);
            eh_free(&x->r[p].eh);
            pstate_free(&x->r[p].ps);
        }
        if (x->loaded)
            txn_coord_free(&x->c);
        waits_clear(x);
        free(x->waits);
        free(x->ops);
        for (int k = 0; k < x->npv; k++)
            free(x->pv[k].produce);
        free(x->pv);
        free(x->pst);
    }
    for (int i = 0; i < S.nrecs; i++)
        free(S.recs[i].val);
    free(S.recs);
    free(S.reqs);
    free(S.txns);
    free(S.bats);
    free(S.pm);
    free(S.unverified);
    for (int p = 0; p < NPART; p++) {
        free(S.cm[p]);
        free(S.hw_owner[p]);
        free(S.open[p]);
    }
}

static sim_trace g_trace;
static uint64_t g_tot[16];

static bool run_seed(uint64_t seed, bool verbose, bool report)
{
    memset(&S, 0, sizeof(S));
    S.seed = seed;
    S.tr = &g_trace;
    sim_trace_reset(&g_trace, verbose);
    pick_knobs(&S.k, seed);
    sim_rng_seed(&S.rng, seed);
    sim_queue_init(&S.q);
    g_ndone = 0;
    g_depth = 0;
    if (verbose)
        print_knobs();
    for (int p = 0; p < 1 + S.k.P; p++) {
        /* preferred leaders spread over the nodes */
        for (int i = 0; i < NN; i++)
            repl_set_add(&S.replicas[p], 1 + (p + i) % NN);
        S.zk[p] = (zpart){.leader = S.replicas[p].id[0], .epoch = 0, .version = 0,
                          .isr = S.replicas[p], .frozen_hw = -1};
    }
    for (int i = 0; i < NN; i++) {
        node *x = &S.n[i];
        x->id = i + 1;
        x->up = true;
        x->fenced_epoch = -1;
        for (int p = 0; p < NPART; p++) {
            repl_init(&x->r[p].rp, x->id, MIN_ISR, LAG_MAX_MS);
            pstate_init(&x->r[p].ps);
            x->r[p].known_version = -1;
            x->r[p].start_epoch = -1;
        }
        schedule(i * 7, EV_NODE_TICK, NULL, x->id, 0, 0);
        schedule(1 + i, EV_NOTIFY, NULL, x->id, 0, 0);
    }
    for (int k = 0; k < S.k.K; k++) {
        client *c = &S.cl[k];
        c->k = k;
        c->ep = client_ep(k);
        snprintf(c->txn_id, sizeof(c->txn_id), "txn-%d", k);
        client_start(c);
        c->backoff_until = 100; /* after the first elections are known */
    }
    schedule(50, EV_CONTROLLER, NULL, 0, 0, 0);
    schedule(READER_MS, EV_READER, NULL, 0, 0, 0);
    for (int64_t t = 200; t < S.k.fault_ms; t += 100)
        for (int i = 0; i < NN; i++) {
            if (chance(S.k.p_crash))
                schedule(t, EV_CRASH, NULL, S.n[i].id, 0, 0);
            if (chance(S.k.p_pause))
                schedule(t, EV_PAUSE, NULL, S.n[i].id,
                         chance(S.k.p_long_pause) ? rnd(SESSION_MS + 100, 3000) : rnd(30, 800),
                         0);
        }
    schedule(S.k.fault_ms, EV_QUIET, NULL, 0, 0, 0);
    sim_event e;
    bool done = false;
    for (uint64_t n = 0; n < MAX_EVENTS && !S.failed && sim_queue_pop(&S.q, &e); n++) {
        S.now = e.at;
        S.events++;
        dispatch(&e);
        check_replicas();
        if (S.quiet && !S.failed && converged(false)) {
            done = true;
            break;
        }
        if (S.now > S.k.fault_ms + QUIET_MAX_MS)
            break;
    }
    if (!S.failed && !done)
        converged(true);
    if (!S.failed)
        check_final();
    bool ok = !S.failed;
    if (!ok && report) {
        printf("FAIL seed=%" PRIu64 ": %s\n", seed, S.why);
        if (!verbose) {
            print_knobs();
            sim_trace_dump(&g_trace, 150);
        }
        printf("replay: sim_repl_txn --seed %" PRIu64 " --verbose\n", seed);
    }
    if (verbose || (!ok && report))
        printf("seed %" PRIu64 ": %s at %" PRId64 " ms, %" PRIu64 " events, %" PRIu64
               " crashes, %" PRIu64 " pauses, %" PRIu64 " elections, %" PRIu64
               " truncations, %" PRIu64 " coordinator loads (%" PRIu64 " in doubt); txns %" PRIu64
               " committed, %" PRIu64 " aborted; %" PRIu64 " batches acknowledged\n",
               seed, ok ? "ok" : "FAILED", S.now, S.events, S.crashes, S.pauses, S.elections,
               S.truncations, S.loads, S.indoubt, S.commits, S.aborts, S.acked);
    uint64_t v[] = {S.events, S.crashes, S.pauses, S.elections, S.truncations, S.loads,
                    S.indoubt, S.commits, S.aborts, S.acked, S.stale_markers, S.status_markers,
                    S.fenced, (uint64_t)S.now, S.tail_cuts};
    for (size_t i = 0; i < BROOK_ARRAY_LEN(v); i++)
        g_tot[i] += v[i];
    run_free();
    return ok;
}

static void print_totals(void)
{
    printf("totals: %" PRIu64 " simulated s, %" PRIu64 " events, %" PRIu64 " crashes, %" PRIu64
           " pauses, %" PRIu64 " elections, %" PRIu64 " truncations, %" PRIu64
           " coordinator loads (%" PRIu64 " in-doubt transactions finished), txns %" PRIu64
           " committed / %" PRIu64 " aborted, %" PRIu64 " batches acknowledged, %" PRIu64
           " stale markers dropped, %" PRIu64 " markers from status checks, %" PRIu64
           " coordinator fencings, %" PRIu64 " tails cut by leaders elected below min.insync\n",
           g_tot[13] / 1000, g_tot[0], g_tot[1], g_tot[2], g_tot[3], g_tot[4], g_tot[5], g_tot[6],
           g_tot[7], g_tot[8], g_tot[9], g_tot[10], g_tot[11], g_tot[12], g_tot[14]);
}

int main(int argc, char **argv)
{
    const sim_flag flags[] = {
        {"--unclean-election", &g_unclean, "the controller elects any live replica"},
        {"--log-ack-at-append", &g_log_ack_at_append,
         "transaction-log records count as written when appended on T's leader, before "
         "T's high watermark passes them"},
        {"--no-coordinator-epochs", &g_no_cepochs,
         "markers and prepares carry no coordinator epoch (a replaced coordinator's apply)"},
        {"--no-marker-seq", &g_no_marker_seq,
         "participants apply stale markers (no transaction-sequence check)"},
        {"--load-uncommitted", &g_load_uncommitted,
         "a new leader of T loads the coordinator from its whole log at once, records above "
         "the high watermark included (today's service.c)"},
        {"--stale-marker-ack-now", &g_stale_ack_now,
         "a participant answers a marker it drops as stale at once, before the first copy "
         "is committed (today's h_inter.c)"},
        {"--no-verify-guard", &g_no_verify_guard,
         "a verified produce is appended even after a marker of its producer was written "
         "while the answer travelled (today's h_produce.c)"},
        {"--stale-hides-cepoch", &g_stale_hides_cepoch,
         "a marker dropped as stale does not record its newer coordinator epoch (today's "
         "h_inter.c)"},
        {"--unload-keeps-work", &g_unload_keeps_work,
         "a coordinator's waits and participant RPCs outlive its unload and feed a later "
         "load (today's service.c and cluster.c)"},
        {"--waits-outlive-leadership", &g_waits_outlive,
         "a deposed leader still answers markers and prepares, and its coordinator takes "
         "local ones as done, once its high watermark (now a follower's) reaches them "
         "(today's service.c and h_inter.c)"},
        {"--marker-seq-in-memory", &g_seq_in_memory,
         "the transaction sequence of applied markers lives only in the leader's memory "
         "(today's h_inter.c)"},
        {"--code-gaps", &g_code_gaps,
         "all of the switches that describe the broker code as it is today (see the README)"},
        {"--lead-before-bump", &g_lead_before_bump,
         "a restarted leader leads its old epoch again until the controller bumps it, when "
         "its recovered log holds no batch of that epoch (today's replica.c)"},
        {"--local-unled", &g_local_unled,
         "the coordinator writes a marker locally to a replica its view names it leader of "
         "before that replica leads (today's remote_hook)"},
    };
    sim_opts o;
    int rc = sim_opts_parse(&o, argc, argv, "sim_repl_txn", flags, BROOK_ARRAY_LEN(flags));
    if (rc != 0)
        return rc;
    if (g_code_gaps)
        g_local_unled = g_load_uncommitted = g_stale_ack_now = g_no_verify_guard =
            g_stale_hides_cepoch = g_unload_keeps_work = g_waits_outlive = g_seq_in_memory =
                g_lead_before_bump = true;
    sim_report_aborts(&g_trace, 150, print_knobs);
    return sim_run_seeds(&o, "sim_repl_txn", run_seed, print_totals);
}
