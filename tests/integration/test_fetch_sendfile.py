#!/usr/bin/python3
"""Fetch answers sent from segment files by sendfile (plaintext listeners, #14):

  1. librdkafka (confluent-kafka, check.crcs) reads back 3 partitions of 1 KiB records
     (~12 MB) and a partition holding committed and aborted transactions with
     read_committed: every committed record once, in order, no aborted one (the aborted
     list is computed from the file span's end); /metrics shows the bytes went by sendfile.
  2. A slow reader (4 KiB receive buffer, reading in small pieces after a pause, so the
     socket fills and the broker waits for writability mid-span): the records bytes of an
     8 MiB Fetch equal the segment file's bytes at the same place.
  3. Pipelined requests on one connection (Fetch, Metadata, Fetch, ApiVersions) are
     answered in order, both Fetch answers whole: memory pieces queue behind file spans.
  4. With fetch.sendfile.min.bytes=0 the same read is copied: nothing goes by sendfile,
     and the records are the same.
  5. With log.cache.keep.bytes=1 MiB, ~24 MiB written to one partition: the synced
     segment's older pages are released from the page cache (/metrics counts the bytes),
     and a reader from offset 0 still gets every record byte for byte, its fetches asking
     for readahead. Then the same with fetch.sendfile.min.bytes=0: the answers are copied
     (as on a TLS connection) and still ask for readahead.
Every read waits at most 60 s."""

import os
import socket
import struct
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402
from ck_helpers import consumer, flush, producer, read_partition  # noqa: E402
import raw_kafka  # noqa: E402
from raw_kafka import Conn as RawConn, s16  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

TOPIC = "sf-t"
TXN_TOPIC = "sf-x"
PARTS = 3
PER_PART = 4000
VALUE = 1024


def value(p, i):
    head = f"{p}:{i}:".encode()
    return head + bytes((p * 131 + i * 7 + k) & 0xFF for k in range(VALUE - len(head)))


def metrics(b):
    addr = b.admin_address()
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(("brook_fetch_sendfile", "brook_fetch_readahead",
                            "brook_log_cache")):
            name, v = line.split(" ", 1)
            out[name] = float(v)
    return out


def produce_plain(b):
    p = producer(b.bootstrap, {"linger.ms": 20, "batch.size": 256 * 1024})
    for i in range(PER_PART):
        for part in range(PARTS):
            p.produce(TOPIC, value(part, i), partition=part)
        if i % 500 == 0:
            p.poll(0)
    flush(p, 120)


def produce_txns(b):
    """10 transactions of 200 x 2 KiB on TXN_TOPIC/0, odd ones aborted -> committed values."""
    p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "sf-tx",
                  "linger.ms": 20})
    p.init_transactions(30)
    committed = []
    for t in range(10):
        p.begin_transaction()
        vals = [f"t{t}:{i}:".encode() + b"x" * 2048 for i in range(200)]
        for v in vals:
            p.produce(TXN_TOPIC, v, partition=0)
        if t % 2:
            p.abort_transaction(30)
        else:
            p.commit_transaction(30)
            committed += vals
    return committed


def fetch_body(topic, partition, offset, max_bytes):
    """Fetch v4, max_wait 0, read_uncommitted, one partition."""
    return (struct.pack(">iiiib", -1, 0, 0, max_bytes, 0) + struct.pack(">i", 1)
            + s16(topic.encode()) + struct.pack(">i", 1)
            + struct.pack(">iqi", partition, offset, max_bytes))


def fetch_records(resp):
    """The records bytes of the first partition of a Fetch v4 response body."""
    rd = raw_kafka.Reader(resp)
    rd.take(">i")  # throttle
    rd.take(">i")
    rd.string()
    rd.take(">i")
    _part, err, _hw, _lso = rd.take(">ihqq")
    na = rd.take(">i")
    for _ in range(max(na, 0)):
        rd.take(">qq")
    return err, rd.bytes_() or b""


def frame(corr, key, version, body):
    msg = struct.pack(">hhi", key, version, corr) + s16(b"sf-raw") + body
    return struct.pack(">i", len(msg)) + msg


