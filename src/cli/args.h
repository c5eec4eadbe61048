/*
 * args.h - table-driven parsing of `--flag value` / `--flag=value` command-line flags for the
 * `brook` CLI.
 *
 * Owns: turning argv into typed values with range checks, and the wording of flag errors.
 * Never: allocates; every parsed string borrows from argv.
 */
#ifndef BROOK_CLI_ARGS_H
#define BROOK_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_opt_kind {
    CLI_OPT_STR,  /* dst is `const char **`, borrows argv */
    CLI_OPT_I64,  /* dst is `int64_t *`, checked against [min, max] */
    CLI_OPT_ENUM, /* dst is `const char **`, must be one of choices (NULL-terminated) */
    CLI_OPT_BOOL, /* dst is `bool *`, takes no value */
    CLI_OPT_LIST, /* dst is `struct cli_list *`: repeatable, each value appended (borrows argv) */
};

/* Most values one repeatable flag takes (a fixed array: parsing never allocates). */
#define CLI_LIST_MAX 64

/* The values of a repeatable flag, in the order given. */
struct cli_list {
    const char *items[CLI_LIST_MAX];
    int n;
};

struct cli_opt {
    const char *name; /* without the leading "--" */
    enum cli_opt_kind kind;
    void *dst;
    int64_t min;
    int64_t max;
    const char *const *choices;
    bool *seen; /* optional: set to true when the flag is given */
    const char *help;
};

/* Parses argv[0..argc) against opts. Positional arguments are refused, because no bench
 * command takes any and a stray word is more likely a typo than intent. Returns 0; 1 when
 * --help or -h is given (nothing after it is parsed); or -1 after printing
 * "<cmd>: <reason>" on stderr. */
int cli_args_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
                   size_t n_opts);

/* Prints one line per option ("  --name VALUE  help") on out. */
/* Like cli_args_parse, but also accepts positional arguments (anything that is not a flag,
 * and everything after "--"): *npos_out gets how many, *last_pos_out the last one (NULL if
 * none). Whether a flag takes a value comes from its kind in opts. Same return codes. */
int cli_args_parse_pos(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
                       size_t n_opts, const char **last_pos_out, int *npos_out);
void cli_args_usage(FILE *out, const struct cli_opt *opts, size_t n_opts);

/* Parses a whole decimal integer in [min, max]. Returns 0, or -1 if s has trailing garbage,
 * is empty, or is out of range. */
int cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a point in time as milliseconds since the epoch: a whole number of milliseconds, or
 * ISO-8601 "YYYY-MM-DDTHH:MM[:SS[.fff]]" (a space may stand for the T) followed by "Z",
 * "+HH:MM", "-HH:MM" or nothing (UTC). Returns 0, or -1 when s is neither. */
int cli_parse_time_ms(const char *s, int64_t *out);

#endif
