/* h_group.c - consumer groups: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
 * OffsetFetch, DescribeGroups, ListGroups, DeleteGroups; and offsets inside transactions:
 * AddOffsetsToTxn, TxnOffsetCommit. JoinGroup and SyncGroup park until the group
 * coordinator answers (group_on_action); offset commits park until their records are
 * durable. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"
#include "group/cgroup.h"
#include "proto/ident.h"
#include "proto/errors.h"
#include "proto/group_msgs.h"
#include "proto/inter_msgs.h"

#define KERR_OFFSET_METADATA_TOO_LARGE 12
#define OFFSET_METADATA_MAX 4096

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

/* Ids taken from the wire as C strings keep every byte (proto/ident.h). */
static char *cstr(req_ctx *c, kslice s) { return ident_decode(&c->nr->arena, s); }

/* A JoinGroup/SyncGroup answer already encoded goes out once its group record is durable
 * (or, when the log failed, all the same: the group's state is in memory and members rejoin
 * after a restart, as they did before membership was persisted). */
static void answer_durable(void *ctx, bool ok)
{
    BROOK_UNUSED(ok);
    finish(ctx);
}

/* The group coordinator answers a parked JoinGroup/SyncGroup (or anything else). */
void group_on_action(void *ctx, const group_action *a)
{
    BROOK_UNUSED(ctx);
    req_ctx *c = (req_ctx *)(uintptr_t)a->req;
    if (!c)
        return;
    int16_t v = c->h.api_version;
    resp_begin(&c->nr->resp, &c->h);
    if (a->kind == GA_JOIN_REPLY) {
        join_member *ms = NULL;
        if (a->nmembers > 0) {
            ms = arena_alloc(&c->nr->arena, sizeof(*ms) * (size_t)a->nmembers);
            for (int32_t i = 0; ms && i < a->nmembers; i++)
                ms[i] = (join_member){a->members[i].member_id, a->members[i].instance_id,
                                      {a->members[i].metadata, a->members[i].len}};
        }
        joingroup_resp m = {.error_code = a->error,
                            .generation_id = a->error ? -1 : a->generation,
                            .protocol_type = a->g && !a->error ? a->g->protocol_type : NULL,
                            .protocol_name = a->protocol_name,
                            .leader = a->leader,
                            .member_id = a->member_id,
                            .nmembers = ms ? a->nmembers : 0,
                            .members = ms};
        joingroup_resp_encode(&c->nr->resp, v, &m);
    } else if (a->kind == GA_SYNC_REPLY) {
        const group *g = a->error ? NULL : a->g;
        syncgroup_resp_encode(&c->nr->resp, v, a->error, g ? g->protocol_type : NULL,
                              g ? g->protocol_name : NULL, a->assignment, a->assignment_len);
    } else {
        group_error_resp_encode(&c->nr->resp, c->h.api_key, v, a->error);
    }
    if (a->persist_end > 0 && a->g) /* sent once the group record it follows is durable */
        group_service_when_durable(&c->b->grp, a->g->id, a->persist_end, answer_durable, c);
    else
        finish(c);
}

static void run_actions(req_ctx *c)
{
    group_service_flush_actions(&c->b->grp, group_now_ms());
}

