/*
 * group.h - the consumer group coordinator: a state machine without I/O.
 *
 * Owns: every group's membership and rebalance state (Kafka's classic protocol), its
 * committed offsets, and offsets committed inside transactions that are still pending
 * (keyed by producer id) until the transaction's marker commits or drops them.
 * It takes events (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, clock ticks, offset
 * commits once durable, transaction markers) and emits actions (answer this request,
 * persist this record) into a queue the driver executes. Offsets and pending offsets
 * change only through group_apply_*(), which the driver calls once their record is
 * durable, so nothing is visible that a crash could take back.
 * Never: performs I/O or reads a clock.
 *
 * States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and Dead
 * (deleted). docs/groups.md has the table; group_transition_allowed() is the code's.
 */
#ifndef BROOK_GROUP_GROUP_H
#define BROOK_GROUP_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "base/buf.h"

enum group_state {
    GROUP_EMPTY = 0,
    GROUP_PREPARING_REBALANCE,
    GROUP_COMPLETING_REBALANCE,
    GROUP_STABLE,
    GROUP_DEAD,
    GROUP_STATE_COUNT
};
const char *group_state_name(int s);
bool group_transition_allowed(int from, int to);

/* The most protocols (assignors) one member may name in JoinGroup; more is
 * INVALID_REQUEST. Clients name a few (Kafka Connect three); matching them across members
 * is a scan per pair, and two members of 100,000 each held the loop 34 s (an adversarial
 * hunt, session 37). */
#define GROUP_PROTOCOLS_MAX 64

typedef uint64_t group_req; /* the driver's token for a parked request; 0: none */

typedef struct gprotocol {
    char *name;
    uint8_t *metadata;
    int32_t len;
} gprotocol;

typedef struct gmember {
    char *id, *instance_id, *client_id, *client_host;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    int nprotocols;
    gprotocol *protocols;
    uint8_t *assignment;
    int32_t assignment_len;
    int64_t deadline_ms; /* session expiry */
    group_req join_req;  /* a JoinGroup waiting for the rebalance to complete */
    int16_t join_version;
    group_req sync_req;  /* a SyncGroup waiting for the leader's assignment */
    char *replaced_id;   /* static member: the id it had before its last restart */
    bool joined;         /* rejoined in the rebalance in progress */
} gmember;

/* A committed (or pending) offset, keyed "topic\0" + partition. */
typedef struct goffset {
    char key[256];
    size_t keylen;
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    uint8_t *metadata; /* commit metadata: any bytes, NUL included (never NULL) */
    int32_t metadata_len;
    int64_t commit_ms;
    int64_t written_ms; /* wall time of its newest record in the offsets topic (service.c
                         * writes an old one again before retention removes it) */
    UT_hash_handle hh;
} goffset;

typedef struct gpending {
    int64_t pid;
    goffset *offsets;
    struct group *g;                     /* the group whose pending offsets these are */
    struct gpending *pid_next, *pid_prev; /* the other groups' entries of pid (gpid_groups) */
    UT_hash_handle hh;
} gpending;

/* Every group's pending offsets of one producer: the index that lets a transaction marker
 * find the groups of its producer without walking all groups (a replayed offsets partition
 * has a marker per transaction: all groups per marker was groups x markers at load). */
typedef struct gpid_groups {
    int64_t pid;
    gpending *list; /* linked by pid_next/pid_prev (utlist DL); never empty while indexed */
    UT_hash_handle hh;
} gpid_groups;

typedef struct gpending_id {
    char *id;
    int64_t deadline_ms;
} gpending_id;

