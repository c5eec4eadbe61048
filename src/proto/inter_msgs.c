/* inter_msgs.c - see inter_msgs.h. The Brook APIs use non-flexible encodings (header v1);
 * WriteTxnMarkers v1 is flexible. Every message is a schema table (proto/schema.h); the
 * glue turns the flat (topic, partition) lists of inter_msgs.h into the wire's topics array
 * (runs of one topic) and back. */
#include "proto/inter_msgs.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/schema.h"

static bool kslice_eq(kslice a, kslice b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* One topic of the wire's topics array: request topics carry partition indexes, answers a
 * {PartitionIndex, ErrorCode} per partition (an inter_tp whose topic is left empty). */
typedef struct inter_topic {
    kslice name;
    int32_t nparts;
    int32_t *indexes; /* requests */
    inter_tp *results; /* answers */
} inter_topic;

static const pf_field g_topic_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, inter_topic, name),
    PF_FA("PartitionIndexes", PF_I32S, 0, PF_LAST, PF_NEVER, inter_topic, indexes, nparts,
          NULL),
};
static const pf_schema g_topic = PF_SCHEMA("Topic", inter_topic, g_topic_fields);
static const pf_field g_part_result_fields[] = {
    PF_F("PartitionIndex", PF_I32, 0, PF_LAST, inter_tp, partition),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, inter_tp, error),
};
static const pf_schema g_part_result =
    PF_SCHEMA("PartitionResult", inter_tp, g_part_result_fields);
static const pf_field g_topic_result_fields[] = {
    PF_F("Name", PF_STR, 0, PF_LAST, inter_topic, name),
    PF_FA("Partitions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, inter_topic, results, nparts,
          &g_part_result),
};
static const pf_schema g_topic_result =
    PF_SCHEMA("TopicResult", inter_topic, g_topic_result_fields);

/* The topics array of a flat list for the encoder: one topic per run of one name, its
 * partitions that run (answers) and a copy of their indexes (requests), in one block the
 * caller frees. Empty: NULL and 0 topics; out of memory: NULL and -1. */
static inter_topic *topics_of(const inter_tp *tps, int32_t n, int32_t *ntopics)
{
    int32_t runs = 0;
    for (int32_t i = 0; i < n; i++)
        runs += i == 0 || !kslice_eq(tps[i].topic, tps[i - 1].topic);
    *ntopics = runs;
    if (runs == 0)
        return NULL;
    inter_topic *t = malloc(sizeof(*t) * (size_t)runs + sizeof(int32_t) * (size_t)n);
    if (!t) {
        *ntopics = -1;
        return NULL;
    }
    int32_t *indexes = (int32_t *)(t + runs);
    for (int32_t i = 0, k = 0; i < n; k++) {
        int32_t j = i;
        while (j < n && kslice_eq(tps[j].topic, tps[i].topic)) {
            indexes[j] = tps[j].partition;
            j++;
        }
        t[k] = (inter_topic){tps[i].topic, j - i, indexes + i, (inter_tp *)(tps + i)};
        i = j;
    }
    return t;
}

/* The flat list of decoded topics: each partition (answers: its result, requests: its
 * index) with its topic's name, in the arena. */
static int flatten(arena *a, const inter_topic *topics, int32_t ntopics, bool results,
                   inter_tp **out, int32_t *nout)
{
    int64_t n = 0;
    for (int32_t i = 0; i < ntopics; i++)
        n += topics[i].nparts;
    *out = NULL;
    *nout = 0;
    if (n > INT32_MAX)
        return -1;
    if (n == 0)
        return 0;
    inter_tp *tps = arena_alloc(a, sizeof(*tps) * (size_t)n);
    if (!tps)
        return -1;
    int32_t k = 0;
    for (int32_t i = 0; i < ntopics; i++)
        for (int32_t p = 0; p < topics[i].nparts; p++, k++) {
            tps[k] = results ? topics[i].results[p] : (inter_tp){.partition = topics[i].indexes[p]};
            tps[k].topic = topics[i].name;
        }
    *out = tps;
    *nout = k;
    return 0;
}

/* ---------------- WriteTxnMarkers (v0, v1 flexible) ---------------- */

/* A marker on the wire: the entry (its tps unused) and its topics. */
typedef struct wtm_marker {
    txn_marker_entry e;
    int32_t ntopics;
    inter_topic *topics;
} wtm_marker;
typedef struct wtm_msg {
    int32_t nmarkers;
    wtm_marker *markers;
} wtm_msg;

