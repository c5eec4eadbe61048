/* admin.c - the admin HTTP routes; see admin.h. Every handler answers synchronously on the
 * loop thread from the coordinator's and the store's in-memory state, so a scrape costs a
 * walk over transactional ids and partitions and never waits for I/O. */
#include "broker/admin.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "broker/admin_assets.h"
#include "broker/admin_console.h"
#include "broker/admin_groups.h"
#include "cluster/zk.h"
#include "net/http.h"
#include "proto/errors.h"
#include "storage/compact.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define JSON_CONTENT_TYPE "application/json"
#define TXN_PREFIX "/v1/transactions"

static bool txn_is_open(int state)
{
    return state == TXN_ONGOING || state == TXN_PREPARE_COMMIT ||
           state == TXN_PREPARE_ABORT || state == TXN_PREPARE_EPOCH_FENCE;
}

/* ---------------- responses ---------------- */

/* Takes ownership of j: prints it into the response body and frees it. */
static void send_json(http_response *r, int status, cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    r->content_type = JSON_CONTENT_TYPE;
    if (!text) {
        r->status = 500;
        wr_raw(&r->body, "{\"error\":\"OUT_OF_MEMORY\"}\n", 26);
        return;
    }
    r->status = status;
    wr_raw(&r->body, text, strlen(text));
    wr_raw(&r->body, "\n", 1);
    free(text);
}

static void send_error(http_response *r, int status, const char *error, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    if (j && (!cJSON_AddStringToObject(j, "error", error) ||
              !cJSON_AddStringToObject(j, "message", msg))) {
        cJSON_Delete(j);
        j = NULL;
    }
    send_json(r, status, j);
}

static void send_method_not_allowed(http_response *r, const char *allow)
{
    r->allow = allow;
    send_error(r, 405, "METHOD_NOT_ALLOWED", "method not allowed on this path");
}

/* ---------------- transactions ---------------- */

static bool add_num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v) != NULL;
}

/* The JSON object describing one transactional id; NULL when out of memory. */
static cJSON *txn_json(const txn_meta *t, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = cJSON_AddStringToObject(o, "transactional_id", t->id) &&
              cJSON_AddStringToObject(o, "state", txn_state_name(t->state)) &&
              add_num(o, "producer_id", (double)t->pid) &&
              add_num(o, "producer_epoch", t->epoch) && add_num(o, "timeout_ms", t->timeout_ms) &&
              add_num(o, "start_ms", (double)t->start_ms) &&
              add_num(o, "last_update_ms", (double)t->update_ms);
    /* A change being made durable (e.g. an abort just requested) shows as next_state. */
    static const char *const phases[] = {"Idle", "Logging", "Preparing", "Marking"};
    if (ok && t->phase >= 0 && t->phase < 4)
        ok = cJSON_AddStringToObject(o, "phase", phases[t->phase]) != NULL;
    if (ok && t->phase == TXN_PHASE_LOGGING)
        ok = cJSON_AddStringToObject(o, "next_state", txn_state_name(t->logging_state)) &&
             add_num(o, "next_producer_epoch", t->new_epoch);
    if (ok && txn_is_open(t->state))
        ok = add_num(o, "age_ms", (double)(now_ms > t->start_ms ? now_ms - t->start_ms : 0));
    else if (ok)
        ok = cJSON_AddNullToObject(o, "age_ms") != NULL;
    cJSON *parts = ok ? cJSON_AddArrayToObject(o, "participants") : NULL;
    for (int i = 0; parts && i < t->nparts; i++) {
        const txn_participant *p = &t->parts[i];
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(parts, e)) {
            cJSON_Delete(e);
            parts = NULL;
            break;
        }
        if (p->kind == TXN_PART_GROUP)
            ok = cJSON_AddStringToObject(e, "group", p->name) != NULL;
        else
            ok = cJSON_AddStringToObject(e, "topic", p->name) &&
                 add_num(e, "partition", p->partition);
        if (!ok)
            parts = NULL;
    }
    if (!ok || !parts) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int cmp_txn(const void *a, const void *b)
{
    return strcmp((*(txn_meta *const *)a)->id, (*(txn_meta *const *)b)->id);
}

