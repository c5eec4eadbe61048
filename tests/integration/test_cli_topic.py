#!/usr/bin/python3
"""`brook topic create|list|describe|delete|alter` and `brook config describe|set`
(src/cli/topic.c, configs.c, topic_wire.c) against brookd, with the broker's
IncrementalAlterConfigs and DescribeLogDirs behind them (the CLI is passed as BROOK_CLI).

One node: create prints a table (and --json that parses), a second create fails with
TOPIC_ALREADY_EXISTS unless --if-not-exists, RF 2 fails with INVALID_REPLICATION_FACTOR;
list hides internal topics unless --all; after 10 records per partition (confluent_kafka)
describe shows leader/replicas/ISR 1, low 0 / high 10, a size > 0 on disk and the topic's
non-default configs; alter adds partitions and sets / deletes configs; config describe lists
source, read-only and sensitive (defaults only with --all); config set changes only the keys
named (confluent_kafka's describe_configs agrees) and --delete puts one back to its default;
unknown keys are INVALID_CONFIG, a static broker key is INVALID_REQUEST, a dynamic one
(log.retention.ms) is set on broker 1 and described as DYNAMIC_BROKER_CONFIG; delete removes
topics (--if-exists tolerates missing ones).  Raw requests check the broker side the CLI
does not reach: APPEND/SUBTRACT on cleanup.policy (and on a scalar key: INVALID_CONFIG), an
unknown operation (INVALID_REQUEST), validate_only, DescribeLogDirs v0 with null topics.
Errors: an unknown topic (exit 1, "unknown
topic 'x'"), a bad flag (exit 2), a closed port (exit 1 quickly, "cannot reach a broker").

3-node cluster (skipped without ZooKeeper): an RF 3 topic shows replicas 1,2,3 and a full
ISR, offsets and sizes after acks=all records, sizes from each partition's leader; RF 4 is
INVALID_REPLICATION_FACTOR; a config set through node 3 is seen by describe_configs on every
node; alter --partitions and delete show in metadata."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import (Broker, Check, find_cli, run_checked, run_main,  # noqa: E402
                           wait_until)
from cluster_harness import Cluster, zk_available  # noqa: E402

from raw_kafka import Conn, incremental_alter_configs, s16  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402

CLI = None
T = 60  # bound on one CLI run, seconds


def log(msg):
    print(f"[cli_topic] {msg}", flush=True)


def brook(bootstrap, *args, timeout_ms=15000):
    argv = [CLI, *args]
    if bootstrap:
        argv += ["--bootstrap", bootstrap, "--timeout-ms", str(timeout_ms)]
    r = run_checked(argv, timeout=T)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def ok(ck, bootstrap, *args):
    rc, out, err = brook(bootstrap, *args)
    ck.eq(rc, 0, f"brook {' '.join(args)} exit code (stderr: {err.strip()})")
    return out


def fails(ck, bootstrap, rc_want, needle, *args, one_line=True):
    rc, out, err = brook(bootstrap, *args)
    ck.eq(rc, rc_want, f"brook {' '.join(args)} exit code (stderr: {err.strip()})")
    ck(needle in err, f"brook {' '.join(args)}: {needle!r} not in stderr {err!r}")
    if one_line:  # a usage error about the subcommand is followed by the usage text
        ck.eq(len(err.strip().splitlines()), 1, f"brook {' '.join(args)}: one line on stderr")
    return err


def js(ck, bootstrap, *args):
    return json.loads(ok(ck, bootstrap, *args, "--json"))


def table_rows(out):
    lines = [ln.split() for ln in out.strip().splitlines()]
    return lines[0], lines[1:]


def produce(bootstrap, topic, per_partition, nparts):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for part in range(nparts):
        for i in range(per_partition):
            p.produce(topic, value=f"value-{part}-{i}".encode() * 4, partition=part)
    left = p.flush(30)
    if left:
        raise AssertionError(f"{left} records not delivered")


def describe_configs(bootstrap, topic):
    a = AdminClient({"bootstrap.servers": bootstrap})
    res = ConfigResource("topic", topic)
    return a.describe_configs([res], request_timeout=15)[res].result(timeout=20)


def describe_one(ck, bootstrap, topic):
    d = js(ck, bootstrap, "topic", "describe", topic)
    ck.eq(len(d), 1, "describe --json: one topic")
    return d[0]


# --------------------------------------------------------------------- one node
def create_and_list(ck, b):
    header, rows = table_rows(ok(ck, b, "topic", "create", "t", "--partitions", "3",
                                 "--config", "retention.ms=600000"))
    ck.eq(header, ["TOPIC", "PARTITIONS", "RF"], "create: table header")
    ck.eq(rows, [["t", "3", "1"]], "create: the new topic's row")
    j = js(ck, b, "topic", "create", "t2", "--partitions", "2", "--replication-factor", "1")
    ck.eq(j, {"topic": "t2", "partitions": 2, "replication_factor": 1, "created": True},
          "create --json")
    fails(ck, b, 1, "TOPIC_ALREADY_EXISTS", "topic", "create", "t", "--partitions", "3")
    j = js(ck, b, "topic", "create", "t", "--partitions", "3", "--if-not-exists")
    ck.eq(j["created"], False, "create --if-not-exists on an existing topic")
    fails(ck, b, 1, "INVALID_REPLICATION_FACTOR", "topic", "create", "t3",
          "--replication-factor", "2")
    fails(ck, b, 1, "INVALID_CONFIG", "topic", "create", "t3", "--config", "nope=1")
    _, rows = table_rows(ok(ck, b, "topic", "list"))
    ck.eq([r[0] for r in rows], ["t", "t2"], "list: user topics, sorted, internal hidden")
    names = [t["topic"] for t in js(ck, b, "topic", "list", "--all")]
    ck("__consumer_offsets" in names and "t" in names, f"list --all: internal too ({names})")


def describe_after_produce(ck, b):
    produce(b, "t", 10, 3)
    d = describe_one(ck, b, "t")
    ck.eq((d["topic"], d["partitions"], d["replication_factor"]), ("t", 3, 1), "describe: topic")
    ck.eq(d["configs"], {"retention.ms": "600000"}, "describe: non-default configs")
    for p in d["partition_details"]:
        ck.eq((p["leader"], p["replicas"], p["isr"]), (1, [1], [1]), "describe: replicas")
        ck.eq((p["low"], p["high"]), (0, 10), f"describe: offsets of partition {p['partition']}")
        ck(p["size_bytes"] > 0, f"describe: size of partition {p['partition']} > 0")
    ck.eq(d["size_bytes"], sum(p["size_bytes"] for p in d["partition_details"]),
          "describe: topic size is the sum")
    out = ok(ck, b, "topic", "describe", "t", "t2")
    ck("configs: retention.ms=600000" in out, f"describe text: configs line\n{out}")
    ck("PARTITION  LEADER  REPLICAS  ISR  LOW  HIGH  SIZE" in out, f"describe text: header\n{out}")
    ck("topic t2  partitions 2" in out, "describe text: the second topic too")


def alter(ck, b):
    out = ok(ck, b, "topic", "alter", "t", "--partitions", "5", "--config",
             "segment.bytes=1048576", "--delete-config", "retention.ms")
    ck("partitions 3 -> 5" in out, f"alter: says what changed\n{out}")
    d = describe_one(ck, b, "t")
    ck.eq(d["partitions"], 5, "alter: 5 partitions")
    ck.eq(d["configs"], {"segment.bytes": "1048576"}, "alter: config set, the other deleted")
    fails(ck, b, 1, "INVALID_PARTITIONS", "topic", "alter", "t", "--partitions", "2")
    fails(ck, b, 1, "INVALID_CONFIG", "topic", "alter", "t", "--config", "bogus.key=1")
    fails(ck, b, 1, "unknown topic 'nope'", "topic", "alter", "nope", "--partitions", "9")
    fails(ck, b, 2, "needs --partitions", "topic", "alter", "t")


def configs(ck, b):
    j = js(ck, b, "config", "describe", "topic", "t")
    ck.eq([(c["name"], c["value"], c["source"], c["read_only"], c["sensitive"])
           for c in j["configs"]],
          [("segment.bytes", "1048576", "DYNAMIC_TOPIC_CONFIG", False, False)],
          "config describe: only the non-default one")
    j = js(ck, b, "config", "describe", "topic", "t", "--all")
    byname = {c["name"]: c for c in j["configs"]}
    ck(byname.get("cleanup.policy", {}).get("default") is True,
       "config describe --all: defaults too")
    header, rows = table_rows(ok(ck, b, "config", "describe", "topic", "t"))
    ck.eq(header, ["NAME", "VALUE", "SOURCE", "READ-ONLY", "SENSITIVE"], "config table header")
    ok(ck, b, "config", "set", "topic", "t", "retention.ms=1234", "max.message.bytes=2000")
    cfg = describe_configs(b, "t")
    ck.eq((cfg["retention.ms"].value, cfg["max.message.bytes"].value,
           cfg["segment.bytes"].value), ("1234", "2000", "1048576"),
          "config set: confluent_kafka sees the new values, the others kept")
    ok(ck, b, "config", "set", "topic", "t", "--delete", "retention.ms")
    cfg = describe_configs(b, "t")
    ck(cfg["retention.ms"].is_default, "config set --delete: back to the default")
    ck.eq(cfg["max.message.bytes"].value, "2000", "config set --delete: the others kept")
    fails(ck, b, 1, "INVALID_CONFIG", "config", "set", "topic", "t", "no.such.key=1")
    fails(ck, b, 1, "INVALID_CONFIG", "config", "set", "topic", "t", "segment.bytes=x")
    fails(ck, b, 1, "unknown topic 'nope'", "config", "set", "topic", "nope", "retention.ms=1")
    fails(ck, b, 1, "unknown topic 'nope'", "config", "describe", "topic", "nope")
    j = js(ck, b, "config", "describe", "broker", "1")
    ck(any(c["name"] == "log.dirs" and c["read_only"] for c in j["configs"]),
       "config describe broker 1: log.dirs, read-only")
    fails(ck, b, 1, "INVALID_REQUEST", "config", "set", "broker", "1", "log.dirs=/x")
    ok(ck, b, "config", "set", "broker", "1", "log.retention.ms=7200000")
    j = js(ck, b, "config", "describe", "broker", "1")
    got = [(c["name"], c["value"], c["source"], c["read_only"]) for c in j["configs"]
           if c["name"] == "log.retention.ms"]
    ck.eq(got, [("log.retention.ms", "7200000", "DYNAMIC_BROKER_CONFIG", False)],
          "config set broker 1: a dynamic key, described with its source")
    ok(ck, b, "config", "set", "broker", "1", "--delete", "log.retention.ms")
    j = js(ck, b, "config", "describe", "broker", "1", "--all")
    got = [(c["value"], c["source"]) for c in j["configs"] if c["name"] == "log.retention.ms"]
    ck.eq(got, [("-2", "STATIC_BROKER_CONFIG")], "config set --delete: back to the static value")
    fails(ck, b, 1, "unknown broker 9", "config", "describe", "broker", "9")
    fails(ck, b, 2, "whole number", "config", "describe", "broker", "x")
    fails(ck, b, 2, "needs KEY=VALUE", "config", "set", "topic", "t")


def errors_and_delete(ck, b):
    fails(ck, b, 1, "unknown topic 'nope'", "topic", "describe", "t", "nope")
    fails(ck, b, 2, "unknown flag", "topic", "list", "--bogus")
    fails(ck, None, 2, "unknown subcommand", "topic", "frob", one_line=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    t0 = time.monotonic()
    fails(ck, closed, 1, f"cannot reach a broker at {closed}", "topic", "list")
    ck(time.monotonic() - t0 < 5, "a closed port fails quickly")
    ok(ck, b, "topic", "delete", "t2")
    _, rows = table_rows(ok(ck, b, "topic", "list"))
    ck.eq([r[0] for r in rows], ["t"], "delete: gone from list")
    fails(ck, b, 1, "unknown topic 't2'", "topic", "delete", "t2")
    out = ok(ck, b, "topic", "delete", "t2", "--if-exists")
    ck("does not exist" in out, "delete --if-exists: says so")
    usage = ok(ck, None, "topic", "--help")
    ck("brook topic create NAME" in usage, "topic --help")
    usage = ok(ck, None, "help", "all")
    ck("brook topic alter NAME" in usage and "brook config set" in usage, "help all")


def incalter(conn, name, ops, validate_only=False):
    return incremental_alter_configs(conn, 2, name, ops, validate_only)


def raw_apis(ck, b):
    """The broker side directly: APPEND/SUBTRACT on the list key, validate_only, and
    DescribeLogDirs v0 (classic encoding) with null topics."""
    with Conn(b) as c:
        ck.eq(incalter(c, "t", [("cleanup.policy", 2, "delete")])[0], 0,
              "APPEND an element already there")
        ck.eq(incalter(c, "t", [("cleanup.policy", 3, "delete")])[0], 40,
              "SUBTRACT the only policy: INVALID_CONFIG")
        ck.eq(incalter(c, "t", [("retention.ms", 2, "5")])[0], 40,
              "APPEND on a scalar key: INVALID_CONFIG")
        ck.eq(incalter(c, "t", [("retention.ms", 7, "5")])[0], 42, "op 7: INVALID_REQUEST")
        ck.eq(incalter(c, "nope", [("retention.ms", 0, "5")])[0], 3, "unknown topic")
        ck.eq(incalter(c, "t", [("retention.ms", 0, "5")], validate_only=True)[0], 0,
              "validate_only")
        ck("retention.ms" not in describe_one(ck, b, "t")["configs"],
           "validate_only changed nothing")
        r, _ = c.request(35, 0, b"\xff\xff\xff\xff", "DescribeLogDirs v0")
        ck(s16(b"t") in r and b"__consumer_offsets" in r, "DescribeLogDirs v0, all topics")


def single_node(ck):
    with Broker() as broker:
        b = broker.bootstrap
        t0 = time.monotonic()
        create_and_list(ck, b)
        describe_after_produce(ck, b)
        alter(ck, b)
        configs(ck, b)
        raw_apis(ck, b)
        errors_and_delete(ck, b)
        log(f"single node done in {time.monotonic() - t0:.1f}s")


# --------------------------------------------------------------------- cluster
def cluster_scenario(ck, c):
    b = c.bootstrap
    j = js(ck, b, "topic", "create", "ct", "--partitions", "3", "--replication-factor", "3")
    ck.eq((j["partitions"], j["replication_factor"]), (3, 3), "cluster create --json")
    fails(ck, b, 1, "INVALID_REPLICATION_FACTOR", "topic", "create", "c4",
          "--replication-factor", "4")

    def full_isr():
        d = describe_one(ck, b, "ct")
        return d if all(sorted(p["isr"]) == [1, 2, 3] for p in d["partition_details"]) else None
    wait_until(full_isr, 30, 0.5, "a full ISR on every partition")
    produce(b, "ct", 7, 3)
    d = describe_one(ck, b, "ct")
    for p in d["partition_details"]:
        ck.eq(sorted(p["replicas"]), [1, 2, 3], "cluster describe: replicas")
        ck(p["leader"] in (1, 2, 3), "cluster describe: a leader")
        ck.eq((p["low"], p["high"]), (0, 7), "cluster describe: offsets from the leader")
        ck(p["size_bytes"] > 0, "cluster describe: size from the leader's DescribeLogDirs")
    ck.eq(d["replication_factor"], 3, "cluster describe: RF 3")
    _, rows = table_rows(ok(ck, b, "topic", "list"))
    ck.eq(rows, [["ct", "3", "3"]], "cluster list")

    ok(ck, c.node(3).bootstrap, "config", "set", "topic", "ct", "retention.ms=4321")
    for n in (1, 2, 3):
        wait_until(lambda: describe_configs(c.node(n).bootstrap, "ct")["retention.ms"].value
                   == "4321", 20, 0.2, f"node {n} sees retention.ms=4321")
        ck(True, f"node {n}: the config set through node 3")
    ok(ck, b, "topic", "alter", "ct", "--partitions", "4")
    d = describe_one(ck, b, "ct")
    ck.eq(d["partitions"], 4, "cluster alter: 4 partitions")
    ck.eq(d["configs"], {"retention.ms": "4321"}, "cluster alter: configs kept")
    ok(ck, b, "topic", "delete", "ct")
    _, rows = table_rows(ok(ck, c.node(2).bootstrap, "topic", "list"))
    ck.eq(rows, [], "cluster delete: gone")


def cluster(ck):
    if not zk_available():
        print("SKIP (cluster part): no java or Debian zookeeper jars", flush=True)
        return
    c = Cluster(3, name="cli-topic-cluster",
                config={"transaction.state.log.num.partitions": 3,
                        "offsets.topic.num.partitions": 3})
    try:
        t0 = time.monotonic()
        with c:
            log(f"cluster ready in {time.monotonic() - t0:.1f}s ({c.tmp})")
            cluster_scenario(ck, c)
        log(f"cluster part done in {time.monotonic() - t0:.1f}s")
    finally:
        c.close()


def main():
    global CLI
    CLI = find_cli()
    ck = Check("cli_topic")
    single_node(ck)
    cluster(ck)
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
