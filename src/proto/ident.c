/* ident.c - see ident.h. */
#include "proto/ident.h"

#include <stdlib.h>
#include <string.h>

#define ESC 0xC0

static size_t escaped_len(kslice s)
{
    size_t n = (size_t)s.len;
    for (int32_t i = 0; i < s.len; i++)
        if (s.p[i] == 0 || s.p[i] == ESC)
            n++;
    return n;
}

static void escape_into(kslice s, char *out)
{
    size_t k = 0;
    for (int32_t i = 0; i < s.len; i++) {
        uint8_t c = s.p[i];
        if (c == 0 || c == ESC) {
            out[k++] = (char)ESC;
            out[k++] = (char)(c == 0 ? 0x80 : ESC);
        } else {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
}

char *ident_decode(arena *a, kslice s)
{
    if (s.len < 0)
        return NULL;
    char *out = arena_alloc(a, escaped_len(s) + 1);
    if (out)
        escape_into(s, out);
    return out;
}

char *ident_decode_dup(kslice s)
{
    if (s.len < 0)
        return NULL;
    char *out = malloc(escaped_len(s) + 1);
    if (out)
        escape_into(s, out);
    return out;
}

size_t ident_wire(const char *id, uint8_t *out)
{
    size_t k = 0;
    for (const uint8_t *p = (const uint8_t *)id; *p; p++) {
        /* A lone 0xC0 at the end (never produced by ident_decode) is kept as it is. */
        if (*p == ESC && (p[1] == 0x80 || p[1] == ESC)) {
            out[k++] = p[1] == 0x80 ? 0 : ESC;
            p++;
        } else {
            out[k++] = *p;
        }
    }
    return k;
}

void wr_ident(wr *w, const char *id)
{
    if (!id) {
        wr_str(w, KSLICE_NULL);
        return;
    }
    if (!strchr(id, (char)ESC)) { /* the common case: nothing escaped */
        wr_str(w, kslice_cstr(id));
        return;
    }
    size_t n = strlen(id);
    uint8_t small[256];
    uint8_t *buf = n <= sizeof(small) ? small : malloc(n);
    if (!buf) {
        w->oom = true;
        return;
    }
    size_t len = ident_wire(id, buf);
    wr_str(w, (kslice){buf, (int32_t)len});
    if (buf != small)
        free(buf);
}
