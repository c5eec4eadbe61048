/*
 * msgs.h - request decoders and response encoders for every API in the version table.
 *
 * Owns: the field layouts of each API and version (shared/kafka/SCHEMAS.txt). Decoders
 * fill structs whose arrays live in the request's arena and whose strings/bytes borrow the
 * request buffer; every length is checked against the bytes present, and a decoder
 * returns 0 or -1 (malformed: the connection is closed). Encoders write a response body
 * (after resp_begin) from a struct the handler filled. Fetch also has its client side
 * (fetch_req_encode, fetch_resp_decode) for the replication follower.
 * Never: decides anything; handlers in broker/ do.
 */
#ifndef BROOK_PROTO_MSGS_H
#define BROOK_PROTO_MSGS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

/* ---- ApiVersions ---- */
typedef struct apiversions_req {
    kslice client_software_name, client_software_version; /* v3+ */
} apiversions_req;
int apiversions_req_decode(rd *r, int16_t v, arena *a, apiversions_req *q);
/* Encodes the body listing the version table. For an unsupported version the caller
 * passes v = 0 and error UNSUPPORTED_VERSION, as Kafka does. No feature tags: the same as
 * apiversions_resp_encode_features with no features and epoch -1. */
void apiversions_resp_encode(wr *w, int16_t v, int16_t error_code);
/* A feature (KIP-584) in ApiVersions v3+: SupportedFeatures' MinVersion/MaxVersion, or
 * FinalizedFeatures' MinVersionLevel (min) and MaxVersionLevel (max). */
typedef struct apiv_feature {
    const char *name;
    int16_t min, max;
} apiv_feature;
/* The same body with, from v3, the response's tagged fields, each written only when it is
 * not its default (Kafka's rule): SupportedFeatures (tag 0, when one is left to send),
 * FinalizedFeaturesEpoch (tag 1, when not -1) and FinalizedFeatures (tag 2, when
 * nfinalized > 0). Below v4 a supported feature whose min is 0 is left out (KAFKA-17011:
 * older clients fail to read it). Below v3 the features are ignored. */
void apiversions_resp_encode_features(wr *w, int16_t v, int16_t error_code,
                                      const apiv_feature *supported, int nsupported,
                                      int64_t finalized_epoch, const apiv_feature *finalized,
                                      int nfinalized);

/* Kafka's topic ids (UUIDs) are 16 bytes on the wire; all-zero means none. */
#define TOPIC_ID_LEN 16

/* ---- Metadata ---- */
typedef struct md_req_topic {
    uint8_t id[TOPIC_ID_LEN]; /* v10+ (zero: by name); zero below */
    kslice name;              /* null on the wire from v10 (allowed only from v12) */
} md_req_topic;
typedef struct metadata_req {
    int32_t ntopics; /* -1: all topics */
    md_req_topic *topics;
    bool allow_auto_create;   /* v4+; true below */
    bool include_cluster_ops; /* v8-v10 */
    bool include_topic_ops;   /* v8+ */
} metadata_req;
int metadata_req_decode(rd *r, int16_t v, arena *a, metadata_req *q);

typedef struct md_broker {
    int32_t node_id;
    const char *host;
    int32_t port;
    const char *rack;
} md_broker;
typedef struct md_partition {
    int16_t error_code;
    int32_t index, leader, leader_epoch;
    int32_t nreplicas;
    const int32_t *replicas;
    int32_t nisr;
    const int32_t *isr;
} md_partition;
typedef struct md_topic {
    int16_t error_code;
    kslice name;                  /* v12+ null for an unknown topic id */
    uint8_t id[TOPIC_ID_LEN];     /* v10+ */
    bool is_internal;
    int32_t npartitions;
    md_partition *partitions;
    int32_t authorized_ops; /* v8+: set by metadata_resp_encode */
} md_topic;
typedef struct metadata_resp {
    int32_t nbrokers;
    md_broker *brokers;
    const char *cluster_id;
    int32_t controller_id;
    int32_t ntopics;
    md_topic *topics;
    /* v8+: the authorized operations asked for (the encoder fills each topic's and
     * cluster_ops from these unless ops_given). Without ACLs they are every operation Kafka
     * supports on the resource (its answer without an authorizer); not asked (and for an
     * unknown topic id): INT32_MIN, "not computed". */
    bool include_topic_ops, include_cluster_ops;
    bool ops_given;      /* the caller computed them (ACLs): the encoder keeps them */
    int32_t cluster_ops; /* v8-v10 */
} metadata_resp;
/* Kafka's bit sets of every operation on a topic (READ, WRITE, CREATE, DELETE, ALTER,
 * DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS) and on the cluster (CREATE, ALTER, DESCRIBE,
 * CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE): 1 << AclOperation. */
