/* pstate.c - see pstate.h. */
#include "storage/pstate.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "proto/errors.h"

#define SNAPSHOT_MAGIC_V1 0x42505331u /* "BPS1": without coordinator epochs */
#define SNAPSHOT_MAGIC_V2 0x42505332u /* "BPS2": each entry ends with its coordinator epoch */
#define SNAPSHOT_MAGIC_V3 0x42505333u /* "BPS3": ... then its last timestamp */
#define SNAPSHOT_MAGIC 0x42505334u    /* "BPS4": ... then its last marker sequence */

void pstate_init(pstate *ps)
{
    ps->by_pid = NULL;
    ps->open_txns = 0;
    ps->lead_start = -1;
}

void pstate_set_lead_start(pstate *ps, int64_t offset)
{
    BROOK_ASSERT(offset >= 0);
    ps->lead_start = offset;
}

/* A same-epoch gap the client will fill by itself (pstate_note_refused,
 * pstate_set_lead_start), so worth a retriable answer instead of OUT_OF_ORDER. */
static bool gap_expected(const pstate *ps, const pstate_entry *e)
{
    if (e->refused)
        return true;
    return ps->lead_start >= 0 && e->nbatches > 0 &&
           e->batches[e->nbatches - 1].last_offset < ps->lead_start;
}

void pstate_free(pstate *ps)
{
    pstate_entry *e, *tmp;
    HASH_ITER(hh, ps->by_pid, e, tmp)
    {
        HASH_DEL(ps->by_pid, e);
        free(e);
    }
    ps->open_txns = 0;
}

pstate_entry *pstate_find(const pstate *ps, int64_t pid)
{
    pstate_entry *e = NULL;
    HASH_FIND(hh, ps->by_pid, &pid, sizeof(pid), e);
    return e;
}

static int32_t last_seq_of(const rb_header *h)
{
    int64_t s = (int64_t)h->base_sequence + h->last_offset_delta;
    return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1 : s);
}

static bool in_sequence(int32_t last, int32_t next)
{
    return next == (last == INT32_MAX ? 0 : last + 1);
}

/* The last sequence of the epoch's last batch; -1 when it has none (the next is 0). */
static int32_t expected_last(const pstate_entry *e)
{
    return e->nbatches ? e->batches[e->nbatches - 1].last_seq : -1;
}

void pstate_note_refused(pstate *ps, const rb_header *h)
{
    pstate_entry *e = h->producer_id >= 0 ? pstate_find(ps, h->producer_id) : NULL;
    if (e && h->producer_epoch == e->epoch && in_sequence(expected_last(e), h->base_sequence)) {
        e->refused = true;
    }
}

int pstate_check(const pstate *ps, const rb_header *h, bool txn_verified, int64_t *dup_offset,
                 int16_t *error_out)
{
    bool txn = (h->attributes & RB_ATTR_TRANSACTIONAL) != 0;
    pstate_entry *e = pstate_find(ps, h->producer_id);
    int32_t first = h->base_sequence, last = last_seq_of(h);
    if (e && h->producer_epoch == e->epoch) {
        for (int i = 0; i < e->nbatches; i++) {
            if (e->batches[i].first_seq != first || e->batches[i].last_seq != last)
                continue;
            /* A retry comes before its transaction ends (a producer ends it only once its
             * sends are answered), so a transactional batch matching one of an ended
             * transaction reuses sequence numbers: acknowledging it would report records
             * that are not there, or are aborted (kafkajs 2.2.4 does this after a send
             * that failed on one partition: it keeps the others' sequences unchanged). */
            if (txn && (e->txn == PS_TXN_NONE ||
                        e->batches[i].base_offset < e->txn_first_offset)) {
                *error_out = KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
                return PS_REJECT;
            }
            *dup_offset = e->batches[i].base_offset;
            return PS_DUPLICATE;
        }
    }
    if (e && h->producer_epoch < e->epoch) {
        *error_out = KERR_INVALID_PRODUCER_EPOCH;
        return PS_REJECT;
    }
    if (e && h->producer_epoch > e->epoch && first != 0) {
        *error_out = KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        return PS_REJECT;
    }
    if (e && h->producer_epoch == e->epoch && !in_sequence(expected_last(e), first)) {
        *error_out = gap_expected(ps, e) ? KERR_NOT_ENOUGH_REPLICAS
                                         : KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        return PS_REJECT;
    }
    if (txn) {
        if (!txn_verified || (e && e->txn == PS_TXN_PREPARED)) {
            *error_out = KERR_INVALID_TXN_STATE;
            return PS_REJECT;
        }
    } else if (e && e->txn != PS_TXN_NONE) {
        *error_out = KERR_INVALID_TXN_STATE;
        return PS_REJECT;
    }
    return PS_APPEND;
}

