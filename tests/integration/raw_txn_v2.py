"""Raw requests of transactions v2 (KIP-890 part 2) on a raw_kafka.Conn: the flexible
versions a Kafka 4 client (and a partition leader) sends. Each returns the broker's exact
answer, decoded; nothing retries. Used by test_txn_v2.py."""

import struct

from raw_kafka import TAGS, FReader, Reader, carr, cstr, flex_request, s16

TRANSACTION_ABORTABLE = 120
BROOK_GROUPS_TAG = 10000  # Brook's tagged field on AddPartitionsToTxn v4+: group participants


def api_versions(conn, version=4):
    """ApiVersions v3/v4 -> (error, {key: (min, max)}, supported features {name: (min, max)}
    (v3 leaves out those with min 0, KAFKA-17011),
    finalized epoch, finalized features {name: (min level, max level)})."""
    body = TAGS + cstr("brook-raw") + cstr("1.0") + TAGS
    r, _ = conn.request(18, version, body, f"ApiVersions v{version}")
    rd = FReader(r)  # the response header of ApiVersions is v0 (no tags)
    err = rd.take(">h")
    apis = {}
    for _ in range(rd.count()):
        key, lo, hi = rd.take(">hhh")
        rd.tags()
        apis[key] = (lo, hi)
    rd.take(">i")  # throttle
    tags = rd.tags()
    rd.end(f"ApiVersions v{version}")
    supported, finalized, epoch = {}, {}, -1
    if 0 in tags:
        t = FReader(tags[0])
        for _ in range(t.count()):
            name = t.cstring()
            lo, hi = t.take(">hh")
            t.tags()
            supported[name] = (lo, hi)
    if 1 in tags:
        (epoch,) = struct.unpack(">q", tags[1])
    if 2 in tags:
        t = FReader(tags[2])
        for _ in range(t.count()):
            name = t.cstring()
            hi, lo = t.take(">hh")
            t.tags()
            finalized[name] = (lo, hi)
    return err, apis, supported, epoch, finalized


def init_producer_id(conn, tid, timeout_ms=60000, pid=-1, epoch=-1, version=5):
    """InitProducerId v3+ -> (error, producer id, epoch)."""
    body = cstr(tid) + struct.pack(">iqh", timeout_ms, pid, epoch) + TAGS
    rd = flex_request(conn, 22, version, body, f"InitProducerId v{version}")
    _, err, pid, epoch = rd.take(">ihqh")
    return err, pid, epoch


def produce_body(tid, topic, partition, rb, acks=-1, timeout_ms=10000):
    part = struct.pack(">i", partition) + (b"\x00" if rb is None else cstr(rb)) + TAGS
    return (cstr(tid) + struct.pack(">hi", acks, timeout_ms)
            + carr([cstr(topic) + carr([part]) + TAGS]) + TAGS)


def produce(conn, tid, topic, partition, rb, version=12, what=None):
    """Produce v9+ of one batch -> (error, base offset)."""
    what = what or f"Produce v{version}"
    rd = flex_request(conn, 0, version, produce_body(tid, topic, partition, rb), what)
    out = None
    for _ in range(rd.count()):
        name = rd.cstring()
        for _ in range(rd.count()):
            idx, err, base, _ts, _lso = rd.take(">ihqqq")
            for _ in range(rd.count()):
                rd.take(">i")
                rd.cstring()
                rd.tags()
            rd.cstring()
            rd.tags()
            if name == topic and idx == partition:
                out = (err, base)
        rd.tags()
    if out is None:
        raise AssertionError(f"{what}: no answer for {topic}/{partition}")
    return out


def end_txn_body(tid, pid, epoch, commit):
    return cstr(tid) + struct.pack(">qhb", pid, epoch, 1 if commit else 0) + TAGS


def end_txn(conn, tid, pid, epoch, commit, version=5):
    """EndTxn v3+ -> (error, producer id, epoch); the last two are None below v5."""
    rd = flex_request(conn, 26, version, end_txn_body(tid, pid, epoch, commit),
                      f"EndTxn v{version} ({'commit' if commit else 'abort'})")
    _, err = rd.take(">ih")
    if version >= 5:
        npid, nepoch = rd.take(">qh")
    else:
        npid = nepoch = None
    rd.tags()
    rd.end("EndTxn")
    return err, npid, nepoch


def txn_offset_commit(conn, tid, group, pid, epoch, topic, offsets, version=5, generation=-1,
                      member=""):
    """TxnOffsetCommit v3+ of {partition: offset} -> {partition: error}."""
    parts = [struct.pack(">iqi", p, o, -1) + cstr("") + TAGS for p, o in sorted(offsets.items())]
    body = (cstr(tid) + cstr(group) + struct.pack(">qhi", pid, epoch, generation) + cstr(member)
            + b"\x00" + carr([cstr(topic) + carr(parts) + TAGS]) + TAGS)
    rd = flex_request(conn, 28, version, body, f"TxnOffsetCommit v{version}")
    rd.take(">i")
    out = {}
    for _ in range(rd.count()):
        rd.cstring()
        for _ in range(rd.count()):
            p, err = rd.take(">ih")
            rd.tags()
            out[p] = err
        rd.tags()
    return out


def offset_fetch(conn, group, topic, partitions):
    """OffsetFetch v1 (committed offsets, non-flexible) -> {partition: (offset, error)}."""
    body = (s16(group) + struct.pack(">i", 1) + s16(topic) + struct.pack(">i", len(partitions))
            + b"".join(struct.pack(">i", p) for p in partitions))
    r, _ = conn.request(9, 1, body, "OffsetFetch v1")
    rd = Reader(r)
    out = {}
    for _ in range(rd.take(">i")):
        rd.string()
        for _ in range(rd.take(">i")):
            p, off = rd.take(">iq")
            rd.string()
            err = rd.take(">h")
            out[p] = (off, err)
    return out


def addparts_v4_body(txns):
    """txns: [(tid, pid, epoch, verify_only, {topic: [partitions]}, [group ids])]."""
    out = []
    for tid, pid, epoch, verify, topics, groups in txns:
        enc = (cstr(tid) + struct.pack(">qhb", pid, epoch, 1 if verify else 0)
               + carr([cstr(t) + carr(ps, lambda p: struct.pack(">i", p)) + TAGS
                       for t, ps in sorted(topics.items())]))
        if groups:
            tag = carr([cstr(g) for g in groups])
            from raw_kafka import uvarint
            enc += uvarint(1) + uvarint(BROOK_GROUPS_TAG) + uvarint(len(tag)) + tag
        else:
            enc += TAGS
        out.append(enc)
    return carr(out) + TAGS


def add_partitions_v4(conn, txns, version=5):
    """AddPartitionsToTxn v4+ (the brokers' batched form) -> (top error,
    {tid: ({(topic, partition): error}, {group: error})})."""
    rd = flex_request(conn, 24, version, addparts_v4_body(txns), f"AddPartitionsToTxn v{version}")
    rd.take(">i")
    top = rd.take(">h")
    out = {}
    for _ in range(rd.count()):
        tid = rd.cstring()
        parts = {}
        for _ in range(rd.count()):
            name = rd.cstring()
            for _ in range(rd.count()):
                p, err = rd.take(">ih")
                rd.tags()
                parts[(name, p)] = err
            rd.tags()
        groups = {}
        tags = rd.tags()
        if BROOK_GROUPS_TAG in tags:
            t = FReader(tags[BROOK_GROUPS_TAG])
            for _ in range(t.count()):
                g = t.cstring()
                err = t.take(">h")
                groups[g] = err
        out[tid] = (parts, groups)
    rd.tags()
    return top, out
