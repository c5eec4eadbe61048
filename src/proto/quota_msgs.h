/*
 * quota_msgs.h - codecs of KIP-546's client quota APIs: DescribeClientQuotas 0-1 and
 * AlterClientQuotas 0-1 (1 flexible).
 *
 * Same contract as msgs.h: decoders check every length, arrays and strings live in the
 * request's arena; encoders write a response body. Kafka's float64 values travel as their
 * IEEE 754 bits (value_bits, big-endian on the wire like an int64): quota_msgs_f64 and
 * quota_msgs_bits convert.
 */
#ifndef BROOK_PROTO_QUOTA_MSGS_H
#define BROOK_PROTO_QUOTA_MSGS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

double quota_msgs_f64(int64_t bits);
int64_t quota_msgs_bits(double v);

enum { QUOTA_MATCH_EXACT = 0, QUOTA_MATCH_DEFAULT = 1, QUOTA_MATCH_ANY = 2 };

typedef struct cq_component {
    const char *entity_type;
    int8_t match_type;
    const char *match; /* NULL: null */
} cq_component;
typedef struct describe_cq_req {
    int32_t ncomponents;
    cq_component *components;
    bool strict;
} describe_cq_req;

typedef struct cq_entity { /* one part of an entity: ("user", "alice"), ("client-id", NULL) */
    const char *entity_type;
    const char *entity_name; /* NULL: the default entity */
} cq_entity;
typedef struct cq_value {
    const char *key;
    int64_t value_bits;
} cq_value;
typedef struct cq_entry {
    int32_t nentity;
    cq_entity *entity;
    int32_t nvalues;
    cq_value *values;
} cq_entry;
typedef struct describe_cq_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    const char *error_message;
    int32_t nentries; /* -1: null (on an error) */
    cq_entry *entries;
} describe_cq_resp;

typedef struct cq_op {
    const char *key;
    int64_t value_bits;
    bool remove;
} cq_op;
typedef struct alter_cq_entry {
    int32_t nentity;
    cq_entity *entity;
    int32_t nops;
    cq_op *ops;
    /* the response's, filled by the handler */
    int16_t error_code;
    const char *error_message;
} alter_cq_entry;
typedef struct alter_cq_req {
    int32_t nentries;
    alter_cq_entry *entries;
    bool validate_only;
} alter_cq_req;

int describe_cq_req_decode(rd *r, int16_t v, arena *a, describe_cq_req *q);
void describe_cq_req_encode(wr *w, int16_t v, const describe_cq_req *q);
void describe_cq_resp_encode(wr *w, int16_t v, const describe_cq_resp *m);
int describe_cq_resp_decode(rd *r, int16_t v, arena *a, describe_cq_resp *m);
int alter_cq_req_decode(rd *r, int16_t v, arena *a, alter_cq_req *q);
void alter_cq_req_encode(wr *w, int16_t v, const alter_cq_req *q);
/* The response: each entry's error and entity, from the request's entries. */
void alter_cq_resp_encode(wr *w, int16_t v, int32_t throttle_time_ms, const alter_cq_req *q);
int alter_cq_resp_decode(rd *r, int16_t v, arena *a, alter_cq_req *m);

/* msgs_decode_any's part for these APIs: 0, -1 malformed, -2 not one of them. */
int quota_msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a);

#endif
