/* acl.c - `brook acl add|list|remove`; see acl.h and docs/security.md. */
#include "cli/acl.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/kafka.h"

/* librdkafka names transactional ids as an ACL resource from 2.6 on (Debian 12 has 2.0). */
#if RD_KAFKA_VERSION >= 0x02060000
#define CLI_RESOURCE_TXN_ID RD_KAFKA_RESOURCE_TRANSACTIONAL_ID
#else
#define CLI_RESOURCE_TXN_ID RD_KAFKA_RESOURCE_UNKNOWN
#endif

typedef struct acl_args {
    const char *cmd;
    const char *bootstrap;
    int64_t timeout_ms;
    bool json, deny, cluster, all;
    const char *principal, *host, *operation, *pattern;
    const char *topic, *group, *txn_id;
    struct cli_list props;
} acl_args;

static const char *const PATTERNS[] = {"literal", "prefixed", "any", "match", NULL};

void cli_acl_usage(FILE *out)
{
    fprintf(out,
            "usage: brook acl add --principal User:NAME --operation OP RESOURCE [--deny]\n"
            "                     [--host IP] [--pattern literal|prefixed]\n"
            "       brook acl list [RESOURCE] [--principal P] [--operation OP] [--pattern P]\n"
            "       brook acl remove (RESOURCE | --principal P | --all) [--operation OP]\n"
            "                        [--deny] [--host IP] [--pattern P]\n"
            "  Kafka's ACLs (docs/security.md); the broker needs authorizer.class.name.\n"
            "  RESOURCE: --topic NAME, --group NAME, --transactional-id NAME or --cluster.\n"
            "  OP: ALL, READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION,\n"
            "      DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.\n"
            "  flags: --bootstrap HOST:PORT (default $BROOK_BOOTSTRAP, else %s), --timeout-ms,\n"
            "         --json, --client-prop KEY=VALUE (librdkafka settings, repeatable: e.g.\n"
            "         security.protocol=SASL_PLAINTEXT sasl.mechanism=SCRAM-SHA-512\n"
            "         sasl.username=admin sasl.password=...)\n",
            CLI_BOOTSTRAP_DEFAULT);
}

static const struct {
    const char *name;
    rd_kafka_AclOperation_t op;
} OPS[] = {
    {"ALL", RD_KAFKA_ACL_OPERATION_ALL},
    {"READ", RD_KAFKA_ACL_OPERATION_READ},
    {"WRITE", RD_KAFKA_ACL_OPERATION_WRITE},
    {"CREATE", RD_KAFKA_ACL_OPERATION_CREATE},
    {"DELETE", RD_KAFKA_ACL_OPERATION_DELETE},
    {"ALTER", RD_KAFKA_ACL_OPERATION_ALTER},
    {"DESCRIBE", RD_KAFKA_ACL_OPERATION_DESCRIBE},
    {"CLUSTER_ACTION", RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION},
    {"DESCRIBE_CONFIGS", RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS},
    {"ALTER_CONFIGS", RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS},
    {"IDEMPOTENT_WRITE", RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE},
};

/* --operation's value (any case, '-' for '_'); ANY when not given. -1 when unknown. */
static int op_of(const char *s, rd_kafka_AclOperation_t *out)
{
    if (!s) {
        *out = RD_KAFKA_ACL_OPERATION_ANY;
        return 0;
    }
    char norm[32];
    size_t n = strlen(s);
    if (n >= sizeof(norm))
        return -1;
    for (size_t i = 0; i <= n; i++)
        norm[i] = s[i] == '-' ? '_' : s[i];
    for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
        if (strcasecmp(OPS[i].name, norm) == 0) {
            *out = OPS[i].op;
            return 0;
        }
    return -1;
}

/* The resource the flags name: type and name (ANY and NULL when none). -1 if several. */
static int resource_of(const acl_args *a, rd_kafka_ResourceType_t *type, const char **name)
{
    int n = (a->topic != NULL) + (a->group != NULL) + (a->txn_id != NULL) + a->cluster;
    *type = RD_KAFKA_RESOURCE_ANY;
    *name = NULL;
    if (a->topic)
        *type = RD_KAFKA_RESOURCE_TOPIC, *name = a->topic;
    else if (a->group)
        *type = RD_KAFKA_RESOURCE_GROUP, *name = a->group;
    else if (a->txn_id)
        *type = CLI_RESOURCE_TXN_ID, *name = a->txn_id;
    else if (a->cluster)
        *type = RD_KAFKA_RESOURCE_BROKER, *name = "kafka-cluster"; /* librdkafka's CLUSTER */
    return n > 1 ? -1 : 0;
}

