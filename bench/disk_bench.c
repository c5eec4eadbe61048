/*
 * disk_bench.c - brook-disk-bench: what the disk under a directory can do, as the yardstick
 * for brookd's log.flush.mode=sync numbers.
 *
 * Four measurements, each bounded by a count and a time limit:
 *   1. fdatasync rate: append 4 KiB, fdatasync, repeat. This is the cost of one group commit
 *      with almost no data, so it bounds how many durable acknowledgements per second a
 *      single log can give.
 *   2. sequential write bandwidth: 1 MiB writes up to 1 GiB, then one fdatasync, timed
 *      together, so the page cache cannot flatter the result.
 *   3. the same with O_DIRECT from one reused buffer: the disk without the page cache. On a
 *      VM whose free memory goes back to the host, 2. also pays a host fault for every page
 *      the page cache takes fresh, so 3. can be the faster; the larger is the disk's
 *      bandwidth.
 *   4. first touch of fresh anonymous memory, then a second pass over it: what a new page
 *      costs on this machine (docs/architecture.md, "Page cache behind the writer").
 * Its files live in the given directory and are removed at the end, also after Ctrl-C.
 *
 * Output: human lines, plus one "RESULT key=value ..." line per measurement.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/hist.h"
#include "bench_util.h"

#define DISK_BENCH_BLOCK_MAX_KIB (64 * 1024)

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

struct disk_cfg {
    const char *dir;
    int64_t sync_count;
    int64_t sync_seconds;
    int64_t sync_bytes;
    int64_t write_mib;
    int64_t write_seconds;
    int64_t block_kib;
    int64_t touch_mib;
};

static int open_file(const char *path)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        fprintf(stderr, "brook-disk-bench: open %s: %s\n", path, strerror(errno));
    return fd;
}

static int bench_fdatasync(const struct disk_cfg *cfg, const char *path)
{
    int rc = -1;
    char *buf = malloc((size_t)cfg->sync_bytes);
    struct cli_hist *hist = cli_hist_new();
    int fd = -1;
    if (buf == NULL || hist == NULL) {
        fprintf(stderr, "brook-disk-bench: out of memory\n");
        goto out_free;
    }
    memset(buf, 'b', (size_t)cfg->sync_bytes);
    fd = open_file(path);
    if (fd < 0)
        goto out_free;
    int64_t start = bench_now_us();
    int64_t deadline = start + cfg->sync_seconds * 1000000;
    int64_t ops = 0;
    /* Appends, like a log, so each fdatasync also has to persist the new file size. */
    while (ops < cfg->sync_count && !bench_stop && bench_now_us() < deadline) {
        int64_t t0 = bench_now_us();
        if (pwrite_all(fd, buf, (size_t)cfg->sync_bytes, (off_t)(ops * cfg->sync_bytes)) != 0) {
            fprintf(stderr, "brook-disk-bench: write %s: %s\n", path, strerror(errno));
            goto out_close;
        }
        if (fdatasync(fd) != 0) {
            fprintf(stderr, "brook-disk-bench: fdatasync %s: %s\n", path, strerror(errno));
            goto out_close;
        }
        cli_hist_record(hist, (uint64_t)(bench_now_us() - t0));
        ops++;
    }
    double secs = (double)(bench_now_us() - start) / 1e6;
    if (secs <= 0.0)
        secs = 1e-6;
    printf("fdatasync: %" PRId64 " appends of %" PRId64 " B + fdatasync in %.3f s = %.0f ops/s;"
           " latency p50=%" PRIu64 " us p99=%" PRIu64 " us max=%" PRIu64 " us\n",
           ops, cfg->sync_bytes, secs, (double)ops / secs, cli_hist_quantile(hist, 0.5),
           cli_hist_quantile(hist, 0.99), cli_hist_max(hist));
    printf("RESULT cmd=disk_fdatasync bytes_per_op=%" PRId64 " ops=%" PRId64 " seconds=%.3f"
           " ops_per_s=%.0f p50_us=%" PRIu64 " p99_us=%" PRIu64 " max_us=%" PRIu64 "\n",
           cfg->sync_bytes, ops, secs, (double)ops / secs, cli_hist_quantile(hist, 0.5),
           cli_hist_quantile(hist, 0.99), cli_hist_max(hist));
    fflush(stdout);
    rc = 0;
out_close:
    close(fd);
    unlink(path);
out_free:
    cli_hist_free(hist);
    free(buf);
    return rc;
}

/* Sequential writes then one fdatasync; with direct, O_DIRECT from an aligned buffer
 * (a file system that refuses O_DIRECT skips the measurement: returns 0, no RESULT). */
