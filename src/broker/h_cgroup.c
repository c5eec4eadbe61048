/* h_cgroup.c - KIP-848 consumer groups: ConsumerGroupHeartbeat and ConsumerGroupDescribe.
 * A heartbeat is decided at once by the coordinator (group/cgroup.h) and answered once the
 * records it changed are durable in __consumer_offsets. Topics are passed to the
 * coordinator as a snapshot of this node's view (the registry, or the cluster view). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "group/cgroup.h"
#include "proto/errors.h"
#include "proto/group_msgs.h"
#include "proto/ident.h"

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

static char *cstr(req_ctx *c, kslice s) { return ident_decode(&c->nr->arena, s); }

static int topic_info_cmp(const void *a, const void *b)
{
    return strcmp(((const cg_topic_info *)a)->name, ((const cg_topic_info *)b)->name);
}

/* Every topic this node knows, sorted by name (in the request's arena). */
static cg_topic_info *topics_snapshot(broker *b, arena *a, int *n)
{
    const cluster_view *v = broker_clustered(b) ? b->view : NULL;
    size_t count = v ? HASH_COUNT(v->topics) : md_count(&b->md);
    cg_topic_info *out = arena_alloc(a, sizeof(*out) * (count + 1));
    int k = 0;
    if (!out) {
        *n = 0;
        return NULL;
    }
    if (v) {
        for (const cv_topic *t = v->topics; t; t = t->hh.next, k++) {
            out[k] = (cg_topic_info){.name = t->name, .nparts = t->nparts,
                                     .internal = kafka_topic_internal(t->name)};
            memcpy(out[k].id, t->id, CG_TOPIC_ID_LEN);
        }
    } else {
        for (const topic *t = b->md.topics; t; t = t->hh.next, k++) {
            out[k] = (cg_topic_info){.name = t->name, .nparts = t->npartitions,
                                     .internal = t->internal};
            memcpy(out[k].id, t->id, CG_TOPIC_ID_LEN);
        }
    }
    qsort(out, (size_t)k, sizeof(*out), topic_info_cmp);
    *n = k;
    return out;
}

static const char *topic_name_of(const cg_topic_info *ts, int n, const uint8_t *id)
{
    for (int i = 0; i < n; i++)
        if (memcmp(ts[i].id, id, CG_TOPIC_ID_LEN) == 0)
            return ts[i].name;
    return "";
}

/* A partition set as the wire's per-topic lists (arena): sets are sorted by topic id, so
 * each topic's partitions are adjacent. */
static cg_topic_parts *wire_parts(arena *a, const cg_set *s, const cg_topic_info *ts, int nts,
                                  int32_t *nout)
{
    cg_topic_parts *out = arena_alloc(a, sizeof(*out) * (size_t)(s->n + 1));
    int32_t *parts = arena_alloc(a, sizeof(int32_t) * (size_t)(s->n + 1));
    *nout = 0;
    if (!out || !parts)
        return NULL;
    for (int i = 0; i < s->n; i++) {
        cg_topic_parts *t = *nout > 0 ? &out[*nout - 1] : NULL;
        if (!t || memcmp(t->topic_id, s->v[i].topic, CG_TOPIC_ID_LEN) != 0) {
            t = &out[(*nout)++];
            memcpy(t->topic_id, s->v[i].topic, CG_TOPIC_ID_LEN);
            t->topic_name = kslice_cstr(ts ? topic_name_of(ts, nts, s->v[i].topic) : "");
            t->parts = &parts[i];
            t->nparts = 0;
        }
        t->parts[t->nparts++] = s->v[i].part;
    }
    return out;
}

/* ---------------- ConsumerGroupHeartbeat ---------------- */

typedef struct hb_op {
    req_ctx *c;
    cg_heartbeat_resp resp;
    cg_assignment assignment; /* resp.assignment, when not null */
} hb_op;