void handle_join_group(req_ctx *c)
{
    joingroup_req q;
    arena *a = &c->nr->arena;
    if (joingroup_req_decode(&c->body, c->h.api_version, a, &q) != 0 || q.group_id.len < 0 ||
        q.member_id.len < 0) {
        broker_reply_malformed(c, "JoinGroup");
        return;
    }
    int16_t cerr = broker_coord_error(c, false, q.group_id, ACL_OP_READ);
    if (cerr != KERR_NONE) {
        joingroup_resp m = {.error_code = cerr, .generation_id = -1, .leader = "",
                            .member_id = ""};
        resp_begin(&c->nr->resp, &c->h);
        joingroup_resp_encode(&c->nr->resp, c->h.api_version, &m);
        finish(c);
        return;
    }
    join_args ja = {0};
    ja.group_id = cstr(c, q.group_id);
    ja.member_id = cstr(c, q.member_id);
    ja.instance_id = cstr(c, q.group_instance_id);
    ja.client_id = c->h.client_id.len >= 0 ? cstr(c, c->h.client_id) : "";
    ja.client_host = net_conn_peer(c->nr->conn);
    ja.protocol_type = cstr(c, q.protocol_type);
    ja.session_timeout_ms = q.session_timeout_ms;
    ja.rebalance_timeout_ms = q.rebalance_timeout_ms;
    ja.version = c->h.api_version;
    ja.nprotocols = q.nprotocols;
    const char **names = arena_alloc(a, sizeof(char *) * (size_t)(q.nprotocols + 1));
    const uint8_t **metas = arena_alloc(a, sizeof(uint8_t *) * (size_t)(q.nprotocols + 1));
    int32_t *lens = arena_alloc(a, sizeof(int32_t) * (size_t)(q.nprotocols + 1));
    char *fresh = arena_alloc(a, 300);
    if (!names || !metas || !lens || !fresh) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int32_t i = 0; i < q.nprotocols; i++) {
        names[i] = cstr(c, q.protocols[i].name);
        if (!names[i])
            names[i] = "";
        metas[i] = q.protocols[i].metadata.p;
        lens[i] = q.protocols[i].metadata.len > 0 ? q.protocols[i].metadata.len : 0;
    }
    ja.protocol_names = names;
    ja.protocol_metadata = metas;
    ja.protocol_len = lens;
    /* Kafka's member ids: client id, a dash, and something unique. */
    static uint64_t counter;
    int keep = 0; /* at most 200 bytes, never cutting an escaped byte (proto/ident.h) */
    while (ja.client_id[keep]) {
        int step = (uint8_t)ja.client_id[keep] == 0xC0 && ja.client_id[keep + 1] ? 2 : 1;
        if (keep + step > 200)
            break;
        keep += step;
    }
    snprintf(fresh, 300, "%.*s-%llx-%llx", keep, ja.client_id, (unsigned long long)clock_mono_us(),
             (unsigned long long)++counter);
    ja.new_member_id = fresh;
    group_join(&c->b->grp.coord, (group_req)(uintptr_t)c, &ja, group_now_ms());
    run_actions(c);
}

/* A SyncGroup v5 protocol type or name: null (not given) matches anything. */
static bool same_name(kslice given, const char *group_value)
{
    return given.len < 0 || (group_value && kslice_eq_cstr(given, group_value));
}

void handle_sync_group(req_ctx *c)
{
    syncgroup_req q;
    arena *a = &c->nr->arena;
    if (syncgroup_req_decode(&c->body, c->h.api_version, a, &q) != 0 || q.group_id.len < 0 ||
        q.member_id.len < 0) {
        broker_reply_malformed(c, "SyncGroup");
        return;
    }
    int16_t cerr = broker_coord_error(c, false, q.group_id, ACL_OP_READ);
    const group *g = group_find(&c->b->grp.coord, cstr(c, q.group_id));
    if (cerr == KERR_NONE && g && (!same_name(q.protocol_type, g->protocol_type) ||
                                   !same_name(q.protocol_name, g->protocol_name)))
        cerr = KERR_INCONSISTENT_GROUP_PROTOCOL; /* v5+: not the group's protocol */
    if (cerr != KERR_NONE) {
        resp_begin(&c->nr->resp, &c->h);
        syncgroup_resp_encode(&c->nr->resp, c->h.api_version, cerr, NULL, NULL, NULL, 0);
        finish(c);
        return;
    }
    const char **ids = arena_alloc(a, sizeof(char *) * (size_t)(q.nassignments + 1));
    const uint8_t **as = arena_alloc(a, sizeof(uint8_t *) * (size_t)(q.nassignments + 1));
    int32_t *lens = arena_alloc(a, sizeof(int32_t) * (size_t)(q.nassignments + 1));
    if (!ids || !as || !lens) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int32_t i = 0; i < q.nassignments; i++) {
        ids[i] = cstr(c, q.assignments[i].member_id);
        if (!ids[i])
            ids[i] = "";
        as[i] = q.assignments[i].assignment.p;
        lens[i] = q.assignments[i].assignment.len > 0 ? q.assignments[i].assignment.len : 0;
    }
    group_sync(&c->b->grp.coord, (group_req)(uintptr_t)c, c->h.api_version, cstr(c, q.group_id),
               q.generation_id, cstr(c, q.member_id), cstr(c, q.group_instance_id),
               q.nassignments, ids, as, lens, group_now_ms());
    run_actions(c);
}

static void reply_error_only(req_ctx *c, int16_t err)
{
    resp_begin(&c->nr->resp, &c->h);
    group_error_resp_encode(&c->nr->resp, c->h.api_key, c->h.api_version, err);
    finish(c);
}

void handle_heartbeat(req_ctx *c)
{
    heartbeat_req q;
    if (heartbeat_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0 ||
        q.group_id.len < 0 || q.member_id.len < 0) {
        broker_reply_malformed(c, "Heartbeat");
        return;
    }
    int16_t err = broker_coord_error(c, false, q.group_id, ACL_OP_READ);
    if (err == KERR_NONE)
        err = group_heartbeat(&c->b->grp.coord, cstr(c, q.group_id), q.generation_id,
                              cstr(c, q.member_id), cstr(c, q.group_instance_id),
                              group_now_ms());
    reply_error_only(c, err);
}

