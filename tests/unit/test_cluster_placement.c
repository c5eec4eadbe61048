/* test_cluster_placement.c - consistent-hash placement: balance, movement on join and
 * leave, distinct replicas. 10k partitions (100 topics x 100) on 3..100 nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/placement.h"
#include "testutil.h"

#define TOPICS 100
#define PARTS 100

static void owners(const ring *r, int32_t *out)
{
    char name[32];
    for (int t = 0; t < TOPICS; t++) {
        snprintf(name, sizeof(name), "topic-%d", t);
        for (int p = 0; p < PARTS; p++)
            out[t * PARTS + p] = ring_owner(r, name, p);
    }
}

static void build(ring *r, int n, int first_id)
{
    int32_t ids[128];
    for (int i = 0; i < n; i++)
        ids[i] = first_id + i;
    ring_build(r, ids, (size_t)n, PLACEMENT_VNODES_DEFAULT);
}

/* The ring alone: removing a node moves only its partitions (a property of the walk). */
static void test_ring_removal_moves_only_own(void)
{
    static int32_t a[TOPICS * PARTS];
    ring r, r3;
    build(&r, 10, 1);
    owners(&r, a);
    int32_t ids[9];
    for (int i = 0; i < 9; i++)
        ids[i] = i + 2;
    ring_build(&r3, ids, 9, PLACEMENT_VNODES_DEFAULT);
    char name[32];
    int bad = 0;
    for (int t = 0; t < TOPICS; t++) {
        snprintf(name, sizeof(name), "topic-%d", t);
        for (int p = 0; p < PARTS; p++)
            if (a[t * PARTS + p] != 1 && ring_owner(&r3, name, p) != a[t * PARTS + p])
                bad++;
    }
    CHECK_EQ_INT(bad, 0);
    ring_free(&r);
    ring_free(&r3);
}

static double max_load(const placement *pl, int first, int n)
{
    size_t max = 0;
    for (int id = first; id < first + n; id++) {
        size_t l = placement_load(pl, id, NULL);
        if (l > max)
            max = l;
    }
    return (double)max / ((double)pl->nparts * pl->rf / n);
}

/* Stored placement: balance within 1.1x the mean on 3..100 nodes; a join moves at most
 * 1.1/N of the replicas, all to the new node; a leave moves only the leaving node's. */
static void test_balance_and_movement(void)
{
    static char names[TOPICS][32];
    static char *topics[TOPICS];
    static int32_t counts[TOPICS];
    for (int t = 0; t < TOPICS; t++) {
        snprintf(names[t], sizeof(names[t]), "topic-%d", t);
        topics[t] = names[t];
        counts[t] = PARTS;
    }
    static int32_t before[TOPICS * PARTS];
    int sizes[] = {3, 4, 5, 7, 10, 16, 25, 32, 50, 64, 80, 100};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        int n = sizes[s];
        ring r, r2, r3;
        build(&r, n, 1);
        placement pl;
        if (!CHECK_EQ_INT(placement_init(&pl, &r, topics, counts, TOPICS, 1), 0))
            return;
        double lf = max_load(&pl, 1, n);
        if (!CHECK(lf <= 1.1))
            printf("  %d nodes: max load %.3f x mean\n", n, lf);
        memcpy(before, pl.replicas, sizeof(before));
        /* Join node n+1. */
        build(&r2, n + 1, 1);
        size_t moved = placement_add_node(&pl, &r2, n + 1);
        int changed = 0, wrong = 0;
        for (int i = 0; i < TOPICS * PARTS; i++)
            if (before[i] != pl.replicas[i]) {
                changed++;
                wrong += pl.replicas[i] != n + 1;
            }
        CHECK_EQ_INT((size_t)changed, moved);
        CHECK_EQ_INT(wrong, 0);
        double frac = changed / (double)(TOPICS * PARTS);
        if (!CHECK(frac <= 1.1 / (n + 1)))
            printf("  %d -> %d nodes: %.4f moved (bound %.4f)\n", n, n + 1, frac, 1.1 / (n + 1));
        lf = max_load(&pl, 1, n + 1);
        if (!CHECK(lf <= 1.1))
            printf("  after join, %d nodes: max load %.3f x mean\n", n + 1, lf);
        /* Node 1 leaves: only its partitions move. */
        memcpy(before, pl.replicas, sizeof(before));
        int32_t ids[128];
        for (int i = 0; i < n; i++)
            ids[i] = i + 2;
        ring_build(&r3, ids, (size_t)n, PLACEMENT_VNODES_DEFAULT);
        placement_remove_node(&pl, &r3, 1);
        int bad = 0, unassigned = 0;
        for (int i = 0; i < TOPICS * PARTS; i++) {
            bad += before[i] != 1 && pl.replicas[i] != before[i];
            unassigned += pl.replicas[i] < 0 || pl.replicas[i] == 1;
        }
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(unassigned, 0);
        lf = max_load(&pl, 2, n);
        if (!CHECK(lf <= 1.1))
            printf("  after leave, %d nodes: max load %.3f x mean\n", n, lf);
        placement_free(&pl);
        ring_free(&r);
        ring_free(&r2);
        ring_free(&r3);
    }
}

static void test_replicas_distinct(void)
{
    ring r;
    build(&r, 5, 10);
    int32_t rep[8];
    for (int p = 0; p < 200; p++) {
        size_t n = ring_replicas(&r, "t", p, rep, 3);
        CHECK_EQ_INT(n, 3);
        CHECK(rep[0] != rep[1] && rep[1] != rep[2] && rep[0] != rep[2]);
        CHECK_EQ_INT(rep[0], ring_owner(&r, "t", p));
    }
    CHECK_EQ_INT(ring_replicas(&r, "t", 0, rep, 8), 5); /* capped at the node count */
    ring_free(&r);
    ring empty;
    CHECK_EQ_INT(ring_build(&empty, NULL, 0, 10), -1);
}

/* Three replicas per partition stay distinct through joins and leaves. */
static void test_replicated_placement(void)
{
    char *topics[] = {"a", "b"};
    int32_t counts[] = {500, 300};
    ring r, r2, r3;
    build(&r, 6, 1);
    placement pl;
    if (!CHECK_EQ_INT(placement_init(&pl, &r, topics, counts, 2, 3), 0))
        return;
    build(&r2, 7, 1);
    placement_add_node(&pl, &r2, 7);
    int32_t ids[] = {1, 2, 4, 5, 6, 7};
    ring_build(&r3, ids, 6, PLACEMENT_VNODES_DEFAULT);
    placement_remove_node(&pl, &r3, 3);
    int bad = 0;
    for (size_t i = 0; i < pl.nparts; i++) {
        int32_t *rep = &pl.replicas[i * 3];
        bad += rep[0] < 0 || rep[1] < 0 || rep[2] < 0 || rep[0] == rep[1] || rep[1] == rep[2] ||
               rep[0] == rep[2] || rep[0] == 3 || rep[1] == 3 || rep[2] == 3;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(max_load(&pl, 1, 7) <= 1.1 * 7.0 / 6.0); /* 6 live nodes among ids 1..7 */
    placement_free(&pl);
    ring_free(&r);
    ring_free(&r2);
    ring_free(&r3);
}

TU_MAIN(TU_CASE(test_ring_removal_moves_only_own), TU_CASE(test_balance_and_movement),
        TU_CASE(test_replicas_distinct), TU_CASE(test_replicated_placement))
