/* user.c - `brook user add|list|delete`; see user.h and docs/security.md. */
#include "cli/user.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/buf.h"
#include "cli/args.h"
#include "cli/client.h"
#include "cli/topic_wire.h"
#include "cli/wire.h"
#include "proto/errors.h"

#define API_DESCRIBE_USER_SCRAM 50
#define API_ALTER_USER_SCRAM 51
#define SALT_BYTES 32

typedef struct user_args {
    const char *cmd;
    const char *bootstrap;
    int64_t timeout_ms;
    bool json;
    const char *password;
    bool password_stdin;
    const char *mechanism; /* SCRAM-SHA-256, SCRAM-SHA-512 or both */
    int64_t iterations;
} user_args;

static const char *const MECHS[] = {"SCRAM-SHA-256", "SCRAM-SHA-512", "both", NULL};

void cli_user_usage(FILE *out)
{
    fprintf(out,
            "usage: brook user add NAME (--password P | --password-stdin) [--mechanism M]\n"
            "                  [--iterations N]\n"
            "       brook user list [NAME]\n"
            "       brook user delete NAME [--mechanism M]\n"
            "  SCRAM credentials of SASL users (docs/security.md). The password is salted here\n"
            "  (PBKDF2); only the salted form reaches the broker.\n"
            "  flags: --bootstrap HOST:PORT (default $BROOK_BOOTSTRAP, else %s), --timeout-ms,\n"
            "         --json, --mechanism SCRAM-SHA-256|SCRAM-SHA-512|both (default both),\n"
            "         --iterations 4096..16384 (default 8192)\n",
            CLI_BOOTSTRAP_DEFAULT);
}

static int8_t mech_code(const char *name) { return strcmp(name, "SCRAM-SHA-256") == 0 ? 1 : 2; }
static const char *mech_name(int8_t m)
{
    return m == 1 ? "SCRAM-SHA-256" : m == 2 ? "SCRAM-SHA-512" : "unknown";
}

/* The mechanisms --mechanism names, as codes; returns how many (1 or 2). */
static int mech_list(const char *m, int8_t out[2])
{
    if (strcmp(m, "both") == 0) {
        out[0] = 1;
        out[1] = 2;
        return 2;
    }
    out[0] = mech_code(m);
    return 1;
}


static int call(user_args *a, int16_t api, wr *body, uint8_t **resp, rd *r)
{
    char err[512];
    int rc = cli_wire_request(cli_bootstrap(a->bootstrap), a->timeout_ms, api, 0, true, body,
                              resp, r, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", a->cmd, err);
    return rc;
}

/* Prints the per-user results of an AlterUserScramCredentials answer; 0 if all succeeded. */
static int alter_results(user_args *a, rd *r)
{
    r->flex = true;
    rd_i32(r); /* throttle */
    int32_t n = rd_array(r, 4);
    int bad = 0;
    for (int32_t i = 0; i < n && !r->err; i++) {
        const char *user = cli_wire_dup_str(r);
        int16_t ec = rd_i16(r);
        const char *msg = cli_wire_dup_str(r);
        rd_tags(r);
        if (ec != KERR_NONE) {
            fprintf(stderr, "%s: %s: %s%s%s\n", a->cmd, user ? user : "?", kafka_error_name(ec),
                    msg ? ": " : "", msg ? msg : "");
            bad = 1;
        }
        free((void *)user);
        free((void *)msg);
    }
    if (r->err) {
        fprintf(stderr, "%s: malformed AlterUserScramCredentials answer\n", a->cmd);
        return 1;
    }
    return bad;
}

/* --json's line for a change: {"user": NAME, what: true} (cJSON escapes the name). */
static void print_done(const char *name, const char *what)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "user", name);
    cJSON_AddBoolToObject(o, what, 1);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s ? s : "{}");
    free(s);
    cJSON_Delete(o);
}

/* Sends an AlterUserScramCredentials body (freed) and prints its refusals; 0 if none. */
static int send_alter(user_args *a, wr *body)
{
    uint8_t *resp = NULL;
    rd r;
    if (call(a, API_ALTER_USER_SCRAM, body, &resp, &r) != 0)
        return 1;
    int rc = alter_results(a, &r);
    free(resp);
    return rc;
}

