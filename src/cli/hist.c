/*
 * hist.c - log-linear histogram; see hist.h.
 */
#include "cli/hist.h"

#include <math.h>
#include <stdlib.h>

/* Exact buckets below CLI_HIST_SUB, then CLI_HIST_SUB / 2 buckets per power of two. */
#define CLI_HIST_SUB_BITS 7
#define CLI_HIST_SUB (1u << CLI_HIST_SUB_BITS)
#define CLI_HIST_HALF (CLI_HIST_SUB / 2)
#define CLI_HIST_BUCKETS (CLI_HIST_SUB + (64 - CLI_HIST_SUB_BITS) * CLI_HIST_HALF)

struct cli_hist {
    uint64_t count;
    uint64_t max;
    double sum;
    uint64_t buckets[CLI_HIST_BUCKETS];
};

struct cli_hist *cli_hist_new(void)
{
    return calloc(1, sizeof(struct cli_hist));
}

void cli_hist_free(struct cli_hist *h)
{
    free(h);
}

static unsigned bucket_of(uint64_t v)
{
    if (v < CLI_HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - CLI_HIST_SUB_BITS + 1;
    unsigned sub = (unsigned)(v >> shift) - CLI_HIST_HALF;
    unsigned idx = CLI_HIST_SUB + (msb - CLI_HIST_SUB_BITS) * CLI_HIST_HALF + sub;
    /* Always checked: a wrong index would scribble past the array, in release builds too. */
    if (idx >= CLI_HIST_BUCKETS)
        abort();
    return idx;
}

/* Midpoint of bucket idx, the inverse of bucket_of up to the bucket width. */
static uint64_t value_of(unsigned idx)
{
    if (idx < CLI_HIST_SUB)
        return idx;
    unsigned octave = (idx - CLI_HIST_SUB) / CLI_HIST_HALF;
    unsigned sub = (idx - CLI_HIST_SUB) % CLI_HIST_HALF;
    unsigned msb = octave + CLI_HIST_SUB_BITS;
    unsigned shift = msb - CLI_HIST_SUB_BITS + 1;
    uint64_t low = (uint64_t)(sub + CLI_HIST_HALF) << shift;
    return low + (((uint64_t)1 << shift) >> 1);
}

void cli_hist_record(struct cli_hist *h, uint64_t value)
{
    h->buckets[bucket_of(value)]++;
    h->count++;
    h->sum += (double)value;
    if (value > h->max)
        h->max = value;
}

uint64_t cli_hist_count(const struct cli_hist *h)
{
    return h->count;
}

uint64_t cli_hist_max(const struct cli_hist *h)
{
    return h->max;
}

double cli_hist_mean(const struct cli_hist *h)
{
    return h->count == 0 ? 0.0 : h->sum / (double)h->count;
}

uint64_t cli_hist_quantile(const struct cli_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q < 0.0)
        q = 0.0;
    if (q > 1.0)
        q = 1.0;
    /* The rank of the sample at quantile q, 1-based, as in "nearest rank". */
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < CLI_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = value_of(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}
