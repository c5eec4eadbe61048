/*
 * test_sec_acl.c - the ACL decisions of sec/acl.h against Kafka's rules: literal, wildcard
 * and prefixed resources, DENY over ALLOW, the implied DESCRIBE and DESCRIBE_CONFIGS,
 * User:* and host matches, super.users, allow.everyone.if.no.acl.found,
 * authorize-by-resource-type (idempotent writes), the filters of DescribeAcls/DeleteAcls
 * (ANY, MATCH, exact), binding validation, and the file (round trip, damage refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "sec/acl.h"
#include "testutil.h"

static acl_binding bind(int8_t rt, const char *name, int8_t pat, const char *who, int8_t op,
                        int8_t perm)
{
    return (acl_binding){rt, pat, op, perm, name, who, "*"};
}

static const acl_policy closed = {NULL, false};

static bool may(const sec_acls *s, const acl_policy *p, const char *who, acl_op op,
                acl_restype rt, const char *name)
{
    return sec_acls_authorize(s, p, who, "127.0.0.1", op, rt, name);
}

static void test_literal_prefixed_and_wildcard(void)
{
    sec_acls s = {0};
    acl_binding b[] = {
        bind(ACL_RES_TOPIC, "orders", ACL_PAT_LITERAL, "User:alice", ACL_OP_WRITE,
             ACL_PERM_ALLOW),
        bind(ACL_RES_TOPIC, "logs.", ACL_PAT_PREFIXED, "User:bob", ACL_OP_READ, ACL_PERM_ALLOW),
        bind(ACL_RES_TOPIC, "*", ACL_PAT_LITERAL, "User:carol", ACL_OP_ALL, ACL_PERM_ALLOW),
    };
    for (size_t i = 0; i < 3; i++)
        CHECK_EQ_INT(sec_acls_add(&s, &b[i]), 0);
    CHECK_EQ_INT(sec_acls_add(&s, &b[0]), 0); /* an identical binding is kept once */
    CHECK_EQ_INT(s.n, 3);
    CHECK(may(&s, &closed, "User:alice", ACL_OP_WRITE, ACL_RES_TOPIC, "orders"));
    CHECK(may(&s, &closed, "User:alice", ACL_OP_DESCRIBE, ACL_RES_TOPIC, "orders"));
    CHECK(!may(&s, &closed, "User:alice", ACL_OP_READ, ACL_RES_TOPIC, "orders"));
    CHECK(!may(&s, &closed, "User:alice", ACL_OP_WRITE, ACL_RES_TOPIC, "orders2"));
    CHECK(may(&s, &closed, "User:bob", ACL_OP_READ, ACL_RES_TOPIC, "logs.app"));
    CHECK(may(&s, &closed, "User:bob", ACL_OP_DESCRIBE, ACL_RES_TOPIC, "logs."));
    CHECK(!may(&s, &closed, "User:bob", ACL_OP_READ, ACL_RES_TOPIC, "log"));
    CHECK(!may(&s, &closed, "User:bob", ACL_OP_READ, ACL_RES_GROUP, "logs.app"));
    CHECK(may(&s, &closed, "User:carol", ACL_OP_DELETE, ACL_RES_TOPIC, "anything"));
    CHECK(!may(&s, &closed, "User:carol", ACL_OP_READ, ACL_RES_GROUP, "g"));
    /* no binding for groups: open only with allow.everyone.if.no.acl.found */
    acl_policy open = {NULL, true};
    CHECK(may(&s, &open, "User:dave", ACL_OP_READ, ACL_RES_GROUP, "g"));
    /* but a topic that bindings cover stays closed to others */
    CHECK(!may(&s, &open, "User:dave", ACL_OP_READ, ACL_RES_TOPIC, "orders"));
    sec_acls_free(&s);
}