static void hb_reply(void *ctx, bool ok)
{
    hb_op *op = ctx;
    if (!ok) { /* not durable: the member retries; nothing it was told holds */
        op->resp = (cg_heartbeat_resp){.error_code = KERR_COORDINATOR_NOT_AVAILABLE,
                                       .member_epoch = -1};
    }
    resp_begin(&op->c->nr->resp, &op->c->h);
    cg_heartbeat_resp_encode(&op->c->nr->resp, op->c->h.api_version, &op->resp);
    finish(op->c);
}

/* The owned partitions of the request as a flat list (arena); -1: null. */
static cg_tp *owned_list(arena *a, const cg_heartbeat_req *q, int *n)
{
    *n = -1;
    if (q->nowned < 0)
        return NULL;
    int total = 0;
    for (int32_t i = 0; i < q->nowned; i++)
        total += q->owned[i].nparts;
    cg_tp *out = arena_alloc(a, sizeof(*out) * (size_t)(total + 1));
    if (!out)
        return NULL;
    *n = 0;
    for (int32_t i = 0; i < q->nowned; i++)
        for (int32_t k = 0; k < q->owned[i].nparts; k++) {
            memcpy(out[*n].topic, q->owned[i].topic_id, CG_TOPIC_ID_LEN);
            out[(*n)++].part = q->owned[i].parts[k];
        }
    return out;
}

/* Builds the coordinator's arguments from the request (strings in the arena). */
static bool hb_args(req_ctx *c, const cg_heartbeat_req *q, cg_hb_args *x)
{
    arena *a = &c->nr->arena;
    memset(x, 0, sizeof(*x));
    x->group_id = cstr(c, q->group_id);
    x->member_id = cstr(c, q->member_id);
    x->member_epoch = q->member_epoch;
    x->instance_id = cstr(c, q->instance_id);
    x->rack_id = cstr(c, q->rack_id);
    x->rebalance_timeout_ms = q->rebalance_timeout_ms;
    x->ntopics = q->ntopics;
    x->topics = arena_alloc(a, sizeof(char *) * (size_t)(q->ntopics > 0 ? q->ntopics + 1 : 1));
    for (int32_t i = 0; x->topics && i < q->ntopics; i++)
        x->topics[i] = cstr(c, q->topics[i]) ? cstr(c, q->topics[i]) : "";
    x->regex = cstr(c, q->regex);
    x->assignor = cstr(c, q->server_assignor);
    x->owned = owned_list(a, q, &x->nowned);
    x->client_id = c->h.client_id.len >= 0 ? cstr(c, c->h.client_id) : "";
    x->client_host = net_conn_peer(c->nr->conn);
    x->version = c->h.api_version;
    uint8_t raw[16];
    char *fresh = arena_alloc(a, 33);
    if (!x->topics || (q->nowned >= 0 && !x->owned) || !fresh || md_new_id(raw) != 0)
        return false;
    for (int i = 0; i < 16; i++)
        snprintf(fresh + 2 * i, 3, "%02x", raw[i]);
    x->new_member_id = fresh;
    return true;
}

void handle_consumer_group_heartbeat(req_ctx *c)
{
    cg_heartbeat_req q;
    arena *a = &c->nr->arena;
    hb_op *op = arena_alloc(a, sizeof(*op));
    if (!op || cg_heartbeat_req_decode(&c->body, c->h.api_version, a, &q) != 0 ||
        q.group_id.len < 0 || q.member_id.len < 0) {
        broker_reply_malformed(c, "ConsumerGroupHeartbeat");
        return;
    }
    op->c = c;
    op->resp = (cg_heartbeat_resp){.member_epoch = -1};
    op->resp.error_code = broker_coord_error(c, false, q.group_id, ACL_OP_READ);
    cg_hb_args x;
    if (op->resp.error_code != KERR_NONE) {
        hb_reply(op, true);
        return;
    }
    if (!hb_args(c, &q, &x)) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    int nts;
    cg_topic_info *ts = topics_snapshot(c->b, a, &nts);
    cg_hb_result r;
    /* the answer is copied now: the coordinator's state it borrows may change while the
     * records become durable */
    cgroup_heartbeat(&c->b->grp.coord, &x, ts, nts, group_now_ms(), &r);
    op->resp.error_code = r.error;
    op->resp.error_message = r.message;
    op->resp.member_id = r.member_id ? arena_strndup(a, r.member_id, strlen(r.member_id)) : NULL;
    op->resp.member_epoch = r.member_epoch;
    op->resp.heartbeat_interval_ms = r.heartbeat_interval_ms;
    if (r.assignment) {
        op->assignment.topics = wire_parts(a, r.assignment, NULL, 0, &op->assignment.ntopics);
        op->resp.assignment = &op->assignment;
    }
    group_service_cg_persist(&c->b->grp, x.group_id, group_now_ms(), hb_reply, op);
}

