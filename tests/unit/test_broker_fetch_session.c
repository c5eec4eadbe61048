/* test_broker_fetch_session.c - KIP-227 fetch sessions (broker/fetch_session.h) without I/O:
 * opening, incremental epochs, adding, updating and forgetting partitions, the filter of
 * incremental answers, errors, closing, by-id sessions and the cache's eviction rules. */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "broker/fetch_session.h"
#include "proto/errors.h"
#include "testutil.h"

/* A request of up to 4 topics x 8 partitions, built in a test's own storage. */
typedef struct req_build {
    fetch_req q;
    fetch_topic topics[4];
    fetch_part parts[4][8];
    fetch_forgotten forgotten[2];
    int32_t fparts[2][8];
} req_build;

static void rb_init(req_build *r, int32_t session_id, int32_t epoch)
{
    memset(r, 0, sizeof(*r));
    r->q.replica_id = -1;
    r->q.session_id = session_id;
    r->q.session_epoch = epoch;
    r->q.topics = r->topics;
}

static void rb_add(req_build *r, const char *topic, int32_t index, int64_t offset)
{
    int ti = 0;
    while (ti < r->q.ntopics && !kslice_eq_cstr(r->topics[ti].name, topic))
        ti++;
    if (ti == r->q.ntopics) {
        r->topics[ti].name = kslice_cstr(topic);
        r->topics[ti].parts = r->parts[ti];
        r->topics[ti].id[0] = (uint8_t)(topic[0]);
        r->q.ntopics++;
    }
    fetch_part *fp = &r->parts[ti][r->topics[ti].nparts++];
    memset(fp, 0, sizeof(*fp));
    fp->index = index;
    fp->fetch_offset = offset;
    fp->current_leader_epoch = -1;
    fp->last_fetched_epoch = -1;
    fp->partition_max_bytes = 1 << 20;
    fp->naborted = -1;
    fp->diverging_epoch = (fetch_epoch_end){-1, -1};
    fp->current_leader = (fetch_leader){-1, -1};
}

static void rb_forget(req_build *r, const char *topic, int32_t index)
{
    int fi = 0;
    while (fi < r->q.nforgotten && !kslice_eq_cstr(r->forgotten[fi].name, topic))
        fi++;
    if (fi == r->q.nforgotten) {
        r->forgotten[fi].name = kslice_cstr(topic);
        r->forgotten[fi].parts = r->fparts[fi];
        r->forgotten[fi].id[0] = (uint8_t)(topic[0]);
        r->q.nforgotten++;
    }
    r->fparts[fi][r->forgotten[fi].nparts++] = index;
    r->q.forgotten = r->forgotten;
}

/* The partition (topic, index) in q, or NULL. */
static fetch_part *find(fetch_req *q, const char *topic, int32_t index)
{
    for (int32_t i = 0; i < q->ntopics; i++)
        if (kslice_eq_cstr(q->topics[i].name, topic))
            for (int32_t k = 0; k < q->topics[i].nparts; k++)
                if (q->topics[i].parts[k].index == index)
                    return &q->topics[i].parts[k];
    return NULL;
}

static int32_t count_parts(const fetch_req *q)
{
    int32_t n = 0;
    for (int32_t i = 0; i < q->ntopics; i++)
        n += q->topics[i].nparts;
    return n;
}

/* What a handler would fill in: hw/lso/start, records of len bytes (len 0: none). */
static void answer(fetch_part *fp, int64_t hw, int32_t len)
{
    static const uint8_t bytes[64];
    fp->high_watermark = fp->last_stable_offset = hw;
    fp->resp_log_start_offset = 0;
    fp->records = len > 0 ? (kslice){bytes, len} : KSLICE_NULL;
}

/* Opens a session over a/0, a/1, b/0 and answers it; returns its id. */
static int32_t open_three(fsess_cache *c, arena *a)
{
    req_build r;
    rb_init(&r, 0, 0);
    rb_add(&r, "a", 0, 10);
    rb_add(&r, "a", 1, 20);
    rb_add(&r, "b", 0, 30);
    bool inc = true;
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 1000, a, &inc), KERR_NONE);
    CHECK(!inc);
    CHECK(r.q.resp_session_id > 0);
    CHECK_EQ_INT(count_parts(&r.q), 3);
    answer(find(&r.q, "a", 0), 10, 0);
    answer(find(&r.q, "a", 1), 20, 0);
    answer(find(&r.q, "b", 0), 30, 0);
    fsess_end(c, &r.q, inc);
    CHECK_EQ_INT(count_parts(&r.q), 3); /* a full answer keeps every partition */
    return r.q.resp_session_id;
}

