#!/usr/bin/python3
"""`brook txn list|describe|abort` over the Kafka admin APIs (ListTransactions on every
broker, FindCoordinator + DescribeTransactions), with the admin HTTP API for abort, against
one node and a 3-node cluster (python3-confluent-kafka transactional producers; the CLI is
passed as BROOK_CLI).

Single node:
 1. A transaction left open on two partitions (tc-0, tc-1) and one committed: `txn list`
    (table and --json) shows the open one Ongoing with both partitions, its producer id,
    coordinator 1 and an age; the committed one CompleteCommit with no partitions.
 2. Filters: --state Ongoing / CompleteCommit, --producer-id, --min-age-ms (an hour: none;
    0: both, as KIP-994 filters on the start time whatever the state) select what they say.  --admin gives the same list from the HTTP API.
 3. `txn describe` (table and --json) shows the state, coordinator, producer and partitions.
 4. `txn abort ID` with only BROOK_ADMIN set finds the coordinator (FindCoordinator, then its
    admin address in GET /v1/cluster) and aborts: the state becomes PrepareAbort or
    CompleteAbort and the producer's commit fails (fenced).
 5. Errors: an unknown id (exit 1, "no such transactional id"), an unknown flag and a bad
    --state (exit 2), a missing id (exit 2), no broker at --bootstrap (exit 1 within the
    timeout, "cannot reach").
Three nodes (ZooKeeper; skipped without it), __transaction_state with 3 partitions:
 6. Two open transactions whose ids hash to different __transaction_state partitions:
    `txn list` through each node shows both, each with the coordinator FindCoordinator
    names; `describe` through node 3 agrees; `abort` through node 2, with BROOK_ADMIN naming
    node 1's admin listener, reaches the right coordinator and ends the transaction."""

import json
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, find_cli, run_checked, run_main  # noqa: E402
import cluster_harness  # noqa: E402

from confluent_kafka import KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

T0 = time.monotonic()
TOPIC = "tc"


def log(msg):
    print(f"[{time.monotonic() - T0:7.2f}s] {msg}", flush=True)


def cli(args, env_extra=None, timeout=60):
    env = dict(os.environ)
    env.pop("BROOK_BOOTSTRAP", None)
    env.pop("BROOK_ADMIN", None)
    env.update(env_extra or {})
    r = run_checked([find_cli()] + args, timeout, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def cli_json(ck, args, env_extra=None):
    rc, out, err = cli(args + ["--json"], env_extra)
    ck.eq(rc, 0, f"brook {' '.join(args)} --json exits 0 (stderr {err!r})")
    return json.loads(out)


def create_topic(bootstrap, name, parts, rf=1):
    a = AdminClient({"bootstrap.servers": bootstrap})
    for _ in range(50):
        fs = a.create_topics([NewTopic(name, parts, rf)], request_timeout=15)
        try:
            fs[name].result(20)
            return
        except KafkaException as e:
            if "TOPIC_ALREADY_EXISTS" in str(e):
                return
            time.sleep(0.3)
    raise AssertionError(f"cannot create {name}")


def open_txn(bootstrap, tid, partitions, topic=TOPIC):
    """A transactional producer with a transaction left open on `partitions`."""
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid,
                  "transaction.timeout.ms": 600000})
    p.init_transactions(30)
    p.begin_transaction()
    for part in partitions:
        p.produce(topic, b"v", partition=part)
    if p.flush(30) != 0:
        raise AssertionError("flush did not finish")
    return p


def by_id(rows):
    return {r["transactional_id"]: r for r in rows}


def parts_of(row):
    return sorted((p["topic"], p["partition"]) for p in row.get("participants", []))


def wait_state(ck, env, tid, states, what):
    deadline = time.monotonic() + 20
    st = None
    while time.monotonic() < deadline:
        rc, out, _ = cli(["txn", "describe", tid, "--json"], env)
        if rc == 0:
            st = json.loads(out)["state"]
            if st in states:
                break
        time.sleep(0.2)
    ck(st in states, f"{what}: state {st}, expected one of {states}")


