/* admin_groups.c - consumer groups for /metrics and /v1/groups; see admin_groups.h. */
#include "broker/admin_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/metrics.h"
#include "storage/store.h"

/* A label value is cut here (escaped), so that a sample line stays well under the 4 KiB
 * that metrics_printf writes whole; Kafka group ids have no practical length limit. */
#define GROUP_LABEL_MAX 1024

typedef struct group_view {
    const group *g;
    const goffset **offs; /* sorted by topic, partition */
    size_t noffs;
    char label[GROUP_LABEL_MAX];
} group_view;

static int cmp_view(const void *a, const void *b)
{
    return strcmp(((const group_view *)a)->g->id, ((const group_view *)b)->g->id);
}

static int cmp_offset(const void *a, const void *b)
{
    const goffset *x = *(const goffset *const *)a, *y = *(const goffset *const *)b;
    int c = strcmp(x->topic, y->topic);
    return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The high watermark of topic/partition on this node, or -1 when it has no such log. */
static int64_t high_watermark(broker *b, const char *topic_name, int32_t index)
{
    topic *t = md_find(&b->md, kslice_cstr(topic_name));
    if (!t || !t->parts || index < 0 || index >= t->npartitions)
        return -1;
    partition *p = t->parts[index];
    if (!p || !p->log || p->dropping || !cluster_is_replica(b, p))
        return -1;
    return store_high_watermark(b->store, p);
}

/* Builds the sorted views of every live group; NULL with *n = 0 when there is none (or
 * out of memory, when the group samples are left out). */
static group_view *collect(broker *b, size_t *n)
{
    *n = 0;
    if (!b->group_started)
        return NULL;
    const group_coord *c = &b->grp.coord;
    size_t total = HASH_COUNT(c->groups);
    if (total == 0)
        return NULL;
    group_view *v = calloc(total, sizeof(*v));
    if (!v)
        return NULL;
    size_t k = 0;
    for (const group *g = c->groups; g && k < total; g = g->hh.next) {
        if (g->state == GROUP_DEAD)
            continue;
        group_view *gv = &v[k++];
        gv->g = g;
        metrics_label_value(g->id, gv->label, sizeof(gv->label));
        size_t no = HASH_COUNT(g->offsets);
        gv->offs = no ? malloc(no * sizeof(*gv->offs)) : NULL;
        for (const goffset *o = g->offsets; gv->offs && o && gv->noffs < no; o = o->hh.next)
            gv->offs[gv->noffs++] = o;
        if (gv->noffs > 1)
            qsort(gv->offs, gv->noffs, sizeof(*gv->offs), cmp_offset);
    }
    qsort(v, k, sizeof(*v), cmp_view);
    *n = k;
    return v;
}

/* The lag of a committed offset (high watermark - committed, never below 0); -1 when the
 * partition's log is not on this node or nothing is committed. *hw gets the watermark. */
static int64_t offset_lag(broker *b, const goffset *o, int64_t *hw)
{
    *hw = high_watermark(b, o->topic, o->partition);
    if (*hw < 0 || o->offset < 0)
        return -1;
    return *hw > o->offset ? *hw - o->offset : 0;
}

static void free_views(group_view *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].offs);
    free(v);
}

/* The committed offsets (lag: false) or the lags (lag: true) of every group. */
static void offset_samples(broker *b, wr *w, const group_view *v, size_t n, bool lag)
{
    const char *name = lag ? "brook_group_lag" : "brook_group_committed_offset";
    char tl[512], labels[GROUP_LABEL_MAX + 600];
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < v[i].noffs; k++) {
            const goffset *o = v[i].offs[k];
            double value = (double)o->offset;
            if (lag) {
                int64_t hw, l = offset_lag(b, o, &hw);
                if (l < 0)
                    continue;
                value = (double)l;
            }
            metrics_label_value(o->topic, tl, sizeof(tl));
            snprintf(labels, sizeof(labels), "group=\"%s\",topic=\"%s\",partition=\"%d\"",
                     v[i].label, tl, (int)o->partition);
            metrics_sample(w, name, labels, value);
        }
    }
}

void admin_group_metrics(broker *b, wr *w)
{
    size_t n = 0;
    group_view *v = collect(b, &n);
    uint64_t by_state[GROUP_STATE_COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        if (v[i].g->state >= 0 && v[i].g->state < GROUP_STATE_COUNT)
            by_state[v[i].g->state]++;
    metrics_header(w, "brook_groups", "gauge", "Consumer groups by state.");
    for (int s = 0; s < GROUP_STATE_COUNT; s++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "state=\"%s\"", group_state_name(s));
        metrics_sample(w, "brook_groups", labels, (double)by_state[s]);
    }
    metrics_header(w, "brook_group_rebalances_total", "counter",
                   "Rebalances started (groups entering PreparingRebalance) since start.");
    metrics_sample(w, "brook_group_rebalances_total", NULL,
                   b->group_started ? (double)b->grp.coord.rebalances : 0.0);

    char labels[GROUP_LABEL_MAX + 16];
    metrics_header(w, "brook_group_members", "gauge", "Members of the consumer group.");
    for (size_t i = 0; i < n; i++) {
        snprintf(labels, sizeof(labels), "group=\"%s\"", v[i].label);
        metrics_sample(w, "brook_group_members", labels, (double)v[i].g->nmembers);
    }
    metrics_header(w, "brook_group_generation", "gauge", "Current generation of the group.");
    for (size_t i = 0; i < n; i++) {
        snprintf(labels, sizeof(labels), "group=\"%s\"", v[i].label);
        metrics_sample(w, "brook_group_generation", labels, (double)v[i].g->generation);
    }
    metrics_header(w, "brook_group_committed_offset", "gauge",
                   "Committed offset of the group in the partition.");
    offset_samples(b, w, v, n, false);
    metrics_header(w, "brook_group_lag", "gauge",
                   "High watermark minus committed offset (0 when the commit is at or past it).");
    offset_samples(b, w, v, n, true);
    free_views(v, n);
}

