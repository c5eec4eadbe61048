/*
 * main.c - entry point of the `brook` command-line tool: dispatches the first word to a
 * command module.
 *
 * Exit codes, shared by every command: 0 success, 1 the operation failed, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/bench_txn.h"
#include "cli/cluster.h"
#include "cli/group.h"
#include "cli/txn.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: brook <command> [flags]\n"
            "\n"
            "commands:\n"
            "  bench produce   measure produce throughput and delivery latency\n"
            "  bench consume   measure consume throughput from the start of a topic\n"
            "  txn list|describe|abort   find and end hanging transactions (admin API)\n"
            "  group list|describe|delete   consumer groups: members, offsets, lag\n"
            "  cluster up|down|status|placement   a local cluster; nodes and leaders\n"
            "  help            show this text\n"
            "\n");
    cli_bench_usage(out);
    fputc('\n', out);
    cli_txn_usage(out);
    fputc('\n', out);
    cli_group_usage(out);
    cli_bench_txn_usage(out);
    cli_cluster_usage(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "bench") == 0) {
        if (argc < 3) {
            fprintf(stderr, "brook bench: missing subcommand (produce or consume)\n\n");
            usage(stderr);
            return 2;
        }
        int rc = cli_bench_txn_main(argc - 2, argv + 2);
        return rc != 3 ? rc : cli_bench_main(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "txn") == 0)
        return cli_txn_main(argc - 2, argv + 2);
    if (strcmp(cmd, "group") == 0)
        return cli_group_main(argc - 2, argv + 2);
    if (strcmp(cmd, "cluster") == 0)
        return cli_cluster_main(argc - 2, argv + 2);
    if (strcmp(cmd, "help") != 0 && strcmp(cmd, "--help") != 0 && strcmp(cmd, "-h") != 0)
        fprintf(stderr, "brook: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
