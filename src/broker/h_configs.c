/* h_configs.c - IncrementalAlterConfigs (KIP-339), dynamic broker configs and
 * DescribeLogDirs.
 *
 * IncrementalAlterConfigs works out a topic's whole new override list from its current one
 * and the operations (SET, DELETE back to the default, APPEND / SUBTRACT on list-type keys),
 * then changes it through cluster_topic_set_configs, the path AlterConfigs takes: the
 * registry on a single node, the topic znode in a cluster. Keys not named keep their
 * values.
 *
 * Dynamic broker configs (dynconfig.h decides what is dynamic and which value wins): a
 * BROKER resource named by this node's id changes this node's overrides, one named "" the
 * cluster-wide defaults (single node only, for now). A change is written to
 * <data dir>/dynamic-configs.properties (atomically, fsynced) before it is applied and
 * answered; applied means the broker config's fields, the topic defaults and every topic's
 * resolved log config are recomputed at once, as after a topic config change.
 *
 * DescribeLogDirs answers for this node's one log directory: every partition hosted here
 * (every partition on a single node; in a cluster those whose replicas name this node),
 * with the bytes of its segments. Nothing here keeps state past the request. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/statvfs.h>

#include "base/assert.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "broker/broker.h"
#include "cluster/view.h"
#include "cluster/zk.h"
#include "proto/errors.h"
#include "proto/msgs.h"

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

/* ---------------- IncrementalAlterConfigs ---------------- */

/* A topic's override list while the operations apply; arena-allocated, room for every key
 * Brook knows (only known keys get in). */
typedef struct override_list {
    int n;
    char **keys, **values;
    const char *topic; /* whose overrides (its defaults fill the rest) */
} override_list;

static bool known_topic_key(const char *name) { return topic_config_key(name) != NULL; }

/* Kafka's list-typed topic keys Brook knows: the ones APPEND and SUBTRACT apply to. */
static bool list_topic_key(const char *name)
{
    const topic_key_info *k = topic_config_key(name);
    return k && k->kind == TK_LIST;
}

static int find_override(const override_list *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->keys[i], key) == 0)
            return i;
    return -1;
}

static void set_override(override_list *l, char *key, char *value)
{
    int i = find_override(l, key);
    if (i < 0) {
        i = l->n++;
        l->keys[i] = key;
    }
    l->values[i] = value;
}

static void delete_override(override_list *l, const char *key)
{
    int i = find_override(l, key);
    if (i < 0)
        return;
    l->n--;
    l->keys[i] = l->keys[l->n];
    l->values[i] = l->values[l->n];
}

/* Whether the comma-separated list has the element e (len bytes). */
static bool list_has(const char *list, const char *e, size_t len)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && memcmp(p, e, len) == 0)
            return true;
        p = end ? end + 1 : p + n;
    }
    return false;
}

/* Adds the element p (n bytes) to the comma-separated list out (NUL-terminated, *len
 * bytes, room checked by the caller). */
static void list_push(char *out, size_t *len, const char *p, size_t n)
{
    if (*len > 0)
        out[(*len)++] = ',';
    memcpy(out + *len, p, n);
    *len += n;
    out[*len] = '\0';
}

/* APPEND: the elements of cur, then those of ops not already there; SUBTRACT: the elements
 * of cur not in ops. A new comma-separated list in a; NULL when out of memory. */
static char *list_combine(arena *a, const char *cur, const char *ops, bool append)
{
    char *out = arena_alloc(a, strlen(cur) + strlen(ops) + 2);
    if (!out)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    for (int pass = 0; pass < (append ? 2 : 1); pass++) {
        for (const char *p = pass == 0 ? cur : ops; *p;) {
            const char *end = strchr(p, ',');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            bool keep = n > 0 && !list_has(out, p, n) && (append || !list_has(ops, p, n));
            if (keep)
                list_push(out, &len, p, n);
            p = end ? end + 1 : p + n;
        }
    }
    return out;
}

/* The current value of key for the topic: its override, else the broker default. */
static const char *current_value(req_ctx *c, const override_list *l, const char *key)
{
    int i = find_override(l, key);
    if (i >= 0)
        return l->values[i];
    char buf[64];
    topic_defaults d;
    broker_topic_defaults_of(c->b, l->topic, &d);
    topic_config_default_value(&d, key, buf, sizeof(buf));
    return arena_strndup(&c->nr->arena, buf, strlen(buf));
}

