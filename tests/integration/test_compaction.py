#!/usr/bin/python3
"""Log compaction (cleanup.policy=compact, docs/admin.md "Compaction") against one brookd,
with python3-confluent-kafka (librdkafka) as the only client.

A compacted topic with small segments (segment.bytes, segment.ms: they roll while the test
writes) and a short delete.retention.ms, created with min.compaction.lag.ms at its maximum so
nothing is cleanable while it is written:
- an idempotent producer writes many updates to a few keys, then tombstones for two of them;
- a transactional producer writes a transaction that aborts (one of its values would be
  the newest for a key) and one that commits (the newest value of another key).
The log size is measured, then AlterConfigs sets min.compaction.lag.ms to 0 and the test
waits (bounded) until the cleaner has done its work. Then, read with read_committed and
read_uncommitted from offset 0:
- exactly the newest committed value of every key, once; offsets strictly increasing, with
  gaps where records were removed; reading from an offset that was removed starts at the
  next record;
- no record of the aborted transaction, at either isolation level (removed from the log);
- the tombstones gone once delete.retention.ms has passed since their segment was cleaned;
- the log's files smaller than before, and the cleaner's counters in /metrics.
Then brookd is killed (-9) with its producer snapshot deleted, so the producer state is
rebuilt from the cleaned log: the same records come back, and the idempotent producer that
wrote the compacted-away batches goes on producing without an error (its sequence survived
in the empty batch the cleaner kept).

Last, the broker default (another brookd, log.cleanup.policy=compact): a topic created
without its own policy is compacted (described so, a keyless record refused), one with
cleanup.policy=delete is not, __consumer_offsets keeps delete (and group commits work);
IncrementalAlterConfigs of the cluster default to delete turns the first topic back at
once.
"""

import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main, wait_until  # noqa: E402
from ck_helpers import consumer, flush, producer, read_partition  # noqa: E402
from raw_kafka import Conn, incremental_alter_configs  # noqa: E402
from test_txn_common import TxnProducer, quiet_logger  # noqa: E402

from confluent_kafka import TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

TOPIC = "changelog"
KEYS = [f"k{i}" for i in range(6)]
TOMBSTONED = ("k4", "k5")
ROUNDS = 40
DELETE_RETENTION_MS = 3000
BROKER_CONFIG = {
    "log.cleaner.backoff.ms": 200,
    "log.retention.check.interval.ms": 200,  # time-based rolls (segment.ms) run on it
    "transaction.state.log.num.partitions": 1,
    "offsets.topic.num.partitions": 1,
}
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.bytes": "1024",
    "segment.ms": "300",
    "delete.retention.ms": str(DELETE_RETENTION_MS),
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "9223372036854775807",
}


def log_bytes(b):
    d = os.path.join(b.data_dir, f"{TOPIC}-0")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log"))


def read(bs, isolation, start=0):
    """[(offset, key, value)] from start to the end at an isolation level."""
    c = consumer(bs, {"isolation.level": isolation, "logger": quiet_logger()})
    try:
        return [(m.offset(), m.key(), m.value()) for m in read_partition(c, TOPIC, 0, start, 30)]
    finally:
        c.close()


