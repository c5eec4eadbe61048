/* log.c - see log.h for the file layout and the durability contract. */
#include "storage/log.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/fsutil.h"
#include "base/limits.h"
#include "base/log.h"
#include "storage/compact.h"
#include "storage/rollmeta.h"

#define OFFSET_ENTRY_SIZE 8
#define TIME_ENTRY_SIZE 12
#define SCAN_CHUNK (1u << 20)
#define HDR_PEEK 27 /* bytes of a batch header needed to know its offsets */

const char *log_result_name(int rc)
{
    switch (rc) {
    case LOG_OK: return "ok";
    case LOG_ERR_IO: return "I/O error";
    case LOG_ERR_FAILED: return "log failed earlier (read-only)";
    case LOG_ERR_OUT_OF_RANGE: return "offset out of range";
    case LOG_ERR_NOMEM: return "out of memory";
    case LOG_ERR_TOO_LARGE: return "batch larger than segment.bytes";
    case LOG_ERR_FENCED: return "marker from a replaced transaction coordinator";
    }
    return "unknown";
}

static void seg_path(const plog *l, int64_t base, const char *ext, char *out, size_t n)
{
    snprintf(out, n, "%s/%020" PRId64 ".%s", l->dir, base, ext);
}

/* Opens (creating if absent) one of segment base's side files (index, timeindex,
 * txnindex) read-write; the caller owns the fd. -1 with errno on failure. */
static int seg_file_open(const plog *l, int64_t base, const char *ext)
{
    char path[PATH_MAX];
    seg_path(l, base, ext, path, sizeof(path));
    return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}


static int read_full(int fd, void *p, size_t n, uint64_t off, size_t *got_out)
{
    uint8_t *b = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    *got_out = got;
    return 0;
}

/* ---------------- in-memory indexes ---------------- */

static int idx_push(segment *s, uint32_t rel, uint32_t pos)
{
    if (s->nidx == s->idx_cap) {
        size_t cap = s->idx_cap ? s->idx_cap * 2 : 64;
        offset_entry *n = realloc(s->idx, cap * sizeof(*n));
        if (!n)
            return LOG_ERR_NOMEM;
        s->idx = n;
        s->idx_cap = cap;
    }
    s->idx[s->nidx++] = (offset_entry){rel, pos};
    return LOG_OK;
}

static int tidx_push(segment *s, int64_t ts, uint32_t rel)
{
    if (s->ntidx == s->tidx_cap) {
        size_t cap = s->tidx_cap ? s->tidx_cap * 2 : 64;
        time_entry *n = realloc(s->tidx, cap * sizeof(*n));
        if (!n)
            return LOG_ERR_NOMEM;
        s->tidx = n;
        s->tidx_cap = cap;
    }
    s->tidx[s->ntidx++] = (time_entry){ts, rel};
    return LOG_OK;
}

/* Index files are a cache of the in-memory arrays; a failed write here only costs a
 * rebuild on the next unclean start, so it is logged and not fatal. */
static void idx_file_append(const plog *l, segment *s, bool offset_entry_added,
                            bool time_entry_added)
{
    uint8_t b[TIME_ENTRY_SIZE];
    if (s->idx_fd < 0 || s->tidx_fd < 0) { /* the active segment: written at seal or close */
        s->idx_dirty = s->idx_dirty || offset_entry_added || time_entry_added;
        return;
    }
    if (offset_entry_added) {
        const offset_entry *e = &s->idx[s->nidx - 1];
        be32_put(b, e->rel_offset);
        be32_put(b + 4, e->pos);
        if (fs_pwrite_all(s->idx_fd, b, OFFSET_ENTRY_SIZE, (s->nidx - 1) * OFFSET_ENTRY_SIZE))
            LOG_WARN("storage", "%s: cannot write offset index: %s", l->name, strerror(errno));
    }
    if (time_entry_added) {
        const time_entry *e = &s->tidx[s->ntidx - 1];
        be64_put(b, (uint64_t)e->ts);
        be32_put(b + 8, e->rel_offset);
        if (fs_pwrite_all(s->tidx_fd, b, TIME_ENTRY_SIZE, (s->ntidx - 1) * TIME_ENTRY_SIZE))
            LOG_WARN("storage", "%s: cannot write time index: %s", l->name, strerror(errno));
    }
}

/* Records one batch (already in the file at pos) in the segment's bookkeeping and, every
 * index_interval_bytes, in the sparse indexes. */
static int seg_note_batch(plog *l, segment *s, int64_t base, int64_t last, int64_t max_ts,
                          uint64_t pos, uint64_t len, bool write_files)
{
    bool off_added = false, time_added = false;
    if (max_ts > s->max_ts)
        s->max_ts = max_ts;
    if (s->bytes_since_index >= (uint64_t)l->cfg.index_interval_bytes) {
        if (idx_push(s, (uint32_t)(base - s->base_offset), (uint32_t)pos) != LOG_OK)
            return LOG_ERR_NOMEM;
        off_added = true;
        s->bytes_since_index = 0;
        if (s->max_ts > s->last_indexed_ts) {
            if (tidx_push(s, s->max_ts, (uint32_t)(base - s->base_offset)) != LOG_OK)
                return LOG_ERR_NOMEM;
            s->last_indexed_ts = s->max_ts;
            time_added = true;
        }
    }
    s->bytes_since_index += len;
    s->next_offset = last + 1;
    s->size = pos + len;
    if (write_files && (off_added || time_added))
        idx_file_append(l, s, off_added, time_added);
    return LOG_OK;
}

static int seg_write_index_fds(segment *s, int idx_fd, int tidx_fd);

/* Rewrites both index files from memory in one write each (after a load or rebuild, at a
 * seal, at close), through the segment's fds or, when it keeps none (the active segment),
 * fds opened for this; with sync they are fdatasync'ed. */
static int seg_write_indexes_sync(plog *l, segment *s, bool sync)
{
    int idx_fd = s->idx_fd >= 0 ? s->idx_fd : seg_file_open(l, s->base_offset, "index");
    int tidx_fd = s->tidx_fd >= 0 ? s->tidx_fd : seg_file_open(l, s->base_offset, "timeindex");
    int rc = 0;
    if (idx_fd < 0 || tidx_fd < 0)
        rc = -errno;
    if (rc == 0)
        rc = seg_write_index_fds(s, idx_fd, tidx_fd);
    if (rc == 0 && sync && (fdatasync(idx_fd) != 0 || fdatasync(tidx_fd) != 0))
        rc = -errno;
    if (idx_fd >= 0 && idx_fd != s->idx_fd)
        close(idx_fd);
    if (tidx_fd >= 0 && tidx_fd != s->tidx_fd)
        close(tidx_fd);
    if (rc == 0)
        s->idx_dirty = false;
    return rc;
}

static int seg_write_indexes(plog *l, segment *s) { return seg_write_indexes_sync(l, s, false); }

/* Writes the in-memory indexes to the given index and time index fds. */
static int seg_write_index_fds(segment *s, int idx_fd, int tidx_fd)
{
    size_t n = s->nidx * OFFSET_ENTRY_SIZE, nt = s->ntidx * TIME_ENTRY_SIZE;
    uint8_t *b = malloc(n > nt ? n + 1 : nt + 1);
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < s->nidx; i++) {
        be32_put(b + i * 8, s->idx[i].rel_offset);
        be32_put(b + i * 8 + 4, s->idx[i].pos);
    }
    int rc = 0;
    if (ftruncate(idx_fd, 0) != 0 || fs_pwrite_all(idx_fd, b, n, 0) != 0)
        rc = -errno;
    for (size_t i = 0; i < s->ntidx && rc == 0; i++) {
        be64_put(b + i * 12, (uint64_t)s->tidx[i].ts);
        be32_put(b + i * 12 + 8, s->tidx[i].rel_offset);
    }
    if (rc == 0 && (ftruncate(tidx_fd, 0) != 0 || fs_pwrite_all(tidx_fd, b, nt, 0) != 0))
        rc = -errno;
    free(b);
    return rc;
}

/* ---------------- segments ---------------- */

static segment *seg_alloc(int64_t base)
{
    segment *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->base_offset = base;
    s->next_offset = base;
    s->max_ts = -1;
    s->last_indexed_ts = -1;
    s->created_ms = -1;
    s->log_fd = s->idx_fd = s->tidx_fd = s->txn_fd = -1;
    return s;
}

static void seg_free(segment *s)
{
    if (s->log_fd >= 0)
        close(s->log_fd);
    if (s->idx_fd >= 0)
        close(s->idx_fd);
    if (s->tidx_fd >= 0)
        close(s->tidx_fd);
    if (s->txn_fd >= 0)
        close(s->txn_fd);
    rm_free(s->meta);
    free(s->idx);
    free(s->tidx);
    free(s);
}

static int seg_open_files(plog *l, segment *s, bool create)
{
    char path[PATH_MAX];
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    seg_path(l, s->base_offset, "log", path, sizeof(path));
    s->log_fd = open(path, flags, 0644);
    if (s->log_fd < 0)
        return -errno;
    if ((s->idx_fd = seg_file_open(l, s->base_offset, "index")) < 0 ||
        (s->tidx_fd = seg_file_open(l, s->base_offset, "timeindex")) < 0 ||
        (s->txn_fd = seg_file_open(l, s->base_offset, "txnindex")) < 0)
        return -errno;
    return 0;
}

static int segs_push(plog *l, segment *s)
{
    if (l->nsegs == l->segs_cap) {
        size_t cap = l->segs_cap ? l->segs_cap * 2 : 8;
        segment **n = realloc(l->segs, cap * sizeof(*n));
        if (!n)
            return LOG_ERR_NOMEM;
        l->segs = n;
        l->segs_cap = cap;
    }
    l->segs[l->nsegs++] = s;
    return LOG_OK;
}

static segment *active_seg(const plog *l)
{
    BROOK_ASSERT(l->nsegs > 0);
    return l->segs[l->nsegs - 1];
}

/* A segment that is no longer active never changes its indexes again: they are in
 * memory, so their files are made durable and closed, leaving one fd per old segment
 * (the log itself, for reads). Thousands of segments then fit the fd limit. */
static void seg_seal(plog *l, segment *s, bool sync)
{
    int wrc;
    if (s->idx_dirty && (wrc = seg_write_indexes_sync(l, s, sync)) != 0)
        LOG_WARN("storage", "%s: cannot write segment %" PRId64 "'s indexes: %s (rebuilt on "
                 "the next start)", l->name, s->base_offset, strerror(-wrc));
    int *fds[] = {&s->idx_fd, &s->tidx_fd, &s->txn_fd};
    for (unsigned i = 0; i < BROOK_ARRAY_LEN(fds); i++) {
        if (*fds[i] < 0)
            continue;
        if (sync && fdatasync(*fds[i]) != 0)
            LOG_WARN("storage", "%s: index sync failed: %s (rebuilt on the next start)",
                     l->name, strerror(errno));
        close(*fds[i]);
        *fds[i] = -1;
    }
}

/* The active segment keeps only its log fd: its index entries stay in memory (marked dirty)
 * and reach the index files when it is sealed or the log is closed, so a node holds one fd
 * per partition plus one per older segment (#14: 10k partitions within the fd limit). After
 * a crash the active segment's index is rebuilt from the log at the next start, as it was
 * whenever its files lagged. */
