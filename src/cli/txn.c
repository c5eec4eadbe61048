/*
 * txn.c - `brook txn list|describe|abort` over brookd's admin HTTP API; see txn.h.
 *
 * The client sends one request per connection ("Connection: close") and reads the reply
 * to EOF, bounded by --timeout-ms overall and by TXN_REPLY_MAX bytes. A transactional id
 * goes into the path percent-encoded, so any id (spaces, slashes) can be named.
 */
#include "cli/txn.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"

/* The broker caps an admin response at 64 MiB (BROOK_HTTP_RESPONSE_MAX); so do we. */
#define TXN_REPLY_MAX (64u * 1024 * 1024)
#define TXN_HOST_MAX 256
#define TXN_PORT_MAX 16
/* Participants shown per row of `list` before "(+N more)". */
#define TXN_LIST_PARTS_SHOWN 4

typedef struct txn_args {
    const char *admin;
    int64_t timeout_ms;
    bool json;
} txn_args;

typedef struct http_reply {
    int status;
    char *raw; /* the whole response, NUL-terminated */
    size_t raw_len;
    char *body; /* points into raw, NUL-terminated */
    size_t body_len;
} http_reply;

/* ---------------- HTTP client ---------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "HOST:PORT", optionally "http://HOST:PORT/". Returns 0 or -1. */
static int split_admin(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
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
    size_t hn = (size_t)(colon - s), pn = n - hn - 1;
    if (hn >= hostlen || pn == 0 || pn >= portlen)
        return -1;
    for (size_t i = 0; i < pn; i++)
        if (colon[1 + i] < '0' || colon[1 + i] > '9')
            return -1;
    memcpy(host, s, hn);
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
        int64_t left = deadline - now_ms();
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

static int connect_to(const char *host, const char *port, int64_t deadline, char *err,
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
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
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
            last = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s:%s: %s (is brookd running with "
                 "admin.listeners there?)", host, port, strerror(last));
    return fd;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Reads to EOF into a growing buffer (NUL-terminated). Returns 0 or -1 with errno. */
static int recv_all(int fd, char **out, size_t *len_out, int64_t deadline)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= TXN_REPLY_MAX) {
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

/* Splits a raw response into status and body. Returns 0 or -1 (not HTTP). */
static int parse_reply(http_reply *r)
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

/* One request. Returns 0 with *r filled (free r->raw), or -1 after printing why. */
static int http_call(const char *cmd, const txn_args *a, const char *method, const char *path,
                     http_reply *r)
{
    memset(r, 0, sizeof(*r));
    char host[TXN_HOST_MAX], port[TXN_PORT_MAX], err[512];
    if (split_admin(a->admin, host, sizeof(host), port, sizeof(port)) != 0) {
        fprintf(stderr, "%s: --admin: '%s' is not HOST:PORT\n", cmd, a->admin);
        return -1;
    }
    int64_t deadline = now_ms() + a->timeout_ms;
    int fd = connect_to(host, port, deadline, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", cmd, err);
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
    } else if (send_all(fd, req, (size_t)n, deadline) != 0) {
        fprintf(stderr, "%s: sending to %s:%s: %s\n", cmd, host, port, strerror(errno));
    } else if (recv_all(fd, &r->raw, &r->raw_len, deadline) != 0) {
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

/* "/v1/transactions/<id percent-encoded><suffix>"; NULL when out of memory. */
static char *txn_path(const char *id, const char *suffix)
{
    static const char prefix[] = "/v1/transactions/";
    size_t n = strlen(id), cap = sizeof(prefix) + 3 * n + strlen(suffix) + 1;
    char *p = malloc(cap);
    if (!p)
        return NULL;
    size_t o = sizeof(prefix) - 1;
    memcpy(p, prefix, o);
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        if (keep) {
            p[o++] = (char)c;
        } else {
            p[o++] = '%';
            p[o++] = hex[c >> 4];
            p[o++] = hex[c & 15];
        }
    }
    size_t sn = strlen(suffix);
    memcpy(p + o, suffix, sn + 1);
    return p;
}

/* ---------------- JSON helpers ---------------- */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "-";
}

static bool jnum(const cJSON *o, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        return false;
    *out = v->valuedouble;
    return true;
}

static void fmt_int(const cJSON *o, const char *k, char *out, size_t cap)
{
    double v;
    if (jnum(o, k, &v))
        snprintf(out, cap, "%lld", (long long)v);
    else
        snprintf(out, cap, "-");
}

/* A duration for humans: 850ms, 12.3s, 5m03s, 2h05m. */
static void fmt_duration(const cJSON *o, const char *k, char *out, size_t cap)
{
    double ms;
    if (!jnum(o, k, &ms)) {
        snprintf(out, cap, "-");
        return;
    }
    long long v = (long long)ms;
    if (v < 1000)
        snprintf(out, cap, "%lldms", v);
    else if (v < 60000)
        snprintf(out, cap, "%.1fs", (double)v / 1000.0);
    else if (v < 3600000)
        snprintf(out, cap, "%lldm%02llds", v / 60000, v / 1000 % 60);
    else
        snprintf(out, cap, "%lldh%02lldm", v / 3600000, v / 60000 % 60);
}

static void fmt_time(const cJSON *o, const char *k, char *out, size_t cap)
{
    double ms;
    if (!jnum(o, k, &ms) || ms <= 0) {
        snprintf(out, cap, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];
    if (!gmtime_r(&t, &tm) || strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, cap, "-");
        return;
    }
    snprintf(out, cap, "%s.%03dZ", day, (int)((long long)ms % 1000));
}

/* One participant as "topic-partition" or "group:name". */
static void fmt_participant(const cJSON *p, char *out, size_t cap)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(p, "group");
    double part;
    if (cJSON_IsString(g) && g->valuestring)
        snprintf(out, cap, "group:%s", g->valuestring);
    else if (jnum(p, "partition", &part))
        snprintf(out, cap, "%s-%lld", jstr(p, "topic"), (long long)part);
    else
        snprintf(out, cap, "%s", jstr(p, "topic"));
}

/* The participants of a `list` row, shortened after TXN_LIST_PARTS_SHOWN. */
static void fmt_participants(const cJSON *o, char *out, size_t cap)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "participants");
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    size_t used = 0;
    out[0] = '\0';
    if (n == 0) {
        snprintf(out, cap, "-");
        return;
    }
    int i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        if (i == TXN_LIST_PARTS_SHOWN)
            break;
        char one[300];
        fmt_participant(p, one, sizeof(one));
        int w = snprintf(out + used, cap - used, "%s%s", i ? "," : "", one);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
        i++;
    }
    if (i < n && used < cap)
        snprintf(out + used, cap - used, " (+%d more)", n - i);
}

