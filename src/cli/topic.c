/*
 * topic.c - `brook topic create|list|describe|delete|alter`; see topic.h.
 *
 * Topics are looked up in all-topics metadata, never by name: a Metadata request naming a
 * topic may create it with default settings. create, delete and alter partitions go through
 * librdkafka's admin calls and then wait, bounded by --timeout-ms, until metadata shows the
 * result (every partition led, or the topic gone). Config changes and partition sizes use
 * the raw requests of topic_wire.h (IncrementalAlterConfigs to any broker, which applies it
 * cluster-wide; DescribeLogDirs to every broker, each partition's size read from its
 * leader's answer). Low and high offsets come from the leader (query_watermark_offsets).
 */
#include "cli/topic.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/sock.h"
#include "cli/table.h"
#include "cli/topic_wire.h"
#include "proto/errors.h"
#include "proto/internal_topics.h"

/* Pause between metadata polls while waiting for a change to show. */
#define TP_POLL_MS 100

typedef const struct rd_kafka_metadata tp_md;
typedef const rd_kafka_metadata_topic_t tp_topic;

typedef struct tp_args {
    const char *cmd;
    const char *bootstrap;
    int64_t timeout_ms;
    bool json, all, if_exists, if_not_exists;
    int64_t partitions, rf;
    bool seen_partitions;
    tw_list configs; /* --config k=v */
    tw_list deletes; /* --delete-config k */
    const char *pos[TW_MAX_ITEMS];
    int npos;
} tp_args;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---------------- metadata ---------------- */

/* Metadata of every topic, within ms. NULL after printing unless quiet. */
static tp_md *all_metadata(cli_client *cl, int64_t ms, bool quiet)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(cl->rk, 1, NULL, &md, (int)(ms > 0 ? ms : 1));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return md;
    if (!quiet) {
        char why[768];
        cli_client_explain(cl, e, why, sizeof(why));
        fprintf(stderr, "%s: metadata: %s\n", cl->cmd, why);
    }
    return NULL;
}

static tp_topic *find_topic(tp_md *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0 &&
            md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            return &md->topics[i];
    return NULL;
}

/* Is the topic there with at least nparts partitions (any when nparts < 1), each led? */
static bool topic_ready(tp_md *md, const char *name, int64_t nparts)
{
    tp_topic *t = find_topic(md, name);
    if (!t || t->partition_cnt < 1 || (nparts > 0 && t->partition_cnt < nparts))
        return false;
    for (int i = 0; i < t->partition_cnt; i++)
        if (t->partitions[i].leader < 0)
            return false;
    return true;
}

/* Waits until metadata shows every topic in names (n of them) ready with nparts partitions
 * (present) or gone (!present), bounded by --timeout-ms. Returns 0, or 1 after printing. */
static int wait_topics(cli_client *cl, const char *const *names, int n, int64_t nparts,
                       bool present)
{
    int64_t deadline = cli_now_ms() + cl->timeout_ms;
    for (;;) {
        int64_t left = deadline - cli_now_ms();
        tp_md *md = all_metadata(cl, left, true);
        bool done = md != NULL;
        for (int i = 0; md && i < n && done; i++)
            done = present ? topic_ready(md, names[i], nparts) : !find_topic(md, names[i]);
        if (md)
            rd_kafka_metadata_destroy(md);
        if (done)
            return 0;
        if (cli_now_ms() + TP_POLL_MS >= deadline) {
            fprintf(stderr, "%s: the change did not show in metadata within %" PRId64
                    " ms (--timeout-ms)\n", cl->cmd, cl->timeout_ms);
            return 1;
        }
        sleep_ms(TP_POLL_MS);
    }
}

/* Every name in names must exist in md. Returns 0, or 1 after printing the first unknown
 * one (unless skip_unknown: those are dropped from names, *n shrinks). */
static int check_known(cli_client *cl, tp_md *md, const char **names, int *n, bool skip_unknown)
{
    int kept = 0;
    for (int i = 0; i < *n; i++) {
        if (find_topic(md, names[i])) {
            names[kept++] = names[i];
        } else if (!skip_unknown) {
            fprintf(stderr, "%s: unknown topic '%s'\n", cl->cmd, names[i]);
            return 1;
        } else if (!cl->json) {
            printf("topic %s does not exist; nothing to do\n", names[i]);
        }
    }
    *n = kept;
    return 0;
}

