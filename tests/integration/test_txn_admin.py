#!/usr/bin/python3
"""The transaction admin APIs of KIP-664 (ListTransactions v0-v2 with KIP-994's
DurationFilter and KIP-1152's TransactionalIdPattern, DescribeTransactions v0,
DescribeProducers v0) and DescribeCluster v0-v2 (KIP-1073's IsFenced: always false) on
the raw Kafka protocol (raw_kafka.py: the broker's exact answers, no client library in
between), against one node.

python3-confluent-kafka 1.7 (librdkafka 2.0.2) cannot send any of these four APIs: its
AdminClient has no describe_cluster / list_transactions / describe_transactions /
describe_producers (librdkafka added DescribeCluster in 2.3 and has no transaction admin
API), so it is used only as a real transactional producer in part 6.

 1. ApiVersions lists the four APIs with Kafka's ranges.  DescribeCluster v0/v1: the
    cluster id, the node itself as controller and only broker (its advertised address,
    rack null), ClusterAuthorizedOperations INT32_MIN unless asked for (then every cluster
    operation, 0x1fa0); v1 echoes EndpointType 1, and answers EndpointType 2 with
    MISMATCHED_ENDPOINT_TYPE and 7 with UNSUPPORTED_ENDPOINT_TYPE.
 2. Nothing coordinated yet: ListTransactions is empty.  After InitProducerId the id is
    Empty (DescribeTransactions: start time -1, no partitions).
 3. A transaction opened on ta-0 and ta-1 (records on ta-0 after 3 plain ones, so it starts
    at offset 3), next to an idempotent producer on ta-0:
    ListTransactions shows it Ongoing, and its filters work: state Ongoing yes,
    CompleteCommit no, an unknown state name is answered in UnknownStateFilters (alone it
    matches nothing), producer id yes / another no, v1 DurationFilter shorter than its age
    yes / longer no (and -1: no filter); DescribeTransactions: Ongoing, its timeout, start
    time, producer id and epoch, partitions {ta: [0, 1]}; an unknown id is
    TRANSACTIONAL_ID_NOT_FOUND, an empty one INVALID_REQUEST.  DescribeProducers on ta-0:
    the transactional producer (epoch, last sequence, last timestamp, coordinator epoch -1,
    CurrentTxnStartOffset 3) and the idempotent one (no open transaction); ta-1: none;
    an unknown partition, an unknown topic (with Kafka's message) and an invalid name get
    UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION.
 4. After EndTxn(commit): CompleteCommit (ListTransactions' filter and DescribeTransactions,
    no partitions left, the same start time); DescribeProducers: no open transaction, the
    coordinator epoch of the marker (0 on one node), a last timestamp no older.
 5. After a clean restart and after a SIGKILL the same answers (the producer state's last
    timestamp comes back from the snapshot, then from the replayed log).
 6. A confluent_kafka transactional producer with a transaction in progress is Ongoing in
    ListTransactions and DescribeTransactions (its partition), and DescribeProducers shows
    its open transaction; after commit_transaction() it is CompleteCommit."""

import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, run_main  # noqa: E402
from raw_kafka import TAGS, Conn, Reader, carr, cstr, flex_request, record_batch  # noqa: E402

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
INVALID_REQUEST = 42
TRANSACTIONAL_ID_NOT_FOUND = 105
MISMATCHED_ENDPOINT_TYPE = 114
UNSUPPORTED_ENDPOINT_TYPE = 115
CLUSTER_OPS_ALL = 0x1FA0
INT32_MIN = -(1 << 31)

TOPIC = "ta"
TXN_ID = "tx-admin"
INVALID_REGULAR_EXPRESSION = 128
TXN_TIMEOUT_MS = 60000

T0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


# ------------------------------------------------------------------ the APIs
def api_versions(conn):
    """ApiVersions v0 -> {key: (min, max)}."""
    r, _ = conn.request(18, 0, b"", "ApiVersions v0")
    rd = Reader(r)
    if rd.take(">h") != 0:
        raise AssertionError("ApiVersions v0 failed")
    return {k: (lo, hi) for k, lo, hi in (rd.take(">hhh") for _ in range(rd.take(">i")))}


