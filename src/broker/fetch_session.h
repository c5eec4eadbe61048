/*
 * fetch_session.h - KIP-227 incremental fetch sessions: the sessions a broker keeps for its
 * fetchers, and how a request's SessionId, SessionEpoch and ForgottenTopicsData turn into
 * the partitions to read and the partitions to answer.
 *
 * A fetcher of many partitions opens a session with a full fetch (epoch 0); after that it
 * sends only the partitions whose position changed (epoch 1, 2, ...) and the broker answers
 * only the partitions with something new: records, an error, or a changed high watermark,
 * last stable offset or log start offset. Epoch -1 fetches without a session (and closes
 * the one named). Sessions live in a cache of max.incremental.fetch.session.cache.slots;
 * when it is full, the least recently used session gives way if it has been idle for the
 * eviction time, or if the newcomer is a follower and it is not (Kafka's privilege).
 *
 * Owns: the sessions: each partition's fetch position and limits, and what was last sent of
 * its offsets. Never: reads logs, looks at leadership, reads clocks (now_ms is given) or does
 * I/O. Loop thread only.
 */
#ifndef BROOK_BROKER_FETCH_SESSION_H
#define BROOK_BROKER_FETCH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "proto/msgs.h"

typedef struct fsess_cache fsess_cache;

/* max_slots <= 0: no sessions (every fetch is sessionless). NULL: out of memory. */
fsess_cache *fsess_cache_new(int32_t max_slots, int64_t evict_ms);
void fsess_cache_free(fsess_cache *c);
size_t fsess_cache_count(const fsess_cache *c);
/* Sessions evicted to make room since start (metrics). */
uint64_t fsess_cache_evictions(const fsess_cache *c);

/* Applies q's session fields (q->topics already carry names, for v13+ resolved from ids, as
 * does q->forgotten):
 *  - epoch -1: no session (a nonzero id closes that session); q is fetched as it is;
 *  - epoch 0: a new session of q's partitions (a nonzero id closes that one first); when
 *    the cache has no room, none (q->resp_session_id stays 0) and the fetch is full;
 *  - epoch > 0: the named session's next epoch: q's partitions are added or updated, the
 *    forgotten ones removed, and q->topics becomes every partition of the session, in the
 *    order they joined (allocated in a), with the response fields at their defaults.
 * Sets q->resp_session_id and *incremental (the answer goes through fsess_end's filter).
 * Returns KERR_NONE, KERR_FETCH_SESSION_ID_NOT_FOUND, KERR_INVALID_FETCH_SESSION_EPOCH,
 * KERR_FETCH_SESSION_TOPIC_ID_ERROR (a session opened by name used by id, or the reverse),
 * KERR_INVALID_REQUEST (a full fetch with forgotten topics) - with any error q->ntopics is
 * 0 and q->resp_session_id 0 - or -1 when out of memory. */
int fsess_begin(fsess_cache *c, fetch_req *q, bool follower, int64_t now_ms, arena *a,
                bool *incremental);

/* After the handler filled the answer's partitions: the session q->resp_session_id keeps
 * what was sent of each partition's offsets, and for an incremental answer q keeps only the
 * partitions with something new (in place; topics left empty are dropped). When the
 * session went away meanwhile (evicted under a long poll), q stays whole: every partition
 * is in the answer, which an incremental fetcher reads as all of them updated. */
void fsess_end(fsess_cache *c, fetch_req *q, bool incremental);

#endif
