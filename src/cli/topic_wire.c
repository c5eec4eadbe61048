/*
 * topic_wire.c - raw IncrementalAlterConfigs / DescribeLogDirs requests and command-line
 * splitting for `brook topic` and `brook config`; see topic_wire.h.
 *
 * Both requests use flexible versions (IncrementalAlterConfigs v1, DescribeLogDirs v4), so
 * strings and arrays are compact and every structure ends with a tag buffer; the readers
 * latch their first error, and an answer that does not decode to its last byte is refused.
 */
#include "cli/topic_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "cli/wire.h"
#include "proto/errors.h"

#define TW_API_DESCRIBE_LOG_DIRS 35
#define TW_API_INCREMENTAL_ALTER_CONFIGS 44

/* ---------------- command lines ---------------- */

static tw_list *find_list(tw_list *lists, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(lists[i].flag) == len && strncmp(lists[i].flag, name, len) == 0)
            return &lists[i];
    return NULL;
}

/* Does the flag "--name..." (name len bytes) take a value in opts? */
static bool takes_value(const struct cli_opt *opts, size_t nopts, const char *name, size_t len)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return opts[i].kind != CLI_OPT_BOOL;
    return false;
}

/* Appends v to l. Returns 0, or -1 after printing. */
static int list_add(const char *cmd, tw_list *l, const char *v)
{
    if (l->n >= TW_MAX_ITEMS) {
        fprintf(stderr, "%s: --%s given more than %d times\n", cmd, l->flag, TW_MAX_ITEMS);
        return -1;
    }
    l->items[l->n++] = v;
    return 0;
}

int tw_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t nopts,
             tw_list *lists, size_t nlists, const char **pos, int *npos)
{
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    if (!rest) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return -1;
    }
    int nrest = 0, rc = 0;
    bool only_pos = false;
    *npos = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= TW_MAX_ITEMS) {
                fprintf(stderr, "%s: more than %d names\n", cmd, TW_MAX_ITEMS);
                rc = -1;
            } else {
                pos[(*npos)++] = a;
            }
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        tw_list *l = a[1] == '-' ? find_list(lists, nlists, name, len) : NULL;
        if (l && eq) {
            rc = list_add(cmd, l, eq + 1);
        } else if (l && i + 1 < argc) {
            rc = list_add(cmd, l, argv[++i]);
        } else if (l) {
            fprintf(stderr, "%s: --%s needs a value\n", cmd, l->flag);
            rc = -1;
        } else {
            rest[nrest++] = argv[i];
            if (!eq && a[1] == '-' && takes_value(opts, nopts, name, len) && i + 1 < argc)
                rest[nrest++] = argv[++i];
        }
    }
    if (rc == 0)
        rc = cli_args_parse(cmd, nrest, rest, opts, nopts);
    free(rest);
    return rc;
}

int tw_bad_subcommand(const char *group, int argc, const char *sub, void (*usage)(FILE *))
{
    bool help = strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0;
    if (!help && argc)
        fprintf(stderr, "brook %s: unknown subcommand '%s'\n\n", group, sub);
    else if (!help)
        fprintf(stderr, "brook %s: missing subcommand\n\n", group);
    usage(help ? stdout : stderr);
    return help ? 0 : 2;
}

/* ---------------- IncrementalAlterConfigs ---------------- */

static void encode_incalter(wr *b, int8_t type, const char *name, const tw_config_op *ops,
                            int nops, bool validate_only)
{
    wr_init(b, 128);
    b->flex = true;
    wr_array(b, 1);
    wr_i8(b, type);
    wr_cstr(b, name);
    wr_array(b, nops);
    for (int i = 0; i < nops; i++) {
        wr_cstr(b, ops[i].name);
        wr_i8(b, ops[i].op);
        wr_cstr(b, ops[i].value);
        wr_tags(b);
    }
    wr_tags(b);
    wr_bool(b, validate_only);
    wr_tags(b);
}

