/*
 * stream/pipeline.c - the pipeline file: keys, defaults, validation.
 */
#include "stream/pipeline.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

/* The plain string keys and where each lives. */
static const struct {
    const char *key;
    size_t off;
} STR_KEYS[] = {
    {"pipeline.name", offsetof(stream_pipeline, name)},
    {"bootstrap.servers", offsetof(stream_pipeline, bootstrap)},
    {"source.topic", offsetof(stream_pipeline, source_topic)},
    {"source.group", offsetof(stream_pipeline, group)},
    {"sink.topic", offsetof(stream_pipeline, sink_topic)},
    {"sink.postgres", offsetof(stream_pipeline, pg_conninfo)},
    {"sink.postgres.table", offsetof(stream_pipeline, pg_table)},
    {"sink.postgres.columns", offsetof(stream_pipeline, pg_columns)},
    {"sink.postgres.key", offsetof(stream_pipeline, pg_key)},
    {"sink.files.dir", offsetof(stream_pipeline, files_dir)},
    {"dead.letter.topic", offsetof(stream_pipeline, dlq_topic)},
    {"state.changelog.topic", offsetof(stream_pipeline, changelog_topic)},
    {"progress.topic", offsetof(stream_pipeline, progress_topic)},
};

static int set_num(const char *key, const char *v, int64_t min, int64_t max, int64_t *out,
                   char *err, size_t errlen)
{
    if (config_parse_i64(v, out) != 0 || *out < min || *out > max) {
        snprintf(err, errlen, "%s: %s is not a whole number in [%lld, %lld]", key, v,
                 (long long)min, (long long)max);
        return -1;
    }
    return 0;
}

/* op.N: the index must be 1..STREAM_MAX_OPS; gaps are found after the whole file. */
static int set_op(stream_pipeline *p, const char *key, const char *v, char *err,
                  size_t errlen)
{
    int64_t n;
    if (config_parse_i64(key + 3, &n) != 0 || n < 1 || n > STREAM_MAX_OPS) {
        snprintf(err, errlen, "%s: operators are op.1 to op.%d", key, STREAM_MAX_OPS);
        return -1;
    }
    free(p->ops[n - 1]);
    p->ops[n - 1] = strdup(v);
    return 0;
}

/* table.<name>.topic=<topic>: a table for `join <name> ...` lines, read from <topic>. */
static int set_table(stream_pipeline *p, const char *key, const char *value, char *err,
                     size_t errlen)
{
    const char *name = key + 6, *dot = strrchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : 0;
    bool ok = dot && strcmp(dot, ".topic") == 0 && n > 0 && n <= 64 && *value;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
    if (!ok) {
        snprintf(err, errlen, "%s: tables are given as table.<name>.topic=<topic> (a name of "
                              "letters, digits, '_' or '-')", key);
        return -1;
    }
    for (int i = 0; i < p->ntables; i++)
        if (strlen(p->table_names[i]) == n && strncmp(p->table_names[i], name, n) == 0) {
            free(p->table_topics[i]);
            p->table_topics[i] = strdup(value);
            return 0;
        }
    if (p->ntables == STREAM_MAX_PIPELINE_TABLES) {
        snprintf(err, errlen, "%s: at most %d tables", key, STREAM_MAX_PIPELINE_TABLES);
        return -1;
    }
    p->table_names[p->ntables] = strndup(name, n);
    p->table_topics[p->ntables++] = strdup(value);
    return 0;
}

static int on_kv(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    return stream_pipeline_set(ctx, key, value, err, errlen);
}

