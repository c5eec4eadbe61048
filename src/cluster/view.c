/* view.c - see view.h. The znode formats are JSON objects with a "version" field. */
#include "cluster/view.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

#define VIEW_JSON_MAX (1 << 20) /* ZooKeeper's default jute.maxbuffer */

cluster_view *cv_new(void)
{
    cluster_view *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    atomic_init(&v->refs, 1);
    v->controller = -1;
    return v;
}

void cv_ref(cluster_view *v) { atomic_fetch_add(&v->refs, 1); }

void cv_topic_free(cv_topic *t)
{
    if (!t)
        return;
    for (int32_t i = 0; t->parts && i < t->nparts; i++)
        free(t->parts[i].replicas);
    free(t->parts);
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->config_keys[i]);
        free(t->config_values[i]);
    }
    free(t->config_keys);
    free(t->config_values);
    free(t->name);
    free(t);
}

void cv_unref(cluster_view *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (int i = 0; i < v->nbrokers; i++) {
        free(v->brokers[i].host);
        free(v->brokers[i].incarnation);
        free(v->brokers[i].admin);
        free(v->brokers[i].eps);
    }
    free(v->brokers);
    free(v->broker_defaults);
    free(v->quota_text);
    free(v->scram_text);
    free(v->acl_text);
    cv_topic *t, *tmp;
    HASH_ITER(hh, v->topics, t, tmp) {
        HASH_DEL(v->topics, t);
        cv_topic_free(t);
    }
    free(v);
}

void cv_broker_set_czxid(cluster_view *v, int32_t id, int64_t czxid)
{
    for (int i = 0; i < v->nbrokers; i++)
        if (v->brokers[i].id == id)
            v->brokers[i].czxid = czxid;
}

int cv_broker_set_admin(cluster_view *v, int32_t id, const char *admin)
{
    for (int i = 0; i < v->nbrokers; i++) {
        if (v->brokers[i].id != id)
            continue;
        free(v->brokers[i].admin);
        v->brokers[i].admin = admin && *admin ? strdup(admin) : NULL;
        return admin && *admin && !v->brokers[i].admin ? -1 : 0;
    }
    return 0;
}

int cv_broker_set_endpoints(cluster_view *v, int32_t id, const cv_endpoint *eps, int32_t n)
{
    BROOK_ASSERT(n >= 0 && n <= CV_ENDPOINTS_MAX);
    for (int i = 0; i < v->nbrokers; i++) {
        cv_broker *b = &v->brokers[i];
        if (b->id != id)
            continue;
        free(b->eps);
        b->eps = NULL;
        b->neps = 0;
        if (n == 0)
            return 0;
        if (!(b->eps = malloc(sizeof(*eps) * (size_t)n)))
            return -1;
        memcpy(b->eps, eps, sizeof(*eps) * (size_t)n);
        b->neps = n;
        return 0;
    }
    return 0;
}

const cv_endpoint *cv_broker_endpoint(const cv_broker *b, const char *name)
{
    for (int32_t i = 0; b && name && i < b->neps; i++)
        if (strcmp(b->eps[i].name, name) == 0)
            return &b->eps[i];
    return NULL;
}

void cv_broker_set_shutting_down(cluster_view *v, int32_t id, bool shutting_down)
{
    for (int i = 0; i < v->nbrokers; i++)
        if (v->brokers[i].id == id)
            v->brokers[i].shutting_down = shutting_down;
}

void cv_live_sets(const cluster_view *v, repl_set *live, repl_set *shutting)
{
    live->n = shutting->n = 0;
    for (int i = 0; v && i < v->nbrokers; i++) {
        repl_set_add(live, v->brokers[i].id);
        if (v->brokers[i].shutting_down)
            repl_set_add(shutting, v->brokers[i].id);
    }
}

int32_t cv_topic_min_isr(const cv_topic *t, int32_t dflt)
{
    for (int i = 0; i < t->nconfigs; i++)
        if (strcmp(t->config_keys[i], "min.insync.replicas") == 0) {
            long m = strtol(t->config_values[i], NULL, 10);
            return m >= 1 && m <= REPL_MAX_REPLICAS ? (int32_t)m : dflt;
        }
    return dflt;
}