#define MD_TOPIC_OPS_ALL 0x0df8
#define MD_CLUSTER_OPS_ALL 0x1fa0
/* Fills first what the answer derives: each topic's authorized_ops and cluster_ops from
 * include_*_ops. A null name goes out as "" below v12. */
void metadata_resp_encode(wr *w, int16_t v, metadata_resp *m);

/* ---- Produce ---- */
/* A record a batch was refused for (v8+, KIP-467): its index in the batch and why. */
typedef struct produce_record_error {
    int32_t index;
    const char *message; /* NULL: null */
} produce_record_error;
typedef struct produce_part {
    int32_t index;
    kslice records; /* borrowed; handlers may patch it in place (offsets) */
    /* response */
    int16_t error_code;
    int64_t base_offset, log_append_time, log_start_offset;
    /* v8+ (KIP-467): the records that made it refuse the batch, and a message for the
     * partition; NULL: null */
    int32_t nrecord_errors;
    const produce_record_error *record_errors;
    const char *error_message;
} produce_part;
typedef struct produce_topic {
    kslice name; /* v13+: null from the decoder (the handler resolves id) */
    uint8_t id[TOPIC_ID_LEN]; /* v13+ (the response's too) */
    int32_t nparts;
    produce_part *parts;
} produce_topic;
typedef struct produce_req {
    kslice transactional_id;
    int16_t acks;
    int32_t timeout_ms;
    int32_t ntopics;
    produce_topic *topics;
    bool by_id; /* v13+: topics named by id */
    int32_t throttle_time_ms; /* response v1+: set by the handler (quotas), 0 decoded */
} produce_req;
/* v3-v13; v12 (transactions v2, KIP-890: the partition leader adds the partition to the
 * transaction itself) has v11's layout; v13 names topics by id (KIP-516). */
int produce_req_decode(rd *r, int16_t v, arena *a, produce_req *q);
/* The response echoes the request's topics with the per-partition results filled in. */
void produce_resp_encode(wr *w, int16_t v, const produce_req *q);

/* ---- Fetch ---- */
typedef struct fetch_aborted {
    int64_t producer_id, first_offset;
} fetch_aborted;
/* DivergingEpoch (response v12+, tag 0): the largest epoch <= the fetcher's
 * LastFetchedEpoch and where it ends, when the fetcher's log diverges from ours. */