/* Applies one operation to l. Returns KERR_NONE, or an error with *msg (arena or static). */
static int16_t apply_op(req_ctx *c, override_list *l, const incalter_config *op,
                        const char **msg)
{
    arena *a = &c->nr->arena;
    char *key = arena_strndup(a, op->name.p, (size_t)op->name.len);
    char *value = op->value.len >= 0 ? arena_strndup(a, op->value.p, (size_t)op->value.len)
                                     : NULL;
    if (!key || (op->value.len >= 0 && !value))
        return KERR_UNKNOWN_SERVER_ERROR;
    char err[300];
    if (!known_topic_key(key)) {
        snprintf(err, sizeof(err), "unknown topic config '%s'", key);
        *msg = arena_strndup(a, err, strlen(err));
        return KERR_INVALID_CONFIG;
    }
    if (op->op == CONFIG_OP_DELETE) {
        delete_override(l, key);
        return KERR_NONE;
    }
    if (!value) {
        snprintf(err, sizeof(err), "topic config '%s': null value", key);
        *msg = arena_strndup(a, err, strlen(err));
        return KERR_INVALID_CONFIG;
    }
    if (op->op == CONFIG_OP_SET) {
        set_override(l, key, value);
        return KERR_NONE;
    }
    if (!list_topic_key(key)) {
        snprintf(err, sizeof(err), "topic config '%s' is not a list: APPEND and SUBTRACT "
                 "do not apply", key);
        *msg = arena_strndup(a, err, strlen(err));
        return KERR_INVALID_CONFIG;
    }
    char *v = list_combine(a, current_value(c, l, key), value, op->op == CONFIG_OP_APPEND);
    if (!v)
        return KERR_UNKNOWN_SERVER_ERROR;
    set_override(l, key, v);
    return KERR_NONE;
}

/* Refuses an operation code outside SET..SUBTRACT and a key named twice, as Kafka does,
 * before anything applies. */
static int16_t check_ops(const incalter_res *res, const char **msg)
{
    for (int32_t i = 0; i < res->nconfigs; i++) {
        const incalter_config *op = &res->configs[i];
        if (op->op < CONFIG_OP_SET || op->op > CONFIG_OP_SUBTRACT) {
            *msg = "unknown config operation";
            return KERR_INVALID_REQUEST;
        }
        for (int32_t k = 0; k < i; k++)
            if (res->configs[k].name.len == op->name.len &&
                memcmp(res->configs[k].name.p, op->name.p, (size_t)op->name.len) == 0) {
                *msg = "a config is named more than once";
                return KERR_INVALID_REQUEST;
            }
    }
    return KERR_NONE;
}

static void alter_topic(req_ctx *c, incalter_res *res, bool validate_only)
{
    arena *a = &c->nr->arena;
    topic *t = md_find(&c->b->md, res->name);
    if (!t) {
        res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        res->error_message = "unknown topic";
        return;
    }
    size_t nknown;
    (void)topic_config_keys(&nknown);
    size_t cap = nknown + (size_t)t->nconfigs + 1;
    override_list l = {0, arena_alloc(a, sizeof(char *) * cap),
                       arena_alloc(a, sizeof(char *) * cap), t->name};
    if (!l.keys || !l.values) {
        res->error_code = KERR_UNKNOWN_SERVER_ERROR;
        return;
    }
    for (int i = 0; i < t->nconfigs; i++)
        set_override(&l, t->config_keys[i], t->config_values[i]);
    for (int32_t i = 0; i < res->nconfigs; i++) {
        res->error_code = apply_op(c, &l, &res->configs[i], &res->error_message);
        if (res->error_code != KERR_NONE)
            return;
    }
    const char *msg = NULL;
    res->error_code = cluster_topic_set_configs(c->b, t, l.n, l.keys, l.values, validate_only,
                                                &msg);
    if (msg)
        res->error_message = arena_strndup(a, msg, strlen(msg));
}

/* ---------------- dynamic broker configs ---------------- */

#define DYN_FILE "dynamic-configs.properties"

static void dyn_path(const broker *b, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", b->cfg.data_dir, DYN_FILE);
}

