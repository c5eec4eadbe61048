/*
 * flush.h - the flush threads: run fdatasync off the event loop for group commit.
 *
 * Owns: a few worker threads (flush.c) and a queue of tasks. A task is a set of
 * fdatasyncs delivered together (the owner's choice: one log's, or several small logs' of
 * one moment); workers run a task's items in parallel, record the errno per item, and the
 * one that finishes its last item hands the task back to the loop through uv_async, where
 * the completion callback runs for each finished task, then the batch callback once.
 * Tasks run side by side and finish in any order: a task is not held by another's slow
 * fdatasync (there is no round). After a successful fdatasync a worker may also advise
 * the kernel to drop a range of the file's now-clean pages from the page cache (the item's
 * drop range; see store_opts.cache_keep_bytes), and it runs the item's `after` hook (the
 * owner's follow-up writes) on the same thread.
 * Never: touches log state (it only sees fds).
 */
#ifndef BROOK_STORAGE_FLUSH_H
#define BROOK_STORAGE_FLUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct flush_item {
    int fd;
    int err;    /* set by the thread: 0 or errno */
    void *log;  /* the owner's context for this item */
    void *seg;
    int64_t end_offset;
    /* After the fdatasync succeeds: POSIX_FADV_DONTNEED on [drop_off, drop_off + drop_len)
     * of fd (0 length: nothing). Advice only: the kernel drops clean pages, never data. */
    uint64_t drop_off, drop_len;
    /* Then, on the same thread, after(after_arg, err) whatever the fdatasync gave (err is
     * 0 or its errno); what it returns becomes the item's err. NULL: nothing. Work that must
     * follow this file's durability (a roll's producer snapshot, storage/rollmeta.h). */
    int (*after)(void *arg, int err);
    void *after_arg;
} flush_item;

typedef struct flusher flusher;
/* On the loop thread, for each finished task: its items (freed after it returns) and how
 * long the task took from its submission. */
typedef void (*flush_task_cb)(void *ctx, flush_item *items, size_t n, int64_t sync_us);
/* On the loop thread, once after the tasks that one wake-up delivered. */
typedef void (*flush_batch_cb)(void *ctx);

int flusher_start(uv_loop_t *loop, flush_task_cb on_task, flush_batch_cb on_batch, void *ctx,
                  flusher **out);
/* Tasks submitted and not yet delivered (loop thread). */
size_t flusher_pending(const flusher *f);
/* Queues one task; takes ownership of items (malloc'd, n > 0). Loop thread. */
void flusher_submit(flusher *f, flush_item *items, size_t n);
/* Stops the threads once every queued task has run, delivers what finished, and closes
 * the async handle. */
void flusher_stop(flusher *f);
/* Runs a task synchronously on the calling thread (shutdown path, tests). */
void flusher_run_sync(flush_item *items, size_t n);

#endif
