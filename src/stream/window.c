/*
 * stream/window.c - see window.h.
 *
 * Which windows are final comes from a min-heap of (end, key, start) entries. An entry is
 * pushed whenever a window is created or its end moves (a session growing); an entry that
 * no longer matches a live window exactly is stale and skipped when it reaches the top, so
 * a window always has a matching entry and is emitted once, in the defined order.
 *
 * The undo log saves a group (a full copy, ready to put back) before the first change to it
 * in a record, keeps the heap entries popped in the record, and notes the keys it made
 * dirty; a rollback puts all of that back without allocating (the heap keeps room for the
 * popped entries), so a refused record cannot half-change the state.
 */
#include "stream/window.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uthash.h>

#include "base/assert.h"
#include "stream/expr.h"

typedef struct win {
    int64_t start, end;
} win;

typedef struct group {
    char *key; /* key_len bytes and a NUL */
    size_t key_len;
    win *w;      /* sorted by start (sessions: disjoint, so by end too) */
    sw_acc *acc; /* spec.naggs per window, in the order of w */
    size_t n, cap;
    uint64_t stamp; /* the record (undo generation) that last saved this group */
    UT_hash_handle hh;
} group;

typedef struct hent {
    int64_t end, start;
    char *key;
    size_t key_len;
} hent;

typedef struct dirty {
    char *ckey;
    size_t len;
    UT_hash_handle hh;
} dirty;

typedef struct saved {
    char *key;    /* the group's key */
    size_t key_len;
    group *copy;  /* the group as it was; NULL: it did not exist */
} saved;

struct sw_store {
    sw_spec spec;
    group *groups;
    hent *heap;
    size_t nheap, capheap;
    dirty *dirty;
    bool has_max;
    int64_t max_ms; /* the largest event time seen */
    uint64_t nwin;
    /* The undo log of the record in progress. */
    bool active;
    uint64_t stamp;
    saved *sv;
    size_t nsv, capsv;
    hent *popped;
    size_t npopped, cappopped;
    dirty **added;
    size_t nadded, capadded;
    bool u_has_max;
    int64_t u_max_ms;
    uint64_t u_nwin;
};

/* ---- small pieces ---------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

char *sw_dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void free_group(group *g)
{
    if (!g)
        return;
    free(g->key);
    free(g->w);
    free(g->acc);
    free(g);
}

static group *find_group(const sw_store *s, const char *key, size_t len)
{
    group *g;
    HASH_FIND(hh, s->groups, key, len, g);
    return g;
}

static void drop_group(sw_store *s, group *g)
{
    HASH_DEL(s->groups, g);
    free_group(g);
}

static group *copy_group(const sw_store *s, const group *g)
{
    size_t na = s->spec.naggs;
    group *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->key = sw_dup_bytes(g->key, g->key_len);
    c->key_len = g->key_len;
    c->n = c->cap = g->n;
    c->w = malloc((g->n ? g->n : 1) * sizeof(win));
    c->acc = malloc((g->n ? g->n : 1) * na * sizeof(sw_acc));
    if (!c->key || !c->w || !c->acc) {
        free_group(c);
        return NULL;
    }
    if (g->n) {
        memcpy(c->w, g->w, g->n * sizeof(win));
        memcpy(c->acc, g->acc, g->n * na * sizeof(sw_acc));
    }
    return c;
}

/* Before the first change to a group (or its creation: g NULL) in a record: save it. */
static int save(sw_store *s, const char *key, size_t len, group *g)
{
    if (!s->active || (g && g->stamp == s->stamp))
        return 0;
    if (grow((void **)&s->sv, &s->capsv, s->nsv + 1, sizeof(saved)) < 0)
        return -1;
    saved v = {.key = sw_dup_bytes(key, len), .key_len = len};
    if (!v.key)
        return -1;
    if (g && !(v.copy = copy_group(s, g))) {
        free(v.key);
        return -1;
    }
    s->sv[s->nsv++] = v;
    if (g)
        g->stamp = s->stamp;
    return 0;
}

