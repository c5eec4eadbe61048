/*
 * fuzz_config.c - libFuzzer target for the properties parser and the table-driven setter
 * (base/config.h). The input is a properties file; every pair it yields is applied to a
 * small sample table, so the parser's fixed-size line and key buffers and the setter's
 * validation both see arbitrary text. Invariant besides memory safety: keys and values
 * handed to the callback are NUL-terminated strings within the key and line limits.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct sample {
    int32_t port;
    int64_t retention_ms;
    bool flag;
    char *name;
    char *policy;
} sample;

static const config_def g_defs[] = {
    {"port", CFG_INT32, "9092", 1, 65535, NULL, offsetof(sample, port), ""},
    {"retention.ms", CFG_INT64, "-1", -1, INT64_MAX, NULL, offsetof(sample, retention_ms), ""},
    {"flag", CFG_BOOL, "false", 0, 0, NULL, offsetof(sample, flag), ""},
    {"name", CFG_STRING, NULL, 0, 0, NULL, offsetof(sample, name), ""},
    {"policy", CFG_ENUM, "delete", 0, 0, "delete|compact", offsetof(sample, policy), ""},
};
#define NDEFS (sizeof(g_defs) / sizeof(g_defs[0]))

static int apply(void *ctx, const char *key, const char *value, char *err, size_t errlen)
{
    if (strlen(key) >= BROOK_CONFIG_KEY_MAX || strlen(value) >= BROOK_CONFIG_LINE_MAX)
        abort();
    char out[64];
    const config_def *d = config_find(g_defs, NDEFS, key);
    if (d)
        config_format(d, ctx, out, sizeof(out));
    /* Unknown keys are expected here; keep parsing so later lines are reached. */
    (void)config_set(g_defs, NDEFS, ctx, key, value, err, errlen);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sample s;
    memset(&s, 0, sizeof(s));
    config_defaults(g_defs, NDEFS, &s);
    char err[256];
    (void)config_parse_string(text, apply, &s, err, sizeof(err));
    int64_t v;
    (void)config_parse_i64(text, &v);
    config_free(g_defs, NDEFS, &s);
    free(text);
    return 0;
}
