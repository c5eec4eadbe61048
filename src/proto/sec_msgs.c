/* sec_msgs.c - see sec_msgs.h. Field layouts: Kafka's SaslHandshake, SaslAuthenticate,
 * DescribeUserScramCredentials, AlterUserScramCredentials and the ACL messages' JSON. */
#include "proto/sec_msgs.h"

#include "proto/api.h"
#include "proto/schema.h"

static const pf_field g_handshake_req_fields[] = {
    PF_F("Mechanism", PF_CSTR, 0, PF_LAST, sasl_handshake_req, mechanism),
};
static const pf_schema g_handshake_req =
    PF_SCHEMA("SaslHandshakeRequest", sasl_handshake_req, g_handshake_req_fields);
static const pf_field g_handshake_resp_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, sasl_handshake_resp, error_code),
    PF_FA("Mechanisms", PF_STRS, 0, PF_LAST, PF_NEVER, sasl_handshake_resp, mechanisms,
          nmechanisms, NULL),
};
static const pf_schema g_handshake_resp =
    PF_SCHEMA("SaslHandshakeResponse", sasl_handshake_resp, g_handshake_resp_fields);

int sasl_handshake_req_decode(rd *r, int16_t v, arena *a, sasl_handshake_req *q)
{
    return pf_decode(r, v, a, &g_handshake_req, q);
}

void sasl_handshake_resp_encode(wr *w, int16_t v, const sasl_handshake_resp *m)
{
    pf_encode(w, v, &g_handshake_resp, m);
}

static const pf_field g_auth_req_fields[] = {
    PF_F("AuthBytes", PF_BYTES, 0, PF_LAST, sasl_auth_req, auth_bytes),
};
static const pf_schema g_auth_req =
    PF_SCHEMA("SaslAuthenticateRequest", sasl_auth_req, g_auth_req_fields);
static const pf_field g_auth_resp_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, sasl_auth_resp, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, sasl_auth_resp, error_message),
    PF_F("AuthBytes", PF_BYTES, 0, PF_LAST, sasl_auth_resp, auth_bytes),
    PF_F("SessionLifetimeMs", PF_I64, 1, PF_LAST, sasl_auth_resp, session_lifetime_ms),
};
static const pf_schema g_auth_resp =
    PF_SCHEMA("SaslAuthenticateResponse", sasl_auth_resp, g_auth_resp_fields);

int sasl_auth_req_decode(rd *r, int16_t v, arena *a, sasl_auth_req *q)
{
    return pf_decode(r, v, a, &g_auth_req, q);
}

void sasl_auth_resp_encode(wr *w, int16_t v, const sasl_auth_resp *m)
{
    pf_encode(w, v, &g_auth_resp, m);
}

static const pf_field g_user_name_fields[] = {
    PF_F("Name", PF_CSTR, 0, PF_LAST, scram_user_name, name),
};
static const pf_schema g_user_name = PF_SCHEMA("UserName", scram_user_name, g_user_name_fields);
static const pf_field g_describe_req_fields[] = {
    PF_FA("Users", PF_STRUCTS, 0, PF_LAST, 0, describe_scram_req, users, nusers, &g_user_name),
};
static const pf_schema g_describe_req = PF_SCHEMA("DescribeUserScramCredentialsRequest",
                                                  describe_scram_req, g_describe_req_fields);

static const pf_field g_cred_info_fields[] = {
    PF_F("Mechanism", PF_I8, 0, PF_LAST, scram_cred_info, mechanism),
    PF_F("Iterations", PF_I32, 0, PF_LAST, scram_cred_info, iterations),
};
static const pf_schema g_cred_info =
    PF_SCHEMA("CredentialInfo", scram_cred_info, g_cred_info_fields);
static const pf_field g_describe_result_fields[] = {
    PF_F("User", PF_CSTR, 0, PF_LAST, scram_user_result, user),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, scram_user_result, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, scram_user_result, error_message),
    PF_FA("CredentialInfos", PF_STRUCTS, 0, PF_LAST, PF_NEVER, scram_user_result, infos, ninfos,
          &g_cred_info),
};
static const pf_schema g_describe_result =
    PF_SCHEMA("DescribeUserScramCredentialsResult", scram_user_result, g_describe_result_fields);
