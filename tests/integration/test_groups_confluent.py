#!/usr/bin/python3
"""Consumer groups with librdkafka (python3-confluent-kafka 1.7 / librdkafka 2.0.2).

Membership: group members are separate processes (this file run with --member), so that one
can be SIGKILLed.  Each reports its rebalance callbacks (assign / revoke) with a
CLOCK_MONOTONIC time stamp.  Scenario over a 6-partition topic, session timeout 6 s:
  m1 joins; m2 joins; m3 joins (3 members) -> m3 leaves (close(): LeaveGroup) ->
  m4 joins -> m2 is SIGKILLed (session expiry) -> m5 joins -> brookd restarts (SIGTERM;
  membership is persisted: no rebalance, the same assignment) -> all close.
After each step every remaining member must have been through a rebalance (an assign
after the step began) and the members' latest assignments must cover every partition
exactly once, balanced (range assignor); the broker's view (DescribeGroups through
AdminClient.list_groups, assignments decoded from the ConsumerProtocol bytes) must agree:
state Stable, the same members (client ids), the same assignments.  Over the whole
history (callbacks ordered by their time stamps) no partition was ever owned by two live
members at once.  A leave is handled well before the session
timeout; a kill within session timeout + slack.
Admin: ListGroups shows the group (protocol type "consumer"); DescribeGroups of an unknown
group says Dead; DeleteGroups (raw Kafka request, confluent-kafka 1.7 has no
delete_groups) of the non-empty group fails with NON_EMPTY_GROUP, of the empty group
succeeds, then again GROUP_ID_NOT_FOUND, and the group is no longer listed.
Offsets: a consumer commits chosen offsets per partition (one partition never committed,
one committed at its end); brookd is stopped with SIGTERM and restarted: committed()
returns the same offsets and a new consumer in the group resumes exactly at them (first
record = committed offset, then contiguous to the end: no re-delivery, no gap); the same
after a SIGKILL restart.
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, _pdeathsig, run_main, wait_until  # noqa: E402
from cluster_harness import coordinator_address  # noqa: E402

SESSION_MS = 6000
NPARTS = 6
BROKER_CONF = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "offsets.topic.num.partitions": 4,
    "transaction.state.log.num.partitions": 4,
}


# ----------------------------------------------------------------------------- member
def member_main(bootstrap, group, topic, name):
    from confluent_kafka import Consumer

    stop = []
    signal.signal(signal.SIGTERM, lambda s, f: stop.append(1))

    def emit(ev, **kw):
        sys.stdout.write(json.dumps(dict(ev=ev, t=time.monotonic(), name=name, **kw)) + "\n")
        sys.stdout.flush()

    def on_assign(c, parts):
        emit("assign", parts=sorted(p.partition for p in parts if p.topic == topic))

    def on_revoke(c, parts):
        emit("revoke", parts=sorted(p.partition for p in parts if p.topic == topic))

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                  "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
                  "max.poll.interval.ms": 20000, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "partition.assignment.strategy": "range",
                  "log.connection.close": False})
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    emit("started")
    n = 0
    while not stop:
        m = c.poll(0.1)
        if m is not None and m.error() is None:
            n += 1
    c.close()  # revokes (callback) and leaves the group
    emit("closed", consumed=n)
    sys.stdout.flush()
    os._exit(0)


# ----------------------------------------------------------------------------- orchestration
class Members:
    """Member processes and the history of their rebalance events.  `cmd(name)` builds the
    argv of a member; every member prints JSON lines {ev, t, name, parts}."""

    def __init__(self, ck, cmd, partitions, revoke_all=False):
        self.ck = ck
        self.cmd = cmd
        self.partitions = set(partitions)
        self.revoke_all = revoke_all  # a revoke means "everything" (kafkajs REBALANCING)
        self.procs = {}
        self.live = []
        self.events = []
        self.lock = threading.Lock()
        self.threads = []
        # (t0, t1): windows (a brookd restart) in which double ownership is reported, not
        # failed: Brook keeps membership in memory, so after a restart the first member to
        # rejoin may be given partitions others have not yet noticed losing.
        self.tolerate = []
        self.tolerated = []

    def _reader(self, name, proc):
        for line in proc.stdout:
            line = line.decode("utf-8", "replace").strip()
            if not line.startswith("{"):
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)

    def start(self, name):
        p = subprocess.Popen(self.cmd(name), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             preexec_fn=_pdeathsig)
        self.procs[name] = p
        self.live.append(name)
        th = threading.Thread(target=self._reader, args=(name, p), daemon=True)
        th.start()
        self.threads.append(th)
        wait_until(lambda: self._has(name, "started"), 30, what=f"{name} started")

    def _has(self, name, ev):
        with self.lock:
            return any(e["name"] == name and e["ev"] == ev for e in self.events)

    def leave(self, name):
        p = self.procs[name]
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
        self.live.remove(name)
        self.ck.eq(rc, 0, f"{name} exit code after close()")
        wait_until(lambda: self._has(name, "closed"), 10, what=f"{name} closed")

    def kill(self, name):
        p = self.procs[name]
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        self.live.remove(name)
        with self.lock:
            self.events.append({"ev": "dead", "t": time.monotonic(), "name": name})

    def stop_all(self):
        for name in list(self.live):
            try:
                self.leave(name)
            except Exception:
                self.kill(name)

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)

    def snapshot(self, since):
        """{member: its latest assignment} if every live member's last rebalance event is an
        assign later than `since`, else None."""
        out = {}
        with self.lock:
            evs = list(self.events)
        for name in self.live:
            mine = [e for e in evs if e["name"] == name and e["ev"] in ("assign", "revoke")]
            if not mine or mine[-1]["ev"] != "assign" or mine[-1]["t"] <= since:
                return None
            out[name] = set(mine[-1]["parts"])
        return out

    def wait_settled(self, since, timeout, what):
        """Waits until every live member has been through a rebalance after `since` and the
        latest assignments partition the topic; checks the result.  Returns (assignment,
        seconds since `since`)."""
        def ok():
            snap = self.snapshot(since)
            if snap is None:
                return None
            allp = [p for s in snap.values() for p in s]
            if sorted(allp) != sorted(self.partitions):
                return None
            return snap
        snap = wait_until(ok, timeout, interval=0.05, what=f"rebalance settled ({what})")
        took = max(self._last_assign(n) for n in snap) - since
        # Let a late event show up, then re-check that nothing moved.
        time.sleep(1.0)
        again = self.snapshot(since)
        self.ck.eq(again, snap, f"{what}: assignment still the same 1 s later")
        allp = sorted(p for s in snap.values() for p in s)
        self.ck.eq(allp, sorted(self.partitions), f"{what}: every partition owned exactly once")
        sizes = sorted(len(s) for s in snap.values())
        self.ck(sizes[-1] - sizes[0] <= 1, f"{what}: balanced assignment {snap}")
        self.ck.eq(sorted(snap), sorted(self.live), f"{what}: members")
        self.check_history(what)
        print(f"  {what}: settled in {took:.2f}s: "
              f"{ {k: sorted(v) for k, v in sorted(snap.items())} }", flush=True)
        return snap, took

    def _last_assign(self, name):
        with self.lock:
            return max(e["t"] for e in self.events if e["name"] == name and e["ev"] == "assign")

    def check_history(self, what):
        """No partition owned by two live members at the same time (events in time order)."""
        with self.lock:
            evs = sorted(self.events, key=lambda e: e["t"])
        owned = {}
        for e in evs:
            n = e["name"]
            if e["ev"] == "assign":
                for p in e["parts"]:
                    other = [m for m, s in owned.items() if m != n and p in s]
                    msg = f"partition {p} assigned to {n} at {e['t']:.3f} while still owned by {other}"
                    if other and any(a <= e["t"] <= b for a, b in self.tolerate):
                        if msg not in self.tolerated:
                            self.tolerated.append(msg)
                        continue
                    self.ck(not other, f"{what}: {msg}")
                owned[n] = set(e["parts"])
            elif e["ev"] == "revoke":
                if self.revoke_all:
                    owned[n] = set()
                else:
                    owned[n] = owned.get(n, set()) - set(e["parts"])
            elif e["ev"] in ("dead", "closed"):
                owned.pop(n, None)


def decode_assignment(b):
    """ConsumerProtocol assignment: {topic: [partitions]}."""
    if not b:
        return {}
    off = 2  # version
    (nt,) = struct.unpack_from(">i", b, off)
    off += 4
    out = {}
    for _ in range(nt):
        (ln,) = struct.unpack_from(">h", b, off)
        off += 2
        t = b[off:off + ln].decode()
        off += ln
        (npart,) = struct.unpack_from(">i", b, off)
        off += 4
        out[t] = sorted(struct.unpack_from(f">{npart}i", b, off))
        off += 4 * npart
    return out


def describe(admin, group):
    gs = admin.list_groups(group=group, timeout=15)
    return gs[0] if gs else None


def check_described(ck, admin, group, topic, snap, names, what):
    """The broker's view (DescribeGroups) equals what the members saw."""
    def stable():
        g = describe(admin, group)
        if g is None or g.state != "Stable" or len(g.members) != len(names):
            return None
        return g
    g = wait_until(stable, 20, interval=0.2, what=f"{what}: DescribeGroups Stable")
    ck.eq(g.id, group, f"{what}: described group id")
    ck.eq(g.protocol_type, "consumer", f"{what}: protocol type")
    ck.eq(g.protocol, "range", f"{what}: protocol (assignor)")
    ck.eq(sorted(m.client_id for m in g.members), sorted(names), f"{what}: member client ids")
    ck.eq(len({m.id for m in g.members}), len(names), f"{what}: distinct member ids")
    got = {m.client_id: decode_assignment(m.assignment).get(topic, []) for m in g.members}
    ck.eq(got, {k: sorted(v) for k, v in snap.items()}, f"{what}: described assignments")
    for m in g.members:
        ck(m.client_host, f"{what}: member {m.client_id} has a client host")
        ck(m.metadata and topic.encode() in m.metadata,
           f"{what}: member {m.client_id} subscription metadata names the topic")
    return g


