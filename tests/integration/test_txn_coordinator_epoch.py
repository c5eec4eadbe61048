#!/usr/bin/python3
"""Coordinator epochs on the wire (raw Kafka protocol against one live brookd): a
participant refuses a transaction marker (WriteTxnMarkers) or a prepare (BrookPrepareTxn
v1) whose coordinator epoch is older than the newest coordinator epoch of the producer's
markers there, with TRANSACTION_COORDINATOR_FENCED (52), and appends nothing; the same
epoch and newer ones are accepted; the memory survives a SIGKILL restart (rebuilt from the
log's control batches) and a clean restart (producer snapshot).

The markers are sent by hand, as a coordinator on another node would send them
(docs/cluster.md, "Internal APIs"), for a real transaction opened through the node's own
coordinator, so a refused marker visibly leaves that transaction open (the last stable
offset stays at its first record).  The raw client is raw_kafka.py.  One node's own
coordinator epoch never changes, and by default a marker with a newer one is refused as
forged (COORDINATOR_NOT_AVAILABLE): this brookd runs with the failpoint
BROOK_FAILPOINT_ANY_COORDINATOR_EPOCH=1 so that the markers can stand in for other nodes'
coordinators."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, run_main  # noqa: E402
from raw_kafka import (READ_COMMITTED, Conn as RawConn, Reader, record_batch,  # noqa: E402
                       s16)

TOPIC = b"tce-t"
TXN_ID = "tce-1"
FENCED = 52
BROOK_PREPARE_TXN = 10000


def write_marker(c, pid, epoch, commit, coordinator_epoch):
    """WriteTxnMarkers v0, one marker for TOPIC/0 -> that partition's error code."""
    errs = c.write_txn_marker(TOPIC, 0, pid, epoch, commit, coordinator_epoch,
                              f"WriteTxnMarkers (coordinator epoch {coordinator_epoch})")
    if len(errs) != 1:
        raise AssertionError(f"WriteTxnMarkers: {len(errs)} partition answers, expected 1")
    return errs[0]


def prepare(c, pid, epoch, coordinator_epoch):
    """BrookPrepareTxn v1 for TOPIC/0 -> (top-level error, the partition's error)."""
    body = (s16(TXN_ID) + struct.pack(">qhi", pid, epoch, coordinator_epoch)
            + struct.pack(">i", 1) + s16(TOPIC) + struct.pack(">ii", 1, 0))
    r, _ = c.request(BROOK_PREPARE_TXN, 1, body,
                     f"BrookPrepareTxn v1 (coordinator epoch {coordinator_epoch})")
    rd = Reader(r)
    top = rd.take(">h")
    errs = []
    for _ in range(rd.take(">i")):
        rd.string()
        for _ in range(rd.take(">i")):
            _part, err = rd.take(">ih")
            errs.append(err)
    return top, (errs[0] if len(errs) == 1 else None)


def log_end(c):
    return c.list_offset(TOPIC, 0)[1]


def last_stable(c):
    return c.list_offset(TOPIC, 0, isolation=READ_COMMITTED)[1]


def control_epochs(c):
    """[(offset, COMMIT/ABORT, coordinator epoch)] of every control batch of TOPIC/0."""
    f = c.fetch(TOPIC, 0, 0)
    out = []
    for b in f["batches"]:
        if b["control"]:
            off, _key, val = b["records"][0]
            _ver, ce = struct.unpack(">hi", val[:6])
            out.append((off, b["marker"], ce))
    return out


