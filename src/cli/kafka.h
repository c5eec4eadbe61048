/*
 * kafka.h - the librdkafka plumbing that every `brook` command shares: building a client
 * configuration, looking up and creating topics, and hosting librdkafka's in-memory mock
 * cluster for `--mock` runs.
 *
 * Owns: the mock cluster and the client handle it lives on. Never: links broker internals;
 * the CLI talks to brookd only over the Kafka protocol, like any other client.
 */
#ifndef BROOK_CLI_KAFKA_H
#define BROOK_CLI_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Upper bound for any metadata or admin round trip the CLI waits on. */
#define CLI_KAFKA_ADMIN_TIMEOUT_MS 15000

struct cli_mock {
    rd_kafka_t *host; /* the handle the mock cluster lives on; the cluster dies with it */
    rd_kafka_mock_cluster_t *cluster;
};

/* Starts a one-broker mock cluster listening on loopback in this process. Returns 0, or -1
 * after printing why on stderr. On success call cli_mock_stop. */
int cli_mock_start(struct cli_mock *m);
/* The "host:port" list to bootstrap from; borrowed, valid until cli_mock_stop. */
const char *cli_mock_bootstraps(const struct cli_mock *m);
/* Creates topic with the given partitions (replication factor 1). Returns 0 or -1. */
int cli_mock_topic_create(struct cli_mock *m, const char *topic, int partitions);
void cli_mock_stop(struct cli_mock *m);

/* Sets key=value on conf. Returns 0, or -1 after printing librdkafka's reason on stderr. */
int cli_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/* Client properties every command applies, Kafka's client.properties format (docs/cli.md):
 * security.protocol, sasl.*, ssl.* and any other librdkafka key. `brook --command-config
 * FILE ...` or $BROOK_CLIENT_CONFIG names the file; each command's librdkafka handles get
 * every key, and its own raw Kafka connections (cli/wire.c) the security ones. Returns 0,
 * or -1 with err naming the file, line or key (at most CLI_KAFKA_PROPS_MAX keys). */
#define CLI_KAFKA_PROPS_MAX 64
int cli_kafka_props_load(const char *path, char *err, size_t errlen);
/* A loaded property's value (borrowed), or NULL when the file did not set it. */
const char *cli_kafka_prop(const char *key);

/* A new configuration with bootstrap.servers set, the client id "brook-cli" and the loaded
 * client properties. Returns NULL after printing why. The caller owns the result
 * (rd_kafka_new takes it over on success). */
rd_kafka_conf_t *cli_kafka_conf(const char *bootstrap);

/* Looks the topic up in cluster-wide metadata. Asking for all topics, rather than for this
 * one, matters: a request naming the topic lets the broker auto-create it with default
 * settings, which would hide a missing --partitions. Returns the partition count, 0 when the
 * topic does not exist, or -1 after printing the error. */
int cli_kafka_topic_partitions(rd_kafka_t *rk, const char *topic);

/* Creates topic with `partitions` partitions (replication factor 1) through the Admin API
 * and waits until metadata shows it. An existing topic is not an error. Returns 0 or -1. */
int cli_kafka_topic_create(rd_kafka_t *rk, const char *topic, int partitions);
/* Same with a replication factor (-1: the broker's default) and one optional topic config
 * (config_key NULL: none). */
int cli_kafka_topic_create_ex(rd_kafka_t *rk, const char *topic, int partitions, int rf,
                              const char *config_key, const char *config_value);

#endif
