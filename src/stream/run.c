/*
 * stream/run.c - the stream runtime: group membership, tasks, and the commit protocol's
 * actions performed against librdkafka, PostgreSQL and files (docs/stream.md).
 *
 * One thread. Each assigned input partition is a task with its own transactional
 * producer (transactional.id "<pipeline>-task-<partition>"), so that whoever takes a task
 * over fences the previous owner at the broker before it resolves that owner's prepared
 * participants; offsets are sent with the consumer's group metadata, so a member that
 * left the group cannot commit either (KIP-447).
 */
#include "stream/run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "cli/kafka.h"
#include "stream/commit.h"
#include "stream/files.h"
#include "stream/metrics.h"
#include "stream/ops.h"
#include "stream/pg.h"
#include "stream/pipeline.h"
#include "stream/tables.h"

#define RUN_MAX_TASKS 1024
#define RUN_OP_TIMEOUT_MS 30000

typedef struct task {
    int32_t partition;
    sc_task sc;
    rd_kafka_t *producer;
    st_topology *topo;
    pg_sink *pg;
    file_sink *files;
    int64_t next_offset;   /* input position after the last record processed */
    int64_t begun_ms;      /* when the open interval began */
    bool pg_prepared, files_prepared;
    int fails_in_row;
    int delivery_failures; /* at_least_once: failed deliveries since the last commit */
    char last_err[512];
} task;

typedef struct runner {
    stream_pipeline pl;
    rd_kafka_t *consumer;
    rd_kafka_t *reader; /* read_committed reads of progress and changelog partitions */
    rd_kafka_t *table_reader; /* the join tables' topics, all partitions, read_committed */
    stream_tables *tables;    /* NULL: no table.<name>.topic */
    task *tasks[RUN_MAX_TASKS];  /* by input partition, for routing records */
    task *active[RUN_MAX_TASKS]; /* the same tasks, packed: what the loop turns visit */
    int nactive;
    int32_t partitions; /* of the source topic */
    bool in_rebalance;
    int64_t assigned_ms; /* when the last assignment's recoveries ended */
    int64_t first_record_ms, last_commit_ms; /* for the throughput line at exit */
    int metrics_port; /* 0: no /metrics */
    stream_metrics *m;
    st_call_fn call;  /* the C operators (libbrook-stream); NULL: none */
    void *call_ctx;
    volatile sig_atomic_t *stop; /* set: commit and return */
} runner;

/* The stop flag of an instance forked by --instances (its own SIGTERM handler sets it). */
static volatile sig_atomic_t g_child_stop;

static int atoi_bounded(const char *s)
{
    long v = strtol(s, NULL, 10);
    return v < 1 ? 1 : v > 1000000 ? 1000000 : (int)v;
}

static void on_child_signal(int sig)
{
    (void)sig;
    g_child_stop = 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const runner *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "brook run %s: ", r->pl.name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A crash on purpose, for the tests of recovery: BROOK_STREAM_FAILPOINT=<point>:<n> kills
 * the process with SIGKILL the n-th time it reaches <point> ("prepared": participants
 * prepared, broker not yet committed; "committed": broker committed (with or without
 * participants), participants not yet finished; "finishing": PostgreSQL committed, the file
 * not yet renamed). */
static void failpoint(const char *point)
{
    static int hits;
    const char *fp = getenv("BROOK_STREAM_FAILPOINT");
    size_t n = strlen(point);
    if (!fp || strncmp(fp, point, n) != 0 || fp[n] != ':')
        return;
    if (++hits >= atoi_bounded(fp + n + 1)) {
        fprintf(stderr, "brook run: failpoint %s reached: SIGKILL\n", point);
        raise(SIGKILL);
    }
}

/* ---- clients ------------------------------------------------------------------------ */

static rd_kafka_conf_t *base_conf(const runner *r)
{
    rd_kafka_conf_t *c = cli_kafka_conf(r->pl.bootstrap);
    if (!c)
        return NULL;
    for (int i = 0; i < r->pl.nclient; i++)
        if (cli_kafka_set(c, r->pl.client_keys[i], r->pl.client_values[i]) != 0) {
            rd_kafka_conf_destroy(c);
            return NULL;
        }
    return c;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *c)
{
    char errstr[512];
    if (!c)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(type, c, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "brook run: %s\n", errstr);
        rd_kafka_conf_destroy(c);
    }
    return rk;
}

/* A reader: no group, read_committed, end of partition reported; `wait` is its
 * fetch.wait.max.ms. */
static rd_kafka_t *new_reader(const runner *r, const char *wait)
{
    rd_kafka_conf_t *c = base_conf(r);
    if (!c || cli_kafka_set(c, "isolation.level", "read_committed") != 0 ||
        cli_kafka_set(c, "enable.partition.eof", "true") != 0 ||
        cli_kafka_set(c, "fetch.wait.max.ms", wait) != 0 ||
        cli_kafka_set(c, "enable.auto.commit", "false") != 0 ||
        cli_kafka_set(c, "group.id", "brook-run-reader") != 0) {
        if (c)
            rd_kafka_conf_destroy(c);
        return NULL;
    }
    return new_client(RD_KAFKA_CONSUMER, c);
}

typedef int (*read_cb)(void *ctx, const rd_kafka_message_t *m);

/* Reads topic/partition from `from` to its end as of now, committed records only, handing
 * each record to cb. The end is the high watermark read first: every transaction that
 * wrote below it is decided by then (the task's producer was fenced), so the reader's
 * committed end reaches it. Bounded by the pipeline's transaction timeout. 0 or -1. */
