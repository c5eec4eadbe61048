/*
 * sock.c - deadline-bounded blocking TCP for the CLI; see sock.h.
 */
#include "cli/sock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cli_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
    if (strncmp(s, "http://", 7) == 0)
        s += 7;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        n--;
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon || colon == s)
        return -1;
    const char *h = s;
    size_t hn = (size_t)(colon - s), pn = n - hn - 1;
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') { /* "[::1]:9092" */
        h++;
        hn -= 2;
    }
    if (hn == 0 || hn >= hostlen || pn == 0 || pn >= portlen)
        return -1;
    for (size_t i = 0; i < pn; i++)
        if (colon[1 + i] < '0' || colon[1 + i] > '9')
            return -1;
    memcpy(host, h, hn);
    host[hn] = '\0';
    memcpy(port, colon + 1, pn);
    port[pn] = '\0';
    return 0;
}

/* Waits for fd to become ready for `events` until deadline. Returns 0, or -1 with errno
 * (ETIMEDOUT when the deadline passed). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - cli_now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Connects one address. Returns the descriptor, or -1 with errno. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    /* Requests go out as a header and a body in two writes (cli/wire.c); with Nagle's
     * algorithm the second would wait for the peer's delayed ACK of the first (~40 ms). */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (wait_fd(fd, POLLOUT, deadline) != 0)
            soerr = errno;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        rc = soerr == 0 ? 0 : -1;
        errno = soerr;
    }
    if (rc != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int cli_sock_connect(const char *host, const char *port, int64_t deadline, char *err,
                     size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd < 0)
            last = errno;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(last));
    return fd;
}

int cli_sock_sendv_all(int fd, struct iovec *iov, int niov, int64_t deadline)
{
    while (niov > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                return -1;
            continue;
        }
        if (w < 0)
            return -1;
        size_t done = (size_t)w;
        while (niov > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            niov--;
        }
        if (niov > 0) { /* part of this buffer went */
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

int cli_sock_send_all(int fd, const void *buf, size_t n, int64_t deadline)
{
    struct iovec one = {.iov_base = (void *)buf, .iov_len = n};
    return n == 0 ? 0 : cli_sock_sendv_all(fd, &one, 1, deadline);
}

ssize_t cli_sock_recv_some(int fd, void *buf, size_t min, size_t cap, int64_t deadline)
{
    char *p = buf;
    size_t got = 0;
    while (got < min) {
        ssize_t r = recv(fd, p + got, cap - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0) {
            errno = ECONNRESET;
            return -1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (wait_fd(fd, POLLIN, deadline) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    return (ssize_t)got;
}

int cli_sock_recv_exact(int fd, void *buf, size_t n, int64_t deadline)
{
    return cli_sock_recv_some(fd, buf, n, n, deadline) < 0 ? -1 : 0;
}

int cli_sock_recv_to_eof(int fd, size_t max, char **out, size_t *len_out, int64_t deadline)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= max) {
                free(buf);
                errno = EFBIG;
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r > 0) {
            len += (size_t)r;
        } else if (r == 0) {
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            if (wait_fd(fd, POLLIN, deadline) != 0) {
                free(buf);
                return -1;
            }
        } else {
            free(buf);
            return -1;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *len_out = len;
    return 0;
}
