/*
 * log.h - one partition's durable log: segments, offset and time indexes, recovery,
 * retention and the log start offset.
 *
 * Owns: the files under <log.dirs>/<topic>-<partition>/ :
 *   NNNNNNNNNNNNNNNNNNNN.log        record batches as produced (offsets patched), in order
 *   NNNNNNNNNNNNNNNNNNNN.index      sparse (relative offset u32, file position u32), BE
 *   NNNNNNNNNNNNNNNNNNNN.timeindex  sparse (max timestamp so far i64, relative offset u32)
 *   NNNNNNNNNNNNNNNNNNNN.txnindex   aborted transactions whose ABORT marker is in this
 *                                   segment: (pid i64, first offset i64, marker offset i64)
 *   log-start-offset                text; written atomically when it moves
 *   producer.snapshot               producer state valid up to an offset (pstate.h),
 *                                   written atomically at close and after every roll,
 *                                   once the sealed segment is durable (rollmeta.h)
 *   producer.snapshot.prev          the one before, moved aside when a roll writes a new
 *                                   one (recovery uses it when the newest lies beyond
 *                                   the log a crash left)
 *   leader-epochs                   text, one "epoch start_offset" line per leader epoch
 *                                   that wrote to this log, oldest first; replaced
 *                                   atomically when an epoch starts or the log is cut
 *   cleaner-state, *.cleaned        a compacted log's cleaner bookkeeping and the files
 *                                   of a cleaning in progress (storage/compact.h)
 * The name is the segment's base offset. Batches cover every offset from a segment's base
 * to its end without a gap; compaction (storage/compact.h) keeps that true by replacing
 * each run of batches it removes with one empty batch covering their offsets, and leaves
 * gaps only between the records inside a batch.
 *
 * Durability contract (docs/architecture.md): log_append() only write()s into the page
 * cache. Bytes become durable when the flush thread's fdatasync of their segment completes
 * and log_flush_done() records it; only then does durable_offset (the high watermark in
 * sync mode) pass them. A roll on append does not fsync on the event loop: the sealed
 * segment becomes `unsynced`, and the next flush job syncs it ahead of the active one
 * (durable_offset passes its end only then). At most one sealed segment is unsynced at a
 * time (a roll that finds one syncs it first), so after a crash recovery verifies the
 * last two segments, and drops the active one when the one before it lost its tail. The
 * rest of a roll's durable writes (the sealed segment's .txnindex, the producer snapshot,
 * the leader epochs, the new segment's directory entry: storage/rollmeta.h) follow the
 * sealed segment's fdatasync on the thread that runs it; until they are done the segment
 * counts as unsynced, so the new segment's bytes are not durable before its name is, and
 * a roll that finds them not done waits for them (at most one roll's are ever pending).
 * Index files are
 * never needed for correctness: they are checked on open and rebuilt from the log when
 * missing or inconsistent.
 * A failed write or fsync latches `failed`: the log turns read-only, never retries.
 *
 * Never: knows about the network, requests, or topics beyond its directory.
 */
#ifndef BROOK_STORAGE_LOG_H
#define BROOK_STORAGE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/record.h"
#include "storage/epochs.h"
#include "storage/pstate.h"

typedef struct log_config {
    int64_t segment_bytes;       /* roll when the next batch would pass this */
    int64_t segment_ms;          /* roll when the active segment is older than this */
    int64_t retention_bytes;     /* -1: unlimited */
    int64_t retention_ms;        /* -1: unlimited */
    int32_t index_interval_bytes;
    bool log_append_time;        /* message.timestamp.type=LogAppendTime */
    /* cleanup.policy has compact: the cleaner (storage/compact.h) rewrites closed segments
     * keeping the latest record per key. The rest tune it (Kafka's topic keys). */
    bool compact;
    int64_t delete_retention_ms;   /* delete.retention.ms */
    int64_t min_compaction_lag_ms; /* min.compaction.lag.ms */
    int64_t max_compaction_lag_ms; /* max.compaction.lag.ms */
    double min_cleanable_ratio;    /* min.cleanable.dirty.ratio */
} log_config;

/* Internal result codes (never Kafka codes). */
enum log_result {
    LOG_OK = 0,
    LOG_ERR_IO = -1,          /* a write, read or fsync failed; the log is now failed */
    LOG_ERR_FAILED = -2,      /* the log failed earlier and is read-only */
    LOG_ERR_OUT_OF_RANGE = -3,/* offset outside [log start, end] */
    LOG_ERR_NOMEM = -4,       /* no memory or descriptor for it: nothing done, try again */
    LOG_ERR_TOO_LARGE = -5,   /* a batch larger than the segment size limit */
    LOG_ERR_FENCED = -6,      /* a marker from a replaced transaction coordinator */
};
const char *log_result_name(int rc);