static int32_t topic_rf(tp_topic *t)
{
    return t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
}

/* "1,2,3" for n ids into out. */
static void ids_text(const int32_t *ids, int n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRId32, i ? "," : "", ids[i]);
}

static cJSON *ids_json(const int32_t *ids, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
    return a;
}

/* Prints the error of an admin result for a topic; "-" when none. Returns 1 or 0. */
static int admin_error(cli_client *cl, const char *what, const char *topic,
                       rd_kafka_resp_err_t err, const char *msg)
{
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    fprintf(stderr, "%s: cannot %s '%s': %s%s%s\n", cl->cmd, what, topic, rd_kafka_err2name(err),
            msg && *msg ? ": " : "", msg && *msg ? msg : "");
    return 1;
}

/* The topic results of a CreateTopics, CreatePartitions or DeleteTopics answer (*n of them),
 * or NULL when ev is none of those. */
static const rd_kafka_topic_result_t **topic_results(rd_kafka_event_t *ev, size_t *n)
{
    *n = 0;
    switch (rd_kafka_event_type(ev)) {
    case RD_KAFKA_EVENT_CREATETOPICS_RESULT:
        return rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), n);
    case RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT:
        return rd_kafka_CreatePartitions_result_topics(
            rd_kafka_event_CreatePartitions_result(ev), n);
    case RD_KAFKA_EVENT_DELETETOPICS_RESULT:
        return rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), n);
    default:
        return NULL;
    }
}

/* Waits for the answer to an admin call about one topic (what names the call) and reads its
 * error into *err with its message in msg ("unexpected answer" and __BAD_MSG when the answer
 * does not name exactly one topic). Returns 0, or 1 after printing when no answer came. */
static int one_topic_result(cli_client *cl, const char *what, rd_kafka_resp_err_t *err,
                            char *msg, size_t cap)
{
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, what, NULL, 0);
    if (!ev)
        return 1;
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = topic_results(ev, &n);
    const char *m = tr && n == 1 ? rd_kafka_topic_result_error_string(tr[0])
                                 : "unexpected answer";
    *err = tr && n == 1 ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
    snprintf(msg, cap, "%s", m ? m : "");
    rd_kafka_event_destroy(ev);
    return 0;
}

/* ---------------- create ---------------- */

/* Splits "k=v" into key (copied into key[cap]) and *value. Returns 0, or -1 when there is
 * no '=' or the key is empty. */
static int split_kv(const char *kv, char *key, size_t cap, const char **value)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || (size_t)(eq - kv) >= cap)
        return -1;
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    *value = eq + 1;
    return 0;
}

static rd_kafka_NewTopic_t *new_topic(cli_client *cl, const tp_args *a)
{
    char err[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(a->pos[0], (int)a->partitions, (int)a->rf,
                                                    err, sizeof(err));
    if (!nt) {
        fprintf(stderr, "%s: %s\n", cl->cmd, err);
        return NULL;
    }
    for (int i = 0; i < a->configs.n; i++) {
        char key[256];
        const char *value;
        if (split_kv(a->configs.items[i], key, sizeof(key), &value) != 0 ||
            rd_kafka_NewTopic_set_config(nt, key, value) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "%s: bad --config '%s'\n", cl->cmd, a->configs.items[i]);
            rd_kafka_NewTopic_destroy(nt);
            return NULL;
        }
    }
    return nt;
}

/* One row (topic, partitions, replication factor) as a table or JSON, with extra fields. */
static int print_summary(cli_client *cl, tp_topic *t, const char *key, bool flag)
{
    char np[16], rf[16];
    snprintf(np, sizeof(np), "%d", t->partition_cnt);
    snprintf(rf, sizeof(rf), "%" PRId32, topic_rf(t));
    if (cl->json) {
        cJSON *j = cJSON_CreateObject();
        if (j && (!cJSON_AddStringToObject(j, "topic", t->topic) ||
                  !cJSON_AddNumberToObject(j, "partitions", t->partition_cnt) ||
                  !cJSON_AddNumberToObject(j, "replication_factor", topic_rf(t)) ||
                  !cJSON_AddBoolToObject(j, key, flag))) {
            cJSON_Delete(j);
            j = NULL;
        }
        return tw_print_json(cl->cmd, j);
    }
    static const char *const hdr[] = {"TOPIC", ">PARTITIONS", ">RF"};
    const char *row[] = {t->topic, np, rf};
    cli_table *tab = cli_table_new(3, hdr);
    cli_table_push(&tab, row);
    return cli_table_done(tab, cl->cmd);
}

