/*
 * epochs.h - a partition's leader epoch history (Kafka's leader-epoch checkpoint).
 *
 * Owns: the ordered list of (epoch, start offset): the first offset each leader epoch
 * wrote (or the log end when that leader took over), strictly increasing in both; its
 * text form ("epoch start_offset" per line) and the file that holds it, replaced
 * atomically (write, fdatasync, rename, fsync dir) on every change.
 * It answers OffsetForLeaderEpoch, which is how a follower finds where its log diverges
 * from a new leader's (KIP-101, KIP-279).
 * Never: reads the log itself (log.c feeds it batches and truncations).
 */
#ifndef BROOK_STORAGE_EPOCHS_H
#define BROOK_STORAGE_EPOCHS_H

#include <stddef.h>
#include <stdint.h>

typedef struct epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} epoch_entry;

typedef struct epoch_history {
    epoch_entry *v;
    size_t n, cap;
} epoch_history;

void eh_free(epoch_history *h);
/* The newest epoch, -1 when empty. */
int32_t eh_latest(const epoch_history *h);
/* The epoch of the batch at `offset`: the newest entry starting at or before it; -1 when
 * none does (an empty history, or an offset before every entry). */
int32_t eh_epoch_at(const epoch_history *h, int64_t offset);
/* Records that `epoch` starts at `start` (a batch of that epoch at that offset, or a
 * leader taking over at its log end). More of the latest epoch changes nothing; any entry
 * of this epoch or newer, or starting at or after `start`, is dropped first (Kafka's
 * rule: such entries are not backed by the log). Returns 1 when the history changed, 0
 * when not, -1 on no memory. */
int eh_assign(epoch_history *h, int32_t epoch, int64_t start);
/* Forgets every epoch that starts at or after `end` (the log was cut there). Returns 1
 * when the history changed. */
int eh_truncate(epoch_history *h, int64_t end);
/* OffsetForLeaderEpoch over a log that ends at log_end: the largest known epoch <=
 * `epoch` and where it ended (the next epoch's start, or log_end for the latest). An
 * epoch older than all gives (epoch, the oldest start); newer than all, or an empty
 * history, gives (-1, -1). */
void eh_end_offset(const epoch_history *h, int32_t epoch, int64_t log_end, int32_t *epoch_out,
                   int64_t *end_out);
/* Text form; parse checks order and ranges (returns 0, or -1 naming nothing: a bad file
 * is rebuilt from the log by the caller). */
char *eh_format(const epoch_history *h, size_t *len_out);
int eh_parse(const char *text, size_t len, epoch_history *out);
/* The file: save replaces it atomically (0 or -errno); load returns 0, -ENOENT when
 * absent, -EINVAL when malformed. */
int eh_save(const epoch_history *h, const char *path);
int eh_load(epoch_history *h, const char *path);

#endif
