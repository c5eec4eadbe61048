/*
 * cluster.c - `brook cluster placement|status`, and the dispatch to `up|down`
 * (cluster_up.c); see cluster.h.
 *
 * `status` is one Metadata round trip through librdkafka (all topics, internal ones
 * included), asked in short slices so that an unreachable address fails at once.
 */
#include "cli/cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cluster_up.h"
#include "cli/kafka.h"
#include "cluster/placement.h"

/* Slice of the Metadata request between checks for refused connections. */
#define CL_PROBE_MS 500
/* Widest the topic column grows before names overflow it (they are never cut). */
#define CL_COL_MAX 48

void cli_cluster_usage(FILE *out)
{
    fprintf(out, "  brook cluster placement --nodes N [--partitions P] [--topics T] "
                 "[--replicas R] [--vnodes V]\n"
                 "  brook cluster status --bootstrap HOST:PORT | --dir DIR [--timeout-ms T]\n"
                 "      nodes, controller, each partition's leader, coordinators per node\n");
    cli_cluster_up_usage(out);
}

static void print_loads(const placement *pl, int32_t first, int32_t n, const char *title)
{
    double mean = (double)pl->nparts * pl->rf / n;
    size_t max = 0, min = SIZE_MAX;
    printf("%s\n  %-6s %10s %10s\n", title, "NODE", "REPLICAS", "LEADERS");
    for (int32_t id = first; id < first + n; id++) {
        size_t leaders, l = placement_load(pl, id, &leaders);
        printf("  %-6d %10zu %10zu\n", id, l, leaders);
        max = l > max ? l : max;
        min = l < min ? l : min;
    }
    printf("  mean %.1f, max %zu (%.3fx mean), min %zu (%.3fx mean)\n", mean, max, max / mean,
           min, min / mean);
}

static int placement_cmd(int argc, char **argv)
{
    int64_t nodes = 0, partitions = 10000, topics = 100, replicas = 1,
            vnodes = PLACEMENT_VNODES_DEFAULT;
    const struct cli_opt opts[] = {
        {"nodes", CLI_OPT_I64, &nodes, 1, 1000, NULL, NULL, "node count (ids 1..N)"},
        {"partitions", CLI_OPT_I64, &partitions, 1, 10000000, NULL, NULL, "partitions in all"},
        {"topics", CLI_OPT_I64, &topics, 1, 100000, NULL, NULL, "spread over this many topics"},
        {"replicas", CLI_OPT_I64, &replicas, 1, 16, NULL, NULL, "replicas per partition"},
        {"vnodes", CLI_OPT_I64, &vnodes, 1, 100000, NULL, NULL, "ring points per node"},
    };
    if (cli_args_parse("cluster placement", argc, argv, opts, sizeof(opts) / sizeof(opts[0])) ||
        nodes < 1 || replicas > nodes + 1 || topics > partitions) {
        fprintf(stderr, "brook cluster placement: need --nodes N >= replicas, topics <= "
                        "partitions\n");
        return 2;
    }
    char **names = calloc((size_t)topics, sizeof(char *));
    int32_t *counts = calloc((size_t)topics, sizeof(int32_t));
    int32_t *ids = calloc((size_t)nodes + 1, sizeof(int32_t));
    if (!names || !counts || !ids)
        return 1;
    for (int64_t t = 0; t < topics; t++) {
        names[t] = malloc(32);
        if (!names[t])
            return 1;
        snprintf(names[t], 32, "topic-%" PRId64, t);
        counts[t] = (int32_t)(partitions / topics + (t < partitions % topics));
    }
    for (int64_t i = 0; i <= nodes; i++)
        ids[i] = (int32_t)(i + 1);
    ring r, grown, shrunk;
    placement pl;
    if (replicas > nodes || ring_build(&r, ids, (size_t)nodes, (int)vnodes) != 0 ||
        placement_init(&pl, &r, names, counts, (size_t)topics, (int32_t)replicas) != 0) {
        fprintf(stderr, "brook cluster placement: cannot place %" PRId64 " replicas on %" PRId64
                        " nodes\n", replicas, nodes);
        return 1;
    }
    printf("%" PRId64 " partitions in %" PRId64 " topics, %" PRId64 " replica(s) each, %" PRId64
           " nodes, %" PRId64 " vnodes per node\n\n", partitions, topics, replicas, nodes, vnodes);
    print_loads(&pl, 1, (int32_t)nodes, "Placement:");
    size_t total = pl.nparts * (size_t)pl.rf;
    int32_t *before = malloc(sizeof(int32_t) * total);
    if (!before)
        return 1;
    memcpy(before, pl.replicas, sizeof(int32_t) * total);
    ring_build(&grown, ids, (size_t)nodes + 1, (int)vnodes);
    size_t moved = placement_add_node(&pl, &grown, (int32_t)nodes + 1);
    printf("\nNode %" PRId64 " joins: %zu of %zu replicas move (%.2f%%; 1/(N+1) = %.2f%%)\n",
           nodes + 1, moved, total, 100.0 * moved / total, 100.0 / (nodes + 1));
    print_loads(&pl, 1, (int32_t)nodes + 1, "After the join:");
    if (nodes > 1 && nodes >= replicas + 1) {
        memcpy(pl.replicas, before, sizeof(int32_t) * total);
        ring_build(&shrunk, ids + 1, (size_t)nodes - 1, (int)vnodes);
        size_t held = placement_load(&pl, 1, NULL);
        placement_remove_node(&pl, &shrunk, 1);
        size_t changed = 0;
        for (size_t i = 0; i < total; i++)
            changed += pl.replicas[i] != before[i];
        printf("\nNode 1 leaves: %zu replicas move (it held %zu; nothing else moves)\n", changed,
               held);
        ring_free(&shrunk);
    }
    placement_free(&pl);
    ring_free(&r);
    ring_free(&grown);
    for (int64_t t = 0; t < topics; t++)
        free(names[t]);
    free(names);
    free(counts);
    free(ids);
    free(before);
    return 0;
}

