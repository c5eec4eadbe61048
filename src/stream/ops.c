/*
 * stream/ops.c - see ops.h. The operator lines' parser, the record operators, and the glue
 * to the aggregate state (stream/window.c). A record's aggregate inputs and event time are
 * evaluated before the state is touched, and the state's undo log covers the rest (the
 * operators after the aggregate run on a window's result each time the window changes, so
 * that a result they cannot handle refuses the record that made it), so a refused record
 * changes nothing. Joins read the runtime's tables through st_lookup_fn, and only read.
 */
#include "stream/ops.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/assert.h"
#include "base/buf.h"
#include "stream/expr.h"
#include "stream/window.h"

typedef enum { OP_FILTER, OP_MAP, OP_PROJECT, OP_FLAT_MAP, OP_KEY_BY, OP_JOIN, OP_CALL } op_kind;

static const char *const g_op_names[] = {"filter", "map", "project", "flat_map", "key_by",
                                         "join", "call"};
static const char *const g_agg_names[] = {"count", "sum", "min", "max", "avg"};

typedef struct field {
    char *name;      /* project: the output field */
    sx_expr *target; /* map: the field path set */
    sx_expr *value;
} field;

typedef struct op {
    op_kind kind;
    size_t line; /* 1-based: op.<line> */
    sx_expr *expr; /* filter, flat_map (a path), key_by, join (the key) */
    field *f;      /* map, project */
    size_t nf;
    char *table; /* join: the table, call: the function's name; */
    char *dest;  /* the field set to its value, */
    bool left;   /* and whether a record without a match goes on (its field null) */
} op;

struct st_topology {
    op *ops; /* the record operators, without window and aggregate */
    size_t nops;
    size_t npre; /* ops[0, npre) run before the aggregate, the rest on its results */
    bool has_agg;
    size_t agg_line, window_line;
    sw_spec spec;
    char *agg_name[ST_AGGS_MAX];
    sx_expr *agg_expr[ST_AGGS_MAX]; /* NULL for count */
    sx_expr *time_expr;             /* NULL: the input timestamp */
    sw_store *store;
    st_stats st; /* in, out, dropped_late, filtered */
    size_t first_join; /* 1 + the index in ops of the first join; 0: no join */
    st_lookup_fn lookup; /* the tables the joins read; NULL: none */
    void *lookup_ctx;
    st_call_fn call;     /* the functions of the call lines; NULL: none */
    void *call_ctx;
};

/* ---- records ------------------------------------------------------------------------------ */

void st_records_truncate(st_records *r, size_t n)
{
    BROOK_ASSERT(n <= r->n);
    for (size_t i = n; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].value);
    }
    r->n = n;
}

void st_records_clear(st_records *r)
{
    st_records_truncate(r, 0);
    free(r->v);
    r->v = NULL;
    r->cap = 0;
}

int st_records_take(st_records *r, char *key, size_t key_len, char *value, size_t value_len,
                    int64_t ts_ms)
{
    st_record *v = array_grow(r->v, &r->cap, r->n, sizeof(*v), 16);
    if (!v) {
        free(key);
        free(value);
        return -1;
    }
    r->v = v;
    r->v[r->n++] = (st_record){.key = key, .key_len = key ? key_len : 0, .value = value,
                               .value_len = value ? value_len : 0, .ts_ms = ts_ms};
    return 0;
}


/* ---- parsing the operator lines --------------------------------------------------------- */

typedef struct lp {
    const char *s;
    size_t len, pos, line;
    bool failed;
    char *err;
    size_t errlen;
} lp;

