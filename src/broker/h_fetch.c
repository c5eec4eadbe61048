/* h_fetch.c - Fetch (with long poll), ListOffsets and OffsetForLeaderEpoch.
 * Consumers only ever see offsets below the high watermark: in sync mode that is the
 * durable end, so a record is never served before it is acknowledged-safe. */
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "proto/errors.h"
#include "proto/msgs.h"

/* One partition's leader lookup, kept while b->route_gen stays what it was: a follower's
 * fetch names every partition it follows (a hundred with the internal topics) and is
 * looked at several times (its progress, readiness, the answer, each wake-up). */
typedef struct fetch_slot {
    uint64_t gen; /* b->route_gen + 1 when filled; 0: empty */
    partition *p;
    int32_t epoch;
    int16_t err;
    bool denied; /* READ not authorized (ACLs): TOPIC_AUTHORIZATION_FAILED */
} fetch_slot;

typedef struct fetch_op {
    struct fetch_op *prev, *next; /* b->fetches (utlist DL): arrival order */
    req_ctx *c;
    fetch_req q;
    fetch_slot *slots; /* one per partition of q, in order (request arena) */
    int16_t err;       /* the answer's top-level error (a fetch session refused) */
    bool incremental;  /* a session's incremental fetch: fsess_end filters the answer */
    uv_timer_t *timer; /* malloc'd: libuv owns it until its close callback */
} fetch_op;

/* The partition this node leads, once the client's current leader epoch (-1: not checked)
 * passes KIP-320 fencing; otherwise NULL with *err set (UNKNOWN_TOPIC_OR_PARTITION,
 * NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_LEADER_EPOCH, FENCED_LEADER_EPOCH).
 * Fetch and OffsetForLeaderEpoch share it. */
static partition *at_epoch(partition *p, int32_t epoch, int32_t current_leader_epoch,
                           int16_t *err)
{
    if (!p)
        return NULL;
    if (current_leader_epoch > epoch) {
        *err = KERR_UNKNOWN_LEADER_EPOCH; /* the client knows a newer leader */
        return NULL;
    }
    if (current_leader_epoch >= 0 && current_leader_epoch < epoch) {
        *err = KERR_FENCED_LEADER_EPOCH; /* its metadata is stale */
        return NULL;
    }
    return p;
}

static partition *led_partition_at_epoch(broker *b, kslice topic, int32_t index,
                                         int32_t current_leader_epoch, int16_t *err)
{
    int32_t epoch;
    partition *p = broker_led_partition(b, topic, index, err, &epoch);
    return at_epoch(p, epoch, current_leader_epoch, err);
}

/* led_partition_at_epoch for the flat-th partition of a fetch, through its slot. A v13+
 * fetch names its topic by id (id; NULL below v13): the name it was resolved to must still
 * be that topic's, or the answer is UNKNOWN_TOPIC_ID, never another topic's records (one
 * deleted and recreated under the name has a new id). */
