/* test_group_cgroup.c - the KIP-848 consumer group coordinator (group/cgroup.h) driven
 * directly with hand-made topic snapshots: joins, reconciliation without two owners of a
 * partition, the range and uniform assignors, epoch fencing, leaves (static members too),
 * session and revocation timeouts, regex subscriptions, topic metadata changes, the offset
 * commit/fetch checks, the record round trip, and classic <-> consumer conversions. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "group/cgroup.h"
#include "group/group.h"
#include "proto/errors.h"
#include "testutil.h"

#define E_FENCED_MEMBER_EPOCH 110
#define E_UNRELEASED_INSTANCE_ID 111
#define E_UNSUPPORTED_ASSIGNOR 112
#define E_STALE_MEMBER_EPOCH 113
#define E_INVALID_REGULAR_EXPRESSION 128

#define GID "g"
#define SESSION_MS 45000
#define HB_INTERVAL_MS 5000
#define REBALANCE_MS 10000
#define MAX_OWNED 64

static group_config cfg(void)
{
    group_config c = {.min_session_timeout_ms = 1000, .max_session_timeout_ms = 60000,
                      .initial_rebalance_delay_ms = 0, .cg_session_timeout_ms = SESSION_MS,
                      .cg_heartbeat_interval_ms = HB_INTERVAL_MS};
    return c;
}

/* ---------------- topics and partitions ---------------- */

/* A topic of a snapshot; its id carries tag in its first and last byte. */
static cg_topic_info topic(const char *name, uint8_t tag, int32_t nparts, bool internal)
{
    cg_topic_info t = {.name = name, .nparts = nparts, .internal = internal};
    t.id[0] = tag;
    t.id[CG_TOPIC_ID_LEN - 1] = tag;
    return t;
}

static cg_tp tp(uint8_t tag, int32_t part)
{
    cg_tp p = {.part = part};
    p.topic[0] = tag;
    p.topic[CG_TOPIC_ID_LEN - 1] = tag;
    return p;
}

/* Writes partitions [from, to) of the topic tagged tag to out; returns how many. */
static int tps(cg_tp *out, uint8_t tag, int32_t from, int32_t to)
{
    int n = 0;
    for (int32_t p = from; p < to; p++)
        out[n++] = tp(tag, p);
    return n;
}

/* "tag:part tag:part ..." for failure messages. */
static const char *fmt_tps(const cg_tp *v, int n, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && off + 16 < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%u:%d", i ? " " : "",
                                (unsigned)v[i].topic[0], (int)v[i].part);
    return buf;
}

/* Whether s is exactly the partitions want[0..n) (want without duplicates, any order). */
static bool check_set_(const cg_set *s, const cg_tp *want, int n, const char *expr,
                       const char *file, int line)
{
    char got[512], exp[512];
    if (!s)
        return tu_fail_(file, line, "%s: not sent, want [%s]", expr, fmt_tps(want, n, exp, 512));
    bool ok = s->n == n;
    for (int i = 0; ok && i < n; i++)
        ok = cg_set_has(s, &want[i]);
    if (ok)
        return true;
    return tu_fail_(file, line, "%s: [%s], want [%s]", expr, fmt_tps(s->v, s->n, got, 512),
                    fmt_tps(want, n, exp, 512));
}
#define CHECK_SET(s, want, n) check_set_((s), (want), (n), #s, __FILE__, __LINE__)

static bool sets_disjoint(const cg_set *a, const cg_set *b)
{
    for (int i = 0; i < a->n; i++)
        if (cg_set_has(b, &a->v[i]))
            return false;
    return true;
}

/* cgroup_check as a check: sorted sets, no partition held twice, no epoch ahead. */
static bool check_group_(const group_coord *c, const char *file, int line)
{
    const group *g = group_find(c, GID);
    if (!g || !g->cg)
        return tu_fail_(file, line, "group %s is not a consumer group", GID);
    char why[256] = "";
    return cgroup_check(g, why) ? true : tu_fail_(file, line, "cgroup_check: %s", why);
}
#define CHECK_GROUP(c) check_group_((c), __FILE__, __LINE__)

static group *cgroup_of(const group_coord *c)
{
    group *g = group_find(c, GID);
    return g && g->cg ? g : NULL;
}

static cmember *member_of(const group_coord *c, const char *id)
{
    group *g = cgroup_of(c);
    for (int i = 0; g && i < g->cg->nmembers; i++)
        if (strcmp(g->cg->members[i]->id, id) == 0)
            return g->cg->members[i];
    return NULL;
}

static const char *member_state(const group_coord *c, const char *id)
{
    const cmember *m = member_of(c, id);
    return m ? cmember_state_name(m->state) : "(no member)";
}

/* ---------------- requests ---------------- */

/* A version 1 join (epoch 0) subscribing to n names (n -1: names not sent). */
static cg_hb_args cg_join(const char *member, const char **names, int n)
{
    cg_hb_args a = {.group_id = GID, .member_id = member, .member_epoch = 0,
                    .rebalance_timeout_ms = REBALANCE_MS, .ntopics = n, .topics = names,
                    .nowned = 0, .client_id = "cli", .client_host = "/10.0.0.1",
                    .version = 1};
    return a;
}

/* A plain heartbeat at epoch reporting owned (nowned -1: not reported). */
static cg_hb_args cg_beat(const char *member, int32_t epoch, const cg_tp *owned, int nowned)
{
    cg_hb_args a = {.group_id = GID, .member_id = member, .member_epoch = epoch,
                    .rebalance_timeout_ms = -1, .ntopics = -1, .nowned = nowned,
                    .owned = owned, .version = 1};
    return a;
}

static cg_hb_result send_hb(group_coord *c, const cg_hb_args *a, const cg_topic_info *ts, int nts,
                            int64_t now)
{
    cg_hb_result r;
    cgroup_heartbeat(c, a, ts, nts, now, &r);
    return r;
}

/* ---------------- a well-behaved consumer ---------------- */

/* Owns what it was last given and gives revoked partitions up at once. */
typedef struct client {
    const char *id;
    int32_t epoch;
    cg_tp owned[MAX_OWNED];
    int nowned;
} client;

static void client_adopt(client *cl, const cg_hb_result *r)
{
    if (r->error)
        return;
    cl->epoch = r->member_epoch;
    if (r->assignment && r->assignment->n <= MAX_OWNED) {
        cl->nowned = r->assignment->n;
        if (cl->nowned > 0) /* an empty set may have no array at all */
            memcpy(cl->owned, r->assignment->v, sizeof(cg_tp) * (size_t)r->assignment->n);
    }
}

static cg_hb_result client_join(group_coord *c, client *cl, const char *id, const char **names,
                                int n, const char *assignor, const cg_topic_info *ts, int nts,
                                int64_t now)
{
    memset(cl, 0, sizeof(*cl));
    cl->id = id;
    cg_hb_args a = cg_join(id, names, n);
    a.assignor = assignor;
    cg_hb_result r = send_hb(c, &a, ts, nts, now);
    client_adopt(cl, &r);
    return r;
}

static cg_hb_result client_beat(group_coord *c, client *cl, const cg_topic_info *ts, int nts,
                                int64_t now)
{
    cg_hb_args a = cg_beat(cl->id, cl->epoch, cl->owned, cl->nowned);
    cg_hb_result r = send_hb(c, &a, ts, nts, now);
    client_adopt(cl, &r);
    return r;
}

/* Heartbeats every client in rounds until the group is Stable (checking the group after
 * every heartbeat); false when it is not Stable after 10 rounds. */
static bool settle(group_coord *c, client *cls, int n, const cg_topic_info *ts, int nts,
                   int64_t now)
{
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < n; i++) {
            cg_hb_result r = client_beat(c, &cls[i], ts, nts, now);
            if (!CHECK_EQ_INT(r.error, 0) || !CHECK_GROUP(c))
                return false;
        }
        if (strcmp(cgroup_state_name(cgroup_of(c)), "Stable") == 0)
            return true;
    }
    return CHECK_EQ_STR(cgroup_state_name(cgroup_of(c)), "Stable");
}

