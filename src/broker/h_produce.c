/* h_produce.c - Produce: validate each partition's batch, append it, and answer once it
 * is durable. With acks=0 nothing is answered; with acks=1 or all (the same on one node)
 * the request is parked until the group-commit fsync covering every appended batch
 * completes (log.flush.mode=sync), or answered at once (interval mode). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "proto/compress.h"
#include "proto/errors.h"
#include "proto/inter_msgs.h"
#include "proto/msgs.h"
#include "proto/record.h"

typedef struct produce_wait {
    partition *p;
    int64_t end; /* durable_offset must reach this */
    produce_part *pp;
} produce_wait;

typedef struct produce_op {
    struct produce_op *prev, *next; /* b->produces (utlist DL): arrival order */
    req_ctx *c;
    produce_req q;
    int n;
    produce_wait *w;
    /* cluster mode: the remote coordinator's verification of transactional first batches,
     * per partition in request order: 0 not asked, 1 confirmed, else the error to answer */
    int16_t *verdict;
    /* ... and what the partition's producer state was when the question left (Kafka's
     * VerificationGuard, KIP-890): a confirmation is void if a marker of the producer was
     * written in between (the transaction it confirmed has ended). */
    struct verify_guard *guard;
    int verifying; /* answers outstanding */
    bool started;  /* verification begun (or found unneeded) */
    bool starting; /* inside start_verification: answers given at once only count */
    struct produce_op *fnext; /* b->produce_fifo */
    uint8_t *denied; /* per topic: WRITE not authorized (NULL: none denied) */
    int64_t deadline_ms; /* acks=all on a replicated partition: REQUEST_TIMED_OUT after */
} produce_op;

#define VERDICT_CONFIRMED INT16_MIN

typedef struct verify_guard {
    const partition *p;
    int64_t pid;
    uint32_t markers; /* pstate_entry.markers + 1 at the question; 0: no entry then */
} verify_guard;

static verify_guard guard_of(const partition *p, int64_t pid)
{
    const pstate_entry *e = pstate_find(&p->log->ps, pid);
    return (verify_guard){p, pid, e ? e->markers + 1 : 0};
}

/* Whether a confirmation still holds: same partition, no end marker of the producer
 * written there since the question left. */
static bool guard_holds(const verify_guard *g, const topic *t, int32_t index)
{
    if (index < 0 || index >= t->npartitions || t->parts[index] != g->p)
        return false;
    verify_guard now = guard_of(g->p, g->pid);
    return now.markers == g->markers;
}

static int16_t map_batch_error(int rc)
{
    switch (rc) {
    case RB_ERR_RECORDS:
    case RB_ERR_CODEC: return KERR_INVALID_RECORD;
    default: return KERR_CORRUPT_MESSAGE;
    }
}

/* The most a produced batch may inflate to when the broker must read its records
 * (compacted topics) or recompress it (a topic compression.type): a bound against
 * decompression bombs, far above what max.message.bytes lets producers send compressed. */
#define PRODUCE_MAX_INFLATED ((size_t)256 << 20)
/* The most all compressed batches of one Produce request may inflate to together: the
 * inflating runs on the loop thread, and an 8 KiB zstd batch can ask for 256 MiB, so one
 * request of many partitions used to hold the loop for 20 s (an adversarial hunt,
 * session 37). */
#define PRODUCE_REQUEST_MAX_INFLATED PRODUCE_MAX_INFLATED

/* A batch's records section as the record checks read it: in place, or inflated (owned,
 * freed by the caller). */
typedef struct batch_records {
    const uint8_t *p;
    size_t len;
    uint8_t *owned;
} batch_records;

/* A compressed batch's records, inflated and checked as an uncompressed batch's are in
 * place by rb_validate: exactly records_count records framed, offset deltas 0..n-1 ending
 * at last_offset_delta. Kafka's LogValidator inflates every compressed batch too. One whose
 * count or deltas lie, or whose body is not its codec's, used to be stored: the log end
 * moved by 2^31, and consumers stopped at it for good. *budget is what the request may
 * still inflate (PRODUCE_REQUEST_MAX_INFLATED at its start). With keep, *out gets the
 * records section (the inflated one kept, so that later checks do not inflate it again,
 * outside the budget). */
