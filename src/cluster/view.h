/*
 * view.h - one immutable snapshot of the cluster as ZooKeeper describes it: live brokers,
 * the controller, every topic's replica assignment and each partition's leader and epoch.
 *
 * Owns: the snapshot's memory (reference counted: the ZooKeeper thread builds a view,
 * the event loop reads it, the last holder frees it) and the JSON form of the znodes
 * (docs/cluster.md lists them).
 * Never: changes after it is published, or talks to ZooKeeper (zk.c does).
 */
#ifndef BROOK_CLUSTER_VIEW_H
#define BROOK_CLUSTER_VIEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "repl/repl.h"

/* One of a broker's listeners as clients reach it: Kafka's "NAME://host:port" endpoint. */
#define CV_ENDPOINTS_MAX 8
typedef struct cv_endpoint {
    char name[32];
    char host[256];
    int32_t port;
} cv_endpoint;

typedef struct cv_broker {
    int32_t id;
    char *host;
    int32_t port;
    char *incarnation; /* random per data directory: tells a stale registration of ours */
    int64_t czxid;     /* ZooKeeper's creation id of the registration: a new one = a restart */
    bool shutting_down; /* in controlled shutdown: its leadership and ISR places move away */
    char *admin;        /* "host:port" of its admin HTTP listener; NULL: unknown (a
                         * registration from before admin addresses, or no listener) */
    cv_endpoint *eps;   /* its listeners (malloc'd); host:port above is the inter-broker one */
    int32_t neps;
} cv_broker;

typedef struct cv_part {
    int32_t *replicas; /* ordered; replicas[0] is the preferred leader */
    int32_t nreplicas;
    int32_t leader;    /* -1: offline */
    int32_t leader_epoch;
    int64_t leader_czxid; /* the leader's registration when it was elected (0: unknown) */
    repl_set isr;      /* in-sync replicas (the leader included) */
    repl_set elr;      /* eligible leader replicas (KIP-966): may lead when no ISR member can */
    /* While the ISR is below min.insync.replicas: the offset no acknowledged (acks=all)
     * record reaches past, recorded by the leader that saw the ISR fall (its high
     * watermark, which stopped there, or its epoch's start if higher); a leader elected
     * while the ISR is still below min cuts its log back to it (repl.h). -1: the ISR is
     * at min or above, or nobody recorded it yet. */
    int64_t frozen_hw;
} cv_part;

typedef struct cv_topic {
    char *name;
    uint8_t id[16];  /* the topic id; zero: none yet (a znode from before topic ids) */
    bool id_assigned; /* the controller gave the id to a topic that had none (an upgrade),
                       * so nodes keep the data they hold for it under another id */
    int32_t nparts;
    cv_part *parts;
    int nconfigs;
    char **config_keys, **config_values;
    int32_t topic_version; /* znode versions, for version-checked writes */
    int32_t state_version; /* -1: no state znode yet */
    int32_t state_controller_epoch;
    UT_hash_handle hh;
} cv_topic;

typedef struct cluster_view {
    atomic_int refs;
    uint64_t seq;           /* increases with every published view */
    int32_t controller;     /* -1: none */
    int32_t controller_epoch;
    cv_broker *brokers;     /* sorted by id */
    int nbrokers;
    cv_topic *topics;       /* uthash by name */
    bool registered;        /* this node's registration, made by its own session, is in the
                             * view (not one a previous process's session left) */
    /* The cluster-wide dynamic broker configs (dynconfig's text, "default/" lines; owned),
     * NULL when none were ever set. */
    char *broker_defaults;
    /* The client quotas (broker/quota.h's text; owned), NULL when none were ever set. */
    char *quota_text;
    /* The SCRAM credentials and the ACL bindings kept in ZooKeeper, as sec/creds.h's and
     * sec/acl.h's text (owned; "" when none). NULL: the view did not read them. */
    char *scram_text;
    char *acl_text;
} cluster_view;

cluster_view *cv_new(void);
void cv_ref(cluster_view *v);
void cv_unref(cluster_view *v);