int tw_incremental_alter(cli_client *cl, const char *addr, int8_t type, const char *name,
                         const tw_config_op *ops, int nops, bool validate_only, int16_t *ec,
                         char *msg, size_t msglen)
{
    wr b;
    encode_incalter(&b, type, name, ops, nops, validate_only);
    uint8_t *resp = NULL;
    rd r;
    char err[512];
    if (cli_wire_request(addr, cl->timeout_ms, TW_API_INCREMENTAL_ALTER_CONFIGS, 1, true, &b,
                         &resp, &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: IncrementalAlterConfigs at %s: %s\n", cl->cmd, addr, err);
        return -1;
    }
    (void)rd_i32(&r); /* throttle */
    int32_t n = rd_array(&r, 1 + 2 + 1 + 1 + 1 + 1);
    *ec = rd_i16(&r);
    kslice m = rd_str(&r);
    (void)rd_i8(&r);
    (void)rd_str(&r);
    rd_tags(&r);
    rd_tags(&r);
    bool bad = r.err || n != 1 || rd_remaining(&r) != 0;
    if (!bad)
        snprintf(msg, msglen, "%.*s", m.len > 0 ? (int)m.len : 0,
                 m.len > 0 ? (const char *)m.p : "");
    free(resp);
    if (bad) {
        fprintf(stderr, "%s: %s sent an IncrementalAlterConfigs answer that does not decode\n",
                cl->cmd, addr);
        return -1;
    }
    return 0;
}

/* ---------------- DescribeLogDirs ---------------- */

static void encode_logdirs(wr *b, const char *topic, int32_t nparts)
{
    wr_init(b, 64 + 4 * (size_t)nparts);
    b->flex = true;
    wr_array(b, 1);
    wr_cstr(b, topic);
    wr_array(b, nparts);
    for (int32_t i = 0; i < nparts; i++)
        wr_i32(b, i);
    wr_tags(b);
    wr_tags(b);
}

/* Reads one result's topics, appending the partitions of topic to out (room for max).
 * Returns 0, or -1 when the answer names more partitions than were asked for. */
static int decode_dir_topics(rd *r, const char *topic, tw_part_size *out, int *n, int max)
{
    int32_t ntopics = rd_array(r, 1 + 1 + 1);
    for (int32_t t = 0; t < ntopics && !r->err; t++) {
        kslice name = rd_str(r);
        int32_t np = rd_array(r, 4 + 8 + 8 + 1 + 1);
        for (int32_t k = 0; k < np && !r->err; k++) {
            int32_t part = rd_i32(r);
            int64_t size = rd_i64(r);
            (void)rd_i64(r); /* offset lag */
            (void)rd_bool(r); /* is future */
            rd_tags(r);
            if (r->err || !kslice_eq_cstr(name, topic))
                continue;
            if (*n >= max)
                return -1;
            out[(*n)++] = (tw_part_size){part, size};
        }
        rd_tags(r);
    }
    return 0;
}

/* Decodes the DescribeLogDirs v4 answer r reads into out (room for max). Returns 0, or -1
 * with why in err. */
static int decode_logdirs(rd r, const char *topic, tw_part_size *out, int *n, int max,
                          char *err, size_t errlen)
{
    (void)rd_i32(&r); /* throttle */
    int16_t ec = rd_i16(&r);
    int32_t ndirs = rd_array(&r, 2 + 1 + 1 + 8 + 8 + 1);
    int16_t dir_ec = 0;
    for (int32_t d = 0; d < ndirs && !r.err; d++) {
        int16_t e = rd_i16(&r);
        (void)rd_str(&r); /* log dir */
        if (decode_dir_topics(&r, topic, out, n, max) != 0) {
            snprintf(err, errlen, "DescribeLogDirs answer names partitions not asked for");
            return -1;
        }
        (void)rd_i64(&r); /* total bytes */
        (void)rd_i64(&r); /* usable bytes */
        rd_tags(&r);
        if (e != 0)
            dir_ec = e;
    }
    rd_tags(&r);
    if (r.err || rd_remaining(&r) != 0) {
        snprintf(err, errlen, "a DescribeLogDirs answer that does not decode");
        return -1;
    }
    if (ec != 0 || dir_ec != 0) {
        snprintf(err, errlen, "DescribeLogDirs: %s", kafka_error_name(ec ? ec : dir_ec));
        return -1;
    }
    return 0;
}

int tw_log_dirs(cli_client *cl, const char *addr, const char *topic, int32_t nparts,
                tw_part_size **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    wr b;
    encode_logdirs(&b, topic, nparts);
    uint8_t *resp = NULL;
    rd r;
    if (cli_wire_request(addr, cl->timeout_ms, TW_API_DESCRIBE_LOG_DIRS, 4, true, &b, &resp, &r,
                         err, errlen) != 0)
        return -1;
    tw_part_size *parts = calloc((size_t)nparts + 1, sizeof(*parts));
    if (!parts) {
        free(resp);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = decode_logdirs(r, topic, parts, n, nparts, err, errlen);
    free(resp);
    if (rc != 0) {
        free(parts);
        *n = 0;
        return -1;
    }
    *out = parts;
    return 0;
}

/* ---------------- DescribeConfigs ---------------- */

void tw_configs_free(tw_config *c, int n)
{
    for (int i = 0; c && i < n; i++) {
        free(c[i].name);
        free(c[i].value);
    }
    free(c);
}

static int config_cmp(const void *a, const void *b)
{
    return strcmp(((const tw_config *)a)->name, ((const tw_config *)b)->name);
}

/* Copies a resource's entries into *out. Returns 0 or -1 (out of memory). */
static int copy_entries(const rd_kafka_ConfigResource_t *res, tw_config **out, int *n)
{
    size_t cnt = 0;
    const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(res, &cnt);
    tw_config *c = calloc(cnt + 1, sizeof(*c));
    if (!c)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        const char *v = rd_kafka_ConfigEntry_value(es[i]);
        c[i].name = strdup(rd_kafka_ConfigEntry_name(es[i]));
        c[i].value = v ? strdup(v) : NULL;
        c[i].source = rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(es[i]));
        c[i].read_only = rd_kafka_ConfigEntry_is_read_only(es[i]);
        c[i].is_default = rd_kafka_ConfigEntry_is_default(es[i]) ||
                          rd_kafka_ConfigEntry_source(es[i]) ==
                              RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG;
        c[i].sensitive = rd_kafka_ConfigEntry_is_sensitive(es[i]);
        if (!c[i].name || (v && !c[i].value)) {
            tw_configs_free(c, (int)cnt);
            return -1;
        }
    }
    qsort(c, cnt, sizeof(*c), config_cmp);
    *out = c;
    *n = (int)cnt;
    return 0;
}

