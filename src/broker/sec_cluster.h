/*
 * sec_cluster.h - SCRAM credentials and ACL bindings in a ZooKeeper cluster. Every node's
 * b->creds and b->acls follow what the cluster views carry (zk.c reads the users' and the
 * bindings' znodes, watched, docs/cluster.md); h_sasl.c and h_acl.c write the changes asked
 * of any node to ZooKeeper (zk_user_creds_set, zk_acl_put), then wait for the view that has
 * them.
 * When brokers log in to each other (a SASL listener), the inter-broker user's credential
 * is created in ZooKeeper from inter.broker.sasl.username/password by the first node that
 * finds it missing; one that exists is never overwritten.
 * Owns: nothing of its own; it replaces b->creds and b->acls with sets that live in memory
 * only (a cluster does not use the files of the data directory).
 * Never: keeps half of a set that does not parse (the previous set stays, logged), or
 * changes the sets except from a view, so every node applies the same changes the same way.
 */
#ifndef BROOK_BROKER_SEC_CLUSTER_H
#define BROOK_BROKER_SEC_CLUSTER_H

#include "broker/broker.h"
#include "cluster/view.h"

/* The loop's hook for each new view v (old: the previous one, NULL at first). */
void sec_cluster_on_view(broker *b, const cluster_view *old, const cluster_view *v);
/* After this node wrote a change: waits (bounded, SEC_CLUSTER_SYNC_MS) for a view that
 * holds it, so the next request here sees it. */
void sec_cluster_sync(broker *b);

/* Makes the inter-broker client pool pp log in as inter.broker.sasl.username when the
 * cluster's listener is SASL_PLAINTEXT or SASL_SSL (else nothing). Returns 0 or -1 (out
 * of memory). */
struct peer_pool;
int sec_cluster_peer_login(broker *b, struct peer_pool *pp);

#define SEC_CLUSTER_SYNC_MS 2000
#define SEC_CLUSTER_ITERATIONS 4096 /* of the inter-broker user's credential it creates */

#endif