static const pf_field g_wtm_marker_fields[] = {
    PF_F("ProducerId", PF_I64, 0, PF_LAST, wtm_marker, e.pid),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, wtm_marker, e.epoch),
    PF_F("TransactionResult", PF_BOOL, 0, PF_LAST, wtm_marker, e.commit),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, wtm_marker, topics, ntopics, &g_topic),
    PF_F("CoordinatorEpoch", PF_I32, 0, PF_LAST, wtm_marker, e.coordinator_epoch),
    /* Brook's: the coordinator's transaction sequence, left out while 0 */
    PF_FT("TxnSeq", PF_I64, 1, PF_LAST, INTER_TAG_TXN_SEQ, wtm_marker, e.txn_seq, 0),
};
static const pf_schema g_wtm_marker =
    PF_SCHEMA("WritableTxnMarker", wtm_marker, g_wtm_marker_fields);
static const pf_field g_wtm_req_fields[] = {
    PF_FA("Markers", PF_STRUCTS, 0, PF_LAST, PF_NEVER, wtm_msg, markers, nmarkers,
          &g_wtm_marker),
};
static const pf_schema g_wtm_req = PF_SCHEMA("WriteTxnMarkersRequest", wtm_msg, g_wtm_req_fields);

static const pf_field g_wtm_result_fields[] = {
    PF_F("ProducerId", PF_I64, 0, PF_LAST, wtm_marker, e.pid),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, wtm_marker, topics, ntopics,
          &g_topic_result),
};
static const pf_schema g_wtm_result =
    PF_SCHEMA("WritableTxnMarkerResult", wtm_marker, g_wtm_result_fields);
static const pf_field g_wtm_resp_fields[] = {
    PF_FA("Markers", PF_STRUCTS, 0, PF_LAST, PF_NEVER, wtm_msg, markers, nmarkers,
          &g_wtm_result),
};
static const pf_schema g_wtm_resp =
    PF_SCHEMA("WriteTxnMarkersResponse", wtm_msg, g_wtm_resp_fields);

/* The request or answer of q through schema s, at the version w->flex gives. */
static void markers_encode(wr *w, const pf_schema *s, const txn_markers_req *q)
{
    wtm_msg m = {q->nmarkers, NULL};
    if (q->nmarkers > 0 && !(m.markers = calloc((size_t)q->nmarkers, sizeof(*m.markers)))) {
        w->oom = true;
        return;
    }
    int32_t built = 0;
    for (; built < q->nmarkers; built++) {
        wtm_marker *k = &m.markers[built];
        k->e = q->markers[built];
        if (k->e.txn_seq < 0)
            k->e.txn_seq = 0; /* none (only a positive sequence is sent) */
        k->topics = topics_of(k->e.tps, k->e.ntps, &k->ntopics);
        if (k->ntopics < 0) {
            w->oom = true;
            break;
        }
    }
    if (built == q->nmarkers)
        pf_encode(w, w->flex ? 1 : 0, s, &m);
    for (int32_t i = 0; i < built; i++)
        free(m.markers[i].topics);
    free(m.markers);
}

static int markers_decode(rd *r, arena *a, const pf_schema *s, bool results, txn_markers_req *q)
{
    wtm_msg m;
    q->nmarkers = 0;
    q->markers = NULL;
    if (pf_decode_message(r, r->flex ? 1 : 0, a, s, &m) != 0)
        return -1;
    q->markers = arena_array(a, m.nmarkers, sizeof(*q->markers));
    if (m.nmarkers > 0 && !q->markers)
        return -1;
    for (int32_t i = 0; i < m.nmarkers; i++) {
        txn_marker_entry *e = &q->markers[i];
        *e = m.markers[i].e; /* an answer's: the arena's zeroes but for pid */
        if (e->txn_seq < 0)
            e->txn_seq = 0;
        if (flatten(a, m.markers[i].topics, m.markers[i].ntopics, results, &e->tps,
                    &e->ntps) != 0)
            return -1;
    }
    q->nmarkers = m.nmarkers;
    return 0;
}

void txn_markers_req_encode(wr *w, const txn_markers_req *q)
{
    markers_encode(w, &g_wtm_req, q);
}

int txn_markers_req_decode(rd *r, arena *a, txn_markers_req *q)
{
    return markers_decode(r, a, &g_wtm_req, false, q);
}

void txn_markers_resp_encode(wr *w, const txn_markers_req *q)
{
    markers_encode(w, &g_wtm_resp, q);
}