static void route_list(broker *b, http_response *r)
{
    txn_coord *c = &b->txn.coord;
    size_t n = HASH_COUNT(c->by_id), k = 0;
    txn_meta **all = malloc((n ? n : 1) * sizeof(*all));
    cJSON *arr = cJSON_CreateArray();
    if (!all || !arr) {
        free(all);
        cJSON_Delete(arr);
        send_json(r, 500, NULL);
        return;
    }
    for (txn_meta *t = c->by_id; t && k < n; t = t->hh.next)
        all[k++] = t;
    qsort(all, k, sizeof(*all), cmp_txn);
    int64_t now = clock_wall_ms();
    for (size_t i = 0; i < k; i++) {
        cJSON *o = txn_json(all[i], now);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            arr = NULL;
            break;
        }
    }
    free(all);
    send_json(r, 200, arr);
}

static void route_describe(broker *b, const char *id, http_response *r)
{
    txn_meta *t = txn_coord_find(&b->txn.coord, id);
    if (!t) {
        send_error(r, 404, "TRANSACTIONAL_ID_NOT_FOUND", "no transaction with this id");
        return;
    }
    send_json(r, 200, txn_json(t, clock_wall_ms()));
}

static void route_abort(broker *b, const char *id, const char *peer, http_response *r)
{
    txn_meta *t = txn_coord_find(&b->txn.coord, id);
    if (!t) {
        send_error(r, 404, "TRANSACTIONAL_ID_NOT_FOUND", "no transaction with this id");
        return;
    }
    int before = t->state;
    int16_t err = txn_service_admin_abort(&b->txn, id, clock_wall_ms());
    LOG_INFO("admin", "abort of transaction %s (was %s) requested by %s: %s", id,
             txn_state_name(before), peer, kafka_error_name(err));
    if (err != KERR_NONE) {
        char msg[160];
        snprintf(msg, sizeof(msg), "transaction is %s%s", txn_state_name(before),
                 err == KERR_CONCURRENT_TRANSACTIONS ? " with an operation in flight; retry"
                                                     : "; only Ongoing ones can be aborted");
        send_error(r, 409, kafka_error_name(err), msg);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    t = txn_coord_find(&b->txn.coord, id);
    cJSON *o = t ? txn_json(t, clock_wall_ms()) : NULL;
    if (!j || !cJSON_AddStringToObject(j, "error", "NONE") ||
        (o && !cJSON_AddItemToObject(j, "transaction", o))) {
        cJSON_Delete(o);
        cJSON_Delete(j);
        j = NULL;
    }
    send_json(r, 200, j);
}

/* ---------------- metrics ---------------- */

static void metrics_partitions(broker *b, wr *w, const char *name, const char *help, int which)
{
    metrics_header(w, name, "gauge", help);
    char tl[512], labels[600];
    for (topic *t = b->md.topics; t; t = t->hh.next) {
        if (!t->parts)
            continue;
        metrics_label_value(t->name, tl, sizeof(tl));
        for (int32_t i = 0; i < t->npartitions; i++) {
            partition *p = t->parts[i];
            if (!p || !p->log || p->dropping || !cluster_is_replica(b, p))
                continue;
            int64_t hw = store_high_watermark(b->store, p);
            int64_t v = which == 0   ? p->log->log_end_offset
                        : which == 1 ? hw
                        : which == 2 ? log_last_stable_offset(p->log, hw)
                                     : p->log->log_start_offset;
            snprintf(labels, sizeof(labels), "topic=\"%s\",partition=\"%d\"", tl, (int)i);
            metrics_sample(w, name, labels, (double)v);
        }
    }
}

/* Produce and fetch traffic: what the console's rate charts are drawn from. */
/* This node's fetches as a follower: how much its fetch sessions save shows as the
 * partitions listed per fetch. */
static void metrics_replica_fetches(broker *b, wr *w)
{
    replica_fetch_stats st = replica_fetch_stats_of(b);
    static const char *const kinds[2] = {"kind=\"full\"", "kind=\"incremental\""};
    metrics_header(w, "brook_replica_fetches_total", "counter",
                   "Fetch requests sent as a follower: full (every partition followed from "
                   "that leader) and incremental (KIP-227 session).");
    for (int k = 0; k < 2; k++)
        metrics_sample(w, "brook_replica_fetches_total", kinds[k], (double)st.fetches[k]);
    metrics_header(w, "brook_replica_fetch_partitions_total", "counter",
                   "Partitions listed in the fetch requests sent as a follower.");
    metrics_sample(w, "brook_replica_fetch_partitions_total", NULL,
                   (double)st.partitions_listed);
}

/* The event loop's turns (broker.c, loop_turn_account). */
static void metrics_loop(broker *b, wr *w)
{
    metrics_header(w, "brook_loop_turns_total", "counter", "Event-loop turns.");
    metrics_sample(w, "brook_loop_turns_total", NULL, (double)b->loop_stats.turns);
    metrics_header(w, "brook_loop_busy_seconds_total", "counter",
                   "Time the event loop spent running callbacks (not waiting in the poll).");
    metrics_sample(w, "brook_loop_busy_seconds_total", NULL, (double)b->loop_stats.busy_ns / 1e9);
    char help[128];
    snprintf(help, sizeof(help), "Event-loop turns busy for %d ms or more (every client of "
             "this node waited that long).", BROOK_LOOP_STALL_MS);
    metrics_header(w, "brook_loop_stalls_total", "counter", help);
    metrics_sample(w, "brook_loop_stalls_total", NULL, (double)b->loop_stats.stalls);
    metrics_header(w, "brook_loop_turn_max_seconds", "gauge",
                   "The longest event-loop turn since start, busy time.");
    metrics_sample(w, "brook_loop_turn_max_seconds", NULL,
                   (double)b->loop_stats.max_busy_ns / 1e9);
}

static void metrics_traffic(broker *b, wr *w)
{
    metrics_header(w, "brook_produced_records_total", "counter",
                   "Records appended by produce requests to partitions led here.");
    metrics_sample(w, "brook_produced_records_total", NULL, (double)b->produced_records);
    metrics_header(w, "brook_produced_bytes_total", "counter",
                   "Record batch bytes appended by produce requests to partitions led here.");
    metrics_sample(w, "brook_produced_bytes_total", NULL, (double)b->produced_bytes);
    static const char *const kinds[2] = {"client=\"consumer\"", "client=\"follower\""};
    metrics_header(w, "brook_fetch_requests_total", "counter",
                   "Fetch requests answered, from consumers and from follower replicas.");
    for (int k = 0; k < 2; k++)
        metrics_sample(w, "brook_fetch_requests_total", kinds[k], (double)b->fetch_requests[k]);
    metrics_header(w, "brook_fetch_bytes_total", "counter",
                   "Record bytes sent in fetch answers, to consumers and to follower replicas.");
    for (int k = 0; k < 2; k++)
        metrics_sample(w, "brook_fetch_bytes_total", kinds[k], (double)b->fetched_bytes[k]);
    metrics_header(w, "brook_fetch_sendfile_bytes_total", "counter",
                   "Record bytes that went from segment files to sockets by sendfile.");
    metrics_sample(w, "brook_fetch_sendfile_bytes_total", NULL, (double)net_sendfile_bytes());
    metrics_header(w, "brook_fetch_sendfile_waits_total", "counter",
                   "Times a file span found the socket full and waited for room.");
    metrics_sample(w, "brook_fetch_sendfile_waits_total", NULL, (double)net_sendfile_waits());
    metrics_header(w, "brook_fetch_sendfile_partitions_total", "counter",
                   "Partition answers in fetch responses sent from a file span (sendfile).");
    metrics_sample(w, "brook_fetch_sendfile_partitions_total", NULL,
                   (double)b->fetch_sendfile_parts);
    store_stats ss = store_get_stats(b->store);
    metrics_header(w, "brook_fetch_readahead_requests_total", "counter",
                   "Readahead asked of a worker thread for sendfile readers (16 MiB each).");
    metrics_sample(w, "brook_fetch_readahead_requests_total", NULL, (double)ss.readahead_jobs);
    metrics_header(w, "brook_fetch_readahead_touched_bytes_total", "counter",
                   "Bytes the readahead workers read themselves (fetch.readahead.touch).");
    metrics_sample(w, "brook_fetch_readahead_touched_bytes_total", NULL,
                   (double)ss.readahead_touched_bytes);
    metrics_header(w, "brook_log_cache_released_bytes_total", "counter",
                   "Segment bytes advised out of the page cache after their fsync "
                   "(log.cache.keep.bytes).");
    metrics_sample(w, "brook_log_cache_released_bytes_total", NULL,
                   (double)ss.cache_released_bytes);
    metrics_header(w, "brook_log_segments_reserved_total", "counter",
                   "Next-segment files made ahead with their disk blocks reserved "
                   "(log.segment.reserve).");
    metrics_sample(w, "brook_log_segments_reserved_total", NULL, (double)ss.segments_reserved);
    metrics_header(w, "brook_fetch_sessions", "gauge",
                   "Incremental fetch sessions (KIP-227) kept now.");
    metrics_sample(w, "brook_fetch_sessions", NULL, (double)fsess_cache_count(b->fetch_sessions));
    metrics_header(w, "brook_fetch_session_evictions_total", "counter",
                   "Fetch sessions evicted to make room for new ones.");
    metrics_sample(w, "brook_fetch_session_evictions_total", NULL,
                   (double)fsess_cache_evictions(b->fetch_sessions));
    metrics_replica_fetches(b, w);
    metrics_loop(b, w);
    broker_quota_metrics(b, w);
}

/* The log cleaner (storage/compact.h): passes, and what they went through and removed. */
static void metrics_cleaner(broker *b, wr *w)
{
    compact_stats cs = b->cleaner ? compactor_get_stats(b->cleaner) : (compact_stats){0};
    static const struct {
        const char *name, *help;
        size_t off;
    } rows[] = {
        {"brook_log_cleaner_passes_total", "Cleaning passes applied to compacted logs.",
         offsetof(compact_stats, passes)},
        {"brook_log_cleaner_passes_failed_total",
         "Cleaning passes discarded (the log changed, an error) or failed.",
         offsetof(compact_stats, passes_failed)},
        {"brook_log_cleaner_bytes_cleaned_total",
         "Bytes of closed segments the cleaning passes went through.",
         offsetof(compact_stats, bytes_cleaned)},
        {"brook_log_cleaner_bytes_freed_total",
         "Bytes the cleaning passes removed from compacted logs.",
         offsetof(compact_stats, bytes_freed)},
        {"brook_log_cleaner_records_removed_total",
         "Records the cleaning passes removed (superseded, aborted, expired tombstones).",
         offsetof(compact_stats, records_removed)},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t v;
        memcpy(&v, (const char *)&cs + rows[i].off, sizeof(v));
        metrics_header(w, rows[i].name, "counter", rows[i].help);
        metrics_sample(w, rows[i].name, NULL, (double)v);
    }
}

/* The coordinator's prepares and markers to other nodes: requests, and entries in them
 * (those of one node and loop turn share a request; cluster.c). */
static void metrics_txn_rpcs(broker *b, wr *w)
{
    const struct {
        const char *name, *help;
        uint64_t v;
    } rows[] = {
        {"brook_txn_marker_requests_total",
         "WriteTxnMarkers requests this coordinator sent to participants' leaders.",
         b->marker_requests},
        {"brook_txn_markers_sent_total",
         "Markers in those requests (one per participant; a request carries every marker "
         "for its node decided in one loop turn).",
         b->markers_sent},
        {"brook_txn_prepare_requests_total",
         "BrookPrepareTxn requests this coordinator sent to participants' leaders.",
         b->prepare_requests},
        {"brook_txn_prepares_sent_total",
         "Prepares in those requests (one per participant; a request carries every prepare "
         "for its node decided in one loop turn).",
         b->prepares_sent},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        metrics_header(w, rows[i].name, "counter", rows[i].help);
        metrics_sample(w, rows[i].name, NULL, (double)rows[i].v);
    }
}

static void route_metrics(broker *b, http_response *r)
{
    wr *w = &r->body;
    r->content_type = PROM_CONTENT_TYPE;
    int64_t now = clock_wall_ms();
    txn_coord *c = &b->txn.coord;
    uint64_t by_state[TXN_STATE_COUNT] = {0};
    int64_t oldest_ms = 0;
    for (txn_meta *t = c->by_id; t; t = t->hh.next) {
        if (t->state >= 0 && t->state < TXN_STATE_COUNT)
            by_state[t->state]++;
        if (txn_is_open(t->state) && now - t->start_ms > oldest_ms)
            oldest_ms = now - t->start_ms;
    }
    metrics_header(w, "brook_transactions", "gauge", "Transactional ids by state.");
    for (int s = 0; s < TXN_STATE_COUNT; s++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "state=\"%s\"", txn_state_name(s));
        metrics_sample(w, "brook_transactions", labels, (double)by_state[s]);
    }
    metrics_header(w, "brook_txn_oldest_open_age_seconds", "gauge",
                   "Age of the oldest Ongoing or Prepare* transaction (0 when none).");
    metrics_sample(w, "brook_txn_oldest_open_age_seconds", NULL, (double)oldest_ms / 1000.0);
    metrics_header(w, "brook_transactions_completed_total", "counter",
                   "Transactions completed since start, by outcome.");
    metrics_sample(w, "brook_transactions_completed_total", "outcome=\"commit\"",
                   (double)c->commits);
    metrics_sample(w, "brook_transactions_completed_total", "outcome=\"abort\"",
                   (double)c->aborts);
    metrics_txn_rpcs(b, w);
    metrics_histogram(w, "brook_txn_commit_latency_seconds",
                      "EndTxn (commit or abort) latency from request arrival to reply.",
                      &b->end_txn_latency);
    metrics_traffic(b, w);
    metrics_cleaner(b, w);
    metrics_header(w, "brook_connections", "gauge", "Open Kafka client connections.");
    metrics_sample(w, "brook_connections", NULL, (double)b->limits.total);
    metrics_header(w, "brook_connections_refused_total", "counter",
                   "Connections closed at accept for max.connections or a per-IP cap.");
    metrics_sample(w, "brook_connections_refused_total", NULL, (double)b->limits.refused);
    uint64_t tls_ok = 0, tls_failed = 0;
    for (int i = 0; i < b->cfg.nlst; i++) {
        uint64_t ok, failed;
        tls_ctx_counts(b->cfg.lst_tls[i], &ok, &failed);
        tls_ok += ok;
        tls_failed += failed;
    }
    metrics_header(w, "brook_tls_handshakes_total", "counter",
                   "TLS handshakes on the SSL and SASL_SSL listeners, by result.");
    metrics_sample(w, "brook_tls_handshakes_total", "result=\"ok\"", (double)tls_ok);
    metrics_sample(w, "brook_tls_handshakes_total", "result=\"failed\"", (double)tls_failed);
    metrics_header(w, "brook_uptime_seconds", "gauge", "Seconds since brookd started.");
    metrics_sample(w, "brook_uptime_seconds", NULL,
                   (double)(clock_mono_us() - b->started_us) / 1e6);
    metrics_partitions(b, w, "brook_partition_log_end_offset",
                       "Next offset to be assigned in the partition.", 0);
    metrics_partitions(b, w, "brook_partition_high_watermark",
                       "Offsets below are visible to read_uncommitted consumers.", 1);
    metrics_partitions(b, w, "brook_partition_last_stable_offset",
                       "Offsets below are visible to read_committed consumers.", 2);
    metrics_partitions(b, w, "brook_partition_log_start_offset",
                       "First offset still in the partition.", 3);
    admin_group_metrics(b, w);
}