static partition *fetch_led(broker *b, fetch_op *op, int flat, kslice topic,
                            const uint8_t *id, int32_t index, int32_t current_leader_epoch,
                            int16_t *err)
{
    fetch_slot *s = &op->slots[flat];
    if (s->denied) {
        *err = KERR_TOPIC_AUTHORIZATION_FAILED;
        return NULL;
    }
    if (s->gen != b->route_gen + 1) {
        if (topic.len < 0 || (id && !cluster_topic_has_id(b, topic, id))) {
            s->p = NULL; /* an id nobody has (or a null name, below v13) */
            s->err = id ? KERR_UNKNOWN_TOPIC_ID : KERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else {
            s->p = broker_led_partition(b, topic, index, &s->err, &s->epoch);
        }
        s->gen = b->route_gen + 1;
    }
    *err = s->err;
    return at_epoch(s->p, s->epoch, current_leader_epoch, err);
}

/* The partition a fetch entry names, or NULL with an error code set in fp.
 * A v12+ fetcher names the epoch of the last batch it holds (LastFetchedEpoch). When our
 * history says that epoch ended before its fetch offset, or that we never had it, its log
 * has diverged from ours (KIP-595, as Kafka's Partition.readRecords): *diverged is set and
 * fp->diverging_epoch gets the largest epoch we know at or below its epoch and where it
 * ends here, so it can truncate; such a partition is answered at once and gets no
 * records. */
static partition *fetch_target(broker *b, fetch_op *op, int flat, const fetch_topic *ft,
                               fetch_part *fp, bool *diverged)
{
    *diverged = false;
    fp->diverging_epoch = (fetch_epoch_end){-1, -1};
    const uint8_t *id = op->q.by_id ? ft->id : NULL;
    partition *p = fetch_led(b, op, flat, ft->name, id, fp->index, fp->current_leader_epoch,
                             &fp->error_code);
    if (!p)
        return NULL;
    /* Below the log start is out of range whether or not the logs diverge. */
    if (fp->fetch_offset < p->log->log_start_offset) {
        fp->error_code = KERR_OFFSET_OUT_OF_RANGE;
        return NULL;
    }
    if (fp->last_fetched_epoch >= 0) {
        int32_t epoch;
        int64_t end;
        log_epoch_end_offset(p->log, fp->last_fetched_epoch, &epoch, &end);
        if (epoch < 0 || end < 0) {
            /* No end known for an epoch at or below it ({-1, -1} would be DivergingEpoch's
             * default, i.e. not sent): Kafka answers OFFSET_OUT_OF_RANGE. */
            fp->error_code = KERR_OFFSET_OUT_OF_RANGE;
            return NULL;
        }
        if (epoch != fp->last_fetched_epoch || end < fp->fetch_offset) {
            fp->diverging_epoch = (fetch_epoch_end){epoch, end};
            *diverged = true;
            return p;
        }
    }
    /* Checked after divergence: a diverged fetcher may be past our log end. */
    if (fp->fetch_offset > p->log->log_end_offset) {
        fp->error_code = KERR_OFFSET_OUT_OF_RANGE;
        return NULL;
    }
    return p;
}

/* The offset (exclusive) below which data makes this fetch ready: the last stable offset
 * for read_committed, the high watermark otherwise. A follower replicating reads to the
 * log end (it is how records become committed), but is woken only for data below
 * wake_end: a lazily written record alone (a transaction's completion) waits for the next
 * one that is waited for, so the follower fsyncs both at once, or for the fetch's
 * max wait. */
static int64_t fetch_upper(broker *b, const fetch_req *q, partition *p)
{
    if (q->replica_id >= 0)
        return p->wake_end < p->log->log_end_offset ? p->wake_end : p->log->log_end_offset;
    int64_t hw = store_high_watermark(b->store, p);
    return q->isolation_level == 1 ? log_last_stable_offset(p->log, hw) : hw;
}

/* Whether this fetch is to be answered now: min_bytes are ready, or some partition must
 * be answered at once (error). Stops at the first that decides it: a follower's fetch
 * lists every partition it follows (the internal topics: a hundred). */
static bool fetch_ready(broker *b, fetch_op *op)
{
    fetch_req *q = &op->q;
    uint64_t total = 0;
    uint64_t min_bytes = (uint64_t)(q->min_bytes > 0 ? q->min_bytes : 1);
    int flat = 0;
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++, flat++) {
            fetch_part *fp = &q->topics[i].parts[k];
            bool diverged;
            partition *p = fetch_target(b, op, flat, &q->topics[i], fp, &diverged);
            if (!p || diverged || fp->error_code != KERR_NONE)
                return true;
            total += log_bytes_between(p->log, fp->fetch_offset, fetch_upper(b, q, p));
            if (total >= min_bytes)
                return true;
        }
    return false;
}

