#!/usr/bin/python3
"""Transactions v2 (KIP-890 part 2) on the raw Kafka protocol: what a Kafka 4 client sends
(InitProducerId v5, Produce v12 with no AddPartitionsToTxn, TxnOffsetCommit v5 with no
AddOffsetsToTxn, EndTxn v5) and the brokers' own AddPartitionsToTxn v5, checked answer by
answer. Runs on one node, and with --cluster on three (ZooKeeper + brookd x 3) with the
written partitions led by nodes other than the transaction's coordinator, so every
implicit add and every verification crosses nodes as AddPartitionsToTxn v5.

1. ApiVersions v3 offers EndTxn 5, Produce 13, AddPartitionsToTxn 5, TxnOffsetCommit 5,
   and the finalized feature transaction.version = 2.
2. A v2 transaction: two partitions written with Produce v12 (no add), an offset committed
   with TxnOffsetCommit v5 (no AddOffsetsToTxn); EndTxn v5 commits and answers the same
   producer id with epoch + 1; both records are read_committed-visible, the offset is
   committed.
3. Late: a batch of the ended transaction (the old epoch) to a written partition and to a
   partition the producer never wrote is refused (INVALID_PRODUCER_EPOCH), nothing appended;
   the retried EndTxn gets the same answer (epoch + 1); as an abort, INVALID_TXN_STATE.
4. The next transaction (the new epoch, sequences from 0) writes and aborts: a late EndTxn of
   the earlier transaction is now PRODUCER_FENCED, the abort answers epoch + 2 and the
   record is aborted (read_committed shows nothing of it).
5. An abort with nothing written only bumps the epoch; a commit with nothing written is
   INVALID_TXN_STATE.
6. The brokers' form, AddPartitionsToTxn v5: VerifyOnly confirms a partition in the
   transaction and refuses one that is not; VerifyOnly=false adds a partition and a group
   (Brook's tagged field); an unknown transactional id is refused.
7. An old client at the same time (InitProducerId v1, AddPartitionsToTxn v1, Produce v3,
   EndTxn v1): commits without any epoch change.
8. Bad input: AddPartitionsToTxn v5 and EndTxn v5 cut short close that connection only.

Every request waits at most ANSWER_WITHIN s; retriable answers (CONCURRENT_TRANSACTIONS,
coordinator or leader moving) are retried for at most RETRY_FOR s and logged."""

import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, run_main  # noqa: E402
import cluster_harness  # noqa: E402
from raw_kafka import (COORD_RETRIABLE, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE,  # noqa: E402
                       NONE, PRODUCE_RETRIABLE, PRODUCER_FENCED, READ_COMMITTED,
                       READ_UNCOMMITTED, TAGS, Conn, record_batch, visible_read_committed)
import raw_txn_v2 as v2  # noqa: E402

TOPIC = "v2t"
PARTS = 6
GROUP = "v2-group"
ANSWER_WITHIN = 15.0
RETRY_FOR = 20.0
CONFIG = {"transaction.state.log.num.partitions": 6, "offsets.topic.num.partitions": 3,
          "num.partitions": PARTS, "log.flush.mode": "sync"}
T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def retrying(what, fn, retriable):
    return cluster_harness.retrying(what, fn, retriable, RETRY_FOR, log)


class Place:
    """Where things are: the coordinator's connection and each partition's leader's."""

    def __init__(self, conns, coordinator, leaders):
        self.conns = conns          # node id -> Conn
        self.coord = conns[coordinator]
        self.leaders = leaders      # partition -> node id

    def leader(self, p):
        return self.conns[self.leaders[p]]


def offsets(pl, p):
    conn = pl.leader(p)
    e1, hw = conn.list_offset(TOPIC, p, READ_UNCOMMITTED)
    e2, lso = conn.list_offset(TOPIC, p, READ_COMMITTED)
    if e1 or e2:
        raise AssertionError(f"ListOffsets {TOPIC}/{p}: errors {e1}, {e2}")
    return hw, lso


