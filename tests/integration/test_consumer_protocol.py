#!/usr/bin/python3
"""KIP-848 consumer groups (issue #10, point 4) on the raw Kafka protocol (raw_kafka.py: the
broker's exact answers): ConsumerGroupHeartbeat v0/v1, ConsumerGroupDescribe v0/v1, and the
member epoch where offsets are committed.

 1. Member A joins (v1, its own member id, epoch 0): group epoch 1, A at epoch 1 with all
    four partitions of the topic. A heartbeat that changes nothing carries no assignment.
 2. Member B joins: B is at epoch 2 with nothing yet (its partitions are still A's); A's
    next heartbeat keeps epoch 1 and shrinks A's assignment to two partitions (revoke
    first); once A reports only those, A moves to epoch 2 and B's next heartbeat gets the
    other two. Never does a partition appear in both members' answers.
 3. OffsetCommit v9: A with its epoch stores; B with an older epoch is STALE_MEMBER_EPOCH,
    with a newer one FENCED_MEMBER_EPOCH; an unknown member is UNKNOWN_MEMBER_ID; v8 from a
    member is UNSUPPORTED_VERSION. TxnOffsetCommit v5 (transactions v2) the same way, but an
    older epoch is ILLEGAL_GENERATION, as Kafka answers it. A heartbeat with a newer epoch
    is FENCED_MEMBER_EPOCH.
 4. ConsumerGroupDescribe shows Stable, the epochs, both members with disjoint assignments
    covering the topic (topic names resolved), assignor "uniform"; ListGroups v5 lists it as
    type consumer; DescribeGroups names it GROUP_ID_NOT_FOUND (not a classic group) and a
    classic JoinGroup is INCONSISTENT_GROUP_PROTOCOL.
 4b. Another group whose members ask for the range assignor (group.remote.assignor):
    ConsumerGroupDescribe says range, and the two members end with two partitions each.
 5. brookd is killed (SIGKILL) and restarted: A and B heartbeat with the epochs they had and
    are accepted with the same assignments (the members were durable before they were told).
 6. B stops heartbeating: after the session timeout it is gone and A is given all four.
 7. A leaves (epoch -1): the group is Empty; a v0 join gets a member id from the broker.
 8. Bad input: a truncated heartbeat closes that connection only; an unknown assignor is
    UNSUPPORTED_ASSIGNOR; a regex that does not compile is INVALID_REGULAR_EXPRESSION."""

import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_brookd, run_main  # noqa: E402
from raw_kafka import TAGS, Conn, carr, cstr, flex_request, s16  # noqa: E402
from raw_txn_v2 import end_txn, init_producer_id, txn_offset_commit  # noqa: E402

NONE = 0
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
UNSUPPORTED_VERSION = 35
GROUP_ID_NOT_FOUND = 69
INVALID_REQUEST = 42
COORDINATOR_NOT_AVAILABLE = 15
FENCED_MEMBER_EPOCH = 110
UNSUPPORTED_ASSIGNOR = 112
STALE_MEMBER_EPOCH = 113
INVALID_REGULAR_EXPRESSION = 128

SESSION_MS = 4000
TOPIC = "cp-topic"
GROUP = "cp-group"
T0 = time.monotonic()