/* The scene most tests start from: topic "t" (tag 1, 4 partitions), m1 joined and Stable
 * with all of it at epoch 1. */
static const char *g_t_names[] = {"t"};

static group *one_stable(group_coord *c, client *m1, const cg_topic_info *ts, int64_t now)
{
    group_config gc = cfg();
    group_coord_init(c, &gc);
    cg_hb_result r = client_join(c, m1, "m1", g_t_names, 1, NULL, ts, 1, now);
    if (!CHECK_EQ_INT(r.error, 0) || !CHECK_EQ_INT(r.member_epoch, 1))
        return NULL;
    client_beat(c, m1, ts, 1, now);
    return cgroup_of(c);
}

/* one_stable plus m2, settled: m1 and m2 both at epoch 2 with two partitions each. */
static group *two_stable(group_coord *c, client *cls, const cg_topic_info *ts, int64_t now)
{
    group *g = one_stable(c, &cls[0], ts, now);
    if (!g)
        return NULL;
    cg_hb_result r = client_join(c, &cls[1], "m2", g_t_names, 1, NULL, ts, 1, now);
    if (!CHECK_EQ_INT(r.error, 0) || !settle(c, cls, 2, ts, 1, now))
        return NULL;
    return g;
}

/* ---------------- 1, 2: joins and reconciliation ---------------- */

static void test_first_member_join(void)
{
    group_coord c;
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    cg_tp all[4];
    int nall = tps(all, 1, 0, 4);
    cg_hb_args a = cg_join("m1", g_t_names, 1);
    cg_hb_result r = send_hb(&c, &a, ts, 1, 100);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_STR(r.member_id, "m1");
    CHECK_EQ_INT(r.member_epoch, 1);
    CHECK_EQ_INT(r.heartbeat_interval_ms, HB_INTERVAL_MS);
    CHECK_SET(r.assignment, all, nall);
    group *g = cgroup_of(&c);
    if (!CHECK(g != NULL)) {
        group_coord_free(&c);
        return;
    }
    CHECK_EQ_INT(g->cg->group_epoch, 1);
    CHECK_EQ_INT(g->cg->assignment_epoch, 1);
    CHECK_EQ_STR(g->protocol_type, "consumer");
    CHECK_EQ_STR(g->cg->assignor, "uniform");
    /* nobody else holds anything: the member is at the target epoch at once */
    CHECK_EQ_STR(member_state(&c, "m1"), "STABLE");
    /* the acknowledgement: same epoch, nothing new to send */
    a = cg_beat("m1", 1, all, nall);
    r = send_hb(&c, &a, ts, 1, 200);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 1);
    CHECK(r.assignment == NULL);
    CHECK_EQ_STR(cgroup_state_name(g), "Stable");
    CHECK_EQ_INT(g->cg->group_epoch, 1);
    const cmember *m = member_of(&c, "m1");
    if (CHECK(m != NULL) && CHECK_EQ_INT(m->ntopics, 1)) {
        CHECK_EQ_STR(m->topics[0], "t");
        CHECK_EQ_STR(m->client_id, "cli");
        CHECK_EQ_INT(m->rebalance_timeout_ms, REBALANCE_MS);
        CHECK_SET(&m->target, all, nall);
    }
    CHECK(cgroup_subscribed_to(g, "t"));
    CHECK(!cgroup_subscribed_to(g, "u"));
    CHECK_GROUP(&c);
    group_coord_free(&c);
}

/* KIP-848's hand-over: m1 revokes first (epoch kept), m2 waits for what m1 still holds. */
static void test_second_member_reconciles(void)
{
    group_coord c;
    client m1;
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = one_stable(&c, &m1, ts, 100);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    cg_tp all[4], low[2], high[2];
    tps(all, 1, 0, 4);
    tps(low, 1, 0, 2);
    tps(high, 1, 2, 4);
    cg_hb_args a = cg_join("m2", g_t_names, 1);
    cg_hb_result r = send_hb(&c, &a, ts, 1, 110);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 2);
    CHECK_SET(r.assignment, NULL, 0); /* everything is still m1's */
    CHECK_EQ_INT(g->cg->group_epoch, 2);
    CHECK_EQ_INT(g->cg->assignment_epoch, 2);
    CHECK_EQ_STR(member_state(&c, "m2"), "UNRELEASED_PARTITIONS");
    CHECK_EQ_STR(cgroup_state_name(g), "Reconciling");
    CHECK_GROUP(&c);
    /* m1's next heartbeat: its half, its epoch unchanged, the rest to revoke */
    a = cg_beat("m1", 1, all, 4);
    r = send_hb(&c, &a, ts, 1, 120);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 1);
    CHECK_SET(r.assignment, low, 2);
    CHECK_EQ_STR(member_state(&c, "m1"), "UNREVOKED_PARTITIONS");
    if (CHECK(member_of(&c, "m1") != NULL))
        CHECK_SET(&member_of(&c, "m1")->revoking, high, 2);
    CHECK_GROUP(&c);
    /* m2 gets nothing while m1 has not revoked */
    a = cg_beat("m2", 2, NULL, 0);
    r = send_hb(&c, &a, ts, 1, 130);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 2);
    CHECK(r.assignment == NULL);
    CHECK_EQ_STR(member_state(&c, "m2"), "UNRELEASED_PARTITIONS");
    CHECK_GROUP(&c);
    /* m1 still reports the revoked partitions: it stays where it is */
    a = cg_beat("m1", 1, all, 4);
    r = send_hb(&c, &a, ts, 1, 140);
    CHECK_EQ_INT(r.member_epoch, 1);
    CHECK_EQ_STR(member_state(&c, "m1"), "UNREVOKED_PARTITIONS");
    CHECK_GROUP(&c);
    /* m1 has revoked: the target epoch */
    a = cg_beat("m1", 1, low, 2);
    r = send_hb(&c, &a, ts, 1, 150);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 2);
    CHECK_SET(r.assignment, low, 2);
    CHECK_EQ_STR(member_state(&c, "m1"), "STABLE");
    CHECK_GROUP(&c);
    /* the released partitions go to m2 */
    a = cg_beat("m2", 2, NULL, 0);
    r = send_hb(&c, &a, ts, 1, 160);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 2);
    CHECK_SET(r.assignment, high, 2);
    CHECK_EQ_STR(member_state(&c, "m2"), "STABLE");
    CHECK_EQ_STR(cgroup_state_name(g), "Stable");
    CHECK_GROUP(&c);
    const cmember *x = member_of(&c, "m1"), *y = member_of(&c, "m2");
    if (CHECK(x && y))
        CHECK(sets_disjoint(&x->assigned, &y->assigned));
    group_coord_free(&c);
}

/* ---------------- 3: assignors ---------------- */

/* Two range members over the topics ts, settled; NULL after failed checks. */
static group *range_pair(group_coord *c, client *cls, const char **names, int nnames,
                         const cg_topic_info *ts, int nts)
{
    group_config gc = cfg();
    group_coord_init(c, &gc);
    cg_hb_result r = client_join(c, &cls[0], "m1", names, nnames, "range", ts, nts, 0);
    if (!CHECK_EQ_INT(r.error, 0))
        return NULL;
    r = client_join(c, &cls[1], "m2", names, nnames, "range", ts, nts, 0);
    if (!CHECK_EQ_INT(r.error, 0) || !settle(c, cls, 2, ts, nts, 0))
        return NULL;
    return cgroup_of(c);
}

