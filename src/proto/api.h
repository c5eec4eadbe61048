/*
 * api.h - the table of Kafka APIs this broker implements, and request/response headers.
 *
 * Owns: THE version table. ApiVersions answers from it, the dispatcher refuses anything
 * outside it, docs/protocol.md is checked against it by a test. Raising an API to a new
 * version, flexible or not, starts with its row here (flex_min says from which version the
 * API uses compact types and tagged fields; the codec switches on that alone).
 * Never: touches sockets or disk.
 */
#ifndef BROOK_PROTO_API_H
#define BROOK_PROTO_API_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

enum api_key {
    API_PRODUCE = 0,
    API_FETCH = 1,
    API_LIST_OFFSETS = 2,
    API_METADATA = 3,
    API_OFFSET_COMMIT = 8,
    API_OFFSET_FETCH = 9,
    API_FIND_COORDINATOR = 10,
    API_JOIN_GROUP = 11,
    API_HEARTBEAT = 12,
    API_LEAVE_GROUP = 13,
    API_SYNC_GROUP = 14,
    API_DESCRIBE_GROUPS = 15,
    API_LIST_GROUPS = 16,
    API_SASL_HANDSHAKE = 17,
    API_API_VERSIONS = 18,
    API_CREATE_TOPICS = 19,
    API_DELETE_TOPICS = 20,
    API_DELETE_RECORDS = 21,
    API_INIT_PRODUCER_ID = 22,
    API_OFFSET_FOR_LEADER_EPOCH = 23,
    API_ADD_PARTITIONS_TO_TXN = 24,
    API_ADD_OFFSETS_TO_TXN = 25,
    API_END_TXN = 26,
    API_WRITE_TXN_MARKERS = 27, /* inter-broker */
    API_TXN_OFFSET_COMMIT = 28,
    API_DESCRIBE_ACLS = 29,
    API_CREATE_ACLS = 30,
    API_DELETE_ACLS = 31,
    API_DESCRIBE_CONFIGS = 32,
    API_ALTER_CONFIGS = 33,
    API_DESCRIBE_LOG_DIRS = 35,
    API_SASL_AUTHENTICATE = 36,
    API_CREATE_PARTITIONS = 37,
    API_DELETE_GROUPS = 42,
    API_INCREMENTAL_ALTER_CONFIGS = 44,
    API_OFFSET_DELETE = 47,           /* KIP-496 */
    API_DESCRIBE_CLIENT_QUOTAS = 48,          /* KIP-546 */
    API_ALTER_CLIENT_QUOTAS = 49,             /* KIP-546 */
    API_DESCRIBE_USER_SCRAM_CREDENTIALS = 50, /* KIP-554 */
    API_ALTER_USER_SCRAM_CREDENTIALS = 51,    /* KIP-554 */
    API_DESCRIBE_CLUSTER = 60,
    API_DESCRIBE_PRODUCERS = 61,      /* KIP-664 */
    API_DESCRIBE_TRANSACTIONS = 65,   /* KIP-664 */
    API_LIST_TRANSACTIONS = 66,       /* KIP-664; v1: KIP-994 */
    API_CONSUMER_GROUP_HEARTBEAT = 68, /* KIP-848 */
    API_CONSUMER_GROUP_DESCRIBE = 69,  /* KIP-848 */
    API_KEY_LIMIT = 70, /* exclusive bound on Kafka's keys */
    /* Brook-internal, broker to broker (docs/cluster.md) */
    API_BROOK_PREPARE_TXN = 10000,
    API_BROOK_TXN_STATUS = 10001,
};

typedef struct api_info {
    int16_t key;
    const char *name;
    int16_t min_version;
    int16_t max_version;
    int16_t flex_min; /* first flexible version per Kafka's schema; INT16_MAX: none */
} api_info;

/* The rows, in key order; *n_out gets the count. */
const api_info *api_table(int *n_out);
/* The row for key, or NULL when this broker does not implement it. */
const api_info *api_lookup(int16_t key);
bool api_version_supported(int16_t key, int16_t version);
bool api_is_flexible(int16_t key, int16_t version);

typedef struct req_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kslice client_id;
    bool flexible; /* header v2 and a flexible body */
} req_header;

/* Decodes the request header (v1, or v2 when the API/version is flexible). Leaves r at the
 * body with r->flex set for it. Returns 0, or -1 when the bytes are too short. An API or
 * version we do not implement still decodes (as header v1) so the caller can answer
 * UNSUPPORTED_VERSION. */
int req_header_decode(rd *r, req_header *h);

/* Starts a response frame: size placeholder, correlation id, and (flexible, except
 * ApiVersions) an empty tag buffer; sets w->flex for the body. */
void resp_begin(wr *w, const req_header *h);
/* Patches the frame size. */
void resp_end(wr *w);

#endif
