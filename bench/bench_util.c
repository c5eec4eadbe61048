/* bench_util.c - see bench_util.h. */
#include "bench_util.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t bench_stop;

static void on_signal(int sig)
{
    (void)sig;
    bench_stop = 1;
}

int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int bench_dir_setup(const char *prog, int argc, char **argv, const struct cli_opt *opts,
                    size_t n_opts, const char *const *dir, char *path, size_t cap)
{
    int prc = cli_args_parse(prog, argc - 1, argv + 1, opts, n_opts);
    if (prc == 1 || prc < 0 || *dir == NULL) {
        if (prc == 0)
            fprintf(stderr, "%s: --dir is required\n", prog);
        FILE *out = prc == 1 ? stdout : stderr;
        fprintf(out, "usage: %s --dir DIR [flags]\n", prog);
        cli_args_usage(out, opts, n_opts);
        return prc == 1 ? 0 : 2;
    }
    struct stat st;
    if (stat(*dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: %s is not a directory\n", prog, *dir);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int n = snprintf(path, cap, "%s/%s.%ld.tmp", *dir, prog, (long)getpid());
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "%s: directory path too long\n", prog);
        return 1;
    }
    return -1;
}
