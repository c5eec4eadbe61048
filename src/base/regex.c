/* regex.c - see regex.h. */
#include "base/regex.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc's regcomp copies a repeated piece of the pattern once per repetition a `+` or
 * `{n,m}` asks for, nested repetitions multiply, and stacked quantifiers (`a++++`) nest:
 * thirty bytes can ask for gigabytes. The estimate below follows that: a piece costs its
 * atoms, times (m + 1) for {n,m}, times 2 for +; a pattern above REGEX_COST_MAX is refused,
 * as are stacked quantifiers (Java's possessive and lazy forms, which POSIX lacks) and
 * counts above REGEX_REPEAT_MAX.
 * Back-references (\1 to \9, a glibc extension to ERE) are refused too: regexec matches
 * them by backtracking, exponential in the name's length ("(.*)(.*)(.*)\3\2\1x" against a
 * hundred characters runs for minutes, all of it on the loop thread), and Kafka's RE2/J
 * has none. */
#define REGEX_COST_MAX 20000
#define REGEX_REPEAT_MAX 255

typedef struct cost_p {
    const char *s;
    bool bad;
} cost_p;

static int64_t sat_add(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }
static int64_t sat_mul(int64_t a, int64_t b) { return b && a > INT64_MAX / b ? INT64_MAX : a * b; }

static int64_t cost_alt(cost_p *p, int depth);

/* A bracket expression from '[' to its ']' ("[]a]" and "[^]a]" hold a ']'), or classes. */
static void skip_bracket(cost_p *p)
{
    p->s++;
    if (*p->s == '^')
        p->s++;
    if (*p->s == ']')
        p->s++;
    while (*p->s && *p->s != ']') {
        if (p->s[0] == '[' && (p->s[1] == ':' || p->s[1] == '.' || p->s[1] == '=')) {
            const char *end = strstr(p->s + 2, p->s[1] == ':' ? ":]" : p->s[1] == '.' ? ".]"
                                                                                      : "=]");
            p->s = end ? end + 2 : p->s + strlen(p->s);
            continue;
        }
        p->s++;
    }
    if (*p->s == ']')
        p->s++;
}

/* The character at *q inside an interval as glibc reads it: an escaped one ("\0", "\,")
 * counts as itself (fetch_number takes the token's character), so "{,77\01}" asks for
 * 7701. Advances *q past it. */
static char interval_char(const char **q)
{
    if (**q == '\\' && (*q)[1])
        (*q)++;
    return *(*q)++;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* {n}, {n,}, {n,m} or {,m} (glibc takes that one too) at p->s: the largest count (m, or
 * n), or -1 when it is not one. Escaped digits and commas count as glibc counts them. */
static int64_t interval(cost_p *p)
{
    const char *q = p->s + 1, *t = q;
    char c = interval_char(&t);
    if (!is_digit(c) && c != ',')
        return -1;
    int64_t n = 0, m = -1;
    while (is_digit(c)) {
        n = sat_add(sat_mul(n, 10), c - '0');
        q = t;
        c = interval_char(&t);
    }
    if (c == ',') {
        q = t;
        c = interval_char(&t);
        if (is_digit(c))
            m = 0;
        while (is_digit(c)) {
            m = sat_add(sat_mul(m, 10), c - '0');
            q = t;
            c = interval_char(&t);
        }
    }
    if (*q != '}')
        return -1;
    p->s = q + 1;
    return m > n ? m : n;
}

/* How much one quantifier (if any) multiplies the piece before it; refuses stacked ones. */
static int64_t quantifiers(cost_p *p)
{
    int64_t mult = 1;
    int seen = 0;
    for (;;) {
        int64_t k;
        if (*p->s == '*' || *p->s == '?') {
            k = 1;
            p->s++;
        } else if (*p->s == '+') {
            k = 2;
            p->s++;
        } else if (*p->s == '{' && (k = interval(p)) >= 0) {
            if (k > REGEX_REPEAT_MAX) {
                p->bad = true;
                k = REGEX_REPEAT_MAX;
            }
            k += 1;
        } else {
            return mult;
        }
        if (++seen > 1)
            p->bad = true;
        mult = sat_mul(mult, k);
    }
}

/* A sequence of pieces up to '|', ')' or the end. */
static int64_t cost_seq(cost_p *p, int depth)
{
    int64_t total = 0;
    while (*p->s && *p->s != '|' && *p->s != ')' && !p->bad) {
        int64_t atom = 1;
        if (*p->s == '(') {
            p->s++;
            atom = sat_add(cost_alt(p, depth + 1), 1);
            if (*p->s == ')')
                p->s++;
        } else if (*p->s == '[') {
            skip_bracket(p);
        } else if (*p->s == '\\' && p->s[1] >= '1' && p->s[1] <= '9') {
            p->bad = true; /* a back-reference: glibc matches those by backtracking */
        } else if (*p->s == '\\' && p->s[1]) {
            p->s += 2;
        } else {
            p->s++;
        }
        total = sat_add(total, sat_mul(atom, quantifiers(p)));
    }
    return total;
}

static int64_t cost_alt(cost_p *p, int depth)
{
    if (depth > 64) {
        p->bad = true;
        return INT64_MAX;
    }
    int64_t total = cost_seq(p, depth);
    while (*p->s == '|' && !p->bad) {
        p->s++;
        total = sat_add(total, cost_seq(p, depth));
    }
    return total;
}

bool regex_cost_ok(const char *pattern)
{
    cost_p p = {pattern, false};
    int64_t c = 0;
    while (*p.s && !p.bad) { /* an unbalanced ')' ends a level: go on after it */
        c = sat_add(c, cost_alt(&p, 0));
        if (*p.s == ')') { /* glibc takes it for a literal, which a count may repeat */
            p.s++;
            c = sat_add(c, quantifiers(&p));
        }
    }
    return !p.bad && c <= REGEX_COST_MAX;
}

int regex_compile_safe(regex_t *rx, const char *pattern, int flags)
{
    if (!regex_cost_ok(pattern))
        return REG_ESPACE;
    return regcomp(rx, pattern, flags);
}

bool regex_whole_compile(regex_t *rx, const char *pattern)
{
    size_t n = strlen(pattern) + 5;
    char *anchored = malloc(n);
    if (!anchored)
        return false;
    snprintf(anchored, n, "^(%s)$", pattern);
    bool ok = regex_compile_safe(rx, anchored, REG_EXTENDED | REG_NOSUB) == 0;
    free(anchored);
    return ok;
}

bool regex_whole_match(const regex_t *rx, const char *s)
{
    return regexec(rx, s, 0, NULL, 0) == 0;
}