/* The offset after the last batch of data (the end of its aborted list). */
static int64_t data_end_offset(int64_t from, const uint8_t *data, size_t len)
{
    int64_t last = from - 1;
    size_t off = 0;
    while (off + RB_HEADER_SIZE <= len) {
        rb_header h;
        if (rb_parse_header(data + off, len - off, &h) != RB_OK)
            break;
        last = rb_last_offset(&h);
        off += rb_total_size(&h);
    }
    return last + 1;
}

/* read_committed: the aborted transactions overlapping [fetch_offset, end), sorted by first
 * offset, so the client drops their records (it skips up to the ABORT marker). */
static void fill_aborted(partition *p, fetch_part *fp, int64_t end, arena *a)
{
    aborted_txn *ab;
    size_t n;
    if (log_aborted_between(p->log, fp->fetch_offset, end, a, &ab, &n) != LOG_OK || n == 0)
        return;
    fp->aborted = arena_alloc(a, sizeof(fetch_aborted) * n);
    if (!fp->aborted)
        return;
    for (size_t i = 0; i < n; i++)
        fp->aborted[i] = (fetch_aborted){ab[i].pid, ab[i].first_offset};
    fp->naborted = (int32_t)n;
}

/* A copied read (a TLS connection, or below fetch.sendfile.min.bytes) of at least this
 * many bytes asks for the same readahead as a sendfile one: a reader behind the cached
 * tail over TLS would otherwise read every cold page on the event loop. Small reads, at
 * the tail, skip it. */
#define FETCH_COPY_READAHEAD_MIN (64u << 10)

/* Reads one partition's records for the answer: by file span (sendfile) when the
 * connection is plaintext and at least fetch.sendfile.min.bytes would go, else copied into
 * the arena. *end_out gets the offset after the last batch read. */
static int fetch_read(broker *b, req_ctx *c, partition *p, fetch_part *fp, int64_t upper,
                      size_t limit, bool min_one, wr_file_span *span, int64_t *end_out)
{
    int64_t min = b->cfg.fetch_sendfile_min;
    if (span && min > 0) {
        uint64_t avail = log_bytes_between(p->log, fp->fetch_offset, upper);
        if ((avail < limit ? avail : limit) >= (uint64_t)min) {
            int rc = log_read_span(p->log, fp->fetch_offset, upper, limit, min_one, span,
                                   end_out);
            if (rc == LOG_OK && span->len > 0) {
                fp->records = (kslice){(const uint8_t *)span, (int32_t)span->len};
                store_readahead(b->store, p, span);
            }
            return rc;
        }
    }
    uint8_t *data;
    size_t len;
    wr_file_span where;
    int rc = log_read_where(p->log, fp->fetch_offset, upper, limit, min_one, &c->nr->arena,
                            &data, &len, &where);
    if (rc == LOG_OK && len > 0) {
        fp->records = (kslice){data, (int32_t)len};
        *end_out = data_end_offset(fp->fetch_offset, data, len);
        if (len >= FETCH_COPY_READAHEAD_MIN)
            store_readahead(b->store, p, &where);
    }
    return rc;
}

/* Fetch v16+ (KIP-951, as Kafka): a partition answered NOT_LEADER_OR_FOLLOWER or
 * FENCED_LEADER_EPOCH names its leader and epoch (CurrentLeader), and the response lists
 * those leaders' endpoints (NodeEndpoints), so the client goes there without a Metadata
 * round trip. Cluster mode only (a single node leads everything). The endpoints borrow
 * b->view: the response is encoded before anything can replace it. */
