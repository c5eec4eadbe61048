/* store.c - see store.h. */
#include "storage/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/fsutil.h"
#include "base/limits.h"
#include "base/log.h"
#include "storage/flush.h"
#include "storage/rollmeta.h"

#define CLEAN_MARKER ".clean-shutdown"
#define DELETE_SUFFIX "-delete"

struct store {
    store_opts o;
    char *dir;
    uv_loop_t *loop;
    flusher *flusher;
    uv_timer_t interval_timer; /* interval mode: the periodic flush; sync mode: lazy_due */
    bool interval_due;
    bool lazy_due; /* sync mode: lazily marked logs go with the next job */
    uint64_t unflushed; /* bytes appended since flushes last began (interval mode) */
    partition *dirty_head;
    uint64_t append_gen; /* bumped by every store_mark_dirty (every append) */
    size_t ndue; /* partitions with flush_due set */
    bool clean;
    bool closing; /* no new flush tasks */
    store_stats stats;
};

static void store_submit(store *s);

static void partition_free(partition *p)
{
    free(p->topic);
    free(p);
}

static void dirty_push(store *s, partition *p);

/* On the loop, for one log's part of a finished task: record its new durable offset; free
 * the partition if it was dropped meanwhile. */
static void log_flushed(store *s, plog *l, flush_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        log_flush_done(l, items[i].seg, items[i].end_offset, items[i].err);
    partition *p = l->user;
    if (!p)
        return;
    BROOK_ASSERT(p->flushing);
    p->flushing = false;
    if (p->dropping) {
        log_destroy(p->log);
        partition_free(p);
        return;
    }
    /* A sync begun before a roll leaves that roll's writes (rollmeta.h) to the next task,
     * which must come even if nothing more is appended. */
    if (log_has_unsynced(l) && !l->failed) {
        p->dirty_lazy = false;
        dirty_push(s, p);
    }
}

/* On the loop, for a finished task: each of its logs in turn (a log's items are adjacent,
 * in log_flush_begin()'s order). */
static void store_on_flushed(void *ctx, flush_item *items, size_t n, int64_t sync_us)
{
    store *s = ctx;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && items[j].log == items[i].log; j++)
            ;
        log_flushed(s, items[i].log, items + i, j - i);
    }
    s->stats.flush_jobs++;
    s->stats.flush_items += n;
    s->stats.last_sync_us = sync_us;
}

/* On the loop, after the tasks one wake-up delivered: tell the owner, then start the logs
 * written meanwhile (and those whose task was running when they came due). */
static void store_on_flush_batch(void *ctx)
{
    store *s = ctx;
    if (s->o.flush_sync)
        s->o.on_durable(s->o.ctx);
    store_submit(s);
}

/* Finishes deletions a crash interrupted: directories renamed with DELETE_SUFFIX. */
static void remove_tombstones(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t sl = strlen(DELETE_SUFFIX);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= sl || strcmp(e->d_name + n - sl, DELETE_SUFFIX) != 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int rc = fs_remove_tree(path);
        LOG_INFO("storage", "removed %s left by an interrupted topic deletion%s", path,
                 rc ? " (partly)" : "");
    }
    closedir(d);
}

/* Interval mode: the periodic flush. Sync mode: the lazily marked logs' deadline. */
static void store_on_interval(uv_timer_t *t)
{
    store *s = t->data;
    if (!s->o.flush_sync)
        s->interval_due = true;
    for (partition *p = s->dirty_head; p && s->o.flush_sync; p = p->next_dirty)
        s->lazy_due |= p->dirty_lazy;
    store_submit(s);
}

