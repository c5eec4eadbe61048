/* h_admin.c - topic administration: CreateTopics, DeleteTopics, CreatePartitions,
 * DeleteRecords, DescribeConfigs, AlterConfigs. Each change is durable (registry file
 * replaced atomically, log start offset persisted) before it is answered. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "broker/broker.h"
#include "proto/errors.h"
#include "proto/msgs.h"
#include "repl/repl.h"

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

/* Copies kv pairs into NUL-terminated arena strings; NULL on a null name/value. */
static int kv_to_cstrs(arena *a, int n, const kv_pair *kv, char ***keys, char ***values)
{
    *keys = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
    *values = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
    if (!*keys || !*values)
        return -1;
    for (int i = 0; i < n; i++) {
        if (kv[i].name.len < 0 || kv[i].value.len < 0)
            return -1;
        (*keys)[i] = arena_strndup(a, kv[i].name.p, (size_t)kv[i].name.len);
        (*values)[i] = arena_strndup(a, kv[i].value.p, (size_t)kv[i].value.len);
        if (!(*keys)[i] || !(*values)[i])
            return -1;
    }
    return 0;
}

/* Kafka's type of a topic key: INT for int32 ranges, LONG beyond. */
static int8_t topic_key_type(const topic_key_info *k)
{
    switch (k->kind) {
    case TK_INT: return k->hi <= INT32_MAX ? CONFIG_TYPE_INT : CONFIG_TYPE_LONG;
    case TK_BOOL: return CONFIG_TYPE_BOOLEAN;
    case TK_RATIO: return CONFIG_TYPE_DOUBLE;
    case TK_LIST: return CONFIG_TYPE_LIST;
    case TK_CHOICE:
    case TK_VERSION: return CONFIG_TYPE_STRING;
    }
    return CONFIG_TYPE_UNKNOWN;
}

/* A topic's configs as DescribeConfigs lists them (every key Brook knows, its override or
 * default and where it comes from), for the overrides keys/values (n of them), wanted(k)
 * deciding which keys (NULL: all). Arena-allocated; *n_out of them. */
static describe_entry *topic_config_entries(req_ctx *c, const char *topic, int n,
                                            char *const *keys, char *const *values,
                                            bool (*wanted)(const void *, const char *),
                                            const void *ctx, int32_t *n_out)
{
    arena *a = &c->nr->arena;
    size_t nkeys;
    const topic_key_info *known = topic_config_keys(&nkeys);
    topic_defaults d;
    broker_topic_defaults_of(c->b, topic, &d);
    describe_entry *entries = arena_alloc(a, sizeof(describe_entry) * (nkeys + 1));
    *n_out = 0;
    if (!entries)
        return NULL;
    for (size_t i = 0; i < nkeys; i++) {
        if (wanted && !wanted(ctx, known[i].name))
            continue;
        describe_entry *e = &entries[(*n_out)++];
        e->name = known[i].name;
        e->config_type = topic_key_type(&known[i]);
        e->documentation = known[i].stored_only;
        e->source = CONFIG_SOURCE_DEFAULT;
        e->is_default = true;
        for (int k = 0; k < n; k++)
            if (strcmp(keys[k], known[i].name) == 0) {
                e->value = values[k];
                e->source = CONFIG_SOURCE_TOPIC;
                e->is_default = false;
            }
        if (e->is_default) {
            char buf[64];
            topic_config_default_value(&d, known[i].name, buf, sizeof(buf));
            e->value = arena_strndup(a, buf, strlen(buf));
        }
    }
    return entries;
}

/* Whether broker id can hold a replica: a registered broker in a cluster (zk.c checks
 * against the live ones), this node on its own. */
static bool broker_known(const broker *b, int32_t id)
{
    return b->clustered ? id >= 0 : id == b->cfg.node_id;
}

/* Checks a replica assignment as Kafka's controller does (partitions 0..n-1 each once,
 * the same non-zero number of distinct brokers for each, known brokers) and flattens it
 * by partition index into *replicas_out (n x rf, in a). Returns a Kafka error with *msg. */
