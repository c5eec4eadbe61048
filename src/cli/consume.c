/*
 * consume.c - `brook consume`; see consume.h.
 *
 * Without --group the consumer assigns the partitions itself (all, or --partition N) at the
 * start chosen by --offset or --from-time (ListOffsets by time, offsetsForTimes); with
 * --group it subscribes, starts where the group committed (else --offset earliest|latest),
 * and commits the offset after each record it printed, so a record is committed only once
 * it is out. Stops after --count records, at the end of every partition (--until-end, from
 * librdkafka's partition EOF events) or after --timeout-ms without a record.
 * JSON lines carry key, value and header values as strings when they are valid UTF-8 without
 * NUL bytes, else base64 with "<field>_encoding": "base64" next to them.
 */
#include "cli/consume.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/kafka.h"
#include "cli/sock.h"

#define CONS_CMD "brook consume"
/* One poll's wait: the granularity of the idle timeout and the progress lines. */
#define CONS_POLL_MS 100
#define CONS_PROGRESS_EVERY_MS 1000
/* How many partitions a progress line lists before "...". */
#define CONS_PROGRESS_PARTS 16

typedef struct cons_args {
    const char *bootstrap, *topic, *group, *offset, *from_time, *isolation, *format;
    int64_t timeout_ms, partition, count;
    bool json, until_end, progress, partition_seen, count_seen;
} cons_args;

typedef struct cons_part {
    bool assigned, eof;
    int64_t next; /* the offset after the last record read; -1 before any */
} cons_part;

typedef struct cons_state {
    const cons_args *a;
    cli_client cl;
    cons_part *parts; /* indexed by partition */
    int nparts;
    int64_t read, start_ms, next_progress_ms;
} cons_state;

/* ---------------- output ---------------- */

/* True when p[0..n) is valid UTF-8 (no overlongs, surrogates or NUL bytes). */
static bool utf8_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (c == 0 || len == 0 || n - i < len)
            return false;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* p[0..n) as base64 (NUL-terminated, malloc'd), NULL when out of memory. */
static char *base64(const unsigned char *p, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = A[v >> 18 & 63];
        *o++ = A[v >> 12 & 63];
        *o++ = i + 1 < n ? A[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? A[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Adds bytes p[0..n) as field name of o: null when p is NULL, a string when UTF-8, else
 * base64 with "<name>_encoding": "base64". Returns false when out of memory. */
static bool add_bytes(cJSON *o, const char *name, const void *p, size_t n)
{
    if (!p)
        return cJSON_AddNullToObject(o, name) != NULL;
    bool text = utf8_ok(p, n);
    char *s = text ? strndup(p, n) : base64(p, n);
    bool ok = s && cJSON_AddStringToObject(o, name, s);
    free(s);
    if (ok && !text) {
        char enc[64];
        snprintf(enc, sizeof(enc), "%s_encoding", name);
        ok = cJSON_AddStringToObject(o, enc, "base64") != NULL;
    }
    return ok;
}

static bool headers_json(cJSON *o, const rd_kafka_message_t *m)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "headers");
    rd_kafka_headers_t *h = NULL;
    if (!arr)
        return false;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return true;
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            return false;
        }
        if (!cJSON_AddStringToObject(e, "key", name) || !add_bytes(e, "value", val, size))
            return false;
    }
    return true;
}

/* Prints m as one JSON line. Returns 0, or 1 when out of memory. */
static int print_json_line(const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "topic", rd_kafka_topic_name(m->rkt)) &&
              cJSON_AddNumberToObject(o, "partition", m->partition) &&
              cJSON_AddNumberToObject(o, "offset", (double)m->offset) &&
              cJSON_AddNumberToObject(o, "timestamp", (double)ts) &&
              add_bytes(o, "key", m->key, m->key_len) &&
              add_bytes(o, "value", m->payload, m->len) && headers_json(o, m);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", CONS_CMD);
        return 1;
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
    return 0;
}

/* %h: the headers as k=v,k=v (a null value prints as k=). */
static void put_headers(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        printf("%s%s=", i ? "," : "", name);
        if (val)
            fwrite(val, 1, size, stdout);
    }
}