def single_node(ck):
    with Broker(config={"transaction.state.log.num.partitions": 4}) as b:
        boot, admin = b.bootstrap, b.admin_address()
        env = {"BROOK_BOOTSTRAP": boot, "BROOK_ADMIN": admin}
        create_topic(boot, TOPIC, 2)
        hang = open_txn(boot, "cli-hang", [0, 1])
        done = open_txn(boot, "cli-done", [0])
        done.commit_transaction(30)
        log("one transaction open, one committed")

        # 1. list
        rows = by_id(cli_json(ck, ["txn", "list"], env))
        ck.eq(sorted(rows), ["cli-done", "cli-hang"], "txn list: both ids")
        h = rows["cli-hang"]
        ck.eq(h["state"], "Ongoing", "open transaction is Ongoing")
        ck.eq(parts_of(h), [(TOPIC, 0), (TOPIC, 1)], "open transaction's partitions")
        ck.eq(h["coordinator"], 1, "coordinator is node 1")
        ck(h["producer_id"] >= 0 and h["age_ms"] is not None and h["age_ms"] >= 0,
           f"producer id and age: {h}")
        ck.eq(rows["cli-done"]["state"], "CompleteCommit", "committed one is CompleteCommit")
        ck.eq(parts_of(rows["cli-done"]), [], "committed one has no partitions left")
        rc, out, err = cli(["txn", "list"], env)
        ck.eq(rc, 0, f"txn list (table) exits 0: {err!r}")
        lines = out.splitlines()
        ck(lines[0].split()[:2] == ["TRANSACTIONAL", "ID"], f"table header: {lines[0]!r}")
        row = [ln for ln in lines if ln.startswith("cli-hang ")]
        ck(len(row) == 1 and "Ongoing" in row[0] and "tc-0,tc-1" in row[0],
           f"table row of cli-hang: {row}")

        # 2. filters, and the HTTP path
        pid = h["producer_id"]
        for flags, want in ((["--state", "Ongoing"], ["cli-hang"]),
                            (["--state", "CompleteCommit"], ["cli-done"]),
                            (["--producer-id", str(pid)], ["cli-hang"]),
                            (["--producer-id", str(pid + 1000)], []),
                            (["--min-age-ms", "3600000"], [])):
            got = sorted(by_id(cli_json(ck, ["txn", "list"] + flags, env)))
            ck.eq(got, want, f"txn list {' '.join(flags)}")
        # KIP-994: started more than 0 ms ago, whatever the state (as Kafka filters).
        got = sorted(by_id(cli_json(ck, ["txn", "list", "--min-age-ms", "0"], env)))
        ck.eq(got, ["cli-done", "cli-hang"], "txn list --min-age-ms 0")
        http_rows = by_id(cli_json(ck, ["txn", "list", "--admin", admin]))
        ck.eq(sorted(http_rows), ["cli-done", "cli-hang"], "txn list --admin: both ids")
        ck.eq(http_rows["cli-hang"]["producer_id"], pid, "--admin: same producer id")

        # 3. describe
        d = cli_json(ck, ["txn", "describe", "cli-hang"], env)
        ck.eq((d["state"], d["coordinator"], parts_of(d)),
              ("Ongoing", 1, [(TOPIC, 0), (TOPIC, 1)]), "txn describe --json")
        rc, out, err = cli(["txn", "describe", "cli-hang"], env)
        ck(rc == 0 and "State:             Ongoing" in out and "  tc-1" in out
           and "Coordinator:       node 1" in out, f"txn describe table: {out!r} {err!r}")

        # 4. abort, the admin listener found through /v1/cluster
        rc, out, err = cli(["txn", "abort", "cli-hang"], env)
        ck.eq(rc, 0, f"txn abort exits 0 (out {out!r}, err {err!r})")
        ck("abort of cli-hang started" in out, f"abort says so: {out!r}")
        wait_state(ck, env, "cli-hang", ("PrepareAbort", "CompleteAbort"), "after abort")
        try:
            hang.commit_transaction(15)
            ck(False, "the aborted transaction's producer could still commit")
        except KafkaException as e:
            ck(True, f"producer fenced after abort: {e}")

        # 5. errors
        rc, _, err = cli(["txn", "describe", "no-such-id"], env)
        ck(rc == 1 and "no such transactional id" in err, f"unknown id: {rc} {err!r}")
        rc, _, err = cli(["txn", "list", "--no-such-flag"], env)
        ck.eq(rc, 2, f"unknown flag exits 2 ({err!r})")
        rc, _, err = cli(["txn", "list", "--state", "Bogus"], env)
        ck.eq(rc, 2, f"bad --state exits 2 ({err!r})")
        rc, _, err = cli(["txn", "describe"], env)
        ck.eq(rc, 2, f"missing id exits 2 ({err!r})")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = f"127.0.0.1:{s.getsockname()[1]}"
        t = time.monotonic()
        rc, _, err = cli(["txn", "list", "--bootstrap", closed, "--timeout-ms", "3000"])
        ck(rc == 1 and "cannot reach" in err, f"no broker: exit 1, 'cannot reach': {rc} {err!r}")
        ck(time.monotonic() - t < 15, "no broker: fails within the timeout")
        log("single node: done")