/* The scopes this broker's file keeps: both on one node; in a cluster only its own (the
 * cluster-wide defaults live in ZooKeeper, zk_text_*). */
static unsigned dyn_file_mask(const broker *b)
{
    bool zk = b->cfg.zookeeper_connect && *b->cfg.zookeeper_connect;
    return zk ? 1u << DYN_BROKER : DYN_MASK_ALL;
}

/* Recomputes what depends on the broker config after dyn_apply: the topic defaults, and
 * the resolved log config of every topic (their own overrides still win). */
static void dyn_propagate(broker *b)
{
    broker_topic_defaults(&b->cfg, &b->tdefaults);
    for (topic *t = b->md.topics; t; t = t->hh.next) {
        broker_topic_resolve(b, t);
        for (int32_t i = 0; i < t->npartitions && t->parts; i++)
            if (t->parts[i])
                t->parts[i]->log->cfg = t->logcfg;
    }
}

int broker_dyn_start(broker *b, char *err, size_t errlen)
{
    if (dyn_init(&b->dyn, &b->cfg) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char path[4096];
    dyn_path(b, path, sizeof(path));
    char *text = NULL;
    size_t len;
    int rc = fs_read_all(path, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return -1;
    }
    char why[300];
    rc = dyn_load_scopes(&b->dyn, dyn_file_mask(b), text, why, sizeof(why));
    free(text);
    if (rc == 0)
        rc = dyn_apply(&b->dyn, &b->cfg, why, sizeof(why));
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    LOG_INFO("broker", "dynamic broker configs: %d of this broker, %d cluster-wide (%s)",
             b->dyn.scope[DYN_BROKER].n, b->dyn.scope[DYN_DEFAULT].n, path);
    return 0;
}

/* Persists the overrides (durable before anything is answered), then applies them. On a
 * failure the previous overrides (old_text) come back and nothing changes. */
static int16_t dyn_commit(broker *b, const char *old_text, const char **msg)
{
    size_t len;
    char *text = dyn_encode_scopes(&b->dyn, dyn_file_mask(b), &len);
    char path[4096], why[300];
    dyn_path(b, path, sizeof(path));
    int rc = text ? fs_write_atomic(path, text, len) : -ENOMEM;
    free(text);
    if (rc == 0 && dyn_apply(&b->dyn, &b->cfg, why, sizeof(why)) == 0) {
        dyn_propagate(b);
        return KERR_NONE;
    }
    LOG_ERROR("broker", "dynamic broker configs not changed: %s: %s", path,
              rc ? strerror(-rc) : why);
    char ignored[300];
    if (dyn_load_scopes(&b->dyn, dyn_file_mask(b), old_text, ignored, sizeof(ignored)) != 0 ||
        dyn_apply(&b->dyn, &b->cfg, ignored, sizeof(ignored)) != 0)
        LOG_ERROR("broker", "dynamic broker configs: the previous set did not load back");
    *msg = "cannot write the dynamic configs file (see the broker log)";
    return KERR_KAFKA_STORAGE_ERROR;
}

/* Applies the cluster-wide defaults a view carries when they changed: every broker learns
 * them from ZooKeeper, the one that took the AlterConfigs included. A text that does not
 * load (written by a newer broker?) is logged and the previous defaults stay. */
void broker_dyn_on_view(broker *b, const cluster_view *v)
{
    const char *text = v->broker_defaults ? v->broker_defaults : "";
    if (b->dyn_defaults_text && strcmp(b->dyn_defaults_text, text) == 0)
        return;
    char *copy = strdup(text);
    if (!copy)
        return; /* the next view tries again */
    char why[300];
    size_t len;
    char *old = dyn_encode_scopes(&b->dyn, 1u << DYN_DEFAULT, &len);
    if (old && dyn_load_scopes(&b->dyn, 1u << DYN_DEFAULT, text, why, sizeof(why)) == 0 &&
        dyn_apply(&b->dyn, &b->cfg, why, sizeof(why)) == 0) {
        dyn_propagate(b);
        LOG_INFO("broker", "cluster-wide dynamic broker configs: %d key(s)",
                 b->dyn.scope[DYN_DEFAULT].n);
    } else {
        LOG_ERROR("broker", "cluster-wide dynamic broker configs from ZooKeeper not applied: %s",
                  old ? why : "out of memory");
        /* The previous defaults back, and applied again: a partial dyn_apply may have
         * written some of the new values into the config already. */
        char ignored[300];
        if (old && dyn_load_scopes(&b->dyn, 1u << DYN_DEFAULT, old, ignored,
                                   sizeof(ignored)) == 0 &&
            dyn_apply(&b->dyn, &b->cfg, ignored, sizeof(ignored)) == 0)
            dyn_propagate(b);
    }
    free(old);
    free(b->dyn_defaults_text);
    b->dyn_defaults_text = copy;
}

/* zk_text_update's edit for the cluster-wide defaults: the keys applied to a copy. */
typedef struct defaults_edit {
    int32_t n;
    char **keys, **vals;
    const incalter_config *ops;
    bool replace;
} defaults_edit;

static int16_t defaults_edit_text(void *ctx, const char *text, char **next)
{
    const defaults_edit *e = ctx;
    dynconfig tmp = {0};
    char why[300];
    int rc = text ? dyn_load_scopes(&tmp, 1u << DYN_DEFAULT, text, why, sizeof(why)) : 0;
    if (rc == 0 && e->replace)
        dyn_clear(&tmp, DYN_DEFAULT);
    for (int32_t i = 0; i < e->n && rc == 0; i++)
        rc = dyn_set(&tmp, DYN_DEFAULT, e->keys[i],
                     e->ops[i].op == CONFIG_OP_DELETE ? NULL : e->vals[i]);
    size_t len;
    *next = rc == 0 ? dyn_encode_scopes(&tmp, 1u << DYN_DEFAULT, &len) : NULL;
    dyn_free(&tmp);
    return *next ? KERR_NONE : KERR_UNKNOWN_SERVER_ERROR;
}

/* The cluster-wide defaults in a cluster: a version-checked read-modify-write of their
 * znode, then applied here from the next view (zk_refresh_sync), as on every other broker. */
static int16_t dyn_alter_cluster_defaults(broker *b, int32_t n, char **keys, char **vals,
                                          const incalter_config *ops, bool replace,
                                          const char **msg)
{
    if (!b->zk) { /* stopping */
        *msg = "not connected to ZooKeeper";
        return KERR_REQUEST_TIMED_OUT;
    }
    defaults_edit e = {n, keys, vals, ops, replace};
    bool written;
    int16_t err = zk_text_update(b->zk, ZK_TEXT_BROKER_DEFAULTS, defaults_edit_text, &e, &written);
    if (err == KERR_NONE) {
        (void)zk_refresh_sync(b->zk, 5000);
        LOG_INFO("broker", "cluster-wide dynamic broker configs changed: %d key(s)", n);
    } else {
        *msg = err == KERR_CONCURRENT_TRANSACTIONS
                   ? "the cluster-wide defaults kept changing concurrently; retry"
                   : "cannot write the cluster-wide defaults to ZooKeeper (see the broker log)";
        if (err == KERR_CONCURRENT_TRANSACTIONS)
            err = KERR_REQUEST_TIMED_OUT;
    }
    return err;
}

/* The scope a BROKER resource names: this node's id or "" (the cluster-wide defaults). */
static int16_t dyn_scope_of(const broker *b, kslice name, int *scope, const char **msg)
{
    char self[16];
    snprintf(self, sizeof(self), "%d", b->cfg.node_id);
    BROOK_UNUSED(msg);
    if (name.len == 0) {
        *scope = DYN_DEFAULT;
        return KERR_NONE;
    }
    if (!kslice_eq_cstr(name, self)) {
        *msg = "not this broker's id: send it to that broker";
        return KERR_INVALID_REQUEST;
    }
    *scope = DYN_BROKER;
    return KERR_NONE;
}

/* Checks one operation on a broker key; msg is arena-allocated. */
static int16_t dyn_check_op(req_ctx *c, const char *key, int8_t op, const char *value,
                            const char **msg)
{
    char buf[400];
    int16_t err = KERR_NONE;
    if (op == CONFIG_OP_APPEND || op == CONFIG_OP_SUBTRACT) {
        snprintf(buf, sizeof(buf), "config '%s' is not a list: APPEND and SUBTRACT do not "
                 "apply", key);
        err = KERR_INVALID_CONFIG;
    } else if (op == CONFIG_OP_DELETE) {
        /* Only a dynamic key can go back; dyn_check names what the others are (a static
         * key: INVALID_REQUEST, an unknown one: INVALID_CONFIG). */
        if (!dyn_is_dynamic(key))
            err = dyn_check(key, "", buf, sizeof(buf));
    } else if (!value) {
        snprintf(buf, sizeof(buf), "config '%s': a null value", key);
        err = KERR_INVALID_CONFIG;
    } else {
        err = dyn_check(key, value, buf, sizeof(buf));
    }
    if (err != KERR_NONE)
        *msg = arena_strndup(&c->nr->arena, buf, strlen(buf));
    return err;
}

int16_t broker_alter_broker_configs(req_ctx *c, kslice name, int32_t n,
                                    const incalter_config *ops, bool replace,
                                    bool validate_only, const char **msg)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    int scope;
    int16_t err = dyn_scope_of(b, name, &scope, msg);
    if (err != KERR_NONE)
        return err;
    char **keys = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
    char **vals = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
    if (!keys || !vals)
        return KERR_UNKNOWN_SERVER_ERROR;
    for (int32_t i = 0; i < n; i++) {
        kslice k = ops[i].name, v = ops[i].value;
        keys[i] = arena_strndup(a, k.p, (size_t)(k.len > 0 ? k.len : 0));
        vals[i] = v.len >= 0 ? arena_strndup(a, v.p, (size_t)v.len) : NULL;
        if (!keys[i] || (v.len >= 0 && !vals[i]))
            return KERR_UNKNOWN_SERVER_ERROR;
        if ((err = dyn_check_op(c, keys[i], ops[i].op, vals[i], msg)) != KERR_NONE)
            return err;
    }
    if (validate_only)
        return KERR_NONE;
    if (scope == DYN_DEFAULT && b->clustered)
        return dyn_alter_cluster_defaults(b, n, keys, vals, ops, replace, msg);
    size_t len;
    char *old = dyn_encode_scopes(&b->dyn, dyn_file_mask(b), &len);
    if (!old)
        return KERR_UNKNOWN_SERVER_ERROR;
    if (replace)
        dyn_clear(&b->dyn, scope);
    int rc = 0;
    for (int32_t i = 0; i < n && rc == 0; i++)
        rc = dyn_set(&b->dyn, scope, keys[i], ops[i].op == CONFIG_OP_DELETE ? NULL : vals[i]);
    err = rc == 0 ? dyn_commit(b, old, msg) : KERR_UNKNOWN_SERVER_ERROR;
    if (rc != 0) {
        char ignored[300];
        (void)dyn_load_scopes(&b->dyn, dyn_file_mask(b), old, ignored, sizeof(ignored));
    }
    free(old);
    if (err == KERR_NONE)
        LOG_INFO("broker", "dynamic broker configs of %s changed: %d key(s)",
                 scope == DYN_BROKER ? "this broker" : "the cluster default", n);
    return err;
}