static int read_range(runner *r, const char *topic, int32_t part, int64_t from, read_cb cb,
                      void *ctx, char *err, size_t errlen)
{
    int64_t lo, hi;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(r->reader, topic, part, &lo, &hi,
                                                             RUN_OP_TIMEOUT_MS);
    if (e) {
        snprintf(err, errlen, "watermarks of %s [%d]: %s", topic, part, rd_kafka_err2str(e));
        return -1;
    }
    if (from < lo)
        from = lo;
    if (from >= hi)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, part)->offset = from;
    e = rd_kafka_assign(r->reader, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errlen, "assign %s [%d]: %s", topic, part, rd_kafka_err2str(e));
        return -1;
    }
    int rc = -1;
    int64_t deadline = mono_ms() + r->pl.transaction_timeout_ms + RUN_OP_TIMEOUT_MS;
    snprintf(err, errlen, "%s [%d]: the committed end did not reach offset %" PRId64
                          " in time", topic, part, hi);
    while (mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->reader, 200);
        if (!m)
            continue;
        bool done = false;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            done = m->offset >= hi;
        } else if (m->err) {
            snprintf(err, errlen, "reading %s [%d]: %s", topic, part, rd_kafka_message_errstr(m));
            done = true;
            rc = -2;
        } else {
            if (cb(ctx, m) != 0) {
                snprintf(err, errlen, "%s [%d] offset %" PRId64 ": unreadable record", topic,
                         part, m->offset);
                rc = -2;
                done = true;
            }
            done = done || m->offset + 1 >= hi;
        }
        rd_kafka_message_destroy(m);
        if (done) {
            rc = rc == -2 ? -1 : 0;
            break;
        }
    }
    rd_kafka_assign(r->reader, NULL);
    return rc;
}

/* ---- progress records --------------------------------------------------------------- */

typedef struct progress {
    int64_t seq;      /* of the last committed progress record; -1: none */
    int64_t gen;      /* its generation */
    int64_t offset;   /* the input offset committed with it */
    int64_t max_gen;  /* the largest generation in the partition (claims included); -1 */
} progress;

/* A progress partition holds two kinds of record: a claim {"claim": G} committed by each
 * recovery, and an interval's progress {"seq", "gen", "offset", ...}. */
static int on_progress(void *ctx, const rd_kafka_message_t *m)
{
    progress *p = ctx;
    cJSON *j = cJSON_ParseWithLength(m->payload, m->len);
    const cJSON *claim = cJSON_GetObjectItemCaseSensitive(j, "claim");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(j, "gen");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "offset");
    int rc = -1;
    if (cJSON_IsNumber(claim)) {
        if ((int64_t)claim->valuedouble > p->max_gen)
            p->max_gen = (int64_t)claim->valuedouble;
        rc = 0;
    } else if (cJSON_IsNumber(seq) && cJSON_IsNumber(gen) && cJSON_IsNumber(off)) {
        p->seq = (int64_t)seq->valuedouble;
        p->gen = (int64_t)gen->valuedouble;
        p->offset = (int64_t)off->valuedouble;
        if (p->gen > p->max_gen)
            p->max_gen = p->gen;
        rc = 0;
    }
    cJSON_Delete(j);
    return rc;
}

/* The task's last committed progress record and largest generation, searched backwards
 * from the end in growing windows (the last record of each kind is what matters, and
 * generations only grow along the partition). */
static int last_progress(runner *r, int32_t part, progress *out, char *err, size_t errlen)
{
    int64_t lo, hi;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        r->reader, r->pl.progress_topic, part, &lo, &hi, RUN_OP_TIMEOUT_MS);
    if (e) {
        snprintf(err, errlen, "watermarks of %s [%d]: %s", r->pl.progress_topic, part,
                 rd_kafka_err2str(e));
        return -1;
    }
    for (int64_t win = 64;; win *= 4) {
        int64_t from = hi - win > lo ? hi - win : lo;
        out->seq = out->gen = out->offset = out->max_gen = -1;
        if (read_range(r, r->pl.progress_topic, part, from, on_progress, out, err, errlen))
            return -1;
        if (out->seq >= 0 || from == lo)
            return 0;
    }
}

/* Claims generation pr->max_gen + 1 for the task by committing a claim record: refused
 * when a newer owner has fenced this producer, so claims are ordered like the fencing. */
static int claim_generation(runner *r, struct task *t, const progress *pr, int64_t *gen);

/* ---- the actions ---------------------------------------------------------------------- */

static sc_outcome txn_outcome(rd_kafka_error_t *e, task *t, const char *what)
{
    if (!e)
        return SC_OK;
    snprintf(t->last_err, sizeof t->last_err, "%s: %s", what, rd_kafka_error_string(e));
    sc_outcome o = rd_kafka_error_txn_requires_abort(e) ? SC_FAIL : SC_UNKNOWN;
    rd_kafka_error_destroy(e);
    return o;
}

/* at_least_once: a failed delivery fails the interval's commit (its offsets stay). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err)
        ((task *)opaque)->delivery_failures++;
}

/* The task's producer: transactional (exactly_once), or idempotent with delivery reports
 * counted into the task (at_least_once). */