/* Prints the topic as metadata shows it now. */
static int print_topic_now(cli_client *cl, const char *name, const char *key, bool flag)
{
    tp_md *md = all_metadata(cl, cl->timeout_ms, false);
    if (!md)
        return 1;
    tp_topic *t = find_topic(md, name);
    int rc = t ? print_summary(cl, t, key, flag) : 1;
    if (!t)
        fprintf(stderr, "%s: unknown topic '%s'\n", cl->cmd, name);
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int cmd_create(cli_client *cl, const tp_args *a)
{
    rd_kafka_NewTopic_t *nt = new_topic(cl, a);
    rd_kafka_AdminOptions_t *o = nt ? cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_CREATETOPICS)
                                    : NULL;
    char err[512];
    if (o && rd_kafka_AdminOptions_set_operation_timeout(o, (int)cl->timeout_ms, err,
                                                         sizeof(err))) {
        fprintf(stderr, "%s: %s\n", cl->cmd, err);
        rd_kafka_AdminOptions_destroy(o);
        o = NULL;
    }
    if (!o) {
        if (nt)
            rd_kafka_NewTopic_destroy(nt);
        return 1;
    }
    rd_kafka_CreateTopics(cl->rk, &nt, 1, o, cl->q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_resp_err_t e;
    char msg[1024];
    if (one_topic_result(cl, "CreateTopics", &e, msg, sizeof(msg)) != 0)
        return 1;
    bool existed = e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && a->if_not_exists;
    if (!existed && admin_error(cl, "create", a->pos[0], e, msg) != 0)
        return 1;
    if (existed && !cl->json)
        printf("topic %s already exists\n", a->pos[0]);
    if (!existed && wait_topics(cl, a->pos, 1, a->partitions, true) != 0)
        return 1;
    return print_topic_now(cl, a->pos[0], "created", !existed);
}

/* ---------------- list ---------------- */

static int name_cmp(const void *x, const void *y)
{
    return strcmp((*(tp_topic *const *)x)->topic, (*(tp_topic *const *)y)->topic);
}

static int print_list(cli_client *cl, tp_topic **ts, int n)
{
    if (cl->json) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; arr && i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            if (!cJSON_AddItemToArray(arr, o) ||
                !cJSON_AddStringToObject(o, "topic", ts[i]->topic) ||
                !cJSON_AddNumberToObject(o, "partitions", ts[i]->partition_cnt) ||
                !cJSON_AddNumberToObject(o, "replication_factor", topic_rf(ts[i])) ||
                !cJSON_AddBoolToObject(o, "internal", kafka_topic_internal(ts[i]->topic))) {
                cJSON_Delete(arr);
                arr = NULL;
            }
        }
        return tw_print_json(cl->cmd, arr);
    }
    static const char *const hdr[] = {"TOPIC", ">PARTITIONS", ">RF"};
    cli_table *tab = cli_table_new(3, hdr);
    for (int i = 0; tab && i < n; i++) {
        char np[16], rf[16];
        snprintf(np, sizeof(np), "%d", ts[i]->partition_cnt);
        snprintf(rf, sizeof(rf), "%" PRId32, topic_rf(ts[i]));
        const char *row[] = {ts[i]->topic, np, rf};
        cli_table_push(&tab, row);
    }
    return cli_table_done(tab, cl->cmd);
}

