/*
 * testutil.h - the unit-test harness: checks that record a failure and carry on, and a main
 * that runs a list of test functions.
 *
 * Usage:
 *     static void test_something(void) { CHECK_EQ_INT(1 + 1, 2); }
 *     TU_MAIN(TU_CASE(test_something), TU_KNOWN_BUG(test_open_issue))
 *
 * Every CHECK* is an expression that yields true when the check passed, so a test stops
 * early with an explicit `if (!CHECK(p != NULL)) return;` (no macro hides a return).
 * TU_KNOWN_BUG marks a test that documents a bug in src/ not fixed yet: its failures are
 * printed but do not fail the run (set BROOK_TEST_STRICT=1 to count them); once it passes,
 * the harness says so, and the mark should become TU_CASE.
 * Arguments: substrings of test names to run (default: all). BROOK_TEST_SEED seeds tu_rand().
 */
#ifndef BROOK_TESTS_TESTUTIL_H
#define BROOK_TESTS_TESTUTIL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tu_case {
    const char *name;
    void (*fn)(void);
    bool known_bug;
} tu_case;

static int tu_failures_; /* failed checks in the current test */

static bool tu_fail_(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
static bool tu_fail_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  %s:%d: ", file, line);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    tu_failures_++;
    return false;
}

static inline bool tu_check_(bool ok, const char *expr, const char *file, int line)
{
    return ok ? true : tu_fail_(file, line, "CHECK(%s) failed", expr);
}

static inline bool tu_eq_int_(long long a, long long b, const char *ea, const char *eb,
                              const char *file, int line)
{
    if (a == b)
        return true;
    return tu_fail_(file, line, "%s == %s failed: %lld != %lld", ea, eb, a, b);
}

static inline bool tu_eq_u64_(uint64_t a, uint64_t b, const char *ea, const char *eb,
                              const char *file, int line)
{
    if (a == b)
        return true;
    return tu_fail_(file, line, "%s == %s failed: 0x%" PRIx64 " != 0x%" PRIx64, ea, eb, a, b);
}

static inline bool tu_eq_str_(const char *a, const char *b, const char *ea, const char *eb,
                              const char *file, int line)
{
    if (a && b && strcmp(a, b) == 0)
        return true;
    if (!a && !b)
        return true;
    return tu_fail_(file, line, "%s == %s failed: \"%s\" != \"%s\"", ea, eb, a ? a : "(null)",
                    b ? b : "(null)");
}

static inline bool tu_eq_mem_(const void *a, const void *b, size_t n, const char *ea,
                              const char *eb, const char *file, int line)
{
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return tu_fail_(file, line, "%s == %s failed: first difference at byte %zu: "
                            "0x%02x != 0x%02x", ea, eb, i, x[i], y[i]);
    }
    return true;
}

static inline bool tu_eq_slice_(const uint8_t *p, int32_t len, const char *want,
                                const char *expr, const char *file, int line)
{
    if (!want && len == -1 && p == NULL)
        return true;
    if (want && len >= 0 && (size_t)len == strlen(want) && (len == 0 || memcmp(p, want, len) == 0))
        return true;
    if (len < 0)
        return tu_fail_(file, line, "%s: null slice (len %d), want \"%s\"", expr, (int)len,
                        want ? want : "(null)");
    return tu_fail_(file, line, "%s: \"%.*s\", want \"%s\"", expr, (int)len, (const char *)p,
                    want ? want : "(null)");
}

#define CHECK(c) tu_check_(!!(c), #c, __FILE__, __LINE__)
#define CHECK_EQ_INT(a, b) tu_eq_int_((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_U64(a, b) tu_eq_u64_((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_STR(a, b) tu_eq_str_((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_MEM(a, b, n) tu_eq_mem_((a), (b), (n), #a, #b, __FILE__, __LINE__)
/* A kslice (base/buf.h) against a C string; NULL expects a null slice. */
#define CHECK_SLICE(s, cstr) tu_eq_slice_((s).p, (s).len, (cstr), #s, __FILE__, __LINE__)

