/* bench_txn.c - see bench_txn.h. */
#include "cli/bench_txn.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/hist.h"
#include "cli/kafka.h"

#define TXN_TIMEOUT_MS 30000

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Fails the run with the error's text; frees it. */
static bool txn_ok(rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return true;
    fprintf(stderr, "brook bench: %s: %s\n", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return false;
}

static uint64_t g_delivered, g_failed;
static const char *g_queue_kb; /* queue.buffering.max.kbytes for the next producer, or NULL */

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        __atomic_add_fetch(&g_failed, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&g_delivered, 1, __ATOMIC_RELAXED);
}

static rd_kafka_t *producer_linger(const char *bootstrap, const char *txn_id, bool idempotent,
                                   const char *linger)
{
    rd_kafka_conf_t *conf = cli_kafka_conf(bootstrap);
    char err[256];
    if (!conf)
        return NULL;
    cli_kafka_set(conf, "linger.ms", linger);
    cli_kafka_set(conf, "acks", "all");
    if (g_queue_kb)
        cli_kafka_set(conf, "queue.buffering.max.kbytes", g_queue_kb);
    if (idempotent)
        cli_kafka_set(conf, "enable.idempotence", "true");
    if (txn_id) {
        cli_kafka_set(conf, "transactional.id", txn_id);
        char t[32];
        snprintf(t, sizeof(t), "%d", TXN_TIMEOUT_MS);
        cli_kafka_set(conf, "transaction.timeout.ms", t);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "brook bench: %s\n", err);
        return NULL;
    }
    if (txn_id && !txn_ok(rd_kafka_init_transactions(rk, TXN_TIMEOUT_MS), "init_transactions")) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

static rd_kafka_t *producer(const char *bootstrap, const char *txn_id, bool idempotent)
{
    return producer_linger(bootstrap, txn_id, idempotent, "5");
}

