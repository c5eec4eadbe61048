#!/usr/bin/python3
"""Replica assignments and compression.type on a real 3-node cluster over a real ZooKeeper
(cluster_harness.py), with python3-confluent-kafka and raw requests (raw_kafka.py).

1. CreateTopics with the replica assignment [[2,3,1],[3,1,2],[1,2,3]] (the harness's node
   ids): Metadata v1 asked of every node itself shows exactly those replica lists, in that
   order, each partition led by the first of its list, the ISR all three (bounded wait for
   the cluster to settle).  100 records with acks=all to each partition are acknowledged at
   offsets 0..99 and read back unchanged.
2. Refused, and nothing created (every node's Metadata of all topics, never a Metadata
   naming the topic, which would auto-create it): a node id that does not exist (99), a
   broker twice in one list, lists of different lengths (through confluent-kafka and, so
   that no client check stands in between, raw CreateTopics v4) ->
   INVALID_REPLICA_ASSIGNMENT.
3. CreatePartitions of the topic to 4 with [[1,2,3]]: partition 3 has replicas [1,2,3] on
   every node, led by 1, and takes 100 acks=all records; to 5 with [[99,1,2]] and with a
   2-replica list for the RF-3 topic -> INVALID_REPLICA_ASSIGNMENT, still 4 partitions.
4. compression.type=zstd on an RF-3 topic: 300 uncompressed records produced with acks=all
   are stored as zstd batches (attributes' codec bits = 4) on every replica: raw Fetch of the
   leader; its leader SIGKILLed, raw Fetch of the new leader; that one SIGKILLed too, raw
   Fetch of the last replica.  Each replica's records bytes are the first leader's, byte
   for byte (followers copy the leader's stored batches), and a consumer reads every record
   back unchanged after each failover.  With one node alive, CreatePartitions of the
   topic is INVALID_REPLICATION_FACTOR (it used to be UNKNOWN_SERVER_ERROR).  The killed
   nodes are restarted at the end.
5. Cluster-wide dynamic broker defaults (BROKER resource "", kept in ZooKeeper): raw
   IncrementalAlterConfigs SET log.retention.ms and background.threads through one node;
   DescribeConfigs of "" and of each node's own id on every node then shows both from
   DYNAMIC_DEFAULT_BROKER_CONFIG (bounded wait: the others learn it from their ZooKeeper
   watch). A node SIGKILLed and restarted still has them. A DELETE through another node
   removes log.retention.ms everywhere (back to STATIC_BROKER_CONFIG), and AlterConfigs of
   "" through a third replaces the whole set (background.threads gone too).
6. The internal topics keep the partition count they were created with: node 2 restarted
   with transaction.state.log.num.partitions and offsets.topic.num.partitions 7 (created
   with 50) still names, for 16 group ids and 16 transactional ids, the coordinator every
   other node names (raw FindCoordinator v1 asked of each node; bounded wait while
   leaderships settle).  Through node 2 alone, a group's offset committed before is read
   back and a transaction commits and is read back read_committed.

Every wait is bounded; everything started is stopped."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Check, find_brookd, run_main  # noqa: E402
from cluster_harness import Cluster, dump_log_lines, require_cluster_support  # noqa: E402
import raw_kafka  # noqa: E402
from raw_kafka import Conn, Reader, s16  # noqa: E402

TOPIC = "assigned"
ZTOPIC = "zstd-rf3"
BAD_TOPICS = ("ghost-node", "dup-broker", "uneven-rf", "raw-ghost-node", "raw-uneven-rf")
ERR_INVALID_REPLICA_ASSIGNMENT = 39
ERR_INVALID_REPLICATION_FACTOR = 38
ZSTD = 4
NRECS = 100
ZRECS = 300
SETTLE_S = 30.0


def log(msg):
    print(f"[cluster_topic_configs] {msg}", flush=True)


def wait_for(what, fn, timeout, step=0.1):
    """fn() until it returns something true, at most `timeout` s; returns it or raises."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


