/*
 * config.h - brookd's configuration: Kafka's broker keys and value formats, loaded from a
 * properties file and --key=value overrides.
 *
 * Owns: the broker key table (name, type, default, range, doc) and the resolved values.
 * Never: accepts an unknown key or a malformed value; startup stops with the key's name.
 */
#ifndef BROOK_BROKER_CONFIG_H
#define BROOK_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "broker/listeners.h"

/* The authorizer.class.name that turns ACLs on (Kafka's own class name). */
#define BROKER_AUTHORIZER_KAFKA "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
/* The admin listener's default address; if it is taken, brookd starts without it. */
#define BROKER_ADMIN_LISTENER_DEFAULT "http://127.0.0.1:9644"
/* listener.name.<name>.ssl.* keys kept. */
#define BROKER_SSL_OVERRIDES_MAX 32

typedef struct broker_config {
    int32_t node_id;
    char *listeners;            /* NAME://host:port,... (listeners.h) */
    char *advertised_listeners; /* defaults to listeners */
    char *secproto_map;         /* listener.security.protocol.map */
    char *sasl_mechanisms;      /* sasl.enabled.mechanisms */
    int32_t auth_fail_delay_ms; /* connection.failed.authentication.delay.ms */
    char *inter_broker_sasl_mech;  /* sasl.mechanism.inter.broker.protocol */
    char *inter_broker_sasl_user, *inter_broker_sasl_password; /* NULL: no login */
    int32_t quota_window_num;    /* quota.window.num */
    int32_t quota_window_size_s; /* quota.window.size.seconds */
    int64_t max_reauth_ms;      /* connections.max.reauth.ms (0: no expiry) */
    /* TLS (sec/tls.h): Kafka's ssl.* keys, for every SSL and SASL_SSL listener and for the
     * inter-broker client; listener.name.<name>.ssl.* entries override them per listener */
    char *ssl_keystore_type, *ssl_keystore_location, *ssl_key_password;
    char *ssl_truststore_type, *ssl_truststore_location;
    char *ssl_client_auth, *ssl_enabled_protocols, *ssl_cipher_suites;
    char *ssl_principal_mapping_rules, *ssl_endpoint_identification;
    char *inter_broker_listener_name;     /* inter.broker.listener.name */
    char *security_inter_broker_protocol; /* security.inter.broker.protocol */
    struct broker_ssl_override {
        char *listener; /* lower case, as Kafka writes it in the key */
        char *key;      /* "ssl.keystore.location", ... */
        char *value;
    } ssl_overrides[BROKER_SSL_OVERRIDES_MAX];
    int nssl_overrides;
    int64_t max_connections;    /* max.connections */
    int64_t connections_max_idle_ms; /* connections.max.idle.ms (0: never) */
    int64_t max_connections_per_ip;
    char *max_connections_per_ip_overrides;
    char *admin_token;          /* admin.token */
    char *authorizer;           /* authorizer.class.name */
    bool authorizer_on;         /* ... is set: ACLs are checked */
    char *super_users;          /* super.users */
    bool allow_if_no_acl;       /* allow.everyone.if.no.acl.found */
    char *log_dirs;             /* one directory */
    char *log_dir;              /* Kafka's fallback key */
    int32_t num_partitions;
    int32_t default_replication_factor;
    int32_t min_insync_replicas;
    int64_t replica_lag_time_max_ms;
    int64_t log_segment_bytes;
    int64_t log_roll_ms;
    int64_t log_roll_hours;
    int64_t log_retention_ms;
    int64_t log_retention_minutes;
    int64_t log_retention_hours;
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    int32_t log_index_interval_bytes;
    char *log_message_timestamp_type;
    char *log_cleanup_policy;
    /* the log cleaner (storage/compact.h): log.cleaner.enable, .backoff.ms,
     * .dedupe.buffer.size, and the defaults of compacted topics' keys */
    bool log_cleaner_enable;
    int64_t log_cleaner_backoff_ms;
    int64_t log_cleaner_dedupe_buffer_size;
    int64_t log_cleaner_delete_retention_ms;
    int64_t log_cleaner_min_compaction_lag_ms;
    int64_t log_cleaner_max_compaction_lag_ms;
    char *log_cleaner_min_cleanable_ratio; /* a decimal in [0, 1], checked when set */
    char *compression_type; /* the topics' default compression.type */
    int64_t ts_before_max_ms, ts_after_max_ms; /* log.message.timestamp.{before,after}.max.ms */
    int32_t message_max_bytes;
    bool auto_create_topics_enable;
    bool delete_topic_enable;
    int32_t socket_request_max_bytes;
    int32_t fetch_sendfile_min; /* fetch.sendfile.min.bytes (0: never sendfile) */
    int32_t fetch_session_slots; /* max.incremental.fetch.session.cache.slots */
    char *log_flush_mode;             /* sync | interval */
    int64_t log_flush_interval_ms;    /* interval mode */
    int64_t log_flush_interval_bytes; /* interval mode: also after this many bytes */
    int64_t log_cache_keep_bytes;     /* page cache kept per segment behind an fsync */
    bool log_segment_reserve;         /* next segment files made ahead (storage/log.h) */
    bool fetch_readahead_touch;       /* readahead workers read what they ask for */
    bool log_segment_zero_ahead;      /* sync mode: zeros written ahead (storage/log.h) */
    char *cluster_id;
    char *log_level;
    int32_t txn_log_partitions;        /* transaction.state.log.num.partitions */
    int32_t txn_max_timeout_ms;        /* transaction.max.timeout.ms */
    int32_t offsets_partitions;        /* offsets.topic.num.partitions */
    int32_t group_min_session_ms, group_max_session_ms, group_initial_delay_ms;
    int32_t group_consumer_session_ms, group_consumer_heartbeat_ms; /* KIP-848 groups */
    /* transaction.abort.timed.out.transaction.cleanup.interval.ms */
    int64_t txn_abort_interval_ms;
    char *admin_listeners;             /* http://host:port for /metrics and /v1; "" disables */
    char *zookeeper_connect;           /* NULL or "": single node */
    int32_t zookeeper_session_timeout_ms;
    bool zookeeper_set_acl;            /* znodes readable and writable by the digest only */
    char *zookeeper_digest_user, *zookeeper_digest_password; /* NULL: no digest auth */
    int64_t coordinator_lease_wait_ms; /* coordinator requests wait this long for the lease */
    int32_t cluster_min_brokers;       /* internal topics wait for this many brokers */
    bool auto_leader_rebalance;        /* leadership back to the preferred replica */
    bool controlled_shutdown;          /* controlled.shutdown.enable */
    int64_t controlled_shutdown_ms;    /* controlled.shutdown.timeout.ms */
    int32_t txn_log_rf, offsets_rf;    /* internal topics' replication factors */
    int64_t txn_participant_check_ms;  /* how often in-doubt transactions are asked about */
    int64_t debug_marker_delay_ms;     /* tests: hold markers to other nodes this long */
    /* resolved */
    broker_listener lst[BROKER_LISTENERS_MAX];
    int nlst;
    char host[256]; /* the first listener's, as below */
    int port;
    char adv_host[256];
    int adv_port;
    bool admin_enabled;
    bool admin_explicit; /* not the default address: failing to bind it stops startup */
    char admin_host[256];
    int admin_port;
    bool flush_sync;
    int64_t retention_ms_resolved;
    int64_t roll_ms_resolved;
    const char *data_dir;
    /* TLS contexts built at load (owned: broker_config_free frees them): one per SSL or
     * SASL_SSL listener (NULL for the others), and the client side of inter-broker
     * connections when the inter-broker listener is SSL (else NULL) */
    struct tls_ctx *lst_tls[BROKER_LISTENERS_MAX];
    struct tls_ctx *inter_broker_tls;
    int inter_broker_lst; /* index in lst of the inter-broker listener */
} broker_config;

const config_def *broker_config_defs(size_t *n_out);
void broker_config_init(broker_config *c);
/* Loads an optional properties file then argv overrides ("--key=value"); resolves derived
 * values. Returns 0, or -1 with the problem (naming the key) in err. */
int broker_config_load(broker_config *c, const char *file, int argc, char **argv, char *err,
                       size_t errlen);
void broker_config_free(broker_config *c);
/* Sets one key (checked as at startup: 0, or -1 naming the key in err); the derived
 * values (retention, roll) follow only at broker_config_resolve. */
int broker_config_set(broker_config *c, const char *key, const char *value, char *err,
                      size_t errlen);
void broker_config_resolve(broker_config *c);
/* Whether a key's value must never be shown (DescribeConfigs, logs): passwords. */
bool broker_config_sensitive(const char *key);
/* Parses "http://host:port" (the admin listener). Returns 0 or -1. */
int broker_parse_admin_listener(const char *s, char *host, size_t hostlen, int *port);

#endif
