/* flush.c - see flush.h.
 *
 * A job's fdatasyncs run in parallel on FLUSH_WORKERS threads: each worker takes the next
 * item with an atomic counter. On a journaling file system, concurrent fsyncs of many
 * files share one journal commit, so a group-commit round over N dirty partitions costs
 * about one fsync instead of N in a row. The worker that finishes the last item, once
 * every worker has left the job, wakes the loop. */
#include "storage/flush.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/clock.h"

#define FLUSH_WORKERS 8

struct flusher {
    uv_async_t async;
    pthread_t threads[FLUSH_WORKERS];
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    flush_done_cb cb;
    void *ctx;
    flush_item *items; /* the job; NULL when idle */
    size_t n;
    uint64_t gen;      /* bumped per job */
    size_t next;       /* next item to take (atomic) */
    size_t pending;    /* items not yet synced (atomic) */
    int active;        /* workers inside the current job */
    bool done;         /* the job finished; waiting for the loop */
    bool stopping;
    int64_t started_us, sync_us;
};

/* One item: its fdatasync, then, once that succeeded, the advice to drop the range it made
 * clean (the advice's own failure changes nothing: the pages just stay cached), then the
 * owner's hook. */
static void flush_one(flush_item *it)
{
    it->err = fdatasync(it->fd) == 0 ? 0 : errno;
    if (it->err == 0 && it->drop_len > 0)
        (void)posix_fadvise(it->fd, (off_t)it->drop_off, (off_t)it->drop_len,
                            POSIX_FADV_DONTNEED);
    if (it->after)
        it->err = it->after(it->after_arg, it->err);
}

void flusher_run_sync(flush_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        flush_one(&items[i]);
}

static void *flusher_main(void *arg)
{
    flusher *f = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stopping && (f->items == NULL || f->done || f->gen == seen))
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stopping && (f->items == NULL || f->done || f->gen == seen))
            break;
        seen = f->gen;
        flush_item *items = f->items;
        size_t n = f->n;
        f->active++;
        pthread_mutex_unlock(&f->mu);
        for (;;) {
            size_t i = __atomic_fetch_add(&f->next, 1, __ATOMIC_ACQ_REL);
            if (i >= n)
                break;
            flush_one(&items[i]);
            __atomic_sub_fetch(&f->pending, 1, __ATOMIC_ACQ_REL);
        }
        pthread_mutex_lock(&f->mu);
        f->active--;
        if (f->active == 0 && __atomic_load_n(&f->pending, __ATOMIC_ACQUIRE) == 0 && !f->done) {
            f->sync_us = clock_mono_us() - f->started_us;
            f->done = true;
            uv_async_send(&f->async);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* On the loop: hand the finished job to the owner, then become idle. */
static void flusher_on_async(uv_async_t *h)
{
    flusher *f = h->data;
    pthread_mutex_lock(&f->mu);
    if (!f->done) {
        pthread_mutex_unlock(&f->mu);
        return;
    }
    flush_item *items = f->items;
    size_t n = f->n;
    int64_t us = f->sync_us;
    f->items = NULL;
    f->n = 0;
    f->done = false;
    pthread_mutex_unlock(&f->mu);
    f->cb(f->ctx, items, n, us);
    free(items);
}

int flusher_start(uv_loop_t *loop, flush_done_cb cb, void *ctx, flusher **out)
{
    flusher *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->cb = cb;
    f->ctx = ctx;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    int rc = uv_async_init(loop, &f->async, flusher_on_async);
    if (rc != 0) {
        free(f);
        return rc;
    }
    f->async.data = f;
    for (int i = 0; i < FLUSH_WORKERS; i++) {
        if ((rc = pthread_create(&f->threads[i], NULL, flusher_main, f)) != 0)
            break;
        f->nthreads++;
    }
    if (f->nthreads == 0) {
        uv_close((uv_handle_t *)&f->async, NULL);
        return -rc;
    }
    *out = f;
    return 0;
}

bool flusher_busy(const flusher *f) { return f->items != NULL; }

void flusher_submit(flusher *f, flush_item *items, size_t n)
{
    BROOK_ASSERT(!flusher_busy(f));
    BROOK_ASSERT(items && n > 0);
    pthread_mutex_lock(&f->mu);
    BROOK_ASSERT(f->active == 0);
    f->items = items;
    f->n = n;
    f->next = 0;
    f->pending = n;
    f->done = false;
    f->gen++;
    f->started_us = clock_mono_us();
    /* Wake only as many workers as there are files: a broadcast for a one-file job woke
     * all of them for nothing (context switches on every fsync, measured as the largest
     * cost of a replicated acks=all produce). Every worker is waiting (none is active), and
     * one woken worker finishes the whole job if it has to. */
    for (size_t i = 0; i < n && i < (size_t)f->nthreads; i++)
        pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void flusher_free_cb(uv_handle_t *h) { free(h->data); }

void flusher_stop(flusher *f)
{
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    for (int i = 0; i < f->nthreads; i++)
        pthread_join(f->threads[i], NULL);
    /* Workers finish a job they saw before they stop, so a job is either done or was
     * never picked up; in the latter case it runs here. */
    if (f->items && !f->done) {
        flusher_run_sync(f->items, f->n);
        f->done = true;
    }
    if (f->done) {
        /* Deliver a finished job so its logs are unpinned before they close. */
        f->async.data = f;
        flusher_on_async(&f->async);
    }
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    uv_close((uv_handle_t *)&f->async, flusher_free_cb);
}
