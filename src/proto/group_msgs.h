/*
 * group_msgs.h - codecs of the consumer-group APIs and of the transactional offset APIs:
 * JoinGroup 0-9 (6+ flexible), SyncGroup 0-5 (4+), Heartbeat 0-4 (4+), LeaveGroup 0-5
 * (4+), OffsetCommit 2-9 (8+), OffsetFetch 1-9 (6+), DescribeGroups 0-5 (5+), ListGroups
 * 0-5 (3+), DeleteGroups 0-2 (2+), OffsetDelete 0, AddOffsetsToTxn 0-4 (3+; v4 as v3),
 * TxnOffsetCommit 0-5 (3+; v4 and v5 as v3), and KIP-848's ConsumerGroupHeartbeat 0-1 and
 * ConsumerGroupDescribe 0-1 (all flexible: the caller sets r->flex and w->flex).
 *
 * Same contract as msgs.h: decoders check every length, arrays live in the request's
 * arena, strings and bytes borrow the request buffer; encoders write a response body.
 */
#ifndef BROOK_PROTO_GROUP_MSGS_H
#define BROOK_PROTO_GROUP_MSGS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

typedef struct join_protocol {
    kslice name, metadata;
} join_protocol;

typedef struct joingroup_req {
    kslice group_id;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    kslice member_id, group_instance_id, protocol_type;
    int32_t nprotocols;
    join_protocol *protocols;
    kslice reason; /* v8+ (KIP-800), else null */
} joingroup_req;
int joingroup_req_decode(rd *r, int16_t v, arena *a, joingroup_req *q);

typedef struct join_member {
    const char *member_id, *group_instance_id;
    kslice metadata;
} join_member;
typedef struct joingroup_resp {
    int16_t error_code;
    int32_t generation_id;
    const char *protocol_type;  /* v7+ (NULL: null) */
    const char *protocol_name;  /* NULL: null from v7, "" below */
    const char *leader, *member_id;
    int32_t nmembers;
    const join_member *members;
} joingroup_resp;
void joingroup_resp_encode(wr *w, int16_t v, const joingroup_resp *m);

typedef struct sync_assignment {
    kslice member_id, assignment;
} sync_assignment;
typedef struct syncgroup_req {
    kslice group_id;
    int32_t generation_id;
    kslice member_id, group_instance_id;
    kslice protocol_type, protocol_name; /* v5+, else null: checked against the group's */
    int32_t nassignments;
    sync_assignment *assignments;
} syncgroup_req;
int syncgroup_req_decode(rd *r, int16_t v, arena *a, syncgroup_req *q);
/* protocol_type and protocol_name (v5+; NULL: null) are the group's. */
void syncgroup_resp_encode(wr *w, int16_t v, int16_t error_code, const char *protocol_type,
                           const char *protocol_name, const uint8_t *assignment, int32_t len);

typedef struct heartbeat_req {
    kslice group_id;
    int32_t generation_id;
    kslice member_id, group_instance_id;
} heartbeat_req;
int heartbeat_req_decode(rd *r, int16_t v, arena *a, heartbeat_req *q);
/* Heartbeat, LeaveGroup, AddOffsetsToTxn: throttle (v1+ or always) + error. */
void group_error_resp_encode(wr *w, int16_t api_key, int16_t v, int16_t error_code);

/* A member leaving: below v3 the request's one member id; from v3 a list (KIP-345). */
typedef struct leave_member {
    kslice member_id, group_instance_id, reason; /* instance v3+, reason v5+ */
    int16_t error_code;                          /* response */
} leave_member;
typedef struct leavegroup_req {
    kslice group_id;
    kslice member_id; /* below v3 (decoded as members[0]) */
    int32_t nmembers;
    leave_member *members;
    int16_t error_code; /* response: the group's (then no members are listed) */
} leavegroup_req;
int leavegroup_req_decode(rd *r, int16_t v, arena *a, leavegroup_req *q);
/* Below v3: throttle (v1+) and the error (the group's, else the member's). */
void leavegroup_resp_encode(wr *w, int16_t v, const leavegroup_req *q);

typedef struct offset_part {
    int32_t index;
    int64_t offset;
    int32_t leader_epoch;
    kslice metadata;
    int16_t error_code; /* response */
} offset_part;
typedef struct offset_topic {
    kslice name;
    int32_t nparts;
    offset_part *parts;
} offset_topic;

