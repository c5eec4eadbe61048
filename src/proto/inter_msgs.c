/* inter_msgs.c - see inter_msgs.h. The Brook APIs use non-flexible encodings (header v1);
 * WriteTxnMarkers v1 is flexible. */
#include "proto/inter_msgs.h"

#include <string.h>

static bool kslice_eq(kslice a, kslice b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* Grows the flat (topic, partition) list by one. */
static inter_tp *tp_push(arena *a, inter_tp **v, int32_t *n, int32_t *cap)
{
    if (*n == *cap) {
        int32_t nc = *cap ? *cap * 2 : 8;
        inter_tp *nv = arena_alloc(a, sizeof(inter_tp) * (size_t)nc);
        if (!nv)
            return NULL;
        if (*n)
            memcpy(nv, *v, sizeof(inter_tp) * (size_t)*n);
        *v = nv;
        *cap = nc;
    }
    inter_tp *t = &(*v)[(*n)++];
    memset(t, 0, sizeof(*t));
    return t;
}

/* topics: [name, [partition]] from a flat list, grouping runs of one topic. */
static void put_tps(wr *w, const inter_tp *tps, int32_t n, bool with_errors)
{
    int32_t runs = 0;
    for (int32_t i = 0; i < n; i++)
        runs += i == 0 || !kslice_eq(tps[i].topic, tps[i - 1].topic);
    wr_array(w, runs);
    for (int32_t i = 0; i < n;) {
        int32_t j = i;
        while (j < n && kslice_eq(tps[j].topic, tps[i].topic))
            j++;
        wr_str(w, tps[i].topic);
        wr_array(w, j - i);
        for (int32_t k = i; k < j; k++) {
            wr_i32(w, tps[k].partition);
            if (with_errors) {
                wr_i16(w, tps[k].error);
                wr_tags(w);
            }
        }
        wr_tags(w);
        i = j;
    }
}

static int get_tps(rd *r, arena *a, inter_tp **out, int32_t *nout, bool with_errors)
{
    int32_t nt = rd_array(r, 4), cap = 0;
    *out = NULL;
    *nout = 0;
    if (nt < 0)
        return -1;
    for (int32_t i = 0; i < nt; i++) {
        kslice name = rd_str(r);
        int32_t np = rd_array(r, with_errors ? 6 : 4);
        if (name.len < 0 || np < 0)
            return -1;
        for (int32_t k = 0; k < np; k++) {
            inter_tp *t = tp_push(a, out, nout, &cap);
            if (!t)
                return -1;
            t->topic = name;
            t->partition = rd_i32(r);
            if (with_errors) {
                t->error = rd_i16(r);
                rd_tags(r);
            }
        }
        rd_tags(r);
    }
    return r->err ? -1 : 0;
}

static int finish(rd *r)
{
    rd_tags(r);
    return r->err || rd_remaining(r) != 0 ? -1 : 0;
}

/* A marker's tagged fields: Brook's transaction sequence, others skipped. */
static void put_marker_tags(wr *w, int64_t txn_seq)
{
    if (!w->flex)
        return;
    if (txn_seq <= 0) {
        wr_tags(w);
        return;
    }
    wr_uvarint(w, 1);
    wr_uvarint(w, INTER_TAG_TXN_SEQ);
    wr_uvarint(w, 8);
    wr_i64(w, txn_seq);
}

static int64_t get_marker_tags(rd *r)
{
    int64_t seq = 0;
    if (!r->flex)
        return 0;
    uint32_t n = rd_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        uint32_t tag = rd_uvarint(r), size = rd_uvarint(r);
        if (tag == INTER_TAG_TXN_SEQ && size == 8)
            seq = rd_i64(r);
        else
            rd_skip(r, size);
    }
    return seq < 0 ? 0 : seq;
}

void txn_markers_req_encode(wr *w, const txn_markers_req *q)
{
    wr_array(w, q->nmarkers);
    for (int32_t i = 0; i < q->nmarkers; i++) {
        const txn_marker_entry *m = &q->markers[i];
        wr_i64(w, m->pid);
        wr_i16(w, m->epoch);
        wr_bool(w, m->commit);
        put_tps(w, m->tps, m->ntps, false);
        wr_i32(w, m->coordinator_epoch);
        put_marker_tags(w, m->txn_seq);
    }
    wr_tags(w);
}

