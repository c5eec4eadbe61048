/* Unit tests of stream/ops (and stream/window under it): the operator lines, the record
 * operators, windows, aggregates, the changelog, and the restore property. */
#include "stream/ops.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_rec(sbuf *b, const st_record *r)
{
    char ts[32];
    if (r->key)
        sb_add(b, r->key, r->key_len);
    else
        sb_str(b, "-");
    sb_str(b, " ");
    if (r->value)
        sb_add(b, r->value, r->value_len);
    else
        sb_str(b, "<tombstone>");
    snprintf(ts, sizeof(ts), " %lld\n", (long long)r->ts_ms);
    sb_str(b, ts);
}

static st_topology *topo_(const char *const *ops, size_t n)
{
    char err[256] = "";
    st_topology *t = st_topology_new(ops, n, err, sizeof(err));
    if (!t)
        printf("  topology: %s\n", err);
    return t;
}
#define TOPO(...)                                                                              \
    topo_((const char *const[]){__VA_ARGS__},                                                  \
          sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static char g_err[512];

/* Processes one record; the outputs as "key value ts" lines (or "ERR <reason>"). */
static const char *feed(st_topology *t, const char *key, const char *json, int64_t ts)
{
    static sbuf b;
    st_records out = {0};
    b.n = 0;
    sb_str(&b, "");
    g_err[0] = '\0';
    int rc = st_process(t, key, key ? strlen(key) : 0, json, json ? strlen(json) : 0, ts, &out,
                        g_err, sizeof(g_err));
    if (rc < 0) {
        sb_str(&b, "ERR ");
        sb_str(&b, g_err);
        CHECK_EQ_INT(out.n, 0);
    } else {
        for (size_t i = 0; i < out.n; i++)
            sb_rec(&b, &out.v[i]);
    }
    st_records_clear(&out);
    return b.p;
}

static const char *drain(st_topology *t)
{
    static sbuf b;
    st_records cl = {0};
    b.n = 0;
    sb_str(&b, "");
    int n = st_drain_changelog(t, &cl);
    CHECK_EQ_INT(n, cl.n);
    for (size_t i = 0; i < cl.n; i++)
        sb_rec(&b, &cl.v[i]);
    st_records_clear(&cl);
    return b.p;
}

static st_stats stats(const st_topology *t)
{
    st_stats s;
    st_stats_get(t, &s);
    return s;
}

/* ---- record operators ----------------------------------------------------------------------- */

static void test_passthrough_and_filter(void)
{
    st_topology *t = TOPO("filter n > 2 and lower(kind) == \"click\"");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k1", "{\"n\":3,\"kind\":\"CLICK\"}", 100),
                 "k1 {\"n\":3,\"kind\":\"CLICK\"} 100\n");
    CHECK_EQ_STR(feed(t, "k1", "{\"n\":1,\"kind\":\"click\"}", 101), "");
    CHECK_EQ_STR(feed(t, NULL, "{\"kind\":\"click\",\"n\":5.0}", 102),
                 "- {\"kind\":\"click\",\"n\":5} 102\n");
    /* Missing fields are null: ordering null is an error, so the record is bad. */
    CHECK_EQ_STR(feed(t, "k", "{\"kind\":\"click\"}", 103),
                 "ERR op.1 (filter): position 10: '>' cannot order null and number (only two "
                 "numbers or two strings)");
    CHECK_EQ_STR(feed(t, "k", "{\"n\":", 104), "ERR malformed JSON at byte 5");
    CHECK_EQ_STR(feed(t, "k", NULL, 105), ""); /* a tombstone: skipped */
    st_stats s = stats(t);
    CHECK_EQ_INT(s.in, 6);
    CHECK_EQ_INT(s.out, 2);
    CHECK_EQ_INT(s.filtered, 2);
    CHECK_EQ_INT(s.state_entries, 0);
    CHECK_EQ_INT(s.watermark_ms, INT64_MIN);
    CHECK(!st_topology_windowed(t));
    CHECK_EQ_STR(drain(t), "");
    char err[64];
    CHECK_EQ_INT(st_restore(t, "a|x", 3, "{}", 2, err, sizeof(err)), -1);
    CHECK_EQ_STR(err, "this pipeline keeps no state (it has no aggregate)");
    st_topology_free(t);

    t = TOPO(); /* no operators: every record passes as it is (in canonical JSON) */
    if (CHECK(t != NULL))
        CHECK_EQ_STR(feed(t, "k", " { \"a\" : [ 1 , 2.50 ] } ", 1), "k {\"a\":[1,2.5]} 1\n");
    st_topology_free(t);
}

static void test_map_project(void)
{
    st_topology *t = TOPO("map total = price * qty, a.b.c = upper(name), seen = true, "
                          "double = total * 2");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{\"price\":2.5,\"qty\":4,\"name\":\"x\",\"a\":null}", 1),
                 "k {\"price\":2.5,\"qty\":4,\"name\":\"x\",\"a\":{\"b\":{\"c\":\"X\"}},"
                 "\"total\":10,\"seen\":true,\"double\":20} 1\n");
    /* Overwriting keeps the field's place. */
    CHECK_EQ_STR(feed(t, "k", "{\"total\":0,\"price\":1,\"qty\":1,\"name\":\"y\",\"seen\":1}", 2),
                 "k {\"total\":1,\"price\":1,\"qty\":1,\"name\":\"y\",\"seen\":true,"
                 "\"a\":{\"b\":{\"c\":\"Y\"}},\"double\":2} 2\n");
    CHECK_EQ_STR(feed(t, "k", "{\"price\":1,\"qty\":1,\"name\":\"y\",\"a\":5}", 3),
                 "ERR op.1 (map): the field 'a' is a number, not an object");
    CHECK_EQ_STR(feed(t, "k", "{\"price\":\"1\",\"qty\":1}", 4),
                 "ERR op.1 (map): position 19: '*' needs numbers, got string and number");
    CHECK_EQ_STR(feed(t, "k", "[1]", 5), "ERR op.1 (map): the record is not an object (array)");
    st_topology_free(t);

    const char *bad_project[] = {"project user, items[0] as_is"};
    char err[128];
    CHECK(st_topology_new(bad_project, 1, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "op.1: position 15: project takes field paths ending in a name, or name "
                      "= expression");
    t = TOPO("project user, n = amount * 2, a.b, [\"odd key\"], first = items[0]",
             "filter n > 0");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{\"amount\":3,\"user\":\"u\",\"a\":{\"b\":[1]},\"odd key\":1,"
                              "\"items\":[9],\"other\":1}", 7),
                 "k {\"user\":\"u\",\"n\":6,\"b\":[1],\"odd key\":1,\"first\":9} 7\n");
    CHECK_EQ_STR(feed(t, "k", "{\"amount\":1}", 8),
                 "k {\"user\":null,\"n\":2,\"b\":null,\"odd key\":null,\"first\":null} 8\n");
    CHECK_EQ_STR(feed(t, "k", "{\"amount\":-1}", 9), "");
    st_topology_free(t);
}

static void test_flat_map_key_by(void)
{
    st_topology *t = TOPO("flat_map order.items", "key_by order.items.sku", "map n = 1");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{\"id\":1,\"order\":{\"items\":[{\"sku\":\"a\"},{\"sku\":7}]}}", 5),
                 "a {\"id\":1,\"order\":{\"items\":{\"sku\":\"a\"}},\"n\":1} 5\n"
                 "7 {\"id\":1,\"order\":{\"items\":{\"sku\":7}},\"n\":1} 5\n");
    CHECK_EQ_STR(feed(t, "k", "{\"order\":{\"items\":[]}}", 6), "");
    CHECK_EQ_STR(feed(t, "k", "{\"order\":{}}", 6), ""); /* missing: no records */
    CHECK_EQ_STR(feed(t, "k", "{\"order\":{\"items\":3}}", 6),
                 "ERR op.1 (flat_map): the field is a number, not an array");
    /* key_by: str() of the value. */
    CHECK_EQ_STR(feed(t, "k", "{\"order\":{\"items\":[{\"sku\":null},{\"sku\":[1,\"x\"]},"
                              "{\"sku\":1.5},{\"sku\":true}]}}", 6),
                 "null {\"order\":{\"items\":{\"sku\":null}},\"n\":1} 6\n"
                 "[1,\"x\"] {\"order\":{\"items\":{\"sku\":[1,\"x\"]}},\"n\":1} 6\n"
                 "1.5 {\"order\":{\"items\":{\"sku\":1.5}},\"n\":1} 6\n"
                 "true {\"order\":{\"items\":{\"sku\":true}},\"n\":1} 6\n");
    st_topology_free(t);

    /* A fan-out beyond ST_FANOUT_MAX refuses the record. */
    t = TOPO("flat_map a", "flat_map b");
    if (!CHECK(t != NULL))
        return;
    sbuf big = {0};
    sb_str(&big, "{\"a\":[");
    for (int i = 0; i < 400; i++)
        sb_str(&big, i ? ",0" : "0");
    sb_str(&big, "],\"b\":[");
    for (int i = 0; i < 400; i++)
        sb_str(&big, i ? ",0" : "0");
    sb_str(&big, "]}");
    CHECK_EQ_STR(feed(t, NULL, big.p, 1),
                 "ERR op.2 (flat_map): more than 100000 records from one input");
    free(big.p);
    st_topology_free(t);
}