static int prepare_topic(const char *bootstrap, const char *topic, int partitions)
{
    rd_kafka_t *rk = producer(bootstrap, NULL, false);
    if (!rk)
        return -1;
    int rc = cli_kafka_topic_partitions(rk, topic) >= partitions
                 ? 0
                 : cli_kafka_topic_create(rk, topic, partitions);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---------------- brook bench txn ---------------- */

static int bench_txn(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *topic = NULL, *mode = "txn";
    int64_t size = 1024, seconds = 10, interval_ms = 100, partitions = 1, queue_kb = 4096;
    static const char *const modes[] = {"txn", "idempotent", NULL};
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &bootstrap, 0, 0, NULL, NULL, "HOST:PORT"},
        {"topic", CLI_OPT_STR, &topic, 0, 0, NULL, NULL, "topic (created if missing)"},
        {"partitions", CLI_OPT_I64, &partitions, 1, 1000, NULL, NULL, "partitions"},
        {"size", CLI_OPT_I64, &size, 1, 1 << 20, NULL, NULL, "record size in bytes"},
        {"seconds", CLI_OPT_I64, &seconds, 1, 3600, NULL, NULL, "run time"},
        {"commit-interval-ms", CLI_OPT_I64, &interval_ms, 1, 600000, NULL, NULL,
         "commit every N ms (txn mode)"},
        {"mode", CLI_OPT_ENUM, &mode, 0, 0, modes, NULL, "txn or idempotent"},
        {"queue-kbytes", CLI_OPT_I64, &queue_kb, 64, 1 << 20, NULL, NULL,
         "client queue (queue.buffering.max.kbytes), same in both modes"},
    };
    if (cli_args_parse("bench txn", argc, argv, opts, sizeof(opts) / sizeof(opts[0])) != 0 ||
        !topic) {
        fprintf(stderr, "brook bench txn: --topic is required\n");
        return 2;
    }
    if (prepare_topic(bootstrap, topic, (int)partitions) != 0)
        return 1;
    bool txn = strcmp(mode, "txn") == 0;
    char id[64];
    snprintf(id, sizeof(id), "bench-txn-%" PRId64, mono_us());
    /* A commit first waits for everything queued: librdkafka's default 1 GB queue would
     * make each commit drain seconds of data. Both modes get the same bounded queue. */
    char qkb[32];
    snprintf(qkb, sizeof(qkb), "%" PRId64, queue_kb);
    g_queue_kb = qkb;
    rd_kafka_t *rk = producer(bootstrap, txn ? id : NULL, true);
    g_queue_kb = NULL;
    if (!rk)
        return 1;
    struct cli_hist *commit_lat = cli_hist_new();
    char *value = malloc((size_t)size);
    if (!value || !commit_lat)
        return 1;
    memset(value, 'x', (size_t)size);
    if (txn) {
        /* One untimed transaction first: librdkafka's first AddPartitionsToTxn waits for
         * its coordinator timer (about 1 s), which is the client's start-up, not a commit. */
        bool w = txn_ok(rd_kafka_begin_transaction(rk), "begin") &&
                 rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                                   RD_KAFKA_V_VALUE(value, (size_t)size), RD_KAFKA_V_END) == 0 &&
                 txn_ok(rd_kafka_commit_transaction(rk, TXN_TIMEOUT_MS), "commit");
        if (!w) {
            free(value);
            cli_hist_free(commit_lat);
            rd_kafka_destroy(rk);
            return 1;
        }
    }
    g_delivered = g_failed = 0;
    int64_t t0 = mono_us(), end = t0 + seconds * 1000000, commits = 0;
    bool ok = true;
    while (ok && mono_us() < end) {
        if (txn && !(ok = txn_ok(rd_kafka_begin_transaction(rk), "begin")))
            break;
        int64_t until = mono_us() + interval_ms * 1000;
        if (until > end)
            until = end;
        for (int64_t i = 0; mono_us() < until; i++) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % partitions)),
                RD_KAFKA_V_VALUE(value, (size_t)size), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 1);
            else if (err) {
                fprintf(stderr, "brook bench txn: produce: %s\n", rd_kafka_err2str(err));
                ok = false;
                break;
            }
            if ((i & 1023) == 0)
                rd_kafka_poll(rk, 0);
        }
        if (txn && ok) {
            int64_t c0 = mono_us();
            ok = txn_ok(rd_kafka_commit_transaction(rk, TXN_TIMEOUT_MS), "commit");
            cli_hist_record(commit_lat, (uint64_t)(mono_us() - c0));
            commits++;
        }
    }
    if (!txn)
        rd_kafka_flush(rk, 30000);
    double secs = (double)(mono_us() - t0) / 1e6;
    double rate = (double)g_delivered / secs;
    printf("txn bench mode=%s commit_interval_ms=%" PRId64 " size=%" PRId64 ": %.0f msgs/s, "
           "%.2f MB/s, %" PRId64 " commits, commit p50=%" PRIu64 " us p99=%" PRIu64 " us, "
           "failed=%" PRIu64 "\n",
           mode, interval_ms, size, rate, rate * (double)size / 1e6, commits,
           cli_hist_quantile(commit_lat, 0.5), cli_hist_quantile(commit_lat, 0.99), g_failed);
    printf("RESULT cmd=txn mode=%s commit_interval_ms=%" PRId64 " size=%" PRId64
           " partitions=%" PRId64 " msgs_per_s=%.0f mb_per_s=%.2f commits=%" PRId64
           " commit_p50_us=%" PRIu64 " commit_p99_us=%" PRIu64 " failed=%" PRIu64 " ok=%d\n",
           mode, interval_ms, size, partitions, rate, rate * (double)size / 1e6, commits,
           cli_hist_quantile(commit_lat, 0.5), cli_hist_quantile(commit_lat, 0.99), g_failed,
           ok ? 1 : 0);
    cli_hist_free(commit_lat);
    free(value);
    rd_kafka_destroy(rk);
    return ok && g_failed == 0 ? 0 : 1;
}

/* ---------------- brook bench txn-rate ---------------- */