/* Prints m by the --format: %k %v %p %o %t %h %T %%, and the escapes \n \t \r \\. */
static void print_formatted(const char *fmt, const rd_kafka_message_t *m)
{
    for (const char *f = fmt; *f; f++) {
        if (*f == '\\' && f[1]) {
            f++;
            putchar(*f == 'n' ? '\n' : *f == 't' ? '\t' : *f == 'r' ? '\r' : *f);
            continue;
        }
        if (*f != '%' || !f[1]) {
            putchar(*f);
            continue;
        }
        f++;
        rd_kafka_timestamp_type_t tt;
        switch (*f) {
        case 'k': if (m->key) fwrite(m->key, 1, m->key_len, stdout); break;
        case 'v': if (m->payload) fwrite(m->payload, 1, m->len, stdout); break;
        case 'p': printf("%d", (int)m->partition); break;
        case 'o': printf("%" PRId64, m->offset); break;
        case 't': printf("%" PRId64, rd_kafka_message_timestamp(m, &tt)); break;
        case 'h': put_headers(m); break;
        case 'T': fputs(rd_kafka_topic_name(m->rkt), stdout); break;
        case '%': putchar('%'); break;
        default: putchar('%'); putchar(*f); break;
        }
    }
}

/* Checks the --format's % directives. Returns 0 or 2 after printing. */
static int check_format(const char *fmt)
{
    for (const char *f = fmt; *f; f++) {
        if (*f == '\\' && f[1]) {
            f++;
        } else if (*f == '%') {
            if (!f[1] || !strchr("kvpoth%T", f[1])) {
                fprintf(stderr, "%s: --format: unknown directive '%%%c' (use %%k %%v %%p %%o "
                        "%%t %%h %%T %%%%)\n", CONS_CMD, f[1] ? f[1] : ' ');
                return 2;
            }
            f++;
        }
    }
    return 0;
}

/* ---------------- progress and stopping ---------------- */

static void progress_line(cons_state *st, bool force)
{
    int64_t now = cli_now_ms();
    if (!st->a->progress || !st->parts || (!force && now < st->next_progress_ms))
        return;
    st->next_progress_ms = now + CONS_PROGRESS_EVERY_MS;
    fprintf(stderr, "%s: read %" PRId64, CONS_CMD, st->read);
    int shown = 0;
    for (int p = 0; p < st->nparts; p++) {
        if (!st->parts[p].assigned)
            continue;
        if (shown++ == CONS_PROGRESS_PARTS) {
            fputs(" ...", stderr);
            break;
        }
        int64_t lo = -1, hi = -1;
        rd_kafka_get_watermark_offsets(st->cl.rk, st->a->topic, p, &lo, &hi);
        char pos[24] = "-", end[24] = "?";
        if (st->parts[p].next >= 0)
            snprintf(pos, sizeof(pos), "%" PRId64, st->parts[p].next);
        if (hi >= 0)
            snprintf(end, sizeof(end), "%" PRId64, hi);
        fprintf(stderr, "%s %d:%s/%s", shown == 1 ? ";" : ",", p, pos, end);
    }
    fputc('\n', stderr);
}

/* With --group: marks the partitions of the current assignment (EOF flags of partitions
 * that left it are dropped). */
