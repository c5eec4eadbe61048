/*
 * broker.h - the composition root of one brookd node, shared by the API handlers.
 *
 * Owns: the wiring (config, loop, store, metadata, listener) and the requests parked
 * until an event completes them: produces waiting for their fsync, fetches waiting for
 * data or their max_wait. The state itself lives in storage/ and cluster/.
 * Never: holds data of its own beyond those parked requests.
 */
#ifndef BROOK_BROKER_BROKER_H
#define BROOK_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "broker/config.h"
#include "broker/dynconfig.h"
#include "broker/fetch_session.h"
#include "broker/metrics.h"
#include "broker/quota.h"
#include "cluster/metadata.h"
#include "cluster/view.h"
#include "net/server.h"
#include "proto/api.h"
#include "proto/msgs.h"
#include "sec/acl.h"
#include "sec/creds.h"
#include "storage/store.h"
#include "storage/topic_config.h"
#include "txn/service.h"
#include "group/service.h"

struct produce_op;
struct fetch_op;
struct zk_client;
struct cluster_view;
struct peer_pool;
struct remote_op;
struct inter_op;
struct txn_status_req;
struct replica_glue;
struct liveness;
struct ctl_shutdown;

typedef struct broker {
    broker_config cfg;
    uv_loop_t *loop;
    store *store;
    metadata md;
    net_server *srv;
    int port;
    /* every listener's server and bound port ([0] is srv/port above); cfg.lst says which
     * security protocol each speaks */
    net_server *srvs[BROKER_LISTENERS_MAX];
    int ports[BROKER_LISTENERS_MAX];
    sec_creds creds; /* SCRAM credentials (h_sasl.c) */
    sec_acls acls;   /* ACL bindings (h_acl.c; used only with authorizer.class.name) */
    net_limits limits; /* max.connections and per-IP caps, shared by every listener */
    quota_mgr quotas;  /* client byte-rate quotas (h_quota.c) */
    topic_defaults tdefaults;
    dynconfig dyn; /* dynamic broker configs (h_configs.c), applied onto cfg */
    char *dyn_defaults_text; /* the cluster-wide defaults last taken from a view */
    uv_prepare_t prepare;
    uint64_t prepare_append_gen; /* store_append_gen when on_prepare last woke fetches */
    /* The event loop's turns, measured in on_prepare (broker.c) with libuv's idle-time
     * metric: a turn's busy time is everything but its wait in the poll, i.e. how long
     * every connection waited for this node meanwhile. */
    struct {
        uint64_t last_ns, idle_last_ns; /* at the previous turn's prepare */
        uint64_t turns, stalls;         /* stalls: turns busy >= BROOK_LOOP_STALL_MS */
        uint64_t busy_ns, max_busy_ns;
        uint64_t warned_ns; /* when a long turn was last logged */
    } loop_stats;
    /* Bumped whenever which partitions exist or which this node leads may have changed
     * (a new cluster view, topic changes, replication roles): lookups cached under an
     * older value are redone (h_fetch.c). */
    uint64_t route_gen;
    uv_timer_t retention_timer;
    struct compactor *cleaner; /* the log cleaner (storage/compact.h); NULL when stopped */
    uv_timer_t cleaner_timer;  /* every log.cleaner.backoff.ms: the next log to clean */
    uv_timer_t txn_timer;
    txn_service txn;
    bool txn_started;
    uv_timer_t group_timer;
    group_service grp;
    bool group_started;
    uv_signal_t sig_term, sig_int;
    struct produce_op *produces; /* waiting for durability */
    struct fetch_op *fetches;    /* waiting for data or their deadline */
    fsess_cache *fetch_sessions; /* KIP-227 incremental fetch sessions */
    struct produce_op *produce_fifo; /* cluster mode: produces in arrival order (h_produce.c) */
    bool stopping;
    int64_t started_us;
    struct http_server *admin; /* admin HTTP listener (admin.c); NULL when off */
    int admin_port;
    metrics_hist end_txn_latency; /* EndTxn, request arrival to reply, seconds */
    /* Traffic counters for /metrics (loop thread only): records and bytes appended by
     * produce requests (not replica copies), and fetch answers' record bytes and requests,
     * [0] for consumers and [1] for follower replicas. */
    uint64_t produced_records, produced_bytes;
    uint64_t fetched_bytes[2], fetch_requests[2];
    uint64_t fetch_sendfile_parts; /* partition answers that went as file spans */
    /* cluster mode (cluster.c); clustered is false on a single node */
    bool clustered;
    struct zk_client *zk;
    struct cluster_view *view;   /* newest view from ZooKeeper; NULL until the first */
    struct peer_pool *peers;     /* connections to the other brokers */
    struct remote_op *remote_ops; /* prepares and markers sent to other leaders */
    /* Prepares and markers decided in a loop turn go out after it, one BrookPrepareTxn and
     * one WriteTxnMarkers per node (cluster.c); *_requests count those requests, *_sent
     * their entries. */
    uv_idle_t ops_idle;
    uint64_t marker_requests, markers_sent, prepare_requests, prepares_sent;
    struct inter_op *inter_ops;  /* participant-side requests waiting for durability */
    struct replica_glue *replicas; /* replicated partitions of this node (replica.c) */
    struct liveness *liveness;     /* fast failure detection (liveness.c) */
    struct ctl_shutdown *cshut;    /* a controlled shutdown under way (shutdown.c) */
    uv_timer_t cluster_timer;
    /* Coordinator requests waiting for the ZooKeeper lease, oldest first (cluster.c);
     * coord_handovers counts coordinator partitions this node gave up (a waiting request
     * that saw one is refused NOT_COORDINATOR: stale_hold, while it runs). */
    struct lease_wait *lease_waits;
    uint64_t coord_handovers;
    /* net_next_conn_serial() when this node last gave up a coordinator partition: an
     * offset commit on a connection older than that is dropped with its connection
     * (cluster_drop_stale_conn). */
    uint64_t coord_handover_serial;
    bool stale_hold;
    bool ready_logged, checked_in_doubt;
    int64_t last_in_doubt_ms;
    int64_t last_forced_refresh_ms; /* Metadata for a topic not in the view (h_meta.c) */
    char incarnation[40];
} broker;