/* LeaveGroup: below v3 one member by id; from v3 (KIP-345) a list, each by member id or
 * by group.instance.id, answered one by one. */
void handle_leave_group(req_ctx *c)
{
    leavegroup_req q;
    if (leavegroup_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "LeaveGroup");
        return;
    }
    broker *b = c->b;
    q.error_code = broker_coord_error(c, false, q.group_id, ACL_OP_READ);
    const char *gid = cstr(c, q.group_id);
    if (q.error_code == KERR_NONE && c->h.api_version >= 3 &&
        !group_find(&b->grp.coord, gid))
        q.error_code = KERR_UNKNOWN_MEMBER_ID;
    for (int32_t i = 0; q.error_code == KERR_NONE && i < q.nmembers; i++) {
        leave_member *m = &q.members[i];
        m->error_code = group_leave(&b->grp.coord, gid, cstr(c, m->member_id),
                                    cstr(c, m->group_instance_id), group_now_ms());
    }
    resp_begin(&c->nr->resp, &c->h);
    leavegroup_resp_encode(&c->nr->resp, c->h.api_version, &q);
    finish(c);
    group_service_flush_actions(&b->grp, group_now_ms()); /* others' joins may complete */
}

/* ---------------- offsets ---------------- */

typedef struct commit_op {
    req_ctx *c;
    offset_topic *topics;
    int32_t ntopics;
    bool txn;
    /* TxnOffsetCommit, kept across the coordinator's verification */
    const char *gid, *member, *instance;
    int64_t pid;
    int32_t generation;
    gs_txn_guard guard; /* taken before the coordinator is asked */
} commit_op;

static void commit_reply(commit_op *op)
{
    resp_begin(&op->c->nr->resp, &op->c->h);
    offsetcommit_resp_encode(&op->c->nr->resp, op->c->h.api_version, op->txn, op->topics,
                             op->ntopics);
    finish(op->c);
}

static void commit_done(void *ctx, bool ok)
{
    commit_op *op = ctx;
    for (int32_t i = 0; i < op->ntopics; i++)
        for (int32_t k = 0; k < op->topics[i].nparts; k++)
            if (op->topics[i].parts[k].error_code == KERR_NONE && !ok)
                op->topics[i].parts[k].error_code = KERR_COORDINATOR_NOT_AVAILABLE;
    commit_reply(op);
}

/* Validates partitions, then stores the valid ones (pid >= 0: pending in a txn). */
static void commit_offsets(commit_op *op, const char *group_id, int64_t pid, int16_t err)
{
    req_ctx *c = op->c;
    broker *b = c->b;
    int total = 0;
    for (int32_t i = 0; i < op->ntopics; i++)
        total += op->topics[i].nparts;
    gs_offset *offs = arena_alloc(&c->nr->arena, sizeof(gs_offset) * (size_t)(total + 1));
    int n = 0;
    for (int32_t i = 0; i < op->ntopics; i++) {
        char *topic = cstr(c, op->topics[i].name);
        bool topic_ok = broker_may_slice(c, ACL_OP_READ, ACL_RES_TOPIC, op->topics[i].name);
        for (int32_t k = 0; k < op->topics[i].nparts; k++) {
            offset_part *p = &op->topics[i].parts[k];
            /* An unknown partition is refused before the group is asked, as Kafka's
             * broker does before its coordinator sees the commit. */
            int16_t perr = KERR_NONE;
            if (!topic_ok)
                perr = KERR_TOPIC_AUTHORIZATION_FAILED;
            else
                broker_partition(b, op->topics[i].name, p->index, &perr);
            if (perr == KERR_NONE)
                perr = err;
            if (perr == KERR_NONE && p->metadata.len > OFFSET_METADATA_MAX)
                perr = KERR_OFFSET_METADATA_TOO_LARGE;
            p->error_code = perr;
            if (perr == KERR_NONE && offs && topic)
                offs[n++] = (gs_offset){topic, p->index, p->offset, p->leader_epoch,
                                        p->metadata};
        }
    }
    if (n == 0) {
        commit_reply(op);
        return;
    }
    group_service_commit(&b->grp, group_id, pid, offs, n, group_now_ms(), commit_done, op);
}

