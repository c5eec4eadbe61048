/*
 * wire.c - one blocking Kafka connection for the CLI; see wire.h.
 *
 * Framing: a 4-byte big-endian size, then the request header (api key, version,
 * correlation id, client id; v2 adds an empty tag buffer) and the body. The answer is a size,
 * the correlation id (checked), a tag buffer when the request was flexible (ApiVersions
 * excepted), and the body handed back.
 */
#include "cli/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/sock.h"

#define WIRE_CLIENT_ID "brook-cli"
#define WIRE_API_VERSIONS 18

int cli_wire_connect(cli_wire *w, const char *hostport, int64_t timeout_ms, char *err,
                     size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->next_corr = 1;
    w->timeout_ms = timeout_ms;
    snprintf(w->addr, sizeof(w->addr), "%s", hostport);
    char host[CLI_HOST_MAX], port[CLI_PORT_MAX];
    if (cli_split_hostport(hostport, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(err, errlen, "'%s' is not HOST:PORT", hostport);
        return -1;
    }
    w->fd = cli_sock_connect(host, port, cli_now_ms() + timeout_ms, err, errlen);
    return w->fd < 0 ? -1 : 0;
}

/* The whole request frame, size prefix included, in w (caller frees). */
static void encode_request(wr *out, int16_t api_key, int16_t api_version, bool flexible,
                           int32_t corr, const uint8_t *body, size_t body_len)
{
    wr_init(out, 64 + body_len);
    wr_i32(out, 0); /* size, patched below */
    wr_i16(out, api_key);
    wr_i16(out, api_version);
    wr_i32(out, corr);
    wr_cstr(out, WIRE_CLIENT_ID); /* the client id is a non-compact string in v1 and v2 */
    if (flexible)
        wr_uvarint(out, 0); /* the header's empty tag buffer */
    wr_raw(out, body, body_len);
    wr_put_i32_at(out, 0, (int32_t)(out->len - 4));
}

/* Reads one answer frame into *frame (malloc'd). Returns 0 or -1 with why in err. */
static int read_frame(cli_wire *w, int64_t deadline, uint8_t **frame, size_t *len, char *err,
                      size_t errlen)
{
    uint8_t hdr[4];
    if (cli_sock_recv_exact(w->fd, hdr, 4, deadline) != 0) {
        snprintf(err, errlen, "reading from %s: %s", w->addr,
                 errno == ETIMEDOUT ? "timed out (--timeout-ms)" : strerror(errno));
        return -1;
    }
    uint32_t n = be32_get(hdr);
    if (n < 4 || n > CLI_WIRE_FRAME_MAX) {
        snprintf(err, errlen, "%s sent a frame of %u bytes (not a Kafka broker?)", w->addr, n);
        return -1;
    }
    uint8_t *p = malloc(n);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cli_sock_recv_exact(w->fd, p, n, deadline) != 0) {
        snprintf(err, errlen, "reading from %s: %s", w->addr,
                 errno == ETIMEDOUT ? "timed out (--timeout-ms)" : strerror(errno));
        free(p);
        return -1;
    }
    *frame = p;
    *len = n;
    return 0;
}

int cli_wire_call(cli_wire *w, int16_t api_key, int16_t api_version, bool flexible,
                  const uint8_t *body, size_t body_len, uint8_t **resp, size_t *resp_len,
                  char *err, size_t errlen)
{
    if (w->fd < 0) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    int64_t deadline = cli_now_ms() + w->timeout_ms;
    int32_t corr = w->next_corr++;
    wr req;
    encode_request(&req, api_key, api_version, flexible, corr, body, body_len);
    if (req.oom) {
        wr_free(&req);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = cli_sock_send_all(w->fd, req.p, req.len, deadline);
    wr_free(&req);
    if (rc != 0) {
        snprintf(err, errlen, "sending to %s: %s", w->addr, strerror(errno));
        return -1;
    }
    uint8_t *frame = NULL;
    size_t n = 0;
    if (read_frame(w, deadline, &frame, &n, err, errlen) != 0)
        return -1;
    rd r;
    rd_init(&r, frame, n);
    r.flex = flexible && api_key != WIRE_API_VERSIONS;
    int32_t got = rd_i32(&r);
    rd_tags(&r);
    if (r.err || got != corr) {
        snprintf(err, errlen, "%s answered correlation id %d to request %d", w->addr, got, corr);
        free(frame);
        return -1;
    }
    size_t off = r.off;
    memmove(frame, frame + off, n - off);
    *resp = frame;
    *resp_len = n - off;
    return 0;
}

void cli_wire_close(cli_wire *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

int cli_wire_request(const char *hostport, int64_t timeout_ms, int16_t api_key,
                     int16_t api_version, bool flexible, wr *body, uint8_t **resp, rd *r,
                     char *err, size_t errlen)
{
    cli_wire w = {.fd = -1};
    size_t len = 0;
    int rc = -1;
    *resp = NULL;
    if (body->oom)
        snprintf(err, errlen, "out of memory");
    else if (cli_wire_connect(&w, hostport, timeout_ms, err, errlen) == 0)
        rc = cli_wire_call(&w, api_key, api_version, flexible, body->p, body->len, resp, &len,
                           err, errlen);
    cli_wire_close(&w);
    wr_free(body);
    if (rc == 0) {
        rd_init(r, *resp, len);
        r->flex = flexible;
    }
    return rc;
}

char *cli_wire_dup_str(struct rd *r)
{
    kslice k = rd_str(r);
    if (k.len < 0)
        return NULL;
    char *s = malloc((size_t)k.len + 1);
    if (s) {
        memcpy(s, k.p, (size_t)k.len);
        s[k.len] = '\0';
    }
    return s;
}
