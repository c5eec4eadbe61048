/*
 * fuzz_request.c - libFuzzer target for the request decoders (proto/msgs.h, proto/api.h).
 *
 * Each input is used twice:
 *  1. Its first 4 bytes (big-endian) pick a row of the version table and a version inside
 *     that row's range; the rest is decoded as that request's body, in a fresh arena, with
 *     the reader in the flexible mode the version calls for. A body that decodes is then
 *     answered: the response encoder of that API runs on the decoded request, as a handler
 *     that echoes the request would.
 *  2. The whole input is decoded as a request header (req_header_decode) and, when the API
 *     and version are served, its body follows, as broker/dispatch.c does.
 * Invariants checked besides memory safety: a successful decode leaves the reader without
 * an error and inside its bytes.
 * tests/unit/test_fuzz_request_seeds.c compiles this file in (any compiler, no libFuzzer)
 * to check the committed seeds (corpus/fuzz_request/, from gen_corpus.py) against it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/api.h"
#include "proto/msgs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reader(const rd *r, int rc)
{
    if (rc == 0 && (r->err != RD_OK || r->off > r->len))
        abort();
}

/* Decodes one body with the typed decoder and encodes the response from it. Returns the
 * decoder's result. */
static int decode_and_answer(int16_t key, int16_t v, rd *r, arena *a)
{
    wr w;
    wr_init(&w, 256);
    w.flex = r->flex;
    int rc = -1;
    switch (key) {
    case API_API_VERSIONS: {
        apiversions_req q;
        rc = apiversions_req_decode(r, v, a, &q);
        if (rc == 0)
            apiversions_resp_encode(&w, v, 0);
        break;
    }
    case API_METADATA: {
        metadata_req q;
        rc = metadata_req_decode(r, v, a, &q);
        if (rc == 0) {
            /* each topic asked about, by name (null from v12) and id, without partitions */
            metadata_resp m = {.controller_id = 1, .include_topic_ops = q.include_topic_ops,
                               .include_cluster_ops = q.include_cluster_ops};
            m.ntopics = q.ntopics > 0 ? q.ntopics : 0;
            m.topics = arena_alloc(a, sizeof(md_topic) * (size_t)(m.ntopics + 1));
            for (int32_t i = 0; m.topics && i < m.ntopics; i++) {
                m.topics[i].name = q.topics[i].name;
                memcpy(m.topics[i].id, q.topics[i].id, TOPIC_ID_LEN);
            }
            if (m.topics)
                metadata_resp_encode(&w, v, &m);
        }
        break;
    }
    case API_PRODUCE: {
        produce_req q;
        memset(&q, 0, sizeof(q));
        rc = produce_req_decode(r, v, a, &q);
        if (rc == 0)
            produce_resp_encode(&w, v, &q);
        break;
    }
    case API_FETCH: {
        fetch_req q;
        memset(&q, 0, sizeof(q));
        rc = fetch_req_decode(r, v, a, &q);
        if (rc == 0)
            fetch_resp_encode(&w, v, &q, 0);
        break;
    }
    case API_LIST_OFFSETS: {
        listoffsets_req q;
        memset(&q, 0, sizeof(q));
        rc = listoffsets_req_decode(r, v, a, &q);
        if (rc == 0)
            listoffsets_resp_encode(&w, v, &q);
        break;
    }
    case API_CREATE_TOPICS: {
        createtopics_req q;
        memset(&q, 0, sizeof(q));
        rc = createtopics_req_decode(r, v, a, &q);
        if (rc == 0)
            createtopics_resp_encode(&w, v, &q);
        break;
    }
    case API_DELETE_TOPICS: {
        deletetopics_req q;
        memset(&q, 0, sizeof(q));
        rc = deletetopics_req_decode(r, v, a, &q);
        if (rc == 0)
            deletetopics_resp_encode(&w, v, &q);
        break;
    }
    case API_DELETE_RECORDS: {
        deleterecords_req q;
        memset(&q, 0, sizeof(q));
        rc = deleterecords_req_decode(r, v, a, &q);
        if (rc == 0)
            deleterecords_resp_encode(&w, v, &q);
        break;
    }
    case API_DESCRIBE_CONFIGS: {
        describeconfigs_req q;
        memset(&q, 0, sizeof(q));
        rc = describeconfigs_req_decode(r, v, a, &q);
        if (rc == 0)
            describeconfigs_resp_encode(&w, v, &q);
        break;
    }
    case API_ALTER_CONFIGS: {
        alterconfigs_req q;
        memset(&q, 0, sizeof(q));
        rc = alterconfigs_req_decode(r, v, a, &q);
        if (rc == 0)
            alterconfigs_resp_encode(&w, v, &q);
        break;
    }
    case API_INCREMENTAL_ALTER_CONFIGS: {
        incalter_req q;
        memset(&q, 0, sizeof(q));
        rc = incalter_req_decode(r, v, a, &q);
        if (rc == 0)
            incalter_resp_encode(&w, v, &q);
        break;
    }
    case API_DESCRIBE_LOG_DIRS: {
        describelogdirs_req q;
        rc = describelogdirs_req_decode(r, v, a, &q);
        if (rc == 0) {
            /* the partitions asked for, each with a size, in one directory */
            int32_t nt = q.ntopics > 0 ? q.ntopics : 0;
            dlogdirs_rtopic *ts = arena_alloc(a, sizeof(*ts) * (size_t)(nt + 1));
            for (int32_t i = 0; ts && i < nt; i++) {
                dlogdirs_part *ps = arena_alloc(a, sizeof(*ps) * (size_t)(q.topics[i].nparts + 1));
                ts[i].name = "t";
                ts[i].nparts = ps ? q.topics[i].nparts : 0;
                ts[i].parts = ps;
                for (int32_t k = 0; ps && k < q.topics[i].nparts; k++)
                    ps[k] = (dlogdirs_part){q.topics[i].parts[k], 4096, 0, false};
            }
            dlogdirs_dir d = {0, "/data", ts ? nt : 0, ts, 1 << 30, 1 << 20};
            describelogdirs_resp m = {0, 1, &d};
            describelogdirs_resp_encode(&w, v, &m);
        }
        break;
    }
    case API_CREATE_PARTITIONS: {
        createparts_req q;
        memset(&q, 0, sizeof(q));
        rc = createparts_req_decode(r, v, a, &q);
        if (rc == 0)
            createparts_resp_encode(&w, v, &q);
        break;
    }
    case API_FIND_COORDINATOR: {
        findcoord_req q;
        rc = findcoord_req_decode(r, v, a, &q);
        if (rc == 0) {
            findcoord_resp m = {0, NULL, 1, "localhost", 9092, KSLICE_NULL};
            findcoord_resp_encode(&w, v, &m, 1);
        }
        break;
    }
    case API_INIT_PRODUCER_ID: {
        initpid_req q;
        rc = initpid_req_decode(r, v, a, &q);
        if (rc == 0)
            initpid_resp_encode(&w, v, 0, q.producer_id, q.producer_epoch);
        break;
    }
    case API_ADD_PARTITIONS_TO_TXN: {
        addparts_req q;
        memset(&q, 0, sizeof(q));
        rc = addparts_req_decode(r, v, a, &q);
        if (rc == 0)
            addparts_resp_encode(&w, v, &q);
        break;
    }
    case API_END_TXN: {
        endtxn_req q;
        rc = endtxn_req_decode(r, v, a, &q);
        if (rc == 0)
            endtxn_resp_encode(&w, v, 0, q.producer_id, q.producer_epoch);
        break;
    }
    case API_DESCRIBE_PRODUCERS: {
        describeproducers_req q;
        memset(&q, 0, sizeof(q));
        rc = describeproducers_req_decode(r, v, a, &q);
        if (rc == 0)
            describeproducers_resp_encode(&w, v, &q);
        break;
    }
    case API_DESCRIBE_TRANSACTIONS: {
        describetxns_req q;
        memset(&q, 0, sizeof(q));
        rc = describetxns_req_decode(r, v, a, &q);
        if (rc == 0)
            describetxns_resp_encode(&w, v, &q);
        break;
    }
    case API_LIST_TRANSACTIONS: {
        listtxns_req q;
        memset(&q, 0, sizeof(q));
        rc = listtxns_req_decode(r, v, a, &q);
        if (rc == 0) {
            /* every state named answered back as unknown, one entry per producer id */
            q.nunknown = q.nstates;
            if (q.nstates > 0)
                memcpy(q.unknown_states, q.states, sizeof(kslice) * (size_t)q.nstates);
            listtxns_entry *e = arena_alloc(a, sizeof(*e) * (size_t)(q.npids + 1));
            for (int32_t i = 0; e && i < q.npids; i++)
                e[i] = (listtxns_entry){"tx", q.pids[i], "Ongoing"};
            q.nentries = e ? q.npids : 0;
            q.entries = e;
            listtxns_resp_encode(&w, v, &q);
        }
        break;
    }
    case API_DESCRIBE_CLUSTER: {
        describecluster_req q;
        rc = describecluster_req_decode(r, v, a, &q);
        if (rc == 0) {
            md_broker b = {1, "localhost", 9092, NULL};
            describecluster_resp m = {.endpoint_type = q.endpoint_type, .cluster_id = "c",
                                      .controller_id = 1, .nbrokers = 1, .brokers = &b,
                                      .cluster_ops = q.include_cluster_ops ? MD_CLUSTER_OPS_ALL
                                                                           : INT32_MIN};
            describecluster_resp_encode(&w, v, &m);
        }
        break;
    }
    default:
        /* An API added to the table without a case here: still fuzz its decoder. */
        rc = msgs_decode_any(key, v, r, a);
        break;
    }
    wr_free(&w);
    return rc;
}

