/*
 * hist.h - a fixed-size log-linear latency histogram (HdrHistogram's idea, much smaller).
 *
 * Values below 128 are counted exactly; above, each power of two is cut into 64 buckets, so a
 * reported percentile is within 1.6% of the true value. The memory is fixed (about 30 KiB)
 * whatever the number of samples, which is why the benchmarks use it rather than keeping
 * every sample.
 *
 * Owns: its counts. Never: allocates after cli_hist_new.
 */
#ifndef BROOK_CLI_HIST_H
#define BROOK_CLI_HIST_H

#include <stdint.h>

struct cli_hist;

/* Returns a zeroed histogram, or NULL when out of memory. Free with cli_hist_free. */
struct cli_hist *cli_hist_new(void);
void cli_hist_free(struct cli_hist *h);

void cli_hist_record(struct cli_hist *h, uint64_t value);
uint64_t cli_hist_count(const struct cli_hist *h);
uint64_t cli_hist_max(const struct cli_hist *h);
/* Mean of the exact values, 0 when empty. */
double cli_hist_mean(const struct cli_hist *h);
/* Value at quantile q in [0, 1] (the midpoint of its bucket, clamped to the exact max);
 * 0 when empty. */
uint64_t cli_hist_quantile(const struct cli_hist *h, double q);

#endif
