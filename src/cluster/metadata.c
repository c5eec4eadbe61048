/* metadata.c - see metadata.h. File format, one record per line:
 *   topic <name> <id-hex32> <partitions>
 *   config <name> <key> <value...>
 * A topic line without the id (`topic <name> <partitions>`, as written before topic ids)
 * or with 32 zeros loads with the zero id: no id yet (md_assign_missing_ids).
 */
#include "cluster/metadata.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/fsutil.h"
#include "base/limits.h"
#include "proto/internal_topics.h"

#define MD_FILE "topics.meta"

bool md_topic_name_valid(kslice name, const char **why)
{
    if (name.len <= 0) {
        *why = "topic name is empty";
        return false;
    }
    if (name.len > BROOK_TOPIC_NAME_MAX) {
        *why = "topic name is longer than 249 characters";
        return false;
    }
    if ((name.len == 1 && name.p[0] == '.') ||
        (name.len == 2 && name.p[0] == '.' && name.p[1] == '.')) {
        *why = "topic name cannot be '.' or '..'";
        return false;
    }
    for (int32_t i = 0; i < name.len; i++) {
        char c = (char)name.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            *why = "topic name has a character outside [a-zA-Z0-9._-]";
            return false;
        }
    }
    return true;
}

/* Fills buf from getrandom(2); /dev/urandom where the call is missing (ENOSYS). */
static int random_bytes(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(buf + got, n - got, 0);
        if (k > 0) {
            got += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        break;
    }
    if (got == n)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k <= 0 && !(k < 0 && errno == EINTR))
            break;
        got += k > 0 ? (size_t)k : 0;
    }
    if (fd >= 0)
        close(fd);
    return got == n ? 0 : -1;
}

int md_new_id(uint8_t id[16])
{
    for (;;) {
        if (random_bytes(id, 16) != 0)
            return -1;
        id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 */
        id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        if ((id[0] >> 2) != 62)                   /* base64url '-': Kafka draws again */
            return 0;
    }
}

bool md_id_is_zero(const uint8_t id[16])
{
    for (int i = 0; i < 16; i++)
        if (id[i])
            return false;
    return true;
}

topic *md_find_id(const metadata *md, const uint8_t id[16])
{
    if (md_id_is_zero(id))
        return NULL;
    topic *t = NULL;
    HASH_FIND(hh_id, md->by_id, id, 16, t);
    return t;
}

int md_set_id(metadata *md, topic *t, const uint8_t id[16])
{
    topic *other = md_find_id(md, id);
    if (other && other != t)
        return -1;
    if (!md_id_is_zero(t->id))
        HASH_DELETE(hh_id, md->by_id, t);
    memcpy(t->id, id, 16);
    if (!md_id_is_zero(t->id))
        HASH_ADD(hh_id, md->by_id, id, 16, t);
    return 0;
}

int md_assign_missing_ids(metadata *md)
{
    int n = 0;
    for (topic *t = md->topics; t; t = t->hh.next) {
        if (!md_id_is_zero(t->id))
            continue;
        uint8_t id[16];
        do {
            if (md_new_id(id) != 0)
                return -1;
        } while (md_set_id(md, t, id) != 0); /* another topic's: draw again */
        n++;
    }
    return n;
}

topic *md_find(const metadata *md, kslice name)
{
    if (name.len <= 0)
        return NULL;
    topic *t = NULL;
    HASH_FIND(hh, md->topics, name.p, (unsigned)name.len, t);
    return t;
}

size_t md_count(const metadata *md) { return HASH_COUNT(md->topics); }

static void free_configs(topic *t)
{
    for (int i = 0; i < t->nconfigs; i++) {
        free(t->config_keys[i]);
        free(t->config_values[i]);
    }
    free(t->config_keys);
    free(t->config_values);
    t->config_keys = t->config_values = NULL;
    t->nconfigs = 0;
}

int md_set_configs(topic *t, int n, char *const *keys, char *const *values)
{
    char **k = calloc((size_t)n + 1, sizeof(char *));
    char **v = calloc((size_t)n + 1, sizeof(char *));
    if (!k || !v)
        goto oom;
    for (int i = 0; i < n; i++) {
        k[i] = strdup(keys[i]);
        v[i] = strdup(values[i]);
        if (!k[i] || !v[i])
            goto oom;
    }
    free_configs(t);
    t->config_keys = k;
    t->config_values = v;
    t->nconfigs = n;
    return 0;
oom:
    for (int i = 0; k && v && i < n; i++) {
        free(k[i]);
        free(v[i]);
    }
    free(k);
    free(v);
    return -ENOMEM;
}

/* md_add with a given id (zero: none yet); NULL when out of memory or the id is taken. */
static topic *md_insert(metadata *md, const char *name, int32_t npartitions, int nconfigs,
                        char *const *keys, char *const *values, const uint8_t id[16])
{
    if (md_find_id(md, id))
        return NULL;
    topic *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return NULL;
    }
    t->npartitions = npartitions;
    t->internal = kafka_topic_internal(name);
    if (md_set_configs(t, nconfigs, keys, values) != 0) {
        free(t->name);
        free(t);
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, md->topics, t->name, (unsigned)strlen(t->name), t);
    md_set_id(md, t, id); /* free: checked above */
    return t;
}

