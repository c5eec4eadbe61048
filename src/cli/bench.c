/*
 * bench.c - produce and consume benchmarks over librdkafka; see bench.h.
 *
 * Produce latency is the time from the rd_kafka_produce() call to the message's delivery
 * report, so it includes librdkafka's own queueing (linger, full batches, in-flight limits)
 * as a real application would see it. When the producer runs flat out that queue is full and
 * the latency mostly measures it; --rate paces the producer to measure latency below
 * saturation.
 */
#include "cli/bench.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/bench_raw.h"
#include "cli/hist.h"
#include "cli/kafka.h"

/* Bounds that keep every run finite whatever the broker does. A message that is not
 * delivered within CLI_BENCH_MSG_TIMEOUT_MS fails with a timeout instead of hanging, and the
 * final flush waits for exactly that long plus slack. */
#define CLI_BENCH_MSG_TIMEOUT_MS 30000
#define CLI_BENCH_FLUSH_SLACK_MS 5000
#define CLI_BENCH_SIZE_MAX (10 * 1024 * 1024)
#define CLI_BENCH_COUNT_MAX 10000000000LL
#define CLI_BENCH_SECONDS_MAX 3600
#define CLI_BENCH_PARTITIONS_MAX 10000
#define CLI_BENCH_DEFAULT_COUNT 1000000
#define CLI_BENCH_CONSUME_DEFAULT_SECONDS 60
/* librdkafka's mock cluster keeps about this much of each partition (mpart->max_size in
 * rdkafka_mock.c) and drops older record batches; pre-filling more is wasted work. */
#define CLI_BENCH_MOCK_PARTITION_BYTES (5 * 1024 * 1024)
/* Poll the producer for delivery reports once per this many produce() calls, so reports
 * (and their latency samples) are taken promptly without a syscall per message. */
#define CLI_BENCH_POLL_EVERY 256

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Ctrl-C ends the load early but still flushes and reports what was measured. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- produce ---------------------------------------------------------------------------- */

struct produce_cfg {
    const char *bootstrap;
    const char *topic;
    const char *acks;
    int64_t partitions;
    int64_t size;
    int64_t count;
    int64_t seconds;
    int64_t linger_ms;
    int64_t batch_size;
    int64_t rate;
    bool has_partitions;
    bool has_count;
    bool has_seconds;
    bool has_batch_size;
    bool mock;
    const char *engine;    /* "librdkafka" or "raw" (bench_raw.h) */
    int64_t inflight;      /* raw: requests pipelined per leader */
    int64_t batch_records; /* raw: records per batch */
    bool idempotent;       /* raw: an idempotent producer */
    int64_t producers;     /* raw: producers in the process */
    bool transactional;    /* raw: transactions of txn_requests requests per leader */
    int64_t txn_requests;
};

struct produce_run {
    uint64_t commits; /* raw transactional runs */
    int leaders;      /* raw: distinct leaders written to */
    struct cli_hist *hist;
    uint64_t sent;
    uint64_t delivered;
    uint64_t failed;
    rd_kafka_resp_err_t first_err;
    int64_t start_us;
    int64_t last_report_us;
    int partitions;
};

/* Called from rd_kafka_poll/flush on this thread; the message's opaque carries the time of
 * its produce() call. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    struct produce_run *run = opaque;
    int64_t now = now_us();
    int64_t sent_us = (int64_t)(uintptr_t)msg->_private;
    run->last_report_us = now;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (run->failed == 0)
            run->first_err = msg->err;
        run->failed++;
        return;
    }
    run->delivered++;
    cli_hist_record(run->hist, (uint64_t)(now > sent_us ? now - sent_us : 0));
}

static rd_kafka_t *producer_new(const struct produce_cfg *cfg, const char *bootstrap,
                                struct produce_run *run)
{
    char err[512];
    char num[32];
    rd_kafka_conf_t *conf = cli_kafka_conf(bootstrap);
    if (conf == NULL)
        return NULL;
    if (cli_kafka_set(conf, "acks", cfg->acks) != 0)
        goto out_conf;
    snprintf(num, sizeof(num), "%" PRId64, cfg->linger_ms);
    if (cli_kafka_set(conf, "linger.ms", num) != 0)
        goto out_conf;
    if (cfg->has_batch_size) {
        snprintf(num, sizeof(num), "%" PRId64, cfg->batch_size);
        if (cli_kafka_set(conf, "batch.size", num) != 0)
            goto out_conf;
    }
    snprintf(num, sizeof(num), "%d", CLI_BENCH_MSG_TIMEOUT_MS);
    if (cli_kafka_set(conf, "message.timeout.ms", num) != 0)
        goto out_conf;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, run);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "brook: producer: %s\n", err);
        goto out_conf;
    }
    return rk;
out_conf:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Finds the topic, creating it when --partitions is given and it is missing. Returns its
 * partition count, or -1. */