typedef struct fetch_epoch_end {
    int32_t epoch;      /* -1 with end_offset -1: absent (the default, not sent) */
    int64_t end_offset;
} fetch_epoch_end;
/* CurrentLeader (response v12+, tag 1). */
typedef struct fetch_leader {
    int32_t leader_id;    /* -1 with leader_epoch -1: absent (the default, not sent) */
    int32_t leader_epoch;
} fetch_leader;
typedef struct fetch_part {
    int32_t index, current_leader_epoch;
    int64_t fetch_offset;
    int32_t last_fetched_epoch; /* v12+, else -1 */
    int64_t log_start_offset;
    int32_t partition_max_bytes;
    /* response */
    int16_t error_code;
    int64_t high_watermark, last_stable_offset, resp_log_start_offset;
    int32_t naborted; /* -1: null */
    fetch_aborted *aborted;
    kslice records; /* owned by the handler's buffer; null: none (sent as empty) */
    fetch_epoch_end diverging_epoch; /* v12+ tagged: written only when not {-1, -1} */
    fetch_leader current_leader;     /* v12+ tagged: written only when not {-1, -1} */
} fetch_part;
typedef struct fetch_topic {
    kslice name; /* v13+: null from the decoder (the handler resolves id) */
    uint8_t id[TOPIC_ID_LEN]; /* v13+ (the response's too) */
    int32_t nparts;
    fetch_part *parts;
} fetch_topic;
/* ForgottenTopicsData (v7+): partitions to drop from an incremental fetch session. */
typedef struct fetch_forgotten {
    kslice name;              /* v7-v12; null from v13 (the handler resolves id) */
    uint8_t id[TOPIC_ID_LEN]; /* v13+ */
    int32_t nparts;
    int32_t *parts;
} fetch_forgotten;
typedef struct fetch_req {
    int32_t replica_id; /* v15+: ReplicaState's (tag 1), -1 when absent */
    int32_t max_wait_ms, min_bytes, max_bytes;
    int8_t isolation_level;
    int32_t session_id, session_epoch;
    int32_t ntopics;
    fetch_topic *topics;
    int32_t nforgotten; /* v7+ (always sent empty by fetch_req_encode) */
    fetch_forgotten *forgotten;
    bool by_id; /* v13+: topics named by id */
    kslice rack_id;
    kslice cluster_id;     /* v12+ tagged field 0; null when absent */
    int64_t replica_epoch; /* v15+ ReplicaState's, -1 when absent */
    /* response v16+: NodeEndpoints (tag 0, sent when not empty): the nodes named by the
     * partitions' CurrentLeader */
    int32_t nnode_endpoints;
    const md_broker *node_endpoints;
    int32_t throttle_time_ms; /* response v1+: set by the handler (quotas), 0 decoded */
    int32_t resp_session_id;  /* response v7+: the fetch session (KIP-227), 0: none */
} fetch_req;
/* Decodes the request and sets every response field of each partition to its default
 * (no records, aborted list null, offsets, DivergingEpoch and CurrentLeader -1). */
int fetch_req_decode(rd *r, int16_t v, arena *a, fetch_req *q);
void fetch_resp_encode(wr *w, int16_t v, const fetch_req *q, int16_t error_code);

/* Client side (the replication follower, v4..v12; v12 is what a follower sends).
 *
 * fetch_req_encode writes the request body (after the request header) that
 * fetch_req_decode reads, from the request fields of q (response fields are ignored):
 * replica_id (a follower's broker id; -1 for a consumer), max_wait_ms, min_bytes,
 * max_bytes, isolation_level, session_id/session_epoch (v7+; 0/-1: no fetch session),
 * per partition index, current_leader_epoch (v9+), fetch_offset, last_fetched_epoch (v12+),
 * log_start_offset (v5+), partition_max_bytes; an empty ForgottenTopics list (v7+);
 * rack_id (v11+; a null rack is sent as "", the field is not nullable); and at v12 the
 * ClusterId tag only when cluster_id is not null. Sets w->flex from v (flexible from v12).
 * v must be one the decoder supports (asserted). */
void fetch_req_encode(wr *w, int16_t v, const fetch_req *q);

typedef struct fetch_resp_part {
    int32_t index;
    int16_t error_code;
    int64_t high_watermark, last_stable_offset;
    int64_t log_start_offset;       /* v5+, else -1 */
    int32_t naborted;               /* -1: null */
    fetch_aborted *aborted;         /* in the arena */
    int32_t preferred_read_replica; /* v11+, else -1 */
    kslice records;                 /* borrows the response bytes; len -1: null */
    fetch_epoch_end diverging_epoch; /* v12+ tag 0; {-1, -1} when absent */
    fetch_leader current_leader;     /* v12+ tag 1; {-1, -1} when absent */
} fetch_resp_part;
typedef struct fetch_resp_topic {
    kslice name; /* borrowed */
    int32_t nparts;
    fetch_resp_part *parts;
} fetch_resp_topic;
typedef struct fetch_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* v7+, else 0 */
    int32_t session_id; /* v7+, else 0 */
    int32_t ntopics;
    fetch_resp_topic *topics;
} fetch_resp;
/* Decodes a Fetch response body: r spans exactly the body, after the response header (at
 * v12 the caller skips the header's tag buffer first: r->flex = true; rd_tags(r)). Sets
 * r->flex from v. Arrays live in a; names and records borrow r's bytes. Tags other than
 * DivergingEpoch and CurrentLeader (SnapshotId, later ones) are skipped. Returns 0, or -1
 * for a version outside 4..12 or anything short, lying, null where Kafka forbids it, or
 * followed by trailing bytes; a count is checked against the bytes left before anything
 * is allocated for it. */
