/*
 * stream/run.h - the exactly-once stream runtime on librdkafka (libbrook-stream's engine;
 * `brook run` and brook_stream_run come here).
 *
 * Owns: the consumer group membership of a pipeline's instance, one task per assigned
 * input partition (its transactional producer, topology, PostgreSQL and file
 * participants), and the driving of each task's commit protocol (stream/commit.h).
 * Never: links broker internals (it is a Kafka client like any other), decides a commit
 * anywhere but at the broker, or installs signal handlers in the caller's process (only in
 * the instances it forks).
 */
#ifndef BROOK_STREAM_RUN_H
#define BROOK_STREAM_RUN_H

#include <signal.h>
#include <stdint.h>

#include "stream/ops.h"
#include "stream/pipeline.h"

typedef struct stream_run_cfg {
    int instances;       /* > 1: fork that many instances sharing the input */
    int metrics_port;    /* 0: no /metrics; instance i of several serves port + i */
    int64_t progress_ms; /* 0: no progress line */
    int64_t idle_exit_ms; /* 0: run until *stop */
    st_call_fn call;     /* the C operators of call lines (NULL: none) */
    void *call_ctx;
    volatile sig_atomic_t *stop; /* set (by a signal handler or another thread): commit and
                                  * return */
} stream_run_cfg;

/* Runs the pipeline (taken: pl is emptied, and freed before the return) until *cfg->stop,
 * the idle time, or a fatal error. The pipeline must have passed stream_pipeline_check, its
 * operator lines must build, and its bootstrap must be set. Returns 0, or 1 after a fatal
 * error told on stderr. */
int stream_run(stream_pipeline *pl, const stream_run_cfg *cfg);

#endif
