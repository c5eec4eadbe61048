#!/usr/bin/python3
"""Topic settings Kafka clients ask for, against one brookd (python3-confluent-kafka and raw
Kafka requests from raw_kafka.py).

- CreateTopics with an explicit replica assignment (librdkafka sends -1 partitions and -1
  replication factor with it): the topic gets one partition per entry on the broker named;
  a broker that does not exist, a partition numbering with a hole, or a count given
  alongside is refused with INVALID_REPLICA_ASSIGNMENT / INVALID_REQUEST and creates
  nothing.  CreatePartitions with an assignment likewise.
- compression.type per topic, every codec: a producer sending uncompressed (or another
  codec) has its batches stored in the topic's codec (checked on the raw Fetch answer's
  batch attributes), and a consumer reads every record back unchanged; "uncompressed" on a
  topic stores a compressed producer's batches uncompressed.
- A compressed batch is inflated and checked as an uncompressed one is (Produce v8 by
  hand, gzip, a topic without settings): one whose header says one record but a last
  offset delta of 2^31 - 1, one that says two records and holds one, and one whose body is
  not gzip data are refused (INVALID_RECORD, INVALID_RECORD, CORRUPT_MESSAGE) and store
  nothing; one that inflates past 256 MiB (a 300 MiB value of zeros, 0.3 MiB of gzip) is
  INVALID_RECORD with a message.  A good gzip batch of two records is then stored at
  offsets 0-1, the high watermark 2 (such batches used to be stored: the log end jumped by
  2^31, and consumers stopped at the bad one for good).
- cleanup.policy=compact: a batch with records without a key is refused with
  INVALID_RECORD and nothing of it stored (librdkafka 2.0.2, Produce v7; also when the
  producer compresses); Produce v8 by hand gets each keyless record named (KIP-467 record
  errors) and a message.  Keyed records are stored.
- message.timestamp.before.max.ms / after.max.ms (KIP-937): a Produce v8 batch with records
  two hours behind and ten minutes ahead of a 1 h / 1 min bound is INVALID_TIMESTAMP with
  those two records named; records inside pass; a LogAppendTime topic ignores the bound.
- Keys Brook stores without acting on them (message.format.version) and others
  (delete.retention.ms, which the log cleaner applies) are accepted and described; bad
  values and unknown keys are INVALID_CONFIG.
- cleanup.policy=compact on __consumer_offsets or __transaction_state is INVALID_CONFIG
  with a message (their replay reads every record) and changes nothing.
- The two internal topics cannot be deleted (INVALID_TOPIC_EXCEPTION with a message),
  given partitions (INVALID_PARTITIONS with a message: the coordinators hash ids over
  their count) or have records deleted (raw DeleteRecords v0: INVALID_TOPIC_EXCEPTION on
  every partition, as Kafka).  Afterwards both still have 50 partitions, a group's offset
  committed before is still read back, and a new transaction commits (deleting
  __transaction_state used to crash brookd at the next InitProducerId).
- Their retention.ms (unless -1) and segment.bytes have floors: 1 h on
  __transaction_state, 1 s on __consumer_offsets (whose live records the group service
  writes again at half of it: integration_offsets_retention), 1 MiB segments on both.
  retention.ms=1000 on __transaction_state, 0 on __consumer_offsets and segment.bytes=14
  are INVALID_CONFIG with a message; retention.ms=-1 and 2 days are accepted.  A second
  brookd whose broker defaults are log.retention.ms=1500 and log.roll.ms=200 (checked every
  200 ms) keeps, over a clean restart after 3 s of another transactional id's writes to the
  same __transaction_state partition, an open transaction, which then commits (it used to
  be deleted by retention and forgotten, its partition's last stable offset stuck for
  good).
- Only those two are internal: a user topic named like Debezium's heartbeat topics
  (__debezium-heartbeat.db1) takes produced records, reads them back, is not internal in
  Metadata, and can be deleted (every "__" topic used to be refused as internal).
"""

import os
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, find_brookd, run_main  # noqa: E402
from ck_helpers import consumer, flush, producer, read_partition  # noqa: E402
from raw_kafka import (READ_COMMITTED, TAGS, Conn, Reader, carr, cstr,  # noqa: E402
                       flex_request, partition_errors, raw_batch, record_batch,
                       records_section, s16, varint)

