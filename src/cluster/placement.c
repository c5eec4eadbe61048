/* placement.c - see placement.h. */
#include "cluster/placement.h"

#include <stdlib.h>
#include <stdbool.h>
#include "base/assert.h"
#include <string.h>

/* SplitMix64's finalizer: a full-avalanche 64-bit mixer. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* FNV-1a over the bytes, then mixed. */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return mix64(h);
}

uint64_t placement_point(const char *topic, int32_t partition)
{
    /* 2^64 / golden ratio: consecutive partitions land as far apart as possible. */
    const uint64_t weyl = 0x9e3779b97f4a7c15ull;
    return hash_str(topic) + (uint64_t)(uint32_t)partition * weyl;
}

static int cmp_point(const void *a, const void *b)
{
    const ring_point *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

int ring_build(ring *r, const int32_t *nodes, size_t nnodes, int vnodes)
{
    memset(r, 0, sizeof(*r));
    if (nnodes == 0 || vnodes <= 0)
        return -1;
    r->points = malloc(sizeof(ring_point) * nnodes * (size_t)vnodes);
    r->nodes = malloc(sizeof(int32_t) * nnodes);
    if (!r->points || !r->nodes) {
        ring_free(r);
        return -1;
    }
    memcpy(r->nodes, nodes, sizeof(int32_t) * nnodes);
    r->nnodes = nnodes;
    r->vnodes = vnodes;
    for (size_t n = 0; n < nnodes; n++)
        for (int v = 0; v < vnodes; v++) {
            /* A node's points depend only on its id: adding or removing another node
             * never moves them. */
            uint64_t h = mix64(((uint64_t)(uint32_t)nodes[n] << 32) ^ (uint64_t)v ^
                               0x5bd1e9955bd1e995ull);
            r->points[r->npoints++] = (ring_point){h, nodes[n]};
        }
    qsort(r->points, r->npoints, sizeof(ring_point), cmp_point);
    return 0;
}

void ring_free(ring *r)
{
    free(r->points);
    free(r->nodes);
    memset(r, 0, sizeof(*r));
}

/* Index of the first ring point at or after h (wrapping). */
static size_t ring_seek(const ring *r, uint64_t h)
{
    size_t lo = 0, hi = r->npoints;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->points[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == r->npoints ? 0 : lo;
}

size_t ring_replicas(const ring *r, const char *topic, int32_t partition, int32_t *out,
                     size_t n)
{
    if (r->npoints == 0)
        return 0;
    if (n > r->nnodes)
        n = r->nnodes;
    size_t got = 0, i = ring_seek(r, placement_point(topic, partition));
    for (size_t step = 0; step < r->npoints && got < n; step++) {
        int32_t node = r->points[(i + step) % r->npoints].node;
        size_t k = 0;
        while (k < got && out[k] != node)
            k++;
        if (k == got)
            out[got++] = node;
    }
    return got;
}

int32_t ring_owner(const ring *r, const char *topic, int32_t partition)
{
    int32_t owner = -1;
    ring_replicas(r, topic, partition, &owner, 1);
    return owner;
}

/* ---------------- stored placement with bounded loads ---------------- */

static int32_t *reps(const placement *pl, size_t i) { return &pl->replicas[i * (size_t)pl->rf]; }

static size_t cap_for(const placement *pl, size_t nnodes)
{
    double mean = (double)pl->nparts * (double)pl->rf / (double)nnodes;
    size_t cap = (size_t)(1.1 * mean);
    size_t ceil_mean = (size_t)mean + ((double)(size_t)mean < mean);
    return cap < ceil_mean ? ceil_mean : cap;
}

/* Load of every node of the ring, in ring->nodes order. */
static void loads(const placement *pl, const ring *r, size_t *out)
{
    memset(out, 0, sizeof(size_t) * r->nnodes);
    for (size_t i = 0; i < pl->nparts * (size_t)pl->rf; i++)
        for (size_t n = 0; n < r->nnodes; n++)
            if (pl->replicas[i] == r->nodes[n]) {
                out[n]++;
                break;
            }
}

static size_t node_slot(const ring *r, int32_t node)
{
    for (size_t n = 0; n < r->nnodes; n++)
        if (r->nodes[n] == node)
            return n;
    return (size_t)-1;
}

static bool holds(const int32_t *rep, int32_t rf, int32_t node)
{
    for (int32_t k = 0; k < rf; k++)
        if (rep[k] == node)
            return true;
    return false;
}

/* The first node clockwise from the partition's point that is below the cap and not a
 * replica yet; -1 if every node is full. */
static int32_t pick(const ring *r, const placement *pl, size_t i, const size_t *load,
                    size_t cap)
{
    size_t at = ring_seek(r, placement_point(pl->topics[i], pl->index[i]));
    for (size_t step = 0; step < r->npoints; step++) {
        int32_t node = r->points[(at + step) % r->npoints].node;
        if (!holds(reps(pl, i), pl->rf, node) && load[node_slot(r, node)] < cap)
            return node;
    }
    return -1;
}

int placement_init(placement *pl, const ring *r, char **topic_names, const int32_t *counts,
                   size_t ntopics, int32_t rf)
{
    memset(pl, 0, sizeof(*pl));
    if (rf < 1 || (size_t)rf > r->nnodes)
        return -1;
    pl->rf = rf;
    for (size_t t = 0; t < ntopics; t++)
        pl->nparts += (size_t)counts[t];
    pl->topics = calloc(pl->nparts + 1, sizeof(char *));
    pl->index = calloc(pl->nparts + 1, sizeof(int32_t));
    pl->replicas = malloc(sizeof(int32_t) * (pl->nparts + 1) * (size_t)rf);
    size_t *load = calloc(r->nnodes, sizeof(size_t));
    if (!pl->topics || !pl->index || !pl->replicas || !load) {
        free(load);
        placement_free(pl);
        return -1;
    }
    size_t i = 0;
    for (size_t t = 0; t < ntopics; t++)
        for (int32_t p = 0; p < counts[t]; p++, i++) {
            pl->topics[i] = topic_names[t];
            pl->index[i] = p;
        }
    for (i = 0; i < pl->nparts * (size_t)rf; i++)
        pl->replicas[i] = -1;
    size_t cap = cap_for(pl, r->nnodes);
    for (int32_t k = 0; k < rf; k++)
        for (i = 0; i < pl->nparts; i++) {
            int32_t node = pick(r, pl, i, load, cap);
            reps(pl, i)[k] = node;
            if (node >= 0)
                load[node_slot(r, node)]++;
        }
    free(load);
    return 0;
}

void placement_remove_node(placement *pl, const ring *r_without, int32_t node)
{
    size_t *load = calloc(r_without->nnodes, sizeof(size_t));
    if (!load)
        return;
    loads(pl, r_without, load);
    size_t cap = cap_for(pl, r_without->nnodes);
    for (size_t i = 0; i < pl->nparts; i++)
        for (int32_t k = 0; k < pl->rf; k++)
            if (reps(pl, i)[k] == node) {
                reps(pl, i)[k] = -1;
                int32_t to = pick(r_without, pl, i, load, cap);
                reps(pl, i)[k] = to;
                if (to >= 0)
                    load[node_slot(r_without, to)]++;
            }
    free(load);
}

/* Does the partition's ring walk reach `node` before `current`? */
static bool prefers(const ring *r, const placement *pl, size_t i, int32_t node, int32_t current)
{
    size_t at = ring_seek(r, placement_point(pl->topics[i], pl->index[i]));
    for (size_t step = 0; step < r->npoints; step++) {
        int32_t n = r->points[(at + step) % r->npoints].node;
        if (n == node)
            return true;
        if (n == current)
            return false;
    }
    return false;
}

size_t placement_add_node(placement *pl, const ring *r_with, int32_t node)
{
    size_t *load = calloc(r_with->nnodes, sizeof(size_t));
    if (!load)
        return 0;
    loads(pl, r_with, load);
    size_t cap = cap_for(pl, r_with->nnodes), moved = 0;
    size_t target = (pl->nparts * (size_t)pl->rf) / r_with->nnodes;
    size_t self = node_slot(r_with, node);
    /* Pass 0: nodes above the new (smaller) cap give replicas until they are not.
     * Pass 1: replicas whose ring walk reaches the new node first, from nodes above the
     * mean. Pass 2: any replica of a node still above the mean. Passes 1-2 stop at the
     * mean, so about P/(N+1) replicas move. */
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < pl->nparts; i++) {
            if (pass > 0 && load[self] >= target)
                break;
            if (holds(reps(pl, i), pl->rf, node))
                continue;
            for (int32_t k = 0; k < pl->rf; k++) {
                int32_t cur = reps(pl, i)[k];
                size_t cs = cur >= 0 ? node_slot(r_with, cur) : (size_t)-1;
                bool over = cs != (size_t)-1 && load[cs] > (pass == 0 ? cap : target);
                if (cur >= 0 && !over)
                    continue;
                if (pass == 1 && cur >= 0 && !prefers(r_with, pl, i, node, cur))
                    continue;
                reps(pl, i)[k] = node;
                if (cs != (size_t)-1)
                    load[cs]--;
                load[self]++;
                moved++;
                break;
            }
        }
    free(load);
    return moved;
}

size_t placement_load(const placement *pl, int32_t node, size_t *leaders_out)
{
    size_t n = 0, leaders = 0;
    for (size_t i = 0; i < pl->nparts; i++)
        for (int32_t k = 0; k < pl->rf; k++)
            if (reps(pl, i)[k] == node) {
                n++;
                leaders += k == 0;
            }
    if (leaders_out)
        *leaders_out = leaders;
    return n;
}

void placement_free(placement *pl)
{
    free(pl->topics);
    free(pl->index);
    free(pl->replicas);
    memset(pl, 0, sizeof(*pl));
}