static void test_deny_wins_and_implications(void)
{
    sec_acls s = {0};
    acl_binding b[] = {
        bind(ACL_RES_TOPIC, "t", ACL_PAT_LITERAL, "User:*", ACL_OP_ALL, ACL_PERM_ALLOW),
        bind(ACL_RES_TOPIC, "t", ACL_PAT_LITERAL, "User:eve", ACL_OP_WRITE, ACL_PERM_DENY),
        bind(ACL_RES_TOPIC, "cfg", ACL_PAT_LITERAL, "User:ann", ACL_OP_ALTER_CONFIGS,
             ACL_PERM_ALLOW),
        bind(ACL_RES_TOPIC, "secret", ACL_PAT_PREFIXED, "User:*", ACL_OP_ALL, ACL_PERM_DENY),
        bind(ACL_RES_TOPIC, "secret.x", ACL_PAT_LITERAL, "User:ann", ACL_OP_READ,
             ACL_PERM_ALLOW),
    };
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(sec_acls_add(&s, &b[i]), 0);
    CHECK(may(&s, &closed, "User:eve", ACL_OP_READ, ACL_RES_TOPIC, "t"));
    CHECK(!may(&s, &closed, "User:eve", ACL_OP_WRITE, ACL_RES_TOPIC, "t"));
    CHECK(may(&s, &closed, "User:joe", ACL_OP_WRITE, ACL_RES_TOPIC, "t"));
    CHECK(may(&s, &closed, "User:ann", ACL_OP_DESCRIBE_CONFIGS, ACL_RES_TOPIC, "cfg"));
    CHECK(!may(&s, &closed, "User:ann", ACL_OP_DESCRIBE, ACL_RES_TOPIC, "cfg"));
    CHECK(!may(&s, &closed, "User:ann", ACL_OP_READ, ACL_RES_TOPIC, "secret.x"));
    /* a host-specific binding */
    acl_binding h = {ACL_RES_GROUP, ACL_PAT_LITERAL, ACL_OP_READ, ACL_PERM_ALLOW, "g",
                     "User:ann", "10.0.0.1"};
    CHECK_EQ_INT(sec_acls_add(&s, &h), 0);
    CHECK(!may(&s, &closed, "User:ann", ACL_OP_READ, ACL_RES_GROUP, "g"));
    CHECK(sec_acls_authorize(&s, &closed, "User:ann", "10.0.0.1", ACL_OP_READ, ACL_RES_GROUP,
                             "g"));
    /* super users pass everything, DENY included */
    acl_policy sup = {"User:root; User:eve", false};
    CHECK(may(&s, &sup, "User:eve", ACL_OP_WRITE, ACL_RES_TOPIC, "t"));
    CHECK(may(&s, &sup, "User:root", ACL_OP_ALTER, ACL_RES_CLUSTER, SEC_ACL_CLUSTER_NAME));
    CHECK(!may(&s, &sup, "User:roo", ACL_OP_ALTER, ACL_RES_CLUSTER, SEC_ACL_CLUSTER_NAME));
    sec_acls_free(&s);
}

static void test_authorize_any(void)
{
    sec_acls s = {0};
    acl_binding w = bind(ACL_RES_TOPIC, "a.", ACL_PAT_PREFIXED, "User:p", ACL_OP_WRITE,
                         ACL_PERM_ALLOW);
    CHECK_EQ_INT(sec_acls_add(&s, &w), 0);
    CHECK(sec_acls_authorize_any(&s, &closed, "User:p", "1.2.3.4", ACL_OP_WRITE, ACL_RES_TOPIC));
    CHECK(!sec_acls_authorize_any(&s, &closed, "User:q", "1.2.3.4", ACL_OP_WRITE,
                                  ACL_RES_TOPIC));
    acl_binding d = bind(ACL_RES_TOPIC, "a", ACL_PAT_PREFIXED, "User:p", ACL_OP_WRITE,
                         ACL_PERM_DENY);
    CHECK_EQ_INT(sec_acls_add(&s, &d), 0); /* covers every name a. covers */
    CHECK(!sec_acls_authorize_any(&s, &closed, "User:p", "1.2.3.4", ACL_OP_WRITE,
                                  ACL_RES_TOPIC));
    acl_policy open = {NULL, true};
    CHECK(sec_acls_authorize_any(&s, &open, "User:p", "1.2.3.4", ACL_OP_WRITE, ACL_RES_GROUP));
    sec_acls_free(&s);
}

