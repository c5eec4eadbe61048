/* flush.c - see flush.h. */
#include "storage/flush.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/clock.h"

struct flusher {
    uv_async_t async;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    flush_done_cb cb;
    void *ctx;
    flush_item *items; /* the job; NULL when idle */
    size_t n;
    bool done;      /* the thread finished the job; waiting for the loop */
    bool stopping;
    int64_t sync_us;
};

void flusher_run_sync(flush_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        items[i].err = fdatasync(items[i].fd) == 0 ? 0 : errno;
}

static void *flusher_main(void *arg)
{
    flusher *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->stopping && (f->items == NULL || f->done))
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stopping && (f->items == NULL || f->done))
            break;
        flush_item *items = f->items;
        size_t n = f->n;
        pthread_mutex_unlock(&f->mu);
        int64_t t0 = clock_mono_us();
        flusher_run_sync(items, n);
        int64_t us = clock_mono_us() - t0;
        pthread_mutex_lock(&f->mu);
        f->sync_us = us;
        f->done = true;
        uv_async_send(&f->async);
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
    if ((rc = pthread_create(&f->thread, NULL, flusher_main, f)) != 0) {
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
    f->items = items;
    f->n = n;
    f->done = false;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void flusher_free_cb(uv_handle_t *h) { free(h->data); }

void flusher_stop(flusher *f)
{
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    if (f->done) {
        /* Deliver a finished job so its logs are unpinned before they close. */
        f->async.data = f;
        flusher_on_async(&f->async);
    }
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    uv_close((uv_handle_t *)&f->async, flusher_free_cb);
}
