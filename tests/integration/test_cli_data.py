#!/usr/bin/python3
"""`brook produce`, `brook consume` and `brook group reset-offsets` (src/cli/produce.c,
consume.c, group.c) against one brookd and then a 3-node cluster (topics of replication
factor 3; that part skips itself without ZooKeeper).  The CLI is passed as BROOK_CLI.

The same scenario runs on both:
- produce from stdin with keys (--key-separator) and two headers, and from a --file into
  --partition 1 with --json and --progress (summary on stderr, JSON on stdout); a
  non-UTF-8 record is added with confluent_kafka.
- consume -e with a --format of every directive and with --json: both equal, record for
  record (topic, partition, offset, timestamp, key, value, headers), what a plain
  confluent_kafka consumer reads; the binary value comes base64 with value_encoding.
- transactional produce (--txn-batch 4) is read whole under read_committed; a transaction
  confluent_kafka aborts between two brook ones is hidden under read_committed (the default
  is read_uncommitted, where it shows).
- consume --from-time (ISO-8601 and ms) starts at the first record at or after the time.
- consume --group --count 5 commits 5 records; -e then commits the rest (group describe
  --json shows committed = log end, lag 0).
- reset-offsets: --dry-run changes nothing; --execute to-earliest, shift-by on T:P,P
  (clamped at the low watermark too), to-datetime set the committed offsets shown by
  describe; refused (exit 1, "is active") while a confluent_kafka consumer is in the group.
- errors: unknown topic (exit 1 naming it, for produce, consume and reset-offsets), bad
  flag (exit 2), a closed port (exit 1 within seconds).
- cluster only: with a follower of a min.insync.replicas=3 topic stopped, produce (plain and
  transactional) exits 1 naming NOT_ENOUGH_REPLICAS."""

import base64
import datetime
import json
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, find_brookd, find_cli, run_checked, run_main  # noqa: E402
from brook_harness import wait_until  # noqa: E402,F401

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka import TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

BROKER_CONF = {
    "group.initial.rebalance.delay.ms": 0,
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.num.partitions": 3,
}
T = 60  # bound on one CLI run, seconds
BINARY = b"\xff\xfe\x00bin"


def log(msg):
    print(f"[cli-data] {msg}", flush=True)


class Cli:
    def __init__(self, bootstrap):
        self.path = find_cli()
        self.bootstrap = bootstrap

    def run(self, *args, input=None, bootstrap=True):
        argv = [self.path, *args] + (["--bootstrap", self.bootstrap] if bootstrap else [])
        r = run_checked(argv, T, input=input)
        return r.returncode, r.stdout, r.stderr.decode(errors="replace")

    def ok(self, *args, input=None):
        rc, out, err = self.run(*args, input=input)
        if rc != 0:
            raise AssertionError(f"brook {' '.join(args)}: exit {rc}: {err}")
        return out, err

    def committed(self, group):
        out, _ = self.ok("group", "describe", group, "--json")
        return {(o["topic"], o["partition"]): o["committed"] for o in json.loads(out)["offsets"]}


def create_topic(bs, name, parts, rf, config=None):
    a = AdminClient({"bootstrap.servers": bs})
    for f in a.create_topics([NewTopic(name, parts, rf, config=config or {})],
                             request_timeout=30).values():
        f.result(30)

    def led():
        md = a.list_topics(name, timeout=5).topics.get(name)
        return md and not md.error and len(md.partitions) == parts and all(
            p.leader >= 0 for p in md.partitions.values())
    wait_until(led, 30, 0.1, f"topic {name} led")


def truth(bs, topic, parts):
    """Every record of topic as a plain consumer reads it (read_uncommitted), in partition
    then offset order: (topic, partition, offset, timestamp, key, value, headers)."""
    c = Consumer({"bootstrap.servers": bs, "group.id": f"truth-{time.time_ns()}",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(parts)])
    got, eof = [], set()
    deadline = time.monotonic() + 30
    while len(eof) < parts and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            continue
        got.append((m.topic(), m.partition(), m.offset(), m.timestamp()[1], m.key(), m.value(),
                    [(k, v) for k, v in (m.headers() or [])]))
    c.close()
    if len(eof) < parts:
        raise AssertionError(f"truth read of {topic}: no end of every partition in 30 s")
    return sorted(got, key=lambda r: (r[1], r[2]))


