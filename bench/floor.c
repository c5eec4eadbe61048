/*
 * floor.c - brook-floor-bench: the physical floor under one cross-node transaction commit on
 * this machine, measured in one process, as the yardstick for bench/cluster.sh.
 *
 * A commit that spans nodes cannot be durable and acknowledged faster than the disk can make
 * two records durable one after the other (the coordinator's decision, then a participant's
 * marker) plus the loopback round trips that carry the request and the decision. So each
 * iteration does, strictly in sequence:
 *   1. --syncs times: append --bytes to a file in --dir, then fdatasync it (the file grows,
 *      as a log does, so each fdatasync also persists the new size);
 *   2. --round-trips times: send a --msg-bytes message over loopback TCP to an echo thread
 *      in this process and read the whole echo back (TCP_NODELAY on both ends).
 * With --parallel N, each step of 1 appends to N files and fdatasyncs them at once (N-1
 * helper threads), ending when all N are durable: the same record made durable by N
 * replicas that share this machine's disk, as acks=all on a one-host cluster needs.
 * It reports p50/p99 of the sum per iteration, of each part, and of one fdatasync (one
 * parallel step) and one round trip. Nothing overlaps, so the sum is a floor no implementation can beat on this
 * machine with this much I/O; it is not a model of any particular protocol.
 *
 * Owns: its temp files (removed at the end, also after Ctrl-C), the echo thread and its two
 * sockets, the helper threads. Never: touches brookd or anything outside --dir.
 *
 * Output: human lines, plus one "RESULT key=value ..." line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/hist.h"
#include "bench_util.h"

#define FLOOR_MSG_MAX 65536
#define FLOOR_WARMUP 20
#define FLOOR_PARALLEL_MAX 16

/* Writes all of buf at off, retrying short writes. Returns 0 or -1 with errno set. */
static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0) {
            if (errno == EINTR && !bench_stop)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Sends all of buf on a socket. Returns 0 or -1 with errno set. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR && !bench_stop)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes. Returns 0, or -1 on error or end of stream. */
static int recv_all(int fd, char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n < 0 && errno == EINTR && !bench_stop)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct echo {
    pthread_t thread;
    int listen_fd;
    size_t msg_bytes;
};

