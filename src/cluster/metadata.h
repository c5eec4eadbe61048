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
#include "storage/topic_config.h"

struct partition;

typedef struct topic {
    char *name;
    uint8_t id[16]; /* Kafka's topic id (a UUID); all-zero: none yet (md_set_id changes it) */
    int32_t npartitions;
    struct partition **parts; /* storage partitions, owned by the store */
    int nconfigs;             /* overrides */
    char **config_keys;
    char **config_values;
    log_config logcfg;    /* resolved */
    topic_policy policy; /* resolved */
    bool internal;
    UT_hash_handle hh;
    UT_hash_handle hh_id; /* in by_id while the id is not all-zero */
} topic;

typedef struct metadata {
    char *path;
    topic *topics; /* uthash by name */
    topic *by_id;  /* uthash by id (topics with an id) */
} metadata;

/* Loads the registry (an absent file is an empty registry). Returns 0 or -errno; a
 * malformed file is an error naming the line. */
int md_load(metadata *md, const char *data_dir, char *err, size_t errlen);
/* Persists the whole registry durably. */
int md_save(const metadata *md);
topic *md_find(const metadata *md, kslice name);
size_t md_count(const metadata *md);
/* Topic ids. A new one is 16 bytes from getrandom(2) made a version-4 UUID, so never
 * all-zero (Kafka's "no id"), and never one whose base64 form starts with '-' (Kafka's
 * Uuid.randomUuid() draws again then). Returns 0, or -1 when no randomness is to be had. */
int md_new_id(uint8_t id[16]);
bool md_id_is_zero(const uint8_t id[16]);
/* The topic with this id; NULL for the zero id or an unknown one. */
topic *md_find_id(const metadata *md, const uint8_t id[16]);
/* Sets t's id (not saved): the cluster view's, or zero for "none yet". Returns 0, or -1
 * (nothing changed) when another topic has that id. */
int md_set_id(metadata *md, topic *t, const uint8_t id[16]);
/* Gives each topic without an id (a registry line written before topic ids, or a zero id)
 * a new one; returns how many got one (the caller saves), or -1 when no id could be made.
 * A single node does this once at startup; in a cluster the topic znode's id rules. */
int md_assign_missing_ids(metadata *md);
/* Creates an in-memory topic (not yet saved) with no partitions opened and a new id
 * (NULL when none can be made). Takes copies. */
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
