/*
 * test_base_config.c - the properties parser (comments, the three separators, continuations,
 * escapes, CRLF) and the table-driven setter (ranges, booleans, enums, unknown keys; every
 * error names its key), on a sample table.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/limits.h"
#include "testutil.h"

/* ---- the parser, observed through a callback that records every pair ---- */

enum { MAX_PAIRS = 16, MAX_TEXT = 256 };
typedef struct pairs {
    int n;
    char key[MAX_PAIRS][MAX_TEXT];
    char value[MAX_PAIRS][MAX_TEXT];
    int fail_at; /* the callback fails on this pair (1-based); 0 never */
} pairs;

static int record_pair(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    pairs *ps = ctx;
    if (ps->n >= MAX_PAIRS) {
        snprintf(err, errlen, "too many pairs");
        return -1;
    }
    snprintf(ps->key[ps->n], MAX_TEXT, "%s", key);
    snprintf(ps->value[ps->n], MAX_TEXT, "%s", value);
    ps->n++;
    if (ps->n == ps->fail_at) {
        snprintf(err, errlen, "callback refused '%s'", key);
        return -1;
    }
    return 0;
}

static int parse(const char *text, pairs *ps)
{
    char err[256] = "";
    memset(ps, 0, sizeof(*ps));
    int rc = config_parse_string(text, record_pair, ps, err, sizeof(err));
    if (rc != 0)
        printf("  (parse error: %s)\n", err);
    return rc;
}

/* Checks the pairs against a NULL-terminated list of key, value, key, value, ... */
static void check_pairs(const pairs *ps, const char *const *want, const char *what)
{
    int n = 0;
    while (want[2 * n])
        n++;
    bool ok = CHECK_EQ_INT(ps->n, n);
    for (int i = 0; i < n && i < ps->n; i++) {
        ok &= CHECK_EQ_STR(ps->key[i], want[2 * i]);
        ok &= CHECK_EQ_STR(ps->value[i], want[2 * i + 1]);
    }
    if (!ok)
        printf("  (in case: %s)\n", what);
}

static void test_parse_separators_and_comments(void)
{
    pairs ps;
    const char *text = "# a comment\n"
                       "! also a comment\n"
                       "\n"
                       "   \t \n"
                       "k1=v1\n"
                       "k2: v2\n"
                       "k3 v3\n"
                       "   k4  =   v4 with spaces  \n"
                       "k5\t:\tv5\n"
                       "k6=a=b:c\n"
                       "k7\n"
                       "k8=\n"
                       "  # indented comment\n"
                       "k9 = x # not a comment\n"
                       "last=no-newline";
    CHECK_EQ_INT(parse(text, &ps), 0);
    static const char *const want[] = {
        "k1", "v1",    "k2", "v2", "k3", "v3", "k4", "v4 with spaces",    "k5",   "v5",
        "k6", "a=b:c", "k7", "",   "k8", "",   "k9", "x # not a comment", "last", "no-newline",
        NULL};
    check_pairs(&ps, want, "separators");

    CHECK_EQ_INT(parse("", &ps), 0);
    CHECK_EQ_INT(ps.n, 0);
    CHECK_EQ_INT(parse("\n\n# only comments\n", &ps), 0);
    CHECK_EQ_INT(ps.n, 0);
}

static void test_parse_continuations(void)
{
    pairs ps;
    CHECK_EQ_INT(parse("list = a,\\\n      b,\\\n\tc\nnext=1\n", &ps), 0);
    static const char *const want1[] = {"list", "a,b,c", "next", "1", NULL};
    check_pairs(&ps, want1, "continuation");

    /* An even number of trailing backslashes is an escaped backslash, not a continuation. */
    CHECK_EQ_INT(parse("dir=C:\\\\\nnext=2\n", &ps), 0);
    static const char *const want2[] = {"dir", "C:\\", "next", "2", NULL};
    check_pairs(&ps, want2, "even backslashes");

    /* Three: one escaped backslash, then a continuation. */
    CHECK_EQ_INT(parse("a=x\\\\\\\n  y\n", &ps), 0);
    static const char *const want3[] = {"a", "x\\y", NULL};
    check_pairs(&ps, want3, "odd backslashes");

    /* A continuation on the last line of the text ends the value. */
    CHECK_EQ_INT(parse("a=x\\", &ps), 0);
    static const char *const want4[] = {"a", "x", NULL};
    check_pairs(&ps, want4, "continuation at end of text");

    /* The key itself can continue. */
    CHECK_EQ_INT(parse("lo\\\n  ng=1\n", &ps), 0);
    static const char *const want5[] = {"long", "1", NULL};
    check_pairs(&ps, want5, "continued key");
}

