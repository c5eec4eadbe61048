/*
 * service.h - runs the group coordinator (group.h) against this node's storage.
 *
 * Owns: the internal topic __consumer_offsets (a group lives in partition
 * abs(javaHashCode(group)) % N) and the records in it:
 *   'O' group, topic, partition -> offset, leader epoch, metadata, time   (committed;
 *                                    an empty value: deleted by OffsetDelete)
 *   'P' group, pid, topic, partition -> the same                          (pending, txn)
 *   'E' group, pid -> commit flag                                         (txn marker)
 *   'G' group -> protocol type, generation (null value: group deleted)
 *   'C' group -> a KIP-848 consumer group's epochs and assignor           (cgroup.h)
 *   'M' group, member -> a KIP-848 member's whole state (null: removed)   (cgroup.h)
 * A change is applied to the coordinator only once its record is durable; at start the
 * records are replayed in log order.
 * Never: decides membership (the coordinator does) or encodes responses.
 */
#ifndef BROOK_GROUP_SERVICE_H
#define BROOK_GROUP_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/clock.h"
#include "cluster/metadata.h"
#include "group/cgroup.h"
#include "group/group.h"
#include "proto/internal_topics.h"
#include "storage/store.h"

#define GROUP_LOG_TOPIC KAFKA_GROUP_LOG_TOPIC

typedef struct gs_wait gs_wait;
typedef struct gs_txn_end gs_txn_end;
typedef void (*gs_done_fn)(void *ctx, bool ok);
typedef void (*gs_action_fn)(void *ctx, const group_action *a);

typedef struct group_service {
    group_coord coord;
    store *store;
    metadata *md;
    topic *log_topic;
    gs_action_fn on_action; /* answers JoinGroup/SyncGroup/... */
    void *ctx;
    gs_wait *waits;
    bool *loaded; /* per offsets partition: its groups are in coord */
    gs_txn_end *txn_ends; /* by producer id: the last end record appended (the fence) */
    uint64_t txn_end_seq; /* end records appended by this process */
    int64_t txn_ends_pruned_ms;
    int64_t refreshed_ms; /* the last pass of refresh_old_records (service.c) */
} group_service;

/* The fence of a transactional offset commit (TxnOffsetCommit), taken before the
 * transaction coordinator is asked whether the group is in the producer's transaction.
 * The answer and the coordinator's end marker travel on different connections (and the
 * answer may be applied late), so a "yes" can arrive after that very transaction's end
 * record reached the group: offsets appended then would stay pending for ever (no
 * further marker comes), and every read with RequireStable would answer
 * UNSTABLE_OFFSET_COMMIT. KIP-890 guards data partitions the same way. */
typedef struct gs_txn_guard {
    uint64_t seq;
    int64_t at_ms;
} gs_txn_guard;
#define GS_TXN_GUARD_KEEP_MS 300000 /* end records are remembered this long per producer */

gs_txn_guard group_service_txn_guard(const group_service *s, int64_t now_ms);
/* True when an end record for pid was appended since g was taken (the confirmed
 * transaction may be the one that ended: refuse, the client asks again), or when g is
 * older than GS_TXN_GUARD_KEEP_MS (too old to tell). */
bool group_service_txn_guard_broken(const group_service *s, int64_t pid, gs_txn_guard g,
                                    int64_t now_ms);
/* Breaks every guard of pid taken before now: a transaction of pid ended here (its marker
 * was appended to an offsets partition; group_service_txn_end calls it itself). */
void group_service_txn_ended(group_service *s, int64_t pid, int64_t now_ms);

/* The groups of offsets partition `part` holding offsets of pid's transaction: pending
 * ones, and ones whose TxnOffsetCommit is appended but not durable yet (it becomes pending
 * only then). An end marker for that partition must end each of them: one that skipped
 * the second kind left its offsets pending for ever (#12). Returns how many; *out is a
 * malloc'd array of malloc'd ids (the caller frees both), NULL when none. */
int group_service_txn_groups(const group_service *s, int32_t part, int64_t pid, char ***out);

/* One offset to store: committed (pid < 0) or pending for a transaction. */
typedef struct gs_offset {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    kslice metadata; /* any bytes; a null slice stores as empty */
} gs_offset;

/* The clock every now_ms given to the group coordinator and this service reads: the
 * monotonic one, as sessions and rebalance timeouts are durations. On the wall clock a step
 * forward (NTP, an operator) expired every member at once and a step back kept a dead one
 * for as long. Records and commit timestamps take the wall clock themselves. */
static inline int64_t group_now_ms(void) { return clock_mono_ms(); }

/* lazy (cluster mode): load nothing now; partitions load through group_service_set_led. */
int group_service_start(group_service *s, const group_config *cfg, store *st, metadata *md,
                        gs_action_fn on_action, void *ctx, bool lazy, int64_t now_ms);
void group_service_stop(group_service *s);
/* Runs the coordinator's queued actions (call after every group_* event). */
void group_service_flush_actions(group_service *s, int64_t now_ms);
/* Persists offsets; once durable they are applied and done(ctx, true) runs (false when
 * the log failed: nothing was applied). */
void group_service_commit(group_service *s, const char *group_id, int64_t pid,
                          const gs_offset *offs, int n, int64_t now_ms, gs_done_fn done,
                          void *ctx);
/* A transaction marker for a group participant: applies or drops pid's pending offsets
 * once the marker record is durable, then done(ctx, ok). */
void group_service_txn_end(group_service *s, const char *group_id, int64_t pid, bool commit,
                           int64_t now_ms, gs_done_fn done, void *ctx);
/* OffsetDelete: tombstones for the committed offsets of (topic, partition) in offs (other
 * fields unused); once durable they are removed and done(ctx, true) runs (false: the log
 * failed, nothing removed). The caller checked the group (group_offset_delete_check). */
void group_service_delete_offsets(group_service *s, const char *group_id,
                                  const gs_offset *offs, int n, int64_t now_ms, gs_done_fn done,
                                  void *ctx);
/* Deletes an empty group durably (tombstones for its offsets). Returns a Kafka error. */
int16_t group_service_delete(group_service *s, const char *group_id, int64_t now_ms);
/* After a ConsumerGroupHeartbeat (cgroup_heartbeat on s->coord): persists the records the
 * group made due; done(ctx, ok) runs once they are durable (at once when none were due),
 * and only then may the heartbeat's answer be sent (ok false: the log failed). */
void group_service_cg_persist(group_service *s, const char *group_id, int64_t now_ms,
                              gs_done_fn done, void *ctx);
/* done(ctx, ok) once the group's offsets partition is durable up to end (an action's
 * persist_end: its answer must not go out before the record it reports on). */
void group_service_when_durable(group_service *s, const char *group_id, int64_t end,
                                gs_done_fn done, void *ctx);
void group_service_progress(group_service *s, int64_t now_ms);
void group_service_tick(group_service *s, int64_t now_ms);
void group_service_forget_partition(group_service *s, partition *p);
/* Cluster mode with a replicated offsets topic: this node now leads offsets partition
 * `part` (its groups are replayed: committed offsets; members rejoin) or no longer does
 * (its groups are forgotten; parked requests get NOT_COORDINATOR). Idempotent. */
void group_service_set_led(group_service *s, int32_t part, bool led, int64_t now_ms);

#endif
