/* test_group_coord.c - the group coordinator state machine driven directly: joins with
 * MEMBER_ID_REQUIRED, the leader's assignment, rebalances on join/leave/expiry, generation
 * fencing, offset commit checks, and transactional offsets applied by markers. */
#include <stdlib.h>
#include <string.h>

#include "group/group.h"
#include "proto/errors.h"
#include "testutil.h"

static group_config cfg(void)
{
    group_config c = {.min_session_timeout_ms = 1000, .max_session_timeout_ms = 60000,
                      .initial_rebalance_delay_ms = 0};
    return c;
}

static const char *g_names[] = {"range"};
static const uint8_t *g_metas[] = {(const uint8_t *)"sub"};
static const int32_t g_lens[] = {3};

static join_args join(const char *member, const char *fresh, int16_t v)
{
    join_args a = {.group_id = "g", .member_id = member, .client_id = "cli",
                   .client_host = "h", .protocol_type = "consumer",
                   .session_timeout_ms = 5000, .rebalance_timeout_ms = 5000, .nprotocols = 1,
                   .protocol_names = g_names, .protocol_metadata = g_metas,
                   .protocol_len = g_lens, .version = v, .new_member_id = fresh};
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

static void test_join_sync_two_members(void)
{
    group_coord c;
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    /* v4+: first join gets MEMBER_ID_REQUIRED with an id, the retry joins. */
    join_args a = join("", "m1", 5);
    group_join(&c, 1, &a, 0);
    const group_action *r = answer(&c, 1);
    CHECK(r && r->error == 79 && strcmp(r->member_id, "m1") == 0);
    group_coord_clear_actions(&c);
    a = join("m1", "x", 5);
    group_join(&c, 2, &a, 0);
    group_tick(&c, 1); /* initial delay 0: the rebalance completes */
    r = answer(&c, 2);
    if (!CHECK(r && r->kind == GA_JOIN_REPLY && r->error == 0))
        return;
    CHECK_EQ_INT(r->generation, 1);
    CHECK_EQ_STR(r->leader, "m1");
    CHECK_EQ_INT(r->nmembers, 1);
    group_coord_clear_actions(&c);
    const char *ids[] = {"m1"};
    const uint8_t *as[] = {(const uint8_t *)"A1"};
    const int32_t ls[] = {2};
    group_sync(&c, 3, 3, "g", 1, "m1", NULL, 1, ids, as, ls, 2);
    r = answer(&c, 3);
    CHECK(r && r->error == 0 && r->assignment_len == 2 && memcmp(r->assignment, "A1", 2) == 0);
    group *g = group_find(&c, "g");
    CHECK_EQ_INT(g->state, GROUP_STABLE);
    group_coord_clear_actions(&c);
    /* A second member (v3: id assigned at once) triggers a rebalance. */
    a = join("", "m2", 3);
    group_join(&c, 4, &a, 10);
    CHECK_EQ_INT(g->state, GROUP_PREPARING_REBALANCE);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "m1", NULL, 11), 27); /* REBALANCE_IN_PROGRESS */
    a = join("m1", "x", 5);
    group_join(&c, 5, &a, 12); /* everyone rejoined: completes */
    const group_action *r4 = answer(&c, 4), *r5 = answer(&c, 5);
    if (!CHECK(r4 && r5))
        return;
    CHECK_EQ_INT(r4->generation, 2);
    CHECK_EQ_INT(r5->generation, 2);
    CHECK_EQ_STR(r5->leader, "m1");
    CHECK_EQ_INT(r5->nmembers, 2); /* the leader gets the members */
    CHECK_EQ_INT(r4->nmembers, 0);
    group_coord_clear_actions(&c);
    /* The follower's sync waits for the leader's. */
    group_sync(&c, 6, 3, "g", 2, "m2", NULL, 0, NULL, NULL, NULL, 13);
    CHECK(answer(&c, 6) == NULL);
    const char *ids2[] = {"m1", "m2"};
    const uint8_t *as2[] = {(const uint8_t *)"P0", (const uint8_t *)"P1"};
    const int32_t ls2[] = {2, 2};
    group_sync(&c, 7, 3, "g", 2, "m1", NULL, 2, ids2, as2, ls2, 14);
    r = answer(&c, 6);
    CHECK(r && r->assignment_len == 2 && memcmp(r->assignment, "P1", 2) == 0);
    /* Old generation fenced. */
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "m2", NULL, 15), 22);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 2, "m2", NULL, 15), 0);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 2, "nobody", NULL, 15), 25);
    group_coord_clear_actions(&c);
    /* m2 stops heartbeating: expires, and the group rebalances to m1 alone. */
    group_heartbeat(&c, "g", 2, "m1", NULL, 4000);
    group_tick(&c, 6000);
    CHECK_EQ_INT(g->nmembers, 1);
    CHECK_EQ_INT(g->state, GROUP_PREPARING_REBALANCE);
    /* A member that dies during a rebalance is expired by its session, not the (longer)
     * rebalance timeout: the others' joins complete without it. */
    a = join("", "m3", 3);
    a.rebalance_timeout_ms = 60000;
    group_join(&c, 8, &a, 6001);
    /* m1 never rejoins nor heartbeats (say it was killed): its session (5 s) expires. */
    group_tick(&c, 6001 + 1000);
    CHECK(answer(&c, 8) == NULL);
    group_tick(&c, 4000 + 5000 + 1);
    r = answer(&c, 8);
    CHECK(r && r->kind == GA_JOIN_REPLY && r->error == 0 && strcmp(r->leader, "m3") == 0);
    CHECK_EQ_INT(g->nmembers, 1);
    group_coord_clear_actions(&c);
    /* Leaving empties the group. */
    CHECK_EQ_INT(group_leave(&c, "g", "m3", NULL, 9002), 0);
    group_tick(&c, 9003);
    CHECK_EQ_INT(g->state, GROUP_EMPTY);
    group_coord_free(&c);
}