static pstate_entry *entry_get(pstate *ps, int64_t pid, int16_t epoch)
{
    pstate_entry *e = pstate_find(ps, pid);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return NULL;
        e->pid = pid;
        e->epoch = epoch;
        e->txn_first_offset = e->txn_last_offset = -1;
        e->coord_epoch = -1;
        e->last_timestamp = -1;
        HASH_ADD(hh, ps->by_pid, pid, sizeof(e->pid), e);
    }
    if (epoch > e->epoch) {
        e->epoch = epoch;
        e->nbatches = 0; /* sequences restart with a new epoch */
        e->refused = false;
    }
    return e;
}

int pstate_on_append(pstate *ps, const rb_header *h, int64_t base_offset)
{
    BROOK_ASSERT(h->producer_id >= 0);
    pstate_entry *e = entry_get(ps, h->producer_id, h->producer_epoch);
    if (!e)
        return -1;
    if (e->nbatches == PSTATE_BATCHES) {
        memmove(e->batches, e->batches + 1, sizeof(e->batches[0]) * (PSTATE_BATCHES - 1));
        e->nbatches--;
    }
    int64_t last_offset = base_offset + h->last_offset_delta;
    e->batches[e->nbatches++] =
        (pstate_batch){h->base_sequence, last_seq_of(h), base_offset, last_offset};
    e->refused = false; /* the gap is filled */
    e->last_timestamp = h->max_timestamp;
    if (h->attributes & RB_ATTR_TRANSACTIONAL) {
        if (e->txn == PS_TXN_NONE) {
            e->txn = PS_TXN_ONGOING;
            e->txn_first_offset = base_offset;
            ps->open_txns++;
        }
        e->txn_last_offset = last_offset;
    }
    return 0;
}

void pstate_on_marker_time(pstate *ps, int64_t pid, int64_t timestamp)
{
    pstate_entry *e = pstate_find(ps, pid);
    if (e)
        e->last_timestamp = timestamp;
}

bool pstate_marker_is_stale(const pstate *ps, int64_t pid, int64_t seq)
{
    const pstate_entry *e = pstate_find(ps, pid);
    return seq > 0 && e && seq <= e->last_marker_seq;
}

int pstate_marker_applied(pstate *ps, int64_t pid, int16_t epoch, int64_t seq)
{
    pstate_entry *e = entry_get(ps, pid, epoch);
    if (!e)
        return -1;
    if (seq > e->last_marker_seq)
        e->last_marker_seq = seq;
    return 0;
}

bool pstate_coordinator_fenced(const pstate *ps, int64_t pid, int32_t coordinator_epoch)
{
    const pstate_entry *e = pstate_find(ps, pid);
    return e && coordinator_epoch < e->coord_epoch;
}

bool pstate_on_marker(pstate *ps, int64_t pid, int16_t epoch, bool commit, int64_t marker_offset,
                      aborted_txn *out)
{
    return pstate_on_end_marker(ps, pid, epoch, commit, -1, marker_offset, out);
}

