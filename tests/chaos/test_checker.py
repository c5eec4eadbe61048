#!/usr/bin/python3
"""The chaos checker (chaos.py's check_queue and check_txn) on made-up histories: a clean
one counts nothing, and each kind of anomaly, put in on purpose, is counted once. Standard
library only (no cluster)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402


class Q:
    def __init__(self, sent, acked):
        self.sent, self.acked = set(sent), dict(acked)


class T:
    def __init__(self, outcome, values):
        self.outcome, self.values = outcome, values


def expect(got, want, what):
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if bad:
        raise AssertionError(f"{what}: (got, want) {bad}")


def main():
    zero_q = dict.fromkeys(("lost", "duplicated", "inconsistent", "unexpected", "reordered"), 0)
    sent = [b"q:0:0", b"q:0:1", b"q:0:2", b"q:1:0"]
    acked = {b"q:0:0": (0, 0), b"q:0:1": (0, 1), b"q:0:2": (0, 2), b"q:1:0": (1, 0)}
    clean = [(0, 0, b"q:0:0"), (0, 1, b"q:0:1"), (0, 2, b"q:0:2"), (1, 0, b"q:1:0")]
    expect(chaos.check_queue(Q(sent, acked), clean), zero_q, "a clean queue history")
    cases = {
        "lost": [r for r in clean if r[2] != b"q:0:1"],
        "duplicated": clean + [(1, 1, b"q:1:0")],
        "inconsistent": [(0, 0, b"q:0:0"), (0, 1, b"q:0:1"), (0, 3, b"q:0:2"),
                         (1, 0, b"q:1:0")],
        "unexpected": clean + [(1, 1, b"q:9:9")],
        "reordered": [(0, 0, b"q:0:0"), (0, 1, b"q:0:2"), (0, 2, b"q:0:1"),
                      (1, 0, b"q:1:0")],
    }
    # An acknowledgement without an offset (librdkafka's implicit ack): present is fine,
    # missing is lost.
    implicit = {**acked, b"q:0:1": (0, None)}
    expect(chaos.check_queue(Q(sent, implicit), clean), dict(zero_q, acked_without_offset=1),
           "an implicit ack, read back")
    expect(chaos.check_queue(Q(sent, implicit), [r for r in clean if r[2] != b"q:0:1"]),
           dict(zero_q, lost=1), "an implicit ack, lost")
    for kind, history in cases.items():
        got = chaos.check_queue(Q(sent, acked), history)
        if got[kind] < 1:
            raise AssertionError(f"queue: {kind} not counted in {history}: {got}")
    zero_t = dict.fromkeys(("aborted_read", "torn", "lost_commit"), 0)
    outcome = {b"t1": "committed", b"t2": "aborted", b"t3": "unknown"}
    values = {b"t1": [b"t1:0:0", b"t1:3:0"], b"t2": [b"t2:1:0"], b"t3": [b"t3:2:0"]}
    clean_t = [(0, 0, b"t1:0:0"), (3, 0, b"t1:3:0")]
    expect(chaos.check_txn(T(outcome, values), clean_t), zero_t, "a clean txn history")
    expect(chaos.check_txn(T(outcome, values), clean_t + [(2, 0, b"t3:2:0")]),
           dict(zero_t, unknown_visible=1), "an unknown transaction seen whole")
    tcases = {
        "aborted_read": clean_t + [(1, 0, b"t2:1:0")],
        "torn": [(0, 0, b"t1:0:0")],
        "lost_commit": [],
    }
    for kind, history in tcases.items():
        got = chaos.check_txn(T(outcome, values), history)
        if got[kind] != 1:
            raise AssertionError(f"txn: {kind} not counted once in {history}: {got}")
    print("test_checker: OK (clean histories count nothing; every anomaly kind is counted)")


if __name__ == "__main__":
    main()