static void seg_release_index_fds(segment *s)
{
    int *fds[] = {&s->idx_fd, &s->tidx_fd, &s->txn_fd};
    for (unsigned i = 0; i < BROOK_ARRAY_LEN(fds); i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

/* Creates an empty segment file set at `base`. With sync_dir its directory entry is durable
 * before return: needed at a roll, where acknowledged data follows. The first segment of a
 * new, empty log skips it: a crash that loses that empty file loses nothing, and the next
 * open simply creates it again (topic creation makes the whole set durable through the
 * registry's directory fsync). */
static int seg_create(plog *l, int64_t base, bool sync_dir)
{
    segment *s = seg_alloc(base);
    if (!s)
        return LOG_ERR_NOMEM;
    int rc = seg_open_files(l, s, true);
    if (rc == 0 && sync_dir)
        rc = fs_fsync_dir(l->dir);
    if (rc != 0) {
        LOG_ERROR("storage", "%s: cannot create segment %" PRId64 ": %s", l->name, base,
                  strerror(-rc));
        seg_free(s);
        return LOG_ERR_IO;
    }
    if (segs_push(l, s) != LOG_OK) {
        seg_free(s);
        return LOG_ERR_NOMEM;
    }
    seg_release_index_fds(s);
    return LOG_OK;
}

/*
 * Walks the batches of s from (pos, offset) to the end of its file. With verify, each
 * batch must have magic 2, a matching CRC-32C and the next expected offset; the first
 * one that does not ends the valid log. Indexes are extended for every batch walked.
 * *valid_end gets the end of the last good batch. Returns 0 or -errno.
 */
static int seg_scan(plog *l, segment *s, uint64_t pos, bool verify, uint64_t *valid_end,
                    const char **why)
{
    struct stat st;
    if (fstat(s->log_fd, &st) != 0)
        return -errno;
    uint64_t file_size = (uint64_t)st.st_size;
    size_t cap = SCAN_CHUNK;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    *why = NULL;
    int rc = 0;
    while (pos < file_size) {
        size_t want = (size_t)(file_size - pos < cap ? file_size - pos : cap), got;
        if ((rc = read_full(s->log_fd, buf, want, pos, &got)) != 0)
            break;
        size_t off = 0;
        while (off < got) {
            rb_header h;
            size_t avail = got - off, total = 0;
            if (avail < RB_HEADER_SIZE && pos + off + avail < file_size)
                break; /* header spans the chunk end: read on */
            int vrc;
            if (verify) {
                vrc = rb_check_stored(buf + off, avail, &h, &total);
                if (vrc == RB_ERR_SHORT && rb_parse_header(buf + off, avail, &h) == RB_OK &&
                    h.length > 0 && pos + off + rb_total_size(&h) <= file_size &&
                    rb_total_size(&h) > avail)
                    break; /* complete on disk, just not in this chunk */
            } else {
                vrc = rb_parse_header(buf + off, avail, &h);
                total = rb_total_size(&h);
                if (vrc == RB_OK && (h.length < RB_HEADER_SIZE - RB_LOG_OVERHEAD ||
                                     pos + off + total > file_size))
                    vrc = RB_ERR_LENGTH;
            }
            if (vrc == RB_OK && h.base_offset != s->next_offset)
                vrc = RB_ERR_LENGTH, *why = "offset discontinuity";
            if (vrc != RB_OK) {
                if (!*why)
                    *why = rb_result_name(vrc);
                *valid_end = pos + off;
                goto out;
            }
            int nrc = seg_note_batch(l, s, h.base_offset, rb_last_offset(&h), h.max_timestamp,
                                     pos + off, total, false);
            if (nrc != LOG_OK) {
                rc = -ENOMEM;
                goto out;
            }
            if (s->created_ms < 0)
                s->created_ms = h.max_timestamp;
            off += total;
            if (total > cap / 2 && total < (1u << 30)) {
                /* Grow so the next chunk holds a batch this large. */
                uint8_t *nb = realloc(buf, total * 2);
                if (nb) {
                    buf = nb;
                    cap = total * 2;
                }
            }
        }
        if (off == 0 && got > 0) {
            /* Not even one batch fits the chunk: the length is absurd. */
            *why = "batch larger than the file allows";
            *valid_end = pos;
            goto out;
        }
        pos += off;
    }
    *valid_end = pos < file_size ? pos : file_size;
out:
    free(buf);
    return rc;
}

static void seg_reset_indexes(segment *s)
{
    s->nidx = s->ntidx = 0;
    s->bytes_since_index = 0;
    s->next_offset = s->base_offset;
    s->max_ts = -1;
    s->last_indexed_ts = -1;
    s->size = 0;
}

/* Loads index files into memory and checks them against the log file. Returns 0 when
 * they are consistent, -1 when they must be rebuilt. */
static int seg_load_indexes(plog *l, segment *s, uint64_t file_size)
{
    struct stat st;
    if (fstat(s->idx_fd, &st) != 0 || st.st_size % OFFSET_ENTRY_SIZE != 0)
        return -1;
    size_t n = (size_t)st.st_size / OFFSET_ENTRY_SIZE;
    uint8_t *b = malloc(n * OFFSET_ENTRY_SIZE + TIME_ENTRY_SIZE);
    if (!b)
        return -1;
    size_t got;
    int rc = -1;
    if (read_full(s->idx_fd, b, n * OFFSET_ENTRY_SIZE, 0, &got) || got != n * OFFSET_ENTRY_SIZE)
        goto out;
    for (size_t i = 0; i < n; i++) {
        uint32_t rel = be32_get(b + i * 8), pos = be32_get(b + i * 8 + 4);
        if (pos >= file_size || (i > 0 && (rel <= s->idx[i - 1].rel_offset ||
                                           pos <= s->idx[i - 1].pos)))
            goto out;
        if (idx_push(s, rel, pos) != LOG_OK)
            goto out;
    }
    if (fstat(s->tidx_fd, &st) != 0 || st.st_size % TIME_ENTRY_SIZE != 0)
        goto out;
    size_t nt = (size_t)st.st_size / TIME_ENTRY_SIZE;
    for (size_t i = 0; i < nt; i++) {
        uint8_t e[TIME_ENTRY_SIZE];
        if (read_full(s->tidx_fd, e, TIME_ENTRY_SIZE, i * TIME_ENTRY_SIZE, &got) ||
            got != TIME_ENTRY_SIZE)
            goto out;
        int64_t ts = (int64_t)be64_get(e);
        uint32_t rel = be32_get(e + 8);
        if (i > 0 && (ts < s->tidx[i - 1].ts || rel < s->tidx[i - 1].rel_offset))
            goto out;
        if (tidx_push(s, ts, rel) != LOG_OK)
            goto out;
    }
    rc = 0;
out:
    free(b);
    return rc;
}

/* Whether the file's bytes [from, to) are all zeros: the shape of a tail of zeros written
 * ahead (log.h), behind which lost unsynced batches read as zeros too (longer than twice
 * LOG_ZERO_AHEAD: false, and the tail counts as torn). */
static bool tail_is_zeros(int fd, uint64_t from, uint64_t to)
{
    if (to <= from || to - from > 2 * LOG_ZERO_AHEAD)
        return false;
    size_t n = (size_t)(to - from), got = 0;
    uint8_t *buf = malloc(n);
    bool zeros = buf && read_full(fd, buf, n, from, &got) == 0 && got == n;
    for (size_t i = 0; zeros && i < n; i++)
        zeros = buf[i] == 0;
    free(buf);
    return zeros;
}

/* Loads an open segment's bookkeeping. With verify, every batch is checked and the
 * segment truncated at the first bad one; without, the indexes are trusted when
 * consistent and only the batches after the last index entry are walked (headers only).
 * An inconsistency found while trusting falls back to a verified rebuild. */
static int seg_load(plog *l, segment *s, bool verify)
{
    struct stat st;
    if (fstat(s->log_fd, &st) != 0)
        return -errno;
    uint64_t file_size = (uint64_t)st.st_size;
    uint64_t start = 0;
    seg_reset_indexes(s);
    if (!verify && seg_load_indexes(l, s, file_size) == 0 && s->nidx > 0) {
        /* Pop the last entry and walk from its batch: the walk re-adds it and rebuilds
         * next_offset, size and max timestamp for the tail. */
        offset_entry last = s->idx[--s->nidx];
        start = last.pos;
        s->next_offset = s->base_offset + last.rel_offset;
        s->bytes_since_index = (uint64_t)l->cfg.index_interval_bytes;
        while (s->ntidx > 0 && s->tidx[s->ntidx - 1].rel_offset >= last.rel_offset)
            s->ntidx--;
        if (s->ntidx > 0)
            s->max_ts = s->last_indexed_ts = s->tidx[s->ntidx - 1].ts;
    } else if (!verify) {
        seg_reset_indexes(s);
    }
    uint64_t valid_end = 0;
    const char *why = NULL;
    int rc = seg_scan(l, s, start, verify, &valid_end, &why);
    if (rc != 0)
        return rc;
    if (valid_end < file_size) {
        /* Only zeros after the last batch: zeros written ahead that no cut removed (a
         * crash, or a failed cut), or bytes never written back. Nothing to re-verify: the
         * batches before them were walked. */
        bool zeros = tail_is_zeros(s->log_fd, valid_end, file_size);
        if (!verify && !zeros) {
            LOG_WARN("storage", "%s: segment %" PRId64 " index or tail inconsistent (%s); "
                     "verifying the whole segment", l->name, s->base_offset, why ? why : "?");
            return seg_load(l, s, true);
        }
        if (zeros)
            LOG_INFO("storage", "%s: cutting segment %" PRId64 " back to its last batch (%"
                     PRIu64 " bytes of zeros after it: written ahead, or never written)",
                     l->name, s->base_offset, file_size - valid_end);
        else
            LOG_WARN("storage",
                     "%s: truncating segment %" PRId64 " from %" PRIu64 " to %" PRIu64
                     " bytes (%" PRIu64 " bytes cut: %s)",
                     l->name, s->base_offset, file_size, valid_end, file_size - valid_end,
                     why ? why : "torn tail");
        if (ftruncate(s->log_fd, (off_t)valid_end) != 0 || fdatasync(s->log_fd) != 0)
            return -errno;
    }
    s->size = valid_end;
    return seg_write_indexes(l, s);
}

/* ---------------- producer state and aborted transactions ---------------- */

static size_t seg_find(const plog *l, int64_t offset);
static uint32_t idx_floor_pos(const segment *s, int64_t offset);
static int seg_seek(const plog *l, const segment *s, int64_t offset, uint64_t *pos_io);

#define TXN_ENTRY_SIZE 24

static int txnindex_rewrite_fd(plog *l, segment *s);

static int aborted_push(plog *l, const aborted_txn *a)
{
    if (l->naborted == l->aborted_cap) {
        size_t cap = l->aborted_cap ? l->aborted_cap * 2 : 16;
        aborted_txn *n = realloc(l->aborted, cap * sizeof(*n));
        if (!n)
            return LOG_ERR_NOMEM;
        l->aborted = n;
        l->aborted_cap = cap;
    }
    l->aborted[l->naborted++] = *a;
    return LOG_OK;
}

/* Rewrites a segment's .txnindex from the in-memory list (entries whose marker is in it). */
static int txnindex_rewrite(plog *l, segment *s)
{
    int own = -1;
    if (s->txn_fd < 0) { /* a sealed or active segment: open its index just for this */
        own = s->txn_fd = seg_file_open(l, s->base_offset, "txnindex");
        if (own < 0)
            return -errno;
    }
    int rc = txnindex_rewrite_fd(l, s);
    if (own >= 0) {
        close(own);
        s->txn_fd = -1;
    }
    return rc;
}

static int txnindex_rewrite_fd(plog *l, segment *s)
{
    if (ftruncate(s->txn_fd, 0) != 0)
        return -errno;
    uint64_t pos = 0;
    for (size_t i = 0; i < l->naborted; i++) {
        const aborted_txn *a = &l->aborted[i];
        if (a->last_offset < s->base_offset || a->last_offset >= s->next_offset)
            continue;
        uint8_t b[TXN_ENTRY_SIZE];
        be64_put(b, (uint64_t)a->pid);
        be64_put(b + 8, (uint64_t)a->first_offset);
        be64_put(b + 16, (uint64_t)a->last_offset);
        int rc = fs_pwrite_all(s->txn_fd, b, sizeof(b), pos);
        if (rc != 0)
            return rc;
        pos += sizeof(b);
    }
    return 0;
}

/* Loads a segment's .txnindex; stops at the first entry that does not fit the segment
 * (a torn or stale tail, rewritten after replay). */
static void txnindex_load(plog *l, segment *s)
{
    struct stat st;
    if (fstat(s->txn_fd, &st) != 0)
        return;
    size_t n = (size_t)st.st_size / TXN_ENTRY_SIZE;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[TXN_ENTRY_SIZE];
        size_t got;
        if (read_full(s->txn_fd, b, sizeof(b), i * TXN_ENTRY_SIZE, &got) != 0 ||
            got != sizeof(b))
            return;
        aborted_txn a = {(int64_t)be64_get(b), (int64_t)be64_get(b + 8),
                         (int64_t)be64_get(b + 16)};
        bool fits = a.last_offset >= s->base_offset && a.last_offset < s->next_offset &&
                    a.first_offset <= a.last_offset &&
                    (l->naborted == 0 || a.last_offset > l->aborted[l->naborted - 1].last_offset);
        if (!fits || aborted_push(l, &a) != LOG_OK)
            return;
    }
}

/* Feeds one stored batch to the producer state; an ABORT marker adds an aborted range
 * (written to the active segment's .txnindex when write_index). */
static int log_track_batch(plog *l, segment *s, const uint8_t *batch, size_t len,
                           const rb_header *h, bool write_index)
{
    if (h->producer_id < 0)
        return LOG_OK;
    if (!(h->attributes & RB_ATTR_CONTROL))
        return pstate_on_append(&l->ps, h, h->base_offset) == 0 ? LOG_OK : LOG_ERR_NOMEM;
    int32_t coordinator_epoch;
    int64_t txn_seq;
    int type = rb_control_parse(batch, len, &coordinator_epoch, &txn_seq);
    if (type < 0)
        return LOG_OK; /* unknown control record: nothing to track */
    if (txn_seq > 0 &&
        pstate_marker_applied(&l->ps, h->producer_id, h->producer_epoch, txn_seq) != 0)
        return LOG_ERR_NOMEM;
    pstate_entry *open = pstate_find(&l->ps, h->producer_id);
    if (write_index && open && open->txn != PS_TXN_NONE) {
        aborted_txn cl = {h->producer_id, open->txn_first_offset, h->base_offset};
        if (l->nclosing == l->closing_cap) {
            size_t cap = l->closing_cap ? l->closing_cap * 2 : 8;
            aborted_txn *n = realloc(l->closing, cap * sizeof(*n));
            if (!n)
                return LOG_ERR_NOMEM;
            l->closing = n;
            l->closing_cap = cap;
        }
        l->closing[l->nclosing++] = cl;
    }
    aborted_txn a;
    bool aborted = pstate_on_end_marker(&l->ps, h->producer_id, h->producer_epoch,
                                        type == RB_CONTROL_COMMIT, coordinator_epoch,
                                        h->base_offset, &a);
    pstate_on_marker_time(&l->ps, h->producer_id, h->max_timestamp);
    if (!aborted)
        return LOG_OK;
    if (aborted_push(l, &a) != LOG_OK)
        return LOG_ERR_NOMEM;
    if (write_index) {
        uint8_t b[TXN_ENTRY_SIZE];
        be64_put(b, (uint64_t)a.pid);
        be64_put(b + 8, (uint64_t)a.first_offset);
        be64_put(b + 16, (uint64_t)a.last_offset);
        struct stat st;
        int fd = s->txn_fd;
        if (fd < 0) /* the active segment keeps no index fds (seg_release_index_fds) */
            fd = seg_file_open(l, s->base_offset, "txnindex");
        if (fd < 0 || fstat(fd, &st) != 0 ||
            fs_pwrite_all(fd, b, sizeof(b), (uint64_t)st.st_size) != 0)
            LOG_WARN("storage", "%s: cannot write the aborted-transaction index (rebuilt at "
                     "the next unclean start)", l->name);
        if (fd >= 0 && fd != s->txn_fd)
            close(fd);
    }
    return LOG_OK;
}

/* Replays batches from offset `from` to the end into the producer state. */
static int log_replay(plog *l, int64_t from)
{
    uint8_t hdr[RB_HEADER_SIZE], ctl[256];
    for (size_t si = seg_find(l, from); si < l->nsegs; si++) {
        segment *s = l->segs[si];
        uint64_t pos = idx_floor_pos(s, from);
        int rc = seg_seek(l, s, from, &pos);
        if (rc != LOG_OK)
            return rc;
        while (pos + RB_HEADER_SIZE <= s->size) {
            size_t got;
            rb_header h;
            if (read_full(s->log_fd, hdr, sizeof(hdr), pos, &got) != 0 || got != sizeof(hdr) ||
                rb_parse_header(hdr, got, &h) != RB_OK)
                return LOG_ERR_IO;
            size_t total = rb_total_size(&h);
            const uint8_t *batch = hdr;
            if ((h.attributes & RB_ATTR_CONTROL) && total <= sizeof(ctl)) {
                if (read_full(s->log_fd, ctl, total, pos, &got) != 0 || got != total)
                    return LOG_ERR_IO;
                batch = ctl;
            }
            if (rb_last_offset(&h) >= from &&
                (rc = log_track_batch(l, s, batch, batch == ctl ? total : got, &h, false)))
                return rc;
            pos += total;
        }
        if (txnindex_rewrite(l, s) != 0)
            LOG_WARN("storage", "%s: cannot rewrite the aborted-transaction index", l->name);
    }
    return LOG_OK;
}

/* The producer snapshot at the log end, written by a clean close (a roll's is written by
 * rollmeta.c). */
static int snapshot_write(plog *l)
{
    uint8_t *buf;
    size_t len;
    if (pstate_snapshot_encode(&l->ps, l->log_end_offset, &buf, &len) != 0)
        return LOG_ERR_NOMEM;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", l->dir, LOG_SNAPSHOT_FILE);
    int rc = fs_write_atomic(path, buf, len);
    free(buf);
    if (rc != 0) {
        LOG_WARN("storage", "%s: cannot write producer snapshot: %s", l->name, strerror(-rc));
        return LOG_ERR_IO;
    }
    return LOG_OK;
}

/* Loads one producer snapshot file into l->ps when it describes this log: its offset
 * within the log. Returns that offset, -1 (ps left empty) or SNAPSHOT_STUCK. One that is
 * not usable is deleted (*removed set: the caller fsyncs the directory), or it would look
 * usable again once the log grows past its offset with other records (it lies beyond the
 * log end when a crash cut the segment a roll left unsynced); if it cannot be deleted the
 * log must not open (SNAPSHOT_STUCK). */
#define SNAPSHOT_STUCK (-2)
static int64_t snapshot_load(plog *l, const char *file, bool *removed)
{
    char path[PATH_MAX], *text;
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", l->dir, file);
    if (fs_read_all(path, &text, &len) != 0)
        return -1;
    int64_t off = -1;
    bool ok = pstate_snapshot_decode(&l->ps, (uint8_t *)text, len, &off) == 0 &&
              off >= l->segs[0]->base_offset && off <= l->log_end_offset;
    free(text);
    if (ok)
        return off;
    LOG_WARN("storage", "%s: %s unusable (offset %" PRId64 ", log %" PRId64 "-%" PRId64 ")",
             l->name, file, off, l->segs[0]->base_offset, l->log_end_offset);
    pstate_free(&l->ps);
    pstate_init(&l->ps);
    if (unlink(path) != 0 && errno != ENOENT) {
        LOG_ERROR("storage", "%s: cannot delete %s: %s", l->name, path, strerror(errno));
        return SNAPSHOT_STUCK;
    }
    *removed = true;
    return -1;
}

/* Rebuilds producer state and aborted ranges: the newest usable snapshot (the one the last
 * roll or close wrote, else the one before it, which a roll keeps), then the log after it;
 * with none, the whole log. */
static int log_load_producers(plog *l)
{
    /* Old segments' aborted ranges were loaded as they were opened (in order). */
    txnindex_load(l, l->segs[l->nsegs - 1]);
    bool removed = false;
    int64_t from = snapshot_load(l, LOG_SNAPSHOT_FILE, &removed);
    if (from == -1)
        from = snapshot_load(l, LOG_SNAPSHOT_PREV_FILE, &removed);
    if (from == SNAPSHOT_STUCK || (removed && fs_fsync_dir(l->dir) != 0))
        return LOG_ERR_IO;
    if (from < 0) {
        from = l->segs[0]->base_offset;
        LOG_INFO("storage", "%s: no usable producer snapshot; replaying the whole log",
                 l->name);
    }
    while (l->naborted > 0 && l->aborted[l->naborted - 1].last_offset >= from)
        l->naborted--; /* the replay adds these back */
    return log_replay(l, from);
}

int log_producer_check(const plog *l, const rb_header *h, bool txn_verified, int64_t *dup_offset,
                       int16_t *error_out)
{
    return pstate_check(&l->ps, h, txn_verified, dup_offset, error_out);
}

void log_producer_refused(plog *l, const rb_header *h)
{
    pstate_note_refused(&l->ps, h);
}

int64_t log_last_stable_offset(const plog *l, int64_t hw)
{
    int64_t fu = pstate_first_unstable_offset(&l->ps);
    for (size_t i = 0; i < l->nclosing; i++)
        if (l->closing[i].last_offset >= hw && l->closing[i].first_offset < fu)
            fu = l->closing[i].first_offset;
    return fu < hw ? fu : hw;
}

/* Forgets ended transactions whose marker is now below the durable end. */
static void prune_closing(plog *l)
{
    size_t k = 0;
    for (size_t i = 0; i < l->nclosing; i++)
        if (l->closing[i].last_offset >= l->durable_offset)
            l->closing[k++] = l->closing[i];
    l->nclosing = k;
}

static int cmp_aborted_first(const void *a, const void *b)
{
    int64_t x = ((const aborted_txn *)a)->first_offset, y = ((const aborted_txn *)b)->first_offset;
    return x < y ? -1 : x > y;
}

int log_aborted_between(const plog *l, int64_t from, int64_t to, arena *a, aborted_txn **out,
                        size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t lo = 0, hi = l->naborted;
    while (lo < hi) { /* first entry whose marker is at or after `from` */
        size_t mid = (lo + hi) / 2;
        if (l->aborted[mid].last_offset < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < l->naborted; i++)
        if (l->aborted[i].first_offset < to)
            n++;
    if (n == 0)
        return LOG_OK;
    aborted_txn *v = arena_alloc(a, n * sizeof(*v));
    if (!v)
        return LOG_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = lo; i < l->naborted; i++)
        if (l->aborted[i].first_offset < to)
            v[k++] = l->aborted[i];
    qsort(v, n, sizeof(*v), cmp_aborted_first);
    *out = v;
    *n_out = n;
    return LOG_OK;
}

/* ---------------- open / close ---------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the base offsets of the .log files in dir, sorted. */
static int list_segments(const char *dir, int64_t **out, size_t *n_out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    size_t n = 0, cap = 16;
    int64_t *v = malloc(cap * sizeof(*v));
    struct dirent *e;
    while (v && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len != 24 || strcmp(e->d_name + 20, ".log") != 0)
            continue;
        char num[21];
        memcpy(num, e->d_name, 20);
        num[20] = '\0';
        char *end;
        long long base = strtoll(num, &end, 10);
        if (*end != '\0' || base < 0)
            continue;
        if (n == cap) {
            int64_t *nv = realloc(v, cap * 2 * sizeof(*v));
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = base;
    }
    closedir(d);
    if (!v)
        return -ENOMEM;
    qsort(v, n, sizeof(*v), cmp_i64);
    *out = v;
    *n_out = n;
    return 0;
}

static int read_log_start(const plog *l, int64_t *out)
{
    char path[PATH_MAX], *text;
    snprintf(path, sizeof(path), "%s/log-start-offset", l->dir);
    if (fs_read_all(path, &text, NULL) != 0)
        return -1;
    char *end;
    long long v = strtoll(text, &end, 10);
    int rc = (end != text && v >= 0) ? 0 : -1;
    free(text);
    if (rc == 0)
        *out = v;
    return rc;
}

static int write_log_start(plog *l)
{
    char path[PATH_MAX], text[32];
    snprintf(path, sizeof(path), "%s/log-start-offset", l->dir);
    int n = snprintf(text, sizeof(text), "%" PRId64 "\n", l->log_start_offset);
    int rc = fs_write_atomic(path, text, (size_t)n);
    if (rc != 0) {
        LOG_ERROR("storage", "%s: cannot persist log start offset: %s; log is now read-only",
                  l->name, strerror(-rc));
        l->failed = true;
        return LOG_ERR_IO;
    }
    return LOG_OK;
}

/* ---------------- leader epochs ---------------- */

/* Before the loop writes the producer snapshot or the epochs itself: the last roll's
 * writes (rollmeta.h) must not land after it with older contents. Running ones are waited
 * for; a pending one keeps its snapshot (valid at its offset, which a cut that keeps the
 * segment does not reach) but forgets its epochs (older than what the loop saves). */
static void meta_settle(plog *l)
{
    segment *u = l->unsynced;
    if (!u || !u->meta)
        return;
    if (rm_pending(u->meta))
        rm_forget_epochs(u->meta);
    else
        (void)rm_wait(u->meta); /* its result is recorded when its job is delivered */
}

/* Forgets a segment's roll writes: not run yet, or run (by a job not yet delivered). */
static void meta_drop(plog *l, segment *s)
{
    if (!s->meta)
        return;
    if (rm_pending(s->meta)) {
        rm_free(s->meta);
    } else {
        (void)rm_wait(s->meta);
        rm_finish(s->meta, l->name);
    }
    s->meta = NULL;
}

/* The history file is a cache of what the batch headers say (plus the epoch a leader
 * took over with before writing): saved after every roll, at close and after a
 * truncation; after a crash the last two segments are walked again (the last roll's save
 * may not have been done). */
static void epochs_save(plog *l)
{
    meta_settle(l);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" LOG_EPOCHS_FILE, l->dir);
    int rc = eh_save(&l->epochs, path);
    if (rc != 0)
        LOG_WARN("storage", "%s: cannot write leader-epochs: %s (rebuilt from the log at the "
                 "next start)", l->name, strerror(-rc));
}

/* Adds the epochs of every batch in segments from_seg.. to the history (headers only). */
static int epochs_walk(plog *l, size_t from_seg)
{
    uint8_t hdr[HDR_PEEK];
    for (size_t si = from_seg; si < l->nsegs; si++) {
        segment *s = l->segs[si];
        for (uint64_t pos = 0; pos + HDR_PEEK <= s->size;) {
            size_t got;
            if (read_full(s->log_fd, hdr, HDR_PEEK, pos, &got) != 0 || got != HDR_PEEK)
                return LOG_ERR_IO;
            int32_t len = (int32_t)be32_get(hdr + RB_OFF_LENGTH);
            if (len <= 0)
                return LOG_ERR_IO;
            if (eh_assign(&l->epochs, (int32_t)be32_get(hdr + RB_OFF_LEADER_EPOCH),
                          (int64_t)be64_get(hdr)) < 0)
                return LOG_ERR_NOMEM;
            pos += RB_LOG_OVERHEAD + (uint64_t)len;
        }
    }
    return LOG_OK;
}

/* Loads the history at open: trusted whole after a clean stop; after a crash trusted
 * below the last two segments (those recovery verified), which are walked again; walked
 * from the start when the file is missing or unreadable (then saved, so that happens
 * once). */
static int epochs_load(plog *l, bool clean)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" LOG_EPOCHS_FILE, l->dir);
    int rc = eh_load(&l->epochs, path);
    size_t from = 0;
    if (rc == 0) {
        from = clean ? l->nsegs : l->nsegs >= 2 ? l->nsegs - 2 : 0;
        eh_truncate(&l->epochs, clean ? l->log_end_offset + 1 : l->segs[from]->base_offset);
    } else if (rc != -ENOENT) {
        LOG_WARN("storage", "%s: leader-epochs unreadable; rebuilding it from the log", l->name);
        eh_free(&l->epochs);
    }
    int wrc = epochs_walk(l, from);
    if (wrc == LOG_OK && from == 0 && l->epochs.n > 0)
        epochs_save(l);
    return wrc;
}

