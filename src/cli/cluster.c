/* cluster.c - see cluster.h. */
#include "cli/cluster.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cluster/placement.h"

void cli_cluster_usage(FILE *out)
{
    fprintf(out, "  brook cluster placement --nodes N [--partitions P] [--topics T] "
                 "[--replicas R] [--vnodes V]\n");
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

int cli_cluster_main(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "placement") == 0)
        return placement_cmd(argc - 1, argv + 1);
    fprintf(stderr, "brook cluster: unknown or missing subcommand (placement)\n");
    cli_cluster_usage(stderr);
    return 2;
}
