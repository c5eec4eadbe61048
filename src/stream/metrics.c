/*
 * stream/metrics.c - counters and a minimal /metrics HTTP endpoint for `brook run`.
 */
#include "stream/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct stream_metrics {
    _Atomic uint64_t v[SM_COUNT];
    char pipeline[80];
    int fd;          /* listening socket; -1: none */
    int stop_pipe[2];
    pthread_t thread;
    _Atomic int stopping;
};

static const struct {
    const char *name, *type, *help;
} DEFS[SM_COUNT] = {
    [SM_RECORDS_IN] = {"brook_stream_records_in_total", "counter", "Input records processed."},
    [SM_RECORDS_OUT] = {"brook_stream_records_out_total", "counter",
                        "Output records written (per sink record, before commit)."},
    [SM_DEAD_LETTERS] = {"brook_stream_dead_letters_total", "counter",
                         "Input records sent to the dead-letter topic."},
    [SM_COMMITS] = {"brook_stream_commits_total", "counter", "Intervals committed."},
    [SM_ABORTS] = {"brook_stream_aborts_total", "counter", "Intervals aborted."},
    [SM_RECOVERIES] = {"brook_stream_recoveries_total", "counter",
                       "Task recoveries (fence, resolve, restore), including the first."},
    [SM_IN_DOUBT_RESOLVED] = {"brook_stream_in_doubt_resolved_total", "counter",
                              "Prepared participants found at recovery and resolved."},
    [SM_COMMIT_MS_SUM] = {"brook_stream_commit_latency_ms_sum", "counter",
                          "Sum of interval begin to broker commit times, ms."},
    [SM_LAG] = {"brook_stream_lag_records", "gauge", "Input records not yet processed."},
    [SM_STATE_ENTRIES] = {"brook_stream_state_entries", "gauge", "Keyed state entries."},
};

void stream_metrics_add(stream_metrics *m, stream_metric k, uint64_t n)
{
    atomic_fetch_add_explicit(&m->v[k], n, memory_order_relaxed);
}

void stream_metrics_set(stream_metrics *m, stream_metric k, uint64_t v)
{
    atomic_store_explicit(&m->v[k], v, memory_order_relaxed);
}

void stream_metrics_observe_commit(stream_metrics *m, int64_t ms)
{
    stream_metrics_add(m, SM_COMMIT_MS_SUM, ms > 0 ? (uint64_t)ms : 0);
}

void stream_metrics_get(const stream_metrics *m, stream_metrics_snapshot *out)
{
    for (int i = 0; i < SM_COUNT; i++)
        out->v[i] = atomic_load_explicit(&((stream_metrics *)m)->v[i], memory_order_relaxed);
}

size_t stream_metrics_format(const stream_metrics *m, char *buf, size_t cap)
{
    stream_metrics_snapshot s;
    stream_metrics_get(m, &s);
    size_t n = 0;
    for (int i = 0; i < SM_COUNT && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "# HELP %s %s\n# TYPE %s %s\n%s{pipeline=\"%s\"} %"
                         PRIu64 "\n", DEFS[i].name, DEFS[i].help, DEFS[i].name, DEFS[i].type,
                         DEFS[i].name, m->pipeline, s.v[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    return n < cap ? n : cap - 1;
}

/* Answers one connection: reads the request line (bounded), writes /metrics or 404. */
static void serve_one(stream_metrics *m, int c)
{
    char req[1024];
    struct pollfd p = {.fd = c, .events = POLLIN};
    ssize_t got = poll(&p, 1, 2000) == 1 ? read(c, req, sizeof req - 1) : -1;
    if (got <= 0)
        return;
    req[got] = 0;
    static char body[8192];
    char head[256];
    size_t bl;
    const char *status = "200 OK";
    if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0) {
        bl = stream_metrics_format(m, body, sizeof body);
    } else {
        status = "404 Not Found";
        bl = (size_t)snprintf(body, sizeof body, "only GET /metrics is served here\n");
    }
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: text/plain; "
                      "version=0.0.4\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      status, bl);
    if (write(c, head, (size_t)hl) == hl && write(c, body, bl) < 0)
        return;
}

static void *serve(void *arg)
{
    stream_metrics *m = arg;
    while (!atomic_load(&m->stopping)) {
        struct pollfd p[2] = {{.fd = m->fd, .events = POLLIN},
                              {.fd = m->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept(m->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(m, c);
        close(c);
    }
    return NULL;
}

stream_metrics *stream_metrics_new(const char *pipeline, int port, char *err, size_t errlen)
{
    stream_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(m->pipeline, sizeof m->pipeline, "%s", pipeline);
    m->fd = -1;
    if (port == 0)
        return m;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(m->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(m->fd, 16) != 0 ||
        pipe(m->stop_pipe) != 0) {
        snprintf(err, errlen, "--metrics-port %d: %s", port, strerror(errno));
        if (m->fd >= 0)
            close(m->fd);
        free(m);
        return NULL;
    }
    if (pthread_create(&m->thread, NULL, serve, m) != 0) {
        snprintf(err, errlen, "cannot start the metrics thread");
        close(m->fd);
        close(m->stop_pipe[0]);
        close(m->stop_pipe[1]);
        free(m);
        return NULL;
    }
    return m;
}

void stream_metrics_free(stream_metrics *m)
{
    if (!m)
        return;
    if (m->fd >= 0) {
        atomic_store(&m->stopping, 1);
        if (write(m->stop_pipe[1], "x", 1) == 1)
            pthread_join(m->thread, NULL);
        close(m->fd);
        close(m->stop_pipe[0]);
        close(m->stop_pipe[1]);
    }
    free(m);
}