static void refresh_assignment(cons_state *st)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(st->cl.rk, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    for (int p = 0; p < st->nparts; p++)
        st->parts[p].assigned = false;
    for (int i = 0; i < l->cnt; i++) {
        int32_t p = l->elems[i].partition;
        if (strcmp(l->elems[i].topic, st->a->topic) == 0 && p >= 0 && p < st->nparts)
            st->parts[p].assigned = true;
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* True when every assigned partition (at least one) is at its end. */
static bool all_at_end(cons_state *st)
{
    if (st->a->group)
        refresh_assignment(st);
    int assigned = 0;
    for (int p = 0; p < st->nparts; p++) {
        if (!st->parts[p].assigned)
            continue;
        if (!st->parts[p].eof)
            return false;
        assigned++;
    }
    return assigned > 0;
}

/* ---------------- setup ---------------- */

static rd_kafka_conf_t *make_conf(const cons_args *a)
{
    rd_kafka_conf_t *conf = cli_kafka_conf(cli_bootstrap(a->bootstrap));
    if (!conf)
        return NULL;
    bool earliest = !a->offset || strcmp(a->offset, "earliest") == 0;
    /* librdkafka's assign() needs a group id even though nothing joins or commits. */
    char group[64];
    snprintf(group, sizeof(group), "brook-consume-%ld", (long)getpid());
    bool ok = cli_kafka_set(conf, "isolation.level", a->isolation) == 0 &&
              cli_kafka_set(conf, "enable.partition.eof", "true") == 0 &&
              cli_kafka_set(conf, "allow.auto.create.topics", "false") == 0 &&
              cli_kafka_set(conf, "auto.offset.reset", earliest ? "earliest" : "latest") == 0 &&
              cli_kafka_set(conf, "enable.auto.offset.store", "false") == 0 &&
              cli_kafka_set(conf, "enable.auto.commit", a->group ? "true" : "false") == 0 &&
              cli_kafka_set(conf, "group.id", a->group ? a->group : group) == 0;
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Where an assigned partition starts without a group: --offset or --from-time. */
static int64_t start_offset(const cons_args *a)
{
    if (!a->offset || strcmp(a->offset, "earliest") == 0)
        return RD_KAFKA_OFFSET_BEGINNING;
    if (strcmp(a->offset, "latest") == 0)
        return RD_KAFKA_OFFSET_END;
    int64_t n = 0;
    cli_parse_i64(a->offset, 0, INT64_MAX, &n); /* checked in check_args */
    return n;
}

/* Turns the timestamps in l into offsets (ListOffsets by time); a partition with no record
 * at or after its time starts at the end. Returns 0 or 1 after printing. */
static int resolve_times(cons_state *st, rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(st->cl.rk, l, (int)st->a->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char why[768];
        cli_client_explain(&st->cl, e, why, sizeof(why));
        fprintf(stderr, "%s: offsets for --from-time: %s\n", CONS_CMD, why);
        return 1;
    }
    for (int i = 0; i < l->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &l->elems[i];
        if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "%s: offset for --from-time of %s-%d: %s\n", CONS_CMD, tp->topic,
                    (int)tp->partition, rd_kafka_err2name(tp->err));
            return 1;
        }
        if (tp->offset < 0)
            tp->offset = RD_KAFKA_OFFSET_END;
    }
    return 0;
}

/* Assigns the chosen partitions (no group). Returns 0 or 1 after printing. */
static int assign_parts(cons_state *st)
{
    const cons_args *a = st->a;
    int64_t from_ms = 0;
    if (a->from_time)
        cli_parse_time_ms(a->from_time, &from_ms); /* checked in check_args */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(st->nparts);
    for (int p = 0; p < st->nparts; p++) {
        if (a->partition_seen && p != a->partition)
            continue;
        st->parts[p].assigned = true;
        rd_kafka_topic_partition_list_add(l, a->topic, p)->offset =
            a->from_time ? from_ms : start_offset(a);
    }
    int rc = a->from_time ? resolve_times(st, l) : 0;
    rd_kafka_resp_err_t e = rc == 0 ? rd_kafka_assign(st->cl.rk, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "%s: assign: %s\n", CONS_CMD, rd_kafka_err2str(e));
        rc = 1;
    }
    return rc;
}

/* Opens the consumer, checks the topic, then subscribes or assigns. Returns 0 or 1. */
static int open_consumer(cons_state *st)
{
    const cons_args *a = st->a;
    rd_kafka_conf_t *conf = make_conf(a);
    if (!conf || cli_client_open(&st->cl, CONS_CMD, cli_bootstrap(a->bootstrap), a->timeout_ms,
                                 RD_KAFKA_CONSUMER, conf) != 0)
        return 1;
    st->nparts = cli_kafka_topic_partitions(st->cl.rk, a->topic);
    if (st->nparts < 0)
        return 1;
    if (st->nparts == 0) {
        fprintf(stderr, "%s: topic %s does not exist (UNKNOWN_TOPIC_OR_PART)\n", CONS_CMD,
                a->topic);
        return 1;
    }
    if (a->partition_seen && a->partition >= st->nparts) {
        fprintf(stderr, "%s: topic %s has %d partitions; there is no partition %" PRId64
                " (UNKNOWN_TOPIC_OR_PART)\n", CONS_CMD, a->topic, st->nparts, a->partition);
        return 1;
    }
    st->parts = calloc((size_t)st->nparts, sizeof(*st->parts));
    if (!st->parts) {
        fprintf(stderr, "%s: out of memory\n", CONS_CMD);
        return 1;
    }
    for (int p = 0; p < st->nparts; p++)
        st->parts[p].next = -1;
    rd_kafka_poll_set_consumer(st->cl.rk);
    if (!a->group)
        return assign_parts(st);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, a->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(st->cl.rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "%s: subscribe: %s\n", CONS_CMD, rd_kafka_err2str(e));
        return 1;
    }
    return 0;
}

/* ---------------- the loop ---------------- */

