#!/usr/bin/python3
"""Committed offsets outlive the offsets topic's retention while their group has members
(src/group/service.c refresh_old_records; docs/groups.md "Retention").

Retention deletes whole old segments of __consumer_offsets, and a restart replays what is
left: a group that committed once and then stayed idle used to lose its offsets at the
next restart after retention.ms (one week by default). One broker with retention.ms 4 s,
segments rolled every 0.5 s and one offsets partition:
 1. Group `active` has a member (a subscribed consumer, still open) that commits offset 5
    once; group `lone` has no members and commits offset 7 once (a standalone consumer).
 2. Other groups commit every 0.25 s for 14 s: segments roll and expire meanwhile, and the
    broker logs that it wrote group records again. `lone`'s offset has expired by then,
    before any restart (memory forgets it with the tombstone).
 3. After a clean restart, `active` still has offset 5; `lone`'s offset expired, as Kafka
    expires the offsets of a group without members (offsets.retention.minutes), and the
    busy groups have their newest commits.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, run_main, wait_until  # noqa: E402
from ck_helpers import flush, producer  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "ret-data"
RETENTION_MS = 4000
BUSY_S = 14.0


def committed(bootstrap, group):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(TOPIC, 0)], timeout=15)[0].offset
    finally:
        c.close()


def commit_standalone(bootstrap, group, offset):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(TOPIC, 0, offset)], asynchronous=False)
    finally:
        c.close()


def main():
    ck = Check("offsets_retention")
    cfg = {"log.retention.ms": RETENTION_MS, "log.roll.ms": 500,
           "log.retention.check.interval.ms": 250, "offsets.topic.num.partitions": 1}
    with Broker(find_brookd(), config=cfg, name="offsets-retention") as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        admin.create_topics([NewTopic(TOPIC, 1, 1, config={"retention.ms": "-1"})])[TOPIC].result(15)
        p = producer(b.bootstrap)
        for i in range(10):
            p.produce(TOPIC, b"v%d" % i, partition=0)
        flush(p)
        member = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "active",
                           "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        member.subscribe([TOPIC])
        msg = wait_until(lambda: (lambda m: m if m is not None and not m.error() else None)(
            member.poll(0.5)), 30, what="the member's first record")
        ck.eq(msg.offset(), 0, "the member reads from the start")
        member.commit(offsets=[TopicPartition(TOPIC, 0, 5)], asynchronous=False)
        commit_standalone(b.bootstrap, "lone", 7)
        ck.eq(committed(b.bootstrap, "active"), 5, "active's offset before")
        ck.eq(committed(b.bootstrap, "lone"), 7, "lone's offset before")
        end = time.monotonic() + BUSY_S
        i = 0
        while time.monotonic() < end:
            commit_standalone(b.bootstrap, f"busy-{i % 4}", i)
            member.poll(0)  # stays a member (heartbeats run in the background anyway)
            i += 1
            time.sleep(0.25)
        with open(b.log_path, errors="replace") as f:
            text = f.read()
        ck("group records again ahead of __consumer_offsets's retention" in text,
           "the broker wrote old group records again")
        ck.eq(committed(b.bootstrap, "lone"), -1001,
              "lone's offset expired before the restart (no members, committed more than "
              "retention.ms ago)")
        ck("__consumer_offsets-0: deleting segment" in text,
           "retention removed old segments of the offsets partition meanwhile")
        member.close()
        ck.eq(b.restart(), 0, "clean restart")
        ck.eq(committed(b.bootstrap, "active"), 5,
              "active's offset after retention and a restart (its group has members)")
        ck.eq(committed(b.bootstrap, "lone"), -1001,
              "lone's offset expired (no members, committed more than retention.ms ago)")
        last = {f"busy-{k % 4}": k for k in range(i)}
        for g, off in sorted(last.items()):
            ck.eq(committed(b.bootstrap, g), off, f"{g}'s newest commit after the restart")
    ck.done()


if __name__ == "__main__":
    run_main(main)
