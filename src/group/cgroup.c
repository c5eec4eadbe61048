/* cgroup.c - see cgroup.h. The reconciliation follows KIP-848: a member first gives up
 * what its new target no longer holds (its epoch stays), then moves to the target epoch
 * and receives the partitions nobody else holds; the rest follow as they are released. */
#include "group/cgroup.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/regex.h"
#include "proto/errors.h"
#include "proto/internal_topics.h"

#define EPOCH_LEAVE (-1)
#define EPOCH_LEAVE_STATIC (-2)
#define RECORD_VERSION 0

bool cgroup_hazard_no_release_wait;

static const char *const cm_names[CM_STATE_COUNT] = {"STABLE", "UNREVOKED_PARTITIONS",
                                                     "UNRELEASED_PARTITIONS"};
const char *cmember_state_name(int s) { return s >= 0 && s < CM_STATE_COUNT ? cm_names[s] : "?"; }

/* ---------------- partition sets ---------------- */

static int tp_cmp(const cg_tp *a, const cg_tp *b)
{
    int c = memcmp(a->topic, b->topic, CG_TOPIC_ID_LEN);
    if (c)
        return c;
    return a->part < b->part ? -1 : a->part > b->part;
}

/* Index of tp in s, or -(insertion point) - 1. */
static int set_find(const cg_set *s, const cg_tp *tp)
{
    int lo = 0, hi = s->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = tp_cmp(&s->v[mid], tp);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

bool cg_set_has(const cg_set *s, const cg_tp *tp) { return s->n > 0 && set_find(s, tp) >= 0; }

static void set_add(cg_set *s, const cg_tp *tp)
{
    int i = set_find(s, tp);
    if (i >= 0)
        return;
    i = -i - 1;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        cg_tp *n = realloc(s->v, sizeof(*n) * (size_t)cap);
        BROOK_ASSERT(n);
        s->v = n;
        s->cap = cap;
    }
    memmove(&s->v[i + 1], &s->v[i], sizeof(cg_tp) * (size_t)(s->n - i));
    s->v[i] = *tp;
    s->n++;
}

