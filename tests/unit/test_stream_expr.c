/* Unit tests of stream/expr: the expression language's parser, evaluator and printer. */
#include <math.h>

#include "stream/expr.h"
#include "testutil.h"

static const char *REC = "{\"user\":\"Alice\",\"n\":7,\"x\":1.5,\"flag\":true,\"nothing\":null,"
                         "\"empty\":\"\",\"zero\":0,\"a\":{\"b\":{\"c\":42}},"
                         "\"payload\":{\"weird key\":\"w\",\"and\":1},\"top level\":5,"
                         "\"items\":[10,20,30],\"s\":\"h\\u00e9llo\",\"num\":\"12.5\","
                         "\"o1\":{\"x\":1,\"y\":[1,2]},\"o2\":{\"y\":[1,2],\"x\":1}}";

static char g_out[4096];

/* Parses and evaluates text against REC: the result's canonical JSON, or "ERR <message>"
 * (parse errors: "PARSE <message>"). */
static const char *ev(const char *text)
{
    char err[256] = "";
    cJSON *rec = cJSON_Parse(REC);
    sx_expr *e = sx_parse(text, err, sizeof(err));
    if (!e) {
        snprintf(g_out, sizeof(g_out), "PARSE %s", err);
        cJSON_Delete(rec);
        return g_out;
    }
    cJSON *v = sx_eval(e, rec, err, sizeof(err));
    if (!v) {
        snprintf(g_out, sizeof(g_out), "ERR %s", err);
    } else {
        char *s = sx_print(v, NULL);
        snprintf(g_out, sizeof(g_out), "%s", s);
        free(s);
    }
    cJSON_Delete(v);
    sx_free(e);
    cJSON_Delete(rec);
    return g_out;
}

static bool has(const char *hay, const char *needle)
{
    bool ok = strstr(hay, needle) != NULL;
    if (!ok)
        printf("  '%s' does not contain '%s'\n", hay, needle);
    return ok;
}

static void test_literals(void)
{
    CHECK_EQ_STR(ev("42"), "42");
    CHECK_EQ_STR(ev("1.5"), "1.5");
    CHECK_EQ_STR(ev("1e3"), "1000");
    CHECK_EQ_STR(ev("2.5E-1"), "0.25");
    CHECK_EQ_STR(ev("9007199254740992"), "9007199254740992");
    CHECK(has(ev("9007199254740993"), "PARSE position 1: integer literal beyond 2^53"));
    CHECK(has(ev("99999999999999999999999"), "beyond 2^53"));
    CHECK_EQ_STR(ev("\"a\\\"b\\\\c\\nd\\te\\r\""), "\"a\\\"b\\\\c\\nd\\te\\r\"");
    CHECK_EQ_STR(ev("\"\""), "\"\"");
    CHECK_EQ_STR(ev("true"), "true");
    CHECK_EQ_STR(ev("false"), "false");
    CHECK_EQ_STR(ev("null"), "null");
    CHECK_EQ_STR(ev("  7  "), "7");
}