/* The row of the version table and the version (into *v) that an input's first 4 bytes
 * (big-endian) select: the row is sel % rows, the version min + (sel / rows) % range.
 * tests/fuzz/gen_corpus.py writes its selectors the same way, and
 * tests/unit/test_fuzz_request_seeds.c checks every seed with this function. */
static const api_info *fuzz_select(const uint8_t sel_be[4], int16_t *v)
{
    int n = 0;
    const api_info *t = api_table(&n);
    uint32_t sel = be32_get(sel_be);
    const api_info *api = &t[sel % (uint32_t)n];
    uint32_t range = (uint32_t)(api->max_version - api->min_version + 1);
    *v = (int16_t)(api->min_version + (sel / (uint32_t)n) % range);
    return api;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4) {
        int16_t v;
        const api_info *api = fuzz_select(data, &v);

        rd r;
        rd_init(&r, data + 4, size - 4);
        r.flex = api_is_flexible(api->key, v);
        arena a;
        arena_init(&a);
        rd again = r;
        int rc = decode_and_answer(api->key, v, &r, &a);
        check_reader(&r, rc);
        /* The generic entry point agrees with the typed decoder. */
        int rc2 = msgs_decode_any(api->key, v, &again, &a);
        if (rc2 != rc || again.off != r.off)
            abort();
        arena_free(&a);
    }

    rd r;
    rd_init(&r, data, size);
    req_header h;
    int rc = req_header_decode(&r, &h);
    check_reader(&r, rc);
    if (rc == 0 && r.flex != h.flexible)
        abort();
    if (rc == 0 && api_version_supported(h.api_key, h.api_version)) {
        arena a;
        arena_init(&a);
        rc = msgs_decode_any(h.api_key, h.api_version, &r, &a);
        check_reader(&r, rc);
        arena_free(&a);
    }
    return 0;
}
