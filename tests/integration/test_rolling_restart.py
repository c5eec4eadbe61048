#!/usr/bin/python3
"""A rolling restart under load with controlled shutdown (issue #11: "a clean shutdown
moves leadership away first, so a rolling restart causes no produce errors beyond
retriable ones"), on a real 3-node cluster over a real ZooKeeper, with a
python3-confluent-kafka (librdkafka) producer and consumer and raw Metadata requests.

Topic "roll": 3 partitions, replication factor 3, min.insync.replicas 2; the internal
topics have 3 partitions of 3 replicas each.  An idempotent acks=all producer writes
numbered records to every partition, continuously.  Each node in turn:

1. gets SIGTERM once every ISR is full;
2. exits cleanly (exit code 0), in a bounded time;
3. right after its exit, another node's Metadata shows it leading no partition and in no
   ISR, data and internal topics alike; and ZooKeeper's own history shows that this
   state was written while the node was still registered: every partition state znode's
   last write (mzxid) comes before the removal of the node's registration (the pzxid of
   /brook/brokers), i.e. its leaderships and ISR places moved before it went away (with
   controlled shutdown off they move only after: the controller reacts to the removal).
   While it shut down, its own Metadata answers are polled too: the first one showing it
   out of every ISR is printed, and a produce then sent to it for a partition it handed
   over must get NOT_LEADER_OR_FOLLOWER (the window is short: both are seen or not);
4. is restarted; the test waits until every ISR is full again.

At the end: no delivery error in the producer (every record produced was acknowledged),
every acknowledged record is read back exactly once, in the order produced per
partition, and no partition went without an acknowledgement for more than 3 s (the
longest gaps are printed per restart).

BROOK_TEST_CONTROLLED_SHUTDOWN=false runs the same with controlled.shutdown.enable=false
(=omit passes no such key, for a brookd from before controlled shutdown): step 3 then fails (a node's leadership moves only once its registration is gone), which
shows the test tells the two apart.  Needs python3-kazoo (a ZooKeeper client).  Every wait is bounded; everything started is
stopped."""

import logging
import os
import signal
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Check, run_main, wait_until  # noqa: E402
from cluster_harness import (Cluster, parse_partition_states, partition_states,  # noqa: E402
                             require_cluster_support)
import raw_kafka  # noqa: E402

