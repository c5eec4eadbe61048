/* test_broker_quota.c - the client quota module (broker/quota.h) with an injected clock: the
 * rate window, Kafka's throttle time, the precedence of quota entities and the text form. */
#include <stdlib.h>

#include "broker/quota.h"
#include "testutil.h"

/* Kafka's Rate: with no full samples yet the window counts as samples - 1 whole samples. */
static void test_window_min_size(void)
{
    quota_window w = {0};
    quota_window_record(&w, 11, 1000, 5000, 10000);
    CHECK_EQ_INT(quota_window_ms(&w, 11, 1000, 5000), 10000);
    CHECK(quota_window_rate(&w, 11, 1000, 5000) == 1000.0);
    /* 2.5 s later: still under 10 full samples, so 10 s plus the partial half */
    CHECK_EQ_INT(quota_window_ms(&w, 11, 1000, 7500), 10500);
}

static void test_window_rolls_and_expires(void)
{
    quota_window w = {0};
    for (int s = 0; s < 30; s++) /* 1000 bytes every second for 30 s */
        quota_window_record(&w, 11, 1000, s * 1000, 1000);
    /* 11 samples kept, the oldest started 10 s ago: 11000 bytes over 10 s */
    CHECK_EQ_INT(quota_window_ms(&w, 11, 1000, 29000), 10000);
    CHECK(quota_window_rate(&w, 11, 1000, 29000) == 1100.0);
    /* silence for a whole window: every sample is obsolete, the rate drops to 0 */
    CHECK(quota_window_rate(&w, 11, 1000, 29000 + 11000) == 0.0);
}

static void test_throttle_time(void)
{
    CHECK_EQ_INT(quota_throttle_ms(100, 100, 10000), 0);
    CHECK_EQ_INT(quota_throttle_ms(50, 100, 10000), 0);
    /* twice the bound over 10 s: wait another 10 s for the rate to come down */
    CHECK_EQ_INT(quota_throttle_ms(200, 100, 10000), 10000);
    CHECK_EQ_INT(quota_throttle_ms(150, 100, 2000), 1000);
    CHECK_EQ_INT(quota_throttle_ms(1e30, 1, 10000), INT32_MAX);
    CHECK_EQ_INT(quota_throttle_ms(1, 0, 10000), 10000);
}

static void test_record_throttles_over_the_rate(void)
{
    quota_mgr q;
    quota_init(&q, 11, 1000);
    CHECK_EQ_INT(quota_record(&q, "alice", "c1", QUOTA_PRODUCE, 1e6, 0), 0); /* no quota */
    CHECK_EQ_INT(quota_set(&q, QUOTA_ABSENT, NULL, QUOTA_NAME, "greedy", QUOTA_PRODUCE, 1000),
                 0);
    /* 10 s of quota fit in the first window */
    CHECK_EQ_INT(quota_record(&q, "alice", "greedy", QUOTA_PRODUCE, 10000, 0), 0);
    /* 10000 more: 20000 over the 10 s window is twice the rate: 10 s of throttle */
    CHECK_EQ_INT(quota_record(&q, "alice", "greedy", QUOTA_PRODUCE, 10000, 0), 10000);
    /* another client id and the fetch side are not affected */
    CHECK_EQ_INT(quota_record(&q, "alice", "other", QUOTA_PRODUCE, 1e6, 0), 0);
    CHECK_EQ_INT(quota_record(&q, "alice", "greedy", QUOTA_FETCH, 1e6, 0), 0);
    /* a client-id entity is one window for every user of that client id */
    CHECK(quota_record(&q, "bob", "greedy", QUOTA_PRODUCE, 1, 0) > 0);
    /* unrecord takes bytes back: the window is within the rate again */
    quota_unrecord(&q, "alice", "greedy", QUOTA_PRODUCE, 10001, 0);
    CHECK_EQ_INT(quota_record(&q, "alice", "greedy", QUOTA_PRODUCE, 0, 0), 0);
    CHECK(quota_max_in_window(&q, "x", "greedy", QUOTA_PRODUCE) == 10000.0);
    CHECK(quota_max_in_window(&q, "x", "greedy", QUOTA_FETCH) < 0);
    quota_free(&q);
}

/* A default user entity gives every user a window of its own. */
static void test_default_user_windows_are_per_user(void)
{
    quota_mgr q;
    quota_init(&q, 2, 1000);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_ABSENT, NULL, QUOTA_FETCH, 100);
    CHECK_EQ_INT(quota_record(&q, "alice", "a", QUOTA_FETCH, 100, 0), 0);
    CHECK(quota_record(&q, "alice", "b", QUOTA_FETCH, 100, 0) > 0); /* same user */
    CHECK_EQ_INT(quota_record(&q, "bob", "a", QUOTA_FETCH, 100, 0), 0);
    quota_free(&q);
}

static double resolved(const quota_mgr *q, const char *user, const char *client)
{
    return quota_resolve(q, user, client, QUOTA_PRODUCE, NULL);
}