static void test_offsets_and_transactions(void)
{
    group_coord c;
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    /* Unknown group: generation -1 creates a simple group, >= 0 is illegal. */
    CHECK_EQ_INT(group_commit_check(&c, "s", 3, "m", NULL, false, 0), 22);
    CHECK_EQ_INT(group_commit_check(&c, "s", -1, "", NULL, false, 0), 0);
    /* Commit metadata is bytes: an embedded NUL and what follows it are kept. */
    group_apply_offset(&c, "s", -1, "t", 0, 42, -1, (kslice){(const uint8_t *)"Hello\0world!", 12},
                       1);
    group *g = group_find(&c, "s");
    const goffset *o = group_offset(g, "t", 0);
    CHECK(o && o->offset == 42 && o->metadata_len == 12 &&
          memcmp(o->metadata, "Hello\0world!", 12) == 0);
    /* Pending offsets of producer 1000: invisible, pending; abort drops them. */
    group_apply_offset(&c, "s", 1000, "t", 0, 50, -1, kslice_cstr(""), 2);
    CHECK_EQ_INT(group_offset(g, "t", 0)->offset, 42);
    CHECK(group_offset_pending(g, "t", 0));
    group_apply_txn_end(&c, "s", 1000, false);
    CHECK(!group_offset_pending(g, "t", 0));
    CHECK_EQ_INT(group_offset(g, "t", 0)->offset, 42);
    /* Commit applies them. */
    group_apply_offset(&c, "s", 1000, "t", 0, 60, -1, kslice_cstr(""), 3);
    group_apply_offset(&c, "s", 1000, "t", 1, 7, -1, kslice_cstr(""), 3);
    group_apply_txn_end(&c, "s", 1000, true);
    CHECK_EQ_INT(group_offset(g, "t", 0)->offset, 60);
    CHECK_EQ_INT(group_offset(g, "t", 1)->offset, 7);
    /* Deletion: only when empty. */
    CHECK_EQ_INT(group_delete_check(&c, "s"), 0);
    CHECK_EQ_INT(group_delete_check(&c, "nope"), 69);
    group_apply_delete(&c, "s");
    CHECK(group_find(&c, "s") == NULL);
    group_coord_free(&c);
}

/* The number of groups the producer-id index lists for pid, each checked to really hold
 * pending offsets of pid. */
static int pid_groups(const group_coord *c, int64_t pid)
{
    int n = 0;
    for (const gpending *p = group_pending_of_pid(c, pid); p; p = p->pid_next, n++) {
        const gpending *own = NULL;
        HASH_FIND(hh, p->g->pending, &pid, sizeof(pid), own);
        CHECK(own == p && p->pid == pid);
    }
    return n;
}