int store_open(const store_opts *o, uv_loop_t *loop, store **out, bool *clean_out)
{
    store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->o = *o;
    s->loop = loop;
    s->dir = strdup(o->data_dir);
    int rc = s->dir ? fs_mkdirs(s->dir) : -ENOMEM;
    if (rc != 0) {
        LOG_ERROR("storage", "cannot create data directory %s: %s", o->data_dir, strerror(-rc));
        goto fail;
    }
    char marker[PATH_MAX];
    snprintf(marker, sizeof(marker), "%s/%s", s->dir, CLEAN_MARKER);
    s->clean = access(marker, F_OK) == 0;
    if (s->clean) {
        /* From here on a crash must count as unclean, so the marker goes first. */
        if (unlink(marker) != 0 || (rc = fs_fsync_dir(s->dir)) != 0) {
            rc = rc ? rc : -errno;
            LOG_ERROR("storage", "cannot remove %s: %s", marker, strerror(-rc));
            goto fail;
        }
    }
    remove_tombstones(s->dir);
    if ((rc = flusher_start(loop, store_on_flushed, store_on_flush_batch, s, &s->flusher)) != 0)
        goto fail;
    uv_timer_init(loop, &s->interval_timer);
    s->interval_timer.data = s;
    if (!o->flush_sync)
        uv_timer_start(&s->interval_timer, store_on_interval, (uint64_t)o->flush_interval_ms,
                       (uint64_t)o->flush_interval_ms);
    *clean_out = s->clean;
    *out = s;
    return 0;
fail:
    free(s->dir);
    free(s);
    return rc;
}

bool store_was_clean(const store *s) { return s->clean; }

int store_partition_open(store *s, const char *topic, int32_t index, const log_config *cfg,
                         int64_t now_ms, partition **out)
{
    partition *p = calloc(1, sizeof(*p));
    if (!p || !(p->topic = strdup(topic))) {
        free(p);
        return LOG_ERR_NOMEM;
    }
    p->index = index;
    p->ra_fd = -1;
    char dir[PATH_MAX], name[BROOK_TOPIC_NAME_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/%s-%d", s->dir, topic, index);
    snprintf(name, sizeof(name), "%s-%d", topic, index);
    int rc = log_open(dir, name, cfg, s->clean, now_ms, &p->log);
    if (rc != LOG_OK) {
        partition_free(p);
        return rc;
    }
    p->log->user = p;
    p->log->zero_ahead = s->o.flush_sync && s->o.zero_ahead;
    p->wake_end = p->log->log_end_offset;
    *out = p;
    return LOG_OK;
}

static void dirty_unlink(store *s, partition *p)
{
    partition **pp = &s->dirty_head;
    while (*pp && *pp != p)
        pp = &(*pp)->next_dirty;
    if (*pp)
        *pp = p->next_dirty;
    p->in_dirty_list = false;
}

/* Renames the partition's directory out of the way at once (like Kafka's "-delete"
 * directories), so a topic re-created with the same name gets a fresh directory even
 * while the old files wait for a flush in flight to finish. */
static void tombstone(store *s, partition *p)
{
    static uint64_t seq;
    char dst[PATH_MAX];
    snprintf(dst, sizeof(dst), "%s/%s-%d.%llu-%llu%s", s->dir, p->topic, p->index,
             (unsigned long long)getpid(), (unsigned long long)++seq, DELETE_SUFFIX);
    if (rename(p->log->dir, dst) != 0) {
        LOG_ERROR("storage", "cannot rename %s for deletion: %s", p->log->dir, strerror(errno));
        return;
    }
    char *nd = strdup(dst);
    if (nd) {
        free(p->log->dir);
        p->log->dir = nd;
    }
    if (fs_fsync_dir(s->dir) != 0)
        LOG_WARN("storage", "cannot fsync %s after renaming %s", s->dir, dst);
}

void store_partition_drop(store *s, partition *p)
{
    if (p->in_dirty_list)
        dirty_unlink(s, p);
    if (p->flush_due) {
        p->flush_due = false;
        s->ndue--;
    }
    p->dropping = true;
    tombstone(s, p);
    if (p->flushing)
        return; /* freed when its task is delivered (store_on_flushed) */
    log_destroy(p->log);
    partition_free(p);
}

int64_t store_high_watermark(const store *s, const partition *p)
{
    int64_t local = s->o.flush_sync ? p->log->durable_offset : p->log->log_end_offset;
    return p->replicated && p->repl_hw < local ? p->repl_hw : local;
}

/* Puts p on the list flush tasks are made from (store_submit). */
static void dirty_push(store *s, partition *p)
{
    /* A roll left the sealed segment for the flush thread: sync it now, not at the next
     * tick, or a second roll before that tick would find it waiting and sync it on the
     * loop (log_roll), holding every client for up to a segment's dirty bytes. */
    if (!s->o.flush_sync && log_has_unsynced(p->log))
        s->interval_due = true;
    if (p->in_dirty_list)
        return;
    p->in_dirty_list = true;
    p->next_dirty = s->dirty_head;
    s->dirty_head = p;
}

typedef struct spare_job {
    uv_work_t req;
    store *s;
    plog *log; /* NULL once the log is freed (log_spare_begin) */
    char path[PATH_MAX];
    int64_t bytes;
    int err;
} spare_job;

/* On a libuv worker: the file, empty, with its blocks reserved. Another inode than the
 * active segment's, so the loop's writes never wait for this. */
static void spare_work(uv_work_t *req)
{
    spare_job *j = req->data;
    int fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    j->err = fd < 0 ? -errno : 0;
    if (fd >= 0 && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)j->bytes) != 0)
        j->err = -errno;
    if (fd >= 0)
        close(fd);
    if (j->err != 0 && fd >= 0)
        (void)unlink(j->path);
}

