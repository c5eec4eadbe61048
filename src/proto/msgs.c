/* msgs.c - see msgs.h. Field layouts follow shared/kafka/SCHEMAS.txt version by version. */
#include "proto/msgs.h"

#include <stdlib.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/group_msgs.h"
#include "proto/ident.h"
#include "proto/inter_msgs.h"
#include "proto/quota_msgs.h"
#include "proto/schema.h"
#include "proto/sec_msgs.h"

/* ---------------- ApiVersions ---------------- */

static const pf_field g_apiversions_req_fields[] = {
    PF_FN("ClientSoftwareName", PF_STR, 3, PF_LAST, 0, apiversions_req, client_software_name),
    PF_FN("ClientSoftwareVersion", PF_STR, 3, PF_LAST, 0, apiversions_req,
          client_software_version),
};
static const pf_schema g_apiversions_req = PF_SCHEMA("ApiVersionsRequest", apiversions_req,
                                                     g_apiversions_req_fields);

int apiversions_req_decode(rd *r, int16_t v, arena *a, apiversions_req *q)
{
    return pf_decode(r, v, a, &g_apiversions_req, q);
}

/* The answer's ApiKeys are api.c's rows themselves. */
static const pf_field g_apiv_key_fields[] = {
    PF_F("ApiKey", PF_I16, 0, PF_LAST, api_info, key),
    PF_F("MinVersion", PF_I16, 0, PF_LAST, api_info, min_version),
    PF_F("MaxVersion", PF_I16, 0, PF_LAST, api_info, max_version),
};
static const pf_schema g_apiv_key = PF_SCHEMA("ApiVersion", api_info, g_apiv_key_fields);
static const pf_field g_apiv_supported_fields[] = {
    PF_F("Name", PF_CSTR, 3, PF_LAST, apiv_feature, name),
    PF_F("MinVersion", PF_I16, 3, PF_LAST, apiv_feature, min),
    PF_F("MaxVersion", PF_I16, 3, PF_LAST, apiv_feature, max),
};
static const pf_schema g_apiv_supported =
    PF_SCHEMA("SupportedFeatureKey", apiv_feature, g_apiv_supported_fields);
static const pf_field g_apiv_finalized_fields[] = {
    PF_F("Name", PF_CSTR, 3, PF_LAST, apiv_feature, name),
    PF_F("MaxVersionLevel", PF_I16, 3, PF_LAST, apiv_feature, max),
    PF_F("MinVersionLevel", PF_I16, 3, PF_LAST, apiv_feature, min),
};
static const pf_schema g_apiv_finalized =
    PF_SCHEMA("FinalizedFeatureKey", apiv_feature, g_apiv_finalized_fields);
typedef struct apiv_resp_wire {
    int16_t error_code;
    int32_t napis;
    const api_info *apis;
    int32_t nsupported;
    const apiv_feature *supported;
    int64_t finalized_epoch;
    int32_t nfinalized;
    const apiv_feature *finalized;
} apiv_resp_wire;
/* The tagged fields are left out at their defaults (no features, epoch -1). Kafka's
 * ZkMigrationReady (tag 3, v3+) is never sent: false is its default. */
static const pf_field g_apiv_resp_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, apiv_resp_wire, error_code),
    PF_FA("ApiKeys", PF_STRUCTS, 0, PF_LAST, PF_NEVER, apiv_resp_wire, apis, napis,
          &g_apiv_key),
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_FAT("SupportedFeatures", PF_STRUCTS, 3, PF_LAST, 0, apiv_resp_wire, supported,
           nsupported, &g_apiv_supported),
    PF_FT("FinalizedFeaturesEpoch", PF_I64, 3, PF_LAST, 1, apiv_resp_wire, finalized_epoch,
          -1),
    PF_FAT("FinalizedFeatures", PF_STRUCTS, 3, PF_LAST, 2, apiv_resp_wire, finalized,
           nfinalized, &g_apiv_finalized),
};
static const pf_schema g_apiv_resp =
    PF_SCHEMA("ApiVersionsResponse", apiv_resp_wire, g_apiv_resp_fields);

void apiversions_resp_encode(wr *w, int16_t v, int16_t error_code)
{
    apiversions_resp_encode_features(w, v, error_code, NULL, 0, -1, NULL, 0);
}

/* Below v4 a supported feature with MinVersion 0 is not sent (KAFKA-17011). */
static bool apiv_feature_sent(int16_t v, const apiv_feature *f) { return v >= 4 || f->min != 0; }

void apiversions_resp_encode_features(wr *w, int16_t v, int16_t error_code,
                                      const apiv_feature *supported, int nsupported,
                                      int64_t finalized_epoch, const apiv_feature *finalized,
                                      int nfinalized)
{
    int n;
    apiv_resp_wire m = {error_code, 0, api_table(&n), nsupported, supported,
                        finalized_epoch, nfinalized, finalized};
    m.napis = n;
    /* KAFKA-17011: the table is handed a copy without the features not to send. */
    apiv_feature *kept = NULL;
    int nsent = 0;
    for (int i = 0; i < nsupported; i++)
        nsent += apiv_feature_sent(v, &supported[i]);
    if (v >= 3 && nsent < nsupported) {
        kept = nsent > 0 ? malloc(sizeof(*kept) * (size_t)nsent) : NULL;
        if (nsent > 0 && !kept) {
            w->oom = true;
            return;
        }
        for (int i = 0, k = 0; i < nsupported; i++)
            if (apiv_feature_sent(v, &supported[i]))
                kept[k++] = supported[i];
        m.nsupported = nsent;
        m.supported = kept;
    }
    pf_encode(w, v, &g_apiv_resp, &m);
    free(kept);
}

/* ---------------- Metadata ---------------- */

static const pf_field g_md_req_topic_fields[] = {
    PF_F("TopicId", PF_UUID, 10, PF_LAST, md_req_topic, id),
    PF_FN("Name", PF_STR, 0, PF_LAST, 10, md_req_topic, name),
};
static const pf_schema g_md_req_topic =
    PF_SCHEMA("MetadataRequestTopic", md_req_topic, g_md_req_topic_fields);
static const pf_field g_metadata_req_fields[] = {
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, 1, metadata_req, topics, ntopics, &g_md_req_topic),
    PF_FD("AllowAutoTopicCreation", PF_BOOL, 4, PF_LAST, metadata_req, allow_auto_create, 1),
    PF_F("IncludeClusterAuthorizedOperations", PF_BOOL, 8, 10, metadata_req,
         include_cluster_ops),
    PF_F("IncludeTopicAuthorizedOperations", PF_BOOL, 8, PF_LAST, metadata_req,
         include_topic_ops),
};
static const pf_schema g_metadata_req =
    PF_SCHEMA("MetadataRequest", metadata_req, g_metadata_req_fields);

int metadata_req_decode(rd *r, int16_t v, arena *a, metadata_req *q)
{
    if (pf_decode(r, v, a, &g_metadata_req, q) != 0)
        return -1;
    if (v == 0 && q->ntopics == 0)
        q->ntopics = -1; /* v0: an empty list means every topic */
    return 0;
}

/* Brokers in Metadata and DescribeCluster (IsFenced, DescribeCluster v2+: Brook lists only
 * live, registered brokers). */
static const pf_field g_md_broker_fields[] = {
    PF_F("NodeId", PF_I32, 0, PF_LAST, md_broker, node_id),
    PF_F("Host", PF_CSTR, 0, PF_LAST, md_broker, host),
    PF_F("Port", PF_I32, 0, PF_LAST, md_broker, port),
    PF_FN("Rack", PF_CSTR, 1, PF_LAST, 0, md_broker, rack),
};
static const pf_schema g_md_broker =
    PF_SCHEMA("MetadataResponseBroker", md_broker, g_md_broker_fields);
static const pf_field g_md_partition_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, md_partition, error_code),
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, md_partition, index),
    PF_F("LeaderId", PF_I32, 0, PF_LAST, md_partition, leader),
    PF_F("LeaderEpoch", PF_I32, 7, PF_LAST, md_partition, leader_epoch),
    PF_FA("ReplicaNodes", PF_I32S, 0, PF_LAST, PF_NEVER, md_partition, replicas, nreplicas,
          NULL),
    PF_FA("IsrNodes", PF_I32S, 0, PF_LAST, PF_NEVER, md_partition, isr, nisr, NULL),
    PF_FK("OfflineReplicas", PF_I32S, 5, PF_LAST, 0),
};
static const pf_schema g_md_partition =
    PF_SCHEMA("MetadataResponsePartition", md_partition, g_md_partition_fields);
static const pf_field g_md_topic_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, md_topic, error_code),
    PF_FN("Name", PF_STR, 0, PF_LAST, 12, md_topic, name),
    PF_F("TopicId", PF_UUID, 10, PF_LAST, md_topic, id),
    PF_F("IsInternal", PF_BOOL, 1, PF_LAST, md_topic, is_internal),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, md_topic, partitions, npartitions,
          &g_md_partition),
    PF_F("TopicAuthorizedOperations", PF_I32, 8, PF_LAST, md_topic, authorized_ops),
};
static const pf_schema g_md_topic = PF_SCHEMA("MetadataResponseTopic", md_topic,
                                              g_md_topic_fields);
static const pf_field g_metadata_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 3, PF_LAST, 0),
    PF_FA("Brokers", PF_STRUCTS, 0, PF_LAST, PF_NEVER, metadata_resp, brokers, nbrokers,
          &g_md_broker),
    PF_FN("ClusterId", PF_CSTR, 2, PF_LAST, 2, metadata_resp, cluster_id),
    PF_F("ControllerId", PF_I32, 1, PF_LAST, metadata_resp, controller_id),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, metadata_resp, topics, ntopics,
          &g_md_topic),
    PF_F("ClusterAuthorizedOperations", PF_I32, 8, 10, metadata_resp, cluster_ops),
    /* KIP-1102: REBOOTSTRAP_REQUIRED never applies */
    PF_FK("ErrorCode", PF_I16, 13, PF_LAST, 0),
};
static const pf_schema g_metadata_resp =
    PF_SCHEMA("MetadataResponse", metadata_resp, g_metadata_resp_fields);

void metadata_resp_encode(wr *w, int16_t v, metadata_resp *m)
{
    for (int32_t i = 0; i < m->ntopics && !m->ops_given; i++) {
        md_topic *t = &m->topics[i];
        t->authorized_ops = m->include_topic_ops && t->error_code != KERR_UNKNOWN_TOPIC_ID
                                ? MD_TOPIC_OPS_ALL
                                : INT32_MIN;
    }
    if (!m->ops_given)
        m->cluster_ops = m->include_cluster_ops ? MD_CLUSTER_OPS_ALL : INT32_MIN;
    pf_encode(w, v, &g_metadata_resp, m); /* a null name below v12 goes out as "" */
}

/* ---------------- Produce ---------------- */

static const pf_field g_produce_part_fields[] = {
    PF_F("Index", PF_I32, 0, PF_LAST, produce_part, index),
    PF_FN("Records", PF_BYTES, 0, PF_LAST, 0, produce_part, records),
    PF_LOCAL("BaseOffset", PF_I64, produce_part, base_offset, -1),
    PF_LOCAL("LogAppendTimeMs", PF_I64, produce_part, log_append_time, -1),
    PF_LOCAL("LogStartOffset", PF_I64, produce_part, log_start_offset, -1),
};
static const pf_schema g_produce_part =
    PF_SCHEMA("PartitionProduceData", produce_part, g_produce_part_fields);
static const pf_field g_produce_topic_fields[] = {
    PF_F("Name", PF_STR, 0, 12, produce_topic, name),
    PF_F("TopicId", PF_UUID, 13, PF_LAST, produce_topic, id),
    PF_FA("PartitionData", PF_STRUCTS, 0, PF_LAST, PF_NEVER, produce_topic, parts, nparts,
          &g_produce_part),
};
static const pf_schema g_produce_topic =
    PF_SCHEMA("TopicProduceData", produce_topic, g_produce_topic_fields);
static const pf_field g_produce_req_fields[] = {
    PF_FN("TransactionalId", PF_STR, 3, PF_LAST, 3, produce_req, transactional_id),
    PF_F("Acks", PF_I16, 0, PF_LAST, produce_req, acks),
    PF_F("TimeoutMs", PF_I32, 0, PF_LAST, produce_req, timeout_ms),
    PF_FA("TopicData", PF_STRUCTS, 0, PF_LAST, PF_NEVER, produce_req, topics, ntopics,
          &g_produce_topic),
};
static const pf_schema g_produce_req =
    PF_SCHEMA("ProduceRequest", produce_req, g_produce_req_fields);