int fetch_resp_decode(rd *r, int16_t v, arena *a, fetch_resp *out);

/* ---- OffsetForLeaderEpoch ---- */
typedef struct leaderepoch_part {
    int32_t index;
    int32_t current_leader_epoch; /* v2+, else -1 (no fencing) */
    int32_t leader_epoch;         /* the epoch asked about */
    /* response */
    int16_t error_code;
    int32_t resp_leader_epoch; /* v1+ */
    int64_t end_offset;
} leaderepoch_part;
typedef struct leaderepoch_topic {
    kslice name;
    int32_t nparts;
    leaderepoch_part *parts;
} leaderepoch_topic;
typedef struct leaderepoch_req {
    int32_t replica_id; /* v3+, else -2 (Kafka's default: a debugging consumer) */
    int32_t ntopics;
    leaderepoch_topic *topics;
} leaderepoch_req;
/* Response fields start as error NONE, epoch -1, end offset -1. */
int leaderepoch_req_decode(rd *r, int16_t v, arena *a, leaderepoch_req *q);
/* The response echoes the request's topics and partitions with their results. */
void leaderepoch_resp_encode(wr *w, int16_t v, const leaderepoch_req *q);

/* ---- ListOffsets ---- */
/* Timestamps with a meaning (ListOffsets): the next offset, the first, the record with
 * the largest timestamp (v7+, KIP-734), the first held locally (v8+, KIP-405), the last in
 * remote storage (v9+, KIP-1005). */
#define LO_LATEST (-1)
#define LO_EARLIEST (-2)
#define LO_MAX_TIMESTAMP (-3)
#define LO_EARLIEST_LOCAL (-4)
#define LO_LATEST_TIERED (-5)
typedef struct listoffsets_part {
    int32_t index;
    int32_t current_leader_epoch; /* v4+, else -1: not checked */
    int64_t timestamp;
    int16_t error_code;
    int64_t resp_timestamp, offset;
    int32_t resp_leader_epoch; /* v4+ */
} listoffsets_part;
typedef struct listoffsets_topic {
    kslice name;
    int32_t nparts;
    listoffsets_part *parts;
} listoffsets_topic;
typedef struct listoffsets_req {
    int32_t replica_id;
    int8_t isolation_level;
    int32_t ntopics;
    listoffsets_topic *topics;
    int32_t timeout_ms; /* v10+ (KIP-1075, remote storage), else -1 */
} listoffsets_req;
int listoffsets_req_decode(rd *r, int16_t v, arena *a, listoffsets_req *q);
void listoffsets_resp_encode(wr *w, int16_t v, const listoffsets_req *q);

/* ---- CreateTopics ---- */
typedef struct kv_pair {
    kslice name, value;
} kv_pair;
struct describe_entry;
/* A replica assignment entry: partition index and its brokers, preferred leader first
 * (CreateTopics' Assignments, CreatePartitions' Assignments without the index). */
typedef struct replica_assign {
    int32_t index;
    int32_t nbrokers;
    int32_t *brokers;
} replica_assign;
typedef struct createtopics_topic {
    kslice name;
    int32_t num_partitions;
    int16_t replication_factor;
    int32_t nassignments;
    replica_assign *assignments;
    int32_t nconfigs;
    kv_pair *configs;
    /* response */
    int16_t error_code;
    const char *error_message;
    uint8_t topic_id[TOPIC_ID_LEN]; /* v7+: zero unless created */
    int32_t resp_num_partitions;    /* v5+: -1 unless created (or validated) */
    int16_t resp_replication_factor;
    int32_t nresp_configs;          /* v5+: the topic's configs (read_only, source, ...) */
    const struct describe_entry *resp_configs;
} createtopics_topic;
typedef struct createtopics_req {
    int32_t ntopics;
    createtopics_topic *topics;
    int32_t timeout_ms;
    bool validate_only;
} createtopics_req;
int createtopics_req_decode(rd *r, int16_t v, arena *a, createtopics_req *q);
void createtopics_resp_encode(wr *w, int16_t v, const createtopics_req *q);

