/*
 * server.h - the Kafka listener: TCP connections on the libuv loop, request framing, and
 * responses written strictly in request order per connection.
 *
 * Owns: sockets, read buffers, the per-connection FIFO of requests in flight.
 * A request is handed to the dispatcher as soon as its frame is complete; the handler
 * may answer at once or later (fsync, long poll), always through net_request_done().
 * Responses leave in request order whatever order handlers finish in (Kafka clients,
 * librdkafka's idempotent producer above all, depend on it).
 * On a TLS listener (net_opts.tls) each connection has a tls_conn (sec/tls.h): the socket's
 * bytes go through it before framing, responses through it before uv_write, all on the
 * loop (memory BIOs); a failed handshake or TLS error closes that connection only, after
 * sending the alert, and is logged once.
 * Never: interprets request bodies or decides anything about data.
 *
 * Lifetime: a connection that closes while requests are still pending stays allocated
 * (closed) until the last of them is done; their responses are then dropped.
 */
#ifndef BROOK_NET_SERVER_H
#define BROOK_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "sec/tls.h"

typedef struct net_conn net_conn;
typedef struct net_server net_server;

typedef struct net_request {
    net_conn *conn;
    uint8_t *frame; /* owned: the request bytes after the size prefix */
    size_t len;
    arena arena;    /* freed with the request */
    wr resp;        /* the handler writes the whole response frame here */
    bool done;
    bool no_response; /* acks=0 produce: nothing is sent */
    bool close_after; /* the connection closes once this response is written (and nothing
                       * after it is read or answered): a failed authentication */
    bool spans_owned; /* resp's file spans are dups this request owns (net_request_done) */
    void *op;         /* handler state while pending */
    struct net_request *next;
} net_request;

typedef void (*net_dispatch_fn)(void *ctx, net_request *req);

/* Connection caps shared by every server of a broker (Kafka's max.connections,
 * max.connections.per.ip and max.connections.per.ip.overrides): a connection over a cap is
 * closed as soon as it is accepted, before anything is read from it. The caller owns it and
 * keeps it alive while any server uses it; the servers keep the counts. */
typedef struct net_limits {
    int64_t max_total;     /* <= 0: none */
    int64_t max_per_ip;    /* <= 0: none */
    const char *overrides; /* "ip:n,ip:n" (a per-IP cap of n for that address) or NULL */
    int64_t total;
    struct net_ip_count *by_ip;
    uint64_t refused; /* connections closed for a cap */
} net_limits;
/* Whether overrides is a list of ip:n (n >= 0). */
bool net_limits_overrides_valid(const char *overrides);

typedef struct net_opts {
    const char *host;
    int port; /* 0: any free port */
    int32_t max_frame_bytes;
    net_dispatch_fn dispatch;
    void *ctx;
    int listener; /* the caller's index of this server, given back by net_conn_listener */
    net_limits *limits; /* NULL: no caps */
    int64_t idle_ms;    /* connections.max.idle.ms: close a connection idle this long (0: never) */
    tls_ctx *tls;       /* a server context: TLS on every connection; NULL: plaintext.
                         * Borrowed: must outlive the server's connections */
} net_opts;

/* Binds and listens. *port_out gets the bound port. Returns 0 or a libuv error. */
int net_server_start(uv_loop_t *loop, const net_opts *o, net_server **out, int *port_out);
/* Stops accepting and closes every connection. */
void net_server_stop(net_server *s);
/* Marks the request answered (its resp holds a full frame, or no_response is set) and
 * writes whatever responses are now at the head of the connection's queue. File spans in
 * resp (wr_file_span) are dup'ed here, so the handler's descriptors need to live only until
 * this call; on a plaintext connection they go out by sendfile, on TLS (or when no
 * descriptor is left) they are read into the response first. */
void net_request_done(net_request *req);
/* Closes the request's connection (malformed request) and finishes the request. */
void net_request_fail(net_request *req, const char *why);
/* The peer's address as "ip:port" for logs. */
const char *net_conn_peer(const net_conn *c);
bool net_conn_is_closed(const net_conn *c);
/* Which server (net_opts.listener) accepted the connection. */
int net_conn_listener(const net_conn *c);
/* Connections get increasing serials as they are accepted (across every server of the
 * process): a serial below net_next_conn_serial() taken at some moment means the connection
 * was open before that moment. */
uint64_t net_conn_serial(const net_conn *c);
uint64_t net_next_conn_serial(void);
/* The caller's per-connection state (e.g. its authentication): NULL until set; free_fn runs
 * when the connection is freed. Setting it again frees the previous one. */
void *net_conn_data(const net_conn *c);
void net_conn_set_data(net_conn *c, void *data, void (*free_fn)(void *));
/* The principal of the connection's verified TLS client certificate ("User:<mapped DN>"),
 * or NULL (no TLS, no client certificate, or the handshake is not done). */
const char *net_conn_tls_principal(const net_conn *c);
/* Stops reading from the connection for ms milliseconds (a client over its quota, Kafka's
 * channel muting): requests already read still run and their responses still leave; a
 * later call with a later end extends the mute. Other connections are not affected. */
void net_conn_mute(net_conn *c, uint32_t ms);
bool net_conn_muted(const net_conn *c);
/* Whether the connection is plaintext (file spans then go out by sendfile). */
bool net_conn_plaintext(const net_conn *c);
/* Bytes every server sent by sendfile since start (metrics). */
uint64_t net_sendfile_bytes(void);
/* Times a file span found the socket full and waited for it (metrics). */
uint64_t net_sendfile_waits(void);
/* Connections currently open (for metrics and tests). */
size_t net_server_conn_count(const net_server *s);

#endif
