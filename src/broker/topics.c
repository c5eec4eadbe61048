/* topics.c - topic lifecycle for the handlers: create, delete, add partitions, configs.
 * Order for durability: partition directories first, then the registry file (atomic);
 * a crash in between leaves directories the registry does not name, which are ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/limits.h"
#include "base/log.h"
#include "broker/broker.h"
#include "proto/compress.h"
#include "proto/errors.h"

void broker_topic_defaults(const broker_config *c, topic_defaults *d)
{
    d->segment_bytes = c->log_segment_bytes;
    d->segment_ms = c->roll_ms_resolved;
    d->retention_bytes = c->log_retention_bytes;
    d->retention_ms = c->retention_ms_resolved;
    d->index_interval_bytes = c->log_index_interval_bytes;
    d->max_message_bytes = c->message_max_bytes;
    d->min_insync_replicas = c->min_insync_replicas;
    d->log_append_time = strcmp(c->log_message_timestamp_type, "LogAppendTime") == 0;
    int codec = c->compression_type ? rb_codec_from_name(c->compression_type) : -1;
    d->compression = codec < 0 ? TOPIC_COMPRESSION_PRODUCER : codec;
    d->ts_before_max_ms = c->ts_before_max_ms;
    d->ts_after_max_ms = c->ts_after_max_ms;
    d->delete_retention_ms = c->log_cleaner_delete_retention_ms;
    d->min_compaction_lag_ms = c->log_cleaner_min_compaction_lag_ms;
    d->max_compaction_lag_ms = c->log_cleaner_max_compaction_lag_ms;
    d->min_cleanable_ratio = c->log_cleaner_min_cleanable_ratio
                                 ? strtod(c->log_cleaner_min_cleanable_ratio, NULL)
                                 : 0.5;
    const char *cp = c->log_cleanup_policy ? c->log_cleanup_policy : "delete";
    d->compact = strstr(cp, "compact") != NULL;
    d->delete = strstr(cp, "delete") != NULL;
}

/* The least time retention (retention.ms, unless -1) and segment size an internal topic
 * takes; topic-level values below are refused, broker defaults below are raised to them for
 * these two topics only. Found by an admin-API hunt (session 37):
 * - __transaction_state: 1 h. Nothing writes its records again, and a transaction's must
 *   outlive the retention (an open one lasts at most transaction.max.timeout.ms): a
 *   retention of seconds deleted an open transaction's records, and a restart forgot it.
 * - __consumer_offsets: 1 s. The group service writes live records again at half the
 *   retention (refresh_old_records; the retention is also how long a group without
 *   members keeps its offsets, as offsets.retention.minutes in Kafka), but not for 0,
 *   which deleted committed offsets at the next restart.
 * - Segments of 1 MiB, to hold the coordinators' largest record (segment.bytes=14 failed
 *   every group marker). */
#define TXN_LOG_RETENTION_MIN_MS (60LL * 60 * 1000)
#define GROUP_LOG_RETENTION_MIN_MS 1000LL
#define INTERNAL_SEGMENT_MIN_BYTES (1LL << 20)

static int64_t internal_retention_min_ms(const char *topic_name)
{
    return strcmp(topic_name, TXN_LOG_TOPIC) == 0 ? TXN_LOG_RETENTION_MIN_MS
                                                  : GROUP_LOG_RETENTION_MIN_MS;
}

/* Brook's internal topics replay every record at start (group and transaction state), and
 * the replay needs records compaction could remove while later ones stay (a transaction's
 * marker ends its pending group offsets, which are not transactional batches): neither
 * the broker's log.cleanup.policy nor their own config (refused by
 * broker_topic_set_configs; ignored here if a znode has one) makes them compacted. */
void broker_topic_defaults_of(const broker *b, const char *topic_name, topic_defaults *out)
{
    *out = b->tdefaults;
    if (kafka_topic_internal(topic_name)) {
        out->compact = false;
        out->delete = true;
    }
}

int32_t broker_internal_partitions(const broker *b, const char *topic_name)
{
    const topic *t = md_find(&b->md, kslice_cstr(topic_name));
    if (t && t->npartitions > 0)
        return t->npartitions;
    return strcmp(topic_name, TXN_LOG_TOPIC) == 0 ? b->cfg.txn_log_partitions
                                                  : b->cfg.offsets_partitions;
}