static void test_topology_errors(void)
{
    static const struct {
        const char *ops[4];
        const char *want;
    } cases[] = {
        {{"frobnicate x"}, "op.1: position 1: unknown operator 'frobnicate x'"},
        {{"filter"}, "op.1: position 7: expected an expression, found the end of the text"},
        {{"filter a +"}, "op.1: position 11: expected an expression, found the end"},
        {{"filter a b"}, "op.1: position 10: unexpected 'b'"},
        {{"map a"}, "op.1: position 5: map expects <field> = <expression>, found 'a'"},
        {{"map a + 1 = 2"}, "op.1: position 5: map expects <field> = <expression>"},
        {{"map a[0] = 2"}, "op.1: position 5: map expects <field> = <expression>"},
        {{"map a = 1,"}, "op.1: position 11: expected an expression, found the end"},
        {{"map a = 1, a = 2"}, ""}, /* allowed: sequential */
        {{"project a.b + 1"}, "op.1: position 9: project takes field paths ending in a name"},
        {{"project a, b.a"}, "op.1: the field 'a' is named twice"},
        {{"project x.y = 1"}, "op.1: position 9: project expects a name before '='"},
        {{"flat_map a + b"}, "op.1: position 10: flat_map takes a field path"},
        {{"key_by"}, "op.1: position 7: expected an expression"},
        {{"window tumbling 10s"}, "op.1: a window must be followed by aggregate"},
        {{"window tumbling 10s", "filter x"}, "op.2: a window must be followed by aggregate"},
        {{"window tumbling", "aggregate count"},
         "op.1: position 16: expected a duration for the window size (like 500ms, 10s, 5m, "
         "1h, 1d), found the end of the line"},
        {{"window tumbling 10x", "aggregate count"}, "op.1: position 17: expected a duration"},
        {{"window tumbling 0s", "aggregate count"},
         "op.1: position 17: the window size must be above 0 and at most 366 days"},
        {{"window tumbling 367d", "aggregate count"}, "at most 366 days"},
        {{"window tumbling 99999999999999999999ms", "aggregate count"}, "expected a duration"},
        {{"window sliding 1s", "aggregate count"},
         "op.1: position 8: expected tumbling, hopping or session, found 'sliding 1s'"},
        {{"window hopping 10s 5s", "aggregate count"}, "expected advance <duration>"},
        {{"window hopping 10s advance 20s", "aggregate count"},
         "op.1: the advance must not exceed the window size"},
        {{"window hopping 1h advance 1s", "aggregate count"}, "above 1000 windows per record"},
        {{"window session 5s time ts time ts", "aggregate count"},
         "op.1: position 27: expected time <expression> or lateness <duration>"},
        {{"window session 5s lateness 1s lateness 2s", "aggregate count"},
         "expected time <expression> or lateness <duration>"},
        {{"window session 5s time", "aggregate count"}, "expected an expression"},
        {{"window session 5s lateness -1s", "aggregate count"}, "expected a duration"},
        {{"aggregate"}, "op.1: position 10: expected count, sum, min, max or avg, found the end"},
        {{"aggregate count, median x"}, "op.1: position 18: expected count, sum, min, max or avg"},
        {{"aggregate sum"}, "expected an expression"},
        {{"aggregate count, count"}, "op.1: two aggregates named 'count'; name them with as"},
        {{"aggregate sum a, sum b as sum"}, "two aggregates named 'sum'"},
        {{"aggregate count as key"}, "op.1: 'key' is a field of every result"},
        {{"aggregate count as"}, "op.1: position 19: expected a name after as"},
        {{"aggregate count x"}, "op.1: position 17: unexpected 'x'"},
        {{"aggregate count", "aggregate count"}, "op.2: only one window and one aggregate"},
        {{"aggregate count", "window tumbling 1s"}, "op.2: only one window and one aggregate"},
        {{"aggregate count", "filter count > 1", "map x = count"}, ""},
        {{"   "}, "op.1: empty operator"},
        {{"filter 1", "filter \"unterminated"}, "op.2: position 8: unterminated string"},
        {{"filter true", "join"},
         "op.2: position 5: expected a table name ([A-Za-z_][A-Za-z0-9_-]*), found the end of "
         "the line"},
        {{"join 9t on x"}, "op.1: position 6: expected a table name ([A-Za-z_][A-Za-z0-9_-]*), "
                           "found '9t on x'"},
        {{"join -t on x"}, "op.1: position 6: expected a table name"},
        {{"join users"}, "op.1: position 11: expected on <expression>, found the end of the line"},
        {{"join users by id"}, "op.1: position 12: expected on <expression>, found 'by id'"},
        {{"join users(on id"}, "op.1: position 11: expected on <expression>, found '(on id'"},
        {{"join users on"}, "op.1: position 14: expected an expression, found the end"},
        {{"join users on id +"}, "op.1: position 19: expected an expression, found the end"},
        {{"join users on id as"},
         "op.1: position 20: expected a field name ([A-Za-z_][A-Za-z0-9_-]*) after as, found the "
         "end of the line"},
        {{"join users on id as 1x"}, "op.1: position 21: expected a field name"},
        {{"join users on id x"},
         "op.1: position 18: expected as <field>, left or the end of the line, found 'x'"},
        {{"join users on id as u right"},
         "op.1: position 23: expected left or the end of the line, found 'right'"},
        {{"join users on id left as u"},
         "op.1: position 23: expected the end of the line, found 'as u'"},
        {{"join users on id left left"}, "op.1: position 23: expected the end of the line"},
        {{"aggregate count", "join users on key", "join", "filter true"},
         "op.3: position 5: expected a table name"},
        {{"join users on id", "aggregate count", "join user-plans_2 on key as p-2 left",
          "join users on key"}, ""}, /* before and after the aggregate, several */
        {{"join on on on"}, ""}, /* the table `on`, the field `on` */
        {{"join users on str(a.b) + \"-\" + c[\"x y\"] left"}, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        while (n < 4 && cases[i].ops[n])
            n++;
        char err[256] = "";
        st_topology *t = st_topology_new(cases[i].ops, n, err, sizeof(err));
        if (!cases[i].want[0]) {
            if (!CHECK(t != NULL))
                printf("  case %zu: %s\n", i, err);
        } else if (!CHECK(t == NULL) || !strstr(err, cases[i].want)) {
            printf("  case %zu:\n", i);
            CHECK_EQ_STR(err, cases[i].want);
        }
        st_topology_free(t);
    }
    const char *many[ST_OPS_MAX + 1];
    for (size_t i = 0; i <= ST_OPS_MAX; i++)
        many[i] = "filter true";
    char err[64];
    CHECK(st_topology_new(many, ST_OPS_MAX + 1, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "more than 64 operators");
    st_topology *t = st_topology_new(many, ST_OPS_MAX, err, sizeof(err));
    CHECK(t != NULL);
    st_topology_free(t);
    const char *null_line[] = {NULL};
    CHECK(st_topology_new(null_line, 1, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "op.1: missing");
}

/* ---- joins ---------------------------------------------------------------------------------- */

/* The runtime's tables, as the lookup callback sees them. */
typedef struct ttables {
    struct {
        const char *table, *key, *value; /* value NULL: an empty slot */
    } rows[16];
    size_t calls; /* lookups made */
    char last[64]; /* the last lookup, "table/key" */
} ttables;

static const char *tt_lookup(void *ctx, const char *table, const char *key, size_t key_len,
                             size_t *value_len)
{
    ttables *tt = ctx;
    tt->calls++;
    CHECK_EQ_INT(strlen(key), key_len); /* NUL-terminated */
    snprintf(tt->last, sizeof(tt->last), "%s/%.*s", table, (int)key_len, key);
    for (size_t i = 0; i < sizeof(tt->rows) / sizeof(tt->rows[0]); i++)
        if (tt->rows[i].value && strcmp(tt->rows[i].table, table) == 0 &&
            strlen(tt->rows[i].key) == key_len && memcmp(tt->rows[i].key, key, key_len) == 0) {
            *value_len = strlen(tt->rows[i].value);
            return tt->rows[i].value;
        }
    return NULL;
}

static void tt_set(ttables *tt, const char *table, const char *key, const char *value)
{
    size_t free_slot = SIZE_MAX, n = sizeof(tt->rows) / sizeof(tt->rows[0]);
    for (size_t i = 0; i < n; i++) {
        if (tt->rows[i].value && strcmp(tt->rows[i].table, table) == 0 &&
            strcmp(tt->rows[i].key, key) == 0) {
            tt->rows[i].value = value;
            return;
        }
        if (!tt->rows[i].value && free_slot == SIZE_MAX)
            free_slot = i;
    }
    if (CHECK(free_slot != SIZE_MAX) && value) {
        tt->rows[free_slot].table = table;
        tt->rows[free_slot].key = key;
        tt->rows[free_slot].value = value;
    }
}

static void test_join_inner_left(void)
{
    ttables tt = {0};
    tt_set(&tt, "users", "u1", "{\"name\":\"Ann\",\"plan\":\"p1\"}");
    tt_set(&tt, "users", "u2", " {\"name\" : \"Bob\", \"plan\": \"p9\"} "); /* re-printed */
    tt_set(&tt, "users", "7", "{\"name\":\"Seven\"}");
    tt_set(&tt, "users", "true", "[1.50,2e0]");
    tt_set(&tt, "plans", "p1", "{\"price\":10}");
    st_topology *t = TOPO("join users on user_id", "join plans on users.plan as plan left");
    if (!CHECK(t != NULL))
        return;
    const char *names[4] = {0};
    CHECK_EQ_INT(st_topology_tables(t, names, 4), 2);
    CHECK_EQ_STR(names[0], "users");
    CHECK_EQ_STR(names[1], "plans");
    CHECK_EQ_INT(st_topology_tables(t, NULL, 0), 2);

    /* No lookup set: every record is refused, nothing crashes, only `in` counts. */
    CHECK_EQ_STR(feed(t, "k", "{\"user_id\":\"u1\"}", 1), "ERR op.1 (join): no table users");
    CHECK_EQ_STR(feed(t, "k", NULL, 1), "ERR op.1 (join): no table users");
    st_stats s = stats(t);
    CHECK_EQ_INT(s.in, 2);
    CHECK_EQ_INT(s.out + s.filtered, 0);

    st_topology_set_lookup(t, tt_lookup, &tt);
    /* Inner join, then a left join on a field the first one set. */
    CHECK_EQ_STR(feed(t, "k", "{\"user_id\":\"u1\",\"n\":1}", 10),
                 "k {\"user_id\":\"u1\",\"n\":1,\"users\":{\"name\":\"Ann\",\"plan\":\"p1\"},"
                 "\"plan\":{\"price\":10}} 10\n");
    CHECK_EQ_STR(tt.last, "plans/p1");
    /* Left join, no match: the field is null. */
    CHECK_EQ_STR(feed(t, NULL, "{\"user_id\":\"u2\"}", 11),
                 "- {\"user_id\":\"u2\",\"users\":{\"name\":\"Bob\",\"plan\":\"p9\"},"
                 "\"plan\":null} 11\n");
    /* Inner join, missing key: dropped, counted as filtered. */
    CHECK_EQ_STR(feed(t, "k", "{\"user_id\":\"u3\"}", 12), "");
    CHECK_EQ_STR(tt.last, "users/u3");
    /* A null (or missing) key matches nothing, without a lookup. */
    size_t calls = tt.calls;
    CHECK_EQ_STR(feed(t, "k", "{\"user_id\":null}", 13), "");
    CHECK_EQ_STR(feed(t, "k", "{\"other\":1}", 14), "");
    CHECK_EQ_INT(tt.calls, calls);
    /* The key is str(expr): a number, a boolean; the field already there is replaced in
     * place; the left join's null key gives null. */
    CHECK_EQ_STR(feed(t, "k", "{\"users\":0,\"user_id\":7.0,\"plan\":\"old\"}", 15),
                 "k {\"users\":{\"name\":\"Seven\"},\"user_id\":7,\"plan\":null} 15\n");
    CHECK_EQ_STR(feed(t, "k", "{\"user_id\":true}", 16),
                 "k {\"user_id\":true,\"users\":[1.5,2],\"plan\":null} 16\n");
    s = stats(t);
    CHECK_EQ_INT(s.in, 9);
    CHECK_EQ_INT(s.out, 4);
    CHECK_EQ_INT(s.filtered, 3);

    /* Bad records: not an object (whatever the table holds), a key expression error. */
    calls = tt.calls;
    CHECK_EQ_STR(feed(t, "k", "[1]", 17), "ERR op.1 (join): the record is not an object (array)");
    CHECK_EQ_STR(feed(t, "k", "\"u1\"", 17),
                 "ERR op.1 (join): the record is not an object (string)");
    CHECK_EQ_INT(tt.calls, calls);
    st_topology_free(t);
    t = TOPO("join users on id + 1 as u left");
    if (!CHECK(t != NULL))
        return;
    st_topology_set_lookup(t, tt_lookup, &tt);
    CHECK_EQ_STR(feed(t, "k", "{\"id\":6}", 1), "k {\"id\":6,\"u\":{\"name\":\"Seven\"}} 1\n");
    CHECK_EQ_STR(feed(t, "k", "{\"id\":\"6\"}", 2),
                 "ERR op.1 (join): position 18: '+' needs two numbers or two strings, got string "
                 "and number");
    CHECK_EQ_STR(feed(t, "k", "{}", 3), "ERR op.1 (join): position 18: '+' needs two numbers or "
                                        "two strings, got null and number");
    s = stats(t);
    CHECK_EQ_INT(s.in, 3);
    CHECK_EQ_INT(s.out, 1);
    CHECK_EQ_INT(s.filtered, 0);
    st_topology_set_lookup(t, NULL, NULL); /* unset again */
    CHECK_EQ_STR(feed(t, "k", "{\"id\":6}", 4), "ERR op.1 (join): no table users");
    st_topology_free(t);
}

static void test_join_values_and_tables(void)
{
    ttables tt = {0};
    tt_set(&tt, "raw-1", "a", "not json{");
    tt_set(&tt, "raw-1", "b", "");
    tt_set(&tt, "raw-1", "c", "\"quoted\"");
    tt_set(&tt, "raw-1", "d", "12 13");
    tt_set(&tt, "raw-1", "e", "{\"x\":1}");
    tt_set(&tt, "raw-1", "f", "null");
    /* The default field is the table's name; `as` names another; several joins, on the
     * same table too (the tables listed once). */
    st_topology *t = TOPO("join raw-1 on k", "join raw-1 on k2 as second left",
                          "join other_t on k left", "project r = [\"raw-1\"], second");
    if (!CHECK(t != NULL))
        return;
    const char *names[1] = {0};
    CHECK_EQ_INT(st_topology_tables(t, names, 1), 2); /* only the first stored */
    CHECK_EQ_STR(names[0], "raw-1");
    st_topology_set_lookup(t, tt_lookup, &tt);
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* Not valid JSON: the text as a JSON string. */
        {"{\"k\":\"a\",\"k2\":\"b\"}", "k {\"r\":\"not json{\",\"second\":\"\"} 1\n"},
        {"{\"k\":\"c\",\"k2\":\"d\"}", "k {\"r\":\"quoted\",\"second\":\"12 13\"} 1\n"},
        {"{\"k\":\"e\",\"k2\":\"zz\"}", "k {\"r\":{\"x\":1},\"second\":null} 1\n"},
        /* A JSON null value is a match (an inner join keeps the record). */
        {"{\"k\":\"f\",\"k2\":\"f\"}", "k {\"r\":null,\"second\":null} 1\n"},
        {"{\"k\":\"zz\",\"k2\":\"a\"}", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (!CHECK_EQ_STR(feed(t, "k", cases[i].in, 1), cases[i].want))
            printf("  case %zu\n", i);
    CHECK_EQ_STR(tt.last, "raw-1/zz"); /* the last case: dropped by the first join */
    st_topology_free(t);

    t = TOPO("filter true");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_INT(st_topology_tables(t, names, 1), 0);
    CHECK_EQ_STR(feed(t, "k", "{}", 1), "k {} 1\n"); /* no joins: no lookup needed */
    st_topology_free(t);
}

static void test_join_and_aggregate(void)
{
    ttables tt = {0};
    tt_set(&tt, "users", "u1", "{\"region\":\"eu\",\"score\":2}");
    tt_set(&tt, "users", "u2", "{\"region\":\"us\",\"score\":3}");
    tt_set(&tt, "users", "u3", "{\"region\":\"eu\",\"score\":\"high\"}");
    tt_set(&tt, "regions", "eu", "{\"name\":\"Europe\"}");

    /* Before the aggregate: the joined fields group and feed it. */
    st_topology *t = TOPO("join users on uid as u", "key_by u.region",
                          "aggregate count, sum u.score as score", "join regions on key left");
    if (!CHECK(t != NULL))
        return;
    st_topology_set_lookup(t, tt_lookup, &tt);
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u1\"}", 1),
                 "eu {\"key\":\"eu\",\"count\":1,\"score\":2,\"regions\":{\"name\":\"Europe\"}} "
                 "1\n");
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u2\"}", 2),
                 "us {\"key\":\"us\",\"count\":1,\"score\":3,\"regions\":null} 2\n");
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"nobody\"}", 3), ""); /* inner: dropped */
    CHECK_EQ_STR(drain(t), "a|eu {\"aggs\":[1,2]} 0\na|us {\"aggs\":[1,3]} 0\n");
    /* A table value the aggregate cannot take makes the record bad; the state is as it was. */
    st_stats before = stats(t);
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u3\"}", 4),
                 "ERR op.3 (aggregate): sum of a string (it takes numbers)");
    st_stats after = stats(t);
    CHECK_EQ_INT(after.in, before.in + 1);
    CHECK_EQ_INT(after.out, before.out);
    CHECK_EQ_INT(after.filtered, before.filtered);
    CHECK_EQ_INT(after.state_entries, before.state_entries);
    CHECK_EQ_STR(drain(t), "");
    /* The table changed: later records see the new value. */
    tt_set(&tt, "users", "u3", "{\"region\":\"eu\",\"score\":5}");
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u3\"}", 5),
                 "eu {\"key\":\"eu\",\"count\":2,\"score\":7,\"regions\":{\"name\":\"Europe\"}} "
                 "5\n");
    st_stats s = stats(t);
    CHECK_EQ_INT(s.filtered, 1);
    st_topology_free(t);

    /* After a windowed aggregate: a window's result joins the table as it is when the window
     * closes; an inner join without a match drops it (counted as filtered). */
    t = TOPO("key_by uid", "window tumbling 10s time t", "aggregate count",
             "join users on key as user", "map region = user.region");
    if (!CHECK(t != NULL))
        return;
    st_topology_set_lookup(t, tt_lookup, &tt);
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u1\",\"t\":1000}", 0), "");
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u2\",\"t\":2000}", 0), "");
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u9\",\"t\":3000}", 0), "");
    tt_set(&tt, "users", "u2", "{\"region\":\"ap\"}");
    CHECK_EQ_STR(feed(t, NULL, "{\"uid\":\"u1\",\"t\":10000}", 0),
                 "u1@0 {\"key\":\"u1\",\"window_start\":0,\"window_end\":10000,\"count\":1,"
                 "\"user\":{\"region\":\"eu\",\"score\":2},\"region\":\"eu\"} 9999\n"
                 "u2@0 {\"key\":\"u2\",\"window_start\":0,\"window_end\":10000,\"count\":1,"
                 "\"user\":{\"region\":\"ap\"},\"region\":\"ap\"} 9999\n");
    s = stats(t);
    CHECK_EQ_INT(s.out, 2);
    CHECK_EQ_INT(s.filtered, 1); /* u9's window */
    st_topology_free(t);
}