static int cmd_list(cli_client *cl, const tp_args *a)
{
    tp_md *md = all_metadata(cl, cl->timeout_ms, false);
    if (!md)
        return 1;
    tp_topic **ts = calloc((size_t)md->topic_cnt + 1, sizeof(*ts));
    int n = 0, rc = 1;
    for (int i = 0; ts && i < md->topic_cnt; i++)
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
            (a->all || !kafka_topic_internal(md->topics[i].topic)))
            ts[n++] = &md->topics[i];
    if (!ts) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
    } else {
        qsort(ts, (size_t)n, sizeof(*ts), name_cmp);
        rc = print_list(cl, ts, n);
    }
    free(ts);
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* ---------------- describe ---------------- */

/* What describe shows of one partition beyond metadata. */
typedef struct tp_part {
    int64_t low, high; /* -1: not known */
    int64_t size;      /* -1: not known */
} tp_part;

/* The partition sizes from each broker's DescribeLogDirs, kept where the broker leads.
 * A broker that does not answer leaves its partitions' sizes unknown. */
static void fill_sizes(cli_client *cl, tp_topic *t, const cli_broker *bs, int nb,
                       tp_part *ps)
{
    for (int b = 0; b < nb; b++) {
        tw_part_size *sz = NULL;
        int n = 0;
        char err[512];
        if (tw_log_dirs(cl, bs[b].addr, t->topic, t->partition_cnt, &sz, &n, err,
                        sizeof(err)) != 0) {
            fprintf(stderr, "%s: sizes from broker %" PRId32 " (%s): %s\n", cl->cmd, bs[b].id,
                    bs[b].addr, err);
            continue;
        }
        for (int i = 0; i < n; i++) {
            int32_t p = sz[i].partition;
            if (p >= 0 && p < t->partition_cnt && t->partitions[p].leader == bs[b].id)
                ps[p].size = sz[i].size;
        }
        free(sz);
    }
}

/* Each partition's watermarks from its leader; all of them within one --timeout-ms, so a
 * partition whose leader is gone costs the rest of it once, not once each. */
static void fill_offsets(cli_client *cl, tp_topic *t, tp_part *ps)
{
    int64_t deadline = cli_now_ms() + cl->timeout_ms;
    for (int p = 0; p < t->partition_cnt; p++) {
        int64_t lo = -1, hi = -1, left = deadline - cli_now_ms();
        int id = t->partitions[p].id;
        if (rd_kafka_query_watermark_offsets(cl->rk, t->topic, id, &lo, &hi,
                                             (int)(left > 1 ? left : 1)) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            id >= 0 && id < t->partition_cnt) {
            ps[id].low = lo;
            ps[id].high = hi;
        }
    }
}

static void num_text(int64_t v, char *out, size_t cap)
{
    if (v < 0)
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%" PRId64, v);
}

static int64_t total_size(tp_topic *t, const tp_part *ps)
{
    int64_t total = 0;
    for (int p = 0; p < t->partition_cnt; p++) {
        if (ps[p].size < 0)
            return -1;
        total += ps[p].size;
    }
    return total;
}

static int describe_text(tp_topic *t, const tp_part *ps, const tw_config *cs, int nc)
{
    char total[32];
    num_text(total_size(t, ps), total, sizeof(total));
    printf("topic %s  partitions %d  replication factor %" PRId32 "  size %s bytes\n",
           t->topic, t->partition_cnt, topic_rf(t), total);
    int shown = 0;
    for (int i = 0; i < nc; i++)
        if (!cs[i].is_default)
            printf("%s%s=%s", shown++ ? ", " : "configs: ", cs[i].name,
                   cs[i].value ? cs[i].value : "");
    printf("%s", shown ? "\n" : "configs: (all defaults)\n");
    static const char *const hdr[] = {">PARTITION", ">LEADER", "REPLICAS", "ISR",
                                      ">LOW",       ">HIGH",   ">SIZE"};
    cli_table *tab = cli_table_new(7, hdr);
    for (int p = 0; tab && p < t->partition_cnt; p++) {
        const rd_kafka_metadata_partition_t *mp = &t->partitions[p];
        char id[16], leader[16], reps[256], isr[256], lo[32], hi[32], size[32];
        snprintf(id, sizeof(id), "%" PRId32, mp->id);
        num_text(mp->leader, leader, sizeof(leader));
        ids_text(mp->replicas, mp->replica_cnt, reps, sizeof(reps));
        ids_text(mp->isrs, mp->isr_cnt, isr, sizeof(isr));
        num_text(ps[p].low, lo, sizeof(lo));
        num_text(ps[p].high, hi, sizeof(hi));
        num_text(ps[p].size, size, sizeof(size));
        const char *row[] = {id, leader, reps, isr, lo, hi, size};
        cli_table_push(&tab, row);
    }
    if (!tab)
        return 1;
    cli_table_print(tab, stdout);
    cli_table_free(tab);
    return 0;
}