int txn_markers_resp_decode(rd *r, arena *a, txn_markers_req *q)
{
    return markers_decode(r, a, &g_wtm_resp, true, q);
}

/* ---------------- BrookPrepareTxn (v0, v1) ---------------- */

typedef struct prep_msg {
    txn_prepare_req e; /* its tps unused: the topics below */
    int32_t ntopics;
    inter_topic *topics;
} prep_msg;

static const pf_field g_prep_req_fields[] = {
    PF_F("TransactionalId", PF_STR, 0, PF_LAST, prep_msg, e.txn_id),
    PF_F("ProducerId", PF_I64, 0, PF_LAST, prep_msg, e.pid),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, prep_msg, e.epoch),
    PF_FD("CoordinatorEpoch", PF_I32, 1, PF_LAST, prep_msg, e.coordinator_epoch, -1),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, prep_msg, topics, ntopics, &g_topic),
    PF_LOCAL("ErrorCode", PF_I16, prep_msg, e.error, 0),
};
static const pf_schema g_prep_req = PF_SCHEMA("BrookPrepareTxnRequest", prep_msg,
                                              g_prep_req_fields);
static const pf_field g_prep_resp_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, prep_msg, e.error),
    PF_FA("Topics", PF_STRUCTS, 0, PF_LAST, PF_NEVER, prep_msg, topics, ntopics,
          &g_topic_result),
};
static const pf_schema g_prep_resp = PF_SCHEMA("BrookPrepareTxnResponse", prep_msg,
                                               g_prep_resp_fields);

static void prepare_encode(wr *w, const pf_schema *s, const txn_prepare_req *q, int16_t version)
{
    prep_msg m = {.e = *q};
    m.topics = topics_of(q->tps, q->ntps, &m.ntopics);
    if (m.ntopics < 0) {
        w->oom = true;
        return;
    }
    pf_encode(w, version, s, &m);
    free(m.topics);
}

void txn_prepare_req_encode(wr *w, const txn_prepare_req *q, int16_t version)
{
    prepare_encode(w, &g_prep_req, q, version);
}

int txn_prepare_req_decode(rd *r, arena *a, txn_prepare_req *q, int16_t version)
{
    prep_msg m;
    if (pf_decode_message(r, version, a, &g_prep_req, &m) != 0)
        return -1;
    *q = m.e;
    return flatten(a, m.topics, m.ntopics, false, &q->tps, &q->ntps);
}

/* The answer has one shape in both versions. */
void txn_prepare_resp_encode(wr *w, const txn_prepare_req *q)
{
    prepare_encode(w, &g_prep_resp, q, 0);
}

int txn_prepare_resp_decode(rd *r, arena *a, txn_prepare_req *q)
{
    prep_msg m;
    if (pf_decode_message(r, 0, a, &g_prep_resp, &m) != 0)
        return -1;
    q->error = m.e.error;
    return flatten(a, m.topics, m.ntopics, true, &q->tps, &q->ntps);
}

/* ---------------- BrookPrepareTxn v2: many transactions ---------------- */

typedef struct preps_msg {
    int32_t ntxns;
    prep_msg *txns;
} preps_msg;

static const pf_field g_preps_req_fields[] = {
    PF_FA("Transactions", PF_STRUCTS, 2, PF_LAST, PF_NEVER, preps_msg, txns, ntxns, &g_prep_req),
};
static const pf_schema g_preps_req = PF_SCHEMA("BrookPrepareTxnRequest", preps_msg,
                                               g_preps_req_fields);
static const pf_field g_preps_resp_fields[] = {
    PF_FA("Transactions", PF_STRUCTS, 2, PF_LAST, PF_NEVER, preps_msg, txns, ntxns,
          &g_prep_resp),
};
static const pf_schema g_preps_resp = PF_SCHEMA("BrookPrepareTxnResponse", preps_msg,
                                                g_preps_resp_fields);

/* q through s (a v2 schema: the Transactions array of per-transaction entries). */
static void prepares_encode(wr *w, const pf_schema *s, const txn_prepares_req *q)
{
    preps_msg m = {q->ntxns, NULL};
    if (q->ntxns > 0 && !(m.txns = calloc((size_t)q->ntxns, sizeof(*m.txns)))) {
        w->oom = true;
        return;
    }
    int32_t built = 0;
    for (; built < q->ntxns; built++) {
        prep_msg *k = &m.txns[built];
        k->e = q->txns[built];
        k->topics = topics_of(k->e.tps, k->e.ntps, &k->ntopics);
        if (k->ntopics < 0) {
            w->oom = true;
            break;
        }
    }
    if (built == q->ntxns)
        pf_encode(w, 2, s, &m);
    for (int32_t i = 0; i < built; i++)
        free(m.txns[i].topics);
    free(m.txns);
}

