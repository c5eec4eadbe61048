/*
 * zk.h - cluster membership and metadata in Apache ZooKeeper (libzookeeper-mt).
 *
 * Owns: the ZooKeeper session and a thread of its own that (1) registers this broker
 * (ephemeral /brook/brokers/<id>), again after a session expiry; (2) runs the controller
 * election (ephemeral /brook/controller, epoch in /brook/controller_epoch); (3) as
 * controller, creates the internal topics once cluster.min.brokers brokers are up and
 * moves partition leaders when brokers leave or come back, each write version-checked
 * and fenced by the controller epoch; (4) re-reads the tree on every watch and publishes
 * an immutable cluster_view to the event loop (uv_async).
 * Topic changes asked by clients (create, delete, partitions, configs) are written by
 * the calling thread with version checks (zk_topic_*); they take one ZooKeeper round
 * trip and fail fast with a retriable error while the session is not connected.
 * With set_acl every znode it creates is readable and writable only by its digest identity
 * (ZooKeeper's "auth" scheme; every broker of a cluster uses the same identity).
 * Never: touches storage or broker state, or calls back into the loop from its thread.
 * Layout of the znodes: docs/cluster.md.
 */
#ifndef BROOK_CLUSTER_ZK_H
#define BROOK_CLUSTER_ZK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "cluster/view.h"

typedef struct zk_config {
    const char *connect;     /* host:port[,host:port...] */
    int session_timeout_ms;
    int32_t node_id;
    const char *host;        /* advertised inter-broker listener */
    int32_t port;
    const cv_endpoint *endpoints; /* every listener clients may use (copied; may be NULL) */
    int32_t nendpoints;           /* at most CV_ENDPOINTS_MAX */
    const char *incarnation; /* random, kept in the data directory */
    int32_t min_brokers;     /* the controller creates internal topics from this many on */
    int32_t default_rf;      /* default.replication.factor */
    int32_t min_isr;         /* min.insync.replicas (a topic may override it) */
    bool prefer_leaders;     /* auto.leader.rebalance.enable */
    const char *internal_names[2];
    int32_t internal_parts[2];
    int32_t internal_rf[2];  /* replication factors of the internal topics (at most the nodes) */
    const char *digest;      /* "user:password": ZooKeeper digest auth of the session; NULL: none */
    bool set_acl;            /* znodes created readable and writable by that identity only */
} zk_config;

typedef struct zk_client zk_client;
/* Called on the loop thread with each new view (borrowed: cv_ref to keep it). */
typedef void (*zk_view_fn)(void *ctx, cluster_view *v);

/* Starts the session thread. Returns NULL on failure (logged). */
zk_client *zk_start(uv_loop_t *loop, const zk_config *cfg, zk_view_fn on_view, void *ctx);
/* Deregisters (closes the session, so the ephemeral znodes go at once) and joins the
 * thread. Handles are closed; the loop must run once more to release them. */
void zk_stop(zk_client *z);
/* Asks for a refresh and waits (at most timeout_ms) until a newer view has been
 * delivered to on_view. Returns true if one was. Loop thread only. */
bool zk_refresh_sync(zk_client *z, int timeout_ms);
bool zk_connected(zk_client *z);
/* Whether ZooKeeper still vouches that nobody else leads what this node's newest view
 * says it leads: a heartbeat sent less than 3/4 of the session timeout before now_ms
 * (monotonic) was answered, and a view read in the current session was delivered. The
 * coordinators refuse requests without it (zk.c, "the lease"). Loop thread only. */
bool zk_lease_held(zk_client *z, int64_t now_ms);

/* Topic changes (loop thread). Each returns a Kafka error code; *msg explains errors
 * (static text). The new state is visible once zk_refresh_sync returns. */
/* rf: replicas per partition, -1 for default.replication.factor; more than the live
 * brokers is INVALID_REPLICATION_FACTOR. The topic gets a new topic id (md_new_id), copied
 * to id_out (16 bytes, may be NULL). */
/* replicas: nparts x rf broker ids (a CreateTopics replica assignment, preferred leader
 * first), or NULL to place by the ring. Every id must be a live broker's, else
 * INVALID_REPLICA_ASSIGNMENT. */
int16_t zk_topic_create(zk_client *z, const char *name, int32_t nparts, int32_t rf, int nconfigs,
                        char *const *keys, char *const *values, const int32_t *replicas,
                        const char **msg, uint8_t *id_out);
/* The loop found broker `id`'s process gone (its connections refused): remove its
 * registration if it is still the one created at czxid, so its partitions fail over
 * now instead of at session expiry; czxid -1: remove the controller znode if that broker
 * holds it (a new controller is elected). Asynchronous (the session thread does it). */
