#!/usr/bin/python3
"""The admin HTTP listener and `brook txn` against brookd (python3-confluent-kafka clients).

A transactional producer leaves a transaction open over two partitions.  Checks that
GET /v1/transactions and /v1/transactions/{id} show it Ongoing with both participants, that
`brook txn list` / `describe` print it, that a read_committed consumer sees none of its
records and /metrics has last_stable_offset < high_watermark for those partitions.  Then
POST .../abort ends it (and `brook txn abort` a second one): state CompleteAbort, the LSO
catches up with the high watermark, the producer's next commit fails as fenced, aborting
again is a 409 / exit 1, and the metrics counters (completed transactions by outcome, the
EndTxn latency histogram) move; a third producer commits normally and its record becomes
visible.  Last, malformed HTTP (garbage, binary noise, a huge header, a bad method, a bad
version, an oversized or chunked body, half a request, too many idle connections) gets a
4xx/5xx or a close, and the broker keeps serving admin and Kafka clients.  Between the two,
the event-loop metrics count turns and busy time, and a 1000-partition CreateTopics (made in
one loop turn) shows as a stall."""

import http.client
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import (Broker, Check, find_brookd, find_cli, run_checked, run_main,  # noqa: E402
                           wait_until)
from ck_helpers import consumer, flush, producer, read_partition  # noqa: E402

from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "adm-t"
TXN_TIMEOUT_MS = 60000


# --------------------------------------------------------------------- HTTP helpers
def http_req(admin, method, path, timeout=10):
    host, port = admin.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        body = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body
    finally:
        conn.close()


def get_json(admin, path):
    status, headers, body = http_req(admin, "GET", path)
    return status, (json.loads(body) if body else None)


def raw_http(admin, data, timeout=10):
    """Sends raw bytes, returns (status or None, whole reply).  A reset while sending (the
    server answered early and closed) is fine: the reply is read anyway."""
    host, port = admin.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except ConnectionResetError:
            pass
    finally:
        s.close()
    reply = b"".join(chunks)
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", reply)
    return (int(m.group(1)) if m else None), reply


def metrics(admin):
    """Parses /metrics into {(name, frozenset(labels)): value} plus the set of TYPE lines."""
    status, headers, body = http_req(admin, "GET", "/metrics")
    if status != 200:
        raise AssertionError(f"/metrics: HTTP {status}")
    if not headers.get("content-type", "").startswith("text/plain"):
        raise AssertionError(f"/metrics content type {headers.get('content-type')}")
    samples, types, helps = {}, {}, set()
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            raise AssertionError(f"/metrics: unparsable line {line!r}")
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types, helps


def sample(ms, name, **labels):
    key = (name, frozenset((k, str(v)) for k, v in labels.items()))
    if key not in ms:
        raise AssertionError(f"/metrics has no {name}{labels}")
    return ms[key]


def part_offsets(admin, partition):
    ms, _, _ = metrics(admin)
    return {k: sample(ms, f"brook_partition_{k}", topic=TOPIC, partition=partition)
            for k in ("log_end_offset", "high_watermark", "last_stable_offset", "log_start_offset")}


# --------------------------------------------------------------------- Kafka helpers
def txn_producer(bs, txn_id):
    p = Producer({"bootstrap.servers": bs, "transactional.id": txn_id,
                  "transaction.timeout.ms": TXN_TIMEOUT_MS, "linger.ms": 5,
                  "socket.timeout.ms": 10000, "log.connection.close": False})
    p.init_transactions(30)
    return p


def open_txn(bs, txn_id, per_partition):
    """A producer with an open transaction holding per_partition records in partitions 0, 1."""
    p = txn_producer(bs, txn_id)
    p.begin_transaction()
    for part in (0, 1):
        for i in range(per_partition):
            p.produce(TOPIC, f"{txn_id}-{part}-{i}".encode(), partition=part)
    flush(p, 30)
    return p