# ------------------------------------------------------------------ raw requests
def metadata_all(address):
    """Metadata v1 of every topic asked of the broker at `address` itself (all topics: no
    auto-creation) -> {topic: {partition: (error, leader, replicas in order, sorted isr)}}.
    Topics with a topic-level error map to that error code (an int)."""
    with Conn(address, b"cluster-topic-configs", 5.0) as c:
        body, _ = c.request(3, 1, struct.pack(">i", -1), "Metadata v1")
    r = Reader(body)
    for _ in range(r.take(">i")):
        r.take(">i"), r.string(), r.take(">i"), r.string()
    r.take(">i")  # controller
    out = {}
    for _ in range(r.take(">i")):
        terr = r.take(">h")
        name = r.string()
        r.take(">b")
        parts = {}
        for _ in range(r.take(">i")):
            perr, pid, leader = r.take(">hii")
            reps = [r.take(">i") for _ in range(r.take(">i"))]
            isr = sorted(r.take(">i") for _ in range(r.take(">i")))
            parts[pid] = (perr, leader, reps, isr)
        out[name] = terr if terr else parts
    return out


def views(c, topic):
    """{node id: that node's view of topic (metadata_all), None when it lacks it, or the
    exception's repr when it cannot be asked} for every running node."""
    out = {}
    for n in c.nodes:
        if not n.running():
            continue
        try:
            out[n.node_id] = metadata_all(n.bootstrap).get(topic)
        except (OSError, ConnectionError, AssertionError, struct.error) as e:
            out[n.node_id] = repr(e)
    return out


def raw_create_assigned(address, topics):
    """CreateTopics v4 by hand: [(name, [[brokers] per partition])], -1 partitions and -1
    replication factor -> {name: error code}."""
    with Conn(address, b"cluster-topic-configs", 20.0) as c:
        return c.create_topics_assigned([(name, -1, list(enumerate(assigns)))
                                         for name, assigns in topics])


def raw_fetch(address, topic, partition):
    """Fetch v4 (max_wait 0, 4 MiB) of topic/partition from offset 0 asked of `address` ->
    (error, high watermark, the records bytes as the broker sent them)."""
    mb = 4 << 20
    body = (struct.pack(">iiiib", -1, 0, 0, mb, 0) + struct.pack(">i", 1) + s16(topic)
            + struct.pack(">i", 1) + struct.pack(">iqi", partition, 0, mb))
    with Conn(address, b"cluster-topic-configs", 10.0) as c:
        r, _ = c.request(1, 4, body, "Fetch v4")
    rd = Reader(r)
    rd.take(">i")  # throttle
    for _ in range(rd.take(">i")):
        rd.string()
        for _ in range(rd.take(">i")):
            part, err, hw, _lso = rd.take(">ihqq")
            na = rd.take(">i")
            for _ in range(max(na, 0)):
                rd.take(">qq")
            recs = rd.bytes_() or b""
            if part == partition:
                return err, hw, recs
    raise AssertionError(f"Fetch: no answer for {topic}/{partition} from {address}")


# ------------------------------------------------------------------ client helpers
def create(admin, topics, timeout=30):
    """{name: None or KafkaError code} for CreateTopics of the NewTopic list."""
    out = {}
    for name, fut in admin.create_topics(topics, operation_timeout=timeout).items():
        try:
            fut.result(timeout + 10)
            out[name] = None
        except Exception as e:  # KafkaException carrying a KafkaError
            out[name] = e.args[0].code()
    return out


def create_partitions(admin, topic, count, assignment, timeout=30):
    """None or the KafkaError code of CreatePartitions of topic to count."""
    from confluent_kafka.admin import NewPartitions
    fs = admin.create_partitions([NewPartitions(topic, count, replica_assignment=assignment)],
                                 operation_timeout=timeout)
    try:
        fs[topic].result(timeout + 10)
        return None
    except Exception as e:
        return e.args[0].code()


def live_bootstrap(c):
    return ",".join(n.bootstrap for n in c.nodes if n.running())


