/* config.c - see config.h. */
#include "base/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/limits.h"

int config_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

const config_def *config_find(const config_def *defs, size_t ndefs, const char *key)
{
    for (size_t i = 0; i < ndefs; i++)
        if (strcmp(defs[i].name, key) == 0)
            return &defs[i];
    return NULL;
}

static bool enum_has(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static int set_value(const config_def *d, void *obj, const char *value, char *err,
                     size_t errlen)
{
    char *field = (char *)obj + d->offset;
    int64_t v;
    switch (d->type) {
    case CFG_INT32:
    case CFG_INT64:
        if (config_parse_i64(value, &v) != 0 || v < d->min || v > d->max) {
            snprintf(err, errlen, "config key '%s': value '%s' is not an integer in [%lld, %lld]",
                     d->name, value, (long long)d->min, (long long)d->max);
            return -1;
        }
        if (d->type == CFG_INT32)
            *(int32_t *)field = (int32_t)v;
        else
            *(int64_t *)field = v;
        return 0;
    case CFG_BOOL:
        if (strcasecmp(value, "true") == 0)
            *(bool *)field = true;
        else if (strcasecmp(value, "false") == 0)
            *(bool *)field = false;
        else {
            snprintf(err, errlen, "config key '%s': value '%s' is not true or false", d->name,
                     value);
            return -1;
        }
        return 0;
    case CFG_ENUM:
        if (!enum_has(d->choices, value)) {
            snprintf(err, errlen, "config key '%s': value '%s' is not one of %s", d->name, value,
                     d->choices);
            return -1;
        }
        /* fallthrough */
    case CFG_STRING: {
        char *copy = strdup(value);
        if (!copy) {
            snprintf(err, errlen, "config key '%s': out of memory", d->name);
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    }
    BROOK_ASSERT(0);
    return -1;
}

int config_set(const config_def *defs, size_t ndefs, void *obj, const char *key,
               const char *value, char *err, size_t errlen)
{
    const config_def *d = config_find(defs, ndefs, key);
    if (!d) {
        snprintf(err, errlen, "unknown config key '%s'", key);
        return -1;
    }
    return set_value(d, obj, value, err, errlen);
}

void config_defaults(const config_def *defs, size_t ndefs, void *obj)
{
    char err[256];
    for (size_t i = 0; i < ndefs; i++) {
        if (!defs[i].default_value)
            continue;
        int rc = set_value(&defs[i], obj, defs[i].default_value, err, sizeof(err));
        BROOK_ASSERT(rc == 0); /* a bad default is a programming error */
    }
}

void config_format(const config_def *d, const void *obj, char *out, size_t outlen)
{
    const char *field = (const char *)obj + d->offset;
    switch (d->type) {
    case CFG_INT32:
        snprintf(out, outlen, "%d", *(const int32_t *)field);
        break;
    case CFG_INT64:
        snprintf(out, outlen, "%lld", (long long)*(const int64_t *)field);
        break;
    case CFG_BOOL:
        snprintf(out, outlen, "%s", *(const bool *)field ? "true" : "false");
        break;
    case CFG_STRING:
    case CFG_ENUM: {
        const char *s = *(char *const *)field;
        snprintf(out, outlen, "%s", s ? s : "");
        break;
    }
    }
}

void config_free(const config_def *defs, size_t ndefs, void *obj)
{
    for (size_t i = 0; i < ndefs; i++) {
        if (defs[i].type == CFG_STRING || defs[i].type == CFG_ENUM) {
            char **f = (char **)((char *)obj + defs[i].offset);
            free(*f);
            *f = NULL;
        }
    }
}

static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Splits one logical line into key and value, decoding the escapes Java's Properties knows. */
static int handle_line(char *line, int lineno, config_kv_cb cb, void *ctx, char *err,
                       size_t errlen)
{
    char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\f')
        p++;
    if (*p == '\0' || *p == '#' || *p == '!')
        return 0;
    char key[BROOK_CONFIG_KEY_MAX];
    size_t kn = 0;
    while (*p && *p != '=' && *p != ':' && *p != ' ' && *p != '\t') {
        if (*p == '\\' && p[1])
            p++;
        if (kn + 1 >= sizeof(key)) {
            snprintf(err, errlen, "line %d: key too long", lineno);
            return -1;
        }
        key[kn++] = *p++;
    }
    key[kn] = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '=' || *p == ':')
        p++;
    while (*p == ' ' || *p == '\t')
        p++;
    char *out = p, *val = p;
    while (*p) {
        if (*p == '\\' && p[1]) {
            p++;
            *out++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
            p++;
        } else {
            *out++ = *p++;
        }
    }
    *out = '\0';
    trim_right(val);
    return cb(ctx, key, val, err, errlen);
}

int config_parse_string(const char *text, config_kv_cb cb, void *ctx, char *err, size_t errlen)
{
    char logical[BROOK_CONFIG_LINE_MAX];
    size_t ln = 0;
    int lineno = 0, start_line = 1;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (ln == 0)
            start_line = lineno;
        const char *seg = p;
        if (ln > 0) /* continuation lines drop their leading blanks */
            while (n && (*seg == ' ' || *seg == '\t')) {
                seg++;
                n--;
            }
        if (ln + n + 1 > sizeof(logical)) {
            snprintf(err, errlen, "line %d: line too long", lineno);
            return -1;
        }
        memcpy(logical + ln, seg, n);
        ln += n;
        logical[ln] = '\0';
        while (ln && logical[ln - 1] == '\r')
            logical[--ln] = '\0';
        /* An odd number of trailing backslashes continues the line; comments never
         * continue (Java's Properties). */
        size_t bs = 0;
        while (bs < ln && logical[ln - 1 - bs] == '\\')
            bs++;
        const char *first = logical;
        while (*first == ' ' || *first == '\t' || *first == '\f')
            first++;
        bool comment = *first == '#' || *first == '!';
        if (bs % 2 == 1 && !comment) {
            logical[--ln] = '\0';
        } else {
            if (handle_line(logical, start_line, cb, ctx, err, errlen) != 0)
                return -1;
            ln = 0;
        }
        p = nl ? nl + 1 : p + n;
    }
    if (ln > 0 && handle_line(logical, start_line, cb, ctx, err, errlen) != 0)
        return -1;
    return 0;
}

int config_parse_file(const char *path, config_kv_cb cb, void *ctx, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            snprintf(err, errlen, "out of memory reading '%s'", path);
            return -1;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    buf[len] = '\0';
    int rc = config_parse_string(buf, cb, ctx, err, errlen);
    free(buf);
    return rc;
}