/* ---- windows and aggregates ---------------------------------------------------------------- */

static void test_tumbling(void)
{
    st_topology *t = TOPO("key_by user", "window tumbling 10s time ts lateness 5s",
                          "aggregate count, sum n");
    if (!CHECK(t != NULL))
        return;
    CHECK(st_topology_windowed(t));
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"a\",\"ts\":1000,\"n\":1}", 0), "");
    CHECK_EQ_INT(stats(t).watermark_ms, 1000 - 5000);
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"a\",\"ts\":12000,\"n\":2}", 0), "");
    /* Out of order, within the lateness: counted. */
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"a\",\"ts\":9000,\"n\":3}", 0), "");
    CHECK_EQ_INT(stats(t).watermark_ms, 7000);
    CHECK_EQ_INT(stats(t).state_entries, 3); /* a@0, a@10000, the watermark */
    /* Watermark 11000 >= 10000: a@0 is final. */
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"b\",\"ts\":16000,\"n\":4}", 0),
                 "a@0 {\"key\":\"a\",\"window_start\":0,\"window_end\":10000,\"count\":2,"
                 "\"sum\":4} 9999\n");
    /* Late: its only window is final. Dropped and counted, not an error. */
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"a\",\"ts\":5000,\"n\":9}", 0), "");
    CHECK_EQ_INT(stats(t).dropped_late, 1);
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"a\",\"ts\":9999,\"n\":9}", 0), "");
    CHECK_EQ_INT(stats(t).dropped_late, 2);
    /* Two windows ending together: by key. */
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"c\",\"ts\":31000,\"n\":0}", 0),
                 "a@10000 {\"key\":\"a\",\"window_start\":10000,\"window_end\":20000,"
                 "\"count\":1,\"sum\":2} 19999\n"
                 "b@10000 {\"key\":\"b\",\"window_start\":10000,\"window_end\":20000,"
                 "\"count\":1,\"sum\":4} 19999\n");
    st_stats s = stats(t);
    CHECK_EQ_INT(s.in, 7);
    CHECK_EQ_INT(s.out, 3);
    CHECK_EQ_INT(s.state_entries, 2); /* c@30000, the watermark */
    CHECK_EQ_INT(s.watermark_ms, 26000);
    /* The event time must be a number. */
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"c\",\"ts\":\"soon\"}", 0),
                 "ERR op.2 (window): the event time is a string, not a number of milliseconds");
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"c\",\"ts\":1e300}", 0),
                 "ERR op.2 (window): the event time 1e+300 is beyond 2^53 ms");
    CHECK_EQ_STR(feed(t, NULL, "{\"user\":\"c\"}", 0),
                 "ERR op.2 (window): the event time is a null, not a number of milliseconds");
    st_topology_free(t);

    /* Negative event times and the input timestamp as the event time. */
    t = TOPO("window tumbling 1s", "aggregate count");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{}", -1500), "");
    CHECK_EQ_STR(feed(t, "k", "{}", -1),
                 "k@-2000 {\"key\":\"k\",\"window_start\":-2000,\"window_end\":-1000,"
                 "\"count\":1} -1001\n");
    CHECK_EQ_STR(feed(t, "k", "{}", 0),
                 "k@-1000 {\"key\":\"k\",\"window_start\":-1000,\"window_end\":0,"
                 "\"count\":1} -1\n");
    CHECK_EQ_STR(feed(t, "k", "{}", INT64_MAX),
                 "ERR op.1 (window): the event time 9223372036854775807 is beyond 2^53 ms");
    CHECK_EQ_STR(feed(t, "k", "{}", -(INT64_C(1) << 53) - 1),
                 "ERR op.1 (window): the event time -9007199254740993 is beyond 2^53 ms");
    /* No key: the empty key. */
    CHECK_EQ_STR(feed(t, NULL, "{}", 500), "");
    CHECK_EQ_STR(feed(t, NULL, "{}", 1000),
                 "@0 {\"key\":\"\",\"window_start\":0,\"window_end\":1000,\"count\":1} 999\n"
                 "k@0 {\"key\":\"k\",\"window_start\":0,\"window_end\":1000,\"count\":1} 999\n");
    st_topology_free(t);
}