def produce_acked(ck, bootstrap, topic, partition, values, what, conf=None):
    """Produces values to topic/partition with acks=all; every delivery report must be OK,
    at offsets 0..len-1 in order."""
    from ck_helpers import flush, producer
    reports = []

    def dr(err, msg):
        reports.append((None if err is None else err.code(), msg.partition(), msg.offset()))

    p = producer(bootstrap, dict({"acks": "all", "message.timeout.ms": 30000}, **(conf or {})))
    for v in values:
        p.produce(topic, v, key=v[:12], partition=partition, on_delivery=dr)
    flush(p, 60)
    ck.eq(reports, [(None, partition, i) for i in range(len(values))],
          f"{what}: every acks=all delivery report OK, offsets 0..{len(values) - 1}")


def read_back(ck, bootstrap, topic, partition, values, what):
    from ck_helpers import consumer, read_partition
    cons = consumer(bootstrap)
    try:
        msgs = read_partition(cons, topic, partition, 0, timeout=60)
    finally:
        cons.close()
    ck.eq([(m.offset(), m.key(), m.value()) for m in msgs],
          [(i, v[:12], v) for i, v in enumerate(values)], f"{what}: read back unchanged")


def check_topics_absent(ck, c, admin, what):
    """None of BAD_TOPICS exists: admin.list_topics() of all topics and every running node's
    Metadata of all topics."""
    listed = admin.list_topics(timeout=15).topics
    ck.eq(sorted(t for t in BAD_TOPICS if t in listed), [], f"{what}: list_topics()")
    for nid, v in sorted(views_all(c).items()):
        ck.eq(sorted(t for t in BAD_TOPICS if t in v), [], f"{what}: node {nid}'s Metadata")


def views_all(c):
    return {n.node_id: metadata_all(n.bootstrap) for n in c.nodes if n.running()}


# ------------------------------------------------------------------ checks
def expected_view(assign, ids):
    return {p: (0, reps[0], list(reps), sorted(ids)) for p, reps in enumerate(assign)}


def wait_settled(ck, c, topic, want, what):
    """Bounded wait until every node shows `want` for topic, then the exact check per node
    (a node still showing something else fails it, with what it showed)."""
    t0 = time.monotonic()
    deadline = t0 + SETTLE_S
    while time.monotonic() < deadline:
        got = views(c, topic)
        if all(v == want for v in got.values()):
            break
        time.sleep(0.1)
    log(f"{what}: every node agreed after {time.monotonic() - t0:.1f}s")
    for nid, v in sorted(got.items()):
        ck.eq(v, want, f"{what}: node {nid}'s Metadata (partition: (error, leader, replicas, "
              f"isr))")


def check_assignment(ck, c, admin, ids):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import NewTopic
    n1, n2, n3 = ids
    assign = [[n2, n3, n1], [n3, n1, n2], [n1, n2, n3]]
    r = create(admin, [NewTopic(TOPIC, len(assign), replica_assignment=assign)])
    ck.eq(r[TOPIC], None, f"CreateTopics {TOPIC} with replica assignment {assign}")
    wait_settled(ck, c, TOPIC, expected_view(assign, ids), f"{TOPIC} as assigned")

    for p in range(len(assign)):
        values = [(f"p{p}-rec-{i:04d}-" + "v" * 50).encode() for i in range(NRECS)]
        produce_acked(ck, c.bootstrap_all, TOPIC, p, values, f"{TOPIC}/{p}")
        read_back(ck, c.bootstrap_all, TOPIC, p, values, f"{TOPIC}/{p}")

    # Refused assignments: a node that does not exist, a broker twice, uneven lists.
    r = create(admin, [NewTopic("ghost-node", 2, replica_assignment=[[n1, n2, 99], [n2, n3, n1]])])
    ck.eq(r["ghost-node"], KafkaError.INVALID_REPLICA_ASSIGNMENT, "node id 99 in an assignment")
    r = create(admin, [NewTopic("dup-broker", 2, replica_assignment=[[n1, n2, n3], [n2, n2, n3]])])
    ck.eq(r["dup-broker"], KafkaError.INVALID_REPLICA_ASSIGNMENT, "a broker twice in one list")
    r = create(admin, [NewTopic("uneven-rf", 2, replica_assignment=[[n1, n2, n3], [n2, n3]])])
    ck.eq(r["uneven-rf"], KafkaError.INVALID_REPLICA_ASSIGNMENT,
          "partitions with different replica counts")
    r = raw_create_assigned(c.bootstrap, [("raw-ghost-node", [[99, n1, n2]]),
                                          ("raw-uneven-rf", [[n1], [n2, n3]])])
    ck.eq(r, {"raw-ghost-node": ERR_INVALID_REPLICA_ASSIGNMENT,
              "raw-uneven-rf": ERR_INVALID_REPLICA_ASSIGNMENT},
          "raw CreateTopics v4: node 99, different replica counts")
    check_topics_absent(ck, c, admin, "refused topics not created")
    return assign


