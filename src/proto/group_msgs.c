/* group_msgs.c - see group_msgs.h. Field layouts follow shared/kafka/SCHEMAS.txt. */
#include "proto/group_msgs.h"

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/ident.h"
#include "proto/schema.h"

static const pf_field g_join_protocol_fields[] = {
    PF_FN("Name", PF_STR, 0, PF_LAST, 0, join_protocol, name),
    PF_FN("Metadata", PF_BYTES, 0, PF_LAST, 0, join_protocol, metadata),
};
static const pf_schema g_join_protocol = PF_SCHEMA("JoinGroupRequestProtocol", join_protocol,
                                                   g_join_protocol_fields);
static const pf_field g_joingroup_req_fields[] = {
    PF_FN("GroupId", PF_STR, 0, PF_LAST, 0, joingroup_req, group_id),
    PF_F("SessionTimeoutMs", PF_I32, 0, PF_LAST, joingroup_req, session_timeout_ms),
    PF_F("RebalanceTimeoutMs", PF_I32, 1, PF_LAST, joingroup_req, rebalance_timeout_ms),
    PF_FN("MemberId", PF_STR, 0, PF_LAST, 0, joingroup_req, member_id),
    PF_FN("GroupInstanceId", PF_STR, 5, PF_LAST, 5, joingroup_req, group_instance_id),
    PF_FN("ProtocolType", PF_STR, 0, PF_LAST, 0, joingroup_req, protocol_type),
    PF_FA("Protocols", PF_STRUCTS, 0, PF_LAST, PF_NEVER, joingroup_req, protocols, nprotocols,
          &g_join_protocol),
    PF_FN("Reason", PF_STR, 8, PF_LAST, 8, joingroup_req, reason), /* KIP-800 */
};
static const pf_schema g_joingroup_req = PF_SCHEMA("JoinGroupRequest", joingroup_req,
                                                   g_joingroup_req_fields);

int joingroup_req_decode(rd *r, int16_t v, arena *a, joingroup_req *q)
{
    if (pf_decode(r, v, a, &g_joingroup_req, q) != 0)
        return -1;
    if (v < 1) /* v0 has no rebalance timeout: the session timeout serves (Kafka's rule) */
        q->rebalance_timeout_ms = q->session_timeout_ms;
    return 0;
}

/* The answers write ids with wr_ident (proto/ident.h): what the client sent, byte for byte;
 * a non-nullable one that is NULL goes out as "". */
static const pf_field g_join_member_fields[] = {
    PF_F("MemberId", PF_IDENT, 0, PF_LAST, join_member, member_id),
    PF_FN("GroupInstanceId", PF_IDENT, 5, PF_LAST, 5, join_member, group_instance_id),
    PF_F("Metadata", PF_BYTES, 0, PF_LAST, join_member, metadata),
};
static const pf_schema g_join_member = PF_SCHEMA("JoinGroupResponseMember", join_member,
                                                 g_join_member_fields);
static const pf_field g_joingroup_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 2, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, joingroup_resp, error_code),
    PF_F("GenerationId", PF_I32, 0, PF_LAST, joingroup_resp, generation_id),
    PF_FN("ProtocolType", PF_IDENT, 7, PF_LAST, 7, joingroup_resp, protocol_type),
    PF_FN("ProtocolName", PF_IDENT, 0, PF_LAST, 7, joingroup_resp, protocol_name),
    PF_F("Leader", PF_IDENT, 0, PF_LAST, joingroup_resp, leader),
    PF_FK("SkipAssignment", PF_BOOL, 9, PF_LAST, 0), /* the leader always assigns (KIP-814) */
    PF_F("MemberId", PF_IDENT, 0, PF_LAST, joingroup_resp, member_id),
    PF_FA("Members", PF_STRUCTS, 0, PF_LAST, PF_NEVER, joingroup_resp, members, nmembers,
          &g_join_member),
};
static const pf_schema g_joingroup_resp = PF_SCHEMA("JoinGroupResponse", joingroup_resp,
                                                    g_joingroup_resp_fields);

void joingroup_resp_encode(wr *w, int16_t v, const joingroup_resp *m)
{
    pf_encode(w, v, &g_joingroup_resp, m);
}

/* SyncGroup and Heartbeat are tables (proto/schema.h). Ids may be null on the wire: the
 * coordinator answers them (UNKNOWN_MEMBER_ID, INVALID_GROUP_ID), as before the tables. */
static const pf_field g_sync_assignment_fields[] = {
    PF_FN("MemberId", PF_STR, 0, PF_LAST, 0, sync_assignment, member_id),
    PF_FN("Assignment", PF_BYTES, 0, PF_LAST, 0, sync_assignment, assignment),
};
static const pf_schema g_sync_assignment = PF_SCHEMA("SyncGroupRequestAssignment",
                                                     sync_assignment, g_sync_assignment_fields);
static const pf_field g_syncgroup_req_fields[] = {
    PF_FN("GroupId", PF_STR, 0, PF_LAST, 0, syncgroup_req, group_id),
    PF_F("GenerationId", PF_I32, 0, PF_LAST, syncgroup_req, generation_id),
    PF_FN("MemberId", PF_STR, 0, PF_LAST, 0, syncgroup_req, member_id),
    PF_FN("GroupInstanceId", PF_STR, 3, PF_LAST, 3, syncgroup_req, group_instance_id),
    PF_FN("ProtocolType", PF_STR, 5, PF_LAST, 5, syncgroup_req, protocol_type),
    PF_FN("ProtocolName", PF_STR, 5, PF_LAST, 5, syncgroup_req, protocol_name),
    PF_FA("Assignments", PF_STRUCTS, 0, PF_LAST, PF_NEVER, syncgroup_req, assignments,
          nassignments, &g_sync_assignment),
};
static const pf_schema g_syncgroup_req = PF_SCHEMA("SyncGroupRequest", syncgroup_req,
                                                   g_syncgroup_req_fields);