/* IncrementalAlterConfigs of a BROKER resource. */
static void alter_broker(req_ctx *c, incalter_res *res, bool validate_only)
{
    res->error_code = broker_alter_broker_configs(c, res->name, res->nconfigs, res->configs,
                                                  false, validate_only, &res->error_message);
}

/* Kafka's type of a broker key. */
static int8_t broker_key_type(const config_def *d)
{
    switch (d->type) {
    case CFG_INT32: return CONFIG_TYPE_INT;
    case CFG_INT64: return CONFIG_TYPE_LONG;
    case CFG_BOOL: return CONFIG_TYPE_BOOLEAN;
    case CFG_STRING:
    case CFG_ENUM: return CONFIG_TYPE_STRING;
    }
    return CONFIG_TYPE_UNKNOWN;
}

/* One entry: where a broker key's value comes from (this broker's dynamic value, the
 * dynamic default, or the properties file), and whether it may change at runtime. */
static void dyn_entry(const broker *b, describe_entry *e, const char *key, const char *value)
{
    e->name = key;
    e->value = value;
    e->read_only = !dyn_is_dynamic(key);
    e->source = dyn_get(&b->dyn, DYN_BROKER, key)    ? CONFIG_SOURCE_DYNAMIC_BROKER
                : dyn_get(&b->dyn, DYN_DEFAULT, key) ? CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER
                                                     : CONFIG_SOURCE_STATIC_BROKER;
}

