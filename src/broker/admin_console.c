/* admin_console.c - /v1/cluster and /v1/topics; see admin_console.h. */
#include "broker/admin_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "cluster/view.h"
#include "proto/internal_topics.h"
#include "storage/store.h"

/* Every cJSON_Add* below returns NULL when out of memory; the builders collect that into
 * one flag and give up once at the end, so a half-built document is never sent. */
static bool num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v) != NULL;
}

static bool str(cJSON *o, const char *k, const char *v)
{
    return cJSON_AddStringToObject(o, k, v) != NULL;
}

/* A new object appended to arr; NULL when out of memory (arr keeps what it had). */
static cJSON *push_obj(cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool add_ids(cJSON *o, const char *k, const int32_t *ids, int n)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (int i = 0; a && i < n; i++) {
        cJSON *v = cJSON_CreateNumber(ids[i]);
        if (!v || !cJSON_AddItemToArray(a, v)) {
            cJSON_Delete(v);
            return false;
        }
    }
    return a != NULL;
}

void admin_self_address(const broker *b, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    if (!b->admin || b->admin_port <= 0)
        return;
    const char *host = b->cfg.admin_host;
    if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
        host = b->cfg.adv_host[0] ? b->cfg.adv_host : "127.0.0.1";
    snprintf(out, cap, "%s:%d", host, b->admin_port);
}

/* One node row; admin is "host:port" or NULL (unknown: a node registered before admin
 * addresses were, or one whose admin listener is off). */
static bool node_json(cJSON *arr, int32_t id, const char *host, int32_t port, const char *admin,
                      bool alive, bool shutting_down, bool self)
{
    cJSON *o = push_obj(arr);
    if (!o)
        return false;
    char kafka[300];
    snprintf(kafka, sizeof(kafka), "%s:%d", host ? host : "?", (int)port);
    bool ok = num(o, "id", id) && str(o, "kafka", kafka);
    if (ok && admin && admin[0])
        ok = str(o, "admin", admin);
    else if (ok)
        ok = cJSON_AddNullToObject(o, "admin") != NULL;
    return ok && cJSON_AddBoolToObject(o, "alive", alive) &&
           cJSON_AddBoolToObject(o, "shutting_down", shutting_down) &&
           cJSON_AddBoolToObject(o, "self", self);
}

/* At most this many down nodes are listed (a cluster is a handful of nodes). */
#define DEAD_NODES_MAX 64

/* Replicas named by some topic but not registered: nodes that are down. Appended once
 * each, in id order, after the live ones. */
static bool dead_nodes(const cluster_view *v, cJSON *arr)
{
    int32_t seen[DEAD_NODES_MAX];
    int nseen = 0;
    for (const cv_topic *t = v->topics; t; t = t->hh.next)
        for (int32_t p = 0; p < t->nparts; p++)
            for (int32_t r = 0; r < t->parts[p].nreplicas && nseen < DEAD_NODES_MAX; r++) {
                int32_t id = t->parts[p].replicas[r];
                bool known = cv_broker_find(v, id) != NULL;
                for (int k = 0; k < nseen && !known; k++)
                    known = seen[k] == id;
                if (!known)
                    seen[nseen++] = id;
            }
    for (int i = 1; i < nseen; i++) /* insertion sort: a handful of ids */
        for (int k = i; k > 0 && seen[k - 1] > seen[k]; k--) {
            int32_t x = seen[k];
            seen[k] = seen[k - 1];
            seen[k - 1] = x;
        }
    for (int i = 0; i < nseen; i++)
        if (!node_json(arr, seen[i], NULL, 0, NULL, false, false, false))
            return false;
    return true;
}

cJSON *admin_cluster_json(broker *b)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char self_admin[300];
    admin_self_address(b, self_admin, sizeof(self_admin));
    const cluster_view *v = b->clustered ? b->view : NULL;
    bool ok = num(o, "node_id", b->cfg.node_id) &&
              str(o, "cluster_id", b->cfg.cluster_id ? b->cfg.cluster_id : "") &&
              str(o, "mode", b->clustered ? "cluster" : "single") &&
              num(o, "uptime_ms", (double)(clock_mono_us() - b->started_us) / 1000.0) &&
              num(o, "now_ms", (double)clock_wall_ms());
    if (ok && (!b->clustered || (v && v->controller >= 0)))
        ok = num(o, "controller", b->clustered ? v->controller : b->cfg.node_id);
    else if (ok)
        ok = cJSON_AddNullToObject(o, "controller") != NULL;
    cJSON *nodes = ok ? cJSON_AddArrayToObject(o, "nodes") : NULL;
    ok = nodes != NULL;
    if (ok && !b->clustered)
        ok = node_json(nodes, b->cfg.node_id, b->cfg.adv_host, b->cfg.adv_port, self_admin,
                       true, false, true);
    for (int i = 0; ok && v && i < v->nbrokers; i++) {
        const cv_broker *n = &v->brokers[i];
        bool self = n->id == b->cfg.node_id;
        /* Our own admin address is known here even before the registration carries it. */
        const char *admin = self && self_admin[0] ? self_admin : n->admin;
        ok = node_json(nodes, n->id, n->host, n->port, admin, true, n->shutting_down, self);
    }
    if (ok && v)
        ok = dead_nodes(v, nodes);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The local log figures of a partition this node hosts. */