#define RATE_PARTS_MAX 64 /* partitions one transaction writes to, at most */

/* Shared by the workers: one histogram per measure, so percentiles are over every
 * transaction of every producer. Recording is cheap next to a commit, so a mutex is enough. */
struct rate_shared {
    pthread_mutex_t lock;
    struct cli_hist *txn_lat;    /* begin_transaction to the end of commit_transaction */
    struct cli_hist *commit_lat; /* commit_transaction alone, after a flush (EndTxn) */
    int64_t start_us, end_us;
};

struct rate_worker {
    pthread_t thread;
    const char *bootstrap, *topic;
    struct rate_shared *shared;
    int index, nparts;
    int32_t parts[RATE_PARTS_MAX]; /* one record to each, per transaction */
    int64_t commits, last_us;
    bool ok;
};

static void sleep_until_us(int64_t t)
{
    int64_t d = t - mono_us();
    if (d <= 0)
        return;
    struct timespec ts = {.tv_sec = d / 1000000, .tv_nsec = (d % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* One transaction: a record to each of the worker's partitions, a flush (so every Produce is
 * acknowledged), then commit_transaction, whose time is then the EndTxn round trip and the
 * two-phase commit behind it. Sets *commit_us. Returns false on an error. */
static bool rate_txn(struct rate_worker *w, rd_kafka_t *rk, int64_t *commit_us)
{
    if (!txn_ok(rd_kafka_begin_transaction(rk), "begin"))
        return false;
    for (int k = 0; k < w->nparts; k++)
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(w->topic), RD_KAFKA_V_PARTITION(w->parts[k]),
                              RD_KAFKA_V_VALUE("small", 5), RD_KAFKA_V_END) != 0) {
            fprintf(stderr, "brook bench txn-rate: produce to [%d] refused\n", w->parts[k]);
            return false;
        }
    if (rd_kafka_flush(rk, TXN_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook bench txn-rate: flush timed out\n");
        return false;
    }
    int64_t c0 = mono_us();
    if (!txn_ok(rd_kafka_commit_transaction(rk, TXN_TIMEOUT_MS), "commit"))
        return false;
    *commit_us = mono_us() - c0;
    return true;
}

static void *rate_run(void *arg)
{
    struct rate_worker *w = arg;
    struct rate_shared *sh = w->shared;
    char id[64];
    snprintf(id, sizeof(id), "bench-rate-%d-%" PRId64, w->index, mono_us());
    /* Small transactions: nothing to batch, so no linger. */
    rd_kafka_t *rk = producer_linger(w->bootstrap, id, true, "0");
    int64_t commit_us;
    /* One untimed transaction first (librdkafka's first AddPartitionsToTxn waits for its
     * coordinator timer, and every connection to a leader opens now), then all start
     * together. */
    w->ok = rk != NULL && rate_txn(w, rk, &commit_us);
    sleep_until_us(sh->start_us);
    while (w->ok && mono_us() < sh->end_us) {
        int64_t t0 = mono_us();
        w->ok = rate_txn(w, rk, &commit_us);
        if (w->ok) {
            w->last_us = mono_us();
            pthread_mutex_lock(&sh->lock);
            cli_hist_record(sh->txn_lat, (uint64_t)(w->last_us - t0));
            cli_hist_record(sh->commit_lat, (uint64_t)commit_us);
            pthread_mutex_unlock(&sh->lock);
            w->commits++;
        }
    }
    if (rk)
        rd_kafka_destroy(rk);
    return NULL;
}

/* Fills leader_of[0..partitions) with each partition's leader from cluster metadata.
 * Returns 0, or -1 after printing why. */
static int topic_leaders(const char *bootstrap, const char *topic, int partitions,
                         int32_t *leader_of)
{
    rd_kafka_t *rk = producer(bootstrap, NULL, false);
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;
    if (!rk)
        return -1;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, CLI_KAFKA_ADMIN_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook bench txn-rate: metadata: %s\n", rd_kafka_err2str(err));
        goto out;
    }
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (strcmp(t->topic, topic) != 0 || t->partition_cnt < partitions)
            continue;
        for (int p = 0; p < partitions; p++)
            leader_of[p] = -1;
        for (int p = 0; p < t->partition_cnt; p++)
            if (t->partitions[p].id >= 0 && t->partitions[p].id < partitions)
                leader_of[t->partitions[p].id] = t->partitions[p].leader;
        rc = 0;
        for (int p = 0; p < partitions; p++)
            if (leader_of[p] < 0) {
                fprintf(stderr, "brook bench txn-rate: %s [%d] has no leader\n", topic, p);
                rc = -1;
            }
    }
    if (rc != 0)
        fprintf(stderr, "brook bench txn-rate: %s not in metadata with %d partitions\n", topic,
                partitions);
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