static void test_range_assignor(void)
{
    group_coord c;
    client cls[2];
    cg_topic_info ts[] = {topic("r", 2, 5, false)};
    const char *names[] = {"r"};
    group *g = range_pair(&c, cls, names, 1, ts, 1);
    if (g) {
        cg_tp w1[3], w2[2];
        tps(w1, 2, 0, 3); /* the first member id gets the extra partition */
        tps(w2, 2, 3, 5);
        CHECK_EQ_STR(g->cg->assignor, "range");
        CHECK_SET(&member_of(&c, "m1")->assigned, w1, 3);
        CHECK_SET(&member_of(&c, "m2")->assigned, w2, 2);
        CHECK_SET(&member_of(&c, "m1")->target, w1, 3);
        CHECK_SET(&member_of(&c, "m2")->target, w2, 2);
    }
    group_coord_free(&c);
    /* per topic: a (3 partitions) and b (4) each split on their own */
    cg_topic_info ts2[] = {topic("a", 3, 3, false), topic("b", 4, 4, false)};
    const char *names2[] = {"a", "b"};
    g = range_pair(&c, cls, names2, 2, ts2, 2);
    if (g) {
        cg_tp w1[4], w2[3];
        int n1 = tps(w1, 3, 0, 2), n2 = tps(w2, 3, 2, 3);
        n1 += tps(w1 + n1, 4, 0, 2);
        n2 += tps(w2 + n2, 4, 2, 4);
        CHECK_SET(&member_of(&c, "m1")->assigned, w1, n1);
        CHECK_SET(&member_of(&c, "m2")->assigned, w2, n2);
    }
    group_coord_free(&c);
}

/* Sizes of the members' assignments: every partition of ts exactly once, and the spread
 * (largest - smallest) in *spread. */
static bool uniform_cover(const group_coord *c, const cg_topic_info *ts, int nts, int *spread)
{
    const group *g = cgroup_of(c);
    int lo = 1 << 30, hi = 0;
    for (int i = 0; i < g->cg->nmembers; i++) {
        int n = g->cg->members[i]->assigned.n;
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    *spread = hi - lo;
    for (int t = 0; t < nts; t++)
        for (int32_t p = 0; p < ts[t].nparts; p++) {
            cg_tp x = tp(ts[t].id[0], p);
            int holders = 0;
            for (int i = 0; i < g->cg->nmembers; i++)
                holders += cg_set_has(&g->cg->members[i]->assigned, &x);
            if (holders != 1)
                return false;
        }
    return true;
}

static void test_uniform_assignor(void)
{
    group_config gc = cfg();
    group_coord c;
    group_coord_init(&c, &gc);
    cg_topic_info ts[] = {topic("a", 3, 3, false), topic("b", 4, 4, false)};
    const char *names[] = {"a", "b"};
    client cls[3];
    int spread = -1;
    CHECK_EQ_INT(client_join(&c, &cls[0], "u1", names, 2, NULL, ts, 2, 0).error, 0);
    CHECK_EQ_INT(client_join(&c, &cls[1], "u2", names, 2, "uniform", ts, 2, 0).error, 0);
    if (settle(&c, cls, 2, ts, 2, 0)) {
        CHECK(uniform_cover(&c, ts, 2, &spread));
        CHECK_EQ_INT(spread, 1); /* 4 and 3 */
        CHECK_EQ_INT(member_of(&c, "u1")->assigned.n + member_of(&c, "u2")->assigned.n, 7);
        CHECK_EQ_STR(cgroup_of(&c)->cg->assignor, "uniform");
    }
    CHECK_EQ_INT(client_join(&c, &cls[2], "u3", names, 2, NULL, ts, 2, 0).error, 0);
    if (settle(&c, cls, 3, ts, 2, 0)) {
        CHECK(uniform_cover(&c, ts, 2, &spread));
        CHECK_EQ_INT(spread, 1); /* 3, 2 and 2 */
        CHECK_EQ_INT(cgroup_of(&c)->cg->group_epoch, 3);
    }
    group_coord_free(&c);
}

static void test_unknown_assignor(void)
{
    group_coord c;
    client m1;
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    cg_hb_args a = cg_join("m1", g_t_names, 1);
    a.assignor = "sticky";
    cg_hb_result r = send_hb(&c, &a, ts, 1, 0);
    CHECK_EQ_INT(r.error, E_UNSUPPORTED_ASSIGNOR);
    CHECK(group_find(&c, GID) == NULL); /* refused before the group is made */
    group_coord_free(&c);
    group *g = one_stable(&c, &m1, ts, 0);
    if (g) {
        a = cg_beat("m1", 1, m1.owned, m1.nowned);
        a.assignor = "cooperative-sticky";
        r = send_hb(&c, &a, ts, 1, 1);
        CHECK_EQ_INT(r.error, E_UNSUPPORTED_ASSIGNOR);
        CHECK(member_of(&c, "m1") && member_of(&c, "m1")->assignor == NULL);
        CHECK_EQ_INT(g->cg->group_epoch, 1);
    }
    group_coord_free(&c);
}

/* ---------------- 4: epochs and invalid requests ---------------- */

static void test_epoch_fencing(void)
{
    group_coord c;
    client cls[2];
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = two_stable(&c, cls, ts, 0);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    const cmember *m1 = member_of(&c, "m1");
    if (!CHECK(m1 && m1->epoch == 2 && m1->prev_epoch == 1)) {
        group_coord_free(&c);
        return;
    }
    cg_tp one[1] = {tp(1, 0)}, foreign[2] = {tp(1, 0), tp(1, 2)};
    cg_hb_args a = cg_beat("m1", 3, cls[0].owned, cls[0].nowned);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 1).error, E_FENCED_MEMBER_EPOCH);
    /* the previous epoch, holding no more than was given: the answer was lost */
    a = cg_beat("m1", 1, one, 1);
    cg_hb_result r = send_hb(&c, &a, ts, 1, 2);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 2);
    a = cg_beat("m1", 1, NULL, 0);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 3).error, KERR_NONE);
    /* ... but not with a partition it was not given, nor without saying what it holds */
    a = cg_beat("m1", 1, foreign, 2);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 4).error, E_FENCED_MEMBER_EPOCH);
    a = cg_beat("m1", 1, NULL, -1);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 5).error, E_FENCED_MEMBER_EPOCH);
    /* m2 went 0 -> 2: epoch 1 was never its */
    a = cg_beat("m2", 1, NULL, 0);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 6).error, E_FENCED_MEMBER_EPOCH);
    a = cg_beat("ghost", 2, NULL, 0);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 7).error, KERR_UNKNOWN_MEMBER_ID);
    a = cg_beat("m1", 2, NULL, 0);
    a.group_id = "no-such-group";
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 8).error, KERR_GROUP_ID_NOT_FOUND);
    /* nothing moved */
    CHECK_EQ_INT(member_of(&c, "m1")->epoch, 2);
    CHECK_EQ_INT(g->cg->group_epoch, 2);
    CHECK_EQ_INT(g->cg->nmembers, 2);
    CHECK_EQ_STR(cgroup_state_name(g), "Stable");
    group_coord_free(&c);
}

/* The error of a heartbeat sent to c (whose group has m1 at epoch 1). */
static int16_t hb_error(group_coord *c, const cg_hb_args *a)
{
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    return send_hb(c, a, ts, 1, 50).error;
}

static void test_invalid_requests(void)
{
    group_coord c;
    client m1;
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = one_stable(&c, &m1, ts, 0);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    cg_tp owned[1] = {tp(1, 0)};
    cg_hb_args a = cg_join("m9", g_t_names, 1);
    a.group_id = "";
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a.group_id = NULL;
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_join("m9", g_t_names, 1);
    a.rebalance_timeout_ms = -1;
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_join("m9", NULL, -1); /* neither names nor a regex */
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_join("m9", g_t_names, 1);
    a.owned = owned;
    a.nowned = 1;
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_join("", g_t_names, 1); /* v1: the client chooses its id */
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_join(NULL, g_t_names, 1);
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_join("m9", g_t_names, 1);
    a.instance_id = "";
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a.instance_id = NULL;
    a.rack_id = "";
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_beat("m1", -3, NULL, -1);
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_beat("m1", -2, NULL, -1); /* a static leave without an instance id */
    CHECK_EQ_INT(hb_error(&c, &a), KERR_INVALID_REQUEST);
    a = cg_join("m9", NULL, -1);
    a.regex = "t[";
    CHECK_EQ_INT(hb_error(&c, &a), E_INVALID_REGULAR_EXPRESSION);
    a = cg_beat("m1", 1, m1.owned, m1.nowned);
    a.regex = "(t";
    CHECK_EQ_INT(hb_error(&c, &a), E_INVALID_REGULAR_EXPRESSION);
    /* none of them changed the group */
    CHECK_EQ_INT(g->cg->nmembers, 1);
    CHECK_EQ_INT(g->cg->group_epoch, 1);
    CHECK(member_of(&c, "m1") && member_of(&c, "m1")->regex == NULL);
    /* v0: a joining member without an id gets the one the driver made */
    a = cg_join("", g_t_names, 1);
    a.version = 0;
    a.new_member_id = "fresh-id";
    cg_hb_result r = send_hb(&c, &a, ts, 1, 60);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_STR(r.member_id, "fresh-id");
    CHECK(member_of(&c, "fresh-id") != NULL);
    group_coord_free(&c);
}

