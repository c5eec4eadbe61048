#!/usr/bin/python3
"""Topic ids (issue #10, point 2) on the raw Kafka protocol (raw_kafka.py: the broker's
exact answers, no client library in between), with the flexible versions that carry them:
CreateTopics v7, Metadata v10/v12/v13, DeleteTopics v6, Fetch v13/v16 and Produce v13.

Single node:
 1. CreateTopics v7 gives a topic id: not zero, a version-4 UUID; v7 also answers the
    partitions, replication factor and the topic's configs (KIP-525).  Metadata v12 by
    name and v10 (all topics) report the same id; Metadata v12 by id gives the name back.
 2. Records produced to two partitions are read back by Fetch v13 naming the topic by id
    (and by v16), and the answer carries the id asked about.
 3. A Fetch v13 by id waits (max_wait 4 s, at the log end) while the topic is deleted by
    DeleteTopics v6 (by id) and created again under the same name with new records: the
    waiting fetch answers UNKNOWN_TOPIC_ID, never the new topic's records.  The new topic
    has a new id; a Fetch v13 with the old id gets UNKNOWN_TOPIC_ID on every partition, the
    new id reads only the new records; Metadata v12 by the old id says UNKNOWN_TOPIC_ID
    (null name), Metadata v13 answers its top-level error code; Produce v13 by the old id
    or by an id never made gets UNKNOWN_TOPIC_ID and writes nothing, by the new id it
    appends to the new topic; DeleteTopics v6 by the old id, or by an id never made, is UNKNOWN_TOPIC_ID
    and deletes nothing; v6 naming both a name and an id is INVALID_REQUEST.
 4. The id survives a clean restart and a SIGKILL.  A registry line written before topic
    ids (`topic <name> <partitions>`) gets an id at the next start, kept by the next.
 5. Metadata v10/v11 naming a topic by id is INVALID_REQUEST (Kafka: ids from v12 only).

Three nodes (ZooKeeper + brookd x 3; skipped with a message when ZooKeeper cannot run):
 6. A topic created through node 1 (RF 3) has the same id on every node (Metadata v12 of
    each); Fetch v13 by id at each partition's leader reads what was produced; Fetch v16 by
    id at a node that does not lead the partition answers NOT_LEADER_OR_FOLLOWER with
    CurrentLeader naming the leader and NodeEndpoints giving its address.
 7. Deleted (DeleteTopics v6 by id, through node 2) and recreated while node 3 is down:
    every node, node 3 after its restart, reports the new id; node 3's registry holds the
    new id and it dropped the old topic's data; the old id gets UNKNOWN_TOPIC_ID at the
    leaders and never the new records.
 8. A node whose registry lost its topic ids (lines without them) takes the cluster's at
    its next start.
 9. A topic znode without "id" (written before topic ids; made here with ZooKeeper's own
    CLI) gets a new id from the controller, marked "id_assigned": every node reports it
    and keeps the topic's records (readable by Fetch v13 with the new id), no node takes
    it for a recreated topic."""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, BrokerError, Check, find_brookd, run_main  # noqa: E402
import cluster_harness  # noqa: E402
from raw_kafka import (TAGS, Conn, FReader, carr, cstr, flex_request, parse_batches,  # noqa: E402
                       record_batch)

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
NOT_LEADER_OR_FOLLOWER = 6
REQUEST_TIMED_OUT = 7
TOPIC_ALREADY_EXISTS = 36
INVALID_REQUEST = 42
UNKNOWN_TOPIC_ID = 100
ZERO_ID = bytes(16)

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def id_str(b):
    return str(uuid.UUID(bytes=b))


# ------------------------------------------------------------------ the APIs
def create_topic_v7(conn, name, partitions, rf=-1, configs=None, validate_only=False, version=7):
    """CreateTopics v5-v7 of one topic -> dict: error, message, id, partitions, rf,
    configs {name: (value, read_only, source, sensitive)}."""
    topic = (cstr(name) + struct.pack(">ih", partitions, rf) + carr([])
             + carr(sorted((configs or {}).items()), lambda kv: cstr(kv[0]) + cstr(kv[1]) + TAGS)
             + TAGS)
    body = carr([topic]) + struct.pack(">ib", 15000, 1 if validate_only else 0) + TAGS
    rd = flex_request(conn, 19, version, body, f"CreateTopics v{version}")
    rd.take(">i")
    out = None
    for _ in range(rd.count()):
        t = {"name": rd.cstring()}
        t["id"] = rd.uuid() if version >= 7 else None
        t["error"] = rd.take(">h")
        t["message"] = rd.cstring()
        t["partitions"], t["rf"] = rd.take(">i"), rd.take(">h")
        n = rd.count()
        cfg = {}
        for _ in range(max(n, 0)):
            k, v = rd.cstring(), rd.cstring()
            ro, src, sens = rd.take(">b"), rd.take(">b"), rd.take(">b")
            rd.tags()
            cfg[k] = (v, bool(ro), src, bool(sens))
        t["configs"] = None if n < 0 else cfg
        rd.tags()
        if t["name"] == name:
            out = t
    rd.tags()
    rd.end("CreateTopics")
    if out is None:
        raise AssertionError(f"CreateTopics: no answer for {name}")
    return out


