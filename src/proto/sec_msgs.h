/*
 * sec_msgs.h - codecs of the authentication APIs: SaslHandshake 1 (not flexible),
 * SaslAuthenticate 0-2 (2+ flexible), DescribeUserScramCredentials 0 and
 * AlterUserScramCredentials 0 (KIP-554, flexible), and the ACL APIs DescribeAcls,
 * CreateAcls and DeleteAcls 0-3 (KIP-140; v1+ pattern types, KIP-290; 2+ flexible).
 *
 * Same contract as msgs.h: decoders check every length, arrays and strings live in the
 * request's arena or borrow the request buffer; encoders write a response body.
 */
#ifndef BROOK_PROTO_SEC_MSGS_H
#define BROOK_PROTO_SEC_MSGS_H

#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"

typedef struct sasl_handshake_req {
    const char *mechanism;
} sasl_handshake_req;
typedef struct sasl_handshake_resp {
    int16_t error_code;
    int32_t nmechanisms;
    const kslice *mechanisms;
} sasl_handshake_resp;
int sasl_handshake_req_decode(rd *r, int16_t v, arena *a, sasl_handshake_req *q);
void sasl_handshake_resp_encode(wr *w, int16_t v, const sasl_handshake_resp *m);

typedef struct sasl_auth_req {
    kslice auth_bytes;
} sasl_auth_req;
typedef struct sasl_auth_resp {
    int16_t error_code;
    const char *error_message; /* NULL: null */
    kslice auth_bytes;
    int64_t session_lifetime_ms; /* v1+ */
} sasl_auth_resp;
int sasl_auth_req_decode(rd *r, int16_t v, arena *a, sasl_auth_req *q);
void sasl_auth_resp_encode(wr *w, int16_t v, const sasl_auth_resp *m);

typedef struct scram_cred_info {
    int8_t mechanism;
    int32_t iterations;
} scram_cred_info;
typedef struct scram_user_result {
    const char *user;
    int16_t error_code;
    const char *error_message;
    int32_t ninfos;
    scram_cred_info *infos;
} scram_user_result;
typedef struct scram_user_name {
    const char *name;
} scram_user_name;
typedef struct describe_scram_req {
    int32_t nusers; /* -1: null (every user) */
    scram_user_name *users;
} describe_scram_req;
typedef struct describe_scram_resp {
    int16_t error_code;
    const char *error_message;
    int32_t nresults;
    scram_user_result *results;
} describe_scram_resp;
int describe_scram_req_decode(rd *r, int16_t v, arena *a, describe_scram_req *q);
void describe_scram_resp_encode(wr *w, int16_t v, const describe_scram_resp *m);

typedef struct scram_deletion {
    const char *name;
    int8_t mechanism;
} scram_deletion;
typedef struct scram_upsertion {
    const char *name;
    int8_t mechanism;
    int32_t iterations;
    kslice salt, salted_password;
} scram_upsertion;
typedef struct alter_scram_req {
    int32_t ndeletions, nupsertions;
    scram_deletion *deletions;
    scram_upsertion *upsertions;
} alter_scram_req;
typedef struct alter_scram_resp {
    int32_t nresults;
    scram_user_result *results; /* user, error_code, error_message */
} alter_scram_resp;
int alter_scram_req_decode(rd *r, int16_t v, arena *a, alter_scram_req *q);
void alter_scram_resp_encode(wr *w, int16_t v, const alter_scram_resp *m);
/* Tests and Brook's own tools encode the requests too. */
void alter_scram_req_encode(wr *w, int16_t v, const alter_scram_req *q);

/* One ACL binding or filter as the ACL messages carry it (NULL strings: null, filters only;
 * the pattern reads LITERAL in v0). error_*: DeleteAcls' matching entries only. */
typedef struct acl_msg_binding {
    int8_t restype, pattern, op, perm;
    const char *name, *principal, *host;
    int16_t error_code;
    const char *error_message;
} acl_msg_binding;
typedef struct acl_msg_resource { /* DescribeAcls: the bindings of one resource pattern */
    int8_t restype, pattern;
    const char *name;
    int32_t nacls;
    acl_msg_binding *acls; /* principal, host, op, perm */
} acl_msg_resource;
typedef struct describe_acls_resp {
    int16_t error_code;
    const char *error_message;
    int32_t nresources;
    acl_msg_resource *resources;
} describe_acls_resp;
typedef struct acl_msg_list { /* CreateAcls' Creations, DeleteAcls' Filters */
    int32_t n;
    acl_msg_binding *v;
} acl_msg_list;
typedef struct acl_msg_result {
    int16_t error_code;
    const char *error_message;
    int32_t nmatching; /* DeleteAcls */
    acl_msg_binding *matching;
} acl_msg_result;
typedef struct acl_msg_results { /* CreateAcls' Results, DeleteAcls' FilterResults */
    int32_t nresults;
    acl_msg_result *results;
} acl_msg_results;
/* DescribeAcls' request is one filter. */
int describe_acls_req_decode(rd *r, int16_t v, arena *a, acl_msg_binding *q);
void describe_acls_req_encode(wr *w, int16_t v, const acl_msg_binding *q);
void describe_acls_resp_encode(wr *w, int16_t v, const describe_acls_resp *m);
int describe_acls_resp_decode(rd *r, int16_t v, arena *a, describe_acls_resp *m);
int create_acls_req_decode(rd *r, int16_t v, arena *a, acl_msg_list *q);
void create_acls_req_encode(wr *w, int16_t v, const acl_msg_list *q);
void create_acls_resp_encode(wr *w, int16_t v, const acl_msg_results *m);
int create_acls_resp_decode(rd *r, int16_t v, arena *a, acl_msg_results *m);
int delete_acls_req_decode(rd *r, int16_t v, arena *a, acl_msg_list *q);
void delete_acls_req_encode(wr *w, int16_t v, const acl_msg_list *q);
void delete_acls_resp_encode(wr *w, int16_t v, const acl_msg_results *m);
int delete_acls_resp_decode(rd *r, int16_t v, arena *a, acl_msg_results *m);

/* msgs_decode_any's part for these APIs: 0, -1 malformed, -2 not one of them. */
int sec_msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a);

#endif
