/* acl.c - see acl.h. The file: a header line, then one line per binding,
 * "<restype> <pattern> <operation> <permission> <base64 name> <base64 principal>
 * <base64 host>" (numbers as in the protocol; base64 so that any name fits on a line). */
#include "sec/acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/fsutil.h"
#include "sec/scram.h"

#define HEADER "# brook ACLs v1\n"
#define B64_NAME (4 * ((SEC_ACL_NAME_MAX + 2) / 3) + 1)

static const char *const g_restype[] = {"UNKNOWN", "ANY",   "TOPIC",           "GROUP",
                                        "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN",
                                        "USER"};
static const char *const g_pattern[] = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
static const char *const g_op[] = {"UNKNOWN",        "ANY",           "ALL",
                                   "READ",           "WRITE",         "CREATE",
                                   "DELETE",         "ALTER",         "DESCRIBE",
                                   "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
                                   "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS"};
static const char *const g_perm[] = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

#define NAME_OF(table, v)                                                                     \
    ((v) >= 0 && (size_t)(v) < sizeof(table) / sizeof(table[0]) ? table[v] : "UNKNOWN")

const char *sec_acl_restype_name(int v) { return NAME_OF(g_restype, v); }
const char *sec_acl_pattern_name(int v) { return NAME_OF(g_pattern, v); }
const char *sec_acl_op_name(int v) { return NAME_OF(g_op, v); }
const char *sec_acl_perm_name(int v) { return NAME_OF(g_perm, v); }

/* "Type:name" with a non-empty type and name, as Kafka's KafkaPrincipal parses it. */
static bool principal_ok(const char *p)
{
    const char *colon = p ? strchr(p, ':') : NULL;
    return colon && colon != p && colon[1] != '\0';
}

const char *sec_acl_invalid(const acl_binding *b)
{
    if (b->restype <= ACL_RES_ANY || b->restype > ACL_RES_USER)
        return "the resource type must be TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, "
               "DELEGATION_TOKEN or USER";
    if (b->pattern != ACL_PAT_LITERAL && b->pattern != ACL_PAT_PREFIXED)
        return "the pattern type must be LITERAL or PREFIXED";
    if (b->op <= ACL_OP_ANY || b->op > ACL_OP_MAX)
        return "the operation must be a concrete one (not ANY or UNKNOWN)";
    if (b->perm != ACL_PERM_ALLOW && b->perm != ACL_PERM_DENY)
        return "the permission type must be ALLOW or DENY";
    if (!b->name || !*b->name || strlen(b->name) > SEC_ACL_NAME_MAX)
        return "the resource name must be 1 to 1024 bytes";
    if (b->restype == ACL_RES_CLUSTER &&
        (b->pattern != ACL_PAT_LITERAL || strcmp(b->name, SEC_ACL_CLUSTER_NAME) != 0))
        return "the only CLUSTER resource is the literal kafka-cluster";
    if (b->pattern == ACL_PAT_PREFIXED && strcmp(b->name, "*") == 0)
        return "a PREFIXED pattern cannot be the wildcard *";
    if (!principal_ok(b->principal) || strlen(b->principal) > SEC_ACL_NAME_MAX)
        return "the principal must be Type:name, e.g. User:alice or User:*";
    if (!b->host || !*b->host || strlen(b->host) > SEC_ACL_NAME_MAX)
        return "the host must be an IP address or *";
    return NULL;
}

const char *sec_acl_filter_invalid(const acl_binding *f)
{
    if (f->restype <= ACL_RES_UNKNOWN || f->restype > ACL_RES_USER)
        return "unknown resource type in the filter";
    if (f->pattern <= ACL_PAT_UNKNOWN || f->pattern > ACL_PAT_PREFIXED)
        return "unknown pattern type in the filter";
    if (f->op <= ACL_OP_UNKNOWN || f->op > ACL_OP_MAX)
        return "unknown operation in the filter";
    if (f->perm <= ACL_PERM_UNKNOWN || f->perm > ACL_PERM_ALLOW)
        return "unknown permission type in the filter";
    return NULL;
}

static bool str_matches(const char *filter, const char *v)
{
    return !filter || strcmp(filter, v) == 0;
}

/* Whether binding b's resource pattern applies to the concrete resource name. */
static bool pattern_covers(const acl_binding *b, const char *name)
{
    if (b->pattern == ACL_PAT_LITERAL)
        return strcmp(b->name, name) == 0 || strcmp(b->name, "*") == 0;
    return strncmp(name, b->name, strlen(b->name)) == 0;
}