static rd_kafka_ResourcePatternType_t pattern_of(const char *p, bool filter)
{
    if (!p)
        return filter ? RD_KAFKA_RESOURCE_PATTERN_ANY : RD_KAFKA_RESOURCE_PATTERN_LITERAL;
    if (strcmp(p, "prefixed") == 0)
        return RD_KAFKA_RESOURCE_PATTERN_PREFIXED;
    if (strcmp(p, "any") == 0)
        return RD_KAFKA_RESOURCE_PATTERN_ANY;
    if (strcmp(p, "match") == 0)
        return RD_KAFKA_RESOURCE_PATTERN_MATCH;
    return RD_KAFKA_RESOURCE_PATTERN_LITERAL;
}

/* One binding (or filter) as a JSON object. */
static cJSON *binding_json(const rd_kafka_AclBinding_t *b)
{
    cJSON *o = cJSON_CreateObject();
    /* Kafka's names (librdkafka says BROKER for CLUSTER, and before 2.6 UNKNOWN for 5) */
    static const char *const types[] = {"UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER",
                                        "TRANSACTIONAL_ID"};
    int rt = (int)rd_kafka_AclBinding_restype(b);
    cJSON_AddStringToObject(o, "resource_type", rt >= 0 && rt <= 5 ? types[rt] : "UNKNOWN");
    cJSON_AddStringToObject(o, "name", rd_kafka_AclBinding_name(b));
    cJSON_AddStringToObject(o, "pattern", rd_kafka_ResourcePatternType_name(
                                              rd_kafka_AclBinding_resource_pattern_type(b)));
    cJSON_AddStringToObject(o, "principal", rd_kafka_AclBinding_principal(b));
    cJSON_AddStringToObject(o, "host", rd_kafka_AclBinding_host(b));
    cJSON_AddStringToObject(o, "operation",
                            rd_kafka_AclOperation_name(rd_kafka_AclBinding_operation(b)));
    cJSON_AddStringToObject(o, "permission", rd_kafka_AclPermissionType_name(
                                                 rd_kafka_AclBinding_permission_type(b)));
    return o;
}

/* Prints bindings as a table or (--json) one JSON array. */
static void print_bindings(const acl_args *a, const rd_kafka_AclBinding_t **v, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, binding_json(v[i]));
    if (a->json) {
        char *s = cJSON_PrintUnformatted(arr);
        printf("%s\n", s ? s : "[]");
        free(s);
    } else {
        printf("%-16s %-28s %-8s %-20s %-10s %-16s %s\n", "RESOURCE", "NAME", "PATTERN",
               "PRINCIPAL", "HOST", "OPERATION", "PERMISSION");
        cJSON *o;
        cJSON_ArrayForEach(o, arr)
        {
#define F(k) cJSON_GetObjectItem(o, k)->valuestring
            printf("%-16s %-28s %-8s %-20s %-10s %-16s %s\n", F("resource_type"), F("name"),
                   F("pattern"), F("principal"), F("host"), F("operation"), F("permission"));
#undef F
        }
    }
    cJSON_Delete(arr);
}

static int cmd_add(cli_client *cl, const acl_args *a, rd_kafka_ResourceType_t rt,
                   const char *name, rd_kafka_AclOperation_t op)
{
    char err[512];
    rd_kafka_AclBinding_t *b = rd_kafka_AclBinding_new(
        rt, name, pattern_of(a->pattern, false), a->principal, a->host ? a->host : "*", op,
        a->deny ? RD_KAFKA_ACL_PERMISSION_TYPE_DENY : RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, err,
        sizeof(err));
    if (!b) {
        fprintf(stderr, "%s: %s\n", cl->cmd, err);
        return 2;
    }
    rd_kafka_AdminOptions_t *o = cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_CREATEACLS);
    if (!o) {
        rd_kafka_AclBinding_destroy(b);
        return 1;
    }
    rd_kafka_CreateAcls(cl->rk, &b, 1, o, cl->q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "CreateAcls", NULL, 0);
    int rc = 1;
    const rd_kafka_CreateAcls_result_t *res = ev ? rd_kafka_event_CreateAcls_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_acl_result_t **r = res ? rd_kafka_CreateAcls_result_acls(res, &n) : NULL;
    const rd_kafka_error_t *e = r && n == 1 ? rd_kafka_acl_result_error(r[0]) : NULL;
    if (ev && (!r || n != 1)) {
        fprintf(stderr, "%s: unexpected answer to CreateAcls\n", cl->cmd);
    } else if (e) {
        fprintf(stderr, "%s: %s: %s\n", cl->cmd, rd_kafka_error_name(e),
                rd_kafka_error_string(e));
    } else if (ev) {
        const rd_kafka_AclBinding_t *one = b;
        if (!a->json)
            printf("added:\n");
        print_bindings(a, &one, 1);
        rc = 0;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AclBinding_destroy(b);
    return rc;
}

