/* quota.c - see quota.h. The window follows Kafka's SampledStat and Rate, the throttle time
 * its QuotaUtils.throttleTime, the precedence its DefaultQuotaCallback. */
#include "broker/quota.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "base/assert.h"
#include "base/limits.h"

typedef struct quota_sensor {
    char *key; /* "<kind>:<user len>:<user><client>", owned */
    char *user, *client; /* tags, owned */
    int kind;
    quota_window w;
    int64_t last_ms;
    uint64_t bytes, throttle_ms;
    UT_hash_handle hh;
} quota_sensor;

/* ---- the window ---- */

/* Samples older than the whole window restart empty at now (Kafka's purgeObsoleteSamples). */
static void window_purge(quota_window *w, int samples, int64_t sample_ms, int64_t now_ms)
{
    for (int i = 0; i < w->nsamples; i++)
        if (now_ms - w->start_ms[i] >= (int64_t)samples * sample_ms) {
            w->start_ms[i] = now_ms;
            w->value[i] = 0;
        }
}

void quota_window_record(quota_window *w, int samples, int64_t sample_ms, int64_t now_ms,
                         double v)
{
    BROOK_ASSERT(samples >= 1 && samples <= QUOTA_SAMPLES_MAX && sample_ms > 0);
    if (w->nsamples == 0) {
        w->nsamples = 1;
        w->cur = 0;
        w->start_ms[0] = now_ms;
        w->value[0] = 0;
    } else if (now_ms - w->start_ms[w->cur] >= sample_ms) {
        w->cur = (w->cur + 1) % samples;
        if (w->cur >= w->nsamples)
            w->nsamples = w->cur + 1;
        w->start_ms[w->cur] = now_ms;
        w->value[w->cur] = 0;
    }
    w->value[w->cur] += v;
}

int64_t quota_window_ms(quota_window *w, int samples, int64_t sample_ms, int64_t now_ms)
{
    window_purge(w, samples, sample_ms, now_ms);
    int64_t oldest = now_ms;
    for (int i = 0; i < w->nsamples; i++)
        if (w->start_ms[i] < oldest)
            oldest = w->start_ms[i];
    int64_t elapsed = now_ms - oldest;
    int64_t full = elapsed / sample_ms;
    if (full < samples - 1)
        elapsed += (samples - 1 - full) * sample_ms;
    return elapsed > 0 ? elapsed : 1;
}

double quota_window_rate(quota_window *w, int samples, int64_t sample_ms, int64_t now_ms)
{
    int64_t win = quota_window_ms(w, samples, sample_ms, now_ms); /* purges first */
    double total = 0;
    for (int i = 0; i < w->nsamples; i++)
        total += w->value[i];
    return total * 1000.0 / (double)win;
}

int64_t quota_throttle_ms(double rate, double bound, int64_t window_ms)
{
    if (!(rate > bound))
        return 0;
    if (bound <= 0) /* a zero quota: as long as the window, then try again */
        return window_ms;
    double t = (rate - bound) / bound * (double)window_ms;
    return t >= (double)INT32_MAX ? INT32_MAX : (int64_t)llround(t);
}

/* ---- entities ---- */

void quota_init(quota_mgr *q, int samples, int64_t sample_ms)
{
    BROOK_ASSERT(samples >= 1 && samples <= QUOTA_SAMPLES_MAX && sample_ms > 0);
    memset(q, 0, sizeof(*q));
    q->samples = samples;
    q->sample_ms = sample_ms;
}

static void sensor_free(quota_sensor *s)
{
    free(s->key);
    free(s->user);
    free(s->client);
    free(s);
}

void quota_free(quota_mgr *q)
{
    for (int i = 0; i < q->nentities; i++) {
        free(q->entities[i].user);
        free(q->entities[i].client);
    }
    free(q->entities);
    quota_sensor *s, *tmp;
    HASH_ITER(hh, q->sensors, s, tmp) {
        HASH_DEL(q->sensors, s);
        sensor_free(s);
    }
    q->entities = NULL;
    q->nentities = 0;
    q->nsensors = 0;
}

int quota_key_kind(const char *key)
{
    if (strcmp(key, "producer_byte_rate") == 0)
        return QUOTA_PRODUCE;
    if (strcmp(key, "consumer_byte_rate") == 0)
        return QUOTA_FETCH;
    if (strcmp(key, "request_percentage") == 0 || strcmp(key, "controller_mutation_rate") == 0 ||
        strcmp(key, "connection_creation_rate") == 0)
        return -1;
    return -2;
}