static void test_arithmetic_and_precedence(void)
{
    CHECK_EQ_STR(ev("1 + 2 * 3"), "7");
    CHECK_EQ_STR(ev("(1 + 2) * 3"), "9");
    CHECK_EQ_STR(ev("10 - 4 - 3"), "3");
    CHECK_EQ_STR(ev("100 / 10 / 5"), "2");
    CHECK_EQ_STR(ev("2 * 3 % 4"), "2");
    CHECK_EQ_STR(ev("7 / 2"), "3.5");
    CHECK_EQ_STR(ev("7 % 3"), "1");
    CHECK_EQ_STR(ev("-7 % 3"), "-1");
    CHECK_EQ_STR(ev("7.5 % 2"), "1.5");
    CHECK_EQ_STR(ev("-2 * 3"), "-6");
    CHECK_EQ_STR(ev("- -2"), "2");
    CHECK_EQ_STR(ev("-(1 + 2)"), "-3");
    CHECK_EQ_STR(ev("2 - -2"), "4");
    CHECK_EQ_STR(ev("0.1 + 0.2"), "0.30000000000000004");
    CHECK_EQ_STR(ev("n * 2 + x"), "15.5");
    CHECK_EQ_STR(ev("\"ab\" + \"cd\""), "\"abcd\"");
    CHECK_EQ_STR(ev("user + \"!\""), "\"Alice!\"");
    /* Comparison below arithmetic, not below comparison, and below or. */
    CHECK_EQ_STR(ev("1 + 2 == 3"), "true");
    CHECK_EQ_STR(ev("1 < 2 and 2 < 3"), "true");
    CHECK_EQ_STR(ev("not 1 == 2"), "true");
    CHECK_EQ_STR(ev("not true or true"), "true");
    CHECK_EQ_STR(ev("not (true or true)"), "false");
    CHECK_EQ_STR(ev("true or false and false"), "true");
    CHECK_EQ_STR(ev("(true or false) and false"), "false");
    CHECK_EQ_STR(ev("not not 1"), "true");
    CHECK_EQ_STR(ev("1 and \"x\""), "true"); /* and/or yield booleans */
    CHECK_EQ_STR(ev("0 or \"\""), "false");
    /* Short-circuit: the right side's error never happens. */
    CHECK_EQ_STR(ev("false and 1 / 0"), "false");
    CHECK_EQ_STR(ev("true or \"a\" * 2"), "true");
    CHECK(has(ev("true and 1 / 0"), "ERR position 12: division by zero"));
}

static void test_comparisons(void)
{
    CHECK_EQ_STR(ev("1 < 2"), "true");
    CHECK_EQ_STR(ev("2 <= 2"), "true");
    CHECK_EQ_STR(ev("3 > 2.5"), "true");
    CHECK_EQ_STR(ev("2 >= 3"), "false");
    CHECK_EQ_STR(ev("1 == 1.0"), "true");
    CHECK_EQ_STR(ev("1 != 1"), "false");
    CHECK_EQ_STR(ev("\"abc\" < \"abd\""), "true");
    CHECK_EQ_STR(ev("\"B\" < \"a\""), "true"); /* bytes, not locale */
    CHECK_EQ_STR(ev("\"ab\" < \"abc\""), "true");
    CHECK_EQ_STR(ev("\"b\" >= \"abc\""), "true");
    CHECK_EQ_STR(ev("user == \"Alice\""), "true");
    /* Mixed types: never equal; ordering them is an error. */
    CHECK_EQ_STR(ev("1 == \"1\""), "false");
    CHECK_EQ_STR(ev("1 != \"1\""), "true");
    CHECK_EQ_STR(ev("null == false"), "false");
    CHECK_EQ_STR(ev("null == null"), "true");
    CHECK_EQ_STR(ev("missing == null"), "true");
    CHECK_EQ_STR(ev("true == true"), "true");
    CHECK_EQ_STR(ev("o1 == o2"), "true"); /* objects: members in any order */
    CHECK_EQ_STR(ev("o1.y == items"), "false");
    CHECK_EQ_STR(ev("o1 == a"), "false");
    CHECK(has(ev("\"a\" < 1"), "ERR position 5: '<' cannot order string and number"));
    CHECK(has(ev("null >= 1"), "cannot order null and number"));
    CHECK(has(ev("true > false"), "cannot order boolean and boolean"));
    CHECK(has(ev("1 < 2 < 3"), "PARSE position 7: comparisons do not chain"));
}

