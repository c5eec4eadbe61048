/*
 * sim_cgroup.c - the deterministic simulator of KIP-848 consumer groups (ctest label "sim").
 *
 * One run = one seed; everything random comes from RNGs seeded by it (the fault mix too,
 * "swarm" style); a simulated millisecond clock; no threads, no I/O. It drives the real
 * coordinator state machine, src/group/cgroup.c (through group.c's group_coord), with:
 *   - one coordinator: cgroup_heartbeat() for every heartbeat that arrives, group_tick()
 *     every TICK_MS; after each, the records it made due are appended to a log in the
 *     order service.c's consumer_records() writes them (the group's 'C' record, the
 *     tombstones of removed members, then changed members' 'M' records), cgroup_clean();
 *     group.consumer.session.timeout.ms 3000, heartbeat interval 500;
 *   - a topic snapshot (sorted by name, fixed 16-byte ids): __consumer_offsets (internal)
 *     and 2-3 topics with random partition counts; topics grow, and new ones appear (some
 *     matched by a member's regex);
 *   - 1-6 clients doing the client side of KIP-848 as librdkafka does: join with epoch 0
 *     and a member id of their own (v1), heartbeat with their epoch every interval; an
 *     answer with an assignment makes the client revoke what it owns outside it (the
 *     application's callback may take a while), then take the new partitions (never while
 *     a heartbeat is in flight, see client_reconcile), and report what it owns in the
 *     next heartbeat (sent at once); FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID drop
 *     every partition and rejoin with epoch 0 and the same member id;
 *     UNRELEASED_INSTANCE_ID retries the join later; a client closing gives its
 *     partitions up and leaves with epoch -1 (a static member, with an instance id, often
 *     with -2, and comes back as a new process: a new member id); subscriptions are topic
 *     lists and/or regexes, sometimes changed; server assignor none, uniform or range.
 * Faults: clients crash (silent; restart later as a new member), pause (shorter and longer
 * than the session), leave; heartbeats and answers are lost or slow (an answer lost after
 * the coordinator acted: the client times out, closes the connection and sends the
 * heartbeat again with every field, its old epoch and its owned set); the coordinator
 * restarts: a brand-new group_coord replays the whole log (cgroup_apply_meta/member) and
 * is down for a while. Then a quiet phase (no faults) must let the group converge.
 *
 * Invariants, after every event:
 *   1. cgroup_check() passes (no partition held twice, sets sorted, epochs in range);
 *   2. no partition is owned client-side by two live clients whose membership the
 *      coordinator still honours (the member id exists and the client's epoch is the
 *      member's epoch or previous epoch); an answer never moves a client's epoch back;
 *   3. in the quiet phase the group converges and stays so for HOLD_MS: every client a
 *      member, every member STABLE at the assignment epoch (= group epoch), holding its
 *      target, owned client-side exactly; every subscribed partition owned by exactly one
 *      client; with the uniform assignor no partition could move to a subscriber of its
 *      topic that has two fewer (one subscription for all: counts differ by at most 1);
 *   4. a coordinator restarted from the log has exactly the epochs, members and each
 *      member's epochs, state, assigned/revoking/target sets the old one had.
 * Hazard: --no-release-wait sets cgroup_hazard_no_release_wait (a partition is handed to
 * its new owner while another member still holds it): (1) or (2) must then fail.
 */
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "group/cgroup.h"
#include "group/group.h"
#include "proto/errors.h"
#include "sim_base.h"

#define MAXK 6            /* clients */
#define NT 6              /* topic names a run may use; index 0 is internal */
#define MAXP 12           /* partitions of a topic, at most */
#define NPART (NT * MAXP) /* partition slots: topic index * MAXP + partition */
#define ID_LEN 24
#define GROUP "g"
#define SESSION_MS 3000
#define HB_MS 500
#define TICK_MS 100
#define POLL_MS 50          /* the client's main loop */
#define REQ_TIMEOUT_MS 1000 /* a heartbeat without an answer is given up */
#define REBALANCE_MS 4000   /* the clients' rebalance timeout (revocation deadline) */
#define FAULT_TICK_MS 100
#define QUIET_MAX_MS 40000 /* the quiet phase must converge within this */
#define HOLD_MS (2 * SESSION_MS)
#define MAX_EVENTS 400000

/* Kafka error codes cgroup.c answers with (proto/errors.h does not name them) */
#define KERR_FENCED_MEMBER_EPOCH 110
#define KERR_UNRELEASED_INSTANCE_ID 111

static bool g_no_release_wait;

static const char *const g_topic_names[NT] = {"__consumer_offsets", "t0", "t1", "t2", "t3",
                                              "x0"};

/* A subscription: topic names and/or a regex (librdkafka sends both, the regexes of a
 * subscription joined into one). */
typedef struct sub {
    const char *topics[4];
    int ntopics;
    const char *regex;
} sub;

static const sub g_subs[] = {
    {{"t0", "t1", "t2", "t3"}, 4, NULL},
    {{NULL}, 0, "t[0-9]+"},
    {{"t0", "t2"}, 2, NULL},
    {{NULL}, 0, ".*"},
    {{"t1"}, 1, "x[0-9]"},
};
#define NSUBS ((int)BROOK_ARRAY_LEN(g_subs))
static uint32_t g_sub_mask[NSUBS]; /* the topics (bit = index) each subscribes to */

/* ---------------- configuration of one run (all derived from the seed) ---------------- */

typedef struct knobs {
    int K;
    int32_t parts[NT];    /* partitions at the start, 0: the topic does not exist yet */
    bool same_sub;        /* every client has subscription 0 or every one 1 */
    int sub0;             /* that subscription */
    double p_static;      /* a client is a static member */
    int assignor_mode;    /* 0 none, 1 uniform, 2 range, 3 mixed */
    double p_drop_req, p_drop_resp, p_long_delay;
    int delay_max_ms;
    double p_crash, p_pause, p_leave, p_resub, p_coord_restart, p_topic; /* per fault tick */
    int down_max_ms, pause_max_ms, coord_down_max_ms;
    double p_slow_revoke; /* a revocation that takes up to revoke_max_ms */
    int revoke_max_ms;
    int fault_ms;         /* length of the fault phase */
} knobs;

/* ---------------- messages ---------------- */

typedef struct req {
    int client;
    uint32_t inc, conn, coord_inc; /* sender's incarnation and connection, coordinator's */
    uint64_t id;
    char member_id[ID_LEN], instance_id[ID_LEN];
    bool has_instance;
    int32_t epoch, rebalance_ms;
    int ntopics; /* -1: unchanged */
    const char *topics[4];
    const char *regex, *assignor;
    int nowned; /* -1: not reported */
    cg_tp owned[NPART];
} req;

typedef struct resp {
    int client;
    uint32_t inc, conn;
    uint64_t id;
    int16_t error;
    int32_t epoch, hb_ms;
    char member_id[ID_LEN];
    bool has_asg;
    bool asg[NPART];
} resp;

