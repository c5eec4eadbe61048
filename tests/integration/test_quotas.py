#!/usr/bin/python3
"""Client byte-rate quotas (#15 limits, KIP-13/55/219/546) on one node and in a cluster.

 1. AlterClientQuotas / DescribeClientQuotas over the raw protocol (v0 and v1): set, list
    with exact / default / any filters and strict, remove; per-entry INVALID_REQUEST for an
    unknown key, a negative or fractional rate, a key Brook does not enforce, the ip entity,
    a duplicate entity type; validate_only changes nothing; bad describe filters.
 2. Precedence, seen through raw Produce v3's throttle_time_ms: a client-id quota of 1 B/s
    throttles; a default-user + client-id entity of 1 GB/s above it wins (no throttle); once
    removed, the client-id quota applies again.
 3. A greedy confluent-kafka producer (client.id=greedy, 200 kB/s) is held near its quota
    over ~5 s and sees throttle_time_ms > 0 (throttle_cb), while a producer with another
    client id at the same time goes well above it.
 4. A consumer capped by consumer_byte_rate (client.id=slowc, 200 kB/s) is held near it
    and throttled; another consumer reads the same data well above the cap.
 5. /metrics: bytes and throttle time per quota window.
 6. The quotas survive a restart.
 7. `brook quota set|list|remove` round trip.
 8. A 3-node ZooKeeper cluster keeps them in ZooKeeper: a quota set through node 1 is
    described by every node; a greedy producer to a partition led by node 3 is held near it
    and throttled; an entry refused in the same request changes nothing; after every node
    restarted the quota is still described (no node keeps a quota file); removed through
    node 2, no node describes it (skipped when ZooKeeper cannot run here).
Quota windows are 4 x 1 s here (quota.window.num=4) so the test's bursts stay small."""

import os
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_cli, run_main, wait_until  # noqa: E402
from raw_kafka import (TAGS, Conn, Reader, carr, cstr, flex_request,  # noqa: E402
                       record_batch, s16)
from test_admin import metrics  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402

CAP = 200_000
INVALID_REQUEST = 42


# ------------------------------------------------------------------ the quota APIs
def _str(s, flex):
    return cstr(s) if flex else s16(s)


def _arr(items, enc, flex):
    if flex:
        return carr(items, enc)
    return struct.pack(">i", len(items)) + b"".join(enc(x) for x in items)


def alter(conn, entries, validate_only=False, v=1):
    """entries: [([(type, name|None)], [(key, value|None for remove)])] ->
    [(error, message, [(type, name)])]."""
    flex = v >= 1
    tags = TAGS if flex else b""

    def ent(e):
        return _str(e[0], flex) + _str(e[1], flex) + tags

    def op(o):
        return _str(o[0], flex) + struct.pack(">d?", o[1] or 0.0, o[1] is None) + tags

    def entry(e):
        return _arr(e[0], ent, flex) + _arr(e[1], op, flex) + tags

    body = _arr(entries, entry, flex) + struct.pack(">?", validate_only) + tags
    if flex:
        rd = flex_request(conn, 49, v, body, "AlterClientQuotas")
    else:
        rd = Reader(conn.request(49, v, body, "AlterClientQuotas v0")[0])
    rd.take(">i")
    out = []
    for _ in range(rd.count() if flex else rd.take(">i")):
        err = rd.take(">h")
        msg = rd.cstring() if flex else rd.string()
        ents = []
        for _ in range(rd.count() if flex else rd.take(">i")):
            t = rd.cstring() if flex else rd.string()
            n = rd.cstring() if flex else rd.string()
            if flex:
                rd.tags()
            ents.append((t, n))
        if flex:
            rd.tags()
        out.append((err, msg, ents))
    return out


