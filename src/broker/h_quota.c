/* h_quota.c - client quotas at the protocol edge: DescribeClientQuotas and AlterClientQuotas
 * (KIP-546), the file <data dir>/client-quotas on a single node or one ZooKeeper znode in a
 * cluster, and the hooks Produce and Fetch call to
 * record bytes, throttle (throttle_time_ms, KIP-219) and mute a connection over its quota.
 * The quota logic itself is broker/quota.c; this file never decides a rate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "broker/broker.h"
#include "cluster/zk.h"
#include "proto/errors.h"
#include "proto/quota_msgs.h"

#define QUOTA_FILE "client-quotas"

static void quota_path(const broker *b, char *out, size_t cap)
{
    snprintf(out, cap, "%s/" QUOTA_FILE, b->cfg.data_dir);
}

int broker_quota_start(broker *b, char *err, size_t errlen)
{
    quota_init(&b->quotas, b->cfg.quota_window_num,
               (int64_t)b->cfg.quota_window_size_s * 1000);
    char path[4096];
    quota_path(b, path, sizeof(path));
    if (b->cfg.zookeeper_connect && *b->cfg.zookeeper_connect) {
        /* a cluster's quotas come from ZooKeeper (broker_quota_on_view) */
        if (access(path, F_OK) == 0)
            LOG_WARN("broker", "%s is not used in a ZooKeeper cluster (its quotas live in "
                     "ZooKeeper); set them again with AlterClientQuotas", path);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = fs_read_all(path, &text, &len);
    if (rc != 0) /* no file yet: no quotas */
        return 0;
    char why[200];
    rc = quota_load_text(&b->quotas, text, why, sizeof(why));
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (b->quotas.nentities > 0)
        LOG_INFO("broker", "%d client quota entities from %s", b->quotas.nentities, path);
    return 0;
}

static int quota_save(broker *b)
{
    size_t len;
    char *text = quota_encode(&b->quotas, &len);
    if (!text)
        return -1;
    char path[4096];
    quota_path(b, path, sizeof(path));
    int rc = fs_write_atomic(path, text, len);
    free(text);
    return rc;
}

/* ---- the request's quota identity ---- */

/* The principal's name without "User:" (ANONYMOUS when unauthenticated). */
static const char *quota_user(const req_ctx *c)
{
    const char *p = broker_principal(c);
    return strncmp(p, "User:", 5) == 0 ? p + 5 : p;
}

static const char *quota_client(req_ctx *c)
{
    kslice id = c->h.client_id;
    if (id.len <= 0)
        return "";
    const char *s = arena_strndup(&c->nr->arena, id.p, (size_t)id.len);
    return s ? s : "";
}

int32_t broker_quota_produce(req_ctx *c, size_t bytes)
{
    if (c->b->quotas.nentities == 0)
        return 0;
    int64_t t = quota_record(&c->b->quotas, quota_user(c), quota_client(c), QUOTA_PRODUCE,
                             (double)bytes, clock_mono_us() / 1000);
    if (t > 0)
        net_conn_mute(c->nr->conn, (uint32_t)t);
    return (int32_t)t;
}

int64_t broker_quota_fetch_max(req_ctx *c)
{
    if (c->b->quotas.nentities == 0)
        return -1;
    double m = quota_max_in_window(&c->b->quotas, quota_user(c), quota_client(c), QUOTA_FETCH);
    return m < 0 ? -1 : m >= 9.2e18 ? INT64_MAX : (int64_t)m; /* no cast past INT64_MAX */
}

int32_t broker_quota_fetch(req_ctx *c, size_t bytes)
{
    if (c->b->quotas.nentities == 0)
        return 0;
    const char *user = quota_user(c), *client = quota_client(c);
    int64_t now = clock_mono_us() / 1000;
    int64_t t = quota_record(&c->b->quotas, user, client, QUOTA_FETCH, (double)bytes, now);
    if (t > 0) { /* Kafka: the answer goes out empty, so its bytes do not count */
        quota_unrecord(&c->b->quotas, user, client, QUOTA_FETCH, (double)bytes, now);
        net_conn_mute(c->nr->conn, (uint32_t)t);
    }
    return (int32_t)t;
}