def read_frames(s, n, slow=False, deadline_s=60.0):
    """n response frames from socket s -> [(correlation id, body)]; slow: small reads."""
    buf, out = b"", []
    deadline = time.monotonic() + deadline_s
    while len(out) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(out)} of {n} answers within {deadline_s}s")
        chunk = s.recv(2048 if slow else 1 << 20)
        if not chunk:
            raise AssertionError("the broker closed the connection")
        buf += chunk
        if slow and len(buf) < 256 * 1024:
            time.sleep(0.001)
        while len(buf) >= 4:
            (size,) = struct.unpack(">i", buf[:4])
            if len(buf) < 4 + size:
                break
            (corr,) = struct.unpack(">i", buf[4:8])
            out.append((corr, buf[8:4 + size]))
            buf = buf[4 + size:]
    return out


def segment_bytes(b, topic, partition, n):
    path = os.path.join(b.data_dir, f"{topic}-{partition}", "00000000000000000000.log")
    with open(path, "rb") as f:
        return f.read(n)


def part1_clients(chk, b):
    produce_plain(b)
    committed = produce_txns(b)
    before = metrics(b)
    for part in range(PARTS):
        c = consumer(b.bootstrap, {"check.crcs": True, "fetch.max.bytes": 8 << 20,
                                   "max.partition.fetch.bytes": 4 << 20})
        try:
            got = [m.value() for m in read_partition(c, TOPIC, part, 0, timeout=60)]
        finally:
            c.close()
        chk.eq(len(got), PER_PART, f"{TOPIC}/{part}: records read back")
        chk(got == [value(part, i) for i in range(PER_PART)],
            f"{TOPIC}/{part}: every record once, in order, byte for byte")
    c = consumer(b.bootstrap, {"check.crcs": True, "isolation.level": "read_committed"})
    try:
        got = [m.value() for m in read_partition(c, TXN_TOPIC, 0, 0, timeout=60)]
    finally:
        c.close()
    chk.eq(len(got), len(committed), f"{TXN_TOPIC}: committed records read (read_committed)")
    chk(got == committed, f"{TXN_TOPIC}: the committed transactions exactly, no aborted record")
    after = metrics(b)
    sent = after["brook_fetch_sendfile_bytes_total"] - before["brook_fetch_sendfile_bytes_total"]
    total = PARTS * PER_PART * VALUE
    chk(sent >= total, f"sendfile carried the reads ({sent:.0f} bytes >= {total} of values)")
    chk(after["brook_fetch_sendfile_partitions_total"]
        > before["brook_fetch_sendfile_partitions_total"], "partition answers sent as file spans")


def part2_slow_reader(chk, b):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((b.host, b.port))
    s.settimeout(30)
    try:
        m0 = metrics(b)
        before = m0["brook_fetch_sendfile_bytes_total"]
        s.sendall(frame(7, 1, 4, fetch_body(TOPIC, 1, 0, 8 << 20)))
        time.sleep(1.0)  # the socket buffers fill: the broker must wait to go on
        ((corr, body),) = read_frames(s, 1, slow=True)
        err, recs = fetch_records(body)
        chk.eq((corr, err), (7, 0), "slow reader: the Fetch answer")
        chk(len(recs) >= 3 << 20, f"slow reader: {len(recs)} record bytes in one answer")
        chk(recs == segment_bytes(b, TOPIC, 1, len(recs)),
            "slow reader: the records bytes equal the segment file's")
        m1 = metrics(b)
        sent = m1["brook_fetch_sendfile_bytes_total"] - before
        chk(sent >= len(recs) - 4096, f"slow reader: sent by sendfile ({sent:.0f} bytes)")
        waits = m1["brook_fetch_sendfile_waits_total"] - m0["brook_fetch_sendfile_waits_total"]
        chk(waits >= 1, f"slow reader: the span waited for a full socket ({waits:.0f} times)")
    finally:
        s.close()