static int ensure_topic(rd_kafka_t *rk, const struct produce_cfg *cfg)
{
    int n = cli_kafka_topic_partitions(rk, cfg->topic);
    if (n < 0)
        return -1;
    if (n == 0) {
        if (!cfg->has_partitions) {
            fprintf(stderr, "brook: topic %s does not exist; pass --partitions N to create it\n",
                    cfg->topic);
            return -1;
        }
        if (cli_kafka_topic_create(rk, cfg->topic, (int)cfg->partitions) != 0)
            return -1;
        n = cli_kafka_topic_partitions(rk, cfg->topic);
        return n > 0 ? n : -1;
    }
    if (cfg->has_partitions && n != cfg->partitions)
        fprintf(stderr, "brook: topic %s already has %d partitions (asked %" PRId64 "); using it\n",
                cfg->topic, n, cfg->partitions);
    return n;
}

/* The raw engine's run (bench_raw.h) into run. Returns 0 when it happened. */
static int produce_raw(rd_kafka_t *rk, const struct produce_cfg *cfg, struct produce_run *run)
{
    cli_raw_cfg rc = {
        .topic = cfg->topic,
        .acks = (int16_t)(strcmp(cfg->acks, "all") == 0 ? -1 : 1),
        .size = cfg->size,
        .batch_records = cfg->batch_records,
        .inflight = cfg->inflight,
        .seconds = cfg->has_seconds ? cfg->seconds : 0,
        .count = cfg->has_count || !cfg->has_seconds ? (uint64_t)cfg->count : UINT64_MAX,
        .idempotent = cfg->idempotent,
        .producers = cfg->producers,
        .transactional = cfg->transactional,
        .rate = cfg->rate,
        .txn_requests = cfg->txn_requests,
        .timeout_ms = CLI_BENCH_MSG_TIMEOUT_MS,
        .stop = &g_stop,
    };
    cli_raw_stats st;
    int r = cli_bench_raw_produce(rk, &rc, run->hist, &st);
    run->sent = st.delivered + st.failed;
    run->commits = st.commits;
    run->leaders = st.leaders;
    run->delivered = st.delivered;
    run->failed = st.failed;
    run->first_err = (rd_kafka_resp_err_t)st.first_err;
    run->start_us = st.start_us;
    run->last_report_us = st.last_us;
    return r;
}

/* Produces the load described by cfg to bootstrap and fills run. Returns 0 when the run
 * happened (delivery failures are counted in run, not returned), -1 when it could not. */
static int produce_load(const struct produce_cfg *cfg, const char *bootstrap,
                        struct produce_run *run)
{
    int rc = -1;
    rd_kafka_topic_t *rkt = NULL;
    char *payload = malloc((size_t)cfg->size);
    rd_kafka_t *rk = NULL;
    if (payload == NULL) {
        fprintf(stderr, "brook: out of memory\n");
        return -1;
    }
    /* Printable but varied bytes, so nothing along the way can shortcut an all-zero value. */
    for (int64_t i = 0; i < cfg->size; i++)
        payload[i] = (char)('a' + (i * 7) % 26);