def from_json_bytes(o, field):
    v = o[field]
    if v is None:
        return None
    if o.get(f"{field}_encoding") == "base64":
        return base64.b64decode(v)
    return v.encode()


def iso(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


# --------------------------------------------------------------------- the scenario
def produce_and_read_back(ck, cli, bs, topic):
    lines = [f"k{i}:v{i}" for i in range(30)]
    out, err = cli.ok("produce", "--topic", topic, "--key-separator", ":", "--header", "h1=a",
                      "--header", "h2=b=c", input=("\n".join(lines) + "\n").encode())
    ck("produced 30 records to " + topic in err, f"produce summary on stderr: {err!r}")
    ck.eq(out, b"", "produce without --json prints nothing on stdout")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"file-{i}\n" for i in range(5)))
        path = f.name
    out, err = cli.ok("produce", "--topic", topic, "--file", path, "--partition", "1", "--json",
                      "--progress", "--compression", "lz4")
    os.unlink(path)
    summary = json.loads(out)
    ck.eq((summary["topic"], summary["records"]), (topic, 5), "produce --json summary")
    ck("acked 5" in err, f"--progress line on stderr: {err!r}")
    p = Producer({"bootstrap.servers": bs})
    p.produce(topic, BINARY, key=b"bk", partition=2, headers=[("hb", b"\x01\x02")])
    ck.eq(p.flush(30), 0, "binary record delivered")

    want = truth(bs, topic, 3)
    ck.eq(len(want), 36, "records in the topic")
    ck.eq(sorted(r[5] for r in want if r[1] == 1 and r[5].startswith(b"file-")),
          [f"file-{i}".encode() for i in range(5)], "the file's lines all in partition 1")
    keyed = {r[4]: r for r in want if r[4] and r[4].startswith(b"k")}
    ck.eq(sorted(keyed), sorted(f"k{i}".encode() for i in range(30)), "every key arrived")
    ck(all(r[5] == b"v" + r[4][1:] and r[6] == [("h1", b"a"), ("h2", b"b=c")]
           for r in keyed.values()), "key, value and headers split as asked")

    out, _ = cli.ok("consume", "--topic", topic, "-e", "--format", "%T|%p|%o|%t|%k|%v|%h\\n")
    got = []
    for line in out.split(b"\n")[:-1]:
        t, part, off, ts, k, v, h = line.split(b"|", 6)
        got.append((t.decode(), int(part), int(off), int(ts), k, v, h))
    got.sort(key=lambda r: (r[1], r[2]))

    def hdr_text(hs):
        return b",".join(k.encode() + b"=" + (v or b"") for k, v in hs)
    ck.eq(got, [(r[0], r[1], r[2], r[3], r[4] or b"", r[5], hdr_text(r[6])) for r in want],
          "consume --format: every record, directive for directive")

    out, _ = cli.ok("consume", "--topic", topic, "--until-end", "--json")
    objs = [json.loads(x) for x in out.decode().splitlines()]
    got = sorted(((o["topic"], o["partition"], o["offset"], o["timestamp"],
                   from_json_bytes(o, "key"), from_json_bytes(o, "value"),
                   [(h["key"], from_json_bytes(h, "value")) for h in o["headers"]]) for o in objs),
                 key=lambda r: (r[1], r[2]))
    ck.eq(got, want, "consume --json: every record, field for field")
    binary = [o for o in objs if o["key"] == "bk"]
    ck.eq((binary[0]["value_encoding"], binary[0]["headers"][0].get("value_encoding")),
          ("base64", None), "non-UTF-8 value as base64, flagged; a UTF-8 header value as text")

    out, _ = cli.ok("consume", "--topic", topic, "--partition", "1", "--offset", "2",
                    "--count", "3", "--format", "%o\\t%v%%\\n")
    ck.eq(out.decode().count("\n"), 3, "--partition --offset N --count 3: three lines")
    lines = out.decode().splitlines()
    ck(lines[0].startswith("2\t") and all(x.endswith("%") for x in lines),
       f"starts at offset 2, %% prints %: {out!r}")


