/*
 * test_proto_api.c - the version table and request/response headers (proto/api.h), and the
 * error-code names (proto/errors.h). Besides the table's own consistency, it checks the
 * constraints shared/kafka/PROTOCOL.md puts on the advertised ranges, so that raising or
 * lowering a version cannot silently break one of the three target clients.
 */
#include <string.h>

#include "base/buf.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "testutil.h"

static void test_table_consistent(void)
{
    int n = 0;
    const api_info *t = api_table(&n);
    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
        CHECK(t[i].name != NULL && t[i].name[0] != '\0');
        CHECK(t[i].key >= 0 && (t[i].key < API_KEY_LIMIT || t[i].key >= API_BROOK_PREPARE_TXN));
        CHECK(t[i].min_version >= 0);
        CHECK(t[i].min_version <= t[i].max_version);
        CHECK(t[i].flex_min >= 0);
        if (i > 0 && !CHECK(t[i - 1].key < t[i].key))
            printf("  (rows %d and %d are not in key order)\n", i - 1, i);
        CHECK(api_lookup(t[i].key) == &t[i]);
        for (int k = 0; k < i; k++)
            CHECK(strcmp(t[k].name, t[i].name) != 0);
    }
    CHECK(api_lookup(-1) == NULL);
    CHECK(api_lookup(API_KEY_LIMIT) == NULL);
    CHECK(api_lookup(INT16_MAX) == NULL);
    CHECK(api_lookup(4) == NULL); /* LeaderAndIsr: inter-broker, never served here */
}

static void test_supported_and_flexible(void)
{
    int n = 0;
    const api_info *t = api_table(&n);
    for (int i = 0; i < n; i++) {
        const api_info *a = &t[i];
        CHECK(!api_version_supported(a->key, (int16_t)(a->min_version - 1)));
        CHECK(api_version_supported(a->key, a->min_version));
        CHECK(api_version_supported(a->key, a->max_version));
        CHECK(!api_version_supported(a->key, (int16_t)(a->max_version + 1)));
        for (int16_t v = a->min_version; v <= a->max_version; v++)
            CHECK_EQ_INT(api_is_flexible(a->key, v), v >= a->flex_min);
        CHECK(!api_is_flexible(a->key, (int16_t)(a->max_version + 1)));
    }
    CHECK(!api_version_supported(99, 0));
    CHECK(!api_is_flexible(99, 100));
}

/* The constraints of shared/kafka/PROTOCOL.md §0 and §B on the advertised ranges. */
static void check_range(int16_t key, int16_t must_min, int16_t must_max, const char *why)
{
    const api_info *a = api_lookup(key);
    bool ok = CHECK(a != NULL);
    if (a) {
        ok &= CHECK(a->min_version <= must_min);
        ok &= CHECK(a->max_version >= must_max);
    }
    if (!ok)
        printf("  (api key %d: %s)\n", key, why);
}

static void test_client_constraints(void)
{
    check_range(API_API_VERSIONS, 0, 3, "librdkafka probes v0 and sends v3 first");
    check_range(API_PRODUCE, 3, 7, "MsgVer2 needs Produce 3, zstd needs 7");
    check_range(API_FETCH, 4, 10, "MsgVer2 needs Fetch 4, zstd needs 10");
    check_range(API_METADATA, 0, 6, "v0 for old clients, kafkajs uses 6");
    check_range(API_LIST_OFFSETS, 1, 3, "librdkafka OffsetTime probes 1, kafkajs uses 3");
    check_range(API_FIND_COORDINATOR, 0, 2, "librdkafka needs v0 for groups, kafkajs uses 2");
    check_range(API_INIT_PRODUCER_ID, 0, 1, "librdkafka's idempotent producer needs v0");
    check_range(API_ADD_PARTITIONS_TO_TXN, 0, 1, "librdkafka sends only v0, kafkajs v1");
    check_range(API_END_TXN, 0, 1, "librdkafka sends v0-1");
    /* Metadata v9 has no topic ids and platformatic then gives every topic the zero id
     * (mixing topics up): a maximum of exactly 9 is the trap. From v10 the real ids are
     * sent (test_proto_topic_ids.c). */
    const api_info *md = api_lookup(API_METADATA);
    if (md && !CHECK(md->max_version != 9))
        printf("  (Metadata max v9: platformatic uses the zero topic id for every topic)\n");
    /* ApiVersions is flexible from v3 exactly: its v3 header is v2 and the response body
     * is compact. */
    const api_info *av = api_lookup(API_API_VERSIONS);
    if (av)
        CHECK_EQ_INT(av->flex_min, 3);
}

