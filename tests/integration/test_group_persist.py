#!/usr/bin/python3
"""Classic group membership survives a coordinator restart (issue #10, point 6), on the raw
protocol (JoinGroup/SyncGroup/Heartbeat/DescribeGroups v0, raw_kafka.py).

 1. Two members join a classic group and the leader's SyncGroup hands out assignments: the
    group is Stable, generation 1.
 2. brookd is killed (SIGKILL) right after the SyncGroup answers and restarted: both members'
    heartbeats at generation 1 are accepted (before, every member got UNKNOWN_MEMBER_ID),
    DescribeGroups shows Stable with both members, their client ids and exact assignment
    bytes, and a SyncGroup at generation 1 gives each member its assignment back.
 3. A clean restart keeps them too. Then only member A heartbeats: after the session timeout
    B is removed (its session started again at the restart) and A's heartbeat reports
    REBALANCE_IN_PROGRESS; A rejoins alone at generation 2.
 4. A group that went Empty (its members left) comes back Empty, with its generation."""

import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, run_main  # noqa: E402
from raw_kafka import Conn, Reader, s16  # noqa: E402

NONE = 0
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
GROUP = "persist-group"
SESSION_MS = 6000
T0 = time.monotonic()


def log(msg):
    print(f"[group_persist {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def b32(x):
    return struct.pack(">i", len(x)) + x


def join(conn, member, meta, group=GROUP):
    """JoinGroup v0 -> (error, generation, leader, member id, [member ids])."""
    body = (s16(group) + struct.pack(">i", SESSION_MS) + s16(member) + s16("consumer")
            + struct.pack(">i", 1) + s16("range") + b32(meta))
    r, _ = conn.request(11, 0, body, "JoinGroup v0")
    rd = Reader(r)
    err, gen = rd.take(">h"), rd.take(">i")
    rd.string()
    leader, mid = rd.string(), rd.string()
    members = []
    for _ in range(rd.take(">i")):
        members.append(rd.string())
        rd.bytes_()
    return err, gen, leader, mid, members


def sync(conn, gen, member, assignments, group=GROUP):
    body = s16(group) + struct.pack(">i", gen) + s16(member) + struct.pack(">i", len(assignments))
    for mid, blob in assignments:
        body += s16(mid) + b32(blob)
    r, _ = conn.request(14, 0, body, "SyncGroup v0")
    rd = Reader(r)
    return rd.take(">h"), rd.bytes_()


def heartbeat(conn, gen, member, group=GROUP):
    r, _ = conn.request(12, 0, s16(group) + struct.pack(">i", gen) + s16(member), "Heartbeat v0")
    return struct.unpack(">h", r[:2])[0]


def leave(conn, member, group=GROUP):
    r, _ = conn.request(13, 0, s16(group) + s16(member), "LeaveGroup v0")
    return struct.unpack(">h", r[:2])[0]


def describe(conn, group=GROUP):
    r, _ = conn.request(15, 0, struct.pack(">i", 1) + s16(group), "DescribeGroups v0")
    rd = Reader(r)
    rd.take(">i")
    g = {"error": rd.take(">h"), "id": rd.string(), "state": rd.string(),
         "ptype": rd.string(), "protocol": rd.string(), "members": {}}
    for _ in range(rd.take(">i")):
        mid, client, _host = rd.string(), rd.string(), rd.string()
        meta, assignment = rd.bytes_(), rd.bytes_()
        g["members"][mid] = (client, meta, assignment)
    return g


def form_group(ck, addr):
    """Two members in, assignments handed out -> (a, b, assignments)."""
    ca, cb = Conn(addr, client_id=b"client-a"), Conn(addr, client_id=b"client-b")
    # A joins first (the group waits the initial delay, 0 here), then both rejoin together
    err, gen, leader, a, _ = join(ca, "", b"meta-a")
    ck.eq(err, NONE, "A joins")
    import threading
    out = {}
    t = threading.Thread(target=lambda: out.update(b=join(cb, "", b"meta-b")))
    t.start()
    # A rejoins once B's JoinGroup is in (it moved the group to PreparingRebalance): a fixed
    # sleep was sometimes too short on a loaded machine, and A's rejoin then completed the
    # generation without B.
    with Conn(addr) as cd:
        deadline = time.monotonic() + 15
        while describe(cd)["state"] != "PreparingRebalance" and time.monotonic() < deadline:
            time.sleep(0.05)
    ra = join(ca, a, b"meta-a")
    t.join(15)
    ck.eq((ra[0], out["b"][0]), (NONE, NONE), "both in the second generation")
    gen, leader, b = ra[1], ra[2], out["b"][3]
    ck.eq(leader, a, "A leads")
    assignments = [(a, b"assign-a:t0"), (b, b"assign-b:t1")]
    tb = threading.Thread(target=lambda: out.update(sb=sync(cb, gen, b, [])))
    tb.start()
    ck.eq(sync(ca, gen, a, assignments), (NONE, b"assign-a:t0"), "A's SyncGroup")
    tb.join(15)
    ck.eq(out["sb"], (NONE, b"assign-b:t1"), "B's SyncGroup")
    ca.close()
    cb.close()
    return a, b, gen, assignments


def check_kept(ck, addr, a, b, gen, what):
    with Conn(addr) as c:
        ck.eq(heartbeat(c, gen, a), NONE, f"{what}: A's heartbeat accepted")
        ck.eq(heartbeat(c, gen, b), NONE, f"{what}: B's heartbeat accepted")
        g = describe(c)
        ck.eq((g["error"], g["state"], g["protocol"]), (NONE, "Stable", "range"),
              f"{what}: the group is Stable")
        ck.eq(g["members"], {a: ("client-a", b"meta-a", b"assign-a:t0"),
                             b: ("client-b", b"meta-b", b"assign-b:t1")},
              f"{what}: members, metadata and assignments")
        ck.eq(sync(c, gen, b, []), (NONE, b"assign-b:t1"), f"{what}: B's assignment back")


def session_after_restart(ck, addr, a, b, gen):
    """Only A heartbeats: B goes after its session (restarted at the restart)."""
    with Conn(addr) as c:
        deadline = time.monotonic() + SESSION_MS / 1000 * 3
        err = NONE
        while time.monotonic() < deadline:
            err = heartbeat(c, gen, a)
            if err != NONE:
                break
            time.sleep(0.5)
        ck.eq(err, REBALANCE_IN_PROGRESS, "B expired: A is asked to rejoin")
        r = join(c, a, b"meta-a")
        ck.eq((r[0], r[1], r[4]), (NONE, gen + 1, [a]), "A rejoins alone, next generation")
        ck.eq(sync(c, r[1], a, [(a, b"all")]), (NONE, b"all"), "A's new assignment")
        ck.eq(leave(c, a), NONE, "A leaves")


def main():
    ck = Check("group_persist")
    config = {"group.initial.rebalance.delay.ms": 0}
    with Broker(find_brookd(), config=config) as broker:
        a, b, gen, _ = form_group(ck, broker.bootstrap)
        log(f"group formed: generation {gen}, members {a}, {b}")
        broker.kill()
        broker.start()
        check_kept(ck, broker.bootstrap, a, b, gen, "after SIGKILL")
        broker.stop()
        broker.start()
        check_kept(ck, broker.bootstrap, a, b, gen, "after a clean restart")
        log("membership kept across restarts")
        session_after_restart(ck, broker.bootstrap, a, b, gen)
        broker.kill()
        broker.start()
        with Conn(broker.bootstrap) as c:
            g = describe(c)
            ck.eq((g["state"], g["members"]), ("Empty", {}), "an Empty group comes back Empty")
            ck.eq(heartbeat(c, gen + 1, a), UNKNOWN_MEMBER_ID, "its old member is gone")
        log("empty group kept empty")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