static const pf_field g_describe_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, describe_scram_resp, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, describe_scram_resp, error_message),
    PF_FA("Results", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describe_scram_resp, results, nresults,
          &g_describe_result),
};
static const pf_schema g_describe_resp = PF_SCHEMA("DescribeUserScramCredentialsResponse",
                                                   describe_scram_resp, g_describe_resp_fields);

int describe_scram_req_decode(rd *r, int16_t v, arena *a, describe_scram_req *q)
{
    return pf_decode(r, v, a, &g_describe_req, q);
}

void describe_scram_resp_encode(wr *w, int16_t v, const describe_scram_resp *m)
{
    pf_encode(w, v, &g_describe_resp, m);
}

static const pf_field g_deletion_fields[] = {
    PF_F("Name", PF_CSTR, 0, PF_LAST, scram_deletion, name),
    PF_F("Mechanism", PF_I8, 0, PF_LAST, scram_deletion, mechanism),
};
static const pf_schema g_deletion =
    PF_SCHEMA("ScramCredentialDeletion", scram_deletion, g_deletion_fields);
static const pf_field g_upsertion_fields[] = {
    PF_F("Name", PF_CSTR, 0, PF_LAST, scram_upsertion, name),
    PF_F("Mechanism", PF_I8, 0, PF_LAST, scram_upsertion, mechanism),
    PF_F("Iterations", PF_I32, 0, PF_LAST, scram_upsertion, iterations),
    PF_F("Salt", PF_BYTES, 0, PF_LAST, scram_upsertion, salt),
    PF_F("SaltedPassword", PF_BYTES, 0, PF_LAST, scram_upsertion, salted_password),
};
static const pf_schema g_upsertion =
    PF_SCHEMA("ScramCredentialUpsertion", scram_upsertion, g_upsertion_fields);
static const pf_field g_alter_req_fields[] = {
    PF_FA("Deletions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_scram_req, deletions, ndeletions,
          &g_deletion),
    PF_FA("Upsertions", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_scram_req, upsertions,
          nupsertions, &g_upsertion),
};
static const pf_schema g_alter_req =
    PF_SCHEMA("AlterUserScramCredentialsRequest", alter_scram_req, g_alter_req_fields);
static const pf_field g_alter_result_fields[] = {
    PF_F("User", PF_CSTR, 0, PF_LAST, scram_user_result, user),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, scram_user_result, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, scram_user_result, error_message),
};
static const pf_schema g_alter_result =
    PF_SCHEMA("AlterUserScramCredentialsResult", scram_user_result, g_alter_result_fields);
static const pf_field g_alter_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Results", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_scram_resp, results, nresults,
          &g_alter_result),
};
static const pf_schema g_alter_resp =
    PF_SCHEMA("AlterUserScramCredentialsResponse", alter_scram_resp, g_alter_resp_fields);

int alter_scram_req_decode(rd *r, int16_t v, arena *a, alter_scram_req *q)
{
    return pf_decode(r, v, a, &g_alter_req, q);
}

void alter_scram_req_encode(wr *w, int16_t v, const alter_scram_req *q)
{
    pf_encode(w, v, &g_alter_req, q);
}

void alter_scram_resp_encode(wr *w, int16_t v, const alter_scram_resp *m)
{
    pf_encode(w, v, &g_alter_resp, m);
}

/* The filter fields, in DescribeAcls' request itself and in DeleteAcls' Filters. */
#define ACL_FILTER_FIELDS(st)                                                                 \
    PF_F("ResourceTypeFilter", PF_I8, 0, PF_LAST, st, restype),                               \
        PF_FN("ResourceNameFilter", PF_CSTR, 0, PF_LAST, 0, st, name),                        \
        PF_FD("PatternTypeFilter", PF_I8, 1, PF_LAST, st, pattern, 3),                        \
        PF_FN("PrincipalFilter", PF_CSTR, 0, PF_LAST, 0, st, principal),                      \
        PF_FN("HostFilter", PF_CSTR, 0, PF_LAST, 0, st, host),                                \
        PF_F("Operation", PF_I8, 0, PF_LAST, st, op),                                         \
        PF_F("PermissionType", PF_I8, 0, PF_LAST, st, perm)

