/*
 * service.h - runs the transaction coordinator (coord.h) against this node's storage.
 *
 * Owns: the internal topic __transaction_state (one partition per hash of the
 * transactional id, Kafka's abs(hashCode) % N), the producer id allocator, and the waits
 * between an action and its completion: a log record until it is durable, a prepare
 * until the producer's records on the partition are durable, a marker until it is
 * durable. It executes the coordinator's actions in order and feeds completions back.
 * Never: decides protocol outcomes (the coordinator does) or encodes responses (the
 * broker's handlers do, through reply_fn).
 */
#ifndef BROOK_TXN_SERVICE_H
#define BROOK_TXN_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/metadata.h"
#include "storage/store.h"
#include "txn/coord.h"
#include "txn/pid_alloc.h"

#define TXN_LOG_TOPIC "__transaction_state"

typedef void (*txn_reply_fn)(void *ctx, txn_req req, int kind, int16_t error, int64_t pid,
                             int16_t epoch);

typedef struct txn_wait txn_wait;
/* Writes a marker for a group participant (its pending offsets); the group side calls
 * txn_service_group_marked() once that is durable. */
typedef void (*txn_group_marker_fn)(void *ctx, const char *txn_id, const char *group_id,
                                    int64_t pid, bool commit);

typedef struct txn_service {
    txn_coord coord;
    pid_alloc pids;
    store *store;
    metadata *md;
    topic *log_topic;
    txn_reply_fn reply;
    void *ctx;
    txn_wait *waits;
    int depth; /* re-entrancy guard of run() */
    txn_group_marker_fn group_marker;
    void *group_ctx;
    void *ext;  /* completions that arrived from outside while running */
} txn_service;

/* Starts the service on an opened registry whose TXN_LOG_TOPIC exists. Replays the
 * transaction log and begins driving every in-doubt transaction. Returns 0 or -errno. */
int txn_service_start(txn_service *s, const txn_coord_config *cfg, const char *data_dir,
                      store *st, metadata *md, txn_reply_fn reply, void *ctx, int64_t now_ms);
void txn_service_stop(txn_service *s);

/* Requests. `req` is the caller's token, handed back to reply_fn exactly once. */
void txn_service_init_pid(txn_service *s, txn_req req, const char *txn_id, int32_t timeout_ms,
                          int64_t expected_pid, int16_t expected_epoch, int64_t now_ms);
void txn_service_add(txn_service *s, txn_req req, const char *txn_id, int64_t pid, int16_t epoch,
                     const txn_participant *parts, int nparts, int64_t now_ms);
void txn_service_end(txn_service *s, txn_req req, const char *txn_id, int64_t pid,
                     int16_t epoch, bool commit, int64_t now_ms);
int16_t txn_service_admin_abort(txn_service *s, const char *txn_id, int64_t now_ms);
/* A new producer id for an idempotent producer, or -1 when it cannot be made durable. */
int64_t txn_service_new_pid(txn_service *s);

/* The group side finished a marker (see txn_group_marker_fn). */
void txn_service_group_marked(txn_service *s, const char *txn_id, const char *group_id,
                              int64_t now_ms);
/* Is the group part of pid's Ongoing transaction at this epoch (TxnOffsetCommit)? */
bool txn_service_verify_group(const txn_service *s, int64_t pid, int16_t epoch,
                              const char *group_id);

/* Called after offsets became durable (and on timer ticks). */
void txn_service_progress(txn_service *s, int64_t now_ms);
void txn_service_tick(txn_service *s, int64_t now_ms);
/* A partition is about to be dropped: waits on it complete as if it had acknowledged. */
void txn_service_forget_partition(txn_service *s, partition *p);
bool txn_service_verify(const txn_service *s, int64_t pid, int16_t epoch, const char *topic,
                        int32_t partition);
/* Kafka's partitioning of the transaction log. */
int32_t txn_log_partition_for(const char *txn_id, int32_t npartitions);

#endif