/* ---------------- clients ---------------- */

enum cl_state { CL_DOWN = 0, CL_ACTIVE, CL_LEAVING };
static const char *const g_cl_names[] = {"down", "active", "leaving"};

typedef struct client {
    int idx, st;
    uint32_t inc;  /* process incarnation: events of an older one are dropped */
    uint32_t conn; /* connection: bumped when a request is given up */
    int gen;       /* member ids used so far */
    char member_id[ID_LEN], instance_id[ID_LEN];
    bool is_static;
    int sub;              /* index into g_subs */
    const char *assignor; /* NULL: none asked */
    int32_t epoch, leave_epoch;
    bool owned[NPART], target[NPART]; /* what it consumes; the last assignment received */
    bool has_target;
    bool revoking;
    int64_t revoke_done_at;
    bool paused;
    int64_t pause_until;
    bool restart_pending;
    bool inflight;
    uint64_t req_id;
    int64_t sent_at;
    bool req_full;
    int64_t req_owned_ver, req_sub_ver; /* what the request in flight reported, -1: none */
    bool need_full, ack_due, sub_changed;
    int64_t owned_ver, sub_ver;
    int64_t next_hb;
} client;

/* ---------------- the run ---------------- */

typedef struct topic {
    uint8_t id[CG_TOPIC_ID_LEN];
    int32_t nparts; /* 0: does not exist (yet) */
} topic;

/* A record of the log: 'C' (the group) or 'M' (a member); val NULL: a tombstone. */
typedef struct lrec {
    char type;
    char member[ID_LEN];
    uint8_t *val;
    size_t len;
} lrec;

enum ev_kind { EV_POLL = 0, EV_REQ, EV_RESP, EV_TICK, EV_FAULT, EV_RESTART, EV_QUIET };

enum stat {
    ST_HB = 0, ST_LOST, ST_TIMEOUTS, ST_ASSIGNMENTS, ST_FENCED, ST_UNKNOWN, ST_UNRELEASED,
    ST_REVOKES, ST_SLOW_REVOKES, ST_CRASHES, ST_PAUSES, ST_LEAVES, ST_STATIC_LEAVES,
    ST_RESUBS, ST_EXPIRED, ST_RESTARTS, ST_RECORDS, ST_TOPICS, ST_TAKEOVERS, ST_PREV_EPOCH,
    ST_CONVERGE_MS, ST_COUNT
};
static const char *const g_stat_names[ST_COUNT] = {
    "heartbeats", "lost messages", "timeouts", "assignments", "fenced", "unknown member",
    "unreleased instance", "revocations", "slow revocations", "crashes", "pauses",
    "leaves", "static leaves (-2)", "resubscriptions", "members expired",
    "coordinator restarts", "records", "topic changes", "static takeovers",
    "old-epoch heartbeats accepted", "ms to converge"};

static struct {
    uint64_t seed;
    knobs k;
    sim_rng rng;
    sim_queue q;
    sim_trace *trace;
    int64_t now;
    bool failed, quiet;
    char why[512];
    group_config cfg;
    group_coord *co;
    uint32_t coord_inc;
    int64_t coord_down_until;
    lrec *log;
    int nlog, log_cap;
    topic topics[NT];
    cg_topic_info snap[NT];
    int nsnap;
    client clients[MAXK];
    uint64_t next_req, events;
    int64_t quiet_at, conv_at;
    uint64_t stat[ST_COUNT];
} S;

#define TRACE(...) sim_trace_add(S.trace, S.now, __VA_ARGS__)

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

static void schedule(int64_t at, int kind, void *data, int64_t a, int64_t b)
{
    sim_event e = {.at = at, .kind = kind, .data = data, .a = a, .b = b};
    sim_queue_push(&S.q, &e);
}

static int64_t rnd(int64_t lo, int64_t hi) { return sim_rng_range(&S.rng, lo, hi); }
static bool chance(double p) { return sim_rng_chance(&S.rng, p); }

/* ---------------- topics and partition slots ---------------- */

static void topic_id(int t, uint8_t *id)
{
    for (int k = 0; k < CG_TOPIC_ID_LEN; k++)
        id[k] = (uint8_t)(((t + 1) * 73 + k * 29) ^ 0x5c);
}

static cg_tp slot_tp(int s)
{
    cg_tp tp;
    memcpy(tp.topic, S.topics[s / MAXP].id, CG_TOPIC_ID_LEN);
    tp.part = s % MAXP;
    return tp;
}

/* The slot of a partition the coordinator names; -1 (a violation) when it is unknown. */
static int tp_slot(const cg_tp *tp)
{
    for (int t = 0; t < NT; t++)
        if (memcmp(tp->topic, S.topics[t].id, CG_TOPIC_ID_LEN) == 0 && tp->part >= 0 &&
            tp->part < S.topics[t].nparts)
            return t * MAXP + tp->part;
    fail("coordinator names partition %d of a topic that does not have it", tp->part);
    return -1;
}

static bool slot_exists(int s) { return s % MAXP < S.topics[s / MAXP].nparts; }

static int snap_cmp(const void *a, const void *b)
{
    return strcmp(((const cg_topic_info *)a)->name, ((const cg_topic_info *)b)->name);
}

/* The snapshot every heartbeat gets: the existing topics, sorted by name. */
static void snap_build(void)
{
    S.nsnap = 0;
    for (int t = 0; t < NT; t++) {
        if (S.topics[t].nparts == 0)
            continue;
        cg_topic_info *i = &S.snap[S.nsnap++];
        *i = (cg_topic_info){.name = g_topic_names[t], .nparts = S.topics[t].nparts,
                             .internal = t == 0};
        memcpy(i->id, S.topics[t].id, CG_TOPIC_ID_LEN);
    }
    qsort(S.snap, (size_t)S.nsnap, sizeof(S.snap[0]), snap_cmp);
}

/* Client side: the topics (bits) a subscription names; a regex matches whole names and
 * never an internal topic. */
static uint32_t sub_mask_of(const sub *s)
{
    uint32_t m = 0;
    for (int t = 0; t < NT; t++)
        for (int i = 0; i < s->ntopics; i++)
            if (strcmp(s->topics[i], g_topic_names[t]) == 0)
                m |= 1u << t;
    if (!s->regex)
        return m;
    char anchored[64];
    snprintf(anchored, sizeof(anchored), "^(%s)$", s->regex);
    regex_t rx;
    BROOK_ASSERT(regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB) == 0);
    for (int t = 1; t < NT; t++)
        if (regexec(&rx, g_topic_names[t], 0, NULL, 0) == 0)
            m |= 1u << t;
    regfree(&rx);
    return m;
}

