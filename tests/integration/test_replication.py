#!/usr/bin/python3
"""Replication and failover on a real 3-node cluster over a real ZooKeeper (issue #11),
with python3-confluent-kafka (librdkafka) clients and the raw protocol (raw_kafka.py).

Topic "rep": 3 partitions, replication factor 3, min.insync.replicas 2 (broker default),
replica.lag.time.max.ms 2000.

1. Placement: every partition has 3 replicas, all in the ISR, leaders on all 3 nodes.
1b. Follower fetch sessions (KIP-227): every node fetches as a follower mostly with
   incremental fetches; a topic created later joins the sessions (acks=all writes to it
   are acknowledged, so both followers fetch it) and deleting it leaves them; afterwards,
   idle, each node's fetches list no partition (nothing moved), open no new session, and
   stay at the long poll's pace (no busy loop on a partition the leader no longer has).
2. Leader SIGKILLs under load: an idempotent acks=all producer writes numbered records to
   every partition while the leader of partition 0 is SIGKILLed and restarted 3 times.
   Each time a new leader is elected from the ISR and shows in Metadata within 2 s of the
   kill (fast failover: the controller sees the refused connections), and librdkafka's
   writes to partition 0 are acknowledged again within 5 s (its own recovery included).
   At the end every acknowledged record is read back exactly once, and per partition the
   acknowledged records are in the order they were produced.
3. A follower SIGSTOPped past replica.lag.time.max.ms leaves the ISR (2 remain, writes
   go on), and after SIGCONT catches up and rejoins.
4. Two of three down: with both followers of a partition SIGKILLed and dropped from the
   ISR, acks=all gets NOT_ENOUGH_REPLICAS and nothing is acknowledged; once they are back
   the ISR is 3 again and writes are acknowledged.
5. A paused (SIGSTOP) leader replaced by ZooKeeper session expiry acknowledges nothing
   after it resumes: a raw acks=all Produce sent to it is refused or times out, never
   acknowledged, and its record is not in the partition afterwards (its divergent tail is
   truncated when it follows the new leader).
6. A node whose data directory is wiped rejoins as an empty follower, catches up and is
   back in the ISR; every record is still readable.  Then the leader of partition 0 is
   SIGKILLed, its data directory wiped and the node started again at once, while its
   predecessor's ZooKeeper session still holds the registration: every acknowledged
   record is still readable once the ISR is full again (the new process used to lead on
   that registration in the old epoch with an empty log, and both followers truncated
   every record to match it).
7. Coordinator failover: the internal topics have 3 replicas too.  A transaction writing
   to all partitions is committed, and the node coordinating it is SIGKILLed after its
   decision is durable but before its markers go out (debug.txn.marker.delay.ms holds
   them 3 s) and NOT restarted: the new leader of its __transaction_state partition
   finishes the commit, and a read_committed reader sees the whole transaction on every
   partition, once; the transactional id then initialises and commits again.
8. A whole-cluster crash with a wiped disk: all three nodes SIGKILLed, the data directory
   of partition 0's leader wiped, and that node started alone first. It becomes the
   controller but leads none of the topic's partitions (the others' logs hold the data;
   the incarnations the controllers recorded in ZooKeeper tell it its own log is new);
   once the other two are back, every acknowledged record is still readable. (The
   controller used to know a broker's data directory only from the registrations it had
   seen itself, and elected the empty log.)

Every wait is bounded; everything started is stopped."""

import os
import shutil
import signal
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Check, run_main  # noqa: E402
import cluster_harness  # noqa: E402
from cluster_harness import Cluster, partition_state, require_cluster_support  # noqa: E402
import raw_kafka  # noqa: E402
from test_admin import metrics as admin_metrics, sample as metric_sample  # noqa: E402
from test_cluster_txn import wait_state  # noqa: E402

TOPIC = "rep"
NPARTS = 3
CONFIG = {"default.replication.factor": 3, "min.insync.replicas": 2,
          "replica.lag.time.max.ms": 2000, "num.partitions": NPARTS,
          "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3,
          # A replaced leader must not simply get its leadership back (phase 5).
          "auto.leader.rebalance.enable": "false",
          # Phase 7: a coordinator holds its markers to other nodes 3 s after deciding.
          "debug.txn.marker.delay.ms": 3000}


