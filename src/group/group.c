/* group.c - see group.h and docs/groups.md. Rules follow Kafka's GroupCoordinator
 * (shared/kafka/PROTOCOL.md §C.7). */
#include "group/group.h"

#include "group/cgroup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "base/assert.h"
#include "proto/errors.h"


static const char *g_names[GROUP_STATE_COUNT] = {"Empty", "PreparingRebalance",
                                                 "CompletingRebalance", "Stable", "Dead"};

const char *group_state_name(int s) { return s >= 0 && s < GROUP_STATE_COUNT ? g_names[s] : "?"; }

#define B(s) (1u << (s))
static const unsigned g_from[GROUP_STATE_COUNT] = {
    [GROUP_EMPTY] = B(GROUP_PREPARING_REBALANCE),
    [GROUP_PREPARING_REBALANCE] = B(GROUP_EMPTY) | B(GROUP_COMPLETING_REBALANCE) | B(GROUP_STABLE),
    [GROUP_COMPLETING_REBALANCE] = B(GROUP_PREPARING_REBALANCE),
    [GROUP_STABLE] = B(GROUP_COMPLETING_REBALANCE),
    [GROUP_DEAD] = B(GROUP_EMPTY) | B(GROUP_PREPARING_REBALANCE) | B(GROUP_COMPLETING_REBALANCE) |
                   B(GROUP_STABLE) | B(GROUP_DEAD),
};

bool group_transition_allowed(int from, int to)
{
    if (from < 0 || from >= GROUP_STATE_COUNT || to < 0 || to >= GROUP_STATE_COUNT)
        return false;
    return (g_from[to] & B(from)) != 0;
}

static void set_state(group *g, int to)
{
    BROOK_ASSERT(group_transition_allowed(g->state, to));
    g->state = (int8_t)to;
}

void group_coord_init(group_coord *c, const group_config *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
}

char *group_dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    BROOK_ASSERT(d);
    return d;
}

static void offset_free(goffset *o)
{
    free(o->topic);
    free(o->metadata);
    free(o);
}

static void offsets_free(goffset **h)
{
    goffset *o, *tmp;
    HASH_ITER(hh, *h, o, tmp)
    {
        HASH_DEL(*h, o);
        offset_free(o);
    }
}

static void member_free(gmember *m)
{
    free(m->id);
    free(m->replaced_id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    for (int i = 0; i < m->nprotocols; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].metadata);
    }
    free(m->protocols);
    free(m->assignment);
    free(m);
}

static void pid_index_add(group_coord *c, gpending *p)
{
    gpid_groups *e = NULL;
    HASH_FIND(hh, c->by_pid, &p->pid, sizeof(p->pid), e);
    if (!e) {
        e = calloc(1, sizeof(*e));
        BROOK_ASSERT(e);
        e->pid = p->pid;
        HASH_ADD(hh, c->by_pid, pid, sizeof(e->pid), e);
    }
    DL_APPEND2(e->list, p, pid_prev, pid_next);
}

static void pid_index_del(group_coord *c, gpending *p)
{
    gpid_groups *e = NULL;
    HASH_FIND(hh, c->by_pid, &p->pid, sizeof(p->pid), e);
    BROOK_ASSERT(e && e->list);
    DL_DELETE2(e->list, p, pid_prev, pid_next);
    if (!e->list) {
        HASH_DEL(c->by_pid, e);
        free(e);
    }
}

/* Frees one producer's pending offsets of a group, after unlinking them from both indexes. */
static void pending_free(group_coord *c, group *g, gpending *p)
{
    HASH_DEL(g->pending, p);
    pid_index_del(c, p);
    offsets_free(&p->offsets);
    free(p);
}

static void group_free(group_coord *c, group *g)
{
    for (int i = 0; i < g->nmembers; i++)
        member_free(g->members[i]);
    free(g->members);
    for (int i = 0; i < g->npending_ids; i++)
        free(g->pending_ids[i].id);
    free(g->pending_ids);
    offsets_free(&g->offsets);
    gpending *p, *tmp;
    HASH_ITER(hh, g->pending, p, tmp)
        pending_free(c, g, p);
    free(g->id);
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader);
    cgroup_free(g->cg);
    free(g);
}

void group_coord_clear_actions(group_coord *c)
{
    for (size_t i = 0; i < c->nacts; i++)
        free(c->acts[i].members);
    c->nacts = 0;
}

void group_coord_free(group_coord *c)
{
    group_coord_clear_actions(c);
    free(c->acts);
    group *g, *tmp;
    HASH_ITER(hh, c->groups, g, tmp)
    {
        HASH_DEL(c->groups, g);
        group_free(c, g);
    }
    BROOK_ASSERT(c->by_pid == NULL);
}

group *group_find(const group_coord *c, const char *id)
{
    group *g = NULL;
    HASH_FIND_STR(c->groups, id, g);
    return g;
}

group *group_get(group_coord *c, const char *id)
{
    group *g = group_find(c, id);
    if (g)
        return g;
    g = calloc(1, sizeof(*g));
    BROOK_ASSERT(g);
    g->id = group_dup_or_null(id);
    g->state = GROUP_EMPTY;
    HASH_ADD_KEYPTR(hh, c->groups, g->id, strlen(g->id), g);
    return g;
}