def metadata_v12(conn, names=None, ids=None, version=12, allow_auto=False, topic_ops=False):
    """Metadata v9-v12: topics by name (names) and/or by id (ids); both None: all topics.
    -> dict: brokers {id: "host:port"}, controller, topics: list of dicts (error, name, id,
    internal, partitions {p: (error, leader, epoch, replicas, isr)}, ops)."""
    if names is None and ids is None:
        topics = None
    else:
        topics = [(ZERO_ID, n) for n in (names or [])] + [(i, None) for i in (ids or [])]
    if version >= 10:
        enc = lambda t: t[0] + cstr(t[1]) + TAGS  # noqa: E731
    else:
        enc = lambda t: cstr(t[1]) + TAGS  # noqa: E731
    body = carr(topics, enc) + struct.pack(">b", 1 if allow_auto else 0)
    if version <= 10:
        body += b"\x00"  # IncludeClusterAuthorizedOperations
    body += struct.pack(">b", 1 if topic_ops else 0) + TAGS
    rd = flex_request(conn, 3, version, body, f"Metadata v{version}")
    md = {"brokers": {}, "topics": []}
    rd.take(">i")
    for _ in range(rd.count()):
        nid, host, port = rd.take(">i"), rd.cstring(), rd.take(">i")
        rd.cstring()
        rd.tags()
        md["brokers"][nid] = f"{host}:{port}"
    md["cluster_id"] = rd.cstring()
    md["controller"] = rd.take(">i")
    for _ in range(rd.count()):
        t = {"error": rd.take(">h"), "name": rd.cstring()}
        t["id"] = rd.uuid() if version >= 10 else None
        t["internal"] = bool(rd.take(">b"))
        parts = {}
        for _ in range(rd.count()):
            perr, p, leader, epoch = rd.take(">h"), rd.take(">i"), rd.take(">i"), rd.take(">i")
            reps = [rd.take(">i") for _ in range(rd.count())]
            isr = [rd.take(">i") for _ in range(rd.count())]
            for _ in range(rd.count()):
                rd.take(">i")
            rd.tags()
            parts[p] = (perr, leader, epoch, reps, isr)
        t["partitions"] = parts
        t["ops"] = rd.take(">i")
        rd.tags()
        md["topics"].append(t)
    if version <= 10:
        md["cluster_ops"] = rd.take(">i")
    if version >= 13:
        md["error"] = rd.take(">h")  # the top-level ErrorCode (KIP-1102)
    rd.tags()
    rd.end(f"Metadata v{version}")
    return md


def topic_md(conn, name, version=12):
    ts = [t for t in metadata_v12(conn, names=[name], version=version)["topics"] if t["name"] == name]
    if len(ts) != 1:
        raise AssertionError(f"Metadata v{version}: {name} answered {len(ts)} times")
    return ts[0]


def delete_topics_v6(conn, entries, version=6):
    """DeleteTopics v6 of [(name or None, id or ZERO_ID)] (v4/v5: [name]) -> list of dicts
    (name, id, error, message) in answer order."""
    if version >= 6:
        body = carr(entries, lambda e: cstr(e[0]) + e[1] + TAGS)
    else:
        body = carr(entries, cstr)
    body += struct.pack(">i", 15000) + TAGS
    rd = flex_request(conn, 20, version, body, f"DeleteTopics v{version}")
    rd.take(">i")
    out = []
    for _ in range(rd.count()):
        d = {"name": rd.cstring()}
        d["id"] = rd.uuid() if version >= 6 else None
        d["error"] = rd.take(">h")
        d["message"] = rd.cstring() if version >= 5 else None
        rd.tags()
        out.append(d)
    rd.tags()
    rd.end(f"DeleteTopics v{version}")
    return out