def check_create_partitions(ck, c, admin, ids, assign):
    from confluent_kafka import KafkaError
    n1, n2, n3 = ids
    err = create_partitions(admin, TOPIC, 4, [[n1, n2, n3]])
    ck.eq(err, None, f"CreatePartitions {TOPIC} to 4 with [[{n1},{n2},{n3}]]")
    assign = assign + [[n1, n2, n3]]
    wait_settled(ck, c, TOPIC, expected_view(assign, ids), f"{TOPIC} with partition 3")
    values = [(f"p3-rec-{i:04d}-" + "w" * 50).encode() for i in range(NRECS)]
    produce_acked(ck, c.bootstrap_all, TOPIC, 3, values, f"{TOPIC}/3")
    read_back(ck, c.bootstrap_all, TOPIC, 3, values, f"{TOPIC}/3")

    err = create_partitions(admin, TOPIC, 5, [[99, n1, n2]])
    ck.eq(err, KafkaError.INVALID_REPLICA_ASSIGNMENT, "CreatePartitions naming node 99")
    err = create_partitions(admin, TOPIC, 5, [[n1, n2]])
    ck.eq(err, KafkaError.INVALID_REPLICA_ASSIGNMENT,
          "CreatePartitions with 2 replicas for an RF-3 topic")
    time.sleep(1.0)  # a wrongly added partition would have reached the nodes by now
    for nid, v in sorted(views(c, TOPIC).items()):
        ck.eq(sorted(v), [0, 1, 2, 3], f"node {nid}: still 4 partitions after the refusals")
    md = admin.list_topics(timeout=15).topics[TOPIC]
    ck.eq(sorted(md.partitions), [0, 1, 2, 3], "list_topics(): still 4 partitions")
    ck.eq(md.partitions[3].replicas, [n1, n2, n3], "list_topics(): partition 3's replicas")


def fetch_zstd(ck, c, leader, want_bytes, what):
    """Raw Fetch of ZTOPIC/0 from node `leader` (bounded retry while it is not yet
    answering as leader with every record): every batch zstd, offsets 0..ZRECS-1 covered;
    returns the records bytes (equal to want_bytes unless that is None)."""
    addr = c.node(leader).bootstrap
    last = None

    def attempt():
        nonlocal last
        try:
            last = raw_fetch(addr, ZTOPIC, 0)
        except (OSError, ConnectionError, AssertionError, struct.error) as e:
            last = (repr(e), None, b"")
            return False
        return last[0] == 0 and last[1] == ZRECS

    try:
        wait_for(f"{what}: Fetch answered with every record", attempt, 30, 0.2)
    except AssertionError:
        pass  # the checks below say what it answered
    err, hw, recs = last
    ck.eq((err, hw), (0, ZRECS), f"{what}: Fetch error and high watermark from node {leader}")
    batches = raw_kafka.parse_batches(recs, compressed_ok=True)
    ck.eq(sorted({b["attributes"] & 0x07 for b in batches}), [ZSTD],
          f"{what}: codec bits of every batch on node {leader}")
    spans = [(b["base_offset"], b["last_offset"]) for b in batches]
    ck(spans and spans[0][0] == 0 and spans[-1][1] == ZRECS - 1 and
       all(spans[i + 1][0] == spans[i][1] + 1 for i in range(len(spans) - 1)),
       f"{what}: the batches cover offsets 0..{ZRECS - 1} without a gap: {spans}")
    if want_bytes is not None:
        ck(recs == want_bytes, f"{what}: node {leader}'s batches are the first leader's, byte "
           f"for byte ({len(recs)} vs {len(want_bytes)} bytes)")
    log(f"{what}: node {leader} holds {len(batches)} zstd batches, {len(recs)} bytes")
    return recs


