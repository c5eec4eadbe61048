/*
 * peer.h - connections from this broker to other brokers (the two-phase commit's RPCs).
 *
 * Owns: one TCP connection per remote broker id (TLS over it when the pool has a client
 * context: peer_pool_set_tls; a SASL SCRAM login first with peer_pool_set_sasl), opened
 * lazily, its request queue,
 * correlation ids, per-request deadlines, reconnect backoff.
 * Never: retries a request by itself (the caller decides; a failed request is reported
 * once), or blocks the loop.
 *
 * Requests to one broker are written in order on one connection; responses are matched by
 * correlation id (an unknown id, or a response size outside [4, PEER_RESPONSE_MAX], closes
 * the connection and fails its requests with PEER_ERR_CLOSED).
 * A failed connect fails the connection's requests with PEER_ERR_UNREACHABLE and starts a
 * backoff (PEER_BACKOFF_MIN_MS doubling to PEER_BACKOFF_MAX_MS, reset by a successful
 * connect); sends during the backoff fail at once (through a deferred callback) with
 * PEER_ERR_UNREACHABLE. A lost connection has no backoff: the next send reconnects.
 * Deadlines are checked every PEER_TICK_MS by one timer per pool: a request past its
 * deadline fails with PEER_ERR_TIMEOUT and its connection is closed (its answer would
 * arrive out of turn otherwise); the connection's other requests fail with PEER_ERR_CLOSED
 * (PEER_ERR_UNREACHABLE if it was still connecting, which also starts the backoff).
 *
 * Callbacks run from the loop: after a read, a connect, a write error, a deadline tick, or
 * an idle handle for failures decided inside peer_send / peer_pool_set_address /
 * peer_pool_forget. Only peer_pool_stop runs callbacks synchronously. A callback may call
 * any function of this module, peer_pool_stop included.
 */
#ifndef BROOK_NET_PEER_H
#define BROOK_NET_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Status codes (negative, libuv-style; each a distinct libuv error). */
#define PEER_ERR_UNREACHABLE UV_EHOSTUNREACH /* connect failed, backoff, or no address */
#define PEER_ERR_TIMEOUT UV_ETIMEDOUT        /* no answer before the request's deadline */
#define PEER_ERR_CLOSED UV_ECONNRESET        /* connection lost or closed before the answer */
#define PEER_ERR_STOPPED UV_ECANCELED        /* peer_pool_stop */

/* Caps and timings (the module's own; candidates for base/limits.h). */
#define PEER_RESPONSE_MAX (100 * 1024 * 1024) /* largest response frame (after the size) */
#define PEER_TICK_MS 50                       /* deadline check period */
#define PEER_BACKOFF_MIN_MS 100
#define PEER_BACKOFF_MAX_MS 2000

typedef struct peer_pool peer_pool;
struct tls_ctx;

/* status: 0 ok (body = the response after the correlation id: i.e. for a flexible response
 * the caller skips the header tagged fields itself), or one of PEER_ERR_*. body is valid
 * only during the callback (borrowed; NULL when status != 0). */
typedef void (*peer_cb)(void *ctx, int status, const uint8_t *body, size_t len);

/* Creates a pool on `loop` (borrowed; must outlive the pool). self_id is for logs;
 * client_id (copied; NULL writes a null string) goes in every request header.
 * Returns NULL when out of memory. */
peer_pool *peer_pool_new(uv_loop_t *loop, int32_t self_id, const char *client_id);

/* Sets or changes where broker `id` listens; a changed address closes the old connection
 * (its requests fail with PEER_ERR_CLOSED) and resets the backoff. host (copied) is a
 * numeric IPv4 or IPv6 address ("[::1]" accepted) or "localhost" (127.0.0.1); anything
 * else leaves the broker without an address, so sends to it fail with
 * PEER_ERR_UNREACHABLE. The same address again is a no-op. No-op once stopped. */
void peer_pool_set_address(peer_pool *pp, int32_t id, const char *host, int port);

/* Broker `id` is back (registered anew): the next send connects at once instead of
 * failing until a backoff from its previous life runs out. */
void peer_pool_reset_backoff(peer_pool *pp, int32_t id);

/* Broker left: closes its connection, fails its requests with PEER_ERR_CLOSED and forgets
 * its address (later sends fail with PEER_ERR_UNREACHABLE). */
void peer_pool_forget(peer_pool *pp, int32_t id);

/* Sends one request: frame = [size][api_key i16][api_version i16][correlation i32]
 * [client_id string][body]. `flexible_header`: add the empty tagged-field byte after
 * client_id (request header v2). body is copied (borrowed for the call). The callback is
 * called exactly once (possibly later, never re-entrantly from inside peer_send: if it fails
 * at once, it is deferred via the loop). The deadline is now + timeout_ms, checked every
 * PEER_TICK_MS. Returns 0, or -1 if the pool is stopped or out of memory (callback not
 * called then). */
int peer_send(peer_pool *pp, int32_t broker_id, int16_t api_key, int16_t api_version,
              bool flexible_header, const uint8_t *body, size_t len, uint32_t timeout_ms,
              peer_cb cb, void *ctx);

/* Fails every request whose callback has not run yet with PEER_ERR_STOPPED (callbacks run
 * before it returns; none runs afterwards), closes all handles; the pool is freed once the
 * handles are closed (uv_close callbacks), so the caller must still run the loop.
 * From the callbacks it runs, peer_send returns -1 and the other calls are no-ops; once it
 * has returned the pool must not be used again (the loop frees it). A second call from a
 * callback is a no-op. */
void peer_pool_stop(peer_pool *pp);

/* Every connection opened from now on speaks TLS with `tls` (a client context, borrowed:
 * it must outlive the pool): the other broker's certificate is verified against its
 * truststore (and its host name or IP, if the context checks them), this broker's own
 * certificate is presented if it has one, and requests wait in the session until the
 * handshake is done. A failed handshake counts as a failed connect (PEER_ERR_UNREACHABLE,
 * backoff). NULL: plaintext. */
void peer_pool_set_tls(peer_pool *pp, struct tls_ctx *tls);
/* Every connection opened from now on logs in before its first request (the other
 * broker's listener is SASL_PLAINTEXT or SASL_SSL): SaslHandshake v1 with mechanism `mech`
 * (a scram_mech: SCRAM-SHA-256 or -512), then SaslAuthenticate v1 carrying the SCRAM
 * exchange as user/password (copied), the broker's signature checked. Requests wait
 * until it is done; a refused or failed login counts as a failed connect
 * (PEER_ERR_UNREACHABLE, backoff, logged). Returns 0 or -1 (out of memory). */
int peer_pool_set_sasl(peer_pool *pp, int mech, const char *user, const char *password);
/* Requests whose callback has not run yet (for metrics and tests). */
size_t peer_pool_pending(const peer_pool *pp);
/* Whether broker `id` has an established connection right now (for tests). */
bool peer_pool_connected(const peer_pool *pp, int32_t id);
/* Name of a PEER_ERR_* status ("ok" for 0; uv_err_name otherwise). */
const char *peer_strerror(int status);

#endif
