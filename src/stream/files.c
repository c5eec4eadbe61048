/*
 * stream/files.c - the file participant: part file, fsync, rename, directory fsync.
 */
#include "stream/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/fsutil.h"

struct file_sink {
    char *dir;
    char *pipeline;
    int32_t task;
    int fd;       /* the open interval's part file; -1: none */
    int64_t seq;  /* of the open part file */
    int64_t gen;
    bool dirty;   /* written since the last fsync */
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void part_name(const file_sink *s, int64_t seq, int64_t gen, char *out, size_t cap)
{
    snprintf(out, cap, "%s/.%s-%" PRId32 "-%" PRId64 "-%" PRId64 ".part", s->dir,
             s->pipeline, s->task, seq, gen);
}

static void final_name(const file_sink *s, int64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s-%" PRId32 "-%012" PRId64 ".jsonl", s->dir, s->pipeline, s->task,
             seq);
}

file_sink *file_sink_open(const char *dir, const char *pipeline, int32_t task, char *err,
                          size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "sink.files.dir %s: not a writable directory (%s)", dir,
                 strerror(errno ? errno : ENOTDIR));
        return NULL;
    }
    file_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir)) || !(s->pipeline = strdup(pipeline))) {
        file_sink_close(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->task = task;
    s->fd = -1;
    return s;
}

void file_sink_close(file_sink *s)
{
    if (!s)
        return;
    file_sink_rollback_open(s);
    free(s->dir);
    free(s->pipeline);
    free(s);
}

bool file_sink_pending(const file_sink *s)
{
    return s->fd >= 0;
}

void file_sink_rollback_open(file_sink *s)
{
    if (s->fd < 0)
        return;
    char path[4096];
    part_name(s, s->seq, s->gen, path, sizeof path);
    close(s->fd);
    s->fd = -1;
    unlink(path); /* what is left (a crash here) is rolled back at recovery */
}

int file_sink_write(file_sink *s, int64_t seq, int64_t gen, const char *line, size_t len,
                    char *err, size_t errlen)
{
    char path[4096];
    if (s->fd >= 0 && (s->seq != seq || s->gen != gen))
        file_sink_rollback_open(s); /* a new interval: the last one was never prepared */
    if (s->fd < 0) {
        part_name(s, seq, gen, path, sizeof path);
        s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (s->fd < 0) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        s->seq = seq;
        s->gen = gen;
    }
    if (write_all(s->fd, line, len) != 0 || write_all(s->fd, "\n", 1) != 0) {
        snprintf(err, errlen, "cannot write a part file in %s: %s", s->dir, strerror(errno));
        file_sink_rollback_open(s);
        return -1;
    }
    s->dirty = true;
    return 0;
}

int file_sink_prepare(file_sink *s, char *err, size_t errlen)
{
    if (s->fd < 0)
        return 0;
    /* The part file, data and directory entry, is durable before the broker may commit:
     * after the commit it is the only copy of the interval's output for this sink. */
    int rc = fsync(s->fd);
    int saved = errno;
    close(s->fd);
    s->fd = -1;
    int drc = rc == 0 ? fs_fsync_dir(s->dir) : 0;
    if (rc != 0 || drc != 0) {
        snprintf(err, errlen, "fsync of a part file in %s failed: %s", s->dir,
                 strerror(rc != 0 ? saved : -drc));
        char path[4096];
        part_name(s, s->seq, s->gen, path, sizeof path);
        unlink(path);
        return -1;
    }
    s->dirty = false;
    return 0;
}

int file_sink_finish(file_sink *s, int64_t seq, int64_t gen, bool commit, char *err,
                     size_t errlen)
{
    char part[4096], fin[4096];
    part_name(s, seq, gen, part, sizeof part);
    final_name(s, seq, fin, sizeof fin);
    if (!commit) {
        if (unlink(part) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove %s: %s", part, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (rename(part, fin) != 0) {
        if (errno == ENOENT && access(fin, F_OK) == 0)
            return 0; /* renamed before a crash; the directory sync below may not have run */
        snprintf(err, errlen, "cannot rename %s into place: %s", part, strerror(errno));
        return -1;
    }
    int drc = fs_fsync_dir(s->dir);
    if (drc != 0) {
        snprintf(err, errlen, "fsync of directory %s failed: %s", s->dir, strerror(-drc));
        return -1;
    }
    return 0;
}

int file_sink_list_prepared(file_sink *s, sc_in_doubt **out, char *err, size_t errlen)
{
    *out = NULL;
    DIR *d = opendir(s->dir);
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", s->dir, strerror(errno));
        return -1;
    }
    char prefix[512];
    int plen = snprintf(prefix, sizeof prefix, ".%s-%" PRId32 "-", s->pipeline, s->task);
    size_t n = 0, cap = 0;
    sc_in_doubt *v = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, (size_t)plen) != 0)
            continue;
        char *end;
        const char *t = e->d_name + plen;
        long long seq = strtoll(t, &end, 10);
        if (end == t || *end != '-' || seq < 0)
            continue;
        const char *h = end + 1;
        long long gen = strtoll(h, &end, 10);
        if (end == h || gen < 0 || strcmp(end, ".part") != 0)
            continue;
        sc_in_doubt *nv = array_grow(v, &cap, n, sizeof *nv, 8);
        if (!nv) {
            free(v);
            closedir(d);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        v = nv;
        v[n].seq = seq;
        v[n].gen = gen;
        n++;
    }
    closedir(d);
    *out = v;
    return (int)n;
}