/* The existing topics client c subscribes to. */
static uint32_t client_topics(const client *c)
{
    uint32_t m = 0;
    for (int t = 0; t < NT; t++)
        if ((g_sub_mask[c->sub] >> t & 1) && S.topics[t].nparts > 0)
            m |= 1u << t;
    return m;
}

/* "t0:0.2 t1:1" (at most len bytes). */
static const char *fmt_slots(const bool *set, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (int t = 0; t < NT && n < len; t++) {
        bool first = true;
        for (int p = 0; p < MAXP && n < len; p++) {
            if (!set[t * MAXP + p])
                continue;
            int w = first ? snprintf(buf + n, len - n, "%s%s:%d", n ? " " : "",
                                     g_topic_names[t], p)
                          : snprintf(buf + n, len - n, ".%d", p);
            n += w > 0 ? (size_t)w : 0;
            first = false;
        }
    }
    return buf;
}

static void cgset_slots(const cg_set *s, bool *out)
{
    memset(out, 0, sizeof(bool) * NPART);
    for (int i = 0; i < s->n; i++) {
        int k = tp_slot(&s->v[i]);
        if (k >= 0)
            out[k] = true;
    }
}

/* ---------------- the coordinator's log ---------------- */

static void log_push(char type, const char *member, wr *w)
{
    if (S.nlog == S.log_cap)
        S.log = sim_grow(S.log, &S.log_cap, sizeof(*S.log));
    lrec *r = &S.log[S.nlog++];
    r->type = type;
    snprintf(r->member, sizeof(r->member), "%s", member);
    r->val = w ? wr_take(w, &r->len) : NULL;
    if (!w)
        r->len = 0;
    S.stat[ST_RECORDS]++;
}

static const cgroup *the_group(const group_coord *c)
{
    const group *g = group_find(c, GROUP);
    return g ? g->cg : NULL;
}

/* Appends the records the group made due, in service.c's order (consumer_records): the
 * group's record, tombstones of removed members, then changed members; then marks them
 * persisted. The real service answers a heartbeat once they are durable: here at once. */
static void persist(void)
{
    group *g = group_find(S.co, GROUP);
    if (!g || !g->cg)
        return;
    cgroup *cg = g->cg;
    wr w;
    if (cg->dirty) {
        wr_init(&w, 64);
        cgroup_encode_meta(&w, cg);
        log_push('C', "", &w);
    }
    for (int i = 0; i < cg->nremoved; i++)
        log_push('M', cg->removed[i], NULL);
    for (int i = 0; i < cg->nmembers; i++) {
        if (!cg->members[i]->dirty)
            continue;
        wr_init(&w, 128);
        cgroup_encode_member(&w, cg->members[i]);
        log_push('M', cg->members[i]->id, &w);
    }
    cgroup_clean(cg);
}

/* A brand-new coordinator with the whole log replayed in order. */
static group_coord *coord_replay(void)
{
    group_coord *c = calloc(1, sizeof(*c));
    BROOK_ASSERT(c);
    group_coord_init(c, &S.cfg);
    for (int i = 0; i < S.nlog; i++) {
        const lrec *r = &S.log[i];
        rd v;
        rd_init(&v, r->val ? r->val : (const uint8_t *)"", r->len);
        if (r->type == 'C' && r->val)
            cgroup_apply_meta(c, GROUP, &v);
        else if (r->type == 'M')
            cgroup_apply_member(c, GROUP, r->member, r->val ? &v : NULL);
    }
    return c;
}

/* ---------------- invariants ---------------- */

static const cmember *member_of(const cgroup *cg, const char *id)
{
    for (int i = 0; cg && i < cg->nmembers; i++)
        if (strcmp(cg->members[i]->id, id) == 0)
            return cg->members[i];
    return NULL;
}

static bool cgset_eq(const cg_set *a, const cg_set *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, sizeof(cg_tp) * (size_t)a->n) == 0);
}

/* (4): member m of the old coordinator against its replayed copy r. */
static void check_replayed_member(const cmember *m, const cmember *r)
{
    if (!r) {
        fail("(4) member %s (epoch %d, %s) is missing after the replay", m->id, m->epoch,
             cmember_state_name(m->state));
        return;
    }
    if (r->epoch != m->epoch || r->prev_epoch != m->prev_epoch || r->state != m->state ||
        r->left_static != m->left_static)
        fail("(4) member %s: epoch %d/%d %s left_static %d replayed as %d/%d %s %d", m->id,
             m->epoch, m->prev_epoch, cmember_state_name(m->state), m->left_static,
             r->epoch, r->prev_epoch, cmember_state_name(r->state), r->left_static);
    else if (!cgset_eq(&m->assigned, &r->assigned) || !cgset_eq(&m->revoking, &r->revoking) ||
             !cgset_eq(&m->target, &r->target))
        fail("(4) member %s: assigned/revoking/target %d/%d/%d replayed as %d/%d/%d", m->id,
             m->assigned.n, m->revoking.n, m->target.n, r->assigned.n, r->revoking.n,
             r->target.n);
    else if (r->ntopics != m->ntopics || (!r->regex) != (!m->regex))
        fail("(4) member %s: subscription differs after the replay", m->id);
}

/* (4): the replayed coordinator holds what the old one had (all of it was persisted). The
 * topics' hash is not compared: it is a cache the tick may clear in memory only (a regex
 * resolved: the next heartbeat recomputes it). */
static void check_replay(const group_coord *old, const group_coord *fresh)
{
    const cgroup *a = the_group(old), *b = the_group(fresh);
    if (!a)
        return;
    if (!b) {
        fail("(4) the consumer group is missing after the replay");
        return;
    }
    if (a->group_epoch != b->group_epoch || a->assignment_epoch != b->assignment_epoch)
        fail("(4) group epochs %d/%d replayed as %d/%d", a->group_epoch, a->assignment_epoch,
             b->group_epoch, b->assignment_epoch);
    for (int i = 0; i < a->nmembers && !S.failed; i++)
        check_replayed_member(a->members[i], member_of(b, a->members[i]->id));
    for (int i = 0; i < b->nmembers && !S.failed; i++)
        if (!member_of(a, b->members[i]->id))
            fail("(4) member %s appears after the replay", b->members[i]->id);
}

/* Whether the coordinator honours client c's membership: its member exists and c's epoch
 * is the member's epoch or previous epoch. */
static bool honoured(const cgroup *cg, const client *c)
{
    const cmember *m = member_of(cg, c->member_id);
    return m && (c->epoch == m->epoch || c->epoch == m->prev_epoch);
}