static rd_kafka_AclBindingFilter_t *filter_of(cli_client *cl, const acl_args *a,
                                              rd_kafka_ResourceType_t rt, const char *name,
                                              rd_kafka_AclOperation_t op, bool perm_given)
{
    char err[512];
    rd_kafka_AclBindingFilter_t *f = rd_kafka_AclBindingFilter_new(
        rt, name, pattern_of(a->pattern, true), a->principal, a->host, op,
        !perm_given ? RD_KAFKA_ACL_PERMISSION_TYPE_ANY
        : a->deny   ? RD_KAFKA_ACL_PERMISSION_TYPE_DENY
                    : RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
        err, sizeof(err));
    if (!f)
        fprintf(stderr, "%s: %s\n", cl->cmd, err);
    return f;
}

static int cmd_list(cli_client *cl, const acl_args *a, rd_kafka_AclBindingFilter_t *f)
{
    rd_kafka_AdminOptions_t *o = cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
    if (!o)
        return 1;
    rd_kafka_DescribeAcls(cl->rk, f, o, cl->q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "DescribeAcls", NULL, 0);
    if (!ev)
        return 1;
    const rd_kafka_DescribeAcls_result_t *res = rd_kafka_event_DescribeAcls_result(ev);
    size_t n = 0;
    const rd_kafka_AclBinding_t **v = res ? rd_kafka_DescribeAcls_result_acls(res, &n) : NULL;
    print_bindings(a, v, v ? n : 0);
    rd_kafka_event_destroy(ev);
    return 0;
}

static int cmd_remove(cli_client *cl, const acl_args *a, rd_kafka_AclBindingFilter_t *f)
{
    rd_kafka_AdminOptions_t *o = cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_DELETEACLS);
    if (!o)
        return 1;
    rd_kafka_DeleteAcls(cl->rk, &f, 1, o, cl->q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "DeleteAcls", NULL, 0);
    if (!ev)
        return 1;
    int rc = 1;
    const rd_kafka_DeleteAcls_result_t *res = rd_kafka_event_DeleteAcls_result(ev);
    size_t n = 0;
    const rd_kafka_DeleteAcls_result_response_t **r =
        res ? rd_kafka_DeleteAcls_result_responses(res, &n) : NULL;
    const rd_kafka_error_t *e = r && n == 1 ? rd_kafka_DeleteAcls_result_response_error(r[0])
                                            : NULL;
    if (!r || n != 1) {
        fprintf(stderr, "%s: unexpected answer to DeleteAcls\n", cl->cmd);
    } else if (e) {
        fprintf(stderr, "%s: %s: %s\n", cl->cmd, rd_kafka_error_name(e),
                rd_kafka_error_string(e));
    } else {
        size_t m = 0;
        const rd_kafka_AclBinding_t **v =
            rd_kafka_DeleteAcls_result_response_matching_acls(r[0], &m);
        if (!a->json)
            printf("removed %zu:\n", m);
        print_bindings(a, v, m);
        rc = 0;
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

/* Checks the flags of sub; returns 0 or 2 after saying what is wrong. */
static int check_flags(const acl_args *a, const char *sub, bool perm_given,
                       rd_kafka_ResourceType_t rt)
{
    bool add = strcmp(sub, "add") == 0, rm = strcmp(sub, "remove") == 0;
    const char *why = NULL;
    if (add && (!a->principal || !a->operation || rt == RD_KAFKA_RESOURCE_ANY))
        why = "add needs --principal, --operation and one resource";
    else if (add && a->pattern && strcmp(a->pattern, "literal") != 0 &&
             strcmp(a->pattern, "prefixed") != 0)
        why = "an ACL's --pattern is literal or prefixed";
    else if (rm && rt == RD_KAFKA_RESOURCE_ANY && !a->principal && !a->all)
        why = "remove needs a resource, --principal, or --all";
    else if (!add && !rm && perm_given)
        why = "list shows allow and deny alike (no --deny)";
    if (why)
        fprintf(stderr, "%s: %s\n", a->cmd, why);
    return why ? 2 : 0;
}

/* Parses the flags; returns 0, 1 for --help, or 2 after printing. */
static int parse(acl_args *a, int argc, char **argv, bool *perm_given)
{
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &a->bootstrap, 0, 0, NULL, NULL, "broker HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a->timeout_ms, 1, 3600000, NULL, NULL, "request timeout"},
        {"json", CLI_OPT_BOOL, &a->json, 0, 0, NULL, NULL, "print JSON"},
        {"principal", CLI_OPT_STR, &a->principal, 0, 0, NULL, NULL, "User:NAME or User:*"},
        {"operation", CLI_OPT_STR, &a->operation, 0, 0, NULL, NULL, "READ, WRITE, ..."},
        {"host", CLI_OPT_STR, &a->host, 0, 0, NULL, NULL, "client IP (default *)"},
        {"pattern", CLI_OPT_ENUM, &a->pattern, 0, 0, PATTERNS, NULL, "resource pattern"},
        {"deny", CLI_OPT_BOOL, &a->deny, 0, 0, NULL, perm_given, "a DENY binding"},
        {"topic", CLI_OPT_STR, &a->topic, 0, 0, NULL, NULL, "a topic (or prefix)"},
        {"group", CLI_OPT_STR, &a->group, 0, 0, NULL, NULL, "a consumer group"},
        {"transactional-id", CLI_OPT_STR, &a->txn_id, 0, 0, NULL, NULL, "a transactional id"},
        {"cluster", CLI_OPT_BOOL, &a->cluster, 0, 0, NULL, NULL, "the cluster"},
        {"all", CLI_OPT_BOOL, &a->all, 0, 0, NULL, NULL, "remove: every ACL"},
        {"client-prop", CLI_OPT_LIST, &a->props, 0, 0, NULL, NULL, "librdkafka KEY=VALUE"},
    };
    int npos = 0;
    const char *pos = NULL;
    int prc = cli_args_parse_pos(a->cmd, argc, argv, opts, sizeof(opts) / sizeof(opts[0]),
                                 &pos, &npos);
    if (prc == 1)
        return 1;
    if (prc != 0)
        return 2;
    if (npos > 0) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", a->cmd, pos);
        return 2;
    }
    return 0;
}