/* ---------------- 5: leaving ---------------- */

static void test_leave_dynamic(void)
{
    group_coord c;
    client cls[2];
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = two_stable(&c, cls, ts, 0);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    cg_hb_args a = cg_beat("m2", -1, NULL, -1);
    cg_hb_result r = send_hb(&c, &a, ts, 1, 10);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, -1);
    CHECK_EQ_STR(r.member_id, "m2");
    CHECK_EQ_INT(g->cg->nmembers, 1);
    CHECK_EQ_INT(g->cg->group_epoch, 3);
    CHECK(member_of(&c, "m2") == NULL);
    CHECK(g->cg->nremoved == 1 && strcmp(g->cg->removed[0], "m2") == 0);
    /* its partitions are free: m1 gets them all at once */
    cg_tp all[4];
    tps(all, 1, 0, 4);
    r = client_beat(&c, &cls[0], ts, 1, 20);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 3);
    CHECK_SET(r.assignment, all, 4);
    CHECK_EQ_STR(cgroup_state_name(g), "Stable");
    /* the last one leaving empties the group */
    a = cg_beat("m1", -1, NULL, -1);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 30).error, KERR_NONE);
    CHECK_EQ_STR(cgroup_state_name(g), "Empty");
    CHECK_EQ_INT(g->cg->group_epoch, 4);
    group_coord_free(&c);
}

/* s1 (static, instance host-1) and d1 (dynamic) settled on t; NULL after failed checks. */
static group *static_pair(group_coord *c, client *cls, const cg_topic_info *ts)
{
    group_config gc = cfg();
    group_coord_init(c, &gc);
    memset(&cls[0], 0, sizeof(cls[0]));
    cls[0].id = "s1";
    cg_hb_args a = cg_join("s1", g_t_names, 1);
    a.instance_id = "host-1";
    cg_hb_result r = send_hb(c, &a, ts, 1, 0);
    client_adopt(&cls[0], &r);
    if (!CHECK_EQ_INT(r.error, 0))
        return NULL;
    r = client_join(c, &cls[1], "d1", g_t_names, 1, NULL, ts, 1, 0);
    if (!CHECK_EQ_INT(r.error, 0) || !settle(c, cls, 2, ts, 1, 0))
        return NULL;
    return cgroup_of(c);
}

static void test_leave_static(void)
{
    group_coord c;
    client cls[2];
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = static_pair(&c, cls, ts);
    const cmember *s = g ? member_of(&c, "s1") : NULL;
    if (!g || !CHECK(s != NULL)) {
        group_coord_free(&c);
        return;
    }
    int32_t epoch = s->epoch, gepoch = g->cg->group_epoch;
    cg_tp held[MAX_OWNED];
    int nheld = s->assigned.n;
    memcpy(held, s->assigned.v, sizeof(cg_tp) * (size_t)nheld);
    CHECK_EQ_INT(nheld, 2);
    /* -2: gone for now, its assignment kept for it */
    cg_hb_args a = cg_beat("s1", -2, NULL, -1);
    a.instance_id = "host-1";
    cg_hb_result r = send_hb(&c, &a, ts, 1, 10);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, -2);
    CHECK_EQ_INT(g->cg->group_epoch, gepoch);
    CHECK_EQ_INT(g->cg->nmembers, 2);
    s = member_of(&c, "s1");
    if (CHECK(s != NULL)) {
        CHECK(s->left_static);
        CHECK_SET(&s->assigned, held, nheld);
    }
    r = client_beat(&c, &cls[1], ts, 1, 11); /* d1 does not get them */
    CHECK(r.assignment == NULL);
    CHECK_EQ_INT(member_of(&c, "d1")->assigned.n, 2);
    /* its next incarnation takes its place: epoch and partitions */
    a = cg_join("s1b", g_t_names, 1);
    a.instance_id = "host-1";
    r = send_hb(&c, &a, ts, 1, 20);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_STR(r.member_id, "s1b");
    CHECK_EQ_INT(r.member_epoch, epoch);
    CHECK_SET(r.assignment, held, nheld);
    CHECK_EQ_INT(g->cg->group_epoch, gepoch);
    CHECK_EQ_INT(g->cg->nmembers, 2);
    CHECK(member_of(&c, "s1") == NULL);
    CHECK(member_of(&c, "s1b") && !member_of(&c, "s1b")->left_static);
    CHECK_EQ_STR(cgroup_state_name(g), "Stable");
    /* a second live member with that instance id */
    a = cg_join("s1c", g_t_names, 1);
    a.instance_id = "host-1";
    r = send_hb(&c, &a, ts, 1, 30);
    CHECK_EQ_INT(r.error, E_UNRELEASED_INSTANCE_ID);
    CHECK(member_of(&c, "s1c") == NULL);
    CHECK_EQ_INT(member_of(&c, "s1b")->epoch, epoch);
    CHECK_EQ_INT(g->cg->group_epoch, gepoch);
    CHECK_GROUP(&c);
    group_coord_free(&c);
}

/* Kafka answers the replaced incarnation of a static member FENCED_INSTANCE_ID when it
 * names its instance (throwIfInstanceIdIsFenced); cgroup.c looks the member id up only. */
static void test_static_old_incarnation_fenced(void)
{
    group_coord c;
    client cls[2];
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = static_pair(&c, cls, ts);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    cg_hb_args a = cg_beat("s1", -2, NULL, -1);
    a.instance_id = "host-1";
    send_hb(&c, &a, ts, 1, 10);
    a = cg_join("s1b", g_t_names, 1);
    a.instance_id = "host-1";
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 20).error, KERR_NONE);
    a = cg_beat("s1", cls[0].epoch, cls[0].owned, cls[0].nowned);
    a.instance_id = "host-1";
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 30).error, KERR_FENCED_INSTANCE_ID);
    group_coord_free(&c);
}

/* ---------------- 6: timeouts ---------------- */

static void test_session_expiry(void)
{
    group_coord c;
    client cls[2];
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = two_stable(&c, cls, ts, 100);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    client_beat(&c, &cls[0], ts, 1, 30000); /* m1 alive; m2's last heartbeat was at 100 */
    cgroup_tick(&c, g, 100 + SESSION_MS - 1);
    CHECK_EQ_INT(g->cg->nmembers, 2);
    CHECK_EQ_INT(g->cg->group_epoch, 2);
    cgroup_tick(&c, g, 100 + SESSION_MS);
    CHECK_EQ_INT(g->cg->nmembers, 1);
    CHECK(member_of(&c, "m2") == NULL);
    CHECK_EQ_INT(g->cg->group_epoch, 3);
    CHECK(g->cg->nremoved == 1 && strcmp(g->cg->removed[0], "m2") == 0);
    cg_tp all[4];
    tps(all, 1, 0, 4);
    cg_hb_result r = client_beat(&c, &cls[0], ts, 1, 50000);
    CHECK_EQ_INT(r.member_epoch, 3);
    CHECK_SET(r.assignment, all, 4);
    /* group_tick drives it too */
    group_tick(&c, 50000 + SESSION_MS);
    CHECK_EQ_STR(cgroup_state_name(g), "Empty");
    CHECK_EQ_INT(g->cg->group_epoch, 4);
    group_coord_free(&c);
}