def describe(conn, components, strict=False, v=1):
    """components: [(type, match_type, match)] -> (error, message,
    {((type, name), ...): {key: value}})."""
    flex = v >= 1
    tags = TAGS if flex else b""

    def comp(c):
        return _str(c[0], flex) + struct.pack(">b", c[1]) + _str(c[2], flex) + tags

    body = _arr(components, comp, flex) + struct.pack(">?", strict) + tags
    if flex:
        rd = flex_request(conn, 48, v, body, "DescribeClientQuotas")
    else:
        rd = Reader(conn.request(48, v, body, "DescribeClientQuotas v0")[0])
    rd.take(">i")
    err = rd.take(">h")
    msg = rd.cstring() if flex else rd.string()
    n = rd.count() if flex else rd.take(">i")
    found = {}
    for _ in range(max(n, 0)):
        ents = []
        for _ in range(rd.count() if flex else rd.take(">i")):
            t = rd.cstring() if flex else rd.string()
            nm = rd.cstring() if flex else rd.string()
            if flex:
                rd.tags()
            ents.append((t, nm))
        vals = {}
        for _ in range(rd.count() if flex else rd.take(">i")):
            k = rd.cstring() if flex else rd.string()
            vals[k] = rd.take(">d")
            if flex:
                rd.tags()
        if flex:
            rd.tags()
        found[tuple(ents)] = vals
    return err, msg, (found if n >= 0 else None)


def raw_produce_throttle(addr, client_id, topic):
    """One Produce v3 of a small batch -> (error, throttle_time_ms)."""
    with Conn(addr, client_id=client_id.encode()) as c:
        rb = record_batch(-1, -1, -1, [b"x" * 100])
        body = (s16(None) + struct.pack(">hi", 1, 10000) + struct.pack(">i", 1) + s16(topic)
                + struct.pack(">i", 1) + struct.pack(">ii", 0, len(rb)) + rb)
        r, _ = c.request(0, 3, body, "Produce v3")
        rd = Reader(r)
        rd.take(">i")
        rd.string()
        rd.take(">i")
        _, err, _, _ = rd.take(">ihqq")
        return err, rd.take(">i")


# ------------------------------------------------------------------ checks
def check_admin_apis(ck, addr):
    with Conn(addr) as c:
        res = alter(c, [([("user", "alice")], [("producer_byte_rate", 1024.0),
                                               ("consumer_byte_rate", 2048.0)]),
                        ([("user", None), ("client-id", None)], [("producer_byte_rate", 10.0)]),
                        ([("client-id", "greedy")], [("producer_byte_rate", float(CAP))])])
        ck.eq([r[0] for r in res], [0, 0, 0], "three entities set")
        ck.eq(res[1][2], [("user", None), ("client-id", None)], "the entity is echoed")
        err, _, got = describe(c, [])
        ck.eq((err, len(got)), (0, 3), "describe without a filter lists all three")
        ck.eq(got.get((("user", "alice"),)), {"producer_byte_rate": 1024.0,
                                              "consumer_byte_rate": 2048.0}, "alice's rates")
        err, _, got = describe(c, [("user", 0, "alice")], v=0)
        ck.eq(list(got), [(("user", "alice"),)], "v0: exact user filter")
        _, _, got = describe(c, [("user", 1, None)])
        ck.eq(list(got), [(("user", None), ("client-id", None))], "default user filter")
        _, _, got = describe(c, [("user", 2, None)], strict=True)
        ck.eq(list(got), [(("user", "alice"),)], "any user, strict: no client-id part")
        _, _, got = describe(c, [("client-id", 0, "greedy")])
        ck.eq(list(got), [(("client-id", "greedy"),)], "exact client-id filter")
        err, msg, got = describe(c, [("user", 0, None)])
        ck.eq((err, got), (INVALID_REQUEST, None), f"exact match without a name ({msg})")
        err, msg, _ = describe(c, [("group", 2, None)])
        ck.eq(err, INVALID_REQUEST, f"unknown entity type in a filter ({msg})")
        err, msg, _ = describe(c, [("user", 2, None), ("user", 1, None)])
        ck.eq(err, INVALID_REQUEST, f"entity type twice in a filter ({msg})")

        bad = alter(c, [([("user", "bob")], [("bogus_rate", 1.0)]),
                        ([("user", "bob")], [("producer_byte_rate", -5.0)]),
                        ([("user", "bob")], [("producer_byte_rate", 1.5)]),
                        ([("user", "bob")], [("request_percentage", 50.0)]),
                        ([("ip", "10.0.0.1")], [("connection_creation_rate", 5.0)]),
                        ([("user", "bob"), ("user", "carl")], [("producer_byte_rate", 5.0)]),
                        ([], [("producer_byte_rate", 5.0)]),
                        ([("user", "dave")], [("producer_byte_rate", 7.0)])], v=0)
        ck.eq([r[0] for r in bad], [INVALID_REQUEST] * 7 + [0],
              "v0: unknown key, negative, fractional, request_percentage, ip, duplicate type, "
              "no entity refused; a valid entry in the same request applied")
        ck("request_percentage" in (bad[3][1] or ""), f"the refusal says why: {bad[3][1]}")
        res = alter(c, [([("user", "erin")], [("producer_byte_rate", 9.0)])], validate_only=True)
        ck.eq(res[0][0], 0, "validate_only accepts a valid entry")
        _, _, got = describe(c, [("user", 0, "erin")])
        ck.eq(got, {}, "validate_only changed nothing")
        res = alter(c, [([("user", "dave")], [("producer_byte_rate", None)])])
        _, _, got = describe(c, [("user", 0, "dave")])
        ck.eq((res[0][0], got), (0, {}), "removing an entity's last key drops it")
        # the default user + default client-id entity would cap every client below
        alter(c, [([("user", None), ("client-id", None)], [("producer_byte_rate", None)])])


