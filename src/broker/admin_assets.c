/* admin_assets.c - path lookup over the embedded console files; see admin_assets.h. */
#include "broker/admin_assets.h"

#include <stdbool.h>
#include <string.h>

#define CONSOLE_PREFIX "/console"

static bool slice_eq(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* The table entry whose path is exactly p[0..n) ("/name"). */
static const admin_asset *by_name(const char *p, size_t n)
{
    for (size_t i = 0; i < admin_assets_count; i++)
        if (slice_eq(p, n, admin_assets[i].path))
            return &admin_assets[i];
    return NULL;
}

const admin_asset *admin_asset_find(const char *path, size_t len)
{
    if (!path)
        return NULL;
    if (slice_eq(path, len, "/") || slice_eq(path, len, CONSOLE_PREFIX) ||
        slice_eq(path, len, CONSOLE_PREFIX "/"))
        return by_name("/index.html", strlen("/index.html"));
    size_t pl = strlen(CONSOLE_PREFIX);
    if (len <= pl + 1 || memcmp(path, CONSOLE_PREFIX "/", pl + 1) != 0)
        return NULL;
    /* "/console/NAME": one segment only; the table has no sub-directories. */
    const char *name = path + pl;
    size_t n = len - pl;
    if (memchr(name + 1, '/', n - 1))
        return NULL;
    return by_name(name, n);
}
