/* test_broker_dynconfig.c - dynamic broker configs without a broker (broker/dynconfig.h):
 * which keys are dynamic, the checks and their error codes, the precedence this broker >
 * cluster default > static, dyn_apply into a broker_config (derived retention included),
 * the text form's round trip, and a text that does not load. */
#include <stdlib.h>
#include <string.h>

#include "broker/config.h"
#include "broker/dynconfig.h"
#include "proto/errors.h"
#include "testutil.h"

static void test_keys_and_checks(void)
{
    char msg[300];
    CHECK(dyn_is_dynamic("log.retention.ms"));
    CHECK(dyn_is_dynamic("background.threads"));
    CHECK(!dyn_is_dynamic("log.dirs"));
    CHECK(dyn_stored_reason("background.threads") != NULL);
    CHECK(dyn_stored_reason("log.retention.ms") == NULL);
    CHECK_EQ_INT(dyn_check("log.retention.ms", "3600000", msg, sizeof(msg)), KERR_NONE);
    CHECK_EQ_INT(dyn_check("log.retention.ms", "abc", msg, sizeof(msg)), KERR_INVALID_CONFIG);
    CHECK(strstr(msg, "log.retention.ms") != NULL);
    CHECK_EQ_INT(dyn_check("log.retention.ms", "-3", msg, sizeof(msg)), KERR_INVALID_CONFIG);
    CHECK_EQ_INT(dyn_check("log.message.timestamp.type", "LogAppendTime", msg, sizeof(msg)),
                 KERR_NONE);
    CHECK_EQ_INT(dyn_check("log.message.timestamp.type", "Wall", msg, sizeof(msg)),
                 KERR_INVALID_CONFIG);
    CHECK_EQ_INT(dyn_check("log.dirs", "/x", msg, sizeof(msg)), KERR_INVALID_REQUEST);
    CHECK(strstr(msg, "log.dirs") != NULL);
    CHECK_EQ_INT(dyn_check("no.such.key", "1", msg, sizeof(msg)), KERR_INVALID_CONFIG);
    CHECK_EQ_INT(dyn_check("background.threads", "0", msg, sizeof(msg)), KERR_INVALID_CONFIG);
    CHECK_EQ_INT(dyn_check("background.threads", "8", msg, sizeof(msg)), KERR_NONE);
    CHECK_EQ_INT(dyn_check("log.cleaner.min.cleanable.ratio", "0.5", msg, sizeof(msg)),
                 KERR_NONE);
    CHECK_EQ_INT(dyn_check("log.cleaner.min.cleanable.ratio", "1.5", msg, sizeof(msg)),
                 KERR_INVALID_CONFIG);
    CHECK_EQ_INT(dyn_check("sasl.kerberos.service.name", "", msg, sizeof(msg)),
                 KERR_INVALID_CONFIG);
    for (size_t i = 0; i < dyn_applied_count(); i++)
        CHECK(dyn_is_dynamic(dyn_applied_key(i)) && !dyn_stored_reason(dyn_applied_key(i)));
}