static rd_kafka_t *task_producer(runner *r, task *t)
{
    char txid[256], tmo[32];
    snprintf(txid, sizeof txid, "%s-task-%d", r->pl.name, t->partition);
    snprintf(tmo, sizeof tmo, "%" PRId64, r->pl.transaction_timeout_ms);
    rd_kafka_conf_t *c = base_conf(r);
    bool bad = !c || cli_kafka_set(c, "linger.ms", "5") != 0;
    if (!bad && r->pl.exactly_once)
        bad = cli_kafka_set(c, "transactional.id", txid) != 0 ||
              cli_kafka_set(c, "transaction.timeout.ms", tmo) != 0;
    else if (!bad)
        bad = cli_kafka_set(c, "enable.idempotence", "true") != 0;
    if (bad) {
        if (c)
            rd_kafka_conf_destroy(c);
        return NULL;
    }
    if (!r->pl.exactly_once) {
        rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
        rd_kafka_conf_set_opaque(c, t);
    }
    rd_kafka_t *p = new_client(RD_KAFKA_PRODUCER, c);
    /* A new producer learns a topic's partitions only when it first produces to it, after
     * a refresh delay (~1 s): ask for every topic's metadata now, so a recovery's claim and
     * an interval's first records do not wait for it. Best effort. */
    const struct rd_kafka_metadata *md = NULL;
    if (p && rd_kafka_metadata(p, 1, NULL, &md, RUN_OP_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    return p;
}

static int produce(task *t, const char *topic, int32_t part, const void *key, size_t klen,
                   const void *val, size_t vlen);

static int claim_generation(runner *r, task *t, const progress *pr, int64_t *gen)
{
    char key[32], val[64];
    *gen = pr->max_gen + 1;
    snprintf(key, sizeof key, "%d", t->partition);
    int vl = snprintf(val, sizeof val, "{\"claim\":%" PRId64 "}", *gen);
    if (txn_outcome(rd_kafka_begin_transaction(t->producer), t, "begin (claim)") != SC_OK)
        return -1;
    if (produce(t, r->pl.progress_topic, t->partition, key, strlen(key), val, (size_t)vl)) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(t->producer, RUN_OP_TIMEOUT_MS);
        if (e)
            rd_kafka_error_destroy(e);
        return -1;
    }
    return txn_outcome(rd_kafka_commit_transaction(t->producer, RUN_OP_TIMEOUT_MS), t,
                       "commit (claim)") == SC_OK ? 0 : -1;
}

/* One participant, seen by recovery: list what it holds prepared, finish one of them. */
typedef struct participant {
    const char *name; /* for the log */
    void *sink;
    int (*list)(void *sink, sc_in_doubt **out, char *err, size_t errlen);
    int (*finish)(void *sink, int64_t seq, int64_t gen, bool commit, char *err, size_t errlen);
} participant;

static int pg_list(void *s, sc_in_doubt **out, char *err, size_t errlen)
{
    return pg_sink_list_prepared(s, out, err, errlen);
}
static int pg_finish(void *s, int64_t seq, int64_t gen, bool commit, char *err, size_t errlen)
{
    return pg_sink_finish(s, seq, gen, commit, err, errlen);
}
static int files_list(void *s, sc_in_doubt **out, char *err, size_t errlen)
{
    return file_sink_list_prepared(s, out, err, errlen);
}
static int files_finish(void *s, int64_t seq, int64_t gen, bool commit, char *err,
                        size_t errlen)
{
    return file_sink_finish(s, seq, gen, commit, err, errlen);
}

/* Resolves what one participant holds prepared by the recovery rule. */
static int resolve_participant(runner *r, task *t, const participant *p, const progress *pr,
                               int64_t my_gen)
{
    sc_in_doubt *v;
    int n = p->list(p->sink, &v, t->last_err, sizeof t->last_err);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        sc_resolution res = sc_resolve(pr->seq, pr->gen, my_gen, v[i].seq, v[i].gen);
        if (res == SC_RESOLVE_LEAVE)
            continue;
        if (p->finish(p->sink, v[i].seq, v[i].gen, res == SC_RESOLVE_COMMIT, t->last_err,
                      sizeof t->last_err) != 0) {
            free(v);
            return -1;
        }
        stream_metrics_add(r->m, SM_IN_DOUBT_RESOLVED, 1);
        say(r, "task %d: %s of interval %" PRId64 " (generation %" PRId64 ") %s at recovery",
            t->partition, p->name, v[i].seq, v[i].gen,
            res == SC_RESOLVE_COMMIT ? "committed" : "rolled back");
    }
    free(v);
    return 0;
}

static int resolve_participants(runner *r, task *t, const progress *pr, int64_t my_gen)
{
    participant pg = {"PostgreSQL transaction", t->pg, pg_list, pg_finish};
    participant files = {"part file", t->files, files_list, files_finish};
    return (t->pg && resolve_participant(r, t, &pg, pr, my_gen) != 0) ||
                   (t->files && resolve_participant(r, t, &files, pr, my_gen) != 0)
               ? -1
               : 0;
}

static int on_changelog(void *ctx, const rd_kafka_message_t *m)
{
    task *t = ctx;
    char err[256];
    return st_restore(t->topo, m->key, m->key_len, m->payload, m->payload ? m->len : 0, err,
                      sizeof err);
}

/* The input offset to resume from: the progress record's, else the group's committed
 * offset (a group reset by hand), else the beginning. */
static int64_t resume_offset(runner *r, task *t, const progress *pr)
{
    if (pr->seq >= 0)
        return pr->offset;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->pl.source_topic, t->partition);
    int64_t off = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_committed(r->consumer, l, RUN_OP_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        l->elems[0].offset >= 0)
        off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

/* SC_DO_RECOVER: fence, read progress, claim a generation, resolve participants, restore
 * state, reposition. */