/* Adds ids as the array `key` of o. Returns false (nothing added) when out of memory. */
static bool add_ids(cJSON *o, const char *key, const int32_t *ids, int n)
{
    cJSON *a = ids_json(ids, n);
    if (!a || !cJSON_AddItemToObject(o, key, a)) {
        cJSON_Delete(a);
        return false;
    }
    return true;
}

static cJSON *part_json(const rd_kafka_metadata_partition_t *mp, const tp_part *pp)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddNumberToObject(o, "partition", mp->id) &&
              cJSON_AddNumberToObject(o, "leader", mp->leader) &&
              add_ids(o, "replicas", mp->replicas, mp->replica_cnt) &&
              add_ids(o, "isr", mp->isrs, mp->isr_cnt) &&
              cJSON_AddNumberToObject(o, "low", (double)pp->low) &&
              cJSON_AddNumberToObject(o, "high", (double)pp->high) &&
              cJSON_AddNumberToObject(o, "size_bytes", (double)pp->size);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *describe_json(tp_topic *t, const tp_part *ps, const tw_config *cs, int nc)
{
    cJSON *o = cJSON_CreateObject(), *parts = cJSON_CreateArray(), *cfg = cJSON_CreateObject();
    bool ok = o && parts && cfg && cJSON_AddStringToObject(o, "topic", t->topic) &&
              cJSON_AddNumberToObject(o, "partitions", t->partition_cnt) &&
              cJSON_AddNumberToObject(o, "replication_factor", topic_rf(t)) &&
              cJSON_AddNumberToObject(o, "size_bytes", (double)total_size(t, ps));
    for (int i = 0; ok && i < nc; i++)
        if (!cs[i].is_default)
            ok = cJSON_AddStringToObject(cfg, cs[i].name, cs[i].value ? cs[i].value : "");
    for (int p = 0; ok && p < t->partition_cnt; p++) {
        cJSON *pj = part_json(&t->partitions[p], &ps[p]);
        ok = pj && cJSON_AddItemToArray(parts, pj);
        if (!ok)
            cJSON_Delete(pj);
    }
    if (ok && cJSON_AddItemToObject(o, "configs", cfg)) {
        cfg = NULL;
        if (cJSON_AddItemToObject(o, "partition_details", parts))
            return o;
    }
    cJSON_Delete(cfg);
    cJSON_Delete(parts);
    cJSON_Delete(o);
    return NULL;
}

/* Gathers and shows one topic: into arr when --json, else printed. Returns 0 or 1. */
static int describe_one(cli_client *cl, tp_topic *t, const cli_broker *bs, int nb,
                        cJSON *arr)
{
    tp_part *ps = calloc((size_t)t->partition_cnt + 1, sizeof(*ps));
    if (!ps) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
        return 1;
    }
    for (int p = 0; p < t->partition_cnt; p++)
        ps[p] = (tp_part){-1, -1, -1};
    fill_offsets(cl, t, ps);
    fill_sizes(cl, t, bs, nb, ps);
    tw_config *cs = NULL;
    int nc = 0;
    int rc = tw_describe_configs(cl, TW_RES_TOPIC, t->topic, &cs, &nc);
    if (rc == 1)
        fprintf(stderr, "%s: unknown topic '%s'\n", cl->cmd, t->topic);
    if (rc == 0 && arr) {
        cJSON *o = describe_json(t, ps, cs, nc);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            fprintf(stderr, "%s: out of memory\n", cl->cmd);
            rc = 1;
        }
    } else if (rc == 0) {
        rc = describe_text(t, ps, cs, nc);
    }
    tw_configs_free(cs, nc);
    free(ps);
    return rc != 0 ? 1 : 0;
}

