/* topic_config.c - see topic_config.h. */
#include "storage/topic_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/config.h"
#include "proto/compress.h"

_Static_assert(TOPIC_COMPRESSION_PRODUCER == RB_CODEC_PRODUCER, "one producer codec value");

#define I64_MAX_TEXT "9223372036854775807"

/* Kafka's topic keys Brook accepts, in Kafka's order of names. */
static const topic_key_info g_keys[] = {
    {"cleanup.policy", "log.cleanup.policy", TK_LIST, 0, 0, "compact|delete", "delete", NULL},
    {"compression.type", "compression.type", TK_CHOICE, 0, 0,
     "uncompressed|zstd|lz4|snappy|gzip|producer", "producer", NULL},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms", TK_INT, 0, INT64_MAX, NULL,
     NULL, NULL},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms", TK_INT, 0, INT64_MAX, NULL,
     "60000", "Brook unlinks a segment when retention drops it (readers holding it keep "
     "their open file)"},
    {"flush.messages", "log.flush.interval.messages", TK_INT, 1, INT64_MAX, NULL, I64_MAX_TEXT,
     "fsync is the broker's log.flush.mode (sync: before every acknowledgement)"},
    {"flush.ms", "log.flush.interval.ms", TK_INT, 0, INT64_MAX, NULL, I64_MAX_TEXT,
     "fsync is the broker's log.flush.mode (sync: before every acknowledgement)"},
    {"index.interval.bytes", "log.index.interval.bytes", TK_INT, 0, INT32_MAX, NULL, NULL, NULL},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", TK_INT, 1, INT64_MAX, NULL,
     NULL, NULL},
    {"max.message.bytes", "message.max.bytes", TK_INT, 0, INT32_MAX, NULL, NULL, NULL},
    {"message.format.version", "log.message.format.version", TK_VERSION, 0, 0, NULL, "3.0-IV1",
     "deprecated by Kafka 3.0, which ignores it too: batches are always format v2"},
    {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", TK_INT, 0,
     INT64_MAX, NULL, NULL, NULL},
    {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", TK_INT, 0,
     INT64_MAX, NULL, NULL, NULL},
    {"message.timestamp.type", "log.message.timestamp.type", TK_CHOICE, 0, 0,
     "CreateTime|LogAppendTime", NULL, NULL},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", TK_RATIO, 0, 0, NULL,
     NULL, NULL},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", TK_INT, 0, INT64_MAX, NULL,
     NULL, NULL},
    {"min.insync.replicas", "min.insync.replicas", TK_INT, 1, 8, NULL, NULL, NULL},
    {"preallocate", "log.preallocate", TK_BOOL, 0, 0, NULL, "false",
     "segment files grow as they are written (the next one's disk blocks are reserved "
     "ahead: log.segment.reserve)"},
    {"retention.bytes", "log.retention.bytes", TK_INT, -1, INT64_MAX, NULL, NULL, NULL},
    {"retention.ms", "log.retention.ms", TK_INT, -1, INT64_MAX, NULL, NULL, NULL},
    {"segment.bytes", "log.segment.bytes", TK_INT, 14, INT32_MAX, NULL, NULL, NULL},
    {"segment.index.bytes", "log.index.size.max.bytes", TK_INT, 4, INT32_MAX, NULL, "10485760",
     "Brook's offset index is in memory, rebuilt from the segment at startup"},
    {"segment.jitter.ms", "log.roll.jitter.ms", TK_INT, 0, INT64_MAX, NULL, "0",
     "segments roll at segment.ms exactly"},
    {"segment.ms", "log.roll.ms", TK_INT, 1, INT64_MAX, NULL, NULL, NULL},
};

const topic_key_info *topic_config_keys(size_t *n_out)
{
    *n_out = BROOK_ARRAY_LEN(g_keys);
    return g_keys;
}

