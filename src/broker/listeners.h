/*
 * listeners.h - Kafka's listener keys: `listeners` (NAME://host:port, comma separated),
 * `advertised.listeners` (by the same names) and `listener.security.protocol.map`
 * (NAME:PROTOCOL), parsed into a table the broker binds one server per row of.
 * Owns: parsing and checking; nothing at run time.
 * Never: accepts a listener whose protocol Brook cannot serve (SSL and SASL_SSL until TLS
 * exists: a clear error, never a silently plaintext port).
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
/* "PLAINTEXT", "SASL_PLAINTEXT", ... */
const char *broker_secproto_name(broker_secproto p);
static inline bool broker_secproto_sasl(broker_secproto p)
{
    return p == SECPROTO_SASL_PLAINTEXT || p == SECPROTO_SASL_SSL;
}

#endif