static void test_paths(void)
{
    CHECK_EQ_STR(ev("user"), "\"Alice\"");
    CHECK_EQ_STR(ev("a.b.c"), "42");
    CHECK_EQ_STR(ev("a . b . c"), "42");
    CHECK_EQ_STR(ev("a.b"), "{\"c\":42}");
    CHECK_EQ_STR(ev("payload[\"weird key\"]"), "\"w\"");
    CHECK_EQ_STR(ev("payload.and"), "1"); /* a keyword is a name after '.' */
    CHECK_EQ_STR(ev("payload[\"and\"] + 1"), "2");
    CHECK_EQ_STR(ev("[\"top level\"] * 2"), "10");
    CHECK_EQ_STR(ev("items[0]"), "10");
    CHECK_EQ_STR(ev("items[2]"), "30");
    CHECK_EQ_STR(ev("items[3]"), "null");
    CHECK_EQ_STR(ev("[0]"), "null"); /* an index on the record (an object) */
    CHECK_EQ_STR(ev("o1.y[1]"), "2");
    CHECK_EQ_STR(ev("missing"), "null");
    CHECK_EQ_STR(ev("a.missing.c"), "null");
    CHECK_EQ_STR(ev("user.name"), "null");  /* through a string */
    CHECK_EQ_STR(ev("items.x"), "null");    /* a name on an array */
    CHECK_EQ_STR(ev("a[0]"), "null");       /* an index on an object */
    CHECK_EQ_STR(ev("nothing"), "null");
    CHECK_EQ_STR(ev("User"), "null");       /* case-sensitive */
    /* A record that is not an object has no fields. */
    char err[64];
    sx_expr *e = sx_parse("a.b", err, sizeof(err));
    cJSON *arr = cJSON_Parse("[1,2]");
    cJSON *v = sx_eval(e, arr, err, sizeof(err));
    CHECK(cJSON_IsNull(v));
    cJSON_Delete(v);
    v = sx_eval(e, NULL, err, sizeof(err));
    CHECK(cJSON_IsNull(v));
    cJSON_Delete(v);
    cJSON_Delete(arr);
    sx_free(e);
    /* The path accessors. */
    e = sx_parse("a[\"x y\"].c[2]", err, sizeof(err));
    if (CHECK(e != NULL)) {
        CHECK_EQ_INT(sx_path_len(e), 4);
        CHECK_EQ_STR(sx_path_key(e, 0), "a");
        CHECK_EQ_STR(sx_path_key(e, 1), "x y");
        CHECK_EQ_STR(sx_path_key(e, 2), "c");
        CHECK(sx_path_key(e, 3) == NULL);
        CHECK(sx_path_key(e, 4) == NULL);
    }
    sx_free(e);
    e = sx_parse("a + 1", err, sizeof(err));
    CHECK_EQ_INT(sx_path_len(e), 0);
    sx_free(e);
}