def part3_pipelined(chk, b):
    s = socket.create_connection((b.host, b.port), timeout=30)
    try:
        md = struct.pack(">i", 1) + s16(TOPIC.encode())
        s.sendall(frame(1, 1, 4, fetch_body(TOPIC, 0, 0, 2 << 20))
                  + frame(2, 3, 1, md)
                  + frame(3, 1, 4, fetch_body(TOPIC, 2, 100, 2 << 20))
                  + frame(4, 18, 0, b""))
        answers = read_frames(s, 4)
        chk.eq([a[0] for a in answers], [1, 2, 3, 4], "pipelined: answers in request order")
        e0, r0 = fetch_records(answers[0][1])
        e2, r2 = fetch_records(answers[2][1])
        chk.eq((e0, e2), (0, 0), "pipelined: both Fetch answers without error")
        chk(r0 == segment_bytes(b, TOPIC, 0, len(r0)) and len(r0) > 1 << 20,
            "pipelined: the first Fetch's records equal the segment file's")
        vals = [v for bt in raw_kafka.parse_batches(r2) for (_o, _k, v) in bt["records"]]
        chk(value(2, 100) in vals and len(vals) > 1000,
            f"pipelined: the second Fetch holds offset 100's record ({len(vals)} records)")
        (err_code,) = struct.unpack(">h", answers[3][1][:2])
        chk.eq(err_code, 0, "pipelined: ApiVersions after them answered")
    finally:
        s.close()


def part4_disabled(chk):
    with Broker(config={"fetch.sendfile.min.bytes": 0}, name="sf-off") as b:
        with RawConn(b.bootstrap) as rc:
            rc.create_topic(TOPIC.encode(), 1)
        p = producer(b.bootstrap, {"linger.ms": 20})
        for i in range(1000):
            p.produce(TOPIC, value(0, i), partition=0)
        flush(p)
        s = socket.create_connection((b.host, b.port), timeout=30)
        try:
            s.sendall(frame(9, 1, 4, fetch_body(TOPIC, 0, 0, 4 << 20)))
            ((_c, body),) = read_frames(s, 1)
        finally:
            s.close()
        err, recs = fetch_records(body)
        chk(err == 0 and len(recs) >= 1000 * VALUE, f"disabled: {len(recs)} record bytes read")
        chk(recs == segment_bytes(b, TOPIC, 0, len(recs)), "disabled: the same bytes, copied")
        chk.eq(metrics(b)["brook_fetch_sendfile_bytes_total"], 0.0,
               "disabled: nothing went by sendfile")


def part5_cache_released(chk, copied):
    n = 24000
    cfg = {"log.cache.keep.bytes": 1 << 20}
    what = "cache"
    if copied:
        cfg["fetch.sendfile.min.bytes"] = 0
        what = "cache, copied"
    with Broker(config=cfg, name="sf-cache") as b:
        with RawConn(b.bootstrap) as rc:
            rc.create_topic(TOPIC.encode(), 1)
        p = producer(b.bootstrap, {"linger.ms": 20, "batch.size": 256 * 1024})
        for i in range(n):
            p.produce(TOPIC, value(0, i), partition=0)
        flush(p)
        released = metrics(b)["brook_log_cache_released_bytes_total"]
        chk(released >= 16 << 20, f"{what}: {released:.0f} bytes released behind the syncs")
        c = consumer(b.bootstrap, {"check.crcs": True, "fetch.max.bytes": 8 << 20,
                                   "max.partition.fetch.bytes": 4 << 20})
        try:
            got = [m.value() for m in read_partition(c, TOPIC, 0, 0, timeout=60)]
        finally:
            c.close()
        chk.eq(len(got), n, f"{what}: records read back from offset 0")
        chk(got == [value(0, i) for i in range(n)], f"{what}: every record once, byte for byte")
        m = metrics(b)
        ra = m["brook_fetch_readahead_requests_total"]
        chk(ra >= 2, f"{what}: the reader's fetches asked for readahead ({ra:.0f} requests)")
        if copied:
            chk.eq(m["brook_fetch_sendfile_bytes_total"], 0.0, f"{what}: nothing by sendfile")


def main():
    chk = Check("fetch_sendfile")
    with Broker(name="sf") as b:
        with RawConn(b.bootstrap) as rc:
            rc.create_topic(TOPIC.encode(), PARTS)
            rc.create_topic(TXN_TOPIC.encode(), 1)
        part1_clients(chk, b)
        part2_slow_reader(chk, b)
        part3_pipelined(chk, b)
    part4_disabled(chk)
    part5_cache_released(chk, False)
    part5_cache_released(chk, True)
    return chk.done()


if __name__ == "__main__":
    run_main(main)