int produce_req_decode(rd *r, int16_t v, arena *a, produce_req *q)
{
    q->by_id = v >= 13;
    q->throttle_time_ms = 0;
    return pf_decode(r, v, a, &g_produce_req, q);
}

static const pf_field g_produce_record_error_fields[] = {
    PF_F("BatchIndex", PF_I32, 8, PF_LAST, produce_record_error, index),
    PF_FN("BatchIndexErrorMessage", PF_CSTR, 8, PF_LAST, 8, produce_record_error, message),
};
static const pf_schema g_produce_record_error =
    PF_SCHEMA("BatchIndexAndErrorMessage", produce_record_error, g_produce_record_error_fields);
static const pf_field g_produce_rpart_fields[] = {
    PF_F("Index", PF_I32, 0, PF_LAST, produce_part, index),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, produce_part, error_code),
    PF_F("BaseOffset", PF_I64, 0, PF_LAST, produce_part, base_offset),
    PF_F("LogAppendTimeMs", PF_I64, 2, PF_LAST, produce_part, log_append_time),
    PF_F("LogStartOffset", PF_I64, 5, PF_LAST, produce_part, log_start_offset),
    PF_FA("RecordErrors", PF_STRUCTS, 8, PF_LAST, PF_NEVER, produce_part, record_errors,
          nrecord_errors, &g_produce_record_error),
    PF_FN("ErrorMessage", PF_CSTR, 8, PF_LAST, 8, produce_part, error_message),
    /* v10+ CurrentLeader (tag 0) left out: clients refresh metadata instead */
};
static const pf_schema g_produce_rpart =
    PF_SCHEMA("PartitionProduceResponse", produce_part, g_produce_rpart_fields);
static const pf_field g_produce_rtopic_fields[] = {
    PF_F("Name", PF_STR, 0, 12, produce_topic, name),
    PF_F("TopicId", PF_UUID, 13, PF_LAST, produce_topic, id),
    PF_FA("PartitionResponses", PF_STRUCTS, 0, PF_LAST, PF_NEVER, produce_topic, parts, nparts,
          &g_produce_rpart),
};
static const pf_schema g_produce_rtopic =
    PF_SCHEMA("TopicProduceResponse", produce_topic, g_produce_rtopic_fields);
static const pf_field g_produce_resp_fields[] = {
    PF_FA("Responses", PF_STRUCTS, 0, PF_LAST, PF_NEVER, produce_req, topics, ntopics,
          &g_produce_rtopic),
    PF_F("ThrottleTimeMs", PF_I32, 1, PF_LAST, produce_req, throttle_time_ms),
};
static const pf_schema g_produce_resp =
    PF_SCHEMA("ProduceResponse", produce_req, g_produce_resp_fields);

void produce_resp_encode(wr *w, int16_t v, const produce_req *q)
{
    pf_encode(w, v, &g_produce_resp, q);
}

/* ---------------- Fetch ---------------- */

static const pf_field g_epoch_end_fields[] = {
    PF_FD("Epoch", PF_I32, 12, PF_LAST, fetch_epoch_end, epoch, -1),
    PF_FD("EndOffset", PF_I64, 12, PF_LAST, fetch_epoch_end, end_offset, -1),
};
static const pf_schema g_epoch_end = PF_SCHEMA("EpochEndOffset", fetch_epoch_end,
                                               g_epoch_end_fields);
static const pf_field g_fetch_leader_fields[] = {
    PF_FD("LeaderId", PF_I32, 12, PF_LAST, fetch_leader, leader_id, -1),
    PF_FD("LeaderEpoch", PF_I32, 12, PF_LAST, fetch_leader, leader_epoch, -1),
};
static const pf_schema g_fetch_leader = PF_SCHEMA("LeaderIdAndEpoch", fetch_leader,
                                                  g_fetch_leader_fields);

static const pf_field g_fetch_part_fields[] = {
    PF_F("Partition", PF_I32, 0, PF_LAST, fetch_part, index),
    PF_FD("CurrentLeaderEpoch", PF_I32, 9, PF_LAST, fetch_part, current_leader_epoch, -1),
    PF_F("FetchOffset", PF_I64, 0, PF_LAST, fetch_part, fetch_offset),
    PF_FD("LastFetchedEpoch", PF_I32, 12, PF_LAST, fetch_part, last_fetched_epoch, -1),
    PF_FD("LogStartOffset", PF_I64, 5, PF_LAST, fetch_part, log_start_offset, -1),
    PF_F("PartitionMaxBytes", PF_I32, 0, PF_LAST, fetch_part, partition_max_bytes),
    /* ReplicaDirectoryId (tag 0, v17+) is skipped: Brook has one log directory */
    PF_LOCAL("ErrorCode", PF_I16, fetch_part, error_code, 0),
    PF_LOCAL("HighWatermark", PF_I64, fetch_part, high_watermark, -1),
    PF_LOCAL("LastStableOffset", PF_I64, fetch_part, last_stable_offset, -1),
    PF_LOCAL("LogStartOffset", PF_I64, fetch_part, resp_log_start_offset, -1),
    PF_LOCAL("Records", PF_BYTES, fetch_part, records, 0),
    PF_LOCALS("DivergingEpoch", fetch_part, diverging_epoch, &g_epoch_end),
    PF_LOCALS("CurrentLeader", fetch_part, current_leader, &g_fetch_leader),
};
static const pf_schema g_fetch_part = PF_SCHEMA("FetchPartition", fetch_part,
                                                g_fetch_part_fields);
static const pf_field g_fetch_topic_fields[] = {
    PF_F("Topic", PF_STR, 0, 12, fetch_topic, name),
    PF_F("TopicId", PF_UUID, 13, PF_LAST, fetch_topic, id),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, fetch_topic, parts, nparts,
          &g_fetch_part),
};
static const pf_schema g_fetch_topic = PF_SCHEMA("FetchTopic", fetch_topic,
                                                 g_fetch_topic_fields);

/* What the request carries beyond fetch_req: ReplicaState (v15+, where ReplicaId moved). */
typedef struct fetch_replica_state {
    int32_t id;
    int64_t epoch;
} fetch_replica_state;
static const pf_field g_replica_state_fields[] = {
    PF_FD("ReplicaId", PF_I32, 15, PF_LAST, fetch_replica_state, id, -1),
    PF_FD("ReplicaEpoch", PF_I64, 15, PF_LAST, fetch_replica_state, epoch, -1),
};
static const pf_schema g_replica_state = PF_SCHEMA("ReplicaState", fetch_replica_state,
                                                   g_replica_state_fields);
static const pf_field g_forgotten_fields[] = {
    PF_F("Topic", PF_STR, 7, 12, fetch_forgotten, name),
    PF_F("TopicId", PF_UUID, 13, PF_LAST, fetch_forgotten, id),
    PF_FA("Partitions", PF_I32S, 7, PF_LAST, PF_NEVER, fetch_forgotten, parts, nparts, NULL),
};
static const pf_schema g_forgotten = PF_SCHEMA("ForgottenTopic", fetch_forgotten,
                                               g_forgotten_fields);
typedef struct fetch_req_wire {
    fetch_req q;
    fetch_replica_state rs;
} fetch_req_wire;
static const pf_field g_fetch_req_fields[] = {
    /* tag 0, nullable (null: absent, not sent) */
    {"ClusterId", PF_STR, 12, PF_LAST, 12, 0, offsetof(fetch_req_wire, q.cluster_id), 0, 0, NULL},
    PF_FS("ReplicaState", 15, PF_LAST, 1, fetch_req_wire, rs, &g_replica_state),
    PF_FD("ReplicaId", PF_I32, 0, 14, fetch_req_wire, q.replica_id, -1),
    PF_F("MaxWaitMs", PF_I32, 0, PF_LAST, fetch_req_wire, q.max_wait_ms),
    PF_F("MinBytes", PF_I32, 0, PF_LAST, fetch_req_wire, q.min_bytes),
    PF_FD("MaxBytes", PF_I32, 3, PF_LAST, fetch_req_wire, q.max_bytes, 0x7fffffff),
    PF_F("IsolationLevel", PF_I8, 4, PF_LAST, fetch_req_wire, q.isolation_level),
    PF_F("SessionId", PF_I32, 7, PF_LAST, fetch_req_wire, q.session_id),
    PF_FD("SessionEpoch", PF_I32, 7, PF_LAST, fetch_req_wire, q.session_epoch, -1),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, fetch_req_wire, q.topics, q.ntopics,
          &g_fetch_topic),
    PF_FA("ForgottenTopicsData", PF_STRUCTS, 7, PF_LAST, PF_NEVER, fetch_req_wire,
          q.forgotten, q.nforgotten, &g_forgotten),
    PF_F("RackId", PF_STR, 11, PF_LAST, fetch_req_wire, q.rack_id),
};
static const pf_schema g_fetch_req = PF_SCHEMA("FetchRequest", fetch_req_wire,
                                               g_fetch_req_fields);

int fetch_req_decode(rd *r, int16_t v, arena *a, fetch_req *q)
{
    fetch_req_wire in;
    memset(&in, 0, sizeof(in)); /* no NodeEndpoints yet */
    if (pf_decode(r, v, a, &g_fetch_req, &in) != 0)
        return -1;
    *q = in.q;
    q->by_id = v >= 13;
    q->replica_epoch = -1;
    if (v >= 15) {
        q->replica_id = in.rs.id;
        q->replica_epoch = in.rs.epoch;
    }
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++)
            q->topics[i].parts[k].naborted = -1; /* null until the handler says */
    return 0;
}

static const pf_field g_fetch_aborted_fields[] = {
    PF_F("ProducerId", PF_I64, 4, PF_LAST, fetch_aborted, producer_id),
    PF_F("FirstOffset", PF_I64, 4, PF_LAST, fetch_aborted, first_offset),
};
static const pf_schema g_fetch_aborted = PF_SCHEMA("AbortedTransaction", fetch_aborted,
                                                   g_fetch_aborted_fields);
/* A partition of the answer (the response fields of a fetch_part). Records are never null
 * on the way out: none is written as empty bytes. */
static const pf_field g_fetch_rpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, fetch_part, index),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, fetch_part, error_code),
    PF_F("HighWatermark", PF_I64, 0, PF_LAST, fetch_part, high_watermark),
    PF_F("LastStableOffset", PF_I64, 4, PF_LAST, fetch_part, last_stable_offset),
    PF_F("LogStartOffset", PF_I64, 5, PF_LAST, fetch_part, resp_log_start_offset),
    PF_FS("DivergingEpoch", 12, PF_LAST, 0, fetch_part, diverging_epoch, &g_epoch_end),
    PF_FS("CurrentLeader", 12, PF_LAST, 1, fetch_part, current_leader, &g_fetch_leader),
    PF_FA("AbortedTransactions", PF_STRUCTS, 4, PF_LAST, 4, fetch_part, aborted, naborted,
          &g_fetch_aborted),
    PF_FK("PreferredReadReplica", PF_I32, 11, PF_LAST, -1),
    PF_F("Records", PF_BYTES, 0, PF_LAST, fetch_part, records),
};
static const pf_schema g_fetch_rpart = PF_SCHEMA("PartitionData", fetch_part,
                                                 g_fetch_rpart_fields);
static const pf_field g_fetch_rtopic_fields[] = {
    PF_F("Topic", PF_STR, 0, 12, fetch_topic, name),
    PF_F("TopicId", PF_UUID, 13, PF_LAST, fetch_topic, id),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, fetch_topic, parts, nparts,
          &g_fetch_rpart),
};
static const pf_schema g_fetch_rtopic = PF_SCHEMA("FetchableTopicResponse", fetch_topic,
                                                  g_fetch_rtopic_fields);