def fetch_by_id(conn, topic_id, offsets, version=13, max_wait_ms=0, min_bytes=1,
                max_bytes=1 << 20, what=None):
    """Fetch v13-v16 of partitions {p: offset} of the topic with this id -> dict: error,
    topics [(id, {p: dict(error, high_watermark, batches, current_leader)})],
    node_endpoints {id: "host:port"}."""
    parts = [struct.pack(">iiqiqi", p, -1, off, -1, -1, max_bytes) + TAGS
             for p, off in sorted(offsets.items())]
    body = b""
    if version <= 14:
        body += struct.pack(">i", -1)  # ReplicaId (v15+: ReplicaState tag)
    body += struct.pack(">iiibii", max_wait_ms, min_bytes, max_bytes, 0, 0, -1)
    body += carr([topic_id + carr(parts) + TAGS]) + carr([]) + cstr("") + TAGS
    rd = flex_request(conn, 1, version, body, what or f"Fetch v{version}")
    rd.take(">i")
    out = {"error": rd.take(">h"), "topics": [], "node_endpoints": {}}
    rd.take(">i")  # session id
    for _ in range(rd.count()):
        tid = rd.uuid()
        ps = {}
        for _ in range(rd.count()):
            p, err, hw, lso, lstart = rd.take(">ihqqq")
            for _ in range(max(rd.count(), 0)):
                rd.take(">qq")
                rd.tags()
            rd.take(">i")  # preferred read replica
            recs = rd.cbytes() or b""
            tags = rd.tags()
            cl = None
            if 1 in tags:
                cl = struct.unpack(">ii", tags[1][:8])
            ps[p] = {"error": err, "high_watermark": hw, "batches": parse_batches(recs),
                     "current_leader": cl}
        rd.tags()
        out["topics"].append((tid, ps))
    top = rd.tags()
    if 0 in top:
        er = FReader(top[0])
        for _ in range(er.count()):
            nid, host, port = er.take(">i"), er.cstring(), er.take(">i")
            er.cstring()
            er.tags()
            out["node_endpoints"][nid] = f"{host}:{port}"
    rd.end(f"Fetch v{version}")
    return out


def values_of(partition_answer):
    return [v for b in partition_answer["batches"] for _o, _k, v in b["records"]]


def produce(conn, topic, partition, values, ck, what):
    err, base, _ = conn.produce(topic, partition, record_batch(-1, -1, -1, values), what=what)
    ck.eq(err, NONE, f"{what}: produce error")
    return base


def produce_by_id(conn, topic_id, partition, values, what):
    """Produce v13 (topics by id) of one batch -> (topic id answered, partition, error, base)."""
    rb = record_batch(-1, -1, -1, values)
    part = struct.pack(">i", partition) + cstr(rb) + TAGS
    body = (b"\x00" + struct.pack(">hi", -1, 10000) + carr([topic_id + carr([part]) + TAGS])
            + TAGS)
    rd = flex_request(conn, 0, 13, body, what)
    rd.count()
    tid = rd.uuid()
    rd.count()
    p, err, base = rd.take(">i"), rd.take(">h"), rd.take(">q")
    return tid, p, err, base


def check_v4_uuid(ck, tid, what):
    ck(tid != ZERO_ID, f"{what}: the topic id is the zero UUID")
    ck(tid[6] >> 4 == 4 and tid[8] >> 6 == 2, f"{what}: {id_str(tid)} is not a version-4 UUID")


