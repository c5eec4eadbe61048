/*
 * store.h - all partition logs of this node, and group commit.
 *
 * Owns: the data directory (clean-shutdown marker), every open partition log, the list of
 * logs written since their last flush, and the flush threads. At the end of each loop turn
 * (store_before_poll) each dirty log whose previous fdatasync is done goes to the flush
 * threads: one fdatasync serves every batch appended to that log since its last one
 * began. A log with much to write goes as a task of its own, the small ones of the moment
 * as one task together, so no small log waits for a large one's fdatasync. When a task
 * completes, its logs' durable offsets move and on_durable() tells the owner, who then
 * acknowledges produces and wakes fetches. In interval mode acks do not wait; a timer
 * starts a flush every log.flush.interval.ms. In sync mode an append nobody waits for
 * (store_mark_lazy) rides with the log's next flush, at most log.flush.interval.ms later.
 * Never: knows about requests or connections.
 */
#ifndef BROOK_STORAGE_STORE_H
#define BROOK_STORAGE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "storage/log.h"

typedef struct partition {
    char *topic;
    int32_t index;
    plog *log;
    bool in_dirty_list;
    bool dirty_lazy; /* on the list only for store_mark_lazy's appends */
    /* The log end after the last append not marked lazy (or store_flush_soon): followers'
     * parked fetches wake for bytes below it, so a lazy record reaches them with the next
     * record that is waited for (one fsync there too), or when their fetch times out. */
    int64_t wake_end;
    uint64_t counted_bytes; /* log->appended_bytes when the store last counted them */
    bool dropping; /* delete requested; freed after the flush in flight */
    bool flushing;  /* a flush task of this log is queued or running (one at a time) */
    bool flush_due; /* came due while flushing: goes when that task is delivered */
    uint64_t submitted_bytes; /* log->appended_bytes when its last flush task was made */
    struct partition *next_dirty;
    /* Replication (set by its owner, broker/replica.c): a replicated partition's consumers
     * and acks=all see repl_hw, the high watermark over the in-sync replicas. */
    bool replicated;
    bool repl_leading; /* this node leads it now, in an epoch it may lead */
    int64_t repl_hw;
    /* Readahead for readers of this partition (store_readahead): the segment fd and file
     * position up to which the page cache was last asked to read ahead. */
    int ra_fd;
    uint64_t ra_to;
} partition;

typedef struct store_opts {
    const char *data_dir;
    bool flush_sync;
    int64_t flush_interval_ms;
    /* interval mode: also flush once this many bytes were appended since the last flush
     * began (0: the timer only), so no fsync (a segment roll's included) has much to do */
    int64_t flush_interval_bytes;
    /* After each fdatasync, a segment's pages older than its last cache_keep_bytes are
     * advised out of the page cache (log_cache_release); 0: never (pages stay until the
     * kernel reclaims them). */
    int64_t cache_keep_bytes;
    /* Reserve each log's next segment file ahead, on a worker (log.h, LOG_SPARE_FILE). */
    bool reserve_segments;
    /* Sync mode: small appends write zeros ahead (log.h, LOG_ZERO_AHEAD). */
    bool zero_ahead;
    /* The readahead worker also reads what it asked for (store_readahead), so that each
     * page's first touch by a CPU is the worker's, not the event loop's or the client's. */
    bool readahead_touch;
    void (*on_durable)(void *ctx);
    void *ctx;
} store_opts;

typedef struct store store;

/* Opens the data directory. *clean_out tells whether the last run shut down cleanly
 * (logs then trust their indexes). Removes the marker durably before returning. */
int store_open(const store_opts *o, uv_loop_t *loop, store **out, bool *clean_out);
bool store_was_clean(const store *s);
/* Opens or creates a partition's log in <data>/<topic>-<index>. */
int store_partition_open(store *s, const char *topic, int32_t index, const log_config *cfg,
                         int64_t now_ms, partition **out);