static void test_revocation_timeout(void)
{
    group_coord c;
    client m1;
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = one_stable(&c, &m1, ts, 0);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    cg_tp all[4];
    tps(all, 1, 0, 4);
    client m2;
    client_join(&c, &m2, "m2", g_t_names, 1, NULL, ts, 1, 1000);
    /* m1 is told to revoke at 1000 but keeps heartbeating with everything */
    for (int64_t t = 1000; t <= 1000 + REBALANCE_MS - 1000; t += 3000) {
        cg_hb_args a = cg_beat("m1", 1, all, 4);
        cg_hb_result r = send_hb(&c, &a, ts, 1, t);
        CHECK_EQ_INT(r.error, KERR_NONE);
        CHECK_EQ_INT(r.member_epoch, 1);
        client_beat(&c, &m2, ts, 1, t);
    }
    CHECK_EQ_STR(member_state(&c, "m1"), "UNREVOKED_PARTITIONS");
    cgroup_tick(&c, g, 1000 + REBALANCE_MS - 1);
    CHECK_EQ_INT(g->cg->nmembers, 2);
    cgroup_tick(&c, g, 1000 + REBALANCE_MS);
    CHECK_EQ_INT(g->cg->nmembers, 1);
    CHECK(member_of(&c, "m1") == NULL);
    CHECK_EQ_INT(g->cg->group_epoch, 3);
    cg_hb_result r = client_beat(&c, &m2, ts, 1, 1000 + REBALANCE_MS + 1);
    CHECK_EQ_INT(r.member_epoch, 3);
    CHECK_SET(r.assignment, all, 4);
    CHECK_EQ_STR(member_state(&c, "m2"), "STABLE");
    CHECK_GROUP(&c);
    group_coord_free(&c);
}

/* ---------------- 7, 8: subscriptions and topic metadata ---------------- */

/* Snapshots for the regex tests, sorted by name: "at" matches t.* only as a substring,
 * t_int is internal; ts2 adds y (not matched), ts3 adds t2 (matched). */
static const cg_topic_info *regex_snapshot(int which, int *n)
{
    static cg_topic_info ts[3][6];
    static const char *const names[6] = {"at", "t1", "t2", "t_int", "x", "y"};
    static const uint8_t tags[6] = {5, 6, 9, 7, 8, 12};
    static const int32_t parts[6] = {2, 3, 2, 2, 1, 1};
    *n = 0;
    for (int i = 0; i < 6; i++) {
        if ((i == 2 && which < 3) || (i == 5 && which < 2))
            continue;
        ts[which - 1][(*n)++] = topic(names[i], tags[i], parts[i], i == 3);
    }
    return ts[which - 1];
}

/* A regex member joins at 0 (answered with nothing: the regex counts from the next tick),
 * the tick at 50 resolves it; NULL after failed checks. */
static group *regex_member(group_coord *c, client *m1)
{
    group_config gc = cfg();
    group_coord_init(c, &gc);
    int n1;
    const cg_topic_info *ts1 = regex_snapshot(1, &n1);
    memset(m1, 0, sizeof(*m1));
    m1->id = "m1";
    cg_hb_args a = cg_join("m1", NULL, -1);
    a.regex = "t.*";
    cg_hb_result r = send_hb(c, &a, ts1, n1, 0);
    client_adopt(m1, &r);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 1);
    CHECK_SET(r.assignment, NULL, 0);
    group *g = cgroup_of(c);
    if (!CHECK(g != NULL) || !CHECK_EQ_INT(g->cg->group_epoch, 1))
        return NULL;
    CHECK_EQ_STR(member_of(c, "m1")->regex, "t.*");
    CHECK_EQ_INT(member_of(c, "m1")->ntopics, 0);
    cgroup_tick(c, g, 50);
    /* resolved: the next heartbeat finds the subscribed topics changed and bumps once */
    CHECK_EQ_INT(g->cg->group_epoch, 1);
    return g;
}

static void test_regex_subscription(void)
{
    group_coord c;
    client m1;
    int n1, n2, n3;
    const cg_topic_info *ts1 = regex_snapshot(1, &n1), *ts2 = regex_snapshot(2, &n2),
                        *ts3 = regex_snapshot(3, &n3);
    group *g = regex_member(&c, &m1);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    /* resolved: t1 only (not "at", not the internal t_int, not x) */
    cg_tp want[5];
    int n = tps(want, 6, 0, 3);
    cg_hb_result r = client_beat(&c, &m1, ts1, n1, 60);
    int32_t e = g->cg->group_epoch;
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, e);
    CHECK_SET(r.assignment, want, n);
    CHECK(cgroup_subscribed_to(g, "t1"));
    CHECK(!cgroup_subscribed_to(g, "at"));
    CHECK(!cgroup_subscribed_to(g, "xt1"));
    /* a topic the regex does not match changes nothing */
    r = client_beat(&c, &m1, ts2, n2, 70);
    CHECK_EQ_INT(r.member_epoch, e);
    CHECK(r.assignment == NULL);
    CHECK_EQ_INT(g->cg->group_epoch, e);
    cgroup_tick(&c, g, 80); /* nothing pending: no new epoch */
    CHECK_EQ_INT(g->cg->group_epoch, e);
    /* t2 is created: one new group epoch, and it is assigned */
    r = client_beat(&c, &m1, ts3, n3, 90);
    n += tps(want + n, 9, 0, 2);
    CHECK_EQ_INT(g->cg->group_epoch, e + 1);
    CHECK_EQ_INT(r.member_epoch, e + 1);
    CHECK_SET(r.assignment, want, n);
    CHECK_GROUP(&c);
    group_coord_free(&c);
}

/* Resolving a new regex is one group epoch bump (the tick's): the heartbeat after it must
 * not bump again because the subscribed topics' metadata hash, last computed while the
 * regex was pending, now differs. */
static void test_regex_resolution_one_bump(void)
{
    group_coord c;
    client m1;
    int n1;
    const cg_topic_info *ts1 = regex_snapshot(1, &n1);
    group *g = regex_member(&c, &m1);
    if (g) {
        cg_hb_result r = client_beat(&c, &m1, ts1, n1, 60);
        CHECK_EQ_INT(g->cg->group_epoch, 2);
        CHECK_EQ_INT(r.member_epoch, 2);
    }
    group_coord_free(&c);
}

static void test_topic_metadata_changes(void)
{
    group_coord c;
    client m1;
    cg_topic_info ts[] = {topic("t", 10, 2, false)};
    group *g = one_stable(&c, &m1, ts, 0);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    cg_tp old[3], fresh[3];
    tps(old, 10, 0, 3);
    tps(fresh, 11, 0, 3);
    /* t grows to 3 partitions */
    cg_topic_info grown[] = {topic("t", 10, 3, false)};
    cg_hb_result r = client_beat(&c, &m1, grown, 1, 10);
    CHECK_EQ_INT(g->cg->group_epoch, 2);
    CHECK_EQ_INT(r.member_epoch, 2);
    CHECK_SET(r.assignment, old, 3);
    /* t is deleted and created again under a new id */
    cg_topic_info recreated[] = {topic("t", 11, 3, false)};
    cg_hb_args a = cg_beat("m1", 2, old, 3);
    r = send_hb(&c, &a, recreated, 1, 20);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(g->cg->group_epoch, 3);
    CHECK_EQ_INT(r.member_epoch, 2);
    CHECK_SET(r.assignment, NULL, 0);
    CHECK_EQ_STR(member_state(&c, "m1"), "UNREVOKED_PARTITIONS");
    if (CHECK(member_of(&c, "m1") != NULL))
        CHECK_SET(&member_of(&c, "m1")->revoking, old, 3);
    a = cg_beat("m1", 2, NULL, 0);
    r = send_hb(&c, &a, recreated, 1, 30);
    CHECK_EQ_INT(r.member_epoch, 3);
    CHECK_SET(r.assignment, fresh, 3);
    CHECK_EQ_STR(member_state(&c, "m1"), "STABLE");
    CHECK_GROUP(&c);
    group_coord_free(&c);
}