static int16_t check_compressed(produce_part *pp, const rb_header *h, kslice rec,
                                size_t *budget, bool keep, batch_records *out)
{
    *out = (batch_records){rec.p + RB_HEADER_SIZE, (size_t)rec.len - RB_HEADER_SIZE, NULL};
    if ((h->attributes & RB_ATTR_CODEC_MASK) == RB_CODEC_NONE)
        return KERR_NONE;
    size_t cap = *budget < PRODUCE_MAX_INFLATED ? *budget : PRODUCE_MAX_INFLATED;
    uint8_t *inflated = NULL;
    size_t n = 0;
    int rc = rb_decompress_records(rec.p, (size_t)rec.len, cap, &inflated, &n);
    if (rc == RB_ERR_TOO_BIG) {
        pp->error_message = "the batch inflates past the broker's bound (256 MiB for all of "
                            "a request's batches)";
        return KERR_INVALID_RECORD;
    }
    if (rc != RB_OK)
        return map_batch_error(rc);
    *budget -= n;
    rc = rb_check_records_section(h, inflated, n);
    if (rc == RB_OK && keep)
        *out = (batch_records){inflated, n, inflated};
    else
        free(inflated);
    return rc == RB_OK ? KERR_NONE : map_batch_error(rc);
}

/* Indexes of a batch's records a check refuses. */
typedef struct record_indexes {
    int32_t *idx;
    int32_t n, cap;
} record_indexes;

/* Appends a record index; 1 when out of memory (stops a record walk). */
static int push_index(record_indexes *k, int32_t index)
{
    if (k->n == k->cap) {
        int32_t cap = k->cap ? k->cap * 2 : 16;
        int32_t *idx = realloc(k->idx, sizeof(int32_t) * (size_t)cap);
        if (!idx)
            return 1; /* out of memory: stops the walk */
        k->idx = idx;
        k->cap = cap;
    }
    k->idx[k->n++] = index;
    return 0;
}

static int note_keyless(void *ctx, int32_t index, const rb_record *r)
{
    return r->key ? 0 : push_index(ctx, index);
}

/* The verdict of a record walk (rc) that collected the refused records in bad (freed
 * here): none, NONE; else err with each named in the record errors (why) and msg as the
 * partition's error message, both copied into the request's arena. */
static int16_t refuse_records(req_ctx *c, produce_part *pp, int rc, record_indexes *bad,
                              int16_t err, const char *why, const char *msg)
{
    if (rc != 0)
        err = rc > 0 || rc == RB_ERR_NOMEM ? KERR_UNKNOWN_SERVER_ERROR : KERR_CORRUPT_MESSAGE;
    else if (bad->n == 0)
        err = KERR_NONE;
    if (rc == 0 && bad->n > 0) {
        arena *a = &c->nr->arena;
        produce_record_error *re = arena_alloc(a, sizeof(*re) * (size_t)bad->n);
        const char *w = arena_strndup(a, why, strlen(why));
        for (int i = 0; re && i < bad->n; i++)
            re[i] = (produce_record_error){bad->idx[i], w};
        pp->nrecord_errors = re ? bad->n : 0;
        pp->record_errors = re;
        pp->error_message = arena_strndup(a, msg, strlen(msg));
    }
    free(bad->idx);
    return err;
}

/* A compacted topic takes only records with keys (Kafka's rule): the batch is refused
 * with INVALID_RECORD, naming each keyless record's index (Produce v8+, KIP-467) so the
 * client fails those and retries the others. */
static int16_t check_keys(req_ctx *c, const topic *t, produce_part *pp, const rb_header *h,
                          const batch_records *r)
{
    record_indexes k = {0};
    int rc = rb_for_each_record_in(h, r->p, r->len, note_keyless, &k);
    char why[320], msg[320];
    snprintf(why, sizeof(why), "Compacted topic cannot accept message without key in "
             "topic partition %s-%d.", t->name, pp->index);
    snprintf(msg, sizeof(msg), "%d of the batch's records have no key; topic %s is "
             "compacted (cleanup.policy=compact)", k.n, t->name);
    return refuse_records(c, pp, rc, &k, KERR_INVALID_RECORD, why, msg);
}

typedef struct ts_bounds {
    int64_t lo, hi; /* accepted timestamps, inclusive */
    record_indexes bad; /* the records outside */
    int64_t first_ts;
    int32_t first_index;
} ts_bounds;