static sc_outcome task_recover(runner *r, task *t, progress *pr, int64_t *gen)
{
    stream_metrics_add(r->m, SM_RECOVERIES, 1);
    if (t->producer)
        rd_kafka_destroy(t->producer);
    t->producer = task_producer(r, t);
    if (!t->producer) {
        snprintf(t->last_err, sizeof t->last_err, "cannot create the task's producer");
        return SC_FAIL;
    }
    if (!r->pl.exactly_once) {
        *gen = t->sc.generation + 1; /* nothing is prepared or fenced: no claim */
    } else if (txn_outcome(rd_kafka_init_transactions(t->producer, RUN_OP_TIMEOUT_MS), t,
                           "init transactions") != SC_OK ||
               last_progress(r, t->partition, pr, t->last_err, sizeof t->last_err) != 0 ||
               claim_generation(r, t, pr, gen) != 0 ||
               resolve_participants(r, t, pr, *gen) != 0) {
        return SC_FAIL;
    }
    if (t->pg)
        pg_sink_rollback_open(t->pg);
    if (t->files)
        file_sink_rollback_open(t->files);
    st_reset(t->topo);
    if (read_range(r, r->pl.changelog_topic, t->partition, 0, on_changelog, t, t->last_err,
                   sizeof t->last_err) != 0)
        return SC_FAIL;
    st_records cl = {0};
    st_drain_changelog(t->topo, &cl); /* restored entries are not changes */
    st_records_clear(&cl);
    t->next_offset = resume_offset(r, t, pr);
    if (!r->in_rebalance) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, r->pl.source_topic, t->partition)->offset =
            t->next_offset;
        rd_kafka_error_t *e = rd_kafka_seek_partitions(r->consumer, l, RUN_OP_TIMEOUT_MS);
        rd_kafka_topic_partition_list_destroy(l);
        if (txn_outcome(e, t, "seek") != SC_OK)
            return SC_FAIL;
    }
    return SC_OK;
}

/* Produces one record in the task's transaction, waiting out a full local queue. */
static int produce(task *t, const char *topic, int32_t part, const void *key, size_t klen,
                   const void *val, size_t vlen)
{
    for (int i = 0; i < 1000; i++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            t->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(t->last_err, sizeof t->last_err, "produce to %s: %s", topic,
                     rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(t->producer, 10);
    }
    snprintf(t->last_err, sizeof t->last_err, "produce to %s: local queue full", topic);
    return -1;
}

static sc_outcome task_prepare(runner *r, task *t)
{
    t->pg_prepared = t->files_prepared = false;
    if (!r->pl.exactly_once)
        return SC_OK; /* at_least_once: the commit step writes everything */
    if (t->pg && pg_sink_pending(t->pg)) {
        if (pg_sink_prepare(t->pg, t->sc.seq, t->sc.generation, t->last_err,
                            sizeof t->last_err) != 0)
            return SC_FAIL;
        t->pg_prepared = true;
    }
    if (t->files && file_sink_pending(t->files)) {
        if (file_sink_prepare(t->files, t->last_err, sizeof t->last_err) != 0)
            return SC_FAIL;
        t->files_prepared = true;
    }
    return SC_OK;
}

/* at_least_once: every output and changelog record delivered, the PostgreSQL transaction
 * committed, then the input offset committed to the group. A crash in between repeats the
 * interval: outputs may be written twice (upserts make the table's rows right again). */
static sc_outcome commit_at_least_once(runner *r, task *t)
{
    if (rd_kafka_flush(t->producer, RUN_OP_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        t->delivery_failures > 0) {
        snprintf(t->last_err, sizeof t->last_err, "%d output(s) not delivered",
                 t->delivery_failures);
        t->delivery_failures = 0;
        return SC_FAIL;
    }
    if (t->pg && pg_sink_commit_open(t->pg, t->last_err, sizeof t->last_err) != 0)
        return SC_FAIL;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->pl.source_topic, t->partition)->offset =
        t->next_offset;
    rd_kafka_resp_err_t e = rd_kafka_commit(r->consumer, l, 0);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(t->last_err, sizeof t->last_err, "offset commit: %s", rd_kafka_err2str(e));
        return SC_FAIL;
    }
    return SC_OK;
}

/* The changelog writes and the progress record, then offsets and the commit. */
static sc_outcome task_commit(runner *r, task *t)
{
    st_records cl = {0};
    st_drain_changelog(t->topo, &cl);
    int bad = 0;
    for (size_t i = 0; i < cl.n && !bad; i++)
        bad = produce(t, r->pl.changelog_topic, t->partition, cl.v[i].key, cl.v[i].key_len,
                      cl.v[i].value, cl.v[i].value_len);
    st_records_clear(&cl);
    if (!r->pl.exactly_once)
        return bad ? SC_FAIL : commit_at_least_once(r, t);
    char key[32], val[256];
    snprintf(key, sizeof key, "%d", t->partition);
    int vl = snprintf(val, sizeof val,
                      "{\"seq\":%" PRId64 ",\"gen\":%" PRId64 ",\"offset\":%" PRId64
                      ",\"postgres\":%s,\"files\":%s}",
                      t->sc.seq, t->sc.generation, t->next_offset,
                      t->pg_prepared ? "true" : "false", t->files_prepared ? "true" : "false");
    if (bad || produce(t, r->pl.progress_topic, t->partition, key, strlen(key), val,
                       (size_t)vl) != 0)
        return SC_FAIL;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->pl.source_topic, t->partition)->offset =
        t->next_offset;
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(r->consumer);
    rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(t->producer, l, md,
                                                                 RUN_OP_TIMEOUT_MS);
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) { /* nothing was committed: no commit was asked */
        txn_outcome(e, t, "send offsets");
        return SC_FAIL;
    }
    for (int i = 0;; i++) {
        e = rd_kafka_commit_transaction(t->producer, RUN_OP_TIMEOUT_MS);
        if (!e || !rd_kafka_error_is_retriable(e) || i == 5)
            return txn_outcome(e, t, "commit");
        rd_kafka_error_destroy(e);
    }
}