/* Deletes a partition's files (after any flush in flight) and frees it. */
void store_partition_drop(store *s, partition *p);
/* Offsets visible to consumers: durable end in sync mode, log end in interval mode; for
 * a replicated partition, the replicated high watermark (never past either). */
int64_t store_high_watermark(const store *s, const partition *p);
/* Call after a successful log_append(). */
void store_mark_dirty(store *s, partition *p);
/* Call instead after an append nobody waits to see durable, whose loss in a power cut
 * costs nothing that recovery does not redo (a transaction's completion record: recovery
 * from its PrepareCommit repeats the markers). In sync mode the bytes are fsynced with
 * the next job that takes this log (its next store_mark_dirty'd append, typically the same
 * producer's next record, or store_flush_soon) or at the latest log.flush.interval.ms
 * later, and never more than STORE_LAZY_MAX_MS, instead of costing an fdatasync round of
 * their own; an append after them and waited for is made durable with them. Interval
 * mode: the same as store_mark_dirty. */
#define STORE_LAZY_MAX_MS 1000
void store_mark_lazy(store *s, partition *p);
/* p's lazily marked bytes go with the next job after all: for an owner about to wait for
 * the log's durable end to reach its log end (a replica changing role: replication reads
 * "durable below the end" as "an fsync is on its way"). */
void store_flush_soon(store *s, partition *p);
/* A counter that changes with every store_mark_dirty: "was anything appended since". */
uint64_t store_append_gen(const store *s);
/* A log with this many bytes appended since its last flush began is synced in a task of
 * its own (store_submit): a bulk producer's partition whose fdatasync takes milliseconds
 * does not hold the small logs' (a transaction's records and markers) of the same moment. */
#define STORE_FLUSH_ALONE_BYTES (256u << 10)
/* The end-of-turn hook: hands each dirty log that is due, and not already syncing, to the
 * flush threads. */
void store_before_poll(store *s);
/* A fetch is about to send `span` of p's log by sendfile: asks a worker thread to bring
 * the next STORE_READAHEAD_BYTES after it into the page cache (POSIX_FADV_WILLNEED on a
 * dup of the fd), once per STORE_READAHEAD_BYTES / 2 of progress, so that a reader behind
 * the cached tail (log.cache.keep.bytes) finds its next fetch in memory instead of
 * holding the event loop in sendfile while the disk reads. At most STORE_READAHEAD_JOBS
 * at once (more are skipped); a span past the end of the file costs nothing. With
 * store_opts.readahead_touch the worker then reads the range itself (into a scratch buffer
 * it throws away), waiting for the disk: in a VM whose host takes back the memory the guest
 * frees, a page just read from disk costs microseconds at its first touch by a CPU, and
 * that touch would otherwise be sendfile's on the loop or the consumer's own copy out of
 * its socket (docs/architecture.md, "Page cache behind the writer"). */
#define STORE_READAHEAD_BYTES (16u << 20)
#define STORE_READAHEAD_JOBS 3 /* of libuv's 4 workers: one stays free for the compactor */
void store_readahead(store *s, partition *p, const wr_file_span *span);
/* Flushes everything synchronously, closes every log, writes the clean marker. s itself is
 * freed when the loop next runs its closing handles (its timer lives in it). */
void store_close(store *s, partition **parts, size_t nparts);
/* Counters for logs and benchmarks. */
typedef struct store_stats {
    uint64_t flush_jobs, flush_items; /* flush tasks delivered (one or more logs); fsyncs */
    uint64_t readahead_jobs, readahead_bytes; /* store_readahead's requests */
    /* over every store: readahead requests finished, and the bytes their workers read
     * (readahead_touch) */
    uint64_t readahead_finished, readahead_touched_bytes;
    uint64_t cache_released_bytes; /* advised out of the page cache after fsyncs */
    uint64_t segments_reserved;    /* next-segment files made with their blocks reserved */
    int64_t last_sync_us;
} store_stats;
store_stats store_get_stats(const store *s);

#endif
