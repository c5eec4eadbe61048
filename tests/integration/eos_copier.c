/* eos_copier - an exactly-once consume-transform-produce copier on librdkafka 2.0.2, in the
 * style of Kafka's TransactionalMessageCopier (transactions system test).
 *
 *   eos_copier BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [TXN_MAX_MSGS [TXN_MAX_MS [MAX_RATE]]]
 *
 * Consumes INPUT as a member of GROUP (read_committed, no auto commit, eager "range"
 * rebalancing); every input record (partition P, offset O, key K, value V) becomes an output
 * record on OUTPUT with key K and value "P:O:V" (partitioned by key, so a key always lands
 * on the same output partition).  Records go out in transactions of at most TXN_MAX_MSGS
 * records / TXN_MAX_MS milliseconds (defaults 200 / 100), then the consumer's positions are
 * added with rd_kafka_send_offsets_to_transaction() (with the consumer group metadata:
 * generation and member id, KIP-447) and the transaction is committed.  MAX_RATE (records
 * per second, default 0 = unlimited) slows the copy down so that a test can crash things
 * while it is still going on.
 *
 * Error handling is a real application's (librdkafka's transactions example):
 *   - retriable errors: retry the same call (bounded; then treated as abortable);
 *   - abortable errors: abort the transaction, rewind the consumer to the committed offsets
 *     (rd_kafka_committed(): OffsetFetch with require_stable) and go on;
 *   - fatal errors (fenced, ...) and anything else: destroy the producer, create a new one
 *     (init_transactions fences the old epoch and aborts what it left open), rewind.
 *   - the offsets sent are the last copied offset + 1 of each input partition in the
 *     transaction (tracked by the copier, not rd_kafka_position());
 *   - a rebalance revoking partitions commits the open transaction first (aborts it if the
 *     assignment was lost);
 *   - newly assigned partitions start at offsets fetched with rd_kafka_committed() and given
 *     to rd_kafka_assign(), not at librdkafka's own OffsetFetch: librdkafka 2.0.2 can apply
 *     an UNSTABLE_OFFSET_COMMIT answer meant for the previous assignment to the new one and
 *     then start the partition at auto.offset.reset (a re-copy from offset 0).
 * SIGTERM/SIGINT: abort the open transaction, close the consumer (LeaveGroup), exit 0.
 * A SIGKILL is what the test does to simulate crashes.
 *
 * Prints JSON lines on stdout: {"ev":"ready"} once the producer is initialised, and
 * {"ev":"stats",...} every 2 s and at exit (commits, aborts, producer re-creations, records
 * copied in committed transactions).  Diagnostics go to stderr. */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_run = 1;
static const char *g_bootstrap, *g_in, *g_out, *g_group, *g_txn_id;
static int g_txn_max = 200, g_txn_ms = 100, g_rate = 0;
static double g_tokens, g_tokens_t;

static rd_kafka_t *g_consumer, *g_producer;
static bool g_in_txn;
static int g_txn_msgs;
static double g_txn_start;
static bool g_txn_failed; /* a produce() call failed: the transaction must be aborted */
/* The input positions the open transaction moves to: last copied offset + 1 per input
 * partition (tracked here rather than with rd_kafka_position(), so that only what was
 * really copied in this transaction is committed with it). */
#define MAXP 64
static int64_t g_txn_next[MAXP];
static int64_t g_read_next[MAXP]; /* diagnostics: where each input partition is read from */

static long s_commits, s_aborts, s_recreates, s_copied, s_rewinds, s_retries;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void logf_(const char *fmt, ...)
{
  va_list ap;
  char buf[1024];
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%.3f eos_copier[%s]: %s\n", now_s(), g_txn_id ? g_txn_id : "?", buf);
}

static void die(const char *fmt, ...)
{
  va_list ap;
  char buf[1024];
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  logf_("FATAL: %s", buf);
  exit(2);
}

static void stats(void)
{
  printf("{\"ev\":\"stats\",\"txn_id\":\"%s\",\"commits\":%ld,\"aborts\":%ld,\"recreates\":%ld,"
         "\"copied\":%ld,\"rewinds\":%ld,\"retries\":%ld}\n",
         g_txn_id, s_commits, s_aborts, s_recreates, s_copied, s_rewinds, s_retries);
  fflush(stdout);
}