int cv_shutdown_pending(const cluster_view *v, int32_t self, int32_t default_min_isr, int *kept)
{
    repl_set live, shutting;
    cv_live_sets(v, &live, &shutting);
    if (kept)
        *kept = 0;
    if (!repl_set_has(&shutting, self))
        return -1;
    int pending = 0;
    for (const cv_topic *t = v->topics; t; t = t->hh.next)
        for (int32_t i = 0; i < t->nparts; i++) {
            const cv_part *p = &t->parts[i];
            if (p->leader != self && !repl_set_has(&p->isr, self))
                continue;
            repl_set reps = {0};
            for (int32_t k = 0; k < p->nreplicas; k++)
                repl_set_add(&reps, p->replicas[k]);
            repl_election e;
            bool change = repl_shutdown_move(&reps, p->leader, &p->isr, &p->elr, &live,
                                             &shutting, cv_topic_min_isr(t, default_min_isr),
                                             &e);
            bool moves = change && ((p->leader == self && e.leader != self) ||
                                    (e.leader != self && !repl_set_has(&e.isr, self)));
            if (moves)
                pending++;
            else if (p->leader == self && kept)
                (*kept)++;
        }
    return pending;
}

const cv_broker *cv_broker_find(const cluster_view *v, int32_t id)
{
    for (int i = 0; v && i < v->nbrokers; i++)
        if (v->brokers[i].id == id)
            return &v->brokers[i];
    return NULL;
}

const cv_topic *cv_topic_find(const cluster_view *v, const char *name, size_t len)
{
    cv_topic *t = NULL;
    if (v)
        HASH_FIND(hh, v->topics, name, len, t);
    return t;
}

const cv_topic *cv_topic_find_id(const cluster_view *v, const uint8_t id[16])
{
    static const uint8_t zero[16];
    if (!v || memcmp(id, zero, 16) == 0)
        return NULL;
    for (const cv_topic *t = v->topics; t; t = t->hh.next)
        if (memcmp(t->id, id, 16) == 0)
            return t;
    return NULL;
}

int32_t cv_leader(const cluster_view *v, const char *topic, int32_t partition)
{
    const cv_topic *t = cv_topic_find(v, topic, strlen(topic));
    if (!t || partition < 0 || partition >= t->nparts)
        return -1;
    return t->parts[partition].leader;
}

/* Rank of replica id as a next leader (lower is likelier; INT32_MAX: not live). */
static int32_t likely_rank(const cluster_view *v, const cv_part *p, int32_t id)
{
    const cv_broker *b = cv_broker_find(v, id);
    if (!b)
        return INT32_MAX;
    int32_t rank = repl_set_has(&p->isr, id) ? 0 : repl_set_has(&p->elr, id) ? 1 : 2;
    return b->shutting_down ? rank + 3 : rank;
}

int32_t cv_likely_leader(const cluster_view *v, const char *topic, int32_t partition)
{
    const cv_topic *t = cv_topic_find(v, topic, strlen(topic));
    if (!t || partition < 0 || partition >= t->nparts)
        return -1;
    const cv_part *p = &t->parts[partition];
    int32_t best = -1, best_rank = INT32_MAX;
    for (int32_t i = 0; i < p->nreplicas; i++) { /* replica order breaks ties */
        int32_t r = likely_rank(v, p, p->replicas[i]);
        if (r < best_rank) {
            best = p->replicas[i];
            best_rank = r;
        }
    }
    return best;
}

bool cv_is_replica(const cluster_view *v, const char *topic, int32_t partition, int32_t node)
{
    const cv_topic *t = cv_topic_find(v, topic, strlen(topic));
    if (!t || partition < 0 || partition >= t->nparts)
        return false;
    const cv_part *p = &t->parts[partition];
    for (int32_t i = 0; i < p->nreplicas; i++)
        if (p->replicas[i] == node)
            return true;
    return false;
}

int cv_add_broker(cluster_view *v, int32_t id, const char *host, int32_t port,
                  const char *incarnation)
{
    cv_broker *n = realloc(v->brokers, sizeof(*n) * (size_t)(v->nbrokers + 1));
    if (!n)
        return -1;
    v->brokers = n;
    int at = v->nbrokers;
    while (at > 0 && n[at - 1].id > id) {
        n[at] = n[at - 1];
        at--;
    }
    n[at].id = id;
    n[at].host = strdup(host);
    n[at].port = port;
    n[at].incarnation = strdup(incarnation ? incarnation : "");
    n[at].czxid = 0;
    n[at].shutting_down = false;
    n[at].admin = NULL;
    n[at].eps = NULL;
    n[at].neps = 0;
    v->nbrokers++;
    return n[at].host && n[at].incarnation ? 0 : -1;
}

