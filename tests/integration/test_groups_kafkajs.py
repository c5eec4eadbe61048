#!/usr/bin/python3
"""Consumer groups with kafkajs 2.2.4 (js/test_groups_kafkajs.js), the same checks as
test_groups_confluent.py for the other client:

Membership: kafkajs members are node processes (RoundRobinAssigner, session 6 s), reporting
REBALANCING (kafkajs gives up all partitions and rejoins) and GROUP_JOIN (its new
assignment) with CLOCK_MONOTONIC time stamps.  m1, m2, m3 join; m3 leaves (disconnect():
LeaveGroup); m4 joins; m2 is SIGKILLed (session expiry); m5 joins; brookd restarts (SIGTERM)
and the members keep their assignment (membership is persisted) or, if kafkajs rejoins,
the group settles again.  After every step each
remaining member went through a rebalance, the assignments cover every partition exactly
once and are balanced, and the broker agrees, seen through both kafkajs
admin.describeGroups (assignments decoded with kafkajs's AssignerProtocol) and librdkafka's
DescribeGroups (AdminClient.list_groups).  No partition is ever owned by two live members
at once (a double ownership right after the brookd restart is printed as a NOTE).  The leave is handled before the session timeout.
Admin (kafkajs): listGroups shows the group (protocolType consumer), deleteGroups of the
non-empty group fails with NON_EMPTY_GROUP, of the empty group succeeds; then the group is
gone from listGroups, and deleting it again gives GROUP_ID_NOT_FOUND.
Offsets: a kafkajs consumer reads everything and commits chosen offsets (commitOffsets);
admin.fetchOffsets returns them; brookd SIGTERM + restart: fetchOffsets still returns them
and a new kafkajs consumer in the group reads exactly from them to the end (no re-delivery,
no gap); the same after a SIGKILL restart."""

import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, kafkajs_node, run_main, wait_until  # noqa: E402
from test_groups_confluent import BROKER_CONF, NPARTS, SESSION_MS, Members, describe  # noqa: E402

JS = os.path.join(HERE, "js")
SCRIPT = os.path.join(JS, "test_groups_kafkajs.js")
NODE = shutil.which("node") or shutil.which("nodejs")


def js(bootstrap, *args, timeout=90):
    p = subprocess.run([NODE, SCRIPT, args[0], bootstrap, *[str(a) for a in args[1:]]],
                       cwd=JS, capture_output=True, timeout=timeout)
    lines = [x for x in p.stdout.decode().splitlines() if x[:1] in ("{", "[")]
    if p.returncode != 0 or not lines:
        raise AssertionError(f"node {args}: rc {p.returncode}\n{p.stdout.decode()}\n{p.stderr.decode()[-3000:]}")
    return json.loads(lines[-1])


def js_describe(bootstrap, group):
    r = js(bootstrap, "admin", "describe", group)
    return r["groups"][0]