/* ---- metrics ---- */

typedef struct metrics_walk {
    wr *w;
    bool throttle;
} metrics_walk;

static void metrics_one(void *ctx, const char *user, const char *client, int kind,
                        uint64_t bytes, uint64_t throttle_ms)
{
    metrics_walk *m = ctx;
    char u[128], cl[128], labels[320];
    snprintf(labels, sizeof(labels), "user=\"%s\",client_id=\"%s\",kind=\"%s\"",
             metrics_label_value(user, u, sizeof(u)), metrics_label_value(client, cl, sizeof(cl)),
             kind == QUOTA_PRODUCE ? "produce" : "fetch");
    if (m->throttle)
        metrics_sample(m->w, "brook_quota_throttle_seconds_total", labels,
                       (double)throttle_ms / 1000.0);
    else
        metrics_sample(m->w, "brook_quota_bytes_total", labels, (double)bytes);
}

void broker_quota_metrics(const broker *b, wr *w)
{
    metrics_walk m = {w, false};
    metrics_header(w, "brook_quota_bytes_total", "counter",
                   "bytes counted against a client quota, per quota window (user and client "
                   "id as the matched quota entity has them, else empty)");
    quota_each_sensor(&b->quotas, metrics_one, &m);
    m.throttle = true;
    metrics_header(w, "brook_quota_throttle_seconds_total", "counter",
                   "throttle time given to clients over a quota, per quota window");
    quota_each_sensor(&b->quotas, metrics_one, &m);
}

/* ---- DescribeClientQuotas ---- */

/* Which part (0 user, 1 client-id) an entity type names; -1 for ip, -2 for anything else. */
static int entity_type_index(const char *type)
{
    if (strcmp(type, "user") == 0)
        return 0;
    if (strcmp(type, "client-id") == 0)
        return 1;
    return strcmp(type, "ip") == 0 ? -1 : -2;
}

/* Does an entity part match a filter component (NULL: none for this type)? */
static bool part_matches(const cq_component *f, bool strict, int part, const char *name)
{
    if (!f)
        return part == QUOTA_ABSENT || !strict;
    switch (f->match_type) {
    case QUOTA_MATCH_EXACT: return part == QUOTA_NAME && strcmp(name, f->match) == 0;
    case QUOTA_MATCH_DEFAULT: return part == QUOTA_DEFAULT;
    default: return part != QUOTA_ABSENT;
    }
}

/* Checks the filter; fills by_type[2] (user, client-id). *ip: an ip component (no entity of
 * Brook's has one, so nothing matches). Returns KERR_NONE or INVALID_REQUEST with *msg. */
static int16_t describe_filter(const describe_cq_req *q, const cq_component *by_type[2],
                               bool *ip, const char **msg)
{
    by_type[0] = by_type[1] = NULL;
    *ip = false;
    for (int32_t i = 0; i < q->ncomponents; i++) {
        const cq_component *f = &q->components[i];
        int t = entity_type_index(f->entity_type);
        if (f->match_type < QUOTA_MATCH_EXACT || f->match_type > QUOTA_MATCH_ANY) {
            *msg = "unknown match type";
            return KERR_INVALID_REQUEST;
        }
        if (f->match_type == QUOTA_MATCH_EXACT && !f->match) {
            *msg = "an exact match needs a name";
            return KERR_INVALID_REQUEST;
        }
        if (t == -2) {
            *msg = "custom entity types are not supported";
            return KERR_INVALID_REQUEST;
        }
        if (t == -1) {
            *ip = true;
            continue;
        }
        if (by_type[t]) {
            *msg = "duplicate filter component entity type";
            return KERR_INVALID_REQUEST;
        }
        by_type[t] = f;
    }
    return KERR_NONE;
}