def expect_fenced(ck, p, what):
    try:
        p.commit_transaction(30)
    except KafkaException as e:
        err = e.args[0]
        ok = err.fatal() or err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                           KafkaError.INVALID_PRODUCER_EPOCH)
        ck(ok, f"{what}: commit failed but not as fenced: {err.name()} ({err.str()})")
        return
    ck(False, f"{what}: commit of an aborted transaction succeeded")


def committed_values(bs, partition):
    c = consumer(bs, {"isolation.level": "read_committed"})
    try:
        return [m.value() for m in read_partition(c, TOPIC, partition, 0, timeout=30)]
    finally:
        c.close()


def uncommitted_count(bs, partition):
    c = consumer(bs, {"isolation.level": "read_uncommitted"})
    try:
        return len(read_partition(c, TOPIC, partition, 0, timeout=30))
    finally:
        c.close()


def find_txn(admin, txn_id):
    status, arr = get_json(admin, "/v1/transactions")
    if status != 200 or not isinstance(arr, list):
        raise AssertionError(f"/v1/transactions: HTTP {status} {arr!r}")
    for t in arr:
        if t.get("transactional_id") == txn_id:
            return t
    return None


def wait_state(admin, txn_id, state, timeout=30):
    def ok():
        t = find_txn(admin, txn_id)
        return t if t and t["state"] == state else None
    return wait_until(ok, timeout, what=f"{txn_id} in state {state}")


# --------------------------------------------------------------------- test
def check_transaction_visibility(ck, bs, admin, cli):
    p1 = open_txn(bs, "adm-txn-1", 3)
    t = find_txn(admin, "adm-txn-1")
    ck(t is not None, "adm-txn-1 listed by GET /v1/transactions")
    ck.eq(t["state"], "Ongoing", "state of the open transaction")
    ck(t["producer_id"] >= 0, "producer id present")
    ck.eq(t["producer_epoch"], 0, "epoch of a fresh transactional id")
    ck.eq(t["timeout_ms"], TXN_TIMEOUT_MS, "timeout_ms")
    ck(isinstance(t["age_ms"], (int, float)) and 0 <= t["age_ms"] < 120000, f"age_ms {t['age_ms']}")
    parts = sorted((x["topic"], x["partition"]) for x in t["participants"])
    ck.eq(parts, [(TOPIC, 0), (TOPIC, 1)], "participants")
    status, one = get_json(admin, "/v1/transactions/adm-txn-1")
    ck.eq(status, 200, "GET /v1/transactions/{id}")
    ck.eq((one["transactional_id"], one["state"], one["producer_id"]),
          ("adm-txn-1", "Ongoing", t["producer_id"]), "describe object")
    status, err = get_json(admin, "/v1/transactions/no-such-txn")
    ck.eq(status, 404, "unknown transactional id")
    ck.eq(err["error"], "TRANSACTIONAL_ID_NOT_FOUND", "404 error name")

    r = run_checked([cli, "txn", "list", "--admin", admin], 30)
    out = r.stdout.decode()
    ck.eq(r.returncode, 0, f"brook txn list exit code ({r.stderr.decode()})")
    row = [ln for ln in out.splitlines() if ln.startswith("adm-txn-1 ")]
    ck(len(row) == 1, f"brook txn list has a row for adm-txn-1:\n{out}")
    for word in ("Ongoing", str(t["producer_id"]), f"{TOPIC}-0", f"{TOPIC}-1"):
        ck(word in row[0], f"brook txn list row has {word!r}: {row[0]!r}")
    ck("TRANSACTIONAL ID" in out.splitlines()[0], "brook txn list header")
    r = run_checked([cli, "txn", "describe", "adm-txn-1", "--admin", admin], 30)
    out = r.stdout.decode()
    ck.eq(r.returncode, 0, f"brook txn describe exit code ({r.stderr.decode()})")
    for word in ("adm-txn-1", "Ongoing", f"  {TOPIC}-0", f"  {TOPIC}-1", "Participants:      2"):
        ck(word in out, f"brook txn describe output has {word!r}:\n{out}")
    r = run_checked([cli, "txn", "describe", "no-such-txn", "--admin", admin], 30)
    ck.eq(r.returncode, 1, "brook txn describe of an unknown id")
    ck(b"no such transactional id" in r.stderr, f"describe unknown: {r.stderr!r}")
    r = run_checked([cli, "txn", "describe", "--admin", admin], 30)
    ck.eq(r.returncode, 2, "brook txn describe without an id is a usage error")
    r = run_checked([cli, "txn", "list", "--admin", "127.0.0.1:1"], 30)
    ck.eq(r.returncode, 1, "brook txn list against a closed port")
    ck(b"cannot connect" in r.stderr, f"connection error message: {r.stderr!r}")

    # Open transaction: nothing committed is visible, the LSO is held back.
    for part in (0, 1):
        ck.eq(committed_values(bs, part), [], f"read_committed sees nothing in partition {part}")
        ck.eq(uncommitted_count(bs, part), 3, f"read_uncommitted sees 3 records in {part}")
        o = part_offsets(admin, part)
        ck.eq(o["high_watermark"], 3, f"high watermark of partition {part}")
        ck(o["last_stable_offset"] < o["high_watermark"],
           f"partition {part}: LSO {o['last_stable_offset']} < HW {o['high_watermark']}")
        ck.eq(o["last_stable_offset"], 0, f"LSO of partition {part} stops at the open txn")
    ms, _, _ = metrics(admin)
    ck(sample(ms, "brook_transactions", state="Ongoing") >= 1, "brook_transactions{Ongoing}")
    ck(sample(ms, "brook_txn_oldest_open_age_seconds") > 0, "oldest open transaction age > 0")
    return p1


