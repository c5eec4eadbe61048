/*
 * limits.h - every named limit of the broker in one place (curl-style caps).
 *
 * Owns: compile-time caps on buffers, queues, batches and retries.
 * Never: holds tunables that a user should set; those are config keys (config.h).
 */
#ifndef BROOK_BASE_LIMITS_H
#define BROOK_BASE_LIMITS_H

/* Longest topic name Kafka allows (Topic.MAX_NAME_LENGTH). */
#define BROOK_TOPIC_NAME_MAX 249
/* Partitions per topic; a request for more gets INVALID_PARTITIONS. */
#define BROOK_PARTITIONS_MAX 10000
/* Elements in any array of a request; a larger declared count is a malformed request. */
#define BROOK_ARRAY_MAX 100000
/* Requests accepted on one connection whose responses are not yet written. Past it the
 * connection stops reading until responses drain (backpressure, not an error). */
#define BROOK_CONN_INFLIGHT_MAX 128
/* Bytes of unsent responses queued on one connection before reads pause. */
/* An incremental fetch session idle this long gives way to a new one when the cache is full
 * (Kafka's min.incremental.fetch.session.eviction.ms, an internal constant there too). */
#define BROOK_FETCH_SESSION_EVICT_MS 120000
/* An event-loop turn busy this long counts as a stall (brook_loop_stalls_total); one busy
 * BROOK_LOOP_WARN_MS or more is logged, at most once per BROOK_LOOP_WARN_EVERY_MS. */
#define BROOK_LOOP_STALL_MS 20
#define BROOK_LOOP_WARN_MS 200
#define BROOK_LOOP_WARN_EVERY_MS 10000
#define BROOK_CONN_OUTBUF_MAX (64u * 1024 * 1024)
/* Longest properties-file line and key. */
#define BROOK_CONFIG_LINE_MAX 8192
#define BROOK_CONFIG_KEY_MAX 128
/* Size of a request arena's first block; later blocks double up to the request size. */
#define BROOK_ARENA_BLOCK 4096
/* Segment files open per partition (one per segment, all kept open). */
#define BROOK_SEGMENTS_MAX 100000
/* Topics a node can hold. */
#define BROOK_TOPICS_MAX 100000
/* Partitions one flush batch can carry (group commit). */
#define BROOK_FLUSH_BATCH_MAX 65536
/* Longest Fetch long-poll we honour, whatever the client asks. */
#define BROOK_FETCH_MAX_WAIT_MS 30000
/* Largest decompressed records section the log cleaner reads in one batch; a larger one is
 * kept whole (storage/compact.h). */
#define BROOK_COMPACT_INFLATE_MAX ((size_t)256 << 20)

/* Admin HTTP listener (net/http.h): request line + headers, request body, connections
 * open at once (more are accepted and closed at once), time to send one whole request,
 * time a rejected request's remaining input is drained before the close, and the largest
 * response the admin routes build (a bigger one becomes 500). */
#define BROOK_HTTP_HEAD_MAX (16u * 1024)
#define BROOK_HTTP_BODY_MAX (64u * 1024)
#define BROOK_HTTP_CONN_MAX 64
#define BROOK_HTTP_REQUEST_TIMEOUT_MS 10000
#define BROOK_HTTP_LINGER_MS 2000
#define BROOK_HTTP_RESPONSE_MAX (64u * 1024 * 1024)

/* Client quotas (broker/quota.h): rate windows tracked at once (one per throttled user or
 * client id; idle ones are dropped first), and configured quota entities. */
#define BROOK_QUOTA_SENSORS_MAX 10000
#define BROOK_QUOTA_ENTITIES_MAX 10000

#endif
