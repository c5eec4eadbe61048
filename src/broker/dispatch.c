/* dispatch.c - from a complete frame to the handler of its API.
 * The version table (proto/api.c) decides what is served; anything outside it gets
 * UNSUPPORTED_VERSION (ApiVersions answers that in its v0 shape, as Kafka does). */
#include <stdio.h>

#include "base/log.h"
#include "broker/broker.h"
#include "proto/errors.h"

static broker_handler_fn handler_for(int16_t key)
{
    switch (key) {
    case API_PRODUCE: return handle_produce;
    case API_FETCH: return handle_fetch;
    case API_LIST_OFFSETS: return handle_list_offsets;
    case API_OFFSET_FOR_LEADER_EPOCH: return handle_offset_for_leader_epoch;
    case API_METADATA: return handle_metadata;
    case API_API_VERSIONS: return handle_api_versions;
    case API_CREATE_TOPICS: return handle_create_topics;
    case API_DELETE_TOPICS: return handle_delete_topics;
    case API_DELETE_RECORDS: return handle_delete_records;
    case API_DESCRIBE_CONFIGS: return handle_describe_configs;
    case API_ALTER_CONFIGS: return handle_alter_configs;
    case API_INCREMENTAL_ALTER_CONFIGS: return handle_incremental_alter_configs;
    case API_DESCRIBE_LOG_DIRS: return handle_describe_log_dirs;
    case API_CREATE_PARTITIONS: return handle_create_partitions;
    case API_FIND_COORDINATOR: return handle_find_coordinator;
    case API_INIT_PRODUCER_ID: return handle_init_producer_id;
    case API_ADD_PARTITIONS_TO_TXN: return handle_add_partitions_to_txn;
    case API_END_TXN: return handle_end_txn;
    case API_JOIN_GROUP: return handle_join_group;
    case API_SYNC_GROUP: return handle_sync_group;
    case API_HEARTBEAT: return handle_heartbeat;
    case API_LEAVE_GROUP: return handle_leave_group;
    case API_OFFSET_COMMIT: return handle_offset_commit;
    case API_OFFSET_FETCH: return handle_offset_fetch;
    case API_DESCRIBE_GROUPS: return handle_describe_groups;
    case API_LIST_GROUPS: return handle_list_groups;
    case API_DELETE_GROUPS: return handle_delete_groups;
    case API_OFFSET_DELETE: return handle_offset_delete;
    case API_ADD_OFFSETS_TO_TXN: return handle_add_offsets_to_txn;
    case API_TXN_OFFSET_COMMIT: return handle_txn_offset_commit;
    case API_WRITE_TXN_MARKERS: return handle_write_txn_markers;
    case API_BROOK_PREPARE_TXN: return handle_brook_prepare_txn;
    case API_BROOK_TXN_STATUS: return handle_brook_txn_status;
    case API_DESCRIBE_PRODUCERS: return handle_describe_producers;
    case API_DESCRIBE_TRANSACTIONS: return handle_describe_transactions;
    case API_LIST_TRANSACTIONS: return handle_list_transactions;
    case API_CONSUMER_GROUP_HEARTBEAT: return handle_consumer_group_heartbeat;
    case API_CONSUMER_GROUP_DESCRIBE: return handle_consumer_group_describe;
    case API_DESCRIBE_CLUSTER: return handle_describe_cluster;
    case API_SASL_HANDSHAKE: return handle_sasl_handshake;
    case API_SASL_AUTHENTICATE: return handle_sasl_authenticate;
    case API_DESCRIBE_USER_SCRAM_CREDENTIALS: return handle_describe_user_scram;
    case API_ALTER_USER_SCRAM_CREDENTIALS: return handle_alter_user_scram;
    case API_DESCRIBE_CLIENT_QUOTAS: return handle_describe_client_quotas;
    case API_ALTER_CLIENT_QUOTAS: return handle_alter_client_quotas;
    case API_DESCRIBE_ACLS: return handle_describe_acls;
    case API_CREATE_ACLS: return handle_create_acls;
    case API_DELETE_ACLS: return handle_delete_acls;
    }
    return NULL;
}

static bool inter_broker(int16_t key)
{
    return key == API_WRITE_TXN_MARKERS || key == API_BROOK_PREPARE_TXN ||
           key == API_BROOK_TXN_STATUS;
}

void broker_reply_malformed(req_ctx *c, const char *what)
{
    char why[128];
    const api_info *api = api_lookup(c->h.api_key);
    snprintf(why, sizeof(why), "malformed %s v%d request (correlation id %d)",
             api ? api->name : what, c->h.api_version, c->h.correlation_id);
    net_request_fail(c->nr, why);
}

/* The connection layer's entry point: decode the header, check the version, dispatch. */
void broker_dispatch(void *ctx, net_request *nr);
void broker_dispatch(void *ctx, net_request *nr)
{
    broker *b = ctx;
    req_ctx *c = arena_alloc(&nr->arena, sizeof(*c));
    if (!c) {
        net_request_fail(nr, "out of memory");
        return;
    }
    c->b = b;
    c->nr = nr;
    if (broker_sasl_raw_token(b, nr))
        return;
    rd_init(&c->body, nr->frame, nr->len);
    if (req_header_decode(&c->body, &c->h) != 0) {
        net_request_fail(nr, "malformed request header");
        return;
    }
    if (c->h.api_key == API_API_VERSIONS) {
        handle_api_versions(c);
        return;
    }
    if (!broker_auth_allows(c)) { /* Kafka closes such a connection too */
        const api_info *api = api_lookup(c->h.api_key);
        char why[96];
        snprintf(why, sizeof(why), "%s request before SASL authentication",
                 api ? api->name : "unknown");
        net_request_fail(nr, why);
        return;
    }
    broker_handler_fn fn = handler_for(c->h.api_key);
    if (!fn || !api_version_supported(c->h.api_key, c->h.api_version)) {
        const api_info *api = api_lookup(c->h.api_key);
        LOG_WARN("broker", "%s: unsupported %s %d v%d; answering UNSUPPORTED_VERSION",
                 net_conn_peer(nr->conn), api ? api->name : "API key", c->h.api_key,
                 c->h.api_version);
        c->h.flexible = false;
        resp_begin(&nr->resp, &c->h);
        wr_i16(&nr->resp, KERR_UNSUPPORTED_VERSION);
        resp_end(&nr->resp);
        net_request_done(nr);
        return;
    }
    if (inter_broker(c->h.api_key) && !broker_may_cluster(c, ACL_OP_CLUSTER_ACTION)) {
        /* brokers' own APIs (markers, prepare, status): no client sends them, and one that
         * does without CLUSTER_ACTION must not end anyone's transaction */
        net_request_fail(nr, "inter-broker request without CLUSTER_ACTION on the cluster");
        return;
    }
    if (cluster_drop_stale_conn(b, c))
        return;
    if (cluster_hold_for_lease(b, c, fn))
        return; /* runs once this node holds its ZooKeeper lease (cluster.c) */
    fn(c);
}