int txn_markers_req_decode(rd *r, arena *a, txn_markers_req *q)
{
    q->nmarkers = rd_array(r, 19);
    if (q->nmarkers < 0)
        return -1;
    q->markers = arena_alloc(a, sizeof(txn_marker_entry) * (size_t)(q->nmarkers + 1));
    if (!q->markers)
        return -1;
    for (int32_t i = 0; i < q->nmarkers; i++) {
        txn_marker_entry *m = &q->markers[i];
        m->pid = rd_i64(r);
        m->epoch = rd_i16(r);
        m->commit = rd_bool(r);
        if (get_tps(r, a, &m->tps, &m->ntps, false) != 0)
            return -1;
        m->coordinator_epoch = rd_i32(r);
        m->txn_seq = get_marker_tags(r);
    }
    return finish(r);
}

void txn_markers_resp_encode(wr *w, const txn_markers_req *q)
{
    wr_array(w, q->nmarkers);
    for (int32_t i = 0; i < q->nmarkers; i++) {
        wr_i64(w, q->markers[i].pid);
        put_tps(w, q->markers[i].tps, q->markers[i].ntps, true);
        wr_tags(w);
    }
    wr_tags(w);
}

int txn_markers_resp_decode(rd *r, arena *a, txn_markers_req *q)
{
    q->nmarkers = rd_array(r, 12);
    if (q->nmarkers < 0)
        return -1;
    q->markers = arena_alloc(a, sizeof(txn_marker_entry) * (size_t)(q->nmarkers + 1));
    if (!q->markers)
        return -1;
    for (int32_t i = 0; i < q->nmarkers; i++) {
        memset(&q->markers[i], 0, sizeof(q->markers[i]));
        q->markers[i].pid = rd_i64(r);
        if (get_tps(r, a, &q->markers[i].tps, &q->markers[i].ntps, true) != 0)
            return -1;
        rd_tags(r);
    }
    return finish(r);
}

void txn_prepare_req_encode(wr *w, const txn_prepare_req *q, int16_t version)
{
    wr_str(w, q->txn_id);
    wr_i64(w, q->pid);
    wr_i16(w, q->epoch);
    if (version >= 1)
        wr_i32(w, q->coordinator_epoch);
    put_tps(w, q->tps, q->ntps, false);
}

int txn_prepare_req_decode(rd *r, arena *a, txn_prepare_req *q, int16_t version)
{
    q->txn_id = rd_str(r);
    q->pid = rd_i64(r);
    q->epoch = rd_i16(r);
    q->coordinator_epoch = version >= 1 ? rd_i32(r) : -1;
    q->error = 0;
    if (q->txn_id.len < 0 || get_tps(r, a, &q->tps, &q->ntps, false) != 0)
        return -1;
    return finish(r);
}

void txn_prepare_resp_encode(wr *w, const txn_prepare_req *q)
{
    wr_i16(w, q->error);
    put_tps(w, q->tps, q->ntps, true);
}

int txn_prepare_resp_decode(rd *r, arena *a, txn_prepare_req *q)
{
    q->error = rd_i16(r);
    if (get_tps(r, a, &q->tps, &q->ntps, true) != 0)
        return -1;
    return finish(r);
}

void txn_status_req_encode(wr *w, const txn_status_req *q)
{
    wr_i64(w, q->pid);
    wr_i16(w, q->epoch);
}

int txn_status_req_decode(rd *r, txn_status_req *q)
{
    q->pid = rd_i64(r);
    q->epoch = rd_i16(r);
    return finish(r);
}

void txn_status_resp_encode(wr *w, const txn_status_req *q)
{
    wr_i16(w, q->error);
    wr_i8(w, q->outcome);
    wr_i16(w, q->marker_epoch);
}

int txn_status_resp_decode(rd *r, txn_status_req *q)
{
    q->error = rd_i16(r);
    q->outcome = rd_i8(r);
    q->marker_epoch = rd_i16(r);
    if (q->outcome < TXN_OUTCOME_UNKNOWN || q->outcome > TXN_OUTCOME_ABORT)
        return -1;
    return finish(r);
}