    rk = producer_new(cfg, bootstrap, run);
    if (rk == NULL)
        goto out_payload;
    int partitions = ensure_topic(rk, cfg);
    if (partitions < 0)
        goto out_rk;
    run->partitions = partitions;
    if (strcmp(cfg->engine, "raw") == 0) {
        rc = produce_raw(rk, cfg, run);
        goto out_rk;
    }
    rkt = rd_kafka_topic_new(rk, cfg->topic, NULL);
    if (rkt == NULL) {
        fprintf(stderr, "brook: topic handle %s: %s\n", cfg->topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        goto out_rk;
    }

    uint64_t limit = cfg->has_count || !cfg->has_seconds ? (uint64_t)cfg->count : UINT64_MAX;
    run->start_us = now_us();
    run->last_report_us = run->start_us;
    int64_t deadline_us = cfg->has_seconds ? run->start_us + cfg->seconds * 1000000
                                           : INT64_MAX;
    while (run->sent < limit && !g_stop) {
        int64_t now = now_us();
        if (now >= deadline_us)
            break;
        if (cfg->rate > 0) {
            int64_t due_us = run->start_us + (int64_t)(run->sent * 1000000.0 / (double)cfg->rate);
            if (due_us > now) {
                rd_kafka_poll(rk, 0);
                sleep_us(due_us - now < 1000 ? due_us - now : 1000);
                continue;
            }
        }
        /* No copy flag: the one payload buffer outlives every message of the run. */
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, payload, (size_t)cfg->size, NULL, 0,
                             (void *)(uintptr_t)now) == -1) {
            rd_kafka_resp_err_t err = rd_kafka_last_error();
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                /* Backpressure: serve delivery reports until librdkafka has room. */
                rd_kafka_poll(rk, 1);
                continue;
            }
            fprintf(stderr, "brook: produce: %s\n", rd_kafka_err2str(err));
            break;
        }
        run->sent++;
        if (run->sent % CLI_BENCH_POLL_EVERY == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, CLI_BENCH_MSG_TIMEOUT_MS + CLI_BENCH_FLUSH_SLACK_MS);
    int left = rd_kafka_outq_len(rk);
    if (left > 0)
        fprintf(stderr, "brook: %d messages still undelivered after flush\n", left);
    rc = 0;
    rd_kafka_topic_destroy(rkt);
out_rk:
    rd_kafka_destroy(rk);
out_payload:
    free(payload);
    return rc;
}

static void produce_report(const struct produce_cfg *cfg, const struct produce_run *run)
{
    double secs = (double)(run->last_report_us - run->start_us) / 1e6;
    if (secs <= 0.0)
        secs = 1e-6;
    double msgs_s = (double)run->delivered / secs;
    double mb_s = (double)run->delivered * (double)cfg->size / 1e6 / secs;
    uint64_t p50 = cli_hist_quantile(run->hist, 0.50);
    uint64_t p99 = cli_hist_quantile(run->hist, 0.99);
    uint64_t p999 = cli_hist_quantile(run->hist, 0.999);
    uint64_t max = cli_hist_max(run->hist);
    const char *target = cfg->mock ? "mock" : "broker";
    bool raw = strcmp(cfg->engine, "raw") == 0;
    printf("produce %s%s topic=%s partitions=%d size=%" PRId64 " acks=%s linger.ms=%" PRId64
           ": %" PRIu64 " msgs in %.3f s = %.0f msgs/s, %.2f MB/s; delivery latency "
           "p50=%" PRIu64 " us p99=%" PRIu64 " us p99.9=%" PRIu64 " us max=%" PRIu64
           " us; failed=%" PRIu64 "%s%s\n",
           target, raw ? " (raw engine; latency per batch)" : "", cfg->topic, run->partitions,
           cfg->size, cfg->acks, cfg->linger_ms, run->delivered, secs, msgs_s, mb_s, p50, p99,
           p999, max, run->failed,
           run->failed > 0 ? " first_error=" : "",
           run->failed > 0 ? rd_kafka_err2name(run->first_err) : "");
    printf("RESULT cmd=produce target=%s topic=%s partitions=%d size=%" PRId64 " acks=%s"
           " linger_ms=%" PRId64 " rate=%" PRId64 " msgs=%" PRIu64 " failed=%" PRIu64
           " seconds=%.3f msgs_per_s=%.0f mb_per_s=%.2f p50_us=%" PRIu64 " p99_us=%" PRIu64
           " p999_us=%" PRIu64 " max_us=%" PRIu64 " mean_us=%.0f engine=%s%s"
           " producers=%" PRId64 "\n",
           target, cfg->topic, run->partitions, cfg->size, cfg->acks, cfg->linger_ms, cfg->rate,
           run->delivered, run->failed, secs, msgs_s, mb_s, p50, p99, p999, max,
           cli_hist_mean(run->hist), cfg->engine,
           raw ? (cfg->transactional ? " transactional=1"
                  : cfg->idempotent  ? " idempotent=1"
                                     : " idempotent=0")
               : "",
           raw ? cfg->producers : (int64_t)1);
    if (raw && cfg->transactional)
        printf("RESULT cmd=txn-raw topic=%s partitions=%d leaders_per_txn=%d producers=%" PRId64
               " txn_requests=%" PRId64 " batch_records=%" PRId64 " commits=%" PRIu64
               " seconds=%.3f commits_per_s=%.0f msgs=%" PRIu64 " failed=%" PRIu64
               " p50_us=%" PRIu64 " p99_us=%" PRIu64 "\n",
               cfg->topic, run->partitions, run->leaders, cfg->producers, cfg->txn_requests,
               cfg->batch_records, run->commits, secs, (double)run->commits / secs,
               run->delivered, run->failed, p50, p99);
    fflush(stdout);
}

