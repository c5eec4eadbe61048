/* librdkafka 2.0.2 transactions and idempotence against brookd.
 *
 *   txn_clients BOOTSTRAP [IDEMPOTENT_MESSAGES]
 *
 * 1. CreateTopics txc-a and txc-b (3 partitions each) and txc-idem (3 partitions).
 * 2. One transactional producer runs 6 transactions over all 6 partitions of txc-a and txc-b:
 *    commit, abort, commit, abort, commit, commit (the aborted ones are flushed before
 *    abort_transaction(), so their records really are in the log).  Every delivery report
 *    must be OK; its offset is remembered.
 * 3. Zombie fencing: producer Z1 (transactional.id txc-zombie) opens a transaction and writes
 *    records to txc-a/0 and txc-b/1 (delivered).  Z2 with the same transactional.id calls
 *    init_transactions(), which must succeed and fence Z1 (aborting its transaction); Z2
 *    commits its own records.  Z1 then produces once more and commits: commit_transaction()
 *    must fail with a fatal error, the fatal error must be "fenced", the last record's
 *    delivery must fail and begin_transaction() must fail too.
 * 4. Read back every partition of txc-a/txc-b with assign() (no subscribe):
 *    read_committed sees exactly the committed records (main producer's committed
 *    transactions and Z2's), in offset order at their acknowledged offsets; read_uncommitted
 *    sees every acknowledged record (committed and aborted, the zombie's pre-fence records
 *    included) in offset order, and never Z1's refused post-fence record.  The high
 *    watermark is past the last record (a marker follows it), and with no open transaction
 *    ListOffsets(latest) under read_committed equals the read_uncommitted high watermark.
 * 5. Idempotent producer (enable.idempotence=true, 5 in flight, small batches) sends
 *    IDEMPOTENT_MESSAGES (default 20000) messages to txc-idem: every delivery report OK,
 *    offsets contiguous from 0 per partition in send order; reading back, each message is
 *    present exactly once, in order, and the high watermark equals the count.
 * Exits 0 only if every check passed; every wait is bounded. */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_bootstrap;
static long g_checks;

#define FAIL(...)                                                                             \
  do {                                                                                        \
    fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                      \
    fprintf(stderr, __VA_ARGS__);                                                             \
    fputc('\n', stderr);                                                                      \
    exit(1);                                                                                  \
  } while (0)
#define CHECK(cond, ...)                                                                      \
  do {                                                                                        \
    g_checks++;                                                                               \
    if (!(cond)) FAIL(__VA_ARGS__);                                                           \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) FAIL("conf %s=%s: %s", k, v, err);
}

static rd_kafka_conf_t *base_conf(void) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", g_bootstrap);
  set(conf, "socket.timeout.ms", "10000");
  set(conf, "api.version.request.timeout.ms", "10000");
  set(conf, "log.connection.close", "false");
  if (getenv("BROOK_RDKAFKA_DEBUG")) set(conf, "debug", getenv("BROOK_RDKAFKA_DEBUG"));
  return conf;
}

/* Fails on a transactional API error, printing it. */
static void txn_ok(rd_kafka_error_t *e, const char *what) {
  g_checks++;
  if (e) {
    fprintf(stderr, "FAIL %s: %s (%s)%s%s\n", what, rd_kafka_error_name(e), rd_kafka_error_string(e),
            rd_kafka_error_is_fatal(e) ? " fatal" : "", rd_kafka_error_txn_requires_abort(e) ? " abortable" : "");
    exit(1);
  }
}

