#!/usr/bin/python3
"""python3-confluent-kafka 1.7 (librdkafka 2.0.2) against brookd.

Admin: cluster metadata, create (incl. validate_only, already-exists, invalid name),
list, create_partitions, describe/alter configs, delete + re-create.  Data: produce with
keys, headers (duplicates, empty, null), null/empty/large values and explicit timestamps
over 3 partitions, read back by assign(); watermarks; offsets_for_times; compressed
batches (gzip/snappy/lz4/zstd).  Errors: unknown topic in metadata/delete/describe/
create_partitions, fetch out of range, produce with auto-create disabled.  Persistence of
topics, partition counts, configs and data over a clean restart.  DeleteRecords is checked
only if this confluent-kafka has AdminClient.delete_records (1.7 has not; the C and kafkajs
tests cover it)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, cluster_size, wait_until, run_main  # noqa: E402
from ck_helpers import (consumer, expect_kafka_error, first_message, flush, producer,  # noqa: E402
                        read_partition)

from confluent_kafka import KafkaError, TopicPartition, TIMESTAMP_CREATE_TIME  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic  # noqa: E402

E = KafkaError
# BROOK_TEST_CLUSTER=n: a cluster of nodes 1..n, bootstrapped from node 1.
NODES = cluster_size() or 1
NODE_IDS = range(1, NODES + 1)


def admin_result(futures, timeout=30):
    return {k: f.result(timeout=timeout) for k, f in futures.items()}


def topic_config(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    fs = admin.describe_configs([res], request_timeout=15)
    entries = list(fs.values())[0].result(timeout=30)
    return {k: v.value for k, v in entries.items()}


def build_messages(base_ts):
    """(partition or None, key, value, headers, timestamp) tuples."""
    msgs = []
    for i in range(600):
        hdrs = [("seq", str(i).encode()), ("dup", b"first"), ("dup", b"second")]
        if i % 7 == 0:
            hdrs.append(("empty", b""))
        if i % 11 == 0:
            hdrs.append(("nullh", None))
        key = None if i % 13 == 0 else f"k{i}".encode()
        if i % 17 == 0:
            value = b""
        elif i % 19 == 0:
            value = None
        else:
            value = (f"v{i}-".encode() + bytes(range(256)) * (i % 5))
        msgs.append((i % 3, key, value, hdrs, base_ts + i * 10))
    # keyed messages through the default partitioner
    for i in range(30):
        msgs.append((None, f"keyed-{i}".encode(), f"kv{i}".encode(), [], base_ts + 6000 + i))
    # large value (~300 KiB)
    msgs.append((1, b"big", os.urandom(300 * 1024), [("big", b"1")], base_ts + 7000))
    return msgs


def norm_headers(h):
    return [(k, None if v is None else bytes(v)) for k, v in (h or [])]


def main():
    ck = Check("confluent")
    with Broker(name="ck") as b:
        bs = b.bootstrap
        admin = AdminClient({"bootstrap.servers": bs, "socket.timeout.ms": 10000})

        # ---------------- cluster metadata
        md = admin.list_topics(timeout=10)
        ck.eq(sorted(md.brokers), list(NODE_IDS), "broker ids")
        ck.eq((md.brokers[1].host, md.brokers[1].port), ("127.0.0.1", b.port), "broker address")
        ck(md.controller_id in NODE_IDS, f"controller id {md.controller_id}")
        ck(md.cluster_id, f"cluster id should be set, got {md.cluster_id!r}")

        # ---------------- create topics
        admin_result(admin.create_topics(
            [NewTopic("ck-a", 3, 1), NewTopic("ck-b", 1, 1, config={"retention.ms": "3600000"})],
            operation_timeout=10))
        expect_kafka_error(lambda: admin_result(admin.create_topics([NewTopic("ck-a", 3, 1)])),
                           [E.TOPIC_ALREADY_EXISTS], "create existing topic")
        expect_kafka_error(lambda: admin_result(admin.create_topics([NewTopic("bad/name", 1, 1)])),
                           [E.TOPIC_EXCEPTION], "create topic with invalid name")
        expect_kafka_error(lambda: admin_result(admin.create_topics([NewTopic("ck-rf3", 1, NODES + 2)])),
                           [E.INVALID_REPLICATION_FACTOR],
                           f"create topic with replication factor {NODES + 2} on {NODES} node(s)")
        admin_result(admin.create_topics([NewTopic("ck-validate", 2, 1)], validate_only=True))

        md = admin.list_topics(timeout=10)
        ck("ck-validate" not in md.topics, "validate_only create must not create the topic")
        ck("bad/name" not in md.topics and "ck-rf3" not in md.topics, "failed creates must not create topics")
        for name, n in (("ck-a", 3), ("ck-b", 1)):
            ck(name in md.topics, f"{name} listed")
            t = md.topics[name]
            ck(t.error is None, f"{name} metadata error {t.error}")
            ck.eq(sorted(t.partitions), list(range(n)), f"{name} partitions")
            for p in t.partitions.values():
                ck(p.leader in NODE_IDS, f"{name}/{p.id} leader {p.leader}")
                ck.eq((p.replicas, p.isrs), ([p.leader], [p.leader]), f"{name}/{p.id} replicas/isr")

        # ---------------- create partitions
        admin_result(admin.create_partitions([NewPartitions("ck-b", 2)], operation_timeout=10))
        wait_until(lambda: len(admin.list_topics("ck-b", timeout=10).topics["ck-b"].partitions) == 2, 10,
                   what="ck-b to have 2 partitions")
        ck(True, "create_partitions ck-b -> 2")
        expect_kafka_error(lambda: admin_result(admin.create_partitions([NewPartitions("ck-b", 1)])),
                           [E.INVALID_PARTITIONS], "shrinking partitions")

        # ---------------- configs
        cfg = topic_config(admin, "ck-b")
        ck.eq(cfg.get("retention.ms"), "3600000", "ck-b retention.ms from CreateTopics config")
        res = ConfigResource(ConfigResource.Type.TOPIC, "ck-b", set_config={"retention.ms": "7200000"})
        admin_result(admin.alter_configs([res]))
        ck.eq(topic_config(admin, "ck-b").get("retention.ms"), "7200000", "ck-b retention.ms after alter_configs")
        cfg_a = topic_config(admin, "ck-a")
        ck(len(cfg_a) > 0, "describe_configs of a topic with defaults returns entries")
        res = ConfigResource(ConfigResource.Type.TOPIC, "ck-b", set_config={"no.such.config": "1"})
        expect_kafka_error(lambda: admin_result(admin.alter_configs([res])),
                           [E.INVALID_CONFIG], "alter_configs with an unknown topic config")
        res = ConfigResource(ConfigResource.Type.TOPIC, "ck-b", set_config={"retention.ms": "abc"})
        expect_kafka_error(lambda: admin_result(admin.alter_configs([res])),
                           [E.INVALID_CONFIG], "alter_configs with a non-numeric retention.ms")
        ck.eq(topic_config(admin, "ck-b").get("retention.ms"), "7200000", "failed alter_configs changed nothing")
        expect_kafka_error(
            lambda: admin_result(admin.create_topics([NewTopic("ck-badcfg", 1, 1, config={"retention.ms": "x"})])),
            [E.INVALID_CONFIG], "create_topics with an invalid config value")
        ck("ck-badcfg" not in admin.list_topics(timeout=10).topics, "topic with invalid config not created")
        bres = ConfigResource(ConfigResource.Type.BROKER, "1")
        bcfg = list(admin.describe_configs([bres], request_timeout=15).values())[0].result(timeout=30)
        ck(len(bcfg) > 0, "describe_configs of broker 1 returns entries")

        # ---------------- produce with keys and headers
        base_ts = int(time.time() * 1000) - 600_000
        msgs = build_messages(base_ts)
        dr = {}

        def on_delivery(i):
            def cb(err, m):
                dr[i] = (err, m.partition() if m is not None else None, m.offset() if m is not None else None)
            return cb

        p = producer(bs, {"compression.type": "none", "message.max.bytes": 2_000_000})
        for i, (part, key, value, hdrs, ts) in enumerate(msgs):
            kw = dict(key=key, value=value, headers=hdrs, timestamp=ts, on_delivery=on_delivery(i))
            if part is not None:
                kw["partition"] = part
            p.produce("ck-a", **kw)
            p.poll(0)
        flush(p)
        ck.eq(len(dr), len(msgs), "delivery reports")
        bad = [(i, str(e)) for i, (e, _, _) in dr.items() if e is not None]
        ck.eq(bad, [], "failed deliveries")

        by_pos = {}
        for i, (_, part, off) in dr.items():
            ck((part, off) not in by_pos, f"two messages acknowledged at {part}/{off}")
            by_pos[(part, off)] = i
        counts = {q: sum(1 for (pp, _) in by_pos if pp == q) for q in range(3)}
        for q in range(3):
            ck.eq(sorted(o for (pp, o) in by_pos if pp == q), list(range(counts[q])), f"acked offsets p{q}")

        c = consumer(bs)
        for q in range(3):
            got = read_partition(c, "ck-a", q, 0)
            ck.eq([m.offset() for m in got], list(range(counts[q])), f"ck-a/{q} consumed offsets")
            for m in got:
                i = by_pos[(q, m.offset())]
                part, key, value, hdrs, ts = msgs[i]
                ck.eq(m.key(), key, f"msg {i} key")
                ck.eq(m.value(), value, f"msg {i} value")
                ck.eq(norm_headers(m.headers()), norm_headers(hdrs), f"msg {i} headers")
                ck.eq(m.timestamp(), (TIMESTAMP_CREATE_TIME, ts), f"msg {i} timestamp")
            lo, hi = c.get_watermark_offsets(TopicPartition("ck-a", q), timeout=10)
            ck.eq((lo, hi), (0, counts[q]), f"ck-a/{q} watermarks")

        # ---------------- tiny fetch sizes: the broker must still return whole batches
        # (at least the first one, even when larger than the limits), incl. the 300 KiB value
        small = consumer(bs, {"fetch.max.bytes": 1024, "max.partition.fetch.bytes": 1024,
                              "message.max.bytes": 1000, "receive.message.max.bytes": 4 << 20})
        for q in range(3):
            got = read_partition(small, "ck-a", q, 0)
            ck.eq([(m.offset(), m.value()) for m in got],
                  [(o, msgs[by_pos[(q, o)]][2]) for o in range(counts[q])], f"ck-a/{q} with 1 KiB fetch limits")
        small.close()

        # ---------------- offsets_for_times
        for q in range(3):
            ordered = sorted((o, msgs[i][4]) for (pp, o), i in by_pos.items() if pp == q)
            # timestamps per partition are increasing in offset order except the keyed/large ones
            # appended later (also larger), so "first offset with ts >= T" is well defined.
            probes = [(ordered[0][1] - 5000, 0), (ordered[len(ordered) // 2][1], len(ordered) // 2),
                      (ordered[len(ordered) // 2][1] - 1, len(ordered) // 2),
                      (ordered[-1][1] + 100000, -1)]
            for ts, want in probes:
                want_off = ordered[want][0] if want >= 0 else -1
                r = c.offsets_for_times([TopicPartition("ck-a", q, ts)], timeout=10)
                ck(r[0].error is None, f"offsets_for_times error {r[0].error}")
                ck.eq(r[0].offset, want_off, f"offsets_for_times ck-a/{q} ts={ts}")
                if want_off >= 0:
                    m = first_message(c, "ck-a", q, r[0].offset)
                    ck(m is not None and m.offset() == want_off and m.timestamp()[1] >= ts,
                       f"first message from offsets_for_times offset {want_off}")

        # ---------------- compression codecs
        for codec in ("gzip", "snappy", "lz4", "zstd"):
            topic = f"ck-comp-{codec}"
            admin_result(admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10))
            errs = []
            pc = producer(bs, {"compression.type": codec, "linger.ms": 50, "batch.num.messages": 500})
            for i in range(2000):
                pc.produce(topic, key=str(i).encode(), value=(f"{codec}-{i}-" + "z" * (i % 100)).encode(),
                           on_delivery=lambda err, m: err and errs.append(str(err)))
                if i % 500 == 0:
                    pc.poll(0)
            flush(pc)
            ck.eq(errs, [], f"{codec}: delivery errors")
            got = read_partition(c, topic, 0, 0)
            ck.eq([(m.offset(), m.key(), m.value()) for m in got],
                  [(i, str(i).encode(), (f"{codec}-{i}-" + "z" * (i % 100)).encode()) for i in range(2000)],
                  f"{codec}: roundtrip")
            # reading from the middle of a compressed batch starts at the requested offset
            m = first_message(c, topic, 0, 1234)
            ck(m is not None and m.offset() == 1234, f"{codec}: read from mid-batch offset 1234 gave "
                                                     f"{m.offset() if m else None}")

        # ---------------- DeleteRecords (only if this client has it)
        if hasattr(admin, "delete_records"):
            fs = admin.delete_records([TopicPartition("ck-a", 0, 5)])
            admin_result(fs)
            lo, hi = c.get_watermark_offsets(TopicPartition("ck-a", 0), timeout=10)
            ck.eq(lo, 5, "low watermark after delete_records")
            counts_lo0 = 5
        else:
            print("[confluent] AdminClient.delete_records not available in confluent-kafka "
                  "1.7: DeleteRecords part skipped", flush=True)
            counts_lo0 = 0

        # ---------------- errors for unknown topics / bad offsets
        cmd = consumer(bs, {"allow.auto.create.topics": False})
        t = cmd.list_topics("ck-nope", timeout=10).topics.get("ck-nope")
        ck(t is not None and t.error is not None and t.error.code() == E.UNKNOWN_TOPIC_OR_PART,
           f"metadata for unknown topic: expected UNKNOWN_TOPIC_OR_PART, got {t.error if t else None}")
        cmd.close()
        ck("ck-nope" not in admin.list_topics(timeout=10).topics,
           "metadata with allow_auto_topic_creation=false must not create the topic")
        expect_kafka_error(lambda: admin_result(admin.delete_topics(["ck-nope"], operation_timeout=10)),
                           [E.UNKNOWN_TOPIC_OR_PART], "delete unknown topic")
        expect_kafka_error(lambda: topic_config(admin, "ck-nope"),
                           [E.UNKNOWN_TOPIC_OR_PART], "describe_configs of unknown topic")
        expect_kafka_error(lambda: admin_result(admin.create_partitions([NewPartitions("ck-nope", 4)])),
                           [E.UNKNOWN_TOPIC_OR_PART], "create_partitions of unknown topic")
        c.assign([TopicPartition("ck-a", 0, counts[0] + 1000)])
        oor = None
        deadline = time.monotonic() + 20
        while oor is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None:
                ck(m.error() is not None, f"fetch beyond the end returned a message at {m.offset()}")
                oor = m.error()
        c.unassign()
        ck(oor is not None and oor.code() in (E._AUTO_OFFSET_RESET, E.OFFSET_OUT_OF_RANGE),
           f"fetch beyond the end: expected offset-out-of-range, got {oor}")

        # ---------------- clean restart keeps topics, partition counts, configs, data
        c.close()
        ck.eq(b.restart(), 0, "brookd exit code on SIGTERM")
        admin = AdminClient({"bootstrap.servers": bs, "socket.timeout.ms": 10000})
        md = admin.list_topics(timeout=10)
        ck.eq(len(md.topics["ck-a"].partitions), 3, "ck-a partitions after restart")
        ck.eq(len(md.topics["ck-b"].partitions), 2, "ck-b partitions after restart")
        ck.eq(topic_config(admin, "ck-b").get("retention.ms"), "7200000", "ck-b retention.ms after restart")
        c = consumer(bs)
        for q in range(3):
            got = read_partition(c, "ck-a", q, -2)  # OFFSET_BEGINNING = log start
            ck.eq([m.offset() for m in got], list(range(counts_lo0 if q == 0 else 0, counts[q])),
                  f"ck-a/{q} offsets after restart")
            ck.eq([m.value() for m in got], [msgs[by_pos[(q, m.offset())]][2] for m in got],
                  f"ck-a/{q} values after restart")

        # ---------------- delete and re-create
        # (librdkafka 2.0.2 leaks partition references and hangs in destroy when a cached
        # topic shrinks, so the old consumer is closed first and a fresh one used after.)
        c.close()
        admin_result(admin.delete_topics(["ck-a"], operation_timeout=10))
        wait_until(lambda: "ck-a" not in admin.list_topics(timeout=10).topics, 10, what="ck-a deleted")
        ck(True, "ck-a deleted")
        admin_result(admin.create_topics([NewTopic("ck-a", 2, 1)], operation_timeout=10))
        c = consumer(bs)
        for q in range(2):
            lo, hi = c.get_watermark_offsets(TopicPartition("ck-a", q), timeout=10)
            ck.eq((lo, hi), (0, 0), f"re-created ck-a/{q} is empty")
        pr = producer(bs)
        res = []
        pr.produce("ck-a", value=b"fresh", partition=1, on_delivery=lambda e, m: res.append((e, m.offset())))
        flush(pr)
        ck.eq(res, [(None, 0)], "first message of re-created topic at offset 0")
        ck.eq([m.value() for m in read_partition(c, "ck-a", 1, 0)], [b"fresh"], "re-created topic content")
        c.close()

    # ---------------- broker with auto-create disabled
    with Broker(name="ck-noauto", config={"auto.create.topics.enable": "false"}) as b2:
        pr = producer(b2.bootstrap, {"topic.metadata.propagation.max.ms": 1000, "message.timeout.ms": 8000})
        res = []
        pr.produce("noauto-topic", value=b"x", on_delivery=lambda e, m: res.append(e))
        flush(pr, 20)
        ck(len(res) == 1 and res[0] is not None and
           res[0].code() in (E.UNKNOWN_TOPIC_OR_PART, E._UNKNOWN_TOPIC, E._MSG_TIMED_OUT),
           f"produce to unknown topic with auto-create off: expected an unknown-topic error, got {res}")
        a2 = AdminClient({"bootstrap.servers": b2.bootstrap})
        ck("noauto-topic" not in a2.list_topics(timeout=10).topics,
           "auto.create.topics.enable=false must not create topics on produce")
    ck.done()


if __name__ == "__main__":
    run_main(main)