/* ---- DeleteTopics ---- */
typedef struct deletetopics_topic {
    kslice name;              /* v6+: null when the entry names a topic id */
    uint8_t id[TOPIC_ID_LEN]; /* v6+ request (zero: by name); the response's in all versions */
    int16_t error_code;        /* response */
    const char *error_message; /* response v5+; NULL: null */
} deletetopics_topic;
typedef struct deletetopics_req {
    int32_t ntopics; /* v0-5 TopicNames, v6+ Topics: one list */
    deletetopics_topic *topics;
    int32_t timeout_ms;
} deletetopics_req;
int deletetopics_req_decode(rd *r, int16_t v, arena *a, deletetopics_req *q);
void deletetopics_resp_encode(wr *w, int16_t v, const deletetopics_req *q);

/* ---- CreatePartitions ---- */
typedef struct createparts_topic {
    kslice name;
    int32_t count;
    int32_t nassignments; /* -1: null; else one per new partition (index unused) */
    replica_assign *assignments;
    int16_t error_code;
    const char *error_message;
} createparts_topic;
typedef struct createparts_req {
    int32_t ntopics;
    createparts_topic *topics;
    int32_t timeout_ms;
    bool validate_only;
} createparts_req;
int createparts_req_decode(rd *r, int16_t v, arena *a, createparts_req *q);
void createparts_resp_encode(wr *w, int16_t v, const createparts_req *q);

/* ---- DeleteRecords ---- */
typedef struct deleterecords_part {
    int32_t index;
    int64_t offset;
    int64_t low_watermark;
    int16_t error_code;
} deleterecords_part;
typedef struct deleterecords_topic {
    kslice name;
    int32_t nparts;
    deleterecords_part *parts;
} deleterecords_topic;
typedef struct deleterecords_req {
    int32_t ntopics;
    deleterecords_topic *topics;
    int32_t timeout_ms;
} deleterecords_req;
int deleterecords_req_decode(rd *r, int16_t v, arena *a, deleterecords_req *q);
void deleterecords_resp_encode(wr *w, int16_t v, const deleterecords_req *q);

/* ---- DescribeConfigs / AlterConfigs ---- */
enum config_resource_type { CONFIG_RESOURCE_TOPIC = 2, CONFIG_RESOURCE_BROKER = 4 };
enum config_source {
    CONFIG_SOURCE_TOPIC = 1,
    CONFIG_SOURCE_DYNAMIC_BROKER = 2,
    CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    CONFIG_SOURCE_STATIC_BROKER = 4,
    CONFIG_SOURCE_DEFAULT = 5
};
/* Kafka's ConfigType (DescribeConfigs v3+). */
enum config_value_type {
    CONFIG_TYPE_UNKNOWN = 0,
    CONFIG_TYPE_BOOLEAN = 1,
    CONFIG_TYPE_STRING = 2,
    CONFIG_TYPE_INT = 3,
    CONFIG_TYPE_LONG = 5,
    CONFIG_TYPE_DOUBLE = 6,
    CONFIG_TYPE_LIST = 7,
};
typedef struct describe_entry { /* also CreateTopics v5+ */
    const char *name, *value;
    bool read_only, is_default, is_sensitive;
    int8_t source;
    int8_t config_type;        /* v3+ */
    const char *documentation; /* v3+, sent when asked for; NULL: null */
} describe_entry;
typedef struct describeconfigs_res {
    int8_t type;
    kslice name;
    int32_t nnames; /* -1: all */
    kslice *names;
    /* response */
    int16_t error_code;
    const char *error_message;
    int32_t nentries;
    describe_entry *entries;
} describeconfigs_res;
typedef struct describeconfigs_req {
    int32_t nresources;
    describeconfigs_res *resources;
    bool include_synonyms;
    bool include_documentation; /* v3+ */
} describeconfigs_req;
/* Does the request ask for config `name` of resource res (all of them when it names none)? */
bool describeconfigs_wants(const describeconfigs_res *res, const char *name);
int describeconfigs_req_decode(rd *r, int16_t v, arena *a, describeconfigs_req *q);
void describeconfigs_resp_encode(wr *w, int16_t v, const describeconfigs_req *q);

typedef struct alterconfigs_res {
    int8_t type;
    kslice name;
    int32_t nconfigs;
    kv_pair *configs;
    int16_t error_code;
    const char *error_message;
} alterconfigs_res;
typedef struct alterconfigs_req {
    int32_t nresources;
    alterconfigs_res *resources;
    bool validate_only;
} alterconfigs_req;
int alterconfigs_req_decode(rd *r, int16_t v, arena *a, alterconfigs_req *q);
void alterconfigs_resp_encode(wr *w, int16_t v, const alterconfigs_req *q);

