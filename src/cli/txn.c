/*
 * txn.c - `brook txn list|describe|abort`; see txn.h.
 *
 * list and describe speak the Kafka admin APIs (txn_kafka.c) to any broker of the cluster;
 * with --admin they read brookd's admin HTTP API instead (the JSON that scripts use). abort
 * has no Kafka API (Kafka's own tool writes markers behind the coordinator's back; Brook
 * asks the coordinator), so it always goes to the admin listener: the one given, or, found
 * through FindCoordinator and the admin addresses in GET /v1/cluster, the coordinator's.
 * A transactional id goes into a path percent-encoded, so any id can be named.
 */
#include "cli/txn.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/http_client.h"
#include "cli/sock.h"
#include "cli/txn_kafka.h"

/* Participants shown per row of `list` before "(+N more)". */
#define TXN_LIST_PARTS_SHOWN 4

typedef struct txn_args {
    const char *cmd;
    const char *admin;     /* --admin, NULL when not given */
    const char *bootstrap; /* --bootstrap, NULL when not given */
    int64_t timeout_ms;
    bool json;
    const char *state;   /* list --state */
    int64_t producer_id; /* list --producer-id, -1 any */
    int64_t min_age_ms;  /* list --min-age-ms, -1 any */
} txn_args;

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
static int report_error(const char *cmd, const char *what, const cli_http_reply *r)
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
static cJSON *parse_ok(const char *cmd, const cli_http_reply *r)
{
    cJSON *j = cJSON_Parse(r->body);
    if (!j)
        fprintf(stderr, "%s: the broker's reply is not JSON\n", cmd);
    return j;
}

/* ---------------- commands ---------------- */

/* Prints one transaction (the admin API's JSON object) for people. */
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
    char coord[32];
    fmt_int(t, "coordinator", coord, sizeof(coord));
    if (strcmp(coord, "-") != 0)
        printf("Coordinator:       node %s\n", coord);
    printf("Producer id:       %s\n", pid);
    printf("Producer epoch:    %s\n", epoch);
    printf("Timeout:           %s ms\n", timeout);
    printf("Started:           %s\n", started);
    printf("Age:               %s\n", age);
    if (strcmp(updated, "-") != 0)
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