typedef struct offset_entry {
    uint32_t rel_offset;
    uint32_t pos;
} offset_entry;

typedef struct time_entry {
    int64_t ts;
    uint32_t rel_offset;
} time_entry;

typedef struct segment {
    int64_t base_offset;
    int64_t next_offset; /* one past the last offset stored */
    uint64_t size;       /* bytes in the .log file that belong to the log */
    uint64_t filled_end; /* past size: the file's end, zeros written ahead (log_zero_ahead);
                          * cut at seal and at close */
    int64_t max_ts;      /* largest batch max timestamp, -1 when empty */
    int64_t created_ms;  /* wall time of the first append, for segment.ms */
    int log_fd, idx_fd, tidx_fd, txn_fd;
    offset_entry *idx;
    size_t nidx, idx_cap;
    time_entry *tidx;
    size_t ntidx, tidx_cap;
    uint64_t bytes_since_index;
    int64_t last_indexed_ts;
    uint64_t cache_released; /* bytes from the file's start already advised out of the page
                              * cache after their fdatasync (log_cache_release) */
    int pins; /* flushes in flight on this segment's fd; it is closed only at 0 */
    bool cut_while_pinned; /* truncated under a flush: that flush proves nothing */
    bool idx_dirty; /* index entries in memory that the index files lack (the active segment
                     * keeps no index fds: they are written at seal and at close) */
    bool deleted;
    bool reserved; /* made from a spare: disk blocks reserved past its end until it is
                    * sealed (then given back) */
    struct roll_meta *meta; /* the writes of the roll that sealed this segment, until they
                             * ran (rollmeta.h; owned here) */
} segment;

typedef struct plog {
    char *dir;
    char *name; /* "topic-partition", for logs */
    log_config cfg;
    segment **segs;
    size_t nsegs, segs_cap;
    int64_t log_start_offset;
    int64_t log_end_offset; /* next offset to assign */
    int64_t durable_offset; /* every offset below is fsynced */
    segment *unsynced;      /* the sealed segment whose fdatasync has not completed (one at
                             * most); the next flush job syncs it (log_flush_begin) */
    bool failed;
    bool dirty;             /* appended since the last flush was taken */
    bool zero_ahead;        /* set by the owner: small appends write zeros ahead (below) */
    uint64_t appended_bytes; /* written by appends since open (store.c sizes flushes) */
    pstate ps;              /* producer state, current up to log_end_offset */
    aborted_txn *aborted;   /* every aborted transaction still in the log, marker order */
    size_t naborted, aborted_cap;
    int32_t leader_epoch;   /* stamped into batches log_append() writes (the owner sets it) */
    epoch_history epochs;   /* where each leader epoch's first batch is (file leader-epochs) */
    aborted_txn *closing;   /* ended transactions whose marker may not be durable yet */
    size_t nclosing, closing_cap;
    void *user;             /* owner's back pointer */
    /* A cleaning job reading this log's files (storage/compact.c) while it runs: when the
     * log is closed or destroyed first, job_detach(job, dir) is called (dir: the directory
     * the job must remove once done, or NULL for a close) and the log is freed without
     * waiting for it. */
    void *job;
    void (*job_detach)(void *job, const char *dir_to_remove);
    /* The cleaner's summary of this log (storage/compact.c; loaded from cleaner-state on
     * first use): segments below first_dirty have been cleaned; at clean_due_ms a removal
     * held back by delete.retention.ms becomes due. */
    bool clean_loaded;
    int64_t clean_first_dirty;
    int64_t clean_due_ms;
    int64_t clean_retry_ms; /* after a failed or discarded pass: none before this time */
    uint64_t cut_gen;       /* bumped by every log_truncate (a cleaning pass checks it) */
    int spare;              /* log_spare_state of the next segment's file */
    struct plog **spare_ref; /* the job making it points back here; cleared when freed */
} plog;