/* ---------------- 9: offset commit and fetch checks ---------------- */

static void test_commit_and_fetch_checks(void)
{
    group_coord c;
    client cls[2];
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = two_stable(&c, cls, ts, 0);
    if (!g || !CHECK_EQ_INT(member_of(&c, "m1")->epoch, 2)) {
        group_coord_free(&c);
        return;
    }
    CHECK_EQ_INT(cgroup_commit_check(g, "m1", 2, false, 9), KERR_NONE);
    CHECK_EQ_INT(cgroup_commit_check(g, "m1", 1, false, 9), E_STALE_MEMBER_EPOCH);
    CHECK_EQ_INT(cgroup_commit_check(g, "m1", 3, false, 9), E_FENCED_MEMBER_EPOCH);
    CHECK_EQ_INT(cgroup_commit_check(g, "zz", 2, false, 9), KERR_UNKNOWN_MEMBER_ID);
    CHECK_EQ_INT(cgroup_commit_check(g, "m1", 2, false, 8), KERR_UNSUPPORTED_VERSION);
    CHECK_EQ_INT(cgroup_commit_check(g, "m1", 2, true, 3), KERR_NONE); /* TxnOffsetCommit */
    CHECK_EQ_INT(cgroup_commit_check(g, "m1", 1, true, 3), E_STALE_MEMBER_EPOCH);
    CHECK_EQ_INT(cgroup_commit_check(g, "", -1, false, 9), KERR_UNKNOWN_MEMBER_ID);
    CHECK_EQ_INT(cgroup_commit_check(g, NULL, -1, false, 9), KERR_UNKNOWN_MEMBER_ID);
    CHECK_EQ_INT(cgroup_fetch_check(g, "m1", 2), KERR_NONE);
    CHECK_EQ_INT(cgroup_fetch_check(g, "m1", 1), E_STALE_MEMBER_EPOCH);
    CHECK_EQ_INT(cgroup_fetch_check(g, "m1", 3), E_STALE_MEMBER_EPOCH); /* as Kafka */
    CHECK_EQ_INT(cgroup_fetch_check(g, "zz", 2), KERR_UNKNOWN_MEMBER_ID);
    CHECK_EQ_INT(cgroup_fetch_check(g, NULL, -1), KERR_NONE);
    CHECK_EQ_INT(cgroup_fetch_check(g, "", -1), KERR_NONE);
    /* once empty, anonymous commits pass (any version), named ones do not */
    for (int i = 0; i < 2; i++) {
        cg_hb_args a = cg_beat(cls[i].id, -1, NULL, -1);
        CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 10).error, KERR_NONE);
    }
    CHECK_EQ_INT(g->cg->nmembers, 0);
    CHECK_EQ_INT(cgroup_commit_check(g, NULL, -1, false, 9), KERR_NONE);
    CHECK_EQ_INT(cgroup_commit_check(g, "", -1, false, 2), KERR_NONE);
    CHECK_EQ_INT(cgroup_commit_check(g, "m1", 2, false, 9), KERR_UNKNOWN_MEMBER_ID);
    CHECK_EQ_INT(cgroup_fetch_check(g, "m1", 2), KERR_UNKNOWN_MEMBER_ID);
    group_coord_free(&c);
}

/* ---------------- 10: records ---------------- */

static void check_str_list(char **a, int na, char **b, int nb, const char *what,
                           const char *id)
{
    if (!CHECK_EQ_INT(na, nb))
        return;
    for (int i = 0; i < na; i++)
        if (!CHECK_EQ_STR(a[i], b[i]))
            printf("  (%s of member %s, index %d)\n", what, id, i);
}

/* Every persisted field of member a equals b's. */
static void compare_member(const cmember *a, const cmember *b)
{
    CHECK_EQ_STR(a->id, b->id);
    CHECK_EQ_INT(a->epoch, b->epoch);
    CHECK_EQ_INT(a->prev_epoch, b->prev_epoch);
    CHECK_EQ_STR(cmember_state_name(a->state), cmember_state_name(b->state));
    CHECK_EQ_INT(a->rebalance_timeout_ms, b->rebalance_timeout_ms);
    CHECK_EQ_INT(a->left_static, b->left_static);
    CHECK_EQ_STR(a->instance_id, b->instance_id);
    CHECK_EQ_STR(a->rack_id, b->rack_id);
    CHECK_EQ_STR(a->client_id, b->client_id);
    CHECK_EQ_STR(a->client_host, b->client_host);
    CHECK_EQ_STR(a->regex, b->regex);
    CHECK_EQ_STR(a->assignor, b->assignor);
    check_str_list(a->topics, a->ntopics, b->topics, b->ntopics, "topics", a->id);
    CHECK_SET(&b->assigned, a->assigned.v, a->assigned.n);
    CHECK_SET(&b->revoking, a->revoking.v, a->revoking.n);
    CHECK_SET(&b->target, a->target.v, a->target.n);
}

static void compare_groups(const group *a, const group *b)
{
    if (!CHECK(a && a->cg && b && b->cg))
        return;
    CHECK_EQ_INT(a->cg->group_epoch, b->cg->group_epoch);
    CHECK_EQ_INT(a->cg->assignment_epoch, b->cg->assignment_epoch);
    CHECK_EQ_U64(a->cg->meta_hash, b->cg->meta_hash);
    CHECK_EQ_STR(a->cg->assignor, b->cg->assignor);
    CHECK_EQ_STR(cgroup_state_name(a), cgroup_state_name(b));
    if (!CHECK_EQ_INT(a->cg->nmembers, b->cg->nmembers))
        return;
    for (int i = 0; i < a->cg->nmembers; i++) {
        const cmember *m = a->cg->members[i], *o = NULL;
        for (int k = 0; k < b->cg->nmembers; k++)
            if (strcmp(b->cg->members[k]->id, m->id) == 0)
                o = b->cg->members[k];
        if (CHECK(o != NULL))
            compare_member(m, o);
        else
            printf("  (member %s missing)\n", m->id);
    }
}

/* One record as the driver stores it: the group's (member NULL) or a member's; a member
 * record with val NULL is a tombstone. */
typedef struct prec {
    char *member;
    uint8_t *val;
    size_t len;
} prec;

typedef struct plog {
    prec v[128];
    int n;
} plog;

static void plog_add(plog *l, const char *member, wr *w)
{
    if (l->n == 128)
        return;
    prec *p = &l->v[l->n++];
    p->member = member ? strdup(member) : NULL;
    p->val = w ? wr_take(w, &p->len) : NULL;
}

static void plog_free(plog *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].member);
        free(l->v[i].val);
    }
    l->n = 0;
}

/* Stores what g made due in service.c's order (the group record, changed members, then
 * tombstones of removed ones) and marks it persisted. */
static void persist(plog *l, group *g)
{
    cgroup *cg = g->cg;
    wr w;
    if (cg->dirty) {
        wr_init(&w, 64);
        cgroup_encode_meta(&w, cg);
        plog_add(l, NULL, &w);
    }
    for (int i = 0; i < cg->nmembers; i++)
        if (cg->members[i]->dirty) {
            wr_init(&w, 256);
            cgroup_encode_member(&w, cg->members[i]);
            plog_add(l, cg->members[i]->id, &w);
        }
    for (int i = 0; i < cg->nremoved; i++)
        plog_add(l, cg->removed[i], NULL);
    cgroup_clean(cg);
}

static void replay(const plog *l, group_coord *c)
{
    for (int i = 0; i < l->n; i++) {
        const prec *p = &l->v[i];
        rd r;
        rd_init(&r, p->val, p->len);
        if (!p->member)
            cgroup_apply_meta(c, GID, &r);
        else
            cgroup_apply_member(c, GID, p->member, p->val ? &r : NULL);
    }
}

