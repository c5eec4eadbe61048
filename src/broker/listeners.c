/* listeners.c - see listeners.h. */
#include "broker/listeners.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"
#include "broker/config.h"
#include "sec/scram.h"
#include "sec/tls.h"

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

/* A cluster whose listener is SASL_*: brokers log in to each other, so they need a SCRAM
 * mechanism and credentials. */
static int check_inter_sasl(const struct broker_config *c, char *err, size_t errlen)
{
    const char *m = c->inter_broker_sasl_mech ? c->inter_broker_sasl_mech : "";
    if (scram_mech_parse(m) == SCRAM_UNKNOWN) {
        snprintf(err, errlen, "config key 'sasl.mechanism.inter.broker.protocol': '%s' is not "
                 "SCRAM-SHA-256 or SCRAM-SHA-512", m);
        return -1;
    }
    if (!c->inter_broker_sasl_user || !*c->inter_broker_sasl_user ||
        !c->inter_broker_sasl_password || !*c->inter_broker_sasl_password) {
        snprintf(err, errlen, "config key 'inter.broker.sasl.username': a cluster whose "
                 "listener is SASL_PLAINTEXT or SASL_SSL needs it and "
                 "inter.broker.sasl.password (brokers log in to each other)");
        return -1;
    }
    return 0;
}

int broker_listeners_check_inter(struct broker_config *c, bool clustered, char *err,
                                 size_t errlen)
{
    const char *name = c->inter_broker_listener_name, *proto = c->security_inter_broker_protocol;
    bool by_name = name && *name, by_proto = proto && *proto;
    c->inter_broker_lst = 0;
    if (by_name && by_proto) {
        snprintf(err, errlen, "config key 'inter.broker.listener.name': set it or "
                 "security.inter.broker.protocol, not both");
        return -1;
    }
    int found = by_name || by_proto ? -1 : 0;
    for (int i = 0; i < c->nlst && found < 0; i++)
        if (by_name ? strcmp(c->lst[i].name, name) == 0
                    : strcmp(broker_secproto_name(c->lst[i].proto), proto) == 0)
            found = i;
    if (found < 0) {
        snprintf(err, errlen, "config key '%s': '%s' is not %s of the listeners",
                 by_name ? "inter.broker.listener.name" : "security.inter.broker.protocol",
                 by_name ? name : proto, by_name ? "the name of one" : "the protocol of one");
        return -1;
    }
    c->inter_broker_lst = found;
    broker_secproto p = c->lst[found].proto;
    return clustered && broker_secproto_sasl(p) ? check_inter_sasl(c, err, errlen) : 0;
}

/* A listener's value of an ssl.* key: its listener.name.<name>.<key>, else the global. */
static const char *ssl_value(const struct broker_config *c, const char *listener,
                             const char *key, const char *global, bool *overridden)
{
    for (int i = 0; i < c->nssl_overrides; i++)
        if (strcasecmp(c->ssl_overrides[i].listener, listener) == 0 &&
            strcmp(c->ssl_overrides[i].key, key) == 0) {
            *overridden = true;
            return c->ssl_overrides[i].value;
        }
    return global;
}

/* One TLS context from listener l's ssl.* keys: its server side, or (server false) the
 * inter-broker client side. */
static struct tls_ctx *listener_tls(const struct broker_config *c, const broker_listener *l,
                                    bool server, char *err, size_t errlen)
{
    bool ov = false;
    const char *n = l->name;
    tls_config t = {
        .keystore_type = ssl_value(c, n, "ssl.keystore.type", c->ssl_keystore_type, &ov),
        .keystore_location =
            ssl_value(c, n, "ssl.keystore.location", c->ssl_keystore_location, &ov),
        .key_password = ssl_value(c, n, "ssl.key.password", c->ssl_key_password, &ov),
        .truststore_type = ssl_value(c, n, "ssl.truststore.type", c->ssl_truststore_type, &ov),
        .truststore_location =
            ssl_value(c, n, "ssl.truststore.location", c->ssl_truststore_location, &ov),
        .enabled_protocols =
            ssl_value(c, n, "ssl.enabled.protocols", c->ssl_enabled_protocols, &ov),
        .cipher_suites = ssl_value(c, n, "ssl.cipher.suites", c->ssl_cipher_suites, &ov),
        .principal_rules = ssl_value(c, n, "ssl.principal.mapping.rules",
                                     c->ssl_principal_mapping_rules, &ov),
    };
    const char *auth = ssl_value(c, n, "ssl.client.auth", c->ssl_client_auth, &ov);
    const char *ident = ssl_value(c, n, "ssl.endpoint.identification.algorithm",
                                  c->ssl_endpoint_identification, &ov);
    t.verify_hostname = ident && strcasecmp(ident, "https") == 0;
    if (tls_client_auth_parse(auth, &t.client_auth) != 0) {
        snprintf(err, errlen, "config key 'ssl.client.auth': '%s' is not required, requested "
                 "or none", auth);
        return NULL;
    }
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "listener.name.%s.ssl.", l->name);
    for (char *p = prefix; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    t.key_prefix = ov ? prefix : "ssl.";
    return tls_ctx_new(&t, server, err, errlen);
}

int broker_listeners_tls(struct broker_config *c, char *err, size_t errlen)
{
    for (int i = 0; i < c->nlst; i++) {
        if (!broker_secproto_tls(c->lst[i].proto))
            continue;
        char why[400];
        if (!(c->lst_tls[i] = listener_tls(c, &c->lst[i], true, why, sizeof(why)))) {
            snprintf(err, errlen, "listener %s: %s", c->lst[i].name, why);
            broker_listeners_tls_free(c);
            return -1;
        }
    }
    const broker_listener *ib = &c->lst[c->inter_broker_lst];
    bool tls = ib->proto == SECPROTO_SSL ||
               (ib->proto == SECPROTO_SASL_SSL && c->zookeeper_connect && *c->zookeeper_connect);
    if (tls &&
        !(c->inter_broker_tls = listener_tls(c, ib, false, err, errlen))) {
        broker_listeners_tls_free(c);
        return -1;
    }
    return 0;
}

void broker_listeners_tls_free(struct broker_config *c)
{
    for (int i = 0; i < BROKER_LISTENERS_MAX; i++) {
        tls_ctx_free(c->lst_tls[i]);
        c->lst_tls[i] = NULL;
    }
    tls_ctx_free(c->inter_broker_tls);
    c->inter_broker_tls = NULL;
}