static void lerr(lp *p, bool at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reports "op.N: [position P: ]problem" (the first problem only). */
static void lerr(lp *p, bool at, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    int n = at ? snprintf(p->err, p->errlen, "op.%zu: position %zu: ", p->line, p->pos + 1)
               : snprintf(p->err, p->errlen, "op.%zu: ", p->line);
    if (n < 0 || (size_t)n >= p->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_ws(lp *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\r' || p->s[p->pos] == '\n'))
        p->pos++;
}

static bool ident_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* Length of the word [A-Za-z_][A-Za-z0-9_]* at the cursor (after spaces); 0 if none. */
static size_t word_len(lp *p)
{
    skip_ws(p);
    size_t n = 0;
    while (p->pos + n < p->len && ident_char(p->s[p->pos + n], n == 0))
        n++;
    return n;
}

/* Length of the table (or join field) name [A-Za-z_][A-Za-z0-9_-]* at the cursor (after
 * spaces); 0 if none. */
static size_t table_name_len(lp *p)
{
    skip_ws(p);
    size_t n = 0;
    while (p->pos + n < p->len &&
           (ident_char(p->s[p->pos + n], n == 0) || (n > 0 && p->s[p->pos + n] == '-')))
        n++;
    return n;
}

static bool accept(lp *p, const char *w)
{
    size_t n = word_len(p);
    if (n != strlen(w) || memcmp(p->s + p->pos, w, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static bool accept_ch(lp *p, char c)
{
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return true;
    }
    return false;
}

static bool at_end(lp *p)
{
    skip_ws(p);
    return p->pos >= p->len;
}

/* What is at the cursor, for messages. */
static const char *rest(lp *p, char *buf, size_t n)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return "the end of the line";
    snprintf(buf, n, "'%.20s%s'", p->s + p->pos, p->len - p->pos > 20 ? "..." : "");
    return buf;
}

static sx_expr *expr(lp *p)
{
    if (p->failed)
        return NULL;
    skip_ws(p);
    char e[256];
    size_t end = p->pos;
    sx_expr *x = sx_parse_part(p->s, p->pos, &end, e, sizeof(e));
    if (!x)
        lerr(p, false, "%s", e);
    else
        p->pos = end;
    return x;
}

/* A duration: digits and a unit (ms, s, m, h, d). */
static bool duration(lp *p, const char *what, bool zero_ok, int64_t *ms)
{
    char rb[40];
    skip_ws(p);
    size_t i = p->pos;
    int64_t v = 0;
    while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9' && i - p->pos < 15)
        v = v * 10 + (p->s[i++] - '0');
    size_t u = i;
    while (u < p->len && ident_char(p->s[u], false))
        u++;
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    int64_t mult = 0;
    for (size_t k = 0; k < BROOK_ARRAY_LEN(units); k++)
        if (u - i == strlen(units[k].unit) && memcmp(p->s + i, units[k].unit, u - i) == 0)
            mult = units[k].ms;
    if (i == p->pos || mult == 0) {
        lerr(p, true, "expected a duration for the %s (like 500ms, 10s, 5m, 1h, 1d), found %s",
             what, rest(p, rb, sizeof(rb)));
        return false;
    }
    if (v > ST_DURATION_MAX_MS / mult || (!zero_ok && v == 0)) {
        lerr(p, true, "the %s must be %s366 days", what, zero_ok ? "at most " : "above 0 and "
             "at most ");
        return false;
    }
    *ms = v * mult;
    p->pos = u;
    return true;
}

/* A field path whose segments are all names (so that it can be written). */
static bool writable_path(const sx_expr *e)
{
    size_t n = sx_path_len(e);
    for (size_t i = 0; i < n; i++)
        if (!sx_path_key(e, i))
            return false;
    return n > 0;
}

static bool add_field(lp *p, op *o, char *name, sx_expr *target, sx_expr *value)
{
    if (o->nf == ST_FIELDS_MAX) {
        lerr(p, true, "more than %d fields", ST_FIELDS_MAX);
    } else {
        for (size_t i = 0; name && i < o->nf; i++)
            if (strcmp(o->f[i].name, name) == 0)
                lerr(p, false, "the field '%s' is named twice", name);
    }
    field *f = p->failed ? NULL : realloc(o->f, (o->nf + 1) * sizeof(*f));
    if (!f) {
        lerr(p, false, "out of memory");
        free(name);
        sx_free(target);
        sx_free(value);
        return false;
    }
    o->f = f;
    o->f[o->nf++] = (field){.name = name, .target = target, .value = value};
    return true;
}

/* A table or function name ([A-Za-z_][A-Za-z0-9_-]*) into *out (malloc'd); false (the line
 * failed) when there is none. */
static bool take_name(lp *p, const char *what, char **out)
{
    char rb[40];
    size_t n = table_name_len(p);
    if (n == 0) {
        lerr(p, true, "expected a %s name ([A-Za-z_][A-Za-z0-9_-]*), found %s", what,
             rest(p, rb, sizeof(rb)));
        return false;
    }
    if (!(*out = sw_dup_bytes(p->s + p->pos, n))) {
        lerr(p, false, "out of memory");
        return false;
    }
    p->pos += n;
    return true;
}

/* join <table> on <expr> [as <field>] [left] */
static void parse_join(lp *p, op *o)
{
    char rb[40];
    if (!take_name(p, "table", &o->table))
        return;
    if (!accept(p, "on")) {
        lerr(p, true, "expected on <expression>, found %s", rest(p, rb, sizeof(rb)));
        return;
    }
    if (!(o->expr = expr(p)))
        return;
    const char *dest = o->table;
    size_t n = strlen(o->table);
    if (accept(p, "as")) {
        n = table_name_len(p);
        dest = p->s + p->pos;
        if (n == 0) {
            lerr(p, true, "expected a field name ([A-Za-z_][A-Za-z0-9_-]*) after as, found %s",
                 rest(p, rb, sizeof(rb)));
            return;
        }
        p->pos += n;
    }
    if (!(o->dest = sw_dup_bytes(dest, n))) {
        lerr(p, false, "out of memory");
        return;
    }
    o->left = accept(p, "left");
    if (!at_end(p))
        lerr(p, true, "expected %sthe end of the line, found %s",
             o->left ? "" : dest == o->table ? "as <field>, left or " : "left or ",
             rest(p, rb, sizeof(rb)));
}

/* call <name>: a function the runtime provides (libbrook-stream's brook_stream_op_fn). */
static void parse_call(lp *p, op *o)
{
    take_name(p, "function", &o->table);
}

static void parse_record_op(lp *p, op *o)
{
    char rb[40];
    if (o->kind == OP_JOIN) {
        parse_join(p, o);
        return;
    }
    if (o->kind == OP_CALL) {
        parse_call(p, o);
        return;
    }
    if (o->kind == OP_FILTER || o->kind == OP_KEY_BY) {
        o->expr = expr(p);
        return;
    }
    if (o->kind == OP_FLAT_MAP) {
        skip_ws(p);
        size_t at = p->pos;
        o->expr = expr(p);
        if (o->expr && !writable_path(o->expr)) {
            p->pos = at;
            lerr(p, true, "flat_map takes a field path (names only), like items or a.b");
        }
        return;
    }
    do {
        skip_ws(p);
        size_t at = p->pos;
        sx_expr *lhs = expr(p);
        if (!lhs)
            return;
        if (o->kind == OP_MAP) {
            if (!writable_path(lhs) || !accept_ch(p, '=')) {
                sx_free(lhs);
                p->pos = at;
                lerr(p, true, "map expects <field> = <expression>, found %s",
                     rest(p, rb, sizeof(rb)));
                return;
            }
            if (!add_field(p, o, NULL, lhs, expr(p)))
                return;
        } else if (accept_ch(p, '=')) { /* project: name = expression */
            if (sx_path_len(lhs) != 1 || !sx_path_key(lhs, 0)) {
                sx_free(lhs);
                p->pos = at;
                lerr(p, true, "project expects a name before '='");
                return;
            }
            char *name = sw_dup_bytes(sx_path_key(lhs, 0), strlen(sx_path_key(lhs, 0)));
            sx_free(lhs);
            if (!add_field(p, o, name, NULL, expr(p)))
                return;
        } else { /* project: a field path, named after its last segment */
            size_t n = sx_path_len(lhs);
            const char *last = n ? sx_path_key(lhs, n - 1) : NULL;
            if (!last) {
                sx_free(lhs);
                p->pos = at;
                lerr(p, true, "project takes field paths ending in a name, or name = "
                     "expression");
                return;
            }
            if (!add_field(p, o, sw_dup_bytes(last, strlen(last)), NULL, lhs))
                return;
        }
    } while (!p->failed && accept_ch(p, ','));
}

static void parse_window(lp *p, st_topology *t)
{
    char rb[40];
    sw_spec *sp = &t->spec;
    if (accept(p, "tumbling")) {
        sp->kind = SW_TUMBLING;
        if (!duration(p, "window size", false, &sp->size_ms))
            return;
        sp->advance_ms = sp->size_ms;
    } else if (accept(p, "hopping")) {
        sp->kind = SW_HOPPING;
        if (!duration(p, "window size", false, &sp->size_ms))
            return;
        if (!accept(p, "advance")) {
            lerr(p, true, "expected advance <duration>, found %s", rest(p, rb, sizeof(rb)));
            return;
        }
        if (!duration(p, "advance", false, &sp->advance_ms))
            return;
        if (sp->advance_ms > sp->size_ms) {
            lerr(p, false, "the advance must not exceed the window size");
            return;
        }
        if ((sp->size_ms + sp->advance_ms - 1) / sp->advance_ms > ST_HOP_WINDOWS_MAX) {
            lerr(p, false, "size / advance is above %d windows per record", ST_HOP_WINDOWS_MAX);
            return;
        }
    } else if (accept(p, "session")) {
        sp->kind = SW_SESSION;
        if (!duration(p, "session gap", false, &sp->gap_ms))
            return;
    } else {
        lerr(p, true, "expected tumbling, hopping or session, found %s", rest(p, rb, sizeof(rb)));
        return;
    }
    bool lateness = false;
    while (!p->failed && !at_end(p)) {
        if (!t->time_expr && accept(p, "time")) {
            t->time_expr = expr(p);
        } else if (!lateness && accept(p, "lateness")) {
            lateness = duration(p, "lateness", true, &sp->lateness_ms);
        } else {
            lerr(p, true, "expected time <expression> or lateness <duration> (each at most "
                 "once), found %s", rest(p, rb, sizeof(rb)));
        }
    }
}

static void parse_aggregate(lp *p, st_topology *t)
{
    char rb[40];
    sw_spec *sp = &t->spec;
    do {
        size_t k = 0, n = word_len(p);
        while (k < BROOK_ARRAY_LEN(g_agg_names) &&
               !(n == strlen(g_agg_names[k]) && memcmp(p->s + p->pos, g_agg_names[k], n) == 0))
            k++;
        if (k == BROOK_ARRAY_LEN(g_agg_names)) {
            lerr(p, true, "expected count, sum, min, max or avg, found %s",
                 rest(p, rb, sizeof(rb)));
            return;
        }
        if (sp->naggs == ST_AGGS_MAX) {
            lerr(p, true, "more than %d aggregates", ST_AGGS_MAX);
            return;
        }
        p->pos += n;
        size_t i = sp->naggs++;
        sp->aggs[i] = (sw_agg)k;
        if (k != SW_COUNT && !(t->agg_expr[i] = expr(p)))
            return;
        const char *name = g_agg_names[k];
        size_t name_len = strlen(name);
        if (accept(p, "as")) {
            name_len = word_len(p);
            name = p->s + p->pos;
            if (name_len == 0) {
                lerr(p, true, "expected a name after as, found %s", rest(p, rb, sizeof(rb)));
                return;
            }
            p->pos += name_len;
        }
        if (!(t->agg_name[i] = sw_dup_bytes(name, name_len))) {
            lerr(p, false, "out of memory");
            return;
        }
        if (strcmp(t->agg_name[i], "key") == 0 || strcmp(t->agg_name[i], "window_start") == 0 ||
            strcmp(t->agg_name[i], "window_end") == 0) {
            lerr(p, false, "'%s' is a field of every result; name the aggregate with as",
                 t->agg_name[i]);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->agg_name[j], t->agg_name[i]) == 0) {
                lerr(p, false, "two aggregates named '%s'; name them with as", t->agg_name[i]);
                return;
            }
    } while (accept_ch(p, ','));
}

static void free_op(op *o)
{
    sx_free(o->expr);
    for (size_t i = 0; i < o->nf; i++) {
        free(o->f[i].name);
        sx_free(o->f[i].target);
        sx_free(o->f[i].value);
    }
    free(o->f);
    free(o->table);
    free(o->dest);
}

void st_topology_free(st_topology *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nops; i++)
        free_op(&t->ops[i]);
    free(t->ops);
    for (size_t i = 0; i < ST_AGGS_MAX; i++) {
        free(t->agg_name[i]);
        sx_free(t->agg_expr[i]);
    }
    sx_free(t->time_expr);
    sw_free(t->store);
    free(t);
}

/* Parses line number `line` (1-based) into t. */
static void parse_line(lp *p, st_topology *t, bool *window_open)
{
    char rb[40];
    size_t n = word_len(p);
    const char *w = p->s + p->pos;
    bool is_window = n == 6 && memcmp(w, "window", 6) == 0;
    bool is_agg = n == 9 && memcmp(w, "aggregate", 9) == 0;
    if (*window_open && !is_agg) {
        lerr(p, false, "a window must be followed by aggregate");
        return;
    }
    if (is_window || is_agg) {
        if (t->has_agg || (is_window && *window_open)) {
            lerr(p, false, "only one window and one aggregate, in that order");
            return;
        }
        p->pos += n;
        if (is_window) {
            *window_open = true;
            t->window_line = p->line;
            parse_window(p, t);
        } else {
            *window_open = false;
            t->has_agg = true;
            t->agg_line = p->line;
            t->npre = t->nops;
            parse_aggregate(p, t);
        }
    } else {
        size_t k = 0;
        while (k < BROOK_ARRAY_LEN(g_op_names) &&
               !(n == strlen(g_op_names[k]) && memcmp(w, g_op_names[k], n) == 0))
            k++;
        if (k == BROOK_ARRAY_LEN(g_op_names)) {
            lerr(p, true, "unknown operator %s (filter, map, project, flat_map, key_by, join, "
                 "call, window, aggregate)", rest(p, rb, sizeof(rb)));
            return;
        }
        p->pos += n;
        op *o = &t->ops[t->nops++];
        o->kind = (op_kind)k;
        o->line = p->line;
        parse_record_op(p, o);
        if (o->kind == OP_JOIN && !t->first_join)
            t->first_join = t->nops;
    }
    if (!p->failed && !at_end(p))
        lerr(p, true, "unexpected %s", rest(p, rb, sizeof(rb)));
}

st_topology *st_topology_new(const char *const *ops, size_t nops, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (nops > ST_OPS_MAX) {
        snprintf(err, errlen, "more than %d operators", ST_OPS_MAX);
        return NULL;
    }
    st_topology *t = calloc(1, sizeof(*t));
    if (t)
        t->ops = calloc(nops ? nops : 1, sizeof(op));
    if (!t || !t->ops) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bool window_open = false;
    for (size_t i = 0; i < nops; i++) {
        lp p = {.s = ops[i], .line = i + 1, .err = err, .errlen = errlen};
        p.len = ops[i] ? strnlen(ops[i], SX_TEXT_MAX + 1) : 0;
        if (!ops[i] || p.len > SX_TEXT_MAX)
            lerr(&p, false, "%s", ops[i] ? "longer than 8192 bytes" : "missing");
        else if (at_end(&p))
            lerr(&p, false, "empty operator");
        else
            parse_line(&p, t, &window_open);
        if (p.failed) {
            st_topology_free(t);
            return NULL;
        }
    }
    if (window_open) {
        snprintf(err, errlen, "op.%zu: a window must be followed by aggregate", t->window_line);
        st_topology_free(t);
        return NULL;
    }
    if (!t->has_agg)
        t->npre = t->nops;
    else if (!(t->store = sw_new(&t->spec))) {
        snprintf(err, errlen, "out of memory");
        st_topology_free(t);
        return NULL;
    }
    return t;
}

bool st_topology_windowed(const st_topology *t)
{
    return t->has_agg && t->spec.kind != SW_NONE;
}

void st_topology_set_lookup(st_topology *t, st_lookup_fn fn, void *ctx)
{
    t->lookup = fn;
    t->lookup_ctx = fn ? ctx : NULL;
}

void st_topology_set_call(st_topology *t, st_call_fn fn, void *ctx)
{
    t->call = fn;
    t->call_ctx = fn ? ctx : NULL;
}

/* The distinct names of the lines of one kind (join: tables, call: functions). */
static size_t names_of(const st_topology *t, op_kind kind, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nops; i++) {
        if (t->ops[i].kind != kind)
            continue;
        size_t j = 0;
        while (j < i && !(t->ops[j].kind == kind &&
                          strcmp(t->ops[j].table, t->ops[i].table) == 0))
            j++;
        if (j < i)
            continue; /* named by an earlier line */
        if (n < max)
            names[n] = t->ops[i].table;
        n++;
    }
    return n;
}

size_t st_topology_tables(const st_topology *t, const char **names, size_t max)
{
    return names_of(t, OP_JOIN, names, max);
}

size_t st_topology_calls(const st_topology *t, const char **names, size_t max)
{
    return names_of(t, OP_CALL, names, max);
}

/* ---- the record operators ----------------------------------------------------------------- */

typedef struct frec {
    char *key; /* NULL: no key */
    size_t key_len;
    cJSON *v;
    int64_t ts;
} frec;

typedef struct flist {
    frec *v;
    size_t n, cap;
} flist;

static void frec_free(frec *r)
{
    free(r->key);
    cJSON_Delete(r->v);
    r->key = NULL;
    r->v = NULL;
}

static void flist_free(flist *l)
{
    for (size_t i = 0; i < l->n; i++)
        frec_free(&l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Appends r (taking it, even on failure). */
static int flist_push(flist *l, frec r)
{
    frec *v = array_grow(l->v, &l->cap, l->n, sizeof(*v), 4);
    if (!v) {
        frec_free(&r);
        return -1;
    }
    l->v = v;
    l->v[l->n++] = r;
    return 0;
}

/* Sets the field at path (names only) in obj to val (taken), creating objects on the way. */
static int set_path(cJSON *obj, const sx_expr *path, cJSON *val, char *err, size_t errlen)
{
    size_t n = sx_path_len(path);
    cJSON *cur = obj;
    for (size_t i = 0; i + 1 < n; i++) {
        const char *k = sx_path_key(path, i);
        cJSON *child = cJSON_GetObjectItemCaseSensitive(cur, k);
        if (child && !cJSON_IsNull(child) && !cJSON_IsObject(child)) {
            snprintf(err, errlen, "the field '%.60s' is a %s, not an object", k,
                     sx_type_name(child));
            cJSON_Delete(val);
            return -1;
        }
        if (!child || cJSON_IsNull(child)) {
            cJSON *o = cJSON_CreateObject();
            bool ok = o && (child ? cJSON_ReplaceItemInObjectCaseSensitive(cur, k, o)
                                  : cJSON_AddItemToObject(cur, k, o));
            if (!ok) {
                cJSON_Delete(o);
                cJSON_Delete(val);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            child = o;
        }
        cur = child;
    }
    const char *k = sx_path_key(path, n - 1);
    bool ok = cJSON_GetObjectItemCaseSensitive(cur, k)
                  ? cJSON_ReplaceItemInObjectCaseSensitive(cur, k, val)
                  : cJSON_AddItemToObject(cur, k, val);
    if (!ok) {
        cJSON_Delete(val);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* str() of a value, as a record key. */
static char *key_text(const cJSON *v, size_t *len)
{
    char *s;
    if (cJSON_IsString(v)) {
        *len = strlen(v->valuestring);
        s = sw_dup_bytes(v->valuestring, *len);
    } else {
        s = sx_print(v, len); /* numbers, true, false, null, arrays, objects */
    }
    return s;
}

/* Joins the record rec with o's table: 1 when it goes on (its field set), 0 when it is
 * dropped (an inner join without a match), -1 with e on error. */
static int join(const st_topology *t, const op *o, cJSON *rec, char *e, size_t elen)
{
    if (!t->lookup) {
        snprintf(e, elen, "no table %s", o->table);
        return -1;
    }
    if (!cJSON_IsObject(rec)) {
        snprintf(e, elen, "the record is not an object (%s)", sx_type_name(rec));
        return -1;
    }
    cJSON *k = sx_eval(o->expr, rec, e, elen);
    if (!k)
        return -1;
    cJSON *val = NULL;
    bool oom = false;
    if (!cJSON_IsNull(k)) { /* a null key matches nothing */
        size_t klen = 0, vlen = 0;
        char *key = key_text(k, &klen);
        const char *v = key ? t->lookup(t->lookup_ctx, o->table, key, klen, &vlen) : NULL;
        oom = !key;
        free(key);
        if (v) {
            char pe[64];
            val = sx_json_parse(v, vlen, pe, sizeof(pe));
            if (!val) { /* not JSON: the text, as a string (up to a NUL byte, if any) */
                char *text = sw_dup_bytes(v, vlen);
                val = text ? cJSON_CreateString(text) : NULL;
                free(text);
                oom = !val;
            }
        }
    }
    cJSON_Delete(k);
    if (!oom && !val && !o->left)
        return 0;
    if (!oom && !val)
        oom = !(val = cJSON_CreateNull());
    if (!oom)
        oom = !(cJSON_GetObjectItemCaseSensitive(rec, o->dest)
                    ? cJSON_ReplaceItemInObjectCaseSensitive(rec, o->dest, val)
                    : cJSON_AddItemToObject(rec, o->dest, val));
    if (oom) {
        cJSON_Delete(val);
        snprintf(e, elen, "out of memory");
        return -1;
    }
    return 1;
}

/* Runs o's function on r (borrowed) and appends its records, parsed, to next: the number
 * appended, or -1 with e (the function's error, a record that is not JSON, out of memory);
 * on -1 nothing is appended. */
static int call(const st_topology *t, const op *o, const frec *r, flist *next, char *e,
                size_t elen)
{
    if (!t->call) {
        snprintf(e, elen, "no function %s", o->table);
        return -1;
    }
    size_t vlen = 0;
    char *value = sx_print(r->v, &vlen);
    if (!value) {
        snprintf(e, elen, "out of memory");
        return -1;
    }
    st_record in = {.key = r->key, .key_len = r->key_len, .value = value, .value_len = vlen,
                    .ts_ms = r->ts};
    st_records got = {0};
    int rc = t->call(t->call_ctx, o->table, &in, &got, e, elen);
    free(value);
    size_t mark = next->n;
    for (size_t i = 0; rc == 0 && i < got.n; i++) {
        st_record *g = &got.v[i];
        if (next->n >= ST_FANOUT_MAX) {
            snprintf(e, elen, "more than %d records from one input", ST_FANOUT_MAX);
            rc = -1;
            break;
        }
        frec c = {.key = g->key, .key_len = g->key ? g->key_len : 0, .ts = g->ts_ms};
        if (!g->value) {
            snprintf(e, elen, "record %zu has no value", i + 1);
            rc = -1;
        } else if (!(c.v = sx_json_parse(g->value, g->value_len, e, elen))) {
            rc = -1;
        } else {
            g->key = NULL; /* the key goes with c: next's, or freed by a failed push */
            if (flist_push(next, c) < 0) {
                snprintf(e, elen, "out of memory");
                rc = -1;
            }
        }
    }
    if (rc < 0) {
        if (!e[0])
            snprintf(e, elen, "failed");
        while (next->n > mark)
            frec_free(&next->v[--next->n]);
    }
    st_records_clear(&got);
    return rc < 0 ? -1 : (int)(next->n - mark);
}

static int push(flist *next, frec r, char *err, size_t errlen)
{
    if (flist_push(next, r) == 0)
        return 0;
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Applies o (one of t's) to r (taken, whatever happens), appending what comes out to
 * next. */
static int apply(const st_topology *t, const op *o, frec r, flist *next, uint64_t *filtered,
                 char *err, size_t errlen)
{
    char e[256];
    e[0] = '\0';
    int rc = 0;
    cJSON *v = NULL;
    switch (o->kind) {
    case OP_FILTER: {
        bool keep = false;
        rc = sx_test(o->expr, r.v, &keep, e, sizeof(e));
        if (rc == 0 && keep)
            return push(next, r, err, errlen);
        if (rc == 0)
            (*filtered)++;
        break;
    }
    case OP_MAP:
        if (!cJSON_IsObject(r.v)) {
            snprintf(e, sizeof(e), "the record is not an object (%s)", sx_type_name(r.v));
            rc = -1;
            break;
        }
        for (size_t i = 0; rc == 0 && i < o->nf; i++) {
            v = sx_eval(o->f[i].value, r.v, e, sizeof(e));
            rc = v ? set_path(r.v, o->f[i].target, v, e, sizeof(e)) : -1;
        }
        if (rc == 0)
            return push(next, r, err, errlen);
        break;
    case OP_PROJECT: {
        cJSON *out = cJSON_CreateObject();
        if (!out) {
            snprintf(e, sizeof(e), "out of memory");
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < o->nf; i++) {
            v = sx_eval(o->f[i].value, r.v, e, sizeof(e));
            if (!v || !cJSON_AddItemToObject(out, o->f[i].name, v)) {
                cJSON_Delete(v);
                rc = -1;
            }
        }
        if (rc == 0) {
            cJSON_Delete(r.v);
            r.v = out;
            return push(next, r, err, errlen);
        }
        cJSON_Delete(out);
        break;
    }
    case OP_FLAT_MAP:
        v = sx_eval(o->expr, r.v, e, sizeof(e));
        if (!v) {
            rc = -1;
        } else if (cJSON_IsArray(v)) {
            for (const cJSON *el = v->child; rc == 0 && el; el = el->next) {
                if (next->n >= ST_FANOUT_MAX) {
                    snprintf(e, sizeof(e), "more than %d records from one input", ST_FANOUT_MAX);
                    rc = -1;
                    break;
                }
                frec c = {.key = r.key ? sw_dup_bytes(r.key, r.key_len) : NULL,
                          .key_len = r.key_len, .v = cJSON_Duplicate(r.v, true), .ts = r.ts};
                cJSON *item = cJSON_Duplicate(el, true);
                if (!c.v || !item || (r.key && !c.key)) {
                    cJSON_Delete(item);
                    frec_free(&c);
                    snprintf(e, sizeof(e), "out of memory");
                    rc = -1;
                } else if (set_path(c.v, o->expr, item, e, sizeof(e)) < 0) {
                    frec_free(&c);
                    rc = -1;
                } else if (flist_push(next, c) < 0) {
                    snprintf(e, sizeof(e), "out of memory");
                    rc = -1;
                }
            }
        } else if (!cJSON_IsNull(v)) {
            snprintf(e, sizeof(e), "the field is a %s, not an array", sx_type_name(v));
            rc = -1;
        }
        cJSON_Delete(v);
        break;
    case OP_KEY_BY:
        v = sx_eval(o->expr, r.v, e, sizeof(e));
        if (v) {
            size_t n = 0;
            char *k = key_text(v, &n);
            cJSON_Delete(v);
            if (!k) {
                snprintf(e, sizeof(e), "out of memory");
                rc = -1;
                break;
            }
            free(r.key);
            r.key = k;
            r.key_len = n;
            return push(next, r, err, errlen);
        }
        rc = -1;
        break;
    case OP_JOIN:
        rc = join(t, o, r.v, e, sizeof(e));
        if (rc == 1)
            return push(next, r, err, errlen);
        if (rc == 0)
            (*filtered)++;
        break;
    case OP_CALL:
        rc = call(t, o, &r, next, e, sizeof(e));
        if (rc == 0)
            (*filtered)++;
        rc = rc < 0 ? -1 : 0;
        break;
    }
    frec_free(&r);
    if (rc < 0)
        snprintf(err, errlen, "op.%zu (%s): %s", o->line, g_op_names[o->kind], e);
    return rc;
}

/* Runs ops[from, to) over the records of l, replacing them with what comes out. */
static int run_ops(st_topology *t, size_t from, size_t to, flist *l, uint64_t *filtered,
                   char *err, size_t errlen)
{
    for (size_t i = from; i < to && l->n > 0; i++) {
        flist next = {0};
        int rc = 0;
        size_t j = 0;
        for (; rc == 0 && j < l->n; j++) {
            rc = apply(t, &t->ops[i], l->v[j], &next, filtered, err, errlen);
            l->v[j].key = NULL;
            l->v[j].v = NULL;
        }
        flist_free(l); /* the ones taken are NULL now */
        *l = next;
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Appends l's records to out as outputs (the values in canonical JSON). */
static int emit(flist *l, st_records *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        size_t vlen = 0;
        char *value = sx_print(l->v[i].v, &vlen);
        char *key = l->v[i].key;
        l->v[i].key = NULL;
        if (!value || st_records_take(out, key, l->v[i].key_len, value, vlen, l->v[i].ts) < 0) {
            if (!value)
                free(key);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* ---- the aggregate ------------------------------------------------------------------------ */

typedef struct actx {
    st_topology *t;
    const frec *r;     /* the record being aggregated */
    st_records *out;
    char *err;
    size_t errlen;
} actx;

/* A window's (or running aggregate's) result object. */
static cJSON *result(const st_topology *t, const sw_view *w)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "key", w->key);
    if (ok && t->spec.kind != SW_NONE)
        ok = cJSON_AddNumberToObject(o, "window_start", (double)w->start_ms) &&
             cJSON_AddNumberToObject(o, "window_end", (double)w->end_ms);
    for (size_t i = 0; ok && i < t->spec.naggs; i++) {
        double v;
        ok = sw_result(&t->spec, w->acc, i, &v) ? cJSON_AddNumberToObject(o, t->agg_name[i], v)
                                                 != NULL
                                               : cJSON_AddNullToObject(o, t->agg_name[i]) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Runs the operators after the aggregate on w's result; appends the outputs to out unless
 * out is NULL (a check only). */
static int finish(actx *c, const sw_view *w, int64_t ts, st_records *out, uint64_t *filtered)
{
    st_topology *t = c->t;
    frec r = {.v = result(t, w), .ts = ts};
    if (t->spec.kind == SW_NONE) {
        r.key = sw_dup_bytes(w->key, w->key_len);
        r.key_len = w->key_len;
    } else {
        char num[24];
        int n = snprintf(num, sizeof(num), "@%" PRId64, w->start_ms);
        r.key_len = w->key_len + (size_t)n;
        if ((r.key = malloc(r.key_len + 1)) != NULL) {
            memcpy(r.key, w->key, w->key_len);
            memcpy(r.key + w->key_len, num, (size_t)n + 1);
        }
    }
    flist l = {0};
    if (!r.v || !r.key) {
        frec_free(&r);
        snprintf(c->err, c->errlen, "out of memory");
        return -1;
    }
    if (flist_push(&l, r) < 0) {
        snprintf(c->err, c->errlen, "out of memory");
        return -1;
    }
    int rc = run_ops(t, t->npre, t->nops, &l, filtered, c->err, c->errlen);
    if (rc == 0 && out)
        rc = emit(&l, out, c->err, c->errlen);
    flist_free(&l);
    return rc;
}

/* sw_add's callback: a window the record changed. */
static int on_touched(void *ctx, const sw_view *w)
{
    actx *c = ctx;
    uint64_t ignored = 0;
    if (c->t->spec.kind == SW_NONE)
        return finish(c, w, c->r->ts, c->out, &c->t->st.filtered);
    /* A window's result is emitted when the window closes, possibly on another record's
     * watch; check now that the operators after the aggregate take it, so that a result
     * they refuse refuses the record that made it. */
    if (c->t->npre == c->t->nops)
        return 0;
    return finish(c, w, w->end_ms - 1, NULL, &ignored);
}

/* sw_close's callback: a window now final. */
static int on_final(void *ctx, const sw_view *w)
{
    actx *c = ctx;
    char e[8];
    actx quiet = *c;
    quiet.err = e;
    quiet.errlen = sizeof(e);
    size_t mark = c->out->n;
    /* The check at each change makes a refusal here impossible for results this topology
     * made, unless a join after the aggregate now reads a table value the operators after it
     * refuse; such a result, or one restored from another pipeline version's changelog, is
     * dropped, counted. */
    if (finish(&quiet, w, w->end_ms - 1, c->out, &c->t->st.filtered) < 0) {
        st_records_truncate(c->out, mark);
        c->t->st.filtered++;
    }
    return 0;
}

static int agg_record(st_topology *t, const frec *r, st_records *out, char *err, size_t errlen)
{
    char e[256];
    const char *gk = r->key ? r->key : "";
    size_t gkl = r->key ? r->key_len : 0;
    if (gkl && memchr(gk, '\0', gkl)) {
        snprintf(err, errlen, "op.%zu (aggregate): the key has a NUL byte", t->agg_line);
        return -1;
    }
    sw_in in[ST_AGGS_MAX];
    memset(in, 0, sizeof(in));
    for (size_t i = 0; i < t->spec.naggs; i++) {
        if (!t->agg_expr[i])
            continue;
        cJSON *v = sx_eval(t->agg_expr[i], r->v, e, sizeof(e));
        if (!v) {
            snprintf(err, errlen, "op.%zu (aggregate): %s", t->agg_line, e);
            return -1;
        }
        bool ok = cJSON_IsNull(v) || (cJSON_IsNumber(v) && isfinite(v->valuedouble));
        in[i].present = cJSON_IsNumber(v);
        in[i].v = in[i].present ? v->valuedouble : 0;
        if (!ok)
            snprintf(err, errlen, "op.%zu (aggregate): %s of a %s (it takes numbers)",
                     t->agg_line, g_agg_names[t->spec.aggs[i]], sx_type_name(v));
        cJSON_Delete(v);
        if (!ok)
            return -1;
    }
    int64_t ts = r->ts;
    if (t->spec.kind != SW_NONE && t->time_expr) {
        cJSON *v = sx_eval(t->time_expr, r->v, e, sizeof(e));
        if (!v) {
            snprintf(err, errlen, "op.%zu (window): %s", t->window_line, e);
            return -1;
        }
        char num[32];
        bool ok = cJSON_IsNumber(v) && fabs(v->valuedouble) <= SX_EXACT_INT_MAX;
        if (ok)
            ts = (int64_t)floor(v->valuedouble);
        else if (cJSON_IsNumber(v))
            snprintf(err, errlen, "op.%zu (window): the event time %s is beyond 2^53 ms",
                     t->window_line, (sx_format_number(v->valuedouble, num, sizeof(num)), num));
        else
            snprintf(err, errlen, "op.%zu (window): the event time is a %s, not a number of "
                     "milliseconds", t->window_line, sx_type_name(v));
        cJSON_Delete(v);
        if (!ok)
            return -1;
    }
    const int64_t lim = (int64_t)1 << 53; /* so that window bounds never overflow */
    if (t->spec.kind != SW_NONE && (ts > lim || ts < -lim)) {
        snprintf(err, errlen, "op.%zu (window): the event time %" PRId64 " is beyond 2^53 ms",
                 t->window_line, ts);
        return -1;
    }
    actx c = {.t = t, .r = r, .out = out, .err = err, .errlen = errlen};
    e[0] = '\0'; /* stays empty when a callback fails: its message is in err already */
    int rc = sw_add(t->store, gk, gkl, ts, in, on_touched, &c, e, sizeof(e));
    if (rc == 1) {
        t->st.dropped_late++;
        return 0;
    }
    if (rc == 0)
        rc = sw_close(t->store, on_final, &c, e, sizeof(e));
    if (rc < 0 && e[0])
        snprintf(err, errlen, "op.%zu (aggregate): %s", t->agg_line, e);
    return rc;
}

/* ---- the API ------------------------------------------------------------------------------ */

int st_process(st_topology *t, const char *key, size_t key_len, const char *json,
               size_t json_len, int64_t ts_ms, st_records *out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    t->st.in++;
    if (t->first_join && !t->lookup) {
        const op *o = &t->ops[t->first_join - 1];
        snprintf(err, errlen, "op.%zu (join): no table %s", o->line, o->table);
        return -1;
    }
    if (!json) {
        t->st.filtered++;
        return 0;
    }
    st_stats snap = t->st;
    size_t mark = out->n;
    frec r = {.key = key ? sw_dup_bytes(key, key_len) : NULL, .key_len = key ? key_len : 0,
              .ts = ts_ms};
    if (key && !r.key) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(r.v = sx_json_parse(json, json_len, err, errlen))) {
        free(r.key);
        return -1;
    }
    flist l = {0};
    if (flist_push(&l, r) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (t->has_agg)
        sw_begin(t->store);
    int rc = run_ops(t, 0, t->npre, &l, &t->st.filtered, err, errlen);
    if (rc == 0 && !t->has_agg)
        rc = emit(&l, out, err, errlen);
    for (size_t i = 0; rc == 0 && t->has_agg && i < l.n; i++) {
        if (err && errlen)
            err[0] = '\0';
        rc = agg_record(t, &l.v[i], out, err, errlen);
        if (rc < 0 && err && errlen && !err[0])
            snprintf(err, errlen, "op.%zu (aggregate): out of memory", t->agg_line);
    }
    flist_free(&l);
    if (rc < 0) {
        if (t->has_agg)
            sw_rollback(t->store);
        st_records_truncate(out, mark);
        t->st = snap; /* the record is counted in `in`, nowhere else */
        return -1;
    }
    if (t->has_agg)
        sw_commit(t->store);
    t->st.out += out->n - mark;
    return 0;
}

int st_drain_changelog(st_topology *t, st_records *out)
{
    return t->has_agg ? sw_drain(t->store, out) : 0;
}

int st_restore(st_topology *t, const char *key, size_t key_len, const char *value,
               size_t value_len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!t->has_agg) {
        snprintf(err, errlen, "this pipeline keeps no state (it has no aggregate)");
        return -1;
    }
    return sw_restore(t->store, key, key_len, value, value_len, err, errlen);
}

void st_reset(st_topology *t)
{
    if (t->has_agg)
        sw_reset(t->store);
}

void st_stats_get(const st_topology *t, st_stats *s)
{
    *s = t->st;
    s->state_entries = t->has_agg ? sw_entries(t->store) : 0;
    s->watermark_ms = t->has_agg ? sw_watermark(t->store) : INT64_MIN;
}