/* Everything a handler needs for one request. */
typedef struct req_ctx {
    broker *b;
    net_request *nr;
    req_header h;
    rd body;
} req_ctx;

typedef void (*broker_handler_fn)(req_ctx *c);

int broker_start(broker *b, int64_t started_us);
void broker_stop(broker *b);
/* SIGTERM/SIGINT: in cluster mode a controlled shutdown first (shutdown.c: this node's
 * leaderships and ISR places move to other replicas, at most
 * controlled.shutdown.timeout.ms), then broker_stop. A second call stops at once. */
void broker_shutdown_begin(broker *b);

/* Topic operations (topics.c). Each persists the registry before returning success.
 * *msg gets a human message for errors (static or arena-free). */
int16_t broker_topic_create(broker *b, kslice name, int32_t nparts, int nconfigs,
                            char *const *keys, char *const *values, bool validate_only,
                            const char **msg);
int16_t broker_topic_delete(broker *b, kslice name);
int16_t broker_topic_add_partitions(broker *b, topic *t, int32_t count, bool validate_only,
                                    const char **msg);
int16_t broker_topic_set_configs(broker *b, topic *t, int n, char *const *keys,
                                 char *const *values, bool validate_only, const char **msg);
/* Looks up a partition; *err_out gets UNKNOWN_TOPIC_OR_PARTITION when absent. */
partition *broker_partition(broker *b, kslice topic_name, int32_t index, int16_t *err_out);
void broker_topic_defaults(const broker_config *c, topic_defaults *d);
/* The topic defaults that apply to the named topic (the broker's, but delete for the
 * internal topics). */
void broker_topic_defaults_of(const broker *b, const char *topic_name, topic_defaults *out);
/* How many partitions the internal topic topic_name has: its own count once it exists
 * (the coordinators hash ids over it, so a changed transaction.state.log.num.partitions or
 * offsets.topic.num.partitions must not move an id, as in Kafka), the configured one
 * before. */
int32_t broker_internal_partitions(const broker *b, const char *topic_name);
/* Resolves t's overrides over the broker's topic defaults into t->logcfg and t->policy
 * (the internal topics keep delete whatever log.cleanup.policy says). */
void broker_topic_resolve(const broker *b, topic *t);