/* The group of key, created when missing, saved in the undo log either way; NULL when out
 * of memory. */
static group *get_group(sw_store *s, const char *key, size_t len)
{
    group *g = find_group(s, key, len);
    if (g)
        return save(s, key, len, g) < 0 ? NULL : g;
    if (save(s, key, len, NULL) < 0)
        return NULL;
    g = calloc(1, sizeof(*g));
    if (!g || !(g->key = sw_dup_bytes(key, len))) {
        free(g);
        return NULL;
    }
    g->key_len = len;
    g->stamp = s->active ? s->stamp : 0;
    HASH_ADD_KEYPTR(hh, s->groups, g->key, len, g);
    return g;
}

/* Index of the window starting at start, or -1; *pos: where it would be inserted. */
static long win_find(const group *g, int64_t start, size_t *pos)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->w[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return lo < g->n && g->w[lo].start == start ? (long)lo : -1;
}

/* Inserts a window with empty accumulators; its index, or -1 when out of memory. */
static long win_insert(sw_store *s, group *g, int64_t start, int64_t end)
{
    size_t na = s->spec.naggs, pos;
    BROOK_ASSERT(win_find(g, start, &pos) < 0);
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 2;
        win *w = realloc(g->w, cap * sizeof(win));
        if (!w)
            return -1;
        g->w = w;
        sw_acc *a = realloc(g->acc, cap * na * sizeof(sw_acc));
        if (!a)
            return -1;
        g->acc = a;
        g->cap = cap;
    }
    memmove(g->w + pos + 1, g->w + pos, (g->n - pos) * sizeof(win));
    memmove(g->acc + (pos + 1) * na, g->acc + pos * na, (g->n - pos) * na * sizeof(sw_acc));
    g->w[pos].start = start;
    g->w[pos].end = end;
    memset(g->acc + pos * na, 0, na * sizeof(sw_acc));
    g->n++;
    s->nwin++;
    return (long)pos;
}

static void win_remove(sw_store *s, group *g, size_t i)
{
    size_t na = s->spec.naggs;
    BROOK_ASSERT(i < g->n);
    memmove(g->w + i, g->w + i + 1, (g->n - i - 1) * sizeof(win));
    memmove(g->acc + i * na, g->acc + (i + 1) * na, (g->n - i - 1) * na * sizeof(sw_acc));
    g->n--;
    BROOK_ASSERT(s->nwin > 0);
    s->nwin--;
}

/* ---- accumulators ---------------------------------------------------------------------- */

static int acc_check(const sw_spec *sp, const sw_acc *a, char *err, size_t errlen)
{
    for (size_t i = 0; i < sp->naggs; i++)
        if (!isfinite(a[i].a) || !isfinite(a[i].b)) {
            snprintf(err, errlen, "aggregate %zu overflows", i + 1);
            return -1;
        }
    return 0;
}

/* Adds one record's inputs to acc (naggs); on overflow, acc is unchanged and -1. */
static int acc_add(const sw_spec *sp, sw_acc *acc, const sw_in *in, char *err, size_t errlen)
{
    sw_acc t[ST_AGGS_MAX];
    memcpy(t, acc, sp->naggs * sizeof(sw_acc));
    for (size_t i = 0; i < sp->naggs; i++) {
        if (sp->aggs[i] == SW_COUNT) {
            t[i].a += 1;
            continue;
        }
        if (!in[i].present)
            continue; /* a null input: skipped, as in SQL */
        double v = in[i].v;
        switch (sp->aggs[i]) {
        case SW_SUM: t[i].a += v; break;
        case SW_MIN:
            if (!t[i].has || v < t[i].a)
                t[i].a = v;
            t[i].has = true;
            break;
        case SW_MAX:
            if (!t[i].has || v > t[i].a)
                t[i].a = v;
            t[i].has = true;
            break;
        default:
            BROOK_ASSERT(sp->aggs[i] == SW_AVG);
            t[i].a += v;
            t[i].b += 1;
            break;
        }
    }
    if (acc_check(sp, t, err, errlen) < 0)
        return -1;
    memcpy(acc, t, sp->naggs * sizeof(sw_acc));
    return 0;
}

