/*
 * compact.h - log compaction (cleanup.policy=compact): the cleaner that rewrites a
 * partition's closed segments, keeping the latest record of every key.
 *
 * Owns: which segments a pass may clean (cmp_plan_log), the decisions of a pass over
 * record batches (cmp_pass: pure, no I/O, unit-tested on its own), the rewriting of segment
 * files in a libuv worker thread (compactor), their swap into the log on the loop thread,
 * the per-log bookkeeping file `cleaner-state`, and the recovery of a swap a crash
 * interrupted (compact_recover_dir).
 * Never: touches the active segment or anything at or above min(last stable offset, high
 * watermark); moves a surviving record's offset; changes a log's in-memory state from the
 * worker thread (the worker sees only a copy of what it needs and its own file
 * descriptors; it writes only `*.cleaned` temporaries).
 *
 * Rules of a pass (Kafka's; docs/admin.md "Compaction" says what is honoured):
 *  - The range is whole closed segments from the log's first segment, each wholly below
 *    min(high watermark, last stable offset, active segment base) and with no record newer
 *    than min.compaction.lag.ms. A key map over the range (full key bytes, at most
 *    log.cleaner.dedupe.buffer.size, else the range ends at a segment boundary) gives each
 *    key's latest offset among records that are not aborted.
 *  - A data record survives when it is not in an aborted transaction, not below the log
 *    start offset, and holds its key's latest offset; a keyless record survives. A
 *    tombstone (null value) also goes once delete.retention.ms has passed since its segment
 *    was first cleaned and it is its key's only record left in the range (older records of
 *    the key go in an earlier pass, so no crash can bring one back without its tombstone).
 *  - A COMMIT/ABORT marker goes once no batch of its transaction is left in the range (it
 *    had none when the pass began) and delete.retention.ms has passed since its
 *    transaction was first seen without any; the producer's last marker in the range
 *    stays (it carries the coordinator epoch and transaction sequence a replay of the log
 *    needs), and so does the ABORT marker's aborted-transaction index entry until then.
 *  - Batches keep their base offset and last offset delta; surviving records keep their
 *    offset deltas, bytes and order; the records of a compressed batch are recompressed
 *    with its codec; the CRC is recomputed. The last data batch of each producer in the
 *    range stays even without records (header only, records count 0, as Kafka's empty
 *    batches), so producer state rebuilt from the log keeps its sequence. Every other
 *    batch left without records goes, and each run of batches that go (within one leader
 *    epoch) is replaced by one empty batch covering their offsets (no producer, timestamps
 *    -1): batches still cover every offset without a gap, so recovery, followers and the
 *    leader-epoch history work as before, and a reader skips the run in one step.
 *  - A batch whose records cannot be read (compressed beyond the cap, or not framing) is
 *    kept whole unless it is aborted.
 *
 * Files and crash safety: the worker writes <base>.log.cleaned (fsynced, then the directory
 * fsynced, so it is named before anything else of the set), then <base>.index.cleaned,
 * .timeindex.cleaned, .txnindex.cleaned and cleaner-state.cleaned (each fsynced, then the
 * directory). On the loop the commit renames every rewritten segment's .log.cleaned over its
 * .log and fsyncs the directory; only then are the index files and the state renamed in and
 * the segments reopened. At start compact_recover_dir undoes a segment whose .log.cleaned
 * is still there (its old files were never touched) and finishes one whose .log.cleaned is
 * gone (renames its index files in), and deletes a leftover cleaner-state.cleaned (the
 * older state only holds removals back longer). Each rewritten segment is correct with
 * any mix of old and new versions of the others, so a crash between renames is safe.
 * A failed fsync (worker or loop) fails the log, as everywhere in storage/.
 */
#ifndef BROOK_STORAGE_COMPACT_H
#define BROOK_STORAGE_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "storage/log.h"

/* ---------------- the cleaner-state file ---------------- */

/* An offset with a wall-clock time: (segment base, when first cleaned) or (marker offset,
 * since when its transaction has no batch left). */
typedef struct cmp_time {
    int64_t offset;
    int64_t ms;
} cmp_time;

typedef struct cmp_state {
    int64_t first_dirty; /* segments below were cleaned (-1: none) */
    int64_t due_ms;      /* a held-back removal becomes due (INT64_MAX: none) */
    cmp_time *segs;      /* ascending offsets, malloc'd */
    size_t nsegs;
    cmp_time *markers;   /* ascending offsets, malloc'd */
    size_t nmarkers;
} cmp_state;

void cmp_state_init(cmp_state *st);
void cmp_state_free(cmp_state *st);
/* Parses the text of a cleaner-state file. Returns 0, or -1 (unknown format, bad line,
 * offsets not ascending: the caller uses an empty state, which only delays removals). */
int cmp_state_parse(const char *text, cmp_state *out);
/* Appends the file's text. */
void cmp_state_encode(const cmp_state *st, wr *w);

/* ---------------- a pass's decisions (pure) ---------------- */

typedef struct cmp_params {
    int64_t now_ms;
    int64_t delete_retention_ms;
    int64_t log_start_offset;
    size_t max_inflated; /* decompressed records section cap, per batch */
} cmp_params;

typedef struct cmp_counts {
    uint64_t records_in, records_removed;
    uint64_t batches_in, batches_removed, batches_emptied;
    uint64_t tombstones_removed, markers_removed, aborted_removed;
} cmp_counts;

