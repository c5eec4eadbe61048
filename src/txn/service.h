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
 *
 * Coordinator epochs: every marker and prepare carries the coordinator epoch of the
 * transactional id's log partition, the leader epoch that partition had when this node
 * began leading it (single node: the configured one, 0). A participant that has written
 * a marker of a newer coordinator for the producer refuses it with
 * TRANSACTION_COORDINATOR_FENCED; this node then stops acting for that log partition
 * (txn_service_fenced) until it leads it again in a newer epoch.
 */
#ifndef BROOK_TXN_SERVICE_H
#define BROOK_TXN_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster/metadata.h"
#include "proto/internal_topics.h"
#include "storage/store.h"
#include "txn/coord.h"
#include "txn/pid_alloc.h"

#define TXN_LOG_TOPIC KAFKA_TXN_LOG_TOPIC

typedef void (*txn_reply_fn)(void *ctx, txn_req req, int kind, int16_t error, int64_t pid,
                             int16_t epoch);

typedef struct txn_wait txn_wait;
/* Writes a marker for a group participant (its pending offsets) and returns KERR_NONE.
 * On one node the group side calls txn_service_group_marked() once that is durable (or
 * failed). In a
 * cluster it records the marker, with coordinator_epoch and txn_seq, in the group's
 * __consumer_offsets partition (which this node leads), and names that partition and the
 * end its records must reach in *wait_p and *wait_end: the service waits for that
 * partition's high watermark as for a data partition's marker, and re-sends the marker as
 * an RPC when this node stops leading it first (txn_service_leadership_lost), since the
 * new leader may not have the record. When that partition has seen a newer coordinator of
 * the producer it does nothing and returns KERR_TRANSACTION_COORDINATOR_FENCED. */
typedef int16_t (*txn_group_marker_fn)(void *ctx, const char *txn_id, const char *group_id,
                                       int64_t pid, int16_t epoch, bool commit,
                                       int32_t coordinator_epoch, int64_t txn_seq,
                                       partition **wait_p, int64_t *wait_end);

/* Cluster mode: does the work for a participant another node leads. kind: TXN_REMOTE_*.
 * Returns true when it took the action over (it then calls txn_service_remote_done()
 * exactly once, after as many retries as needed); false: the participant is local. */
enum { TXN_REMOTE_PREPARE = 1, TXN_REMOTE_MARKER = 2 };
typedef bool (*txn_remote_fn)(void *ctx, int kind, const char *txn_id,
                              const txn_participant *part, int64_t pid, int16_t epoch,
                              int64_t txn_seq, bool commit);
/* Cluster mode: log partition `part` was unloaded (txn_service_set_led(false) or a fence):
 * the remote hook's work for its transactional ids must be dropped, never completed. */
typedef void (*txn_unloaded_fn)(void *ctx, int32_t part);

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
    txn_unloaded_fn unloaded; /* called with remote_ctx */
    void *remote_ctx;
    int32_t cluster_node; /* this node's id, for producer ids (when remote is set) */
    bool *loaded;         /* per log partition: its transactions are in coord */
    int32_t *coord_epochs;  /* per log partition: the epoch its markers carry */
    int32_t *fenced_epochs; /* per log partition: a participant refused this epoch (-1) */
    bool fence_pending;     /* a fenced partition is still loaded: unload it when idle */
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
/* EndTxn v5+ (transactions v2): see txn_coord_end_tv2. */
void txn_service_end_tv2(txn_service *s, txn_req req, const char *txn_id, int64_t pid,
                         int16_t epoch, bool commit, int64_t now_ms);
int16_t txn_service_admin_abort(txn_service *s, const char *txn_id, int64_t now_ms);
/* A new producer id for an idempotent producer, or -1 when it cannot be made durable. */
int64_t txn_service_new_pid(txn_service *s);

/* A remote participant answered (ok: voted yes / marker written). */
void txn_service_remote_done(txn_service *s, int kind, const char *txn_id,
                             const txn_participant *part, bool ok, int64_t now_ms);
/* The group side finished a marker (see txn_group_marker_fn): ok, durable; not ok, its
 * log refused it, and the marker is written again at every tick (never counted as done). */
void txn_service_group_marked(txn_service *s, const char *txn_id, const char *group_id,
                              bool ok, int64_t now_ms);
/* Is the group part of pid's Ongoing transaction at this epoch (TxnOffsetCommit)? */
bool txn_service_verify_group(const txn_service *s, int64_t pid, int16_t epoch,
                              const char *group_id);

/* Called after offsets became durable (and on timer ticks). */
void txn_service_progress(txn_service *s, int64_t now_ms);
void txn_service_tick(txn_service *s, int64_t now_ms);
/* A partition is about to be dropped: waits on it complete as if it had acknowledged. */
void txn_service_forget_partition(txn_service *s, partition *p);
/* Cluster mode: this node no longer leads participant partition p (its log may be
 * truncated and refilled from the new leader), so no wait on p's high watermark may
 * complete here: a prepare or marker waiting on p is re-driven through the remote hook
 * (the new leader answers it), a transaction-log record waiting on p fails (the request
 * gets a retriable coordinator error). */
void txn_service_leadership_lost(txn_service *s, partition *p, int64_t now_ms);
bool txn_service_verify(const txn_service *s, int64_t pid, int16_t epoch, const char *topic,
                        int32_t partition);
/* Cluster mode with a replicated transaction log: this node now leads log partition
 * `part` (its log is replayed and every in-doubt transaction of it driven to the end, as
 * after a restart) or no longer does (its transactional ids are forgotten; parked
 * requests get NOT_COORDINATOR; their waits, queued completions and, through the unloaded
 * hook, remote work are dropped). Idempotent. The coordinator epoch of the partition is
 * the leader epoch its log has when it is loaded (the caller sets that first); a load in
 * an epoch not newer than one a participant refused (txn_service_fenced) does not happen. */
void txn_service_set_led(txn_service *s, int32_t part, bool led, int64_t now_ms);
/* The coordinator epoch txn_id's markers and prepares carry now. */
int32_t txn_service_coordinator_epoch(const txn_service *s, const char *txn_id);
/* A participant answered a marker or prepare for txn_id sent with coordinator_epoch with
 * TRANSACTION_COORDINATOR_FENCED: a newer coordinator of txn_id's log partition exists.
 * Returns true when this node stops acting for the partition (its ids are forgotten as in
 * txn_service_set_led(false), now or as soon as no action is running; the caller drops
 * every RPC of those ids), false when the request was sent before this node took the
 * partition in a newer epoch (the caller sends it again, with the current epoch). */
bool txn_service_fenced(txn_service *s, const char *txn_id, int32_t coordinator_epoch,
                        int64_t now_ms);
/* Are txn_id's transactions here (its log partition loaded)? */
bool txn_service_loaded(const txn_service *s, const char *txn_id);
/* Kafka's partitioning of the transaction log. */
int32_t txn_log_partition_for(const char *txn_id, int32_t npartitions);

#endif