static void test_functions(void)
{
    CHECK_EQ_STR(ev("lower(user)"), "\"alice\"");
    CHECK_EQ_STR(ev("upper(\"MiXed 1\")"), "\"MIXED 1\"");
    CHECK_EQ_STR(ev("len(user)"), "5");
    CHECK_EQ_STR(ev("len(s)"), "5"); /* code points: h, e-acute, l, l, o */
    CHECK_EQ_STR(ev("len(items)"), "3");
    CHECK_EQ_STR(ev("len(\"\")"), "0");
    CHECK_EQ_STR(ev("str(1.5)"), "\"1.5\"");
    CHECK_EQ_STR(ev("str(n)"), "\"7\"");
    CHECK_EQ_STR(ev("str(flag)"), "\"true\"");
    CHECK_EQ_STR(ev("str(missing)"), "\"null\"");
    CHECK_EQ_STR(ev("str(user)"), "\"Alice\"");
    CHECK_EQ_STR(ev("str(o1)"), "\"{\\\"x\\\":1,\\\"y\\\":[1,2]}\"");
    CHECK_EQ_STR(ev("str(1e21)"), "\"1e+21\"");
    CHECK_EQ_STR(ev("num(num)"), "12.5");
    CHECK_EQ_STR(ev("num(\"-3e2\")"), "-300");
    CHECK_EQ_STR(ev("num(7)"), "7");
    CHECK_EQ_STR(ev("num(true) + num(false)"), "1");
    CHECK(has(ev("num(\"abc\")"), "ERR position 1: num() cannot read a number from \"abc\""));
    CHECK(has(ev("num(\" 1\")"), "cannot read a number"));
    CHECK(has(ev("num(\"0x10\")"), "cannot read a number"));
    CHECK(has(ev("num(\"inf\")"), "cannot read a number"));
    CHECK(has(ev("num(\"\")"), "cannot read a number"));
    CHECK(has(ev("num(missing)"), "num() needs a number, a string or a boolean, got null"));
    CHECK_EQ_STR(ev("floor(2.7)"), "2");
    CHECK_EQ_STR(ev("floor(-2.5)"), "-3");
    CHECK_EQ_STR(ev("floor(n / 2)"), "3");
    CHECK_EQ_STR(ev("coalesce(missing, nothing, n, 1)"), "7");
    CHECK_EQ_STR(ev("coalesce(missing)"), "null");
    CHECK_EQ_STR(ev("coalesce(missing, \"d\")"), "\"d\"");
    CHECK_EQ_STR(ev("coalesce(n, 1 / 0)"), "7"); /* lazy */
    CHECK_EQ_STR(ev("exists(user)"), "true");
    CHECK_EQ_STR(ev("exists(nothing)"), "true"); /* present, with the value null */
    CHECK_EQ_STR(ev("exists(missing)"), "false");
    CHECK_EQ_STR(ev("exists(a.b.c) and not exists(a.b.d)"), "true");
    CHECK_EQ_STR(ev("exists(items[2]) and not exists(items[3])"), "true");
    CHECK_EQ_STR(ev("lower ( user )"), "\"alice\"");
    CHECK_EQ_STR(ev("len(lower(upper(user)) + \"xy\")"), "7");
    /* A name is a field unless it is followed by '('. */
    CHECK_EQ_STR(ev("lower"), "null");
    CHECK(has(ev("lower(5)"), "ERR position 1: lower() needs a string, got number"));
    CHECK(has(ev("upper(null)"), "upper() needs a string, got null"));
    CHECK(has(ev("len(5)"), "len() needs a string or an array, got number"));
    CHECK(has(ev("floor(\"1\")"), "floor() needs a number, got string"));
    CHECK(has(ev("lower()"), "PARSE position 1: lower() takes 1 argument"));
    CHECK(has(ev("lower(a, b)"), "lower() takes 1 argument"));
    CHECK(has(ev("coalesce()"), "coalesce() takes 1 to 32 arguments"));
    CHECK(has(ev("foo(1)"), "PARSE position 1: unknown function 'foo'"));
    CHECK(has(ev("exists(1)"), "PARSE position 8: exists() takes a field path"));
    CHECK(has(ev("exists(a + b)"), "exists() takes a field path"));
    CHECK(has(ev("lower(user"), "expected ',' or ')'"));
}

static void test_missing_fields_and_type_errors(void)
{
    CHECK(has(ev("missing + 1"), "ERR position 9: '+' needs two numbers or two strings, "
                                 "got null and number"));
    CHECK(has(ev("\"abc\" * 2"), "ERR position 7: '*' needs numbers, got string and number"));
    CHECK(has(ev("user - 1"), "'-' needs numbers, got string and number"));
    CHECK(has(ev("\"a\" + 1"), "got string and number"));
    CHECK(has(ev("1 / 0"), "ERR position 3: division by zero"));
    CHECK(has(ev("n / zero"), "division by zero"));
    CHECK(has(ev("1 % 0"), "modulo by zero"));
    CHECK(has(ev("-user"), "ERR position 1: unary '-' needs a number, got string"));
    CHECK(has(ev("1e308 * 10"), "'*' gives a number out of range"));
    CHECK(has(ev("flag + 1"), "got boolean and number"));
    CHECK(has(ev("items * 2"), "got array and number"));
    /* An error deep inside reports the innermost operator's position. */
    CHECK(has(ev("lower(str(1 + \"x\"))"), "ERR position 13:"));
}

