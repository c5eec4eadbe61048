/* creds.c - see creds.h. The file: a header line, then one line per user and mechanism,
 * "<base64 user> <mechanism number> <iterations> <base64 salt> <base64 StoredKey>
 * <base64 ServerKey>" (base64 so that any user name fits on a line). */
#include "sec/creds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"

#define HEADER "# brook SCRAM credentials v1\n"
#define B64_KEY (4 * ((SCRAM_KEY_MAX + 2) / 3) + 1)
#define B64_SALT (4 * ((SCRAM_SALT_MAX + 2) / 3) + 1)
#define B64_USER (4 * ((SCRAM_USER_MAX + 2) / 3) + 1)

static int find_index(const sec_creds *s, const char *user, scram_mech m)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i].mech == m && strcmp(s->v[i].user, user) == 0)
            return i;
    return -1;
}

const scram_cred *sec_creds_find(const sec_creds *s, const char *user, scram_mech m)
{
    int i = find_index(s, user, m);
    return i < 0 ? NULL : &s->v[i].cred;
}

int sec_creds_put(sec_creds *s, const char *user, scram_mech m, const scram_cred *c)
{
    int i = find_index(s, user, m);
    if (i >= 0) {
        s->v[i].cred = *c;
        return 0;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        sec_cred_entry *nv = realloc(s->v, sizeof(*nv) * (size_t)cap);
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    char *u = strdup(user);
    if (!u)
        return -ENOMEM;
    s->v[s->n++] = (sec_cred_entry){u, m, *c};
    return 0;
}

int sec_creds_remove(sec_creds *s, const char *user, scram_mech m)
{
    int i = find_index(s, user, m);
    if (i < 0)
        return -1;
    free(s->v[i].user);
    s->v[i] = s->v[--s->n];
    return 0;
}

void sec_creds_free(sec_creds *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i].user);
    free(s->v);
    free(s->path);
    memset(s, 0, sizeof(*s));
}

bool sec_creds_check_password(const sec_creds *s, const char *user, const char *password,
                              size_t password_len)
{
    static const scram_mech order[] = {SCRAM_SHA_512, SCRAM_SHA_256};
    for (size_t i = 0; i < 2; i++) {
        const scram_cred *c = sec_creds_find(s, user, order[i]);
        if (c)
            return scram_password_matches(order[i], c, password, password_len);
    }
    return false;
}

/* One line of the file into an entry; -1 on anything malformed. */
static int parse_line(char *line, sec_creds *s)
{
    char *tok[6];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t && n < 7;
         t = strtok_r(NULL, " ", &save)) {
        if (n == 6)
            return -1;
        tok[n++] = t;
    }
    if (n != 6)
        return -1;
    char user[SCRAM_USER_MAX + 3];
    int ul = sec_b64_decode(tok[0], strlen(tok[0]), (uint8_t *)user, SCRAM_USER_MAX);
    if (ul <= 0 || memchr(user, 0, (size_t)ul))
        return -1;
    user[ul] = '\0';
    char *end;
    long mech = strtol(tok[1], &end, 10);
    if (*end)
        return -1;
    long iters = strtol(tok[2], &end, 10);
    if (*end || (mech != SCRAM_SHA_256 && mech != SCRAM_SHA_512) || iters <= 0 ||
        iters > INT32_MAX)
        return -1;
    scram_cred c = {.iterations = (int32_t)iters};
    size_t kl = scram_key_len((scram_mech)mech);
    int sl = sec_b64_decode(tok[3], strlen(tok[3]), c.salt, sizeof(c.salt));
    if (sl <= 0 ||
        sec_b64_decode(tok[4], strlen(tok[4]), c.stored_key, sizeof(c.stored_key)) != (int)kl ||
        sec_b64_decode(tok[5], strlen(tok[5]), c.server_key, sizeof(c.server_key)) != (int)kl)
        return -1;
    c.salt_len = (size_t)sl;
    return sec_creds_put(s, user, (scram_mech)mech, &c) == 0 ? 0 : -1;
}

static int parse_line_cb(char *line, void *ctx) { return parse_line(line, ctx); }

int sec_creds_load(sec_creds *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    size_t pl = strlen(dir) + sizeof(SEC_CREDS_FILE) + 2;
    if (!(s->path = malloc(pl))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(s->path, pl, "%s/%s", dir, SEC_CREDS_FILE);
    return fs_load_lines(s->path, parse_line_cb, s, "not a SCRAM credential", err, errlen);
}

char *sec_creds_format(const sec_creds *s, const char *user, size_t *len)
{
    size_t line_max = B64_USER + B64_SALT + 2 * B64_KEY + 32;
    size_t cap = 1 + (size_t)s->n * line_max;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n; i++) {
        const sec_cred_entry *e = &s->v[i];
        if (user && strcmp(user, e->user) != 0)
            continue;
        char u[B64_USER], salt[B64_SALT], st[B64_KEY], sv[B64_KEY];
        size_t kl = scram_key_len(e->mech);
        sec_b64_encode((const uint8_t *)e->user, strlen(e->user), u, sizeof(u));
        sec_b64_encode(e->cred.salt, e->cred.salt_len, salt, sizeof(salt));
        sec_b64_encode(e->cred.stored_key, kl, st, sizeof(st));
        sec_b64_encode(e->cred.server_key, kl, sv, sizeof(sv));
        off += (size_t)snprintf(buf + off, cap - off, "%s %d %d %s %s %s\n", u, (int)e->mech,
                                e->cred.iterations, salt, st, sv);
    }
    *len = off;
    return buf;
}

int sec_creds_parse(sec_creds *s, char *text)
{
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if (line[0] != '#' && parse_line(line, s) != 0)
            return -1;
    return 0;
}

int sec_creds_save(const sec_creds *s)
{
    if (!s->path)
        return 0;
    size_t len;
    char *body = sec_creds_format(s, NULL, &len);
    char *buf = body ? malloc(sizeof(HEADER) + len) : NULL;
    if (!buf) {
        free(body);
        return -ENOMEM;
    }
    memcpy(buf, HEADER, sizeof(HEADER) - 1);
    memcpy(buf + sizeof(HEADER) - 1, body, len);
    int rc = fs_write_atomic(s->path, buf, sizeof(HEADER) - 1 + len);
    free(body);
    free(buf);
    return rc;
}