/* Prints a list of transactions (the admin API's JSON array) as a table. */
static void print_list(const cJSON *j)
{
    if (cJSON_GetArraySize(j) == 0) {
        printf("no transactions\n");
        return;
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
}

/* Prints j as --json asks (compact, one line) or through print; deletes j. */
static int emit(const txn_args *a, cJSON *j, void (*print)(const cJSON *))
{
    if (a->json) {
        char *txt = cJSON_PrintUnformatted(j);
        if (txt)
            puts(txt);
        free(txt);
        cJSON_Delete(j);
        return txt ? 0 : 1;
    }
    print(j);
    cJSON_Delete(j);
    return 0;
}

/* Whether an admin API entry passes list's filters (the Kafka path filters at the broker). */
static bool passes(const txn_args *a, const cJSON *t)
{
    double v;
    if (a->state && strcmp(jstr(t, "state"), a->state) != 0)
        return false;
    if (a->producer_id >= 0 && (!jnum(t, "producer_id", &v) || (int64_t)v != a->producer_id))
        return false;
    /* KIP-994's DurationFilter: started more than N ms ago, whatever the state. */
    if (a->min_age_ms >= 0 && (!jnum(t, "start_ms", &v) || v <= 0 ||
                               cli_wall_ms() - (int64_t)v <= a->min_age_ms))
        return false;
    return true;
}

/* GET path from the admin listener into *out (parsed JSON). Returns 0 or 1 after printing. */
static int admin_get(const txn_args *a, const char *admin, const char *path, const char *what,
                     cJSON **out)
{
    cli_http_reply r;
    if (cli_http_call(a->cmd, admin, a->timeout_ms, "GET", path, &r) != 0)
        return 1;
    int rc = 1;
    if (r.status != 200)
        rc = report_error(a->cmd, what, &r);
    else if ((*out = parse_ok(a->cmd, &r)) != NULL)
        rc = 0;
    cli_http_reply_free(&r);
    return rc;
}

/* Opens the Kafka client for the Kafka paths. Returns 0 or 1 after printing. */
static int open_kafka(const txn_args *a, cli_client *cl)
{
    int rc = cli_client_open(cl, a->cmd, cli_bootstrap(a->bootstrap), a->timeout_ms,
                             RD_KAFKA_PRODUCER, NULL);
    cl->json = a->json;
    return rc;
}

static int cmd_list(const txn_args *a)
{
    cJSON *j = NULL;
    if (a->admin) {
        if (admin_get(a, a->admin, "/v1/transactions", "listing transactions", &j) != 0)
            return 1;
        if (!cJSON_IsArray(j)) {
            fprintf(stderr, "%s: the broker's reply is not a JSON array\n", a->cmd);
            cJSON_Delete(j);
            return 1;
        }
        for (int i = cJSON_GetArraySize(j) - 1; i >= 0; i--)
            if (!passes(a, cJSON_GetArrayItem(j, i)))
                cJSON_DeleteItemFromArray(j, i);
        return emit(a, j, print_list);
    }
    cli_client cl;
    txn_filters f = {.state = a->state, .producer_id = a->producer_id,
                     .min_age_ms = a->min_age_ms};
    int rc = open_kafka(a, &cl);
    if (rc == 0)
        rc = cli_txn_kafka_list(&cl, &f, &j);
    cli_client_close(&cl);
    return rc == 0 ? emit(a, j, print_list) : rc;
}

static int cmd_describe(const txn_args *a, const char *id)
{
    cJSON *j = NULL;
    if (a->admin) {
        char *path = txn_path(id, "");
        if (!path) {
            fprintf(stderr, "%s: out of memory\n", a->cmd);
            return 1;
        }
        int rc = admin_get(a, a->admin, path, id, &j);
        free(path);
        return rc == 0 ? emit(a, j, print_txn) : rc;
    }
    cli_client cl;
    int32_t coord = -1;
    int rc = open_kafka(a, &cl);
    if (rc == 0)
        rc = cli_txn_kafka_describe(&cl, id, &j, &coord);
    cli_client_close(&cl);
    return rc == 0 ? emit(a, j, print_txn) : rc;
}

/* The admin address of node `id` from GET /v1/cluster at admin ({"nodes":[{"id","admin"}]}),
 * into out. Returns 0, or -1 when the listing has no admin address for it. */
static int node_admin(const txn_args *a, const char *admin, int32_t id, char *out, size_t cap)
{
    cJSON *j = NULL;
    if (admin_get(a, admin, "/v1/cluster", "reading the cluster's nodes", &j) != 0)
        return -1;
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes"), *n;
    int rc = -1;
    cJSON_ArrayForEach(n, nodes)
    {
        double nid;
        const char *ad = jstr(n, "admin");
        if (jnum(n, "id", &nid) && (int32_t)nid == id && strcmp(ad, "-") != 0) {
            snprintf(out, cap, "%s", ad);
            rc = 0;
        }
    }
    cJSON_Delete(j);
    if (rc != 0)
        fprintf(stderr, "%s: node %d has no admin listener in /v1/cluster\n", a->cmd, (int)id);
    return rc;
}

/* The admin listener to send an abort to: --admin when given; otherwise the coordinator's,
 * found with FindCoordinator and the node list of the default admin listener. */
static int abort_target(const txn_args *a, const char *id, char *out, size_t cap)
{
    if (a->admin) {
        snprintf(out, cap, "%s", a->admin);
        return 0;
    }
    cli_client cl;
    cJSON *j = NULL;
    int32_t coord = -1;
    int rc = open_kafka(a, &cl);
    if (rc == 0)
        rc = cli_txn_kafka_describe(&cl, id, &j, &coord);
    cli_client_close(&cl);
    cJSON_Delete(j);
    if (rc != 0)
        return -1;
    return node_admin(a, cli_admin_address(NULL), coord, out, cap);
}

static void print_abort(const cJSON *j)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "transaction");
    char pid[32], epoch[16];
    bool pending = cJSON_GetObjectItemCaseSensitive(t, "next_state") != NULL;
    fmt_int(t, "producer_id", pid, sizeof(pid));
    fmt_int(t, pending ? "next_producer_epoch" : "producer_epoch", epoch, sizeof(epoch));
    const char *id = jstr(t, "transactional_id");
    if (t)
        printf("abort of %s started: %s, then CompleteAbort once the markers are written; "
               "producer id %s fenced (epoch %s)\n",
               id, jstr(t, pending ? "next_state" : "state"), pid, epoch);
    else
        printf("abort started\n");
}

