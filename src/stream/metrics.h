/*
 * stream/metrics.h - the counters of a `brook run` instance and their Prometheus
 * endpoint (GET /metrics on 127.0.0.1:<port>, served by one thread).
 *
 * Owns: the counters (atomics: written by the runtime thread, read by the server thread)
 * and the listening socket. Never: blocks the runtime, or serves anything but /metrics.
 */
#ifndef BROOK_STREAM_METRICS_H
#define BROOK_STREAM_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SM_RECORDS_IN,
    SM_RECORDS_OUT,
    SM_DEAD_LETTERS,
    SM_COMMITS,
    SM_ABORTS,
    SM_RECOVERIES,
    SM_IN_DOUBT_RESOLVED,
    SM_COMMIT_MS_SUM, /* commit latency: interval begin to broker commit, summed */
    SM_LAG,           /* gauge: input records not yet processed (assigned partitions) */
    SM_STATE_ENTRIES, /* gauge: keyed state entries held */
    SM_COUNT
} stream_metric;

typedef struct stream_metrics stream_metrics;
typedef struct stream_metrics_snapshot {
    uint64_t v[SM_COUNT];
} stream_metrics_snapshot;

/* port 0: counters only. NULL with err when the port cannot be bound. */
stream_metrics *stream_metrics_new(const char *pipeline, int port, char *err, size_t errlen);
void stream_metrics_free(stream_metrics *m);
void stream_metrics_add(stream_metrics *m, stream_metric k, uint64_t n);
void stream_metrics_set(stream_metrics *m, stream_metric k, uint64_t v);
void stream_metrics_observe_commit(stream_metrics *m, int64_t ms);
void stream_metrics_get(const stream_metrics *m, stream_metrics_snapshot *out);
/* The exposition text into buf; its length (truncated to cap - 1). */
size_t stream_metrics_format(const stream_metrics *m, char *buf, size_t cap);

#endif
