/* quota.c - `brook quota set|list|remove`; see quota.h and docs/security.md#quotas. */
#include "cli/quota.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli/args.h"
#include "cli/client.h"
#include "cli/topic_wire.h"
#include "cli/wire.h"
#include "proto/errors.h"

#define API_DESCRIBE_CLIENT_QUOTAS 48
#define API_ALTER_CLIENT_QUOTAS 49
#define QUOTA_API_VERSION 1 /* flexible */
#define MATCH_EXACT 0
#define MATCH_DEFAULT 1

static const char *const KEYS[2] = {"producer_byte_rate", "consumer_byte_rate"};

typedef struct quota_args {
    const char *cmd;
    const char *bootstrap;
    int64_t timeout_ms;
    bool json;
    const char *user, *client;
    bool default_user, default_client;
    int64_t rate[2];  /* set: -1 unless given */
    bool remove_key[2]; /* remove: the keys named (none: both) */
} quota_args;

void cli_quota_usage(FILE *out)
{
    fprintf(out,
            "usage: brook quota set ENTITY [--producer-byte-rate N] [--consumer-byte-rate N]\n"
            "       brook quota list [ENTITY]\n"
            "       brook quota remove ENTITY [--producer-byte-rate] [--consumer-byte-rate]\n"
            "  Client byte-rate quotas (docs/security.md#quotas), bytes per second per user\n"
            "  and/or client id. ENTITY: --user NAME or --default-user, and/or --client-id\n"
            "  NAME or --default-client-id. remove without a key removes both.\n"
            "  flags: --bootstrap HOST:PORT (default $BROOK_BOOTSTRAP, else %s), --timeout-ms,\n"
            "         --json\n",
            CLI_BOOTSTRAP_DEFAULT);
}