/* ---- IncrementalAlterConfigs (v0-v1, flexible from v1) ---- */
enum config_op { CONFIG_OP_SET = 0, CONFIG_OP_DELETE = 1, CONFIG_OP_APPEND = 2,
                 CONFIG_OP_SUBTRACT = 3 };
typedef struct incalter_config {
    kslice name;
    int8_t op;    /* enum config_op; anything else is the handler's INVALID_REQUEST */
    kslice value; /* nullable */
} incalter_config;
typedef struct incalter_res {
    int8_t type;
    kslice name;
    int32_t nconfigs;
    incalter_config *configs;
    /* response */
    int16_t error_code;
    const char *error_message; /* NULL: null */
} incalter_res;
typedef struct incalter_req {
    int32_t nresources;
    incalter_res *resources;
    bool validate_only;
} incalter_req;
/* Resource and config names may not be null (malformed); values may. */
int incalter_req_decode(rd *r, int16_t v, arena *a, incalter_req *q);
/* The response echoes each resource's type and name with its error. */
void incalter_resp_encode(wr *w, int16_t v, const incalter_req *q);

/* ---- DescribeLogDirs (v0-v4, flexible from v2) ---- */
typedef struct dlogdirs_topic {
    kslice name; /* never null */
    int32_t nparts;
    int32_t *parts;
} dlogdirs_topic;
typedef struct describelogdirs_req {
    int32_t ntopics; /* -1: null, every topic */
    dlogdirs_topic *topics;
} describelogdirs_req;
int describelogdirs_req_decode(rd *r, int16_t v, arena *a, describelogdirs_req *q);

typedef struct dlogdirs_part {
    int32_t index;
    int64_t size;       /* bytes of its segments */
    int64_t offset_lag;
    bool is_future;
} dlogdirs_part;
typedef struct dlogdirs_rtopic {
    const char *name;
    int32_t nparts;
    const dlogdirs_part *parts;
} dlogdirs_rtopic;
typedef struct dlogdirs_dir {
    int16_t error_code;
    const char *log_dir;
    int32_t ntopics;
    const dlogdirs_rtopic *topics;
    int64_t total_bytes, usable_bytes; /* v4+; -1: unknown */
} dlogdirs_dir;
typedef struct describelogdirs_resp {
    int16_t error_code; /* v3+ */
    int32_t ndirs;
    const dlogdirs_dir *dirs;
} describelogdirs_resp;
void describelogdirs_resp_encode(wr *w, int16_t v, const describelogdirs_resp *m);

/* ---- FindCoordinator ---- */
typedef struct findcoord_req {
    int8_t key_type; /* 0 group, 1 transaction */
    int32_t nkeys;   /* v4+ asks for several keys (KIP-699); below, exactly one */
    kslice *keys;
} findcoord_req;
/* One key's coordinator. */
typedef struct findcoord_resp {
    int16_t error_code;
    const char *error_message;
    int32_t node_id;
    const char *host;
    int32_t port;
    kslice key; /* v4+ */
} findcoord_resp;
int findcoord_req_decode(rd *r, int16_t v, arena *a, findcoord_req *q);
/* n answers, one per key of the request (below v4: m[0] only). */
void findcoord_resp_encode(wr *w, int16_t v, const findcoord_resp *m, int32_t n);

/* ---- InitProducerId ---- */
typedef struct initpid_req {
    kslice transactional_id;
    int32_t timeout_ms;
    int64_t producer_id;    /* v3+, else -1 */
    int16_t producer_epoch; /* v3+, else -1 */
} initpid_req;
/* v0-v5; v4 and v5 have v3's fields (they only add error codes). */
int initpid_req_decode(rd *r, int16_t v, arena *a, initpid_req *q);
void initpid_resp_encode(wr *w, int16_t v, int16_t error_code, int64_t pid, int16_t epoch);

/* ---- AddPartitionsToTxn ---- */
/* v0-3 (clients): one transaction, top-level fields. v4+ (broker to broker, KIP-890): a
 * batch of transactions, each with VerifyOnly, and a top-level error in the response. */