typedef struct fetch_resp_wire {
    int32_t throttle_time_ms;
    int16_t error_code;
    int32_t session_id;
    int32_t ntopics;
    const fetch_topic *topics;
    int32_t nnode_endpoints;
    const md_broker *node_endpoints;
} fetch_resp_wire;
static const pf_field g_fetch_resp_fields[] = {
    PF_F("ThrottleTimeMs", PF_I32, 1, PF_LAST, fetch_resp_wire, throttle_time_ms),
    PF_F("ErrorCode", PF_I16, 7, PF_LAST, fetch_resp_wire, error_code),
    PF_F("SessionId", PF_I32, 7, PF_LAST, fetch_resp_wire, session_id),
    PF_FA("Responses", PF_STRUCTS, 0, PF_LAST, PF_NEVER, fetch_resp_wire, topics, ntopics,
          &g_fetch_rtopic),
    PF_FAT("NodeEndpoints", PF_STRUCTS, 16, PF_LAST, 0, fetch_resp_wire, node_endpoints,
           nnode_endpoints, &g_md_broker),
};
static const pf_schema g_fetch_resp = PF_SCHEMA("FetchResponse", fetch_resp_wire,
                                                g_fetch_resp_fields);

void fetch_resp_encode(wr *w, int16_t v, const fetch_req *q, int16_t error_code)
{
    fetch_resp_wire out = {q->throttle_time_ms, error_code, q->resp_session_id, q->ntopics,
                           q->topics, q->nnode_endpoints, q->node_endpoints};
    pf_encode(w, v, &g_fetch_resp, &out);
}

/* ---------------- Fetch, client side (the replication follower) ---------------- */

/* The versions whose layouts the client codec knows (those of fetch_req_decode). */
#define FETCH_CLIENT_MIN_V 4
#define FETCH_CLIENT_MAX_V 12

/* The request table read backwards: an empty ForgottenTopicsData, a null rack sent as "". */
void fetch_req_encode(wr *w, int16_t v, const fetch_req *q)
{
    BROOK_ASSERT(v >= FETCH_CLIENT_MIN_V && v <= FETCH_CLIENT_MAX_V);
    w->flex = api_is_flexible(API_FETCH, v);
    fetch_req_wire out;
    memset(&out, 0, sizeof(out));
    out.q = *q;
    pf_encode(w, v, &g_fetch_req, &out);
}

/* The answer as the follower reads it. Tags other than DivergingEpoch and CurrentLeader
 * (SnapshotId, later ones) are skipped. */
static const pf_field g_fetch_cpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, fetch_resp_part, index),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, fetch_resp_part, error_code),
    PF_F("HighWatermark", PF_I64, 0, PF_LAST, fetch_resp_part, high_watermark),
    PF_F("LastStableOffset", PF_I64, 4, PF_LAST, fetch_resp_part, last_stable_offset),
    PF_FD("LogStartOffset", PF_I64, 5, PF_LAST, fetch_resp_part, log_start_offset, -1),
    PF_FS("DivergingEpoch", 12, PF_LAST, 0, fetch_resp_part, diverging_epoch, &g_epoch_end),
    PF_FS("CurrentLeader", 12, PF_LAST, 1, fetch_resp_part, current_leader, &g_fetch_leader),
    PF_FA("AbortedTransactions", PF_STRUCTS, 4, PF_LAST, 4, fetch_resp_part, aborted, naborted,
          &g_fetch_aborted),
    PF_FD("PreferredReadReplica", PF_I32, 11, PF_LAST, fetch_resp_part, preferred_read_replica,
          -1),
    PF_FN("Records", PF_BYTES, 0, PF_LAST, 0, fetch_resp_part, records),
};
static const pf_schema g_fetch_cpart = PF_SCHEMA("PartitionData", fetch_resp_part,
                                                 g_fetch_cpart_fields);
static const pf_field g_fetch_ctopic_fields[] = {
    PF_F("Topic", PF_STR, 0, 12, fetch_resp_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, fetch_resp_topic, parts, nparts,
          &g_fetch_cpart),
};
static const pf_schema g_fetch_ctopic = PF_SCHEMA("FetchableTopicResponse", fetch_resp_topic,
                                                  g_fetch_ctopic_fields);
static const pf_field g_fetch_cresp_fields[] = {
    PF_F("ThrottleTimeMs", PF_I32, 1, PF_LAST, fetch_resp, throttle_time_ms),
    PF_F("ErrorCode", PF_I16, 7, PF_LAST, fetch_resp, error_code),
    PF_F("SessionId", PF_I32, 7, PF_LAST, fetch_resp, session_id),
    PF_FA("Responses", PF_STRUCTS, 0, PF_LAST, PF_NEVER, fetch_resp, topics, ntopics,
          &g_fetch_ctopic),
};
static const pf_schema g_fetch_cresp = PF_SCHEMA("FetchResponse", fetch_resp,
                                                 g_fetch_cresp_fields);

int fetch_resp_decode(rd *r, int16_t v, arena *a, fetch_resp *out)
{
    memset(out, 0, sizeof(*out));
    if (v < FETCH_CLIENT_MIN_V || v > FETCH_CLIENT_MAX_V)
        return -1;
    r->flex = api_is_flexible(API_FETCH, v);
    return pf_decode_message(r, v, a, &g_fetch_cresp, out);
}

/* ---------------- OffsetForLeaderEpoch ---------------- */

/* From here on most messages are tables (proto/schema.h); a request's table also names, as
 * PF_LOCAL rows, the response fields kept in its structs and where they start. */
static const pf_field g_leaderepoch_part_fields[] = {
    PF_F("Partition", PF_I32, 0, PF_LAST, leaderepoch_part, index),
    PF_FD("CurrentLeaderEpoch", PF_I32, 2, PF_LAST, leaderepoch_part, current_leader_epoch, -1),
    PF_F("LeaderEpoch", PF_I32, 0, PF_LAST, leaderepoch_part, leader_epoch),
    PF_LOCAL("ErrorCode", PF_I16, leaderepoch_part, error_code, 0),
    PF_LOCAL("LeaderEpoch", PF_I32, leaderepoch_part, resp_leader_epoch, -1),
    PF_LOCAL("EndOffset", PF_I64, leaderepoch_part, end_offset, -1),
};
static const pf_schema g_leaderepoch_part =
    PF_SCHEMA("OffsetForLeaderPartition", leaderepoch_part, g_leaderepoch_part_fields);
static const pf_field g_leaderepoch_topic_fields[] = {
    PF_F("Topic", PF_STR, 0, PF_LAST, leaderepoch_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, leaderepoch_topic, parts, nparts,
          &g_leaderepoch_part),
};
static const pf_schema g_leaderepoch_topic =
    PF_SCHEMA("OffsetForLeaderTopic", leaderepoch_topic, g_leaderepoch_topic_fields);
static const pf_field g_leaderepoch_req_fields[] = {
    PF_FD("ReplicaId", PF_I32, 3, PF_LAST, leaderepoch_req, replica_id, -2),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, leaderepoch_req, topics, ntopics,
          &g_leaderepoch_topic),
};
static const pf_schema g_leaderepoch_req =
    PF_SCHEMA("OffsetForLeaderEpochRequest", leaderepoch_req, g_leaderepoch_req_fields);

static const pf_field g_leaderepoch_rpart_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, leaderepoch_part, error_code),
    PF_F("Partition", PF_I32, 0, PF_LAST, leaderepoch_part, index),
    PF_F("LeaderEpoch", PF_I32, 1, PF_LAST, leaderepoch_part, resp_leader_epoch),
    PF_F("EndOffset", PF_I64, 0, PF_LAST, leaderepoch_part, end_offset),
};
static const pf_schema g_leaderepoch_rpart =
    PF_SCHEMA("EpochEndOffset", leaderepoch_part, g_leaderepoch_rpart_fields);
static const pf_field g_leaderepoch_rtopic_fields[] = {
    PF_F("Topic", PF_STR, 0, PF_LAST, leaderepoch_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, leaderepoch_topic, parts, nparts,
          &g_leaderepoch_rpart),
};
static const pf_schema g_leaderepoch_rtopic =
    PF_SCHEMA("OffsetForLeaderTopicResult", leaderepoch_topic, g_leaderepoch_rtopic_fields);
static const pf_field g_leaderepoch_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 2, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, leaderepoch_req, topics, ntopics,
          &g_leaderepoch_rtopic),
};
static const pf_schema g_leaderepoch_resp =
    PF_SCHEMA("OffsetForLeaderEpochResponse", leaderepoch_req, g_leaderepoch_resp_fields);

int leaderepoch_req_decode(rd *r, int16_t v, arena *a, leaderepoch_req *q)
{
    return pf_decode(r, v, a, &g_leaderepoch_req, q);
}

void leaderepoch_resp_encode(wr *w, int16_t v, const leaderepoch_req *q)
{
    pf_encode(w, v, &g_leaderepoch_resp, q);
}

/* ---------------- ListOffsets ---------------- */

static const pf_field g_listoffsets_part_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, listoffsets_part, index),
    PF_FD("CurrentLeaderEpoch", PF_I32, 4, PF_LAST, listoffsets_part, current_leader_epoch, -1),
    PF_F("Timestamp", PF_I64, 0, PF_LAST, listoffsets_part, timestamp),
    PF_LOCAL("ErrorCode", PF_I16, listoffsets_part, error_code, 0),
    PF_LOCAL("Timestamp", PF_I64, listoffsets_part, resp_timestamp, -1),
    PF_LOCAL("Offset", PF_I64, listoffsets_part, offset, -1),
    PF_LOCAL("LeaderEpoch", PF_I32, listoffsets_part, resp_leader_epoch, -1),
};
static const pf_schema g_listoffsets_part =
    PF_SCHEMA("ListOffsetsPartition", listoffsets_part, g_listoffsets_part_fields);
static const pf_field g_listoffsets_topic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, listoffsets_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, listoffsets_topic, parts, nparts,
          &g_listoffsets_part),
};
static const pf_schema g_listoffsets_topic =
    PF_SCHEMA("ListOffsetsTopic", listoffsets_topic, g_listoffsets_topic_fields);
static const pf_field g_listoffsets_req_fields[] = {
    PF_F("ReplicaId", PF_I32, 0, PF_LAST, listoffsets_req, replica_id),
    PF_F("IsolationLevel", PF_I8, 2, PF_LAST, listoffsets_req, isolation_level),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, listoffsets_req, topics, ntopics,
          &g_listoffsets_topic),
    PF_FD("TimeoutMs", PF_I32, 10, PF_LAST, listoffsets_req, timeout_ms, -1),
};
static const pf_schema g_listoffsets_req =
    PF_SCHEMA("ListOffsetsRequest", listoffsets_req, g_listoffsets_req_fields);

static const pf_field g_listoffsets_rpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, listoffsets_part, index),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, listoffsets_part, error_code),
    PF_F("Timestamp", PF_I64, 1, PF_LAST, listoffsets_part, resp_timestamp),
    PF_F("Offset", PF_I64, 1, PF_LAST, listoffsets_part, offset),
    PF_F("LeaderEpoch", PF_I32, 4, PF_LAST, listoffsets_part, resp_leader_epoch),
};
static const pf_schema g_listoffsets_rpart =
    PF_SCHEMA("ListOffsetsPartitionResponse", listoffsets_part, g_listoffsets_rpart_fields);
static const pf_field g_listoffsets_rtopic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, listoffsets_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, listoffsets_topic, parts, nparts,
          &g_listoffsets_rpart),
};
static const pf_schema g_listoffsets_rtopic =
    PF_SCHEMA("ListOffsetsTopicResponse", listoffsets_topic, g_listoffsets_rtopic_fields);
static const pf_field g_listoffsets_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 2, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, listoffsets_req, topics, ntopics,
          &g_listoffsets_rtopic),
};
static const pf_schema g_listoffsets_resp =
    PF_SCHEMA("ListOffsetsResponse", listoffsets_req, g_listoffsets_resp_fields);

int listoffsets_req_decode(rd *r, int16_t v, arena *a, listoffsets_req *q)
{
    return pf_decode(r, v, a, &g_listoffsets_req, q);
}

void listoffsets_resp_encode(wr *w, int16_t v, const listoffsets_req *q)
{
    pf_encode(w, v, &g_listoffsets_resp, q);
}

/* ---------------- CreateTopics ---------------- */

static const pf_field g_kv_pair_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, kv_pair, name),
    PF_FN("Value", PF_STR, 0, PF_LAST, 0, kv_pair, value),
};
static const pf_schema g_kv_pair = PF_SCHEMA("Config", kv_pair, g_kv_pair_fields);
static const pf_field g_assignment_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, replica_assign, index),
    PF_FA("BrokerIds", PF_I32S, 0, PF_LAST, PF_NEVER, replica_assign, brokers, nbrokers, NULL),
};
static const pf_schema g_assignment =
    PF_SCHEMA("CreatableReplicaAssignment", replica_assign, g_assignment_fields);
