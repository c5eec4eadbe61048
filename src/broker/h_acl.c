/* h_acl.c - the ACL APIs (KIP-140, prefixed patterns KIP-290): DescribeAcls (DESCRIBE on
 * the cluster), CreateAcls and DeleteAcls (ALTER on the cluster). A change is written to
 * <data dir>/acls and fsynced before it is answered; if that write fails, the bindings are
 * reloaded from the file and every change of the request is answered as not made.
 * In a ZooKeeper cluster a change is written to ZooKeeper instead (one znode per binding,
 * zk_acl_put), and every node, this one first, applies it from its next view
 * (sec_cluster.h). Without authorizer.class.name the APIs answer SECURITY_DISABLED, as
 * Kafka's do. */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "broker/broker.h"
#include "broker/sec_cluster.h"
#include "cluster/zk.h"
#include "proto/errors.h"
#include "proto/sec_msgs.h"

static const char k_disabled[] = "no authorizer is configured (authorizer.class.name)";

static acl_binding from_msg(const acl_msg_binding *m)
{
    return (acl_binding){m->restype, m->pattern, m->op, m->perm, m->name, m->principal, m->host};
}

/* The request-wide refusal, or KERR_NONE (why: its message). */
static int16_t refusal(req_ctx *c, int op, const char **why)
{
    if (!broker_authz_on(c->b)) {
        *why = k_disabled;
        return KERR_SECURITY_DISABLED;
    }
    if (!broker_may_cluster(c, op)) {
        *why = "not authorized for the cluster's ACLs";
        return KERR_CLUSTER_AUTHORIZATION_FAILED;
    }
    *why = NULL;
    return KERR_NONE;
}

static void finish(req_ctx *c)
{
    resp_end(&c->nr->resp);
    net_request_done(c->nr);
}

static bool same_resource(const acl_binding *x, const acl_binding *y)
{
    return x->restype == y->restype && x->pattern == y->pattern && strcmp(x->name, y->name) == 0;
}

/* Groups the bindings f matches by resource pattern, as DescribeAcls answers them; each
 * resource's list is sized to its own bindings (not to all of them: memory stays linear). */
static int describe_matching(req_ctx *c, const acl_binding *f, describe_acls_resp *m)
{
    const sec_acls *s = &c->b->acls;
    arena *a = &c->nr->arena;
    m->resources = arena_alloc(a, sizeof(*m->resources) * (size_t)(s->n ? s->n : 1));
    if (!m->resources)
        return -1;
    for (int i = 0; i < s->n; i++) {
        const acl_binding *b = &s->v[i];
        if (!sec_acl_filter_matches(f, b))
            continue;
        acl_msg_resource *r = NULL;
        for (int k = 0; k < m->nresources && !r; k++)
            if (m->resources[k].restype == b->restype && m->resources[k].pattern == b->pattern &&
                strcmp(m->resources[k].name, b->name) == 0)
                r = &m->resources[k];
        if (!r) { /* room for exactly this resource's matching bindings, from here on */
            int32_t n = 0;
            for (int k = i; k < s->n; k++)
                n += same_resource(&s->v[k], b) && sec_acl_filter_matches(f, &s->v[k]);
            r = &m->resources[m->nresources++];
            *r = (acl_msg_resource){b->restype, b->pattern, b->name, 0, NULL};
            r->acls = arena_alloc(a, sizeof(*r->acls) * (size_t)n);
            if (!r->acls)
                return -1;
        }
        r->acls[r->nacls++] = (acl_msg_binding){.principal = b->principal, .host = b->host,
                                                .op = b->op, .perm = b->perm};
    }
    return 0;
}

void handle_describe_acls(req_ctx *c)
{
    acl_msg_binding q;
    if (describe_acls_req_decode(&c->body, c->h.api_version, &c->nr->arena, &q) != 0) {
        broker_reply_malformed(c, "DescribeAcls");
        return;
    }
    describe_acls_resp m = {0};
    if (c->b->clustered)
        cluster_refresh_now(c->b); /* a change made through another node just now: shown */
    m.error_code = refusal(c, ACL_OP_DESCRIBE, &m.error_message);
    acl_binding f = from_msg(&q);
    if (m.error_code == KERR_NONE && (m.error_message = sec_acl_filter_invalid(&f)) != NULL)
        m.error_code = KERR_INVALID_REQUEST;
    if (m.error_code == KERR_NONE && describe_matching(c, &f, &m) != 0) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    resp_begin(&c->nr->resp, &c->h);
    describe_acls_resp_encode(&c->nr->resp, c->h.api_version, &m);
    finish(c);
}

/* After a change: durable, or undone (the file reloaded) with every success of the
 * request turned into UNKNOWN_SERVER_ERROR. */
static void save_or_undo(req_ctx *c, acl_msg_results *m)
{
    broker *b = c->b;
    int rc = sec_acls_save(&b->acls);
    if (rc == 0) {
        LOG_INFO("authz", "ACLs changed by %s (%d bindings stored)", broker_principal(c),
                 b->acls.n);
        return;
    }
    LOG_ERROR("authz", "cannot write %s: %s; ACL changes not made", b->acls.path,
              strerror(-rc));
    char err[256];
    sec_acls_free(&b->acls);
    if (sec_acls_load(&b->acls, b->cfg.data_dir, err, sizeof(err)) != 0)
        LOG_ERROR("authz", "%s", err);
    for (int i = 0; i < m->nresults; i++)
        if (m->results[i].error_code == KERR_NONE)
            m->results[i] = (acl_msg_result){KERR_UNKNOWN_SERVER_ERROR,
                                             "cannot write the ACL file (see the broker log)",
                                             0, NULL};
}

