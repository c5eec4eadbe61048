/*
 * repl.h - replication of one partition: a state machine without I/O.
 *
 * Owns: a replica's role (leader, follower or none) in a leader epoch; as leader, the
 * in-sync replica set (ISR) as ZooKeeper last committed it, at most one proposed change
 * to it, what each follower has reported durable, and the high watermark; as follower,
 * whom to fetch from and where a diverging log must be cut. Plus the controller's rule
 * for electing a leader after a failure (repl_elect).
 *
 * The rules (docs/replication.md has them with the reasons):
 *   - A follower fetches from its durable end: the fetch offset it sends is its report
 *     that everything below is fsynced on it (Brook's acks=all promise).
 *   - HW = min(leader's durable end, every reported end of ISR members, and of members a
 *     pending change would add), and it moves only while the committed ISR has at least
 *     min.insync.replicas members (KIP-966's strict rule). It never moves back.
 *   - A shrink takes effect only once ZooKeeper committed it (version-checked), so a
 *     replaced leader, whose writes fail, never stops waiting for a replica it lost.
 *   - A follower joins the ISR once its end reaches max(HW, the start of this epoch); it
 *     leaves when it has not been caught up for replica.lag.time.max.ms.
 *   - The frozen HW: a leader whose ISR falls below min.insync.replicas records with it
 *     max(HW, start of its epoch), the offset no acknowledged record reaches past (its HW
 *     stops there; a proposal that takes the ISR below min stops it already), or records
 *     it on finding the ISR below min with none recorded (the controller took it there).
 *     It stays recorded while the ISR stays below min, and the HW does not move while one
 *     is recorded (a leader seeing one with the ISR at min clears it first: the topic's
 *     min.insync.replicas changed). A leader elected while the ISR is
 *     below min cuts its log back to it before it starts its epoch (repl_leader_cut): the
 *     tail above was never acknowledged, and a producer may already have sent those
 *     records again under new sequence numbers (docs/reliability.md).
 * Events come in (becoming leader/follower, local appends and fsyncs, follower fetches,
 * clock ticks, ZooKeeper's answers); the caller reads the results from the struct and
 * the returned repl_out.
 * Never: performs I/O, reads a clock, or knows about requests, logs or ZooKeeper.
 */
#ifndef BROOK_REPL_REPL_H
#define BROOK_REPL_REPL_H

#include <stdbool.h>
#include <stdint.h>

#define REPL_MAX_REPLICAS 8

enum repl_role { REPL_NONE = 0, REPL_LEADER, REPL_FOLLOWER };

typedef struct repl_set {
    int32_t id[REPL_MAX_REPLICAS];
    int n;
} repl_set;

bool repl_set_has(const repl_set *s, int32_t id);
void repl_set_add(repl_set *s, int32_t id);
void repl_set_remove(repl_set *s, int32_t id);
bool repl_set_equal(const repl_set *a, const repl_set *b);

/* The leader's memory of one follower. */
typedef struct repl_peer {
    int32_t id;
    int64_t end;              /* durable end it last reported; -1 before its first fetch */
    int64_t last_caught_up_ms;
    int64_t prev_fetch_ms;    /* when its previous fetch came ... */
    int64_t prev_fetch_leo;   /* ... and the leader's log end then */
} repl_peer;

typedef struct repl_part {
    int32_t self;
    int role;                 /* enum repl_role */
    int32_t leader;           /* the current leader (-1: none) */
    int32_t epoch;            /* leader epoch */
    repl_set replicas;        /* the assignment, preferred leader first */
    repl_set isr;             /* as last committed in ZooKeeper */
    int32_t state_version;    /* the partition state's version that ISR came with */
    bool proposing;           /* a change to the ISR is with ZooKeeper */
    repl_set proposed;
    repl_peer peers[REPL_MAX_REPLICAS];
    int npeers;
    int64_t leo, durable;     /* the local log */
    int64_t hw;
    int64_t epoch_start;      /* leader: the log end when it took this epoch */
    int32_t min_isr;
    int64_t lag_max_ms;
    repl_set shutting;        /* replicas in controlled shutdown: never added to the ISR */
    int64_t frozen_hw;        /* the partition state's (cv_part): -1 none */
    int64_t proposed_frozen_hw; /* sent with the proposal: -1 none */
} repl_part;

typedef struct repl_out {
    bool hw_changed; /* p->hw moved: answer waiting acks=all produces, wake fetches */
    bool propose;    /* send p->proposed (and p->proposed_frozen_hw) to ZooKeeper */
} repl_out;

void repl_init(repl_part *p, int32_t self, int32_t min_isr, int64_t lag_max_ms);
/* The partition state's frozen HW after an ISR change from old_n to new_n members, given
 * the recorded one (old_frozen) and the one a leader's proposal carries (proposed; -1 for
 * the controller's changes): cleared at min or above, taken from the proposal when the
 * change crosses below min or none is recorded yet, else kept. */
