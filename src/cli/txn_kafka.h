/*
 * txn_kafka.h - `brook txn list|describe` over the Kafka admin APIs (KIP-664), so that they
 * work from any broker of a cluster without the admin listener: ListTransactions on every
 * broker, FindCoordinator (key type 1) and DescribeTransactions at each coordinator.
 *
 * The answers are built as the same JSON objects GET /v1/transactions gives (transactional_id,
 * state, producer_id, producer_epoch, timeout_ms, start_ms, age_ms, participants
 * [{topic, partition}]) plus "coordinator" (a node id), so one printer serves both paths.
 * Owns: the raw connections it opens (closed before returning).
 * Never: changes a transaction.
 */
#ifndef BROOK_CLI_TXN_KAFKA_H
#define BROOK_CLI_TXN_KAFKA_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "cli/client.h"

typedef struct txn_filters {
    const char *state;   /* NULL: any; else one state name (Ongoing, PrepareCommit, ...) */
    int64_t producer_id; /* -1: any */
    int64_t min_age_ms;  /* -1: any; else only transactions running at least this long */
} txn_filters;

/* Every transaction of the cluster that passes f, sorted by id, in *out (a JSON array the
 * caller deletes). Returns 0, or 1 after printing why. */
int cli_txn_kafka_list(cli_client *cl, const txn_filters *f, cJSON **out);

/* One transaction in *out (the caller deletes), its coordinator's node id in *coord_id.
 * Returns 0; 1 after printing why (an unknown id: "no such transactional id"). */
int cli_txn_kafka_describe(cli_client *cl, const char *id, cJSON **out, int32_t *coord_id);

#endif
