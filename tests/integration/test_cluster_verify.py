#!/usr/bin/python3
"""A partition leader verifies a transaction's first batch on a partition with the
transaction's coordinator on another node (AddPartitionsToTxn v5 with VerifyOnly, KIP-890), seen on the raw
Kafka protocol (raw_kafka.py: the broker's exact answers, no client library retrying or
bumping epochs in between).

A 3-node cluster (ZooKeeper + brookd x 3), a topic of 6 partitions whose leaders cover all
three nodes, a transactional id whose coordinator is node X, partitions P1, P2, P3 led by
nodes other than X:

1. InitProducerId (v1) on X; AddPartitionsToTxn(P1); a transactional batch (pid, epoch,
   seq 0) to P1's leader is accepted.  The same producer's transactional batch to P2, not
   added, is refused with INVALID_TXN_STATE (48) and P2's high watermark and last stable
   offset stay 0.  EndTxn(commit).  P1 then holds the record and the COMMIT marker
   (HW 2); a transactional batch to P1 at the same epoch with the next sequence, without a
   new AddPartitionsToTxn (a late write after the transaction ended), is refused with 48
   and P1 stays at HW 2 / LSO 2 with nothing after the marker.
2. AddPartitionsToTxn(P2), a batch to P2 is accepted (LSO stays at 0 while the
   transaction is open), EndTxn(abort): HW = LSO = 2, a read_committed Fetch lists the
   producer's aborted transaction from offset 0 and shows no record of it (Kafka's
   consumer rule), a read_uncommitted Fetch shows the record then the ABORT marker.
3. InitProducerId again for the same transactional id: same producer id, epoch + 1.  A
   transactional batch with the OLD epoch is refused with INVALID_PRODUCER_EPOCH (47) or
   PRODUCER_FENCED (90) both on a partition that never saw the producer (P3: only the
   coordinator knows) and on P1 (it saw the old epoch, completed); nothing is appended.
   The new epoch then writes to P3 and commits: visible to read_committed.
4. A group G whose coordinator Y is not X, every node holding a TxnOffsetCommit's
   verification answer 3 s (the failpoint BROOK_FAILPOINT_TXN_OFFSET_VERIFY_DELAY_MS):
   AddOffsetsToTxn(G), TxnOffsetCommit to Y, and while Y holds X's "yes", EndTxn(abort):
   the ABORT marker reaches G first, and the commit is refused COORDINATOR_NOT_AVAILABLE
   (retriable; without the fence it was appended as pending offsets no marker would ever
   settle). OffsetFetch with RequireStable then answers at once (no offset); the next
   transaction's TxnOffsetCommit and commit still land (RequireStable reads 7).
5. A transaction over P1 and a second topic of 3 partitions (leaders on several nodes),
   one record on each; that topic is deleted; EndTxn(commit) is answered within
   ANSWER_WITHIN s, not NONE (the deleted partitions vote no, as on one node: the
   transaction aborts). P1's last stable offset then reaches its high watermark, and the
   transactional id initialises and commits again (the prepares to the deleted partitions
   used to be retried for good: EndTxn never answered, P1's readers stuck, and the id
   CONCURRENT_TRANSACTIONS for good).
6. A forged marker: a plain client sends WriteTxnMarkers v0 (ABORT, coordinator epoch
   2^31-1) for an open transaction's producer to P1's leader: refused with
   COORDINATOR_NOT_AVAILABLE (15; no coordinator of that producer has such an epoch), and
   the transaction then commits and is visible to read_committed (it used to fence the
   real coordinator out of its whole __transaction_state partition: EndTxn answered
   NOT_COORDINATOR and the other partitions' last stable offsets stuck).

Every request waits at most ANSWER_WITHIN s; retriable answers (REQUEST_TIMED_OUT while
the verification cannot reach the coordinator, leader / coordinator moving) are retried
for at most RETRY_FOR s and logged.  On failure the nodes' log tails are printed."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, find_brookd, run_main  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import (NodeConns, dump_log_lines, require_cluster_support,  # noqa: E402
                             run_cluster_scenario, wait_topic_led)
from raw_kafka import (COORD_RETRIABLE, COORDINATOR_LOAD_IN_PROGRESS,  # noqa: E402
                       COORDINATOR_NOT_AVAILABLE, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, NONE,
                       PRODUCE_RETRIABLE, PRODUCER_FENCED, READ_COMMITTED, READ_UNCOMMITTED,
                       UNSTABLE_OFFSET_COMMIT, record_batch, visible_read_committed)

TOPIC = "cvt"
PARTS = 6
CONFIG = {"transaction.state.log.num.partitions": 6, "offsets.topic.num.partitions": 3}
ANSWER_WITHIN = 15.0
RETRY_FOR = 15.0
VERIFY_DELAY_MS = 3000

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def retrying(what, fn, retriable):
    """cluster_harness.retrying for at most RETRY_FOR s, logged here."""
    return cluster_harness.retrying(what, fn, retriable, RETRY_FOR, log)


def find_coordinator(conn, tid):
    return find_coordinator_of(conn, tid, 1)


def offsets(nodes, leaders, p):
    """(HW, LSO) of TOPIC/p asked of its leader."""
    conn = nodes(leaders[p])
    e1, hw = conn.list_offset(TOPIC, p, READ_UNCOMMITTED)
    e2, lso = conn.list_offset(TOPIC, p, READ_COMMITTED)
    if e1 or e2:
        raise AssertionError(f"ListOffsets {TOPIC}/{p} on node {leaders[p]}: errors {e1}, {e2}")
    return hw, lso


def dump_logs(c, why):
    dump_log_lines(c, why, lambda ln: any(k in ln.lower() for k in (
        "txn", "verif", "produce", "warn", "error", "cluster", "peer")))


def scenario(ck, c):
    nodes = NodeConns(c, b"brook-cverify", ANSWER_WITHIN)
    try:
        _scenario(ck, c, nodes)
    finally:
        nodes.close()


def _scenario(ck, c, nodes):
    err = nodes(1).create_topic(TOPIC, PARTS)
    ck.eq(err, NONE, f"CreateTopics {TOPIC} ({PARTS} partitions)")
    leaders = wait_topic_led(c, TOPIC, PARTS)
    log(f"{TOPIC} leaders {leaders}")
    ck.eq(sorted(set(leaders.values())), [1, 2, 3], f"{TOPIC}'s leaders cover all three nodes")

    # A transactional id whose coordinator X leads at most 3 of the 6 partitions (so at
    # least 3 are led by other nodes: P1, P2, P3).
    tid = x = None
    for i in range(200):
        cand = f"cverify-{i}"
        node = find_coordinator(nodes(1), cand)
        if sum(1 for ld in leaders.values() if ld != node) >= 3:
            tid, x = cand, node
            break
    ck(tid is not None, "a transactional id with 3 partitions led by nodes other than its coordinator")
    others = [p for p in sorted(leaders) if leaders[p] != x]
    p1, p2, p3 = others[:3]
    for n in c.nodes:   # every node names the same coordinator
        ck.eq(find_coordinator(nodes(n.node_id), tid), x, f"FindCoordinator({tid}) on node {n.node_id}")
    log(f"transactional id {tid}: coordinator node {x}; P1={p1} (node {leaders[p1]}), "
        f"P2={p2} (node {leaders[p2]}), P3={p3} (node {leaders[p3]})")
    xc = nodes(x)

    def produce(p, pid, epoch, seq, value, what):
        rb = record_batch(pid, epoch, seq, [value], transactional=True)
        e, base, dt = retrying(what, lambda: nodes(leaders[p]).produce(
            TOPIC, p, rb, what, transactional_id=tid), PRODUCE_RETRIABLE)
        log(f"  {what}: Produce {TOPIC}/{p} to node {leaders[p]} (pid {pid}, epoch {epoch}, "
            f"seq {seq}) -> error {e}, base offset {base} ({dt * 1000:.0f} ms)")
        return e, base

    def end_txn(pid, epoch, commit):
        e = retrying("EndTxn", lambda: xc.end_txn(tid, pid, epoch, commit), COORD_RETRIABLE)
        log(f"  EndTxn({'commit' if commit else 'abort'}) pid {pid} epoch {epoch} -> error {e}")
        return e

    def add(pid, epoch, p):
        def once():
            m = xc.add_partitions_to_txn(tid, pid, epoch, TOPIC, [p])
            return m.get(p), m
        _, m = retrying("AddPartitionsToTxn", once, COORD_RETRIABLE)
        log(f"  AddPartitionsToTxn({TOPIC}/{p}) pid {pid} epoch {epoch} -> {m}")
        return m

    # ------------------------------------------------------------------ 1
    log("[1] a partition not in the transaction, and a late write after the commit")
    e, pid, epoch = retrying("InitProducerId", lambda: xc.init_producer_id(tid, 60000, version=1),
                             COORD_RETRIABLE)
    log(f"  InitProducerId v1 {tid} -> error {e}, pid {pid}, epoch {epoch}")
    ck.eq(e, NONE, "InitProducerId error")
    ck.eq(offsets(nodes, leaders, p1), (0, 0), "P1 (HW, LSO) before anything")
    ck.eq(offsets(nodes, leaders, p2), (0, 0), "P2 (HW, LSO) before anything")

    ck.eq(add(pid, epoch, p1), {p1: NONE}, "AddPartitionsToTxn(P1)")
    ck.eq(produce(p1, pid, epoch, 0, b"s1-p1-0", "[1] first batch to P1 (added)"), (NONE, 0),
          "transactional batch to P1, in the transaction: (error, base offset)")
    ck.eq(offsets(nodes, leaders, p1), (1, 0), "P1 (HW, LSO) with the transaction open")

    e, _ = produce(p2, pid, epoch, 0, b"s1-p2-0", "[1] batch to P2 (NOT added)")
    ck.eq(e, INVALID_TXN_STATE, "transactional batch to P2, not in the transaction")
    ck.eq(offsets(nodes, leaders, p2), (0, 0), "P2 (HW, LSO) after the refused batch: unchanged")

    ck.eq(end_txn(pid, epoch, True), NONE, "EndTxn(commit)")
    after_commit = offsets(nodes, leaders, p1)
    ck.eq(after_commit, (2, 2), "P1 (HW, LSO) after the commit: the record + the COMMIT marker")

    e, _ = produce(p1, pid, epoch, 1, b"s1-p1-late", "[1] late batch to P1 after the commit")
    ck.eq(e, INVALID_TXN_STATE, "transactional batch to P1 after EndTxn, no new AddPartitionsToTxn")
    ck.eq(offsets(nodes, leaders, p1), after_commit, "P1 (HW, LSO) after the refused late batch: unchanged")
    f = nodes(leaders[p1]).fetch(TOPIC, p1, 0, READ_UNCOMMITTED)
    got = [(b["base_offset"], b.get("marker") or [v for _, _, v in b["records"]]) for b in f["batches"]]
    ck.eq((f["error"], got), (NONE, [(0, [b"s1-p1-0"]), (1, "COMMIT")]),
          "P1 read_uncommitted: the record then the COMMIT marker, nothing after")
    ck.eq(offsets(nodes, leaders, p2), (0, 0), "P2 (HW, LSO) after the commit: still empty")

    # ------------------------------------------------------------------ 2
    log("[2] positive path: add P2, write, abort")
    ck.eq(add(pid, epoch, p2), {p2: NONE}, "AddPartitionsToTxn(P2)")
    ck.eq(produce(p2, pid, epoch, 0, b"s2-p2-0", "[2] batch to P2 (added)"), (NONE, 0),
          "transactional batch to P2, in the transaction: (error, base offset)")
    ck.eq(offsets(nodes, leaders, p2), (1, 0), "P2 (HW, LSO) with the transaction open")
    ck.eq(end_txn(pid, epoch, False), NONE, "EndTxn(abort)")
    ck.eq(offsets(nodes, leaders, p2), (2, 2), "P2 (HW, LSO) after the abort: record + ABORT marker")
    f = nodes(leaders[p2]).fetch(TOPIC, p2, 0, READ_COMMITTED)
    log(f"  P2 read_committed Fetch: error {f['error']}, HW {f['high_watermark']}, "
        f"LSO {f['last_stable_offset']}, aborted {f['aborted']}, "
        f"{len(f['batches'])} batch(es)")
    ck.eq(f["error"], NONE, "P2 read_committed Fetch error")
    ck((pid, 0) in (f["aborted"] or []),
       f"P2 read_committed Fetch lists the aborted transaction (pid {pid}, first offset 0): {f['aborted']}")
    ck.eq(visible_read_committed(f["batches"], f["aborted"] or []), [],
          "P2 read_committed: records visible (nothing of the aborted transaction)")
    f = nodes(leaders[p2]).fetch(TOPIC, p2, 0, READ_UNCOMMITTED)
    got = [(b["base_offset"], b.get("marker") or [v for _, _, v in b["records"]]) for b in f["batches"]]
    ck.eq(got, [(0, [b"s2-p2-0"]), (1, "ABORT")], "P2 read_uncommitted: the record then the ABORT marker")

    # ------------------------------------------------------------------ 3
    log("[3] zombie: the old epoch after a new InitProducerId")
    e, pid2, epoch2 = retrying("InitProducerId", lambda: xc.init_producer_id(tid, 60000, version=1),
                               COORD_RETRIABLE)
    log(f"  InitProducerId v1 {tid} again -> error {e}, pid {pid2}, epoch {epoch2}")
    ck.eq((e, pid2, epoch2), (NONE, pid, epoch + 1), "second InitProducerId: (error, same pid, epoch + 1)")
    before3, before1 = offsets(nodes, leaders, p3), offsets(nodes, leaders, p1)
    ck.eq(before3, (0, 0), "P3 (HW, LSO) before the zombie")
    e, _ = produce(p3, pid, epoch, 0, b"s3-zombie-p3", "[3] old epoch to P3 (never saw the producer)")
    ck(e in (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED),
       f"old-epoch batch to P3: error {e}, expected {INVALID_PRODUCER_EPOCH} or {PRODUCER_FENCED}")
    e, _ = produce(p1, pid, epoch, 1, b"s3-zombie-p1", "[3] old epoch to P1 (saw the old epoch)")
    ck(e in (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED),
       f"old-epoch batch to P1: error {e}, expected {INVALID_PRODUCER_EPOCH} or {PRODUCER_FENCED}")
    ck.eq(offsets(nodes, leaders, p3), before3, "P3 (HW, LSO) after the zombie: unchanged")
    ck.eq(offsets(nodes, leaders, p1), before1, "P1 (HW, LSO) after the zombie: unchanged")

    # The new epoch still works where the zombie was refused.
    ck.eq(add(pid2, epoch2, p3), {p3: NONE}, "new epoch: AddPartitionsToTxn(P3)")
    ck.eq(produce(p3, pid2, epoch2, 0, b"s3-new-p3", "[3] new epoch to P3"), (NONE, 0),
          "new epoch's batch to P3: (error, base offset)")
    ck.eq(end_txn(pid2, epoch2, True), NONE, "new epoch: EndTxn(commit)")
    ck.eq(offsets(nodes, leaders, p3), (2, 2), "P3 (HW, LSO) after the new epoch's commit")
    f = nodes(leaders[p3]).fetch(TOPIC, p3, 0, READ_COMMITTED)
    ck.eq(visible_read_committed(f["batches"], f["aborted"] or []), [(0, b"s3-new-p3")],
          "P3 read_committed: only the new epoch's committed record")

    # ------------------------------------------------------------------ 4
    _txn_offsets_overtaken(ck, nodes, tid, x, xc, pid2, epoch2, TOPIC, p1)
    # ------------------------------------------------------------------ 5
    _deleted_participant(ck, c, nodes, leaders, p1)
    # ------------------------------------------------------------------ 6
    _forged_marker(ck, nodes, leaders, p1)


def _write_p1(ck, xc, nodes, leaders, tid, pid, epoch, p1, value, tag):
    """AddPartitionsToTxn(P1) and one transactional record (sequence 0) there."""
    ck.eq(xc.add_partitions_to_txn(tid, pid, epoch, TOPIC, [p1]), {p1: NONE}, f"{tag} add P1")
    rb = record_batch(pid, epoch, 0, [value], transactional=True)
    e, _, _ = retrying(f"{tag} produce", lambda: nodes(leaders[p1]).produce(
        TOPIC, p1, rb, f"{tag} produce", transactional_id=tid), PRODUCE_RETRIABLE)
    ck.eq(e, NONE, f"{tag} the transactional batch to P1")


def _forged_marker(ck, nodes, leaders, p1):
    """[6] a client's WriteTxnMarkers with a coordinator epoch no coordinator has."""
    log("[6] a forged marker with coordinator epoch 2^31-1")
    tid = "cverify-forged"
    xc = nodes(find_coordinator(nodes(1), tid))
    e, pid, epoch = retrying("InitProducerId", lambda: xc.init_producer_id(tid, 60000, version=1),
                             COORD_RETRIABLE)
    ck.eq(e, NONE, f"[6] InitProducerId {tid}")
    _write_p1(ck, xc, nodes, leaders, tid, pid, epoch, p1, b"s6-victim", "[6]")
    errs = nodes(leaders[p1]).write_txn_marker(TOPIC, p1, pid, epoch, False, 0x7FFFFFFF,
                                               "[6] forged WriteTxnMarkers")
    ck.eq(errs, [COORDINATOR_NOT_AVAILABLE], "[6] the forged marker is refused")
    e = retrying("EndTxn", lambda: xc.end_txn(tid, pid, epoch, True), COORD_RETRIABLE)
    ck.eq(e, NONE, "[6] the victim's EndTxn(commit)")
    f = nodes(leaders[p1]).fetch(TOPIC, p1, 0, READ_COMMITTED)
    got = [v for _, v in visible_read_committed(f["batches"], f["aborted"] or [])]
    ck(b"s6-victim" in got, f"[6] the victim's record is committed on P1 ({got[-3:]})")


