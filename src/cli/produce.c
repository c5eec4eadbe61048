/*
 * produce.c - `brook produce`; see produce.h.
 *
 * Each line of the input (without its '\n') is one record. The topic is looked up first in
 * cluster-wide metadata and the producer runs with allow.auto.create.topics=false, so a
 * missing topic is one error naming it instead of a silent auto-create. Delivery reports
 * count acks and keep the first error, whose Kafka name (NOT_ENOUGH_REPLICAS, ...) is what
 * the command prints before exiting 1. message.timeout.ms is the command's --timeout-ms, so
 * a broker that goes away fails the run in bounded time. With --transactional-id the lines go
 * in one transaction (or --txn-batch lines each); any error aborts the open one. Keys pick
 * partitions as Java clients do (murmur2), so a key lands where kafka-console-producer puts it.
 */
#include "cli/produce.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/kafka.h"
#include "cli/sock.h"

#define PROD_CMD "brook produce"
/* How long one poll waits when librdkafka's queue is full. */
#define PROD_QUEUE_FULL_WAIT_MS 100
/* How much longer a transaction's commit may take than a record's delivery. */
#define PROD_COMMIT_SLACK_MS 5000
/* Milliseconds between --progress lines. */
#define PROD_PROGRESS_EVERY_MS 1000

typedef struct prod_args {
    const char *bootstrap, *topic, *file, *key_sep, *acks, *txn_id, *compression;
    struct cli_list headers;
    int64_t timeout_ms, partition, txn_batch, linger_ms;
    bool json, idempotent, no_idempotent, progress;
    bool idempotent_seen, txn_batch_seen, linger_seen;
} prod_args;

/* The latest error a broker answered a produce request with, from librdkafka's "msg" debug
 * log: a retriable error (NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER) is retried until
 * message.timeout.ms and then reported only as _MSG_TIMED_OUT; this keeps its name. Written
 * by librdkafka's threads, hence the lock. */
typedef struct prod_seen {
    pthread_mutex_t lock;
    rd_kafka_resp_err_t err;
} prod_seen;

static prod_seen SEEN = {PTHREAD_MUTEX_INITIALIZER, RD_KAFKA_RESP_ERR_NO_ERROR};

typedef struct prod_state {
    const prod_args *a;
    cli_client cl;
    rd_kafka_headers_t *hdrs; /* the --header template, copied onto every record */
    int64_t read, sent, acked, bytes, txns;
    rd_kafka_resp_err_t err; /* the first delivery error */
    char err_where[256];
    int64_t start_ms, next_progress_ms;
    bool progress;
} prod_state;

/* Delivery report: counts the ack or keeps the first error with where it happened. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    prod_state *st = m->_private;
    if (!st)
        return;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        st->acked++;
        return;
    }
    if (st->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    st->err = m->err;
    snprintf(st->err_where, sizeof(st->err_where), "%s-%d",
             m->rkt ? rd_kafka_topic_name(m->rkt) : st->a->topic, (int)m->partition);
}

static void progress_line(prod_state *st, bool force)
{
    int64_t now = cli_now_ms();
    if (!st->progress || (!force && now < st->next_progress_ms))
        return;
    st->next_progress_ms = now + PROD_PROGRESS_EVERY_MS;
    double secs = (double)(now - st->start_ms) / 1000.0;
    fprintf(stderr, "%s: sent %" PRId64 ", acked %" PRId64 ", %.0f records/s\n", PROD_CMD,
            st->sent, st->acked, secs > 0 ? (double)st->acked / secs : 0.0);
}

/* The error code whose librdkafka description is desc[0..n), or NO_ERROR. */
static rd_kafka_resp_err_t err_by_desc(const char *desc, size_t n)
{
    const struct rd_kafka_err_desc *descs = NULL;
    size_t cnt = 0;
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (descs[i].desc && strlen(descs[i].desc) == n && memcmp(descs[i].desc, desc, n) == 0)
            return descs[i].code;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* librdkafka's log: everything is dropped (connection trouble reaches error_cb, which the
 * shared client quotes) except a produce request's error, kept in SEEN. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    static const char mark[] = "encountered error: ";
    const char *at = strstr(buf, mark);
    if (!at)
        return;
    at += sizeof(mark) - 1;
    const char *end = strstr(at, " (actions");
    rd_kafka_resp_err_t e = err_by_desc(at, end ? (size_t)(end - at) : strlen(at));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    pthread_mutex_lock(&SEEN.lock);
    SEEN.err = e;
    pthread_mutex_unlock(&SEEN.lock);
}

