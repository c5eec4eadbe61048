/*
 * sock.h - blocking TCP for the CLI's own protocol clients (HTTP to the admin listener, raw
 * Kafka requests): connect, send and receive, each bounded by an absolute deadline.
 *
 * Owns: nothing beyond the descriptor it returns (the caller closes it).
 * Never: blocks past the deadline; every wait is a poll() with the time left.
 */
#ifndef BROOK_CLI_SOCK_H
#define BROOK_CLI_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CLI_HOST_MAX 256
#define CLI_PORT_MAX 16

/* Monotonic milliseconds, for deadlines. */
int64_t cli_now_ms(void);
/* Wall-clock milliseconds since the epoch, to compare with the broker's timestamps. */
int64_t cli_wall_ms(void);

/* Splits "HOST:PORT", "[V6]:PORT" or "http://HOST:PORT/" into host and port. Returns 0, or
 * -1 when s is not of that form or a part does not fit. */
int cli_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen);

/* Connects to host:port before deadline. Returns a non-blocking descriptor, or -1 with why
 * in err ("cannot connect to H:P: Connection refused"). */
int cli_sock_connect(const char *host, const char *port, int64_t deadline, char *err,
                     size_t errlen);

/* Sends all n bytes. Returns 0, or -1 with errno (ETIMEDOUT past the deadline). */
int cli_sock_send_all(int fd, const void *p, size_t n, int64_t deadline);
/* The same for the niov buffers of iov, in order, with one sendmsg when the socket takes
 * them all (iov is advanced past what was sent). */
int cli_sock_sendv_all(int fd, struct iovec *iov, int niov, int64_t deadline);

/* Receives exactly n bytes. Returns 0, or -1 with errno (ECONNRESET when the peer closed
 * first, ETIMEDOUT past the deadline). */
int cli_sock_recv_exact(int fd, void *p, size_t n, int64_t deadline);
/* Receives at least min and at most cap bytes (min <= cap): whatever the socket holds once
 * min have come. Returns how many, or -1 with errno as cli_sock_recv_exact. */
ssize_t cli_sock_recv_some(int fd, void *p, size_t min, size_t cap, int64_t deadline);

/* Receives until the peer closes, at most max bytes, into *out (malloc'd, NUL-terminated;
 * the caller frees). Returns 0, or -1 with errno (EFBIG beyond max). */
int cli_sock_recv_to_eof(int fd, size_t max, char **out, size_t *len_out, int64_t deadline);

#endif