static void test_truthiness(void)
{
    static const struct {
        const char *expr;
        bool want;
    } cases[] = {
        {"false", false}, {"null", false},  {"0", false},     {"\"\"", false},
        {"missing", false}, {"nothing", false}, {"empty", false}, {"zero", false},
        {"-0", false},    {"true", true},   {"1", true},      {"-0.5", true},
        {"\"0\"", true},  {"\"false\"", true}, {"items", true}, {"a", true},
        {"o1.y", true},   {"n > 3", true},
    };
    cJSON *rec = cJSON_Parse(REC);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[128];
        sx_expr *e = sx_parse(cases[i].expr, err, sizeof(err));
        bool out = !cases[i].want;
        if (!CHECK(e != NULL))
            continue;
        if (CHECK_EQ_INT(sx_test(e, rec, &out, err, sizeof(err)), 0) && out != cases[i].want) {
            printf("  truthiness of %s\n", cases[i].expr);
            CHECK_EQ_INT(out, cases[i].want);
        }
        sx_free(e);
    }
    char err[128] = "";
    bool out = true;
    sx_expr *e = sx_parse("user * 2", err, sizeof(err));
    CHECK_EQ_INT(sx_test(e, rec, &out, err, sizeof(err)), -1);
    CHECK(has(err, "position 6: '*' needs numbers"));
    sx_free(e);
    cJSON *empty_arr = cJSON_CreateArray();
    CHECK(sx_truthy(empty_arr)); /* only false, null, 0 and "" are false */
    cJSON_Delete(empty_arr);
    cJSON_Delete(rec);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "PARSE position 1: expected an expression, found the end of the text"},
        {"   ", "PARSE position 4: expected an expression, found the end of the text"},
        {"1 +", "PARSE position 4: expected an expression, found the end of the text"},
        {"(1", "PARSE position 3: expected ')', found the end of the text"},
        {"1)", "PARSE position 2: unexpected ')' after the expression"},
        {"1 2", "PARSE position 3: unexpected '2' after the expression"},
        {"a = 1", "PARSE position 3: unexpected '=' (write == to compare)"},
        {"a ! b", "PARSE position 3: '!' is not an operator"},
        {"!a", "PARSE position 1: '!' is not an operator"},
        {"\"abc", "PARSE position 1: unterminated string"},
        {"\"a\\q\"", "PARSE position 3: unknown escape '\\q'"},
        {"\"a\\", "PARSE position 3: unknown escape"},
        {"\"a\tb\"", "PARSE position 3: control character in a string"},
        {"12abc", "PARSE position 1: malformed number"},
        {"1.", "PARSE position 1: malformed number"},
        {"1.2.3", "PARSE position 1: malformed number"},
        {"1e", "PARSE position 1: malformed number"},
        {".5", "PARSE position 1: expected an expression, found '.'"},
        {"a.", "PARSE position 3: expected a field name after '.', found the end"},
        {"a.1", "PARSE position 3: expected a field name after '.', found '1'"},
        {"a[", "PARSE position 3: expected a \"key\" or an index in [ ], found the end"},
        {"a[1.5]", "PARSE position 3: expected a \"key\" or an index in [ ], found '1.5'"},
        {"a[\"k\"", "PARSE position 6: expected ']', found the end of the text"},
        {"and", "PARSE position 1: expected an expression, found 'and'"},
        {"a and or b", "PARSE position 7: expected an expression, found 'or'"},
        {"1 == not 2", "PARSE position 6: expected an expression, found 'not'"},
        {"#", "PARSE position 1: unexpected character '#'"},
        {"a @ b", "PARSE position 3: unexpected character '@'"},
        {"\x01", "PARSE position 1: unexpected character '\\x01'"},
        {"\xff\xfe", "PARSE position 1: unexpected character '\\xff'"},
        {"a == == b", "PARSE position 6: expected an expression, found '=='"},
        {"f(", "PARSE position 1: unknown function 'f'"},
        {"()", "PARSE position 2: expected an expression, found ')'"},
        {"-", "PARSE position 2: expected an expression, found the end of the text"},
        {"not", "PARSE position 4: expected an expression, found the end of the text"},
        {"[]", "PARSE position 2: expected a \"key\" or an index in [ ]"},
        {"1e400", "PARSE position 1: number literal out of range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = ev(cases[i].text);
        if (strncmp(got, cases[i].want, strlen(cases[i].want)) != 0)
            CHECK_EQ_STR(got, cases[i].want);
    }
    /* NULL text, and NULL/zero-length error buffers, are safe. */
    CHECK(sx_parse(NULL, NULL, 0) == NULL);
    CHECK(sx_parse("1 +", NULL, 0) == NULL);
    char tiny[4];
    CHECK(sx_parse("1 +", tiny, sizeof(tiny)) == NULL);
    CHECK_EQ_STR(tiny, "pos");
}