def check_precedence(ck, addr):
    with Conn(addr) as c:
        c.create_topic("quota-prec", 1)
        alter(c, [([("client-id", "prec")], [("producer_byte_rate", 1.0)])])
    raw_produce_throttle(addr, "prec", "quota-prec")  # first window: 10 s of 1 B/s may pass
    err, t = raw_produce_throttle(addr, "prec", "quota-prec")
    ck(err == 0 and t > 0, f"client-id quota of 1 B/s throttles (error {err}, {t} ms)")
    with Conn(addr) as c:
        alter(c, [([("user", None), ("client-id", "prec")], [("producer_byte_rate", 1e9)])])
    err, t = raw_produce_throttle(addr, "prec", "quota-prec")
    ck.eq((err, t), (0, 0), "default user + client-id (1 GB/s) wins over client-id")
    with Conn(addr) as c:
        alter(c, [([("user", None), ("client-id", "prec")], [("producer_byte_rate", None)])])
    raw_produce_throttle(addr, "prec", "quota-prec")
    err, t = raw_produce_throttle(addr, "prec", "quota-prec")
    ck(t > 0, f"removed: the client-id quota applies again ({t} ms)")


def run_producer(addr, client_id, topic, seconds, out, warmup=2.0, limit=None, delay=0.0):
    """After delay seconds, produces 10 kB records as fast as allowed for seconds (or until
    limit bytes are queued); out gets the rate of the bytes delivered after the warm-up and
    the largest throttle time (seconds)."""
    time.sleep(delay)
    stats = {"bytes": 0, "throttle": 0}
    t0 = time.monotonic()
    warm = t0 + warmup

    def dr(err, msg):
        if err is None and time.monotonic() >= warm:
            stats["bytes"] += len(msg.value())

    def thr(ev):
        stats["throttle"] = max(stats["throttle"], ev.throttle_time)

    p = Producer({"bootstrap.servers": addr, "client.id": client_id, "linger.ms": 5,
                  "batch.size": 65536, "throttle_cb": thr, "acks": 1,
                  "queue.buffering.max.messages": 50})
    payload = b"q" * 10_000
    end, queued = t0 + seconds, 0
    while time.monotonic() < end and (limit is None or queued < limit):
        try:
            p.produce(topic, payload, on_delivery=dr)
            queued += len(payload)
        except BufferError:
            p.poll(0.05)
        p.poll(0)
    p.flush(10)
    out.update(rate=stats["bytes"] / max(time.monotonic() - warm, 0.1),
               throttle=stats["throttle"])


