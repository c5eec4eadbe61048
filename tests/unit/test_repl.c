/* test_repl.c - the replication state machine driven directly: the high watermark over
 * the ISR and its strict min.insync rule, a pending expansion counted and a pending
 * shrink not trusted, followers joining at max(HW, epoch start) and dropped after the
 * lag time, epoch fencing of follower fetches, the truncation rule and elections (no
 * unclean choice, ELR), and the moves of a controlled shutdown (repl_shutdown_move; a
 * replica shutting down never rejoins the ISR), and the frozen high watermark (recorded as
 * the ISR falls below min, the cut of a leader elected there). sim_repl drives the same
 * code through faults. */
#include <string.h>

#include "proto/errors.h"
#include "repl/repl.h"
#include "testutil.h"

static repl_set set3(int a, int b, int c)
{
    repl_set s = {0};
    int v[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (v[i] > 0)
            repl_set_add(&s, v[i]);
    return s;
}

/* Node 1 leads epoch 5 of replicas {1,2,3}, ISR as given, min.insync 2, log end 10. */
static repl_part leader(repl_set isr, int64_t hw)
{
    repl_part p;
    repl_init(&p, 1, 2, 1000);
    repl_set all = set3(1, 2, 3);
    repl_become_leader(&p, 5, &all, &isr, 7, -1, 10, 10, hw, 0);
    return p;
}

static void test_hw_is_min_over_isr(void)
{
    repl_part p = leader(set3(1, 2, 3), 4);
    CHECK_EQ_INT(p.hw, 4); /* followers unheard of: no move */
    repl_out o;
    CHECK_EQ_INT(repl_follower_fetch(&p, 2, 5, 8, 10, &o), KERR_NONE);
    CHECK(!o.hw_changed && p.hw == 4); /* 3 still unknown */
    CHECK_EQ_INT(repl_follower_fetch(&p, 3, 5, 6, 10, &o), KERR_NONE);
    CHECK(o.hw_changed && p.hw == 6);
    CHECK_EQ_INT(repl_follower_fetch(&p, 3, 5, 10, 20, &o), KERR_NONE);
    CHECK(o.hw_changed && p.hw == 8);
    /* The leader's own durable end bounds it too. */
    o = repl_local_progress(&p, 14, 10, 30);
    CHECK_EQ_INT(repl_follower_fetch(&p, 2, 5, 14, 30, &o), KERR_NONE);
    CHECK_EQ_INT(repl_follower_fetch(&p, 3, 5, 14, 30, &o), KERR_NONE);
    CHECK_EQ_INT(p.hw, 10);
    o = repl_local_progress(&p, 14, 14, 31);
    CHECK(o.hw_changed && p.hw == 14);
    /* Never backwards: a follower that reports less (it truncated) does not lower it. */
    CHECK_EQ_INT(repl_follower_fetch(&p, 2, 5, 12, 32, &o), KERR_NONE);
    CHECK_EQ_INT(p.hw, 14);
}

static void test_strict_min_isr(void)
{
    repl_part p = leader(set3(1, 2, 0), 0);
    repl_out o;
    repl_follower_fetch(&p, 2, 5, 10, 10, &o);
    CHECK_EQ_INT(p.hw, 10);
    CHECK(repl_accepts_acks_all(&p));
    /* ISR {1} below min.insync 2: acks=all refused and the HW frozen. */
    repl_state_update(&p, &(repl_set){{1}, 1}, 8, -1, 20);
    CHECK(!repl_accepts_acks_all(&p));
    repl_local_progress(&p, 12, 12, 21);
    CHECK_EQ_INT(p.hw, 10);
}

static void test_expansion_and_shrink_proposals(void)
{
    repl_part p = leader(set3(1, 2, 0), 0);
    repl_out o;
    repl_follower_fetch(&p, 2, 5, 10, 10, &o);
    /* 3 joins only from max(HW, epoch start = 10). */
    CHECK_EQ_INT(repl_follower_fetch(&p, 3, 5, 9, 10, &o), KERR_NONE);
    CHECK(!o.propose);
    CHECK_EQ_INT(repl_follower_fetch(&p, 3, 5, 10, 11, &o), KERR_NONE);
    CHECK(o.propose && p.proposing && p.proposed.n == 3);
    /* While proposed, the new member counts for the HW (it may be in the ISR already). */
    repl_local_progress(&p, 15, 15, 12);
    repl_follower_fetch(&p, 2, 5, 15, 12, &o);
    CHECK_EQ_INT(p.hw, 10); /* 3 is at 10 */
    o = repl_proposal_done(&p, true, 8, 13);
    CHECK(p.isr.n == 3 && p.state_version == 8 && !p.proposing);
    /* 3 stops fetching: after the lag time it is proposed out; the HW keeps waiting for
     * it until ZooKeeper commits the shrink. */
    repl_follower_fetch(&p, 2, 5, 15, 600, &o); /* 2 keeps up */
    o = repl_tick(&p, 900);
    CHECK(!o.propose);
    o = repl_tick(&p, 1100);
    CHECK(o.propose && p.proposed.n == 2 && !repl_set_has(&p.proposed, 3));
    CHECK_EQ_INT(p.hw, 10);
    o = repl_proposal_done(&p, true, 9, 1101);
    CHECK(o.hw_changed && p.hw == 15 && p.isr.n == 2);
    /* A refused proposal changes nothing. */
    repl_follower_fetch(&p, 3, 5, 15, 1200, &o);
    CHECK(o.propose);
    repl_proposal_done(&p, false, 0, 1201);
    CHECK(p.isr.n == 2 && !p.proposing);
}

static void test_fetch_errors(void)
{
    repl_part p = leader(set3(1, 2, 3), 0);
    repl_out o;
    CHECK_EQ_INT(repl_follower_fetch(&p, 2, 4, 0, 1, &o), KERR_FENCED_LEADER_EPOCH);
    CHECK_EQ_INT(repl_follower_fetch(&p, 2, 6, 0, 1, &o), KERR_UNKNOWN_LEADER_EPOCH);
    CHECK_EQ_INT(repl_follower_fetch(&p, 9, 5, 0, 1, &o), KERR_NOT_LEADER_OR_FOLLOWER);
    CHECK_EQ_INT(repl_follower_fetch(&p, 2, 5, 11, 1, &o), KERR_OFFSET_OUT_OF_RANGE);
    repl_part f;
    repl_init(&f, 2, 2, 1000);
    repl_set all = set3(1, 2, 3);
    repl_become_follower(&f, 1, 5, &all, &all, 7);
    CHECK_EQ_INT(repl_follower_fetch(&f, 3, 5, 0, 1, &o), KERR_NOT_LEADER_OR_FOLLOWER);
    CHECK(!repl_accepts_acks_all(&f));
    /* A follower's HW: the leader's, but never past its own durable end. */
    repl_local_progress(&f, 6, 4, 2);
    repl_follower_hw(&f, 9);
    CHECK_EQ_INT(f.hw, 4);
}

static void test_truncation_offset(void)
{
    /* Both know epoch 3: the smaller end. */
    CHECK_EQ_INT(repl_truncation_offset(3, 40, 3, 45, 50, 20), 40);
    CHECK_EQ_INT(repl_truncation_offset(3, 40, 3, 35, 50, 20), 35);
    /* The follower does not know epoch 3 (its largest below is 2, ending at 30). */
    CHECK_EQ_INT(repl_truncation_offset(3, 40, 2, 30, 50, 20), 30);
    /* The leader knows none of ours: the high watermark. */
    CHECK_EQ_INT(repl_truncation_offset(-1, -1, 2, 30, 50, 20), 20);
    /* Never past the log end. */
    CHECK_EQ_INT(repl_truncation_offset(3, 40, 3, 45, 38, 20), 38);
}

static void test_elections(void)
{
    repl_set all = set3(1, 2, 3), none = {0};
    /* Leader 1 dies: the first live ISR member in assignment order. */
    repl_set live = set3(2, 3, 0);
    repl_election e = repl_elect(&all, &all, &none, &live, 2);
    CHECK(e.leader == 2 && e.isr.n == 2 && e.elr.n == 0);
    /* Never an unclean choice: 3 is live but out of the ISR. */
    repl_set isr12 = set3(1, 2, 0);
    repl_set live3 = set3(3, 0, 0);
    e = repl_elect(&all, &isr12, &none, &live3, 2);
    CHECK_EQ_INT(e.leader, -1);
    /* Both ISR members died with the ISR below min.insync: they hold every commit and go
     * to the ELR; the first to come back may lead. */
    CHECK(repl_set_has(&e.elr, 1) && repl_set_has(&e.elr, 2) && e.isr.n == 0);
    repl_set live2 = set3(2, 3, 0);
    repl_election back = repl_elect(&all, &e.isr, &e.elr, &live2, 2);
    CHECK(back.leader == 2 && back.isr.n == 1 && repl_set_has(&back.isr, 2) &&
          repl_set_has(&back.elr, 1));
}

static void test_shutdown_moves(void)
{
    repl_set all = set3(1, 2, 3), none = {0}, live = set3(1, 2, 3);
    repl_set s1 = set3(1, 0, 0);
    repl_election e;
    /* Leader 1 leaves: the first other in-sync replica in assignment order leads, and 1
     * leaves the ISR (2 remain: min.insync 2 holds, no ELR). */
    CHECK(repl_shutdown_move(&all, 1, &all, &none, &live, &s1, 2, &e));
    CHECK(e.leader == 2 && e.isr.n == 2 && !repl_set_has(&e.isr, 1) && e.elr.n == 0);
    /* Assignment order, not ISR order: replicas {3,1,2}, ISR {1,2,3} -> 3. */
    repl_set r312 = {{3, 1, 2}, 3};
    CHECK(repl_shutdown_move(&r312, 1, &all, &none, &live, &s1, 2, &e) && e.leader == 3);
    /* Only in-sync replicas may take over: 3 is live but out of the ISR -> 2. */
    repl_set isr12 = set3(1, 2, 0);
    CHECK(repl_shutdown_move(&all, 1, &isr12, &none, &live, &s1, 2, &e));
    CHECK(e.leader == 2 && e.isr.n == 1 && repl_set_has(&e.isr, 2));
    /* ... and 1 left an ISR below min.insync: it holds every commit, so it joins the ELR. */
    CHECK(e.elr.n == 1 && repl_set_has(&e.elr, 1));
    /* Nobody else in the ISR: 1 keeps leading and nothing changes. */
    repl_set isr1 = set3(1, 0, 0);
    CHECK(!repl_shutdown_move(&all, 1, &isr1, &none, &live, &s1, 2, &e));
    CHECK(e.leader == 1 && e.isr.n == 1);
    /* The other in-sync replica is dead, or leaving too: 1 keeps leading, and another
     * leaving member gives up its ISR place. */
    repl_set live13 = set3(1, 3, 0);
    CHECK(!repl_shutdown_move(&all, 1, &isr12, &none, &live13, &s1, 2, &e) && e.leader == 1);
    repl_set s12 = set3(1, 2, 0);
    CHECK(repl_shutdown_move(&all, 1, &isr12, &none, &live, &s12, 2, &e));
    CHECK(e.leader == 1 && e.isr.n == 1 && repl_set_has(&e.isr, 1) && repl_set_has(&e.elr, 2));
    /* A follower leaving: only its ISR place moves; the leader stays. */
    repl_set s3 = set3(3, 0, 0);
    CHECK(repl_shutdown_move(&all, 1, &all, &none, &live, &s3, 2, &e));
    CHECK(e.leader == 1 && e.isr.n == 2 && !repl_set_has(&e.isr, 3) && e.elr.n == 0);
    /* Not involved (the leaving broker is not in this ISR), or a dead leader (an election,
     * repl_elect's case): no change. */
    CHECK(!repl_shutdown_move(&all, 1, &isr12, &none, &live, &s3, 2, &e));
    repl_set live23 = set3(2, 3, 0), s2 = set3(2, 0, 0);
    CHECK(!repl_shutdown_move(&all, 1, &all, &none, &live23, &s2, 2, &e) && e.leader == 1);
    CHECK(!repl_shutdown_move(&all, -1, &all, &none, &live, &s1, 2, &e));
    /* Applying the result again changes nothing (the controller converges). */
    CHECK(repl_shutdown_move(&all, 1, &all, &none, &live, &s1, 2, &e));
    repl_election again;
    CHECK(!repl_shutdown_move(&all, e.leader, &e.isr, &e.elr, &live, &s1, 2, &again));
}

static void test_shutting_replica_not_readded(void)
{
    /* 3 left the ISR in a controlled shutdown and still fetches, caught up: the leader
     * does not propose it back; once it is no longer shutting down (restarted), it does. */
    repl_part p = leader(set3(1, 2, 0), 0);
    p.shutting = set3(3, 0, 0);
    repl_out o;
    repl_follower_fetch(&p, 2, 5, 10, 10, &o);
    CHECK_EQ_INT(repl_follower_fetch(&p, 3, 5, 10, 11, &o), KERR_NONE);
    CHECK(!o.propose && !p.proposing);
    p.shutting.n = 0;
    CHECK_EQ_INT(repl_follower_fetch(&p, 3, 5, 10, 12, &o), KERR_NONE);
    CHECK(o.propose && p.proposed.n == 3);
}

/* The frozen HW (repl.h): a shrink below min records max(HW, epoch start) and holds the
 * HW still while it is out; a leader finding the ISR below min with none recorded records
 * one, and one finding a record with the ISR at min clears it before the HW moves again;
 * ZooKeeper's rule (repl_frozen_hw_after) and the cut of a leader elected below min. */
static void test_frozen_hw(void)
{
    repl_part p = leader(set3(1, 2, 0), 0);
    repl_out o;
    o = repl_local_progress(&p, 14, 14, 1);
    repl_follower_fetch(&p, 2, 5, 12, 2, &o);
    CHECK_EQ_INT(p.hw, 12);
    o = repl_tick(&p, 1500); /* 2 lagged (never at the end since 2 ms): proposed out */
    CHECK(o.propose && p.proposed.n == 1);
    CHECK_EQ_INT(p.proposed_frozen_hw, 12);
    repl_follower_fetch(&p, 2, 5, 14, 1501, &o); /* 2 is back, but the shrink is out */
    CHECK(!o.hw_changed);
    CHECK_EQ_INT(p.hw, 12);
    o = repl_proposal_done(&p, true, 8, 1502);
    CHECK_EQ_INT(p.frozen_hw, 12);
    CHECK(p.isr.n == 1 && p.hw == 12);
    /* 2 rejoins: the expansion clears the record and the HW moves again. */
    repl_follower_fetch(&p, 2, 5, 14, 1503, &o);
    CHECK(o.propose && p.proposed.n == 2 && p.proposed_frozen_hw == -1);
    o = repl_proposal_done(&p, true, 9, 1504);
    CHECK_EQ_INT(p.frozen_hw, -1);
    CHECK(o.hw_changed && p.hw == 14);

    /* The controller took the ISR below min: the leader records its HW itself. */
    repl_part q = leader(set3(1, 2, 0), 0);
    repl_follower_fetch(&q, 2, 5, 10, 10, &o);
    CHECK_EQ_INT(q.hw, 10);
    o = repl_state_update(&q, &(repl_set){{1}, 1}, 8, -1, 20);
    CHECK(o.propose && q.proposed.n == 1 && q.proposed_frozen_hw == 10);
    /* min.insync.replicas lowered under a record: cleared first, the HW waits for it. */
    repl_part r = leader(set3(1, 2, 0), 0);
    o = repl_state_update(&r, &(repl_set){{1, 2}, 2}, 8, 7, 20);
    CHECK(o.propose && r.proposed.n == 2 && r.proposed_frozen_hw == -1);
    repl_follower_fetch(&r, 2, 5, 10, 21, &o);
    CHECK(!o.hw_changed && r.hw == 0);
    o = repl_proposal_done(&r, true, 9, 22);
    CHECK(o.hw_changed && r.hw == 10 && r.frozen_hw == -1);
    /* Elected below min with nothing recorded: records its epoch start (its log end). */
    repl_part e;
    repl_init(&e, 1, 2, 1000);
    repl_set all = set3(1, 2, 3), one = set3(1, 0, 0);
    o = repl_become_leader(&e, 6, &all, &one, 7, -1, 30, 30, 5, 0);
    CHECK(o.propose && e.proposed.n == 1 && e.proposed_frozen_hw == 30);

    /* ZooKeeper's rule. */
    CHECK_EQ_INT(repl_frozen_hw_after(2, 1, 2, -1, 12), 12); /* the leader's shrink */
    CHECK_EQ_INT(repl_frozen_hw_after(2, 1, 2, -1, -1), -1); /* the controller's */
    CHECK_EQ_INT(repl_frozen_hw_after(1, 1, 2, 12, 15), 12); /* kept below min */
    CHECK_EQ_INT(repl_frozen_hw_after(1, 1, 2, -1, 15), 15); /* recorded late */
    CHECK_EQ_INT(repl_frozen_hw_after(1, 2, 2, 12, -1), -1); /* back at min */
    CHECK_EQ_INT(repl_frozen_hw_after(2, 3, 2, 12, -1), -1);
    /* The cut. */
    CHECK_EQ_INT(repl_leader_cut(&one, 2, 12, 20), 12);
    CHECK_EQ_INT(repl_leader_cut(&one, 2, 12, 12), -1); /* nothing above it */
    CHECK_EQ_INT(repl_leader_cut(&one, 2, -1, 20), -1); /* nothing recorded */
    CHECK_EQ_INT(repl_leader_cut(&all, 2, 12, 20), -1); /* ISR at min */
}

TU_MAIN(TU_CASE(test_hw_is_min_over_isr), TU_CASE(test_strict_min_isr), TU_CASE(test_frozen_hw),
        TU_CASE(test_expansion_and_shrink_proposals), TU_CASE(test_fetch_errors),
        TU_CASE(test_truncation_offset), TU_CASE(test_elections), TU_CASE(test_shutdown_moves),
        TU_CASE(test_shutting_replica_not_readded))