/* (1) and (2), after every event. */
static void check_now(void)
{
    const group *g = group_find(S.co, GROUP);
    if (!g || !g->cg)
        return;
    char why[256];
    if (!cgroup_check(g, why)) {
        fail("(1) cgroup_check: %s", why);
        return;
    }
    int owner[NPART];
    for (int s = 0; s < NPART; s++)
        owner[s] = -1;
    for (int i = 0; i < S.k.K && !S.failed; i++) {
        const client *c = &S.clients[i];
        if (c->st == CL_DOWN || !honoured(g->cg, c))
            continue;
        for (int s = 0; s < NPART && !S.failed; s++) {
            if (!c->owned[s])
                continue;
            if (owner[s] >= 0)
                fail("(2) %s:%d owned by c%d (%s e%d) and c%d (%s e%d)",
                     g_topic_names[s / MAXP], s % MAXP, owner[s],
                     S.clients[owner[s]].member_id, S.clients[owner[s]].epoch, i,
                     c->member_id, c->epoch);
            owner[s] = i;
        }
    }
}

/* (3): one client's side of convergence; false with *why set. */
static bool client_settled(const cgroup *cg, const client *c, char *why, size_t len)
{
    char a[96], b[96];
    bool held[NPART];
    const cmember *m = member_of(cg, c->member_id);
    if (c->st != CL_ACTIVE || c->paused || c->revoking || c->sub_changed || c->epoch <= 0 ||
        !m) {
        snprintf(why, len, "c%d (%s) is %s, epoch %d, %s%s%s", c->idx, c->member_id,
                 g_cl_names[c->st], c->epoch, c->paused ? "paused, " : "",
                 c->sub_changed ? "new subscription unsent, " : "",
                 m ? "a member" : "no member");
        return false;
    }
    if (m->state != CM_STABLE || m->epoch != cg->assignment_epoch || c->epoch != m->epoch ||
        m->revoking.n > 0 || !cgset_eq(&m->assigned, &m->target)) {
        snprintf(why, len, "c%d's member %s is %s at epoch %d (client %d, assignment %d)",
                 c->idx, m->id, cmember_state_name(m->state), m->epoch, c->epoch,
                 cg->assignment_epoch);
        return false;
    }
    cgset_slots(&m->assigned, held);
    if (memcmp(held, c->owned, sizeof(held)) != 0) {
        snprintf(why, len, "c%d owns [%s], its member holds [%s]", c->idx,
                 fmt_slots(c->owned, a, sizeof(a)), fmt_slots(held, b, sizeof(b)));
        return false;
    }
    return true;
}

/* (3), the uniform assignor's balance: no partition could move to a subscriber of its
 * topic that has two fewer (with one subscription for all: counts differ by at most 1). */
static bool uniform_balanced(const int *per, char *why, size_t len)
{
    for (int x = 0; x < S.k.K; x++)
        for (int s = 0; s < NPART; s++) {
            if (!S.clients[x].owned[s])
                continue;
            for (int y = 0; y < S.k.K; y++)
                if ((client_topics(&S.clients[y]) >> (s / MAXP) & 1) && per[y] + 1 < per[x]) {
                    snprintf(why, len, "uniform assignment unbalanced: c%d has %d partitions, "
                             "c%d (also subscribed to %s) %d", x, per[x], y,
                             g_topic_names[s / MAXP], per[y]);
                    return false;
                }
        }
    return true;
}

/* (3): every subscribed partition is owned by one client, nothing else is owned, and the
 * uniform assignor balances. */
static bool group_settled(const cgroup *cg, char *why, size_t len)
{
    int count[NPART] = {0}, per[MAXK] = {0};
    uint32_t subs = 0;
    for (int i = 0; i < S.k.K; i++) {
        const client *c = &S.clients[i];
        subs |= client_topics(c);
        for (int s = 0; s < NPART; s++)
            if (c->owned[s]) {
                count[s]++;
                per[i]++;
            }
    }
    for (int s = 0; s < NPART; s++) {
        int want = slot_exists(s) && (subs >> (s / MAXP) & 1) ? 1 : 0;
        if (count[s] != want) {
            snprintf(why, len, "%s:%d is owned by %d clients", g_topic_names[s / MAXP],
                     s % MAXP, count[s]);
            return false;
        }
    }
    return !cg->assignor || strcmp(cg->assignor, "uniform") != 0 ||
           uniform_balanced(per, why, len);
}

static bool converged(char *why, size_t len)
{
    const cgroup *cg = the_group(S.co);
    if (!cg) {
        snprintf(why, len, "no consumer group");
        return false;
    }
    if (cg->group_epoch != cg->assignment_epoch || cg->nmembers != S.k.K) {
        snprintf(why, len, "group epoch %d, assignment epoch %d, %d members for %d clients",
                 cg->group_epoch, cg->assignment_epoch, cg->nmembers, S.k.K);
        return false;
    }
    for (int i = 0; i < S.k.K; i++)
        if (!client_settled(cg, &S.clients[i], why, len))
            return false;
    return group_settled(cg, why, len);
}

/* ---------------- the network ---------------- */

static int64_t net_delay(void)
{
    if (!S.quiet && chance(S.k.p_long_delay))
        return rnd(REQ_TIMEOUT_MS / 2, REQ_TIMEOUT_MS * 3 / 2);
    return rnd(1, S.k.delay_max_ms);
}

/* A heartbeat or answer sent: lost (decided now), else delivered after a delay. */
static void net_send(int kind, void *m, double p_drop, int client)
{
    if (!S.quiet && chance(p_drop)) {
        TRACE("net: %s of c%d lost", kind == EV_REQ ? "heartbeat" : "answer", client);
        S.stat[ST_LOST]++;
        free(m);
        return;
    }
    schedule(S.now + net_delay(), kind, m, client, 0);
}

/* ---------------- clients ---------------- */

static void client_poll_at(client *c, int64_t at) { schedule(at, EV_POLL, NULL, c->idx, c->inc); }

static void owned_changed(client *c)
{
    c->owned_ver++;
    c->ack_due = true;
    c->next_hb = S.now;
}

static void client_drop_all(client *c)
{
    memset(c->owned, 0, sizeof(c->owned));
    memset(c->target, 0, sizeof(c->target));
    c->has_target = false;
    c->revoking = false;
    c->owned_ver++;
}

/* A new process: a new member id, epoch 0 (a static member keeps its instance id). */
static void client_start(client *c)
{
    c->st = CL_ACTIVE;
    c->inc++;
    c->conn++;
    c->gen++;
    snprintf(c->member_id, sizeof(c->member_id), "%c%c-c%d.%d", (char)('a' + rnd(0, 25)),
             (char)('a' + rnd(0, 25)), c->idx, c->gen);
    client_drop_all(c);
    c->epoch = 0;
    c->paused = c->inflight = c->restart_pending = false;
    c->need_full = true;
    c->ack_due = c->sub_changed = false;
    c->next_hb = S.now;
    TRACE("c%d starts as %s%s%s", c->idx, c->member_id, c->is_static ? ", instance " : "",
          c->is_static ? c->instance_id : "");
    client_poll_at(c, S.now);
}

