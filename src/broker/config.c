/* config.c - see config.h. Key names, types and defaults follow Kafka's broker configs. */
#include "broker/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "net/server.h"
#include "txn/service.h"

#define OFF(f) offsetof(broker_config, f)
#define I64MAX INT64_MAX
#define I32MAX INT32_MAX

static const config_def g_defs[] = {
    {"node.id", CFG_INT32, "1", 0, 1000000, NULL, OFF(node_id), "this broker's id"},
    {"broker.id", CFG_INT32, NULL, 0, 1000000, NULL, OFF(node_id), "alias of node.id"},
    {"listeners", CFG_STRING, "PLAINTEXT://127.0.0.1:9092", 0, 0, NULL, OFF(listeners),
     "NAME://host:port,... to listen on (port 0: any free port); NAME's security protocol "
     "comes from listener.security.protocol.map"},
    {"advertised.listeners", CFG_STRING, NULL, 0, 0, NULL, OFF(advertised_listeners),
     "NAME://host:port,... given to clients in Metadata; defaults to listeners"},
    {"listener.security.protocol.map", CFG_STRING, BROKER_SECPROTO_MAP_DEFAULT, 0, 0, NULL,
     OFF(secproto_map), "NAME:PROTOCOL,... (PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL)"},
    {"ssl.keystore.type", CFG_STRING, "PEM", 0, 0, NULL, OFF(ssl_keystore_type),
     "PEM (the only type): ssl.keystore.location is a PEM file"},
    {"ssl.keystore.location", CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_keystore_location),
     "PEM file with the private key and the certificate chain of SSL and SASL_SSL listeners "
     "(and of this broker as an inter-broker TLS client)"},
    {"ssl.key.password", CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_key_password),
     "password of an encrypted private key in ssl.keystore.location"},
    {"ssl.truststore.type", CFG_STRING, "PEM", 0, 0, NULL, OFF(ssl_truststore_type),
     "PEM (the only type)"},
    {"ssl.truststore.location", CFG_STRING, NULL, 0, 0, NULL, OFF(ssl_truststore_location),
     "PEM CA bundle that client certificates (and other brokers' certificates) must chain to; "
     "unset: the system's CAs"},
    {"ssl.client.auth", CFG_ENUM, "none", 0, 0, "required|requested|none", OFF(ssl_client_auth),
     "client certificates: required (no valid one: refused), requested, or none"},
    {"ssl.enabled.protocols", CFG_STRING, "TLSv1.2,TLSv1.3", 0, 0, NULL,
     OFF(ssl_enabled_protocols), "TLS versions offered: TLSv1.2 and/or TLSv1.3"},
    {"ssl.cipher.suites", CFG_STRING, "", 0, 0, NULL, OFF(ssl_cipher_suites),
     "IANA (or OpenSSL) cipher suite names; empty: OpenSSL's defaults"},
    {"ssl.principal.mapping.rules", CFG_STRING, "DEFAULT", 0, 0, NULL,
     OFF(ssl_principal_mapping_rules), "client certificate DN (RFC 2253) to principal name: "
     "DEFAULT and/or RULE:pattern/replacement/[LU], first match wins"},
    {"ssl.endpoint.identification.algorithm", CFG_STRING, "https", 0, 0, NULL,
     OFF(ssl_endpoint_identification), "https: an inter-broker TLS connection checks the "
     "other broker's certificate names its address; empty: no check"},
    {"inter.broker.listener.name", CFG_STRING, NULL, 0, 0, NULL,
     OFF(inter_broker_listener_name), "the listener brokers reach each other through (a "
     "cluster registers it); unset: from security.inter.broker.protocol, else the first"},
    {"security.inter.broker.protocol", CFG_STRING, NULL, 0, 0, NULL,
     OFF(security_inter_broker_protocol), "PLAINTEXT or SSL: the inter-broker listener is "
     "the one of this protocol (set this or inter.broker.listener.name, not both)"},
    {"sasl.enabled.mechanisms", CFG_STRING, "SCRAM-SHA-256,SCRAM-SHA-512", 0, 0, NULL,
     OFF(sasl_mechanisms), "SASL mechanisms of SASL listeners: SCRAM-SHA-256, SCRAM-SHA-512, "
     "PLAIN (PLAIN sends the password in the clear on SASL_PLAINTEXT)"},
    {"sasl.mechanism.inter.broker.protocol", CFG_STRING, "SCRAM-SHA-512", 0, 0, NULL,
     OFF(inter_broker_sasl_mech), "SCRAM-SHA-256 or SCRAM-SHA-512: how brokers log in to each "
     "other when their listener is SASL_PLAINTEXT or SASL_SSL"},
    {"inter.broker.sasl.username", CFG_STRING, NULL, 0, 0, NULL, OFF(inter_broker_sasl_user),
     "the user brokers log in to each other as (put User:<it> in super.users)"},
    {"inter.broker.sasl.password", CFG_STRING, NULL, 0, 0, NULL,
     OFF(inter_broker_sasl_password), "that user's password"},
    {"connection.failed.authentication.delay.ms", CFG_INT32, "100", 0, 60000, NULL,
     OFF(auth_fail_delay_ms), "a failed SASL authentication is answered after this delay"},
    {"connections.max.reauth.ms", CFG_INT64, "0", 0, I64MAX, NULL, OFF(max_reauth_ms),
     "KIP-368: a SASL session lasts this long (told to clients in SaslAuthenticate v1+); a "
     "client must re-authenticate on its connection before then, or the connection closes "
     "at its next request; 0: sessions never expire"},
    {"admin.token", CFG_STRING, "", 0, 0, NULL, OFF(admin_token),
     "the admin HTTP API (not the console's files) needs Authorization: Bearer <token> or "
     "?token=<token>; required with authorizer.class.name"},
    {"authorizer.class.name", CFG_STRING, "", 0, 0, NULL, OFF(authorizer),
     "empty: no authorization; " BROKER_AUTHORIZER_KAFKA " (or Kafka's older "
     "kafka.security.authorizer.AclAuthorizer): every request checked against the ACLs"},
    {"super.users", CFG_STRING, "", 0, 0, NULL, OFF(super_users),
     "principals every operation is allowed to, separated by ';' (User:admin;User:ops)"},
    {"allow.everyone.if.no.acl.found", CFG_BOOL, "false", 0, 0, NULL, OFF(allow_if_no_acl),
     "a resource no ACL matches is open to everyone (else only to super users)"},
    {"connections.max.idle.ms", CFG_INT64, "600000", 0, I64MAX, NULL,
     OFF(connections_max_idle_ms), "a client connection with nothing in flight that has "
     "read and written nothing for this long is closed (a handshake that never comes "
     "included); 0: never"},
    {"max.connections", CFG_INT64, "2147483647", 1, I32MAX, NULL, OFF(max_connections),
     "connections the broker accepts over all listeners; more are closed at once"},
    {"max.connections.per.ip", CFG_INT64, "2147483647", 0, I32MAX, NULL,
     OFF(max_connections_per_ip), "connections one client address may hold"},
    {"max.connections.per.ip.overrides", CFG_STRING, "", 0, 0, NULL,
     OFF(max_connections_per_ip_overrides), "ip:n,... per-address caps instead"},
    {"quota.window.num", CFG_INT32, "11", 1, 100, NULL, OFF(quota_window_num),
     "samples in a client quota's rate window"},
    {"quota.window.size.seconds", CFG_INT32, "1", 1, 3600, NULL, OFF(quota_window_size_s),
     "length of one sample of a client quota's rate window"},
    {"log.dirs", CFG_STRING, NULL, 0, 0, NULL, OFF(log_dirs), "data directory"},
    {"log.dir", CFG_STRING, "./data", 0, 0, NULL, OFF(log_dir),
     "data directory if log.dirs is unset"},
    {"num.partitions", CFG_INT32, "1", 1, 10000, NULL, OFF(num_partitions),
     "partitions of auto-created topics"},
    {"default.replication.factor", CFG_INT32, "1", 1, 8, NULL, OFF(default_replication_factor),
     "replicas of new topics (a single node takes only 1)"},
    {"min.insync.replicas", CFG_INT32, "1", 1, 8, NULL, OFF(min_insync_replicas),
     "in-sync replicas needed for acks=all and for the high watermark to move"},
    {"replica.lag.time.max.ms", CFG_INT64, "10000", 100, I64MAX, NULL, OFF(replica_lag_time_max_ms),
     "a follower not caught up for this long leaves the ISR"},
    {"log.segment.bytes", CFG_INT64, "1073741824", 14, 2147483647, NULL, OFF(log_segment_bytes),
     "roll a segment at this size"},
    {"log.roll.ms", CFG_INT64, "-1", -1, I64MAX, NULL, OFF(log_roll_ms),
     "roll a segment at this age"},
    {"log.roll.hours", CFG_INT64, "168", 1, I32MAX, NULL, OFF(log_roll_hours),
     "used if log.roll.ms is unset"},
    {"log.retention.ms", CFG_INT64, "-2", -2, I64MAX, NULL, OFF(log_retention_ms),
     "delete segments older than this (-1: never, -2: unset)"},
    {"log.retention.minutes", CFG_INT64, "-2", -2, I32MAX, NULL, OFF(log_retention_minutes),
     "used if log.retention.ms is unset (-2: unset)"},
    {"log.retention.hours", CFG_INT64, "168", -1, I32MAX, NULL, OFF(log_retention_hours),
     "used if neither of the above is set"},
    {"log.retention.bytes", CFG_INT64, "-1", -1, I64MAX, NULL, OFF(log_retention_bytes),
     "delete oldest segments past this size per partition (-1: never)"},
    {"log.retention.check.interval.ms", CFG_INT64, "300000", 1, I64MAX, NULL,
     OFF(log_retention_check_interval_ms), "how often retention runs"},
    {"log.index.interval.bytes", CFG_INT32, "4096", 0, I32MAX, NULL, OFF(log_index_interval_bytes),
     "bytes between sparse index entries"},
    {"log.message.timestamp.type", CFG_ENUM, "CreateTime", 0, 0, "CreateTime|LogAppendTime",
     OFF(log_message_timestamp_type), "timestamp kept in batches"},
    {"log.message.timestamp.before.max.ms", CFG_INT64, "9223372036854775807", 0, I64MAX, NULL,
     OFF(ts_before_max_ms), "a CreateTime record older than now minus this is refused"},
    {"log.message.timestamp.after.max.ms", CFG_INT64, "9223372036854775807", 0, I64MAX, NULL,
     OFF(ts_after_max_ms), "a CreateTime record newer than now plus this is refused"},
    {"log.cleanup.policy", CFG_ENUM, "delete", 0, 0, "delete|compact|compact,delete|delete,compact",
     OFF(log_cleanup_policy), "the cleanup.policy of topics without their own (dynamic); "
     "Brook's internal topics (__consumer_offsets, __transaction_state) keep delete"},
    {"log.cleaner.enable", CFG_BOOL, "true", 0, 0, NULL, OFF(log_cleaner_enable),
     "run the log cleaner for topics with cleanup.policy=compact"},
    {"log.cleaner.backoff.ms", CFG_INT64, "15000", 0, I64MAX, NULL, OFF(log_cleaner_backoff_ms),
     "how often the cleaner looks for a log to clean (one pass at a time)"},
    {"log.cleaner.dedupe.buffer.size", CFG_INT64, "134217728", 1024, I64MAX, NULL,
     OFF(log_cleaner_dedupe_buffer_size),
     "memory for a pass's key map; a range with more keys is cleaned in several passes"},
    {"log.cleaner.delete.retention.ms", CFG_INT64, "86400000", 0, I64MAX, NULL,
     OFF(log_cleaner_delete_retention_ms), "default delete.retention.ms of topics"},
    {"log.cleaner.min.compaction.lag.ms", CFG_INT64, "0", 0, I64MAX, NULL,
     OFF(log_cleaner_min_compaction_lag_ms), "default min.compaction.lag.ms of topics"},
    {"log.cleaner.max.compaction.lag.ms", CFG_INT64, "9223372036854775807", 1, I64MAX, NULL,
     OFF(log_cleaner_max_compaction_lag_ms), "default max.compaction.lag.ms of topics"},
    {"log.cleaner.min.cleanable.ratio", CFG_STRING, "0.5", 0, 0, NULL,
     OFF(log_cleaner_min_cleanable_ratio),
     "default min.cleanable.dirty.ratio of topics (a number in [0, 1])"},
    {"compression.type", CFG_ENUM, "producer", 0, 0,
     "uncompressed|zstd|lz4|snappy|gzip|producer", OFF(compression_type),
     "codec of topics without their own compression.type (producer: as sent)"},
    {"message.max.bytes", CFG_INT32, "1048588", 0, I32MAX, NULL, OFF(message_max_bytes),
     "largest record batch accepted"},
    {"auto.create.topics.enable", CFG_BOOL, "true", 0, 0, NULL, OFF(auto_create_topics_enable),
     "create unknown topics named in Metadata requests"},
    {"delete.topic.enable", CFG_BOOL, "true", 0, 0, NULL, OFF(delete_topic_enable),
     "allow DeleteTopics"},
    {"max.incremental.fetch.session.cache.slots", CFG_INT32, "1000", 0, I32MAX, NULL,
     OFF(fetch_session_slots),
     "incremental fetch sessions (KIP-227) kept at once; 0: none (every fetch is full)"},
    {"fetch.sendfile.min.bytes", CFG_INT32, "16384", 0, I32MAX, NULL, OFF(fetch_sendfile_min),
     "a partition's fetch answer of at least this many bytes goes from the segment file to a "
     "plaintext socket by sendfile (smaller ones, and TLS, are read and copied); 0: never"},
    {"socket.request.max.bytes", CFG_INT32, "104857600", 64, I32MAX, NULL,
     OFF(socket_request_max_bytes), "largest request frame; larger closes the connection"},
    {"log.flush.mode", CFG_ENUM, "sync", 0, 0, "sync|interval", OFF(log_flush_mode),
     "sync: ack after fdatasync (group commit); interval: ack after write, fsync on a timer"},
    {"log.flush.interval.ms", CFG_INT64, "1000", 1, I64MAX, NULL, OFF(log_flush_interval_ms),
     "fsync period in interval mode; sync mode: the longest a record nobody waits for (a "
     "transaction's completion record) waits for an fsync, 1 s at most"},
    {"log.flush.interval.bytes", CFG_INT64, "0", 0, I64MAX, NULL,
     OFF(log_flush_interval_bytes),
     "interval mode: also fsync once this many bytes were written since the last fsync "
     "began (0: the timer only); bounds what a crash can take and each fsync's length"},
    {"log.cache.keep.bytes", CFG_INT64, "67108864", 0, I64MAX, NULL, OFF(log_cache_keep_bytes),
     "after each fsync, a segment's page-cache pages older than its last this many bytes are "
     "dropped (they stay on disk), so the kernel reuses warm pages for new writes; 0: never"},
    {"fetch.readahead.touch", CFG_BOOL, "true", 0, 0, NULL, OFF(fetch_readahead_touch),
     "the worker that reads ahead for a fetch behind the cached tail also reads the bytes "
     "itself, so a page's first touch (costly in a VM whose host reclaims freed memory) is "
     "its and not the event loop's or the consumer's; false: the readahead is advice only"},
    {"log.segment.reserve", CFG_BOOL, "true", 0, 0, NULL, OFF(log_segment_reserve),
     "once a partition's active segment is half full, a worker makes its next segment file "
     "with segment.bytes of disk blocks reserved (file size still 0), so writes never wait "
     "for the file system to allocate blocks; a sealed segment gives back what it left"},
    {"log.segment.zero.ahead", CFG_BOOL, "true", 0, 0, NULL, OFF(log_segment_zero_ahead),
     "sync mode: an append of at most 4 KiB that passes the segment file's end also writes "
     "64 KiB of zeros after it, so the fdatasyncs of the appends that follow overwrite "
     "allocated blocks and leave the file's size (its inode) alone; cut at seal and close"},
    {"cluster.id", CFG_STRING, "brook-cluster", 0, 0, NULL, OFF(cluster_id),
     "cluster id in Metadata"},
    {"transaction.state.log.num.partitions", CFG_INT32, "50", 1, 1000, NULL,
     OFF(txn_log_partitions), "partitions of __transaction_state"},
    {"transaction.max.timeout.ms", CFG_INT32, "900000", 1, I32MAX, NULL, OFF(txn_max_timeout_ms),
     "largest transaction.timeout.ms a producer may ask for"},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms", CFG_INT64, "10000", 1, I64MAX,
     NULL, OFF(txn_abort_interval_ms), "how often expired transactions are aborted"},
    {"admin.listeners", CFG_STRING, BROKER_ADMIN_LISTENER_DEFAULT, 0, 0, NULL,
     OFF(admin_listeners),
     "http://host:port of the admin HTTP listener (port 0: any free port; empty: off)"},
    {"offsets.topic.num.partitions", CFG_INT32, "50", 1, 1000, NULL, OFF(offsets_partitions),
     "partitions of __consumer_offsets"},
    {"group.min.session.timeout.ms", CFG_INT32, "6000", 1, I32MAX, NULL,
     OFF(group_min_session_ms), "smallest session timeout a consumer may ask for"},
    {"group.max.session.timeout.ms", CFG_INT32, "1800000", 1, I32MAX, NULL,
     OFF(group_max_session_ms), "largest session timeout a consumer may ask for"},
    {"group.initial.rebalance.delay.ms", CFG_INT32, "3000", 0, I32MAX, NULL,
     OFF(group_initial_delay_ms), "how long a new group waits for more members to join"},
    {"group.consumer.session.timeout.ms", CFG_INT32, "45000", 1, I32MAX, NULL,
     OFF(group_consumer_session_ms),
     "KIP-848 consumer groups: a member not heard from for this long is removed"},
    {"group.consumer.heartbeat.interval.ms", CFG_INT32, "5000", 1, I32MAX, NULL,
     OFF(group_consumer_heartbeat_ms),
     "KIP-848 consumer groups: how often members heartbeat (told in every answer)"},
    {"zookeeper.connect", CFG_STRING, NULL, 0, 0, NULL, OFF(zookeeper_connect),
     "host:port[,host:port] of the ZooKeeper ensemble (unset: a single node, no ZooKeeper)"},
    {"zookeeper.session.timeout.ms", CFG_INT32, "18000", 2000, 600000, NULL,
     OFF(zookeeper_session_timeout_ms), "ZooKeeper session timeout (a dead node's leases)"},
    {"zookeeper.set.acl", CFG_BOOL, "false", 0, 0, NULL, OFF(zookeeper_set_acl),
     "znodes Brook creates are readable and writable only by its digest identity"},
    {"zookeeper.digest.username", CFG_STRING, NULL, 0, 0, NULL, OFF(zookeeper_digest_user),
     "ZooKeeper digest identity of the brokers (the same on every node)"},
    {"zookeeper.digest.password", CFG_STRING, NULL, 0, 0, NULL, OFF(zookeeper_digest_password),
     "password of that identity"},
    {"coordinator.lease.wait.ms", CFG_INT64, "8000", 0, 600000, NULL,
     OFF(coordinator_lease_wait_ms),
     "cluster: how long a group or transaction coordinator request waits for this node's "
     "ZooKeeper lease when it has lapsed before it is refused (COORDINATOR_LOAD_IN_PROGRESS)"},
    {"transaction.state.log.replication.factor", CFG_INT32, "3", 1, 8, NULL,
     OFF(txn_log_rf), "replicas of __transaction_state (at most the nodes when created)"},
    {"offsets.topic.replication.factor", CFG_INT32, "3", 1, 8, NULL, OFF(offsets_rf),
     "replicas of __consumer_offsets (at most the nodes when created)"},
    {"auto.leader.rebalance.enable", CFG_BOOL, "true", 0, 0, NULL, OFF(auto_leader_rebalance),
     "the controller moves leadership back to a partition's preferred replica once it is in "
     "sync again"},
    {"controlled.shutdown.enable", CFG_BOOL, "true", 0, 0, NULL, OFF(controlled_shutdown),
     "cluster: on SIGTERM/SIGINT, move this node's partition leaderships and ISR places to "
     "other in-sync replicas before stopping"},
    {"controlled.shutdown.timeout.ms", CFG_INT64, "10000", 0, 600000, NULL,
     OFF(controlled_shutdown_ms),
     "cluster: how long a clean shutdown waits for those moves before it goes on anyway"},
    {"cluster.min.brokers", CFG_INT32, "1", 1, 10000, NULL, OFF(cluster_min_brokers),
     "brokers registered before the controller creates the internal topics"},
    {"transaction.participant.check.interval.ms", CFG_INT64, "10000", 100, I64MAX, NULL,
     OFF(txn_participant_check_ms),
     "how often a partition leader asks the coordinator about transactions it holds open"},
    {"debug.txn.marker.delay.ms", CFG_INT64, "0", 0, 600000, NULL, OFF(debug_marker_delay_ms),
     "fault injection for tests: the coordinator holds markers to other nodes this long "
     "after its decision (0: off)"},
    {"log.level", CFG_ENUM, "info", 0, 0, "debug|info|warn|error", OFF(log_level), "log verbosity"},
};

