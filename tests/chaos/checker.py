"""The chaos campaign's checker: counts anomalies in the histories the workloads kept and
what was read back after the faults healed (Jepsen's definitions as the reference). Every
function returns {anomaly: count}; up to five examples of each go to EXAMPLES. Standard
library only: test_checker.py feeds it made-up histories."""

import re

from common import NPARTS

EXAMPLES = {}  # anomaly -> up to 5 examples, for the summary
# Reported for the record, not anomalies.
INFORMATIONAL = ("unknown_visible", "acked_without_offset", "ww_cycles", "commit_reordered")
# How far apart (s) a watcher's read and the acknowledgement of the commit it saw may be:
# the watcher takes up to 5 s per read, on_commit runs at the consumer's next poll.
REORDER_SLACK_S = 6.0


def note(counts, kind, example):
    counts[kind] += 1
    ex = EXAMPLES.setdefault(kind, [])
    if len(ex) < 5:
        ex.append(example)


def check_queue(q, got):
    """q.sent (values), q.acked {value: (partition, offset or None)}; got [(p, off, v)]
    read back from the start to the end of every partition."""
    counts = {"lost": 0, "duplicated": 0, "inconsistent": 0, "unexpected": 0, "reordered": 0,
              "acked_without_offset": 0}
    seen = {}
    for part, off, v in got:
        if v in seen:
            note(counts, "duplicated", f"{v.decode()} at {seen[v]} and {(part, off)}")
        else:
            seen[v] = (part, off)
        if v not in q.sent:
            note(counts, "unexpected", f"{v!r} at {(part, off)}")
    for v, where in q.acked.items():
        if v not in seen:
            note(counts, "lost", f"{v.decode()} acknowledged at {where}")
        elif where[1] is None:
            # librdkafka acknowledges a message without an offset when a later batch of the
            # same idempotent producer succeeded while this one's answer was lost (its
            # "implicit ack": the broker could only take the later sequence after this
            # one). Only its presence can be checked.
            counts["acked_without_offset"] += 1
        elif seen[v] != where:
            note(counts, "inconsistent",
                 f"{v.decode()} acknowledged at {where}, read at {seen[v]}")
    last = {}
    for part, off, v in sorted(got):
        if v not in q.acked:
            continue
        prefix, pid, n = v.split(b":")  # q:PRODUCER:N (librdkafka), qk:P:N (kafkajs)
        key = (part, prefix, pid)
        if key in last and int(n) < last[key]:
            note(counts, "reordered", f"{v.decode()} at {(part, off)} after n={last[key]}")
        last[key] = int(n)
    return counts


def txn_of(v):
    return v.split(b":")[0]


def check_txn(t, got):
    """t.txns [{name, reads, writes, offsets, outcome}]; got [(p, off, v)] read back by a
    read_committed reader. Counts aborted_read (an aborted transaction's value seen, at the
    end or by a client during the run), torn (a transaction seen in part), lost_commit (a
    committed transaction not seen at all) and uncommitted_read (a client read a value of a
    transaction that never committed: its outcome unknown and not visible at the end)."""
    counts = {"aborted_read": 0, "torn": 0, "lost_commit": 0, "uncommitted_read": 0,
              "unknown_visible": 0}
    seen = {}
    for _part, _off, v in got:
        seen.setdefault(txn_of(v), set()).add(v)
    by_name = {x["name"]: x for x in t.txns}
    for name, x in by_name.items():
        want, vis, outcome = set(x["writes"]), seen.get(name, set()), x["outcome"]
        if outcome == "aborted" and vis:
            note(counts, "aborted_read", f"{name.decode()}: {len(vis)} of its values seen")
        elif vis and vis != want:
            missing = b" ".join(sorted(want - vis)[:4]).decode()
            note(counts, "torn", f"{name.decode()} ({outcome}): {len(vis)} of {len(want)} seen, "
                 f"missing {missing}")
        elif outcome == "committed" and want and not vis:
            note(counts, "lost_commit", f"{name.decode()}: none of {len(want)} seen")
        elif outcome == "unknown" and vis:
            counts["unknown_visible"] += 1
    for x in t.txns:
        for part, off, v in x["reads"]:
            w = by_name.get(txn_of(v))
            if w is None:
                continue
            if w["outcome"] == "aborted":
                note(counts, "aborted_read",
                     f"{x['name'].decode()} read {v.decode()} at {(part, off)} (aborted)")
            elif w["outcome"] == "unknown" and txn_of(v) not in seen:
                note(counts, "uncommitted_read",
                     f"{x['name'].decode()} read {v.decode()} at {(part, off)}")
    return counts


