#!/usr/bin/python3
"""Idempotent Produce retries on the wire (raw Kafka protocol, no client library), as
librdkafka and kafkajs depend on them after a lost response or a broker restart:

  * a retried batch (same producer id, epoch and sequence range) of the last 5 is answered
    promptly with error 0 and the ORIGINAL base offset, and is not appended again;
    this holds for the last batch, for an older one of the last 5, and for a retry alone
    on an otherwise idle broker (log.flush.mode=sync: nothing else will be flushed);
  * a sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER (45); a batch with an older epoch after
    the client bumped its own epoch (new epoch, sequence 0) gets INVALID_PRODUCER_EPOCH (47);
  * after a SIGKILL restart the producer state is rebuilt: a retry of the last batch is
    again answered promptly with its original offset, and the next sequence is accepted.

Every request waits at most 5 s for its answer; no answer is a failure."""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402

TOPIC = b"tir-t"
ANSWER_WITHIN = 5.0

_CRC_TABLE = []


def crc32c(data):
    if not _CRC_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(n):
    n = (n << 1) ^ (n >> 63)
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def record_batch(pid, epoch, seq, values):
    """A magic-2 RecordBatch holding `values` (no keys, no headers)."""
    recs = b""
    for i, v in enumerate(values):
        r = bytes([0]) + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(r)) + r
    ts = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, ts, ts, pid, epoch, seq, len(values)) + recs
    body = struct.pack(">iB", -1, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def s16(x):
    return struct.pack(">h", len(x)) + x


class Conn:
    def __init__(self, bootstrap):
        host, port = bootstrap.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=10)
        self.corr = 0

    def close(self):
        self.s.close()

    def request(self, key, version, body, what):
        self.corr += 1
        msg = struct.pack(">hhih", key, version, self.corr, 9) + b"brook-tir" + body
        self.s.sendall(struct.pack(">i", len(msg)) + msg)
        self.s.settimeout(ANSWER_WITHIN)
        t0 = time.monotonic()
        try:
            (n,) = struct.unpack(">i", self._recv(4))
            r = self._recv(n)
        except socket.timeout:
            raise AssertionError(f"{what}: no answer within {ANSWER_WITHIN}s") from None
        (corr,) = struct.unpack(">i", r[:4])
        if corr != self.corr:
            raise AssertionError(f"{what}: correlation id {corr}, expected {self.corr}")
        return r[4:], time.monotonic() - t0

    def _recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise ConnectionError("connection closed by the broker")
            b += c
        return b

    def init_producer_id(self):
        r, _ = self.request(22, 0, struct.pack(">hi", -1, 60000), "InitProducerId")
        _, err, pid, epoch = struct.unpack(">ihqh", r[:16])
        if err:
            raise AssertionError(f"InitProducerId error {err}")
        return pid, epoch

    def produce(self, rb, what):
        """Produce v3, acks=all, to TOPIC/0 -> (error, base_offset, seconds)."""
        body = (struct.pack(">hhi", -1, -1, 10000) + struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">i", 1)
                + struct.pack(">ii", 0, len(rb)) + rb)
        r, dt = self.request(0, 3, body, what)
        pos = 4
        (nl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + nl + 4
        _part, err, base, _ = struct.unpack_from(">ihqq", r, pos)
        return err, base, dt

    def list_latest(self):
        body = struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">i", 1) + \
            struct.pack(">iq", 0, -1)
        r, _ = self.request(2, 2, body, "ListOffsets")
        pos = 4 + 4
        (nl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + nl + 4
        _part, err, _ts, off = struct.unpack_from(">ihqq", r, pos)
        return off


def main():
    ck = Check("txn-idempotent-retry")
    with Broker(name="tir", config={"log.flush.mode": "sync", "num.partitions": 1,
                                    "transaction.state.log.num.partitions": 4,
                                    "offsets.topic.num.partitions": 4}) as b:
        c = Conn(b.bootstrap)
        c.request(3, 1, struct.pack(">i", 1) + s16(TOPIC), "Metadata (auto-create)")
        time.sleep(0.2)
        pid, epoch = c.init_producer_id()
        batches = [record_batch(pid, epoch, 2 * i, [b"v%d-0" % i, b"v%d-1" % i]) for i in range(6)]
        offsets = []
        for i, rb in enumerate(batches):
            err, base, _ = c.produce(rb, f"batch {i}")
            ck.eq(err, 0, f"batch {i} error")
            offsets.append(base)
        ck.eq(offsets, [0, 2, 4, 6, 8, 10], "base offsets of 6 batches of 2")

        # The idle broker: a retry of the last batch alone.
        err, base, dt = c.produce(batches[5], "retry of the last batch (idle broker)")
        ck.eq((err, base), (0, 10), "retry of the last batch: error, original base offset")
        ck(dt < 2.0, f"retry of the last batch answered after {dt:.2f}s")
        # An older batch among the last 5.
        err, base, dt = c.produce(batches[2], "retry of an older batch")
        ck.eq((err, base), (0, 4), "retry of batch 2 (of the last 5): error, original base offset")
        ck.eq(c.list_latest(), 12, "nothing appended by the retries")
        # Gap, then an epoch bump by the client, then the old epoch.
        err, _, _ = c.produce(record_batch(pid, epoch, 20, [b"gap"]), "sequence gap")
        ck.eq(err, 45, "sequence gap -> OUT_OF_ORDER_SEQUENCE_NUMBER")
        err, base, _ = c.produce(record_batch(pid, epoch + 1, 0, [b"bumped"]), "bumped epoch")
        ck.eq((err, base), (0, 12), "client epoch bump (epoch+1, seq 0) accepted")
        err, _, _ = c.produce(record_batch(pid, epoch, 12, [b"old"]), "old epoch")
        ck.eq(err, 47, "old epoch after the bump -> INVALID_PRODUCER_EPOCH")
        nxt = record_batch(pid, epoch + 1, 1, [b"n1", b"n2"])
        err, base, _ = c.produce(nxt, "next batch")
        ck.eq((err, base), (0, 13), "next batch")
        c.close()

        # Crash: the producer state is rebuilt from the log (and snapshot).
        b.crash_restart()
        c = Conn(b.bootstrap)
        err, base, dt = c.produce(nxt, "retry after a SIGKILL restart")
        ck.eq((err, base), (0, 13), "retry after restart: error, original base offset")
        ck(dt < 2.0, f"retry after restart answered after {dt:.2f}s")
        err, base, _ = c.produce(record_batch(pid, epoch + 1, 3, [b"after"]), "next after restart")
        ck.eq((err, base), (0, 15), "the next sequence after restart")
        ck.eq(c.list_latest(), 16, "high watermark")
        c.close()
    ck.done()


if __name__ == "__main__":
    run_main(main)