from confluent_kafka import KafkaError, KafkaException, TopicPartition  # noqa: E402
from confluent_kafka.admin import (AdminClient, ConfigResource, NewPartitions,  # noqa: E402
                                   NewTopic)

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
ERR_INVALID_RECORD = 87
ERR_CORRUPT_MESSAGE = 2
GZIP = CODECS["gzip"]


def create(admin, topics, timeout=30):
    """{name: None or KafkaError code} for CreateTopics of the NewTopic list."""
    out = {}
    for name, fut in admin.create_topics(topics, operation_timeout=timeout).items():
        try:
            fut.result(timeout)
            out[name] = None
        except Exception as e:  # KafkaException carrying a KafkaError
            out[name] = e.args[0].code()
    return out


def topic_meta(admin, name):
    """The topic's metadata, or None; asks for every topic (asking for one by name would
    create it: an admin client is a producer, whose Metadata allows auto-creation)."""
    md = admin.list_topics(timeout=10)
    t = md.topics.get(name)
    return None if t is None or t.error is not None else t


def check_assignments(ck, admin, nid):
    r = create(admin, [NewTopic("ra-ok", 3, replica_assignment=[[nid], [nid], [nid]])])
    ck.eq(r["ra-ok"], None, "CreateTopics with a replica assignment")
    t = topic_meta(admin, "ra-ok")
    ck(t is not None, "ra-ok is in the metadata")
    ck.eq(sorted(t.partitions), [0, 1, 2], "one partition per assignment entry")
    ck.eq([t.partitions[p].replicas for p in range(3)], [[nid]] * 3, "replicas as assigned")

    r = create(admin, [NewTopic("ra-ghost", 2, replica_assignment=[[nid], [nid + 99]])])
    ck.eq(r["ra-ghost"], KafkaError.INVALID_REPLICA_ASSIGNMENT, "a broker that does not exist")
    ck(topic_meta(admin, "ra-ghost") is None, "the refused topic was not created")

    r = create(admin, [NewTopic("ra-dup", 1, replica_assignment=[[nid, nid]])])
    ck.eq(r["ra-dup"], KafkaError.INVALID_REPLICA_ASSIGNMENT, "a broker twice in one list")

    # Raw CreateTopics v4: partitions 0 and 2 (a hole), and one with a count alongside.
    with Conn(BOOTSTRAP[0]) as c:
        errs = c.create_topics_assigned([("ra-hole", -1, [(0, [nid]), (2, [nid])]),
                                       ("ra-both", 2, [(0, [nid]), (1, [nid])])])
    ck.eq(errs["ra-hole"], KafkaError.INVALID_REPLICA_ASSIGNMENT, "partition numbers with a hole")
    ck.eq(errs["ra-both"], KafkaError.INVALID_REQUEST, "a partition count and an assignment")

    fs = admin.create_partitions([NewPartitions("ra-ok", 4, replica_assignment=[[nid]])])
    fs["ra-ok"].result(30)
    ck.eq(len(topic_meta(admin, "ra-ok").partitions), 4, "CreatePartitions with an assignment")
    fs = admin.create_partitions([NewPartitions("ra-ok", 5, replica_assignment=[[nid + 7]])])
    try:
        fs["ra-ok"].result(30)
        code = None
    except Exception as e:
        code = e.args[0].code()
    ck.eq(code, KafkaError.INVALID_REPLICA_ASSIGNMENT, "CreatePartitions naming no broker")
    ck.eq(len(topic_meta(admin, "ra-ok").partitions), 4, "no partition added")


def produce_values(bs, topic, n, codec, keys=True, partition=0):
    p = producer(bs, {"compression.codec": codec, "linger.ms": 50, "batch.num.messages": 50})
    for i in range(n):
        p.produce(topic, (f"value-{i}-" + "x" * 200).encode(),
                  key=f"k{i}".encode() if keys else None, partition=partition)
    flush(p, 30)


def stored_codecs(bs, topic):
    with Conn(bs) as c:
        f = c.fetch(topic, 0, 0, compressed_ok=True)
    return f["error"], sorted({b["attributes"] & 0x07 for b in f["batches"]}), f["high_watermark"]