int syncgroup_req_decode(rd *r, int16_t v, arena *a, syncgroup_req *q)
{
    return pf_decode(r, v, a, &g_syncgroup_req, q);
}

typedef struct syncgroup_resp {
    int16_t error_code;
    const char *protocol_type, *protocol_name;
    kslice assignment;
} syncgroup_resp;
static const pf_field g_syncgroup_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, syncgroup_resp, error_code),
    PF_FN("ProtocolType", PF_IDENT, 5, PF_LAST, 5, syncgroup_resp, protocol_type),
    PF_FN("ProtocolName", PF_IDENT, 5, PF_LAST, 5, syncgroup_resp, protocol_name),
    PF_F("Assignment", PF_BYTES, 0, PF_LAST, syncgroup_resp, assignment),
};
static const pf_schema g_syncgroup_resp = PF_SCHEMA("SyncGroupResponse", syncgroup_resp,
                                                    g_syncgroup_resp_fields);

void syncgroup_resp_encode(wr *w, int16_t v, int16_t error_code, const char *protocol_type,
                           const char *protocol_name, const uint8_t *assignment, int32_t len)
{
    syncgroup_resp m = {error_code, protocol_type, protocol_name,
                        {assignment, assignment ? len : 0}};
    pf_encode(w, v, &g_syncgroup_resp, &m);
}

static const pf_field g_heartbeat_req_fields[] = {
    PF_FN("GroupId", PF_STR, 0, PF_LAST, 0, heartbeat_req, group_id),
    PF_F("GenerationId", PF_I32, 0, PF_LAST, heartbeat_req, generation_id),
    PF_FN("MemberId", PF_STR, 0, PF_LAST, 0, heartbeat_req, member_id),
    PF_FN("GroupInstanceId", PF_STR, 3, PF_LAST, 3, heartbeat_req, group_instance_id),
};
static const pf_schema g_heartbeat_req = PF_SCHEMA("HeartbeatRequest", heartbeat_req,
                                                   g_heartbeat_req_fields);

int heartbeat_req_decode(rd *r, int16_t v, arena *a, heartbeat_req *q)
{
    return pf_decode(r, v, a, &g_heartbeat_req, q);
}

/* Heartbeat and LeaveGroup below v3 (throttle from v1), AddOffsetsToTxn (throttle always):
 * a throttle and an error. */
typedef struct error_resp {
    int16_t error_code;
} error_resp;
static const pf_field g_error_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, error_resp, error_code),
};
static const pf_schema g_error_resp = PF_SCHEMA("HeartbeatResponse", error_resp,
                                                g_error_resp_fields);
static const pf_field g_addoffsets_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, error_resp, error_code),
};
static const pf_schema g_addoffsets_resp = PF_SCHEMA("AddOffsetsToTxnResponse", error_resp,
                                                     g_addoffsets_resp_fields);

void group_error_resp_encode(wr *w, int16_t api_key, int16_t v, int16_t error_code)
{
    error_resp m = {error_code};
    pf_encode(w, v, api_key == API_ADD_OFFSETS_TO_TXN ? &g_addoffsets_resp : &g_error_resp, &m);
}

/* LeaveGroup: below v3 one MemberId, from v3 (KIP-345) a list of members. */
static const pf_field g_leave_member_fields[] = {
    PF_F("MemberId", PF_STR, 3, PF_LAST, leave_member, member_id),
    PF_FN("GroupInstanceId", PF_STR, 3, PF_LAST, 3, leave_member, group_instance_id),
    PF_FN("Reason", PF_STR, 5, PF_LAST, 5, leave_member, reason), /* KIP-800 */
    PF_LOCAL("ErrorCode", PF_I16, leave_member, error_code, 0),
};
static const pf_schema g_leave_member = PF_SCHEMA("MemberIdentity", leave_member,
                                                  g_leave_member_fields);
static const pf_field g_leavegroup_req_fields[] = {
    PF_F("GroupId", PF_STR, 0, PF_LAST, leavegroup_req, group_id),
    PF_F("MemberId", PF_STR, 0, 2, leavegroup_req, member_id),
    PF_FA("Members", PF_STRUCTS, 3, PF_LAST, PF_NEVER, leavegroup_req, members, nmembers,
          &g_leave_member),
    PF_LOCAL("ErrorCode", PF_I16, leavegroup_req, error_code, 0),
};
static const pf_schema g_leavegroup_req = PF_SCHEMA("LeaveGroupRequest", leavegroup_req,
                                                    g_leavegroup_req_fields);

static const pf_field g_leave_result_fields[] = {
    PF_F("MemberId", PF_STR, 3, PF_LAST, leave_member, member_id),
    PF_FN("GroupInstanceId", PF_STR, 3, PF_LAST, 3, leave_member, group_instance_id),
    PF_F("ErrorCode", PF_I16, 3, PF_LAST, leave_member, error_code),
};
static const pf_schema g_leave_result = PF_SCHEMA("MemberResponse", leave_member,
                                                  g_leave_result_fields);
static const pf_field g_leavegroup_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, leavegroup_req, error_code),
    PF_FA("Members", PF_STRUCTS, 3, PF_LAST, PF_NEVER, leavegroup_req, members, nmembers,
          &g_leave_result),
};
static const pf_schema g_leavegroup_resp = PF_SCHEMA("LeaveGroupResponse", leavegroup_req,
                                                     g_leavegroup_resp_fields);

int leavegroup_req_decode(rd *r, int16_t v, arena *a, leavegroup_req *q)
{
    if (pf_decode(r, v, a, &g_leavegroup_req, q) != 0)
        return -1;
    if (v >= 3)
        return 0;
    /* Below v3 the one MemberId becomes a list of one, so the handler sees one shape. */
    q->members = arena_array(a, 1, sizeof(leave_member));
    if (!q->members)
        return -1;
    q->nmembers = 1;
    q->members[0] = (leave_member){q->member_id, KSLICE_NULL, KSLICE_NULL, KERR_NONE};
    return 0;
}