static int cmd_abort(const txn_args *a, const char *id)
{
    char admin[320];
    if (abort_target(a, id, admin, sizeof(admin)) != 0)
        return 1;
    char *path = txn_path(id, "/abort");
    if (!path) {
        fprintf(stderr, "%s: out of memory\n", a->cmd);
        return 1;
    }
    cli_http_reply r;
    int rc = cli_http_call(a->cmd, admin, a->timeout_ms, "POST", path, &r) == 0 ? 0 : 1;
    free(path);
    if (rc != 0)
        return rc;
    cJSON *j = NULL;
    if (r.status != 200) {
        char what[300];
        snprintf(what, sizeof(what), "cannot abort %s", id);
        rc = report_error(a->cmd, what, &r);
    } else if ((j = parse_ok(a->cmd, &r)) != NULL) {
        rc = emit(a, j, print_abort);
    } else {
        rc = 1;
    }
    cli_http_reply_free(&r);
    return rc;
}

/* ---------------- arguments ---------------- */

void cli_txn_usage(FILE *out)
{
    fprintf(out,
            "brook txn list [flags]          every transaction of the cluster: state, producer, "
            "age\n"
            "brook txn describe ID [flags]   one transaction with its participants\n"
            "brook txn abort ID [flags]      abort an Ongoing transaction (fences its producer)\n"
            "  flags:\n"
            "    --bootstrap HOST:PORT      any broker (default $BROOK_BOOTSTRAP, else "
            "127.0.0.1:9092):\n"
            "                               list and describe use the Kafka admin APIs "
            "(ListTransactions,\n"
            "                               DescribeTransactions), abort finds the coordinator\n"
            "    --admin HOST:PORT          use this admin listener's HTTP API instead (abort "
            "needs one:\n"
            "                               default: the coordinator's, listed by "
            "$BROOK_ADMIN or 127.0.0.1:9644)\n"
            "    --timeout-ms N             give up on each request after N ms (default 10000)\n"
            "    --json                     print JSON instead of a table\n"
            "  list filters: --state STATE  --producer-id N  --min-age-ms N (started more than "
            "N ms ago,\n"
            "                KIP-994's duration filter)\n");
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
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook txn %s", sub);
    txn_args a = {.cmd = cmd, .timeout_ms = CLI_TIMEOUT_DEFAULT_MS, .producer_id = -1,
                  .min_age_ms = -1};
    static const char *const states[] = {"Empty", "Ongoing", "PrepareCommit", "PrepareAbort",
                                         "CompleteCommit", "CompleteAbort", "Dead",
                                         "PrepareEpochFence", NULL};
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &a.bootstrap, 0, 0, NULL, NULL, "broker HOST:PORT"},
        {"admin", CLI_OPT_STR, &a.admin, 0, 0, NULL, NULL, "brookd's admin HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a.timeout_ms, 1, 3600000, NULL, NULL, "request timeout"},
        {"json", CLI_OPT_BOOL, &a.json, 0, 0, NULL, NULL, "print JSON"},
        {"state", CLI_OPT_ENUM, &a.state, 0, 0, states, NULL, "only this state"},
        {"producer-id", CLI_OPT_I64, &a.producer_id, 0, INT64_MAX, NULL, NULL, "producer id"},
        {"min-age-ms", CLI_OPT_I64, &a.min_age_ms, 0, INT64_MAX, NULL, NULL, "started before"},
    };
    int npos = 0;
    const char *id = NULL;
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