static const char *const acks_choices[] = {"all", "1", "0", NULL};
static const char *const engine_choices[] = {"librdkafka", "raw", NULL};

#define PRODUCE_OPTS(cfg)                                                                      \
    {                                                                                          \
        {"bootstrap", CLI_OPT_STR, &(cfg).bootstrap, 0, 0, NULL, NULL,                         \
         "HOST:PORT of a broker (ignored with --mock)"},                                       \
        {"topic", CLI_OPT_STR, &(cfg).topic, 0, 0, NULL, NULL, "topic to write (required)"},  \
        {"partitions", CLI_OPT_I64, &(cfg).partitions, 1, CLI_BENCH_PARTITIONS_MAX, NULL,      \
         &(cfg).has_partitions, "create the topic with N partitions if it is missing"},        \
        {"size", CLI_OPT_I64, &(cfg).size, 1, CLI_BENCH_SIZE_MAX, NULL, NULL,                  \
         "record value size in bytes (default 100)"},                                          \
        {"count", CLI_OPT_I64, &(cfg).count, 1, CLI_BENCH_COUNT_MAX, NULL, &(cfg).has_count,   \
         "records to send (default 1000000)"},                                                 \
        {"seconds", CLI_OPT_I64, &(cfg).seconds, 1, CLI_BENCH_SECONDS_MAX, NULL,               \
         &(cfg).has_seconds, "send for S seconds instead of a count"},                         \
        {"acks", CLI_OPT_ENUM, &(cfg).acks, 0, 0, acks_choices, NULL, "(default all)"},        \
        {"linger-ms", CLI_OPT_I64, &(cfg).linger_ms, 0, 900000, NULL, NULL,                    \
         "librdkafka linger.ms (default 5)"},                                                  \
        {"batch-size", CLI_OPT_I64, &(cfg).batch_size, 1, 2147483647, NULL,                    \
         &(cfg).has_batch_size, "librdkafka batch.size in bytes (default librdkafka's)"},      \
        {"rate", CLI_OPT_I64, &(cfg).rate, 0, 100000000, NULL, NULL,                           \
         "pace to N records/s, for latency below saturation (0: no pacing; raw: latency "   \
         "from each request's due time)"},                                                  \
        {"mock", CLI_OPT_BOOL, &(cfg).mock, 0, 0, NULL, NULL,                                  \
         "run against librdkafka's in-process mock cluster (1 broker)"},                       \
        {"engine", CLI_OPT_ENUM, &(cfg).engine, 0, 0, engine_choices, NULL,                    \
         "librdkafka (default) or raw: Brook's own pipelined Produce, not the bound"},         \
        {"inflight", CLI_OPT_I64, &(cfg).inflight, 1, 64, NULL, NULL,                          \
         "raw: requests in flight per leader (default 5)"},                                    \
        {"batch-records", CLI_OPT_I64, &(cfg).batch_records, 1, 100000, NULL, NULL,            \
         "raw: records per batch (default 1000; --count rounds up to whole requests)"},            \
        {"idempotent", CLI_OPT_BOOL, &(cfg).idempotent, 0, 0, NULL, NULL,                      \
         "raw: an idempotent producer (sequences per partition)"},                             \
        {"producers", CLI_OPT_I64, &(cfg).producers, 1, 256, NULL, NULL,                       \
         "raw: producers side by side, each its own id and connections (default 1)"},          \
        {"transactional", CLI_OPT_BOOL, &(cfg).transactional, 0, 0, NULL, NULL,                \
         "raw: transactional producers (commits per second, latency per transaction)"},       \
        {"txn-requests", CLI_OPT_I64, &(cfg).txn_requests, 1, 1000, NULL, NULL,                \
         "raw --transactional: Produce requests per leader in each transaction (default 1)"}, \
    }

static void produce_defaults(struct produce_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->acks = "all";
    cfg->size = 100;
    cfg->count = CLI_BENCH_DEFAULT_COUNT;
    cfg->linger_ms = 5;
    cfg->partitions = 1;
    cfg->engine = "librdkafka";
    cfg->inflight = 5;
    cfg->batch_records = 1000;
    cfg->producers = 1;
    cfg->txn_requests = 1;
}

static void produce_usage(FILE *out)
{
    struct produce_cfg cfg;
    const struct cli_opt opts[] = PRODUCE_OPTS(cfg);
    fprintf(out, "  brook bench produce --bootstrap HOST:PORT --topic T [flags]\n");
    cli_args_usage(out, opts, sizeof(opts) / sizeof(opts[0]));
}

