/*
 * txn_kafka.c - `brook txn list|describe` over ListTransactions, FindCoordinator and
 * DescribeTransactions; see txn_kafka.h.
 *
 * librdkafka 2.0 has no admin calls for these, so each is one cli_wire_request: broker
 * addresses come from librdkafka's metadata (cli_client_brokers). Versions: ListTransactions
 * v1 (v0 when the duration filter is not used), DescribeTransactions v0 (both flexible),
 * FindCoordinator v2.
 */
#include "cli/txn_kafka.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "cli/sock.h"
#include "cli/wire.h"
#include "proto/errors.h"

#define API_FIND_COORDINATOR 10
#define API_DESCRIBE_TRANSACTIONS 65
#define API_LIST_TRANSACTIONS 66
#define COORD_KEY_TRANSACTION 1
/* FindCoordinator answers COORDINATOR_LOAD_IN_PROGRESS / NOT_AVAILABLE while a cluster
 * settles; these bound the retries. */
#define TXN_COORD_TRIES 20
#define TXN_COORD_BACKOFF_MS 250

/* One request to addr on a fresh connection (cli_wire_request; body freed). Returns 0 with
 * *resp (caller frees) and r reading it, or -1 after printing. */
static int call_once(cli_client *cl, const char *addr, int16_t api, int16_t ver, bool flex,
                     wr *body, uint8_t **resp, rd *r)
{
    char err[512];
    int rc = cli_wire_request(addr, cl->timeout_ms, api, ver, flex, body, resp, r, err,
                              sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", cl->cmd, err);
    return rc;
}

/* Adds what a listing and a description both give of a transaction to o, under the admin
 * API's names (transactional_id, state, producer_id). */
static void add_ident(cJSON *o, kslice id, kslice st, int64_t pid)
{
    char idbuf[1024], stbuf[64];
    snprintf(idbuf, sizeof(idbuf), "%.*s", (int)id.len, (const char *)id.p);
    snprintf(stbuf, sizeof(stbuf), "%.*s", (int)st.len, (const char *)st.p);
    cJSON_AddStringToObject(o, "transactional_id", idbuf);
    cJSON_AddStringToObject(o, "state", stbuf);
    cJSON_AddNumberToObject(o, "producer_id", (double)pid);
}

/* ---------------- ListTransactions ---------------- */

/* One broker's transactions appended to ids/pids/states (parallel JSON arrays in acc).
 * Returns 0, or -1 after printing. */
static int list_one(cli_client *cl, const char *addr, const txn_filters *f, cJSON *acc)
{
    int16_t ver = f->min_age_ms >= 0 ? 1 : 0;
    wr b;
    wr_init(&b, 64);
    b.flex = true;
    wr_array(&b, f->state ? 1 : 0);
    if (f->state)
        wr_cstr(&b, f->state);
    wr_array(&b, f->producer_id >= 0 ? 1 : 0);
    if (f->producer_id >= 0)
        wr_i64(&b, f->producer_id);
    if (ver >= 1)
        wr_i64(&b, f->min_age_ms);
    wr_tags(&b);
    uint8_t *resp = NULL;
    rd r;
    if (call_once(cl, addr, API_LIST_TRANSACTIONS, ver, true, &b, &resp, &r) != 0)
        return -1;
    (void)rd_i32(&r); /* throttle */
    int16_t ec = rd_i16(&r);
    int32_t nunknown = rd_array(&r, 1);
    for (int32_t i = 0; i < nunknown && !r.err; i++)
        (void)rd_str(&r);
    int32_t n = rd_array(&r, 4);
    for (int32_t i = 0; i < n && !r.err; i++) {
        kslice id = rd_str(&r);
        int64_t pid = rd_i64(&r);
        kslice st = rd_str(&r);
        rd_tags(&r);
        if (r.err)
            break;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(acc, o)) {
            cJSON_Delete(o);
            r.err = 1;
            break;
        }
        add_ident(o, id, st, pid);
    }
    free(resp);
    if (r.err) {
        fprintf(stderr, "%s: %s sent a ListTransactions answer that does not decode\n",
                cl->cmd, addr);
        return -1;
    }
    if (ec != 0) {
        fprintf(stderr, "%s: ListTransactions at %s: %s\n", cl->cmd, addr,
                kafka_error_name(ec));
        return -1;
    }
    return 0;
}

/* ---------------- FindCoordinator + DescribeTransactions ---------------- */