static int note_out_of_range(void *ctx, int32_t index, const rb_record *r)
{
    ts_bounds *b = ctx;
    if (r->timestamp >= b->lo && r->timestamp <= b->hi)
        return 0;
    if (b->bad.n == 0) {
        b->first_ts = r->timestamp;
        b->first_index = index;
    }
    return push_index(&b->bad, index);
}

/* Whether t's records' timestamps are checked (check_timestamps). */
static bool timestamps_bounded(const topic *t)
{
    return !t->logcfg.log_append_time && (t->policy.ts_before_max_ms != INT64_MAX ||
                                          t->policy.ts_after_max_ms != INT64_MAX);
}

/* KIP-937: with CreateTime, a record whose timestamp is more than
 * message.timestamp.before.max.ms behind the broker's clock or .after.max.ms ahead of it
 * makes the batch INVALID_TIMESTAMP, each such record named (Produce v8+). */
static int16_t check_timestamps(req_ctx *c, const topic *t, produce_part *pp,
                                const rb_header *h, const batch_records *r)
{
    const topic_policy *pol = &t->policy;
    if (!timestamps_bounded(t))
        return KERR_NONE;
    int64_t now = clock_wall_ms();
    ts_bounds b = {.lo = pol->ts_before_max_ms > now ? INT64_MIN : now - pol->ts_before_max_ms,
                   .hi = pol->ts_after_max_ms > INT64_MAX - now ? INT64_MAX
                                                                : now + pol->ts_after_max_ms};
    int rc = rb_for_each_record_in(h, r->p, r->len, note_out_of_range, &b);
    char why[320];
    snprintf(why, sizeof(why), "Timestamp %" PRId64 " of message with offset %d is out of "
             "range. The timestamp should be within [%" PRId64 ", %" PRId64 "]",
             b.first_ts, b.first_index, b.lo, b.hi);
    return refuse_records(c, pp, rc, &b.bad, KERR_INVALID_TIMESTAMP, why, why);
}

/* The batch to store: the one sent, or (a topic compression.type other than producer and
 * than the batch's codec) the same records recompressed, in the request's arena. Kafka
 * does the same; the producer's sequence numbers and offsets are unchanged. */
static int16_t stored_batch(req_ctx *c, const topic *t, rb_header *h, kslice *rec)
{
    int want = t->policy.compression;
    if (want == TOPIC_COMPRESSION_PRODUCER || want == (h->attributes & RB_ATTR_CODEC_MASK))
        return KERR_NONE;
    uint8_t *out;
    size_t len;
    int rc = rb_recompress(rec->p, (size_t)rec->len, want, PRODUCE_MAX_INFLATED, &out, &len);
    if (rc != 0)
        return rc == RB_ERR_NOMEM ? KERR_UNKNOWN_SERVER_ERROR : KERR_CORRUPT_MESSAGE;
    uint8_t *copy = len <= INT32_MAX ? arena_alloc(&c->nr->arena, len) : NULL;
    if (copy)
        memcpy(copy, out, len);
    free(out);
    if (!copy)
        return KERR_UNKNOWN_SERVER_ERROR;
    if (len > (size_t)t->policy.max_message_bytes)
        return KERR_MESSAGE_TOO_LARGE;
    rec->p = copy;
    rec->len = (int32_t)len;
    return rb_parse_header(copy, len, h) == RB_OK ? KERR_NONE : KERR_UNKNOWN_SERVER_ERROR;
}

/* Sequence and epoch refusals are rare and end in a client's error or epoch bump: said at
 * INFO with what this leader holds for the producer; other refusals at DEBUG. */
static void log_rejected_batch(const char *who, const partition *p, const rb_header *h,
                               int16_t err)
{
    const pstate_entry *e = pstate_find(&p->log->ps, h->producer_id);
    char held[128] = "no state";
    if (e)
        snprintf(held, sizeof(held), "epoch %d, %d batch(es), last seq %d, txn %d from %lld",
                 e->epoch, e->nbatches, e->nbatches ? e->batches[e->nbatches - 1].last_seq : -1,
                 (int)e->txn, (long long)e->txn_first_offset);
    if (err == KERR_OUT_OF_ORDER_SEQUENCE_NUMBER || err == KERR_INVALID_PRODUCER_EPOCH)
        LOG_INFO("broker", "%s: produce to %s from producer %lld epoch %d seq %d-%d: %s (held: %s)",
                 who, p->log->name, (long long)h->producer_id, h->producer_epoch,
                 h->base_sequence, h->base_sequence + h->last_offset_delta,
                 kafka_error_name(err), held);
    else
        LOG_DEBUG("broker", "%s: produce to %s from producer %lld epoch %d seq %d: %s", who,
                  p->log->name, (long long)h->producer_id, h->producer_epoch, h->base_sequence,
                  kafka_error_name(err));
}

