/*
 * powerloss.c - an LD_PRELOAD shim that lets the chaos harness cut a node's power: what a
 * process wrote but did not fsync is dropped, as a power failure would drop it from the page
 * cache, so that Brook's fsync discipline is tested rather than assumed.
 *
 * The shim keeps, for every regular file the process opens for writing, the size the file had
 * when it was last made durable: when it was opened (what was there before is taken as
 * durable), or after each fsync/fdatasync of it. Creating or truncating a file on open makes
 * that size 0; rename carries the record to the new name; unlink drops it. The records live
 * in a file mapped MAP_SHARED (BROOK_POWERLOSS_STATE), so they survive the process: the
 * harness SIGKILLs the node, then truncates every recorded file to its durable size
 * (tests/chaos/chaos.py, power_cut). Files that only grow (Brook's segments, indexes and
 * logs) lose exactly their unsynced tail. A pwrite over bytes already durable (a segment's
 * append into its zeros written ahead, storage/log.h) is recorded too: the cut then also
 * drops everything from the lowest such unsynced overwrite on, as if the power failure had
 * kept the old bytes there and recovery had cut at them. Not modelled: directory entries
 * (a create, rename or unlink counts as durable at once), ftruncate, writes through dup'ed
 * descriptors, and write() over durable bytes (Brook writes such files whole and renames
 * them into place): the shim tests the fsync discipline of file contents.
 * Owns: the state file's records. Never: changes what the process reads or writes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PL_MAX_FILES 8192
#define PL_PATH 488
#define PL_MAX_FD 65536

/* One record of the state file, read by the harness: 512 bytes, little-endian. */
typedef struct pl_record {
    int64_t durable;    /* bytes of the file that a power cut keeps at most */
    int64_t dirty_from; /* lowest offset overwritten below `durable` since the last sync
                         * (PL_CLEAN: none); the cut keeps no byte from it on */
    int32_t live;       /* 1: the file exists under path */
    int32_t pad;
    char path[PL_PATH]; /* absolute, NUL-terminated */
} pl_record;
#define PL_CLEAN INT64_MAX

static pl_record *g_recs;
static int g_nrecs;
static int g_fd_rec[PL_MAX_FD]; /* fd -> record index + 1 (0: not tracked) */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static bool g_warned_full;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_unlink)(const char *);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);

__attribute__((constructor)) static void pl_init(void)
{
    real_open = dlsym(RTLD_NEXT, "open");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_close = dlsym(RTLD_NEXT, "close");
    real_rename = dlsym(RTLD_NEXT, "rename");
    real_renameat = dlsym(RTLD_NEXT, "renameat");
    real_unlink = dlsym(RTLD_NEXT, "unlink");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    const char *state = getenv("BROOK_POWERLOSS_STATE");
    if (!state || !*state)
        return;
    int fd = real_open(state, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = sizeof(pl_record) * PL_MAX_FILES;
    if (fd < 0 || ftruncate(fd, (off_t)len) != 0) {
        fprintf(stderr, "powerloss: cannot create %s: %s\n", state, strerror(errno));
        abort();
    }
    g_recs = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    real_close(fd);
    if (g_recs == MAP_FAILED) {
        fprintf(stderr, "powerloss: cannot map %s: %s\n", state, strerror(errno));
        abort();
    }
}

/* The absolute form of path (relative to dirfd, or the working directory). */
static int pl_abs(int dirfd, const char *path, char *out, size_t len)
{
    if (path[0] == '/')
        return snprintf(out, len, "%s", path) < (int)len ? 0 : -1;
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof(base)))
            return -1;
    } else {
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        ssize_t n = readlink(link, base, sizeof(base) - 1);
        if (n < 0)
            return -1;
        base[n] = '\0';
    }
    return snprintf(out, len, "%s/%s", base, path) < (int)len ? 0 : -1;
}

/* The live record of path, or -1. Caller holds g_mu. */
static int pl_find(const char *abs)
{
    for (int i = 0; i < g_nrecs; i++)
        if (g_recs[i].live && strcmp(g_recs[i].path, abs) == 0)
            return i;
    return -1;
}

static int64_t pl_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* After a successful open for writing: the file's record (a new one durable at its size
 * then, or 0 when the open created or truncated it), tied to fd. */
static void pl_opened(int dirfd, const char *path, int flags, bool existed, int fd)
{
    if (!g_recs || fd < 0 || fd >= PL_MAX_FD || (flags & O_ACCMODE) == O_RDONLY)
        return;
    struct stat st;
    char abs[PL_PATH];
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pl_abs(dirfd, path, abs, sizeof(abs)))
        return;
    pthread_mutex_lock(&g_mu);
    int i = pl_find(abs);
    if (i < 0 && g_nrecs < PL_MAX_FILES) {
        i = g_nrecs;
        pl_record *r = &g_recs[i];
        snprintf(r->path, sizeof(r->path), "%s", abs);
        r->durable = !existed || (flags & O_TRUNC) ? 0 : (int64_t)st.st_size;
        r->dirty_from = PL_CLEAN;
        __atomic_store_n(&r->live, 1, __ATOMIC_RELEASE);
        g_nrecs++;
    } else if (i >= 0 && (!existed || (flags & O_TRUNC))) {
        g_recs[i].durable = 0; /* a stale record of a file that was gone: it starts empty */
        g_recs[i].dirty_from = PL_CLEAN;
    } else if (i < 0 && !g_warned_full) {
        g_warned_full = true;
        fprintf(stderr, "powerloss: more than %d files: the others are not cut\n",
                PL_MAX_FILES);
    }
    g_fd_rec[fd] = i + 1;
    pthread_mutex_unlock(&g_mu);
}

