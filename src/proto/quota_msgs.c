/* quota_msgs.c - see quota_msgs.h. Field layouts: Kafka's DescribeClientQuotas and
 * AlterClientQuotas request and response JSON. */
#include "proto/quota_msgs.h"

#include <string.h>

#include "proto/api.h"
#include "proto/schema.h"

double quota_msgs_f64(int64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

int64_t quota_msgs_bits(double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

static const pf_field g_component_fields[] = {
    PF_F("EntityType", PF_CSTR, 0, PF_LAST, cq_component, entity_type),
    PF_F("MatchType", PF_I8, 0, PF_LAST, cq_component, match_type),
    PF_FN("Match", PF_CSTR, 0, PF_LAST, 0, cq_component, match),
};
static const pf_schema g_component =
    PF_SCHEMA("ComponentData", cq_component, g_component_fields);
static const pf_field g_describe_req_fields[] = {
    PF_FA("Components", PF_STRUCTS, 0, PF_LAST, PF_NEVER, describe_cq_req, components,
          ncomponents, &g_component),
    PF_F("Strict", PF_BOOL, 0, PF_LAST, describe_cq_req, strict),
};
static const pf_schema g_describe_req =
    PF_SCHEMA("DescribeClientQuotasRequest", describe_cq_req, g_describe_req_fields);

static const pf_field g_entity_fields[] = {
    PF_F("EntityType", PF_CSTR, 0, PF_LAST, cq_entity, entity_type),
    PF_FN("EntityName", PF_CSTR, 0, PF_LAST, 0, cq_entity, entity_name),
};
static const pf_schema g_entity = PF_SCHEMA("EntityData", cq_entity, g_entity_fields);
static const pf_field g_value_fields[] = {
    PF_F("Key", PF_CSTR, 0, PF_LAST, cq_value, key),
    PF_F("Value", PF_I64, 0, PF_LAST, cq_value, value_bits), /* float64 */
};
static const pf_schema g_value = PF_SCHEMA("ValueData", cq_value, g_value_fields);
static const pf_field g_entry_fields[] = {
    PF_FA("Entity", PF_STRUCTS, 0, PF_LAST, PF_NEVER, cq_entry, entity, nentity, &g_entity),
    PF_FA("Values", PF_STRUCTS, 0, PF_LAST, PF_NEVER, cq_entry, values, nvalues, &g_value),
};
static const pf_schema g_entry = PF_SCHEMA("EntryData", cq_entry, g_entry_fields);
static const pf_field g_describe_resp_fields[] = {
    PF_F("ThrottleTimeMs", PF_I32, 0, PF_LAST, describe_cq_resp, throttle_time_ms),
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, describe_cq_resp, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, describe_cq_resp, error_message),
    PF_FA("Entries", PF_STRUCTS, 0, PF_LAST, 0, describe_cq_resp, entries, nentries, &g_entry),
};
static const pf_schema g_describe_resp =
    PF_SCHEMA("DescribeClientQuotasResponse", describe_cq_resp, g_describe_resp_fields);

int describe_cq_req_decode(rd *r, int16_t v, arena *a, describe_cq_req *q)
{
    return pf_decode_message(r, v, a, &g_describe_req, q);
}

void describe_cq_req_encode(wr *w, int16_t v, const describe_cq_req *q)
{
    pf_encode(w, v, &g_describe_req, q);
}

void describe_cq_resp_encode(wr *w, int16_t v, const describe_cq_resp *m)
{
    pf_encode(w, v, &g_describe_resp, m);
}

int describe_cq_resp_decode(rd *r, int16_t v, arena *a, describe_cq_resp *m)
{
    return pf_decode_message(r, v, a, &g_describe_resp, m);
}

static const pf_field g_op_fields[] = {
    PF_F("Key", PF_CSTR, 0, PF_LAST, cq_op, key),
    PF_F("Value", PF_I64, 0, PF_LAST, cq_op, value_bits), /* float64 */
    PF_F("Remove", PF_BOOL, 0, PF_LAST, cq_op, remove),
};
static const pf_schema g_op = PF_SCHEMA("OpData", cq_op, g_op_fields);
static const pf_field g_alter_entry_fields[] = {
    PF_FA("Entity", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_cq_entry, entity, nentity,
          &g_entity),
    PF_FA("Ops", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_cq_entry, ops, nops, &g_op),
    PF_LOCAL("ErrorCode", PF_I16, alter_cq_entry, error_code, 0),
};
static const pf_schema g_alter_entry =
    PF_SCHEMA("EntryData", alter_cq_entry, g_alter_entry_fields);
static const pf_field g_alter_req_fields[] = {
    PF_FA("Entries", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_cq_req, entries, nentries,
          &g_alter_entry),
    PF_F("ValidateOnly", PF_BOOL, 0, PF_LAST, alter_cq_req, validate_only),
};
static const pf_schema g_alter_req =
    PF_SCHEMA("AlterClientQuotasRequest", alter_cq_req, g_alter_req_fields);

static const pf_field g_alter_rentry_fields[] = {
    PF_F("ErrorCode", PF_I16, 0, PF_LAST, alter_cq_entry, error_code),
    PF_FN("ErrorMessage", PF_CSTR, 0, PF_LAST, 0, alter_cq_entry, error_message),
    PF_FA("Entity", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_cq_entry, entity, nentity,
          &g_entity),
};
static const pf_schema g_alter_rentry =
    PF_SCHEMA("EntryData", alter_cq_entry, g_alter_rentry_fields);
typedef struct alter_cq_resp_wire {
    int32_t throttle_time_ms;
    int32_t nentries;
    alter_cq_entry *entries;
} alter_cq_resp_wire;
static const pf_field g_alter_resp_fields[] = {
    PF_F("ThrottleTimeMs", PF_I32, 0, PF_LAST, alter_cq_resp_wire, throttle_time_ms),
    PF_FA("Entries", PF_STRUCTS, 0, PF_LAST, PF_NEVER, alter_cq_resp_wire, entries, nentries,
          &g_alter_rentry),
};
static const pf_schema g_alter_resp =
    PF_SCHEMA("AlterClientQuotasResponse", alter_cq_resp_wire, g_alter_resp_fields);

int alter_cq_req_decode(rd *r, int16_t v, arena *a, alter_cq_req *q)
{
    return pf_decode_message(r, v, a, &g_alter_req, q);
}

void alter_cq_req_encode(wr *w, int16_t v, const alter_cq_req *q)
{
    pf_encode(w, v, &g_alter_req, q);
}

void alter_cq_resp_encode(wr *w, int16_t v, int32_t throttle_time_ms, const alter_cq_req *q)
{
    alter_cq_resp_wire out = {throttle_time_ms, q->nentries, q->entries};
    pf_encode(w, v, &g_alter_resp, &out);
}

int alter_cq_resp_decode(rd *r, int16_t v, arena *a, alter_cq_req *m)
{
    alter_cq_resp_wire in;
    memset(&in, 0, sizeof(in));
    int rc = pf_decode_message(r, v, a, &g_alter_resp, &in);
    m->nentries = in.nentries;
    m->entries = in.entries;
    m->validate_only = false;
    return rc;
}

int quota_msgs_decode_any(int16_t api_key, int16_t version, rd *r, arena *a)
{
    union {
        describe_cq_req d;
        alter_cq_req al;
    } u;
    switch (api_key) {
    case API_DESCRIBE_CLIENT_QUOTAS: return describe_cq_req_decode(r, version, a, &u.d);
    case API_ALTER_CLIENT_QUOTAS: return alter_cq_req_decode(r, version, a, &u.al);
    }
    return -2;
}
