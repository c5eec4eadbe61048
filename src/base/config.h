/*
 * config.h - typed configuration from Java-style properties files and --key=value flags.
 *
 * Owns: the properties parser and a table-driven setter that validates each value and
 * stores it into a caller's struct. The tables themselves (broker keys, topic keys) belong
 * to the modules that use them.
 * Never: accepts an unknown key or a malformed value silently; errors name the key.
 */
#ifndef BROOK_BASE_CONFIG_H
#define BROOK_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum config_type { CFG_INT32, CFG_INT64, CFG_BOOL, CFG_STRING, CFG_ENUM };

typedef struct config_def {
    const char *name;
    enum config_type type;
    const char *default_value; /* NULL: no default (string stays NULL, number 0) */
    int64_t min, max;          /* inclusive, numbers only */
    const char *choices;       /* CFG_ENUM: "a|b|c" */
    size_t offset;             /* where the value lives in the target struct */
    const char *doc;
} config_def;

/* Sets one key. Returns 0, or -1 with a message naming the key in err. Strings and enums
 * are strdup'd into the struct (freed by config_free). */
int config_set(const config_def *defs, size_t ndefs, void *obj, const char *key,
               const char *value, char *err, size_t errlen);
/* Applies every default. */
void config_defaults(const config_def *defs, size_t ndefs, void *obj);
const config_def *config_find(const config_def *defs, size_t ndefs, const char *key);
/* Formats the current value of def in obj into out (for DescribeConfigs and logs). */
void config_format(const config_def *def, const void *obj, char *out, size_t outlen);
void config_free(const config_def *defs, size_t ndefs, void *obj);

/* Parses a properties file, calling cb for each key/value (comments, blank lines,
 * "key=value", "key: value", "key value", backslash continuations and escapes).
 * Returns 0, or -1 with a message in err (the callback's failure stops parsing). */
typedef int (*config_kv_cb)(void *ctx, const char *key, const char *value, char *err,
                            size_t errlen);
int config_parse_file(const char *path, config_kv_cb cb, void *ctx, char *err, size_t errlen);
/* Same, from a NUL-terminated string (tests). */
int config_parse_string(const char *text, config_kv_cb cb, void *ctx, char *err, size_t errlen);

/* Strict number parsing: the whole string must be a base-10 integer in range. */
int config_parse_i64(const char *s, int64_t *out);

#endif