static const pf_field g_createtopics_topic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, createtopics_topic, name),
    PF_F("NumPartitions", PF_I32, 0, PF_LAST, createtopics_topic, num_partitions),
    PF_F("ReplicationFactor", PF_I16, 0, PF_LAST, createtopics_topic, replication_factor),
    PF_FA("Assignments", PF_STRUCTS, 0, PF_LAST, PF_NEVER, createtopics_topic, assignments,
          nassignments, &g_assignment),
    PF_FA("Configs", PF_STRUCTS, 0, PF_LAST, 0, createtopics_topic, configs, nconfigs,
          &g_kv_pair),
    PF_LOCAL("ErrorCode", PF_I16, createtopics_topic, error_code, 0),
    PF_LOCAL("ErrorMessage", PF_CSTR, createtopics_topic, error_message, 0),
    PF_LOCAL("TopicId", PF_UUID, createtopics_topic, topic_id, 0),
    PF_LOCAL("NumPartitions", PF_I32, createtopics_topic, resp_num_partitions, -1),
    PF_LOCAL("ReplicationFactor", PF_I16, createtopics_topic, resp_replication_factor, -1),
};
static const pf_schema g_createtopics_topic =
    PF_SCHEMA("CreatableTopic", createtopics_topic, g_createtopics_topic_fields);
static const pf_field g_createtopics_req_fields[] = {
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, createtopics_req, topics, ntopics,
          &g_createtopics_topic),
    PF_F("TimeoutMs", PF_I32, 0, PF_LAST, createtopics_req, timeout_ms),
    PF_F("ValidateOnly", PF_BOOL, 1, PF_LAST, createtopics_req, validate_only),
};
static const pf_schema g_createtopics_req =
    PF_SCHEMA("CreateTopicsRequest", createtopics_req, g_createtopics_req_fields);

static const pf_field g_createtopics_config_fields[] = {
    PF_F("Name", PF_CSTR, 0, PF_LAST, describe_entry, name),
    PF_FN("Value", PF_CSTR, 0, PF_LAST, 0, describe_entry, value),
    PF_F("ReadOnly", PF_BOOL, 0, PF_LAST, describe_entry, read_only),
    PF_F("ConfigSource", PF_I8, 0, PF_LAST, describe_entry, source),
    PF_F("IsSensitive", PF_BOOL, 0, PF_LAST, describe_entry, is_sensitive),
};
static const pf_schema g_createtopics_config =
    PF_SCHEMA("CreatableTopicConfigs", describe_entry, g_createtopics_config_fields);
static const pf_field g_createtopics_result_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, createtopics_topic, name),
    PF_F("TopicId", PF_UUID, 7, PF_LAST, createtopics_topic, topic_id),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, createtopics_topic, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 1, PF_LAST, 0, createtopics_topic, error_message),
    /* TopicConfigErrorCode (tag 0, v5+) is never sent */
    PF_F("NumPartitions", PF_I32, 5, PF_LAST, createtopics_topic, resp_num_partitions),
    PF_F("ReplicationFactor", PF_I16, 5, PF_LAST, createtopics_topic, resp_replication_factor),
    PF_FA("Configs", PF_STRUCTS, 5, PF_LAST, 5, createtopics_topic, resp_configs,
          nresp_configs, &g_createtopics_config),
};
static const pf_schema g_createtopics_result =
    PF_SCHEMA("CreatableTopicResult", createtopics_topic, g_createtopics_result_fields);
static const pf_field g_createtopics_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 2, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, createtopics_req, topics, ntopics,
          &g_createtopics_result),
};
static const pf_schema g_createtopics_resp =
    PF_SCHEMA("CreateTopicsResponse", createtopics_req, g_createtopics_resp_fields);

/* Configs is not nullable in Kafka's schema, but a null list is taken as an empty one (as
 * Brook always has): nothing is lost by being lenient there. */
int createtopics_req_decode(rd *r, int16_t v, arena *a, createtopics_req *q)
{
    if (pf_decode(r, v, a, &g_createtopics_req, q) != 0)
        return -1;
    for (int32_t i = 0; i < q->ntopics; i++)
        if (q->topics[i].nconfigs < 0)
            q->topics[i].nconfigs = 0;
    return 0;
}

void createtopics_resp_encode(wr *w, int16_t v, const createtopics_req *q)
{
    pf_encode(w, v, &g_createtopics_resp, q);
}

/* ---------------- DeleteTopics ---------------- */

static const pf_field g_deletetopics_topic_fields[] = {
    PF_FN("Name", PF_STR, 6, PF_LAST, 6, deletetopics_topic, name),
    PF_F("TopicId", PF_UUID, 6, PF_LAST, deletetopics_topic, id),
    PF_LOCAL("ErrorCode", PF_I16, deletetopics_topic, error_code, 0),
    PF_LOCAL("ErrorMessage", PF_CSTR, deletetopics_topic, error_message, 0),
};
static const pf_schema g_deletetopics_topic =
    PF_SCHEMA("DeleteTopicState", deletetopics_topic, g_deletetopics_topic_fields);
/* v0-5 name topics in TopicNames (strings), v6+ in Topics; the wrapper makes one list. */
typedef struct deletetopics_wire {
    int32_t nnames;
    kslice *names;
    deletetopics_req q;
} deletetopics_wire;
static const pf_field g_deletetopics_req_fields[] = {
    PF_FA("TopicNames", PF_STRS, 0, 5, PF_NEVER, deletetopics_wire, names, nnames, NULL),
    PF_FA("Topics", PF_STRUCTS, 6, PF_LAST, PF_NEVER, deletetopics_wire, q.topics, q.ntopics,
          &g_deletetopics_topic),
    PF_F("TimeoutMs", PF_I32, 0, PF_LAST, deletetopics_wire, q.timeout_ms),
};
static const pf_schema g_deletetopics_req =
    PF_SCHEMA("DeleteTopicsRequest", deletetopics_wire, g_deletetopics_req_fields);

static const pf_field g_deletetopics_result_fields[] = {
    PF_FN("Name", PF_STR, 0, PF_LAST, 6, deletetopics_topic, name),
    PF_F("TopicId", PF_UUID, 6, PF_LAST, deletetopics_topic, id),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, deletetopics_topic, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 5, PF_LAST, 0, deletetopics_topic, error_message),
};
static const pf_schema g_deletetopics_result =
    PF_SCHEMA("DeletableTopicResult", deletetopics_topic, g_deletetopics_result_fields);
static const pf_field g_deletetopics_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_FA("Responses", PF_STRUCTS, 0, PF_LAST, PF_NEVER, deletetopics_req, topics, ntopics,
          &g_deletetopics_result),
};
static const pf_schema g_deletetopics_resp =
    PF_SCHEMA("DeleteTopicsResponse", deletetopics_req, g_deletetopics_resp_fields);

int deletetopics_req_decode(rd *r, int16_t v, arena *a, deletetopics_req *q)
{
    deletetopics_wire in;
    if (pf_decode(r, v, a, &g_deletetopics_req, &in) != 0)
        return -1;
    *q = in.q;
    if (v >= 6)
        return 0;
    q->ntopics = in.nnames;
    q->topics = arena_array(a, in.nnames, sizeof(*q->topics));
    if (in.nnames > 0 && !q->topics)
        return -1;
    for (int32_t i = 0; i < in.nnames; i++)
        q->topics[i].name = in.names[i]; /* the arena's zeroes: no id, no error */
    return 0;
}

void deletetopics_resp_encode(wr *w, int16_t v, const deletetopics_req *q)
{
    pf_encode(w, v, &g_deletetopics_resp, q); /* a null name goes out as "" below v6 */
}

/* ---------------- CreatePartitions ---------------- */

static const pf_field g_createparts_assign_fields[] = {
    PF_FA("BrokerIds", PF_I32S, 0, PF_LAST, PF_NEVER, replica_assign, brokers, nbrokers, NULL),
    PF_LOCAL("PartitionIndex", PF_I32, replica_assign, index, -1), /* not on this wire */
};
static const pf_schema g_createparts_assign =
    PF_SCHEMA("CreatePartitionsAssignment", replica_assign, g_createparts_assign_fields);
static const pf_field g_createparts_topic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, createparts_topic, name),
    PF_F("Count", PF_I32, 0, PF_LAST, createparts_topic, count),
    PF_FA("Assignments", PF_STRUCTS, 0, PF_LAST, 0, createparts_topic, assignments,
          nassignments, &g_createparts_assign),
    PF_LOCAL("ErrorCode", PF_I16, createparts_topic, error_code, 0),
    PF_LOCAL("ErrorMessage", PF_CSTR, createparts_topic, error_message, 0),
};
static const pf_schema g_createparts_topic =
    PF_SCHEMA("CreatePartitionsTopic", createparts_topic, g_createparts_topic_fields);
static const pf_field g_createparts_req_fields[] = {
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, createparts_req, topics, ntopics,
          &g_createparts_topic),
    PF_F("TimeoutMs", PF_I32, 0, PF_LAST, createparts_req, timeout_ms),
    PF_F("ValidateOnly", PF_BOOL, 0, PF_LAST, createparts_req, validate_only),
};
static const pf_schema g_createparts_req =
    PF_SCHEMA("CreatePartitionsRequest", createparts_req, g_createparts_req_fields);

static const pf_field g_createparts_result_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, createparts_topic, name),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, createparts_topic, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, createparts_topic, error_message),
};
static const pf_schema g_createparts_result =
    PF_SCHEMA("CreatePartitionsTopicResult", createparts_topic, g_createparts_result_fields);
static const pf_field g_createparts_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Results", PF_STRUCTS, 0, PF_LAST, PF_NEVER, createparts_req, topics, ntopics,
          &g_createparts_result),
};
static const pf_schema g_createparts_resp =
    PF_SCHEMA("CreatePartitionsResponse", createparts_req, g_createparts_resp_fields);

int createparts_req_decode(rd *r, int16_t v, arena *a, createparts_req *q)
{
    return pf_decode(r, v, a, &g_createparts_req, q);
}

void createparts_resp_encode(wr *w, int16_t v, const createparts_req *q)
{
    pf_encode(w, v, &g_createparts_resp, q);
}

/* ---------------- DeleteRecords ---------------- */

static const pf_field g_deleterecords_part_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, deleterecords_part, index),
    PF_F("Offset", PF_I64, 0, PF_LAST, deleterecords_part, offset),
    PF_LOCAL("LowWatermark", PF_I64, deleterecords_part, low_watermark, -1),
    PF_LOCAL("ErrorCode", PF_I16, deleterecords_part, error_code, 0),
};
static const pf_schema g_deleterecords_part =
    PF_SCHEMA("DeleteRecordsPartition", deleterecords_part, g_deleterecords_part_fields);
static const pf_field g_deleterecords_topic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, deleterecords_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, deleterecords_topic, parts, nparts,
          &g_deleterecords_part),
};
static const pf_schema g_deleterecords_topic =
    PF_SCHEMA("DeleteRecordsTopic", deleterecords_topic, g_deleterecords_topic_fields);
static const pf_field g_deleterecords_req_fields[] = {
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, deleterecords_req, topics, ntopics,
          &g_deleterecords_topic),
    PF_F("TimeoutMs", PF_I32, 0, PF_LAST, deleterecords_req, timeout_ms),
};
static const pf_schema g_deleterecords_req =
    PF_SCHEMA("DeleteRecordsRequest", deleterecords_req, g_deleterecords_req_fields);

static const pf_field g_deleterecords_rpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, deleterecords_part, index),
    PF_F("LowWatermark", PF_I64, 0, PF_LAST, deleterecords_part, low_watermark),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, deleterecords_part, error_code),
};
static const pf_schema g_deleterecords_rpart =
    PF_SCHEMA("DeleteRecordsPartitionResult", deleterecords_part, g_deleterecords_rpart_fields);
static const pf_field g_deleterecords_rtopic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, deleterecords_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, deleterecords_topic, parts, nparts,
          &g_deleterecords_rpart),
};
static const pf_schema g_deleterecords_rtopic =
    PF_SCHEMA("DeleteRecordsTopicResult", deleterecords_topic, g_deleterecords_rtopic_fields);