static double f64_of(int64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static int64_t bits_of(double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}


static int call(quota_args *a, int16_t api, wr *body, uint8_t **resp, rd *r)
{
    char err[512];
    int rc = cli_wire_request(cli_bootstrap(a->bootstrap), a->timeout_ms, api,
                              QUOTA_API_VERSION, true, body, resp, r, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", a->cmd, err);
    return rc;
}

static int entity_parts(const quota_args *a)
{
    return (a->user || a->default_user ? 1 : 0) + (a->client || a->default_client ? 1 : 0);
}

/* The entity's parts as EntityData: user first, then client-id (a NULL name: default). */
static void write_entity(wr *b, const quota_args *a)
{
    wr_array(b, entity_parts(a));
    if (a->user || a->default_user) {
        wr_cstr(b, "user");
        wr_cstr(b, a->default_user ? NULL : a->user);
        wr_tags(b);
    }
    if (a->client || a->default_client) {
        wr_cstr(b, "client-id");
        wr_cstr(b, a->default_client ? NULL : a->client);
        wr_tags(b);
    }
}

/* Sends one AlterClientQuotas entry with ops (set: rate >= 0, remove: remove_key) and
 * prints a refusal; 0 when accepted. */
static int send_alter(quota_args *a, bool remove)
{
    wr b;
    wr_init(&b, 256);
    b.flex = true;
    wr_array(&b, 1);
    write_entity(&b, a);
    int nops = 0;
    for (int k = 0; k < 2; k++)
        nops += remove ? a->remove_key[k] : a->rate[k] >= 0;
    wr_array(&b, nops);
    for (int k = 0; k < 2; k++) {
        if (remove ? !a->remove_key[k] : a->rate[k] < 0)
            continue;
        wr_cstr(&b, KEYS[k]);
        wr_i64(&b, bits_of(remove ? 0.0 : (double)a->rate[k]));
        wr_bool(&b, remove);
        wr_tags(&b);
    }
    wr_tags(&b); /* the entry */
    wr_bool(&b, false); /* validate_only */
    wr_tags(&b);
    uint8_t *resp = NULL;
    rd r;
    if (call(a, API_ALTER_CLIENT_QUOTAS, &b, &resp, &r) != 0)
        return 1;
    r.flex = true;
    rd_i32(&r); /* throttle */
    int32_t n = rd_array(&r, 3);
    int16_t ec = n == 1 ? rd_i16(&r) : KERR_UNKNOWN_SERVER_ERROR;
    char *msg = n == 1 ? cli_wire_dup_str(&r) : NULL;
    int rc = 0;
    if (r.err || n != 1) {
        fprintf(stderr, "%s: malformed AlterClientQuotas answer\n", a->cmd);
        rc = 1;
    } else if (ec != KERR_NONE) {
        fprintf(stderr, "%s: %s%s%s\n", a->cmd, kafka_error_name(ec), msg ? ": " : "",
                msg ? msg : "");
        rc = 1;
    }
    free(msg);
    free(resp);
    return rc;
}

/* A DescribeClientQuotas answer as a JSON array of {"user"?, "client-id"?, "quotas": {}}
 * (a default part: null); NULL after printing on an error or a malformed answer. */
static cJSON *describe_json(quota_args *a, rd *r)
{
    r->flex = true;
    rd_i32(r);
    int16_t ec = rd_i16(r);
    char *msg = cli_wire_dup_str(r);
    int32_t n = rd_array(r, 3);
    if (ec != KERR_NONE || r->err) {
        fprintf(stderr, "%s: %s%s%s\n", a->cmd,
                r->err ? "malformed DescribeClientQuotas answer" : kafka_error_name(ec),
                msg ? ": " : "", msg ? msg : "");
        free(msg);
        return NULL;
    }
    free(msg);
    cJSON *arr = cJSON_CreateArray();
    for (int32_t i = 0; i < n && !r->err && arr; i++) {
        cJSON *o = cJSON_CreateObject(), *q = cJSON_CreateObject();
        int32_t ne = rd_array(r, 3);
        for (int32_t j = 0; j < ne && !r->err; j++) {
            char *type = cli_wire_dup_str(r), *name = cli_wire_dup_str(r);
            rd_tags(r);
            if (name)
                cJSON_AddStringToObject(o, type ? type : "?", name);
            else
                cJSON_AddNullToObject(o, type ? type : "?");
            free(type);
            free(name);
        }
        int32_t nv = rd_array(r, 3);
        for (int32_t j = 0; j < nv && !r->err; j++) {
            char *key = cli_wire_dup_str(r);
            double v = f64_of(rd_i64(r));
            rd_tags(r);
            cJSON_AddNumberToObject(q, key ? key : "?", v);
            free(key);
        }
        rd_tags(r);
        cJSON_AddItemToObject(o, "quotas", q);
        cJSON_AddItemToArray(arr, o);
    }
    if (r->err || !arr) {
        fprintf(stderr, "%s: malformed DescribeClientQuotas answer\n", a->cmd);
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

static void write_component(wr *b, const char *type, bool dflt, const char *name)
{
    wr_cstr(b, type);
    wr_i8(b, dflt ? MATCH_DEFAULT : MATCH_EXACT);
    wr_cstr(b, dflt ? NULL : name);
    wr_tags(b);
}

/* The text form of one part: the name, <default>, or "" when the entity has none. */
static const char *part_text(const cJSON *o, const char *type)
{
    const cJSON *p = cJSON_GetObjectItem(o, type);
    if (!p)
        return "";
    return cJSON_IsString(p) ? p->valuestring : "<default>";
}

static int cmd_list(quota_args *a)
{
    wr b;
    wr_init(&b, 64);
    b.flex = true;
    wr_array(&b, entity_parts(a));
    if (a->user || a->default_user)
        write_component(&b, "user", a->default_user, a->user);
    if (a->client || a->default_client)
        write_component(&b, "client-id", a->default_client, a->client);
    wr_bool(&b, false); /* strict */
    wr_tags(&b);
    uint8_t *resp = NULL;
    rd r;
    if (call(a, API_DESCRIBE_CLIENT_QUOTAS, &b, &resp, &r) != 0)
        return 1;
    cJSON *arr = describe_json(a, &r);
    free(resp);
    if (!arr)
        return 1;
    if (a->json) {
        char *s = cJSON_PrintUnformatted(arr);
        printf("%s\n", s ? s : "[]");
        free(s);
    } else {
        printf("%-24s %-24s %-20s %s\n", "USER", "CLIENT-ID", "KEY", "BYTES/S");
        const cJSON *o, *v;
        cJSON_ArrayForEach(o, arr)
        {
            cJSON_ArrayForEach(v, cJSON_GetObjectItem(o, "quotas"))
                printf("%-24s %-24s %-20s %.0f\n", part_text(o, "user"),
                       part_text(o, "client-id"), v->string, v->valuedouble);
        }
    }
    cJSON_Delete(arr);
    return 0;
}

/* The entity as text for messages: "user alice, client-id <default>". */
static void entity_text(const quota_args *a, char *out, size_t cap)
{
    const char *u = a->default_user ? "<default>" : a->user;
    const char *c = a->default_client ? "<default>" : a->client;
    snprintf(out, cap, "%s%s%s%s%s", u ? "user " : "", u ? u : "", u && c ? ", " : "",
             c ? "client-id " : "", c ? c : "");
}

static int cmd_change(quota_args *a, bool remove)
{
    if (entity_parts(a) == 0) {
        fprintf(stderr, "%s: name the entity: --user/--default-user and/or "
                        "--client-id/--default-client-id\n", a->cmd);
        return 2;
    }
    if (!remove && a->rate[0] < 0 && a->rate[1] < 0) {
        fprintf(stderr, "%s: give --producer-byte-rate and/or --consumer-byte-rate\n", a->cmd);
        return 2;
    }
    if (remove && !a->remove_key[0] && !a->remove_key[1])
        a->remove_key[0] = a->remove_key[1] = true;
    int rc = send_alter(a, remove);
    if (rc != 0)
        return rc;
    char ent[600];
    entity_text(a, ent, sizeof(ent));
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "entity", ent);
        cJSON_AddBoolToObject(o, remove ? "removed" : "set", 1);
        char *s = cJSON_PrintUnformatted(o);
        printf("%s\n", s ? s : "{}");
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s: quota %s\n", ent, remove ? "removed" : "set");
    }
    return 0;
}

/* Both --user and --default-user (or the client-id pair) name one part twice. */
static bool entity_ok(const quota_args *a)
{
    if ((a->user && a->default_user) || (a->client && a->default_client)) {
        fprintf(stderr, "%s: a name and the default for the same part\n", a->cmd);
        return false;
    }
    return true;
}

int cli_quota_main(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    bool set = strcmp(sub, "set") == 0, remove = strcmp(sub, "remove") == 0;
    if (!set && !remove && strcmp(sub, "list") != 0)
        return tw_bad_subcommand("quota", argc, sub, cli_quota_usage);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook quota %s", sub);
    quota_args a = {.cmd = cmd, .timeout_ms = CLI_TIMEOUT_DEFAULT_MS, .rate = {-1, -1}};
    struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &a.bootstrap, 0, 0, NULL, NULL, "broker HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a.timeout_ms, 1, 3600000, NULL, NULL, "request timeout"},
        {"json", CLI_OPT_BOOL, &a.json, 0, 0, NULL, NULL, "print JSON"},
        {"user", CLI_OPT_STR, &a.user, 0, 0, NULL, NULL, "the user (principal name)"},
        {"client-id", CLI_OPT_STR, &a.client, 0, 0, NULL, NULL, "the client id"},
        {"default-user", CLI_OPT_BOOL, &a.default_user, 0, 0, NULL, NULL, "the default user"},
        {"default-client-id", CLI_OPT_BOOL, &a.default_client, 0, 0, NULL, NULL,
         "the default client id"},
        {"producer-byte-rate", CLI_OPT_I64, &a.rate[0], 0, INT64_MAX / 2, NULL, NULL,
         "bytes per second produced"},
        {"consumer-byte-rate", CLI_OPT_I64, &a.rate[1], 0, INT64_MAX / 2, NULL, NULL,
         "bytes per second fetched"},
    };
    size_t nopts = sizeof(opts) / sizeof(opts[0]);
    if (remove) { /* the key flags name keys to remove and take no value */
        opts[nopts - 2] = (struct cli_opt){"producer-byte-rate", CLI_OPT_BOOL, &a.remove_key[0],
                                           0, 0, NULL, NULL, "remove producer_byte_rate"};
        opts[nopts - 1] = (struct cli_opt){"consumer-byte-rate", CLI_OPT_BOOL, &a.remove_key[1],
                                           0, 0, NULL, NULL, "remove consumer_byte_rate"};
    } else if (!set) {
        nopts -= 2;
    }
    int prc = cli_args_parse(cmd, argc - 1, argv + 1, opts, nopts);
    if (prc == 1) {
        cli_quota_usage(stdout);
        return 0;
    }
    if (prc != 0 || !entity_ok(&a))
        return 2;
    return set || remove ? cmd_change(&a, remove) : cmd_list(&a);
}