typedef struct addparts_topic {
    kslice name;
    int32_t nparts;
    int32_t *parts;
    int16_t *errors; /* response, one per partition */
} addparts_topic;
/* Brook's tagged field on AddPartitionsToTxnTransaction (request) and on
 * AddPartitionsToTxnResult (response), v4+: the transaction's group participants (group
 * ids), request: [GroupId string]; response: [GroupId string, ErrorCode int16]. Kafka brokers
 * ignore it. Inside it everything is flexible (compact array and strings) and the elements
 * carry no tag buffer of their own. */
#define ADDPARTS_TAG_GROUPS 10000
typedef struct addparts_txn {
    kslice transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool verify_only;
    int32_t ntopics;
    /* errors[] per partition: filled by the handler or by the response decoder */
    addparts_topic *topics;
    int32_t ngroups;
    kslice *groups;
    int16_t *group_errors;    /* one per group */
} addparts_txn;
typedef struct addparts_req {
    /* v0-3 */
    kslice transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t ntopics;
    addparts_topic *topics;
    int32_t ntxns;            /* v4+ */
    addparts_txn *txns;       /* v4+ */
    int16_t error_code;       /* v4+ response top-level error */
} addparts_req;
/* Every version. v0-3 fill the top-level fields (ntxns 0, txns NULL). v4+ fill ntxns and
 * txns and leave the v0-3 fields empty (transactional_id null, producer_id and
 * producer_epoch -1, no topics); a null transactional id or topic name is malformed there,
 * and so is a null group id in the ADDPARTS_TAG_GROUPS tag (other tags are skipped). Every
 * partition gets an errors[] slot (and every group a group_errors[] slot), zeroed;
 * error_code is 0. */
int addparts_req_decode(rd *r, int16_t v, arena *a, addparts_req *q);
/* The request body (after the request header) that addparts_req_decode reads, at any
 * version 0-5: v0-3 from the top-level fields, v4+ from txns (the ADDPARTS_TAG_GROUPS tag
 * on a transaction only when it has groups). Sets w->flex from v (flexible from v3). */
void addparts_req_encode(wr *w, int16_t v, const addparts_req *q);
/* The response echoes the request's topics (v0-3) or transactions (v4+: error_code, then
 * per transaction its topics, and its groups with group_errors in the ADDPARTS_TAG_GROUPS
 * tag when ngroups > 0). A NULL errors or group_errors array is sent as zeros. */
void addparts_resp_encode(wr *w, int16_t v, const addparts_req *q);
/* Decodes a response body: r spans exactly the body, after the response header (from v3
 * the caller skips the header's tag buffer first: r->flex = true; rd_tags(r)). Sets
 * r->flex from v. Overwrites all of q: v0-3 fill q->topics (name, parts, errors), v4+
 * q->error_code and q->txns (transactional_id, topics with their errors, and groups with
 * group_errors from the ADDPARTS_TAG_GROUPS tag). The fields the answer does not carry are
 * set to: transactional_id null, producer ids and epochs -1, verify_only false, no topics
 * or transactions. Unknown tags are skipped. Returns 0, or -1 for a version outside 0..5,
 * anything short, lying, null where Kafka forbids it, or followed by trailing bytes. */
int addparts_resp_decode(rd *r, int16_t v, arena *a, addparts_req *q);

/* ---- EndTxn ---- */
typedef struct endtxn_req {
    kslice transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool committed;
} endtxn_req;
/* Every version: v0-5 have the same fields (v3+ flexible). */
int endtxn_req_decode(rd *r, int16_t v, arena *a, endtxn_req *q);
/* Throttle and error, and from v5 (KIP-890 part 2) ProducerId and ProducerEpoch: the
 * producer's id and epoch after the transaction ended (the epoch is bumped at every end). */
void endtxn_resp_encode(wr *w, int16_t v, int16_t error_code, int64_t pid, int16_t epoch);
/* Responses that are only throttle + error (EndTxn below v5, AddOffsetsToTxn). */
void error_only_resp_encode(wr *w, int16_t v, int16_t error_code);

/* The transaction admin APIs (KIP-664, ListTransactions v1: KIP-994) and DescribeCluster.
 * Every version of them is flexible. Strings and arrays that Kafka's schema does not allow
 * to be null are malformed when null. */