/* Zeros written ahead (plog.zero_ahead, for logs whose appends each wait for an
 * fdatasync): when an append of at most LOG_ZERO_AHEAD_MAX_BATCH bytes passes the file's
 * end, LOG_ZERO_AHEAD bytes of zeros are written after it. The next fdatasync makes them
 * durable together with the append (and the new file size); the appends after it then
 * overwrite blocks that are allocated, written and inside the file, so their fdatasyncs
 * write the data alone: no inode, no extent change, no journal commit on ext4. Measured
 * on this machine's ext4: 4 KiB append + fdatasync p50 252 us, overwrite 203 us; 16
 * threads on 16 files 21-22k fdatasyncs/s appending, 31-32k overwriting (docs/architecture.md,
 * "Zeros written ahead"). The zeros never count as log: `size` ends at the last batch, a
 * roll and a close cut the file back to it (and make the cut durable), and a crash leaves
 * at most the last two segments with such a tail, which recovery's scan cuts like any
 * invalid tail (a batch length of 0), saying so. Larger appends do not pay for it: their
 * bytes dominate the fdatasync anyway, and writing them twice would halve bandwidth. */
#define LOG_ZERO_AHEAD (64u << 10)
#define LOG_ZERO_AHEAD_MAX_BATCH (4u << 10)

/* The next segment's file, made ahead by a worker thread (store.c) with its disk blocks
 * reserved (fallocate with FALLOC_FL_KEEP_SIZE: its size stays 0, so nothing about how the
 * log is read or recovered changes); a roll renames it into place, and the sealed segment
 * gives back what it did not use (ftruncate, on the thread that syncs it).
 * Why: ext4 allocates a written block at writeback, holding the inode's i_data_sem, and
 * when that means reading a block group's bitmap the event loop's next pwrite to the file
 * waits for the read: up to 24 ms per stall at 400 MB/s (docs/architecture.md, "Segment
 * files reserved ahead"). Writes into reserved blocks take no such lock. */
#define LOG_SPARE_FILE "next-segment.spare"
#define LOG_SPARE_MIN_SEGMENT (8 << 20) /* smaller segments are not worth it */
typedef enum {
    LOG_SPARE_NONE,   /* none: made once the active segment is half full */
    LOG_SPARE_MAKING, /* a worker is making it */
    LOG_SPARE_READY,  /* on disk, taken by the next roll */
    LOG_SPARE_FAILED, /* the worker could not (say ENOSPC): none until the next roll */
} log_spare_state;
/* Whether the next segment's file should be made now. */
bool log_spare_wanted(const plog *l);
/* Marks it being made and gives the job its path and size; *ref (the job's pointer to the
 * log) is set to NULL if the log is freed before the job ends. */
void log_spare_begin(plog *l, struct plog **ref, char *path, size_t pathlen, int64_t *bytes);
/* The job's result, on the loop: 0 or -errno. */
void log_spare_done(plog *l, int err);

/* Opens (creating if missing) the log in dir. With `clean` (the previous run shut down
 * cleanly) index files are trusted after a consistency check; otherwise the last two
 * segments (the active one and the one a roll may have left unsynced) are scanned batch
 * by batch (length, magic, CRC-32C), a torn or garbage tail is truncated with a log line,
 * their indexes are rebuilt, and an active segment that no longer follows the one before
 * it (which lost its tail) is deleted. Returns a log_result. */
int log_open(const char *dir, const char *name, const log_config *cfg, bool clean,
             int64_t now_ms, plog **out);
/* Flushes indexes (for a clean restart) and closes. The log's data must already be
 * durable (the caller ran a final flush). */
void log_close(plog *l);
/* Deletes every file and the directory, then frees the log. */
int log_destroy(plog *l);

/* Appends one validated batch. Patches baseOffset (and LogAppendTime) in `batch`, which
 * the caller owns, then writes it. Rolls first if needed (fdatasync of the old segment).
 * *base_offset_out gets the assigned base offset. */
int log_append(plog *l, uint8_t *batch, size_t len, const rb_header *h, int64_t now_ms,
               int64_t *base_offset_out);

/* Producer state: the check before an append (pstate_check on this log's state). */
int log_producer_check(const plog *l, const rb_header *h, bool txn_verified, int64_t *dup_offset,
                       int16_t *error_out);
/* The leader refused batch h for lack of in-sync replicas (pstate_note_refused). */
void log_producer_refused(plog *l, const rb_header *h);
/* Appends a COMMIT or ABORT marker for (pid, epoch); *offset_out gets its offset. The
 * control record carries coordinator_epoch, and the producer state remembers the highest
 * one per producer (rebuilt from the log after a restart). A marker whose coordinator
 * epoch is older than that comes from a replaced coordinator: nothing is appended and the
 * answer is LOG_ERR_FENCED (the log stays writable). */
int log_append_marker(plog *l, int64_t pid, int16_t epoch, bool commit, int32_t coordinator_epoch,
                      int64_t now_ms, int64_t *offset_out);