/* The index pid -> groups with pending offsets (what a transaction marker reads) follows
 * offsets becoming pending, ending (commit or abort) and a group's deletion. */
static void test_pending_by_pid_index(void)
{
    group_coord c;
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    CHECK_EQ_INT(pid_groups(&c, 7), 0);
    const char *groups[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        group_apply_offset(&c, groups[i], 7, "t", 0, 10 + i, -1, kslice_cstr(""), 1);
        group_apply_offset(&c, groups[i], 7, "t", 1, 20 + i, -1, kslice_cstr(""), 1);
    }
    group_apply_offset(&c, "a", 8, "t", 0, 30, -1, kslice_cstr(""), 1);
    CHECK_EQ_INT(pid_groups(&c, 7), 3);
    CHECK_EQ_INT(pid_groups(&c, 8), 1);
    group_apply_txn_end(&c, "b", 7, true);
    CHECK_EQ_INT(pid_groups(&c, 7), 2);
    CHECK_EQ_INT(group_offset(group_find(&c, "b"), "t", 1)->offset, 21);
    group_apply_txn_end(&c, "b", 7, true); /* ended already: nothing */
    group_apply_txn_end(&c, "a", 7, false);
    CHECK_EQ_INT(pid_groups(&c, 7), 1);
    CHECK_EQ_INT(pid_groups(&c, 8), 1);
    group_apply_delete(&c, "c"); /* a deleted group's pending offsets leave the index */
    CHECK_EQ_INT(pid_groups(&c, 7), 0);
    CHECK(group_pending_of_pid(&c, 7) == NULL);
    /* Freeing the coordinator with offsets still pending asserts the index emptied. */
    group_coord_free(&c);
}

/* A ConsumerProtocolSubscription v0 naming topics (no user data). */
static int32_t subscription(uint8_t *out, const char *const *topics, int n)
{
    int32_t len = 0;
    out[len++] = 0;
    out[len++] = 0;
    out[len++] = 0;
    out[len++] = 0;
    out[len++] = 0;
    out[len++] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        size_t tl = strlen(topics[i]);
        out[len++] = 0;
        out[len++] = (uint8_t)tl;
        memcpy(out + len, topics[i], tl);
        len += (int32_t)tl;
    }
    memset(out + len, 0xff, 4); /* null user data */
    return len + 4;
}

/* OffsetDelete (KIP-496): group-level answers, subscriptions read from the members'
 * metadata, and the offset removed. */
static void test_offset_delete(void)
{
    group_coord c;
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    CHECK_EQ_INT(group_offset_delete_check(&c, "g"), KERR_GROUP_ID_NOT_FOUND);
    uint8_t meta[64];
    static const char *const subs[] = {"orders", "payments"};
    const uint8_t *metas[] = {meta};
    int32_t lens[] = {subscription(meta, subs, 2)};
    join_args a = join("", "m1", 3); /* v3: no MEMBER_ID_REQUIRED round */
    a.protocol_metadata = metas;
    a.protocol_len = lens;
    group_join(&c, 1, &a, 0);
    group_tick(&c, 1);
    group *g = group_find(&c, "g");
    if (!CHECK(g && g->nmembers == 1))
        return;
    group_apply_offset(&c, "g", -1, "orders", 0, 5, -1, kslice_cstr(""), 1);
    group_apply_offset(&c, "g", -1, "old", 0, 6, -1, kslice_cstr(""), 1);
    CHECK_EQ_INT(group_offset_delete_check(&c, "g"), KERR_NONE); /* consumer protocol */
    CHECK(group_subscribed_to(g, "orders"));
    CHECK(group_subscribed_to(g, "payments"));
    CHECK(!group_subscribed_to(g, "old"));
    CHECK(!group_subscribed_to(g, "order")); /* whole names only */
    group_apply_offset_delete(&c, "g", "old", 0);
    CHECK(group_offset(g, "old", 0) == NULL);
    CHECK(group_offset(g, "orders", 0) != NULL);
    group_apply_offset_delete(&c, "g", "old", 0); /* absent: nothing */
    /* A group of another protocol type with members cannot say what it reads. */
    free(g->protocol_type);
    g->protocol_type = strdup("connect");
    CHECK_EQ_INT(group_offset_delete_check(&c, "g"), KERR_NON_EMPTY_GROUP);
    /* Once empty it subscribes to nothing. */
    CHECK_EQ_INT(group_leave(&c, "g", "m1", NULL, 2), 0);
    CHECK_EQ_INT(group_offset_delete_check(&c, "g"), KERR_NONE);
    CHECK(!group_subscribed_to(g, "orders"));
    group_coord_free(&c);
}

