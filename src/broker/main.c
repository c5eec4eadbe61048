/* main.c - brookd: parse configuration, start the node, run the loop. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"

#define BROOK_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: brookd [config.properties] [--key=value ...]\n"
            "  Kafka-style broker keys, e.g. --listeners=PLAINTEXT://127.0.0.1:9092 "
            "--log.dirs=./data\n"
            "  brookd --help-config lists every key with its default\n");
}

static void print_keys(void)
{
    size_t n;
    const config_def *defs = broker_config_defs(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-34s %-28s %s\n", defs[i].name,
               defs[i].default_value ? defs[i].default_value : "(unset)", defs[i].doc);
}

/* Every partition keeps its segments' log files open (one fd each; brokers with many
 * partitions need thousands): take the whole allowance the hard limit grants. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            LOG_WARN("broker", "cannot raise the open-file limit");
    }
}

int main(int argc, char **argv)
{
    int64_t t0 = clock_mono_us();
    /* Fetch answers of several partitions are megabytes each, built per request and freed
     * after it is written. With glibc's defaults such buffers come from mmap and go back
     * with munmap, so every answer page-faults its memory in again (a quarter of brookd's
     * time in an 8-partition consume, docs/benchmarks.md). Kept in the heap instead: up
     * to 64 MiB per allocation, 128 MiB of free heap kept before trimming. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    const char *file = NULL;
    int first_override = 1;
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
            printf("brookd %s\n", BROOK_VERSION);
            return 0;
        }
        if (strcmp(argv[1], "--help-config") == 0) {
            print_keys();
            return 0;
        }
        if (strncmp(argv[1], "--", 2) != 0) {
            file = argv[1];
            first_override = 2;
        }
    }
    static broker b;
    broker_config_init(&b.cfg);
    char err[512];
    if (broker_config_load(&b.cfg, file, argc - first_override, argv + first_override, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "brookd: %s\n", err);
        usage(stderr);
        return 2;
    }
    enum log_level lvl;
    if (log_level_parse(b.cfg.log_level, &lvl) == 0)
        log_set_level(lvl);
    raise_fd_limit();
    if (broker_start(&b, t0) != 0) {
        LOG_ERROR("broker", "startup failed");
        return 1;
    }
    uv_run(b.loop, UV_RUN_DEFAULT);
    uv_loop_close(b.loop);
    broker_config_free(&b.cfg);
    return 0;
}