/* Cluster mode (cluster.c). Each check answers "here" on a single node. */
int cluster_init(broker *b);  /* before the transaction service starts */
int cluster_start(broker *b); /* once the listener is bound */
void cluster_stop(broker *b);
bool broker_clustered(const broker *b);
/* KERR_NONE when this node leads the partition; else NOT_LEADER_OR_FOLLOWER,
 * LEADER_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION. */
int16_t cluster_leader_error(broker *b, kslice topic, int32_t partition);
/* Whether this node holds a replica of p (always on a single node). In a cluster a node
 * may keep a log for a partition it is not a replica of (empty, or left from an earlier
 * placement); its figures are not the partition's and reports leave them out. */
bool cluster_is_replica(broker *b, const struct partition *p);
/* A topic or partitions another node just created may not be in our view yet (its
 * ZooKeeper watch is in flight): if `topic`, or its `partition` (-1: any), is unknown,
 * read ZooKeeper now (at most every 10 ms, so clients polling a missing topic cannot
 * flood it). Call only at the start of a handler: the new view may create or delete
 * local topics. */
void cluster_refresh_if_unknown(broker *b, kslice topic, int32_t partition);
/* The same, unconditionally (still at most every 10 ms): Metadata, whose answer must show
 * topic changes made through any node before it was asked. */
void cluster_refresh_now(broker *b);
/* broker_partition() for requests only a leader serves; *epoch (may be NULL) gets the
 * leader epoch (0 on a single node). */
partition *broker_led_partition(broker *b, kslice topic, int32_t index, int16_t *err,
                                int32_t *epoch);
/* The coordinator of a transactional id (txn) or group: *node, or an error
 * (COORDINATOR_NOT_AVAILABLE). */
int16_t cluster_coordinator(broker *b, bool txn, kslice key, int32_t *node);
/* The node FindCoordinator names for key: the coordinator, or while its partition has no
 * live leader the replica likeliest to lead it next (cv_likely_leader); an error
 * (COORDINATOR_NOT_AVAILABLE) only when no replica of it is live. */
int16_t cluster_coordinator_named(broker *b, bool txn, kslice key, int32_t *node);
/* KERR_NONE when this node coordinates key; else NOT_COORDINATOR or
 * COORDINATOR_NOT_AVAILABLE. */
int16_t cluster_coordinator_error(broker *b, bool txn, kslice key);
/* A group or transaction coordinator request (api_key) that arrives while this node's
 * ZooKeeper lease has lapsed, or while earlier ones still wait, is held (true: the caller
 * stops; fn(c) runs later, in arrival order, once the lease is back or after
 * coordinator.lease.wait.ms, when cluster_coordinator_error refuses it). False: run it now. */
bool cluster_hold_for_lease(broker *b, req_ctx *c, broker_handler_fn fn);
/* An offset commit (OffsetCommit, TxnOffsetCommit) on a connection opened before this node
 * last gave up a coordinator partition: closes the connection without running it and
 * returns true (cluster.c). */
bool cluster_drop_stale_conn(broker *b, req_ctx *c);
/* The late-write checks (produce, TxnOffsetCommit) with a possibly remote coordinator.
 * cluster_txn_verified: with a local coordinator, its answer; with a remote one, whether
 * the producer's transaction is already open here at this epoch (its first batch here
 * was verified remotely, see cluster_txn_join). */
bool cluster_txn_verified(broker *b, partition *p, int64_t pid, int16_t epoch,
                          const char *topic, int32_t partition);
/* Does a transactional batch of (pid, epoch) for p need the remote coordinator's
 * verification first? */
bool cluster_txn_needs_verify(broker *b, partition *p, int64_t pid, int16_t epoch);
/* Does a transactional batch of (pid, epoch) for partition p (topic, partition) need a
 * cluster_txn_join first? To verify (add false): when the coordinator is another node
 * and the transaction is not open here yet at this epoch (a local coordinator is asked
 * synchronously by cluster_txn_verified). To add (Produce v12+): also with a local
 * coordinator, when the partition is not in the transaction yet. */
bool cluster_txn_needs_join(broker *b, partition *p, int64_t pid, int16_t epoch,
                            const char *topic, int32_t partition, bool add);
/* Coordinator side of a verification (AddPartitionsToTxn v4+ with VerifyOnly) for one
 * partition. */
int16_t cluster_txn_verify_local(broker *b, int64_t pid, int16_t epoch, const char *topic,
                                 int32_t partition);
