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
    group_sync(&c, 3, 3, "g", 1, "m1", 1, ids, as, ls, 2);
    r = answer(&c, 3);
    CHECK(r && r->error == 0 && r->assignment_len == 2 && memcmp(r->assignment, "A1", 2) == 0);
    group *g = group_find(&c, "g");
    CHECK_EQ_INT(g->state, GROUP_STABLE);
    group_coord_clear_actions(&c);
    /* A second member (v3: id assigned at once) triggers a rebalance. */
    a = join("", "m2", 3);
    group_join(&c, 4, &a, 10);
    CHECK_EQ_INT(g->state, GROUP_PREPARING_REBALANCE);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "m1", 11), 27); /* REBALANCE_IN_PROGRESS */
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
    group_sync(&c, 6, 3, "g", 2, "m2", 0, NULL, NULL, NULL, 13);
    CHECK(answer(&c, 6) == NULL);
    const char *ids2[] = {"m1", "m2"};
    const uint8_t *as2[] = {(const uint8_t *)"P0", (const uint8_t *)"P1"};
    const int32_t ls2[] = {2, 2};
    group_sync(&c, 7, 3, "g", 2, "m1", 2, ids2, as2, ls2, 14);
    r = answer(&c, 6);
    CHECK(r && r->assignment_len == 2 && memcmp(r->assignment, "P1", 2) == 0);
    /* Old generation fenced. */
    CHECK_EQ_INT(group_heartbeat(&c, "g", 1, "m2", 15), 22);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 2, "m2", 15), 0);
    CHECK_EQ_INT(group_heartbeat(&c, "g", 2, "nobody", 15), 25);
    group_coord_clear_actions(&c);
    /* m2 stops heartbeating: expires, and the group rebalances to m1 alone. */
    group_heartbeat(&c, "g", 2, "m1", 4000);
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
    CHECK_EQ_INT(group_leave(&c, "g", "m3", 9002), 0);
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
    CHECK_EQ_INT(group_commit_check(&c, "s", 3, "m", false, 0), 22);
    CHECK_EQ_INT(group_commit_check(&c, "s", -1, "", false, 0), 0);
    group_apply_offset(&c, "s", -1, "t", 0, 42, -1, "meta", 1);
    group *g = group_find(&c, "s");
    const goffset *o = group_offset(g, "t", 0);
    CHECK(o && o->offset == 42 && strcmp(o->metadata, "meta") == 0);
    /* Pending offsets of producer 1000: invisible, pending; abort drops them. */
    group_apply_offset(&c, "s", 1000, "t", 0, 50, -1, "", 2);
    CHECK_EQ_INT(group_offset(g, "t", 0)->offset, 42);
    CHECK(group_offset_pending(g, "t", 0));
    group_apply_txn_end(&c, "s", 1000, false);
    CHECK(!group_offset_pending(g, "t", 0));
    CHECK_EQ_INT(group_offset(g, "t", 0)->offset, 42);
    /* Commit applies them. */
    group_apply_offset(&c, "s", 1000, "t", 0, 60, -1, "", 3);
    group_apply_offset(&c, "s", 1000, "t", 1, 7, -1, "", 3);
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
    group_coord_free(&c);
}

/* Static membership: a member with group.instance.id rejoins with a new member id and
 * takes its old place; the old id is fenced. KIP-447: a transactional offset commit from
 * a stale generation or an unknown member is refused. */
static void test_static_member_and_txn_fencing(void)
{
    group_coord c;
    group_config gc = cfg();
    group_coord_init(&c, &gc);
    join_args a = join("", "s1", 5);
    a.instance_id = "host-a";
    group_join(&c, 1, &a, 0); /* static: no MEMBER_ID_REQUIRED round */
    group_tick(&c, 1);
    const group_action *r = answer(&c, 1);
    if (!CHECK(r && r->error == 0 && strcmp(r->member_id, "s1") == 0))
        return;
    int32_t gen1 = r->generation;
    group_coord_clear_actions(&c);
    const char *ids[] = {"s1"};
    const uint8_t *as[] = {(const uint8_t *)"A"};
    const int32_t ls[] = {1};
    group_sync(&c, 2, 3, "g", gen1, "s1", 1, ids, as, ls, 2);
    group_coord_clear_actions(&c);
    /* The same instance restarts: new member id s2 replaces s1. */
    a = join("", "s2", 5);
    a.instance_id = "host-a";
    group_join(&c, 3, &a, 10);
    group_tick(&c, 11);
    r = answer(&c, 3);
    if (!CHECK(r && r->error == 0 && strcmp(r->member_id, "s2") == 0))
        return;
    group *g = group_find(&c, "g");
    CHECK_EQ_INT(g->nmembers, 1);
    CHECK_EQ_INT(group_heartbeat(&c, "g", r->generation, "s1", 12), 25); /* the old id */
    int32_t gen2 = r->generation;
    CHECK(gen2 > gen1);
    /* During CompletingRebalance a commit must wait; once Stable, the current member and
     * generation pass and stale ones do not. */
    CHECK_EQ_INT(group_commit_check(&c, "g", gen2, "s2", true, 13), 27);
    const char *ids2[] = {"s2"};
    group_sync(&c, 4, 3, "g", gen2, "s2", 1, ids2, as, ls, 13);
    CHECK_EQ_INT(g->state, GROUP_STABLE);
    CHECK_EQ_INT(group_commit_check(&c, "g", gen2, "s2", true, 13), 0);
    CHECK_EQ_INT(group_commit_check(&c, "g", gen1, "s2", true, 13), 22); /* ILLEGAL_GENERATION */
    CHECK_EQ_INT(group_commit_check(&c, "g", gen2, "s1", true, 13), 25); /* UNKNOWN_MEMBER_ID */
    CHECK_EQ_INT(group_commit_check(&c, "g", -1, "", true, 13), 0); /* v0-2: no fencing data */
    CHECK_EQ_INT(group_commit_check(&c, "g", -1, "", false, 13), 25); /* plain, non-member */
    group_coord_free(&c);
}

TU_MAIN(TU_CASE(test_static_member_and_txn_fencing), TU_CASE(test_join_sync_two_members), TU_CASE(test_offsets_and_transactions),
        TU_CASE(test_rejects))
