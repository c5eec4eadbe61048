/*
 * liveness.c - fast failure detection, so a dead node's partitions fail over in well
 * under a second instead of at ZooKeeper session expiry.
 *
 * The controller pings every broker, and every broker pings the controller, with a tiny
 * request (ApiVersions v0) every LIVENESS_PERIOD_MS. A process that is gone has its
 * connections refused by the kernel at once: after LIVENESS_REFUSALS refusals spanning
 * LIVENESS_MIN_SPAN_MS, the node is evicted (zk_evict): its registration (or the
 * controller znode) is removed, and the controller elects new leaders from the ISR as it
 * would at session expiry. A node that does not answer but whose connections stay open
 * (paused, partitioned) is left to ZooKeeper's session timeout: only a refusal proves the
 * process is gone. Evicting a live node by mistake is safe: it registers again, and the
 * controller gives its partitions a new epoch (zk.c).
 */
#include <stdlib.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "cluster/zk.h"
#include "net/peer.h"
#include "proto/api.h"

#define LIVENESS_PERIOD_MS 100
#define LIVENESS_TIMEOUT_MS 1000
#define LIVENESS_REFUSALS 3
#define LIVENESS_MIN_SPAN_MS 200
#define LIVENESS_MAX 64

typedef struct target {
    int32_t id;
    int64_t czxid;       /* the registration pinged */
    bool in_flight;
    int64_t sent_ms;
    int refusals;
    int64_t first_refusal_ms;
} target;

struct liveness {
    target t[LIVENESS_MAX];
    int n;
};

typedef struct ping_ctx {
    broker *b;
    int32_t id;
} ping_ctx;

static target *target_get(broker *b, struct liveness *lv, int32_t id, int64_t czxid)
{
    for (int i = 0; i < lv->n; i++)
        if (lv->t[i].id == id) {
            if (lv->t[i].czxid != czxid) { /* a new registration: start over */
                lv->t[i].czxid = czxid;
                lv->t[i].refusals = 0;
                /* Sends during a reconnect backoff fail at once, like refusals: the
                 * process that is back must not be judged by its predecessor's. */
                peer_pool_reset_backoff(b->peers, id);
            }
            return &lv->t[i];
        }
    if (lv->n == LIVENESS_MAX)
        return NULL;
    lv->t[lv->n] = (target){.id = id, .czxid = czxid};
    return &lv->t[lv->n++];
}

static target *target_find(struct liveness *lv, int32_t id)
{
    for (int i = 0; lv && i < lv->n; i++)
        if (lv->t[i].id == id)
            return &lv->t[i];
    return NULL;
}

static void on_pong(void *ctx, int status, const uint8_t *body, size_t len)
{
    BROOK_UNUSED(body);
    BROOK_UNUSED(len);
    ping_ctx *pc = ctx;
    broker *b = pc->b;
    target *t = b->stopping ? NULL : target_find(b->liveness, pc->id);
    free(pc);
    if (!t)
        return;
    t->in_flight = false;
    if (status != PEER_ERR_UNREACHABLE && status != PEER_ERR_CLOSED) {
        t->refusals = 0; /* answered, or silent (a timeout: ZooKeeper's to judge) */
        return;
    }
    int64_t now = clock_mono_us() / 1000;
    if (t->refusals++ == 0)
        t->first_refusal_ms = now;
    if (t->refusals < LIVENESS_REFUSALS || now - t->first_refusal_ms < LIVENESS_MIN_SPAN_MS ||
        !b->zk || !b->view)
        return;
    bool i_control = b->view->controller == b->cfg.node_id;
    LOG_WARN("cluster", "broker %d refuses connections (%d times in %lld ms): evicting it",
             t->id, t->refusals, (long long)(now - t->first_refusal_ms));
    zk_evict(b->zk, t->id, i_control ? t->czxid : -1);
    t->refusals = 0;
}

static void ping(broker *b, target *t)
{
    ping_ctx *pc = malloc(sizeof(*pc));
    if (!pc)
        return;
    *pc = (ping_ctx){b, t->id};
    static const uint8_t empty[1];
    t->in_flight = true;
    t->sent_ms = clock_mono_us() / 1000;
    if (peer_send(b->peers, t->id, API_API_VERSIONS, 0, false, empty, 0, LIVENESS_TIMEOUT_MS,
                  on_pong, pc) != 0) {
        t->in_flight = false;
        free(pc);
    }
}

void liveness_tick(broker *b)
{
    const cluster_view *v = b->view;
    if (!v || !b->peers || b->stopping || v->controller < 0)
        return;
    if (!b->liveness && !(b->liveness = calloc(1, sizeof(*b->liveness))))
        return;
    bool i_control = v->controller == b->cfg.node_id;
    int64_t now = clock_mono_us() / 1000;
    for (int i = 0; i < v->nbrokers; i++) {
        const cv_broker *br = &v->brokers[i];
        if (br->id == b->cfg.node_id || (!i_control && br->id != v->controller))
            continue;
        target *t = target_get(b, b->liveness, br->id, br->czxid);
        if (t && !t->in_flight && now - t->sent_ms >= LIVENESS_PERIOD_MS)
            ping(b, t);
    }
}

void liveness_stop(broker *b)
{
    free(b->liveness);
    b->liveness = NULL;
}