/* ---- DescribeProducers (v0) ---- */
typedef struct dprod_producer {
    int64_t producer_id;
    int32_t producer_epoch; /* int32 on the wire, as Kafka's schema has it */
    int32_t last_sequence;  /* -1: none */
    int64_t last_timestamp; /* -1: none */
    int32_t coordinator_epoch;
    int64_t current_txn_start_offset; /* -1: no open transaction */
} dprod_producer;
typedef struct dprod_part {
    int32_t index;
    /* response */
    int16_t error_code;
    const char *error_message; /* NULL: null */
    int32_t nproducers;
    const dprod_producer *producers;
} dprod_part;
typedef struct dprod_topic {
    kslice name;
    int32_t nparts;
    dprod_part *parts;
} dprod_topic;
typedef struct describeproducers_req {
    int32_t ntopics;
    dprod_topic *topics;
} describeproducers_req;
/* Response fields start as error NONE, null message, no producers. */
int describeproducers_req_decode(rd *r, int16_t v, arena *a, describeproducers_req *q);
/* The response echoes the request's topics and partitions with their results. */
void describeproducers_resp_encode(wr *w, int16_t v, const describeproducers_req *q);

/* ---- DescribeTransactions (v0) ---- */
typedef struct dtxn_topic {
    const char *name;
    int32_t nparts;
    const int32_t *parts;
} dtxn_topic;
typedef struct dtxn_state {
    kslice id; /* the transactional id as on the wire (set by the decoder, echoed back) */
    int16_t error_code;
    const char *state; /* Kafka's state name; "" with an error */
    int32_t timeout_ms;
    int64_t start_ms;  /* -1: no transaction started (Empty) */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t ntopics;
    const dtxn_topic *topics;
} dtxn_state;
typedef struct describetxns_req {
    int32_t nids;
    kslice *ids;       /* the transactional ids as on the wire (echoed back) */
    dtxn_state *states; /* response, one per id; zeroed by the decoder */
} describetxns_req;
int describetxns_req_decode(rd *r, int16_t v, arena *a, describetxns_req *q);
void describetxns_resp_encode(wr *w, int16_t v, const describetxns_req *q);

/* ---- ListTransactions (v0-v1) ---- */
typedef struct listtxns_entry {
    const char *txn_id; /* internal form (proto/ident.h), written back as on the wire */
    int64_t producer_id;
    const char *state;
} listtxns_entry;
typedef struct listtxns_req {
    int32_t nstates;
    kslice *states;
    int32_t npids;
    int64_t *pids;
    int64_t duration_ms; /* v1+ DurationFilter; -1 (no filter) below */
    kslice txn_id_pattern; /* v2+ TransactionalIdPattern (KIP-1152); null: no filter */
    /* response */
    int16_t error_code;
    int32_t nunknown;
    kslice *unknown_states;
    int32_t nentries;
    const listtxns_entry *entries;
} listtxns_req;
int listtxns_req_decode(rd *r, int16_t v, arena *a, listtxns_req *q);
void listtxns_resp_encode(wr *w, int16_t v, const listtxns_req *q);

/* ---- DescribeCluster (v0-v1) ---- */
enum { ENDPOINT_TYPE_BROKER = 1, ENDPOINT_TYPE_CONTROLLER = 2 };
typedef struct describecluster_req {
    bool include_cluster_ops;
    int8_t endpoint_type; /* v1+, else ENDPOINT_TYPE_BROKER */
    bool include_fenced;  /* v2+ IncludeFencedBrokers (KIP-1073) */
} describecluster_req;
typedef struct describecluster_resp {
    int16_t error_code;
    const char *error_message; /* NULL: null */
    int8_t endpoint_type;      /* v1+ */
    const char *cluster_id;
    int32_t controller_id;
    int32_t nbrokers;
    const md_broker *brokers;  /* rack NULL: null; v2+ each IsFenced false (below) */
    int32_t cluster_ops;       /* INT32_MIN: not asked for */
} describecluster_resp;
int describecluster_req_decode(rd *r, int16_t v, arena *a, describecluster_req *q);
void describecluster_resp_encode(wr *w, int16_t v, const describecluster_resp *m);

/* Decodes the body of any request in the table into an arena-allocated struct and
 * discards it: the single entry point of the request-decoder fuzz target. */
int msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a);

#endif
