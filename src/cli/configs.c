/*
 * configs.c - `brook config describe|set`; see configs.h.
 *
 * describe is librdkafka's DescribeConfigs (a broker resource goes to that broker); only
 * the configs not at their default are shown unless --all. set is IncrementalAlterConfigs
 * (topic.h: cli_topic_alter_configs), so configs not named keep their values: a topic's to
 * any broker, which changes it cluster-wide; a broker's to that broker.
 */
#include "cli/configs.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/table.h"
#include "cli/topic.h"
#include "cli/topic_wire.h"

typedef struct cf_args {
    const char *cmd;
    const char *bootstrap;
    int64_t timeout_ms;
    bool json, all;
    tw_list deletes; /* set --delete K */
    const char *pos[TW_MAX_ITEMS];
    int npos;
    int8_t type;       /* TW_RES_TOPIC or TW_RES_BROKER */
    const char *name;  /* the topic, or the broker id as text */
    int32_t broker_id; /* TW_RES_BROKER */
} cf_args;

static const char *type_word(int8_t type) { return type == TW_RES_TOPIC ? "topic" : "broker"; }

/* ---------------- describe ---------------- */

static cJSON *entry_json(const tw_config *c)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "name", c->name) &&
              (c->value ? cJSON_AddStringToObject(o, "value", c->value)
                        : cJSON_AddNullToObject(o, "value")) &&
              cJSON_AddStringToObject(o, "source", c->source) &&
              cJSON_AddBoolToObject(o, "read_only", c->read_only) &&
              cJSON_AddBoolToObject(o, "sensitive", c->sensitive) &&
              cJSON_AddBoolToObject(o, "default", c->is_default);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int describe_json(const cf_args *a, const tw_config *cs, int n)
{
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    bool ok = j && arr && cJSON_AddStringToObject(j, "resource", type_word(a->type)) &&
              cJSON_AddStringToObject(j, "name", a->name);
    for (int i = 0; ok && i < n; i++) {
        if (cs[i].is_default && !a->all)
            continue;
        cJSON *e = entry_json(&cs[i]);
        ok = e && cJSON_AddItemToArray(arr, e);
        if (!ok)
            cJSON_Delete(e);
    }
    if (ok && cJSON_AddItemToObject(j, "configs", arr))
        return tw_print_json(a->cmd, j);
    cJSON_Delete(arr);
    cJSON_Delete(j);
    return tw_print_json(a->cmd, NULL);
}

static int describe_text(const cf_args *a, const tw_config *cs, int n)
{
    static const char *const hdr[] = {"NAME", "VALUE", "SOURCE", "READ-ONLY", "SENSITIVE"};
    cli_table *t = cli_table_new(5, hdr);
    for (int i = 0; t && i < n; i++) {
        if (cs[i].is_default && !a->all)
            continue;
        const char *row[] = {cs[i].name, cs[i].value ? cs[i].value : "(hidden)", cs[i].source,
                             cs[i].read_only ? "yes" : "no", cs[i].sensitive ? "yes" : "no"};
        cli_table_push(&t, row);
    }
    if (!t || cli_table_rows(t) > 0)
        return cli_table_done(t, a->cmd);
    printf("%s %s: every config is at its default (--all lists them)\n", type_word(a->type),
           a->name);
    cli_table_free(t);
    return 0;
}

static int cmd_describe(cli_client *cl, const cf_args *a)
{
    cli_broker b;
    if (a->type == TW_RES_BROKER && cli_client_broker(cl, a->broker_id, &b) != 0)
        return 1;
    tw_config *cs = NULL;
    int n = 0;
    int rc = tw_describe_configs(cl, a->type, a->name, &cs, &n);
    if (rc == 1) {
        fprintf(stderr, "%s: unknown topic '%s'\n", cl->cmd, a->name);
        return 1;
    }
    if (rc == 0)
        rc = a->json ? describe_json(a, cs, n) : describe_text(a, cs, n);
    tw_configs_free(cs, n);
    return rc != 0 ? 1 : 0;
}

/* ---------------- set ---------------- */