static const pf_field g_deleterecords_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, deleterecords_req, topics, ntopics,
          &g_deleterecords_rtopic),
};
static const pf_schema g_deleterecords_resp =
    PF_SCHEMA("DeleteRecordsResponse", deleterecords_req, g_deleterecords_resp_fields);

int deleterecords_req_decode(rd *r, int16_t v, arena *a, deleterecords_req *q)
{
    return pf_decode(r, v, a, &g_deleterecords_req, q);
}

void deleterecords_resp_encode(wr *w, int16_t v, const deleterecords_req *q)
{
    pf_encode(w, v, &g_deleterecords_resp, q);
}

/* ---------------- DescribeConfigs ---------------- */

bool describeconfigs_wants(const describeconfigs_res *res, const char *name)
{
    if (res->nnames < 0)
        return true;
    for (int32_t i = 0; i < res->nnames; i++)
        if (kslice_eq_cstr(res->names[i], name))
            return true;
    return false;
}

static const pf_field g_describeconfigs_res_fields[] = {
    PF_F("ResourceType", PF_I8, 0, PF_LAST, describeconfigs_res, type),
    PF_F("ResourceName", PF_STR, 0, PF_LAST, describeconfigs_res, name),
    PF_FA("ConfigurationKeys", PF_STRS, 0, PF_LAST, 0, describeconfigs_res, names, nnames,
          NULL),
    PF_LOCAL("ErrorCode", PF_I16, describeconfigs_res, error_code, 0),
    PF_LOCAL("ErrorMessage", PF_CSTR, describeconfigs_res, error_message, 0),
};
static const pf_schema g_describeconfigs_res =
    PF_SCHEMA("DescribeConfigsResource", describeconfigs_res, g_describeconfigs_res_fields);
static const pf_field g_describeconfigs_req_fields[] = {
    PF_FA("Resources", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describeconfigs_req, resources,
          nresources, &g_describeconfigs_res),
    PF_F("IncludeSynonyms", PF_BOOL, 1, PF_LAST, describeconfigs_req, include_synonyms),
    PF_F("IncludeDocumentation", PF_BOOL, 3, PF_LAST, describeconfigs_req,
         include_documentation),
};
static const pf_schema g_describeconfigs_req =
    PF_SCHEMA("DescribeConfigsRequest", describeconfigs_req, g_describeconfigs_req_fields);

static const pf_field g_describeconfigs_entry_fields[] = {
    PF_F("Name", PF_CSTR, 0, PF_LAST, describe_entry, name),
    PF_FN("Value", PF_CSTR, 0, PF_LAST, 0, describe_entry, value),
    PF_F("ReadOnly", PF_BOOL, 0, PF_LAST, describe_entry, read_only),
    PF_F("IsDefault", PF_BOOL, 0, 0, describe_entry, is_default),
    PF_F("ConfigSource", PF_I8, 1, PF_LAST, describe_entry, source),
    PF_F("IsSensitive", PF_BOOL, 0, PF_LAST, describe_entry, is_sensitive),
    PF_FK("Synonyms", PF_STRUCTS, 1, PF_LAST, 0), /* none reported */
    PF_F("ConfigType", PF_I8, 3, PF_LAST, describe_entry, config_type),
    PF_FN("Documentation", PF_CSTR, 3, PF_LAST, 0, describe_entry, documentation),
};
static const pf_schema g_describeconfigs_entry =
    PF_SCHEMA("DescribeConfigsResourceResult", describe_entry, g_describeconfigs_entry_fields);
static const pf_field g_describeconfigs_result_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, describeconfigs_res, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, describeconfigs_res, error_message),
    PF_F("ResourceType", PF_I8, 0, PF_LAST, describeconfigs_res, type),
    PF_F("ResourceName", PF_STR, 0, PF_LAST, describeconfigs_res, name),
    PF_FA("Configs", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describeconfigs_res, entries, nentries,
          &g_describeconfigs_entry),
};
static const pf_schema g_describeconfigs_result =
    PF_SCHEMA("DescribeConfigsResult", describeconfigs_res, g_describeconfigs_result_fields);
static const pf_field g_describeconfigs_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Results", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describeconfigs_req, resources,
          nresources, &g_describeconfigs_result),
};
static const pf_schema g_describeconfigs_resp =
    PF_SCHEMA("DescribeConfigsResponse", describeconfigs_req, g_describeconfigs_resp_fields);

int describeconfigs_req_decode(rd *r, int16_t v, arena *a, describeconfigs_req *q)
{
    return pf_decode(r, v, a, &g_describeconfigs_req, q);
}

void describeconfigs_resp_encode(wr *w, int16_t v, const describeconfigs_req *q)
{
    pf_encode(w, v, &g_describeconfigs_resp, q);
}

/* ---------------- AlterConfigs and IncrementalAlterConfigs ---------------- */

/* The two requests differ in their configs; both answers are the same on the wire
 * (throttle, then per resource its error code, message, type and name). */
static const pf_field g_alterconfigs_res_fields[] = {
    PF_F("ResourceType", PF_I8, 0, PF_LAST, alterconfigs_res, type),
    PF_F("ResourceName", PF_STR, 0, PF_LAST, alterconfigs_res, name),
    PF_FA("Configs", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alterconfigs_res, configs, nconfigs,
          &g_kv_pair),
    PF_LOCAL("ErrorCode", PF_I16, alterconfigs_res, error_code, 0),
    PF_LOCAL("ErrorMessage", PF_CSTR, alterconfigs_res, error_message, 0),
};
static const pf_schema g_alterconfigs_res =
    PF_SCHEMA("AlterConfigsResource", alterconfigs_res, g_alterconfigs_res_fields);
static const pf_field g_alterconfigs_req_fields[] = {
    PF_FA("Resources", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alterconfigs_req, resources,
          nresources, &g_alterconfigs_res),
    PF_F("ValidateOnly", PF_BOOL, 0, PF_LAST, alterconfigs_req, validate_only),
};
static const pf_schema g_alterconfigs_req =
    PF_SCHEMA("AlterConfigsRequest", alterconfigs_req, g_alterconfigs_req_fields);
static const pf_field g_alterconfigs_result_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, alterconfigs_res, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, alterconfigs_res, error_message),
    PF_F("ResourceType", PF_I8, 0, PF_LAST, alterconfigs_res, type),
    PF_F("ResourceName", PF_STR, 0, PF_LAST, alterconfigs_res, name),
};
static const pf_schema g_alterconfigs_result =
    PF_SCHEMA("AlterConfigsResourceResponse", alterconfigs_res, g_alterconfigs_result_fields);
static const pf_field g_alterconfigs_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Responses", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alterconfigs_req, resources,
          nresources, &g_alterconfigs_result),
};
static const pf_schema g_alterconfigs_resp =
    PF_SCHEMA("AlterConfigsResponse", alterconfigs_req, g_alterconfigs_resp_fields);

int alterconfigs_req_decode(rd *r, int16_t v, arena *a, alterconfigs_req *q)
{
    return pf_decode(r, v, a, &g_alterconfigs_req, q);
}

void alterconfigs_resp_encode(wr *w, int16_t v, const alterconfigs_req *q)
{
    pf_encode(w, v, &g_alterconfigs_resp, q);
}

static const pf_field g_incalter_config_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, incalter_config, name),
    PF_F("ConfigOperation", PF_I8, 0, PF_LAST, incalter_config, op),
    PF_FN("Value", PF_STR, 0, PF_LAST, 0, incalter_config, value),
};
static const pf_schema g_incalter_config =
    PF_SCHEMA("AlterableConfig", incalter_config, g_incalter_config_fields);
static const pf_field g_incalter_res_fields[] = {
    PF_F("ResourceType", PF_I8, 0, PF_LAST, incalter_res, type),
    PF_F("ResourceName", PF_STR, 0, PF_LAST, incalter_res, name),
    PF_FA("Configs", PF_STRUCTS, 0, PF_LAST, PF_NEVER, incalter_res, configs, nconfigs,
          &g_incalter_config),
    PF_LOCAL("ErrorCode", PF_I16, incalter_res, error_code, 0),
    PF_LOCAL("ErrorMessage", PF_CSTR, incalter_res, error_message, 0),
};
static const pf_schema g_incalter_res =
    PF_SCHEMA("AlterConfigsResource", incalter_res, g_incalter_res_fields);
static const pf_field g_incalter_req_fields[] = {
    PF_FA("Resources", PF_STRUCTS, 0, PF_LAST, PF_NEVER, incalter_req, resources, nresources,
          &g_incalter_res),
    PF_F("ValidateOnly", PF_BOOL, 0, PF_LAST, incalter_req, validate_only),
};
static const pf_schema g_incalter_req =
    PF_SCHEMA("IncrementalAlterConfigsRequest", incalter_req, g_incalter_req_fields);
static const pf_field g_incalter_result_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, incalter_res, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, incalter_res, error_message),
    PF_F("ResourceType", PF_I8, 0, PF_LAST, incalter_res, type),
    PF_F("ResourceName", PF_STR, 0, PF_LAST, incalter_res, name),
};
static const pf_schema g_incalter_result =
    PF_SCHEMA("AlterConfigsResourceResponse", incalter_res, g_incalter_result_fields);
static const pf_field g_incalter_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Responses", PF_STRUCTS, 0, PF_LAST, PF_NEVER, incalter_req, resources, nresources,
          &g_incalter_result),
};
static const pf_schema g_incalter_resp =
    PF_SCHEMA("IncrementalAlterConfigsResponse", incalter_req, g_incalter_resp_fields);

int incalter_req_decode(rd *r, int16_t v, arena *a, incalter_req *q)
{
    return pf_decode(r, v, a, &g_incalter_req, q);
}

void incalter_resp_encode(wr *w, int16_t v, const incalter_req *q)
{
    pf_encode(w, v, &g_incalter_resp, q);
}

/* ---------------- DescribeLogDirs ---------------- */

static const pf_field g_dlogdirs_topic_fields[] = {
    PF_F("Topic", PF_STR, 0, PF_LAST, dlogdirs_topic, name),
    PF_FA("Partitions", PF_I32S, 0, PF_LAST, PF_NEVER, dlogdirs_topic, parts, nparts, NULL),
};
static const pf_schema g_dlogdirs_topic =
    PF_SCHEMA("DescribableLogDirTopic", dlogdirs_topic, g_dlogdirs_topic_fields);
static const pf_field g_describelogdirs_req_fields[] = {
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, 0, describelogdirs_req, topics, ntopics,
          &g_dlogdirs_topic),
};
static const pf_schema g_describelogdirs_req =
    PF_SCHEMA("DescribeLogDirsRequest", describelogdirs_req, g_describelogdirs_req_fields);

int describelogdirs_req_decode(rd *r, int16_t v, arena *a, describelogdirs_req *q)
{
    return pf_decode(r, v, a, &g_describelogdirs_req, q);
}

static const pf_field g_dlogdirs_part_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, dlogdirs_part, index),
    PF_F("PartitionSize", PF_I64, 0, PF_LAST, dlogdirs_part, size),
    PF_F("OffsetLag", PF_I64, 0, PF_LAST, dlogdirs_part, offset_lag),
    PF_F("IsFutureKey", PF_BOOL, 0, PF_LAST, dlogdirs_part, is_future),
};
static const pf_schema g_dlogdirs_part =
    PF_SCHEMA("DescribeLogDirsPartition", dlogdirs_part, g_dlogdirs_part_fields);
static const pf_field g_dlogdirs_rtopic_fields[] = {
    PF_F("Name", PF_CSTR, 0, PF_LAST, dlogdirs_rtopic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, dlogdirs_rtopic, parts, nparts,
          &g_dlogdirs_part),
};
static const pf_schema g_dlogdirs_rtopic =
    PF_SCHEMA("DescribeLogDirsTopic", dlogdirs_rtopic, g_dlogdirs_rtopic_fields);
static const pf_field g_dlogdirs_dir_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, dlogdirs_dir, error_code),
    PF_F("LogDir", PF_CSTR, 0, PF_LAST, dlogdirs_dir, log_dir),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, dlogdirs_dir, topics, ntopics,
          &g_dlogdirs_rtopic),
    PF_F("TotalBytes", PF_I64, 4, PF_LAST, dlogdirs_dir, total_bytes),
    PF_F("UsableBytes", PF_I64, 4, PF_LAST, dlogdirs_dir, usable_bytes),
};
static const pf_schema g_dlogdirs_dir =
    PF_SCHEMA("DescribeLogDirsResult", dlogdirs_dir, g_dlogdirs_dir_fields);
