/*
 * quota.h - client byte-rate quotas (Kafka's KIP-13 and KIP-55): which quota applies to a
 * (user, client id) pair, how fast each quota entity has been producing or fetching, and how
 * long a client over its quota must be throttled.
 *
 * Owns: the configured quota entities (user and/or client-id parts, each a name or the
 * default entity, with producer_byte_rate and consumer_byte_rate), one rate window per
 * throttled entity and kind (Kafka's sensors: quota.window.num samples of
 * quota.window.size.seconds), their byte and throttle counters for /metrics, and the text
 * form the broker persists.
 * Precedence (Kafka's): user+client-id, user+default client-id, user, default user+client-id,
 * default user+default client-id, default user, client-id, default client-id. The window
 * is shared by everyone the matched entity covers: a default user entity gives each user
 * its own window, a specific client-id entity one window to that client id.
 * Never: does I/O or reads a clock (every call takes now_ms), nor decides what a throttled
 * request answers; the broker mutes the connection and sets throttle_time_ms.
 */
#ifndef BROOK_BROKER_QUOTA_H
#define BROOK_BROKER_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum quota_kind { QUOTA_PRODUCE = 0, QUOTA_FETCH = 1, QUOTA_KINDS = 2 };
/* One part of an entity: absent, a specific name, or Kafka's default entity (name null). */
enum quota_part { QUOTA_ABSENT = 0, QUOTA_NAME = 1, QUOTA_DEFAULT = 2 };

#define QUOTA_SAMPLES_MAX 100

/* A rate window: Kafka's SampledStat with Rate's window size. */
typedef struct quota_window {
    int nsamples;      /* in use, up to the configured count */
    int cur;           /* the sample being filled */
    int64_t start_ms[QUOTA_SAMPLES_MAX];
    double value[QUOTA_SAMPLES_MAX];
} quota_window;

typedef struct quota_entity {
    uint8_t user_part, client_part; /* enum quota_part */
    char *user, *client;            /* owned; set for QUOTA_NAME only */
    double rate[QUOTA_KINDS];       /* bytes per second; < 0: not set */
} quota_entity;

struct quota_sensor;

typedef struct quota_mgr {
    int samples;       /* quota.window.num */
    int64_t sample_ms; /* quota.window.size.seconds * 1000 */
    int nentities;
    quota_entity *entities; /* owned */
    struct quota_sensor *sensors; /* hash by (kind, user tag, client tag) */
    size_t nsensors;
} quota_mgr;

/* Window arithmetic, exposed for tests. record adds v at now_ms; rate is bytes per second
 * over the window; window_ms is Rate.windowSize (at least samples - 1 whole samples). */
void quota_window_record(quota_window *w, int samples, int64_t sample_ms, int64_t now_ms,
                         double v);
double quota_window_rate(quota_window *w, int samples, int64_t sample_ms, int64_t now_ms);
int64_t quota_window_ms(quota_window *w, int samples, int64_t sample_ms, int64_t now_ms);
/* Kafka's throttle time for a measured rate over bound in a window of window_ms: 0 when
 * rate <= bound, else (rate - bound) / bound * window_ms, rounded, at most INT32_MAX. */
int64_t quota_throttle_ms(double rate, double bound, int64_t window_ms);

/* samples in [1, QUOTA_SAMPLES_MAX], sample_ms > 0. */
void quota_init(quota_mgr *q, int samples, int64_t sample_ms);
void quota_free(quota_mgr *q);

/* The kind a Kafka quota key names: QUOTA_PRODUCE for producer_byte_rate, QUOTA_FETCH for
 * consumer_byte_rate, -1 for a key Kafka has that Brook does not enforce
 * (request_percentage, controller_mutation_rate, connection_creation_rate), -2 for an
 * unknown key. */
int quota_key_kind(const char *key);
const char *quota_key_name(int kind);

/* The entity with exactly these parts, or NULL. Names are borrowed. */
quota_entity *quota_find(quota_mgr *q, int user_part, const char *user, int client_part,
                         const char *client);
/* Sets (rate >= 0) or removes (rate < 0) one kind of an entity; an entity left with no
 * rate is dropped. Returns 0, or -1 when out of memory (nothing changed). */
int quota_set(quota_mgr *q, int user_part, const char *user, int client_part,
              const char *client, int kind, double rate);

/* The rate that applies to (user, client) for kind, -1 if none; *ent_out (optional) gets
 * the matched entity. user is the principal's name without "User:". */
double quota_resolve(const quota_mgr *q, const char *user, const char *client, int kind,
                     const quota_entity **ent_out);
/* Records bytes of kind for (user, client) at now_ms and returns the throttle time in ms
 * (0: within the quota, or no quota applies). Out of memory or past
 * BROOK_QUOTA_SENSORS_MAX windows: not tracked, 0. */
int64_t quota_record(quota_mgr *q, const char *user, const char *client, int kind,
                     double bytes, int64_t now_ms);
/* Takes back bytes recorded by quota_record (a fetch answered empty because throttled). */
void quota_unrecord(quota_mgr *q, const char *user, const char *client, int kind,
                    double bytes, int64_t now_ms);
/* The most bytes one response may carry without being throttled on an empty window:
 * rate * (samples - 1) * sample size (Kafka's getMaxValueInQuotaWindow); -1: no quota. */
double quota_max_in_window(const quota_mgr *q, const char *user, const char *client,
                           int kind);

/* Metrics: calls fn for every window with its tags ("" for a part the entity has not),
 * kind, bytes recorded and throttle time given in total. */
typedef void (*quota_sensor_fn)(void *ctx, const char *user, const char *client, int kind,
                                uint64_t bytes, uint64_t throttle_ms);
void quota_each_sensor(const quota_mgr *q, quota_sensor_fn fn, void *ctx);

/* The persistent form, one line per entity and kind:
 *   <user> <client> <key>=<rate>
 * where each part is "-" (absent), "*" (default) or "=" and the name percent-encoded.
 * quota_encode returns malloc'd text (NULL: out of memory); quota_load_text replaces the
 * entities with the text's, or returns -1 with a message naming the line (nothing
 * changed). */
char *quota_encode(const quota_mgr *q, size_t *len_out);
int quota_load_text(quota_mgr *q, const char *text, char *err, size_t errlen);

#endif