/* Prints an error reply ({"error": NAME, "message": ...}) and returns 1. */
static int report_error(const char *cmd, const char *what, const http_reply *r)
{
    cJSON *j = cJSON_Parse(r->body);
    const char *name = j ? jstr(j, "error") : "-";
    const char *msg = j ? jstr(j, "message") : "-";
    if (r->status == 404 && strcmp(name, "TRANSACTIONAL_ID_NOT_FOUND") == 0)
        fprintf(stderr, "%s: %s: no such transactional id\n", cmd, what);
    else if (j)
        fprintf(stderr, "%s: %s: %s (%s; HTTP %d)\n", cmd, what, name, msg, r->status);
    else
        fprintf(stderr, "%s: %s: HTTP %d\n", cmd, what, r->status);
    cJSON_Delete(j);
    return 1;
}

/* Parses a 200 reply's JSON, or prints why not. */
static cJSON *parse_ok(const char *cmd, const http_reply *r)
{
    cJSON *j = cJSON_Parse(r->body);
    if (!j)
        fprintf(stderr, "%s: the broker's reply is not JSON\n", cmd);
    return j;
}

/* ---------------- commands ---------------- */

static int cmd_list(const txn_args *a)
{
    const char *cmd = "brook txn list";
    http_reply r;
    if (http_call(cmd, a, "GET", "/v1/transactions", &r) != 0)
        return 1;
    int rc = 1;
    cJSON *j = NULL;
    if (r.status != 200) {
        rc = report_error(cmd, "listing transactions", &r);
        goto free_reply;
    }
    if (a->json) {
        fputs(r.body, stdout);
        rc = 0;
        goto free_reply;
    }
    if (!(j = parse_ok(cmd, &r)))
        goto free_reply;
    if (!cJSON_IsArray(j)) {
        fprintf(stderr, "%s: the broker's reply is not a JSON array\n", cmd);
        goto free_json;
    }
    if (cJSON_GetArraySize(j) == 0) {
        printf("no transactions\n");
        rc = 0;
        goto free_json;
    }
    int idw = (int)strlen("TRANSACTIONAL ID");
    const cJSON *t;
    cJSON_ArrayForEach(t, j)
    {
        int n = (int)strlen(jstr(t, "transactional_id"));
        idw = n > idw ? (n > 48 ? 48 : n) : idw;
    }
    printf("%-*s  %-17s  %-11s  %-5s  %-8s  %-8s  %s\n", idw, "TRANSACTIONAL ID", "STATE",
           "PRODUCER ID", "EPOCH", "AGE", "TIMEOUT", "PARTICIPANTS");
    cJSON_ArrayForEach(t, j)
    {
        char pid[32], epoch[16], age[32], timeout[32], parts[1024];
        fmt_int(t, "producer_id", pid, sizeof(pid));
        fmt_int(t, "producer_epoch", epoch, sizeof(epoch));
        fmt_duration(t, "age_ms", age, sizeof(age));
        fmt_duration(t, "timeout_ms", timeout, sizeof(timeout));
        fmt_participants(t, parts, sizeof(parts));
        printf("%-*s  %-17s  %-11s  %-5s  %-8s  %-8s  %s\n", idw, jstr(t, "transactional_id"),
               jstr(t, "state"), pid, epoch, age, timeout, parts);
    }
    rc = 0;
free_json:
    cJSON_Delete(j);
free_reply:
    free(r.raw);
    return rc;
}