def membership_phase(ck, b, admin, topic, group):
    members = Members(ck, lambda name: [NODE, SCRIPT, "member", b.bootstrap, group, topic, name],
                      range(NPARTS), revoke_all=True)

    def check_both(snap, names, what):
        d = wait_until(lambda: (lambda g: g if g["state"] == "Stable" and len(g["members"]) == len(names)
                                else None)(js_describe(b.bootstrap, group)),
                       30, interval=0.3, what=f"{what}: kafkajs describeGroups Stable")
        ck.eq(d["protocolType"], "consumer", f"{what}: kafkajs describe protocolType")
        ck.eq(d["protocol"], "RoundRobinAssigner", f"{what}: kafkajs describe protocol")
        ck.eq(d["errorCode"], 0, f"{what}: kafkajs describe error code")
        got = {m["clientId"]: sorted(m["assignment"].get(topic, [])) for m in d["members"]}
        ck.eq(got, {k: sorted(v) for k, v in snap.items()}, f"{what}: kafkajs-described assignments")
        ck(all(topic in m["memberMetadata"] for m in d["members"]),
           f"{what}: member metadata names the topic")
        g = check_described_rr(ck, admin, group, topic, snap, names, what)
        return g

    try:
        t = time.monotonic()
        members.start("m1")
        members.wait_settled(t, 40, "m1 joins")
        t = time.monotonic()
        members.start("m2")
        members.wait_settled(t, 40, "m2 joins")
        t = time.monotonic()
        members.start("m3")
        snap, _ = members.wait_settled(t, 40, "m3 joins")
        check_both(snap, ["m1", "m2", "m3"], "3 members")

        listed = js(b.bootstrap, "admin", "list")["groups"]
        ck(any(g["groupId"] == group and g["protocolType"] == "consumer" for g in listed),
           f"kafkajs listGroups shows {group} (consumer): {listed}")
        r = js(b.bootstrap, "admin", "delete", group)
        ck.eq(r.get("error"), "KafkaJSDeleteGroupsError", f"kafkajs deleteGroups of a non-empty group: {r}")
        ck.eq([(g["groupId"], g["errorCode"]) for g in r["groups"]], [(group, 68)],
              "deleteGroups of a non-empty group: NON_EMPTY_GROUP")

        t = time.monotonic()
        members.leave("m3")
        snap, took = members.wait_settled(t, 40, "m3 leaves (LeaveGroup)")
        ck(took < SESSION_MS / 1000.0 - 1.0,
           f"rebalance after LeaveGroup took {took:.2f}s, not below the session timeout")
        check_both(snap, ["m1", "m2"], "after leave")

        t = time.monotonic()
        members.start("m4")
        members.wait_settled(t, 40, "m4 joins")

        t = time.monotonic()
        members.kill("m2")
        snap, took = members.wait_settled(t, SESSION_MS / 1000.0 + 25, "m2 SIGKILLed (session expiry)")
        ck(took < SESSION_MS / 1000.0 + 15, f"rebalance after a kill took {took:.2f}s")
        check_both(snap, ["m1", "m4"], "after kill")

        t = time.monotonic()
        members.start("m5")
        snap, _ = members.wait_settled(t, 40, "m5 joins")
        check_both(snap, ["m1", "m4", "m5"], "m1+m4+m5")

        # brookd restart (SIGTERM): membership is persisted (issue #10, point 6), so the
        # members may carry on at their generation with the same assignment; kafkajs
        # sometimes rejoins anyway (a request failed while brookd was down), and then the
        # group must settle again.
        before = snap
        t = time.monotonic()
        ck.eq(b.restart(), 0, "brookd exit code on SIGTERM")
        members.tolerate.append((t, t + 30))
        time.sleep(SESSION_MS / 1000.0 / 2 + 4)  # several heartbeats after the restart
        kept = (members.snapshot(0) == before
                and all(members._last_assign(n) < t for n in before))
        if kept:
            snap = before
            print("  the members kept their assignment across the restart", flush=True)
        else:
            snap, _ = members.wait_settled(t, 40, "brookd restarted")
        check_both(snap, ["m1", "m4", "m5"], "after brookd restart")
        if members.tolerated:
            print(f"  NOTE: double ownership right after the brookd restart: "
                  f"{members.tolerated}", flush=True)

        members.stop_all()
        members.check_history("whole run")
        # kafkajs reports a CRASH (and restarts the consumer) when brookd is unreachable for
        # longer than its retries; allowed only while brookd restarts, and only if kafkajs
        # restarted the consumer.
        crashes = [e for e in members.events if e["ev"] in ("crash", "close-error")
                   and not (e.get("restart") and any(a <= e["t"] <= b for a, b in members.tolerate))]
        ck.eq(crashes, [], "no kafkajs consumer crashed (except a restarted one during the brookd restart)")
        d = wait_until(lambda: (lambda g: g if g["state"] == "Empty" else None)(js_describe(b.bootstrap, group)),
                       20, interval=0.3, what="group Empty")
        ck.eq(d["members"], [], "Empty group has no members")
        r = js(b.bootstrap, "admin", "delete", group)
        ck.eq(r, {"ok": [{"groupId": group, "errorCode": 0}]}, "kafkajs deleteGroups of the empty group")
        listed = js(b.bootstrap, "admin", "list")["groups"]
        ck(all(g["groupId"] != group for g in listed), f"deleted group not listed: {listed}")
        r = js(b.bootstrap, "admin", "delete", group)
        ck.eq([(g["groupId"], g["errorCode"]) for g in r.get("groups", [])], [(group, 69)],
              f"deleteGroups again: GROUP_ID_NOT_FOUND ({r})")
        d = js_describe(b.bootstrap, group)
        ck.eq(d["state"], "Dead", "describe a deleted group: Dead")
    finally:
        members.close()