int tw_describe_configs(cli_client *cl, int type, const char *name, tw_config **out, int *n)
{
    *out = NULL;
    *n = 0;
    rd_kafka_ConfigResource_t *r = rd_kafka_ConfigResource_new(
        type == TW_RES_TOPIC ? RD_KAFKA_RESOURCE_TOPIC : RD_KAFKA_RESOURCE_BROKER, name);
    rd_kafka_AdminOptions_t *o = cli_client_admin_options(cl, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    if (!r || !o) {
        if (r)
            rd_kafka_ConfigResource_destroy(r);
        if (o)
            rd_kafka_AdminOptions_destroy(o);
        return -1;
    }
    rd_kafka_DescribeConfigs(cl->rk, &r, 1, o, cl->q);
    rd_kafka_ConfigResource_destroy(r);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = cli_client_admin_wait(cl, "DescribeConfigs", NULL, 0);
    if (!ev)
        return -1;
    int rc = -1;
    const rd_kafka_DescribeConfigs_result_t *res = rd_kafka_event_DescribeConfigs_result(ev);
    size_t cnt = 0;
    const rd_kafka_ConfigResource_t **rs = res ? rd_kafka_DescribeConfigs_result_resources(
                                                     res, &cnt)
                                               : NULL;
    if (!rs || cnt != 1) {
        fprintf(stderr, "%s: unexpected answer to DescribeConfigs\n", cl->cmd);
    } else if (rd_kafka_ConfigResource_error(rs[0]) ==
               RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        rc = 1;
    } else if (rd_kafka_ConfigResource_error(rs[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *m = rd_kafka_ConfigResource_error_string(rs[0]);
        fprintf(stderr, "%s: cannot describe the configs of %s '%s': %s%s%s\n", cl->cmd,
                type == TW_RES_TOPIC ? "topic" : "broker", name,
                rd_kafka_err2name(rd_kafka_ConfigResource_error(rs[0])), m ? ": " : "",
                m ? m : "");
    } else if (copy_entries(rs[0], out, n) != 0) {
        fprintf(stderr, "%s: out of memory\n", cl->cmd);
    } else {
        rc = 0;
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

int tw_print_json(const char *cmd, cJSON *j)
{
    char *s = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 1;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}