static void fill_current_leaders(req_ctx *c, fetch_req *q, arena *a)
{
    const cluster_view *v = c->b->view;
    md_broker *eps = v ? arena_alloc(a, sizeof(md_broker) * (size_t)(v->nbrokers + 1)) : NULL;
    int32_t n = 0;
    for (int32_t i = 0; eps && i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++) {
            fetch_part *fp = &q->topics[i].parts[k];
            kslice name = q->topics[i].name;
            if (fp->error_code != KERR_NOT_LEADER_OR_FOLLOWER &&
                fp->error_code != KERR_FENCED_LEADER_EPOCH)
                continue;
            const cv_topic *ct = name.len > 0 ? cv_topic_find(v, (const char *)name.p,
                                                              (size_t)name.len)
                                              : NULL;
            if (!ct || fp->index < 0 || fp->index >= ct->nparts || ct->parts[fp->index].leader < 0)
                continue;
            const cv_part *cp = &ct->parts[fp->index];
            fp->current_leader = (fetch_leader){cp->leader, cp->leader_epoch};
            const cv_broker *nb = cv_broker_find(v, cp->leader);
            bool listed = false;
            for (int32_t e = 0; e < n; e++)
                listed = listed || eps[e].node_id == cp->leader;
            if (nb && !listed && n < v->nbrokers)
                eps[n++] = broker_node_address(c, nb);
        }
    q->nnode_endpoints = n;
    q->node_endpoints = eps;
}

/* Over its fetch quota: the answer goes out without records (Kafka sends it empty), the
 * offsets and errors kept; the client fetches the same offsets again after the throttle. */
static void fetch_throttled(fetch_req *q)
{
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++) {
            fetch_part *fp = &q->topics[i].parts[k];
            fp->records = KSLICE_NULL;
            fp->naborted = q->isolation_level == 1 ? 0 : -1;
        }
}

/* Reads every partition's data and sends the response. */
static void fetch_reply(req_ctx *c, fetch_op *op)
{
    fetch_req *q = &op->q;
    broker *b = c->b;
    int flat = 0;
    arena *a = &c->nr->arena;
    size_t budget = q->max_bytes > 0 ? (size_t)q->max_bytes : 0;
    /* A consumer with a fetch quota gets at most what one window allows (Kafka's
     * getMaxValueInQuotaWindow), so a single answer never exceeds it on its own. */
    int64_t quota_max = q->replica_id < 0 ? broker_quota_fetch_max(c) : -1;
    if (quota_max >= 0 && (size_t)quota_max < budget)
        budget = (size_t)quota_max;
    bool have_data = false;
    uint64_t sent = 0;
    /* stand-ins for the records that go out by sendfile (wr_file_span), one per partition */
    size_t nparts = 0, nspans = 0;
    for (int32_t i = 0; i < q->ntopics; i++)
        nparts += (size_t)q->topics[i].nparts;
    wr_file_span *spans = b->cfg.fetch_sendfile_min > 0 && net_conn_plaintext(c->nr->conn) &&
                                  nparts > 0
                              ? arena_alloc(a, nparts * sizeof(*spans))
                              : NULL;
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++, flat++) {
            fetch_part *fp = &q->topics[i].parts[k];
            fp->records = KSLICE_NULL;
            bool diverged;
            partition *p = fetch_target(b, op, flat, &q->topics[i], fp, &diverged);
            if (p && fp->error_code != KERR_NONE)
                p = NULL; /* refused for this follower (replica_leader_fetch) */
            if (p) {
                fp->high_watermark = store_high_watermark(b->store, p);
                fp->last_stable_offset = log_last_stable_offset(p->log, fp->high_watermark);
                fp->resp_log_start_offset = p->log->log_start_offset;
            } else {
                fp->high_watermark = fp->last_stable_offset = fp->resp_log_start_offset = -1;
            }
            /* read_committed gets an (empty) aborted list, read_uncommitted null. */
            fp->naborted = q->isolation_level == 1 ? 0 : -1;
            if (!p || diverged)
                continue;
            size_t limit = fp->partition_max_bytes > 0 ? (size_t)fp->partition_max_bytes : 0;
            if (limit > budget)
                limit = budget;
            int64_t upper = q->replica_id >= 0        ? p->log->log_end_offset
                            : q->isolation_level == 1 ? fp->last_stable_offset
                                                      : fp->high_watermark;
            int64_t end;
            int rc = fetch_read(b, c, p, fp, upper, limit, !have_data,
                                spans ? &spans[nspans] : NULL, &end);
            if (rc != LOG_OK) {
                LOG_ERROR("broker", "fetch %s at %lld: %s", p->log->name,
                          (long long)fp->fetch_offset, log_result_name(rc));
                fp->error_code = rc == LOG_ERR_OUT_OF_RANGE ? KERR_OFFSET_OUT_OF_RANGE
                                                             : KERR_KAFKA_STORAGE_ERROR;
                continue;
            }
            size_t len = fp->records.len > 0 ? (size_t)fp->records.len : 0;
            if (len > 0) {
                if (spans && fp->records.p == (const uint8_t *)&spans[nspans])
                    nspans++;
                have_data = true;
                sent += len;
                budget -= len < budget ? len : budget;
                if (q->isolation_level == 1)
                    fill_aborted(p, fp, end, a);
            }
        }
    if (q->replica_id < 0 && (q->throttle_time_ms = broker_quota_fetch(c, sent)) > 0) {
        fetch_throttled(q);
        sent = 0;
    }
    fsess_end(b->fetch_sessions, q, op->incremental);
    if (c->h.api_version >= 16)
        fill_current_leaders(c, q, a);
    int kind = q->replica_id >= 0 ? 1 : 0;
    b->fetched_bytes[kind] += sent;
    b->fetch_requests[kind]++;
    resp_begin(&c->nr->resp, &c->h);
    wr_set_spans(&c->nr->resp, spans, nspans);
    fetch_resp_encode(&c->nr->resp, c->h.api_version, q, op->err);
    wr_set_spans(&c->nr->resp, NULL, 0);
    resp_end(&c->nr->resp);
    b->fetch_sendfile_parts += c->nr->resp.nsplices;
    net_request_done(c->nr); /* dups the spans' descriptors: the log's may go after this */
}