static void test_rejects(void)
{
    group_coord c;
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    join_args a = join("", "m1", 3);
    a.session_timeout_ms = 10; /* below the minimum */
    group_join(&c, 1, &a, 0);
    CHECK(answer(&c, 1) && answer(&c, 1)->error == 26);
    a = join("ghost", "m1", 3);
    group_join(&c, 2, &a, 0);
    CHECK(answer(&c, 2) && answer(&c, 2)->error == 25);
    a = join("", "m1", 3);
    group_join(&c, 3, &a, 0);
    group_tick(&c, 1);
    static const char *other[] = {"roundrobin"};
    join_args b = join("", "m2", 3);
    b.protocol_names = other; /* no protocol in common */
    group_join(&c, 4, &b, 2);
    CHECK(answer(&c, 4) && answer(&c, 4)->error == 23);
    /* more protocols than GROUP_PROTOCOLS_MAX: INVALID_REQUEST, before any matching */
    static const char *many[GROUP_PROTOCOLS_MAX + 1];
    static const uint8_t *many_metas[GROUP_PROTOCOLS_MAX + 1];
    static int32_t many_lens[GROUP_PROTOCOLS_MAX + 1];
    for (int i = 0; i <= GROUP_PROTOCOLS_MAX; i++) {
        many[i] = "range";
        many_metas[i] = g_metas[0];
        many_lens[i] = g_lens[0];
    }
    join_args d = join("", "m3", 3);
    d.nprotocols = GROUP_PROTOCOLS_MAX + 1;
    d.protocol_names = many;
    d.protocol_metadata = many_metas;
    d.protocol_len = many_lens;
    group_join(&c, 5, &d, 3);
    CHECK(answer(&c, 5) && answer(&c, 5)->error == KERR_INVALID_REQUEST);
    group *g = group_find(&c, "g");
    int before = g ? g->nmembers : -1;
    d.nprotocols = GROUP_PROTOCOLS_MAX; /* the most it takes: m3 joins (its answer waits) */
    group_join(&c, 6, &d, 3);
    CHECK(!answer(&c, 6) || answer(&c, 6)->error != KERR_INVALID_REQUEST);
    CHECK_EQ_INT(g ? g->nmembers : -1, before + 1);
    group_coord_free(&c);
}

/* Joins a static member (instance id) with no member id; fresh is the id handed out. */
static void join_static(group_coord *c, group_req req, const char *instance, const char *fresh,
                        int64_t now)
{
    join_args a = join("", fresh, 5);
    a.instance_id = instance;
    group_join(c, req, &a, now);
}

/* Initialises c with Kafka's default initial rebalance delay (3000 ms, which must not matter
 * to static members) and makes two static members, a (leader, assignment "A") and b ("B"),
 * Stable in generation 1 at time 3002. NULL after failed checks (c still to be freed). */
static group *stable_static_pair(group_coord *c)
{
    group_config gc = cfg();
    gc.initial_rebalance_delay_ms = 3000;
    group_coord_init(c, &gc);
    join_static(c, 1, "host-a", "a1", 0);
    join_static(c, 2, "host-b", "b1", 0);
    group_tick(c, 3001); /* past the initial rebalance delay */
    group *g = group_find(c, "g");
    if (!CHECK(g && g->state == GROUP_COMPLETING_REBALANCE && g->generation == 1))
        return NULL;
    CHECK_EQ_STR(g->leader, "a1");
    group_coord_clear_actions(c);
    const char *ids[] = {"a1", "b1"};
    const uint8_t *as[] = {(const uint8_t *)"A", (const uint8_t *)"B"};
    const int32_t ls[] = {1, 1};
    group_sync(c, 3, 3, "g", 1, "b1", "host-b", 0, NULL, NULL, NULL, 3002);
    group_sync(c, 4, 3, "g", 1, "a1", "host-a", 2, ids, as, ls, 3002);
    CHECK_EQ_INT(g->state, GROUP_STABLE);
    group_coord_clear_actions(c);
    return g;
}