def describe_cluster(conn, version=1, include_ops=False, endpoint_type=1, fenced=True):
    body = struct.pack(">b", 1 if include_ops else 0)
    if version >= 1:
        body += struct.pack(">b", endpoint_type)
    if version >= 2:
        body += struct.pack(">b", 1 if fenced else 0)  # IncludeFencedBrokers
    rd = flex_request(conn, 60, version, body + TAGS, f"DescribeCluster v{version}")
    out = {"throttle": rd.take(">i"), "error": rd.take(">h"), "message": rd.cstring()}
    out["endpoint_type"] = rd.take(">b") if version >= 1 else None
    out["cluster_id"], out["controller"] = rd.cstring(), rd.take(">i")
    out["brokers"] = []
    for _ in range(rd.count()):
        b = (rd.take(">i"), rd.cstring(), rd.take(">i"), rd.cstring())
        if version >= 2:
            b += (bool(rd.take(">b")),)  # IsFenced
        out["brokers"].append(b)
        rd.tags()
    out["ops"] = rd.take(">i")
    rd.tags()
    rd.end("DescribeCluster")
    return out


def list_transactions(conn, states=(), pids=(), duration=None, version=None, pattern=None):
    """ListTransactions (v2 when a pattern is given, v1 when a duration is, else v0 unless
    version says) -> (error, unknown states, {txn id: (producer id, state)})."""
    if version is None:
        version = 2 if pattern is not None else 1 if duration is not None else 0
    body = carr(list(states), cstr) + carr(list(pids), lambda p: struct.pack(">q", p))
    if version >= 1:
        body += struct.pack(">q", -1 if duration is None else duration)
    if version >= 2:
        body += cstr(pattern)  # TransactionalIdPattern (KIP-1152)
    rd = flex_request(conn, 66, version, body + TAGS, f"ListTransactions v{version}")
    rd.take(">i")
    err = rd.take(">h")
    unknown = [rd.cstring() for _ in range(rd.count())]
    txns = {}
    for _ in range(rd.count()):
        tid, pid, state = rd.cstring(), rd.take(">q"), rd.cstring()
        rd.tags()
        txns[tid] = (pid, state)
    rd.tags()
    rd.end("ListTransactions")
    return err, unknown, txns


def describe_transactions(conn, ids):
    """DescribeTransactions v0 -> {id: dict (error, state, timeout, start, pid, epoch,
    topics {topic: [partitions]})}."""
    rd = flex_request(conn, 65, 0, carr(ids, cstr) + TAGS, "DescribeTransactions v0")
    rd.take(">i")
    out = {}
    for _ in range(rd.count()):
        s = {"error": rd.take(">h")}
        tid = rd.cstring()
        s["state"], s["timeout"], s["start"] = rd.cstring(), rd.take(">i"), rd.take(">q")
        s["pid"], s["epoch"] = rd.take(">q"), rd.take(">h")
        topics = {}
        for _ in range(rd.count()):
            name = rd.cstring()
            topics[name] = [rd.take(">i") for _ in range(rd.count())]
            rd.tags()
        s["topics"] = topics
        rd.tags()
        out[tid] = s
    rd.tags()
    rd.end("DescribeTransactions")
    return out


def describe_producers(conn, topics):
    """DescribeProducers v0 of {topic: [partitions]} -> {(topic, partition): (error,
    message, {producer id: dict})}."""
    body = carr(list(topics.items()),
                lambda t: cstr(t[0]) + carr(t[1], lambda p: struct.pack(">i", p)) + TAGS)
    rd = flex_request(conn, 61, 0, body + TAGS, "DescribeProducers v0")
    rd.take(">i")
    out = {}
    for _ in range(rd.count()):
        name = rd.cstring()
        for _ in range(rd.count()):
            part, err, msg = rd.take(">i"), rd.take(">h"), rd.cstring()
            prods = {}
            for _ in range(rd.count()):
                pid, epoch, seq, ts, ce, start = rd.take(">qiiqiq")
                rd.tags()
                prods[pid] = {"epoch": epoch, "last_sequence": seq, "last_timestamp": ts,
                              "coordinator_epoch": ce, "txn_start": start}
            rd.tags()
            out[(name, part)] = (err, msg, prods)
        rd.tags()
    rd.tags()
    rd.end("DescribeProducers")
    return out