static void timer_free(uv_handle_t *h) { free(h); }

static void fetch_unpark(broker *b, fetch_op *op)
{
    DL_DELETE(b->fetches, op);
    uv_timer_stop(op->timer);
    uv_close((uv_handle_t *)op->timer, timer_free);
}

static void fetch_on_timeout(uv_timer_t *t)
{
    fetch_op *op = t->data;
    broker *b = op->c->b;
    fetch_unpark(b, op);
    fetch_reply(op->c, op);
}

/* A follower's fetch reports what it holds durably (its fetch offsets): tell each
 * partition's replication state once, then answer whatever waits on a high watermark. */
static void follower_progress(broker *b, fetch_op *op)
{
    fetch_req *q = &op->q;
    int flat = 0;
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++, flat++) {
            fetch_part *fp = &q->topics[i].parts[k];
            bool diverged;
            partition *p = fetch_target(b, op, flat, &q->topics[i], fp, &diverged);
            if (!p || diverged)
                continue;
            fp->error_code = replica_leader_fetch(b, p, q->replica_id, fp->current_leader_epoch,
                                                  fp->fetch_offset);
        }
    broker_on_progress(b);
}

/* ACLs: a consumer needs READ on each topic, a follower CLUSTER_ACTION; a partition
 * refused is answered TOPIC_AUTHORIZATION_FAILED without records. */
static void fetch_authorize(req_ctx *c, fetch_op *op)
{
    if (!broker_authz_on(c->b))
        return;
    bool follower = op->q.replica_id >= 0;
    bool cluster_ok = follower && broker_may_cluster(c, ACL_OP_CLUSTER_ACTION);
    int flat = 0;
    for (int32_t i = 0; i < op->q.ntopics; i++) {
        const fetch_topic *t = &op->q.topics[i];
        bool ok = follower ? cluster_ok
                           : broker_may_slice(c, ACL_OP_READ, ACL_RES_TOPIC, t->name);
        for (int32_t k = 0; k < t->nparts; k++)
            op->slots[flat++].denied = !ok;
    }
}