static char *repeat(const char *a, size_t n, const char *mid, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), lm = strlen(mid);
    char *s = malloc(n * (la + lb) + lm + 1), *p = s;
    for (size_t i = 0; i < n; i++, p += la)
        memcpy(p, a, la);
    memcpy(p, mid, lm);
    p += lm;
    for (size_t i = 0; i < n; i++, p += lb)
        memcpy(p, b, lb);
    *p = '\0';
    return s;
}

static void test_limits(void)
{
    char *s = repeat("(", 62, "1", ")");
    CHECK_EQ_STR(ev(s), "1");
    free(s);
    s = repeat("(", 64, "1", ")");
    CHECK(has(ev(s), "PARSE position 65: nested deeper than 64 levels"));
    free(s);
    s = repeat("(", 4000, "1", ")");
    CHECK(has(ev(s), "nested deeper than 64 levels"));
    free(s);
    s = repeat("-", 100, "1", "");
    CHECK(has(ev(s), "nested deeper than 64 levels"));
    free(s);
    s = repeat("not ", 100, "1", "");
    CHECK(has(ev(s), "nested deeper than 64 levels"));
    free(s);
    s = repeat("lower(", 80, "user", ")");
    CHECK(has(ev(s), "nested deeper than 64 levels"));
    free(s);
    /* Operator chains are bounded by the tree depth. */
    s = repeat("1 + ", 200, "1", "");
    CHECK_EQ_STR(ev(s), "201");
    free(s);
    s = repeat("1 + ", 300, "1", "");
    CHECK(has(ev(s), "expression deeper than 256 levels"));
    free(s);
    s = repeat("1 or ", 300, "1", "");
    CHECK(has(ev(s), "expression deeper than 256 levels"));
    free(s);
    /* Text longer than SX_TEXT_MAX. */
    s = repeat(" ", SX_TEXT_MAX, "1", "");
    CHECK(has(ev(s), "PARSE position 1: text longer than 8192 bytes"));
    free(s);
    s = repeat(" ", SX_TEXT_MAX - 1, "1", "");
    CHECK_EQ_STR(ev(s), "1");
    free(s);
    /* Argument count. */
    char buf[512];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "coalesce(");
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s1", i ? "," : "");
    snprintf(buf + n, sizeof(buf) - n, ")");
    CHECK(has(ev(buf), "more than 32 arguments"));
}