static void test_open_and_incremental(void)
{
    fsess_cache *c = fsess_cache_new(10, 120000);
    arena a;
    arena_init(&a);
    int32_t id = open_three(c, &a);
    CHECK_EQ_INT(fsess_cache_count(c), 1);

    /* epoch 1, nothing sent: every partition is fetched at its session position */
    req_build r;
    rb_init(&r, id, 1);
    bool inc = false;
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_NONE);
    CHECK(inc);
    CHECK_EQ_INT(r.q.resp_session_id, id);
    CHECK_EQ_INT(count_parts(&r.q), 3);
    CHECK_EQ_INT(r.q.ntopics, 2);
    CHECK_EQ_INT(find(&r.q, "a", 1)->fetch_offset, 20);
    CHECK_EQ_INT(find(&r.q, "b", 0)->fetch_offset, 30);
    CHECK_EQ_INT(find(&r.q, "b", 0)->naborted, -1);
    /* only a/1 has records, b/0's high watermark moved: a/0 is left out */
    answer(find(&r.q, "a", 0), 10, 0);
    answer(find(&r.q, "a", 1), 25, 40);
    answer(find(&r.q, "b", 0), 31, 0);
    fsess_end(c, &r.q, inc);
    CHECK_EQ_INT(count_parts(&r.q), 2);
    CHECK(find(&r.q, "a", 0) == NULL);
    CHECK(find(&r.q, "a", 1) != NULL && find(&r.q, "b", 0) != NULL);

    /* epoch 2: the client moved a/1 to 25 and adds c/3 */
    rb_init(&r, id, 2);
    rb_add(&r, "a", 1, 25);
    rb_add(&r, "c", 3, 7);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 3000, &a, &inc), KERR_NONE);
    CHECK_EQ_INT(count_parts(&r.q), 4);
    CHECK_EQ_INT(find(&r.q, "a", 1)->fetch_offset, 25);
    CHECK_EQ_INT(find(&r.q, "c", 3)->fetch_offset, 7);
    CHECK_EQ_INT(find(&r.q, "a", 0)->fetch_offset, 10);
    answer(find(&r.q, "a", 0), 10, 0);
    answer(find(&r.q, "a", 1), 25, 0);
    answer(find(&r.q, "b", 0), 31, 0);
    answer(find(&r.q, "c", 3), 7, 0);
    find(&r.q, "b", 0)->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
    fsess_end(c, &r.q, inc);
    /* c/3 is new (never sent), b/0 has an error; a/0 and a/1 unchanged */
    CHECK_EQ_INT(count_parts(&r.q), 2);
    CHECK(find(&r.q, "c", 3) != NULL && find(&r.q, "b", 0) != NULL);

    /* epoch 3: forget a/0 and c/3 */
    rb_init(&r, id, 3);
    rb_forget(&r, "a", 0);
    rb_forget(&r, "c", 3);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 4000, &a, &inc), KERR_NONE);
    CHECK_EQ_INT(count_parts(&r.q), 2);
    CHECK(find(&r.q, "a", 0) == NULL && find(&r.q, "c", 3) == NULL);
    fsess_end(c, &r.q, inc);

    arena_free(&a);
    fsess_cache_free(c);
}

