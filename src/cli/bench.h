/*
 * bench.h - `brook bench produce` and `brook bench consume`: load generators that measure a
 * Kafka-compatible broker (brookd, or librdkafka's in-memory mock cluster with --mock) from
 * the outside, through librdkafka like any client.
 *
 * Each run prints one human line and one machine line that starts with "RESULT " followed by
 * space-separated key=value pairs (no spaces in values), which bench/run.sh collects.
 *
 * Owns: the producer/consumer handles of one run. Never: links broker internals.
 */
#ifndef BROOK_CLI_BENCH_H
#define BROOK_CLI_BENCH_H

#include <stdio.h>

/* Runs `brook bench <argv...>` where argv[0] is the subcommand ("produce" or "consume").
 * Returns the process exit code: 0 on success, 1 when the run failed, 2 on a usage error. */
int cli_bench_main(int argc, char **argv);

/* Prints the usage of every bench subcommand on out. */
void cli_bench_usage(FILE *out);

#endif
