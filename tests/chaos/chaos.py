#!/usr/bin/python3
"""A Jepsen-style fault campaign against a replicated Brook cluster (issue #12).

Starts a real ZooKeeper and an N-node Brook cluster (tests/integration's cluster_harness),
runs concurrent client workloads for --seconds while a nemesis injects faults on a schedule
drawn from --seed, then heals everything, waits for the cluster to settle, reads all data
back and checks it. Every run prints its seed; the same seed gives the same schedule and
the same workload choices (the targets a fault picks by role, such as "the leader of
partition 2", depend on the cluster's state at that moment).

Faults (nemesis.py; each on one node, the leader of a partition, the node leading a
transaction coordinator, a minority, a majority or all nodes; ZooKeeper faults on it):
  kill       SIGKILL, restarted after the fault's duration
  pause      SIGSTOP for longer than the session and replica lag timeouts, then SIGCONT
  zk-kill    ZooKeeper SIGKILLed, restarted after the duration
  zk-pause   ZooKeeper SIGSTOPped, then SIGCONT
  power      a power cut: SIGKILL, then every file the node wrote is cut back to what it
             had fsynced (the LD_PRELOAD shim powerloss.c, its path in BROOK_POWERLOSS_LIB)
  isolate    the node's link taken down: cut off from everything (--netns)
  partition  nftables rules in the nodes' namespaces cut them off from the other nodes,
             the clients or ZooKeeper, both ways or one way (--netns, nft)
  clock      the node's wall clock jumps 10-120 s forward or back (libfaketime), and back
A fault every 2-6 s, in mixes that rotate every ~20 s, with quiet periods between.

Workloads (workloads.py): queue (idempotent acks=all producers, librdkafka and kafkajs;
two consumers by subscribe; the group's committed offsets sampled), txn (two librdkafka
consume-transform-produce clients and a kafkajs one: read_committed polls, writes to several
partitions and the consumer's offsets in each transaction, commit or abort). The checker (checker.py)
counts lost, duplicated, inconsistent, unexpected and reordered queue values, non-monotonic
and skipping polls, committed offsets going backwards, aborted and uncommitted reads, torn
and lost transactions, offsets that do not match the last committed transaction, G1c
cycles and hanging transactions, and reports liveness (the longest time from a heal to the
next successful operation). The run fails (exit 1) when any count is not 0, and prints a
JSON summary either way.

  python3 tests/chaos/chaos.py --seconds 60 --seed 7        # CI's slice (ctest chaos_short)
  make chaos CHAOS_SECONDS=600                              # long, random seed
Everything started is stopped; every wait is bounded."""

import argparse
import atexit
import json
import os
import random
import subprocess
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from brook_harness import find_brookd, kafkajs_node  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import Cluster, require_cluster_support  # noqa: E402
import checker  # noqa: E402
from common import CONFIG, NPARTS, QUEUE, SESSION_MS, TXN, log  # noqa: E402
from nemesis import Clocks, Nemesis, Net, net_tag, netns_ok, nft_ok  # noqa: E402
from workloads import (JS, KafkajsQueue, KafkajsTxn, QueueWorkload, Subscribers,  # noqa: E402
                       TxnWorkload)

ALL_FAULTS = "kill,pause,zk-kill,zk-pause,power,isolate,partition,clock"


# ------------------------------------------------------------------ read back

def wait_stable(bootstrap, topic, timeout=90):
    """Bounded wait until every partition's last stable offset (ListOffsets as a
    read_committed consumer asks it) is its high watermark: every transaction decided,
    markers written (in-doubt ones are completed by the coordinators after the faults).
    Returns the partitions still holding an undecided transaction at the timeout."""
    from confluent_kafka import Consumer, TopicPartition
    cs = {iso: Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-lso-{iso}",
                         "isolation.level": iso})
          for iso in ("read_committed", "read_uncommitted")}
    deadline = time.monotonic() + timeout
    try:
        while True:
            ends = {iso: [c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                          for p in range(NPARTS)] for iso, c in cs.items()}
            if ends["read_committed"] == ends["read_uncommitted"]:
                return []
            if time.monotonic() > deadline:
                log(f"{topic}: last stable offsets {ends['read_committed']} still below the "
                    f"high watermarks {ends['read_uncommitted']}")
                return [p for p in range(NPARTS)
                        if ends["read_committed"][p] != ends["read_uncommitted"][p]]
            time.sleep(0.5)
    finally:
        for c in cs.values():
            c.close()