const cv_broker *cv_broker_find(const cluster_view *v, int32_t id);
const cv_topic *cv_topic_find(const cluster_view *v, const char *name, size_t len);
/* The topic whose id is id; NULL for the zero id (none) or an unknown one. */
const cv_topic *cv_topic_find_id(const cluster_view *v, const uint8_t id[16]);
/* The leader of (topic, partition): a broker id, or -1 when unknown or offline. */
int32_t cv_leader(const cluster_view *v, const char *topic, int32_t partition);
/* The node most likely to lead (topic, partition) next while its leader is not a live
 * broker of v (a failover, or no eligible replica alive): its first live in-sync replica in
 * replica order, else its first live eligible one (ELR), else its first live replica; live
 * brokers in controlled shutdown only when nothing else is. -1: no replica is live. */
int32_t cv_likely_leader(const cluster_view *v, const char *topic, int32_t partition);
/* Whether node is one of the replicas of (topic, partition) in v. */
bool cv_is_replica(const cluster_view *v, const char *topic, int32_t partition, int32_t node);

/* Adds a broker (copies strings); keeps brokers sorted. Returns 0 or -1. */
int cv_add_broker(cluster_view *v, int32_t id, const char *host, int32_t port,
                  const char *incarnation);
/* Records a broker's registration creation id (zk.c, while building a view). */
void cv_broker_set_czxid(cluster_view *v, int32_t id, int64_t czxid);
/* Records a broker's admin listener address ("host:port", copied; NULL or "": unknown).
 * Returns 0 or -1 (out of memory). */
int cv_broker_set_admin(cluster_view *v, int32_t id, const char *admin);
/* Records a broker's listeners (copied). Returns 0 or -1 (out of memory). */
int cv_broker_set_endpoints(cluster_view *v, int32_t id, const cv_endpoint *eps, int32_t n);
/* b's endpoint of the listener called name (case-sensitive, as Kafka's names), or NULL. */
const cv_endpoint *cv_broker_endpoint(const cv_broker *b, const char *name);
/* Records that a broker's registration says it is in controlled shutdown. */
void cv_broker_set_shutting_down(cluster_view *v, int32_t id, bool shutting_down);
/* The live brokers of v, and those of them in controlled shutdown. */
void cv_live_sets(const cluster_view *v, repl_set *live, repl_set *shutting);
/* A topic's min.insync.replicas: its config override, else dflt. */
int32_t cv_topic_min_isr(const cv_topic *t, int32_t dflt);
/* Controlled shutdown as the leaving node `self` sees it in v: -1 while v does not show
 * self shutting down yet; else the number of partitions where the controller still has
 * to move something away from self (repl_shutdown_move would take its leadership or its
 * ISR place). *kept (may be NULL) gets the partitions self leads and keeps: no other live
 * in-sync replica to hand them to. */
int cv_shutdown_pending(const cluster_view *v, int32_t self, int32_t default_min_isr, int *kept);
void cv_topic_free(cv_topic *t);

/* Broker registration znode from b's id, host, port (the inter-broker listener),
 * incarnation, shutting_down ("shutting_down"), admin ("admin": "host:port"; NULL or "":
 * left out) and eps ("endpoints": ["NAME://host:port", ...], Kafka's form). Returns
 * malloc'd JSON text or NULL. */
char *cv_broker_json(const cv_broker *b);
/* Fills *out (host, incarnation, admin and eps malloc'd: cv_broker_clear frees them). A
 * registration without "admin" or "endpoints" (older brokers) parses with admin NULL and no
 * endpoints; a malformed admin value or endpoint is ignored the same way. */
int cv_broker_parse(const char *json, size_t len, cv_broker *out);
/* Frees what cv_broker_parse allocated in b and clears those fields. */
void cv_broker_clear(cv_broker *b);
/* Topic znode: id, replica lists, config overrides. Parsing fills name-less *t (the
 * caller sets name); state fields are set to "no state". A znode without "id" (written
 * before topic ids) parses with the zero id; the controller then writes one, with
 * "id_assigned": true. */
char *cv_topic_json(const cv_topic *t);
int cv_topic_parse(const char *json, size_t len, cv_topic *t);
/* State znode: leader, leader epoch, ISR and ELR of every partition. Parsing requires as
 * many partitions as the topic has (a topic whose partitions grew has trailing partitions
 * without state: leader -1). A partition written before replication has no "isr": its
 * ISR is its leader. */
char *cv_state_json(const cv_topic *t, int32_t controller_epoch);
int cv_state_parse(const char *json, size_t len, cv_topic *t);
/* Controller znode. */
char *cv_controller_json(int32_t id, int32_t epoch);
int cv_controller_parse(const char *json, size_t len, int32_t *id, int32_t *epoch);

#endif