static void test_errors_and_close(void)
{
    fsess_cache *c = fsess_cache_new(10, 120000);
    arena a;
    arena_init(&a);
    int32_t id = open_three(c, &a);
    req_build r;
    bool inc;
    /* the wrong epoch: refused, nothing fetched, the session kept */
    rb_init(&r, id, 5);
    rb_add(&r, "a", 0, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_INVALID_FETCH_SESSION_EPOCH);
    CHECK_EQ_INT(r.q.ntopics, 0);
    CHECK_EQ_INT(r.q.resp_session_id, 0);
    CHECK_EQ_INT(fsess_cache_count(c), 1);
    /* an unknown id */
    rb_init(&r, id + 1, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_FETCH_SESSION_ID_NOT_FOUND);
    /* by id into a session opened by name */
    rb_init(&r, id, 1);
    r.q.by_id = true;
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_FETCH_SESSION_TOPIC_ID_ERROR);
    /* a refused epoch did not advance it: epoch 1 still works */
    rb_init(&r, id, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_NONE);
    fsess_end(c, &r.q, inc);
    /* epoch 1 again (a replay): refused now */
    rb_init(&r, id, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_INVALID_FETCH_SESSION_EPOCH);
    /* a full fetch with forgotten topics is malformed */
    rb_init(&r, 0, 0);
    rb_forget(&r, "a", 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_INVALID_REQUEST);
    /* epoch -1 with the id closes it: a sessionless full fetch */
    rb_init(&r, id, -1);
    rb_add(&r, "a", 0, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_NONE);
    CHECK(!inc);
    CHECK_EQ_INT(r.q.resp_session_id, 0);
    CHECK_EQ_INT(count_parts(&r.q), 1);
    CHECK_EQ_INT(fsess_cache_count(c), 0);
    rb_init(&r, id, 2);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_FETCH_SESSION_ID_NOT_FOUND);
    /* epoch 0 with an id replaces that session by a new one */
    id = open_three(c, &a);
    rb_init(&r, id, 0);
    rb_add(&r, "z", 0, 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_NONE);
    CHECK(r.q.resp_session_id != id && r.q.resp_session_id > 0);
    CHECK_EQ_INT(fsess_cache_count(c), 1);
    arena_free(&a);
    fsess_cache_free(c);
}

/* A session closed under a parked fetch: its answer keeps every partition. */
static void test_session_gone_before_answer(void)
{
    fsess_cache *c = fsess_cache_new(10, 120000);
    arena a;
    arena_init(&a);
    int32_t id = open_three(c, &a);
    req_build r, close_it;
    bool inc;
    rb_init(&r, id, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_NONE);
    rb_init(&close_it, id, -1);
    CHECK_EQ_INT(fsess_begin(c, &close_it.q, false, 2000, &a, &inc), KERR_NONE);
    answer(find(&r.q, "a", 0), 10, 0);
    answer(find(&r.q, "a", 1), 20, 0);
    answer(find(&r.q, "b", 0), 30, 0);
    fsess_end(c, &r.q, true);
    CHECK_EQ_INT(count_parts(&r.q), 3);
    CHECK(kslice_eq_cstr(r.q.topics[0].name, "a")); /* the names are the request's copies */
    arena_free(&a);
    fsess_cache_free(c);
}

/* Topics named by id (v13+): forgotten by id, answered with the ids. */
static void test_by_id(void)
{
    fsess_cache *c = fsess_cache_new(10, 120000);
    arena a;
    arena_init(&a);
    req_build r;
    bool inc;
    rb_init(&r, 0, 0);
    r.q.by_id = true;
    rb_add(&r, "a", 0, 5);
    rb_add(&r, "b", 0, 6);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 1000, &a, &inc), KERR_NONE);
    int32_t id = r.q.resp_session_id;
    fsess_end(c, &r.q, inc);
    rb_init(&r, id, 1);
    r.q.by_id = true;
    rb_forget(&r, "a", 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 1000, &a, &inc), KERR_NONE);
    CHECK_EQ_INT(count_parts(&r.q), 1);
    CHECK_EQ_INT(r.q.topics[0].id[0], 'b');
    CHECK_EQ_INT(r.q.topics[0].parts[0].fetch_offset, 6);
    arena_free(&a);
    fsess_cache_free(c);
}

/* A full cache: a new session only when the least recently used one has been idle for the
 * eviction time, or when a follower asks and it is a consumer's; slots 0: never any. */