def check_compression(ck, admin, bs):
    for name, code in CODECS.items():
        topic = f"cmp-{name}"
        r = create(admin, [NewTopic(topic, 1, 1, config={"compression.type": name})])
        ck.eq(r[topic], None, f"create {topic}")
        produce_values(bs, topic, 120, "none")
        # a producer using another codec: recompressed into the topic's
        other = "lz4" if name != "lz4" else "gzip"
        produce_values(bs, topic, 80, other)
        err, codecs, hw = stored_codecs(bs, topic)
        ck.eq(err, 0, f"{topic}: fetch")
        ck.eq(hw, 200, f"{topic}: every record stored")
        ck.eq(codecs, [code], f"{topic}: batches stored as {name}")
        c = consumer(bs)
        try:
            msgs = read_partition(c, topic, 0, 0, timeout=30)
        finally:
            c.close()
        want = [(f"value-{i}-" + "x" * 200).encode() for i in range(120)] + \
               [(f"value-{i}-" + "x" * 200).encode() for i in range(80)]
        ck.eq([m.value() for m in msgs], want, f"{topic}: read back unchanged")
        ck.eq([m.offset() for m in msgs], list(range(200)), f"{topic}: offsets")
        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        cfg = admin.describe_configs([res])[res].result(10)
        ck.eq(cfg["compression.type"].value, name, f"{topic}: DescribeConfigs")

    topic = "cmp-uncompressed"
    create(admin, [NewTopic(topic, 1, 1, config={"compression.type": "uncompressed"})])
    produce_values(bs, topic, 50, "zstd")
    err, codecs, hw = stored_codecs(bs, topic)
    ck.eq((err, codecs, hw), (0, [0], 50), "compression.type=uncompressed stores plain batches")

    r = create(admin, [NewTopic("cmp-bad", 1, 1, config={"compression.type": "brotli"})])
    ck.eq(r["cmp-bad"], KafkaError.INVALID_CONFIG, "an unknown codec")


def check_compact(ck, admin, bs):
    for codec in ("none", "gzip"):
        topic = f"compact-{codec}"
        r = create(admin, [NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})])
        ck.eq(r[topic], None, f"create {topic}")
        reports = {}

        def dr(err, msg, reports=reports):
            reports[int(msg.value().decode().split("-")[1])] = None if err is None else err.code()

        p = producer(bs, {"compression.codec": codec, "linger.ms": 200, "retries": 0})
        for i in range(10):
            key = None if i in (3, 7) else f"k{i}".encode()
            p.produce(topic, f"v-{i}".encode(), key=key, partition=0, on_delivery=dr)
        flush(p, 30)
        ck.eq(sorted(reports), list(range(10)), f"{topic}: a report per record")
        # librdkafka 2.0.2 produces with v7: a batch holding a keyless record fails whole
        # with INVALID_RECORD (Produce v8's per-record errors: raw below, and librdkafka
        # 2.15's 0011 in CI). How the 10 records fall into batches is the client's
        # choice: keyed records in a batch of their own are stored.
        ck.eq((reports[3], reports[7]), (ERR_INVALID_RECORD, ERR_INVALID_RECORD),
              f"{topic}: the keyless records refused")
        ck(set(reports.values()) <= {None, ERR_INVALID_RECORD}, f"{topic}: reports {reports}")
        stored = sum(1 for e in reports.values() if e is None)
        with Conn(bs) as c:
            f = c.fetch(topic, 0, 0, compressed_ok=True)
        ck.eq(f["high_watermark"], stored, f"{topic}: exactly the accepted records stored")
        produce_values(bs, topic, 30, codec, keys=True)
        with Conn(bs) as c:
            ck.eq(c.fetch(topic, 0, 0, compressed_ok=True)["high_watermark"], stored + 30,
                  f"{topic}: keyed records stored")


