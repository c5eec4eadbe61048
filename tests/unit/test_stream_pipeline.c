/*
 * test_stream_pipeline.c - the pipeline file of `brook run` (stream/pipeline.c): keys,
 * defaults derived from the name, and the refusals that name the key.
 */
#include "stream/pipeline.h"
#include "stream/tables.h"

#include "testutil.h"

static void test_full_file(void)
{
    stream_pipeline p;
    char err[256] = "";
    const char *text = "# clicks\n"
                       "pipeline.name=clicks-per-user\n"
                       "source.topic=clicks\n"
                       "op.1=filter action == \"click\"\n"
                       "op.2=key_by user\n"
                       "sink.topic=counts\n"
                       "sink.postgres=host=127.0.0.1 dbname=x\n"
                       "sink.postgres.table=t\n"
                       "sink.postgres.columns=key,count\n"
                       "commit.interval.ms=250\n"
                       "recovery.max.attempts=3\n"
                       "client.security.protocol=SASL_PLAINTEXT\n";
    if (!CHECK_EQ_INT(stream_pipeline_parse(text, &p, err, sizeof err), 0)) {
        printf("  %s\n", err);
        return;
    }
    CHECK_EQ_STR(p.name, "clicks-per-user");
    CHECK_EQ_STR(p.group, "clicks-per-user");
    CHECK_EQ_STR(p.dlq_topic, "clicks-per-user-dlq");
    CHECK_EQ_STR(p.changelog_topic, "clicks-per-user-changelog");
    CHECK_EQ_STR(p.progress_topic, "clicks-per-user-progress");
    CHECK_EQ_INT(p.nops, 2);
    CHECK_EQ_STR(p.ops[1], "key_by user");
    CHECK_EQ_INT(p.commit_interval_ms, 250);
    CHECK_EQ_INT(p.max_recoveries, 3);
    CHECK_EQ_INT(p.transaction_timeout_ms, 60000);
    CHECK_EQ_INT(p.nclient, 1);
    CHECK_EQ_STR(p.client_keys[0], "security.protocol");
    CHECK_EQ_STR(p.client_values[0], "SASL_PLAINTEXT");
    stream_pipeline_free(&p);
}

/* Each refusal names what is wrong. */
static void test_refusals(void)
{
    static const struct {
        const char *text, *says;
    } cases[] = {
        {"source.topic=t\nsink.topic=o\n", "pipeline.name"},
        {"pipeline.name=a_b\nsource.topic=t\nsink.topic=o\n", "pipeline.name"},
        {"pipeline.name=a\nsink.topic=o\n", "source.topic"},
        {"pipeline.name=a\nsource.topic=t\n", "no sink"},
        {"pipeline.name=a\nsource.topic=t\nsink.topic=o\nop.2=filter x\n", "op.2"},
        {"pipeline.name=a\nsource.topic=t\nsink.topic=o\nop.65=filter x\n", "op.65"},
        {"pipeline.name=a\nsource.topic=t\nsink.topic=o\nsink.tpoic=p\n", "sink.tpoic"},
        {"pipeline.name=a\nsource.topic=t\nsink.postgres=x\n", "sink.postgres.table"},
        {"pipeline.name=a\nsource.topic=t\nsink.topic=o\ncommit.interval.ms=0\n",
         "commit.interval.ms"},
        {"pipeline.name=a\nsource.topic=t\nsink.topic=o\ncommit.interval.ms=1x\n",
         "commit.interval.ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stream_pipeline p;
        char err[256] = "";
        CHECK_EQ_INT(stream_pipeline_parse(cases[i].text, &p, err, sizeof err), -1);
        if (!CHECK(strstr(err, cases[i].says) != NULL))
            printf("  case %zu: \"%s\" does not name %s\n", i, err, cases[i].says);
        stream_pipeline_free(&p);
    }
}

/* table.<name>.topic keys, and the in-memory tables joins read. */
static void test_tables(void)
{
    stream_pipeline p;
    char err[256] = "";
    const char *text = "pipeline.name=a\nsource.topic=t\nsink.topic=o\n"
                       "table.users.topic=profiles\ntable.geo-ip.topic=geo\n";
    if (!CHECK_EQ_INT(stream_pipeline_parse(text, &p, err, sizeof err), 0))
        return;
    CHECK_EQ_INT(p.ntables, 2);
    CHECK_EQ_STR(p.table_names[1], "geo-ip");
    CHECK_EQ_STR(p.table_topics[0], "profiles");
    stream_pipeline_free(&p);
    CHECK_EQ_INT(stream_pipeline_parse("pipeline.name=a\nsource.topic=t\nsink.topic=o\n"
                                       "table.users=profiles\n", &p, err, sizeof err), -1);
    CHECK(strstr(err, "table.<name>.topic") != NULL);
    stream_pipeline_free(&p);

    stream_tables *ts = stream_tables_new();
    int u = stream_tables_add(ts, "users");
    CHECK_EQ_INT(u, 0);
    CHECK_EQ_INT(stream_tables_find(ts, "users"), 0);
    CHECK_EQ_INT(stream_tables_find(ts, "geo"), -1);
    CHECK_EQ_INT(stream_tables_put(ts, u, "k1", 2, "{\"a\":1}", 7), 0);
    CHECK_EQ_INT(stream_tables_put(ts, u, "k1", 2, "{\"a\":2}", 7), 0); /* the last wins */
    CHECK_EQ_INT(stream_tables_put(ts, u, "k2", 2, "x", 1), 0);
    size_t n = 0;
    const char *v = stream_tables_lookup(ts, "users", "k1", 2, &n);
    CHECK(v != NULL && n == 7 && memcmp(v, "{\"a\":2}", 7) == 0);
    CHECK_EQ_INT(stream_tables_size(ts, u), 2);
    CHECK_EQ_INT(stream_tables_put(ts, u, "k1", 2, NULL, 0), 0); /* a tombstone */
    CHECK(stream_tables_lookup(ts, "users", "k1", 2, &n) == NULL);
    CHECK(stream_tables_lookup(ts, "nosuch", "k2", 2, &n) == NULL);
    CHECK_EQ_INT(stream_tables_size(ts, u), 1);
    for (int i = 1; i < STREAM_MAX_TABLES; i++)
        CHECK(stream_tables_add(ts, "t") >= 0);
    CHECK_EQ_INT(stream_tables_add(ts, "one-too-many"), -1);
    stream_tables_free(ts);
}

TU_MAIN(TU_CASE(test_full_file), TU_CASE(test_refusals), TU_CASE(test_tables))
