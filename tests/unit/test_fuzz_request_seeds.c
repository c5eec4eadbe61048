/*
 * test_fuzz_request_seeds.c - the committed seeds of the fuzz_request target
 * (tests/fuzz/corpus/fuzz_request/, written by tests/fuzz/gen_corpus.py) are what their
 * names say, so the fuzzer starts from every API and version of the table.
 *
 * Names: <Api>_v<N>_body (4 selector bytes, then a body) and <Api>_v<N>_request (a whole
 * request: header and body); a further _invalid_<why> marks a seed meant not to decode.
 * The fuzz target is compiled in here (fuzz_request.c), so a body seed is mapped to its
 * row and version by the target's own fuzz_select and decoded by its own
 * decode_and_answer. Checks:
 *  - every seed is named that way, for an API of g_apis and a version in its range;
 *  - a body seed selects that API and version; a request seed's header names them;
 *  - a valid seed decodes to its last byte (typed decoder with the flexible mode of the
 *    version, and msgs_decode_any alike); an invalid one does not;
 *  - every API and version of the table has both a body and a request seed: when g_apis
 *    changes (rows shift every selector), run tests/fuzz/gen_corpus.py again;
 *  - the fuzz target's own invariants hold on every seed (it aborts otherwise).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz_request.c"
#include "proto/inter_msgs.h"
#include "testutil.h"

#define SEED_DIR BROOK_SOURCE_DIR "/tests/fuzz/corpus/fuzz_request"
#define SEED_MAX 4096

#define SEED_FAIL(...) tu_fail_(__FILE__, __LINE__, __VA_ARGS__)

typedef struct seed {
    char *file;
    uint8_t *data;
    size_t size;
    const api_info *api; /* NULL: the name is not of the form above, or no such API */
    int version;
    bool body;    /* else a whole request */
    bool invalid; /* meant not to decode */
} seed;

static seed g_seeds[SEED_MAX];
static int g_nseeds = -1; /* -1: not loaded yet */

static const api_info *api_by_name(const char *name, size_t len)
{
    int n = 0;
    const api_info *t = api_table(&n);
    for (int i = 0; i < n; i++)
        if (strlen(t[i].name) == len && strncmp(t[i].name, name, len) == 0)
            return &t[i];
    return NULL;
}

/* Fills api, version, body and invalid from s->file; false when it is not a seed name. */
static bool parse_name(seed *s)
{
    const char *u = strchr(s->file, '_');
    if (!u || u[1] != 'v' || !(s->api = api_by_name(s->file, (size_t)(u - s->file))))
        return false;
    char *end;
    long v = strtol(u + 2, &end, 10);
    if (end == u + 2 || v < s->api->min_version || v > s->api->max_version)
        return false;
    s->version = (int)v;
    if (strncmp(end, "_body", 5) == 0) {
        s->body = true;
        end += 5;
    } else if (strncmp(end, "_request", 8) == 0) {
        s->body = false;
        end += 8;
    } else {
        return false;
    }
    s->invalid = strncmp(end, "_invalid_", 9) == 0 && end[9] != '\0';
    return *end == '\0' || s->invalid;
}

static int seed_cmp(const void *a, const void *b)
{
    return strcmp(((const seed *)a)->file, ((const seed *)b)->file);
}

/* Reads every seed, each into a heap block of its exact size (so ASan sees an overread). */
static void load_seeds(void)
{
    if (g_nseeds >= 0)
        return;
    g_nseeds = 0;
    DIR *d = opendir(SEED_DIR);
    if (!CHECK(d != NULL))
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (!CHECK(g_nseeds < SEED_MAX))
            break;
        seed *s = &g_seeds[g_nseeds++];
        s->file = strdup(e->d_name);
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", SEED_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!CHECK(f != NULL) || !CHECK(fseek(f, 0, SEEK_END) == 0)) {
            if (f)
                fclose(f);
            continue;
        }
        long size = ftell(f);
        rewind(f);
        s->size = size > 0 ? (size_t)size : 0;
        s->data = malloc(s->size ? s->size : 1);
        CHECK(s->data && fread(s->data, 1, s->size, f) == s->size);
        fclose(f);
        if (!parse_name(s))
            s->api = NULL;
    }
    closedir(d);
    qsort(g_seeds, (size_t)g_nseeds, sizeof(seed), seed_cmp);
}

/* Does the seed select (body) or name in its header (request) its API and version? */
static bool selects_its_api(const seed *s)
{
    if (s->body) {
        if (s->size < 4)
            return SEED_FAIL("%s: shorter than the 4-byte selector", s->file);
        int16_t v;
        const api_info *api = fuzz_select(s->data, &v);
        if (api != s->api || v != s->version)
            return SEED_FAIL("%s: selects %s v%d (selector 0x%08x)", s->file, api->name, v,
                             (unsigned)be32_get(s->data));
        return true;
    }
    rd r;
    rd_init(&r, s->data, s->size);
    req_header h;
    if (req_header_decode(&r, &h) != 0)
        return SEED_FAIL("%s: the request header does not decode", s->file);
    if (h.api_key != s->api->key || h.api_version != s->version)
        return SEED_FAIL("%s: the header names key %d v%d", s->file, h.api_key, h.api_version);
    if (h.flexible != api_is_flexible(h.api_key, h.api_version) || r.flex != h.flexible)
        return SEED_FAIL("%s: header flexible %d, reader %d", s->file, h.flexible, r.flex);
    return true;
}