def produce_v8(c, topic, batch):
    """Produce v8 of one batch to partition 0 -> (error, [(index, message)], error message)."""
    body = (s16(None) + struct.pack(">hi", -1, 10000) + struct.pack(">i", 1) + s16(topic)
            + struct.pack(">i", 1) + struct.pack(">ii", 0, len(batch)) + batch)
    r, _ = c.request(0, 8, body, "Produce v8")
    rd = Reader(r)
    ck_topics = rd.take(">i")
    assert ck_topics == 1, ck_topics
    rd.string()
    assert rd.take(">i") == 1
    _part, err, _base, _lat, _lso = rd.take(">ihqqq")
    recs = [(rd.take(">i"), rd.string()) for _ in range(rd.take(">i"))]
    return err, recs, rd.string()


def check_record_errors(ck, bs):
    """Produce v8 by hand: a batch of three keyless records to a compacted topic."""
    from raw_kafka import record_batch
    with Conn(bs) as c:
        err, recs, msg = produce_v8(c, "compact-none", record_batch(-1, -1, -1, [b"a", b"b", b"c"]))
        ck.eq(err, ERR_INVALID_RECORD, "Produce v8: INVALID_RECORD")
        ck.eq([i for i, _ in recs], [0, 1, 2], "Produce v8: every keyless record named")
        ck(all(m and "without key" in m for _, m in recs), f"Produce v8: record messages {recs}")
        ck(msg is not None and "compact" in msg, f"Produce v8: error message {msg!r}")
        err, recs, msg = produce_v8(c, "cmp-gzip", record_batch(-1, -1, -1, [b"a"]))
        ck.eq((err, recs, msg), (0, [], None), "Produce v8 to a topic that takes the batch")


