/*
 * rollmeta.h - what a segment roll writes besides the segment, written once the sealed
 * segment is durable.
 *
 * Owns: a roll's follow-up writes, built on the loop at the roll and run by whichever
 * thread makes the sealed segment durable (the flush thread through flush_item.after, or
 * the loop when it syncs that segment itself), right after its fdatasync:
 *   1. the sealed segment's .txnindex fdatasync'ed, when it has entries (recovery trusts
 *      the aborted ranges of every segment below the producer snapshot);
 *   2. the producer snapshot at the roll's offset (the current one moved aside first as
 *      producer.snapshot.prev);
 *   3. the leader-epoch history (on failure the file is deleted, so the next start walks
 *      the log rather than trusting an older history);
 *   4. an fsync of the partition directory, which also makes the new segment's name durable;
 *   5. when asked (rm_set_trim), the sealed segment cut back to its last batch: unused
 *      reserved blocks given back, zeros written ahead removed.
 * Why not on the loop: each of those fsyncs commits the ext4 journal, which waits for the
 * data blocks of the flush thread's concurrent fdatasync of the sealed segment (up to
 * 1 GiB): a roll held the event loop 96-257 ms at half of peak (docs/benchmarks.md,
 * "Produce latency at half of peak"). Written after the segment's fdatasync, a snapshot
 * never describes offsets a crash can take away.
 * Failures of 2 and 3 are logged and are not fatal (both are caches with a fallback);
 * failures of 1 and 4 are the item's error, which fails the log.
 * Never: touches the log itself (it holds an open directory, an fd and two buffers), or
 * runs twice.
 */
#ifndef BROOK_STORAGE_ROLLMETA_H
#define BROOK_STORAGE_ROLLMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_SNAPSHOT_FILE "producer.snapshot"
#define LOG_SNAPSHOT_PREV_FILE "producer.snapshot.prev" /* the one before (log_load_producers) */
#define LOG_EPOCHS_FILE "leader-epochs"

typedef struct roll_meta roll_meta;

/* Takes ownership of dir_fd, txn_fd (-1: none), snap and epochs (malloc'd; epochs may be
 * NULL), also when it fails (NULL: no memory). */
roll_meta *rm_new(int dir_fd, int txn_fd, uint8_t *snap, size_t snap_len, char *epochs,
                  size_t epochs_len);
/* Also cuts the sealed segment's file back to `size` once the segment is durable (fd: a
 * duplicate of its descriptor, owned from here): the disk blocks a spare reserved past it,
 * and the zeros written ahead (log.h). With `durable` (the file's size shrinks) the cut is
 * fdatasynced too, so that the file never again shows the zeros. */
void rm_set_trim(roll_meta *m, int fd, uint64_t size, bool durable);
/* Neither handed to a thread nor run: the loop may still change or drop it. */
bool rm_pending(const roll_meta *m);
/* The loop hands it to whoever runs it next (a flush job, or its own log_flush_sync). */
void rm_submit(roll_meta *m);
/* Runs the writes (a flush_item.after hook: err is the segment's fdatasync result; with an
 * error nothing is written). Returns the item's error: err, or the errno of step 1 or 4. */
int rm_run(void *m, int err);
/* Blocks the caller (the loop) until a submitted one has run; returns its rm_run() result. */
int rm_wait(roll_meta *m);
/* A pending one forgets its epochs: the loop saved a newer history meanwhile. */
void rm_forget_epochs(roll_meta *m);
/* After it ran: logs what did not get written (steps 2 and 3) under log_name, and frees. */
void rm_finish(roll_meta *m, const char *log_name);
/* Frees one that never ran (its segment was cut or the log closed). */
void rm_free(roll_meta *m);

#endif