/* Merges src into dst (sessions joining). */
static void acc_merge(const sw_spec *sp, sw_acc *dst, const sw_acc *src)
{
    for (size_t i = 0; i < sp->naggs; i++) {
        switch (sp->aggs[i]) {
        case SW_MIN:
            if (src[i].has && (!dst[i].has || src[i].a < dst[i].a))
                dst[i] = src[i];
            break;
        case SW_MAX:
            if (src[i].has && (!dst[i].has || src[i].a > dst[i].a))
                dst[i] = src[i];
            break;
        default: /* count, sum, avg */
            dst[i].a += src[i].a;
            dst[i].b += src[i].b;
            break;
        }
    }
}

bool sw_result(const sw_spec *sp, const sw_acc *acc, size_t i, double *out)
{
    BROOK_ASSERT(i < sp->naggs);
    switch (sp->aggs[i]) {
    case SW_COUNT:
    case SW_SUM: *out = acc[i].a; return true;
    case SW_MIN:
    case SW_MAX: *out = acc[i].a; return acc[i].has;
    default:
        if (acc[i].b == 0)
            return false;
        *out = acc[i].a / acc[i].b;
        return true;
    }
}

/* ---- the close-order heap ---------------------------------------------------------------- */

static bool hent_less(const hent *x, const hent *y)
{
    if (x->end != y->end)
        return x->end < y->end;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c != 0)
        return c < 0;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len;
    return x->start < y->start;
}

/* Puts e (owning its key) on the heap; the room must be there. */
static void heap_put(sw_store *s, hent e)
{
    BROOK_ASSERT(s->nheap < s->capheap);
    size_t i = s->nheap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!hent_less(&e, &s->heap[up]))
            break;
        s->heap[i] = s->heap[up];
        i = up;
    }
    s->heap[i] = e;
}

/* Pushes (end, key, start), keeping room for the entries popped in this record. */
static int heap_push(sw_store *s, int64_t end, const char *key, size_t len, int64_t start)
{
    size_t need = s->nheap + 1 + (s->active ? s->npopped : 0);
    if (grow((void **)&s->heap, &s->capheap, need, sizeof(hent)) < 0)
        return -1;
    hent e = {.end = end, .start = start, .key = sw_dup_bytes(key, len), .key_len = len};
    if (!e.key)
        return -1;
    heap_put(s, e);
    return 0;
}

static hent heap_pop(sw_store *s)
{
    BROOK_ASSERT(s->nheap > 0);
    hent top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l >= s->nheap)
            break;
        m = l + 1 < s->nheap && hent_less(&s->heap[l + 1], &s->heap[l]) ? l + 1 : l;
        if (!hent_less(&s->heap[m], &last))
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->nheap > 0)
        s->heap[i] = last;
    return top;
}

/* ---- the dirty set and changelog keys ----------------------------------------------------- */

static char prefix_of(sw_kind k)
{
    return k == SW_NONE ? 'a' : k == SW_SESSION ? 's' : 'w';
}

/* The changelog key of a window: malloc'd, its length in *len. */
static char *ckey_make(const sw_store *s, const char *key, size_t len, int64_t start,
                       size_t *out_len)
{
    char num[24];
    int nn = s->spec.kind == SW_NONE ? 0 : snprintf(num, sizeof(num), "|%" PRId64, start);
    char *c = malloc(2 + len + (size_t)nn + 1);
    if (!c)
        return NULL;
    c[0] = prefix_of(s->spec.kind);
    c[1] = '|';
    if (len)
        memcpy(c + 2, key, len);
    memcpy(c + 2 + len, num, (size_t)nn);
    c[2 + len + (size_t)nn] = '\0';
    *out_len = 2 + len + (size_t)nn;
    return c;
}

static bool is_watermark_key(const char *k, size_t n)
{
    return n == strlen(ST_WATERMARK_KEY) && memcmp(k, ST_WATERMARK_KEY, n) == 0;
}