def transactions(ck, cli, bs, topic):
    lines = "".join(f"c{i}\n" for i in range(10)).encode()
    out, _ = cli.ok("produce", "--topic", topic, "--transactional-id", f"{topic}-tx",
                    "--txn-batch", "4", "--json", input=lines)
    ck.eq(json.loads(out)["transactions"], 3, "10 lines in batches of 4: three transactions")
    p = Producer({"bootstrap.servers": bs, "transactional.id": f"{topic}-aborter"})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, f"aborted{i}".encode(), partition=0)
    p.flush(30)
    p.abort_transaction(30)
    cli.ok("produce", "--topic", topic, "--transactional-id", f"{topic}-tx", input=b"d0\nd1\n")
    committed = [f"c{i}" for i in range(10)] + ["d0", "d1"]
    out, _ = cli.ok("consume", "--topic", topic, "-e", "--isolation", "read_committed")
    ck.eq(out.decode().split(), committed, "read_committed: committed records only, in order")
    out, _ = cli.ok("consume", "--topic", topic, "-e")
    ck.eq(out.decode().split(), committed[:10] + [f"aborted{i}" for i in range(3)] + ["d0", "d1"],
          "read_uncommitted (the default) shows the aborted records too")


def from_time(ck, cli, bs, topic):
    base = (int(time.time()) - 3600) * 1000
    p = Producer({"bootstrap.servers": bs})
    for i in range(5):
        p.produce(topic, f"t{i}".encode(), partition=0, timestamp=base + i * 1000)
    ck.eq(p.flush(30), 0, "timestamped records delivered")
    out, _ = cli.ok("consume", "--topic", topic, "-e", "--from-time", iso(base + 2500))
    ck.eq(out.decode().split(), ["t3", "t4"], "--from-time ISO-8601: from the first at/after")
    out, _ = cli.ok("consume", "--topic", topic, "-e", "--from-time", str(base + 1000),
                    "--format", "%t %v\\n")
    ck.eq(out.decode().splitlines()[0], f"{base + 1000} t1", "--from-time in ms, %t")
    out, _ = cli.ok("consume", "--topic", topic, "-e", "--from-time", iso(base + 9000))
    ck.eq(out, b"", "--from-time after the last record: nothing")
    return base


def outsider_commit(bs, g, topic):
    """Commits offset 1 of topic-0 for group g from a consumer outside it (no subscribe:
    generation -1, no member id, as AlterConsumerGroupOffsets does).  True when refused with
    UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS."""
    refusals = (KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION,
                KafkaError.REBALANCE_IN_PROGRESS)
    c = Consumer({"bootstrap.servers": bs, "group.id": g, "enable.auto.commit": False})
    try:
        res = c.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
        errs = [tp.error.code() for tp in res or [] if tp.error]
        return bool(errs) and all(e in refusals for e in errs)
    except KafkaException as e:
        return e.args[0].code() in refusals
    finally:
        c.close()