def check_abort(ck, bs, admin, cli, p1):
    ms0, _, _ = metrics(admin)
    aborts0 = sample(ms0, "brook_transactions_completed_total", outcome="abort")
    status, headers, body = http_req(admin, "POST", "/v1/transactions/adm-txn-1/abort")
    ck.eq(status, 200, f"POST abort: {body!r}")
    reply = json.loads(body)
    ck.eq(reply["error"], "NONE", "abort reply error")
    t = wait_state(admin, "adm-txn-1", "CompleteAbort")
    ck.eq(t["participants"], [], "no participants after CompleteAbort")
    ck.eq(t["producer_epoch"], 1, "the abort bumped the epoch (fenced the producer)")
    ck(t["age_ms"] is None, "no age for a completed transaction")
    for part in (0, 1):
        wait_until(lambda: (lambda o: o["last_stable_offset"] == o["high_watermark"])(
            part_offsets(admin, part)), 30, what=f"LSO = HW in partition {part}")
        o = part_offsets(admin, part)
        ck.eq(o["high_watermark"], 4, f"HW of partition {part}: 3 records + ABORT marker")
        ck.eq(o["last_stable_offset"], 4, f"LSO caught up in partition {part}")
        ck.eq(committed_values(bs, part), [], f"aborted records stay invisible in {part}")
    ms, _, _ = metrics(admin)
    ck.eq(sample(ms, "brook_transactions_completed_total", outcome="abort"), aborts0 + 1,
          "aborts counter after POST abort")
    ck.eq(sample(ms, "brook_txn_oldest_open_age_seconds"), 0, "no open transaction left")
    expect_fenced(ck, p1, "adm-txn-1 after the admin abort")

    status, headers, body = http_req(admin, "POST", "/v1/transactions/adm-txn-1/abort")
    ck.eq(status, 409, "abort of a completed transaction")
    ck.eq(json.loads(body)["error"], "INVALID_TXN_STATE", "409 carries the Kafka error name")
    status, headers, body = http_req(admin, "POST", "/v1/transactions/no-such-txn/abort")
    ck.eq(status, 404, "abort of an unknown id")

    # The same through the CLI, on a second transaction.
    p2 = open_txn(bs, "adm-txn-2", 2)
    r = run_checked([cli, "txn", "abort", "adm-txn-2", "--admin", admin], 30)
    ck.eq(r.returncode, 0, f"brook txn abort exit code ({r.stderr.decode()})")
    ck(b"abort of adm-txn-2 started" in r.stdout, f"brook txn abort output: {r.stdout!r}")
    wait_state(admin, "adm-txn-2", "CompleteAbort")
    r = run_checked([cli, "txn", "abort", "adm-txn-2", "--admin", admin], 30)
    ck.eq(r.returncode, 1, "brook txn abort of a completed transaction")
    ck(b"INVALID_TXN_STATE" in r.stderr, f"brook txn abort error: {r.stderr!r}")
    r = run_checked([cli, "txn", "describe", "adm-txn-2", "--admin", admin], 30)
    ck(b"CompleteAbort" in r.stdout, f"describe after abort: {r.stdout!r}")
    expect_fenced(ck, p2, "adm-txn-2 after brook txn abort")
    for part in (0, 1):
        wait_until(lambda: (lambda o: o["last_stable_offset"] == o["high_watermark"])(
            part_offsets(admin, part)), 30, what=f"LSO = HW in partition {part}")

    # A normal commit still works and moves the commit counter and the latency histogram.
    ms1, _, _ = metrics(admin)
    p3 = txn_producer(bs, "adm-txn-3")
    p3.begin_transaction()
    p3.produce(TOPIC, b"committed-1", partition=0)
    p3.commit_transaction(30)
    ck.eq(committed_values(bs, 0), [b"committed-1"], "read_committed sees the committed record")
    ms2, types, helps = metrics(admin)
    ck.eq(sample(ms2, "brook_transactions_completed_total", outcome="abort"), aborts0 + 2,
          "aborts counter after brook txn abort")
    ck.eq(sample(ms2, "brook_transactions_completed_total", outcome="commit"),
          sample(ms1, "brook_transactions_completed_total", outcome="commit") + 1,
          "commits counter after a commit")
    n1 = sample(ms1, "brook_txn_commit_latency_seconds_count")
    n2 = sample(ms2, "brook_txn_commit_latency_seconds_count")
    ck(n1 >= 2 and n2 >= n1 + 1, f"EndTxn latency count {n1} -> {n2} (fenced commits, a commit)")
    ck(sample(ms2, "brook_txn_commit_latency_seconds_sum") > 0, "EndTxn latency sum")
    ck.eq(sample(ms2, "brook_transactions", state="CompleteCommit"), 1, "one CompleteCommit")
    ck.eq(sample(ms2, "brook_transactions", state="CompleteAbort"), 2, "two CompleteAbort")
    p3 = None
    check_exposition(ck, ms2, types, helps)