static void test_hopping(void)
{
    st_topology *t = TOPO("window hopping 10s advance 5s", "aggregate count, max v");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{\"v\":1}", 7000), "");
    CHECK_EQ_INT(stats(t).state_entries, 3); /* [0,10s), [5s,15s), the watermark */
    CHECK_EQ_STR(feed(t, "k", "{\"v\":5}", 12000),
                 "k@0 {\"key\":\"k\",\"window_start\":0,\"window_end\":10000,\"count\":1,"
                 "\"max\":1} 9999\n");
    /* 11000 is in [5s,15s) and [10s,20s), both open. */
    CHECK_EQ_STR(feed(t, "k", "{\"v\":2}", 11000), "");
    /* 9000 is in [0,10s) (final: skipped) and [5s,15s) (open): not late, counted once. */
    CHECK_EQ_STR(feed(t, "k", "{\"v\":-3}", 9000), "");
    CHECK_EQ_INT(stats(t).dropped_late, 0);
    CHECK_EQ_STR(feed(t, "k", "{}", 30000),
                 "k@5000 {\"key\":\"k\",\"window_start\":5000,\"window_end\":15000,\"count\":4,"
                 "\"max\":5} 14999\n"
                 "k@10000 {\"key\":\"k\",\"window_start\":10000,\"window_end\":20000,"
                 "\"count\":2,\"max\":5} 19999\n");
    /* Every window of 3000 ([-5s,5s), [0,10s)) is final: late. */
    CHECK_EQ_STR(feed(t, "k", "{}", 3000), "");
    CHECK_EQ_INT(stats(t).dropped_late, 1);
    st_topology_free(t);

    /* A size that is not a multiple of the advance. */
    t = TOPO("window hopping 10s advance 3s", "aggregate count");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{}", 9500), ""); /* in [0,10s), [3s,13s), [6s,16s), [9s,19s) */
    CHECK_EQ_INT(stats(t).state_entries, 5);
    CHECK_EQ_STR(feed(t, "k", "{}", 100000),
                 "k@0 {\"key\":\"k\",\"window_start\":0,\"window_end\":10000,\"count\":1} 9999\n"
                 "k@3000 {\"key\":\"k\",\"window_start\":3000,\"window_end\":13000,\"count\":1} "
                 "12999\n"
                 "k@6000 {\"key\":\"k\",\"window_start\":6000,\"window_end\":16000,\"count\":1} "
                 "15999\n"
                 "k@9000 {\"key\":\"k\",\"window_start\":9000,\"window_end\":19000,\"count\":1} "
                 "18999\n");
    st_topology_free(t);
}

static void test_session(void)
{
    st_topology *t = TOPO("key_by u", "window session 5s time t", "aggregate count, sum n");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"a\",\"t\":0,\"n\":1}", 0), "");
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"a\",\"t\":3000,\"n\":2}", 0), "");
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"b\",\"t\":4000,\"n\":10}", 0), "");
    /* Watermark 20000: a's session [0, 3000 + 5000) and b's [4000, 9000) are final. */
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"a\",\"t\":20000,\"n\":4}", 0),
                 "a@0 {\"key\":\"a\",\"window_start\":0,\"window_end\":8000,\"count\":2,"
                 "\"sum\":3} 7999\n"
                 "b@4000 {\"key\":\"b\",\"window_start\":4000,\"window_end\":9000,\"count\":1,"
                 "\"sum\":10} 8999\n");
    /* Late: its own session [14000, 19000) would be final. */
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"a\",\"t\":14000,\"n\":100}", 0), "");
    CHECK_EQ_INT(stats(t).dropped_late, 1);
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"a\",\"t\":15000,\"n\":100}", 0), "");
    CHECK_EQ_INT(stats(t).dropped_late, 2); /* [15000, 20000) ends at the watermark: final */
    /* Not late (16000 + 5000 > 20000); within the gap of [20000, 25000): they join. */
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"a\",\"t\":16000,\"n\":8}", 0), "");
    CHECK_EQ_INT(stats(t).state_entries, 2);
    /* The watermark reaches the session's end: final, before the record joins anything. */
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"a\",\"t\":25000,\"n\":16}", 0),
                 "a@16000 {\"key\":\"a\",\"window_start\":16000,\"window_end\":25000,"
                 "\"count\":2,\"sum\":12} 24999\n");
    CHECK_EQ_INT(stats(t).state_entries, 2);
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"z\",\"t\":40000}", 0),
                 "a@25000 {\"key\":\"a\",\"window_start\":25000,\"window_end\":30000,"
                 "\"count\":1,\"sum\":16} 29999\n");
    st_topology_free(t);

    /* A record between two sessions bridges them (with lateness so that both stay open). */
    t = TOPO("window session 5s lateness 10s", "aggregate count, min n, avg n");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{\"n\":4}", 0), "");
    CHECK_EQ_STR(feed(t, "k", "{\"n\":2}", 8000), "");
    CHECK_EQ_INT(stats(t).state_entries, 3);
    CHECK_EQ_STR(drain(t), "__watermark {\"max_event_ms\":8000} 0\n"
                           "s|k|0 {\"end\":5000,\"aggs\":[1,4,[4,1]]} 0\n"
                           "s|k|8000 {\"end\":13000,\"aggs\":[1,2,[2,1]]} 0\n");
    CHECK_EQ_STR(feed(t, "k", "{\"n\":9}", 4000), "");
    CHECK_EQ_INT(stats(t).state_entries, 2);
    CHECK_EQ_STR(drain(t), "s|k|0 {\"end\":13000,\"aggs\":[3,2,[15,3]]} 0\n"
                           "s|k|8000 <tombstone> 0\n");
    /* An earlier record moves the session's start: a new changelog key. */
    CHECK_EQ_STR(feed(t, "k", "{}", -2000), "");
    CHECK_EQ_STR(drain(t), "s|k|-2000 {\"end\":13000,\"aggs\":[4,2,[15,3]]} 0\n"
                           "s|k|0 <tombstone> 0\n");
    /* Exactly the gap after the last record (end 13000): a session of its own. */
    CHECK_EQ_STR(feed(t, "k", "{\"n\":1}", 13000), "");
    CHECK_EQ_STR(drain(t), "__watermark {\"max_event_ms\":13000} 0\n"
                           "s|k|13000 {\"end\":18000,\"aggs\":[1,1,[1,1]]} 0\n");
    CHECK_EQ_INT(stats(t).state_entries, 3);
    CHECK_EQ_STR(feed(t, "k", "{}", 23000),
                 "k@-2000 {\"key\":\"k\",\"window_start\":-2000,\"window_end\":13000,"
                 "\"count\":4,\"min\":2,\"avg\":5} 12999\n");
    st_topology_free(t);
}