/* Validates and appends one partition's records. Returns a Kafka error code. */
static int16_t produce_one(req_ctx *c, topic *t, produce_part *pp, int16_t acks, bool confirmed,
                           size_t *inflate_budget,
                           int64_t now, partition **p_out, int64_t *end_out)
{
    broker *b = c->b;
    if (pp->index < 0 || pp->index >= t->npartitions)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    partition *p = t->parts[pp->index];
    const char *who = net_conn_peer(c->nr->conn);
    int16_t lerr = cluster_leader_error(b, kslice_cstr(t->name), pp->index);
    if (lerr != KERR_NONE)
        return lerr;
    if (p->log->failed)
        return KERR_KAFKA_STORAGE_ERROR;
    int16_t rerr;
    if (!replica_check_produce(b, p, acks, &rerr)) {
        rb_header rh;
        if (rerr == KERR_NOT_ENOUGH_REPLICAS && pp->records.len > 0 &&
            rb_parse_header(pp->records.p, (size_t)pp->records.len, &rh) == RB_OK)
            log_producer_refused(p->log, &rh);
        return rerr;
    }
    if (t->internal) {
        LOG_WARN("broker", "%s: produce to internal topic %s refused", who, t->name);
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    kslice rec = pp->records;
    if (rec.len <= 0) {
        LOG_WARN("broker", "%s: produce to %s: empty record set", who, p->log->name);
        return KERR_INVALID_RECORD;
    }
    if (rec.len > t->policy.max_message_bytes)
        return KERR_MESSAGE_TOO_LARGE;
    rb_header h;
    if (rb_parse_header(rec.p, (size_t)rec.len, &h) != RB_OK || h.length < 0) {
        LOG_WARN("broker", "%s: produce to %s: %d bytes are not a record batch", who,
                 p->log->name, rec.len);
        return KERR_CORRUPT_MESSAGE;
    }
    if (h.magic == 2 && h.length >= 0 && rb_total_size(&h) < (size_t)rec.len) {
        LOG_WARN("broker", "%s: produce to %s: more than one batch", who, p->log->name);
        return KERR_INVALID_RECORD;
    }
    int rc = rb_validate(rec.p, (size_t)rec.len, &h);
    if (rc != RB_OK) {
        LOG_WARN("broker", "%s: produce to %s: bad batch: %s", who, p->log->name,
                 rb_result_name(rc));
        return map_batch_error(rc);
    }
    if (h.attributes & RB_ATTR_CONTROL) {
        LOG_WARN("broker", "%s: produce to %s: clients cannot write control batches", who,
                 p->log->name);
        return KERR_INVALID_RECORD;
    }
    batch_records recs;
    int16_t kerr = check_compressed(pp, &h, rec, inflate_budget,
                                    t->policy.compact || timestamps_bounded(t), &recs);
    if (kerr != KERR_NONE) {
        LOG_WARN("broker", "%s: produce to %s: compressed batch refused: %s", who, p->log->name,
                 kafka_error_name(kerr));
        return kerr;
    }
    kerr = t->policy.compact ? check_keys(c, t, pp, &h, &recs) : KERR_NONE;
    if (kerr == KERR_NONE)
        kerr = check_timestamps(c, t, pp, &h, &recs);
    free(recs.owned);
    if (kerr != KERR_NONE)
        return kerr;
    if (h.producer_id >= 0) {
        /* Idempotence and the partition side of transactions (pstate.h): a transactional
         * batch is accepted only for a partition the coordinator has in the producer's
         * ongoing transaction at this epoch, and not after the partition prepared. */
        bool txn = (h.attributes & RB_ATTR_TRANSACTIONAL) != 0;
        bool verified = txn && (confirmed || cluster_txn_verified(b, p, h.producer_id,
                                                                  h.producer_epoch, t->name,
                                                                  pp->index));
        int64_t dup;
        int16_t err;
        int verdict = log_producer_check(p->log, &h, verified, &dup, &err);
        if (verdict == PS_REJECT) {
            log_rejected_batch(who, p, &h, err);
            return err;
        }
        if (verdict == PS_DUPLICATE) {
            /* A retry: answer with the original offset, once that batch is durable. */
            pp->base_offset = dup;
            pp->log_append_time = -1;
            *end_out = dup + h.last_offset_delta + 1;
            *p_out = p;
            return KERR_NONE;
        }
    }
    int16_t serr = stored_batch(c, t, &h, &rec);
    if (serr != KERR_NONE)
        return serr;
    int64_t base;
    rc = log_append(p->log, (uint8_t *)rec.p, (size_t)rec.len, &h, now, &base);
    if (rc == LOG_ERR_TOO_LARGE)
        return KERR_RECORD_LIST_TOO_LARGE; /* larger than a whole segment, as Kafka says */
    if (rc != LOG_OK)
        return KERR_KAFKA_STORAGE_ERROR;
    store_mark_dirty(b->store, p);
    b->produced_records += (uint64_t)h.last_offset_delta + 1;
    b->produced_bytes += (uint64_t)rec.len;
    pp->base_offset = base;
    pp->log_append_time = t->logcfg.log_append_time ? now : -1;
    *p_out = p;
    *end_out = p->log->log_end_offset;
    return KERR_NONE;
}

static void produce_reply(req_ctx *c, produce_req *q)
{
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++) {
            produce_part *pp = &q->topics[i].parts[k];
            if (pp->error_code != KERR_NONE)
                pp->base_offset = -1;
        }
    resp_begin(&c->nr->resp, &c->h);
    produce_resp_encode(&c->nr->resp, c->h.api_version, q);
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

static void produce_append_all(req_ctx *c, produce_op *op);
static void fifo_run(broker *b, const net_conn *conn);
static bool start_verification(req_ctx *c, produce_op *op, int total);
static bool ask_coordinator(req_ctx *c, produce_op *op, int total);

typedef struct verify_ctx {
    produce_op *op;
    int flat;
} verify_ctx;

/* The coordinator's answer for one partition's first transactional batch: confirmed (or
 * added, Produce v12+), or the error that batch gets. */
static void verify_answered(void *ctx, int16_t err)
{
    verify_ctx *v = ctx;
    produce_op *op = v->op;
    switch (err) {
    case KERR_NOT_COORDINATOR:
    case KERR_COORDINATOR_NOT_AVAILABLE:
    case KERR_COORDINATOR_LOAD_IN_PROGRESS:
    case KERR_CONCURRENT_TRANSACTIONS:
        err = KERR_REQUEST_TIMED_OUT; /* leadership moving, an end in progress: retry */
        break;
    case KERR_PRODUCER_FENCED:
        err = KERR_INVALID_PRODUCER_EPOCH; /* Produce's name for it */
        break;
    case KERR_INVALID_TXN_STATE:
        /* v12+ (transactions v2): the transaction cannot take this partition (it is being
         * aborted, or timed out): the client aborts and goes on (KIP-890). */
        if (op->c->h.api_version >= 12)
            err = KERR_TRANSACTION_ABORTABLE;
        break;
    default: break;
    }
    op->verdict[v->flat] = err == KERR_NONE ? VERDICT_CONFIRMED : err;
    op->verifying--;
    if (!op->starting)
        fifo_run(op->c->b, op->c->nr->conn);
}

/* Cluster mode keeps each connection's produces in arrival order while some wait for
 * verification: a later batch must not be appended before an earlier one of the same
 * producer. Runs the connection's queue head by head until one has to wait. */
static void fifo_run(broker *b, const net_conn *conn)
{
    for (int rounds = 0; rounds < 1000000; rounds++) {
        produce_op **pp = &b->produce_fifo;
        while (*pp && (*pp)->c->nr->conn != conn)
            pp = &(*pp)->fnext;
        produce_op *op = *pp;
        if (!op || op->verifying > 0)
            return;
        if (!op->started) {
            op->started = true;
            int total = 0;
            for (int32_t i = 0; i < op->q.ntopics; i++)
                total += op->q.topics[i].nparts;
            if (!b->stopping && start_verification(op->c, op, total))
                return;
        }
        *pp = op->fnext;
        produce_append_all(op->c, op);
    }
}

/* The transactional batches that start a transaction on a partition: ask the coordinator
 * first, when it is another node (to verify: AddPartitionsToTxn v5 with VerifyOnly), or with
 * Produce v12+ (transactions v2) to add the partition to the transaction, wherever it is.
 * Returns true if answers are awaited. */
static bool start_verification(req_ctx *c, produce_op *op, int total)
{
    /* One node below Produce v12: the coordinator is here and answers synchronously in
     * produce_one, so no batch can wait: the hot path skips the walk over the batches. */
    if (!broker_clustered(c->b) && c->h.api_version < 12)
        return false;
    op->starting = true;
    bool waiting = ask_coordinator(c, op, total);
    op->starting = false;
    return waiting;
}

static bool ask_coordinator(req_ctx *c, produce_op *op, int total)
{
    broker *b = c->b;
    produce_req *q = &op->q;
    bool add = c->h.api_version >= 12;
    const char *txn_id = q->transactional_id.len > 0
                             ? arena_strndup(&c->nr->arena, q->transactional_id.p,
                                             (size_t)q->transactional_id.len)
                             : NULL;
    int flat = 0;
    for (int32_t i = 0; i < q->ntopics; i++) {
        topic *t = op->denied && op->denied[i] ? NULL : md_find(&b->md, q->topics[i].name);
        for (int32_t k = 0; k < q->topics[i].nparts; k++, flat++) {
            produce_part *pp = &q->topics[i].parts[k];
            rb_header h;
            if (!t || pp->index < 0 || pp->index >= t->npartitions || pp->records.len <= 0 ||
                rb_parse_header(pp->records.p, (size_t)pp->records.len, &h) != RB_OK ||
                h.producer_id < 0 || !(h.attributes & RB_ATTR_TRANSACTIONAL) ||
                (h.attributes & RB_ATTR_CONTROL) ||
                cluster_leader_error(b, kslice_cstr(t->name), pp->index) != KERR_NONE ||
                !cluster_txn_needs_join(b, t->parts[pp->index], h.producer_id,
                                        h.producer_epoch, t->name, pp->index, add))
                continue;
            if (!op->verdict) {
                op->verdict = arena_alloc(&c->nr->arena, sizeof(int16_t) * (size_t)total);
                op->guard = arena_alloc(&c->nr->arena, sizeof(verify_guard) * (size_t)total);
                if (!op->verdict || !op->guard)
                    return false;
                memset(op->verdict, 0, sizeof(int16_t) * (size_t)total);
                memset(op->guard, 0, sizeof(verify_guard) * (size_t)total);
            }
            op->guard[flat] = guard_of(t->parts[pp->index], h.producer_id);
            verify_ctx *v = arena_alloc(&c->nr->arena, sizeof(*v));
            int16_t err = v ? KERR_NONE : KERR_REQUEST_TIMED_OUT;
            if (v) {
                *v = (verify_ctx){op, flat};
                op->verifying++;
                err = cluster_txn_join(b, &c->nr->arena, txn_id, h.producer_id,
                                       h.producer_epoch, t->name, pp->index, !add,
                                       verify_answered, v);
                if (err != KERR_NONE)
                    op->verifying--;
            }
            if (err != KERR_NONE)
                op->verdict[flat] = err;
        }
    }
    return op->verifying > 0;
}

/* ACLs: WRITE on the transactional id (else every partition is refused
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED and the request answered now: returns -1) and on
 * each topic (else its partitions get TOPIC_AUTHORIZATION_FAILED; nothing of it is written). */
static int produce_authorize(req_ctx *c, produce_op *op)
{
    op->denied = NULL;
    if (!broker_authz_on(c->b))
        return 0;
    produce_req *q = &op->q;
    bool txn_ok = q->transactional_id.len <= 0 ||
                  broker_may_slice(c, ACL_OP_WRITE, ACL_RES_TXN_ID, q->transactional_id);
    op->denied = arena_alloc(&c->nr->arena, (size_t)q->ntopics + 1);
    if (!op->denied) {
        net_request_fail(c->nr, "out of memory");
        return -1;
    }
    for (int32_t i = 0; i < q->ntopics; i++) {
        op->denied[i] = txn_ok && !broker_may_slice(c, ACL_OP_WRITE, ACL_RES_TOPIC,
                                                    q->topics[i].name);
        for (int32_t k = 0; !txn_ok && k < q->topics[i].nparts; k++)
            q->topics[i].parts[k].error_code = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    }
    if (txn_ok)
        return 0;
    if (q->acks == 0) {
        c->nr->no_response = true;
        net_request_done(c->nr);
    } else {
        produce_reply(c, q);
    }
    return -1;
}

void handle_produce(req_ctx *c)
{
    arena *a = &c->nr->arena;
    produce_op *op = arena_alloc(a, sizeof(*op));
    if (!op || produce_req_decode(&c->body, c->h.api_version, a, &op->q) != 0) {
        broker_reply_malformed(c, "Produce");
        return;
    }
    produce_req *q = &op->q;
    /* Quotas count the whole request, as Kafka does; a client over its quota is answered
     * at once with the throttle time and its connection muted that long (KIP-219). */
    q->throttle_time_ms = broker_quota_produce(c, c->nr->len);
    /* v13+: topics by id; an id no topic has leaves a null name (UNKNOWN_TOPIC_ID below). */
    if (q->by_id && q->ntopics > 0 &&
        cluster_resolve_topic_ids(c->b, q->ntopics, &q->topics[0].name, q->topics[0].id,
                                  sizeof(produce_topic), a) != 0) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts && q->topics[i].name.len > 0; k++)
            cluster_refresh_if_unknown(c->b, q->topics[i].name, q->topics[i].parts[k].index);
    if (produce_authorize(c, op) != 0)
        return;
    op->verdict = NULL;
    op->verifying = 0;
    op->starting = false;
    op->c = c;
    op->n = 0;
    int total = 0;
    for (int32_t i = 0; i < q->ntopics; i++)
        total += q->topics[i].nparts;
    op->w = arena_alloc(a, sizeof(produce_wait) * (size_t)(total ? total : 1));
    if (!op->w) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    /* A batch may first wait for the coordinator (in a cluster; for transactions v2 also on
     * one node): the connection's produces keep their order through the fifo. */
    produce_op **pp = &c->b->produce_fifo;
    while (*pp)
        pp = &(*pp)->fnext;
    op->started = false;
    op->fnext = NULL;
    *pp = op;
    fifo_run(c->b, c->nr->conn);
}