static sc_outcome task_finish(runner *r, task *t)
{
    (void)r;
    if (t->pg_prepared &&
        pg_sink_finish(t->pg, t->sc.seq, t->sc.generation, true, t->last_err,
                       sizeof t->last_err) != 0)
        return SC_FAIL;
    if (t->pg_prepared && t->files_prepared)
        failpoint("finishing");
    t->pg_prepared = false;
    if (t->files_prepared &&
        file_sink_finish(t->files, t->sc.seq, t->sc.generation, true, t->last_err,
                         sizeof t->last_err) != 0)
        return SC_FAIL;
    t->files_prepared = false;
    return SC_OK;
}

/* Best effort: whatever is left is found and rolled back by the recovery that follows. */
static sc_outcome task_abort(runner *r, task *t)
{
    char err[256];
    rd_kafka_error_t *e = r->pl.exactly_once
                              ? rd_kafka_abort_transaction(t->producer, RUN_OP_TIMEOUT_MS)
                              : NULL;
    if (e)
        rd_kafka_error_destroy(e);
    if (t->pg) {
        if (t->pg_prepared)
            pg_sink_finish(t->pg, t->sc.seq, t->sc.generation, false, err, sizeof err);
        pg_sink_rollback_open(t->pg);
    }
    if (t->files) {
        if (t->files_prepared)
            file_sink_finish(t->files, t->sc.seq, t->sc.generation, false, err, sizeof err);
        file_sink_rollback_open(t->files);
    }
    t->pg_prepared = t->files_prepared = false;
    return SC_OK;
}

/* Before giving up: every other task's open interval is aborted (best effort) so that no
 * part file or open PostgreSQL transaction outlives the process; what a crash would leave
 * is resolved by the next recovery anyway. */
static void abandon_all(runner *r)
{
    for (int i = 0; i < r->nactive; i++) {
        task *t = r->active[i];
        if (t->sc.state != SC_IDLE && t->sc.state != SC_RECOVERING)
            task_abort(r, t);
    }
}

/* Performs actions until the task waits for input or time. Gives up (exits 1) after
 * recovery.max.attempts recoveries in a row without a commit: a participant that refuses
 * every interval (a constraint violated, a server gone) must be seen, not retried for
 * ever. Nothing of the failed interval is committed anywhere. */
static void drive(runner *r, task *t, sc_action a)
{
    while (a != SC_DO_NOTHING) {
        int64_t t0 = mono_ms();
        switch (a) {
        case SC_DO_RECOVER: {
            if (t->fails_in_row++ > r->pl.max_recoveries) {
                say(r, "task %d: giving up after %d recoveries in a row without a commit; "
                    "last error: %s", t->partition, r->pl.max_recoveries, t->last_err);
                abandon_all(r);
                exit(1);
            }
            if (t->fails_in_row > 1) {
                say(r, "task %d: recovering (%s)", t->partition, t->last_err);
                usleep(200000u * (unsigned)(t->fails_in_row < 10 ? t->fails_in_row : 10));
            }
            progress pr = {-1, -1, -1, -1};
            int64_t gen = -1;
            sc_outcome o = task_recover(r, t, &pr, &gen);
            a = sc_recovered(&t->sc, o, pr.seq, gen);
            break;
        }
        case SC_DO_BEGIN:
            t->begun_ms = t0;
            a = sc_begun(&t->sc, r->pl.exactly_once
                                     ? txn_outcome(rd_kafka_begin_transaction(t->producer),
                                                   t, "begin")
                                     : SC_OK);
            break;
        case SC_DO_PREPARE:
            a = sc_prepared(&t->sc, task_prepare(r, t));
            if (a == SC_DO_COMMIT_BROKER && (t->pg_prepared || t->files_prepared))
                failpoint("prepared");
            break;
        case SC_DO_COMMIT_BROKER:
            a = sc_broker_committed(&t->sc, task_commit(r, t));
            if (t->sc.state == SC_FINISHING) {
                r->last_commit_ms = mono_ms();
                failpoint("committed");
                stream_metrics_add(r->m, SM_COMMITS, 1);
                stream_metrics_observe_commit(r->m, mono_ms() - t->begun_ms);
                t->fails_in_row = 0;
            }
            break;
        case SC_DO_FINISH:
            a = sc_finished(&t->sc, task_finish(r, t));
            break;
        case SC_DO_ABORT:
            stream_metrics_add(r->m, SM_ABORTS, 1);
            say(r, "task %d: interval %" PRId64 " aborted: %s", t->partition, t->sc.seq,
                t->last_err);
            a = sc_aborted(&t->sc, task_abort(r, t));
            break;
        case SC_DO_NOTHING:
            break;
        }
    }
}

/* ---- records ------------------------------------------------------------------------ */

/* A record the topology refuses goes to the dead-letter topic with the reason, inside the
 * interval's transaction (so it is there exactly once too). */