/* The echo thread: accepts one connection and sends every message back until it closes. */
static void *echo_run(void *arg)
{
    struct echo *e = arg;
    char *buf = malloc(e->msg_bytes);
    int fd = accept(e->listen_fd, NULL, NULL);
    if (fd >= 0 && buf) {
        set_nodelay(fd);
        while (recv_all(fd, buf, e->msg_bytes) == 0 && send_all(fd, buf, e->msg_bytes) == 0) {
        }
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

/* Starts the echo thread on 127.0.0.1, an ephemeral port, and connects to it. Returns the
 * client socket, or -1 after printing why. */
static int echo_start(struct echo *e)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    e->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (e->listen_fd < 0 || bind(e->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(e->listen_fd, 1) != 0 ||
        getsockname(e->listen_fd, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "brook-floor-bench: loopback listener: %s\n", strerror(errno));
        return -1;
    }
    if (pthread_create(&e->thread, NULL, echo_run, e) != 0) {
        fprintf(stderr, "brook-floor-bench: cannot start the echo thread\n");
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, "brook-floor-bench: connect to the echo thread: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        shutdown(e->listen_fd, SHUT_RDWR); /* lets accept() return, so the join ends */
        pthread_join(e->thread, NULL);
        return -1;
    }
    set_nodelay(fd);
    return fd;
}

struct floor_cfg {
    const char *dir;
    int64_t iterations;
    int64_t seconds;
    int64_t bytes;
    int64_t syncs;
    int64_t round_trips;
    int64_t msg_bytes;
    int64_t parallel;
};

/* Appends len bytes of data at *off and fdatasyncs fd. Returns 0 or -1 with errno set. */
static int append_sync(int fd, off_t *off, const char *data, size_t len)
{
    if (pwrite_all(fd, data, len, *off) != 0 || fdatasync(fd) != 0)
        return -1;
    *off += (off_t)len;
    return 0;
}

/* The helpers of --parallel: each appends to its own file when the start barrier opens,
 * and meets the others at the done barrier. */
struct helpers {
    int n; /* helper threads (parallel - 1) */
    pthread_barrier_t start, done;
    bool quit;
    size_t bytes;
    const char *data;
    struct helper {
        pthread_t thread;
        struct helpers *hs;
        int fd;
        off_t off;
        int err; /* errno of the last step, 0: ok */
        char path[BENCH_PATH_MAX + 8];
    } h[FLOOR_PARALLEL_MAX];
};

static void *helper_run(void *arg)
{
    struct helper *me = arg;
    struct helpers *hs = me->hs;
    for (;;) {
        pthread_barrier_wait(&hs->start);
        if (hs->quit)
            return NULL;
        me->err = append_sync(me->fd, &me->off, hs->data, hs->bytes) == 0 ? 0 : errno;
        pthread_barrier_wait(&hs->done);
    }
}

/* One step of --parallel: this thread's append+fdatasync alongside every helper's. */
static int parallel_step(struct helpers *hs, int fd, off_t *off)
{
    if (hs->n == 0)
        return append_sync(fd, off, hs->data, hs->bytes);
    pthread_barrier_wait(&hs->start);
    int rc = append_sync(fd, off, hs->data, hs->bytes);
    int err = rc == 0 ? 0 : errno;
    pthread_barrier_wait(&hs->done);
    for (int i = 0; i < hs->n && err == 0; i++)
        err = hs->h[i].err;
    errno = err;
    return err == 0 ? 0 : -1;
}

/* Opens the helpers' files (PATH.1, PATH.2, ...) and starts them. Returns 0, or -1 after
 * printing why (no helper file left). A helper thread that cannot start ends the process
 * (after removing the files): the others would wait at the barrier forever. */
static int helpers_start(struct helpers *hs, int n, const char *path, const char *data,
                         size_t bytes)
{
    memset(hs, 0, sizeof(*hs));
    hs->data = data;
    hs->bytes = bytes;
    for (int i = 0; i < n; i++) {
        struct helper *h = &hs->h[i];
        h->hs = hs;
        snprintf(h->path, sizeof(h->path), "%s.%d", path, i + 1);
        h->fd = open(h->path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
        if (h->fd < 0) {
            fprintf(stderr, "brook-floor-bench: open %s: %s\n", h->path, strerror(errno));
            for (int k = 0; k < i; k++) {
                close(hs->h[k].fd);
                unlink(hs->h[k].path);
            }
            return -1;
        }
    }
    hs->n = n;
    if (n == 0)
        return 0;
    pthread_barrier_init(&hs->start, NULL, (unsigned)n + 1);
    pthread_barrier_init(&hs->done, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++)
        if (pthread_create(&hs->h[i].thread, NULL, helper_run, &hs->h[i]) != 0) {
            fprintf(stderr, "brook-floor-bench: cannot start helper thread %d\n", i + 1);
            for (int k = 0; k < n; k++)
                unlink(hs->h[k].path);
            unlink(path);
            exit(1);
        }
    return 0;
}

/* Stops the helpers (each waits at the start barrier) and removes their files. */
static void helpers_stop(struct helpers *hs)
{
    if (hs->n == 0)
        return;
    hs->quit = true;
    pthread_barrier_wait(&hs->start);
    for (int i = 0; i < hs->n; i++) {
        pthread_join(hs->h[i].thread, NULL);
        close(hs->h[i].fd);
        unlink(hs->h[i].path);
    }
    pthread_barrier_destroy(&hs->start);
    pthread_barrier_destroy(&hs->done);
}

/* The histograms: the sum per iteration, its two parts, and single operations. */
struct floor_hists {
    struct cli_hist *total, *disk, *net, *sync, *rtt;
};

/* One iteration; records into h when h is not NULL (warm-up passes NULL). */
static int iterate(const struct floor_cfg *cfg, struct helpers *hs, int fd, off_t *off,
                   int sock, char *msg, const char *path, struct floor_hists *h)
{
    int64_t t0 = bench_now_us();
    for (int64_t s = 0; s < cfg->syncs; s++) {
        int64_t s0 = bench_now_us();
        if (parallel_step(hs, fd, off) != 0) {
            fprintf(stderr, "brook-floor-bench: write+fdatasync %s: %s\n", path,
                    strerror(errno));
            return -1;
        }
        if (h)
            cli_hist_record(h->sync, (uint64_t)(bench_now_us() - s0));
    }
    int64_t t1 = bench_now_us();
    for (int64_t r = 0; r < cfg->round_trips; r++) {
        int64_t r0 = bench_now_us();
        if (send_all(sock, msg, (size_t)cfg->msg_bytes) != 0 ||
            recv_all(sock, msg, (size_t)cfg->msg_bytes) != 0) {
            fprintf(stderr, "brook-floor-bench: loopback round trip failed\n");
            return -1;
        }
        if (h)
            cli_hist_record(h->rtt, (uint64_t)(bench_now_us() - r0));
    }
    int64_t t2 = bench_now_us();
    if (h) {
        cli_hist_record(h->disk, (uint64_t)(t1 - t0));
        cli_hist_record(h->net, (uint64_t)(t2 - t1));
        cli_hist_record(h->total, (uint64_t)(t2 - t0));
    }
    return 0;
}

static void report(const struct floor_cfg *cfg, const struct floor_hists *h, double secs)
{
    uint64_t n = cli_hist_count(h->total);
    printf("floor: %" PRIu64 " iterations in %.3f s of %" PRId64 " x (%" PRId64
           " B append + fdatasync, on %" PRId64 " file(s) at once) then %" PRId64 " x %" PRId64
           " B loopback round trip\n",
           n, secs, cfg->syncs, cfg->bytes, cfg->parallel, cfg->round_trips, cfg->msg_bytes);
    printf("  sum   p50=%" PRIu64 " us p99=%" PRIu64 " us max=%" PRIu64 " us\n",
           cli_hist_quantile(h->total, 0.5), cli_hist_quantile(h->total, 0.99),
           cli_hist_max(h->total));
    printf("  disk  p50=%" PRIu64 " us p99=%" PRIu64 " us (one fdatasync p50=%" PRIu64
           " us p99=%" PRIu64 " us)\n",
           cli_hist_quantile(h->disk, 0.5), cli_hist_quantile(h->disk, 0.99),
           cli_hist_quantile(h->sync, 0.5), cli_hist_quantile(h->sync, 0.99));
    printf("  net   p50=%" PRIu64 " us p99=%" PRIu64 " us (one round trip p50=%" PRIu64
           " us p99=%" PRIu64 " us)\n",
           cli_hist_quantile(h->net, 0.5), cli_hist_quantile(h->net, 0.99),
           cli_hist_quantile(h->rtt, 0.5), cli_hist_quantile(h->rtt, 0.99));
    printf("RESULT cmd=floor iterations=%" PRIu64 " seconds=%.3f syncs=%" PRId64
           " parallel=%" PRId64 " bytes=%" PRId64
           " round_trips=%" PRId64 " msg_bytes=%" PRId64 " p50_us=%" PRIu64 " p99_us=%" PRIu64
           " max_us=%" PRIu64 " mean_us=%.0f disk_p50_us=%" PRIu64 " disk_p99_us=%" PRIu64
           " net_p50_us=%" PRIu64 " net_p99_us=%" PRIu64 " sync_p50_us=%" PRIu64
           " sync_p99_us=%" PRIu64 " rtt_p50_us=%" PRIu64 " rtt_p99_us=%" PRIu64 "\n",
           n, secs, cfg->syncs, cfg->parallel, cfg->bytes, cfg->round_trips, cfg->msg_bytes,
           cli_hist_quantile(h->total, 0.5), cli_hist_quantile(h->total, 0.99),
           cli_hist_max(h->total), cli_hist_mean(h->total), cli_hist_quantile(h->disk, 0.5),
           cli_hist_quantile(h->disk, 0.99), cli_hist_quantile(h->net, 0.5),
           cli_hist_quantile(h->net, 0.99), cli_hist_quantile(h->sync, 0.5),
           cli_hist_quantile(h->sync, 0.99), cli_hist_quantile(h->rtt, 0.5),
           cli_hist_quantile(h->rtt, 0.99));
    fflush(stdout);
}

static int run(const struct floor_cfg *cfg, const char *path)
{
    int rc = -1, fd = -1, sock = -1;
    struct echo e = {.listen_fd = -1, .msg_bytes = (size_t)cfg->msg_bytes};
    struct floor_hists h = {cli_hist_new(), cli_hist_new(), cli_hist_new(), cli_hist_new(),
                            cli_hist_new()};
    char *data = malloc((size_t)cfg->bytes);
    char *msg = calloc(1, (size_t)cfg->msg_bytes);
    if (!h.total || !h.disk || !h.net || !h.sync || !h.rtt || !data || !msg) {
        fprintf(stderr, "brook-floor-bench: out of memory\n");
        goto out_free;
    }
    memset(data, 'f', (size_t)cfg->bytes);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "brook-floor-bench: open %s: %s\n", path, strerror(errno));
        goto out_free;
    }
    struct helpers hs;
    if (helpers_start(&hs, (int)cfg->parallel - 1, path, data, (size_t)cfg->bytes) != 0)
        goto out_close;
    sock = echo_start(&e);
    if (sock < 0)
        goto out_helpers;
    off_t off = 0;
    /* A few untimed iterations first: the first writes allocate the file's first blocks and
     * the first round trips grow the sockets' windows, neither of which a running broker
     * pays per commit. */
    for (int i = 0; i < FLOOR_WARMUP && !bench_stop; i++)
        if (iterate(cfg, &hs, fd, &off, sock, msg, path, NULL) != 0)
            goto out_sock;
    int64_t start = bench_now_us(), deadline = start + cfg->seconds * 1000000;
    for (int64_t i = 0; i < cfg->iterations && !bench_stop && bench_now_us() < deadline; i++)
        if (iterate(cfg, &hs, fd, &off, sock, msg, path, &h) != 0)
            goto out_sock;
    double secs = (double)(bench_now_us() - start) / 1e6;
    if (!bench_stop) {
        report(cfg, &h, secs);
        rc = 0;
    }
out_sock:
    close(sock); /* the echo thread sees end of stream and returns */
    pthread_join(e.thread, NULL);
out_helpers:
    helpers_stop(&hs);
out_close:
    if (e.listen_fd >= 0)
        close(e.listen_fd);
    close(fd);
    unlink(path);
out_free:
    free(msg);
    free(data);
    cli_hist_free(h.total);
    cli_hist_free(h.disk);
    cli_hist_free(h.net);
    cli_hist_free(h.sync);
    cli_hist_free(h.rtt);
    return rc;
}

int main(int argc, char **argv)
{
    struct floor_cfg cfg = {
        .dir = NULL,
        .iterations = 2000,
        .seconds = 20,
        .bytes = 4096,
        .syncs = 2,
        .round_trips = 4,
        .msg_bytes = 64,
        .parallel = 1,
    };
    const struct cli_opt opts[] = {
        {"dir", CLI_OPT_STR, &cfg.dir, 0, 0, NULL, NULL,
         "directory on the data directory's filesystem (required)"},
        {"iterations", CLI_OPT_I64, &cfg.iterations, 1, 10000000, NULL, NULL,
         "timed iterations (default 2000)"},
        {"seconds", CLI_OPT_I64, &cfg.seconds, 1, 600, NULL, NULL,
         "time limit (default 20)"},
        {"bytes", CLI_OPT_I64, &cfg.bytes, 1, 1024 * 1024, NULL, NULL,
         "bytes appended before each fdatasync (default 4096)"},
        {"syncs", CLI_OPT_I64, &cfg.syncs, 0, 100, NULL, NULL,
         "sequential append+fdatasync per iteration (default 2)"},
        {"round-trips", CLI_OPT_I64, &cfg.round_trips, 0, 100, NULL, NULL,
         "sequential loopback round trips per iteration (default 4)"},
        {"msg-bytes", CLI_OPT_I64, &cfg.msg_bytes, 1, FLOOR_MSG_MAX, NULL, NULL,
         "size of each round trip's message (default 64)"},
        {"parallel", CLI_OPT_I64, &cfg.parallel, 1, FLOOR_PARALLEL_MAX, NULL, NULL,
         "files appended and fdatasynced at once in each sync step (default 1)"},
    };
    size_t n_opts = sizeof(opts) / sizeof(opts[0]);
    char path[BENCH_PATH_MAX];
    int rc = bench_dir_setup("brook-floor-bench", argc, argv, opts, n_opts, &cfg.dir, path,
                             sizeof(path));
    if (rc >= 0)
        return rc;
    return run(&cfg, path) == 0 ? 0 : 1;
}
