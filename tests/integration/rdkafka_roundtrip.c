/* librdkafka 2.0.2 roundtrip against brookd.
 *
 *   rdkafka_roundtrip BOOTSTRAP [MESSAGES] [PARTITIONS]
 *
 * 1. CreateTopics (admin API) with PARTITIONS partitions; metadata shows them, leader 1
 *    (with BROOK_TEST_CLUSTER=N: brokers 1..N, each partition led by one of them).
 * 2. Produces MESSAGES messages (acks=all, no idempotence) with keys, one header and explicit
 *    CreateTime timestamps; message i goes to partition i % P.  Every delivery report must be
 *    OK, and message i must land at offset i / P of its partition (fresh topic, in order).
 * 3. Watermarks: low 0, high = count, per partition.
 * 4. Reads back every partition from the beginning (assign, no group) and checks offset,
 *    key, value, header and timestamp of every message, in offset order.
 * 5. offsets_for_times: exact, in-between, before-first and after-last timestamps give the
 *    expected offsets; reading from each returned offset yields the expected first message.
 * 6. DeleteRecords on partition 0 moves the low watermark; reading from the beginning
 *    starts there.  7. DeleteTopics removes the topic from the metadata.
 * Exits 0 only if every check passed; every wait is bounded. */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_bootstrap;
static const char *g_topic;
static int g_nmsg = 100000;
static int g_nparts = 8;
static int g_nodes = 1; /* brokers 1..g_nodes: BROOK_TEST_CLUSTER, else one */
static int64_t g_base_ts;
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
  return conf;
}

/* Message i: partition i%P, offset i/P, key "key-<i>", value "val-<i>-<padding>". */
static int msg_partition(int i) { return i % g_nparts; }
static int64_t msg_offset(int i) { return i / g_nparts; }
static int64_t msg_ts(int i) { return g_base_ts + (int64_t)i * 2; }
static int key_of(int i, char *buf, size_t n) { return snprintf(buf, n, "key-%d", i); }
static int val_of(int i, char *buf, size_t n) {
  int len = snprintf(buf, n, "val-%d-", i);
  int pad = (i * 7919) % 200; /* variable sizes: 0..199 extra bytes */
  for (int j = 0; j < pad && (size_t)len + 1 < n; j++) buf[len++] = (char)('a' + (i + j) % 26);
  buf[len] = 0;
  return len;
}
static int index_of(int partition, int64_t offset) { return (int)(offset * g_nparts + partition); }

/* ------------------------------------------------------------------ admin */
static rd_kafka_event_t *admin_wait(rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_event_type_t type) {
  double deadline = now_s() + 30;
  while (now_s() < deadline) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 1000);
    if (!ev) continue;
    if (rd_kafka_event_type(ev) == type) return ev;
    if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR)
      fprintf(stderr, "admin: error event: %s\n", rd_kafka_event_error_string(ev));
    rd_kafka_event_destroy(ev);
  }
  FAIL("admin result %d not received within 30s", (int)type);
  (void)rk;
  return NULL;
}