static int cmd_describe(cli_client *cl, tp_args *a)
{
    tp_md *md = all_metadata(cl, cl->timeout_ms, false);
    if (!md)
        return 1;
    cli_broker *bs = NULL;
    int nb = 0, rc = check_known(cl, md, a->pos, &a->npos, false);
    if (rc == 0 && (nb = cli_client_brokers(cl, &bs)) < 0)
        rc = 1;
    cJSON *arr = rc == 0 && cl->json ? cJSON_CreateArray() : NULL;
    for (int i = 0; rc == 0 && i < a->npos; i++) {
        if (i > 0 && !cl->json)
            printf("\n");
        rc = describe_one(cl, find_topic(md, a->pos[i]), bs, nb, arr);
    }
    if (rc == 0 && cl->json)
        rc = tw_print_json(cl->cmd, arr);
    else
        cJSON_Delete(arr);
    free(bs);
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* ---------------- delete ---------------- */

static int delete_topics(cli_client *cl, const char *const *names, int n)
{
    rd_kafka_DeleteTopic_t **dts = calloc((size_t)n, sizeof(*dts));
    rd_kafka_AdminOptions_t *o = dts ? cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_DELETETOPICS)
                                     : NULL;
    for (int i = 0; o && i < n; i++)
        dts[i] = rd_kafka_DeleteTopic_new(names[i]);
    if (o)
        rd_kafka_DeleteTopics(cl->rk, dts, (size_t)n, o, cl->q);
    for (int i = 0; dts && i < n; i++)
        if (dts[i])
            rd_kafka_DeleteTopic_destroy(dts[i]);
    free(dts);
    if (!o)
        return 1;
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "DeleteTopics", NULL, 0);
    if (!ev)
        return 1;
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr = topic_results(ev, &cnt);
    int rc = tr ? 0 : admin_error(cl, "delete", names[0], RD_KAFKA_RESP_ERR__BAD_MSG,
                                  "unexpected answer");
    for (size_t i = 0; tr && i < cnt; i++)
        rc |= admin_error(cl, "delete", rd_kafka_topic_result_name(tr[i]),
                          rd_kafka_topic_result_error(tr[i]),
                          rd_kafka_topic_result_error_string(tr[i]));
    rd_kafka_event_destroy(ev);
    return rc;
}

static int cmd_delete(cli_client *cl, tp_args *a)
{
    tp_md *md = all_metadata(cl, cl->timeout_ms, false);
    if (!md)
        return 1;
    int rc = check_known(cl, md, a->pos, &a->npos, a->if_exists);
    rd_kafka_metadata_destroy(md);
    if (rc == 0 && a->npos > 0)
        rc = delete_topics(cl, a->pos, a->npos);
    if (rc == 0 && a->npos > 0)
        rc = wait_topics(cl, a->pos, a->npos, 0, false);
    if (rc != 0)
        return rc;
    if (!cl->json) {
        for (int i = 0; i < a->npos; i++)
            printf("deleted topic %s\n", a->pos[i]);
        return 0;
    }
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < a->npos; i++)
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(a->pos[i]))) {
            cJSON_Delete(arr);
            arr = NULL;
        }
    cJSON *j = cJSON_CreateObject();
    if (!j || !arr || !cJSON_AddItemToObject(j, "deleted", arr)) {
        cJSON_Delete(arr);
        cJSON_Delete(j);
        j = NULL;
    }
    return tw_print_json(cl->cmd, j);
}

/* ---------------- alter ---------------- */

static int add_partitions(cli_client *cl, const char *topic, int64_t count)
{
    char err[512];
    rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, (size_t)count, err,
                                                              sizeof(err));
    if (!np) {
        fprintf(stderr, "%s: %s\n", cl->cmd, err);
        return 1;
    }
    rd_kafka_AdminOptions_t *o = cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    if (!o) {
        rd_kafka_NewPartitions_destroy(np);
        return 1;
    }
    rd_kafka_CreatePartitions(cl->rk, &np, 1, o, cl->q);
    rd_kafka_NewPartitions_destroy(np);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_resp_err_t e;
    char msg[1024];
    if (one_topic_result(cl, "CreatePartitions", &e, msg, sizeof(msg)) != 0)
        return 1;
    return admin_error(cl, "add partitions to", topic, e, msg);
}