/* The response entry of one entity (its parts and set rates), in the arena. */
static int entry_of(arena *a, const quota_entity *e, cq_entry *out)
{
    out->entity = arena_alloc(a, sizeof(cq_entity) * 2);
    out->values = arena_alloc(a, sizeof(cq_value) * QUOTA_KINDS);
    if (!out->entity || !out->values)
        return -1;
    out->nentity = 0;
    if (e->user_part != QUOTA_ABSENT)
        out->entity[out->nentity++] = (cq_entity){"user", e->user};
    if (e->client_part != QUOTA_ABSENT)
        out->entity[out->nentity++] = (cq_entity){"client-id", e->client};
    out->nvalues = 0;
    for (int k = 0; k < QUOTA_KINDS; k++)
        if (e->rate[k] >= 0)
            out->values[out->nvalues++] = (cq_value){quota_key_name(k),
                                                     quota_msgs_bits(e->rate[k])};
    return 0;
}

static void describe_reply(req_ctx *c, const describe_cq_resp *m)
{
    resp_begin(&c->nr->resp, &c->h);
    describe_cq_resp_encode(&c->nr->resp, c->h.api_version, m);
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

void handle_describe_client_quotas(req_ctx *c)
{
    arena *a = &c->nr->arena;
    describe_cq_req q;
    if (describe_cq_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "DescribeClientQuotas");
        return;
    }
    describe_cq_resp m = {0, KERR_NONE, NULL, -1, NULL};
    const cq_component *by_type[2];
    bool ip;
    if (!broker_may_cluster(c, ACL_OP_DESCRIBE_CONFIGS)) {
        m.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
        m.error_message = "DESCRIBE_CONFIGS on the cluster is needed";
    } else {
        m.error_code = describe_filter(&q, by_type, &ip, &m.error_message);
    }
    if (m.error_code != KERR_NONE) {
        describe_reply(c, &m);
        return;
    }
    const quota_mgr *qm = &c->b->quotas;
    m.nentries = 0;
    m.entries = arena_alloc(a, sizeof(cq_entry) * (size_t)(qm->nentities ? qm->nentities : 1));
    if (!m.entries) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int i = 0; i < qm->nentities && !ip; i++) {
        const quota_entity *e = &qm->entities[i];
        if (!part_matches(by_type[0], q.strict, e->user_part, e->user) ||
            !part_matches(by_type[1], q.strict, e->client_part, e->client))
            continue;
        if (entry_of(a, e, &m.entries[m.nentries++]) != 0) {
            net_request_fail(c->nr, "out of memory");
            return;
        }
    }
    describe_reply(c, &m);
}

/* ---- AlterClientQuotas ---- */

/* An entry's entity as parts; KERR_NONE or INVALID_REQUEST with *msg. */
static int16_t alter_entity(const alter_cq_entry *e, int part[2], const char *name[2],
                            const char **msg)
{
    part[0] = part[1] = QUOTA_ABSENT;
    name[0] = name[1] = NULL;
    if (e->nentity == 0) {
        *msg = "an entity needs at least one entity type";
        return KERR_INVALID_REQUEST;
    }
    for (int32_t i = 0; i < e->nentity; i++) {
        int t = entity_type_index(e->entity[i].entity_type);
        if (t == -1) {
            *msg = "ip quotas (connection_creation_rate) are not supported by Brook";
            return KERR_INVALID_REQUEST;
        }
        if (t == -2) {
            *msg = "custom entity types are not supported";
            return KERR_INVALID_REQUEST;
        }
        if (part[t] != QUOTA_ABSENT) {
            *msg = "duplicate entity type";
            return KERR_INVALID_REQUEST;
        }
        name[t] = e->entity[i].entity_name;
        part[t] = name[t] ? QUOTA_NAME : QUOTA_DEFAULT;
    }
    return KERR_NONE;
}