topic *md_add(metadata *md, const char *name, int32_t npartitions, int nconfigs,
              char *const *keys, char *const *values)
{
    uint8_t id[16];
    do {
        if (md_new_id(id) != 0)
            return NULL;
    } while (md_find_id(md, id));
    return md_insert(md, name, npartitions, nconfigs, keys, values, id);
}

void md_remove(metadata *md, topic *t)
{
    HASH_DEL(md->topics, t);
    if (!md_id_is_zero(t->id))
        HASH_DELETE(hh_id, md->by_id, t);
    free_configs(t);
    free(t->parts);
    free(t->name);
    free(t);
}

void md_free(metadata *md)
{
    topic *t, *tmp;
    HASH_ITER(hh, md->topics, t, tmp) { md_remove(md, t); }
    free(md->path);
    md->path = NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses one line of the registry; returns 0 or -1. */
static int md_parse_line(metadata *md, char *line)
{
    char *save = NULL;
    char *kind = strtok_r(line, " ", &save);
    if (!kind)
        return 0;
    if (strcmp(kind, "topic") == 0) {
        char *name = strtok_r(NULL, " ", &save), *id = strtok_r(NULL, " ", &save);
        char *np = strtok_r(NULL, " ", &save);
        const char *why;
        if (id && !np) { /* written before topic ids: no id yet */
            np = id;
            id = NULL;
        }
        if (!name || !np || (id && strlen(id) != 32) || strtok_r(NULL, " ", &save) ||
            !md_topic_name_valid(kslice_cstr(name), &why))
            return -1;
        char *end;
        long n = strtol(np, &end, 10);
        if (*end || n < 1 || n > BROOK_PARTITIONS_MAX || md_find(md, kslice_cstr(name)))
            return -1;
        uint8_t tid[16] = {0};
        for (int i = 0; id && i < 16; i++) {
            int hi = hexval(id[2 * i]), lo = hexval(id[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            tid[i] = (uint8_t)(hi << 4 | lo);
        }
        /* NULL also for an id that two lines share: the file is not ours. */
        return md_insert(md, name, (int32_t)n, 0, NULL, NULL, tid) ? 0 : -1;
    }
    if (strcmp(kind, "config") == 0) {
        char *name = strtok_r(NULL, " ", &save), *key = strtok_r(NULL, " ", &save);
        char *value = save ? save : (char *)"";
        topic *t = name ? md_find(md, kslice_cstr(name)) : NULL;
        if (!t || !key)
            return -1;
        char **k = realloc(t->config_keys, sizeof(char *) * (size_t)(t->nconfigs + 1));
        if (!k)
            return -1;
        t->config_keys = k;
        char **v = realloc(t->config_values, sizeof(char *) * (size_t)(t->nconfigs + 1));
        if (!v)
            return -1;
        t->config_values = v;
        k[t->nconfigs] = strdup(key);
        v[t->nconfigs] = strdup(value);
        if (!k[t->nconfigs] || !v[t->nconfigs])
            return -1;
        t->nconfigs++;
        return 0;
    }
    return -1;
}

int md_load(metadata *md, const char *data_dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", data_dir, MD_FILE);
    md->topics = NULL;
    md->by_id = NULL;
    md->path = strdup(path);
    if (!md->path)
        return -ENOMEM;
    char *text;
    int rc = fs_read_all(path, &text, NULL);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        return rc;
    }
    int lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] == '#')
            continue;
        if (md_parse_line(md, line) != 0) {
            snprintf(err, errlen, "%s: malformed line %d", path, lineno);
            free(text);
            return -EINVAL;
        }
    }
    free(text);
    return 0;
}

int md_save(const metadata *md)
{
    wr w;
    wr_init(&w, 4096);
    const char *head = "# brook topic registry v1: written atomically, do not edit by hand\n";
    wr_raw(&w, head, strlen(head));
    for (topic *t = md->topics; t; t = t->hh.next) {
        char line[512];
        int n = snprintf(line, sizeof(line), "topic %s ", t->name);
        wr_raw(&w, line, (size_t)n);
        for (int i = 0; i < 16; i++) {
            n = snprintf(line, sizeof(line), "%02x", t->id[i]);
            wr_raw(&w, line, (size_t)n);
        }
        n = snprintf(line, sizeof(line), " %d\n", t->npartitions);
        wr_raw(&w, line, (size_t)n);
        for (int i = 0; i < t->nconfigs; i++) {
            wr_raw(&w, "config ", 7);
            wr_raw(&w, t->name, strlen(t->name));
            wr_raw(&w, " ", 1);
            wr_raw(&w, t->config_keys[i], strlen(t->config_keys[i]));
            wr_raw(&w, " ", 1);
            wr_raw(&w, t->config_values[i], strlen(t->config_values[i]));
            wr_raw(&w, "\n", 1);
        }
    }
    int rc = w.oom ? -ENOMEM : fs_write_atomic(md->path, w.p, w.len);
    wr_free(&w);
    return rc;
}