static int dead_letter(runner *r, task *t, const rd_kafka_message_t *m, const char *why)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", why);
    cJSON_AddStringToObject(j, "topic", r->pl.source_topic);
    cJSON_AddNumberToObject(j, "partition", m->partition);
    cJSON_AddNumberToObject(j, "offset", (double)m->offset);
    char *v = strndup(m->payload ? (const char *)m->payload : "", m->len);
    cJSON_AddStringToObject(j, "value", v ? v : "");
    free(v);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int rc = text ? produce(t, r->pl.dlq_topic, RD_KAFKA_PARTITION_UA, m->key, m->key_len,
                            text, strlen(text))
                  : -1;
    cJSON_free(text);
    stream_metrics_add(r->m, SM_DEAD_LETTERS, 1);
    return rc;
}

static int emit(runner *r, task *t, const st_records *out)
{
    for (size_t i = 0; i < out->n; i++) {
        const st_record *o = &out->v[i];
        if (r->pl.sink_topic &&
            produce(t, r->pl.sink_topic, RD_KAFKA_PARTITION_UA, o->key, o->key_len, o->value,
                    o->value_len) != 0)
            return -1;
        if (t->pg && pg_sink_row(t->pg, o->value, o->value_len, t->last_err,
                                 sizeof t->last_err) != 0)
            return -1;
        if (t->files && file_sink_write(t->files, t->sc.seq, t->sc.generation, o->value,
                                        o->value_len, t->last_err, sizeof t->last_err) != 0)
            return -1;
    }
    stream_metrics_add(r->m, SM_RECORDS_OUT, out->n);
    return 0;
}

static void on_record(runner *r, const rd_kafka_message_t *m)
{
    task *t = m->partition >= 0 && m->partition < RUN_MAX_TASKS ? r->tasks[m->partition] : NULL;
    if (!t || m->offset < t->next_offset)
        return; /* not ours any more, or fetched before a seek back */
    if (!r->first_record_ms)
        r->first_record_ms = mono_ms();
    if (t->sc.state == SC_IDLE)
        drive(r, t, sc_begin(&t->sc));
    if (t->sc.state != SC_OPEN)
        return; /* the begin failed; recovery sought the input back */
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    st_records out = {0};
    char why[512];
    int rc = st_process(t->topo, m->key, m->key_len, m->payload, m->len, ts, &out, why,
                        sizeof why);
    rc = rc == 0 ? emit(r, t, &out) : dead_letter(r, t, m, why);
    st_records_clear(&out);
    stream_metrics_add(r->m, SM_RECORDS_IN, 1);
    t->next_offset = m->offset + 1;
    if (rc != 0)
        drive(r, t, sc_fail(&t->sc));
}

/* Commits every open interval that is due (or all of them, at shutdown or revocation). */
static void commit_due(runner *r, bool all)
{
    int64_t now = mono_ms();
    for (int i = 0; i < r->nactive; i++) {
        task *t = r->active[i];
        if (t->sc.state == SC_OPEN && (all || now - t->begun_ms >= r->pl.commit_interval_ms))
            drive(r, t, sc_due(&t->sc));
    }
}

/* ---- tasks and the group ------------------------------------------------------------ */

static void task_free(task *t)
{
    if (!t)
        return;
    if (t->producer)
        rd_kafka_destroy(t->producer);
    st_topology_free(t->topo);
    pg_sink_close(t->pg);
    file_sink_close(t->files);
    free(t);
}

static task *task_new(runner *r, int32_t part)
{
    task *t = calloc(1, sizeof *t);
    char err[512];
    if (!t)
        return NULL;
    t->partition = part;
    t->topo = st_topology_new((const char *const *)r->pl.ops, r->pl.nops, err, sizeof err);
    if (t->topo && r->tables)
        st_topology_set_lookup(t->topo, stream_tables_lookup, r->tables);
    if (t->topo && r->call)
        st_topology_set_call(t->topo, r->call, r->call_ctx);
    if (t->topo && r->pl.pg_conninfo) {
        pg_sink_conf pc = {r->pl.pg_conninfo, r->pl.pg_table, r->pl.pg_columns, r->pl.pg_key,
                           r->pl.name, part};
        t->pg = pg_sink_open(&pc, err, sizeof err);
        if (!t->pg)
            goto fail;
    }
    if (t->topo && r->pl.files_dir) {
        t->files = file_sink_open(r->pl.files_dir, r->pl.name, part, err, sizeof err);
        if (!t->files)
            goto fail;
    }
    if (!t->topo)
        goto fail;
    return t;
fail:
    say(r, "task %d: %s", part, err);
    task_free(t);
    return NULL;
}

static void on_assign(runner *r, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < 0 || p >= RUN_MAX_TASKS)
            continue;
        BROOK_ASSERT(r->tasks[p] == NULL); /* eager rebalancing: revoked before reassigned */
        task *t = task_new(r, p);
        if (!t)
            exit(1); /* a sink that cannot open (the reason is printed) */
        r->tasks[p] = t;
        r->active[r->nactive++] = t;
        drive(r, t, sc_init(&t->sc));
        parts->elems[i].offset = t->next_offset;
    }
    r->assigned_ms = mono_ms();
    say(r, "assigned %d partition(s) of %s", parts->cnt, r->pl.source_topic);
}

static void on_revoke(runner *r)
{
    commit_due(r, true);
    for (int i = 0; i < r->nactive; i++) {
        r->tasks[r->active[i]->partition] = NULL;
        task_free(r->active[i]);
    }
    r->nactive = 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    runner *r = opaque;
    r->in_rebalance = true;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(r, parts);
        rd_kafka_assign(rk, parts);
    } else {
        on_revoke(r);
        rd_kafka_assign(rk, NULL);
    }
    r->in_rebalance = false;
}