def leader_of(c, topic, p):
    """The partition's leader as every running node shows it, when they agree and it runs;
    else None."""
    v = views(c, topic)
    leaders = {x[p][1] if isinstance(x, dict) and p in x else None for x in v.values()}
    if len(leaders) != 1:
        return None
    ld = leaders.pop()
    return ld if ld is not None and ld > 0 and c.node(ld).running() else None


def check_compression(ck, c, admin, ids):
    from confluent_kafka.admin import NewTopic
    r = create(admin, [NewTopic(ZTOPIC, 1, 3, config={"compression.type": "zstd"})])
    ck.eq(r[ZTOPIC], None, f"create {ZTOPIC} (RF 3, compression.type=zstd)")
    wait_for(f"{ZTOPIC} led with a full ISR on every node", lambda: all(
        isinstance(v, dict) and 0 in v and v[0][1] in ids and v[0][3] == sorted(ids)
        for v in views(c, ZTOPIC).values()), SETTLE_S)
    values = [(f"zstd-{i:05d}-" + "z" * 120).encode() for i in range(ZRECS)]
    produce_acked(ck, c.bootstrap_all, ZTOPIC, 0, values, f"{ZTOPIC}/0 uncompressed",
                  conf={"compression.codec": "none", "linger.ms": 20,
                        "batch.num.messages": 50})
    st = views(c, ZTOPIC)
    ck(all(v[0][3] == sorted(ids) for v in st.values()),
       f"{ZTOPIC}: the ISR still all three after the acks=all writes: {st}")

    first = wait_for(f"{ZTOPIC}'s leader", lambda: leader_of(c, ZTOPIC, 0), SETTLE_S)
    stored = fetch_zstd(ck, c, first, None, "first leader")
    read_back(ck, live_bootstrap(c), ZTOPIC, 0, values, f"{ZTOPIC} before any failover")

    killed = []
    try:
        old = first
        for round_ in (1, 2):
            t0 = time.monotonic()
            c.node(old).kill()
            killed.append(old)
            new = wait_for(f"a new leader of {ZTOPIC}/0 after node {old}'s SIGKILL", lambda: (
                (ld := leader_of(c, ZTOPIC, 0)) and ld not in killed and ld), 45, 0.1)
            log(f"failover {round_}: node {old} SIGKILLed, node {new} leads after "
                f"{time.monotonic() - t0:.1f}s")
            fetch_zstd(ck, c, new, stored, f"after failover {round_}")
            read_back(ck, live_bootstrap(c), ZTOPIC, 0, values, f"{ZTOPIC} after failover {round_}")
            old = new
        ck.eq(sorted(killed + [old]), sorted(ids),
              "the three replicas were each read as leader")
        # One node alive: new partitions of an RF-3 topic cannot be placed.
        from confluent_kafka.admin import AdminClient, NewPartitions
        lone = AdminClient({"bootstrap.servers": c.node(old).bootstrap})
        try:
            lone.create_partitions([NewPartitions(ZTOPIC, 2)])[ZTOPIC].result(40)
            code = None
        except Exception as e:  # KafkaException carrying a KafkaError
            code = e.args[0].code()
        ck.eq(code, ERR_INVALID_REPLICATION_FACTOR,
              f"CreatePartitions of {ZTOPIC} (RF 3) with one node alive")
    finally:
        for nid in killed:
            if not c.node(nid).running():
                c.node(nid).start()
    c.wait_ready(60)
    wait_for(f"{ZTOPIC}'s ISR all three again", lambda: all(
        isinstance(v, dict) and v[0][3] == sorted(ids) for v in views(c, ZTOPIC).values()), 60)
    read_back(ck, c.bootstrap_all, ZTOPIC, 0, values, f"{ZTOPIC} with every node back")


SRC_DYNAMIC_DEFAULT = 3
SRC_STATIC = 4
BROKER = 4
SET, DELETE = 0, 1