/* ---------------- ConsumerGroupDescribe ---------------- */

static void describe_member(arena *a, const cmember *m, const cg_topic_info *ts, int nts,
                            cg_described_member *d)
{
    memset(d, 0, sizeof(*d));
    d->member_id = m->id;
    d->instance_id = m->instance_id;
    d->rack_id = m->rack_id;
    d->member_epoch = m->epoch;
    d->client_id = m->client_id ? m->client_id : "";
    d->client_host = m->client_host ? m->client_host : "";
    d->nsubscribed = m->ntopics;
    d->subscribed = (const char **)m->topics;
    d->regex = m->regex;
    d->assigned.topics = wire_parts(a, &m->assigned, ts, nts, &d->assigned.ntopics);
    d->target.topics = wire_parts(a, &m->target, ts, nts, &d->target.ntopics);
    d->member_type = 1; /* consumer protocol */
}

static void describe_group(req_ctx *c, kslice name, bool ops, const cg_topic_info *ts,
                           int nts, cg_described_group *d)
{
    arena *a = &c->nr->arena;
    memset(d, 0, sizeof(*d));
    d->group_id = cstr(c, name) ? cstr(c, name) : "";
    d->state = "";
    d->assignor = "";
    d->authorized_ops = ops ? broker_authorized_ops(c, ACL_RES_GROUP, d->group_id,
                                                    DG_GROUP_OPS_ALL)
                            : INT32_MIN;
    d->error_code = broker_coord_error(c, false, name, ACL_OP_DESCRIBE);
    if (d->error_code != KERR_NONE)
        return;
    const group *g = group_find(&c->b->grp.coord, d->group_id);
    if (!g || !g->cg) {
        d->error_code = KERR_GROUP_ID_NOT_FOUND;
        d->error_message = g ? "Group is not a consumer group." : "Group not found.";
        return;
    }
    const cgroup *cg = g->cg;
    d->state = cgroup_state_name(g);
    d->group_epoch = cg->group_epoch;
    d->assignment_epoch = cg->assignment_epoch;
    d->assignor = cg->assignor ? cg->assignor : CG_ASSIGNOR_DEFAULT;
    cg_described_member *ms = arena_alloc(a, sizeof(*ms) * (size_t)(cg->nmembers + 1));
    for (int i = 0; ms && i < cg->nmembers; i++)
        describe_member(a, cg->members[i], ts, nts, &ms[d->nmembers++]);
    d->members = ms;
}

void handle_consumer_group_describe(req_ctx *c)
{
    cg_describe_req q;
    arena *a = &c->nr->arena;
    if (cg_describe_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "ConsumerGroupDescribe");
        return;
    }
    group_service_tick(&c->b->grp, group_now_ms()); /* sessions that ended, ended */
    int nts;
    cg_topic_info *ts = topics_snapshot(c->b, a, &nts);
    cg_described_group *out = arena_alloc(a, sizeof(*out) * (size_t)(q.ngroups + 1));
    if (!out) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int32_t i = 0; i < q.ngroups; i++)
        describe_group(c, q.groups[i], q.include_ops, ts, nts, &out[i]);
    resp_begin(&c->nr->resp, &c->h);
    cg_describe_resp_encode(&c->nr->resp, c->h.api_version, out, q.ngroups);
    finish(c);
}