int log_set_leader_epoch(plog *l, int32_t epoch)
{
    l->leader_epoch = epoch;
    return eh_assign(&l->epochs, epoch, l->log_end_offset) < 0 ? LOG_ERR_NOMEM : LOG_OK;
}

int32_t log_latest_epoch(const plog *l) { return eh_latest(&l->epochs); }

void log_epoch_end_offset(const plog *l, int32_t epoch, int32_t *epoch_out, int64_t *end_out)
{
    eh_end_offset(&l->epochs, epoch, l->log_end_offset, epoch_out, end_out);
}

/* ---------------- the next segment's file (log.h, LOG_SPARE_FILE) ---------------- */

static void spare_path(const plog *l, char *out, size_t n)
{
    snprintf(out, n, "%s/" LOG_SPARE_FILE, l->dir);
}

/* At open: one left by the previous run is used if it is still empty. */
static void spare_found(plog *l)
{
    char path[PATH_MAX];
    struct stat st;
    spare_path(l, path, sizeof(path));
    if (stat(path, &st) != 0)
        return;
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        l->spare = LOG_SPARE_READY;
    else if (unlink(path) != 0)
        LOG_WARN("storage", "%s: cannot delete %s: %s", l->name, path, strerror(errno));
}

bool log_spare_wanted(const plog *l)
{
    const segment *s = l->nsegs ? l->segs[l->nsegs - 1] : NULL;
    return l->spare == LOG_SPARE_NONE && !l->failed && s &&
           l->cfg.segment_bytes >= LOG_SPARE_MIN_SEGMENT &&
           s->size >= (uint64_t)l->cfg.segment_bytes / 2;
}