/* ---------------- /v1/groups ---------------- */

cJSON *admin_assignment_json(const uint8_t *p, int32_t len)
{
    if (!p || len < 2)
        return NULL;
    rd r;
    rd_init(&r, p, (size_t)len);
    if (rd_i16(&r) < 0)
        return NULL;
    int32_t nt = rd_array(&r, 6);
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr && nt >= 0;
    for (int32_t t = 0; ok && t < nt; t++) {
        kslice topic = rd_str(&r);
        int32_t np = rd_array(&r, 4);
        ok = !r.err && topic.len > 0 && np >= 0;
        char name[256];
        if (ok)
            snprintf(name, sizeof(name), "%.*s", (int)topic.len, (const char *)topic.p);
        for (int32_t k = 0; ok && k < np; k++) {
            int32_t part = rd_i32(&r);
            cJSON *e = r.err ? NULL : cJSON_CreateObject();
            if (e && !cJSON_AddItemToArray(arr, e)) {
                cJSON_Delete(e);
                e = NULL;
            }
            ok = e && cJSON_AddStringToObject(e, "topic", name) &&
                 cJSON_AddNumberToObject(e, "partition", part);
        }
    }
    if (!ok || r.err) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

static bool add_str_or_null(cJSON *o, const char *k, const char *v)
{
    return v ? cJSON_AddStringToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static bool member_json(const gmember *m, cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return false;
    }
    bool ok = add_str_or_null(o, "member_id", m->id) &&
              add_str_or_null(o, "instance_id", m->instance_id) &&
              add_str_or_null(o, "client_id", m->client_id) &&
              add_str_or_null(o, "host", m->client_host);
    cJSON *a = ok ? admin_assignment_json(m->assignment, m->assignment_len) : NULL;
    if (a && !cJSON_AddItemToObject(o, "assignment", a)) {
        cJSON_Delete(a);
        return false;
    }
    return ok && (a || cJSON_AddNullToObject(o, "assignment"));
}

static bool offset_json(broker *b, const goffset *o, cJSON *arr)
{
    cJSON *e = cJSON_CreateObject();
    if (!e || !cJSON_AddItemToArray(arr, e)) {
        cJSON_Delete(e);
        return false;
    }
    int64_t hw, lag = offset_lag(b, o, &hw);
    bool ok = cJSON_AddStringToObject(e, "topic", o->topic) &&
              cJSON_AddNumberToObject(e, "partition", o->partition) &&
              cJSON_AddNumberToObject(e, "committed", (double)o->offset) &&
              cJSON_AddNumberToObject(e, "commit_ms", (double)o->commit_ms);
    if (ok && lag >= 0)
        ok = cJSON_AddNumberToObject(e, "high_watermark", (double)hw) &&
             cJSON_AddNumberToObject(e, "lag", (double)lag);
    else if (ok)
        ok = cJSON_AddNullToObject(e, "high_watermark") && cJSON_AddNullToObject(e, "lag");
    return ok;
}

static bool group_json(broker *b, const group_view *gv, cJSON *arr)
{
    const group *g = gv->g;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return false;
    }
    bool ok = cJSON_AddStringToObject(o, "group", g->id) &&
              cJSON_AddStringToObject(o, "state", group_state_name(g->state)) &&
              add_str_or_null(o, "protocol_type", g->protocol_type) &&
              add_str_or_null(o, "protocol", g->protocol_name) &&
              cJSON_AddNumberToObject(o, "generation", g->generation) &&
              add_str_or_null(o, "leader", g->leader);
    cJSON *members = ok ? cJSON_AddArrayToObject(o, "members") : NULL;
    for (int i = 0; members && ok && i < g->nmembers; i++)
        ok = member_json(g->members[i], members);
    cJSON *offs = ok && members ? cJSON_AddArrayToObject(o, "offsets") : NULL;
    for (size_t k = 0; offs && ok && k < gv->noffs; k++)
        ok = offset_json(b, gv->offs[k], offs);
    return ok && offs;
}

cJSON *admin_groups_json(broker *b)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o && cJSON_AddNumberToObject(o, "node_id", b->cfg.node_id)
                     ? cJSON_AddArrayToObject(o, "groups")
                     : NULL;
    size_t n = 0;
    group_view *v = arr ? collect(b, &n) : NULL;
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = group_json(b, &v[i], arr);
    free_views(v, n);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
