/* dynconfig.c - see dynconfig.h and docs/admin.md ("Dynamic broker configs"). */
#include "broker/dynconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "proto/errors.h"

/* Broker keys whose new value takes effect at once: they feed the defaults of topics that
 * have no override of their own (topic_defaults), or are read where they are used. */
static const char *const g_applied[] = {
    "log.segment.bytes",      "log.roll.ms",           "log.roll.hours",
    "log.retention.ms",       "log.retention.minutes", "log.retention.hours",
    "log.retention.bytes",    "log.index.interval.bytes", "log.message.timestamp.type",
    "message.max.bytes",      "min.insync.replicas",   "compression.type",
    "log.message.timestamp.before.max.ms", "log.message.timestamp.after.max.ms",
    "log.cleaner.backoff.ms", "log.cleaner.dedupe.buffer.size",
    "log.cleaner.delete.retention.ms", "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms", "log.cleaner.min.cleanable.ratio",
    "log.cleanup.policy",
};

enum stored_kind { SK_INT, SK_RATIO, SK_STRING, SK_BOOL };

/* Kafka's dynamic keys for machinery Brook does not have: kept and reported, no effect. */
typedef struct stored_key {
    const char *name;
    enum stored_kind kind;
    int64_t lo, hi;
    const char *reason;
} stored_key;

#define THREADS "Brook runs one event loop per node; it has no such thread pool"
#define CLEANER "Brook's log cleaner runs one pass at a time in libuv's thread pool, " \
                "reading and writing at disk speed"
#define SASL "Brook's SASL is PLAIN and SCRAM, with credentials from AlterUserScramCredentials: " \
             "no Kerberos or JAAS (docs/security.md)"
#define NO_EFFECT_FLUSH "fsync follows log.flush.mode (sync: before every acknowledgement)"
#define QUOTA "Brook's connection caps are static keys, read at start " \
              "(max.connections, max.connections.per.ip); no creation rate cap"
static const stored_key g_stored[] = {
    {"background.threads", SK_INT, 1, INT32_MAX, THREADS},
    {"num.io.threads", SK_INT, 1, INT32_MAX, THREADS},
    {"num.network.threads", SK_INT, 1, INT32_MAX, THREADS},
    {"num.replica.fetchers", SK_INT, 1, INT32_MAX, THREADS},
    {"num.recovery.threads.per.data.dir", SK_INT, 1, INT32_MAX, THREADS},
    {"log.cleaner.threads", SK_INT, 0, INT32_MAX, CLEANER},
    {"log.cleaner.io.max.bytes.per.second", SK_RATIO, 0, INT64_MAX, CLEANER},
    {"log.cleaner.io.buffer.size", SK_INT, 0, INT32_MAX, CLEANER},
    {"log.flush.interval.messages", SK_INT, 1, INT64_MAX, NO_EFFECT_FLUSH},
    {"log.flush.scheduler.interval.ms", SK_INT, 0, INT64_MAX, NO_EFFECT_FLUSH},
    {"log.preallocate", SK_BOOL, 0, 0,
     "segment files grow as they are written (the next one's disk blocks are reserved "
     "ahead: log.segment.reserve)"},
    {"log.roll.jitter.ms", SK_INT, 0, INT64_MAX, "segments roll at log.roll.ms exactly"},
    {"log.roll.jitter.hours", SK_INT, 0, INT32_MAX, "segments roll at log.roll.ms exactly"},
    {"log.segment.delete.delay.ms", SK_INT, 0, INT64_MAX,
     "a segment retention drops is unlinked at once (readers keep their open file)"},
    {"unclean.leader.election.enable", SK_BOOL, 0, 0,
     "Brook never elects a replica that may lack acknowledged records (docs/replication.md)"},
    {"max.connections", SK_INT, 0, INT32_MAX, QUOTA},
    {"max.connections.per.ip", SK_INT, 0, INT32_MAX, QUOTA},
    {"max.connection.creation.rate", SK_INT, 0, INT32_MAX, QUOTA},
    {"sasl.kerberos.min.time.before.relogin", SK_INT, 0, INT64_MAX, SASL},
    {"sasl.kerberos.kinit.cmd", SK_STRING, 0, 0, SASL},
    {"sasl.kerberos.service.name", SK_STRING, 0, 0, SASL},
    {"sasl.kerberos.ticket.renew.jitter", SK_RATIO, 0, 1, SASL},
    {"sasl.kerberos.ticket.renew.window.factor", SK_RATIO, 0, 1, SASL},
    {"sasl.kerberos.principal.to.local.rules", SK_STRING, 0, 0, SASL},
    {"sasl.jaas.config", SK_STRING, 0, 0, SASL},
};