/* Kafka's eight levels, removed one by one from the most specific. */
static void test_precedence(void)
{
    quota_mgr q;
    quota_init(&q, 11, 1000);
    quota_set(&q, QUOTA_ABSENT, NULL, QUOTA_DEFAULT, NULL, QUOTA_PRODUCE, 8);
    quota_set(&q, QUOTA_ABSENT, NULL, QUOTA_NAME, "c", QUOTA_PRODUCE, 7);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_ABSENT, NULL, QUOTA_PRODUCE, 6);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_DEFAULT, NULL, QUOTA_PRODUCE, 5);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_NAME, "c", QUOTA_PRODUCE, 4);
    quota_set(&q, QUOTA_NAME, "u", QUOTA_ABSENT, NULL, QUOTA_PRODUCE, 3);
    quota_set(&q, QUOTA_NAME, "u", QUOTA_DEFAULT, NULL, QUOTA_PRODUCE, 2);
    quota_set(&q, QUOTA_NAME, "u", QUOTA_NAME, "c", QUOTA_PRODUCE, 1);
    quota_set(&q, QUOTA_NAME, "u", QUOTA_NAME, "c", QUOTA_FETCH, 99);
    CHECK(resolved(&q, "u", "c") == 1);
    CHECK(resolved(&q, "v", "c") == 4); /* another user: default user + client */
    CHECK(resolved(&q, "u", "d") == 2); /* another client: user + default client */
    quota_set(&q, QUOTA_NAME, "u", QUOTA_NAME, "c", QUOTA_PRODUCE, -1);
    CHECK(quota_find(&q, QUOTA_NAME, "u", QUOTA_NAME, "c") != NULL); /* the fetch rate stays */
    CHECK(resolved(&q, "u", "c") == 2);
    quota_set(&q, QUOTA_NAME, "u", QUOTA_DEFAULT, NULL, QUOTA_PRODUCE, -1);
    CHECK(resolved(&q, "u", "c") == 3);
    quota_set(&q, QUOTA_NAME, "u", QUOTA_ABSENT, NULL, QUOTA_PRODUCE, -1);
    CHECK(resolved(&q, "u", "c") == 4);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_NAME, "c", QUOTA_PRODUCE, -1);
    CHECK(resolved(&q, "u", "c") == 5);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_DEFAULT, NULL, QUOTA_PRODUCE, -1);
    CHECK(resolved(&q, "u", "c") == 6);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_ABSENT, NULL, QUOTA_PRODUCE, -1);
    CHECK(resolved(&q, "u", "c") == 7);
    quota_set(&q, QUOTA_ABSENT, NULL, QUOTA_NAME, "c", QUOTA_PRODUCE, -1);
    CHECK(resolved(&q, "u", "c") == 8);
    quota_set(&q, QUOTA_ABSENT, NULL, QUOTA_DEFAULT, NULL, QUOTA_PRODUCE, -1);
    CHECK(resolved(&q, "u", "c") < 0);
    CHECK_EQ_INT(q.nentities, 1); /* u/c with its fetch rate */
    quota_free(&q);
}

static void test_keys(void)
{
    CHECK_EQ_INT(quota_key_kind("producer_byte_rate"), QUOTA_PRODUCE);
    CHECK_EQ_INT(quota_key_kind("consumer_byte_rate"), QUOTA_FETCH);
    CHECK_EQ_INT(quota_key_kind("request_percentage"), -1);
    CHECK_EQ_INT(quota_key_kind("bogus"), -2);
}

static void test_text_round_trip(void)
{
    quota_mgr q, r;
    quota_init(&q, 11, 1000);
    quota_init(&r, 11, 1000);
    quota_set(&q, QUOTA_NAME, "al ice%=", QUOTA_NAME, "c\n1", QUOTA_PRODUCE, 1024.5);
    quota_set(&q, QUOTA_DEFAULT, NULL, QUOTA_ABSENT, NULL, QUOTA_FETCH, 0);
    quota_set(&q, QUOTA_ABSENT, NULL, QUOTA_DEFAULT, NULL, QUOTA_PRODUCE, 7);
    size_t len;
    char *text = quota_encode(&q, &len);
    if (!CHECK(text != NULL))
        return;
    char err[160];
    CHECK_EQ_INT(quota_load_text(&r, text, err, sizeof(err)), 0);
    CHECK_EQ_INT(r.nentities, 3);
    CHECK(quota_resolve(&r, "al ice%=", "c\n1", QUOTA_PRODUCE, NULL) == 1024.5);
    CHECK(quota_resolve(&r, "x", "y", QUOTA_FETCH, NULL) == 0);
    CHECK(quota_resolve(&r, "", "y", QUOTA_PRODUCE, NULL) == 7);
    free(text);
    CHECK_EQ_INT(quota_load_text(&r, "# c\n\n- - producer_byte_rate=1\n", err, sizeof(err)),
                 -1);
    CHECK_EQ_STR(err, "line 3: expected '<user> <client-id> <key>=<rate>'");
    CHECK_EQ_INT(quota_load_text(&r, "=a - producer_byte_rate=-1\n", err, sizeof(err)), -1);
    CHECK_EQ_INT(quota_load_text(&r, "=a%zz - producer_byte_rate=1\n", err, sizeof(err)), -1);
    CHECK_EQ_INT(r.nentities, 3); /* a refused text changes nothing */
    quota_free(&q);
    quota_free(&r);
}

TU_MAIN(TU_CASE(test_window_min_size), TU_CASE(test_window_rolls_and_expires),
        TU_CASE(test_throttle_time), TU_CASE(test_record_throttles_over_the_rate),
        TU_CASE(test_default_user_windows_are_per_user), TU_CASE(test_precedence),
        TU_CASE(test_keys), TU_CASE(test_text_round_trip))