static void test_request_header_v1_and_v2(void)
{
    wr w;
    wr_init(&w, 64);
    wr_i16(&w, API_METADATA);
    wr_i16(&w, 4);
    wr_i32(&w, 0x01020304);
    wr_cstr(&w, "client-1");
    wr_i8(&w, 0x55); /* first body byte */
    rd r;
    rd_init(&r, w.p, w.len);
    req_header h;
    CHECK_EQ_INT(req_header_decode(&r, &h), 0);
    CHECK_EQ_INT(h.api_key, API_METADATA);
    CHECK_EQ_INT(h.api_version, 4);
    CHECK_EQ_INT(h.correlation_id, 0x01020304);
    CHECK_SLICE(h.client_id, "client-1");
    CHECK(!h.flexible && !r.flex);
    CHECK_EQ_INT(rd_i8(&r), 0x55);
    wr_free(&w);

    /* Header v2: client_id stays a classic string; a tag buffer follows it. */
    wr_init(&w, 64);
    wr_i16(&w, API_API_VERSIONS);
    wr_i16(&w, 3);
    wr_i32(&w, -7);
    wr_cstr(&w, NULL);
    wr_raw(&w, "\x01\x00\x02\xaa\xbb", 5); /* one tagged field: tag 0, two bytes */
    wr_i8(&w, 0x55);
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(req_header_decode(&r, &h), 0);
    CHECK_EQ_INT(h.api_key, API_API_VERSIONS);
    CHECK_EQ_INT(h.correlation_id, -7);
    CHECK_SLICE(h.client_id, NULL);
    CHECK(h.flexible && r.flex);
    CHECK_EQ_INT(rd_i8(&r), 0x55);

    /* Every truncation of it fails. */
    for (size_t n = 0; n < w.len - 1; n++) {
        rd_init(&r, w.p, n);
        if (!CHECK_EQ_INT(req_header_decode(&r, &h), -1))
            printf("  (%zu bytes)\n", n);
    }
    wr_free(&w);

    /* An API or version we do not serve still decodes (as v1) so it can be refused. */
    wr_init(&w, 64);
    wr_i16(&w, 999);
    wr_i16(&w, 42);
    wr_i32(&w, 5);
    wr_cstr(&w, "x");
    rd_init(&r, w.p, w.len);
    CHECK_EQ_INT(req_header_decode(&r, &h), 0);
    CHECK(h.api_key == 999 && h.api_version == 42 && !h.flexible);
    wr_free(&w);
}