static void print_txn(const cJSON *t)
{
    char pid[32], epoch[16], age[32], timeout[32], started[64], updated[64];
    fmt_int(t, "producer_id", pid, sizeof(pid));
    fmt_int(t, "producer_epoch", epoch, sizeof(epoch));
    fmt_duration(t, "age_ms", age, sizeof(age));
    fmt_int(t, "timeout_ms", timeout, sizeof(timeout));
    fmt_time(t, "start_ms", started, sizeof(started));
    fmt_time(t, "last_update_ms", updated, sizeof(updated));
    printf("Transactional id:  %s\n", jstr(t, "transactional_id"));
    printf("State:             %s\n", jstr(t, "state"));
    if (cJSON_GetObjectItemCaseSensitive(t, "next_state"))
        printf("Next state:        %s (being logged)\n", jstr(t, "next_state"));
    else if (strcmp(jstr(t, "phase"), "Idle") != 0 && strcmp(jstr(t, "phase"), "-") != 0)
        printf("In flight:         %s\n", jstr(t, "phase"));
    printf("Producer id:       %s\n", pid);
    printf("Producer epoch:    %s\n", epoch);
    printf("Timeout:           %s ms\n", timeout);
    printf("Started:           %s\n", started);
    printf("Age:               %s\n", age);
    printf("Last update:       %s\n", updated);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(t, "participants");
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    printf("Participants:      %d\n", n);
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        char one[300];
        fmt_participant(p, one, sizeof(one));
        printf("  %s\n", one);
    }
}

static int cmd_describe(const txn_args *a, const char *id)
{
    const char *cmd = "brook txn describe";
    char *path = txn_path(id, "");
    if (!path) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 1;
    }
    http_reply r;
    int rc = http_call(cmd, a, "GET", path, &r) == 0 ? 0 : 1;
    free(path);
    if (rc != 0)
        return rc;
    if (r.status != 200) {
        rc = report_error(cmd, id, &r);
    } else if (a->json) {
        fputs(r.body, stdout);
    } else {
        cJSON *j = parse_ok(cmd, &r);
        if (j)
            print_txn(j);
        rc = j ? 0 : 1;
        cJSON_Delete(j);
    }
    free(r.raw);
    return rc;
}