/* ---------------- routing ---------------- */

static bool path_is(const http_request *q, const char *p)
{
    return q->path_len == strlen(p) && memcmp(q->path, p, q->path_len) == 0;
}

/* The console's static files (admin_assets.h): 304 when the browser has this version. */
static bool route_static(const http_request *q, http_response *r)
{
    const admin_asset *a = admin_asset_find(q->path, q->path_len);
    if (!a)
        return false;
    if (!http_method_is_get(q)) {
        send_method_not_allowed(r, "GET");
        return true;
    }
    r->content_type = a->content_type;
    r->etag = a->etag;
    if (http_etag_matches(q, a->etag)) {
        r->status = 304;
        return true;
    }
    r->status = 200;
    wr_raw(&r->body, a->data, a->len);
    return true;
}

/* GET-only JSON documents: /v1/cluster, /v1/topics, /v1/groups and /metrics. */
static bool route_read_only(broker *b, const http_request *q, http_response *r)
{
    int which = path_is(q, "/metrics")       ? 0
                : path_is(q, "/v1/cluster") ? 1
                : path_is(q, "/v1/topics")  ? 2
                : path_is(q, "/v1/groups")  ? 3
                                            : -1;
    if (which < 0)
        return false;
    if (!http_method_is_get(q)) {
        send_method_not_allowed(r, "GET");
        return true;
    }
    if (which == 0)
        route_metrics(b, r);
    else
        send_json(r, 200, which == 1   ? admin_cluster_json(b)
                          : which == 2 ? admin_topics_json(b)
                                       : admin_groups_json(b));
    return true;
}