static int prepares_decode(rd *r, arena *a, const pf_schema *s, bool results,
                           txn_prepares_req *q)
{
    preps_msg m;
    q->ntxns = 0;
    q->txns = NULL;
    if (pf_decode_message(r, 2, a, s, &m) != 0)
        return -1;
    q->txns = arena_array(a, m.ntxns, sizeof(*q->txns));
    if (m.ntxns > 0 && !q->txns)
        return -1;
    for (int32_t i = 0; i < m.ntxns; i++) {
        txn_prepare_req *e = &q->txns[i];
        *e = m.txns[i].e;
        if (flatten(a, m.txns[i].topics, m.txns[i].ntopics, results, &e->tps, &e->ntps) != 0)
            return -1;
    }
    q->ntxns = m.ntxns;
    return 0;
}

void txn_prepares_req_encode(wr *w, const txn_prepares_req *q, int16_t version)
{
    if (version >= 2) {
        prepares_encode(w, &g_preps_req, q);
        return;
    }
    BROOK_ASSERT(q->ntxns == 1);
    txn_prepare_req_encode(w, &q->txns[0], version);
}

int txn_prepares_req_decode(rd *r, arena *a, txn_prepares_req *q, int16_t version)
{
    if (version >= 2)
        return prepares_decode(r, a, &g_preps_req, false, q);
    q->ntxns = 0;
    q->txns = arena_array(a, 1, sizeof(*q->txns));
    if (!q->txns || txn_prepare_req_decode(r, a, q->txns, version) != 0)
        return -1;
    q->ntxns = 1;
    return 0;
}

void txn_prepares_resp_encode(wr *w, const txn_prepares_req *q, int16_t version)
{
    if (version >= 2) {
        prepares_encode(w, &g_preps_resp, q);
        return;
    }
    BROOK_ASSERT(q->ntxns == 1);
    txn_prepare_resp_encode(w, &q->txns[0]);
}

int txn_prepares_resp_decode(rd *r, arena *a, txn_prepares_req *q, int16_t version)
{
    if (version >= 2)
        return prepares_decode(r, a, &g_preps_resp, true, q);
    q->ntxns = 0;
    q->txns = arena_array(a, 1, sizeof(*q->txns));
    if (!q->txns || txn_prepare_resp_decode(r, a, q->txns) != 0)
        return -1;
    q->ntxns = 1;
    return 0;
}

/* ---------------- BrookTxnStatus (v0) ---------------- */

static const pf_field g_status_req_fields[] = {
    PF_F("ProducerId", PF_I64, 0, PF_LAST, txn_status_req, pid),
    PF_F("ProducerEpoch", PF_I16, 0, PF_LAST, txn_status_req, epoch),
};
static const pf_schema g_status_req = PF_SCHEMA("BrookTxnStatusRequest", txn_status_req,
                                                g_status_req_fields);
static const pf_field g_status_resp_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, txn_status_req, error),
    PF_F("Outcome", PF_I8, 0, PF_LAST, txn_status_req, outcome),
    PF_F("MarkerEpoch", PF_I16, 0, PF_LAST, txn_status_req, marker_epoch),
};
static const pf_schema g_status_resp = PF_SCHEMA("BrookTxnStatusResponse", txn_status_req,
                                                 g_status_resp_fields);

void txn_status_req_encode(wr *w, const txn_status_req *q)
{
    pf_encode(w, 0, &g_status_req, q);
}

/* Integers only: the decoder never takes from an arena. */
int txn_status_req_decode(rd *r, txn_status_req *q)
{
    return pf_decode_message(r, 0, NULL, &g_status_req, q);
}

void txn_status_resp_encode(wr *w, const txn_status_req *q)
{
    pf_encode(w, 0, &g_status_resp, q);
}

int txn_status_resp_decode(rd *r, txn_status_req *q)
{
    if (pf_decode_message(r, 0, NULL, &g_status_resp, q) != 0)
        return -1;
    return q->outcome < TXN_OUTCOME_UNKNOWN || q->outcome > TXN_OUTCOME_ABORT ? -1 : 0;
}