static void create_topic(rd_kafka_t *rk) {
  char err[512];
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(g_topic, g_nparts, 1, err, sizeof err);
  if (!nt) FAIL("NewTopic: %s", err);
  rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opt, 10000, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
  rd_kafka_event_t *ev = admin_wait(rk, q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
  CHECK(rd_kafka_event_error(ev) == 0, "CreateTopics request error: %s", rd_kafka_event_error_string(ev));
  size_t cnt;
  const rd_kafka_topic_result_t **res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
  CHECK(cnt == 1, "CreateTopics: %zu results", cnt);
  CHECK(strcmp(rd_kafka_topic_result_name(res[0]), g_topic) == 0, "CreateTopics result name %s",
        rd_kafka_topic_result_name(res[0]));
  CHECK(rd_kafka_topic_result_error(res[0]) == 0, "CreateTopics %s: %s (%s)", g_topic,
        rd_kafka_err2name(rd_kafka_topic_result_error(res[0])), rd_kafka_topic_result_error_string(res[0]));
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opt);
  rd_kafka_NewTopic_destroy(nt);

  /* Creating it again must fail with TOPIC_ALREADY_EXISTS. */
  nt = rd_kafka_NewTopic_new(g_topic, g_nparts, 1, err, sizeof err);
  rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
  ev = admin_wait(rk, q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
  res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
  CHECK(cnt == 1 && rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
        "second CreateTopics: expected TOPIC_ALREADY_EXISTS, got %s",
        cnt ? rd_kafka_err2name(rd_kafka_topic_result_error(res[0])) : "no result");
  rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
}

/* Returns the partition count of g_topic in a full metadata listing, -1 if absent. */
static int topic_partitions(rd_kafka_t *rk, int check_leaders) {
  const struct rd_kafka_metadata *md;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
  CHECK(e == 0, "metadata: %s", rd_kafka_err2str(e));
  int found = -1;
  CHECK(md->broker_cnt == g_nodes, "metadata: %d brokers, expected %d", md->broker_cnt, g_nodes);
  for (int b = 0; b < md->broker_cnt; b++)
    CHECK(md->brokers[b].id >= 1 && md->brokers[b].id <= g_nodes, "metadata: broker id %d",
          md->brokers[b].id);
  for (int i = 0; i < md->topic_cnt; i++) {
    if (strcmp(md->topics[i].topic, g_topic) != 0) continue;
    CHECK(md->topics[i].err == 0, "metadata topic error %s", rd_kafka_err2name(md->topics[i].err));
    found = md->topics[i].partition_cnt;
    if (check_leaders)
      for (int p = 0; p < found; p++) {
        CHECK(md->topics[i].partitions[p].id == p, "metadata partition[%d].id=%d", p,
              md->topics[i].partitions[p].id);
        CHECK(md->topics[i].partitions[p].leader >= 1 &&
                  md->topics[i].partitions[p].leader <= g_nodes,
              "partition %d leader %d", p, md->topics[i].partitions[p].leader);
        CHECK(md->topics[i].partitions[p].err == 0, "partition %d error %s", p,
              rd_kafka_err2name(md->topics[i].partitions[p].err));
      }
  }
  rd_kafka_metadata_destroy(md);
  return found;
}

/* ------------------------------------------------------------------ produce */
static int64_t *g_dr_offset; /* per message index: acknowledged offset, -1 none */
static long g_dr_ok, g_dr_err;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  int i = (int)(intptr_t)m->_private;
  if (m->err) {
    if (g_dr_err++ < 10)
      fprintf(stderr, "delivery failed for message %d: %s\n", i, rd_kafka_err2str(m->err));
    return;
  }
  g_dr_ok++;
  if (g_dr_offset[i] != -1) FAIL("two delivery reports for message %d", i);
  g_dr_offset[i] = m->offset;
  if (m->partition != msg_partition(i)) FAIL("message %d delivered to partition %d", i, (int)m->partition);
}

static void produce_all(void) {
  char err[512];
  rd_kafka_conf_t *conf = base_conf();
  set(conf, "acks", "all");
  set(conf, "enable.idempotence", "false");
  set(conf, "linger.ms", "5");
  set(conf, "max.in.flight", "5");
  set(conf, "message.timeout.ms", "60000");
  set(conf, "queue.buffering.max.messages", "200000");
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) FAIL("producer: %s", err);

  create_topic(rk);
  CHECK(topic_partitions(rk, 1) == g_nparts, "metadata partition count after CreateTopics");

  g_dr_offset = malloc(sizeof(int64_t) * (size_t)g_nmsg);
  for (int i = 0; i < g_nmsg; i++) g_dr_offset[i] = -1;
  double t0 = now_s();
  char key[32], val[256];
  for (int i = 0; i < g_nmsg; i++) {
    int kl = key_of(i, key, sizeof key), vl = val_of(i, val, sizeof val);
    char hdr[16];
    int hl = snprintf(hdr, sizeof hdr, "%d", i);
    for (int tries = 0;; tries++) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(g_topic), RD_KAFKA_V_PARTITION(msg_partition(i)),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, (size_t)kl),
          RD_KAFKA_V_VALUE(val, (size_t)vl), RD_KAFKA_V_TIMESTAMP(msg_ts(i)),
          RD_KAFKA_V_HEADER("idx", hdr, hl), RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END);
      if (e == 0) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 600) FAIL("producev %d: %s", i, rd_kafka_err2str(e));
      rd_kafka_poll(rk, 100);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_resp_err_t fe = rd_kafka_flush(rk, 90000);
  CHECK(fe == 0, "flush: %s (%d still queued)", rd_kafka_err2str(fe), rd_kafka_outq_len(rk));
  rd_kafka_poll(rk, 0);
  printf("produced %d messages in %.2fs: %ld ok, %ld failed\n", g_nmsg, now_s() - t0, g_dr_ok, g_dr_err);
  CHECK(g_dr_err == 0, "%ld delivery reports failed", g_dr_err);
  CHECK(g_dr_ok == g_nmsg, "%ld delivery reports ok, expected %d", g_dr_ok, g_nmsg);
  for (int i = 0; i < g_nmsg; i++)
    CHECK(g_dr_offset[i] == msg_offset(i), "message %d: acknowledged at offset %" PRId64 ", expected %" PRId64,
          i, g_dr_offset[i], msg_offset(i));
  rd_kafka_destroy(rk);
}

