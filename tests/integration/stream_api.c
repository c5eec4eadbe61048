/*
 * stream_api.c - libbrook-stream's public API (brook_stream.h) without a cluster: building,
 * loading and checking pipelines, C operator registration, and the errors each call gives.
 * (Running one is test_stream_run.py's "embed" scenario, with examples/stream_embed.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brook_stream.h"
#include "testutil.h"

static int noop(void *ctx, const brook_stream_record *in, brook_stream_out *out, char *err,
                size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    return brook_stream_emit(out, in->key, in->key_len, in->value, in->value_len, in->ts_ms);
}

static int other(void *ctx, const brook_stream_record *in, brook_stream_out *out, char *err,
                 size_t errlen)
{
    (void)ctx, (void)in, (void)out;
    snprintf(err, errlen, "no");
    return -1;
}

#define STARTS(s, prefix) CHECK(strncmp((s), (prefix), strlen(prefix)) == 0)

static void test_build_and_check(void)
{
    char err[512] = "";
    CHECK(brook_stream_new("bad name", err, sizeof err) == NULL);
    STARTS(err, "pipeline.name: 1 to 64 letters");
    brook_stream *s = brook_stream_new("api-1", err, sizeof err);
    if (!CHECK(s != NULL))
        return;
    /* Nothing required given yet: check names the first missing key. */
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), -1);
    CHECK_EQ_STR(err, "source.topic is required");
    CHECK_EQ_INT(brook_stream_set(s, "source.topic", "in", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), -1);
    STARTS(err, "no sink");
    CHECK_EQ_INT(brook_stream_set(s, "sink.topic", "out", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), 0);
    /* Bad keys and values are refused when set, and change nothing. */
    CHECK_EQ_INT(brook_stream_set(s, "sink.tpoic", "x", err, sizeof err), -1);
    STARTS(err, "unknown key sink.tpoic");
    CHECK_EQ_INT(brook_stream_set(s, "commit.interval.ms", "0", err, sizeof err), -1);
    STARTS(err, "commit.interval.ms: 0 is not a whole number");
    CHECK_EQ_INT(brook_stream_set(s, "source.topic", NULL, err, sizeof err), -1);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), 0);
    /* Operators: lines are checked by check (and run), with their op.N. */
    CHECK_EQ_INT(brook_stream_op(s, "filter a > 1", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_op_fn(s, "f1", noop, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_op(s, "fliter a", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), -1);
    STARTS(err, "op.3: position 1: unknown operator");
    brook_stream_free(s);

    s = brook_stream_new("api-2", err, sizeof err);
    CHECK_EQ_INT(brook_stream_set(s, "source.topic", "in", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_set(s, "sink.topic", "out", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_op_fn(s, "9x", noop, NULL, err, sizeof err), -1);
    STARTS(err, "a C operator needs a function and a name");
    CHECK_EQ_INT(brook_stream_op_fn(s, "f", NULL, NULL, err, sizeof err), -1);
    CHECK_EQ_INT(brook_stream_op_fn(s, "f", noop, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_op_fn(s, "f", noop, NULL, err, sizeof err), 0); /* again: ok */
    CHECK_EQ_INT(brook_stream_op_fn(s, "f", other, NULL, err, sizeof err), -1);
    CHECK_EQ_STR(err, "a different function is already called f");
    /* A call line given as text needs a registered function. */
    CHECK_EQ_INT(brook_stream_op(s, "call g", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), -1);
    STARTS(err, "a call uses function g but no C operator of that name is registered");
    CHECK_EQ_INT(brook_stream_op_fn(s, "g", other, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), 0);
    /* A join needs its table. */
    CHECK_EQ_INT(brook_stream_op(s, "join users on uid", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), -1);
    CHECK_EQ_STR(err, "a join uses table users but table.users.topic is not given");
    CHECK_EQ_INT(brook_stream_set(s, "table.users.topic", "users", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), 0);
    /* A pipeline that does not check does not run (2, before connecting anywhere). */
    CHECK_EQ_INT(brook_stream_op(s, "window tumbling 1m", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_run(s, NULL), 2);
    brook_stream_free(s);
}

static void test_load(void)
{
    char path[] = "/tmp/brook-stream-api-XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0))
        return;
    const char *text = "pipeline.name=api-3\nsource.topic=in\nsink.topic=out\n"
                       "op.2=call f\nop.1=filter ok\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    char err[512] = "";
    brook_stream *s = brook_stream_load(path, err, sizeof err);
    if (!CHECK(s != NULL)) {
        printf("  %s\n", err);
        unlink(path);
        return;
    }
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), -1);
    STARTS(err, "a call uses function f");
    /* Operators appended after a file's go after its last op.N. */
    CHECK_EQ_INT(brook_stream_op_fn(s, "f", noop, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_op(s, "nonsense here", err, sizeof err), 0);
    CHECK_EQ_INT(brook_stream_check(s, err, sizeof err), -1);
    STARTS(err, "op.4: position 1: unknown operator");
    brook_stream_free(s);
    /* A file with a bad key names it; a missing file names the path. */
    FILE *f = fopen(path, "w");
    fputs("pipeline.name=api-3\nsink.topic=x\nsink.postgress=y\n", f);
    fclose(f);
    CHECK(brook_stream_load(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "unknown key sink.postgress") != NULL);
    unlink(path);
    CHECK(brook_stream_load(path, err, sizeof err) == NULL);
    CHECK(strstr(err, path) != NULL);
}

TU_MAIN(TU_CASE(test_build_and_check), TU_CASE(test_load))
