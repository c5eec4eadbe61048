/*
 * inter_msgs.h - codecs of the broker-to-broker messages of the cross-node commit:
 * WriteTxnMarkers v0 (Kafka's key 27) and two Brook-internal APIs (docs/cluster.md):
 *   BrookPrepareTxn (key 10000): "fence producer (pid, epoch) on these partitions and
 *     answer once its records there are durable" (the vote of the prepare round); v1
 *     adds the coordinator epoch, as WriteTxnMarkers carries it;
 *   BrookTxnStatus (key 10001): a participant asks the coordinator how the transaction
 *     of (pid, epoch) it holds in doubt ended.
 * (A leader's verification before a transaction's first batch, KIP-890, is Kafka's own
 * AddPartitionsToTxn v5: proto/msgs.h.)
 * Owns: the byte layout only. Every decoder checks each length (rd latches errors) and
 * returns -1 on anything short, negative or trailing.
 * Never: does I/O or decides anything.
 */
#ifndef BROOK_PROTO_INTER_MSGS_H
#define BROOK_PROTO_INTER_MSGS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

/* One (topic, partition) with its answer. */
typedef struct inter_tp {
    kslice topic;
    int32_t partition;
    int16_t error;
} inter_tp;

/* WriteTxnMarkers v1 (flexible) carries, in each marker's tagged fields, Brook's tag
 * INTER_TAG_TXN_SEQ: the coordinator's transaction sequence (int64), so a partition can
 * drop a delayed duplicate (storage/pstate.h). Other brokers would skip the tag. */
#define INTER_TAG_TXN_SEQ 10000

typedef struct txn_marker_entry {
    int64_t pid;
    int16_t epoch;
    bool commit;
    int32_t coordinator_epoch;
    int32_t ntps;
    inter_tp *tps;
    int64_t txn_seq; /* v1 tagged field; 0: absent */
} txn_marker_entry;

typedef struct txn_markers_req {
    int32_t nmarkers;
    txn_marker_entry *markers;
} txn_markers_req;

/* The request/response bodies (after the header). Responses echo the request's entries
 * with their error codes. v0 or v1 follows w->flex / r->flex (set it for v1; a v1
 * response's header tags are the caller's to skip). */
void txn_markers_req_encode(wr *w, const txn_markers_req *q);
int txn_markers_req_decode(rd *r, arena *a, txn_markers_req *q);
void txn_markers_resp_encode(wr *w, const txn_markers_req *q);
int txn_markers_resp_decode(rd *r, arena *a, txn_markers_req *q);

typedef struct txn_prepare_req {
    kslice txn_id;
    int64_t pid;
    int16_t epoch;
    int32_t ntps;
    inter_tp *tps;
    int16_t error; /* response: top-level */
    int32_t coordinator_epoch; /* BrookPrepareTxn v1 (after epoch); -1 when decoded from v0 */
} txn_prepare_req;

/* version: BrookPrepareTxn 0 or 1. */
void txn_prepare_req_encode(wr *w, const txn_prepare_req *q, int16_t version);
int txn_prepare_req_decode(rd *r, arena *a, txn_prepare_req *q, int16_t version);
void txn_prepare_resp_encode(wr *w, const txn_prepare_req *q);
int txn_prepare_resp_decode(rd *r, arena *a, txn_prepare_req *q);

/* BrookPrepareTxn v2 carries many transactions (the prepares a coordinator decided in one
 * loop turn for one node), v0-1 exactly one; the answer has an entry per transaction, in
 * the request's order. These take every version: below 2, ntxns is 1 (encoders assert it). */
typedef struct txn_prepares_req {
    int32_t ntxns;
    txn_prepare_req *txns;
} txn_prepares_req;

void txn_prepares_req_encode(wr *w, const txn_prepares_req *q, int16_t version);
int txn_prepares_req_decode(rd *r, arena *a, txn_prepares_req *q, int16_t version);
void txn_prepares_resp_encode(wr *w, const txn_prepares_req *q, int16_t version);
int txn_prepares_resp_decode(rd *r, arena *a, txn_prepares_req *q, int16_t version);

enum txn_outcome {
    TXN_OUTCOME_UNKNOWN = 0, /* the coordinator has no such transaction: it never decided */
    TXN_OUTCOME_ONGOING = 1, /* not decided yet: keep holding */
    TXN_OUTCOME_COMMIT = 2,
    TXN_OUTCOME_ABORT = 3,
};

typedef struct txn_status_req {
    int64_t pid;
    int16_t epoch;
    int16_t error;      /* response */
    int8_t outcome;     /* response: enum txn_outcome */
    int16_t marker_epoch; /* response: the epoch to write the marker with */
} txn_status_req;

void txn_status_req_encode(wr *w, const txn_status_req *q);
int txn_status_req_decode(rd *r, txn_status_req *q);
void txn_status_resp_encode(wr *w, const txn_status_req *q);
int txn_status_resp_decode(rd *r, txn_status_req *q);

#endif
