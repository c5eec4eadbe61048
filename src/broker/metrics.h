/*
 * metrics.h - counters and histograms the broker keeps for /metrics, and the Prometheus
 * text exposition format (version 0.0.4) they are written in.
 *
 * Owns: fixed-bucket histograms (no allocation, cheap enough to observe on every request)
 * and the formatting helpers: # HELP / # TYPE headers, samples with escaped label values.
 * Never: reads broker state itself; admin.c gathers the values and calls these.
 */
#ifndef BROOK_BROKER_METRICS_H
#define BROOK_BROKER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Upper bounds of a histogram, excluding +Inf. */
#define METRICS_HIST_BOUNDS_MAX 24

typedef struct metrics_hist {
    int nbounds;
    double bounds[METRICS_HIST_BOUNDS_MAX]; /* ascending */
    uint64_t counts[METRICS_HIST_BOUNDS_MAX + 1]; /* per bucket, not cumulative; last: +Inf */
    double sum;
    uint64_t count;
} metrics_hist;

/* Latency buckets in seconds, from 0.5 ms to 30 s: EndTxn waits for fsyncs and a
 * prepare round, so it spans a few milliseconds to a transaction timeout. */
void metrics_hist_init_latency(metrics_hist *h);
/* Sets the bounds (ascending, at most METRICS_HIST_BOUNDS_MAX; extra ones are dropped). */
void metrics_hist_init(metrics_hist *h, const double *bounds, int n);
void metrics_hist_observe(metrics_hist *h, double v);

/* Appends "# HELP name help\n# TYPE name type\n". */
void metrics_header(wr *w, const char *name, const char *type, const char *help);
/* Appends one sample line "name{labels} value\n"; labels is NULL or a preformatted label
 * list without braces (its values escaped with metrics_label_value). */
void metrics_sample(wr *w, const char *name, const char *labels, double v);
/* Appends the whole histogram: name_bucket{le=...} (cumulative), name_sum, name_count. */
void metrics_histogram(wr *w, const char *name, const char *help, const metrics_hist *h);
/* Writes s as a label value (backslash, double quote and newline escaped) into out,
 * NUL-terminated, truncating at cap - 1 bytes. Returns out. */
char *metrics_label_value(const char *s, char *out, size_t cap);
/* printf into a writer; output longer than 4 KiB per call is truncated. */
void metrics_printf(wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
