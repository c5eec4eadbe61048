/*
 * stream/api.c - libbrook-stream's public API (brook_stream.h) over the runtime (run.c).
 *
 * A brook_stream keeps the keys it was given, in order, and builds a fresh stream_pipeline
 * from them for each check and run, so that a pipeline can be checked, run, stopped and run
 * again. Each key is also applied at once to a scratch pipeline, so that a bad key is
 * refused when it is set, not later.
 */
#include "brook_stream.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/config.h"
#include "stream/ops.h"
#include "stream/pipeline.h"
#include "stream/run.h"

#define BS_MAX_FNS 64
#define BS_FN_NAME_MAX 64

typedef struct bs_fn {
    char name[BS_FN_NAME_MAX + 1];
    brook_stream_fn fn;
    void *ctx;
} bs_fn;

struct brook_stream {
    stream_pipeline scratch; /* every key applied as it comes: refuses bad ones early */
    char **keys, **values;   /* the keys given, in order */
    size_t nkv, kcap, vcap;
    size_t nops;             /* op.1 .. op.nops are given */
    bs_fn fns[BS_MAX_FNS];
    int nfns;
    volatile sig_atomic_t stop;
};

struct brook_stream_out {
    st_records *recs;
};

int brook_stream_emit(brook_stream_out *out, const char *key, size_t key_len,
                      const char *value, size_t value_len, int64_t ts_ms)
{
    char *k = NULL, *v = malloc(value_len + 1);
    if (key && !(k = malloc(key_len + 1))) {
        free(v);
        return -1;
    }
    if (!v || !value) {
        free(k);
        free(v);
        return -1;
    }
    memcpy(v, value, value_len);
    v[value_len] = '\0';
    if (k) {
        memcpy(k, key, key_len);
        k[key_len] = '\0';
    }
    return st_records_take(out->recs, k, key ? key_len : 0, v, value_len, ts_ms);
}

/* The topology's call hook: finds the function and hands it the record. */
static int call_fn(void *ctx, const char *name, const st_record *in, st_records *out,
                   char *err, size_t errlen)
{
    const brook_stream *s = ctx;
    for (int i = 0; i < s->nfns; i++) {
        if (strcmp(s->fns[i].name, name) != 0)
            continue;
        brook_stream_record rec = {in->key, in->key_len, in->value, in->value_len, in->ts_ms};
        brook_stream_out o = {out};
        return s->fns[i].fn(s->fns[i].ctx, &rec, &o, err, errlen) == 0 ? 0 : -1;
    }
    snprintf(err, errlen, "no function %s", name);
    return -1;
}

/* Records key=value (copied) after the scratch pipeline took it. */
static int remember(brook_stream *s, const char *key, const char *value, char *err,
                    size_t errlen)
{
    if (stream_pipeline_set(&s->scratch, key, value, err, errlen) != 0)
        return -1;
    char *k = strdup(key), *v = strdup(value);
    char **ks = k && v ? array_grow(s->keys, &s->kcap, s->nkv, sizeof(char *), 16) : NULL;
    if (ks)
        s->keys = ks;
    char **vs = ks ? array_grow(s->values, &s->vcap, s->nkv, sizeof(char *), 16) : NULL;
    if (!vs) {
        free(k);
        free(v);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->values = vs;
    s->keys[s->nkv] = k;
    s->values[s->nkv++] = v;
    if (strncmp(key, "op.", 3) == 0) {
        size_t n = (size_t)strtoul(key + 3, NULL, 10);
        s->nops = n > s->nops ? n : s->nops;
    }
    return 0;
}

static brook_stream *alloc_stream(char *err, size_t errlen)
{
    brook_stream *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    stream_pipeline_init(&s->scratch);
    return s;
}

brook_stream *brook_stream_new(const char *name, char *err, size_t errlen)
{
    if (!name || !stream_pipeline_valid_name(name)) {
        snprintf(err, errlen, "%s", STREAM_NAME_RULE);
        return NULL;
    }
    brook_stream *s = alloc_stream(err, errlen);
    if (s && remember(s, "pipeline.name", name, err, errlen) != 0) {
        brook_stream_free(s);
        return NULL;
    }
    return s;
}

static int on_file_kv(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    return remember(ctx, key, value, err, errlen);
}

brook_stream *brook_stream_load(const char *path, char *err, size_t errlen)
{
    brook_stream *s = alloc_stream(err, errlen);
    if (s && config_parse_file(path, on_file_kv, s, err, errlen) != 0) {
        brook_stream_free(s);
        return NULL;
    }
    return s;
}

int brook_stream_set(brook_stream *s, const char *key, const char *value, char *err,
                     size_t errlen)
{
    if (!key || !value) {
        snprintf(err, errlen, "a key and a value are needed");
        return -1;
    }
    return remember(s, key, value, err, errlen);
}

int brook_stream_op(brook_stream *s, const char *line, char *err, size_t errlen)
{
    char key[32];
    snprintf(key, sizeof key, "op.%zu", s->nops + 1);
    if (!line) {
        snprintf(err, errlen, "%s: no operator line", key);
        return -1;
    }
    return remember(s, key, line, err, errlen);
}

static bool valid_fn_name(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > BS_FN_NAME_MAX || (n[0] >= '0' && n[0] <= '9') || n[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
              (n[i] >= '0' && n[i] <= '9') || n[i] == '_' || n[i] == '-'))
            return false;
    return true;
}

