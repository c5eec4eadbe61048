/*
 * dynconfig.h - dynamic broker configs: the keys Kafka lets AlterConfigs and
 * IncrementalAlterConfigs change on a running broker (a BROKER resource named by this
 * broker's id, or "" for the cluster-wide default), their checks, and which value wins.
 *
 * Owns: two override lists (this broker's, and the cluster-wide defaults); the table of
 * dynamic keys: applied ones are broker_config keys whose new value takes effect at once
 * (the log and retention defaults of topics without their own override, message.max.bytes,
 * min.insync.replicas), stored ones are Kafka's dynamic keys for machinery Brook does not
 * have (thread pools, SASL/Kerberos, connection quotas, the log cleaner), kept and reported
 * as set, each with the reason it has no effect; and the static value of every applied key
 * as the properties file (or the built-in default) gave it.
 * Precedence (Kafka's): this broker's dynamic value, then the dynamic default, then static.
 * Never: does I/O. The broker persists dyn_encode()'s text and reads it back with
 * dyn_load_text(); it calls dyn_apply() to put the effective values into its config.
 */
#ifndef BROOK_BROKER_DYNCONFIG_H
#define BROOK_BROKER_DYNCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/config.h"

enum dyn_scope { DYN_BROKER = 0, DYN_DEFAULT = 1, DYN_SCOPES = 2 };

typedef struct dyn_list {
    int n;
    char **keys, **values; /* owned */
} dyn_list;

typedef struct dynconfig {
    dyn_list scope[DYN_SCOPES];
    char **static_values; /* per applied key (dyn_applied_key order), owned */
} dynconfig;

/* The applied keys, in order: i in [0, dyn_applied_count()). */
size_t dyn_applied_count(void);
const char *dyn_applied_key(size_t i);
/* Is key one Kafka changes at runtime (applied or stored here)? */
bool dyn_is_dynamic(const char *key);
/* For a stored key: why it has no effect in Brook; NULL for applied and unknown keys. */
const char *dyn_stored_reason(const char *key);
/* Checks one value for key: KERR_NONE; INVALID_CONFIG for an unknown key or a bad value;
 * INVALID_REQUEST for a broker key that is not dynamic (Kafka's answer). msg names the key. */
int16_t dyn_check(const char *key, const char *value, char *msg, size_t len);

/* Records the static value of every applied key from cfg (before any dynamic value). */
int dyn_init(dynconfig *d, const broker_config *cfg);
void dyn_free(dynconfig *d);
/* Sets (value non-NULL) or removes one key of a scope; the value must have passed
 * dyn_check. Returns 0, or -1 when out of memory (nothing changed). */
int dyn_set(dynconfig *d, int scope, const char *key, const char *value);
/* Removes every key of a scope (AlterConfigs replaces a resource's whole set). */
void dyn_clear(dynconfig *d, int scope);
/* The value of key in scope, or NULL. */
const char *dyn_get(const dynconfig *d, int scope, const char *key);
/* Writes the effective value of every applied key into cfg (broker_config_set), then
 * recomputes its derived fields. Returns 0, or -1 with a message. */
int dyn_apply(const dynconfig *d, broker_config *cfg, char *err, size_t errlen);

/* The persistent form: a properties text, one line per override, "broker/<key>=<value>"
 * or "default/<key>=<value>". dyn_encode returns malloc'd text (NULL: out of memory);
 * dyn_load_text replaces both scopes with the text's (every value checked again). */
char *dyn_encode(const dynconfig *d, size_t *len_out);
int dyn_load_text(dynconfig *d, const char *text, char *err, size_t errlen);
/* The same for the scopes in mask only (1 << scope): in a cluster this broker's overrides
 * live in its file and the defaults in ZooKeeper. dyn_load_scopes replaces the masked
 * scopes and skips the text's lines of the others. */
#define DYN_MASK_ALL ((1u << DYN_SCOPES) - 1)
char *dyn_encode_scopes(const dynconfig *d, unsigned mask, size_t *len_out);
int dyn_load_scopes(dynconfig *d, unsigned mask, const char *text, char *err, size_t errlen);

#endif