void broker_topic_resolve(const broker *b, topic *t)
{
    topic_defaults d;
    broker_topic_defaults_of(b, t->name, &d);
    topic_config_resolve(&d, t->nconfigs, t->config_keys, t->config_values, &t->logcfg,
                         &t->policy);
    if (kafka_topic_internal(t->name)) {
        t->logcfg.compact = t->policy.compact = false;
        /* By size, retention could remove any record at any time; by time, the group
         * service writes live records again before it does (refresh_old_records). */
        t->logcfg.retention_bytes = -1;
        int64_t floor_ms = internal_retention_min_ms(t->name);
        if (t->logcfg.retention_ms >= 0 && t->logcfg.retention_ms < floor_ms)
            t->logcfg.retention_ms = floor_ms;
        if (t->logcfg.segment_bytes < INTERNAL_SEGMENT_MIN_BYTES)
            t->logcfg.segment_bytes = INTERNAL_SEGMENT_MIN_BYTES;
    }
}

partition *broker_partition(broker *b, kslice topic_name, int32_t index, int16_t *err_out)
{
    topic *t = md_find(&b->md, topic_name);
    if (!t || index < 0 || index >= t->npartitions) {
        *err_out = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    *err_out = KERR_NONE;
    return t->parts[index];
}

/* Opens partitions [from, to) of t. On failure the ones opened here are dropped. */
static int open_partitions(broker *b, topic *t, int32_t from, int32_t to)
{
    partition **parts = realloc(t->parts, sizeof(*parts) * (size_t)to);
    if (!parts)
        return -1;
    t->parts = parts;
    b->route_gen++;
    int64_t now = clock_wall_ms();
    for (int32_t i = from; i < to; i++) {
        if (store_partition_open(b->store, t->name, i, &t->logcfg, now, &t->parts[i]) != 0 ||
            replica_opened(b, t->parts[i]) != LOG_OK) {
            for (int32_t k = from; k < i; k++)
                store_partition_drop(b->store, t->parts[k]);
            return -1;
        }
    }
    return 0;
}

static int check_configs(int n, char *const *keys, char *const *values, const char **msg)
{
    static char err[256];
    for (int i = 0; i < n; i++) {
        if (topic_config_check(keys[i], values[i], err, sizeof(err)) != 0) {
            *msg = err;
            return -1;
        }
        for (int k = 0; k < i; k++)
            if (strcmp(keys[i], keys[k]) == 0) {
                snprintf(err, sizeof(err), "topic config '%s' given twice", keys[i]);
                *msg = err;
                return -1;
            }
    }
    return 0;
}

int16_t broker_topic_create(broker *b, kslice name, int32_t nparts, int nconfigs,
                            char *const *keys, char *const *values, bool validate_only,
                            const char **msg)
{
    const char *why;
    *msg = NULL;
    if (!md_topic_name_valid(name, &why)) {
        *msg = why;
        return KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (md_find(&b->md, name)) {
        *msg = "topic already exists";
        return KERR_TOPIC_ALREADY_EXISTS;
    }
    if (nparts <= 0 || nparts > BROOK_PARTITIONS_MAX) {
        *msg = "number of partitions must be in [1, 10000]";
        return KERR_INVALID_PARTITIONS;
    }
    if (check_configs(nconfigs, keys, values, msg) != 0)
        return KERR_INVALID_CONFIG;
    if (md_count(&b->md) >= BROOK_TOPICS_MAX) {
        *msg = "too many topics";
        return KERR_POLICY_VIOLATION;
    }
    if (validate_only)
        return KERR_NONE;
    char cname[BROOK_TOPIC_NAME_MAX + 1];
    memcpy(cname, name.p, (size_t)name.len);
    cname[name.len] = '\0';
    topic *t = md_add(&b->md, cname, nparts, nconfigs, keys, values);
    if (!t)
        return KERR_UNKNOWN_SERVER_ERROR;
    broker_topic_resolve(b, t);
    if (open_partitions(b, t, 0, nparts) != 0) {
        md_remove(&b->md, t);
        *msg = "cannot create the partition logs (see broker log)";
        return KERR_KAFKA_STORAGE_ERROR;
    }
    if (md_save(&b->md) != 0) {
        for (int32_t i = 0; i < nparts; i++)
            store_partition_drop(b->store, t->parts[i]);
        md_remove(&b->md, t);
        *msg = "cannot persist the topic registry";
        return KERR_KAFKA_STORAGE_ERROR;
    }
    LOG_INFO("broker", "created topic %s with %d partitions", cname, nparts);
    return KERR_NONE;
}

int16_t broker_topic_delete(broker *b, kslice name)
{
    topic *t = md_find(&b->md, name);
    if (!t)
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    if (!b->cfg.delete_topic_enable)
        return KERR_TOPIC_DELETION_DISABLED;
    for (int32_t i = 0; i < t->npartitions; i++)
        broker_forget_partition(b, t->parts[i]);
    int32_t n = t->npartitions;
    partition **parts = t->parts;
    t->parts = NULL;
    char *tname = strdup(t->name);
    md_remove(&b->md, t);
    /* The registry forgets the topic first: a crash then leaves only stray directories. */
    if (md_save(&b->md) != 0)
        LOG_ERROR("broker", "cannot persist the registry after deleting %s", tname);
    for (int32_t i = 0; i < n; i++)
        store_partition_drop(b->store, parts[i]);
    free(parts);
    LOG_INFO("broker", "deleted topic %s", tname ? tname : "?");
    free(tname);
    return KERR_NONE;
}

int16_t broker_topic_add_partitions(broker *b, topic *t, int32_t count, bool validate_only,
                                    const char **msg)
{
    *msg = NULL;
    if (count <= t->npartitions) {
        *msg = "the new partition count must be larger than the current one";
        return KERR_INVALID_PARTITIONS;
    }
    if (count > BROOK_PARTITIONS_MAX) {
        *msg = "number of partitions must be at most 10000";
        return KERR_INVALID_PARTITIONS;
    }
    if (validate_only)
        return KERR_NONE;
    int32_t old = t->npartitions;
    if (open_partitions(b, t, old, count) != 0) {
        *msg = "cannot create the partition logs (see broker log)";
        return KERR_KAFKA_STORAGE_ERROR;
    }
    t->npartitions = count;
    if (md_save(&b->md) != 0) {
        for (int32_t i = old; i < count; i++)
            store_partition_drop(b->store, t->parts[i]);
        t->npartitions = old;
        b->route_gen++;
        *msg = "cannot persist the topic registry";
        return KERR_KAFKA_STORAGE_ERROR;
    }
    LOG_INFO("broker", "topic %s now has %d partitions", t->name, count);
    return KERR_NONE;
}

/* Why the internal topic topic_name refuses key=value (a value check_configs accepted), or
 * NULL. */
static const char *internal_config_refused(const char *topic_name, const char *key,
                                           const char *value)
{
    int64_t v = 0;
    if (strcmp(key, "cleanup.policy") == 0 && strstr(value, "compact"))
        return "Brook's internal topics cannot be compacted: their replay reads every record "
               "(group offsets pending in a transaction end at its marker)";
    if (strcmp(key, "retention.ms") == 0 && config_parse_i64(value, &v) == 0 && v >= 0 &&
        v < internal_retention_min_ms(topic_name))
        return strcmp(topic_name, TXN_LOG_TOPIC) == 0
                   ? "retention.ms of an internal topic must be -1 or at least 3600000 (1 h) "
                     "on __transaction_state: open transactions' records must outlive it"
                   : "retention.ms of an internal topic must be -1 or at least 1000 on "
                     "__consumer_offsets: its live records are written again at half of it";
    if (strcmp(key, "segment.bytes") == 0 && config_parse_i64(value, &v) == 0 &&
        v < INTERNAL_SEGMENT_MIN_BYTES)
        return "segment.bytes of an internal topic must be at least 1048576 (1 MiB): a "
               "segment must hold the coordinators' largest record";
    return NULL;
}

int16_t broker_topic_set_configs(broker *b, topic *t, int n, char *const *keys,
                                 char *const *values, bool validate_only, const char **msg)
{
    *msg = NULL;
    if (check_configs(n, keys, values, msg) != 0)
        return KERR_INVALID_CONFIG;
    for (int i = 0; kafka_topic_internal(t->name) && i < n; i++)
        if ((*msg = internal_config_refused(t->name, keys[i], values[i])) != NULL)
            return KERR_INVALID_CONFIG;
    if (validate_only)
        return KERR_NONE;
    if (md_set_configs(t, n, keys, values) != 0)
        return KERR_UNKNOWN_SERVER_ERROR;
    broker_topic_resolve(b, t);
    for (int32_t i = 0; i < t->npartitions; i++)
        t->parts[i]->log->cfg = t->logcfg;
    if (md_save(&b->md) != 0) {
        *msg = "cannot persist the topic registry";
        return KERR_KAFKA_STORAGE_ERROR;
    }
    return KERR_NONE;
}