void log_spare_begin(plog *l, plog **ref, char *path, size_t pathlen, int64_t *bytes)
{
    BROOK_ASSERT(l->spare == LOG_SPARE_NONE && !l->spare_ref);
    l->spare = LOG_SPARE_MAKING;
    l->spare_ref = ref;
    *ref = l;
    spare_path(l, path, pathlen);
    *bytes = l->cfg.segment_bytes;
}

void log_spare_done(plog *l, int err)
{
    l->spare_ref = NULL;
    if (l->spare != LOG_SPARE_MAKING)
        return;
    l->spare = err == 0 ? LOG_SPARE_READY : LOG_SPARE_FAILED;
    if (err != 0)
        LOG_WARN("storage", "%s: cannot reserve the next segment's disk blocks: %s (the next "
                 "segment grows as it is written)", l->name, strerror(-err));
}

/* A roll about to create segment `base`: puts the spare in its place when one is ready
 * (seg_create then opens it). Returns whether it did. */
static bool spare_take(plog *l, int64_t base)
{
    int st = l->spare;
    if (st == LOG_SPARE_MAKING)
        return false; /* for the roll after this one */
    l->spare = LOG_SPARE_NONE;
    if (st != LOG_SPARE_READY)
        return false;
    char from[PATH_MAX], to[PATH_MAX];
    spare_path(l, from, sizeof(from));
    seg_path(l, base, "log", to, sizeof(to));
    if (rename(from, to) == 0)
        return true;
    LOG_WARN("storage", "%s: cannot use %s: %s", l->name, from, strerror(errno));
    (void)unlink(from);
    return false;
}

/* Cuts the active segment's file back to its last batch at a close: gives back the blocks
 * a spare reserved (the size stays), and removes zeros written ahead, durably, so that the
 * next start finds the file as its indexes describe it. Returns 0, or -errno when the cut's
 * fdatasync failed (a failed ftruncate only leaves work to the next start's scan). */
static int seg_trim_tail(plog *l, segment *s)
{
    bool zeros = s->filled_end > s->size;
    if (!s->reserved && !zeros)
        return 0;
    s->reserved = false;
    s->filled_end = 0;
    if (ftruncate(s->log_fd, (off_t)s->size) != 0) {
        LOG_WARN("storage", "%s: cannot cut segment %" PRId64 " back to its last batch: %s",
                 l->name, s->base_offset, strerror(errno));
        return 0;
    }
    return zeros && fdatasync(s->log_fd) != 0 ? -errno : 0;
}

static void log_free(plog *l)
{
    if (l->job) /* a close: the job forgets this log and discards its work */
        l->job_detach(l->job, NULL);
    if (l->spare_ref)
        *l->spare_ref = NULL;
    pstate_free(&l->ps);
    eh_free(&l->epochs);
    free(l->aborted);
    free(l->closing);
    for (size_t i = 0; i < l->nsegs; i++)
        seg_free(l->segs[i]);
    free(l->segs);
    free(l->dir);
    free(l->name);
    free(l);
}

static int seg_unlink(plog *l, segment *s);

/* After a crash: when the segment before the active one lost its tail (a roll had left
 * it unsynced), the active segment no longer follows it, and nothing in it was ever
 * acknowledged as durable (durable_offset passes an unsynced segment's end only after its
 * sync), so the active segment goes and the cut one is active again. */
static int drop_orphan_active(plog *l)
{
    if (l->nsegs < 2)
        return 0;
    segment *prev = l->segs[l->nsegs - 2], *last = l->segs[l->nsegs - 1];
    if (last->base_offset == prev->next_offset)
        return 0;
    BROOK_ASSERT(last->base_offset > prev->next_offset);
    LOG_WARN("storage", "%s: segment %" PRId64 " ends at %" PRId64 " after recovery, before "
             "the next segment's base %" PRId64 "; deleting segment %" PRId64 " (%" PRIu64
             " bytes, never durable)", l->name, prev->base_offset, prev->next_offset,
             last->base_offset, last->base_offset, last->size);
    int rc = seg_unlink(l, last);
    seg_free(last);
    l->nsegs--;
    if (rc != 0)
        return rc; /* its records would come back at the next (clean) start */
    /* The previous one was opened as an old segment: its aborted ranges are loaded, and
     * its index files are open (released below, as for any active segment). */
    return fs_fsync_dir(l->dir);
}