# ------------------------------------------------------------------ the test
def part1_cluster(ck, c, port):
    apis = api_versions(c)
    ck.eq({k: apis.get(k) for k in (60, 61, 65, 66)},
          {60: (0, 2), 61: (0, 0), 65: (0, 0), 66: (0, 2)}, "ApiVersions: the four APIs")
    for v in (0, 1, 2):
        d = describe_cluster(c, v)
        ck.eq((d["error"], d["message"], d["cluster_id"], d["controller"], d["ops"]),
              (NONE, None, "brook-cluster", 1, INT32_MIN), f"DescribeCluster v{v}")
        ck.eq(d["brokers"], [(1, "127.0.0.1", port, None) + ((False,) if v >= 2 else ())],
              f"DescribeCluster v{v}: brokers (v2: not fenced)")
        ck.eq(d["endpoint_type"], 1 if v else None, f"DescribeCluster v{v}: endpoint type")
        ck.eq(describe_cluster(c, v, include_ops=True)["ops"], CLUSTER_OPS_ALL,
              f"DescribeCluster v{v} with IncludeClusterAuthorizedOperations")
    d = describe_cluster(c, 1, endpoint_type=2)
    ck.eq((d["error"], d["cluster_id"], d["controller"], d["brokers"]),
          (MISMATCHED_ENDPOINT_TYPE, "", -1, []), "DescribeCluster v1 EndpointType 2")
    ck(d["message"] and "CONTROLLER" in d["message"], f"its message: {d['message']!r}")
    d = describe_cluster(c, 1, endpoint_type=7)
    ck.eq((d["error"], d["message"]), (UNSUPPORTED_ENDPOINT_TYPE, "Unsupported endpoint type 7"),
          "DescribeCluster v1 EndpointType 7")
    log("1: DescribeCluster ok")


def check_committed(ck, c, pid, epoch, start_ms, ts_before, what):
    """The transaction of part 3 after its commit."""
    err, unk, txns = list_transactions(c, states=["CompleteCommit"])
    ck.eq((err, unk, txns.get(TXN_ID)), (NONE, [], (pid, "CompleteCommit")),
          f"{what}: ListTransactions [CompleteCommit]")
    ck(TXN_ID not in list_transactions(c, states=["Ongoing"])[2],
       f"{what}: not in ListTransactions [Ongoing]")
    d = describe_transactions(c, [TXN_ID])[TXN_ID]
    ck.eq((d["error"], d["state"], d["pid"], d["epoch"], d["timeout"], d["start"], d["topics"]),
          (NONE, "CompleteCommit", pid, epoch, TXN_TIMEOUT_MS, start_ms, {}),
          f"{what}: DescribeTransactions")
    prods = describe_producers(c, {TOPIC: [0, 1]})
    err, _msg, p0 = prods[(TOPIC, 0)]
    ck.eq(err, NONE, f"{what}: DescribeProducers {TOPIC}-0")
    ck(pid in p0, f"{what}: the producer is still known on {TOPIC}-0")
    ck.eq((p0[pid]["txn_start"], p0[pid]["coordinator_epoch"], p0[pid]["epoch"],
           p0[pid]["last_sequence"]), (-1, 0, epoch, 2),
          f"{what}: no open transaction, the marker's coordinator epoch")
    ck(p0[pid]["last_timestamp"] >= ts_before,
       f"{what}: last timestamp {p0[pid]['last_timestamp']} not older than {ts_before}")
    err, _msg, p1 = prods[(TOPIC, 1)]
    ck.eq((err, p1[pid]["txn_start"] if pid in p1 else "absent"), (NONE, -1),
          f"{what}: {TOPIC}-1 holds the producer's marker, no open transaction")
    return p0[pid]["last_timestamp"]