const topic_key_info *topic_config_key(const char *name)
{
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_keys); i++)
        if (strcmp(g_keys[i].name, name) == 0)
            return &g_keys[i];
    return NULL;
}

/* Whether word (len bytes) is one of the '|'-separated choices. */
static bool is_choice(const char *choices, const char *word, size_t len)
{
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, word, len) == 0)
            return true;
        p += n + (bar ? 1 : 0);
    }
    return false;
}

/* A non-empty comma-separated list of distinct choices (spaces around items allowed). */
static bool list_ok(const char *choices, const char *value)
{
    const char *items[8];
    size_t lens[8], n = 0;
    for (const char *p = value;;) {
        while (*p == ' ')
            p++;
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0 || n == 8 || !is_choice(choices, p, len))
            return false;
        for (size_t i = 0; i < n; i++)
            if (lens[i] == len && strncmp(items[i], p, len) == 0)
                return false;
        items[n] = p;
        lens[n++] = len;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

/* A Kafka version: digits and dots, optionally -IVn (0.10.0.0, 2.8, 3.0-IV1). */
static bool version_ok(const char *v)
{
    if (!isdigit((unsigned char)v[0]))
        return false;
    size_t n = strspn(v, "0123456789.");
    return v[n] == '\0' || (strncmp(v + n, "-IV", 3) == 0 && v[n + 3] &&
                            strspn(v + n + 3, "0123456789") == strlen(v + n + 3));
}

static bool ratio_ok(const char *v)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    return errno == 0 && end != v && *end == '\0' && d >= 0.0 && d <= 1.0;
}

