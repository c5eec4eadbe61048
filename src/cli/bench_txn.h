/*
 * bench_txn.h - transaction benchmarks, as a client sees them (librdkafka):
 *   brook bench txn       produce 1 KiB records in transactions committed every N ms, or with
 *                         the same producer idempotent and non-transactional, for the
 *                         throughput overhead; commit latency p50/p99;
 *   brook bench txn-rate  K concurrent transactional producers doing small transactions (one
 *                         record to each of 2 partitions, or with --across-leaders to one
 *                         partition of every leader, for transactions spanning the nodes of a
 *                         cluster): commits/s, whole-transaction latency and commit
 *                         (commit_transaction, i.e. EndTxn) latency, which shows whether the
 *                         broker's group commit makes the rate grow with K;
 *   brook bench eos       consume-transform-produce, exactly-once (transactions with the
 *                         input offsets) versus at-least-once (produce, flush, commit offsets):
 *                         per-record latency p50/p99 and throughput.
 * Each prints a human line and a "RESULT key=value ..." line for bench/run.sh.
 * Never: links broker internals.
 */
#ifndef BROOK_CLI_BENCH_TXN_H
#define BROOK_CLI_BENCH_TXN_H

#include <stdio.h>

/* argv[0] is the subcommand; returns 0, 1 (run failed) or 2 (usage). 3: not ours. */
int cli_bench_txn_main(int argc, char **argv);
void cli_bench_txn_usage(FILE *out);

#endif