static void test_parse_escapes(void)
{
    pairs ps;
    CHECK_EQ_INT(parse("k\\=x\\:y\\ z = t\\tn\\nr\\r\\\\q\\#\n", &ps), 0);
    static const char *const want[] = {"k=x:y z", "t\tn\nr\r\\q#", NULL};
    check_pairs(&ps, want, "escapes");
}

static void test_parse_crlf(void)
{
    pairs ps;
    CHECK_EQ_INT(parse("# c\r\na=1\r\nb : 2\r\nc=x\\\r\n   y\r\n\r\nd=4", &ps), 0);
    static const char *const want[] = {"a", "1", "b", "2", "c", "xy", "d", "4", NULL};
    check_pairs(&ps, want, "crlf");
}

/* Java's Properties never continues a comment line, even one ending in a backslash, so
 * the line after it is a pair of its own. */
static void test_parse_comment_ending_in_backslash(void)
{
    pairs ps;
    CHECK_EQ_INT(parse("# see C:\\\nkey=value\n", &ps), 0);
    static const char *const want[] = {"key", "value", NULL};
    check_pairs(&ps, want, "comment ending in backslash");
}

static void test_parse_errors(void)
{
    pairs ps;
    char err[256] = "";
    /* The callback's failure stops parsing and its message comes back. */
    memset(&ps, 0, sizeof(ps));
    ps.fail_at = 2;
    CHECK_EQ_INT(config_parse_string("a=1\nb=2\nc=3\n", record_pair, &ps, err, sizeof(err)), -1);
    CHECK_EQ_INT(ps.n, 2);
    CHECK(strstr(err, "'b'") != NULL);

    /* A key longer than BROOK_CONFIG_KEY_MAX. */
    char *text = malloc(BROOK_CONFIG_KEY_MAX + 16);
    memset(text, 'k', BROOK_CONFIG_KEY_MAX + 8);
    memcpy(text + BROOK_CONFIG_KEY_MAX + 8, "=v\n", 4);
    memset(&ps, 0, sizeof(ps));
    err[0] = '\0';
    CHECK_EQ_INT(config_parse_string(text, record_pair, &ps, err, sizeof(err)), -1);
    CHECK(strstr(err, "key too long") != NULL);
    CHECK_EQ_INT(ps.n, 0);
    /* The longest key that fits. */
    memset(text, 'k', BROOK_CONFIG_KEY_MAX - 1);
    memcpy(text + BROOK_CONFIG_KEY_MAX - 1, "=v\n", 4);
    CHECK_EQ_INT(parse(text, &ps), 0);
    CHECK(ps.n == 1 && strlen(ps.key[0]) == BROOK_CONFIG_KEY_MAX - 1);
    free(text);

    /* A logical line longer than BROOK_CONFIG_LINE_MAX, through continuations. */
    size_t n = 2 * BROOK_CONFIG_LINE_MAX;
    text = malloc(n + 1);
    memcpy(text, "k=", 2);
    for (size_t i = 2; i < n; i++)
        text[i] = (i % 8 == 6) ? '\\' : (i % 8 == 7) ? '\n' : 'x';
    text[n] = '\0';
    memset(&ps, 0, sizeof(ps));
    err[0] = '\0';
    CHECK_EQ_INT(config_parse_string(text, record_pair, &ps, err, sizeof(err)), -1);
    CHECK(strstr(err, "too long") != NULL);
    free(text);
}

static void test_parse_file(void)
{
    char path[] = "/tmp/brook_test_config_XXXXXX";
    int fd = mkstemp(path);
    if (!CHECK(fd >= 0))
        return;
    FILE *f = fdopen(fd, "w");
    /* Big enough to make the reader grow its buffer a few times. */
    for (int i = 0; i < 2000; i++)
        fprintf(f, "# filler line %d to make the file longer than one read\n", i);
    fprintf(f, "node.id=3\nlog.dirs = /var/lib/brook\n");
    fclose(f);
    pairs ps;
    memset(&ps, 0, sizeof(ps));
    char err[256] = "";
    CHECK_EQ_INT(config_parse_file(path, record_pair, &ps, err, sizeof(err)), 0);
    static const char *const want[] = {"node.id", "3", "log.dirs", "/var/lib/brook", NULL};
    check_pairs(&ps, want, "file");
    unlink(path);

    CHECK_EQ_INT(config_parse_file(path, record_pair, &ps, err, sizeof(err)), -1);
    CHECK(strstr(err, path) != NULL);
}

/* ---- the setter, on a sample table ---- */

typedef struct sample {
    int32_t port;
    int64_t retention_ms;
    bool auto_create;
    char *name;
    char *policy;
    int32_t no_default;
} sample;