def describe_broker(address, name):
    """DescribeConfigs of BROKER resource `name` asked of `address` -> {key: (value,
    source)}."""
    with Conn(address, b"cluster-topic-configs", 10.0) as c:
        return {k: v[:2] for k, v in raw_kafka.describe_broker_configs(c, name).items()}


def alter_configs_default(address, configs):
    """AlterConfigs v0 of BROKER "" (the whole set becomes configs) -> error code."""
    cfgs = b"".join(s16(k) + s16(v) for k, v in configs)
    body = (struct.pack(">i", 1) + bytes([BROKER]) + s16("") + struct.pack(">i", len(configs))
            + cfgs + b"\x00")
    with Conn(address, b"cluster-topic-configs", 10.0) as c:
        r, _ = c.request(33, 0, body, "AlterConfigs v0")
    rd = Reader(r)
    rd.take(">i")
    assert rd.take(">i") == 1
    return rd.take(">h")


def settles(fn, timeout, step=0.1):
    """fn() until true, at most `timeout` s -> whether it became true."""
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def defaults_everywhere(c, want):
    """Whether every running node reports exactly `want` ({key: value}) as the
    cluster-wide defaults, both in DescribeConfigs of "" and of its own id (a node that
    does not answer yet: not yet)."""
    try:
        return defaults_seen(c, want)
    except OSError:
        return False


def defaults_seen(c, want):
    for n in c.nodes:
        if not n.running():
            continue
        d = describe_broker(n.bootstrap, "")
        if {k: v for k, (v, _s) in d.items()} != want:
            return False
        own = describe_broker(n.bootstrap, str(n.node_id))
        for k, v in want.items():
            if own.get(k) != (v, SRC_DYNAMIC_DEFAULT):
                return False
    return True


def check_cluster_defaults(ck, c, ids):
    n1, n2, n3 = (c.node(i) for i in ids)
    with Conn(n1.bootstrap, b"cluster-topic-configs", 10.0) as conn:
        err, msg = raw_kafka.incremental_alter_configs(
            conn, BROKER, "", [("log.retention.ms", SET, "7200000"),
                               ("background.threads", SET, "6")])
    ck.eq(err, 0, f"IncrementalAlterConfigs of \"\" through node {ids[0]} ({msg})")
    want = {"log.retention.ms": "7200000", "background.threads": "6"}
    ck(settles(lambda: defaults_everywhere(c, want), 20),
       "every node describes both defaults, from DYNAMIC_DEFAULT_BROKER_CONFIG")
    n3.kill()
    n3.start()
    c.wait_ready(60)
    ck(settles(lambda: defaults_everywhere(c, want), 20),
       f"node {ids[2]} SIGKILLed and restarted still has the defaults")
    with Conn(n2.bootstrap, b"cluster-topic-configs", 10.0) as conn:
        err, msg = raw_kafka.incremental_alter_configs(
            conn, BROKER, "", [("log.retention.ms", DELETE, None)])
    ck.eq(err, 0, f"DELETE of a default through node {ids[1]} ({msg})")
    want = {"background.threads": "6"}
    ck(settles(lambda: defaults_everywhere(c, want), 20),
       "the DELETE reached every node")
    static = {n.node_id: describe_broker(n.bootstrap, str(n.node_id)).get("log.retention.ms")
              for n in c.nodes}
    ck(all(v and v[1] == SRC_STATIC for v in static.values()),
       f"log.retention.ms is static again on every node: {static}")
    ck.eq(alter_configs_default(n3.bootstrap, [("log.roll.ms", "3600000")]), 0,
          f"AlterConfigs of \"\" through node {ids[2]}")
    want = {"log.roll.ms": "3600000"}
    ck(settles(lambda: defaults_everywhere(c, want), 20),
       "AlterConfigs replaced the whole set of defaults on every node")


def keep_line(ln):
    low = ln.lower()
    return any(w in low for w in ("assign", "replica", "leader", "topic", "compress", "zstd",
                                  "error", "warn", "isr", "dynamic"))


