/* sim_base.c - see sim_base.h. */
#include "sim_base.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

void *sim_grow(void *v, int *cap, size_t elem)
{
    int ncap = *cap ? *cap * 2 : 16;
    void *n = realloc(v, (size_t)ncap * elem);
    BROOK_ASSERT(n);
    *cap = ncap;
    return n;
}

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

static void usage(const char *prog, const sim_flag *flags, size_t nflags)
{
    fprintf(stderr,
            "usage: %s [--seeds N] [--start S] | --seed S [--verbose]\n"
            "  --seeds N   run N seeds (default 1000) starting at --start (default 1)\n"
            "  --seed S    run one seed (replay); --verbose (-v) prints every event\n"
            "  --max-fail N  print the traces of at most N failing seeds (default 5)\n"
            "  --expect-violation  stop at the first seed that violates an invariant and\n"
            "                      exit 0 only if one did (the checker sees a hazard)\n",
            prog);
    for (size_t i = 0; i < nflags; i++)
        fprintf(stderr, "  %s  %s\n", flags[i].name, flags[i].help);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return -1;
    *out = v;
    return 0;
}

int sim_opts_parse(sim_opts *o, int argc, char **argv, const char *prog, const sim_flag *flags,
                   size_t nflags)
{
    *o = (sim_opts){.seeds = 1000, .start = 1, .max_fail = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t *dst = NULL;
        if (strcmp(a, "--seeds") == 0)
            dst = &o->seeds;
        else if (strcmp(a, "--start") == 0)
            dst = &o->start;
        else if (strcmp(a, "--max-fail") == 0)
            dst = &o->max_fail;
        else if (strcmp(a, "--seed") == 0) {
            dst = &o->seed;
            o->single = true;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            o->verbose = true;
            continue;
        } else if (strcmp(a, "--expect-violation") == 0) {
            o->expect_violation = true;
            continue;
        } else {
            size_t k = 0;
            while (k < nflags && strcmp(a, flags[k].name) != 0)
                k++;
            if (k == nflags) {
                usage(prog, flags, nflags);
                return 2;
            }
            *flags[k].on = true;
            continue;
        }
        if (i + 1 >= argc || parse_u64(argv[i + 1], dst) != 0) {
            fprintf(stderr, "%s: %s needs a number\n", prog, a);
            usage(prog, flags, nflags);
            return 2;
        }
        i++;
    }
    return 0;
}

/* What the SIGABRT handler reports (sim_report_aborts). */
static struct {
    const sim_trace *tr;
    size_t lines;
    void (*describe)(void);
    const char *prog;
    uint64_t seed;
    bool running;
} g_abort;

static void on_abort(int sig)
{
    (void)sig;
    if (g_abort.running) {
        printf("FAIL seed=%" PRIu64 ": assertion failed (see stderr)\n", g_abort.seed);
        if (g_abort.describe)
            g_abort.describe();
        if (g_abort.tr)
            sim_trace_dump(g_abort.tr, g_abort.lines);
        printf("replay: %s --seed %" PRIu64 " --verbose\n", g_abort.prog, g_abort.seed);
        fflush(stdout);
    }
    signal(SIGABRT, SIG_DFL);
    abort();
}

void sim_report_aborts(const sim_trace *tr, size_t lines, void (*describe)(void))
{
    g_abort.tr = tr;
    g_abort.lines = lines;
    g_abort.describe = describe;
    signal(SIGABRT, on_abort);
}

int sim_run_seeds(const sim_opts *o, const char *prog, sim_seed_fn run_seed, void (*totals)(void))
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t passed = 0, failed = 0, first_failed = 0;
    uint64_t from = o->single ? o->seed : o->start;
    uint64_t n = o->single ? 1 : o->seeds;
    g_abort.prog = prog;
    for (uint64_t s = from; s - from < n; s++) {
        g_abort.seed = s;
        g_abort.running = true;
        bool ok = run_seed(s, o->verbose, failed < o->max_fail);
        g_abort.running = false;
        if (ok) {
            passed++;
            continue;
        }
        if (failed++ == 0)
            first_failed = s;
        if (o->expect_violation)
            break;
    }
    if (totals)
        totals();
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
    if (o->expect_violation) {
        if (failed)
            printf("%s: expected a violation: seed %" PRIu64 " has one (after %" PRIu64
                   " seeds); replay with --seed %" PRIu64 " --verbose\n", prog, first_failed,
                   passed + failed, first_failed);
        else
            printf("%s: expected a violation, but none of %" PRIu64 " seeds has one\n", prog,
                   passed);
        return failed ? 0 : 1;
    }
    return failed ? 1 : 0;
}