int log_open(const char *dir, const char *name, const log_config *cfg, bool clean,
             int64_t now_ms, plog **out)
{
    plog *l = calloc(1, sizeof(*l));
    if (!l)
        return LOG_ERR_NOMEM;
    l->dir = strdup(dir);
    l->name = strdup(name);
    l->cfg = *cfg;
    if (!l->dir || !l->name) {
        log_free(l);
        return LOG_ERR_NOMEM;
    }
    int rc = fs_mkdirs(dir);
    int64_t *bases = NULL;
    size_t nbases = 0;
    if (rc == 0) /* a cleaning a crash interrupted: finished or undone, file by file */
        rc = compact_recover_dir(dir, name);
    if (rc == 0)
        rc = list_segments(dir, &bases, &nbases);
    if (rc == 0)
        spare_found(l);
    if (rc != 0) {
        LOG_ERROR("storage", "%s: cannot open log directory %s: %s", name, dir, strerror(-rc));
        log_free(l);
        return LOG_ERR_IO;
    }
    for (size_t i = 0; i < nbases; i++) {
        segment *s = seg_alloc(bases[i]);
        bool active = i + 1 == nbases;
        /* After a crash the last two are verified: the active one, and the one before it,
         * whose fdatasync a roll hands to the flush thread (log_roll). */
        bool verify = !clean && i + 2 >= nbases;
        if (!s || segs_push(l, s) != LOG_OK) {
            if (s)
                seg_free(s);
            rc = -ENOMEM;
            break;
        }
        if ((rc = seg_open_files(l, s, false)) != 0 || (rc = seg_load(l, s, verify)))
            break;
        if (!active)
            txnindex_load(l, s); /* the only reader of an old segment's .txnindex */
    }
    free(bases);
    if (rc == 0 && !clean)
        rc = drop_orphan_active(l);
    if (rc == 0 && l->nsegs == 0) {
        int64_t start = 0;
        read_log_start(l, &start);
        rc = seg_create(l, start, false) == LOG_OK ? 0 : -EIO;
    }
    if (rc != 0) {
        LOG_ERROR("storage", "%s: cannot load log: %s", name, strerror(-rc));
        log_free(l);
        return LOG_ERR_IO;
    }
    segment *act = active_seg(l);
    l->log_end_offset = act->next_offset;
    l->log_start_offset = l->segs[0]->base_offset;
    int64_t stored_start;
    if (read_log_start(l, &stored_start) == 0 && stored_start > l->log_start_offset)
        l->log_start_offset = stored_start < l->log_end_offset ? stored_start : l->log_end_offset;
    /* Everything on disk now is durable: segments before the last two were synced before
     * the roll after them, and the last two were verified (or written by a clean
     * shutdown's final flush). After an unclean stop the recovered bytes may still be only
     * in the page cache (brookd died, the kernel did not): sync them before calling them
     * durable. A clean stop synced everything, and an empty segment has nothing to sync. */
    for (size_t i = l->nsegs >= 2 ? l->nsegs - 2 : 0; !clean && i < l->nsegs; i++) {
        if (l->segs[i]->size > 0 && fdatasync(l->segs[i]->log_fd) != 0) {
            LOG_ERROR("storage", "%s: fdatasync on open failed: %s", name, strerror(errno));
            log_free(l);
            return LOG_ERR_IO;
        }
    }
    l->durable_offset = l->log_end_offset;
    if (act->created_ms < 0)
        act->created_ms = now_ms;
    if ((rc = log_load_producers(l)) != LOG_OK) {
        LOG_ERROR("storage", "%s: cannot rebuild producer state: %s", name, log_result_name(rc));
        log_free(l);
        return rc;
    }
    if ((rc = epochs_load(l, clean)) != LOG_OK) {
        LOG_ERROR("storage", "%s: cannot rebuild the leader epochs: %s", name,
                  log_result_name(rc));
        log_free(l);
        return rc;
    }
    /* Old segments' indexes are checked and in memory: keep only their log fds. (Not
     * fsynced here: index files are a cache, checked at every start.) */
    for (size_t i = 0; i + 1 < l->nsegs; i++)
        seg_seal(l, l->segs[i], false);
    seg_release_index_fds(act);
    /* It may have been made from a spare in an earlier run: its seal gives back whatever
     * lies past its end (nothing, otherwise). */
    act->reserved = l->cfg.segment_bytes >= LOG_SPARE_MIN_SEGMENT;
    *out = l;
    return LOG_OK;
}

static int log_sync_unsynced(plog *l);

void log_close(plog *l)
{
    if (!l->failed)
        log_sync_unsynced(l); /* the store's final flush did it; a direct close must too */
    if (!l->failed) {
        snapshot_write(l); /* the data is durable (final flush ran): valid up to the end */
        epochs_save(l);
        /* The data is durable already (the final flush): a file left longer than its
         * last batch is cut by the next start's scan, which never trusts past it. */
        int trc = seg_trim_tail(l, active_seg(l));
        if (trc != 0)
            LOG_ERROR("storage", "%s: fdatasync of the cut at close failed: %s (the next start "
                      "cuts the file again)", l->name, strerror(-trc));
    }
    for (size_t i = 0; i < l->nsegs; i++) {
        segment *s = l->segs[i];
        BROOK_ASSERT(s->pins == 0);
        int wrc = s->idx_dirty ? seg_write_indexes_sync(l, s, true) : 0;
        if (wrc != 0)
            LOG_WARN("storage", "%s: cannot write the indexes: %s (rebuilt on next start)",
                     l->name, strerror(-wrc));
        if (s->idx_fd >= 0 && (fdatasync(s->idx_fd) != 0 || fdatasync(s->tidx_fd) != 0))
            LOG_WARN("storage", "%s: index sync failed: %s (rebuilt on next start)", l->name,
                     strerror(errno));
    }
    log_free(l);
}

/* Deletes a segment's files. Returns 0, or -errno when its .log stays (the index files
 * are a cache, rebuilt or ignored at the next start): a caller that drops records which
 * must never come back (a cut, an orphan) fails on it. */
static int seg_unlink(plog *l, segment *s)
{
    static const char *exts[] = {"log", "index", "timeindex", "txnindex"};
    int rc = 0;
    for (unsigned i = 0; i < BROOK_ARRAY_LEN(exts); i++) {
        char path[PATH_MAX];
        seg_path(l, s->base_offset, exts[i], path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT) {
            LOG_WARN("storage", "%s: cannot delete %s: %s", l->name, path, strerror(errno));
            if (i == 0)
                rc = -errno;
        }
    }
    return rc;
}

int log_destroy(plog *l)
{
    for (size_t i = 0; i < l->nsegs; i++)
        BROOK_ASSERT(l->segs[i]->pins == 0);
    if (l->job) {
        /* A cleaning job still writes in the directory: it removes it when it ends. */
        l->job_detach(l->job, l->dir);
        l->job = NULL;
        log_free(l);
        return LOG_OK;
    }
    int rc = fs_remove_tree(l->dir);
    if (rc != 0)
        LOG_WARN("storage", "%s: cannot remove %s: %s", l->name, l->dir, strerror(-rc));
    log_free(l);
    return rc == 0 ? LOG_OK : LOG_ERR_IO;
}

/* ---------------- append ---------------- */

#define LOG_SLOW_ROLL_MS 20

/* Makes the unsynced sealed segment durable on this thread, with its roll's writes: a roll
 * that finds one still waiting (two rolls inside one flush job), a roll by time, or a
 * close. When a flush job already runs those writes, waits for them instead (its
 * fdatasync began after the seal, so it covers the whole segment); otherwise a sync here
 * while a job syncs the same fd is safe, and that job's log_flush_done() then finds
 * nothing left to do. */
static int log_sync_unsynced(plog *l)
{
    segment *u = l->unsynced;
    if (!u)
        return LOG_OK;
    l->unsynced = NULL;
    roll_meta *m = u->meta;
    int err;
    if (m && !rm_pending(m)) {
        err = rm_wait(m);
    } else {
        err = fdatasync(u->log_fd) == 0 ? 0 : errno;
        if (m)
            err = rm_run(m, err);
    }
    if (m) {
        rm_finish(m, l->name);
        u->meta = NULL;
    }
    if (err != 0) {
        LOG_ERROR("storage", "%s: cannot make segment %" PRId64 " durable (its data, "
                  ".txnindex or directory entry): %s; log is now read-only", l->name,
                  u->base_offset, strerror(err));
        l->failed = true;
        return LOG_ERR_IO;
    }
    if (u->next_offset > l->durable_offset) { /* every segment before u is durable */
        l->durable_offset = u->next_offset;
        prune_closing(l);
    }
    return LOG_OK;
}

/* The writes a roll leaves for whichever thread makes the sealed segment durable
 * (rollmeta.h): the producer snapshot and the epochs as they are at the roll, the directory,
 * and the .txnindex when it has entries (recovery trusts the aborted ranges of every
 * segment below the snapshot). Built before the roll changes anything, so a roll that
 * cannot have them (no memory, no descriptor) fails whole and the next append tries it
 * again. */
static int roll_meta_build(plog *l, segment *old, roll_meta **out)
{
    *out = NULL;
    uint8_t *snap = NULL;
    size_t snap_len = 0, ep_len = 0;
    if (pstate_snapshot_encode(&l->ps, l->log_end_offset, &snap, &snap_len) != 0)
        return LOG_ERR_NOMEM;
    char *ep = eh_format(&l->epochs, &ep_len);
    if (!ep) {
        free(snap);
        return LOG_ERR_NOMEM;
    }
    int dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int tfd = dfd < 0 ? -1 : seg_file_open(l, old->base_offset, "txnindex");
    struct stat st;
    if (dfd < 0 || tfd < 0 || fstat(tfd, &st) != 0) {
        LOG_ERROR("storage", "%s: cannot roll segment %" PRId64 ": opening its directory or "
                  ".txnindex: %s", l->name, old->base_offset, strerror(errno));
        free(snap);
        free(ep);
        if (dfd >= 0)
            close(dfd);
        if (tfd >= 0)
            close(tfd);
        return LOG_ERR_NOMEM;
    }
    if (st.st_size == 0) {
        close(tfd);
        tfd = -1;
    }
    *out = rm_new(dfd, tfd, snap, snap_len, ep, ep_len);
    return *out ? LOG_OK : LOG_ERR_NOMEM;
}

/* The end of a roll (the new segment exists): its clock starts, and the caller's thread
 * (the event loop) having waited since t0, the roll says so, and where, when it shows. */
static int roll_finish(plog *l, int64_t now_ms, int64_t t0, int64_t synced_us,
                       int64_t created_from)
{
    active_seg(l)->created_ms = now_ms;
    LOG_DEBUG("storage", "%s: rolled to segment %" PRId64, l->name, l->log_end_offset);
    int64_t t5 = clock_mono_us(), took_ms = (t5 - t0) / 1000;
    if (took_ms >= LOG_SLOW_ROLL_MS)
        LOG_WARN("storage", "%s: rolling to segment %" PRId64 " took %" PRId64 " ms (%" PRId64
                 " ms making sealed segments and their roll's writes durable on the loop; new "
                 "segment %" PRId64 " ms)", l->name, l->log_end_offset, took_ms,
                 synced_us / 1000, (t5 - created_from) / 1000);
    return LOG_OK;
}

/* Seals the active segment and starts a new one at the log end. The old segment becomes
 * l->unsynced, with the roll's other writes attached (rollmeta.h): the next flush job
 * syncs it on the flush thread and runs them right after, so an append that rolls does
 * not hold the event loop for the old segment's dirty bytes (in interval mode up to a
 * flush interval's worth: 0.5 s measured, docs/benchmarks.md) nor for fsyncs that wait
 * behind them. With sync_old (a roll by time, off the append path) both are done here
 * instead. durable_offset passes the old segment's end only when all of it is done. */
static int log_roll(plog *l, int64_t now_ms, bool sync_old)
{
    segment *old = active_seg(l);
    int64_t t0 = clock_mono_us();
    int rc = log_sync_unsynced(l); /* at most one unsynced sealed segment */
    if (rc != LOG_OK)
        return rc;
    int64_t synced_us = clock_mono_us() - t0;
    roll_meta *m;
    if ((rc = roll_meta_build(l, old, &m)) != LOG_OK)
        return rc;
    if (old->max_ts > old->last_indexed_ts && old->next_offset > old->base_offset) {
        /* A final time-index entry so a clean load knows the segment's max timestamp. */
        if (tidx_push(old, old->max_ts, (uint32_t)(old->next_offset - 1 - old->base_offset)) ==
            LOG_OK) {
            old->last_indexed_ts = old->max_ts;
            idx_file_append(l, old, false, true);
        }
    }
    seg_seal(l, old, false); /* index files are a cache, checked at every start */
    if (old->reserved || old->filled_end > old->size) { /* cut back after its sync */
        int fd = fcntl(old->log_fd, F_DUPFD_CLOEXEC, 0);
        if (fd >= 0) {
            rm_set_trim(m, fd, old->size, old->filled_end > old->size);
            old->reserved = false;
            old->filled_end = 0;
        }
    }
    old->meta = m;
    l->unsynced = old;
    if (sync_old) {
        int64_t t1 = clock_mono_us();
        if ((rc = log_sync_unsynced(l)) != LOG_OK)
            return rc;
        synced_us += clock_mono_us() - t1;
    }
    int64_t t4 = clock_mono_us();
    bool reserved = spare_take(l, l->log_end_offset);
    /* Deferred, the roll's directory fsync makes the new name durable too; run already,
     * it came before the name existed, so the new segment takes its own. */
    if ((rc = seg_create(l, l->log_end_offset, sync_old)) != LOG_OK) {
        l->failed = true;
        return rc;
    }
    active_seg(l)->reserved = reserved;
    return roll_finish(l, now_ms, t0, synced_us, t4);
}