static void test_aggregates(void)
{
    st_topology *t = TOPO("aggregate count, sum v, min v, max v, avg v, sum w as total, "
                          "avg w as mean_w");
    if (!CHECK(t != NULL))
        return;
    CHECK(!st_topology_windowed(t));
    /* A null (missing) input is skipped by sum, min, max, avg; count counts records. */
    CHECK_EQ_STR(feed(t, "k", "{\"w\":1}", 5),
                 "k {\"key\":\"k\",\"count\":1,\"sum\":0,\"min\":null,\"max\":null,\"avg\":null,"
                 "\"total\":1,\"mean_w\":1} 5\n");
    CHECK_EQ_STR(feed(t, "k", "{\"v\":4,\"w\":null}", 6),
                 "k {\"key\":\"k\",\"count\":2,\"sum\":4,\"min\":4,\"max\":4,\"avg\":4,"
                 "\"total\":1,\"mean_w\":1} 6\n");
    CHECK_EQ_STR(feed(t, "k", "{\"v\":-1.5,\"w\":2}", 7),
                 "k {\"key\":\"k\",\"count\":3,\"sum\":2.5,\"min\":-1.5,\"max\":4,\"avg\":1.25,"
                 "\"total\":3,\"mean_w\":1.5} 7\n");
    CHECK_EQ_STR(feed(t, "other", "{\"v\":10}", 8),
                 "other {\"key\":\"other\",\"count\":1,\"sum\":10,\"min\":10,\"max\":10,"
                 "\"avg\":10,\"total\":0,\"mean_w\":null} 8\n");
    /* A non-number input refuses the record, and changes nothing. */
    CHECK_EQ_STR(feed(t, "k", "{\"v\":\"4\"}", 9),
                 "ERR op.1 (aggregate): sum of a string (it takes numbers)");
    CHECK_EQ_STR(feed(t, "k", "{\"v\":1,\"w\":true}", 9),
                 "ERR op.1 (aggregate): sum of a boolean (it takes numbers)");
    CHECK_EQ_STR(feed(t, "k", "{\"v\":0}", 10),
                 "k {\"key\":\"k\",\"count\":4,\"sum\":2.5,\"min\":-1.5,\"max\":4,"
                 "\"avg\":0.8333333333333334,"
                 "\"total\":3,\"mean_w\":1.5} 10\n");
    CHECK_EQ_STR(drain(t), "a|k {\"aggs\":[4,2.5,-1.5,4,[2.5,3],3,[3,2]]} 0\n"
                           "a|other {\"aggs\":[1,10,10,10,[10,1],0,[0,0]]} 0\n");
    CHECK_EQ_INT(stats(t).state_entries, 2);
    /* Overflow of a sum refuses the record. */
    CHECK(strstr(feed(t, "big", "{\"v\":1e308}", 11), "\"count\":1,\"sum\":1e+308") != NULL);
    CHECK(strstr(feed(t, "big", "{\"v\":1e308}", 12), "ERR op.1 (aggregate): aggregate 2 "
                                                      "overflows") != NULL);
    CHECK(strstr(feed(t, "big", "{\"v\":1}", 13), "\"count\":2,\"sum\":1e+308") != NULL);
    /* An input that is not finite is refused. */
    CHECK_EQ_STR(feed(t, "k", "{\"v\":1e999}", 14),
                 "ERR op.1 (aggregate): sum of a number (it takes numbers)");
    /* A key with a NUL byte cannot be a result's "key". */
    st_records out = {0};
    char err[128];
    CHECK_EQ_INT(st_process(t, "a\0b", 3, "{}", 2, 1, &out, err, sizeof(err)), -1);
    CHECK_EQ_STR(err, "op.1 (aggregate): the key has a NUL byte");
    st_records_clear(&out);
    st_topology_free(t);

    /* Operators after the aggregate work on its results. */
    t = TOPO("aggregate count, sum n", "filter count % 2 == 0", "map mean = sum / count",
             "project key, mean");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(feed(t, "k", "{\"n\":3}", 1), "");
    CHECK_EQ_STR(feed(t, "k", "{\"n\":4}", 2), "k {\"key\":\"k\",\"mean\":3.5} 2\n");
    CHECK_EQ_INT(stats(t).filtered, 1);
    st_topology_free(t);
}

static void test_determinism_and_close_order(void)
{
    const char *inputs[][2] = {{"zed", "{\"t\":100}"},  {"alpha", "{\"t\":900}"},
                               {"mid", "{\"t\":50}"},   {"alpha", "{\"t\":1500}"},
                               {"zed", "{\"t\":2100}"}, {"b", "{\"t\":2500}"},
                               {"mid", "{\"t\":99999}"}};
    sbuf run[2] = {{0}, {0}};
    for (int r = 0; r < 2; r++) {
        st_topology *t = TOPO("window hopping 2s advance 1s time t", "aggregate count");
        if (!CHECK(t != NULL))
            return;
        for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
            sb_str(&run[r], feed(t, inputs[i][0], inputs[i][1], 0));
        sb_str(&run[r], drain(t));
        st_topology_free(t);
    }
    CHECK_EQ_STR(run[0].p, run[1].p);
    /* By window end, then key, then start. */
    const char *want =
        "alpha@-1000 {\"key\":\"alpha\",\"window_start\":-1000,\"window_end\":1000,"
        "\"count\":1} 999\n"
        "mid@-1000 {\"key\":\"mid\",\"window_start\":-1000,\"window_end\":1000,\"count\":1} 999\n"
        "zed@-1000 {\"key\":\"zed\",\"window_start\":-1000,\"window_end\":1000,\"count\":1} 999\n"
        "alpha@0 {\"key\":\"alpha\",\"window_start\":0,\"window_end\":2000,\"count\":2} 1999\n"
        "mid@0 {\"key\":\"mid\",\"window_start\":0,\"window_end\":2000,\"count\":1} 1999\n"
        "zed@0 {\"key\":\"zed\",\"window_start\":0,\"window_end\":2000,\"count\":1} 1999\n";
    CHECK(strncmp(run[0].p, want, strlen(want)) == 0);
    CHECK(strstr(run[0].p, "b@2000 {\"key\":\"b\",\"window_start\":2000,\"window_end\":4000,"
                           "\"count\":1} 3999\nzed@2000") != NULL);
    free(run[0].p);
    free(run[1].p);
}

/* ---- bad records leave the state unchanged ------------------------------------------------ */