void leavegroup_resp_encode(wr *w, int16_t v, const leavegroup_req *q)
{
    leavegroup_req m = *q;
    if (v < 3 && m.error_code == KERR_NONE) /* the one member's error is the answer's */
        m.error_code = m.members[0].error_code;
    if (m.error_code != KERR_NONE) /* a group-level error lists no members */
        m.nmembers = 0;
    pf_encode(w, v, &g_leavegroup_resp, &m);
}

/* OffsetCommit and TxnOffsetCommit: topics with partitions carrying (offset, leader epoch
 * (OffsetCommit v6+, TxnOffsetCommit v2+), metadata). Ids and topic names may be null on
 * the wire: the handler answers them, as before the tables. */
static const pf_field g_commit_part_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, offset_part, index),
    PF_F("CommittedOffset", PF_I64, 0, PF_LAST, offset_part, offset),
    PF_FD("CommittedLeaderEpoch", PF_I32, 6, PF_LAST, offset_part, leader_epoch, -1),
    PF_FK("CommitTimestamp", PF_I64, 1, 1, -1), /* v1 only (not served) */
    PF_FN("CommittedMetadata", PF_STR, 0, PF_LAST, 0, offset_part, metadata),
    PF_LOCAL("ErrorCode", PF_I16, offset_part, error_code, 0),
};
static const pf_schema g_commit_part = PF_SCHEMA("OffsetCommitRequestPartition", offset_part,
                                                 g_commit_part_fields);
static const pf_field g_commit_topic_fields[] = {
    PF_FN("Name", PF_STR, 0, PF_LAST, 0, offset_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offset_topic, parts, nparts,
          &g_commit_part),
};
static const pf_schema g_commit_topic = PF_SCHEMA("OffsetCommitRequestTopic", offset_topic,
                                                  g_commit_topic_fields);
static const pf_field g_offsetcommit_req_fields[] = {
    PF_FN("GroupId", PF_STR, 0, PF_LAST, 0, offsetcommit_req, group_id),
    PF_FD("GenerationIdOrMemberEpoch", PF_I32, 1, PF_LAST, offsetcommit_req, generation_id,
          -1),
    PF_FN("MemberId", PF_STR, 1, PF_LAST, 0, offsetcommit_req, member_id),
    PF_FN("GroupInstanceId", PF_STR, 7, PF_LAST, 7, offsetcommit_req, group_instance_id),
    PF_FK("RetentionTimeMs", PF_I64, 2, 4, -1), /* brokers decide retention */
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offsetcommit_req, topics, ntopics,
          &g_commit_topic),
};
static const pf_schema g_offsetcommit_req = PF_SCHEMA("OffsetCommitRequest", offsetcommit_req,
                                                      g_offsetcommit_req_fields);

int offsetcommit_req_decode(rd *r, int16_t v, arena *a, offsetcommit_req *q)
{
    return pf_decode(r, v, a, &g_offsetcommit_req, q);
}

/* Both answers: topics, partitions, errors (the array of topics not in a struct of its
 * own in the callers, hence this one). */
typedef struct offset_topics {
    int32_t ntopics;
    const offset_topic *topics;
} offset_topics;
static const pf_field g_commit_rpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, offset_part, index),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, offset_part, error_code),
};
static const pf_schema g_commit_rpart = PF_SCHEMA("OffsetCommitResponsePartition", offset_part,
                                                  g_commit_rpart_fields);
static const pf_field g_commit_rtopic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, offset_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offset_topic, parts, nparts,
          &g_commit_rpart),
};
static const pf_schema g_commit_rtopic = PF_SCHEMA("OffsetCommitResponseTopic", offset_topic,
                                                   g_commit_rtopic_fields);
static const pf_field g_offsetcommit_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 3, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offset_topics, topics, ntopics,
          &g_commit_rtopic),
};
static const pf_schema g_offsetcommit_resp = PF_SCHEMA("OffsetCommitResponse", offset_topics,
                                                       g_offsetcommit_resp_fields);
static const pf_field g_txnoffsetcommit_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offset_topics, topics, ntopics,
          &g_commit_rtopic),
};
static const pf_schema g_txnoffsetcommit_resp =
    PF_SCHEMA("TxnOffsetCommitResponse", offset_topics, g_txnoffsetcommit_resp_fields);

void offsetcommit_resp_encode(wr *w, int16_t v, bool txn, const offset_topic *topics,
                              int32_t ntopics)
{
    offset_topics m = {ntopics, topics};
    pf_encode(w, v, txn ? &g_txnoffsetcommit_resp : &g_offsetcommit_resp, &m);
}

/* OffsetFetch: below v8 one group's fields at the top of the request, from v8 a list of
 * groups. A group's topics are null for "all", from v2. */
static const pf_field g_fetch_topic_fields[] = {
    PF_FN("Name", PF_STR, 0, PF_LAST, 0, fetch_topic_parts, name),
    PF_FA("PartitionIndexes", PF_I32S, 0, PF_LAST, PF_NEVER, fetch_topic_parts, parts, nparts,
          NULL),
};
static const pf_schema g_fetch_topic = PF_SCHEMA("OffsetFetchRequestTopic", fetch_topic_parts,
                                                 g_fetch_topic_fields);