/* Prints the first delivery error: "<cmd>: delivery to T-P failed: NAME (text)"; for a
 * timeout, the broker's last answer when there was one. */
static void print_delivery_error(const prod_state *st)
{
    pthread_mutex_lock(&SEEN.lock);
    rd_kafka_resp_err_t seen = SEEN.err;
    pthread_mutex_unlock(&SEEN.lock);
    if (st->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT && seen != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "%s: delivery to %s failed: %s (%s; retried until --timeout-ms %" PRId64
                " passed: %s)\n", PROD_CMD, st->err_where, rd_kafka_err2name(seen),
                rd_kafka_err2str(seen), st->a->timeout_ms, rd_kafka_err2name(st->err));
        return;
    }
    fprintf(stderr, "%s: delivery to %s failed: %s (%s)\n", PROD_CMD, st->err_where,
            rd_kafka_err2name(st->err), rd_kafka_err2str(st->err));
}

/* ---------------- configuration ---------------- */

static int set_i64(rd_kafka_conf_t *conf, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return cli_kafka_set(conf, key, buf);
}

/* The producer's configuration from the flags. NULL after printing why. */
static rd_kafka_conf_t *make_conf(const prod_args *a, bool idempotent)
{
    rd_kafka_conf_t *conf = cli_kafka_conf(cli_bootstrap(a->bootstrap));
    if (!conf)
        return NULL;
    int64_t txn_timeout = a->timeout_ms > 60000 ? a->timeout_ms : 60000;
    bool ok = cli_kafka_set(conf, "acks", a->acks) == 0 &&
              cli_kafka_set(conf, "enable.idempotence", idempotent ? "true" : "false") == 0 &&
              cli_kafka_set(conf, "compression.type", a->compression) == 0 &&
              cli_kafka_set(conf, "allow.auto.create.topics", "false") == 0 &&
              cli_kafka_set(conf, "partitioner", "murmur2_random") == 0 &&
              set_i64(conf, "message.timeout.ms", a->timeout_ms) == 0 &&
              cli_kafka_set(conf, "debug", "msg") == 0 &&
              (!a->linger_seen || set_i64(conf, "linger.ms", a->linger_ms) == 0) &&
              (!a->txn_id || (cli_kafka_set(conf, "transactional.id", a->txn_id) == 0 &&
                              set_i64(conf, "transaction.timeout.ms", txn_timeout) == 0));
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
}

/* Builds the --header template. Returns 0, or 2 after printing a usage error. */
static int make_headers(prod_state *st)
{
    const struct cli_list *l = &st->a->headers;
    st->hdrs = rd_kafka_headers_new((size_t)(l->n > 0 ? l->n : 1));
    for (int i = 0; i < l->n; i++) {
        const char *eq = strchr(l->items[i], '=');
        if (!eq || eq == l->items[i]) {
            fprintf(stderr, "%s: --header '%s': expected KEY=VALUE\n", PROD_CMD, l->items[i]);
            return 2;
        }
        rd_kafka_header_add(st->hdrs, l->items[i], eq - l->items[i], eq + 1,
                            (ssize_t)strlen(eq + 1));
    }
    return 0;
}

/* ---------------- transactions ---------------- */