static void test_bad_record_changes_nothing(void)
{
    /* A record that updates one window, then fails on its second flat_map element. */
    const char *ops[] = {"flat_map xs", "key_by k", "window tumbling 10s time t lateness 1s",
                         "aggregate count, sum xs", "map r = 100 / (count - 3)"};
    st_topology *t = topo_(ops, 5), *ref = topo_(ops, 5);
    if (!CHECK(t != NULL && ref != NULL))
        return;
    const char *good[] = {"{\"k\":\"a\",\"t\":1000,\"xs\":[1]}",
                          "{\"k\":\"b\",\"t\":2000,\"xs\":[2]}"};
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_STR(feed(t, NULL, good[i], 0), "");
        CHECK_EQ_STR(feed(ref, NULL, good[i], 0), "");
    }
    sbuf d1 = {0}, d2 = {0};
    sb_str(&d1, drain(t));
    sb_str(&d2, drain(ref));
    CHECK_EQ_STR(d1.p, d2.p);
    st_stats before = stats(t);
    static const char *const bad[] = {
        "{\"k\":\"a\",\"t\":1500,\"xs\":[5,\"x\"]}",       /* second element: sum of a string */
        "{\"k\":\"a\",\"t\":30000,\"xs\":[5,\"x\"]}",      /* would advance the watermark */
        "{\"k\":\"a\",\"t\":1500,\"xs\":[1,1]}",           /* count 2, then 3: 100 / 0 */
        "{\"k\":\"a\",\"t\":\"x\",\"xs\":[1]}",            /* bad event time */
        "{\"k\":\"a\",\"t\":1500,\"xs\":[1]",              /* malformed JSON */
        "{\"k\":\"a\",\"t\":99000,\"xs\":[1e308,1e308]}",  /* overflow on the second */
    };
    static const char *const why[] = {
        "ERR op.4 (aggregate): sum of a string (it takes numbers)",
        "ERR op.4 (aggregate): sum of a string (it takes numbers)",
        "ERR op.5 (map): position 13: division by zero",
        "ERR op.3 (window): the event time is a string",
        "ERR malformed JSON at byte 26",
        "ERR op.4 (aggregate): aggregate 2 overflows",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *got = feed(t, NULL, bad[i], 0);
        if (!CHECK(strncmp(got, why[i], strlen(why[i])) == 0))
            printf("  bad[%zu]: %s\n", i, got);
        st_stats after = stats(t);
        CHECK_EQ_INT(after.in, before.in + 1);
        CHECK_EQ_INT(after.out, before.out);
        CHECK_EQ_INT(after.filtered, before.filtered);
        CHECK_EQ_INT(after.dropped_late, before.dropped_late);
        CHECK_EQ_INT(after.state_entries, before.state_entries);
        CHECK_EQ_INT(after.watermark_ms, before.watermark_ms);
        CHECK_EQ_STR(drain(t), ""); /* nothing dirty */
        before = after;
    }
    /* From here both behave the same, byte for byte. */
    const char *more[] = {"{\"k\":\"a\",\"t\":3000,\"xs\":[7]}",
                          "{\"k\":\"b\",\"t\":50000,\"xs\":[]}",
                          "{\"k\":\"b\",\"t\":50000,\"xs\":[1]}"};
    for (int i = 0; i < 3; i++) {
        sb_str(&d1, feed(t, NULL, more[i], 0));
        sb_str(&d2, feed(ref, NULL, more[i], 0));
    }
    sb_str(&d1, drain(t));
    sb_str(&d2, drain(ref));
    CHECK_EQ_STR(d1.p, d2.p);
    CHECK(strstr(d1.p, "a@0 {\"key\":\"a\",\"window_start\":0,\"window_end\":10000,\"count\":2,"
                       "\"sum\":8,\"r\":-100} 9999\n") != NULL);
    free(d1.p);
    free(d2.p);
    st_topology_free(t);
    st_topology_free(ref);
}

/* ---- changelog, restore ------------------------------------------------------------------- */

static void test_changelog_and_restore(void)
{
    st_topology *t = TOPO("key_by u", "window tumbling 10s time t", "aggregate count, avg n");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_STR(drain(t), "");
    feed(t, NULL, "{\"u\":\"a|b\",\"t\":1000,\"n\":1}", 0);
    feed(t, NULL, "{\"u\":\"a|b\",\"t\":2000,\"n\":0.1}", 0);
    CHECK_EQ_STR(drain(t), "__watermark {\"max_event_ms\":2000} 0\n"
                           "w|a|b|0 {\"end\":10000,\"aggs\":[2,[1.1,2]]} 0\n");
    CHECK_EQ_STR(drain(t), ""); /* drained */
    feed(t, NULL, "{\"u\":\"x\",\"t\":10000,\"n\":2}", 0);
    CHECK_EQ_STR(drain(t), "__watermark {\"max_event_ms\":10000} 0\n"
                           "w|a|b|0 <tombstone> 0\n"
                           "w|x|10000 {\"end\":20000,\"aggs\":[1,[2,1]]} 0\n");
    st_topology_free(t);

    /* Restoring: good entries, bad ones refused with a reason. */
    t = TOPO("key_by u", "window tumbling 10s time t", "aggregate count, avg n");
    if (!CHECK(t != NULL))
        return;
    char err[256];
    static const struct {
        const char *key, *value, *want;
    } cases[] = {
        {"__watermark", "{\"max_event_ms\":15000}", ""},
        {"w|a|b|0", "{\"end\":10000,\"aggs\":[2,[0.30000000000000004,2]]}", ""},
        {"w|x|10000", "{\"end\":20000,\"aggs\":[1,[2,1]]}", ""},
        {"w|gone|10000", "{\"end\":20000,\"aggs\":[1,[2,1]]}", ""},
        {"w|gone|10000", NULL, ""},
        {"w|never|10000", NULL, ""},
        {"a|x", "{\"aggs\":[1,[2,1]]}", "changelog key 'a|x' is not one of this pipeline's"},
        {"w|x", "{}", "not one of this pipeline's"},
        {"w|x|1e3", "{}", "not one of this pipeline's"},
        {"w|x|", "{}", "not one of this pipeline's"},
        {"s|x|0", "{}", "not one of this pipeline's (w|...)"},
        {"w|x|5000", "{\"end\":15000,\"aggs\":[1,[2,1]]}", "does not fit"}, /* misaligned */
        {"w|x|0", "{\"end\":20000,\"aggs\":[1,[2,1]]}", "does not fit"},    /* wrong size */
        {"w|x|0", "{\"end\":10000,\"aggs\":[1]}", "does not fit"},
        {"w|x|0", "{\"end\":10000,\"aggs\":[-1,[2,1]]}", "does not fit"},
        {"w|x|0", "{\"end\":10000,\"aggs\":[1.5,[2,1]]}", "does not fit"},
        {"w|x|0", "{\"end\":10000,\"aggs\":[1,[2]]}", "does not fit"},
        {"w|x|0", "{\"end\":10000,\"aggs\":[1,{\"a\":2,\"b\":1}]}", "does not fit"},
        {"w|x|0", "{\"aggs\":[1,[2,1]]}", "does not fit"},
        {"w|x|0", "not json", "does not fit"},
        {"__watermark", "{\"max\":1}", "not {\"max_event_ms\":<ms>}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        int rc = st_restore(t, cases[i].key, strlen(cases[i].key), cases[i].value,
                            cases[i].value ? strlen(cases[i].value) : 0, err, sizeof(err));
        if (!cases[i].want[0]) {
            if (!CHECK_EQ_INT(rc, 0))
                printf("  case %zu: %s\n", i, err);
        } else if (!CHECK_EQ_INT(rc, -1) || !strstr(err, cases[i].want)) {
            printf("  case %zu: %s\n", i, err);
            CHECK(!"the expected reason");
        }
    }
    CHECK_EQ_STR(drain(t), ""); /* restored entries are not changes */
    st_stats s = stats(t);
    CHECK_EQ_INT(s.state_entries, 3);
    CHECK_EQ_INT(s.watermark_ms, 15000);
    /* The restored windows close as if never interrupted; the exact sum reads back. */
    CHECK_EQ_STR(feed(t, NULL, "{\"u\":\"x\",\"t\":25000,\"n\":1}", 0),
                 "a|b@0 {\"key\":\"a|b\",\"window_start\":0,\"window_end\":10000,\"count\":2,"
                 "\"avg\":0.15000000000000002} 9999\n"
                 "x@10000 {\"key\":\"x\",\"window_start\":10000,\"window_end\":20000,\"count\":1,"
                 "\"avg\":2} 19999\n");
    /* Reset drops everything, counters stay. */
    st_reset(t);
    s = stats(t);
    CHECK_EQ_INT(s.state_entries, 0);
    CHECK_EQ_INT(s.watermark_ms, INT64_MIN);
    CHECK_EQ_INT(s.in, 1);
    CHECK_EQ_STR(drain(t), "");
    /* A watermark tombstone removes it. */
    CHECK_EQ_INT(st_restore(t, "__watermark", 11, "{\"max_event_ms\":5}", 18, err, sizeof(err)),
                 0);
    CHECK_EQ_INT(stats(t).watermark_ms, 5);
    CHECK_EQ_INT(st_restore(t, "__watermark", 11, NULL, 0, err, sizeof(err)), 0);
    CHECK_EQ_INT(stats(t).watermark_ms, INT64_MIN);
    st_topology_free(t);

    /* A running aggregate has no watermark entry. */
    t = TOPO("aggregate count");
    if (!CHECK(t != NULL))
        return;
    CHECK_EQ_INT(st_restore(t, "__watermark", 11, "{\"max_event_ms\":5}", 18, err, sizeof(err)),
                 -1);
    CHECK_EQ_INT(st_restore(t, "a|", 2, "{\"aggs\":[41]}", 13, err, sizeof(err)), 0);
    CHECK_EQ_STR(feed(t, NULL, "{}", 3), " {\"key\":\"\",\"count\":42} 3\n");
    st_topology_free(t);
}

/* The changelog as the runtime keeps it: the latest value per key, tombstones deleting. */
typedef struct clmap {
    char **key, **value;
    size_t *klen, *vlen;
    size_t n, cap;
} clmap;

