/*
 * sim_base.h - the deterministic simulator's plumbing: a seeded RNG, a simulated clock with
 * an event queue (a binary heap ordered by time, then insertion), and a bounded trace ring
 * printed when a run fails.
 *
 * Never: reads the wall clock, starts threads or does I/O other than printing the trace.
 */
#ifndef BROOK_SIM_BASE_H
#define BROOK_SIM_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------- RNG (splitmix64): one per run, seeded from the run's seed ---------------- */

typedef struct sim_rng {
    uint64_t s;
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in [lo, hi] (inclusive); hi >= lo. */
int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi);
/* True with probability p (0..1). */
bool sim_rng_chance(sim_rng *r, double p);

/* ---------------- event queue ---------------- */

typedef struct sim_event {
    int64_t at;   /* simulated milliseconds */
    uint64_t seq; /* ties broken by insertion order: deterministic */
    int kind;
    void *data;   /* owned by the queue's user */
    int64_t a, b, c; /* small payloads */
} sim_event;

typedef struct sim_queue {
    sim_event *v;
    size_t n, cap;
    uint64_t next_seq;
} sim_queue;

void sim_queue_init(sim_queue *q);
void sim_queue_free(sim_queue *q);
void sim_queue_push(sim_queue *q, const sim_event *e);
/* Pops the earliest event into *out; false when empty. */
bool sim_queue_pop(sim_queue *q, sim_event *out);

/* ---------------- trace ---------------- */

#define SIM_TRACE_LINES 400
#define SIM_TRACE_WIDTH 200

typedef struct sim_trace {
    char lines[SIM_TRACE_LINES][SIM_TRACE_WIDTH];
    uint64_t count;  /* lines ever written */
    bool echo;       /* print every line as it is written (--verbose) */
} sim_trace;

void sim_trace_reset(sim_trace *t, bool echo);
void sim_trace_add(sim_trace *t, int64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints the last lines kept (oldest first). */
void sim_trace_dump(const sim_trace *t, size_t max_lines);

#endif