static int cmd_add(user_args *a, const char *name)
{
    char line[1024];
    const char *pw = a->password;
    if (a->password_stdin) {
        if (!fgets(line, sizeof(line), stdin)) {
            fprintf(stderr, "%s: no password on stdin\n", a->cmd);
            return 2;
        }
        line[strcspn(line, "\r\n")] = '\0';
        pw = line;
    }
    if (!pw || !*pw) {
        fprintf(stderr, "%s: give the password with --password or --password-stdin\n", a->cmd);
        return 2;
    }
    int8_t mechs[2];
    int nm = mech_list(a->mechanism, mechs);
    wr b;
    wr_init(&b, 256);
    b.flex = true;
    wr_array(&b, 0); /* deletions */
    wr_array(&b, nm);
    for (int i = 0; i < nm; i++) {
        uint8_t salt[SALT_BYTES], salted[64];
        int kl = mechs[i] == 1 ? 32 : 64;
        if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt) ||
            PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), (int)a->iterations,
                              mechs[i] == 1 ? EVP_sha256() : EVP_sha512(), kl, salted) != 1) {
            fprintf(stderr, "%s: cannot salt the password\n", a->cmd);
            wr_free(&b);
            return 1;
        }
        wr_cstr(&b, name);
        wr_i8(&b, mechs[i]);
        wr_i32(&b, (int32_t)a->iterations);
        wr_bytes(&b, (kslice){salt, sizeof(salt)});
        wr_bytes(&b, (kslice){salted, kl});
        wr_tags(&b);
    }
    wr_tags(&b);
    memset(line, 0, sizeof(line));
    int rc = send_alter(a, &b);
    if (rc == 0 && !a->json)
        printf("user %s: %s set\n", name,
               nm == 2 ? "SCRAM-SHA-256 and SCRAM-SHA-512" : a->mechanism);
    else if (rc == 0)
        print_done(name, "set");
    return rc;
}

/* Reads a DescribeUserScramCredentials answer into a JSON array of {user, error?,
 * credentials: [{mechanism, iterations}]}; NULL after printing on a malformed one. */
