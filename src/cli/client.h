/*
 * client.h - the librdkafka client every `brook` command that speaks Kafka shares: where to
 * bootstrap from, a handle that has proven the broker answers, admin calls bounded by the
 * command's --timeout-ms, the brokers' addresses from metadata, and errors worded for people.
 *
 * Owns: the handle, its admin result queue and the latest client-level error text.
 * Never: exits the process or retries a failed admin call; callers decide.
 */
#ifndef BROOK_CLI_CLIENT_H
#define BROOK_CLI_CLIENT_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default bootstrap when neither --bootstrap nor $BROOK_BOOTSTRAP is given. */
#define CLI_BOOTSTRAP_DEFAULT "127.0.0.1:9092"
/* Default --timeout-ms of the commands. */
#define CLI_TIMEOUT_DEFAULT_MS 10000

typedef struct cli_client {
    const char *cmd;    /* "brook topic create", ... for messages; borrowed */
    const char *bootstrap; /* borrowed */
    int64_t timeout_ms;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* where admin results arrive */
    char last_err[512];  /* librdkafka's latest client-level error, "" if none */
    bool all_down;       /* librdkafka reported every broker connection failed */
    bool json;           /* the command's --json: JSON on stdout instead of tables */
} cli_client;

/* The bootstrap to use: flag when given, else $BROOK_BOOTSTRAP when set and not empty, else
 * CLI_BOOTSTRAP_DEFAULT. Borrowed. */
const char *cli_bootstrap(const char *flag);

/* Creates a handle of `type` on conf (NULL: a fresh cli_kafka_conf; conf is taken over
 * either way, also on failure) with bootstrap.servers set, and waits (in slices, so that a
 * refused connection fails at once) until the broker answers a metadata request within
 * timeout_ms. Returns 0, or 1 after printing "<cmd>: cannot reach a broker at ..." or why
 * the handle could not be made. On 0 or 1 call cli_client_close. */
int cli_client_open(cli_client *cl, const char *cmd, const char *bootstrap, int64_t timeout_ms,
                    rd_kafka_type_t type, rd_kafka_conf_t *conf);
void cli_client_close(cli_client *cl);

/* Serves queued error callbacks, then words err for people, with the transport's reason
 * when err is a timeout or transport failure. */
void cli_client_explain(cli_client *cl, rd_kafka_resp_err_t err, char *out, size_t cap);

/* Admin options for op with the request timeout set to timeout_ms. NULL after printing. */
rd_kafka_AdminOptions_t *cli_client_admin_options(cli_client *cl, rd_kafka_admin_op_t op);

/* Waits for the result of an admin call on cl->q (what names it: "DescribeConsumerGroups").
 * Returns the event (the caller destroys it), or NULL after printing the error on stderr,
 * or into err[errlen] when err is not NULL. */
rd_kafka_event_t *cli_client_admin_wait(cli_client *cl, const char *what, char *err,
                                        size_t errlen);

/* A broker as the cluster's metadata names it. */
typedef struct cli_broker {
    int32_t id;
    char addr[300]; /* "host:port" */
} cli_broker;

/* Every broker in the cluster's metadata. Returns the count (>= 1) with *out malloc'd, or
 * -1 after printing. */
int cli_client_brokers(cli_client *cl, cli_broker **out);

/* The broker with this id (id < 0: the first one the metadata names) in *out. Returns 0, or
 * 1 after printing ("unknown broker ID" included). */
int cli_client_broker(cli_client *cl, int32_t id, cli_broker *out);

#endif
