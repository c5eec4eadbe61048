/* sim_base.c - see sim_base.h. */
#include "sim_base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    (void)sim_rng_next(r);
}

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi)
{
    BROOK_ASSERT(hi >= lo);
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(sim_rng_next(r) % span);
}

bool sim_rng_chance(sim_rng *r, double p)
{
    if (p <= 0)
        return false;
    double x = (double)(sim_rng_next(r) >> 11) / (double)(1ull << 53);
    return x < p;
}

void sim_queue_init(sim_queue *q)
{
    memset(q, 0, sizeof(*q));
}

void sim_queue_free(sim_queue *q)
{
    free(q->v);
    memset(q, 0, sizeof(*q));
}

static bool ev_before(const sim_event *x, const sim_event *y)
{
    return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

void sim_queue_push(sim_queue *q, const sim_event *e)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        sim_event *n = realloc(q->v, cap * sizeof(*n));
        BROOK_ASSERT(n);
        q->v = n;
        q->cap = cap;
    }
    size_t i = q->n++;
    q->v[i] = *e;
    q->v[i].seq = q->next_seq++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(&q->v[i], &q->v[parent]))
            break;
        sim_event t = q->v[i];
        q->v[i] = q->v[parent];
        q->v[parent] = t;
        i = parent;
    }
}

bool sim_queue_pop(sim_queue *q, sim_event *out)
{
    if (q->n == 0)
        return false;
    *out = q->v[0];
    q->v[0] = q->v[--q->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && ev_before(&q->v[l], &q->v[m]))
            m = l;
        if (r < q->n && ev_before(&q->v[r], &q->v[m]))
            m = r;
        if (m == i)
            break;
        sim_event t = q->v[i];
        q->v[i] = q->v[m];
        q->v[m] = t;
        i = m;
    }
    return true;
}

void sim_trace_reset(sim_trace *t, bool echo)
{
    t->count = 0;
    t->echo = echo;
}

void sim_trace_add(sim_trace *t, int64_t now_ms, const char *fmt, ...)
{
    char *line = t->lines[t->count % SIM_TRACE_LINES];
    int n = snprintf(line, SIM_TRACE_WIDTH, "%7lld ", (long long)now_ms);
    if (n < 0)
        n = 0;
    if (n < SIM_TRACE_WIDTH) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, (size_t)(SIM_TRACE_WIDTH - n), fmt, ap);
        va_end(ap);
    }
    t->count++;
    if (t->echo)
        printf("%s\n", line);
}

void sim_trace_dump(const sim_trace *t, size_t max_lines)
{
    size_t kept = t->count < SIM_TRACE_LINES ? (size_t)t->count : SIM_TRACE_LINES;
    if (max_lines < kept)
        kept = max_lines;
    printf("--- trace: last %zu of %llu events ---\n", kept, (unsigned long long)t->count);
    for (uint64_t i = t->count - kept; i < t->count; i++)
        printf("%s\n", t->lines[i % SIM_TRACE_LINES]);
}