/* ------------------------------------------------------------------ consume */
static rd_kafka_t *new_consumer(void) {
  char err[512];
  rd_kafka_conf_t *conf = base_conf();
  /* assign() needs a group.id in librdkafka; no group protocol is used (Brook has no
   * consumer groups yet): nothing is committed or stored, offsets are explicit. */
  char group[64];
  snprintf(group, sizeof group, "brook-integ-%ld-%d", (long)time(NULL), rand());
  set(conf, "group.id", group);
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.auto.offset.store", "false");
  set(conf, "enable.partition.eof", "true");
  set(conf, "auto.offset.reset", "error");
  set(conf, "fetch.wait.max.ms", "100");
  set(conf, "check.crcs", "true");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) FAIL("consumer: %s", err);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

static void assign_one(rd_kafka_t *rk, int partition, int64_t offset) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, g_topic, partition)->offset = offset;
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
  if (e) FAIL("assign: %s", rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(l);
}

static void check_message(const rd_kafka_message_t *m, int i) {
  char key[32], val[256];
  int kl = key_of(i, key, sizeof key), vl = val_of(i, val, sizeof val);
  CHECK(m->partition == msg_partition(i) && m->offset == msg_offset(i), "message %d at p%d/o%" PRId64, i,
        (int)m->partition, m->offset);
  CHECK(m->key_len == (size_t)kl && memcmp(m->key, key, (size_t)kl) == 0, "message %d key mismatch", i);
  CHECK(m->len == (size_t)vl && memcmp(m->payload, val, (size_t)vl) == 0,
        "message %d value mismatch (len %zu, expected %d)", i, m->len, vl);
  rd_kafka_timestamp_type_t tt;
  int64_t ts = rd_kafka_message_timestamp(m, &tt);
  CHECK(tt == RD_KAFKA_TIMESTAMP_CREATE_TIME && ts == msg_ts(i),
        "message %d timestamp %" PRId64 " type %d, expected %" PRId64 " CreateTime", i, ts, (int)tt, msg_ts(i));
  rd_kafka_headers_t *hdrs = NULL;
  CHECK(rd_kafka_message_headers(m, &hdrs) == 0 && hdrs, "message %d has no headers", i);
  const void *hv;
  size_t hs;
  char want[16];
  int wl = snprintf(want, sizeof want, "%d", i);
  CHECK(rd_kafka_header_get_last(hdrs, "idx", &hv, &hs) == 0 && hs == (size_t)wl && memcmp(hv, want, hs) == 0,
        "message %d header idx mismatch", i);
  CHECK(rd_kafka_header_cnt(hdrs) == 1, "message %d: %zu headers", i, rd_kafka_header_cnt(hdrs));
}

