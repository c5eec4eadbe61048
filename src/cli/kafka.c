/*
 * kafka.c - librdkafka helpers shared by the CLI commands; see kafka.h.
 */
#include "cli/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"

/* The loaded client properties (process-wide: one file per run of `brook`). */
static struct {
    char *key, *value;
} g_props[CLI_KAFKA_PROPS_MAX];
static int g_nprops;

static int prop_add(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    (void)ctx;
    if (cli_kafka_prop(key)) {
        snprintf(err, errlen, "'%s' is given twice", key);
        return -1;
    }
    if (g_nprops == CLI_KAFKA_PROPS_MAX) {
        snprintf(err, errlen, "more than %d keys", CLI_KAFKA_PROPS_MAX);
        return -1;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g_props[g_nprops].key = k;
    g_props[g_nprops++].value = v;
    return 0;
}

int cli_kafka_props_load(const char *path, char *err, size_t errlen)
{
    char why[400];
    if (config_parse_file(path, prop_add, NULL, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "client properties %s: %s", path, why);
        return -1;
    }
    return 0;
}

const char *cli_kafka_prop(const char *key)
{
    for (int i = 0; i < g_nprops; i++)
        if (strcmp(g_props[i].key, key) == 0)
            return g_props[i].value;
    return NULL;
}

int cli_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "brook: librdkafka config %s=%s: %s\n", key, value, err);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *cli_kafka_conf(const char *bootstrap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        fprintf(stderr, "brook: out of memory\n");
        return NULL;
    }
    /* Connection closes at the end of a run are expected; logging them only adds noise. */
    if (cli_kafka_set(conf, "bootstrap.servers", bootstrap) != 0 ||
        cli_kafka_set(conf, "client.id", "brook-cli") != 0 ||
        cli_kafka_set(conf, "log.connection.close", "false") != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (int i = 0; i < g_nprops; i++)
        if (cli_kafka_set(conf, g_props[i].key, g_props[i].value) != 0) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    return conf;
}

int cli_mock_start(struct cli_mock *m)
{
    char err[512];
    m->host = NULL;
    m->cluster = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        fprintf(stderr, "brook: out of memory\n");
        return -1;
    }
    /* The host handle never connects anywhere; it only gives the mock cluster its threads.
     * Its notice about having no bootstrap servers is expected, so only warnings show. */
    if (cli_kafka_set(conf, "log_level", "4") != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    m->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (m->host == NULL) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "brook: mock host client: %s\n", err);
        return -1;
    }
    m->cluster = rd_kafka_mock_cluster_new(m->host, 1);
    if (m->cluster == NULL) {
        fprintf(stderr, "brook: rd_kafka_mock_cluster_new failed\n");
        rd_kafka_destroy(m->host);
        m->host = NULL;
        return -1;
    }
    return 0;
}

const char *cli_mock_bootstraps(const struct cli_mock *m)
{
    return rd_kafka_mock_cluster_bootstraps(m->cluster);
}

int cli_mock_topic_create(struct cli_mock *m, const char *topic, int partitions)
{
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(m->cluster, topic, partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook: mock topic %s: %s\n", topic, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

void cli_mock_stop(struct cli_mock *m)
{
    if (m->cluster != NULL)
        rd_kafka_mock_cluster_destroy(m->cluster);
    if (m->host != NULL)
        rd_kafka_destroy(m->host);
    m->cluster = NULL;
    m->host = NULL;
}

int cli_kafka_topic_partitions(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, CLI_KAFKA_ADMIN_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook: metadata request failed: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    int result = 0;
    for (int i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];
        if (strcmp(t->topic, topic) != 0)
            continue;
        if (t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            break;
        if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "brook: topic %s: %s\n", topic, rd_kafka_err2str(t->err));
            result = -1;
            break;
        }
        result = t->partition_cnt;
        break;
    }
    rd_kafka_metadata_destroy(md);
    return result;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int cli_kafka_topic_create(rd_kafka_t *rk, const char *topic, int partitions)
{
    return cli_kafka_topic_create_ex(rk, topic, partitions, 1, NULL, NULL);
}

int cli_kafka_topic_create_ex(rd_kafka_t *rk, const char *topic, int partitions, int rf,
                              const char *config_key, const char *config_value)
{
    char errstr[512];
    int rc = -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, errstr, sizeof(errstr));
    if (nt != NULL && config_key != NULL &&
        rd_kafka_NewTopic_set_config(nt, config_key, config_value) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_NewTopic_destroy(nt);
        nt = NULL;
        snprintf(errstr, sizeof errstr, "cannot set %s", config_key);
    }
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_event_t *ev = NULL;
    if (q == NULL || opts == NULL) {
        fprintf(stderr, "brook: out of memory\n");
        goto out_free;
    }
    if (nt == NULL) {
        fprintf(stderr, "brook: topic %s: %s\n", topic, errstr);
        goto out_free;
    }
    if (rd_kafka_AdminOptions_set_request_timeout(opts, CLI_KAFKA_ADMIN_TIMEOUT_MS, errstr,
                                                  sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook: admin options: %s\n", errstr);
        goto out_free;
    }
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    /* The request timeout above bounds the broker side; the extra second covers the client's
     * own queueing so the answer, not this wait, reports a timeout. */
    ev = rd_kafka_queue_poll(q, CLI_KAFKA_ADMIN_TIMEOUT_MS + 1000);
    if (ev == NULL) {
        fprintf(stderr, "brook: CreateTopics %s: no answer in %d ms\n", topic,
                CLI_KAFKA_ADMIN_TIMEOUT_MS);
        goto out_free;
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "brook: CreateTopics %s: %s\n", topic, rd_kafka_event_error_string(ev));
        goto out_free;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            const char *msg = rd_kafka_topic_result_error_string(results[i]);
            fprintf(stderr, "brook: CreateTopics %s: %s (%s)\n", topic, rd_kafka_err2str(err),
                    msg != NULL ? msg : "no message");
            goto out_free;
        }
    }
    /* A created topic may take a moment to show in metadata with its leaders; producing
     * before that would only stall in librdkafka, so wait here, bounded. */
    for (int waited_ms = 0; waited_ms <= CLI_KAFKA_ADMIN_TIMEOUT_MS; waited_ms += 100) {
        int got = cli_kafka_topic_partitions(rk, topic);
        if (got < 0)
            goto out_free;
        if (got > 0) {
            if (got != partitions)
                fprintf(stderr, "brook: topic %s exists with %d partitions, not %d\n", topic,
                        got, partitions);
            rc = 0;
            goto out_free;
        }
        sleep_ms(100);
    }
    fprintf(stderr, "brook: topic %s created but not in metadata after %d ms\n", topic,
            CLI_KAFKA_ADMIN_TIMEOUT_MS);
out_free:
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    if (opts != NULL)
        rd_kafka_AdminOptions_destroy(opts);
    if (nt != NULL)
        rd_kafka_NewTopic_destroy(nt);
    if (q != NULL)
        rd_kafka_queue_destroy(q);
    return rc;
}
