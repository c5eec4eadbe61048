/*
 * coord.h - the transaction coordinator: a state machine without I/O.
 *
 * Owns: every transactional id's metadata (producer id and epoch, state, participants,
 * timeout) and the two-phase commit that ends a transaction. It takes events (client
 * requests, "your log record is durable", participant votes and marker acks, clock
 * ticks) and emits actions (append this record to the transaction log, ask this
 * participant to prepare, write this marker, answer this request) into a queue the
 * driver executes. The broker drives it with real storage; the simulator (tests/sim)
 * drives the same code through lost messages and crashes.
 * Never: performs I/O, reads a clock, or allocates producer ids itself (the driver
 * passes a freshly allocated id in when one may be needed).
 *
 * The commit order (docs/transactions.md):
 *   AddPartitions: participants logged durably, then answered.
 *   EndTxn(commit): prepare round (each partition fences the producer and votes once its
 *   records are durable) -> PrepareCommit logged durably (the commit point) -> COMMIT
 *   markers written and durable at every participant -> CompleteCommit logged -> answer.
 *   EndTxn(abort) and timeouts: PrepareAbort logged (presumed abort: no prepare round)
 *   -> ABORT markers -> CompleteAbort -> answer.
 * Recovery: the driver replays the log with txn_coord_load(), then txn_coord_recover()
 * re-drives every Prepare* to completion; expired Ongoing ones are aborted by ticks.
 */
#ifndef BROOK_TXN_COORD_H
#define BROOK_TXN_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

enum txn_state {
    TXN_EMPTY = 0,
    TXN_ONGOING,
    TXN_PREPARE_COMMIT,
    TXN_PREPARE_ABORT,
    TXN_COMPLETE_COMMIT,
    TXN_COMPLETE_ABORT,
    TXN_PREPARE_EPOCH_FENCE,
    TXN_DEAD,
    TXN_STATE_COUNT
};
const char *txn_state_name(int s);
/* The transition table: may a transaction move from `from` to `to`? */
bool txn_transition_allowed(int from, int to);

/* What is in flight for a transaction (not persisted). */
enum txn_phase {
    TXN_PHASE_IDLE = 0,
    TXN_PHASE_LOGGING,   /* a log record is being made durable */
    TXN_PHASE_PREPARING, /* collecting votes */
    TXN_PHASE_MARKING,   /* markers in flight */
};

enum txn_participant_kind { TXN_PART_PARTITION = 0, TXN_PART_GROUP = 1 };

typedef struct txn_participant {
    int8_t kind;     /* enum txn_participant_kind */
    char *name;      /* topic, or group id */
    int32_t partition; /* -1 for a group */
    bool done;       /* voted yes / marker acknowledged in the current round */
} txn_participant;

typedef uint64_t txn_req; /* the driver's token for a parked request; 0: none */

typedef struct txn_meta {
    char *id;
    int64_t pid;
    int16_t epoch;
    int64_t prev_pid;    /* for a retried InitProducerId after a pid rotation */
    int16_t prev_epoch;  /* the epoch before the last bump, -1 if none */
    int32_t timeout_ms;
    int8_t state;        /* enum txn_state */
    int8_t phase;        /* enum txn_phase */
    txn_participant *parts;
    int nparts, parts_cap;
    int64_t start_ms, update_ms;
    int64_t txn_seq;     /* 1, 2, ...: which transaction of this id (markers carry it) */
    /* Transactions v2 (KIP-890 part 2): the last end was asked with EndTxn v5+, so it bumped
     * the epoch (prev_epoch is the one the client ended with: a retry of that EndTxn is
     * recognised by it). next_pid >= 0: that end exhausted the epochs, and the producer
     * continues as next_pid, epoch 0, once the markers are written. */
    bool tv2;
    int64_t next_pid;
    /* memory only, for the end in its prepare round: EndTxn v5+, and the next_pid it uses */
    bool end_tv2;
    int64_t reserved_pid;
    /* the round in flight */
    int waiting;         /* votes or marker acks outstanding */
    bool vote_no;
    bool commit;         /* the decision being carried out */
    int8_t logging_state; /* state of the record being logged */
    int pending_nparts;  /* participants once the record in flight is durable */
    txn_req reply;       /* request answered when the work in flight is done */
    int16_t reply_kind;  /* enum txn_reply_kind */
    /* values that take effect when the record in flight is durable */
    int64_t new_pid, new_prev_pid;
    int16_t new_epoch, new_prev_epoch;
    int32_t new_timeout_ms;
    int64_t new_start_ms, new_txn_seq;
    bool new_tv2;
    int64_t new_next_pid;
    UT_hash_handle hh;     /* by id */
    UT_hash_handle hh_pid; /* by producer id */
} txn_meta;

enum txn_action_kind {
    TXN_ACT_LOG = 0,   /* append record {key: txn id, value: bytes} to the txn log */
    TXN_ACT_PREPARE,   /* ask participant to prepare (pid, epoch) */
    TXN_ACT_MARKER,    /* write a COMMIT/ABORT marker (pid, epoch) at participant */
    TXN_ACT_REPLY,     /* answer request `req` with error (and pid/epoch for InitPid) */
};

enum txn_reply_kind { TXN_REPLY_INIT_PID = 1, TXN_REPLY_ADD = 2, TXN_REPLY_END = 3 };