static void consume_all(void) {
  rd_kafka_t *rk = new_consumer();
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(g_nparts);
  for (int p = 0; p < g_nparts; p++) rd_kafka_topic_partition_list_add(l, g_topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_assign(rk, l)) FAIL("assign");
  rd_kafka_topic_partition_list_destroy(l);

  int64_t *next = calloc((size_t)g_nparts, sizeof *next);
  int64_t *count = calloc((size_t)g_nparts, sizeof *count);
  for (int p = 0; p < g_nparts; p++) count[p] = (g_nmsg - p + g_nparts - 1) / g_nparts;
  int eof_done = 0;
  long total = 0;
  double t0 = now_s(), deadline = now_s() + 120;
  while (total < g_nmsg || eof_done < g_nparts) {
    if (now_s() > deadline) FAIL("consume: timed out after %ld of %d messages", total, g_nmsg);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      CHECK(m->offset == count[m->partition], "EOF on partition %d at %" PRId64 ", expected %" PRId64,
            (int)m->partition, m->offset, count[m->partition]);
      CHECK(next[m->partition] == count[m->partition], "EOF on partition %d after %" PRId64 " of %" PRId64,
            (int)m->partition, next[m->partition], count[m->partition]);
      eof_done++;
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err) FAIL("consume error: %s", rd_kafka_message_errstr(m));
    int p = m->partition;
    CHECK(m->offset == next[p], "partition %d: got offset %" PRId64 ", expected %" PRId64 " (order/gap)", p,
          m->offset, next[p]);
    check_message(m, index_of(p, m->offset));
    next[p]++;
    total++;
    rd_kafka_message_destroy(m);
  }
  printf("consumed %ld messages from %d partitions in %.2fs\n", total, g_nparts, now_s() - t0);
  for (int p = 0; p < g_nparts; p++) {
    int64_t lo, hi;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, g_topic, p, &lo, &hi, 10000);
    CHECK(e == 0, "watermarks p%d: %s", p, rd_kafka_err2str(e));
    CHECK(lo == 0 && hi == count[p], "watermarks p%d: low %" PRId64 " high %" PRId64 ", expected 0/%" PRId64, p, lo,
          hi, count[p]);
  }
  free(next);
  free(count);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

/* First message at/after `offset` on `partition`; returns its offset (or -1 on EOF). */
static int64_t first_from(rd_kafka_t *rk, int partition, int64_t offset, int expect_index) {
  assign_one(rk, partition, offset);
  double deadline = now_s() + 20;
  int64_t got = -2;
  while (got == -2) {
    if (now_s() > deadline) FAIL("read from p%d/%" PRId64 ": timed out", partition, offset);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      got = -1;
    } else if (m->err) {
      FAIL("read from p%d/%" PRId64 ": %s", partition, offset, rd_kafka_message_errstr(m));
    } else if (m->partition == partition) {
      got = m->offset;
      if (expect_index >= 0) check_message(m, expect_index);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_assign(rk, NULL);
  return got;
}

static void offsets_for_times(void) {
  rd_kafka_t *rk = new_consumer();
  int per = g_nmsg / g_nparts;
  struct probe {
    int partition;
    int64_t ts;
    int64_t want_offset; /* -1: none (end) */
  } probes[64];
  int np = 0;
  for (int p = 0; p < g_nparts && np + 5 <= 64; p++) {
    int j = (per / 3 + p * 101) % per; /* some message of partition p */
    int i = j * g_nparts + p;
    probes[np++] = (struct probe){p, msg_ts(i), j};          /* exact timestamp */
    probes[np++] = (struct probe){p, msg_ts(i) - 1, j};      /* between previous and this one */
    probes[np++] = (struct probe){p, g_base_ts - 1000, 0};   /* before the first: offset 0 */
    probes[np++] = (struct probe){p, msg_ts(g_nmsg) + 1000, -1}; /* after the last: none */
    probes[np++] = (struct probe){p, msg_ts(p), 0};          /* first message exactly */
  }
  for (int k = 0; k < np; k++) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, g_topic, probes[k].partition)->offset = probes[k].ts;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, 10000);
    CHECK(e == 0, "offsets_for_times: %s", rd_kafka_err2str(e));
    rd_kafka_topic_partition_t *tp = &l->elems[0];
    CHECK(tp->err == 0, "offsets_for_times p%d ts %" PRId64 ": %s", tp->partition, probes[k].ts,
          rd_kafka_err2name(tp->err));
    CHECK(tp->offset == probes[k].want_offset, "offsets_for_times p%d ts %" PRId64 ": offset %" PRId64
          ", expected %" PRId64, tp->partition, probes[k].ts, tp->offset, probes[k].want_offset);
    if (probes[k].want_offset >= 0) {
      int idx = index_of(probes[k].partition, probes[k].want_offset);
      int64_t got = first_from(rk, probes[k].partition, tp->offset, idx);
      CHECK(got == probes[k].want_offset, "reading from looked-up offset %" PRId64 " gave %" PRId64, tp->offset,
            got);
    }
    rd_kafka_topic_partition_list_destroy(l);
  }
  printf("offsets_for_times: %d probes ok\n", np);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