void handle_offset_commit(req_ctx *c)
{
    offsetcommit_req q;
    commit_op *op = arena_alloc(&c->nr->arena, sizeof(*op));
    if (!op || offsetcommit_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0 ||
        q.group_id.len < 0) {
        broker_reply_malformed(c, "OffsetCommit");
        return;
    }
    op->c = c;
    op->topics = q.topics;
    op->ntopics = q.ntopics;
    const char *gid = cstr(c, q.group_id);
    int16_t err = broker_coord_error(c, false, q.group_id, ACL_OP_READ);
    const group *g = err == KERR_NONE && gid ? group_find(&c->b->grp.coord, gid) : NULL;
    if (g && g->cg) /* KIP-848: the generation is the member epoch */
        err = cgroup_commit_check(g, q.member_id.len >= 0 ? cstr(c, q.member_id) : "",
                                  q.generation_id, false, c->h.api_version);
    else if (err == KERR_NONE)
        err = group_commit_check(&c->b->grp.coord, gid, q.generation_id,
                                 q.member_id.len >= 0 ? cstr(c, q.member_id) : "",
                                 cstr(c, q.group_instance_id), false, group_now_ms());
    commit_offsets(op, gid, -1, err);
}

static void fill_offset(const group *g, const char *topic, offset_part *p, bool require_stable)
{
    p->offset = -1;
    p->leader_epoch = -1;
    p->metadata = kslice_cstr("");
    p->error_code = KERR_NONE;
    if (!g)
        return;
    if (require_stable && group_offset_pending(g, topic, p->index)) {
        p->error_code = KERR_UNSTABLE_OFFSET_COMMIT;
        return;
    }
    const goffset *o = group_offset(g, topic, p->index);
    if (o) {
        p->offset = o->offset;
        p->leader_epoch = o->leader_epoch;
        p->metadata = (kslice){o->metadata, o->metadata_len};
    }
}

/* One group's committed offsets for an OffsetFetch: the partitions asked for, or (null
 * topics) every committed one. */
static offsetfetch_resp fetch_group_offsets(req_ctx *c, const offsetfetch_group *q,
                                            bool require_stable)
{
    arena *a = &c->nr->arena;
    const group *g = group_find(&c->b->grp.coord, cstr(c, q->group_id));
    offsetfetch_resp m = {.group_id = q->group_id};
    m.error_code = broker_coord_error(c, false, q->group_id, ACL_OP_DESCRIBE);
    if (m.error_code == KERR_NONE && g && g->cg && c->h.api_version >= 9)
        m.error_code = cgroup_fetch_check(g, cstr(c, q->member_id), q->member_epoch);
    if (m.error_code != KERR_NONE)
        g = NULL;
    if (q->ntopics >= 0) {
        m.ntopics = q->ntopics;
        m.topics = arena_alloc(a, sizeof(offset_topic) * (size_t)(q->ntopics + 1));
        for (int32_t i = 0; m.topics && i < q->ntopics; i++) {
            offset_topic *t = &m.topics[i];
            t->name = q->topics[i].name;
            t->nparts = q->topics[i].nparts;
            t->parts = arena_alloc(a, sizeof(offset_part) * (size_t)(t->nparts + 1));
            char *topic = cstr(c, t->name);
            bool topic_ok = !g || broker_may_slice(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, t->name);
            for (int32_t k = 0; t->parts && topic && k < t->nparts; k++) {
                t->parts[k].index = q->topics[i].parts[k];
                fill_offset(topic_ok ? g : NULL, topic, &t->parts[k], require_stable);
                if (m.error_code != KERR_NONE)
                    t->parts[k].error_code = m.error_code;
                else if (!topic_ok)
                    t->parts[k].error_code = KERR_TOPIC_AUTHORIZATION_FAILED;
            }
        }
    } else if (g) {
        /* Every committed offset of the group, one topic entry per partition. */
        int32_t n = (int32_t)HASH_COUNT(g->offsets);
        m.topics = arena_alloc(a, sizeof(offset_topic) * (size_t)(n + 1));
        for (const goffset *o = g->offsets; m.topics && o; o = o->hh.next) {
            if (!broker_sees(c, ACL_OP_DESCRIBE, ACL_RES_TOPIC, o->topic))
                continue; /* Kafka leaves out what the principal may not describe */
            offset_topic *t = &m.topics[m.ntopics++];
            t->name = kslice_cstr(o->topic);
            t->nparts = 1;
            t->parts = arena_alloc(a, sizeof(offset_part));
            if (t->parts) {
                t->parts[0].index = o->partition;
                fill_offset(g, o->topic, &t->parts[0], require_stable);
            } else {
                t->nparts = 0;
            }
        }
    }
    return m;
}