/* TxnOffsetCommit: is group_id in (pid, epoch)'s ongoing transaction? The local check:
 * KERR_NONE, INVALID_PRODUCER_ID_MAPPING, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, or
 * NOT_COORDINATOR when another node coordinates pid. */
int16_t cluster_group_txn_check(broker *b, int64_t pid, int16_t epoch, const char *group_id);
/* The AddPartitionsToTxn version nodes send each other (the batched form, KIP-890). */
#define TXN_JOIN_VERSION 5
typedef void (*txn_join_cb)(void *arg, int16_t error);
/* Asks the coordinator of pid's transaction txn_id to confirm (verify_only: the late-write
 * check of Produce and TxnOffsetCommit) or to add (transactions v2: Produce v12+ and
 * TxnOffsetCommit v5+ add their participant themselves) one participant: partition
 * `partition` of topic `name`, or for partition -1 the group `name`. To another node it
 * goes as AddPartitionsToTxn v5 (a group in Brook's tagged field); on this one a
 * verification is answered by cluster_txn_verify_local / cluster_group_txn_check, an
 * addition by the transaction service once the participant is durable. Returns KERR_NONE
 * when cb will run exactly once (possibly before this returns), or the error to answer at
 * once. `a` (the asking request's arena) must live until cb ran. */
int16_t cluster_txn_join(broker *b, arena *a, const char *txn_id, int64_t pid, int16_t epoch,
                         const char *name, int32_t partition, bool verify_only, txn_join_cb cb,
                         void *arg);
/* A token for the transaction service whose reply goes to done(arg, error) instead of a
 * response (h_txn.c). */
struct txn_pending *txn_pending_join(arena *a, txn_join_cb done, void *arg);
/* BrookTxnStatus, coordinator side. */
void cluster_txn_outcome(broker *b, int64_t pid, int16_t epoch, struct txn_status_req *out);
/* Whether a transaction coordinator of pid can have coordinator_epoch now: on one node the
 * service's own (constant) one at most; in a cluster at most the leader epoch of pid's
 * __transaction_state partition in this node's view (a real newer coordinator is refused
 * retriably until the view catches up). A larger one can only be forged, e.g. by a
 * client's WriteTxnMarkers (allowed without ACLs, as in Kafka), and would fence the real
 * coordinator out of every transaction of its partition. */
bool cluster_coordinator_epoch_possible(broker *b, int64_t pid, int32_t coordinator_epoch);
/* Topic changes: through ZooKeeper in cluster mode, else broker_topic_*. A created topic's
 * id goes to id_out (16 bytes, may be NULL; zero when nothing was created). replicas:
 * nparts x rf broker ids from a replica assignment, or NULL to place by the ring. */
int16_t cluster_topic_create(broker *b, kslice name, int32_t nparts, int32_t rf, int nconfigs,
                             char *const *keys, char *const *values, const int32_t *replicas,
                             bool validate_only, const char **msg, uint8_t *id_out);
int16_t cluster_topic_delete(broker *b, kslice name);
/* DeleteTopics by topic id: UNKNOWN_TOPIC_ID when no topic has it (a topic deleted and
 * recreated under its name has a new one), and never deletes another topic of that name.
 * *name_out gets the topic's name (in a) when the id is known. */
int16_t cluster_topic_delete_id(broker *b, const uint8_t id[16], arena *a, kslice *name_out);
/* Whether the topic called name is the one with topic id id, here and (cluster) in the
 * view: false for a zero id, a name nobody has, or the same name on another topic. */
bool cluster_topic_has_id(broker *b, kslice name, const uint8_t id[16]);
/* The name of the topic with this id (the registry's string: copy it to keep it), or NULL
 * when none has it (cluster: here and in the view). */
const char *cluster_topic_name_by_id(broker *b, const uint8_t id[16]);
/* Fetch v13+ and Produce v13+ name topics by id: names[i] (every `stride` bytes: the name
 * field of a request's topic array) gets an arena copy of the name of the topic whose id
 * is at ids + i * stride (the same array's id field), or a null slice for an id no topic
 * has; a cluster node that does not know an id reads ZooKeeper once first (a topic just
 * created through another node). -1: out of memory. The handlers check again at every
 * lookup that the name still has that id. */
int cluster_resolve_topic_ids(broker *b, int32_t n, kslice *names, const uint8_t *ids,
                              size_t stride, arena *a);