TOPIC = "roll"
NPARTS = 3
MAX_GAP_S = 3.0          # longest time a partition may go without an acknowledgement
EXIT_TIMEOUT_S = 30.0    # SIGTERM -> exit (controlled.shutdown.timeout.ms is 10 s)
# "false": controlled.shutdown.enable=false; "omit": the key is not passed (a brookd from
# before controlled shutdown refuses it as unknown).
CONTROLLED = os.environ.get("BROOK_TEST_CONTROLLED_SHUTDOWN", "true")
CONFIG = {"default.replication.factor": 3, "min.insync.replicas": 2,
          "num.partitions": NPARTS,
          "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3}
if CONTROLLED != "omit":
    CONFIG["controlled.shutdown.enable"] = "false" if CONTROLLED == "false" else "true"


def wait_for(what, cond, timeout, step=0.1):
    return wait_until(cond, timeout, step, what)


def partitions(address, timeout=2.0):
    """{(topic, partition): (error, leader, replicas, isr)} of every topic, internal ones
    included, from Metadata v1 asked of the broker at `address` itself."""
    return partition_states(address, None, timeout)


def conn_partitions(conn):
    """partitions() over an open raw_kafka.Conn."""
    return parse_partition_states(conn.request(3, 1, struct.pack(">i", -1), "Metadata")[0])


def try_partitions(address, timeout=2.0):
    try:
        return partitions(address, timeout)
    except (OSError, ConnectionError, struct.error, AssertionError):
        return None


def all_isrs_full(c):
    """Every running node's Metadata shows the topic and both internal topics, every
    partition led by a running node with its whole replica list in the ISR."""
    live = {n.node_id for n in c.nodes if n.running()}
    for n in c.nodes:
        if not n.running():
            continue
        st = try_partitions(n.bootstrap)
        if not st or len({t for t, _ in st}) < 3 or \
                sum(1 for t, _ in st if t == TOPIC) != NPARTS:
            return False
        for err, leader, reps, isr in st.values():
            if err or leader not in live or len(reps) != 3 or isr != reps:
                return False
    return True


def involved(st, node_id):
    """Partitions of `st` that node_id leads or is in the ISR of."""
    return sorted(f"{t}-{p}" for (t, p), (_, leader, _, isr) in st.items()
                  if leader == node_id or node_id in isr)


# Produce errors a client retries: LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER,
# REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS(_AFTER_APPEND); 0 is success.
RETRIABLE = {0, 5, 6, 7, 19, 20}


class RawProducer:
    """acks=all Produce requests, one at a time, on one connection to one node for one
    partition, from a thread, until the node closes the connection; counts the answers by
    error code. Values are unique ("raw-<node>-<n>")."""

    def __init__(self, address, part, nid):
        self.conn = raw_kafka.Conn(address, answer_within=15.0)
        self.part, self.nid = part, nid
        self.codes = {}
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        n = 0
        while not self.stop:
            rb = raw_kafka.record_batch(-1, -1, -1, [b"raw-%d-%d" % (self.nid, n)])
            n += 1
            try:
                err, _, _ = self.conn.produce(TOPIC, self.part, rb, "raw produce",
                                              timeout_ms=10000)
            except (OSError, ConnectionError, struct.error, AssertionError):
                return  # the node closed its listener
            self.codes[err] = self.codes.get(err, 0) + 1
            time.sleep(0.002)

    def finish(self):
        self.stop = True
        self.t.join(20)
        self.conn.close()
        return dict(sorted(self.codes.items()))


class Load:
    """An idempotent acks=all producer writing "p:n" records to every partition in turn
    (about 1000 a second) from a thread; remembers what was acknowledged, in order, and
    when."""

    def __init__(self, bootstrap):
        from confluent_kafka import Producer
        self.acked = {p: [] for p in range(NPARTS)}
        self.ack_times = {p: [] for p in range(NPARTS)}
        self.errors = []
        self.produced = 0
        self.stop = False
        self.p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                           "acks": "all", "linger.ms": 5, "message.timeout.ms": 120000,
                           "retry.backoff.ms": 50, "topic.metadata.refresh.interval.ms": 1000,
                           "error_cb": self.on_error})
        self.t = threading.Thread(target=self.run, daemon=True)

    def on_error(self, err):
        if err.fatal():  # e.g. a broken idempotent sequence: the producer is finished
            self.errors.append(f"fatal: {err}")

    def report(self, err, msg):
        if err:
            self.errors.append(f"{msg.partition()}: {err}")
        else:
            self.acked[msg.partition()].append(msg.value())
            self.ack_times[msg.partition()].append(time.monotonic())

    def run(self):
        n = 0
        next_at = time.monotonic()
        while not self.stop:
            part = n % NPARTS
            try:
                self.p.produce(TOPIC, value=b"%d:%d" % (part, n), partition=part,
                               on_delivery=self.report)
                n += 1
                self.produced = n
            except BufferError:
                pass
            next_at += 0.001
            self.p.poll(max(0.0, next_at - time.monotonic()))

    def acks(self, part):
        return len(self.acked[part])

    def finish(self, timeout=60):
        self.stop = True
        self.t.join(10)
        return self.p.flush(timeout)

    def max_gap(self, t0, t1):
        """The longest time without an acknowledgement on any partition within [t0, t1],
        as (seconds, partition)."""
        worst = (0.0, -1)
        for p, ts in self.ack_times.items():
            prev = t0
            for t in ts + [t1]:
                if t < t0:
                    continue
                if t > t1:
                    t = t1
                if t - prev > worst[0]:
                    worst = (t - prev, p)
                prev = t
                if t >= t1:
                    break
        return worst


def read_all(bootstrap, expect_total, timeout=90):
    """Every record of every partition from the beginning: {partition: [values]}."""
    import ck_helpers
    return ck_helpers.read_all(bootstrap, TOPIC, NPARTS, expect_total, timeout, "roll-reader")