/* Encodes member m of c; the bytes are the caller's (free). */
static uint8_t *encode_member(const cmember *m, size_t *len)
{
    wr w;
    wr_init(&w, 256);
    cgroup_encode_member(&w, m);
    return wr_take(&w, len);
}

static void apply_bytes(group_coord *c, const char *member, const uint8_t *p, size_t len)
{
    rd r;
    rd_init(&r, p, len);
    if (member)
        cgroup_apply_member(c, GID, member, &r);
    else
        cgroup_apply_meta(c, GID, &r);
}

/* Encodes the meta and every member of src's group into a fresh dst. */
static void copy_by_records(const group_coord *src, group_coord *dst)
{
    const group *g = cgroup_of(src);
    wr w;
    wr_init(&w, 64);
    cgroup_encode_meta(&w, g->cg);
    size_t len;
    uint8_t *p = wr_take(&w, &len);
    apply_bytes(dst, NULL, p, len);
    free(p);
    for (int i = 0; i < g->cg->nmembers; i++) {
        p = encode_member(g->cg->members[i], &len);
        apply_bytes(dst, g->cg->members[i]->id, p, len);
        free(p);
    }
}

/* m1 (static, rack, names) and m2 (regex, assignor) caught mid-reconciliation at group
 * epoch 3 (m2's join, then the tick resolving its regex): m1 at epoch 1 must revoke, m2
 * waits for what m1 still holds. Every heartbeat's records go to l. */
static group *mid_reconciliation(group_coord *c, plog *l, const cg_topic_info *ts)
{
    group_config gc = cfg();
    group_coord_init(c, &gc);
    cg_hb_args a = cg_join("m1", g_t_names, 1);
    a.instance_id = "inst-1";
    a.rack_id = "rack-a";
    cg_hb_result r = send_hb(c, &a, ts, 1, 0);
    if (!CHECK_EQ_INT(r.error, 0))
        return NULL;
    persist(l, cgroup_of(c));
    cg_tp all[4];
    tps(all, 1, 0, 4);
    a = cg_beat("m1", 1, all, 4);
    send_hb(c, &a, ts, 1, 1);
    persist(l, cgroup_of(c));
    a = cg_join("m2", NULL, -1);
    a.regex = "t|u";
    a.assignor = "uniform";
    a.rebalance_timeout_ms = 7000;
    if (!CHECK_EQ_INT(send_hb(c, &a, ts, 1, 2).error, 0))
        return NULL;
    persist(l, cgroup_of(c));
    cgroup_tick(c, cgroup_of(c), 3);
    persist(l, cgroup_of(c));
    a = cg_beat("m1", 1, all, 4);
    send_hb(c, &a, ts, 1, 4);
    persist(l, cgroup_of(c));
    a = cg_beat("m2", 2, NULL, 0);
    send_hb(c, &a, ts, 1, 5);
    persist(l, cgroup_of(c));
    return cgroup_of(c);
}

static void test_records_round_trip(void)
{
    group_coord c, c2, c3;
    group_config gc = cfg();
    plog l = {.n = 0};
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = mid_reconciliation(&c, &l, ts);
    if (!g || !CHECK_EQ_STR(member_state(&c, "m1"), "UNREVOKED_PARTITIONS") ||
        !CHECK_EQ_STR(member_state(&c, "m2"), "UNRELEASED_PARTITIONS")) {
        group_coord_free(&c);
        plog_free(&l);
        return;
    }
    /* the records as encoded now */
    group_coord_init(&c2, &gc);
    copy_by_records(&c, &c2);
    group *g2 = cgroup_of(&c2);
    compare_groups(g, g2);
    CHECK(g2 && !g2->cg->dirty);
    CHECK(g2 && strcmp(g2->protocol_type, "consumer") == 0);
    /* the log the heartbeats made, replayed in order */
    group_coord_init(&c3, &gc);
    replay(&l, &c3);
    compare_groups(g, cgroup_of(&c3));
    /* the replayed group carries on as the original: m1's revocation */
    cg_tp low[2];
    tps(low, 1, 0, 2);
    cg_hb_args a = cg_beat("m1", 1, low, 2);
    cg_hb_result r1 = send_hb(&c, &a, ts, 1, 10), r2 = send_hb(&c2, &a, ts, 1, 10);
    CHECK_EQ_INT(r1.error, 0);
    CHECK_EQ_INT(r2.error, 0);
    CHECK_EQ_INT(r2.member_epoch, r1.member_epoch);
    CHECK_EQ_INT(r2.member_epoch, 3);
    CHECK_SET(r2.assignment, low, 2);
    CHECK_EQ_INT(g2 ? g2->cg->group_epoch : -1, 3); /* same topics: no new epoch */
    compare_groups(g, g2);
    /* re-encoding the replayed member gives the same bytes */
    size_t la, lb;
    uint8_t *ba = encode_member(member_of(&c, "m2"), &la);
    uint8_t *bb = member_of(&c2, "m2") ? encode_member(member_of(&c2, "m2"), &lb) : NULL;
    if (CHECK(bb != NULL) && CHECK_EQ_INT(la, lb))
        CHECK_EQ_MEM(ba, bb, la);
    free(bb);
    /* a tombstone removes the member */
    cgroup_apply_member(&c2, GID, "m2", NULL);
    CHECK(member_of(&c2, "m2") == NULL);
    CHECK_EQ_INT(g2 ? g2->cg->nmembers : -1, 1);
    cgroup_apply_member(&c2, GID, "nobody", NULL); /* absent: nothing */
    CHECK_EQ_INT(g2 ? g2->cg->nmembers : -1, 1);
    free(ba);
    group_coord_free(&c);
    group_coord_free(&c2);
    group_coord_free(&c3);
    plog_free(&l);
}

/* Whether member id in c is absent, or encodes to the same bytes as ref (every persisted
 * field equal). Makes no check of its own. */
static bool absent_or_equal(const group_coord *c, const char *id, const cmember *ref)
{
    const cmember *m = member_of(c, id);
    if (!m)
        return true;
    size_t la, lb;
    uint8_t *a = encode_member(m, &la), *b = encode_member(ref, &lb);
    bool same = la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return same;
}

/* A truncated member record is dropped whole: never a member with part of it. */
static void test_records_truncated(void)
{
    group_coord c;
    group_config gc = cfg();
    plog l = {.n = 0};
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = mid_reconciliation(&c, &l, ts);
    if (!g) {
        group_coord_free(&c);
        plog_free(&l);
        return;
    }
    /* m2's record now (waiting) and later (Stable with two partitions) */
    size_t lold, lnew;
    uint8_t *old = encode_member(member_of(&c, "m2"), &lold);
    cg_tp low[2];
    tps(low, 1, 0, 2);
    cg_hb_args a = cg_beat("m1", 1, low, 2);
    send_hb(&c, &a, ts, 1, 10);
    a = cg_beat("m2", member_of(&c, "m2")->epoch, NULL, 0);
    send_hb(&c, &a, ts, 1, 11);
    CHECK_EQ_STR(member_state(&c, "m2"), "STABLE");
    uint8_t *fresh = encode_member(member_of(&c, "m2"), &lnew);
    /* ref: the member as the older record alone makes it */
    group_coord ref;
    group_coord_init(&ref, &gc);
    apply_bytes(&ref, "m2", old, lold);
    const cmember *older = member_of(&ref, "m2");
    int bad_new = -1, bad_existing = -1;
    for (size_t cut = 0; older && cut < lnew; cut++) {
        group_coord t;
        group_coord_init(&t, &gc);
        apply_bytes(&t, "m2", fresh, cut);
        if (member_of(&t, "m2") && bad_new < 0)
            bad_new = (int)cut;
        group_coord_free(&t);
        /* over the older record: the older state or nothing, never a mix */
        group_coord_init(&t, &gc);
        apply_bytes(&t, "m2", old, lold);
        apply_bytes(&t, "m2", fresh, cut);
        if (!absent_or_equal(&t, "m2", older) && bad_existing < 0)
            bad_existing = (int)cut;
        group_coord_free(&t);
    }
    CHECK(older != NULL);
    group_coord_free(&ref);
    CHECK_EQ_INT(bad_new, -1);      /* the first cut that left a member, if any */
    CHECK_EQ_INT(bad_existing, -1); /* the first cut that half-applied, if any */
    /* the whole record still applies */
    group_coord t;
    group_coord_init(&t, &gc);
    apply_bytes(&t, "m2", fresh, lnew);
    CHECK(member_of(&t, "m2") && absent_or_equal(&t, "m2", member_of(&c, "m2")));
    group_coord_free(&t);
    free(old);
    free(fresh);
    group_coord_free(&c);
    plog_free(&l);
}