static void spare_done(uv_work_t *req, int status)
{
    spare_job *j = req->data;
    if (status != 0 && j->err == 0)
        j->err = status;
    if (j->log)
        log_spare_done(j->log, j->err);
    if (j->log && j->err == 0)
        j->s->stats.segments_reserved++;
    free(j);
}

/* Starts making p's next segment file when its log wants one. */
static void spare_maybe_start(store *s, partition *p)
{
    if (!s->o.reserve_segments || p->dropping || !log_spare_wanted(p->log))
        return;
    spare_job *j = calloc(1, sizeof(*j));
    if (!j)
        return; /* the next segment just grows as written */
    j->s = s;
    j->req.data = j;
    log_spare_begin(p->log, &j->log, j->path, sizeof(j->path), &j->bytes);
    if (uv_queue_work(s->loop, &j->req, spare_work, spare_done) != 0) {
        log_spare_done(p->log, -EAGAIN);
        free(j);
    }
}

/* Counts p's new bytes for the interval threshold and the "appended since" counter. */
static void count_append(store *s, partition *p)
{
    s->append_gen++;
    s->unflushed += p->log->appended_bytes - p->counted_bytes;
    p->counted_bytes = p->log->appended_bytes;
    if (!s->o.flush_sync && s->o.flush_interval_bytes > 0 &&
        s->unflushed >= (uint64_t)s->o.flush_interval_bytes)
        s->interval_due = true; /* submitted at the end of this loop turn */
}

void store_mark_dirty(store *s, partition *p)
{
    count_append(s, p);
    p->dirty_lazy = false;
    p->wake_end = p->log->log_end_offset;
    dirty_push(s, p);
    spare_maybe_start(s, p);
}

void store_mark_lazy(store *s, partition *p)
{
    if (!s->o.flush_sync) {
        store_mark_dirty(s, p); /* interval mode: no fsync to spare */
        return;
    }
    count_append(s, p);
    if (!p->in_dirty_list)
        p->dirty_lazy = true;
    dirty_push(s, p);
    spare_maybe_start(s, p);
    if (p->dirty_lazy && !uv_is_active((uv_handle_t *)&s->interval_timer)) {
        int64_t ms = s->o.flush_interval_ms < STORE_LAZY_MAX_MS ? s->o.flush_interval_ms
                                                                 : STORE_LAZY_MAX_MS;
        uv_timer_start(&s->interval_timer, store_on_interval, (uint64_t)ms, 0);
    }
}

void store_flush_soon(store *s, partition *p)
{
    (void)s;
    p->dirty_lazy = false; /* store_before_poll submits it with the next job */
    p->wake_end = p->log->log_end_offset;
}

uint64_t store_append_gen(const store *s) { return s->append_gen; }

/* Readahead requests in flight, and the bytes their workers read, over every store (loop
 * thread only). */
static int g_readahead_jobs;
static uint64_t g_readahead_finished, g_readahead_touched;