static const pf_field g_fetch_group_fields[] = {
    PF_F("GroupId", PF_STR, 8, PF_LAST, offsetfetch_group, group_id),
    PF_FN("MemberId", PF_STR, 9, PF_LAST, 9, offsetfetch_group, member_id), /* KIP-848 */
    PF_FD("MemberEpoch", PF_I32, 9, PF_LAST, offsetfetch_group, member_epoch, -1),
    PF_FA("Topics", PF_STRUCTS, 8, PF_LAST, 8, offsetfetch_group, topics, ntopics,
          &g_fetch_topic),
};
static const pf_schema g_fetch_group = PF_SCHEMA("OffsetFetchRequestGroup", offsetfetch_group,
                                                 g_fetch_group_fields);
static const pf_field g_offsetfetch_req_fields[] = {
    PF_F("GroupId", PF_STR, 0, 7, offsetfetch_req, single.group_id),
    PF_FA("Topics", PF_STRUCTS, 0, 7, 2, offsetfetch_req, single.topics, single.ntopics,
          &g_fetch_topic),
    PF_LOCAL("MemberId", PF_STR, offsetfetch_req, single.member_id, 0),
    PF_LOCAL("MemberEpoch", PF_I32, offsetfetch_req, single.member_epoch, -1),
    PF_FA("Groups", PF_STRUCTS, 8, PF_LAST, PF_NEVER, offsetfetch_req, groups, ngroups,
          &g_fetch_group),
    PF_F("RequireStable", PF_BOOL, 7, PF_LAST, offsetfetch_req, require_stable),
};
static const pf_schema g_offsetfetch_req = PF_SCHEMA("OffsetFetchRequest", offsetfetch_req,
                                                     g_offsetfetch_req_fields);

int offsetfetch_req_decode(rd *r, int16_t v, arena *a, offsetfetch_req *q)
{
    if (pf_decode(r, v, a, &g_offsetfetch_req, q) != 0)
        return -1;
    if (v >= 8)
        return 0;
    /* Below v8 the request's one group becomes a list of one, as from v8. */
    q->groups = arena_array(a, 1, sizeof(offsetfetch_group));
    if (!q->groups)
        return -1;
    q->ngroups = 1;
    q->groups[0] = q->single;
    return 0;
}

/* The answer: below v8 the one group's topics and error at the top, from v8 a list. A
 * partition's metadata is written "" when none (not nullable here, unlike Kafka's). */
static const pf_field g_fetch_rpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, offset_part, index),
    PF_F("CommittedOffset", PF_I64, 0, PF_LAST, offset_part, offset),
    PF_F("CommittedLeaderEpoch", PF_I32, 5, PF_LAST, offset_part, leader_epoch),
    PF_F("Metadata", PF_STR, 0, PF_LAST, offset_part, metadata),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, offset_part, error_code),
};
static const pf_schema g_fetch_rpart = PF_SCHEMA("OffsetFetchResponsePartition", offset_part,
                                                 g_fetch_rpart_fields);
static const pf_field g_fetch_rtopic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, offset_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offset_topic, parts, nparts,
          &g_fetch_rpart),
};
static const pf_schema g_fetch_rtopic = PF_SCHEMA("OffsetFetchResponseTopic", offset_topic,
                                                  g_fetch_rtopic_fields);
static const pf_field g_fetch_rgroup_fields[] = {
    PF_F("GroupId", PF_STR, 8, PF_LAST, offsetfetch_resp, group_id),
    PF_FA("Topics", PF_STRUCTS, 8, PF_LAST, PF_NEVER, offsetfetch_resp, topics, ntopics,
          &g_fetch_rtopic),
    PF_F("ErrorCode", PF_I16, 8, PF_LAST, offsetfetch_resp, error_code),
};
static const pf_schema g_fetch_rgroup = PF_SCHEMA("OffsetFetchResponseGroup", offsetfetch_resp,
                                                  g_fetch_rgroup_fields);
typedef struct offsetfetch_answer {
    offsetfetch_resp single; /* below v8 */
    int32_t ngroups;
    const offsetfetch_resp *groups; /* v8+ */
} offsetfetch_answer;
static const pf_field g_offsetfetch_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 3, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, 7, PF_NEVER, offsetfetch_answer, single.topics,
          single.ntopics, &g_fetch_rtopic),
    PF_F("ErrorCode", PF_I16, 2, 7, offsetfetch_answer, single.error_code),
    PF_FA("Groups", PF_STRUCTS, 8, PF_LAST, PF_NEVER, offsetfetch_answer, groups, ngroups,
          &g_fetch_rgroup),
};
static const pf_schema g_offsetfetch_resp = PF_SCHEMA("OffsetFetchResponse", offsetfetch_answer,
                                                      g_offsetfetch_resp_fields);

void offsetfetch_resp_encode(wr *w, int16_t v, const offsetfetch_resp *m, int32_t n)
{
    BROOK_ASSERT(v >= 8 || n == 1);
    offsetfetch_answer x = {m[0], n, m};
    pf_encode(w, v, &g_offsetfetch_resp, &x);
}

/* DeleteGroups' and DescribeGroups' requests: group ids (never null, as Kafka's schema
 * says), DescribeGroups from v3 whether to include the authorized operations. */
static const pf_field g_deletegroups_req_fields[] = {
    PF_FA("GroupsNames", PF_STRS, 0, PF_LAST, PF_NEVER, names_req, names, n, NULL),
};
static const pf_schema g_deletegroups_req = PF_SCHEMA("DeleteGroupsRequest", names_req,
                                                      g_deletegroups_req_fields);
static const pf_field g_describegroups_req_fields[] = {
    PF_FA("Groups", PF_STRS, 0, PF_LAST, PF_NEVER, names_req, names, n, NULL),
    PF_F("IncludeAuthorizedOperations", PF_BOOL, 3, PF_LAST, names_req,
         include_authorized_operations),
};
static const pf_schema g_describegroups_req = PF_SCHEMA("DescribeGroupsRequest", names_req,
                                                        g_describegroups_req_fields);

int group_names_req_decode(rd *r, int16_t v, arena *a, names_req *q)
{
    return pf_decode(r, v, a, &g_deletegroups_req, q);
}