/* A KIP-848 consumer fenced by the coordinator rejoins with epoch 0 under the same member
 * id. The join leaves that id in the removed list while the member lives again, so the
 * driver (service.c: member records, then tombstones) writes the member's record and then
 * its tombstone in one batch: after a replay (coordinator failover) the member is gone and
 * its partitions free while it still consumes them. */
static void test_records_rejoin_same_id(void)
{
    group_coord c, c2;
    group_config gc = cfg();
    plog l = {.n = 0};
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group_coord_init(&c, &gc);
    cg_hb_args a = cg_join("m1", g_t_names, 1);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 0).error, 0);
    group *g = cgroup_of(&c);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    persist(&l, g);
    a = cg_beat("m1", 7, NULL, 0);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 1).error, E_FENCED_MEMBER_EPOCH);
    a = cg_join("m1", g_t_names, 1);
    cg_hb_result r = send_hb(&c, &a, ts, 1, 2);
    CHECK_EQ_INT(r.error, 0);
    CHECK(member_of(&c, "m1") != NULL);
    for (int i = 0; i < g->cg->nremoved; i++)
        if (!CHECK(member_of(&c, g->cg->removed[i]) == NULL))
            printf("  (live member %s has a tombstone due)\n", g->cg->removed[i]);
    persist(&l, g);
    group_coord_init(&c2, &gc);
    replay(&l, &c2);
    compare_groups(g, cgroup_of(&c2));
    /* a static member coming back under the id it left with: the same */
    a = cg_join("s1", g_t_names, 1);
    a.instance_id = "host-1";
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 3).error, 0);
    persist(&l, g);
    a = cg_beat("s1", -2, NULL, -1);
    a.instance_id = "host-1";
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 4).error, 0);
    persist(&l, g);
    a = cg_join("s1", g_t_names, 1);
    a.instance_id = "host-1";
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 5).error, 0);
    persist(&l, g);
    group_coord_free(&c2);
    group_coord_init(&c2, &gc);
    replay(&l, &c2);
    CHECK(member_of(&c2, "s1") != NULL);
    group_coord_free(&c);
    group_coord_free(&c2);
    plog_free(&l);
}

/* ---------------- 11: classic and consumer groups ---------------- */

static const char *g_protos[] = {"range"};
static const uint8_t *g_metas[] = {(const uint8_t *)"sub"};
static const int32_t g_lens[] = {3};

/* A classic JoinGroup v3 (the member id is handed out at once). */
static join_args classic_join(const char *group_id, const char *fresh)
{
    join_args a = {.group_id = group_id, .member_id = "", .client_id = "cli",
                   .client_host = "h", .protocol_type = "consumer",
                   .session_timeout_ms = 5000, .rebalance_timeout_ms = 5000, .nprotocols = 1,
                   .protocol_names = g_protos, .protocol_metadata = g_metas,
                   .protocol_len = g_lens, .version = 3, .new_member_id = fresh};
    return a;
}

/* The last action answering request req, or NULL. */
static const group_action *answer(const group_coord *c, group_req req)
{
    for (size_t i = c->nacts; i > 0; i--)
        if (c->acts[i - 1].req == req)
            return &c->acts[i - 1];
    return NULL;
}

static void test_classic_conversions(void)
{
    group_coord c;
    client m1;
    cg_topic_info ts[] = {topic("t", 1, 4, false)};
    group *g = one_stable(&c, &m1, ts, 0);
    if (!g) {
        group_coord_free(&c);
        return;
    }
    /* JoinGroup to a consumer group with members */
    join_args j = classic_join(GID, "c1");
    group_join(&c, 1, &j, 10);
    const group_action *act = answer(&c, 1);
    if (CHECK(act != NULL)) {
        CHECK_EQ_INT(act->kind, GA_JOIN_REPLY);
        CHECK_EQ_INT(act->error, KERR_INCONSISTENT_GROUP_PROTOCOL);
    }
    CHECK(g->cg != NULL && g->cg->nmembers == 1);
    CHECK_EQ_INT(g->nmembers, 0);
    group_coord_clear_actions(&c);
    /* ConsumerGroupHeartbeat to a classic group with members */
    j = classic_join("k", "k1");
    group_join(&c, 2, &j, 20);
    group_tick(&c, 21);
    group *k = group_find(&c, "k");
    if (CHECK(k != NULL && k->nmembers == 1)) {
        cg_hb_args a = cg_join("m1", g_t_names, 1);
        a.group_id = "k";
        CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 22).error, KERR_GROUP_ID_NOT_FOUND);
        a = cg_beat("k1", 1, NULL, 0);
        a.group_id = "k";
        CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 22).error, KERR_GROUP_ID_NOT_FOUND);
        CHECK(k->cg == NULL);
        CHECK_EQ_INT(k->nmembers, 1);
    }
    /* an empty classic group (offsets only) becomes a consumer group, offsets kept */
    CHECK_EQ_INT(group_commit_check(&c, "e", -1, "", NULL, false, 30), KERR_NONE);
    group_apply_offset(&c, "e", -1, "t", 0, 42, -1, kslice_cstr(""), 30);
    cg_hb_args a = cg_join("e1", g_t_names, 1);
    a.group_id = "e";
    cg_hb_result r = send_hb(&c, &a, ts, 1, 31);
    CHECK_EQ_INT(r.error, KERR_NONE);
    CHECK_EQ_INT(r.member_epoch, 1);
    group *e = group_find(&c, "e");
    if (CHECK(e != NULL && e->cg != NULL)) {
        CHECK_EQ_STR(e->protocol_type, "consumer");
        CHECK_EQ_INT(e->cg->nmembers, 1);
        CHECK(group_offset(e, "t", 0) && group_offset(e, "t", 0)->offset == 42);
    }
    /* and an empty consumer group becomes classic again on a JoinGroup */
    a = cg_beat("m1", -1, NULL, -1);
    CHECK_EQ_INT(send_hb(&c, &a, ts, 1, 40).error, KERR_NONE);
    group_coord_clear_actions(&c);
    j = classic_join(GID, "c2");
    group_join(&c, 3, &j, 41);
    group_tick(&c, 42);
    act = answer(&c, 3);
    CHECK(act != NULL && act->error == KERR_NONE);
    CHECK(g->cg == NULL);
    CHECK_EQ_INT(g->nmembers, 1);
    group_coord_free(&c);
}

TU_MAIN(TU_CASE(test_first_member_join), TU_CASE(test_second_member_reconciles),
        TU_CASE(test_range_assignor), TU_CASE(test_uniform_assignor),
        TU_CASE(test_unknown_assignor), TU_CASE(test_epoch_fencing),
        TU_CASE(test_invalid_requests), TU_CASE(test_leave_dynamic), TU_CASE(test_leave_static),
        TU_CASE(test_static_old_incarnation_fenced), TU_CASE(test_session_expiry),
        TU_CASE(test_revocation_timeout), TU_CASE(test_regex_subscription),
        TU_CASE(test_regex_resolution_one_bump),
        TU_CASE(test_topic_metadata_changes), TU_CASE(test_commit_and_fetch_checks),
        TU_CASE(test_records_round_trip), TU_CASE(test_records_truncated),
        TU_CASE(test_records_rejoin_same_id), TU_CASE(test_classic_conversions))