static int bench_seqwrite(const struct disk_cfg *cfg, const char *path, bool direct)
{
    int rc = -1;
    size_t block = (size_t)cfg->block_kib * 1024;
    int64_t limit = cfg->write_mib * 1024 * 1024;
    char *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, block) != 0) {
        fprintf(stderr, "brook-disk-bench: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < block; i++)
        buf[i] = (char)('a' + (i * 7) % 26);
    int fd = direct ? open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_DIRECT, 0600)
                    : open_file(path);
    if (fd < 0 && direct && errno == EINVAL) {
        printf("seqwrite O_DIRECT: not supported under %s; skipped\n", cfg->dir);
        rc = 0;
        goto out_free;
    }
    if (fd < 0) {
        if (direct)
            fprintf(stderr, "brook-disk-bench: open %s: %s\n", path, strerror(errno));
        goto out_free;
    }
    int64_t start = bench_now_us();
    int64_t deadline = start + cfg->write_seconds * 1000000;
    int64_t written = 0;
    /* The time limit stops the writes early on a slow disk; the fdatasync that follows is
     * still timed, so the bandwidth stays honest whichever limit ended the loop. */
    while (written < limit && !bench_stop && bench_now_us() < deadline) {
        size_t n = (size_t)(limit - written) < block ? (size_t)(limit - written) : block;
        if (pwrite_all(fd, buf, n, (off_t)written) != 0) {
            fprintf(stderr, "brook-disk-bench: write %s: %s\n", path, strerror(errno));
            goto out_close;
        }
        written += (int64_t)n;
    }
    int64_t wrote_us = bench_now_us();
    if (fdatasync(fd) != 0) {
        fprintf(stderr, "brook-disk-bench: fdatasync %s: %s\n", path, strerror(errno));
        goto out_close;
    }
    int64_t end = bench_now_us();
    double secs = (double)(end - start) / 1e6;
    double write_s = (double)(wrote_us - start) / 1e6;
    double sync_s = (double)(end - wrote_us) / 1e6;
    if (secs <= 0.0)
        secs = 1e-6;
    double mb_s = (double)written / 1e6 / secs;
    printf("seqwrite%s: %.1f MiB in %zu KiB writes + fdatasync in %.3f s (writes %.3f s, "
           "fdatasync %.3f s) = %.1f MB/s\n", direct ? " O_DIRECT" : "",
           (double)written / (1024.0 * 1024.0), block / 1024, secs, write_s, sync_s, mb_s);
    printf("RESULT cmd=%s bytes=%" PRId64 " block=%zu seconds=%.3f write_s=%.3f"
           " sync_s=%.3f mb_per_s=%.1f\n", direct ? "disk_seqwrite_direct" : "disk_seqwrite",
           written, block, secs, write_s, sync_s, mb_s);
    fflush(stdout);
    rc = 0;
out_close:
    close(fd);
    unlink(path);
out_free:
    free(buf);
    return rc;
}

/* Touches mib MiB of fresh anonymous memory one byte per page, twice, timing each pass:
 * the first pays whatever a new page costs (zeroing, and on a VM a host fault), the
 * second only the stores. */
static int bench_first_touch(const struct disk_cfg *cfg)
{
    size_t len = (size_t)cfg->touch_mib << 20;
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "brook-disk-bench: mmap %zu bytes: %s\n", len, strerror(errno));
        return -1;
    }
    double mbs[2];
    for (int pass = 0; pass < 2; pass++) {
        int64_t t0 = bench_now_us();
        for (size_t off = 0; off < len; off += (size_t)pg)
            ((volatile char *)m)[off] = (char)(pass + 1);
        double secs = (double)(bench_now_us() - t0) / 1e6;
        mbs[pass] = (double)len / 1e6 / (secs > 0.0 ? secs : 1e-6);
    }
    munmap(m, len);
    printf("memory: first touch of %" PRId64 " MiB of fresh pages %.0f MB/s, second pass "
           "%.0f MB/s\n", cfg->touch_mib, mbs[0], mbs[1]);
    printf("RESULT cmd=mem_first_touch mib=%" PRId64 " first_mb_per_s=%.0f "
           "second_mb_per_s=%.0f\n", cfg->touch_mib, mbs[0], mbs[1]);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct disk_cfg cfg = {
        .dir = NULL,
        .sync_count = 2000,
        .sync_seconds = 10,
        .sync_bytes = 4096,
        .write_mib = 1024,
        .write_seconds = 30,
        .block_kib = 1024,
        .touch_mib = 1024,
    };
    const struct cli_opt opts[] = {
        {"dir", CLI_OPT_STR, &cfg.dir, 0, 0, NULL, NULL, "directory to test (required)"},
        {"sync-count", CLI_OPT_I64, &cfg.sync_count, 1, 1000000, NULL, NULL,
         "append+fdatasync rounds (default 2000)"},
        {"sync-seconds", CLI_OPT_I64, &cfg.sync_seconds, 1, 600, NULL, NULL,
         "time limit of the fdatasync test (default 10)"},
        {"sync-bytes", CLI_OPT_I64, &cfg.sync_bytes, 1, 1024 * 1024, NULL, NULL,
         "bytes appended before each fdatasync (default 4096)"},
        {"write-mib", CLI_OPT_I64, &cfg.write_mib, 1, 64 * 1024, NULL, NULL,
         "MiB written sequentially (default 1024)"},
        {"write-seconds", CLI_OPT_I64, &cfg.write_seconds, 1, 600, NULL, NULL,
         "time limit of the writes (default 30)"},
        {"block-kib", CLI_OPT_I64, &cfg.block_kib, 4, DISK_BENCH_BLOCK_MAX_KIB, NULL, NULL,
         "size of each sequential write (default 1024)"},
        {"touch-mib", CLI_OPT_I64, &cfg.touch_mib, 0, 64 * 1024, NULL, NULL,
         "MiB of fresh memory touched by the first-touch test (default 1024; 0: skip)"},
    };
    size_t n_opts = sizeof(opts) / sizeof(opts[0]);
    char path[BENCH_PATH_MAX];
    int rc = bench_dir_setup("brook-disk-bench", argc, argv, opts, n_opts, &cfg.dir, path,
                             sizeof(path));
    if (rc >= 0)
        return rc;
    if (bench_fdatasync(&cfg, path) != 0)
        return 1;
    if (bench_stop)
        return 1;
    if (bench_seqwrite(&cfg, path, false) != 0 || bench_stop)
        return 1;
    if (bench_seqwrite(&cfg, path, true) != 0 || bench_stop)
        return 1;
    if (cfg.touch_mib > 0 && bench_first_touch(&cfg) != 0)
        return 1;
    return bench_stop ? 1 : 0;
}
