/* sec_cluster.c - see sec_cluster.h. */
#include "broker/sec_cluster.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "cluster/zk.h"
#include "net/peer.h"
#include "proto/errors.h"

static bool text_changed(const char *before, const char *now)
{
    return now && (!before || strcmp(before, now) != 0);
}

static void apply_creds(broker *b, const char *text)
{
    sec_creds s = {0};
    char *copy = strdup(text);
    if (!copy || sec_creds_parse(&s, copy) != 0) {
        LOG_ERROR("sasl", "the SCRAM credentials in ZooKeeper do not parse (%s); keeping the "
                  "%d users and mechanisms known before", copy ? "a malformed line" : "no memory",
                  b->creds.n);
        free(copy);
        sec_creds_free(&s);
        return;
    }
    free(copy);
    sec_creds_free(&b->creds);
    b->creds = s;
    LOG_INFO("sasl", "SCRAM credentials from ZooKeeper: %d users and mechanisms", s.n);
}

static void apply_acls(broker *b, const char *text)
{
    sec_acls s = {0};
    char *copy = strdup(text);
    if (!copy || sec_acls_parse(&s, copy) != 0) {
        LOG_ERROR("authz", "the ACL bindings in ZooKeeper do not parse (%s); keeping the %d "
                  "bindings known before", copy ? "a malformed binding" : "no memory",
                  b->acls.n);
        free(copy);
        sec_acls_free(&s);
        return;
    }
    free(copy);
    sec_acls_free(&b->acls);
    b->acls = s;
    LOG_INFO("authz", "ACL bindings from ZooKeeper: %d", s.n);
}

static bool inter_broker_sasl(const broker *b)
{
    return broker_secproto_sasl(b->cfg.lst[b->cfg.inter_broker_lst].proto) &&
           b->cfg.inter_broker_sasl_user && *b->cfg.inter_broker_sasl_user;
}

int sec_cluster_peer_login(broker *b, struct peer_pool *pp)
{
    if (!inter_broker_sasl(b))
        return 0;
    return peer_pool_set_sasl(pp, scram_mech_parse(b->cfg.inter_broker_sasl_mech),
                              b->cfg.inter_broker_sasl_user, b->cfg.inter_broker_sasl_password);
}

/* The inter-broker user's credential, created in ZooKeeper when the view has none (only
 * if nobody created it meanwhile: a credential that exists is never replaced). */
static void provision_inter_broker_user(broker *b)
{
    const char *user = b->cfg.inter_broker_sasl_user, *pw = b->cfg.inter_broker_sasl_password;
    scram_mech m = scram_mech_parse(b->cfg.inter_broker_sasl_mech);
    if (sec_creds_find(&b->creds, user, m))
        return;
    if (sec_creds_find(&b->creds, user, m == SCRAM_SHA_256 ? SCRAM_SHA_512 : SCRAM_SHA_256)) {
        /* never replaced (an operator's credential): the missing mechanism is theirs to add */
        LOG_WARN("sasl", "the inter-broker user %s exists in ZooKeeper without a %s credential "
                 "(sasl.mechanism.inter.broker.protocol): add one with "
                 "AlterUserScramCredentials, or the brokers cannot log in to each other", user,
                 scram_mech_name(m));
        return;
    }
    uint8_t salt[24];
    scram_cred cr;
    sec_creds one = {0};
    size_t len;
    char *text = NULL;
    if (RAND_bytes(salt, sizeof(salt)) != 1 ||
        scram_cred_from_password(m, pw, strlen(pw), salt, sizeof(salt), SEC_CLUSTER_ITERATIONS,
                                 &cr) != 0 ||
        sec_creds_put(&one, user, m, &cr) != 0 || !(text = sec_creds_format(&one, user, &len))) {
        LOG_ERROR("sasl", "cannot compute the inter-broker user's credential");
    } else {
        int16_t err = zk_user_creds_set(b->zk, user, text, -1);
        if (err == KERR_NONE)
            LOG_INFO("sasl", "created the inter-broker user %s (%s) in ZooKeeper", user,
                     scram_mech_name(m));
        else if (err != KERR_CONCURRENT_TRANSACTIONS) /* exists: another node was first */
            LOG_WARN("sasl", "cannot create the inter-broker user %s in ZooKeeper (error %d); "
                     "trying again at the next change of the credentials", user, err);
    }
    free(text);
    sec_creds_free(&one);
}

void sec_cluster_on_view(broker *b, const cluster_view *old, const cluster_view *v)
{
    if (text_changed(old ? old->scram_text : NULL, v->scram_text)) {
        apply_creds(b, v->scram_text);
        if (inter_broker_sasl(b) && b->zk)
            provision_inter_broker_user(b);
    }
    if (text_changed(old ? old->acl_text : NULL, v->acl_text))
        apply_acls(b, v->acl_text);
}

void sec_cluster_sync(broker *b)
{
    if (b->zk && !zk_refresh_sync(b->zk, SEC_CLUSTER_SYNC_MS))
        LOG_WARN("cluster", "no new view within %d ms after a security change; other nodes "
                 "and this one apply it when their watches fire", SEC_CLUSTER_SYNC_MS);
}