static bool admin_token_set(const broker *b)
{
    return b->cfg.admin_token && *b->cfg.admin_token;
}

/* Constant-time comparison, so that the answer's timing does not reveal the token. */
static bool same_secret(const char *want, const char *got, size_t got_len)
{
    size_t n = strlen(want);
    return got_len == n && CRYPTO_memcmp(want, got, n) == 0;
}

/* Whether the request carries the token: "Authorization: Bearer <token>" or token=<token>
 * in the query (the console's way: no custom header, so no CORS preflight). */
static bool token_given(const char *token, const http_request *q)
{
    if (q->authorization && q->authorization_len > 7 &&
        strncasecmp(q->authorization, "Bearer ", 7) == 0 &&
        same_secret(token, q->authorization + 7, q->authorization_len - 7))
        return true;
    const char *end = q->query ? q->query + q->query_len : NULL;
    for (const char *p = q->query; p && p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop - p > 6 && memcmp(p, "token=", 6) == 0 &&
            same_secret(token, p + 6, (size_t)(stop - p - 6)))
            return true;
        p = amp ? amp + 1 : end;
    }
    return false;
}

static void route(void *ctx, const http_request *q, const char *peer, http_response *r)
{
    broker *b = ctx;
    const char *path = q->path;
    size_t n = q->path_len;
    if (route_static(q, r))
        return;
    /* The console of one node reads every node's documents (and posts an abort to the
     * coordinator's): the API may be read from any origin. Without admin.token it has no
     * authentication (docs/admin.md: keep it on a trusted network). */
    r->cors = true;
    if (admin_token_set(b) && !token_given(b->cfg.admin_token, q)) {
        LOG_INFO("admin", "%s: %.*s without the admin token: 401", peer, (int)n, path);
        send_error(r, 401, "UNAUTHORIZED", "this API needs the admin token: "
                   "Authorization: Bearer <admin.token>, or ?token=<admin.token>");
        return;
    }
    if (route_read_only(b, q, r))
        return;
    size_t pl = strlen(TXN_PREFIX);
    if (n < pl || memcmp(path, TXN_PREFIX, pl) != 0 || (n > pl && path[pl] != '/')) {
        send_error(r, 404, "NOT_FOUND",
                   "no such path; try /, /v1/cluster, /v1/topics, /v1/groups, "
                   "/v1/transactions or /metrics");
        return;
    }
    if (!b->txn_started) {
        send_error(r, 503, "COORDINATOR_NOT_AVAILABLE", "transaction coordinator not running");
        return;
    }
    if (n <= pl + 1) { /* "/v1/transactions" or "/v1/transactions/" */
        if (!http_method_is_get(q)) {
            send_method_not_allowed(r, "GET");
            return;
        }
        route_list(b, r);
        return;
    }
    /* "{id}" or "{id}/abort" */
    const char *seg = path + pl + 1;
    size_t seg_len = n - pl - 1;
    const char *slash = memchr(seg, '/', seg_len);
    size_t id_len = slash ? (size_t)(slash - seg) : seg_len;
    bool is_abort = false;
    if (slash) {
        size_t rest = seg_len - id_len - 1;
        if (rest != 5 || memcmp(slash + 1, "abort", 5) != 0) {
            send_error(r, 404, "NOT_FOUND", "no such path under /v1/transactions/{id}");
            return;
        }
        is_abort = true;
    }
    char *id = malloc(id_len + 1);
    if (!id) {
        send_json(r, 500, NULL);
        return;
    }
    if (id_len == 0 || http_url_decode(seg, id_len, id, id_len + 1) <= 0) {
        free(id);
        send_error(r, 400, "INVALID_REQUEST", "bad transactional id in the path");
        return;
    }
    if (is_abort) {
        if (http_method_is(q, "POST"))
            route_abort(b, id, peer, r);
        else
            send_method_not_allowed(r, "POST");
    } else {
        if (http_method_is_get(q))
            route_describe(b, id, r);
        else
            send_method_not_allowed(r, "GET");
    }
    free(id);
}