def _deleted_participant(ck, c, nodes, leaders, p1):
    """[5] a participant's topic deleted before EndTxn."""
    from confluent_kafka.admin import AdminClient
    log("[5] a participant topic deleted before EndTxn")
    gone = "cvt-gone"
    ck.eq(nodes(1).create_topic(gone, 3), NONE, f"CreateTopics {gone}")
    gleaders = wait_topic_led(c, gone, 3)
    tid = "cverify-del"
    x = find_coordinator(nodes(1), tid)
    xc = nodes(x)
    e, pid, epoch = retrying("InitProducerId", lambda: xc.init_producer_id(tid, 60000, version=1),
                             COORD_RETRIABLE)
    ck.eq(e, NONE, f"[5] InitProducerId {tid}")
    ck.eq(xc.add_partitions_to_txn(tid, pid, epoch, TOPIC, [p1]), {p1: NONE}, "[5] add P1")
    ck.eq(xc.add_partitions_to_txn(tid, pid, epoch, gone, [0, 1, 2]), {0: NONE, 1: NONE, 2: NONE},
          f"[5] add {gone}/0-2")
    targets = [(TOPIC, p1, leaders[p1])] + [(gone, p, gleaders[p]) for p in range(3)]
    for topic, p, node in targets:
        rb = record_batch(pid, epoch, 0, [b"s5"], transactional=True)
        e, _, _ = retrying(f"[5] produce {topic}/{p}", lambda: nodes(node).produce(
            topic, p, rb, "[5] produce", transactional_id=tid), PRODUCE_RETRIABLE)
        ck.eq(e, NONE, f"[5] transactional batch to {topic}/{p}")
    admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
    admin.delete_topics([gone])[gone].result(30)
    log(f"  deleted {gone}")
    t0 = time.monotonic()
    e = retrying("EndTxn", lambda: xc.end_txn(tid, pid, epoch, True), COORD_RETRIABLE)
    log(f"  EndTxn(commit) -> error {e} in {time.monotonic() - t0:.1f} s")
    ck(e != NONE, f"[5] EndTxn(commit) with a deleted participant is not NONE (error {e})")
    deadline = time.monotonic() + RETRY_FOR
    hw, lso = offsets(nodes, leaders, p1)
    while lso != hw and time.monotonic() < deadline:
        time.sleep(0.2)
        hw, lso = offsets(nodes, leaders, p1)
    ck.eq(lso, hw, "[5] P1's last stable offset reaches its high watermark")
    e, pid2, epoch2 = retrying("InitProducerId", lambda: xc.init_producer_id(tid, 60000, version=1),
                               COORD_RETRIABLE)
    ck.eq(e, NONE, f"[5] InitProducerId {tid} again")
    _write_p1(ck, xc, nodes, leaders, tid, pid2, epoch2, p1, b"s5-again", "[5] again")
    e = retrying("EndTxn", lambda: xc.end_txn(tid, pid2, epoch2, True), COORD_RETRIABLE)
    ck.eq(e, NONE, "[5] the next transaction commits")


