/*
 * placement.h - where partitions live: consistent hashing on a ring of virtual nodes.
 *
 * Owns: the ring (each node contributes `vnodes` points at hash(node id, i)) and the
 * mapping from (topic, partition) to an ordered replica list: the first distinct nodes
 * clockwise from the partition's point. The point of partition p of a topic is
 * hash(topic) + p * 2^64/phi (a Weyl sequence): a topic's partitions are spread evenly
 * around the ring instead of falling where independent hashes put them, which removes
 * the binomial noise that would otherwise overload some nodes by 20-30% at 100 nodes.
 * Properties (tests/unit/test_cluster_placement.c): over 10k partitions on 3..100 nodes
 * the most loaded node has at most 1.1x the mean; adding a node moves about 1/N of the
 * partitions (at most 1.1/N); removing one moves only the partitions it held.
 * Never: looks at live state (who is up, who leads): that is the controller's job; the
 * ring says only where partitions belong.
 */
#ifndef BROOK_CLUSTER_PLACEMENT_H
#define BROOK_CLUSTER_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#define PLACEMENT_VNODES_DEFAULT 1024

typedef struct ring_point {
    uint64_t hash;
    int32_t node;
} ring_point;

typedef struct ring {
    ring_point *points;
    size_t npoints;
    int32_t *nodes;
    size_t nnodes;
    int vnodes;
} ring;

/* Builds the ring for the given node ids (copied). Returns 0 or -1 (out of memory or no
 * nodes). */
int ring_build(ring *r, const int32_t *nodes, size_t nnodes, int vnodes);
void ring_free(ring *r);
/* The point of (topic, partition) on the ring. */
uint64_t placement_point(const char *topic, int32_t partition);
/* Fills out[0..n) with the first n distinct nodes clockwise from the partition's point
 * (n is capped at the number of nodes). Returns how many were written. */
size_t ring_replicas(const ring *r, const char *topic, int32_t partition, int32_t *out,
                     size_t n);
/* The first replica (the preferred leader). */
int32_t ring_owner(const ring *r, const char *topic, int32_t partition);

/*
 * Stored placement with bounded loads. Pure consistent hashing cannot keep every node
 * within 10% of the mean at 100 nodes and 10k partitions: each node's count is a sum of
 * independent coin flips, whose noise alone is about 10%. So the ring gives each
 * partition its preference order, and placement is incremental and stored (in the
 * cluster's metadata):
 *  - initially, each partition takes the first nodes clockwise that are below the cap
 *    floor(1.1 x mean) (bounded-load consistent hashing);
 *  - when a node leaves, only the partitions it held get a replacement (the first node
 *    clockwise below the cap that is not already a replica);
 *  - when a node joins, it takes about P/(N+1) replicas: first those whose ring walk
 *    reaches it before their current node, from the most loaded nodes, then from any
 *    node above the new cap.
 */
typedef struct placement {
    int32_t rf;         /* replicas per partition */
    size_t nparts;
    char **topics;      /* per partition (borrowed pointers into the caller's names) */
    int32_t *index;     /* per partition */
    int32_t *replicas;  /* nparts x rf node ids, -1 where unassigned */
} placement;

/* Places every (topic, partition) of the given topics on the ring's nodes. */
int placement_init(placement *pl, const ring *r, char **topic_names, const int32_t *counts,
                   size_t ntopics, int32_t rf);
/* The ring now lacks `node`: reassigns only the replicas it held. */
void placement_remove_node(placement *pl, const ring *r_without, int32_t node);
/* The ring now has `node`: moves replicas to it. Returns how many moved. */
size_t placement_add_node(placement *pl, const ring *r_with, int32_t node);
/* Replicas held by `node` (all positions), and the leaders (position 0). */
size_t placement_load(const placement *pl, int32_t node, size_t *leaders_out);
void placement_free(placement *pl);

#endif
