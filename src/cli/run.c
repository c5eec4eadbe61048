/*
 * cli/run.c - `brook run`: flags, signals, then brook_stream_run (docs/stream.md).
 */
#include "cli/run.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "cli/args.h"
#include "stream/brook_stream.h"

static brook_stream *g_stream; /* for the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    if (g_stream)
        brook_stream_stop(g_stream);
}

void cli_run_usage(FILE *out)
{
    fprintf(out,
            "brook run PIPELINE.conf [flags]   run a stream pipeline exactly once "
            "(docs/stream.md)\n"
            "  --bootstrap HOST:PORT  the cluster (default: the file's bootstrap.servers, "
            "$BROOK_BOOTSTRAP, 127.0.0.1:9092)\n"
            "  --instances N          run N processes sharing the input (default 1)\n"
            "  --metrics-port P       serve Prometheus /metrics on 127.0.0.1:P (0: off; "
            "instance i of --instances on P+i)\n"
            "  --progress-ms MS       a progress line on stderr every MS (default 5000; 0 off)\n"
            "  --exit-when-idle MS    stop (committing) after MS without input while "
            "partitions are assigned (default: run)\n");
}

int cli_run_main(int argc, char **argv)
{
    const char *bootstrap = NULL, *file = NULL;
    int64_t instances = 1, metrics_port = 0, progress_ms = 5000, idle_ms = 0;
    int npos = 0;
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &bootstrap, 0, 0, NULL, NULL, "HOST:PORT"},
        {"instances", CLI_OPT_I64, &instances, 1, 64, NULL, NULL, "N"},
        {"metrics-port", CLI_OPT_I64, &metrics_port, 0, 65535, NULL, NULL, "P"},
        {"progress-ms", CLI_OPT_I64, &progress_ms, 0, 86400000, NULL, NULL, "MS"},
        {"exit-when-idle", CLI_OPT_I64, &idle_ms, 0, 86400000, NULL, NULL, "MS"},
    };
    int prc = cli_args_parse_pos("brook run", argc, argv, opts, sizeof opts / sizeof opts[0],
                                 &file, &npos);
    if (prc == 1) {
        cli_run_usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    if (npos != 1) {
        fprintf(stderr, "brook run: one pipeline file is needed\n");
        cli_run_usage(stderr);
        return 2;
    }
    char err[512];
    brook_stream *s = brook_stream_load(file, err, sizeof err);
    if (!s || brook_stream_check(s, err, sizeof err) != 0) {
        fprintf(stderr, "brook run: %s: %s\n", file, err);
        brook_stream_free(s);
        return 2;
    }
    /* --bootstrap, else the file's bootstrap.servers, else $BROOK_BOOTSTRAP or the default
     * (brook_stream_run's order) */
    brook_stream_run_opts o = {.bootstrap = bootstrap,
                               .instances = (int)instances, .metrics_port = (int)metrics_port,
                               .progress_ms = progress_ms, .exit_when_idle_ms = idle_ms};
    g_stream = s;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = brook_stream_run(s, &o);
    g_stream = NULL;
    brook_stream_free(s);
    return rc;
}