def _txn_offsets_overtaken(ck, nodes, tid, x, xc, pid, epoch, topic, part):
    """[4] the group's node holds the coordinator's "yes" to a TxnOffsetCommit's
    verification VERIFY_DELAY_MS (the failpoint) while the transaction is aborted: the
    ABORT marker reaches the group first, and the late "yes" must not leave offsets pending
    that no marker will ever settle (RequireStable reads would fail for ever)."""
    log("[4] a TxnOffsetCommit whose verification is overtaken by the abort")
    gid = y = None
    for i in range(200):
        cand = f"cverify-group-{i}"
        node = find_coordinator_of(nodes(1), cand, 0)
        if node != x:
            gid, y = cand, node
            break
    ck(gid is not None, f"a group whose coordinator is not node {x}")
    log(f"  group {gid}: coordinator node {y}")
    yc = nodes(y)

    def add_offsets():
        e = retrying("AddOffsetsToTxn", lambda: xc.add_offsets_to_txn(tid, pid, epoch, gid),
                     COORD_RETRIABLE)
        log(f"  AddOffsetsToTxn({gid}) pid {pid} epoch {epoch} -> error {e}")
        return e

    def commit_offsets(offset, during=None):
        yc.send(28, 2, yc.txn_offset_commit_body(tid, gid, pid, epoch, topic, {part: offset}))
        if during:
            during()
        r, dt = yc.answer("TxnOffsetCommit v2")
        got = yc.txn_offset_commit_parse(r)
        log(f"  TxnOffsetCommit({gid}, {topic}/{part} = {offset}) -> {got} ({dt * 1000:.0f} ms)")
        return got.get(part)

    def stable_offset():
        """OffsetFetch with RequireStable, UNSTABLE_OFFSET_COMMIT retried for RETRY_FOR s."""
        def once():
            top, parts = yc.offset_fetch_stable(gid, topic, [part])
            off, err = parts.get(part, (None, None))
            return (top or err), off
        err, off = retrying(f"OffsetFetch({gid}, RequireStable)", once,
                            (UNSTABLE_OFFSET_COMMIT,) + COORD_RETRIABLE)
        log(f"  OffsetFetch({gid}, RequireStable) -> error {err}, offset {off}")
        return err, off

    ck.eq(add_offsets(), NONE, "AddOffsetsToTxn for the overtaken commit")

    def abort_meanwhile():
        time.sleep(VERIFY_DELAY_MS / 4000)  # the coordinator has answered "yes" by now
        ck.eq(retrying("EndTxn", lambda: xc.end_txn(tid, pid, epoch, False), COORD_RETRIABLE),
              NONE, "EndTxn(abort) while the verification's answer is held")
    e = commit_offsets(5, abort_meanwhile)
    ck.eq(e, COORDINATOR_NOT_AVAILABLE,
          "TxnOffsetCommit whose transaction ended while it was verified: refused (retriable)")
    ck.eq(stable_offset(), (NONE, -1),
          "OffsetFetch(RequireStable) after the abort: (no error, no offset): nothing pending")

    # The same producer's next transaction still commits its offsets.
    ck.eq(add_offsets(), NONE, "AddOffsetsToTxn in the next transaction")
    ck.eq(commit_offsets(7), NONE, "TxnOffsetCommit in the next transaction")
    ck.eq(retrying("EndTxn", lambda: xc.end_txn(tid, pid, epoch, True), COORD_RETRIABLE), NONE,
          "EndTxn(commit) of the next transaction")
    ck.eq(stable_offset(), (NONE, 7), "OffsetFetch(RequireStable) after the commit")


def find_coordinator_of(conn, key, key_type):
    err, node, _addr = retrying(f"FindCoordinator {key}",
                                lambda: conn.find_coordinator(key, key_type),
                                (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE))
    if err:
        raise AssertionError(f"FindCoordinator {key}: error {err}")
    return node


def main():
    # The failpoint of step 4 (src/broker/h_group.c): every node holds a TxnOffsetCommit's
    # verification answer this long; steps 1-3 send no TxnOffsetCommit.
    os.environ["BROOK_FAILPOINT_TXN_OFFSET_VERIFY_DELAY_MS"] = str(VERIFY_DELAY_MS)
    require_cluster_support(find_brookd())
    ck = Check("cluster_verify")
    run_cluster_scenario(ck, "cverify", CONFIG, scenario, dump_logs, log)
    log(f"total {time.monotonic() - T0:.1f}s")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
