/*
 * client.c - the shared librdkafka client of the `brook` commands; see client.h.
 *
 * librdkafka's own logging is turned down and its last error (error_cb) is quoted instead,
 * so that a refused connection reads as one line naming the address and the reason.
 */
#include "cli/client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/kafka.h"

/* Slice of the first metadata request between checks for refused connections. */
#define CLI_PROBE_MS 500

const char *cli_bootstrap(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("BROOK_BOOTSTRAP");
    return env && *env ? env : CLI_BOOTSTRAP_DEFAULT;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    cli_client *cl = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        cl->all_down = true;
    /* "all brokers down" follows the transport error that says why; keep the why. */
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && cl->last_err[0] != '\0')
        return;
    snprintf(cl->last_err, sizeof(cl->last_err), "%s", reason);
}

void cli_client_explain(cli_client *cl, rd_kafka_resp_err_t err, char *out, size_t cap)
{
    rd_kafka_poll(cl->rk, 0);
    if (cl->last_err[0] != '\0' &&
        (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
         err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN))
        snprintf(out, cap, "%s (%s)", rd_kafka_err2str(err), cl->last_err);
    else
        snprintf(out, cap, "%s", rd_kafka_err2str(err));
}

/* Asks for metadata in short slices until the broker answers, the timeout passes, or
 * librdkafka says every broker is down. Returns 0 or 1 after printing. */
static int probe(cli_client *cl)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    for (int64_t left = cl->timeout_ms; left > 0 && !cl->all_down; left -= CLI_PROBE_MS) {
        e = rd_kafka_metadata(cl->rk, 0, NULL, &md,
                              (int)(left < CLI_PROBE_MS ? left : CLI_PROBE_MS));
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        rd_kafka_poll(cl->rk, 0); /* serves error_cb */
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char why[768];
        cli_client_explain(cl, e, why, sizeof(why));
        fprintf(stderr,
                "%s: cannot reach a broker at %s: %s (is brookd running there? "
                "--bootstrap HOST:PORT or BROOK_BOOTSTRAP)\n",
                cl->cmd, cl->bootstrap, why);
        return 1;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

int cli_client_open(cli_client *cl, const char *cmd, const char *bootstrap, int64_t timeout_ms,
                    rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    memset(cl, 0, sizeof(*cl));
    cl->cmd = cmd;
    cl->bootstrap = bootstrap;
    cl->timeout_ms = timeout_ms;
    if (!conf)
        conf = cli_kafka_conf(bootstrap);
    else if (cli_kafka_set(conf, "bootstrap.servers", bootstrap) != 0 ||
             cli_kafka_set(conf, "client.id", "brook-cli") != 0) {
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    if (!conf)
        return 1;
    /* Connection failures reach error_cb; logging them as well would print each twice. */
    if (cli_kafka_set(conf, "log_level", "2") != 0) {
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, cl);
    char err[512];
    cl->rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!cl->rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "%s: cannot create a Kafka client: %s\n", cmd, err);
        return 1;
    }
    cl->q = rd_kafka_queue_new(cl->rk);
    if (!cl->q) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 1;
    }
    return probe(cl);
}

void cli_client_close(cli_client *cl)
{
    if (cl->q)
        rd_kafka_queue_destroy(cl->q);
    if (cl->rk)
        rd_kafka_destroy(cl->rk);
    cl->q = NULL;
    cl->rk = NULL;
}

rd_kafka_AdminOptions_t *cli_client_admin_options(cli_client *cl, rd_kafka_admin_op_t op)
{
    char err[512];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(cl->rk, op);
    if (!o) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
        return NULL;
    }
    if (rd_kafka_AdminOptions_set_request_timeout(o, (int)cl->timeout_ms, err, sizeof(err)) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "%s: admin options: %s\n", cl->cmd, err);
        rd_kafka_AdminOptions_destroy(o);
        return NULL;
    }
    return o;
}

rd_kafka_event_t *cli_client_admin_wait(cli_client *cl, const char *what, char *err,
                                        size_t errlen)
{
    char msg[1536];
    /* The request timeout bounds the broker side; the extra seconds cover the client's
     * queueing, so that the answer, not this wait, reports a timeout. */
    rd_kafka_event_t *ev = rd_kafka_queue_poll(cl->q, (int)cl->timeout_ms + 2000);
    if (!ev) {
        snprintf(msg, sizeof(msg), "%s: no answer in %" PRId64 " ms", what, cl->timeout_ms);
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char why[1024];
        cli_client_explain(cl, rd_kafka_event_error(ev), why, sizeof(why));
        const char *s = rd_kafka_event_error_string(ev);
        snprintf(msg, sizeof(msg), "%s failed: %s%s%s", what, why, s ? ": " : "", s ? s : "");
        rd_kafka_event_destroy(ev);
        ev = NULL;
    } else {
        return ev;
    }
    if (err)
        snprintf(err, errlen, "%s", msg);
    else
        fprintf(stderr, "%s: %s\n", cl->cmd, msg);
    return NULL;
}

int cli_client_brokers(cli_client *cl, cli_broker **out)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(cl->rk, 0, NULL, &md, (int)cl->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char why[768];
        cli_client_explain(cl, e, why, sizeof(why));
        fprintf(stderr, "%s: metadata: %s\n", cl->cmd, why);
        return -1;
    }
    int n = md->broker_cnt;
    cli_broker *b = n > 0 ? calloc((size_t)n, sizeof(*b)) : NULL;
    for (int i = 0; b && i < n; i++) {
        b[i].id = md->brokers[i].id;
        snprintf(b[i].addr, sizeof(b[i].addr), "%s:%d", md->brokers[i].host,
                 md->brokers[i].port);
    }
    rd_kafka_metadata_destroy(md);
    if (!b) {
        fprintf(stderr, "%s: the metadata named no broker\n", cl->cmd);
        return -1;
    }
    *out = b;
    return n;
}

int cli_client_broker(cli_client *cl, int32_t id, cli_broker *out)
{
    cli_broker *bs = NULL;
    int n = cli_client_brokers(cl, &bs);
    if (n < 0)
        return 1;
    int i = 0;
    while (id >= 0 && i < n && bs[i].id != id)
        i++;
    if (i < n)
        *out = bs[i];
    free(bs);
    if (i < n)
        return 0;
    fprintf(stderr, "%s: unknown broker %" PRId32 "\n", cl->cmd, id);
    return 1;
}
