/*
 * stream/tables.c - in-memory tables (uthash) for stream-table joins.
 */
#include "stream/tables.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "base/assert.h"

typedef struct entry {
    UT_hash_handle hh;
    char *value;
    size_t value_len;
    size_t key_len;
    char key[]; /* key_len bytes */
} entry;

typedef struct table {
    char *name;
    entry *map;
    size_t n;
} table;

struct stream_tables {
    table t[STREAM_MAX_TABLES];
    int n;
};

stream_tables *stream_tables_new(void)
{
    return calloc(1, sizeof(stream_tables));
}

void stream_tables_free(stream_tables *ts)
{
    if (!ts)
        return;
    for (int i = 0; i < ts->n; i++) {
        entry *e, *tmp;
        HASH_ITER(hh, ts->t[i].map, e, tmp) {
            HASH_DEL(ts->t[i].map, e);
            free(e->value);
            free(e);
        }
        free(ts->t[i].name);
    }
    free(ts);
}

int stream_tables_add(stream_tables *ts, const char *name)
{
    if (ts->n == STREAM_MAX_TABLES)
        return -1;
    char *copy = strdup(name);
    if (!copy)
        return -1;
    ts->t[ts->n].name = copy;
    return ts->n++;
}

int stream_tables_find(const stream_tables *ts, const char *name)
{
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].name, name) == 0)
            return i;
    return -1;
}

int stream_tables_put(stream_tables *ts, int idx, const void *key, size_t key_len,
                      const void *value, size_t value_len)
{
    BROOK_ASSERT(idx >= 0 && idx < ts->n);
    table *t = &ts->t[idx];
    entry *e;
    HASH_FIND(hh, t->map, key, key_len, e);
    if (!value) {
        if (e) {
            HASH_DEL(t->map, e);
            free(e->value);
            free(e);
            t->n--;
        }
        return 0;
    }
    char *v = malloc(value_len + 1);
    if (!v)
        return -1;
    memcpy(v, value, value_len);
    v[value_len] = 0;
    if (!e) {
        e = malloc(sizeof *e + key_len);
        if (!e) {
            free(v);
            return -1;
        }
        e->key_len = key_len;
        memcpy(e->key, key, key_len);
        e->value = NULL;
        HASH_ADD(hh, t->map, key, key_len, e);
        t->n++;
    }
    free(e->value);
    e->value = v;
    e->value_len = value_len;
    return 0;
}

const char *stream_tables_lookup(void *ctx, const char *table_name, const char *key,
                                 size_t key_len, size_t *value_len)
{
    stream_tables *ts = ctx;
    int i = stream_tables_find(ts, table_name);
    if (i < 0)
        return NULL;
    entry *e;
    HASH_FIND(hh, ts->t[i].map, key, key_len, e);
    if (!e)
        return NULL;
    *value_len = e->value_len;
    return e->value;
}

size_t stream_tables_size(const stream_tables *ts, int idx)
{
    BROOK_ASSERT(idx >= 0 && idx < ts->n);
    return ts->t[idx].n;
}