/* The same for a marker with the coordinator's transaction sequence txn_seq (> 0; 0 is
 * log_append_marker): the record carries it and the producer state records it. */
int log_append_marker_seq(plog *l, int64_t pid, int16_t epoch, bool commit,
                          int32_t coordinator_epoch, int64_t txn_seq, int64_t now_ms,
                          int64_t *offset_out);
/* Last stable offset given the high watermark: min(first offset of every open
 * transaction, first offset of every ended one whose marker is not below hw, hw). A
 * marker only makes a transaction stable once readers can see the marker itself, so a
 * crash can never take back what a read_committed reader was shown. */
int64_t log_last_stable_offset(const plog *l, int64_t hw);
/* Aborted transactions a read_committed fetch of [from, to) must skip, sorted by first
 * offset, allocated in `a`. */
int log_aborted_between(const plog *l, int64_t from, int64_t to, arena *a, aborted_txn **out,
                        size_t *n_out);

/* Reads whole batches starting with the one containing `offset`, stopping before any
 * batch that reaches `max_offset` (exclusive upper bound: the high watermark), after
 * max_bytes, or at the segment end. With min_one the first batch is returned even when
 * larger than max_bytes (KIP-74). The bytes are allocated in `a`. offset == max_offset
 * gives 0 bytes. */
int log_read(plog *l, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
             arena *a, uint8_t **out, size_t *len_out);
/* log_read, also telling where the bytes were in the segment file (where->fd borrowed,
 * no guard; len 0: nothing read), e.g. for readahead after them. */
int log_read_where(plog *l, int64_t offset, int64_t max_offset, size_t max_bytes,
                   bool min_one, arena *a, uint8_t **out, size_t *len_out,
                   wr_file_span *where);
/* log_read's choice of batches as a range of one segment file instead of bytes, for
 * sendfile: span->fd is the segment's (borrowed: dup it to keep it past this loop turn),
 * span->guard changes when any log truncates. *next_offset_out gets the offset after the
 * last batch in the span (where the aborted list of a read_committed fetch ends).
 * span->len 0: nothing to read. Costs a 12-byte read per batch header walked (up to an
 * index interval at each cut), none of the data. */
int log_read_span(plog *l, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
                  wr_file_span *span, int64_t *next_offset_out);
/* Calls fn for every record of every uncompressed data batch from the log start to the
 * end, and on_marker (when not NULL) for every transaction marker (a control batch:
 * producer id, COMMIT or ABORT), in log order: how internal topics are replayed at start.
 * Returns the number of records seen, or a negative log_result. */
typedef void (*log_record_fn)(void *ctx, const rb_record *rec);
typedef void (*log_marker_fn)(void *ctx, int64_t pid, bool commit);
long log_scan_records(plog *l, log_record_fn fn, log_marker_fn on_marker, void *ctx);

/* Bytes stored from `offset` up to `max_offset` (estimate for Fetch min_bytes). */
uint64_t log_bytes_between(plog *l, int64_t offset, int64_t max_offset);

/* First offset whose record timestamp is >= ts, or -1 if none (below max_offset).
 * *ts_out gets that record's timestamp. Compressed batches answer with their base
 * offset and max timestamp (records are not decompressed). */
int log_offset_for_time(plog *l, int64_t ts, int64_t max_offset, int64_t *offset_out,
                        int64_t *ts_out);

/* ListOffsets MAX_TIMESTAMP (KIP-734): the first offset below max_offset holding the
 * largest record timestamp of the log's data batches (control batches do not count), and
 * that timestamp; -1 and -1 when there is none. Compressed batches answer as in
 * log_offset_for_time. */
int log_max_timestamp(plog *l, int64_t max_offset, int64_t *offset_out, int64_t *ts_out);

/* One fdatasync for the flush thread: the fd, its segment (pinned, so not closed while the
 * flush runs) and the offset the log is durable to once it and those before it are done. */
typedef struct log_sync {
    int fd;
    segment *seg;
    int64_t end_offset;
    uint64_t covers; /* the segment's bytes written before the sync begins (all it proves) */
    struct roll_meta *meta; /* run right after this fdatasync (rm_run), or NULL */
} log_sync;
#define LOG_FLUSH_MAX 2
/* Fills out[] with the fdatasyncs this log needs now: the unsynced sealed segment first,
 * then the active one when it is dirty. Returns how many (0: nothing to do). The caller
 * reports each with log_flush_done() in the same order. */
size_t log_flush_begin(plog *l, log_sync out[LOG_FLUSH_MAX]);
/* Records the result of one fdatasync begun with log_flush_begin() and, when the item had
 * a meta, of its rm_run() (which must have run: err is then its result). err != 0 fails the
 * log. */