void handle_offset_fetch(req_ctx *c)
{
    offsetfetch_req q;
    arena *a = &c->nr->arena;
    if (offsetfetch_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "OffsetFetch");
        return;
    }
    offsetfetch_resp *m = arena_alloc(a, sizeof(*m) * (size_t)(q.ngroups + 1));
    if (!m) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    for (int32_t i = 0; i < q.ngroups; i++)
        m[i] = fetch_group_offsets(c, &q.groups[i], q.require_stable);
    resp_begin(&c->nr->resp, &c->h);
    offsetfetch_resp_encode(&c->nr->resp, c->h.api_version, m, q.ngroups);
    finish(c);
}

void handle_describe_groups(req_ctx *c)
{
    names_req q;
    arena *a = &c->nr->arena;
    if (describegroups_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "DescribeGroups");
        return;
    }
    described_group *out = arena_alloc(a, sizeof(*out) * (size_t)(q.n + 1));
    if (!out) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    memset(out, 0, sizeof(*out) * (size_t)(q.n + 1)); /* the arena does not zero */
    for (int32_t i = 0; i < q.n; i++) {
        described_group *d = &out[i];
        d->group_id = q.names[i];
        char *id = cstr(c, q.names[i]);
        d->authorized_ops = q.include_authorized_operations
                                ? broker_authorized_ops(c, ACL_RES_GROUP, id ? id : "",
                                                        DG_GROUP_OPS_ALL)
                                : INT32_MIN;
        const group *g = id ? group_find(&c->b->grp.coord, id) : NULL;
        d->error_code = broker_coord_error(c, false, q.names[i], ACL_OP_DESCRIBE);
        if (d->error_code != KERR_NONE) {
            d->state = "";
            continue;
        }
        if (!g && c->h.api_version >= 6) { /* KIP-1043: v6 says so instead of "Dead" */
            d->error_code = KERR_GROUP_ID_NOT_FOUND;
            d->error_message = "group not found";
            d->state = "";
            continue;
        }
        if (!g) {
            d->state = "Dead";
            continue;
        }
        if (g->cg) { /* a KIP-848 group: ConsumerGroupDescribe describes it */
            d->error_code = KERR_GROUP_ID_NOT_FOUND;
            d->error_message = "not a classic group: see ConsumerGroupDescribe";
            d->state = "";
            continue;
        }
        d->state = group_state_name(g->state);
        d->protocol_type = g->protocol_type;
        d->protocol_data = g->state == GROUP_STABLE ? g->protocol_name : "";
        d->members = arena_alloc(a, sizeof(described_member) * (size_t)(g->nmembers + 1));
        for (int k = 0; d->members && k < g->nmembers; k++) {
            const gmember *m = g->members[k];
            described_member *dm = &d->members[d->nmembers++];
            memset(dm, 0, sizeof(*dm));
            dm->member_id = m->id;
            dm->instance_id = m->instance_id;
            dm->client_id = m->client_id;
            dm->client_host = m->client_host;
            for (int p = 0; p < m->nprotocols; p++)
                if (g->protocol_name && strcmp(m->protocols[p].name, g->protocol_name) == 0) {
                    dm->metadata = (kslice){m->protocols[p].metadata,
                                            m->protocols[p].metadata ? m->protocols[p].len : 0};
                }
            dm->assignment = (kslice){m->assignment, m->assignment ? m->assignment_len : 0};
        }
    }
    resp_begin(&c->nr->resp, &c->h);
    describegroups_resp_encode(&c->nr->resp, c->h.api_version, out, q.n);
    finish(c);
}

/* Whether s is one of the n filter strings (none: everything), ignoring case as Kafka's
 * coordinator does for states and types. */
static bool filter_has(const kslice *f, int32_t n, const char *s)
{
    for (int32_t i = 0; i < n; i++)
        if (f[i].len == (int32_t)strlen(s) && strncasecmp((const char *)f[i].p, s, strlen(s)) == 0)
            return true;
    return n == 0;
}

void handle_list_groups(req_ctx *c)
{
    arena *a = &c->nr->arena;
    listgroups_req q;
    if (listgroups_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "ListGroups");
        return;
    }
    int32_t n = (int32_t)HASH_COUNT(c->b->grp.coord.groups), k = 0;
    listed_group *out = arena_alloc(a, sizeof(*out) * (size_t)(n + 1));
    /* ACLs: DESCRIBE on the cluster lists every group, else those the principal may
     * describe (Kafka's rule) */
    bool all = broker_sees(c, ACL_OP_DESCRIBE, ACL_RES_CLUSTER, SEC_ACL_CLUSTER_NAME);
    for (const group *g = c->b->grp.coord.groups; out && g; g = g->hh.next) {
        const char *state = g->cg ? cgroup_state_name(g) : group_state_name(g->state);
        const char *type = g->cg ? "consumer" : "classic";
        if (g->state != GROUP_DEAD && filter_has(q.states, q.nstates, state) &&
            filter_has(q.types, q.ntypes, type) &&
            (all || broker_sees(c, ACL_OP_DESCRIBE, ACL_RES_GROUP, g->id)))
            out[k++] = (listed_group){g->id, g->protocol_type ? g->protocol_type : "", state,
                                      type};
    }
    resp_begin(&c->nr->resp, &c->h);
    listgroups_resp_encode(&c->nr->resp, c->h.api_version, KERR_NONE, out, k);
    finish(c);
}