/* Runs a transactional call; on failure prints what failed and returns 1. */
static int txn_call(const char *what, rd_kafka_error_t *e)
{
    if (!e)
        return 0;
    fprintf(stderr, "%s: %s: %s (%s)\n", PROD_CMD, what, rd_kafka_error_name(e),
            rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return 1;
}

static int txn_begin(prod_state *st)
{
    return txn_call("begin transaction", rd_kafka_begin_transaction(st->cl.rk));
}

/* Commits the open transaction; the delivery error, if one came first, wins the message.
 * The commit waits longer than message.timeout.ms, so that a record the brokers keep
 * refusing fails (making the transaction abortable) before the commit gives up (which would
 * leave it in progress, and an abort would conflict with it). */
static int txn_commit(prod_state *st)
{
    int64_t wait_ms = st->a->timeout_ms + PROD_COMMIT_SLACK_MS;
    rd_kafka_error_t *e = rd_kafka_commit_transaction(st->cl.rk, (int)wait_ms);
    if (st->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (e)
            rd_kafka_error_destroy(e);
        print_delivery_error(st);
        return 1;
    }
    if (txn_call("commit transaction", e) != 0)
        return 1;
    st->txns++;
    return 0;
}

static void txn_abort(prod_state *st)
{
    rd_kafka_error_t *e = rd_kafka_abort_transaction(st->cl.rk, (int)st->a->timeout_ms);
    if (txn_call("abort transaction", e) == 0)
        fprintf(stderr, "%s: transaction aborted; its records are not visible to "
                "read_committed consumers\n", PROD_CMD);
}

/* ---------------- producing ---------------- */

/* Queues one record, waiting while librdkafka's queue is full for at most --timeout-ms
 * without progress. Returns 0, or 1 after printing. */
static int send_line(prod_state *st, char *line, size_t len)
{
    const prod_args *a = st->a;
    const char *key = NULL, *val = line;
    size_t klen = 0, vlen = len;
    if (a->key_sep) {
        const char *sep = memmem(line, len, a->key_sep, strlen(a->key_sep));
        if (!sep) {
            fprintf(stderr, "%s: line %" PRId64 " has no key separator '%s'\n", PROD_CMD,
                    st->read, a->key_sep);
            return 1;
        }
        key = line;
        klen = (size_t)(sep - line);
        val = sep + strlen(a->key_sep);
        vlen = len - klen - strlen(a->key_sep);
    }
    int32_t part = a->partition >= 0 ? (int32_t)a->partition : RD_KAFKA_PARTITION_UA;
    int64_t waited_ms = 0;
    for (;;) {
        rd_kafka_headers_t *h = a->headers.n > 0 ? rd_kafka_headers_copy(st->hdrs) : NULL;
        rd_kafka_resp_err_t e = rd_kafka_producev(
            st->cl.rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_PARTITION(part),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(st),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (h)
            rd_kafka_headers_destroy(h);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || waited_ms >= a->timeout_ms) {
            fprintf(stderr, "%s: cannot queue line %" PRId64 ": %s (%s)\n", PROD_CMD, st->read,
                    rd_kafka_err2name(e), rd_kafka_err2str(e));
            return 1;
        }
        int64_t acked = st->acked;
        rd_kafka_poll(st->cl.rk, PROD_QUEUE_FULL_WAIT_MS);
        waited_ms = st->acked > acked ? 0 : waited_ms + PROD_QUEUE_FULL_WAIT_MS;
        if (st->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            print_delivery_error(st);
            return 1;
        }
    }
    st->sent++;
    st->bytes += (int64_t)(klen + vlen);
    rd_kafka_poll(st->cl.rk, 0);
    progress_line(st, false);
    if (st->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        print_delivery_error(st);
        return 1;
    }
    return 0;
}

/* Waits for every queued record's delivery report. Returns 0, or 1 after printing. */
static int flush_all(prod_state *st)
{
    int64_t deadline = cli_now_ms() + st->a->timeout_ms + 2000;
    while (rd_kafka_outq_len(st->cl.rk) > 0 && cli_now_ms() < deadline) {
        rd_kafka_flush(st->cl.rk, PROD_PROGRESS_EVERY_MS);
        progress_line(st, false);
    }
    if (st->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        print_delivery_error(st);
        return 1;
    }
    if (rd_kafka_outq_len(st->cl.rk) > 0) {
        fprintf(stderr, "%s: %d records still unacknowledged after %" PRId64 " ms\n", PROD_CMD,
                rd_kafka_outq_len(st->cl.rk), st->a->timeout_ms);
        return 1;
    }
    return 0;
}

/* Reads every line of in and produces it, in transactions when asked; a failure inside a
 * transaction aborts it. Returns the exit code. */
static int produce_lines(prod_state *st, FILE *in)
{
    const prod_args *a = st->a;
    bool txn = a->txn_id != NULL, open = false; /* open: begun and not committed */
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    ssize_t n;
    while (rc == 0 && (n = getline(&line, &cap, in)) >= 0) {
        st->read++;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (txn && !open) {
            rc = txn_begin(st);
            open = rc == 0;
        }
        if (rc == 0)
            rc = send_line(st, line, (size_t)n);
        if (rc == 0 && txn && a->txn_batch_seen && st->sent % a->txn_batch == 0) {
            rc = txn_commit(st);
            open = rc != 0;
        }
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "%s: reading input: %s\n", PROD_CMD, strerror(errno));
        rc = 1;
    }
    free(line);
    if (rc == 0 && open) {
        rc = txn_commit(st);
        open = rc != 0;
    }
    if (rc == 0 && !txn)
        rc = flush_all(st);
    if (rc != 0 && open)
        txn_abort(st);
    return rc;
}

