/* listeners.c - see listeners.h. */
#include "broker/listeners.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

static const char *const g_proto_names[] = {"PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"};

const char *broker_secproto_name(broker_secproto p)
{
    return (unsigned)p < 4 ? g_proto_names[p] : "?";
}

static int proto_parse(const char *s, size_t n, broker_secproto *out)
{
    for (int i = 0; i < 4; i++)
        if (strlen(g_proto_names[i]) == n && strncmp(s, g_proto_names[i], n) == 0) {
            *out = (broker_secproto)i;
            return 0;
        }
    return -1;
}

/* The protocol map's entry for a listener name. */
static int map_lookup(const char *map, const char *name, broker_secproto *out)
{
    size_t nl = strlen(name);
    for (const char *p = map; p && *p;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon && (size_t)(colon - p) == nl && strncmp(p, name, nl) == 0)
            return proto_parse(colon + 1, (size_t)(end - colon - 1), out);
        p = comma ? comma + 1 : end;
    }
    return -1;
}

/* "NAME://host:port" into its parts; -1 on anything else. */
static int parse_entry(const char *s, size_t n, char *name, size_t namecap, char *host,
                       size_t hostcap, int *port)
{
    char buf[320];
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *sep = strstr(buf, "://");
    if (!sep || sep == buf || (size_t)(sep - buf) >= namecap)
        return -1;
    memcpy(name, buf, (size_t)(sep - buf));
    name[sep - buf] = '\0';
    char *hp = sep + 3;
    char *colon = strrchr(hp, ':');
    if (!colon || (size_t)(colon - hp) >= hostcap)
        return -1;
    int64_t v;
    if (config_parse_i64(colon + 1, &v) != 0 || v < 0 || v > 65535)
        return -1;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    *port = (int)v;
    return 0;
}

static int parse_listeners(const char *s, const char *map, broker_listener *out, int *n,
                           char *err, size_t errlen)
{
    *n = 0;
    for (const char *p = s; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == BROKER_LISTENERS_MAX) {
            snprintf(err, errlen, "config key 'listeners': at most %d listeners",
                     BROKER_LISTENERS_MAX);
            return -1;
        }
        broker_listener *l = &out[*n];
        memset(l, 0, sizeof(*l));
        if (parse_entry(p, len, l->name, sizeof(l->name), l->host, sizeof(l->host), &l->port)) {
            snprintf(err, errlen, "config key 'listeners': '%.*s' is not NAME://host:port",
                     (int)len, p);
            return -1;
        }
        if (map_lookup(map, l->name, &l->proto) != 0) {
            snprintf(err, errlen, "config key 'listener.security.protocol.map': no security "
                     "protocol for listener %s", l->name);
            return -1;
        }
        if (l->proto == SECPROTO_SSL || l->proto == SECPROTO_SASL_SSL) {
            snprintf(err, errlen, "config key 'listeners': listener %s is %s; Brook has no "
                     "TLS yet (PLAINTEXT and SASL_PLAINTEXT only)", l->name,
                     broker_secproto_name(l->proto));
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (strcmp(out[i].name, l->name) == 0 || (l->port != 0 && out[i].port == l->port)) {
                snprintf(err, errlen, "config key 'listeners': listener %s repeats a name or "
                         "port of listener %s", l->name, out[i].name);
                return -1;
            }
        (*n)++;
        p = comma ? comma + 1 : p + len;
    }
    if (*n == 0) {
        snprintf(err, errlen, "config key 'listeners': empty");
        return -1;
    }
    return 0;
}

static int parse_advertised(const char *s, broker_listener *ls, int n, char *err,
                            size_t errlen)
{
    for (const char *p = s; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[32], host[256];
        int port;
        if (parse_entry(p, len, name, sizeof(name), host, sizeof(host), &port)) {
            snprintf(err, errlen, "config key 'advertised.listeners': '%.*s' is not "
                     "NAME://host:port", (int)len, p);
            return -1;
        }
        broker_listener *l = NULL;
        for (int i = 0; i < n; i++)
            if (strcmp(ls[i].name, name) == 0)
                l = &ls[i];
        if (!l) {
            snprintf(err, errlen, "config key 'advertised.listeners': %s is not a listener",
                     name);
            return -1;
        }
        snprintf(l->adv_host, sizeof(l->adv_host), "%s", host);
        l->adv_port = port;
        l->adv_explicit = true;
        p = comma ? comma + 1 : p + len;
    }
    return 0;
}

int broker_listeners_parse(const char *listeners, const char *advertised, const char *map,
                           broker_listener *out, int *n_out, char *err, size_t errlen)
{
    if (!map || !*map)
        map = BROKER_SECPROTO_MAP_DEFAULT;
    if (parse_listeners(listeners ? listeners : "", map, out, n_out, err, errlen) != 0)
        return -1;
    for (int i = 0; i < *n_out; i++) {
        snprintf(out[i].adv_host, sizeof(out[i].adv_host), "%s", out[i].host);
        out[i].adv_port = out[i].port;
    }
    return advertised && *advertised
               ? parse_advertised(advertised, out, *n_out, err, errlen)
               : 0;
}
