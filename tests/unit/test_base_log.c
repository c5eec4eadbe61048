/*
 * test_base_log.c - log level names and that logging at every level (with and without a
 * node id, with long messages) neither crashes nor truncates the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "testutil.h"

static void test_level_parse(void)
{
    enum log_level l = LOG_LEVEL_ERROR;
    CHECK_EQ_INT(log_level_parse("debug", &l), 0);
    CHECK_EQ_INT(l, LOG_LEVEL_DEBUG);
    CHECK_EQ_INT(log_level_parse("info", &l), 0);
    CHECK_EQ_INT(l, LOG_LEVEL_INFO);
    CHECK_EQ_INT(log_level_parse("warn", &l), 0);
    CHECK_EQ_INT(l, LOG_LEVEL_WARN);
    CHECK_EQ_INT(log_level_parse("error", &l), 0);
    CHECK_EQ_INT(l, LOG_LEVEL_ERROR);
    CHECK_EQ_INT(log_level_parse("trace", &l), -1);
    CHECK_EQ_INT(log_level_parse("", &l), -1);
    CHECK_EQ_INT(log_level_parse("INFO", &l), -1);
    CHECK_EQ_INT(l, LOG_LEVEL_ERROR); /* unchanged on failure */
}

/* Runs the logger with stderr pointed at a temporary file and returns what it wrote. */
static char *capture(void (*fn)(void))
{
    FILE *tmp = tmpfile();
    if (!tmp)
        return NULL;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    long n = ftell(tmp);
    char *out = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(tmp);
    if (n > 0 && fread(out, 1, (size_t)n, tmp) != (size_t)n)
        out[0] = '\0';
    fclose(tmp);
    return out;
}

static void log_some(void)
{
    static char big[5000];
    memset(big, 'm', sizeof(big) - 1);
    log_set_level(LOG_LEVEL_DEBUG);
    LOG_DEBUG("test", "debug %d", 1);
    LOG_INFO("test", "info %s", "two");
    log_set_node(7);
    LOG_WARN("storage", "warn with node");
    LOG_ERROR("test", "long: %s", big);
    log_set_level(LOG_LEVEL_ERROR);
    LOG_INFO("test", "suppressed");
    log_set_level(LOG_LEVEL_INFO);
}

static void test_write_all_levels(void)
{
    char *out = capture(log_some);
    if (!CHECK(out != NULL))
        return;
    CHECK(strstr(out, "DEBUG [test] debug 1\n") != NULL);
    CHECK(strstr(out, "INFO  [test] info two\n") != NULL);
    CHECK(strstr(out, "WARN  node=7 [storage] warn with node\n") != NULL);
    CHECK(strstr(out, "suppressed") == NULL);
    /* The long line is cut short but still ends with its newline. */
    const char *e = strstr(out, "ERROR node=7 [test] long: mmm");
    if (CHECK(e != NULL)) {
        const char *nl = strchr(e, '\n');
        CHECK(nl != NULL && nl - e < 2100);
    }
    /* Four lines, each starting with a UTC timestamp like 2024-01-02T03:04:05.678Z. */
    int lines = 0;
    for (const char *p = out; *p; p = strchr(p, '\n') + 1) {
        lines++;
        CHECK(strlen(p) > 24 && p[4] == '-' && p[10] == 'T' && p[19] == '.' && p[23] == 'Z');
    }
    CHECK_EQ_INT(lines, 4);
    free(out);
}

TU_MAIN(TU_CASE(test_level_parse), TU_CASE(test_write_all_levels))
