/* fetch_session.c - see fetch_session.h. */
#include "broker/fetch_session.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "base/assert.h"
#include "base/limits.h"
#include "proto/errors.h"

/* One partition of a session. key: 'I' + topic id, or 'N' + name, then the index (4
 * bytes): partitions are named by id in sessions opened by id (v13+), by name below. */
typedef struct fs_part {
    UT_hash_handle hh;
    uint8_t *key;
    size_t keylen;
    char *name; /* NUL-terminated copy; NULL: an id no topic has */
    int32_t name_len;
    uint8_t id[TOPIC_ID_LEN];
    int32_t index, current_leader_epoch, last_fetched_epoch, max_bytes;
    int64_t fetch_offset, log_start_offset;
    int64_t sent_hw, sent_lso, sent_start; /* what the last answer said; -2: never sent */
} fs_part;

typedef struct fs_session {
    UT_hash_handle hh;
    int32_t id;
    int32_t epoch; /* the next one expected */
    bool follower, by_id;
    int64_t last_used_ms;
    fs_part *parts; /* uthash: iteration is join order */
} fs_session;

struct fsess_cache {
    fs_session *sessions;
    int32_t max_slots;
    int64_t evict_ms;
    uint32_t rng;
    uint64_t evictions;
};

fsess_cache *fsess_cache_new(int32_t max_slots, int64_t evict_ms)
{
    fsess_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->max_slots = max_slots;
    c->evict_ms = evict_ms;
    c->rng = 0x9e3779b9u;
    return c;
}

static void part_free(fs_part *p)
{
    free(p->key);
    free(p->name);
    free(p);
}

static void session_free(fsess_cache *c, fs_session *s)
{
    fs_part *p, *tmp;
    HASH_ITER(hh, s->parts, p, tmp) {
        HASH_DEL(s->parts, p);
        part_free(p);
    }
    HASH_DEL(c->sessions, s);
    free(s);
}

void fsess_cache_free(fsess_cache *c)
{
    if (!c)
        return;
    fs_session *s, *tmp;
    HASH_ITER(hh, c->sessions, s, tmp)
        session_free(c, s);
    free(c);
}

size_t fsess_cache_count(const fsess_cache *c) { return HASH_COUNT(c->sessions); }
uint64_t fsess_cache_evictions(const fsess_cache *c) { return c->evictions; }

static fs_session *session_find(fsess_cache *c, int32_t id)
{
    fs_session *s = NULL;
    if (id != 0)
        HASH_FIND(hh, c->sessions, &id, sizeof(id), s);
    return s;
}

/* Writes the key of (topic, index) into buf (cap bytes); returns its length, or 0 when it
 * does not fit. */
static size_t part_key_into(bool by_id, const fetch_topic *t, int32_t index, uint8_t *buf,
                            size_t cap)
{
    size_t nlen = by_id ? TOPIC_ID_LEN : (size_t)(t->name.len > 0 ? t->name.len : 0);
    if (1 + nlen + 4 > cap)
        return 0;
    buf[0] = by_id ? 'I' : 'N';
    memcpy(buf + 1, by_id ? t->id : t->name.p, nlen);
    memcpy(buf + 1 + nlen, &index, 4);
    return 1 + nlen + 4;
}

/* The key of (topic, index) in a session (malloc'd). */
static uint8_t *part_key(bool by_id, const fetch_topic *t, int32_t index, size_t *len_out)
{
    size_t cap = 1 + (size_t)(t->name.len > 0 ? t->name.len : 0) + TOPIC_ID_LEN + 4;
    uint8_t *k = malloc(cap);
    if (k && !(*len_out = part_key_into(by_id, t, index, k, cap))) {
        free(k);
        k = NULL;
    }
    return k;
}

/* Looked up once per partition per fetch: the key is built on the stack (topic names are
 * at most 249 bytes), on the heap only past that. */
static fs_part *part_find(fs_session *s, const fetch_topic *t, int32_t index)
{
    uint8_t stack[512];
    size_t len = part_key_into(s->by_id, t, index, stack, sizeof(stack));
    uint8_t *k = len ? stack : part_key(s->by_id, t, index, &len);
    fs_part *p = NULL;
    if (k)
        HASH_FIND(hh, s->parts, k, len, p);
    if (k != stack)
        free(k);
    return p;
}

/* Adds (topic, fp) to the session or updates its position and limits. -1: out of memory.
 * A name longer than any topic's is not kept (the fetch answers it UNKNOWN_TOPIC_OR_PARTITION
 * all the same): a session keeps two copies of each name, and 5000 partitions of one
 * 30,000-byte name in a 150 KB request used to hold 288 MB until evicted (an adversarial
 * hunt, session 37). */