def wait_for(what, cond, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def state_of(c, p):
    return cluster_harness.state_of(c, TOPIC, p)


# The counters the fetch-session phase reads: (name, labels).
FULL = ("brook_replica_fetches_total", (("kind", "full"),))
INCR = ("brook_replica_fetches_total", (("kind", "incremental"),))
LISTED = ("brook_replica_fetch_partitions_total", ())
SERVED = ("brook_fetch_requests_total", (("client", "follower"),))


def node_counters(node):
    """{FULL: value, INCR: ..., LISTED: ..., SERVED: ...} from node's /metrics."""
    samples, _, _ = admin_metrics(node.admin_address())
    return {k: metric_sample(samples, k[0], **dict(k[1])) for k in (FULL, INCR, LISTED, SERVED)}


def acked_writes(bootstrap, topic, nparts, n):
    """Writes n records ("sess:PARTITION:I", apart from Load's) to each partition with
    acks=all; the number acknowledged."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                  "message.timeout.ms": 20000})
    ok = []
    for i in range(n):
        for part in range(nparts):
            p.produce(topic, f"sess:{part}:{i}".encode(), partition=part,
                      on_delivery=lambda err, msg: err is None and ok.append(1))
    p.flush(30)
    return len(ok)


def follower_sessions(ck, c):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": c.bootstrap})
    extra = "rep-extra"
    for f in a.create_topics([NewTopic(extra, 2, 3)]).values():
        f.result(30)
    wait_for("rep-extra led with a full ISR", lambda: (
        (s := partition_state(c.bootstrap, extra)) and len(s) == 2 and
        all(v[1] > 0 and len(v[3]) == 3 for v in s.values())), 30)
    got = acked_writes(c.bootstrap, extra, 2, 20)
    ck.eq(got, 40, "acks=all writes to a topic created after the sessions opened")
    for f in a.delete_topics([extra]).values():
        f.result(30)
    # Metadata for every topic: asking for rep-extra by name would create it again.
    wait_for("rep-extra gone", lambda: all(
        t != extra for t, _ in cluster_harness.partition_states(c.bootstrap)), 30)
    ck.eq(acked_writes(c.bootstrap, TOPIC, NPARTS, 5), 5 * NPARTS,
          "acks=all writes after a topic left the sessions")
    time.sleep(1.5)  # the last changes travel
    before = [node_counters(n) for n in c.nodes]
    time.sleep(3.0)
    after = [node_counters(n) for n in c.nodes]
    for n, m0, m1 in zip(c.nodes, before, after):
        d = {k: m1[k] - m0[k] for k in m1}
        print(f"[replication] node {n.node_id}: totals full {m1[FULL]} incremental "
              f"{m1[INCR]} listed {m1[LISTED]}; idle 3 s: full {d[FULL]} incremental "
              f"{d[INCR]} listed {d[LISTED]} answered {d[SERVED]}")
        ck(m1[INCR] > 3 * m1[FULL],
           f"node {n.node_id} fetches mostly incrementally ({m1[INCR]} incremental, "
           f"{m1[FULL]} full)")
        ck(d[INCR] > 0 and d[FULL] == 0 and d[LISTED] == 0,
           f"node {n.node_id} idle: incremental fetches listing nothing, no full one")
        # Two followers, each with a fetch parked up to 500 ms at this node: ~12 in 3 s.
        ck(d[SERVED] <= 40, f"node {n.node_id} answered {d[SERVED]} follower fetches in "
                            f"3 idle seconds (a long poll's pace, not a busy loop)")


class Load:
    """An idempotent acks=all producer writing "p:n" records round-robin to every
    partition from a thread; remembers what was acknowledged, in order."""

    def __init__(self, bootstrap):
        from confluent_kafka import Producer
        self.acked = {p: [] for p in range(NPARTS)}
        self.failed = 0
        self.stop = False
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                           "enable.idempotence": True, "linger.ms": 5,
                           "message.timeout.ms": 30000, "retry.backoff.ms": 50,
                           "topic.metadata.refresh.interval.ms": 500,
                           # librdkafka's default (10 s) can hold a reconnect to a new
                           # leader that was itself killed earlier for 6-9 s, all in the
                           # client (docs/replication.md); the Java client's default is 1 s.
                           "reconnect.backoff.max.ms": 1000})
        self.t = threading.Thread(target=self.run, daemon=True)
        self.n = 0

    def report(self, err, msg):
        if err:
            self.failed += 1
        else:
            self.acked[msg.partition()].append(msg.value())

    def run(self):
        while not self.stop:
            part = self.n % NPARTS
            try:
                self.p.produce(TOPIC, value=b"%d:%d" % (part, self.n), partition=part,
                               on_delivery=self.report)
                self.n += 1
            except BufferError:
                pass
            self.p.poll(0.002)

    def last_ack_count(self, part):
        return len(self.acked[part])

    def finish(self):
        self.stop = True
        self.t.join(10)
        return self.p.flush(40)


def read_all(bootstrap, expect_total, timeout=60):
    """Every record of every partition from the beginning: {partition: [values]}."""
    import ck_helpers
    return ck_helpers.read_all(bootstrap, TOPIC, NPARTS, expect_total, timeout, "rep-reader")


def check_acked_read_back(ck, load, got, what):
    for p in range(NPARTS):
        acked = load.acked[p]
        seen = got[p]
        ck(len(seen) == len(set(seen)), f"{what}: partition {p} holds no record twice "
           f"({len(seen) - len(set(seen))} duplicates)")
        seen_set = set(seen)
        lost = [v for v in acked if v not in seen_set]
        ck(not lost, f"{what}: partition {p}: every acknowledged record read back "
           f"({len(lost)} of {len(acked)} lost, e.g. {lost[:3]})")
        pos = {v: i for i, v in enumerate(seen)}
        order = [pos[v] for v in acked if v in pos]
        ck(order == sorted(order), f"{what}: partition {p}: acknowledged records in order")


def kill_leader_repeatedly(ck, c, load, kills=3):
    """Phase 2: SIGKILL the leader of partition 0 under load, restart it, `kills` times."""
    failovers, elected = [], []
    for k in range(kills):
        st = wait_for("partition 0 led with a full ISR", lambda: (
            (s := state_of(c, 0)) and s[1] > 0 and len(s[3]) == 3 and s), 60)
        leader = st[1]
        before = load.last_ack_count(0)
        t0 = time.monotonic()
        c.node(leader).kill()
        wait_for("a new leader of partition 0", lambda: (
            (s := state_of(c, 0)) and s[1] > 0 and s[1] != leader), 30, step=0.02)
        elected.append(time.monotonic() - t0)
        wait_for("an acknowledged write to partition 0 after the kill",
                 lambda: load.last_ack_count(0) > before, 30, step=0.02)
        failovers.append(time.monotonic() - t0)
        c.node(leader).start()
        c.wait_ready(60)
    print(f"[replication] partition 0 failovers (kill -> new leader in Metadata / -> next "
          f"ack): " + ", ".join(f"{e:.2f}s/{t:.2f}s" for e, t in zip(elected, failovers)))
    ck(max(elected) < 2.0, f"a new leader in Metadata within 2 s of every kill: {elected}")
    # The client's own recovery (metadata refresh, retry backoff) comes on top.
    ck(max(failovers) < 5.0, f"writes acknowledged again within 5 s of every kill: {failovers}")


def follower_pause(ck, c):
    """Phase 3: SIGSTOP a follower past the lag time; the ISR shrinks and regrows."""
    st = wait_for("partition 1 with a full ISR", lambda: (
        (s := state_of(c, 1)) and len(s[3]) == 3 and s), 30)
    follower = next(r for r in st[2] if r != st[1] and r != c.nodes[0].node_id) \
        if st[1] != c.nodes[0].node_id else next(r for r in st[2] if r != st[1])
    node = c.node(follower)
    node.proc.send_signal(signal.SIGSTOP)
    node.stopped = True
    try:
        p = raw_kafka.Conn(c.node(st[1]).bootstrap)
        shrunk = wait_for("the ISR of partition 1 without the paused follower", lambda: (
            (s := partition_state(c.node(st[1]).bootstrap, TOPIC)[1]) and follower not in s[3] and s), 15)
        ck(len(shrunk[3]) == 2, f"ISR shrank to 2 while node {follower} is paused: {shrunk[3]}")
        rb = raw_kafka.record_batch(-1, -1, -1, [b"while-paused"])
        err, base, _ = p.produce(TOPIC, 1, rb, "Produce acks=all with one follower paused")
        ck.eq(err, 0, "acks=all produce with 2 of 3 in the ISR")
        p.close()
    finally:
        node.proc.send_signal(signal.SIGCONT)
        node.stopped = False
    grown = wait_for("the paused follower back in the ISR", lambda: (
        (s := state_of(c, 1)) and follower in s[3] and s), 30)
    ck(len(grown[3]) == 3, f"ISR back to 3 after SIGCONT: {grown[3]}")


def two_down(ck, c):
    """Phase 4: both followers of partition 2 SIGKILLed: NOT_ENOUGH_REPLICAS."""
    st = wait_for("partition 2 with a full ISR", lambda: (
        (s := state_of(c, 2)) and len(s[3]) == 3 and s), 30)
    leader = st[1]
    followers = [r for r in st[2] if r != leader]
    for f in followers:
        c.node(f).kill()
    try:
        addr = c.node(leader).bootstrap
        wait_for("the ISR of partition 2 down to its leader", lambda: (
            (s := partition_state(addr, TOPIC)[2]) and s[3] == [leader] and s), 20)
        conn = raw_kafka.Conn(addr, answer_within=15.0)
        rb = raw_kafka.record_batch(-1, -1, -1, [b"two-down"])
        err, _, _ = conn.produce(TOPIC, 2, rb, "acks=all with 2 of 3 down", timeout_ms=3000)
        ck.eq(err, 19, "acks=all with the ISR below min.insync: NOT_ENOUGH_REPLICAS")
        conn.close()
    finally:
        for f in followers:
            c.node(f).start()
    c.wait_ready(60)
    wait_for("partition 2's ISR back to 3", lambda: (
        (s := state_of(c, 2)) and len(s[3]) == 3 and s), 30)
    conn = raw_kafka.Conn(c.node(state_of(c, 2)[1]).bootstrap, answer_within=15.0)
    err, _, _ = conn.produce(TOPIC, 2, raw_kafka.record_batch(-1, -1, -1, [b"back"]),
                             "acks=all after the followers returned")
    ck.eq(err, 0, "acks=all acknowledged once the ISR is back")
    conn.close()


def paused_leader(ck, c):
    """Phase 5: a SIGSTOPped leader, replaced at session expiry, acknowledges nothing."""
    st = wait_for("partition 0 led with a full ISR", lambda: (
        (s := state_of(c, 0)) and s[1] > 0 and len(s[3]) == 3 and s), 30)
    old = st[1]
    node = c.node(old)
    conn = raw_kafka.Conn(node.bootstrap, answer_within=20.0)
    node.proc.send_signal(signal.SIGSTOP)
    node.stopped = True
    try:
        wait_for("partition 0 led by another node", lambda: (
            (s := state_of(c, 0)) and s[1] > 0 and s[1] != old and s), 30)
        rb = raw_kafka.record_batch(-1, -1, -1, [b"zombie-write"])
        # Sent while it is stopped: it reads the request once it resumes.
        body = (raw_kafka.s16(None) + struct.pack(">hi", -1, 4000) + struct.pack(">i", 1)
                + raw_kafka.s16(TOPIC) + struct.pack(">i", 1) + struct.pack(">ii", 0, len(rb)) + rb)
        conn.corr += 1
        msg = struct.pack(">hhi", 0, 3, conn.corr) + raw_kafka.s16(conn.client_id) + body
        conn.s.sendall(struct.pack(">i", len(msg)) + msg)
    finally:
        node.proc.send_signal(signal.SIGCONT)
        node.stopped = False
    conn.s.settimeout(20)
    n = struct.unpack(">i", conn._recv(4))[0]
    r = raw_kafka.Reader(conn._recv(n)[4:])
    r.take(">i")
    r.string()
    r.take(">i")
    _, err, _, _ = r.take(">ihqq")
    ck(err != 0, f"the replaced leader did not acknowledge the write (error {err})")
    conn.close()
    c.wait_ready(60)
    wait_for("partition 0 with a full ISR again", lambda: (
        (s := state_of(c, 0)) and len(s[3]) == 3 and s), 40)


def wipe_restart(ck, c, victim, stop, what, wait_s):
    """stop() victim, wipe its data directory, start it again; every partition then has it
    back in a full ISR under a leader within wait_s."""
    stop()
    shutil.rmtree(victim.data_dir, ignore_errors=True)
    os.makedirs(victim.data_dir)
    victim.start()
    c.wait_ready(wait_s)
    for p in range(NPARTS):
        s = wait_for(f"node {victim.node_id} back in partition {p}'s ISR", lambda: (
            (s := state_of(c, p)) and victim.node_id in s[3] and s[1] > 0 and s), wait_s)
        ck(len(s[3]) == 3, f"partition {p}: ISR {s[3]} {what}")


def wipe_and_rejoin(ck, c, load_total):
    """Phase 6: a node with a wiped data directory rejoins as an empty follower."""
    victim = c.nodes[2]
    wipe_restart(ck, c, victim, victim.stop, "after the wiped node caught up", 60)


def wipe_killed_leader(ck, c):
    """Phase 6, second part: the leader of partition 0 SIGKILLed, wiped, started at once."""
    s = wait_for("partition 0 led", lambda: (s := state_of(c, 0)) and s[1] > 0 and s, 30)
    victim = c.node(s[1])
    wipe_restart(ck, c, victim, victim.kill, "after the killed and wiped leader", 90)


def coordinator_failover(ck, c):
    """Phase 7: the transaction coordinator dies between its decision and its markers."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    import cluster_harness
    tid = "rep-txn"
    addr = cluster_harness.coordinator_address(c.bootstrap, tid, key_type=1, timeout=30)
    coord = next(n for n in c.nodes if n.bootstrap == addr)
    p = Producer({"bootstrap.servers": c.bootstrap_all, "transactional.id": tid,
                  "transaction.timeout.ms": 60000})
    p.init_transactions(30)
    p.begin_transaction()
    values = [b"txn-%d" % part for part in range(NPARTS)]
    for part in range(NPARTS):
        p.produce(TOPIC, value=values[part], partition=part)
    p.flush(30)
    result = {}

    def commit():
        try:
            p.commit_transaction(60)
            result["ok"] = True
        except Exception as e:  # the client may see its coordinator die
            result["error"] = repr(e)

    th = threading.Thread(target=commit, daemon=True)
    th.start()
    wait_state(coord, tid, ("PrepareCommit",), 20)
    coord.kill()  # the decision is durable on the ISR; no marker has gone to another node
    try:
        deadline = time.monotonic() + 60
        cons = Consumer({"bootstrap.servers": c.bootstrap_all, "group.id": "rep-txn-reader",
                         "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
        cons.assign([TopicPartition(TOPIC, part, 0) for part in range(NPARTS)])
        seen = []
        while time.monotonic() < deadline and sorted(set(seen)) != sorted(values):
            m = cons.poll(0.2)
            if m is not None and not m.error() and m.value().startswith(b"txn-"):
                seen.append(m.value())
        cons.close()
        ck.eq(sorted(seen), sorted(values),
              "read_committed sees the whole transaction once, its coordinator dead")
        th.join(70)
        print(f"[replication] commit_transaction with its coordinator killed: {result}")
        p2 = Producer({"bootstrap.servers": c.bootstrap_all, "transactional.id": tid})
        p2.init_transactions(60)
        p2.begin_transaction()
        p2.produce(TOPIC, value=b"after", partition=0)
        p2.commit_transaction(60)
        ck(True, "the transactional id initialises and commits again on the new coordinator")
    finally:
        coord.start()
    c.wait_ready(60)


def whole_cluster_wipe(ck, c):
    """Phase 8: every node SIGKILLed, the leader of partition 0 wiped and started alone."""
    s = wait_for("partition 0 led", lambda: (s := state_of(c, 0)) and s[1] > 0 and s, 30)
    victim = c.node(s[1])
    others = [n for n in c.nodes if n is not victim]
    for n in c.nodes:
        n.kill()
    shutil.rmtree(victim.data_dir, ignore_errors=True)
    os.makedirs(victim.data_dir)
    elected = cluster_harness.log_count(victim.log_path, "elected controller")
    victim.start()
    try:
        # Its predecessor's registration lives until that ZooKeeper session expires.
        wait_for(f"node {victim.node_id} elected controller alone", lambda: cluster_harness.log_count(
            victim.log_path, "elected controller") > elected, c.session_timeout_ms / 1000 + 30)
        time.sleep(2.0)  # a few reconcile passes
        st = partition_state(victim.bootstrap, TOPIC)
        ck(all(v[1] != victim.node_id for v in st.values()),
           f"the wiped node alone leads none of {TOPIC}'s partitions: {st}")
    finally:
        for n in others:
            n.start()
    c.wait_ready(90)
    for p in range(NPARTS):
        wait_for(f"partition {p} with a full ISR after the whole-cluster crash", lambda: (
            (s := state_of(c, p)) and len(s[3]) == 3 and s[1] > 0 and s), 90)


def main():
    ck = Check("replication")
    require_cluster_support(os.environ.get("BROOKD"))
    with Cluster(3, config=CONFIG, name="repl") as c:
        c.wait_ready(60)
        from confluent_kafka.admin import AdminClient, NewTopic
        a = AdminClient({"bootstrap.servers": c.bootstrap})
        for f in a.create_topics([NewTopic(TOPIC, NPARTS, 3)]).values():
            f.result(30)
        st = wait_for("the topic's partitions led", lambda: (
            (s := partition_state(c.bootstrap, TOPIC)) and len(s) == NPARTS and
            all(v[1] > 0 for v in s.values()) and s), 30)
        ck(all(v[2] == [1, 2, 3] and v[3] == [1, 2, 3] for v in st.values()),
           f"every partition has replicas and ISR {{1,2,3}}: {st}")
        follower_sessions(ck, c)

        load = Load(c.bootstrap_all)
        load.t.start()
        wait_for("the first acknowledged writes", lambda: all(
            load.last_ack_count(p) > 20 for p in range(NPARTS)), 30)
        kill_leader_repeatedly(ck, c, load)
        follower_pause(ck, c)
        left = load.finish()
        ck.eq(left, 0, "every produced record acknowledged or failed by the end")
        total = sum(len(v) for v in load.acked.values())
        print(f"[replication] {total} acknowledged, {load.failed} failed")
        ck(total > 300, f"enough acknowledged records to mean something ({total})")
        check_acked_read_back(ck, load, read_all(c.bootstrap_all, total), "after leader kills")

        two_down(ck, c)
        paused_leader(ck, c)
        got = read_all(c.bootstrap_all, total)
        ck(b"zombie-write" not in got[0], "the replaced leader's write is not in partition 0")
        wipe_and_rejoin(ck, c, total)
        check_acked_read_back(ck, load, read_all(c.bootstrap_all, total), "after the wipe")
        wipe_killed_leader(ck, c)
        check_acked_read_back(ck, load, read_all(c.bootstrap_all, total),
                              "after the killed leader's wipe")
        coordinator_failover(ck, c)
        whole_cluster_wipe(ck, c)
        check_acked_read_back(ck, load, read_all(c.bootstrap_all, total),
                              "after the whole-cluster crash with a wiped leader")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
