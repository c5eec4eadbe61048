/*
 * topic_config.h - per-topic configuration keys (Kafka names) and how they resolve to a
 * partition log's settings, falling back to the broker's log.* defaults.
 *
 * Owns: the topic key table and validation of overrides (CreateTopics, AlterConfigs).
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
} topic_defaults;

typedef struct topic_key_info {
    const char *name;
    const char *broker_key; /* the broker default it falls back to */
} topic_key_info;

const topic_key_info *topic_config_keys(size_t *n_out);
/* Validates one override. Returns 0 or -1 with a message naming the key. */
int topic_config_check(const char *key, const char *value, char *err, size_t errlen);
/* Resolves overrides (parallel arrays) over defaults into a log_config and the max
 * message size. Overrides must have passed topic_config_check. */
void topic_config_resolve(const topic_defaults *d, int n, char *const *keys,
                          char *const *values, log_config *out, int32_t *max_message_bytes);
/* The default value of key as text (for DescribeConfigs). */
void topic_config_default_value(const topic_defaults *d, const char *key, char *out,
                                size_t outlen);

#endif