int cli_topic_alter_configs(cli_client *cl, int8_t type, const char *name, const tw_list *sets,
                            const tw_list *deletes, int32_t broker_id)
{
    tw_config_op ops[2 * TW_MAX_ITEMS];
    char keys[TW_MAX_ITEMS][256];
    int nops = 0;
    for (int i = 0; i < sets->n; i++) {
        const char *value;
        if (split_kv(sets->items[i], keys[i], sizeof(keys[i]), &value) != 0) {
            fprintf(stderr, "%s: '%s' is not KEY=VALUE\n", cl->cmd, sets->items[i]);
            return 2;
        }
        ops[nops++] = (tw_config_op){keys[i], TW_OP_SET, value};
    }
    for (int i = 0; i < deletes->n; i++)
        ops[nops++] = (tw_config_op){deletes->items[i], TW_OP_DELETE, NULL};
    cli_broker b; /* a topic: any broker (it changes the topic cluster-wide) */
    if (cli_client_broker(cl, type == TW_RES_BROKER ? broker_id : -1, &b) != 0)
        return 1;
    int16_t ec = 0;
    char msg[512];
    if (tw_incremental_alter(cl, b.addr, type, name, ops, nops, false, &ec, msg,
                             sizeof(msg)) != 0)
        return 1;
    if (ec == 3 && type == TW_RES_TOPIC) { /* UNKNOWN_TOPIC_OR_PARTITION */
        fprintf(stderr, "%s: unknown topic '%s'\n", cl->cmd, name);
        return 1;
    }
    if (ec != 0) {
        fprintf(stderr, "%s: cannot change the configs of %s '%s': %s%s%s\n", cl->cmd,
                type == TW_RES_TOPIC ? "topic" : "broker", name, kafka_error_name(ec),
                msg[0] ? ": " : "", msg);
        return 1;
    }
    return 0;
}

static int cmd_alter(cli_client *cl, tp_args *a)
{
    tp_md *md = all_metadata(cl, cl->timeout_ms, false);
    if (!md)
        return 1;
    int rc = check_known(cl, md, a->pos, &a->npos, false);
    int32_t before = rc == 0 ? find_topic(md, a->pos[0])->partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (rc == 0 && a->seen_partitions)
        rc = add_partitions(cl, a->pos[0], a->partitions);
    if (rc == 0 && a->seen_partitions)
        rc = wait_topics(cl, a->pos, 1, a->partitions, true);
    if (rc == 0 && (a->configs.n > 0 || a->deletes.n > 0))
        rc = cli_topic_alter_configs(cl, TW_RES_TOPIC, a->pos[0], &a->configs, &a->deletes, -1);
    if (rc != 0)
        return rc;
    if (!cl->json) {
        if (a->seen_partitions)
            printf("topic %s: partitions %" PRId32 " -> %" PRId64 "\n", a->pos[0], before,
                   a->partitions);
        for (int i = 0; i < a->configs.n; i++)
            printf("topic %s: set %s\n", a->pos[0], a->configs.items[i]);
        for (int i = 0; i < a->deletes.n; i++)
            printf("topic %s: %s back to its default\n", a->pos[0], a->deletes.items[i]);
        return 0;
    }
    return print_topic_now(cl, a->pos[0], "altered", true);
}

/* ---------------- arguments ---------------- */

void cli_topic_usage(FILE *out)
{
    fprintf(out,
            "brook topic create NAME [--partitions N] [--replication-factor N] "
            "[--config K=V]... [--if-not-exists]\n"
            "brook topic list [--all]              topics, partitions, replication factor "
            "(--all: internal ones too)\n"
            "brook topic describe NAME...          leaders, replicas, ISR, offsets, size, "
            "non-default configs\n"
            "brook topic delete NAME... [--if-exists]\n"
            "brook topic alter NAME [--partitions N] [--config K=V]... [--delete-config K]...\n"
            TW_FLAGS_USAGE,
            CLI_TIMEOUT_DEFAULT_MS);
}

/* The words each subcommand needs, once its flags are parsed. Returns 0, or 2 after
 * printing. */