/* Appends every partition's batch, then answers or parks the request. */
static void produce_append_all(req_ctx *c, produce_op *op)
{
    broker *b = c->b;
    produce_req *q = &op->q;
    bool bad_acks = q->acks != 0 && q->acks != 1 && q->acks != -1;
    int64_t now = clock_wall_ms();
    size_t inflate_budget = PRODUCE_REQUEST_MAX_INFLATED;
    int flat = 0;
    for (int32_t i = 0; i < q->ntopics; i++) {
        produce_topic *pt = &q->topics[i];
        topic *t = md_find(&b->md, pt->name);
        /* v13+: the name must still belong to the id asked for (not a topic recreated
         * under that name while the request waited). */
        bool id_gone = q->by_id && (!t || !cluster_topic_has_id(b, pt->name, pt->id));
        if (id_gone)
            t = NULL;
        for (int32_t k = 0; k < pt->nparts; k++, flat++) {
            produce_part *pp = &pt->parts[k];
            partition *p = NULL;
            int64_t end = -1;
            int16_t verdict = op->verdict ? op->verdict[flat] : 0;
            /* A void confirmation counts as none (sim_repl_txn --no-verify-guard). */
            if (verdict == VERDICT_CONFIRMED && t && !guard_holds(&op->guard[flat], t, pp->index))
                verdict = KERR_INVALID_TXN_STATE;
            if (op->denied && op->denied[i])
                pp->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            else if (bad_acks)
                pp->error_code = KERR_INVALID_REQUIRED_ACKS;
            else if (b->stopping)
                pp->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
            else if (!t)
                pp->error_code = id_gone ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (verdict != 0 && verdict != VERDICT_CONFIRMED &&
                     verdict != KERR_INVALID_TXN_STATE)
                pp->error_code = verdict;
            /* Not confirmed: the partition's own checks (epoch, sequence) speak first, then
             * the missing confirmation refuses it. */
            else
                pp->error_code = produce_one(c, t, pp, q->acks, verdict == VERDICT_CONFIRMED,
                                             &inflate_budget, now, &p, &end);
            if (p) {
                pp->log_start_offset = p->log->log_start_offset;
                op->w[op->n++] = (produce_wait){p, end, pp};
            }
        }
    }
    /* The request (and op, in its arena) is freed once answered: decide first. */
    bool appended = op->n > 0;
    bool replicated = false; /* acks=all on a replicated partition waits in any mode */
    for (int i = 0; i < op->n && q->acks == -1; i++)
        replicated = replicated || op->w[i].p->replicated;
    if (q->acks == 0) {
        c->nr->no_response = true;
        net_request_done(c->nr);
    } else if (!appended || (!b->cfg.flush_sync && !replicated)) {
        produce_reply(c, q);
    } else {
        op->c = c;
        op->deadline_ms = clock_mono_us() / 1000 + (q->timeout_ms > 0 ? q->timeout_ms : 30000);
        DL_APPEND(b->produces, op);
        /* A retried batch whose original is already durable needs no new fsync, and on an
         * idle broker none would come: answer now if everything is durable. */
        produce_on_progress(b);
        return;
    }
    if (appended && !b->cfg.flush_sync)
        fetch_on_progress(b); /* interval mode: the high watermark moved on append */
}