def gzip_stream(parts):
    """gzip of the concatenation of the byte strings `parts` yields (streamed)."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    return b"".join(z.compress(p) for p in parts) + z.flush()


def zeros_record(n):
    """The records section of one record whose value is n zero bytes, in pieces."""
    head = bytes([0]) + varint(0) + varint(0) + varint(-1) + varint(n)
    yield varint(len(head) + n + 1) + head
    chunk = bytes(1 << 20)
    for _ in range(n >> 20):
        yield chunk
    yield bytes(n & ((1 << 20) - 1)) + varint(0)


def check_compressed_checked(ck, admin, bs):
    create(admin, [NewTopic("cmp-lies", 1, 1)])
    one = records_section([b"x"])
    cases = [("count 1, last offset delta 2^31-1",
              raw_batch(gzip_stream([one]), 1, GZIP, last_offset_delta=0x7FFFFFFF),
              ERR_INVALID_RECORD),
             ("count 2 holding one record", raw_batch(gzip_stream([one]), 2, GZIP),
              ERR_INVALID_RECORD),
             ("a body that is not gzip", raw_batch(b"not gzip data at all" * 3, 1, GZIP),
              ERR_CORRUPT_MESSAGE)]
    with Conn(bs, b"topic-configs", 30.0) as c:
        for what, batch, want in cases:
            err, _, _ = produce_v8(c, "cmp-lies", batch)
            ck.eq(err, want, f"compressed batch, {what}")
        err, _, msg = produce_v8(c, "cmp-lies",
                                 raw_batch(gzip_stream(zeros_record(300 << 20)), 1, GZIP))
        ck.eq(err, ERR_INVALID_RECORD, "a gzip batch inflating to 300 MiB")
        ck("inflates past" in (msg or ""), f"the refusal says why: {msg!r}")
        err, _, _ = produce_v8(c, "cmp-lies", raw_batch(gzip_stream([records_section([b"a", b"b"])]),
                                                        2, GZIP))
        ck.eq(err, 0, "a good gzip batch of two records")
        ck.eq(c.list_offset("cmp-lies", 0), (0, 2), "only the good batch was stored")


def ts_batch(timestamps):
    """A magic-2 batch of one keyless record per timestamp (CreateTime, uncompressed)."""
    from raw_kafka import crc32c, varint
    first = timestamps[0]
    recs = b""
    for i, ts in enumerate(timestamps):
        r = bytes([0]) + varint(ts - first) + varint(i) + varint(-1) + varint(1) + b"x" + varint(0)
        recs += varint(len(r)) + r
    after_crc = struct.pack(">hiqqqhii", 0, len(timestamps) - 1, first, max(timestamps), -1, -1,
                            -1, len(timestamps)) + recs
    body = struct.pack(">iB", -1, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def check_timestamp_bounds(ck, admin, bs):
    """KIP-937: message.timestamp.before.max.ms / after.max.ms refuse CreateTime records
    too far behind or ahead of the broker's clock (INVALID_TIMESTAMP, each named); a
    LogAppendTime topic does not look at them."""
    r = create(admin, [NewTopic("ts-bound", 1, 1, config={
        "message.timestamp.before.max.ms": "3600000", "message.timestamp.after.max.ms": "60000"}),
        NewTopic("ts-append", 1, 1, config={"message.timestamp.before.max.ms": "1000",
                                            "message.timestamp.type": "LogAppendTime"})])
    ck.eq(r, {"ts-bound": None, "ts-append": None}, "topics with timestamp bounds")
    now = int(time.time() * 1000)
    with Conn(bs) as c:
        err, recs, msg = produce_v8(c, "ts-bound", ts_batch([now, now - 7200000, now + 600000,
                                                             now - 60000]))
        ck.eq(err, 32, "INVALID_TIMESTAMP")
        ck.eq([i for i, _ in recs], [1, 2], "the two records out of range named")
        ck(msg is not None and "out of range" in msg, f"the error message {msg!r}")
        err, recs, _ = produce_v8(c, "ts-bound", ts_batch([now - 60000, now + 1000]))
        ck.eq((err, recs), (0, []), "records inside the bounds")
        err, recs, _ = produce_v8(c, "ts-append", ts_batch([now - 7200000]))
        ck.eq((err, recs), (0, []), "LogAppendTime: no bound on the producer's timestamps")
    cfg = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "ts-bound")])
    cfg = list(cfg.values())[0].result(10)
    ck.eq(cfg["message.timestamp.after.max.ms"].value, "60000", "after.max.ms described")


def check_stored_keys(ck, admin):
    r = create(admin, [NewTopic("cfg-stored", 1, 1, config={"delete.retention.ms": "900",
                                                           "message.format.version": "2.8"})])
    ck.eq(r["cfg-stored"], None, "keys Brook stores only are accepted")
    res = ConfigResource(ConfigResource.Type.TOPIC, "cfg-stored",
                         set_config={"message.format.version": "0.10.0.0",
                                     "delete.retention.ms": "900"})
    admin.alter_configs([res])[res].result(10)
    cfg = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "cfg-stored")])
    cfg = list(cfg.values())[0].result(10)
    ck.eq(cfg["message.format.version"].value, "0.10.0.0", "message.format.version described")
    ck.eq(cfg["flush.ms"].value, "9223372036854775807", "a stored key's default described")
    for key, value in (("message.format.version", "banana"), ("min.cleanable.dirty.ratio", "2"),
                       ("cleanup.policy", "compact,compact"), ("dummy.doesntexist", "1")):
        r = create(admin, [NewTopic("cfg-bad", 1, 1, config={key: value})])
        ck.eq(r["cfg-bad"], KafkaError.INVALID_CONFIG, f"{key}={value} refused")
    # The internal topics' replay reads every record: they are never compacted.
    for topic in ("__consumer_offsets", "__transaction_state"):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic,
                             set_config={"cleanup.policy": "compact,delete"})
        try:
            admin.alter_configs([res])[res].result(10)
            ck(False, f"cleanup.policy=compact on {topic} accepted")
        except KafkaException as e:
            ck.eq(e.args[0].code(), KafkaError.INVALID_CONFIG,
                  f"cleanup.policy=compact on {topic} refused")
            ck("cannot be compacted" in e.args[0].str(), f"the refusal says why: {e.args[0].str()}")
        cfg = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
        ck.eq(list(cfg.values())[0].result(10)["cleanup.policy"].value, "delete",
              f"{topic} cleanup.policy described after the refusal")


def delete_records_v0(bs, topic, nparts):
    """Raw DeleteRecords v0 of every partition of topic up to its high watermark (-1) ->
    {partition: error code}."""
    body = struct.pack(">i", 1) + s16(topic) + struct.pack(">i", nparts)
    body += b"".join(struct.pack(">iq", p, -1) for p in range(nparts)) + struct.pack(">i", 5000)
    with Conn(bs, b"topic-configs", 10.0) as c:
        r, _ = c.request(21, 0, body, "DeleteRecords v0")
    return partition_errors(r, ">iqh")


def delete_topic_v5(bs, topic):
    """Raw DeleteTopics v5 (the first with a message; librdkafka sends an older one) ->
    (error code, message)."""
    with Conn(bs, b"topic-configs", 10.0) as c:
        rd = flex_request(c, 20, 5, carr([topic], cstr) + struct.pack(">i", 5000) + TAGS,
                          "DeleteTopics v5")
    rd.take(">i")  # throttle
    n = rd.count()
    assert n == 1, f"DeleteTopics v5: {n} topics answered"
    rd.cstring()
    return rd.take(">h"), rd.cstring()


def committed_offset(bs, group, topic):
    c = consumer(bs, {"group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, 0)], timeout=20)[0].offset
    finally:
        c.close()


def check_internal_fixed(ck, admin, bs):
    create(admin, [NewTopic("int-data", 1, 1)])
    c = consumer(bs, {"group.id": "int-group", "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition("int-data", 0, 42)], asynchronous=False)
    finally:
        c.close()
    for topic in ("__consumer_offsets", "__transaction_state"):
        try:
            admin.delete_topics([topic])[topic].result(10)
            ck(False, f"DeleteTopics {topic} accepted")
        except KafkaException as e:
            ck.eq(e.args[0].code(), KafkaError.TOPIC_EXCEPTION, f"DeleteTopics {topic} refused")
        err, msg = delete_topic_v5(bs, topic)
        ck.eq(err, KafkaError.TOPIC_EXCEPTION, f"DeleteTopics v5 {topic} refused")
        ck("cannot be deleted" in (msg or ""), f"the refusal says why: {msg}")
        try:
            admin.create_partitions([NewPartitions(topic, 60)])[topic].result(10)
            ck(False, f"CreatePartitions {topic} accepted")
        except KafkaException as e:
            ck.eq(e.args[0].code(), KafkaError.INVALID_PARTITIONS, f"CreatePartitions {topic} refused")
            ck("fixed" in e.args[0].str(), f"the refusal says why: {e.args[0].str()}")
        errs = delete_records_v0(bs, topic, 50)
        ck.eq(sorted(errs), list(range(50)), f"DeleteRecords {topic}: every partition answered")
        ck.eq(set(errs.values()), {KafkaError.TOPIC_EXCEPTION}, f"DeleteRecords {topic} refused")
        ck.eq(len(topic_meta(admin, topic).partitions), 50, f"{topic} still has 50 partitions")
    ck.eq(committed_offset(bs, "int-group", "int-data"), 42, "the committed offset is still there")
    p = producer(bs, {"transactional.id": "int-after", "enable.idempotence": True})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("int-data", b"after")
    p.commit_transaction(30)
    c = consumer(bs, {"isolation.level": "read_committed"})
    try:
        got = [m.value() for m in read_partition(c, "int-data", 0, 0, timeout=30)]
    finally:
        c.close()
    ck.eq(got, [b"after"], "a transaction committed after the refusals is read back")


def java_partition(key, n=50):
    """The internal partition of a group or transactional id: abs(Java hashCode) % n."""
    h = 0
    for ch in key.encode():
        h = (h * 31 + ch) & 0xFFFFFFFF
    return (h & 0x7FFFFFFF) % n


def check_internal_floors(ck, admin):
    for topic, key, value in (("__transaction_state", "retention.ms", "1000"),
                              ("__transaction_state", "retention.ms", "0"),
                              ("__consumer_offsets", "retention.ms", "0"),
                              ("__consumer_offsets", "retention.ms", "999"),
                              ("__consumer_offsets", "segment.bytes", "14")):
        res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={key: value})
        try:
            admin.alter_configs([res])[res].result(10)
            ck(False, f"{key}={value} on {topic} accepted")
        except KafkaException as e:
            ck.eq(e.args[0].code(), KafkaError.INVALID_CONFIG, f"{key}={value} on {topic} refused")
            ck("internal topic must be" in e.args[0].str(), f"the refusal says why: {e.args[0].str()}")
    for value in ("-1", "172800000"):
        res = ConfigResource(ConfigResource.Type.TOPIC, "__consumer_offsets",
                             set_config={"retention.ms": value})
        admin.alter_configs([res])[res].result(10)
        cfg = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "__consumer_offsets")])
        ck.eq(list(cfg.values())[0].result(10)["retention.ms"].value, value,
              f"retention.ms={value} on __consumer_offsets")


def check_internal_retention_floor(ck):
    cfg = {"log.retention.ms": 1500, "log.roll.ms": 200, "log.retention.check.interval.ms": 200}
    with Broker(find_brookd(), config=cfg) as b:
        txn = "floor-txn"
        other_txn = next(f"t{i}" for i in range(10000)
                         if java_partition(f"t{i}") == java_partition(txn))
        with Conn(b.bootstrap, b"topic-configs", 10.0) as c:
            ck.eq(c.create_topic("floor-t", 1), 0, "create floor-t")
            err, pid, epoch = c.init_producer_id(txn, 60000)
            ck.eq(err, 0, "InitProducerId")
            ck.eq(c.add_partitions_to_txn(txn, pid, epoch, "floor-t", [0]), {0: 0},
                  "AddPartitionsToTxn")
            err, _, _ = c.produce("floor-t", 0, record_batch(pid, epoch, 0, [b"open"], True),
                                  transactional_id=txn)
            ck.eq(err, 0, "transactional produce")
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:  # later writes to the same partition
                c.init_producer_id(other_txn, 60000)
                time.sleep(0.05)
        b.restart()
        with Conn(b.bootstrap, b"topic-configs", 10.0) as c:
            ck.eq(c.end_txn(txn, pid, epoch, True), 0,
                  "the open transaction commits after retention passes and a restart")
            ck.eq(c.list_offset("floor-t", 0, READ_COMMITTED), (0, 2),
                  "its record is stable (last stable offset past its marker)")


def check_user_dunder_topic(ck, admin, bs):
    topic = "__debezium-heartbeat.db1"
    ck.eq(create(admin, [NewTopic(topic, 1, 1)]), {topic: None}, f"create {topic}")
    produce_values(bs, topic, 5, "none")
    c = consumer(bs)
    try:
        got = [m.value() for m in read_partition(c, topic, 0, 0, timeout=30)]
    finally:
        c.close()
    ck.eq(got, [(f"value-{i}-" + "x" * 200).encode() for i in range(5)], f"{topic}: read back")
    with Conn(bs, b"topic-configs", 10.0) as conn:
        body, _ = conn.request(3, 1, struct.pack(">i", 1) + s16(topic), "Metadata v1")
    rd = Reader(body)
    for _ in range(rd.take(">i")):  # brokers
        rd.take(">i"), rd.string(), rd.take(">i"), rd.string()
    rd.take(">i")  # controller
    ck.eq(rd.take(">i"), 1, "Metadata v1: one topic")
    terr, name, internal = rd.take(">h"), rd.string(), rd.take(">b")
    ck.eq((terr, name, internal), (0, topic, 0), f"{topic} is not internal in Metadata")
    admin.delete_topics([topic])[topic].result(10)
    ck(topic not in admin.list_topics(timeout=10).topics, f"{topic} deleted")


BOOTSTRAP = []


def main():
    ck = Check("topic_configs")
    with Broker(find_brookd()) as b:
        BOOTSTRAP.append(b.bootstrap)
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        nid = admin.list_topics(timeout=10).controller_id
        if nid < 0:
            nid = list(admin.list_topics(timeout=10).brokers)[0]
        check_assignments(ck, admin, nid)
        check_compression(ck, admin, b.bootstrap)
        check_compact(ck, admin, b.bootstrap)
        check_record_errors(ck, b.bootstrap)
        check_compressed_checked(ck, admin, b.bootstrap)
        check_timestamp_bounds(ck, admin, b.bootstrap)
        check_stored_keys(ck, admin)
        check_internal_fixed(ck, admin, b.bootstrap)
        check_user_dunder_topic(ck, admin, b.bootstrap)
        check_internal_floors(ck, admin)
    check_internal_retention_floor(ck)
    ck.done()


if __name__ == "__main__":
    run_main(main)