def check_polls(histories):
    """histories: per consumer, [("assign"|"revoke", [p]) | ("msg", p, off) | ("rewind",)].
    Between two assignments (or rewinds) of a partition, a consumer's polls must move
    forward: nonmonotonic_poll counts an offset at or below the previous one. With
    contiguous=True (a topic without transactions), poll_skip counts a jump over offsets."""
    counts = {"nonmonotonic_poll": 0, "poll_skip": 0}
    for i, (events, contiguous) in enumerate(histories):
        last = {}
        for ev in events:
            if ev[0] in ("assign", "revoke"):
                for p in ev[1]:
                    last.pop(p, None)
            elif ev[0] == "rewind":
                last.clear()
            else:
                _, p, off = ev
                if p in last and off <= last[p]:
                    note(counts, "nonmonotonic_poll", f"consumer {i}: p{p} {last[p]} then {off}")
                elif p in last and contiguous and off > last[p] + 1:
                    note(counts, "poll_skip", f"consumer {i}: p{p} {last[p]} then {off}")
                last[p] = off
    return counts


def commit_rewinds(logs, group, topic):
    """{(p, offset)}: the commits that moved group's committed offset of a topic partition
    back to offset, as the nodes logged them (src/group/service.c, note_rewind)."""
    pat = re.compile(rf"group {re.escape(group)}: committed offset of {re.escape(topic)}"
                     r"-(\d+) goes back from \d+ to (\d+)")
    return {(int(m.group(1)), int(m.group(2)))
            for text in logs.values() for m in pat.finditer(text)}


def check_committed(samples, commits, final, rewinds=frozenset()):
    """A group's committed offsets. commits: [(time, consumer, p, offset, error)] as the
    consumers' commits were answered; final {p: offset} the group holds at the end;
    samples [(time, p, offset)] as a watcher read them.
    committed_backwards (an anomaly): a commit that was acknowledged is above what the group
    holds at the end: acknowledged offsets were lost or overwritten by lower ones; unless
    what it holds is a commit acknowledged after that one (then commit_reordered: the
    client's own later write, Kafka's commits being last-write-wins; chaos seed 1355297865,
    librdkafka resending nine commits a paused coordinator had refused NOT_COORDINATOR
    once it was deposed, after a newer commit at its successor).
    commit_reordered (reported): the watcher read an offset lower than before, and a commit
    of exactly that offset was acknowledged around then: a client had it applied after
    newer ones (librdkafka resends an OffsetCommit that failed with NOT_COORDINATOR from its
    buffer, after the newer commits that went to the coordinator it found meanwhile); the
    group did hold it, and Kafka's commits are last-write-wins. Also counted there: a lower
    read that a node logged as a commit moving the offset back to exactly that value
    (rewinds, commit_rewinds) when a consumer had committed that value earlier: an old
    request applied late, however late (a client's kernel retransmits a request of a
    connection the client closed after a partition, and the coordinator that took over in
    between restored the member, as Kafka's does).
    stale_offset_read (an anomaly): any other read lower than before. Offsets are applied
    only once replicated, and a node deposed without knowing it (cut off from ZooKeeper)
    stops answering before another can take over (the lease in src/cluster/zk.c), so such a
    read means some coordinator answered from state another had moved past."""
    counts = {"committed_backwards": 0, "stale_offset_read": 0, "commit_reordered": 0}
    acked = {}  # p: (highest offset acknowledged, when it was acknowledged last)
    for t, _i, p, off, err in commits:
        if not err and off >= 0 and off >= acked.get(p, (off, t))[0]:
            acked[p] = (off, t)
    for p, (off, t_max) in sorted(acked.items()):
        held = final.get(p, 0)
        if held < off:
            # Last write wins: a lower commit acknowledged after the highest one (librdkafka
            # resends commits a deposed coordinator refused, after newer ones) is the
            # group's value by the client's own doing.
            later = any(cp == p and co == held and not err and ct >= t_max
                        for ct, _i, cp, co, err in commits)
            note(counts, "commit_reordered" if later else "committed_backwards",
                 f"p{p}: {off} acknowledged, the group holds {held} at the end"
                 + (" (acknowledged after it)" if later else ""))
    last = {}
    for t, p, off in samples:
        if p in last and off < last[p][1]:
            ta, a = last[p]
            explained = any(cp == p and co == off and not err and ta - REORDER_SLACK_S <= ct
                            <= t + REORDER_SLACK_S for ct, _i, cp, co, err in commits)
            explained = explained or ((p, off) in rewinds and any(
                cp == p and co == off and ct <= t for ct, _i, cp, co, _e in commits))
            note(counts, "commit_reordered" if explained else "stale_offset_read",
                 f"p{p}: read {a} at {ta:.2f}, then {off} at {t:.2f}")
        last[p] = (t, off)
    return counts