/* ---------------- status ---------------- */

typedef struct cl_status {
    char last_err[512]; /* librdkafka's latest client-level error, "" if none */
    bool all_down;      /* every broker connection failed */
} cl_status;

static void status_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    cl_status *st = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        st->all_down = true;
    /* "all brokers down" follows the transport error that says why; keep the why. */
    if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || st->last_err[0] == '\0')
        snprintf(st->last_err, sizeof(st->last_err), "%s", reason);
}

/* Metadata for all topics from bootstrap, within timeout_ms. Returns it (the caller frees
 * it with rd_kafka_metadata_destroy) and the controller id, or NULL after printing. */
static const struct rd_kafka_metadata *status_fetch(const char *bootstrap, int64_t timeout_ms,
                                                    rd_kafka_t **rk_out, int32_t *controller)
{
    cl_status st = {.last_err = "", .all_down = false};
    rd_kafka_conf_t *conf = cli_kafka_conf(bootstrap);
    if (!conf || cli_kafka_set(conf, "log_level", "2") != 0) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, status_on_error);
    rd_kafka_conf_set_opaque(conf, &st);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "brook cluster status: cannot create a Kafka client: %s\n", err);
        return NULL;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    for (int64_t left = timeout_ms; left > 0 && !st.all_down; left -= CL_PROBE_MS) {
        e = rd_kafka_metadata(rk, 1, NULL, &md, (int)(left < CL_PROBE_MS ? left : CL_PROBE_MS));
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        rd_kafka_poll(rk, 0); /* serves error_cb */
    }
    rd_kafka_poll(rk, 0);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook cluster status: no Metadata from %s: %s%s%s%s\n", bootstrap,
                rd_kafka_err2str(e), st.last_err[0] ? " (" : "", st.last_err,
                st.last_err[0] ? ")" : "");
        rd_kafka_destroy(rk);
        return NULL;
    }
    *controller = rd_kafka_controllerid(rk, 0);
    *rk_out = rk;
    return md;
}