/* How far a produce's batches count as done: durable on this node; with acks=all on a
 * replicated partition, below the high watermark over the in-sync replicas. */
static int64_t produce_reached(const broker *b, const produce_op *op, const partition *p)
{
    if (op->q.acks == -1 && p->replicated)
        return store_high_watermark(b->store, p);
    return b->cfg.flush_sync ? p->log->durable_offset : p->log->log_end_offset;
}

/* Answers every parked produce whose batches are all done (or whose log failed). */
void produce_on_progress(broker *b)
{
    produce_op *op, *tmp;
    DL_FOREACH_SAFE(b->produces, op, tmp) {
        bool ready = true;
        for (int i = 0; i < op->n && ready; i++) {
            produce_wait *w = &op->w[i];
            if (w->p && !w->p->log->failed && produce_reached(b, op, w->p) < w->end)
                ready = false;
        }
        if (!ready)
            continue;
        DL_DELETE(b->produces, op);
        for (int i = 0; i < op->n; i++) {
            produce_wait *w = &op->w[i];
            if (w->p && w->p->log->failed && w->p->log->durable_offset < w->end) {
                /* Written but never made durable: not acknowledged. */
                w->pp->error_code = KERR_KAFKA_STORAGE_ERROR;
            }
        }
        produce_reply(op->c, &op->q);
    }
}