def read_back(bootstrap, topic, committed_only, stall=120, cap=3600):
    """[(partition, offset, value)] of every record up to each partition's end. Gives up
    after `stall` seconds without a record, or `cap` seconds in all (a long campaign reads
    back millions)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-read-{time.time_ns()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed" if committed_only else "read_uncommitted",
                  "enable.partition.eof": True})
    ends = {}
    for p in range(NPARTS):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
        ends[p] = hi
    c.assign([TopicPartition(topic, p, 0) for p in range(NPARTS)])
    out, eof = [], set(p for p, hi in ends.items() if hi == 0)
    start = last = time.monotonic()
    while len(eof) < NPARTS and time.monotonic() - last < stall and \
            time.monotonic() - start < cap:
        batch = c.consume(1000, 0.5)
        if batch:
            last = time.monotonic()
        for m in batch:
            if not m.error():
                out.append((m.partition(), m.offset(), m.value()))
            elif m.error().code() == -191:  # _PARTITION_EOF
                if m.offset() >= ends[m.partition()] or committed_only:
                    eof.add(m.partition())
    c.close()
    if len(eof) < NPARTS:
        raise AssertionError(f"{topic}: read back timed out ({sorted(eof)} at their end)")
    return out


def group_offsets(bootstrap, group, topic, attempts=4):
    """{p: committed offset} of a group (0 where it has none). The group's coordinator may
    still be loading after the last fault (ZooKeeper sessions expiring at the end of a run):
    up to `attempts` tries of 30 s each."""
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
    for attempt in range(attempts):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
        try:
            got = c.committed([TopicPartition(topic, p) for p in range(NPARTS)], timeout=30)
            return {tp.partition: max(tp.offset, 0) for tp in got}
        except KafkaException as e:
            if e.args[0].code() != KafkaError._TIMED_OUT or attempt == attempts - 1:
                raise
            print(f"committed offsets of {group}: timed out, retrying", flush=True)
        finally:
            c.close()
    raise AssertionError("unreachable")


def node_errors(c, limit=40):
    """The last `limit` ERROR lines of every node's log, printed when the read-back fails:
    the nodes' own account of what they gave up on (a marker dropped, a log failed) is the
    first clue to a transaction left in doubt or offsets left pending."""
    for n in c.nodes:
        try:
            with open(n.log_path, errors="replace") as f:
                lines = [ln.rstrip() for ln in f if " ERROR " in ln]
        except OSError as e:
            print(f"node {n.node_id}: cannot read {n.log_path}: {e}", flush=True)
            continue
        print(f"node {n.node_id}: {len(lines)} ERROR line(s) in its log"
              + (f", the last {limit}:" if len(lines) > limit else ":" if lines else ""),
              flush=True)
        for ln in lines[-limit:]:
            print("  " + ln, flush=True)


# ------------------------------------------------------------------ main

def settle(c, timeout=180):
    """Bounded wait until every node runs, answers and agrees on a leader for every
    partition of both topics (a node just restarted may refuse a connection or two)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            c.wait_ready(30)
            for topic in (QUEUE, TXN):
                cluster_harness.wait_topic_led(c, topic, NPARTS, timeout=30)
            return
        except Exception as e:
            if time.monotonic() > deadline:
                raise
            log(f"not settled yet: {str(e).splitlines()[0]}")
            time.sleep(1)


def create_topics(c):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
    fs = admin.create_topics([NewTopic(QUEUE, NPARTS, 3), NewTopic(TXN, NPARTS, 3)],
                             operation_timeout=30)
    for f in fs.values():
        f.result(60)
    cluster_harness.wait_topic_led(c, QUEUE, NPARTS)
    cluster_harness.wait_topic_led(c, TXN, NPARTS)


def usable_faults(args, faults):
    """The faults this machine can make; the net (a Net or None) and the faketime library.
    Left-out faults are said."""
    lib = os.path.abspath(os.environ.get("BROOK_POWERLOSS_LIB", ""))
    if "power" in faults and not os.path.exists(lib):
        log(f"no power-loss shim (BROOK_POWERLOSS_LIB={lib!r}): power faults left out")
        faults.remove("power")
    net = None
    if args.netns:
        if not netns_ok():
            log("--netns needs root and iproute2: isolate and partition faults left out")
        else:
            try:
                net = Net(args.nodes)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                log(f"cannot make the network namespaces ({e}): isolate faults left out")
    for f, ok in (("isolate", net), ("partition", net and nft_ok())):
        if f in faults and not ok:
            log(f"{f} faults left out (they need --netns, root, iproute2"
                f"{', nft' if f == 'partition' else ''})")
            faults.remove(f)
    faketime = Clocks.find()
    if "clock" in faults and not faketime:
        log("libfaketime not installed: clock faults left out")
        faults.remove("clock")
    return lib, net, faketime