/* KIP-345: a static member that restarts within its session takes its old place and
 * assignment without a rebalance: same generation, the other member undisturbed, the old
 * member id fenced. (Before the fix the old member was removed and the group rebalanced.) */
static void test_static_restart_keeps_generation(void)
{
    group_coord c;
    group *g = stable_static_pair(&c);
    if (!g)
        return;
    uint64_t rebalances = c.rebalances;
    group_coord_clear_actions(&c);

    /* b restarts: JoinGroup without member id, same instance id. */
    join_static(&c, 5, "host-b", "b2", 4000);
    const group_action *r = answer(&c, 5);
    if (!CHECK(r && r->kind == GA_JOIN_REPLY && r->error == 0))
        return;
    CHECK_EQ_STR(r->member_id, "b2");
    CHECK_EQ_INT(r->generation, 1);
    CHECK_EQ_STR(r->leader, "a1");
    CHECK_EQ_INT(r->nmembers, 0);
    CHECK_EQ_INT(g->state, GROUP_STABLE);
    CHECK_EQ_INT(g->nmembers, 2);
    CHECK(c.rebalances == rebalances);
    group_coord_clear_actions(&c);
    /* Its SyncGroup gets the assignment it had. */
    group_sync(&c, 6, 3, "g", 1, "b2", "host-b", 0, NULL, NULL, NULL, 4001);
    r = answer(&c, 6);
    if (!CHECK(r && r->kind == GA_SYNC_REPLY && r->error == 0))
        return;
    CHECK(r->assignment_len == 1 && memcmp(r->assignment, "B", 1) == 0);
    /* The other member is not disturbed; the old id is fenced, or unknown without an
     * instance id. */
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "a1", "host-a", 4002), 0);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "b1", "host-b", 4002), 82);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "b1", NULL, 4002), 25);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "b2", "host-b", 4002), 0);
    CHECK_EQ_INT(group_commit_check(&c, "g", 1, "b1", "host-b", false, 4002), 82);
    CHECK_EQ_INT(group_commit_check(&c, "g", 1, "b2", "host-b", false, 4002), 0);
    group_coord_clear_actions(&c);
    group_sync(&c, 7, 3, "g", 1, "b1", "host-b", 0, NULL, NULL, NULL, 4003);
    r = answer(&c, 7);
    CHECK(r && r->error == 82);
    CHECK(c.rebalances == rebalances);
    group_coord_free(&c);
}

/* The leader restarts: it is answered with the old leader id, so it does not assign
 * (a Stable group would never hand a new assignment out), and gets its own back. */
static void test_static_leader_restart(void)
{
    group_coord c;
    group *g = stable_static_pair(&c);
    if (!g)
        return;
    uint64_t rebalances = c.rebalances;
    join_static(&c, 5, "host-a", "a2", 4010);
    const group_action *r = answer(&c, 5);
    if (!CHECK(r && r->kind == GA_JOIN_REPLY && r->error == 0))
        return;
    CHECK_EQ_STR(r->member_id, "a2");
    CHECK_EQ_STR(r->leader, "a1");
    CHECK_EQ_INT(r->generation, 1);
    CHECK_EQ_STR(g->leader, "a2"); /* leads the next rebalance */
    CHECK(c.rebalances == rebalances);
    group_coord_clear_actions(&c);
    group_sync(&c, 6, 3, "g", 1, "a2", "host-a", 0, NULL, NULL, NULL, 4011);
    r = answer(&c, 6);
    CHECK(r && r->error == 0 && r->assignment_len == 1 && memcmp(r->assignment, "A", 1) == 0);
    group_coord_free(&c);
}

/* A dynamic member d1 joins the stable pair (a rebalance, requests req..), and a1 and b1
 * rejoin: generation 2 reaches CompletingRebalance. */