def main():
    os.environ["BROOK_FAILPOINT_ANY_COORDINATOR_EPOCH"] = "1"  # brookd inherits it
    ck = Check("txn-coordinator-epoch")
    with Broker(name="tce", config={"log.flush.mode": "sync", "num.partitions": 1,
                                    "transaction.state.log.num.partitions": 4,
                                    "offsets.topic.num.partitions": 4}) as b:
        c = RawConn(b.bootstrap, client_id=b"brook-tce")
        c.request(3, 1, struct.pack(">i", 1) + s16(TOPIC), "Metadata (auto-create)")
        time.sleep(0.2)
        err, pid, epoch = c.init_producer_id(TXN_ID)
        ck.eq(err, 0, "InitProducerId")
        ck.eq(c.add_partitions_to_txn(TXN_ID, pid, epoch, TOPIC, [0]), {0: 0},
              "AddPartitionsToTxn")
        err, base, _ = c.produce(TOPIC, 0, record_batch(pid, epoch, 0, [b"a"], transactional=True),
                                 "first transactional batch", transactional_id=TXN_ID)
        ck.eq((err, base), (0, 0), "first transactional batch")
        ck.eq(last_stable(c), 0, "last stable offset with the transaction open")

        # A coordinator of epoch 5 commits it: written, with its epoch in the control record.
        ck.eq(write_marker(c, pid, epoch, True, 5), 0, "COMMIT marker of coordinator epoch 5")
        ck.eq((log_end(c), last_stable(c)), (2, 2), "log end / last stable after that marker")
        ck.eq(control_epochs(c), [(1, "COMMIT", 5)], "the control record's coordinator epoch")

        # The producer writes again (its coordinator still has the partition in its
        # transaction): open at offset 2.
        err, base, _ = c.produce(TOPIC, 0, record_batch(pid, epoch, 1, [b"b"], transactional=True),
                                 "second transactional batch", transactional_id=TXN_ID)
        ck.eq((err, base), (0, 2), "second transactional batch")
        ck.eq(last_stable(c), 2, "last stable offset with the second transaction open")

        # An older coordinator (epoch 4): refused, nothing appended, still open.
        ck.eq(write_marker(c, pid, epoch, False, 4), FENCED, "ABORT marker of coordinator epoch 4")
        ck.eq(prepare(c, pid, epoch, 4), (0, FENCED), "prepare of coordinator epoch 4")
        ck.eq((log_end(c), last_stable(c)), (3, 2), "log end / last stable after the refusals")
        # The same coordinator (epoch 5) prepares and commits: accepted.
        ck.eq(prepare(c, pid, epoch, 5), (0, 0), "prepare of coordinator epoch 5")
        ck.eq(write_marker(c, pid, epoch, True, 5), 0, "COMMIT marker of coordinator epoch 5 again")
        ck.eq((log_end(c), last_stable(c)), (4, 4), "log end / last stable after it")
        # A newer coordinator (epoch 7): accepted; 5 and 6 are now refused.
        ck.eq(write_marker(c, pid, epoch, True, 7), 0, "marker of coordinator epoch 7")
        ck.eq(write_marker(c, pid, epoch, True, 6), FENCED, "marker of coordinator epoch 6")
        ck.eq(log_end(c), 5, "log end: epoch 6 appended nothing")
        ck.eq(control_epochs(c), [(1, "COMMIT", 5), (3, "COMMIT", 5), (4, "COMMIT", 7)],
              "control records")
        c.close()

        # After a SIGKILL (log replay) and after a clean restart (snapshot): still 7.
        end = 5
        for how in ("SIGKILL restart", "clean restart"):
            if how == "SIGKILL restart":
                b.crash_restart()
            else:
                b.restart()
            c = RawConn(b.bootstrap, client_id=b"brook-tce")
            ck.eq(write_marker(c, pid, epoch, False, 6), FENCED, f"{how}: marker of epoch 6")
            ck.eq(prepare(c, pid, epoch, 6), (0, FENCED), f"{how}: prepare of epoch 6")
            ck.eq(log_end(c), end, f"{how}: nothing appended")
            ck.eq(write_marker(c, pid, epoch, True, 7), 0, f"{how}: marker of epoch 7")
            end += 1
            ck.eq(log_end(c), end, f"{how}: the epoch-7 marker appended")
            c.close()
    ck.done()


if __name__ == "__main__":
    run_main(main)
