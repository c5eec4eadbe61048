/* h_meta.c - ApiVersions and Metadata. */
#include <string.h>

#include "base/assert.h"
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
    /* The feature levels this broker serves, finalized at once (there is no older node
     * to wait for): transactions v2 (KIP-890) and the KIP-848 consumer group protocol. A
     * Kafka 4 client turns transactions v2 on when transaction.version is finalized at 2. */
    static const apiv_feature features[] = {{"group.version", 0, 1},
                                            {"transaction.version", 0, 2}};
    static const apiv_feature finalized[] = {{"group.version", 1, 1},
                                             {"transaction.version", 2, 2}};
    resp_begin(&c->nr->resp, &c->h);
    apiversions_resp_encode_features(&c->nr->resp, v, KERR_NONE, features,
                                     (int)BROOK_ARRAY_LEN(features), 1, finalized,
                                     (int)BROOK_ARRAY_LEN(finalized));
    finish(c);
}

static void fill_topic(broker *b, md_topic *mt, topic *t, arena *a)
{
    mt->name = kslice_cstr(t->name);
    memcpy(mt->id, t->id, sizeof(mt->id));
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
    memcpy(mt->id, ct->id, sizeof(mt->id));
    mt->is_internal = kafka_topic_internal(ct->name);
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

/* Kafka's rules for topic ids in a request (KafkaApis.handleTopicMetadataRequest): v10 and
 * v11 carry the fields but may use neither, a null name or a non-zero id there is
 * INVALID_REQUEST; from v12 a request naming any topic by id is answered for its ids. */
static bool ids_misused(const metadata_req *q, int16_t v)
{
    for (int32_t i = 0; v >= 10 && v < 12 && i < q->ntopics; i++)
        if (q->topics[i].name.len < 0 || !md_id_is_zero(q->topics[i].id))
            return true;
    return false;
}

static bool by_id(const metadata_req *q, int16_t v)
{
    for (int32_t i = 0; v >= 12 && i < q->ntopics; i++)
        if (!md_id_is_zero(q->topics[i].id))
            return true;
    return false;
}

/* KIP-430 with ACLs: what the principal may do to each topic and to the cluster. */
static void authorized_ops(req_ctx *c, metadata_resp *m)
{
    m->ops_given = true;
    m->cluster_ops = m->include_cluster_ops ? broker_authorized_ops(c, ACL_RES_CLUSTER,
                                                                    SEC_ACL_CLUSTER_NAME,
                                                                    MD_CLUSTER_OPS_ALL)
                                            : INT32_MIN;
    for (int32_t i = 0; i < m->ntopics; i++) {
        md_topic *t = &m->topics[i];
        const char *name = t->name.len >= 0 ? arena_strndup(&c->nr->arena, t->name.p,
                                                            (size_t)t->name.len)
                                            : NULL;
        t->authorized_ops = m->include_topic_ops && name && t->error_code == KERR_NONE
                                ? broker_authorized_ops(c, ACL_RES_TOPIC, name, MD_TOPIC_OPS_ALL)
                                : INT32_MIN;
    }
}

static void reply_metadata(req_ctx *c, metadata_resp *m)
{
    resp_begin(&c->nr->resp, &c->h);
    metadata_resp_encode(&c->nr->resp, c->h.api_version, m);
}

/* Kafka's answer to a request it refuses (MetadataRequest.getErrorResponse): each topic
 * asked about with the error, no brokers, no cluster id, no controller. */
static void reply_error(req_ctx *c, const metadata_req *q, int16_t err)
{
    metadata_resp m = {0};
    m.controller_id = -1;
    m.ntopics = q->ntopics > 0 ? q->ntopics : 0;
    m.topics = arena_alloc(&c->nr->arena, sizeof(md_topic) * (size_t)(m.ntopics + 1));
    if (!m.topics) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int32_t i = 0; i < m.ntopics; i++) {
        m.topics[i].error_code = err;
        m.topics[i].name = q->topics[i].name;
        memcpy(m.topics[i].id, q->topics[i].id, sizeof(m.topics[i].id));
    }
    reply_metadata(c, &m);
    finish(c);
}

/* A v12+ request by topic id: one answer per id asked about, the topic (found by find) or
 * UNKNOWN_TOPIC_ID with a null name; entries naming no id are ignored, as Kafka does. */