def raw_parts(ck, b):
    c = Conn(b.bootstrap)
    part1_cluster(ck, c, b.port)

    # 2. Nothing yet; an initialised id is Empty.
    ck.eq(c.create_topic(TOPIC, 2), NONE, "CreateTopics ta")
    ck.eq(list_transactions(c), (NONE, [], {}), "ListTransactions before any transaction")
    err, pid, epoch = c.init_producer_id(TXN_ID, TXN_TIMEOUT_MS, version=1)
    ck.eq(err, NONE, "InitProducerId")
    ck.eq(list_transactions(c)[2], {TXN_ID: (pid, "Empty")}, "ListTransactions: Empty")
    d = describe_transactions(c, [TXN_ID])[TXN_ID]
    ck.eq((d["error"], d["state"], d["start"], d["pid"], d["epoch"], d["topics"]),
          (NONE, "Empty", -1, pid, epoch, {}), "DescribeTransactions: Empty")
    log("2: Empty ok")

    # 3. An open transaction on ta-0 (offsets 3..5) and ta-1, an idempotent producer on ta-0.
    ck.eq(c.produce(TOPIC, 0, record_batch(-1, -1, -1, [b"p0", b"p1", b"p2"]))[:2], (NONE, 0),
          "plain records at 0..2")
    start_wall = int(time.time() * 1000)
    ck.eq(c.add_partitions_to_txn(TXN_ID, pid, epoch, TOPIC, [0, 1]), {0: NONE, 1: NONE},
          "AddPartitionsToTxn ta [0, 1]")
    ck.eq(c.produce(TOPIC, 0, record_batch(pid, epoch, 0, [b"t0", b"t1"], transactional=True),
                    transactional_id=TXN_ID)[:2], (NONE, 3), "transactional records at 3..4")
    ts_batch = int(time.time() * 1000)
    ck.eq(c.produce(TOPIC, 0, record_batch(pid, epoch, 2, [b"t2"], transactional=True),
                    transactional_id=TXN_ID)[:2], (NONE, 5), "transactional record at 5")
    err, ipid, iepoch = c.init_producer_id(None)
    ck.eq(err, NONE, "InitProducerId (idempotent)")
    ck.eq(c.produce(TOPIC, 0, record_batch(ipid, iepoch, 0, [b"i0", b"i1", b"i2", b"i3"]))[:2],
          (NONE, 6), "idempotent records at 6..9")

    err, unk, txns = list_transactions(c)
    ck.eq((err, unk, txns), (NONE, [], {TXN_ID: (pid, "Ongoing")}), "ListTransactions: Ongoing")
    ck.eq(list_transactions(c, states=["Ongoing"])[2], {TXN_ID: (pid, "Ongoing")},
          "ListTransactions [Ongoing]")
    ck.eq(list_transactions(c, states=["CompleteCommit"])[2], {},
          "ListTransactions [CompleteCommit]: nothing")
    ck.eq(list_transactions(c, states=["Ongoing", "Bogus"]),
          (NONE, ["Bogus"], {TXN_ID: (pid, "Ongoing")}), "ListTransactions [Ongoing, Bogus]")
    ck.eq(list_transactions(c, states=["Bogus"]), (NONE, ["Bogus"], {}),
          "ListTransactions [Bogus]: an unknown state alone matches nothing")
    ck.eq(list_transactions(c, states=["ongoing"])[:2], (NONE, ["ongoing"]),
          "state names are matched exactly")
    ck.eq(list_transactions(c, pids=[pid])[2], {TXN_ID: (pid, "Ongoing")},
          "ListTransactions producer id filter: its id")
    ck.eq(list_transactions(c, pids=[pid + 12345, ipid])[2], {},
          "ListTransactions producer id filter: other ids")
    time.sleep(1.2)
    age = int(time.time() * 1000) - start_wall
    ck.eq(list_transactions(c, duration=500)[2], {TXN_ID: (pid, "Ongoing")},
          f"ListTransactions v1 DurationFilter 500 ms (open {age} ms)")
    ck.eq(list_transactions(c, duration=600000)[2], {},
          "ListTransactions v1 DurationFilter 600000 ms: nothing that old")
    ck.eq(list_transactions(c, duration=-1)[2], {TXN_ID: (pid, "Ongoing")},
          "ListTransactions v1 DurationFilter -1: no filter")
    ck.eq(list_transactions(c, states=["Ongoing"], pids=[pid], duration=500)[2],
          {TXN_ID: (pid, "Ongoing")}, "ListTransactions v1 with all three filters")
    # KIP-1152 (v2): the transactional id pattern matches whole ids.
    ck.eq(list_transactions(c, pattern="tx-ad.*")[2], {TXN_ID: (pid, "Ongoing")},
          "ListTransactions v2 pattern tx-ad.*")
    ck.eq(list_transactions(c, pattern="tx-ad")[2], {},
          "ListTransactions v2 pattern tx-ad: a prefix is not a whole match")
    ck.eq(list_transactions(c, pattern="")[2], {TXN_ID: (pid, "Ongoing")},
          "ListTransactions v2 empty pattern: no filter")
    ck.eq(list_transactions(c, pattern=None, version=2)[2], {TXN_ID: (pid, "Ongoing")},
          "ListTransactions v2 null pattern: no filter")
    ck.eq(list_transactions(c, states=["Ongoing"], pattern="nomatch|tx-admin")[2],
          {TXN_ID: (pid, "Ongoing")}, "ListTransactions v2 pattern with a state filter")
    ck.eq(list_transactions(c, pattern="tx-(")[:2], (INVALID_REGULAR_EXPRESSION, []),
          "ListTransactions v2 pattern that does not compile")

    ds = describe_transactions(c, [TXN_ID, "nope", ""])
    d = ds[TXN_ID]
    ck.eq((d["error"], d["state"], d["timeout"], d["pid"], d["epoch"], d["topics"]),
          (NONE, "Ongoing", TXN_TIMEOUT_MS, pid, epoch, {TOPIC: [0, 1]}),
          "DescribeTransactions: Ongoing on ta [0, 1]")
    ck(start_wall - 1000 <= d["start"] <= start_wall + 1000,
       f"DescribeTransactions start time {d['start']} near {start_wall}")
    start_ms = d["start"]
    ck.eq((ds["nope"]["error"], ds["nope"]["state"], ds["nope"]["topics"]),
          (TRANSACTIONAL_ID_NOT_FOUND, "", {}), "DescribeTransactions: unknown id")
    ck.eq(ds[""]["error"], INVALID_REQUEST, "DescribeTransactions: empty id")

    prods = describe_producers(c, {TOPIC: [0, 1, 5], "nosuch": [0], "bad name!": [0]})
    err, msg, p0 = prods[(TOPIC, 0)]
    ck.eq((err, msg, sorted(p0)), (NONE, None, sorted([pid, ipid])), "DescribeProducers ta-0")
    t = p0[pid]
    ck.eq((t["epoch"], t["last_sequence"], t["coordinator_epoch"], t["txn_start"]),
          (epoch, 2, -1, 3), "the transactional producer on ta-0: open transaction from 3")
    ck(ts_batch - 5000 <= t["last_timestamp"] <= int(time.time() * 1000),
       f"its last timestamp {t['last_timestamp']} is its last batch's")
    i = p0[ipid]
    ck.eq((i["epoch"], i["last_sequence"], i["coordinator_epoch"], i["txn_start"]),
          (iepoch, 3, -1, -1), "the idempotent producer on ta-0")
    ck.eq(prods[(TOPIC, 1)], (NONE, None, {}), "DescribeProducers ta-1: nothing written")
    ck.eq(prods[(TOPIC, 5)][:2], (UNKNOWN_TOPIC_OR_PARTITION, None), "ta-5: no such partition")
    ck.eq(prods[("nosuch", 0)][0], UNKNOWN_TOPIC_OR_PARTITION, "nosuch-0: no such topic")
    ck(prods[("nosuch", 0)][1], "nosuch-0 carries Kafka's message")
    ck.eq(prods[("bad name!", 0)][0], INVALID_TOPIC_EXCEPTION, "an invalid topic name")
    log("3: open transaction ok")

    # 4. Commit.
    ts_before = int(time.time() * 1000) - 1
    ck.eq(c.end_txn(TXN_ID, pid, epoch, True), NONE, "EndTxn commit")
    last_ts = check_committed(ck, c, pid, epoch, start_ms, ts_before, "after commit")
    log("4: committed ok")
    c.close()

    # 5. Restarts.
    for how in ("restart", "crash_restart"):
        getattr(b, how)()
        c = Conn(b.bootstrap)
        got = check_committed(ck, c, pid, epoch, start_ms, ts_before, f"after {how}")
        ck.eq(got, last_ts, f"after {how}: the same last timestamp")
        c.close()
    log("5: restarts ok")