static const pf_field g_describelogdirs_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 3, PF_LAST, describelogdirs_resp, error_code),
    PF_FA("Results", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describelogdirs_resp, dirs, ndirs,
          &g_dlogdirs_dir),
};
static const pf_schema g_describelogdirs_resp =
    PF_SCHEMA("DescribeLogDirsResponse", describelogdirs_resp, g_describelogdirs_resp_fields);

void describelogdirs_resp_encode(wr *w, int16_t v, const describelogdirs_resp *m)
{
    pf_encode(w, v, &g_describelogdirs_resp, m);
}

/* ---------------- FindCoordinator ---------------- */

/* v0-3 ask for one Key, v4+ for CoordinatorKeys (KIP-699); the wrapper makes one list. */
typedef struct findcoord_wire {
    kslice key;
    findcoord_req q;
} findcoord_wire;
static const pf_field g_findcoord_req_fields[] = {
    PF_F("Key", PF_STR, 0, 3, findcoord_wire, key),
    PF_F("KeyType", PF_I8, 1, PF_LAST, findcoord_wire, q.key_type),
    PF_FA("CoordinatorKeys", PF_STRS, 4, PF_LAST, PF_NEVER, findcoord_wire, q.keys, q.nkeys,
          NULL),
};
static const pf_schema g_findcoord_req =
    PF_SCHEMA("FindCoordinatorRequest", findcoord_wire, g_findcoord_req_fields);

int findcoord_req_decode(rd *r, int16_t v, arena *a, findcoord_req *q)
{
    findcoord_wire in;
    if (pf_decode(r, v, a, &g_findcoord_req, &in) != 0)
        return -1;
    *q = in.q;
    if (v >= 4)
        return 0;
    q->nkeys = 1;
    if ((q->keys = arena_alloc(a, sizeof(kslice))) == NULL)
        return -1;
    q->keys[0] = in.key;
    return 0;
}

static const pf_field g_coordinator_fields[] = {
    PF_F("Key", PF_STR, 4, PF_LAST, findcoord_resp, key),
    PF_F("NodeId", PF_I32, 4, PF_LAST, findcoord_resp, node_id),
    PF_F("Host", PF_CSTR, 4, PF_LAST, findcoord_resp, host),
    PF_F("Port", PF_I32, 4, PF_LAST, findcoord_resp, port),
    PF_F("ErrorCode", PF_I16, 4, PF_LAST, findcoord_resp, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 4, PF_LAST, 4, findcoord_resp, error_message),
};
static const pf_schema g_coordinator =
    PF_SCHEMA("Coordinator", findcoord_resp, g_coordinator_fields);
/* Below v4 the one answer's fields are the message's own. */
typedef struct findcoord_resp_wire {
    findcoord_resp one;
    int32_t n;
    const findcoord_resp *all;
} findcoord_resp_wire;
static const pf_field g_findcoord_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 1, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, 3, findcoord_resp_wire, one.error_code),
    PF_FN("ErrorMessage", PF_CSTR, 1, 3, 1, findcoord_resp_wire, one.error_message),
    PF_F("NodeId", PF_I32, 0, 3, findcoord_resp_wire, one.node_id),
    PF_F("Host", PF_CSTR, 0, 3, findcoord_resp_wire, one.host),
    PF_F("Port", PF_I32, 0, 3, findcoord_resp_wire, one.port),
    PF_FA("Coordinators", PF_STRUCTS, 4, PF_LAST, PF_NEVER, findcoord_resp_wire, all, n,
          &g_coordinator),
};
static const pf_schema g_findcoord_resp =
    PF_SCHEMA("FindCoordinatorResponse", findcoord_resp_wire, g_findcoord_resp_fields);

void findcoord_resp_encode(wr *w, int16_t v, const findcoord_resp *m, int32_t n)
{
    BROOK_ASSERT(n >= 1 || v >= 4);
    findcoord_resp_wire out = {.n = n, .all = m};
    if (n >= 1)
        out.one = m[0];
    pf_encode(w, v, &g_findcoord_resp, &out);
}

/* ---------------- InitProducerId ---------------- */

/* InitProducerId and EndTxn are described by tables (proto/schema.h): a version that adds a
 * field is a row here. */
static const pf_field g_initpid_req_fields[] = {
    PF_FN("TransactionalId", PF_STR, 0, PF_LAST, 0, initpid_req, transactional_id),
    PF_F("TransactionTimeoutMs", PF_I32, 0, PF_LAST, initpid_req, timeout_ms),
    PF_FD("ProducerId", PF_I64, 3, PF_LAST, initpid_req, producer_id, -1),
    PF_FD("ProducerEpoch", PF_I16, 3, PF_LAST, initpid_req, producer_epoch, -1),
};
static const pf_schema g_initpid_req = PF_SCHEMA("InitProducerIdRequest", initpid_req,
                                                 g_initpid_req_fields);

/* InitProducerId's and EndTxn's answers: throttle, error, then (EndTxn from v5) the producer
 * id and epoch. */
typedef struct pid_resp {
    int32_t throttle_ms;
    int16_t error_code;
    int64_t pid;
    int16_t epoch;
} pid_resp;
static const pf_field g_initpid_resp_fields[] = {
    PF_F("ThrottleTimeMs", PF_I32, 0, PF_LAST, pid_resp, throttle_ms),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, pid_resp, error_code),
    PF_F("ProducerId", PF_I64, 0, PF_LAST, pid_resp, pid),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, pid_resp, epoch),
};
static const pf_schema g_initpid_resp = PF_SCHEMA("InitProducerIdResponse", pid_resp,
                                                  g_initpid_resp_fields);

int initpid_req_decode(rd *r, int16_t v, arena *a, initpid_req *q)
{
    return pf_decode(r, v, a, &g_initpid_req, q);
}

void initpid_resp_encode(wr *w, int16_t v, int16_t error_code, int64_t pid, int16_t epoch)
{
    pid_resp m = {0, error_code, pid, epoch};
    pf_encode(w, v, &g_initpid_resp, &m);
}

/* ---------------- AddPartitionsToTxn ---------------- */

/* The versions of the codec: v0-3 one transaction (v3 flexible), v4+ a batch (KIP-890). */
#define ADDPARTS_MAX_V 5
#define ADDPARTS_FLEX_V 3
#define ADDPARTS_BATCH_V 4

/* The request is described by tables; the answer slots it leaves (errors[], group_errors[])
 * are added by addparts_req_decode. A topic name, like the v0-3 transactional id, may be null
 * below v4 as Brook has always read it (Kafka's schema says never). */
static const pf_field g_addparts_topic_fields[] = {
    PF_FN("Name", PF_STR, 0, 3, 0, addparts_topic, name),
    PF_F("Name", PF_STR, 4, PF_LAST, addparts_topic, name),
    PF_FA("Partitions", PF_I32S, 0, PF_LAST, PF_NEVER, addparts_topic, parts, nparts, NULL),
};
static const pf_schema g_addparts_topic =
    PF_SCHEMA("AddPartitionsToTxnTopic", addparts_topic, g_addparts_topic_fields);
static const pf_field g_addparts_txn_fields[] = {
    PF_F("TransactionalId", PF_STR, 4, PF_LAST, addparts_txn, transactional_id),
    PF_F("ProducerId", PF_I64, 4, PF_LAST, addparts_txn, producer_id),
    PF_F("ProducerEpoch", PF_I16, 4, PF_LAST, addparts_txn, producer_epoch),
    PF_F("VerifyOnly", PF_BOOL, 4, PF_LAST, addparts_txn, verify_only),
    PF_FA("Topics", PF_STRUCTS, 4, PF_LAST, PF_NEVER, addparts_txn, topics, ntopics,
          &g_addparts_topic),
    /* Brook's: the transaction's group participants (msgs.h) */
    PF_FAT("Groups", PF_STRS, 4, PF_LAST, ADDPARTS_TAG_GROUPS, addparts_txn, groups, ngroups,
           NULL),
};
static const pf_schema g_addparts_txn =
    PF_SCHEMA("AddPartitionsToTxnTransaction", addparts_txn, g_addparts_txn_fields);
static const pf_field g_addparts_req_fields[] = {
    PF_FA("Transactions", PF_STRUCTS, 4, PF_LAST, PF_NEVER, addparts_req, txns, ntxns,
          &g_addparts_txn),
    PF_FN("V3AndBelowTransactionalId", PF_STR, 0, 3, 0, addparts_req, transactional_id),
    PF_FD("V3AndBelowProducerId", PF_I64, 0, 3, addparts_req, producer_id, -1),
    PF_FD("V3AndBelowProducerEpoch", PF_I16, 0, 3, addparts_req, producer_epoch, -1),
    PF_FA("V3AndBelowTopics", PF_STRUCTS, 0, 3, PF_NEVER, addparts_req, topics, ntopics,
          &g_addparts_topic),
    PF_LOCAL("ErrorCode", PF_I16, addparts_req, error_code, KERR_NONE),
};
static const pf_schema g_addparts_req =
    PF_SCHEMA("AddPartitionsToTxnRequest", addparts_req, g_addparts_req_fields);

/* A zeroed errors[] slot for every partition of the n topics. */
static int addparts_error_slots(arena *a, int32_t n, addparts_topic *topics)
{
    for (int32_t i = 0; i < n; i++) {
        addparts_topic *t = &topics[i];
        t->errors = arena_array(a, t->nparts, sizeof(int16_t));
        if (t->nparts > 0 && !t->errors)
            return -1;
    }
    return 0;
}

int addparts_req_decode(rd *r, int16_t v, arena *a, addparts_req *q)
{
    if (pf_decode(r, v, a, &g_addparts_req, q) != 0 ||
        addparts_error_slots(a, q->ntopics, q->topics) != 0)
        return -1;
    for (int32_t i = 0; i < q->ntxns; i++) {
        addparts_txn *t = &q->txns[i];
        t->group_errors = arena_array(a, t->ngroups, sizeof(int16_t));
        if ((t->ngroups > 0 && !t->group_errors) ||
            addparts_error_slots(a, t->ntopics, t->topics) != 0)
            return -1;
    }
    return 0;
}

void addparts_req_encode(wr *w, int16_t v, const addparts_req *q)
{
    BROOK_ASSERT(v >= 0 && v <= ADDPARTS_MAX_V);
    w->flex = v >= ADDPARTS_FLEX_V;
    pf_encode(w, v, &g_addparts_req, q);
}

/* The answer pairs each topic's parts[] with errors[] (two arrays, where the wire has one of
 * {PartitionIndex, PartitionErrorCode}) and a transaction's groups[] with group_errors[]:
 * the wire structs below hold the pairs, and the glue moves between the two forms. */
typedef struct addparts_presult {
    int32_t index;
    int16_t error_code;
} addparts_presult;
typedef struct addparts_tresult {
    kslice name;
    int32_t nresults;
    addparts_presult *results;
} addparts_tresult;
typedef struct addparts_gresult {
    kslice group_id;
    int16_t error_code;
} addparts_gresult;
typedef struct addparts_xresult {
    kslice transactional_id;
    int32_t ntopics;
    addparts_tresult *topics;
    int32_t ngroups;
    addparts_gresult *groups;
} addparts_xresult;
typedef struct addparts_resp_wire {
    int16_t error_code;
    int32_t ntxns;
    addparts_xresult *txns;
    int32_t ntopics;
    addparts_tresult *topics;
} addparts_resp_wire;

static const pf_field g_addparts_presult_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, addparts_presult, index),
    PF_F("PartitionErrorCode", PF_I16, 0, PF_LAST, addparts_presult, error_code),
};
static const pf_schema g_addparts_presult = PF_SCHEMA(
    "AddPartitionsToTxnPartitionResult", addparts_presult, g_addparts_presult_fields);
static const pf_field g_addparts_tresult_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, addparts_tresult, name),
    PF_FA("ResultsByPartition", PF_STRUCTS, 0, PF_LAST, PF_NEVER, addparts_tresult, results,
          nresults, &g_addparts_presult),
};
static const pf_schema g_addparts_tresult =
    PF_SCHEMA("AddPartitionsToTxnTopicResult", addparts_tresult, g_addparts_tresult_fields);