void handle_delete_groups(req_ctx *c)
{
    names_req q;
    arena *a = &c->nr->arena;
    if (group_names_req_decode(&c->body, c->h.api_version, a, &q) != 0) {
        broker_reply_malformed(c, "DeleteGroups");
        return;
    }
    /* Sessions that ended before this request count as ended, as with Kafka's exact
     * expiry timers: the periodic tick (100 ms) may not have run since. */
    group_service_tick(&c->b->grp, group_now_ms());
    deletegroups_result *res = arena_alloc(a, sizeof(*res) * (size_t)(q.n + 1));
    for (int32_t i = 0; res && i < q.n; i++) {
        char *id = cstr(c, q.names[i]);
        int16_t cerr = id ? broker_coord_error(c, false, q.names[i], ACL_OP_DELETE) : KERR_NONE;
        res[i].group_id = q.names[i];
        res[i].error_code = !id ? KERR_INVALID_REQUEST
                            : cerr != KERR_NONE ? cerr
                            : group_service_delete(&c->b->grp, id, group_now_ms());
    }
    resp_begin(&c->nr->resp, &c->h);
    deletegroups_resp_encode(&c->nr->resp, c->h.api_version, res, res ? q.n : 0);
    finish(c);
}

/* ---------------- OffsetDelete ---------------- */

typedef struct offdel_op {
    req_ctx *c;
    offsetdelete_req q;
} offdel_op;

static void offdel_reply(offdel_op *op)
{
    resp_begin(&op->c->nr->resp, &op->c->h);
    offsetdelete_resp_encode(&op->c->nr->resp, op->c->h.api_version, &op->q);
    finish(op->c);
}

static void offdel_done(void *ctx, bool ok)
{
    offdel_op *op = ctx;
    if (!ok)
        op->q.error_code = KERR_COORDINATOR_NOT_AVAILABLE;
    offdel_reply(op);
}

/* KIP-496, as Kafka's coordinator: the partitions of a topic the group still subscribes to
 * get GROUP_SUBSCRIBED_TO_TOPIC; the others lose their committed offset (none: nothing to
 * do, no error), answered once the tombstones are durable. */
void handle_offset_delete(req_ctx *c)
{
    arena *a = &c->nr->arena;
    offdel_op *op = arena_alloc(a, sizeof(*op));
    if (!op || offsetdelete_req_decode(&c->body, c->h.api_version, a, &op->q) != 0) {
        broker_reply_malformed(c, "OffsetDelete");
        return;
    }
    op->c = c;
    offsetdelete_req *q = &op->q;
    const char *gid = cstr(c, q->group_id);
    q->error_code = broker_coord_error(c, false, q->group_id, ACL_OP_DELETE);
    if (q->error_code == KERR_NONE)
        q->error_code = group_offset_delete_check(&c->b->grp.coord, gid);
    const group *g = q->error_code == KERR_NONE ? group_find(&c->b->grp.coord, gid) : NULL;
    int total = 0, n = 0;
    for (int32_t i = 0; i < q->ntopics; i++)
        total += q->topics[i].nparts;
    gs_offset *offs = arena_alloc(a, sizeof(gs_offset) * (size_t)(total + 1));
    for (int32_t i = 0; g && offs && i < q->ntopics; i++) {
        const char *topic = cstr(c, q->topics[i].name);
        bool subscribed = topic && group_subscribed_to(g, topic);
        for (int32_t k = 0; k < q->topics[i].nparts; k++) {
            offsetdelete_part *p = &q->topics[i].parts[k];
            if (subscribed)
                p->error_code = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
            else if (topic && group_offset(g, topic, p->index))
                offs[n++] = (gs_offset){.topic = topic, .partition = p->index};
        }
    }
    if (n == 0) {
        offdel_reply(op);
        return;
    }
    group_service_delete_offsets(&c->b->grp, gid, offs, n, group_now_ms(), offdel_done, op);
}

/* ---------------- offsets in transactions ---------------- */