const char *quota_key_name(int kind)
{
    BROOK_ASSERT(kind == QUOTA_PRODUCE || kind == QUOTA_FETCH);
    return kind == QUOTA_PRODUCE ? "producer_byte_rate" : "consumer_byte_rate";
}

static bool part_eq(int part_a, const char *a, int part_b, const char *b)
{
    if (part_a != part_b)
        return false;
    return part_a != QUOTA_NAME || strcmp(a, b) == 0;
}

quota_entity *quota_find(quota_mgr *q, int user_part, const char *user, int client_part,
                         const char *client)
{
    for (int i = 0; i < q->nentities; i++) {
        quota_entity *e = &q->entities[i];
        if (part_eq(e->user_part, e->user, user_part, user) &&
            part_eq(e->client_part, e->client, client_part, client))
            return e;
    }
    return NULL;
}

static void entity_drop(quota_mgr *q, quota_entity *e)
{
    free(e->user);
    free(e->client);
    size_t i = (size_t)(e - q->entities);
    memmove(e, e + 1, sizeof(*e) * ((size_t)q->nentities - i - 1));
    q->nentities--;
}

/* A new entity with no rate, or NULL when out of memory or at the cap. */
static quota_entity *entity_add(quota_mgr *q, int user_part, const char *user, int client_part,
                                const char *client)
{
    if (q->nentities >= BROOK_QUOTA_ENTITIES_MAX)
        return NULL;
    quota_entity *v = realloc(q->entities, sizeof(*v) * ((size_t)q->nentities + 1));
    if (!v)
        return NULL;
    q->entities = v;
    quota_entity *e = &v[q->nentities];
    memset(e, 0, sizeof(*e));
    e->user_part = (uint8_t)user_part;
    e->client_part = (uint8_t)client_part;
    e->user = user_part == QUOTA_NAME ? strdup(user) : NULL;
    e->client = client_part == QUOTA_NAME ? strdup(client) : NULL;
    if ((user_part == QUOTA_NAME && !e->user) || (client_part == QUOTA_NAME && !e->client)) {
        free(e->user);
        free(e->client);
        return NULL;
    }
    for (int k = 0; k < QUOTA_KINDS; k++)
        e->rate[k] = -1;
    q->nentities++;
    return e;
}

int quota_set(quota_mgr *q, int user_part, const char *user, int client_part,
              const char *client, int kind, double rate)
{
    BROOK_ASSERT(kind >= 0 && kind < QUOTA_KINDS);
    BROOK_ASSERT(user_part != QUOTA_ABSENT || client_part != QUOTA_ABSENT);
    quota_entity *e = quota_find(q, user_part, user, client_part, client);
    if (rate < 0) {
        if (!e)
            return 0;
        e->rate[kind] = -1;
        bool any = false;
        for (int k = 0; k < QUOTA_KINDS; k++)
            any = any || e->rate[k] >= 0;
        if (!any)
            entity_drop(q, e);
        return 0;
    }
    if (!e && !(e = entity_add(q, user_part, user, client_part, client)))
        return -1;
    e->rate[kind] = rate;
    return 0;
}

/* ---- resolution ---- */

/* Kafka's order: each row is (user part, client part) of the entity to try. */
static const uint8_t g_order[8][2] = {
    {QUOTA_NAME, QUOTA_NAME},       {QUOTA_NAME, QUOTA_DEFAULT},
    {QUOTA_NAME, QUOTA_ABSENT},     {QUOTA_DEFAULT, QUOTA_NAME},
    {QUOTA_DEFAULT, QUOTA_DEFAULT}, {QUOTA_DEFAULT, QUOTA_ABSENT},
    {QUOTA_ABSENT, QUOTA_NAME},     {QUOTA_ABSENT, QUOTA_DEFAULT},
};

double quota_resolve(const quota_mgr *q, const char *user, const char *client, int kind,
                     const quota_entity **ent_out)
{
    BROOK_ASSERT(kind >= 0 && kind < QUOTA_KINDS);
    for (size_t o = 0; o < BROOK_ARRAY_LEN(g_order); o++) {
        quota_entity *e = quota_find((quota_mgr *)q, g_order[o][0], user, g_order[o][1],
                                     client);
        if (e && e->rate[kind] >= 0) {
            if (ent_out)
                *ent_out = e;
            return e->rate[kind];
        }
    }
    if (ent_out)
        *ent_out = NULL;
    return -1;
}