/* Brook's group results (ADDPARTS_TAG_GROUPS): no tag buffer per element (msgs.h). */
static const pf_field g_addparts_gresult_fields[] = {
    PF_F("GroupId", PF_STR, 4, PF_LAST, addparts_gresult, group_id),
    PF_F("ErrorCode", PF_I16, 4, PF_LAST, addparts_gresult, error_code),
};
static const pf_schema g_addparts_gresult =
    PF_SCHEMA_UNTAGGED("BrookGroupResult", addparts_gresult, g_addparts_gresult_fields);
static const pf_field g_addparts_xresult_fields[] = {
    PF_F("TransactionalId", PF_STR, 4, PF_LAST, addparts_xresult, transactional_id),
    PF_FA("TopicResults", PF_STRUCTS, 4, PF_LAST, PF_NEVER, addparts_xresult, topics, ntopics,
          &g_addparts_tresult),
    PF_FAT("Groups", PF_STRUCTS, 4, PF_LAST, ADDPARTS_TAG_GROUPS, addparts_xresult, groups,
           ngroups, &g_addparts_gresult),
};
static const pf_schema g_addparts_xresult =
    PF_SCHEMA("AddPartitionsToTxnResult", addparts_xresult, g_addparts_xresult_fields);
static const pf_field g_addparts_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 4, PF_LAST, addparts_resp_wire, error_code),
    PF_FA("ResultsByTransaction", PF_STRUCTS, 4, PF_LAST, PF_NEVER, addparts_resp_wire, txns,
          ntxns, &g_addparts_xresult),
    PF_FA("ResultsByTopicV3AndBelow", PF_STRUCTS, 0, 3, PF_NEVER, addparts_resp_wire, topics,
          ntopics, &g_addparts_tresult),
};
static const pf_schema g_addparts_resp =
    PF_SCHEMA("AddPartitionsToTxnResponse", addparts_resp_wire, g_addparts_resp_fields);

/* The n topics' pairs as wire results, in a (NULL: out of memory; a NULL errors[] is
 * zeros). */
static addparts_tresult *addparts_tresults(arena *a, int32_t n, const addparts_topic *topics)
{
    addparts_tresult *out = arena_array(a, n, sizeof(*out));
    for (int32_t i = 0; out && i < n; i++) {
        const addparts_topic *t = &topics[i];
        out[i] = (addparts_tresult){t->name, t->nparts, arena_array(a, t->nparts,
                                                                    sizeof(addparts_presult))};
        if (t->nparts > 0 && !out[i].results)
            return NULL;
        for (int32_t k = 0; k < t->nparts; k++)
            out[i].results[k] = (addparts_presult){t->parts[k], t->errors ? t->errors[k] : 0};
    }
    return n > 0 ? out : NULL;
}

void addparts_resp_encode(wr *w, int16_t v, const addparts_req *q)
{
    arena a;
    arena_init(&a);
    addparts_resp_wire out = {.error_code = q->error_code};
    bool ok = true;
    if (v < ADDPARTS_BATCH_V) {
        out.ntopics = q->ntopics;
        out.topics = addparts_tresults(&a, q->ntopics, q->topics);
        ok = q->ntopics <= 0 || out.topics;
    } else {
        out.ntxns = q->ntxns;
        out.txns = arena_array(&a, q->ntxns, sizeof(*out.txns));
        ok = q->ntxns <= 0 || out.txns;
        for (int32_t i = 0; ok && i < q->ntxns; i++) {
            const addparts_txn *t = &q->txns[i];
            addparts_xresult *x = &out.txns[i];
            x->transactional_id = t->transactional_id;
            x->ntopics = t->ntopics;
            x->topics = addparts_tresults(&a, t->ntopics, t->topics);
            x->ngroups = t->ngroups > 0 ? t->ngroups : 0;
            x->groups = arena_array(&a, x->ngroups, sizeof(*x->groups));
            ok = (t->ntopics <= 0 || x->topics) && (x->ngroups == 0 || x->groups);
            for (int32_t g = 0; ok && g < x->ngroups; g++)
                x->groups[g] = (addparts_gresult){t->groups[g],
                                                  t->group_errors ? t->group_errors[g] : 0};
        }
    }
    if (ok)
        pf_encode(w, v, &g_addparts_resp, &out);
    else
        w->oom = true;
    arena_free(&a);
}

/* Wire topic results back into pairs (parts[] and errors[]), in a. */
static int addparts_topics_flatten(arena *a, int32_t n, const addparts_tresult *in,
                                   addparts_topic **out)
{
    *out = arena_array(a, n, sizeof(**out));
    if (n > 0 && !*out)
        return -1;
    for (int32_t i = 0; i < n; i++) {
        addparts_topic *t = &(*out)[i];
        t->name = in[i].name;
        t->nparts = in[i].nresults;
        t->parts = arena_array(a, t->nparts, sizeof(int32_t));
        t->errors = arena_array(a, t->nparts, sizeof(int16_t));
        if (t->nparts > 0 && (!t->parts || !t->errors))
            return -1;
        for (int32_t k = 0; k < t->nparts; k++) {
            t->parts[k] = in[i].results[k].index;
            t->errors[k] = in[i].results[k].error_code;
        }
    }
    return 0;
}

int addparts_resp_decode(rd *r, int16_t v, arena *a, addparts_req *q)
{
    memset(q, 0, sizeof(*q));
    q->transactional_id = KSLICE_NULL; /* the request's fields are not in the answer */
    q->producer_id = -1;
    q->producer_epoch = -1;
    if (v < 0 || v > ADDPARTS_MAX_V)
        return -1;
    r->flex = v >= ADDPARTS_FLEX_V;
    addparts_resp_wire in;
    if (pf_decode_message(r, v, a, &g_addparts_resp, &in) != 0)
        return -1;
    q->error_code = in.error_code;
    if (v < ADDPARTS_BATCH_V) {
        q->ntopics = in.ntopics;
        return addparts_topics_flatten(a, in.ntopics, in.topics, &q->topics);
    }
    q->ntxns = in.ntxns;
    q->txns = arena_array(a, in.ntxns, sizeof(*q->txns));
    if (in.ntxns > 0 && !q->txns)
        return -1;
    for (int32_t i = 0; i < in.ntxns; i++) {
        const addparts_xresult *x = &in.txns[i];
        addparts_txn *t = &q->txns[i];
        t->transactional_id = x->transactional_id;
        t->producer_id = -1;
        t->producer_epoch = -1;
        t->ntopics = x->ntopics;
        t->ngroups = x->ngroups;
        t->groups = arena_array(a, x->ngroups, sizeof(*t->groups));
        t->group_errors = arena_array(a, x->ngroups, sizeof(int16_t));
        if (addparts_topics_flatten(a, x->ntopics, x->topics, &t->topics) != 0 ||
            (x->ngroups > 0 && (!t->groups || !t->group_errors)))
            return -1;
        for (int32_t g = 0; g < x->ngroups; g++) {
            t->groups[g] = x->groups[g].group_id;
            t->group_errors[g] = x->groups[g].error_code;
        }
    }
    return 0;
}

/* ---------------- EndTxn ---------------- */

/* The transactional id may be null on the wire here (the handler answers INVALID_REQUEST
 * instead of closing the connection). */
static const pf_field g_endtxn_req_fields[] = {
    PF_FN("TransactionalId", PF_STR, 0, PF_LAST, 0, endtxn_req, transactional_id),
    PF_F("ProducerId", PF_I64, 0, PF_LAST, endtxn_req, producer_id),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, endtxn_req, producer_epoch),
    PF_F("Committed", PF_BOOL, 0, PF_LAST, endtxn_req, committed),
};
static const pf_schema g_endtxn_req = PF_SCHEMA("EndTxnRequest", endtxn_req,
                                                g_endtxn_req_fields);

static const pf_field g_endtxn_resp_fields[] = {
    PF_F("ThrottleTimeMs", PF_I32, 0, PF_LAST, pid_resp, throttle_ms),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, pid_resp, error_code),
    /* KIP-890 part 2: the producer id and epoch the client goes on with */
    PF_FD("ProducerId", PF_I64, 5, PF_LAST, pid_resp, pid, -1),
    PF_FD("ProducerEpoch", PF_I16, 5, PF_LAST, pid_resp, epoch, -1),
};
static const pf_schema g_endtxn_resp = PF_SCHEMA("EndTxnResponse", pid_resp,
                                                 g_endtxn_resp_fields);

int endtxn_req_decode(rd *r, int16_t v, arena *a, endtxn_req *q)
{
    return pf_decode(r, v, a, &g_endtxn_req, q);
}

void endtxn_resp_encode(wr *w, int16_t v, int16_t error_code, int64_t pid, int16_t epoch)
{
    pid_resp m = {0, error_code, pid, epoch};
    pf_encode(w, v, &g_endtxn_resp, &m);
}

static const pf_field g_error_only_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, pid_resp, error_code),
};
static const pf_schema g_error_only_resp =
    PF_SCHEMA("ErrorOnlyResponse", pid_resp, g_error_only_resp_fields);

void error_only_resp_encode(wr *w, int16_t v, int16_t error_code)
{
    pid_resp m = {0, error_code, -1, -1};
    pf_encode(w, v, &g_error_only_resp, &m);
}

/* ---------------- transaction admin (KIP-664) and DescribeCluster ---------------- */

/* The request's partitions are bare indexes ([]int32 PartitionIndexes): decoded as an int32
 * array, then spread into dprod_parts by the wrapper. */
typedef struct dprod_req_topic {
    kslice name;
    int32_t nindexes;
    int32_t *indexes;
} dprod_req_topic;
static const pf_field g_dprod_req_topic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, dprod_req_topic, name),
    PF_FA("PartitionIndexes", PF_I32S, 0, PF_LAST, PF_NEVER, dprod_req_topic, indexes,
          nindexes, NULL),
};
static const pf_schema g_dprod_req_topic =
    PF_SCHEMA("TopicRequest", dprod_req_topic, g_dprod_req_topic_fields);
typedef struct dprod_req_wire {
    int32_t ntopics;
    dprod_req_topic *topics;
} dprod_req_wire;
static const pf_field g_dprod_req_fields[] = {
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, dprod_req_wire, topics, ntopics,
          &g_dprod_req_topic),
};
static const pf_schema g_dprod_req =
    PF_SCHEMA("DescribeProducersRequest", dprod_req_wire, g_dprod_req_fields);

static const pf_field g_dprod_producer_fields[] = {
    PF_F("ProducerId", PF_I64, 0, PF_LAST, dprod_producer, producer_id),
    PF_F("ProducerEpoch", PF_I32, 0, PF_LAST, dprod_producer, producer_epoch),
    PF_F("LastSequence", PF_I32, 0, PF_LAST, dprod_producer, last_sequence),
    PF_F("LastTimestamp", PF_I64, 0, PF_LAST, dprod_producer, last_timestamp),
    PF_F("CoordinatorEpoch", PF_I32, 0, PF_LAST, dprod_producer, coordinator_epoch),
    PF_F("CurrentTxnStartOffset", PF_I64, 0, PF_LAST, dprod_producer,
         current_txn_start_offset),
};
static const pf_schema g_dprod_producer =
    PF_SCHEMA("ProducerState", dprod_producer, g_dprod_producer_fields);
static const pf_field g_dprod_rpart_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, dprod_part, index),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, dprod_part, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, dprod_part, error_message),
    PF_FA("ActiveProducers", PF_STRUCTS, 0, PF_LAST, PF_NEVER, dprod_part, producers,
          nproducers, &g_dprod_producer),
};
static const pf_schema g_dprod_rpart =
    PF_SCHEMA("PartitionResponse", dprod_part, g_dprod_rpart_fields);
static const pf_field g_dprod_rtopic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, dprod_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, dprod_topic, parts, nparts,
          &g_dprod_rpart),
};
static const pf_schema g_dprod_rtopic =
    PF_SCHEMA("TopicResponse", dprod_topic, g_dprod_rtopic_fields);
static const pf_field g_dprod_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describeproducers_req, topics, ntopics,
          &g_dprod_rtopic),
};
static const pf_schema g_dprod_resp =
    PF_SCHEMA("DescribeProducersResponse", describeproducers_req, g_dprod_resp_fields);

