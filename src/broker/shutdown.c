/*
 * shutdown.c - controlled shutdown (docs/replication.md, "Controlled shutdown"): on
 * SIGTERM/SIGINT in cluster mode, before the listener stops, this node's registration
 * says it is leaving (zk_shutdown_announce); the controller moves every leadership it
 * holds to another in-sync replica and takes it out of every ISR (repl_shutdown_move, the
 * same version-checked and controller-fenced state writes as its elections). This file
 * only waits, at most controlled.shutdown.timeout.ms, until the cluster view shows nothing
 * left to move (cv_shutdown_pending), then runs the normal clean shutdown (broker_stop).
 * Meanwhile the node serves as usual: a partition already handed over answers
 * NOT_LEADER_OR_FOLLOWER, and produces waiting on it fail with the same retriable error.
 */
#include <stdlib.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "cluster/zk.h"

#define CSHUT_POLL_MS 10
#define CSHUT_ANNOUNCE_AGAIN_MS 500 /* the view does not show it yet: ask again */

struct ctl_shutdown {
    broker *b;
    uv_timer_t timer;
    int64_t start_ms, deadline_ms, announced_ms;
    int led_at_start;
};

static int64_t now_ms(void) { return clock_mono_us() / 1000; }

/* Partitions the view names this node leader of. */
static int led_here(const broker *b)
{
    int n = 0;
    for (const cv_topic *t = b->view ? b->view->topics : NULL; t; t = t->hh.next)
        for (int32_t i = 0; i < t->nparts; i++)
            n += t->parts[i].leader == b->cfg.node_id;
    return n;
}

static void on_closed(uv_handle_t *h) { free(h->data); }

/* Ends the waiting and runs the clean shutdown. */
static void finish(broker *b)
{
    struct ctl_shutdown *cs = b->cshut;
    b->cshut = NULL;
    uv_timer_stop(&cs->timer);
    cs->timer.data = cs;
    uv_close((uv_handle_t *)&cs->timer, on_closed);
    broker_stop(b);
}

static void on_tick(uv_timer_t *t)
{
    struct ctl_shutdown *cs = t->data;
    broker *b = cs->b;
    int kept = 0;
    int pending = b->view ? cv_shutdown_pending(b->view, b->cfg.node_id,
                                                b->cfg.min_insync_replicas, &kept)
                          : -1;
    int64_t now = now_ms();
    if (pending == 0) {
        int led = led_here(b);
        LOG_INFO("broker", "controlled shutdown done in %lld ms: %d leadership(s) moved, %d "
                 "kept (no other in-sync replica to take them)",
                 (long long)(now - cs->start_ms), cs->led_at_start - led, kept);
        finish(b);
        return;
    }
    if (now >= cs->deadline_ms) {
        if (pending < 0)
            LOG_WARN("broker", "controlled shutdown timed out after %lld ms: the cluster view "
                     "never showed this node leaving; stopping anyway",
                     (long long)(now - cs->start_ms));
        else
            LOG_WARN("broker", "controlled shutdown timed out after %lld ms with %d "
                     "partition(s) still to move; stopping anyway (they fail over)",
                     (long long)(now - cs->start_ms), pending);
        finish(b);
        return;
    }
    if (pending < 0 && b->zk && now - cs->announced_ms >= CSHUT_ANNOUNCE_AGAIN_MS) {
        cs->announced_ms = now;
        zk_shutdown_announce(b->zk);
    }
}

void broker_shutdown_begin(broker *b)
{
    if (b->stopping)
        return;
    if (b->cshut) {
        LOG_INFO("broker", "second signal: stopping without waiting for the controlled "
                 "shutdown");
        finish(b);
        return;
    }
    if (!b->clustered || !b->cfg.controlled_shutdown || b->cfg.controlled_shutdown_ms <= 0 ||
        !b->zk || !b->view || !b->view->registered || !zk_connected(b->zk)) {
        broker_stop(b); /* nothing to hand over, or no way to: the plain clean shutdown */
        return;
    }
    struct ctl_shutdown *cs = calloc(1, sizeof(*cs));
    BROOK_ASSERT(cs);
    cs->b = b;
    cs->start_ms = cs->announced_ms = now_ms();
    cs->deadline_ms = cs->start_ms + b->cfg.controlled_shutdown_ms;
    cs->led_at_start = led_here(b);
    b->cshut = cs;
    LOG_INFO("broker", "controlled shutdown: moving %d leadership(s) and this node's ISR "
             "places to other replicas (at most %lld ms)", cs->led_at_start,
             (long long)b->cfg.controlled_shutdown_ms);
    zk_shutdown_announce(b->zk);
    uv_timer_init(b->loop, &cs->timer);
    cs->timer.data = cs;
    uv_timer_start(&cs->timer, on_tick, CSHUT_POLL_MS, CSHUT_POLL_MS);
}