/* Handles one polled message. Returns 0 to go on, or 1 after printing a failure. */
static int on_message(cons_state *st, const rd_kafka_message_t *m)
{
    bool ours = m->rkt && strcmp(rd_kafka_topic_name(m->rkt), st->a->topic) == 0 &&
                m->partition >= 0 && m->partition < st->nparts;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (ours)
            st->parts[m->partition].eof = true;
        return 0;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : st->a->topic;
        fprintf(stderr, "%s: %s-%d: %s (%s)\n", CONS_CMD, topic, (int)m->partition,
                rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        return 1;
    }
    if (ours) {
        st->parts[m->partition].eof = false;
        st->parts[m->partition].next = m->offset + 1;
    }
    if (st->a->json) {
        if (print_json_line(m) != 0)
            return 1;
    } else {
        print_formatted(st->a->format, m);
    }
    st->read++;
    if (st->a->group)
        rd_kafka_offset_store(m->rkt, m->partition, m->offset);
    return 0;
}

/* Polls until a stop condition. Returns the exit code. */
static int consume_loop(cons_state *st)
{
    const cons_args *a = st->a;
    int64_t idle_since = cli_now_ms();
    st->start_ms = idle_since;
    st->next_progress_ms = idle_since + CONS_PROGRESS_EVERY_MS;
    for (;;) {
        if (a->count_seen && st->read >= a->count)
            return 0;
        if (a->until_end && all_at_end(st))
            return 0;
        if (cli_now_ms() - idle_since >= a->timeout_ms)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(st->cl.rk, CONS_POLL_MS);
        progress_line(st, false);
        if (!m)
            continue;
        int rc = on_message(st, m);
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            idle_since = cli_now_ms();
        rd_kafka_message_destroy(m);
        if (rc != 0)
            return rc;
    }
    /* Idle for --timeout-ms: fine for an open-ended read, a failure when a promised stop
     * (the count, the end of every partition) was not reached. */
    if (a->count_seen || a->until_end) {
        fprintf(stderr, "%s: no record for %" PRId64 " ms after %" PRId64 " records, before %s\n",
                CONS_CMD, a->timeout_ms, st->read,
                a->count_seen ? "reaching --count" : "the end of every partition");
        return 1;
    }
    return 0;
}

/* With --group, commits the offsets stored for printed records. Returns 0 or 1. */
static int commit_group(cons_state *st)
{
    rd_kafka_resp_err_t e = rd_kafka_commit(st->cl.rk, NULL, 0);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return 0;
    fprintf(stderr, "%s: committing offsets of group %s: %s (%s)\n", CONS_CMD, st->a->group,
            rd_kafka_err2name(e), rd_kafka_err2str(e));
    return 1;
}

/* ---------------- arguments ---------------- */

static const char *const ISOLATION[] = {"read_uncommitted", "read_committed", NULL};

#define CONS_OPTS(a)                                                                           \
    {                                                                                          \
        {"topic", CLI_OPT_STR, &(a).topic, 0, 0, NULL, NULL, "the topic (required)"},         \
        {"group", CLI_OPT_STR, &(a).group, 0, 0, NULL, NULL,                                  \
         "join this group; commit what was printed"},                            \
        {"partition", CLI_OPT_I64, &(a).partition, 0, INT32_MAX, NULL, &(a).partition_seen,   \
         "only partition N (no --group)"},                                                     \
        {"offset", CLI_OPT_STR, &(a).offset, 0, 0, NULL, NULL,                                \
         "earliest (default)|latest|N (--group: without a commit)"},        \
        {"from-time", CLI_OPT_STR, &(a).from_time, 0, 0, NULL, NULL,                          \
         "first record at/after it: ISO-8601 or ms since epoch"},              \
        {"isolation", CLI_OPT_ENUM, &(a).isolation, 0, 0, ISOLATION, NULL,                    \
         "default read_uncommitted (as Kafka's)"},                                             \
        {"count", CLI_OPT_I64, &(a).count, 1, INT64_MAX, NULL, &(a).count_seen,               \
         "stop after N records"},                                                              \
        {"until-end", CLI_OPT_BOOL, &(a).until_end, 0, 0, NULL, NULL,                         \
         "(-e) stop at the end of every partition"},                                           \
        {"format", CLI_OPT_STR, &(a).format, 0, 0, NULL, NULL,                                \
         "%k %v %p %o %t %h %T, \\n \\t (default \"%v\\n\")"},                                 \
        {"json", CLI_OPT_BOOL, &(a).json, 0, 0, NULL, NULL, "one JSON object per record"},    \
        {"progress", CLI_OPT_BOOL, &(a).progress, 0, 0, NULL, NULL,                           \
         "records read and positions on stderr every second"},                                 \
        {"bootstrap", CLI_OPT_STR, &(a).bootstrap, 0, 0, NULL, NULL,                          \
         "HOST:PORT (default $BROOK_BOOTSTRAP, else 127.0.0.1:9092)"},                         \
        {"timeout-ms", CLI_OPT_I64, &(a).timeout_ms, 1, 3600000, NULL, NULL,                  \
         "stop after N ms without a record (default 10000)"},                                  \
    }