const config_def *broker_config_defs(size_t *n_out)
{
    *n_out = BROOK_ARRAY_LEN(g_defs);
    return g_defs;
}

void broker_config_init(broker_config *c)
{
    memset(c, 0, sizeof(*c));
    config_defaults(g_defs, BROOK_ARRAY_LEN(g_defs), c);
}

void broker_config_free(broker_config *c)
{
    broker_listeners_tls_free(c);
    for (int i = 0; i < c->nssl_overrides; i++) {
        free(c->ssl_overrides[i].listener);
        free(c->ssl_overrides[i].key);
        free(c->ssl_overrides[i].value);
    }
    c->nssl_overrides = 0;
    config_free(g_defs, BROOK_ARRAY_LEN(g_defs), c);
}

bool broker_config_sensitive(const char *key)
{
    size_t n = strlen(key);
    return n >= 8 && strcmp(key + n - 8, "password") == 0;
}

/* listener.name.<name>.ssl.<key>=value: checked as the ssl.<key> it overrides, then kept
 * for that listener (Kafka's per-listener TLS settings). */
static int set_listener_override(broker_config *c, const char *key, const char *value,
                                 char *err, size_t errlen)
{
    const char *name = key + strlen("listener.name.");
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || strncmp(dot + 1, "ssl.", 4) != 0 ||
        !config_find(g_defs, BROOK_ARRAY_LEN(g_defs), dot + 1)) {
        snprintf(err, errlen, "config key '%s': unknown (per-listener keys: "
                 "listener.name.<name>.ssl.*)", key);
        return -1;
    }
    broker_config scratch;
    memset(&scratch, 0, sizeof(scratch));
    int rc = config_set(g_defs, BROOK_ARRAY_LEN(g_defs), &scratch, dot + 1, value, err, errlen);
    config_free(g_defs, BROOK_ARRAY_LEN(g_defs), &scratch);
    if (rc != 0)
        return rc;
    struct broker_ssl_override *o = NULL;
    for (int i = 0; i < c->nssl_overrides && !o; i++)
        if (strncmp(c->ssl_overrides[i].listener, name, (size_t)(dot - name)) == 0 &&
            c->ssl_overrides[i].listener[dot - name] == '\0' &&
            strcmp(c->ssl_overrides[i].key, dot + 1) == 0)
            o = &c->ssl_overrides[i];
    if (!o && c->nssl_overrides == BROKER_SSL_OVERRIDES_MAX) {
        snprintf(err, errlen, "config key '%s': more than %d listener.name.* keys", key,
                 BROKER_SSL_OVERRIDES_MAX);
        return -1;
    }
    if (!o) {
        o = &c->ssl_overrides[c->nssl_overrides];
        if (!(o->listener = strndup(name, (size_t)(dot - name))) || !(o->key = strdup(dot + 1))) {
            free(o->listener);
            memset(o, 0, sizeof(*o));
            snprintf(err, errlen, "config key '%s': out of memory", key);
            return -1;
        }
        c->nssl_overrides++;
    }
    free(o->value);
    if (!(o->value = strdup(value))) {
        snprintf(err, errlen, "config key '%s': out of memory", key);
        return -1;
    }
    return 0;
}

