/*
 * listeners.h - Kafka's listener keys: `listeners` (NAME://host:port, comma separated),
 * `advertised.listeners` (by the same names) and `listener.security.protocol.map`
 * (NAME:PROTOCOL), parsed into a table the broker binds one server per row of.
 * Owns: parsing and checking; building each SSL / SASL_SSL listener's TLS context from the
 * ssl.* keys (listener.name.<name>.ssl.* first) and the inter-broker client's; nothing at
 * run time.
 * Never: starts a listener whose protocol Brook cannot serve, or an SSL listener without a
 * working key and certificate (a clear error naming the key and file instead).
 */
#ifndef BROOK_BROKER_LISTENERS_H
#define BROOK_BROKER_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum broker_secproto {
    SECPROTO_PLAINTEXT,
    SECPROTO_SASL_PLAINTEXT,
    SECPROTO_SSL,
    SECPROTO_SASL_SSL,
} broker_secproto;

#define BROKER_LISTENERS_MAX 4
#define BROKER_SECPROTO_MAP_DEFAULT                                                           \
    "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL"

typedef struct broker_listener {
    char name[32];
    broker_secproto proto;
    char host[256];
    int port; /* 0: any free port */
    char adv_host[256];
    int adv_port;      /* 0: the bound port */
    bool adv_explicit; /* named in advertised.listeners */
} broker_listener;

/* Parses the three keys (advertised and map may be NULL). Returns 0 and the table, or -1
 * with err naming the key and the problem. */
int broker_listeners_parse(const char *listeners, const char *advertised, const char *map,
                           broker_listener *out, int *n_out, char *err, size_t errlen);
struct broker_config;
/* inter.broker.listener.name / security.inter.broker.protocol: which listener brokers reach
 * each other through (cfg->inter_broker_lst); by default the first. In a ZooKeeper cluster
 * (clustered) a SASL inter-broker listener needs inter.broker.sasl.* (brokers log in to
 * each other). Returns 0 or -1 with err. */
int broker_listeners_check_inter(struct broker_config *cfg, bool clustered, char *err,
                                 size_t errlen);
/* Builds cfg->lst_tls[i] for each SSL and SASL_SSL listener and cfg->inter_broker_tls when
 * the inter-broker listener is SSL (used by clusters). Returns 0 or -1 with err naming the
 * key and the file; nothing is left allocated then. */
int broker_listeners_tls(struct broker_config *cfg, char *err, size_t errlen);
void broker_listeners_tls_free(struct broker_config *cfg);
static inline bool broker_secproto_tls(broker_secproto p)
{
    return p == SECPROTO_SSL || p == SECPROTO_SASL_SSL;
}
/* "PLAINTEXT", "SASL_PLAINTEXT", ... */
const char *broker_secproto_name(broker_secproto p);
static inline bool broker_secproto_sasl(broker_secproto p)
{
    return p == SECPROTO_SASL_PLAINTEXT || p == SECPROTO_SASL_SSL;
}

#endif
