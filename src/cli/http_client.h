/*
 * http_client.h - one HTTP/1.1 request to brookd's admin listener ("Connection: close",
 * reply read to EOF), for `brook txn` and the commands that use the admin API.
 *
 * Owns: the reply buffer until cli_http_reply_free.
 * Never: follows redirects or retries.
 */
#ifndef BROOK_CLI_HTTP_CLIENT_H
#define BROOK_CLI_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* The broker caps an admin response at 64 MiB (BROOK_HTTP_RESPONSE_MAX); so do we. */
#define CLI_HTTP_REPLY_MAX (64u * 1024 * 1024)
/* Default admin listener when neither --admin nor $BROOK_ADMIN is given. */
#define CLI_ADMIN_DEFAULT "127.0.0.1:9644"

typedef struct cli_http_reply {
    int status;
    char *raw; /* the whole response, NUL-terminated */
    size_t raw_len;
    char *body; /* points into raw, NUL-terminated */
    size_t body_len;
} cli_http_reply;

/* The admin address to use: flag when given, else $BROOK_ADMIN, else CLI_ADMIN_DEFAULT. */
const char *cli_admin_address(const char *flag);

/* Sends `method path` to admin ("HOST:PORT" or "http://HOST:PORT/") within timeout_ms.
 * Returns 0 with *r filled (any status; cli_http_reply_free it), or -1 after printing
 * "<cmd>: <why>" on stderr. */
int cli_http_call(const char *cmd, const char *admin, int64_t timeout_ms, const char *method,
                  const char *path, cli_http_reply *r);
void cli_http_reply_free(cli_http_reply *r);

#endif
