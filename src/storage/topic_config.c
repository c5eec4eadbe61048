/* topic_config.c - see topic_config.h. */
#include "storage/topic_config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"

static const topic_key_info g_keys[] = {
    {"cleanup.policy", "log.cleanup.policy"},
    {"compression.type", "compression.type"},
    {"index.interval.bytes", "log.index.interval.bytes"},
    {"max.message.bytes", "message.max.bytes"},
    {"message.timestamp.type", "log.message.timestamp.type"},
    {"min.insync.replicas", "min.insync.replicas"},
    {"retention.bytes", "log.retention.bytes"},
    {"retention.ms", "log.retention.ms"},
    {"segment.bytes", "log.segment.bytes"},
    {"segment.ms", "log.roll.ms"},
};

const topic_key_info *topic_config_keys(size_t *n_out)
{
    *n_out = BROOK_ARRAY_LEN(g_keys);
    return g_keys;
}

static int check_range(const char *key, const char *value, int64_t lo, int64_t hi, char *err,
                       size_t errlen)
{
    int64_t v;
    if (config_parse_i64(value, &v) != 0 || v < lo || v > hi) {
        snprintf(err, errlen, "topic config '%s': '%s' is not an integer in [%" PRId64
                 ", %" PRId64 "]", key, value, lo, hi);
        return -1;
    }
    return 0;
}

int topic_config_check(const char *key, const char *value, char *err, size_t errlen)
{
    if (!value) {
        snprintf(err, errlen, "topic config '%s': null value", key);
        return -1;
    }
    if (strcmp(key, "cleanup.policy") == 0) {
        if (strcmp(value, "delete") == 0)
            return 0;
        snprintf(err, errlen, "topic config 'cleanup.policy': '%s' is not supported (only "
                 "delete; compaction is not implemented)", value);
        return -1;
    }
    if (strcmp(key, "compression.type") == 0) {
        if (strcmp(value, "producer") == 0)
            return 0;
        snprintf(err, errlen, "topic config 'compression.type': only 'producer' is supported "
                 "(batches are stored as sent)");
        return -1;
    }
    if (strcmp(key, "message.timestamp.type") == 0) {
        if (strcmp(value, "CreateTime") == 0 || strcmp(value, "LogAppendTime") == 0)
            return 0;
        snprintf(err, errlen, "topic config 'message.timestamp.type': '%s' is not CreateTime "
                 "or LogAppendTime", value);
        return -1;
    }
    if (strcmp(key, "index.interval.bytes") == 0)
        return check_range(key, value, 0, INT32_MAX, err, errlen);
    if (strcmp(key, "max.message.bytes") == 0)
        return check_range(key, value, 0, INT32_MAX, err, errlen);
    if (strcmp(key, "min.insync.replicas") == 0)
        return check_range(key, value, 1, 8, err, errlen);
    if (strcmp(key, "retention.bytes") == 0 || strcmp(key, "retention.ms") == 0)
        return check_range(key, value, -1, INT64_MAX, err, errlen);
    if (strcmp(key, "segment.bytes") == 0)
        return check_range(key, value, 14, INT32_MAX, err, errlen);
    if (strcmp(key, "segment.ms") == 0)
        return check_range(key, value, 1, INT64_MAX, err, errlen);
    snprintf(err, errlen, "unknown topic config '%s'", key);
    return -1;
}

static const char *find(int n, char *const *keys, char *const *values, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return values[i];
    return NULL;
}

static int64_t num_or(const char *v, int64_t dflt)
{
    int64_t x;
    return v && config_parse_i64(v, &x) == 0 ? x : dflt;
}

void topic_config_resolve(const topic_defaults *d, int n, char *const *keys,
                          char *const *values, log_config *out, int32_t *max_message_bytes)
{
    out->segment_bytes = num_or(find(n, keys, values, "segment.bytes"), d->segment_bytes);
    out->segment_ms = num_or(find(n, keys, values, "segment.ms"), d->segment_ms);
    out->retention_bytes = num_or(find(n, keys, values, "retention.bytes"), d->retention_bytes);
    out->retention_ms = num_or(find(n, keys, values, "retention.ms"), d->retention_ms);
    out->index_interval_bytes =
        (int32_t)num_or(find(n, keys, values, "index.interval.bytes"), d->index_interval_bytes);
    const char *tt = find(n, keys, values, "message.timestamp.type");
    out->log_append_time = tt ? strcmp(tt, "LogAppendTime") == 0 : d->log_append_time;
    *max_message_bytes =
        (int32_t)num_or(find(n, keys, values, "max.message.bytes"), d->max_message_bytes);
}

void topic_config_default_value(const topic_defaults *d, const char *key, char *out,
                                size_t outlen)
{
    if (strcmp(key, "cleanup.policy") == 0)
        snprintf(out, outlen, "delete");
    else if (strcmp(key, "compression.type") == 0)
        snprintf(out, outlen, "producer");
    else if (strcmp(key, "message.timestamp.type") == 0)
        snprintf(out, outlen, "%s", d->log_append_time ? "LogAppendTime" : "CreateTime");
    else if (strcmp(key, "index.interval.bytes") == 0)
        snprintf(out, outlen, "%d", d->index_interval_bytes);
    else if (strcmp(key, "max.message.bytes") == 0)
        snprintf(out, outlen, "%d", d->max_message_bytes);
    else if (strcmp(key, "min.insync.replicas") == 0)
        snprintf(out, outlen, "%d", d->min_insync_replicas);
    else if (strcmp(key, "retention.bytes") == 0)
        snprintf(out, outlen, "%" PRId64, d->retention_bytes);
    else if (strcmp(key, "retention.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->retention_ms);
    else if (strcmp(key, "segment.bytes") == 0)
        snprintf(out, outlen, "%" PRId64, d->segment_bytes);
    else if (strcmp(key, "segment.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->segment_ms);
    else
        snprintf(out, outlen, "%s", "");
}