static void cl_apply(clmap *m, const st_records *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const st_record *c = &r->v[i];
        size_t j = 0;
        while (j < m->n && !(m->klen[j] == c->key_len && memcmp(m->key[j], c->key, c->key_len)
                                                             == 0))
            j++;
        if (j < m->n) {
            free(m->value[j]);
            free(m->key[j]);
            m->n--;
            m->key[j] = m->key[m->n];
            m->value[j] = m->value[m->n];
            m->klen[j] = m->klen[m->n];
            m->vlen[j] = m->vlen[m->n];
        }
        if (!c->value)
            continue;
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 16;
            m->key = realloc(m->key, m->cap * sizeof(char *));
            m->value = realloc(m->value, m->cap * sizeof(char *));
            m->klen = realloc(m->klen, m->cap * sizeof(size_t));
            m->vlen = realloc(m->vlen, m->cap * sizeof(size_t));
        }
        m->key[m->n] = malloc(c->key_len + 1);
        memcpy(m->key[m->n], c->key, c->key_len);
        m->value[m->n] = malloc(c->value_len + 1);
        memcpy(m->value[m->n], c->value, c->value_len);
        m->klen[m->n] = c->key_len;
        m->vlen[m->n] = c->value_len;
        m->n++;
    }
}

static void cl_free(clmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->key[i]);
        free(m->value[i]);
    }
    free(m->key);
    free(m->value);
    free(m->klen);
    free(m->vlen);
    memset(m, 0, sizeof(*m));
}

static void drain_into(st_topology *t, clmap *m)
{
    st_records cl = {0};
    CHECK(st_drain_changelog(t, &cl) >= 0);
    cl_apply(m, &cl);
    st_records_clear(&cl);
}

typedef struct input {
    char key[8];
    char json[200];
    int64_t ts;
} input;

static void random_input(input *in, int i)
{
    static const char *const users[] = {"a", "b", "c", "d|e"};
    int64_t base = 1000 * (int64_t)i;
    int64_t t = base + (int64_t)(tu_rand() % 9000) - 6000;
    const char *u = users[tu_rand() % 4];
    snprintf(in->key, sizeof(in->key), "%s", users[tu_rand() % 4]);
    in->ts = base + (int64_t)(tu_rand() % 3000) - 2000;
    char n[32], items[64];
    unsigned r = (unsigned)(tu_rand() % 20);
    if (r == 0)
        snprintf(n, sizeof(n), "null");
    else if (r == 1)
        snprintf(n, sizeof(n), "\"x\""); /* a type error for sums, orderings */
    else if (r == 2)
        snprintf(n, sizeof(n), "%d.%d", (int)(tu_rand() % 10), (int)(tu_rand() % 100));
    else
        snprintf(n, sizeof(n), "%d", (int)(tu_rand() % 30) - 5);
    int ni = (int)(tu_rand() % 4), o = 0;
    o += snprintf(items + o, sizeof(items) - (size_t)o, "[");
    for (int k = 0; k < ni; k++)
        o += snprintf(items + o, sizeof(items) - (size_t)o, "%s%d", k ? "," : "",
                      (int)(tu_rand() % 50));
    snprintf(items + o, sizeof(items) - (size_t)o, "]");
    if (tu_rand() % 40 == 0)
        snprintf(in->json, sizeof(in->json), "{\"user\":\"%s\",\"ts\":%lld", u, (long long)t);
    else if (tu_rand() % 50 == 0)
        snprintf(in->json, sizeof(in->json), "{\"user\":\"%s\",\"ts\":\"late\"}", u);
    else
        snprintf(in->json, sizeof(in->json), "{\"user\":\"%s\",\"ts\":%lld,\"n\":%s,\"items\":%s}",
                 u, (long long)t, n, items);
}

static void process_into(st_topology *t, const input *in, sbuf *log)
{
    st_records out = {0};
    char err[256];
    int rc = st_process(t, in->key, strlen(in->key), in->json, strlen(in->json), in->ts, &out,
                        err, sizeof(err));
    if (rc < 0) {
        sb_str(log, "ERR ");
        sb_str(log, err);
        sb_str(log, "\n");
    }
    for (size_t i = 0; i < out.n; i++)
        sb_rec(log, &out.v[i]);
    st_records_clear(&out);
}

/* For random inputs: a run stopped at random points (draining the changelog at random
 * intervals, as the runtime does each commit), restored into a fresh topology from the
 * changelog's latest values (in a shuffled order) and continued, produces byte for byte
 * the outputs of a run that never stopped. */
static void test_restore_property(void)
{
    static const char *const pipelines[][6] = {
        {"filter n >= 0", "key_by user", "window tumbling 10s time ts lateness 3s",
         "aggregate count, sum n, min n, max n, avg n"},
        {"key_by user", "window hopping 10s advance 4s lateness 2s",
         "aggregate count, avg n as mean", "filter count > 1"},
        {"key_by user", "window session 5s time ts lateness 4s", "aggregate count, sum n, max n"},
        {"flat_map items", "key_by user", "aggregate count, sum items, min items"},
        {"flat_map items", "map k = str(items % 3)", "key_by k",
         "window tumbling 7s time ts", "aggregate count, sum items, avg items",
         "map ratio = sum / count"},
        {"window session 3s time ts", "aggregate count, min n", "project key, window_start, "
         "c = count"},
        {"key_by user", "window hopping 6s advance 2s time ts lateness 5s", "aggregate min n, "
         "max n", "map spread = coalesce(max, 0) - coalesce(min, 0)"},
    };
    const size_t npipes = sizeof(pipelines) / sizeof(pipelines[0]);
    int trials = 0, outputs = 0, restores = 0;
    for (int trial = 0; trial < 140; trial++) {
        const char *const *ops = pipelines[trial % npipes];
        size_t nops = 0;
        while (nops < 6 && ops[nops])
            nops++;
        int n = 20 + (int)(tu_rand() % 180);
        input *in = calloc((size_t)n, sizeof(*in));
        for (int i = 0; i < n; i++)
            random_input(&in[i], i);
        /* The uninterrupted run. */
        sbuf want = {0}, got = {0};
        sb_str(&want, "");
        sb_str(&got, "");
        st_topology *a = topo_(ops, nops);
        if (!CHECK(a != NULL))
            return;
        for (int i = 0; i < n; i++)
            process_into(a, &in[i], &want);
        /* The interrupted one: up to three restarts. */
        clmap cl = {0};
        st_topology *b = topo_(ops, nops);
        int stops[3], nstops = (int)(tu_rand() % 4);
        for (int k = 0; k < nstops; k++)
            stops[k] = (int)(tu_rand() % (unsigned)(n + 1));
        for (int i = 0; i <= n; i++) {
            for (int k = 0; k < nstops; k++) {
                if (stops[k] != i)
                    continue;
                drain_into(b, &cl); /* the last commit before the stop */
                st_topology_free(b);
                b = topo_(ops, nops);
                /* Restore in a shuffled order: distinct keys do not depend on it. */
                size_t *order = malloc((cl.n + 1) * sizeof(size_t));
                for (size_t j = 0; j < cl.n; j++)
                    order[j] = j;
                for (size_t j = cl.n; j > 1; j--) {
                    size_t x = (size_t)(tu_rand() % j), tmp = order[j - 1];
                    order[j - 1] = order[x];
                    order[x] = tmp;
                }
                for (size_t j = 0; j < cl.n; j++) {
                    char err[256];
                    size_t q = order[j];
                    if (!CHECK_EQ_INT(st_restore(b, cl.key[q], cl.klen[q], cl.value[q],
                                                 cl.vlen[q], err, sizeof(err)), 0))
                        printf("  restore: %s\n", err);
                }
                free(order);
                CHECK_EQ_STR(drain(b), "");
                restores++;
            }
            if (i == n)
                break;
            process_into(b, &in[i], &got);
            if (tu_rand() % 5 == 0)
                drain_into(b, &cl);
        }
        if (!CHECK_EQ_STR(got.p, want.p))
            printf("  trial %d (pipeline %zu, %d records, %d stops)\n", trial,
                   (size_t)trial % npipes, n, nstops);
        /* The restored state is the state: its changelog, drained whole, matches. */
        drain_into(b, &cl);
        st_stats sa = stats(a), sb = stats(b);
        CHECK_EQ_INT(sa.state_entries, sb.state_entries);
        CHECK_EQ_INT(sa.watermark_ms, sb.watermark_ms);
        for (const char *p = want.p; (p = strchr(p, '\n')) != NULL; p++)
            outputs++;
        trials++;
        cl_free(&cl);
        st_topology_free(a);
        st_topology_free(b);
        free(want.p);
        free(got.p);
        free(in);
    }
    CHECK_EQ_INT(trials, 140);
    CHECK(outputs > 1000); /* the property was tested on real outputs */
    CHECK(restores > 100);
}

/* The same property with the changelog replayed record by record, uncompacted. */
static void test_restore_from_full_log(void)
{
    const char *ops[] = {"key_by user", "window session 4s time ts lateness 2s",
                         "aggregate count, avg n"};
    for (int trial = 0; trial < 30; trial++) {
        int n = 50 + (int)(tu_rand() % 100), stop = (int)(tu_rand() % (unsigned)n);
        input *in = calloc((size_t)n, sizeof(*in));
        for (int i = 0; i < n; i++)
            random_input(&in[i], i);
        sbuf want = {0}, got = {0}, log = {0};
        sb_str(&want, "");
        sb_str(&got, "");
        st_topology *a = topo_(ops, 3), *b = topo_(ops, 3);
        if (!CHECK(a && b))
            return;
        st_records full = {0};
        for (int i = 0; i < n; i++) {
            process_into(a, &in[i], &want);
            if (i == stop) {
                st_drain_changelog(b, &full);
                st_topology_free(b);
                b = topo_(ops, 3);
                for (size_t j = 0; j < full.n; j++) {
                    char err[128];
                    CHECK_EQ_INT(st_restore(b, full.v[j].key, full.v[j].key_len, full.v[j].value,
                                            full.v[j].value_len, err, sizeof(err)), 0);
                }
            }
            process_into(b, &in[i], &got);
            if (tu_rand() % 3 == 0)
                st_drain_changelog(b, &full);
        }
        CHECK_EQ_STR(got.p, want.p);
        st_records_clear(&full);
        st_topology_free(a);
        st_topology_free(b);
        free(want.p);
        free(got.p);
        free(log.p);
        free(in);
    }
}