/* Writes LOG_ZERO_AHEAD bytes of zeros at `end` (the end of the batch just written past
 * the file's end: log.h, "Zeros written ahead"). A failure costs only the speed-up: a
 * partial run is cut off again. */
static void zero_ahead(plog *l, segment *s, uint64_t end)
{
    static uint8_t zeros[LOG_ZERO_AHEAD]; /* never written; in .bss, not the binary */
    if (fs_pwrite_all(s->log_fd, zeros, sizeof(zeros), end) == 0) {
        s->filled_end = end + sizeof(zeros);
        return;
    }
    if (ftruncate(s->log_fd, (off_t)end) != 0)
        LOG_WARN("storage", "%s: cannot cut a failed run of zeros: %s (the next start does)",
                 l->name, strerror(errno));
}

/* Writes one batch at the log end. A leader's append (replica false) assigns the offset
 * and stamps `epoch`; a follower's keeps the leader's batch exactly as it came. */
static int append_at(plog *l, uint8_t *batch, size_t len, const rb_header *h, int64_t now_ms,
                     int32_t epoch, bool replica)
{
    if (l->failed)
        return LOG_ERR_FAILED;
    if ((int64_t)len > l->cfg.segment_bytes || len > UINT32_MAX / 2)
        return LOG_ERR_TOO_LARGE;
    segment *s = active_seg(l);
    int64_t base = l->log_end_offset;
    int64_t last = base + h->last_offset_delta;
    bool full = s->size + len > (uint64_t)l->cfg.segment_bytes;
    bool old = l->cfg.segment_ms > 0 && s->created_ms >= 0 &&
               now_ms - s->created_ms >= l->cfg.segment_ms;
    bool rel_overflow = last - s->base_offset > (int64_t)UINT32_MAX;
    if (s->size > 0 && (full || old || rel_overflow)) {
        int rc = log_roll(l, now_ms, false);
        if (rc != LOG_OK)
            return rc;
        s = active_seg(l);
    }
    if (!replica)
        rb_set_base_offset(batch, base, epoch);
    int64_t max_ts = h->max_timestamp;
    if (l->cfg.log_append_time && !replica) {
        rb_set_log_append_time(batch, len, now_ms);
        max_ts = now_ms;
    }
    int wrc = fs_pwrite_all(s->log_fd, batch, len, s->size);
    if (wrc == 0 && l->zero_ahead && len <= LOG_ZERO_AHEAD_MAX_BATCH &&
        s->size + len > s->filled_end)
        zero_ahead(l, s, s->size + len);
    if (wrc != 0) {
        LOG_ERROR("storage", "%s: write failed: %s; log is now read-only", l->name,
                  strerror(-wrc));
        if (ftruncate(s->log_fd, (off_t)s->size) != 0)
            LOG_ERROR("storage", "%s: cannot cut the partial write: %s", l->name,
                      strerror(errno));
        l->failed = true;
        return LOG_ERR_IO;
    }
    if (s->created_ms < 0)
        s->created_ms = now_ms;
    if (seg_note_batch(l, s, base, last, max_ts, s->size, len, true) != LOG_OK)
        return LOG_ERR_NOMEM;
    rb_header stored = *h;
    stored.base_offset = base;
    stored.max_timestamp = max_ts; /* as stored (LogAppendTime), as a replay reads it */
    if (log_track_batch(l, s, batch, len, &stored, true) != LOG_OK)
        return LOG_ERR_NOMEM;
    l->log_end_offset = last + 1;
    l->dirty = true;
    l->appended_bytes += len;
    if (eh_assign(&l->epochs, epoch, base) < 0)
        return LOG_ERR_NOMEM;
    return LOG_OK;
}

int log_append(plog *l, uint8_t *batch, size_t len, const rb_header *h, int64_t now_ms,
               int64_t *base_offset_out)
{
    int64_t base = l->log_end_offset;
    int rc = append_at(l, batch, len, h, now_ms, l->leader_epoch, false);
    if (rc == LOG_OK)
        *base_offset_out = base;
    return rc;
}

/* ---------------- read ---------------- */