def configure_nodes(c, faults, lib, net, faketime):
    if net:
        c.zk.host = net.host_ip()
        for n in c.nodes:
            n.host = net.node_ip(n.node_id)
            n.argv_prefix = ("ip", "netns", "exec", net.ns[n.node_id])
    clocks = Clocks(faketime, c.tmp) if "clock" in faults else None
    for n in c.nodes:
        env, preload = {}, []
        if "power" in faults:
            preload.append(lib)
            env["BROOK_POWERLOSS_STATE"] = os.path.join(c.tmp, f"node{n.node_id}.power")
        if clocks:
            preload.append(faketime)
            env.update(clocks.env(n.node_id))
        if preload:
            env["LD_PRELOAD"] = " ".join(preload)
        n.extra_env = env
    return clocks


def start_watchdog(netns):
    """watchdog.py, in a process of its own, ends this run if it stops running Python for
    CHAOS_WATCHDOG_S seconds (default 300; 0: no watchdog): a client call that keeps the
    GIL while a librdkafka thread is deadlocked stops every thread here (docs/reliability.md,
    "a client deadlock"). A thread touches the heartbeat file every 5 s."""
    stall = float(os.environ.get("CHAOS_WATCHDOG_S", "300"))
    if stall <= 0:
        return
    tmp = os.environ.get("TMPDIR", "/tmp")
    beat = os.path.join(tmp, f"chaos-heartbeat-{os.getpid()}")
    stacks = os.path.join(tmp, f"chaos-stall-stacks-{os.getpid()}.txt")

    def touch():
        while True:
            open(beat, "w").close()
            time.sleep(5)

    def drop():
        try:
            os.unlink(beat)
        except FileNotFoundError:
            pass
    open(beat, "w").close()
    threading.Thread(target=touch, name="heartbeat", daemon=True).start()
    atexit.register(drop)
    argv = [sys.executable, os.path.join(HERE, "watchdog.py"), "--pid", str(os.getpid()),
            "--heartbeat", beat, "--stall", str(stall), "--stacks", stacks]
    if netns:
        argv += ["--netns-tag", str(net_tag())]
    # Its own session: not in the harness's process group, so it outlives a kill of it.
    subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL)
    log(f"watchdog: this run ends if it runs no Python for {stall:.0f} s "
        f"(CHAOS_WATCHDOG_S; stacks then in {stacks})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--faults", default=ALL_FAULTS)
    ap.add_argument("--netns", action="store_true",
                    help="each node in its own network namespace (root): isolate and "
                         "partition faults")
    ap.add_argument("--no-kafkajs", action="store_true", help="librdkafka clients only")
    ap.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                    help="a broker config for every node (e.g. log.flush.mode=interval, "
                         "whose weaker promise a power cut of all nodes shows)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    log(f"seed {seed} ({args.seconds:.0f}s, {args.nodes} nodes, faults {args.faults}); "
        f"rerun: python3 tests/chaos/chaos.py --seed {seed} --seconds {args.seconds:.0f}"
        f"{' --nodes %d' % args.nodes if args.nodes != 3 else ''}"
        f"{' --netns' if args.netns else ''}")
    start_watchdog(args.netns)
    brookd = find_brookd()
    require_cluster_support(brookd)
    import confluent_kafka
    log(f"clients: confluent-kafka {confluent_kafka.version()[0]} on librdkafka "
        f"{confluent_kafka.libversion()[0]}")
    config = dict(CONFIG, **dict(kv.split("=", 1) for kv in args.config))
    faults = args.faults.split(",")
    lib, net, faketime = usable_faults(args, faults)
    node = None if args.no_kafkajs else kafkajs_node(JS)
    c = Cluster(args.nodes, brookd=brookd, config=config, name="chaos",
                session_timeout_ms=SESSION_MS)
    clocks = configure_nodes(c, faults, lib, net, faketime)
    with c:
        create_topics(c)
        # One random stream per part, each from the seed alone.
        q = QueueWorkload(c.bootstrap_all, random.Random(f"queue-{seed}"))
        kj = KafkajsQueue(node, c.bootstrap_all, c.tmp) if node else None
        subs = Subscribers(c.bootstrap_all)
        t = TxnWorkload(c.bootstrap_all, random.Random(f"txn-{seed}"))
        kt = KafkajsTxn(node, c.bootstrap_all, c.tmp,
                        random.Random(f"txn-kafkajs-{seed}").randrange(1 << 31)) if node else None
        nem = Nemesis(c, random.Random(f"nemesis-{seed}"), args.seconds, faults, net, clocks)
        q.start()
        subs.start()
        t.start()
        nem.run()
        log("healed; waiting for the cluster to settle")
        settle(c)
        end = time.monotonic()
        q.stop()
        kjs_acked = 0
        if kj:
            kj.stop()
            kjs_acked = kj.merge(q)
        t.stop()
        if kt:
            kt.stop()
            kt.merge()
        subs.stop()
        txn_clients = t.clients + ([kt] if kt else [])
        try:
            got_q = read_back(c.bootstrap_all, QUEUE, committed_only=False)
            hanging = wait_stable(c.bootstrap_all, TXN)
            got_t = read_back(c.bootstrap_all, TXN, committed_only=True)
            final = [group_offsets(c.bootstrap_all, cl.group, TXN) for cl in txn_clients]
            final_sub = group_offsets(c.bootstrap_all, Subscribers.GROUP, QUEUE)
        except Exception:
            node_errors(c)
            raise
        logs = {n.node_id: open(n.log_path, errors="replace").read() for n in c.nodes}
        deleted = checker.check_node_logs(logs)
        rewinds = checker.commit_rewinds(logs, Subscribers.GROUP, QUEUE)
        del logs
    if net:
        net.close()
    # Both transactional clients' histories: librdkafka's two and kafkajs's.
    txns = types.SimpleNamespace(txns=t.txns + (kt.txns if kt else []),
                                 ok_times=t.ok_times + (kt.ok_times if kt else []))
    counts = checker.check_queue(q, got_q)
    counts.update(checker.check_txn(txns, got_t))
    counts.update(checker.check_polls([(ev, True) for ev in subs.events]
                                      + [(cl.events, False) for cl in t.clients]))
    counts.update(checker.check_committed(subs.samples, subs.commits, final_sub, rewinds))
    counts.update(checker.check_txn_offsets([cl.txns for cl in txn_clients], final))
    counts.update(checker.check_g1c(txns.txns, got_t))
    counts["hanging"] = len(hanging)
    counts.update(deleted)
    outcomes = {o: sum(1 for x in txns.txns if x["outcome"] == o)
                for o in ("committed", "aborted", "unknown")}
    summary = {"seed": seed, "seconds": args.seconds, "nodes": args.nodes,
               "faults": len(nem.events),
               "fault_kinds": {f: sum(1 for e in nem.events if e[1] == f)
                               for f in sorted({e[1] for e in nem.events})},
               "power_cuts": [{"node": nid, "bytes_dropped": b} for nid, b in nem.cut],
               "queue": {"sent": len(q.sent), "acked": len(q.acked), "acked_kafkajs": kjs_acked,
                         "failed": q.failed, "read": len(got_q),
                         "polled_by_subscribers": sum(1 for ev in subs.events for e in ev
                                                      if e[0] == "msg")},
               "txn": dict(outcomes, read=len(got_t),
                           reads_in_txns=sum(len(x["reads"]) for x in txns.txns),
                           kafkajs=len(kt.txns) if kt else 0,
                           kafkajs_unsent=kt.unsent if kt else 0),
               "liveness_s": {"queue": checker.liveness(nem.heals, q.ok_times, end),
                              "txn": checker.liveness(nem.heals, txns.ok_times, end)},
               "anomalies": counts, "examples": checker.EXAMPLES}
    print(json.dumps(summary, indent=1), flush=True)
    if counts["committed_backwards"] or counts["stale_offset_read"] or counts["commit_reordered"]:
        dump = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"chaos-commits-{seed}.json")
        with open(dump, "w") as f:
            json.dump({"samples": subs.samples, "commits": subs.commits,
                       "events": [[list(e) for e in ev if e[0] != "msg"] for ev in subs.events],
                       "heals": nem.heals, "faults": nem.events}, f)
        log(f"committed offsets, commits and rebalances written to {dump}")
    bad = {k: v for k, v in counts.items() if v and k not in checker.INFORMATIONAL}
    if not nem.events or not q.acked or not outcomes["committed"]:
        log("FAIL: the run did too little to check anything")
        return 1
    if bad:
        log(f"FAIL (seed {seed}): {bad}")
        return 1
    log(f"OK (seed {seed}): no anomaly in {len(q.acked)} acknowledged writes and "
        f"{outcomes['committed']} committed transactions under {len(nem.events)} faults")
    return 0


if __name__ == "__main__":
    sys.exit(main())
