"""confluent-kafka (python3-confluent-kafka 1.7 / librdkafka 2.0.2) helpers for the
integration tests.  Import only under /usr/bin/python3."""

import os
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

# Brook has no consumer groups yet: consumers use assign() with explicit offsets.  librdkafka
# requires a group.id for assign(); auto-commit and offset storing are off so the group
# coordinator is never needed.
CONSUMER_BASE = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "error",
    "fetch.wait.max.ms": 100,
    "check.crcs": True,
    "socket.timeout.ms": 10000,
    "log.connection.close": False,
}


def _debug(conf):
    # BROOK_RDKAFKA_DEBUG=broker,protocol,... turns on librdkafka debug logs (to stderr).
    if os.environ.get("BROOK_RDKAFKA_DEBUG"):
        conf.setdefault("debug", os.environ["BROOK_RDKAFKA_DEBUG"])


def consumer(bootstrap, conf=None):
    c = dict(CONSUMER_BASE, **{"bootstrap.servers": bootstrap, "group.id": f"brook-integ-{uuid.uuid4()}"})
    c.update(conf or {})
    _debug(c)
    return Consumer(c)


def read_partition(c, topic, partition, start, timeout=60.0, max_messages=10_000_000):
    """Read `topic`/`partition` from `start` until partition EOF.  Returns the list of
    messages.  Raises on any consumer error or when `timeout` expires."""
    c.assign([TopicPartition(topic, partition, start)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {topic}/{partition} from {start}: timed out after {len(out)} messages")
            batch = c.consume(num_messages=10000, timeout=0.5)
            for m in batch:
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        if m.partition() == partition:
                            return out
                        continue
                    raise KafkaException(err)
                if m.topic() == topic and m.partition() == partition:
                    out.append(m)
                    if len(out) > max_messages:
                        raise AssertionError("too many messages")
    finally:
        c.unassign()


def first_message(c, topic, partition, start, timeout=20.0):
    """The first message at/after `start` (None at EOF)."""
    c.assign([TopicPartition(topic, partition, start)])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    return None
                raise KafkaException(err)
            if m.topic() == topic and m.partition() == partition:
                return m
        raise TimeoutError(f"first message of {topic}/{partition} from {start}: timed out")
    finally:
        c.unassign()


def expect_kafka_error(fn, codes, what):
    """Call fn(); it must raise KafkaException with one of `codes`.  Returns the code."""
    try:
        fn()
    except KafkaException as e:
        code = e.args[0].code()
        if code not in codes:
            raise AssertionError(f"{what}: expected error {[KafkaError(x).name() for x in codes]}, "
                                 f"got {e.args[0].name()} ({e.args[0].str()})")
        return code
    raise AssertionError(f"{what}: expected error {[KafkaError(x).name() for x in codes]}, got success")


def producer(bootstrap, conf=None):
    c = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": False,
         "linger.ms": 5, "socket.timeout.ms": 10000}
    c.update(conf or {})
    _debug(c)
    return Producer(c)


def flush(p, timeout=60.0):
    left = p.flush(timeout)
    if left:
        raise AssertionError(f"producer flush: {left} messages still queued after {timeout}s")


def read_all(bootstrap, topic, nparts, expect_total, timeout, group_prefix):
    """Every record of every partition of `topic` from the beginning, read until at least
    `expect_total` records came and none for 2 s, or `timeout` s: {partition: [values]}.
    A plain consumer (group "<group_prefix>-<ns>", no commits, assign() from offset 0)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "%s-%d" % (group_prefix, time.time_ns()),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "enable.partition.eof": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(nparts)])
    got = {p: [] for p in range(nparts)}
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            if sum(map(len, got.values())) >= expect_total and time.monotonic() - quiet_since > 2:
                break
            continue
        quiet_since = time.monotonic()
        got[m.partition()].append(m.value())
    c.close()
    return got