static bool pl_exists(int dirfd, const char *path)
{
    struct stat st;
    return fstatat(dirfd, path, &st, 0) == 0;
}

/* The mode argument of an open that creates a file (else 0). */
#define PL_MODE(flags, mode)                                                                   \
    do {                                                                                       \
        (mode) = 0;                                                                            \
        if ((flags) & (O_CREAT | O_TMPFILE)) {                                                 \
            va_list ap_;                                                                       \
            va_start(ap_, flags);                                                              \
            (mode) = va_arg(ap_, mode_t);                                                      \
            va_end(ap_);                                                                       \
        }                                                                                      \
    } while (0)

/* open and openat: the real call, then the file's record. */
static int pl_open_at(int dirfd, const char *path, int flags, mode_t mode)
{
    bool existed = g_recs && (flags & O_CREAT) ? pl_exists(dirfd, path) : true;
    int fd = dirfd == AT_FDCWD ? real_open(path, flags, mode)
                               : real_openat(dirfd, path, flags, mode);
    pl_opened(dirfd, path, flags, existed, fd);
    return fd;
}

int open(const char *path, int flags, ...)
{
    mode_t mode;
    PL_MODE(flags, mode);
    return pl_open_at(AT_FDCWD, path, flags, mode);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode;
    PL_MODE(flags, mode);
    return pl_open_at(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

/* fd's record, or NULL. Caller holds g_mu. */
static pl_record *pl_rec(int fd)
{
    if (!g_recs || fd < 0 || fd >= PL_MAX_FD || g_fd_rec[fd] == 0)
        return NULL;
    return &g_recs[g_fd_rec[fd] - 1];
}

/* A sync begins: what the file holds now is what it covers. Returns the overwrites it
 * covers (taken off the record: overwrites from here on are the next sync's). */
static int64_t pl_sync_begin(int fd, int64_t *size)
{
    *size = g_recs ? pl_size(fd) : 0;
    pthread_mutex_lock(&g_mu);
    pl_record *r = pl_rec(fd);
    int64_t dirty = r ? r->dirty_from : PL_CLEAN;
    if (r)
        r->dirty_from = PL_CLEAN;
    pthread_mutex_unlock(&g_mu);
    return dirty;
}

/* What fd's file held when a sync began is durable once it succeeds (bytes written by
 * another thread while it ran may not be covered: they stay unsynced); a failed sync
 * covers nothing. */
static void pl_sync_end(int fd, int rc, int64_t size, int64_t dirty)
{
    pthread_mutex_lock(&g_mu);
    pl_record *r = pl_rec(fd);
    if (r && rc == 0)
        r->durable = size;
    else if (r && dirty < r->dirty_from)
        r->dirty_from = dirty;
    pthread_mutex_unlock(&g_mu);
}

int fsync(int fd)
{
    int64_t size, dirty = pl_sync_begin(fd, &size);
    int rc = real_fsync(fd);
    pl_sync_end(fd, rc, size, dirty);
    return rc;
}

int fdatasync(int fd)
{
    int64_t size, dirty = pl_sync_begin(fd, &size);
    int rc = real_fdatasync(fd);
    pl_sync_end(fd, rc, size, dirty);
    return rc;
}

/* Recorded after the write: a sync that began before it completed may not cover it, and
 * then it counts as the next sync's. */
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t rc = real_pwrite(fd, buf, n, off);
    if (rc > 0 && g_recs) {
        pthread_mutex_lock(&g_mu);
        pl_record *r = pl_rec(fd);
        if (r && off < r->durable && off < r->dirty_from)
            r->dirty_from = off;
        pthread_mutex_unlock(&g_mu);
    }
    return rc;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

int close(int fd)
{
    if (g_recs && fd >= 0 && fd < PL_MAX_FD) {
        pthread_mutex_lock(&g_mu);
        g_fd_rec[fd] = 0;
        pthread_mutex_unlock(&g_mu);
    }
    return real_close(fd);
}

/* A rename carries the source's record to the new name (replacing the target's). */
static void pl_renamed(int olddirfd, const char *from, int newdirfd, const char *to)
{
    char a[PL_PATH], b[PL_PATH];
    if (!g_recs || pl_abs(olddirfd, from, a, sizeof(a)) || pl_abs(newdirfd, to, b, sizeof(b)))
        return;
    pthread_mutex_lock(&g_mu);
    int dst = pl_find(b);
    if (dst >= 0)
        g_recs[dst].live = 0;
    int src = pl_find(a);
    if (src >= 0)
        snprintf(g_recs[src].path, sizeof(g_recs[src].path), "%s", b);
    pthread_mutex_unlock(&g_mu);
}

int rename(const char *from, const char *to)
{
    int rc = real_rename(from, to);
    if (rc == 0)
        pl_renamed(AT_FDCWD, from, AT_FDCWD, to);
    return rc;
}

int renameat(int olddirfd, const char *from, int newdirfd, const char *to)
{
    int rc = real_renameat(olddirfd, from, newdirfd, to);
    if (rc == 0)
        pl_renamed(olddirfd, from, newdirfd, to);
    return rc;
}

int unlink(const char *path)
{
    int rc = real_unlink(path);
    char a[PL_PATH];
    if (rc == 0 && g_recs && pl_abs(AT_FDCWD, path, a, sizeof(a)) == 0) {
        pthread_mutex_lock(&g_mu);
        int i = pl_find(a);
        if (i >= 0)
            g_recs[i].live = 0;
        pthread_mutex_unlock(&g_mu);
    }
    return rc;
}