void log_flush_done(plog *l, segment *seg, int64_t end_offset, int err);
/* The range of seg's file that a sync covering its first `covers` bytes lets the page cache
 * drop: from what earlier syncs released up to `keep` bytes short of covers, when that is
 * at least LOG_CACHE_RELEASE_MIN bytes (fewer, larger advice calls). Advances seg's mark
 * and returns true; false when there is nothing worth dropping.
 * Why: on a VM whose free memory goes back to the host (free page reporting), every page
 * the page cache takes fresh costs a host fault, and writing new log data into fresh pages
 * runs at ~0.5 GB/s; dropping clean pages behind the writer lets the kernel reuse them
 * (docs/architecture.md, "Page cache behind the writer"). */
#define LOG_CACHE_RELEASE_MIN (8u << 20)
bool log_cache_release(segment *seg, uint64_t covers, int64_t keep, uint64_t *off_out,
                       uint64_t *len_out);
/* Whether a roll left a sealed segment whose fdatasync has not completed. */
static inline bool log_has_unsynced(const plog *l) { return l->unsynced != NULL; }
/* Runs log_flush_begin()'s fdatasyncs on the calling thread and records them (a close;
 * tests). Returns LOG_OK, or LOG_ERR_FAILED when the log is failed after it. */
int log_flush_sync(plog *l);

/* Moves the log start offset forward (DeleteRecords) and deletes whole segments below
 * it. offset -1 means the high watermark. */
int log_delete_records(plog *l, int64_t offset, int64_t hw);
/* Applies retention by size and age to whole non-active segments, oldest first, stopping
 * at one a roll left unsynced (deleted by a later pass, once its fdatasync is done).
 * Returns the number of segments deleted, or a negative log_result. */
int log_apply_retention(plog *l, int64_t now_ms);
/* Rolls when segment.ms has passed (called by the retention timer). */
int log_maybe_roll_by_time(plog *l, int64_t now_ms);
uint64_t log_size_bytes(const plog *l);

/* ---------------- replication: leader epochs, replica appends, truncation ----------------
 * Every batch carries, in partitionLeaderEpoch (outside the CRC), the epoch of the leader
 * that appended it; the log keeps the history of epochs (leader-epochs file) so that a
 * follower can find where its log diverges from a new leader's (KIP-101/KIP-279). */

/* The epoch log_append() stamps from now on (the partition's leader epoch, set when this
 * node becomes leader; 0 on a single node). A newer epoch also enters the history at the
 * current log end, as Kafka's leader does, so OffsetForLeaderEpoch answers it before it
 * has written anything. Returns a log_result (the history file could not be written). */
int log_set_leader_epoch(plog *l, int32_t epoch);
/* The newest epoch in the history, -1 when it is empty. */
int32_t log_latest_epoch(const plog *l);
/* OffsetForLeaderEpoch: the largest epoch <= `epoch` this log knows and the offset where
 * it ended (the start of the next epoch, or the log end for the latest). An epoch below
 * the oldest known gives (epoch, start of the oldest); one above the latest, or none at
 * all, gives (-1, -1). */
void log_epoch_end_offset(const plog *l, int32_t epoch, int32_t *epoch_out, int64_t *end_out);
/* A follower's append of a batch copied from the leader: the batch keeps its base offset
 * (which must equal the log end: else LOG_ERR_OUT_OF_RANGE) and its leader epoch. */
int log_append_replica(plog *l, uint8_t *batch, size_t len, const rb_header *h, int64_t now_ms);
/* Removes every batch at or after `offset` (rounded down to the start of the batch that
 * holds it), the epochs that began there, and the producer state they built; the durable
 * offset falls with the end. Used by a follower whose log diverged from its leader's.
 * Returns a log_result. */
int log_truncate(plog *l, int64_t offset);

/* ---------------- compaction (storage/compact.c) ---------------- */

/* The cleaner renamed a rewritten file set over closed segment `base` (its .log, then its
 * index files): opens them as that segment and loads its bookkeeping the way a clean start
 * does (index files checked, then trusted), forgets the aborted transactions whose ABORT
 * marker was removed (gone_markers: their offsets, ascending), and closes the old segment
 * (a pinned one is freed by its flush). The segment must keep its end offset. On failure
 * the log is failed (read-only) and the old segment stays in memory. Returns a
 * log_result. */
int log_segment_replaced(plog *l, int64_t base, const int64_t *gone_markers, size_t ngone);

#endif