/* Drops windows idle for longer than the whole window (their rate is 0). */
static void sensors_expire(quota_mgr *q, int64_t now_ms)
{
    quota_sensor *s, *tmp;
    HASH_ITER(hh, q->sensors, s, tmp) {
        if (now_ms - s->last_ms > (int64_t)q->samples * q->sample_ms) {
            HASH_DEL(q->sensors, s);
            sensor_free(s);
            q->nsensors--;
        }
    }
}

/* The window of the matched entity's tags: the request's user if the entity has a user
 * part, its client id if it has a client part. create: make it if missing. */
static quota_sensor *sensor_for(quota_mgr *q, const quota_entity *e, const char *user,
                                const char *client, int kind, bool create, int64_t now_ms)
{
    const char *tu = e->user_part != QUOTA_ABSENT ? user : "";
    const char *tc = e->client_part != QUOTA_ABSENT ? client : "";
    size_t lu = strlen(tu), lc = strlen(tc);
    char *key = malloc(lu + lc + 32);
    if (!key)
        return NULL;
    snprintf(key, lu + lc + 32, "%d:%zu:%s%s", kind, lu, tu, tc);
    quota_sensor *s = NULL;
    HASH_FIND_STR(q->sensors, key, s);
    if (s || !create) {
        free(key);
        return s;
    }
    if (q->nsensors >= BROOK_QUOTA_SENSORS_MAX)
        sensors_expire(q, now_ms);
    if (q->nsensors >= BROOK_QUOTA_SENSORS_MAX || !(s = calloc(1, sizeof(*s)))) {
        free(key);
        return NULL;
    }
    s->key = key;
    s->user = strdup(tu);
    s->client = strdup(tc);
    s->kind = kind;
    if (!s->user || !s->client) {
        sensor_free(s);
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, q->sensors, s->key, strlen(s->key), s);
    q->nsensors++;
    return s;
}

int64_t quota_record(quota_mgr *q, const char *user, const char *client, int kind,
                     double bytes, int64_t now_ms)
{
    const quota_entity *e;
    double bound = quota_resolve(q, user, client, kind, &e);
    if (bound < 0)
        return 0;
    quota_sensor *s = sensor_for(q, e, user, client, kind, true, now_ms);
    if (!s)
        return 0;
    s->last_ms = now_ms;
    s->bytes += bytes > 0 ? (uint64_t)bytes : 0;
    quota_window_record(&s->w, q->samples, q->sample_ms, now_ms, bytes);
    double rate = quota_window_rate(&s->w, q->samples, q->sample_ms, now_ms);
    int64_t t = quota_throttle_ms(rate, bound,
                                  quota_window_ms(&s->w, q->samples, q->sample_ms, now_ms));
    s->throttle_ms += (uint64_t)t;
    return t;
}

void quota_unrecord(quota_mgr *q, const char *user, const char *client, int kind,
                    double bytes, int64_t now_ms)
{
    const quota_entity *e;
    if (quota_resolve(q, user, client, kind, &e) < 0)
        return;
    quota_sensor *s = sensor_for(q, e, user, client, kind, false, now_ms);
    if (!s)
        return;
    s->bytes -= s->bytes >= (uint64_t)bytes ? (uint64_t)bytes : s->bytes;
    quota_window_record(&s->w, q->samples, q->sample_ms, now_ms, -bytes);
}

double quota_max_in_window(const quota_mgr *q, const char *user, const char *client,
                           int kind)
{
    double bound = quota_resolve(q, user, client, kind, NULL);
    if (bound < 0)
        return -1;
    return bound * (double)(q->samples - 1) * (double)q->sample_ms / 1000.0;
}

void quota_each_sensor(const quota_mgr *q, quota_sensor_fn fn, void *ctx)
{
    for (const quota_sensor *s = q->sensors; s; s = s->hh.next)
        fn(ctx, s->user, s->client, s->kind, s->bytes, s->throttle_ms);
}

/* ---- the persistent form ---- */

static bool plain_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-' || ch == ':' || ch == '@';
}