void handle_add_offsets_to_txn(req_ctx *c)
{
    addoffsets_req q;
    if (addoffsets_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "AddOffsetsToTxn");
        return;
    }
    char *id = q.transactional_id.len > 0 ? cstr(c, q.transactional_id) : NULL;
    char *gid = q.group_id.len > 0 ? cstr(c, q.group_id) : NULL;
    txn_pending_t *tp = txn_pending_new(c);
    if (!id || !gid || !tp) {
        reply_error_only(c, gid ? KERR_INVALID_REQUEST : 24 /* INVALID_GROUP_ID */);
        return;
    }
    int16_t cerr = broker_coord_error(c, true, q.transactional_id, ACL_OP_WRITE);
    if (cerr == KERR_NONE && !broker_may_slice(c, ACL_OP_READ, ACL_RES_GROUP, q.group_id))
        cerr = KERR_GROUP_AUTHORIZATION_FAILED;
    if (cerr != KERR_NONE) {
        reply_error_only(c, cerr);
        return;
    }
    txn_participant part = {TXN_PART_GROUP, gid, -1, false};
    txn_service_add(&c->b->txn, (txn_req)(uintptr_t)tp, id, q.producer_id, q.producer_epoch,
                    &part, 1, clock_wall_ms());
}

/* KIP-447: with v3 the consumer's generation and member id fence zombies; then store. */
static void txn_commit_checked(commit_op *op, int16_t err)
{
    req_ctx *c = op->c;
    const group *g = err == KERR_NONE ? group_find(&c->b->grp.coord, op->gid) : NULL;
    if (g && g->cg) { /* KIP-848: fenced by the member epoch as OffsetCommit is */
        err = cgroup_commit_check(g, op->member ? op->member : "", op->generation, true,
                                  c->h.api_version);
        /* TxnOffsetCommit has no STALE_MEMBER_EPOCH: Kafka answers ILLEGAL_GENERATION */
        if (err == KERR_STALE_MEMBER_EPOCH)
            err = KERR_ILLEGAL_GENERATION;
    }
    else if (err == KERR_NONE)
        err = group_commit_check(&c->b->grp.coord, op->gid, op->generation, op->member,
                                 op->instance, true, group_now_ms());
    if (err == KERR_NONE &&
        group_service_txn_guard_broken(&c->b->grp, op->pid, op->guard, group_now_ms())) {
        /* A transaction of this producer ended while the coordinator was asked: the "yes"
         * may be about that one (gs_txn_guard). Asked again, it answers for now. */
        LOG_INFO("group", "%s: TxnOffsetCommit of producer %" PRId64
                          " refused, a transaction of it ended while it was verified",
                 op->gid, op->pid);
        err = KERR_COORDINATOR_NOT_AVAILABLE;
    }
    commit_offsets(op, op->gid, op->pid, err);
}

/* A test failpoint: BROOK_FAILPOINT_TXN_OFFSET_VERIFY_DELAY_MS holds the coordinator's
 * answer to a TxnOffsetCommit's verification that long before it is used, so a test can
 * let the transaction's end marker overtake it (tests/integration/test_cluster_verify.py). */
typedef struct verify_delay {
    uv_timer_t timer;
    commit_op *op;
    int16_t err;
} verify_delay;

static void verify_delay_closed(uv_handle_t *h) { free(h->data); }

static void verify_delay_fired(uv_timer_t *t)
{
    verify_delay *d = t->data;
    uv_close((uv_handle_t *)&d->timer, verify_delay_closed);
    txn_commit_checked(d->op, d->err);
}

static bool verify_delayed(commit_op *op, int16_t err)
{
    static long delay_ms = -1;
    if (delay_ms < 0) {
        const char *env = getenv("BROOK_FAILPOINT_TXN_OFFSET_VERIFY_DELAY_MS");
        delay_ms = env ? strtol(env, NULL, 10) : 0;
        if (delay_ms > 0)
            LOG_WARN("group", "failpoint: TxnOffsetCommit verifications held %ld ms", delay_ms);
    }
    verify_delay *d = delay_ms > 0 ? calloc(1, sizeof(*d)) : NULL;
    if (!d)
        return false;
    d->op = op;
    d->err = err;
    d->timer.data = d;
    uv_timer_init(op->c->b->loop, &d->timer);
    uv_timer_start(&d->timer, verify_delay_fired, (uint64_t)delay_ms, 0);
    return true;
}

/* The transaction coordinator's answer: the group is (now) in the producer's transaction. */
static void txn_commit_joined(void *ctx, int16_t err)
{
    commit_op *op = ctx;
    if (op->c->b->stopping && err == KERR_NONE)
        err = KERR_COORDINATOR_NOT_AVAILABLE;
    if (err == KERR_NOT_COORDINATOR || err == KERR_REQUEST_TIMED_OUT)
        err = KERR_COORDINATOR_NOT_AVAILABLE; /* unreachable or moving: the client retries */
    if (!verify_delayed(op, err))
        txn_commit_checked(op, err);
}