typedef struct offsetcommit_req {
    kslice group_id;
    int32_t generation_id;
    kslice member_id, group_instance_id;
    int32_t ntopics;
    offset_topic *topics;
} offsetcommit_req;
int offsetcommit_req_decode(rd *r, int16_t v, arena *a, offsetcommit_req *q);
/* OffsetCommit and TxnOffsetCommit answer the same shape: topics, partitions, errors. */
void offsetcommit_resp_encode(wr *w, int16_t v, bool txn, const offset_topic *topics,
                              int32_t ntopics);

typedef struct fetch_topic_parts {
    kslice name;
    int32_t nparts;
    int32_t *parts;
} fetch_topic_parts;
/* One group's part of an OffsetFetch (v8+ asks for several; below, exactly one). */
typedef struct offsetfetch_group {
    kslice group_id;
    kslice member_id;     /* v9+ (KIP-848 member), else null */
    int32_t member_epoch; /* v9+, else -1 */
    int32_t ntopics;      /* -1: all */
    fetch_topic_parts *topics;
} offsetfetch_group;
typedef struct offsetfetch_req {
    offsetfetch_group single; /* below v8 (decoded as a copy in groups[0]) */
    int32_t ngroups;
    offsetfetch_group *groups;
    bool require_stable;
} offsetfetch_req;
int offsetfetch_req_decode(rd *r, int16_t v, arena *a, offsetfetch_req *q);
typedef struct offsetfetch_resp {
    kslice group_id; /* v8+ */
    int32_t ntopics;
    offset_topic *topics; /* offset -1 and metadata "" for none */
    int16_t error_code;
} offsetfetch_resp;
/* One answer per group of the request (below v8: m[0] only). */
void offsetfetch_resp_encode(wr *w, int16_t v, const offsetfetch_resp *m, int32_t n);

typedef struct names_req {
    int32_t n;
    kslice *names;
    bool include_authorized_operations; /* DescribeGroups v3+ */
} names_req;
/* DeleteGroups requests: a list of group ids. */
int group_names_req_decode(rd *r, int16_t v, arena *a, names_req *q);
/* DescribeGroups: the list, then (v3+) whether to include the authorized operations. */
int describegroups_req_decode(rd *r, int16_t v, arena *a, names_req *q);

typedef struct described_member {
    const char *member_id, *instance_id, *client_id, *client_host; /* instance: v4+ */
    kslice metadata, assignment;                                   /* {NULL, 0}: empty */
} described_member;
typedef struct described_group {
    int16_t error_code;
    kslice group_id;
    const char *state, *protocol_type, *protocol_data;
    int32_t nmembers;
    described_member *members;
    int32_t authorized_ops; /* v3+: DG_GROUP_OPS_ALL (no ACLs), or INT32_MIN when not asked */
    const char *error_message; /* v6+; NULL: null */
} described_group;
/* Kafka's bit set of the group operations READ (3), DELETE (6) and DESCRIBE (8):
 * 1 << AclOperation. */
#define DG_GROUP_OPS_ALL 0x0148
void describegroups_resp_encode(wr *w, int16_t v, const described_group *g, int32_t n);

/* OffsetDelete (KIP-496): a group and the partitions whose committed offsets go. The
 * response echoes them with per-partition errors and a group-level error. */
typedef struct offsetdelete_part {
    int32_t index;
    int16_t error_code;
} offsetdelete_part;
typedef struct offsetdelete_topic {
    kslice name;
    int32_t nparts;
    offsetdelete_part *parts;
} offsetdelete_topic;
typedef struct offsetdelete_req {
    kslice group_id;
    int32_t ntopics;
    offsetdelete_topic *topics;
    int16_t error_code; /* response */
} offsetdelete_req;
int offsetdelete_req_decode(rd *r, int16_t v, arena *a, offsetdelete_req *q);
void offsetdelete_resp_encode(wr *w, int16_t v, const offsetdelete_req *q);