/* Splits a changelog key of this store's kind into group key and start; false if it is not
 * one. */
static bool ckey_parse(const sw_store *s, const char *k, size_t n, const char **gk,
                       size_t *gklen, int64_t *start)
{
    if (n < 2 || k[0] != prefix_of(s->spec.kind) || k[1] != '|')
        return false;
    *gk = k + 2;
    if (s->spec.kind == SW_NONE) {
        *gklen = n - 2;
        *start = 0;
        return true;
    }
    size_t i = n;
    while (i > 2 && k[i - 1] != '|')
        i--;
    if (i == 2)
        return false; /* no '|' before the start */
    *gklen = i - 1 - 2;
    size_t dn = n - i;
    char num[24];
    if (dn == 0 || dn >= sizeof(num))
        return false;
    memcpy(num, k + i, dn);
    num[dn] = '\0';
    for (size_t j = 0; j < dn; j++)
        if (!(num[j] >= '0' && num[j] <= '9') && !(j == 0 && num[j] == '-' && dn > 1))
            return false;
    errno = 0;
    long long v = strtoll(num, NULL, 10);
    if (errno == ERANGE)
        return false;
    *start = (int64_t)v;
    return true;
}

/* Marks a changelog key dirty, taking ownership of ckey. */
static int mark_ckey(sw_store *s, char *ckey, size_t len)
{
    dirty *d;
    HASH_FIND(hh, s->dirty, ckey, len, d);
    if (d) {
        free(ckey);
        return 0;
    }
    if (s->active && grow((void **)&s->added, &s->capadded, s->nadded + 1, sizeof(dirty *)) < 0) {
        free(ckey);
        return -1;
    }
    if (!(d = calloc(1, sizeof(*d)))) {
        free(ckey);
        return -1;
    }
    d->ckey = ckey;
    d->len = len;
    HASH_ADD_KEYPTR(hh, s->dirty, d->ckey, len, d);
    if (s->active)
        s->added[s->nadded++] = d;
    return 0;
}

static int mark_window(sw_store *s, const group *g, int64_t start)
{
    size_t n;
    char *c = ckey_make(s, g->key, g->key_len, start, &n);
    return c ? mark_ckey(s, c, n) : -1;
}

/* ---- the store ---------------------------------------------------------------------------- */

sw_store *sw_new(const sw_spec *spec)
{
    BROOK_ASSERT(spec->naggs >= 1 && spec->naggs <= ST_AGGS_MAX);
    sw_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->spec = *spec;
    if (s->spec.kind == SW_TUMBLING)
        s->spec.advance_ms = s->spec.size_ms;
    return s;
}

static void undo_clear(sw_store *s)
{
    for (size_t i = 0; i < s->nsv; i++) {
        free(s->sv[i].key);
        free_group(s->sv[i].copy);
    }
    for (size_t i = 0; i < s->npopped; i++)
        free(s->popped[i].key);
    s->nsv = s->npopped = s->nadded = 0;
    s->active = false;
}

void sw_reset(sw_store *s)
{
    undo_clear(s);
    group *g, *tmp;
    HASH_ITER(hh, s->groups, g, tmp) {
        drop_group(s, g);
    }
    dirty *d, *dt;
    HASH_ITER(hh, s->dirty, d, dt) {
        HASH_DEL(s->dirty, d);
        free(d->ckey);
        free(d);
    }
    for (size_t i = 0; i < s->nheap; i++)
        free(s->heap[i].key);
    s->nheap = 0;
    s->has_max = false;
    s->max_ms = 0;
    s->nwin = 0;
}

void sw_free(sw_store *s)
{
    if (!s)
        return;
    sw_reset(s);
    free(s->heap);
    free(s->sv);
    free(s->popped);
    free(s->added);
    free(s);
}

void sw_begin(sw_store *s)
{
    BROOK_ASSERT(!s->active);
    s->active = true;
    s->stamp++;
    s->u_has_max = s->has_max;
    s->u_max_ms = s->max_ms;
    s->u_nwin = s->nwin;
}