# ----------------------------------------------------------------------------- raw requests
def kafka_request(bootstrap, api_key, version, body, timeout=15.0):
    """One request (header v1), returns the response body (header v0 stripped)."""
    host, port = bootstrap.rsplit(":", 1)
    cid = b"brook-groups-test"
    hdr = struct.pack(">hhih", api_key, version, 4242, len(cid)) + cid
    msg = hdr + body
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)

        def recvn(n):
            buf = b""
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise ConnectionError("connection closed")
                buf += chunk
            return buf
        (ln,) = struct.unpack(">i", recvn(4))
        resp = recvn(ln)
    (corr,) = struct.unpack_from(">i", resp, 0)
    if corr != 4242:
        raise AssertionError(f"correlation id {corr}")
    return resp[4:]


def delete_groups(bootstrap, groups):
    """DeleteGroups v1 to the coordinator of groups[0] (all groups must share it):
    {group: error_code}."""
    body = struct.pack(">i", len(groups))
    for g in groups:
        body += struct.pack(">h", len(g)) + g.encode()
    # To the group's coordinator: in a cluster (BROOK_TEST_CLUSTER) it may not be bootstrap.
    r = kafka_request(coordinator_address(bootstrap, groups[0]), 42, 1, body)
    off = 4  # throttle
    (n,) = struct.unpack_from(">i", r, off)
    off += 4
    out = {}
    for _ in range(n):
        (ln,) = struct.unpack_from(">h", r, off)
        off += 2
        g = r[off:off + ln].decode()
        off += ln
        (err,) = struct.unpack_from(">h", r, off)
        off += 2
        out[g] = err
    return out


NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69


# ----------------------------------------------------------------------------- phases
def produce_numbered(bootstrap, topic, nparts, per_part):
    from ck_helpers import flush, producer
    p = producer(bootstrap, {"linger.ms": 20})
    for part in range(nparts):
        for i in range(per_part):
            p.produce(topic, value=f"{part}:{i}".encode(), key=f"k{i}".encode(), partition=part)
            if i % 1000 == 0:
                p.poll(0)
    flush(p)


def membership_phase(ck, b, admin, topic, group):
    members = Members(ck, lambda name: [sys.executable, os.path.abspath(__file__), "--member",
                                        b.bootstrap, group, topic, name], range(NPARTS))
    try:
        t = time.monotonic()
        members.start("m1")
        members.wait_settled(t, 30, "m1 joins")
        t = time.monotonic()
        members.start("m2")
        members.wait_settled(t, 30, "m2 joins")
        t = time.monotonic()
        members.start("m3")
        snap, _ = members.wait_settled(t, 30, "m3 joins")
        check_described(ck, admin, group, topic, snap, ["m1", "m2", "m3"], "3 members")

        # ListGroups shows it (protocol type consumer); an unknown group is Dead.
        listed = {g.id: g for g in admin.list_groups(timeout=15)}
        ck(group in listed, f"ListGroups shows {group}: {sorted(listed)}")
        ck.eq(listed[group].protocol_type, "consumer", "ListGroups protocol type")
        unknown = describe(admin, "no-such-group")
        ck(unknown is None or unknown.state in ("Dead", ""), "DescribeGroups of an unknown group: Dead")
        # A non-empty group cannot be deleted.
        ck.eq(delete_groups(b.bootstrap, [group]), {group: NON_EMPTY_GROUP},
              "DeleteGroups of a group with members")

        t = time.monotonic()
        members.leave("m3")
        snap, took = members.wait_settled(t, 30, "m3 leaves (LeaveGroup)")
        ck(took < SESSION_MS / 1000.0 - 1.0,
           f"rebalance after LeaveGroup took {took:.2f}s, not below the session timeout")
        check_described(ck, admin, group, topic, snap, ["m1", "m2"], "after leave")

        t = time.monotonic()
        members.start("m4")
        members.wait_settled(t, 30, "m4 joins")

        t = time.monotonic()
        members.kill("m2")
        snap, took = members.wait_settled(t, SESSION_MS / 1000.0 + 20, "m2 SIGKILLed (session expiry)")
        ck(took < SESSION_MS / 1000.0 + 10, f"rebalance after a kill took {took:.2f}s")
        check_described(ck, admin, group, topic, snap, ["m1", "m4"], "after kill")

        t = time.monotonic()
        members.start("m5")
        snap, _ = members.wait_settled(t, 30, "m5 joins")
        check_described(ck, admin, group, topic, snap, ["m1", "m4", "m5"], "m1+m4+m5")

        # brookd restart (SIGTERM): membership is persisted (issue #10, point 6), so the
        # members carry on at their generation: no rebalance, the same assignment, and the
        # group described as before.
        before = snap
        t = time.monotonic()
        ck.eq(b.restart(), 0, "brookd exit code on SIGTERM")
        time.sleep(SESSION_MS / 1000.0 / 2 + 4)  # several heartbeats after the restart
        ck.eq(members.snapshot(0), before, "after brookd restart: no rebalance, same assignment")
        ck(all(members._last_assign(n) < t for n in before),
           "after brookd restart: no member was assigned again")
        check_described(ck, admin, group, topic, before, ["m1", "m4", "m5"],
                        "after brookd restart")

        members.stop_all()
        members.check_history("whole run")
        g = wait_until(lambda: (lambda d: d if d and d.state == "Empty" else None)(describe(admin, group)),
                       20, interval=0.2, what="group Empty after every member left")
        ck.eq(len(g.members), 0, "Empty group has no members")
        listed = {x.id for x in admin.list_groups(timeout=15)}
        ck(group in listed, "an Empty group is still listed")
        ck.eq(delete_groups(b.bootstrap, [group]), {group: 0}, "DeleteGroups of the empty group")
        ck.eq(delete_groups(b.bootstrap, [group]), {group: GROUP_ID_NOT_FOUND},
              "DeleteGroups again: GROUP_ID_NOT_FOUND")
        listed = {x.id for x in admin.list_groups(timeout=15)}
        ck(group not in listed, f"deleted group no longer listed: {sorted(listed)}")
    finally:
        members.close()