def zk_states_before_removal(ck, zk, nid):
    """After node nid's exit: in ZooKeeper, no partition state names it leader or ISR
    member, and each state znode was last written before its registration was removed."""
    import json
    removed = zk.exists("/brook/brokers").pzxid  # the last child change: its removal
    ck(zk.exists(f"/brook/brokers/{nid}") is None, f"node {nid}'s registration is gone")
    for t in (TOPIC, "__transaction_state", "__consumer_offsets"):
        data, st = zk.get(f"/brook/topics/{t}/state")
        parts = json.loads(data)["partitions"]
        bad = [i for i, p in enumerate(parts) if p["leader"] == nid or nid in p["isr"]]
        ck(not bad, f"ZooKeeper: {t} partitions {bad} still name node {nid} leader or ISR member")
        ck(st.mzxid < removed, f"ZooKeeper: {t}'s state (zxid {st.mzxid:#x}) was written before "
           f"node {nid}'s registration went away (zxid {removed:#x}): its leaderships and ISR "
           f"places moved while it was still there")


def restart_one(ck, c, zk, load, node):
    """SIGTERM `node` under load, check its leaderships and ISR places moved before it went
    away, restart it, wait for full ISRs. Returns the longest acknowledgement gap."""
    others = [n for n in c.nodes if n is not node]
    nid = node.node_id
    wait_for("every ISR full before the restart", lambda: all_isrs_full(c), 90, step=0.2)
    # Steady load first: some acknowledgements on every partition since the last restart.
    acks = [load.acks(p) for p in range(NPARTS)]
    wait_for("steady acknowledgements before the restart", lambda: all(
        load.acks(p) >= acks[p] + 200 for p in range(NPARTS)), 60, step=0.05)
    before = try_partitions(others[0].bootstrap)
    led = sorted(f"{t}-{p}" for (t, p), v in before.items() if v[1] == nid)
    # An open connection to the node, so the polling below is quick (the controlled
    # shutdown itself takes some tens of milliseconds).
    mine = raw_kafka.Conn(node.bootstrap, answer_within=5.0)
    mine_led = [int(x.rsplit("-", 1)[1]) for x in led if x.startswith(TOPIC + "-")]
    raw = RawProducer(node.bootstrap, mine_led[0], nid) if mine_led else None
    t0 = time.monotonic()
    node.proc.send_signal(signal.SIGTERM)
    moved_while_serving = None  # seconds after SIGTERM
    last_view = None            # the node's own Metadata, last seen while it served
    deadline = t0 + EXIT_TIMEOUT_S
    while mine is not None and node.proc.poll() is None and time.monotonic() < deadline:
        # While the node still answers (its listener open), does the cluster state it
        # serves (ZooKeeper's) show its leaderships and ISR places gone?
        try:
            own = conn_partitions(mine)
        except (OSError, ConnectionError, struct.error, AssertionError):
            mine.close()
            mine = None  # it stopped serving
            break
        last_view = own
        if involved(own, nid):
            time.sleep(0.001)
            continue
        if moved_while_serving is None:
            moved_while_serving = time.monotonic() - t0
        time.sleep(0.001)
    if mine is not None:
        mine.close()
    while node.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    codes = raw.finish() if raw else None
    exited = node.proc.poll() is not None
    t_exit = time.monotonic() - t0
    ck(exited, f"node {nid} exited within {EXIT_TIMEOUT_S}s of SIGTERM")
    rc = node.stop()
    ck.eq(rc, 0, f"node {nid}'s exit code after SIGTERM (clean shutdown)")
    after = try_partitions(others[0].bootstrap)
    still = involved(after, nid) if after else ["(no metadata)"]
    print(f"[rolling] node {nid}: led {len(led)} partition(s) {led}; SIGTERM -> its own "
          f"Metadata shows it out of every leadership and ISR, while it serves: "
          f"{'%.3fs' % moved_while_serving if moved_while_serving is not None else 'never'}; "
          f"raw acks=all produces to it for {TOPIC}-{raw.part if raw else '-'} until it "
          f"closed, by error code: {codes}; "
          f"-> exit {t_exit:.3f}s; right after the exit it still leads or is in the ISR of: "
          f"{still}", flush=True)
    ck(led, f"node {nid} led something before its restart (else this checks nothing)")
    ck(not still, f"right after node {nid}'s exit another node's Metadata shows it leading "
       f"nothing and in no ISR: {still}")
    zk_states_before_removal(ck, zk, nid)
    if codes is not None:
        ck(set(codes) <= RETRIABLE, f"produces to node {nid} while it shut down got only "
           f"retriable errors (or none): {codes}")
    node.start()
    wait_for(f"every ISR full again after node {nid}'s restart", lambda: all_isrs_full(c), 90,
             step=0.2)
    t_full = time.monotonic()
    # Let the producer show its recovery on every partition before the gap is judged.
    acks = [load.acks(p) for p in range(NPARTS)]
    wait_for("acknowledgements on every partition after the restart", lambda: all(
        load.acks(p) > acks[p] for p in range(NPARTS)), 30, step=0.05)
    gap, part = load.max_gap(t0 - 1.0, time.monotonic())
    print(f"[rolling] node {nid}: restart -> every ISR full {t_full - t0:.2f}s after SIGTERM; "
          f"longest acknowledgement gap {gap:.3f}s (partition {part})", flush=True)
    return gap