void handle_txn_offset_commit(req_ctx *c)
{
    txnoffsetcommit_req q;
    commit_op *op = arena_alloc(&c->nr->arena, sizeof(*op));
    if (!op || txnoffsetcommit_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0 ||
        q.group_id.len < 0) {
        broker_reply_malformed(c, "TxnOffsetCommit");
        return;
    }
    broker *b = c->b;
    op->c = c;
    op->topics = q.topics;
    op->ntopics = q.ntopics;
    op->txn = true;
    op->gid = cstr(c, q.group_id);
    op->pid = q.producer_id;
    op->generation = q.generation_id;
    op->member = q.member_id.len >= 0 ? cstr(c, q.member_id) : "";
    op->instance = cstr(c, q.group_instance_id);
    int16_t err = broker_may_slice(c, ACL_OP_WRITE, ACL_RES_TXN_ID, q.transactional_id)
                      ? broker_coord_error(c, false, q.group_id, ACL_OP_READ)
                      : KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    if (err != KERR_NONE) {
        commit_offsets(op, op->gid, op->pid, err);
        return;
    }
    /* The group must be in the producer's ongoing transaction (AddOffsetsToTxn first, and
     * not after EndTxn): asked of the transaction coordinator, maybe on another node. From
     * v5 (transactions v2, KIP-890) the coordinator adds it instead: no AddOffsetsToTxn. */
    const char *txn_id = q.transactional_id.len > 0 ? cstr(c, q.transactional_id) : "";
    op->guard = group_service_txn_guard(&b->grp, group_now_ms());
    err = cluster_txn_join(b, &c->nr->arena, txn_id, q.producer_id, q.producer_epoch, op->gid,
                           -1, c->h.api_version < 5, txn_commit_joined, op);
    if (err != KERR_NONE)
        txn_commit_joined(op, err); /* else txn_commit_joined follows */
}

/* The transaction service's hook: a marker for a group participant. */
typedef struct marker_op {
    broker *b;
    char *txn_id, *group_id;
} marker_op;

static void marker_done(void *ctx, bool ok)
{
    marker_op *m = ctx;
    if (!ok)
        LOG_ERROR("group", "%s: transaction marker for %s not durable (log failed)", m->group_id,
                  m->txn_id);
    /* In a cluster the coordinator waits on the partition itself (txn_group_marker_fn). */
    if (!m->b->clustered)
        txn_service_group_marked(&m->b->txn, m->txn_id, m->group_id, ok, clock_wall_ms());
    free(m->txn_id);
    free(m->group_id);
    free(m);
}

int16_t group_txn_marker(void *ctx, const char *txn_id, const char *group_id, int64_t pid,
                         int16_t epoch, bool commit, int32_t coordinator_epoch, int64_t txn_seq,
                         partition **wait_p, int64_t *wait_end)
{
    broker *b = ctx;
    partition *p = NULL;
    *wait_p = NULL;
    *wait_end = -1;
    if (b->clustered) {
        /* The group's offsets partition records the marker, its coordinator epoch (and
         * refuses a replaced coordinator's) and the transaction's sequence (a copy re-sent
         * as an RPC after a leadership change is then known there), as for a marker from
         * another node. */
        int16_t err;
        int32_t index =
            txn_log_partition_for(group_id, broker_internal_partitions(b, GROUP_LOG_TOPIC));
        p = broker_partition(b, kslice_cstr(GROUP_LOG_TOPIC), index, &err);
        int64_t off;
        if (p && (!p->replicated || p->repl_leading)) {
            if (inter_group_marker_record(b, p, pid, epoch, commit, coordinator_epoch, txn_seq,
                                          &off) == KERR_TRANSACTION_COORDINATOR_FENCED)
                return KERR_TRANSACTION_COORDINATOR_FENCED;
        } else {
            p = NULL; /* not led here (the remote hook sends it then): nothing to wait on */
        }
    }
    marker_op *m = calloc(1, sizeof(*m));
    BROOK_ASSERT(m);
    m->b = b;
    m->txn_id = strdup(txn_id);
    m->group_id = strdup(group_id);
    BROOK_ASSERT(m->txn_id && m->group_id);
    group_service_txn_end(&b->grp, group_id, pid, commit, group_now_ms(), marker_done, m);
    if (p) { /* the control batch and the end record are appended: wait for both */
        *wait_p = p;
        *wait_end = p->log->log_end_offset;
    }
    return KERR_NONE;
}