static int32_t fill_by_id(broker *b, const metadata_req *q, const cluster_view *v,
                          md_topic *out, arena *a)
{
    int32_t k = 0;
    for (int32_t i = 0; i < q->ntopics; i++) {
        const uint8_t *id = q->topics[i].id;
        if (md_id_is_zero(id))
            continue;
        md_topic *mt = &out[k++];
        const cv_topic *ct = v ? cv_topic_find_id(v, id) : NULL;
        topic *t = v ? NULL : md_find_id(&b->md, id);
        if (ct)
            fill_cluster_topic(mt, ct, a);
        else if (t)
            fill_topic(b, mt, t, a);
        else {
            mt->error_code = KERR_UNKNOWN_TOPIC_ID;
            mt->name = KSLICE_NULL;
            memcpy(mt->id, id, sizeof(mt->id));
        }
    }
    return k;
}

/* Whether the principal may have the named topic auto-created: DESCRIBE on it, and CREATE
 * on the cluster or on it (as on one node). */
static bool may_auto_create(req_ctx *c, kslice name)
{
    return broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, name) &&
           (broker_sees(c, ACL_OP_CREATE, ACL_RES_CLUSTER, SEC_ACL_CLUSTER_NAME) ||
            broker_may_slice(c, ACL_OP_CREATE, ACL_RES_TOPIC, name));
}

/* Cluster mode: every live broker, the controller, every partition's leader; topics the
 * principal may not describe are left out, refused, or unknown (by id), as on one node. */