/* ------------------------------------------------------------------ DeleteRecords / DeleteTopics */
static void delete_records_and_topic(void) {
  char err[512];
  rd_kafka_conf_t *conf = base_conf();
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) FAIL("admin client: %s", err);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);

  const int64_t cut = 100;
  rd_kafka_resp_err_t e;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, g_topic, 0)->offset = cut;
  rd_kafka_DeleteRecords_t *dr = rd_kafka_DeleteRecords_new(l);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_DeleteRecords(rk, &dr, 1, NULL, q);
  rd_kafka_event_t *ev = admin_wait(rk, q, RD_KAFKA_EVENT_DELETERECORDS_RESULT);
  CHECK(rd_kafka_event_error(ev) == 0, "DeleteRecords: %s", rd_kafka_event_error_string(ev));
  const rd_kafka_topic_partition_list_t *res =
      rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
  CHECK(res && res->cnt == 1, "DeleteRecords: result count");
  CHECK(res->elems[0].err == 0, "DeleteRecords p0: %s", rd_kafka_err2name(res->elems[0].err));
  CHECK(res->elems[0].offset == cut, "DeleteRecords p0: low watermark %" PRId64 ", expected %" PRId64,
        res->elems[0].offset, cut);
  rd_kafka_event_destroy(ev);
  rd_kafka_DeleteRecords_destroy(dr);

  /* DeleteRecords past the high watermark: OFFSET_OUT_OF_RANGE, nothing deleted. */
  int64_t p1_high = msg_offset(g_nmsg - 1 - ((g_nmsg - 1 - 1) % g_nparts)) + 1;
  l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, g_topic, 1)->offset = p1_high + 10;
  dr = rd_kafka_DeleteRecords_new(l);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_DeleteRecords(rk, &dr, 1, NULL, q);
  ev = admin_wait(rk, q, RD_KAFKA_EVENT_DELETERECORDS_RESULT);
  res = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
  CHECK(rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
            (res && res->cnt == 1 && res->elems[0].err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE),
        "DeleteRecords beyond the high watermark: expected OFFSET_OUT_OF_RANGE, got %s / %s",
        rd_kafka_err2name(rd_kafka_event_error(ev)),
        res && res->cnt ? rd_kafka_err2name(res->elems[0].err) : "no result");
  rd_kafka_event_destroy(ev);
  rd_kafka_DeleteRecords_destroy(dr);

  /* DeleteRecords at offset -1 (= high watermark) on the last partition deletes everything. */
  int plast = g_nparts - 1;
  l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, g_topic, plast)->offset = RD_KAFKA_OFFSET_END;
  dr = rd_kafka_DeleteRecords_new(l);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_DeleteRecords(rk, &dr, 1, NULL, q);
  ev = admin_wait(rk, q, RD_KAFKA_EVENT_DELETERECORDS_RESULT);
  res = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
  CHECK(rd_kafka_event_error(ev) == 0 && res && res->cnt == 1 && res->elems[0].err == 0,
        "DeleteRecords(-1) p%d: %s / %s", plast, rd_kafka_err2name(rd_kafka_event_error(ev)),
        res && res->cnt ? rd_kafka_err2name(res->elems[0].err) : "no result");
  int64_t plast_high = (g_nmsg - plast + g_nparts - 1) / g_nparts;
  CHECK(res->elems[0].offset == plast_high, "DeleteRecords(-1) p%d: low watermark %" PRId64 ", expected %" PRId64,
        plast, res->elems[0].offset, plast_high);
  rd_kafka_event_destroy(ev);
  rd_kafka_DeleteRecords_destroy(dr);

  rd_kafka_t *c = new_consumer();
  int64_t lo, hi;
  e = rd_kafka_query_watermark_offsets(c, g_topic, plast, &lo, &hi, 10000);
  CHECK(e == 0 && lo == plast_high && hi == plast_high, "after DeleteRecords(-1): p%d watermarks %" PRId64 "/%" PRId64
        ", expected %" PRId64 " for both", plast, lo, hi, plast_high);
  CHECK(first_from(c, plast, RD_KAFKA_OFFSET_BEGINNING, -1) == -1, "p%d is empty after DeleteRecords(-1)", plast);
  e = rd_kafka_query_watermark_offsets(c, g_topic, 1, &lo, &hi, 10000);
  CHECK(e == 0 && lo == 0 && hi == p1_high, "p1 untouched by the failed DeleteRecords: %" PRId64 "/%" PRId64, lo, hi);
  e = rd_kafka_query_watermark_offsets(c, g_topic, 0, &lo, &hi, 10000);
  CHECK(e == 0 && lo == cut, "after DeleteRecords: low watermark %" PRId64 " (%s), expected %" PRId64, lo,
        rd_kafka_err2str(e), cut);
  CHECK(hi == msg_offset(g_nmsg - 1 - ((g_nmsg - 1) % g_nparts)) + 1, "after DeleteRecords: high %" PRId64, hi);
  int64_t first = first_from(c, 0, RD_KAFKA_OFFSET_BEGINNING, index_of(0, cut));
  CHECK(first == cut, "after DeleteRecords: reading from beginning starts at %" PRId64, first);
  /* Other partitions are untouched. */
  e = rd_kafka_query_watermark_offsets(c, g_topic, 1, &lo, &hi, 10000);
  CHECK(e == 0 && lo == 0, "after DeleteRecords: p1 low watermark %" PRId64, lo);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);

  rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(g_topic);
  rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opt, 10000, err, sizeof err);
  rd_kafka_DeleteTopics(rk, &dt, 1, opt, q);
  ev = admin_wait(rk, q, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
  size_t cnt;
  const rd_kafka_topic_result_t **tr = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
  CHECK(cnt == 1 && rd_kafka_topic_result_error(tr[0]) == 0, "DeleteTopics: %s",
        cnt ? rd_kafka_err2name(rd_kafka_topic_result_error(tr[0])) : "no result");
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opt);
  rd_kafka_DeleteTopic_destroy(dt);
  int parts = -2;
  for (double deadline = now_s() + 10; now_s() < deadline;) {
    if ((parts = topic_partitions(rk, 0)) == -1) break;
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
  }
  CHECK(parts == -1, "topic still listed after DeleteTopics (%d partitions)", parts);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BOOTSTRAP [MESSAGES] [PARTITIONS]\n", argv[0]);
    return 2;
  }
  g_bootstrap = argv[1];
  if (argc > 2) g_nmsg = (int)strtol(argv[2], NULL, 10);
  if (argc > 3) g_nparts = (int)strtol(argv[3], NULL, 10);
  if (g_nmsg < g_nparts * 200 || g_nparts < 2) FAIL("need PARTITIONS >= 2 and MESSAGES >= 200*PARTITIONS");
  const char *cluster = getenv("BROOK_TEST_CLUSTER");
  if (cluster && strtol(cluster, NULL, 10) > 0) g_nodes = (int)strtol(cluster, NULL, 10);
  static char topic[64];
  snprintf(topic, sizeof topic, "rdk-roundtrip-%ld", (long)time(NULL));
  g_topic = topic;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  g_base_ts = (int64_t)ts.tv_sec * 1000 - 3600 * 1000; /* an hour ago, ms */
  printf("librdkafka %s, bootstrap %s, topic %s, %d messages, %d partitions\n", rd_kafka_version_str(),
         g_bootstrap, g_topic, g_nmsg, g_nparts);
  produce_all();
  consume_all();
  offsets_for_times();
  delete_records_and_topic();
  printf("OK: %ld checks passed\n", g_checks);
  return 0;
}
