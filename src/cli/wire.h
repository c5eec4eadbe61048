/*
 * wire.h - one blocking Kafka connection for the requests librdkafka 2.0 has no admin call
 * for (DescribeLogDirs, IncrementalAlterConfigs, ListTransactions, DescribeTransactions,
 * DescribeProducers): the CLI encodes the request body with base/buf.h's wr_* and decodes
 * the answer with rd_*.
 *
 * On a secured cluster the connection speaks TLS and logs in with SASL (PLAIN,
 * SCRAM-SHA-256/512) as the loaded client properties say (cli/kafka.h: security.protocol,
 * sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location,
 * ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm,
 * enable.ssl.certificate.verification), before cli_wire_connect returns.
 *
 * Owns: the socket, its TLS session and the correlation ids on it.
 * Never: retries, or follows a NOT_COORDINATOR / leader move; callers pick the broker.
 */
#ifndef BROOK_CLI_WIRE_H
#define BROOK_CLI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request or answer frame the CLI accepts, at most. */
#define CLI_WIRE_FRAME_MAX (64u * 1024 * 1024)

typedef struct cli_wire {
    int fd;
    struct ssl_st *ssl;         /* the TLS session, or NULL on PLAINTEXT / SASL_PLAINTEXT */
    struct ssl_ctx_st *ssl_ctx;
    int32_t next_corr;
    int32_t inflight;   /* requests sent and not yet answered */
    int64_t timeout_ms; /* bound on connecting, and on each call's send plus receive */
    int64_t reauth_at_ms; /* KIP-368: log in again from then on (monotonic; 0: never) */
    bool in_login;
    char addr[300];     /* "host:port", for messages */
    /* Plaintext: bytes read past the last answer taken (malloc'd on the first read, freed
     * by cli_wire_close): one recv brings a small answer's size and body together. */
    uint8_t *rbuf;
    size_t rbuf_off, rbuf_len;
} cli_wire;

/* Connects to hostport ("host:port", a name or an IPv4/IPv6 literal; "[v6]:port" too)
 * within timeout_ms, then does the TLS handshake and the SASL login the client properties
 * ask for. Returns 0, or -1 with why in err ("connection refused", "SASL authentication
 * failed: ...", "TLS handshake with H:P: certificate verify failed", ...); call
 * cli_wire_close either way. */
int cli_wire_connect(cli_wire *w, const char *hostport, int64_t timeout_ms, char *err,
                     size_t errlen);

/* Sends a request (header v1, or v2 with an empty tag buffer when `flexible`) with the given
 * body, and reads its answer. On 0, *resp (malloc'd; the caller frees) holds the response
 * body after the header (for flexible versions the header's tag buffer is already skipped,
 * except for ApiVersions, whose response header is never flexible) and *resp_len its size.
 * Returns -1 with why in err on a socket error, timeout, oversized or mismatched answer. */
int cli_wire_call(cli_wire *w, int16_t api_key, int16_t api_version, bool flexible,
                  const uint8_t *body, size_t body_len, uint8_t **resp, size_t *resp_len,
                  char *err, size_t errlen);

/* The two halves of cli_wire_call, for requests pipelined on one connection (the broker
 * answers them in order): send gives the request's correlation id, recv reads the next
 * answer and checks it carries corr (flexible: a response header with a tag buffer). */
int cli_wire_send(cli_wire *w, int16_t api_key, int16_t api_version, bool flexible,
                  const uint8_t *body, size_t body_len, int32_t *corr_out, char *err,
                  size_t errlen);
int cli_wire_recv(cli_wire *w, int32_t corr, bool flexible, uint8_t **resp, size_t *resp_len,
                  char *err, size_t errlen);

/* Whether the SASL session is close to the lifetime the broker gave it
 * (connections.max.reauth.ms): the next cli_wire_send made with nothing in flight logs in
 * again first (KIP-368), so a pipelining caller lets its requests drain when this says so. */
bool cli_wire_reauth_due(const cli_wire *w);
/* Waits up to timeout_ms (0: not at all) for answer bytes to read: true when some are there
 * (in the socket or already decrypted by TLS), false on timeout or a poll error. */
bool cli_wire_readable(cli_wire *w, int timeout_ms);

void cli_wire_close(cli_wire *w);

struct wr;
struct rd;

/* One request on a fresh connection to hostport (connect, cli_wire_call, close): body is a
 * wr_* buffer, freed here whatever happens. On 0, *resp (malloc'd; the caller frees) holds
 * the answer's body and r reads it (r->flex = flexible). Returns -1 with why in err, an
 * out-of-memory body included. */
/* A (compact) string read from r as a malloc'd C string the caller frees; NULL for a null
 * string (or out of memory). */
char *cli_wire_dup_str(struct rd *r);
int cli_wire_request(const char *hostport, int64_t timeout_ms, int16_t api_key,
                     int16_t api_version, bool flexible, struct wr *body, uint8_t **resp,
                     struct rd *r, char *err, size_t errlen);

#endif