def main():
    ck = Check("rolling_restart")
    require_cluster_support(os.environ.get("BROOKD"))
    print(f"[rolling] controlled.shutdown.enable="
          f"{CONFIG.get('controlled.shutdown.enable', '(not passed)')}", flush=True)
    try:
        from kazoo.client import KazooClient
    except ImportError:
        print("SKIP: no python3-kazoo (a ZooKeeper client)", flush=True)
        return 77
    with Cluster(3, config=CONFIG, name="roll") as c:
        logging.getLogger("kazoo").setLevel(logging.ERROR)
        zk = KazooClient(hosts=c.zk.address, timeout=10)
        zk.start(timeout=15)
        from confluent_kafka.admin import AdminClient, NewTopic
        a = AdminClient({"bootstrap.servers": c.bootstrap})
        for f in a.create_topics([NewTopic(TOPIC, NPARTS, 3)]).values():
            f.result(30)
        wait_for("the topic led with full ISRs", lambda: all_isrs_full(c), 60, step=0.2)
        load = Load(c.bootstrap_all)
        load.t.start()
        try:
            wait_for("the first acknowledged writes", lambda: all(
                load.acks(p) > 50 for p in range(NPARTS)), 60)
            gaps = [restart_one(ck, c, zk, load, node) for node in c.nodes]
        except BaseException:
            try:
                load.finish(5)
            except Exception as e:  # a producer in a fatal state: said, not raised
                print(f"[rolling] the producer at the failure: {e!r}", flush=True)
            print(f"[rolling] delivery errors so far: {load.errors[:5]}", flush=True)
            raise
        finally:
            zk.stop()
            zk.close()
        try:
            left = load.finish()
        except Exception as e:
            left = f"flush failed: {e!r}"
        total = sum(len(v) for v in load.acked.values())
        print(f"[rolling] {load.produced} produced, {total} acknowledged, "
              f"{len(load.errors)} delivery errors {load.errors[:5]}; longest gap per restart: "
              + ", ".join(f"{g:.3f}s" for g in gaps), flush=True)
        ck.eq(left, 0, "nothing left unacknowledged in the producer")
        ck.eq(load.errors, [], "no delivery errors")
        ck.eq(total, load.produced, "every produced record acknowledged")
        ck(total > 1000, f"enough acknowledged records to mean something ({total})")
        ck(max(gaps) <= MAX_GAP_S,
           f"no partition without an acknowledgement for more than {MAX_GAP_S}s: {gaps}")
        got = read_all(c.bootstrap_all, total)
        for p in range(NPARTS):
            seen, acked = got[p], load.acked[p]
            ck(len(seen) == len(set(seen)), f"partition {p}: no record twice "
               f"({len(seen) - len(set(seen))} duplicates)")
            pos = {v: i for i, v in enumerate(seen)}
            lost = [v for v in acked if v not in pos]
            ck(not lost, f"partition {p}: every acknowledged record read back ({len(lost)} of "
               f"{len(acked)} missing, e.g. {lost[:3]})")
            order = [pos[v] for v in acked]
            ck(order == sorted(order), f"partition {p}: acknowledged records in produce order")
            produced = sorted(acked, key=lambda v: int(v.split(b":")[1]))
            ck(acked == produced, f"partition {p}: acknowledged in the order produced")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
