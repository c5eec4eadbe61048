/*
 * args.c - flag parsing for the `brook` CLI; see args.h.
 */
#include "cli/args.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    if (v < min || v > max)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, size_t n_opts,
                                      const char *name, size_t name_len)
{
    for (size_t i = 0; i < n_opts; i++) {
        if (strlen(opts[i].name) == name_len && memcmp(opts[i].name, name, name_len) == 0)
            return &opts[i];
    }
    return NULL;
}

static int set_value(const char *cmd, const struct cli_opt *o, const char *value)
{
    switch (o->kind) {
    case CLI_OPT_STR:
        if (*value == '\0') {
            fprintf(stderr, "%s: --%s needs a non-empty value\n", cmd, o->name);
            return -1;
        }
        *(const char **)o->dst = value;
        return 0;
    case CLI_OPT_I64:
        if (cli_parse_i64(value, o->min, o->max, (int64_t *)o->dst) != 0) {
            fprintf(stderr, "%s: --%s: '%s' is not an integer in [%" PRId64 ", %" PRId64 "]\n",
                    cmd, o->name, value, o->min, o->max);
            return -1;
        }
        return 0;
    case CLI_OPT_ENUM:
        for (const char *const *c = o->choices; *c != NULL; c++) {
            if (strcmp(*c, value) == 0) {
                *(const char **)o->dst = *c;
                return 0;
            }
        }
        fprintf(stderr, "%s: --%s: '%s' is not one of:", cmd, o->name, value);
        for (const char *const *c = o->choices; *c != NULL; c++)
            fprintf(stderr, " %s", *c);
        fputc('\n', stderr);
        return -1;
    case CLI_OPT_LIST: {
        struct cli_list *l = o->dst;
        if (*value == '\0') {
            fprintf(stderr, "%s: --%s needs a non-empty value\n", cmd, o->name);
            return -1;
        }
        if (l->n >= CLI_LIST_MAX) {
            fprintf(stderr, "%s: --%s given more than %d times\n", cmd, o->name, CLI_LIST_MAX);
            return -1;
        }
        l->items[l->n++] = value;
        return 0;
    }
    case CLI_OPT_BOOL:
        break;
    }
    return -1;
}

int cli_args_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
                   size_t n_opts)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "%s: unexpected argument '%s' (flags start with --)\n", cmd, arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const struct cli_opt *o = find_opt(opts, n_opts, name, name_len);
        if (o == NULL) {
            fprintf(stderr, "%s: unknown flag '--%.*s'\n", cmd, (int)name_len, name);
            return -1;
        }
        if (o->kind == CLI_OPT_BOOL) {
            if (eq != NULL) {
                fprintf(stderr, "%s: --%s takes no value\n", cmd, o->name);
                return -1;
            }
            *(bool *)o->dst = true;
        } else {
            const char *value = NULL;
            if (eq != NULL) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                fprintf(stderr, "%s: --%s needs a value\n", cmd, o->name);
                return -1;
            }
            if (set_value(cmd, o, value) != 0)
                return -1;
        }
        if (o->seen != NULL)
            *o->seen = true;
    }
    return 0;
}

void cli_args_usage(FILE *out, const struct cli_opt *opts, size_t n_opts)
{
    for (size_t i = 0; i < n_opts; i++) {
        const struct cli_opt *o = &opts[i];
        char left[64];
        const char *meta = o->kind == CLI_OPT_I64    ? " N"
                           : o->kind == CLI_OPT_BOOL ? ""
                           : o->kind == CLI_OPT_LIST ? " VALUE..."
                                                     : " VALUE";
        if (o->kind == CLI_OPT_ENUM) {
            char choices[48] = "";
            size_t used = 0;
            for (const char *const *c = o->choices; *c != NULL && used < sizeof(choices); c++) {
                int n = snprintf(choices + used, sizeof(choices) - used, "%s%s",
                                 c == o->choices ? "" : "|", *c);
                if (n < 0)
                    break;
                used += (size_t)n;
            }
            snprintf(left, sizeof(left), "--%s %s", o->name, choices);
        } else {
            snprintf(left, sizeof(left), "--%s%s", o->name, meta);
        }
        /* A long flag (an enum's choices) puts its help on the next line. */
        if (strlen(left) > 26)
            fprintf(out, "    %s\n    %-26s %s\n", left, "", o->help != NULL ? o->help : "");
        else
            fprintf(out, "    %-26s %s\n", left, o->help != NULL ? o->help : "");
    }
}

int cli_args_parse_pos(const char *cmd, int argc, char **argv, const struct cli_opt *opts,
                       size_t n_opts, const char **last_pos_out, int *npos_out)
{
    char **flags = calloc((size_t)argc + 1, sizeof(*flags));
    if (!flags) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 2;
    }
    int nflags = 0, npos = 0;
    const char *last = NULL;
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!only_pos && strcmp(s, "--") == 0) {
            only_pos = true;
        } else if (!only_pos && s[0] == '-' && s[1] != '\0') {
            flags[nflags++] = argv[i];
            bool takes_value = false;
            for (size_t k = 0; k < n_opts && s[1] == '-' && !strchr(s, '='); k++)
                if (strcmp(s + 2, opts[k].name) == 0)
                    takes_value = opts[k].kind != CLI_OPT_BOOL;
            if (takes_value && i + 1 < argc)
                flags[nflags++] = argv[++i];
        } else {
            last = s;
            npos++;
        }
    }
    int rc = cli_args_parse(cmd, nflags, flags, opts, n_opts);
    free(flags);
    *last_pos_out = last;
    *npos_out = npos;
    return rc;
}

/* Reads exactly n digits at *p (advancing it) into *out. Returns 0 or -1. */
static int read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* The zone suffix of an ISO-8601 time: "", "Z" or "+HH:MM"/"-HH:MM"/"+HHMM". Returns 0 with
 * the offset east of UTC in *east_s, or -1. */
static int parse_zone(const char *p, int64_t *east_s)
{
    *east_s = 0;
    if (*p == '\0' || (p[0] == 'Z' && p[1] == '\0'))
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0;
    p++;
    if (read_digits(&p, 2, &hh) != 0)
        return -1;
    if (*p == ':')
        p++;
    if (read_digits(&p, 2, &mm) != 0 || *p != '\0' || hh > 23 || mm > 59)
        return -1;
    *east_s = sign * (int64_t)(hh * 3600 + mm * 60);
    return 0;
}

int cli_parse_time_ms(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    if (cli_parse_i64(s, 0, INT64_MAX, out) == 0)
        return 0;
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, ms = 0;
    if (read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) || *p++ != '-' ||
        read_digits(&p, 2, &d) || (*p != 'T' && *p != ' '))
        return -1;
    p++;
    if (read_digits(&p, 2, &h) || *p++ != ':' || read_digits(&p, 2, &mi))
        return -1;
    if (*p == ':') {
        p++;
        if (read_digits(&p, 2, &sec))
            return -1;
        if (*p == '.') {
            p++;
            int digits = 0;
            for (; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 3)
                    ms = ms * 10 + (*p - '0');
            if (digits == 0)
                return -1;
            for (; digits < 3; digits++)
                ms *= 10;
        }
    }
    int64_t east_s = 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        parse_zone(p, &east_s) != 0)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || t < 0)
        return -1;
    *out = ((int64_t)t - east_s) * 1000 + ms;
    return 0;
}