size_t dyn_applied_count(void) { return BROOK_ARRAY_LEN(g_applied); }
const char *dyn_applied_key(size_t i)
{
    BROOK_ASSERT(i < BROOK_ARRAY_LEN(g_applied));
    return g_applied[i];
}

static int applied_index(const char *key)
{
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_applied); i++)
        if (strcmp(g_applied[i], key) == 0)
            return (int)i;
    return -1;
}

static const stored_key *stored_find(const char *key)
{
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_stored); i++)
        if (strcmp(g_stored[i].name, key) == 0)
            return &g_stored[i];
    return NULL;
}

bool dyn_is_dynamic(const char *key) { return applied_index(key) >= 0 || stored_find(key); }

const char *dyn_stored_reason(const char *key)
{
    const stored_key *k = stored_find(key);
    return k ? k->reason : NULL;
}

/* A decimal ratio in [lo, hi]: digits with at most one point. */
static bool ratio_ok(const char *v, int64_t lo, int64_t hi)
{
    char *end;
    if (!*v || strspn(v, "0123456789.") != strlen(v))
        return false;
    double d = strtod(v, &end);
    return *end == '\0' && d >= (double)lo && d <= (double)hi;
}

static int16_t check_stored(const stored_key *k, const char *value, char *msg, size_t len)
{
    int64_t n;
    bool ok = true;
    switch (k->kind) {
    case SK_INT: ok = config_parse_i64(value, &n) == 0 && n >= k->lo && n <= k->hi; break;
    case SK_RATIO: ok = ratio_ok(value, k->lo, k->hi); break;
    case SK_STRING: ok = *value != '\0' && !strpbrk(value, "\r\n"); break; /* one line */
    case SK_BOOL: ok = strcmp(value, "true") == 0 || strcmp(value, "false") == 0; break;
    }
    if (ok)
        return KERR_NONE;
    snprintf(msg, len, "config key '%s': invalid value '%s'", k->name, value);
    return KERR_INVALID_CONFIG;
}

int16_t dyn_check(const char *key, const char *value, char *msg, size_t len)
{
    const stored_key *k = stored_find(key);
    if (k)
        return check_stored(k, value, msg, len);
    size_t ndefs;
    const config_def *defs = broker_config_defs(&ndefs);
    if (applied_index(key) < 0) {
        if (config_find(defs, ndefs, key)) {
            snprintf(msg, len, "Cannot update these configs dynamically: [%s] (set it in the "
                     "properties file and restart)", key);
            return KERR_INVALID_REQUEST;
        }
        snprintf(msg, len, "unknown broker config '%s'", key);
        return KERR_INVALID_CONFIG;
    }
    /* The startup checks, on a scratch config (its strings are its own). */
    broker_config scratch;
    memset(&scratch, 0, sizeof(scratch));
    int rc = broker_config_set(&scratch, key, value, msg, len);
    config_free(defs, ndefs, &scratch);
    return rc == 0 ? KERR_NONE : KERR_INVALID_CONFIG;
}

int dyn_init(dynconfig *d, const broker_config *cfg)
{
    memset(d, 0, sizeof(*d));
    d->static_values = calloc(BROOK_ARRAY_LEN(g_applied), sizeof(char *));
    if (!d->static_values)
        return -1;
    size_t ndefs;
    const config_def *defs = broker_config_defs(&ndefs);
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_applied); i++) {
        const config_def *def = config_find(defs, ndefs, g_applied[i]);
        BROOK_ASSERT(def); /* every applied key is a broker key */
        char buf[256];
        config_format(def, cfg, buf, sizeof(buf));
        if (!(d->static_values[i] = strdup(buf))) {
            dyn_free(d);
            return -1;
        }
    }
    return 0;
}

void dyn_clear(dynconfig *d, int scope)
{
    dyn_list *l = &d->scope[scope];
    for (int i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
    memset(l, 0, sizeof(*l));
}

void dyn_free(dynconfig *d)
{
    for (int s = 0; s < DYN_SCOPES; s++)
        dyn_clear(d, s);
    if (d->static_values)
        for (size_t i = 0; i < BROOK_ARRAY_LEN(g_applied); i++)
            free(d->static_values[i]);
    free(d->static_values);
    d->static_values = NULL;
}

static int find(const dyn_list *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->keys[i], key) == 0)
            return i;
    return -1;
}

const char *dyn_get(const dynconfig *d, int scope, const char *key)
{
    int i = find(&d->scope[scope], key);
    return i >= 0 ? d->scope[scope].values[i] : NULL;
}