static void set_clear(cg_set *s) { s->n = 0; }
static void set_free(cg_set *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static void set_copy(cg_set *dst, const cg_set *src)
{
    set_clear(dst);
    for (int i = 0; i < src->n; i++)
        set_add(dst, &src->v[i]);
}

static bool set_eq(const cg_set *a, const cg_set *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (tp_cmp(&a->v[i], &b->v[i]) != 0)
            return false;
    return true;
}

static bool set_sorted(const cg_set *s)
{
    for (int i = 1; i < s->n; i++)
        if (tp_cmp(&s->v[i - 1], &s->v[i]) >= 0)
            return false;
    return true;
}

/* ---------------- members ---------------- */

static void replace_str(char **dst, const char *s)
{
    free(*dst);
    *dst = group_dup_or_null(s);
}

static void topics_free(cmember *m)
{
    for (int i = 0; i < m->ntopics; i++)
        free(m->topics[i]);
    free(m->topics);
    m->topics = NULL;
    m->ntopics = 0;
}

static void regex_compile(cmember *m);

static void member_free(cmember *m)
{
    free(m->id);
    free(m->instance_id);
    free(m->rack_id);
    free(m->client_id);
    free(m->client_host);
    free(m->regex);
    m->regex = NULL;
    regex_compile(m); /* frees the compiled one */
    free(m->assignor);
    topics_free(m);
    set_free(&m->assigned);
    set_free(&m->revoking);
    set_free(&m->target);
    free(m);
}

cmember *cgroup_member(const cgroup *cg, const char *id)
{
    for (int i = 0; id && i < cg->nmembers; i++)
        if (strcmp(cg->members[i]->id, id) == 0)
            return cg->members[i];
    return NULL;
}

static cmember *member_by_instance(const cgroup *cg, const char *instance)
{
    for (int i = 0; instance && i < cg->nmembers; i++)
        if (cg->members[i]->instance_id && strcmp(cg->members[i]->instance_id, instance) == 0)
            return cg->members[i];
    return NULL;
}

static void removed_forget(cgroup *cg, const char *id);

static cmember *member_add(cgroup *cg, const char *id)
{
    removed_forget(cg, id); /* back under an id removed in this round: no tombstone */
    if (cg->nmembers == cg->cap) {
        int cap = cg->cap ? cg->cap * 2 : 4;
        cmember **n = realloc(cg->members, sizeof(*n) * (size_t)cap);
        BROOK_ASSERT(n);
        cg->members = n;
        cg->cap = cap;
    }
    cmember *m = calloc(1, sizeof(*m));
    BROOK_ASSERT(m);
    m->id = group_dup_or_null(id);
    m->rebalance_timeout_ms = 300000;
    cg->members[cg->nmembers++] = m;
    return m;
}

static void removed_add(cgroup *cg, const char *id)
{
    if (cg->nremoved == cg->removed_cap) {
        int cap = cg->removed_cap ? cg->removed_cap * 2 : 4;
        char **n = realloc(cg->removed, sizeof(*n) * (size_t)cap);
        BROOK_ASSERT(n);
        cg->removed = n;
        cg->removed_cap = cap;
    }
    cg->removed[cg->nremoved++] = group_dup_or_null(id);
}

/* An id that is back in the group loses its pending tombstone (it would follow the
 * member's record in the same batch and remove it again on replay). */
static void removed_forget(cgroup *cg, const char *id)
{
    for (int i = 0; i < cg->nremoved;)
        if (strcmp(cg->removed[i], id) == 0) {
            free(cg->removed[i]);
            cg->removed[i] = cg->removed[--cg->nremoved];
        } else {
            i++;
        }
}

/* Takes m out of the group (its partitions are free from now on) and bumps the group
 * epoch so that a new target is computed without it. */
static void member_remove(cgroup *cg, cmember *m)
{
    for (int i = 0; i < cg->nmembers; i++)
        if (cg->members[i] == m) {
            cg->members[i] = cg->members[--cg->nmembers];
            break;
        }
    removed_add(cg, m->id);
    member_free(m);
    cg->group_epoch++;
    cg->dirty = true;
}

void cgroup_free(cgroup *cg)
{
    if (!cg)
        return;
    for (int i = 0; i < cg->nmembers; i++)
        member_free(cg->members[i]);
    free(cg->members);
    for (int i = 0; i < cg->nremoved; i++)
        free(cg->removed[i]);
    free(cg->removed);
    free(cg->assignor);
    free(cg);
}

void cgroup_clean(cgroup *cg)
{
    cg->dirty = false;
    for (int i = 0; i < cg->nmembers; i++)
        cg->members[i]->dirty = false;
    for (int i = 0; i < cg->nremoved; i++)
        free(cg->removed[i]);
    cg->nremoved = 0;
}

/* ---------------- subscriptions ---------------- */

/* Compiles m->regex, anchored to whole names (POSIX extended syntax), once per change
 * rather than once per topic and heartbeat; a regex that does not compile (refused when it
 * was set) matches nothing. */
static void regex_compile(cmember *m)
{
    if (m->rx) {
        regfree(m->rx);
        free(m->rx);
        m->rx = NULL;
    }
    if (!m->regex || !*m->regex)
        return;
    regex_t *rx = malloc(sizeof(*rx));
    BROOK_ASSERT(rx);
    if (regex_whole_compile(rx, m->regex))
        m->rx = rx;
    else
        free(rx);
}

static bool regex_valid(const char *re)
{
    regex_t rx;
    if (regex_compile_safe(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    regfree(&rx);
    return true;
}

static bool member_subscribes(const cmember *m, const cg_topic_info *t)
{
    for (int i = 0; i < m->ntopics; i++)
        if (strcmp(m->topics[i], t->name) == 0)
            return true;
    return m->rx && !m->regex_pending && !t->internal && regex_whole_match(m->rx, t->name);
}

/* Subscribed topics of the whole group: out[i] tells for topics[i] (caller's array). */
static void group_subscribed(const cgroup *cg, const cg_topic_info *topics, int ntopics,
                             bool *out)
{
    for (int t = 0; t < ntopics; t++) {
        out[t] = false;
        for (int i = 0; i < cg->nmembers && !out[t]; i++)
            out[t] = member_subscribes(cg->members[i], &topics[t]);
    }
}

/* FNV-1a over the subscribed topics' ids and partition counts: a change (a topic created,
 * deleted, recreated or grown) bumps the group epoch. */
static uint64_t meta_hash(const cg_topic_info *topics, int ntopics, const bool *sub)
{
    uint64_t h = HASH_FNV1A_INIT;
    for (int t = 0; t < ntopics; t++) {
        if (!sub[t])
            continue;
        h = hash_fnv1a(h, topics[t].id, CG_TOPIC_ID_LEN);
        uint8_t n[4];
        for (int k = 0; k < 4; k++)
            n[k] = (uint8_t)(topics[t].nparts >> (8 * k));
        h = hash_fnv1a(h, n, sizeof(n));
    }
    return h;
}

/* ---------------- assignors ---------------- */

static int member_id_cmp(const void *a, const void *b)
{
    const cmember *x = *(cmember *const *)a, *y = *(cmember *const *)b;
    return strcmp(x->id, y->id);
}

/* Range: per topic, its subscribers in member id order get contiguous ranges, the first
 * (partitions % subscribers) one more. */
static void assign_range(cmember **ms, int n, const cg_topic_info *t)
{
    int subs = 0;
    for (int i = 0; i < n; i++)
        subs += member_subscribes(ms[i], t);
    if (subs == 0)
        return;
    int32_t base = t->nparts / subs, extra = t->nparts % subs, next = 0;
    for (int i = 0, k = 0; i < n; i++) {
        if (!member_subscribes(ms[i], t))
            continue;
        int32_t cnt = base + (k++ < extra ? 1 : 0);
        for (int32_t p = 0; p < cnt; p++) {
            cg_tp tp = {.part = next++};
            memcpy(tp.topic, t->id, CG_TOPIC_ID_LEN);
            set_add(&ms[i]->target, &tp);
        }
    }
}

typedef struct uni_part {
    cg_tp tp;
    int topic; /* index into the topics array */
    int owner; /* index into ms, -1: none */
} uni_part;

static int least_loaded(cmember **ms, int n, const int *count, const cg_topic_info *t,
                        const bool *subs_cache, int ntopics, int topic)
{
    (void)t;
    int best = -1;
    for (int i = 0; i < n; i++)
        if (subs_cache[i * ntopics + topic] && (best < 0 || count[i] < count[best]))
            best = i;
    (void)ms;
    return best;
}

/* Uniform: every subscribed partition to one subscriber, counts as even as the
 * subscriptions allow; a partition stays with its previous target owner while that keeps
 * the balance (sticky), the rest go to the least loaded subscriber. */
static void assign_uniform(cmember **ms, int n, const cg_topic_info *topics, int ntopics,
                           const cg_set *prev)
{
    bool *subs = calloc((size_t)(n * ntopics) + 1, 1);
    int *count = calloc((size_t)n + 1, sizeof(int));
    int total = 0, eligible_members = 0;
    BROOK_ASSERT(subs && count);
    for (int t = 0; t < ntopics; t++) {
        bool any = false;
        for (int i = 0; i < n; i++)
            any |= subs[i * ntopics + t] = member_subscribes(ms[i], &topics[t]);
        if (any)
            total += topics[t].nparts;
    }
    for (int i = 0; i < n; i++)
        for (int t = 0; t < ntopics; t++)
            if (subs[i * ntopics + t]) {
                eligible_members++;
                break;
            }
    uni_part *ps = calloc((size_t)total + 1, sizeof(*ps));
    BROOK_ASSERT(ps);
    int np = 0;
    for (int t = 0; t < ntopics; t++) {
        bool any = false;
        for (int i = 0; i < n; i++)
            any |= subs[i * ntopics + t];
        for (int32_t p = 0; any && p < topics[t].nparts; p++) {
            memcpy(ps[np].tp.topic, topics[t].id, CG_TOPIC_ID_LEN);
            ps[np].tp.part = p;
            ps[np].topic = t;
            ps[np].owner = -1;
            np++;
        }
    }
    int quota = eligible_members ? (total + eligible_members - 1) / eligible_members : 0;
    /* 1: sticky, within the quota */
    for (int k = 0; k < np; k++)
        for (int i = 0; i < n; i++)
            if (cg_set_has(&prev[i], &ps[k].tp) && subs[i * ntopics + ps[k].topic] &&
                count[i] < quota) {
                ps[k].owner = i;
                count[i]++;
                break;
            }
    /* 2: the rest to the least loaded subscriber */
    for (int k = 0; k < np; k++)
        if (ps[k].owner < 0) {
            int i = least_loaded(ms, n, count, topics, subs, ntopics, ps[k].topic);
            if (i >= 0) {
                ps[k].owner = i;
                count[i]++;
            }
        }
    /* 3: even out what subscriptions allow (bounded: each move lowers the spread) */
    for (int round = 0; round < np * 2 + 2; round++) {
        bool moved = false;
        for (int k = 0; k < np && !moved; k++) {
            int from = ps[k].owner;
            int to = least_loaded(ms, n, count, topics, subs, ntopics, ps[k].topic);
            if (from >= 0 && to >= 0 && count[to] + 1 < count[from]) {
                ps[k].owner = to;
                count[from]--;
                count[to]++;
                moved = true;
            }
        }
        if (!moved)
            break;
    }
    for (int k = 0; k < np; k++)
        if (ps[k].owner >= 0)
            set_add(&ms[ps[k].owner]->target, &ps[k].tp);
    free(ps);
    free(count);
    free(subs);
}

/* The assignor most members asked for (a tie, or none asked: the default, uniform). */
static const char *choose_assignor(const cgroup *cg)
{
    int uniform = 0, range = 0;
    for (int i = 0; i < cg->nmembers; i++) {
        const char *a = cg->members[i]->assignor;
        if (a && strcmp(a, "range") == 0)
            range++;
        else if (a && strcmp(a, "uniform") == 0)
            uniform++;
    }
    return range > uniform ? "range" : CG_ASSIGNOR_DEFAULT;
}

/* Computes every member's target for the current group epoch. */
static void compute_target(cgroup *cg, const cg_topic_info *topics, int ntopics)
{
    int n = cg->nmembers;
    cmember **ms = calloc((size_t)n + 1, sizeof(*ms));
    cg_set *prev = calloc((size_t)n + 1, sizeof(*prev));
    BROOK_ASSERT(ms && prev);
    memcpy(ms, cg->members, sizeof(*ms) * (size_t)n);
    qsort(ms, (size_t)n, sizeof(*ms), member_id_cmp);
    for (int i = 0; i < n; i++) {
        prev[i] = ms[i]->target;
        memset(&ms[i]->target, 0, sizeof(cg_set));
    }
    const char *assignor = choose_assignor(cg);
    replace_str(&cg->assignor, assignor);
    if (strcmp(assignor, "range") == 0)
        for (int t = 0; t < ntopics; t++)
            assign_range(ms, n, &topics[t]);
    else
        assign_uniform(ms, n, topics, ntopics, prev);
    for (int i = 0; i < n; i++) {
        if (!set_eq(&prev[i], &ms[i]->target))
            ms[i]->dirty = true;
        set_free(&prev[i]);
    }
    free(prev);
    free(ms);
    cg->assignment_epoch = cg->group_epoch;
    cg->dirty = true;
}

/* ---------------- reconciliation ---------------- */

/* Whether a member other than m holds tp (assigned, or still being revoked). */
static bool held_by_other(const cgroup *cg, const cmember *m, const cg_tp *tp)
{
    for (int i = 0; i < cg->nmembers; i++) {
        const cmember *o = cg->members[i];
        if (o != m && (cg_set_has(&o->assigned, tp) || cg_set_has(&o->revoking, tp)))
            return true;
    }
    return false;
}

/* Moves m towards its target: revocation first (epoch kept), else the target epoch with
 * the target's partitions that are free now. */
static void next_assignment(cgroup *cg, cmember *m, int64_t now_ms)
{
    cg_set keep = {0}, revoke = {0};
    for (int i = 0; i < m->assigned.n; i++)
        set_add(cg_set_has(&m->target, &m->assigned.v[i]) ? &keep : &revoke,
                &m->assigned.v[i]);
    if (revoke.n > 0) {
        set_copy(&m->assigned, &keep);
        set_copy(&m->revoking, &revoke);
        m->state = CM_UNREVOKED;
        m->revoke_deadline_ms = now_ms + m->rebalance_timeout_ms;
    } else {
        bool all = true;
        for (int i = 0; i < m->target.n; i++) {
            if (cg_set_has(&m->assigned, &m->target.v[i]))
                continue;
            if (held_by_other(cg, m, &m->target.v[i]) && !cgroup_hazard_no_release_wait)
                all = false;
            else
                set_add(&m->assigned, &m->target.v[i]);
        }
        if (m->epoch != cg->assignment_epoch) {
            m->prev_epoch = m->epoch;
            m->epoch = cg->assignment_epoch;
        }
        m->state = all ? CM_STABLE : CM_UNRELEASED;
        set_clear(&m->revoking);
    }
    set_free(&keep);
    set_free(&revoke);
    m->dirty = true;
}

static bool owns_any(const cg_tp *owned, int nowned, const cg_set *s)
{
    for (int i = 0; i < nowned; i++)
        if (cg_set_has(s, &owned[i]))
            return true;
    return false;
}

/* KIP-848's CurrentAssignmentBuilder: owned (nowned -1: not reported) is what the member
 * says it still holds. */
static void reconcile(cgroup *cg, cmember *m, const cg_tp *owned, int nowned, int64_t now_ms)
{
    switch (m->state) {
    case CM_UNREVOKED:
        if (nowned >= 0 && !owns_any(owned, nowned, &m->revoking))
            next_assignment(cg, m, now_ms);
        break;
    case CM_UNRELEASED:
        next_assignment(cg, m, now_ms);
        break;
    default:
        if (m->epoch != cg->assignment_epoch)
            next_assignment(cg, m, now_ms);
        break;
    }
}

/* ---------------- heartbeat ---------------- */

static void result_error(cg_hb_result *out, int16_t err, const char *msg)
{
    out->error = err;
    out->message = msg;
}

static int16_t validate(const cg_hb_args *a, const char **msg)
{
    if (!a->group_id || !*a->group_id)
        return *msg = "GroupId can't be empty.", KERR_INVALID_REQUEST;
    if (a->instance_id && !*a->instance_id)
        return *msg = "InstanceId can't be empty.", KERR_INVALID_REQUEST;
    if (a->rack_id && !*a->rack_id)
        return *msg = "RackId can't be empty.", KERR_INVALID_REQUEST;
    if (a->member_epoch < EPOCH_LEAVE_STATIC)
        return *msg = "MemberEpoch is invalid.", KERR_INVALID_REQUEST;
    if (a->member_epoch == EPOCH_LEAVE_STATIC && !a->instance_id)
        return *msg = "InstanceId can't be null with MemberEpoch -2.", KERR_INVALID_REQUEST;
    if (a->version >= 1 && (!a->member_id || !*a->member_id))
        return *msg = "MemberId can't be empty.", KERR_INVALID_REQUEST;
    if (a->version == 0 && a->member_epoch != 0 && (!a->member_id || !*a->member_id))
        return *msg = "MemberId can't be empty.", KERR_INVALID_REQUEST;
    if (a->member_epoch == 0) {
        if (a->rebalance_timeout_ms == -1)
            return *msg = "RebalanceTimeoutMs must be provided in first request.",
                   KERR_INVALID_REQUEST;
        if (a->nowned > 0) /* null passes: librdkafka sends it when it rejoins */
            return *msg = "TopicPartitions must be empty when (re-)joining.",
                   KERR_INVALID_REQUEST;
        if (a->ntopics < 0 && !a->regex)
            return *msg = "SubscribedTopicNames or SubscribedTopicRegex must be set in first "
                          "request.",
                   KERR_INVALID_REQUEST;
    }
    if (a->assignor && strcmp(a->assignor, "uniform") != 0 && strcmp(a->assignor, "range") != 0)
        return *msg = "ServerAssignor is not supported (uniform, range).",
               KERR_UNSUPPORTED_ASSIGNOR;
    if (a->regex && *a->regex && !regex_valid(a->regex))
        return *msg = "SubscribedTopicRegex is not a valid regular expression.",
               KERR_INVALID_REGULAR_EXPRESSION;
    return KERR_NONE;
}

/* The group for a heartbeat: a consumer group (an empty classic one is converted, as
 * Kafka does); NULL with *err when it cannot be one. */
static group *consumer_group(group_coord *c, const char *id, bool create, int16_t *err)
{
    group *g = group_find(c, id);
    if (g && g->cg)
        return g;
    if (g && (g->nmembers > 0 || g->state != GROUP_EMPTY)) {
        *err = KERR_GROUP_ID_NOT_FOUND; /* a classic group with members */
        return NULL;
    }
    if (!g && !create) {
        *err = KERR_GROUP_ID_NOT_FOUND;
        return NULL;
    }
    g = group_get(c, id);
    g->cg = calloc(1, sizeof(cgroup));
    BROOK_ASSERT(g->cg);
    g->cg->dirty = true;
    free(g->protocol_type);
    g->protocol_type = group_dup_or_null("consumer");
    return g;
}

static bool same_topics(const cmember *m, const char **topics, int n)
{
    if (m->ntopics != n)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(m->topics[i], topics[i]) != 0)
            return false;
    return true;
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Sets *dst to s when they differ; returns whether it did. */
static bool set_str(char **dst, const char *s)
{
    if (!str_differs(*dst, s))
        return false;
    replace_str(dst, s);
    return true;
}

/* Applies the heartbeat's changed fields (m->dirty when any did); returns whether the
 * subscription changed. */
static bool update_member(cmember *m, const cg_hb_args *a)
{
    bool changed = false, touched = false;
    touched |= a->instance_id && set_str(&m->instance_id, a->instance_id);
    touched |= a->rack_id && set_str(&m->rack_id, a->rack_id);
    touched |= a->client_id && set_str(&m->client_id, a->client_id);
    touched |= a->client_host && set_str(&m->client_host, a->client_host);
    if (a->rebalance_timeout_ms >= 0 && a->rebalance_timeout_ms != m->rebalance_timeout_ms) {
        m->rebalance_timeout_ms = a->rebalance_timeout_ms;
        touched = true;
    }
    if (a->ntopics >= 0 && !same_topics(m, a->topics, a->ntopics)) {
        topics_free(m);
        m->topics = calloc((size_t)a->ntopics + 1, sizeof(char *));
        BROOK_ASSERT(m->topics);
        for (int i = 0; i < a->ntopics; i++)
            m->topics[i] = group_dup_or_null(a->topics[i]);
        m->ntopics = a->ntopics;
        changed = true;
    }
    if (a->regex && set_str(&m->regex, *a->regex ? a->regex : NULL)) {
        regex_compile(m);
        m->regex_pending = m->regex != NULL;
        changed = true;
    }
    if (a->assignor)
        changed |= set_str(&m->assignor, a->assignor);
    if (changed || touched)
        m->dirty = true;
    return changed;
}

static bool owned_subset(const cg_hb_args *a, const cg_set *s)
{
    if (a->nowned < 0)
        return false;
    for (int i = 0; i < a->nowned; i++)
        if (!cg_set_has(s, &a->owned[i]))
            return false;
    return true;
}

/* Leaving: -1 for good (the partitions are free, the group epoch moves), -2 for a static
 * member that will be back (its assignment is kept for its session). */
static void leave(cgroup *cg, cmember *m, int32_t epoch, cg_hb_result *out)
{
    out->member_epoch = epoch;
    if (epoch == EPOCH_LEAVE_STATIC && m->instance_id) {
        m->left_static = true;
        m->dirty = true;
        return;
    }
    member_remove(cg, m);
}

/* Epoch 0: a new member, a member starting over, or a static member coming back. Returns
 * the member, NULL with out->error set. */
static cmember *join(cgroup *cg, const cg_hb_args *a, cg_hb_result *out)
{
    const char *id = a->version == 0 && (!a->member_id || !*a->member_id) ? a->new_member_id
                                                                           : a->member_id;
    cmember *st = member_by_instance(cg, a->instance_id);
    if (st && !st->left_static && strcmp(st->id, id) != 0) {
        result_error(out, KERR_UNRELEASED_INSTANCE_ID,
                     "The instance id is still used by another member.");
        return NULL;
    }
    if (st && st->left_static) {
        /* the static member's new incarnation takes its place, epoch and assignment */
        if (strcmp(st->id, id) != 0) {
            removed_add(cg, st->id);
            removed_forget(cg, id);
        }
        replace_str(&st->id, id);
        st->left_static = false;
        st->dirty = true;
        return st;
    }
    cmember *m = cgroup_member(cg, id);
    if (m)
        member_remove(cg, m); /* starting over: it gave up everything it had */
    m = member_add(cg, id);
    m->dirty = true;
    cg->dirty = true;
    return m;
}

static int16_t check_epoch(const cmember *m, const cg_hb_args *a)
{
    if (a->member_epoch > m->epoch)
        return KERR_FENCED_MEMBER_EPOCH;
    /* the previous epoch passes when the member holds no more than it was given: the
     * answer that moved it on was lost */
    if (a->member_epoch < m->epoch &&
        (a->member_epoch != m->prev_epoch || !owned_subset(a, &m->assigned)))
        return KERR_FENCED_MEMBER_EPOCH;
    return KERR_NONE;
}

/* Whether the subscribed topics changed (created, deleted, recreated, grown) since the
 * last target: the group epoch must then move. */
static bool refresh_metadata(cgroup *cg, const cg_topic_info *topics, int ntopics)
{
    bool *sub = calloc((size_t)ntopics + 1, sizeof(bool));
    BROOK_ASSERT(sub);
    group_subscribed(cg, topics, ntopics, sub);
    uint64_t h = meta_hash(topics, ntopics, sub);
    free(sub);
    if (h == cg->meta_hash)
        return false;
    cg->meta_hash = h;
    return true;
}

void cgroup_heartbeat(group_coord *c, const cg_hb_args *a, const cg_topic_info *topics,
                      int ntopics, int64_t now_ms, cg_hb_result *out)
{
    memset(out, 0, sizeof(*out));
    out->heartbeat_interval_ms = c->cfg.cg_heartbeat_interval_ms;
    out->member_epoch = -1;
    const char *msg = NULL;
    int16_t err = validate(a, &msg);
    group *g = err ? NULL : consumer_group(c, a->group_id, a->member_epoch == 0, &err);
    if (!g) {
        result_error(out, err, msg);
        return;
    }
    cgroup *cg = g->cg;
    cmember *m = NULL;
    bool full = a->member_epoch == 0;
    if (a->member_epoch == 0) {
        m = join(cg, a, out);
        if (!m)
            return;
    } else {
        m = cgroup_member(cg, a->member_id);
        cmember *st = member_by_instance(cg, a->instance_id);
        if (!m && st) { /* an older incarnation of a static member that was replaced */
            result_error(out, KERR_FENCED_INSTANCE_ID, NULL);
            return;
        }
        if (!m) {
            result_error(out, KERR_UNKNOWN_MEMBER_ID, NULL);
            return;
        }
        if (a->member_epoch < 0) {
            out->member_id = a->member_id; /* the caller's: m may be gone */
            leave(cg, m, a->member_epoch, out);
            return;
        }
        err = check_epoch(m, a);
        if (err) {
            result_error(out, err, NULL);
            return;
        }
        full = a->rebalance_timeout_ms != -1 && a->ntopics >= 0 && a->nowned >= 0;
    }
    /* one bump for whatever changed: a new member, its subscription, the topics */
    bool bump = update_member(m, a) || (a->member_epoch == 0 && m->epoch == 0);
    m->session_deadline_ms = now_ms + c->cfg.cg_session_timeout_ms;
    if (refresh_metadata(cg, topics, ntopics) || bump) {
        cg->group_epoch++;
        cg->dirty = true;
    }
    if (cg->group_epoch > cg->assignment_epoch)
        compute_target(cg, topics, ntopics);
    cg_set before = {0};
    set_copy(&before, &m->assigned);
    int32_t epoch_before = m->epoch;
    reconcile(cg, m, a->owned, a->nowned, now_ms);
    out->member_id = m->id;
    out->member_epoch = m->epoch;
    if (full || !set_eq(&before, &m->assigned) || epoch_before != m->epoch)
        out->assignment = &m->assigned;
    set_free(&before);
}

void cgroup_tick(group_coord *c, group *g, int64_t now_ms)
{
    cgroup *cg = g->cg;
    /* Pending regexes count from now: the next heartbeat finds the subscribed topics
     * changed and bumps the group epoch once for them. */
    for (int i = 0; cg && i < cg->nmembers; i++)
        if (cg->members[i]->regex_pending) {
            cg->members[i]->regex_pending = false;
            cg->meta_hash = 0;
        }
    for (int i = 0; cg && i < cg->nmembers;) {
        cmember *m = cg->members[i];
        if (m->session_deadline_ms == 0)
            m->session_deadline_ms = now_ms + c->cfg.cg_session_timeout_ms;
        if (m->state == CM_UNREVOKED && m->revoke_deadline_ms == 0)
            m->revoke_deadline_ms = now_ms + m->rebalance_timeout_ms;
        bool expired = m->session_deadline_ms <= now_ms ||
                       (m->state == CM_UNREVOKED && m->revoke_deadline_ms <= now_ms);
        if (expired) {
            member_remove(cg, m);
            i = 0;
            continue;
        }
        i++;
    }
}

/* ---------------- offsets, describe ---------------- */

int16_t cgroup_commit_check(const group *g, const char *member_id, int32_t epoch, bool txn,
                            int16_t version)
{
    const cgroup *cg = g->cg;
    if (epoch < 0 && cg->nmembers == 0)
        return KERR_NONE;
    const cmember *m = cgroup_member(cg, member_id);
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    if (!txn && version < 9)
        return KERR_UNSUPPORTED_VERSION;
    if (epoch > m->epoch)
        return KERR_FENCED_MEMBER_EPOCH;
    if (epoch < m->epoch)
        return KERR_STALE_MEMBER_EPOCH;
    return KERR_NONE;
}

int16_t cgroup_fetch_check(const group *g, const char *member_id, int32_t epoch)
{
    if (epoch < 0 && (!member_id || !*member_id))
        return KERR_NONE;
    const cmember *m = cgroup_member(g->cg, member_id);
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    return epoch != m->epoch ? KERR_STALE_MEMBER_EPOCH : KERR_NONE;
}

const char *cgroup_state_name(const group *g)
{
    const cgroup *cg = g->cg;
    if (cg->nmembers == 0)
        return "Empty";
    if (cg->group_epoch > cg->assignment_epoch)
        return "Assigning";
    for (int i = 0; i < cg->nmembers; i++)
        if (cg->members[i]->epoch != cg->assignment_epoch ||
            cg->members[i]->state != CM_STABLE)
            return "Reconciling";
    return "Stable";
}

bool cgroup_subscribed_to(const group *g, const char *topic)
{
    cg_topic_info t = {.name = topic, .internal = kafka_topic_internal(topic)};
    for (int i = 0; i < g->cg->nmembers; i++)
        if (member_subscribes(g->cg->members[i], &t))
            return true;
    return false;
}

bool cgroup_check(const group *g, char *why)
{
    const cgroup *cg = g->cg;
    for (int i = 0; i < cg->nmembers; i++) {
        const cmember *m = cg->members[i];
        if (!set_sorted(&m->assigned) || !set_sorted(&m->revoking) || !set_sorted(&m->target)) {
            snprintf(why, 256, "member %s: a set is not sorted", m->id);
            return false;
        }
        const cg_set *mine[2] = {&m->assigned, &m->revoking};
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < mine[s]->n; k++)
                if ((s == 0 && cg_set_has(&m->revoking, &mine[s]->v[k])) ||
                    held_by_other(cg, m, &mine[s]->v[k])) {
                    snprintf(why, 256, "partition %d held twice (member %s)",
                             mine[s]->v[k].part, m->id);
                    return false;
                }
        if (m->epoch > cg->assignment_epoch) {
            snprintf(why, 256, "member %s epoch %d above the assignment epoch %d", m->id,
                     m->epoch, cg->assignment_epoch);
            return false;
        }
    }
    return true;
}

/* ---------------- records ---------------- */

static void put_set(wr *w, const cg_set *s)
{
    wr_i32(w, s->n);
    for (int i = 0; i < s->n; i++) {
        wr_raw(w, s->v[i].topic, CG_TOPIC_ID_LEN);
        wr_i32(w, s->v[i].part);
    }
}

static void get_set(rd *r, cg_set *s)
{
    set_clear(s);
    int32_t n = rd_i32(r);
    for (int32_t i = 0; i < n && !r->err; i++) {
        cg_tp tp;
        const uint8_t *id = rd_raw(r, CG_TOPIC_ID_LEN);
        tp.part = rd_i32(r);
        if (!id || r->err)
            return;
        memcpy(tp.topic, id, CG_TOPIC_ID_LEN);
        set_add(s, &tp);
    }
}

void cgroup_encode_meta(wr *w, const cgroup *cg)
{
    wr_i8(w, RECORD_VERSION);
    wr_i32(w, cg->group_epoch);
    wr_i32(w, cg->assignment_epoch);
    wr_i64(w, (int64_t)cg->meta_hash);
    group_put_nstr(w, cg->assignor);
}

void cgroup_encode_member(wr *w, const cmember *m)
{
    wr_i8(w, RECORD_VERSION);
    wr_i32(w, m->epoch);
    wr_i32(w, m->prev_epoch);
    wr_i8(w, m->state);
    wr_i32(w, m->rebalance_timeout_ms);
    wr_bool(w, m->left_static);
    wr_bool(w, m->regex_pending); /* a restart before the tick still resolves it then */
    group_put_nstr(w, m->instance_id);
    group_put_nstr(w, m->rack_id);
    group_put_nstr(w, m->client_id);
    group_put_nstr(w, m->client_host);
    group_put_nstr(w, m->regex);
    group_put_nstr(w, m->assignor);
    wr_i32(w, m->ntopics);
    for (int i = 0; i < m->ntopics; i++)
        group_put_nstr(w, m->topics[i]);
    put_set(w, &m->assigned);
    put_set(w, &m->revoking);
    put_set(w, &m->target);
}

static cgroup *replay_group(group_coord *c, const char *group_id)
{
    int16_t err = 0;
    group *g = consumer_group(c, group_id, true, &err);
    return g ? g->cg : NULL;
}

void cgroup_apply_meta(group_coord *c, const char *group_id, rd *r)
{
    cgroup *cg = replay_group(c, group_id);
    if (!cg || rd_i8(r) != RECORD_VERSION)
        return;
    int32_t ge = rd_i32(r), ae = rd_i32(r);
    int64_t h = rd_i64(r);
    char *assignor = group_get_nstr(r);
    if (!r->err) {
        cg->group_epoch = ge;
        cg->assignment_epoch = ae;
        cg->meta_hash = (uint64_t)h;
        free(cg->assignor);
        cg->assignor = assignor;
    } else {
        free(assignor);
    }
    cg->dirty = false;
}

/* Reads a member record into m; false when it is malformed (m is then dropped). */
static bool decode_member(rd *r, cmember *m)
{
    if (rd_i8(r) != RECORD_VERSION)
        return false;
    m->epoch = rd_i32(r);
    m->prev_epoch = rd_i32(r);
    m->state = rd_i8(r);
    m->rebalance_timeout_ms = rd_i32(r);
    m->left_static = rd_bool(r);
    m->regex_pending = rd_bool(r);
    char **strs[6] = {&m->instance_id, &m->rack_id,  &m->client_id,
                      &m->client_host, &m->regex, &m->assignor};
    for (int i = 0; i < 6; i++) {
        free(*strs[i]);
        *strs[i] = group_get_nstr(r);
    }
    regex_compile(m);
    topics_free(m);
    int32_t n = rd_i32(r);
    if (r->err || n < 0 || (size_t)n > r->len - r->off)
        return false;
    m->topics = calloc((size_t)n + 1, sizeof(char *));
    BROOK_ASSERT(m->topics);
    for (int32_t i = 0; i < n && !r->err; i++)
        m->topics[m->ntopics++] = group_get_nstr(r);
    get_set(r, &m->assigned);
    get_set(r, &m->revoking);
    get_set(r, &m->target);
    return !r->err && m->state >= 0 && m->state < CM_STATE_COUNT;
}

void cgroup_apply_member(group_coord *c, const char *group_id, const char *member_id, rd *r)
{
    cgroup *cg = replay_group(c, group_id);
    if (!cg)
        return;
    cmember *m = cgroup_member(cg, member_id);
    if (!r) {
        if (m) {
            for (int i = 0; i < cg->nmembers; i++)
                if (cg->members[i] == m)
                    cg->members[i] = cg->members[--cg->nmembers];
            member_free(m);
        }
        return;
    }
    if (!m)
        m = member_add(cg, member_id);
    bool ok = decode_member(r, m);
    m->session_deadline_ms = 0; /* the session starts again at the next tick */
    m->revoke_deadline_ms = 0;
    m->dirty = false;
    if (!ok)
        cgroup_apply_member(c, group_id, member_id, NULL);
}