/* Cluster: adds or removes the binding's znode. A Kafka error code. */
static int16_t put_in_zk(req_ctx *c, const acl_binding *b, bool add)
{
    char line[SEC_ACL_LINE_MAX];
    sec_acl_format_line(b, line, sizeof(line));
    return zk_acl_put(c->b->zk, line, add);
}

/* After a change: one node's file written (or undone), a cluster's view awaited. */
static void saved(req_ctx *c, acl_msg_results *m)
{
    if (!c->b->clustered) {
        save_or_undo(c, m);
        return;
    }
    sec_cluster_sync(c->b);
    LOG_INFO("authz", "ACLs changed in ZooKeeper by %s (%d bindings now)", broker_principal(c),
             c->b->acls.n);
}

/* Removes the bindings f matches; r lists them (copied into the request's arena). In a
 * cluster a failed removal stops there, with r's error set. */
static int delete_matching(req_ctx *c, const acl_binding *f, acl_msg_result *r)
{
    sec_acls *s = &c->b->acls;
    arena *a = &c->nr->arena;
    r->matching = arena_alloc(a, sizeof(*r->matching) * (size_t)(s->n ? s->n : 1));
    if (!r->matching)
        return -1;
    for (int i = 0; i < s->n;) {
        const acl_binding *b = &s->v[i];
        if (!sec_acl_filter_matches(f, b)) {
            i++;
            continue;
        }
        acl_msg_binding *e = &r->matching[r->nmatching++];
        *e = (acl_msg_binding){b->restype, b->pattern, b->op, b->perm,
                               arena_strndup(a, b->name, strlen(b->name)),
                               arena_strndup(a, b->principal, strlen(b->principal)),
                               arena_strndup(a, b->host, strlen(b->host)), KERR_NONE, NULL};
        if (!e->name || !e->principal || !e->host)
            return -1;
        if (c->b->clustered && (r->error_code = put_in_zk(c, b, false)) != KERR_NONE) {
            r->error_message = "ZooKeeper cannot be written now; retry";
            r->nmatching--;
            return 0;
        }
        sec_acls_remove_at(s, i);
    }
    return 0;
}

/* One creation: stored, or refused in r. Returns whether the bindings changed (-1: out of
 * memory, answered in r). */
static int create_one(req_ctx *c, const acl_binding *b, acl_msg_result *r)
{
    if ((r->error_message = sec_acl_invalid(b)) != NULL) {
        r->error_code = KERR_INVALID_REQUEST;
        return 0;
    }
    if (c->b->clustered && (r->error_code = put_in_zk(c, b, true)) != KERR_NONE) {
        r->error_message = "ZooKeeper cannot be written now; retry";
        return 0;
    }
    if (sec_acls_add(&c->b->acls, b) != 0) {
        *r = (acl_msg_result){KERR_UNKNOWN_SERVER_ERROR, "out of memory", 0, NULL};
        return 0;
    }
    return 1;
}

/* One deletion filter: its matches removed and listed in r, or it refused. Same returns. */
static int delete_one(req_ctx *c, const acl_binding *f, acl_msg_result *r)
{
    if ((r->error_message = sec_acl_filter_invalid(f)) != NULL) {
        r->error_code = KERR_INVALID_REQUEST;
        return 0;
    }
    if (delete_matching(c, f, r) != 0)
        return -1;
    return r->nmatching > 0 || (c->b->clustered && r->error_code != KERR_NONE);
}

/* CreateAcls and DeleteAcls: one result per item, ALTER on the cluster for all of them,
 * the changes durable (or undone) before the answer. */
static void handle_change(req_ctx *c, bool create)
{
    acl_msg_list q;
    arena *a = &c->nr->arena;
    int rc = create ? create_acls_req_decode(&c->body, c->h.api_version, a, &q)
                    : delete_acls_req_decode(&c->body, c->h.api_version, a, &q);
    if (rc != 0) {
        broker_reply_malformed(c, create ? "CreateAcls" : "DeleteAcls");
        return;
    }
    acl_msg_results m = {q.n, arena_array(a, q.n ? q.n : 1, sizeof(acl_msg_result))};
    if (!m.results) {
        net_request_fail(c->nr, "out of memory");
        return;
    }
    const char *why;
    int16_t all = refusal(c, ACL_OP_ALTER, &why);
    bool changed = false;
    if (all == KERR_NONE && c->b->clustered)
        sec_cluster_sync(c->b); /* deletions match what any node created until now */
    for (int32_t i = 0; i < q.n; i++) {
        acl_binding b = from_msg(&q.v[i]);
        acl_msg_result *r = &m.results[i];
        *r = (acl_msg_result){all, why, 0, NULL};
        int got = all != KERR_NONE ? 0 : create ? create_one(c, &b, r) : delete_one(c, &b, r);
        if (got < 0) {
            net_request_fail(c->nr, "out of memory");
            if (changed || r->nmatching > 0) /* bindings removed so far: saved */
                saved(c, &m);
            return;
        }
        changed |= got > 0;
    }
    if (changed)
        saved(c, &m);
    resp_begin(&c->nr->resp, &c->h);
    if (create)
        create_acls_resp_encode(&c->nr->resp, c->h.api_version, &m);
    else
        delete_acls_resp_encode(&c->nr->resp, c->h.api_version, &m);
    finish(c);
}

void handle_create_acls(req_ctx *c) { handle_change(c, true); }
void handle_delete_acls(req_ctx *c) { handle_change(c, false); }
