/* api.c - see api.h. */
#include "proto/api.h"

#include <stddef.h>

#include "base/assert.h"

#define NOFLEX INT16_MAX

/* The single version table. Minimums of 0 are deliberate: librdkafka 2.0.2 probes exact
 * old versions to enable features (shared/kafka/PROTOCOL.md §A.1). Flexible starts are
 * Kafka's own (flexibleVersions in the message JSON). */
static const api_info g_apis[] = {
    {API_PRODUCE, "Produce", 3, 13, 9},
    {API_FETCH, "Fetch", 4, 18, 12},
    {API_LIST_OFFSETS, "ListOffsets", 1, 10, 6},
    {API_METADATA, "Metadata", 0, 13, 9},
    {API_OFFSET_COMMIT, "OffsetCommit", 2, 9, 8},
    {API_OFFSET_FETCH, "OffsetFetch", 1, 9, 6},
    {API_FIND_COORDINATOR, "FindCoordinator", 0, 6, 3},
    {API_JOIN_GROUP, "JoinGroup", 0, 9, 6},
    {API_HEARTBEAT, "Heartbeat", 0, 4, 4},
    {API_LEAVE_GROUP, "LeaveGroup", 0, 5, 4},
    {API_SYNC_GROUP, "SyncGroup", 0, 5, 4},
    {API_DESCRIBE_GROUPS, "DescribeGroups", 0, 6, 5},
    {API_LIST_GROUPS, "ListGroups", 0, 5, 3},
    {API_SASL_HANDSHAKE, "SaslHandshake", 0, 1, NOFLEX},
    {API_API_VERSIONS, "ApiVersions", 0, 4, 3},
    {API_CREATE_TOPICS, "CreateTopics", 0, 7, 5},
    {API_DELETE_TOPICS, "DeleteTopics", 0, 6, 4},
    {API_DELETE_RECORDS, "DeleteRecords", 0, 2, 2},
    {API_INIT_PRODUCER_ID, "InitProducerId", 0, 5, 2},
    {API_OFFSET_FOR_LEADER_EPOCH, "OffsetForLeaderEpoch", 0, 4, 4},
    {API_ADD_PARTITIONS_TO_TXN, "AddPartitionsToTxn", 0, 5, 3},
    {API_ADD_OFFSETS_TO_TXN, "AddOffsetsToTxn", 0, 4, 3},
    {API_END_TXN, "EndTxn", 0, 5, 3},
    {API_WRITE_TXN_MARKERS, "WriteTxnMarkers", 0, 1, 1},
    {API_TXN_OFFSET_COMMIT, "TxnOffsetCommit", 0, 5, 3},
    {API_DESCRIBE_ACLS, "DescribeAcls", 0, 3, 2},
    {API_CREATE_ACLS, "CreateAcls", 0, 3, 2},
    {API_DELETE_ACLS, "DeleteAcls", 0, 3, 2},
    {API_DESCRIBE_CONFIGS, "DescribeConfigs", 0, 4, 4},
    {API_ALTER_CONFIGS, "AlterConfigs", 0, 2, 2},
    {API_DESCRIBE_LOG_DIRS, "DescribeLogDirs", 0, 4, 2},
    {API_SASL_AUTHENTICATE, "SaslAuthenticate", 0, 2, 2},
    {API_CREATE_PARTITIONS, "CreatePartitions", 0, 3, 2},
    {API_DELETE_GROUPS, "DeleteGroups", 0, 2, 2},
    {API_INCREMENTAL_ALTER_CONFIGS, "IncrementalAlterConfigs", 0, 1, 1},
    {API_OFFSET_DELETE, "OffsetDelete", 0, 0, NOFLEX},
    {API_DESCRIBE_CLIENT_QUOTAS, "DescribeClientQuotas", 0, 1, 1},
    {API_ALTER_CLIENT_QUOTAS, "AlterClientQuotas", 0, 1, 1},
    {API_DESCRIBE_USER_SCRAM_CREDENTIALS, "DescribeUserScramCredentials", 0, 0, 0},
    {API_ALTER_USER_SCRAM_CREDENTIALS, "AlterUserScramCredentials", 0, 0, 0},
    {API_DESCRIBE_CLUSTER, "DescribeCluster", 0, 2, 0},
    {API_DESCRIBE_PRODUCERS, "DescribeProducers", 0, 0, 0},
    {API_DESCRIBE_TRANSACTIONS, "DescribeTransactions", 0, 0, 0},
    {API_LIST_TRANSACTIONS, "ListTransactions", 0, 2, 0},
    {API_CONSUMER_GROUP_HEARTBEAT, "ConsumerGroupHeartbeat", 0, 1, 0},
    {API_CONSUMER_GROUP_DESCRIBE, "ConsumerGroupDescribe", 0, 1, 0},
    {API_BROOK_PREPARE_TXN, "BrookPrepareTxn", 0, 2, NOFLEX},
    {API_BROOK_TXN_STATUS, "BrookTxnStatus", 0, 0, NOFLEX},
};

const api_info *api_table(int *n_out)
{
    *n_out = (int)BROOK_ARRAY_LEN(g_apis);
    return g_apis;
}

const api_info *api_lookup(int16_t key)
{
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_apis); i++)
        if (g_apis[i].key == key)
            return &g_apis[i];
    return NULL;
}

bool api_version_supported(int16_t key, int16_t version)
{
    const api_info *a = api_lookup(key);
    return a && version >= a->min_version && version <= a->max_version;
}

bool api_is_flexible(int16_t key, int16_t version)
{
    const api_info *a = api_lookup(key);
    return a && version >= a->flex_min && version <= a->max_version;
}

int req_header_decode(rd *r, req_header *h)
{
    h->api_key = rd_i16(r);
    h->api_version = rd_i16(r);
    h->correlation_id = rd_i32(r);
    r->flex = false; /* client_id is always a classic nullable string */
    h->client_id = rd_str(r);
    h->flexible = api_is_flexible(h->api_key, h->api_version);
    if (h->flexible) {
        r->flex = true;
        rd_tags(r);
    }
    return r->err ? -1 : 0;
}

void resp_begin(wr *w, const req_header *h)
{
    w->flex = false;
    wr_i32(w, 0); /* size, patched by resp_end */
    wr_i32(w, h->correlation_id);
    /* ApiVersions answers with header v0 even in flexible versions, so a client that
     * does not know our versions yet can always read it. */
    if (h->flexible && h->api_key != API_API_VERSIONS) {
        w->flex = true;
        wr_tags(w);
    }
    w->flex = h->flexible;
}

void resp_end(wr *w)
{
    BROOK_ASSERT(w->oom || w->len >= 8);
    BROOK_ASSERT(w->len - 4 + w->spliced <= INT32_MAX);
    wr_put_i32_at(w, 0, (int32_t)(w->len - 4 + w->spliced)); /* file spans included */
}