#define READAHEAD_TOUCH_CHUNK (256u << 10)

typedef struct readahead_job {
    uv_work_t req;
    int fd; /* a dup: the segment may be closed meanwhile */
    uint64_t off, len;
    bool touch;
    uint64_t touched; /* set by the worker */
} readahead_job;

/* On a libuv worker: the kernel allocates the pages and starts the reads; with touch the
 * worker then reads them (advice only: a failure, or the file's end, stops it quietly). */
static void readahead_work(uv_work_t *req)
{
    readahead_job *j = req->data;
    (void)posix_fadvise(j->fd, (off_t)j->off, (off_t)j->len, POSIX_FADV_WILLNEED);
    uint8_t *scratch = j->touch ? malloc(READAHEAD_TOUCH_CHUNK) : NULL;
    while (scratch && j->touched < j->len) {
        uint64_t want = j->len - j->touched;
        ssize_t n = pread(j->fd, scratch, want < READAHEAD_TOUCH_CHUNK ? want
                                                                        : READAHEAD_TOUCH_CHUNK,
                          (off_t)(j->off + j->touched));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        j->touched += (uint64_t)n;
    }
    free(scratch);
}

static void readahead_done(uv_work_t *req, int status)
{
    (void)status;
    readahead_job *j = req->data;
    g_readahead_touched += j->touched;
    g_readahead_finished++;
    close(j->fd);
    free(j);
    g_readahead_jobs--;
}

void store_readahead(store *s, partition *p, const wr_file_span *span)
{
    if (span->len == 0)
        return;
    uint64_t end = span->pos + span->len;
    bool same = p->ra_fd == span->fd && p->ra_to >= span->pos;
    if (same && end + STORE_READAHEAD_BYTES / 2 <= p->ra_to)
        return; /* enough is on its way */
    if (g_readahead_jobs >= STORE_READAHEAD_JOBS)
        return;
    uint64_t from = same && p->ra_to > end ? p->ra_to : end;
    readahead_job *j = malloc(sizeof(*j));
    int fd = j ? fcntl(span->fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0) {
        free(j);
        return; /* advice only */
    }
    *j = (readahead_job){.fd = fd, .off = from, .len = end + STORE_READAHEAD_BYTES - from,
                         .touch = s->o.readahead_touch};
    j->req.data = j;
    if (uv_queue_work(s->loop, &j->req, readahead_work, readahead_done) != 0) {
        close(fd);
        free(j);
        return;
    }
    g_readahead_jobs++;
    p->ra_fd = span->fd;
    p->ra_to = end + STORE_READAHEAD_BYTES;
    s->stats.readahead_jobs++;
    s->stats.readahead_bytes += j->len;
}

/* A log's fdatasyncs as flush items, in log_flush_begin()'s order (the flush thread runs
 * a job's items in parallel, but their results are recorded in this order). */
static size_t items_of_log(store *s, plog *l, flush_item *out)
{
    log_sync syncs[LOG_FLUSH_MAX];
    size_t n = log_flush_begin(l, syncs);
    for (size_t i = 0; i < n; i++) {
        out[i] = (flush_item){.fd = syncs[i].fd, .log = l, .seg = syncs[i].seg,
                              .end_offset = syncs[i].end_offset,
                              .after = syncs[i].meta ? rm_run : NULL,
                              .after_arg = syncs[i].meta};
        if (s->o.cache_keep_bytes > 0 &&
            log_cache_release(syncs[i].seg, syncs[i].covers, s->o.cache_keep_bytes,
                              &out[i].drop_off, &out[i].drop_len))
            s->stats.cache_released_bytes += out[i].drop_len;
    }
    return n;
}

/* Whether p's log may go to the flush threads now: not while its last task runs (one per
 * log), and in sync mode a lazily dirty one only once due; in interval mode only at the
 * interval (or its byte threshold). A log that came due while its task ran goes when that
 * task is delivered (flush_due). */
