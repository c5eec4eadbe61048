#!/usr/bin/python3
"""Kafka strings and bytes are length-delimited: every byte a client sends, NUL included,
comes back whole (raw Kafka protocol, no client library in between; librdkafka's 0099
found commit metadata cut at its first NUL):

  * commit metadata "Hello\\0world!" (12 bytes) comes back from OffsetFetch as 12 bytes,
    for a group id with a NUL in it, also after a SIGKILL restart (replayed from the log);
  * JoinGroup/DescribeGroups with a client id, a group id and protocol metadata that
    contain NULs: DescribeGroups returns the client id and the metadata byte for byte, the
    member id begins with the whole client id, ListGroups lists the group id exactly;
  * transactional ids that differ only after a NUL ("tx\\0a", "tx\\0b", "tx") are three
    transactions with three producer ids, and "tx\\0a" again bumps its own epoch.

Every request waits at most 5 s for its answer."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402
import raw_kafka  # noqa: E402
from raw_kafka import Conn as RawConn, s16  # noqa: E402

TOPIC = b"brt-t"
META = b"Hello\x00world!"
OFFSET_GROUP = b"og\x00x"
JOIN_GROUP = b"jg\x00x"
CLIENT_ID = b"cli\x00ent"
PROTO_META = b"\x00\x01sub\x00scription\x00"


class Bin(raw_kafka.Reader):
    """raw_kafka's reader, with strings kept as bytes (NULs and all)."""

    def str_(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.b[self.off:self.off + n]
        self.off += n
        return s


def offset_commit(c, group, offset, metadata):
    """OffsetCommit v2 (generation -1: a simple group) of TOPIC/0 -> error."""
    body = (s16(group) + struct.pack(">i", -1) + s16(b"") + struct.pack(">q", -1)
            + struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">i", 1)
            + struct.pack(">iq", 0, offset) + s16(metadata))
    r, _ = c.request(8, 2, body, "OffsetCommit v2")
    rd = Bin(r)
    rd.take(">i")  # topics
    rd.str_()
    rd.take(">i")
    _, err = rd.take(">ih")
    return err


def offset_fetch(c, group):
    """OffsetFetch v1 of TOPIC/0 -> (error, offset, metadata bytes)."""
    body = s16(group) + struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">ii", 1, 0)
    r, _ = c.request(9, 1, body, "OffsetFetch v1")
    rd = Bin(r)
    rd.take(">i")
    rd.str_()
    rd.take(">i")
    _, off = rd.take(">iq")
    meta = rd.str_()
    err = rd.take(">h")
    return err, off, meta


def join_group(c):
    """JoinGroup v0, one "range" protocol -> (error, member id, [(member, metadata)])."""
    body = (s16(JOIN_GROUP) + struct.pack(">i", 10000) + s16(b"") + s16(b"consumer")
            + struct.pack(">i", 1) + s16(b"range") + struct.pack(">i", len(PROTO_META))
            + PROTO_META)
    r, _ = c.request(11, 0, body, "JoinGroup v0")
    rd = Bin(r)
    err, _gen = rd.take(">hi")
    rd.str_()  # protocol
    rd.str_()  # leader
    member = rd.str_()
    members = [(rd.str_(), rd.bytes_()) for _ in range(rd.take(">i"))]
    return err, member, members


def describe_group(c, group):
    """DescribeGroups v0 of one group -> (error, [(member, client id, metadata)])."""
    r, _ = c.request(15, 0, struct.pack(">i", 1) + s16(group), "DescribeGroups v0")
    rd = Bin(r)
    rd.take(">i")
    err = rd.take(">h")
    rd.str_()  # group
    rd.str_()  # state
    rd.str_()  # protocol type
    rd.str_()  # protocol
    out = []
    for _ in range(rd.take(">i")):
        member, client, _host = rd.str_(), rd.str_(), rd.str_()
        meta, _assignment = rd.bytes_(), rd.bytes_()
        out.append((member, client, meta))
    return err, out


def list_groups(c):
    r, _ = c.request(16, 0, b"", "ListGroups v0")
    rd = Bin(r)
    err = rd.take(">h")
    return err, [(rd.str_(), rd.str_())[0] for _ in range(rd.take(">i"))]


def main():
    ck = Check("bytes-round-trip")
    cfg = {"num.partitions": 1, "group.initial.rebalance.delay.ms": 0,
           "transaction.state.log.num.partitions": 4, "offsets.topic.num.partitions": 4}
    with Broker(name="brt", config=cfg) as b:
        c = RawConn(b.bootstrap, client_id=CLIENT_ID, answer_within=5.0)
        c.request(3, 1, struct.pack(">i", 1) + s16(TOPIC), "Metadata (auto-create)")
        time.sleep(0.2)

        # Commit metadata with a NUL, in a group whose id has one.
        ck.eq(offset_commit(c, OFFSET_GROUP, 42, META), 0, "OffsetCommit error")
        ck.eq(offset_fetch(c, OFFSET_GROUP), (0, 42, META), "OffsetFetch: offset and 12 bytes")
        ck.eq(offset_fetch(c, b"og"), (0, -1, b""), "the group cut at its NUL has nothing")

        # Group membership with NULs in the client id, group id and protocol metadata.
        err, member, members = join_group(c)
        ck.eq(err, 0, "JoinGroup error")
        ck(member is not None and member.startswith(CLIENT_ID + b"-"),
           f"member id begins with the whole client id: {member!r}")
        ck.eq(members, [(member, PROTO_META)], "JoinGroup: the leader sees the metadata whole")
        err, described = describe_group(c, JOIN_GROUP)
        ck.eq(err, 0, "DescribeGroups error")
        ck.eq(described, [(member, CLIENT_ID, PROTO_META)],
              "DescribeGroups: member id, client id and metadata byte for byte")
        err, groups = list_groups(c)
        ck.eq(err, 0, "ListGroups error")
        ck(JOIN_GROUP in groups and OFFSET_GROUP in groups,
           f"ListGroups lists both ids exactly: {groups!r}")

        # Transactional ids that differ only after a NUL.
        pids = {}
        for tid in (b"tx\x00a", b"tx\x00b", b"tx"):
            err, pid, epoch = c.init_producer_id(tid)
            ck.eq(err, 0, f"InitProducerId {tid!r} error")
            pids[tid] = (pid, epoch)
        ck.eq(len({p for p, _ in pids.values()}), 3, f"three producer ids: {pids!r}")
        err, pid, epoch = c.init_producer_id(b"tx\x00a")
        ck.eq((err, pid, epoch), (0, pids[b"tx\x00a"][0], pids[b"tx\x00a"][1] + 1),
              "InitProducerId tx\\0a again: same producer, next epoch")
        c.close()

        # Replayed from the offsets log after SIGKILL: still 12 bytes.
        b.crash_restart()
        c = RawConn(b.bootstrap, client_id=b"brt-2", answer_within=5.0)
        ck.eq(offset_fetch(c, OFFSET_GROUP), (0, 42, META), "after SIGKILL: offset and 12 bytes")
        c.close()
    return ck.done()


if __name__ == "__main__":
    run_main(main)