void zk_evict(zk_client *z, int32_t id, int64_t czxid);
/* A partition leader's ISR change, made by the session thread (the loop never waits on
 * it): applied only while the state still names this node leader in leader_epoch, else
 * KERR_FENCED_LEADER_EPOCH; retried on a concurrent change to the topic's state; an ISR at
 * min_isr or more clears the ELR and the frozen high watermark, one below min records
 * frozen_hw (-1: none) unless one is recorded already (cv_part). The answer comes to the
 * loop through on_isr(ctx, topic, partition, leader_epoch, error, new state version).
 * Returns false when it cannot be queued (the caller treats the proposal as refused). */
typedef void (*zk_isr_fn)(void *ctx, const char *topic, int32_t partition, int32_t leader_epoch,
                          int16_t error, int32_t version);
void zk_set_isr_callback(zk_client *z, zk_isr_fn on_isr);
bool zk_partition_set_isr(zk_client *z, const char *topic, int32_t partition,
                          int32_t leader_epoch, const repl_set *isr, int32_t min_isr,
                          int64_t frozen_hw);
/* Controlled shutdown: this broker's registration says from now on that it is leaving
 * (the session thread writes it, and keeps saying it after a re-registration); the
 * controller then moves this node's leaderships to other in-sync replicas and its ISR
 * places away (repl_shutdown_move), and leaders never add it to an ISR again. Watch the
 * views (cv_shutdown_pending) to know when that is done. Loop thread. */
void zk_shutdown_announce(zk_client *z);
/* The admin listener's address ("host:port", the bound port; NULL or "": none), said in
 * this broker's registration from now on (the session thread rewrites it; the console
 * finds every node's admin listener there). Loop thread. */
void zk_set_admin(zk_client *z, const char *admin);
/* Deletes a topic; with id (16 bytes, may be NULL) only while its znode has that topic id,
 * else UNKNOWN_TOPIC_ID (also when there is no such topic). */
int16_t zk_topic_delete(zk_client *z, const char *name, const uint8_t *id);
/* replicas: (count - current) x replicas_rf broker ids for the new partitions (a
 * CreatePartitions assignment), or NULL to place by the ring. */
int16_t zk_topic_add_partitions(zk_client *z, const char *name, int32_t count,
                                const int32_t *replicas, int32_t replicas_rf,
                                const char **msg);
int16_t zk_topic_set_configs(zk_client *z, const char *name, int n, char *const *keys,
                             char *const *values, const char **msg);
/* Cluster-wide settings kept as text in one znode each, which every broker watches (views
 * carry them): the dynamic broker configs' default scope (broker/dynconfig.h's text; view
 * field broker_defaults) and the client quotas (broker/quota.h's text; quota_text). _get
 * gives the text (malloc'd; NULL: never set) and its znode version (-1: none); _set writes
 * text only if the znode is still at that version (-1: creates it), else
 * KERR_CONCURRENT_TRANSACTIONS (read again and retry). Loop thread; synchronous. */
typedef enum zk_text { ZK_TEXT_BROKER_DEFAULTS, ZK_TEXT_QUOTAS } zk_text;
int16_t zk_text_get(zk_client *z, zk_text which, char **text, int32_t *version);
int16_t zk_text_set(zk_client *z, zk_text which, const char *text, int32_t version);
/* Read, change, write back with the version check, again (up to 5 times) when another
 * writer came in between. edit gets the current text (NULL: never set) and sets *next to
 * the new one (malloc'd; NULL: nothing to write) or returns an error, which ends it.
 * Returns KERR_NONE (*written says whether anything was written), edit's error, a
 * ZooKeeper error, or KERR_CONCURRENT_TRANSACTIONS after 5 lost races. */
typedef int16_t (*zk_text_edit_fn)(void *ctx, const char *text, char **next);
int16_t zk_text_update(zk_client *z, zk_text which, zk_text_edit_fn edit, void *ctx,
                       bool *written);

/* Security state kept in ZooKeeper (docs/cluster.md's layout), carried by views as text
 * (scram_text, acl_text; the formats of sec/creds.h and sec/acl.h). Loop thread;
 * synchronous; a retriable error while the session is not connected.
 * _user_creds_get: one user's credential lines (malloc'd; NULL: none) and the znode's
 * version (-1: none); _set writes them only if the znode is still at that version (-1:
 * creates it; text "" deletes it), else KERR_CONCURRENT_TRANSACTIONS (read again, retry). */
int16_t zk_user_creds_get(zk_client *z, const char *user, char **text, int32_t *version);
int16_t zk_user_creds_set(zk_client *z, const char *user, const char *text, int32_t version);
/* Adds (add) or removes one ACL binding, given as its line (sec_acl_format_line): one znode
 * per binding, so concurrent changes on several nodes never overwrite each other. Adding one
 * that exists, or removing one that does not, succeeds. */
int16_t zk_acl_put(zk_client *z, const char *line, bool add);

#endif