/* Appends a part's text ("-", "*", "=name" percent-encoded) at out; returns its length.
 * out has room for 3 * strlen(name) + 2 bytes. */
static size_t part_encode(int part, const char *name, char *out)
{
    size_t n = 0;
    if (part != QUOTA_NAME) {
        out[n++] = part == QUOTA_ABSENT ? '-' : '*';
        out[n] = '\0';
        return n;
    }
    out[n++] = '=';
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (plain_char(*p)) {
            out[n++] = (char)*p;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return n;
}

char *quota_encode(const quota_mgr *q, size_t *len_out)
{
    size_t cap = 64, len = 0;
    for (int i = 0; i < q->nentities; i++) {
        const quota_entity *e = &q->entities[i];
        size_t lu = e->user ? strlen(e->user) : 0, lc = e->client ? strlen(e->client) : 0;
        cap += QUOTA_KINDS * (3 * (lu + lc) + 96);
    }
    char *out = malloc(cap);
    if (!out)
        return NULL;
    len += (size_t)snprintf(out, cap, "# brook client quotas: <user> <client-id> <key>=<rate>\n");
    for (int i = 0; i < q->nentities; i++) {
        const quota_entity *e = &q->entities[i];
        for (int k = 0; k < QUOTA_KINDS; k++) {
            if (e->rate[k] < 0)
                continue;
            len += part_encode(e->user_part, e->user, out + len);
            out[len++] = ' ';
            len += part_encode(e->client_part, e->client, out + len);
            len += (size_t)snprintf(out + len, cap - len, " %s=%.17g\n", quota_key_name(k),
                                    e->rate[k]);
        }
    }
    BROOK_ASSERT(len < cap);
    *len_out = len;
    return out;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Decodes one part in place (tok is NUL-terminated); -1 if malformed. */
static int part_decode(char *tok, int *part, char **name)
{
    *name = NULL;
    if (strcmp(tok, "-") == 0)
        *part = QUOTA_ABSENT;
    else if (strcmp(tok, "*") == 0)
        *part = QUOTA_DEFAULT;
    else if (tok[0] == '=') {
        char *w = tok;
        for (char *r = tok + 1; *r; r++) {
            if (*r != '%') {
                *w++ = *r;
                continue;
            }
            int hi = hexval(r[1]), lo = hi >= 0 ? hexval(r[2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        }
        *w = '\0';
        *part = QUOTA_NAME;
        *name = tok;
    } else {
        return -1;
    }
    return 0;
}

/* One line into q; -1 with err on anything malformed. */
static int load_line(quota_mgr *q, char *line, char *err, size_t errlen)
{
    char *save = NULL;
    char *tu = strtok_r(line, " ", &save), *tc = strtok_r(NULL, " ", &save);
    char *kv = strtok_r(NULL, " ", &save);
    char *eq = kv ? strchr(kv, '=') : NULL;
    int pu, pc;
    char *nu, *nc;
    if (!eq || strtok_r(NULL, " ", &save) || part_decode(tu, &pu, &nu) != 0 ||
        part_decode(tc, &pc, &nc) != 0 || (pu == QUOTA_ABSENT && pc == QUOTA_ABSENT)) {
        snprintf(err, errlen, "expected '<user> <client-id> <key>=<rate>'");
        return -1;
    }
    *eq = '\0';
    int kind = quota_key_kind(kv);
    char *end = NULL;
    double rate = strtod(eq + 1, &end);
    if (kind < 0 || !end || *end || end == eq + 1 || !(rate >= 0) || isinf(rate)) {
        snprintf(err, errlen, "bad quota '%s=%s'", kv, eq + 1);
        return -1;
    }
    if (quota_set(q, pu, nu, pc, nc, kind, rate) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int quota_load_text(quota_mgr *q, const char *text, char *err, size_t errlen)
{
    quota_mgr fresh;
    quota_init(&fresh, q->samples, q->sample_ms);
    char *copy = strdup(text);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int lineno = 0;
    char *next = copy;
    while (next && *next) {
        char *line = next;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char why[128];
        if (load_line(&fresh, line, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            free(copy);
            quota_free(&fresh);
            return -1;
        }
    }
    free(copy);
    for (int i = 0; i < q->nentities; i++) {
        free(q->entities[i].user);
        free(q->entities[i].client);
    }
    free(q->entities);
    q->entities = fresh.entities;
    q->nentities = fresh.nentities;
    return 0;
}