/* OffsetDelete (v0 only): a group, its topics and their partitions; nothing is null. */
static const pf_field g_offdel_part_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, offsetdelete_part, index),
    PF_LOCAL("ErrorCode", PF_I16, offsetdelete_part, error_code, 0),
};
static const pf_schema g_offdel_part = PF_SCHEMA("OffsetDeleteRequestPartition",
                                                 offsetdelete_part, g_offdel_part_fields);
static const pf_field g_offdel_topic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, offsetdelete_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offsetdelete_topic, parts, nparts,
          &g_offdel_part),
};
static const pf_schema g_offdel_topic = PF_SCHEMA("OffsetDeleteRequestTopic",
                                                  offsetdelete_topic, g_offdel_topic_fields);
static const pf_field g_offsetdelete_req_fields[] = {
    PF_F("GroupId", PF_STR, 0, PF_LAST, offsetdelete_req, group_id),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offsetdelete_req, topics, ntopics,
          &g_offdel_topic),
    PF_LOCAL("ErrorCode", PF_I16, offsetdelete_req, error_code, 0),
};
static const pf_schema g_offsetdelete_req = PF_SCHEMA("OffsetDeleteRequest", offsetdelete_req,
                                                      g_offsetdelete_req_fields);
static const pf_field g_offdel_rpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, offsetdelete_part, index),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, offsetdelete_part, error_code),
};
static const pf_schema g_offdel_rpart = PF_SCHEMA("OffsetDeleteResponsePartition",
                                                  offsetdelete_part, g_offdel_rpart_fields);
static const pf_field g_offdel_rtopic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, offsetdelete_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offsetdelete_topic, parts, nparts,
          &g_offdel_rpart),
};
static const pf_schema g_offdel_rtopic = PF_SCHEMA("OffsetDeleteResponseTopic",
                                                   offsetdelete_topic, g_offdel_rtopic_fields);
static const pf_field g_offsetdelete_resp_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, offsetdelete_req, error_code),
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offsetdelete_req, topics, ntopics,
          &g_offdel_rtopic),
};
static const pf_schema g_offsetdelete_resp = PF_SCHEMA("OffsetDeleteResponse", offsetdelete_req,
                                                       g_offsetdelete_resp_fields);

int offsetdelete_req_decode(rd *r, int16_t v, arena *a, offsetdelete_req *q)
{
    return pf_decode(r, v, a, &g_offsetdelete_req, q);
}

void offsetdelete_resp_encode(wr *w, int16_t v, const offsetdelete_req *q)
{
    offsetdelete_req m = *q;
    if (m.error_code != KERR_NONE) /* a group-level error answers with no topics, as Kafka's */
        m.ntopics = 0;
    pf_encode(w, v, &g_offsetdelete_resp, &m);
}

static const pf_field g_listgroups_req_fields[] = {
    PF_FA("StatesFilter", PF_STRS, 4, PF_LAST, PF_NEVER, listgroups_req, states, nstates, NULL),
    PF_FA("TypesFilter", PF_STRS, 5, PF_LAST, PF_NEVER, listgroups_req, types, ntypes, NULL),
};
static const pf_schema g_listgroups_req = PF_SCHEMA("ListGroupsRequest", listgroups_req,
                                                    g_listgroups_req_fields);

int listgroups_req_decode(rd *r, int16_t v, arena *a, listgroups_req *q)
{
    return pf_decode(r, v, a, &g_listgroups_req, q);
}

int describegroups_req_decode(rd *r, int16_t v, arena *a, names_req *q)
{
    return pf_decode(r, v, a, &g_describegroups_req, q);
}

static const pf_field g_described_member_fields[] = {
    PF_F("MemberId", PF_IDENT, 0, PF_LAST, described_member, member_id),
    PF_FN("GroupInstanceId", PF_IDENT, 4, PF_LAST, 4, described_member, instance_id),
    PF_F("ClientId", PF_IDENT, 0, PF_LAST, described_member, client_id),
    PF_F("ClientHost", PF_CSTR, 0, PF_LAST, described_member, client_host),
    PF_F("MemberMetadata", PF_BYTES, 0, PF_LAST, described_member, metadata),
    PF_F("MemberAssignment", PF_BYTES, 0, PF_LAST, described_member, assignment),
};
static const pf_schema g_described_member =
    PF_SCHEMA("DescribedGroupMember", described_member, g_described_member_fields);
static const pf_field g_described_group_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, described_group, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 6, PF_LAST, 6, described_group, error_message), /* 1043 */
    PF_F("GroupId", PF_STR, 0, PF_LAST, described_group, group_id),
    PF_F("GroupState", PF_CSTR, 0, PF_LAST, described_group, state),
    PF_F("ProtocolType", PF_IDENT, 0, PF_LAST, described_group, protocol_type),
    PF_F("ProtocolData", PF_IDENT, 0, PF_LAST, described_group, protocol_data),
    PF_FA("Members", PF_STRUCTS, 0, PF_LAST, PF_NEVER, described_group, members, nmembers,
          &g_described_member),
    PF_F("AuthorizedOperations", PF_I32, 3, PF_LAST, described_group, authorized_ops),
};
static const pf_schema g_described_group = PF_SCHEMA("DescribedGroup", described_group,
                                                     g_described_group_fields);
typedef struct described_groups {
    int32_t n;
    const described_group *groups;
} described_groups;
static const pf_field g_describegroups_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_FA("Groups", PF_STRUCTS, 0, PF_LAST, PF_NEVER, described_groups, groups, n,
          &g_described_group),
};
static const pf_schema g_describegroups_resp =
    PF_SCHEMA("DescribeGroupsResponse", described_groups, g_describegroups_resp_fields);

void describegroups_resp_encode(wr *w, int16_t v, const described_group *g, int32_t n)
{
    described_groups m = {n, g};
    pf_encode(w, v, &g_describegroups_resp, &m);
}

