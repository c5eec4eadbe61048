/*
 * metadata.h - the topic registry of a single node: names, ids, partition counts and
 * per-topic config overrides, kept in memory and persisted in <data>/topics.meta.
 *
 * Owns: the topic table and its file. The file is replaced atomically (write temp,
 * fdatasync, rename, fsync dir) before a topic change is acknowledged, so a crash leaves
 * either the old or the new registry, never a mix.
 * Never: opens logs itself (the caller pairs topics with storage partitions), or talks
 * to the network. With ZooKeeper (later) another store implements the same operations.
 */
#ifndef BROOK_CLUSTER_METADATA_H
#define BROOK_CLUSTER_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "base/buf.h"
#include "storage/log.h"

struct partition;

typedef struct topic {
    char *name;
    uint8_t id[16];
    int32_t npartitions;
    struct partition **parts; /* storage partitions, owned by the store */
    int nconfigs;             /* overrides */
    char **config_keys;
    char **config_values;
    log_config logcfg; /* resolved */
    int32_t max_message_bytes;
    bool internal;
    UT_hash_handle hh;
} topic;

typedef struct metadata {
    char *path;
    topic *topics; /* uthash by name */
} metadata;

/* Loads the registry (an absent file is an empty registry). Returns 0 or -errno; a
 * malformed file is an error naming the line. */
int md_load(metadata *md, const char *data_dir, char *err, size_t errlen);
/* Persists the whole registry durably. */
int md_save(const metadata *md);
topic *md_find(const metadata *md, kslice name);
size_t md_count(const metadata *md);
/* Creates an in-memory topic (not yet saved) with no partitions opened. Takes copies. */
topic *md_add(metadata *md, const char *name, int32_t npartitions, int nconfigs,
              char *const *keys, char *const *values);
/* Removes and frees a topic (the caller dropped its partitions first). */
void md_remove(metadata *md, topic *t);
/* Replaces a topic's overrides (copies). Returns 0 or -ENOMEM. */
int md_set_configs(topic *t, int n, char *const *keys, char *const *values);
void md_free(metadata *md);

/* Kafka's topic name rule: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". On failure
 * *why explains. */
bool md_topic_name_valid(kslice name, const char **why);

#endif