typedef struct txn_action {
    int kind;
    const char *txn_id;        /* borrowed from the coordinator until the next call */
    uint8_t *record;           /* LOG: owned by the action (free after executing) */
    size_t record_len;
    bool notify; /* LOG: call txn_coord_logged() when durable; false: nobody waits, and
                  * the executor may make it durable with a later write to its partition */
    const txn_participant *part; /* PREPARE/MARKER: borrowed */
    int64_t pid;
    int16_t epoch;
    int64_t txn_seq;           /* PREPARE/MARKER: the transaction's sequence number */
    bool commit;
    txn_req req;               /* REPLY */
    int16_t reply_kind;
    int16_t error;             /* REPLY: Kafka error code */
} txn_action;

typedef struct txn_coord_config {
    int32_t max_timeout_ms; /* transaction.max.timeout.ms */
    /* The coordinator epoch of a single node (0). The state machine does not use it; in a
     * cluster the service keeps one per transaction-log partition (txn/service.h). */
    int32_t coordinator_epoch;
} txn_coord_config;

typedef struct txn_coord {
    txn_coord_config cfg;
    txn_meta *by_id;
    txn_meta *by_pid;
    txn_action *acts;
    size_t nacts, acts_cap;
    uint64_t commits, aborts; /* completed, for metrics */
} txn_coord;

void txn_coord_init(txn_coord *c, const txn_coord_config *cfg);
void txn_coord_free(txn_coord *c);
/* The actions emitted by the last calls. The driver executes them in order, then calls
 * txn_coord_clear_actions() (which frees LOG records it did not take). */
static inline size_t txn_coord_action_count(const txn_coord *c) { return c->nacts; }
void txn_coord_clear_actions(txn_coord *c);

txn_meta *txn_coord_find(const txn_coord *c, const char *txn_id);
txn_meta *txn_coord_find_pid(const txn_coord *c, int64_t pid);

/* InitProducerId for a transactional id. new_pid: a fresh producer id the coordinator
 * may use (a new id, or an epoch-exhausted rotation); *used_new_pid tells whether it did.
 * expected_pid/epoch: -1/-1 for none (v3+ clients may send their current ones). */
void txn_coord_init_pid(txn_coord *c, txn_req req, const char *txn_id, int32_t timeout_ms,
                        int64_t expected_pid, int16_t expected_epoch, int64_t new_pid,
                        int64_t now_ms, bool *used_new_pid);
/* AddPartitionsToTxn / AddOffsetsToTxn: adds participants (kind, name, partition). */
void txn_coord_add(txn_coord *c, txn_req req, const char *txn_id, int64_t pid, int16_t epoch,
                   const txn_participant *parts, int nparts, int64_t now_ms);
void txn_coord_end(txn_coord *c, txn_req req, const char *txn_id, int64_t pid, int16_t epoch,
                   bool commit, int64_t now_ms);
/* EndTxn v5+ (transactions v2, KIP-890 part 2): the decision record and the markers carry
 * epoch + 1, so no batch of this transaction (a late produce, a retried EndTxn) can pass
 * at the partitions or here once it ended; the answer names the producer id and epoch the
 * client continues with. An abort is allowed with no transaction ongoing (it only bumps the
 * epoch). A retry of an end already done (the epoch before the bump) gets the same answer.
 * new_pid: a fresh producer id, used only when txn_coord_end_needs_pid() said so (the bump
 * exhausts the epochs): the producer then continues as new_pid, epoch 0. */
void txn_coord_end_tv2(txn_coord *c, txn_req req, const char *txn_id, int64_t pid,
                       int16_t epoch, bool commit, int64_t new_pid, int64_t now_ms);
bool txn_coord_end_needs_pid(const txn_coord *c, const char *txn_id);
/* Aborts an ongoing transaction on an operator's request (fencing the producer). Returns
 * a Kafka error code: NONE when the abort started (or it is already ending). */
int16_t txn_coord_admin_abort(txn_coord *c, const char *txn_id, int64_t now_ms);

/* Completions from the driver. */
void txn_coord_logged(txn_coord *c, const char *txn_id, bool ok, int64_t now_ms);
void txn_coord_voted(txn_coord *c, const char *txn_id, const txn_participant *part, bool yes,
                     int64_t now_ms);
void txn_coord_marked(txn_coord *c, const char *txn_id, const txn_participant *part,
                      int64_t now_ms);
/* Aborts Ongoing transactions older than their timeout. */
void txn_coord_tick(txn_coord *c, int64_t now_ms);

/* Is (topic, partition) part of pid's Ongoing transaction at this epoch? The partition
 * side asks before accepting a transactional batch. */
bool txn_coord_verify(const txn_coord *c, int64_t pid, int16_t epoch, const char *topic,
                      int32_t partition);

/* Recovery: apply one record from the transaction log (later records win), then drive
 * every in-doubt transaction. Returns 0, or -1 for a record that does not decode. */
int txn_coord_load(txn_coord *c, const uint8_t *key, size_t key_len, const uint8_t *value,
                   size_t value_len);
void txn_coord_recover(txn_coord *c, int64_t now_ms);
/* The same for one transactional id (its log partition was just loaded: failover). */
void txn_coord_recover_id(txn_coord *c, const char *txn_id, int64_t now_ms);
/* Forgets a transactional id: its log partition is now led by another node. Only
 * between events (no queued actions); the driver answers a parked request first. */
void txn_coord_forget(txn_coord *c, const char *txn_id);

/* The durable image of a transaction (one transaction-log record's value). */
typedef struct txn_image {
    int64_t pid, prev_pid;
    int16_t epoch, prev_epoch;
    int32_t timeout_ms;
    int8_t state;
    int64_t start_ms, update_ms;
    int nparts;
    const txn_participant *parts;
    int64_t txn_seq; /* 0 in records written before it existed */
    bool tv2;        /* record version 2+, else false / -1 */
    int64_t next_pid;
} txn_image;
int txn_record_encode(const txn_image *im, uint8_t **out, size_t *len);

#endif