int stream_pipeline_set(stream_pipeline *p, const char *key, const char *value, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < sizeof STR_KEYS / sizeof STR_KEYS[0]; i++) {
        if (strcmp(key, STR_KEYS[i].key) != 0)
            continue;
        char **slot = (char **)((char *)p + STR_KEYS[i].off);
        free(*slot);
        *slot = strdup(value);
        return 0;
    }
    if (strncmp(key, "op.", 3) == 0)
        return set_op(p, key, value, err, errlen);
    if (strcmp(key, "commit.interval.ms") == 0)
        return set_num(key, value, 1, 3600000, &p->commit_interval_ms, err, errlen);
    if (strcmp(key, "transaction.timeout.ms") == 0)
        return set_num(key, value, 1000, 900000, &p->transaction_timeout_ms, err, errlen);
    if (strcmp(key, "replication.factor") == 0) {
        int64_t rf;
        if (set_num(key, value, -1, 16, &rf, err, errlen) != 0)
            return -1;
        p->replication_factor = (int32_t)rf;
        return 0;
    }
    if (strcmp(key, "processing.guarantee") == 0) {
        if (strcmp(value, "exactly_once") != 0 && strcmp(value, "at_least_once") != 0) {
            snprintf(err, errlen, "processing.guarantee: exactly_once or at_least_once, not %s",
                     value);
            return -1;
        }
        p->exactly_once = strcmp(value, "exactly_once") == 0;
        return 0;
    }
    if (strcmp(key, "recovery.max.attempts") == 0) {
        int64_t n;
        if (set_num(key, value, 1, 1000000, &n, err, errlen) != 0)
            return -1;
        p->max_recoveries = (int32_t)n;
        return 0;
    }
    if (strncmp(key, "table.", 6) == 0)
        return set_table(p, key, value, err, errlen);
    if (strncmp(key, "client.", 7) == 0 && key[7]) {
        if (p->nclient == STREAM_MAX_CLIENT_PROPS) {
            snprintf(err, errlen, "%s: at most %d client.* keys", key, STREAM_MAX_CLIENT_PROPS);
            return -1;
        }
        p->client_keys[p->nclient] = strdup(key + 7);
        p->client_values[p->nclient++] = strdup(value);
        return 0;
    }
    snprintf(err, errlen, "unknown key %s (docs/stream.md lists the pipeline keys)", key);
    return -1;
}

bool stream_pipeline_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

static char *derived(const char *name, const char *suffix)
{
    size_t n = strlen(name) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", name, suffix);
    return s;
}

/* Required keys, name rules, op.N without gaps, and the defaults derived from the name. */
int stream_pipeline_check(stream_pipeline *p, char *err, size_t errlen)
{
    if (!p->name || !stream_pipeline_valid_name(p->name)) {
        snprintf(err, errlen, "%s", STREAM_NAME_RULE);
        return -1;
    }
    if (!p->source_topic || !*p->source_topic) {
        snprintf(err, errlen, "source.topic is required");
        return -1;
    }
    for (size_t i = 0; i < STREAM_MAX_OPS; i++) {
        if (p->ops[i] && i > p->nops) {
            snprintf(err, errlen, "op.%zu is given but op.%zu is not (operators are numbered "
                                  "from 1 without gaps)", i + 1, p->nops + 1);
            return -1;
        }
        if (p->ops[i])
            p->nops = i + 1;
    }
    if (!p->sink_topic && !p->pg_conninfo && !p->files_dir) {
        snprintf(err, errlen, "no sink: give sink.topic, sink.postgres or sink.files.dir");
        return -1;
    }
    if (p->pg_conninfo && (!p->pg_table || !p->pg_columns)) {
        snprintf(err, errlen, "sink.postgres needs sink.postgres.table and "
                              "sink.postgres.columns");
        return -1;
    }
    if (!p->exactly_once && p->files_dir) {
        snprintf(err, errlen, "sink.files.dir needs processing.guarantee=exactly_once (file "
                              "names follow committed intervals)");
        return -1;
    }
    if (!p->group)
        p->group = strdup(p->name);
    if (!p->dlq_topic)
        p->dlq_topic = derived(p->name, "-dlq");
    if (!p->changelog_topic)
        p->changelog_topic = derived(p->name, "-changelog");
    if (!p->progress_topic)
        p->progress_topic = derived(p->name, "-progress");
    return 0;
}

void stream_pipeline_init(stream_pipeline *p)
{
    memset(p, 0, sizeof *p);
    p->commit_interval_ms = 100;
    p->transaction_timeout_ms = 60000;
    p->replication_factor = -1;
    p->max_recoveries = 20;
    p->exactly_once = true;
}

int stream_pipeline_parse(const char *text, stream_pipeline *p, char *err, size_t errlen)
{
    stream_pipeline_init(p);
    if (config_parse_string(text, on_kv, p, err, errlen) != 0)
        return -1;
    return stream_pipeline_check(p, err, errlen);
}

int stream_pipeline_load(const char *path, stream_pipeline *p, char *err, size_t errlen)
{
    stream_pipeline_init(p);
    if (config_parse_file(path, on_kv, p, err, errlen) != 0)
        return -1;
    return stream_pipeline_check(p, err, errlen);
}

void stream_pipeline_free(stream_pipeline *p)
{
    for (size_t i = 0; i < sizeof STR_KEYS / sizeof STR_KEYS[0]; i++)
        free(*(char **)((char *)p + STR_KEYS[i].off));
    for (size_t i = 0; i < STREAM_MAX_OPS; i++)
        free(p->ops[i]);
    for (int i = 0; i < p->ntables; i++) {
        free(p->table_names[i]);
        free(p->table_topics[i]);
    }
    for (int i = 0; i < p->nclient; i++) {
        free(p->client_keys[i]);
        free(p->client_values[i]);
    }
    memset(p, 0, sizeof *p);
}