static const pf_field g_acl_filter_fields[] = {ACL_FILTER_FIELDS(acl_msg_binding)};
static const pf_schema g_describe_acls_req =
    PF_SCHEMA("DescribeAclsRequest", acl_msg_binding, g_acl_filter_fields);
static const pf_schema g_delete_filter =
    PF_SCHEMA("DeleteAclsFilter", acl_msg_binding, g_acl_filter_fields);
static const pf_field g_acl_description_fields[] = {
    PF_F("Principal", PF_CSTR, 0, PF_LAST, acl_msg_binding, principal),
    PF_F("Host", PF_CSTR, 0, PF_LAST, acl_msg_binding, host),
    PF_F("Operation", PF_I8, 0, PF_LAST, acl_msg_binding, op),
    PF_F("PermissionType", PF_I8, 0, PF_LAST, acl_msg_binding, perm),
};
static const pf_schema g_acl_description =
    PF_SCHEMA("AclDescription", acl_msg_binding, g_acl_description_fields);
static const pf_field g_acl_resource_fields[] = {
    PF_F("ResourceType", PF_I8, 0, PF_LAST, acl_msg_resource, restype),
    PF_F("ResourceName", PF_CSTR, 0, PF_LAST, acl_msg_resource, name),
    PF_FD("PatternType", PF_I8, 1, PF_LAST, acl_msg_resource, pattern, 3),
    PF_FA("Acls", PF_STRUCTS, 0, PF_LAST, PF_NEVER, acl_msg_resource, acls, nacls,
          &g_acl_description),
};
static const pf_schema g_acl_resource =
    PF_SCHEMA("DescribeAclsResource", acl_msg_resource, g_acl_resource_fields);
static const pf_field g_describe_acls_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, describe_acls_resp, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, describe_acls_resp, error_message),
    PF_FA("Resources", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describe_acls_resp, resources,
          nresources, &g_acl_resource),
};
static const pf_schema g_describe_acls_resp =
    PF_SCHEMA("DescribeAclsResponse", describe_acls_resp, g_describe_acls_resp_fields);

static const pf_field g_acl_creation_fields[] = {
    PF_F("ResourceType", PF_I8, 0, PF_LAST, acl_msg_binding, restype),
    PF_F("ResourceName", PF_CSTR, 0, PF_LAST, acl_msg_binding, name),
    PF_FD("ResourcePatternType", PF_I8, 1, PF_LAST, acl_msg_binding, pattern, 3),
    PF_F("Principal", PF_CSTR, 0, PF_LAST, acl_msg_binding, principal),
    PF_F("Host", PF_CSTR, 0, PF_LAST, acl_msg_binding, host),
    PF_F("Operation", PF_I8, 0, PF_LAST, acl_msg_binding, op),
    PF_F("PermissionType", PF_I8, 0, PF_LAST, acl_msg_binding, perm),
};
static const pf_schema g_acl_creation =
    PF_SCHEMA("AclCreation", acl_msg_binding, g_acl_creation_fields);
static const pf_field g_create_acls_req_fields[] = {
    PF_FA("Creations", PF_STRUCTS, 0, PF_LAST, PF_NEVER, acl_msg_list, v, n, &g_acl_creation),
};
static const pf_schema g_create_acls_req =
    PF_SCHEMA("CreateAclsRequest", acl_msg_list, g_create_acls_req_fields);
static const pf_field g_acl_creation_result_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, acl_msg_result, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, acl_msg_result, error_message),
};
static const pf_schema g_acl_creation_result =
    PF_SCHEMA("AclCreationResult", acl_msg_result, g_acl_creation_result_fields);
static const pf_field g_create_acls_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("Results", PF_STRUCTS, 0, PF_LAST, PF_NEVER, acl_msg_results, results, nresults,
          &g_acl_creation_result),
};
static const pf_schema g_create_acls_resp =
    PF_SCHEMA("CreateAclsResponse", acl_msg_results, g_create_acls_resp_fields);