static void on_signal(int sig)
{
  (void)sig;
  g_run = 0;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
    die("conf %s=%s: %s", k, v, err);
}

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR && g_run)
    ;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
  (void)opaque;
  /* Transport errors are expected while brookd restarts; log only the unusual. */
  if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    return;
  logf_("%s error_cb: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
  (void)rk;
  (void)opaque;
  if (m->err && m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
      m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
    logf_("delivery failed: %s", rd_kafka_err2str(m->err));
}

/* ------------------------------------------------------------------ producer */
static rd_kafka_t *new_producer(void)
{
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", g_bootstrap);
  set(conf, "client.id", g_txn_id);
  set(conf, "transactional.id", g_txn_id);
  set(conf, "transaction.timeout.ms", "10000");
  set(conf, "linger.ms", "5");
  set(conf, "socket.timeout.ms", "10000");
  set(conf, "log.connection.close", "false");
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!p)
    die("producer: %s", err);
  return p;
}

/* Creates the producer and initialises transactions (fences older instances). */
static void init_producer(void)
{
  for (int attempt = 0;; attempt++) {
    g_producer = new_producer();
    for (;;) {
      rd_kafka_error_t *e = rd_kafka_init_transactions(g_producer, 30000);
      if (!e)
        return;
      bool retriable = rd_kafka_error_is_retriable(e);
      logf_("init_transactions: %s (%s)", rd_kafka_error_string(e),
            retriable ? "retriable" : rd_kafka_error_is_fatal(e) ? "fatal" : "other");
      rd_kafka_error_destroy(e);
      if (!g_run)
        die("stopped during init_transactions");
      if (!retriable)
        break;
      s_retries++;
      sleep_ms(200);
    }
    rd_kafka_destroy(g_producer);
    g_producer = NULL;
    if (attempt > 50)
      die("init_transactions keeps failing");
    sleep_ms(500);
  }
}

static void recreate_producer(void)
{
  logf_("re-creating the producer");
  s_recreates++;
  if (g_producer)
    rd_kafka_destroy(g_producer);
  g_producer = NULL;
  g_in_txn = false;
  init_producer();
}

/* ------------------------------------------------------------------ consumer */
/* Fills in the committed offsets of `parts` (missing: BEGINNING, i.e. auto.offset.reset=
 * earliest).  rd_kafka_committed() sends OffsetFetch with require_stable (read_committed),
 * so offsets still pending in another transaction are waited for (UNSTABLE_OFFSET_COMMIT is
 * retried); a partition that comes back with an error is asked again. */
static void fetch_committed(rd_kafka_topic_partition_list_t *parts, const char *why)
{
  if (parts->cnt == 0)
    return;
  for (int attempt = 0;; attempt++) {
    for (int i = 0; i < parts->cnt; i++) {
      parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
      parts->elems[i].err = 0;
    }
    rd_kafka_resp_err_t err = rd_kafka_committed(g_consumer, parts, 10000);
    for (int i = 0; !err && i < parts->cnt; i++)
      if (parts->elems[i].err)
        err = parts->elems[i].err; /* a partition without an answer: ask again */
    if (!err)
      break;
    logf_("committed(): %s", rd_kafka_err2str(err));
    if (attempt > 60)
      die("cannot fetch committed offsets");
    sleep_ms(300);
  }
  char buf[256] = "";
  for (int i = 0; i < parts->cnt; i++) {
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %d@%" PRId64,
             parts->elems[i].partition, parts->elems[i].offset);
    if (parts->elems[i].offset < 0)
      parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  logf_("%s: committed offsets:%s", why, buf);
}

/* Seek every assigned partition back to its committed offset (the start of the aborted
 * transaction's input). */