def check_exposition(ck, ms, types, helps):
    want = {"brook_transactions": "gauge", "brook_txn_commit_latency_seconds": "histogram",
            "brook_txn_oldest_open_age_seconds": "gauge",
            "brook_transactions_completed_total": "counter", "brook_connections": "gauge",
            "brook_partition_log_end_offset": "gauge", "brook_partition_high_watermark": "gauge",
            "brook_partition_last_stable_offset": "gauge",
            "brook_partition_log_start_offset": "gauge"}
    for name, typ in want.items():
        ck.eq(types.get(name), typ, f"# TYPE of {name}")
        ck(name in helps, f"# HELP of {name}")
    for st in ("Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
               "CompleteAbort", "PrepareEpochFence", "Dead"):
        sample(ms, "brook_transactions", state=st)
    buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in ms.items()
                      if k[0] == "brook_txn_commit_latency_seconds_bucket"), key=lambda x: x[0])
    ck(len(buckets) >= 5 and buckets[-1][0] == float("inf"), "histogram buckets end with +Inf")
    ck(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets are cumulative")
    ck.eq(buckets[-1][1], sample(ms, "brook_txn_commit_latency_seconds_count"),
          "+Inf bucket = _count")
    ck(sample(ms, "brook_connections") >= 1, "brook_connections counts the Kafka clients")


def check_loop_metrics(ck, bs, admin):
    """The event-loop turn metrics move, and a turn that creates many partitions at once
    (synchronously, on the loop) shows as a stall."""
    ms0, types, _ = metrics(admin)
    for name, typ in (("brook_loop_turns_total", "counter"),
                      ("brook_loop_busy_seconds_total", "counter"),
                      ("brook_loop_stalls_total", "counter"),
                      ("brook_loop_turn_max_seconds", "gauge")):
        ck.eq(types.get(name), typ, f"# TYPE of {name}")
    a = AdminClient({"bootstrap.servers": bs})
    a.create_topics([NewTopic("adm-wide", 1000, 1)])["adm-wide"].result(timeout=60)
    ms1, _, _ = metrics(admin)
    d = {n: sample(ms1, n) - sample(ms0, n) for n in
         ("brook_loop_turns_total", "brook_loop_busy_seconds_total", "brook_loop_stalls_total")}
    longest = sample(ms1, "brook_loop_turn_max_seconds")
    print(f"[admin] loop metrics across a 1000-partition CreateTopics: {d}, longest turn "
          f"{longest:.3f} s")
    ck(d["brook_loop_turns_total"] > 0 and d["brook_loop_busy_seconds_total"] > 0,
       f"loop turns and busy time counted ({d})")
    ck(d["brook_loop_stalls_total"] >= 1 and longest >= 0.02,
       f"creating 1000 partitions in one turn counts as a stall ({d}, longest {longest})")
    ck(d["brook_loop_busy_seconds_total"] >= 0.02,
       f"that turn's busy time is in the total ({d})")


def check_bad_http(ck, bs, admin):
    cases = [
        ("garbage", b"GARBAGE\r\n\r\n", 400),
        ("no target", b"GET\r\n\r\n", 400),
        ("bad method", b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        ("bad method token", b"G\x01T /metrics HTTP/1.1\r\n\r\n", 400),
        ("lowercase method", b"get /metrics HTTP/1.1\r\n\r\n", 405),
        ("wrong method on a route", b"DELETE /v1/transactions HTTP/1.1\r\n\r\n", 405),
        ("GET on abort", b"GET /v1/transactions/adm-txn-1/abort HTTP/1.1\r\n\r\n", 405),
        ("unknown path", b"GET /nope HTTP/1.1\r\n\r\n", 404),
        ("unknown sub path", b"GET /v1/transactions/a/b HTTP/1.1\r\n\r\n", 404),
        ("bad escape", b"GET /v1/transactions/%zz HTTP/1.1\r\n\r\n", 400),
        ("NUL escape", b"GET /v1/transactions/a%00b HTTP/1.1\r\n\r\n", 400),
        ("bad version", b"GET /metrics HTTP/2.0\r\n\r\n", 505),
        ("not http", b"GET /metrics FTP/1.1\r\n\r\n", 400),
        ("header without colon", b"GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n", 400),
        ("obs-fold", b"GET /metrics HTTP/1.1\r\nA: b\r\n  c\r\n\r\n", 400),
        ("bare CR", b"GET /metrics HTTP/1.1\rX: y\r\n\r\n", 400),
        ("bad content-length", b"POST /v1/transactions/x/abort HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400),
        ("two content-lengths", b"POST /v1/transactions/x/abort HTTP/1.1\r\nContent-Length: 1\r\n"
                                b"Content-Length: 2\r\n\r\nab", 400),
        ("huge content-length", b"POST /v1/transactions/x/abort HTTP/1.1\r\n"
                                b"Content-Length: 99999999999999999999999\r\n\r\n", 413),
        ("chunked", b"POST /v1/transactions/x/abort HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"0\r\n\r\n", 501),
        ("huge header", b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n", 431),
        ("many headers", b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * 5000 + b"\r\n", 431),
        ("huge request line", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n", 431),
        ("binary noise", bytes((i * 131 + 7) % 256 for i in range(8192)), 400),
    ]
    for what, data, want in cases:
        status, reply = raw_http(admin, data)
        ck.eq(status, want, f"{what}: reply {reply[:120]!r}")
    status, reply = raw_http(admin, b"DELETE /metrics HTTP/1.1\r\n\r\n")
    ck(b"\r\nAllow: GET\r\n" in reply, f"405 names the allowed method: {reply[:200]!r}")
    # A body within the limit is accepted (and ignored) by the abort route.
    status, reply = raw_http(admin, b"POST /v1/transactions/no-such/abort HTTP/1.0\r\n"
                                    b"Content-Length: 5\r\n\r\nhello")
    ck.eq(status, 404, "POST with a small body")
    # Half a request, then the client goes away; and a stalled one, closed by the client.
    host, port = admin.rsplit(":", 1)
    for partial in (b"GET /metr", b"GET /metrics HTTP/1.1\r\nHost: x\r\n"):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(partial)
        s.close()
    # More idle connections than the listener keeps: the extra ones are closed, and once
    # they are gone, requests are served again.
    idle = []
    for _ in range(80):
        idle.append(socket.create_connection((host, int(port)), timeout=10))
    time.sleep(0.3)
    closed = 0
    for s in idle:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    ck(closed >= 80 - 64, f"connections over the limit were closed ({closed} of 80)")
    for s in idle:
        s.close()
    wait_until(lambda: http_req(admin, "GET", "/metrics")[0] == 200, 15, what="admin serves again")
    # Percent-encoded ids reach the coordinator decoded.
    status, body = get_json(admin, "/v1/transactions/adm%2Dtxn%2D1")
    ck.eq((status, body.get("transactional_id")), (200, "adm-txn-1"), "percent-encoded id")

    # The Kafka side is unaffected.
    p = producer(bs)
    for i in range(10):
        p.produce(TOPIC, f"after-{i}".encode(), partition=1)
    flush(p)
    vals = committed_values(bs, 1)
    ck.eq(vals[-10:], [f"after-{i}".encode() for i in range(10)], "Kafka clients still served")


def main():
    cli = find_cli()
    ck = Check("admin")
    with Broker(config={"transaction.state.log.num.partitions": 4}) as b:
        bs = b.bootstrap
        admin = b.admin_address()
        ck(re.fullmatch(r"127\.0\.0\.1:\d+", admin) is not None, f"admin address {admin}")
        ck(admin != bs, "admin port differs from the Kafka port")
        a = AdminClient({"bootstrap.servers": bs})
        a.create_topics([NewTopic(TOPIC, 2, 1)])[TOPIC].result(timeout=30)

        p1 = check_transaction_visibility(ck, bs, admin, cli)
        check_abort(ck, bs, admin, cli, p1)
        check_loop_metrics(ck, bs, admin)
        check_bad_http(ck, bs, admin)
        ck(b.running(), "brookd still running")
        ck.eq(b.stop(), 0, "brookd exit code on SIGTERM")
    # admin.listeners= (empty) disables the listener.
    with Broker(config={"admin.listeners": "", "transaction.state.log.num.partitions": 1}) as b:
        try:
            b.admin_address(timeout=1.0)
            ck(False, "admin listener started although admin.listeners is empty")
        except TimeoutError:
            ck(True, "no admin listener with admin.listeners empty")
        ck.eq(b.stop(), 0, "brookd (admin off) exit code on SIGTERM")
    # A malformed admin.listeners stops startup with the key's name.
    r = run_checked([find_brookd(), "--admin.listeners=127.0.0.1:9644", "--log.dirs=/nonexistent"], 30)
    ck.eq(r.returncode, 2, "bad admin.listeners is a config error")
    ck(b"admin.listeners" in r.stderr, f"error names the key: {r.stderr!r}")
    ck.done()


if __name__ == "__main__":
    run_main(main)
