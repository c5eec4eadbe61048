/*
 * test_cluster_topic_ids.c - where topic ids come from and where they are kept
 * (cluster/metadata.h, cluster/view.h).
 *
 * New ids: 16 random bytes made a version-4 UUID, never the zero UUID (Kafka's "no id"),
 * never one whose base64 form starts with '-', all different. The single-node registry
 * (topics.meta) keeps each topic's id across a save and a load; a registry written before
 * topic ids (lines without the id) or with a zero id loads with no id, md_assign_missing_ids
 * gives those topics one once, and the next load keeps it; a malformed id or two topics
 * with one id is refused. The id index follows md_set_id and md_remove. The topic znode
 * keeps the id through its JSON, and "id_assigned" (an id the controller gave a topic that
 * had none); a znode without "id" parses with the zero id, one with a malformed id is
 * refused; cv_topic_find_id finds a topic of a view by id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/metadata.h"
#include "cluster/view.h"
#include "testutil.h"

static void test_new_ids(void)
{
    enum { N = 2000 };
    static uint8_t ids[N][16];
    for (int i = 0; i < N; i++) {
        if (!CHECK_EQ_INT(md_new_id(ids[i]), 0))
            return;
        CHECK(!md_id_is_zero(ids[i]));
        CHECK_EQ_INT(ids[i][6] >> 4, 4);    /* version 4 */
        CHECK_EQ_INT(ids[i][8] >> 6, 2);    /* RFC 4122 variant */
        CHECK(ids[i][0] >> 2 != 62);        /* base64url would start with '-' */
    }
    int same = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < i; k++)
            same += memcmp(ids[i], ids[k], 16) == 0;
    CHECK_EQ_INT(same, 0);
    /* The 122 random bits are random: every bit position takes both values. */
    int ones[128] = {0};
    for (int i = 0; i < N; i++)
        for (int bit = 0; bit < 128; bit++)
            ones[bit] += (ids[i][bit / 8] >> (7 - bit % 8)) & 1;
    int constant = 0;
    for (int bit = 0; bit < 128; bit++)
        constant += ones[bit] == 0 || ones[bit] == N;
    CHECK_EQ_INT(constant, 6); /* the 4 version bits and the 2 variant bits */
    uint8_t zero[16] = {0};
    CHECK(md_id_is_zero(zero));
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/brook-topic-ids-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void write_file(const char *dir, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/topics.meta", dir);
    FILE *f = fopen(path, "w");
    if (!CHECK(f != NULL))
        return;
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/topics.meta", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void remove_dir(char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/topics.meta", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/topics.meta.tmp", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void test_registry_keeps_ids(void)
{
    char *dir = make_dir();
    if (!CHECK(dir != NULL))
        return;
    char err[256];
    metadata md;
    if (!CHECK_EQ_INT(md_load(&md, dir, err, sizeof(err)), 0))
        return;
    topic *a = md_add(&md, "alpha", 3, 0, NULL, NULL);
    topic *b = md_add(&md, "beta", 1, 0, NULL, NULL);
    if (!CHECK(a && b))
        return;
    CHECK(!md_id_is_zero(a->id) && !md_id_is_zero(b->id));
    CHECK(memcmp(a->id, b->id, 16) != 0);
    CHECK(md_find_id(&md, a->id) == a);
    CHECK(md_find_id(&md, b->id) == b);
    uint8_t ida[16], idb[16];
    memcpy(ida, a->id, 16);
    memcpy(idb, b->id, 16);
    CHECK_EQ_INT(md_save(&md), 0);
    md_free(&md);

    if (!CHECK_EQ_INT(md_load(&md, dir, err, sizeof(err)), 0))
        return;
    a = md_find(&md, kslice_cstr("alpha"));
    b = md_find(&md, kslice_cstr("beta"));
    if (CHECK(a && b)) {
        CHECK_EQ_MEM(a->id, ida, 16);
        CHECK_EQ_MEM(b->id, idb, 16);
        CHECK(md_find_id(&md, ida) == a);
        CHECK_EQ_INT(md_assign_missing_ids(&md), 0); /* every topic has one */
        CHECK_EQ_MEM(a->id, ida, 16);
    }

    /* Deleted and recreated: a new id, and the old one finds nothing. */
    md_remove(&md, a);
    CHECK(md_find_id(&md, ida) == NULL);
    a = md_add(&md, "alpha", 3, 0, NULL, NULL);
    if (CHECK(a != NULL)) {
        CHECK(memcmp(a->id, ida, 16) != 0);
        CHECK(md_find_id(&md, a->id) == a);
        CHECK(md_find_id(&md, ida) == NULL);
    }

    /* md_set_id moves the index; an id another topic has is refused; zero: no id. */
    uint8_t fresh[16];
    md_new_id(fresh);
    uint8_t before[16];
    memcpy(before, b->id, 16);
    CHECK_EQ_INT(md_set_id(&md, b, fresh), 0);
    CHECK(md_find_id(&md, fresh) == b && md_find_id(&md, before) == NULL);
    CHECK_EQ_INT(md_set_id(&md, b, a->id), -1);
    CHECK_EQ_MEM(b->id, fresh, 16);
    uint8_t zero[16] = {0};
    CHECK_EQ_INT(md_set_id(&md, b, zero), 0);
    CHECK(md_find_id(&md, zero) == NULL && md_find_id(&md, fresh) == NULL);
    md_free(&md);
    remove_dir(dir);
}

static void test_registry_without_ids(void)
{
    char *dir = make_dir();
    if (!CHECK(dir != NULL))
        return;
    /* A registry from before topic ids, a zero id, and one topic that has its id. */
    write_file(dir, "# brook topic registry v1: written atomically, do not edit by hand\n"
                    "topic old 2\n"
                    "config old retention.ms 1000\n"
                    "topic zeroed 00000000000000000000000000000000 1\n"
                    "topic kept 0123456789abcdef0123456789abcdef 4\n");
    char err[256];
    metadata md;
    if (!CHECK_EQ_INT(md_load(&md, dir, err, sizeof(err)), 0)) {
        printf("  (%s)\n", err);
        return;
    }
    topic *o = md_find(&md, kslice_cstr("old"));
    topic *z = md_find(&md, kslice_cstr("zeroed"));
    topic *k = md_find(&md, kslice_cstr("kept"));
    if (!CHECK(o && z && k))
        return;
    CHECK_EQ_INT(o->npartitions, 2);
    CHECK_EQ_INT(o->nconfigs, 1);
    CHECK(md_id_is_zero(o->id) && md_id_is_zero(z->id));
    static const uint8_t kid[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    CHECK_EQ_MEM(k->id, kid, 16);
    CHECK(md_find_id(&md, kid) == k);
    CHECK_EQ_INT(md_assign_missing_ids(&md), 2);
    CHECK(!md_id_is_zero(o->id) && !md_id_is_zero(z->id));
    CHECK_EQ_INT(o->id[6] >> 4, 4);
    CHECK_EQ_MEM(k->id, kid, 16); /* an id it had is kept */
    CHECK_EQ_INT(md_assign_missing_ids(&md), 0);
    uint8_t oid[16], zid[16];
    memcpy(oid, o->id, 16);
    memcpy(zid, z->id, 16);
    CHECK_EQ_INT(md_save(&md), 0);
    md_free(&md);

    const char *text = read_file(dir);
    char want[128];
    snprintf(want, sizeof(want), "topic old ");
    CHECK(text && strstr(text, want) && !strstr(text, "topic old 2\n"));
    if (!CHECK_EQ_INT(md_load(&md, dir, err, sizeof(err)), 0))
        return;
    o = md_find(&md, kslice_cstr("old"));
    z = md_find(&md, kslice_cstr("zeroed"));
    if (CHECK(o && z)) {
        CHECK_EQ_MEM(o->id, oid, 16); /* given once, kept from then on */
        CHECK_EQ_MEM(z->id, zid, 16);
        CHECK_EQ_INT(md_assign_missing_ids(&md), 0);
        CHECK_EQ_INT(o->nconfigs, 1);
    }
    md_free(&md);

    /* Refused: a malformed id, an id two topics share, a line with too much. */
    static const char *bad[] = {
        "topic a 0123456789abcdef0123456789abcdeg 1\n",
        "topic a 0123456789ABCDEF0123456789ABCDEF 1\n",
        "topic a 0123 1\n",
        ("topic a 0123456789abcdef0123456789abcdef 1\n"
         "topic b 0123456789abcdef0123456789abcdef 1\n"), /* two lines, one shared id */
        "topic a 0123456789abcdef0123456789abcdef 1 9\n",
        "topic a\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(dir, bad[i]);
        metadata m2;
        if (!CHECK(md_load(&m2, dir, err, sizeof(err)) != 0))
            printf("  (accepted: %s)\n", bad[i]);
        md_free(&m2);
    }
    remove_dir(dir);
}

static cv_topic *znode_topic(const char *json)
{
    cv_topic *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->name = strdup("z");
    if (cv_topic_parse(json, strlen(json), t) != 0) {
        cv_topic_free(t);
        return NULL;
    }
    return t;
}

static void test_znode_ids(void)
{
    /* Written before topic ids: no "id". */
    cv_topic *t = znode_topic("{\"version\":1,\"replicas\":[[1,2],[2,3]],\"configs\":{}}");
    if (CHECK(t != NULL)) {
        uint8_t zero[16] = {0};
        CHECK_EQ_MEM(t->id, zero, 16);
        CHECK(!t->id_assigned);
        CHECK_EQ_INT(t->nparts, 2);
        char *json = cv_topic_json(t);
        CHECK(json && !strstr(json, "id_assigned"));
        free(json);
        /* The controller gives it one, marked as given; the znode keeps both. */
        CHECK_EQ_INT(md_new_id(t->id), 0);
        t->id_assigned = true;
        json = cv_topic_json(t);
        cv_topic *u = json ? znode_topic(json) : NULL;
        if (CHECK(u != NULL)) {
            CHECK_EQ_MEM(u->id, t->id, 16);
            CHECK(u->id_assigned);
            CHECK_EQ_INT(u->nparts, 2);
        }
        cv_topic_free(u);
        free(json);

        cluster_view *v = cv_new();
        if (CHECK(v != NULL)) {
            HASH_ADD_KEYPTR(hh, v->topics, t->name, strlen(t->name), t);
            CHECK(cv_topic_find_id(v, t->id) == t);
            uint8_t other[16];
            md_new_id(other);
            CHECK(cv_topic_find_id(v, other) == NULL);
            CHECK(cv_topic_find_id(v, zero) == NULL);
            CHECK(cv_topic_find_id(NULL, t->id) == NULL);
            cv_unref(v); /* frees t */
        } else {
            cv_topic_free(t);
        }
    }
    /* A malformed id is still refused. */
    CHECK(znode_topic("{\"id\":\"xyz\",\"replicas\":[[1]]}") == NULL);
    CHECK(znode_topic("{\"id\":7,\"replicas\":[[1]]}") == NULL);
    t = znode_topic("{\"id\":\"000102030405060708090a0b0c0d0e0f\",\"replicas\":[[1]]}");
    if (CHECK(t != NULL))
        CHECK_EQ_INT(t->id[15], 0x0f);
    cv_topic_free(t);
}

TU_MAIN(TU_CASE(test_new_ids), TU_CASE(test_registry_keeps_ids),
        TU_CASE(test_registry_without_ids), TU_CASE(test_znode_ids))
