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

/* Cluster mode: does the work for a participant another node leads. kind: TXN_REMOTE_*.
 * Returns true when it took the action over (it then calls txn_service_remote_done()
 * exactly once, after as many retries as needed); false: the participant is local. */
enum { TXN_REMOTE_PREPARE = 1, TXN_REMOTE_MARKER = 2 };
typedef bool (*txn_remote_fn)(void *ctx, int kind, const char *txn_id,
                              const txn_participant *part, int64_t pid, int16_t epoch,
                              int64_t txn_seq, bool commit);

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
    /* Cluster mode only, set before txn_service_start (recovery uses them). */
    txn_remote_fn remote;
    void *remote_ctx;
    int32_t cluster_node; /* this node's id, for producer ids (when remote is set) */
    bool *loaded;         /* per log partition: its transactions are in coord */
} txn_service;

/* Producer ids in cluster mode: bits 48..62 hold 1 + the __transaction_state partition of
 * the transactional id (0 for idempotent producers), bits 32..47 the allocating node, bits
 * 0..31 the node's counter. So ids are unique across nodes and a participant finds the
 * coordinator of any transaction it holds from the producer id alone. */
#define TXN_PID_NODE_MAX 65535
int64_t txn_pid_compose(int32_t txn_partition, int32_t node, int64_t counter);
/* The __transaction_state partition encoded in pid, or -1 (single node, idempotent). */
int32_t txn_pid_partition(int64_t pid);

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

/* A remote participant answered (ok: voted yes / marker written). */
void txn_service_remote_done(txn_service *s, int kind, const char *txn_id,
                             const txn_participant *part, bool ok, int64_t now_ms);
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
/* Cluster mode with a replicated transaction log: this node now leads log partition
 * `part` (its log is replayed and every in-doubt transaction of it driven to the end, as
 * after a restart) or no longer does (its transactional ids are forgotten; parked
 * requests get NOT_COORDINATOR). Idempotent. */
void txn_service_set_led(txn_service *s, int32_t part, bool led, int64_t now_ms);
/* Are txn_id's transactions here (its log partition loaded)? */
bool txn_service_loaded(const txn_service *s, const char *txn_id);
/* Kafka's partitioning of the transaction log. */
int32_t txn_log_partition_for(const char *txn_id, int32_t npartitions);

#endif