def consume_all(ck, c, topic, expect_parts, what, timeout=60):
    """Consume (subscribed) until EOF on every partition; returns {partition: [offsets]}."""
    from confluent_kafka import KafkaError, KafkaException
    got = {p: [] for p in expect_parts}
    eof = set()
    deadline = time.monotonic() + timeout
    while eof != set(expect_parts):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: EOF on {sorted(eof)} only; got "
                               f"{ {p: len(v) for p, v in got.items()} }")
        for m in c.consume(num_messages=1000, timeout=0.5):
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise KafkaException(m.error())
            ck.eq(m.value(), f"{m.partition()}:{m.offset()}".encode(), f"{what}: record value")
            got[m.partition()].append(m.offset())
            eof.discard(m.partition())
    return got


def offsets_phase(ck, b, topic, group):
    from confluent_kafka import Consumer, TopicPartition
    per_part = 400
    produce_numbered(b.bootstrap, topic, NPARTS, per_part)
    # What gets committed per partition: partition 0 never; 5 at its end.
    commit = {1: 1, 2: 137, 3: 200, 4: 399, 5: per_part}
    conf = {"bootstrap.servers": b.bootstrap, "group.id": group, "client.id": "resume",
            "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": True, "log.connection.close": False}
    c = Consumer(conf)
    c.subscribe([topic])
    first = consume_all(ck, c, topic, range(NPARTS), "first consumer")
    for p in range(NPARTS):
        ck.eq(first[p], list(range(per_part)), f"first consumer reads partition {p} from 0")
    res = c.commit(offsets=[TopicPartition(topic, p, o) for p, o in commit.items()],
                   asynchronous=False)
    ck(all(x.error is None for x in res), f"commit results: {res}")
    c.close()

    def check_committed(what):
        cc = Consumer(dict(conf, **{"client.id": "checker"}))
        got = cc.committed([TopicPartition(topic, p) for p in range(NPARTS)], timeout=30)
        cc.close()
        ck.eq({x.partition: x.offset for x in got if x.offset >= 0}, commit,
              f"{what}: committed offsets (OffsetFetch)")
        ck(all(x.offset < 0 for x in got if x.partition == 0), f"{what}: partition 0 uncommitted")

    def resume(what):
        c2 = Consumer(dict(conf, **{"client.id": "resume2"}))
        c2.subscribe([topic])
        got = consume_all(ck, c2, topic, range(NPARTS), what)
        c2.close()
        for p in range(NPARTS):
            start = commit.get(p, 0)
            ck.eq(got[p], list(range(start, per_part)),
                  f"{what}: partition {p} resumes at the committed offset {start}, no gap")

    check_committed("before restart")
    ck.eq(b.restart(), 0, "brookd exit code on SIGTERM")
    check_committed("after SIGTERM restart")
    resume("after SIGTERM restart")
    # Reading does not commit (auto commit off): still the same; now a crash.
    b.crash_restart()
    check_committed("after SIGKILL restart")
    resume("after SIGKILL restart")


def main():
    from confluent_kafka.admin import AdminClient, NewTopic
    ck = Check("groups_confluent")
    with Broker(name="grpck", config=BROKER_CONF) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "socket.timeout.ms": 10000})
        for t in ("grp-members", "grp-offsets"):
            fs = admin.create_topics([NewTopic(t, NPARTS, 1)], request_timeout=15)
            fs[t].result(timeout=30)
        t0 = time.monotonic()
        membership_phase(ck, b, admin, "grp-members", "g-members")
        print(f"membership phase: {time.monotonic() - t0:.1f}s", flush=True)
        t0 = time.monotonic()
        offsets_phase(ck, b, "grp-offsets", "g-offsets")
        print(f"offsets phase: {time.monotonic() - t0:.1f}s", flush=True)
    ck.done()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--member":
        member_main(*sys.argv[2:6])
    run_main(main)