bool sec_acl_filter_matches(const acl_binding *f, const acl_binding *b)
{
    if (f->restype != ACL_RES_ANY && f->restype != b->restype)
        return false;
    if (f->pattern == ACL_PAT_MATCH) {
        if (f->name && !pattern_covers(b, f->name))
            return false;
    } else if ((f->pattern != ACL_PAT_ANY && f->pattern != b->pattern) ||
               !str_matches(f->name, b->name)) {
        return false;
    }
    return str_matches(f->principal, b->principal) && str_matches(f->host, b->host) &&
           (f->op == ACL_OP_ANY || f->op == b->op) &&
           (f->perm == ACL_PERM_ANY || f->perm == b->perm);
}

static bool same_binding(const acl_binding *a, const acl_binding *b)
{
    return a->restype == b->restype && a->pattern == b->pattern && a->op == b->op &&
           a->perm == b->perm && strcmp(a->name, b->name) == 0 &&
           strcmp(a->principal, b->principal) == 0 && strcmp(a->host, b->host) == 0;
}

static void free_strings(acl_binding *b)
{
    free((char *)b->name);
    free((char *)b->principal);
    free((char *)b->host);
}

int sec_acls_add(sec_acls *s, const acl_binding *b)
{
    BROOK_ASSERT(sec_acl_invalid(b) == NULL);
    for (int i = 0; i < s->n; i++)
        if (same_binding(&s->v[i], b))
            return 0;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        acl_binding *v = realloc(s->v, sizeof(*v) * (size_t)cap);
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    acl_binding c = *b;
    c.name = strdup(b->name);
    c.principal = strdup(b->principal);
    c.host = strdup(b->host);
    if (!c.name || !c.principal || !c.host) {
        free_strings(&c);
        return -ENOMEM;
    }
    s->v[s->n++] = c;
    return 0;
}

void sec_acls_remove_at(sec_acls *s, int i)
{
    BROOK_ASSERT(i >= 0 && i < s->n);
    free_strings(&s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], sizeof(s->v[0]) * (size_t)(s->n - i - 1));
    s->n--;
}

void sec_acls_free(sec_acls *s)
{
    for (int i = 0; i < s->n; i++)
        free_strings(&s->v[i]);
    free(s->v);
    free(s->path);
    memset(s, 0, sizeof(*s));
}

static bool is_super(const acl_policy *p, const char *principal)
{
    size_t n = strlen(principal);
    for (const char *q = p->super_users; q && *q;) {
        size_t len = strcspn(q, ";");
        const char *t = q;
        size_t tl = len;
        while (tl && (*t == ' ')) /* "User:a; User:b" as Kafka's docs write it */
            t++, tl--;
        if (tl == n && strncmp(t, principal, n) == 0)
            return true;
        q += len + (q[len] == ';');
    }
    return false;
}

static bool who_matches(const acl_binding *b, const char *principal, const char *host)
{
    return (strcmp(b->principal, principal) == 0 || strcmp(b->principal, "User:*") == 0) &&
           (strcmp(b->host, host) == 0 || strcmp(b->host, "*") == 0);
}

/* Whether an ALLOW of binding op grants op (the implications of Kafka's AclAuthorizer). */
static bool allow_grants(int acl_op_v, int op)
{
    if (acl_op_v == ACL_OP_ALL || acl_op_v == op)
        return true;
    if (op == ACL_OP_DESCRIBE)
        return acl_op_v == ACL_OP_READ || acl_op_v == ACL_OP_WRITE ||
               acl_op_v == ACL_OP_DELETE || acl_op_v == ACL_OP_ALTER;
    if (op == ACL_OP_DESCRIBE_CONFIGS)
        return acl_op_v == ACL_OP_ALTER_CONFIGS;
    return false;
}

bool sec_acls_authorize(const sec_acls *s, const acl_policy *p, const char *principal,
                        const char *host, int op, int rt, const char *name)
{
    if (is_super(p, principal))
        return true;
    bool any = false, allowed = false;
    for (int i = 0; i < s->n; i++) {
        const acl_binding *b = &s->v[i];
        if (b->restype != rt || !pattern_covers(b, name))
            continue;
        any = true;
        if (!who_matches(b, principal, host))
            continue;
        if (b->perm == ACL_PERM_DENY && (b->op == ACL_OP_ALL || b->op == op))
            return false;
        if (b->perm == ACL_PERM_ALLOW && allow_grants(b->op, op))
            allowed = true;
    }
    return allowed || (!any && p->allow_if_none);
}