# ------------------------------------------------------------------ single node
def single_node(ck, brookd):
    with Broker(brookd=brookd, name="topic-ids") as b:
        with Conn(b.bootstrap, answer_within=15) as c:
            # 1. CreateTopics v7 -> id; Metadata v12 and v10 agree.
            t = create_topic_v7(c, "ids-a", 2, configs={"retention.ms": "3600000"})
            ck.eq(t["error"], NONE, "CreateTopics v7 ids-a")
            id_a = t["id"]
            check_v4_uuid(ck, id_a, "CreateTopics v7")
            ck.eq((t["partitions"], t["rf"]), (2, 1), "CreateTopics v7: partitions, replication")
            ck.eq(t["configs"].get("retention.ms", (None,))[0:3], ("3600000", False, 1),
                  "CreateTopics v7: the override, read/write, source TOPIC_CONFIG")
            ck.eq(t["configs"].get("segment.bytes", (None, None, None))[2], 5,
                  "CreateTopics v7: a default config's source")
            log(f"ids-a created with id {id_str(id_a)}")
            t5 = create_topic_v7(c, "ids-v5", 1, version=5)
            ck.eq((t5["error"], t5["partitions"], t5["rf"]), (NONE, 1, 1), "CreateTopics v5")
            dup = create_topic_v7(c, "ids-a", 2)
            ck.eq((dup["error"], dup["id"], dup["partitions"]), (TOPIC_ALREADY_EXISTS, ZERO_ID, -1),
                  "CreateTopics v7 of an existing topic: error, zero id, -1")
            val = create_topic_v7(c, "ids-validated", 3, validate_only=True)
            ck.eq((val["error"], val["id"], val["partitions"]), (NONE, ZERO_ID, 3),
                  "CreateTopics v7 validate_only: nothing created, the zero id")
            m = topic_md(c, "ids-a")
            ck.eq((m["error"], m["id"]), (NONE, id_a), "Metadata v12 by name: the created id")
            ck.eq(len(m["partitions"]), 2, "Metadata v12: partitions")
            everything = {t["name"]: t["id"] for t in metadata_v12(c, version=10)["topics"]}
            ck.eq(everything.get("ids-a"), id_a, "Metadata v10 (all topics): the same id")
            ck(all(i != ZERO_ID for i in everything.values()),
               f"Metadata v10: a topic without an id: {everything}")
            ck.eq(len(set(everything.values())), len(everything), "Metadata v10: ids are unique")
            by_id = metadata_v12(c, ids=[id_a])["topics"]
            ck.eq([(x["error"], x["name"], x["id"]) for x in by_id], [(NONE, "ids-a", id_a)],
                  "Metadata v12 by id: the name back")
            md9 = metadata_v12(c, names=["ids-a"], version=9)
            ck.eq([x["name"] for x in md9["topics"]], ["ids-a"], "Metadata v9 (no ids) still answers")
            ops = metadata_v12(c, names=["ids-a"], topic_ops=True)["topics"][0]["ops"]
            ck.eq(ops, 0x0df8, "Metadata v12 IncludeTopicAuthorizedOperations: every operation")

            # 5. ids in Metadata v10/v11 requests are refused as Kafka does.
            for v in (10, 11):
                bad = metadata_v12(c, ids=[id_a], version=v)
                ck.eq([x["error"] for x in bad["topics"]], [INVALID_REQUEST],
                      f"Metadata v{v} naming a topic id")

            # 2. Produce, then Fetch v13 / v16 by id.
            produce(c, "ids-a", 0, [b"a0-1", b"a0-2"], ck, "ids-a/0")
            produce(c, "ids-a", 1, [b"a1-1"], ck, "ids-a/1")
            for v in (13, 14, 15, 16, 17, 18):
                f = fetch_by_id(c, id_a, {0: 0, 1: 0}, version=v)
                ck.eq(len(f["topics"]), 1, f"Fetch v{v}: one topic")
                tid, ps = f["topics"][0]
                ck.eq(tid, id_a, f"Fetch v{v}: the id asked about")
                ck.eq((ps[0]["error"], values_of(ps[0])), (NONE, [b"a0-1", b"a0-2"]),
                      f"Fetch v{v} by id, partition 0")
                ck.eq((ps[1]["error"], values_of(ps[1])), (NONE, [b"a1-1"]),
                      f"Fetch v{v} by id, partition 1")
                ck.eq(f["node_endpoints"], {}, f"Fetch v{v}: no NodeEndpoints on a single node")

            # 3. A fetch waiting on ids-a while it is deleted and recreated.
            with Conn(b.bootstrap, answer_within=15) as waiter:
                waiter.corr += 1
                parts = struct.pack(">iiqiqi", 0, -1, 2, -1, -1, 1 << 20) + TAGS
                body = (TAGS + struct.pack(">iiiibii", -1, 4000, 1, 1 << 20, 0, 0, -1)
                        + carr([id_a + carr([parts]) + TAGS]) + carr([]) + cstr("") + TAGS)
                msg = (struct.pack(">hhi", 1, 13, waiter.corr) + struct.pack(">h", 4) + b"wait"
                       + body)
                t_sent = time.monotonic()
                waiter.s.sendall(struct.pack(">i", len(msg)) + msg)
                time.sleep(0.3)
                d = delete_topics_v6(c, [(None, id_a)])
                ck.eq([(x["name"], x["id"], x["error"], x["message"]) for x in d],
                      [("ids-a", id_a, NONE, None)], "DeleteTopics v6 by id")
                t2 = create_topic_v7(c, "ids-a", 2)
                ck.eq(t2["error"], NONE, "CreateTopics v7 ids-a again")
                id_a2 = t2["id"]
                check_v4_uuid(ck, id_a2, "CreateTopics v7 (recreated)")
                ck(id_a2 != id_a, "a recreated topic got the old topic's id")
                log(f"ids-a recreated with id {id_str(id_a2)}")
                produce(c, "ids-a", 0, [b"new-0", b"new-1", b"new-2", b"new-3"], ck, "ids-a/0 (new)")
                waiter.s.settimeout(15)
                (n,) = struct.unpack(">i", waiter._recv(4))
                r = waiter._recv(n)
                waited = time.monotonic() - t_sent
                rd = FReader(r[4:])
                rd.tags()
                rd.take(">i")
                rd.take(">h")
                rd.take(">i")
                rd.count()
                ck.eq(rd.uuid(), id_a, "the waiting Fetch v13: the id asked about")
                rd.count()
                p, err, hw, _lso, _ls = rd.take(">ihqqq")
                rd.count()
                rd.take(">i")
                recs = rd.cbytes() or b""
                ck.eq((p, err, hw, recs), (0, UNKNOWN_TOPIC_ID, -1, b""),
                      "the Fetch v13 waiting on the deleted topic: UNKNOWN_TOPIC_ID, nothing of "
                      "the new topic")
                log(f"waiting fetch answered UNKNOWN_TOPIC_ID after {waited:.2f}s")

            old = fetch_by_id(c, id_a, {0: 0, 1: 0})
            ck.eq([(tid, {p: (x["error"], len(x["batches"])) for p, x in ps.items()})
                   for tid, ps in old["topics"]],
                  [(id_a, {0: (UNKNOWN_TOPIC_ID, 0), 1: (UNKNOWN_TOPIC_ID, 0)})],
                  "Fetch v13 by the old id: UNKNOWN_TOPIC_ID, no records")
            old16 = fetch_by_id(c, id_a, {0: 0}, version=16, max_wait_ms=500)
            ck.eq(old16["topics"][0][1][0]["error"], UNKNOWN_TOPIC_ID, "Fetch v16 by the old id")
            new = fetch_by_id(c, id_a2, {0: 0})
            ck.eq(values_of(new["topics"][0][1][0]), [b"new-0", b"new-1", b"new-2", b"new-3"],
                  "Fetch v13 by the new id: only the new topic's records")
            mo = metadata_v12(c, ids=[id_a, id_a2])["topics"]
            ck.eq([(x["error"], x["name"], x["id"]) for x in mo],
                  [(UNKNOWN_TOPIC_ID, None, id_a), (NONE, "ids-a", id_a2)],
                  "Metadata v12 by the old and the new id")
            m13 = metadata_v12(c, ids=[id_a2], version=13)
            ck.eq((m13["error"], [(x["error"], x["name"]) for x in m13["topics"]]),
                  (NONE, [(NONE, "ids-a")]), "Metadata v13: top-level error, the topic by id")
            # Produce v13 names the topic by id: the old id writes nothing to the new topic.
            ck.eq(produce_by_id(c, id_a, 0, [b"to-the-old-id"], "Produce v13 by the old id"),
                  (id_a, 0, UNKNOWN_TOPIC_ID, -1), "Produce v13 by the old id")
            ck.eq(produce_by_id(c, uuid.uuid4().bytes, 0, [b"x"], "Produce v13, unknown id")[2],
                  UNKNOWN_TOPIC_ID, "Produce v13 by an id never made")
            ck.eq(produce_by_id(c, id_a2, 0, [b"new-4"], "Produce v13 by the new id"),
                  (id_a2, 0, NONE, 4), "Produce v13 by the new id: (id, partition, error, base)")
            ck.eq(values_of(fetch_by_id(c, id_a2, {0: 0})["topics"][0][1][0]),
                  [b"new-0", b"new-1", b"new-2", b"new-3", b"new-4"],
                  "the new topic holds its records and the one produced by id, nothing else")
            never = uuid.uuid4().bytes
            d = delete_topics_v6(c, [(None, id_a), (None, never), ("ids-a", id_a2),
                                     (None, ZERO_ID)])
            ck.eq([(x["name"], x["id"], x["error"]) for x in d],
                  [(None, id_a, UNKNOWN_TOPIC_ID), (None, never, UNKNOWN_TOPIC_ID),
                   ("ids-a", id_a2, INVALID_REQUEST), (None, ZERO_ID, INVALID_REQUEST)],
                  "DeleteTopics v6: the old id, an id never made, a name with an id, nothing")
            ck.eq(topic_md(c, "ids-a")["id"], id_a2, "nothing deleted by those")
            d4 = delete_topics_v6(c, ["ids-v5", "no-such-topic"], version=4)
            ck.eq([(x["name"], x["error"]) for x in d4],
                  [("ids-v5", NONE), ("no-such-topic", UNKNOWN_TOPIC_OR_PARTITION)],
                  "DeleteTopics v4 by name")
            produce(c, "ids-a", 1, [b"new-p1"], ck, "ids-a/1 (new)")

        # 4. The ids survive restarts; a registry line without an id gets one, kept.
        b.restart()
        with Conn(b.bootstrap, answer_within=15) as c:
            ck.eq(topic_md(c, "ids-a")["id"], id_a2, "after a clean restart: the same id")
            f = fetch_by_id(c, id_a2, {1: 0})
            ck.eq(values_of(f["topics"][0][1][1]), [b"new-p1"], "Fetch v13 after the restart")
            ck.eq(fetch_by_id(c, id_a, {0: 0})["topics"][0][1][0]["error"], UNKNOWN_TOPIC_ID,
                  "the old id after the restart")
        b.kill()
        b.start()
        with Conn(b.bootstrap, answer_within=15) as c:
            ck.eq(topic_md(c, "ids-a")["id"], id_a2, "after a SIGKILL: the same id")
        b.stop()
        reg = os.path.join(b.data_dir, "topics.meta")
        with open(reg) as fh:
            lines = fh.read().splitlines()
        hexid = id_a2.hex()
        ck(any(line == f"topic ids-a {hexid} 2" for line in lines),
           f"the registry holds ids-a's id: {lines}")
        old_format = [f"topic ids-a 2" if line.startswith("topic ids-a ") else line
                      for line in lines]
        with open(reg, "w") as fh:
            fh.write("\n".join(old_format) + "\n")
        b.start()
        with Conn(b.bootstrap, answer_within=15) as c:
            given = topic_md(c, "ids-a")["id"]
            check_v4_uuid(ck, given, "an id given at startup to a topic without one")
            ck(given != id_a2, "the topic without an id got a new one (not the removed one)")
            f = fetch_by_id(c, given, {1: 0})
            ck.eq(values_of(f["topics"][0][1][1]), [b"new-p1"],
                  "Fetch v13 by the given id reads the topic's records")
        b.restart()
        with Conn(b.bootstrap, answer_within=15) as c:
            ck.eq(topic_md(c, "ids-a")["id"], given, "the given id is kept by the next start")
        log("single node: done")