/* A decimal in [0, 1]: digits with at most one point (Kafka's ratio keys). */
static bool ratio_ok(const char *v)
{
    char *end;
    if (!*v || strspn(v, "0123456789.") != strlen(v))
        return false;
    double d = strtod(v, &end);
    return *end == '\0' && d >= 0.0 && d <= 1.0;
}

int broker_config_set(broker_config *c, const char *key, const char *value, char *err,
                      size_t errlen)
{
    /* The one ratio key is a string in the table: its range is checked here. */
    if (strcmp(key, "log.cleaner.min.cleanable.ratio") == 0 && !ratio_ok(value)) {
        snprintf(err, errlen, "config key '%s': '%s' is not a number in [0, 1]", key, value);
        return -1;
    }
    if (strncmp(key, "listener.name.", 14) == 0)
        return set_listener_override(c, key, value, err, errlen);
    return config_set(g_defs, BROOK_ARRAY_LEN(g_defs), c, key, value, err, errlen);
}

static int set_cb(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    return broker_config_set(ctx, key, value, err, errlen);
}

/* host:port after the scheme. */
static int parse_host_port(const char *p, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(p, ':');
    if (!colon || colon == p || (size_t)(colon - p) >= hostlen || strchr(p, ','))
        return -1;
    int64_t v;
    if (config_parse_i64(colon + 1, &v) != 0 || v < 0 || v > 65535)
        return -1;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = '\0';
    *port = (int)v;
    return 0;
}

