/*
 * pstate.h - one partition's producer state: idempotence and the partition side of
 * transactions. A pure state machine: no I/O, no clock; the log feeds it every batch it
 * appends (and replays at start), and the broker asks it before appending.
 *
 * Owns, per producer id: the epoch, the last 5 batches' (first seq, last seq, offsets)
 * for duplicate detection, the producer's open transaction on this partition
 * (first/last offset, ongoing or prepared), the highest coordinator epoch of the
 * markers written for it, and the timestamp of its last batch or marker
 * (DescribeProducers' LastTimestamp). From those: the first unstable offset (the last
 * stable offset is min(it, high watermark)) and the aborted ranges that markers close.
 * Never: decides whether a transactional write belongs to a transaction the coordinator
 * knows (the caller passes that verdict in), or touches files.
 *
 * Rules (Kafka's ProducerAppendInfo, shared/kafka/PROTOCOL.md §C.3):
 *  - duplicate (same epoch, same first/last seq as a cached batch) -> its original offset;
 *  - epoch below the current one -> INVALID_PRODUCER_EPOCH;
 *  - epoch above (a bump) -> first seq must be 0;
 *  - same epoch -> first seq must follow the last one (wrapping at INT32_MAX), or be 0
 *    when the epoch has no batches yet (after a marker bumped it);
 *  - an unknown producer may start at any sequence;
 *  - a same-epoch gap whose missing batch this leader refused for lack of in-sync
 *    replicas (pstate_note_refused), or whose producer has not written since this
 *    replica became leader (pstate_set_lead_start) -> NOT_ENOUGH_REPLICAS, not
 *    OUT_OF_ORDER: the missing batch was refused here or is still in flight to the old
 *    leader, and the client sends it again first;
 *  - a transactional batch matching one of an ended transaction (reused sequence
 *    numbers, not a retry) -> OUT_OF_ORDER_SEQUENCE_NUMBER;
 *  - a transactional batch needs a verified, not yet prepared transaction; a plain batch
 *    from a producer with an open transaction here is refused;
 *  - a marker or prepare whose coordinator epoch (the leader epoch of the coordinator's
 *    __transaction_state partition) is below the highest one of the markers written for
 *    the producer comes from a replaced coordinator: TRANSACTION_COORDINATOR_FENCED
 *    (Kafka's ProducerStateEntry.coordinatorEpoch check).
 */
#ifndef BROOK_STORAGE_PSTATE_H
#define BROOK_STORAGE_PSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "proto/record.h"

#define PSTATE_BATCHES 5

enum pstate_txn { PS_TXN_NONE = 0, PS_TXN_ONGOING = 1, PS_TXN_PREPARED = 2 };

typedef struct pstate_batch {
    int32_t first_seq, last_seq;
    int64_t base_offset, last_offset;
} pstate_batch;

typedef struct pstate_entry {
    int64_t pid;
    int16_t epoch;
    int nbatches;                       /* oldest first */
    pstate_batch batches[PSTATE_BATCHES];
    int8_t txn;                         /* enum pstate_txn */
    int64_t txn_first_offset, txn_last_offset;
    int64_t last_marker_seq; /* cluster: coordinator's sequence of the last marker here */
    int32_t coord_epoch;     /* highest coordinator epoch of its markers here; -1: none */
    int64_t last_timestamp;  /* max timestamp of its last batch or marker here; -1: none */
    uint32_t markers;        /* end markers applied here (memory): a verification's guard */
    bool refused; /* memory: the batch its sequence needs next was refused for replicas */
    UT_hash_handle hh;
} pstate_entry;

typedef struct aborted_txn {
    int64_t pid;
    int64_t first_offset;
    int64_t last_offset; /* the ABORT marker's offset */
} aborted_txn;

typedef struct pstate {
    pstate_entry *by_pid;
    size_t open_txns;
    int64_t lead_start; /* where this replica's leadership began; -1: not set */
} pstate;

/* Verdicts of pstate_check(). */
enum pstate_verdict { PS_APPEND = 0, PS_DUPLICATE = 1, PS_REJECT = 2 };

void pstate_init(pstate *ps);
void pstate_free(pstate *ps);
pstate_entry *pstate_find(const pstate *ps, int64_t pid);

/* The leader refused h (acks=all) for lack of in-sync replicas before looking at it. A
 * producer pipelines: its next batch may arrive once the replicas are back, and would
 * find a gap where h was. OUT_OF_ORDER there makes librdkafka bump its epoch and send
 * everything it has not had acknowledged again under new sequence numbers, including
 * batches a leader did append without answering (a leadership change, a timeout), which
 * then appear twice. When h is the batch the producer's sequence needs next, that gap is
 * answered NOT_ENOUGH_REPLICAS instead, and the client sends h again first. */
