#!/usr/bin/python3
"""The chaos checker (checker.py) on made-up histories: a clean one counts nothing, and each
kind of anomaly, put in on purpose, is counted. Standard library only (no cluster)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402


class Q:
    def __init__(self, sent, acked):
        self.sent, self.acked = set(sent), dict(acked)


class T:
    def __init__(self, txns):
        self.txns = txns


def txn(name, outcome, writes, reads=(), offsets=None):
    return {"name": name, "outcome": outcome, "writes": list(writes), "reads": list(reads),
            "offsets": offsets}


def expect(got, want, what):
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if bad:
        raise AssertionError(f"{what}: (got, want) {bad}")


def counted(fn, cases, what):
    """Each case (kind -> arguments) must count its kind at least once."""
    for kind, args in cases.items():
        got = fn(*args)
        if got[kind] < 1:
            raise AssertionError(f"{what}: {kind} not counted in {args}: {got}")


def queue():
    zero_q = dict.fromkeys(("lost", "duplicated", "inconsistent", "unexpected", "reordered"), 0)
    sent = [b"q:0:0", b"q:0:1", b"q:0:2", b"q:1:0"]
    acked = {b"q:0:0": (0, 0), b"q:0:1": (0, 1), b"q:0:2": (0, 2), b"q:1:0": (1, 0)}
    clean = [(0, 0, b"q:0:0"), (0, 1, b"q:0:1"), (0, 2, b"q:0:2"), (1, 0, b"q:1:0")]
    expect(checker.check_queue(Q(sent, acked), clean), zero_q, "a clean queue history")
    # An acknowledgement without an offset (librdkafka's implicit ack): present is fine,
    # missing is lost.
    implicit = {**acked, b"q:0:1": (0, None)}
    expect(checker.check_queue(Q(sent, implicit), clean), dict(zero_q, acked_without_offset=1),
           "an implicit ack, read back")
    expect(checker.check_queue(Q(sent, implicit), [r for r in clean if r[2] != b"q:0:1"]),
           dict(zero_q, lost=1), "an implicit ack, lost")
    # librdkafka's producer 0 and kafkajs's partition-0 loop are different producers.
    mixed = [(0, 0, b"q:0:5"), (0, 1, b"qk:0:1")]
    expect(checker.check_queue(Q([v for _, _, v in mixed], {v: (p, o) for p, o, v in mixed}),
                               mixed), zero_q, "two producers' values interleaved")
    qa = Q(sent, acked)
    counted(checker.check_queue, {
        "lost": (qa, [r for r in clean if r[2] != b"q:0:1"]),
        "duplicated": (qa, clean + [(1, 1, b"q:1:0")]),
        "inconsistent": (qa, [(0, 0, b"q:0:0"), (0, 1, b"q:0:1"), (0, 3, b"q:0:2"),
                              (1, 0, b"q:1:0")]),
        "unexpected": (qa, clean + [(1, 1, b"q:9:9")]),
        "reordered": (qa, [(0, 0, b"q:0:0"), (0, 1, b"q:0:2"), (0, 2, b"q:0:1"),
                           (1, 0, b"q:1:0")]),
    }, "queue")


def transactions():
    zero_t = dict.fromkeys(("aborted_read", "torn", "lost_commit", "uncommitted_read"), 0)
    t1 = txn(b"t1", "committed", [b"t1:0:0", b"t1:3:0"])
    t2 = txn(b"t2", "aborted", [b"t2:1:0"])
    t3 = txn(b"t3", "unknown", [b"t3:2:0"])
    clean = [(0, 0, b"t1:0:0"), (3, 0, b"t1:3:0")]
    expect(checker.check_txn(T([t1, t2, t3]), clean), zero_t, "a clean txn history")
    expect(checker.check_txn(T([t1, t2, t3]), clean + [(2, 0, b"t3:2:0")]),
           dict(zero_t, unknown_visible=1), "an unknown transaction seen whole")
    reader = txn(b"t4", "committed", [], reads=[(1, 0, b"t2:1:0")])
    reader_u = txn(b"t4", "committed", [], reads=[(2, 0, b"t3:2:0")])
    counted(checker.check_txn, {
        "aborted_read": (T([t1, t2, t3]), clean + [(1, 0, b"t2:1:0")]),
        "torn": (T([t1, t2, t3]), [(0, 0, b"t1:0:0")]),
        "lost_commit": (T([t1, t2, t3]), []),
        "uncommitted_read": (T([t1, t2, t3, reader_u]), clean),
    }, "txn")
    # A read during the run of an aborted transaction's value is an aborted read too.
    got = checker.check_txn(T([t1, t2, t3, reader]), clean)
    expect(got, dict(zero_t, aborted_read=1), "an aborted value read by a client")
    # A reader of an unknown transaction that turned out visible read committed data.
    expect(checker.check_txn(T([t1, t2, t3, reader_u]), clean + [(2, 0, b"t3:2:0")]),
           dict(zero_t, unknown_visible=1), "a read of an unknown, visible transaction")


def polls_and_offsets():
    clean = [("assign", [0, 1]), ("msg", 0, 0), ("msg", 0, 1), ("msg", 1, 5),
             ("revoke", [0]), ("assign", [0]), ("msg", 0, 0)]
    zero = {"nonmonotonic_poll": 0, "poll_skip": 0}
    expect(checker.check_polls([(clean, True)]), zero, "polls restarting after a rebalance")
    rewound = [("msg", 0, 3), ("msg", 0, 7), ("rewind",), ("msg", 0, 3)]
    expect(checker.check_polls([(rewound, False)]), zero, "a gap and a rewind, transactional")
    counted(checker.check_polls, {
        "nonmonotonic_poll": ([(clean + [("msg", 0, 0)], True)],),
        "poll_skip": ([(clean + [("msg", 0, 2)], True)],),
    }, "polls")
    commits = [(1.0, 0, 0, 5, ""), (2.0, 1, 0, 9, ""), (3.0, 0, 0, 12, "REBALANCE_IN_PROGRESS")]
    reads = [(0.5, 0, 1), (1.5, 0, 5), (2.5, 0, 5), (3.5, 0, 9)]
    zero = {"committed_backwards": 0, "stale_offset_read": 0, "commit_reordered": 0}
    expect(checker.check_committed(reads, commits, {0: 9}), zero,
           "committed offsets moving forward")
    late = commits + [(20.5, 1, 0, 7, "")]  # an old commit resent, applied after 9
    counted(checker.check_committed, {
        "committed_backwards": ([], commits, {0: 5}),
        "stale_offset_read": ([(0.5, 0, 1), (1.5, 0, 5), (2.5, 0, 4)], commits, {0: 9}),
        "commit_reordered": (reads + [(21.0, 0, 7)], late, {0: 9})}, "committed")
    # The group ends on a lower commit acknowledged after the highest one: the client's own
    # last write (reordered); acknowledged before it, or never: lost (backwards).
    resent = commits + [(4.0, 0, 0, 7, "")]
    expect(checker.check_committed([], resent, {0: 7}), dict(zero, commit_reordered=1),
           "the group ends on a lower commit acknowledged last")
    expect(checker.check_committed([], [(0.5, 1, 0, 7, "")] + commits, {0: 7}),
           dict(zero, committed_backwards=1), "the group ends on a commit acknowledged before")
    expect(checker.check_committed([], resent, {0: 8}), dict(zero, committed_backwards=1),
           "the group ends on an offset nobody committed")
    far = [(1.0, 0, 0, 7, "")]  # a commit of 7 long before: no excuse for reading 7 late
    expect(checker.check_committed([(20.0, 0, 9), (30.0, 0, 7)], far, {0: 9}),
           dict(zero, stale_offset_read=1), "a lower read long after a commit of that offset")
    # An old commit of 7 applied late; a node logged the rewind: reordered, not stale. A
    # rewind logged to another value, or of a value no consumer committed, excuses nothing.
    logs = {2: "INFO node=2 [group] group chaos-sub: committed offset of queue-0 goes back "
               "from 9 to 7\n", 3: "INFO node=3 [group] group other: committed offset of "
               "queue-0 goes back from 9 to 4\n"}
    rewinds = checker.commit_rewinds(logs, "chaos-sub", "queue")
    if rewinds != {(0, 7)}:
        raise AssertionError(f"commit_rewinds: {rewinds}")
    expect(checker.check_committed([(20.0, 0, 9), (30.0, 0, 7)], far, {0: 9}, rewinds),
           dict(zero, commit_reordered=1), "a lower read a node logged as a late commit")
    expect(checker.check_committed([(20.0, 0, 9), (30.0, 0, 7)], [], {0: 9}, rewinds),
           dict(zero, stale_offset_read=1), "a logged rewind to a value never committed")
    expect(checker.check_committed([(20.0, 0, 9), (30.0, 0, 4)], [(1.0, 0, 0, 4, "")],
                                   {0: 9}, rewinds),
           dict(zero, stale_offset_read=1), "a lower read with no rewind logged to it")
    o1, o2 = {0: 3, 1: 0}, {0: 5, 1: 2}
    hist = [txn(b"a", "committed", [], offsets=o1), txn(b"b", "aborted", [], offsets=o2)]
    expect(checker.check_txn_offsets([hist], [o1]), {"offset_mismatch": 0},
           "the last committed transaction's offsets")
    unknown = hist + [txn(b"c", "unknown", [], offsets=o2)]
    expect(checker.check_txn_offsets([unknown], [o2]), {"offset_mismatch": 0},
           "a later unknown transaction's offsets")
    counted(checker.check_txn_offsets, {"offset_mismatch": ([hist], [o2])}, "offsets")


def cycles():
    # a wrote p0, then b (of another client) read it and wrote p0: no cycle.
    a = txn(b"t0.1", "committed", [b"t0.1:0:0"])
    b = txn(b"t1.1", "committed", [b"t1.1:0:0"], reads=[(0, 0, b"t0.1:0:0")])
    log = [(0, 0, b"t0.1:0:0"), (0, 1, b"t1.1:0:0")]
    expect(checker.check_g1c([a, b], log), {"g1c": 0, "ww_cycles": 0}, "a then b")
    # Two concurrent transactions interleaved in opposite orders on two partitions: a write
    # cycle, which Kafka's transactions allow (reported, not an anomaly).
    c = txn(b"t0.2", "committed", [b"t0.2:0:0", b"t0.2:1:0"])
    d = txn(b"t1.2", "committed", [b"t1.2:0:0", b"t1.2:1:0"])
    log2 = [(0, 0, b"t0.2:0:0"), (0, 1, b"t1.2:0:0"), (1, 0, b"t1.2:1:0"), (1, 1, b"t0.2:1:0")]
    expect(checker.check_g1c([c, d], log2), {"g1c": 0, "ww_cycles": 1}, "a write cycle")
    # Each read what the other wrote: information flowed in a circle.
    e = txn(b"t0.3", "committed", [b"t0.3:0:0"], reads=[(1, 0, b"t1.3:1:0")])
    f = txn(b"t1.3", "committed", [b"t1.3:1:0"], reads=[(0, 0, b"t0.3:0:0")])
    log3 = [(0, 0, b"t0.3:0:0"), (1, 0, b"t1.3:1:0")]
    counted(checker.check_g1c, {"g1c": ([e, f], log3)}, "g1c (write-read)")
    # t0.4 read t1.4's value, t1.4 read t0.5's, and t0.5 ran after t0.4 (process order).
    g = txn(b"t0.4", "committed", [b"t0.4:0:0"], reads=[(1, 0, b"t1.4:1:0")])
    h = txn(b"t0.5", "committed", [b"t0.5:0:0"])
    i = txn(b"t1.4", "committed", [b"t1.4:1:0"], reads=[(0, 1, b"t0.5:0:0")])
    log4 = [(0, 0, b"t0.4:0:0"), (0, 1, b"t0.5:0:0"), (1, 0, b"t1.4:1:0")]
    counted(checker.check_g1c, {"g1c": ([g, h, i], log4)}, "g1c (process order)")
    # An aborted transaction is not part of the graph.
    f2 = dict(f, outcome="aborted")
    expect(checker.check_g1c([e, f2], [(0, 0, b"t0.3:0:0")]), {"g1c": 0}, "aborted: no edge")
    if checker.liveness([10.0, 20.0], [9.0, 12.5, 21.0], 30.0) != 2.5:
        raise AssertionError("liveness: the longest wait after a heal is 2.5 s")
    if checker.liveness([10.0], [9.0], 14.0) != 4.0:
        raise AssertionError("liveness: no operation after the heal counts until the end")


def node_logs():
    quiet = {1: "INFO node=1 [broker] created topic queue with 6 partitions\n"}
    expect(checker.check_node_logs(quiet), {"topic_dropped": 0}, "a log without deletions")
    dropped = dict(quiet)
    dropped[2] = "INFO node=2 [cluster] topic queue is gone from the cluster; deleting it here\n"
    counted(checker.check_node_logs, {"topic_dropped": (dropped,)}, "node logs")


def main():
    node_logs()
    queue()
    transactions()
    polls_and_offsets()
    cycles()
    print("test_checker: OK (clean histories count nothing; every anomaly kind is counted)")


if __name__ == "__main__":
    main()