static int set_json(const cf_args *a, const tw_list *sets)
{
    cJSON *j = cJSON_CreateObject(), *set = cJSON_CreateObject(), *del = cJSON_CreateArray();
    bool ok = j && set && del && cJSON_AddStringToObject(j, "resource", type_word(a->type)) &&
              cJSON_AddStringToObject(j, "name", a->name);
    for (int i = 0; ok && i < sets->n; i++) {
        const char *eq = strchr(sets->items[i], '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - sets->items[i]), sets->items[i]);
        ok = cJSON_AddStringToObject(set, key, eq + 1) != NULL;
    }
    for (int i = 0; ok && i < a->deletes.n; i++)
        ok = cJSON_AddItemToArray(del, cJSON_CreateString(a->deletes.items[i]));
    if (ok && cJSON_AddItemToObject(j, "set", set)) {
        set = NULL;
        if (cJSON_AddItemToObject(j, "deleted", del))
            return tw_print_json(a->cmd, j);
    }
    cJSON_Delete(set);
    cJSON_Delete(del);
    cJSON_Delete(j);
    return tw_print_json(a->cmd, NULL);
}

static int cmd_set(cli_client *cl, const cf_args *a)
{
    tw_list sets = {.flag = "KEY=VALUE"};
    for (int i = 2; i < a->npos; i++)
        sets.items[sets.n++] = a->pos[i];
    int rc = cli_topic_alter_configs(cl, a->type, a->name, &sets, &a->deletes, a->broker_id);
    if (rc != 0)
        return rc;
    if (a->json)
        return set_json(a, &sets);
    for (int i = 0; i < sets.n; i++)
        printf("%s %s: set %s\n", type_word(a->type), a->name, sets.items[i]);
    for (int i = 0; i < a->deletes.n; i++)
        printf("%s %s: %s back to its default\n", type_word(a->type), a->name,
               a->deletes.items[i]);
    return 0;
}

/* ---------------- arguments ---------------- */

void cli_configs_usage(FILE *out)
{
    fprintf(out,
            "brook config describe topic NAME | broker ID [--all]\n"
            "                                      configs not at their default (--all: "
            "every one): value, source, read-only, sensitive\n"
            "brook config set topic NAME | broker ID KEY=VALUE... [--delete KEY]...\n"
            "                                      change configs; the others keep their "
            "values (--delete: back to the default)\n"
            TW_FLAGS_USAGE,
            CLI_TIMEOUT_DEFAULT_MS);
}

/* The resource words (topic NAME | broker ID) and what each subcommand needs. Returns 0,
 * or 2 after printing. */
static int check_words(bool set, cf_args *a)
{
    const char *why = NULL;
    int64_t id = -1;
    if (a->npos < 2 || (strcmp(a->pos[0], "topic") != 0 && strcmp(a->pos[0], "broker") != 0))
        why = "expects 'topic NAME' or 'broker ID'";
    else if (a->pos[1][0] == '\0')
        why = "the name is empty";
    else if (strcmp(a->pos[0], "broker") == 0 && cli_parse_i64(a->pos[1], 0, INT32_MAX, &id))
        why = "a broker ID is a whole number";
    else if (!set && a->npos > 2)
        why = "takes one resource";
    else if (!set && a->deletes.n > 0)
        why = "takes no --delete";
    else if (set && a->npos == 2 && a->deletes.n == 0)
        why = "needs KEY=VALUE or --delete KEY";
    else if (set && a->all)
        why = "takes no --all";
    for (int i = 2; set && !why && i < a->npos; i++)
        if (!strchr(a->pos[i], '=') || a->pos[i][0] == '=')
            why = "expects KEY=VALUE after the resource";
    if (why) {
        fprintf(stderr, "%s: %s\n", a->cmd, why);
        return 2;
    }
    a->type = strcmp(a->pos[0], "topic") == 0 ? TW_RES_TOPIC : TW_RES_BROKER;
    a->name = a->pos[1];
    a->broker_id = (int32_t)id;
    return 0;
}

int cli_configs_main(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    bool set = strcmp(sub, "set") == 0;
    if (!set && strcmp(sub, "describe") != 0)
        return tw_bad_subcommand("config", argc, sub, cli_configs_usage);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook config %s", sub);
    cf_args a = {.cmd = cmd, .timeout_ms = CLI_TIMEOUT_DEFAULT_MS, .deletes = {.flag = "delete"},
                 .broker_id = -1};
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &a.bootstrap, 0, 0, NULL, NULL, "broker HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a.timeout_ms, 1, 3600000, NULL, NULL, "timeout"},
        {"json", CLI_OPT_BOOL, &a.json, 0, 0, NULL, NULL, "print JSON"},
        {"all", CLI_OPT_BOOL, &a.all, 0, 0, NULL, NULL, "every config"},
    };
    int prc = tw_parse(cmd, argc - 1, argv + 1, opts, sizeof(opts) / sizeof(opts[0]),
                       &a.deletes, 1, a.pos, &a.npos);
    if (prc == 1) {
        cli_configs_usage(stdout);
        return 0;
    }
    if (prc != 0 || check_words(set, &a) != 0)
        return 2;
    cli_client cl;
    int rc = cli_client_open(&cl, cmd, cli_bootstrap(a.bootstrap), a.timeout_ms,
                             RD_KAFKA_PRODUCER, NULL);
    cl.json = a.json;
    if (rc == 0)
        rc = set ? cmd_set(&cl, &a) : cmd_describe(&cl, &a);
    cli_client_close(&cl);
    return rc;
}
