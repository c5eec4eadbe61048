/* authz.c - authorization (authorizer.class.name): whether the connection's principal, from
 * its address, may do an operation to a resource. sec/acl.c decides; this file knows who
 * asks and logs refusals as Kafka's authorizer log does (principal, operation, resource). */
#include <string.h>

#include "base/log.h"
#include "broker/broker.h"
#include "proto/errors.h"

bool broker_authz_on(const broker *b) { return b->cfg.authorizer_on; }

/* The peer's address without its port ("127.0.0.1:5000" -> "127.0.0.1"). */
static void peer_host(const req_ctx *c, char *out, size_t cap)
{
    const char *peer = net_conn_peer(c->nr->conn);
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, peer, n);
    out[n] = '\0';
}

/* The decision for the connection's principal and address: about the named resource, or
 * (name NULL) about any resource of the type (Kafka's authorizeByResourceType). */
static bool authorize(req_ctx *c, int op, int restype, const char *name)
{
    char host[64];
    peer_host(c, host, sizeof(host));
    acl_policy p = {c->b->cfg.super_users, c->b->cfg.allow_if_no_acl};
    const char *who = broker_principal(c);
    return name ? sec_acls_authorize(&c->b->acls, &p, who, host, op, restype, name)
                : sec_acls_authorize_any(&c->b->acls, &p, who, host, op, restype);
}

/* Logs a refusal as Kafka's authorizer log does; returns ok. */
static bool decided(req_ctx *c, bool ok, int op, int restype, const char *name)
{
    if (!ok) {
        const api_info *api = api_lookup(c->h.api_key);
        LOG_INFO("authz", "%s from %s denied %s on %s %s (%s v%d)", broker_principal(c),
                 net_conn_peer(c->nr->conn), sec_acl_op_name(op), sec_acl_restype_name(restype),
                 name ? name : "(any)", api ? api->name : "?", c->h.api_version);
    }
    return ok;
}

bool broker_sees(req_ctx *c, int op, int restype, const char *name)
{
    return !c->b->cfg.authorizer_on || authorize(c, op, restype, name ? name : "");
}

bool broker_may(req_ctx *c, int op, int restype, const char *name)
{
    return !c->b->cfg.authorizer_on ||
           decided(c, authorize(c, op, restype, name ? name : ""), op, restype, name);
}

bool broker_may_slice(req_ctx *c, int op, int restype, kslice name)
{
    if (!c->b->cfg.authorizer_on)
        return true;
    const char *s = name.len > 0 ? arena_strndup(&c->nr->arena, (const char *)name.p,
                                                 (size_t)name.len)
                                 : "";
    return broker_may(c, op, restype, s ? s : "");
}

bool broker_may_cluster(req_ctx *c, int op)
{
    return broker_may(c, op, ACL_RES_CLUSTER, SEC_ACL_CLUSTER_NAME);
}

bool broker_may_any(req_ctx *c, int op, int restype)
{
    return !c->b->cfg.authorizer_on ||
           decided(c, authorize(c, op, restype, NULL), op, restype, NULL);
}

int32_t broker_authorized_ops(req_ctx *c, int restype, const char *name, int32_t all)
{
    if (!c->b->cfg.authorizer_on)
        return all;
    int32_t ops = 0;
    for (int op = ACL_OP_READ; op <= ACL_OP_MAX; op++)
        if ((all & (1 << op)) && broker_sees(c, op, restype, name))
            ops |= 1 << op;
    return ops;
}

int16_t broker_config_refusal(req_ctx *c, int8_t type, kslice name, int op)
{
    if (type == 2 /* TOPIC */)
        return broker_may_slice(c, op, ACL_RES_TOPIC, name) ? KERR_NONE
                                                             : KERR_TOPIC_AUTHORIZATION_FAILED;
    return broker_may_cluster(c, op) ? KERR_NONE : KERR_CLUSTER_AUTHORIZATION_FAILED;
}

int16_t broker_coord_error(req_ctx *c, bool txn, kslice key, int op)
{
    if (!broker_may_slice(c, op, txn ? ACL_RES_TXN_ID : ACL_RES_GROUP, key))
        return txn ? KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED : KERR_GROUP_AUTHORIZATION_FAILED;
    return cluster_coordinator_error(c->b, txn, key);
}
