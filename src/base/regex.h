/*
 * regex.h - Kafka's "the whole name matches the pattern" on POSIX extended regular
 * expressions (Kafka uses Java's or RE2J's syntax; the common subset behaves alike).
 *
 * Owns: nothing past the regex_t the caller passes in.
 * Never: matches a part of a name (the pattern is anchored at both ends).
 */
#ifndef BROOK_BASE_REGEX_H
#define BROOK_BASE_REGEX_H

#include <regex.h>
#include <stdbool.h>

/* Whether glibc's regcomp can compile pattern without a blow-up, and regexec run it in
 * time bounded by the name's length: no stacked quantifiers (a++, a*?), counts of at most
 * 255, no back-references (\1-\9), and a bounded estimate of the repeated copies regcomp
 * makes. Patterns that come from clients or configs pass here first. */
bool regex_cost_ok(const char *pattern);
/* regcomp(rx, pattern, flags) for a pattern that passes regex_cost_ok; REG_ESPACE (rx
 * untouched) for one that does not. */
int regex_compile_safe(regex_t *rx, const char *pattern, int flags);
/* Compiles pattern into rx for whole-string matches (free with regfree). False: it does not
 * compile or is too costly (rx untouched), or memory ran out. */
bool regex_whole_compile(regex_t *rx, const char *pattern);
/* Does s match rx as a whole (rx from regex_whole_compile)? */
bool regex_whole_match(const regex_t *rx, const char *s);

#endif