static int print_summary(prod_state *st)
{
    double secs = (double)(cli_now_ms() - st->start_ms) / 1000.0;
    progress_line(st, true);
    fprintf(stderr, "produced %" PRId64 " record%s to %s in %.3f s\n", st->acked,
            st->acked == 1 ? "" : "s", st->a->topic, secs);
    if (!st->a->json)
        return 0;
    cJSON *j = cJSON_CreateObject();
    bool ok = j && cJSON_AddStringToObject(j, "topic", st->a->topic) &&
              cJSON_AddNumberToObject(j, "records", (double)st->acked) &&
              cJSON_AddNumberToObject(j, "bytes", (double)st->bytes) &&
              cJSON_AddNumberToObject(j, "transactions", (double)st->txns) &&
              cJSON_AddNumberToObject(j, "seconds", secs);
    char *text = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", PROD_CMD);
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

/* ---------------- arguments ---------------- */

static const char *const ACKS[] = {"all", "-1", "1", "0", NULL};
static const char *const CODECS[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};

#define PROD_OPTS(a)                                                                            \
    {                                                                                           \
        {"topic", CLI_OPT_STR, &(a).topic, 0, 0, NULL, NULL, "the topic (required; must exist)"}, \
        {"file", CLI_OPT_STR, &(a).file, 0, 0, NULL, NULL, "read lines from this file"},  \
        {"key-separator", CLI_OPT_STR, &(a).key_sep, 0, 0, NULL, NULL,                         \
         "a line's text before it is the key"},                                       \
        {"header", CLI_OPT_LIST, &(a).headers, 0, 0, NULL, NULL,                               \
         "KEY=VALUE on every record (repeatable)"},                                             \
        {"acks", CLI_OPT_ENUM, &(a).acks, 0, 0, ACKS, NULL, "acks (default all)"},             \
        {"idempotent", CLI_OPT_BOOL, &(a).idempotent, 0, 0, NULL, &(a).idempotent_seen,        \
         "idempotent producer (default with acks=all)"},                                        \
        {"no-idempotent", CLI_OPT_BOOL, &(a).no_idempotent, 0, 0, NULL, NULL,                  \
         "plain producer even with acks=all"},                                                  \
        {"transactional-id", CLI_OPT_STR, &(a).txn_id, 0, 0, NULL, NULL,                       \
         "all lines in one transaction (or --txn-batch)"},                                      \
        {"txn-batch", CLI_OPT_I64, &(a).txn_batch, 1, 100000000, NULL, &(a).txn_batch_seen,    \
         "commit a transaction every N lines"},                                                 \
        {"partition", CLI_OPT_I64, &(a).partition, 0, INT32_MAX, NULL, NULL,                   \
         "every record to partition N (default: by key)"},                                \
        {"compression", CLI_OPT_ENUM, &(a).compression, 0, 0, CODECS, NULL,                    \
         "codec (default none)"},                                                               \
        {"linger-ms", CLI_OPT_I64, &(a).linger_ms, 0, 900000, NULL, &(a).linger_seen,          \
         "batch for up to N ms (librdkafka's default 5)"},                                      \
        {"progress", CLI_OPT_BOOL, &(a).progress, 0, 0, NULL, NULL,                            \
         "sent/acked/rate on stderr each second (default on a tty)"},         \
        {"bootstrap", CLI_OPT_STR, &(a).bootstrap, 0, 0, NULL, NULL,                           \
         "HOST:PORT (default $BROOK_BOOTSTRAP, else 127.0.0.1:9092)"},                          \
        {"timeout-ms", CLI_OPT_I64, &(a).timeout_ms, 1, 3600000, NULL, NULL,                   \
         "delivery and request timeout (default 10000)"},                                       \
        {"json", CLI_OPT_BOOL, &(a).json, 0, 0, NULL, NULL, "JSON summary on stdout"},         \
    }

static void prod_defaults(prod_args *a)
{
    memset(a, 0, sizeof(*a));
    a->acks = "all";
    a->compression = "none";
    a->timeout_ms = CLI_TIMEOUT_DEFAULT_MS;
    a->partition = -1;
}

void cli_produce_usage(FILE *out)
{
    prod_args a;
    prod_defaults(&a);
    const struct cli_opt opts[] = PROD_OPTS(a);
    fprintf(out, "brook produce --topic T [flags]   each line of stdin (or --file) is a record;\n"
                 "  a summary goes to stderr, exit 1 naming the Kafka error on any failure\n"
                 "  flags:\n");
    cli_args_usage(out, opts, sizeof(opts) / sizeof(opts[0]));
}

/* Checks the flags that depend on each other. Returns 0 or 2 after printing. */
static int check_args(const prod_args *a, bool *idempotent)
{
    if (!a->topic) {
        fprintf(stderr, "%s: --topic is required\n", PROD_CMD);
        return 2;
    }
    bool acks_all = strcmp(a->acks, "all") == 0 || strcmp(a->acks, "-1") == 0;
    if (a->idempotent && a->no_idempotent) {
        fprintf(stderr, "%s: --idempotent and --no-idempotent exclude each other\n", PROD_CMD);
        return 2;
    }
    if (a->idempotent && !acks_all) {
        fprintf(stderr, "%s: --idempotent needs --acks all\n", PROD_CMD);
        return 2;
    }
    if (a->txn_id && (!acks_all || a->no_idempotent)) {
        fprintf(stderr, "%s: --transactional-id needs --acks all and idempotence\n", PROD_CMD);
        return 2;
    }
    if (a->txn_batch_seen && !a->txn_id) {
        fprintf(stderr, "%s: --txn-batch needs --transactional-id\n", PROD_CMD);
        return 2;
    }
    *idempotent = a->idempotent || (acks_all && !a->no_idempotent);
    return 0;
}

/* Opens the producer and checks the topic (and --partition) exist. Returns 0 or 1. */
static int open_producer(prod_state *st, bool idempotent)
{
    const prod_args *a = st->a;
    rd_kafka_conf_t *conf = make_conf(a, idempotent);
    if (!conf)
        return 1;
    if (cli_client_open(&st->cl, PROD_CMD, cli_bootstrap(a->bootstrap), a->timeout_ms,
                        RD_KAFKA_PRODUCER, conf) != 0)
        return 1;
    int parts = cli_kafka_topic_partitions(st->cl.rk, a->topic);
    if (parts < 0)
        return 1;
    if (parts == 0) {
        fprintf(stderr, "%s: topic %s does not exist (UNKNOWN_TOPIC_OR_PART); create it with "
                "brook topic create\n", PROD_CMD, a->topic);
        return 1;
    }
    if (a->partition >= parts) {
        fprintf(stderr, "%s: topic %s has %d partitions; there is no partition %" PRId64
                " (UNKNOWN_TOPIC_OR_PART)\n", PROD_CMD, a->topic, parts, a->partition);
        return 1;
    }
    if (a->txn_id)
        return txn_call("init transactions",
                        rd_kafka_init_transactions(st->cl.rk, (int)a->timeout_ms));
    return 0;
}

int cli_produce_main(int argc, char **argv)
{
    prod_args a;
    prod_defaults(&a);
    const struct cli_opt opts[] = PROD_OPTS(a);
    int prc = cli_args_parse(PROD_CMD, argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
    if (prc == 1) {
        cli_produce_usage(stdout);
        return 0;
    }
    bool idempotent = false;
    if (prc != 0 || check_args(&a, &idempotent) != 0)
        return 2;
    prod_state st = {.a = &a, .progress = a.progress || isatty(STDERR_FILENO)};
    int rc = make_headers(&st);
    FILE *in = stdin;
    if (rc == 0 && a.file && !(in = fopen(a.file, "r"))) {
        fprintf(stderr, "%s: cannot open %s: %s\n", PROD_CMD, a.file, strerror(errno));
        rc = 1;
    }
    if (rc == 0)
        rc = open_producer(&st, idempotent);
    if (rc == 0) {
        st.start_ms = cli_now_ms();
        st.next_progress_ms = st.start_ms + PROD_PROGRESS_EVERY_MS;
        rc = produce_lines(&st, in);
    }
    if (rc == 0)
        rc = print_summary(&st);
    if (in && in != stdin)
        fclose(in);
    cli_client_close(&st.cl);
    if (st.hdrs)
        rd_kafka_headers_destroy(st.hdrs);
    return rc;
}
