/* sec_cluster.c - see sec_cluster.h. */
#include "broker/sec_cluster.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cluster/zk.h"

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

void sec_cluster_on_view(broker *b, const cluster_view *old, const cluster_view *v)
{
    if (text_changed(old ? old->scram_text : NULL, v->scram_text))
        apply_creds(b, v->scram_text);
    if (text_changed(old ? old->acl_text : NULL, v->acl_text))
        apply_acls(b, v->acl_text);
}

void sec_cluster_sync(broker *b)
{
    if (b->zk && !zk_refresh_sync(b->zk, SEC_CLUSTER_SYNC_MS))
        LOG_WARN("cluster", "no new view within %d ms after a security change; other nodes "
                 "and this one apply it when their watches fire", SEC_CLUSTER_SYNC_MS);
}