static void cons_defaults(cons_args *a)
{
    memset(a, 0, sizeof(*a));
    a->isolation = "read_uncommitted";
    a->format = "%v\\n";
    a->timeout_ms = CLI_TIMEOUT_DEFAULT_MS;
}

void cli_consume_usage(FILE *out)
{
    cons_args a;
    cons_defaults(&a);
    const struct cli_opt opts[] = CONS_OPTS(a);
    fprintf(out, "brook consume --topic T [flags]   print records; without --group from every "
                 "partition\n  (or --partition) at --offset or --from-time, nothing committed\n"
                 "  flags:\n");
    cli_args_usage(out, opts, sizeof(opts) / sizeof(opts[0]));
}

/* Checks the flags that depend on each other. Returns 0 or 2 after printing. */
static int check_args(const cons_args *a)
{
    int64_t n;
    const char *why = NULL;
    if (!a->topic)
        why = "--topic is required";
    else if (a->offset && strcmp(a->offset, "earliest") != 0 && strcmp(a->offset, "latest") != 0 &&
             cli_parse_i64(a->offset, 0, INT64_MAX, &n) != 0)
        why = "--offset takes earliest, latest or an offset >= 0";
    else if (a->from_time && cli_parse_time_ms(a->from_time, &n) != 0)
        why = "--from-time takes ISO-8601 (2026-01-31T12:00:00Z) or ms since the epoch";
    else if (a->from_time && a->offset)
        why = "--from-time and --offset exclude each other";
    else if (a->group && (a->partition_seen || a->from_time ||
                          (a->offset && cli_parse_i64(a->offset, 0, INT64_MAX, &n) == 0)))
        why = "with --group, partitions and start come from the group (--offset "
              "earliest|latest only applies without a commit); move a group with brook group "
              "reset-offsets";
    if (why) {
        fprintf(stderr, "%s: %s\n", CONS_CMD, why);
        return 2;
    }
    return a->json ? 0 : check_format(a->format);
}

/* True when arg is "--name" of an option that takes its value from the next word. */
static bool takes_next(const char *arg, const struct cli_opt *opts, size_t n)
{
    for (size_t i = 0; strncmp(arg, "--", 2) == 0 && i < n; i++)
        if (opts[i].kind != CLI_OPT_BOOL && strcmp(arg + 2, opts[i].name) == 0)
            return true;
    return false;
}

int cli_consume_main(int argc, char **argv)
{
    cons_args a;
    cons_defaults(&a);
    const struct cli_opt opts[] = CONS_OPTS(a);
    size_t nopts = sizeof(opts) / sizeof(opts[0]);
    /* -e is the one short flag (kcat's): spell it out for the table-driven parser, unless it
     * is a flag's value (--format -e). */
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args) {
        fprintf(stderr, "%s: out of memory\n", CONS_CMD);
        return 1;
    }
    for (int i = 0; i < argc; i++)
        args[i] = strcmp(argv[i], "-e") == 0 && !(i > 0 && takes_next(argv[i - 1], opts, nopts))
                      ? "--until-end"
                      : argv[i];
    int prc = cli_args_parse(CONS_CMD, argc, args, opts, nopts);
    free(args);
    if (prc == 1) {
        cli_consume_usage(stdout);
        return 0;
    }
    if (prc != 0 || check_args(&a) != 0)
        return 2;
    cons_state st = {.a = &a};
    int rc = open_consumer(&st);
    if (rc == 0)
        rc = consume_loop(&st);
    fflush(stdout);
    progress_line(&st, true);
    if (rc == 0 && a.group)
        rc = commit_group(&st);
    if (st.cl.rk && a.group)
        rd_kafka_consumer_close(st.cl.rk);
    cli_client_close(&st.cl);
    free(st.parts);
    return rc;
}