/* Mutated operator lines and records: building and processing never crash, and every
 * refusal says which line or what is wrong. */
static void test_fuzz_lines_and_records(void)
{
    static const char *const seeds[][3] = {
        {"filter a > 1 and b != \"x\"", "map c.d = a * 2, e = lower(b)", "project c, e"},
        {"flat_map items", "key_by items % 3", "aggregate count, sum items as s"},
        {"key_by u", "window hopping 10s advance 5s time t lateness 2s", "aggregate avg n"},
        {"window session 3s time t", "aggregate min n, max n", "filter min < max"},
        {"join tab-1 on b as j left", "aggregate count", "join tab-1 on key"},
    };
    static const char alphabet[] = "ab ,=.()\"[]0123456789smhd_+-*/%<>!tx\x01\xff";
    static const char *const recs[] = {
        "{\"a\":2,\"b\":\"y\",\"items\":[1,2],\"u\":\"k\",\"t\":1000,\"n\":3}",
        "{\"a\":\"2\",\"items\":\"no\",\"t\":-5,\"n\":null}",
        "[1,2,3]", "null", "{\"t\":1e300}", "{", "", "{\"items\":[[],{},null]}",
    };
    ttables tt = {0};
    tt_set(&tt, "tab-1", "y", "{\"v\":1}");
    tt_set(&tt, "tab-1", "k", "not json");
    int built = 0;
    for (int i = 0; i < 4000; i++) {
        char lines[3][128];
        const char *ops[3];
        size_t which = (size_t)(tu_rand() % (sizeof(seeds) / sizeof(seeds[0])));
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(seeds[which][k]);
            memcpy(lines[k], seeds[which][k], n + 1);
            if (tu_rand() % 3 == 0) {
                size_t at = (size_t)(tu_rand() % n);
                char c = alphabet[tu_rand() % (sizeof(alphabet) - 1)];
                if (tu_rand() % 2)
                    lines[k][at] = c;
                else
                    memmove(lines[k] + at, lines[k] + at + 1, n - at);
            }
            ops[k] = lines[k];
        }
        char err[256] = "";
        st_topology *t = st_topology_new(ops, 3, err, sizeof(err));
        if (!t) {
            if (!CHECK(strncmp(err, "op.", 3) == 0)) {
                printf("  %s | %s | %s: %s\n", ops[0], ops[1], ops[2], err);
                break;
            }
            continue;
        }
        built++;
        if (tu_rand() % 4)
            st_topology_set_lookup(t, tt_lookup, &tt);
        for (int r = 0; r < 6; r++) {
            const char *rec = recs[tu_rand() % (sizeof(recs) / sizeof(recs[0]))];
            st_records out = {0};
            int rc = st_process(t, "k", 1, rec, strlen(rec), (int64_t)(tu_rand() % 100000), &out,
                                err, sizeof(err));
            if (rc < 0 && !CHECK(strncmp(err, "op.", 3) == 0 || strncmp(err, "malformed", 9) == 0))
                printf("  %s\n", err);
            st_records_clear(&out);
        }
        st_records cl = {0};
        CHECK(st_drain_changelog(t, &cl) >= 0);
        st_records_clear(&cl);
        st_topology_free(t);
    }
    CHECK(built > 1000);
}

/* ---- C operators (call lines) ---------------------------------------------------------------- */

/* The runtime's functions as the call hook sees them: "dup" emits its record twice (the second
 * keyed "d", one ms later), "none" emits nothing, "fail" refuses, "junk" emits text that is not
 * JSON after one good record, "nokey" emits the value with no key. */
static int tc_call(void *ctx, const char *name, const st_record *in, st_records *out,
                   char *err, size_t errlen)
{
    int *calls = ctx;
    (*calls)++;
    char *v1 = strndup(in->value, in->value_len), *v2 = strndup(in->value, in->value_len);
    char *k1 = in->key ? strndup(in->key, in->key_len) : NULL;
    int rc = 0;
    if (strcmp(name, "dup") == 0) {
        rc = st_records_take(out, k1, in->key ? in->key_len : 0, v1, in->value_len, in->ts_ms);
        rc = rc ? rc : st_records_take(out, strdup("d"), 1, v2, in->value_len, in->ts_ms + 1);
        return rc;
    }
    if (strcmp(name, "junk") == 0) {
        rc = st_records_take(out, k1, in->key ? in->key_len : 0, v1, in->value_len, in->ts_ms);
        free(v2);
        return rc ? rc : st_records_take(out, NULL, 0, strdup("{oops"), 5, 0);
    }
    if (strcmp(name, "nokey") == 0) {
        free(k1);
        free(v2);
        return st_records_take(out, NULL, 0, v1, in->value_len, in->ts_ms);
    }
    free(k1);
    free(v1);
    free(v2);
    if (strcmp(name, "fail") == 0) {
        snprintf(err, errlen, "nope: %.*s", (int)in->value_len, in->value);
        return -1;
    }
    return 0; /* none */
}

static void test_call(void)
{
    int calls = 0;
    st_topology *t = TOPO("map n = n + 1", "call dup", "filter n > 1", "call nokey",
                          "call dup");
    if (!CHECK(t != NULL))
        return;
    const char *names[4] = {0};
    CHECK_EQ_INT(st_topology_calls(t, names, 4), 2);
    CHECK_EQ_STR(names[0], "dup");
    CHECK_EQ_STR(names[1], "nokey");
    CHECK_EQ_INT(st_topology_tables(t, names, 4), 0);
    /* No functions set: each record is refused by the first call line. */
    CHECK_EQ_STR(feed(t, "k", "{\"n\":1}", 5), "ERR op.2 (call): no function dup");
    st_topology_set_call(t, tc_call, &calls);
    /* The calls see the record as the previous operator left it, in canonical JSON, and the
     * operators after them see what they emitted. */
    CHECK_EQ_STR(feed(t, "k", "{\"n\" : 1}", 5),
                 "- {\"n\":2} 5\nd {\"n\":2} 6\n- {\"n\":2} 6\nd {\"n\":2} 7\n");
    CHECK_EQ_INT(calls, 1 + 2 + 2);
    CHECK_EQ_STR(feed(t, "k", "{\"n\":0}", 5), ""); /* the filter drops both */
    st_stats s = stats(t);
    CHECK_EQ_INT(s.in, 3);
    CHECK_EQ_INT(s.out, 4);
    CHECK_EQ_INT(s.filtered, 2);
    st_topology_free(t);

    /* A function that emits nothing filters; one that fails, or emits text that is not JSON,
     * makes the record bad and keeps nothing it made. */
    t = TOPO("call none", "call fail");
    if (!CHECK(t != NULL))
        return;
    st_topology_set_call(t, tc_call, &calls);
    CHECK_EQ_STR(feed(t, "k", "{}", 1), "");
    CHECK_EQ_INT(stats(t).filtered, 1);
    st_topology_free(t);
    t = TOPO("call fail");
    st_topology_set_call(t, tc_call, &calls);
    CHECK_EQ_STR(feed(t, "k", "{\"a\":[1]}", 1), "ERR op.1 (call): nope: {\"a\":[1]}");
    st_topology_free(t);
    t = TOPO("call junk", "key_by a");
    st_topology_set_call(t, tc_call, &calls);
    const char *r = feed(t, "k", "{\"a\":1}", 1);
    CHECK(strncmp(r, "ERR op.1 (call): ", 17) == 0);
    s = stats(t);
    CHECK_EQ_INT(s.in, 1);
    CHECK_EQ_INT(s.out + s.filtered, 0);
    st_topology_free(t);
    /* Before an aggregate: the emitted records are aggregated. */
    t = TOPO("call dup", "aggregate count");
    st_topology_set_call(t, tc_call, &calls);
    CHECK_EQ_STR(feed(t, "x", "{}", 1), "x {\"key\":\"x\",\"count\":1} 1\nd {\"key\":\"d\",\"count\":1} 2\n");
    st_topology_free(t);
    /* Line errors. */
    char err[256];
    const char *bad[] = {"call", "call 9x", "call a b"};
    const char *want[] = {"op.1: position 5: expected a function name",
                          "op.1: position 6: expected a function name",
                          "op.1: position 8: unexpected 'b'"};
    for (int i = 0; i < 3; i++) {
        CHECK(st_topology_new(&bad[i], 1, err, sizeof err) == NULL);
        if (!CHECK(strncmp(err, want[i], strlen(want[i])) == 0))
            printf("  %s\n", err);
    }
}

TU_MAIN(TU_CASE(test_passthrough_and_filter), TU_CASE(test_map_project),
        TU_CASE(test_flat_map_key_by), TU_CASE(test_topology_errors),
        TU_CASE(test_join_inner_left), TU_CASE(test_join_values_and_tables),
        TU_CASE(test_join_and_aggregate), TU_CASE(test_tumbling),
        TU_CASE(test_hopping), TU_CASE(test_session), TU_CASE(test_aggregates),
        TU_CASE(test_determinism_and_close_order), TU_CASE(test_bad_record_changes_nothing),
        TU_CASE(test_changelog_and_restore), TU_CASE(test_restore_property),
        TU_CASE(test_restore_from_full_log), TU_CASE(test_fuzz_lines_and_records), TU_CASE(test_call))