/* Prints a cJSON tree to a malloc'd string and frees the tree. */
static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* Parses bounded, possibly unterminated JSON text into an object. */
static cJSON *parse_obj(const char *json, size_t len)
{
    if (!json || len == 0 || len > VIEW_JSON_MAX)
        return NULL;
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (o && !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* An integer member within [lo, hi]; -1 when absent or out of range. */
static int get_int(const cJSON *o, const char *key, double lo, double hi, int64_t *out)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(n) || n->valuedouble < lo || n->valuedouble > hi ||
        n->valuedouble != (double)(int64_t)n->valuedouble)
        return -1;
    *out = (int64_t)n->valuedouble;
    return 0;
}

char *cv_broker_json(const cv_broker *b)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddNumberToObject(o, "id", b->id);
    cJSON_AddStringToObject(o, "host", b->host);
    cJSON_AddNumberToObject(o, "port", b->port);
    cJSON_AddStringToObject(o, "incarnation", b->incarnation ? b->incarnation : "");
    if (b->shutting_down)
        cJSON_AddBoolToObject(o, "shutting_down", true);
    if (b->admin && *b->admin)
        cJSON_AddStringToObject(o, "admin", b->admin);
    cJSON *eps = b->neps > 0 ? cJSON_AddArrayToObject(o, "endpoints") : NULL;
    bool oom = b->neps > 0 && !eps;
    for (int32_t i = 0; eps && i < b->neps && !oom; i++) {
        char ep[sizeof(b->eps[i].name) + sizeof(b->eps[i].host) + 16];
        snprintf(ep, sizeof(ep), "%s://%s:%d", b->eps[i].name, b->eps[i].host,
                 (int)b->eps[i].port);
        cJSON *item = cJSON_CreateString(ep);
        if (!item || !cJSON_AddItemToArray(eps, item)) {
            cJSON_Delete(item);
            oom = true;
        }
    }
    if (oom) { /* a registration without its listeners would send clients astray */
        cJSON_Delete(o);
        return NULL;
    }
    return print_free(o);
}

/* "NAME://host:port" into *e; -1 when it is not one (name and host bounded, port 1-65535). */
static int endpoint_parse(const char *s, cv_endpoint *e)
{
    const char *sep = strstr(s, "://"), *colon = strrchr(s, ':');
    if (!sep || sep == s || (size_t)(sep - s) >= sizeof(e->name) || !colon || colon < sep + 3)
        return -1;
    const char *host = sep + 3;
    size_t hlen = (size_t)(colon - host);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (hlen >= sizeof(e->host) || *end || colon[1] == '\0' || port < 1 || port > 65535 ||
        memchr(s, '"', strlen(s)))
        return -1;
    memcpy(e->name, s, (size_t)(sep - s));
    e->name[sep - s] = '\0';
    memcpy(e->host, host, hlen);
    e->host[hlen] = '\0';
    e->port = (int32_t)port;
    return 0;
}

/* The registration's "endpoints" into out->eps; malformed entries are skipped. */
static int endpoints_parse(const cJSON *arr, cv_broker *out)
{
    out->eps = NULL;
    out->neps = 0;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (n <= 0)
        return 0;
    if (n > CV_ENDPOINTS_MAX)
        n = CV_ENDPOINTS_MAX;
    if (!(out->eps = calloc((size_t)n, sizeof(*out->eps))))
        return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (out->neps < n && cJSON_IsString(it) &&
            endpoint_parse(it->valuestring, &out->eps[out->neps]) == 0)
            out->neps++;
    }
    return 0;
}

int cv_broker_parse(const char *json, size_t len, cv_broker *out)
{
    cJSON *o = parse_obj(json, len);
    int64_t id, port;
    const cJSON *host = o ? cJSON_GetObjectItemCaseSensitive(o, "host") : NULL;
    const cJSON *inc = o ? cJSON_GetObjectItemCaseSensitive(o, "incarnation") : NULL;
    const cJSON *sd = o ? cJSON_GetObjectItemCaseSensitive(o, "shutting_down") : NULL;
    const cJSON *adm = o ? cJSON_GetObjectItemCaseSensitive(o, "admin") : NULL;
    int rc = -1;
    if (o && get_int(o, "id", 0, 2147483647.0, &id) == 0 &&
        get_int(o, "port", 1, 65535, &port) == 0 && cJSON_IsString(host)) {
        out->id = (int32_t)id;
        out->port = (int32_t)port;
        out->host = strdup(host->valuestring);
        out->incarnation = strdup(cJSON_IsString(inc) ? inc->valuestring : "");
        out->shutting_down = cJSON_IsTrue(sd);
        out->admin = NULL;
        /* A bounded host:port only: the console puts it in a URL. */
        if (cJSON_IsString(adm) && adm->valuestring[0] && strlen(adm->valuestring) < 300 &&
            strchr(adm->valuestring, ':') && !strpbrk(adm->valuestring, "/?#@ \"'<>"))
            out->admin = strdup(adm->valuestring);
        rc = out->host && out->incarnation &&
                     endpoints_parse(cJSON_GetObjectItemCaseSensitive(o, "endpoints"), out) == 0
                 ? 0
                 : -1;
        if (rc != 0)
            cv_broker_clear(out); /* nothing half-made is left to the caller */
    }
    cJSON_Delete(o);
    return rc;
}

