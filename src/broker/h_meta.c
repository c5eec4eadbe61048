/* h_meta.c - ApiVersions and Metadata. */
#include <string.h>

#include "base/log.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "proto/errors.h"
#include "proto/msgs.h"

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

void handle_api_versions(req_ctx *c)
{
    const api_info *self = api_lookup(API_API_VERSIONS);
    int16_t v = c->h.api_version;
    if (v < self->min_version || v > self->max_version) {
        /* Answer in v0 shape with our list, so the client can pick a version it shares. */
        c->h.flexible = false;
        resp_begin(&c->nr->resp, &c->h);
        apiversions_resp_encode(&c->nr->resp, 0, KERR_UNSUPPORTED_VERSION);
        finish(c);
        return;
    }
    apiversions_req q;
    if (apiversions_req_decode(&c->body, v, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "ApiVersions");
        return;
    }
    resp_begin(&c->nr->resp, &c->h);
    apiversions_resp_encode(&c->nr->resp, v, KERR_NONE);
    finish(c);
}

static void fill_topic(broker *b, md_topic *mt, topic *t, arena *a)
{
    mt->name = kslice_cstr(t->name);
    mt->is_internal = t->internal;
    mt->npartitions = t->npartitions;
    mt->partitions = arena_alloc(a, sizeof(md_partition) * (size_t)t->npartitions);
    int32_t *self = arena_alloc(a, sizeof(int32_t));
    if (!mt->partitions || !self) {
        mt->npartitions = 0;
        mt->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    *self = b->cfg.node_id;
    for (int32_t i = 0; i < t->npartitions; i++) {
        md_partition *p = &mt->partitions[i];
        p->index = i;
        p->leader = b->cfg.node_id;
        p->leader_epoch = 0;
        p->nreplicas = p->nisr = 1;
        p->replicas = p->isr = self;
        p->error_code = t->parts[i]->log->failed ? KERR_KAFKA_STORAGE_ERROR : KERR_NONE;
    }
}

/* Cluster mode: a topic as the ZooKeeper view describes it. */
static void fill_cluster_topic(md_topic *mt, const cv_topic *ct, arena *a)
{
    mt->name = kslice_cstr(ct->name);
    mt->is_internal = strcmp(ct->name, TXN_LOG_TOPIC) == 0 ||
                      strcmp(ct->name, GROUP_LOG_TOPIC) == 0;
    mt->npartitions = ct->nparts;
    mt->partitions = arena_alloc(a, sizeof(md_partition) * (size_t)ct->nparts);
    if (!mt->partitions) {
        mt->npartitions = 0;
        mt->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    for (int32_t i = 0; i < ct->nparts; i++) {
        md_partition *p = &mt->partitions[i];
        const cv_part *cp = &ct->parts[i];
        p->index = i;
        p->leader = cp->leader;
        p->leader_epoch = cp->leader_epoch;
        p->nreplicas = cp->nreplicas;
        p->replicas = cp->replicas;
        p->nisr = cp->isr.n;
        p->isr = cp->isr.id;
        p->error_code = cp->leader >= 0 ? KERR_NONE : KERR_LEADER_NOT_AVAILABLE;
    }
}

/* Cluster mode: every live broker, the controller, every partition's leader. */
static void handle_metadata_cluster(req_ctx *c, metadata_req *q)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    cluster_refresh_now(b);
    /* Auto-creation first: each refreshes the view, which must stay put while we fill. */
    for (int32_t i = 0; b->view && q->allow_auto_create && b->cfg.auto_create_topics_enable &&
                        i < q->ntopics; i++) {
        const char *why, *msg;
        if (md_topic_name_valid(q->topics[i], &why) &&
            !cv_topic_find(b->view, (const char *)q->topics[i].p, (size_t)q->topics[i].len))
            cluster_topic_create(b, q->topics[i], b->cfg.num_partitions, -1, 0, NULL, NULL, false,
                                 &msg);
    }
    cluster_view *v = b->view;
    if (v)
        cv_ref(v);
    metadata_resp m = {0};
    md_broker self = {b->cfg.node_id, b->cfg.adv_host, b->cfg.adv_port, NULL};
    m.cluster_id = b->cfg.cluster_id;
    m.controller_id = v ? v->controller : -1;
    m.nbrokers = v && v->nbrokers ? v->nbrokers : 1;
    m.brokers = v && v->nbrokers ? arena_alloc(a, sizeof(md_broker) * (size_t)v->nbrokers) : &self;
    int32_t n = q->ntopics < 0 ? (v ? (int32_t)HASH_COUNT(v->topics) : 0) : q->ntopics;
    m.ntopics = n;
    m.topics = arena_alloc(a, sizeof(md_topic) * (size_t)(n ? n : 1));
    if (!m.brokers || !m.topics) {
        cv_unref(v);
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int i = 0; v && i < v->nbrokers; i++)
        m.brokers[i] = (md_broker){v->brokers[i].id, v->brokers[i].host, v->brokers[i].port,
                                   NULL};
    memset(m.topics, 0, sizeof(md_topic) * (size_t)(n ? n : 1));
    int32_t k = 0;
    for (const cv_topic *ct = v && q->ntopics < 0 ? v->topics : NULL; ct; ct = ct->hh.next)
        fill_cluster_topic(&m.topics[k++], ct, a);
    for (int32_t i = 0; q->ntopics >= 0 && i < q->ntopics; i++) {
        md_topic *mt = &m.topics[i];
        mt->name = q->topics[i];
        const char *why;
        const cv_topic *ct = cv_topic_find(v, (const char *)q->topics[i].p,
                                           (size_t)q->topics[i].len);
        if (!md_topic_name_valid(q->topics[i], &why))
            mt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
        else if (ct)
            fill_cluster_topic(mt, ct, a);
        else if (v && q->allow_auto_create && b->cfg.auto_create_topics_enable)
            mt->error_code = KERR_LEADER_NOT_AVAILABLE; /* being created: retry */
        else
            mt->error_code = v ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_LEADER_NOT_AVAILABLE;
    }
    resp_begin(&c->nr->resp, &c->h);
    metadata_resp_encode(&c->nr->resp, c->h.api_version, &m);
    cv_unref(v);
    finish(c);
}

void handle_metadata(req_ctx *c)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    metadata_req q;
    int16_t v = c->h.api_version;
    if (metadata_req_decode(&c->body, v, a, &q) != 0) {
        broker_reply_malformed(c, "Metadata");
        return;
    }
    if (broker_clustered(b)) {
        handle_metadata_cluster(c, &q);
        return;
    }
    metadata_resp m = {0};
    md_broker self = {b->cfg.node_id, b->cfg.adv_host, b->cfg.adv_port, NULL};
    m.nbrokers = 1;
    m.brokers = &self;
    m.cluster_id = b->cfg.cluster_id;
    m.controller_id = b->cfg.node_id;
    if (q.ntopics < 0) {
        m.ntopics = (int32_t)md_count(&b->md);
        m.topics = arena_alloc(a, sizeof(md_topic) * (size_t)(m.ntopics ? m.ntopics : 1));
        if (!m.topics) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
        int32_t i = 0;
        for (topic *t = b->md.topics; t; t = t->hh.next)
            fill_topic(b, &m.topics[i++], t, a);
    } else {
        m.ntopics = q.ntopics;
        m.topics = arena_alloc(a, sizeof(md_topic) * (size_t)(q.ntopics ? q.ntopics : 1));
        if (!m.topics) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
        for (int32_t i = 0; i < q.ntopics; i++) {
            md_topic *mt = &m.topics[i];
            mt->name = q.topics[i];
            topic *t = md_find(&b->md, q.topics[i]);
            const char *why;
            if (!t && !md_topic_name_valid(q.topics[i], &why)) {
                mt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
                continue;
            }
            if (!t && q.allow_auto_create && b->cfg.auto_create_topics_enable) {
                const char *msg;
                int16_t err = broker_topic_create(b, q.topics[i], b->cfg.num_partitions, 0, NULL,
                                                  NULL, false, &msg);
                if (err != KERR_NONE && err != KERR_TOPIC_ALREADY_EXISTS) {
                    mt->error_code = err;
                    continue;
                }
                t = md_find(&b->md, q.topics[i]);
            }
            if (!t) {
                mt->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            fill_topic(b, mt, t, a);
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    metadata_resp_encode(&c->nr->resp, v, &m);
    finish(c);
}