static const pf_field g_listed_group_fields[] = {
    PF_F("GroupId", PF_IDENT, 0, PF_LAST, listed_group, group_id),
    PF_F("ProtocolType", PF_IDENT, 0, PF_LAST, listed_group, protocol_type),
    PF_F("GroupState", PF_IDENT, 4, PF_LAST, listed_group, state),
    PF_F("GroupType", PF_IDENT, 5, PF_LAST, listed_group, type),
};
static const pf_schema g_listed_group = PF_SCHEMA("ListedGroup", listed_group,
                                                  g_listed_group_fields);
typedef struct listed_groups {
    int16_t error_code;
    int32_t n;
    const listed_group *groups;
} listed_groups;
static const pf_field g_listgroups_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, listed_groups, error_code),
    PF_FA("Groups", PF_STRUCTS, 0, PF_LAST, PF_NEVER, listed_groups, groups, n,
          &g_listed_group),
};
static const pf_schema g_listgroups_resp = PF_SCHEMA("ListGroupsResponse", listed_groups,
                                                     g_listgroups_resp_fields);

void listgroups_resp_encode(wr *w, int16_t v, int16_t error_code, const listed_group *g,
                            int32_t n)
{
    listed_groups m = {error_code, n, g};
    pf_encode(w, v, &g_listgroups_resp, &m);
}

static const pf_field g_deletegroups_result_fields[] = {
    PF_F("GroupId", PF_STR, 0, PF_LAST, deletegroups_result, group_id),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, deletegroups_result, error_code),
};
static const pf_schema g_deletegroups_result =
    PF_SCHEMA("DeletableGroupResult", deletegroups_result, g_deletegroups_result_fields);
typedef struct deletegroups_results {
    int32_t n;
    const deletegroups_result *results;
} deletegroups_results;
static const pf_field g_deletegroups_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Results", PF_STRUCTS, 0, PF_LAST, PF_NEVER, deletegroups_results, results, n,
          &g_deletegroups_result),
};
static const pf_schema g_deletegroups_resp =
    PF_SCHEMA("DeleteGroupsResponse", deletegroups_results, g_deletegroups_resp_fields);

void deletegroups_resp_encode(wr *w, int16_t v, const deletegroups_result *r, int32_t n)
{
    deletegroups_results m = {n, r};
    pf_encode(w, v, &g_deletegroups_resp, &m);
}

/* Every version has the same fields (v3+ flexible; v4 only adds TRANSACTION_ABORTABLE). */
/* Null ids are answered by the handler (INVALID_REQUEST / INVALID_GROUP_ID), so they are
 * nullable on the wire here. */
static const pf_field g_addoffsets_req_fields[] = {
    PF_FN("TransactionalId", PF_STR, 0, PF_LAST, 0, addoffsets_req, transactional_id),
    PF_F("ProducerId", PF_I64, 0, PF_LAST, addoffsets_req, producer_id),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, addoffsets_req, producer_epoch),
    PF_FN("GroupId", PF_STR, 0, PF_LAST, 0, addoffsets_req, group_id),
};
static const pf_schema g_addoffsets_req = PF_SCHEMA("AddOffsetsToTxnRequest", addoffsets_req,
                                                    g_addoffsets_req_fields);

int addoffsets_req_decode(rd *r, int16_t v, arena *a, addoffsets_req *q)
{
    return pf_decode(r, v, a, &g_addoffsets_req, q);
}

/* TxnOffsetCommit: v4 (TRANSACTION_ABORTABLE) and v5 (transactions v2, KIP-890) have v3's
 * layout. Ids and topic names may be null on the wire, as OffsetCommit's. */
static const pf_field g_txncommit_part_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, offset_part, index),
    PF_F("CommittedOffset", PF_I64, 0, PF_LAST, offset_part, offset),
    PF_FD("CommittedLeaderEpoch", PF_I32, 2, PF_LAST, offset_part, leader_epoch, -1),
    PF_FN("CommittedMetadata", PF_STR, 0, PF_LAST, 0, offset_part, metadata),
    PF_LOCAL("ErrorCode", PF_I16, offset_part, error_code, 0),
};
static const pf_schema g_txncommit_part = PF_SCHEMA("TxnOffsetCommitRequestPartition",
                                                    offset_part, g_txncommit_part_fields);
static const pf_field g_txncommit_topic_fields[] = {
    PF_FN("Name", PF_STR, 0, PF_LAST, 0, offset_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, offset_topic, parts, nparts,
          &g_txncommit_part),
};
static const pf_schema g_txncommit_topic = PF_SCHEMA("TxnOffsetCommitRequestTopic",
                                                     offset_topic, g_txncommit_topic_fields);
static const pf_field g_txnoffsetcommit_req_fields[] = {
    PF_FN("TransactionalId", PF_STR, 0, PF_LAST, 0, txnoffsetcommit_req, transactional_id),
    PF_FN("GroupId", PF_STR, 0, PF_LAST, 0, txnoffsetcommit_req, group_id),
    PF_F("ProducerId", PF_I64, 0, PF_LAST, txnoffsetcommit_req, producer_id),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, txnoffsetcommit_req, producer_epoch),
    PF_FD("GenerationId", PF_I32, 3, PF_LAST, txnoffsetcommit_req, generation_id, -1),
    PF_FN("MemberId", PF_STR, 3, PF_LAST, 0, txnoffsetcommit_req, member_id), /* null below */
    PF_FN("GroupInstanceId", PF_STR, 3, PF_LAST, 3, txnoffsetcommit_req, group_instance_id),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, txnoffsetcommit_req, topics, ntopics,
          &g_txncommit_topic),
};
static const pf_schema g_txnoffsetcommit_req =
    PF_SCHEMA("TxnOffsetCommitRequest", txnoffsetcommit_req, g_txnoffsetcommit_req_fields);