/* The client configuration: bootstrap plus every --client-prop. NULL after printing. */
static rd_kafka_conf_t *conf_of(const acl_args *a)
{
    rd_kafka_conf_t *conf = cli_kafka_conf(cli_bootstrap(a->bootstrap));
    for (int i = 0; conf && i < a->props.n; i++) {
        char kv[1024];
        snprintf(kv, sizeof(kv), "%s", a->props.items[i]);
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            fprintf(stderr, "%s: --client-prop '%s' is not KEY=VALUE\n", a->cmd, kv);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        *eq = '\0';
        if (cli_kafka_set(conf, kv, eq + 1) != 0) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

int cli_acl_main(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    bool add = strcmp(sub, "add") == 0, rm = strcmp(sub, "remove") == 0;
    if (!add && !rm && strcmp(sub, "list") != 0) {
        bool help = strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 ||
                    strcmp(sub, "-h") == 0;
        if (!help)
            fprintf(stderr, "brook acl: %s subcommand%s%s (add, list or remove)\n\n",
                    *sub ? "unknown" : "missing", *sub ? " " : "", sub);
        cli_acl_usage(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook acl %s", sub);
    acl_args a = {.cmd = cmd, .timeout_ms = CLI_TIMEOUT_DEFAULT_MS};
    bool perm_given = false;
    int prc = parse(&a, argc - 1, argv + 1, &perm_given);
    if (prc == 1) {
        cli_acl_usage(stdout);
        return 0;
    }
    rd_kafka_ResourceType_t rt;
    const char *name;
    rd_kafka_AclOperation_t op;
    if (prc == 0 && resource_of(&a, &rt, &name) != 0) {
        fprintf(stderr, "%s: name one resource (--topic, --group, --transactional-id or "
                "--cluster)\n", cmd);
        prc = 2;
    }
    if (prc == 0 && a.txn_id && CLI_RESOURCE_TXN_ID == RD_KAFKA_RESOURCE_UNKNOWN) {
        fprintf(stderr, "%s: --transactional-id needs librdkafka 2.6 or later (this brook "
                "was built with %s)\n", cmd, rd_kafka_version_str());
        prc = 2;
    }
    if (prc == 0 && op_of(a.operation, &op) != 0) {
        fprintf(stderr, "%s: unknown --operation '%s'\n", cmd, a.operation);
        prc = 2;
    }
    if (prc != 0 || check_flags(&a, sub, perm_given, rt) != 0)
        return 2;
    rd_kafka_conf_t *conf = conf_of(&a);
    if (!conf)
        return 2;
    cli_client cl;
    int rc = cli_client_open(&cl, cmd, cli_bootstrap(a.bootstrap), a.timeout_ms,
                             RD_KAFKA_PRODUCER, conf);
    cl.json = a.json;
    rd_kafka_AclBindingFilter_t *f = NULL;
    if (rc == 0 && add) {
        rc = cmd_add(&cl, &a, rt, name, op);
    } else if (rc == 0 && (f = filter_of(&cl, &a, rt, name, op, perm_given)) == NULL) {
        rc = 2;
    } else if (rc == 0) {
        rc = rm ? cmd_remove(&cl, &a, f) : cmd_list(&cl, &a, f);
    }
    if (f)
        rd_kafka_AclBinding_destroy(f);
    cli_client_close(&cl);
    return rc;
}