void broker_describe_broker_configs(req_ctx *c, describeconfigs_res *res)
{
    broker *b = c->b;
    arena *a = &c->nr->arena;
    int scope;
    if ((res->error_code = dyn_scope_of(b, res->name, &scope, &res->error_message)) !=
        KERR_NONE)
        return;
    size_t n;
    const config_def *defs = broker_config_defs(&n);
    const dyn_list *dl = &b->dyn.scope[DYN_DEFAULT];
    const dyn_list *bl = &b->dyn.scope[DYN_BROKER];
    res->entries = arena_alloc(a, sizeof(describe_entry) * (n + (size_t)(dl->n + bl->n) + 1));
    if (!res->entries)
        return;
    if (scope == DYN_DEFAULT) { /* Kafka: only the cluster-wide dynamic defaults */
        for (int i = 0; i < dl->n; i++) {
            if (!describeconfigs_wants(res, dl->keys[i]))
                continue;
            describe_entry *e = &res->entries[res->nentries++];
            memset(e, 0, sizeof(*e));
            e->name = dl->keys[i];
            e->value = dl->values[i];
            e->source = CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
            e->config_type = CONFIG_TYPE_STRING;
            const config_def *d = config_find(defs, n, dl->keys[i]);
            if (d)
                e->config_type = broker_key_type(d);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!describeconfigs_wants(res, defs[i].name))
            continue;
        describe_entry *e = &res->entries[res->nentries++];
        memset(e, 0, sizeof(*e));
        char buf[512];
        config_format(&defs[i], &b->cfg, buf, sizeof(buf));
        dyn_entry(b, e, defs[i].name, arena_strndup(a, buf, strlen(buf)));
        e->config_type = broker_key_type(&defs[i]);
        e->documentation = defs[i].doc;
        if (broker_config_sensitive(defs[i].name)) { /* as Kafka: a null value */
            e->value = NULL;
            e->is_sensitive = true;
        }
    }
    /* Kafka's dynamic keys Brook only keeps: listed when set. */
    for (int s = 0; s < DYN_SCOPES; s++) {
        const dyn_list *l = &b->dyn.scope[s];
        for (int i = 0; i < l->n; i++) {
            const char *why = dyn_stored_reason(l->keys[i]);
            if (!why || !describeconfigs_wants(res, l->keys[i]) ||
                (s == DYN_DEFAULT && dyn_get(&b->dyn, DYN_BROKER, l->keys[i])))
                continue;
            describe_entry *e = &res->entries[res->nentries++];
            memset(e, 0, sizeof(*e));
            dyn_entry(b, e, l->keys[i], l->values[i]);
            e->config_type = CONFIG_TYPE_STRING;
            e->documentation = why;
        }
    }
}