/* Runs one load against the broker or a fresh mock cluster. Returns 0 or -1. */
static int produce_with_target(struct produce_cfg *cfg, struct produce_run *run)
{
    if (!cfg->mock)
        return produce_load(cfg, cfg->bootstrap, run);
    struct cli_mock mock;
    if (cli_mock_start(&mock) != 0)
        return -1;
    int rc = cli_mock_topic_create(&mock, cfg->topic, (int)cfg->partitions);
    if (rc == 0)
        rc = produce_load(cfg, cli_mock_bootstraps(&mock), run);
    cli_mock_stop(&mock);
    return rc;
}

static int bench_produce(int argc, char **argv)
{
    struct produce_cfg cfg;
    produce_defaults(&cfg);
    const struct cli_opt opts[] = PRODUCE_OPTS(cfg);
    int prc = cli_args_parse("brook bench produce", argc, argv, opts,
                             sizeof(opts) / sizeof(opts[0]));
    if (prc == 1) {
        produce_usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    if (cfg.topic == NULL || (!cfg.mock && cfg.bootstrap == NULL)) {
        fprintf(stderr, "brook bench produce: --topic and --bootstrap (or --mock) are required\n");
        return 2;
    }
    if (cfg.has_count && cfg.has_seconds) {
        fprintf(stderr, "brook bench produce: give --count or --seconds, not both\n");
        return 2;
    }
    bool raw = strcmp(cfg.engine, "raw") == 0;
    if (raw && (cfg.mock || strcmp(cfg.acks, "0") == 0 || (cfg.rate > 0 && cfg.transactional))) {
        fprintf(stderr, "brook bench produce: --engine raw takes neither --mock, --acks 0 nor "
                        "--rate with --transactional\n");
        return 2;
    }
    if (!raw && (cfg.idempotent || cfg.producers != 1 || cfg.transactional)) {
        fprintf(stderr, "brook bench produce: --idempotent, --transactional and --producers "
                        "are for --engine raw\n");
        return 2;
    }

    struct produce_run run;
    memset(&run, 0, sizeof(run));
    run.hist = cli_hist_new();
    if (run.hist == NULL) {
        fprintf(stderr, "brook: out of memory\n");
        return 1;
    }
    install_signals();
    int rc = produce_with_target(&cfg, &run);
    if (rc == 0 || run.delivered > 0) /* a raw run with a broken connection: what it did */
        produce_report(&cfg, &run);
    cli_hist_free(run.hist);
    if (rc != 0)
        return 1;
    return run.failed == 0 && run.delivered > 0 ? 0 : 1;
}

/* ---- consume ---------------------------------------------------------------------------- */

struct consume_cfg {
    const char *bootstrap;
    const char *topic;
    int64_t count;
    int64_t seconds;
    int64_t size;
    int64_t partitions;
    bool has_count;
    bool mock;
    const char *engine; /* "librdkafka" or "raw" (bench_raw.h) */
};

struct consume_run {
    uint64_t msgs;
    uint64_t bytes;
    uint64_t errors;
    int64_t start_us;
    int64_t first_us;
    int64_t last_us;
    int partitions;
    int passes;
    bool timed_out;
};

/* With `again`, the consumer re-reads a fixed log, and a fetch at its end would wait the
 * full fetch.wait.max.ms (500 ms) for records that never come before a seek can take effect;
 * a short wait keeps the passes back to back. It changes nothing while records remain, since
 * a fetch with data returns at once (fetch.min.bytes=1). */
static rd_kafka_t *consumer_new(const char *bootstrap, bool again)
{
    char err[512];
    rd_kafka_conf_t *conf = cli_kafka_conf(bootstrap);
    if (conf == NULL)
        return NULL;
    /* librdkafka's assign() needs a group handle, so a group id is set; nothing is ever
     * committed (auto commit off, explicit start offsets), so the group is never used. */
    if (cli_kafka_set(conf, "group.id", "brook-bench-consume") != 0 ||
        cli_kafka_set(conf, "enable.auto.commit", "false") != 0 ||
        cli_kafka_set(conf, "enable.auto.offset.store", "false") != 0 ||
        cli_kafka_set(conf, "enable.partition.eof", "true") != 0 ||
        cli_kafka_set(conf, "auto.offset.reset", "earliest") != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (again && cli_kafka_set(conf, "fetch.wait.max.ms", "1") != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "brook: consumer: %s\n", err);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Puts partition p of the consumer back at offset, without waiting (the seek takes effect
 * in librdkafka's fetcher; records of the old position are discarded). Returns 0 or -1. */
static int rewind_partition(rd_kafka_t *rk, const char *topic, int32_t p, int64_t offset)
{
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    if (one == NULL)
        return -1;
    rd_kafka_topic_partition_list_add(one, topic, p)->offset = offset;
    rd_kafka_error_t *err = rd_kafka_seek_partitions(rk, one, 0);
    rd_kafka_topic_partition_list_destroy(one);
    if (err != NULL) {
        fprintf(stderr, "brook: seek %s [%d]: %s\n", topic, (int)p, rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
        return -1;
    }
    return 0;
}

/* Reads the topic from the beginning of every partition until --count records, the end of
 * every partition, or the time limit. With `again`, a partition that reaches its end before
 * --count is rewound to the first offset read from it: the mock cluster keeps only the last
 * 5 MiB of each partition, so a long mock run re-reads that window. Each partition rewinds on
 * its own, so no partition idles while another finishes its pass. Returns 0 when the run
 * happened, -1 when it could not. */
static int consume_load(const struct consume_cfg *cfg, const char *bootstrap, bool again,
                        struct consume_run *run)
{
    int rc = -1;
    bool *at_eof = NULL;
    int64_t *first_offset = NULL;
    uint64_t rewinds = 0;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_t *rk = consumer_new(bootstrap, again);
    if (rk == NULL)
        return -1;
    int n = cli_kafka_topic_partitions(rk, cfg->topic);
    if (n <= 0) {
        if (n == 0)
            fprintf(stderr, "brook: topic %s does not exist\n", cfg->topic);
        goto out_rk;
    }
    run->partitions = n;
    at_eof = calloc((size_t)n, sizeof(*at_eof));
    first_offset = malloc((size_t)n * sizeof(*first_offset));
    parts = rd_kafka_topic_partition_list_new(n);
    if (at_eof == NULL || first_offset == NULL || parts == NULL) {
        fprintf(stderr, "brook: out of memory\n");
        goto out_rk;
    }
    for (int p = 0; p < n; p++) {
        first_offset[p] = -1;
        rd_kafka_topic_partition_list_add(parts, cfg->topic, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }

    run->start_us = now_us();
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook: assign: %s\n", rd_kafka_err2str(err));
        goto out_rk;
    }
    int64_t deadline_us = run->start_us + cfg->seconds * 1000000;
    int eof_count = 0;
    uint64_t limit = cfg->has_count ? (uint64_t)cfg->count : UINT64_MAX;
    while (run->msgs < limit && eof_count < n && !g_stop) {
        if (now_us() >= deadline_us) {
            run->timed_out = true;
            break;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (msg == NULL)
            continue;
        int32_t p = msg->partition;
        bool known = p >= 0 && p < n;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (known && again && first_offset[p] >= 0) {
                /* An empty partition is left at its end; it has nothing to re-read. */
                if (rewind_partition(rk, cfg->topic, p, first_offset[p]) != 0) {
                    rd_kafka_message_destroy(msg);
                    break;
                }
                rewinds++;
            } else if (known && !at_eof[p]) {
                at_eof[p] = true;
                eof_count++;
            }
        } else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Most consumer errors are transient (librdkafka retries); count them, and let
             * the time limit end a run that cannot make progress. */
            if (run->errors == 0)
                fprintf(stderr, "brook: consume: %s\n", rd_kafka_message_errstr(msg));
            run->errors++;
        } else {
            if (known && at_eof[p]) {
                at_eof[p] = false;
                eof_count--;
            }
            if (known && first_offset[p] < 0)
                first_offset[p] = msg->offset;
            int64_t now = now_us();
            if (run->msgs == 0)
                run->first_us = now;
            run->last_us = now;
            run->msgs++;
            run->bytes += msg->len + msg->key_len;
        }
        rd_kafka_message_destroy(msg);
    }
    /* Passes over the whole topic, counting partition rewinds evenly across partitions. */
    run->passes = 1 + (int)(rewinds / (uint64_t)n);
    rc = 0;
    rd_kafka_assign(rk, NULL);
    rd_kafka_consumer_close(rk);
out_rk:
    if (parts != NULL)
        rd_kafka_topic_partition_list_destroy(parts);
    free(first_offset);
    free(at_eof);
    rd_kafka_destroy(rk);
    return rc;
}

static void consume_report(const struct consume_cfg *cfg, const struct consume_run *run)
{
    /* Throughput is timed from the first record to the last: the time to the first record
     * (metadata, connection, ListOffsets, the first fetch) is a latency, reported apart. */
    double secs = run->msgs > 1 ? (double)(run->last_us - run->first_us) / 1e6 : 0.0;
    if (secs <= 0.0)
        secs = 1e-6;
    double first_ms = run->msgs > 0 ? (double)(run->first_us - run->start_us) / 1e3 : -1.0;
    double msgs_s = (double)run->msgs / secs;
    double mb_s = (double)run->bytes / 1e6 / secs;
    const char *target = cfg->mock ? "mock" : "broker";
    printf("consume %s topic=%s partitions=%d: %" PRIu64 " msgs, %.1f MB in %.3f s = %.0f msgs/s,"
           " %.2f MB/s; first record after %.1f ms; passes=%d errors=%" PRIu64 "%s\n",
           target, cfg->topic, run->partitions, run->msgs, (double)run->bytes / 1e6, secs,
           msgs_s, mb_s, first_ms, run->passes, run->errors,
           run->timed_out ? " (hit --seconds limit)" : "");
    printf("RESULT cmd=consume target=%s topic=%s partitions=%d msgs=%" PRIu64 " bytes=%" PRIu64
           " seconds=%.3f msgs_per_s=%.0f mb_per_s=%.2f first_ms=%.1f passes=%d errors=%" PRIu64
           " timed_out=%d engine=%s\n",
           target, cfg->topic, run->partitions, run->msgs, run->bytes, secs, msgs_s, mb_s,
           first_ms, run->passes, run->errors, run->timed_out ? 1 : 0, cfg->engine);
    fflush(stdout);
}

#define CONSUME_OPTS(cfg)                                                                      \
    {                                                                                          \
        {"bootstrap", CLI_OPT_STR, &(cfg).bootstrap, 0, 0, NULL, NULL,                         \
         "HOST:PORT of a broker (ignored with --mock)"},                                       \
        {"topic", CLI_OPT_STR, &(cfg).topic, 0, 0, NULL, NULL, "topic to read (required)"},   \
        {"count", CLI_OPT_I64, &(cfg).count, 1, CLI_BENCH_COUNT_MAX, NULL, &(cfg).has_count,   \
         "stop after N records (default: the end of every partition)"},                        \
        {"seconds", CLI_OPT_I64, &(cfg).seconds, 1, CLI_BENCH_SECONDS_MAX, NULL, NULL,         \
         "give up after S seconds (default 60)"},                                              \
        {"mock", CLI_OPT_BOOL, &(cfg).mock, 0, 0, NULL, NULL,                                  \
         "pre-fill an in-process mock cluster, read it (re-reading up to --count)"},          \
        {"size", CLI_OPT_I64, &(cfg).size, 1, CLI_BENCH_SIZE_MAX, NULL, NULL,                  \
         "with --mock: pre-filled record size (default 100)"},                                 \
        {"partitions", CLI_OPT_I64, &(cfg).partitions, 1, CLI_BENCH_PARTITIONS_MAX, NULL,      \
         NULL, "with --mock: partitions of the pre-filled topic (default 1)"},                 \
        {"engine", CLI_OPT_ENUM, &(cfg).engine, 0, 0, engine_choices, NULL,                    \
         "librdkafka (default) or raw: Brook's own Fetch loop, not the bound"},                \
    }

static void consume_usage(FILE *out)
{
    struct consume_cfg cfg;
    const struct cli_opt opts[] = CONSUME_OPTS(cfg);
    fprintf(out, "  brook bench consume --bootstrap HOST:PORT --topic T [flags]\n");
    cli_args_usage(out, opts, sizeof(opts) / sizeof(opts[0]));
}

/* The raw engine's read (bench_raw.h) into run. Returns 0 when it happened. */
static int consume_raw(const struct consume_cfg *cfg, struct consume_run *run)
{
    rd_kafka_conf_t *conf = cli_kafka_conf(cfg->bootstrap);
    char err[512];
    rd_kafka_t *rk = conf ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)) : NULL;
    if (!rk) {
        if (conf) {
            rd_kafka_conf_destroy(conf);
            fprintf(stderr, "brook: client: %s\n", err);
        }
        return -1;
    }
    cli_raw_consume_cfg rc = {
        .topic = cfg->topic,
        .count = cfg->has_count ? (uint64_t)cfg->count : UINT64_MAX,
        .seconds = cfg->seconds,
        .timeout_ms = CLI_BENCH_MSG_TIMEOUT_MS,
        .stop = &g_stop,
    };
    cli_raw_consume_stats st;
    int r = cli_bench_raw_consume(rk, &rc, &st);
    rd_kafka_destroy(rk);
    run->msgs = st.msgs;
    run->bytes = st.bytes;
    run->errors = st.errors;
    run->start_us = st.start_us;
    run->first_us = st.first_us;
    run->last_us = st.last_us;
    run->partitions = st.partitions;
    run->passes = 1;
    run->timed_out = st.timed_out;
    return r;
}

/* The mock cluster lives only in this process, so a mock consume run first writes the
 * records it will read; only the read is timed. The mock keeps the last 5 MiB of each
 * partition, so the read goes over that window as many times as --count needs. */
static int consume_mock(const struct consume_cfg *cfg, struct consume_run *run)
{
    struct cli_mock mock;
    if (cli_mock_start(&mock) != 0)
        return -1;
    int rc = cli_mock_topic_create(&mock, cfg->topic, (int)cfg->partitions);
    if (rc == 0) {
        struct produce_cfg pcfg;
        produce_defaults(&pcfg);
        pcfg.topic = cfg->topic;
        pcfg.size = cfg->size;
        int64_t want = cfg->has_count ? cfg->count : CLI_BENCH_DEFAULT_COUNT;
        int64_t window = cfg->partitions * (CLI_BENCH_MOCK_PARTITION_BYTES / cfg->size + 1);
        pcfg.count = want < window ? want : window;
        pcfg.has_count = true;
        pcfg.acks = "1";
        pcfg.mock = true;
        struct produce_run prun;
        memset(&prun, 0, sizeof(prun));
        prun.hist = cli_hist_new();
        rc = prun.hist != NULL ? produce_load(&pcfg, cli_mock_bootstraps(&mock), &prun) : -1;
        if (rc == 0 && prun.failed > 0) {
            fprintf(stderr, "brook: mock pre-fill: %" PRIu64 " records failed (%s)\n",
                    prun.failed, rd_kafka_err2name(prun.first_err));
            rc = -1;
        }
        cli_hist_free(prun.hist);
    }
    if (rc == 0 && !g_stop)
        rc = consume_load(cfg, cli_mock_bootstraps(&mock), true, run);
    cli_mock_stop(&mock);
    return rc;
}

static int bench_consume(int argc, char **argv)
{
    struct consume_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.seconds = CLI_BENCH_CONSUME_DEFAULT_SECONDS;
    cfg.size = 100;
    cfg.partitions = 1;
    cfg.engine = "librdkafka";
    const struct cli_opt opts[] = CONSUME_OPTS(cfg);
    int prc = cli_args_parse("brook bench consume", argc, argv, opts,
                             sizeof(opts) / sizeof(opts[0]));
    if (prc == 1) {
        consume_usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    if (cfg.topic == NULL || (!cfg.mock && cfg.bootstrap == NULL)) {
        fprintf(stderr, "brook bench consume: --topic and --bootstrap (or --mock) are required\n");
        return 2;
    }
    bool raw = strcmp(cfg.engine, "raw") == 0;
    if (raw && cfg.mock) {
        fprintf(stderr, "brook bench consume: --engine raw does not take --mock\n");
        return 2;
    }
    install_signals();
    struct consume_run run;
    memset(&run, 0, sizeof(run));
    int rc = cfg.mock ? consume_mock(&cfg, &run)
             : raw    ? consume_raw(&cfg, &run)
                      : consume_load(&cfg, cfg.bootstrap, false, &run);
    if (rc != 0 && run.msgs == 0)
        return 1;
    consume_report(&cfg, &run); /* a raw run with a broken connection: what it read */
    if (rc != 0)
        return 1;
    if (cfg.has_count && run.msgs < (uint64_t)cfg.count)
        fprintf(stderr, "brook: read %" PRIu64 " of the %" PRId64 " records asked\n", run.msgs,
                cfg.count);
    return run.msgs > 0 ? 0 : 1;
}

/* ---- dispatch --------------------------------------------------------------------------- */

void cli_bench_usage(FILE *out)
{
    produce_usage(out);
    consume_usage(out);
}

int cli_bench_main(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "brook bench: missing subcommand (produce or consume)\n");
        return 2;
    }
    if (strcmp(argv[0], "produce") == 0)
        return bench_produce(argc - 1, argv + 1);
    if (strcmp(argv[0], "consume") == 0)
        return bench_consume(argc - 1, argv + 1);
    fprintf(stderr, "brook bench: unknown subcommand '%s' (produce or consume)\n", argv[0]);
    return 2;
}