# ------------------------------------------------------------------ cluster
def retry(what, fn, ok, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = fn()
            if ok(r):
                return r
        except (OSError, ConnectionError, struct.error, AssertionError) as e:
            r = e
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not done after {timeout}s (last: {r!r})")
        time.sleep(0.2)


def ids_on_nodes(c, name, nodes=None):
    out = {}
    for n in nodes or c.nodes:
        with Conn(n.bootstrap, answer_within=15) as conn:
            t = topic_md(conn, name)
            out[n.node_id] = t["id"] if t["error"] == NONE else None
    return out


def leaders_of(conn, name, nparts):
    t = topic_md(conn, name)
    return {p: t["partitions"][p][1] for p in range(nparts)} if t["error"] == NONE else {}


def zk_cli(c, *args):
    """Runs one command of ZooKeeper's CLI (ZooKeeperMain, Debian's jars) against the
    cluster's ZooKeeper; returns its standard output."""
    java = os.environ.get("JAVA") or shutil.which("java")
    r = subprocess.run([java, "-Dlog4j.configuration=file:/dev/null", "-cp",
                        cluster_harness.zk_classpath(), "org.apache.zookeeper.ZooKeeperMain",
                        "-server", c.zk.address] + list(args),
                       capture_output=True, timeout=90, text=True)
    if r.returncode != 0:
        raise AssertionError(f"zkCli {args}: exit {r.returncode}: {r.stderr[-500:]}")
    return r.stdout


def znode_json(c, path):
    lines = [ln for ln in zk_cli(c, "get", path).splitlines() if ln.startswith("{")]
    if not lines:
        raise AssertionError(f"zkCli get {path}: no JSON")
    return json.loads(lines[-1])


def recreated_lines(n, name):
    with open(n.log_path, errors="replace") as fh:
        return fh.read().count(f"topic {name} was recreated (new topic id)")


def cluster(ck, brookd):
    if not cluster_harness.zk_available():
        print("SKIP (cluster part): no java or Debian zookeeper jars", flush=True)
        return
    c = cluster_harness.Cluster(3, brookd=brookd, name="topic-ids-cluster",
                                config={"default.replication.factor": 3,
                                        "transaction.state.log.num.partitions": 3,
                                        "offsets.topic.num.partitions": 3})
    try:
        with c:
            log(f"cluster ready ({c.tmp})")
            cluster_scenario(ck, c)
    finally:
        c.close()


def cluster_scenario(ck, c):
    name, nparts = "cids", 3
    with Conn(c.node(1).bootstrap, answer_within=15) as c1:
        t = retry("CreateTopics v7 on node 1", lambda: create_topic_v7(c1, name, nparts, rf=3),
                  lambda r: r["error"] != REQUEST_TIMED_OUT)
        ck.eq(t["error"], NONE, "CreateTopics v7 on node 1")
        tid = t["id"]
        check_v4_uuid(ck, tid, "CreateTopics v7 in a cluster")
        ck.eq(t["rf"], 3, "CreateTopics v7: replication factor")
    got = retry("every node reports the id", lambda: ids_on_nodes(c, name),
                lambda r: all(v == tid for v in r.values()))
    ck.eq(got, {1: tid, 2: tid, 3: tid}, "Metadata v12 of every node: the same id")
    log(f"{name}: id {id_str(tid)} on every node")
    with Conn(c.node(1).bootstrap, answer_within=15) as c1:
        leaders = retry("leaders", lambda: leaders_of(c1, name, nparts),
                        lambda r: len(r) == nparts and all(x in (1, 2, 3) for x in r.values()))
    for p in range(nparts):
        with Conn(c.node(leaders[p]).bootstrap, answer_within=15) as cl:
            retry(f"produce {name}/{p}",
                  lambda: cl.produce(name, p, record_batch(-1, -1, -1, [f"old-{p}".encode()]))[0],
                  lambda err: err == NONE)
            f = retry(f"Fetch v13 {name}/{p} at its leader", lambda: fetch_by_id(cl, tid, {p: 0}),
                      lambda r: r["topics"][0][1][p]["high_watermark"] >= 1)
            ck.eq(values_of(f["topics"][0][1][p]), [f"old-{p}".encode()],
                  f"Fetch v13 by id at the leader of {p}")
        other = next(n for n in (1, 2, 3) if n != leaders[p])
        with Conn(c.node(other).bootstrap, answer_within=15) as co:
            f = fetch_by_id(co, tid, {p: 0}, version=16)
            pa = f["topics"][0][1][p]
            ck.eq(pa["error"], NOT_LEADER_OR_FOLLOWER, f"Fetch v16 {name}/{p} at node {other}")
            ck.eq(pa["current_leader"][0] if pa["current_leader"] else None, leaders[p],
                  f"Fetch v16 at a follower: CurrentLeader of {p}")
            ck.eq(f["node_endpoints"].get(leaders[p]), c.node(leaders[p]).bootstrap,
                  "Fetch v16 at a follower: NodeEndpoints gives the leader's address")

    # 7. Delete by id and recreate while node 3 is down.
    n3 = c.node(3)
    n3.stop()
    c.wait_ready(all_led=False)
    with Conn(c.node(2).bootstrap, answer_within=15) as c2:
        d = retry("DeleteTopics v6 by id on node 2", lambda: delete_topics_v6(c2, [(None, tid)]),
                  lambda r: r[0]["error"] != REQUEST_TIMED_OUT)
        ck.eq([(x["name"], x["error"]) for x in d], [(name, NONE)], "DeleteTopics v6 by id, cluster")
        t = retry("CreateTopics v7 again", lambda: create_topic_v7(c2, name, nparts, rf=2),
                  lambda r: r["error"] not in (REQUEST_TIMED_OUT, TOPIC_ALREADY_EXISTS))
        ck.eq(t["error"], NONE, "CreateTopics v7 of the deleted topic's name")
        tid2 = t["id"]
        ck(tid2 != tid and tid2 != ZERO_ID, "the recreated topic has a new id")
        d = delete_topics_v6(c2, [(None, tid)])
        ck.eq(d[0]["error"], UNKNOWN_TOPIC_ID, "DeleteTopics v6 by the old id, cluster")
    live = [c.node(1), c.node(2)]
    retry("nodes 1 and 2 report the new id", lambda: ids_on_nodes(c, name, live),
          lambda r: all(v == tid2 for v in r.values()))
    with Conn(c.node(1).bootstrap, answer_within=15) as c1:
        leaders = retry("leaders of the new topic", lambda: leaders_of(c1, name, nparts),
                        lambda r: len(r) == nparts and all(x in (1, 2) for x in r.values()))
    for p in range(nparts):
        with Conn(c.node(leaders[p]).bootstrap, answer_within=15) as cl:
            retry(f"produce new {name}/{p}",
                  lambda: cl.produce(name, p, record_batch(-1, -1, -1, [b"n1", b"n2"]))[0],
                  lambda err: err == NONE)
            f = fetch_by_id(cl, tid, {p: 0})
            pa = f["topics"][0][1][p]
            ck.eq((pa["error"], pa["batches"]), (UNKNOWN_TOPIC_ID, []),
                  f"Fetch v13 by the old id at the leader of {p}: UNKNOWN_TOPIC_ID, no records")
            f = fetch_by_id(cl, tid2, {p: 0})
            ck.eq(values_of(f["topics"][0][1][p]), [b"n1", b"n2"],
                  f"Fetch v13 by the new id at the leader of {p}")
    n3.start()
    c.wait_ready()
    got = retry("every node reports the new id", lambda: ids_on_nodes(c, name),
                lambda r: all(v == tid2 for v in r.values()))
    ck.eq(got, {1: tid2, 2: tid2, 3: tid2}, "after node 3's restart: the new id everywhere")
    reg3 = os.path.join(n3.data_dir, "topics.meta")
    retry("node 3's registry", lambda: open(reg3).read(),
          lambda s: f"topic {name} {tid2.hex()} {nparts}" in s.splitlines())
    with open(n3.log_path, errors="replace") as fh:
        ck(f"topic {name} was recreated (new topic id)" in fh.read(),
           "node 3 says it dropped the old topic's data")
    # What node 3 kept under the name is the new topic's, if anything: never "old-*".
    for p in range(nparts):
        d3 = os.path.join(n3.data_dir, f"{name}-{p}")
        blob = b""
        for root, _dirs, files in os.walk(d3):
            for fn in files:
                with open(os.path.join(root, fn), "rb") as fh:
                    blob += fh.read()
        ck(f"old-{p}".encode() not in blob, f"node 3 still holds the old topic's record in {d3}")

    # 8. A node's registry without ids takes the cluster's at its next start.
    n2 = c.node(2)
    n2.stop()
    reg2 = os.path.join(n2.data_dir, "topics.meta")
    with open(reg2) as fh:
        lines = fh.read().splitlines()
    stripped = [" ".join(line.split()[:2] + line.split()[3:]) if line.startswith("topic ") else line
                for line in lines]
    with open(reg2, "w") as fh:
        fh.write("\n".join(stripped) + "\n")
    n2.start()
    c.wait_ready()
    retry("node 2 reports the id again", lambda: ids_on_nodes(c, name, [n2]),
          lambda r: r[2] == tid2)
    retry("node 2's registry has the id again", lambda: open(reg2).read(),
          lambda s: f"topic {name} {tid2.hex()} {nparts}" in s.splitlines())
    ck(True, "node 2 took the cluster's id")

    # 9. A znode without "id": the controller gives one; every node keeps the records.
    path = f"/brook/topics/{name}"
    z = znode_json(c, path)
    ck.eq(z.get("id"), tid2.hex(), "the topic znode holds the id")
    del z["id"]
    zk_cli(c, "set", path, json.dumps(z, separators=(",", ":")))
    before = {n.node_id: recreated_lines(n, name) for n in c.nodes}
    got = retry("every node reports a given id", lambda: ids_on_nodes(c, name),
                lambda r: len(set(r.values())) == 1 and None not in r.values()
                and r[1] not in (tid2, ZERO_ID), timeout=60)
    tid3 = got[1]
    check_v4_uuid(ck, tid3, "an id given by the controller")
    z = znode_json(c, path)
    ck.eq((z.get("id"), z.get("id_assigned")), (tid3.hex(), True),
          "the znode: the given id, marked id_assigned")
    for n in c.nodes:
        reg = os.path.join(n.data_dir, "topics.meta")
        retry(f"node {n.node_id}'s registry has the given id", lambda: open(reg).read(),
              lambda s: f"topic {name} {tid3.hex()} {nparts}" in s.splitlines())
    with Conn(c.node(1).bootstrap, answer_within=15) as c1:
        leaders = retry("leaders", lambda: leaders_of(c1, name, nparts),
                        lambda r: len(r) == nparts and all(x in (1, 2, 3) for x in r.values()))
    for p in range(nparts):
        with Conn(c.node(leaders[p]).bootstrap, answer_within=15) as cl:
            f = retry(f"Fetch v13 {name}/{p} by the given id",
                      lambda: fetch_by_id(cl, tid3, {p: 0}),
                      lambda r: r["topics"][0][1][p]["error"] == NONE)
            ck.eq(values_of(f["topics"][0][1][p]), [b"n1", b"n2"],
                  f"{name}/{p}: the records kept under the given id")
            f = fetch_by_id(cl, tid2, {p: 0})
            ck.eq(f["topics"][0][1][p]["error"], UNKNOWN_TOPIC_ID,
                  f"{name}/{p}: the id the znode lost is unknown now")
    ck.eq({n.node_id: recreated_lines(n, name) for n in c.nodes}, before,
          "no node took the given id for a recreated topic")
    log(f"{name}: znode without an id got {id_str(tid3)}; records kept")
    log("cluster: done")


def main():
    brookd = find_brookd()
    ck = Check("topic_ids")
    single_node(ck, brookd)
    cluster(ck, brookd)
    log(f"total {time.monotonic() - T0:.1f}s")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