/* ------------------------------------------------------------------ admin */
static void create_topics(const char **names, int n, int parts) {
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(), err, sizeof err);
  if (!rk) FAIL("admin handle: %s", err);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_NewTopic_t *nt[8];
  for (int i = 0; i < n; i++) {
    nt[i] = rd_kafka_NewTopic_new(names[i], parts, 1, err, sizeof err);
    if (!nt[i]) FAIL("NewTopic: %s", err);
  }
  rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opt, 10000, err, sizeof err);
  rd_kafka_CreateTopics(rk, nt, (size_t)n, opt, q);
  rd_kafka_event_t *ev = NULL;
  double deadline = now_s() + 30;
  while (now_s() < deadline) {
    ev = rd_kafka_queue_poll(q, 1000);
    if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATETOPICS_RESULT) break;
    if (ev) rd_kafka_event_destroy(ev);
    ev = NULL;
  }
  CHECK(ev != NULL, "CreateTopics: no result within 30s");
  CHECK(rd_kafka_event_error(ev) == 0, "CreateTopics: %s", rd_kafka_event_error_string(ev));
  size_t cnt;
  const rd_kafka_topic_result_t **res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
  CHECK((int)cnt == n, "CreateTopics: %zu results", cnt);
  for (size_t i = 0; i < cnt; i++)
    CHECK(rd_kafka_topic_result_error(res[i]) == 0, "CreateTopics %s: %s", rd_kafka_topic_result_name(res[i]),
          rd_kafka_err2name(rd_kafka_topic_result_error(res[i])));
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opt);
  for (int i = 0; i < n; i++) rd_kafka_NewTopic_destroy(nt[i]);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
}

/* ------------------------------------------------------------------ records */
#define NTOPIC 2
#define NPART 3
static const char *TOPICS[NTOPIC] = {"txc-a", "txc-b"};

struct rec {
  int topic, part;
  char value[64];
  int committed;  /* 1: its transaction committed; 0: aborted (or refused) */
  int must_fail;  /* 1: the zombie's post-fence record: delivery must fail */
  int delivered;  /* delivery reports seen */
  int dr_err;     /* error of the delivery report */
  int64_t offset; /* acknowledged offset, -1 none */
};
#define MAXREC 4096
static struct rec g_rec[MAXREC];
static int g_nrec;

static void txn_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  struct rec *r = m->_private;
  r->delivered++;
  r->dr_err = m->err;
  r->offset = m->err ? -1 : m->offset;
  if (!m->err && (m->partition != r->part || strcmp(rd_kafka_topic_name(m->rkt), TOPICS[r->topic]) != 0))
    FAIL("record %s delivered to %s/%d", r->value, rd_kafka_topic_name(m->rkt), (int)m->partition);
}

static struct rec *produce_rec(rd_kafka_t *rk, int topic, int part, const char *tag, int i, int committed) {
  if (g_nrec >= MAXREC) FAIL("too many records");
  struct rec *r = &g_rec[g_nrec++];
  r->topic = topic;
  r->part = part;
  r->committed = committed;
  r->offset = -1;
  snprintf(r->value, sizeof r->value, "%s-%s-%d-%d", tag, TOPICS[topic], part, i);
  rd_kafka_resp_err_t e =
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPICS[topic]), RD_KAFKA_V_PARTITION(part),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(tag, strlen(tag)),
                        RD_KAFKA_V_VALUE(r->value, strlen(r->value)), RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
  if (e) {
    /* only acceptable for the zombie's post-fence record */
    r->delivered = 1;
    r->dr_err = e;
    if (!r->must_fail) FAIL("produce %s: %s", r->value, rd_kafka_err2str(e));
  }
  return r;
}

static rd_kafka_t *txn_producer(const char *txn_id) {
  char err[512];
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "transactional.id", txn_id);
  set(conf, "transaction.timeout.ms", "60000");
  set(conf, "linger.ms", "5");
  set(conf, "message.timeout.ms", "30000");
  rd_kafka_conf_set_dr_msg_cb(conf, txn_dr_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) FAIL("producer %s: %s", txn_id, err);
  txn_ok(rd_kafka_init_transactions(rk, 30000), "init_transactions");
  return rk;
}

static void flush_all(rd_kafka_t *rk, const char *what) {
  rd_kafka_resp_err_t e = rd_kafka_flush(rk, 30000);
  CHECK(e == 0, "%s: flush: %s", what, rd_kafka_err2str(e));
  rd_kafka_poll(rk, 0);
}