/* With --across-leaders: gives worker `index` one partition led by each distinct leader,
 * producers spread over each leader's partitions. Returns how many (the leader count), and
 * prints the leaders and their partition counts once (index 0). */
static int parts_across_leaders(const int32_t *leader_of, int partitions, int index,
                                int32_t *parts)
{
    int32_t leaders[RATE_PARTS_MAX];
    int nl = 0;
    for (int p = 0; p < partitions; p++) {
        int k = 0;
        while (k < nl && leaders[k] != leader_of[p])
            k++;
        if (k == nl && nl < RATE_PARTS_MAX)
            leaders[nl++] = leader_of[p];
    }
    for (int k = 0; k < nl; k++) {
        int count = 0, pick = -1;
        for (int p = 0; p < partitions; p++)
            if (leader_of[p] == leaders[k])
                count++;
        for (int p = 0, seen = 0; p < partitions && pick < 0; p++)
            if (leader_of[p] == leaders[k] && seen++ == index % count)
                pick = p;
        parts[k] = pick;
        if (index == 0)
            fprintf(stderr, "brook bench txn-rate: leader %d has %d partition(s)\n",
                    leaders[k], count);
    }
    return nl;
}

static int bench_txn_rate(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *topic = NULL;
    int64_t producers = 1, seconds = 10, partitions = 16;
    bool across = false;
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &bootstrap, 0, 0, NULL, NULL, "HOST:PORT"},
        {"topic", CLI_OPT_STR, &topic, 0, 0, NULL, NULL, "topic (created if missing)"},
        {"partitions", CLI_OPT_I64, &partitions, 2, 1000, NULL, NULL, "partitions"},
        {"producers", CLI_OPT_I64, &producers, 1, 256, NULL, NULL, "concurrent producers"},
        {"seconds", CLI_OPT_I64, &seconds, 1, 3600, NULL, NULL, "run time"},
        {"across-leaders", CLI_OPT_BOOL, &across, 0, 0, NULL, NULL,
         "each transaction writes one record to a partition of every leader (node), "
         "instead of to 2 partitions"},
    };
    if (cli_args_parse("bench txn-rate", argc, argv, opts, sizeof(opts) / sizeof(opts[0])) != 0 ||
        !topic) {
        fprintf(stderr, "brook bench txn-rate: --topic is required\n");
        return 2;
    }
    if (prepare_topic(bootstrap, topic, (int)partitions) != 0)
        return 1;
    int32_t *leader_of = calloc((size_t)partitions, sizeof(int32_t));
    struct rate_worker *w = calloc((size_t)producers, sizeof(*w));
    struct rate_shared sh = {.txn_lat = cli_hist_new(), .commit_lat = cli_hist_new()};
    if (!leader_of || !w || !sh.txn_lat || !sh.commit_lat)
        return 1;
    if (topic_leaders(bootstrap, topic, (int)partitions, leader_of) != 0)
        return 1;
    pthread_mutex_init(&sh.lock, NULL);
    /* Every producer initializes and runs its warm-up transaction first, then all start
     * together. */
    sh.start_us = mono_us() + 3000000 + producers * 50000;
    sh.end_us = sh.start_us + seconds * 1000000;
    int nparts = 2, nleaders = 0;
    for (int i = 0; i < producers; i++) {
        w[i] = (struct rate_worker){.bootstrap = bootstrap, .topic = topic, .index = i,
                                    .shared = &sh};
        if (across) {
            w[i].nparts = parts_across_leaders(leader_of, (int)partitions, i, w[i].parts);
        } else {
            w[i].nparts = 2;
            w[i].parts[0] = (int32_t)((2 * i) % partitions);
            w[i].parts[1] = (int32_t)((2 * i + 1) % partitions);
        }
        nparts = w[i].nparts;
    }
    /* The distinct leaders of the partitions the transactions write to. */
    for (int k = 0; k < nparts; k++) {
        bool dup = false;
        for (int j = 0; j < k; j++)
            dup = dup || leader_of[w[0].parts[j]] == leader_of[w[0].parts[k]];
        nleaders += !dup;
    }
    for (int i = 0; i < producers; i++)
        pthread_create(&w[i].thread, NULL, rate_run, &w[i]);
    int64_t commits = 0, last = sh.start_us;
    bool ok = true;
    for (int i = 0; i < producers; i++) {
        pthread_join(w[i].thread, NULL);
        commits += w[i].commits;
        ok = ok && w[i].ok;
        last = w[i].last_us > last ? w[i].last_us : last;
    }
    /* Until the last transaction ended: each producer finishes the one it had in hand. */
    double secs = (double)(last - sh.start_us) / 1e6;
    double rate = secs > 0 ? (double)commits / secs : 0;
    uint64_t p50 = cli_hist_quantile(sh.txn_lat, 0.5), p99 = cli_hist_quantile(sh.txn_lat, 0.99);
    uint64_t c50 = cli_hist_quantile(sh.commit_lat, 0.5);
    uint64_t c99 = cli_hist_quantile(sh.commit_lat, 0.99);
    printf("txn-rate producers=%" PRId64 " partitions_per_txn=%d leaders_per_txn=%d: %.0f "
           "commits/s (%" PRId64 " in %.2f s), transaction p50=%" PRIu64 " us p99=%" PRIu64
           " us, commit p50=%" PRIu64 " us p99=%" PRIu64 " us\n",
           producers, nparts, nleaders, rate, commits, secs, p50, p99, c50, c99);
    printf("RESULT cmd=txn-rate producers=%" PRId64 " partitions_per_txn=%d leaders_per_txn=%d"
           " commits_per_s=%.0f commits=%" PRId64 " seconds=%.2f p50_us=%" PRIu64
           " p99_us=%" PRIu64 " commit_p50_us=%" PRIu64 " commit_p99_us=%" PRIu64 " ok=%d\n",
           producers, nparts, nleaders, rate, commits, secs, p50, p99, c50, c99, ok ? 1 : 0);
    pthread_mutex_destroy(&sh.lock);
    cli_hist_free(sh.txn_lat);
    cli_hist_free(sh.commit_lat);
    free(w);
    free(leader_of);
    return ok ? 0 : 1;
}

