#!/usr/bin/python3
"""OffsetForLeaderEpoch (API 23) against one node, on the raw protocol: what a consumer asks
after a leader change to find out whether its position was truncated (KIP-320), and what a
follower asks (docs/replication.md; the replication tests use it between nodes).

 1. A topic with 5 records. v4 (flexible), as a consumer (ReplicaId -1): the partition's
    epoch with CurrentLeaderEpoch -1 (no check) answers that epoch and the log end offset;
    with CurrentLeaderEpoch equal to the leader's, the same; one above it is
    UNKNOWN_LEADER_EPOCH (the client is ahead of this broker); an epoch above any the
    partition had is UNDEFINED (-1, -1), as Kafka answers it.
 2. An unknown partition and an unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
 3. v0 (no CurrentLeaderEpoch, no epoch in the answer) and v2 give the same end offset."""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, run_main  # noqa: E402
from raw_kafka import TAGS, Conn, Reader, carr, cstr, flex_request, record_batch, s16  # noqa: E402

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
UNKNOWN_LEADER_EPOCH = 75
TOPIC = "le"


def ofle_v4(conn, topic, partition, current, epoch):
    """-> (error, leader epoch, end offset)."""
    part = struct.pack(">iii", partition, current, epoch) + TAGS
    body = struct.pack(">i", -1) + carr([cstr(topic) + carr([part]) + TAGS]) + TAGS
    rd = flex_request(conn, 23, 4, body, "OffsetForLeaderEpoch v4")
    rd.take(">i")
    out = None
    for _ in range(rd.count()):
        rd.cstring()
        for _ in range(rd.count()):
            err, _p, le, end = rd.take(">hiiq")
            rd.tags()
            out = (err, le, end)
        rd.tags()
    rd.tags()
    rd.end("OffsetForLeaderEpoch v4")
    return out


def ofle_old(conn, version, topic, partition, epoch, current=-1):
    """v0-v2 -> (error, leader epoch or None, end offset)."""
    p = struct.pack(">i", partition) + (struct.pack(">i", current) if version >= 2 else b"")
    p += struct.pack(">i", epoch)
    body = struct.pack(">i", 1) + s16(topic.encode()) + struct.pack(">i", 1) + p
    r, _ = conn.request(23, version, body, f"OffsetForLeaderEpoch v{version}")
    rd = Reader(r)
    if version >= 2:
        rd.take(">i")
    for _ in range(rd.take(">i")):
        rd.string()
        for _ in range(rd.take(">i")):
            err, _p = rd.take(">hi")
            le = rd.take(">i") if version >= 1 else None
            return err, le, rd.take(">q")
    raise AssertionError(f"OffsetForLeaderEpoch v{version}: no partition in the answer")


def main():
    ck = Check("leader_epoch")
    with Broker(name="ofle") as b, Conn(b.bootstrap) as conn:
        ck.eq(conn.create_topic(TOPIC, 1), NONE, "topic created")
        for i in range(5):
            ck.eq(conn.produce(TOPIC, 0, record_batch(-1, -1, -1, [f"v{i}".encode()]))[0], NONE,
                  f"record {i}")
        err, epoch, end = ofle_v4(conn, TOPIC, 0, -1, 0)
        ck.eq((err, end), (NONE, 5), "v4, epoch 0, no current epoch: the log end")
        ck(epoch >= 0, f"the partition's epoch is {epoch}")
        ck.eq(ofle_v4(conn, TOPIC, 0, epoch, epoch), (NONE, epoch, 5),
              "v4 with CurrentLeaderEpoch = the leader's")
        ck.eq(ofle_v4(conn, TOPIC, 0, epoch + 1, epoch)[0], UNKNOWN_LEADER_EPOCH,
              "v4 with a CurrentLeaderEpoch above the leader's")
        ck.eq(ofle_v4(conn, TOPIC, 0, -1, epoch + 5), (NONE, -1, -1),
              "an epoch above any the partition had: UNDEFINED")
        ck.eq(ofle_v4(conn, TOPIC, 3, -1, 0)[0], UNKNOWN_TOPIC_OR_PARTITION, "unknown partition")
        ck.eq(ofle_v4(conn, "no-such-topic", 0, -1, 0)[0], UNKNOWN_TOPIC_OR_PARTITION,
              "unknown topic")
        ck.eq(ofle_old(conn, 0, TOPIC, 0, epoch), (NONE, None, 5), "v0")
        ck.eq(ofle_old(conn, 2, TOPIC, 0, epoch, current=epoch), (NONE, epoch, 5), "v2")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
