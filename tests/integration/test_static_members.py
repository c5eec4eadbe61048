#!/usr/bin/python3
"""Static group membership (KIP-345) with librdkafka (python3-confluent-kafka 1.7):

Two consumers with group.instance.id "ia" and "ib" share a 4-partition topic (range
assignor, Brook's default group.initial.rebalance.delay.ms of 3 s).  Then:

  * "ib" is closed (a static member sends no LeaveGroup) and a new consumer with the same
    instance id subscribes: it gets exactly the partitions "ib" had, and "ia" sees no
    rebalance at all (no revoke, no new assignment) - Kafka does not rebalance a Stable
    group for a returning static member;
  * records produced to every partition afterwards are consumed by the two members
    together, each exactly once (the returning member starts at the committed offsets);
  * control: a consumer with a NEW instance id joining does make "ia" rebalance, so the
    "no rebalance" observation above is one that can fail.

Every wait is bounded."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402

TOPIC = "static-t"
GROUP = "static-g"
NPARTS = 4
SESSION_MS = 10000


class Member:
    """One consumer and the rebalance events it saw."""

    def __init__(self, bootstrap, instance):
        from confluent_kafka import Consumer
        self.events = []  # ("assign" | "revoke", sorted partitions)
        self.assignment = []
        self.values = []
        self.c = Consumer({
            "bootstrap.servers": bootstrap, "group.id": GROUP,
            "group.instance.id": instance, "client.id": instance,
            "session.timeout.ms": SESSION_MS, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "partition.assignment.strategy": "range",
        })
        self.c.subscribe([TOPIC], on_assign=self._assign, on_revoke=self._revoke)

    def _assign(self, consumer, parts):
        self.assignment = sorted(p.partition for p in parts)
        self.events.append(("assign", self.assignment))

    def _revoke(self, consumer, parts):
        self.events.append(("revoke", sorted(p.partition for p in parts)))
        self.assignment = []

    def poll(self, timeout=0.1):
        m = self.c.poll(timeout)
        if m is not None and not m.error():
            self.values.append(m.value())
            self.c.commit(message=m, asynchronous=True)  # never blocks the test

    def close(self, timeout=20.0):
        """close() (no LeaveGroup for a static member), bounded: a hung close fails the
        test instead of hanging it."""
        t = threading.Thread(target=self.c.close, daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            raise AssertionError(f"consumer close() did not return within {timeout}s")


def poll_until(members, cond, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for m in members:
            m.poll(0.05)
        if cond():
            return True
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def main():
    from confluent_kafka import Producer
    ck = Check("static-members")
    cfg = {"num.partitions": NPARTS, "offsets.topic.num.partitions": 4,
           "transaction.state.log.num.partitions": 4}
    with Broker(name="static", config=cfg) as b:
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(NPARTS):
            p.produce(TOPIC, value=b"first-%d" % i, partition=i)
        ck.eq(p.flush(15), 0, "first records delivered")

        print("[static-members] first records produced; two static members join", flush=True)
        a = Member(b.bootstrap, "ia")
        bm = Member(b.bootstrap, "ib")
        poll_until([a, bm], lambda: len(a.assignment) + len(bm.assignment) == NPARTS, 30,
                   "both static members assigned")
        ck.eq(sorted(a.assignment + bm.assignment), list(range(NPARTS)),
              "the two members cover every partition")
        poll_until([a, bm], lambda: len(a.values) + len(bm.values) == NPARTS, 20,
                   "the first records consumed")
        b_parts = list(bm.assignment)
        a_events = len(a.events)
        # The asynchronous commits of what ib read are in before it restarts (bounded).
        from confluent_kafka import TopicPartition

        def ib_committed():
            tps = bm.c.committed([TopicPartition(TOPIC, p) for p in b_parts], timeout=2)
            return all(tp.offset >= 1 for tp in tps)
        poll_until([a, bm], ib_committed, 20, "ib's commits")

        # "ib" restarts: close (no LeaveGroup for a static member), same instance id.
        print(f"[static-members] assigned: ia {a.assignment}, ib {bm.assignment}; ib restarts",
              flush=True)
        bm.close()
        b2 = Member(b.bootstrap, "ib")
        poll_until([a, b2], lambda: b2.assignment != [], 20, "the returning member's assignment")
        ck.eq(b2.assignment, b_parts, "the returning static member gets its old partitions")
        # Give a (wrong) rebalance time to show itself at "ia" before judging.
        t_end = time.monotonic() + 3.0
        while time.monotonic() < t_end:
            a.poll(0.05)
            b2.poll(0.05)
        ck.eq(a.events[a_events:], [], "ia saw no rebalance while ib restarted")
        ck.eq(b2.events, [("assign", b_parts)], "ib was assigned once, with no revoke since")

        # Both keep consuming, each record once, from the committed offsets.
        for i in range(NPARTS):
            p.produce(TOPIC, value=b"second-%d" % i, partition=i)
        ck.eq(p.flush(15), 0, "second records delivered")
        poll_until([a, b2], lambda: len(a.values) + len(b2.values) >= 2 * NPARTS - len(bm.values),
                   20, "the second records consumed")
        second = sorted(v for v in a.values + b2.values if v.startswith(b"second-"))
        ck.eq(second, sorted(b"second-%d" % i for i in range(NPARTS)),
              "every second record consumed exactly once")
        ck.eq([v for v in b2.values if v.startswith(b"first-")], [],
              "the returning member re-read nothing")

        print("[static-members] restart checked; control: a new instance id joins", flush=True)
        # Control: a new instance id does rebalance the group.
        a_events = len(a.events)
        c3 = Member(b.bootstrap, "ic")
        poll_until([a, b2, c3], lambda: c3.assignment != [] and len(a.events) > a_events, 30,
                   "a new static member joining rebalances")
        # Close only once the rebalance is over for everyone: a close while a JoinGroup is
        # parked waiting for a member that is closing would wait out the rebalance timeout.
        poll_until([a, b2, c3], lambda: all(m.assignment for m in (a, b2, c3)) and
                   a.events[-1][0] == "assign" and b2.events[-1][0] == "assign", 30,
                   "every member assigned after the rebalance")
        ck(any(e[0] == "revoke" for e in a.events[a_events:]),
           f"ia was revoked when a new instance joined: {a.events[a_events:]}")
        for m in (a, b2, c3):
            m.close()
    return ck.done()


if __name__ == "__main__":
    run_main(main)