def confluent_part(ck, b):
    try:
        from confluent_kafka import Producer
    except ImportError:
        log("6: confluent_kafka not installed: skipped")
        return
    p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "tx-ck",
                  "transaction.timeout.ms": 30000, "linger.ms": 0})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(TOPIC, b"ck", partition=1)
    p.flush(30)
    with Conn(b.bootstrap) as c:
        err, _unk, txns = list_transactions(c, states=["Ongoing"])
        ck(err == NONE and "tx-ck" in txns, f"ListTransactions: librdkafka's transaction {txns}")
        ck_pid = txns["tx-ck"][0]
        d = describe_transactions(c, ["tx-ck"])["tx-ck"]
        ck.eq((d["state"], d["topics"], d["pid"]), ("Ongoing", {TOPIC: [1]}, ck_pid),
              "DescribeTransactions: librdkafka's transaction on ta-1")
        err, _msg, p1 = describe_producers(c, {TOPIC: [1]})[(TOPIC, 1)]
        ck(err == NONE and ck_pid in p1 and p1[ck_pid]["txn_start"] >= 0,
           f"DescribeProducers ta-1: librdkafka's open transaction {p1}")
    p.commit_transaction(30)
    with Conn(b.bootstrap) as c:
        ck.eq(list_transactions(c, pids=[ck_pid])[2], {"tx-ck": (ck_pid, "CompleteCommit")},
              "ListTransactions: librdkafka's transaction committed")
        err, _msg, p1 = describe_producers(c, {TOPIC: [1]})[(TOPIC, 1)]
        ck.eq(p1[ck_pid]["txn_start"], -1, "DescribeProducers ta-1: closed")
    log("6: confluent_kafka ok")


def main():
    ck = Check("txn_admin")
    config = {"transaction.state.log.num.partitions": 4, "offsets.topic.num.partitions": 4}
    with Broker(find_brookd(), config=config) as b:
        raw_parts(ck, b)
        confluent_part(ck, b)
    log(f"total {time.monotonic() - T0:.1f}s")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