static int cmd_abort(const txn_args *a, const char *id)
{
    const char *cmd = "brook txn abort";
    char *path = txn_path(id, "/abort");
    if (!path) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 1;
    }
    http_reply r;
    int rc = http_call(cmd, a, "POST", path, &r) == 0 ? 0 : 1;
    free(path);
    if (rc != 0)
        return rc;
    if (r.status != 200) {
        char what[300];
        snprintf(what, sizeof(what), "cannot abort %s", id);
        rc = report_error(cmd, what, &r);
    } else if (a->json) {
        fputs(r.body, stdout);
    } else {
        cJSON *j = parse_ok(cmd, &r);
        const cJSON *t = j ? cJSON_GetObjectItemCaseSensitive(j, "transaction") : NULL;
        char pid[32], epoch[16];
        bool pending = cJSON_GetObjectItemCaseSensitive(t, "next_state") != NULL;
        fmt_int(t, "producer_id", pid, sizeof(pid));
        fmt_int(t, pending ? "next_producer_epoch" : "producer_epoch", epoch, sizeof(epoch));
        if (t)
            printf("abort of %s started: %s, then CompleteAbort once the markers are written; "
                   "producer id %s fenced (epoch %s)\n",
                   id, jstr(t, pending ? "next_state" : "state"), pid, epoch);
        else if (j)
            printf("abort of %s started\n", id);
        rc = j ? 0 : 1;
        cJSON_Delete(j);
    }
    free(r.raw);
    return rc;
}

/* ---------------- arguments ---------------- */

void cli_txn_usage(FILE *out)
{
    fprintf(out,
            "brook txn list [flags]          every transactional id: state, producer, age\n"
            "brook txn describe ID [flags]   one transaction with its participants\n"
            "brook txn abort ID [flags]      abort an Ongoing transaction (fences its producer)\n"
            "  flags:\n"
            "    --admin HOST:PORT          brookd's admin listener (default 127.0.0.1:9644)\n"
            "    --timeout-ms N             give up after N ms (default 10000)\n"
            "    --json                     print the broker's JSON instead of a table\n");
}

int cli_txn_main(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "brook txn: missing subcommand (list, describe or abort)\n\n");
        cli_txn_usage(stderr);
        return 2;
    }
    const char *sub = argv[0];
    bool wants_id = strcmp(sub, "describe") == 0 || strcmp(sub, "abort") == 0;
    if (!wants_id && strcmp(sub, "list") != 0) {
        if (strcmp(sub, "help") != 0 && strcmp(sub, "--help") != 0 && strcmp(sub, "-h") != 0) {
            fprintf(stderr, "brook txn: unknown subcommand '%s'\n\n", sub);
            cli_txn_usage(stderr);
            return 2;
        }
        cli_txn_usage(stdout);
        return 0;
    }
    txn_args a = {.admin = "127.0.0.1:9644", .timeout_ms = 10000, .json = false};
    const struct cli_opt opts[] = {
        {"admin", CLI_OPT_STR, &a.admin, 0, 0, NULL, NULL, "brookd's admin HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a.timeout_ms, 1, 3600000, NULL, NULL, "overall timeout"},
        {"json", CLI_OPT_BOOL, &a.json, 0, 0, NULL, NULL, "print JSON"},
    };
    int npos = 0;
    const char *id = NULL;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook txn %s", sub);
    /* The id is the one positional argument (after "--" it may start with dashes). */
    int prc = cli_args_parse_pos(cmd, argc - 1, argv + 1, opts, sizeof(opts) / sizeof(opts[0]),
                                 &id, &npos);
    if (prc == 1) {
        cli_txn_usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    if (wants_id && npos != 1) {
        fprintf(stderr, "%s: expected one transactional id, got %d\n", cmd, npos);
        return 2;
    }
    if (!wants_id && npos != 0) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, id);
        return 2;
    }
    if (wants_id && id[0] == '\0') {
        fprintf(stderr, "%s: the transactional id is empty\n", cmd);
        return 2;
    }
    if (strcmp(sub, "list") == 0)
        return cmd_list(&a);
    if (strcmp(sub, "describe") == 0)
        return cmd_describe(&a, id);
    return cmd_abort(&a, id);
}