static int part_upsert(fs_session *s, const fetch_topic *t, const fetch_part *fp)
{
    if (t->name.len > BROOK_TOPIC_NAME_MAX)
        return 0;
    fs_part *p = part_find(s, t, fp->index);
    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p || !(p->key = part_key(s->by_id, t, fp->index, &p->keylen))) {
            free(p);
            return -1;
        }
        p->name_len = t->name.len;
        if (t->name.len >= 0) {
            p->name = malloc((size_t)t->name.len + 1);
            if (!p->name) {
                part_free(p);
                return -1;
            }
            memcpy(p->name, t->name.p, (size_t)t->name.len);
            p->name[t->name.len] = 0;
        }
        memcpy(p->id, t->id, TOPIC_ID_LEN);
        p->index = fp->index;
        p->sent_hw = p->sent_lso = p->sent_start = -2;
        HASH_ADD_KEYPTR(hh, s->parts, p->key, p->keylen, p);
    }
    p->current_leader_epoch = fp->current_leader_epoch;
    p->last_fetched_epoch = fp->last_fetched_epoch;
    p->max_bytes = fp->partition_max_bytes;
    p->fetch_offset = fp->fetch_offset;
    p->log_start_offset = fp->log_start_offset;
    return 0;
}

/* Removes the request's forgotten partitions from the session. */
static void parts_forget(fs_session *s, const fetch_req *q)
{
    for (int32_t i = 0; i < q->nforgotten; i++) {
        const fetch_forgotten *f = &q->forgotten[i];
        fetch_topic t = {.name = f->name};
        memcpy(t.id, f->id, TOPIC_ID_LEN);
        for (int32_t k = 0; k < f->nparts; k++) {
            fs_part *p = part_find(s, &t, f->parts[k]);
            if (p) {
                HASH_DEL(s->parts, p);
                part_free(p);
            }
        }
    }
}

/* Makes room for one more session: the least recently used one goes if it has been idle
 * for evict_ms, or if the newcomer is a follower and it is not. */
static bool cache_make_room(fsess_cache *c, bool follower, int64_t now_ms)
{
    if (c->max_slots <= 0)
        return false;
    if (HASH_COUNT(c->sessions) < (unsigned)c->max_slots)
        return true;
    fs_session *lru = NULL, *s, *tmp;
    HASH_ITER(hh, c->sessions, s, tmp) {
        if (!lru || s->last_used_ms < lru->last_used_ms)
            lru = s;
    }
    if (!lru || (now_ms - lru->last_used_ms < c->evict_ms && !(follower && !lru->follower)))
        return false;
    session_free(c, lru);
    c->evictions++;
    return true;
}

/* A fresh nonzero session id nobody has. */
static int32_t cache_new_id(fsess_cache *c, int64_t now_ms)
{
    for (int tries = 0; tries < 64; tries++) {
        c->rng ^= (uint32_t)now_ms + (uint32_t)tries;
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 17;
        c->rng ^= c->rng << 5;
        int32_t id = (int32_t)(c->rng & 0x7fffffff);
        if (id != 0 && !session_find(c, id))
            return id;
    }
    return 0;
}

/* A new session holding q's partitions, or NULL (no room, or out of memory: *oom). */
static fs_session *session_open(fsess_cache *c, const fetch_req *q, bool follower,
                                int64_t now_ms, bool *oom)
{
    *oom = false;
    if (!cache_make_room(c, follower, now_ms))
        return NULL;
    int32_t id = cache_new_id(c, now_ms);
    fs_session *s = id ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        *oom = id != 0;
        return NULL;
    }
    s->id = id;
    s->epoch = 1;
    s->follower = follower;
    s->by_id = q->by_id;
    s->last_used_ms = now_ms;
    HASH_ADD(hh, c->sessions, id, sizeof(s->id), s);
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++)
            if (part_upsert(s, &q->topics[i], &q->topics[i].parts[k]) != 0) {
                session_free(c, s);
                *oom = true;
                return NULL;
            }
    return s;
}

/* Orders a session's partitions by topic key, then index (groups each topic's). */
static int part_cmp(const void *x, const void *y)
{
    const fs_part *p = *(const fs_part *const *)x, *q = *(const fs_part *const *)y;
    size_t n = p->keylen < q->keylen ? p->keylen : q->keylen;
    int c = memcmp(p->key, q->key, n - 4);
    if (c != 0 || p->keylen != q->keylen)
        return c != 0 ? c : (p->keylen < q->keylen ? -1 : 1);
    return p->index < q->index ? -1 : p->index > q->index;
}

/* A request partition at s's values for p, the response fields at their defaults. */
static void part_to_request(const fs_part *p, fetch_part *fp)
{
    memset(fp, 0, sizeof(*fp));
    fp->index = p->index;
    fp->current_leader_epoch = p->current_leader_epoch;
    fp->fetch_offset = p->fetch_offset;
    fp->last_fetched_epoch = p->last_fetched_epoch;
    fp->log_start_offset = p->log_start_offset;
    fp->partition_max_bytes = p->max_bytes;
    fp->naborted = -1;
    fp->records = KSLICE_NULL;
    fp->high_watermark = fp->last_stable_offset = fp->resp_log_start_offset = -1;
    fp->diverging_epoch = (fetch_epoch_end){-1, -1};
    fp->current_leader = (fetch_leader){-1, -1};
}