/* One op's key and value; KERR_NONE or INVALID_REQUEST with *msg (in the arena). */
static int16_t alter_op(arena *a, const alter_cq_entry *e, int32_t i, const char **msg)
{
    const cq_op *op = &e->ops[i];
    int kind = quota_key_kind(op->key);
    char buf[200];
    if (kind == -2)
        snprintf(buf, sizeof(buf), "unknown quota key '%s'", op->key);
    else if (kind == -1)
        snprintf(buf, sizeof(buf), "Brook does not enforce %s quotas; only producer_byte_rate "
                 "and consumer_byte_rate", op->key);
    for (int32_t k = 0; kind >= 0 && k < i; k++)
        if (strcmp(e->ops[k].key, op->key) == 0) {
            snprintf(buf, sizeof(buf), "quota key '%s' given twice", op->key);
            kind = -3;
        }
    double v = quota_msgs_f64(op->value_bits);
    /* up to 2^63: Kafka's "unlimited" Long.MAX_VALUE arrives as that double */
    if (kind >= 0 && !op->remove &&
        (!isfinite(v) || v < 0 || v > 9223372036854775808.0 || floor(v) != v)) {
        snprintf(buf, sizeof(buf), "%s must be a whole number of bytes per second >= 0, not %g",
                 op->key, v);
        kind = -3;
    }
    if (kind >= 0)
        return KERR_NONE;
    *msg = arena_strndup(a, buf, strlen(buf));
    if (!*msg)
        *msg = "invalid quota";
    return KERR_INVALID_REQUEST;
}

/* Validates one entry (its error set) and, unless validate_only, applies it to q. Returns
 * true when it changed q. */
static bool alter_one(arena *a, quota_mgr *q, alter_cq_entry *e, bool validate_only)
{
    int part[2];
    const char *name[2];
    e->error_code = alter_entity(e, part, name, &e->error_message);
    for (int32_t i = 0; e->error_code == KERR_NONE && i < e->nops; i++)
        e->error_code = alter_op(a, e, i, &e->error_message);
    if (e->error_code != KERR_NONE || validate_only)
        return false;
    bool changed = false;
    for (int32_t i = 0; i < e->nops; i++) {
        const cq_op *op = &e->ops[i];
        double v = op->remove ? -1 : quota_msgs_f64(op->value_bits);
        if (quota_set(q, part[0], name[0], part[1], name[1], quota_key_kind(op->key), v) != 0) {
            e->error_code = KERR_UNKNOWN_SERVER_ERROR;
            e->error_message = "out of memory (or too many quota entities)";
            break;
        }
        changed = true;
    }
    return changed;
}

/* Every entry of r against q (each entry's error set). Returns true when q changed. */
static bool alter_all(arena *a, quota_mgr *q, alter_cq_req *r)
{
    bool changed = false;
    for (int32_t i = 0; i < r->nentries; i++) {
        r->entries[i].error_message = NULL;
        changed = alter_one(a, q, &r->entries[i], r->validate_only) || changed;
    }
    return changed;
}

/* Every entry that succeeded gets err and msg instead (the change did not take). */
static void fail_applied(alter_cq_req *r, int16_t err, const char *msg)
{
    for (int32_t i = 0; i < r->nentries; i++)
        if (r->entries[i].error_code == KERR_NONE) {
            r->entries[i].error_code = err;
            r->entries[i].error_message = msg;
        }
}

/* On one node: applied to b->quotas and written to the quota file; nothing changes unless
 * it is on disk. */
static bool alter_local(req_ctx *c, alter_cq_req *r)
{
    broker *b = c->b;
    size_t len = 0;
    char *before = quota_encode(&b->quotas, &len);
    if (!before) {
        fail_applied(r, KERR_UNKNOWN_SERVER_ERROR, "out of memory");
        return false;
    }
    bool changed = alter_all(&c->nr->arena, &b->quotas, r);
    if (changed && quota_save(b) != 0) {
        char err[160];
        LOG_ERROR("broker", "cannot write %s/" QUOTA_FILE "; client quotas unchanged",
                  b->cfg.data_dir);
        if (quota_load_text(&b->quotas, before, err, sizeof(err)) != 0)
            LOG_ERROR("broker", "client quotas: the previous set does not load back: %s", err);
        fail_applied(r, KERR_KAFKA_STORAGE_ERROR, "cannot write the quota file");
        changed = false;
    }
    free(before);
    return changed;
}