static int check_words(const char *sub, const tp_args *a)
{
    bool one = strcmp(sub, "create") == 0 || strcmp(sub, "alter") == 0;
    bool many = strcmp(sub, "describe") == 0 || strcmp(sub, "delete") == 0;
    const char *why = NULL;
    if (one && a->npos != 1)
        why = "expects one topic name";
    else if (many && a->npos < 1)
        why = "expects at least one topic name";
    else if (!one && !many && a->npos > 0)
        why = "takes no topic name";
    else if (strcmp(sub, "alter") == 0 && !a->seen_partitions && a->configs.n == 0 &&
             a->deletes.n == 0)
        why = "needs --partitions, --config or --delete-config";
    else if (strcmp(sub, "create") != 0 && strcmp(sub, "alter") != 0 && a->configs.n > 0)
        why = "takes no --config";
    else if (strcmp(sub, "alter") != 0 && a->deletes.n > 0)
        why = "takes no --delete-config";
    for (int i = 0; !why && i < a->npos; i++)
        if (a->pos[i][0] == '\0')
            why = "a topic name is empty";
    for (int i = 0; !why && i < a->configs.n; i++)
        if (!strchr(a->configs.items[i], '=') || a->configs.items[i][0] == '=')
            why = "--config takes KEY=VALUE";
    if (why)
        fprintf(stderr, "%s: %s\n", a->cmd, why);
    return why ? 2 : 0;
}

static int run(const char *sub, tp_args *a)
{
    cli_client cl;
    int rc = cli_client_open(&cl, a->cmd, cli_bootstrap(a->bootstrap), a->timeout_ms,
                             RD_KAFKA_PRODUCER, NULL);
    cl.json = a->json;
    if (rc == 0) {
        if (strcmp(sub, "create") == 0)
            rc = cmd_create(&cl, a);
        else if (strcmp(sub, "list") == 0)
            rc = cmd_list(&cl, a);
        else if (strcmp(sub, "describe") == 0)
            rc = cmd_describe(&cl, a);
        else if (strcmp(sub, "delete") == 0)
            rc = cmd_delete(&cl, a);
        else
            rc = cmd_alter(&cl, a);
    }
    cli_client_close(&cl);
    return rc;
}

int cli_topic_main(int argc, char **argv)
{
    static const char *const subs[] = {"create", "list", "describe", "delete", "alter"};
    const char *sub = argc > 0 ? argv[0] : "";
    bool known = false;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        known |= strcmp(sub, subs[i]) == 0;
    if (!known)
        return tw_bad_subcommand("topic", argc, sub, cli_topic_usage);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook topic %s", sub);
    tp_args a = {.cmd = cmd, .timeout_ms = CLI_TIMEOUT_DEFAULT_MS, .partitions = -1, .rf = -1,
                 .configs = {.flag = "config"}, .deletes = {.flag = "delete-config"}};
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &a.bootstrap, 0, 0, NULL, NULL, "broker HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a.timeout_ms, 1, 3600000, NULL, NULL, "timeout"},
        {"json", CLI_OPT_BOOL, &a.json, 0, 0, NULL, NULL, "print JSON"},
        {"partitions", CLI_OPT_I64, &a.partitions, 1, 100000, NULL, &a.seen_partitions,
         "partitions"},
        {"replication-factor", CLI_OPT_I64, &a.rf, 1, 32767, NULL, NULL, "replicas"},
        {"if-not-exists", CLI_OPT_BOOL, &a.if_not_exists, 0, 0, NULL, NULL, "create"},
        {"if-exists", CLI_OPT_BOOL, &a.if_exists, 0, 0, NULL, NULL, "delete"},
        {"all", CLI_OPT_BOOL, &a.all, 0, 0, NULL, NULL, "list"},
    };
    tw_list lists[2] = {a.configs, a.deletes};
    int prc = tw_parse(cmd, argc - 1, argv + 1, opts, sizeof(opts) / sizeof(opts[0]), lists, 2,
                       a.pos, &a.npos);
    a.configs = lists[0];
    a.deletes = lists[1];
    if (prc == 1) {
        cli_topic_usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    int rc = check_words(sub, &a);
    return rc != 0 ? rc : run(sub, &a);
}
