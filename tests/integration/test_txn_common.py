"""Helper module, not a test by itself: helpers shared by the transaction integration
tests (test_txn_*.py).  A raw ListOffsets v2 client (to read the broker's answer for each
isolation level directly, without a client library in between), transactional producers
that remember their delivery reports, and readers that return (offset, value) lists.
Import only under /usr/bin/python3."""

import logging
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ck_helpers import consumer, read_partition  # noqa: E402
from cluster_harness import leader_address  # noqa: E402

from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402

READ_UNCOMMITTED = 0
READ_COMMITTED = 1

FENCED_CODES = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)


def quiet_logger(name="brook-txn-rdkafka"):
    lg = logging.getLogger(name)
    if not lg.handlers:
        lg.addHandler(logging.NullHandler())
    lg.propagate = False
    return lg


# --------------------------------------------------------------------- raw ListOffsets v2
def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        c = s.recv(n - len(buf))
        if not c:
            raise ConnectionError("connection closed by broker")
        buf += c
    return buf


def list_offsets(bootstrap, topic, partitions, isolation, timestamp=-1, timeout=10.0):
    """Sends one ListOffsets v2 request (timestamp -1 = latest) and returns
    {partition: (error_code, offset)}."""
    host, port = bootstrap.rsplit(":", 1)
    client = b"brook-txn-test"
    body = struct.pack(">ib", -1, isolation)
    body += struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode()
    body += struct.pack(">i", len(partitions))
    for p in partitions:
        body += struct.pack(">iq", p, timestamp)
    corr = 4242
    hdr = struct.pack(">hhih", 2, 2, corr, len(client)) + client
    req = hdr + body
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">i", len(req)) + req)
        (size,) = struct.unpack(">i", _recv_exact(s, 4))
        resp = _recv_exact(s, size)
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, resp, pos)
        pos += struct.calcsize(fmt)
        return v

    (rcorr,) = take(">i")
    if rcorr != corr:
        raise AssertionError(f"ListOffsets: correlation id {rcorr}, expected {corr}")
    take(">i")  # throttle
    out = {}
    (nt,) = take(">i")
    for _ in range(nt):
        (ln,) = take(">h")
        name = resp[pos:pos + ln].decode()
        pos += ln
        (np_,) = take(">i")
        for _ in range(np_):
            part, err, _ts, off = take(">ihqq")
            if name == topic:
                out[part] = (err, off)
    return out


def latest(bootstrap, topic, partition, isolation):
    """ListOffsets(latest) of one partition at an isolation level; raises on an error code."""
    # To the partition's leader: in a cluster (BROOK_TEST_CLUSTER) it may not be bootstrap.
    r = list_offsets(leader_address(bootstrap, topic, partition), topic, [partition], isolation)
    err, off = r[partition]
    if err != 0:
        raise AssertionError(f"ListOffsets {topic}/{partition} isolation {isolation}: error {err}")
    return off


# --------------------------------------------------------------------- producers
class TxnProducer:
    """A transactional confluent-kafka producer that records every delivery report:
    self.dr[value] = (err, topic, partition, offset)."""

    def __init__(self, bootstrap, txn_id, conf=None, init=True, init_timeout=30):
        c = {"bootstrap.servers": bootstrap, "transactional.id": txn_id,
             "transaction.timeout.ms": 60000, "linger.ms": 5, "message.timeout.ms": 30000,
             "socket.timeout.ms": 10000, "log.connection.close": False}
        c.update(conf or {})
        if os.environ.get("BROOK_RDKAFKA_DEBUG"):
            c.setdefault("debug", os.environ["BROOK_RDKAFKA_DEBUG"])
        self.txn_id = txn_id
        self.p = Producer(c)
        self.dr = {}
        if init:
            self.p.init_transactions(init_timeout)

    def _cb(self, err, m):
        self.dr[m.value()] = (err, m.topic(), m.partition(), m.offset() if err is None else None)

    def produce(self, topic, partition, value, key=None):
        self.p.produce(topic, value=value, key=key, partition=partition, on_delivery=self._cb)
        self.p.poll(0)

    def flush(self, timeout=30):
        left = self.p.flush(timeout)
        if left:
            raise AssertionError(f"{self.txn_id}: {left} messages not delivered after {timeout}s")

    def offset_of(self, value):
        err, _, _, off = self.dr[value]
        if err is not None:
            raise AssertionError(f"{value!r} not delivered: {err}")
        return off


def expect_fatal_fenced(ck, fn, what):
    """fn() must raise a KafkaException whose error is fatal or a fencing error."""
    try:
        fn()
    except KafkaException as e:
        err = e.args[0]
        ck(err.fatal() or err.code() in FENCED_CODES,
           f"{what}: failed, but not as fenced/fatal: {err.name()} ({err.str()})")
        return err
    ck(False, f"{what}: succeeded, expected a fenced error")


# --------------------------------------------------------------------- readers
def read_values(bootstrap, topic, partition, isolation, start=0, timeout=60):
    """[(offset, value)] of topic/partition from `start` to EOF at the given isolation level."""
    c = consumer(bootstrap, {"isolation.level": isolation, "logger": quiet_logger()})
    try:
        return [(m.offset(), m.value()) for m in read_partition(c, topic, partition, start, timeout=timeout)]
    finally:
        c.close()


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