void pstate_note_refused(pstate *ps, const rb_header *h);
/* This replica of a replicated partition became its leader with its log ending at
 * `offset`. A producer whose last batch here lies below it wrote through the previous
 * leader, and its requests still in flight there are answered NOT_LEADER_OR_FOLLOWER (not
 * written) while librdkafka may already send the next ones here: a gap then is the
 * failover's, not the producer's, and is answered NOT_ENOUGH_REPLICAS (the same
 * reasoning as pstate_note_refused; chaos seed 20261209, docs/reliability.md). The
 * producer's first batch written here ends it for that producer. Not set on a single node,
 * where a gap after a restart is a real one. */
void pstate_set_lead_start(pstate *ps, int64_t offset);
/* Checks a data batch (not a control batch) before it is appended. txn_verified: the
 * coordinator has this partition in the producer's ongoing transaction at this epoch.
 * Returns a verdict; on PS_DUPLICATE *dup_offset gets the original base offset; on
 * PS_REJECT *error_out gets the Kafka error code. */
int pstate_check(const pstate *ps, const rb_header *h, bool txn_verified, int64_t *dup_offset,
                 int16_t *error_out);
/* Records a batch appended at base_offset (also used when replaying the log); its
 * max_timestamp becomes the producer's last timestamp. Returns 0 or -1 (out of memory). */
int pstate_on_append(pstate *ps, const rb_header *h, int64_t base_offset);
/* A marker of pid was appended with this timestamp (Kafka's ProducerStateEntry takes the
 * marker record's timestamp as the producer's last one). No-op for an unknown pid. */
void pstate_on_marker_time(pstate *ps, int64_t pid, int64_t timestamp);
/* Applies a COMMIT/ABORT marker written at marker_offset. Returns true and fills *out
 * when it closed an aborted range that readers must skip. The marker's coordinator epoch
 * is not known here: the producer's remembered one is left as it is. */
bool pstate_on_marker(pstate *ps, int64_t pid, int16_t epoch, bool commit, int64_t marker_offset,
                      aborted_txn *out);
/* The same for a marker that records its coordinator epoch (the control record's value,
 * Kafka's EndTxnMarker.coordinatorEpoch): the producer remembers the highest one. The log
 * calls this for every control batch it appends, copies from a leader or replays, so the
 * memory survives restarts and failovers of this partition. */
bool pstate_on_end_marker(pstate *ps, int64_t pid, int16_t epoch, bool commit,
                          int32_t coordinator_epoch, int64_t marker_offset, aborted_txn *out);
/* Is a marker or prepare for pid with this coordinator epoch from a coordinator that has
 * been replaced, i.e. below the highest coordinator epoch of pid's markers here? Such a
 * request must be refused with TRANSACTION_COORDINATOR_FENCED and change nothing. Equal
 * and newer epochs pass (a coordinator re-sends its own markers; a new one has a newer
 * epoch). */
bool pstate_coordinator_fenced(const pstate *ps, int64_t pid, int32_t coordinator_epoch);
/* Fences the producer's open transaction here (2PC prepare): later writes of it are
 * refused. Returns the offset up to which the transaction's records must be durable
 * (one past its last record), or -1 when it has no records here. */
int64_t pstate_prepare(pstate *ps, int64_t pid, int16_t epoch);
/* Cluster mode: markers carry the coordinator's transaction sequence (1, 2, ... per
 * transactional id), in the RPC and in the control record's value. A marker whose sequence
 * is not newer than the last one applied for pid is a delayed duplicate and must be
 * dropped: applied, it could close the producer's next transaction. The last sequence is
 * producer state like any other: set when a marker carrying one is appended or replicated,
 * rebuilt from the log by replay (truncation, restart) and kept in snapshots (BPS4), so
 * every replica, and a leader elected later, knows it. */
bool pstate_marker_is_stale(const pstate *ps, int64_t pid, int64_t seq);
/* Records the sequence of a marker just written (creates the producer's entry if needed).
 * Returns 0 or -1 (out of memory). */
int pstate_marker_applied(pstate *ps, int64_t pid, int16_t epoch, int64_t seq);
/* The first offset of the oldest open transaction, or INT64_MAX when none is open. */
int64_t pstate_first_unstable_offset(const pstate *ps);

/* Snapshot: a compact, checksummed image valid for the log up to `offset`. The buffer is
 * malloc'd for the caller. Load returns 0, or -1 when the bytes are not a valid snapshot
 * (the caller then replays the log from its start). */
int pstate_snapshot_encode(const pstate *ps, int64_t offset, uint8_t **out, size_t *len_out);
int pstate_snapshot_decode(pstate *ps, const uint8_t *p, size_t len, int64_t *offset_out);

/* Reads the type of a control batch's single record (RB_CONTROL_ABORT/COMMIT), or -1. */
int rb_control_type(const uint8_t *batch, size_t len);
/* The same, and *coordinator_epoch gets the record's coordinator epoch (its value:
 * version int16, coordinatorEpoch int32), or -1 when the value is absent or short; and
 * *txn_seq (when not NULL) the transaction sequence Brook appends to the value, or 0. */
int rb_control_parse(const uint8_t *batch, size_t len, int32_t *coordinator_epoch,
                     int64_t *txn_seq);

#endif