/* replicas: (count - current) x rf broker ids for the new partitions, or NULL. */
int16_t cluster_topic_add_partitions(broker *b, topic *t, int32_t count,
                                     const int32_t *replicas, int32_t rf, bool validate_only,
                                     const char **msg);
int16_t cluster_topic_set_configs(broker *b, topic *t, int n, char *const *keys,
                                  char *const *values, bool validate_only, const char **msg);
/* Participant-side inter-broker requests parked on durability (h_inter.c). */
void inter_on_progress(broker *b);
void inter_drain(broker *b);
void inter_forget_partition(broker *b, partition *p);
/* This node stopped leading p: requests waiting on its high watermark are answered with
 * err (NOT_LEADER_OR_FOLLOWER) for p, so the coordinator retries with the new leader. */
void inter_fail_partition(broker *b, partition *p, int16_t err);
/* Cluster: records a transaction marker for a group participant as a control batch (with
 * its coordinator epoch and transaction sequence txn_seq, 0 when unknown) in the group's
 * __consumer_offsets partition p, which this node leads, so the partition's producer state
 * knows the newest coordinator of pid and the last marker applied, as a data partition
 * does from its own markers. KERR_NONE (*offset_out: the batch's offset,
 * -1 when nothing was written), KERR_TRANSACTION_COORDINATOR_FENCED (nothing written: a
 * newer coordinator's marker is there), or KERR_KAFKA_STORAGE_ERROR. */
int16_t inter_group_marker_record(broker *b, partition *p, int64_t pid, int16_t epoch,
                                  bool commit, int32_t coordinator_epoch, int64_t txn_seq,
                                  int64_t *offset_out);

/* Handlers (one per API). Each either answers at once (net_request_done) or parks. */
void handle_api_versions(req_ctx *c);
void handle_metadata(req_ctx *c);
void handle_produce(req_ctx *c);
void handle_fetch(req_ctx *c);
void handle_list_offsets(req_ctx *c);
void handle_offset_for_leader_epoch(req_ctx *c);
void handle_create_topics(req_ctx *c);
void handle_delete_topics(req_ctx *c);
void handle_create_partitions(req_ctx *c);
void handle_delete_records(req_ctx *c);
void handle_describe_configs(req_ctx *c);
void handle_alter_configs(req_ctx *c);
void handle_incremental_alter_configs(req_ctx *c); /* h_configs.c */
void handle_describe_log_dirs(req_ctx *c);         /* h_configs.c */
void handle_find_coordinator(req_ctx *c);
void handle_init_producer_id(req_ctx *c);
void handle_add_partitions_to_txn(req_ctx *c);
void handle_end_txn(req_ctx *c);
void handle_join_group(req_ctx *c);
void handle_sync_group(req_ctx *c);
void handle_heartbeat(req_ctx *c);
void handle_leave_group(req_ctx *c);
void handle_offset_commit(req_ctx *c);
void handle_offset_fetch(req_ctx *c);
void handle_describe_groups(req_ctx *c);
void handle_list_groups(req_ctx *c);
void handle_delete_groups(req_ctx *c);
void handle_offset_delete(req_ctx *c);
void handle_add_offsets_to_txn(req_ctx *c);
void handle_txn_offset_commit(req_ctx *c);
void handle_write_txn_markers(req_ctx *c);
void handle_brook_prepare_txn(req_ctx *c);
void handle_brook_txn_status(req_ctx *c);
void handle_describe_producers(req_ctx *c);    /* h_txn_admin.c */
void handle_describe_transactions(req_ctx *c); /* h_txn_admin.c */
void handle_list_transactions(req_ctx *c);     /* h_txn_admin.c */
void handle_consumer_group_heartbeat(req_ctx *c); /* h_cgroup.c */
void handle_consumer_group_describe(req_ctx *c);  /* h_cgroup.c */
void handle_describe_cluster(req_ctx *c);      /* h_txn_admin.c */
void handle_sasl_handshake(req_ctx *c);        /* h_sasl.c */
void handle_sasl_authenticate(req_ctx *c);     /* h_sasl.c */
void handle_describe_user_scram(req_ctx *c);   /* h_sasl.c */
void handle_alter_user_scram(req_ctx *c);      /* h_sasl.c */
/* Whether the request may run on its connection: on a SASL listener, only ApiVersions,
 * SaslHandshake and SaslAuthenticate before the client has authenticated (h_sasl.c). */