static void test_response_header(void)
{
    /* Flexible non-ApiVersions: header v1 with an empty tag buffer. */
    req_header h = {API_METADATA, 9, 0x0a0b0c0d, KSLICE_NULL, true};
    wr w;
    wr_init(&w, 16);
    resp_begin(&w, &h);
    CHECK(w.flex);
    wr_i8(&w, 0x42);
    resp_end(&w);
    static const uint8_t want_v1[] = {0, 0, 0, 6, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x42};
    CHECK_EQ_INT(w.len, sizeof(want_v1));
    CHECK_EQ_MEM(w.p, want_v1, sizeof(want_v1));
    wr_free(&w);

    /* ApiVersions v3: header v0 (no tags) but a flexible body. */
    req_header av = {API_API_VERSIONS, 3, 1, KSLICE_NULL, true};
    wr_init(&w, 16);
    resp_begin(&w, &av);
    CHECK(w.flex);
    wr_i8(&w, 0x42);
    resp_end(&w);
    static const uint8_t want_v0[] = {0, 0, 0, 5, 0, 0, 0, 1, 0x42};
    CHECK_EQ_INT(w.len, sizeof(want_v0));
    CHECK_EQ_MEM(w.p, want_v0, sizeof(want_v0));
    wr_free(&w);

    /* Not flexible: header v0, classic body. */
    req_header md = {API_METADATA, 1, -1, KSLICE_NULL, false};
    wr_init(&w, 16);
    w.flex = true; /* whatever it was before */
    resp_begin(&w, &md);
    CHECK(!w.flex);
    resp_end(&w);
    static const uint8_t want_empty[] = {0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff};
    CHECK_EQ_INT(w.len, sizeof(want_empty));
    CHECK_EQ_MEM(w.p, want_empty, sizeof(want_empty));
    wr_free(&w);
}

static void test_error_names(void)
{
    /* Codes and names from Kafka's Errors.java. */
    static const struct {
        int16_t code;
        const char *name;
    } want[] = {
        {-1, "UNKNOWN_SERVER_ERROR"},
        {0, "NONE"},
        {1, "OFFSET_OUT_OF_RANGE"},
        {2, "CORRUPT_MESSAGE"},
        {3, "UNKNOWN_TOPIC_OR_PARTITION"},
        {4, "INVALID_FETCH_SIZE"},
        {5, "LEADER_NOT_AVAILABLE"},
        {6, "NOT_LEADER_OR_FOLLOWER"},
        {7, "REQUEST_TIMED_OUT"},
        {10, "MESSAGE_TOO_LARGE"},
        {14, "COORDINATOR_LOAD_IN_PROGRESS"},
        {15, "COORDINATOR_NOT_AVAILABLE"},
        {16, "NOT_COORDINATOR"},
        {17, "INVALID_TOPIC_EXCEPTION"},
        {18, "RECORD_LIST_TOO_LARGE"},
        {21, "INVALID_REQUIRED_ACKS"},
        {32, "INVALID_TIMESTAMP"},
        {35, "UNSUPPORTED_VERSION"},
        {36, "TOPIC_ALREADY_EXISTS"},
        {37, "INVALID_PARTITIONS"},
        {38, "INVALID_REPLICATION_FACTOR"},
        {39, "INVALID_REPLICA_ASSIGNMENT"},
        {40, "INVALID_CONFIG"},
        {42, "INVALID_REQUEST"},
        {43, "UNSUPPORTED_FOR_MESSAGE_FORMAT"},
        {44, "POLICY_VIOLATION"},
        {45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
        {47, "INVALID_PRODUCER_EPOCH"},
        {48, "INVALID_TXN_STATE"},
        {49, "INVALID_PRODUCER_ID_MAPPING"},
        {50, "INVALID_TRANSACTION_TIMEOUT"},
        {51, "CONCURRENT_TRANSACTIONS"},
        {55, "OPERATION_NOT_ATTEMPTED"},
        {56, "KAFKA_STORAGE_ERROR"},
        {73, "TOPIC_DELETION_DISABLED"},
        {87, "INVALID_RECORD"},
        {88, "UNSTABLE_OFFSET_COMMIT"},
        {90, "PRODUCER_FENCED"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CHECK_EQ_STR(kafka_error_name(want[i].code), want[i].name);
    CHECK(kafka_error_name(-2) != NULL);
    CHECK(kafka_error_name(INT16_MAX) != NULL);
    CHECK(strcmp(kafka_error_name(9999), "NONE") != 0);
}

TU_MAIN(TU_CASE(test_table_consistent), TU_CASE(test_supported_and_flexible),
        TU_CASE(test_client_constraints), TU_CASE(test_request_header_v1_and_v2),
        TU_CASE(test_response_header), TU_CASE(test_error_names))