static void rewind_consumer(void)
{
  rd_kafka_topic_partition_list_t *parts = NULL;
  rd_kafka_resp_err_t err = rd_kafka_assignment(g_consumer, &parts);
  if (err)
    die("assignment: %s", rd_kafka_err2str(err));
  s_rewinds++;
  if (parts->cnt == 0) {
    rd_kafka_topic_partition_list_destroy(parts);
    return;
  }
  fetch_committed(parts, "rewind");
  rd_kafka_error_t *e = rd_kafka_seek_partitions(g_consumer, parts, 10000);
  if (e) {
    logf_("seek_partitions: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
  for (int i = 0; i < parts->cnt; i++)
    if (parts->elems[i].err)
      logf_("seek %s[%d]: %s", parts->elems[i].topic, parts->elems[i].partition,
            rd_kafka_err2str(parts->elems[i].err));
  rd_kafka_topic_partition_list_destroy(parts);
}

/* ------------------------------------------------------------------ transactions */
enum outcome { OK_, RETRY, ABORT, FATAL };

static enum outcome classify(rd_kafka_error_t *e, const char *what)
{
  enum outcome o = rd_kafka_error_txn_requires_abort(e) ? ABORT
                   : rd_kafka_error_is_retriable(e)     ? RETRY
                                                        : FATAL;
  logf_("%s: %s: %s (%s)", what, rd_kafka_error_name(e), rd_kafka_error_string(e),
        o == ABORT ? "abortable" : o == RETRY ? "retriable" : "fatal/other");
  rd_kafka_error_destroy(e);
  return o;
}

/* Aborts the open transaction and rewinds the consumer; on a fatal error re-creates the
 * producer (which aborts it on the broker) and rewinds. */
static void abort_txn(bool rewind)
{
  for (int attempt = 0; g_in_txn; attempt++) {
    rd_kafka_error_t *e = rd_kafka_abort_transaction(g_producer, -1);
    if (!e) {
      s_aborts++;
      break;
    }
    enum outcome o = classify(e, "abort_transaction");
    if (o == RETRY && attempt < 20) {
      s_retries++;
      sleep_ms(100);
      continue;
    }
    recreate_producer();
  }
  g_in_txn = false;
  g_txn_failed = false;
  if (rewind)
    rewind_consumer();
}

static void fatal_reset(bool rewind)
{
  recreate_producer();
  g_txn_failed = false;
  if (rewind)
    rewind_consumer();
}

/* Sends the consumer positions and commits; on failure aborts (or re-creates). Returns
 * true if committed. */
static bool commit_txn(bool rewind_on_failure)
{
  if (!g_in_txn)
    return true;
  if (g_txn_failed) {
    abort_txn(rewind_on_failure);
    return false;
  }
  rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < MAXP; p++)
    if (g_txn_next[p] >= 0)
      rd_kafka_topic_partition_list_add(pos, g_in, p)->offset = g_txn_next[p];
  rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(g_consumer);
  enum outcome o = OK_;
  for (int attempt = 0;; attempt++) {
    rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(g_producer, pos, cgmd, -1);
    if (!e)
      break;
    o = classify(e, "send_offsets_to_transaction");
    if (o == RETRY && attempt < 30) {
      s_retries++;
      sleep_ms(100);
      o = OK_;
      continue;
    }
    if (o == RETRY)
      o = ABORT;
    break;
  }
  rd_kafka_consumer_group_metadata_destroy(cgmd);
  rd_kafka_topic_partition_list_destroy(pos);
  for (int attempt = 0; o == OK_; attempt++) {
    rd_kafka_error_t *e = rd_kafka_commit_transaction(g_producer, -1);
    if (!e) {
      s_commits++;
      s_copied += g_txn_msgs;
      g_in_txn = false;
      return true;
    }
    o = classify(e, "commit_transaction");
    if (o == RETRY && attempt < 30) {
      s_retries++;
      sleep_ms(100);
      o = OK_;
      continue;
    }
    if (o == RETRY)
      o = ABORT;
  }
  if (o == ABORT)
    abort_txn(rewind_on_failure);
  else
    fatal_reset(rewind_on_failure);
  return false;
}

static void begin_txn(void)
{
  for (;;) {
    rd_kafka_error_t *e = rd_kafka_begin_transaction(g_producer);
    if (!e)
      break;
    classify(e, "begin_transaction");
    fatal_reset(false);
  }
  g_in_txn = true;
  g_txn_failed = false;
  g_txn_msgs = 0;
  g_txn_start = now_s();
  for (int p = 0; p < MAXP; p++)
    g_txn_next[p] = -1;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
  (void)opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    char buf[256] = "";
    for (int i = 0; i < parts->cnt; i++)
      snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %d", parts->elems[i].partition);
    logf_("assigned:%s", buf);
    /* Start from explicitly fetched committed offsets rather than letting librdkafka fetch
     * them: librdkafka 2.0.2 can apply an OffsetFetch answer (UNSTABLE_OFFSET_COMMIT) that
     * was meant for the previous assignment to a partition of the new one, re-adding it
     * with offset INVALID, which then means auto.offset.reset (offset 0: a re-copy). */
    rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_copy(parts);
    fetch_committed(start, "assign");
    rd_kafka_assign(rk, start);
    rd_kafka_topic_partition_list_destroy(start);
  } else {
    /* Revoke: finish the transaction with the positions we have (eager protocol: the
     * offsets are committed before anyone else can get these partitions), or abort it if
     * the assignment was lost (someone else may already own them). */
    logf_("revoked %d partition(s)%s", parts->cnt, rd_kafka_assignment_lost(rk) ? " (lost)" : "");
    if (g_in_txn) {
      if (rd_kafka_assignment_lost(rk))
        abort_txn(false);
      else
        commit_txn(false);
    }
    rd_kafka_assign(rk, NULL);
  }
}

