/*
 * admin_assets.h - the web console's static files (web/), built into brookd and served by
 * the admin listener at / and /console/... (admin.c).
 *
 * Owns: the lookup from a request path to an embedded file. The table itself is generated
 * at build time by cmake/embed_web.cmake (path, Content-Type, ETag, bytes); nothing is read
 * from disk or fetched at run time.
 * Never: serves a path outside the table (no directory listing, no file system access).
 */
#ifndef BROOK_BROKER_ADMIN_ASSETS_H
#define BROOK_BROKER_ADMIN_ASSETS_H

#include <stddef.h>

typedef struct admin_asset {
    const char *path;         /* "/index.html" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const char *etag;         /* quoted, strong: "\"0123456789abcdef\"" */
    const unsigned char *data;
    size_t len;
} admin_asset;

/* Generated (cmake/embed_web.cmake). */
extern const admin_asset admin_assets[];
extern const size_t admin_assets_count;

/* The file a request path names: "/", "/console" and "/console/" are index.html,
 * "/console/NAME" is NAME. NULL for anything else (the caller answers 404). path is not
 * NUL-terminated. */
const admin_asset *admin_asset_find(const char *path, size_t len);

#endif