/* Each partition index becomes a dprod_part with its response fields at their defaults. */
int describeproducers_req_decode(rd *r, int16_t v, arena *a, describeproducers_req *q)
{
    dprod_req_wire in;
    if (pf_decode(r, v, a, &g_dprod_req, &in) != 0)
        return -1;
    q->ntopics = in.ntopics;
    q->topics = arena_array(a, in.ntopics, sizeof(*q->topics));
    if (in.ntopics > 0 && !q->topics)
        return -1;
    for (int32_t i = 0; i < in.ntopics; i++) {
        dprod_topic *t = &q->topics[i];
        t->name = in.topics[i].name;
        t->nparts = in.topics[i].nindexes;
        t->parts = arena_array(a, t->nparts, sizeof(*t->parts));
        if (t->nparts > 0 && !t->parts)
            return -1;
        for (int32_t k = 0; k < t->nparts; k++) {
            /* the arena's zeroes: error NONE, a null message, no producers */
            t->parts[k].index = in.topics[i].indexes[k];
        }
    }
    return 0;
}

void describeproducers_resp_encode(wr *w, int16_t v, const describeproducers_req *q)
{
    pf_encode(w, v, &g_dprod_resp, q);
}

static const pf_field g_dtxn_req_fields[] = {
    PF_FA("TransactionalIds", PF_STRS, 0, PF_LAST, PF_NEVER, describetxns_req, ids, nids, NULL),
};
static const pf_schema g_dtxn_req =
    PF_SCHEMA("DescribeTransactionsRequest", describetxns_req, g_dtxn_req_fields);
static const pf_field g_dtxn_topic_fields[] = {
    PF_F("Topic", PF_CSTR, 0, PF_LAST, dtxn_topic, name),
    PF_FA("Partitions", PF_I32S, 0, PF_LAST, PF_NEVER, dtxn_topic, parts, nparts, NULL),
};
static const pf_schema g_dtxn_topic = PF_SCHEMA("TopicData", dtxn_topic, g_dtxn_topic_fields);
static const pf_field g_dtxn_state_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, dtxn_state, error_code),
    PF_F("TransactionalId", PF_STR, 0, PF_LAST, dtxn_state, id),
    PF_F("TransactionState", PF_CSTR, 0, PF_LAST, dtxn_state, state),
    PF_F("TransactionTimeoutMs", PF_I32, 0, PF_LAST, dtxn_state, timeout_ms),
    PF_F("TransactionStartTimeMs", PF_I64, 0, PF_LAST, dtxn_state, start_ms),
    PF_F("ProducerId", PF_I64, 0, PF_LAST, dtxn_state, producer_id),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, dtxn_state, producer_epoch),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, dtxn_state, topics, ntopics,
          &g_dtxn_topic),
};
static const pf_schema g_dtxn_state =
    PF_SCHEMA("TransactionState", dtxn_state, g_dtxn_state_fields);
static const pf_field g_dtxn_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("TransactionStates", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describetxns_req, states,
          nids, &g_dtxn_state),
};
static const pf_schema g_dtxn_resp =
    PF_SCHEMA("DescribeTransactionsResponse", describetxns_req, g_dtxn_resp_fields);

/* One zeroed state per id, holding the id it answers for. */
int describetxns_req_decode(rd *r, int16_t v, arena *a, describetxns_req *q)
{
    if (pf_decode(r, v, a, &g_dtxn_req, q) != 0)
        return -1;
    q->states = arena_array(a, q->nids, sizeof(*q->states));
    if (q->nids > 0 && !q->states)
        return -1;
    for (int32_t i = 0; i < q->nids; i++)
        q->states[i].id = q->ids[i];
    return 0;
}

void describetxns_resp_encode(wr *w, int16_t v, const describetxns_req *q)
{
    pf_encode(w, v, &g_dtxn_resp, q);
}

static const pf_field g_listtxns_req_fields[] = {
    PF_FA("StateFilters", PF_STRS, 0, PF_LAST, PF_NEVER, listtxns_req, states, nstates, NULL),
    PF_FA("ProducerIdFilters", PF_I64S, 0, PF_LAST, PF_NEVER, listtxns_req, pids, npids, NULL),
    PF_FD("DurationFilter", PF_I64, 1, PF_LAST, listtxns_req, duration_ms, -1),
    PF_FN("TransactionalIdPattern", PF_STR, 2, PF_LAST, 2, listtxns_req, txn_id_pattern),
    PF_LOCAL("ErrorCode", PF_I16, listtxns_req, error_code, KERR_NONE),
};
static const pf_schema g_listtxns_req =
    PF_SCHEMA("ListTransactionsRequest", listtxns_req, g_listtxns_req_fields);
static const pf_field g_listtxns_entry_fields[] = {
    PF_F("TransactionalId", PF_IDENT, 0, PF_LAST, listtxns_entry, txn_id),
    PF_F("ProducerId", PF_I64, 0, PF_LAST, listtxns_entry, producer_id),
    PF_F("TransactionState", PF_CSTR, 0, PF_LAST, listtxns_entry, state),
};
static const pf_schema g_listtxns_entry =
    PF_SCHEMA("TransactionState", listtxns_entry, g_listtxns_entry_fields);
static const pf_field g_listtxns_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, listtxns_req, error_code),
    PF_FA("UnknownStateFilters", PF_STRS, 0, PF_LAST, PF_NEVER, listtxns_req, unknown_states,
          nunknown, NULL),
    PF_FA("TransactionStates", PF_STRUCTS, 0, PF_LAST, PF_NEVER, listtxns_req, entries,
          nentries, &g_listtxns_entry),
};
static const pf_schema g_listtxns_resp =
    PF_SCHEMA("ListTransactionsResponse", listtxns_req, g_listtxns_resp_fields);

/* Room for the unknown state filters the handler reports (at most one per filter). */
int listtxns_req_decode(rd *r, int16_t v, arena *a, listtxns_req *q)
{
    q->nunknown = q->nentries = 0;
    q->entries = NULL;
    if (pf_decode(r, v, a, &g_listtxns_req, q) != 0)
        return -1;
    q->unknown_states = arena_array(a, q->nstates, sizeof(*q->unknown_states));
    return q->nstates > 0 && !q->unknown_states ? -1 : 0;
}

void listtxns_resp_encode(wr *w, int16_t v, const listtxns_req *q)
{
    pf_encode(w, v, &g_listtxns_resp, q);
}

static const pf_field g_describecluster_req_fields[] = {
    PF_F("IncludeClusterAuthorizedOperations", PF_BOOL, 0, PF_LAST, describecluster_req,
         include_cluster_ops),
    PF_FD("EndpointType", PF_I8, 1, PF_LAST, describecluster_req, endpoint_type,
          ENDPOINT_TYPE_BROKER),
    PF_F("IncludeFencedBrokers", PF_BOOL, 2, PF_LAST, describecluster_req, include_fenced),
};
static const pf_schema g_describecluster_req =
    PF_SCHEMA("DescribeClusterRequest", describecluster_req, g_describecluster_req_fields);

int describecluster_req_decode(rd *r, int16_t v, arena *a, describecluster_req *q)
{
    return pf_decode(r, v, a, &g_describecluster_req, q);
}

static const pf_field g_dc_broker_fields[] = {
    PF_F("BrokerId", PF_I32, 0, PF_LAST, md_broker, node_id),
    PF_F("Host", PF_CSTR, 0, PF_LAST, md_broker, host),
    PF_F("Port", PF_I32, 0, PF_LAST, md_broker, port),
    PF_FN("Rack", PF_CSTR, 0, PF_LAST, 0, md_broker, rack),
    PF_FK("IsFenced", PF_BOOL, 2, PF_LAST, 0), /* Brook lists only live, registered brokers */
};
static const pf_schema g_dc_broker =
    PF_SCHEMA("DescribeClusterBroker", md_broker, g_dc_broker_fields);
static const pf_field g_describecluster_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, describecluster_resp, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, describecluster_resp, error_message),
    PF_F("EndpointType", PF_I8, 1, PF_LAST, describecluster_resp, endpoint_type),
    PF_F("ClusterId", PF_CSTR, 0, PF_LAST, describecluster_resp, cluster_id),
    PF_F("ControllerId", PF_I32, 0, PF_LAST, describecluster_resp, controller_id),
    PF_FA("Brokers", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describecluster_resp, brokers, nbrokers,
          &g_dc_broker),
    PF_F("ClusterAuthorizedOperations", PF_I32, 0, PF_LAST, describecluster_resp, cluster_ops),
};
static const pf_schema g_describecluster_resp =
    PF_SCHEMA("DescribeClusterResponse", describecluster_resp, g_describecluster_resp_fields);

void describecluster_resp_encode(wr *w, int16_t v, const describecluster_resp *m)
{
    pf_encode(w, v, &g_describecluster_resp, m);
}

int msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a)
{
    union {
        apiversions_req av;
        metadata_req md;
        produce_req pr;
        fetch_req fe;
        leaderepoch_req le;
        listoffsets_req lo;
        createtopics_req ct;
        deletetopics_req dt;
        createparts_req cp;
        deleterecords_req dr;
        describeconfigs_req dc;
        alterconfigs_req ac;
        findcoord_req fc;
        initpid_req ip;
        addparts_req ap;
        endtxn_req et;
        txn_markers_req wm;
        txn_prepares_req bp;
        txn_status_req bs;
        describeproducers_req dp;
        describetxns_req dt2;
        listtxns_req lt;
        describecluster_req dcl;
        incalter_req ia;
        describelogdirs_req dl;
    } u;
    switch (api_key) {
    case API_API_VERSIONS: return apiversions_req_decode(r, version, a, &u.av);
    case API_METADATA: return metadata_req_decode(r, version, a, &u.md);
    case API_PRODUCE: return produce_req_decode(r, version, a, &u.pr);
    case API_FETCH: return fetch_req_decode(r, version, a, &u.fe);
    case API_OFFSET_FOR_LEADER_EPOCH: return leaderepoch_req_decode(r, version, a, &u.le);
    case API_LIST_OFFSETS: return listoffsets_req_decode(r, version, a, &u.lo);
    case API_CREATE_TOPICS: return createtopics_req_decode(r, version, a, &u.ct);
    case API_DELETE_TOPICS: return deletetopics_req_decode(r, version, a, &u.dt);
    case API_CREATE_PARTITIONS: return createparts_req_decode(r, version, a, &u.cp);
    case API_DELETE_RECORDS: return deleterecords_req_decode(r, version, a, &u.dr);
    case API_DESCRIBE_CONFIGS: return describeconfigs_req_decode(r, version, a, &u.dc);
    case API_ALTER_CONFIGS: return alterconfigs_req_decode(r, version, a, &u.ac);
    case API_FIND_COORDINATOR: return findcoord_req_decode(r, version, a, &u.fc);
    case API_INIT_PRODUCER_ID: return initpid_req_decode(r, version, a, &u.ip);
    case API_ADD_PARTITIONS_TO_TXN: return addparts_req_decode(r, version, a, &u.ap);
    case API_END_TXN: return endtxn_req_decode(r, version, a, &u.et);
    case API_WRITE_TXN_MARKERS: return txn_markers_req_decode(r, a, &u.wm);
    case API_BROOK_PREPARE_TXN: return txn_prepares_req_decode(r, a, &u.bp, version);
    case API_BROOK_TXN_STATUS: return txn_status_req_decode(r, &u.bs);
    case API_DESCRIBE_PRODUCERS: return describeproducers_req_decode(r, version, a, &u.dp);
    case API_DESCRIBE_TRANSACTIONS: return describetxns_req_decode(r, version, a, &u.dt2);
    case API_LIST_TRANSACTIONS: return listtxns_req_decode(r, version, a, &u.lt);
    case API_DESCRIBE_CLUSTER: return describecluster_req_decode(r, version, a, &u.dcl);
    case API_INCREMENTAL_ALTER_CONFIGS: return incalter_req_decode(r, version, a, &u.ia);
    case API_DESCRIBE_LOG_DIRS: return describelogdirs_req_decode(r, version, a, &u.dl);
    }
    int rc = group_msgs_decode_any(api_key, version, r, a);
    if (rc == -2)
        rc = sec_msgs_decode_any(api_key, version, r, a);
    if (rc == -2)
        rc = quota_msgs_decode_any(api_key, version, r, a);
    return rc == -2 ? -1 : rc;
}