static int16_t assignment_flatten(const broker *b, arena *a, const replica_assign *as,
                                  int32_t n, int32_t *rf_out, int32_t **replicas_out,
                                  const char **msg)
{
    int32_t rf = as[0].nbrokers;
    int32_t *reps = arena_alloc(a, sizeof(int32_t) * (size_t)n * (size_t)(rf > 0 ? rf : 1));
    bool *seen = arena_alloc(a, sizeof(bool) * (size_t)n);
    if (!reps || !seen) {
        *msg = "out of memory";
        return KERR_UNKNOWN_SERVER_ERROR;
    }
    memset(seen, 0, sizeof(bool) * (size_t)n);
    *msg = NULL;
    for (int32_t i = 0; i < n && !*msg; i++) {
        const replica_assign *ra = &as[i];
        if (ra->index < 0 || ra->index >= n || seen[ra->index])
            *msg = "partitions must be numbered 0 to n-1, each once";
        else if (ra->nbrokers < 1 || ra->nbrokers != rf || rf > REPL_MAX_REPLICAS)
            *msg = "every partition needs the same number of replicas, at least one";
        for (int32_t k = 0; !*msg && k < ra->nbrokers; k++) {
            for (int32_t j = 0; j < k; j++)
                if (ra->brokers[j] == ra->brokers[k])
                    *msg = "a broker is named twice in one partition's replicas";
            if (!*msg && !broker_known(b, ra->brokers[k]))
                *msg = "the replica assignment names a broker that does not exist";
            reps[(size_t)ra->index * (size_t)rf + (size_t)k] = ra->brokers[k];
        }
        if (!*msg)
            seen[ra->index] = true;
    }
    if (*msg)
        return KERR_INVALID_REPLICA_ASSIGNMENT;
    *rf_out = rf;
    *replicas_out = reps;
    return KERR_NONE;
}

static bool dup_name(kslice *names, int32_t i, kslice n)
{
    for (int32_t k = 0; k < i; k++)
        if (names[k].len == n.len && (n.len <= 0 || memcmp(names[k].p, n.p, (size_t)n.len) == 0))
            return true;
    return false;
}

void handle_create_topics(req_ctx *c)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    createtopics_req q;
    if (createtopics_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "CreateTopics");
        return;
    }
    kslice *names = arena_alloc(a, sizeof(kslice) * (size_t)(q.ntopics + 1));
    for (int32_t i = 0; names && i < q.ntopics; i++)
        names[i] = q.topics[i].name;
    for (int32_t i = 0; i < q.ntopics; i++) {
        createtopics_topic *t = &q.topics[i];
        char **keys, **values;
        int32_t np = t->num_partitions == -1 ? b->cfg.num_partitions : t->num_partitions;
        int16_t rf = t->replication_factor == -1 ? (int16_t)b->cfg.default_replication_factor
                                                 : t->replication_factor;
        int32_t *replicas = NULL, arf = 0;
        bool may_create = broker_sees(c, ACL_OP_CREATE, ACL_RES_CLUSTER, SEC_ACL_CLUSTER_NAME) ||
                          broker_may_slice(c, ACL_OP_CREATE, ACL_RES_TOPIC, t->name);
        bool dup = names && (dup_name(names, i, t->name) ||
                             dup_name(names + i + 1, q.ntopics - i - 1, t->name));
        if (dup) {
            t->error_code = KERR_INVALID_REQUEST;
            t->error_message = "topic named more than once in the request";
        } else if (!may_create) { /* Kafka: CREATE on the cluster, or on the topic */
            t->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
        } else if (t->nassignments > 0 &&
                   (t->num_partitions != -1 || t->replication_factor != -1)) {
            t->error_code = KERR_INVALID_REQUEST; /* Kafka's words */
            t->error_message = "Both numPartitions or replicationFactor and replicasAssignments "
                               "were set. Both cannot be used at the same time.";
        } else if (t->nassignments > 0 &&
                   (t->error_code = assignment_flatten(b, a, t->assignments, t->nassignments,
                                                       &arf, &replicas, &t->error_message)) !=
                       KERR_NONE) {
            /* error set */
        } else if (!replicas && (rf < 1 || (rf != 1 && !b->clustered))) {
            t->error_code = KERR_INVALID_REPLICATION_FACTOR;
            t->error_message = rf < 1 ? "replication factor must be at least 1"
                                      : "replication factor must be 1 on a single node";
        } else if (kv_to_cstrs(a, t->nconfigs, t->configs, &keys, &values) != 0) {
            t->error_code = KERR_INVALID_CONFIG;
            t->error_message = "config name or value is null";
        } else {
            if (replicas) {
                np = t->nassignments;
                rf = (int16_t)arf;
            }
            t->error_code = cluster_topic_create(b, t->name, np, rf, t->nconfigs, keys, values,
                                                replicas, q.validate_only, &t->error_message,
                                                t->topic_id);
            if (t->error_code == KERR_NONE) {
                /* v5+ (KIP-525): what the topic got, as Kafka answers, also when only
                 * validated (then with the zero topic id: nothing was created). */
                t->resp_num_partitions = np;
                t->resp_replication_factor = rf;
                const char *tn = arena_strndup(&c->nr->arena, (const char *)t->name.p,
                                               (size_t)t->name.len);
                t->resp_configs = topic_config_entries(c, tn ? tn : "", t->nconfigs, keys,
                                                       values, NULL, NULL,
                                                       &t->nresp_configs);
            }
        }
        if (t->error_message)
            t->error_message = arena_strndup(a, t->error_message, strlen(t->error_message));
    }
    resp_begin(&c->nr->resp, &c->h);
    createtopics_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