def cluster(ck):
    if not cluster_harness.zk_available():
        print("SKIP (cluster part): no java or Debian zookeeper jars", flush=True)
        return
    c = cluster_harness.Cluster(3, brookd=find_brookd(), name="cli-txn-cluster",
                                config={"default.replication.factor": 3,
                                        "transaction.state.log.num.partitions": 3,
                                        "offsets.topic.num.partitions": 3})
    try:
        with c:
            cluster_scenario(ck, c)
    finally:
        c.close()


def cluster_scenario(ck, c):
    create_topic(c.bootstrap, TOPIC, 3, rf=3)
    ids = []
    for i in range(40):  # two ids on different __transaction_state partitions
        tid = f"cl-txn-{i}"
        if cluster_harness.txn_partition(tid, 3) not in {cluster_harness.txn_partition(x, 3)
                                                         for x in ids}:
            ids.append(tid)
        if len(ids) == 2:
            break
    producers = [open_txn(c.bootstrap, ids[0], [0, 2]), open_txn(c.bootstrap, ids[1], [1])]
    addr_to_id = {n.bootstrap: n.node_id for n in c.nodes}
    coords = {tid: addr_to_id[cluster_harness.coordinator_address(c.bootstrap, tid, 1)]
              for tid in ids}
    log(f"open transactions {ids}, coordinators {coords}")
    for n in c.nodes:
        rows = by_id(cli_json(ck, ["txn", "list", "--bootstrap", n.bootstrap]))
        ck.eq(sorted(t for t in rows if t in ids), sorted(ids),
              f"txn list through node {n.node_id}: both open transactions")
        for tid in ids:
            ck.eq((rows[tid]["state"], rows[tid]["coordinator"]), ("Ongoing", coords[tid]),
                  f"node {n.node_id} lists {tid} Ongoing at its coordinator")
    d = cli_json(ck, ["txn", "describe", ids[0], "--bootstrap", c.node(3).bootstrap])
    ck.eq((d["coordinator"], parts_of(d)), (coords[ids[0]], [(TOPIC, 0), (TOPIC, 2)]),
          "txn describe through node 3")
    env = {"BROOK_BOOTSTRAP": c.node(2).bootstrap, "BROOK_ADMIN": c.node(1).admin_address()}
    for tid in ids:
        rc, out, err = cli(["txn", "abort", tid], env)
        ck.eq(rc, 0, f"txn abort {tid} through node 2 exits 0 (out {out!r}, err {err!r})")
        wait_state(ck, env, tid, ("PrepareAbort", "CompleteAbort"), f"{tid} after abort")
    for p in producers:
        try:
            p.commit_transaction(15)
            ck(False, "an aborted transaction's producer could still commit")
        except KafkaException:
            ck(True, "producer fenced after abort")
    log("cluster: done")


def main():
    ck = Check("cli_txn")
    single_node(ck)
    cluster(ck)
    log(f"total {time.monotonic() - T0:.1f}s")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