bool pstate_on_end_marker(pstate *ps, int64_t pid, int16_t epoch, bool commit,
                          int32_t coordinator_epoch, int64_t marker_offset, aborted_txn *out)
{
    pstate_entry *e = entry_get(ps, pid, epoch);
    if (!e)
        return false;
    e->markers++;
    /* The highest, not the last: a participant's own resolution of an in-doubt transaction
     * (docs/cluster.md, "Recovery") records the highest one it knew, never a lower one, but
     * a log written by an older version may hold anything. */
    if (coordinator_epoch > e->coord_epoch)
        e->coord_epoch = coordinator_epoch;
    if (e->txn == PS_TXN_NONE)
        return false;
    bool aborted = !commit;
    if (aborted)
        *out = (aborted_txn){pid, e->txn_first_offset, marker_offset};
    e->txn = PS_TXN_NONE;
    e->txn_first_offset = e->txn_last_offset = -1;
    BROOK_ASSERT(ps->open_txns > 0);
    ps->open_txns--;
    return aborted;
}

int64_t pstate_prepare(pstate *ps, int64_t pid, int16_t epoch)
{
    pstate_entry *e = pstate_find(ps, pid);
    if (!e || e->txn == PS_TXN_NONE || epoch < e->epoch)
        return -1;
    e->txn = PS_TXN_PREPARED;
    return e->txn_last_offset + 1;
}

int64_t pstate_first_unstable_offset(const pstate *ps)
{
    int64_t min = INT64_MAX;
    if (ps->open_txns == 0)
        return min;
    for (const pstate_entry *e = ps->by_pid; e; e = e->hh.next)
        if (e->txn != PS_TXN_NONE && e->txn_first_offset < min)
            min = e->txn_first_offset;
    return min;
}

int pstate_snapshot_encode(const pstate *ps, int64_t offset, uint8_t **out, size_t *len_out)
{
    wr w;
    wr_init(&w, 256);
    wr_u32(&w, SNAPSHOT_MAGIC);
    wr_i64(&w, offset);
    wr_i32(&w, (int32_t)HASH_COUNT(ps->by_pid));
    for (const pstate_entry *e = ps->by_pid; e; e = e->hh.next) {
        wr_i64(&w, e->pid);
        wr_i16(&w, e->epoch);
        wr_i8(&w, e->txn);
        wr_i64(&w, e->txn_first_offset);
        wr_i64(&w, e->txn_last_offset);
        wr_i8(&w, (int8_t)e->nbatches);
        for (int i = 0; i < e->nbatches; i++) {
            wr_i32(&w, e->batches[i].first_seq);
            wr_i32(&w, e->batches[i].last_seq);
            wr_i64(&w, e->batches[i].base_offset);
            wr_i64(&w, e->batches[i].last_offset);
        }
        wr_i32(&w, e->coord_epoch);
        wr_i64(&w, e->last_timestamp);
        wr_i64(&w, e->last_marker_seq);
    }
    if (w.oom) {
        wr_free(&w);
        return -1;
    }
    wr_u32(&w, crc32c(0, w.p, w.len));
    if (w.oom) {
        wr_free(&w);
        return -1;
    }
    *out = wr_take(&w, len_out);
    return 0;
}

