/*
 * cgroup.h - consumer groups of the KIP-848 protocol (ConsumerGroupHeartbeat): a state
 * machine without I/O, part of the group coordinator (group.h).
 *
 * Owns: a consumer group's epochs (the group epoch, bumped by every change of membership,
 * subscriptions or subscribed topics' metadata; the assignment epoch of the target
 * assignment), the server-side assignors ("uniform", "range"), and each member's
 * reconciliation: its member epoch, the partitions it may use now, those it must revoke
 * first, and its target. A partition goes to a member only once no other member holds it
 * (assigned or still being revoked): never two owners at once.
 * Also owns the byte format of its two records in __consumer_offsets (service.h stores
 * them): 'C' group -> epochs and assignor, 'M' group, member -> the member's whole state.
 * Never: performs I/O, reads a clock, or looks topics up itself (the driver passes a
 * snapshot of the topics with every heartbeat).
 *
 * Member states: STABLE (has its target, epoch = assignment epoch), UNREVOKED (must give
 * partitions up first; epoch unchanged), UNRELEASED (at the target epoch, waiting for
 * partitions others still hold). docs/groups.md has the table.
 */
#ifndef BROOK_GROUP_CGROUP_H
#define BROOK_GROUP_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "group/group.h"

#define CG_TOPIC_ID_LEN 16
#define CG_ASSIGNOR_DEFAULT "uniform"

enum cmember_state { CM_STABLE = 0, CM_UNREVOKED, CM_UNRELEASED, CM_STATE_COUNT };
const char *cmember_state_name(int s);

typedef struct cg_tp {
    uint8_t topic[CG_TOPIC_ID_LEN];
    int32_t part;
} cg_tp;

/* A set of partitions, sorted by (topic id, partition), no duplicates. */
typedef struct cg_set {
    cg_tp *v;
    int n, cap;
} cg_set;
bool cg_set_has(const cg_set *s, const cg_tp *tp);

/* One topic as the driver sees it now. The array passed in is sorted by name. */
typedef struct cg_topic_info {
    const char *name;
    uint8_t id[CG_TOPIC_ID_LEN];
    int32_t nparts;
    bool internal; /* never matched by a regex */
} cg_topic_info;

typedef struct cmember {
    char *id, *instance_id, *rack_id, *client_id, *client_host;
    char **topics; /* subscribed names */
    int ntopics;
    char *regex;    /* subscribed regex (whole-name match), NULL: none */
    void *rx;           /* the regex compiled once (a regex_t), NULL when there is none */
    bool regex_pending; /* set by the last heartbeat: resolved at the next tick (as Kafka
                         * resolves regexes off the heartbeat path, then bumps the epoch) */
    char *assignor; /* the member's ServerAssignor, NULL: none asked */
    int32_t epoch, prev_epoch;
    int8_t state;
    int32_t rebalance_timeout_ms;
    cg_set assigned, revoking, target;
    int64_t session_deadline_ms, revoke_deadline_ms; /* 0: set at the next tick */
    bool left_static; /* a static member that left with epoch -2: kept for its session */
    bool dirty;       /* its record is due */
    int64_t written_ms; /* wall time of its newest 'M' record (the service's bookkeeping) */
} cmember;

typedef struct cgroup {
    int32_t group_epoch, assignment_epoch;
    cmember **members;
    int nmembers, cap;
    uint64_t meta_hash; /* of the subscribed topics' ids and partition counts */
    char *assignor;     /* the one used for the target */
    char **removed;     /* members whose tombstones are due */
    int nremoved, removed_cap;
    bool dirty;         /* the group record is due */
    int64_t written_ms; /* wall time of its newest 'C' record (the service's bookkeeping) */
} cgroup;

typedef struct cg_hb_args {
    const char *group_id, *member_id;
    int32_t member_epoch;
    const char *instance_id, *rack_id; /* NULL: null */
    int32_t rebalance_timeout_ms;      /* -1: unchanged */
    int ntopics;                       /* -1: unchanged */
    const char **topics;
    const char *regex;    /* NULL: unchanged; "": none */
    const char *assignor; /* NULL: unchanged */
    int nowned;           /* -1: null */
    const cg_tp *owned;
    const char *client_id, *client_host;
    int16_t version;
    const char *new_member_id; /* v0: the id a joining member gets */
} cg_hb_args;

typedef struct cg_hb_result {
    int16_t error;
    const char *message;   /* static text, NULL: none */
    const char *member_id; /* borrowed from the member until the next call */
    int32_t member_epoch, heartbeat_interval_ms;
    const cg_set *assignment; /* NULL: not sent (unchanged) */
} cg_hb_result;

/* ConsumerGroupHeartbeat: join (epoch 0), heartbeat (the member's epoch), leave (-1) or
 * leave for now as a static member (-2). Answers at once; the records it made due
 * (cgroup dirty, members dirty, removed) must be persisted before the answer is sent. */
void cgroup_heartbeat(group_coord *c, const cg_hb_args *a, const cg_topic_info *topics,
                      int ntopics, int64_t now_ms, cg_hb_result *out);
/* Session expiry and revocation timeouts (members removed, group epoch bumped). */
void cgroup_tick(group_coord *c, group *g, int64_t now_ms);

/* OffsetCommit / TxnOffsetCommit by a member of a consumer group: NONE, UNKNOWN_MEMBER_ID,
 * STALE_MEMBER_EPOCH (older epoch), FENCED_MEMBER_EPOCH (newer), UNSUPPORTED_VERSION (a
 * non-transactional commit below v9). An anonymous commit (epoch < 0, no member) passes
 * only while the group has no members. */
int16_t cgroup_commit_check(const group *g, const char *member_id, int32_t epoch, bool txn,
                            int16_t version);
/* OffsetFetch v9+ naming a member: NONE, UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH. */
int16_t cgroup_fetch_check(const group *g, const char *member_id, int32_t epoch);
/* "Empty", "Assigning", "Reconciling" or "Stable". */
const char *cgroup_state_name(const group *g);
bool cgroup_subscribed_to(const group *g, const char *topic);
/* Ends a consumer group's membership state (the group becomes classic and Empty). */
void cgroup_free(cgroup *cg);
/* Checks that no partition has two holders and every member's sets are sorted sets;
 * returns false (and says why in why[256]) when one is broken. */
bool cgroup_check(const group *g, char *why);

/* Records (service.h): encode the group's or a member's state; apply one on replay (r
 * NULL: the member's tombstone). Applying makes the group a consumer group. */
void cgroup_encode_meta(wr *w, const cgroup *cg);
void cgroup_encode_member(wr *w, const cmember *m);
void cgroup_apply_meta(group_coord *c, const char *group_id, rd *r);
void cgroup_apply_member(group_coord *c, const char *group_id, const char *member_id, rd *r);
/* The member called id, NULL: none. */
cmember *cgroup_member(const cgroup *cg, const char *id);
/* Marks everything persisted: clears dirty flags and the removed list. */
void cgroup_clean(cgroup *cg);

/* The simulator's hazard mode (tests/sim/sim_cgroup.c): hand a partition over while
 * another member still holds it. Always false in the broker. */
extern bool cgroup_hazard_no_release_wait;

#endif
