#!/usr/bin/python3
"""Dynamic broker configs (issue #10, point 7): AlterConfigs and IncrementalAlterConfigs of a
BROKER resource change a running brookd, DescribeConfigs says where each value comes from,
and the change survives restarts. confluent-kafka's AdminClient for DescribeConfigs and
AlterConfigs, raw IncrementalAlterConfigs v1 (raw_kafka.py) for the exact error codes.

1. IncrementalAlterConfigs SET of this broker's log.retention.ms and background.threads
   (a key Kafka has and Brook only keeps): DescribeConfigs shows both with source
   DYNAMIC_BROKER_CONFIG and not read-only; static keys stay STATIC_BROKER_CONFIG and
   read-only; a topic without its own retention.ms now reports the new default.
2. Applied at once: message.max.bytes=2000 refuses a 3000-byte batch (MESSAGE_TOO_LARGE) that
   was accepted before; DELETE brings the static value back and the batch passes.
   log.retention.bytes=2500 on a topic of many small segments makes retention (run every
   200 ms here) drop the oldest segments: the log start offset moves past 0.
   compression.type=zstd: a topic without its own follows it and stores an uncompressed
   batch zstd; a codec Kafka does not know is INVALID_CONFIG; DELETE brings producer back.
3. Refused, nothing changed: a static key (log.dirs: INVALID_REQUEST), an unknown key and a
   bad value (INVALID_CONFIG), APPEND on a key that is not a list (INVALID_CONFIG), another
   broker's id (INVALID_REQUEST); validate_only checks and changes nothing.
4. The cluster-wide default (resource ""): AlterConfigs sets log.retention.ms there;
   DescribeConfigs of "" lists only the defaults (DYNAMIC_DEFAULT_BROKER_CONFIG); this
   broker's own value still wins until it is deleted, then the default shows.
   AlterConfigs replaces a resource's whole set (a key not given is removed).
5. A clean restart and a SIGKILL keep every dynamic value (and its source); the file the
   broker writes (dynamic-configs.properties) holds them."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main, wait_until  # noqa: E402
from raw_kafka import (Conn, Reader, describe_broker_configs,  # noqa: E402
                       incremental_alter_configs, record_batch, s16)

from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402

NONE = 0
MESSAGE_TOO_LARGE = 10
INVALID_REQUEST = 42
INVALID_CONFIG = 40
SRC_DYNAMIC_BROKER = 2
SRC_DYNAMIC_DEFAULT = 3
SRC_STATIC = 4
SET, DELETE, APPEND = 0, 1, 2
BROKER = 4


def log(msg):
    print(f"[dynamic_configs] {msg}", flush=True)


def incalter(conn, name, ops, validate_only=False):
    return incremental_alter_configs(conn, 4, name, ops, validate_only)


def alter_all(conn, name, configs):
    """AlterConfigs v0 (non-incremental) of BROKER resource `name` -> (error, message)."""
    body = (struct.pack(">i", 1) + bytes([BROKER]) + s16(name) + struct.pack(">i", len(configs))
            + b"".join(s16(k) + s16(v) for k, v in configs.items()) + b"\x00")
    r, _ = conn.request(33, 0, body, "AlterConfigs v0")
    rd = Reader(r)
    rd.take(">i")
    assert rd.take(">i") == 1
    err, msg = rd.take(">h"), rd.string()
    return err, msg


def topic_config(admin, topic, key):
    res = ConfigResource("topic", topic)
    return admin.describe_configs([res], request_timeout=10)[res].result(10)[key].value


def produce_raw(conn, topic, size):
    """One batch of one record of `size` value bytes, acks=1 -> error."""
    err, _, _ = conn.produce(topic, 0, record_batch(-1, -1, -1, [b"x" * size]), acks=1)
    return err


def earliest(conn, topic):
    err, off = conn.list_offset(topic, 0, timestamp=-2)
    assert err == NONE, f"ListOffsets earliest: error {err}"
    return off


def main():
    ck = Check("dynamic_configs")
    cfg = {"log.retention.check.interval.ms": 200, "num.partitions": 1}
    with Broker(name="dyncfg", config=cfg) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "socket.timeout.ms": 10000})
        conn = Conn(b.bootstrap, answer_within=15)
        me = "1"  # the harness's node.id
        try:
            ck.eq(conn.create_topic("dyn-t", 1), NONE, "CreateTopics dyn-t")
            before = topic_config(admin, "dyn-t", "retention.ms")
            ck.eq(before, "604800000", "dyn-t's retention.ms before (168 hours)")

            # 1. IncrementalAlterConfigs SET on this broker.
            ck.eq(incalter(conn, me, [("log.retention.ms", SET, "3600000"),
                                      ("background.threads", SET, "4")]),
                  (NONE, None), "SET log.retention.ms and background.threads")
            d = describe_broker_configs(conn, me)
            ck.eq(d.get("log.retention.ms"), ("3600000", SRC_DYNAMIC_BROKER, False),
                  "log.retention.ms: (value, source, read-only)")
            ck.eq(d.get("background.threads"), ("4", SRC_DYNAMIC_BROKER, False),
                  "background.threads: kept and described")
            ck.eq(d.get("log.dirs", (None, None, None))[1:], (SRC_STATIC, True),
                  "log.dirs: static and read-only")
            ck.eq(d.get("message.max.bytes", (None, None, None))[1:], (SRC_STATIC, False),
                  "message.max.bytes: static until set, but dynamic")
            ck.eq(topic_config(admin, "dyn-t", "retention.ms"), "3600000",
                  "a topic without its own retention.ms follows the new default")

            # 2. Applied at once.
            ck.eq(produce_raw(conn, "dyn-t", 3000), NONE, "a 3000-byte batch before")
            ck.eq(incalter(conn, me, [("message.max.bytes", SET, "2000")]), (NONE, None),
                  "SET message.max.bytes=2000")
            ck.eq(produce_raw(conn, "dyn-t", 3000), MESSAGE_TOO_LARGE,
                  "a 3000-byte batch with message.max.bytes=2000")
            ck.eq(incalter(conn, me, [("message.max.bytes", DELETE, None)]), (NONE, None),
                  "DELETE message.max.bytes")
            ck.eq(describe_broker_configs(conn, me)["message.max.bytes"], ("1048588", SRC_STATIC, False),
                  "message.max.bytes back to its static value")
            ck.eq(produce_raw(conn, "dyn-t", 3000), NONE, "a 3000-byte batch again")

            ck.eq(create_small_segments(admin, "dyn-ret"), None, "CreateTopics dyn-ret "
                  "(segment.bytes=1024)")
            for i in range(40):
                ck.eq(produce_raw(conn, "dyn-ret", 200), NONE, f"dyn-ret batch {i}")
            ck.eq(earliest(conn, "dyn-ret"), 0, "dyn-ret's log start before")
            ck.eq(incalter(conn, me, [("log.retention.bytes", SET, "2500")]), (NONE, None),
                  "SET log.retention.bytes=2500")
            wait_until(lambda: earliest(conn, "dyn-ret") > 0, 15,
                       what="retention to drop dyn-ret's oldest segments")
            start = earliest(conn, "dyn-ret")
            ck(start > 0, f"dyn-ret's log start moved to {start} (retention applied the "
                          "new log.retention.bytes)")
            ck.eq(incalter(conn, me, [("log.retention.bytes", DELETE, None)]), (NONE, None),
                  "DELETE log.retention.bytes")

            # the topics' default codec: a topic without its own compression.type follows it,
            # and an uncompressed batch is stored zstd from then on
            ck.eq(topic_config(admin, "dyn-t", "compression.type"), "producer",
                  "dyn-t's compression.type before")
            ck.eq(incalter(conn, me, [("compression.type", SET, "zstd"),
                                      ("unclean.leader.election.enable", SET, "false")]),
                  (NONE, None), "SET compression.type=zstd (and a key Brook only keeps)")
            ck.eq(topic_config(admin, "dyn-t", "compression.type"), "zstd",
                  "dyn-t follows the broker's compression.type")
            end = conn.list_offset("dyn-t", 0)[1]
            ck.eq(produce_raw(conn, "dyn-t", 500), NONE, "an uncompressed batch")
            got = conn.fetch("dyn-t", 0, end, compressed_ok=True)["batches"]
            ck.eq([bt["attributes"] & 7 for bt in got], [4], "stored zstd (codec 4)")
            ck.eq(incalter(conn, me, [("compression.type", SET, "brotli")])[0],
                  INVALID_CONFIG, "compression.type=brotli refused")
            ck.eq(incalter(conn, me, [("compression.type", DELETE, None),
                                      ("unclean.leader.election.enable", DELETE, None)]),
                  (NONE, None), "DELETE compression.type")
            ck.eq(topic_config(admin, "dyn-t", "compression.type"), "producer",
                  "dyn-t's compression.type back to producer")

            # 3. Refused; nothing changed.
            snapshot = describe_broker_configs(conn, me)
            for ops, want, what in (
                    ([("log.dirs", SET, "/x")], INVALID_REQUEST, "a static key"),
                    ([("no.such.key", SET, "1")], INVALID_CONFIG, "an unknown key"),
                    ([("log.retention.ms", SET, "abc")], INVALID_CONFIG, "a bad value"),
                    ([("log.retention.ms", SET, "-7")], INVALID_CONFIG, "out of range"),
                    ([("log.retention.ms", APPEND, "1")], INVALID_CONFIG, "APPEND, no list"),
                    ([("background.threads", SET, "0")], INVALID_CONFIG, "threads below 1")):
                err, msg = incalter(conn, me, ops)
                ck.eq(err, want, f"{what}: error")
                ck(msg and ops[0][0] in msg, f"{what}: the message names the key: {msg!r}")
            err, msg = incalter(conn, "99", [("log.retention.ms", SET, "1000")])
            ck.eq(err, INVALID_REQUEST, f"another broker's id ({msg})")
            ck.eq(incalter(conn, me, [("log.retention.ms", SET, "1000")], validate_only=True),
                  (NONE, None), "validate_only")
            ck.eq(describe_broker_configs(conn, me), snapshot, "nothing changed by the refused requests")

            # 4. The cluster-wide default.
            ck.eq(alter_all(conn, "", {"log.retention.ms": "7200000",
                                        "log.roll.ms": "600000"}), (NONE, None),
                  "AlterConfigs of the cluster-wide default")
            dd = describe_broker_configs(conn, "")
            ck.eq(dd, {"log.retention.ms": ("7200000", SRC_DYNAMIC_DEFAULT, False),
                       "log.roll.ms": ("600000", SRC_DYNAMIC_DEFAULT, False)},
                  "DescribeConfigs of \"\": only the dynamic defaults")
            d = describe_broker_configs(conn, me)
            ck.eq(d["log.retention.ms"][:2], ("3600000", SRC_DYNAMIC_BROKER),
                  "this broker's value wins over the default")
            ck.eq(d["log.roll.ms"][:2], ("600000", SRC_DYNAMIC_DEFAULT),
                  "a key only in the default comes from it")
            ck.eq(incalter(conn, me, [("log.retention.ms", DELETE, None)]), (NONE, None),
                  "DELETE this broker's log.retention.ms")
            ck.eq(describe_broker_configs(conn, me)["log.retention.ms"][:2], ("7200000", SRC_DYNAMIC_DEFAULT),
                  "now the default shows")
            ck.eq(topic_config(admin, "dyn-t", "retention.ms"), "7200000",
                  "and the topic follows it")
            ck.eq(alter_all(conn, "", {"log.retention.ms": "7200000"}), (NONE, None),
                  "AlterConfigs of the default without log.roll.ms")
            ck.eq(sorted(describe_broker_configs(conn, "")), ["log.retention.ms"],
                  "AlterConfigs replaced the default's whole set")
        finally:
            conn.close()

        # 5. Restarts keep them.
        with Conn(b.bootstrap, answer_within=15) as c2:
            want = {k: v for k, v in describe_broker_configs(c2, me).items()
                    if v[1] in (SRC_DYNAMIC_BROKER, SRC_DYNAMIC_DEFAULT)}
        ck.eq(sorted(want), ["background.threads", "log.retention.ms"],
              "the dynamic values before the restarts")
        path = os.path.join(b.data_dir, "dynamic-configs.properties")
        with open(path) as fh:
            text = fh.read()
        ck("broker/background.threads=4" in text and "default/log.retention.ms=7200000" in text,
           f"{path} holds them: {text!r}")
        for how in ("clean restart", "SIGKILL"):
            if how == "clean restart":
                b.restart()
            else:
                b.kill()
                b.start()
            admin = AdminClient({"bootstrap.servers": b.bootstrap, "socket.timeout.ms": 10000})
            with Conn(b.bootstrap, answer_within=15) as c2:
                got = {k: v for k, v in describe_broker_configs(c2, me).items()
                       if v[1] in (SRC_DYNAMIC_BROKER, SRC_DYNAMIC_DEFAULT)}
            ck.eq(got, want, f"after a {how}: the same dynamic values and sources")
            ck.eq(topic_config(admin, "dyn-t", "retention.ms"), "7200000",
                  f"after a {how}: the topic default from the dynamic default")
    ck.done()
    return 0


def create_small_segments(admin, name):
    from confluent_kafka.admin import NewTopic
    fut = admin.create_topics([NewTopic(name, 1, 1, config={"segment.bytes": "1024"})],
                              operation_timeout=10)[name]
    try:
        fut.result(15)
        return None
    except Exception as e:
        return e.args[0].code()


if __name__ == "__main__":
    run_main(main)
