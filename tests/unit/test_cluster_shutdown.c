/* test_cluster_shutdown.c - controlled shutdown in the cluster view (cluster/view.c): the
 * registration's "shutting_down" flag round trip, and what a leaving node still waits for
 * (cv_shutdown_pending: the controller's moves of repl_shutdown_move not yet made). The
 * moves themselves are tested in test_repl.c. */
#include <stdlib.h>
#include <string.h>

#include "cluster/view.h"
#include "testutil.h"

static void test_registration_flag(void)
{
    cv_broker b = {0};
    char *j = cv_broker_json(&(cv_broker){.id = 4, .host = "127.0.0.1", .port = 9092, .incarnation = "abc"});
    CHECK_EQ_INT(cv_broker_parse(j, strlen(j), &b), 0);
    CHECK(!b.shutting_down);
    free(b.host);
    free(b.incarnation);
    free(j);
    j = cv_broker_json(&(cv_broker){.id = 4, .host = "127.0.0.1", .port = 9092, .incarnation = "abc", .shutting_down = true});
    CHECK_EQ_INT(cv_broker_parse(j, strlen(j), &b), 0);
    CHECK(b.shutting_down && b.id == 4 && b.port == 9092);
    free(b.host);
    free(b.incarnation);
    free(j);
}

/* Topic "t", 3 partitions, each replicated on {1,2,3}. */
static cv_topic *make_topic(const char *min_isr)
{
    cv_topic *t = calloc(1, sizeof(*t));
    t->name = strdup("t");
    t->nparts = 3;
    t->parts = calloc(3, sizeof(cv_part));
    for (int i = 0; i < 3; i++) {
        t->parts[i].nreplicas = 3;
        t->parts[i].replicas = calloc(3, sizeof(int32_t));
        for (int k = 0; k < 3; k++)
            t->parts[i].replicas[k] = k + 1;
    }
    if (min_isr) {
        t->nconfigs = 1;
        t->config_keys = calloc(1, sizeof(char *));
        t->config_values = calloc(1, sizeof(char *));
        t->config_keys[0] = strdup("min.insync.replicas");
        t->config_values[0] = strdup(min_isr);
    }
    return t;
}

/* Partition i: leader, ISR members (0 ends the list), empty ELR. */
static void set_part(cv_topic *t, int i, int32_t leader, int a, int b, int c)
{
    cv_part *p = &t->parts[i];
    p->leader = leader;
    p->isr.n = p->elr.n = 0;
    int m[3] = {a, b, c};
    for (int k = 0; k < 3; k++)
        if (m[k] > 0)
            repl_set_add(&p->isr, m[k]);
}

static void test_pending(void)
{
    cluster_view *v = cv_new();
    for (int id = 1; id <= 3; id++)
        cv_add_broker(v, id, "h", 9000 + id, "");
    cv_topic *t = make_topic(NULL);
    HASH_ADD_KEYPTR(hh, v->topics, t->name, strlen(t->name), t);
    set_part(t, 0, 1, 1, 2, 3); /* led by 1: its leadership moves */
    set_part(t, 1, 2, 1, 2, 3); /* 1 follows, in the ISR: its place goes */
    set_part(t, 2, 1, 1, 0, 0); /* led by 1 alone: kept */
    int kept = -7;
    CHECK_EQ_INT(cv_shutdown_pending(v, 1, 2, &kept), -1); /* not announced yet */
    cv_broker_set_shutting_down(v, 1, true);
    repl_set live, shutting;
    cv_live_sets(v, &live, &shutting);
    CHECK(live.n == 3 && shutting.n == 1 && repl_set_has(&shutting, 1));
    CHECK_EQ_INT(cv_shutdown_pending(v, 1, 2, &kept), 2);
    CHECK_EQ_INT(kept, 1);
    /* Another node: it is not leaving. */
    CHECK_EQ_INT(cv_shutdown_pending(v, 2, 2, NULL), -1);
    /* The controller did its part. */
    set_part(t, 0, 2, 2, 3, 0);
    set_part(t, 1, 2, 2, 3, 0);
    CHECK_EQ_INT(cv_shutdown_pending(v, 1, 2, &kept), 0);
    CHECK_EQ_INT(kept, 1);
    /* A leader put it back into an ISR (a race the controller undoes): pending again. */
    set_part(t, 1, 2, 1, 2, 3);
    CHECK_EQ_INT(cv_shutdown_pending(v, 1, 2, &kept), 1);
    /* The only other in-sync replica is leaving too: nothing to move to. */
    set_part(t, 1, 2, 2, 0, 0);
    set_part(t, 0, 1, 1, 3, 0);
    cv_broker_set_shutting_down(v, 3, true);
    CHECK_EQ_INT(cv_shutdown_pending(v, 1, 2, &kept), 0);
    CHECK_EQ_INT(kept, 2);
    cv_unref(v);
}

static void test_topic_min_isr(void)
{
    cv_topic *t = make_topic("3");
    CHECK_EQ_INT(cv_topic_min_isr(t, 2), 3);
    cv_topic_free(t);
    t = make_topic("nonsense");
    CHECK_EQ_INT(cv_topic_min_isr(t, 2), 2);
    cv_topic_free(t);
    t = make_topic(NULL);
    CHECK_EQ_INT(cv_topic_min_isr(t, 1), 1);
    cv_topic_free(t);
}

TU_MAIN(TU_CASE(test_registration_flag), TU_CASE(test_pending), TU_CASE(test_topic_min_isr))