void sw_commit(sw_store *s)
{
    BROOK_ASSERT(s->active);
    undo_clear(s);
}

void sw_rollback(sw_store *s)
{
    BROOK_ASSERT(s->active);
    for (size_t i = s->nsv; i-- > 0;) {
        saved *v = &s->sv[i];
        group *g = find_group(s, v->key, v->key_len);
        if (g)
            drop_group(s, g);
        if (v->copy) {
            HASH_ADD_KEYPTR(hh, s->groups, v->copy->key, v->copy->key_len, v->copy);
            v->copy = NULL;
        }
    }
    for (size_t i = 0; i < s->npopped; i++) {
        heap_put(s, s->popped[i]); /* room kept by heap_push */
        s->popped[i].key = NULL;
    }
    for (size_t i = 0; i < s->nadded; i++) {
        HASH_DEL(s->dirty, s->added[i]);
        free(s->added[i]->ckey);
        free(s->added[i]);
    }
    s->has_max = s->u_has_max;
    s->max_ms = s->u_max_ms;
    s->nwin = s->u_nwin;
    undo_clear(s);
}

int64_t sw_watermark(const sw_store *s)
{
    if (s->spec.kind == SW_NONE || !s->has_max)
        return INT64_MIN;
    return s->max_ms - s->spec.lateness_ms;
}

uint64_t sw_entries(const sw_store *s)
{
    return s->nwin + (s->spec.kind != SW_NONE && s->has_max ? 1 : 0);
}

static int call(sw_fn fn, void *ctx, const sw_store *s, const group *g, size_t i)
{
    if (!fn)
        return 0;
    sw_view v = {.key = g->key, .key_len = g->key_len, .start_ms = g->w[i].start,
                 .end_ms = g->w[i].end, .acc = g->acc + i * s->spec.naggs};
    return fn(ctx, &v);
}

/* A session record: joins every open session of the key it is within the gap of (start -
 * gap < t < end), which is at most the one before and the one after it. */
static int add_session(sw_store *s, group *g, int64_t t, const sw_in *in, sw_fn touched,
                       void *ctx, char *err, size_t errlen)
{
    const sw_spec *sp = &s->spec;
    size_t lo = 0, hi;
    while (lo < g->n && g->w[lo].end <= t)
        lo++;
    for (hi = lo; hi < g->n && g->w[hi].start - sp->gap_ms < t; hi++)
        ;
    sw_acc acc[ST_AGGS_MAX];
    memset(acc, 0, sizeof(acc));
    int64_t start = t, end = t + sp->gap_ms;
    for (size_t i = lo; i < hi; i++) {
        acc_merge(sp, acc, g->acc + i * sp->naggs);
        start = g->w[i].start < start ? g->w[i].start : start;
        end = g->w[i].end > end ? g->w[i].end : end;
    }
    if (acc_check(sp, acc, err, errlen) < 0 || acc_add(sp, acc, in, err, errlen) < 0)
        return -1;
    for (size_t i = lo; i < hi; i++)
        if (mark_window(s, g, g->w[i].start) < 0)
            return oom(err, errlen);
    for (size_t i = hi; i-- > lo;)
        win_remove(s, g, i);
    long idx = win_insert(s, g, start, end);
    if (idx < 0 || mark_window(s, g, start) < 0 || heap_push(s, end, g->key, g->key_len, start))
        return oom(err, errlen);
    memcpy(g->acc + (size_t)idx * sp->naggs, acc, sp->naggs * sizeof(sw_acc));
    return call(touched, ctx, s, g, (size_t)idx);
}