int txnoffsetcommit_req_decode(rd *r, int16_t v, arena *a, txnoffsetcommit_req *q)
{
    return pf_decode(r, v, a, &g_txnoffsetcommit_req, q);
}

/* ---- KIP-848: ConsumerGroupHeartbeat, ConsumerGroupDescribe (every version flexible) ---- */

/* Topic partitions: a topic id (16 raw bytes), in ConsumerGroupDescribe's answers its name
 * too, and partition indexes. */
static const pf_field g_cg_owned_fields[] = {
    PF_F("TopicId", PF_UUID, 0, PF_LAST, cg_topic_parts, topic_id),
    PF_FA("Partitions", PF_I32S, 0, PF_LAST, PF_NEVER, cg_topic_parts, parts, nparts, NULL),
    PF_LOCAL("TopicName", PF_STR, cg_topic_parts, topic_name, 0), /* not on this wire */
};
static const pf_schema g_cg_owned = PF_SCHEMA("TopicPartitions", cg_topic_parts,
                                              g_cg_owned_fields);
/* Null ids are refused; null lists mean "not changed" (count -1). */
static const pf_field g_cg_heartbeat_req_fields[] = {
    PF_F("GroupId", PF_STR, 0, PF_LAST, cg_heartbeat_req, group_id),
    PF_F("MemberId", PF_STR, 0, PF_LAST, cg_heartbeat_req, member_id),
    PF_F("MemberEpoch", PF_I32, 0, PF_LAST, cg_heartbeat_req, member_epoch),
    PF_FN("InstanceId", PF_STR, 0, PF_LAST, 0, cg_heartbeat_req, instance_id),
    PF_FN("RackId", PF_STR, 0, PF_LAST, 0, cg_heartbeat_req, rack_id),
    PF_F("RebalanceTimeoutMs", PF_I32, 0, PF_LAST, cg_heartbeat_req, rebalance_timeout_ms),
    PF_FA("SubscribedTopicNames", PF_STRS, 0, PF_LAST, 0, cg_heartbeat_req, topics, ntopics,
          NULL),
    PF_FN("SubscribedTopicRegex", PF_STR, 1, PF_LAST, 1, cg_heartbeat_req, regex),
    PF_FN("ServerAssignor", PF_STR, 0, PF_LAST, 0, cg_heartbeat_req, server_assignor),
    PF_FA("TopicPartitions", PF_STRUCTS, 0, PF_LAST, 0, cg_heartbeat_req, owned, nowned,
          &g_cg_owned),
};
static const pf_schema g_cg_heartbeat_req =
    PF_SCHEMA("ConsumerGroupHeartbeatRequest", cg_heartbeat_req, g_cg_heartbeat_req_fields);

int cg_heartbeat_req_decode(rd *r, int16_t v, arena *a, cg_heartbeat_req *q)
{
    return pf_decode(r, v, a, &g_cg_heartbeat_req, q);
}

static const pf_field g_cg_hb_parts_fields[] = {
    PF_F("TopicId", PF_UUID, 0, PF_LAST, cg_topic_parts, topic_id),
    PF_FA("Partitions", PF_I32S, 0, PF_LAST, PF_NEVER, cg_topic_parts, parts, nparts, NULL),
};
static const pf_schema g_cg_hb_parts = PF_SCHEMA("TopicPartitions", cg_topic_parts,
                                                 g_cg_hb_parts_fields);
static const pf_field g_cg_hb_assignment_fields[] = {
    PF_FA("TopicPartitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, cg_assignment, topics, ntopics,
          &g_cg_hb_parts),
};
static const pf_schema g_cg_hb_assignment = PF_SCHEMA("Assignment", cg_assignment,
                                                      g_cg_hb_assignment_fields);
static const pf_field g_cg_heartbeat_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, cg_heartbeat_resp, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, cg_heartbeat_resp, error_message),
    PF_FN("MemberId", PF_IDENT, 0, PF_LAST, 0, cg_heartbeat_resp, member_id),
    PF_F("MemberEpoch", PF_I32, 0, PF_LAST, cg_heartbeat_resp, member_epoch),
    PF_F("HeartbeatIntervalMs", PF_I32, 0, PF_LAST, cg_heartbeat_resp, heartbeat_interval_ms),
    PF_FSN("Assignment", 0, PF_LAST, 0, cg_heartbeat_resp, assignment, &g_cg_hb_assignment),
};
static const pf_schema g_cg_heartbeat_resp =
    PF_SCHEMA("ConsumerGroupHeartbeatResponse", cg_heartbeat_resp, g_cg_heartbeat_resp_fields);

void cg_heartbeat_resp_encode(wr *w, int16_t v, const cg_heartbeat_resp *m)
{
    pf_encode(w, v, &g_cg_heartbeat_resp, m);
}

static const pf_field g_cg_describe_req_fields[] = {
    PF_FA("GroupIds", PF_STRS, 0, PF_LAST, PF_NEVER, cg_describe_req, groups, ngroups, NULL),
    PF_F("IncludeAuthorizedOperations", PF_BOOL, 0, PF_LAST, cg_describe_req, include_ops),
};
static const pf_schema g_cg_describe_req =
    PF_SCHEMA("ConsumerGroupDescribeRequest", cg_describe_req, g_cg_describe_req_fields);

int cg_describe_req_decode(rd *r, int16_t v, arena *a, cg_describe_req *q)
{
    return pf_decode(r, v, a, &g_cg_describe_req, q);
}

static const pf_field g_cg_desc_parts_fields[] = {
    PF_F("TopicId", PF_UUID, 0, PF_LAST, cg_topic_parts, topic_id),
    PF_F("TopicName", PF_STR, 0, PF_LAST, cg_topic_parts, topic_name),
    PF_FA("Partitions", PF_I32S, 0, PF_LAST, PF_NEVER, cg_topic_parts, parts, nparts, NULL),
};
static const pf_schema g_cg_desc_parts = PF_SCHEMA("TopicPartitions", cg_topic_parts,
                                                   g_cg_desc_parts_fields);