def coordinators_everywhere(c, keys, key_type):
    """{node id: [the coordinator it names for each key]} asked of every node itself, or
    None while any answer is an error (a coordinator loading) or a node cannot be asked."""
    out = {}
    for n in c.nodes:
        try:
            with Conn(n.bootstrap, b"cluster-topic-configs", 10.0) as conn:
                answers = [conn.find_coordinator(k, key_type) for k in keys]
        except (OSError, ConnectionError, AssertionError, struct.error):
            return None
        if any(err for err, _, _ in answers):
            return None
        out[n.node_id] = [node for _, node, _ in answers]
    return out


def check_internal_count(ck, c, ids):
    from ck_helpers import consumer, producer, read_partition
    from confluent_kafka import KafkaError, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
    ck.eq(create(admin, [NewTopic("coord-after", 1, 3)]), {"coord-after": None},
          "create coord-after")
    cons = consumer(c.bootstrap_all, {"group.id": "coord-group", "enable.auto.commit": False})
    try:
        # The nodes restarted just before: librdkafka hands a coordinator still loading
        # back as an error, which Kafka's own consumer would retry.
        busy = (KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE,
                KafkaError.NOT_COORDINATOR)
        deadline = time.monotonic() + SETTLE_S
        while True:
            try:
                cons.commit(offsets=[TopicPartition(TOPIC, 0, 42)], asynchronous=False)
                break
            except KafkaException as e:
                if e.args[0].code() not in busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        cons.close()
    n2 = c.node(ids[1])
    n2.config.update({"transaction.state.log.num.partitions": 7,
                      "offsets.topic.num.partitions": 7})
    n2.restart()
    keys = [f"coord-key-{i}" for i in range(16)]
    for key_type, what in ((0, "group ids"), (1, "transactional ids")):
        seen = {}

        def agree():
            seen.clear()
            v = coordinators_everywhere(c, keys, key_type)
            seen.update(v or {})
            return v and len({tuple(x) for x in v.values()}) == 1

        deadline = time.monotonic() + SETTLE_S
        while not agree() and time.monotonic() < deadline:
            time.sleep(0.2)
        ck(len(seen) == len(c.nodes) and len({tuple(x) for x in seen.values()}) == 1,
           f"every node names the same coordinators of {what}: {seen}")
    cons = consumer(n2.bootstrap, {"group.id": "coord-group", "enable.auto.commit": False})
    try:
        got = cons.committed([TopicPartition(TOPIC, 0)], timeout=30)[0].offset
    finally:
        cons.close()
    ck.eq(got, 42, "the offset committed before, read through node 2")
    p = producer(n2.bootstrap, {"transactional.id": "coord-txn", "enable.idempotence": True})
    p.init_transactions(60)
    p.begin_transaction()
    p.produce("coord-after", b"after", partition=0)
    p.commit_transaction(60)
    cons = consumer(n2.bootstrap, {"isolation.level": "read_committed"})
    try:
        msgs = read_partition(cons, "coord-after", 0, 0, timeout=60)
    finally:
        cons.close()
    ck.eq([m.value() for m in msgs], [b"after"], "a transaction through node 2, read back")


def main():
    ck = Check("cluster_topic_configs")
    brookd = find_brookd()
    require_cluster_support(brookd)
    from confluent_kafka.admin import AdminClient
    t0 = time.monotonic()
    with Cluster(3, brookd=brookd, name="topiccfg") as c:
        log(f"cluster ready in {time.monotonic() - t0:.1f}s ({c.tmp})")
        try:
            ids = [n.node_id for n in c.nodes]
            admin = AdminClient({"bootstrap.servers": c.bootstrap_all})
            assign = check_assignment(ck, c, admin, ids)
            check_create_partitions(ck, c, admin, ids, assign)
            check_compression(ck, c, admin, ids)
            check_cluster_defaults(ck, c, ids)
            check_internal_count(ck, c, ids)
            check_topics_absent(ck, c, admin, "refused topics still absent at the end")
        except BaseException:
            dump_log_lines(c, "cluster_topic_configs failed", keep_line)
            raise
    log(f"done in {time.monotonic() - t0:.1f}s")
    ck.done()


if __name__ == "__main__":
    run_main(main)