int sw_add(sw_store *s, const char *key, size_t key_len, int64_t t, const sw_in *in,
           sw_fn touched, void *ctx, char *err, size_t errlen)
{
    BROOK_ASSERT(s->active);
    const sw_spec *sp = &s->spec;
    if (sp->kind == SW_NONE) {
        group *g = get_group(s, key, key_len);
        if (!g || (g->n == 0 && win_insert(s, g, 0, 0) < 0))
            return oom(err, errlen);
        if (acc_add(sp, g->acc, in, err, errlen) < 0)
            return -1;
        if (mark_window(s, g, 0) < 0)
            return oom(err, errlen);
        return call(touched, ctx, s, g, 0);
    }
    int64_t max = s->has_max && s->max_ms > t ? s->max_ms : t;
    int64_t wm = max - sp->lateness_ms;
    int64_t last = 0;
    if (sp->kind == SW_SESSION) {
        if (t + sp->gap_ms <= wm)
            return 1;
    } else {
        last = floor_div(t, sp->advance_ms) * sp->advance_ms;
        if (last + sp->size_ms <= wm)
            return 1; /* every window of the record is final already */
    }
    if (!s->has_max || max != s->max_ms) {
        char *c = sw_dup_bytes(ST_WATERMARK_KEY, strlen(ST_WATERMARK_KEY));
        if (!c || mark_ckey(s, c, strlen(ST_WATERMARK_KEY)) < 0)
            return oom(err, errlen);
        s->has_max = true;
        s->max_ms = max;
    }
    group *g = get_group(s, key, key_len);
    if (!g)
        return oom(err, errlen);
    if (sp->kind == SW_SESSION)
        return add_session(s, g, t, in, touched, ctx, err, errlen);
    /* Windows [st, st + size) with st a multiple of advance, from the first that holds t. */
    int64_t first = floor_div(t - sp->size_ms, sp->advance_ms) * sp->advance_ms + sp->advance_ms;
    for (int64_t st = first; st <= last; st += sp->advance_ms) {
        if (st + sp->size_ms <= wm)
            continue; /* final: this record is late for it */
        long idx = win_find(g, st, NULL);
        if (idx < 0) {
            idx = win_insert(s, g, st, st + sp->size_ms);
            if (idx < 0 || heap_push(s, st + sp->size_ms, g->key, g->key_len, st) < 0)
                return oom(err, errlen);
        }
        if (acc_add(sp, g->acc + (size_t)idx * sp->naggs, in, err, errlen) < 0)
            return -1;
        if (mark_window(s, g, st) < 0)
            return oom(err, errlen);
        if (call(touched, ctx, s, g, (size_t)idx) < 0)
            return -1;
    }
    return 0;
}

int sw_close(sw_store *s, sw_fn final, void *ctx, char *err, size_t errlen)
{
    BROOK_ASSERT(s->active);
    if (s->spec.kind == SW_NONE || !s->has_max)
        return 0;
    int64_t wm = s->max_ms - s->spec.lateness_ms;
    while (s->nheap > 0 && s->heap[0].end <= wm) {
        const hent *top = &s->heap[0];
        group *g = find_group(s, top->key, top->key_len);
        long idx = g ? win_find(g, top->start, NULL) : -1;
        bool live = idx >= 0 && g->w[idx].end == top->end;
        if (live && save(s, g->key, g->key_len, g) < 0)
            return oom(err, errlen);
        if (grow((void **)&s->popped, &s->cappopped, s->npopped + 1, sizeof(hent)) < 0)
            return oom(err, errlen);
        s->popped[s->npopped++] = heap_pop(s); /* kept until commit: a rollback re-pushes */
        if (!live)
            continue; /* stale: the window is gone or its end moved */
        if (call(final, ctx, s, g, (size_t)idx) < 0)
            return -1;
        if (mark_window(s, g, g->w[idx].start) < 0)
            return oom(err, errlen);
        win_remove(s, g, (size_t)idx);
        if (g->n == 0)
            drop_group(s, g);
    }
    return 0;
}

/* ---- changelog -------------------------------------------------------------------------- */