/* Decodes the seed as fuzz_request.c does; true when every decoder it runs succeeds and
 * stops at the last byte. why gets the reason otherwise. */
static bool decodes_whole(const seed *s, char *why, size_t whylen)
{
    arena a;
    arena_init(&a);
    rd r;
    int rc;
    bool ok;
    if (s->body) {
        int16_t v = (int16_t)s->version;
        rd_init(&r, s->data + 4, s->size - 4);
        r.flex = api_is_flexible(s->api->key, v);
        rd again = r;
        rc = decode_and_answer(s->api->key, v, &r, &a);
        int rc2 = msgs_decode_any(s->api->key, v, &again, &a);
        ok = rc == 0 && rc2 == 0 && r.err == RD_OK && r.off == r.len && again.off == r.off;
        snprintf(why, whylen, "typed decoder %d at byte %zu, msgs_decode_any %d at byte %zu, "
                 "of %zu", rc, r.off, rc2, again.off, r.len);
    } else {
        rd_init(&r, s->data, s->size);
        req_header h;
        rc = req_header_decode(&r, &h);
        if (rc == 0)
            rc = msgs_decode_any(h.api_key, h.api_version, &r, &a);
        ok = rc == 0 && r.err == RD_OK && r.off == r.len;
        snprintf(why, whylen, "msgs_decode_any %d at byte %zu of %zu", rc, r.off, r.len);
    }
    arena_free(&a);
    return ok;
}

static void test_seed_names_and_selection(void)
{
    load_seeds();
    CHECK(g_nseeds > 0);
    int body = 0, request = 0, invalid = 0;
    for (int i = 0; i < g_nseeds; i++) {
        const seed *s = &g_seeds[i];
        if (!s->api) {
            SEED_FAIL("%s: not <Api>_v<N>_body|request[_invalid_<why>] for a row and a "
                      "version of g_apis", s->file);
            continue;
        }
        selects_its_api(s);
        body += s->body && !s->invalid;
        request += !s->body && !s->invalid;
        invalid += s->invalid;
    }
    printf("  %d seeds: %d body, %d request, %d invalid\n", g_nseeds, body, request, invalid);
}

static void test_seeds_decode(void)
{
    load_seeds();
    int checked = 0;
    for (int i = 0; i < g_nseeds; i++) {
        const seed *s = &g_seeds[i];
        if (!s->api)
            continue;
        char why[160];
        bool whole = decodes_whole(s, why, sizeof(why));
        if (s->invalid && whole)
            SEED_FAIL("%s: meant not to decode, but it does", s->file);
        else if (!s->invalid && !whole)
            SEED_FAIL("%s: does not decode whole: %s", s->file, why);
        checked++;
    }
    CHECK(checked > 0);
    printf("  %d seeds checked\n", checked);
}

/* BrookPrepareTxn's seeds also decode whole with the decoder the broker runs on them
 * (msgs_decode_any once sent them to BrookTxnStatus's decoder: found by these seeds). */
static void test_prepare_txn_seeds_with_their_decoder(void)
{
    load_seeds();
    int checked = 0;
    for (int i = 0; i < g_nseeds; i++) {
        const seed *s = &g_seeds[i];
        if (!s->api || s->api->key != API_BROOK_PREPARE_TXN || s->invalid)
            continue;
        rd r;
        req_header h = {.api_version = (int16_t)s->version};
        if (s->body) {
            rd_init(&r, s->data + 4, s->size - 4);
        } else {
            rd_init(&r, s->data, s->size);
            if (!CHECK(req_header_decode(&r, &h) == 0))
                continue;
        }
        arena a;
        arena_init(&a);
        txn_prepares_req q;
        if (txn_prepares_req_decode(&r, &a, &q, h.api_version) != 0 || r.off != r.len)
            SEED_FAIL("%s: txn_prepares_req_decode stops at byte %zu of %zu", s->file, r.off,
                      r.len);
        else
            CHECK(q.ntxns >= 1);
        arena_free(&a);
        checked++;
    }
    CHECK_EQ_INT(checked, 3 * 2); /* v0 to v2, a body and a request each */
}

static void test_every_version_has_seeds(void)
{
    load_seeds();
    int n = 0;
    const api_info *t = api_table(&n);
    for (int i = 0; i < n; i++) {
        for (int v = t[i].min_version; v <= t[i].max_version; v++) {
            bool body = false, request = false;
            for (int k = 0; k < g_nseeds; k++) {
                const seed *s = &g_seeds[k];
                if (s->api == &t[i] && s->version == v && !s->invalid) {
                    body = body || s->body;
                    request = request || !s->body;
                }
            }
            if (!body || !request)
                SEED_FAIL("%s v%d: no %s seed (run tests/fuzz/gen_corpus.py)", t[i].name, v,
                          body ? "request" : "body");
        }
    }
}

/* Every seed through the fuzz target itself: it aborts when one of its invariants fails. */
static void test_fuzz_target_invariants(void)
{
    load_seeds();
    for (int i = 0; i < g_nseeds; i++)
        CHECK_EQ_INT(LLVMFuzzerTestOneInput(g_seeds[i].data, g_seeds[i].size), 0);
}

TU_MAIN(TU_CASE(test_seed_names_and_selection), TU_CASE(test_seeds_decode),
        TU_CASE(test_prepare_txn_seeds_with_their_decoder), TU_CASE(test_every_version_has_seeds),
        TU_CASE(test_fuzz_target_invariants))