typedef struct group {
    char *id;
    int8_t state;
    char *protocol_type;
    char *protocol_name;
    int32_t generation;
    char *leader;
    gmember **members;
    int nmembers, members_cap;
    gpending_id *pending_ids; /* member ids handed out with MEMBER_ID_REQUIRED */
    int npending_ids, pending_ids_cap;
    int64_t rebalance_deadline_ms;
    int64_t written_ms; /* wall time of its newest 'G' record (service.c writes the record
                         * again before retention removes it; 0: none known) */
    bool initial_join; /* rebalancing from Empty: wait the initial delay for more joiners */
    goffset *offsets;
    gpending *pending; /* by producer id */
    struct cgroup *cg; /* a KIP-848 consumer group's state (cgroup.h); NULL: classic */
    UT_hash_handle hh;
} group;

enum group_action_kind {
    GA_JOIN_REPLY = 0, /* answer a JoinGroup */
    GA_SYNC_REPLY,     /* answer a SyncGroup with the member's assignment */
    GA_REPLY,          /* answer with an error code only (Heartbeat, LeaveGroup) */
    GA_PERSIST_GROUP,  /* persist the group's generation (fire and forget) */
};

typedef struct join_info {
    const char *member_id, *instance_id;
    const uint8_t *metadata;
    int32_t len;
} join_info;

typedef struct group_action {
    int kind;
    group_req req;
    int16_t error;
    int16_t version;
    const group *g;            /* borrowed until the next call */
    const char *member_id;     /* JOIN: the member answered */
    int32_t generation;
    const char *protocol_name, *leader;
    join_info *members;        /* JOIN: the member list, leader only (owned by the action) */
    int32_t nmembers;
    const uint8_t *assignment; /* SYNC: borrowed */
    int32_t assignment_len;
    /* set by the driver: > 0, the answer reports a group record appended up to this
     * offset, to be sent once that is durable; -1 the record could not be appended */
    int64_t persist_end;
} group_action;

typedef struct group_config {
    int32_t min_session_timeout_ms, max_session_timeout_ms;
    int32_t initial_rebalance_delay_ms;
    /* KIP-848 consumer groups (group.consumer.session.timeout.ms, .heartbeat.interval.ms) */
    int32_t cg_session_timeout_ms, cg_heartbeat_interval_ms;
} group_config;

typedef struct group_coord {
    group_config cfg;
    group *groups;
    gpid_groups *by_pid; /* each producer's gpending entries across groups */
    group_action *acts;
    size_t nacts, acts_cap;
    uint64_t id_counter;
    uint64_t rebalances;
} group_coord;

void group_coord_init(group_coord *c, const group_config *cfg);
void group_coord_free(group_coord *c);
void group_coord_clear_actions(group_coord *c);
group *group_find(const group_coord *c, const char *id);
/* The group called id, created (classic, Empty) when there is none. */
group *group_get(group_coord *c, const char *id);

typedef struct join_args {
    const char *group_id, *member_id, *instance_id, *client_id, *client_host, *protocol_type;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    int nprotocols;
    const char **protocol_names;
    const uint8_t **protocol_metadata;
    const int32_t *protocol_len;
    int16_t version;
    const char *new_member_id; /* the driver's fresh id, used if one is needed */
} join_args;

void group_join(group_coord *c, group_req req, const join_args *a, int64_t now_ms);
/* instance_id (group.instance.id, NULL for a dynamic member) is checked as Kafka does:
 * naming a static member that now has another member id is FENCED_INSTANCE_ID. */
void group_sync(group_coord *c, group_req req, int16_t version, const char *group_id,
                int32_t generation, const char *member_id, const char *instance_id, int n,
                const char **member_ids, const uint8_t **assignments, const int32_t *lens,
                int64_t now_ms);
/* Heartbeat and LeaveGroup answer at once: they return the Kafka error code. */
int16_t group_heartbeat(group_coord *c, const char *group_id, int32_t generation,
                        const char *member_id, const char *instance_id, int64_t now_ms);
/* LeaveGroup: the member called member_id, or (instance_id non-NULL, KIP-345) the static
 * member of that instance, whose id must then be member_id unless member_id is empty
 * (FENCED_INSTANCE_ID otherwise). Returns a Kafka error. */