/* A deterministic xorshift64* generator, so every failure reproduces from its seed. */
static uint64_t tu_seed_ = 0x9E3779B97F4A7C15ull;
static inline uint64_t tu_rand(void)
{
    tu_seed_ ^= tu_seed_ >> 12;
    tu_seed_ ^= tu_seed_ << 25;
    tu_seed_ ^= tu_seed_ >> 27;
    return tu_seed_ * 0x2545F4914F6CDD1Dull;
}

static inline int tu_run(int argc, char **argv, const tu_case *cases, size_t n)
{
    const char *seed = getenv("BROOK_TEST_SEED");
    if (seed && *seed)
        tu_seed_ = strtoull(seed, NULL, 0) | 1;
    bool strict = getenv("BROOK_TEST_STRICT") && strcmp(getenv("BROOK_TEST_STRICT"), "0");
    int passed = 0, failed = 0, known = 0;
    uint64_t seed0 = tu_seed_;
    for (size_t i = 0; i < n; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc; a++)
            selected = selected || strstr(cases[i].name, argv[a]) != NULL;
        if (!selected)
            continue;
        tu_failures_ = 0;
        cases[i].fn();
        if (tu_failures_ == 0) {
            passed++;
            if (cases[i].known_bug)
                printf("FIXED    %s (known bug now passes: make it TU_CASE)\n", cases[i].name);
            else
                printf("ok       %s\n", cases[i].name);
        } else if (cases[i].known_bug && !strict) {
            known++;
            printf("KNOWNBUG %s (%d failed checks)\n", cases[i].name, tu_failures_);
        } else {
            failed++;
            printf("FAIL     %s (%d failed checks)\n", cases[i].name, tu_failures_);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed", passed, failed);
    if (known)
        printf(", %d known bugs", known);
    printf(" (seed 0x%" PRIx64 ")\n", seed0);
    return failed ? 1 : 0;
}


/* Parses a markdown table "| state | entered from |" between begin/end markers in doc:
 * for each row whose first cell names a state (name_of(s) for s in [0, n)), sets bit
 * `from` of from_out[to] for each state listed in the second cell, and seen_out[to].
 * Returns 0, or -1 when the markers are missing. Used by the doc-vs-code table tests. */
static inline int tu_parse_state_table(const char *doc, const char *begin_marker,
                                       const char *end_marker, const char *(*name_of)(int),
                                       int n, unsigned *from_out, bool *seen_out)
{
    const char *begin = strstr(doc, begin_marker), *end = strstr(doc, end_marker);
    if (!begin || !end || begin > end)
        return -1;
    for (const char *line = strstr(begin, "\n| "); line && line < end;
         line = strstr(line + 1, "\n| ")) {
        const char *p = line + 3, *bar = strchr(p, '|');
        while (bar && bar > p && bar[-1] == ' ')
            bar--;
        int to = -1;
        for (int st = 0; bar && st < n; st++)
            if (strlen(name_of(st)) == (size_t)(bar - p) &&
                strncmp(name_of(st), p, (size_t)(bar - p)) == 0)
                to = st;
        if (to < 0)
            continue; /* the header row */
        seen_out[to] = true;
        const char *q = strchr(p, '|') + 1, *eol = strchr(q, '\n');
        while (q < eol && *q != '|') {
            while (*q == ' ' || *q == ',')
                q++;
            const char *w = q;
            while (q < eol && *q != ',' && *q != ' ' && *q != '|')
                q++;
            for (int st = 0; st < n; st++)
                if (strlen(name_of(st)) == (size_t)(q - w) &&
                    strncmp(name_of(st), w, (size_t)(q - w)) == 0)
                    from_out[to] |= 1u << st;
        }
    }
    return 0;
}

#define TU_CASE(fn) {#fn, fn, false}
#define TU_KNOWN_BUG(fn) {#fn, fn, true}
#define TU_MAIN(...)                                                                           \
    int main(int argc, char **argv)                                                            \
    {                                                                                          \
        static const tu_case tu_cases_[] = {__VA_ARGS__};                                      \
        return tu_run(argc, argv, tu_cases_, sizeof(tu_cases_) / sizeof(tu_cases_[0]));        \
    }

#endif