static bool submit_now(store *s, partition *p)
{
    bool due = p->flush_due || (s->o.flush_sync ? !p->dirty_lazy || s->lazy_due
                                                : s->interval_due);
    if (!due || !p->flushing)
        return due;
    if (!p->flush_due) {
        p->flush_due = true;
        s->ndue++;
    }
    return false;
}

/* Hands the dirty logs that may go now (submit_now) to the flush threads: each log with
 * at least STORE_FLUSH_ALONE_BYTES appended since its last flush began as a task of its
 * own, the others together as one task (their fdatasyncs run in parallel and come back in
 * one wake-up of the loop). So a small log never waits for a large one's fdatasync. */
static void store_submit(store *s)
{
    if (!s->dirty_head) {
        s->lazy_due = false; /* what was due left the list (a partition dropped) */
        return;
    }
    if (s->closing || (!s->o.flush_sync && !s->interval_due && s->ndue == 0))
        return;
    flush_item *small = NULL; /* made at the first small log (most turns submit none) */
    size_t k = 0;
    bool any = false;
    partition *p = s->dirty_head, *kept = NULL;
    for (partition *next; p; p = next) {
        next = p->next_dirty;
        if (!submit_now(s, p)) {
            p->next_dirty = kept;
            kept = p;
            continue;
        }
        p->in_dirty_list = false;
        p->dirty_lazy = false;
        p->next_dirty = NULL;
        if (p->flush_due) {
            p->flush_due = false;
            s->ndue--;
        }
        uint64_t bytes = p->log->appended_bytes - p->submitted_bytes;
        p->submitted_bytes = p->log->appended_bytes;
        flush_item its[LOG_FLUSH_MAX];
        size_t m = items_of_log(s, p->log, its);
        p->flushing = m > 0;
        any |= m > 0;
        if (m == 0)
            continue;
        bool alone = bytes >= STORE_FLUSH_ALONE_BYTES;
        flush_item *dst;
        if (alone) {
            dst = calloc(m, sizeof(*dst));
        } else {
            if (!small) { /* room for this log and every one after it */
                size_t left = 1;
                for (partition *q = next; q; q = q->next_dirty)
                    left++;
                small = calloc(left * LOG_FLUSH_MAX, sizeof(*small));
            }
            dst = small ? small + k : NULL;
        }
        BROOK_ASSERT(dst); /* cannot make data durable without memory: stop loudly */
        memcpy(dst, its, m * sizeof(*its));
        if (alone)
            flusher_submit(s->flusher, dst, m);
        else
            k += m;
    }
    if (k > 0)
        flusher_submit(s->flusher, small, k);
    else
        free(small);
    s->dirty_head = kept;
    s->lazy_due = false;
    s->interval_due = false;
    if (any)
        s->unflushed = 0;
}

void store_before_poll(store *s)
{
    if (s->o.flush_sync || s->interval_due)
        store_submit(s);
}

static void store_free_cb(uv_handle_t *h) { free(h->data); }

void store_close(store *s, partition **parts, size_t nparts)
{
    s->closing = true;
    flusher_stop(s->flusher); /* runs and delivers every task queued */
    bool all_ok = true;
    for (size_t i = 0; i < nparts; i++) {
        plog *l = parts[i]->log;
        l->dirty = true; /* a final sync of every active segment, dirty or not */
        log_flush_sync(l);
        if (l->failed)
            all_ok = false;
        log_close(l);
        partition_free(parts[i]);
    }
    if (all_ok) {
        char marker[PATH_MAX];
        snprintf(marker, sizeof(marker), "%s/%s", s->dir, CLEAN_MARKER);
        if (fs_write_atomic(marker, "clean\n", 6) != 0)
            LOG_WARN("storage", "cannot write the clean-shutdown marker; next start recovers");
    }
    free(s->dir);
    /* The timer lives in s: s is freed by its close callback, when the loop has let go of
     * it (freeing it here left the loop a closing handle in freed memory). */
    uv_close((uv_handle_t *)&s->interval_timer, store_free_cb);
}

store_stats store_get_stats(const store *s)
{
    store_stats st = s->stats;
    st.readahead_finished = g_readahead_finished;
    st.readahead_touched_bytes = g_readahead_touched;
    return st;
}