/* ------------------------------------------------------------------ transactions */
static void run_transactions(void) {
  rd_kafka_t *rk = txn_producer("txc-main");
  static const int outcome[] = {1, 0, 1, 0, 1, 1}; /* 1 commit, 0 abort */
  const int per_part = 25;
  for (int t = 0; t < (int)(sizeof outcome / sizeof outcome[0]); t++) {
    int first = g_nrec;
    char tag[32];
    snprintf(tag, sizeof tag, "main%d-%s", t, outcome[t] ? "c" : "a");
    txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction");
    for (int i = 0; i < per_part; i++)
      for (int tp = 0; tp < NTOPIC; tp++)
        for (int p = 0; p < NPART; p++) {
          produce_rec(rk, tp, p, tag, i, outcome[t]);
          rd_kafka_poll(rk, 0);
        }
    if (outcome[t]) {
      txn_ok(rd_kafka_commit_transaction(rk, 30000), "commit_transaction");
      rd_kafka_poll(rk, 0);
    } else {
      flush_all(rk, "before abort");
      txn_ok(rd_kafka_abort_transaction(rk, 30000), "abort_transaction");
    }
    rd_kafka_poll(rk, 0);
    for (int k = first; k < g_nrec; k++)
      CHECK(g_rec[k].delivered == 1 && g_rec[k].dr_err == 0, "txn %d: record %s: %d delivery reports, error %s", t,
            g_rec[k].value, g_rec[k].delivered, rd_kafka_err2name(g_rec[k].dr_err));
    printf("txn %d (%s): %d records delivered\n", t, outcome[t] ? "commit" : "abort", g_nrec - first);
  }
  rd_kafka_destroy(rk);
}