def log(msg):
    print(f"[consumer_protocol {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def tp_entry(item):
    tid, parts = item
    return tid + carr(parts, lambda p: struct.pack(">i", p)) + TAGS


def heartbeat_body(version, member, epoch, topics=None, owned=None, rebalance=-1,
                   instance=None, regex=None, assignor=None, group=GROUP):
    body = cstr(group) + cstr(member) + struct.pack(">i", epoch) + cstr(instance) + cstr(None)
    body += struct.pack(">i", rebalance) + carr(topics, cstr)
    if version >= 1:
        body += cstr(regex)
    body += cstr(assignor)
    body += carr(None if owned is None else sorted(owned.items()), tp_entry)
    return body + TAGS


def read_parts(rd, with_name=False):
    out = {}
    for _ in range(rd.count()):
        tid = rd.uuid()
        name = rd.cstring() if with_name else None
        parts = [rd.take(">i") for _ in range(rd.count())]
        rd.tags()
        out[tid] = (name, sorted(parts)) if with_name else sorted(parts)
    return out


def heartbeat(conn, member, epoch, version=1, **kw):
    """-> dict(error, message, member, epoch, interval, assignment: {tid: [parts]} | None)."""
    rd = flex_request(conn, 68, version, heartbeat_body(version, member, epoch, **kw),
                      "ConsumerGroupHeartbeat")
    rd.take(">i")
    r = {"error": rd.take(">h"), "message": rd.cstring(), "member": rd.cstring(),
         "epoch": rd.take(">i"), "interval": rd.take(">i"), "assignment": None}
    if rd.take(">b") >= 0:
        r["assignment"] = read_parts(rd)
        rd.tags()
    rd.tags()
    rd.end("ConsumerGroupHeartbeat")
    return r


def describe(conn, version=1, group=GROUP):
    body = carr([group], cstr) + b"\x00" + TAGS
    rd = flex_request(conn, 69, version, body, "ConsumerGroupDescribe")
    rd.take(">i")
    groups = []
    for _ in range(rd.count()):
        g = {"error": rd.take(">h"), "message": rd.cstring(), "id": rd.cstring(),
             "state": rd.cstring(), "epoch": rd.take(">i"), "assignment_epoch": rd.take(">i"),
             "assignor": rd.cstring(), "members": {}}
        for _ in range(rd.count()):
            m = {"id": rd.cstring(), "instance": rd.cstring(), "rack": rd.cstring(),
                 "epoch": rd.take(">i"), "client": rd.cstring(), "host": rd.cstring(),
                 "topics": [rd.cstring() for _ in range(rd.count())], "regex": rd.cstring()}
            m["assigned"] = read_parts(rd, True)
            rd.tags()
            m["target"] = read_parts(rd, True)
            rd.tags()
            if version >= 1:
                m["type"] = rd.take(">b")
            rd.tags()
            g["members"][m["id"]] = m
        rd.take(">i")
        rd.tags()
        groups.append(g)
    rd.tags()
    rd.end("ConsumerGroupDescribe")
    return groups[0]


def offset_commit(conn, member, epoch, partition, offset, version=9):
    body = cstr(GROUP) + struct.pack(">i", epoch) + cstr(member) + cstr(None)
    part = struct.pack(">iqi", partition, offset, -1) + cstr(None) + TAGS
    body += carr([TOPIC], lambda t: cstr(t) + carr([part]) + TAGS) + TAGS
    rd = flex_request(conn, 8, version, body, f"OffsetCommit v{version}")
    rd.take(">i")
    errs = []
    for _ in range(rd.count()):
        rd.cstring()
        for _ in range(rd.count()):
            rd.take(">i")
            errs.append(rd.take(">h"))
            rd.tags()
        rd.tags()
    return errs[0]


def list_groups(conn):
    rd = flex_request(conn, 16, 5, carr([], cstr) + carr([], cstr) + TAGS, "ListGroups v5")
    rd.take(">i")
    rd.take(">h")
    out = {}
    for _ in range(rd.count()):
        gid, ptype, state, gtype = rd.cstring(), rd.cstring(), rd.cstring(), rd.cstring()
        rd.tags()
        out[gid] = (ptype, state, gtype)
    return out


def describe_groups_error(conn):
    r, _ = conn.request(15, 0, struct.pack(">i", 1) + s16(GROUP), "DescribeGroups v0")
    return struct.unpack(">h", r[4:6])[0]


def describe_groups_flex(conn, groups, version):
    """DescribeGroups v5/v6 -> [(error, message (v6), group id, state)] (no members)."""
    rd = flex_request(conn, 15, version, carr(groups, cstr) + b"\x00" + TAGS,
                      f"DescribeGroups v{version}")
    rd.take(">i")
    out = []
    for _ in range(rd.count()):
        err = rd.take(">h")
        msg = rd.cstring() if version >= 6 else None
        gid, state = rd.cstring(), rd.cstring()
        rd.cstring()
        rd.cstring()
        assert rd.count() == 0, "no members expected"
        rd.take(">i")
        rd.tags()
        out.append((err, msg, gid, state))
    rd.tags()
    rd.end("DescribeGroups")
    return out


def find_coordinators(conn, key_type, keys, version):
    """FindCoordinator v4+ -> [(key, error, message)]."""
    rd = flex_request(conn, 10, version, bytes([key_type]) + carr(keys, cstr) + TAGS,
                      f"FindCoordinator v{version}")
    rd.take(">i")
    out = []
    for _ in range(rd.count()):
        key = rd.cstring()
        rd.take(">i")
        rd.cstring()
        rd.take(">i")
        out.append((key, rd.take(">h"), rd.cstring()))
        rd.tags()
    rd.tags()
    rd.end("FindCoordinator")
    return out


def kafka41_versions(ck, conn):
    """DescribeGroups v6 (KIP-1043) and FindCoordinator v5/v6 (KIP-890, KIP-932)."""
    got = describe_groups_flex(conn, [GROUP, "cp-nobody"], 6)
    ck.eq([(e, g) for e, _m, g, _s in got], [(GROUP_ID_NOT_FOUND, GROUP),
                                             (GROUP_ID_NOT_FOUND, "cp-nobody")],
          "DescribeGroups v6: a consumer group and an unknown one are GROUP_ID_NOT_FOUND")
    ck(all(m for _e, m, _g, _s in got), f"DescribeGroups v6: each with a message: {got}")
    ck.eq(describe_groups_flex(conn, ["cp-nobody"], 5), [(NONE, None, "cp-nobody", "Dead")],
          "DescribeGroups v5: an unknown group is Dead")
    for v in (5, 6):
        ck.eq([(k, e) for k, e, _m in find_coordinators(conn, 0, [GROUP], v)], [(GROUP, NONE)],
              f"FindCoordinator v{v} of a group")
    share = find_coordinators(conn, 2, ["g:topic:0"], 6)
    ck.eq([(k, e) for k, e, _m in share], [("g:topic:0", COORDINATOR_NOT_AVAILABLE)],
          "FindCoordinator v6 of a share group: no share coordinator")
    ck(share[0][2] and "share" in share[0][2], f"and a message saying why: {share}")
    ck.eq([e for _k, e, _m in find_coordinators(conn, 2, ["g:topic:0"], 5)], [INVALID_REQUEST],
          "FindCoordinator v5 with key type 2: INVALID_REQUEST")


def classic_join_error(conn):
    body = (s16(GROUP) + struct.pack(">i", 10000) + s16("") + s16("consumer")
            + struct.pack(">i", 1) + s16("range") + struct.pack(">i", 0))
    r, _ = conn.request(11, 0, body, "JoinGroup v0")
    return struct.unpack(">h", r[:2])[0]


def union(*assignments):
    out = set()
    for a in assignments:
        for tid, parts in (a or {}).items():
            out |= {(tid, p) for p in parts}
    return out


def joins_and_revokes(ck, conn):
    a = heartbeat(conn, "member-a", 0, topics=[TOPIC], rebalance=10000, owned={})
    ck.eq((a["error"], a["epoch"], a["member"]), (NONE, 1, "member-a"), "A joins at epoch 1")
    ck.eq(a["interval"], 500, "the heartbeat interval configured")
    ck.eq(len(union(a["assignment"])), 4, "A alone gets all four partitions")
    tid = next(iter(a["assignment"]))
    a_owned = a["assignment"]
    again = heartbeat(conn, "member-a", 1, owned=a_owned)
    ck.eq((again["error"], again["epoch"], again["assignment"]), (NONE, 1, None),
          "a heartbeat that changes nothing carries no assignment")
    b = heartbeat(conn, "member-b", 0, topics=[TOPIC], rebalance=10000, owned={})
    ck.eq((b["error"], b["epoch"]), (NONE, 2), "B joins at epoch 2")
    ck.eq(union(b["assignment"]), set(), "B gets nothing A still holds")
    a = heartbeat(conn, "member-a", 1, owned=a_owned)
    ck.eq(a["epoch"], 1, "A keeps epoch 1 while it revokes")
    ck.eq(len(union(a["assignment"])), 2, "A is told to keep two partitions")
    a_owned = a["assignment"]
    b2 = heartbeat(conn, "member-b", 2, owned={})
    ck.eq(union(b2["assignment"]), set(), "B still waits: A has not released")
    a = heartbeat(conn, "member-a", 1, owned=a_owned)
    ck.eq((a["error"], a["epoch"]), (NONE, 2), "A reports the revocation: epoch 2")
    b = heartbeat(conn, "member-b", 2, owned={})
    ck.eq(len(union(b["assignment"])), 2, "B now gets the two A released")
    ck.eq(union(a_owned) & union(b["assignment"]), set(), "no partition given twice")
    ck.eq(union(a_owned) | union(b["assignment"]), {(tid, p) for p in range(4)},
          "the two cover the topic")
    return tid, a_owned, b["assignment"]


def epochs_fence(ck, conn):
    ck.eq(offset_commit(conn, "member-a", 2, 0, 10), NONE, "A commits with its epoch")
    ck.eq(offset_commit(conn, "member-b", 1, 0, 11), STALE_MEMBER_EPOCH, "B, older epoch")
    ck.eq(offset_commit(conn, "member-b", 3, 0, 11), FENCED_MEMBER_EPOCH, "B, newer epoch")
    ck.eq(offset_commit(conn, "nobody", 2, 0, 11), UNKNOWN_MEMBER_ID, "an unknown member")
    ck.eq(offset_commit(conn, "member-a", 2, 0, 11, version=8), UNSUPPORTED_VERSION,
          "OffsetCommit v8 from a consumer-protocol member")
    # TxnOffsetCommit (v5: the group joins the transaction without AddOffsetsToTxn) is fenced
    # by the member epoch too; an older one is ILLEGAL_GENERATION (Kafka: TxnOffsetCommit has
    # no STALE_MEMBER_EPOCH); the transaction is aborted after.
    err, pid, pepoch = init_producer_id(conn, "cp-txn")
    ck.eq(err, NONE, "InitProducerId for the TxnOffsetCommit checks")
    for member, epoch, want, what in (("member-b", 1, ILLEGAL_GENERATION, "older epoch"),
                                      ("member-b", 3, FENCED_MEMBER_EPOCH, "newer epoch"),
                                      ("nobody", 2, UNKNOWN_MEMBER_ID, "an unknown member"),
                                      ("member-a", 2, NONE, "A with its epoch")):
        r = txn_offset_commit(conn, "cp-txn", GROUP, pid, pepoch, TOPIC, {0: 12},
                              generation=epoch, member=member)
        ck.eq(r, {0: want}, f"TxnOffsetCommit v5, {what}")
    ck.eq(end_txn(conn, "cp-txn", pid, pepoch, commit=False)[0], NONE, "the transaction aborted")
    r = heartbeat(conn, "member-a", 7, owned={})
    ck.eq(r["error"], FENCED_MEMBER_EPOCH, "a heartbeat with a newer epoch is fenced")


def describes(ck, conn, tid, a_owned, b_owned):
    g = describe(conn)
    ck.eq((g["error"], g["state"], g["epoch"], g["assignment_epoch"], g["assignor"]),
          (NONE, "Stable", 2, 2, "uniform"), "ConsumerGroupDescribe: the group")
    ck.eq(sorted(g["members"]), ["member-a", "member-b"], "both members")
    ma, mb = g["members"]["member-a"], g["members"]["member-b"]
    ck.eq((ma["epoch"], ma["topics"], ma["type"]), (2, [TOPIC], 1), "member A described")
    ck.eq(ma["assigned"], {tid: (TOPIC, a_owned[tid])}, "A's assignment, with the name")
    ck.eq(mb["assigned"], {tid: (TOPIC, b_owned[tid])}, "B's assignment")
    ck.eq(mb["target"], mb["assigned"], "B's target reached")
    ck.eq(list_groups(conn).get(GROUP), ("consumer", "Stable", "consumer"), "ListGroups v5")
    ck.eq(describe_groups_error(conn), GROUP_ID_NOT_FOUND, "DescribeGroups: not classic")
    ck.eq(classic_join_error(conn), INCONSISTENT_GROUP_PROTOCOL, "a classic JoinGroup")


def survives_restart(ck, broker, a_owned, b_owned):
    broker.kill()
    broker.start()
    with Conn(broker.bootstrap) as conn:
        a = heartbeat(conn, "member-a", 2, owned=a_owned)
        ck.eq((a["error"], a["epoch"]), (NONE, 2), "A accepted after the restart")
        b = heartbeat(conn, "member-b", 2, owned=b_owned)
        ck.eq((b["error"], b["epoch"]), (NONE, 2), "B accepted after the restart")
        g = describe(conn)
        ck.eq({m: sorted(v["assigned"].values()) for m, v in g["members"].items()},
              {"member-a": sorted((TOPIC, x) for x in a_owned.values()),
               "member-b": sorted((TOPIC, x) for x in b_owned.values())},
              "the assignments replayed")
        ck.eq(offset_commit(conn, "member-b", 1, 1, 5), STALE_MEMBER_EPOCH,
              "fencing holds after the restart")


def range_assignor(ck, conn, tid):
    """Another group whose members ask for group.remote.assignor=range: the group says
    range, and once both members have reconciled each owns two of the four partitions."""
    g = "cp-range"
    x = heartbeat(conn, "rx", 0, topics=[TOPIC], rebalance=30000, assignor="range", group=g)
    ck.eq((x["error"], union(x["assignment"] or {})), (NONE, {(tid, p) for p in range(4)}),
          "range: the first member gets all four")
    y = heartbeat(conn, "ry", 0, topics=[TOPIC], rebalance=30000, assignor="range", group=g)
    ck.eq(y["error"], NONE, "range: a second member joins")
    owned = {"rx": x["assignment"], "ry": y["assignment"] or {}}
    epochs = {"rx": x["epoch"], "ry": y["epoch"]}
    for _ in range(20):  # bounded: each round one heartbeat per member
        for m in ("rx", "ry"):
            r = heartbeat(conn, m, epochs[m], owned=owned[m], group=g)
            ck.eq(r["error"], NONE, f"range: {m}'s heartbeat")
            epochs[m] = r["epoch"]
            if r["assignment"] is not None:
                owned[m] = r["assignment"]
        if len(union(owned["rx"])) == 2 and len(union(owned["ry"])) == 2:
            break
    ck.eq((len(union(owned["rx"])), len(union(owned["ry"]))), (2, 2), "range: two each")
    ck.eq(union(owned["rx"]) | union(owned["ry"]), {(tid, p) for p in range(4)},
          "range: together the topic, no partition twice")
    d = describe(conn, group=g)
    ck.eq((d["error"], d["assignor"]), (NONE, "range"), "ConsumerGroupDescribe: assignor range")
    for m in ("rx", "ry"):
        heartbeat(conn, m, -1, group=g)


def session_expires(ck, conn, a_owned):
    deadline = time.monotonic() + SESSION_MS / 1000 * 4
    epoch = 2
    while time.monotonic() < deadline:
        a = heartbeat(conn, "member-a", epoch, owned=a_owned)
        ck.eq(a["error"], NONE, "A's heartbeats while B is silent")
        epoch = a["epoch"]
        if a["assignment"] is not None:
            a_owned = a["assignment"]
        if len(union(a_owned)) == 4 and len(describe(conn)["members"]) == 1:
            break
        time.sleep(0.4)
    g = describe(conn)
    ck.eq(sorted(g["members"]), ["member-a"], "B's session expired")
    ck.eq(len(union(a_owned)), 4, "A was given all four")
    ck.eq(g["members"]["member-a"]["epoch"], 3, "at the next group epoch")


def leaves_and_v0(ck, conn):
    r = heartbeat(conn, "member-a", -1)
    ck.eq((r["error"], r["epoch"]), (NONE, -1), "A leaves")
    ck.eq(describe(conn)["state"], "Empty", "the group is Empty")
    r = heartbeat(conn, "", 0, version=0, topics=[TOPIC], rebalance=10000, owned={})
    ck.eq(r["error"], NONE, "a v0 join")
    ck(r["member"] and len(r["member"]) >= 16, f"v0: the broker gave an id ({r['member']!r})")
    r = heartbeat(conn, r["member"], -1, version=0)
    ck.eq(r["error"], NONE, "the v0 member leaves")


def bad_input(ck, broker):
    with Conn(broker.bootstrap) as conn:
        r = heartbeat(conn, "m-x", 0, topics=[TOPIC], rebalance=1000, assignor="sticky",
                      owned={})
        ck.eq(r["error"], UNSUPPORTED_ASSIGNOR, "an unknown server assignor")
        r = heartbeat(conn, "m-x", 0, regex="cp-(", rebalance=1000, owned={})
        ck.eq(r["error"], INVALID_REGULAR_EXPRESSION, "a regex that does not compile")
    body = TAGS + heartbeat_body(1, "m-y", 0, topics=[TOPIC], rebalance=1000, owned={})
    for cut in (1, len(body) // 2, len(body) - 1):
        with Conn(broker.bootstrap) as conn:
            try:
                conn.request(68, 1, body[:cut], "truncated heartbeat")
                closed = False
            except (ConnectionError, socket.timeout, AssertionError, OSError):
                closed = True
            ck(closed, f"a heartbeat cut at {cut} bytes closes the connection")
    with Conn(broker.bootstrap) as conn:
        ck.eq(describe(conn)["error"], NONE, "the broker still answers")


def main():
    ck = Check("consumer_protocol")
    config = {"group.consumer.session.timeout.ms": SESSION_MS,
              "group.consumer.heartbeat.interval.ms": 500}
    with Broker(find_brookd(), config=config) as broker:
        with Conn(broker.bootstrap) as conn:
            ck.eq(conn.create_topic(TOPIC, 4), NONE, "topic created")
            tid, a_owned, b_owned = joins_and_revokes(ck, conn)
            log("joins and revocation: ok")
            epochs_fence(ck, conn)
            describes(ck, conn, tid, a_owned, b_owned)
            kafka41_versions(ck, conn)
            log("fencing and describe: ok")
            range_assignor(ck, conn, tid)
            log("range assignor: ok")
        survives_restart(ck, broker, a_owned, b_owned)
        log("restart: ok")
        with Conn(broker.bootstrap) as conn:
            session_expires(ck, conn, a_owned)
            log("session expiry: ok")
            leaves_and_v0(ck, conn)
        bad_input(ck, broker)
        log("bad input: ok")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
