/*
 * sim_base.h - the deterministic simulator's plumbing: a seeded RNG, a simulated clock with
 * an event queue (a binary heap ordered by time, then insertion), a bounded trace ring
 * printed when a run fails, and the command line and seed loop every simulator shares.
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

/* ---------------- memory ---------------- */

/* v (an array of *cap elements of elem bytes) reallocated to twice its capacity (16 when
 * empty); *cap is updated. Aborts when out of memory. */
void *sim_grow(void *v, int *cap, size_t elem);

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

/* ---------------- the command line and the seed loop ---------------- */

/* A simulator's own switch: "--name" sets *on (hazard switches, see tests/sim/README.md). */
typedef struct sim_flag {
    const char *name;
    bool *on;
    const char *help;
} sim_flag;

typedef struct sim_opts {
    uint64_t seeds, start; /* run seeds start .. start + seeds - 1 (default 1000 from 1) */
    uint64_t seed;         /* --seed S: just this one (replay) */
    bool single, verbose;
    uint64_t max_fail;     /* print the trace of at most this many failing seeds (5) */
    bool expect_violation; /* succeed only if some seed violates an invariant */
} sim_opts;

/* Parses --seeds N, --start S, --seed S, --verbose (-v), --max-fail N, --expect-violation
 * and the simulator's flags. Returns 0, or 2 after printing the usage to stderr (an
 * unknown option, a missing or malformed number). */
int sim_opts_parse(sim_opts *o, int argc, char **argv, const char *prog, const sim_flag *flags,
                   size_t nflags);

/* Runs one seed; report: print the failure (seed, trace, replay line) if it fails. Returns
 * true when every invariant held. */
typedef bool (*sim_seed_fn)(uint64_t seed, bool verbose, bool report);

/* Runs the seeds the options name, then totals() (the simulator's statistics, may be
 * NULL), then prints "N passed, N failed". With --expect-violation it stops at the first
 * failing seed (the checker saw the hazard: exit 0) or reports that none failed (exit 1).
 * Returns the process exit status. */
int sim_run_seeds(const sim_opts *o, const char *prog, sim_seed_fn run_seed, void (*totals)(void));

/* If the code under test aborts (a failed assertion) while sim_run_seeds runs a seed: print
 * "FAIL seed=S: assertion failed", describe() (the run's fault mix; may be NULL), the last
 * `lines` lines of *tr and the replay command, then die. Call before sim_run_seeds. */
void sim_report_aborts(const sim_trace *tr, size_t lines, void (*describe)(void));

#endif