def groups(ck, cli, bs, topic, time_topic, base):
    g = f"{topic}-g"
    out, _ = cli.ok("consume", "--topic", topic, "--group", g, "--count", "5")
    ck.eq(len(out.decode().splitlines()), 5, "--group --count 5 prints 5")
    c = cli.committed(g)
    ck.eq(sum(v for v in c.values() if v is not None), 5, f"5 records committed: {c}")
    cli.ok("consume", "--topic", topic, "--group", g, "-e")
    ends = {(t, pa): r[2] + 1 for r in truth(bs, topic, 3) for t, pa in [(r[0], r[1])]}
    ck.eq(cli.committed(g), ends, "after -e the group committed every partition's end")

    out, err = cli.ok("group", "reset-offsets", g, "--topic", topic, "--to-earliest", "--dry-run",
                      "--json")
    plan = json.loads(out)
    ck.eq((plan["executed"], sorted(o["new"] for o in plan["offsets"])), (False, [0, 0, 0]),
          "dry run plans offset 0 everywhere")
    ck("nothing changed" in err, f"dry run says so: {err!r}")
    ck.eq(cli.committed(g), ends, "dry run: committed offsets unchanged")
    out, _ = cli.ok("group", "reset-offsets", g, "--topic", topic, "--to-earliest")
    ck("NEW" in out.decode() and "CURRENT" in out.decode(), f"plan table: {out!r}")
    ck.eq(cli.committed(g), ends, "without --execute: unchanged")

    cli.ok("group", "reset-offsets", g, "--all-topics", "--to-earliest", "--execute")
    ck.eq(cli.committed(g), {k: 0 for k in ends}, "--execute --to-earliest: all 0")
    cli.ok("group", "reset-offsets", g, "--topic", f"{topic}:0,1", "--shift-by", "2", "--execute")
    want = {k: (min(2, ends[k]) if k[1] in (0, 1) else 0) for k in ends}
    ck.eq(cli.committed(g), want, "--shift-by 2 on partitions 0,1 only (clamped to the end)")
    cli.ok("group", "reset-offsets", g, "--topic", f"{topic}:0", "--shift-by", "-10", "--execute")
    want[(topic, 0)] = 0
    ck.eq(cli.committed(g), want, "--shift-by -10 clamped to the low watermark")
    cli.ok("group", "reset-offsets", g, "--topic", time_topic, "--to-datetime", iso(base + 2500),
           "--execute")
    ck.eq(cli.committed(g)[(time_topic, 0)], 3, "--to-datetime: the first record at/after")
    cli.ok("group", "reset-offsets", g, "--topic", time_topic, "--to-offset", "99", "--execute")
    ck.eq(cli.committed(g)[(time_topic, 0)], 5, "--to-offset beyond the end: clamped to it")

    cons = Consumer({"bootstrap.servers": bs, "group.id": g, "enable.auto.commit": False,
                     "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    try:
        cons.subscribe([topic])

        def joined():
            cons.poll(0.2)
            return cons.assignment()
        wait_until(joined, 30, 0, "the confluent consumer's assignment")
        before = cli.committed(g)
        rc, _, err = cli.run("group", "reset-offsets", g, "--topic", topic, "--to-latest",
                             "--execute")
        ck.eq(rc, 1, f"reset while a consumer is in the group: {err}")
        ck(f"group {g} is active" in err and "1 members" in err and "stop its consumers" in err,
           f"names the active group: {err!r}")
        ck.eq(cli.committed(g), before, "refused reset changed nothing")
        ck.eq(outsider_commit(bs, g, topic), True, "the broker refuses a non-member's commit "
              "for the active group too (what reset-offsets relies on in a race)")
        ck.eq(cli.committed(g), before, "the outsider's commit changed nothing")
    finally:
        cons.close()


def errors(ck, cli):
    for args in (["produce", "--topic", "no-such-topic"],
                 ["consume", "--topic", "no-such-topic", "-e"],
                 ["group", "reset-offsets", "gx", "--topic", "no-such-topic", "--to-earliest"]):
        rc, _, err = cli.run(*args, input=b"x\n")
        ck.eq(rc, 1, f"{args[0]} of an unknown topic: exit 1 ({err})")
        ck("no-such-topic" in err and "UNKNOWN_TOPIC_OR_PART" in err,
           f"{args[0]}: names the topic and the error: {err!r}")
        ck.eq(err.count("\n"), 1, f"{args[0]}: one line: {err!r}")
    for args in (["produce", "--topic", "x", "--bogus"], ["consume", "--topic", "x", "--format", "%q"],
                 ["consume"], ["group", "reset-offsets", "g", "--topic", "x"],
                 ["group", "reset-offsets", "g", "--topic", "x", "--to-latest", "--dry-run",
                  "--execute"],
                 ["produce", "--topic", "x", "--acks", "1", "--idempotent"]):
        rc, _, err = cli.run(*args)
        ck.eq(rc, 2, f"usage error {args}: exit 2 ({err})")
    for cmd in ("produce", "consume"):
        rc, out, _ = cli.run(cmd, "--help", bootstrap=False)
        ck(rc == 0 and b"--topic" in out, f"brook {cmd} --help")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    for args in (["produce", "--topic", "x"], ["consume", "--topic", "x"],
                 ["group", "reset-offsets", "g", "--all-topics", "--to-earliest"]):
        t0 = time.monotonic()
        r = run_checked([cli.path, *args, "--bootstrap", f"127.0.0.1:{port}"], T, input=b"x\n")
        took = time.monotonic() - t0
        ck.eq(r.returncode, 1, f"{args[0]} against a closed port: exit 1")
        ck(took < 5 and b"cannot reach" in r.stderr, f"{args[0]}: fast and clear ({took:.1f} s)")


def scenario(ck, bs, rf, where):
    cli = Cli(bs)
    topic, tx_topic, time_topic = f"d-{where}", f"dtx-{where}", f"dtime-{where}"
    create_topic(bs, topic, 3, rf)
    create_topic(bs, tx_topic, 1, rf)
    create_topic(bs, time_topic, 1, rf)
    t0 = time.monotonic()
    produce_and_read_back(ck, cli, bs, topic)
    log(f"{where}: produce/consume round trips ok ({time.monotonic() - t0:.1f} s)")
    transactions(ck, cli, bs, tx_topic)
    log(f"{where}: transactions ok ({time.monotonic() - t0:.1f} s)")
    base = from_time(ck, cli, bs, time_topic)
    groups(ck, cli, bs, topic, time_topic, base)
    log(f"{where}: from-time, groups and reset-offsets ok ({time.monotonic() - t0:.1f} s)")
    errors(ck, cli)
    log(f"{where}: errors ok ({time.monotonic() - t0:.1f} s)")


def not_enough_replicas(ck, c):
    """A topic with min.insync.replicas 3 loses a follower: acks=all produce fails naming
    NOT_ENOUGH_REPLICAS (librdkafka retries it until --timeout-ms; brook keeps its name)."""
    bs, topic = c.bootstrap_all, "dner"
    create_topic(bs, topic, 1, 3, {"min.insync.replicas": "3"})
    cli = Cli(bs)
    cli.ok("produce", "--topic", topic, input=b"before\n")
    a = AdminClient({"bootstrap.servers": bs})

    def part0():
        return a.list_topics(topic, timeout=5).topics[topic].partitions[0]
    md = part0()
    victim = next(n for n in md.replicas if n != md.leader)
    c.node(victim).stop()
    wait_until(lambda: len(part0().isrs) < 3, 30, 0.2, "the ISR to lose the stopped follower")
    for extra in ([], ["--transactional-id", "dner-tx"]):
        rc, _, err = cli.run("produce", "--topic", topic, "--timeout-ms", "3000", *extra,
                             input=b"x\n")
        ck.eq(rc, 1, f"produce {extra} with too few in-sync replicas: exit 1 ({err})")
        ck(f"delivery to {topic}-0 failed: NOT_ENOUGH_REPLICAS" in err,
           f"names the partition and NOT_ENOUGH_REPLICAS: {err!r}")


def cluster_part(ck):
    import cluster_harness
    if not cluster_harness.zk_available():
        print("SKIP (cluster part): no java or Debian zookeeper jars", flush=True)
        return
    c = cluster_harness.Cluster(3, brookd=find_brookd(), name="cli-data-cluster",
                                config=dict(BROKER_CONF, **{"default.replication.factor": 3}))
    try:
        with c:
            log(f"cluster ready ({c.tmp})")
            scenario(ck, c.bootstrap_all, 3, "cluster")
            not_enough_replicas(ck, c)
            log("cluster: NOT_ENOUGH_REPLICAS named")
    finally:
        c.close()


def main():
    ck = Check("cli-data")
    with Broker(config=BROKER_CONF, name="cli-data") as b:
        scenario(ck, b.bootstrap, 1, "single")
    cluster_part(ck)
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
