#!/usr/bin/python3
"""Incremental fetch sessions (KIP-227, #14) over the raw protocol (Fetch v11):

  1. epoch 0 opens a session over 4 partitions: a session id, every partition answered;
  2. epoch 1 names nothing new: with nothing new anywhere the answer lists no partition;
  3. records appended to one partition: epoch 2 (naming no partition) answers that one
     only, from the session's position;
  4. a partition moved on by the fetcher and another forgotten: the forgotten one is no
     longer answered when records reach it, the moved one is read from its new position;
  5. a long poll on the session (max_wait 5 s) is answered as soon as records reach one of
     its partitions, and only with that partition;
  6. a replayed epoch is INVALID_FETCH_SESSION_EPOCH, an unknown id
     FETCH_SESSION_ID_NOT_FOUND, both with no partition; /metrics counts the session;
     epoch -1 closes it (then unknown), and a full fetch without a session still works;
  7. with max.incremental.fetch.session.cache.slots=0 epoch 0 gets no session (id 0) and
     a full answer.
Every request waits at most 10 s for its answer."""

import os
import struct
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402
import raw_kafka  # noqa: E402
from raw_kafka import Conn as RawConn, s16  # noqa: E402

TOPIC = b"fs-t"
PARTS = 4
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71


def fetch(conn, session_id, epoch, parts, forgotten=(), max_wait=100):
    """Fetch v11 -> (error, session id, {partition: (error, hw, [values])}).
    parts: [(partition, offset)] of TOPIC; forgotten: [partition]."""
    body = struct.pack(">iiiibii", -1, max_wait, 1, 8 << 20, 0, session_id, epoch)
    if parts:
        body += struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">i", len(parts))
        for p, off in parts:
            body += struct.pack(">iiqqi", p, -1, off, -1, 1 << 20)
    else:
        body += struct.pack(">i", 0)
    if forgotten:
        body += struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">i", len(forgotten))
        body += b"".join(struct.pack(">i", p) for p in forgotten)
    else:
        body += struct.pack(">i", 0)
    body += s16(b"")
    r, _ = conn.request(1, 11, body, f"Fetch v11 session {session_id} epoch {epoch}")
    rd = raw_kafka.Reader(r)
    _throttle, err, sid = rd.take(">ihi")
    out = {}
    for _ in range(rd.take(">i")):
        name = rd.string()
        for _ in range(rd.take(">i")):
            part, perr, hw, _lso, _start = rd.take(">ihqqq")
            na = rd.take(">i")
            for _ in range(max(na, 0)):
                rd.take(">qq")
            rd.take(">i")  # preferred read replica
            recs = rd.bytes_() or b""
            vals = [v for b in raw_kafka.parse_batches(recs) for (_o, _k, v) in b["records"]]
            if name == TOPIC.decode():
                out[part] = (perr, hw, vals)
    return err, sid, out


def produce(conn, part, values):
    err, base, _ = conn.produce(TOPIC, part, raw_kafka.record_batch(-1, -1, -1, values),
                                acks=1)
    if err:
        raise AssertionError(f"produce to {part}: error {err}")
    return base


def sessions_metric(b):
    with urllib.request.urlopen(f"http://{b.admin_address()}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("brook_fetch_sessions "):
                return float(line.split()[1])
    raise AssertionError("no brook_fetch_sessions in /metrics")


def main():
    chk = Check("fetch_sessions")
    with Broker(name="fsess") as b:
        with RawConn(b.bootstrap, answer_within=10) as c, RawConn(b.bootstrap) as w:
            c.create_topic(TOPIC, PARTS)
            for p in range(PARTS):
                produce(w, p, [f"{p}:{i}".encode() for i in range(10)])
            # 1
            err, sid, got = fetch(c, 0, 0, [(p, 0) for p in range(PARTS)])
            chk.eq(err, 0, "open: no error")
            chk(sid > 0, f"open: a session id ({sid})")
            chk.eq(sorted(got), list(range(PARTS)), "open: every partition answered")
            chk(all(got[p][2] == [f"{p}:{i}".encode() for i in range(10)] for p in got),
                "open: every partition's records")
            # 2
            err, sid2, got = fetch(c, sid, 1, [(p, 10) for p in range(PARTS)])
            chk.eq((err, sid2, got), (0, sid, {}), "epoch 1, nothing new: no partition")
            # 3
            produce(w, 2, [b"2:10", b"2:11"])
            err, _, got = fetch(c, sid, 2, [])
            chk.eq(sorted(got), [2], "epoch 2: only the partition with new records")
            chk.eq(got[2][2], [b"2:10", b"2:11"], "epoch 2: from the session's position")
            chk.eq(got[2][1], 12, "epoch 2: its new high watermark")
            # 4
            produce(w, 3, [b"3:10"])
            produce(w, 1, [b"1:10"])
            err, _, got = fetch(c, sid, 3, [(2, 12)], forgotten=[3])
            chk.eq(sorted(got), [1], "epoch 3: partition 3 forgotten, partition 1 new")
            produce(w, 2, [b"2:12"])
            err, _, got = fetch(c, sid, 4, [(1, 11)])
            chk.eq(sorted(got), [2], "epoch 4: partition 2 from its moved position only")
            chk.eq(got[2][2], [b"2:12"], "epoch 4: the record after the moved position")
            # 5
            timer = threading.Timer(0.5, lambda: produce(w, 0, [b"0:10"]))
            t0 = time.monotonic()
            timer.start()
            try:
                err, _, got = fetch(c, sid, 5, [(2, 13)], max_wait=5000)
            finally:
                timer.join()
            dt = time.monotonic() - t0
            chk.eq(sorted(got), [0], "long poll: answered with the partition that got records")
            chk(dt < 4.0, f"long poll: answered when the records came ({dt:.2f} s)")
            # 6
            err, sid6, got = fetch(c, sid, 5, [])
            chk.eq((err, sid6, got), (INVALID_FETCH_SESSION_EPOCH, 0, {}), "a replayed epoch")
            err, sid6, got = fetch(c, sid + 1, 1, [])
            chk.eq((err, got), (FETCH_SESSION_ID_NOT_FOUND, {}), "an unknown session id")
            chk.eq(sessions_metric(b), 1.0, "/metrics: one session")
            err, sid6, got = fetch(c, sid, -1, [(0, 0)])
            chk.eq((err, sid6, sorted(got)), (0, 0, [0]), "epoch -1: closed, a full fetch")
            err, _, _ = fetch(c, sid, 6, [])
            chk.eq(err, FETCH_SESSION_ID_NOT_FOUND, "the closed session is unknown")
            chk.eq(sessions_metric(b), 0.0, "/metrics: no session")
    # 7
    with Broker(name="fsess0", config={"max.incremental.fetch.session.cache.slots": 0}) as b:
        with RawConn(b.bootstrap) as c:
            c.create_topic(TOPIC, 2)
            produce(c, 0, [b"x"])
            err, sid, got = fetch(c, 0, 0, [(0, 0), (1, 0)])
            chk.eq((err, sid, sorted(got)), (0, 0, [0, 1]), "no slots: no session, a full answer")
    return chk.done()


if __name__ == "__main__":
    run_main(main)