static int fenced_code(rd_kafka_resp_err_t c) {
  return c == RD_KAFKA_RESP_ERR__FENCED || c == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         c == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

static void run_zombie(void) {
  rd_kafka_t *z1 = txn_producer("txc-zombie");
  txn_ok(rd_kafka_begin_transaction(z1), "zombie begin_transaction");
  int first = g_nrec;
  for (int i = 0; i < 10; i++) {
    produce_rec(z1, 0, 0, "zombie", i, 0);
    produce_rec(z1, 1, 1, "zombie", i, 0);
  }
  flush_all(z1, "zombie before fencing");
  for (int k = first; k < g_nrec; k++)
    CHECK(g_rec[k].delivered == 1 && g_rec[k].dr_err == 0, "zombie record %s not delivered (%s)", g_rec[k].value,
          rd_kafka_err2name(g_rec[k].dr_err));

  /* The second instance: its init_transactions fences z1 and aborts z1's transaction. */
  double t0 = now_s();
  rd_kafka_t *z2 = txn_producer("txc-zombie");
  printf("zombie: second init_transactions took %.2fs\n", now_s() - t0);
  txn_ok(rd_kafka_begin_transaction(z2), "z2 begin_transaction");
  first = g_nrec;
  for (int i = 0; i < 10; i++) {
    produce_rec(z2, 0, 0, "successor", i, 1);
    produce_rec(z2, 1, 1, "successor", i, 1);
  }
  txn_ok(rd_kafka_commit_transaction(z2, 30000), "z2 commit_transaction");
  rd_kafka_poll(z2, 0);
  for (int k = first; k < g_nrec; k++)
    CHECK(g_rec[k].delivered == 1 && g_rec[k].dr_err == 0, "successor record %s not delivered (%s)", g_rec[k].value,
          rd_kafka_err2name(g_rec[k].dr_err));

  /* The zombie keeps going: one more record in a partition it already holds, then commit. */
  struct rec *late = &g_rec[g_nrec];
  late->must_fail = 1;
  produce_rec(z1, 0, 0, "zombie-late", 0, 0);
  rd_kafka_error_t *e = rd_kafka_commit_transaction(z1, 30000);
  CHECK(e != NULL, "the fenced zombie's commit_transaction succeeded");
  printf("zombie: commit_transaction -> %s (%s)%s\n", rd_kafka_error_name(e), rd_kafka_error_string(e),
         rd_kafka_error_is_fatal(e) ? " fatal" : "");
  CHECK(rd_kafka_error_is_fatal(e), "zombie commit error %s is not fatal", rd_kafka_error_name(e));
  rd_kafka_error_destroy(e);
  char errstr[512];
  rd_kafka_resp_err_t fe = rd_kafka_fatal_error(z1, errstr, sizeof errstr);
  CHECK(fenced_code(fe), "zombie fatal error is %s (%s), expected fenced", rd_kafka_err2name(fe), errstr);
  rd_kafka_flush(z1, 10000);
  rd_kafka_poll(z1, 0);
  CHECK(late->delivered == 1 && late->dr_err != 0, "zombie's post-fence record: %d reports, error %s",
        late->delivered, rd_kafka_err2name(late->dr_err));
  e = rd_kafka_begin_transaction(z1);
  CHECK(e != NULL, "begin_transaction on a fenced producer succeeded");
  rd_kafka_error_destroy(e);
  rd_kafka_destroy(z1);
  rd_kafka_destroy(z2);
}

/* ------------------------------------------------------------------ read back */
static rd_kafka_t *new_consumer(const char *isolation) {
  char err[512];
  rd_kafka_conf_t *conf = base_conf();
  char gid[64];
  snprintf(gid, sizeof gid, "txc-reader-%s-%ld", isolation, (long)time(NULL));
  set(conf, "group.id", gid); /* assign() needs one; nothing is committed */
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.auto.offset.store", "false");
  set(conf, "enable.partition.eof", "true");
  set(conf, "auto.offset.reset", "error");
  set(conf, "isolation.level", isolation);
  set(conf, "check.crcs", "true");
  set(conf, "fetch.wait.max.ms", "100");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) FAIL("consumer: %s", err);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

struct seen {
  int n;
  int64_t off[MAXREC];
  char val[MAXREC][64];
};
static struct seen g_seen[NTOPIC][NPART];

static int topic_index(const char *name) {
  for (int i = 0; i < NTOPIC; i++)
    if (strcmp(name, TOPICS[i]) == 0) return i;
  return -1;
}

/* Reads every partition of txc-a and txc-b from the beginning to EOF. */
static void read_all(const char *isolation) {
  rd_kafka_t *rk = new_consumer(isolation);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NTOPIC * NPART);
  for (int t = 0; t < NTOPIC; t++)
    for (int p = 0; p < NPART; p++)
      rd_kafka_topic_partition_list_add(l, TOPICS[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  CHECK(rd_kafka_assign(rk, l) == 0, "assign");
  rd_kafka_topic_partition_list_destroy(l);
  memset(g_seen, 0, sizeof g_seen);
  int eof[NTOPIC][NPART] = {{0}};
  int neof = 0;
  double deadline = now_s() + 60;
  while (neof < NTOPIC * NPART) {
    if (now_s() > deadline) FAIL("%s: read timed out (%d of %d partitions at EOF)", isolation, neof, NTOPIC * NPART);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    const char *tn = m->rkt ? rd_kafka_topic_name(m->rkt) : "?";
    int t = topic_index(tn);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (t >= 0 && !eof[t][m->partition]) {
        eof[t][m->partition] = 1;
        neof++;
      }
    } else if (m->err) {
      FAIL("%s: consumer error on %s/%d: %s", isolation, tn, (int)m->partition, rd_kafka_message_errstr(m));
    } else {
      CHECK(t >= 0, "%s: message from unexpected topic %s", isolation, tn);
      struct seen *s = &g_seen[t][m->partition];
      CHECK(s->n < MAXREC, "too many messages");
      CHECK(m->len < 64, "%s: value too long at %s/%d@%" PRId64, isolation, tn, (int)m->partition, m->offset);
      s->off[s->n] = m->offset;
      memcpy(s->val[s->n], m->payload, m->len);
      s->val[s->n][m->len] = 0;
      s->n++;
    }
    rd_kafka_message_destroy(m);
  }

  /* Watermarks: no open transaction is left, so ListOffsets(latest) is the same under both
   * isolation levels (this consumer's ListOffsets carries its isolation level). */
  for (int t = 0; t < NTOPIC; t++)
    for (int p = 0; p < NPART; p++) {
      int64_t lo = -1, hi = -1;
      rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, TOPICS[t], p, &lo, &hi, 10000);
      CHECK(e == 0, "%s: watermarks %s/%d: %s", isolation, TOPICS[t], p, rd_kafka_err2str(e));
      CHECK(lo == 0, "%s: %s/%d low watermark %" PRId64, isolation, TOPICS[t], p, lo);
      int64_t last = -1;
      for (int k = 0; k < g_nrec; k++)
        if (g_rec[k].topic == t && g_rec[k].part == p && g_rec[k].offset > last) last = g_rec[k].offset;
      /* every transaction ended with a marker after its last record */
      CHECK(hi >= last + 2, "%s: %s/%d high watermark %" PRId64 " not past the last record %" PRId64 " + marker",
            isolation, TOPICS[t], p, hi, last);
      static int64_t hw[NTOPIC][NPART];
      if (strcmp(isolation, "read_uncommitted") == 0)
        hw[t][p] = hi;
      else if (hw[t][p])
        CHECK(hi == hw[t][p], "ListOffsets latest read_committed %" PRId64 " != read_uncommitted %" PRId64 " on %s/%d",
              hi, hw[t][p], TOPICS[t], p);
    }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

static int cmp_rec_off(const void *a, const void *b) {
  const struct rec *x = *(struct rec *const *)a, *y = *(struct rec *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Compares what was read with the expected records (committed only, or all delivered). */
static void verify(const char *isolation, int committed_only) {
  static struct rec *exp[MAXREC];
  long total = 0;
  for (int t = 0; t < NTOPIC; t++)
    for (int p = 0; p < NPART; p++) {
      int n = 0;
      for (int k = 0; k < g_nrec; k++) {
        struct rec *r = &g_rec[k];
        if (r->topic != t || r->part != p) continue;
        if (r->must_fail) continue;
        if (committed_only && !r->committed) continue;
        exp[n++] = r;
      }
      qsort(exp, (size_t)n, sizeof exp[0], cmp_rec_off);
      struct seen *s = &g_seen[t][p];
      for (int i = 0; i < s->n; i++)
        CHECK(strncmp(s->val[i], "zombie-late", 11) != 0,
              "%s: %s/%d@%" PRId64 ": the fenced zombie's refused record %s is in the log", isolation, TOPICS[t], p,
              s->off[i], s->val[i]);
      for (int i = 0; i < n && i < s->n; i++) {
        CHECK(strcmp(s->val[i], exp[i]->value) == 0 && s->off[i] == exp[i]->offset,
              "%s: %s/%d record #%d: expected %s@%" PRId64 ", got %s@%" PRId64, isolation, TOPICS[t], p, i,
              exp[i]->value, exp[i]->offset, s->val[i], s->off[i]);
      }
      CHECK(s->n == n, "%s: %s/%d: expected %d records, read %d", isolation, TOPICS[t], p, n, s->n);
      total += n;
    }
  printf("%s: %ld records, exactly the expected ones, in offset order\n", isolation, total);
}

/* ------------------------------------------------------------------ idempotent producer */
static int64_t *g_idem_off;
static int *g_idem_dr;
static long g_idem_err;

static void idem_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  int i = (int)(intptr_t)m->_private;
  g_idem_dr[i]++;
  if (m->err) {
    if (g_idem_err++ < 10) fprintf(stderr, "idempotent delivery %d failed: %s\n", i, rd_kafka_err2str(m->err));
    return;
  }
  g_idem_off[i] = m->offset;
  if (m->partition != i % NPART) FAIL("idempotent message %d delivered to partition %d", i, (int)m->partition);
}

static void run_idempotent(int n) {
  char err[512];
  const char *topic = "txc-idem";
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "enable.idempotence", "true");
  set(conf, "max.in.flight", "5");
  set(conf, "linger.ms", "1");
  set(conf, "batch.num.messages", "50");
  set(conf, "message.timeout.ms", "60000");
  rd_kafka_conf_set_dr_msg_cb(conf, idem_dr_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) FAIL("idempotent producer: %s", err);
  g_idem_off = malloc(sizeof(int64_t) * (size_t)n);
  g_idem_dr = calloc((size_t)n, sizeof(int));
  for (int i = 0; i < n; i++) g_idem_off[i] = -1;
  char val[64];
  double deadline = now_s() + 120;
  for (int i = 0; i < n; i++) {
    int vl = snprintf(val, sizeof val, "idem-%d", i);
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % NPART),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                RD_KAFKA_V_VALUE(val, (size_t)vl),
                                                RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END);
      if (e == 0) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) FAIL("idempotent produce %d: %s", i, rd_kafka_err2str(e));
      if (now_s() > deadline) FAIL("idempotent produce: queue stuck");
      rd_kafka_poll(rk, 50);
    }
    if ((i & 255) == 0) rd_kafka_poll(rk, 0);
  }
  flush_all(rk, "idempotent");
  char errstr[256];
  CHECK(rd_kafka_fatal_error(rk, errstr, sizeof errstr) == 0, "idempotent producer fatal error: %s", errstr);
  CHECK(g_idem_err == 0, "idempotent producer: %ld failed deliveries", g_idem_err);
  int64_t next[NPART] = {0};
  for (int i = 0; i < n; i++) {
    CHECK(g_idem_dr[i] == 1, "idempotent message %d: %d delivery reports", i, g_idem_dr[i]);
    CHECK(g_idem_off[i] == next[i % NPART], "idempotent message %d acknowledged at offset %" PRId64 ", expected %" PRId64,
          i, g_idem_off[i], next[i % NPART]);
    next[i % NPART]++;
  }
  rd_kafka_destroy(rk);

  /* Read back with read_committed (the default): idempotent, non-transactional data is
   * stable at once. */
  rd_kafka_t *c = new_consumer("read_committed");
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++) rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  CHECK(rd_kafka_assign(c, l) == 0, "assign");
  rd_kafka_topic_partition_list_destroy(l);
  int *seen = calloc((size_t)n, sizeof(int));
  int64_t expect_off[NPART] = {0};
  int neof = 0, eof[NPART] = {0};
  long got = 0;
  deadline = now_s() + 60;
  while (neof < NPART) {
    if (now_s() > deadline) FAIL("idempotent read-back timed out after %ld messages", got);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (!eof[m->partition]) {
        eof[m->partition] = 1;
        neof++;
      }
    } else if (m->err) {
      FAIL("idempotent read: %s", rd_kafka_message_errstr(m));
    } else {
      int idx = -1;
      CHECK(m->len < 32 && sscanf((const char *)m->payload, "idem-%d", &idx) == 1 && idx >= 0 && idx < n,
            "idempotent read: bad value at %d@%" PRId64, (int)m->partition, m->offset);
      CHECK(idx % NPART == m->partition, "message %d read from partition %d", idx, (int)m->partition);
      CHECK(seen[idx] == 0, "idempotent message %d read twice (second at %d@%" PRId64 ")", idx, (int)m->partition,
            m->offset);
      seen[idx] = 1;
      CHECK(m->offset == g_idem_off[idx] && m->offset == expect_off[m->partition],
            "idempotent message %d at %d@%" PRId64 ", acknowledged at %" PRId64, idx, (int)m->partition, m->offset,
            g_idem_off[idx]);
      expect_off[m->partition]++;
      got++;
    }
    rd_kafka_message_destroy(m);
  }
  for (int i = 0; i < n; i++) CHECK(seen[i] == 1, "idempotent message %d missing", i);
  for (int p = 0; p < NPART; p++) {
    int64_t lo, hi;
    CHECK(rd_kafka_query_watermark_offsets(c, topic, p, &lo, &hi, 10000) == 0, "watermarks");
    CHECK(hi == next[p], "txc-idem/%d high watermark %" PRId64 ", expected %" PRId64, p, hi, next[p]);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  free(seen);
  free(g_idem_off);
  free(g_idem_dr);
  printf("idempotent: %d messages, each exactly once, in order\n", n);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BOOTSTRAP [IDEMPOTENT_MESSAGES]\n", argv[0]);
    return 2;
  }
  g_bootstrap = argv[1];
  int nidem = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 20000;
  if (nidem < 1) nidem = 1;
  double t0 = now_s();
  printf("librdkafka %s\n", rd_kafka_version_str());
  const char *topics[] = {"txc-a", "txc-b", "txc-idem"};
  create_topics(topics, 3, NPART);
  run_transactions();
  run_zombie();
  read_all("read_uncommitted");
  verify("read_uncommitted", 0);
  read_all("read_committed");
  verify("read_committed", 1);
  run_idempotent(nidem);
  CHECK(rd_kafka_wait_destroyed(10000) == 0, "librdkafka handles left");
  printf("txn_clients: OK, %ld checks in %.1fs\n", g_checks, now_s() - t0);
  return 0;
}