static cJSON *describe_json(user_args *a, rd *r, int16_t *top_err)
{
    r->flex = true;
    rd_i32(r);
    *top_err = rd_i16(r);
    free((void *)cli_wire_dup_str(r));
    cJSON *arr = cJSON_CreateArray();
    int32_t n = rd_array(r, 4);
    for (int32_t i = 0; i < n && !r->err && arr; i++) {
        char *user = (char *)cli_wire_dup_str(r);
        int16_t ec = rd_i16(r);
        free((void *)cli_wire_dup_str(r));
        cJSON *o = cJSON_CreateObject(), *creds = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "user", user ? user : "");
        if (ec != KERR_NONE)
            cJSON_AddStringToObject(o, "error", kafka_error_name(ec));
        int32_t k = rd_array(r, 5);
        for (int32_t j = 0; j < k && !r->err; j++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "mechanism", mech_name(rd_i8(r)));
            cJSON_AddNumberToObject(c, "iterations", rd_i32(r));
            rd_tags(r);
            cJSON_AddItemToArray(creds, c);
        }
        rd_tags(r);
        cJSON_AddItemToObject(o, "credentials", creds);
        cJSON_AddItemToArray(arr, o);
        free(user);
    }
    if (r->err || !arr) {
        fprintf(stderr, "%s: malformed DescribeUserScramCredentials answer\n", a->cmd);
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

static int describe(user_args *a, const char *name, cJSON **out)
{
    wr b;
    wr_init(&b, 64);
    b.flex = true;
    if (name) {
        wr_array(&b, 1);
        wr_cstr(&b, name);
        wr_tags(&b);
    } else {
        wr_array(&b, -1); /* every user */
    }
    wr_tags(&b);
    uint8_t *resp = NULL;
    rd r;
    if (call(a, API_DESCRIBE_USER_SCRAM, &b, &resp, &r) != 0)
        return 1;
    int16_t top = 0;
    *out = describe_json(a, &r, &top);
    free(resp);
    if (*out && top != KERR_NONE) {
        fprintf(stderr, "%s: %s\n", a->cmd, kafka_error_name(top));
        cJSON_Delete(*out);
        *out = NULL;
    }
    return *out ? 0 : 1;
}

static int cmd_list(user_args *a, const char *name)
{
    cJSON *arr = NULL;
    if (describe(a, name, &arr) != 0)
        return 1;
    int rc = 0;
    if (a->json) {
        char *s = cJSON_PrintUnformatted(arr);
        printf("%s\n", s ? s : "[]");
        free(s);
    } else {
        printf("%-24s %-14s %s\n", "USER", "MECHANISM", "ITERATIONS");
        cJSON *o;
        cJSON_ArrayForEach(o, arr)
        {
            const char *user = cJSON_GetObjectItem(o, "user")->valuestring;
            cJSON *err = cJSON_GetObjectItem(o, "error"), *c;
            if (err) {
                fprintf(stderr, "%s: %s: %s\n", a->cmd, user, err->valuestring);
                rc = 1;
            }
            cJSON_ArrayForEach(c, cJSON_GetObjectItem(o, "credentials"))
                printf("%-24s %-14s %d\n", user,
                       cJSON_GetObjectItem(c, "mechanism")->valuestring,
                       cJSON_GetObjectItem(c, "iterations")->valueint);
        }
    }
    cJSON_Delete(arr);
    return rc;
}

static int cmd_delete(user_args *a, const char *name, bool mech_given)
{
    int8_t mechs[2];
    int nm = mech_list(a->mechanism, mechs);
    if (!mech_given) { /* every mechanism the user has */
        cJSON *arr = NULL, *c;
        if (describe(a, name, &arr) != 0)
            return 1;
        cJSON *o = cJSON_GetArrayItem(arr, 0), *err = o ? cJSON_GetObjectItem(o, "error") : NULL;
        nm = 0;
        if (o && !err)
            cJSON_ArrayForEach(c, cJSON_GetObjectItem(o, "credentials"))
                mechs[nm++] = mech_code(cJSON_GetObjectItem(c, "mechanism")->valuestring);
        cJSON_Delete(arr);
        if (nm == 0) {
            fprintf(stderr, "%s: %s: no such user\n", a->cmd, name);
            return 1;
        }
    }
    wr b;
    wr_init(&b, 64);
    b.flex = true;
    wr_array(&b, nm);
    for (int i = 0; i < nm; i++) {
        wr_cstr(&b, name);
        wr_i8(&b, mechs[i]);
        wr_tags(&b);
    }
    wr_array(&b, 0); /* upsertions */
    wr_tags(&b);
    int rc = send_alter(a, &b);
    if (rc == 0 && !a->json)
        printf("user %s: deleted\n", name);
    else if (rc == 0)
        print_done(name, "deleted");
    return rc;
}

int cli_user_main(int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : "";
    bool add = strcmp(sub, "add") == 0, del = strcmp(sub, "delete") == 0;
    if (!add && !del && strcmp(sub, "list") != 0)
        return tw_bad_subcommand("user", argc, sub, cli_user_usage);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "brook user %s", sub);
    user_args a = {.cmd = cmd, .timeout_ms = CLI_TIMEOUT_DEFAULT_MS, .mechanism = "both",
                   .iterations = 8192};
    bool mech_given = false;
    const struct cli_opt opts[] = {
        {"bootstrap", CLI_OPT_STR, &a.bootstrap, 0, 0, NULL, NULL, "broker HOST:PORT"},
        {"timeout-ms", CLI_OPT_I64, &a.timeout_ms, 1, 3600000, NULL, NULL, "request timeout"},
        {"json", CLI_OPT_BOOL, &a.json, 0, 0, NULL, NULL, "print JSON"},
        {"password", CLI_OPT_STR, &a.password, 0, 0, NULL, NULL, "the user's password"},
        {"password-stdin", CLI_OPT_BOOL, &a.password_stdin, 0, 0, NULL, NULL,
         "read the password from stdin"},
        {"mechanism", CLI_OPT_ENUM, &a.mechanism, 0, 0, MECHS, &mech_given, "SCRAM mechanism"},
        {"iterations", CLI_OPT_I64, &a.iterations, 4096, 16384, NULL, NULL, "PBKDF2 rounds"},
    };
    int npos = 0;
    const char *name = NULL;
    int prc = cli_args_parse_pos(cmd, argc - 1, argv + 1, opts, sizeof(opts) / sizeof(opts[0]),
                                 &name, &npos);
    if (prc == 1) {
        cli_user_usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    if ((add || del) && (npos != 1 || !*name)) {
        fprintf(stderr, "%s: expected one user name, got %d\n", cmd, npos);
        return 2;
    }
    if (!add && !del && npos > 1) {
        fprintf(stderr, "%s: at most one user name\n", cmd);
        return 2;
    }
    if (add)
        return cmd_add(&a, name);
    if (del)
        return cmd_delete(&a, name, mech_given);
    return cmd_list(&a, npos ? name : NULL);
}
