/*
 * http_client.c - one request to brookd's admin listener; see http_client.h.
 */
#include "cli/http_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/sock.h"

const char *cli_admin_address(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("BROOK_ADMIN");
    return env && *env ? env : CLI_ADMIN_DEFAULT;
}

/* Splits a raw response into status and body. Returns 0 or -1 (not HTTP). */
static int parse_reply(cli_http_reply *r)
{
    const char *s = r->raw;
    if (r->raw_len < 12 || strncmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
        return -1;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        status = status * 10 + (s[i] - '0');
    }
    char *end = strstr(r->raw, "\r\n\r\n");
    if (!end)
        return -1;
    r->status = status;
    r->body = end + 4;
    r->body_len = r->raw_len - (size_t)(r->body - r->raw);
    /* Trust Content-Length when it is shorter (nothing follows a closed connection's
     * response, but be exact). */
    for (char *line = strstr(r->raw, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0) {
            char *e = NULL;
            unsigned long long v = strtoull(line + 17, &e, 10);
            if (e != line + 17 && v < r->body_len) {
                r->body_len = (size_t)v;
                r->body[v] = '\0';
            }
            break;
        }
    }
    return 0;
}

int cli_http_call(const char *cmd, const char *admin, int64_t timeout_ms, const char *method,
                  const char *path, cli_http_reply *r)
{
    memset(r, 0, sizeof(*r));
    char host[CLI_HOST_MAX], port[CLI_PORT_MAX], err[512];
    if (cli_split_hostport(admin, host, sizeof(host), port, sizeof(port)) != 0) {
        fprintf(stderr, "%s: --admin: '%s' is not HOST:PORT\n", cmd, admin);
        return -1;
    }
    int64_t deadline = cli_now_ms() + timeout_ms;
    int fd = cli_sock_connect(host, port, deadline, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr,
                "%s: %s (is brookd running with admin.listeners there? --admin HOST:PORT)\n",
                cmd, err);
        return -1;
    }
    size_t reqcap = strlen(path) + strlen(host) + 256;
    char *req = malloc(reqcap);
    int n = req ? snprintf(req, reqcap,
                           "%s %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: brook-cli\r\n"
                           "Accept: application/json\r\nContent-Length: 0\r\n"
                           "Connection: close\r\n\r\n",
                           method, path, host, port)
                : -1;
    int rc = -1;
    if (n < 0 || (size_t)n >= reqcap) {
        fprintf(stderr, "%s: out of memory\n", cmd);
    } else if (cli_sock_send_all(fd, req, (size_t)n, deadline) != 0) {
        fprintf(stderr, "%s: sending to %s:%s: %s\n", cmd, host, port, strerror(errno));
    } else if (cli_sock_recv_to_eof(fd, CLI_HTTP_REPLY_MAX, &r->raw, &r->raw_len, deadline) != 0) {
        fprintf(stderr, "%s: reading from %s:%s: %s\n", cmd, host, port,
                errno == ETIMEDOUT ? "timed out (--timeout-ms)" : strerror(errno));
    } else if (parse_reply(r) != 0) {
        fprintf(stderr, "%s: %s:%s did not answer with HTTP (is it brookd's admin port?)\n",
                cmd, host, port);
        free(r->raw);
        r->raw = NULL;
    } else {
        rc = 0;
    }
    free(req);
    close(fd);
    return rc;
}


void cli_http_reply_free(cli_http_reply *r)
{
    free(r->raw);
    r->raw = NULL;
    r->body = NULL;
}
