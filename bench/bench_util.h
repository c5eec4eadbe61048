/*
 * bench_util.h - what the disk benchmarks (disk_bench.c, floor.c) share: the monotonic
 * clock, a stop flag set by SIGINT/SIGTERM, and main()'s setup around the required --dir.
 * Never: measures anything itself.
 */
#ifndef BROOK_BENCH_UTIL_H
#define BROOK_BENCH_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/args.h"

#define BENCH_PATH_MAX 4096

/* Set by SIGINT/SIGTERM once bench_dir_setup() installed the handlers. */
extern volatile sig_atomic_t bench_stop;

int64_t bench_now_us(void);

/* Parses the flags (opts must fill *dir from --dir), answers --help, checks that *dir is a
 * directory, installs the signal handlers and writes DIR/PROG.PID.tmp into path (the
 * scratch file). Returns -1 to go on, or the exit code to return from main. */
int bench_dir_setup(const char *prog, int argc, char **argv, const struct cli_opt *opts,
                    size_t n_opts, const char *const *dir, char *path, size_t cap);

#endif