static void handle_metadata_cluster(req_ctx *c, metadata_req *q)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    bool ids = by_id(q, c->h.api_version);
    cluster_refresh_now(b);
    /* Auto-creation first: each refreshes the view, which must stay put while we fill. */
    for (int32_t i = 0; b->view && !ids && q->allow_auto_create &&
                        b->cfg.auto_create_topics_enable && i < q->ntopics; i++) {
        const char *why, *msg;
        kslice name = q->topics[i].name;
        if (md_topic_name_valid(name, &why) &&
            !cv_topic_find(b->view, (const char *)name.p, (size_t)name.len) &&
            may_auto_create(c, name))
            cluster_topic_create(b, name, b->cfg.num_partitions, -1, 0, NULL, NULL, NULL,
                                 false, &msg, NULL);
    }
    cluster_view *v = b->view;
    if (v)
        cv_ref(v);
    metadata_resp m = {0};
    md_broker self = {b->cfg.node_id, NULL, 0, NULL};
    broker_self_address(c, &self.host, &self.port);
    m.cluster_id = b->cfg.cluster_id;
    m.controller_id = v ? v->controller : -1;
    m.include_topic_ops = q->include_topic_ops;
    m.include_cluster_ops = q->include_cluster_ops;
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
        m.brokers[i] = broker_node_address(c, &v->brokers[i]);
    memset(m.topics, 0, sizeof(md_topic) * (size_t)(n ? n : 1));
    int32_t k = 0;
    for (const cv_topic *ct = v && q->ntopics < 0 ? v->topics : NULL; ct; ct = ct->hh.next)
        if (broker_sees(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, ct->name)) /* ACLs hide it */
            fill_cluster_topic(&m.topics[k++], ct, a);
    if (q->ntopics < 0)
        m.ntopics = k;
    if (ids) {
        static const cluster_view none = {0}; /* no view yet: every id is unknown */
        m.ntopics = fill_by_id(b, q, v ? v : &none, m.topics, a);
        for (int32_t i = 0; i < m.ntopics; i++) /* as if unknown: ids reveal nothing */
            if (m.topics[i].error_code == KERR_NONE &&
                !broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, m.topics[i].name))
                m.topics[i] = (md_topic){.error_code = KERR_UNKNOWN_TOPIC_ID,
                                         .name = KSLICE_NULL};
    }
    for (int32_t i = 0; !ids && q->ntopics >= 0 && i < q->ntopics; i++) {
        md_topic *mt = &m.topics[i];
        mt->name = q->topics[i].name;
        const char *why;
        bool valid = md_topic_name_valid(mt->name, &why); /* a null name: not looked up */
        const cv_topic *ct = valid ? cv_topic_find(v, (const char *)mt->name.p,
                                                   (size_t)mt->name.len)
                                   : NULL;
        if (!valid)
            mt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
        else if (!ct && v && q->allow_auto_create && b->cfg.auto_create_topics_enable
                     ? !may_auto_create(c, mt->name)
                     : !broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, mt->name))
            mt->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        else if (ct)
            fill_cluster_topic(mt, ct, a);
        else if (v && q->allow_auto_create && b->cfg.auto_create_topics_enable)
            mt->error_code = KERR_LEADER_NOT_AVAILABLE; /* being created: retry */
        else
            mt->error_code = v ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_LEADER_NOT_AVAILABLE;
    }
    authorized_ops(c, &m);
    reply_metadata(c, &m);
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
    if (ids_misused(&q, v)) {
        reply_error(c, &q, KERR_INVALID_REQUEST);
        return;
    }
    if (broker_clustered(b)) {
        handle_metadata_cluster(c, &q);
        return;
    }
    metadata_resp m = {0};
    md_broker self = {b->cfg.node_id, NULL, 0, NULL};
    broker_self_address(c, &self.host, &self.port);
    m.nbrokers = 1;
    m.brokers = &self;
    m.cluster_id = b->cfg.cluster_id;
    m.controller_id = b->cfg.node_id;
    m.include_topic_ops = q.include_topic_ops;
    m.include_cluster_ops = q.include_cluster_ops;
    if (q.ntopics >= 0 && by_id(&q, v)) {
        m.topics = arena_alloc(a, sizeof(md_topic) * (size_t)(q.ntopics + 1));
        if (!m.topics) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
        m.ntopics = fill_by_id(b, &q, NULL, m.topics, a);
        for (int32_t i = 0; i < m.ntopics; i++) /* as if unknown: ids reveal nothing */
            if (m.topics[i].error_code == KERR_NONE &&
                !broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, m.topics[i].name))
                m.topics[i] = (md_topic){.error_code = KERR_UNKNOWN_TOPIC_ID,
                                         .name = KSLICE_NULL};
    } else if (q.ntopics < 0) {
        m.ntopics = (int32_t)md_count(&b->md);
        m.topics = arena_alloc(a, sizeof(md_topic) * (size_t)(m.ntopics ? m.ntopics : 1));
        if (!m.topics) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
        int32_t i = 0;
        for (topic *t = b->md.topics; t; t = t->hh.next)
            if (broker_sees(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, t->name)) /* ACLs hide it */
                fill_topic(b, &m.topics[i++], t, a);
        m.ntopics = i;
    } else {
        m.ntopics = q.ntopics;
        m.topics = arena_alloc(a, sizeof(md_topic) * (size_t)(q.ntopics ? q.ntopics : 1));
        if (!m.topics) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
        for (int32_t i = 0; i < q.ntopics; i++) {
            md_topic *mt = &m.topics[i];
            mt->name = q.topics[i].name;
            topic *t = md_find(&b->md, mt->name);
            const char *why;
            if (!t && !md_topic_name_valid(mt->name, &why)) {
                mt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
                continue;
            }
            if (!broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, mt->name) ||
                (!t && q.allow_auto_create && b->cfg.auto_create_topics_enable &&
                 !broker_sees(c, ACL_OP_CREATE, ACL_RES_CLUSTER, SEC_ACL_CLUSTER_NAME) &&
                 !broker_may_slice(c, ACL_OP_CREATE, ACL_RES_TOPIC, mt->name))) {
                mt->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
                continue;
            }
            if (!t && q.allow_auto_create && b->cfg.auto_create_topics_enable) {
                const char *msg;
                int16_t err = broker_topic_create(b, mt->name, b->cfg.num_partitions, 0, NULL,
                                                  NULL, false, &msg);
                if (err != KERR_NONE && err != KERR_TOPIC_ALREADY_EXISTS) {
                    mt->error_code = err;
                    continue;
                }
                t = md_find(&b->md, mt->name);
            }
            if (!t) {
                mt->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            fill_topic(b, mt, t, a);
        }
    }
    if (broker_authz_on(b))
        authorized_ops(c, &m);
    reply_metadata(c, &m);
    finish(c);
}