/* The process is gone (crashed, or closed after leaving); it restarts later. */
static void client_stop(client *c, const char *why)
{
    c->st = CL_DOWN;
    c->inc++;
    c->inflight = c->paused = false;
    client_drop_all(c);
    TRACE("c%d (%s) stops: %s", c->idx, c->member_id, why);
    c->restart_pending = true;
    schedule(S.now + rnd(100, S.k.down_max_ms), EV_RESTART, NULL, c->idx, c->inc);
}

static void fill_subscription(client *c, req *q)
{
    const sub *s = &g_subs[c->sub];
    q->ntopics = s->ntopics;
    for (int i = 0; i < s->ntopics; i++)
        q->topics[i] = s->topics[i];
    q->regex = s->regex ? s->regex : ""; /* "": no regex */
    c->req_sub_ver = c->sub_ver;
}

static void fill_owned(client *c, req *q)
{
    q->nowned = 0;
    for (int s = 0; s < NPART; s++)
        if (c->owned[s])
            q->owned[q->nowned++] = slot_tp(s);
    c->req_owned_ver = c->owned_ver;
}

/* One heartbeat: a join (epoch 0) and a retry after a lost answer carry every field; a
 * leave only the epoch (-1, -2); else what changed (subscription, owned partitions). */
static void client_send(client *c)
{
    req *q = calloc(1, sizeof(*q));
    BROOK_ASSERT(q);
    *q = (req){.client = c->idx, .inc = c->inc, .conn = c->conn, .coord_inc = S.coord_inc,
               .id = ++S.next_req, .epoch = c->epoch, .rebalance_ms = -1, .ntopics = -1,
               .nowned = -1};
    snprintf(q->member_id, sizeof(q->member_id), "%s", c->member_id);
    snprintf(q->instance_id, sizeof(q->instance_id), "%s", c->instance_id);
    bool full = c->st == CL_ACTIVE && (c->epoch == 0 || c->need_full);
    c->req_full = full;
    c->req_owned_ver = c->req_sub_ver = -1;
    q->has_instance = c->is_static && (full || c->st == CL_LEAVING);
    if (c->st == CL_LEAVING) {
        q->epoch = c->leave_epoch;
    } else if (full) {
        q->rebalance_ms = REBALANCE_MS;
        q->assignor = c->assignor;
        fill_subscription(c, q);
        fill_owned(c, q);
    } else {
        if (c->sub_changed)
            fill_subscription(c, q);
        if (c->ack_due)
            fill_owned(c, q);
    }
    BROOK_ASSERT(q->epoch != 0 || q->nowned == 0); /* a joining client owns nothing */
    c->inflight = true;
    c->req_id = q->id;
    c->sent_at = S.now;
    S.stat[ST_HB]++;
    char o[96] = "-";
    if (q->nowned >= 0)
        fmt_slots(c->owned, o, sizeof(o));
    TRACE("c%d -> hb#%" PRIu64 " %s e%d%s owned=[%s]", c->idx, q->id, c->member_id, q->epoch,
          full ? " full" : "", o);
    net_send(EV_REQ, q, S.k.p_drop_req, c->idx);
}

static int64_t revoke_delay(void)
{
    if (!S.quiet && chance(S.k.p_slow_revoke)) {
        S.stat[ST_SLOW_REVOKES]++;
        return rnd(500, S.k.revoke_max_ms);
    }
    return rnd(0, 100);
}

static bool owns_outside_target(const client *c)
{
    for (int s = 0; s < NPART; s++)
        if (c->owned[s] && !c->target[s])
            return true;
    return false;
}

/* Revocation done: what the target no longer has is given up. */
static void client_revoke(client *c)
{
    bool gone[NPART] = {false};
    for (int s = 0; s < NPART; s++)
        if (c->owned[s] && !c->target[s])
            c->owned[s] = false, gone[s] = true;
    char b[96];
    TRACE("c%d revoked [%s]", c->idx, fmt_slots(gone, b, sizeof(b)));
    S.stat[ST_REVOKES]++;
    owned_changed(c);
}

/* Moves the client to its last assignment, in librdkafka's order: what the assignment no
 * longer has is revoked first (the application's callback may take a while; heartbeats go
 * on meanwhile), then the new partitions are taken. They are taken only while no heartbeat
 * is in flight: one sent before would tell the coordinator the client does not own a
 * partition it is about to take, and a coordinator that revoked it meanwhile (in an answer
 * the client has not seen) would take that as its release. Each change is reported at once. */
static void client_reconcile(client *c)
{
    if (c->st != CL_ACTIVE || !c->has_target || c->epoch <= 0)
        return;
    if (owns_outside_target(c)) {
        if (!c->revoking) {
            c->revoking = true;
            c->revoke_done_at = S.now + revoke_delay();
        }
        if (S.now < c->revoke_done_at)
            return;
        client_revoke(c);
    }
    c->revoking = false;
    if (c->inflight)
        return;
    bool added = false, got[NPART] = {false};
    for (int s = 0; s < NPART; s++)
        if (c->target[s] && !c->owned[s])
            c->owned[s] = got[s] = added = true;
    if (!added)
        return;
    char b[96];
    TRACE("c%d takes [%s]", c->idx, fmt_slots(got, b, sizeof(b)));
    owned_changed(c);
}

/* FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: the assignment is lost; every partition is
 * dropped at once and the client rejoins with epoch 0 and the same member id. */
static void client_fenced(client *c, int16_t err)
{
    S.stat[err == KERR_FENCED_MEMBER_EPOCH ? ST_FENCED : ST_UNKNOWN]++;
    TRACE("c%d %s: drops everything, rejoins", c->idx,
          err == KERR_FENCED_MEMBER_EPOCH ? "fenced" : "unknown member");
    client_drop_all(c);
    c->epoch = 0;
    c->need_full = true;
    c->ack_due = false;
    c->next_hb = S.now;
}

static void client_on_ok(client *c, const resp *r)
{
    if (strcmp(r->member_id, c->member_id) != 0)
        fail("c%d: answer names member %s, the client is %s", c->idx, r->member_id,
             c->member_id);
    if (r->epoch < c->epoch)
        fail("(2) c%d: an answer moves its epoch back from %d to %d", c->idx, c->epoch,
             r->epoch);
    c->epoch = r->epoch;
    if (c->req_full)
        c->need_full = false;
    if (c->req_owned_ver == c->owned_ver)
        c->ack_due = false;
    if (c->req_sub_ver == c->sub_ver)
        c->sub_changed = false;
    if (r->has_asg) {
        memcpy(c->target, r->asg, sizeof(c->target));
        c->has_target = true;
        S.stat[ST_ASSIGNMENTS]++;
    }
    c->next_hb = S.now + r->hb_ms;
    client_reconcile(c);
}

/* Whether the process runs (a pause that is over ends here). */
static bool client_awake(client *c)
{
    if (c->paused && S.now >= c->pause_until) {
        c->paused = false;
        TRACE("c%d resumes", c->idx);
    }
    return !c->paused;
}