static group_action *emit(group_coord *c, int kind, group *g, group_req req)
{
    if (c->nacts == c->acts_cap) {
        size_t cap = c->acts_cap ? c->acts_cap * 2 : 16;
        group_action *n = realloc(c->acts, cap * sizeof(*n));
        BROOK_ASSERT(n);
        c->acts = n;
        c->acts_cap = cap;
    }
    group_action *a = &c->acts[c->nacts++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->g = g;
    a->req = req;
    return a;
}

/* The group's record is due (generation, and in Stable its members and assignments). */
static void emit_persist(group_coord *c, group *g)
{
    group_action *p = emit(c, GA_PERSIST_GROUP, g, 0);
    p->generation = g->generation;
}

static void reply_error(group_coord *c, group *g, int kind, group_req req, int16_t version,
                        const char *member_id, int16_t err)
{
    if (!req)
        return;
    group_action *a = emit(c, kind, g, req);
    a->error = err;
    a->version = version;
    a->member_id = member_id;
    a->generation = -1;
}

static gmember *member_find(const group *g, const char *id)
{
    for (int i = 0; i < g->nmembers; i++)
        if (strcmp(g->members[i]->id, id) == 0)
            return g->members[i];
    return NULL;
}

static void member_remove(group *g, gmember *m)
{
    for (int i = 0; i < g->nmembers; i++)
        if (g->members[i] == m) {
            memmove(&g->members[i], &g->members[i + 1],
                    sizeof(*g->members) * (size_t)(g->nmembers - i - 1));
            g->nmembers--;
            break;
        }
    if (g->leader && strcmp(g->leader, m->id) == 0) {
        free(g->leader);
        g->leader = NULL;
    }
    member_free(m);
}

static void set_protocols(gmember *m, const join_args *a)
{
    for (int i = 0; i < m->nprotocols; i++) {
        free(m->protocols[i].name);
        free(m->protocols[i].metadata);
    }
    free(m->protocols);
    m->nprotocols = a->nprotocols;
    m->protocols = calloc((size_t)a->nprotocols + 1, sizeof(gprotocol));
    BROOK_ASSERT(m->protocols);
    for (int i = 0; i < a->nprotocols; i++) {
        m->protocols[i].name = group_dup_or_null(a->protocol_names[i]);
        m->protocols[i].len = a->protocol_len[i];
        m->protocols[i].metadata = malloc((size_t)a->protocol_len[i] + 1);
        BROOK_ASSERT(m->protocols[i].metadata);
        if (a->protocol_len[i] > 0)
            memcpy(m->protocols[i].metadata, a->protocol_metadata[i], (size_t)a->protocol_len[i]);
    }
}

static bool same_protocols(const gmember *m, const join_args *a)
{
    if (m->nprotocols != a->nprotocols)
        return false;
    for (int i = 0; i < a->nprotocols; i++)
        if (strcmp(m->protocols[i].name, a->protocol_names[i]) != 0 ||
            m->protocols[i].len != a->protocol_len[i] ||
            memcmp(m->protocols[i].metadata, a->protocol_metadata[i], (size_t)a->protocol_len[i]))
            return false;
    return true;
}

static bool member_supports(const gmember *m, const char *protocol)
{
    for (int i = 0; i < m->nprotocols; i++)
        if (strcmp(m->protocols[i].name, protocol) == 0)
            return true;
    return false;
}

/* Does every member, plus the joining one, share at least one protocol? */
static bool protocols_compatible(const group *g, const join_args *a, const gmember *self)
{
    for (int p = 0; p < a->nprotocols; p++) {
        bool all = true;
        for (int i = 0; i < g->nmembers && all; i++)
            if (g->members[i] != self)
                all = member_supports(g->members[i], a->protocol_names[p]);
        if (all)
            return true;
    }
    return false;
}

/* The protocol for the new generation: the leader's first choice all members support. */
static const char *select_protocol(const group *g, const gmember *leader)
{
    for (int p = 0; p < leader->nprotocols; p++) {
        bool all = true;
        for (int i = 0; i < g->nmembers && all; i++)
            all = member_supports(g->members[i], leader->protocols[p].name);
        if (all)
            return leader->protocols[p].name;
    }
    return leader->nprotocols > 0 ? leader->protocols[0].name : "";
}

static void cancel_syncs(group_coord *c, group *g, int16_t err)
{
    for (int i = 0; i < g->nmembers; i++)
        if (g->members[i]->sync_req) {
            reply_error(c, g, GA_SYNC_REPLY, g->members[i]->sync_req, 0, g->members[i]->id, err);
            g->members[i]->sync_req = 0;
        }
}

static void prepare_rebalance(group_coord *c, group *g, int64_t now_ms)
{
    if (g->state == GROUP_PREPARING_REBALANCE)
        return;
    cancel_syncs(c, g, KERR_REBALANCE_IN_PROGRESS);
    int32_t timeout = 0;
    for (int i = 0; i < g->nmembers; i++) {
        g->members[i]->joined = g->members[i]->join_req != 0;
        if (g->members[i]->rebalance_timeout_ms > timeout)
            timeout = g->members[i]->rebalance_timeout_ms;
    }
    g->initial_join = g->state == GROUP_EMPTY;
    if (g->initial_join && timeout > c->cfg.initial_rebalance_delay_ms)
        timeout = c->cfg.initial_rebalance_delay_ms;
    g->rebalance_deadline_ms = now_ms + timeout;
    set_state(g, GROUP_PREPARING_REBALANCE);
    c->rebalances++;
}

/* Ends the join phase: drops members that did not rejoin, bumps the generation, picks
 * leader and protocol, and answers every JoinGroup (the member list to the leader only). */
static void complete_join(group_coord *c, group *g, int64_t now_ms)
{
    for (int i = 0; i < g->nmembers;) {
        if (!g->members[i]->join_req) {
            member_remove(g, g->members[i]);
            continue;
        }
        i++;
    }
    g->generation++;
    emit_persist(c, g);
    if (g->nmembers == 0) {
        free(g->protocol_name);
        g->protocol_name = NULL;
        set_state(g, GROUP_EMPTY);
        return;
    }
    if (!g->leader || !member_find(g, g->leader)) {
        free(g->leader);
        g->leader = group_dup_or_null(g->members[0]->id);
    }
    gmember *leader = member_find(g, g->leader);
    free(g->protocol_name);
    g->protocol_name = group_dup_or_null(select_protocol(g, leader));
    set_state(g, GROUP_COMPLETING_REBALANCE);
    for (int i = 0; i < g->nmembers; i++) {
        gmember *m = g->members[i];
        group_action *a = emit(c, GA_JOIN_REPLY, g, m->join_req);
        a->version = m->join_version;
        a->member_id = m->id;
        a->generation = g->generation;
        a->protocol_name = g->protocol_name;
        a->leader = g->leader;
        if (m == leader) {
            a->members = calloc((size_t)g->nmembers, sizeof(join_info));
            BROOK_ASSERT(a->members);
            a->nmembers = g->nmembers;
            for (int k = 0; k < g->nmembers; k++) {
                gmember *o = g->members[k];
                const gprotocol *pr = NULL;
                for (int q = 0; q < o->nprotocols && !pr; q++)
                    if (strcmp(o->protocols[q].name, g->protocol_name) == 0)
                        pr = &o->protocols[q];
                a->members[k] = (join_info){o->id, o->instance_id, pr ? pr->metadata : NULL,
                                            pr ? pr->len : 0};
            }
        }
        m->join_req = 0;
        m->joined = false;
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        m->deadline_ms = now_ms + m->session_timeout_ms;
    }
}

static void maybe_complete_join(group_coord *c, group *g, int64_t now_ms)
{
    if (g->state != GROUP_PREPARING_REBALANCE)
        return;
    bool all = true;
    for (int i = 0; i < g->nmembers && all; i++)
        all = g->members[i]->join_req != 0;
    /* A group that starts from Empty waits the initial delay so joiners arrive together. */
    if ((all && g->nmembers > 0 && !g->initial_join) || now_ms >= g->rebalance_deadline_ms ||
        g->nmembers == 0) {
        g->initial_join = false;
        complete_join(c, g, now_ms);
    }
}

static gmember *member_add(group *g, const join_args *a, const char *id, group_req req,
                           int64_t now_ms)
{
    gmember *m = calloc(1, sizeof(*m));
    BROOK_ASSERT(m);
    m->id = group_dup_or_null(id);
    m->instance_id = group_dup_or_null(a->instance_id);
    m->client_id = group_dup_or_null(a->client_id ? a->client_id : "");
    m->client_host = group_dup_or_null(a->client_host ? a->client_host : "");
    m->session_timeout_ms = a->session_timeout_ms;
    m->rebalance_timeout_ms = a->rebalance_timeout_ms;
    set_protocols(m, a);
    m->join_req = req;
    m->join_version = a->version;
    m->deadline_ms = now_ms + a->session_timeout_ms;
    if (g->nmembers == g->members_cap) {
        int cap = g->members_cap ? g->members_cap * 2 : 4;
        gmember **n = realloc(g->members, sizeof(*n) * (size_t)cap);
        BROOK_ASSERT(n);
        g->members = n;
        g->members_cap = cap;
    }
    g->members[g->nmembers++] = m;
    return m;
}

static int pending_id_find(const group *g, const char *id)
{
    for (int i = 0; i < g->npending_ids; i++)
        if (strcmp(g->pending_ids[i].id, id) == 0)
            return i;
    return -1;
}

static void pending_id_remove(group *g, int i)
{
    free(g->pending_ids[i].id);
    g->pending_ids[i] = g->pending_ids[--g->npending_ids];
}

static void pending_id_add(group *g, const char *id, int64_t deadline)
{
    if (g->npending_ids == g->pending_ids_cap) {
        int cap = g->pending_ids_cap ? g->pending_ids_cap * 2 : 4;
        gpending_id *n = realloc(g->pending_ids, sizeof(*n) * (size_t)cap);
        BROOK_ASSERT(n);
        g->pending_ids = n;
        g->pending_ids_cap = cap;
    }
    g->pending_ids[g->npending_ids++] = (gpending_id){group_dup_or_null(id), deadline};
}

static gmember *member_by_instance(const group *g, const char *instance)
{
    for (int i = 0; instance && i < g->nmembers; i++)
        if (g->members[i]->instance_id && strcmp(g->members[i]->instance_id, instance) == 0)
            return g->members[i];
    return NULL;
}

/* KIP-345 fencing: a request that names a group.instance.id whose static member now has
 * another member id comes from a zombie (the instance restarted elsewhere). */
static bool instance_fenced(const group *g, const char *member_id, const char *instance_id)
{
    const gmember *owner = g ? member_by_instance(g, instance_id) : NULL;
    return owner && member_id && strcmp(owner->id, member_id) != 0;
}

static void emit_join_current(group_coord *c, group *g, group_req req, int16_t version,
                              const char *member_id, const char *leader)
{
    group_action *r = emit(c, GA_JOIN_REPLY, g, req);
    r->version = version;
    r->member_id = member_id;
    r->generation = g->generation;
    r->protocol_name = g->protocol_name;
    r->leader = leader;
}

/* KIP-345: a static member that restarts (JoinGroup with no member id and a known
 * group.instance.id) takes its old member's place under a new id and keeps its
 * assignment; requests still parked under the old id are fenced. In a Stable group whose
 * protocol choice does not change, nothing rebalances: the member gets the current
 * generation back, with the leader id as it was before the replacement (so a restarted
 * leader does not compute a new assignment that a Stable group would never hand out),
 * and then its old assignment from SyncGroup. Any other state rebalances as usual. */
static void static_rejoin(group_coord *c, group *g, gmember *m, group_req req,
                          const join_args *a, int64_t now_ms)
{
    if (m->join_req)
        reply_error(c, g, GA_JOIN_REPLY, m->join_req, m->join_version, m->id,
                    KERR_FENCED_INSTANCE_ID);
    if (m->sync_req)
        reply_error(c, g, GA_SYNC_REPLY, m->sync_req, 0, m->id, KERR_FENCED_INSTANCE_ID);
    m->join_req = m->sync_req = 0;
    bool was_leader = g->leader && strcmp(g->leader, m->id) == 0;
    free(m->replaced_id);
    m->replaced_id = m->id;
    m->id = group_dup_or_null(a->new_member_id);
    if (was_leader) {
        free(g->leader);
        g->leader = group_dup_or_null(m->id);
    }
    set_protocols(m, a);
    free(m->client_id);
    m->client_id = group_dup_or_null(a->client_id ? a->client_id : "");
    m->session_timeout_ms = a->session_timeout_ms;
    m->rebalance_timeout_ms = a->rebalance_timeout_ms;
    m->deadline_ms = now_ms + a->session_timeout_ms;
    gmember *leader = g->leader ? member_find(g, g->leader) : NULL;
    if (g->state == GROUP_STABLE && leader && g->protocol_name &&
        strcmp(select_protocol(g, leader), g->protocol_name) == 0) {
        emit_persist(c, g); /* the new member id */
        emit_join_current(c, g, req, a->version, m->id, was_leader ? m->replaced_id : g->leader);
        return;
    }
    m->join_req = req;
    m->join_version = a->version;
    prepare_rebalance(c, g, now_ms);
    maybe_complete_join(c, g, now_ms);
}

void group_join(group_coord *c, group_req req, const join_args *a, int64_t now_ms)
{
    const char *mid = a->member_id ? a->member_id : "";
    if (!a->group_id || !*a->group_id) {
        reply_error(c, NULL, GA_JOIN_REPLY, req, a->version, mid, KERR_INVALID_GROUP_ID);
        return;
    }
    if (a->session_timeout_ms < c->cfg.min_session_timeout_ms ||
        a->session_timeout_ms > c->cfg.max_session_timeout_ms) {
        reply_error(c, NULL, GA_JOIN_REPLY, req, a->version, mid, KERR_INVALID_SESSION_TIMEOUT);
        return;
    }
    group *g = group_find(c, a->group_id);
    if (!g && *mid) {
        reply_error(c, NULL, GA_JOIN_REPLY, req, a->version, mid, KERR_UNKNOWN_MEMBER_ID);
        return;
    }
    if (!g)
        g = group_get(c, a->group_id);
    if (g->state == GROUP_DEAD) {
        reply_error(c, g, GA_JOIN_REPLY, req, a->version, mid, KERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    if (g->cg && g->cg->nmembers > 0) { /* a KIP-848 group with members */
        reply_error(c, g, GA_JOIN_REPLY, req, a->version, mid, KERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    if (g->cg) { /* an empty consumer group becomes classic, as in Kafka */
        cgroup_free(g->cg);
        g->cg = NULL;
    }
    bool typed = g->nmembers > 0 && g->protocol_type;
    gmember *m = *mid ? member_find(g, mid) : NULL;
    if (a->nprotocols > GROUP_PROTOCOLS_MAX) {
        reply_error(c, g, GA_JOIN_REPLY, req, a->version, mid, KERR_INVALID_REQUEST);
        return;
    }
    if (a->nprotocols == 0 || !a->protocol_type || !*a->protocol_type ||
        (typed && strcmp(g->protocol_type, a->protocol_type) != 0) ||
        !protocols_compatible(g, a, m)) {
        reply_error(c, g, GA_JOIN_REPLY, req, a->version, mid, KERR_INCONSISTENT_GROUP_PROTOCOL);
        return;
    }
    if (!*mid) {
        gmember *old = member_by_instance(g, a->instance_id);
        if (old) {
            static_rejoin(c, g, old, req, a, now_ms);
            return;
        }
        if (a->version >= 4 && !a->instance_id) {
            pending_id_add(g, a->new_member_id, now_ms + a->session_timeout_ms);
            reply_error(c, g, GA_JOIN_REPLY, req, a->version, a->new_member_id,
                        KERR_MEMBER_ID_REQUIRED);
            return;
        }
        mid = a->new_member_id;
    } else if (instance_fenced(g, mid, a->instance_id)) {
        reply_error(c, g, GA_JOIN_REPLY, req, a->version, mid, KERR_FENCED_INSTANCE_ID);
        return;
    } else if (!m) {
        int pi = pending_id_find(g, mid);
        if (pi < 0) {
            reply_error(c, g, GA_JOIN_REPLY, req, a->version, mid, KERR_UNKNOWN_MEMBER_ID);
            return;
        }
        pending_id_remove(g, pi);
    }
    if (!g->protocol_type || g->nmembers == 0) {
        free(g->protocol_type);
        g->protocol_type = group_dup_or_null(a->protocol_type);
    }
    if (!m) {
        member_add(g, a, mid, req, now_ms);
        prepare_rebalance(c, g, now_ms);
        maybe_complete_join(c, g, now_ms);
        return;
    }
    /* A known member rejoins. */
    if (m->join_req && m->join_req != req)
        reply_error(c, g, GA_JOIN_REPLY, m->join_req, m->join_version, m->id,
                    KERR_REBALANCE_IN_PROGRESS);
    bool changed = !same_protocols(m, a);
    set_protocols(m, a);
    m->session_timeout_ms = a->session_timeout_ms;
    m->rebalance_timeout_ms = a->rebalance_timeout_ms;
    m->deadline_ms = now_ms + a->session_timeout_ms;
    m->join_req = req;
    m->join_version = a->version;
    bool is_leader = g->leader && strcmp(g->leader, m->id) == 0;
    if (g->state == GROUP_PREPARING_REBALANCE) {
        maybe_complete_join(c, g, now_ms);
    } else if ((g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE) &&
               !changed && !is_leader) {
        /* A follower rejoining unchanged gets the current generation back. */
        emit_join_current(c, g, req, a->version, m->id, g->leader);
        m->join_req = 0;
    } else {
        prepare_rebalance(c, g, now_ms);
        maybe_complete_join(c, g, now_ms);
    }
}

void group_sync(group_coord *c, group_req req, int16_t version, const char *group_id,
                int32_t generation, const char *member_id, const char *instance_id, int n,
                const char **member_ids, const uint8_t **assignments, const int32_t *lens,
                int64_t now_ms)
{
    group *g = group_find(c, group_id);
    gmember *m = g ? member_find(g, member_id) : NULL;
    if (instance_fenced(g, member_id, instance_id)) {
        reply_error(c, g, GA_SYNC_REPLY, req, version, member_id, KERR_FENCED_INSTANCE_ID);
        return;
    }
    if (!m) {
        reply_error(c, g, GA_SYNC_REPLY, req, version, member_id, KERR_UNKNOWN_MEMBER_ID);
        return;
    }
    if (generation != g->generation) {
        reply_error(c, g, GA_SYNC_REPLY, req, version, member_id, KERR_ILLEGAL_GENERATION);
        return;
    }
    if (g->state == GROUP_PREPARING_REBALANCE) {
        reply_error(c, g, GA_SYNC_REPLY, req, version, member_id, KERR_REBALANCE_IN_PROGRESS);
        return;
    }
    m->deadline_ms = now_ms + m->session_timeout_ms;
    if (g->state == GROUP_STABLE) {
        group_action *a = emit(c, GA_SYNC_REPLY, g, req);
        a->version = version;
        a->assignment = m->assignment;
        a->assignment_len = m->assignment_len;
        return;
    }
    BROOK_ASSERT(g->state == GROUP_COMPLETING_REBALANCE);
    if (m->sync_req)
        reply_error(c, g, GA_SYNC_REPLY, m->sync_req, version, m->id, KERR_REBALANCE_IN_PROGRESS);
    m->sync_req = req;
    if (!g->leader || strcmp(g->leader, m->id) != 0)
        return;
    for (int i = 0; i < n; i++) {
        gmember *t = member_find(g, member_ids[i]);
        if (!t)
            continue;
        free(t->assignment);
        t->assignment = malloc((size_t)lens[i] + 1);
        BROOK_ASSERT(t->assignment);
        if (lens[i] > 0)
            memcpy(t->assignment, assignments[i], (size_t)lens[i]);
        t->assignment_len = lens[i];
    }
    set_state(g, GROUP_STABLE);
    emit_persist(c, g); /* members and assignments, so a restart keeps them */
    for (int i = 0; i < g->nmembers; i++) {
        gmember *t = g->members[i];
        if (!t->sync_req)
            continue;
        group_action *a = emit(c, GA_SYNC_REPLY, g, t->sync_req);
        a->version = version;
        a->assignment = t->assignment;
        a->assignment_len = t->assignment_len;
        t->sync_req = 0;
    }
}

int16_t group_heartbeat(group_coord *c, const char *group_id, int32_t generation,
                        const char *member_id, const char *instance_id, int64_t now_ms)
{
    group *g = group_find(c, group_id);
    gmember *m = g ? member_find(g, member_id) : NULL;
    if (instance_fenced(g, member_id, instance_id))
        return KERR_FENCED_INSTANCE_ID;
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    m->deadline_ms = now_ms + m->session_timeout_ms;
    if (generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    if (g->state == GROUP_PREPARING_REBALANCE)
        return KERR_REBALANCE_IN_PROGRESS;
    return KERR_NONE;
}

static void remove_and_rebalance(group_coord *c, group *g, gmember *m, int64_t now_ms)
{
    if (m->join_req)
        reply_error(c, g, GA_JOIN_REPLY, m->join_req, m->join_version, m->id,
                    KERR_UNKNOWN_MEMBER_ID);
    if (m->sync_req)
        reply_error(c, g, GA_SYNC_REPLY, m->sync_req, 0, m->id, KERR_UNKNOWN_MEMBER_ID);
    m->join_req = m->sync_req = 0;
    member_remove(g, m);
    if (g->state == GROUP_EMPTY)
        return;
    prepare_rebalance(c, g, now_ms);
    maybe_complete_join(c, g, now_ms);
}

int16_t group_leave(group_coord *c, const char *group_id, const char *member_id,
                    const char *instance_id, int64_t now_ms)
{
    group *g = group_find(c, group_id);
    gmember *m = !g ? NULL : instance_id ? member_by_instance(g, instance_id)
                                         : member_find(g, member_id);
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    if (instance_id && member_id && *member_id && strcmp(m->id, member_id) != 0)
        return KERR_FENCED_INSTANCE_ID;
    remove_and_rebalance(c, g, m, now_ms);
    return KERR_NONE;
}

void group_tick(group_coord *c, int64_t now_ms)
{
    for (group *g = c->groups; g; g = g->hh.next) {
        for (int i = 0; i < g->npending_ids;)
            if (g->pending_ids[i].deadline_ms <= now_ms)
                pending_id_remove(g, i);
            else
                i++;
        /* A member whose session expired is removed in any state (a dead member must not
         * hold a rebalance for the whole rebalance timeout); members waiting in JoinGroup
         * are not: the rebalance deadline decides for them. */
        for (int i = 0; i < g->nmembers;) {
            gmember *m = g->members[i];
            if (m->deadline_ms == 0) /* replayed: its session starts now */
                m->deadline_ms = now_ms + m->session_timeout_ms;
            if (!m->join_req && m->deadline_ms <= now_ms) {
                remove_and_rebalance(c, g, m, now_ms);
                i = 0;
                continue;
            }
            i++;
        }
        if (g->cg)
            cgroup_tick(c, g, now_ms);
        maybe_complete_join(c, g, now_ms);
    }
}

int16_t group_commit_check(group_coord *c, const char *group_id, int32_t generation,
                           const char *member_id, const char *instance_id, bool txn,
                           int64_t now_ms)
{
    if (!group_id || !*group_id)
        return KERR_INVALID_GROUP_ID;
    group *g = group_find(c, group_id);
    if (!g) {
        if (generation >= 0)
            return KERR_ILLEGAL_GENERATION;
        group_get(c, group_id); /* a "simple" group of a consumer using assign() */
        return KERR_NONE;
    }
    if (g->state == GROUP_DEAD)
        return KERR_COORDINATOR_NOT_AVAILABLE;
    /* generation -1: an admin client or a consumer without group management (its member
     * id, if it sends one, is not checked), allowed while the group is Empty */
    bool anonymous = generation < 0 && (!member_id || !*member_id);
    if ((generation < 0 && g->state == GROUP_EMPTY) || (anonymous && txn))
        return KERR_NONE;
    if (instance_fenced(g, member_id, instance_id))
        return KERR_FENCED_INSTANCE_ID;
    gmember *m = member_id ? member_find(g, member_id) : NULL;
    if (!m)
        return KERR_UNKNOWN_MEMBER_ID;
    if (generation != g->generation)
        return KERR_ILLEGAL_GENERATION;
    if (g->state == GROUP_COMPLETING_REBALANCE)
        return KERR_REBALANCE_IN_PROGRESS;
    m->deadline_ms = now_ms + m->session_timeout_ms;
    return KERR_NONE;
}

static void offset_put(goffset **h, const char *topic, int32_t partition, int64_t offset,
                       int32_t leader_epoch, kslice metadata, int64_t commit_ms)
{
    char key[256];
    size_t tl = strlen(topic);
    if (tl > sizeof(key) - 5)
        return;
    memcpy(key, topic, tl + 1);
    memcpy(key + tl + 1, &partition, 4);
    size_t kl = tl + 5;
    goffset *o = NULL;
    HASH_FIND(hh, *h, key, kl, o);
    if (!o) {
        o = calloc(1, sizeof(*o));
        BROOK_ASSERT(o);
        memcpy(o->key, key, kl);
        o->keylen = kl;
        o->topic = group_dup_or_null(topic);
        o->partition = partition;
        HASH_ADD(hh, *h, key, kl, o);
    }
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    int32_t mlen = metadata.len > 0 ? metadata.len : 0;
    uint8_t *m = malloc((size_t)mlen + 1);
    BROOK_ASSERT(m);
    if (mlen)
        memcpy(m, metadata.p, (size_t)mlen);
    m[mlen] = 0;
    free(o->metadata);
    o->metadata = m;
    o->metadata_len = mlen;
    o->commit_ms = commit_ms;
    o->written_ms = commit_ms; /* its record was appended when it was committed */
}

void group_offset_written(group_coord *c, const char *group_id, const char *topic,
                          int32_t partition, int64_t written_ms)
{
    group *g = group_find(c, group_id);
    goffset *o = g ? (goffset *)group_offset(g, topic, partition) : NULL;
    if (o && written_ms > o->written_ms)
        o->written_ms = written_ms;
}

bool group_has_members(const group *g) { return g->nmembers > 0 || (g->cg && g->cg->nmembers > 0); }

void group_apply_offset(group_coord *c, const char *group_id, int64_t pid, const char *topic,
                        int32_t partition, int64_t offset, int32_t leader_epoch,
                        kslice metadata, int64_t commit_ms)
{
    group *g = group_get(c, group_id);
    if (g->state == GROUP_DEAD)
        return;
    if (pid < 0) {
        offset_put(&g->offsets, topic, partition, offset, leader_epoch, metadata, commit_ms);
        return;
    }
    gpending *p = NULL;
    HASH_FIND(hh, g->pending, &pid, sizeof(pid), p);
    if (!p) {
        p = calloc(1, sizeof(*p));
        BROOK_ASSERT(p);
        p->pid = pid;
        p->g = g;
        HASH_ADD(hh, g->pending, pid, sizeof(p->pid), p);
        pid_index_add(c, p);
    }
    offset_put(&p->offsets, topic, partition, offset, leader_epoch, metadata, commit_ms);
}

void group_apply_txn_end(group_coord *c, const char *group_id, int64_t pid, bool commit)
{
    group *g = group_find(c, group_id);
    gpending *p = NULL;
    if (g)
        HASH_FIND(hh, g->pending, &pid, sizeof(pid), p);
    if (!p)
        return;
    if (commit)
        for (goffset *o = p->offsets; o; o = o->hh.next)
            offset_put(&g->offsets, o->topic, o->partition, o->offset, o->leader_epoch,
                       (kslice){o->metadata, o->metadata_len}, o->commit_ms);
    pending_free(c, g, p);
}

const gpending *group_pending_of_pid(const group_coord *c, int64_t pid)
{
    gpid_groups *e = NULL;
    HASH_FIND(hh, c->by_pid, &pid, sizeof(pid), e);
    return e ? e->list : NULL;
}

void group_apply_generation(group_coord *c, const char *group_id, const char *protocol_type,
                            int32_t generation)
{
    group *g = group_get(c, group_id);
    if (g->cg) { /* the group went back to the classic protocol */
        cgroup_free(g->cg);
        g->cg = NULL;
    }
    if (generation > g->generation)
        g->generation = generation;
    if (protocol_type && *protocol_type && !g->protocol_type)
        g->protocol_type = group_dup_or_null(protocol_type);
}

void group_put_nstr(wr *w, const char *s) { wr_str(w, s ? kslice_cstr(s) : KSLICE_NULL); }

char *group_get_nstr(rd *r)
{
    kslice k = rd_str(r);
    if (r->err || k.len < 0)
        return NULL;
    char *s = strndup((const char *)k.p, (size_t)k.len);
    BROOK_ASSERT(s);
    return s;
}

static void put_blob(wr *w, const uint8_t *p, int32_t len)
{
    wr_bytes(w, (kslice){p ? p : (const uint8_t *)"", len > 0 ? len : 0});
}

void group_encode_membership(wr *w, const group *g)
{
    if (g->state != GROUP_STABLE || g->cg || !g->protocol_name)
        return; /* nothing after the generation: no members to keep */
    wr_i8(w, 1); /* membership format */
    group_put_nstr(w, g->protocol_name);
    group_put_nstr(w, g->leader);
    wr_i32(w, g->nmembers);
    for (int i = 0; i < g->nmembers; i++) {
        const gmember *m = g->members[i];
        const gprotocol *pr = NULL;
        for (int k = 0; k < m->nprotocols && !pr; k++)
            if (strcmp(m->protocols[k].name, g->protocol_name) == 0)
                pr = &m->protocols[k];
        group_put_nstr(w, m->id);
        group_put_nstr(w, m->instance_id);
        group_put_nstr(w, m->client_id);
        group_put_nstr(w, m->client_host);
        wr_i32(w, m->session_timeout_ms);
        wr_i32(w, m->rebalance_timeout_ms);
        put_blob(w, pr ? pr->metadata : NULL, pr ? pr->len : 0);
        put_blob(w, m->assignment, m->assignment_len);
    }
}

static uint8_t *blob_dup(kslice b, int32_t *len)
{
    *len = b.len > 0 ? b.len : 0;
    uint8_t *p = malloc((size_t)*len + 1);
    BROOK_ASSERT(p);
    if (*len)
        memcpy(p, b.p, (size_t)*len);
    return p;
}

/* One replayed member (NULL when its bytes are malformed). */
static gmember *read_member(rd *r, const char *protocol)
{
    gmember *m = calloc(1, sizeof(*m));
    BROOK_ASSERT(m);
    m->id = group_get_nstr(r);
    m->instance_id = group_get_nstr(r);
    m->client_id = group_get_nstr(r);
    m->client_host = group_get_nstr(r);
    m->session_timeout_ms = rd_i32(r);
    m->rebalance_timeout_ms = rd_i32(r);
    kslice meta = rd_bytes(r), assignment = rd_bytes(r);
    if (r->err || !m->id || !m->client_id || !m->client_host) {
        member_free(m);
        return NULL;
    }
    m->protocols = calloc(1, sizeof(gprotocol));
    BROOK_ASSERT(m->protocols);
    m->nprotocols = 1;
    m->protocols[0].name = group_dup_or_null(protocol);
    m->protocols[0].metadata = blob_dup(meta, &m->protocols[0].len);
    m->assignment = blob_dup(assignment, &m->assignment_len);
    return m; /* deadline 0: the session starts at the next tick */
}

void group_apply_membership(group_coord *c, const char *group_id, rd *r)
{
    group *g = group_find(c, group_id);
    if (!g || g->cg)
        return;
    /* Replay rebuilds the state a record describes (not a transition): whatever an
     * earlier record said is superseded. */
    while (g->nmembers > 0)
        member_remove(g, g->members[0]);
    g->state = GROUP_EMPTY;
    if (r->off >= r->len || rd_i8(r) != 1)
        return; /* a record without members */
    char *protocol = group_get_nstr(r), *leader = group_get_nstr(r);
    int32_t n = rd_i32(r);
    for (int32_t i = 0; protocol && i < n && !r->err; i++) {
        gmember *m = read_member(r, protocol);
        if (!m)
            break;
        if (g->nmembers == g->members_cap) {
            int cap = g->members_cap ? g->members_cap * 2 : 4;
            gmember **nm = realloc(g->members, sizeof(*nm) * (size_t)cap);
            BROOK_ASSERT(nm);
            g->members = nm;
            g->members_cap = cap;
        }
        g->members[g->nmembers++] = m;
    }
    if (r->err || g->nmembers != n || !leader || !member_find(g, leader)) {
        while (g->nmembers > 0) /* malformed: keep nobody rather than half a group */
            member_remove(g, g->members[0]);
        free(protocol);
        free(leader);
        return;
    }
    free(g->protocol_name);
    g->protocol_name = protocol;
    free(g->leader);
    g->leader = leader;
    g->state = GROUP_STABLE;
}

void group_fail_requests(group_coord *c, const char *group_id, int16_t err)
{
    group *g = group_find(c, group_id);
    for (int i = 0; g && i < g->nmembers; i++) {
        gmember *m = g->members[i];
        if (m->join_req)
            reply_error(c, g, GA_JOIN_REPLY, m->join_req, m->join_version, m->id, err);
        if (m->sync_req)
            reply_error(c, g, GA_SYNC_REPLY, m->sync_req, 0, m->id, err);
        m->join_req = m->sync_req = 0;
    }
}

void group_apply_delete(group_coord *c, const char *group_id)
{
    group *g = group_find(c, group_id);
    if (!g)
        return;
    HASH_DEL(c->groups, g);
    group_free(c, g);
}

int16_t group_delete_check(const group_coord *c, const char *group_id)
{
    group *g = group_find(c, group_id);
    if (!g || g->state == GROUP_DEAD)
        return KERR_GROUP_ID_NOT_FOUND;
    if (g->state != GROUP_EMPTY || g->nmembers > 0 || (g->cg && g->cg->nmembers > 0))
        return KERR_NON_EMPTY_GROUP;
    return KERR_NONE;
}

int16_t group_offset_delete_check(const group_coord *c, const char *group_id)
{
    group *g = group_find(c, group_id);
    if (!g || g->state == GROUP_DEAD)
        return KERR_GROUP_ID_NOT_FOUND;
    if (g->state != GROUP_EMPTY && g->nmembers > 0 &&
        (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0))
        return KERR_NON_EMPTY_GROUP;
    return KERR_NONE;
}

/* Whether a ConsumerProtocolSubscription (version int16, topics: array of strings, then
 * fields this does not read) names topic. Malformed metadata names nothing. */
static bool subscription_has(const uint8_t *meta, int32_t len, const char *topic)
{
    rd r;
    rd_init(&r, meta, len > 0 ? (size_t)len : 0);
    (void)rd_i16(&r);
    int32_t n = rd_array(&r, 2);
    for (int32_t i = 0; i < n && !r.err; i++) {
        kslice t = rd_str(&r);
        if (!r.err && kslice_eq_cstr(t, topic))
            return true;
    }
    return false;
}

bool group_subscribed_to(const group *g, const char *topic)
{
    if (g->cg)
        return cgroup_subscribed_to(g, topic);
    if (g->state == GROUP_EMPTY || !g->protocol_name)
        return false;
    for (int i = 0; i < g->nmembers; i++) {
        const gmember *m = g->members[i];
        for (int p = 0; p < m->nprotocols; p++)
            if (strcmp(m->protocols[p].name, g->protocol_name) == 0 &&
                subscription_has(m->protocols[p].metadata, m->protocols[p].len, topic))
                return true;
    }
    return false;
}

void group_apply_offset_delete(group_coord *c, const char *group_id, const char *topic,
                               int32_t partition)
{
    group *g = group_find(c, group_id);
    goffset *o = g ? (goffset *)group_offset(g, topic, partition) : NULL;
    if (!o)
        return;
    HASH_DEL(g->offsets, o);
    offset_free(o);
}

const goffset *group_offset(const group *g, const char *topic, int32_t partition)
{
    char key[256];
    size_t tl = strlen(topic);
    if (tl > sizeof(key) - 5)
        return NULL;
    memcpy(key, topic, tl + 1);
    memcpy(key + tl + 1, &partition, 4);
    goffset *o = NULL;
    HASH_FIND(hh, g->offsets, key, tl + 5, o);
    return o;
}

bool group_offset_pending(const group *g, const char *topic, int32_t partition)
{
    for (const gpending *p = g->pending; p; p = p->hh.next) {
        char key[256];
        size_t tl = strlen(topic);
        if (tl > sizeof(key) - 5)
            return false;
        memcpy(key, topic, tl + 1);
        memcpy(key + tl + 1, &partition, 4);
        goffset *o = NULL;
        HASH_FIND(hh, p->offsets, key, tl + 5, o);
        if (o)
            return true;
    }
    return false;
}