bool broker_auth_allows(req_ctx *c);
/* After a SaslHandshake v0 the next frames are bare SASL tokens: handles nr as one and
 * returns true, or returns false for a normal request (h_sasl.c). */
bool broker_sasl_raw_token(broker *b, net_request *nr);
/* The connection's principal: "User:<name>" once SASL authenticated, else that of a
 * verified TLS client certificate ("User:<mapped DN>"), else "User:ANONYMOUS" (h_sasl.c). */
const char *broker_principal(const req_ctx *c);
/* Authorization (authz.c; sec/acl.h decides). Without authorizer.class.name every request
 * is allowed. A refusal is logged (who, what, which resource). */
bool broker_authz_on(const broker *b);
bool broker_may(req_ctx *c, int op, int restype, const char *name);
bool broker_may_slice(req_ctx *c, int op, int restype, kslice name);
bool broker_may_cluster(req_ctx *c, int op);
/* KIP-430's authorized operations of a resource: the bits (1 << AclOperation) of all that
 * the principal may do; all itself without an authorizer. */
int32_t broker_authorized_ops(req_ctx *c, int restype, const char *name, int32_t all);
/* broker_may without the log line: for leaving out of a listing what may not be seen. */
bool broker_sees(req_ctx *c, int op, int restype, const char *name);
/* Kafka's authorizeByResourceType: op allowed on at least one resource of the type. */
bool broker_may_any(req_ctx *c, int op, int restype);
/* A group's (txn false; op on GROUP) or transactional id's (op on TRANSACTIONAL_ID)
 * refusal: GROUP_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED, else cluster_coordinator_error. */
int16_t broker_coord_error(req_ctx *c, bool txn, kslice key, int op);
/* A config resource's refusal (DescribeConfigs, AlterConfigs): op on the topic (type 2) or
 * on the cluster (a broker), else TOPIC_/CLUSTER_AUTHORIZATION_FAILED; KERR_NONE: allowed. */
int16_t broker_config_refusal(req_ctx *c, int8_t type, kslice name, int op);
/* Client quotas (h_quota.c): loaded at start from the data directory (-1 with err: a file
 * that does not load); the two admin APIs; the produce and fetch hooks, which record bytes
 * for the request's (user, client id), mute its connection when over the quota and return
 * the throttle time for the response (0: none). */
int broker_quota_start(broker *b, char *err, size_t errlen);
/* In a cluster: the client quotas of a view, applied when they changed since old (NULL:
 * the first view). A text that does not load is logged and the previous quotas stay. */
void broker_quota_on_view(broker *b, const cluster_view *old, const cluster_view *v);
void handle_describe_client_quotas(req_ctx *c);
void handle_alter_client_quotas(req_ctx *c);
int32_t broker_quota_produce(req_ctx *c, size_t bytes);
/* The most record bytes a fetch may return (-1: no quota). */
int64_t broker_quota_fetch_max(req_ctx *c);
/* Records a fetch answer's bytes; > 0: throttled, and the caller answers it empty. */
int32_t broker_quota_fetch(req_ctx *c, size_t bytes);
void broker_quota_metrics(const broker *b, wr *w);
void handle_describe_acls(req_ctx *c); /* h_acl.c */
void handle_create_acls(req_ctx *c);   /* h_acl.c */
void handle_delete_acls(req_ctx *c);   /* h_acl.c */
/* The address this node gives clients of the request's listener (Metadata, FindCoordinator,
 * DescribeCluster). */
void broker_self_address(const req_ctx *c, const char **host, int *port);
/* Where clients reach listener i of this node: its advertised host and port (the bound
 * port unless advertised.listeners names one). */
void broker_listener_address(const broker *b, int i, const char **host, int *port);
/* Node nb as a client of the request's listener reaches it: nb's endpoint of the listener
 * with the same name, else (a registration without it) nb's inter-broker address. The
 * strings borrow from nb's view. */
md_broker broker_node_address(const req_ctx *c, const cv_broker *nb);
/* A transactional request parked in the transaction service (h_txn.c). */
typedef struct txn_pending txn_pending;
typedef txn_pending txn_pending_t;
txn_pending *txn_pending_new(req_ctx *c);
/* Dynamic broker configs (h_configs.c): loaded and applied at start (-1 with err: a data
 * directory file that does not load); DescribeConfigs and AlterConfigs of a BROKER
 * resource. */
