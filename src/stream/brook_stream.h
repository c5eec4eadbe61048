/*
 * brook_stream.h - libbrook-stream, the public C API of Brook's exactly-once stream runtime
 * (docs/stream.md "The C API"). Installed as <brook_stream.h>; link with -lbrook-stream
 * (pkg-config brook-stream).
 *
 * A pipeline is built from the same keys and operator lines as a `brook run` pipeline file
 * (or loaded from one), plus C functions as operators; brook_stream_run then runs it exactly
 * as `brook run` does: one task per input partition, each commit interval one distributed
 * transaction across the output topic, PostgreSQL and files, decided by the broker.
 *
 * Owns: nothing of the caller's. Strings given are copied; records given to a C operator are
 * borrowed for the call only. Errors are returned as -1 (or NULL) with a message in the
 * caller's err buffer naming the key, line or problem.
 * Never: installs signal handlers (the caller's handler calls brook_stream_stop), or calls a
 * C operator from more than one thread at a time.
 */
#ifndef BROOK_STREAM_H
#define BROOK_STREAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brook_stream brook_stream;

/* One record as a C operator sees it: the value is JSON text (not NUL-terminated), the key
 * any bytes (NULL: no key), ts_ms the record's timestamp (event time for the windows unless
 * a window line names a time field). */
typedef struct brook_stream_record {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    int64_t ts_ms;
} brook_stream_record;

/* Where a C operator puts what it makes (opaque). */
typedef struct brook_stream_out brook_stream_out;

/* Appends one record (copied) to a C operator's output: value must be JSON text (it is
 * parsed when the operator returns; text that is not JSON makes the input record bad), key
 * NULL for none. Returns 0, or -1 when out of memory. */
int brook_stream_emit(brook_stream_out *out, const char *key, size_t key_len,
                      const char *value, size_t value_len, int64_t ts_ms);

/* A C operator: makes zero or more records from one (none: the record is filtered out).
 * Returns 0, or -1 with a reason in err: the input record then goes to the dead-letter topic
 * with that reason and nothing it emitted is kept. It must be deterministic (the same record
 * gives the same output) for recovery to restore identical results, and must not block. */
typedef int (*brook_stream_fn)(void *ctx, const brook_stream_record *in,
                               brook_stream_out *out, char *err, size_t errlen);

/* A new pipeline named `name` (1 to 64 letters, digits or '-'; it names the pipeline's
 * transactions, PostgreSQL transaction ids, files and topics). NULL with err on error. */
brook_stream *brook_stream_new(const char *name, char *err, size_t errlen);

/* A pipeline from a `brook run` pipeline file (docs/stream.md "The pipeline file"), to run
 * as is or to add C operators to. NULL with err naming the line or key. */
brook_stream *brook_stream_load(const char *path, char *err, size_t errlen);

/* Sets one pipeline key as in the file (source.topic, sink.topic, sink.postgres...,
 * commit.interval.ms, processing.guarantee, table.<name>.topic, client.<librdkafka key>,
 * ...). 0, or -1 with err; the pipeline is then unchanged. */
int brook_stream_set(brook_stream *s, const char *key, const char *value, char *err,
                     size_t errlen);

/* Appends an operator line (the op.N syntax: filter, map, project, flat_map, key_by, join,
 * window, aggregate). The line is checked when the pipeline runs (or by brook_stream_check).
 * 0, or -1 with err (more than 64 operators). */
int brook_stream_op(brook_stream *s, const char *line, char *err, size_t errlen);

/* Appends a C operator under `name` (letters, digits, '_' or '-'): the line "call <name>".
 * A function may be called by several lines; fn runs on the thread of brook_stream_run.
 * 0, or -1 with err. */
int brook_stream_op_fn(brook_stream *s, const char *name, brook_stream_fn fn, void *ctx,
                       char *err, size_t errlen);

/* Checks the pipeline as brook_stream_run would before connecting anywhere: the required
 * keys, every operator line, every join's table and every call's function. 0, or -1 with
 * err. */
int brook_stream_check(brook_stream *s, char *err, size_t errlen);

typedef struct brook_stream_run_opts {
    const char *bootstrap;     /* NULL: the pipeline's bootstrap.servers, then
                                * $BROOK_BOOTSTRAP, then 127.0.0.1:9092 */
    int instances;             /* processes sharing the input (fork; <= 1: this one only) */
    int metrics_port;          /* Prometheus /metrics on 127.0.0.1 (0: none) */
    int64_t progress_ms;       /* a progress line on stderr this often (0: none) */
    int64_t exit_when_idle_ms; /* return after this long without input while partitions
                                * are assigned (0: run until brook_stream_stop) */
} brook_stream_run_opts;

/* Runs the pipeline until brook_stream_stop (or the idle time, or a fatal error), committing
 * what it processed before it returns. opts NULL: the defaults above (zeros). Returns 0, 1
 * after a fatal error (told on stderr: an unreachable cluster, a participant that keeps
 * failing), 2 for a pipeline that does not check. */
int brook_stream_run(brook_stream *s, const brook_stream_run_opts *opts);

/* Asks brook_stream_run to commit and return; safe from a signal handler or another thread. */
void brook_stream_stop(brook_stream *s);

void brook_stream_free(brook_stream *s);

#ifdef __cplusplus
}
#endif

#endif