static void test_validation_and_filters(void)
{
    acl_binding ok = bind(ACL_RES_TOPIC, "t", ACL_PAT_LITERAL, "User:a", ACL_OP_READ,
                          ACL_PERM_ALLOW);
    CHECK(sec_acl_invalid(&ok) == NULL);
    acl_binding bad = ok;
    bad.pattern = ACL_PAT_MATCH;
    CHECK(sec_acl_invalid(&bad) != NULL);
    bad = ok, bad.op = ACL_OP_ANY;
    CHECK(sec_acl_invalid(&bad) != NULL);
    bad = ok, bad.principal = "alice";
    CHECK(sec_acl_invalid(&bad) != NULL);
    bad = ok, bad.restype = ACL_RES_CLUSTER;
    CHECK(sec_acl_invalid(&bad) != NULL); /* a cluster named t */
    bad.name = SEC_ACL_CLUSTER_NAME;
    CHECK(sec_acl_invalid(&bad) == NULL);
    bad = ok, bad.perm = ACL_PERM_ANY;
    CHECK(sec_acl_invalid(&bad) != NULL);

    acl_binding pre = bind(ACL_RES_TOPIC, "ab", ACL_PAT_PREFIXED, "User:a", ACL_OP_READ,
                           ACL_PERM_ALLOW);
    acl_binding any = {ACL_RES_ANY, ACL_PAT_ANY, ACL_OP_ANY, ACL_PERM_ANY, NULL, NULL, NULL};
    CHECK(sec_acl_filter_invalid(&any) == NULL);
    CHECK(sec_acl_filter_matches(&any, &ok) && sec_acl_filter_matches(&any, &pre));
    acl_binding f = any;
    f.pattern = ACL_PAT_MATCH, f.name = "abc";
    CHECK(sec_acl_filter_matches(&f, &pre) && !sec_acl_filter_matches(&f, &ok));
    f.pattern = ACL_PAT_LITERAL, f.name = "t";
    CHECK(sec_acl_filter_matches(&f, &ok) && !sec_acl_filter_matches(&f, &pre));
    f = any, f.pattern = ACL_PAT_ANY, f.name = "ab";
    CHECK(sec_acl_filter_matches(&f, &pre) && !sec_acl_filter_matches(&f, &ok));
    f = any, f.principal = "User:b";
    CHECK(!sec_acl_filter_matches(&f, &ok));
    f = any, f.op = ACL_OP_WRITE;
    CHECK(!sec_acl_filter_matches(&f, &ok));
    f = any, f.restype = ACL_RES_UNKNOWN;
    CHECK(sec_acl_filter_invalid(&f) != NULL);
    CHECK_EQ_STR(sec_acl_op_name(ACL_OP_IDEMPOTENT_WRITE), "IDEMPOTENT_WRITE");
    CHECK_EQ_STR(sec_acl_restype_name(99), "UNKNOWN");
}