void produce_forget_partition(broker *b, partition *p)
{
    for (produce_op *op = b->produces; op; op = op->next)
        for (int i = 0; i < op->n; i++)
            if (op->w[i].p == p) {
                op->w[i].p = NULL;
                op->w[i].pp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            }
    produce_on_progress(b);
}

void produce_drain(broker *b)
{
    while (b->produces) {
        produce_op *op = b->produces;
        DL_DELETE(b->produces, op);
        /* Not reached is not acknowledged: for acks=all on a replicated partition that
         * means below the high watermark, not only durable here (a record this node
         * holds alone is lost if another replica takes over). */
        for (int i = 0; i < op->n; i++)
            if (op->w[i].p && produce_reached(b, op, op->w[i].p) < op->w[i].end)
                op->w[i].pp->error_code = KERR_REQUEST_TIMED_OUT;
        produce_reply(op->c, &op->q);
    }
}

void produce_fail_partition(broker *b, partition *p, int16_t err)
{
    for (produce_op *op = b->produces; op; op = op->next)
        for (int i = 0; i < op->n; i++)
            if (op->w[i].p == p && produce_reached(b, op, p) < op->w[i].end) {
                op->w[i].p = NULL;
                op->w[i].pp->error_code = err;
            }
    produce_on_progress(b);
}

/* Kafka's produce timeout: an acks=all produce whose records the in-sync replicas have not
 * all made durable within the request's timeout_ms is answered REQUEST_TIMED_OUT (the
 * records may still become committed later, as in Kafka). */
void produce_expire(broker *b)
{
    int64_t now = clock_mono_us() / 1000;
    bool any = false;
    for (produce_op *op = b->produces; op; op = op->next) {
        if (op->q.acks != -1 || now < op->deadline_ms)
            continue;
        for (int i = 0; i < op->n; i++)
            if (op->w[i].p && op->w[i].p->replicated &&
                produce_reached(b, op, op->w[i].p) < op->w[i].end) {
                op->w[i].p = NULL;
                op->w[i].pp->error_code = KERR_REQUEST_TIMED_OUT;
                any = true;
            }
    }
    if (any)
        produce_on_progress(b);
}
