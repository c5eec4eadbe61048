/*
 * flush.h - the flush threads: run fdatasync off the event loop for group commit.
 *
 * Owns: a few worker threads (flush.c), one job at a time. A job is an array of file
 * descriptors; the workers fdatasync them in parallel (so that a journaling file system
 * commits them together), record the errno per item, and the last one wakes the loop
 * through uv_async; the completion callback then runs on the loop thread. After a
 * successful fdatasync a worker may also advise the kernel to drop a range of the file's
 * now-clean pages from the page cache (the item's drop range; see
 * store_opts.cache_keep_bytes), and it runs the item's `after` hook (the owner's follow-up
 * writes) on the same thread. Items of one job may complete in any order: the owner
 * counts nothing durable before the whole job is delivered.
 * Never: touches log state (it only sees fds), or runs two jobs at once.
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
/* Called on the loop thread with the finished job; items are freed after it returns. */
typedef void (*flush_done_cb)(void *ctx, flush_item *items, size_t n, int64_t sync_us);

int flusher_start(uv_loop_t *loop, flush_done_cb cb, void *ctx, flusher **out);
bool flusher_busy(const flusher *f);
/* Takes ownership of items (malloc'd). The flusher must not be busy. */
void flusher_submit(flusher *f, flush_item *items, size_t n);
/* Stops the thread (waits for a running job first) and closes the async handle. */
void flusher_stop(flusher *f);
/* Runs a job synchronously on the calling thread (shutdown path, tests). */
void flusher_run_sync(flush_item *items, size_t n);

#endif
