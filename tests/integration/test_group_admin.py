#!/usr/bin/python3
"""`brook group list|describe|delete` and the group metrics on /metrics against brookd
(python3-confluent-kafka 1.7 consumers; the CLI is passed as BROOK_CLI).

A 3-partition topic gets 10, 20 and 30 records.  Two consumers join one group (range
assignor) and commit offsets 4, 20 and 12, each for the partitions it owns.  Then:
`brook group list` (table and --json) shows the group Stable with 2 members; `brook group
describe` shows both members (client ids, hosts) whose assignments cover the 3 partitions
exactly once and match what the consumers were given, the committed offsets, the log end
offsets (10/20/30) and the lags (6/0/18); /metrics has brook_groups{state}, the group's
members, generation, rebalances, committed offsets and lags with the same values.  Five
more records in partition 0 raise its lag to 11 in both.  Deleting the group while the
consumers are in it fails (exit 1, NON_EMPTY_GROUP, "stop its consumers first").  After the
consumers close the group is Empty with its offsets kept; `brook group delete` succeeds and
the group is gone from list, describe (exit 1, "no such group"), and /metrics; deleting it
again fails.  A group that only commits offsets (assign(), no subscribe) lists as "simple".
Groups librdkafka will not describe (protocol type "connect"; a consumer group with an
assignment that is not a consumer assignment next to one with user data) are described from
the raw DescribeGroups answer, assignments decoded by brook.  Usage errors exit 2; an
unreachable broker exits 1 quickly with "cannot reach"."""

import http.client
import json
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import (Broker, Check, find_cli, run_checked, run_main,  # noqa: E402
                           wait_until)

from cluster_harness import coordinator_address  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "ga-t"
GROUP = "ga-group"
SIMPLE_GROUP = "ga-simple"
RECORDS = {0: 10, 1: 20, 2: 30}
COMMIT = {0: 4, 1: 20, 2: 12}
BROKER_CONF = {
    "group.initial.rebalance.delay.ms": 0,
    "offsets.topic.num.partitions": 4,
    "transaction.state.log.num.partitions": 4,
}