/* Whether a DENY for principal/host/op covers every name the ALLOW a applies to. */
static bool deny_covers(const sec_acls *s, const acl_binding *a, const char *principal,
                        const char *host, int op)
{
    for (int i = 0; i < s->n; i++) {
        const acl_binding *d = &s->v[i];
        if (d->perm != ACL_PERM_DENY || d->restype != a->restype ||
            !(d->op == ACL_OP_ALL || d->op == op) || !who_matches(d, principal, host))
            continue;
        if (d->pattern == ACL_PAT_LITERAL &&
            (strcmp(d->name, "*") == 0 ||
             (a->pattern == ACL_PAT_LITERAL && strcmp(d->name, a->name) == 0)))
            return true;
        if (d->pattern == ACL_PAT_PREFIXED && strncmp(a->name, d->name, strlen(d->name)) == 0)
            return true;
    }
    return false;
}

bool sec_acls_authorize_any(const sec_acls *s, const acl_policy *p, const char *principal,
                            const char *host, int op, int rt)
{
    if (is_super(p, principal))
        return true;
    bool any = false;
    for (int i = 0; i < s->n; i++) {
        const acl_binding *b = &s->v[i];
        if (b->restype != rt)
            continue;
        any = true;
        if (b->perm == ACL_PERM_ALLOW && allow_grants(b->op, op) &&
            who_matches(b, principal, host) && !deny_covers(s, b, principal, host, op))
            return true;
    }
    return !any && p->allow_if_none;
}

/* One line of the file into a binding; -1 on anything malformed. */
static int parse_line(char *line, sec_acls *s)
{
    char *tok[7];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t;
         t = strtok_r(NULL, " ", &save)) {
        if (n == 7)
            return -1;
        tok[n++] = t;
    }
    if (n != 7)
        return -1;
    long num[4];
    for (int i = 0; i < 4; i++) {
        char *end;
        num[i] = strtol(tok[i], &end, 10);
        if (*end || num[i] < 0 || num[i] > 127)
            return -1;
    }
    char str[3][SEC_ACL_NAME_MAX + 1];
    for (int i = 0; i < 3; i++) {
        int len = sec_b64_decode(tok[4 + i], strlen(tok[4 + i]), (uint8_t *)str[i],
                                 SEC_ACL_NAME_MAX);
        if (len <= 0 || memchr(str[i], 0, (size_t)len))
            return -1;
        str[i][len] = '\0';
    }
    acl_binding b = {(int8_t)num[0], (int8_t)num[1], (int8_t)num[2], (int8_t)num[3],
                     str[0],         str[1],         str[2]};
    if (sec_acl_invalid(&b))
        return -1;
    return sec_acls_add(s, &b) == 0 ? 0 : -1;
}

static int parse_line_cb(char *line, void *ctx) { return parse_line(line, ctx); }

int sec_acls_load(sec_acls *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    size_t pl = strlen(dir) + sizeof(SEC_ACLS_FILE) + 2;
    if (!(s->path = malloc(pl))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(s->path, pl, "%s/%s", dir, SEC_ACLS_FILE);
    return fs_load_lines(s->path, parse_line_cb, s, "not an ACL binding", err, errlen);
}

size_t sec_acl_format_line(const acl_binding *b, char *out, size_t cap)
{
    BROOK_ASSERT(cap >= SEC_ACL_LINE_MAX);
    char enc[3][B64_NAME];
    const char *str[3] = {b->name, b->principal, b->host};
    for (int k = 0; k < 3; k++)
        sec_b64_encode((const uint8_t *)str[k], strlen(str[k]), enc[k], B64_NAME);
    return (size_t)snprintf(out, cap, "%d %d %d %d %s %s %s", b->restype, b->pattern, b->op,
                            b->perm, enc[0], enc[1], enc[2]);
}

int sec_acls_parse(sec_acls *s, char *text)
{
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if (line[0] != '#' && parse_line(line, s) != 0)
            return -1;
    return 0;
}

int sec_acls_save(const sec_acls *s)
{
    if (!s->path)
        return 0;
    size_t cap = sizeof(HEADER) + (size_t)s->n * (SEC_ACL_LINE_MAX + 1);
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t off = (size_t)snprintf(buf, cap, "%s", HEADER);
    for (int i = 0; i < s->n; i++) {
        off += sec_acl_format_line(&s->v[i], buf + off, cap - off);
        buf[off++] = '\n';
    }
    int rc = fs_write_atomic(s->path, buf, off);
    free(buf);
    return rc;
}