void cv_broker_clear(cv_broker *b)
{
    free(b->host);
    free(b->incarnation);
    free(b->admin);
    free(b->eps);
    b->host = b->incarnation = b->admin = NULL;
    b->eps = NULL;
    b->neps = 0;
}

static void hex16(const uint8_t id[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static int unhex16(const char *s, uint8_t id[16])
{
    if (!s || strlen(s) != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        id[i] = (uint8_t)v;
    }
    return 0;
}

char *cv_topic_json(const cv_topic *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *reps = cJSON_CreateArray();
    cJSON *cfg = cJSON_CreateObject();
    char hex[33];
    hex16(t->id, hex);
    if (!o || !reps || !cfg) {
        cJSON_Delete(o);
        cJSON_Delete(reps);
        cJSON_Delete(cfg);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "id", hex);
    if (t->id_assigned)
        cJSON_AddBoolToObject(o, "id_assigned", true);
    for (int32_t i = 0; i < t->nparts; i++)
        cJSON_AddItemToArray(reps, cJSON_CreateIntArray(t->parts[i].replicas,
                                                        t->parts[i].nreplicas));
    cJSON_AddItemToObject(o, "replicas", reps);
    for (int i = 0; i < t->nconfigs; i++)
        cJSON_AddStringToObject(cfg, t->config_keys[i], t->config_values[i]);
    cJSON_AddItemToObject(o, "configs", cfg);
    return print_free(o);
}

/* Fills t->parts from the "replicas" array of arrays. */
static int parse_replicas(const cJSON *reps, cv_topic *t)
{
    int n = cJSON_GetArraySize(reps);
    if (n <= 0 || n > 100000)
        return -1;
    t->parts = calloc((size_t)n, sizeof(cv_part));
    if (!t->parts)
        return -1;
    t->nparts = n;
    for (int i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem(reps, i);
        int m = cJSON_GetArraySize(r);
        if (!cJSON_IsArray(r) || m <= 0 || m > REPL_MAX_REPLICAS)
            return -1;
        cv_part *p = &t->parts[i];
        p->replicas = calloc((size_t)m, sizeof(int32_t));
        if (!p->replicas)
            return -1;
        p->nreplicas = m;
        p->leader = -1;
        p->frozen_hw = -1;
        for (int k = 0; k < m; k++) {
            const cJSON *id = cJSON_GetArrayItem(r, k);
            if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 2147483647.0)
                return -1;
            p->replicas[k] = (int32_t)id->valuedouble;
        }
    }
    return 0;
}

/* Fills the config overrides from the "configs" object of strings. */
static int parse_configs(const cJSON *cfg, cv_topic *t)
{
    int n = cfg ? cJSON_GetArraySize(cfg) : 0;
    if (cfg && !cJSON_IsObject(cfg))
        return -1;
    t->config_keys = calloc((size_t)n + 1, sizeof(char *));
    t->config_values = calloc((size_t)n + 1, sizeof(char *));
    if (!t->config_keys || !t->config_values)
        return -1;
    const cJSON *kv;
    int i = 0;
    cJSON_ArrayForEach(kv, cfg) {
        if (!cJSON_IsString(kv) || !kv->string)
            return -1;
        t->config_keys[i] = strdup(kv->string);
        t->config_values[i] = strdup(kv->valuestring);
        t->nconfigs = ++i;
        if (!t->config_keys[i - 1] || !t->config_values[i - 1])
            return -1;
    }
    return 0;
}

int cv_topic_parse(const char *json, size_t len, cv_topic *t)
{
    cJSON *o = parse_obj(json, len);
    t->state_version = -1;
    int rc = -1;
    if (o) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *reps = cJSON_GetObjectItemCaseSensitive(o, "replicas");
        memset(t->id, 0, sizeof(t->id)); /* no "id": none yet (the controller gives one) */
        t->id_assigned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "id_assigned"));
        if ((!id || (cJSON_IsString(id) && unhex16(id->valuestring, t->id) == 0)) &&
            cJSON_IsArray(reps) && parse_replicas(reps, t) == 0 &&
            parse_configs(cJSON_GetObjectItemCaseSensitive(o, "configs"), t) == 0)
            rc = 0;
    }
    cJSON_Delete(o);
    return rc;
}

