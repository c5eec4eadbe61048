/* log.c - see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "base/assert.h"

static enum log_level g_level = LOG_LEVEL_INFO;
static int g_node_id = -1;

void log_set_level(enum log_level level) { g_level = level; }
void log_set_node(int node_id) { g_node_id = node_id; }

int log_level_parse(const char *name, enum log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (unsigned i = 0; i < BROOK_ARRAY_LEN(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void brook_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "ASSERTION FAILED: %s at %s:%d in %s()\n", expr, file, line, func);
    fflush(stderr);
    abort();
}

/* One fprintf per line so that concurrent writers (flush thread) never interleave a line. */
void log_write(enum log_level level, const char *subsys, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < g_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    if (g_node_id >= 0)
        fprintf(stderr, "%s.%03ldZ %-5s node=%d [%s] %s\n", ts, (long)(tv.tv_usec / 1000),
                tags[level], g_node_id, subsys, msg);
    else
        fprintf(stderr, "%s.%03ldZ %-5s [%s] %s\n", ts, (long)(tv.tv_usec / 1000), tags[level],
                subsys, msg);
}