# --------------------------------------------------------------------- helpers
def metrics(admin):
    """GET /metrics -> ({(name, frozenset(labels)): value}, {name: type}).  `admin` may list
    every node's admin listener (a cluster): each group is reported by its coordinator
    only, so the samples of the nodes add up to the cluster's."""
    if isinstance(admin, (list, tuple)):
        total, types = {}, {}
        for a in admin:
            ms, ts = metrics(a)
            types.update(ts)
            for k, v in ms.items():
                total[k] = total.get(k, 0.0) + v
        return total, types
    host, port = admin.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode()
        if r.status != 200:
            raise AssertionError(f"/metrics: HTTP {r.status}")
    finally:
        conn.close()
    samples, types = {}, {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            raise AssertionError(f"/metrics: unparsable line {line!r}")
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def sample(ms, name, **labels):
    return ms.get((name, frozenset((k, str(v)) for k, v in labels.items())))


def group_samples(ms, name, group):
    """{partition: value} of a per-partition group metric for TOPIC."""
    out = {}
    for (n, labels), v in ms.items():
        d = dict(labels)
        if n == name and d.get("group") == group and d.get("topic") == TOPIC:
            out[int(d["partition"])] = v
    return out


def settled_lags(admin, group, want, timeout=10.0):
    """The group's lag samples once they include `want` ({partition: lag}), or as they are
    after `timeout` s.  In a cluster the coordinator may hold a follower's copy of a
    partition, whose high watermark arrives with its next fetch; on one node at once."""
    deadline = time.monotonic() + timeout
    while True:
        got = group_samples(metrics(admin)[0], "brook_group_lag", group)
        if all(got.get(k) == v for k, v in want.items()) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


class Cli:
    def __init__(self, path, bootstrap):
        self.path = path
        self.bootstrap = bootstrap

    def run(self, *args, bootstrap=True):
        argv = [self.path, "group", *args]
        if bootstrap:
            argv += ["--bootstrap", self.bootstrap]
        r = run_checked(argv, 60)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def json(self, *args):
        rc, out, err = self.run(*args, "--json")
        if rc != 0:
            raise AssertionError(f"brook group {' '.join(args)} --json: exit {rc}: {err}")
        return json.loads(out)


def produce(bs, counts):
    p = Producer({"bootstrap.servers": bs, "linger.ms": 5, "log.connection.close": False})
    for part, n in counts.items():
        for i in range(n):
            p.produce(TOPIC, f"p{part}-{i}".encode(), partition=part)
    if p.flush(30) != 0:
        raise AssertionError("produce: records still queued after 30 s")


def make_consumer(bs, name, group=GROUP):
    return Consumer({"bootstrap.servers": bs, "group.id": group, "client.id": name,
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "partition.assignment.strategy": "range", "session.timeout.ms": 10000,
                     "heartbeat.interval.ms": 500, "log.connection.close": False})


def poll_all(consumers, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in consumers:
            c.poll(0.05)


def settle(consumers, timeout=60):
    """Polls until both consumers hold non-empty assignments that split the topic, and that
    stays so for a second.  Returns {client index: sorted partitions}."""
    def current():
        a = {i: sorted(tp.partition for tp in c.assignment() if tp.topic == TOPIC)
             for i, c in enumerate(consumers)}
        allp = sorted(p for ps in a.values() for p in ps)
        return a if allp == sorted(RECORDS) and all(a.values()) else None

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poll_all(consumers, 0.2)
        a = current()
        if a:
            poll_all(consumers, 1.0)
            if current() == a:
                return a
    raise TimeoutError(f"assignment did not settle in {timeout}s")


def s16(text):
    b = text.encode()
    return struct.pack(">h", len(b)) + b


def consumer_assignment(parts, user_data=b""):
    """ConsumerProtocolAssignment v1 bytes: version, [topic [partition]], user data."""
    out = struct.pack(">hi", 1, 1) + s16(TOPIC) + struct.pack(">i", len(parts))
    out += b"".join(struct.pack(">i", p) for p in parts)
    return out + struct.pack(">i", len(user_data)) + user_data


class RawMember:
    """A group member that speaks the Kafka protocol itself (JoinGroup, SyncGroup and
    LeaveGroup v0, on its own connection), so that its protocol type and assignment bytes
    can be anything: what a Kafka Connect worker sends, or bytes no consumer could read."""

    def __init__(self, bs, group, protocol_type):
        host, port = bs.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.group, self.protocol_type, self.member_id, self.cid = group, protocol_type, "", 0

    def _send(self, key, body):
        self.cid += 1
        msg = struct.pack(">hhi", key, 0, self.cid) + s16("ga-raw") + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise AssertionError("raw member: connection closed")
            data += chunk
        return data

    def _recv(self):
        n = struct.unpack(">i", self._read(4))[0]
        return self._read(n)[4:]  # without the correlation id

    def join_send(self):
        meta = struct.pack(">hi", 0, 1) + s16(TOPIC) + struct.pack(">i", -1)
        self._send(11, s16(self.group) + struct.pack(">i", 60000) + s16(self.member_id) +
                   s16(self.protocol_type) + struct.pack(">i", 1) + s16("range") +
                   struct.pack(">i", len(meta)) + meta)

    def join_recv(self):
        r = self._recv()
        err, gen = struct.unpack(">hi", r[:6])
        fields, o = [], 6
        for _ in range(3):  # protocol, leader, member id
            n = struct.unpack(">h", r[o:o + 2])[0]
            fields.append(r[o + 2:o + 2 + n].decode())
            o += 2 + n
        self.member_id = fields[2]
        return err, gen, fields[1]

    def sync_send(self, gen, assignments):
        body = s16(self.group) + struct.pack(">i", gen) + s16(self.member_id)
        body += struct.pack(">i", len(assignments))
        for mid, a in assignments.items():
            body += s16(mid) + struct.pack(">i", len(a)) + a
        self._send(14, body)

    def sync_recv(self):
        return struct.unpack(">h", self._recv()[:2])[0]

    def leave(self):
        self._send(13, s16(self.group) + s16(self.member_id))
        err = struct.unpack(">h", self._recv()[:2])[0]
        self.sock.close()
        return err


# --------------------------------------------------------------------- checks
def check_active(ck, cli, admin, consumers, owned):
    names = {i: f"ga-c{i}" for i in owned}
    want_lag = {p: RECORDS[p] - COMMIT[p] for p in RECORDS}

    # list
    rc, out, err = cli.run("list")
    ck.eq(rc, 0, f"brook group list exit code ({err})")
    ck(out.splitlines()[0].split()[:3] == ["GROUP", "STATE", "MEMBERS"], f"list header:\n{out}")
    row = [ln.split() for ln in out.splitlines() if ln.split()[:1] == [GROUP]]
    ck(len(row) == 1, f"list has one row for {GROUP}:\n{out}")
    ck.eq(row[0][1:5], ["Stable", "2", "consumer", "range"], "list row")
    lst = cli.json("list")
    mine = [g for g in lst if g["group"] == GROUP]
    ck.eq(len(mine), 1, f"list --json has {GROUP}: {lst}")
    ck.eq((mine[0]["state"], mine[0]["members"], mine[0]["simple"], mine[0]["assignor"]),
          ("Stable", 2, False, "range"), "list --json entry")

    # describe --json
    d = cli.json("describe", GROUP)
    ck.eq((d["group"], d["state"], d["simple"], d["assignor"]), (GROUP, "Stable", False, "range"),
          "describe --json header")
    ck.eq(len(d["members"]), 2, "2 members")
    ck.eq(sorted(m["client_id"] for m in d["members"]), sorted(names.values()), "client ids")
    assigned = []
    for m in d["members"]:
        ck(m["member_id"] and m["host"], f"member id and host present: {m}")
        ck(all(a["topic"] == TOPIC for a in m["assignment"]), f"assignment topic: {m}")
        parts = sorted(a["partition"] for a in m["assignment"])
        idx = int(m["client_id"][-1])
        ck.eq(parts, owned[idx], f"{m['client_id']}'s assignment as the broker has it")
        assigned += parts
    ck.eq(sorted(assigned), sorted(RECORDS), "assignments cover every partition exactly once")
    offs = {o["partition"]: o for o in d["offsets"] if o["topic"] == TOPIC}
    ck.eq(sorted(offs), sorted(RECORDS), "an offsets row per partition")
    owner = {p: names[i] for i, ps in owned.items() for p in ps}
    for p in RECORDS:
        o = offs[p]
        ck.eq((o["committed"], o["log_end_offset"], o["lag"], o["client_id"]),
              (COMMIT[p], RECORDS[p], want_lag[p], owner[p]), f"describe offsets of partition {p}")

    # describe (table)
    rc, out, err = cli.run("describe", GROUP)
    ck.eq(rc, 0, f"brook group describe exit code ({err})")
    for word in (f"Group:        {GROUP}", "State:        Stable", "Members:      2",
                 "Assignor:     range", "MEMBER ID", "ASSIGNMENT", "COMMITTED", "LAG"):
        ck(word in out, f"describe output has {word!r}:\n{out}")
    for i, ps in owned.items():
        want = ",".join(f"{TOPIC}-{p}" for p in ps)
        ck(re.search(rf"\s{names[i]}\s.*\s{re.escape(want)}$", out, re.M) is not None,
           f"member row of {names[i]} with {want}:\n{out}")
    for p in RECORDS:
        pat = rf"^{TOPIC}\s+{p}\s+{COMMIT[p]}\s+{RECORDS[p]}\s+{want_lag[p]}\s+{owner[p]}$"
        ck(re.search(pat, out, re.M) is not None, f"offsets row of partition {p}:\n{out}")

    # metrics
    ms, types = metrics(admin)
    for name, typ in (("brook_groups", "gauge"), ("brook_group_members", "gauge"),
                      ("brook_group_generation", "gauge"),
                      ("brook_group_rebalances_total", "counter"),
                      ("brook_group_committed_offset", "gauge"), ("brook_group_lag", "gauge")):
        ck.eq(types.get(name), typ, f"# TYPE of {name}")
    for st in ("Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"):
        ck(sample(ms, "brook_groups", state=st) is not None, f"brook_groups{{state={st}}}")
    ck.eq(sample(ms, "brook_groups", state="Stable"), 1, "one Stable group")
    ck.eq(sample(ms, "brook_group_members", group=GROUP), 2, "brook_group_members")
    gen = sample(ms, "brook_group_generation", group=GROUP)
    ck(gen is not None and gen >= 2, f"generation {gen} >= 2 (two joins)")
    reb = sample(ms, "brook_group_rebalances_total")
    ck(reb is not None and reb >= gen, f"rebalances_total {reb} >= generation {gen}")
    ck.eq(group_samples(ms, "brook_group_committed_offset", GROUP), COMMIT, "committed offsets")
    ck.eq(settled_lags(admin, GROUP, want_lag), want_lag, "lags")
    return reb


def check_lag_moves(ck, cli, admin, bs):
    produce(bs, {0: 5})
    want = RECORDS[0] + 5 - COMMIT[0]
    d = cli.json("describe", GROUP)
    o = [o for o in d["offsets"] if o["partition"] == 0][0]
    ck.eq((o["log_end_offset"], o["lag"]), (RECORDS[0] + 5, want), "describe after 5 more records")
    ck.eq(settled_lags(admin, GROUP, {0: want}).get(0), want, "metrics lag after 5 more records")
    RECORDS[0] += 5


def check_delete(ck, cli, admin, consumers, reb_before):
    rc, out, err = cli.run("delete", GROUP)
    ck.eq(rc, 1, "delete of a group with members fails")
    ck("NON_EMPTY_GROUP" in err and "stop its consumers first" in err,
       f"non-empty delete message: {err!r}")
    ck.eq(cli.json("describe", GROUP)["state"], "Stable", "the group survived the refused delete")

    for c in consumers:
        c.close()
    d = wait_until(lambda: (lambda d: d if d["state"] == "Empty" else None)(
        cli.json("describe", GROUP)), 30, what="group Empty after the consumers left")
    ck.eq(d["members"], [], "no members once the consumers closed")
    offs = {o["partition"]: o for o in d["offsets"]}
    ck.eq({p: o["committed"] for p, o in offs.items()}, COMMIT, "offsets kept by the Empty group")
    ck(all(o["client_id"] is None for o in offs.values()), "no owner for the offsets")
    rc, out, err = cli.run("describe", GROUP)
    ck(rc == 0 and "State:        Empty" in out and "Members:      0" in out,
       f"describe of the Empty group:\n{out}{err}")
    ms, _ = metrics(admin)
    ck.eq(sample(ms, "brook_groups", state="Empty"), 1, "one Empty group")
    ck.eq(sample(ms, "brook_groups", state="Stable"), 0, "no Stable group")
    ck.eq(sample(ms, "brook_group_members", group=GROUP), 0, "members after close")
    ck(sample(ms, "brook_group_rebalances_total") > reb_before, "leaving rebalanced the group")

    rc, out, err = cli.run("delete", GROUP)
    ck.eq(rc, 0, f"delete of the empty group ({err})")
    ck(f"deleted group {GROUP}" in out, f"delete output: {out!r}")
    ck(GROUP not in [g["group"] for g in cli.json("list")], "deleted group not listed")
    rc, out, err = cli.run("list")
    ck(rc == 0 and not re.search(rf"^{GROUP}\s", out, re.M), f"list after delete:\n{out}")
    rc, out, err = cli.run("describe", GROUP)
    ck.eq(rc, 1, "describe of the deleted group fails")
    ck(f"no such group '{GROUP}'" in err, f"describe deleted: {err!r}")
    rc, out, err = cli.run("delete", GROUP)
    ck.eq(rc, 1, "second delete fails")
    ck("no such group" in err, f"second delete message: {err!r}")
    ms, _ = metrics(admin)
    ck(sample(ms, "brook_group_members", group=GROUP) is None, "no member metric after delete")
    ck.eq(group_samples(ms, "brook_group_committed_offset", GROUP), {},
          "no committed offsets after delete")
    ck.eq(group_samples(ms, "brook_group_lag", GROUP), {}, "no lag after delete")


def node_logs(b):
    """The text of every node's log (one node, or each node of a cluster)."""
    paths = [n.log_path for n in b.nodes] if hasattr(b, "nodes") else [b.log_path]
    return "".join(open(p, errors="replace").read() for p in paths)


def check_simple_group(ck, cli, admin, b):
    bs = b.bootstrap
    c = make_consumer(bs, "ga-simple-c", group=SIMPLE_GROUP)
    try:
        c.assign([TopicPartition(TOPIC, 2, 0)])
        # Back to 3 and forward again: the coordinator logs the rewind once (the chaos
        # checker tells a late commit from a stale read by that line), not the advances.
        for off in (7, 3, 7):
            c.commit(offsets=[TopicPartition(TOPIC, 2, off)], asynchronous=False)
    finally:
        c.close()
    rewind = f"group {SIMPLE_GROUP}: committed offset of {TOPIC}-2 goes back"
    ck.eq(re.findall(rf"{re.escape(rewind)} from (\d+) to (\d+)", node_logs(b)), [("7", "3")],
          "the rewind logged once, with both offsets")
    lst = cli.json("list")
    g = [x for x in lst if x["group"] == SIMPLE_GROUP]
    ck(len(g) == 1 and g[0]["simple"] and g[0]["members"] == 0, f"simple group listed: {lst}")
    rc, out, err = cli.run("list")
    ck(re.search(rf"^{SIMPLE_GROUP}\s+Empty\s+0\s+simple\s", out, re.M) is not None,
       f"simple group row:\n{out}")
    d = cli.json("describe", SIMPLE_GROUP)
    ck.eq([(o["partition"], o["committed"], o["lag"]) for o in d["offsets"]],
          [(2, 7, RECORDS[2] - 7)], "simple group's offsets and lag")
    ck.eq(settled_lags(admin, SIMPLE_GROUP, {2: RECORDS[2] - 7}), {2: RECORDS[2] - 7},
          "simple group's lag metric")
    rc, out, err = cli.run("delete", SIMPLE_GROUP)
    ck.eq(rc, 0, f"delete of the simple group ({err})")


def check_raw_groups(ck, cli, admin, bs):
    """Groups librdkafka's DescribeConsumerGroups gives up on: a "connect" group, and a
    consumer group in which one member's assignment is not a consumer assignment (that fails
    librdkafka's whole answer).  brook falls back to the raw DescribeGroups answer and decodes
    the consumer assignments itself."""
    # The members speak the protocol themselves: to the group's coordinator (in a cluster
    # not necessarily the bootstrap node).
    conn = RawMember(coordinator_address(bs, "ga-connect"), "ga-connect", "connect")
    conn.join_send()
    err, gen, _ = conn.join_recv()
    ck.eq(err, 0, "connect member joined")
    conn.sync_send(gen, {conn.member_id: b"\x00\x01" + b"connect-assignment-bytes"})
    ck.eq(conn.sync_recv(), 0, "connect member synced")
    d = cli.json("describe", "ga-connect")
    ck.eq((d["state"], d["protocol_type"], d["simple"]), ("Stable", "connect", False),
          "describe of a connect group")
    ck.eq([(m["client_id"], m["assignment"], m["assignment_bytes"]) for m in d["members"]],
          [("ga-raw", None, 26)], "connect member: raw assignment size")
    rc, out, err = cli.run("describe", "ga-connect")
    ck(rc == 0 and "Type:         connect" in out and "(26 bytes of protocol type connect)" in out,
       f"describe (table) of a connect group:\n{out}{err}")

    coord = coordinator_address(bs, "ga-raw")
    a, b = RawMember(coord, "ga-raw", "consumer"), RawMember(coord, "ga-raw", "consumer")
    a.join_send()
    err, gen, leader = a.join_recv()
    ck.eq((err, leader), (0, a.member_id), "raw member a leads generation 1")
    a.sync_send(gen, {a.member_id: consumer_assignment([0, 1, 2])})
    ck.eq(a.sync_recv(), 0, "raw member a synced")
    b.join_send()  # starts a rebalance; answered once a rejoins
    time.sleep(0.3)
    a.join_send()
    err_a, gen, leader = a.join_recv()
    err_b, gen_b, _ = b.join_recv()
    ck.eq((err_a, err_b, gen_b, leader), (0, 0, gen, a.member_id), "both joined generation 2")
    a.sync_send(gen, {a.member_id: consumer_assignment([0, 2], b"user-data"),
                      b.member_id: b"xx"})
    b.sync_send(gen, {})
    ck.eq((a.sync_recv(), b.sync_recv()), (0, 0), "both synced")
    d = cli.json("describe", "ga-raw")
    ck.eq((d["state"], d["protocol_type"], d["assignor"]), ("Stable", "consumer", "range"),
          "describe of a group with an undecodable assignment")
    by_id = {m["member_id"]: m for m in d["members"]}
    ck.eq(sorted(by_id), sorted([a.member_id, b.member_id]), "both raw members described")
    ck.eq(by_id[a.member_id]["assignment"], [{"topic": TOPIC, "partition": 0},
                                             {"topic": TOPIC, "partition": 2}],
          "assignment with user data decoded by brook")
    ck.eq((by_id[b.member_id]["assignment"], by_id[b.member_id]["assignment_bytes"]), (None, 2),
          "undecodable assignment reported by size")
    ck.eq([(o["partition"], o["log_end_offset"], o["client_id"]) for o in d["offsets"]],
          [(0, RECORDS[0], "ga-raw"), (2, RECORDS[2], "ga-raw")], "offsets rows of ga-raw")
    rc, out, err = cli.run("describe", "ga-raw")
    ck(rc == 0 and f"{TOPIC}-0,{TOPIC}-2" in out and "(2 bytes, not a consumer assignment)" in out,
       f"describe (table) of ga-raw:\n{out}{err}")
    # One undecodable group fails librdkafka's answer for every group of the listing.
    lst = {g["group"]: g for g in cli.json("list")}
    ck.eq((lst["ga-raw"]["state"], lst["ga-raw"]["members"]), ("Stable", 2), "ga-raw listed")
    ms, _ = metrics(admin)
    ck.eq(sample(ms, "brook_group_members", group="ga-raw"), 2, "ga-raw members metric")
    ck.eq(sample(ms, "brook_group_members", group="ga-connect"), 1, "ga-connect members metric")
    ck.eq((a.leave(), b.leave(), conn.leave()), (0, 0, 0), "raw members left")
    for g in ("ga-raw", "ga-connect"):
        rc, out, err = cli.run("delete", g)
        ck.eq(rc, 0, f"delete {g} ({err})")


def check_usage(ck, cli):
    for args, what in ((["describe"], "describe without a group"),
                       (["delete"], "delete without a group"),
                       (["describe", "a", "b"], "two groups"),
                       (["list", "extra"], "list with an argument"),
                       (["bogus"], "unknown subcommand"),
                       (["list", "--timeout-ms", "0"], "timeout out of range"),
                       (["list", "--nope"], "unknown flag")):
        rc, out, err = cli.run(*args)
        ck.eq(rc, 2, f"usage error: {what} ({err.strip()})")
    r = run_checked([cli.path, "group"], 30)
    ck.eq(r.returncode, 2, "brook group without a subcommand")
    r = run_checked([cli.path, "group", "--help"], 30)
    ck(r.returncode == 0 and b"brook group describe GROUP" in r.stdout, "brook group --help")
    t0 = time.monotonic()
    rc, out, err = cli.run("list", "--bootstrap", "127.0.0.1:1", bootstrap=False)
    ck.eq(rc, 1, "list against a closed port")
    ck("cannot reach" in err and "127.0.0.1:1" in err, f"unreachable message: {err!r}")
    ck(time.monotonic() - t0 < 8, "a refused connection fails before the timeout")


def main():
    ck = Check("group_admin")
    with Broker(config=BROKER_CONF) as b:
        bs = b.bootstrap
        # A cluster (BROOK_TEST_CLUSTER=3, ctest integration_cluster_group_admin): the CLI
        # goes through node 1, the metrics are summed over every node.
        admin = ([n.admin_address() for n in b.nodes] if hasattr(b, "nodes")
                 else b.admin_address())
        cli = Cli(find_cli(), bs)
        a = AdminClient({"bootstrap.servers": bs, "log.connection.close": False})
        # In a cluster every node holds a replica, so each group's coordinator knows every
        # partition's high watermark (its lag metric leaves out partitions it holds none of).
        rf = len(b.nodes) if hasattr(b, "nodes") else 1
        a.create_topics([NewTopic(TOPIC, len(RECORDS), rf)])[TOPIC].result(timeout=30)
        produce(bs, RECORDS)
        check_usage(ck, cli)
        rc, out, err = cli.run("list")
        ck(rc == 0 and out.strip() == "no groups", f"list with no group: {out!r} {err!r}")
        ms, _ = metrics(admin)
        ck.eq(sample(ms, "brook_group_rebalances_total"), 0, "no rebalance yet")

        consumers = [make_consumer(bs, f"ga-c{i}") for i in range(2)]
        try:
            consumers[0].subscribe([TOPIC])
            poll_all(consumers[:1], 1.0)
            consumers[1].subscribe([TOPIC])
            owned = settle(consumers)
            print(f"  assignment: {owned}", flush=True)
            for i, ps in owned.items():
                consumers[i].commit(offsets=[TopicPartition(TOPIC, p, COMMIT[p]) for p in ps],
                                    asynchronous=False)
            reb = check_active(ck, cli, admin, consumers, owned)
            check_lag_moves(ck, cli, admin, bs)
            poll_all(consumers, 0.5)
            check_delete(ck, cli, admin, consumers, reb)
            consumers = []
        finally:
            for c in consumers:
                c.close()
        check_simple_group(ck, cli, admin, b)
        check_raw_groups(ck, cli, admin, bs)
        ck.eq(b.stop(), 0, "brookd exit code on SIGTERM")
    ck.done()


if __name__ == "__main__":
    run_main(main)
