/* Unit tests for base/regex.c: whole-name matches and the cost guard in front of regcomp. */
#include <string.h>

#include "base/regex.h"
#include "testutil.h"

static void test_whole_match(void)
{
    regex_t rx;
    if (!CHECK(regex_whole_compile(&rx, "orders-[0-9]+|audit")))
        return;
    CHECK(regex_whole_match(&rx, "orders-12"));
    CHECK(regex_whole_match(&rx, "audit"));
    CHECK(!regex_whole_match(&rx, "orders-12x"));
    CHECK(!regex_whole_match(&rx, "xaudit"));
    regfree(&rx);
    CHECK(!regex_whole_compile(&rx, "a(b"));
}

/* What Kafka users write passes; what makes glibc's regcomp blow up does not. */
static void test_cost_guard(void)
{
    const char *ok[] = {"", ".*", "^CN=([^,]+),OU=.*$", "topic-[a-z0-9]{1,255}",
                        "(a|b|c)+x*y?", "[+*?{}]+", "a\\+\\+\\+", "a{3}b{2,5}c{4,}",
                        "((a+)+)+", "[[:alpha:]]+[]x]*[^]y]?", "a{2}\\0", "a{1,2\\}",
                        "[\\1-\\9]+"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!CHECK(regex_cost_ok(ok[i])))
            printf("  refused: %s\n", ok[i]);
    const char *bad[] = {"CN++++++++++++++++++++++++++++++++", "a**", "a*?", "a+?", "a{2}{2}",
                         "a{256}", "a{1,1000}", "a{,9909}", "(a{200}){200}", "((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
                         /* fuzz_tls (session 18): an unbalanced ')' is a literal glibc repeats */
                         "E:\xfd){,7701}$", "a){300}", "x)++",
                         /* fuzz_tls (session 33): glibc reads an escaped digit or comma of
                          * an interval as itself: {,77\01} is {,7701} */
                         "E:\xfd){,77\\01}$", "a{,77\\01}", "a{2\\5\\6}", "a{1\\,300}",
                         /* back-references: regexec backtracks, exponential in the name
                          * (an admin-API hunt, session 37: one ListTransactions or
                          * ConsumerGroupHeartbeat held the loop for minutes) */
                         "(.*)(.*)(.*)\\3\\2\\1x", "(a)\\1", "x|(y)\\9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!CHECK(!regex_cost_ok(bad[i])))
            printf("  accepted: %s\n", bad[i]);
    regex_t rx;
    CHECK_EQ_INT(regex_compile_safe(&rx, "a++", REG_EXTENDED), REG_ESPACE);
    CHECK(!regex_whole_compile(&rx, "CN+++++++++++++++++++++++++++++++=.*"));
    CHECK_EQ_INT(regex_compile_safe(&rx, "a+b", REG_EXTENDED), 0);
    regfree(&rx);
}

TU_MAIN(TU_CASE(test_whole_match), TU_CASE(test_cost_guard))