static rd_kafka_t *new_consumer(runner *r)
{
    rd_kafka_conf_t *c = base_conf(r);
    if (!c || cli_kafka_set(c, "group.id", r->pl.group) != 0 ||
        cli_kafka_set(c, "isolation.level", "read_committed") != 0 ||
        cli_kafka_set(c, "enable.auto.commit", "false") != 0 ||
        cli_kafka_set(c, "auto.offset.reset", "earliest") != 0 ||
        cli_kafka_set(c, "partition.assignment.strategy", "range") != 0) {
        if (c)
            rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
    rd_kafka_conf_set_opaque(c, r);
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, c);
    if (rk)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* One record of a table topic: the latest value per key (no value: the key goes). */
static void table_record(runner *r, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    for (int i = 0; i < r->pl.ntables; i++) {
        if (strcmp(r->pl.table_topics[i], topic) != 0 || !m->key)
            continue;
        int idx = stream_tables_find(r->tables, r->pl.table_names[i]);
        if (stream_tables_put(r->tables, idx, m->key, m->key_len, m->payload,
                              m->payload ? m->len : 0) != 0)
            say(r, "table %s: out of memory", r->pl.table_names[i]);
    }
}

/* Reads every join table's topic to its end before any input is processed (so a join
 * sees the whole table), then keeps following them from the main loop. 0 or -1. */
static int tables_open(runner *r)
{
    if (r->pl.ntables == 0)
        return 0;
    r->tables = stream_tables_new();
    r->table_reader = new_reader(r, "100");
    if (!r->tables || !r->table_reader)
        return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    int parts = 0;
    for (int i = 0; i < r->pl.ntables; i++) {
        stream_tables_add(r->tables, r->pl.table_names[i]);
        int n = cli_kafka_topic_partitions(r->reader, r->pl.table_topics[i]);
        if (n <= 0) {
            say(r, "table.%s.topic: topic %s does not exist", r->pl.table_names[i],
                r->pl.table_topics[i]);
            rd_kafka_topic_partition_list_destroy(l);
            return -1;
        }
        for (int p = 0; p < n; p++, parts++)
            rd_kafka_topic_partition_list_add(l, r->pl.table_topics[i], p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(r->table_reader, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        say(r, "tables: %s", rd_kafka_err2str(e));
        return -1;
    }
    int64_t deadline = mono_ms() + r->pl.transaction_timeout_ms + RUN_OP_TIMEOUT_MS;
    for (int eofs = 0; eofs < parts;) {
        if (mono_ms() > deadline) {
            say(r, "tables: the end of their topics was not reached in time");
            return -1;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->table_reader, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eofs++;
        else if (!m->err)
            table_record(r, m);
        rd_kafka_message_destroy(m);
    }
    for (int i = 0; i < r->pl.ntables; i++)
        say(r, "table %s: %zu keys from %s", r->pl.table_names[i],
            stream_tables_size(r->tables, i), r->pl.table_topics[i]);
    return 0;
}

/* Applies what arrived on the tables' topics since the last turn (bounded per turn). */
static void tables_follow(runner *r)
{
    for (int i = 0; r->table_reader && i < 10000; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->table_reader, 0);
        if (!m)
            return;
        if (!m->err)
            table_record(r, m);
        rd_kafka_message_destroy(m);
    }
}

/* The topics a pipeline needs besides its input, created when missing with as many
 * partitions as the input (task p writes partition p of changelog and progress). */
static int ensure_topics(runner *r)
{
    int n = cli_kafka_topic_partitions(r->reader, r->pl.source_topic);
    if (n <= 0) {
        if (n == 0)
            say(r, "source.topic %s does not exist", r->pl.source_topic);
        return -1;
    }
    r->partitions = n;
    int rf = r->pl.replication_factor;
    const char *mine[] = {r->pl.changelog_topic, r->pl.progress_topic, r->pl.dlq_topic,
                          r->pl.sink_topic};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        if (!mine[i])
            continue;
        int have = cli_kafka_topic_partitions(r->reader, mine[i]);
        if (have < 0)
            return -1;
        if (have > 0 && i < 2 && have < n) {
            say(r, "%s has %d partitions; the pipeline needs %d (one per input partition)",
                mine[i], have, n);
            return -1;
        }
        if (have == 0 && cli_kafka_topic_create_ex(r->reader, mine[i], n, rf,
                                                   i == 0 ? "cleanup.policy" : NULL,
                                                   i == 0 ? "compact" : NULL) != 0)
            return -1;
    }
    return 0;
}

static void progress_line(runner *r)
{
    stream_metrics_snapshot s;
    stream_metrics_get(r->m, &s);
    int tasks = r->nactive;
    say(r, "%d task(s), in %" PRIu64 ", out %" PRIu64 ", dead letters %" PRIu64 ", commits %"
           PRIu64 ", aborts %" PRIu64 ", recoveries %" PRIu64 ", in doubt resolved %" PRIu64,
        tasks, s.v[SM_RECORDS_IN], s.v[SM_RECORDS_OUT], s.v[SM_DEAD_LETTERS], s.v[SM_COMMITS],
        s.v[SM_ABORTS], s.v[SM_RECOVERIES], s.v[SM_IN_DOUBT_RESOLVED]);
}

/* Per-task gauges for /metrics: lag from the consumer's cached high watermark, state. */
static void update_gauges(runner *r)
{
    int64_t lag = 0, state = 0;
    for (int i = 0; i < r->nactive; i++) {
        task *t = r->active[i];
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(r->consumer, r->pl.source_topic, t->partition, &lo,
                                           &hi) ==
                RD_KAFKA_RESP_ERR_NO_ERROR && hi > t->next_offset && t->next_offset >= 0)
            lag += hi - t->next_offset;
        st_stats ss;
        st_stats_get(t->topo, &ss);
        state += (int64_t)ss.state_entries;
    }
    stream_metrics_set(r->m, SM_LAG, (uint64_t)lag);
    stream_metrics_set(r->m, SM_STATE_ENTRIES, (uint64_t)state);
}

static int run_instance(runner *r, int64_t progress_ms, int64_t idle_exit_ms)
{
    char err[256];
    r->m = stream_metrics_new(r->pl.name, r->metrics_port, err, sizeof err);
    if (!r->m) {
        say(r, "%s", err);
        return 1;
    }
    /* the end of a partition is often a commit marker, seen only as an empty fetch: the
     * recovery reader does not wait the default 500 ms for each */
    r->reader = new_reader(r, "10");
    if (!r->reader || ensure_topics(r) != 0 || tables_open(r) != 0)
        return 1;
    r->consumer = new_consumer(r);
    if (!r->consumer)
        return 1;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, r->pl.source_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(r->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        say(r, "subscribe: %s", rd_kafka_err2str(e));
        return 1;
    }
    say(r, "running (group %s)", r->pl.group);
    int64_t last_line = mono_ms(), last_record = mono_ms();
    while (!*r->stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->consumer, 20);
        int64_t now = mono_ms();
        if (m) {
            if (!m->err) {
                on_record(r, m);
                last_record = now;
            } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                say(r, "consumer: %s", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
        }
        for (int i = 0; i < r->nactive; i++)
            rd_kafka_poll(r->active[i]->producer, 0);
        tables_follow(r);
        commit_due(r, false);
        if (progress_ms > 0 && now - last_line >= progress_ms) {
            update_gauges(r);
            progress_line(r);
            last_line = now;
        }
        bool assigned = r->nactive > 0;
        /* Idle counts only while partitions are assigned, from the end of their recovery. */
        if (!assigned || r->assigned_ms > last_record)
            last_record = assigned ? r->assigned_ms : now;
        if (idle_exit_ms > 0 && now - last_record >= idle_exit_ms)
            break;
    }
    commit_due(r, true);
    update_gauges(r);
    progress_line(r);
    stream_metrics_snapshot s;
    stream_metrics_get(r->m, &s);
    int64_t span = r->last_commit_ms - r->first_record_ms;
    if (r->first_record_ms && span > 0)
        say(r, "processed %" PRIu64 " records in %" PRId64 " ms from the first record to the "
            "last commit: %.0f records/s (%s)", s.v[SM_RECORDS_IN], span,
            (double)s.v[SM_RECORDS_IN] * 1000.0 / (double)span,
            r->pl.exactly_once ? "exactly_once" : "at_least_once");
    rd_kafka_consumer_close(r->consumer); /* revokes: the tasks go */
    return 0;
}

static void runner_free(runner *r)
{
    for (int i = 0; i < r->nactive; i++)
        task_free(r->active[i]);
    if (r->consumer)
        rd_kafka_destroy(r->consumer);
    if (r->reader)
        rd_kafka_destroy(r->reader);
    if (r->table_reader)
        rd_kafka_destroy(r->table_reader);
    stream_tables_free(r->tables);
    stream_metrics_free(r->m);
    stream_pipeline_free(&r->pl);
}

/* --instances N: N processes of one pipeline sharing its input through the group. Each
 * child stops (committing) on SIGTERM or SIGINT; the parent sends SIGTERM to all when its
 * stop flag is set, and returns the first failing child's status. */
static int run_children(int n, runner *r, int64_t progress_ms, int64_t idle_exit_ms)
{
    pid_t kids[64];
    bool forked_all = true;
    BROOK_ASSERT(n <= 64);
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            struct sigaction sa = {.sa_handler = on_child_signal};
            sigaction(SIGINT, &sa, NULL);
            sigaction(SIGTERM, &sa, NULL);
            r->stop = &g_child_stop;
            if (r->metrics_port) /* one /metrics per instance: P, P+1, ... */
                r->metrics_port += i;
            int rc = run_instance(r, progress_ms, idle_exit_ms);
            runner_free(r);
            _exit(rc);
        }
        if (kids[i] < 0) {
            say(r, "fork: %s", strerror(errno));
            n = i;
            forked_all = false;
            break;
        }
    }
    int worst = forked_all ? 0 : 1, left = n;
    bool told = false;
    while (left > 0) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p == 0 || (p < 0 && errno == EINTR)) {
            if ((*r->stop || !forked_all) && !told) {
                for (int i = 0; i < n; i++)
                    kill(kids[i], SIGTERM);
                told = true;
            }
            struct timespec nap = {0, 50 * 1000000};
            nanosleep(&nap, NULL);
            continue;
        }
        if (p < 0)
            break;
        left--;
        int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        if (rc && !worst)
            worst = rc;
    }
    return worst;
}

int stream_run(stream_pipeline *pl, const stream_run_cfg *cfg)
{
    runner r;
    memset(&r, 0, sizeof r);
    r.pl = *pl;
    memset(pl, 0, sizeof *pl); /* taken */
    r.metrics_port = cfg->metrics_port;
    r.call = cfg->call;
    r.call_ctx = cfg->call_ctx;
    r.stop = cfg->stop;
    int rc = cfg->instances > 1
                 ? run_children(cfg->instances, &r, cfg->progress_ms, cfg->idle_exit_ms)
                 : run_instance(&r, cfg->progress_ms, cfg->idle_exit_ms);
    runner_free(&r);
    return rc;
}