static const pf_field g_delete_acls_req_fields[] = {
    PF_FA("Filters", PF_STRUCTS, 0, PF_LAST, PF_NEVER, acl_msg_list, v, n, &g_delete_filter),
};
static const pf_schema g_delete_acls_req =
    PF_SCHEMA("DeleteAclsRequest", acl_msg_list, g_delete_acls_req_fields);
static const pf_field g_matching_acl_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, acl_msg_binding, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, acl_msg_binding, error_message),
    PF_F("ResourceType", PF_I8, 0, PF_LAST, acl_msg_binding, restype),
    PF_F("ResourceName", PF_CSTR, 0, PF_LAST, acl_msg_binding, name),
    PF_FD("PatternType", PF_I8, 1, PF_LAST, acl_msg_binding, pattern, 3),
    PF_F("Principal", PF_CSTR, 0, PF_LAST, acl_msg_binding, principal),
    PF_F("Host", PF_CSTR, 0, PF_LAST, acl_msg_binding, host),
    PF_F("Operation", PF_I8, 0, PF_LAST, acl_msg_binding, op),
    PF_F("PermissionType", PF_I8, 0, PF_LAST, acl_msg_binding, perm),
};
static const pf_schema g_matching_acl =
    PF_SCHEMA("DeleteAclsMatchingAcl", acl_msg_binding, g_matching_acl_fields);
static const pf_field g_filter_result_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, acl_msg_result, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, acl_msg_result, error_message),
    PF_FA("MatchingAcls", PF_STRUCTS, 0, PF_LAST, PF_NEVER, acl_msg_result, matching,
          nmatching, &g_matching_acl),
};
static const pf_schema g_filter_result =
    PF_SCHEMA("DeleteAclsFilterResult", acl_msg_result, g_filter_result_fields);
static const pf_field g_delete_acls_resp_fields[] = {
    PF_FK("ThrottleTimeMs", PF_I32, 0, PF_LAST, 0),
    PF_FA("FilterResults", PF_STRUCTS, 0, PF_LAST, PF_NEVER, acl_msg_results, results,
          nresults, &g_filter_result),
};
static const pf_schema g_delete_acls_resp =
    PF_SCHEMA("DeleteAclsResponse", acl_msg_results, g_delete_acls_resp_fields);

/* Each ACL message: its decoder and encoder over its table. */
#define ACL_CODEC(fn, st, schema)                                                             \
    int fn##_decode(rd *r, int16_t v, arena *a, st *m)                                        \
    {                                                                                         \
        return pf_decode(r, v, a, &schema, m);                                                \
    }                                                                                         \
    void fn##_encode(wr *w, int16_t v, const st *m) { pf_encode(w, v, &schema, m); }
ACL_CODEC(describe_acls_req, acl_msg_binding, g_describe_acls_req)
ACL_CODEC(describe_acls_resp, describe_acls_resp, g_describe_acls_resp)
ACL_CODEC(create_acls_req, acl_msg_list, g_create_acls_req)
ACL_CODEC(create_acls_resp, acl_msg_results, g_create_acls_resp)
ACL_CODEC(delete_acls_req, acl_msg_list, g_delete_acls_req)
ACL_CODEC(delete_acls_resp, acl_msg_results, g_delete_acls_resp)

int sec_msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a)
{
    union {
        sasl_handshake_req hs;
        sasl_auth_req au;
        describe_scram_req ds;
        alter_scram_req as;
        acl_msg_binding df;
        acl_msg_list al;
    } u;
    switch (api_key) {
    case API_SASL_HANDSHAKE: return sasl_handshake_req_decode(r, version, a, &u.hs);
    case API_SASL_AUTHENTICATE: return sasl_auth_req_decode(r, version, a, &u.au);
    case API_DESCRIBE_USER_SCRAM_CREDENTIALS:
        return describe_scram_req_decode(r, version, a, &u.ds);
    case API_ALTER_USER_SCRAM_CREDENTIALS: return alter_scram_req_decode(r, version, a, &u.as);
    case API_DESCRIBE_ACLS: return describe_acls_req_decode(r, version, a, &u.df);
    case API_CREATE_ACLS: return create_acls_req_decode(r, version, a, &u.al);
    case API_DELETE_ACLS: return delete_acls_req_decode(r, version, a, &u.al);
    }
    return -2;
}
