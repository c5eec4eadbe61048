/*
 * main.c - entry point of the `brook` command-line tool: dispatches the first word to a
 * command module.
 *
 * Exit codes, shared by every command: 0 success, 1 the operation failed, 2 usage error.
 * Every command that talks to brookd takes --bootstrap HOST:PORT (or $BROOK_BOOTSTRAP),
 * --timeout-ms and --json; `brook --command-config FILE <command>` (or $BROOK_CLIENT_CONFIG)
 * gives every command the client properties of a secured cluster (cli/kafka.h).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/bench_txn.h"
#include "cli/cluster.h"
#include "cli/completion.h"
#include "cli/configs.h"
#include "cli/consume.h"
#include "cli/group.h"
#include "cli/produce.h"
#include "cli/topic.h"
#include "cli/txn.h"
#include "cli/acl.h"
#include "cli/quota.h"
#include "cli/user.h"
#include "cli/run.h"
#include "cli/kafka.h"

#ifndef BROOK_VERSION
#define BROOK_VERSION "unknown"
#endif

static int bench_main(int argc, char **argv);

/* One row per command word; the order is the order of `brook help`. */
static const struct cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
} CMDS[] = {
    {"topic", "create|list|describe|delete|alter   topics, partitions, replicas, configs",
     cli_topic_main, cli_topic_usage},
    {"produce", "write records from stdin or a file", cli_produce_main, cli_produce_usage},
    {"consume", "read records from a group, offsets or a time", cli_consume_main,
     cli_consume_usage},
    {"group", "list|describe|delete|reset-offsets   consumer groups: members, offsets, lag",
     cli_group_main, cli_group_usage},
    {"config", "describe|set   topic and broker configs", cli_configs_main, cli_configs_usage},
    {"txn", "list|describe|abort   find and end hanging transactions", cli_txn_main,
     cli_txn_usage},
    {"user", "add|list|delete   SCRAM credentials of SASL users", cli_user_main,
     cli_user_usage},
    {"acl", "add|list|remove   who may do what: Kafka's ACLs", cli_acl_main, cli_acl_usage},
    {"quota", "set|list|remove   produce and fetch byte-rate quotas per user / client id",
     cli_quota_main, cli_quota_usage},
    {"cluster", "up|down|status|placement   a local cluster; nodes and leaders",
     cli_cluster_main, cli_cluster_usage},
    {"run", "PIPELINE.conf   run a stream pipeline exactly once (Kafka, PostgreSQL, files)",
     cli_run_main, cli_run_usage},
    {"bench", "produce|consume|txn   measure throughput and latency", bench_main, NULL},
    {"completion", "bash   print the shell completion script", cli_completion_main,
     cli_completion_usage},
};
#define N_CMDS (sizeof(CMDS) / sizeof(CMDS[0]))

static void usage(FILE *out, bool full)
{
    fprintf(out, "usage: brook <command> [flags]    (brook <command> --help for its flags)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(out, "  %-10s %s\n", CMDS[i].name, CMDS[i].summary);
    fprintf(out, "  %-10s %s\n  %-10s %s\n\n", "version", "print the version (also --version)",
            "help", "show this text (help all: every command's flags)");
    fprintf(out, "Kafka commands take --bootstrap HOST:PORT (default $BROOK_BOOTSTRAP, else "
                 "127.0.0.1:9092).\n"
                 "A secured cluster: brook --command-config FILE <command> ... (or "
                 "$BROOK_CLIENT_CONFIG=FILE),\nFILE holding Kafka client properties "
                 "(security.protocol, sasl.mechanism, sasl.username,\nsasl.password, "
                 "ssl.ca.location, ...).\n");
    if (!full)
        return;
    for (size_t i = 0; i < N_CMDS; i++) {
        if (!CMDS[i].usage)
            continue;
        fputc('\n', out);
        CMDS[i].usage(out);
    }
    fputc('\n', out);
    cli_bench_usage(out);
    cli_bench_txn_usage(out);
}

static int bench_main(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "brook bench: missing subcommand (produce, consume or txn)\n\n");
        cli_bench_usage(stderr);
        cli_bench_txn_usage(stderr);
        return 2;
    }
    int rc = cli_bench_txn_main(argc, argv);
    return rc != 3 ? rc : cli_bench_main(argc, argv);
}

/* `--command-config FILE` / `--command-config=FILE` before the command, else
 * $BROOK_CLIENT_CONFIG: loads the client properties. Consumes the option from argv
 * (*argc, argv shifted). Returns 0, or 2 after printing why. */
static int load_client_config(int *argc, char **argv)
{
    const char *path = getenv("BROOK_CLIENT_CONFIG");
    int used = 0;
    if (*argc >= 2 && strncmp(argv[1], "--command-config", 16) == 0) {
        if (argv[1][16] == '=') {
            path = argv[1] + 17;
            used = 1;
        } else if (argv[1][16] == '\0' && *argc >= 3) {
            path = argv[2];
            used = 2;
        } else {
            fprintf(stderr, "brook: --command-config needs a FILE\n");
            return 2;
        }
    }
    /* argv[argc] (NULL) moves too */
    memmove(argv + 1, argv + 1 + used, sizeof(char *) * (size_t)(*argc - used));
    *argc -= used;
    char err[600];
    if (path && *path && cli_kafka_props_load(path, err, sizeof(err)) != 0) {
        fprintf(stderr, "brook: %s\n", err);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* A broker closing a connection the CLI writes to is an error to report, not a reason to
     * die: plain sockets send with MSG_NOSIGNAL, but OpenSSL's writes (TLS) use write(). */
    signal(SIGPIPE, SIG_IGN);
    if (load_client_config(&argc, argv) != 0)
        return 2;
    if (argc < 2) {
        usage(stderr, false);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("brook %s\n", BROOK_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_CMDS; i++)
        if (strcmp(cmd, CMDS[i].name) == 0)
            return CMDS[i].run(argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout, argc > 2 && strcmp(argv[2], "all") == 0);
        return 0;
    }
    fprintf(stderr, "brook: unknown command '%s'\n\n", cmd);
    usage(stderr, false);
    return 2;
}