/* Index of the segment that holds `offset` (the last with base <= offset). */
static size_t seg_find(const plog *l, int64_t offset)
{
    size_t lo = 0, hi = l->nsegs;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (l->segs[mid]->base_offset <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* File position of the last indexed batch at or before offset. */
static uint32_t idx_floor_pos(const segment *s, int64_t offset)
{
    size_t lo = 0, hi = s->nidx;
    uint32_t pos = 0;
    int64_t rel = offset - s->base_offset;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((int64_t)s->idx[mid].rel_offset <= rel) {
            pos = s->idx[mid].pos;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return pos;
}

/* From pos, walks batch headers to the first batch whose last offset >= offset. */
static int seg_seek(const plog *l, const segment *s, int64_t offset, uint64_t *pos_io)
{
    uint64_t pos = *pos_io;
    uint8_t hdr[HDR_PEEK];
    while (pos + HDR_PEEK <= s->size) {
        size_t got;
        if (read_full(s->log_fd, hdr, HDR_PEEK, pos, &got) != 0 || got != HDR_PEEK) {
            LOG_ERROR("storage", "%s: read failed at %" PRIu64, l->name, pos);
            return LOG_ERR_IO;
        }
        int64_t base = (int64_t)be64_get(hdr);
        int32_t len = (int32_t)be32_get(hdr + RB_OFF_LENGTH);
        int32_t delta = (int32_t)be32_get(hdr + RB_OFF_LAST_OFFSET_DELTA);
        if (len <= 0)
            return LOG_ERR_IO;
        if (base + delta >= offset)
            break;
        pos += RB_LOG_OVERHEAD + (uint64_t)len;
    }
    *pos_io = pos;
    return LOG_OK;
}

/* The segment a read at offset starts in (past a segment's end: the next one holds it). */
static segment *read_segment(plog *l, int64_t offset)
{
    size_t si = seg_find(l, offset);
    segment *s = l->segs[si];
    while (offset >= s->next_offset && si + 1 < l->nsegs)
        s = l->segs[++si];
    return s;
}

int log_read(plog *l, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
             arena *a, uint8_t **out, size_t *len_out)
{
    return log_read_where(l, offset, max_offset, max_bytes, min_one, a, out, len_out, NULL);
}

int log_read_where(plog *l, int64_t offset, int64_t max_offset, size_t max_bytes,
                   bool min_one, arena *a, uint8_t **out, size_t *len_out,
                   wr_file_span *where)
{
    *out = NULL;
    *len_out = 0;
    if (where)
        *where = (wr_file_span){.fd = -1};
    if (offset < l->log_start_offset || offset > l->log_end_offset)
        return LOG_ERR_OUT_OF_RANGE;
    if (offset >= max_offset)
        return LOG_OK;
    segment *s = read_segment(l, offset);
    uint64_t pos = idx_floor_pos(s, offset);
    int rc = seg_seek(l, s, offset, &pos);
    if (rc != LOG_OK || pos >= s->size)
        return rc;
    /* Read a chunk, then cut it at the last whole batch below max_offset and max_bytes. */
    size_t want = max_bytes;
    if (want < RB_HEADER_SIZE)
        want = RB_HEADER_SIZE;
    if (want > s->size - pos)
        want = (size_t)(s->size - pos);
    uint8_t *buf = arena_alloc_raw(a, want); /* read whole below, or not used */
    if (!buf)
        return LOG_ERR_NOMEM;
    size_t got;
    if (read_full(s->log_fd, buf, want, pos, &got) != 0 || got != want)
        return LOG_ERR_IO;
    size_t off = 0;
    while (off + RB_LOG_OVERHEAD <= got) {
        int64_t base = (int64_t)be64_get(buf + off);
        size_t total = RB_LOG_OVERHEAD + be32_get(buf + off + RB_OFF_LENGTH);
        if (base >= max_offset)
            break;
        if (off + total > got) {
            if (off == 0 && min_one && pos + total <= s->size) {
                /* KIP-74: the first batch goes out whole even past the size limits. */
                uint8_t *big = arena_alloc_raw(a, total);
                if (!big || read_full(s->log_fd, big, total, pos, &got) != 0 || got != total)
                    return big ? LOG_ERR_IO : LOG_ERR_NOMEM;
                *out = big;
                *len_out = total;
                if (where)
                    *where = (wr_file_span){.fd = s->log_fd, .pos = pos, .len = total};
                return LOG_OK;
            }
            break;
        }
        off += total;
    }
    *out = off ? buf : NULL;
    *len_out = off;
    if (where && off)
        *where = (wr_file_span){.fd = s->log_fd, .pos = pos, .len = off};
    return LOG_OK;
}

/* Every log_truncate anywhere bumps it: a file span handed out before a truncation may
 * name bytes that are gone or rewritten (wr_file_span.guard). Loop thread only. */
static uint64_t g_log_cuts;

/* The last indexed batch start at or before file position pos. */
static uint64_t idx_floor_by_pos(const segment *s, uint64_t pos)
{
    size_t lo = 0, hi = s->nidx;
    uint64_t found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->idx[mid].pos <= pos) {
            found = s->idx[mid].pos;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return found;
}

/* Reads the base offset and whole size of the batch stored at pos. */
static int peek_batch(const plog *l, const segment *s, uint64_t pos, int64_t *base,
                      uint64_t *total)
{
    uint8_t hdr[RB_LOG_OVERHEAD];
    size_t got;
    if (read_full(s->log_fd, hdr, sizeof(hdr), pos, &got) != 0 || got != sizeof(hdr)) {
        LOG_ERROR("storage", "%s: read failed at %" PRIu64, l->name, pos);
        return LOG_ERR_IO;
    }
    int32_t len = (int32_t)be32_get(hdr + RB_OFF_LENGTH);
    *base = (int64_t)be64_get(hdr);
    *total = RB_LOG_OVERHEAD + (uint64_t)(len > 0 ? len : 0);
    return len > 0 && pos + *total <= s->size ? LOG_OK : LOG_ERR_IO;
}

/* From the batch start q, the first batch start at or past `end_pos` or whose base is at or
 * past max_offset; with fit, stops instead before the first batch that would end past
 * end_pos. */
static int walk_batches(const plog *l, const segment *s, uint64_t q, uint64_t end_pos,
                        int64_t max_offset, bool fit, uint64_t *out)
{
    while (q < end_pos) {
        int64_t base;
        uint64_t total;
        int rc = peek_batch(l, s, q, &base, &total);
        if (rc != LOG_OK)
            return rc;
        if (base >= max_offset || (fit && q + total > end_pos))
            break;
        q += total;
    }
    *out = q;
    return LOG_OK;
}

int log_read_span(plog *l, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
                  wr_file_span *span, int64_t *next_offset_out)
{
    *span = (wr_file_span){.fd = -1};
    *next_offset_out = offset;
    if (offset < l->log_start_offset || offset > l->log_end_offset)
        return LOG_ERR_OUT_OF_RANGE;
    if (offset >= max_offset)
        return LOG_OK;
    segment *s = read_segment(l, offset);
    uint64_t pos = idx_floor_pos(s, offset), end = s->size, q;
    int rc = seg_seek(l, s, offset, &pos);
    if (rc != LOG_OK || pos >= s->size)
        return rc;
    if (max_offset < s->next_offset) { /* cut before the first batch at max_offset */
        q = idx_floor_pos(s, max_offset);
        if ((rc = walk_batches(l, s, q > pos ? q : pos, s->size, max_offset, false, &end)))
            return rc;
    }
    if (end - pos > max_bytes) { /* cut after the last whole batch within max_bytes */
        q = idx_floor_by_pos(s, pos + max_bytes);
        if ((rc = walk_batches(l, s, q > pos ? q : pos, pos + max_bytes, INT64_MAX, true, &q)))
            return rc;
        if (q == pos && min_one) { /* KIP-74: the first batch whole */
            int64_t base;
            uint64_t total;
            if ((rc = peek_batch(l, s, pos, &base, &total)) != LOG_OK)
                return rc;
            q = pos + total;
        }
        end = q;
    }
    if (end == pos)
        return LOG_OK;
    int64_t next = s->next_offset;
    uint64_t total;
    if (end < s->size && (rc = peek_batch(l, s, end, &next, &total)) != LOG_OK)
        return rc;
    *span = (wr_file_span){s->log_fd, pos, (size_t)(end - pos), &g_log_cuts, g_log_cuts};
    *next_offset_out = next;
    return LOG_OK;
}

long log_scan_records(plog *l, log_record_fn fn, log_marker_fn on_marker, void *ctx)
{
    int64_t next = l->log_start_offset;
    long n = 0;
    for (int guard = 0; guard < 100000000 && next < l->log_end_offset; guard++) {
        arena a;
        arena_init(&a);
        uint8_t *data;
        size_t len, off = 0;
        int rc = log_read(l, next, l->log_end_offset, 1 << 20, true, &a, &data, &len);
        if (rc != LOG_OK || len == 0) {
            arena_free(&a);
            return rc == LOG_OK ? n : rc;
        }
        while (off + RB_HEADER_SIZE <= len) {
            rb_header h;
            size_t total;
            if (rb_check_stored(data + off, len - off, &h, &total) != RB_OK)
                break;
            rb_iter it;
            rb_record rec;
            if (h.attributes & RB_ATTR_CONTROL) {
                int type = rb_control_type(data + off, total);
                if (on_marker && h.producer_id >= 0 &&
                    (type == RB_CONTROL_COMMIT || type == RB_CONTROL_ABORT))
                    on_marker(ctx, h.producer_id, type == RB_CONTROL_COMMIT);
            } else if (rb_iter_init(&it, data + off, total) == 0) {
                while (rb_iter_next(&it, &rec) == 1) {
                    fn(ctx, &rec);
                    n++;
                }
            }
            next = rb_last_offset(&h) + 1;
            off += total;
        }
        arena_free(&a);
        if (off == 0)
            return LOG_ERR_IO; /* a stored batch that does not check out */
    }
    return n;
}

uint64_t log_bytes_between(plog *l, int64_t offset, int64_t max_offset)
{
    if (offset >= max_offset || offset < l->log_start_offset)
        return 0;
    size_t si = seg_find(l, offset);
    uint64_t start = idx_floor_pos(l->segs[si], offset), total = 0;
    for (size_t i = si; i < l->nsegs; i++) {
        total += l->segs[i]->size - (i == si ? start : 0);
        if (l->segs[i]->next_offset >= max_offset)
            break;
    }
    return total;
}

/* Finds, inside one uncompressed batch, the first record with timestamp >= ts. */
static void batch_find_ts(const uint8_t *b, size_t len, const rb_header *h, int64_t ts,
                          int64_t *off_out, int64_t *ts_out)
{
    *off_out = h->base_offset;
    *ts_out = h->max_timestamp;
    if ((h->attributes & RB_ATTR_CODEC_MASK) != 0 || (h->attributes & RB_ATTR_LOG_APPEND_TIME))
        return;
    rd r;
    rd_init(&r, b + RB_HEADER_SIZE, len - RB_HEADER_SIZE);
    for (int32_t i = 0; i < h->records_count && !r.err; i++) {
        int32_t rec_len = rd_varint(&r);
        size_t rec_start = r.off;
        (void)rd_i8(&r);
        int64_t rts = h->base_timestamp + rd_varlong(&r);
        int32_t delta = rd_varint(&r);
        if (r.err)
            return;
        if (rts >= ts) {
            *off_out = h->base_offset + delta;
            *ts_out = rts;
            return;
        }
        if (rec_len < 0 || rec_start + (size_t)rec_len > r.len)
            return;
        r.off = rec_start + (size_t)rec_len;
    }
}

/* Start of the scan for ts in s: the batch of the last time-index entry below ts. */
static uint64_t tidx_scan_start(const segment *s, int64_t ts, int64_t *offset_out)
{
    int64_t from = s->base_offset;
    for (size_t i = s->ntidx; i > 0; i--) {
        if (s->tidx[i - 1].ts < ts) {
            from = s->base_offset + s->tidx[i - 1].rel_offset;
            break;
        }
    }
    *offset_out = from;
    return idx_floor_pos(s, from);
}

int log_offset_for_time(plog *l, int64_t ts, int64_t max_offset, int64_t *offset_out,
                        int64_t *ts_out)
{
    *offset_out = -1;
    *ts_out = -1;
    for (size_t si = 0; si < l->nsegs; si++) {
        segment *s = l->segs[si];
        if (s->max_ts < ts || s->size == 0)
            continue;
        int64_t from;
        uint64_t pos = tidx_scan_start(s, ts, &from);
        int rc = seg_seek(l, s, from, &pos);
        if (rc != LOG_OK)
            return rc;
        while (pos + RB_HEADER_SIZE <= s->size) {
            uint8_t hdr[RB_HEADER_SIZE];
            size_t got;
            rb_header h;
            if (read_full(s->log_fd, hdr, RB_HEADER_SIZE, pos, &got) != 0 ||
                got != RB_HEADER_SIZE || rb_parse_header(hdr, got, &h) != RB_OK)
                return LOG_ERR_IO;
            if (h.base_offset >= max_offset)
                return LOG_OK;
            size_t total = rb_total_size(&h);
            if (h.max_timestamp >= ts && !(h.attributes & RB_ATTR_CONTROL)) {
                uint8_t *b = malloc(total);
                if (!b)
                    return LOG_ERR_NOMEM;
                if (read_full(s->log_fd, b, total, pos, &got) != 0 || got != total) {
                    free(b);
                    return LOG_ERR_IO;
                }
                batch_find_ts(b, total, &h, ts, offset_out, ts_out);
                free(b);
                if (*offset_out < l->log_start_offset)
                    *offset_out = l->log_start_offset;
                return LOG_OK;
            }
            pos += total;
        }
    }
    return LOG_OK;
}

/* The largest max timestamp of s's data batches below max_offset, read from their
 * headers (-1: none); *ok false on a read error. */
static int64_t seg_scan_max_ts(segment *s, int64_t max_offset, bool *ok)
{
    int64_t best = -1;
    uint64_t pos = 0;
    *ok = true;
    while (pos + RB_HEADER_SIZE <= s->size) {
        uint8_t hdr[RB_HEADER_SIZE];
        size_t got;
        rb_header h;
        if (read_full(s->log_fd, hdr, RB_HEADER_SIZE, pos, &got) != 0 || got != RB_HEADER_SIZE ||
            rb_parse_header(hdr, got, &h) != RB_OK || h.length < 0) {
            *ok = false;
            return -1;
        }
        if (h.base_offset >= max_offset)
            break;
        if (!(h.attributes & RB_ATTR_CONTROL) && h.max_timestamp > best)
            best = h.max_timestamp;
        pos += rb_total_size(&h);
    }
    return best;
}

/* Segments wholly below max_offset answer from their max_ts; the one max_offset cuts
 * through is read batch by batch. A segment's max_ts also counts its transaction markers,
 * so when no data record carries the largest one the whole log is read instead. */
int log_max_timestamp(plog *l, int64_t max_offset, int64_t *offset_out, int64_t *ts_out)
{
    *offset_out = *ts_out = -1;
    for (int exact = 0; exact <= 1; exact++) {
        int64_t best = -1;
        for (size_t si = 0; si < l->nsegs; si++) {
            segment *s = l->segs[si];
            if (s->size == 0 || s->base_offset >= max_offset)
                continue;
            bool ok = true;
            bool whole = !exact && s->next_offset <= max_offset;
            int64_t m = whole ? s->max_ts : seg_scan_max_ts(s, max_offset, &ok);
            if (!ok)
                return LOG_ERR_IO;
            if (m > best)
                best = m;
        }
        if (best < 0)
            return LOG_OK;
        int rc = log_offset_for_time(l, best, max_offset, offset_out, ts_out);
        if (rc != LOG_OK || *offset_out >= 0)
            return rc;
    }
    return LOG_OK;
}

/* ---------------- flush ---------------- */

size_t log_flush_begin(plog *l, log_sync out[LOG_FLUSH_MAX])
{
    if (l->failed)
        return 0;
    size_t n = 0;
    segment *u = l->unsynced;
    if (u) {
        BROOK_ASSERT(u != active_seg(l));
        u->pins++;
        out[n] = (log_sync){.fd = u->log_fd, .seg = u, .end_offset = u->next_offset,
                            .covers = u->size};
        if (u->meta && rm_pending(u->meta)) { /* the roll's writes follow this sync */
            rm_submit(u->meta);
            out[n].meta = u->meta;
        }
        n++;
    }
    if (l->dirty) {
        segment *s = active_seg(l);
        s->pins++;
        l->dirty = false;
        out[n++] = (log_sync){.fd = s->log_fd, .seg = s, .end_offset = l->log_end_offset,
                              .covers = s->size};
    }
    return n;
}

void log_flush_done(plog *l, segment *seg, int64_t end_offset, int err)
{
    BROOK_ASSERT(seg->pins > 0);
    seg->pins--;
    if (seg->meta && !rm_pending(seg->meta)) { /* ran with this item; err includes it */
        rm_finish(seg->meta, l->name);
        seg->meta = NULL;
    }
    if (err != 0) {
        if (!l->failed)
            LOG_ERROR("storage", "%s: fdatasync failed: %s; log is now read-only and nothing "
                      "after offset %" PRId64 " is acknowledged", l->name, strerror(err),
                      l->durable_offset);
        l->failed = true;
    } else if (!l->failed && !seg->cut_while_pinned) {
        /* The unsynced segment is durable once a sync that saw all of it is done (one begun
         * before the roll may have: its end is then the segment's end), and with it the
         * roll's other writes (a sync begun before the roll leaves them to the next job). */
        if (seg == l->unsynced && end_offset == seg->next_offset && !seg->meta)
            l->unsynced = NULL;
        /* The active segment's end counts only when nothing before it is unsynced: the
         * unsynced segment's sync comes first in the same job, or failed the log. */
        if (end_offset > l->durable_offset && (!l->unsynced || seg == l->unsynced)) {
            l->durable_offset = end_offset;
            prune_closing(l);
        }
    }
    if (seg->pins == 0)
        seg->cut_while_pinned = false;
    if (seg->deleted && seg->pins == 0)
        seg_free(seg);
}

bool log_cache_release(segment *seg, uint64_t covers, int64_t keep, uint64_t *off_out,
                       uint64_t *len_out)
{
    BROOK_ASSERT(keep >= 0);
    if (covers > seg->size) /* cut under the sync: the cut's own fdatasync made it clean */
        covers = seg->size;
    if (covers <= (uint64_t)keep || covers - (uint64_t)keep < seg->cache_released)
        return false;
    uint64_t end = covers - (uint64_t)keep;
    if (end - seg->cache_released < LOG_CACHE_RELEASE_MIN)
        return false;
    *off_out = seg->cache_released;
    *len_out = end - seg->cache_released;
    seg->cache_released = end;
    return true;
}

int log_flush_sync(plog *l)
{
    log_sync sy[LOG_FLUSH_MAX];
    size_t n = log_flush_begin(l, sy);
    int err[LOG_FLUSH_MAX];
    for (size_t i = 0; i < n; i++) { /* all run first, as a flush task does */
        err[i] = fdatasync(sy[i].fd) == 0 ? 0 : errno;
        if (sy[i].meta)
            err[i] = rm_run(sy[i].meta, err[i]);
    }
    for (size_t i = 0; i < n; i++)
        log_flush_done(l, sy[i].seg, sy[i].end_offset, err[i]);
    return l->failed ? LOG_ERR_FAILED : LOG_OK;
}

/* ---------------- retention ---------------- */

/* Drops the oldest segment (never the active one). A segment pinned by a running flush
 * is unlinked now and closed when the flush finishes. */
static void log_drop_oldest(plog *l)
{
    BROOK_ASSERT(l->nsegs > 1);
    segment *s = l->segs[0];
    seg_unlink(l, s);
    if (s == l->unsynced)
        l->unsynced = NULL; /* its data is gone: nothing left to make durable */
    memmove(l->segs, l->segs + 1, (l->nsegs - 1) * sizeof(*l->segs));
    l->nsegs--;
    if (s->pins > 0)
        s->deleted = true;
    else
        seg_free(s);
    if (l->segs[0]->base_offset > l->log_start_offset)
        l->log_start_offset = l->segs[0]->base_offset;
    size_t keep = 0;
    while (keep < l->naborted && l->aborted[keep].last_offset < l->segs[0]->base_offset)
        keep++;
    if (keep > 0) {
        memmove(l->aborted, l->aborted + keep, (l->naborted - keep) * sizeof(*l->aborted));
        l->naborted -= keep;
    }
}

int log_delete_records(plog *l, int64_t offset, int64_t hw)
{
    if (l->failed)
        return LOG_ERR_FAILED;
    if (offset == -1)
        offset = hw;
    if (offset < 0 || offset > hw)
        return LOG_ERR_OUT_OF_RANGE;
    if (offset <= l->log_start_offset)
        return LOG_OK;
    l->log_start_offset = offset;
    while (l->nsegs > 1 && l->segs[1]->base_offset <= offset)
        log_drop_oldest(l);
    return write_log_start(l);
}

uint64_t log_size_bytes(const plog *l)
{
    uint64_t total = 0;
    for (size_t i = 0; i < l->nsegs; i++)
        total += l->segs[i]->size;
    return total;
}

int log_apply_retention(plog *l, int64_t now_ms)
{
    if (l->failed)
        return 0;
    int deleted = 0;
    int64_t start_before = l->log_start_offset;
    while (l->nsegs > 1) {
        segment *s = l->segs[0];
        bool by_time = l->cfg.retention_ms >= 0 && s->max_ts >= 0 &&
                       now_ms - s->max_ts > l->cfg.retention_ms;
        bool by_size = l->cfg.retention_bytes >= 0 &&
                       log_size_bytes(l) - s->size >= (uint64_t)l->cfg.retention_bytes;
        if (!by_time && !by_size)
            break;
        /* Not before its fdatasync: durable_offset would then pass its end without it,
         * and acks=all would be answered for records never durable (they would be gone
         * anyway, but an ack promises more). The next pass deletes it. */
        if (s == l->unsynced)
            break;
        LOG_INFO("storage", "%s: deleting segment %" PRId64 " (%" PRIu64 " bytes) by %s retention",
                 l->name, s->base_offset, s->size, by_time ? "time" : "size");
        log_drop_oldest(l);
        deleted++;
    }
    if (l->log_start_offset != start_before) {
        int rc = write_log_start(l);
        if (rc != LOG_OK)
            return rc;
    }
    return deleted;
}

int log_maybe_roll_by_time(plog *l, int64_t now_ms)
{
    segment *s = active_seg(l);
    if (l->failed || l->cfg.segment_ms <= 0 || s->size == 0 || s->created_ms < 0 ||
        now_ms - s->created_ms < l->cfg.segment_ms || s->pins > 0)
        return LOG_OK;
    return log_roll(l, now_ms, true);
}

int log_append_marker_seq(plog *l, int64_t pid, int16_t epoch, bool commit,
                          int32_t coordinator_epoch, int64_t txn_seq, int64_t now_ms,
                          int64_t *offset_out)
{
    if (pstate_coordinator_fenced(&l->ps, pid, coordinator_epoch))
        return LOG_ERR_FENCED;
    uint8_t b[RB_CONTROL_BATCH_SIZE_SEQ];
    size_t n = rb_build_control_seq(b, pid, epoch, commit ? RB_CONTROL_COMMIT : RB_CONTROL_ABORT,
                                    coordinator_epoch, txn_seq, now_ms);
    rb_header h;
    int rc = rb_validate(b, n, &h);
    BROOK_ASSERT(rc == RB_OK);
    return log_append(l, b, n, &h, now_ms, offset_out);
}

int log_append_marker(plog *l, int64_t pid, int16_t epoch, bool commit, int32_t coordinator_epoch,
                      int64_t now_ms, int64_t *offset_out)
{
    return log_append_marker_seq(l, pid, epoch, commit, coordinator_epoch, 0, now_ms,
                                 offset_out);
}

/* ---------------- replication ---------------- */

int log_append_replica(plog *l, uint8_t *batch, size_t len, const rb_header *h, int64_t now_ms)
{
    if (h->base_offset != l->log_end_offset)
        return LOG_ERR_OUT_OF_RANGE;
    return append_at(l, batch, len, h, now_ms, h->leader_epoch, true);
}

/* Drops the segments after index si (from the end); a pinned one is freed by its flush.
 * Returns 0, or -errno when a segment's .log could not be deleted (the cut fails). */
static int drop_after(plog *l, size_t si)
{
    int rc = 0;
    while (l->nsegs > si + 1) {
        segment *s = l->segs[--l->nsegs];
        int r = seg_unlink(l, s);
        if (r != 0)
            rc = r;
        if (s->pins > 0) {
            s->deleted = true;
            s->cut_while_pinned = true;
        } else {
            seg_free(s);
        }
    }
    return rc;
}

/* Makes s (a sealed segment that is now the last) writable again: its index files. Its
 * log fd stays (a flush begun before a roll may still be syncing it). */
static int reopen_active(plog *l, segment *s)
{
    static const char *exts[] = {"index", "timeindex", "txnindex"};
    int *fds[] = {&s->idx_fd, &s->tidx_fd, &s->txn_fd};
    for (unsigned i = 0; i < BROOK_ARRAY_LEN(fds); i++) {
        if (*fds[i] >= 0)
            continue;
        *fds[i] = seg_file_open(l, s->base_offset, exts[i]);
        if (*fds[i] < 0)
            return -errno;
    }
    return 0;
}

/* Producer state, aborted ranges and .txnindex files rebuilt for the cut log: the
 * snapshot may describe offsets that are gone, so it is dropped and the log replayed. */
static int reload_producers(plog *l)
{
    const char *files[] = {LOG_SNAPSHOT_FILE, LOG_SNAPSHOT_PREV_FILE};
    for (unsigned i = 0; i < BROOK_ARRAY_LEN(files); i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", l->dir, files[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            return LOG_ERR_IO;
    }
    /* Durable before the log grows again: else a crash could bring back a snapshot whose
     * offset the regrown log reaches with other records. */
    if (fs_fsync_dir(l->dir) != 0)
        return LOG_ERR_IO;
    pstate_free(&l->ps);
    pstate_init(&l->ps);
    l->naborted = 0;
    l->nclosing = 0;
    return log_load_producers(l);
}

int log_truncate(plog *l, int64_t offset)
{
    if (l->failed)
        return LOG_ERR_FAILED;
    if (offset >= l->log_end_offset)
        return LOG_OK;
    if (offset < l->log_start_offset)
        offset = l->log_start_offset;
    meta_settle(l); /* the last roll's writes land before the cut's, never after */
    size_t si = seg_find(l, offset);
    l->cut_gen++;
    g_log_cuts++;
    if (l->unsynced && l->unsynced->base_offset >= l->segs[si]->base_offset) {
        /* Dropped, or the cut below fdatasyncs it; its roll's writes describe a log that
         * is gone (the cut fsyncs the directory itself). */
        meta_drop(l, l->unsynced);
        l->unsynced = NULL;
    }
    int rc = drop_after(l, si) == 0 ? LOG_OK : LOG_ERR_IO;
    segment *s = l->segs[si];
    uint64_t pos = idx_floor_pos(s, offset);
    if (rc == LOG_OK)
        rc = seg_seek(l, s, offset, &pos);
    if (rc == LOG_OK && reopen_active(l, s) != 0)
        rc = LOG_ERR_IO;
    /* The cut is made durable before anything relies on it: a crash must not bring back
     * the divergent tail under a history that no longer has its epochs. */
    if (rc == LOG_OK && (ftruncate(s->log_fd, (off_t)pos) != 0 || fdatasync(s->log_fd) != 0 ||
                         fs_fsync_dir(l->dir) != 0))
        rc = LOG_ERR_IO;
    s->filled_end = 0; /* the cut took the zeros written ahead too */
    if (rc == LOG_OK && seg_load(l, s, false) != 0)
        rc = LOG_ERR_IO;
    if (rc == LOG_OK)
        seg_release_index_fds(s);
    if (rc != LOG_OK) {
        LOG_ERROR("storage", "%s: truncation to %" PRId64 " failed; log is now read-only",
                  l->name, offset);
        l->failed = true;
        return rc;
    }
    if (s->pins > 0)
        s->cut_while_pinned = true;
    if (s->cache_released > s->size)
        s->cache_released = s->size; /* bytes written again past the cut are new */
    int64_t old_end = l->log_end_offset;
    l->log_end_offset = s->next_offset;
    if (l->durable_offset > l->log_end_offset)
        l->durable_offset = l->log_end_offset;
    eh_truncate(&l->epochs, l->log_end_offset);
    epochs_save(l);
    if (l->clean_loaded && l->clean_first_dirty > l->log_end_offset)
        l->clean_first_dirty = l->log_end_offset; /* what comes next is dirty (compact.h) */
    if ((rc = reload_producers(l)) != LOG_OK) {
        l->failed = true;
        return rc;
    }
    LOG_INFO("storage", "%s: truncated from %" PRId64 " to %" PRId64, l->name, old_end,
             l->log_end_offset);
    return LOG_OK;
}

/* ---------------- compaction ---------------- */

int log_segment_replaced(plog *l, int64_t base, const int64_t *gone_markers, size_t ngone)
{
    if (l->failed)
        return LOG_ERR_FAILED;
    size_t si = seg_find(l, base);
    BROOK_ASSERT(si + 1 < l->nsegs && l->segs[si]->base_offset == base); /* a closed one */
    segment *old = l->segs[si];
    BROOK_ASSERT(old != l->unsynced); /* cmp_plan_log stops before it */
    segment *s = seg_alloc(base);
    int rc = s ? seg_open_files(l, s, false) : -ENOMEM;
    if (rc == 0)
        rc = seg_load(l, s, false);
    if (rc == 0 && (s->next_offset != old->next_offset || s->size == 0))
        rc = -EINVAL; /* the cleaner's batches cover every offset they covered: same end */
    if (rc != 0) {
        LOG_ERROR("storage", "%s: cannot open cleaned segment %" PRId64 ": %s; log is now "
                  "read-only", l->name, base, rc == -EINVAL ? "its end offset moved"
                                                            : strerror(-rc));
        if (s)
            seg_free(s);
        l->failed = true;
        return LOG_ERR_IO;
    }
    s->created_ms = old->created_ms;
    seg_seal(l, s, false);
    l->segs[si] = s;
    if (old->pins > 0)
        old->deleted = true; /* a flush begun before its roll still syncs its fd */
    else
        seg_free(old);
    /* Both lists are in marker order: one merge. */
    size_t k = 0, g = 0;
    for (size_t i = 0; i < l->naborted; i++) {
        while (g < ngone && gone_markers[g] < l->aborted[i].last_offset)
            g++;
        if (g < ngone && gone_markers[g] == l->aborted[i].last_offset)
            continue;
        l->aborted[k++] = l->aborted[i];
    }
    l->naborted = k;
    return LOG_OK;
}