void handle_fetch(req_ctx *c)
{
    broker *b = c->b;
    fetch_op *op = arena_alloc(&c->nr->arena, sizeof(*op));
    if (!op || fetch_req_decode(&c->body, c->h.api_version, &c->nr->arena, &op->q) != 0) {
        broker_reply_malformed(c, "Fetch");
        return;
    }
    if (op->q.by_id && op->q.ntopics > 0 &&
        cluster_resolve_topic_ids(b, op->q.ntopics, &op->q.topics[0].name, op->q.topics[0].id,
                                  sizeof(fetch_topic), &c->nr->arena) != 0) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    if (op->q.by_id && op->q.nforgotten > 0 &&
        cluster_resolve_topic_ids(b, op->q.nforgotten, &op->q.forgotten[0].name,
                                  op->q.forgotten[0].id, sizeof(fetch_forgotten),
                                  &c->nr->arena) != 0) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    int rc = fsess_begin(b->fetch_sessions, &op->q, op->q.replica_id >= 0, (int64_t)uv_now(b->loop),
                         &c->nr->arena, &op->incremental);
    if (rc < 0) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    op->err = (int16_t)rc;
    for (int32_t i = 0; i < op->q.ntopics; i++)
        for (int32_t k = 0; k < op->q.topics[i].nparts; k++)
            cluster_refresh_if_unknown(b, op->q.topics[i].name, op->q.topics[i].parts[k].index);
    int32_t nparts = 0;
    for (int32_t i = 0; i < op->q.ntopics; i++)
        nparts += op->q.topics[i].nparts;
    op->slots = arena_alloc(&c->nr->arena, sizeof(fetch_slot) * (size_t)(nparts > 0 ? nparts : 1));
    if (!op->slots) {
        broker_reply_malformed(c, "Fetch");
        return;
    }
    memset(op->slots, 0, sizeof(fetch_slot) * (size_t)(nparts > 0 ? nparts : 1));
    fetch_authorize(c, op);
    if (op->q.replica_id >= 0)
        follower_progress(b, op);
    int32_t wait = op->q.max_wait_ms;
    if (wait <= 0 || b->stopping || op->err != KERR_NONE || fetch_ready(b, op)) {
        fetch_reply(c, op);
        return;
    }
    if (wait > BROOK_FETCH_MAX_WAIT_MS)
        wait = BROOK_FETCH_MAX_WAIT_MS;
    op->c = c;
    op->timer = malloc(sizeof(uv_timer_t));
    if (!op->timer) {
        fetch_reply(c, op);
        return;
    }
    uv_timer_init(b->loop, op->timer);
    op->timer->data = op;
    uv_timer_start(op->timer, fetch_on_timeout, (uint64_t)wait, 0);
    DL_APPEND(b->fetches, op);
}

/* Answers parked fetches that now have min_bytes ready. */
void fetch_on_progress(broker *b)
{
    fetch_op *op = b->fetches;
    while (op) {
        fetch_op *next = op->next;
        if (fetch_ready(b, op)) {
            fetch_unpark(b, op);
            fetch_reply(op->c, op);
        }
        op = next;
    }
}

void fetch_forget_partition(broker *b, partition *p)
{
    /* A parked fetch looks partitions up again when it answers, so a dropped partition
     * only needs the fetch to answer now (with UNKNOWN_TOPIC_OR_PARTITION). */
    BROOK_UNUSED(p);
    BROOK_UNUSED(b);
}

void fetch_drain(broker *b)
{
    while (b->fetches) {
        fetch_op *op = b->fetches;
        fetch_unpark(b, op);
        fetch_reply(op->c, op);
    }
}

/* One partition's ListOffsets answer below the high watermark (the last stable offset for
 * read_committed): offset, timestamp and the leader epoch of the batch there (the latest
 * epoch for LATEST, as Kafka answers). Returns a Kafka error. */