static void client_on_resp(client *c, const resp *r)
{
    if (c->st == CL_DOWN || r->inc != c->inc || r->conn != c->conn || !c->inflight ||
        r->id != c->req_id)
        return; /* the connection it came on is closed */
    if (!client_awake(c)) { /* read when the process runs again */
        resp *copy = malloc(sizeof(*copy));
        BROOK_ASSERT(copy);
        *copy = *r;
        schedule(c->pause_until, EV_RESP, copy, c->idx, 0);
        return;
    }
    char b[96] = "-";
    if (r->has_asg)
        fmt_slots(r->asg, b, sizeof(b));
    TRACE("c%d <- hb#%" PRIu64 " err %d e%d asg=[%s]", c->idx, r->id, r->error, r->epoch, b);
    c->inflight = false;
    if (c->st == CL_LEAVING)
        client_stop(c, "left");
    else if (r->error == KERR_NONE)
        client_on_ok(c, r);
    else if (r->error == KERR_FENCED_MEMBER_EPOCH || r->error == KERR_UNKNOWN_MEMBER_ID)
        client_fenced(c, r->error);
    else if (r->error == KERR_UNRELEASED_INSTANCE_ID) {
        S.stat[ST_UNRELEASED]++;
        c->next_hb = S.now + 2 * HB_MS; /* librdkafka fails; the application retries */
    } else
        fail("c%d: unexpected error %d from the coordinator", c->idx, r->error);
}

/* No answer in time: the connection is closed (what travels on it dies) and the heartbeat
 * is sent again with every field, as librdkafka does after a transport error; the client
 * did not move meanwhile (its old epoch and owned set). A leaving client just closes. */
static void client_timeout(client *c)
{
    S.stat[ST_TIMEOUTS]++;
    c->conn++;
    c->inflight = false;
    TRACE("c%d: hb#%" PRIu64 " timed out", c->idx, c->req_id);
    if (c->st == CL_LEAVING) {
        client_stop(c, "left (no answer)");
        return;
    }
    c->need_full = true;
    c->next_hb = S.now;
}

static void client_poll(client *c)
{
    if (!client_awake(c)) {
        client_poll_at(c, c->pause_until);
        return;
    }
    client_poll_at(c, S.now + POLL_MS);
    if (c->inflight && S.now - c->sent_at >= REQ_TIMEOUT_MS)
        client_timeout(c);
    if (c->st != CL_ACTIVE)
        return;
    client_reconcile(c);
    if (!c->inflight && S.now >= c->next_hb)
        client_send(c);
}

/* close(): the application gives its partitions up, then the leave heartbeat (-1; a
 * static member often -2: it will be back). A client that never joined just goes. */
static void client_leave(client *c)
{
    bool joined = c->epoch > 0;
    client_drop_all(c);
    c->leave_epoch = c->is_static && chance(0.6) ? -2 : -1;
    S.stat[c->leave_epoch == -2 ? ST_STATIC_LEAVES : ST_LEAVES]++;
    TRACE("c%d leaves with %d", c->idx, c->leave_epoch);
    c->st = CL_LEAVING;
    c->conn++; /* an in-flight heartbeat is abandoned */
    c->inflight = false;
    if (!joined) {
        client_stop(c, "closed before joining");
        return;
    }
    client_send(c);
}

/* ---------------- the coordinator ---------------- */

static void args_of(const req *q, cg_hb_args *a)
{
    *a = (cg_hb_args){.group_id = GROUP, .member_id = q->member_id, .member_epoch = q->epoch,
                      .instance_id = q->has_instance ? q->instance_id : NULL,
                      .rebalance_timeout_ms = q->rebalance_ms, .ntopics = q->ntopics,
                      .topics = (const char **)q->topics, .regex = q->regex,
                      .assignor = q->assignor, .nowned = q->nowned, .owned = q->owned,
                      .client_id = "sim", .client_host = "/10.0.0.1", .version = 1};
}

static resp *resp_of(const req *q, const cg_hb_result *r)
{
    resp *p = calloc(1, sizeof(*p));
    BROOK_ASSERT(p);
    *p = (resp){.client = q->client, .inc = q->inc, .conn = q->conn, .id = q->id,
                .error = r->error, .epoch = r->member_epoch, .hb_ms = r->heartbeat_interval_ms};
    snprintf(p->member_id, sizeof(p->member_id), "%s", r->member_id ? r->member_id : "");
    if (r->assignment) {
        p->has_asg = true;
        cgset_slots(r->assignment, p->asg);
    }
    return p;
}

/* Whether q is the join of a static member's new process that takes the place of the
 * member its instance left with -2 (coverage). */
static bool is_takeover(const req *q)
{
    const cgroup *cg = the_group(S.co);
    for (int i = 0; q->epoch == 0 && q->has_instance && cg && i < cg->nmembers; i++)
        if (cg->members[i]->left_static && cg->members[i]->instance_id &&
            strcmp(cg->members[i]->instance_id, q->instance_id) == 0)
            return true;
    return false;
}

static void coord_on_req(req *q)
{
    const client *c = &S.clients[q->client];
    if (q->coord_inc != S.coord_inc || S.now < S.coord_down_until || q->inc != c->inc ||
        q->conn != c->conn) {
        TRACE("coord: hb#%" PRIu64 " of c%d dies with its connection", q->id, q->client);
        return;
    }
    cg_hb_args a;
    args_of(q, &a);
    cg_hb_result r;
    const cmember *m = member_of(the_group(S.co), q->member_id);
    int32_t epoch_before = m ? m->epoch : -1;
    S.stat[ST_TAKEOVERS] += is_takeover(q);
    cgroup_heartbeat(S.co, &a, S.snap, S.nsnap, S.now, &r);
    /* coverage: the answer that moved the member on was lost, its old epoch passes */
    S.stat[ST_PREV_EPOCH] += q->epoch > 0 && q->epoch < epoch_before && r.error == KERR_NONE;
    resp *p = resp_of(q, &r);
    const cgroup *cg = the_group(S.co);
    m = member_of(cg, q->member_id);
    TRACE("coord: hb#%" PRIu64 " -> err %d e%d%s; group %d/%d, member %s", q->id, r.error,
          r.member_epoch, r.assignment ? " +asg" : "", cg ? cg->group_epoch : -1,
          cg ? cg->assignment_epoch : -1, m ? cmember_state_name(m->state) : "-");
    persist();
    net_send(EV_RESP, p, S.k.p_drop_resp, q->client);
}

static void coord_tick(void)
{
    schedule(S.now + TICK_MS, EV_TICK, NULL, 0, 0);
    if (S.now < S.coord_down_until)
        return;
    group_tick(S.co, S.now);
    group_coord_clear_actions(S.co);
    const group *g = group_find(S.co, GROUP);
    for (int i = 0; g && g->cg && i < g->cg->nremoved; i++) {
        TRACE("coord: member %s expired", g->cg->removed[i]);
        S.stat[ST_EXPIRED]++;
    }
    persist();
}

