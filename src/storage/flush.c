/* flush.c - see flush.h.
 *
 * Tasks wait in a FIFO. Each of FLUSH_WORKERS threads takes the next item of the oldest
 * task, so one task's items run in parallel; the worker that finishes a task's last item
 * moves it to the done list and wakes the loop. No round: a task is delivered when its own
 * items are done, while other tasks still run, and the owner submits new tasks whenever it
 * likes. (On a journaling file system concurrent fsyncs of many files share journal
 * commits.) */
#include "storage/flush.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/clock.h"

#define FLUSH_WORKERS 8

typedef struct flush_task {
    struct flush_task *next;
    flush_item *items;
    size_t n;
    size_t taken; /* items handed to workers (under mu) */
    size_t left;  /* items not finished (under mu) */
    int64_t submitted_us, sync_us;
} flush_task;

struct flusher {
    uv_async_t async;
    pthread_t threads[FLUSH_WORKERS];
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    flush_task_cb on_task;
    flush_batch_cb on_batch;
    void *ctx;
    flush_task *queue_head, *queue_tail; /* waiting for a worker (under mu) */
    flush_task *done;                    /* finished, newest first (under mu) */
    size_t pending;                      /* submitted, not yet delivered (loop only) */
    bool stopping;
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

/* Under mu: the next item to run (its task in *task), or NULL when none waits. A task
 * leaves the queue once all its items are handed out. */
static flush_item *queue_take(flusher *f, flush_task **task)
{
    flush_task *t = f->queue_head;
    if (!t)
        return NULL;
    flush_item *it = &t->items[t->taken++];
    if (t->taken == t->n) {
        f->queue_head = t->next;
        if (!f->queue_head)
            f->queue_tail = NULL;
        t->next = NULL;
    }
    *task = t;
    return it;
}

/* A worker: items until the queue is empty and the flusher stops (so a stop runs every
 * task queued before it). */
static void *flusher_main(void *arg)
{
    flusher *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        flush_task *t = NULL;
        flush_item *it = queue_take(f, &t);
        if (!it) {
            if (f->stopping)
                break;
            pthread_cond_wait(&f->cv, &f->mu);
            continue;
        }
        pthread_mutex_unlock(&f->mu);
        flush_one(it);
        pthread_mutex_lock(&f->mu);
        BROOK_ASSERT(t->left > 0);
        if (--t->left > 0)
            continue;
        t->sync_us = clock_mono_us() - t->submitted_us;
        t->next = f->done;
        f->done = t;
        uv_async_send(&f->async); /* coalesced by libuv while the loop has not run it */
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* On the loop: every finished task to the owner, oldest first, then the batch callback. */
static void flusher_on_async(uv_async_t *h)
{
    flusher *f = h->data;
    pthread_mutex_lock(&f->mu);
    flush_task *t = f->done, *fifo = NULL;
    f->done = NULL;
    pthread_mutex_unlock(&f->mu);
    if (!t)
        return;
    while (t) { /* the list is newest first */
        flush_task *next = t->next;
        t->next = fifo;
        fifo = t;
        t = next;
    }
    while (fifo) {
        flush_task *next = fifo->next;
        BROOK_ASSERT(f->pending > 0);
        f->pending--;
        f->on_task(f->ctx, fifo->items, fifo->n, fifo->sync_us);
        free(fifo->items);
        free(fifo);
        fifo = next;
    }
    f->on_batch(f->ctx);
}

int flusher_start(uv_loop_t *loop, flush_task_cb on_task, flush_batch_cb on_batch, void *ctx,
                  flusher **out)
{
    flusher *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->on_task = on_task;
    f->on_batch = on_batch;
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

size_t flusher_pending(const flusher *f) { return f->pending; }

void flusher_submit(flusher *f, flush_item *items, size_t n)
{
    BROOK_ASSERT(items && n > 0);
    flush_task *t = calloc(1, sizeof(*t));
    BROOK_ASSERT(t); /* cannot make data durable without memory: stop loudly */
    t->items = items;
    t->n = n;
    t->left = n;
    t->submitted_us = clock_mono_us();
    f->pending++;
    pthread_mutex_lock(&f->mu);
    BROOK_ASSERT(!f->stopping);
    if (f->queue_tail)
        f->queue_tail->next = t;
    else
        f->queue_head = t;
    f->queue_tail = t;
    /* One worker per item, at most all: a broadcast for one file woke all of them for
     * nothing (context switches on every fsync, measured as the largest cost of a
     * replicated acks=all produce). */
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
    /* Every task ran (workers drain the queue before they stop): deliver them, so their
     * logs are unpinned before they close. */
    f->async.data = f;
    flusher_on_async(&f->async);
    BROOK_ASSERT(f->pending == 0);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    uv_close((uv_handle_t *)&f->async, flusher_free_cb);
}