static const pf_field g_cg_desc_assignment_fields[] = {
    PF_FA("TopicPartitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, cg_assignment, topics, ntopics,
          &g_cg_desc_parts),
};
static const pf_schema g_cg_desc_assignment = PF_SCHEMA("Assignment", cg_assignment,
                                                        g_cg_desc_assignment_fields);
static const pf_field g_cg_member_fields[] = {
    PF_F("MemberId", PF_IDENT, 0, PF_LAST, cg_described_member, member_id),
    PF_FN("InstanceId", PF_IDENT, 0, PF_LAST, 0, cg_described_member, instance_id),
    PF_FN("RackId", PF_IDENT, 0, PF_LAST, 0, cg_described_member, rack_id),
    PF_F("MemberEpoch", PF_I32, 0, PF_LAST, cg_described_member, member_epoch),
    PF_F("ClientId", PF_IDENT, 0, PF_LAST, cg_described_member, client_id),
    PF_F("ClientHost", PF_CSTR, 0, PF_LAST, cg_described_member, client_host),
    PF_FA("SubscribedTopicNames", PF_IDENTS, 0, PF_LAST, PF_NEVER, cg_described_member,
          subscribed, nsubscribed, NULL),
    PF_FN("SubscribedTopicRegex", PF_IDENT, 0, PF_LAST, 0, cg_described_member, regex),
    PF_FS("Assignment", 0, PF_LAST, -1, cg_described_member, assigned, &g_cg_desc_assignment),
    PF_FS("TargetAssignment", 0, PF_LAST, -1, cg_described_member, target,
          &g_cg_desc_assignment),
    PF_F("MemberType", PF_I8, 1, PF_LAST, cg_described_member, member_type),
};
static const pf_schema g_cg_member = PF_SCHEMA("Member", cg_described_member,
                                               g_cg_member_fields);
static const pf_field g_cg_described_group_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, cg_described_group, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, cg_described_group, error_message),
    PF_F("GroupId", PF_IDENT, 0, PF_LAST, cg_described_group, group_id),
    PF_F("GroupState", PF_CSTR, 0, PF_LAST, cg_described_group, state),
    PF_F("GroupEpoch", PF_I32, 0, PF_LAST, cg_described_group, group_epoch),
    PF_F("AssignmentEpoch", PF_I32, 0, PF_LAST, cg_described_group, assignment_epoch),
    PF_F("AssignorName", PF_IDENT, 0, PF_LAST, cg_described_group, assignor),
    PF_FA("Members", PF_STRUCTS, 0, PF_LAST, PF_NEVER, cg_described_group, members, nmembers,
          &g_cg_member),
    PF_F("AuthorizedOperations", PF_I32, 0, PF_LAST, cg_described_group, authorized_ops),
};
static const pf_schema g_cg_described_group =
    PF_SCHEMA("DescribedGroup", cg_described_group, g_cg_described_group_fields);
typedef struct cg_described_groups {
    int32_t n;
    const cg_described_group *groups;
} cg_described_groups;
static const pf_field g_cg_describe_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Groups", PF_STRUCTS, 0, PF_LAST, PF_NEVER, cg_described_groups, groups, n,
          &g_cg_described_group),
};
static const pf_schema g_cg_describe_resp =
    PF_SCHEMA("ConsumerGroupDescribeResponse", cg_described_groups, g_cg_describe_resp_fields);

void cg_describe_resp_encode(wr *w, int16_t v, const cg_described_group *g, int32_t n)
{
    cg_described_groups m = {n, g};
    pf_encode(w, v, &g_cg_describe_resp, &m);
}

int group_msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a)
{
    union {
        joingroup_req jg;
        syncgroup_req sg;
        heartbeat_req hb;
        leavegroup_req lg;
        offsetcommit_req oc;
        offsetfetch_req of;
        names_req nr;
        listgroups_req lgr;
        offsetdelete_req od;
        addoffsets_req ao;
        txnoffsetcommit_req to;
        cg_heartbeat_req cgh;
        cg_describe_req cgd;
    } u;
    switch (api_key) {
    case API_JOIN_GROUP: return joingroup_req_decode(r, version, a, &u.jg);
    case API_SYNC_GROUP: return syncgroup_req_decode(r, version, a, &u.sg);
    case API_HEARTBEAT: return heartbeat_req_decode(r, version, a, &u.hb);
    case API_LEAVE_GROUP: return leavegroup_req_decode(r, version, a, &u.lg);
    case API_OFFSET_COMMIT: return offsetcommit_req_decode(r, version, a, &u.oc);
    case API_OFFSET_FETCH: return offsetfetch_req_decode(r, version, a, &u.of);
    case API_DESCRIBE_GROUPS: return describegroups_req_decode(r, version, a, &u.nr);
    case API_DELETE_GROUPS: return group_names_req_decode(r, version, a, &u.nr);
    case API_LIST_GROUPS: return listgroups_req_decode(r, version, a, &u.lgr);
    case API_OFFSET_DELETE: return offsetdelete_req_decode(r, version, a, &u.od);
    case API_ADD_OFFSETS_TO_TXN: return addoffsets_req_decode(r, version, a, &u.ao);
    case API_TXN_OFFSET_COMMIT: return txnoffsetcommit_req_decode(r, version, a, &u.to);
    case API_CONSUMER_GROUP_HEARTBEAT: return cg_heartbeat_req_decode(r, version, a, &u.cgh);
    case API_CONSUMER_GROUP_DESCRIBE: return cg_describe_req_decode(r, version, a, &u.cgd);
    }
    return -2;
}