char *cv_state_json(const cv_topic *t, int32_t controller_epoch)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *parts = cJSON_CreateArray();
    if (!o || !parts) {
        cJSON_Delete(o);
        cJSON_Delete(parts);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddNumberToObject(o, "controller_epoch", controller_epoch);
    for (int32_t i = 0; i < t->nparts; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p)
            break;
        cJSON_AddNumberToObject(p, "leader", t->parts[i].leader);
        cJSON_AddNumberToObject(p, "leader_epoch", t->parts[i].leader_epoch);
        cJSON_AddNumberToObject(p, "leader_czxid", (double)t->parts[i].leader_czxid);
        cJSON_AddItemToObject(p, "isr", cJSON_CreateIntArray(t->parts[i].isr.id,
                                                             t->parts[i].isr.n));
        cJSON_AddItemToObject(p, "elr", cJSON_CreateIntArray(t->parts[i].elr.id,
                                                             t->parts[i].elr.n));
        if (t->parts[i].frozen_hw >= 0)
            cJSON_AddNumberToObject(p, "frozen_hw", (double)t->parts[i].frozen_hw);
        cJSON_AddItemToArray(parts, p);
    }
    cJSON_AddItemToObject(o, "partitions", parts);
    return print_free(o);
}

/* A replica set from an optional array of node ids (absent: empty). */
static int parse_set(const cJSON *o, const char *key, repl_set *out)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    out->n = 0;
    if (!a)
        return 0;
    int n = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || n > REPL_MAX_REPLICAS)
        return -1;
    for (int i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 2147483647.0)
            return -1;
        repl_set_add(out, (int32_t)id->valuedouble);
    }
    return 0;
}

int cv_state_parse(const char *json, size_t len, cv_topic *t)
{
    cJSON *o = parse_obj(json, len);
    const cJSON *parts = o ? cJSON_GetObjectItemCaseSensitive(o, "partitions") : NULL;
    int64_t ce = 0;
    int n = cJSON_GetArraySize(parts);
    int rc = -1;
    if (o && cJSON_IsArray(parts) && n <= t->nparts &&
        get_int(o, "controller_epoch", 0, 2147483647.0, &ce) == 0) {
        rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            const cJSON *p = cJSON_GetArrayItem(parts, i);
            int64_t leader, epoch;
            if (get_int(p, "leader", -1, 2147483647.0, &leader) != 0 ||
                get_int(p, "leader_epoch", 0, 2147483647.0, &epoch) != 0) {
                rc = -1;
                break;
            }
            t->parts[i].leader = (int32_t)leader;
            t->parts[i].leader_epoch = (int32_t)epoch;
            if (parse_set(p, "isr", &t->parts[i].isr) != 0 ||
                parse_set(p, "elr", &t->parts[i].elr) != 0) {
                rc = -1;
                break;
            }
            int64_t czxid = 0;
            if (cJSON_GetObjectItemCaseSensitive(p, "leader_czxid") &&
                get_int(p, "leader_czxid", 0, 9007199254740991.0, &czxid) != 0) {
                rc = -1;
                break;
            }
            t->parts[i].leader_czxid = czxid;
            int64_t frozen = -1;
            if (cJSON_GetObjectItemCaseSensitive(p, "frozen_hw") &&
                get_int(p, "frozen_hw", 0, 9007199254740991.0, &frozen) != 0) {
                rc = -1;
                break;
            }
            t->parts[i].frozen_hw = frozen;
            if (!cJSON_GetObjectItemCaseSensitive(p, "isr") && leader >= 0)
                repl_set_add(&t->parts[i].isr, (int32_t)leader);
        }
        t->state_controller_epoch = (int32_t)ce;
    }
    cJSON_Delete(o);
    return rc;
}

char *cv_controller_json(int32_t id, int32_t epoch)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddNumberToObject(o, "brokerid", id);
    cJSON_AddNumberToObject(o, "epoch", epoch);
    return print_free(o);
}

int cv_controller_parse(const char *json, size_t len, int32_t *id, int32_t *epoch)
{
    cJSON *o = parse_obj(json, len);
    int64_t i, e;
    int rc = -1;
    if (o && get_int(o, "brokerid", 0, 2147483647.0, &i) == 0 &&
        get_int(o, "epoch", 0, 2147483647.0, &e) == 0) {
        *id = (int32_t)i;
        *epoch = (int32_t)e;
        rc = 0;
    }
    cJSON_Delete(o);
    return rc;
}