int broker_parse_admin_listener(const char *s, char *host, size_t hostlen, int *port)
{
    if (strncmp(s, "http://", 7) != 0)
        return -1;
    return parse_host_port(s + 7, host, hostlen, port);
}

/* Each of sasl.enabled.mechanisms is one Brook serves. */
static int check_mechanisms(const char *list, char *err, size_t errlen)
{
    static const char *const known[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        bool ok = false;
        for (size_t i = 0; i < 3; i++)
            ok |= strlen(known[i]) == len && strncmp(p, known[i], len) == 0;
        if (!ok) {
            snprintf(err, errlen, "config key 'sasl.enabled.mechanisms': '%.*s' is not one of "
                     "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", (int)len, p);
            return -1;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

/* The listener table, and host/port/adv_* from its first row (what a cluster registers). */
static int resolve_listeners(broker_config *c, char *err, size_t errlen)
{
    if (broker_listeners_parse(c->listeners, c->advertised_listeners, c->secproto_map, c->lst,
                               &c->nlst, err, errlen) != 0 ||
        check_mechanisms(c->sasl_mechanisms ? c->sasl_mechanisms : "", err, errlen) != 0)
        return -1;
    bool clustered = c->zookeeper_connect && *c->zookeeper_connect;
    if (broker_listeners_check_inter(c, clustered, err, errlen) != 0)
        return -1;
    snprintf(c->host, sizeof(c->host), "%s", c->lst[0].host);
    c->port = c->lst[0].port;
    snprintf(c->adv_host, sizeof(c->adv_host), "%s", c->lst[0].adv_host);
    c->adv_port = c->lst[0].adv_port;
    return 0;
}

/* Kafka's precedence: *.ms, then *.minutes, then *.hours. */
void broker_config_resolve(broker_config *c)
{
    if (c->log_retention_ms != -2)
        c->retention_ms_resolved = c->log_retention_ms;
    else if (c->log_retention_minutes != -2)
        c->retention_ms_resolved = c->log_retention_minutes * 60000;
    else
        c->retention_ms_resolved =
            c->log_retention_hours < 0 ? -1 : c->log_retention_hours * 3600000;
    c->roll_ms_resolved = c->log_roll_ms > 0 ? c->log_roll_ms : c->log_roll_hours * 3600000;
    c->flush_sync = strcmp(c->log_flush_mode, "sync") == 0;
    c->data_dir = c->log_dirs ? c->log_dirs : c->log_dir;
}

int broker_config_load(broker_config *c, const char *file, int argc, char **argv, char *err,
                       size_t errlen)
{
    if (file && config_parse_file(file, set_cb, c, err, errlen) != 0)
        return -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !strchr(a, '=')) {
            snprintf(err, errlen, "bad argument '%s' (expected --key=value)", a);
            return -1;
        }
        char key[BROOK_CONFIG_KEY_MAX];
        size_t kn = (size_t)(strchr(a, '=') - (a + 2));
        if (kn == 0 || kn >= sizeof(key)) {
            snprintf(err, errlen, "bad argument '%s'", a);
            return -1;
        }
        memcpy(key, a + 2, kn);
        key[kn] = '\0';
        if (broker_config_set(c, key, a + 2 + kn + 1, err, errlen))
            return -1;
    }
    broker_config_resolve(c);
    if (resolve_listeners(c, err, errlen) != 0)
        return -1;
    c->admin_enabled = c->admin_listeners && *c->admin_listeners;
    c->admin_explicit = c->admin_enabled &&
                        strcmp(c->admin_listeners, BROKER_ADMIN_LISTENER_DEFAULT) != 0;
    if (c->admin_enabled && broker_parse_admin_listener(c->admin_listeners, c->admin_host,
                                                        sizeof(c->admin_host),
                                                        &c->admin_port) != 0) {
        snprintf(err, errlen, "config key 'admin.listeners': '%s' is not http://host:port",
                 c->admin_listeners);
        return -1;
    }
    if (c->zookeeper_connect && *c->zookeeper_connect && c->node_id > TXN_PID_NODE_MAX) {
        snprintf(err, errlen, "config key 'node.id': at most %d with zookeeper.connect",
                 TXN_PID_NODE_MAX);
        return -1;
    }
    if (!net_limits_overrides_valid(c->max_connections_per_ip_overrides)) {
        snprintf(err, errlen, "config key 'max.connections.per.ip.overrides': '%s' is not "
                 "ip:n,ip:n", c->max_connections_per_ip_overrides);
        return -1;
    }
    if (broker_listeners_tls(c, err, errlen) != 0)
        return -1;
    c->authorizer_on = c->authorizer && *c->authorizer;
    if (c->authorizer_on && strcmp(c->authorizer, BROKER_AUTHORIZER_KAFKA) != 0 &&
        strcmp(c->authorizer, "kafka.security.authorizer.AclAuthorizer") != 0) {
        snprintf(err, errlen, "config key 'authorizer.class.name': '%s' is not "
                 BROKER_AUTHORIZER_KAFKA " (Brook's ACL authorizer) or empty", c->authorizer);
        return -1;
    }
    if (c->authorizer_on && c->admin_explicit && !(c->admin_token && *c->admin_token)) {
        snprintf(err, errlen, "config key 'admin.token': must be set when ACLs are on "
                 "(authorizer.class.name) and admin.listeners is, or the admin API would be "
                 "open to anyone; or set admin.listeners= (empty)");
        return -1;
    }
    bool digest = c->zookeeper_digest_user && *c->zookeeper_digest_user;
    if (digest != (c->zookeeper_digest_password && *c->zookeeper_digest_password) ||
        (c->zookeeper_set_acl && !digest) || (digest && strchr(c->zookeeper_digest_user, ':'))) {
        snprintf(err, errlen, "config keys 'zookeeper.digest.username' and "
                 "'zookeeper.digest.password': both or neither (the name without ':'); "
                 "zookeeper.set.acl needs them");
        return -1;
    }
    if (!c->data_dir || !*c->data_dir) {
        snprintf(err, errlen, "config key 'log.dirs': empty");
        return -1;
    }
    if (strchr(c->data_dir, ',')) {
        snprintf(err, errlen, "config key 'log.dirs': only one directory is supported");
        return -1;
    }
    return 0;
}
