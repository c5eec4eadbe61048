#!/usr/bin/python3
"""kafkajs 2.2.4's read_committed filter hands over a record of an aborted transaction when
a fetch starts past the first offsets of two aborted transactions (the aborted read of the
third hour-long chaos run, docs/reliability.md), while Brook's Fetch answer is right.

The log of one partition, written on the raw protocol: A's transactional record at 0, B's at
1 and 2, A's and B's ABORT markers at 3 and 4, a plain record STOP at 5. A group committed
at offset 2 makes kafkajs fetch from 2.
 1. Brook's Fetch (read_committed, from 2) lists both aborted transactions (A from 0, B
    from 1) and the last stable offset past STOP.
 2. kafkajs with its own filter is handed B's record at 2 (only A becomes "current" at the
    first record: an `if` where a loop is needed) - the client bug, shown.
 3. With tests/integration/js/kafkajs_aborted_fix.js (what the chaos client loads) it is
    handed only STOP.
Skipped (77) without node or kafkajs."""

import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, kafkajs_node, run_main  # noqa: E402
from raw_kafka import Conn, Reader, record_batch, s16  # noqa: E402
from raw_txn_v2 import end_txn, init_producer_id, produce  # noqa: E402

JS = os.path.join(HERE, "js")
TOPIC = "kj-ab"
NONE = 0


def commit_offset(conn, group, offset):
    """OffsetCommit v2 of partition 0 (a group without members) -> error."""
    body = (s16(group.encode()) + struct.pack(">i", -1) + s16(b"") + struct.pack(">q", -1)
            + struct.pack(">i", 1) + s16(TOPIC.encode()) + struct.pack(">i", 1)
            + struct.pack(">iq", 0, offset) + s16(b""))
    r, _ = conn.request(8, 2, body, "OffsetCommit v2")
    rd = Reader(r)
    rd.take(">i")
    rd.string()
    rd.take(">i")
    return rd.take(">ih")[1]


def main():
    node = kafkajs_node(JS)
    if not node:
        return 77
    ck = Check("kafkajs_aborted")
    with Broker(name="kjab") as b, Conn(b.bootstrap) as c:
        ck.eq(c.create_topic(TOPIC, 1), NONE, "topic created")
        pids = {}
        for tid in ("ta", "tb"):
            err, pid, epoch = init_producer_id(c, tid)
            ck.eq(err, NONE, f"InitProducerId {tid}")
            pids[tid] = (pid, epoch)
        for tid, seq, value, want in (("ta", 0, b"a0", 0), ("tb", 0, b"b1", 1),
                                      ("tb", 1, b"b2", 2)):
            pid, epoch = pids[tid]
            err, base = produce(c, tid, TOPIC, 0, record_batch(pid, epoch, seq, [value],
                                                               transactional=True))
            ck.eq((err, base), (NONE, want), f"{tid}'s {value.decode()} at {want}")
        for tid in ("ta", "tb"):
            ck.eq(end_txn(c, tid, *pids[tid], commit=False)[0], NONE, f"{tid} aborted")
        ck.eq(c.produce(TOPIC, 0, record_batch(-1, -1, -1, [b"STOP"]))[:2], (NONE, 5),
              "STOP at 5")
        f = c.fetch(TOPIC, 0, 2, isolation=1)
        ck.eq(sorted(f["aborted"]), sorted([(pids["ta"][0], 0), (pids["tb"][0], 1)]),
              "Fetch from 2 lists both aborted transactions")
        ck.eq(f["last_stable_offset"], 6, "the last stable offset")
        for mode, want in (("stock", ["b2", "STOP"]), ("fixed", ["STOP"])):
            group = f"g-{mode}"
            ck.eq(commit_offset(c, group, 2), NONE, f"{group} committed at 2")
            env = dict(os.environ, KAFKAJS_STOCK_ABORT_FILTER="1" if mode == "stock" else "0")
            p = subprocess.run([node, os.path.join(JS, "test_kafkajs_aborted.js"), b.bootstrap,
                                TOPIC, group, "STOP"], cwd=JS, env=env, capture_output=True,
                               text=True, timeout=90)
            ck.eq((p.returncode, p.stderr[-1000:]), (0, ""), f"kafkajs ({mode}) exit")
            ck.eq(json.loads(p.stdout.strip().splitlines()[-1]), want,
                  f"kafkajs with the {mode} filter is handed")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