static void test_parse_part(void)
{
    char err[128];
    size_t end = 0;
    const char *line = "aggregate sum amount * 2 as total, count";
    sx_expr *e = sx_parse_part(line, 14, &end, err, sizeof(err));
    if (CHECK(e != NULL))
        CHECK_EQ_STR(line + end, "as total, count");
    sx_free(e);
    line = "map a.b = coalesce(x, y), c = 1";
    e = sx_parse_part(line, 4, &end, err, sizeof(err));
    if (CHECK(e != NULL)) {
        CHECK_EQ_STR(line + end, "= coalesce(x, y), c = 1");
        CHECK_EQ_INT(sx_path_len(e), 2);
    }
    sx_free(e);
    e = sx_parse_part(line, 10, &end, err, sizeof(err));
    if (CHECK(e != NULL))
        CHECK_EQ_STR(line + end, ", c = 1");
    sx_free(e);
    line = "time ts lateness 5s";
    e = sx_parse_part(line, 5, &end, err, sizeof(err));
    if (CHECK(e != NULL))
        CHECK_EQ_STR(line + end, "lateness 5s");
    sx_free(e);
    /* Positions in messages count from the start of the line. */
    line = "filter a +";
    CHECK(sx_parse_part(line, 7, &end, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "position 11: expected an expression, found the end of the text");
    CHECK(sx_parse_part(line, 100, &end, err, sizeof(err)) == NULL);
}

static void test_print_and_numbers(void)
{
    char buf[32];
    static const struct {
        double d;
        const char *want;
    } nums[] = {
        {0, "0"}, {-0.0, "0"}, {1, "1"}, {-1, "-1"}, {0.1, "0.1"}, {1.5, "1.5"},
        {1e21, "1e+21"}, {9007199254740992.0, "9007199254740992"},
        {-9007199254740992.0, "-9007199254740992"}, {9007199254740994.0, "9007199254740994"},
        {1.0 / 3, "0.3333333333333333"}, {1e-7, "1e-07"}, {2.0 / 3, "0.6666666666666666"},
        {1700000000000.0, "1700000000000"}, {123456.789, "123456.789"},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        size_t n = sx_format_number(nums[i].d, buf, sizeof(buf));
        CHECK_EQ_STR(buf, nums[i].want);
        CHECK_EQ_INT(n, strlen(nums[i].want));
        if (nums[i].d != 0)
            CHECK(strtod(buf, NULL) == nums[i].d); /* reads back exactly */
    }
    sx_format_number(INFINITY, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "null");
    sx_format_number(NAN, buf, sizeof(buf));
    CHECK_EQ_STR(buf, "null");
    /* Every double reads back from its text. */
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = tu_rand();
        double d;
        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            continue;
        sx_format_number(d, buf, sizeof(buf));
        if (strtod(buf, NULL) != d && d != 0) {
            CHECK_EQ_STR(buf, "a round-tripping number");
            break;
        }
    }
    cJSON *v = cJSON_Parse("{\"b\":[1,2.5,\"x\\u0001\\\"\\\\/\\b\\f\\n\\r\\t\",null,true,false,"
                           "{}],\"a\":{\"k\":-0},\"\":\"\"}");
    size_t len = 0;
    char *s = sx_print(v, &len);
    CHECK_EQ_STR(s, "{\"b\":[1,2.5,\"x\\u0001\\\"\\\\/\\b\\f\\n\\r\\t\",null,true,false,{}],"
                    "\"a\":{\"k\":0},\"\":\"\"}");
    CHECK_EQ_INT(len, strlen(s));
    free(s);
    cJSON_Delete(v);
    CHECK_EQ_STR(sx_type_name(NULL), "null");
}

