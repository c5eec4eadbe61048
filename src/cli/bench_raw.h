/*
 * bench_raw.h - `brook bench produce --engine raw`: a load generator that is not the bound.
 * It speaks Produce v7 itself on the CLI's own connections (cli/wire.c, so TLS and SASL
 * work too): one connection and one thread per partition leader, each request carrying one
 * record batch per partition that leader holds, `inflight` requests pipelined. The batches
 * are built once; a run only patches, when idempotent, each batch's base sequence and
 * CRC-32C. So one client core drives the broker where librdkafka, which builds and
 * compresses every batch anew, would be the bound (#14).
 *
 * `--engine raw` for consume is the same idea for Fetch (below).
 * `producers` run side by side in the process, each with its own producer id and its own
 * connection to every leader. Transactional producers find their coordinator,
 * InitProducerId, then loop AddPartitionsToTxn (every partition), Produce of transactional
 * batches to every leader, EndTxn commit; latency is per transaction. They are state
 * machines (one request in flight per connection) shared by two threads that poll their
 * sockets, so that 64 of them cost wakeups per answer batch, not per answer.
 * Owns: its threads, connections and request bodies, for the length of one run.
 * Never: retries, or follows a leader that moves: a failed batch is counted, an idempotent
 * connection stops at its first failure (its sequences would be out of order after it).
 */
#ifndef BROOK_CLI_BENCH_RAW_H
#define BROOK_CLI_BENCH_RAW_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct cli_hist;

typedef struct cli_raw_cfg {
    const char *topic;
    int16_t acks;          /* -1 (all) or 1 */
    int64_t size;          /* bytes of each record's value */
    int64_t batch_records; /* records per batch */
    int64_t inflight;      /* requests pipelined per connection */
    int64_t seconds;       /* run time; 0: until count */
    uint64_t count;        /* records (UINT64_MAX: no bound), rounded up to whole requests:
                            * a request carries batch_records per partition of its leader */
    bool idempotent;       /* InitProducerId, then sequences per partition */
    int64_t producers;     /* producers (each its own id and connections), default 1 */
    bool transactional;    /* a transactional id per producer; transactions of txn_requests
                            * Produce requests to every leader, each committed */
    int64_t txn_requests;
    int64_t timeout_ms;    /* connecting, and each answer */
    int64_t rate;          /* records/s over all connections (0: flat out); a request is
                            * due when the records before it are, and its latency runs from
                            * that due time (a late client counts against it) */
    const volatile sig_atomic_t *stop; /* set (by a signal handler): stop sending */
} cli_raw_cfg;

typedef struct cli_raw_stats {
    uint64_t delivered, failed; /* records */
    uint64_t commits;           /* transactions committed (transactional runs) */
    int16_t first_err;          /* Kafka error code of the first failed batch */
    char why[512];              /* a connection's failure, "" if none */
    int64_t start_us, last_us;  /* first send, last answer (monotonic) */
    int partitions;
    int leaders;                /* distinct partition leaders (connections per producer) */
} cli_raw_stats;

/* Runs the load against the topic's leaders, found through rk's metadata (the topic must
 * exist). Latency (send of a request to its answer, per batch) goes to hist. Returns 0 when
 * the run happened (failed batches counted in st), -1 after printing why it could not or
 * why a connection failed (st then holds what was measured; batches in flight on a broken
 * connection count as failed). The clock starts once every connection is made. */
int cli_bench_raw_produce(rd_kafka_t *rk, const cli_raw_cfg *cfg, struct cli_hist *hist,
                          cli_raw_stats *st);

/* `brook bench consume --engine raw`: Fetch v11 (read_uncommitted, no fetch session, 50 MiB
 * per answer and 1 MiB per partition as librdkafka's defaults) on one connection and thread
 * per leader, from offset 0 of every partition to the high watermark its first answer gave,
 * or until count records (whole answers: it may read more) or seconds. Records and their
 * key+value bytes are counted from the batches without copying them (a compressed batch
 * counts its size). first_us is when the first Fetch was sent (throughput is timed from it,
 * since one answer may carry many records), last_us when the last records arrived. */
typedef struct cli_raw_consume_cfg {
    const char *topic;
    uint64_t count;     /* records at most (UINT64_MAX: to the end) */
    int64_t seconds;    /* give up after this (0: 60) */
    int64_t timeout_ms; /* connecting, and each answer */
    const volatile sig_atomic_t *stop;
} cli_raw_consume_cfg;

typedef struct cli_raw_consume_stats {
    uint64_t msgs, bytes, errors;
    int64_t start_us, first_us, last_us; /* monotonic: start, first Fetch, last records */
    int partitions;
    bool timed_out;
    char why[512]; /* a connection's failure, "" if none */
} cli_raw_consume_stats;

int cli_bench_raw_consume(rd_kafka_t *rk, const cli_raw_consume_cfg *cfg,
                          cli_raw_consume_stats *st);

#endif