/* ListGroups request: v4+ the states to list (none: all), v5+ the group types. */
typedef struct listgroups_req {
    int32_t nstates, ntypes;
    kslice *states, *types;
} listgroups_req;
int listgroups_req_decode(rd *r, int16_t v, arena *a, listgroups_req *q);
typedef struct listed_group {
    const char *group_id, *protocol_type;
    const char *state; /* v4+ */
    const char *type;  /* v5+: "classic" or "consumer" (NULL is written as "") */
} listed_group;
void listgroups_resp_encode(wr *w, int16_t v, int16_t error_code, const listed_group *g,
                            int32_t n);
typedef struct deletegroups_result {
    kslice group_id;
    int16_t error_code;
} deletegroups_result;
void deletegroups_resp_encode(wr *w, int16_t v, const deletegroups_result *r, int32_t n);

typedef struct addoffsets_req {
    kslice transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    kslice group_id;
} addoffsets_req;
int addoffsets_req_decode(rd *r, int16_t v, arena *a, addoffsets_req *q);

typedef struct txnoffsetcommit_req {
    kslice transactional_id, group_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t generation_id; /* v3+, else -1 */
    kslice member_id, group_instance_id;
    int32_t ntopics;
    offset_topic *topics;
} txnoffsetcommit_req;
int txnoffsetcommit_req_decode(rd *r, int16_t v, arena *a, txnoffsetcommit_req *q);

/* ---- KIP-848 consumer groups: ConsumerGroupHeartbeat 0-1, ConsumerGroupDescribe 0-1 (all
 * flexible). Topic ids are 16 raw bytes. ---- */
#define CG_ID_LEN 16
typedef struct cg_topic_parts {
    uint8_t topic_id[CG_ID_LEN];
    kslice topic_name; /* ConsumerGroupDescribe answers only */
    int32_t nparts;
    int32_t *parts;
} cg_topic_parts;
/* Kafka's Assignment struct: its topic partitions. */
typedef struct cg_assignment {
    int32_t ntopics;
    const cg_topic_parts *topics;
} cg_assignment;
/* Nullable fields: a null kslice (len -1) or a count of -1 means "null" (not changed). */
typedef struct cg_heartbeat_req {
    kslice group_id, member_id;
    int32_t member_epoch;
    kslice instance_id, rack_id;
    int32_t rebalance_timeout_ms;
    int32_t ntopics; /* SubscribedTopicNames; -1: null */
    kslice *topics;
    kslice regex;    /* v1+, else null */
    kslice server_assignor;
    int32_t nowned;  /* TopicPartitions; -1: null */
    cg_topic_parts *owned;
} cg_heartbeat_req;
int cg_heartbeat_req_decode(rd *r, int16_t v, arena *a, cg_heartbeat_req *q);
typedef struct cg_heartbeat_resp {
    int16_t error_code;
    const char *error_message; /* NULL: null */
    const char *member_id;     /* NULL: null */
    int32_t member_epoch, heartbeat_interval_ms;
    const cg_assignment *assignment; /* NULL: Assignment null */
} cg_heartbeat_resp;
void cg_heartbeat_resp_encode(wr *w, int16_t v, const cg_heartbeat_resp *m);

typedef struct cg_describe_req {
    int32_t ngroups;
    kslice *groups;
    bool include_ops;
} cg_describe_req;
int cg_describe_req_decode(rd *r, int16_t v, arena *a, cg_describe_req *q);
typedef struct cg_described_member {
    const char *member_id, *instance_id, *rack_id; /* instance, rack: NULL is null */
    int32_t member_epoch;
    const char *client_id, *client_host;
    int32_t nsubscribed;
    const char **subscribed;
    const char *regex; /* NULL: null */
    cg_assignment assigned, target;
    int8_t member_type; /* v1+: 1 consumer, 0 classic, -1 unknown */
} cg_described_member;
typedef struct cg_described_group {
    int16_t error_code;
    const char *error_message; /* NULL: null */
    const char *group_id, *state;
    int32_t group_epoch, assignment_epoch;
    const char *assignor;
    int32_t nmembers;
    const cg_described_member *members;
    int32_t authorized_ops; /* INT32_MIN when not asked */
} cg_described_group;
void cg_describe_resp_encode(wr *w, int16_t v, const cg_described_group *g, int32_t n);

/* Dispatches to the decoders above (for the fuzz target). -2: not a group API. */
int group_msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a);

#endif