/* What one cmp_pass_filter call did. */
typedef struct cmp_step {
    bool changed;      /* the segment's output differs from its input so far */
    uint64_t from_pos; /* the input position the bytes appended by the call stand for
                        * (UINT64_MAX: it appended nothing) */
} cmp_step;

typedef struct cmp_pass cmp_pass;

/* A pass over a range. aborted: the log's aborted transactions overlapping it (borrowed,
 * copied); old: the previous cleaner-state (borrowed). Returns NULL when out of memory. */
cmp_pass *cmp_pass_new(const cmp_params *p, const aborted_txn *aborted, size_t naborted,
                       const cmp_state *old);
void cmp_pass_free(cmp_pass *ps);
/* Phase 1: announce each segment (in order), then feed each of its batches (whole, CRC
 * checked by the caller). Returns 0 or -ENOMEM. */
int cmp_pass_scan_segment(cmp_pass *ps, int64_t base);
int cmp_pass_scan(cmp_pass *ps, const uint8_t *batch, size_t len);
/* Bytes the key map holds (the dedupe buffer it stands for). */
size_t cmp_pass_map_bytes(const cmp_pass *ps);
/* Phase 2, over the same segments in the same order (a prefix of them may be used: the
 * range then ends there): announce each segment, filter each of its batches (pos: where
 * it starts in the segment's file), then end the segment. What is kept is appended to
 * out: a batch as it was or rebuilt, and, when a run of removed batches ends, the empty
 * batch standing for it (so it may come one call late, at the latest at the segment's
 * end). While st->changed is false the output equals the input byte for byte. Returns 0
 * or -errno (out of memory, a compression failure). */
int cmp_pass_filter_segment(cmp_pass *ps, int64_t base);
int cmp_pass_filter(cmp_pass *ps, const uint8_t *batch, size_t len, uint64_t pos, wr *out,
                    cmp_step *st);
int cmp_pass_end_segment(cmp_pass *ps, wr *out, cmp_step *st);
/* After phase 2: the new state (first_dirty = range_end, segments' first-cleaned times,
 * markers held back, and the next due time), the ABORT markers removed (ascending,
 * borrowed until cmp_pass_free) and the counts. Returns 0 or -ENOMEM. */
int cmp_pass_finish(cmp_pass *ps, int64_t range_end, cmp_state *new_state);
const int64_t *cmp_pass_gone_aborts(const cmp_pass *ps, size_t *n_out);
cmp_counts cmp_pass_counts(const cmp_pass *ps);

/* ---------------- planning (loop thread) ---------------- */

typedef struct cmp_plan {
    size_t nsegs;    /* segments [0, nsegs) may be cleaned */
    int64_t bound;   /* min(high watermark, last stable offset, active segment base) */
    uint64_t dirty_bytes, total_bytes;
    double priority; /* > 0: a pass is wanted (dirty ratio; 2 for max lag or due removal) */
} cmp_plan;

/* What a pass over l would clean now given its high watermark (loads the log's summary
 * from cleaner-state on first use). Nothing for a log that is not compacted, failed, or
 * has a job running. */
void cmp_plan_log(plog *l, int64_t hw, int64_t now_ms, cmp_plan *out);

/* ---------------- the cleaner ---------------- */

typedef struct compact_config {
    bool enable;                  /* log.cleaner.enable */
    uint64_t dedupe_buffer_bytes; /* log.cleaner.dedupe.buffer.size */
    int64_t backoff_ms;           /* log.cleaner.backoff.ms: also the least time between two
                                   * passes of a log that only retry held-back removals */
} compact_config;

typedef struct compact_stats {
    uint64_t passes, passes_failed, segments_rewritten;
    uint64_t bytes_cleaned;   /* bytes of the segments passes went through */
    uint64_t bytes_freed;     /* bytes the rewritten segments lost */
    uint64_t records_removed;
} compact_stats;

typedef struct compactor compactor;

/* on_idle (may be NULL) is called on the loop when a job ends, to offer the next log. */
int compactor_start(uv_loop_t *loop, const compact_config *cfg, void (*on_idle)(void *ctx),
                    void *ctx, compactor **out);
/* Cancels a running job (it ends at its next batch; the loop runs its completion, which
 * frees the compactor) or frees at once when idle. */
void compactor_stop(compactor *c);
/* New settings (dynamic broker configs); a running job keeps the ones it started with. */
void compactor_configure(compactor *c, const compact_config *cfg);
bool compactor_busy(const compactor *c);
/* Starts a pass over l (planned with cmp_plan_log just before: plan->nsegs > 0) in the
 * worker pool. Returns 0, -EBUSY when a job runs, or -errno. */
int compactor_run(compactor *c, plog *l, const cmp_plan *plan, int64_t now_ms);
compact_stats compactor_get_stats(const compactor *c);

/* The same pass, synchronously on the calling thread (tests and tools): plan, rewrite,
 * swap. Returns 0 (also when there was nothing to clean) or a negative errno; st (may be
 * NULL) gets the counts. */
int compact_run_sync(plog *l, int64_t hw, int64_t now_ms, uint64_t dedupe_buffer_bytes,
                     compact_stats *st);

/* ---------------- recovery ---------------- */

/* Called by log_open before it lists segments: finishes or undoes an interrupted swap in
 * dir (see above) and fsyncs the directory when it changed anything. Returns 0 or -errno. */
int compact_recover_dir(const char *dir, const char *name);

#endif