static rd_kafka_t *new_consumer(void)
{
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", g_bootstrap);
  set(conf, "client.id", g_txn_id);
  set(conf, "group.id", g_group);
  set(conf, "isolation.level", "read_committed");
  set(conf, "enable.auto.commit", "false");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "partition.assignment.strategy", "range");
  set(conf, "session.timeout.ms", "6000");
  set(conf, "heartbeat.interval.ms", "500");
  set(conf, "max.poll.interval.ms", "20000");
  set(conf, "fetch.wait.max.ms", "100");
  set(conf, "socket.timeout.ms", "10000");
  set(conf, "log.connection.close", "false");
  if (getenv("EOS_COPIER_DEBUG")) /* e.g. cgrp,topic: librdkafka debug log on stderr */
    set(conf, "debug", getenv("EOS_COPIER_DEBUG"));
  rd_kafka_conf_set_error_cb(conf, error_cb);
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!c)
    die("consumer: %s", err);
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(t, g_in, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(c, t);
  rd_kafka_topic_partition_list_destroy(t);
  if (e)
    die("subscribe: %s", rd_kafka_err2str(e));
  return c;
}

/* The rate limit: a token bucket of MAX_RATE records/s holding at most 0.2 s worth. */
static bool rate_ok(void)
{
  if (g_rate <= 0)
    return true;
  double t = now_s();
  g_tokens += (t - g_tokens_t) * g_rate;
  g_tokens_t = t;
  if (g_tokens > g_rate * 0.2)
    g_tokens = g_rate * 0.2;
  return g_tokens >= 1.0;
}

/* Produces the transformed record into the open transaction. */
static void copy(const rd_kafka_message_t *m)
{
  char val[256];
  int n = snprintf(val, sizeof val, "%" PRId32 ":%" PRId64 ":%.*s", m->partition, m->offset,
                   (int)(m->len < 200 ? m->len : 200), (const char *)(m->payload ? m->payload : ""));
  for (;;) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(g_producer, RD_KAFKA_V_TOPIC(g_out),
                          RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(val, (size_t)n),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (!err) {
      g_txn_msgs++;
      g_tokens -= 1.0;
      g_txn_next[m->partition] = m->offset + 1;
      return;
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(g_producer, 10);
      continue;
    }
    logf_("produce: %s", rd_kafka_err2str(err));
    g_txn_failed = true; /* the commit will abort and rewind */
    return;
  }
}

int main(int argc, char **argv)
{
  if (argc < 6) {
    fprintf(stderr, "usage: eos_copier BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID "
                    "[TXN_MAX_MSGS [TXN_MAX_MS [MAX_RATE]]]\n");
    return 2;
  }
  g_bootstrap = argv[1];
  g_in = argv[2];
  g_out = argv[3];
  g_group = argv[4];
  g_txn_id = argv[5];
  if (argc > 6)
    g_txn_max = (int)strtol(argv[6], NULL, 10);
  if (argc > 7)
    g_txn_ms = (int)strtol(argv[7], NULL, 10);
  if (argc > 8)
    g_rate = (int)strtol(argv[8], NULL, 10);
  setvbuf(stderr, NULL, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  for (int p = 0; p < MAXP; p++)
    g_read_next[p] = -1;
  init_producer();
  printf("{\"ev\":\"ready\",\"txn_id\":\"%s\"}\n", g_txn_id);
  fflush(stdout);
  g_consumer = new_consumer();

  double last_stats = now_s();
  g_tokens_t = now_s();
  while (g_run) {
    rd_kafka_message_t *m = NULL;
    if (rate_ok())
      m = rd_kafka_consumer_poll(g_consumer, 20);
    else
      sleep_ms(5);
    if (m) {
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          logf_("consume: %s", rd_kafka_message_errstr(m));
      } else if (m->partition < 0 || m->partition >= MAXP) {
        die("input partition %d out of range", (int)m->partition);
      } else {
        if (m->offset != g_read_next[m->partition])
          logf_("reading input %d from offset %" PRId64 " (next expected: %" PRId64 ")",
                (int)m->partition, m->offset, g_read_next[m->partition]);
        g_read_next[m->partition] = m->offset + 1;
        if (!g_in_txn)
          begin_txn();
        copy(m);
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_poll(g_producer, 0);
    if (g_in_txn && (g_txn_msgs >= g_txn_max || g_txn_failed ||
                     (now_s() - g_txn_start) * 1000.0 >= g_txn_ms)) {
      commit_txn(true);
    }
    if (now_s() - last_stats >= 2.0) {
      stats();
      last_stats = now_s();
    }
  }

  logf_("stopping");
  if (g_in_txn)
    abort_txn(false);
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(g_consumer);
  if (err)
    logf_("consumer_close: %s", rd_kafka_err2str(err));
  rd_kafka_destroy(g_consumer);
  rd_kafka_destroy(g_producer);
  stats();
  return 0;
}