int64_t repl_frozen_hw_after(int old_n, int new_n, int32_t min_isr, int64_t old_frozen,
                             int64_t proposed);
/* Where a replica elected leader with this ISR and the state's frozen HW must cut its
 * log (leo) before it starts its epoch, or -1: leave it. */
int64_t repl_leader_cut(const repl_set *isr, int32_t min_isr, int64_t frozen_hw, int64_t leo);
/* This replica leads `epoch` (its log already cut by repl_leader_cut). hw: what it knew as
 * follower (never more than its log); frozen_hw: the partition state's. */
repl_out repl_become_leader(repl_part *p, int32_t epoch, const repl_set *replicas,
                            const repl_set *isr, int32_t state_version, int64_t frozen_hw,
                            int64_t leo, int64_t durable, int64_t hw, int64_t now_ms);
/* This replica follows `leader` in `epoch` (leader -1: none yet). */
void repl_become_follower(repl_part *p, int32_t leader, int32_t epoch, const repl_set *replicas,
                          const repl_set *isr, int32_t state_version);
/* ZooKeeper's partition state changed without a leadership change for this replica (the
 * controller shrank or grew the ISR): take it. */
repl_out repl_state_update(repl_part *p, const repl_set *isr, int32_t state_version,
                           int64_t frozen_hw, int64_t now_ms);
/* The local log moved (append, fsync, truncation). */
repl_out repl_local_progress(repl_part *p, int64_t leo, int64_t durable, int64_t now_ms);
/* Leader: follower `id` fetched from `fetch_offset` with its current_leader_epoch. Returns
 * a Kafka error code (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
 * OFFSET_OUT_OF_RANGE) or 0, and what changed in *out. */
int16_t repl_follower_fetch(repl_part *p, int32_t id, int32_t leader_epoch, int64_t fetch_offset,
                            int64_t now_ms, repl_out *out);
/* Leader: drops laggards from the ISR (a proposal), or records the frozen HW, and
 * re-proposes nothing while one is out. */
repl_out repl_tick(repl_part *p, int64_t now_ms);
/* ZooKeeper's answer to the proposal: committed with new_version, or refused (the state
 * changed under it: the caller re-reads it and calls repl_state_update or repl_become_*). */
repl_out repl_proposal_done(repl_part *p, bool committed, int32_t new_version, int64_t now_ms);
/* Follower: the leader's high watermark arrived with a fetch answer. */
void repl_follower_hw(repl_part *p, int64_t leader_hw);
/* May a produce with acks=all be appended now? (the ISR holds min.insync.replicas) */
bool repl_accepts_acks_all(const repl_part *p);

/* Follower: where to cut the log after the leader said the fetch diverged at
 * (div_epoch, div_end), given what the local log answers for div_epoch
 * (log_epoch_end_offset: local_epoch, local_end), its end and its high watermark.
 * Kafka's rule: when both know the epoch, the smaller end; when the follower does not,
 * the end of its largest epoch below it (the next fetch then narrows it down); when the
 * leader knows none of it, the high watermark. Never past the log end. */
int64_t repl_truncation_offset(int32_t div_epoch, int64_t div_end, int32_t local_epoch,
                               int64_t local_end, int64_t leo, int64_t hw);

/* The controller's election for a partition whose leader is gone or must change: the
 * first replica (in assignment order) that is live and in the ISR; failing that, one in
 * the ELR (eligible leader replicas: members removed from an ISR below min.insync, which
 * therefore hold every committed record, KIP-966). Never an unclean choice: -1 when none.
 * The new ISR drops dead members; a member dropped while the ISR is below min.insync
 * joins the ELR; an ISR back at min.insync clears it. */
typedef struct repl_election {
    int32_t leader;
    repl_set isr, elr;
} repl_election;
repl_election repl_elect(const repl_set *replicas, const repl_set *isr, const repl_set *elr,
                         const repl_set *live, int32_t min_isr);

/* Controlled shutdown: the controller's move for a partition with a live leader while the
 * live replicas in `shutting` leave cleanly (their brokers asked to). A shutting-down
 * leader hands over to the first replica (assignment order) that is live, in the ISR and
 * not shutting down; with none it keeps leading (nothing to move to: a handover to a
 * replica outside the ISR would be unclean). Then every shutting-down member but the
 * leader leaves the ISR, so the high watermark stops waiting for it; one that leaves an
 * ISR below min_isr joins the ELR (it holds every committed record), as at a failure, and
 * an ISR at min_isr or more clears the ELR. *out gets the result; returns true when
 * anything changed (the caller bumps the leader epoch when the leader did). A dead or
 * missing leader is repl_elect's case: false, *out unchanged from the input. */
bool repl_shutdown_move(const repl_set *replicas, int32_t leader, const repl_set *isr,
                        const repl_set *elr, const repl_set *live, const repl_set *shutting,
                        int32_t min_isr, repl_election *out);

#endif