/* zk_text_update's edit for AlterClientQuotas: the request applied to a copy of the text. */
typedef struct quota_edit {
    req_ctx *c;
    alter_cq_req *r;
    bool changed;
} quota_edit;

static int16_t quota_edit_text(void *ctx, const char *text, char **next)
{
    quota_edit *e = ctx;
    broker *b = e->c->b;
    char why[200];
    quota_mgr tmp;
    quota_init(&tmp, b->quotas.samples, b->quotas.sample_ms);
    if (text && quota_load_text(&tmp, text, why, sizeof(why)) != 0) {
        LOG_ERROR("broker", "the client quotas in ZooKeeper do not load: %s", why);
        quota_free(&tmp);
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    e->changed = alter_all(&e->c->nr->arena, &tmp, e->r);
    size_t len;
    *next = e->changed ? quota_encode(&tmp, &len) : NULL; /* refused or validate_only: none */
    quota_free(&tmp);
    return e->changed && !*next ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
}

/* In a cluster the quotas live in one ZooKeeper znode (every node applies them from its
 * views, each enforcing them on its own traffic, as Kafka's brokers do): changed with a
 * version-checked read-modify-write, then applied here from the view that carries it. */
static bool alter_cluster(req_ctx *c, alter_cq_req *r)
{
    broker *b = c->b;
    quota_edit e = {c, r, false};
    bool written = false;
    int16_t err = b->zk ? zk_text_update(b->zk, ZK_TEXT_QUOTAS, quota_edit_text, &e, &written)
                        : KERR_REQUEST_TIMED_OUT;
    if (err == KERR_NONE && !written)
        return false; /* refused entries or validate_only: nothing to write */
    if (err == KERR_NONE) {
        (void)zk_refresh_sync(b->zk, 5000); /* applied here from the view, as elsewhere */
        return true;
    }
    fail_applied(r, err == KERR_CONCURRENT_TRANSACTIONS ? KERR_REQUEST_TIMED_OUT : err,
                 err == KERR_CONCURRENT_TRANSACTIONS
                     ? "the client quotas kept changing concurrently; retry"
                     : "cannot write the client quotas to ZooKeeper (see the broker log)");
    return false;
}

void broker_quota_on_view(broker *b, const cluster_view *old, const cluster_view *v)
{
    const char *text = v->quota_text ? v->quota_text : "";
    if (old && strcmp(old->quota_text ? old->quota_text : "", text) == 0)
        return;
    char why[200];
    if (quota_load_text(&b->quotas, text, why, sizeof(why)) != 0)
        LOG_ERROR("broker", "the client quotas in ZooKeeper do not load (%s); keeping the %d "
                  "entities known before", why, b->quotas.nentities);
    else
        LOG_INFO("broker", "client quotas from ZooKeeper: %d entities", b->quotas.nentities);
}

void handle_alter_client_quotas(req_ctx *c)
{
    broker *b = c->b;
    alter_cq_req q;
    if (alter_cq_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "AlterClientQuotas");
        return;
    }
    bool changed = false;
    if (!broker_may_cluster(c, ACL_OP_ALTER_CONFIGS)) {
        for (int32_t i = 0; i < q.nentries; i++) {
            q.entries[i].error_code = KERR_CLUSTER_AUTHORIZATION_FAILED;
            q.entries[i].error_message = "ALTER_CONFIGS on the cluster is needed";
        }
    } else {
        changed = broker_clustered(b) ? alter_cluster(c, &q) : alter_local(c, &q);
    }
    if (changed)
        LOG_INFO("broker", "%s changed client quotas: %d entities now", broker_principal(c),
                 b->quotas.nentities);
    resp_begin(&c->nr->resp, &c->h);
    alter_cq_resp_encode(&c->nr->resp, c->h.api_version, 0, &q);
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}