int brook_stream_op_fn(brook_stream *s, const char *name, brook_stream_fn fn, void *ctx,
                       char *err, size_t errlen)
{
    if (!valid_fn_name(name) || !fn) {
        snprintf(err, errlen, "a C operator needs a function and a name of 1 to %d letters, "
                              "digits, '_' or '-' (not starting with a digit or '-')",
                 BS_FN_NAME_MAX);
        return -1;
    }
    int at = 0;
    while (at < s->nfns && strcmp(s->fns[at].name, name) != 0)
        at++;
    if (at == BS_MAX_FNS) {
        snprintf(err, errlen, "at most %d C operators", BS_MAX_FNS);
        return -1;
    }
    if (at < s->nfns && (s->fns[at].fn != fn || s->fns[at].ctx != ctx)) {
        snprintf(err, errlen, "a different function is already called %s", name);
        return -1;
    }
    char line[BS_FN_NAME_MAX + 8];
    snprintf(line, sizeof line, "call %s", name);
    if (brook_stream_op(s, line, err, errlen) != 0)
        return -1;
    if (at == s->nfns) {
        snprintf(s->fns[at].name, sizeof s->fns[at].name, "%s", name);
        s->fns[at].fn = fn;
        s->fns[at].ctx = ctx;
        s->nfns++;
    }
    return 0;
}

static bool table_known(const stream_pipeline *pl, const char *name)
{
    for (int k = 0; k < pl->ntables; k++)
        if (strcmp(pl->table_names[k], name) == 0)
            return true;
    return false;
}

static bool fn_known(const brook_stream *s, const char *name)
{
    for (int k = 0; k < s->nfns; k++)
        if (strcmp(s->fns[k].name, name) == 0)
            return true;
    return false;
}

/* Every join's table declared and every call's function registered. */
static int check_names(const brook_stream *s, const stream_pipeline *pl, const st_topology *t,
                       char *err, size_t errlen)
{
    const char *names[ST_OPS_MAX];
    size_t n = st_topology_tables(t, names, ST_OPS_MAX);
    for (size_t i = 0; i < n && i < ST_OPS_MAX; i++)
        if (!table_known(pl, names[i])) {
            snprintf(err, errlen, "a join uses table %s but table.%s.topic is not given",
                     names[i], names[i]);
            return -1;
        }
    n = st_topology_calls(t, names, ST_OPS_MAX);
    for (size_t i = 0; i < n && i < ST_OPS_MAX; i++)
        if (!fn_known(s, names[i])) {
            snprintf(err, errlen, "a call uses function %s but no C operator of that name is "
                     "registered (brook_stream_op_fn; `brook run` has none)", names[i]);
            return -1;
        }
    return 0;
}

/* A fresh pipeline from the keys, checked with its topology, tables and functions. */
static int build(const brook_stream *s, stream_pipeline *pl, char *err, size_t errlen)
{
    stream_pipeline_init(pl);
    for (size_t i = 0; i < s->nkv; i++)
        if (stream_pipeline_set(pl, s->keys[i], s->values[i], err, errlen) != 0)
            return -1;
    if (stream_pipeline_check(pl, err, errlen) != 0)
        return -1;
    st_topology *t = st_topology_new((const char *const *)pl->ops, pl->nops, err, errlen);
    if (!t)
        return -1;
    int rc = check_names(s, pl, t, err, errlen);
    st_topology_free(t);
    return rc;
}

int brook_stream_check(brook_stream *s, char *err, size_t errlen)
{
    stream_pipeline pl;
    int rc = build(s, &pl, err, errlen);
    stream_pipeline_free(&pl);
    return rc;
}

int brook_stream_run(brook_stream *s, const brook_stream_run_opts *opts)
{
    brook_stream_run_opts none = {0};
    const brook_stream_run_opts *o = opts ? opts : &none;
    stream_pipeline pl;
    char err[512];
    if (build(s, &pl, err, sizeof err) != 0) {
        fprintf(stderr, "brook_stream: %s\n", err);
        stream_pipeline_free(&pl);
        return 2;
    }
    const char *env = getenv("BROOK_BOOTSTRAP");
    if (o->bootstrap || !pl.bootstrap) {
        free(pl.bootstrap);
        pl.bootstrap = strdup(o->bootstrap ? o->bootstrap
                              : env && *env ? env : "127.0.0.1:9092");
    }
    s->stop = 0;
    stream_run_cfg cfg = {.instances = o->instances, .metrics_port = o->metrics_port,
                          .progress_ms = o->progress_ms, .idle_exit_ms = o->exit_when_idle_ms,
                          .call = s->nfns ? call_fn : NULL, .call_ctx = s, .stop = &s->stop};
    if (!pl.bootstrap) {
        fprintf(stderr, "brook_stream: out of memory\n");
        stream_pipeline_free(&pl);
        return 1;
    }
    return stream_run(&pl, &cfg);
}

void brook_stream_stop(brook_stream *s)
{
    s->stop = 1;
}

void brook_stream_free(brook_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nkv; i++) {
        free(s->keys[i]);
        free(s->values[i]);
    }
    free(s->keys);
    free(s->values);
    stream_pipeline_free(&s->scratch);
    free(s);
}