/* The coordinator restarts: a brand-new group_coord replays the log, and is down (drops
 * heartbeats, no ticks) for a while. Connections to it break. */
static void coord_restart(void)
{
    group_coord *fresh = coord_replay();
    check_replay(S.co, fresh);
    group_coord_free(S.co);
    free(S.co);
    S.co = fresh;
    S.coord_inc++;
    S.coord_down_until = S.now + rnd(0, S.k.coord_down_max_ms);
    S.stat[ST_RESTARTS]++;
    TRACE("coord restarts: %d records replayed, down until %" PRId64, S.nlog,
          S.coord_down_until);
}

/* ---------------- faults ---------------- */

static client *random_client(int st)
{
    int i = (int)rnd(0, S.k.K - 1);
    client *c = &S.clients[i];
    return c->st == st && !c->paused ? c : NULL;
}

/* A topic grows, or a topic that did not exist is created. */
static void topic_change(void)
{
    int t = (int)rnd(1, NT - 1);
    topic *tp = &S.topics[t];
    if (tp->nparts >= MAXP)
        return;
    int32_t was = tp->nparts;
    tp->nparts = (int32_t)(was ? rnd(was + 1, MAXP) : rnd(1, 6));
    TRACE("topic %s %s: %d partitions", g_topic_names[t], was ? "grows" : "created",
          tp->nparts);
    S.stat[ST_TOPICS]++;
    snap_build();
}

static void client_pause(client *c)
{
    c->paused = true;
    c->pause_until = S.now + rnd(200, S.k.pause_max_ms);
    S.stat[ST_PAUSES]++;
    TRACE("c%d pauses until %" PRId64, c->idx, c->pause_until);
}

static void client_resubscribe(client *c)
{
    c->sub = (int)rnd(0, NSUBS - 1);
    c->sub_ver++;
    c->sub_changed = true;
    c->next_hb = S.now;
    S.stat[ST_RESUBS]++;
    TRACE("c%d subscribes to %s%s", c->idx, g_subs[c->sub].ntopics ? "topics " : "",
          g_subs[c->sub].regex ? g_subs[c->sub].regex : "");
}

static void fault_tick(void)
{
    client *c;
    if (S.quiet)
        return;
    schedule(S.now + FAULT_TICK_MS, EV_FAULT, NULL, 0, 0);
    if (chance(S.k.p_crash) && (c = random_client(CL_ACTIVE))) {
        S.stat[ST_CRASHES]++;
        client_stop(c, "crash");
    }
    if (chance(S.k.p_pause) && (c = random_client(CL_ACTIVE)))
        client_pause(c);
    if (chance(S.k.p_leave) && (c = random_client(CL_ACTIVE)))
        client_leave(c);
    if (chance(S.k.p_resub) && (c = random_client(CL_ACTIVE)))
        client_resubscribe(c);
    if (chance(S.k.p_coord_restart) && S.now >= S.coord_down_until)
        coord_restart();
    if (chance(S.k.p_topic))
        topic_change();
}

/* ---------------- the run ---------------- */

static void pick_knobs(knobs *k, uint64_t seed)
{
    sim_rng r;
    sim_rng_seed(&r, seed ^ 0xc6c6ull);
    static const double drops[] = {0, 0.02, 0.1, 0.3};
    static const int delays[] = {2, 20, 100};
    static const double longs[] = {0, 0, 0.05};
    static const double crashes[] = {0, 0.005, 0.02};
    static const double pauses[] = {0, 0.005, 0.02};
    static const int pause_max[] = {1000, 8000};
    static const double leaves[] = {0, 0.005, 0.02};
    static const double restarts[] = {0, 0.005, 0.03};
    static const double topics[] = {0, 0.003, 0.01};
    static const int downs[] = {1000, 6000};
    static const double statics[] = {0, 0.5, 1};
#define PICK(arr) (arr)[sim_rng_range(&r, 0, (int64_t)BROOK_ARRAY_LEN(arr) - 1)]
    k->K = (int)sim_rng_range(&r, 1, MAXK);
    memset(k->parts, 0, sizeof(k->parts));
    k->parts[0] = 3;
    for (int t = 1; t <= 3; t++)
        k->parts[t] = t < 3 || sim_rng_chance(&r, 0.5) ? (int32_t)sim_rng_range(&r, 1, 8) : 0;
    k->same_sub = sim_rng_chance(&r, 0.6);
    k->sub0 = (int)sim_rng_range(&r, 0, 1);
    k->p_static = PICK(statics);
    k->assignor_mode = (int)sim_rng_range(&r, 0, 3);
    k->p_drop_req = PICK(drops);
    k->p_drop_resp = PICK(drops);
    k->delay_max_ms = PICK(delays);
    k->p_long_delay = PICK(longs);
    k->p_crash = PICK(crashes);
    k->p_pause = PICK(pauses);
    k->pause_max_ms = PICK(pause_max);
    k->p_leave = PICK(leaves);
    k->p_resub = sim_rng_chance(&r, 0.2) ? 0.01 : 0;
    k->p_coord_restart = PICK(restarts);
    k->coord_down_max_ms = (int)sim_rng_range(&r, 0, 1500);
    k->p_topic = PICK(topics);
    k->down_max_ms = PICK(downs);
    k->p_slow_revoke = sim_rng_chance(&r, 0.3) ? 0.2 : 0;
    k->revoke_max_ms = sim_rng_chance(&r, 0.5) ? 2000 : 6000;
    k->fault_ms = (int)sim_rng_range(&r, 3000, 20000);
#undef PICK
}

static const char *assignor_pick(void)
{
    static const char *const names[] = {NULL, "uniform", "range"};
    int mode = S.k.assignor_mode;
    return names[mode < 3 ? mode : (int)rnd(0, 2)];
}

static void clients_init(void)
{
    for (int i = 0; i < S.k.K; i++) {
        client *c = &S.clients[i];
        c->idx = i;
        c->is_static = chance(S.k.p_static);
        if (c->is_static)
            snprintf(c->instance_id, sizeof(c->instance_id), "inst-%d", i);
        c->sub = S.k.same_sub ? S.k.sub0 : (int)rnd(0, NSUBS - 1);
        c->assignor = assignor_pick();
        c->restart_pending = true;
        schedule(rnd(0, 500), EV_RESTART, NULL, i, c->inc);
    }
}

static void dispatch(const sim_event *e)
{
    client *c = e->kind == EV_POLL || e->kind == EV_RESTART || e->kind == EV_RESP
                    ? &S.clients[e->a]
                    : NULL;
    switch (e->kind) {
    case EV_POLL:
        if (c->st != CL_DOWN && (uint32_t)e->b == c->inc)
            client_poll(c);
        break;
    case EV_REQ:
        coord_on_req(e->data);
        break;
    case EV_RESP:
        client_on_resp(c, e->data);
        break;
    case EV_TICK:
        coord_tick();
        break;
    case EV_FAULT:
        fault_tick();
        break;
    case EV_RESTART:
        if (c->st == CL_DOWN && c->restart_pending && (uint32_t)e->b == c->inc)
            client_start(c);
        break;
    case EV_QUIET:
        S.quiet = true;
        S.quiet_at = S.now;
        TRACE("quiet phase: no more faults");
        break;
    }
    free(e->data);
}