static bool local_json(broker *b, partition *p, cJSON *row)
{
    int64_t hw = store_high_watermark(b->store, p);
    return num(row, "log_start_offset", (double)p->log->log_start_offset) &&
           num(row, "high_watermark", (double)hw) &&
           num(row, "last_stable_offset", (double)log_last_stable_offset(p->log, hw)) &&
           num(row, "log_end_offset", (double)p->log->log_end_offset) &&
           num(row, "size_bytes", (double)log_size_bytes(p->log)) &&
           cJSON_AddBoolToObject(row, "hosted", true);
}

/* This node's partition i of topic `name`, or NULL when it hosts none. */
static partition *local_part(broker *b, const char *name, int32_t i)
{
    topic *t = md_find(&b->md, kslice_cstr(name));
    if (!t || !t->parts || i < 0 || i >= t->npartitions)
        return NULL;
    partition *p = t->parts[i];
    return p && p->log && !p->dropping && cluster_is_replica(b, p) ? p : NULL;
}

/* One partition row. cp: the view's partition (NULL on a single node, which leads all). */
static bool part_json(broker *b, cJSON *parts, const char *name, int32_t i, const cv_part *cp)
{
    cJSON *row = push_obj(parts);
    if (!row)
        return false;
    int32_t self = b->cfg.node_id;
    bool ok = num(row, "partition", i) && num(row, "node", self) &&
              num(row, "leader", cp ? cp->leader : self) &&
              num(row, "leader_epoch", cp ? cp->leader_epoch : 0) &&
              add_ids(row, "replicas", cp ? cp->replicas : &self, cp ? cp->nreplicas : 1) &&
              add_ids(row, "isr", cp ? cp->isr.id : &self, cp ? cp->isr.n : 1);
    partition *p = ok ? local_part(b, name, i) : NULL;
    if (p)
        return local_json(b, p, row);
    return ok && cJSON_AddBoolToObject(row, "hosted", false);
}

static bool topic_json(broker *b, cJSON *arr, const char *name, const uint8_t id[16],
                       int32_t nparts, const cv_part *cparts)
{
    cJSON *o = push_obj(arr);
    if (!o)
        return false;
    char hex[33];
    for (int k = 0; k < 16; k++)
        snprintf(hex + 2 * k, 3, "%02x", id[k]);
    bool ok = str(o, "name", name) && str(o, "id", hex) &&
              cJSON_AddBoolToObject(o, "internal", kafka_topic_internal(name)) &&
              num(o, "partition_count", nparts);
    cJSON *parts = ok ? cJSON_AddArrayToObject(o, "partitions") : NULL;
    for (int32_t i = 0; parts && i < nparts; i++)
        if (!part_json(b, parts, name, i, cparts ? &cparts[i] : NULL))
            return false;
    return parts != NULL;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The topic names to list, sorted: the view's in a cluster, else the registry's. *n gets
 * their count; NULL with *n = 0 when there are none or no memory. Names are borrowed. */
static const char **sorted_names(broker *b, size_t *n)
{
    const cluster_view *v = b->clustered ? b->view : NULL;
    size_t total = v ? HASH_COUNT(v->topics) : HASH_COUNT(b->md.topics), k = 0;
    const char **names = total ? malloc(total * sizeof(*names)) : NULL;
    if (names && v)
        for (const cv_topic *t = v->topics; t && k < total; t = t->hh.next)
            names[k++] = t->name;
    else if (names)
        for (const topic *t = b->md.topics; t && k < total; t = t->hh.next)
            names[k++] = t->name;
    if (names)
        qsort(names, k, sizeof(*names), cmp_name);
    *n = k;
    return names;
}

cJSON *admin_topics_json(broker *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o && num(o, "node_id", b->cfg.node_id) ? cJSON_AddArrayToObject(o, "topics")
                                                         : NULL;
    if (!arr) {
        cJSON_Delete(o);
        return NULL;
    }
    size_t n = 0;
    const char **names = sorted_names(b, &n);
    const cluster_view *v = b->clustered ? b->view : NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        if (v) {
            const cv_topic *t = cv_topic_find(v, names[i], strlen(names[i]));
            ok = topic_json(b, arr, t->name, t->id, t->nparts, t->parts);
        } else {
            const topic *t = md_find(&b->md, kslice_cstr(names[i]));
            ok = topic_json(b, arr, t->name, t->id, t->npartitions, NULL);
        }
    }
    free(names);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