static int cmp_broker(const void *a, const void *b)
{
    const struct rd_kafka_metadata_broker *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int cmp_topic(const void *a, const void *b)
{
    const struct rd_kafka_metadata_topic *const *x = a, *const *y = b;
    return strcmp((*x)->topic, (*y)->topic);
}

static int cmp_partition(const void *a, const void *b)
{
    const struct rd_kafka_metadata_partition *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* How many partitions of topic t each broker leads: led[i] for md->brokers[i] (sorted),
 * *none for partitions without a live leader. */
static void count_led(const struct rd_kafka_metadata *md,
                      const struct rd_kafka_metadata_topic *t, int *led, int *none)
{
    for (int p = 0; p < t->partition_cnt; p++) {
        int b = 0;
        while (b < md->broker_cnt && md->brokers[b].id != t->partitions[p].leader)
            b++;
        if (b < md->broker_cnt)
            led[b]++;
        else
            (*none)++;
    }
}

static void print_coordinators(const struct rd_kafka_metadata *md,
                               const struct rd_kafka_metadata_topic *txn,
                               const struct rd_kafka_metadata_topic *grp)
{
    int *led = calloc((size_t)md->broker_cnt * 2 + 1, sizeof(int));
    if (!led)
        return;
    int none[2] = {0, 0};
    if (txn)
        count_led(md, txn, led, &none[0]);
    if (grp)
        count_led(md, grp, led + md->broker_cnt, &none[1]);
    printf("\ncoordinators: partitions of the internal topics each node leads\n"
           "  %-6s %20s %20s\n", "NODE", "__transaction_state", "__consumer_offsets");
    for (int b = 0; b < md->broker_cnt; b++)
        printf("  %-6" PRId32 " %20d %20d\n", md->brokers[b].id, led[b],
               led[md->broker_cnt + b]);
    if (none[0] || none[1])
        printf("  %-6s %20d %20d\n", "none", none[0], none[1]);
    if (!txn || !grp)
        printf("  (not created yet:%s%s)\n", txn ? "" : " __transaction_state",
               grp ? "" : " __consumer_offsets");
    free(led);
}

/* Prints nodes, every partition's leader and the coordinator summary of md. */
static int status_print(struct rd_kafka_metadata *md, int32_t controller)
{
    qsort(md->brokers, (size_t)md->broker_cnt, sizeof(md->brokers[0]), cmp_broker);
    printf("%d broker(s), controller %" PRId32 "\n  %-6s %s\n", md->broker_cnt, controller,
           "NODE", "ADDRESS");
    for (int b = 0; b < md->broker_cnt; b++) {
        char addr[300];
        snprintf(addr, sizeof(addr), "%s:%d", md->brokers[b].host, md->brokers[b].port);
        if (md->brokers[b].id == controller)
            printf("  %-6" PRId32 " %-24s controller\n", md->brokers[b].id, addr);
        else
            printf("  %-6" PRId32 " %s\n", md->brokers[b].id, addr);
    }
    struct rd_kafka_metadata_topic **ts = calloc((size_t)md->topic_cnt + 1, sizeof(*ts));
    if (!ts)
        return 1;
    int width = 5;
    for (int i = 0; i < md->topic_cnt; i++) {
        ts[i] = &md->topics[i];
        int len = (int)strlen(ts[i]->topic);
        width = len > width ? (len < CL_COL_MAX ? len : CL_COL_MAX) : width;
    }
    qsort(ts, (size_t)md->topic_cnt, sizeof(*ts), cmp_topic);
    printf("\n%d topic(s)\n  %-*s %9s  %s\n", md->topic_cnt, width, "TOPIC", "PARTITION",
           "LEADER");
    const struct rd_kafka_metadata_topic *txn = NULL, *grp = NULL;
    for (int i = 0; i < md->topic_cnt; i++) {
        struct rd_kafka_metadata_topic *t = ts[i];
        txn = strcmp(t->topic, "__transaction_state") == 0 ? t : txn;
        grp = strcmp(t->topic, "__consumer_offsets") == 0 ? t : grp;
        if (t->err)
            printf("  %-*s %9s  %s\n", width, t->topic, "-", rd_kafka_err2name(t->err));
        qsort(t->partitions, (size_t)t->partition_cnt, sizeof(t->partitions[0]), cmp_partition);
        for (int p = 0; p < t->partition_cnt; p++) {
            const struct rd_kafka_metadata_partition *pm = &t->partitions[p];
            printf("  %-*s %9" PRId32 "  %" PRId32 "%s%s\n", width, t->topic, pm->id, pm->leader,
                   pm->err ? " " : "", pm->err ? rd_kafka_err2name(pm->err) : "");
        }
    }
    print_coordinators(md, txn, grp);
    free(ts);
    return 0;
}

/* Reads the first line of DIR/bootstrap (written by `up`) into out. Returns 0 or -1. */
static int read_bootstrap(const char *dir, char *out, size_t cap)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/bootstrap", dir) >= (int)sizeof(path))
        return -1;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "brook cluster status: %s: %s (was it started with brook cluster "
                        "up --dir %s?)\n", path, strerror(errno), dir);
        return -1;
    }
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return ok && out[0] ? 0 : -1;
}

static int status_cmd(int argc, char **argv)
{
    const char *bootstrap = NULL, *dir = NULL;
    int64_t timeout_ms = CLI_KAFKA_ADMIN_TIMEOUT_MS;
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &bootstrap, 0, 0, NULL, NULL, "HOST:PORT[,HOST:PORT...]"},
        {"dir", CLI_OPT_STR, &dir, 0, 0, NULL, NULL, "or: the cluster started there by up"},
        {"timeout-ms", CLI_OPT_I64, &timeout_ms, 100, 600000, NULL, NULL, "bound on the query"},
    };
    int rc = cli_args_parse("brook cluster status", argc, argv, opts,
                            sizeof(opts) / sizeof(opts[0]));
    if (rc == 0 && !bootstrap && !dir) {
        fprintf(stderr, "brook cluster status: --bootstrap HOST:PORT or --dir DIR is needed\n");
        rc = -1;
    }
    if (rc != 0) {
        cli_cluster_usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    char from_dir[4096];
    if (!bootstrap) {
        if (read_bootstrap(dir, from_dir, sizeof(from_dir)) != 0)
            return 1;
        bootstrap = from_dir;
    }
    rd_kafka_t *rk = NULL;
    int32_t controller = -1;
    const struct rd_kafka_metadata *md = status_fetch(bootstrap, timeout_ms, &rk, &controller);
    if (!md)
        return 1;
    /* Sorted in place: the metadata is this command's own copy. */
    rc = status_print((struct rd_kafka_metadata *)md, controller);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

int cli_cluster_main(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "placement") == 0)
        return placement_cmd(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "status") == 0)
        return status_cmd(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "up") == 0)
        return cli_cluster_up(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "down") == 0)
        return cli_cluster_down(argc - 1, argv + 1);
    fprintf(stderr, "brook cluster: unknown or missing subcommand (placement, status, up, "
                    "down)\n");
    cli_cluster_usage(stderr);
    return 2;
}