def check_producers(ck, addr):
    greedy, free = {}, {}
    threads = [threading.Thread(target=run_producer, args=(addr, "greedy", "quota-p", 7, greedy)),
               # another client id while greedy is throttled (from 2 s on), up to 30 MB
               threading.Thread(target=run_producer,
                                args=(addr, "free", "quota-f", 5, free, 0.0, 30_000_000, 2.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print(f"  producers: greedy {greedy.get('rate', 0):.0f} B/s (largest throttle "
          f"{greedy.get('throttle')} s), free {free.get('rate', 0):.0f} B/s", flush=True)
    ck(0.5 * CAP <= greedy.get("rate", 0) <= 1.5 * CAP,
       f"greedy producer held near {CAP} B/s: {greedy.get('rate', 0):.0f} B/s")
    ck(greedy.get("throttle", 0) > 0, f"greedy saw throttle_time_ms {greedy.get('throttle')}")
    ck(free.get("rate", 0) > 3 * CAP,
       f"the other producer meanwhile: {free.get('rate', 0):.0f} B/s (> 3x the cap)")


def run_consumer(addr, client_id, topic, seconds, out, stop_at_bytes=None):
    stats = {"bytes": 0, "throttle": 0}

    def thr(ev):
        stats["throttle"] = max(stats["throttle"], ev.throttle_time)

    c = Consumer({"bootstrap.servers": addr, "client.id": client_id, "group.id": client_id,
                  "auto.offset.reset": "earliest", "throttle_cb": thr,
                  "enable.auto.commit": False})
    c.subscribe([topic])
    t0 = time.monotonic()
    first = None
    while time.monotonic() - t0 < seconds:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        if first is None:
            first = time.monotonic()
        stats["bytes"] += len(m.value())
        if stop_at_bytes and stats["bytes"] >= stop_at_bytes:
            break
    elapsed = time.monotonic() - (first or t0)
    c.close()
    out.update(rate=stats["bytes"] / max(elapsed, 0.1), bytes=stats["bytes"],
               throttle=stats["throttle"])


def check_consumers(ck, addr):
    with Conn(addr) as c:
        alter(c, [([("client-id", "slowc")], [("consumer_byte_rate", float(CAP))])])
    slow, fast = {}, {}
    threads = [threading.Thread(target=run_consumer, args=(addr, "slowc", "quota-f", 6, slow)),
               threading.Thread(target=run_consumer,
                                args=(addr, "fastc", "quota-f", 6, fast, 4_000_000))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print(f"  consumers: slowc {slow.get('rate', 0):.0f} B/s (largest throttle "
          f"{slow.get('throttle')} s), fastc {fast.get('rate', 0):.0f} B/s", flush=True)
    ck(0.4 * CAP <= slow.get("rate", 0) <= 1.6 * CAP,
       f"capped consumer held near {CAP} B/s: {slow.get('rate', 0):.0f} B/s")
    ck(slow.get("throttle", 0) > 0, f"capped consumer saw throttle_time_ms {slow.get('throttle')}")
    ck(fast.get("rate", 0) > 3 * CAP,
       f"the other consumer meanwhile: {fast.get('rate', 0):.0f} B/s over {fast.get('bytes')} B")


def check_metrics(ck, br):
    ms, _, _ = metrics(br.admin_address())
    thr = {dict(k[1]).get("client_id"): v for k, v in ms.items()
           if k[0] == "brook_quota_throttle_seconds_total" and dict(k[1]).get("kind") == "produce"}
    ck(thr.get("greedy", 0) > 0, f"/metrics: greedy's produce throttle time {thr.get('greedy')}")
    got = [v for k, v in ms.items() if k[0] == "brook_quota_bytes_total"
           and dict(k[1]).get("client_id") == "slowc" and dict(k[1]).get("kind") == "fetch"]
    ck(got and got[0] > 0, f"/metrics: slowc's fetch bytes {got}")


def check_cli(ck, br):
    cli = find_cli()
    if not cli:
        print("  (brook CLI not built: CLI round trip skipped)")
        return

    def run(*args):
        p = subprocess.run([cli, "quota", *args, "--bootstrap", br.bootstrap],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    rc, out = run("set", "--user", "cli-u", "--client-id", "cli-c", "--producer-byte-rate",
                  "5000", "--consumer-byte-rate", "6000")
    ck.eq(rc, 0, f"brook quota set: {out.strip()}")
    rc, out = run("set", "--default-client-id", "--consumer-byte-rate", "777")
    ck.eq(rc, 0, f"brook quota set --default-client-id: {out.strip()}")
    rc, out = run("list")
    ck(rc == 0 and "cli-u" in out and "cli-c" in out and "5000" in out and "6000" in out
       and "<default>" in out and "777" in out, f"brook quota list: {out.strip()}")
    rc, out = run("list", "--user", "cli-u", "--json")
    ck(rc == 0 and '"producer_byte_rate"' in out and '"cli-c"' in out,
       f"brook quota list --user --json: {out.strip()}")
    rc, out = run("set", "--user", "x", "--producer-byte-rate", "-1")
    ck(rc != 0, f"a negative rate is refused: {out.strip()}")
    rc, out = run("remove", "--user", "cli-u", "--client-id", "cli-c", "--producer-byte-rate")
    ck.eq(rc, 0, f"brook quota remove one key: {out.strip()}")
    rc, out = run("list", "--user", "cli-u")
    ck(rc == 0 and "6000" in out and "5000" not in out, f"one key left: {out.strip()}")
    rc, out = run("remove", "--user", "cli-u", "--client-id", "cli-c")
    rc2, out2 = run("remove", "--default-client-id")
    rc3, out3 = run("list", "--user", "cli-u")
    ck(rc == 0 and rc2 == 0 and "cli-u" not in out3, f"brook quota remove (all keys): {out3}")


def check_cluster(ck):
    from cluster_harness import Cluster, zk_available
    from confluent_kafka.admin import AdminClient, NewTopic
    if not zk_available():
        print("  (no ZooKeeper here: quotas in a cluster are not checked)")
        return
    cfg = {"quota.window.num": 4, "quota.window.size.seconds": 1, "admin.listeners": ""}
    greedy = ([("client-id", "greedy-c")], [("producer_byte_rate", float(CAP))])
    key = (("client-id", "greedy-c"),)

    def described_everywhere(cl, want):
        def check():
            for n in cl.nodes:
                with Conn(n.bootstrap) as c:
                    err, _, got = describe(c, [])
                if err != 0 or got.get(key) != want:
                    return None
            return True
        return wait_until(check, 15, interval=0.2, what=f"every node to describe {want}")

    with Cluster(3, config=cfg, name="quotas-zk") as cl:
        with Conn(cl.nodes[0].bootstrap) as c:
            res = alter(c, [greedy, ([("client-id", "x")], [("request_percentage", 5.0)])])
        ck.eq([r[0] for r in res], [0, INVALID_REQUEST],
              "cluster: AlterClientQuotas through node 1 (one entry refused)")
        ck(described_everywhere(cl, {"producer_byte_rate": float(CAP)}),
           "cluster: every node describes the quota")
        with Conn(cl.nodes[1].bootstrap) as c:
            _, _, got = describe(c, [])
        ck.eq(list(got), [key], "cluster: the refused entry left nothing behind")
        admin = AdminClient({"bootstrap.servers": cl.bootstrap_all})
        admin.create_topics([NewTopic("quota-c", 1, replica_assignment=[[3]])])["quota-c"].result()
        out = {}
        run_producer(cl.bootstrap_all, "greedy-c", "quota-c", 7, out)
        print(f"  cluster: greedy producer to node 3 {out.get('rate', 0):.0f} B/s (largest "
              f"throttle {out.get('throttle')} s)", flush=True)
        ck(0.5 * CAP <= out.get("rate", 0) <= 1.5 * CAP,
           f"cluster: node 3 holds greedy near {CAP} B/s: {out.get('rate', 0):.0f} B/s")
        ck(out.get("throttle", 0) > 0, f"cluster: greedy throttled by node 3: {out}")
        cl.restart()
        ck(described_everywhere(cl, {"producer_byte_rate": float(CAP)}),
           "cluster: the quota is still described after every node restarted")
        ck.eq([n for n in cl.nodes if os.path.exists(os.path.join(n.data_dir, "client-quotas"))],
              [], "cluster: no node keeps a quota file")
        with Conn(cl.nodes[1].bootstrap) as c:
            res = alter(c, [([("client-id", "greedy-c")], [("producer_byte_rate", None)])])
        ck.eq([r[0] for r in res], [0], "cluster: the quota removed through node 2")
        ck(described_everywhere(cl, None), "cluster: no node describes it any more")


def main():
    ck = Check("quotas")
    cfg = {"quota.window.num": 4, "quota.window.size.seconds": 1, "num.partitions": 1}
    with Broker(config=cfg, name="quotas") as br:
        addr = br.bootstrap
        check_admin_apis(ck, addr)
        check_precedence(ck, addr)
        check_producers(ck, addr)
        check_consumers(ck, addr)
        check_metrics(ck, br)
        check_cli(ck, br)
        br.restart()
        with Conn(br.bootstrap) as c:
            _, _, got = describe(c, [])
        ck.eq(got.get((("user", "alice"),)), {"producer_byte_rate": 1024.0,
                                              "consumer_byte_rate": 2048.0},
              "alice's quotas survive a restart")
        ck.eq(got.get((("client-id", "greedy"),)), {"producer_byte_rate": float(CAP)},
              "greedy's quota survives a restart")
    check_cluster(ck)
    return ck.done()


if __name__ == "__main__":
    run_main(main)