static const config_def g_defs[] = {
    {"port", CFG_INT32, "9092", 1, 65535, NULL, offsetof(sample, port), "listener port"},
    {"retention.ms", CFG_INT64, "-1", -1, INT64_MAX, NULL, offsetof(sample, retention_ms),
     "retention"},
    {"auto.create", CFG_BOOL, "true", 0, 0, NULL, offsetof(sample, auto_create), "auto"},
    {"name", CFG_STRING, NULL, 0, 0, NULL, offsetof(sample, name), "a name"},
    {"cleanup.policy", CFG_ENUM, "delete", 0, 0, "delete|compact", offsetof(sample, policy),
     "policy"},
    {"no.default", CFG_INT32, NULL, INT32_MIN, INT32_MAX, NULL, offsetof(sample, no_default), "x"},
};
#define NDEFS (sizeof(g_defs) / sizeof(g_defs[0]))

static int set(sample *s, const char *key, const char *value, char *err)
{
    err[0] = '\0';
    return config_set(g_defs, NDEFS, s, key, value, err, 256);
}

static void test_defaults_format_free(void)
{
    sample s;
    memset(&s, 0, sizeof(s));
    config_defaults(g_defs, NDEFS, &s);
    CHECK_EQ_INT(s.port, 9092);
    CHECK_EQ_INT(s.retention_ms, -1);
    CHECK(s.auto_create);
    CHECK(s.name == NULL);
    CHECK_EQ_STR(s.policy, "delete");
    CHECK_EQ_INT(s.no_default, 0);

    char out[64];
    config_format(config_find(g_defs, NDEFS, "port"), &s, out, sizeof(out));
    CHECK_EQ_STR(out, "9092");
    config_format(config_find(g_defs, NDEFS, "retention.ms"), &s, out, sizeof(out));
    CHECK_EQ_STR(out, "-1");
    config_format(config_find(g_defs, NDEFS, "auto.create"), &s, out, sizeof(out));
    CHECK_EQ_STR(out, "true");
    config_format(config_find(g_defs, NDEFS, "name"), &s, out, sizeof(out));
    CHECK_EQ_STR(out, "");
    config_format(config_find(g_defs, NDEFS, "cleanup.policy"), &s, out, sizeof(out));
    CHECK_EQ_STR(out, "delete");

    CHECK(config_find(g_defs, NDEFS, "nope") == NULL);
    CHECK(config_find(g_defs, NDEFS, "por") == NULL);

    config_free(g_defs, NDEFS, &s);
    CHECK(s.name == NULL && s.policy == NULL);
}

static void test_set_numbers(void)
{
    sample s;
    memset(&s, 0, sizeof(s));
    char err[256];
    CHECK_EQ_INT(set(&s, "port", "1", err), 0);
    CHECK_EQ_INT(s.port, 1);
    CHECK_EQ_INT(set(&s, "port", "65535", err), 0);
    CHECK_EQ_INT(s.port, 65535);
    static const char *const bad_ports[] = {
        "0", "65536", "-1", "", "abc", "12abc", "1.5", "0x10", "1e3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
        if (!CHECK_EQ_INT(set(&s, "port", bad_ports[i], err), -1) ||
            !CHECK(strstr(err, "'port'") != NULL))
            printf("  (value \"%s\", err \"%s\")\n", bad_ports[i], err);
    }
    CHECK_EQ_INT(s.port, 65535); /* a refused value leaves the old one */

    CHECK_EQ_INT(set(&s, "retention.ms", "9223372036854775807", err), 0);
    CHECK(s.retention_ms == INT64_MAX);
    CHECK_EQ_INT(set(&s, "retention.ms", "9223372036854775808", err), -1);
    CHECK(strstr(err, "'retention.ms'") != NULL);
    CHECK_EQ_INT(set(&s, "retention.ms", "-2", err), -1);
    CHECK_EQ_INT(set(&s, "retention.ms", "-1", err), 0);
    CHECK_EQ_INT(s.retention_ms, -1);

    CHECK_EQ_INT(set(&s, "no.default", "-2147483648", err), 0);
    CHECK_EQ_INT(s.no_default, INT32_MIN);
    CHECK_EQ_INT(set(&s, "no.default", "2147483648", err), -1);
    CHECK_EQ_INT(set(&s, "no.default", "-2147483649", err), -1);

    int64_t v = 0;
    CHECK_EQ_INT(config_parse_i64("-9223372036854775808", &v), 0);
    CHECK(v == INT64_MIN);
    CHECK_EQ_INT(config_parse_i64("-9223372036854775809", &v), -1);
    CHECK_EQ_INT(config_parse_i64(NULL, &v), -1);
    CHECK_EQ_INT(config_parse_i64("", &v), -1);
    CHECK_EQ_INT(config_parse_i64("12 ", &v), -1);
}