static void join_dynamic_and_rejoin(group_coord *c, group *g, group_req req, int64_t now)
{
    join_args d = join("", "d1", 3); /* a dynamic member (v3: no MEMBER_ID_REQUIRED) */
    group_join(c, req, &d, now);
    CHECK_EQ_INT(g->state, GROUP_PREPARING_REBALANCE);
    join_args ra = join("a1", "x", 5);
    ra.instance_id = "host-a";
    join_args rb = join("b1", "x", 5);
    rb.instance_id = "host-b";
    group_join(c, req + 1, &ra, now);
    group_join(c, req + 2, &rb, now);
}

/* A restart that changes what the member supports, or one during a rebalance, does
 * rebalance (Kafka's rules); a known member id with another instance's id is fenced. */
static void test_static_restart_rebalances_when_needed(void)
{
    group_coord c;
    group *g = stable_static_pair(&c);
    if (!g)
        return;
    static const char *names[] = {"roundrobin"};
    static const uint8_t *metas[] = {(const uint8_t *)"x"};
    static const int32_t lens[] = {1};
    join_args a = join("", "b2", 5);
    a.instance_id = "host-b";
    a.protocol_names = names; /* incompatible with a's "range": refused, nothing changes */
    a.protocol_metadata = metas;
    a.protocol_len = lens;
    group_join(&c, 5, &a, 4010);
    const group_action *r = answer(&c, 5);
    CHECK(r && r->error == 23); /* INCONSISTENT_GROUP_PROTOCOL */
    CHECK_EQ_INT(g->state, GROUP_STABLE);
    group_coord_clear_actions(&c);
    /* A member id that belongs to another instance is a zombie. */
    a = join("a1", "x", 5);
    a.instance_id = "host-b";
    group_join(&c, 6, &a, 4011);
    r = answer(&c, 6);
    CHECK(r && r->error == 82);
    group_coord_clear_actions(&c);
    /* During CompletingRebalance a static restart rebalances (the leader may already
     * have been given the old id). */
    join_dynamic_and_rejoin(&c, g, 7, 4012);
    CHECK_EQ_INT(g->state, GROUP_COMPLETING_REBALANCE);
    CHECK_EQ_INT(g->generation, 2);
    group_coord_clear_actions(&c);
    join_static(&c, 10, "host-b", "b3", 4013);
    CHECK_EQ_INT(g->state, GROUP_PREPARING_REBALANCE);
    CHECK(answer(&c, 10) == NULL); /* parked until the rebalance completes */
    group_coord_free(&c);
}

/* KIP-447: a transactional offset commit from a stale generation or an unknown member is
 * refused; during CompletingRebalance it must wait. */
static void test_txn_commit_fencing(void)
{
    group_coord c;
    group *g = stable_static_pair(&c);
    if (!g)
        return;
    join_dynamic_and_rejoin(&c, g, 5, 4010);
    if (!CHECK_EQ_INT(g->generation, 2))
        return;
    CHECK_EQ_INT(group_commit_check(&c, "g", 2, "b1", "host-b", true, 13), 27);
    const char *ids[] = {"a1", "b1", "d1"};
    const uint8_t *as[] = {(const uint8_t *)"A", (const uint8_t *)"B", (const uint8_t *)"D"};
    const int32_t ls[] = {1, 1, 1};
    group_sync(&c, 8, 3, "g", 2, "a1", "host-a", 3, ids, as, ls, 4013);
    CHECK_EQ_INT(g->state, GROUP_STABLE);
    CHECK_EQ_INT(group_commit_check(&c, "g", 2, "b1", "host-b", true, 13), 0);
    CHECK_EQ_INT(group_commit_check(&c, "g", 1, "b1", "host-b", true, 13), 22);
    CHECK_EQ_INT(group_commit_check(&c, "g", 2, "zz", NULL, true, 13), 25);
    CHECK_EQ_INT(group_commit_check(&c, "g", -1, "", NULL, true, 13), 0); /* v0-2 */
    CHECK_EQ_INT(group_commit_check(&c, "g", -1, "", NULL, false, 13), 25);
    group_coord_free(&c);
}

TU_MAIN(TU_CASE(test_static_restart_keeps_generation), TU_CASE(test_static_leader_restart),
        TU_CASE(test_static_restart_rebalances_when_needed), TU_CASE(test_txn_commit_fencing),
        TU_CASE(test_join_sync_two_members), TU_CASE(test_offsets_and_transactions),
        TU_CASE(test_pending_by_pid_index),
        TU_CASE(test_rejects), TU_CASE(test_offset_delete))