static int16_t list_offset(partition *p, int64_t hw, int8_t isolation, listoffsets_part *lp)
{
    const plog *l = p->log;
    int64_t limit = isolation == 1 ? log_last_stable_offset(l, hw) : hw;
    int rc = LOG_OK;
    switch (lp->timestamp) {
    case LO_LATEST:
        lp->offset = limit;
        lp->resp_leader_epoch = eh_latest(&l->epochs);
        return KERR_NONE;
    case LO_EARLIEST:
    case LO_EARLIEST_LOCAL: /* everything is local: no tiered storage */
        lp->offset = l->log_start_offset;
        break;
    case LO_LATEST_TIERED: /* nothing is tiered: Kafka's answer without remote storage */
        return KERR_NONE;
    case LO_MAX_TIMESTAMP:
        rc = log_max_timestamp(p->log, limit, &lp->offset, &lp->resp_timestamp);
        break;
    default:
        if (lp->timestamp < 0)
            return KERR_INVALID_REQUEST;
        rc = log_offset_for_time(p->log, lp->timestamp, limit, &lp->offset, &lp->resp_timestamp);
    }
    if (rc != LOG_OK)
        return KERR_KAFKA_STORAGE_ERROR;
    if (lp->offset >= 0)
        lp->resp_leader_epoch = eh_epoch_at(&l->epochs, lp->offset);
    return KERR_NONE;
}

void handle_list_offsets(req_ctx *c)
{
    broker *b = c->b;
    listoffsets_req q;
    if (listoffsets_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "ListOffsets");
        return;
    }
    for (int32_t i = 0; i < q.ntopics; i++)
        for (int32_t k = 0; k < q.topics[i].nparts; k++)
            cluster_refresh_if_unknown(b, q.topics[i].name, q.topics[i].parts[k].index);
    for (int32_t i = 0; i < q.ntopics; i++) {
        bool ok = broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, q.topics[i].name);
        for (int32_t k = 0; k < q.topics[i].nparts; k++) {
            listoffsets_part *lp = &q.topics[i].parts[k];
            int16_t err = KERR_TOPIC_AUTHORIZATION_FAILED;
            partition *p = ok ? led_partition_at_epoch(b, q.topics[i].name, lp->index,
                                                       lp->current_leader_epoch, &err)
                              : NULL;
            lp->error_code = err;
            if (p)
                lp->error_code = list_offset(p, store_high_watermark(b->store, p),
                                             q.isolation_level, lp);
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    listoffsets_resp_encode(&c->nr->resp, c->h.api_version, &q);
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

/* OffsetForLeaderEpoch (KIP-101/KIP-320): for each partition, the largest epoch at or below
 * the one asked about and the offset where it ended here. Consumers use it to detect a
 * truncated log after a leader change, followers to find where to truncate theirs. The
 * leadership and current-leader-epoch checks are Fetch's. */
void handle_offset_for_leader_epoch(req_ctx *c)
{
    broker *b = c->b;
    leaderepoch_req q;
    if (leaderepoch_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "OffsetForLeaderEpoch");
        return;
    }
    for (int32_t i = 0; i < q.ntopics; i++)
        for (int32_t k = 0; k < q.topics[i].nparts; k++)
            cluster_refresh_if_unknown(b, q.topics[i].name, q.topics[i].parts[k].index);
    for (int32_t i = 0; i < q.ntopics; i++) {
        /* a follower's question: CLUSTER_ACTION; a consumer's: DESCRIBE on the topic */
        bool ok = q.replica_id >= 0 ? broker_may_cluster(c, ACL_OP_CLUSTER_ACTION)
                                    : broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC,
                                                       q.topics[i].name);
        for (int32_t k = 0; k < q.topics[i].nparts; k++) {
            leaderepoch_part *lp = &q.topics[i].parts[k];
            lp->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            partition *p = !ok ? NULL
                               : led_partition_at_epoch(b, q.topics[i].name, lp->index,
                                                        lp->current_leader_epoch,
                                                        &lp->error_code);
            if (!p)
                continue;
            /* An epoch newer than any we know, or none known: (-1, -1), error NONE. */
            log_epoch_end_offset(p->log, lp->leader_epoch, &lp->resp_leader_epoch,
                                 &lp->end_offset);
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    leaderepoch_resp_encode(&c->nr->resp, c->h.api_version, &q);
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}