static void test_set_bools_enums_strings(void)
{
    sample s;
    memset(&s, 0, sizeof(s));
    char err[256];
    CHECK_EQ_INT(set(&s, "auto.create", "true", err), 0);
    CHECK(s.auto_create);
    CHECK_EQ_INT(set(&s, "auto.create", "false", err), 0);
    CHECK(!s.auto_create);
    static const char *const bad_bools[] = {"yes", "1", "0", "", "truee", "t", "false "};
    for (size_t i = 0; i < sizeof(bad_bools) / sizeof(bad_bools[0]); i++) {
        if (!CHECK_EQ_INT(set(&s, "auto.create", bad_bools[i], err), -1) ||
            !CHECK(strstr(err, "'auto.create'") != NULL))
            printf("  (value \"%s\", err \"%s\")\n", bad_bools[i], err);
    }
    CHECK(!s.auto_create);

    CHECK_EQ_INT(set(&s, "cleanup.policy", "compact", err), 0);
    CHECK_EQ_STR(s.policy, "compact");
    CHECK_EQ_INT(set(&s, "cleanup.policy", "delete", err), 0);
    CHECK_EQ_STR(s.policy, "delete");
    static const char *const bad_enums[] = {"",  "del",      "deletes", "delete|compact",
                                            "|", "compact|", "DELETE"};
    for (size_t i = 0; i < sizeof(bad_enums) / sizeof(bad_enums[0]); i++) {
        if (!CHECK_EQ_INT(set(&s, "cleanup.policy", bad_enums[i], err), -1) ||
            !CHECK(strstr(err, "'cleanup.policy'") != NULL))
            printf("  (value \"%s\", err \"%s\")\n", bad_enums[i], err);
    }
    CHECK_EQ_STR(s.policy, "delete");

    /* Strings are copied, and replacing one frees the old copy (LeakSanitizer checks). */
    char value[] = "first";
    CHECK_EQ_INT(set(&s, "name", value, err), 0);
    value[0] = 'F';
    CHECK_EQ_STR(s.name, "first");
    CHECK_EQ_INT(set(&s, "name", "", err), 0);
    CHECK_EQ_STR(s.name, "");
    CHECK_EQ_INT(set(&s, "name", "second", err), 0);
    CHECK_EQ_STR(s.name, "second");

    CHECK_EQ_INT(set(&s, "no.such.key", "1", err), -1);
    CHECK(strstr(err, "'no.such.key'") != NULL);
    CHECK_EQ_INT(set(&s, "Port", "1", err), -1); /* keys are case-sensitive */
    CHECK(strstr(err, "'Port'") != NULL);

    /* A short error buffer is truncated, not overrun. */
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    CHECK_EQ_INT(config_set(g_defs, NDEFS, &s, "no.such.key", "1", tiny, 4), -1);
    CHECK(tiny[3] == '\0' && tiny[4] == 'x');

    config_free(g_defs, NDEFS, &s);
}

/* The parser feeding the setter, as brookd does with its properties file. */
static int apply(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    return config_set(g_defs, NDEFS, ctx, key, value, err, errlen);
}

static void test_parse_into_table(void)
{
    sample s;
    memset(&s, 0, sizeof(s));
    config_defaults(g_defs, NDEFS, &s);
    char err[256] = "";
    CHECK_EQ_INT(config_parse_string("port=19092\r\nname = my\\ttab\r\ncleanup.policy: compact\n",
                                     apply, &s, err, sizeof(err)),
                 0);
    CHECK_EQ_INT(s.port, 19092);
    CHECK_EQ_STR(s.name, "my\ttab");
    CHECK_EQ_STR(s.policy, "compact");

    CHECK_EQ_INT(config_parse_string("port=1\nbogus=2\nport=3\n", apply, &s, err, sizeof(err)), -1);
    CHECK(strstr(err, "'bogus'") != NULL);
    CHECK_EQ_INT(s.port, 1);
    config_free(g_defs, NDEFS, &s);
}

TU_MAIN(TU_CASE(test_parse_separators_and_comments), TU_CASE(test_parse_continuations),
        TU_CASE(test_parse_escapes), TU_CASE(test_parse_crlf),
        TU_CASE(test_parse_comment_ending_in_backslash), TU_CASE(test_parse_errors),
        TU_CASE(test_parse_file), TU_CASE(test_defaults_format_free), TU_CASE(test_set_numbers),
        TU_CASE(test_set_bools_enums_strings), TU_CASE(test_parse_into_table))