static void test_acls_file(void)
{
    char dir[] = "/tmp/brook-acls-XXXXXX";
    if (!CHECK(mkdtemp(dir) != NULL))
        return;
    char err[256];
    sec_acls s;
    CHECK_EQ_INT(sec_acls_load(&s, dir, err, sizeof(err)), 0);
    CHECK_EQ_INT(s.n, 0);
    acl_binding a = bind(ACL_RES_TOPIC, "with space", ACL_PAT_PREFIXED, "User:x y",
                         ACL_OP_WRITE, ACL_PERM_DENY);
    acl_binding b = bind(ACL_RES_GROUP, "g", ACL_PAT_LITERAL, "User:*", ACL_OP_READ,
                         ACL_PERM_ALLOW);
    CHECK_EQ_INT(sec_acls_add(&s, &a), 0);
    CHECK_EQ_INT(sec_acls_add(&s, &b), 0);
    CHECK_EQ_INT(sec_acls_save(&s), 0);
    sec_acls_free(&s);
    CHECK_EQ_INT(sec_acls_load(&s, dir, err, sizeof(err)), 0);
    if (CHECK_EQ_INT(s.n, 2)) {
        CHECK_EQ_STR(s.v[0].name, "with space");
        CHECK_EQ_STR(s.v[0].principal, "User:x y");
        CHECK_EQ_INT(s.v[0].perm, ACL_PERM_DENY);
        CHECK_EQ_INT(s.v[0].pattern, ACL_PAT_PREFIXED);
        CHECK_EQ_STR(s.v[1].host, "*");
    }
    sec_acls_remove_at(&s, 0);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.v[0].name, "g");
    sec_acls_free(&s);
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_ACLS_FILE);
    CHECK_EQ_INT(fs_write_atomic(path, "# x\n2 3 4 3 dA== VXNlcjph\n", 26), 0);
    CHECK_EQ_INT(sec_acls_load(&s, dir, err, sizeof(err)), -1);
    CHECK(strstr(err, "line 2") != NULL);
    sec_acls_free(&s);
    CHECK_EQ_INT(fs_write_atomic(path, "2 2 4 3 dA== VXNlcjph Kg==\n", 27), 0); /* MATCH */
    CHECK_EQ_INT(sec_acls_load(&s, dir, err, sizeof(err)), -1);
    sec_acls_free(&s);
    CHECK_EQ_INT(fs_write_atomic(path, "2 3 4 3 dA== VXNlcjph Kg==\n", 27), 0);
    CHECK_EQ_INT(sec_acls_load(&s, dir, err, sizeof(err)), 0);
    CHECK_EQ_INT(s.n, 1);
    sec_acls_free(&s);
    CHECK_EQ_INT(fs_remove_tree(dir), 0);
}

/* A cluster keeps each binding as its line (a znode's name): format and parse round-trip,
 * names with spaces and slashes included; a malformed line stops the parse. */
static void test_acl_lines(void)
{
    acl_binding in[2] = {
        {ACL_RES_TOPIC, ACL_PAT_PREFIXED, ACL_OP_READ, ACL_PERM_ALLOW, "a b/c", "User:x y", "*"},
        {ACL_RES_GROUP, ACL_PAT_LITERAL, ACL_OP_ALL, ACL_PERM_DENY, "g", "User:*", "10.0.0.1"},
    };
    char text[2 * (SEC_ACL_LINE_MAX + 1)];
    size_t off = 0;
    for (int i = 0; i < 2; i++) {
        off += sec_acl_format_line(&in[i], text + off, sizeof(text) - off);
        CHECK(strchr(text + off - 1, '\n') == NULL);
        text[off++] = '\n';
    }
    text[off] = '\0';
    sec_acls s = {0};
    CHECK_EQ_INT(sec_acls_parse(&s, text), 0);
    if (CHECK_EQ_INT(s.n, 2))
        for (int i = 0; i < 2; i++)
            CHECK(s.v[i].restype == in[i].restype && s.v[i].op == in[i].op &&
                  strcmp(s.v[i].name, in[i].name) == 0 &&
                  strcmp(s.v[i].principal, in[i].principal) == 0 &&
                  strcmp(s.v[i].host, in[i].host) == 0);
    char bad[] = "2 3 4 3 QQ== notbase64!\n";
    CHECK_EQ_INT(sec_acls_parse(&s, bad), -1);
    sec_acls_free(&s);
}

TU_MAIN(TU_CASE(test_literal_prefixed_and_wildcard), TU_CASE(test_deny_wins_and_implications),
        TU_CASE(test_authorize_any), TU_CASE(test_validation_and_filters),
        TU_CASE(test_acls_file), TU_CASE(test_acl_lines))
