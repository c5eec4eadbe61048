/*
 * acl.h - Kafka's access control lists: the bindings (resource type, name and pattern,
 * principal, host, operation, allow or deny), the filters of DescribeAcls and DeleteAcls,
 * and the decision "may this principal from this host do this to this resource", with
 * Kafka's rules: super users may do anything; a matching DENY wins over any ALLOW; an ALLOW
 * of READ, WRITE, DELETE or ALTER implies DESCRIBE and one of ALTER_CONFIGS implies
 * DESCRIBE_CONFIGS; a resource no binding matches is open only with
 * allow.everyone.if.no.acl.found. The numbers are the protocol's (AclOperation etc.).
 * Owns: the bindings (strings malloc'd) and <data dir>/acls, replaced atomically and fsynced
 * by sec_acls_save before a change is answered.
 * Never: does I/O other than that file; loads a file it cannot parse completely (a damaged
 * file stops the broker rather than dropping a DENY silently).
 */
#ifndef BROOK_SEC_ACL_H
#define BROOK_SEC_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEC_ACLS_FILE "acls"
#define SEC_ACL_CLUSTER_NAME "kafka-cluster" /* the one name of the CLUSTER resource */
#define SEC_ACL_NAME_MAX 1024

typedef enum acl_restype {
    ACL_RES_UNKNOWN = 0,
    ACL_RES_ANY = 1,
    ACL_RES_TOPIC = 2,
    ACL_RES_GROUP = 3,
    ACL_RES_CLUSTER = 4,
    ACL_RES_TXN_ID = 5,
    ACL_RES_DELEGATION_TOKEN = 6,
    ACL_RES_USER = 7,
} acl_restype;

typedef enum acl_pattern {
    ACL_PAT_UNKNOWN = 0,
    ACL_PAT_ANY = 1,   /* filters only */
    ACL_PAT_MATCH = 2, /* filters only: every binding that would apply to the name */
    ACL_PAT_LITERAL = 3,
    ACL_PAT_PREFIXED = 4,
} acl_pattern;

typedef enum acl_op {
    ACL_OP_UNKNOWN = 0,
    ACL_OP_ANY = 1, /* filters only */
    ACL_OP_ALL = 2,
    ACL_OP_READ = 3,
    ACL_OP_WRITE = 4,
    ACL_OP_CREATE = 5,
    ACL_OP_DELETE = 6,
    ACL_OP_ALTER = 7,
    ACL_OP_DESCRIBE = 8,
    ACL_OP_CLUSTER_ACTION = 9,
    ACL_OP_DESCRIBE_CONFIGS = 10,
    ACL_OP_ALTER_CONFIGS = 11,
    ACL_OP_IDEMPOTENT_WRITE = 12,
    ACL_OP_CREATE_TOKENS = 13,
    ACL_OP_DESCRIBE_TOKENS = 14,
} acl_op;
#define ACL_OP_MAX ACL_OP_DESCRIBE_TOKENS

typedef enum acl_perm {
    ACL_PERM_UNKNOWN = 0,
    ACL_PERM_ANY = 1, /* filters only */
    ACL_PERM_DENY = 2,
    ACL_PERM_ALLOW = 3,
} acl_perm;

/* One binding, or (with NULL strings meaning "any") one filter. */
typedef struct acl_binding {
    int8_t restype, pattern, op, perm;
    const char *name, *principal, *host;
} acl_binding;

typedef struct sec_acls {
    acl_binding *v; /* strings owned (malloc'd) */
    int n, cap;
    char *path; /* the file; NULL: memory only (tests) */
} sec_acls;

/* Who asks and how open the broker is: super.users and allow.everyone.if.no.acl.found. */
typedef struct acl_policy {
    const char *super_users; /* "User:a;User:b" or NULL */
    bool allow_if_none;
} acl_policy;

/* Loads dir/acls (a missing file is an empty set). Returns 0, or -1 with err. */
int sec_acls_load(sec_acls *s, const char *dir, char *err, size_t errlen);
void sec_acls_free(sec_acls *s);
/* Whether b can be stored: NULL, or what is wrong with it (for INVALID_REQUEST). */
const char *sec_acl_invalid(const acl_binding *b);
/* Whether f can be used as a filter: NULL, or what is wrong with it. */
const char *sec_acl_filter_invalid(const acl_binding *f);
bool sec_acl_filter_matches(const acl_binding *f, const acl_binding *b);
/* Adds a copy of b (valid); an identical binding is kept once. Returns 0 or -ENOMEM. */
int sec_acls_add(sec_acls *s, const acl_binding *b);
/* Removes binding i (its strings freed; the order of the others kept). */
void sec_acls_remove_at(sec_acls *s, int i);
/* Writes the file (atomic, fsynced). Returns 0 or -errno. */
int sec_acls_save(const sec_acls *s);
/* Bytes of one binding's line (as in the file, without the newline), NUL included. */
#define SEC_ACL_LINE_MAX (3 * (4 * ((SEC_ACL_NAME_MAX + 2) / 3) + 1) + 32)
/* One binding's line of the file (no newline) into out (cap >= SEC_ACL_LINE_MAX). Returns
 * its length. */
size_t sec_acl_format_line(const acl_binding *b, char *out, size_t cap);
/* Adds the bindings of text (lines as in the file; '#' lines skipped; modified in place).
 * Returns 0, or -1 at the first line that is not a valid binding (those before it kept). */
int sec_acls_parse(sec_acls *s, char *text);

/* Whether principal ("User:name") from host (an IP) may do op to the named resource. */
bool sec_acls_authorize(const sec_acls *s, const acl_policy *p, const char *principal,
                        const char *host, int op, int rt, const char *name);
/* Whether it may do op to at least one resource of type rt (Kafka's authorizeByResourceType:
 * an ALLOW somewhere that no DENY covers). */
bool sec_acls_authorize_any(const sec_acls *s, const acl_policy *p, const char *principal,
                            const char *host, int op, int rt);

/* Names as Kafka prints them ("TOPIC", "PREFIXED", "READ", "ALLOW"); "UNKNOWN" otherwise. */
const char *sec_acl_restype_name(int v);
const char *sec_acl_pattern_name(int v);
const char *sec_acl_op_name(int v);
const char *sec_acl_perm_name(int v);

#endif