static void test_eviction(void)
{
    fsess_cache *c = fsess_cache_new(2, 120000);
    arena a;
    arena_init(&a);
    req_build r;
    bool inc;
    int32_t ids[2];
    for (int i = 0; i < 2; i++) {
        rb_init(&r, 0, 0);
        rb_add(&r, "a", i, 0);
        CHECK_EQ_INT(fsess_begin(c, &r.q, false, 1000 + i, &a, &inc), KERR_NONE);
        ids[i] = r.q.resp_session_id;
        CHECK(ids[i] > 0);
    }
    CHECK(ids[0] != ids[1]);
    rb_init(&r, 0, 0);
    rb_add(&r, "a", 9, 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 60000, &a, &inc), KERR_NONE);
    CHECK_EQ_INT(r.q.resp_session_id, 0); /* full, nobody idle long enough: no session */
    CHECK_EQ_INT(count_parts(&r.q), 1);   /* but the fetch itself goes on */
    CHECK_EQ_INT(fsess_cache_evictions(c), 0);
    /* a follower evicts a consumer's session at once: the least recently used, ids[0] */
    rb_init(&r, 0, 0);
    rb_add(&r, "a", 9, 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, true, 60000, &a, &inc), KERR_NONE);
    int32_t fol = r.q.resp_session_id;
    CHECK(fol > 0);
    CHECK_EQ_INT(fsess_cache_evictions(c), 1);
    rb_init(&r, ids[0], 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 60000, &a, &inc), KERR_FETCH_SESSION_ID_NOT_FOUND);
    /* ids[1] used at 1001: idle for 120 s at 121001, evicted by a consumer then */
    rb_init(&r, 0, 0);
    rb_add(&r, "a", 8, 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 121000, &a, &inc), KERR_NONE);
    CHECK_EQ_INT(r.q.resp_session_id, 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 121001, &a, &inc), KERR_NONE);
    CHECK(r.q.resp_session_id > 0);
    CHECK_EQ_INT(fsess_cache_evictions(c), 2);
    rb_init(&r, fol, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, true, 121002, &a, &inc), KERR_NONE); /* kept */
    fsess_cache_free(c);

    c = fsess_cache_new(0, 120000);
    rb_init(&r, 0, 0);
    rb_add(&r, "a", 0, 0);
    CHECK_EQ_INT(fsess_begin(c, &r.q, true, 1, &a, &inc), KERR_NONE);
    CHECK_EQ_INT(r.q.resp_session_id, 0);
    CHECK_EQ_INT(fsess_cache_count(c), 0);
    fsess_cache_free(c);
    arena_free(&a);
}

/* A name longer than any topic's is answered but not kept: sessions used to hold two copies
 * of every such name per partition (5000 partitions of a 30,000-byte name: 288 MB). */
static void test_long_names_not_kept(void)
{
    fsess_cache *c = fsess_cache_new(10, 120000);
    arena a;
    arena_init(&a);
    char *name = malloc(BROOK_TOPIC_NAME_MAX + 2);
    if (!CHECK(name != NULL))
        return;
    memset(name, 'x', BROOK_TOPIC_NAME_MAX + 1);
    name[BROOK_TOPIC_NAME_MAX + 1] = 0;
    req_build r;
    rb_init(&r, 0, 0);
    rb_add(&r, "a", 0, 10);
    rb_add(&r, name, 0, 5);
    bool inc = true;
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 1000, &a, &inc), KERR_NONE);
    CHECK_EQ_INT(count_parts(&r.q), 2); /* this fetch still answers both */
    int32_t id = r.q.resp_session_id;
    answer(find(&r.q, "a", 0), 10, 0);
    find(&r.q, name, 0)->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
    fsess_end(c, &r.q, inc);
    rb_init(&r, id, 1);
    CHECK_EQ_INT(fsess_begin(c, &r.q, false, 2000, &a, &inc), KERR_NONE);
    CHECK(inc);
    CHECK_EQ_INT(count_parts(&r.q), 1); /* the session kept a/0 only */
    CHECK(find(&r.q, "a", 0) != NULL);
    fsess_end(c, &r.q, inc);
    free(name);
    arena_free(&a);
    fsess_cache_free(c);
}

TU_MAIN(TU_CASE(test_open_and_incremental), TU_CASE(test_long_names_not_kept), TU_CASE(test_errors_and_close),
        TU_CASE(test_session_gone_before_answer), TU_CASE(test_by_id), TU_CASE(test_eviction))