def check_described_rr(ck, admin, group, topic, snap, names, what):
    """librdkafka's DescribeGroups view of the kafkajs group (protocol RoundRobinAssigner)."""
    import test_groups_confluent as tgc
    g = wait_until(lambda: (lambda d: d if d and d.state == "Stable" and len(d.members) == len(names)
                            else None)(describe(admin, group)), 20, interval=0.2,
                   what=f"{what}: DescribeGroups Stable")
    ck.eq(g.protocol, "RoundRobinAssigner", f"{what}: librdkafka-described protocol")
    got = {m.client_id: tgc.decode_assignment(m.assignment).get(topic, []) for m in g.members}
    ck.eq(got, {k: sorted(v) for k, v in snap.items()}, f"{what}: librdkafka-described assignments")
    return g


def offsets_phase(ck, b, topic, group):
    per_part = 300
    ck.eq(js(b.bootstrap, "admin", "produce", topic, NPARTS, per_part), {"ok": True}, "kafkajs produce")
    commit = {1: 1, 2: 150, 3: 299, 4: 300, 5: 42}
    r = js(b.bootstrap, "consume", group, topic, NPARTS * per_part, json.dumps(commit), timeout=120)
    ck.eq(r["bad"], [], "first read: values match offsets")
    for p in range(NPARTS):
        ck.eq(r["got"].get(str(p)), list(range(per_part)), f"first read of partition {p}")

    def check_fetch(what):
        f = js(b.bootstrap, "admin", "fetch", group, topic)
        parts = {x["partition"]: int(x["offset"]) for x in f[0]["partitions"]}
        want = {p: commit.get(p, -1) for p in range(NPARTS)}
        ck.eq(parts, want, f"{what}: admin.fetchOffsets")

    def resume(what):
        remaining = sum(per_part - commit.get(p, 0) for p in range(NPARTS))
        r = js(b.bootstrap, "consume", group, topic, remaining, timeout=120)
        ck.eq(r["bad"], [], f"{what}: values match offsets")
        for p in range(NPARTS):
            start = commit.get(p, 0)
            ck.eq(r["got"].get(str(p), []), list(range(start, per_part)),
                  f"{what}: partition {p} resumes at {start}, no re-delivery, no gap")

    check_fetch("before restart")
    ck.eq(b.restart(), 0, "brookd exit code on SIGTERM")
    check_fetch("after SIGTERM restart")
    resume("after SIGTERM restart")
    b.crash_restart()
    check_fetch("after SIGKILL restart")
    resume("after SIGKILL restart")


def main():
    if not kafkajs_node(JS):
        return 77
    from confluent_kafka.admin import AdminClient, NewTopic
    ck = Check("groups_kafkajs")
    with Broker(name="grpjs", config=BROKER_CONF) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "socket.timeout.ms": 10000})
        for t in ("kjs-members", "kjs-offsets"):
            admin.create_topics([NewTopic(t, NPARTS, 1)], request_timeout=15)[t].result(timeout=30)
        t0 = time.monotonic()
        membership_phase(ck, b, admin, "kjs-members", "kjs-g-members")
        print(f"membership phase: {time.monotonic() - t0:.1f}s", flush=True)
        t0 = time.monotonic()
        offsets_phase(ck, b, "kjs-offsets", "kjs-g-offsets")
        print(f"offsets phase: {time.monotonic() - t0:.1f}s", flush=True)
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