def check_txn_offsets(clients, final):
    """clients: per client, its txns in order; final: per client, {p: offset} the group had
    at the end. The offsets of the last committed transaction must be there, or those of
    one after it whose outcome is unknown (offset_mismatch)."""
    counts = {"offset_mismatch": 0}
    for i, (txns, got) in enumerate(zip(clients, final)):
        ok = [{p: 0 for p in range(NPARTS)}]
        for x in txns:
            if x["outcome"] == "committed":
                ok = [x["offsets"]]
            elif x["outcome"] == "unknown" and x["offsets"] is not None:
                ok.append(x["offsets"])
        if got not in ok:
            note(counts, "offset_mismatch", f"client {i}: group has {got}, expected one of {ok}")
    return counts


def check_g1c(txns, got):
    """Cycles among the transactions that committed (or whose unknown outcome is visible).
    g1c (cyclic information flow, an anomaly): a cycle of write-read edges (T2 polled a value
    T1 wrote) and process-order edges (one client's transactions in the order it ran them).
    Each such edge goes from a transaction that became visible to one that became visible
    later (a read_committed poll sees only what was committed, a client begins after its
    previous transaction ended), so no cycle is possible. ww_cycles (reported, not an
    anomaly): cycles that need write-write edges from each partition's log order (got,
    read_committed) as well; Kafka's transactions do not isolate concurrent writers, so two
    transactions writing the same two partitions may interleave in opposite orders."""
    counts = {"g1c": 0, "ww_cycles": 0}
    visible = {txn_of(v) for _, _, v in got}
    nodes = {x["name"] for x in txns if x["outcome"] == "committed" or
             (x["outcome"] == "unknown" and x["name"] in visible)}
    flow = {n: set() for n in nodes}
    last_of = {}
    for x in txns:
        n = x["name"]
        if n not in nodes:
            continue
        client = n.split(b".")[0]
        if client in last_of:
            flow[last_of[client]].add(n)
        last_of[client] = n
        for _p, _o, v in x["reads"]:
            w = txn_of(v)
            if w in nodes and w != n:
                flow[w].add(n)
    every = {n: set(e) for n, e in flow.items()}
    prev = {}
    for part, _off, v in sorted(got):
        name = txn_of(v)
        if part in prev and prev[part] != name and prev[part] in nodes and name in nodes:
            every[prev[part]].add(name)
        prev[part] = name
    for comp in sccs(flow):
        if len(comp) > 1:
            note(counts, "g1c", " ".join(sorted(n.decode() for n in comp)[:6]))
    counts["ww_cycles"] = sum(1 for comp in sccs(every) if len(comp) > 1)
    return counts


def sccs(edges):
    """Tarjan's strongly connected components, iterative (histories have 10^5 nodes)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = n
        n += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = n
                    n += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(edges[w])))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    return out


def check_node_logs(logs):
    """logs {node: brookd.log text}. The campaign never deletes a topic, so a node saying
    it deleted one because the cluster view lost it is an anomaly (topic_dropped): the
    node threw a topic's data away."""
    counts = {"topic_dropped": 0}
    for nid, text in logs.items():
        for line in text.splitlines():
            if "is gone from the cluster; deleting it here" in line:
                note(counts, "topic_dropped", f"node {nid}: {line.strip()[:160]}")
    return counts


def liveness(heals, ok_times, end):
    """The longest time from a heal to the next successful operation (to `end` when none
    came), in seconds; 0 without heals."""
    ok = sorted(ok_times)
    worst, j = 0.0, 0
    for h in sorted(heals):
        while j < len(ok) and ok[j] < h:
            j += 1
        worst = max(worst, (ok[j] if j < len(ok) else end) - h)
    return round(worst, 2)