/* ---------------- brook bench eos ---------------- */

struct feeder {
    pthread_t thread;
    const char *bootstrap, *topic;
    int64_t rate, end_us;
    bool ok;
};

/* Produces records whose value is their send time (µs, wall clock) at a fixed rate. */
static void *feed_run(void *arg)
{
    struct feeder *f = arg;
    rd_kafka_t *rk = producer(f->bootstrap, NULL, true);
    f->ok = rk != NULL;
    int64_t t0 = mono_us(), sent = 0;
    while (f->ok && mono_us() < f->end_us) {
        int64_t due = (mono_us() - t0) * f->rate / 1000000;
        for (; sent < due; sent++) {
            char v[32];
            int n = snprintf(v, sizeof(v), "%" PRId64, wall_us());
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(f->topic), RD_KAFKA_V_VALUE(v, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        }
        rd_kafka_poll(rk, 1);
    }
    if (rk) {
        rd_kafka_flush(rk, 10000);
        rd_kafka_destroy(rk);
    }
    return NULL;
}

static rd_kafka_t *consumer(const char *bootstrap, const char *group, const char *topic)
{
    rd_kafka_conf_t *conf = cli_kafka_conf(bootstrap);
    char err[256];
    cli_kafka_set(conf, "group.id", group);
    cli_kafka_set(conf, "enable.auto.commit", "false");
    cli_kafka_set(conf, "auto.offset.reset", "earliest");
    cli_kafka_set(conf, "isolation.level", "read_committed");
    cli_kafka_set(conf, "fetch.wait.max.ms", "10");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        return NULL;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    return rk;
}

/* One consume-transform-produce step over up to `max` records: exactly once (txn) or at
 * least once. Returns records processed, or -1. */
static int cts_step(rd_kafka_t *in, rd_kafka_t *out, const char *out_topic, bool txn, int max)
{
    rd_kafka_message_t *msgs[512];
    int n = 0;
    int64_t until = mono_us() + 5000;
    while (n < max && n < 512 && mono_us() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(in, 1);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        msgs[n++] = m;
    }
    if (n == 0)
        return 0;
    if (txn && !txn_ok(rd_kafka_begin_transaction(out), "begin"))
        return -1;
    for (int i = 0; i < n; i++)
        rd_kafka_producev(out, RD_KAFKA_V_TOPIC(out_topic), RD_KAFKA_V_VALUE(msgs[i]->payload,
                                                                            msgs[i]->len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_topic_partition_list_t *pos = NULL;
    if (rd_kafka_assignment(in, &pos) == 0)
        rd_kafka_position(in, pos);
    bool ok = true;
    if (txn) {
        rd_kafka_consumer_group_metadata_t *cgm = rd_kafka_consumer_group_metadata(in);
        ok = txn_ok(rd_kafka_send_offsets_to_transaction(out, pos, cgm, TXN_TIMEOUT_MS),
                    "send_offsets") &&
             txn_ok(rd_kafka_commit_transaction(out, TXN_TIMEOUT_MS), "commit");
        rd_kafka_consumer_group_metadata_destroy(cgm);
    } else {
        ok = rd_kafka_flush(out, TXN_TIMEOUT_MS) == 0 &&
             rd_kafka_commit(in, pos, 0) == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (pos)
        rd_kafka_topic_partition_list_destroy(pos);
    for (int i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    return ok ? n : -1;
}

static int bench_eos(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *prefix = NULL, *mode = "txn";
    int64_t rate = 1000, seconds = 10;
    static const char *const modes[] = {"txn", "alo", NULL};
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &bootstrap, 0, 0, NULL, NULL, "HOST:PORT"},
        {"topic", CLI_OPT_STR, &prefix, 0, 0, NULL, NULL, "topic prefix (-in, -out created)"},
        {"mode", CLI_OPT_ENUM, &mode, 0, 0, modes, NULL, "txn (exactly once) or alo"},
        {"rate", CLI_OPT_I64, &rate, 1, 10000000, NULL, NULL, "input records per second"},
        {"seconds", CLI_OPT_I64, &seconds, 1, 3600, NULL, NULL, "run time"},
    };
    if (cli_args_parse("bench eos", argc, argv, opts, sizeof(opts) / sizeof(opts[0])) != 0 ||
        !prefix) {
        fprintf(stderr, "brook bench eos: --topic is required\n");
        return 2;
    }
    char in_topic[200], out_topic[200], group[220], id[64];
    snprintf(in_topic, sizeof(in_topic), "%s-in", prefix);
    snprintf(out_topic, sizeof(out_topic), "%s-out", prefix);
    snprintf(group, sizeof(group), "%s-%s-copier", prefix, mode);
    snprintf(id, sizeof(id), "bench-eos-%" PRId64, mono_us());
    bool txn = strcmp(mode, "txn") == 0;
    if (prepare_topic(bootstrap, in_topic, 1) != 0 || prepare_topic(bootstrap, out_topic, 1) != 0)
        return 1;
    rd_kafka_t *in = consumer(bootstrap, group, in_topic);
    rd_kafka_t *out = producer(bootstrap, txn ? id : NULL, true);
    char rgroup[240];
    snprintf(rgroup, sizeof(rgroup), "%s-reader-%" PRId64, group, mono_us());
    rd_kafka_t *reader = consumer(bootstrap, rgroup, out_topic);
    if (!in || !out || !reader)
        return 1;
    /* Let the groups settle, then feed at a fixed rate and measure end to end. */
    int64_t warm = mono_us() + 3000000;
    while (mono_us() < warm) {
        cts_step(in, out, out_topic, txn, 512);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(reader, 1);
        if (m)
            rd_kafka_message_destroy(m);
    }
    struct feeder f = {.bootstrap = bootstrap, .topic = in_topic, .rate = rate,
                       .end_us = mono_us() + seconds * 1000000};
    int64_t start_wall = wall_us();
    pthread_create(&f.thread, NULL, feed_run, &f);
    struct cli_hist *lat = cli_hist_new();
    int64_t processed = 0, stop = f.end_us + 3000000;
    bool ok = true;
    while (ok && mono_us() < stop) {
        int n = cts_step(in, out, out_topic, txn, 512);
        if (n < 0)
            ok = false;
        else
            processed += n;
        for (int k = 0; k < 64; k++) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(reader, 0);
            if (!m)
                break;
            if (!m->err && m->len > 0 && m->len < 32) {
                char v[32];
                memcpy(v, m->payload, m->len);
                v[m->len] = '\0';
                int64_t sent = strtoll(v, NULL, 10);
                if (sent >= start_wall)
                    cli_hist_record(lat, (uint64_t)(wall_us() - sent));
            }
            rd_kafka_message_destroy(m);
        }
    }
    pthread_join(f.thread, NULL);
    double thr = (double)processed / (double)seconds;
    printf("eos bench mode=%s rate=%" PRId64 "/s: %" PRId64 " records copied (%.0f/s), "
           "end-to-end latency p50=%" PRIu64 " us p99=%" PRIu64 " us (%" PRIu64 " measured)\n",
           mode, rate, processed, thr, cli_hist_quantile(lat, 0.5), cli_hist_quantile(lat, 0.99),
           cli_hist_count(lat));
    printf("RESULT cmd=eos mode=%s rate=%" PRId64 " copied=%" PRId64 " copied_per_s=%.0f "
           "p50_us=%" PRIu64 " p99_us=%" PRIu64 " measured=%" PRIu64 " ok=%d\n",
           mode, rate, processed, thr, cli_hist_quantile(lat, 0.5), cli_hist_quantile(lat, 0.99),
           cli_hist_count(lat), ok && f.ok ? 1 : 0);
    cli_hist_free(lat);
    rd_kafka_consumer_close(in);
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(in);
    rd_kafka_destroy(reader);
    rd_kafka_destroy(out);
    return ok && f.ok ? 0 : 1;
}

void cli_bench_txn_usage(FILE *out)
{
    fprintf(out, "  brook bench txn --topic T [--mode txn|idempotent] [--commit-interval-ms N]\n"
                 "                  [--size N] [--seconds N] [--partitions N]\n"
                 "  brook bench txn-rate --topic T --producers K [--seconds N] [--partitions N]\n"
                 "                       [--across-leaders]\n"
                 "  brook bench eos --topic PREFIX --mode txn|alo [--rate N] [--seconds N]\n");
}

int cli_bench_txn_main(int argc, char **argv)
{
    if (argc < 1)
        return 3;
    if (strcmp(argv[0], "txn") == 0)
        return bench_txn(argc - 1, argv + 1);
    if (strcmp(argv[0], "txn-rate") == 0)
        return bench_txn_rate(argc - 1, argv + 1);
    if (strcmp(argv[0], "eos") == 0)
        return bench_eos(argc - 1, argv + 1);
    return 3;
}