int16_t group_leave(group_coord *c, const char *group_id, const char *member_id,
                    const char *instance_id, int64_t now_ms);
void group_tick(group_coord *c, int64_t now_ms);

/* OffsetCommit / TxnOffsetCommit: may these offsets be stored? (creates a simple group
 * for a generation -1 commit to an unknown group). Returns a Kafka error code. */
int16_t group_commit_check(group_coord *c, const char *group_id, int32_t generation,
                           const char *member_id, const char *instance_id, bool txn,
                           int64_t now_ms);
/* Applies durable offsets: committed (pid < 0) or pending for producer pid. The metadata
 * bytes are copied whole (a null slice stores as empty). */
void group_apply_offset(group_coord *c, const char *group_id, int64_t pid, const char *topic,
                        int32_t partition, int64_t offset, int32_t leader_epoch,
                        kslice metadata, int64_t commit_ms);
/* Applies a durable transaction end: pending offsets of pid become committed or vanish. */
void group_apply_txn_end(group_coord *c, const char *group_id, int64_t pid, bool commit);
/* Applies a durable generation record (replay). */
void group_apply_generation(group_coord *c, const char *group_id, const char *protocol_type,
                            int32_t generation);
/* A malloc'd copy of s (NULL stays NULL), shared with cgroup.c. */
char *group_dup_or_null(const char *s);
/* Record helpers shared with cgroup.c: a nullable string out, and in as a malloc'd copy
 * (NULL for null or malformed). */
void group_put_nstr(wr *w, const char *s);
char *group_get_nstr(rd *r);
/* The classic group's membership, written after the generation in its 'G' record
 * (service.h): in Stable, the protocol, leader and every member with its metadata and
 * assignment; otherwise nothing. */
void group_encode_membership(wr *w, const group *g);
/* Replay of a 'G' record's rest (after group_apply_generation): Stable with those members
 * (their sessions start at the next tick), or no members when there are none or they are
 * malformed. */
void group_apply_membership(group_coord *c, const char *group_id, rd *r);
/* Answers every request parked in the group with err (its coordinator moved away). */
void group_fail_requests(group_coord *c, const char *group_id, int16_t err);
/* Removes a group (durable deletion record). */
void group_apply_delete(group_coord *c, const char *group_id);
/* DeleteGroups check: NONE, GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP. */
int16_t group_delete_check(const group_coord *c, const char *group_id);

/* OffsetDelete check (KIP-496) for the group as a whole: NONE, GROUP_ID_NOT_FOUND, or
 * NON_EMPTY_GROUP for a group with members that does not use the consumer protocol (its
 * subscriptions cannot be read). */
int16_t group_offset_delete_check(const group_coord *c, const char *group_id);
/* Whether a member of g subscribes to topic (consumer protocol subscriptions in the
 * members' metadata for the chosen protocol); an Empty group subscribes to nothing. */
bool group_subscribed_to(const group *g, const char *topic);
/* Removes a committed offset (durable deletion record); absent: nothing. */
void group_apply_offset_delete(group_coord *c, const char *group_id, const char *topic,
                               int32_t partition);

const goffset *group_offset(const group *g, const char *topic, int32_t partition);
/* Records that the committed offset's newest record was written at written_ms (replay:
 * the record's timestamp), if later than what it has. */
void group_offset_written(group_coord *c, const char *group_id, const char *topic,
                          int32_t partition, int64_t written_ms);
/* Whether g has members (classic or consumer protocol). */
bool group_has_members(const group *g);
/* The first of pid's pending offsets across groups (then ->pid_next; ->g is the group), or
 * NULL. Owned by the coordinator: valid until the next call that changes offsets. */
const gpending *group_pending_of_pid(const group_coord *c, int64_t pid);

/* Does some producer have a pending offset for this partition? (require_stable) */
bool group_offset_pending(const group *g, const char *topic, int32_t partition);

#endif