int admin_start(broker *b)
{
    metrics_hist_init_latency(&b->end_txn_latency);
    if (!b->cfg.admin_enabled)
        return 0;
    if (b->cfg.authorizer_on && !admin_token_set(b)) {
        /* only the default address can get here (config.c refuses an explicit one) */
        LOG_WARN("admin", "admin listener off: ACLs are on and admin.token is unset");
        return 0;
    }
    http_opts o = {
        .host = b->cfg.admin_host,
        .port = b->cfg.admin_port,
        .handler = route,
        .ctx = b,
    };
    int rc = http_server_start(b->loop, &o, &b->admin, &b->admin_port);
    if (rc != 0 && !b->cfg.admin_explicit) {
        /* The default address is best effort: a second brookd on the same host (tests,
         * benchmarks, a developer's broker) still starts, without its admin listener. */
        LOG_WARN("admin", "admin listener off: cannot listen on the default %s:%d: %s (set "
                 "admin.listeners to choose an address)", b->cfg.admin_host, b->cfg.admin_port,
                 uv_strerror(rc));
        return 0;
    }
    if (rc != 0) {
        LOG_ERROR("admin", "cannot listen on %s:%d (admin.listeners): %s", b->cfg.admin_host,
                  b->cfg.admin_port, uv_strerror(rc));
        return rc;
    }
    LOG_INFO("admin", "admin ready listener=%s:%d", b->cfg.admin_host, b->admin_port);
    if (b->zk) {
        /* The registration was made before this port was bound: it says it from now on. */
        char self[300];
        admin_self_address(b, self, sizeof(self));
        zk_set_admin(b->zk, self);
    }
    return 0;
}

void admin_stop(broker *b)
{
    if (b->admin) {
        http_server_stop(b->admin);
        b->admin = NULL;
    }
}