/* q->topics := every partition of s, grouped by topic (allocated in a, names copied: the
 * session may go while the fetch waits). -1: out of memory. */
static int session_to_request(const fs_session *s, fetch_req *q, arena *a)
{
    size_t n = HASH_COUNT(s->parts), cap = n ? n : 1;
    fetch_topic *topics = arena_alloc(a, sizeof(*topics) * cap);
    fetch_part *parts = arena_alloc(a, sizeof(*parts) * cap);
    const fs_part **order = arena_alloc(a, sizeof(*order) * cap);
    if (!topics || !parts || !order)
        return -1;
    size_t i = 0, nt = 0;
    for (const fs_part *p = s->parts; p; p = p->hh.next)
        order[i++] = p;
    qsort(order, n, sizeof(*order), part_cmp);
    for (i = 0; i < n; i++) {
        const fs_part *p = order[i];
        const fs_part *prev = i > 0 ? order[i - 1] : NULL;
        if (!prev || prev->keylen != p->keylen ||
            memcmp(prev->key, p->key, p->keylen - 4) != 0) { /* a new topic */
            fetch_topic *t = &topics[nt++];
            memset(t, 0, sizeof(*t));
            t->name = KSLICE_NULL;
            if (p->name) {
                char *name = arena_strndup(a, p->name, (size_t)p->name_len);
                if (!name)
                    return -1;
                t->name = (kslice){(const uint8_t *)name, p->name_len};
            }
            memcpy(t->id, p->id, TOPIC_ID_LEN);
            t->parts = &parts[i];
        }
        part_to_request(p, &parts[i]);
        topics[nt - 1].nparts++;
    }
    q->topics = topics;
    q->ntopics = (int32_t)nt;
    return 0;
}

/* Answers an error: nothing fetched, no session. */
static int begin_error(fetch_req *q, int16_t err)
{
    q->ntopics = 0;
    q->resp_session_id = 0;
    return err;
}

int fsess_begin(fsess_cache *c, fetch_req *q, bool follower, int64_t now_ms, arena *a,
                bool *incremental)
{
    *incremental = false;
    q->resp_session_id = 0;
    if (q->session_epoch == -1 || q->session_epoch == 0) { /* full */
        fs_session *old = session_find(c, q->session_id);
        if (old)
            session_free(c, old);
        if (q->nforgotten > 0)
            return begin_error(q, KERR_INVALID_REQUEST);
        if (q->session_epoch == 0) {
            bool oom;
            fs_session *s = session_open(c, q, follower, now_ms, &oom);
            if (oom)
                return -1;
            q->resp_session_id = s ? s->id : 0;
        }
        return KERR_NONE;
    }
    fs_session *s = session_find(c, q->session_id);
    if (!s)
        return begin_error(q, KERR_FETCH_SESSION_ID_NOT_FOUND);
    if (q->session_epoch != s->epoch)
        return begin_error(q, KERR_INVALID_FETCH_SESSION_EPOCH);
    if (q->by_id != s->by_id)
        return begin_error(q, KERR_FETCH_SESSION_TOPIC_ID_ERROR);
    for (int32_t i = 0; i < q->ntopics; i++)
        for (int32_t k = 0; k < q->topics[i].nparts; k++)
            if (part_upsert(s, &q->topics[i], &q->topics[i].parts[k]) != 0)
                return -1;
    parts_forget(s, q);
    if (session_to_request(s, q, a) != 0)
        return -1;
    s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
    s->last_used_ms = now_ms;
    q->resp_session_id = s->id;
    *incremental = true;
    return KERR_NONE;
}

/* Whether an incremental answer must carry the partition: something in it is new. */
static bool part_changed(const fs_part *p, const fetch_part *fp)
{
    return fp->records.len > 0 || fp->error_code != KERR_NONE ||
           fp->high_watermark != p->sent_hw || fp->last_stable_offset != p->sent_lso ||
           fp->resp_log_start_offset != p->sent_start || fp->diverging_epoch.epoch >= 0 ||
           fp->current_leader.leader_id >= 0 || fp->naborted > 0;
}

void fsess_end(fsess_cache *c, fetch_req *q, bool incremental)
{
    fs_session *s = session_find(c, q->resp_session_id);
    if (!s)
        return;
    int32_t nt = 0;
    for (int32_t i = 0; i < q->ntopics; i++) {
        fetch_topic *t = &q->topics[i];
        int32_t kept = 0;
        for (int32_t k = 0; k < t->nparts; k++) {
            fetch_part *fp = &t->parts[k];
            fs_part *p = part_find(s, t, fp->index);
            bool send = !incremental || !p || part_changed(p, fp);
            if (p) {
                p->sent_hw = fp->high_watermark;
                p->sent_lso = fp->last_stable_offset;
                p->sent_start = fp->resp_log_start_offset;
            }
            if (send)
                t->parts[kept++] = *fp;
        }
        t->nparts = kept;
        if (kept > 0)
            q->topics[nt++] = *t;
    }
    q->ntopics = nt;
}