def metric(b, name):
    with urllib.request.urlopen(f"http://{b.admin_address()}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def produce_all(ck, bs):
    """Writes everything; returns (expected {key: value}, idempotent producer, aborted
    values)."""
    p = producer(bs, {"enable.idempotence": True, "linger.ms": 0})
    expected = {}
    for r in range(ROUNDS):
        for k in KEYS:
            v = f"{k}-{r}".encode()
            p.produce(TOPIC, key=k.encode(), value=v, partition=0)
            expected[k.encode()] = v
        p.poll(0)
        if r % 10 == 9:
            flush(p)
            time.sleep(0.35)  # past segment.ms: the next writes go to a new segment
    for k in TOMBSTONED:
        p.produce(TOPIC, key=k.encode(), value=None, partition=0)
        expected.pop(k.encode())
    flush(p)
    # An aborted transaction whose value for k0 would be the newest, and a committed one.
    t = TxnProducer(bs, "compaction-txn")
    t.p.begin_transaction()
    aborted = [b"aborted-k0", b"aborted-t0"]
    t.produce(TOPIC, 0, aborted[0], key=b"k0")
    t.produce(TOPIC, 0, aborted[1], key=b"t0")
    t.flush()
    t.p.abort_transaction(30)
    t.p.begin_transaction()
    t.produce(TOPIC, 0, b"committed-k1", key=b"k1")
    t.produce(TOPIC, 0, b"committed-t1", key=b"t1")
    t.p.commit_transaction(30)
    expected[b"k1"] = b"committed-k1"
    expected[b"t1"] = b"committed-t1"
    for v in (b"committed-k1", b"committed-t1"):
        ck(t.dr[v][0] is None, f"transactional delivery of {v!r}")
    return expected, p, aborted


def check_cleaned(ck, bs, expected, aborted, what):
    for iso in ("read_committed", "read_uncommitted"):
        recs = read(bs, iso)
        offs = [o for o, _, _ in recs]
        ck(all(a < b for a, b in zip(offs, offs[1:])), f"{what} {iso}: offsets increase")
        got = {}
        for _, k, v in recs:
            ck(k not in got, f"{what} {iso}: key {k!r} appears once")
            got[k] = v
        ck.eq(got, expected, f"{what} {iso}: the newest value of every key")
        ck(not any(v in aborted for _, _, v in recs), f"{what} {iso}: no aborted record")
        ck(offs[-1] - offs[0] + 1 > len(offs), f"{what} {iso}: gaps where records went")
    return recs


def main():
    ck = Check("compaction")
    with Broker(config=BROKER_CONFIG) as b:
        bs = b.bootstrap
        admin = AdminClient({"bootstrap.servers": bs, "logger": quiet_logger()})
        fs = admin.create_topics([NewTopic(TOPIC, 1, -1, config=TOPIC_CONFIG)],
                                 operation_timeout=10)
        fs[TOPIC].result(30)
        expected, idem, aborted = produce_all(ck, bs)
        time.sleep(0.5)  # the last segment rolls by time: all of it is closed
        before = log_bytes(b)
        ck(metric(b, "brook_log_cleaner_passes_total") == 0, "nothing cleaned before the lag")
        everything = read(bs, "read_uncommitted")
        ck(len(everything) >= ROUNDS * len(KEYS), f"{len(everything)} records before cleaning")
        ck(any(v in aborted for _, _, v in everything), "the aborted records are in the log")
        nseg = sum(f.endswith(".log") for f in os.listdir(os.path.join(b.data_dir, f"{TOPIC}-0")))
        ck(nseg >= 3, f"segments rolled ({nseg})")

        # min.compaction.lag.ms back to 0 (AlterConfigs replaces the whole set).
        cfg = dict(TOPIC_CONFIG, **{"min.compaction.lag.ms": "0"})
        res = ConfigResource(ConfigResource.Type.TOPIC, TOPIC, set_config=cfg)
        for f in admin.alter_configs([res]).values():
            f.result(30)

        # The first pass: older values and aborted records go, tombstones stay.
        wait_until(lambda: metric(b, "brook_log_cleaner_passes_total") >= 1, 20,
                   interval=0.05, what="the first cleaning pass")
        t_first = time.monotonic()
        recs = read(bs, "read_uncommitted")
        tombs = {k.decode() for _, k, v in recs if v is None}
        ck.eq(tombs, set(TOMBSTONED), "tombstones kept by the first pass")
        ck(not any(v in aborted for _, _, v in recs), "aborted records gone in the first pass")

        def cleaned():
            recs = read(bs, "read_uncommitted")
            keys = [k for _, k, _ in recs]
            return (len(keys) == len(set(keys)) and not any(v in aborted for _, _, v in recs)
                    and not any(k.decode() in TOMBSTONED for k in keys))
        wait_until(cleaned, 40, interval=0.3, what="the cleaner's work")
        ck(time.monotonic() - t_first >= DELETE_RETENTION_MS / 1000 - 1,
           "tombstones stayed delete.retention.ms after their segment was cleaned")
        recs = check_cleaned(ck, bs, expected, aborted, "cleaned")
        after = log_bytes(b)
        ck(after < before / 2, f"log files shrank: {before} -> {after} bytes")
        ck(metric(b, "brook_log_cleaner_passes_total") >= 1, "passes counted")
        ck(metric(b, "brook_log_cleaner_records_removed_total") >= ROUNDS * len(KEYS) - 10,
           "removed records counted")
        ck(metric(b, "brook_log_cleaner_bytes_freed_total") > 0, "freed bytes counted")
        # Reading from a removed offset starts at the next record.
        first = recs[0][0]
        gap = next(o + 1 for (o, _, _), (n, _, _) in zip(recs, recs[1:]) if n > o + 1)
        r = read(bs, "read_committed", start=gap)
        ck(r and r[0][0] > gap and r == [x for x in recs if x[0] > gap],
           f"read from removed offset {gap} (first record at {first})")

        # A crash, with the producer snapshots gone: state rebuilt from the cleaned log.
        os.unlink(os.path.join(b.data_dir, f"{TOPIC}-0", "producer.snapshot"))
        prev = os.path.join(b.data_dir, f"{TOPIC}-0", "producer.snapshot.prev")
        if os.path.exists(prev):  # the one before, kept by a roll
            os.unlink(prev)
        b.crash_restart()
        ck(not any(f.endswith(".cleaned") for f in
                   os.listdir(os.path.join(b.data_dir, f"{TOPIC}-0"))), "no temporaries left")
        check_cleaned(ck, bs, expected, aborted, "after crash")
        # The idempotent producer of the removed batches goes on (same producer id and
        # sequence numbers): no OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID.
        errors = []
        for i in range(5):
            idem.produce(TOPIC, key=b"k2", value=f"after-{i}".encode(), partition=0,
                         on_delivery=lambda err, m: errors.append(err) if err else None)
        flush(idem)
        ck(errors == [], f"idempotent producer after the crash: {errors}")
        expected[b"k2"] = b"after-4"
        got = {k: v for _, k, v in read(bs, "read_committed")}
        ck.eq(got, expected, "after new writes")
    default_policy_checks(ck)
    ck.done()


def described(admin, kind, name, key):
    res = ConfigResource(kind, name)
    entry = admin.describe_configs([res])[res].result(30)[key]
    return entry.value


def keyless_error(bs, topic):
    """The delivery error of one record without a key (None: delivered)."""
    p = producer(bs, {"message.timeout.ms": 10000})
    out = []
    p.produce(topic, value=b"no key", on_delivery=lambda err, m: out.append(err))
    flush(p)
    return out[0] if out else "no delivery report"


def default_policy_checks(ck):
    with Broker(config={"log.cleanup.policy": "compact"}, name="cleanup-default") as b:
        bs = b.bootstrap
        admin = AdminClient({"bootstrap.servers": bs, "logger": quiet_logger()})
        fs = admin.create_topics([NewTopic("plain", 1, -1),
                                  NewTopic("deleting", 1, -1,
                                           config={"cleanup.policy": "delete"})])
        for f in fs.values():
            f.result(30)
        ck.eq(described(admin, ConfigResource.Type.TOPIC, "plain", "cleanup.policy"),
              "compact", "a topic without its own policy takes the broker's compact")
        ck.eq(described(admin, ConfigResource.Type.TOPIC, "deleting", "cleanup.policy"),
              "delete", "its own cleanup.policy wins")
        err = keyless_error(bs, "plain")
        ck(err is not None and "INVALID_RECORD" in str(err.name()),
           f"a keyless record to the compacted default topic is refused ({err})")
        ck.eq(keyless_error(bs, "deleting"), None, "and accepted on the delete topic")
        c = consumer(bs, {"group.id": "g-default", "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition("deleting", 0, 1)], asynchronous=False)
        got = c.committed([TopicPartition("deleting", 0)], timeout=30)
        c.close()
        ck.eq(got[0].offset, 1, "a group commit works (its internal topic keeps delete)")
        ck.eq(described(admin, ConfigResource.Type.TOPIC, "__consumer_offsets",
                        "cleanup.policy"), "delete", "__consumer_offsets keeps delete")
        with Conn(bs) as conn:  # the cluster-wide default (resource name ""), op SET
            err, msg = incremental_alter_configs(conn, 4, "", [("log.cleanup.policy", 0,
                                                                 "delete")])
        ck.eq(err, 0, f"IncrementalAlterConfigs of the cluster default ({msg})")
        ck.eq(described(admin, ConfigResource.Type.TOPIC, "plain", "cleanup.policy"),
              "delete", "after AlterConfigs of the cluster default: delete")
        ck.eq(keyless_error(bs, "plain"), None, "and a keyless record is accepted")


if __name__ == "__main__":
    run_main(main)