/* The coordinator of id: its address and node id. Retries while the cluster settles.
 * Returns 0 or -1 after printing. */
static int find_coordinator(cli_client *cl, const char *bootstrap_addr, const char *id,
                            char *addr, size_t addrlen, int32_t *node)
{
    for (int attempt = 0; attempt < TXN_COORD_TRIES; attempt++) {
        wr b;
        wr_init(&b, 64);
        wr_cstr(&b, id);
        wr_i8(&b, COORD_KEY_TRANSACTION);
        uint8_t *resp = NULL;
        rd r;
        if (call_once(cl, bootstrap_addr, API_FIND_COORDINATOR, 2, false, &b, &resp, &r) != 0)
            return -1;
        (void)rd_i32(&r); /* throttle */
        int16_t ec = rd_i16(&r);
        (void)rd_str(&r); /* error message */
        int32_t nid = rd_i32(&r);
        kslice host = rd_str(&r);
        int32_t port = rd_i32(&r);
        bool bad = r.err != 0;
        if (!bad && ec == 0) {
            snprintf(addr, addrlen, "%.*s:%d", (int)host.len, (const char *)host.p, port);
            *node = nid;
        }
        free(resp);
        if (bad) {
            fprintf(stderr, "%s: a FindCoordinator answer does not decode\n", cl->cmd);
            return -1;
        }
        if (ec == 0)
            return 0;
        bool retriable = ec == KERR_COORDINATOR_LOAD_IN_PROGRESS ||
                         ec == KERR_COORDINATOR_NOT_AVAILABLE || ec == KERR_NOT_COORDINATOR;
        if (!retriable) {
            fprintf(stderr, "%s: FindCoordinator for %s: %s\n", cl->cmd, id,
                    kafka_error_name(ec));
            return -1;
        }
        struct timespec ts = {0, TXN_COORD_BACKOFF_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "%s: no transaction coordinator for %s answered in time\n", cl->cmd, id);
    return -1;
}

/* Decodes one DescribeTransactions state into a JSON object (the admin API's shape). */
static cJSON *decode_state(rd *r, int16_t *ec, int64_t now)
{
    *ec = rd_i16(r);
    kslice id = rd_str(r);
    kslice st = rd_str(r);
    int32_t timeout = rd_i32(r);
    int64_t start = rd_i64(r);
    int64_t pid = rd_i64(r);
    int16_t epoch = rd_i16(r);
    cJSON *o = cJSON_CreateObject();
    cJSON *parts = o ? cJSON_AddArrayToObject(o, "participants") : NULL;
    int32_t nt = rd_array(r, 2);
    for (int32_t i = 0; i < nt && !r->err; i++) {
        kslice topic = rd_str(r);
        int32_t np = rd_array(r, 4);
        for (int32_t k = 0; k < np && !r->err; k++) {
            int32_t part = rd_i32(r);
            cJSON *e = parts ? cJSON_CreateObject() : NULL;
            if (e && cJSON_AddItemToArray(parts, e)) {
                char tb[512];
                snprintf(tb, sizeof(tb), "%.*s", (int)topic.len, (const char *)topic.p);
                cJSON_AddStringToObject(e, "topic", tb);
                cJSON_AddNumberToObject(e, "partition", part);
            } else {
                cJSON_Delete(e);
            }
        }
        rd_tags(r);
    }
    rd_tags(r);
    if (!o || r->err) {
        cJSON_Delete(o);
        return NULL;
    }
    add_ident(o, id, st, pid);
    cJSON_AddNumberToObject(o, "producer_epoch", epoch);
    cJSON_AddNumberToObject(o, "timeout_ms", timeout);
    cJSON_AddNumberToObject(o, "start_ms", (double)start);
    bool open = kslice_eq_cstr(st, "Ongoing") || kslice_eq_cstr(st, "PrepareCommit") ||
                kslice_eq_cstr(st, "PrepareAbort");
    if (open && start > 0)
        cJSON_AddNumberToObject(o, "age_ms", (double)(now > start ? now - start : 0));
    else
        cJSON_AddNullToObject(o, "age_ms");
    return o;
}

/* DescribeTransactions for one id at addr. Returns 0 with *out, 1 when the coordinator
 * does not know the id, -1 after printing. */
static int describe_at(cli_client *cl, const char *addr, const char *id, cJSON **out)
{
    wr b;
    wr_init(&b, 64);
    b.flex = true;
    wr_array(&b, 1);
    wr_cstr(&b, id);
    wr_tags(&b);
    uint8_t *resp = NULL;
    rd r;
    if (call_once(cl, addr, API_DESCRIBE_TRANSACTIONS, 0, true, &b, &resp, &r) != 0)
        return -1;
    (void)rd_i32(&r); /* throttle */
    int32_t n = rd_array(&r, 8);
    int16_t ec = 0;
    cJSON *o = n == 1 ? decode_state(&r, &ec, cli_wall_ms()) : NULL;
    free(resp);
    if (!o) {
        fprintf(stderr, "%s: %s sent a DescribeTransactions answer that does not decode\n",
                cl->cmd, addr);
        return -1;
    }
    if (ec == KERR_TRANSACTIONAL_ID_NOT_FOUND) {
        cJSON_Delete(o);
        return 1;
    }
    if (ec != 0) {
        fprintf(stderr, "%s: DescribeTransactions for %s: %s\n", cl->cmd, id,
                kafka_error_name(ec));
        cJSON_Delete(o);
        return -1;
    }
    *out = o;
    return 0;
}

int cli_txn_kafka_describe(cli_client *cl, const char *id, cJSON **out, int32_t *coord_id)
{
    cli_broker *bs = NULL;
    if (cli_client_brokers(cl, &bs) < 0)
        return 1;
    char addr[300];
    int rc = find_coordinator(cl, bs[0].addr, id, addr, sizeof(addr), coord_id);
    free(bs);
    if (rc != 0)
        return 1;
    rc = describe_at(cl, addr, id, out);
    if (rc == 1)
        fprintf(stderr, "%s: %s: no such transactional id\n", cl->cmd, id);
    if (rc == 0)
        cJSON_AddNumberToObject(*out, "coordinator", *coord_id);
    return rc == 0 ? 0 : 1;
}

static int cmp_by_id(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    const cJSON *xi = cJSON_GetObjectItemCaseSensitive(x, "transactional_id");
    const cJSON *yi = cJSON_GetObjectItemCaseSensitive(y, "transactional_id");
    return strcmp(xi->valuestring, yi->valuestring);
}

/* Replaces each listed entry by its full description (the listing keeps an entry whose
 * description failed, e.g. one that ended meanwhile). Returns 0 or -1. */
static int describe_all(cli_client *cl, const char *boot, cJSON *list, cJSON *outarr)
{
    cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const char *id = cJSON_GetObjectItemCaseSensitive(e, "transactional_id")->valuestring;
        char addr[300];
        int32_t node = -1;
        cJSON *full = NULL;
        if (find_coordinator(cl, boot, id, addr, sizeof(addr), &node) != 0)
            return -1;
        int rc = describe_at(cl, addr, id, &full);
        if (rc < 0)
            return -1;
        cJSON *item = rc == 0 ? full : cJSON_Duplicate(e, true);
        if (!item || !cJSON_AddItemToArray(outarr, item)) {
            cJSON_Delete(item);
            return -1;
        }
        cJSON_AddNumberToObject(item, "coordinator", node);
    }
    return 0;
}

int cli_txn_kafka_list(cli_client *cl, const txn_filters *f, cJSON **out)
{
    cli_broker *bs = NULL;
    int nb = cli_client_brokers(cl, &bs);
    if (nb < 0)
        return 1;
    cJSON *list = cJSON_CreateArray(), *res = cJSON_CreateArray();
    int rc = list && res ? 0 : -1;
    for (int i = 0; i < nb && rc == 0; i++)
        rc = list_one(cl, bs[i].addr, f, list);
    if (rc == 0)
        rc = describe_all(cl, bs[0].addr, list, res);
    free(bs);
    cJSON_Delete(list);
    if (rc != 0) {
        cJSON_Delete(res);
        return 1;
    }
    int n = cJSON_GetArraySize(res);
    cJSON **items = n > 0 ? calloc((size_t)n, sizeof(*items)) : NULL;
    if (n > 0 && !items) {
        cJSON_Delete(res);
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
        return 1;
    }
    for (int i = n - 1; i >= 0; i--)
        items[i] = cJSON_DetachItemFromArray(res, i);
    qsort(items, (size_t)n, sizeof(*items), cmp_by_id);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(res, items[i]);
    free(items);
    *out = res;
    return 0;
}