def scenario(ck, pl, tid, parts, old_tid):
    pa, pb, pc, pd = parts
    co = pl.coord

    def produce(p, pid, epoch, seq, value, what, version=12):
        rb = record_batch(pid, epoch, seq, [value], transactional=True)
        e, base = retrying(what, lambda: v2.produce(pl.leader(p), tid, TOPIC, p, rb, version, what),
                           PRODUCE_RETRIABLE)
        log(f"  {what}: Produce v{version} {TOPIC}/{p} (pid {pid}, epoch {epoch}, seq {seq}) "
            f"-> error {e}, base {base}")
        return e, base

    def end(pid, epoch, commit, what):
        r = retrying(what, lambda: v2.end_txn(co, tid, pid, epoch, commit), COORD_RETRIABLE)
        log(f"  {what}: EndTxn v5 ({'commit' if commit else 'abort'}) pid {pid} epoch {epoch} -> {r}")
        return r

    # ------------------------------------------------------------------ 1
    log("[1] ApiVersions v4 and v3")
    err, apis, supported, fepoch, finalized = v2.api_versions(co, 4)
    ck.eq(err, NONE, "ApiVersions v4 error")
    for key, name, want in ((26, "EndTxn", 5), (0, "Produce", 13), (24, "AddPartitionsToTxn", 5),
                            (28, "TxnOffsetCommit", 5), (22, "InitProducerId", 5),
                            (25, "AddOffsetsToTxn", 4)):
        ck.eq(apis.get(key, (None, None))[1], want, f"ApiVersions: {name} max version")
    ck.eq(finalized.get("transaction.version"), (2, 2), "finalized feature transaction.version")
    ck.eq(supported.get("transaction.version"), (0, 2), "supported feature transaction.version")
    ck(fepoch >= 0, f"a finalized features epoch: {fepoch}")
    err, _, supported3, _, finalized3 = v2.api_versions(co, 3)
    ck.eq((err, finalized3.get("transaction.version")), (NONE, (2, 2)),
          "ApiVersions v3: (error, finalized transaction.version)")
    ck("transaction.version" not in supported3,
       f"ApiVersions v3 leaves out supported features with min 0 (KAFKA-17011): {supported3}")

    # ------------------------------------------------------------------ 2
    log("[2] a v2 transaction: implicit adds, commit, epoch bumped")
    e, pid, e0 = retrying("InitProducerId v5", lambda: v2.init_producer_id(co, tid), COORD_RETRIABLE)
    ck.eq(e, NONE, "InitProducerId v5 error")
    log(f"  InitProducerId v5 {tid} -> pid {pid}, epoch {e0}")
    ck.eq(produce(pa, pid, e0, 0, b"t1-a", "[2] first batch to A"), (NONE, 0),
          "Produce v12 to A with no AddPartitionsToTxn: (error, base)")
    ck.eq(produce(pb, pid, e0, 0, b"t1-b", "[2] first batch to B"), (NONE, 0),
          "Produce v12 to B with no AddPartitionsToTxn: (error, base)")
    ck.eq(offsets(pl, pa), (1, 0), "A (HW, LSO) with the transaction open")
    gc = pl.conns[group_coordinator(pl, GROUP)]
    r = retrying("TxnOffsetCommit v5", lambda: (lambda m: (m.get(pa), m))(
        v2.txn_offset_commit(gc, tid, GROUP, pid, e0, TOPIC, {pa: 42})), COORD_RETRIABLE)
    ck.eq(r[1], {pa: NONE}, "TxnOffsetCommit v5 with no AddOffsetsToTxn")
    ck.eq(end(pid, e0, True, "[2] commit"), (NONE, pid, e0 + 1),
          "EndTxn v5 commit: (error, same producer id, epoch + 1)")
    for p, val in ((pa, b"t1-a"), (pb, b"t1-b")):
        ck.eq(offsets(pl, p), (2, 2), f"partition {p} (HW, LSO) after the commit")
        f = pl.leader(p).fetch(TOPIC, p, 0, READ_COMMITTED)
        ck.eq(visible_read_committed(f["batches"], f["aborted"] or []), [(0, val)],
              f"partition {p} read_committed after the commit")
        mk = [b for b in pl.leader(p).fetch(TOPIC, p, 0, READ_UNCOMMITTED)["batches"]
              if b.get("marker")]
        ck.eq([(b["marker"], b["producer_epoch"]) for b in mk], [("COMMIT", e0 + 1)],
              f"partition {p}: one COMMIT marker, at the bumped epoch")
    got = retrying("OffsetFetch", lambda: (lambda m: (m.get(pa, (0, 0))[1], m))(
        v2.offset_fetch(gc, GROUP, TOPIC, [pa])), COORD_RETRIABLE)[1]
    ck.eq(got.get(pa), (42, NONE), "the committed offset (OffsetFetch)")

    # ------------------------------------------------------------------ 3
    log("[3] late batches and a retried EndTxn of the ended transaction")
    before = {p: offsets(pl, p) for p in (pa, pc)}
    e, _ = produce(pa, pid, e0, 1, b"t1-late-a", "[3] old epoch to A")
    ck.eq(e, INVALID_PRODUCER_EPOCH, "a late batch (old epoch) to a written partition")
    e, _ = produce(pc, pid, e0, 0, b"t1-late-c", "[3] old epoch to C (never written)")
    ck.eq(e, INVALID_PRODUCER_EPOCH, "a late batch (old epoch) to a partition never written")
    for p in (pa, pc):
        ck.eq(offsets(pl, p), before[p], f"partition {p} unchanged by the late batch")
    ck.eq(end(pid, e0, True, "[3] retried commit"), (NONE, pid, e0 + 1),
          "a retried EndTxn v5: the same answer")
    ck.eq(end(pid, e0, False, "[3] the old epoch as an abort")[0], INVALID_TXN_STATE,
          "the old epoch's EndTxn as an abort")

    # ------------------------------------------------------------------ 4
    log("[4] the next transaction; the earlier one's EndTxn is now fenced")
    e1 = e0 + 1
    ck.eq(produce(pc, pid, e1, 0, b"t2-c", "[4] new epoch to C"), (NONE, 0),
          "Produce v12 at the new epoch, sequence 0: (error, base)")
    ck.eq(end(pid, e0, True, "[4] late EndTxn of txn 1")[0], PRODUCER_FENCED,
          "a late EndTxn of the earlier transaction")
    ck.eq(end(pid, e1, False, "[4] abort"), (NONE, pid, e1 + 1),
          "EndTxn v5 abort: (error, same producer id, epoch + 1)")
    ck.eq(offsets(pl, pc), (2, 2), "C (HW, LSO) after the abort")
    f = pl.leader(pc).fetch(TOPIC, pc, 0, READ_COMMITTED)
    ck.eq(visible_read_committed(f["batches"], f["aborted"] or []), [],
          "C read_committed: nothing of the aborted transaction")
    ck((pid, 0) in (f["aborted"] or []), f"C lists the aborted transaction: {f['aborted']}")

    # ------------------------------------------------------------------ 5
    log("[5] ends with nothing written")
    e2 = e1 + 1
    ck.eq(end(pid, e2, False, "[5] empty abort"), (NONE, pid, e2 + 1),
          "EndTxn v5 abort with nothing written: the epoch bumped")
    e3 = e2 + 1
    ck.eq(end(pid, e3, True, "[5] empty commit")[0], INVALID_TXN_STATE,
          "EndTxn v5 commit with nothing written")

    # ------------------------------------------------------------------ 6
    log("[6] AddPartitionsToTxn v5, the brokers' form")
    ck.eq(produce(pd, pid, e3, 0, b"t4-d", "[6] open a transaction on D"), (NONE, 0),
          "Produce v12 to D")

    def addparts(txns, what):
        r = retrying(what, lambda: (lambda t: (t[0], t))(v2.add_partitions_v4(co, txns)),
                     COORD_RETRIABLE)[1]
        log(f"  {what} -> {r}")
        return r

    top, res = addparts([(tid, pid, e3, True, {TOPIC: [pd, pa]}, [])], "verify D and A")
    ck.eq(top, NONE, "AddPartitionsToTxn v5 top-level error")
    ck.eq(res.get(tid, ({}, {}))[0], {(TOPIC, pd): NONE, (TOPIC, pa): INVALID_TXN_STATE},
          "VerifyOnly: D is in the transaction, A is not")
    top, res = addparts([(tid, pid, e3, False, {TOPIC: [pa]}, [GROUP]),
                         ("v2-nobody", 12345, 0, False, {TOPIC: [pa]}, [])],
                        "add A and the group; an unknown id")
    ck.eq(res.get(tid), ({(TOPIC, pa): NONE}, {GROUP: NONE}),
          "VerifyOnly=false adds A and the group (Brook's tag)")
    ck(res.get("v2-nobody", ({}, {}))[0].get((TOPIC, pa)) not in (None, NONE),
       f"an unknown transactional id is refused: {res.get('v2-nobody')}")
    top, res = addparts([(tid, pid, e3, True, {TOPIC: [pa]}, [GROUP])], "verify A and the group")
    ck.eq(res.get(tid), ({(TOPIC, pa): NONE}, {GROUP: NONE}), "both verified now")
    ck.eq(end(pid, e3, True, "[6] commit"), (NONE, pid, e3 + 1), "the commit of D")
    f = pl.leader(pd).fetch(TOPIC, pd, 0, READ_COMMITTED)
    ck.eq(visible_read_committed(f["batches"], f["aborted"] or []), [(0, b"t4-d")],
          "D read_committed after the commit")

    # ------------------------------------------------------------------ 7
    log("[7] an old client at the same time")
    e, opid, oep = retrying("InitProducerId v1", lambda: co_for(pl, old_tid).init_producer_id(
        old_tid, 60000, version=1), COORD_RETRIABLE)
    ck.eq(e, NONE, "old client: InitProducerId v1")
    oc = co_for(pl, old_tid)
    m = retrying("AddPartitionsToTxn v1", lambda: (lambda m: (m.get(pb), m))(
        oc.add_partitions_to_txn(old_tid, opid, oep, TOPIC, [pb])), COORD_RETRIABLE)[1]
    ck.eq(m, {pb: NONE}, "old client: AddPartitionsToTxn v1")
    rb = record_batch(opid, oep, 0, [b"old-b"], transactional=True)
    e, base, _ = retrying("Produce v3", lambda: pl.leader(pb).produce(
        TOPIC, pb, rb, "old client: Produce v3", transactional_id=old_tid), PRODUCE_RETRIABLE)
    ck.eq((e, base), (NONE, 2), "old client: Produce v3")
    e = retrying("EndTxn v1", lambda: oc.end_txn(old_tid, opid, oep, True), COORD_RETRIABLE)
    ck.eq(e, NONE, "old client: EndTxn v1 commit")
    mk = [b for b in pl.leader(pb).fetch(TOPIC, pb, 0, READ_UNCOMMITTED)["batches"]
          if b.get("marker") and b["producer_id"] == opid]
    ck.eq([(b["marker"], b["producer_epoch"]) for b in mk], [("COMMIT", oep)],
          "old client: its COMMIT marker keeps its epoch (no v2 bump)")

    # ------------------------------------------------------------------ 8
    log("[8] requests cut short")
    bodies = ((24, 5, TAGS + v2.addparts_v4_body([(tid, pid, e3 + 1, True, {TOPIC: [pa]}, [GROUP])])),
              (26, 5, TAGS + v2.end_txn_body(tid, pid, e3 + 1, True)))
    for key, ver, body in bodies:
        for cut in (1, len(body) // 2, len(body) - 1):
            with Conn(pl.coord.address) as conn:
                try:
                    conn.request(key, ver, body[:cut], f"api {key} v{ver} cut at {cut}")
                    closed = False
                except (ConnectionError, socket.timeout, AssertionError, OSError):
                    closed = True
                ck(closed, f"api {key} v{ver} cut at {cut} of {len(body)} bytes closes the connection")
    err = v2.api_versions(pl.coord)[0]
    ck.eq(err, NONE, "the broker still answers")


def group_coordinator(pl, group):
    err, node, _ = retrying(f"FindCoordinator {group}", lambda: pl.coord.find_coordinator(group, 0),
                            COORD_RETRIABLE)
    if err:
        raise AssertionError(f"FindCoordinator({group}): error {err}")
    return node


def co_for(pl, tid):
    err, node, _ = retrying(f"FindCoordinator {tid}", lambda: pl.coord.find_coordinator(tid, 1),
                            COORD_RETRIABLE)
    if err:
        raise AssertionError(f"FindCoordinator({tid}): error {err}")
    return pl.conns[node]


def single(ck):
    with Broker(name="txnv2", config=CONFIG) as b:
        conn = Conn(b.bootstrap, client_id=b"brook-txnv2", answer_within=ANSWER_WITHIN)
        try:
            ck.eq(conn.create_topic(TOPIC, PARTS), NONE, f"CreateTopics {TOPIC}")
            pl = Place({1: conn}, 1, {p: 1 for p in range(PARTS)})
            pl.conns = {b_node_id(conn): conn}
            pl.coord = conn
            pl.leaders = {p: b_node_id(conn) for p in range(PARTS)}
            scenario(ck, pl, "v2-txn", [0, 1, 2, 3], "v2-old")
        finally:
            conn.close()


def b_node_id(conn):
    err, node, _ = conn.find_coordinator("any", 1)
    if err:
        raise AssertionError(f"FindCoordinator: error {err}")
    return node


def cluster(ck):
    cluster_harness.require_cluster_support(find_brookd())

    def run(ck, c):
        nodes = cluster_harness.NodeConns(c, b"brook-txnv2", ANSWER_WITHIN)
        try:
            ck.eq(nodes(1).create_topic(TOPIC, PARTS), NONE, f"CreateTopics {TOPIC}")
            leaders = cluster_harness.wait_topic_led(c, TOPIC, PARTS)
            log(f"{TOPIC} leaders {leaders}")
            conns = {n.node_id: nodes(n.node_id) for n in c.nodes}
            tid = x = None
            for i in range(200):
                cand = f"v2-txn-{i}"
                err, node, _ = retrying("FindCoordinator", lambda: nodes(1).find_coordinator(cand, 1),
                                        COORD_RETRIABLE)
                if not err and sum(1 for ld in leaders.values() if ld != node) >= 4:
                    tid, x = cand, node
                    break
            ck(tid is not None, "a transactional id with 4 partitions led by other nodes")
            parts = [p for p in sorted(leaders) if leaders[p] != x][:4]
            log(f"transactional id {tid}: coordinator node {x}; partitions {parts} led by "
                f"{[leaders[p] for p in parts]}")
            scenario(ck, Place(conns, x, leaders), tid, parts, "v2-old")
        finally:
            nodes.close()

    def dump(c, why):
        cluster_harness.dump_log_lines(c, why, lambda ln: any(k in ln.lower() for k in (
            "txn", "produce", "warn", "error", "peer")))

    cluster_harness.run_cluster_scenario(ck, "txnv2", CONFIG, run, dump, log)


def main():
    ck = Check("txn_v2_cluster" if "--cluster" in sys.argv else "txn_v2")
    if "--cluster" in sys.argv:
        cluster(ck)
    else:
        single(ck)
    log(f"total {time.monotonic() - T0:.1f}s")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