void handle_delete_topics(req_ctx *c)
{
    deletetopics_req q;
    if (deletetopics_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "DeleteTopics");
        return;
    }
    for (int32_t i = 0; i < q.ntopics; i++) {
        deletetopics_topic *t = &q.topics[i];
        bool named = t->name.len >= 0, by_id = !md_id_is_zero(t->id);
        if (named && by_id) { /* v6+, as Kafka's controller */
            t->error_code = KERR_INVALID_REQUEST;
            t->error_message = "You may not specify both topic name and topic id.";
        } else if (by_id) {
            topic *tp = md_find_id(&c->b->md, t->id);
            if (tp && !broker_may(c, ACL_OP_DELETE, ACL_RES_TOPIC, tp->name))
                t->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            else
                t->error_code = cluster_topic_delete_id(c->b, t->id, &c->nr->arena, &t->name);
        } else if (!named && c->h.api_version >= 6) {
            t->error_code = KERR_INVALID_REQUEST;
            t->error_message = "Neither topic name nor id were specified.";
        } else {
            /* The response names the deleted topic's id (v6+). */
            topic *tp = md_find(&c->b->md, t->name);
            if (!broker_may_slice(c, ACL_OP_DELETE, ACL_RES_TOPIC, t->name)) {
                t->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
                t->error_message = kafka_error_name(t->error_code);
                continue;
            }
            if (tp)
                memcpy(t->id, tp->id, sizeof(t->id));
            t->error_code = cluster_topic_delete(c->b, t->name);
            if (t->error_code != KERR_NONE)
                memset(t->id, 0, sizeof(t->id));
        }
        if (t->error_code == KERR_INVALID_TOPIC_EXCEPTION)
            t->error_message = "an internal topic cannot be deleted: it holds the group and "
                               "transaction coordinators' state";
        if (t->error_code != KERR_NONE && !t->error_message)
            t->error_message = kafka_error_name(t->error_code);
    }
    resp_begin(&c->nr->resp, &c->h);
    deletetopics_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

