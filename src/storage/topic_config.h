/*
 * topic_config.h - per-topic configuration keys (Kafka names) and how they resolve to a
 * partition log's settings and the produce path's policy, falling back to the broker's
 * log.* defaults.
 *
 * Owns: the topic key table (name, broker default, type and range, and for the keys Brook
 * only stores, why) and validation of overrides (CreateTopics, AlterConfigs).
 * Never: stores anything; callers keep the override list.
 */
#ifndef BROOK_STORAGE_TOPIC_CONFIG_H
#define BROOK_STORAGE_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/log.h"

/* Broker-level defaults the topic keys fall back to. */
typedef struct topic_defaults {
    int64_t segment_bytes, segment_ms, retention_bytes, retention_ms;
    int32_t index_interval_bytes, max_message_bytes, min_insync_replicas;
    bool log_append_time;
    int compression; /* the broker's compression.type: rb_codec or TOPIC_COMPRESSION_PRODUCER */
    int64_t ts_before_max_ms, ts_after_max_ms; /* KIP-937's bounds on CreateTime */
    /* the log cleaner's (log.cleaner.*): delete.retention.ms, min./max.compaction.lag.ms,
     * min.cleanable.dirty.ratio */
    int64_t delete_retention_ms, min_compaction_lag_ms, max_compaction_lag_ms;
    double min_cleanable_ratio;
    /* log.cleanup.policy: whether topics without their own cleanup.policy are compacted,
     * and whether they keep retention by time and size (delete) */
    bool compact, delete;
} topic_defaults;

enum topic_key_kind {
    TK_INT,     /* an integer in [lo, hi] */
    TK_BOOL,    /* true or false */
    TK_RATIO,   /* a decimal number in [0, 1] */
    TK_CHOICE,  /* one of choices ('|'-separated) */
    TK_LIST,    /* a non-empty comma-separated list of distinct choices */
    TK_VERSION, /* a Kafka version string such as 2.8 or 3.0-IV1 */
};

typedef struct topic_key_info {
    const char *name;
    const char *broker_key; /* the broker default it falls back to */
    enum topic_key_kind kind;
    int64_t lo, hi;
    const char *choices;
    const char *fixed_default; /* the default when topic_defaults does not hold it */
    /* NULL: Brook applies the key. Else it is accepted, stored and described, with no
     * effect on what Brook does, for the reason given (docs/protocol.md lists them). */
    const char *stored_only;
} topic_key_info;

/* What a topic's configs ask of the produce path. */
#define TOPIC_COMPRESSION_PRODUCER (-2) /* = RB_CODEC_PRODUCER: batches kept as sent */
typedef struct topic_policy {
    int32_t max_message_bytes;
    int compression; /* rb_codec batches are stored in, or TOPIC_COMPRESSION_PRODUCER */
    bool compact;    /* cleanup.policy has compact: every record needs a key (and the log
                      * is cleaned: log_config.compact) */
    /* KIP-937: a CreateTime record more than this far behind / ahead of the broker's clock
     * is refused (INT64_MAX: no bound) */
    int64_t ts_before_max_ms, ts_after_max_ms;
} topic_policy;

const topic_key_info *topic_config_keys(size_t *n_out);
const topic_key_info *topic_config_key(const char *name);
/* Validates one override. Returns 0 or -1 with a message naming the key. */
int topic_config_check(const char *key, const char *value, char *err, size_t errlen);
/* Resolves overrides (parallel arrays) over defaults into a log_config and the produce
 * policy. Overrides must have passed topic_config_check. A cleanup.policy without delete
 * turns retention by time and size off, as Kafka does for compacted topics. */
void topic_config_resolve(const topic_defaults *d, int n, char *const *keys,
                          char *const *values, log_config *out, topic_policy *policy);
/* The default value of key as text (for DescribeConfigs). */
void topic_config_default_value(const topic_defaults *d, const char *key, char *out,
                                size_t outlen);

#endif