int pstate_snapshot_decode(pstate *ps, const uint8_t *p, size_t len, int64_t *offset_out)
{
    if (len < 20 || crc32c(0, p, len - 4) != be32_get(p + len - 4))
        return -1;
    rd r;
    rd_init(&r, p, len - 4);
    uint32_t magic = rd_u32(&r);
    if (magic != SNAPSHOT_MAGIC && magic != SNAPSHOT_MAGIC_V3 && magic != SNAPSHOT_MAGIC_V2 &&
        magic != SNAPSHOT_MAGIC_V1)
        return -1;
    int64_t offset = rd_i64(&r);
    int32_t n = rd_i32(&r);
    if (n < 0 || (size_t)n > rd_remaining(&r) / 28)
        return -1;
    for (int32_t i = 0; i < n && !r.err; i++) {
        pstate_entry *e = calloc(1, sizeof(*e));
        if (!e)
            return -1;
        e->pid = rd_i64(&r);
        e->epoch = rd_i16(&r);
        e->txn = rd_i8(&r);
        e->txn_first_offset = rd_i64(&r);
        e->txn_last_offset = rd_i64(&r);
        e->nbatches = rd_i8(&r);
        if (e->nbatches < 0 || e->nbatches > PSTATE_BATCHES || e->txn < 0 || e->txn > 2 ||
            pstate_find(ps, e->pid)) {
            free(e);
            return -1;
        }
        for (int k = 0; k < e->nbatches; k++) {
            e->batches[k].first_seq = rd_i32(&r);
            e->batches[k].last_seq = rd_i32(&r);
            e->batches[k].base_offset = rd_i64(&r);
            e->batches[k].last_offset = rd_i64(&r);
        }
        /* A BPS1 snapshot predates coordinator epochs: every marker then carried 0 or
         * nothing, so "none seen" refuses nothing a coordinator could still send. */
        e->coord_epoch = magic != SNAPSHOT_MAGIC_V1 ? rd_i32(&r) : -1;
        /* Before BPS3 the last timestamp was not kept: unknown (-1) until the producer's
         * next batch or marker here. */
        e->last_timestamp =
            magic == SNAPSHOT_MAGIC || magic == SNAPSHOT_MAGIC_V3 ? rd_i64(&r) : -1;
        /* Before BPS4 marker sequences were kept in memory only: 0 (none) as then. */
        e->last_marker_seq = magic == SNAPSHOT_MAGIC ? rd_i64(&r) : 0;
        if (e->last_marker_seq < 0)
            r.err = 1;
        HASH_ADD(hh, ps->by_pid, pid, sizeof(e->pid), e);
        if (e->txn != PS_TXN_NONE)
            ps->open_txns++;
    }
    if (r.err || rd_remaining(&r) != 0)
        return -1;
    *offset_out = offset;
    return 0;
}

int rb_control_type(const uint8_t *batch, size_t len)
{
    int32_t coordinator_epoch;
    return rb_control_parse(batch, len, &coordinator_epoch, NULL);
}

int rb_control_parse(const uint8_t *batch, size_t len, int32_t *coordinator_epoch,
                     int64_t *txn_seq)
{
    /* Record: len varint, attrs, tsDelta varint, offDelta varint, keyLen varint, key
     * (version int16, type int16), valueLen varint, value (version int16, coordinator
     * epoch int32, and Brook's transaction sequence int64 when the value is that long). */
    *coordinator_epoch = -1;
    if (txn_seq)
        *txn_seq = 0;
    if (len < RB_HEADER_SIZE + 1)
        return -1;
    rd r;
    rd_init(&r, batch + RB_HEADER_SIZE, len - RB_HEADER_SIZE);
    (void)rd_varint(&r);
    (void)rd_i8(&r);
    (void)rd_varlong(&r);
    (void)rd_varint(&r);
    int32_t klen = rd_varint(&r);
    if (r.err || klen < 4)
        return -1;
    (void)rd_i16(&r); /* version */
    int16_t type = rd_i16(&r);
    if (r.err || (type != RB_CONTROL_ABORT && type != RB_CONTROL_COMMIT))
        return -1;
    rd_skip(&r, (size_t)(klen - 4));
    int32_t vlen = rd_varint(&r);
    if (!r.err && vlen >= 6) {
        (void)rd_i16(&r); /* version */
        int32_t ce = rd_i32(&r);
        if (!r.err)
            *coordinator_epoch = ce;
    }
    if (!r.err && vlen >= 14 && txn_seq) {
        int64_t seq = rd_i64(&r);
        if (!r.err && seq > 0)
            *txn_seq = seq;
    }
    return type;
}