void handle_create_partitions(req_ctx *c)
{
    createparts_req q;
    if (createparts_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "CreatePartitions");
        return;
    }
    for (int32_t i = 0; i < q.ntopics; i++) {
        createparts_topic *t = &q.topics[i];
        topic *tp = md_find(&c->b->md, t->name);
        if (!broker_may_slice(c, ACL_OP_ALTER, ACL_RES_TOPIC, t->name)) {
            t->error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            continue;
        }
        if (!tp) {
            t->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        if (kafka_topic_internal(tp->name)) {
            t->error_code = KERR_INVALID_PARTITIONS;
            t->error_message = "the partition count of an internal topic is fixed: its "
                               "coordinators hash ids over it";
            continue;
        }
        int32_t *replicas = NULL, rf = 0;
        if (t->nassignments >= 0 && t->count > tp->npartitions &&
            t->nassignments != t->count - tp->npartitions) {
            t->error_code = KERR_INVALID_REPLICA_ASSIGNMENT;
            t->error_message = "one replica assignment is needed per new partition";
            continue;
        }
        for (int32_t k = 0; k < t->nassignments; k++)
            t->assignments[k].index = k; /* the new partitions, in order */
        if (t->nassignments > 0 &&
            (t->error_code = assignment_flatten(c->b, &c->nr->arena, t->assignments,
                                                t->nassignments, &rf, &replicas,
                                                &t->error_message)) != KERR_NONE)
            continue;
        if (replicas && !c->b->clustered && rf != 1) {
            t->error_code = KERR_INVALID_REPLICA_ASSIGNMENT;
            t->error_message = "replication factor must be 1 on a single node";
            continue;
        }
        t->error_code = cluster_topic_add_partitions(c->b, tp, t->count, replicas, rf,
                                                    q.validate_only, &t->error_message);
    }
    resp_begin(&c->nr->resp, &c->h);
    createparts_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

void handle_delete_records(req_ctx *c)
{
    broker *b = c->b;
    deleterecords_req q;
    if (deleterecords_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "DeleteRecords");
        return;
    }
    for (int32_t i = 0; i < q.ntopics; i++) {
        bool ok = broker_may_slice(c, ACL_OP_DELETE, ACL_RES_TOPIC, q.topics[i].name);
        for (int32_t k = 0; k < q.topics[i].nparts; k++) {
            deleterecords_part *dp = &q.topics[i].parts[k];
            int16_t err = KERR_TOPIC_AUTHORIZATION_FAILED;
            partition *p = ok ? broker_led_partition(b, q.topics[i].name, dp->index, &err, NULL)
                              : NULL;
            if (p && kafka_topic_internal(p->topic)) { /* as Kafka */
                p = NULL;
                err = KERR_INVALID_TOPIC_EXCEPTION;
            }
            dp->error_code = err;
            if (!p)
                continue;
            int rc = log_delete_records(p->log, dp->offset, store_high_watermark(b->store, p));
            if (rc == LOG_ERR_OUT_OF_RANGE)
                dp->error_code = KERR_OFFSET_OUT_OF_RANGE;
            else if (rc != LOG_OK)
                dp->error_code = KERR_KAFKA_STORAGE_ERROR;
            dp->low_watermark = p->log->log_start_offset;
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    deleterecords_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

static bool wanted_by(const void *res, const char *name)
{
    return describeconfigs_wants(res, name);
}

static void describe_topic(req_ctx *c, describeconfigs_res *res)
{
    topic *t = md_find(&c->b->md, res->name);
    if (!t) {
        res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        res->error_message = "unknown topic";
        return;
    }
    res->entries = topic_config_entries(c, t->name, t->nconfigs, t->config_keys,
                                        t->config_values, wanted_by, res, &res->nentries);
}

void handle_describe_configs(req_ctx *c)
{
    describeconfigs_req q;
    if (describeconfigs_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "DescribeConfigs");
        return;
    }
    for (int32_t i = 0; i < q.nresources; i++) {
        describeconfigs_res *res = &q.resources[i];
        if ((res->error_code = broker_config_refusal(c, res->type, res->name,
                                                     ACL_OP_DESCRIBE_CONFIGS)) != KERR_NONE)
            continue;
        if (res->type == CONFIG_RESOURCE_TOPIC)
            describe_topic(c, res);
        else if (res->type == CONFIG_RESOURCE_BROKER)
            broker_describe_broker_configs(c, res);
        else {
            res->error_code = KERR_INVALID_REQUEST;
            res->error_message = "unsupported resource type";
        }
        for (int32_t k = 0; k < res->nentries && !q.include_documentation; k++)
            res->entries[k].documentation = NULL; /* sent only when asked for (v3+) */
    }
    resp_begin(&c->nr->resp, &c->h);
    describeconfigs_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

/* AlterConfigs of a BROKER resource: its whole set of dynamic configs becomes the one given
 * (Kafka's non-incremental semantics). */
static int16_t alter_broker_all(req_ctx *c, alterconfigs_res *res, bool validate_only)
{
    int32_t n = res->nconfigs;
    incalter_config *ops = arena_alloc(&c->nr->arena, sizeof(*ops) * (size_t)(n + 1));
    if (!ops)
        return KERR_UNKNOWN_SERVER_ERROR;
    for (int32_t i = 0; i < n; i++)
        ops[i] = (incalter_config){res->configs[i].name, CONFIG_OP_SET, res->configs[i].value};
    return broker_alter_broker_configs(c, res->name, n, ops, true, validate_only,
                                       &res->error_message);
}

void handle_alter_configs(req_ctx *c)
{
    arena *a = &c->nr->arena;
    alterconfigs_req q;
    if (alterconfigs_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "AlterConfigs");
        return;
    }
    for (int32_t i = 0; i < q.nresources; i++) {
        alterconfigs_res *res = &q.resources[i];
        char **keys, **values;
        topic *t;
        if ((res->error_code = broker_config_refusal(c, res->type, res->name,
                                                     ACL_OP_ALTER_CONFIGS)) != KERR_NONE) {
            continue;
        } else if (res->type == CONFIG_RESOURCE_BROKER) {
            res->error_code = alter_broker_all(c, res, q.validate_only);
        } else if (res->type != CONFIG_RESOURCE_TOPIC) {
            res->error_code = KERR_INVALID_REQUEST;
            res->error_message = "unsupported resource type";
        } else if (!(t = md_find(&c->b->md, res->name))) {
            res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else if (kv_to_cstrs(a, res->nconfigs, res->configs, &keys, &values) != 0) {
            res->error_code = KERR_INVALID_CONFIG;
            res->error_message = "config name or value is null";
        } else {
            res->error_code = cluster_topic_set_configs(c->b, t, res->nconfigs, keys, values,
                                                       q.validate_only, &res->error_message);
            if (res->error_message)
                res->error_message = arena_strndup(a, res->error_message,
                                                   strlen(res->error_message));
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    alterconfigs_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}