static void test_json_parse(void)
{
    char err[64];
    cJSON *v = sx_json_parse(" {\"a\":1} \n", 10, err, sizeof(err));
    CHECK(cJSON_IsObject(v));
    cJSON_Delete(v);
    /* Exactly n bytes: what follows is not read. */
    v = sx_json_parse("[1]garbage", 3, err, sizeof(err));
    CHECK(cJSON_IsArray(v));
    cJSON_Delete(v);
    CHECK(sx_json_parse("{\"a\":1} x", 9, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "malformed JSON at byte 8");
    CHECK(sx_json_parse("{\"a\":", 5, err, sizeof(err)) == NULL);
    CHECK(has(err, "malformed JSON at byte"));
    CHECK(sx_json_parse("", 0, err, sizeof(err)) == NULL);
    CHECK(sx_json_parse("{}\0{}", 5, err, sizeof(err)) == NULL);
    CHECK_EQ_STR(err, "malformed JSON at byte 2");
}

/* Random bytes and random mutations of valid expressions: parsing never crashes, an error
 * always says where, and whatever parses evaluates (to a value or an error). */
static void test_fuzz(void)
{
    static const char *const seeds[] = {
        "a.b.c + 1 * (2 - x) / 3 % 4",
        "lower(user) == \"alice\" and not exists(flag) or n >= 3",
        "coalesce(missing, payload[\"weird key\"], str(items[1]))",
        "-(-n) < floor(x) != true",
        "len(s) + num(\"1e3\") - upper(\"q\\\"\\\\\")",
    };
    static const char alphabet[] = "ab.()[]\"\\ 019e+-*/%<>=!,notandor_xy\t\x01\xff";
    cJSON *rec = cJSON_Parse(REC);
    int parsed = 0, failed = 0;
    for (int i = 0; i < 30000; i++) {
        char text[160];
        size_t n;
        if (i % 3 == 0) {
            n = (size_t)(tu_rand() % 64);
            for (size_t k = 0; k < n; k++)
                text[k] = i % 2 ? (char)(tu_rand() % 255 + 1)
                                : alphabet[tu_rand() % (sizeof(alphabet) - 1)];
        } else {
            const char *s = seeds[tu_rand() % (sizeof(seeds) / sizeof(seeds[0]))];
            n = strlen(s);
            memcpy(text, s, n);
            int edits = 1 + (int)(tu_rand() % 4);
            for (int k = 0; k < edits; k++) {
                size_t at = n ? (size_t)(tu_rand() % n) : 0;
                char c = alphabet[tu_rand() % (sizeof(alphabet) - 1)];
                switch (tu_rand() % 3) {
                case 0:
                    if (n)
                        text[at] = c;
                    break;
                case 1:
                    if (n + 1 < sizeof(text)) {
                        memmove(text + at + 1, text + at, n - at);
                        text[at] = c;
                        n++;
                    }
                    break;
                default:
                    if (n) {
                        memmove(text + at, text + at + 1, n - at - 1);
                        n--;
                    }
                    break;
                }
            }
        }
        text[n] = '\0';
        char err[256] = "";
        sx_expr *e = sx_parse(text, err, sizeof(err));
        if (!e) {
            failed++;
            if (strncmp(err, "position ", 9) != 0) {
                CHECK_EQ_STR(err, "position ...");
                printf("  for text '%s'\n", text);
                break;
            }
            continue;
        }
        parsed++;
        cJSON *v = sx_eval(e, rec, err, sizeof(err));
        if (!v && strncmp(err, "position ", 9) != 0) {
            CHECK_EQ_STR(err, "position ...");
            printf("  for text '%s'\n", text);
        }
        cJSON_Delete(v);
        bool b;
        sx_test(e, rec, &b, err, sizeof(err));
        sx_free(e);
    }
    CHECK(parsed > 100);
    CHECK(failed > 100);
    cJSON_Delete(rec);
}

TU_MAIN(TU_CASE(test_literals), TU_CASE(test_arithmetic_and_precedence),
        TU_CASE(test_comparisons), TU_CASE(test_paths), TU_CASE(test_functions),
        TU_CASE(test_missing_fields_and_type_errors), TU_CASE(test_truthiness),
        TU_CASE(test_parse_errors), TU_CASE(test_limits), TU_CASE(test_parse_part),
        TU_CASE(test_print_and_numbers), TU_CASE(test_json_parse), TU_CASE(test_fuzz))