int dyn_set(dynconfig *d, int scope, const char *key, const char *value)
{
    BROOK_ASSERT(scope >= 0 && scope < DYN_SCOPES);
    dyn_list *l = &d->scope[scope];
    int i = find(l, key);
    if (!value) {
        if (i < 0)
            return 0;
        free(l->keys[i]);
        free(l->values[i]);
        l->keys[i] = l->keys[l->n - 1];
        l->values[i] = l->values[l->n - 1];
        l->n--;
        return 0;
    }
    char *v = strdup(value);
    if (!v)
        return -1;
    if (i >= 0) {
        free(l->values[i]);
        l->values[i] = v;
        return 0;
    }
    char *k = strdup(key);
    char **nk = realloc(l->keys, sizeof(char *) * (size_t)(l->n + 1));
    if (nk)
        l->keys = nk;
    char **nv = nk ? realloc(l->values, sizeof(char *) * (size_t)(l->n + 1)) : NULL;
    if (nv)
        l->values = nv;
    if (!k || !nk || !nv) {
        free(k);
        free(v);
        return -1;
    }
    l->keys[l->n] = k;
    l->values[l->n] = v;
    l->n++;
    return 0;
}

int dyn_apply(const dynconfig *d, broker_config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < BROOK_ARRAY_LEN(g_applied); i++) {
        const char *v = dyn_get(d, DYN_BROKER, g_applied[i]);
        if (!v)
            v = dyn_get(d, DYN_DEFAULT, g_applied[i]);
        if (!v)
            v = d->static_values[i];
        if (broker_config_set(cfg, g_applied[i], v, err, errlen) != 0)
            return -1;
    }
    broker_config_resolve(cfg);
    return 0;
}

static const char *const g_scope_prefix[DYN_SCOPES] = {"broker/", "default/"};

char *dyn_encode(const dynconfig *d, size_t *len_out)
{
    return dyn_encode_scopes(d, DYN_MASK_ALL, len_out);
}

char *dyn_encode_scopes(const dynconfig *d, unsigned mask, size_t *len_out)
{
    wr w;
    wr_init(&w, 256);
    static const char head[] = "# brookd dynamic broker configs (AlterConfigs); written by "
                               "the broker, do not edit while it runs\n";
    wr_raw(&w, head, sizeof(head) - 1);
    for (int s = 0; s < DYN_SCOPES; s++)
        for (int i = 0; i < d->scope[s].n && (mask & (1u << s)); i++) {
            wr_raw(&w, g_scope_prefix[s], strlen(g_scope_prefix[s]));
            wr_raw(&w, d->scope[s].keys[i], strlen(d->scope[s].keys[i]));
            wr_raw(&w, "=", 1);
            /* Values are checked: no line breaks; a backslash is escaped for the parser. */
            for (const char *p = d->scope[s].values[i]; *p; p++) {
                if (*p == '\\')
                    wr_raw(&w, "\\", 1);
                wr_raw(&w, p, 1);
            }
            wr_raw(&w, "\n", 1);
        }
    wr_raw(&w, "", 1); /* NUL, not counted */
    if (w.oom) {
        wr_free(&w);
        return NULL;
    }
    size_t len;
    char *text = (char *)wr_take(&w, &len);
    *len_out = len - 1;
    return text;
}

typedef struct load_ctx {
    dynconfig *d;
    unsigned mask; /* the scopes taken; lines of others are skipped */
} load_ctx;

static int load_cb(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    load_ctx *l = ctx;
    for (int s = 0; s < DYN_SCOPES; s++) {
        size_t n = strlen(g_scope_prefix[s]);
        if (strncmp(key, g_scope_prefix[s], n) != 0)
            continue;
        if (!(l->mask & (1u << s)))
            return 0;
        int16_t e = dyn_check(key + n, value, err, errlen);
        if (e != KERR_NONE)
            return -1;
        if (dyn_set(l->d, s, key + n, value) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "'%s' is neither broker/<key> nor default/<key>", key);
    return -1;
}

int dyn_load_text(dynconfig *d, const char *text, char *err, size_t errlen)
{
    return dyn_load_scopes(d, DYN_MASK_ALL, text, err, errlen);
}

int dyn_load_scopes(dynconfig *d, unsigned mask, const char *text, char *err, size_t errlen)
{
    for (int s = 0; s < DYN_SCOPES; s++)
        if (mask & (1u << s))
            dyn_clear(d, s);
    load_ctx l = {d, mask};
    return config_parse_string(text, load_cb, &l, err, errlen);
}