static void test_precedence_and_apply(void)
{
    broker_config cfg;
    broker_config_init(&cfg);
    char err[300];
    CHECK_EQ_INT(broker_config_set(&cfg, "log.retention.hours", "24", err, sizeof(err)), 0);
    broker_config_resolve(&cfg);
    CHECK_EQ_INT(cfg.retention_ms_resolved, 24 * 3600000LL);
    dynconfig d;
    if (!CHECK_EQ_INT(dyn_init(&d, &cfg), 0))
        return;
    CHECK_EQ_INT(dyn_set(&d, DYN_DEFAULT, "log.retention.ms", "7200000"), 0);
    CHECK_EQ_INT(dyn_set(&d, DYN_DEFAULT, "message.max.bytes", "5000"), 0);
    CHECK_EQ_INT(dyn_set(&d, DYN_BROKER, "log.retention.ms", "3600000"), 0);
    CHECK_EQ_INT(dyn_apply(&d, &cfg, err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.retention_ms_resolved, 3600000); /* this broker's value wins */
    CHECK_EQ_INT(cfg.message_max_bytes, 5000);        /* only in the default */
    CHECK_EQ_INT(dyn_set(&d, DYN_BROKER, "log.retention.ms", NULL), 0);
    CHECK_EQ_INT(dyn_apply(&d, &cfg, err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.retention_ms_resolved, 7200000); /* then the default */
    dyn_clear(&d, DYN_DEFAULT);
    CHECK_EQ_INT(dyn_apply(&d, &cfg, err, sizeof(err)), 0);
    CHECK_EQ_INT(cfg.retention_ms_resolved, 24 * 3600000LL); /* then the static value */
    CHECK_EQ_INT(cfg.message_max_bytes, 1048588);
    CHECK(dyn_get(&d, DYN_DEFAULT, "log.retention.ms") == NULL);
    dyn_free(&d);
    broker_config_free(&cfg);
}

static void test_text_round_trip(void)
{
    broker_config cfg;
    broker_config_init(&cfg);
    dynconfig d, e;
    if (!CHECK_EQ_INT(dyn_init(&d, &cfg), 0) || !CHECK_EQ_INT(dyn_init(&e, &cfg), 0))
        return;
    dyn_set(&d, DYN_BROKER, "background.threads", "4");
    dyn_set(&d, DYN_BROKER, "sasl.kerberos.principal.to.local.rules", "RULE:[1:$1]\\x");
    dyn_set(&d, DYN_DEFAULT, "log.roll.ms", "600000");
    size_t len;
    char *text = dyn_encode(&d, &len);
    if (!CHECK(text != NULL))
        return;
    CHECK_EQ_INT(len, strlen(text));
    char err[300];
    CHECK_EQ_INT(dyn_load_text(&e, text, err, sizeof(err)), 0);
    CHECK(dyn_get(&e, DYN_BROKER, "background.threads") &&
          strcmp(dyn_get(&e, DYN_BROKER, "background.threads"), "4") == 0);
    const char *rules = dyn_get(&e, DYN_BROKER, "sasl.kerberos.principal.to.local.rules");
    CHECK(rules && strcmp(rules, "RULE:[1:$1]\\x") == 0); /* the backslash survives */
    CHECK(dyn_get(&e, DYN_DEFAULT, "log.roll.ms") &&
          strcmp(dyn_get(&e, DYN_DEFAULT, "log.roll.ms"), "600000") == 0);
    CHECK_EQ_INT(e.scope[DYN_BROKER].n, 2);
    CHECK_EQ_INT(e.scope[DYN_DEFAULT].n, 1);
    free(text);
    /* A text that does not load names the problem and the key. */
    CHECK(dyn_load_text(&e, "broker/log.dirs=/x\n", err, sizeof(err)) != 0);
    CHECK(strstr(err, "log.dirs") != NULL);
    CHECK(dyn_load_text(&e, "somewhere/log.roll.ms=1\n", err, sizeof(err)) != 0);
    CHECK(dyn_load_text(&e, "default/log.roll.ms=x\n", err, sizeof(err)) != 0);
    dyn_free(&d);
    dyn_free(&e);
    broker_config_free(&cfg);
}

/* One scope at a time (a cluster: this broker's in its file, the defaults in ZooKeeper):
 * encode writes only the masked scopes; load replaces only those and skips the others'
 * lines (even ones that would not load). */
static void test_scopes(void)
{
    dynconfig d = {0};
    dyn_set(&d, DYN_BROKER, "background.threads", "4");
    dyn_set(&d, DYN_DEFAULT, "log.roll.ms", "600000");
    size_t len;
    char *mine = dyn_encode_scopes(&d, 1u << DYN_BROKER, &len);
    char *shared = dyn_encode_scopes(&d, 1u << DYN_DEFAULT, &len);
    if (CHECK(mine && shared)) {
        CHECK(strstr(mine, "broker/background.threads=4") && !strstr(mine, "default/"));
        CHECK(strstr(shared, "default/log.roll.ms=600000") && !strstr(shared, "broker/"));
    }
    char err[300];
    CHECK_EQ_INT(dyn_load_scopes(&d, 1u << DYN_DEFAULT,
                                 "broker/log.dirs=/x\ndefault/log.retention.ms=5\n", err,
                                 sizeof(err)),
                 0);
    CHECK(dyn_get(&d, DYN_BROKER, "background.threads") != NULL); /* untouched */
    CHECK(dyn_get(&d, DYN_DEFAULT, "log.roll.ms") == NULL);         /* replaced */
    CHECK(dyn_get(&d, DYN_DEFAULT, "log.retention.ms") &&
          strcmp(dyn_get(&d, DYN_DEFAULT, "log.retention.ms"), "5") == 0);
    CHECK(dyn_get(&d, DYN_BROKER, "log.dirs") == NULL); /* skipped, not refused */
    CHECK(dyn_load_scopes(&d, 1u << DYN_DEFAULT, "default/log.roll.ms=x\n", err,
                          sizeof(err)) != 0);
    free(mine);
    free(shared);
    dyn_free(&d);
}

TU_MAIN(TU_CASE(test_keys_and_checks), TU_CASE(test_precedence_and_apply),
        TU_CASE(test_text_round_trip), TU_CASE(test_scopes))