static int dirty_cmp(const void *a, const void *b)
{
    const dirty *x = *(dirty *const *)a, *y = *(dirty *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ckey, y->ckey, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The changelog value of a window (malloc'd JSON text), or NULL when out of memory. */
static char *window_value(const sw_store *s, const group *g, size_t i, size_t *len)
{
    const sw_spec *sp = &s->spec;
    const sw_acc *acc = g->acc + i * sp->naggs;
    cJSON *o = cJSON_CreateObject(), *aggs = cJSON_CreateArray();
    bool ok = o && aggs;
    if (ok && sp->kind != SW_NONE)
        ok = cJSON_AddNumberToObject(o, "end", (double)g->w[i].end) != NULL;
    for (size_t k = 0; ok && k < sp->naggs; k++) {
        cJSON *v;
        if (sp->aggs[k] == SW_AVG) {
            double pair[2] = {acc[k].a, acc[k].b};
            v = cJSON_CreateDoubleArray(pair, 2);
        } else if ((sp->aggs[k] == SW_MIN || sp->aggs[k] == SW_MAX) && !acc[k].has) {
            v = cJSON_CreateNull();
        } else {
            v = cJSON_CreateNumber(acc[k].a);
        }
        ok = v && cJSON_AddItemToArray(aggs, v);
        if (!ok)
            cJSON_Delete(v);
    }
    if (ok) {
        ok = cJSON_AddItemToObject(o, "aggs", aggs);
        if (ok)
            aggs = NULL;
    }
    char *text = ok ? sx_print(o, len) : NULL;
    cJSON_Delete(aggs);
    cJSON_Delete(o);
    return text;
}

/* The changelog record of one dirty key, appended to out. */
static int drain_one(const sw_store *s, const dirty *d, st_records *out)
{
    char *value = NULL;
    size_t vlen = 0;
    if (is_watermark_key(d->ckey, d->len)) {
        if (s->has_max) {
            char num[32];
            sx_format_number((double)s->max_ms, num, sizeof(num));
            char buf[64];
            int n = snprintf(buf, sizeof(buf), "{\"max_event_ms\":%s}", num);
            value = sw_dup_bytes(buf, (size_t)n);
            vlen = (size_t)n;
            if (!value)
                return -1;
        }
    } else {
        const char *gk;
        size_t gklen;
        int64_t start;
        bool ours = ckey_parse(s, d->ckey, d->len, &gk, &gklen, &start);
        BROOK_ASSERT(ours); /* only this store's keys are ever marked dirty */
        const group *g = find_group(s, gk, gklen);
        long idx = g ? win_find(g, start, NULL) : -1;
        if (idx >= 0 && !(value = window_value(s, g, (size_t)idx, &vlen)))
            return -1;
    }
    char *key = sw_dup_bytes(d->ckey, d->len);
    if (!key) {
        free(value);
        return -1;
    }
    return st_records_take(out, key, d->len, value, vlen, 0);
}

int sw_drain(sw_store *s, st_records *out)
{
    BROOK_ASSERT(!s->active);
    size_t n = HASH_COUNT(s->dirty), i = 0, mark = out->n;
    if (n == 0)
        return 0;
    dirty **v = malloc(n * sizeof(*v)), *d, *tmp;
    if (!v)
        return -1;
    HASH_ITER(hh, s->dirty, d, tmp) {
        v[i++] = d;
    }
    qsort(v, n, sizeof(*v), dirty_cmp);
    for (i = 0; i < n; i++) {
        if (drain_one(s, v[i], out) < 0) {
            st_records_truncate(out, mark);
            free(v);
            return -1;
        }
    }
    for (i = 0; i < n; i++) {
        HASH_DEL(s->dirty, v[i]);
        free(v[i]->ckey);
        free(v[i]);
    }
    free(v);
    return (int)n;
}

/* An integral JSON number within +-2^53. */
static bool get_int(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        floor(v->valuedouble) != v->valuedouble || fabs(v->valuedouble) > SX_EXACT_INT_MAX)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

static bool get_num(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

/* Reads {"end":..,"aggs":[..]} into *end and acc; false when it does not fit the spec. */
static bool read_window(const sw_store *s, const cJSON *o, int64_t start, int64_t *end,
                        sw_acc *acc)
{
    const sw_spec *sp = &s->spec;
    const cJSON *aggs = cJSON_GetObjectItemCaseSensitive(o, "aggs");
    if (!cJSON_IsArray(aggs) || (size_t)cJSON_GetArraySize(aggs) != sp->naggs)
        return false;
    *end = 0;
    if (sp->kind != SW_NONE) {
        if (!get_int(cJSON_GetObjectItemCaseSensitive(o, "end"), end))
            return false;
        if (sp->kind == SW_SESSION ? *end - start < sp->gap_ms
                                   : *end != start + sp->size_ms ||
                                         floor_div(start, sp->advance_ms) * sp->advance_ms != start)
            return false;
    }
    size_t k = 0;
    for (const cJSON *v = aggs->child; v; v = v->next, k++) {
        int64_t cnt;
        memset(&acc[k], 0, sizeof(acc[k]));
        switch (sp->aggs[k]) {
        case SW_COUNT:
            if (!get_int(v, &cnt) || cnt < 0)
                return false;
            acc[k].a = (double)cnt;
            break;
        case SW_SUM:
            if (!get_num(v, &acc[k].a))
                return false;
            break;
        case SW_MIN:
        case SW_MAX:
            if (!cJSON_IsNull(v) && !get_num(v, &acc[k].a))
                return false;
            acc[k].has = !cJSON_IsNull(v);
            break;
        default:
            if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
                !get_num(v->child, &acc[k].a) || !get_int(v->child->next, &cnt) || cnt < 0)
                return false;
            acc[k].b = (double)cnt;
            break;
        }
    }
    return true;
}

int sw_restore(sw_store *s, const char *key, size_t key_len, const char *value,
               size_t value_len, char *err, size_t errlen)
{
    BROOK_ASSERT(!s->active);
    char shown[64];
    snprintf(shown, sizeof(shown), "%.*s", (int)(key_len < 40 ? key_len : 40), key ? key : "");
    if (key && is_watermark_key(key, key_len) && s->spec.kind != SW_NONE) {
        if (!value) {
            s->has_max = false;
            return 0;
        }
        cJSON *o = sx_json_parse(value, value_len, err, errlen);
        int64_t m;
        bool ok = o && get_int(cJSON_GetObjectItemCaseSensitive(o, "max_event_ms"), &m);
        cJSON_Delete(o);
        if (!ok) {
            snprintf(err, errlen, "changelog %s: not {\"max_event_ms\":<ms>}", ST_WATERMARK_KEY);
            return -1;
        }
        s->has_max = true;
        s->max_ms = m;
        return 0;
    }
    const char *gk;
    size_t gklen;
    int64_t start;
    if (!key || !ckey_parse(s, key, key_len, &gk, &gklen, &start)) {
        snprintf(err, errlen, "changelog key '%s' is not one of this pipeline's (%c|...)", shown,
                 prefix_of(s->spec.kind));
        return -1;
    }
    group *g = find_group(s, gk, gklen);
    long idx = g ? win_find(g, start, NULL) : -1;
    if (!value) {
        if (idx >= 0) {
            win_remove(s, g, (size_t)idx);
            if (g->n == 0)
                drop_group(s, g);
        }
        return 0;
    }
    sw_acc acc[ST_AGGS_MAX];
    int64_t end;
    cJSON *o = sx_json_parse(value, value_len, err, errlen);
    bool ok = o && read_window(s, o, start, &end, acc);
    cJSON_Delete(o);
    if (!ok) {
        snprintf(err, errlen, "changelog entry '%s' does not fit this pipeline's aggregate or "
                 "window", shown);
        return -1;
    }
    if (!g && !(g = get_group(s, gk, gklen)))
        return oom(err, errlen);
    if (idx < 0 && (idx = win_insert(s, g, start, end)) < 0)
        return oom(err, errlen);
    g->w[idx].end = end;
    memcpy(g->acc + (size_t)idx * s->spec.naggs, acc, s->spec.naggs * sizeof(sw_acc));
    if (s->spec.kind != SW_NONE && heap_push(s, end, g->key, g->key_len, start) < 0)
        return oom(err, errlen);
    return 0;
}