int broker_dyn_start(broker *b, char *err, size_t errlen);
/* A cluster's views carry the cluster-wide defaults (ZooKeeper): applied when changed. */
struct cluster_view;
void broker_dyn_on_view(broker *b, const struct cluster_view *v);
struct describeconfigs_res;
void broker_describe_broker_configs(req_ctx *c, struct describeconfigs_res *res);
/* The n operations (IncrementalAlterConfigs' form; AlterConfigs passes SETs) on the BROKER
 * resource named name; replace: the resource's whole set becomes these (AlterConfigs).
 * *msg: arena or static. */
struct incalter_config;
int16_t broker_alter_broker_configs(req_ctx *c, kslice name, int32_t n,
                                    const struct incalter_config *ops, bool replace,
                                    bool validate_only, const char **msg);
/* The group service's answer callback and the transaction marker hook (h_group.c). */
void group_on_action(void *ctx, const group_action *a);
int16_t group_txn_marker(void *ctx, const char *txn_id, const char *group_id, int64_t pid,
                         int16_t epoch, bool commit, int32_t coordinator_epoch, int64_t txn_seq,
                         partition **wait_p, int64_t *wait_end);
/* The transaction service's reply callback (h_txn.c). */
void txn_reply(void *ctx, txn_req req, int kind, int16_t error, int64_t pid, int16_t epoch);

/* Called when offsets became durable or visible: completes parked produces and fetches. */
void broker_on_progress(broker *b);
/* Forgets parked work that refers to a partition about to be dropped. */
void broker_forget_partition(broker *b, partition *p);
/* Per-handler halves of the two above (h_produce.c, h_fetch.c). */
void produce_on_progress(broker *b);
void produce_forget_partition(broker *b, partition *p);
void fetch_on_progress(broker *b);
void fetch_forget_partition(broker *b, partition *p);
/* Completes every parked request at shutdown. */
void produce_drain(broker *b);
void fetch_drain(broker *b);
/* Encodes the response frame for a request whose body was written by fn. */
void broker_reply_malformed(req_ctx *c, const char *what);

/* Fast failure detection (liveness.c): pings, and evictions of refused nodes. */
void liveness_tick(broker *b);
void liveness_stop(broker *b);

/* Replication (replica.c): partitions with more than one replica. */
/* A partition was opened: a single node leads all of its logs in epoch 0 (so
 * OffsetForLeaderEpoch answers for it). Returns a log_result. */
int replica_opened(broker *b, partition *p);
void replica_on_view(broker *b, const struct cluster_view *v);
void replica_on_progress(broker *b); /* local appends/fsyncs: before the waiters run */
void replica_tick(broker *b);
/* ZooKeeper's answer to an ISR proposal (zk_isr_fn; ctx is the broker). */
void replica_on_isr(void *ctx, const char *topic, int32_t partition, int32_t leader_epoch,
                    int16_t error, int32_t version);
void replica_forget_partition(broker *b, partition *p);
void replica_stop(broker *b);
/* The follower's fetches sent (metrics): full ones (listing every partition followed from
 * that leader, opening a fetch session) and incremental ones, and the partitions listed. */
typedef struct replica_fetch_stats {
    uint64_t fetches[2]; /* [0] full, [1] incremental */
    uint64_t partitions_listed;
} replica_fetch_stats;
replica_fetch_stats replica_fetch_stats_of(const broker *b);
/* May this produce be appended here? false with *err (NOT_LEADER_OR_FOLLOWER while this
 * node may not lead it yet, NOT_ENOUGH_REPLICAS for acks=all below min.insync). */
bool replica_check_produce(broker *b, partition *p, int16_t acks, int16_t *err);
/* The leader's side of a follower's Fetch: a Kafka error code, 0 when accepted. */
int16_t replica_leader_fetch(broker *b, partition *p, int32_t replica_id, int32_t leader_epoch,
                             int64_t fetch_offset);
/* Answers the produces waiting on p now with err (leadership lost). */
void produce_fail_partition(broker *b, partition *p, int16_t err);
/* Answers acks=all produces on replicated partitions past their timeout_ms. */
void produce_expire(broker *b);

#endif