static void print_knobs(void)
{
    const knobs *k = &S.k;
    printf("seed %" PRIu64 ": K=%d parts=%d/%d/%d sub=%s%d static=%.1f assignor=%d "
           "drop=%.2f/%.2f delay<=%d long=%.2f crash=%.3f pause=%.3f<=%d leave=%.3f "
           "resub=%.2f restart=%.3f down<=%d topic=%.3f slow_revoke=%.1f<=%d faults=%dms\n",
           S.seed, k->K, k->parts[1], k->parts[2], k->parts[3], k->same_sub ? "same:" : "mixed:",
           k->sub0, k->p_static, k->assignor_mode, k->p_drop_req, k->p_drop_resp,
           k->delay_max_ms, k->p_long_delay, k->p_crash, k->p_pause, k->pause_max_ms,
           k->p_leave, k->p_resub, k->p_coord_restart, k->down_max_ms, k->p_topic,
           k->p_slow_revoke, k->revoke_max_ms, k->fault_ms);
}

static void run_init(uint64_t seed, sim_trace *tr, bool verbose)
{
    memset(&S, 0, sizeof(S));
    S.seed = seed;
    S.trace = tr;
    sim_trace_reset(tr, verbose);
    pick_knobs(&S.k, seed);
    sim_rng_seed(&S.rng, seed);
    sim_queue_init(&S.q);
    S.cfg = (group_config){.min_session_timeout_ms = 6000, .max_session_timeout_ms = 1800000,
                           .cg_session_timeout_ms = SESSION_MS,
                           .cg_heartbeat_interval_ms = HB_MS};
    S.co = calloc(1, sizeof(*S.co));
    BROOK_ASSERT(S.co);
    group_coord_init(S.co, &S.cfg);
    for (int t = 0; t < NT; t++) {
        topic_id(t, S.topics[t].id);
        S.topics[t].nparts = S.k.parts[t];
    }
    snap_build();
    if (verbose)
        print_knobs();
    clients_init();
    schedule(TICK_MS, EV_TICK, NULL, 0, 0);
    schedule(FAULT_TICK_MS, EV_FAULT, NULL, 0, 0);
    schedule(S.k.fault_ms, EV_QUIET, NULL, 0, 0);
}

static void run_free(void)
{
    sim_event e;
    while (sim_queue_pop(&S.q, &e))
        free(e.data);
    sim_queue_free(&S.q);
    group_coord_free(S.co);
    free(S.co);
    for (int i = 0; i < S.nlog; i++)
        free(S.log[i].val);
    free(S.log);
}

/* The quiet phase: true once the group stayed converged for HOLD_MS (or failed). What
 * happened before the quiet phase may still unsettle a converged group once (a session
 * that lost its heartbeats expires, a regex resolved at the tick bumps the epoch): the
 * hold then starts again, within QUIET_MAX_MS. */
static bool quiet_step(void)
{
    char why[256];
    bool ok = converged(why, sizeof(why));
    if (ok && !S.conv_at) {
        S.conv_at = S.now;
        TRACE("converged");
    } else if (!ok && S.conv_at) {
        TRACE("unsettled again: %s", why);
        S.conv_at = 0;
    }
    if (!ok && S.now > S.quiet_at + QUIET_MAX_MS)
        fail("(3) no convergence %d ms into the quiet phase: %s", QUIET_MAX_MS, why);
    if (S.failed || !S.conv_at || S.now < S.conv_at + HOLD_MS)
        return S.failed;
    S.stat[ST_CONVERGE_MS] += (uint64_t)(S.conv_at - S.quiet_at);
    return true;
}

static sim_trace g_trace;
static uint64_t g_totals[ST_COUNT], g_sim_ms, g_events;

static bool run_seed(uint64_t seed, bool verbose, bool report)
{
    run_init(seed, &g_trace, verbose);
    bool done = false;
    sim_event e;
    while (!S.failed && !done && S.events < MAX_EVENTS && sim_queue_pop(&S.q, &e)) {
        BROOK_ASSERT(e.at >= S.now);
        S.now = e.at;
        S.events++;
        dispatch(&e);
        check_now();
        if (S.quiet && !S.failed)
            done = quiet_step();
    }
    if (!S.failed && !done)
        fail("(3) the run did not converge within %d events", MAX_EVENTS);
    bool ok = !S.failed;
    if (!ok && report) {
        printf("FAIL seed=%" PRIu64 ": %s\n", seed, S.why);
        if (!verbose) {
            print_knobs();
            sim_trace_dump(&g_trace, 120);
        }
        printf("replay: sim_cgroup --seed %" PRIu64 "%s --verbose\n", seed,
               g_no_release_wait ? " --no-release-wait" : "");
    }
    if (verbose || (!ok && report))
        printf("seed %" PRIu64 ": %s at %" PRId64 " ms, %" PRIu64 " events, %" PRIu64
               " heartbeats, %" PRIu64 " coordinator restarts, %d records\n",
               seed, ok ? "ok" : "FAILED", S.now, S.events, S.stat[ST_HB],
               S.stat[ST_RESTARTS], S.nlog);
    for (int i = 0; i < ST_COUNT; i++)
        g_totals[i] += S.stat[i];
    g_sim_ms += (uint64_t)S.now;
    g_events += S.events;
    run_free();
    return ok;
}

static void print_totals(void)
{
    printf("totals: %" PRIu64 " simulated s, %" PRIu64 " events;", g_sim_ms / 1000, g_events);
    for (int i = 0; i < ST_COUNT; i++)
        printf(" %s %" PRIu64 "%s", g_stat_names[i], g_totals[i], i + 1 < ST_COUNT ? ";" : "\n");
}

static void describe(void) { print_knobs(); }

int main(int argc, char **argv)
{
    const sim_flag flags[] = {
        {"--no-release-wait", &g_no_release_wait,
         "the coordinator hands a partition over while another member still holds it"},
    };
    sim_opts o;
    int rc = sim_opts_parse(&o, argc, argv, "sim_cgroup", flags, BROOK_ARRAY_LEN(flags));
    if (rc != 0)
        return rc;
    cgroup_hazard_no_release_wait = g_no_release_wait;
    for (int i = 0; i < NSUBS; i++)
        g_sub_mask[i] = sub_mask_of(&g_subs[i]);
    sim_report_aborts(&g_trace, 120, describe);
    return sim_run_seeds(&o, "sim_cgroup", run_seed, print_totals);
}
