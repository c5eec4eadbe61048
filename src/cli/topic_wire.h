/*
 * topic_wire.h - what `brook topic` and `brook config` need beyond librdkafka 2.0's admin
 * calls: IncrementalAlterConfigs (v1) and DescribeLogDirs (v4), each one raw request on a
 * cli_wire connection, and the splitting of their command lines (several positional names,
 * repeatable flags, the subcommand word).
 *
 * Owns: the encoding of those two requests and the decoding of their answers.
 * Never: retries or picks a broker by itself; callers say where each request goes.
 */
#ifndef BROOK_CLI_TOPIC_WIRE_H
#define BROOK_CLI_TOPIC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/args.h"
#include "cli/client.h"

struct cJSON;

/* Kafka's config resource types and IncrementalAlterConfigs operations. */
enum { TW_RES_TOPIC = 2, TW_RES_BROKER = 4 };
enum { TW_OP_SET = 0, TW_OP_DELETE = 1, TW_OP_APPEND = 2, TW_OP_SUBTRACT = 3 };

/* The usage lines of the flags `brook topic` and `brook config` share; a printf format whose
 * one argument is the --timeout-ms default (CLI_TIMEOUT_DEFAULT_MS). */
#define TW_FLAGS_USAGE                                                                         \
    "  flags:\n"                                                                               \
    "    --bootstrap HOST:PORT      a broker's Kafka listener (default "                       \
    "$BROOK_BOOTSTRAP, else 127.0.0.1:9092)\n"                                                 \
    "    --timeout-ms N             give up after N ms (default %d)\n"                         \
    "    --json                     print JSON instead of a table\n"

/* Most positional words and values of one repeatable flag a command takes. */
#define TW_MAX_ITEMS 64

/* A repeatable flag ("config" for --config k=v) and the values it was given. */
typedef struct tw_list {
    const char *flag; /* without "--" */
    const char *items[TW_MAX_ITEMS];
    int n;
} tw_list;

/* Parses argv like cli_args_parse against opts, but takes every word that is not a flag (or
 * comes after "--") as a positional into pos (*npos of them), and the flags named in lists
 * (each --flag VALUE or --flag=VALUE, repeatable) into those lists. Returns 0; 1 for --help;
 * -1 after printing "<cmd>: <reason>" (exit 2). Strings borrow argv. */
int tw_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t nopts,
             tw_list *lists, size_t nlists, const char **pos, int *npos);

/* For a subcommand word `sub` of `brook <group>` that is not one it knows (argc: the words
 * after the group): usage on stdout for help/--help/-h and 0, else "unknown subcommand" (or
 * "missing subcommand" when argc is 0) and usage on stderr and 2. */
int tw_bad_subcommand(const char *group, int argc, const char *sub, void (*usage)(FILE *));

typedef struct tw_config_op {
    const char *name;
    int8_t op;         /* TW_OP_* */
    const char *value; /* NULL for DELETE */
} tw_config_op;

/* IncrementalAlterConfigs v1 for one resource at addr. Returns 0 when the broker answered,
 * with its error in *ec and its message (or "") in msg; -1 after printing a transport
 * error or an answer that does not decode. */
int tw_incremental_alter(cli_client *cl, const char *addr, int8_t type, const char *name,
                         const tw_config_op *ops, int nops, bool validate_only, int16_t *ec,
                         char *msg, size_t msglen);

/* One partition's size in one broker's answer. */
typedef struct tw_part_size {
    int32_t partition;
    int64_t size;
} tw_part_size;

/* DescribeLogDirs v4 at addr for partitions 0..nparts-1 of topic: the sizes of those this
 * broker hosts, *out malloc'd (*n of them). Returns 0, or -1 with why in err. */
int tw_log_dirs(cli_client *cl, const char *addr, const char *topic, int32_t nparts,
                tw_part_size **out, int *n, char *err, size_t errlen);

/* One config of a resource as DescribeConfigs answers it. */
typedef struct tw_config {
    char *name, *value; /* owned; value NULL when the broker sends none (sensitive) */
    const char *source; /* librdkafka's name: "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG", ... */
    bool read_only, is_default, sensitive;
} tw_config;

/* DescribeConfigs (librdkafka) for one resource (TW_RES_TOPIC or TW_RES_BROKER). Returns
 * 0 with *out (free with tw_configs_free) sorted by name; 1 when the broker does not know
 * the topic (nothing printed); -1 after printing. */
int tw_describe_configs(cli_client *cl, int type, const char *name, tw_config **out, int *n);
void tw_configs_free(tw_config *c, int n);

/* Prints a JSON document on stdout and frees it. Returns 0, or 1 after printing "out of
 * memory" (j NULL included). */
int tw_print_json(const char *cmd, struct cJSON *j);

#endif