void handle_incremental_alter_configs(req_ctx *c)
{
    incalter_req q;
    if (incalter_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "IncrementalAlterConfigs");
        return;
    }
    /* A topic another node just created may not be in our view yet; refreshing may
     * change the local registry, so it happens before any topic is looked up. */
    for (int32_t i = 0; i < q.nresources; i++)
        if (q.resources[i].type == CONFIG_RESOURCE_TOPIC)
            cluster_refresh_if_unknown(c->b, q.resources[i].name, -1);
    for (int32_t i = 0; i < q.nresources; i++) {
        incalter_res *res = &q.resources[i];
        if (res->type != CONFIG_RESOURCE_TOPIC && res->type != CONFIG_RESOURCE_BROKER) {
            res->error_code = KERR_INVALID_REQUEST;
            res->error_message = "unsupported resource type";
        } else if ((res->error_code = broker_config_refusal(c, res->type, res->name,
                                                            ACL_OP_ALTER_CONFIGS)) != KERR_NONE ||
                   (res->error_code = check_ops(res, &res->error_message)) != KERR_NONE) {
            continue;
        } else if (res->type == CONFIG_RESOURCE_TOPIC) {
            alter_topic(c, res, q.validate_only);
        } else {
            alter_broker(c, res, q.validate_only);
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    incalter_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
}

/* ---------------- DescribeLogDirs ---------------- */

/* Does this node hold a replica of the partition? Every one on a single node. */
static bool hosted_here(const broker *b, const topic *t, int32_t index)
{
    if (!b->clustered)
        return true;
    if (!b->view)
        return false;
    const cv_topic *vt = cv_topic_find(b->view, t->name, strlen(t->name));
    if (!vt || index >= vt->nparts)
        return false;
    const cv_part *p = &vt->parts[index];
    for (int32_t i = 0; i < p->nreplicas; i++)
        if (p->replicas[i] == b->cfg.node_id)
            return true;
    return false;
}

static bool part_wanted(const dlogdirs_topic *want, int32_t index)
{
    if (!want)
        return true;
    for (int32_t i = 0; i < want->nparts; i++)
        if (want->parts[i] == index)
            return true;
    return false;
}

/* Fills out with the hosted partitions of t (those of want when not NULL). Returns 0, or
 * -1 when the arena is spent. */
static int describe_topic_dirs(req_ctx *c, topic *t, const dlogdirs_topic *want,
                               dlogdirs_rtopic *out)
{
    dlogdirs_part *parts = t->npartitions > 0
                               ? arena_alloc(&c->nr->arena,
                                             sizeof(dlogdirs_part) * (size_t)t->npartitions)
                               : NULL;
    if (t->npartitions > 0 && !parts)
        return -1;
    out->name = t->name;
    out->nparts = 0;
    out->parts = parts;
    for (int32_t i = 0; i < t->npartitions; i++) {
        if (!part_wanted(want, i) || !hosted_here(c->b, t, i) || !t->parts[i])
            continue;
        BROOK_ASSERT(t->parts[i]->log);
        dlogdirs_part *p = &parts[out->nparts++];
        p->index = i;
        p->size = (int64_t)log_size_bytes(t->parts[i]->log);
        p->offset_lag = 0;
        p->is_future = false;
    }
    return 0;
}

/* The topics to describe: the ones asked for that exist here (each once), or all. */
static int describe_dir_topics(req_ctx *c, const describelogdirs_req *q, dlogdirs_dir *d)
{
    size_t n = q->ntopics >= 0 ? (size_t)q->ntopics : md_count(&c->b->md);
    dlogdirs_rtopic *topics = n ? arena_alloc(&c->nr->arena, sizeof(*topics) * n) : NULL;
    if (n && !topics)
        return -1;
    d->topics = topics;
    d->ntopics = 0;
    if (q->ntopics < 0) {
        for (topic *t = c->b->md.topics; t; t = t->hh.next)
            if (describe_topic_dirs(c, t, NULL, &topics[d->ntopics++]) != 0)
                return -1;
        return 0;
    }
    for (int32_t i = 0; i < q->ntopics; i++) {
        topic *t = md_find(&c->b->md, q->topics[i].name);
        bool dup = false;
        for (int32_t k = 0; k < d->ntopics && t; k++)
            dup |= strcmp(topics[k].name, t->name) == 0;
        if (!t || dup)
            continue;
        if (describe_topic_dirs(c, t, &q->topics[i], &topics[d->ntopics++]) != 0)
            return -1;
    }
    return 0;
}

void handle_describe_log_dirs(req_ctx *c)
{
    arena *a = &c->nr->arena;
    describelogdirs_req q;
    if (describelogdirs_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "DescribeLogDirs");
        return;
    }
    dlogdirs_dir dir = {.total_bytes = -1, .usable_bytes = -1};
    describelogdirs_resp m = {KERR_NONE, 1, &dir};
    char abs[PATH_MAX];
    const char *path = realpath(c->b->cfg.data_dir, abs) ? abs : c->b->cfg.data_dir;
    dir.log_dir = arena_strndup(a, path, strlen(path));
    struct statvfs sv;
    if (statvfs(c->b->cfg.data_dir, &sv) == 0) {
        dir.total_bytes = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
        dir.usable_bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
    }
    if (!broker_may_cluster(c, ACL_OP_DESCRIBE)) {
        m.error_code = KERR_CLUSTER_AUTHORIZATION_FAILED; /* v3+; older: no directories */
        m.ndirs = 0;
    } else if (!dir.log_dir || describe_dir_topics(c, &q, &dir) != 0) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    resp_begin(&c->nr->resp, &c->h);
    describelogdirs_resp_encode(&c->nr->resp, c->h.api_version, &m);
    finish(c);
}