int topic_config_check(const char *key, const char *value, char *err, size_t errlen)
{
    const topic_key_info *k = topic_config_key(key);
    if (!k) {
        snprintf(err, errlen, "unknown topic config '%s'", key);
        return -1;
    }
    if (!value) {
        snprintf(err, errlen, "topic config '%s': null value", key);
        return -1;
    }
    int64_t v;
    switch (k->kind) {
    case TK_INT:
        if (config_parse_i64(value, &v) == 0 && v >= k->lo && v <= k->hi)
            return 0;
        snprintf(err, errlen, "topic config '%s': '%s' is not an integer in [%" PRId64
                 ", %" PRId64 "]", key, value, k->lo, k->hi);
        return -1;
    case TK_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
            return 0;
        snprintf(err, errlen, "topic config '%s': '%s' is not true or false", key, value);
        return -1;
    case TK_RATIO:
        if (ratio_ok(value))
            return 0;
        snprintf(err, errlen, "topic config '%s': '%s' is not a number in [0, 1]", key, value);
        return -1;
    case TK_CHOICE:
        if (is_choice(k->choices, value, strlen(value)))
            return 0;
        snprintf(err, errlen, "topic config '%s': '%s' is not one of %s", key, value,
                 k->choices);
        return -1;
    case TK_LIST:
        if (list_ok(k->choices, value))
            return 0;
        snprintf(err, errlen, "topic config '%s': '%s' is not a list of distinct values "
                 "from %s", key, value, k->choices);
        return -1;
    case TK_VERSION:
        if (version_ok(value))
            return 0;
        snprintf(err, errlen, "topic config '%s': '%s' is not a Kafka version", key, value);
        return -1;
    }
    BROOK_ASSERT(!"unreachable");
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

/* Whether the comma-separated list value names item. */
static bool list_has(const char *value, const char *item)
{
    size_t len = strlen(item);
    for (const char *p = value; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        while (*p == ' ')
            p++;
        if (strncmp(p, item, len) == 0 && (p[len] == '\0' || p[len] == ',' || p[len] == ' '))
            return true;
    }
    return false;
}

void topic_config_resolve(const topic_defaults *d, int n, char *const *keys,
                          char *const *values, log_config *out, topic_policy *policy)
{
    out->segment_bytes = num_or(find(n, keys, values, "segment.bytes"), d->segment_bytes);
    out->segment_ms = num_or(find(n, keys, values, "segment.ms"), d->segment_ms);
    out->retention_bytes = num_or(find(n, keys, values, "retention.bytes"), d->retention_bytes);
    out->retention_ms = num_or(find(n, keys, values, "retention.ms"), d->retention_ms);
    out->index_interval_bytes =
        (int32_t)num_or(find(n, keys, values, "index.interval.bytes"), d->index_interval_bytes);
    const char *tt = find(n, keys, values, "message.timestamp.type");
    out->log_append_time = tt ? strcmp(tt, "LogAppendTime") == 0 : d->log_append_time;
    policy->max_message_bytes =
        (int32_t)num_or(find(n, keys, values, "max.message.bytes"), d->max_message_bytes);
    policy->ts_before_max_ms =
        num_or(find(n, keys, values, "message.timestamp.before.max.ms"), d->ts_before_max_ms);
    policy->ts_after_max_ms =
        num_or(find(n, keys, values, "message.timestamp.after.max.ms"), d->ts_after_max_ms);
    const char *cp = find(n, keys, values, "cleanup.policy");
    policy->compact = cp ? list_has(cp, "compact") : d->compact;
    if (cp ? !list_has(cp, "delete") : !d->delete)
        out->retention_bytes = out->retention_ms = -1; /* compacted only: kept */
    out->compact = policy->compact;
    out->delete_retention_ms =
        num_or(find(n, keys, values, "delete.retention.ms"), d->delete_retention_ms);
    out->min_compaction_lag_ms =
        num_or(find(n, keys, values, "min.compaction.lag.ms"), d->min_compaction_lag_ms);
    out->max_compaction_lag_ms =
        num_or(find(n, keys, values, "max.compaction.lag.ms"), d->max_compaction_lag_ms);
    const char *ratio = find(n, keys, values, "min.cleanable.dirty.ratio");
    out->min_cleanable_ratio = ratio ? strtod(ratio, NULL) : d->min_cleanable_ratio;
    const char *ct = find(n, keys, values, "compression.type");
    int codec = ct ? rb_codec_from_name(ct) : d->compression;
    policy->compression = codec == -1 ? TOPIC_COMPRESSION_PRODUCER : codec;
}

void topic_config_default_value(const topic_defaults *d, const char *key, char *out,
                                size_t outlen)
{
    const topic_key_info *k = topic_config_key(key);
    if (strcmp(key, "message.timestamp.type") == 0)
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
    else if (strcmp(key, "cleanup.policy") == 0)
        snprintf(out, outlen, "%s", d->compact && d->delete ? "compact,delete"
                                    : d->compact            ? "compact"
                                                            : "delete");
    else if (strcmp(key, "segment.bytes") == 0)
        snprintf(out, outlen, "%" PRId64, d->segment_bytes);
    else if (strcmp(key, "segment.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->segment_ms);
    else if (strcmp(key, "message.timestamp.before.max.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->ts_before_max_ms);
    else if (strcmp(key, "message.timestamp.after.max.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->ts_after_max_ms);
    else if (strcmp(key, "delete.retention.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->delete_retention_ms);
    else if (strcmp(key, "min.compaction.lag.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->min_compaction_lag_ms);
    else if (strcmp(key, "max.compaction.lag.ms") == 0)
        snprintf(out, outlen, "%" PRId64, d->max_compaction_lag_ms);
    else if (strcmp(key, "min.cleanable.dirty.ratio") == 0)
        snprintf(out, outlen, "%g", d->min_cleanable_ratio);
    else if (strcmp(key, "compression.type") == 0)
        snprintf(out, outlen, "%s", d->compression == TOPIC_COMPRESSION_PRODUCER
                                        ? "producer"
                                        : rb_codec_name(d->compression));
    else
        snprintf(out, outlen, "%s", k && k->fixed_default ? k->fixed_default : "");
}
